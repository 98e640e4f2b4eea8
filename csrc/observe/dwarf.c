/* dwarf.c: code offset -> file:line:column from the DWARF `.debug_line`
 * custom section (line programs of DWARF versions 2 to 5, 32- and 64-bit
 * formats), decoded on the first lookup into one sorted row array.
 *
 * Why our own decoder: the line program is small and fully specified
 * (DWARF 5, section 6.2), and reading it needs nothing but the section
 * bytes.  Debian 12's libdwarf (20210528) can be fed in-memory sections
 * through dwarf_object_init_b and a Dwarf_Obj_Access_Methods table (section
 * info, byte order, sizes, load_section); that would work for wasm custom
 * sections, but it is a large dependency (and an ELF-minded one: relocation
 * hooks, section-index conventions) for the two small tables a backtrace
 * needs, so this decoder and dwarf_info.c read them directly.
 *
 * Addresses in wasm DWARF are offsets from the start of the Code section's
 * contents (LLVM's convention, checked against llvm-dwarfdump and
 * wasm-objdump in tests/debugging/test_backtrace.py).  Sequences that wasm-ld
 * discarded (dead functions) start at address 0 or at a tombstone
 * (0xffffffff); both are dropped since no instruction lives there.
 *
 * A malformed program stops the decoding of that unit and the ones after
 * it; the rows read so far are kept and a warning says why. */
#include "dwarf.h"

#include <pthread.h>

enum {
  DW_LNS_copy = 1, DW_LNS_advance_pc, DW_LNS_advance_line, DW_LNS_set_file, DW_LNS_set_column,
  DW_LNS_negate_stmt, DW_LNS_set_basic_block, DW_LNS_const_add_pc, DW_LNS_fixed_advance_pc,
  DW_LNS_set_prologue_end, DW_LNS_set_epilogue_begin, DW_LNS_set_isa,
  DW_LNE_end_sequence = 1, DW_LNE_set_address = 2, DW_LNE_define_file = 3,
  DW_LNCT_path = 1, DW_LNCT_directory_index = 2,
  DW_FORM_block2 = 0x03, DW_FORM_block4 = 0x04, DW_FORM_data2 = 0x05, DW_FORM_data4 = 0x06,
  DW_FORM_data8 = 0x07, DW_FORM_string = 0x08, DW_FORM_block = 0x09, DW_FORM_block1 = 0x0a,
  DW_FORM_data1 = 0x0b, DW_FORM_sdata = 0x0d, DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f,
  DW_FORM_data16 = 0x1e, DW_FORM_line_strp = 0x1f,
};

void wp_dwarf_free(struct wp_dwarf *d) {
  if (!d) return;
  for (uint32_t i = 0; i < d->nfiles; i++) free(d->files[i]);
  free(d->files);
  free(d->rows);
  free(d->units);
  wp_dwarf_free_scopes(d);
  free(d);
}

/* ---- state ---- */

typedef struct ctx {
  struct wp_dwarf *d;
  section line_str, str;
} ctx;

static bool add_row(struct wp_dwarf *d, line_row row) {
  if (d->nrows == d->cap && !wp_grow((void **)&d->rows, &d->cap, d->nrows + 1, sizeof *d->rows)) return false;
  row.order = d->nrows;
  d->rows[d->nrows++] = row;
  return true;
}

/* add_file: dir + "/" + name (name alone when absolute or without a dir). */
static int64_t add_file(struct wp_dwarf *d, const char *dir, const char *name) {
  size_t nd = dir && name[0] != '/' ? strlen(dir) : 0, nn = strlen(name);
  char *s = malloc(nd + 1 + nn + 1);
  if (!s) return -1;
  size_t k = 0;
  if (nd) {
    memcpy(s, dir, nd);
    k = nd;
    if (s[k - 1] != '/') s[k++] = '/';
  }
  memcpy(s + k, name, nn + 1);
  wp_path_tidy(s);
  if (d->nfiles == d->files_cap && !wp_grow((void **)&d->files, &d->files_cap, d->nfiles + 1, sizeof *d->files)) {
    free(s);
    return -1;
  }
  d->files[d->nfiles] = s;
  return d->nfiles++;
}

