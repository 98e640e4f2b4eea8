/* clocks_random: properties of clocks, sleeping and random bytes that hold
 * on any machine (the values themselves differ between runs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  struct timespec a, b, res;
  printf("realtime ok: %d\n", clock_gettime(CLOCK_REALTIME, &a) == 0 && a.tv_sec > 1600000000);
  printf("monotonic res ok: %d\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(res) > 0 && ns(res) <= 1000000);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec nap = {0, 20 * 1000000};
  nanosleep(&nap, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("slept at least 20ms: %d\n", ns(b) - ns(a) >= 20000000);
  usleep(1000);
  time_t t = time(NULL);
  printf("time() ok: %d\n", t > 1600000000);
  unsigned char r1[64], r2[64];
  printf("getentropy ok: %d\n", getentropy(r1, sizeof r1) == 0 && getentropy(r2, sizeof r2) == 0);
  printf("random differs: %d\n", memcmp(r1, r2, sizeof r1) != 0);
  int zeros = 0;
  for (size_t i = 0; i < sizeof r1; i++) zeros += r1[i] == 0;
  printf("random not all zero: %d\n", zeros < 16);
  printf("arc4random bounded: %d\n", arc4random_uniform(10) < 10);
  return 0;
}
