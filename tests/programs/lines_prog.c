/* lines_prog.c: a loop whose lines the per-line profile tests count
 * (tests/profiles/test_profile_lines.py), built with clang -O1 -g: square()
 * stays a call, mix() (lines_helper.h) is inlined.  Lines marked LINES-*
 * are looked up by the tests. */
#include <stdio.h>
#include <stdlib.h>

#include "lines_helper.h"

static int __attribute__((noinline)) square(int x) {
  return x * x; /* LINES-SQUARE */
}

int __attribute__((noinline)) work(int n) {
  int acc = 0;
  for (int i = 0; i < n; i++) {
    acc += square(i); /* LINES-CALL */
    acc = mix(acc);   /* LINES-MIX */
  }
  return acc;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  printf("%d\n", work(n));
  return 0;
}
