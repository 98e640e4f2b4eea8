#!/usr/bin/env bash
# fuzz/build.sh: build the C fuzz targets (fuzz/fuzz_*.c) into build/fuzz/.
#
#   bash fuzz/build.sh            libFuzzer + ASan + UBSan (clang-14; Debian
#                                 libclang-rt-14-dev provides libFuzzer)
#   FUZZ_ENGINE=afl bash fuzz/build.sh
#                                 AFL++ (afl-clang-fast, Debian afl++) into
#                                 build/fuzz-afl/: the same harnesses through
#                                 AFL++'s libFuzzer-compatible driver
#
# The core (csrc/<stage>/*.c; csrc/py is the Python extension's) is compiled once per build directory with the same
# sanitizers and coverage instrumentation as the harnesses (in parallel,
# through ccache when it is there).  A change to a source recompiles only it.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${FUZZ_ENGINE:-libfuzzer}
JOBS=${JOBS:-$(nproc)}
CCACHE=$(command -v ccache || true)
if [ "$ENGINE" = afl ]; then
  OUT=${OUT:-build/fuzz-afl}
  CC=${CC:-afl-clang-fast}
  # AFL++ instruments every object; -fsanitize=fuzzer at link time gives the
  # harness AFL++'s driver (libAFLDriver), which calls LLVMFuzzerTestOneInput.
  INSTR=(-fsanitize=address,undefined)
  LINK=(-fsanitize=fuzzer,address,undefined)
  CCACHE=  # afl-clang-fast's instrumentation is not something ccache knows about
else
  OUT=${OUT:-build/fuzz}
  CC=${CC:-clang-14}
  INSTR=(-fsanitize=fuzzer-no-link,address,undefined)
  LINK=(-fsanitize=fuzzer,address,undefined)
fi
CFLAGS=(-std=c11 -pthread -g -O1 -fno-omit-frame-pointer
        -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -I"$OUT")
CORE_DIRS=(csrc/base csrc/decode csrc/exec csrc/runtime csrc/host csrc/observe)
for dir in "${CORE_DIRS[@]}"; do CFLAGS+=(-I"$dir"); done
mkdir -p "$OUT/obj"

compile() {  # compile SRC OBJ: only when SRC (or a header) is newer
  local src=$1 obj=$2 opt=()
  # The interpreter loops at -O0 and without warnings (the normal build
  # warns on them): clang 14 spends CPU minutes per loop variant on their one
  # huge sanitized function otherwise (optimising it at -O1, and its
  # uninitialised-variable analysis under -Wall); so about 20 s each.
  case $src in csrc/exec/loop_*.c) opt=(-O0 -w -Wno-error) ;; esac
  if [ ! -e "$obj" ] || [ -n "$(find "$src" csrc/*/*.h csrc/*/*.def include/*.h -newer "$obj" 2>/dev/null | head -1)" ]; then
    echo "  CC $src" >&2
    $CCACHE $CC "${CFLAGS[@]}" "${opt[@]}" "${INSTR[@]}" -c "$src" -o "$obj"
  fi
}
export -f compile
export CC CCACHE OUT
export CFLAGS_STR="${CFLAGS[*]}" INSTR_STR="${INSTR[*]}"

# The core, in parallel.
for dir in "${CORE_DIRS[@]}"; do ls "$dir"/*.c; done | xargs -P "$JOBS" -I{} bash -c \
  'src={}; obj="$OUT/obj/$(basename "${src%.c}").o"; CFLAGS=($CFLAGS_STR); INSTR=($INSTR_STR); compile "$src" "$obj"'
rm -f "$OUT/libwasmprof-fuzz.a"
ar rcs "$OUT/libwasmprof-fuzz.a" "$OUT"/obj/*.o

# The WASI target's guest module (fuzz/wasi_guest.wat), embedded as a C array.
wat2wasm fuzz/wasi_guest.wat -o "$OUT/wasi_guest.wasm"
(cd "$OUT" && xxd -i wasi_guest.wasm > wasi_guest.h)

for src in fuzz/fuzz_*.c; do
  name=$(basename "${src%.c}")
  compile "$src" "$OUT/$name.o"
  $CC "${LINK[@]}" "$OUT/$name.o" "$OUT/libwasmprof-fuzz.a" -o "$OUT/$name" -lffi -liberty -lm -lpthread
  echo "built $OUT/$name" >&2
done
