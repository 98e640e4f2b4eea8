/* module.c: the extension module wasmprof._core: exception classes, the
 * per-thread execution context, the host-exception stash and the
 * process-wide list of deliberately leaked references. */
#include "core.h"

PyObject *wpy_Error;
PyObject *wpy_DecodeError;
PyObject *wpy_ValidationError;
PyObject *wpy_LinkError;
PyObject *wpy_Trap;
PyObject *wpy_LimitError;

/* ---- the per-thread execution context ------------------------------------------
 * One wp_exec per OS thread, created lazily and shared by nested calls
 * (Python -> guest -> host -> guest ...).  A capsule in the thread state's
 * dict frees it when the thread's state is cleared. */

static _Thread_local wp_exec *tls_exec;

#define EXEC_KEY "wasmprof._core.exec"

static void exec_capsule_free(PyObject *capsule) {
  wp_exec *ex = PyCapsule_GetPointer(capsule, EXEC_KEY);
  if (!ex) {
    PyErr_Clear();
    return;
  }
  if (tls_exec == ex) tls_exec = NULL;
  wpy_guest_forget(ex);
  wp_exec_free(ex);
}

wp_exec *wpy_exec(void) {
  if (tls_exec) return tls_exec;
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_exec *ex = wp_exec_new(NULL, &err);
  if (!ex) {
    if (err.kind == WP_OK) PyErr_NoMemory();
    else wpy_raise(&err);
    return NULL;
  }
  PyObject *dict = PyThreadState_GetDict();
  if (dict) {
    PyObject *capsule = PyCapsule_New(ex, EXEC_KEY, exec_capsule_free);
    if (!capsule) {
      wp_exec_free(ex);
      return NULL;
    }
    int rc = PyDict_SetItemString(dict, EXEC_KEY, capsule);
    Py_DECREF(capsule); /* on failure the capsule's destructor freed ex */
    if (rc < 0) return NULL;
  }
  /* Without a thread-state dict the context lives as long as the thread
   * (never freed): acceptable, this does not happen in practice. */
  tls_exec = ex;
  return ex;
}

/* ---- the host-exception stash ---------------------------------------------------- */

#if PY_VERSION_HEX >= 0x030C0000
static _Thread_local PyObject *stash_exc;

void wpy_stash_exception(void) {
  PyObject *exc = PyErr_GetRaisedException();
  PyObject *old = stash_exc;
  stash_exc = exc;
  Py_XDECREF(old);
}

bool wpy_restore_exception(void) {
  if (!stash_exc) return false;
  PyObject *exc = stash_exc;
  stash_exc = NULL;
  PyErr_SetRaisedException(exc);
  return true;
}
#else
static _Thread_local PyObject *stash_type, *stash_value, *stash_tb;

void wpy_stash_exception(void) {
  PyObject *t, *v, *tb;
  PyErr_Fetch(&t, &v, &tb);
  PyObject *ot = stash_type, *ov = stash_value, *otb = stash_tb;
  stash_type = t;
  stash_value = v;
  stash_tb = tb;
  Py_XDECREF(ot);
  Py_XDECREF(ov);
  Py_XDECREF(otb);
}

bool wpy_restore_exception(void) {
  if (!stash_type) return false;
  PyErr_Restore(stash_type, stash_value, stash_tb);
  stash_type = stash_value = stash_tb = NULL;
  return true;
}
#endif

/* ---- deliberate leaks ---------------------------------------------------------------
 * Objects that a C structure may still point to after Python let go of them
 * (the imports of an instance kept alive by another instance's table, the
 * imports of an instantiation that trapped half-way, ...).  Documented in
 * core.h and in the files that use it. */

static PyObject *forever;

int wpy_keep_forever(PyObject *obj) { return PyList_Append(forever, obj); }

/* ---- presentation types from python/wasmprof/types.py ------------------------------ */

static PyObject *types_module;

PyObject *wpy_types_new(const char *name, PyObject *args) {
  if (!args) return NULL;
  if (!types_module) {
    types_module = PyImport_ImportModule("wasmprof.types");
    if (!types_module) {
      Py_DECREF(args);
      return NULL;
    }
  }
  PyObject *cls = PyObject_GetAttrString(types_module, name);
  if (!cls) {
    Py_DECREF(args);
    return NULL;
  }
  PyObject *r = PyObject_CallObject(cls, args);
  Py_DECREF(cls);
  Py_DECREF(args);
  return r;
}

/* ---- module-level functions --------------------------------------------------------- */

static PyObject *core_extern_to_bits(PyObject *self, PyObject *obj) {
  (void)self;
  wp_slot s = 0;
  if (obj != Py_None && wpy_extern_token(obj, &s) < 0) return NULL;
  return PyLong_FromUnsignedLongLong(s);
}

static PyObject *core_extern_from_bits(PyObject *self, PyObject *arg) {
  (void)self;
  wp_slot s;
  if (wpy_bits_to_slot(arg, WP_EXTERNREF, &s) < 0) return NULL;
  return wpy_from_slot(s, WP_EXTERNREF, false);
}

