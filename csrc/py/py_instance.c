/* py_instance.c: wasmprof.Instance and its exports namespace.
 *
 * Instance(module, imports=None): imports maps module names to mappings of
 * field names to Func/Memory/Table/Global objects (or plain callables for
 * function imports).  Only the imports the module declares are looked up,
 * with obj[module][field], so any mapping works (an Exports object too).
 *
 * Lifetime: the Instance holds its Module and every imported object, and
 * frees the C instance (dropping one C reference) when deallocated -- as
 * soon as its last reference goes: nothing it holds refers back to it (the
 * exports' wrappers hold the Instance, it only borrows them: core.h), so
 * no reference cycle waits for the cycle collector (tests/core/
 * test_many_instances.py).  The C
 * instance can outlive the Python object when another instance's table
 * holds one of its functions (runtime.h: wp_table retained[]); then the
 * imports and the module may still be used by the guest, so they are kept
 * for good (wpy_keep_forever).  KNOWN LEAK, as is the same for an
 * instantiation that trapped after segments were written, whose
 * functions may sit in an imported table.
 *
 * A process-wide registry maps each live wp_instance to its Python
 * Instance so that functions read from tables or returned as funcrefs get
 * the right owner (py_func.c). */
#include "core.h"

static PyObject *registry; /* dict: PyLong(wp_instance *) -> PyLong(wpy_Instance *), borrowed */

PyObject *wpy_instance_lookup(const wp_instance *inst) {
  if (!registry) return NULL;
  PyObject *key = PyLong_FromVoidPtr((void *)inst);
  if (!key) {
    PyErr_Clear();
    return NULL;
  }
  PyObject *v = PyDict_GetItemWithError(registry, key);
  Py_DECREF(key);
  if (!v) {
    PyErr_Clear();
    return NULL;
  }
  return PyLong_AsVoidPtr(v);
}

static int registry_add(wpy_Instance *self) {
  if (!registry && !(registry = PyDict_New())) return -1;
  PyObject *key = PyLong_FromVoidPtr(self->inst);
  PyObject *val = PyLong_FromVoidPtr(self);
  int rc = key && val ? PyDict_SetItem(registry, key, val) : -1;
  Py_XDECREF(key);
  Py_XDECREF(val);
  return rc;
}

static void registry_remove(wpy_Instance *self) {
  if (!registry || !self->inst) return;
  PyObject *key = PyLong_FromVoidPtr(self->inst);
  if (!key || PyDict_DelItem(registry, key) < 0) PyErr_Clear();
  Py_XDECREF(key);
}

/* ---- Exports ------------------------------------------------------------------------------------- */

static PyObject *export_object(wpy_Instance *self, uint32_t index);

static PyObject *exports_new(wpy_Instance *inst) {
  wpy_Exports *ex = (wpy_Exports *)wpy_ExportsType.tp_alloc(&wpy_ExportsType, 0);
  if (!ex) return NULL;
  Py_INCREF(inst);
  ex->instance = (PyObject *)inst;
  return (PyObject *)ex;
}

static wpy_Instance *exports_instance(PyObject *o) { return (wpy_Instance *)((wpy_Exports *)o)->instance; }

static int exports_traverse(PyObject *o, visitproc visit, void *arg) {
  Py_VISIT(((wpy_Exports *)o)->instance);
  return 0;
}

static void exports_dealloc(PyObject *o) {
  PyObject_GC_UnTrack(o);
  wpy_Instance *inst = exports_instance(o);
  if (inst && inst->exports_view == o) inst->exports_view = NULL;
  Py_CLEAR(((wpy_Exports *)o)->instance);
  Py_TYPE(o)->tp_free(o);
}

/* exports_find: the export named key (a new reference), NULL without an
 * exception when there is none. */
static PyObject *exports_find(PyObject *o, PyObject *key) {
  wpy_Instance *inst = exports_instance(o);
  PyObject *index = inst->export_names ? PyDict_GetItemWithError(inst->export_names, key) : NULL;
  if (!index) return NULL;
  return export_object(inst, (uint32_t)PyLong_AsUnsignedLong(index));
}

static Py_ssize_t exports_len(PyObject *o) {
  PyObject *names = exports_instance(o)->export_names;
  return names ? PyDict_Size(names) : 0;
}

