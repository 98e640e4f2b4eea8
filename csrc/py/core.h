/* core.h: shared declarations of the CPython extension wasmprof._core.
 *
 * One file per Python type (py_module.c, py_instance.c, py_func.c,
 * py_memory.c, py_table.c, py_global.c), plus value conversion
 * (py_values.c), error mapping (py_errors.c) and the module itself
 * (module.c: exceptions, the per-thread wp_exec, the host-exception stash).
 *
 * Ownership rules (what keeps what alive):
 *   Instance  -> its Module and every imported object (Func/Memory/Table/
 *                Global), so that what it imports outlives the C instance;
 *                and its Exports namespace.
 *   Func/Memory/Table/Global wrappers of exported objects -> their Instance.
 *   Host objects created from Python (Func(callable, ...), Memory(...),
 *                Table(...), Global(...)) own their C object and free it
 *                when the wrapper is deallocated.
 * References handed to the guest (funcref and externref slots) escape the
 * reach of Python's reference counting; see py_values.c and py_func.c for
 * the registries that keep them alive.
 *
 * The GIL is held during guest execution, except that the poll hook of
 * py_interrupt.c releases and retakes it at a loop back-edge or call about
 * every 5 ms, so other Python threads run while a guest loops.
 */
#ifndef WPY_CORE_H
#define WPY_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include "runtime.h"

/* ---- exceptions (module.c) ------------------------------------------------ */

extern PyObject *wpy_Error;           /* wasmprof.Error(Exception) */
extern PyObject *wpy_DecodeError;     /* .offset, .reason */
extern PyObject *wpy_ValidationError; /* .offset, .reason */
extern PyObject *wpy_LinkError;
extern PyObject *wpy_Trap;            /* .kind, .message, .func_index, .offset */
extern PyObject *wpy_LimitError;
extern PyObject *wpy_Exit;            /* .code (py_wasi.c) */

/* ---- types ------------------------------------------------------------------ */

extern PyTypeObject wpy_ModuleType;
extern PyTypeObject wpy_InstanceType;
extern PyTypeObject wpy_ExportsType;
extern PyTypeObject wpy_FuncType;
extern PyTypeObject wpy_MemoryType;
extern PyTypeObject wpy_TableType;
extern PyTypeObject wpy_GlobalType;

/* wpy_Module: a decoded, validated module. */
typedef struct wpy_Module {
  PyObject_HEAD
  wp_module *module;
  bool names_warned, dwarf_warned; /* py_backtrace.c: warned once about a malformed section */
  PyObject *bytes; /* the bytes object the module reads in place (wp_module_new_borrowed), or NULL */
} wpy_Module;

/* wpy_Instance: an instantiated module.  imported[] holds a strong reference
 * to each imported object in import order (not a Python list, so that the
 * cyclic GC cannot clear it while the C instance still points into it). */
typedef struct wpy_Instance {
  PyObject_HEAD
  wp_instance *inst;
  PyObject *module;    /* wpy_Module */
  PyObject **imported; /* nimported strong references */
  Py_ssize_t nimported;
  /* Exports, without a reference cycle (an Instance is freed as soon as its
   * last reference goes, not by the cycle collector): the wrappers and the
   * Exports namespace hold the Instance, and it keeps only borrowed
   * pointers to them, which their deallocators clear (wpy_export_forget).
   * So an export is the same object for as long as anyone holds it. */
  PyObject *export_names;   /* dict: export name -> export index (module order) */
  PyObject **export_cache;  /* borrowed: export index -> its live wrapper, or NULL */
  PyObject *exports_view;   /* borrowed: the live Exports namespace, or NULL */
  PyObject *weakrefs;
  PyObject *coredump;  /* coredump setting: NULL/None (environment), False, or a str path (py_coredump.c) */
} wpy_Instance;

/* wpy_Exports: the namespace instance.exports (export names in module order,
 * wrappers made on first access); holds its Instance. */
typedef struct wpy_Exports {
  PyObject_HEAD
  PyObject *instance; /* wpy_Instance */
} wpy_Exports;

/* wpy_export_forget: a wrapper cached as export slot-1 of owner is being
 * freed (slot 0: not cached): clear the borrowed pointer (py_instance.c). */
void wpy_export_forget(PyObject *owner, Py_ssize_t slot, PyObject *wrapper);

/* wpy_Func: a function, guest or host.
 *   guest: owner is the Python Instance when one is alive; otherwise the
 *          wrapper holds a C reference on the instance (retained).
 *   host:  created here from a Python callable; owns func (freed with the
 *          wrapper); func's host context is this object. */
