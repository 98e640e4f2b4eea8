/* py_coredump.c: writing WebAssembly coredumps from Python (the reader is
 * python/wasmprof/coredump.py).
 *
 * A trapping call from Python (func_invoke in py_func.c) calls
 * wpy_coredump_on_trap before raising the Trap, while the trapped frames
 * are still on this thread's wp_exec.  Whether and where to write is the
 * called function's Instance's `coredump` setting (None: the environment
 * variable WASMPROF_COREDUMP; False: never; else a path or a directory),
 * resolved by wasmprof.coredump.trap_path() in Python.  A failure to write
 * never hides the trap: it becomes a RuntimeWarning. */
#include "core.h"

/* setting_of: the coredump setting of the Instance a function belongs to (borrowed). */
static PyObject *setting_of(const wpy_Func *f) {
  if (f->owner && PyObject_TypeCheck(f->owner, &wpy_InstanceType)) {
    PyObject *s = ((wpy_Instance *)f->owner)->coredump;
    if (s) return s;
  }
  return Py_None;
}

/* warn_failure: turn the current exception into a RuntimeWarning. */
static void warn_failure(const char *what) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject *text = value ? PyObject_Str(value) : NULL;
  if (!text) PyErr_Clear();
  if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "%s: %U", what, text ? text : Py_None) < 0)
    PyErr_Clear(); /* warnings as errors: the trap still wins */
  Py_XDECREF(text);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

static int write_current(PyObject *path, const char *executable) {
  PyObject *bytes = NULL;
  if (!PyUnicode_FSConverter(path, &bytes)) return -1;
  wp_exec *ex = wpy_exec();
  if (!ex) {
    Py_DECREF(bytes);
    return -1;
  }
  wp_error err;
  memset(&err, 0, sizeof err);
  int rc = wp_coredump_write(ex, PyBytes_AS_STRING(bytes), executable, &err);
  Py_DECREF(bytes);
  if (rc != 0) {
    PyErr_SetString(err.kind == WP_ERR_NOMEM ? PyExc_MemoryError : PyExc_OSError, err.message);
    return -1;
  }
  return 0;
}

PyObject *wpy_coredump_on_trap(const wpy_Func *f) {
  PyObject *setting = setting_of(f);
  if (setting == Py_False) return NULL;
  if (setting == Py_None && !getenv("WASMPROF_COREDUMP")) return NULL; /* the common case: no import */
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb); /* nothing should be pending; keep it if so */
  PyObject *path = NULL;
  PyObject *mod = PyImport_ImportModule("wasmprof.coredump");
  if (mod) {
    path = PyObject_CallMethod(mod, "trap_path", "O", setting);
    Py_DECREF(mod);
  }
  if (path == Py_None) Py_CLEAR(path);
  else if (path && write_current(path, NULL) < 0) Py_CLEAR(path);
  if (PyErr_Occurred()) warn_failure("wasmprof could not write a coredump");
  PyErr_Restore(type, value, tb);
  return path;
}

void wpy_coredump_note(PyObject *path) {
  if (!path || !PyErr_Occurred()) return;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value) {
    if (PyObject_SetAttrString(value, "coredump", path) < 0) PyErr_Clear();
    PyObject *note = PyUnicode_FromFormat("wasm coredump written to %U", path);
    PyObject *r = note ? PyObject_CallMethod(value, "add_note", "O", note) : NULL;
    if (!r) PyErr_Clear(); /* add_note is Python 3.11+ */
    Py_XDECREF(r);
    Py_XDECREF(note);
  }
  PyErr_Restore(type, value, tb);
}

PyObject *wpy_core_write_coredump(PyObject *mod, PyObject *args, PyObject *kwds) {
  (void)mod;
  static char *kwlist[] = {"path", "executable_name", NULL};
  PyObject *path;
  const char *executable = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|z:write_coredump", kwlist, &path, &executable)) return NULL;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  if (!wp_exec_frame(ex, 0)) {
    PyErr_SetString(wpy_Error, "no trapped frames to dump: write_coredump must follow a trapping call");
    return NULL;
  }
  if (write_current(path, executable) < 0) return NULL;
  Py_RETURN_NONE;
}
