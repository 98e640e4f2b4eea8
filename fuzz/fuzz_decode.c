/* fuzz_decode.c: decode and validate arbitrary bytes (wp_module_new), then
 * read back every import and export type.  Anything but a module or a
 * WP_ERR_DECODE / WP_ERR_VALIDATE error is a finding; so is any sanitizer
 * report.  Seeds: the spec suite's and the bench programs' modules
 * (fuzz/make_seeds.py). */
#include <stdlib.h>

#include "wasmprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wp_error err = {0};
  wp_module *m = wp_module_new(data, size, &err);
  if (!m) {
    if (err.kind != WP_ERR_DECODE && err.kind != WP_ERR_VALIDATE && err.kind != WP_ERR_NOMEM) abort();
    return 0;
  }
  for (uint32_t i = 0; i < wp_module_import_count(m); i++) {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wp_extern_type t;
    wp_module_import(m, i, &mod, &mod_len, &name, &name_len, &t);
    if (t.kind == WP_EXTERN_FUNC)
      for (uint32_t p = 0; p < wp_functype_param_count(t.func); p++) (void)wp_valtype_name(wp_functype_param(t.func, p));
  }
  for (uint32_t i = 0; i < wp_module_export_count(m); i++) {
    const char *name;
    uint32_t name_len;
    wp_extern_type t;
    wp_module_export(m, i, &name, &name_len, &t);
    if (t.kind == WP_EXTERN_FUNC)
      for (uint32_t r = 0; r < wp_functype_result_count(t.func); r++) (void)wp_valtype_name(wp_functype_result(t.func, r));
  }
  wp_module_free(m);
  return 0;
}
