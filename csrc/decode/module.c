/* module.c: module lifetime (decode + validate, free) and the module and
 * function type introspection API of wasmprof.h. */
#include "code.h"

/* ---- lifetime -------------------------------------------------------------- */

static wp_module *module_new(const uint8_t *bytes, size_t len, bool borrow, wp_error *err) {
  wp_error local;
  if (err == NULL)
    err = &local; /* decode and validate always have somewhere to write */
  wp_error_clear(err);
  if (bytes == NULL && len != 0)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "module bytes are NULL"), NULL;
  if (len > UINT32_MAX)
    return wp_error_set(err, WP_ERR_LIMIT, WP_NO_OFFSET, "module larger than 4 GiB"), NULL;
  wp_module *m = wp_calloc(1, sizeof *m);
  /* Borrowed bytes are only ever read: the cast drops const for the field
   * an owned copy shares.  (NULL with len 0 borrows an empty array.) */
  static const uint8_t empty[1];
  uint8_t *copy = borrow ? (uint8_t *)(uintptr_t)(bytes ? bytes : empty) : malloc(len ? len : 1);
  if (m == NULL || copy == NULL) {
    free(m);
    if (!borrow)
      free(copy);
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory"), NULL;
  }
  if (len && !borrow)
    memcpy(copy, bytes, len);
  m->bytes = copy;
  m->size = (uint32_t)len;
  m->bytes_borrowed = borrow;
  if (wp_decode(m, err) != 0 || wp_validate(m, err) != 0) {
    wp_module_free(m);
    return NULL;
  }
  return m;
}

wp_module *wp_module_new(const uint8_t *bytes, size_t len, wp_error *err) {
  return module_new(bytes, len, false, err);
}

wp_module *wp_module_new_borrowed(const uint8_t *bytes, size_t len, wp_error *err) {
  return module_new(bytes, len, true, err);
}

/* wp_module_release: everything decode, validate and compile allocated.
 * The bytes belong to whoever set them (wp_module_new), so they stay; the
 * rest is zeroed so that a second release is harmless. */
void wp_module_release(wp_module *m) {
  if (m == NULL)
    return;
  for (uint32_t i = 0; i < m->ntypes; i++)
    free(m->types[i].types);
  free(m->types);
  free(m->imports);
  free(m->func_types);
  if (m->bodies != NULL) {
    for (uint32_t i = 0; i < m->nfuncs - m->nfuncs_imported; i++) {
      for (int v = 0; v < WP_VARIANT_COUNT; v++) {
        wp_code *c = atomic_load_explicit(&m->bodies[i].code[v], memory_order_acquire);
        while (c != NULL) {
          wp_code *next = c->next;
          wp_code_free(c);
          c = next;
        }
      }
    }
    free(m->bodies);
  }
  wp_arena_free(&m->local_arena);
  free(m->tables);
  free(m->mems);
  free(m->type_offsets);
  free(m->table_offsets);
  free(m->mem_offsets);
  free(m->globals);
  free(m->exports);
  for (uint32_t i = 0; i < m->nelems; i++) {
    free(m->elems[i].funcs);
    free(m->elems[i].exprs);
  }
  free(m->elems);
  free(m->datas);
  free(m->customs);
  free(m->func_declared);
  wp_names_free(m->names);
  wp_dwarf_free(m->dwarf);
  uint8_t *bytes = m->bytes;
  uint32_t size = m->size;
  bool borrowed = m->bytes_borrowed;
  memset(m, 0, sizeof *m);
  m->bytes = bytes;
  m->size = size;
  m->bytes_borrowed = borrowed;
}

void wp_module_free(wp_module *m) {
  if (m == NULL)
    return;
  wp_module_release(m);
  free(m->file_name);
  if (!m->bytes_borrowed)
    free(m->bytes);
  free(m);
}

bool wp_module_set_file_name(wp_module *m, const char *path) {
  char *copy = NULL;
  if (path) {
    size_t len = strlen(path) + 1;
    if (!(copy = malloc(len))) return false;
    memcpy(copy, path, len);
  }
  free(m->file_name);
  m->file_name = copy;
  return true;
}

const char *wp_module_file_name(const wp_module *m) { return m ? m->file_name : NULL; }

/* ---- imports and exports ---------------------------------------------------- */

static const wp_functype *type_at(const wp_module *m, uint32_t typeidx) {
  return typeidx < m->ntypes ? &m->types[typeidx] : NULL;
}

uint32_t wp_module_import_count(const wp_module *m) { return m ? m->nimports : 0; }

void wp_module_import(const wp_module *m, uint32_t i, const char **module, uint32_t *module_len,
                      const char **name, uint32_t *name_len, wp_extern_type *type) {
  const wp_import_desc *imp = m && i < m->nimports ? &m->imports[i] : NULL;
  if (module)
    *module = imp ? imp->module : NULL;
  if (module_len)
    *module_len = imp ? imp->module_len : 0;
  if (name)
    *name = imp ? imp->name : NULL;
  if (name_len)
    *name_len = imp ? imp->name_len : 0;
  if (type == NULL)
    return;
  memset(type, 0, sizeof *type);
  if (imp == NULL)
    return;
  type->kind = (wp_extern_kind)imp->kind;
  switch (imp->kind) {
  case WP_EXTERN_FUNC:
    type->func = type_at(m, imp->u.typeidx);
    break;
  case WP_EXTERN_TABLE:
    type->valtype = (wp_valtype)imp->u.table.elemtype;
    type->limits = imp->u.table.limits;
    break;
  case WP_EXTERN_MEMORY:
    type->limits = imp->u.memory;
    break;
  case WP_EXTERN_GLOBAL:
    type->valtype = (wp_valtype)imp->u.global.valtype;
    type->mutable_ = imp->u.global.mutable_;
    break;
  }
}

