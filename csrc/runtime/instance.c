/* instance.c: instantiation (WebAssembly 2.0, section 4.5.4) and linking.
 *
 * wp_instance_new follows the spec's algorithm in its order:
 *   1. check every import against its declared type (external subtyping);
 *   2. build the index spaces: imports first, then the module's own
 *      functions, tables, memories and globals (global initialisers are
 *      evaluated in order and may read imported globals and ref.func);
 *   3. apply the element segments in module order, then the data segments
 *      (table.init / memory.init, then elem.drop / data.drop);
 *   4. run the start function.
 * A segment out of bounds traps and stops instantiation; what earlier
 * segments wrote into imported tables and memories stays written, as the
 * spec requires, simply because those objects are shared. */
#include "runtime.h"
#include "semantics.h" /* the extended-const arithmetic */

#include <stdio.h>

/* ---- constant expressions ------------------------------------------------ */

/* Deep enough for anything validation admits (one instruction in 2.0; a few
 * with the extended-const proposal's arithmetic, handled below). */
#define CONST_STACK_MAX 16

typedef struct const_stack {
  wp_slot v[CONST_STACK_MAX][2];
  uint32_t n;
} const_stack;

static bool const_push(const_stack *s, wp_slot lo, wp_slot hi) {
  if (s->n == CONST_STACK_MAX) return false;
  s->v[s->n][0] = lo;
  s->v[s->n][1] = hi;
  s->n++;
  return true;
}

/* Integer add/sub/mul (extended-const): pop two, push one (the
 * instructions' semantics, semantics.h). */
static bool const_arith(const_stack *s, wp_opcode op) {
  if (s->n < 2) return false;
  uint64_t b = s->v[s->n - 1][0], a = s->v[s->n - 2][0], r;
  switch (op) {
#define ARITH(id) \
  case WP_OP_##id: r = wp_sem_##id(a, b); break;
    ARITH(i32_add) ARITH(i32_sub) ARITH(i32_mul) ARITH(i64_add) ARITH(i64_sub) ARITH(i64_mul)
#undef ARITH
    default: return false;
  }
  s->n--;
  s->v[s->n - 1][0] = r;
  s->v[s->n - 1][1] = 0;
  return true;
}

/* Execute one constant instruction; false on anything else. */
static bool const_step(const wp_instance *inst, wp_opcode op, const wp_imm *imm, const_stack *s) {
  switch (op) {
    case WP_OP_i32_const:
    case WP_OP_i64_const:
    case WP_OP_f32_const:
    case WP_OP_f64_const: return const_push(s, imm->u64, 0);
    case WP_OP_ref_null: return const_push(s, 0, 0);
    case WP_OP_ref_func: return const_push(s, (wp_slot)(uintptr_t)inst->funcs[imm->a], 0);
    case WP_OP_global_get: {
      const wp_global *g = inst->globals[imm->a];
      return const_push(s, g->value[0], g->value[1]);
    }
    default: return const_arith(s, op);
  }
}

/* wp_eval_constexpr: the expression has been validated, so reading cannot
 * fail; should it anyway, the result is zero rather than a crash. */
void wp_eval_constexpr(const wp_instance *inst, wp_constexpr e, wp_slot out[2]) {
  const wp_module *m = inst->module;
  wp_reader r = {m->bytes, m->bytes + e.start, m->bytes + e.end};
  const_stack s = {.n = 0};
  wp_error err;
  out[0] = out[1] = 0;
  for (;;) {
    wp_opcode op;
    wp_imm imm;
    if (wp_read_opcode(&r, &op, &err) < 0 || wp_read_immediates(&r, op, &imm, &err) < 0) return;
    if (op == WP_OP_end) break;
    if (!const_step(inst, op, &imm, &s)) return;
  }
  if (s.n > 0) {
    out[0] = s.v[s.n - 1][0];
    out[1] = s.v[s.n - 1][1];
  }
}

/* ---- import checking ------------------------------------------------------- */

