/* validate.c: module-level validation (WebAssembly 2.0): types, imports,
 * limits, constant expressions, segments, exports, start, and then every
 * function body through validate_body.c.  Runs once, at load. */
#include "compile.h"
#include "runtime.h"

/* Type lists in messages: at most this many (the top ones) are shown. */
#define SHOWN_TYPES 8

static int check_valtype(uint8_t t, uint32_t offset, wp_error *err) {
  if (t == WP_V128) return wp_error_set(err, WP_ERR_VALIDATE, offset, "SIMD is not supported yet");
  return 0;
}

static int check_types(const wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const wp_functype *t = &m->types[i];
    for (uint32_t j = 0; j < t->nparams + t->nresults; j++) WP_TRY(check_valtype(t->types[j], m->type_offsets[i], err));
  }
  return 0;
}

static int check_table_limits(wp_limits l, uint32_t offset, wp_error *err) {
  if (l.has_max && l.min > l.max)
    return wp_error_set(err, WP_ERR_VALIDATE, offset,
                        "size minimum must not be greater than maximum: expected minimum <= maximum, found %u > %u",
                        l.min, l.max);
  return 0;
}

static int check_memory_limits(wp_limits l, uint32_t offset, wp_error *err) {
  if (l.min > WP_MAX_PAGES || (l.has_max && l.max > WP_MAX_PAGES))
    return wp_error_set(err, WP_ERR_VALIDATE, offset, "memory size must be at most 65536 pages (4GiB): found %s %u",
                        l.min > WP_MAX_PAGES ? "minimum" : "maximum", l.min > WP_MAX_PAGES ? l.min : l.max);
  return check_table_limits(l, offset, err);
}

/* Constant expressions: a constant instruction sequence leaving exactly one
 * value of type `want`.  global.get may only read imported, immutable
 * globals (Wasm 2.0). ref.func marks its function as declared. */
static int check_constexpr(wp_module *m, wp_constexpr e, uint8_t want, wp_error *err) {
  wp_reader r = {m->bytes, m->bytes + e.start, m->bytes + e.end};
  uint8_t stack[SHOWN_TYPES];
  uint32_t n = 0;
  char found[128];
  for (;;) {
    uint32_t at = wp_reader_offset(&r);
    wp_opcode op;
    wp_imm imm;
    WP_TRY(wp_read_opcode(&r, &op, err));
    WP_TRY(wp_read_immediates(&r, op, &imm, err));
    uint8_t t;
    switch (op) {
    case WP_OP_end:
      if (n != 1 || stack[0] != want)
        return wp_error_set(err, WP_ERR_VALIDATE, at, "type mismatch in constant expression: expected [%s], found [%s]",
                            wp_valtype_name((wp_valtype)want), wp_format_types(found, sizeof found, stack, n, n));
      return 0;
    case WP_OP_i32_const: t = WP_I32; break;
    case WP_OP_i64_const: t = WP_I64; break;
    case WP_OP_f32_const: t = WP_F32; break;
    case WP_OP_f64_const: t = WP_F64; break;
    case WP_OP_ref_null: t = (uint8_t)imm.a; break;
    case WP_OP_ref_func:
      if (imm.a >= m->nfuncs)
        return wp_error_set(err, WP_ERR_VALIDATE, at,
                            "unknown function %u: " WP_BOUND_FMT, imm.a, WP_BOUND_ARGS(m->nfuncs));
      m->func_declared[imm.a] = 1;
      t = WP_FUNCREF;
      break;
    case WP_OP_global_get:
      if (imm.a >= m->nglobals_imported)
        return wp_error_set(err, WP_ERR_VALIDATE, at,
                            "unknown global %u: a constant expression reads imported globals only, " WP_BOUND_FMT,
                            imm.a, WP_BOUND_ARGS(m->nglobals_imported));
      if (m->globals[imm.a].type.mutable_)
        return wp_error_set(err, WP_ERR_VALIDATE, at,
                            "constant expression required: expected an immutable global, found mutable global %u",
                            imm.a);
      t = m->globals[imm.a].type.valtype;
      break;
    default:
      return wp_error_set(err, WP_ERR_VALIDATE, at,
                          "constant expression required: expected t.const, ref.null, ref.func or global.get, found %s",
                          wp_opinfo_table[op].name);
    }
    if (n == SHOWN_TYPES)
      return wp_error_set(err, WP_ERR_VALIDATE, at,
                          "type mismatch in constant expression: expected [%s], found more than %u values",
                          wp_valtype_name((wp_valtype)want), SHOWN_TYPES);
    stack[n++] = t;
  }
}

static int check_imports(const wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wp_import_desc *im = &m->imports[i];
    switch (im->kind) {
    case WP_EXTERN_FUNC:
      if (im->u.typeidx >= m->ntypes)
        return wp_error_set(err, WP_ERR_VALIDATE, im->offset,
                            "unknown type %u: " WP_BOUND_FMT, im->u.typeidx, WP_BOUND_ARGS(m->ntypes));
      break;
    case WP_EXTERN_TABLE: WP_TRY(check_table_limits(im->u.table.limits, im->offset, err)); break;
    case WP_EXTERN_MEMORY: WP_TRY(check_memory_limits(im->u.memory, im->offset, err)); break;
    default: WP_TRY(check_valtype(im->u.global.valtype, im->offset, err)); break;
    }
  }
  return 0;
}

