/* validate.c: module-level validation (WebAssembly 2.0): types, imports,
 * limits, constant expressions, segments, exports, start, and then every
 * function body through validate_body.c.  Runs once, at load. */
#include "compile.h"
#include "runtime.h"

static int invalid(wp_error *err, uint32_t offset, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int invalid(wp_error *err, uint32_t offset, const char *fmt, ...) {
  if (err) {
    char msg[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wp_error_set(err, WP_ERR_VALIDATE, offset, "%s", msg);
  }
  return -1;
}

#define TRY(x)     \
  do {             \
    if ((x) < 0)   \
      return -1;   \
  } while (0)

static int check_valtype(uint8_t t, uint32_t offset, wp_error *err) {
  if (t == WP_V128) return invalid(err, offset, "SIMD is not supported yet");
  return 0;
}

static int check_types(const wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const wp_functype *t = &m->types[i];
    for (uint32_t j = 0; j < t->nparams + t->nresults; j++) TRY(check_valtype(t->types[j], WP_NO_OFFSET, err));
  }
  return 0;
}

static int check_table_limits(wp_limits l, uint32_t offset, wp_error *err) {
  if (l.has_max && l.min > l.max) return invalid(err, offset, "size minimum must not be greater than maximum");
  return 0;
}

static int check_memory_limits(wp_limits l, uint32_t offset, wp_error *err) {
  if (l.min > WP_MAX_PAGES || (l.has_max && l.max > WP_MAX_PAGES))
    return invalid(err, offset, "memory size must be at most 65536 pages (4GiB)");
  if (l.has_max && l.min > l.max) return invalid(err, offset, "size minimum must not be greater than maximum");
  return 0;
}

/* Constant expressions: a constant instruction sequence leaving exactly one
 * value of type `want`.  global.get may only read imported, immutable
 * globals (Wasm 2.0). ref.func marks its function as declared. */
static int check_constexpr(wp_module *m, wp_constexpr e, uint8_t want, wp_error *err) {
  wp_reader r = {m->bytes, m->bytes + e.start, m->bytes + e.end};
  uint8_t stack[8];
  uint32_t n = 0;
  for (;;) {
    uint32_t at = wp_reader_offset(&r);
    wp_opcode op;
    wp_imm imm;
    if (!wp_read_opcode(&r, &op, err) || !wp_read_immediates(&r, op, &imm, err)) return -1;
    uint8_t t;
    switch (op) {
    case WP_OP_end:
      if (n != 1 || stack[0] != want) return invalid(err, at, "type mismatch in constant expression");
      return 0;
    case WP_OP_i32_const: t = WP_I32; break;
    case WP_OP_i64_const: t = WP_I64; break;
    case WP_OP_f32_const: t = WP_F32; break;
    case WP_OP_f64_const: t = WP_F64; break;
    case WP_OP_ref_null: t = (uint8_t)imm.a; break;
    case WP_OP_ref_func:
      if (imm.a >= m->nfuncs) return invalid(err, at, "unknown function %u", imm.a);
      m->func_declared[imm.a] = 1;
      t = WP_FUNCREF;
      break;
    case WP_OP_global_get:
      if (imm.a >= m->nglobals_imported) return invalid(err, at, "unknown global %u", imm.a);
      if (m->globals[imm.a].type.mutable_) return invalid(err, at, "constant expression required");
      t = m->globals[imm.a].type.valtype;
      break;
    default: return invalid(err, at, "constant expression required");
    }
    if (n == sizeof stack) return invalid(err, at, "type mismatch in constant expression");
    stack[n++] = t;
  }
}

static int check_imports(const wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wp_import_desc *im = &m->imports[i];
    switch (im->kind) {
    case WP_EXTERN_FUNC:
      if (im->u.typeidx >= m->ntypes) return invalid(err, im->offset, "unknown type %u", im->u.typeidx);
      break;
    case WP_EXTERN_TABLE: TRY(check_table_limits(im->u.table.limits, im->offset, err)); break;
    case WP_EXTERN_MEMORY: TRY(check_memory_limits(im->u.memory, im->offset, err)); break;
    default: TRY(check_valtype(im->u.global.valtype, im->offset, err)); break;
    }
  }
  return 0;
}

static int check_definitions(wp_module *m, wp_error *err) {
  for (uint32_t i = m->nfuncs_imported; i < m->nfuncs; i++) {
    uint32_t off = m->bodies[i - m->nfuncs_imported].body_start;
    if (m->func_types[i] >= m->ntypes) return invalid(err, off, "unknown type %u", m->func_types[i]);
  }
  for (uint32_t i = m->ntables_imported; i < m->ntables; i++)
    TRY(check_table_limits(m->tables[i].limits, WP_NO_OFFSET, err));
  if (m->nmems > 1) return invalid(err, WP_NO_OFFSET, "multiple memories");
  for (uint32_t i = m->nmems_imported; i < m->nmems; i++) TRY(check_memory_limits(m->mems[i], WP_NO_OFFSET, err));
  for (uint32_t i = m->nglobals_imported; i < m->nglobals; i++) {
    const wp_global_desc *g = &m->globals[i];
    TRY(check_valtype(g->type.valtype, g->init.start, err));
    TRY(check_constexpr(m, g->init, g->type.valtype, err));
  }
  return 0;
}

