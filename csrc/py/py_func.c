/* py_func.c: wasmprof.Func, guest and host functions.
 *
 * Calls from Python go through wp_call on this thread's wp_exec (so nested
 * calls share the guest stacks).  A host function's wp_func runs
 * host_trampoline with the Func object itself as context: it converts the
 * arguments, calls the Python callable and converts what it returns.  When
 * the callable raises, the trampoline stashes the exception (module.c) and
 * returns WP_ERR_HOST; the Python-side caller that receives WP_ERR_HOST
 * re-raises that same exception object (at every nesting level, so a host
 * function can catch an exception raised by a deeper host function).
 *
 * Funcref escape registry: a Func converted to a funcref slot (argument,
 * table element, global value, host result) is kept in a process-wide
 * dict {wp_func address: Func} for good, since the guest may keep the
 * pointer anywhere.  KNOWN LEAK, bounded by the number of distinct
 * functions passed as references; it also makes wpy_func_wrap return the
 * same Func object for the same function. */
#include "core.h"

static PyObject *escaped; /* dict: PyLong(wp_func *) -> Func */

static int host_trampoline(wp_exec *ex, void *ctx, wp_slot *args_results, wp_error *err);
static PyObject *func_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames);

/* func_alloc: a zeroed Func (tp_alloc also starts GC tracking). */
static wpy_Func *func_alloc(PyTypeObject *type) {
  wpy_Func *self = (wpy_Func *)type->tp_alloc(type, 0);
  if (self) self->vectorcall = func_vectorcall;
  return self;
}

/* ---- wrapping -------------------------------------------------------------------------------- */

PyObject *wpy_func_wrap(wp_func *f) {
  if (!f) Py_RETURN_NONE;
  if (f->host == host_trampoline && f->host_ctx) {
    PyObject *obj = f->host_ctx;
    Py_INCREF(obj);
    return obj;
  }
  if (escaped) {
    PyObject *key = PyLong_FromVoidPtr(f);
    if (!key) return NULL;
    PyObject *known = PyDict_GetItemWithError(escaped, key);
    Py_DECREF(key);
    if (known) {
      Py_INCREF(known);
      return known;
    }
    if (PyErr_Occurred()) return NULL;
  }
  wpy_Func *self = func_alloc(&wpy_FuncType);
  if (!self) return NULL;
  self->func = f;
  wp_instance *inst = wp_func_instance(f);
  if (inst) {
    PyObject *owner = wpy_instance_lookup(inst);
    if (owner) {
      Py_INCREF(owner);
      self->owner = owner;
    } else {
      /* the Python Instance is gone but the C instance is still alive (a
       * table of another instance holds it): hold a C reference */
      wp_instance_retain(inst);
      self->retained = inst;
    }
  }
  /* A host function created outside this extension is wrapped without
   * ownership: its creator must keep it alive. */
  return (PyObject *)self;
}

int wpy_func_to_slot(wpy_Func *f, wp_slot *out) {
  if (!f->func) {
    PyErr_SetString(PyExc_ValueError, "uninitialised Func");
    return -1;
  }
  if (!escaped && !(escaped = PyDict_New())) return -1;
  PyObject *key = PyLong_FromVoidPtr(f->func);
  if (!key) return -1;
  int rc = PyDict_SetDefault(escaped, key, (PyObject *)f) ? 0 : -1;
  Py_DECREF(key);
  if (rc < 0) return -1;
  *out = (wp_slot)(uintptr_t)f->func;
  return 0;
}

bool wpy_funcref_valid(wp_slot s) {
  if (s == 0) return true;
  if (!escaped) return false;
  PyObject *key = PyLong_FromVoidPtr((void *)(uintptr_t)s);
  if (!key) {
    PyErr_Clear();
    return false;
  }
  int r = PyDict_Contains(escaped, key);
  Py_DECREF(key);
  if (r < 0) PyErr_Clear();
  return r == 1;
}

PyObject *wpy_func_new_host(PyObject *callable, const wp_functype *t) {
  wpy_Func *self = func_alloc(&wpy_FuncType);
  if (!self) return NULL;
  self->func = wp_func_new_host(t, host_trampoline, self, NULL);
  if (!self->func) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  self->owned = true;
  Py_INCREF(callable);
  self->callable = callable;
  return (PyObject *)self;
}

/* ---- the host trampoline ------------------------------------------------------------------------ */