static int check_definitions(wp_module *m, wp_error *err) {
  for (uint32_t i = m->nfuncs_imported; i < m->nfuncs; i++) {
    uint32_t off = m->bodies[i - m->nfuncs_imported].body_start;
    if (m->func_types[i] >= m->ntypes)
      return wp_error_set(err, WP_ERR_VALIDATE, off,
                          "unknown type %u: " WP_BOUND_FMT, m->func_types[i], WP_BOUND_ARGS(m->ntypes));
  }
  for (uint32_t i = m->ntables_imported; i < m->ntables; i++)
    WP_TRY(check_table_limits(m->tables[i].limits, m->table_offsets[i], err));
  if (m->nmems > 1)
    return wp_error_set(err, WP_ERR_VALIDATE, m->mem_offsets[1], "multiple memories: expected at most 1, found %u",
                        m->nmems);
  for (uint32_t i = m->nmems_imported; i < m->nmems; i++)
    WP_TRY(check_memory_limits(m->mems[i], m->mem_offsets[i], err));
  for (uint32_t i = m->nglobals_imported; i < m->nglobals; i++) {
    const wp_global_desc *g = &m->globals[i];
    WP_TRY(check_valtype(g->type.valtype, g->init.start, err));
    WP_TRY(check_constexpr(m, g->init, g->type.valtype, err));
  }
  return 0;
}

static int check_elems(wp_module *m, wp_error *err) {
  for (uint32_t i = 0; i < m->nelems; i++) {
    const wp_elem_desc *e = &m->elems[i];
    if (e->mode == WP_SEG_ACTIVE) {
      if (e->table >= m->ntables)
        return wp_error_set(err, WP_ERR_VALIDATE, e->entry_offset,
                            "unknown table %u: " WP_BOUND_FMT, e->table, WP_BOUND_ARGS(m->ntables));
      if (m->tables[e->table].elemtype != e->elemtype)
        return wp_error_set(err, WP_ERR_VALIDATE, e->entry_offset,
                            "type mismatch: table %u expects %s elements, found element segment %u of %s", e->table,
                            wp_valtype_name((wp_valtype)m->tables[e->table].elemtype), i,
                            wp_valtype_name((wp_valtype)e->elemtype));
      WP_TRY(check_constexpr(m, e->offset, WP_I32, err));
    }
    for (uint32_t j = 0; j < e->count; j++) {
      if (e->exprs) {
        WP_TRY(check_constexpr(m, e->exprs[j], e->elemtype, err));
      } else {
        if (e->funcs[j] >= m->nfuncs)
          return wp_error_set(err, WP_ERR_VALIDATE, e->entry_offset,
                              "unknown function %u: " WP_BOUND_FMT, e->funcs[j], WP_BOUND_ARGS(m->nfuncs));
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
    if (d->memory >= m->nmems)
      return wp_error_set(err, WP_ERR_VALIDATE, d->entry_offset,
                          "unknown memory %u: " WP_BOUND_FMT, d->memory, WP_BOUND_ARGS(m->nmems));
    WP_TRY(check_constexpr(m, d->offset, WP_I32, err));
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
    if (e->index >= limit)
      return wp_error_set(err, WP_ERR_VALIDATE, e->offset,
                          "unknown %s %u: " WP_BOUND_FMT, kinds[e->kind], e->index, WP_BOUND_ARGS(limit));
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
    if (same_name(sorted[i - 1], sorted[i])) {
      /* qsort is not stable: report the later entry of the two */
      const wp_export_desc *later = sorted[i]->offset > sorted[i - 1]->offset ? sorted[i] : sorted[i - 1];
      rc = wp_error_set(err, WP_ERR_VALIDATE, later->offset, "duplicate export name \"%.*s\": expected each name once",
                        (int)later->name_len, later->name);
    }
  free(sorted);
  return rc;
}

static int check_start(const wp_module *m, wp_error *err) {
  if (!m->has_start) return 0;
  if (m->start >= m->nfuncs)
    return wp_error_set(err, WP_ERR_VALIDATE, m->start_offset,
                        "unknown function %u: " WP_BOUND_FMT, m->start, WP_BOUND_ARGS(m->nfuncs));
  const wp_functype *t = &m->types[m->func_types[m->start]];
  if (t->nparams || t->nresults) {
    char params[96], results[96];
    return wp_error_set(err, WP_ERR_VALIDATE, m->start_offset,
                        "start function must have type [] -> []: found function %u of type [%s] -> [%s]", m->start,
                        wp_format_types(params, sizeof params, wp_functype_params(t), t->nparams, SHOWN_TYPES),
                        wp_format_types(results, sizeof results, wp_functype_results(t), t->nresults, SHOWN_TYPES));
  }
  return 0;
}

static int validate_all(wp_module *m, wp_error *err) {
  m->func_declared = wp_calloc(m->nfuncs ? m->nfuncs : 1, 1);
  if (!m->func_declared) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
  WP_TRY(check_types(m, err));
  WP_TRY(check_imports(m, err));
  WP_TRY(check_definitions(m, err));
  WP_TRY(check_elems(m, err));
  WP_TRY(check_datas(m, err));
  WP_TRY(check_exports(m, err));
  WP_TRY(check_start(m, err));
  for (uint32_t i = 0; i < m->nfuncs - m->nfuncs_imported; i++) WP_TRY(wp_validate_body(m, i, NULL, NULL, err));
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
