/* trap_c.c: a C program that traps in several ways, for tests/test_backtrace.py.
 * Built with clang --target=wasm32-wasi -g (no -O, so the name section and
 * every frame stay).  The lines marked TRAP-* are looked up by the test. */
#include <stdlib.h>

__attribute__((import_module("env"), import_name("host_cb"))) int host_cb(int x);

__attribute__((noinline)) static int read_word(volatile int *p) {
  return *p; /* TRAP-OOB */
}

__attribute__((noinline)) int divide(int a, int b) {
  return a / b; /* TRAP-DIV */
}

__attribute__((export_name("oob"))) int oob(int addr) {
  return read_word((volatile int *)addr) + 1;
}

__attribute__((export_name("div0"))) int div0(int b) {
  return divide(10, b) + 1;
}

__attribute__((export_name("do_abort"))) void do_abort(void) {
  abort(); /* TRAP-ABORT */
}

__attribute__((noinline)) int callback_caller(int x) {
  return host_cb(x) * 2; /* CALL-HOST */
}

__attribute__((export_name("call_host"))) int call_host(int x) {
  return callback_caller(x) + 1;
}
