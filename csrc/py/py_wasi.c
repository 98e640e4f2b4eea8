/* py_wasi.c: wasmprof._core.WasiCtx (a wp_wasi) and wasmprof.Exit.
 *
 * WasiCtx(args, env, preopens) holds the C context; python/wasmprof/wasi.py
 * builds it from the friendly Wasi(...) arguments.  Standard streams are
 * host descriptors or Python callables (read(n) -> bytes, write(bytes)),
 * called with the GIL held (it is held while the guest runs).  A callable
 * that raises makes the WASI call fail with errno `io`; the exception is
 * reported with sys.unraisablehook, since the guest, not Python, decides
 * what happens next.
 *
 * func(name) returns a Func whose C function belongs to the context; the
 * Func keeps the WasiCtx alive (in its `callable` slot), so the context
 * outlives every instance that imports its functions. */
#include "core.h"
#include "wasmprof_wasi.h"

PyObject *wpy_Exit;

typedef struct wpy_WasiCtx {
  PyObject_HEAD
  wp_wasi *wasi;
  PyObject *streams[3][2]; /* [which][0 read, 1 write] callables */
} wpy_WasiCtx;

/* strings_arg: a sequence of str (file system encoding) or bytes as a new
 * array of malloc'd C strings (strings_free). */
static int strings_arg(PyObject *seq, const char *what, char ***out, uint32_t *n) {
  PyObject *fast = PySequence_Fast(seq, what);
  if (!fast) return -1;
  Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
  char **v = PyMem_Calloc(len ? (size_t)len : 1, sizeof *v);
  if (!v) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < len; i++) {
    PyObject *item = PySequence_Fast_GET_ITEM(fast, i), *b = NULL;
    if (PyUnicode_Check(item)) b = PyUnicode_EncodeFSDefault(item);
    else if (PyBytes_Check(item)) {
      Py_INCREF(item);
      b = item;
    }
    else PyErr_Format(PyExc_TypeError, "%s must hold str or bytes, not %.100s", what, Py_TYPE(item)->tp_name);
    if (b && (Py_ssize_t)strlen(PyBytes_AS_STRING(b)) != PyBytes_GET_SIZE(b)) {
      PyErr_Format(PyExc_ValueError, "%s: embedded NUL character", what);
      Py_CLEAR(b);
    }
    if (b && !(v[i] = strdup(PyBytes_AS_STRING(b)))) PyErr_NoMemory();
    Py_XDECREF(b);
    if (!v[i]) {
      for (Py_ssize_t j = 0; j < i; j++) free(v[j]);
      PyMem_Free(v);
      Py_DECREF(fast);
      return -1;
    }
  }
  Py_DECREF(fast);
  *out = v;
  *n = (uint32_t)len;
  return 0;
}

static void strings_free(char **v, uint32_t n) {
  if (!v) return;
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  PyMem_Free(v);
}

static PyObject *wasictx_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"args", "env", "preopens", NULL};
  PyObject *args_o, *env_o, *pre_o;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:WasiCtx", kwlist, &args_o, &env_o, &pre_o)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  wpy_WasiCtx *self = (wpy_WasiCtx *)type->tp_alloc(type, 0);
  if (!self) return NULL;
  if (!(self->wasi = wp_wasi_new(&err))) goto fail_err;
  char **v = NULL;
  uint32_t n = 0;
  if (strings_arg(args_o, "args", &v, &n) < 0) goto fail;
  int rc = wp_wasi_set_args(self->wasi, n, (const char *const *)v);
  strings_free(v, n);
  if (rc < 0) goto nomem;
  if (strings_arg(env_o, "env", &v, &n) < 0) goto fail;
  rc = wp_wasi_set_env(self->wasi, n, (const char *const *)v);
  strings_free(v, n);
  if (rc < 0) goto nomem;
  PyObject *fast = PySequence_Fast(pre_o, "preopens must be a sequence of (host, guest) pairs");
  if (!fast) goto fail;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
    PyObject *host = NULL, *guest = NULL;
    PyObject *pair = PySequence_Fast_GET_ITEM(fast, i);
    if (!PyArg_ParseTuple(pair, "O&O&:preopen", PyUnicode_FSConverter, &host, PyUnicode_FSConverter, &guest)) {
      Py_XDECREF(host);
      Py_DECREF(fast);
      goto fail;
    }
    rc = wp_wasi_preopen(self->wasi, PyBytes_AS_STRING(host), PyBytes_AS_STRING(guest), &err);
    Py_DECREF(host);
    Py_DECREF(guest);
    if (rc < 0) {
      Py_DECREF(fast);
      if (err.kind == WP_ERR_ARG) {
        PyErr_SetString(PyExc_OSError, err.message);
        goto fail;
      }
      goto fail_err;
    }
  }
  Py_DECREF(fast);
  return (PyObject *)self;
