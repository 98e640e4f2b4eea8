/* py_backtrace.c: names, source lines and backtraces for Python.
 *
 *   Module.func_name(i), func_raw_name(i), local_name(f, l), global_name(i),
 *   name(kind, i, sub=0), func_body_offset(i), source_location(offset),
 *   names_warning(), dwarf_warning()
 *   wasmprof.backtrace() / Instance.backtrace(): the current guest frames
 *   wpy_backtrace(): frames of a failed wp_call, attached to the Trap or to
 *   the Python exception a host import raised.
 *
 * Frames are python/wasmprof/backtraces.py's Frame dataclass, built from the
 * wp_exec frame stack only when asked.  A malformed name section or line
 * table gives one Python warning per Module, on first use. */
#include "core.h"

static PyObject *backtrace_module;

/* bt_attr: an attribute of wasmprof.backtraces (new reference). */
static PyObject *bt_attr(const char *name) {
  if (!backtrace_module && !(backtrace_module = PyImport_ImportModule("wasmprof.backtraces"))) return NULL;
  return PyObject_GetAttrString(backtrace_module, name);
}

static PyObject *str_or_none(const char *s, Py_ssize_t len) {
  if (!s) Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(s, len, "replace");
}

/* warn_once: a UserWarning for a malformed name section / line table, the
 * first time this Module's names (lines) are used.  -1 if the warning was
 * turned into an exception. */
static int warn_once(wpy_Module *self, bool dwarf) {
  bool *flag = dwarf ? &self->dwarf_warned : &self->names_warned;
  if (*flag) return 0;
  *flag = true;
  const char *w = dwarf ? wp_module_dwarf_warning(self->module) : wp_module_names_warning(self->module);
  return w ? PyErr_WarnFormat(PyExc_UserWarning, 1, "wasmprof: %s", w) : 0;
}

static wpy_Module *get_module(PyObject *o) {
  wpy_Module *self = (wpy_Module *)o;
  if (!self->module) {
    PyErr_SetString(PyExc_ValueError, "uninitialised Module");
    return NULL;
  }
  return self;
}

static PyObject *raw_name(const wp_module *m, wp_name_kind kind, uint32_t index, uint32_t sub) {
  const char *s;
  uint32_t len;
  if (!wp_module_name(m, kind, index, sub, &s, &len)) Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(s, len, "replace");
}

static PyObject *func_display(const wp_module *m, uint32_t index) {
  const char *d = wp_module_func_display_name(m, index);
  if (d) return PyUnicode_DecodeUTF8(d, (Py_ssize_t)strlen(d), "replace");
  const char *s;
  uint32_t len;
  if (wp_module_name(m, WP_NAME_FUNC, index, 0, &s, &len)) return PyErr_NoMemory(); /* named but no copy */
  Py_RETURN_NONE;
}

/* ---- Module methods ---- */

static PyObject *m_func_name(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t i;
  if (!self || wpy_u32_arg(arg, "function index", &i) < 0 || warn_once(self, false) < 0) return NULL;
  return func_display(self->module, i);
}

static PyObject *m_func_raw_name(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t i;
  if (!self || wpy_u32_arg(arg, "function index", &i) < 0 || warn_once(self, false) < 0) return NULL;
  return raw_name(self->module, WP_NAME_FUNC, i, 0);
}

static PyObject *m_global_name(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t i;
  if (!self || wpy_u32_arg(arg, "global index", &i) < 0 || warn_once(self, false) < 0) return NULL;
  return raw_name(self->module, WP_NAME_GLOBAL, i, 0);
}

static PyObject *m_local_name(PyObject *o, PyObject *const *args, Py_ssize_t nargs) {
  wpy_Module *self = get_module(o);
  uint32_t f, l;
  if (!self) return NULL;
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "local_name(func_index, local_index)");
    return NULL;
  }
  if (wpy_u32_arg(args[0], "function index", &f) < 0 || wpy_u32_arg(args[1], "local index", &l) < 0 ||
      warn_once(self, false) < 0)
    return NULL;
  return raw_name(self->module, WP_NAME_LOCAL, f, l);
}

static const char *const kind_names[] = {"module", "func",  "local",  "label", "type",
                                         "table",  "memory", "global", "elem",  "data"};

