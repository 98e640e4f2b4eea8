/* decode.c: the binary format -> wp_module.
 *
 * Checks everything the binary format itself requires: the header, section
 * ids, order and sizes, LEB128 limits, UTF-8 names, the encodings of types,
 * imports, exports, segments and code entries, and the counts that must
 * agree across sections.  It checks no types and no indices: an index out
 * of range is a validation error ("unknown type", ...) that validate.c
 * reports.  Function bodies are only sized (and their locals read); their
 * instructions are decoded by the validator's walk.  Constant expressions
 * are walked just far enough to find their end.
 *
 * Each section is read through a reader bounded by the section, so running
 * off its end is "unexpected end of section or function" and leftover bytes
 * are "section size mismatch".
 *
 * Defensive allocation: every vector element takes at least one byte, so a
 * count larger than the bytes left in its section is refused before anything
 * is allocated; a small module cannot make us allocate much.
 */
#include "module.h"

/* An implementation limit on declared locals per function (the limit the
 * JS API and the major engines use), so a tiny body cannot declare 2^32-1
 * locals and make us allocate gigabytes. */
#define WP_MAX_LOCALS 50000u

enum {
  SEC_CUSTOM = 0, SEC_TYPE = 1, SEC_IMPORT = 2, SEC_FUNCTION = 3, SEC_TABLE = 4,
  SEC_MEMORY = 5, SEC_GLOBAL = 6, SEC_EXPORT = 7, SEC_START = 8, SEC_ELEMENT = 9,
  SEC_CODE = 10, SEC_DATA = 11, SEC_DATACOUNT = 12,
};

typedef struct decoder {
  wp_module *m;
  wp_error *err;
  bool has_function_section, has_code_section, has_data_section;
  uint32_t ncustoms_cap;
} decoder;

/* ---- helpers ------------------------------------------------------------- */

static int nomem(decoder *d, const wp_reader *r) {
  return wp_error_set(d->err, WP_ERR_NOMEM, wp_reader_offset(r), "out of memory");
}

static uint32_t end_offset(const wp_reader *r) { return (uint32_t)(r->end - r->base); }
static uint32_t bytes_left(const wp_reader *r) { return (uint32_t)(r->end - r->pos); }

/* read_count: a vector length, refused when the rest of the range could
 * not hold that many elements of at least one byte each. */
static int read_count(decoder *d, wp_reader *r, uint32_t *n) {
  WP_TRY(wp_read_u32(r, n, d->err));
  if (*n > bytes_left(r))
    return wp_error_set(d->err, WP_ERR_DECODE, end_offset(r),
                        "unexpected end of section or function: expected room for %u elements, %u bytes left",
                        *n, bytes_left(r));
  return 0;
}

/* extend: arr (holding `have` elements) resized to have + add, the new
 * elements zeroed; NULL on overflow or OOM (arr is then untouched). */
static void *extend(void *arr, uint32_t have, uint32_t add, size_t elem) {
  uint64_t n = (uint64_t)have + add;
  if (n > UINT32_MAX || n > SIZE_MAX / elem)
    return NULL;
  uint8_t *p = realloc(arr, n ? (size_t)n * elem : 1);
  if (p != NULL)
    memset(p + (size_t)have * elem, 0, (size_t)add * elem);
  return p;
}

static int read_valtype(decoder *d, wp_reader *r, uint8_t *out) {
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_u8(r, out, d->err));
  if (!wp_valtype_valid(*out))
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "malformed value type: expected " WP_VALTYPE_BYTES ", found 0x%02x", *out);
  return 0;
}

static int read_reftype(decoder *d, wp_reader *r, uint8_t *out) {
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_u8(r, out, d->err));
  if (*out != WP_FUNCREF && *out != WP_EXTERNREF)
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "malformed reference type: expected " WP_REFTYPE_BYTES ", found 0x%02x", *out);
  return 0;
}

/* limits: a flag (0: min only, 1: min and max), read like the spec's
 * one-bit LEB128, so that 0x02 is "too large" and 0x81 0x00 "too long". */