nomem:
  PyErr_NoMemory();
  goto fail;
fail_err:
  wpy_raise(&err);
fail:
  Py_DECREF(self);
  return NULL;
}

static int wasictx_traverse(PyObject *o, visitproc visit, void *arg) {
  wpy_WasiCtx *self = (wpy_WasiCtx *)o;
  for (int i = 0; i < 3; i++) {
    Py_VISIT(self->streams[i][0]);
    Py_VISIT(self->streams[i][1]);
  }
  return 0;
}

static int wasictx_clear(PyObject *o) {
  /* The callables stay until dealloc: the C context may still call them. */
  (void)o;
  return 0;
}

static void wasictx_dealloc(PyObject *o) {
  wpy_WasiCtx *self = (wpy_WasiCtx *)o;
  PyObject_GC_UnTrack(o);
  wp_wasi_free(self->wasi);
  self->wasi = NULL;
  for (int i = 0; i < 3; i++) {
    Py_CLEAR(self->streams[i][0]);
    Py_CLEAR(self->streams[i][1]);
  }
  Py_TYPE(o)->tp_free(o);
}

/* ---- stream callbacks ---- */

#define WASI_EIO_NEG (-29)

static int64_t call_read(void *ctx, uint8_t *buf, size_t len) {
  PyObject *r = PyObject_CallFunction((PyObject *)ctx, "n", (Py_ssize_t)len);
  if (!r) {
    PyErr_WriteUnraisable((PyObject *)ctx);
    return WASI_EIO_NEG;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(r, &view, PyBUF_SIMPLE) < 0) {
    Py_DECREF(r);
    PyErr_WriteUnraisable((PyObject *)ctx);
    return WASI_EIO_NEG;
  }
  size_t n = (size_t)view.len < len ? (size_t)view.len : len;
  memcpy(buf, view.buf, n);
  PyBuffer_Release(&view);
  Py_DECREF(r);
  return (int64_t)n;
}

static int64_t call_write(void *ctx, const uint8_t *buf, size_t len) {
  PyObject *data = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
  PyObject *r = data ? PyObject_CallOneArg((PyObject *)ctx, data) : NULL;
  Py_XDECREF(data);
  if (!r) {
    PyErr_WriteUnraisable((PyObject *)ctx);
    return WASI_EIO_NEG;
  }
  /* write() may say how much it took (raw files); None means everything. */
  int64_t n = (int64_t)len;
  if (PyLong_Check(r)) {
    long long k = PyLong_AsLongLong(r);
    if (k >= 0 && (unsigned long long)k <= len) n = k;
    PyErr_Clear();
  }
  Py_DECREF(r);
  return n;
}

/* set_stdio(which, spec): spec is a host descriptor (int) or a pair
 * (read callable or None, write callable or None). */
