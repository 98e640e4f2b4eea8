/* debug_c.c: a WASI program for the debugger tests (tests/test_debug_c.py),
 * built with -g.  It reads the clock, prints it, and runs a small
 * computation whose lines the tests step through (markers LINE-*). */
#include <stdio.h>
#include <time.h>

int counter;

__attribute__((noinline)) int square(int x) {
  int r = x * x; /* LINE-SQUARE */
  return r;
}

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  printf("time %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
  int total = 0; /* LINE-TOTAL */
  for (int i = 0; i < 5; i++) { /* LINE-LOOP */
    total += square(i); /* LINE-CALL */
    counter++; /* LINE-COUNT */
  }
  printf("total %d\n", total); /* LINE-PRINT */
  return total == 30 ? 0 : 1;
}