typedef struct wpy_Func {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  wp_func *func;
  PyObject *owner;
  wp_instance *retained;
  PyObject *callable;
  bool owned;
  Py_ssize_t export_slot; /* 1 + the owner's export index it is cached as, or 0 */
} wpy_Func;

/* wpy_Memory, wpy_Table, wpy_Global: owner is the exporting Instance, or NULL
 * for a host object this wrapper created and frees. */
typedef struct wpy_Memory {
  PyObject_HEAD
  wp_memory *mem;
  PyObject *owner;
  Py_ssize_t export_slot; /* 1 + the owner's export index it is cached as, or 0 */
} wpy_Memory;

typedef struct wpy_Table {
  PyObject_HEAD
  wp_table *table;
  PyObject *owner;
  Py_ssize_t export_slot; /* 1 + the owner's export index it is cached as, or 0 */
} wpy_Table;

typedef struct wpy_Global {
  PyObject_HEAD
  wp_global *global;
  PyObject *owner;
  Py_ssize_t export_slot; /* 1 + the owner's export index it is cached as, or 0 */
} wpy_Global;

/* ---- module.c ------------------------------------------------------------------ */

/* wpy_exec: this OS thread's execution context, created on first use (NULL
 * with an exception set on failure).  Freed with the thread's state. */
wp_exec *wpy_exec(void);

/* The host-exception stash: a host function that raises stores the Python
 * exception here (per thread) and returns WP_ERR_HOST; whoever receives
 * WP_ERR_HOST from wp_call or wp_instance_new restores it unchanged. */
void wpy_stash_exception(void);
bool wpy_restore_exception(void); /* false when nothing was stashed */

/* wpy_keep_forever: keep a strong reference until the process ends (the
 * documented leaks: objects a C structure may still point to). */
int wpy_keep_forever(PyObject *obj);

/* wpy_types_new: call the class `name` of python/wasmprof/types.py. */
PyObject *wpy_types_new(const char *name, PyObject *args);

/* ---- py_errors.c ------------------------------------------------------------------ */

/* wpy_raise: set the Python exception for err; returns NULL. */
PyObject *wpy_raise(const wp_error *err);
/* wpy_raise_link: LinkError with a formatted message; returns NULL. */
PyObject *wpy_raise_link(const char *fmt, ...);

/* ---- py_values.c ------------------------------------------------------------------ */

const char *wpy_extern_kind_name(wp_extern_kind k);
/* wpy_valtype_from_name: parse "i32", ...; sets ValueError/TypeError and returns -1. */
int wpy_valtype_from_name(PyObject *name, wp_valtype *out);
/* wpy_valtypes_from_seq: parse an iterable of names into a new array (PyMem_Free it). */
int wpy_valtypes_from_seq(PyObject *seq, wp_valtype **out, uint32_t *n);

/* Value conversion, "Python value" flavour (see the API contract). */
int wpy_to_slot(PyObject *v, wp_valtype t, wp_slot *out);
PyObject *wpy_from_slot(wp_slot s, wp_valtype t, bool unsigned_ints);
/* Exact-bits flavour: unsigned ints of the type's width; refs as raw slots
 * (0 = null), checked to be references the extension handed out. */
int wpy_bits_to_slot(PyObject *v, wp_valtype t, wp_slot *out);
PyObject *wpy_slot_to_bits(wp_slot s, wp_valtype t);

/* externref registry: token = index + 1 into a process-wide list. */
int wpy_extern_token(PyObject *obj, wp_slot *out);
PyObject *wpy_extern_object(wp_slot token);
bool wpy_extern_token_valid(wp_slot token);

PyObject *wpy_functype_to_py(const wp_functype *t);
PyObject *wpy_extern_type_to_py(const wp_extern_type *t);

/* ---- py_func.c ------------------------------------------------------------------ */

/* wpy_func_wrap: the Func object for f (new reference). */
PyObject *wpy_func_wrap(wp_func *f);
/* wpy_func_new_host: a host Func calling callable with type t. */
PyObject *wpy_func_new_host(PyObject *callable, const wp_functype *t);
/* wpy_func_to_slot: f as a funcref slot; f is kept alive for good. */
int wpy_func_to_slot(wpy_Func *f, wp_slot *out);
/* wpy_funcref_valid: whether s is null or a funcref handed out by wpy_func_to_slot. */
bool wpy_funcref_valid(wp_slot s);

/* ---- py_wasi.c ------------------------------------------------------------------ */

