/* py_native.c: native imports for the Python API.
 *
 * _core._native_func(address, params, results) makes a Func that calls the C
 * function at `address` through libffi (csrc/host/native.c).  Loading libraries
 * and finding symbols is done in Python (python/wasmprof/native_imports.py, with
 * ctypes), which never unloads a library, so the address stays valid. */
#include "core.h"

static PyObject *core_native_func(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *addr_o, *params = NULL, *results = NULL;
  if (!PyArg_ParseTuple(args, "OOO:_native_func", &addr_o, &params, &results)) return NULL;
  void *addr = PyLong_AsVoidPtr(addr_o);
  if (!addr) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "native function address must not be NULL");
    return NULL;
  }
  wp_valtype *p = NULL, *r = NULL;
  uint32_t np = 0, nr = 0;
  PyObject *result = NULL;
  wp_functype *ft = NULL;
  if (wpy_valtypes_from_seq(params, &p, &np) < 0 || wpy_valtypes_from_seq(results, &r, &nr) < 0) goto done;
  ft = wp_functype_new(np, p, nr, r);
  if (!ft) {
    PyErr_NoMemory();
    goto done;
  }
  wp_error err;
  memset(&err, 0, sizeof err);
  /* A data pointer to a function pointer: what dlsym gives, POSIX allows it. */
  void (*fn)(void);
  memcpy(&fn, &addr, sizeof fn);
  wp_func *f = wp_func_new_native(ft, fn, &err);
  if (!f) {
    wpy_raise(&err);
    goto done;
  }
  result = wpy_func_wrap(f);
  if (!result) {
    wp_func_free(f);
    goto done;
  }
  ((wpy_Func *)result)->owned = true; /* freed with the wrapper */
done:
  if (ft) wp_functype_free(ft);
  PyMem_Free(p);
  PyMem_Free(r);
  return result;
}

static PyObject *core_func_is_native(PyObject *self, PyObject *obj) {
  (void)self;
  if (!PyObject_TypeCheck(obj, &wpy_FuncType)) {
    PyErr_Format(PyExc_TypeError, "expected a Func, not %.100s", Py_TYPE(obj)->tp_name);
    return NULL;
  }
  return PyBool_FromLong(wp_func_is_native(((wpy_Func *)obj)->func));
}

static PyMethodDef native_methods[] = {
    {"_native_func", core_native_func, METH_VARARGS,
     "_native_func(address, params, results) -> Func\n\n"
     "A Func calling the C function at address through libffi (use wasmprof.native())."},
    {"_func_is_native", core_func_is_native, METH_O, "_func_is_native(func) -> bool"},
    {NULL, NULL, 0, NULL},
};

int wpy_native_register(PyObject *module) { return PyModule_AddFunctions(module, native_methods); }
