/* func.c: host function instances and accessors shared with guest ones. */
#include "runtime.h"

/* wp_func_new_host: NULL when out of memory, in which case ctx stays the
 * caller's (ctx_free is not called).  The type is copied, so the caller may
 * free its own at once. */
wp_func *wp_func_new_host(const wp_functype *type, wp_host_fn fn, void *ctx, void (*ctx_free)(void *)) {
  wp_func *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  uint32_t ntypes = type->nparams + type->nresults;
  f->own_type.types = malloc(ntypes ? ntypes : 1); /* never NULL, even for [] -> [] */
  if (!f->own_type.types) {
    free(f);
    return NULL;
  }
  if (ntypes) memcpy(f->own_type.types, type->types, ntypes);
  f->own_type.nparams = type->nparams;
  f->own_type.nresults = type->nresults;
  f->type = &f->own_type;
  f->index = WP_NO_FUNC;
  f->host = fn;
  f->host_ctx = ctx;
  f->host_ctx_free = ctx_free;
  return f;
}

/* wp_func_free: host functions only; a guest function belongs to its
 * instance and is ignored here. */
void wp_func_free(wp_func *f) {
  if (!f || f->inst) return;
  if (f->host_ctx_free) f->host_ctx_free(f->host_ctx);
  free(f->own_type.types);
  free(f);
}

const wp_functype *wp_func_type(const wp_func *f) { return f->type; }

wp_instance *wp_func_instance(const wp_func *f) { return f->inst; }

uint32_t wp_func_index(const wp_func *f) { return f->inst ? f->index : WP_NO_FUNC; }
