/* gdb_host.c: a C host for the GDB tests (tests/test_gdb*.py): it runs a
 * guest that calls the host import env.host_cb(ptr, n), and there either
 * stops in a function a debugger breaks on, or aborts (a core file).
 *
 *   usage: gdb_host FILE.wasm EXPORT stop|abort|debug [I32-ARG...]
 *
 * "debug" runs the call in a debugger session (wp_debug_*: the stepping
 * loop, where GDB's wasm-break stops) to its end; host_cb returns at once.
 * host_cb prints "host_cb ptr=P n=N" first, so a test knows the guest
 * address of the bytes it will dump; before aborting it prints its resident
 * memory ("VmRSS: ... kB", from /proc/self/status) to compare a core with.  Built with -g (meson.build), so GDB
 * knows wp_error and wp_slot for the pretty-printers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmprof.h"

static const char *mode = "stop";

/* gdb_host_stop: where the tests' breakpoint stops, inside the host import
 * (the guest frames that called it are on the frame stack). */
__attribute__((noinline)) void gdb_host_stop(wp_exec *ex, const wp_error *err, wp_slot last_arg,
                                             const wp_frame *caller) {
  __asm__ volatile("" : : "r"(ex), "r"(err), "r"(last_arg), "r"(caller) : "memory");
}

static int host_cb(wp_exec *ex, void *ctx, wp_slot *args, wp_error *err) {
  (void)ctx;
  printf("host_cb ptr=%u n=%u\n", (unsigned)args[0], (unsigned)args[1]);
  fflush(stdout);
  wp_error sample = {.kind = WP_ERR_TRAP, .trap = WP_TRAP_DIV_ZERO, .offset = 0x1234, .func = 7};
  snprintf(sample.message, sizeof sample.message, "integer divide by zero");
  if (strcmp(mode, "debug") == 0) {
    args[0] = (wp_slot)(uint32_t)((uint32_t)args[1] + 1000);
    return 0;
  }
  if (strcmp(mode, "abort") == 0) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
      if (strncmp(line, "VmRSS:", 6) == 0) fputs(line, stdout);
    if (status) fclose(status);
    fflush(stdout);
    abort();
  }
  gdb_host_stop(ex, &sample, args[1], wp_exec_frame(ex, wp_exec_frame_count(ex) - 2));
  (void)err;
  args[0] = (wp_slot)(uint32_t)((uint32_t)args[1] + 1000);
  return 0;
}

static int fail(const char *what, const wp_error *err) {
  fprintf(stderr, "gdb_host: %s: %s\n", what, err ? err->message : "");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) return fail("usage: gdb_host FILE.wasm EXPORT stop|abort|debug [I32-ARG...]", NULL);
  mode = argv[3];
  FILE *f = fopen(argv[1], "rb");
  if (!f) return fail("cannot open the module", NULL);
  static uint8_t bytes[4 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wp_error err = {0};
  wp_module *m = wp_module_new(bytes, len, &err);
  if (!m) return fail("module", &err);
  wp_exec *ex = wp_exec_new(NULL, &err);
  if (!ex) return fail("context", &err);
  wp_valtype params[2] = {WP_I32, WP_I32}, results[1] = {WP_I32};
  wp_functype *type = wp_functype_new(2, params, 1, results);
  wp_func *cb = wp_func_new_host(type, host_cb, NULL, NULL);
  uint32_t n = wp_module_import_count(m);
  wp_import_value imports[8];
  if (n > 8) return fail("too many imports", NULL);
  for (uint32_t i = 0; i < n; i++) imports[i] = (wp_import_value){.kind = WP_EXTERN_FUNC, .u.func = cb};
  wp_instance *inst = wp_instance_new(m, imports, n, ex, &err);
  if (!inst) return fail("instance", &err);
  wp_import_value fn;
  if (!wp_instance_export(inst, argv[2], (uint32_t)strlen(argv[2]), &fn) || fn.kind != WP_EXTERN_FUNC)
    return fail("no such exported function", NULL);
  wp_slot args[16] = {0}, out[16] = {0};
  for (int i = 4; i < argc && i - 4 < 16; i++) args[i - 4] = (uint32_t)strtol(argv[i], NULL, 0);
  if (strcmp(mode, "debug") == 0) {
    wp_debug *d = wp_debug_new(inst, NULL, &err);
    if (!d || wp_debug_call(d, fn.u.func, args, &err) != 0) return fail("debugger", &err);
    wp_debug_run to_end = {.stops = true};
    if (wp_debug_resume(d, &to_end) != WP_STOP_RETURNED) return fail("debugged call", wp_debug_error(d));
    out[0] = wp_debug_results(d)[0];
    wp_debug_free(d);
  } else if (wp_call(ex, fn.u.func, args, out, &err) != 0) {
    return fail("call", &err);
  }
  printf("result %d\n", (int32_t)out[0]);
  wp_instance_free(inst);
  wp_func_free(cb);
  wp_functype_free(type);
  wp_exec_free(ex);
  wp_module_free(m);
  return 0;
}
