/* py_memory.c: wasmprof.Memory, a linear memory (exported or host-made).
 *
 * The buffer protocol exposes the accessible bytes.  The core never moves a
 * memory's data (runtime.h: the whole range is reserved up front), so a
 * memoryview stays valid, but its length is the size when it was taken:
 * after memory.grow(), take memory.data again to see the new pages. */
#include "core.h"

static wp_memory *get(PyObject *o) {
  wp_memory *m = ((wpy_Memory *)o)->mem;
  if (!m) PyErr_SetString(PyExc_ValueError, "uninitialised Memory");
  return m;
}

PyObject *wpy_memory_wrap(wp_memory *m, PyObject *owner) {
  wpy_Memory *self = (wpy_Memory *)wpy_MemoryType.tp_alloc(&wpy_MemoryType, 0);
  if (!self) return NULL;
  self->mem = m;
  Py_XINCREF(owner);
  self->owner = owner;
  return (PyObject *)self;
}

int wpy_parse_limits(PyObject *min_o, PyObject *max_o, uint32_t ceiling, const char *what, wp_limits *out) {
  memset(out, 0, sizeof *out);
  if (wpy_u32_arg(min_o, "min", &out->min) < 0) return -1;
  if (out->min > ceiling) {
    PyErr_Format(PyExc_ValueError, "%s min %u exceeds %u", what, (unsigned)out->min, (unsigned)ceiling);
    return -1;
  }
  if (max_o && max_o != Py_None) {
    if (wpy_u32_arg(max_o, "max", &out->max) < 0) return -1;
    if (out->max > ceiling) {
      PyErr_Format(PyExc_ValueError, "%s max %u exceeds %u", what, (unsigned)out->max, (unsigned)ceiling);
      return -1;
    }
    if (out->max < out->min) {
      PyErr_Format(PyExc_ValueError, "%s max %u is less than min %u", what, (unsigned)out->max,
                   (unsigned)out->min);
      return -1;
    }
    out->has_max = true;
  }
  return 0;
}

static PyObject *memory_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"min", "max", NULL};
  PyObject *min_o, *max_o = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:Memory", kwlist, &min_o, &max_o)) return NULL;
  wp_limits limits;
  if (wpy_parse_limits(min_o, max_o, WP_MAX_PAGES, "memory", &limits) < 0) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_memory *m = wp_memory_new(limits, &err);
  if (!m) {
    if (err.kind == WP_OK) return PyErr_NoMemory();
    return wpy_raise(&err);
  }
  wpy_Memory *self = (wpy_Memory *)type->tp_alloc(type, 0);
  if (!self) {
    wp_memory_free(m);
    return NULL;
  }
  self->mem = m;
  return (PyObject *)self;
}

static int memory_traverse(PyObject *o, visitproc visit, void *arg) {
  Py_VISIT(((wpy_Memory *)o)->owner);
  return 0;
}

static void memory_dealloc(PyObject *o) {
  wpy_Memory *self = (wpy_Memory *)o;
  PyObject_GC_UnTrack(o);
  if (!self->owner && self->mem) wp_memory_free(self->mem);
  self->mem = NULL;
  wpy_export_forget(self->owner, self->export_slot, o);
  Py_CLEAR(self->owner);
  Py_TYPE(o)->tp_free(o);
}

/* ---- buffer protocol --------------------------------------------------------------------------- */

static int memory_getbuffer(PyObject *o, Py_buffer *view, int flags) {
  wp_memory *m = get(o);
  if (!m) {
    view->obj = NULL;
    return -1;
  }
  static uint8_t empty;
  uint8_t *data = wp_memory_data(m);
  uint64_t size = wp_memory_size(m);
  if (!data || size == 0) {
    data = &empty;
    size = 0;
  }
  return PyBuffer_FillInfo(view, o, data, (Py_ssize_t)size, 0, flags);
}

static PyBufferProcs memory_as_buffer = {
    .bf_getbuffer = memory_getbuffer,
};

/* ---- methods ------------------------------------------------------------------------------------ */

static int check_range(wp_memory *m, uint64_t addr, uint64_t n) {
  uint64_t size = wp_memory_size(m);
  if (addr > size || n > size - addr) {
    PyErr_Format(PyExc_IndexError, "memory access [%llu, %llu + %llu) out of bounds (size %llu)",
                 (unsigned long long)addr, (unsigned long long)addr, (unsigned long long)n,
                 (unsigned long long)size);
    return -1;
  }
  return 0;
}

static PyObject *memory_read(PyObject *o, PyObject *const *args, Py_ssize_t nargs) {
  wp_memory *m = get(o);
  if (!m) return NULL;
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "read(addr, n) takes 2 arguments");
    return NULL;
  }
  uint64_t addr, n;
  if (wpy_u64_arg(args[0], "addr", &addr) < 0 || wpy_u64_arg(args[1], "n", &n) < 0) {
    if (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_SetString(PyExc_IndexError, "memory read out of bounds");
    }
    return NULL;
  }
  if (check_range(m, addr, n) < 0) return NULL;
  return PyBytes_FromStringAndSize((const char *)wp_memory_data(m) + addr, (Py_ssize_t)n);
}

