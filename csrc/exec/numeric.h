/* numeric.h: the WebAssembly numeric operators that C does not give
 * directly: bit-exact float moves, NaN-aware min/max, round-to-nearest-even,
 * and float-to-int conversions with the spec's range rules.  All static
 * inline: they are instruction bodies of the interpreter loop. */
#ifndef WP_NUMERIC_H
#define WP_NUMERIC_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Slots hold f32 bits in the low half; i32 values are kept zero-extended. */
static inline float wp_f32(uint64_t s) {
  uint32_t u = (uint32_t)s;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint64_t wp_from_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline double wp_f64(uint64_t s) {
  double d;
  memcpy(&d, &s, 8);
  return d;
}
static inline uint64_t wp_from_f64(double d) {
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

static inline uint32_t wp_rotl32(uint32_t x, uint32_t n) { n &= 31; return n ? (x << n) | (x >> (32 - n)) : x; }
static inline uint32_t wp_rotr32(uint32_t x, uint32_t n) { n &= 31; return n ? (x >> n) | (x << (32 - n)) : x; }
static inline uint64_t wp_rotl64(uint64_t x, uint64_t n) { n &= 63; return n ? (x << n) | (x >> (64 - n)) : x; }
static inline uint64_t wp_rotr64(uint64_t x, uint64_t n) { n &= 63; return n ? (x >> n) | (x << (64 - n)) : x; }

/* min/max: NaN if either operand is NaN (a + b propagates a quiet NaN),
 * and -0 < +0. */
static inline float wp_fminf(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float wp_fmaxf(float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double wp_fmin(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double wp_fmax(double a, double b) {
  if (isnan(a) || isnan(b)) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

/* Rounding: glibc returns a signalling NaN unchanged, the spec wants it
 * quieted (an arithmetic NaN), which x + x does. */
#define WP_ROUNDING(name, type, fn) \
  static inline type name(type x) { return isnan(x) ? x + x : fn(x); }
WP_ROUNDING(wp_ceilf, float, ceilf)
WP_ROUNDING(wp_floorf, float, floorf)
WP_ROUNDING(wp_truncf, float, truncf)
WP_ROUNDING(wp_nearestf, float, nearbyintf)
WP_ROUNDING(wp_ceil, double, ceil)
WP_ROUNDING(wp_floor, double, floor)
WP_ROUNDING(wp_trunc, double, trunc)
WP_ROUNDING(wp_nearest, double, nearbyint)
#undef WP_ROUNDING

/* Conversion range checks: true when trunc(x) fits the target type.  The
 * bounds are exact powers of two, so comparing before truncation is exact. */
static inline bool wp_fits_i32(double x) { return x > -2147483649.0 && x < 2147483648.0; }
static inline bool wp_fits_u32(double x) { return x > -1.0 && x < 4294967296.0; }
static inline bool wp_fits_i64(double x) { return x >= -9223372036854775808.0 && x < 9223372036854775808.0; }
static inline bool wp_fits_u64(double x) { return x > -1.0 && x < 18446744073709551616.0; }

/* Saturating conversions (nontrapping float-to-int). */
static inline uint32_t wp_sat_i32(double x) {
  if (isnan(x)) return 0;
  if (x <= -2147483648.0) return 0x80000000u;
  if (x >= 2147483647.0) return 0x7fffffffu;
  return (uint32_t)(int32_t)x;
}
static inline uint32_t wp_sat_u32(double x) {
  if (isnan(x) || x <= 0.0) return 0;
  if (x >= 4294967295.0) return 0xffffffffu;
  return (uint32_t)x;
}
static inline uint64_t wp_sat_i64(double x) {
  if (isnan(x)) return 0;
  if (x < -9223372036854775808.0) return 0x8000000000000000ull;
  if (x >= 9223372036854775808.0) return 0x7fffffffffffffffull;
  return (uint64_t)(int64_t)x;
}
static inline uint64_t wp_sat_u64(double x) {
  if (isnan(x) || x <= 0.0) return 0;
  if (x >= 18446744073709551616.0) return 0xffffffffffffffffull;
  return (uint64_t)x;
}

#endif