static PyObject *exports_getitem(PyObject *o, PyObject *key) {
  PyObject *v = exports_find(o, key);
  if (!v && !PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
  return v;
}

static int exports_contains(PyObject *o, PyObject *key) {
  PyObject *names = exports_instance(o)->export_names;
  return names ? PyDict_Contains(names, key) : 0;
}

static PyObject *exports_keys(PyObject *o, PyObject *unused) {
  (void)unused;
  PyObject *names = exports_instance(o)->export_names;
  return names ? PyDict_Keys(names) : PyList_New(0);
}

static PyObject *exports_iter(PyObject *o) {
  PyObject *keys = exports_keys(o, NULL);
  if (!keys) return NULL;
  PyObject *it = PyObject_GetIter(keys);
  Py_DECREF(keys);
  return it;
}

/* Attribute access: an export of that name first, then the methods. */
static PyObject *exports_getattro(PyObject *o, PyObject *name) {
  PyObject *v = exports_find(o, name);
  if (v || PyErr_Occurred()) return v;
  return PyObject_GenericGetAttr(o, name);
}

/* exports_list: each export's object (values) or (name, object) pair (items). */
static PyObject *exports_list(PyObject *o, bool pairs) {
  PyObject *keys = exports_keys(o, NULL);
  if (!keys) return NULL;
  Py_ssize_t n = PyList_GET_SIZE(keys);
  PyObject *out = PyList_New(n);
  for (Py_ssize_t i = 0; out && i < n; i++) {
    PyObject *k = PyList_GET_ITEM(keys, i);
    PyObject *v = exports_getitem(o, k);
    PyObject *item = v && pairs ? PyTuple_Pack(2, k, v) : v;
    if (pairs) Py_XDECREF(v);
    if (!item) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, item);
  }
  Py_DECREF(keys);
  return out;
}

static PyObject *exports_values(PyObject *o, PyObject *unused) {
  (void)unused;
  return exports_list(o, false);
}

static PyObject *exports_items(PyObject *o, PyObject *unused) {
  (void)unused;
  return exports_list(o, true);
}

static PyObject *exports_get(PyObject *o, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get(name, default=None)");
    return NULL;
  }
  PyObject *v = exports_find(o, args[0]);
  if (v || PyErr_Occurred()) return v;
  v = nargs == 2 ? args[1] : Py_None;
  Py_INCREF(v);
  return v;
}

static PyObject *exports_dir(PyObject *o, PyObject *unused) {
  (void)unused;
  PyObject *names = exports_keys(o, NULL);
  if (!names) return NULL;
  static const char *const methods[] = {"keys", "values", "items", "get"};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    PyObject *s = PyUnicode_FromString(methods[i]);
    if (!s || PyList_Append(names, s) < 0) {
      Py_XDECREF(s);
      Py_DECREF(names);
      return NULL;
    }
    Py_DECREF(s);
  }
  return names;
}

static PyObject *exports_repr(PyObject *o) {
  PyObject *keys = exports_keys(o, NULL);
  if (!keys) return NULL;
  PyObject *r = PyUnicode_FromFormat("<wasmprof.Exports %R>", keys);
  Py_DECREF(keys);
  return r;
}

static PyMappingMethods exports_as_mapping = {
    .mp_length = exports_len,
    .mp_subscript = exports_getitem,
};

static PySequenceMethods exports_as_sequence = {
    .sq_contains = exports_contains,
};