/* string_at: a NUL-terminated string at off in a string section, or NULL. */
static const char *string_at(section s, uint64_t off) {
  if (!s.data || off >= s.len || !memchr(s.data + off, 0, s.len - off)) return NULL;
  return (const char *)s.data + off;
}

/* read_form: one attribute value of a DWARF 5 entry format: either a string
 * (*str) or a number (*num). */
static bool read_form(ctx *x, cursor *c, uint64_t form, unsigned offset_size, const char **str, uint64_t *num) {
  *str = NULL;
  *num = 0;
  switch (form) {
  case DW_FORM_string: *str = rd_cstr(c); break;
  case DW_FORM_line_strp: *str = string_at(x->line_str, rd_fixed(c, offset_size)); break;
  case DW_FORM_strp: *str = string_at(x->str, rd_fixed(c, offset_size)); break;
  case DW_FORM_udata: *num = rd_uleb(c); break;
  case DW_FORM_sdata: *num = (uint64_t)rd_sleb(c); break;
  case DW_FORM_data1: *num = rd_fixed(c, 1); break;
  case DW_FORM_data2: *num = rd_fixed(c, 2); break;
  case DW_FORM_data4: *num = rd_fixed(c, 4); break;
  case DW_FORM_data8: *num = rd_fixed(c, 8); break;
  case DW_FORM_data16: skip(c, 16); break;
  case DW_FORM_block: skip(c, rd_uleb(c)); break;
  case DW_FORM_block1: skip(c, rd_fixed(c, 1)); break;
  case DW_FORM_block2: skip(c, rd_fixed(c, 2)); break;
  case DW_FORM_block4: skip(c, rd_fixed(c, 4)); break;
  default: return false;
  }
  return !c->bad;
}

#define MAX_DIRS 4096u

/* read_v5_entries: a DWARF 5 directory or file-name table; for each entry,
 * its path and directory index.  Files are added to d->files as they come
 * (dirs[] must be filled first); returns the entry count or -1. */
static int64_t read_v5_entries(ctx *x, cursor *c, unsigned offset_size, const char **dirs, uint32_t ndirs,
                               const char **dirs_out, uint32_t *file_ids) {
  uint8_t nformats = (uint8_t)rd_fixed(c, 1);
  uint64_t types[32], forms[32];
  if (nformats > 32) return -1;
  for (unsigned i = 0; i < nformats; i++) {
    types[i] = rd_uleb(c);
    forms[i] = rd_uleb(c);
  }
  uint64_t n = rd_uleb(c);
  if (c->bad || n > MAX_DIRS) return -1;
  for (uint64_t e = 0; e < n; e++) {
    const char *path = "";
    uint64_t dir = 0;
    for (unsigned i = 0; i < nformats; i++) {
      const char *s;
      uint64_t v;
      if (!read_form(x, c, forms[i], offset_size, &s, &v)) return -1;
      if (types[i] == DW_LNCT_path && s) path = s;
      if (types[i] == DW_LNCT_directory_index) dir = v;
    }
    if (dirs_out) {
      dirs_out[e] = path;
    } else {
      int64_t id = add_file(x->d, dir < ndirs ? dirs[dir] : NULL, path);
      if (id < 0) return -1;
      file_ids[e] = (uint32_t)id;
    }
  }
  return (int64_t)n;
}

/* stop_unit: a malformed unit is not an error (the module is fine, and the
 * rows read so far stay usable), so it is a warning, not a wp_error; the
 * units after it are not read. */
static bool stop_unit(ctx *x, uint32_t unit_off, const char *why) {
  snprintf(x->d->warning, sizeof x->d->warning, ".debug_line: unit at 0x%x: %s; later units ignored",
           (unsigned)unit_off, why);
  return false;
}