static int host_fail(wp_error *err) {
  wpy_stash_exception();
  memset(err, 0, sizeof *err);
  err->kind = WP_ERR_HOST;
  err->trap = WP_TRAP_NONE;
  err->offset = WP_NO_OFFSET;
  err->func = WP_NO_FUNC;
  snprintf(err->message, sizeof err->message, "host function raised a Python exception");
  return -1;
}

static int host_trampoline(wp_exec *ex, void *ctx, wp_slot *ar, wp_error *err) {
  wpy_Func *self = ctx;
  const wp_functype *t = wp_func_type(self->func);
  uint32_t np = wp_functype_param_count(t), nr = wp_functype_result_count(t);
  PyObject *args = NULL, *r = NULL, *fast = NULL;
  int rc = -1;

  Py_INCREF(self); /* the callable may drop the last reference to its own Func */
  if (!self->callable) {
    PyErr_SetString(wpy_Error, "host function has been cleared");
    goto done;
  }
  args = PyTuple_New(np);
  if (!args) goto done;
  for (uint32_t i = 0; i < np; i++) {
    PyObject *v = wpy_from_slot(ar[i], wp_functype_param(t, i), false);
    if (!v) goto done;
    PyTuple_SET_ITEM(args, i, v);
  }
  r = PyObject_Call(self->callable, args, NULL);
  if (!r) goto done;
  if (nr == 0) {
    if (r != Py_None) {
      PyErr_Format(PyExc_TypeError, "host function %R returned %.100s, expected None (no results)",
                   self->callable, Py_TYPE(r)->tp_name);
      goto done;
    }
  } else if (nr == 1) {
    if (wpy_to_slot(r, wp_functype_result(t, 0), &ar[0]) < 0) goto done;
  } else {
    if (!PyTuple_Check(r) && !PyList_Check(r)) {
      PyErr_Format(PyExc_TypeError, "host function %R returned %.100s, expected a tuple of %u results",
                   self->callable, Py_TYPE(r)->tp_name, (unsigned)nr);
      goto done;
    }
    fast = PySequence_Fast(r, "results");
    if (!fast) goto done;
    if (PySequence_Fast_GET_SIZE(fast) != (Py_ssize_t)nr) {
      PyErr_Format(PyExc_TypeError, "host function %R returned %zd results, expected %u", self->callable,
                   PySequence_Fast_GET_SIZE(fast), (unsigned)nr);
      goto done;
    }
    /* a failed conversion leaves partial results in ar, but then the call
     * fails and the core discards them */
    for (uint32_t i = 0; i < nr; i++)
      if (wpy_to_slot(PySequence_Fast_GET_ITEM(fast, i), wp_functype_result(t, i), &ar[i]) < 0)
        goto done;
  }
  rc = 0;
  /* A nested guest failure that this host function caught is over: its
   * frames must not show up in a later backtrace (see wp_exec.trap_nframes). */
  ex->trap_nframes = 0;
done:
  Py_XDECREF(fast);
  Py_XDECREF(r);
  Py_XDECREF(args);
  Py_DECREF(self);
  if (rc < 0) return host_fail(err);
  return 0;
}

/* ---- calls ---------------------------------------------------------------------------------- */

enum call_mode { CALL_SIGNED, CALL_UNSIGNED, CALL_BITS };

#define SMALL_SLOTS 16

/* prefix_arg_error: re-raise the current exception as the same type with
 * "argument N: " in front of its message. */
static void prefix_arg_error(uint32_t n) {
#if PY_VERSION_HEX >= 0x030C0000
  PyObject *exc = PyErr_GetRaisedException();
  PyErr_Format((PyObject *)Py_TYPE(exc), "argument %u: %S", (unsigned)n, exc);
  Py_DECREF(exc);
#else
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyErr_Format(type, "argument %u: %S", (unsigned)n, value);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
#endif
}

