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

static bool fail(decoder *d, uint32_t at, const char *msg) {
  wp_error_set(d->err, WP_ERR_DECODE, at, "%s", msg);
  return false;
}

static bool nomem(decoder *d, const wp_reader *r) {
  wp_error_set(d->err, WP_ERR_NOMEM, wp_reader_offset(r), "out of memory");
  return false;
}

static uint32_t end_offset(const wp_reader *r) { return (uint32_t)(r->end - r->base); }

/* read_count: a vector length, refused when the rest of the range could
 * not hold that many elements of at least one byte each. */
static bool read_count(decoder *d, wp_reader *r, uint32_t *n) {
  if (!wp_read_u32(r, n, d->err))
    return false;
  if (*n > (size_t)(r->end - r->pos))
    return fail(d, end_offset(r), "unexpected end of section or function");
  return true;
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

static bool read_valtype(decoder *d, wp_reader *r, uint8_t *out) {
  uint32_t at = wp_reader_offset(r);
  if (!wp_read_u8(r, out, d->err))
    return false;
  return wp_valtype_valid(*out) || fail(d, at, "malformed value type");
}

static bool read_reftype(decoder *d, wp_reader *r, uint8_t *out) {
  uint32_t at = wp_reader_offset(r);
  if (!wp_read_u8(r, out, d->err))
    return false;
  return *out == WP_FUNCREF || *out == WP_EXTERNREF || fail(d, at, "malformed reference type");
}

/* limits: a flag (0: min only, 1: min and max), read like the spec's
 * one-bit LEB128, so that 0x02 is "too large" and 0x81 0x00 "too long". */
static bool read_limits(decoder *d, wp_reader *r, wp_limits *lim) {
  uint32_t at = wp_reader_offset(r);
  uint8_t flag;
  if (!wp_read_u8(r, &flag, d->err))
    return false;
  if ((flag & 0x7f) > 1)
    return fail(d, at, "integer too large");
  if (flag & 0x80)
    return fail(d, at + 1, "integer representation too long");
  lim->has_max = flag == 1;
  lim->max = 0;
  return wp_read_u32(r, &lim->min, d->err) && (!lim->has_max || wp_read_u32(r, &lim->max, d->err));
}

static bool read_tabletype(decoder *d, wp_reader *r, wp_tabletype *t) {
  return read_reftype(d, r, &t->elemtype) && read_limits(d, r, &t->limits);
}

static bool read_globaltype(decoder *d, wp_reader *r, wp_globaltype *g) {
  uint8_t mut;
  if (!read_valtype(d, r, &g->valtype) || !wp_read_u8(r, &mut, d->err))
    return false;
  if (mut > 1)
    return fail(d, wp_reader_offset(r) - 1, "malformed mutability");
  g->mutable_ = mut == 1;
  return true;
}

/* read_constexpr: skip a constant expression, recording its byte range.
 * Any instruction is accepted here (validate.c decides which are constant);
 * nested blocks are tracked so that the `end` found is the matching one. */
static bool read_constexpr(decoder *d, wp_reader *r, wp_constexpr *e) {
  e->start = wp_reader_offset(r);
  uint32_t depth = 0;
  for (;;) {
    wp_opcode op;
    wp_imm imm;
    if (!wp_read_opcode(r, &op, d->err) || !wp_read_immediates(r, op, &imm, d->err))
      return false;
    if (op == WP_OP_block || op == WP_OP_loop || op == WP_OP_if) {
      depth++;
    } else if (op == WP_OP_end) {
      if (depth == 0)
        break;
      depth--;
    }
  }
  e->end = wp_reader_offset(r);
  return true;
}

/* ---- sections ------------------------------------------------------------ */

/* functype: 0x60, then vectors of parameter and result types.  The form is
 * an s7 in the reference interpreter: a continuation bit there makes it
 * "integer representation too long". */
static bool read_functype(decoder *d, wp_reader *r, wp_functype *t) {
  uint32_t at = wp_reader_offset(r);
  uint8_t form;
  if (!wp_read_u8(r, &form, d->err))
    return false;
  if (form & 0x80)
    return fail(d, at + 1, "integer representation too long");
  if (form != 0x60)
    return fail(d, at, "malformed functype");
  const uint8_t *vec[2];
  uint32_t n[2];
  for (int k = 0; k < 2; k++) {
    if (!read_count(d, r, &n[k]))
      return false;
    vec[k] = r->pos;
    for (uint32_t i = 0; i < n[k]; i++) {
      uint8_t vt;
      if (!read_valtype(d, r, &vt))
        return false;
    }
  }
  t->types = wp_calloc((size_t)n[0] + n[1], 1);
  if (t->types == NULL)
    return nomem(d, r);
  memcpy(t->types, vec[0], n[0]);
  memcpy(t->types + n[0], vec[1], n[1]);
  t->nparams = n[0];
  t->nresults = n[1];
  return true;
}

static bool parse_types(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  if ((m->types = wp_calloc(n, sizeof *m->types)) == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    if (!read_functype(d, r, &m->types[i]))
      return false;
    m->ntypes = i + 1; /* so that release frees what was read */
  }
  return true;
}

static bool read_import(decoder *d, wp_reader *r, wp_import_desc *imp) {
  wp_module *m = d->m;
  imp->offset = wp_reader_offset(r);
  if (!wp_read_name(r, &imp->module, &imp->module_len, d->err) ||
      !wp_read_name(r, &imp->name, &imp->name_len, d->err))
    return false;
  uint32_t at = wp_reader_offset(r);
  if (!wp_read_u8(r, &imp->kind, d->err))
    return false;
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
    return fail(d, at, "malformed import kind");
  }
}