static int read_limits(decoder *d, wp_reader *r, wp_limits *lim) {
  uint32_t at = wp_reader_offset(r);
  uint8_t flag;
  WP_TRY(wp_read_u8(r, &flag, d->err));
  if ((flag & 0x7f) > 1)
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "integer too large: expected limits flag 0 (no maximum) or 1 (a maximum), found 0x%02x", flag);
  if (flag & 0x80)
    return wp_error_set(d->err, WP_ERR_DECODE, at + 1,
                        "integer representation too long: expected a one-byte limits flag, found 0x%02x", flag);
  lim->has_max = flag == 1;
  lim->max = 0;
  WP_TRY(wp_read_u32(r, &lim->min, d->err));
  return lim->has_max ? wp_read_u32(r, &lim->max, d->err) : 0;
}

static int read_tabletype(decoder *d, wp_reader *r, wp_tabletype *t) {
  WP_TRY(read_reftype(d, r, &t->elemtype));
  return read_limits(d, r, &t->limits);
}

static int read_globaltype(decoder *d, wp_reader *r, wp_globaltype *g) {
  uint8_t mut;
  WP_TRY(read_valtype(d, r, &g->valtype));
  WP_TRY(wp_read_u8(r, &mut, d->err));
  if (mut > 1)
    return wp_error_set(d->err, WP_ERR_DECODE, wp_reader_offset(r) - 1,
                        "malformed mutability: expected 0 (const) or 1 (var), found 0x%02x", mut);
  g->mutable_ = mut == 1;
  return 0;
}

/* read_constexpr: skip a constant expression, recording its byte range.
 * Any instruction is accepted here (validate.c decides which are constant);
 * nested blocks are tracked so that the `end` found is the matching one. */
static int read_constexpr(decoder *d, wp_reader *r, wp_constexpr *e) {
  e->start = wp_reader_offset(r);
  uint32_t depth = 0;
  for (;;) {
    wp_opcode op;
    wp_imm imm;
    WP_TRY(wp_read_opcode(r, &op, d->err));
    WP_TRY(wp_read_immediates(r, op, &imm, d->err));
    if (op == WP_OP_block || op == WP_OP_loop || op == WP_OP_if) {
      depth++;
    } else if (op == WP_OP_end) {
      if (depth == 0)
        break;
      depth--;
    }
  }
  e->end = wp_reader_offset(r);
  return 0;
}

/* ---- sections ------------------------------------------------------------ */

/* functype: 0x60, then vectors of parameter and result types.  The form is
 * an s7 in the reference interpreter: a continuation bit there makes it
 * "integer representation too long". */
static int read_functype(decoder *d, wp_reader *r, wp_functype *t) {
  uint32_t at = wp_reader_offset(r);
  uint8_t form;
  WP_TRY(wp_read_u8(r, &form, d->err));
  if (form & 0x80)
    return wp_error_set(d->err, WP_ERR_DECODE, at + 1,
                        "integer representation too long: expected a one-byte functype form, found 0x%02x", form);
  if (form != 0x60)
    return wp_error_set(d->err, WP_ERR_DECODE, at, "malformed functype: expected 0x60, found 0x%02x", form);
  const uint8_t *vec[2];
  uint32_t n[2];
  for (int k = 0; k < 2; k++) {
    WP_TRY(read_count(d, r, &n[k]));
    vec[k] = r->pos;
    for (uint32_t i = 0; i < n[k]; i++) {
      uint8_t vt;
      WP_TRY(read_valtype(d, r, &vt));
    }
  }
  t->types = wp_calloc((size_t)n[0] + n[1], 1);
  if (t->types == NULL)
    return nomem(d, r);
  memcpy(t->types, vec[0], n[0]);
  memcpy(t->types + n[0], vec[1], n[1]);
  t->nparams = n[0];
  t->nresults = n[1];
  return 0;
}

static int parse_types(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  if ((m->types = wp_calloc(n, sizeof *m->types)) == NULL || (m->type_offsets = wp_calloc(n, sizeof(uint32_t))) == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    m->type_offsets[i] = wp_reader_offset(r);
    WP_TRY(read_functype(d, r, &m->types[i]));
    m->ntypes = i + 1; /* so that release frees what was read */
  }
  return 0;
}

