/* sort_strings: sorting and string work.  Builds an array of pseudo-random
 * lowercase strings (8-23 characters, many sharing long prefixes so strcmp
 * walks several bytes), sorts them with libc qsort and a strcmp comparator
 * (indirect calls), and copies them in sorted order into one buffer with
 * memcpy, twice (two different sets).  Size n: thousands of strings. */
#define BENCH_NAME "sort_strings"
#define BENCH_DEFAULT_N 140

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXLEN 24u

static int compare(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t bench(uint32_t n) {
    if (n > 20000u) return 0; /* would not fit in 32-bit memory */
    const uint32_t count = n * 1000u;
    char *storage = malloc(count * MAXLEN);
    char **strings = malloc(count * sizeof *strings);
    char *joined = malloc(count * MAXLEN);
    if (!storage || !strings || !joined) return 0;
    uint32_t state = 12345u, checksum = 0;
    for (uint32_t r = 0; r < 2; r++) {
        for (uint32_t i = 0; i < count; i++) {
            char *s = storage + i * MAXLEN;
            state = state * 1103515245u + 12345u;
            uint32_t len = 8 + ((state >> 16) & 15);
            /* A few shared prefixes: comparisons go past the first bytes. */
            static const char *const prefixes[] = {"", "abc", "abcabc", "prefix", "prefixed"};
            const char *p = prefixes[(state >> 8) % 5];
            size_t plen = strlen(p);
            memcpy(s, p, plen);
            for (uint32_t k = (uint32_t)plen; k < len; k++) {
                state = state * 1103515245u + 12345u;
                s[k] = (char)('a' + ((state >> 16) % 26));
            }
            s[len > plen ? len : plen] = '\0';
            strings[i] = s;
        }
        qsort(strings, count, sizeof *strings, compare);
        size_t at = 0;
        for (uint32_t i = 0; i < count; i++) {
            size_t len = strlen(strings[i]);
            memcpy(joined + at, strings[i], len);
            at += len;
        }
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < at; i++) h = (h ^ (uint8_t)joined[i]) * 16777619u;
        checksum = checksum * 31u + h;
    }
    free(joined);
    free(storage);
    free(strings);
    return checksum;
}

#include "bench_main.h"