static PyObject *memory_write(PyObject *o, PyObject *const *args, Py_ssize_t nargs) {
  wp_memory *m = get(o);
  if (!m) return NULL;
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "write(addr, data) takes 2 arguments");
    return NULL;
  }
  uint64_t addr;
  if (wpy_u64_arg(args[0], "addr", &addr) < 0) {
    if (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_SetString(PyExc_IndexError, "memory write out of bounds");
    }
    return NULL;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(args[1], &view, PyBUF_SIMPLE) < 0) return NULL;
  int rc = check_range(m, addr, (uint64_t)view.len);
  if (rc == 0 && view.len) memmove(wp_memory_data(m) + addr, view.buf, (size_t)view.len);
  PyBuffer_Release(&view);
  if (rc < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject *memory_grow(PyObject *o, PyObject *arg) {
  wp_memory *m = get(o);
  if (!m) return NULL;
  uint32_t delta;
  if (wpy_u32_arg(arg, "delta", &delta) < 0) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_SetString(wpy_LimitError, "cannot grow memory: too many pages");
    }
    return NULL;
  }
  int64_t old = wp_memory_grow(m, delta);
  if (old < 0 && m->host_max_pages && (uint64_t)m->limits.min + delta > m->host_max_pages)
    return PyErr_Format(wpy_LimitError,
                        "cannot grow memory by %u pages (size %u pages): limit max_memory_pages=%u",
                        (unsigned)delta, (unsigned)m->limits.min, (unsigned)m->host_max_pages);
  if (old < 0)
    return PyErr_Format(wpy_LimitError, "cannot grow memory by %u pages (size %u pages)", (unsigned)delta,
                        (unsigned)(wp_memory_size(m) / WP_PAGE_SIZE));
  return PyLong_FromLongLong(old);
}

static PyObject *memory_get_data(PyObject *o, void *closure) {
  (void)closure;
  return PyMemoryView_FromObject(o);
}

static PyObject *memory_get_size(PyObject *o, void *closure) {
  (void)closure;
  wp_memory *m = get(o);
  return m ? PyLong_FromUnsignedLongLong(wp_memory_size(m)) : NULL;
}

static PyObject *memory_get_pages(PyObject *o, void *closure) {
  (void)closure;
  wp_memory *m = get(o);
  return m ? PyLong_FromUnsignedLongLong(wp_memory_size(m) / WP_PAGE_SIZE) : NULL;
}

static PyObject *memory_get_type(PyObject *o, void *closure) {
  (void)closure;
  wp_memory *m = get(o);
  if (!m) return NULL;
  wp_extern_type t;
  memset(&t, 0, sizeof t);
  t.kind = WP_EXTERN_MEMORY;
  t.limits = wp_memory_limits(m);
  return wpy_extern_type_to_py(&t);
}

static PyObject *memory_repr(PyObject *o) {
  wp_memory *m = ((wpy_Memory *)o)->mem;
  if (!m) return PyUnicode_FromString("<wasmprof.Memory (uninitialised)>");
  wp_limits l = wp_memory_limits(m);
  if (l.has_max)
    return PyUnicode_FromFormat("<wasmprof.Memory pages=%u max=%u>", (unsigned)l.min, (unsigned)l.max);
  return PyUnicode_FromFormat("<wasmprof.Memory pages=%u>", (unsigned)l.min);
}

static PyGetSetDef memory_getset[] = {
    {"data", memory_get_data, NULL,
     "A writable memoryview of the memory. Its length is fixed when taken: take it again after grow().",
     NULL},
    {"size", memory_get_size, NULL, "Size in bytes.", NULL},
    {"pages", memory_get_pages, NULL, "Size in 64 KiB pages.", NULL},
    {"type", memory_get_type, NULL, "MemoryType(min=current pages, max).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef memory_methods[] = {
    {"read", (PyCFunction)(void (*)(void))memory_read, METH_FASTCALL,
     "read(addr, n) -> bytes\n\nRead n bytes at addr (IndexError when out of bounds)."},
    {"write", (PyCFunction)(void (*)(void))memory_write, METH_FASTCALL,
     "write(addr, data)\n\nWrite a bytes-like object at addr (IndexError when out of bounds)."},
    {"grow", memory_grow, METH_O,
     "grow(delta) -> int\n\nGrow by delta pages; returns the old page count, raises LimitError if it cannot."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_MemoryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Memory",
    .tp_doc = "Memory(min, max=None)\n\nA linear memory of min pages (64 KiB each), growable up to max.",
    .tp_basicsize = sizeof(wpy_Memory),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = memory_new,
    .tp_dealloc = memory_dealloc,
    .tp_traverse = memory_traverse,
    .tp_repr = memory_repr,
    .tp_as_buffer = &memory_as_buffer,
    .tp_getset = memory_getset,
    .tp_methods = memory_methods,
};
