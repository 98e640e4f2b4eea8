/* inline_c.c: built with clang -O2 -g so that helper() is inlined into
 * run(); tests/test_backtrace.py checks the inlined frame.  Lines marked
 * INLINE-* are looked up by the test. */
static inline int helper(int *p) {
  return *p * 3; /* INLINE-LOAD */
}
__attribute__((export_name("run"))) int run(int addr) {
  int x = addr + 1;
  return helper((int *)x) + 7; /* INLINE-CALL */
}
