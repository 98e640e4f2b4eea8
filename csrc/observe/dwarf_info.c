/* dwarf_info.c: functions and inlined calls from `.debug_info`, for source
 * function names and inlined frames in backtraces.
 *
 * Only what a backtrace needs is read: DW_TAG_subprogram and
 * DW_TAG_inlined_subroutine entries with their address ranges (low_pc /
 * high_pc or DW_AT_ranges), names (DW_AT_linkage_name demangled, else
 * DW_AT_name, following DW_AT_abstract_origin / DW_AT_specification), and
 * for inlined calls the call site (DW_AT_call_file/line/column), for
 * functions their declaration (DW_AT_decl_file/line, also followed), and
 * each compile unit's DW_AT_comp_dir, which relative file names of its
 * line table are joined to.  Every
 * other attribute is skipped by its form.  DWARF versions 2 to 5, with
 * version 5's indexed forms (strx, addrx, rnglistx and the *x range-list
 * entries) read through .debug_str_offsets, .debug_addr and the unit's
 * DW_AT_*_base, as clang 14 writes them for -gdwarf-5.
 *
 * Like the line tables, anything malformed stops the reading (of the unit
 * and those after it) with a warning; what was read is kept. */
#include "dwarf.h"

enum {
  TAG_subprogram = 0x2e, TAG_inlined_subroutine = 0x1d,
  AT_name = 0x03, AT_low_pc = 0x11, AT_high_pc = 0x12, AT_abstract_origin = 0x31, AT_specification = 0x47,
  AT_ranges = 0x55, AT_call_column = 0x57, AT_call_file = 0x58, AT_call_line = 0x59, AT_linkage_name = 0x6e,
  AT_MIPS_linkage_name = 0x2007, AT_stmt_list = 0x10, AT_comp_dir = 0x1b, AT_decl_file = 0x3a, AT_decl_line = 0x3b,
  AT_str_offsets_base = 0x72, AT_addr_base = 0x73, AT_rnglists_base = 0x74,
  FORM_addr = 0x01, FORM_implicit_const = 0x21, FORM_indirect = 0x16,
};

#define NO_SCOPE UINT32_MAX
#define MAX_DEPTH 256

typedef struct abbrev {
  uint64_t code;
  uint32_t tag;
  bool children;
  uint32_t first, count; /* into attr specs */
} abbrev;

typedef struct attr_spec {
  uint32_t name, form;
  int64_t implicit;
} attr_spec;

/* A DIE of interest, for name resolution through abstract_origin/specification. */
typedef struct die_name {
  uint64_t off;
  const char *name, *linkage;
  uint64_t ref; /* abstract_origin or specification (absolute), 0 if none */
  uint32_t decl_file, decl_line; /* file: index into files, NO_SCOPE if none */
} die_name;

typedef struct reader {
  struct wp_dwarf *d;
  section info, abbrev_sec, str, line_str, ranges, rnglists, str_offsets, addr;
  /* the current unit's bases for the DWARF 5 indexed forms (strx, addrx, rnglistx) */
  uint64_t str_base, addr_base, rnglists_base;
  unsigned offset_size, addr_size;
  abbrev *abbrevs;
  uint32_t nabbrevs, abbrevs_cap;
  attr_spec *specs;
  uint32_t nspecs, specs_cap;
  die_name *names;
  uint32_t nnames, names_cap;
  uint64_t *scope_die; /* per scope: the DIE offset, to resolve its name */
  uint32_t scope_die_cap;
} reader;

enum { IDX_NONE, IDX_STR, IDX_ADDR, IDX_RNGLIST };

typedef struct value {
  uint64_t u;
  const char *str;
  bool is_addr; /* the addr class (for high_pc) */
  uint8_t indexed; /* DWARF 5: u is an index, resolved by resolve() once the unit's bases are known */
} value;

static void warn(reader *r, uint64_t off, const char *why) {
  snprintf(r->d->info_warning, sizeof r->d->info_warning, ".debug_info: unit at 0x%x: %s; later units ignored",
           (unsigned)off, why);
}

