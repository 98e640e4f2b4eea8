/* names.c: the `name` custom section, parsed lazily into sorted arrays, and
 * demangled display names.
 *
 * Nothing happens at load: the first lookup parses the section (names point
 * into the module's own copy of the binary, nothing is copied), so a module
 * with a multi-megabyte name section loads as fast as one without.
 *
 * Format (WebAssembly spec, custom section "name", plus the extended-name
 * proposal): a sequence of subsections `id:u8 size:u32 payload`, ids in
 * increasing order, each at most once:
 *   0 module name        name
 *   1 function names     namemap   = vec(index:u32 name)
 *   2 local names        indirectnamemap = vec(index:u32 namemap)
 *   3 labels, 4 types, 5 tables, 6 memories, 7 globals, 8 elem segments,
 *   9 data segments      (3 is an indirectnamemap, 4..9 namemaps)
 * Unknown ids (10 tags, 11 fields, ...) are skipped.  Anything malformed
 * makes the whole section ignored, with a warning saying why: names are a
 * debugging aid and must never make a valid module unusable.
 *
 * Lazy state is built on first use under names_lock and published with an
 * atomic store, so threads sharing a module may look names up at once. */
#include "module.h"

#include <pthread.h>

#include <libiberty/demangle.h>

#define WP_NAME_SUBSECTIONS 10

typedef struct name_entry {
  uint32_t index;
  uint32_t len;
  const char *name;
} name_entry;

typedef struct name_map {
  name_entry *e;
  uint32_t n;
} name_map;

typedef struct indirect_entry {
  uint32_t index;
  name_map map;
} indirect_entry;

typedef struct indirect_map {
  indirect_entry *e;
  uint32_t n;
} indirect_map;

struct wp_names {
  bool parsed;
  bool has_module_name;
  const char *module_name;
  uint32_t module_name_len;
  name_map direct[WP_NAME_SUBSECTIONS];     /* ids 1, 4..9 */
  indirect_map indirect[WP_NAME_SUBSECTIONS]; /* ids 2, 3 */
  char **display;                           /* per function-name entry: demangled, on first request */
  char warning[320];
};

static bool is_indirect(uint32_t id) { return id == WP_NAME_LOCAL || id == WP_NAME_LABEL; }

static void free_maps(struct wp_names *nm) {
  for (int id = 0; id < WP_NAME_SUBSECTIONS; id++) {
    free(nm->direct[id].e);
    nm->direct[id] = (name_map){0};
    for (uint32_t i = 0; i < nm->indirect[id].n; i++) free(nm->indirect[id].e[i].map.e);
    free(nm->indirect[id].e);
    nm->indirect[id] = (indirect_map){0};
  }
  nm->has_module_name = false;
}

void wp_names_free(struct wp_names *nm) {
  if (!nm) return;
  if (nm->display) {
    for (uint32_t i = 0; i < nm->direct[WP_NAME_FUNC].n; i++) free(nm->display[i]);
    free(nm->display);
  }
  free_maps(nm);
  free(nm);
}

/* ---- parsing ---- */

static int cmp_entry(const void *a, const void *b) {
  uint32_t x = ((const name_entry *)a)->index, y = ((const name_entry *)b)->index;
  return x < y ? -1 : x > y;
}

static int cmp_indirect(const void *a, const void *b) {
  uint32_t x = ((const indirect_entry *)a)->index, y = ((const indirect_entry *)b)->index;
  return x < y ? -1 : x > y;
}

/* read_count: a vector length that the remaining bytes can hold (each
 * element takes at least min_bytes), so a corrupt count cannot ask for a
 * huge allocation. */
static int read_count(wp_reader *r, uint32_t min_bytes, uint32_t *n, wp_error *err) {
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_u32(r, n, err));
  if ((uint64_t)*n * min_bytes > (uint64_t)(r->end - r->pos))
    return wp_error_set(err, WP_ERR_DECODE, at, "count %u larger than the subsection", (unsigned)*n);
  return 0;
}

static int read_name_map(wp_reader *r, name_map *out, wp_error *err) {
  uint32_t n;
  WP_TRY(read_count(r, 2, &n, err));
  out->e = n ? wp_calloc(n, sizeof *out->e) : NULL;
  if (n && !out->e) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
  out->n = n;
  bool sorted = true;
  for (uint32_t i = 0; i < n; i++) {
    name_entry *e = &out->e[i];
    WP_TRY(wp_read_u32(r, &e->index, err));
    WP_TRY(wp_read_name(r, &e->name, &e->len, err));
    if (i && e->index <= out->e[i - 1].index) sorted = false;
  }
  /* The format asks for increasing indices; tolerate producers that don't. */
  if (!sorted) qsort(out->e, n, sizeof *out->e, cmp_entry);
  return 0;
}