static PyMethodDef exports_methods[] = {
    {"keys", exports_keys, METH_NOARGS, "Export names, in module order."},
    {"values", exports_values, METH_NOARGS, "Exported objects, in module order."},
    {"items", exports_items, METH_NOARGS, "(name, object) pairs, in module order."},
    {"get", (PyCFunction)(void (*)(void))exports_get, METH_FASTCALL, "get(name, default=None)"},
    {"__dir__", exports_dir, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_ExportsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Exports",
    .tp_doc = "The exports of an Instance: exports.name, exports['name'], iteration over names, len().",
    .tp_basicsize = sizeof(wpy_Exports),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = exports_dealloc,
    .tp_traverse = exports_traverse,
    .tp_getattro = exports_getattro,
    .tp_as_mapping = &exports_as_mapping,
    .tp_as_sequence = &exports_as_sequence,
    .tp_iter = exports_iter,
    .tp_repr = exports_repr,
    .tp_methods = exports_methods,
};

/* ---- import resolution ------------------------------------------------------------------------------ */

static bool limits_match(wp_limits actual, wp_limits expected) {
  if (actual.min < expected.min) return false;
  if (expected.has_max && (!actual.has_max || actual.max > expected.max)) return false;
  return true;
}

static PyObject *describe_functype(const wp_functype *t) {
  PyObject *ty = wpy_functype_to_py(t);
  if (!ty) return NULL;
  PyObject *s = PyObject_Str(ty);
  Py_DECREF(ty);
  return s;
}

static PyObject *incompatible(PyObject *mod, PyObject *field, const char *detail_fmt, ...) {
  va_list ap;
  va_start(ap, detail_fmt);
  PyObject *detail = PyUnicode_FromFormatV(detail_fmt, ap);
  va_end(ap);
  if (!detail) return NULL;
  wpy_raise_link("incompatible import type for %U.%U: %U", mod, field, detail);
  Py_DECREF(detail);
  return NULL;
}

/* lookup: imports[mod][field], or NULL with LinkError "unknown import". */
static PyObject *lookup(PyObject *imports, PyObject *mod, PyObject *field) {
  if (imports == NULL || imports == Py_None) return wpy_raise_link("unknown import %U.%U", mod, field);
  PyObject *ns = PyObject_GetItem(imports, mod);
  if (!ns) {
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) return NULL;
    PyErr_Clear();
    return wpy_raise_link("unknown import %U.%U (no module %R)", mod, field, mod);
  }
  PyObject *obj = PyObject_GetItem(ns, field);
  if (!obj && PyErr_ExceptionMatches(PyExc_TypeError) && !PyMapping_Check(ns)) {
    PyErr_Format(PyExc_TypeError, "imports[%R] must be a mapping of field names to objects, not %.100s", mod,
                 Py_TYPE(ns)->tp_name);
  }
  Py_DECREF(ns);
  if (!obj) {
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) return NULL;
    PyErr_Clear();
    return wpy_raise_link("unknown import %U.%U", mod, field);
  }
  return obj;
}

/* resolve: check obj against the import type; fill *out and return the object
 * to keep (a new reference: obj itself, or a new host Func for a callable). */
