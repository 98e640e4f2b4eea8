# Makefile: the C side of wasmprof, a thin wrapper around meson.build
# (meson and ninja: `pip install meson ninja`, which setup.sh does).
#
#   make lib        build/release/libwasmprof.a, the core (csrc/<stage>/*.c)
#   make examples   build/release/host, the example C host (examples/host.c)
#   make all        both, and the C hosts the tests drive (tests/c/)
#   make check-c    build, then run the example host on examples/*.wasm
#   make tsan       build/tsan: the core and tests/c/threads_host.c under
#                   ThreadSanitizer (tests/c_hosts/test_threads_c.py runs it)
#   make clean      remove the build directory
#
# build/release is the directory `pip install -e .` uses too (setup.sh,
# tests/run.sh), so make and pip compile the core once between them.  The
# sanitizer build: make all check-c BUILD=build/asan SANITIZE=1.  Warnings
# are errors (WERROR=false to allow them).  SANITIZE and WERROR take effect
# when the build directory is first set up.

MESON ?= meson
BUILD ?= build/release
SANITIZE ?= 0
WERROR ?= true
# What meson-python passes (pyproject.toml; plus werror), so that a later `pip install -e .`
# into the same directory reconfigures without recompiling.
SETUP_ARGS = -Dbuildtype=release -Db_ndebug=if-release -Doptimization=2 -Dwerror=$(WERROR) \
             -Dsanitize=$(if $(filter 1,$(SANITIZE)),true,false)
HOST = $(BUILD)/host

.PHONY: all lib examples check-c clean tsan

all: $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD)

lib: $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD) wasmprof

examples: $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD) host

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) $(SETUP_ARGS)

# Only the thread test's host: the extension is not built under TSan.
tsan:
	[ -f build/tsan/build.ninja ] || $(MESON) setup build/tsan -Dbuildtype=release -Db_ndebug=if-release -Dwerror=$(WERROR) -Dtsan=true
	$(MESON) compile -C build/tsan threads_host

# Expected values: fib(20) = 6765, fib_iter(30) = 832040,
# loop_sum(1000) = sum of i*i mod 1000003 for i < 1000 = 332833500.
check-c: examples
	@set -e; \
	check() { out=$$($(HOST) "$$@" | tr '\n' ' '); \
	  echo "$(HOST) $$* -> $$out"; \
	  [ "$$out" = "$$want " ] || { echo "check-c: expected $$want" >&2; exit 1; }; }; \
	want=6765; check examples/fib.wasm fib 20; \
	want=832040; check examples/fib.wasm fib_iter 30; \
	want=332833500; check examples/fib.wasm loop_sum 1000; \
	want=-263481369; check examples/kernel.wasm run 1000; \
	echo "check-c: ok"

clean:
	rm -rf $(BUILD)
