/* sieve: tight integer loops.  The sieve of Eratosthenes over the numbers
 * below 4,000,000 (a 4 MB byte array), repeated n times: byte stores with a
 * stride, a compare-and-branch per step, and a counting pass.  Size n: rounds. */
#define BENCH_NAME "sieve"
#define BENCH_DEFAULT_N 14

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 4000000u

static uint32_t bench(uint32_t rounds) {
    uint8_t *composite = malloc(LIMIT);
    if (!composite) return 0;
    uint32_t checksum = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        /* Vary the bound per round so no round is a copy of the previous one. */
        uint32_t limit = LIMIT - (r % 7) * 1000u;
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