static int read_indirect_map(wp_reader *r, indirect_map *out, wp_error *err) {
  uint32_t n;
  WP_TRY(read_count(r, 2, &n, err));
  out->e = n ? wp_calloc(n, sizeof *out->e) : NULL;
  if (n && !out->e) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
  out->n = n;
  bool sorted = true;
  for (uint32_t i = 0; i < n; i++) {
    indirect_entry *e = &out->e[i];
    WP_TRY(wp_read_u32(r, &e->index, err));
    WP_TRY(read_name_map(r, &e->map, err));
    if (i && e->index <= out->e[i - 1].index) sorted = false;
  }
  if (!sorted) qsort(out->e, n, sizeof *out->e, cmp_indirect);
  return 0;
}

static int parse_subsections(struct wp_names *nm, wp_reader *r, wp_error *err) {
  int last_id = -1;
  while (r->pos < r->end) {
    uint32_t at = wp_reader_offset(r);
    uint8_t id;
    uint32_t size;
    WP_TRY(wp_read_u8(r, &id, err));
    WP_TRY(wp_read_u32(r, &size, err));
    if (size > (size_t)(r->end - r->pos))
      return wp_error_set(err, WP_ERR_DECODE, at, "subsection %u: size %u past the section's end", id,
                          (unsigned)size);
    if ((int)id <= last_id)
      return wp_error_set(err, WP_ERR_DECODE, at, "subsection %u out of order or repeated", id);
    last_id = id;
    wp_reader s = {r->base, r->pos, r->pos + size};
    r->pos = s.end;
    if (id >= WP_NAME_SUBSECTIONS) continue; /* a newer proposal's subsection: skip */
    if (id == WP_NAME_MODULE) {
      WP_TRY(wp_read_name(&s, &nm->module_name, &nm->module_name_len, err));
      nm->has_module_name = true;
    } else if (is_indirect(id)) {
      WP_TRY(read_indirect_map(&s, &nm->indirect[id], err));
    } else {
      WP_TRY(read_name_map(&s, &nm->direct[id], err));
    }
    if (s.pos != s.end)
      return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(&s), "subsection %u: size mismatch", id);
  }
  return 0;
}

/* names_lock: guards building every module's tables and display names
 * (rare: once per module, once per name). */
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

static struct wp_names *names_parse(const wp_module *m);

/* names_get: the parsed tables, parsing on first use (NULL only when out of memory). */
static struct wp_names *names_get(const wp_module *cm) {
  wp_module *m = (wp_module *)cm; /* the lazy tables are a cache: logically const */
  struct wp_names *nm = atomic_load_explicit(&m->names, memory_order_acquire);
  if (nm) return nm;
  pthread_mutex_lock(&names_lock);
  nm = atomic_load_explicit(&m->names, memory_order_relaxed);
  if (!nm && (nm = names_parse(m)) != NULL) atomic_store_explicit(&m->names, nm, memory_order_release);
  pthread_mutex_unlock(&names_lock);
  return nm;
}

static struct wp_names *names_parse(const wp_module *m) {
  struct wp_names *nm = wp_calloc(1, sizeof *nm);
  if (!nm) return NULL;
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const wp_custom_desc *c = &m->customs[i];
    if (c->name_len != 4 || memcmp(c->name, "name", 4) != 0) continue;
    wp_reader r = {m->bytes, m->bytes + c->data_start, m->bytes + c->data_start + c->data_len};
    wp_error err;
    wp_error_clear(&err);
    if (parse_subsections(nm, &r, &err) < 0) {
      free_maps(nm);
      if (err.offset != WP_NO_OFFSET)
        snprintf(nm->warning, sizeof nm->warning, "name section ignored: %s at offset 0x%x", err.message,
                 (unsigned)err.offset);
      else
        snprintf(nm->warning, sizeof nm->warning, "name section ignored: %s", err.message);
    }
    break; /* only the first "name" section counts */
  }
  nm->parsed = true;
  return nm;
}

/* ---- lookups ---- */

