/* dwarf.h: what dwarf.c (line tables) and dwarf_info.c (.debug_info
 * scopes: functions and inlined calls) share: the lazily built tables and a
 * bounds-checked cursor. */
#ifndef WP_DWARF_H
#define WP_DWARF_H

#include "module.h"

/* A line-table unit's files, for DW_AT_call_file of the matching compile
 * unit (DW_AT_stmt_list = offset). File number n is files[first_file + n - base]. */
typedef struct dwarf_unit_files {
  uint32_t offset, first_file, nfiles, base;
} dwarf_unit_files;

/* A function (DW_TAG_subprogram) or an inlined call (DW_TAG_inlined_subroutine). */
typedef struct dwarf_scope {
  char *name;              /* demangled when it was a linkage name; may be NULL */
  uint32_t parent;         /* enclosing scope, UINT32_MAX for none */
  uint32_t depth;
  bool inlined;
  uint32_t call_file;      /* index into files, UINT32_MAX if unknown */
  uint32_t call_line, call_column;
  uint32_t decl_file;      /* a function's declaration: index into files, UINT32_MAX if unknown */
  uint32_t decl_line;
} dwarf_scope;

/* One address range of a scope: [lo, hi) in Code-relative addresses. */
typedef struct dwarf_range {
  uint32_t lo, hi, scope;
} dwarf_range;

typedef struct line_row {
  uint32_t addr;
  uint32_t line;
  uint32_t column;
  uint32_t file;     /* index into wp_dwarf.files */
  uint32_t order;    /* emission order, to keep sorting stable */
  bool end_sequence;
} line_row;

struct wp_dwarf {
  line_row *rows;
  uint32_t nrows, cap;
  char **files;
  uint32_t nfiles, files_cap;
  /* per line-table unit: its files are files[first_file .. first_file + nfiles) */
  struct dwarf_unit_files *units;
  uint32_t nunits, units_cap;
  /* .debug_info scopes (dwarf_info.c) */
  struct dwarf_scope *scopes;
  uint32_t nscopes, scopes_cap;
  struct dwarf_range *ranges;
  uint32_t nranges, ranges_cap;
  /* the innermost scope of every address, as sorted segments [lo, next lo)
   * (scope UINT32_MAX: none): a binary search per lookup (dwarf_info.c) */
  struct dwarf_range *segs;
  uint32_t nsegs;
  char warning[200];
  char info_warning[200];
};

/* ---- a bounds-checked cursor (errors are sticky: check c.bad once) ---- */

typedef struct cursor {
  const uint8_t *p, *end;
  bool bad;
} cursor;

static inline uint64_t rd_fixed(cursor *c, unsigned n) {
  if (c->bad || (size_t)(c->end - c->p) < n) {
    c->bad = true;
    return 0;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)c->p[i] << (8 * i); /* wasm DWARF is little-endian */
  c->p += n;
  return v;
}

static inline uint64_t rd_uleb(cursor *c) {
  uint64_t v = 0;
  for (unsigned shift = 0; !c->bad; shift += 7) {
    if (c->p >= c->end || shift > 63) break;
    uint8_t b = *c->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  c->bad = true;
  return 0;
}

static inline int64_t rd_sleb(cursor *c) {
  int64_t v = 0;
  unsigned shift = 0;
  for (; !c->bad; shift += 7) {
    if (c->p >= c->end || shift > 63) break;
    uint8_t b = *c->p++;
    v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
    if (!(b & 0x80)) {
      if (shift + 7 < 64 && (b & 0x40)) v |= -(int64_t)((uint64_t)1 << (shift + 7));
      return v;
    }
  }
  c->bad = true;
  return 0;
}

static inline const char *rd_cstr(cursor *c) {
  const uint8_t *s = c->p;
  while (c->p < c->end && *c->p) c->p++;
  if (c->p >= c->end) {
    c->bad = true;
    return "";
  }
  c->p++;
  return (const char *)s;
}

static inline void skip(cursor *c, uint64_t n) {
  if (c->bad || (uint64_t)(c->end - c->p) < n) c->bad = true;
  else c->p += n;
}

/* wp_path_tidy: drop the "/./" steps of a joined path, in place
 * ("/src/./lib.h" -> "/src/lib.h"), as llvm-symbolizer does not but readers want. */
static inline void wp_path_tidy(char *s) {
  char *w = s;
  for (const char *r = s; *r;) {
    if (r[0] == '/' && r[1] == '.' && r[2] == '/') r += 2;
    else *w++ = *r++;
  }
  *w = 0;
}

typedef struct section {
  const uint8_t *data;
  uint32_t len;
} section;


bool wp_dwarf_find_custom(const wp_module *m, const char *name, section *out);
/* wp_dwarf_read_scopes: fill d->scopes and d->ranges from .debug_info (after the line tables). */
void wp_dwarf_read_scopes(const wp_module *m, struct wp_dwarf *d);
void wp_dwarf_free_scopes(struct wp_dwarf *d);
/* wp_dwarf_source_frames: see wp_module_source_frames; line is the
 * line-table row at addr (NULL if none). */
uint32_t wp_dwarf_source_frames(const struct wp_dwarf *d, uint32_t addr, const wp_source_location *line,
                                wp_source_frame *out, uint32_t max);
/* wp_dwarf_func_decl: the declaration of the (not inlined) function whose
 * code holds addr; false when unknown. */
bool wp_dwarf_func_decl(const struct wp_dwarf *d, uint32_t addr, const char **file, uint32_t *line);

#endif
