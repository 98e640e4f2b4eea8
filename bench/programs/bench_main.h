/* bench_main.h: the entry glue shared by every benchmark program.
 *
 * A program defines BENCH_NAME, BENCH_DEFAULT_N and
 *     static uint32_t bench(uint32_t n);
 * (the whole workload, returning a 32-bit checksum) and then includes this
 * file.  Two builds come out of the same source:
 *
 *  - the normal build (native gcc, or a wasm32-wasi command): `main` takes the
 *    size n from argv[1] (default BENCH_DEFAULT_N) and prints
 *        <name> n=<n> checksum=<8 hex digits>
 *
 *  - -DBENCH_NO_WASI (a wasm module that imports nothing, for engines without
 *    WASI such as Debian's wasm-interp): no `main`; an export `run` returns the
 *    checksum for the size stored in bench_size_cell.  That cell starts with a
 *    12-byte marker so a runner can patch the size in the .wasm file's data
 *    segment (the byte after the marker is the size, little-endian u32).
 */
#include <stdint.h>

#ifdef BENCH_NO_WASI
/* volatile: the size must be read from memory, never folded into the code. */
volatile struct {
    char marker[12];
    uint32_t n;
} bench_size_cell = {{'w', 'p', 'b', 'e', 'n', 'c', 'h', '-', 's', 'i', 'z', 'e'}, BENCH_DEFAULT_N};

__attribute__((export_name("run"))) uint32_t run(void) { return bench(bench_size_cell.n); }
#else
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    uint32_t n = BENCH_DEFAULT_N;
    if (argc > 1) {
        char *end;
        unsigned long v = strtoul(argv[1], &end, 10);
        if (*argv[1] == '\0' || *end != '\0' || v == 0 || v > 0xffffffffUL) {
            fprintf(stderr, "usage: %s [size > 0]\n", argv[0]);
            return 2;
        }
        n = (uint32_t)v;
    }
    printf("%s n=%u checksum=%08x\n", BENCH_NAME, (unsigned)n, (unsigned)bench(n));
    return 0;
}
#endif