static PyObject *m_name(PyObject *o, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"kind", "index", "sub", NULL};
  wpy_Module *self = get_module(o);
  const char *kind;
  PyObject *index_o = NULL, *sub_o = NULL;
  uint32_t index = 0, sub = 0;
  if (!self || !PyArg_ParseTupleAndKeywords(args, kwds, "s|OO:name", kwlist, &kind, &index_o, &sub_o)) return NULL;
  if ((index_o && wpy_u32_arg(index_o, "index", &index) < 0) || (sub_o && wpy_u32_arg(sub_o, "sub", &sub) < 0))
    return NULL;
  for (int k = 0; k < (int)(sizeof kind_names / sizeof *kind_names); k++)
    if (strcmp(kind, kind_names[k]) == 0) {
      if (warn_once(self, false) < 0) return NULL;
      return raw_name(self->module, (wp_name_kind)k, index, sub);
    }
  PyErr_Format(PyExc_ValueError, "unknown name kind %s (module, func, local, label, type, table, memory, "
                                 "global, elem, data)", kind);
  return NULL;
}

static PyObject *m_func_body_offset(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t i;
  if (!self || wpy_u32_arg(arg, "function index", &i) < 0) return NULL;
  uint32_t off = wp_module_func_body_offset(self->module, i);
  if (off == WP_NO_OFFSET) {
    PyErr_Format(PyExc_IndexError, "function %u is not defined in the module (imported or out of range)",
                 (unsigned)i);
    return NULL;
  }
  return PyLong_FromUnsignedLong(off);
}

/* source_location_new: a SourceLocation (file may be NULL: None). */
static PyObject *source_location_new(PyObject *cls, const char *file, uint32_t line, uint32_t column,
                                     const char *function) {
  return PyObject_CallFunction(cls, "NINN", str_or_none(file, file ? (Py_ssize_t)strlen(file) : 0), (unsigned)line,
                               column ? PyLong_FromUnsignedLong(column) : (Py_INCREF(Py_None), Py_None),
                               str_or_none(function, function ? (Py_ssize_t)strlen(function) : 0));
}

static PyObject *location_obj(const wp_module *m, uint32_t offset) {
  wp_source_location loc;
  if (!wp_module_source_location(m, offset, &loc)) Py_RETURN_NONE;
  PyObject *cls = bt_attr("SourceLocation");
  if (!cls) return NULL;
  PyObject *r = source_location_new(cls, loc.file, loc.line, loc.column, loc.function);
  Py_DECREF(cls);
  return r;
}

static PyObject *m_source_location(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t off;
  if (!self || wpy_u32_arg(arg, "module offset", &off) < 0 || warn_once(self, true) < 0) return NULL;
  return location_obj(self->module, off);
}

/* func_decl(index): wp_module_func_decl as a SourceLocation (no column). */
static PyObject *m_func_decl(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t i;
  if (!self || wpy_u32_arg(arg, "function index", &i) < 0 || warn_once(self, true) < 0) return NULL;
  wp_source_location loc;
  if (!wp_module_func_decl(self->module, i, &loc)) Py_RETURN_NONE;
  PyObject *cls = bt_attr("SourceLocation");
  if (!cls) return NULL;
  PyObject *r = source_location_new(cls, loc.file, loc.line, 0, NULL);
  Py_DECREF(cls);
  return r;
}

#define MAX_SOURCE_FRAMES 64 /* deeper inlining chains are cut here */

/* source_frames(offset): wp_module_source_frames as SourceLocations. */
static PyObject *m_source_frames(PyObject *o, PyObject *arg) {
  wpy_Module *self = get_module(o);
  uint32_t off;
  if (!self || wpy_u32_arg(arg, "module offset", &off) < 0 || warn_once(self, true) < 0) return NULL;
  wp_source_frame src[MAX_SOURCE_FRAMES];
  uint32_t n = wp_module_source_frames(self->module, off, src, MAX_SOURCE_FRAMES);
  PyObject *cls = bt_attr("SourceLocation");
  PyObject *list = cls ? PyList_New(n) : NULL;
  for (uint32_t i = 0; list && i < n; i++) {
    PyObject *l = source_location_new(cls, src[i].file, src[i].line, src[i].column, src[i].function);
    if (!l) Py_CLEAR(list);
    else PyList_SET_ITEM(list, i, l);
  }
  Py_XDECREF(cls);
  return list;
}

static PyObject *m_names_warning(PyObject *o, PyObject *unused) {
  (void)unused;
  wpy_Module *self = get_module(o);
  if (!self) return NULL;
  const char *w = wp_module_names_warning(self->module);
  return str_or_none(w, w ? (Py_ssize_t)strlen(w) : 0);
}

static PyObject *m_dwarf_warning(PyObject *o, PyObject *unused) {
  (void)unused;
  wpy_Module *self = get_module(o);
  if (!self) return NULL;
  const char *w = wp_module_dwarf_warning(self->module);
  return str_or_none(w, w ? (Py_ssize_t)strlen(w) : 0);
}

