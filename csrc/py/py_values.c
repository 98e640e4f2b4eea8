/* py_values.c: Python values <-> wp_slot, value type names, and the
 * externref registry.
 *
 * Two flavours of conversion:
 *   values  i32/i64 from ints in [-2^(N-1), 2^N) (wrapped), to signed ints
 *           (or unsigned on request); f32/f64 from int or float, to float;
 *           funcref as Func or None; externref as any object or None.
 *   bits    every value as the unsigned int of its bit pattern (NaN
 *           payloads exact); references as raw slots, 0 = null, checked
 *           against what the extension handed out so that a bad int can
 *           never become a dangling pointer in the guest.
 *
 * externref registry: a non-null externref slot is a token, index + 1 into
 * a process-wide list of Python objects, with a dict id(obj) -> token so an
 * object keeps one token.  KNOWN LEAK: an object that was once passed to
 * the guest as an externref stays referenced until the process ends,
 * because a guest table or global may hold its token at any time and we do
 * not trace guest state. */
#include "core.h"

#include <float.h>
#include <math.h>

/* ---- names ------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  wp_valtype type;
} valtypes[] = {
    {"i32", WP_I32},       {"i64", WP_I64},           {"f32", WP_F32},
    {"f64", WP_F64},       {"v128", WP_V128},         {"funcref", WP_FUNCREF},
    {"externref", WP_EXTERNREF},
};

const char *wpy_extern_kind_name(wp_extern_kind k) {
  switch (k) {
  case WP_EXTERN_FUNC:
    return "func";
  case WP_EXTERN_TABLE:
    return "table";
  case WP_EXTERN_MEMORY:
    return "memory";
  case WP_EXTERN_GLOBAL:
    return "global";
  }
  return "unknown";
}

int wpy_valtype_from_name(PyObject *name, wp_valtype *out) {
  if (!PyUnicode_Check(name)) {
    PyErr_Format(PyExc_TypeError, "value type must be a str such as 'i32', not %.100s",
                 Py_TYPE(name)->tp_name);
    return -1;
  }
  const char *s = PyUnicode_AsUTF8(name);
  if (!s) return -1;
  for (size_t i = 0; i < sizeof valtypes / sizeof valtypes[0]; i++)
    if (strcmp(s, valtypes[i].name) == 0) {
      *out = valtypes[i].type;
      return 0;
    }
  PyErr_Format(PyExc_ValueError,
               "unknown value type %R (expected i32, i64, f32, f64, v128, funcref or externref)",
               name);
  return -1;
}

int wpy_valtypes_from_seq(PyObject *seq, wp_valtype **out, uint32_t *n) {
  *out = NULL;
  *n = 0;
  if (seq == NULL || seq == Py_None) return 0;
  if (PyUnicode_Check(seq)) {
    PyErr_SetString(PyExc_TypeError, "value types must be a sequence of str, not a str");
    return -1;
  }
  PyObject *fast = PySequence_Fast(seq, "value types must be a sequence of str");
  if (!fast) return -1;
  Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
  if (len > 100000) {
    Py_DECREF(fast);
    PyErr_SetString(PyExc_ValueError, "too many value types");
    return -1;
  }
  wp_valtype *types = PyMem_Malloc(sizeof *types * (size_t)(len ? len : 1));
  if (!types) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < len; i++)
    if (wpy_valtype_from_name(PySequence_Fast_GET_ITEM(fast, i), &types[i]) < 0) {
      PyMem_Free(types);
      Py_DECREF(fast);
      return -1;
    }
  Py_DECREF(fast);
  *out = types;
  *n = (uint32_t)len;
  return 0;
}

/* ---- the externref registry ---------------------------------------------------------------- */

static PyObject *extern_objects; /* list */
static PyObject *extern_tokens;  /* dict: id(obj) -> token */