static bool read_abbrevs(reader *r, uint64_t off) {
  r->nabbrevs = r->nspecs = 0;
  if (off >= r->abbrev_sec.len) return false;
  cursor c = {r->abbrev_sec.data + off, r->abbrev_sec.data + r->abbrev_sec.len, false};
  for (;;) {
    uint64_t code = rd_uleb(&c);
    if (c.bad) return false;
    if (code == 0) return true;
    abbrev a = {.code = code, .tag = (uint32_t)rd_uleb(&c), .children = rd_fixed(&c, 1) != 0, .first = r->nspecs};
    for (;;) {
      uint64_t name = rd_uleb(&c), form = rd_uleb(&c);
      if (c.bad) return false;
      if (name == 0 && form == 0) break;
      attr_spec s = {(uint32_t)name, (uint32_t)form, form == FORM_implicit_const ? rd_sleb(&c) : 0};
      if (r->nspecs == r->specs_cap && !wp_grow((void **)&r->specs, &r->specs_cap, r->nspecs + 1, sizeof s))
        return false;
      r->specs[r->nspecs++] = s;
    }
    a.count = r->nspecs - a.first;
    if (r->nabbrevs == r->abbrevs_cap && !wp_grow((void **)&r->abbrevs, &r->abbrevs_cap, r->nabbrevs + 1, sizeof a))
      return false;
    r->abbrevs[r->nabbrevs++] = a;
  }
}

static const abbrev *find_abbrev(const reader *r, uint64_t code) {
  if (code >= 1 && code <= r->nabbrevs && r->abbrevs[code - 1].code == code) return &r->abbrevs[code - 1];
  for (uint32_t i = 0; i < r->nabbrevs; i++)
    if (r->abbrevs[i].code == code) return &r->abbrevs[i];
  return NULL;
}

static const char *str_at(section s, uint64_t off) {
  if (!s.data || off >= s.len || !memchr(s.data + off, 0, s.len - off)) return NULL;
  return (const char *)s.data + off;
}