static PyObject *func_invoke(wpy_Func *self, PyObject *const *args, Py_ssize_t nargs, enum call_mode mode) {
  if (!self->func) {
    PyErr_SetString(PyExc_ValueError, "uninitialised Func");
    return NULL;
  }
  const wp_functype *t = wp_func_type(self->func);
  uint32_t np = wp_functype_param_count(t), nr = wp_functype_result_count(t);
  if (nargs != (Py_ssize_t)np) {
    PyErr_Format(PyExc_TypeError, "function expects %u argument%s, got %zd", (unsigned)np,
                 np == 1 ? "" : "s", nargs);
    return NULL;
  }
  wp_slot small[SMALL_SLOTS];
  wp_slot *slots = small;
  size_t need = (size_t)np + nr;
  if (need > SMALL_SLOTS) {
    slots = PyMem_Malloc(sizeof *slots * need);
    if (!slots) return PyErr_NoMemory();
  }
  wp_slot *in = slots, *out = slots + np;
  PyObject *result = NULL;

  for (uint32_t i = 0; i < np; i++) {
    wp_valtype vt = wp_functype_param(t, i);
    int rc = mode == CALL_BITS ? wpy_bits_to_slot(args[i], vt, &in[i]) : wpy_to_slot(args[i], vt, &in[i]);
    if (rc < 0) {
      if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_OverflowError) ||
          PyErr_ExceptionMatches(PyExc_ValueError))
        prefix_arg_error(i + 1);
      goto done;
    }
  }
  for (uint32_t i = 0; i < nr; i++) {
    wp_valtype vt = wp_functype_result(t, i);
    if (vt == WP_V128) {
      PyErr_SetString(PyExc_TypeError, "v128 results are not supported");
      goto done;
    }
  }

  wp_exec *ex = wpy_exec();
  if (!ex) goto done;
  if (Py_EnterRecursiveCall(" in a WebAssembly call")) goto done;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (wpy_guest_enter(ex) < 0) {
    Py_LeaveRecursiveCall();
    goto done;
  }
  Py_INCREF(self);
  int rc = wp_call(ex, self->func, in, out, &err);
  wpy_guest_leave(ex);
  Py_DECREF(self);
  Py_LeaveRecursiveCall();
  if (rc != 0) {
    /* The failing frames are readable until the next guest call: take the
     * backtrace now (names and lines are looked up here, never in the loop),
     * then the coredump, before anything else can enter the guest. */
    PyObject *frames = err.kind == WP_ERR_TRAP || err.kind == WP_ERR_HOST || err.kind == WP_ERR_INTERRUPT
                           ? wpy_backtrace(ex, ex->trap_nframes)
                           : NULL;
    if (!frames) PyErr_Clear();
    PyObject *coredump = err.kind == WP_ERR_TRAP ? wpy_coredump_on_trap(self) : NULL;
    wpy_raise(&err);
    wpy_attach_backtrace(frames);
    wpy_coredump_note(coredump);
    Py_XDECREF(coredump);
    Py_XDECREF(frames);
    goto done;
  }
  if (PyErr_Occurred()) goto done; /* defensive: a host function left an error behind */

  if (mode == CALL_BITS) {
    result = PyTuple_New(nr);
    if (!result) goto done;
    for (uint32_t i = 0; i < nr; i++) {
      PyObject *v = wpy_slot_to_bits(out[i], wp_functype_result(t, i));
      if (!v) {
        Py_CLEAR(result);
        goto done;
      }
      PyTuple_SET_ITEM(result, i, v);
    }
  } else if (nr == 0) {
    Py_INCREF(Py_None);
    result = Py_None;
  } else if (nr == 1) {
    result = wpy_from_slot(out[0], wp_functype_result(t, 0), mode == CALL_UNSIGNED);
  } else {
    result = PyTuple_New(nr);
    if (!result) goto done;
    for (uint32_t i = 0; i < nr; i++) {
      PyObject *v = wpy_from_slot(out[i], wp_functype_result(t, i), mode == CALL_UNSIGNED);
      if (!v) {
        Py_CLEAR(result);
        goto done;
      }
      PyTuple_SET_ITEM(result, i, v);
    }
  }
done:
  if (slots != small) PyMem_Free(slots);
  return result;
}

static PyObject *func_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
  if (kwnames && PyTuple_GET_SIZE(kwnames) > 0) {
    PyErr_SetString(PyExc_TypeError, "wasm functions take no keyword arguments (use .call(..., unsigned=True))");
    return NULL;
  }
  return func_invoke((wpy_Func *)callable, args, PyVectorcall_NARGS(nargsf), CALL_SIGNED);
}

/* call_keywords: the keywords of call() (unsigned, max_ticks) and of
 * call_bits() (max_ticks only: its mode stays CALL_BITS). */
