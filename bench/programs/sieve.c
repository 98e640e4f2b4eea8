/* sieve: tight integer loops.  The sieve of Eratosthenes over the numbers
 * below n thousand (a byte array: 6 MB at the default size), 14 rounds: byte
 * stores with a stride, a compare-and-branch per step, and a counting pass.
 * Size n: the limit in thousands. */
#define BENCH_NAME "sieve"
#define BENCH_DEFAULT_N 6000

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 14u

static uint32_t bench(uint32_t n) {
    if (n > 1000000u) return 0; /* would not fit in 32-bit memory */
    uint32_t max_limit = n * 1000u;
    uint8_t *composite = malloc(max_limit);
    if (!composite) return 0;
    uint32_t checksum = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        /* Vary the bound per round so no round is a copy of the previous one. */
        uint32_t limit = max_limit - r * (n / 2u);
        memset(composite, 0, limit);
        for (uint32_t i = 2; i * i < limit; i++) {
            if (composite[i]) continue;
            for (uint32_t j = i * i; j < limit; j += i) composite[j] = 1;
        }
        uint32_t count = 0, last = 0;
        for (uint32_t i = 2; i < limit; i++) {
            if (!composite[i]) {
                count++;
                last = i;
            }
        }
        checksum = checksum * 31u + count + last;
    }
    free(composite);
    return checksum;
}

#include "bench_main.h"
