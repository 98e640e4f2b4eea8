/* coredump_host.c: a C host that writes a WebAssembly coredump when the
 * guest traps (the C side of wp_coredump_write; tests/test_coredump.py).
 *
 *   usage: coredump_host FILE.wasm EXPORT CORE [I32-ARG...]
 *
 * Instantiates FILE.wasm (no imports), calls EXPORT with i32 arguments; on a
 * trap writes CORE and exits 3 (1 on any other failure, 0 if no trap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmprof.h"

static int fail(const char *what, const wp_error *err) {
  fprintf(stderr, "coredump_host: %s: %s\n", what, err ? err->message : "");
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4) return fail("usage: coredump_host FILE.wasm EXPORT CORE [I32-ARG...]", NULL);
  FILE *f = fopen(argv[1], "rb");
  if (!f) return fail("cannot open the module", NULL);
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wp_error err = {0};
  wp_module *m = wp_module_new(bytes, len, &err);
  if (!m) return fail("module", &err);
  wp_exec *ex = wp_exec_new(NULL, &err);
  if (!ex) return fail("context", &err);
  wp_instance *inst = wp_instance_new(m, NULL, 0, ex, &err);
  if (!inst) return fail("instance", &err);
  wp_import_value fn;
  if (!wp_instance_export(inst, argv[2], (uint32_t)strlen(argv[2]), &fn) || fn.kind != WP_EXTERN_FUNC)
    return fail("no such exported function", NULL);
  wp_slot args[16] = {0}, results[16] = {0};
  for (int i = 4; i < argc && i - 4 < 16; i++) args[i - 4] = (uint32_t)strtol(argv[i], NULL, 0);
  int status = 0;
  if (wp_call(ex, fn.u.func, args, results, &err) != 0) {
    if (err.kind != WP_ERR_TRAP) return fail("call", &err);
    wp_error derr = {0};
    if (wp_coredump_write(ex, argv[3], argv[1], &derr) != 0) return fail("coredump", &derr);
    printf("trap: %s\n", err.message);
    status = 3;
  }
  wp_instance_free(inst);
  wp_exec_free(ex);
  wp_module_free(m);
  return status;
}