/* read_value: one attribute value by form; false for forms we cannot size. */
static bool read_value(reader *r, cursor *c, uint32_t form, int64_t implicit, unsigned offset_size,
                       unsigned addr_size, uint64_t cu_off, int depth, value *v) {
  *v = (value){0};
  switch (form) {
  case 0x01: v->u = rd_fixed(c, addr_size); v->is_addr = true; break; /* addr */
  case 0x03: skip(c, rd_fixed(c, 2)); break;                          /* block2 */
  case 0x04: skip(c, rd_fixed(c, 4)); break;                          /* block4 */
  case 0x05: v->u = rd_fixed(c, 2); break;                            /* data2 */
  case 0x06: v->u = rd_fixed(c, 4); break;                            /* data4 */
  case 0x07: v->u = rd_fixed(c, 8); break;                            /* data8 */
  case 0x08: v->str = rd_cstr(c); break;                              /* string */
  case 0x09: case 0x18: skip(c, rd_uleb(c)); break;                   /* block, exprloc */
  case 0x0a: skip(c, rd_fixed(c, 1)); break;                          /* block1 */
  case 0x0b: v->u = rd_fixed(c, 1); break;                            /* data1 */
  case 0x0c: v->u = rd_fixed(c, 1); break;                            /* flag */
  case 0x0d: v->u = (uint64_t)rd_sleb(c); break;                      /* sdata */
  case 0x0e: v->str = str_at(r->str, rd_fixed(c, offset_size)); break; /* strp */
  case 0x0f: v->u = rd_uleb(c); break;                                /* udata */
  case 0x10: v->u = rd_fixed(c, offset_size); break;                  /* ref_addr (absolute) */
  case 0x11: v->u = cu_off + rd_fixed(c, 1); break;                   /* ref1 */
  case 0x12: v->u = cu_off + rd_fixed(c, 2); break;                   /* ref2 */
  case 0x13: v->u = cu_off + rd_fixed(c, 4); break;                   /* ref4 */
  case 0x14: v->u = cu_off + rd_fixed(c, 8); break;                   /* ref8 */
  case 0x15: v->u = cu_off + rd_uleb(c); break;                       /* ref_udata */
  case 0x16:                                                          /* indirect */
    if (depth > 2) return false;
    return read_value(r, c, (uint32_t)rd_uleb(c), 0, offset_size, addr_size, cu_off, depth + 1, v);
  case 0x17: v->u = rd_fixed(c, offset_size); break;                  /* sec_offset */
  case 0x19: v->u = 1; break;                                         /* flag_present */
  case 0x1a: v->u = rd_uleb(c); v->indexed = IDX_STR; break;          /* strx */
  case 0x1b: v->u = rd_uleb(c); v->indexed = IDX_ADDR; v->is_addr = true; break; /* addrx */
  case 0x23: v->u = rd_uleb(c); v->indexed = IDX_RNGLIST; break;      /* rnglistx */
  case 0x22: rd_uleb(c); break;                                       /* loclistx: not needed */
  case 0x1c: rd_fixed(c, 4); break;                                   /* ref_sup4 */
  case 0x1d: case 0x1f20: case 0x1f21: rd_fixed(c, offset_size); break; /* strp_sup, GNU alt refs */
  case 0x1e: skip(c, 16); break;                                      /* data16 */
  case 0x1f: v->str = str_at(r->line_str, rd_fixed(c, offset_size)); break; /* line_strp */
  case 0x20: case 0x24: rd_fixed(c, 8); break;                        /* ref_sig8, ref_sup8 */
  case 0x21: v->u = (uint64_t)implicit; break;                        /* implicit_const */
  case 0x25: case 0x26: case 0x27: case 0x28:                         /* strx1..4 */
    v->u = rd_fixed(c, form - 0x24); v->indexed = IDX_STR; break;
  case 0x29: case 0x2a: case 0x2b: case 0x2c:                         /* addrx1..4 */
    v->u = rd_fixed(c, form - 0x28); v->indexed = IDX_ADDR; v->is_addr = true; break;
  case 0x1f01: case 0x1f02: rd_uleb(c); break;                        /* GNU_addr_index, GNU_str_index */
  default: return false;
  }
  return !c->bad;
}

static bool add_range(reader *r, uint64_t lo, uint64_t hi, uint32_t scope) {
  /* discarded code: address 0 or a tombstone; nothing real lives there */
  if (lo == 0 || lo >= 0xfffffff0u || hi <= lo || hi > ((uint64_t)1 << 32)) return true;
  struct wp_dwarf *d = r->d;
  if (d->nranges == d->ranges_cap && !wp_grow((void **)&d->ranges, &d->ranges_cap, d->nranges + 1, sizeof *d->ranges))
    return false;
  /* A range may end exactly at 2^32: kept, its end held as the highest address. */
  d->ranges[d->nranges++] = (dwarf_range){(uint32_t)lo, hi > UINT32_MAX ? UINT32_MAX : (uint32_t)hi, scope};
  return true;
}

/* table_entry: entry `index` (of `size` bytes) of the table at `base` in section s, or UINT64_MAX. */
static uint64_t table_entry(section s, uint64_t base, uint64_t index, unsigned size) {
  if (!s.data || size == 0 || base > s.len || index >= (s.len - base) / size) return UINT64_MAX;
  cursor c = {s.data + base + index * size, s.data + s.len, false};
  return rd_fixed(&c, size);
}

static uint64_t addr_index(const reader *r, uint64_t index) {
  return table_entry(r->addr, r->addr_base, index, r->addr_size);
}

/* resolve: a DWARF 5 indexed value, through .debug_str_offsets, .debug_addr or the offsets
 * at the head of the unit's .debug_rnglists contribution. */