static int check_elems(wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->nelems; i++) {
    const wp_elem_desc *e = &m->elems[i];
    if (e->mode == WP_SEG_ACTIVE) {
      if (e->table >= m->ntables) return invalid(err, e->entry_offset, "unknown table %u", e->table);
      if (m->tables[e->table].elemtype != e->elemtype)
        return invalid(err, e->entry_offset, "type mismatch: element segment type differs from the table's");
      TRY(check_constexpr(m, e->offset, WP_I32, err));
    }
    for (uint32_t j = 0; j < e->count; j++) {
      if (e->exprs) {
        TRY(check_constexpr(m, e->exprs[j], e->elemtype, err));
      } else {
        if (e->funcs[j] >= m->nfuncs) return invalid(err, e->entry_offset, "unknown function %u", e->funcs[j]);
        m->func_declared[e->funcs[j]] = 1;
      }
    }
  }
  return 0;
}

static int check_datas(wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const wp_data_desc *d = &m->datas[i];
    if (d->mode != WP_SEG_ACTIVE) continue;
    if (d->memory >= m->nmems) return invalid(err, d->entry_offset, "unknown memory %u", d->memory);
    TRY(check_constexpr(m, d->offset, WP_I32, err));
  }
  return 0;
}

static bool same_name(const wp_export_desc *a, const wp_export_desc *b) {
  return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static int compare_exports(const void *pa, const void *pb) {
  const wp_export_desc *a = *(const wp_export_desc *const *)pa, *b = *(const wp_export_desc *const *)pb;
  uint32_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  int c = memcmp(a->name, b->name, n);
  if (c) return c;
  return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int check_exports(wp_module *m, wp_error *err) {
  static const char *const kinds[] = {"function", "table", "memory", "global"};
  for (uint32_t i = 0; i < m->nexports; i++) {
    const wp_export_desc *e = &m->exports[i];
    uint32_t limit = e->kind == WP_EXTERN_FUNC ? m->nfuncs
                     : e->kind == WP_EXTERN_TABLE ? m->ntables
                     : e->kind == WP_EXTERN_MEMORY ? m->nmems
                                                   : m->nglobals;
    if (e->index >= limit) return invalid(err, WP_NO_OFFSET, "unknown %s %u", kinds[e->kind], e->index);
    if (e->kind == WP_EXTERN_FUNC) m->func_declared[e->index] = 1;
  }
  /* Duplicate names: sort pointers, compare neighbours (n log n for big modules). */
  if (m->nexports < 2) return 0;
  const wp_export_desc **sorted = malloc(m->nexports * sizeof *sorted);
  if (!sorted) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
  for (uint32_t i = 0; i < m->nexports; i++) sorted[i] = &m->exports[i];
  qsort(sorted, m->nexports, sizeof *sorted, compare_exports);
  int rc = 0;
  for (uint32_t i = 1; i < m->nexports && rc == 0; i++)
    if (same_name(sorted[i - 1], sorted[i]))
      rc = invalid(err, WP_NO_OFFSET, "duplicate export name \"%.*s\"", (int)sorted[i]->name_len, sorted[i]->name);
  free(sorted);
  return rc;
}

static int check_start(const wp_module *m, wp_error *err) {
  if (!m->has_start) return 0;
  if (m->start >= m->nfuncs) return invalid(err, WP_NO_OFFSET, "unknown function %u", m->start);
  const wp_functype *t = &m->types[m->func_types[m->start]];
  if (t->nparams || t->nresults) return invalid(err, WP_NO_OFFSET, "start function must have type [] -> []");
  return 0;
}

static int validate_all(wp_module *m, wp_error *err) {
  m->func_declared = wp_calloc(m->nfuncs ? m->nfuncs : 1, 1);
  if (!m->func_declared) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
  TRY(check_types(m, err));
  TRY(check_imports(m, err));
  TRY(check_definitions(m, err));
  TRY(check_elems(m, err));
  TRY(check_datas(m, err));
  TRY(check_exports(m, err));
  TRY(check_start(m, err));
  for (uint32_t i = 0; i < m->nfuncs - m->nfuncs_imported; i++) TRY(wp_validate_body(m, i, NULL, NULL, err));
  return 0;
}

int wp_validate(wp_module *m, wp_error *err) {
  if (validate_all(m, err) == 0) return 0;
  if (err && err->kind == WP_ERR_VALIDATE) {
    wp_error decode_err = {0};
    for (uint32_t i = 0; i < m->nfuncs - m->nfuncs_imported; i++)
      if (wp_check_body_encoding(m, i, &decode_err) < 0) {
        *err = decode_err;
        break;
      }
  }
  return -1;
}
