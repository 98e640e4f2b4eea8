/* py_module.c: wasmprof.Module, a decoded and validated module. */
#include "core.h"

static PyObject *module_from_bytes(PyTypeObject *type, PyObject *data) {
  Py_buffer view;
  if (PyUnicode_Check(data)) {
    PyErr_SetString(PyExc_TypeError, "Module() needs the binary as a bytes-like object, not a str "
                                     "(use Module.from_file(path) to read a file)");
    return NULL;
  }
  if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  /* A bytes object never changes, so the module can read it in place for
   * as long as we hold a reference; anything mutable is copied. */
  bool borrow = PyBytes_CheckExact(data);
  wp_module *m = borrow ? wp_module_new_borrowed(view.buf, (size_t)view.len, &err)
                        : wp_module_new(view.buf, (size_t)view.len, &err);
  PyBuffer_Release(&view);
  if (!m) {
    if (err.kind == WP_OK) return PyErr_NoMemory();
    return wpy_raise(&err);
  }
  wpy_Module *self = (wpy_Module *)type->tp_alloc(type, 0);
  if (!self) {
    wp_module_free(m);
    return NULL;
  }
  self->module = m;
  if (borrow) {
    Py_INCREF(data);
    self->bytes = data;
  }
  return (PyObject *)self;
}

static PyObject *module_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"data", NULL};
  PyObject *data;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Module", kwlist, &data)) return NULL;
  return module_from_bytes(type, data);
}

static PyObject *module_from_file(PyObject *cls, PyObject *path) {
  PyObject *io = PyImport_ImportModule("io");
  if (!io) return NULL;
  PyObject *f = PyObject_CallMethod(io, "open", "Os", path, "rb");
  Py_DECREF(io);
  if (!f) return NULL;
  PyObject *data = PyObject_CallMethod(f, "read", NULL);
  PyObject *closed = PyObject_CallMethod(f, "close", NULL);
  Py_DECREF(f);
  if (!data || !closed) {
    Py_XDECREF(data);
    Py_XDECREF(closed);
    return NULL;
  }
  Py_DECREF(closed);
  PyObject *r = module_from_bytes((PyTypeObject *)cls, data);
  Py_DECREF(data);
  PyObject *fs = NULL;
  if (r && PyUnicode_FSConverter(path, &fs)) { /* remember the file: it names an unnamed module */
    if (!wp_module_set_file_name(((wpy_Module *)r)->module, PyBytes_AS_STRING(fs))) {
      Py_CLEAR(r);
      PyErr_NoMemory();
    }
    Py_DECREF(fs);
  } else if (r) {
    PyErr_Clear(); /* an odd path object: the module is fine without it */
  }
  return r;
}

static void module_dealloc(PyObject *o) {
  wpy_Module *self = (wpy_Module *)o;
  if (self->module) wp_module_free(self->module);
  self->module = NULL;
  Py_CLEAR(self->bytes); /* after the module that read it */
  Py_TYPE(o)->tp_free(o);
}

static const wp_module *get(PyObject *o) {
  const wp_module *m = ((wpy_Module *)o)->module;
  if (!m) PyErr_SetString(PyExc_ValueError, "uninitialised Module");
  return m;
}

static PyObject *str_of(const char *s, uint32_t len) {
  return PyUnicode_DecodeUTF8(s, len, "surrogateescape");
}

static PyObject *module_get_imports(PyObject *o, void *closure) {
  (void)closure;
  const wp_module *m = get(o);
  if (!m) return NULL;
  uint32_t n = wp_module_import_count(m);
  PyObject *list = PyList_New(n);
  if (!list) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wp_extern_type ty;
    wp_module_import(m, i, &mod, &mod_len, &name, &name_len, &ty);
    PyObject *t = wpy_extern_type_to_py(&ty);
    PyObject *item = t ? wpy_types_new("ImportType", Py_BuildValue("(NNsN)", str_of(mod, mod_len),
                                                                    str_of(name, name_len),
                                                                    wpy_extern_kind_name(ty.kind), t))
                       : NULL;
    if (!item) {
      Py_DECREF(list);
      return NULL;
    }
    PyList_SET_ITEM(list, i, item);
  }
  return list;
}

