# Makefile: the C side of wasmprof without Python.
#
#   make lib        build/libwasmprof.a from csrc/*.c (the CPython extension in
#                   csrc/py/ is built by setup.py, not here)
#   make examples   examples/host, a small C host linked with the library
#   make check-c    build both and run examples/host on examples/fib.wasm
#   make clean      remove what this Makefile built
#
# Warnings are errors.  Extra flags: make CFLAGS_EXTRA="-g -fsanitize=address"
# (run `make clean` first when changing them: objects do not track flags).

CC ?= cc
CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -Iinclude -Icsrc $(CFLAGS_EXTRA)
LDLIBS = -lffi -lm

BUILD = build
OBJDIR = $(BUILD)/c
LIB = $(BUILD)/libwasmprof.a
SRCS = $(wildcard csrc/*.c)
OBJS = $(patsubst csrc/%.c,$(OBJDIR)/%.o,$(SRCS))
HOST = examples/host

.PHONY: all lib examples check-c clean

all: lib examples

lib: $(LIB)

$(LIB): $(OBJS)
	rm -f $@
	ar rcs $@ $^

# -MMD -MP: track header dependencies (csrc/*.h, opcodes.def, include/wasmprof.h).
$(OBJDIR)/%.o: csrc/%.c | $(OBJDIR)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OBJDIR):
	mkdir -p $@

examples: $(HOST)

$(HOST): examples/host.c include/wasmprof.h $(LIB)
	$(CC) $(CFLAGS) examples/host.c $(LIB) $(LDLIBS) -o $@

# Expected values: fib(20) = 6765, fib_iter(30) = 832040,
# loop_sum(1000) = sum of i*i mod 1000003 for i < 1000 = 332833500.
check-c: $(HOST)
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
	rm -rf $(OBJDIR) $(LIB) $(HOST)

-include $(OBJS:.o=.d)