static int read_import(decoder *d, wp_reader *r, wp_import_desc *imp) {
  wp_module *m = d->m;
  imp->offset = wp_reader_offset(r);
  WP_TRY(wp_read_name(r, &imp->module, &imp->module_len, d->err));
  WP_TRY(wp_read_name(r, &imp->name, &imp->name_len, d->err));
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_u8(r, &imp->kind, d->err));
  switch (imp->kind) {
  case WP_EXTERN_FUNC:
    imp->index = m->nfuncs_imported++;
    return wp_read_u32(r, &imp->u.typeidx, d->err);
  case WP_EXTERN_TABLE:
    imp->index = m->ntables_imported++;
    return read_tabletype(d, r, &imp->u.table);
  case WP_EXTERN_MEMORY:
    imp->index = m->nmems_imported++;
    return read_limits(d, r, &imp->u.memory);
  case WP_EXTERN_GLOBAL:
    imp->index = m->nglobals_imported++;
    return read_globaltype(d, r, &imp->u.global);
  default:
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "malformed import kind: expected 0 (func), 1 (table), 2 (memory) or 3 (global), found 0x%02x",
                        imp->kind);
  }
}

/* The index spaces start with the imports: allocate them once all imports
 * are known, and fill in the imported entries. */
static int build_import_spaces(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  m->func_types = wp_calloc(m->nfuncs_imported, sizeof *m->func_types);
  m->tables = wp_calloc(m->ntables_imported, sizeof *m->tables);
  m->mems = wp_calloc(m->nmems_imported, sizeof *m->mems);
  m->globals = wp_calloc(m->nglobals_imported, sizeof *m->globals);
  m->table_offsets = wp_calloc(m->ntables_imported, sizeof(uint32_t));
  m->mem_offsets = wp_calloc(m->nmems_imported, sizeof(uint32_t));
  if (!m->func_types || !m->tables || !m->mems || !m->globals || !m->table_offsets || !m->mem_offsets)
    return nomem(d, r);
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wp_import_desc *imp = &m->imports[i];
    switch (imp->kind) {
    case WP_EXTERN_FUNC: m->func_types[imp->index] = imp->u.typeidx; break;
    case WP_EXTERN_TABLE:
      m->tables[imp->index] = imp->u.table;
      m->table_offsets[imp->index] = imp->offset;
      break;
    case WP_EXTERN_MEMORY:
      m->mems[imp->index] = imp->u.memory;
      m->mem_offsets[imp->index] = imp->offset;
      break;
    case WP_EXTERN_GLOBAL: m->globals[imp->index].type = imp->u.global; break;
    }
  }
  m->nfuncs = m->nfuncs_imported;
  m->ntables = m->ntables_imported;
  m->nmems = m->nmems_imported;
  m->nglobals = m->nglobals_imported;
  return 0;
}

static int parse_imports(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  if ((m->imports = wp_calloc(n, sizeof *m->imports)) == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    WP_TRY(read_import(d, r, &m->imports[i]));
    m->nimports = i + 1;
  }
  return build_import_spaces(d, r);
}