static void resolve(const reader *r, value *v) {
  if (v->indexed == IDX_STR) {
    uint64_t off = table_entry(r->str_offsets, r->str_base, v->u, r->offset_size);
    v->str = off == UINT64_MAX ? NULL : str_at(r->str, off);
  } else if (v->indexed == IDX_ADDR) {
    v->u = addr_index(r, v->u);
  } else if (v->indexed == IDX_RNGLIST) {
    uint64_t off = table_entry(r->rnglists, r->rnglists_base, v->u, r->offset_size);
    v->u = off == UINT64_MAX ? UINT64_MAX : r->rnglists_base + off;
  }
  v->indexed = IDX_NONE;
}

/* add_range_list: DW_AT_ranges, from .debug_ranges (v2-4) or .debug_rnglists (v5). */
static bool add_range_list(reader *r, unsigned version, uint64_t off, uint64_t base, unsigned addr_size,
                           uint32_t scope) {
  section s = version >= 5 ? r->rnglists : r->ranges;
  if (!s.data || off >= s.len) return true;
  cursor c = {s.data + off, s.data + s.len, false};
  uint64_t all_ones = addr_size >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * addr_size)) - 1;
  for (int n = 0; n < 100000 && !c.bad; n++) {
    if (version < 5) {
      uint64_t a = rd_fixed(&c, addr_size), b = rd_fixed(&c, addr_size);
      if (c.bad || (a == 0 && b == 0)) break;
      if (a == all_ones) base = b;
      else if (!add_range(r, base + a, base + b, scope)) return false;
      continue;
    }
    unsigned kind = (unsigned)rd_fixed(&c, 1);
    uint64_t a, b;
    switch (kind) {
    case 0: return true; /* end_of_list */
    case 4: a = rd_uleb(&c); b = rd_uleb(&c); if (!add_range(r, base + a, base + b, scope)) return false; break;
    case 5: base = rd_fixed(&c, addr_size); break;
    case 6: a = rd_fixed(&c, addr_size); b = rd_fixed(&c, addr_size); if (!add_range(r, a, b, scope)) return false; break;
    case 7: a = rd_fixed(&c, addr_size); b = rd_uleb(&c); if (!add_range(r, a, a + b, scope)) return false; break;
    case 1: base = addr_index(r, rd_uleb(&c)); break; /* base_addressx */
    case 2: a = addr_index(r, rd_uleb(&c)); b = addr_index(r, rd_uleb(&c)); /* startx_endx */
      if (!add_range(r, a, b, scope)) return false;
      break;
    case 3: a = addr_index(r, rd_uleb(&c)); b = rd_uleb(&c); /* startx_length */
      if (!add_range(r, a, a + b, scope)) return false;
      break;
    default: return true;
    }
  }
  return true;
}

static uint32_t call_file_index(const struct wp_dwarf *d, uint64_t stmt_list, uint64_t file) {
  for (uint32_t i = 0; i < d->nunits; i++) {
    const dwarf_unit_files *u = &d->units[i];
    if (u->offset == stmt_list) return file >= u->base && file - u->base < u->nfiles ? u->first_file + (uint32_t)(file - u->base) : NO_SCOPE;
  }
  return NO_SCOPE;
}

/* join_comp_dir: make the relative file names of the line-table unit at
 * stmt_list absolute (DWARF: they are relative to the compilation directory). */
static void join_comp_dir(struct wp_dwarf *d, uint64_t stmt_list, const char *dir) {
  if (!dir || dir[0] != '/') return;
  size_t nd = strlen(dir);
  for (uint32_t u = 0; u < d->nunits; u++) {
    if (d->units[u].offset != stmt_list) continue;
    for (uint32_t i = d->units[u].first_file; i < d->units[u].first_file + d->units[u].nfiles; i++) {
      char *f = d->files[i];
      if (!f || f[0] == '/') continue;
      size_t nf = strlen(f);
      char *s = malloc(nd + 1 + nf + 1);
      if (!s) return; /* stays relative */
      memcpy(s, dir, nd);
      size_t k = nd;
      if (s[k - 1] != '/') s[k++] = '/';
      memcpy(s + k, f, nf + 1);
      wp_path_tidy(s);
      free(f);
      d->files[i] = s;
    }
  }
}