/* The index spaces start with the imports: allocate them once all imports
 * are known, and fill in the imported entries. */
static bool build_import_spaces(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  m->func_types = wp_calloc(m->nfuncs_imported, sizeof *m->func_types);
  m->tables = wp_calloc(m->ntables_imported, sizeof *m->tables);
  m->mems = wp_calloc(m->nmems_imported, sizeof *m->mems);
  m->globals = wp_calloc(m->nglobals_imported, sizeof *m->globals);
  if (!m->func_types || !m->tables || !m->mems || !m->globals)
    return nomem(d, r);
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wp_import_desc *imp = &m->imports[i];
    switch (imp->kind) {
    case WP_EXTERN_FUNC: m->func_types[imp->index] = imp->u.typeidx; break;
    case WP_EXTERN_TABLE: m->tables[imp->index] = imp->u.table; break;
    case WP_EXTERN_MEMORY: m->mems[imp->index] = imp->u.memory; break;
    case WP_EXTERN_GLOBAL: m->globals[imp->index].type = imp->u.global; break;
    }
  }
  m->nfuncs = m->nfuncs_imported;
  m->ntables = m->ntables_imported;
  m->nmems = m->nmems_imported;
  m->nglobals = m->nglobals_imported;
  return true;
}

static bool parse_imports(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  if ((m->imports = wp_calloc(n, sizeof *m->imports)) == NULL)
    return nomem(d, r);
  for (uint32_t i = 0; i < n; i++) {
    if (!read_import(d, r, &m->imports[i]))
      return false;
    m->nimports = i + 1;
  }
  return build_import_spaces(d, r);
}

