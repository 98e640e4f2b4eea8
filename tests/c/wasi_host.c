/* wasi_host.c: a C host running a WASI command with the core's WASI
 * (wasmprof_wasi.h), no Python involved.
 *
 *   wasi_host FILE.wasm HOST_DIR GUEST_DIR [ARGS...]
 *
 * argv[0] of the guest is the file name; HOST_DIR is preopened as
 * GUEST_DIR; the environment is GREETING=hello.  Exits with the guest's
 * status (proc_exit or 0), or 100 on an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmprof.h"
#include "wasmprof_wasi.h"

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s FILE.wasm HOST_DIR GUEST_DIR [ARGS...]\n", argv[0]);
    return 100;
  }
  wp_error err;
  memset(&err, 0, sizeof err);
  size_t len;
  unsigned char *bytes = read_file(argv[1], &len);
  if (!bytes) {
    perror(argv[1]);
    return 100;
  }
  wp_module *m = wp_module_new(bytes, len, &err);
  free(bytes);
  wp_wasi *w = m ? wp_wasi_new(&err) : NULL;
  if (!w) goto fail;
  const char *base = strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1];
  argv[3] = (char *)base; /* guest argv: FILE, ARGS... */
  const char *env[] = {"GREETING=hello"};
  if (wp_wasi_set_args(w, (uint32_t)(argc - 3), (const char *const *)argv + 3) != 0 ||
      wp_wasi_set_env(w, 1, env) != 0 || wp_wasi_preopen(w, argv[2], "/sandbox", &err) != 0)
    goto fail;
  uint32_t n = wp_module_import_count(m);
  wp_import_value *imports = calloc(n ? n : 1, sizeof *imports);
  if (!imports || wp_wasi_link(w, m, imports, &err) != (int)n) {
    if (err.kind == WP_OK) snprintf(err.message, sizeof err.message, "imports other than WASI");
    goto fail;
  }
  wp_exec *ex = wp_exec_new(NULL, &err);
  wp_instance *inst = ex ? wp_instance_new(m, imports, n, ex, &err) : NULL;
  wp_import_value start;
  if (!inst) goto fail;
  if (!wp_instance_export(inst, "_start", 6, &start) || start.kind != WP_EXTERN_FUNC) {
    snprintf(err.message, sizeof err.message, "no _start");
    goto fail;
  }
  int code = 0;
  if (wp_call(ex, start.u.func, NULL, NULL, &err) != 0) {
    if (err.kind != WP_ERR_EXIT) goto fail;
    code = err.exit_code;
  }
  fflush(stdout);
  wp_instance_free(inst);
  wp_exec_free(ex);
  wp_wasi_free(w);
  wp_module_free(m);
  free(imports);
  return code;
fail:
  fprintf(stderr, "wasi_host: error %d: %s\n", (int)err.kind, err.message);
  return 100;
}