/* read_unit: one compile unit's DIE tree. */
static bool read_unit(reader *r, cursor *all) {
  uint64_t cu_off = (uint64_t)(all->p - r->info.data);
  unsigned offset_size = 4;
  uint64_t len = rd_fixed(all, 4);
  if (len == 0xffffffffu) {
    offset_size = 8;
    len = rd_fixed(all, 8);
  }
  if (all->bad || len > (uint64_t)(all->end - all->p)) return warn(r, cu_off, "length past the section"), false;
  cursor c = {all->p, all->p + len, false};
  all->p = c.end;
  unsigned version = (unsigned)rd_fixed(&c, 2), addr_size;
  uint64_t abbrev_off;
  if (version < 2 || version > 5) return warn(r, cu_off, "unsupported version"), false;
  if (version >= 5) {
    unsigned unit_type = (unsigned)rd_fixed(&c, 1);
    addr_size = (unsigned)rd_fixed(&c, 1);
    abbrev_off = rd_fixed(&c, offset_size);
    if (unit_type == 2 || unit_type == 6) skip(&c, 8 + offset_size); /* type units: signature, type offset */
    else if (unit_type == 4 || unit_type == 5) skip(&c, 8);         /* skeleton/split: dwo id */
  } else {
    abbrev_off = rd_fixed(&c, offset_size);
    addr_size = (unsigned)rd_fixed(&c, 1);
  }
  if (c.bad || addr_size == 0 || addr_size > 8) return warn(r, cu_off, "bad header"), false;
  if (!read_abbrevs(r, abbrev_off)) return warn(r, cu_off, "bad abbreviation table"), false;
  /* Without DW_AT_*_base, the bases point past the first contribution's header (DWARF 5, 7.3.1). */
  r->offset_size = offset_size;
  r->addr_size = addr_size;
  r->str_base = 8;
  r->addr_base = 8;
  r->rnglists_base = 12;

  struct wp_dwarf *d = r->d;
  uint32_t stack[MAX_DEPTH]; /* enclosing scope at each depth */
  int depth = 0;
  uint64_t cu_base = 0, stmt_list = UINT64_MAX;
  stack[0] = NO_SCOPE;
  while (c.p < c.end) {
    uint64_t die_off = (uint64_t)(c.p - r->info.data);
    uint64_t code = rd_uleb(&c);
    if (c.bad) break;
    if (code == 0) {
      if (--depth < 0) depth = 0;
      continue;
    }
    const abbrev *a = find_abbrev(r, code);
    if (!a) return warn(r, cu_off, "unknown abbreviation code"), false;
    bool scope_tag = a->tag == TAG_subprogram || a->tag == TAG_inlined_subroutine;
    uint64_t ref = 0, call_file = 0, call_line = 0, call_col = 0;
    uint64_t decl_file = UINT64_MAX, decl_line = 0;
    bool has_low = false, has_high = false, has_ranges = false;
    value low = {0}, high = {0}, ranges = {0}, name = {0}, linkage = {0}, comp_dir = {0};
    for (uint32_t i = 0; i < a->count; i++) {
      const attr_spec *s = &r->specs[a->first + i];
      value v;
      if (!read_value(r, &c, s->form, s->implicit, offset_size, addr_size, cu_off, 0, &v))
        return warn(r, cu_off, c.bad ? "truncated entry" : "unknown attribute form"), false;
      switch (s->name) {
      case AT_low_pc: low = v; has_low = true; break;
      case AT_high_pc: high = v; has_high = true; break;
      case AT_ranges: ranges = v; has_ranges = true; break;
      case AT_name: name = v; break;
      case AT_linkage_name: case AT_MIPS_linkage_name: linkage = v; break;
      case AT_str_offsets_base: r->str_base = v.u; break;
      case AT_addr_base: r->addr_base = v.u; break;
      case AT_rnglists_base: r->rnglists_base = v.u; break;
      case AT_abstract_origin: case AT_specification: ref = v.u; break;
      case AT_call_file: call_file = v.u; break;
      case AT_call_line: call_line = v.u; break;
      case AT_call_column: call_col = v.u; break;
      case AT_stmt_list: stmt_list = v.u; break;
      case AT_comp_dir: comp_dir = v; break;
      case AT_decl_file: decl_file = v.u; break;
      case AT_decl_line: decl_line = v.u; break;
      default: break;
      }
    }
    /* After all of the entry's attributes: the unit's own entry may name its bases last. */
    resolve(r, &low);
    resolve(r, &high);
    resolve(r, &ranges);
    resolve(r, &name);
    resolve(r, &linkage);
    resolve(r, &comp_dir);
    if (depth == 0 && has_low) cu_base = low.u; /* the compile unit's base address for ranges */
    if (depth == 0 && stmt_list != UINT64_MAX) join_comp_dir(d, stmt_list, comp_dir.str);
    uint32_t scope = stack[depth];
    if (scope_tag) {
      bool named = name.str || linkage.str || ref;
      if (named && r->nnames == r->names_cap &&
          !wp_grow((void **)&r->names, &r->names_cap, r->nnames + 1, sizeof *r->names))
        return warn(r, cu_off, "out of memory"), false;
      if (named)
        r->names[r->nnames++] = (die_name){die_off, name.str, linkage.str, ref,
                                           decl_file != UINT64_MAX ? call_file_index(d, stmt_list, decl_file) : NO_SCOPE,
                                           (uint32_t)decl_line};
      if (has_low || has_ranges) {
        scope = d->nscopes;
        if ((d->nscopes == d->scopes_cap &&
             !wp_grow((void **)&d->scopes, &d->scopes_cap, d->nscopes + 1, sizeof *d->scopes)) ||
            (scope >= r->scope_die_cap &&
             !wp_grow((void **)&r->scope_die, &r->scope_die_cap, scope + 1, sizeof *r->scope_die)))
          return warn(r, cu_off, "out of memory"), false;
        bool inl = a->tag == TAG_inlined_subroutine;
        d->scopes[d->nscopes++] = (dwarf_scope){
            .name = NULL, .parent = stack[depth], .depth = (uint32_t)depth, .inlined = inl,
            .call_file = inl ? call_file_index(d, stmt_list, call_file) : NO_SCOPE,
            .call_line = (uint32_t)call_line, .call_column = (uint32_t)call_col,
            .decl_file = NO_SCOPE, .decl_line = 0};
        r->scope_die[scope] = die_off;
        bool ok = true;
        if (has_low && has_high) ok = add_range(r, low.u, high.is_addr ? high.u : low.u + high.u, scope);
        if (has_ranges) ok = ok && add_range_list(r, version, ranges.u, cu_base, addr_size, scope);
        if (!ok) return warn(r, cu_off, "out of memory"), false;
      }
    }
    if (a->children) {
      if (depth + 1 >= MAX_DEPTH) return warn(r, cu_off, "entries nested too deep"), false;
      stack[++depth] = scope;
    }
  }
  if (c.bad) return warn(r, cu_off, "truncated entry"), false;
  return true;
}

