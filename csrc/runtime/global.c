/* global.c: host-created global instances (an instance's own globals live
 * in its own_globals array and are built by instance.c). */
#include "runtime.h"

/* wp_global_new: NULL when out of memory.  value fills the low slot; the
 * high slot (the upper half of a v128) starts at zero. */
wp_global *wp_global_new(wp_valtype type, bool mutable_, wp_slot value) {
  wp_global *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->type = (uint8_t)type;
  g->mutable_ = mutable_;
  g->value[0] = value;
  return g;
}

/* wp_global_free: host-created globals only. */
void wp_global_free(wp_global *g) {
  if (!g) return;
  wp_global_release(g);
  free(g);
}

void wp_global_release(wp_global *g) { wp_keepalive_release(&g->keep); }

bool wp_global_store(wp_global *g, wp_slot value) {
  bool kept = g->type != WP_FUNCREF || wp_keepalive_add(&g->keep, value);
  g->value[0] = value;
  return kept;
}

wp_valtype wp_global_type(const wp_global *g) { return (wp_valtype)g->type; }

bool wp_global_mutable(const wp_global *g) { return g->mutable_; }

wp_slot wp_global_get(const wp_global *g) { return g->value[0]; }

/* wp_global_set: the host may set any global, mutable or not; refusing
 * writes to immutable globals is the embedder's policy (the Python layer
 * checks wp_global_mutable), since a host may need to initialise one. */
void wp_global_set(wp_global *g, wp_slot value) { wp_global_store(g, value); }