static int extern_init(void) {
  if (extern_objects) return 0;
  extern_objects = PyList_New(0);
  extern_tokens = PyDict_New();
  if (!extern_objects || !extern_tokens) {
    Py_CLEAR(extern_objects);
    Py_CLEAR(extern_tokens);
    return -1;
  }
  return 0;
}

int wpy_extern_token(PyObject *obj, wp_slot *out) {
  if (extern_init() < 0) return -1;
  PyObject *key = PyLong_FromVoidPtr(obj);
  if (!key) return -1;
  PyObject *tok = PyDict_GetItemWithError(extern_tokens, key); /* borrowed */
  if (tok) {
    Py_DECREF(key);
    *out = PyLong_AsUnsignedLongLong(tok);
    return 0;
  }
  if (PyErr_Occurred() || PyList_Append(extern_objects, obj) < 0) {
    Py_DECREF(key);
    return -1;
  }
  wp_slot token = (wp_slot)PyList_GET_SIZE(extern_objects);
  tok = PyLong_FromUnsignedLongLong(token);
  int rc = tok ? PyDict_SetItem(extern_tokens, key, tok) : -1;
  Py_XDECREF(tok);
  Py_DECREF(key);
  if (rc < 0) return -1;
  *out = token;
  return 0;
}

bool wpy_extern_token_valid(wp_slot token) {
  return token == 0 || (extern_objects && token <= (wp_slot)PyList_GET_SIZE(extern_objects));
}

PyObject *wpy_extern_object(wp_slot token) {
  if (token == 0) Py_RETURN_NONE;
  if (!wpy_extern_token_valid(token)) {
    PyErr_Format(PyExc_ValueError, "invalid externref %llu", (unsigned long long)token);
    return NULL;
  }
  PyObject *obj = PyList_GET_ITEM(extern_objects, (Py_ssize_t)(token - 1));
  Py_INCREF(obj);
  return obj;
}

/* ---- ints ------------------------------------------------------------------------------------ */

/* int_bits: v as an N-bit pattern (N = 32 or 64), accepting [-2^(N-1), 2^N). */
static int int_bits(PyObject *v, int bits, const char *tname, uint64_t *out) {
  if (!PyLong_Check(v)) {
    PyErr_Format(PyExc_TypeError, "%s value must be an int, not %.100s", tname, Py_TYPE(v)->tp_name);
    return -1;
  }
  int overflow = 0;
  long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
  if (x == -1 && PyErr_Occurred()) return -1;
  if (overflow == 0) {
    if (bits == 32 && (x < -((long long)1 << 31) || x >= ((long long)1 << 32))) goto range;
    *out = bits == 32 ? (uint64_t)(uint32_t)x : (uint64_t)x;
    return 0;
  }
  if (overflow > 0 && bits == 64) {
    unsigned long long u = PyLong_AsUnsignedLongLong(v);
    if (u == (unsigned long long)-1 && PyErr_Occurred()) {
      if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
      PyErr_Clear();
      goto range;
    }
    *out = u;
    return 0;
  }
range:
  PyErr_Format(PyExc_OverflowError, "%s value out of range: %R", tname, v);
  return -1;
}

/* ---- floats ---------------------------------------------------------------------------------- */

static int float_value(PyObject *v, const char *tname, double *out) {
  if (PyFloat_Check(v)) {
    *out = PyFloat_AS_DOUBLE(v);
    return 0;
  }
  if (PyLong_Check(v)) {
    double d = PyLong_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred()) return -1;
    *out = d;
    return 0;
  }
  PyErr_Format(PyExc_TypeError, "%s value must be a float or an int, not %.100s", tname,
               Py_TYPE(v)->tp_name);
  return -1;
}

