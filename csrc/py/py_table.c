/* py_table.c: wasmprof.Table, a table of references (exported or host-made).
 * Elements are Func/None (funcref) or any Python object/None (externref),
 * converted as in py_values.c. */
#include "core.h"

static wp_table *get(PyObject *o) {
  wp_table *t = ((wpy_Table *)o)->table;
  if (!t) PyErr_SetString(PyExc_ValueError, "uninitialised Table");
  return t;
}

PyObject *wpy_table_wrap(wp_table *t, PyObject *owner) {
  wpy_Table *self = (wpy_Table *)wpy_TableType.tp_alloc(&wpy_TableType, 0);
  if (!self) return NULL;
  self->table = t;
  Py_XINCREF(owner);
  self->owner = owner;
  return (PyObject *)self;
}

static PyObject *table_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"element", "min", "max", "init", NULL};
  PyObject *elem_o = NULL, *min_o = NULL, *max_o = Py_None, *init_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOOO:Table", kwlist, &elem_o, &min_o, &max_o, &init_o))
    return NULL;
  wp_valtype elem = WP_FUNCREF;
  if (elem_o && wpy_valtype_from_name(elem_o, &elem) < 0) return NULL;
  if (elem != WP_FUNCREF && elem != WP_EXTERNREF) {
    PyErr_SetString(PyExc_ValueError, "table element type must be 'funcref' or 'externref'");
    return NULL;
  }
  PyObject *zero = NULL;
  if (!min_o) min_o = zero = PyLong_FromLong(0);
  if (!min_o) return NULL;
  wp_limits limits;
  int rc = wpy_parse_limits(min_o, max_o, UINT32_MAX, "table", &limits);
  Py_XDECREF(zero);
  if (rc < 0) return NULL;
  wp_slot init = 0;
  if (wpy_to_slot(init_o, elem, &init) < 0) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_table *t = wp_table_new(elem, limits, init, &err);
  if (!t) {
    if (err.kind == WP_OK) return PyErr_NoMemory();
    return wpy_raise(&err);
  }
  wpy_Table *self = (wpy_Table *)type->tp_alloc(type, 0);
  if (!self) {
    wp_table_free(t);
    return NULL;
  }
  self->table = t;
  return (PyObject *)self;
}

static int table_traverse(PyObject *o, visitproc visit, void *arg) {
  Py_VISIT(((wpy_Table *)o)->owner);
  return 0;
}

static void table_dealloc(PyObject *o) {
  wpy_Table *self = (wpy_Table *)o;
  PyObject_GC_UnTrack(o);
  if (!self->owner && self->table) wp_table_free(self->table);
  self->table = NULL;
  wpy_export_forget(self->owner, self->export_slot, o);
  Py_CLEAR(self->owner);
  Py_TYPE(o)->tp_free(o);
}

static Py_ssize_t table_len(PyObject *o) {
  wp_table *t = get(o);
  return t ? (Py_ssize_t)wp_table_size(t) : -1;
}

/* index: a Python index (negative counts from the end) checked against the size. */
static int index_arg(wp_table *t, PyObject *key, uint32_t *out) {
  if (!PyIndex_Check(key)) {
    PyErr_Format(PyExc_TypeError, "table indices must be integers, not %.100s", Py_TYPE(key)->tp_name);
    return -1;
  }
  Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
  if (i == -1 && PyErr_Occurred()) return -1;
  Py_ssize_t size = (Py_ssize_t)wp_table_size(t);
  if (i < 0) i += size;
  if (i < 0 || i >= size) {
    PyErr_SetString(PyExc_IndexError, "table index out of range");
    return -1;
  }
  *out = (uint32_t)i;
  return 0;
}

static PyObject *table_getitem(PyObject *o, PyObject *key) {
  wp_table *t = get(o);
  if (!t) return NULL;
  uint32_t i;
  if (index_arg(t, key, &i) < 0) return NULL;
  wp_slot s;
  if (!wp_table_get(t, i, &s)) {
    PyErr_SetString(PyExc_IndexError, "table index out of range");
    return NULL;
  }
  return wpy_from_slot(s, wp_table_elemtype(t), false);
}

