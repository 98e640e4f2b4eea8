#!/usr/bin/env bash
# bench/programs/build.sh: rebuild the committed .wasm files from the C sources.
#
#   bash bench/programs/build.sh
#
# Needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32
# (wasi-libc installs its sysroot under /usr: /usr/include/wasm32-wasi and
# /usr/lib/wasm32-wasi; override with WASI_SYSROOT=...).  For each NAME.c:
#   NAME.wasm         a WASI command (argv[1] = size, prints the checksum)
#   NAME.nowasi.wasm  no imports; export `run` returns the checksum for the
#                     size in its data segment (see bench_main.h), for engines
#                     without WASI (Debian's wasm-interp)
# The native builds are not committed: bench/run.py and the tests compile
# them with `gcc -O2 -ffp-contract=off` when they need them.
set -euo pipefail
cd "$(dirname "$0")"

CLANG=${CLANG:-clang}
SYSROOT=${WASI_SYSROOT:-/usr}
# -ffp-contract=off: no fused multiply-add, even in constant folding (clang
# folds a*b+c with one rounding under its default -ffp-contract=on), so the
# floating-point results are bit-identical to the native gcc build's.
FLAGS=(--target=wasm32-wasi "--sysroot=$SYSROOT" -O2 -ffp-contract=off -Wall -Wextra -Werror)

# Compile and link in separate steps, the link without -O: given one, clang
# runs binaryen's wasm-opt after linking when it is installed, which strips
# the name section.
for src in *.c; do
  name=${src%.c}
  echo "+ $name.wasm, $name.nowasi.wasm" >&2
  # Build into temporary names, then rename: a failed build never leaves a
  # half-written .wasm behind.
  # -g: DWARF line tables for the profiler's source locations (only in the
  # WASI build, the one wasmprof runs).
  "$CLANG" "${FLAGS[@]}" -g -c -o "$name.o.tmp" "$src"
  "$CLANG" --target=wasm32-wasi "--sysroot=$SYSROOT" -o "$name.wasm.tmp" "$name.o.tmp"
  "$CLANG" "${FLAGS[@]}" -DBENCH_NO_WASI -c -o "$name.nowasi.o.tmp" "$src"
  "$CLANG" --target=wasm32-wasi "--sysroot=$SYSROOT" -nostartfiles -Wl,--no-entry -o "$name.nowasi.wasm.tmp" \
    "$name.nowasi.o.tmp"
  rm -f "$name.o.tmp" "$name.nowasi.o.tmp"
  mv "$name.wasm.tmp" "$name.wasm"
  mv "$name.nowasi.wasm.tmp" "$name.nowasi.wasm"
done
