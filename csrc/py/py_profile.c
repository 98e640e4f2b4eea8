/* py_profile.c: the profiler's and tick limit's entry points in _core.
 *
 * Thin: wasmprof/profiler.py drives them and builds the Profile object.
 *   _profile_start(costs, default_cost, per_call, time, events, max_events, max_depth, max_ticks,
 *                  sample_every)
 *   _profile_stop(instance) -> (nodes, events, events_truncated, insns)
 *       nodes: tuples (parent, func_index or None, host, import_name or None,
 *              calls, self_ticks, self_time_ns), index = node id
 *       events: tuples (kind 0=call 1=return, node, ticks, time_ns)
 *       insns: per-instruction counts (wp_profile_insn), tuples (node, module
 *              offset or None, count, ticks, calls), or None when incomplete;
 *              the offset (in the node's function's module) is None for a
 *              function's entry price and for code of another module (a
 *              folded frame)
 *   _ticks() -> ticks counted on this thread's context
 *   _set_tick_callback(every, callable or None): callable(ticks) about every
 *       `every` ticks of ticked runs (progress, Ctrl-C: pending signals are
 *       checked first, so KeyboardInterrupt stops the guest)
 * costs is a dict {instruction text name: cost} or None. */
#include "core.h"

#include "profile.h"

/* cost_model_from: a new cost model (NULL with an exception set). */
static wp_cost_model *cost_model_from(PyObject *costs, unsigned long default_cost, unsigned long per_call) {
  wp_cost_model *m = wp_cost_model_new((uint32_t)default_cost);
  if (!m) {
    PyErr_NoMemory();
    return NULL;
  }
  wp_cost_model_set_per_call(m, (uint32_t)per_call);
  if (costs && costs != Py_None) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    if (!PyDict_Check(costs)) {
      PyErr_SetString(PyExc_TypeError, "costs must be a dict {instruction name: cost}");
      goto fail;
    }
    while (PyDict_Next(costs, &pos, &key, &value)) {
      const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
      if (!name) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "cost table keys must be str, not %R", key);
        goto fail;
      }
      unsigned long c = PyLong_Check(value) ? PyLong_AsUnsignedLong(value) : (unsigned long)-1;
      if (PyErr_Occurred() || !PyLong_Check(value) || c > UINT32_MAX) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "cost of %R must be an int in [0, 2**32), not %R", key, value);
        goto fail;
      }
      if (wp_cost_model_set(m, name, (uint32_t)c) < 0) {
        PyErr_Format(PyExc_ValueError, "unknown instruction name %R in the cost table", key);
        goto fail;
      }
    }
  }
  return m;
fail:
  wp_cost_model_free(m);
  return NULL;
}

static PyObject *core_profile_start(PyObject *self, PyObject *args, PyObject *kwds) {
  (void)self;
  static char *kwlist[] = {"costs", "default_cost", "per_call", "time", "events", "max_events", "max_depth",
                           "max_ticks", "sample_every", NULL};
  PyObject *costs = Py_None;
  unsigned long default_cost = 1, per_call = 0, max_events = 0, max_depth = 0;
  unsigned long long max_ticks = 0, sample_every = 0;
  int timed = 0, events = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OkkppkkKK:_profile_start", kwlist, &costs, &default_cost,
                                   &per_call, &timed, &events, &max_events, &max_depth, &max_ticks,
                                   &sample_every))
    return NULL;
  if (default_cost > UINT32_MAX || per_call > UINT32_MAX || max_events > UINT32_MAX || max_depth > UINT32_MAX) {
    PyErr_SetString(PyExc_ValueError, "profile option out of range");
    return NULL;
  }
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  wp_cost_model *m = cost_model_from(costs, default_cost, per_call);
  if (!m) return NULL;
  wp_profile_options o = {.cost = m, .max_depth = (uint32_t)max_depth, .time = timed, .events = events,
                          .max_events = (uint32_t)max_events, .sample_every = sample_every};
  wp_error err;
  memset(&err, 0, sizeof err);
  int rc = wp_profile_start(ex, &o, &err);
  wp_cost_model_free(m);
  if (rc) return wpy_raise(&err);
  wp_exec_set_tick_limit(ex, max_ticks, NULL);
  Py_RETURN_NONE;
}