static uint32_t f32_bits(double d) {
  float f;
  if (isnan(d)) {
    /* Keep the sign and the top of the payload rather than relying on the
     * compiler's double -> float NaN conversion. */
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    uint32_t payload = (uint32_t)((b >> 29) & 0x7fffff);
    if (!payload) payload = 0x400000;
    return (uint32_t)((b >> 32) & 0x80000000u) | 0x7f800000u | payload;
  }
  if (fabs(d) > FLT_MAX) {
    /* beyond FLT_MAX: IEEE round-to-nearest gives infinity from FLT_MAX +
     * half an ulp (2^103) on, else FLT_MAX; spelled out to avoid an
     * out-of-range conversion in C */
    f = fabs(d) >= 0x1.ffffffp+127 ? INFINITY : FLT_MAX;
    if (d < 0) f = -f;
  } else {
    f = (float)d;
  }
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static double f32_value(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  if (isnan(f)) {
    /* widen the payload exactly: f64 payload = f32 payload << 29 */
    uint64_t b = ((uint64_t)(bits & 0x80000000u) << 32) | 0x7ff0000000000000ull |
                 ((uint64_t)(bits & 0x7fffff) << 29);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
  }
  return (double)f;
}

/* ---- conversions ------------------------------------------------------------------------------ */

static int unsupported(wp_valtype t) {
  PyErr_Format(PyExc_TypeError, "%s values are not supported", wp_valtype_name((wp_valtype)t));
  return -1;
}

int wpy_to_slot(PyObject *v, wp_valtype t, wp_slot *out) {
  switch (t) {
  case WP_I32:
    return int_bits(v, 32, "i32", out);
  case WP_I64:
    return int_bits(v, 64, "i64", out);
  case WP_F32: {
    double d;
    if (float_value(v, "f32", &d) < 0) return -1;
    *out = f32_bits(d);
    return 0;
  }
  case WP_F64: {
    double d;
    if (float_value(v, "f64", &d) < 0) return -1;
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    *out = b;
    return 0;
  }
  case WP_FUNCREF:
    if (v == Py_None) {
      *out = 0;
      return 0;
    }
    if (!PyObject_TypeCheck(v, &wpy_FuncType)) {
      PyErr_Format(PyExc_TypeError, "funcref value must be a wasmprof.Func or None, not %.100s",
                   Py_TYPE(v)->tp_name);
      return -1;
    }
    return wpy_func_to_slot((wpy_Func *)v, out);
  case WP_EXTERNREF:
    if (v == Py_None) {
      *out = 0;
      return 0;
    }
    return wpy_extern_token(v, out);
  default:
    return unsupported(t);
  }
}

PyObject *wpy_from_slot(wp_slot s, wp_valtype t, bool unsigned_ints) {
  switch (t) {
  case WP_I32:
    return unsigned_ints ? PyLong_FromUnsignedLong((uint32_t)s) : PyLong_FromLong((int32_t)(uint32_t)s);
  case WP_I64:
    return unsigned_ints ? PyLong_FromUnsignedLongLong(s) : PyLong_FromLongLong((int64_t)s);
  case WP_F32:
    return PyFloat_FromDouble(f32_value((uint32_t)s));
  case WP_F64: {
    double d;
    memcpy(&d, &s, sizeof d);
    return PyFloat_FromDouble(d);
  }
  case WP_FUNCREF:
    if (s == 0) Py_RETURN_NONE;
    return wpy_func_wrap((wp_func *)(uintptr_t)s);
  case WP_EXTERNREF:
    return wpy_extern_object(s);
  default:
    unsupported(t);
    return NULL;
  }
}

int wpy_bits_to_slot(PyObject *v, wp_valtype t, wp_slot *out) {
  switch (t) {
  case WP_I32:
  case WP_F32:
    return int_bits(v, 32, wp_valtype_name((wp_valtype)t), out);
  case WP_I64:
  case WP_F64:
    return int_bits(v, 64, wp_valtype_name((wp_valtype)t), out);
  case WP_FUNCREF:
  case WP_EXTERNREF: {
    uint64_t s;
    if (int_bits(v, 64, wp_valtype_name((wp_valtype)t), &s) < 0) return -1;
    if (t == WP_FUNCREF ? !wpy_funcref_valid(s) : !wpy_extern_token_valid(s)) {
      PyErr_Format(PyExc_ValueError, "%llu is not a %s handed out by wasmprof",
                   (unsigned long long)s, wp_valtype_name((wp_valtype)t));
      return -1;
    }
    *out = s;
    return 0;
  }
  default:
    return unsupported(t);
  }
}

PyObject *wpy_slot_to_bits(wp_slot s, wp_valtype t) {
  switch (t) {
  case WP_I32:
  case WP_F32:
    return PyLong_FromUnsignedLong((uint32_t)s);
  case WP_I64:
  case WP_F64:
  case WP_FUNCREF:
  case WP_EXTERNREF:
    return PyLong_FromUnsignedLongLong(s);
  default:
    unsupported(t);
    return NULL;
  }
}

/* ---- types -------------------------------------------------------------------------------------- */

static PyObject *valtype_tuple(uint32_t n, const wp_functype *t, bool results) {
  PyObject *tup = PyTuple_New(n);
  if (!tup) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    wp_valtype v = results ? wp_functype_result(t, i) : wp_functype_param(t, i);
    PyObject *s = PyUnicode_FromString(wp_valtype_name((wp_valtype)v));
    if (!s) {
      Py_DECREF(tup);
      return NULL;
    }
    PyTuple_SET_ITEM(tup, i, s);
  }
  return tup;
}