/* The type an import is declared with. */
static wp_extern_type declared_type(const wp_module *m, const wp_import_desc *d) {
  wp_extern_type t = {.kind = (wp_extern_kind)d->kind};
  switch (d->kind) {
    case WP_EXTERN_FUNC: t.func = &m->types[d->u.typeidx]; break;
    case WP_EXTERN_TABLE:
      t.limits = d->u.table.limits;
      t.valtype = (wp_valtype)d->u.table.elemtype;
      break;
    case WP_EXTERN_MEMORY: t.limits = d->u.memory; break;
    case WP_EXTERN_GLOBAL:
      t.valtype = (wp_valtype)d->u.global.valtype;
      t.mutable_ = d->u.global.mutable_;
      break;
  }
  return t;
}

/* The type of a given object: tables and memories report their current
 * size as min, as the spec's external typing of instances does. */
static wp_extern_type given_type(const wp_import_value *v) {
  wp_extern_type t = {.kind = v->kind};
  switch (v->kind) {
    case WP_EXTERN_FUNC: t.func = v->u.func->type; break;
    case WP_EXTERN_TABLE:
      t.limits = v->u.table->limits;
      t.limits.min = v->u.table->size;
      t.valtype = (wp_valtype)v->u.table->elemtype;
      break;
    case WP_EXTERN_MEMORY: t.limits = v->u.memory->limits; break;
    case WP_EXTERN_GLOBAL:
      t.valtype = (wp_valtype)v->u.global->type;
      t.mutable_ = v->u.global->mutable_;
      break;
  }
  return t;
}

/* Limits subtyping: at least as large, and no larger a maximum. */
static bool limits_match(wp_limits given, wp_limits declared) {
  if (given.min < declared.min) return false;
  if (!declared.has_max) return true;
  return given.has_max && given.max <= declared.max;
}

static bool extern_matches(const wp_extern_type *given, const wp_extern_type *declared) {
  if (given->kind != declared->kind) return false;
  switch (declared->kind) {
    case WP_EXTERN_FUNC: return wp_functype_equal(given->func, declared->func);
    case WP_EXTERN_TABLE:
      return given->valtype == declared->valtype && limits_match(given->limits, declared->limits);
    case WP_EXTERN_MEMORY: return limits_match(given->limits, declared->limits);
    case WP_EXTERN_GLOBAL:
      return given->valtype == declared->valtype && given->mutable_ == declared->mutable_;
  }
  return false;
}

/* Append printf output to buf[*len..n), silently truncating. */
static void append(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t n, size_t *len, const char *fmt, ...) {
  if (*len >= n) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *len, n - *len, fmt, ap);
  va_end(ap);
  if (k > 0) *len = *len + (size_t)k < n ? *len + (size_t)k : n;
}

static void describe_types(char *buf, size_t n, size_t *len, const uint8_t *types, uint32_t count) {
  append(buf, n, len, "[");
  for (uint32_t i = 0; i < count; i++) append(buf, n, len, "%s%s", i ? " " : "", wp_valtype_name(types[i]));
  append(buf, n, len, "]");
}

static void describe_limits(char *buf, size_t n, size_t *len, wp_limits l) {
  if (l.has_max)
    append(buf, n, len, "{min %u, max %u}", l.min, l.max);
  else
    append(buf, n, len, "{min %u}", l.min);
}

/* An extern type in the text format's words: "func [i32] -> []",
 * "table {min 1, max 2} funcref", "memory {min 1}", "global (mut i32)". */