static PyObject *module_get_exports(PyObject *o, void *closure) {
  (void)closure;
  const wp_module *m = get(o);
  if (!m) return NULL;
  uint32_t n = wp_module_export_count(m);
  PyObject *list = PyList_New(n);
  if (!list) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    const char *name;
    uint32_t name_len;
    wp_extern_type ty;
    wp_module_export(m, i, &name, &name_len, &ty);
    PyObject *t = wpy_extern_type_to_py(&ty);
    PyObject *item = t ? wpy_types_new("ExportType", Py_BuildValue("(NsN)", str_of(name, name_len),
                                                                    wpy_extern_kind_name(ty.kind), t))
                       : NULL;
    if (!item) {
      Py_DECREF(list);
      return NULL;
    }
    PyList_SET_ITEM(list, i, item);
  }
  return list;
}

static PyObject *module_get_custom_sections(PyObject *o, void *closure) {
  (void)closure;
  const wp_module *m = get(o);
  if (!m) return NULL;
  PyObject *list = PyList_New(0);
  if (!list) return NULL;
  for (uint32_t i = 0;; i++) {
    const char *name;
    uint32_t name_len, data_len;
    const uint8_t *data;
    if (!wp_module_custom_section(m, i, &name, &name_len, &data, &data_len)) break;
    PyObject *item = Py_BuildValue("(Ny#)", str_of(name, name_len), (const char *)data, (Py_ssize_t)data_len);
    if (!item || PyList_Append(list, item) < 0) {
      Py_XDECREF(item);
      Py_DECREF(list);
      return NULL;
    }
    Py_DECREF(item);
  }
  return list;
}

static PyObject *module_get_custom_section_names(PyObject *o, void *closure) {
  (void)closure;
  const wp_module *m = get(o);
  if (!m) return NULL;
  PyObject *list = PyList_New(0);
  for (uint32_t i = 0; list; i++) {
    const char *name;
    uint32_t name_len, data_len;
    const uint8_t *data;
    if (!wp_module_custom_section(m, i, &name, &name_len, &data, &data_len)) break;
    PyObject *item = str_of(name, name_len);
    if (!item || PyList_Append(list, item) < 0) Py_CLEAR(list);
    Py_XDECREF(item);
  }
  return list;
}

static PyObject *module_get_file_name(PyObject *o, void *closure) {
  (void)closure;
  const wp_module *m = get(o);
  if (!m) return NULL;
  const char *f = wp_module_file_name(m);
  if (!f) Py_RETURN_NONE;
  return PyUnicode_DecodeFSDefault(f);
}

static PyObject *module_repr(PyObject *o) {
  const wp_module *m = ((wpy_Module *)o)->module;
  if (!m) return PyUnicode_FromString("<wasmprof.Module (uninitialised)>");
  return PyUnicode_FromFormat("<wasmprof.Module imports=%u exports=%u>", (unsigned)wp_module_import_count(m),
                              (unsigned)wp_module_export_count(m));
}

static PyGetSetDef module_getset[] = {
    {"imports", module_get_imports, NULL, "list of ImportType(module, name, kind, type)", NULL},
    {"exports", module_get_exports, NULL, "list of ExportType(name, kind, type)", NULL},
    {"custom_sections", module_get_custom_sections, NULL, "list of (name, data) for each custom section",
     NULL},
    {"custom_section_names", module_get_custom_section_names, NULL,
     "the names of the custom sections, in order (without copying their data)", NULL},
    {"file_name", module_get_file_name, NULL, "the file Module.from_file read, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef module_methods[] = {
    {"from_file", module_from_file, METH_O | METH_CLASS,
     "Module.from_file(path) -> Module\n\nRead, decode and validate a module file."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_ModuleType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Module",
    .tp_doc = "Module(data)\n\n"
              "Decode and validate a WebAssembly binary (a bytes-like object). Raises\n"
              "DecodeError for a malformed binary and ValidationError for an invalid one.",
    .tp_basicsize = sizeof(wpy_Module),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = module_new,
    .tp_dealloc = module_dealloc,
    .tp_repr = module_repr,
    .tp_getset = module_getset,
    .tp_methods = module_methods,
};