extern PyTypeObject wpy_WasiCtxType;
/* wpy_wasi_init: create wasmprof.Exit and WasiCtx and add them to the module. */
int wpy_wasi_init(PyObject *m);
/* wpy_raise_exit: raise Exit for a WP_ERR_EXIT error; returns NULL. */
PyObject *wpy_raise_exit(const wp_error *err);

/* ---- py_instance.c ------------------------------------------------------------------ */

/* wpy_instance_lookup: the live Python Instance of inst, borrowed, or NULL. */
PyObject *wpy_instance_lookup(const wp_instance *inst);

/* ---- py_profile.c: _profile_start, _profile_stop, _ticks (added to _core by module.c) ---- */
extern PyMethodDef wpy_profile_methods[];
extern PyMethodDef wpy_loop_methods[]; /* py_loops.c */
extern PyMethodDef wpy_session_methods[]; /* py_session.c */
/* wpy_profile_to_py: _profile_stop's (nodes, events, events_truncated) for p, which it frees. */
PyObject *wpy_profile_to_py(wp_profile *p, const wp_instance *inst);

/* ---- py_debug.c: _core.DebugSession (wasmprof/debugger.py drives it) and Instance.debug ---- */
int wpy_debug_register(PyObject *module);

/* ---- py_coredump.c ------------------------------------------------------------------ */

/* wpy_coredump_on_trap: after a call of f trapped (frames still on this
 * thread's wp_exec), write a coredump if f's Instance or the environment
 * asks for one; returns the path written (new reference) or NULL, never
 * leaving an exception set (failures become RuntimeWarnings). */
PyObject *wpy_coredump_on_trap(const wpy_Func *f);
/* wpy_coredump_note: attach .coredump = path and a note to the pending exception. */
void wpy_coredump_note(PyObject *path);
/* _core.write_coredump(path, executable_name=None): dump this thread's last trap. */
PyObject *wpy_core_write_coredump(PyObject *mod, PyObject *args, PyObject *kwds);

/* ---- wrappers (py_memory.c, py_table.c, py_global.c) ------------------------------- */

PyObject *wpy_memory_wrap(wp_memory *m, PyObject *owner);
PyObject *wpy_table_wrap(wp_table *t, PyObject *owner);
PyObject *wpy_global_wrap(wp_global *g, PyObject *owner);

/* wpy_parse_limits: min and max (None or absent: no max) as limits of at most ceiling. */
int wpy_parse_limits(PyObject *min_o, PyObject *max_o, uint32_t ceiling, const char *what, wp_limits *out);

/* Index arguments: a Python int in [0, limit]; sets an exception otherwise. */
int wpy_u32_arg(PyObject *v, const char *what, uint32_t *out);
int wpy_u64_arg(PyObject *v, const char *what, uint64_t *out);

/* ---- native imports, limits and interrupts (py_native.c, py_interrupt.c) ---- */

/* wpy_native_register, wpy_interrupt_register: add their module functions. */
int wpy_native_register(PyObject *module);
int wpy_interrupt_register(PyObject *module);
/* wpy_guest_enter/leave: bracket every entry into guest code (wp_call,
 * wp_instance_new): they take and drop the guest lock (py_guest_lock.c:
 * one guest call at a time in the process), and Ctrl-C, other threads and
 * wasmprof.interrupt() reach the guest through its context's interrupt
 * checks.  enter returns -1 with a Python exception when a signal handler
 * raised while it waited for the lock (then do not call leave). */
int wpy_guest_enter(wp_exec *ex);
void wpy_guest_leave(wp_exec *ex);
/* py_guest_lock.c: the lock itself, re-entrant per thread. */
int wpy_guest_lock(void);
void wpy_guest_unlock(void);
/* wpy_guest_forget: ex is about to be freed (module.c). */
void wpy_guest_forget(wp_exec *ex);

/* ---- py_backtrace.c ------------------------------------------------------------------ */

/* wpy_backtrace_init: add Module's name/line methods and Instance.backtrace (at import). */
int wpy_backtrace_init(void);
/* wpy_backtrace: frames[0..nframes) of ex as a list of wasmprof.backtrace.Frame,
 * innermost first (new reference, NULL with an exception on failure). */
PyObject *wpy_backtrace(const wp_exec *ex, uint32_t nframes);
/* wpy_attach_backtrace: give the pending exception the frames: Trap.frames,
 * or an exception note on a Python exception raised by a host import. */
void wpy_attach_backtrace(PyObject *frames);
/* wpy_current_backtrace: wasmprof.backtrace() (METH_NOARGS). */
PyObject *wpy_current_backtrace(PyObject *self, PyObject *unused);

#endif
