/* func.c: host function instances and accessors shared with guest ones. */
#include "runtime.h"

/* host_func: a host function instance: the wp_func the loop sees, first,
 * then what only its creation and destruction need. */
typedef struct host_func {
  wp_func func;
  void (*ctx_free)(void *);
  wp_functype own_type; /* the copied type that func.type points to */
} host_func;

/* wp_func_new_host: NULL when out of memory, in which case ctx stays the
 * caller's (ctx_free is not called).  The type is copied, so the caller may
 * free its own at once. */
wp_func *wp_func_new_host(const wp_functype *type, wp_host_fn fn, void *ctx, void (*ctx_free)(void *)) {
  host_func *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  uint32_t ntypes = type->nparams + type->nresults;
  h->own_type.types = malloc(ntypes ? ntypes : 1); /* never NULL, even for [] -> [] */
  if (!h->own_type.types) {
    free(h);
    return NULL;
  }
  if (ntypes) memcpy(h->own_type.types, type->types, ntypes);
  h->own_type.nparams = type->nparams;
  h->own_type.nresults = type->nresults;
  h->ctx_free = ctx_free;
  wp_func *f = &h->func;
  f->type = &h->own_type;
  f->index = WP_NO_FUNC;
  f->host = fn;
  f->host_ctx = ctx;
  return f;
}

/* wp_func_free: host functions only; a guest function belongs to its
 * instance and is ignored here. */
void wp_func_free(wp_func *f) {
  if (!f || f->inst) return;
  host_func *h = (host_func *)f; /* f is its first member */
  if (h->ctx_free) h->ctx_free(f->host_ctx);
  free(h->own_type.types);
  free(h);
}

const wp_functype *wp_func_type(const wp_func *f) { return f->type; }

wp_instance *wp_func_instance(const wp_func *f) { return f->inst; }

uint32_t wp_func_index(const wp_func *f) { return f->inst ? f->index : WP_NO_FUNC; }