static PyObject *resolve(PyObject *obj, const wp_extern_type *ty, PyObject *mod, PyObject *field,
                         wp_import_value *out) {
  out->kind = ty->kind;
  switch (ty->kind) {
  case WP_EXTERN_FUNC: {
    /* An import value that needs the import's type to become a Func
     * (wasmprof.native() without a signature) says so with this method. */
    PyObject *bind =
        PyObject_TypeCheck(obj, &wpy_FuncType) ? NULL : PyObject_GetAttrString(obj, "__wasmprof_import__");
    if (bind) {
      PyObject *ft = wpy_functype_to_py(ty->func);
      PyObject *bound = ft ? PyObject_CallOneArg(bind, ft) : NULL;
      Py_DECREF(bind);
      Py_XDECREF(ft);
      if (!bound) return NULL;
      PyObject *kept = PyObject_TypeCheck(bound, &wpy_FuncType)
                           ? resolve(bound, ty, mod, field, out)
                           : incompatible(mod, field, "__wasmprof_import__ returned %.100s, not a Func",
                                          Py_TYPE(bound)->tp_name);
      Py_DECREF(bound);
      return kept;
    }
    if (PyErr_Occurred()) {
      if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return NULL;
      PyErr_Clear();
    }
    if (PyObject_TypeCheck(obj, &wpy_FuncType)) {
      wpy_Func *f = (wpy_Func *)obj;
      if (!f->func) return incompatible(mod, field, "uninitialised Func");
      if (!wp_functype_equal(wp_func_type(f->func), ty->func)) {
        PyObject *want = describe_functype(ty->func);
        PyObject *got = want ? describe_functype(wp_func_type(f->func)) : NULL;
        if (got) incompatible(mod, field, "expected func %U, got func %U", want, got);
        Py_XDECREF(want);
        Py_XDECREF(got);
        return NULL;
      }
      out->u.func = f->func;
      Py_INCREF(obj);
      return obj;
    }
    if (PyObject_TypeCheck(obj, &wpy_MemoryType) || PyObject_TypeCheck(obj, &wpy_TableType) ||
        PyObject_TypeCheck(obj, &wpy_GlobalType) || !PyCallable_Check(obj))
      return incompatible(mod, field, "expected func, got %.100s", Py_TYPE(obj)->tp_name);
    for (uint32_t i = 0; i < wp_functype_param_count(ty->func) + wp_functype_result_count(ty->func); i++) {
      uint32_t np = wp_functype_param_count(ty->func);
      wp_valtype v = i < np ? wp_functype_param(ty->func, i) : wp_functype_result(ty->func, i - np);
      if (v == WP_V128) return incompatible(mod, field, "v128 is not supported in host functions");
    }
    PyObject *f = wpy_func_new_host(obj, ty->func);
    if (f) out->u.func = ((wpy_Func *)f)->func;
    return f;
  }
  case WP_EXTERN_TABLE: {
    if (!PyObject_TypeCheck(obj, &wpy_TableType))
      return incompatible(mod, field, "expected table, got %.100s", Py_TYPE(obj)->tp_name);
    wp_table *t = ((wpy_Table *)obj)->table;
    if (wp_table_elemtype(t) != ty->valtype)
      return incompatible(mod, field, "expected a table of %s, got a table of %s", wp_valtype_name((wp_valtype)ty->valtype),
                          wp_valtype_name((wp_valtype)wp_table_elemtype(t)));
    if (!limits_match(wp_table_limits(t), ty->limits))
      return incompatible(mod, field, "table limits do not match");
    out->u.table = t;
    Py_INCREF(obj);
    return obj;
  }
  case WP_EXTERN_MEMORY: {
    if (!PyObject_TypeCheck(obj, &wpy_MemoryType))
      return incompatible(mod, field, "expected memory, got %.100s", Py_TYPE(obj)->tp_name);
    wp_memory *m = ((wpy_Memory *)obj)->mem;
    if (!limits_match(wp_memory_limits(m), ty->limits))
      return incompatible(mod, field, "memory limits do not match");
    out->u.memory = m;
    Py_INCREF(obj);
    return obj;
  }
  case WP_EXTERN_GLOBAL: {
    if (!PyObject_TypeCheck(obj, &wpy_GlobalType))
      return incompatible(mod, field, "expected global, got %.100s", Py_TYPE(obj)->tp_name);
    wp_global *g = ((wpy_Global *)obj)->global;
    if (wp_global_type(g) != ty->valtype || wp_global_mutable(g) != ty->mutable_)
      return incompatible(mod, field, "expected global %s%s, got global %s%s", ty->mutable_ ? "mut " : "",
                          wp_valtype_name((wp_valtype)ty->valtype), wp_global_mutable(g) ? "mut " : "",
                          wp_valtype_name((wp_valtype)wp_global_type(g)));
    out->u.global = g;
    Py_INCREF(obj);
    return obj;
  }
  }
  PyErr_SetString(PyExc_SystemError, "unknown import kind");
  return NULL;
}

/* ---- exports ---------------------------------------------------------------------------------------- */

/* reuse_import: the imported object of this kind with this C object, if any. */
static PyObject *reuse_import(wpy_Instance *self, PyTypeObject *type, const void *cobj) {
  for (Py_ssize_t i = 0; i < self->nimported; i++) {
    PyObject *o = self->imported[i];
    if (Py_TYPE(o) != type) continue;
    const void *p = type == &wpy_MemoryType  ? (const void *)((wpy_Memory *)o)->mem
                    : type == &wpy_TableType ? (const void *)((wpy_Table *)o)->table
                                             : (const void *)((wpy_Global *)o)->global;
    if (p == cobj) {
      Py_INCREF(o);
      return o;
    }
  }
  return NULL;
}