static int parse_functions(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  uint32_t *p = extend(m->func_types, m->nfuncs, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->func_types = p;
  for (uint32_t i = 0; i < n; i++)
    WP_TRY(wp_read_u32(r, &p[m->nfuncs + i], d->err));
  m->nfuncs += n;
  d->has_function_section = true;
  return 0;
}

static int parse_tables(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  wp_tabletype *p = extend(m->tables, m->ntables, n, sizeof *p);
  if (p != NULL)
    m->tables = p;
  uint32_t *at = extend(m->table_offsets, m->ntables, n, sizeof *at);
  if (at != NULL)
    m->table_offsets = at;
  if (p == NULL || at == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    at[m->ntables + i] = wp_reader_offset(r);
    WP_TRY(read_tabletype(d, r, &p[m->ntables + i]));
  }
  m->ntables += n;
  return 0;
}

static int parse_memories(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  wp_limits *p = extend(m->mems, m->nmems, n, sizeof *p);
  if (p != NULL)
    m->mems = p;
  uint32_t *at = extend(m->mem_offsets, m->nmems, n, sizeof *at);
  if (at != NULL)
    m->mem_offsets = at;
  if (p == NULL || at == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    at[m->nmems + i] = wp_reader_offset(r);
    WP_TRY(read_limits(d, r, &p[m->nmems + i]));
  }
  m->nmems += n;
  return 0;
}

static int parse_globals(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  wp_global_desc *p = extend(m->globals, m->nglobals, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->globals = p;
  for (uint32_t i = 0; i < n; i++) {
    wp_global_desc *g = &p[m->nglobals + i];
    WP_TRY(read_globaltype(d, r, &g->type));
    WP_TRY(read_constexpr(d, r, &g->init));
  }
  m->nglobals += n;
  return 0;
}

static int parse_exports(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  if ((m->exports = wp_calloc(n, sizeof *m->exports)) == NULL)
    return nomem(d, r);
  m->nexports = n;
  for (uint32_t i = 0; i < n; i++) {
    wp_export_desc *e = &m->exports[i];
    e->offset = wp_reader_offset(r);
    WP_TRY(wp_read_name(r, &e->name, &e->name_len, d->err));
    uint32_t at = wp_reader_offset(r);
    WP_TRY(wp_read_u8(r, &e->kind, d->err));
    if (e->kind > WP_EXTERN_GLOBAL)
      return wp_error_set(d->err, WP_ERR_DECODE, at,
                          "malformed export kind: expected 0 (func), 1 (table), 2 (memory) or 3 (global), found 0x%02x",
                          e->kind);
    WP_TRY(wp_read_u32(r, &e->index, d->err));
  }
  return 0;
}

static int parse_start(decoder *d, wp_reader *r) {
  d->m->has_start = true;
  d->m->start_offset = wp_reader_offset(r);
  return wp_read_u32(r, &d->m->start, d->err);
}

/* ---- element segments ---------------------------------------------------- */

/* Element segment flags (Wasm 2.0):
 *   bit 0: passive or declarative (else active)
 *   bit 1: active with an explicit table index (if bit 0 clear),
 *          declarative (if bit 0 set)
 *   bit 2: elements are expressions with a reference type (else function
 *          indices with an element kind; both absent for active table 0) */
static int read_elem_items(decoder *d, wp_reader *r, wp_elem_desc *e, bool exprs) {
  WP_TRY(read_count(d, r, &e->count));
  if (exprs) {
    if ((e->exprs = wp_calloc(e->count, sizeof *e->exprs)) == NULL)
      return nomem(d, r);
    for (uint32_t i = 0; i < e->count; i++)
      WP_TRY(read_constexpr(d, r, &e->exprs[i]));
  } else {
    if ((e->funcs = wp_calloc(e->count, sizeof *e->funcs)) == NULL)
      return nomem(d, r);
    for (uint32_t i = 0; i < e->count; i++)
      WP_TRY(wp_read_u32(r, &e->funcs[i], d->err));
  }
  return 0;
}

static int read_elem(decoder *d, wp_reader *r, wp_elem_desc *e) {
  e->entry_offset = wp_reader_offset(r);
  uint32_t flags;
  WP_TRY(wp_read_u32(r, &flags, d->err));
  if (flags > 7)
    return wp_error_set(d->err, WP_ERR_DECODE, e->entry_offset,
                        "malformed elements segment kind: expected flags 0..7, found %u", flags);
  bool exprs = flags & 4;
  e->mode = !(flags & 1) ? WP_SEG_ACTIVE : (flags & 2) ? WP_SEG_DECLARATIVE : WP_SEG_PASSIVE;
  e->elemtype = WP_FUNCREF;
  if (e->mode == WP_SEG_ACTIVE) {
    if (flags & 2)
      WP_TRY(wp_read_u32(r, &e->table, d->err));
    WP_TRY(read_constexpr(d, r, &e->offset));
  }
  /* Only the active table-0 forms (flags 0 and 4) omit the type byte. */
  if (flags != 0 && flags != 4) {
    if (exprs) {
      WP_TRY(read_reftype(d, r, &e->elemtype));
    } else {
      uint32_t at = wp_reader_offset(r);
      uint8_t kind;
      WP_TRY(wp_read_u8(r, &kind, d->err));
      if (kind != 0x00)
        return wp_error_set(d->err, WP_ERR_DECODE, at,
                            "malformed element kind: expected 0x00 (funcref), found 0x%02x", kind);
    }
  }
  return read_elem_items(d, r, e, exprs);
}

static int parse_elements(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  WP_TRY(read_count(d, r, &n));
  if ((m->elems = wp_calloc(n, sizeof *m->elems)) == NULL)
    return nomem(d, r);
  m->nelems = n;
  for (uint32_t i = 0; i < n; i++)
    WP_TRY(read_elem(d, r, &m->elems[i]));
  return 0;
}

/* ---- data segments ------------------------------------------------------- */

static int parse_datacount(decoder *d, wp_reader *r) {
  d->m->has_datacount = true;
  return wp_read_u32(r, &d->m->datacount, d->err);
}

/* Data segment flags: 0 active memory 0, 1 passive, 2 active with an
 * explicit memory index. */
static int read_data(decoder *d, wp_reader *r, wp_data_desc *s) {
  s->entry_offset = wp_reader_offset(r);
  uint32_t flags;
  WP_TRY(wp_read_u32(r, &flags, d->err));
  if (flags > 2)
    return wp_error_set(d->err, WP_ERR_DECODE, s->entry_offset,
                        "malformed data segment kind: expected flags 0, 1 or 2, found %u", flags);
  s->mode = flags == 1 ? WP_SEG_PASSIVE : WP_SEG_ACTIVE;
  if (flags == 2)
    WP_TRY(wp_read_u32(r, &s->memory, d->err));
  if (flags != 1)
    WP_TRY(read_constexpr(d, r, &s->offset));
  const uint8_t *bytes;
  WP_TRY(wp_read_u32(r, &s->data_len, d->err));
  WP_TRY(wp_read_bytes(r, s->data_len, &bytes, d->err));
  s->data_start = (uint32_t)(bytes - r->base);
  return 0;
}

static int parse_data(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t at = wp_reader_offset(r), n;
  WP_TRY(read_count(d, r, &n));
  if (m->has_datacount && n != m->datacount)
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "data count and data section have inconsistent lengths: expected %u segments, found %u",
                        m->datacount, n);
  if ((m->datas = wp_calloc(n, sizeof *m->datas)) == NULL)
    return nomem(d, r);
  m->ndatas = n;
  d->has_data_section = true;
  for (uint32_t i = 0; i < n; i++)
    WP_TRY(read_data(d, r, &m->datas[i]));
  return 0;
}

/* ---- code ---------------------------------------------------------------- */

/* Parameter and local type lists are mostly a few bytes, for which a call
 * to memcpy or memset costs more than the bytes (once per function). */
static void copy_types(uint8_t *out, const uint8_t *in, uint32_t n) {
  if (n > 16) {
    memcpy(out, in, n);
    return;
  }
  for (uint32_t i = 0; i < n; i++)
    out[i] = in[i];
}

static void fill_types(uint8_t *out, uint8_t vt, uint32_t n) {
  if (n > 16) {
    memset(out, vt, n);
    return;
  }
  for (uint32_t i = 0; i < n; i++)
    out[i] = vt;
}

/* read_locals: the local declarations of one body (a vector of
 * (count, type)), into body->local_types after the parameters.
 * The parameters come from the function's type; when its type index is out
 * of range (a validation error, "unknown type", that validate.c reports),
 * local_types holds the declared locals only. */
static int read_locals(decoder *d, wp_reader *r, uint32_t func, wp_func_body *body) {
  wp_module *m = d->m;
  uint32_t typeidx = m->func_types[func];
  uint32_t nparams = typeidx < m->ntypes ? m->types[typeidx].nparams : 0;
  uint32_t ndecls;
  WP_TRY(read_count(d, r, &ndecls));
  /* First pass: check the declarations and count the locals. */
  const uint8_t *decls = r->pos;
  uint64_t total = 0;
  for (uint32_t i = 0; i < ndecls; i++) {
    uint32_t count;
    uint8_t vt;
    WP_TRY(wp_read_u32(r, &count, d->err));
    total += count;
    if (total > WP_MAX_LOCALS)
      return wp_error_set(d->err, WP_ERR_DECODE, wp_reader_offset(r),
                          "too many locals: expected at most %u, found %llu so far",
                          WP_MAX_LOCALS, (unsigned long long)total);
    WP_TRY(read_valtype(d, r, &vt));
  }
  body->local_types = wp_arena_alloc(&m->local_arena, (size_t)nparams + total);
  if (body->local_types == NULL)
    return nomem(d, r);
  if (nparams > 0) /* (the type index may be out of range; then nparams is 0) */
    copy_types(body->local_types, m->types[typeidx].types, nparams);
  body->nlocals = (uint32_t)total;
  /* Second pass over the same (already checked) bytes to fill the types. */
  wp_reader again = {r->base, decls, r->pos};
  uint8_t *out = body->local_types + nparams;
  for (uint32_t i = 0; i < ndecls; i++) {
    uint32_t count;
    uint8_t vt;
    wp_read_u32(&again, &count, d->err);
    wp_read_u8(&again, &vt, d->err);
    fill_types(out, vt, count);
    out += count;
  }
  return 0;
}

static int read_body(decoder *d, wp_reader *r, uint32_t func, wp_func_body *body) {
  uint32_t size;
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_u32(r, &size, d->err));
  if (size > bytes_left(r))
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "length out of bounds: function body of %u bytes, %u left in the code section", size,
                        bytes_left(r));
  wp_reader b = {r->base, r->pos, r->pos + size};
  body->body_start = wp_reader_offset(&b);
  body->body_end = end_offset(&b);
  r->pos = b.end;
  WP_TRY(read_locals(d, &b, func, body));
  body->code_start = wp_reader_offset(&b);
  /* The instructions are decoded by the validator; the decoder only checks
   * that the expression can end where the body does. */
  if (b.pos == b.end)
    return wp_error_set(d->err, WP_ERR_DECODE, body->body_end,
                        "unexpected end of section or function: expected instructions and end (0x0b), found none");
  if (b.end[-1] != 0x0b) /* end */
    return wp_error_set(d->err, WP_ERR_DECODE, body->body_end - 1,
                        "END opcode expected: the function body's last byte is 0x%02x, not 0x0b", b.end[-1]);
  return 0;
}