static void describe(char *buf, size_t n, const wp_extern_type *t) {
  size_t len = 0;
  buf[0] = '\0';
  switch (t->kind) {
    case WP_EXTERN_FUNC:
      append(buf, n, &len, "func ");
      describe_types(buf, n, &len, wp_functype_params(t->func), t->func->nparams);
      append(buf, n, &len, " -> ");
      describe_types(buf, n, &len, wp_functype_results(t->func), t->func->nresults);
      break;
    case WP_EXTERN_TABLE:
      append(buf, n, &len, "table ");
      describe_limits(buf, n, &len, t->limits);
      append(buf, n, &len, " %s", wp_valtype_name(t->valtype));
      break;
    case WP_EXTERN_MEMORY:
      append(buf, n, &len, "memory ");
      describe_limits(buf, n, &len, t->limits);
      break;
    case WP_EXTERN_GLOBAL:
      append(buf, n, &len, t->mutable_ ? "global (mut %s)" : "global %s", wp_valtype_name(t->valtype));
      break;
  }
}

static bool import_value_present(const wp_import_value *v) {
  switch (v->kind) {
    case WP_EXTERN_FUNC: return v->u.func != NULL;
    case WP_EXTERN_TABLE: return v->u.table != NULL;
    case WP_EXTERN_MEMORY: return v->u.memory != NULL;
    case WP_EXTERN_GLOBAL: return v->u.global != NULL;
  }
  return false;
}

/* Import names are capped in messages so that the types still fit. */
#define NAME_FMT "\"%.*s\".\"%.*s\""
#define NAME_ARGS(d) \
  (int)((d)->module_len < 48 ? (d)->module_len : 48), (d)->module, \
  (int)((d)->name_len < 48 ? (d)->name_len : 48), (d)->name

static int check_import(const wp_module *m, const wp_import_desc *d, const wp_import_value *v,
                        wp_error *err) {
  if (!import_value_present(v))
    return wp_error_set(err, WP_ERR_LINK, d->offset, "unknown import " NAME_FMT, NAME_ARGS(d));
  wp_extern_type declared = declared_type(m, d), given = given_type(v);
  if (extern_matches(&given, &declared)) return 0;
  char want[96], got[96];
  describe(want, sizeof want, &declared);
  describe(got, sizeof got, &given);
  return wp_error_set(err, WP_ERR_LINK, d->offset,
                      "incompatible import type for " NAME_FMT ": expected %s, got %s", NAME_ARGS(d),
                      want, got);
}

static int check_imports(const wp_module *m, const wp_import_value *imports, uint32_t nimports,
                         wp_error *err) {
  if (nimports != m->nimports)
    return wp_error_set(err, WP_ERR_LINK, WP_NO_OFFSET, "module has %u imports but %u were given",
                        m->nimports, nimports);
  if (nimports > 0 && !imports)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "imports must not be NULL");
  for (uint32_t i = 0; i < nimports; i++)
    if (check_import(m, &m->imports[i], &imports[i], err) != 0) return -1;
  return 0;
}

/* ---- building the index spaces ---------------------------------------------- */

/* calloc that returns a distinct non-NULL block even for zero elements, so
 * that NULL always means out of memory. */
static void *array_new(uint32_t n, size_t size) { return calloc(n ? n : 1, size); }

static wp_instance *instance_alloc(const wp_module *m) {
  wp_instance *inst = calloc(1, sizeof *inst);
  if (!inst) return NULL;
  inst->module = m;
  inst->refcount = 1;
  wp_roots_add_instance(inst);
  inst->funcs = array_new(m->nfuncs, sizeof *inst->funcs);
  inst->own_funcs = array_new(m->nfuncs - m->nfuncs_imported, sizeof *inst->own_funcs);
  inst->tables = array_new(m->ntables, sizeof *inst->tables);
  inst->own_tables = array_new(m->ntables - m->ntables_imported, sizeof *inst->own_tables);
  inst->mems = array_new(m->nmems, sizeof *inst->mems);
  inst->own_mems = array_new(m->nmems - m->nmems_imported, sizeof *inst->own_mems);
  inst->globals = array_new(m->nglobals, sizeof *inst->globals);
  inst->own_globals = array_new(m->nglobals - m->nglobals_imported, sizeof *inst->own_globals);
  inst->elem_dropped = array_new(m->nelems, 1);
  inst->data_dropped = array_new(m->ndatas, 1);
  if (!inst->funcs || !inst->own_funcs || !inst->tables || !inst->own_tables || !inst->mems ||
      !inst->own_mems || !inst->globals || !inst->own_globals || !inst->elem_dropped ||
      !inst->data_dropped) {
    wp_instance_free(inst);
    return NULL;
  }
  return inst;
}