static int call_keywords(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, enum call_mode *mode,
                         unsigned long long *max_ticks) {
  Py_ssize_t nk = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < nk; i++) {
    PyObject *k = PyTuple_GET_ITEM(kwnames, i);
    if (PyUnicode_Check(k) && PyUnicode_CompareWithASCIIString(k, "max_ticks") == 0) {
      /* max_ticks (issue 6 limits): run counted, stop with LimitError past it */
      if (args[nargs + i] == Py_None) continue;
      *max_ticks = PyLong_AsUnsignedLongLong(args[nargs + i]);
      if (PyErr_Occurred() || *max_ticks == 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "max_ticks must be a positive int or None");
        return -1;
      }
      continue;
    }
    if (*mode == CALL_BITS || !PyUnicode_Check(k) || PyUnicode_CompareWithASCIIString(k, "unsigned") != 0) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R",
                   *mode == CALL_BITS ? "call_bits" : "call", k);
      return -1;
    }
    int truth = PyObject_IsTrue(args[nargs + i]);
    if (truth < 0) return -1;
    *mode = truth ? CALL_UNSIGNED : CALL_SIGNED;
  }
  return 0;
}

/* call_limited: func_invoke, counted when max_ticks is set. */
static PyObject *call_limited(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                              enum call_mode mode) {
  unsigned long long max_ticks = 0;
  if (call_keywords(args, nargs, kwnames, &mode, &max_ticks) < 0) return NULL;
  if (!max_ticks) return func_invoke((wpy_Func *)self, args, nargs, mode);
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  /* The limit holds for this call only; an enclosing one is restored. */
  uint64_t saved_limit = ex->tick_limit, saved_budget = ex->tick_budget;
  wp_exec_set_tick_limit(ex, max_ticks, NULL);
  PyObject *r = func_invoke((wpy_Func *)self, args, nargs, mode);
  ex->tick_limit = saved_limit;
  ex->tick_budget = saved_budget;
  wp_exec_update_variant(ex);
  return r;
}

static PyObject *func_call_method(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  return call_limited(self, args, nargs, kwnames, CALL_SIGNED);
}

static PyObject *func_call_bits(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
  return call_limited(self, args, nargs, kwnames, CALL_BITS);
}

/* ---- the type -------------------------------------------------------------------------------- */

static PyObject *func_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"callable", "params", "results", NULL};
  PyObject *callable, *params = NULL, *results = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:Func", kwlist, &callable, &params, &results))
    return NULL;
  if (!PyCallable_Check(callable)) {
    PyErr_Format(PyExc_TypeError, "Func() needs a callable, not %.100s", Py_TYPE(callable)->tp_name);
    return NULL;
  }
  wp_valtype *p = NULL, *r = NULL;
  uint32_t np = 0, nr = 0;
  wpy_Func *self = NULL;
  wp_functype *ft = NULL;
  if (wpy_valtypes_from_seq(params, &p, &np) < 0 || wpy_valtypes_from_seq(results, &r, &nr) < 0) goto done;
  for (uint32_t i = 0; i < np + nr; i++) {
    if ((i < np ? p[i] : r[i - np]) == WP_V128) {
      PyErr_SetString(PyExc_ValueError, "v128 is not supported in host functions");
      goto done;
    }
  }
  ft = wp_functype_new(np, p, nr, r);
  if (!ft) {
    PyErr_NoMemory();
    goto done;
  }
  self = func_alloc(type);
  if (!self) goto done;
  self->func = wp_func_new_host(ft, host_trampoline, self, NULL);
  if (!self->func) {
    Py_CLEAR(self);
    PyErr_NoMemory();
    goto done;
  }
  self->owned = true;
  Py_INCREF(callable);
  self->callable = callable;
done:
  if (ft) wp_functype_free(ft);
  PyMem_Free(p);
  PyMem_Free(r);
  return (PyObject *)self;
}

static int func_traverse(PyObject *o, visitproc visit, void *arg) {
  wpy_Func *self = (wpy_Func *)o;
  Py_VISIT(self->owner);
  Py_VISIT(self->callable);
  return 0;
}

static int func_clear(PyObject *o) {
  /* Only the callable: the owner must outlive the guest function pointer. */
  Py_CLEAR(((wpy_Func *)o)->callable);
  return 0;
}

static void func_dealloc(PyObject *o) {
  wpy_Func *self = (wpy_Func *)o;
  PyObject_GC_UnTrack(o);
  if (self->owned && self->func) wp_func_free(self->func);
  self->func = NULL;
  Py_CLEAR(self->callable);
  if (self->retained) wp_instance_free(self->retained);
  self->retained = NULL;
  wpy_export_forget(self->owner, self->export_slot, o);
  Py_CLEAR(self->owner);
  Py_TYPE(o)->tp_free(o);
}