static int table_setitem(PyObject *o, PyObject *key, PyObject *value) {
  wp_table *t = get(o);
  if (!t) return -1;
  if (!value) {
    PyErr_SetString(PyExc_TypeError, "table elements cannot be deleted (assign None instead)");
    return -1;
  }
  uint32_t i;
  if (index_arg(t, key, &i) < 0) return -1;
  wp_slot s;
  if (wpy_to_slot(value, wp_table_elemtype(t), &s) < 0) return -1;
  if (!wp_table_set(t, i, s)) {
    PyErr_SetString(PyExc_IndexError, "table index out of range");
    return -1;
  }
  return 0;
}

static PyObject *table_grow(PyObject *o, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"delta", "init", NULL};
  PyObject *delta_o, *init_o = Py_None;
  wp_table *t = get(o);
  if (!t) return NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:grow", kwlist, &delta_o, &init_o)) return NULL;
  uint32_t delta;
  if (wpy_u32_arg(delta_o, "delta", &delta) < 0) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_SetString(wpy_LimitError, "cannot grow table: too many elements");
    }
    return NULL;
  }
  wp_slot init;
  if (wpy_to_slot(init_o, wp_table_elemtype(t), &init) < 0) return NULL;
  int64_t old = wp_table_grow(t, delta, init);
  if (old < 0)
    return PyErr_Format(wpy_LimitError, "cannot grow table by %u elements (size %u)", (unsigned)delta,
                        (unsigned)wp_table_size(t));
  return PyLong_FromLongLong(old);
}

static PyObject *table_get_type(PyObject *o, void *closure) {
  (void)closure;
  wp_table *t = get(o);
  if (!t) return NULL;
  wp_extern_type ty;
  memset(&ty, 0, sizeof ty);
  ty.kind = WP_EXTERN_TABLE;
  ty.valtype = wp_table_elemtype(t);
  ty.limits = wp_table_limits(t);
  return wpy_extern_type_to_py(&ty);
}

static PyObject *table_repr(PyObject *o) {
  wp_table *t = ((wpy_Table *)o)->table;
  if (!t) return PyUnicode_FromString("<wasmprof.Table (uninitialised)>");
  return PyUnicode_FromFormat("<wasmprof.Table %s size=%u>", wp_valtype_name((wp_valtype)wp_table_elemtype(t)),
                              (unsigned)wp_table_size(t));
}

/* sq_item: for iteration (negative indices were already adjusted by Python). */
static PyObject *table_sq_item(PyObject *o, Py_ssize_t i) {
  wp_table *t = get(o);
  if (!t) return NULL;
  wp_slot s;
  if (i < 0 || i >= (Py_ssize_t)wp_table_size(t) || !wp_table_get(t, (uint32_t)i, &s)) {
    PyErr_SetString(PyExc_IndexError, "table index out of range");
    return NULL;
  }
  return wpy_from_slot(s, wp_table_elemtype(t), false);
}

static PyMappingMethods table_as_mapping = {
    .mp_length = table_len,
    .mp_subscript = table_getitem,
    .mp_ass_subscript = table_setitem,
};

static PySequenceMethods table_as_sequence = {
    .sq_length = table_len,
    .sq_item = table_sq_item,
};

static PyGetSetDef table_getset[] = {
    {"type", table_get_type, NULL, "TableType(element, min=current size, max).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef table_methods[] = {
    {"grow", (PyCFunction)(void (*)(void))table_grow, METH_VARARGS | METH_KEYWORDS,
     "grow(delta, init=None) -> int\n\nGrow by delta elements set to init; returns the old size,\n"
     "raises LimitError if it cannot."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Table",
    .tp_doc = "Table(element='funcref', min=0, max=None, init=None)\n\n"
              "A table of references: Func/None for funcref, any object/None for externref.",
    .tp_basicsize = sizeof(wpy_Table),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = table_new,
    .tp_dealloc = table_dealloc,
    .tp_traverse = table_traverse,
    .tp_repr = table_repr,
    .tp_as_mapping = &table_as_mapping,
    .tp_as_sequence = &table_as_sequence,
    .tp_getset = table_getset,
    .tp_methods = table_methods,
};