/* build_export_names: self->export_names and an empty export cache. */
static int build_export_names(wpy_Instance *self, const wp_module *m) {
  uint32_t n = wp_module_export_count(m);
  if (!(self->export_names = PyDict_New())) return -1;
  if (!(self->export_cache = PyMem_Calloc(n ? n : 1, sizeof(PyObject *)))) {
    PyErr_NoMemory();
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    const char *name;
    uint32_t len;
    wp_module_export(m, i, &name, &len, NULL);
    PyObject *key = PyUnicode_DecodeUTF8(name, len, "surrogateescape");
    PyObject *index = key ? PyLong_FromUnsignedLong(i) : NULL;
    int rc = index ? PyDict_SetItem(self->export_names, key, index) : -1;
    Py_XDECREF(key);
    Py_XDECREF(index);
    if (rc < 0) return -1;
  }
  return 0;
}

/* export_object: export `index`'s object (a new reference): the imported
 * object itself for a re-exported import, else the wrapper, made once and
 * cached (borrowed) for as long as it lives. */
static PyObject *export_object(wpy_Instance *self, uint32_t index) {
  const wp_module *m = ((wpy_Module *)self->module)->module;
  if (index >= wp_module_export_count(m) || !self->inst) {
    PyErr_SetString(PyExc_ValueError, "instance exports are not available");
    return NULL;
  }
  PyObject *obj = self->export_cache[index];
  if (obj) {
    Py_INCREF(obj);
    return obj;
  }
  const char *name;
  uint32_t len;
  wp_import_value v;
  wp_module_export(m, index, &name, &len, NULL);
  if (!wp_instance_export(self->inst, name, len, &v)) {
    PyErr_SetString(PyExc_SystemError, "export not found in its own instance");
    return NULL;
  }
  Py_ssize_t *slot = NULL;
  switch (v.kind) {
  case WP_EXTERN_FUNC:
    obj = wpy_func_wrap(v.u.func);
    if (obj && ((wpy_Func *)obj)->owner == (PyObject *)self) slot = &((wpy_Func *)obj)->export_slot;
    break;
  case WP_EXTERN_TABLE:
    if ((obj = reuse_import(self, &wpy_TableType, v.u.table))) return obj;
    obj = wpy_table_wrap(v.u.table, (PyObject *)self);
    if (obj) slot = &((wpy_Table *)obj)->export_slot;
    break;
  case WP_EXTERN_MEMORY:
    if ((obj = reuse_import(self, &wpy_MemoryType, v.u.memory))) return obj;
    obj = wpy_memory_wrap(v.u.memory, (PyObject *)self);
    if (obj) slot = &((wpy_Memory *)obj)->export_slot;
    break;
  case WP_EXTERN_GLOBAL:
    if ((obj = reuse_import(self, &wpy_GlobalType, v.u.global))) return obj;
    obj = wpy_global_wrap(v.u.global, (PyObject *)self);
    if (obj) slot = &((wpy_Global *)obj)->export_slot;
    break;
  }
  if (slot && *slot == 0) {
    *slot = (Py_ssize_t)index + 1;
    self->export_cache[index] = obj;
  }
  return obj;
}

void wpy_export_forget(PyObject *owner, Py_ssize_t slot, PyObject *wrapper) {
  if (!slot || !owner || !PyObject_TypeCheck(owner, &wpy_InstanceType)) return;
  wpy_Instance *inst = (wpy_Instance *)owner;
  if (inst->export_cache && inst->export_cache[slot - 1] == wrapper) inst->export_cache[slot - 1] = NULL;
}

/* ---- Instance ----------------------------------------------------------------------------------------- */

static void keep_imports_forever(PyObject *module, PyObject **objs, Py_ssize_t n) {
  if (module && wpy_keep_forever(module) < 0) PyErr_Clear();
  for (Py_ssize_t i = 0; i < n; i++)
    if (objs[i] && wpy_keep_forever(objs[i]) < 0) PyErr_Clear();
}

/* keep_escaped_host_funcs: imported host functions that the guest may have
 * stored in a table or global it does not own (their index is "declared":
 * used by ref.func, an element segment or an export) are kept for good.
 * A guest function stored in a table keeps its C instance alive (runtime.h),
 * a host function has no instance to keep, and its wp_func is freed with its
 * Func object.  KNOWN LEAK, conservative. */
