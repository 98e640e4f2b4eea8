/* hashtable: memory-bound hashing.  An open-addressing hash table (linear
 * probing, 8-byte slots, a power of two at least 1.6 times the key count:
 * 32 MB, 2^22 slots, at the default size) is filled with n thousand pseudo-random keys,
 * probed with hits and misses, then half the keys are deleted (tombstones)
 * and the probes repeated.  Each operation is a multiplicative hash and a
 * load from a random place in a table much larger than the CPU caches.
 * Size n: thousands of keys. */
#define BENCH_NAME "hashtable"
#define BENCH_DEFAULT_N 1600

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY 0u
#define TOMBSTONE 1u

struct slot {
    uint32_t key; /* EMPTY, TOMBSTONE or a key >= 2 */
    uint32_t value;
};

static uint32_t slot_bits, slots, keys; /* set once by bench() */

static uint32_t slot_of(uint32_t key) { return (key * 2654435761u) >> (32 - slot_bits); }

static uint32_t next_key(uint32_t *state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x | 2u; /* never EMPTY or TOMBSTONE */
}

static void insert(struct slot *t, uint32_t key, uint32_t value) {
    uint32_t i = slot_of(key);
    while (t[i].key != EMPTY && t[i].key != TOMBSTONE && t[i].key != key) i = (i + 1) & (slots - 1);
    t[i].key = key;
    t[i].value = value;
}

static struct slot *find(struct slot *t, uint32_t key) {
    uint32_t i = slot_of(key);
    while (t[i].key != EMPTY) {
        if (t[i].key == key) return &t[i];
        i = (i + 1) & (slots - 1);
    }
    return NULL;
}

static uint32_t probe_all(struct slot *t, uint32_t seed) {
    uint32_t state = seed, sum = 0, misses = 0;
    for (uint32_t k = 0; k < keys; k++) {
        struct slot *s = find(t, next_key(&state));
        if (s) sum += s->value;
        /* A key of another sequence: mostly a miss, walking a probe chain. */
        if (!find(t, next_key(&state) ^ 0x55555554u)) misses++;
    }
    return sum * 31u + misses;
}

static uint32_t bench(uint32_t n) {
    if (n > 200000u) return 0; /* the table would not fit in 32-bit memory */
    keys = n * 1000u;
    for (slot_bits = 10; (1u << slot_bits) < keys / 5u * 8u; slot_bits++) {
    }
    slots = 1u << slot_bits;
    struct slot *t = calloc(slots, sizeof *t);
    if (!t) return 0;
    uint32_t checksum = 0;
    /* Two rounds with different keys over the same (cleared) table. */
    for (uint32_t r = 0; r < 2; r++) {
        uint32_t seed = 0x9e3779b9u + r * 0x632be5abu;
        if (r > 0) memset(t, 0, slots * sizeof *t);
        uint32_t state = seed;
        for (uint32_t k = 0; k < keys; k++) insert(t, next_key(&state), k);
        checksum = checksum * 31u + probe_all(t, seed);
        state = seed;
        for (uint32_t k = 0; k < keys; k++) {
            uint32_t key = next_key(&state);
            struct slot *s = (k & 1) ? find(t, key) : NULL;
            if (s) s->key = TOMBSTONE;
        }
        checksum = checksum * 31u + probe_all(t, seed);
    }
    free(t);
    return checksum;
}

#include "bench_main.h"
