/* inline_deep.c: built with clang -O2 -g; leaf() is inlined into middle(),
 * middle() into run(), and clang gives both inlined copies address ranges
 * (DW_AT_ranges: the loop's code is not contiguous).  tests/test_backtrace.py
 * compares the inlining chain at every offset with llvm-symbolizer's. */
static inline __attribute__((always_inline)) int leaf(const int *p, int i) {
  int v = p[i]; /* LEAF */
  return v * 3 + (v >> 2);
}
static inline __attribute__((always_inline)) int middle(const int *p, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) {
    int w = leaf(p, i); /* MIDDLE-CALL */
    if (w & 1) s += w;
    else s ^= w;
  }
  return s;
}
__attribute__((export_name("run"))) int run(int addr, int n) {
  const int *p = (const int *)addr;
  int a = middle(p, n); /* RUN-CALL */
  return a + 7;
}