static void keep_escaped_host_funcs(wpy_Instance *self) {
  const wp_module *m = self->module ? ((wpy_Module *)self->module)->module : NULL;
  if (!m || !m->func_declared) return;
  uint32_t funcidx = 0;
  for (uint32_t i = 0; i < m->nimports && (Py_ssize_t)i < self->nimported; i++) {
    if (m->imports[i].kind != WP_EXTERN_FUNC) continue;
    PyObject *o = self->imported[i];
    if (o && m->func_declared[funcidx] && PyObject_TypeCheck(o, &wpy_FuncType) && ((wpy_Func *)o)->func &&
        !wp_func_instance(((wpy_Func *)o)->func) && wpy_keep_forever(o) < 0)
      PyErr_Clear();
    funcidx++;
  }
}

/* coredump_setting_check: None, False, or a path (str or os.PathLike of str). */
static int coredump_setting_check(PyObject *v) {
  if (v == Py_None || v == Py_False || PyUnicode_Check(v)) return 0;
  PyObject *p = PyOS_FSPath(v);
  if (p && PyUnicode_Check(p)) {
    Py_DECREF(p);
    return 0;
  }
  Py_XDECREF(p);
  PyErr_Clear();
  PyErr_Format(PyExc_TypeError, "coredump must be a path, None or False, not %.100s", Py_TYPE(v)->tp_name);
  return -1;
}

/* limit_attr: limits.<name> as a positive u32, 0 when None or absent. */
static int limit_attr(PyObject *limits, const char *name, uint32_t *out) {
  *out = 0;
  PyObject *v = PyObject_GetAttrString(limits, name);
  if (!v) {
    if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return -1;
    PyErr_Clear();
    return 0;
  }
  int rc = 0;
  if (v != Py_None) {
    unsigned long long n = PyLong_Check(v) ? PyLong_AsUnsignedLongLong(v) : (unsigned long long)-1;
    if (PyErr_Occurred() || !PyLong_Check(v) || n == 0 || n > UINT32_MAX) {
      PyErr_Clear();
      PyErr_Format(PyExc_ValueError, "limits.%s must be None or an int in [1, 2**32), not %R", name, v);
      rc = -1;
    } else {
      *out = (uint32_t)n;
    }
  }
  Py_DECREF(v);
  return rc;
}

/* parse_limits: a wasmprof.Limits (or any object with those attributes). */
static int parse_limits(PyObject *limits, wp_instance_config *config) {
  memset(config, 0, sizeof *config);
  if (limits == Py_None) return 0;
  if (limit_attr(limits, "max_memory_pages", &config->max_memory_pages) < 0) return -1;
  return limit_attr(limits, "max_call_depth", &config->max_call_depth);
}