static bool parse_functions(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  uint32_t *p = extend(m->func_types, m->nfuncs, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->func_types = p;
  for (uint32_t i = 0; i < n; i++)
    if (!wp_read_u32(r, &p[m->nfuncs + i], d->err))
      return false;
  m->nfuncs += n;
  d->has_function_section = true;
  return true;
}

static bool parse_tables(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  wp_tabletype *p = extend(m->tables, m->ntables, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->tables = p;
  for (uint32_t i = 0; i < n; i++)
    if (!read_tabletype(d, r, &p[m->ntables + i]))
      return false;
  m->ntables += n;
  return true;
}

static bool parse_memories(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  wp_limits *p = extend(m->mems, m->nmems, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->mems = p;
  for (uint32_t i = 0; i < n; i++)
    if (!read_limits(d, r, &p[m->nmems + i]))
      return false;
  m->nmems += n;
  return true;
}

static bool parse_globals(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  wp_global_desc *p = extend(m->globals, m->nglobals, n, sizeof *p);
  if (p == NULL)
    return nomem(d, r);
  m->globals = p;
  for (uint32_t i = 0; i < n; i++) {
    wp_global_desc *g = &p[m->nglobals + i];
    if (!read_globaltype(d, r, &g->type) || !read_constexpr(d, r, &g->init))
      return false;
  }
  m->nglobals += n;
  return true;
}

static bool parse_exports(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  if ((m->exports = wp_calloc(n, sizeof *m->exports)) == NULL)
    return nomem(d, r);
  m->nexports = n;
  for (uint32_t i = 0; i < n; i++) {
    wp_export_desc *e = &m->exports[i];
    if (!wp_read_name(r, &e->name, &e->name_len, d->err))
      return false;
    uint32_t at = wp_reader_offset(r);
    if (!wp_read_u8(r, &e->kind, d->err))
      return false;
    if (e->kind > WP_EXTERN_GLOBAL)
      return fail(d, at, "malformed export kind");
    if (!wp_read_u32(r, &e->index, d->err))
      return false;
  }
  return true;
}

static bool parse_start(decoder *d, wp_reader *r) {
  d->m->has_start = true;
  return wp_read_u32(r, &d->m->start, d->err);
}

/* ---- element segments ---------------------------------------------------- */

/* Element segment flags (Wasm 2.0):
 *   bit 0: passive or declarative (else active)
 *   bit 1: active with an explicit table index (if bit 0 clear),
 *          declarative (if bit 0 set)
 *   bit 2: elements are expressions with a reference type (else function
 *          indices with an element kind; both absent for active table 0) */
static bool read_elem_items(decoder *d, wp_reader *r, wp_elem_desc *e, bool exprs) {
  if (!read_count(d, r, &e->count))
    return false;
  if (exprs) {
    if ((e->exprs = wp_calloc(e->count, sizeof *e->exprs)) == NULL)
      return nomem(d, r);
    for (uint32_t i = 0; i < e->count; i++)
      if (!read_constexpr(d, r, &e->exprs[i]))
        return false;
  } else {
    if ((e->funcs = wp_calloc(e->count, sizeof *e->funcs)) == NULL)
      return nomem(d, r);
    for (uint32_t i = 0; i < e->count; i++)
      if (!wp_read_u32(r, &e->funcs[i], d->err))
        return false;
  }
  return true;
}

static bool read_elem(decoder *d, wp_reader *r, wp_elem_desc *e) {
  e->entry_offset = wp_reader_offset(r);
  uint32_t flags;
  if (!wp_read_u32(r, &flags, d->err))
    return false;
  if (flags > 7)
    return fail(d, e->entry_offset, "malformed elements segment kind");
  bool exprs = flags & 4;
  e->mode = !(flags & 1) ? WP_SEG_ACTIVE : (flags & 2) ? WP_SEG_DECLARATIVE : WP_SEG_PASSIVE;
  e->elemtype = WP_FUNCREF;
  if (e->mode == WP_SEG_ACTIVE) {
    if ((flags & 2) && !wp_read_u32(r, &e->table, d->err))
      return false;
    if (!read_constexpr(d, r, &e->offset))
      return false;
  }
  /* Only the active table-0 forms (flags 0 and 4) omit the type byte. */
  if (flags != 0 && flags != 4) {
    if (exprs) {
      if (!read_reftype(d, r, &e->elemtype))
        return false;
    } else {
      uint32_t at = wp_reader_offset(r);
      uint8_t kind;
      if (!wp_read_u8(r, &kind, d->err))
        return false;
      if (kind != 0x00)
        return fail(d, at, "malformed element kind");
    }
  }
  return read_elem_items(d, r, e, exprs);
}

static bool parse_elements(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t n;
  if (!read_count(d, r, &n))
    return false;
  if ((m->elems = wp_calloc(n, sizeof *m->elems)) == NULL)
    return nomem(d, r);
  m->nelems = n;
  for (uint32_t i = 0; i < n; i++)
    if (!read_elem(d, r, &m->elems[i]))
      return false;
  return true;
}

/* ---- data segments ------------------------------------------------------- */

static bool parse_datacount(decoder *d, wp_reader *r) {
  d->m->has_datacount = true;
  return wp_read_u32(r, &d->m->datacount, d->err);
}

/* Data segment flags: 0 active memory 0, 1 passive, 2 active with an
 * explicit memory index. */
static bool read_data(decoder *d, wp_reader *r, wp_data_desc *s) {
  s->entry_offset = wp_reader_offset(r);
  uint32_t flags;
  if (!wp_read_u32(r, &flags, d->err))
    return false;
  if (flags > 2)
    return fail(d, s->entry_offset, "malformed data segment kind");
  s->mode = flags == 1 ? WP_SEG_PASSIVE : WP_SEG_ACTIVE;
  if (flags == 2 && !wp_read_u32(r, &s->memory, d->err))
    return false;
  if (flags != 1 && !read_constexpr(d, r, &s->offset))
    return false;
  const uint8_t *bytes;
  if (!wp_read_u32(r, &s->data_len, d->err) || !wp_read_bytes(r, s->data_len, &bytes, d->err))
    return false;
  s->data_start = (uint32_t)(bytes - r->base);
  return true;
}

static bool parse_data(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t at = wp_reader_offset(r), n;
  if (!read_count(d, r, &n))
    return false;
  if (m->has_datacount && n != m->datacount)
    return fail(d, at, "data count and data section have inconsistent lengths");
  if ((m->datas = wp_calloc(n, sizeof *m->datas)) == NULL)
    return nomem(d, r);
  m->ndatas = n;
  d->has_data_section = true;
  for (uint32_t i = 0; i < n; i++)
    if (!read_data(d, r, &m->datas[i]))
      return false;
  return true;
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
static bool read_locals(decoder *d, wp_reader *r, uint32_t func, wp_func_body *body) {
  wp_module *m = d->m;
  uint32_t typeidx = m->func_types[func];
  uint32_t nparams = typeidx < m->ntypes ? m->types[typeidx].nparams : 0;
  uint32_t ndecls;
  if (!read_count(d, r, &ndecls))
    return false;
  /* First pass: check the declarations and count the locals. */
  const uint8_t *decls = r->pos;
  uint64_t total = 0;
  for (uint32_t i = 0; i < ndecls; i++) {
    uint32_t count;
    uint8_t vt;
    if (!wp_read_u32(r, &count, d->err))
      return false;
    total += count;
    if (total > WP_MAX_LOCALS)
      return fail(d, wp_reader_offset(r), "too many locals");
    if (!read_valtype(d, r, &vt))
      return false;
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
  return true;
}

static bool read_body(decoder *d, wp_reader *r, uint32_t func, wp_func_body *body) {
  uint32_t size;
  uint32_t at = wp_reader_offset(r);
  if (!wp_read_u32(r, &size, d->err))
    return false;
  if (size > (size_t)(r->end - r->pos))
    return fail(d, at, "length out of bounds");
  wp_reader b = {r->base, r->pos, r->pos + size};
  body->body_start = wp_reader_offset(&b);
  body->body_end = end_offset(&b);
  r->pos = b.end;
  if (!read_locals(d, &b, func, body))
    return false;
  body->code_start = wp_reader_offset(&b);
  /* The instructions are decoded by the validator; the decoder only checks
   * that the expression can end where the body does. */
  if (b.pos == b.end)
    return fail(d, body->body_end, "unexpected end of section or function");
  if (b.end[-1] != 0x0b) /* end */
    return fail(d, body->body_end - 1, "END opcode expected");
  return true;
}

static bool parse_code(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  uint32_t at = wp_reader_offset(r), n;
  if (!read_count(d, r, &n))
    return false;
  if (n != m->nfuncs - m->nfuncs_imported)
    return fail(d, at, "function and code section have inconsistent lengths");
  if ((m->bodies = wp_calloc(n, sizeof *m->bodies)) == NULL)
    return nomem(d, r);
  d->has_code_section = true;
  m->code_section_start = at;
  for (uint32_t i = 0; i < n; i++)
    if (!read_body(d, r, m->nfuncs_imported + i, &m->bodies[i]))
      return false;
  return true;
}

/* ---- custom sections ----------------------------------------------------- */

static bool parse_custom(decoder *d, wp_reader *r) {
  wp_module *m = d->m;
  wp_custom_desc c;
  if (!wp_read_name(r, &c.name, &c.name_len, d->err))
    return false;
  c.data_start = wp_reader_offset(r);
  c.data_len = (uint32_t)(r->end - r->pos);
  r->pos = r->end;
  void *arr = m->customs;
  if (!wp_grow(&arr, &d->ncustoms_cap, m->ncustoms + 1, sizeof c))
    return nomem(d, r);
  m->customs = arr;
  m->customs[m->ncustoms++] = c;
  return true;
}

/* ---- the module ---------------------------------------------------------- */

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

static bool parse_section(decoder *d, uint8_t id, wp_reader *r) {
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
  return fail(d, wp_reader_offset(r), "malformed section id");
}

static bool read_header(decoder *d, wp_reader *r) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
  static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
  size_t have = (size_t)(r->end - r->pos);
  if (have < 4)
    return fail(d, (uint32_t)have, "unexpected end");
  if (memcmp(r->pos, magic, 4) != 0)
    return fail(d, 0, "magic header not detected");
  if (have < 8)
    return fail(d, (uint32_t)have, "unexpected end");
  if (memcmp(r->pos + 4, version, 4) != 0)
    return fail(d, 4, "unknown binary version");
  r->pos += 8;
  return true;
}

/* read_section: one section (id, size, contents) through a reader bounded
 * by its declared size. */
static bool read_section(decoder *d, wp_reader *r, int *last_rank) {
  uint32_t at = wp_reader_offset(r);
  uint8_t id = *r->pos++;
  int rank = section_rank(id);
  if (id != SEC_CUSTOM && rank == 0)
    return fail(d, at, "malformed section id");
  uint32_t size_at = wp_reader_offset(r), size;
  if (!wp_read_u32(r, &size, d->err))
    return false;
  if (size > (size_t)(r->end - r->pos))
    return fail(d, size_at, "length out of bounds");
  if (rank != 0) {
    if (rank <= *last_rank)
      return fail(d, at, "unexpected content after last section");
    *last_rank = rank;
  }
  wp_reader s = {r->base, r->pos, r->pos + size};
  r->pos = s.end;
  if (!parse_section(d, id, &s))
    return false;
  return s.pos == s.end || fail(d, wp_reader_offset(&s), "section size mismatch");
}

/* The counts that must agree across sections, once all are read. */
static bool check_counts(decoder *d) {
  const wp_module *m = d->m;
  if (!d->has_code_section && m->nfuncs != m->nfuncs_imported)
    return fail(d, m->size, "function and code section have inconsistent lengths");
  if (m->has_datacount && !d->has_data_section && m->datacount != 0)
    return fail(d, m->size, "data count and data section have inconsistent lengths");
  return true;
}

int wp_decode(wp_module *m, wp_error *err) {
  decoder d = {.m = m, .err = err};
  wp_reader r = {m->bytes, m->bytes, m->bytes + m->size};
  if (!read_header(&d, &r))
    return -1;
  int last_rank = 0;
  while (r.pos < r.end)
    if (!read_section(&d, &r, &last_rank))
      return -1;
  return check_counts(&d) ? 0 : -1;
}