static int parse_code(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t at = wp_reader_offset(r), n;
  WP_TRY(read_count(d, r, &n));
  if (n != m->nfuncs - m->nfuncs_imported)
    return wp_error_set(d->err, WP_ERR_DECODE, at,
                        "function and code section have inconsistent lengths: expected %u bodies, found %u",
                        m->nfuncs - m->nfuncs_imported, n);
  if ((m->bodies = wp_calloc(n, sizeof *m->bodies)) == NULL)
    return nomem(d, r);
  d->has_code_section = true;
  m->code_section_start = at;
  for (uint32_t i = 0; i < n; i++)
    WP_TRY(read_body(d, r, m->nfuncs_imported + i, &m->bodies[i]));
  return 0;
}

/* ---- custom sections ----------------------------------------------------- */

static int parse_custom(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  wp_custom_desc c;
  WP_TRY(wp_read_name(r, &c.name, &c.name_len, d->err));
  c.data_start = wp_reader_offset(r);
  c.data_len = (uint32_t)(r->end - r->pos);
  r->pos = r->end;
  void *arr = m->customs;
  if (!wp_grow(&arr, &d->ncustoms_cap, m->ncustoms + 1, sizeof c))
    return nomem(d, r);
  m->customs = arr;
  m->customs[m->ncustoms++] = c;
  return 0;
}

