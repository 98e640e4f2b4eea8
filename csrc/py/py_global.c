/* py_global.c: wasmprof.Global, a global variable (exported or host-made). */
#include "core.h"

static wp_global *get(PyObject *o) {
  wp_global *g = ((wpy_Global *)o)->global;
  if (!g) PyErr_SetString(PyExc_ValueError, "uninitialised Global");
  return g;
}

PyObject *wpy_global_wrap(wp_global *g, PyObject *owner) {
  wpy_Global *self = (wpy_Global *)wpy_GlobalType.tp_alloc(&wpy_GlobalType, 0);
  if (!self) return NULL;
  self->global = g;
  Py_XINCREF(owner);
  self->owner = owner;
  return (PyObject *)self;
}

static PyObject *global_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"valtype", "value", "mutable", NULL};
  PyObject *vt_o, *value = NULL;
  int mutable_ = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Op:Global", kwlist, &vt_o, &value, &mutable_)) return NULL;
  wp_valtype vt;
  if (wpy_valtype_from_name(vt_o, &vt) < 0) return NULL;
  if (vt == WP_V128) {
    PyErr_SetString(PyExc_ValueError, "v128 globals are not supported");
    return NULL;
  }
  wp_slot s = 0;
  if (value && wpy_to_slot(value, vt, &s) < 0) return NULL;
  wp_global *g = wp_global_new(vt, mutable_ != 0, s);
  if (!g) return PyErr_NoMemory();
  wpy_Global *self = (wpy_Global *)type->tp_alloc(type, 0);
  if (!self) {
    wp_global_free(g);
    return NULL;
  }
  self->global = g;
  return (PyObject *)self;
}

static int global_traverse(PyObject *o, visitproc visit, void *arg) {
  Py_VISIT(((wpy_Global *)o)->owner);
  return 0;
}

static void global_dealloc(PyObject *o) {
  wpy_Global *self = (wpy_Global *)o;
  PyObject_GC_UnTrack(o);
  if (!self->owner && self->global) wp_global_free(self->global);
  self->global = NULL;
  wpy_export_forget(self->owner, self->export_slot, o);
  Py_CLEAR(self->owner);
  Py_TYPE(o)->tp_free(o);
}

static PyObject *global_get_value(PyObject *o, void *closure) {
  (void)closure;
  wp_global *g = get(o);
  return g ? wpy_from_slot(wp_global_get(g), wp_global_type(g), false) : NULL;
}

static int global_set_value(PyObject *o, PyObject *value, void *closure) {
  (void)closure;
  wp_global *g = get(o);
  if (!g) return -1;
  if (!value) {
    PyErr_SetString(PyExc_TypeError, "a global's value cannot be deleted");
    return -1;
  }
  if (!wp_global_mutable(g)) {
    PyErr_SetString(wpy_Error, "global is immutable");
    return -1;
  }
  wp_slot s;
  if (wpy_to_slot(value, wp_global_type(g), &s) < 0) return -1;
  wp_global_set(g, s);
  return 0;
}

static PyObject *global_get_bits(PyObject *o, void *closure) {
  (void)closure;
  wp_global *g = get(o);
  return g ? wpy_slot_to_bits(wp_global_get(g), wp_global_type(g)) : NULL;
}

static PyObject *global_get_type(PyObject *o, void *closure) {
  (void)closure;
  wp_global *g = get(o);
  if (!g) return NULL;
  wp_extern_type t;
  memset(&t, 0, sizeof t);
  t.kind = WP_EXTERN_GLOBAL;
  t.valtype = wp_global_type(g);
  t.mutable_ = wp_global_mutable(g);
  return wpy_extern_type_to_py(&t);
}

static PyObject *global_repr(PyObject *o) {
  wp_global *g = ((wpy_Global *)o)->global;
  if (!g) return PyUnicode_FromString("<wasmprof.Global (uninitialised)>");
  PyObject *v = wpy_from_slot(wp_global_get(g), wp_global_type(g), false);
  if (!v) {
    PyErr_Clear();
    return PyUnicode_FromFormat("<wasmprof.Global %s%s>", wp_global_mutable(g) ? "mut " : "",
                                wp_valtype_name((wp_valtype)wp_global_type(g)));
  }
  PyObject *r = PyUnicode_FromFormat("<wasmprof.Global %s%s = %R>", wp_global_mutable(g) ? "mut " : "",
                                     wp_valtype_name((wp_valtype)wp_global_type(g)), v);
  Py_DECREF(v);
  return r;
}

static PyGetSetDef global_getset[] = {
    {"value", global_get_value, global_set_value,
     "The current value (setting an immutable global raises wasmprof.Error).", NULL},
    {"bits", global_get_bits, NULL, "The current value as a raw bit pattern (unsigned int).", NULL},
    {"type", global_get_type, NULL, "GlobalType(content, mutable).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject wpy_GlobalType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Global",
    .tp_doc = "Global(valtype, value=0, mutable=False)\n\nA global variable of the given value type.",
    .tp_basicsize = sizeof(wpy_Global),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = global_new,
    .tp_dealloc = global_dealloc,
    .tp_traverse = global_traverse,
    .tp_repr = global_repr,
    .tp_getset = global_getset,
};
