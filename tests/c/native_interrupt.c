/* native_interrupt.c: C-level checks of native imports, C host functions with
 * a context pointer, instance limits and interrupts, through the public API
 * only (include/wasmprof.h).  Built and run by tests/test_c_native.py:
 *
 *   native_interrupt MODULE.wasm
 *
 * The module (tests/test_c_native.py has its text) imports
 *   env.cos   (f64) -> f64      bound to libm's cos with wp_func_new_native
 *   env.scale (i32) -> i32      a wp_host_fn whose context holds the factor
 * and exports cos, scale, spin (an endless loop), grow, add.
 * Prints "ok <check>" per passed check; exits 1 at the first failure. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasmprof.h"

#define CHECK(cond, what)                                                     \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "FAILED %s (%s:%d): %s\n", what, __FILE__, __LINE__, #cond); \
      exit(1);                                                                \
    }                                                                         \
    printf("ok %s\n", what);                                                  \
  } while (0)

typedef struct scale_ctx {
  int32_t factor;
  int calls;
} scale_ctx;

/* A plain C host function: multiplies by the factor in its context. */
static int scale(wp_exec *ex, void *ctx, wp_slot *ar, wp_error *err) {
  (void)ex;
  (void)err;
  scale_ctx *s = ctx;
  s->calls++;
  ar[0] = (uint32_t)((int32_t)(uint32_t)ar[0] * s->factor);
  return 0;
}

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static wp_func *export_func(wp_instance *inst, const char *name) {
  wp_import_value v;
  if (!wp_instance_export(inst, name, (uint32_t)strlen(name), &v) || v.kind != WP_EXTERN_FUNC) {
    fprintf(stderr, "no export %s\n", name);
    exit(1);
  }
  return v.u.func;
}

static void *interrupter(void *arg) {
  struct timespec t = {0, 100 * 1000000L};
  nanosleep(&t, NULL);
  wp_exec_interrupt(arg);
  return NULL;
}

static double f64_of(wp_slot s) {
  double d;
  memcpy(&d, &s, sizeof d);
  return d;
}

static wp_slot slot_of(double d) {
  wp_slot s;
  memcpy(&s, &d, sizeof s);
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODULE.wasm\n", argv[0]);
    return 2;
  }
  size_t len;
  uint8_t *bytes = read_all(argv[1], &len);
  CHECK(bytes != NULL, "read module");
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_module *module = wp_module_new(bytes, len, &err);
  CHECK(module != NULL, "decode module");

  /* Rejections: several results, reference types. */
  wp_valtype f64 = WP_F64, i32 = WP_I32, two[2] = {WP_F64, WP_F64}, ref = WP_EXTERNREF;
  wp_functype *multi = wp_functype_new(1, &f64, 2, two);
  CHECK(wp_func_new_native(multi, (void (*)(void))cos, &err) == NULL && err.kind == WP_ERR_ARG &&
            strstr(err.message, "at most one value") != NULL,
        "multi-value native rejected");
  wp_functype *reft = wp_functype_new(1, &ref, 0, NULL);
  CHECK(wp_func_new_native(reft, (void (*)(void))cos, &err) == NULL && strstr(err.message, "externref"),
        "externref native rejected");

  wp_functype *cos_t = wp_functype_new(1, &f64, 1, &f64);
  wp_functype *scale_t = wp_functype_new(1, &i32, 1, &i32);
  wp_func *cos_f = wp_func_new_native(cos_t, (void (*)(void))cos, &err);
  CHECK(cos_f != NULL && wp_func_is_native(cos_f), "native cos");
  scale_ctx sc = {.factor = -3, .calls = 0};
  wp_func *scale_f = wp_func_new_host(scale_t, scale, &sc, NULL);
  CHECK(scale_f != NULL && !wp_func_is_native(scale_f), "host scale");

  wp_exec *ex = wp_exec_new(NULL, &err);
  wp_import_value imports[2] = {{.kind = WP_EXTERN_FUNC, .u.func = cos_f},
                                {.kind = WP_EXTERN_FUNC, .u.func = scale_f}};
  wp_instance_config config = {.max_memory_pages = 3, .max_call_depth = 0};
  wp_instance *inst = wp_instance_new_config(module, imports, 2, &config, ex, &err);
  CHECK(inst != NULL, "instantiate with limits");

  wp_slot arg = slot_of(0.5), res = 0;
  CHECK(wp_call(ex, export_func(inst, "cos"), &arg, &res, &err) == 0 && f64_of(res) == cos(0.5),
        "guest calls native cos");
  arg = 7;
  CHECK(wp_call(ex, export_func(inst, "scale"), &arg, &res, &err) == 0 && (int32_t)(uint32_t)res == -21 &&
            sc.calls == 1,
        "guest calls C host function with its context");

  /* memory limit: 1 page at start, 3 at most */
  arg = 2;
  CHECK(wp_call(ex, export_func(inst, "grow"), &arg, &res, &err) == 0 && (int32_t)(uint32_t)res == 1,
        "grow within the limit");
  arg = 1;
  CHECK(wp_call(ex, export_func(inst, "grow"), &arg, &res, &err) == 0 && (int32_t)(uint32_t)res == -1,
        "grow past max_memory_pages returns -1");

  wp_instance_config tiny = {.max_memory_pages = 0, .max_call_depth = 0};
  tiny.max_memory_pages = 0;
  wp_instance *again = wp_instance_new_config(module, imports, 2, &tiny, ex, &err);
  CHECK(again != NULL, "zero config fields mean no limit");
  wp_instance_free(again);

  /* interrupt from another thread */
  pthread_t t;
  pthread_create(&t, NULL, interrupter, ex);
  int rc = wp_call(ex, export_func(inst, "spin"), NULL, NULL, &err);
  pthread_join(t, NULL);
  CHECK(rc != 0 && err.kind == WP_ERR_INTERRUPT, "spin interrupted");
  CHECK(err.func != WP_NO_FUNC && err.offset != WP_NO_OFFSET, "interrupt says where");
  CHECK(wp_exec_frame_count(ex) == 0 && wp_exec_frame(ex, 0) != NULL &&
            wp_frame_offset(wp_exec_frame(ex, 0)) == err.offset,
        "interrupted frame readable for a backtrace");
  wp_slot two_args[2] = {40, 2};
  CHECK(wp_call(ex, export_func(inst, "add"), two_args, &res, &err) == 0 && res == 42, "usable after interrupt");

  /* a request made while nothing runs stops the next guest at once; clearing drops it */
  wp_exec_interrupt(ex);
  wp_exec_clear_interrupt(ex);
  CHECK(wp_call(ex, export_func(inst, "add"), two_args, &res, &err) == 0 && res == 42, "cleared request");

  wp_instance_free(inst);
  wp_exec_free(ex);
  wp_func_free(cos_f);
  wp_func_free(scale_f);
  wp_functype_free(multi);
  wp_functype_free(reft);
  wp_functype_free(cos_t);
  wp_functype_free(scale_t);
  wp_module_free(module);
  free(bytes);
  printf("all ok\n");
  return 0;
}
