#!/usr/bin/env bash
# examples/build.sh: rebuild the committed .wasm files of examples/ from
# their sources: the .wat kernels with wabt's wat2wasm (keeping the name
# section), greet.c with clang for wasm32-wasi (Debian clang, lld,
# wasi-libc, libclang-rt-14-dev-wasm32).  Compile and link are separate
# steps and the link gets no -O: given one, clang runs binaryen's wasm-opt,
# which strips the name section.
set -euo pipefail
cd "$(dirname "$0")"
for f in fib kernel; do
  wat2wasm --debug-names "$f.wat" -o "$f.wasm"
done
clang --target=wasm32-wasi -O2 -g -Wall -Wextra -Werror -c greet.c -o greet.o
clang --target=wasm32-wasi greet.o -o greet.wasm.tmp
rm greet.o
mv greet.wasm.tmp greet.wasm
# histogram.c: -O1 -g, for the notebooks' source-line profile and coredump
# -fdebug-prefix-map: DWARF names the source ./histogram.c, relative to examples/ (no build path)
clang --target=wasm32-wasi -O1 -g -fdebug-prefix-map="$PWD"=. -Wall -Wextra -Werror -c histogram.c -o histogram.o
clang --target=wasm32-wasi histogram.o -o histogram.wasm.tmp
rm histogram.o
mv histogram.wasm.tmp histogram.wasm
