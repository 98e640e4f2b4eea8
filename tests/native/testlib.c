/* testlib.c: a small shared library for tests/test_native.py, built at
 * test time with `cc -shared -fPIC`.  Each function mixes all four wasm
 * number types so that a wrong C type anywhere changes the result. */
#include <stdint.h>

/* mix: every parameter type, an f64 result. */
double mix(int32_t a, int64_t b, float c, double d) { return (double)a + (double)b * 2.0 + (double)c * 4.0 + d * 8.0; }

/* Each result type, computed from parameters of all four types. */
int32_t mix_i32(int32_t a, int64_t b, float c, double d) { return a * 3 + (int32_t)(b >> 32) - (int32_t)c + (int32_t)d; }
int64_t mix_i64(int64_t b, int32_t a, double d, float c) { return b * 5 - (int64_t)a + (int64_t)d * (int64_t)c; }
float mix_f32(float c, double d, int32_t a, int64_t b) { return c * 0.5f + (float)d + (float)a - (float)b; }

/* Sign handling: a negative i32 must arrive sign-extended, and a negative
 * i32 result must come back as the same 32-bit pattern. */
int32_t negate_i32(int32_t a) { return -a; }
int64_t widen_i32(int32_t a) { return (int64_t)a; }

/* No parameters, no result: a counter the test reads back. */
static int32_t counter;
void bump(void) { counter++; }
int32_t get_counter(void) { return counter; }

/* Many parameters (more than the trampoline's on-stack array). */
int64_t sum20(int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5, int64_t a6, int64_t a7,
              int64_t a8, int64_t a9, int64_t a10, int64_t a11, int64_t a12, int64_t a13, int64_t a14,
              int64_t a15, int64_t a16, int64_t a17, int64_t a18, int32_t a19) {
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 +
         a19;
}