PyMethodDef wpy_module_debug_methods[] = {
    {"func_name", m_func_name, METH_O,
     "func_name(index) -> str | None\n\nThe function's name from the name section, demangled (C++, Rust)."},
    {"func_raw_name", m_func_raw_name, METH_O,
     "func_raw_name(index) -> str | None\n\nThe function's name exactly as in the name section."},
    {"local_name", (PyCFunction)(void (*)(void))m_local_name, METH_FASTCALL,
     "local_name(func_index, local_index) -> str | None"},
    {"global_name", m_global_name, METH_O, "global_name(index) -> str | None"},
    {"name", (PyCFunction)(void (*)(void))m_name, METH_VARARGS | METH_KEYWORDS,
     "name(kind, index=0, sub=0) -> str | None\n\nAny name-section name: kind is module, func, local, label\n"
     "(index: function, sub: local/label), type, table, memory, global, elem or data."},
    {"func_body_offset", m_func_body_offset, METH_O,
     "func_body_offset(index) -> int\n\nModule offset of the function's body entry (first byte after the\n"
     "body size): function-relative offsets are measured from here."},
    {"source_location", m_source_location, METH_O,
     "source_location(module_offset) -> SourceLocation | None\n\nFile, line and column from .debug_line."},
    {"func_decl", m_func_decl, METH_O,
     "func_decl(index) -> SourceLocation | None\n\nWhere the function is declared in the source "
     "(DW_AT_decl_file/decl_line), None without DWARF for it."},
    {"source_frames", m_source_frames, METH_O,
     "source_frames(module_offset) -> list[SourceLocation]\n\nThe source frames of the instruction there, "
     "innermost first: its own function (an inlined one if the compiler inlined it) at its line, then each "
     "function it was inlined into at the call site; [] without DWARF."},
    {"names_warning", m_names_warning, METH_NOARGS,
     "names_warning() -> str | None\n\nWhy the name section was ignored, if it was malformed."},
    {"dwarf_warning", m_dwarf_warning, METH_NOARGS,
     "dwarf_warning() -> str | None\n\nWhy (part of) the DWARF line table was ignored."},
    {NULL, NULL, 0, NULL},
};

/* ---- frames ---- */

/* host_name: the Python callable's qualified name for a host Func, else None. */
static PyObject *host_name(wp_func *f) {
  PyObject *fo = wpy_func_wrap(f);
  if (!fo) return NULL;
  PyObject *callable = ((wpy_Func *)fo)->callable, *r = NULL;
  if (callable) {
    r = PyObject_GetAttrString(callable, "__qualname__");
    if (!r) {
      PyErr_Clear();
      r = PyObject_Repr(callable);
    }
  } else {
    Py_INCREF(Py_None);
    r = Py_None;
  }
  Py_DECREF(fo);
  return r;
}

/* At most this many source frames per wasm frame (inlining depth). */
#define MAX_INLINED 64

/* frame_at: what a Frame needs from one wp_frame, copied out before any
 * Python object is made (making objects may run arbitrary Python code,
 * which could enter the guest and overwrite the frame stack). */
typedef struct frame_at {
  wp_func *func;
  uint32_t offset;
} frame_at;

static PyObject *frame_obj(PyObject *cls, const frame_at *fr) {
  wp_func *f = fr->func;
  const wp_instance *inst = f ? wp_func_instance(f) : NULL;
  if (!inst) {
    PyObject *name = f ? host_name(f) : (Py_INCREF(Py_None), Py_None);
    if (!name) return NULL;
    return PyObject_CallFunction(cls, "ONOOOOOOOOO()", Py_None, name, Py_None, Py_None, Py_None, Py_None,
                                 Py_None, Py_None, Py_True, Py_None, Py_None);
  }
  const wp_module *m = wp_instance_module(inst);
  uint32_t index = wp_func_index(f);
  uint32_t off = fr->offset;
  uint32_t start = wp_module_func_body_offset(m, index);
  wp_source_frame src[MAX_INLINED];
  uint32_t nsrc = off == WP_NO_OFFSET ? 0 : wp_module_source_frames(m, off, src, MAX_INLINED);
  bool has_line = nsrc > 0 && src[0].file && src[0].line;
  PyObject *loc_cls = bt_attr("SourceLocation");
  PyObject *inlined = loc_cls ? PyTuple_New(nsrc > 1 ? nsrc - 1 : 0) : NULL;
  for (uint32_t i = 1; inlined && i < nsrc; i++) {
    PyObject *l = source_location_new(loc_cls, src[i].file ? src[i].file : "?", src[i].line, src[i].column,
                                      src[i].function);
    if (!l) Py_CLEAR(inlined);
    else PyTuple_SET_ITEM(inlined, i - 1, l);
  }
  Py_XDECREF(loc_cls);
  if (!inlined) return NULL;
#define OPT_U32(cond, v) ((cond) ? PyLong_FromUnsignedLong(v) : (Py_INCREF(Py_None), Py_None))
  PyObject *r = PyObject_CallFunction(
      cls, "INNNNNNNONNN", (unsigned)index, func_display(m, index), raw_name(m, WP_NAME_FUNC, index, 0),
      OPT_U32(off != WP_NO_OFFSET, off), OPT_U32(off != WP_NO_OFFSET && start != WP_NO_OFFSET, off - start),
      has_line ? str_or_none(src[0].file, (Py_ssize_t)strlen(src[0].file)) : (Py_INCREF(Py_None), Py_None),
      OPT_U32(has_line, has_line ? src[0].line : 0), OPT_U32(has_line && src[0].column, has_line ? src[0].column : 0),
      Py_False, raw_name(m, WP_NAME_MODULE, 0, 0),
      str_or_none(nsrc ? src[0].function : NULL, nsrc && src[0].function ? (Py_ssize_t)strlen(src[0].function) : 0),
      inlined);
#undef OPT_U32
  return r;
}

