/* table.c: tables of references.
 *
 * Elements are wp_slots (0 = null; a funcref is a wp_func pointer).  Stored
 * funcrefs keep their instances alive through t->keep (keepalive.c). */
#include "runtime.h"

/* Growth beyond this many elements is refused (table.grow returns -1) even
 * when the type would allow it: 80 MB of slots is past any real program. */
#define WP_TABLE_MAX_ELEMS 10000000u

static uint32_t table_max(const wp_table *t) {
  return t->limits.has_max ? t->limits.max : UINT32_MAX;
}

/* Make room for need elements, doubling so that repeated table.grow by one
 * stays linear; never past the table's maximum or the practical cap. */
static bool table_reserve(wp_table *t, uint32_t need) {
  if (need <= t->cap) return true;
  uint64_t cap = (uint64_t)t->cap * 2;
  if (cap < 8) cap = 8;
  if (cap < need) cap = need;
  uint64_t limit = table_max(t) < WP_TABLE_MAX_ELEMS ? table_max(t) : WP_TABLE_MAX_ELEMS;
  if (cap > limit) cap = limit < need ? need : limit;
  wp_slot *elems = realloc(t->elems, (size_t)cap * sizeof *elems);
  if (!elems) return false;
  t->elems = elems;
  t->cap = (uint32_t)cap;
  return true;
}

/* Retain the instance behind value if needed; false on OOM. */
static bool table_retain(wp_table *t, wp_slot value) {
  return t->elemtype != WP_FUNCREF || wp_keepalive_add(&t->keep, value); /* externrefs are host tokens */
}

static void table_fill(wp_table *t, uint32_t from, uint32_t to, wp_slot value) {
  for (uint32_t i = from; i < to; i++) t->elems[i] = value;
}

/* wp_table_init_storage: set up t (previous contents ignored; keep.owner NULL,
 * to be set by the defining instance) with limits.min elements of init. */
int wp_table_init_storage(wp_table *t, uint8_t elemtype, wp_limits limits, wp_slot init, wp_error *err) {
  memset(t, 0, sizeof *t);
  if (elemtype != WP_FUNCREF && elemtype != WP_EXTERNREF)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "table element type must be a reference type");
  if (limits.has_max && limits.min > limits.max)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET,
                        "size minimum must not be greater than maximum (%u > %u)", limits.min,
                        limits.max);
  if (limits.min > WP_TABLE_MAX_ELEMS)
    return wp_error_set(err, WP_ERR_LIMIT, WP_NO_OFFSET,
                        "table of %u elements exceeds the limit of %u", limits.min,
                        WP_TABLE_MAX_ELEMS);
  t->elemtype = elemtype;
  t->limits = limits;
  t->limits.min = 0;
  /* At least one slot even for an empty table, so that elems is never NULL
   * (memmove and friends must not see NULL, even for zero elements). */
  if (!table_reserve(t, limits.min > 0 ? limits.min : 1) || wp_table_grow_by(t, limits.min, init) < 0) {
    wp_table_release(t);
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "cannot allocate a table of %u elements",
                        limits.min);
  }
  return 0;
}

/* wp_table_release: free t's storage and drop its retained instances; t may
 * be zeroed or half built. */
void wp_table_release(wp_table *t) {
  wp_keepalive keep = t->keep;
  free(t->elems);
  memset(t, 0, sizeof *t);
  wp_keepalive_release(&keep);
}

/* wp_table_grow_by: table.grow.  Returns the old size, or -1 (t unchanged)
 * past the maximum, past the practical cap, or when allocation fails. */
int64_t wp_table_grow_by(wp_table *t, uint32_t delta, wp_slot init) {
  uint32_t old = t->size;
  uint64_t size = (uint64_t)old + delta;
  if (size > table_max(t) || size > WP_TABLE_MAX_ELEMS) return -1;
  if (delta == 0) return old;
  if (!table_reserve(t, (uint32_t)size) || !table_retain(t, init)) return -1;
  table_fill(t, old, (uint32_t)size, init);
  t->size = (uint32_t)size;
  t->limits.min = t->size;
  return old;
}

/* wp_table_store: t[i] = value; false if i is out of bounds or retaining
 * the value's instance ran out of memory (t is then unchanged). */
bool wp_table_store(wp_table *t, uint32_t i, wp_slot value) {
  if (i >= t->size || !table_retain(t, value)) return false;
  t->elems[i] = value;
  return true;
}

/* ---- public API ---------------------------------------------------------- */

wp_table *wp_table_new(wp_valtype elemtype, wp_limits limits, wp_slot init, wp_error *err) {
  wp_table *t = malloc(sizeof *t);
  if (!t) {
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
    return NULL;
  }
  if (wp_table_init_storage(t, (uint8_t)elemtype, limits, init, err) != 0) {
    free(t);
    return NULL;
  }
  return t;
}

/* wp_table_free: host-created tables only (an instance frees its own). */
void wp_table_free(wp_table *t) {
  if (!t) return;
  wp_table_release(t);
  free(t);
}

uint32_t wp_table_size(const wp_table *t) { return t->size; }

wp_valtype wp_table_elemtype(const wp_table *t) { return (wp_valtype)t->elemtype; }

wp_limits wp_table_limits(const wp_table *t) { return t->limits; }

bool wp_table_get(const wp_table *t, uint32_t i, wp_slot *out) {
  if (i >= t->size) return false;
  *out = t->elems[i];
  return true;
}

bool wp_table_set(wp_table *t, uint32_t i, wp_slot value) { return wp_table_store(t, i, value); }

int64_t wp_table_grow(wp_table *t, uint32_t delta, wp_slot init) { return wp_table_grow_by(t, delta, init); }
