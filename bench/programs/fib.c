/* fib: recursive calls.  Naive doubly-recursive Fibonacci: almost all the time
 * is call and return sequences plus a compare and two subtractions, the
 * measure of an engine's call path.  Size n: fib(n) (cost grows ~1.6x per step). */
#define BENCH_NAME "fib"
#define BENCH_DEFAULT_N 39

#include <stdint.h>

/* noinline: keep one real call per recursion level in every build. */
__attribute__((noinline)) static uint32_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t bench(uint32_t n) { return fib(n); }

#include "bench_main.h"