/* func_identity: a node's function as (index in the instance's module or
 * None, host, import name "module.field" or None). */
static PyObject *func_identity(wp_func *f, const wp_instance *inst) {
  if (!f) return Py_BuildValue("(OOO)", Py_None, Py_False, Py_None);
  const wp_module *m = inst ? wp_instance_module(inst) : NULL;
  bool host = wp_func_instance(f) == NULL;
  if (m) {
    if (wp_func_instance(f) == inst) return Py_BuildValue("(kOO)", (unsigned long)wp_func_index(f), Py_False, Py_None);
    /* An import: find it in the instance's index space to name it. */
    uint32_t nimports = wp_module_import_count(m), fi = 0;
    for (uint32_t i = 0; i < nimports; i++) {
      const char *mod, *name;
      uint32_t mod_len, name_len;
      wp_extern_type t;
      wp_module_import(m, i, &mod, &mod_len, &name, &name_len, &t);
      if (t.kind != WP_EXTERN_FUNC) continue;
      if (inst->funcs[fi] == f)
        return Py_BuildValue("(kOs#)", (unsigned long)fi, host ? Py_True : Py_False,
                             name, (Py_ssize_t)name_len);
      fi++;
    }
  }
  if (host) return Py_BuildValue("(OOO)", Py_None, Py_True, Py_None);
  return Py_BuildValue("(kOO)", (unsigned long)wp_func_index(f), Py_False, Py_None);
}

static PyObject *core_profile_stop(PyObject *self, PyObject *inst_obj) {
  (void)self;
  const wp_instance *inst = NULL;
  if (inst_obj != Py_None) {
    if (!PyObject_TypeCheck(inst_obj, &wpy_InstanceType)) {
      PyErr_SetString(PyExc_TypeError, "_profile_stop needs an Instance or None");
      return NULL;
    }
    inst = ((wpy_Instance *)inst_obj)->inst;
  }
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  wp_exec_set_tick_limit(ex, 0, NULL);
  wp_profile *p = wp_profile_stop(ex);
  if (!p) {
    PyErr_SetString(wpy_Error, "no profile is running (or guest code still runs)");
    return NULL;
  }
  return wpy_profile_to_py(p, inst);
}

PyObject *wpy_profile_to_py(wp_profile *p, const wp_instance *inst) {
  PyObject *nodes = NULL, *events = NULL, *insns = NULL, *result = NULL;
  uint32_t n = wp_profile_node_count(p), ne = wp_profile_event_count(p);
  if (!(nodes = PyList_New(n)) || !(events = PyList_New(ne))) goto done;
  for (uint32_t i = 0; i < n; i++) {
    const wp_profile_node *nd = wp_profile_node_at(p, i);
    PyObject *id = func_identity(nd->func, inst);
    if (!id) goto done;
    PyObject *t = Py_BuildValue("(lOOOKKK)", nd->parent == UINT32_MAX ? -1L : (long)nd->parent,
                                PyTuple_GET_ITEM(id, 0), PyTuple_GET_ITEM(id, 1), PyTuple_GET_ITEM(id, 2),
                                (unsigned long long)nd->calls, (unsigned long long)nd->self_ticks,
                                (unsigned long long)nd->self_time_ns);
    Py_DECREF(id);
    if (!t) goto done;
    PyList_SET_ITEM(nodes, i, t);
  }
  for (uint32_t i = 0; i < ne; i++) {
    const wp_profile_event *e = wp_profile_event_at(p, i);
    PyObject *t = Py_BuildValue("(IIKK)", (unsigned)e->kind, (unsigned)e->node, (unsigned long long)e->ticks,
                                (unsigned long long)e->time_ns);
    if (!t) goto done;
    PyList_SET_ITEM(events, i, t);
  }
  if (!wp_profile_insns_complete(p)) {
    insns = Py_None;
    Py_INCREF(insns);
  } else {
    uint32_t ni = wp_profile_insn_count(p);
    if (!(insns = PyList_New(ni))) goto done;
    for (uint32_t i = 0; i < ni; i++) {
      const wp_profile_insn *r = wp_profile_insn_at(p, i);
      /* an offset means something in the node's own module only */
      const wp_func *nf = wp_profile_node_at(p, r->node)->func;
      const wp_instance *ri = wp_func_instance(r->func), *ni = nf ? wp_func_instance(nf) : NULL;
      bool here = r->offset != WP_NO_OFFSET && ri && ni && wp_instance_module(ri) == wp_instance_module(ni);
      PyObject *off = here ? PyLong_FromUnsignedLong(r->offset) : (Py_INCREF(Py_None), Py_None);
      PyObject *t = off ? Py_BuildValue("(INKKK)", (unsigned)r->node, off, (unsigned long long)r->count,
                                        (unsigned long long)r->ticks, (unsigned long long)r->calls)
                        : NULL;
      if (!t) goto done;
      PyList_SET_ITEM(insns, i, t);
    }
  }
  result = Py_BuildValue("(OOOO)", nodes, events, wp_profile_events_truncated(p) ? Py_True : Py_False, insns);
done:
  Py_XDECREF(nodes);
  Py_XDECREF(events);
  Py_XDECREF(insns);
  wp_profile_free(p);
  return result;
}