static PyObject *instance_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"module", "imports", "limits", "wasi", "coredump", NULL};
  PyObject *module, *imports = Py_None, *limits = Py_None, *wasi = Py_None, *coredump = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|OO$OO:Instance", kwlist, &wpy_ModuleType, &module, &imports,
                                   &limits, &wasi, &coredump))
    return NULL;
  if (coredump_setting_check(coredump) < 0) return NULL;
  if (wasi != Py_None) {
    /* WASI (python/wasmprof/wasi.py): its functions for the module's WASI imports, merged with imports. */
    PyObject *merged = PyObject_CallMethod(wasi, "_imports_for", "OO", module, imports);
    if (!merged) return NULL;
    PyObject *plain_args = Py_BuildValue("(OOO)", module, merged, limits);
    Py_DECREF(merged);
    PyObject *plain_kwds = plain_args ? Py_BuildValue("{sO}", "coredump", coredump) : NULL;
    PyObject *self = plain_kwds ? instance_new(type, plain_args, plain_kwds) : NULL;
    Py_XDECREF(plain_args);
    Py_XDECREF(plain_kwds);
    return self;
  }
  wp_instance_config config;
  if (parse_limits(limits, &config) < 0) return NULL;
  if (imports != Py_None && !PyMapping_Check(imports)) {
    PyErr_Format(PyExc_TypeError, "imports must be a mapping of module names to mappings, not %.100s",
                 Py_TYPE(imports)->tp_name);
    return NULL;
  }
  const wp_module *m = ((wpy_Module *)module)->module;
  if (!m) {
    PyErr_SetString(PyExc_ValueError, "uninitialised Module");
    return NULL;
  }
  uint32_t n = wp_module_import_count(m);
  wp_import_value *values = PyMem_Calloc(n ? n : 1, sizeof *values);
  PyObject **kept = PyMem_Calloc(n ? n : 1, sizeof *kept);
  wpy_Instance *self = NULL;
  if (!values || !kept) {
    PyErr_NoMemory();
    goto fail;
  }
  for (uint32_t i = 0; i < n; i++) {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wp_extern_type ty;
    wp_module_import(m, i, &mod, &mod_len, &name, &name_len, &ty);
    PyObject *mod_s = PyUnicode_DecodeUTF8(mod, mod_len, "surrogateescape");
    PyObject *name_s = mod_s ? PyUnicode_DecodeUTF8(name, name_len, "surrogateescape") : NULL;
    PyObject *obj = name_s ? lookup(imports, mod_s, name_s) : NULL;
    if (obj) {
      kept[i] = resolve(obj, &ty, mod_s, name_s, &values[i]);
      Py_DECREF(obj);
    }
    Py_XDECREF(mod_s);
    Py_XDECREF(name_s);
    if (!kept[i]) goto fail;
  }

  wp_exec *ex = wpy_exec();
  if (!ex) goto fail;
  self = (wpy_Instance *)type->tp_alloc(type, 0);
  if (!self) goto fail;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (Py_EnterRecursiveCall(" while instantiating a WebAssembly module")) goto fail;
  if (wpy_guest_enter(ex) < 0) {
    Py_LeaveRecursiveCall();
    goto fail;
  }
  wp_instance *inst = wp_instance_new_config(m, values, n, &config, ex, &err);
  wpy_guest_leave(ex);
  Py_LeaveRecursiveCall();
  if (!inst) {
    if (err.kind == WP_ERR_TRAP || err.kind == WP_ERR_HOST || err.kind == WP_ERR_EXIT) {
      /* segments may have been written into imported tables: keep what
       * they point to */
      keep_imports_forever(module, kept, n);
    }
    wpy_raise(&err);
    goto fail;
  }
  self->inst = inst;
  Py_INCREF(module);
  self->module = module;
  Py_INCREF(coredump);
  self->coredump = coredump;
  self->imported = kept;
  self->nimported = n;
  kept = NULL;
  PyMem_Free(values);
  values = NULL;
  if (registry_add(self) < 0 || build_export_names(self, m) < 0) {
    Py_DECREF(self);
    return NULL;
  }
  return (PyObject *)self;

fail:
  Py_XDECREF(self);
  if (kept)
    for (uint32_t i = 0; i < n; i++) Py_XDECREF(kept[i]);
  PyMem_Free(kept);
  PyMem_Free(values);
  return NULL;
}

static int instance_traverse(PyObject *o, visitproc visit, void *arg) {
  wpy_Instance *self = (wpy_Instance *)o;
  Py_VISIT(self->module);
  for (Py_ssize_t i = 0; i < self->nimported; i++) Py_VISIT(self->imported[i]);
  Py_VISIT(self->coredump);
  return 0;
}

static int instance_clear(PyObject *o) {
  /* Not the module and the imports: they must outlive the C instance. */
  Py_CLEAR(((wpy_Instance *)o)->coredump);
  return 0;
}

static void instance_dealloc(PyObject *o) {
  wpy_Instance *self = (wpy_Instance *)o;
  PyObject_GC_UnTrack(o);
  if (self->weakrefs) PyObject_ClearWeakRefs(o);
  /* No wrapper or Exports is alive: each would hold this instance. */
  Py_CLEAR(self->export_names);
  PyMem_Free(self->export_cache);
  self->export_cache = NULL;
  registry_remove(self);
  bool keep = false;
  if (self->inst) {
    /* still referenced from C (another instance's table): the guest may
     * still reach our imports and module */
    keep = self->inst->refcount > 1;
    wp_instance_free(self->inst);
    self->inst = NULL;
  }
  if (keep) keep_imports_forever(self->module, self->imported, self->nimported);
  else keep_escaped_host_funcs(self);
  for (Py_ssize_t i = 0; i < self->nimported; i++) Py_CLEAR(self->imported[i]);
  PyMem_Free(self->imported);
  self->imported = NULL;
  self->nimported = 0;
  Py_CLEAR(self->module);
  Py_CLEAR(self->coredump);
  Py_TYPE(o)->tp_free(o);
}