/* decode_unit: one line-number program (header and opcodes). */
static bool decode_unit(ctx *x, cursor *all, uint32_t unit_off) {
  struct wp_dwarf *d = x->d;
  unsigned offset_size = 4;
  uint64_t unit_length = rd_fixed(all, 4);
  if (unit_length == 0xffffffffu) {
    offset_size = 8;
    unit_length = rd_fixed(all, 8);
  }
  if (all->bad || unit_length > (uint64_t)(all->end - all->p)) return stop_unit(x, unit_off, "length past the section");
  cursor c = {all->p, all->p + unit_length, false};
  all->p = c.end;

  unsigned version = (unsigned)rd_fixed(&c, 2);
  if (version < 2 || version > 5) return stop_unit(x, unit_off, "unsupported version");
  unsigned address_size = 4;
  if (version >= 5) {
    address_size = (unsigned)rd_fixed(&c, 1);
    rd_fixed(&c, 1); /* segment selector size */
  }
  uint64_t header_length = rd_fixed(&c, offset_size);
  if (c.bad || header_length > (uint64_t)(c.end - c.p)) return stop_unit(x, unit_off, "header past the unit");
  const uint8_t *program = c.p + header_length;
  unsigned min_inst = (unsigned)rd_fixed(&c, 1);
  if (version >= 4) rd_fixed(&c, 1); /* maximum_operations_per_instruction: 1 outside VLIW */
  bool default_is_stmt = rd_fixed(&c, 1) != 0;
  int line_base = (int8_t)rd_fixed(&c, 1);
  unsigned line_range = (unsigned)rd_fixed(&c, 1);
  unsigned opcode_base = (unsigned)rd_fixed(&c, 1);
  if (c.bad || line_range == 0 || opcode_base == 0) return stop_unit(x, unit_off, "bad header");
  uint8_t std_lengths[256] = {0};
  for (unsigned i = 1; i < opcode_base; i++) std_lengths[i] = (uint8_t)rd_fixed(&c, 1);

  /* File table: file_ids maps this unit's file numbers to d->files. */
  const char *dirs[MAX_DIRS];
  uint32_t ndirs = 0;
  uint32_t *file_ids = NULL;
  uint32_t nfiles = 0, files_cap = 0, file_base;
  bool ok = false;
  if (version >= 5) {
    int64_t n = read_v5_entries(x, &c, offset_size, NULL, 0, dirs, NULL);
    if (n < 0) return stop_unit(x, unit_off, "bad directory table");
    ndirs = (uint32_t)n;
    file_ids = wp_calloc(MAX_DIRS, sizeof *file_ids);
    if (!file_ids) return stop_unit(x, unit_off, "out of memory");
    n = read_v5_entries(x, &c, offset_size, dirs, ndirs, NULL, file_ids);
    if (n < 0) {
      free(file_ids);
      return stop_unit(x, unit_off, "bad file table");
    }
    nfiles = (uint32_t)n;
    file_base = 0; /* DWARF 5 numbers files from 0 */
  } else {
    dirs[ndirs++] = NULL; /* directory 0: the compilation directory, not in this header */
    for (;;) {
      const char *s = rd_cstr(&c);
      if (c.bad || !*s) break;
      if (ndirs == MAX_DIRS) return stop_unit(x, unit_off, "too many directories");
      dirs[ndirs++] = s;
    }
    for (;;) {
      const char *name = rd_cstr(&c);
      if (c.bad || !*name) break;
      uint64_t dir = rd_uleb(&c);
      rd_uleb(&c); /* mtime */
      rd_uleb(&c); /* length */
      int64_t id = add_file(d, dir < ndirs ? dirs[dir] : NULL, name);
      if (id < 0 || (nfiles == files_cap && !wp_grow((void **)&file_ids, &files_cap, nfiles + 1, sizeof *file_ids))) {
        free(file_ids);
        return stop_unit(x, unit_off, "out of memory");
      }
      file_ids[nfiles++] = (uint32_t)id;
    }
    file_base = 1;
  }
  if (c.bad) {
    free(file_ids);
    return stop_unit(x, unit_off, "bad file table");
  }
  if (d->nunits == d->units_cap && !wp_grow((void **)&d->units, &d->units_cap, d->nunits + 1, sizeof *d->units)) {
    free(file_ids);
    return stop_unit(x, unit_off, "out of memory");
  }
  d->units[d->nunits++] = (dwarf_unit_files){unit_off, nfiles ? file_ids[0] : d->nfiles, nfiles, file_base};

  /* The program. */
  c.p = program;
  uint64_t address = 0;
  uint64_t file = 1, line = 1, column = 0;
  bool is_stmt = default_is_stmt;
  uint32_t seq_first = d->nrows; /* rows of the current sequence start here */
  bool seq_dead = false;
  (void)is_stmt;
#define EMIT(end)                                                                                       \
  do {                                                                                                  \
    uint64_t fi = file - file_base;                                                                     \
    /* at or past 2^32 (the end of a sequence reaching the top): the highest address, not wrapped */ \
    uint32_t at = address > UINT32_MAX ? UINT32_MAX : (uint32_t)address;                                \
    line_row row = {.addr = at, .line = (uint32_t)line, .column = (uint32_t)column,                     \
                    .file = fi < nfiles ? file_ids[fi] : UINT32_MAX, .end_sequence = (end)};            \
    if (d->nrows == seq_first && (address == 0 || address >= 0xfffffff0u)) seq_dead = true;             \
    if (!add_row(d, row)) goto oom;                                                                     \
  } while (0)
  while (c.p < c.end && !c.bad) {
    unsigned op = (unsigned)rd_fixed(&c, 1);
    if (op >= opcode_base) {
      unsigned adj = op - opcode_base;
      address += (uint64_t)(adj / line_range) * min_inst;
      line += (int64_t)line_base + (int64_t)(adj % line_range);
      EMIT(false);
      continue;
    }
    switch (op) {
    case 0: {
      uint64_t len = rd_uleb(&c);
      if (c.bad || len == 0 || len > (uint64_t)(c.end - c.p)) goto bad;
      const uint8_t *next = c.p + len;
      unsigned sub = (unsigned)rd_fixed(&c, 1);
      if (sub == DW_LNE_end_sequence) {
        EMIT(true);
        if (seq_dead) d->nrows = seq_first; /* a function the linker discarded */
        seq_first = d->nrows;
        seq_dead = false;
        address = 0;
        file = 1;
        line = 1;
        column = 0;
        is_stmt = default_is_stmt;
      } else if (sub == DW_LNE_set_address) {
        unsigned n = (unsigned)(len - 1);
        if (n == 0 || n > 8) goto bad;
        address = rd_fixed(&c, n);
        (void)address_size;
      }
      /* DW_LNE_define_file (DWARF <= 4, unused by clang), set_discriminator, vendor: skipped */
      c.p = next;
      break;
    }
    case DW_LNS_copy: EMIT(false); break;
    case DW_LNS_advance_pc: address += rd_uleb(&c) * min_inst; break;
    case DW_LNS_advance_line: line += (uint64_t)rd_sleb(&c); break;
    case DW_LNS_set_file: file = rd_uleb(&c); break;
    case DW_LNS_set_column: column = rd_uleb(&c); break;
    case DW_LNS_negate_stmt: is_stmt = !is_stmt; break;
    case DW_LNS_set_basic_block: break;
    case DW_LNS_const_add_pc: address += (uint64_t)((255 - opcode_base) / line_range) * min_inst; break;
    case DW_LNS_fixed_advance_pc: address += rd_fixed(&c, 2); break;
    case DW_LNS_set_prologue_end: break;
    case DW_LNS_set_epilogue_begin: break;
    default: /* set_isa and opcodes unknown to us: skip their ULEB128 operands */
      for (unsigned i = 0; i < std_lengths[op]; i++) rd_uleb(&c);
      break;
    }
  }
#undef EMIT
  if (c.bad) goto bad;
  d->nrows = seq_first; /* rows after the last end_sequence belong to no sequence */
  ok = true;
  free(file_ids);
  return ok;
bad:
  d->nrows = seq_first;
  free(file_ids);
  return stop_unit(x, unit_off, "malformed line program");
oom:
  d->nrows = seq_first;
  free(file_ids);
  return stop_unit(x, unit_off, "out of memory");
}

