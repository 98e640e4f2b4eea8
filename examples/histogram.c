/* histogram.c: sort pseudo-random numbers and count them into bins.
 * Built with -O1 -g (examples/build.sh): the three passes stay functions
 * (noinline), the small helpers are inlined.  Profiles have source lines and
 * traps have file:line.  `histogram.wasm N BINS`; BINS = 0 divides by
 * zero in bin_of (the trap the coredump notebook investigates). */
#include <stdio.h>
#include <stdlib.h>

static unsigned seed = 12345;

static int next_value(void) {
  seed = seed * 1103515245u + 12345u;
  return (int)((seed >> 16) % 1000);
}

__attribute__((noinline)) static void fill(int *values, int n) {
  for (int i = 0; i < n; i++) values[i] = next_value();
}

__attribute__((noinline)) static void insertion_sort(int *v, int n) {
  for (int i = 1; i < n; i++) {
    int x = v[i];
    int j = i - 1;
    while (j >= 0 && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

static int bin_of(int value, int nbins) {
  return value * nbins / 1000 % nbins;
}

__attribute__((noinline)) static void count(const int *v, int n, int *bins, int nbins) {
  for (int i = 0; i < n; i++) bins[bin_of(v[i], nbins)]++;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 400;
  int nbins = argc > 2 ? atoi(argv[2]) : 8;
  int *values = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
  int *bins = calloc((size_t)(nbins > 0 ? nbins : 1), sizeof(int));
  if (!values || !bins) return 1;
  fill(values, n);
  insertion_sort(values, n);
  count(values, n, bins, nbins);
  for (int b = 0; b < nbins; b++) printf("bin %d: %d\n", b, bins[b]);
  free(values);
  free(bins);
  return 0;
}
