/* profile_host.c: the C profile API (wasmprof.h) from a C host, for
 * tests/test_profile_c_api.py.
 *
 *   profile_host FILE.wasm EXPORT N [MAX_TICKS]
 * calls EXPORT(N) (one i32 or i64 parameter) under a profile with the
 * flamechart on and prints one line per node, "node PARENT FUNC CALLS SELF",
 * then "events COUNT", "total TICKS", and for MAX_TICKS a second, limited
 * call's outcome: "limit KIND MESSAGE" or "limit none". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmprof.h"

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t len;
  uint8_t *bytes = read_file(argv[1], &len);
  if (!bytes) return 2;
  wp_error err = {0};
  wp_module *m = wp_module_new(bytes, len, &err);
  free(bytes);
  wp_exec *ex = m ? wp_exec_new(NULL, &err) : NULL;
  wp_instance *inst = ex ? wp_instance_new(m, NULL, 0, ex, &err) : NULL;
  wp_import_value fn;
  if (!inst || !wp_instance_export(inst, argv[2], (uint32_t)strlen(argv[2]), &fn) || fn.kind != WP_EXTERN_FUNC) {
    fprintf(stderr, "setup failed: %s\n", err.message);
    return 1;
  }
  wp_slot arg = (wp_slot)strtoull(argv[3], NULL, 0), result[1];
  wp_profile_options o = {.events = true};
  if (wp_profile_start(ex, &o, &err)) return 1;
  if (wp_profile_start(ex, &o, &err) == 0 || err.kind != WP_ERR_ARG) return 1; /* one at a time */
  if (wp_call(ex, fn.u.func, &arg, result, &err)) printf("trap %s\n", err.message);
  wp_profile *p = wp_profile_stop(ex);
  if (!p || wp_profile_stop(ex) != NULL) return 1;
  for (uint32_t i = 0; i < wp_profile_node_count(p); i++) {
    const wp_profile_node *n = wp_profile_node_at(p, i);
    printf("node %d %d %llu %llu\n", n->parent == UINT32_MAX ? -1 : (int)n->parent,
           n->func ? (int)wp_func_index(n->func) : -1, (unsigned long long)n->calls,
           (unsigned long long)n->self_ticks);
  }
  printf("events %u\n", wp_profile_event_count(p));
  printf("total %llu\n", (unsigned long long)wp_profile_total_ticks(p));
  wp_profile_free(p);
  if (argc > 4) {
    wp_cost_model *cost = wp_cost_model_new(1);
    if (!cost || wp_cost_model_set(cost, "no.such.instruction", 1) != -1) return 1;
    wp_exec_set_tick_limit(ex, strtoull(argv[4], NULL, 0), cost);
    wp_cost_model_free(cost);
    if (wp_call(ex, fn.u.func, &arg, result, &err))
      printf("limit %s %s\n", err.kind == WP_ERR_LIMIT ? "WP_ERR_LIMIT" : "other", err.message);
    else
      printf("limit none\n");
    wp_exec_set_tick_limit(ex, 0, NULL);
  }
  wp_instance_free(inst);
  wp_exec_free(ex);
  wp_module_free(m);
  return 0;
}
