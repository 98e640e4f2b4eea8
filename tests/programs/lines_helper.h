/* lines_helper.h: a function inlined into lines_prog.c's loop from a header
 * (tests/profiles/test_profile_lines.py; lines marked LINES-* are looked up). */
static inline __attribute__((always_inline)) int mix(int x) {
  x ^= x >> 3; /* LINES-INLINED */
  return x * 5 + 1;
}