/* Imports occupy the first entries of each index space, in import order. */
static void link_imports(wp_instance *inst, const wp_import_value *imports) {
  const wp_module *m = inst->module;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const wp_import_desc *d = &m->imports[i];
    const wp_import_value *v = &imports[i];
    switch (d->kind) {
      case WP_EXTERN_FUNC: inst->funcs[d->index] = v->u.func; break;
      case WP_EXTERN_TABLE: inst->tables[d->index] = v->u.table; break;
      case WP_EXTERN_MEMORY: inst->mems[d->index] = v->u.memory; break;
      case WP_EXTERN_GLOBAL: inst->globals[d->index] = v->u.global; break;
    }
  }
}

/* Defined functions; their code is compiled lazily on first call. */
static void init_funcs(wp_instance *inst) {
  const wp_module *m = inst->module;
  for (uint32_t idx = m->nfuncs_imported; idx < m->nfuncs; idx++) {
    wp_func *f = &inst->own_funcs[idx - m->nfuncs_imported];
    f->type = &m->types[m->func_types[idx]];
    f->inst = inst;
    f->index = idx;
    f->body = &m->bodies[idx - m->nfuncs_imported];
    inst->funcs[idx] = f;
  }
}

static int init_tables(wp_instance *inst, wp_error *err) {
  const wp_module *m = inst->module;
  for (uint32_t idx = m->ntables_imported; idx < m->ntables; idx++) {
    wp_table *t = &inst->own_tables[idx - m->ntables_imported];
    if (wp_table_init_storage(t, m->tables[idx].elemtype, m->tables[idx].limits, 0, err) != 0) return -1;
    t->keep.owner = inst;
    inst->tables[idx] = t;
  }
  return 0;
}

static int init_memories(wp_instance *inst, wp_error *err) {
  const wp_module *m = inst->module;
  for (uint32_t idx = m->nmems_imported; idx < m->nmems; idx++) {
    wp_memory *mem = &inst->own_mems[idx - m->nmems_imported];
    uint32_t cap = inst->max_memory_pages;
    if (cap && m->mems[idx].min > cap)
      return wp_error_set(err, WP_ERR_LIMIT, WP_NO_OFFSET,
                          "memory %u needs %u pages at instantiation, more than the limit max_memory_pages=%u",
                          idx, m->mems[idx].min, cap);
    if (wp_memory_init_reserve(mem, m->mems[idx], err) != 0) return -1;
    mem->host_max_pages = cap;
    inst->mems[idx] = mem;
  }
  return 0;
}

/* In index order: an initialiser may read only globals before it. */
static void init_globals(wp_instance *inst) {
  const wp_module *m = inst->module;
  for (uint32_t idx = m->nglobals_imported; idx < m->nglobals; idx++) {
    wp_global *g = &inst->own_globals[idx - m->nglobals_imported];
    g->type = m->globals[idx].type.valtype;
    g->mutable_ = m->globals[idx].type.mutable_;
    g->keep.owner = inst;
    wp_slot value[2];
    wp_eval_constexpr(inst, m->globals[idx].init, value);
    wp_global_store(g, value[0]);
    g->value[1] = value[1];
    inst->globals[idx] = g;
  }
}

/* ---- segments ------------------------------------------------------------------ */

/* A segment trap: the spec's message, located at the segment. */
static int segment_trap(wp_error *err, wp_trap_kind kind, uint32_t offset) {
  wp_trap(err, kind);
  if (err) err->offset = offset;
  return -1;
}

static uint32_t eval_offset(const wp_instance *inst, wp_constexpr e) {
  wp_slot v[2];
  wp_eval_constexpr(inst, e, v);
  return (uint32_t)v[0];
}