PyObject *wpy_backtrace(const wp_exec *ex, uint32_t nframes) {
  frame_at *snap = PyMem_Malloc(sizeof *snap * (nframes ? nframes : 1));
  if (!snap) return PyErr_NoMemory();
  uint32_t n = 0;
  for (uint32_t i = nframes; i-- > 0;) { /* innermost first */
    const wp_frame *fr = wp_exec_frame(ex, i);
    if (fr) snap[n++] = (frame_at){fr->func, wp_frame_offset(fr)};
  }
  PyObject *cls = bt_attr("Frame");
  PyObject *list = cls ? PyList_New(n) : NULL;
  for (uint32_t i = 0; list && i < n; i++) {
    PyObject *f = frame_obj(cls, &snap[i]);
    if (!f) Py_CLEAR(list);
    else PyList_SET_ITEM(list, i, f);
  }
  Py_XDECREF(cls);
  PyMem_Free(snap);
  return list;
}

void wpy_attach_backtrace(PyObject *frames) {
  if (!frames || !PyErr_Occurred()) return;
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (PyErr_GivenExceptionMatches(value, wpy_Trap)) {
    PyObject *old = PyObject_GetAttrString(value, "frames");
    if (old == Py_None) {
      if (PyObject_SetAttrString(value, "frames", frames) < 0) PyErr_Clear();
    } else if (!old) {
      PyErr_Clear();
    }
    Py_XDECREF(old);
  } else {
    PyObject *attach = bt_attr("_attach_to_host_exception");
    PyObject *r = attach ? PyObject_CallFunctionObjArgs(attach, value, frames, NULL) : NULL;
    Py_XDECREF(attach);
    Py_XDECREF(r);
    if (!r) PyErr_Clear(); /* never replace the guest's own exception */
  }
  if (tb) PyException_SetTraceback(value, tb);
  PyErr_Restore(type, value, tb);
}

PyObject *wpy_current_backtrace(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  wp_exec *ex = wpy_exec();
  if (!ex) return NULL;
  return wpy_backtrace(ex, wp_exec_frame_count(ex));
}

static PyMethodDef instance_debug_methods[] = {
    {"backtrace", wpy_current_backtrace, METH_NOARGS,
     "backtrace() -> list[Frame]\n\nThe guest frames of this thread, innermost first, while the guest is\n"
     "stopped in a host call (call it from inside a host function); [] when no guest runs."},
    {NULL, NULL, 0, NULL},
};

/* add_methods: put method descriptors into a ready static type, so that the
 * debugging methods live in this file rather than in each type's table. */
static int add_methods(PyTypeObject *type, PyMethodDef *defs) {
  for (PyMethodDef *d = defs; d->ml_name; d++) {
    PyObject *descr = PyDescr_NewMethod(type, d);
    if (!descr) return -1;
    int rc = PyDict_SetItemString(type->tp_dict, d->ml_name, descr);
    Py_DECREF(descr);
    if (rc < 0) return -1;
  }
  PyType_Modified(type);
  return 0;
}

int wpy_backtrace_init(void) {
  return add_methods(&wpy_ModuleType, wpy_module_debug_methods) < 0 ||
                 add_methods(&wpy_InstanceType, instance_debug_methods) < 0
             ? -1
             : 0;
}