static PyObject *core_ticks(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  return PyLong_FromUnsignedLongLong(wp_exec_ticks(ex));
}

static PyObject *tick_callable; /* the Python side of the tick callback */

static int tick_trampoline(wp_exec *ex, void *ctx, uint64_t ticks, wp_error *err) {
  (void)ex;
  (void)ctx;
  PyObject *r = NULL;
  if (PyErr_CheckSignals() == 0 && tick_callable) {
    PyObject *cb = tick_callable;
    Py_INCREF(cb);
    r = PyObject_CallFunction(cb, "K", (unsigned long long)ticks);
    Py_DECREF(cb);
  } else if (!PyErr_Occurred()) {
    return 0;
  }
  if (r) {
    Py_DECREF(r);
    return 0;
  }
  /* Raised (KeyboardInterrupt included): the caller re-raises it (WP_ERR_HOST). */
  wpy_stash_exception();
  memset(err, 0, sizeof *err);
  err->kind = WP_ERR_HOST;
  err->offset = WP_NO_OFFSET;
  err->func = WP_NO_FUNC;
  snprintf(err->message, sizeof err->message, "the tick callback raised a Python exception");
  return -1;
}

static PyObject *core_set_tick_callback(PyObject *self, PyObject *args) {
  (void)self;
  unsigned long long every;
  PyObject *cb;
  if (!PyArg_ParseTuple(args, "KO:_set_tick_callback", &every, &cb)) return NULL;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  if (cb == Py_None || every == 0) {
    wp_exec_set_tick_callback(ex, 0, NULL, NULL);
    Py_CLEAR(tick_callable);
    Py_RETURN_NONE;
  }
  if (!PyCallable_Check(cb)) {
    PyErr_SetString(PyExc_TypeError, "the tick callback must be callable");
    return NULL;
  }
  Py_INCREF(cb);
  Py_XSETREF(tick_callable, cb);
  wp_exec_set_tick_callback(ex, every, tick_trampoline, NULL);
  Py_RETURN_NONE;
}

PyMethodDef wpy_profile_methods[] = {
    {"_set_tick_callback", core_set_tick_callback, METH_VARARGS,
     "_set_tick_callback(every, callable or None): call callable(ticks) about every `every` ticks."},
    {"_profile_start", (PyCFunction)(void (*)(void))core_profile_start, METH_VARARGS | METH_KEYWORDS,
     "Start profiling this thread's guest calls (see wasmprof.profiler)."},
    {"_profile_stop", core_profile_stop, METH_O,
     "Stop profiling; return (nodes, events, events_truncated, insns)."},
    {"_ticks", core_ticks, METH_NOARGS, "Ticks counted on this thread's context so far."},
    {NULL, NULL, 0, NULL},
};