static int cmp_name(const void *a, const void *b) {
  uint64_t x = ((const die_name *)a)->off, y = ((const die_name *)b)->off;
  return x < y ? -1 : x > y;
}

static const die_name *find_name(const reader *r, uint64_t off) {
  uint32_t lo = 0, hi = r->nnames;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (r->names[mid].off < off) lo = mid + 1;
    else hi = mid;
  }
  return lo < r->nnames && r->names[lo].off == off ? &r->names[lo] : NULL;
}

/* scope_name: the linkage name demangled, else the plain name, following
 * abstract_origin / specification (a few steps at most). */
static char *scope_name(const reader *r, uint64_t off) {
  const char *plain = NULL;
  for (int step = 0; step < 8; step++) {
    const die_name *n = find_name(r, off);
    if (!n) break;
    if (n->linkage) {
      char *dm = wp_demangle(n->linkage, strlen(n->linkage));
      if (dm) return dm;
      if (!plain) plain = n->linkage;
    }
    if (n->name && !plain) plain = n->name;
    if (!n->ref || n->ref == off) break;
    off = n->ref;
  }
  if (!plain) return NULL;
  size_t len = strlen(plain);
  char *s = malloc(len + 1);
  if (s) memcpy(s, plain, len + 1);
  return s;
}