static PyObject *wasictx_set_stdio(PyObject *o, PyObject *args) {
  wpy_WasiCtx *self = (wpy_WasiCtx *)o;
  int which;
  PyObject *spec;
  if (!PyArg_ParseTuple(args, "iO:set_stdio", &which, &spec)) return NULL;
  if (which < 0 || which > 2) {
    PyErr_SetString(PyExc_ValueError, "which must be 0, 1 or 2");
    return NULL;
  }
  if (PyLong_Check(spec)) {
    long fd = PyLong_AsLong(spec);
    if (fd == -1 && PyErr_Occurred()) return NULL;
    if (fd < 0 || fd > INT32_MAX) {
      PyErr_SetString(PyExc_ValueError, "a host descriptor must be a non-negative int");
      return NULL;
    }
    if (wp_wasi_set_stdio_fd(self->wasi, which, (int)fd) < 0) return PyErr_NoMemory();
    Py_CLEAR(self->streams[which][0]);
    Py_CLEAR(self->streams[which][1]);
    Py_RETURN_NONE;
  }
  PyObject *rd, *wr;
  if (!PyArg_ParseTuple(spec, "OO:stdio callbacks", &rd, &wr)) return NULL;
  if ((rd != Py_None && !PyCallable_Check(rd)) || (wr != Py_None && !PyCallable_Check(wr))) {
    PyErr_SetString(PyExc_TypeError, "stdio callbacks must be callables or None");
    return NULL;
  }
  PyObject *r = rd == Py_None ? NULL : (Py_INCREF(rd), rd), *w = wr == Py_None ? NULL : (Py_INCREF(wr), wr);
  /* One context pointer per stream: the read callable for stdin, the write one otherwise. */
  int rc = wp_wasi_set_stdio_callbacks(self->wasi, which, r ? call_read : NULL, w ? call_write : NULL,
                                       which == 0 ? (void *)r : (void *)w);
  if (rc < 0) {
    Py_XDECREF(r);
    Py_XDECREF(w);
    return PyErr_NoMemory();
  }
  if (which == 0 && w) Py_CLEAR(w); /* stdin only reads */
  if (which != 0 && r) Py_CLEAR(r);
  Py_XSETREF(self->streams[which][0], r);
  Py_XSETREF(self->streams[which][1], w);
  Py_RETURN_NONE;
}

static PyObject *wasictx_func(PyObject *o, PyObject *name) {
  wpy_WasiCtx *self = (wpy_WasiCtx *)o;
  Py_ssize_t len;
  const char *s = PyUnicode_AsUTF8AndSize(name, &len);
  if (!s) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_func *f = wp_wasi_func_new(self->wasi, s, (uint32_t)len, &err);
  if (!f) return wpy_raise(&err);
  PyObject *fo = wpy_func_wrap(f);
  if (!fo) return NULL;
  wpy_Func *func = (wpy_Func *)fo;
  /* a wrapper of a host function it does not own: it keeps the context alive */
  func->owned = false;
  Py_XSETREF(func->callable, (Py_INCREF(o), o));
  return fo;
}

static PyMethodDef wasictx_methods[] = {
    {"set_stdio", wasictx_set_stdio, METH_VARARGS,
     "set_stdio(which, spec): 0/1/2 from a host descriptor (int) or (read, write) callables."},
    {"func", wasictx_func, METH_O, "func(name) -> Func: the preview1 function `name` bound to this context."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_WasiCtxType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof._core.WasiCtx",
    .tp_doc = "WasiCtx(args, env, preopens): a WASI preview1 context (see wasmprof.Wasi).",
    .tp_basicsize = sizeof(wpy_WasiCtx),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = wasictx_new,
    .tp_dealloc = wasictx_dealloc,
    .tp_traverse = wasictx_traverse,
    .tp_clear = wasictx_clear,
    .tp_methods = wasictx_methods,
};

/* ---- Exit ---- */

PyObject *wpy_raise_exit(const wp_error *err) {
  PyObject *code = PyLong_FromLong(err->exit_code);
  PyObject *exc = code ? PyObject_CallFunction(wpy_Exit, "s", err->message) : NULL;
  if (exc && PyObject_SetAttrString(exc, "code", code) == 0) PyErr_SetObject(wpy_Exit, exc);
  Py_XDECREF(exc);
  Py_XDECREF(code);
  return NULL;
}

int wpy_wasi_init(PyObject *m) {
  if (!wpy_Exit) {
    PyObject *dict = Py_BuildValue("{s:i}", "code", 0);
    if (!dict) return -1;
    wpy_Exit = PyErr_NewExceptionWithDoc("wasmprof.Exit", "The guest called WASI proc_exit (.code: its exit status).",
                                         wpy_Error, dict);
    Py_DECREF(dict);
    if (!wpy_Exit) return -1;
  }
  if (PyType_Ready(&wpy_WasiCtxType) < 0) return -1;
  Py_INCREF(wpy_Exit);
  if (PyModule_AddObject(m, "Exit", wpy_Exit) < 0) {
    Py_DECREF(wpy_Exit);
    return -1;
  }
  Py_INCREF(&wpy_WasiCtxType);
  if (PyModule_AddObject(m, "WasiCtx", (PyObject *)&wpy_WasiCtxType) < 0) {
    Py_DECREF(&wpy_WasiCtxType);
    return -1;
  }
  return 0;
}