PyObject *wpy_functype_to_py(const wp_functype *t) {
  PyObject *params = valtype_tuple(wp_functype_param_count(t), t, false);
  PyObject *results = params ? valtype_tuple(wp_functype_result_count(t), t, true) : NULL;
  if (!results) {
    Py_XDECREF(params);
    return NULL;
  }
  return wpy_types_new("FuncType", Py_BuildValue("(NN)", params, results));
}

static PyObject *max_obj(wp_limits l) {
  if (!l.has_max) Py_RETURN_NONE;
  return PyLong_FromUnsignedLong(l.max);
}

PyObject *wpy_extern_type_to_py(const wp_extern_type *t) {
  switch (t->kind) {
  case WP_EXTERN_FUNC:
    return wpy_functype_to_py(t->func);
  case WP_EXTERN_TABLE:
    return wpy_types_new("TableType", Py_BuildValue("(skN)", wp_valtype_name((wp_valtype)t->valtype),
                                                    (unsigned long)t->limits.min, max_obj(t->limits)));
  case WP_EXTERN_MEMORY:
    return wpy_types_new("MemoryType",
                         Py_BuildValue("(kN)", (unsigned long)t->limits.min, max_obj(t->limits)));
  case WP_EXTERN_GLOBAL:
    return wpy_types_new("GlobalType", Py_BuildValue("(sO)", wp_valtype_name((wp_valtype)t->valtype),
                                                     t->mutable_ ? Py_True : Py_False));
  }
  PyErr_SetString(PyExc_SystemError, "unknown extern kind");
  return NULL;
}

/* ---- integer arguments ------------------------------------------------------------------------ */

int wpy_u64_arg(PyObject *v, const char *what, uint64_t *out) {
  if (!PyLong_Check(v)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(v)->tp_name);
    return -1;
  }
  int overflow = 0;
  long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
  if (x == -1 && PyErr_Occurred()) return -1;
  if (overflow < 0 || (overflow == 0 && x < 0)) {
    PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
    return -1;
  }
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(v);
    if (u == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    *out = u;
    return 0;
  }
  *out = (uint64_t)x;
  return 0;
}

int wpy_u32_arg(PyObject *v, const char *what, uint32_t *out) {
  uint64_t x;
  if (wpy_u64_arg(v, what, &x) < 0) return -1;
  if (x > UINT32_MAX) {
    PyErr_Format(PyExc_OverflowError, "%s is too large", what);
    return -1;
  }
  *out = (uint32_t)x;
  return 0;
}