static const name_entry *map_find(const name_map *map, uint32_t index) {
  uint32_t lo = 0, hi = map->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (map->e[mid].index < index) lo = mid + 1;
    else hi = mid;
  }
  return lo < map->n && map->e[lo].index == index ? &map->e[lo] : NULL;
}

static const indirect_entry *indirect_find(const indirect_map *map, uint32_t index) {
  uint32_t lo = 0, hi = map->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (map->e[mid].index < index) lo = mid + 1;
    else hi = mid;
  }
  return lo < map->n && map->e[lo].index == index ? &map->e[lo] : NULL;
}

bool wp_module_name(const wp_module *m, wp_name_kind kind, uint32_t index, uint32_t sub, const char **name,
                    uint32_t *len) {
  struct wp_names *nm = m ? names_get(m) : NULL;
  if (!nm || (unsigned)kind >= WP_NAME_SUBSECTIONS) return false;
  const name_entry *e = NULL;
  if (kind == WP_NAME_MODULE) {
    if (!nm->has_module_name) return false;
    *name = nm->module_name;
    *len = nm->module_name_len;
    return true;
  }
  if (is_indirect(kind)) {
    const indirect_entry *outer = indirect_find(&nm->indirect[kind], index);
    e = outer ? map_find(&outer->map, sub) : NULL;
  } else {
    e = map_find(&nm->direct[kind], index);
  }
  if (!e) return false;
  *name = e->name;
  *len = e->len;
  return true;
}

const char *wp_module_names_warning(const wp_module *m) {
  struct wp_names *nm = m ? names_get(m) : NULL;
  if (!nm) return m ? "name section ignored: out of memory" : NULL;
  return nm->warning[0] ? nm->warning : NULL;
}

/* ---- demangling ---- */

/* strip_rust_hash: drop a trailing "::h" + 16 hex digits (a Rust legacy
 * symbol's hash), as rustfilt does, when the demangler left it. */
static void strip_rust_hash(char *s) {
  size_t n = strlen(s);
  if (n < 19) return;
  char *h = s + n - 19;
  if (h[0] != ':' || h[1] != ':' || h[2] != 'h') return;
  for (int i = 3; i < 19; i++) {
    char c = h[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return;
  }
  *h = '\0';
}

char *wp_demangle(const char *name, size_t len) {
  char *raw = malloc(len + 1);
  if (!raw) return NULL;
  memcpy(raw, name, len);
  raw[len] = '\0';
  /* Only names that look mangled: Itanium C++ / Rust legacy (_Z), Rust v0 (_R). */
  char *out = NULL;
  if (len > 2 && raw[0] == '_' && (raw[1] == 'Z' || raw[1] == 'R'))
    out = cplus_demangle(raw, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
  free(raw);
  if (out) strip_rust_hash(out);
  return out;
}

const char *wp_module_func_display_name(const wp_module *m, uint32_t func) {
  struct wp_names *nm = m ? names_get(m) : NULL;
  if (!nm) return NULL;
  name_map *map = &nm->direct[WP_NAME_FUNC];
  const name_entry *e = map_find(map, func);
  if (!e) return NULL;
  pthread_mutex_lock(&names_lock);
  char *d = NULL;
  if (nm->display || (nm->display = wp_calloc(map->n, sizeof *nm->display)) != NULL) {
    char **slot = &nm->display[e - map->e];
    if (!*slot) {
      char *made = wp_demangle(e->name, e->len);
      if (!made && (made = malloc((size_t)e->len + 1)) != NULL) {
        memcpy(made, e->name, e->len);
        made[e->len] = '\0';
      }
      *slot = made;
    }
    d = *slot;
  }
  pthread_mutex_unlock(&names_lock);
  return d;
}

uint32_t wp_module_func_body_offset(const wp_module *m, uint32_t func) {
  if (!m || func < m->nfuncs_imported || func >= m->nfuncs) return WP_NO_OFFSET;
  return m->bodies[func - m->nfuncs_imported].body_start;
}

uint32_t wp_module_func_at(const wp_module *m, uint32_t offset) {
  if (!m) return WP_NO_FUNC;
  uint32_t n = m->nfuncs - m->nfuncs_imported, lo = 0, hi = n;
  while (lo < hi) { /* bodies are in increasing offset order */
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->bodies[mid].body_end <= offset) lo = mid + 1;
    else hi = mid;
  }
  if (lo < n && m->bodies[lo].body_start <= offset) return m->nfuncs_imported + lo;
  return WP_NO_FUNC;
}
