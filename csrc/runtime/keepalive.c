/* keepalive.c: the instances a table or global keeps alive.
 *
 * A funcref is a pointer to a function owned by its instance.  A table or a
 * global may outlive that instance (it is exported, host-created, or owned
 * by another instance), and a later call through it would run freed code.
 * So storing a funcref of a foreign instance into one retains (takes a
 * reference on) that instance until the holder is released.  The holder's
 * own instance is never retained: it owns the holder, and a reference back
 * would be a cycle that keeps both alive forever.  Retentions last until
 * the holder dies, even if the slot is overwritten, which keeps stores
 * O(instances retained) and simple. */
#include "runtime.h"

bool wp_keepalive_add(wp_keepalive *k, wp_slot funcref) {
  if (funcref == 0) return true;
  wp_instance *inst = ((const wp_func *)(uintptr_t)funcref)->inst;
  if (!inst || inst == k->owner) return true; /* host functions have no instance */
  for (uint32_t i = k->n; i-- > 0;) /* newest first: stores cluster by instance */
    if (k->items[i] == inst) return true;
  if (!wp_grow((void **)&k->items, &k->cap, k->n + 1, sizeof *k->items)) return false;
  k->items[k->n++] = inst;
  wp_instance_retain(inst);
  return true;
}

/* The array is detached first, so that freeing an instance (and with it
 * the holders it owns) never sees k half released. */
void wp_keepalive_release(wp_keepalive *k) {
  wp_instance **items = k->items;
  uint32_t n = k->n;
  *k = (wp_keepalive){0};
  for (uint32_t i = 0; i < n; i++) wp_instance_free(items[i]);
  free(items);
}
