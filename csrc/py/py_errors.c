/* py_errors.c: wp_error -> the matching Python exception, with attributes. */
#include "core.h"

#include <stdarg.h>

static PyObject *message_str(const wp_error *err) {
  return PyUnicode_DecodeUTF8(err->message, (Py_ssize_t)strnlen(err->message, sizeof err->message),
                              "replace");
}

static PyObject *offset_obj(uint32_t offset) {
  if (offset == WP_NO_OFFSET) Py_RETURN_NONE;
  return PyLong_FromUnsignedLong(offset);
}

/* raise_with_attrs: raise cls(text) after setting the given attributes. */
static PyObject *raise_with_attrs(PyObject *cls, PyObject *text, const char *const *names,
                                  PyObject *const *values, int n) {
  PyObject *exc = NULL;
  if (!text) goto done;
  for (int i = 0; i < n; i++)
    if (!values[i]) goto done;
  exc = PyObject_CallOneArg(cls, text);
  if (!exc) goto done;
  for (int i = 0; i < n; i++)
    if (PyObject_SetAttrString(exc, names[i], values[i]) < 0) goto done;
  PyErr_SetObject(cls, exc);
done:
  Py_XDECREF(exc);
  Py_XDECREF(text);
  for (int i = 0; i < n; i++) Py_XDECREF(values[i]);
  return NULL;
}

static PyObject *raise_decode(PyObject *cls, const wp_error *err) {
  static const char *const names[] = {"offset", "reason"};
  PyObject *reason = message_str(err);
  PyObject *offset = offset_obj(err->offset);
  PyObject *text = NULL;
  if (reason && offset) {
    if (err->offset == WP_NO_OFFSET) {
      text = reason;
      Py_INCREF(text);
    } else {
      text = PyUnicode_FromFormat("%U at offset 0x%x", reason, (unsigned)err->offset);
    }
  }
  PyObject *values[] = {offset, reason};
  return raise_with_attrs(cls, text, names, values, 2);
}

static PyObject *raise_trap(const wp_error *err) {
  static const char *const names[] = {"kind", "message", "func_index", "offset"};
  bool known = err->trap > WP_TRAP_NONE && err->trap < WP_TRAP_COUNT;
  const char *kind = known ? wp_trap_name(err->trap) : NULL;
  const char *spec = known ? wp_trap_message(err->trap) : NULL;
  PyObject *kind_obj = PyUnicode_FromString(kind ? kind : "unknown");
  PyObject *msg_obj = spec ? PyUnicode_FromString(spec) : message_str(err);
  PyObject *func_obj = err->func == WP_NO_FUNC ? (Py_INCREF(Py_None), Py_None)
                                                : PyLong_FromUnsignedLong(err->func);
  PyObject *offset = offset_obj(err->offset);
  PyObject *text = NULL;
  if (kind_obj && msg_obj && func_obj && offset) {
    /* "<message>[ in function N][ at offset 0xH]"; the core's own message
     * follows in parentheses when it says more than the spec wording. */
    text = PyUnicode_FromFormat("%U", msg_obj);
    if (text && err->func != WP_NO_FUNC)
      Py_SETREF(text, PyUnicode_FromFormat("%U in function %u", text, (unsigned)err->func));
    if (text && err->offset != WP_NO_OFFSET)
      Py_SETREF(text, PyUnicode_FromFormat("%U at offset 0x%x", text, (unsigned)err->offset));
    if (text && err->message[0] && spec && strncmp(err->message, spec, sizeof err->message) != 0) {
      PyObject *detail = message_str(err);
      if (detail) Py_SETREF(text, PyUnicode_FromFormat("%U (%U)", text, detail));
      else Py_CLEAR(text);
      Py_XDECREF(detail);
    }
  }
  PyObject *values[] = {kind_obj, msg_obj, func_obj, offset};
  return raise_with_attrs(wpy_Trap, text, names, values, 4);
}

PyObject *wpy_raise(const wp_error *err) {
  switch (err->kind) {
  case WP_ERR_DECODE:
    return raise_decode(wpy_DecodeError, err);
  case WP_ERR_VALIDATE:
    return raise_decode(wpy_ValidationError, err);
  case WP_ERR_TRAP:
    return raise_trap(err);
  case WP_ERR_HOST:
    if (wpy_restore_exception()) return NULL;
    break;
  case WP_ERR_LINK: {
    PyObject *m = message_str(err);
    if (m) PyErr_SetObject(wpy_LinkError, m);
    Py_XDECREF(m);
    return NULL;
  }
  case WP_ERR_LIMIT: {
    PyObject *m = message_str(err);
    if (m) PyErr_SetObject(wpy_LimitError, m);
    Py_XDECREF(m);
    return NULL;
  }
  case WP_ERR_NOMEM:
    return PyErr_NoMemory();
  case WP_ERR_INTERRUPT: {
    /* wasmprof.interrupt(): the user asked to stop, as with Ctrl-C */
    PyObject *text = PyUnicode_FromString("WebAssembly execution interrupted");
    if (text && err->func != WP_NO_FUNC)
      Py_SETREF(text, PyUnicode_FromFormat("%U in function %u", text, (unsigned)err->func));
    if (text && err->offset != WP_NO_OFFSET)
      Py_SETREF(text, PyUnicode_FromFormat("%U at offset 0x%x", text, (unsigned)err->offset));
    static const char *const names[] = {"func_index", "offset"};
    PyObject *func = err->func == WP_NO_FUNC ? (Py_INCREF(Py_None), Py_None) : PyLong_FromUnsignedLong(err->func);
    PyObject *values[] = {func, offset_obj(err->offset)};
    return raise_with_attrs(PyExc_KeyboardInterrupt, text, names, values, 2);
  }
  case WP_ERR_ARG: {
    PyObject *m = message_str(err);
    if (m) PyErr_SetObject(PyExc_ValueError, m);
    Py_XDECREF(m);
    return NULL;
  }
  case WP_ERR_EXIT:
    return wpy_raise_exit(err);
  case WP_OK:
    break;
  }
  if (PyErr_Occurred()) return NULL;
  PyObject *m = err->message[0] ? message_str(err) : PyUnicode_FromString("unknown error");
  if (m) PyErr_SetObject(wpy_Error, m);
  Py_XDECREF(m);
  return NULL;
}

PyObject *wpy_raise_link(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PyObject *m = PyUnicode_FromFormatV(fmt, ap);
  va_end(ap);
  if (m) PyErr_SetObject(wpy_LinkError, m);
  Py_XDECREF(m);
  return NULL;
}