/* scope_decl: the declaration's file and line, following abstract_origin /
 * specification as scope_name does. */
static void scope_decl(const reader *r, uint64_t off, dwarf_scope *s) {
  for (int step = 0; step < 8; step++) {
    const die_name *n = find_name(r, off);
    if (!n) return;
    if (n->decl_file != NO_SCOPE && n->decl_line) {
      s->decl_file = n->decl_file;
      s->decl_line = n->decl_line;
      return;
    }
    if (!n->ref || n->ref == off) return;
    off = n->ref;
  }
}

/* A range with its scope's depth, for sorting: outer scopes first at one
 * address, so the innermost one is pushed last. */
typedef struct sweep_range {
  uint32_t lo, depth, hi, scope;
} sweep_range;

static int cmp_sweep(const void *a, const void *b) {
  const sweep_range *x = a, *y = b;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  if (x->depth != y->depth) return x->depth < y->depth ? -1 : 1;
  return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static bool add_seg(struct wp_dwarf *d, uint32_t *cap, uint32_t lo, uint32_t scope) {
  if (d->nsegs && d->segs[d->nsegs - 1].lo == lo) { /* a later one at the same address is deeper */
    d->segs[d->nsegs - 1].scope = scope;
    return true;
  }
  if (d->nsegs && d->segs[d->nsegs - 1].scope == scope) return true;
  if (!wp_grow((void **)&d->segs, cap, d->nsegs + 1, sizeof *d->segs)) return false;
  d->segs[d->nsegs++] = (dwarf_range){lo, 0, scope};
  return true;
}

/* build_segments: sweep the ranges (scopes nest) with a stack of the open
 * ones: each start and each end begins a segment of the deepest open scope. */
static void build_segments(struct wp_dwarf *d) {
  if (!d->nranges) return;
  sweep_range *r = malloc((size_t)d->nranges * sizeof *r);
  uint32_t *stack = malloc((size_t)d->nranges * sizeof *stack), top = 0, cap = 0;
  bool ok = r && stack;
  for (uint32_t i = 0; ok && i < d->nranges; i++)
    r[i] = (sweep_range){d->ranges[i].lo, d->scopes[d->ranges[i].scope].depth, d->ranges[i].hi, d->ranges[i].scope};
  if (ok) qsort(r, d->nranges, sizeof *r, cmp_sweep);
  for (uint32_t i = 0; ok && i <= d->nranges; i++) {
    uint32_t lo = i < d->nranges ? r[i].lo : UINT32_MAX;
    while (ok && top && r[stack[top - 1]].hi <= lo) { /* close what ends before this range starts */
      uint32_t end = r[stack[--top]].hi;
      while (top && r[stack[top - 1]].hi <= end) top--; /* ended at or before it too */
      ok = add_seg(d, &cap, end, top ? r[stack[top - 1]].scope : UINT32_MAX);
    }
    if (i == d->nranges || !ok) break;
    if (r[i].hi <= r[i].lo) continue;
    stack[top++] = i;
    ok = add_seg(d, &cap, lo, r[i].scope);
  }
  if (!ok) { /* lookups fall back to the linear scan */
    free(d->segs);
    d->segs = NULL;
    d->nsegs = 0;
  }
  free(r);
  free(stack);
}

void wp_dwarf_read_scopes(const wp_module *m, struct wp_dwarf *d) {
  reader r = {.d = d};
  if (!wp_dwarf_find_custom(m, ".debug_info", &r.info) || !wp_dwarf_find_custom(m, ".debug_abbrev", &r.abbrev_sec))
    return;
  wp_dwarf_find_custom(m, ".debug_str", &r.str);
  wp_dwarf_find_custom(m, ".debug_line_str", &r.line_str);
  wp_dwarf_find_custom(m, ".debug_ranges", &r.ranges);
  wp_dwarf_find_custom(m, ".debug_rnglists", &r.rnglists);
  wp_dwarf_find_custom(m, ".debug_str_offsets", &r.str_offsets);
  wp_dwarf_find_custom(m, ".debug_addr", &r.addr);
  cursor all = {r.info.data, r.info.data + r.info.len, false};
  while (all.p < all.end)
    if (!read_unit(&r, &all)) break;
  if (r.nnames) qsort(r.names, r.nnames, sizeof *r.names, cmp_name);
  for (uint32_t i = 0; i < d->nscopes; i++) {
    d->scopes[i].name = scope_name(&r, r.scope_die[i]);
    scope_decl(&r, r.scope_die[i], &d->scopes[i]);
  }
  build_segments(d);
  free(r.abbrevs);
  free(r.specs);
  free(r.names);
  free(r.scope_die);
}

void wp_dwarf_free_scopes(struct wp_dwarf *d) {
  for (uint32_t i = 0; i < d->nscopes; i++) free(d->scopes[i].name);
  free(d->scopes);
  free(d->ranges);
  d->scopes = NULL;
  d->ranges = NULL;
  d->nscopes = d->nranges = 0;
  free(d->segs);
  d->segs = NULL;
  d->nsegs = 0;
}

/* innermost_scope: the deepest scope whose ranges hold addr. */
static uint32_t innermost_scope(const struct wp_dwarf *d, uint32_t addr) {
  if (d->segs) {
    uint32_t lo = 0, hi = d->nsegs; /* the last segment starting at or before addr */
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (d->segs[mid].lo <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo ? d->segs[lo - 1].scope : NO_SCOPE;
  }
  uint32_t best = NO_SCOPE;
  for (uint32_t i = 0; i < d->nranges; i++) {
    const dwarf_range *g = &d->ranges[i];
    if (g->lo <= addr && addr < g->hi && (best == NO_SCOPE || d->scopes[g->scope].depth > d->scopes[best].depth))
      best = g->scope;
  }
  return best;
}

uint32_t wp_dwarf_source_frames(const struct wp_dwarf *d, uint32_t addr, const wp_source_location *line,
                                wp_source_frame *out, uint32_t max) {
  if (max == 0) return 0;
  uint32_t n = 0, s = innermost_scope(d, addr);
  out[0] = (wp_source_frame){.function = NULL, .file = line ? line->file : NULL,
                             .line = line ? line->line : 0, .column = line ? line->column : 0};
  if (s == NO_SCOPE) return line ? 1 : 0;
  out[n].function = d->scopes[s].name;
  n = 1;
  for (int guard = 0; d->scopes[s].inlined && d->scopes[s].parent != NO_SCOPE && n < max && guard < MAX_DEPTH; guard++) {
    const dwarf_scope *inl = &d->scopes[s];
    s = inl->parent;
    out[n++] = (wp_source_frame){.function = d->scopes[s].name,
                                 .file = inl->call_file != NO_SCOPE ? d->files[inl->call_file] : NULL,
                                 .line = inl->call_line, .column = inl->call_column};
  }
  return n;
}

bool wp_dwarf_func_decl(const struct wp_dwarf *d, uint32_t addr, const char **file, uint32_t *line) {
  uint32_t s = innermost_scope(d, addr);
  for (int guard = 0; s != NO_SCOPE && d->scopes[s].inlined && guard < MAX_DEPTH; guard++) s = d->scopes[s].parent;
  if (s == NO_SCOPE || d->scopes[s].decl_file == NO_SCOPE || !d->scopes[s].decl_line) return false;
  *file = d->files[d->scopes[s].decl_file];
  *line = d->scopes[s].decl_line;
  return true;
}