static int cmp_row(const void *a, const void *b) {
  const line_row *x = a, *y = b;
  if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
  /* At one address, an end of sequence sorts first: the sequence that
   * starts there wins the lookup. */
  if (x->end_sequence != y->end_sequence) return x->end_sequence ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

bool wp_dwarf_find_custom(const wp_module *m, const char *name, section *out) {
  size_t n = strlen(name);
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const wp_custom_desc *c = &m->customs[i];
    if (c->name_len == n && memcmp(c->name, name, n) == 0) {
      *out = (section){m->bytes + c->data_start, c->data_len};
      return true;
    }
  }
  return false;
}

static struct wp_dwarf *dwarf_read(const wp_module *m);

/* dwarf_lock: guards building a module's tables (once per module); the
 * result is published atomically, so threads sharing a module may look
 * lines up at once. */
static pthread_mutex_t dwarf_lock = PTHREAD_MUTEX_INITIALIZER;

static struct wp_dwarf *dwarf_get(const wp_module *cm) {
  wp_module *m = (wp_module *)cm; /* lazy cache: logically const */
  struct wp_dwarf *d = atomic_load_explicit(&m->dwarf, memory_order_acquire);
  if (d) return d;
  pthread_mutex_lock(&dwarf_lock);
  d = atomic_load_explicit(&m->dwarf, memory_order_relaxed);
  if (!d && (d = dwarf_read(m)) != NULL) atomic_store_explicit(&m->dwarf, d, memory_order_release);
  pthread_mutex_unlock(&dwarf_lock);
  return d;
}