uint32_t wp_module_export_count(const wp_module *m) { return m ? m->nexports : 0; }

/* The type of entry `index` of a kind's index space (imports included). */
static void extern_type_of(const wp_module *m, uint8_t kind, uint32_t index, wp_extern_type *type) {
  memset(type, 0, sizeof *type);
  type->kind = (wp_extern_kind)kind;
  switch (kind) {
  case WP_EXTERN_FUNC:
    if (index < m->nfuncs)
      type->func = type_at(m, m->func_types[index]);
    break;
  case WP_EXTERN_TABLE:
    if (index < m->ntables) {
      type->valtype = (wp_valtype)m->tables[index].elemtype;
      type->limits = m->tables[index].limits;
    }
    break;
  case WP_EXTERN_MEMORY:
    if (index < m->nmems)
      type->limits = m->mems[index];
    break;
  case WP_EXTERN_GLOBAL:
    if (index < m->nglobals) {
      type->valtype = (wp_valtype)m->globals[index].type.valtype;
      type->mutable_ = m->globals[index].type.mutable_;
    }
    break;
  }
}

void wp_module_export(const wp_module *m, uint32_t i, const char **name, uint32_t *name_len,
                      wp_extern_type *type) {
  const wp_export_desc *e = m && i < m->nexports ? &m->exports[i] : NULL;
  if (name)
    *name = e ? e->name : NULL;
  if (name_len)
    *name_len = e ? e->name_len : 0;
  if (type == NULL)
    return;
  if (e == NULL) {
    memset(type, 0, sizeof *type);
    return;
  }
  extern_type_of(m, e->kind, e->index, type);
}

bool wp_module_custom_section(const wp_module *m, uint32_t i, const char **name, uint32_t *name_len,
                              const uint8_t **data, uint32_t *data_len) {
  if (m == NULL || i >= m->ncustoms)
    return false;
  const wp_custom_desc *c = &m->customs[i];
  if (name)
    *name = c->name;
  if (name_len)
    *name_len = c->name_len;
  if (data)
    *data = m->bytes + c->data_start;
  if (data_len)
    *data_len = c->data_len;
  return true;
}

/* ---- function types ------------------------------------------------------ */

uint32_t wp_functype_param_count(const wp_functype *t) { return t->nparams; }
uint32_t wp_functype_result_count(const wp_functype *t) { return t->nresults; }

/* Out-of-range indices give 0, which is no value type. */
wp_valtype wp_functype_param(const wp_functype *t, uint32_t i) {
  return i < t->nparams ? (wp_valtype)wp_functype_params(t)[i] : (wp_valtype)0;
}

wp_valtype wp_functype_result(const wp_functype *t, uint32_t i) {
  return i < t->nresults ? (wp_valtype)wp_functype_results(t)[i] : (wp_valtype)0;
}

static bool valid_valtype(wp_valtype v) {
  switch (v) {
  case WP_I32: case WP_I64: case WP_F32: case WP_F64: case WP_V128:
  case WP_FUNCREF: case WP_EXTERNREF:
    return true;
  }
  return false;
}

/* wp_functype_new: NULL on OOM, or when a type is not a value type (or its
 * array is NULL with a non-zero count). */
wp_functype *wp_functype_new(uint32_t nparams, const wp_valtype *params, uint32_t nresults,
                             const wp_valtype *results) {
  if ((nparams && params == NULL) || (nresults && results == NULL) ||
      (uint64_t)nparams + nresults > UINT32_MAX)
    return NULL;
  for (uint32_t i = 0; i < nparams; i++)
    if (!valid_valtype(params[i]))
      return NULL;
  for (uint32_t i = 0; i < nresults; i++)
    if (!valid_valtype(results[i]))
      return NULL;
  wp_functype *t = wp_calloc(1, sizeof *t);
  uint8_t *types = wp_calloc((size_t)nparams + nresults, 1);
  if (t == NULL || types == NULL) {
    free(t);
    free(types);
    return NULL;
  }
  for (uint32_t i = 0; i < nparams; i++)
    types[i] = (uint8_t)params[i];
  for (uint32_t i = 0; i < nresults; i++)
    types[nparams + i] = (uint8_t)results[i];
  t->nparams = nparams;
  t->nresults = nresults;
  t->types = types;
  return t;
}

void wp_functype_free(wp_functype *t) {
  if (t == NULL)
    return;
  free(t->types);
  free(t);
}

bool wp_functype_equal(const wp_functype *a, const wp_functype *b) {
  if (a == b)
    return true;
  if (a == NULL || b == NULL || a->nparams != b->nparams || a->nresults != b->nresults)
    return false;
  uint32_t n = a->nparams + a->nresults;
  return n == 0 || memcmp(a->types, b->types, n) == 0;
}

const char *wp_valtype_name(wp_valtype t) {
  switch (t) {
  case WP_I32: return "i32";
  case WP_I64: return "i64";
  case WP_F32: return "f32";
  case WP_F64: return "f64";
  case WP_V128: return "v128";
  case WP_FUNCREF: return "funcref";
  case WP_EXTERNREF: return "externref";
  }
  return "?";
}

char *wp_format_types(char *buf, size_t size, const uint8_t *types, uint32_t n, uint32_t max) {
  size_t len = 0;
  buf[0] = '\0';
  uint32_t first = n > max ? n - max : 0;
  if (first > 0) len += (size_t)snprintf(buf, size, "...");
  for (uint32_t i = first; i < n && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "",
                            types[i] == 0 ? "any" : wp_valtype_name((wp_valtype)types[i]));
  return buf;
}
