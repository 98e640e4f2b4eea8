# scripts/debian-packages.sh: the Debian packages wasmprof needs, and a
# function that installs the missing ones.  Sourced by setup.sh,
# tests/run.sh and .ci/run, so the lists live in one place.

# Building the extension and the C library: compiler, libffi (native
# imports), libiberty (the demangler).
BUILD_PACKAGES=(gcc make libffi-dev libiberty-dev)

# Running every test: wabt (wat2wasm, wasm-objdump, wasm-interp), clang/lld/
# wasi-libc and rustc (C and Rust test programs for wasm32-wasi), golang-go
# (`go tool pprof`), valgrind (`callgrind_annotate`), llvm-14
# (llvm-dwarfdump checks source lines), nodejs (runs the flamegraphs' scripts;
# its npm fetches speedscope), chromium (headless: speedscope and the
# flamegraphs run in it, tests/browser_tools.py), gdb and lldb (the GDB/LLDB
# extension in gdb/, tests/debugging/test_gdb*.py and test_lldb.py), binaryen
# (wasm-opt -ttf: random modules for the differential tests and the fuzz
# seeds), libclang-rt-14-dev (libFuzzer for clang-14: fuzz/build.sh),
# afl++ (the same fuzz targets under AFL++) and cmake (builds the wasm3 CLI,
# bench/run.py's speed peer: ../shared/bench/wasm3/build.sh).
TEST_PACKAGES=(wabt clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc libstd-rust-dev-wasm32
               golang-go valgrind llvm-14 nodejs binaryen chromium gdb lldb libclang-rt-14-dev afl++ cmake)

# apt_install PKG...: install those not installed yet (as root, or through
# sudo); without either, say what is missing and go on.
apt_install() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "not root: please install ${missing[*]}" >&2
      return 0
    fi
  fi
  echo "+ apt-get install ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}