static PyObject *func_repr(PyObject *o) {
  wpy_Func *self = (wpy_Func *)o;
  if (!self->func) return PyUnicode_FromString("<wasmprof.Func (uninitialised)>");
  PyObject *ty = wpy_functype_to_py(wp_func_type(self->func));
  if (!ty) return NULL;
  PyObject *r;
  if (self->callable)
    r = PyUnicode_FromFormat("<wasmprof.Func host %R %S>", self->callable, ty);
  else if (wp_func_index(self->func) != WP_NO_FUNC)
    r = PyUnicode_FromFormat("<wasmprof.Func %u %S>", (unsigned)wp_func_index(self->func), ty);
  else
    r = PyUnicode_FromFormat("<wasmprof.Func host %S>", ty);
  Py_DECREF(ty);
  return r;
}

static PyObject *func_richcompare(PyObject *a, PyObject *b, int op) {
  if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, &wpy_FuncType)) Py_RETURN_NOTIMPLEMENTED;
  bool eq = ((wpy_Func *)a)->func == ((wpy_Func *)b)->func;
  if (op == Py_NE) eq = !eq;
  if (eq) Py_RETURN_TRUE;
  Py_RETURN_FALSE;
}

static Py_hash_t func_hash(PyObject *o) {
  uintptr_t p = (uintptr_t)((wpy_Func *)o)->func;
  Py_hash_t h = (Py_hash_t)((p >> 4) | (p << (8 * sizeof p - 4)));
  return h == -1 ? -2 : h;
}

static PyObject *func_get_type(PyObject *o, void *closure) {
  (void)closure;
  wpy_Func *self = (wpy_Func *)o;
  if (!self->func) {
    PyErr_SetString(PyExc_ValueError, "uninitialised Func");
    return NULL;
  }
  return wpy_functype_to_py(wp_func_type(self->func));
}

static PyObject *func_get_index(PyObject *o, void *closure) {
  (void)closure;
  wpy_Func *self = (wpy_Func *)o;
  if (!self->func || wp_func_index(self->func) == WP_NO_FUNC) Py_RETURN_NONE;
  return PyLong_FromUnsignedLong(wp_func_index(self->func));
}

static PyObject *func_get_instance(PyObject *o, void *closure) {
  (void)closure;
  wpy_Func *self = (wpy_Func *)o;
  if (self->owner) {
    Py_INCREF(self->owner);
    return self->owner;
  }
  Py_RETURN_NONE;
}

static PyObject *func_get_callable(PyObject *o, void *closure) {
  (void)closure;
  wpy_Func *self = (wpy_Func *)o;
  if (self->callable) {
    Py_INCREF(self->callable);
    return self->callable;
  }
  Py_RETURN_NONE;
}

static PyGetSetDef func_getset[] = {
    {"type", func_get_type, NULL, "The function's FuncType.", NULL},
    {"index", func_get_index, NULL, "Index in the module's function space (None for host functions).", NULL},
    {"instance", func_get_instance, NULL, "The Instance the function belongs to (None for host functions).",
     NULL},
    {"callable", func_get_callable, NULL, "The Python callable of a host function (else None).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef func_methods[] = {
    {"call", (PyCFunction)(void (*)(void))func_call_method, METH_FASTCALL | METH_KEYWORDS,
     "call(*args, unsigned=False, max_ticks=None)\n\nCall the function; with unsigned=True i32/i64 results are unsigned;\n"
     "with max_ticks, stop with LimitError once that many instructions ran."},
    {"call_bits", (PyCFunction)(void (*)(void))func_call_bits, METH_FASTCALL | METH_KEYWORDS,
     "call_bits(*bits, max_ticks=None) -> tuple\n\nCall with raw bit patterns (unsigned ints) and return raw bits;\n"
     "max_ticks as for call()."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject wpy_FuncType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wasmprof.Func",
    .tp_doc = "Func(callable, params=(), results=())\n\n"
              "A WebAssembly function: exported by an instance, read from a table, or a host\n"
              "function made from a Python callable with the given value types.",
    .tp_basicsize = sizeof(wpy_Func),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(wpy_Func, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = func_new,
    .tp_dealloc = func_dealloc,
    .tp_traverse = func_traverse,
    .tp_clear = func_clear,
    .tp_repr = func_repr,
    .tp_richcompare = func_richcompare,
    .tp_hash = func_hash,
    .tp_getset = func_getset,
    .tp_methods = func_methods,
};
