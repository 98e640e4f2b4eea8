/* py_session.c: profiling sessions in _core (wasmprof.h: wp_profile_session_*).
 *
 * Thin: wasmprof/profiles/session.py drives them.
 *   _session_begin(instance or None): after _profile_start, keep the profile
 *       off the context; wp_call arms it for the entries it takes (into
 *       `instance`, or into any instance)
 *   _session_pause(paused)
 *   _session_end() -> (raw, owners): raw as _profile_stop's; owners[i] is
 *       (Instance or None, import index or None): the live Python Instance
 *       whose module names node i's function (a guest function's own
 *       instance; for a host function, the nearest guest caller's, with the
 *       index of the import it was called through). */
#include "core.h"

#include "profile.h"

static PyObject *core_session_begin(PyObject *self, PyObject *only) {
  (void)self;
  const wp_instance *inst = NULL;
  if (only != Py_None) {
    if (!PyObject_TypeCheck(only, &wpy_InstanceType)) {
      PyErr_SetString(PyExc_TypeError, "_session_begin needs an Instance or None");
      return NULL;
    }
    inst = ((wpy_Instance *)only)->inst;
  }
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (wp_profile_session_begin(ex, inst, &err)) return wpy_raise(&err);
  Py_RETURN_NONE;
}

static PyObject *core_session_pause(PyObject *self, PyObject *flag) {
  (void)self;
  int paused = PyObject_IsTrue(flag);
  if (paused < 0) return NULL;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  wp_profile_session_pause(ex, paused);
  Py_RETURN_NONE;
}

/* import_index: the index of f among inst's imported functions, or -1. */
static long import_index(const wp_instance *inst, const wp_func *f) {
  uint32_t nimp = wp_module_import_count(inst->module), fi = 0;
  for (uint32_t i = 0; i < nimp; i++) {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wp_extern_type t;
    wp_module_import(inst->module, i, &mod, &mod_len, &name, &name_len, &t);
    if (t.kind != WP_EXTERN_FUNC) continue;
    if (inst->funcs[fi] == f) return (long)fi;
    fi++;
  }
  return -1;
}

static PyObject *owner_of(const wp_profile *p, uint32_t i) {
  const wp_profile_node *nd = wp_profile_node_at(p, i);
  const wp_func *f = nd->func;
  if (!f) return Py_BuildValue("(OO)", Py_None, Py_None);
  if (f->inst) {
    PyObject *o = wpy_instance_lookup(f->inst);
    return Py_BuildValue("(OO)", o ? o : Py_None, Py_None);
  }
  for (uint32_t a = nd->parent; a != UINT32_MAX; a = wp_profile_node_at(p, a)->parent) {
    const wp_func *g = wp_profile_node_at(p, a)->func;
    if (!g || !g->inst) continue;
    long k = import_index(g->inst, f);
    PyObject *o = wpy_instance_lookup(g->inst);
    if (k < 0 || !o) break;
    return Py_BuildValue("(Ol)", o, k);
  }
  return Py_BuildValue("(OO)", Py_None, Py_None);
}

static PyObject *core_session_end(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  if (!wp_profile_session_active(ex)) {
    PyErr_SetString(wpy_Error, "no profiling session is running on this thread");
    return NULL;
  }
  wp_profile *p = wp_profile_session_end(ex);
  if (!p) {
    PyErr_SetString(wpy_Error, "a profiling session cannot end while guest code runs");
    return NULL;
  }
  uint32_t n = wp_profile_node_count(p);
  PyObject *owners = PyList_New(n);
  if (!owners) {
    wp_profile_free(p);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    PyObject *o = owner_of(p, i);
    if (!o) {
      Py_DECREF(owners);
      wp_profile_free(p);
      return NULL;
    }
    PyList_SET_ITEM(owners, i, o);
  }
  PyObject *raw = wpy_profile_to_py(p, NULL); /* frees p */
  if (!raw) {
    Py_DECREF(owners);
    return NULL;
  }
  return Py_BuildValue("(NN)", raw, owners);
}

PyMethodDef wpy_session_methods[] = {
    {"_session_begin", core_session_begin, METH_O,
     "Keep the profile just started off the context: wp_call arms it for entries into instance (or any)."},
    {"_session_pause", core_session_pause, METH_O, "Pause (True) or resume (False) the session's arming."},
    {"_session_end", core_session_end, METH_NOARGS, "End the session: ((nodes, events, truncated), owners)."},
    {NULL, NULL, 0, NULL},
};