static struct wp_dwarf *dwarf_read(const wp_module *m) {
  struct wp_dwarf *d = wp_calloc(1, sizeof *d);
  if (!d) return NULL;
  ctx x = {.d = d};
  section line;
  if (wp_dwarf_find_custom(m, ".debug_line", &line)) {
    wp_dwarf_find_custom(m, ".debug_line_str", &x.line_str);
    wp_dwarf_find_custom(m, ".debug_str", &x.str);
    cursor all = {line.data, line.data + line.len, false};
    while (all.p < all.end)
      if (!decode_unit(&x, &all, (uint32_t)(all.p - line.data))) break;
    if (d->nrows) qsort(d->rows, d->nrows, sizeof *d->rows, cmp_row);
  }
  wp_dwarf_read_scopes(m, d);
  return d;
}

/* line_at: the line-table row for a Code-relative address. */
static bool line_at(const struct wp_dwarf *d, uint32_t addr, wp_source_location *out) {
  uint32_t lo = 0, hi = d->nrows; /* first row with addr > target */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (d->rows[mid].addr <= addr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return false;
  const line_row *r = &d->rows[lo - 1];
  if (r->end_sequence || r->line == 0 || r->file == UINT32_MAX) return false;
  *out = (wp_source_location){.file = d->files[r->file], .line = r->line, .column = r->column};
  return true;
}

bool wp_module_source_location(const wp_module *m, uint32_t offset, wp_source_location *out) {
  struct wp_dwarf *d = m ? dwarf_get(m) : NULL;
  if (!d || offset < m->code_section_start) return false;
  uint32_t addr = offset - m->code_section_start;
  if (!line_at(d, addr, out)) return false;
  wp_source_frame f;
  if (wp_dwarf_source_frames(d, addr, out, &f, 1)) out->function = f.function;
  return true;
}

uint32_t wp_module_source_frames(const wp_module *m, uint32_t offset, wp_source_frame *out, uint32_t max) {
  struct wp_dwarf *d = m ? dwarf_get(m) : NULL;
  if (!d || offset < m->code_section_start) return 0;
  uint32_t addr = offset - m->code_section_start;
  wp_source_location line;
  bool has_line = line_at(d, addr, &line);
  return wp_dwarf_source_frames(d, addr, has_line ? &line : NULL, out, max);
}

bool wp_module_func_decl(const wp_module *m, uint32_t func, wp_source_location *out) {
  struct wp_dwarf *d = m ? dwarf_get(m) : NULL;
  if (!d || func < m->nfuncs_imported || func >= m->nfuncs) return false;
  uint32_t code = m->bodies[func - m->nfuncs_imported].code_start;
  if (code < m->code_section_start) return false;
  *out = (wp_source_location){.file = NULL, .line = 0, .column = 0, .function = NULL};
  return wp_dwarf_func_decl(d, code - m->code_section_start, &out->file, &out->line);
}

const char *wp_module_dwarf_warning(const wp_module *m) {
  struct wp_dwarf *d = m ? dwarf_get(m) : NULL;
  if (!d) return m ? ".debug_line ignored: out of memory" : NULL;
  return d->warning[0] ? d->warning : d->info_warning[0] ? d->info_warning : NULL;
}