/* ---- the module ---------------------------------------------------------- */

static const char *const section_names[] = {
    [SEC_CUSTOM] = "custom", [SEC_TYPE] = "type",       [SEC_IMPORT] = "import", [SEC_FUNCTION] = "function",
    [SEC_TABLE] = "table",   [SEC_MEMORY] = "memory",   [SEC_GLOBAL] = "global", [SEC_EXPORT] = "export",
    [SEC_START] = "start",   [SEC_ELEMENT] = "element", [SEC_CODE] = "code",     [SEC_DATA] = "data",
    [SEC_DATACOUNT] = "data count",
};

/* section_rank: the position a section must appear in (custom sections
 * excepted); 0 for an unknown id.  The data count section (id 12) sits
 * between the element and code sections. */
static int section_rank(uint8_t id) {
  static const int8_t rank[] = {
      [SEC_CUSTOM] = 0,     [SEC_TYPE] = 1,    [SEC_IMPORT] = 2,    [SEC_FUNCTION] = 3,
      [SEC_TABLE] = 4,      [SEC_MEMORY] = 5,  [SEC_GLOBAL] = 6,    [SEC_EXPORT] = 7,
      [SEC_START] = 8,      [SEC_ELEMENT] = 9, [SEC_DATACOUNT] = 10, [SEC_CODE] = 11,
      [SEC_DATA] = 12,
  };
  return id < sizeof rank ? rank[id] : 0;
}