static PyMethodDef core_methods[] = {
    {"extern_to_bits", core_extern_to_bits, METH_O,
     "extern_to_bits(obj) -> int\n\nThe externref bits (token) for a Python object; None gives 0."},
    {"extern_from_bits", core_extern_from_bits, METH_O,
     "extern_from_bits(bits) -> object\n\nThe Python object of an externref token; 0 gives None."},
    {"write_coredump", (PyCFunction)(void (*)(void))wpy_core_write_coredump, METH_VARARGS | METH_KEYWORDS,
     "write_coredump(path, executable_name=None)\n\nWrite a WebAssembly coredump of this thread's last trap "
     "(py_coredump.c)."},
    {"backtrace", wpy_current_backtrace, METH_NOARGS,
     "backtrace() -> list[Frame]\n\nThis thread's guest frames, innermost first (from inside a host function)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "wasmprof._core",
    "The C core of wasmprof: modules, instances, functions, memories, tables, globals.",
    -1,
    core_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static PyObject *new_exception(const char *name, PyObject *base, const char *doc, const char *const *attrs) {
  PyObject *dict = PyDict_New();
  if (!dict) return NULL;
  for (; attrs && *attrs; attrs++)
    if (PyDict_SetItemString(dict, *attrs, Py_None) < 0) {
      Py_DECREF(dict);
      return NULL;
    }
  PyObject *exc = PyErr_NewExceptionWithDoc(name, doc, base, dict);
  Py_DECREF(dict);
  return exc;
}

static int add_object(PyObject *m, const char *name, PyObject *obj) {
  Py_INCREF(obj);
  if (PyModule_AddObject(m, name, obj) < 0) {
    Py_DECREF(obj);
    return -1;
  }
  return 0;
}

PyMODINIT_FUNC PyInit__core(void) {
  static const char *const decode_attrs[] = {"offset", "reason", NULL};
  static const char *const trap_attrs[] = {"kind", "message", "func_index", "offset", "frames", NULL};

  if (!forever && !(forever = PyList_New(0))) return NULL;

  if (!wpy_Error) {
    wpy_Error = new_exception("wasmprof.Error", PyExc_Exception, "Base class of wasmprof errors.", NULL);
    if (!wpy_Error) return NULL;
    wpy_DecodeError = new_exception("wasmprof.DecodeError", wpy_Error,
                                    "The module binary is malformed (.offset, .reason).", decode_attrs);
    wpy_ValidationError = new_exception("wasmprof.ValidationError", wpy_Error,
                                        "The module is well-formed but invalid (.offset, .reason).",
                                        decode_attrs);
    wpy_LinkError = new_exception("wasmprof.LinkError", wpy_Error,
                                  "An import is missing or does not match its type.", NULL);
    wpy_Trap = new_exception("wasmprof.Trap", wpy_Error,
                             "The guest trapped (.kind, .message, .func_index, .offset, .frames).", trap_attrs);
    wpy_LimitError = new_exception("wasmprof.LimitError", wpy_Error,
                                   "A limit was reached (memory or table cannot grow, ...).", NULL);
    if (!wpy_DecodeError || !wpy_ValidationError || !wpy_LinkError || !wpy_Trap || !wpy_LimitError)
      return NULL;
  }

  PyTypeObject *types[] = {&wpy_ModuleType, &wpy_InstanceType, &wpy_ExportsType, &wpy_FuncType,
                           &wpy_MemoryType, &wpy_TableType,    &wpy_GlobalType};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (PyType_Ready(types[i]) < 0) return NULL;
  if (wpy_backtrace_init() < 0) return NULL;

  PyObject *m = PyModule_Create(&core_module);
  if (!m) return NULL;
  if (PyModule_AddFunctions(m, wpy_profile_methods) < 0) goto fail;
  if (PyModule_AddFunctions(m, wpy_loop_methods) < 0) goto fail;
  if (PyModule_AddFunctions(m, wpy_session_methods) < 0) goto fail;
  if (add_object(m, "Error", wpy_Error) < 0 || add_object(m, "DecodeError", wpy_DecodeError) < 0 ||
      add_object(m, "ValidationError", wpy_ValidationError) < 0 ||
      add_object(m, "LinkError", wpy_LinkError) < 0 || add_object(m, "Trap", wpy_Trap) < 0 ||
      add_object(m, "LimitError", wpy_LimitError) < 0 ||
      add_object(m, "Module", (PyObject *)&wpy_ModuleType) < 0 ||
      add_object(m, "Instance", (PyObject *)&wpy_InstanceType) < 0 ||
      add_object(m, "Exports", (PyObject *)&wpy_ExportsType) < 0 ||
      add_object(m, "Func", (PyObject *)&wpy_FuncType) < 0 ||
      add_object(m, "Memory", (PyObject *)&wpy_MemoryType) < 0 ||
      add_object(m, "Table", (PyObject *)&wpy_TableType) < 0 ||
      add_object(m, "Global", (PyObject *)&wpy_GlobalType) < 0)
    goto fail;

  /* TRAP_KINDS: the trap kind names, in wp_trap_kind order from WP_TRAP_UNREACHABLE. */
  PyObject *names = PyTuple_New(WP_TRAP_COUNT - 1);
  if (!names) goto fail;
  for (int k = 1; k < WP_TRAP_COUNT; k++) {
    const char *n = wp_trap_name((wp_trap_kind)k);
    PyObject *s = PyUnicode_FromString(n ? n : "?");
    if (!s) {
      Py_DECREF(names);
      goto fail;
    }
    PyTuple_SET_ITEM(names, k - 1, s);
  }
  if (PyModule_AddObject(m, "TRAP_KINDS", names) < 0) {
    Py_DECREF(names);
    goto fail;
  }
  if (PyModule_AddIntConstant(m, "PAGE_SIZE", WP_PAGE_SIZE) < 0) goto fail;
  if (wpy_wasi_init(m) < 0) goto fail; /* WASI: Exit, WasiCtx */
  if (wpy_native_register(m) < 0 || wpy_interrupt_register(m) < 0) goto fail;
  if (wpy_debug_register(m) < 0) goto fail;
  return m;

fail:
  Py_DECREF(m);
  return NULL;
}