static wp_slot elem_value(const wp_instance *inst, const wp_elem_desc *seg, uint32_t j) {
  if (seg->funcs) return (wp_slot)(uintptr_t)inst->funcs[seg->funcs[j]];
  wp_slot v[2];
  wp_eval_constexpr(inst, seg->exprs[j], v);
  return v[0];
}

/* table.init of the whole segment, then elem.drop.  The bounds check comes
 * first, so a failing segment writes nothing (earlier ones stay written). */
static int init_elem_segment(wp_instance *inst, uint32_t i, wp_error *err) {
  const wp_elem_desc *seg = &inst->module->elems[i];
  if (seg->mode == WP_SEG_PASSIVE) return 0;
  if (seg->mode == WP_SEG_ACTIVE) {
    uint32_t dst = eval_offset(inst, seg->offset);
    wp_table *t = inst->tables[seg->table];
    if ((uint64_t)dst + seg->count > t->size)
      return segment_trap(err, WP_TRAP_TABLE_OOB, seg->entry_offset);
    for (uint32_t j = 0; j < seg->count; j++)
      if (!wp_table_store(t, dst + j, elem_value(inst, seg, j)))
        return wp_error_set(err, WP_ERR_NOMEM, seg->entry_offset, "out of memory");
  }
  inst->elem_dropped[i] = 1; /* active once applied, and declarative always */
  return 0;
}

/* memory.init of the whole segment, then data.drop. */
static int init_data_segment(wp_instance *inst, uint32_t i, wp_error *err) {
  const wp_module *m = inst->module;
  const wp_data_desc *seg = &m->datas[i];
  if (seg->mode != WP_SEG_ACTIVE) return 0;
  uint32_t dst = eval_offset(inst, seg->offset);
  wp_memory *mem = inst->mems[seg->memory];
  if ((uint64_t)dst + seg->data_len > mem->size)
    return segment_trap(err, WP_TRAP_MEMORY_OOB, seg->entry_offset);
  if (seg->data_len > 0) memcpy(mem->data + dst, m->bytes + seg->data_start, seg->data_len);
  inst->data_dropped[i] = 1;
  return 0;
}

/* Spec 2.0 order: every element segment, then every data segment. */
static int init_segments(wp_instance *inst, wp_error *err) {
  const wp_module *m = inst->module;
  for (uint32_t i = 0; i < m->nelems; i++)
    if (init_elem_segment(inst, i, err) != 0) return -1;
  for (uint32_t i = 0; i < m->ndatas; i++)
    if (init_data_segment(inst, i, err) != 0) return -1;
  return 0;
}

/* Run the start function, on a temporary context when the host gave none.
 * On failure the frames this call left on ex are dropped: they point into
 * the instance, which the caller is about to free, and a host reading them
 * for a backtrace would read freed memory.  err keeps the trap's location. */
static int run_start(wp_instance *inst, wp_exec *ex, wp_error *err) {
  const wp_module *m = inst->module;
  if (!m->has_start) return 0;
  wp_exec *tmp = NULL;
  if (!ex && !(ex = tmp = wp_exec_new(NULL, err))) return -1;
  uint32_t base = ex->nframes;
  int rc = wp_call(ex, inst->funcs[m->start], NULL, NULL, err);
  if (rc != 0 && ex->nframes > base) ex->nframes = base;
  if (tmp) wp_exec_free(tmp);
  return rc != 0 ? -1 : 0;
}

/* ---- public API ------------------------------------------------------------------ */

wp_instance *wp_instance_new(const wp_module *module, const wp_import_value *imports,
                             uint32_t nimports, wp_exec *ex, wp_error *err) {
  return wp_instance_new_config(module, imports, nimports, NULL, ex, err);
}