static PyObject *instance_get_exports(PyObject *o, void *closure) {
  (void)closure;
  wpy_Instance *self = (wpy_Instance *)o;
  if (!self->export_names) {
    PyErr_SetString(PyExc_ValueError, "instance exports are not available");
    return NULL;
  }
  if (self->exports_view) {
    Py_INCREF(self->exports_view);
    return self->exports_view;
  }
  return self->exports_view = exports_new(self);
}

static PyObject *instance_get_module(PyObject *o, void *closure) {
  (void)closure;
  wpy_Instance *self = (wpy_Instance *)o;
  if (!self->module) Py_RETURN_NONE;
  Py_INCREF(self->module);
  return self->module;
}

static PyObject *instance_repr(PyObject *o) {
  wpy_Instance *self = (wpy_Instance *)o;
  return PyUnicode_FromFormat("<wasmprof.Instance exports=%zd>",
                              self->export_names ? PyDict_Size(self->export_names) : (Py_ssize_t)0);
}

static PyObject *instance_get_coredump(PyObject *o, void *closure) {
  (void)closure;
  PyObject *v = ((wpy_Instance *)o)->coredump;
  v = v ? v : Py_None;
  Py_INCREF(v);
  return v;
}

static int instance_set_coredump(PyObject *o, PyObject *v, void *closure) {
  (void)closure;
  if (!v) v = Py_None;
  if (coredump_setting_check(v) < 0) return -1;
  Py_INCREF(v);
  Py_XSETREF(((wpy_Instance *)o)->coredump, v);
  return 0;
}

/* Instance.profile(**options): wasmprof.profiles.session.instance_profile(self, **options). */
static PyObject *instance_profile(PyObject *self, PyObject *args, PyObject *kwds) {
  if (PyTuple_GET_SIZE(args)) {
    PyErr_SetString(PyExc_TypeError, "Instance.profile() takes keyword options only");
    return NULL;
  }
  PyObject *mod = PyImport_ImportModule("wasmprof.profiles.session");
  if (!mod) return NULL;
  PyObject *fn = PyObject_GetAttrString(mod, "instance_profile");
  Py_DECREF(mod);
  if (!fn) return NULL;
  PyObject *call_args = PyTuple_Pack(1, self);
  PyObject *r = call_args ? PyObject_Call(fn, call_args, kwds) : NULL;
  Py_XDECREF(call_args);
  Py_DECREF(fn);
  return r;
}

static PyMethodDef instance_methods[] = {
    {"profile", (PyCFunction)(void (*)(void))instance_profile, METH_VARARGS | METH_KEYWORDS,
     "profile(**options) -> ProfilingSession: profile the guest calls into this instance made on this thread\n"
     "while the session runs (`with instance.profile() as session: ...`; then session.profile).\n"
     "Options as wasmprof.profiling()."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef instance_getset[] = {
    {"coredump", instance_get_coredump, instance_set_coredump,
     "Where a trapping export call writes a WebAssembly coredump: a path or directory, None (the default: "
     "the WASMPROF_COREDUMP environment variable decides) or False (never).",
     NULL},
    {"exports", instance_get_exports, NULL, "The exports namespace (attribute and item access by name).",
     NULL},
    {"module", instance_get_module, NULL, "The Module this instance was made from.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject wpy_InstanceType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Instance",
    .tp_doc = "Instance(module, imports=None, limits=None, *, wasi=None, coredump=None)\n\n"
              "Instantiate a Module. imports maps module names to mappings of field names to\n"
              "Func, Memory, Table or Global objects (or plain callables for function imports).\n"
              "Raises LinkError for a missing or mismatched import, Trap when segment\n"
              "initialisation or the start function traps. coredump: see Instance.coredump.",
    .tp_basicsize = sizeof(wpy_Instance),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_weaklistoffset = offsetof(wpy_Instance, weakrefs),
    .tp_new = instance_new,
    .tp_dealloc = instance_dealloc,
    .tp_traverse = instance_traverse,
    .tp_clear = instance_clear,
    .tp_repr = instance_repr,
    .tp_getset = instance_getset,
    .tp_methods = instance_methods,
};
