/* native.c: host functions that are plain native C functions, called
 * through libffi.
 *
 * wp_func_new_native wraps a C function pointer whose C signature follows
 * from a wasm function type (i32 -> int32_t, i64 -> int64_t, f32 -> float,
 * f64 -> double, at most one result).  The ffi_cif describing that
 * signature is prepared once, here, and kept in the host function's
 * context, so each call is only argument marshalling and ffi_call. */
#include <ffi.h>

#include "runtime.h"

/* native_ctx: one native import.  arg_types[] and the cif live as long as
 * the wp_func (ctx_free frees this block). */
typedef struct native_ctx {
  void (*fn)(void);
  ffi_cif cif;
  uint32_t nparams;
  uint8_t result; /* wp_valtype, or 0 for no result */
  uint8_t *params; /* wp_valtype per parameter (points into the block) */
  ffi_type *arg_types[];
} native_ctx;

/* One argument or result in its C representation.  ffi_call widens integer
 * results narrower than a register to ffi_arg, so the union holds one. */
typedef union native_value {
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
  ffi_arg ret;
} native_value;

static ffi_type *ffi_type_of(uint8_t t) {
  switch (t) {
  case WP_I32: return &ffi_type_sint32;
  case WP_I64: return &ffi_type_sint64;
  case WP_F32: return &ffi_type_float;
  case WP_F64: return &ffi_type_double;
  default: return NULL;
  }
}

static const char *type_name(uint8_t t) {
  switch (t) {
  case WP_V128: return "v128";
  case WP_FUNCREF: return "funcref";
  case WP_EXTERNREF: return "externref";
  default: return "unknown type";
  }
}

static void to_native(wp_slot s, uint8_t t, native_value *v) {
  switch (t) {
  case WP_I32: v->i32 = (int32_t)(uint32_t)s; break;
  case WP_I64: v->i64 = (int64_t)s; break;
  case WP_F32: {
    uint32_t bits = (uint32_t)s;
    memcpy(&v->f32, &bits, sizeof bits);
    break;
  }
  default: memcpy(&v->f64, &s, sizeof s); break;
  }
}

static wp_slot from_native(const native_value *v, uint8_t t) {
  switch (t) {
  case WP_I32: return (uint32_t)(int32_t)v->ret; /* sign-extended by libffi into ffi_arg */
  case WP_I64: return (uint64_t)v->i64;
  case WP_F32: {
    uint32_t bits;
    memcpy(&bits, &v->f32, sizeof bits);
    return bits;
  }
  default: {
    wp_slot s;
    memcpy(&s, &v->f64, sizeof s);
    return s;
  }
  }
}

#define NATIVE_SMALL_ARGS 16

static int native_trampoline(wp_exec *ex, void *ctxp, wp_slot *args_results, wp_error *err) {
  (void)ex;
  native_ctx *ctx = ctxp;
  native_value small_vals[NATIVE_SMALL_ARGS];
  void *small_ptrs[NATIVE_SMALL_ARGS];
  native_value *vals = small_vals;
  void **ptrs = small_ptrs;
  if (ctx->nparams > NATIVE_SMALL_ARGS) {
    vals = malloc(ctx->nparams * sizeof *vals);
    ptrs = malloc(ctx->nparams * sizeof *ptrs);
    if (!vals || !ptrs) {
      free(vals);
      free(ptrs);
      return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory calling a native function");
    }
  }
  for (uint32_t i = 0; i < ctx->nparams; i++) {
    to_native(args_results[i], ctx->params[i], &vals[i]);
    ptrs[i] = &vals[i];
  }
  native_value ret;
  memset(&ret, 0, sizeof ret);
  ffi_call(&ctx->cif, ctx->fn, &ret, ptrs);
  if (ctx->result) args_results[0] = from_native(&ret, ctx->result);
  if (vals != small_vals) {
    free(vals);
    free(ptrs);
  }
  return 0;
}

wp_func *wp_func_new_native(const wp_functype *type, void (*fn)(void), wp_error *err) {
  if (!type || !fn) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "wp_func_new_native needs a type and a function pointer");
    return NULL;
  }
  if (type->nresults > 1) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET,
                 "native functions return at most one value; this type has %u results (multi-value "
                 "results cannot be expressed as a C function)",
                 type->nresults);
    return NULL;
  }
  uint32_t n = type->nparams;
  for (uint32_t i = 0; i < n + type->nresults; i++) {
    if (!ffi_type_of(type->types[i])) {
      wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET,
                   "native functions take and return only i32, i64, f32 and f64; %s %u is %s",
                   i < n ? "parameter" : "result", i < n ? i : i - n, type_name(type->types[i]));
      return NULL;
    }
  }
  native_ctx *ctx = calloc(1, sizeof *ctx + (n ? n : 1) * sizeof(ffi_type *) + (n ? n : 1));
  if (!ctx) {
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
    return NULL;
  }
  ctx->fn = fn;
  ctx->nparams = n;
  ctx->result = type->nresults ? type->types[n] : 0;
  ctx->params = (uint8_t *)&ctx->arg_types[n ? n : 1];
  for (uint32_t i = 0; i < n; i++) {
    ctx->params[i] = type->types[i];
    ctx->arg_types[i] = ffi_type_of(type->types[i]);
  }
  ffi_type *rtype = ctx->result ? ffi_type_of(ctx->result) : &ffi_type_void;
  if (ffi_prep_cif(&ctx->cif, FFI_DEFAULT_ABI, n, rtype, ctx->arg_types) != FFI_OK) {
    free(ctx);
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "libffi cannot describe this signature (ffi_prep_cif failed)");
    return NULL;
  }
  wp_func *f = wp_func_new_host(type, native_trampoline, ctx, free);
  if (!f) {
    free(ctx);
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
    return NULL;
  }
  return f;
}

bool wp_func_is_native(const wp_func *f) { return f && f->host == native_trampoline; }