static int parse_section(decoder *d, uint8_t id, wp_reader *r) {
  switch (id) {
  case SEC_CUSTOM: return parse_custom(d, r);
  case SEC_TYPE: return parse_types(d, r);
  case SEC_IMPORT: return parse_imports(d, r);
  case SEC_FUNCTION: return parse_functions(d, r);
  case SEC_TABLE: return parse_tables(d, r);
  case SEC_MEMORY: return parse_memories(d, r);
  case SEC_GLOBAL: return parse_globals(d, r);
  case SEC_EXPORT: return parse_exports(d, r);
  case SEC_START: return parse_start(d, r);
  case SEC_ELEMENT: return parse_elements(d, r);
  case SEC_DATACOUNT: return parse_datacount(d, r);
  case SEC_CODE: return parse_code(d, r);
  case SEC_DATA: return parse_data(d, r);
  }
  return wp_error_set(d->err, WP_ERR_DECODE, wp_reader_offset(r),
                      "malformed section id: expected 0..12, found %u (0x%02x)", id, id);
}

static int read_header(decoder *d, wp_reader *r) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
  static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
  uint32_t have = bytes_left(r);
  if (have < 4)
    return wp_error_set(d->err, WP_ERR_DECODE, have,
                        "unexpected end: expected the 8-byte header, found %u bytes", have);
  const uint8_t *p = r->pos;
  if (memcmp(p, magic, 4) != 0)
    return wp_error_set(d->err, WP_ERR_DECODE, 0,
                        "magic header not detected: expected 00 61 73 6d (\\0asm), found %02x %02x %02x %02x", p[0],
                        p[1], p[2], p[3]);
  if (have < 8)
    return wp_error_set(d->err, WP_ERR_DECODE, have,
                        "unexpected end: expected the 8-byte header, found %u bytes", have);
  if (memcmp(p + 4, version, 4) != 0)
    return wp_error_set(d->err, WP_ERR_DECODE, 4, "unknown binary version: expected 1, found %u",
                        (unsigned)(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24));
  r->pos += 8;
  return 0;
}

/* read_section: one section (id, size, contents) through a reader bounded
 * by its declared size.  *last is the id of the last non-custom section. */
static int read_section(decoder *d, wp_reader *r, uint8_t *last) {
  uint32_t at = wp_reader_offset(r);
  uint8_t id = *r->pos++;
  int rank = section_rank(id);
  if (id != SEC_CUSTOM && rank == 0)
    return wp_error_set(d->err, WP_ERR_DECODE, at, "malformed section id: expected 0..12, found %u (0x%02x)", id,
                        id);
  uint32_t size_at = wp_reader_offset(r), size;
  WP_TRY(wp_read_u32(r, &size, d->err));
  if (size > bytes_left(r))
    return wp_error_set(d->err, WP_ERR_DECODE, size_at,
                        "length out of bounds: %s section of %u bytes, %u left in the module",
                        section_names[id], size, bytes_left(r));
  if (rank != 0) {
    if (*last != SEC_CUSTOM && rank <= section_rank(*last))
      return wp_error_set(d->err, WP_ERR_DECODE, at,
                          "unexpected content after last section: expected each section once and in order, found the "
                          "%s section after the %s section", section_names[id], section_names[*last]);
    *last = id;
  }
  wp_reader s = {r->base, r->pos, r->pos + size};
  r->pos = s.end;
  WP_TRY(parse_section(d, id, &s));
  if (s.pos != s.end)
    return wp_error_set(d->err, WP_ERR_DECODE, wp_reader_offset(&s),
                        "section size mismatch: the %s section declares %u bytes, its contents "
                        "end after %u", section_names[id], size, size - bytes_left(&s));
  return 0;
}

/* The counts that must agree across sections, once all are read. */
static int check_counts(decoder *d) {
  const wp_module *m = d->m;
  if (!d->has_code_section && m->nfuncs != m->nfuncs_imported)
    return wp_error_set(d->err, WP_ERR_DECODE, m->size,
                        "function and code section have inconsistent lengths: expected %u bodies, found no "
                        "code section", m->nfuncs - m->nfuncs_imported);
  if (m->has_datacount && !d->has_data_section && m->datacount != 0)
    return wp_error_set(d->err, WP_ERR_DECODE, m->size,
                        "data count and data section have inconsistent lengths: expected %u segments, found "
                        "no data section", m->datacount);
  return 0;
}

int wp_decode(wp_module *m, wp_error *err) {
  decoder d = {.m = m, .err = err};
  wp_reader r = {m->bytes, m->bytes, m->bytes + m->size};
  WP_TRY(read_header(&d, &r));
  uint8_t last = SEC_CUSTOM;
  while (r.pos < r.end)
    WP_TRY(read_section(&d, &r, &last));
  return check_counts(&d);
}