wp_instance *wp_instance_new_config(const wp_module *module, const wp_import_value *imports, uint32_t nimports,
                                    const wp_instance_config *config, wp_exec *ex, wp_error *err) {
  if (!module) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "module must not be NULL");
    return NULL;
  }
  if (check_imports(module, imports, nimports, err) != 0) return NULL;
  wp_instance *inst = instance_alloc(module);
  if (!inst) {
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
    return NULL;
  }
  if (config) {
    inst->max_memory_pages = config->max_memory_pages;
    inst->max_call_depth = config->max_call_depth;
  }
  link_imports(inst, imports);
  init_funcs(inst);
  if (init_tables(inst, err) != 0 || init_memories(inst, err) != 0) goto fail;
  init_globals(inst);
  if (init_segments(inst, err) != 0 || run_start(inst, ex, err) != 0) goto fail;
  return inst;
fail:
  /* Drops our reference only: an imported table that received this
   * instance's functions retains it, and those functions stay callable. */
  wp_instance_free(inst);
  return NULL;
}

void wp_instance_retain(wp_instance *inst) { atomic_fetch_add_explicit(&inst->refcount, 1, memory_order_relaxed); }

/* wp_instance_free: drop one reference; the last one frees what the
 * instance defined (imported objects belong to others).  Safe on a
 * partly built instance: unbuilt tables and memories are still zeroed. */
void wp_instance_free(wp_instance *inst) {
  if (!inst || atomic_fetch_sub_explicit(&inst->refcount, 1, memory_order_acq_rel) > 1) return;
  wp_roots_remove_instance(inst);
  const wp_module *m = inst->module;
  if (inst->own_tables)
    for (uint32_t i = 0; i < m->ntables - m->ntables_imported; i++) wp_table_release(&inst->own_tables[i]);
  if (inst->own_mems)
    for (uint32_t i = 0; i < m->nmems - m->nmems_imported; i++) wp_memory_release(&inst->own_mems[i]);
  if (inst->own_globals)
    for (uint32_t i = 0; i < m->nglobals - m->nglobals_imported; i++) wp_global_release(&inst->own_globals[i]);
  free(inst->funcs);
  free(inst->own_funcs);
  free(inst->tables);
  free(inst->own_tables);
  free(inst->mems);
  free(inst->own_mems);
  free(inst->globals);
  free(inst->own_globals);
  free(inst->elem_dropped);
  free(inst->data_dropped);
  free(inst);
}

const wp_module *wp_instance_module(const wp_instance *inst) { return inst->module; }

bool wp_instance_export(const wp_instance *inst, const char *name, uint32_t name_len,
                        wp_import_value *out) {
  const wp_module *m = inst->module;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const wp_export_desc *e = &m->exports[i];
    if (e->name_len != name_len || (name_len > 0 && memcmp(e->name, name, name_len) != 0)) continue;
    out->kind = (wp_extern_kind)e->kind;
    switch (e->kind) {
      case WP_EXTERN_FUNC: out->u.func = inst->funcs[e->index]; break;
      case WP_EXTERN_TABLE: out->u.table = inst->tables[e->index]; break;
      case WP_EXTERN_MEMORY: out->u.memory = inst->mems[e->index]; break;
      case WP_EXTERN_GLOBAL: out->u.global = inst->globals[e->index]; break;
    }
    return true;
  }
  return false;
}

/* table.init at run time: copy n elements from segment `elem` at s into
 * table `table` at d; -1 when either range is out of bounds (a dropped
 * segment has length 0). */
int wp_table_init_segment(wp_instance *inst, uint32_t table, uint32_t elem, uint32_t d, uint32_t s, uint32_t n) {
  const wp_elem_desc *seg = &inst->module->elems[elem];
  wp_table *t = inst->tables[table];
  uint32_t len = inst->elem_dropped[elem] ? 0 : seg->count;
  if ((uint64_t)s + n > len || (uint64_t)d + n > t->size) return -1;
  for (uint32_t j = 0; j < n; j++)
    if (!wp_table_store(t, d + j, elem_value(inst, seg, s + j))) return -1;
  return 0;
}
