/* py_debug.c: _core.DebugSession, a thin wrapper over a wp_debug session
 * (wasmprof.h, debug.h); python/wasmprof/debugger.py builds the Debugger
 * API on it.  Also Instance.debug(**options) -> wasmprof.Debugger.
 *
 * A session runs on its own wp_exec, so a paused call never mixes with
 * calls the thread makes meanwhile.  Values cross as (type name, value)
 * pairs with the "Python value" conversion of py_values.c. */
#include "core.h"

#include "compile.h"
#include "debug.h"

typedef struct wpy_Debug {
  PyObject_HEAD
  wp_debug *dbg;
  PyObject *instance; /* the wpy_Instance */
  PyObject *error;    /* the exception object of the last WP_STOP_ERROR */
} wpy_Debug;

static PyTypeObject DebugType;

static const char *const reason_names[] = {
    [WP_STOP_NONE] = "none",           [WP_STOP_ENTRY] = "entry",         [WP_STOP_STEP] = "step",
    [WP_STOP_BREAKPOINT] = "breakpoint", [WP_STOP_FUNC_ENTRY] = "function", [WP_STOP_WATCH] = "watchpoint",
    [WP_STOP_FRAME] = "frame",         [WP_STOP_TICK] = "tick",           [WP_STOP_TRACE_FULL] = "trace",
    [WP_STOP_INTERRUPT] = "interrupted", [WP_STOP_RETURNED] = "returned", [WP_STOP_ERROR] = "error",
};

static PyObject *type_name(uint8_t t) { return PyUnicode_FromString(wp_valtype_name((wp_valtype)t)); }

static PyObject *typed_value(uint8_t t, wp_slot v) {
  PyObject *name = type_name(t);
  PyObject *value = name ? wpy_from_slot(v, (wp_valtype)t, false) : NULL;
  PyObject *r = value ? PyTuple_Pack(2, name, value) : NULL;
  Py_XDECREF(name);
  Py_XDECREF(value);
  return r;
}

static PyObject *raise_err(const wp_error *err) {
  if (err->kind == WP_ERR_NOMEM) return PyErr_NoMemory();
  PyErr_SetString(err->kind == WP_ERR_ARG ? PyExc_ValueError : wpy_Error, err->message);
  return NULL;
}

/* ---- creation ---- */

static PyObject *debug_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"instance", "snapshot_every", "max_snapshots", "snapshot_budget", "record", NULL};
  PyObject *instance;
  unsigned long long every = 0, budget = 0;
  unsigned int max_snaps = 0;
  int record = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|KIKp:DebugSession", kwlist, &wpy_InstanceType, &instance, &every,
                                   &max_snaps, &budget, &record))
    return NULL;
  wp_debug_options o = {.snapshot_every = every, .max_snapshots = max_snaps, .snapshot_budget = (size_t)budget,
                        .no_record = !record};
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_debug *d = wp_debug_new(((wpy_Instance *)instance)->inst, &o, &err);
  if (!d) return raise_err(&err);
  wpy_Debug *self = (wpy_Debug *)type->tp_alloc(type, 0);
  if (!self) {
    wp_debug_free(d);
    return NULL;
  }
  self->dbg = d;
  Py_INCREF(instance);
  self->instance = instance;
  return (PyObject *)self;
}

static void debug_dealloc(PyObject *o) {
  wpy_Debug *self = (wpy_Debug *)o;
  PyObject_GC_UnTrack(o);
  if (self->dbg) {
    wpy_guest_forget(wp_debug_exec(self->dbg));
    wp_debug_free(self->dbg);
  }
  Py_CLEAR(self->instance);
  Py_CLEAR(self->error);
  Py_TYPE(o)->tp_free(o);
}

static int debug_traverse(PyObject *o, visitproc visit, void *arg) {
  Py_VISIT(((wpy_Debug *)o)->instance);
  Py_VISIT(((wpy_Debug *)o)->error);
  return 0;
}

/* ---- running ---- */

/* take_error: the exception object for the session's failed call. */
static void take_error(wpy_Debug *self) {
  const wp_error *err = wp_debug_error(self->dbg);
  wp_exec *ex = wp_debug_exec(self->dbg);
  PyObject *frames = NULL;
  if (err->kind == WP_ERR_HOST && wpy_restore_exception()) {
    /* the host function's own exception */
  } else {
    frames = err->kind == WP_ERR_TRAP || err->kind == WP_ERR_INTERRUPT ? wpy_backtrace(ex, ex->trap_nframes) : NULL;
    if (!frames) PyErr_Clear();
    wpy_raise(err);
  }
  if (frames) wpy_attach_backtrace(frames);
  Py_XDECREF(frames);
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value && tb) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  Py_XSETREF(self->error, value);
}

static PyObject *run(wpy_Debug *self, const wp_debug_run *how) {
  wp_exec *ex = wp_debug_exec(self->dbg);
  if (wpy_guest_enter(ex) < 0) return NULL;
  wp_stop_reason r = wp_debug_resume(self->dbg, how);
  wpy_guest_leave(ex);
  if (r == WP_STOP_ERROR) take_error(self);
  if (r == WP_STOP_INTERRUPT && wp_debug_error(self->dbg)->kind == WP_ERR_HOST && wpy_restore_exception())
    return NULL; /* KeyboardInterrupt: raised, and the call stays paused where it was */
  return PyUnicode_FromString(reason_names[r]);
}

static PyObject *debug_call(wpy_Debug *self, PyObject *args) {
  PyObject *func, *values;
  int bits = 0;
  if (!PyArg_ParseTuple(args, "O!O|p:call", &wpy_FuncType, &func, &values, &bits)) return NULL;
  wp_func *f = ((wpy_Func *)func)->func;
  const wp_functype *t = wp_func_type(f);
  PyObject *fast = PySequence_Fast(values, "arguments must be a sequence");
  if (!fast) return NULL;
  uint32_t np = wp_functype_param_count(t);
  if (PySequence_Fast_GET_SIZE(fast) != (Py_ssize_t)np) {
    Py_DECREF(fast);
    return PyErr_Format(PyExc_TypeError, "function expects %u argument%s, got %zd", np, np == 1 ? "" : "s",
                        PySequence_Fast_GET_SIZE(values));
  }
  wp_slot *slots = PyMem_Calloc(np + 1, sizeof(wp_slot));
  if (!slots) {
    Py_DECREF(fast);
    return PyErr_NoMemory();
  }
  for (uint32_t i = 0; i < np; i++) {
    PyObject *v = PySequence_Fast_GET_ITEM(fast, i);
    wp_valtype vt = wp_functype_param(t, i);
    if ((bits ? wpy_bits_to_slot(v, vt, &slots[i]) : wpy_to_slot(v, vt, &slots[i])) < 0) {
      PyMem_Free(slots);
      Py_DECREF(fast);
      return NULL;
    }
  }
  Py_DECREF(fast);
  Py_CLEAR(self->error);
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_exec *ex = wp_debug_exec(self->dbg);
  if (wpy_guest_enter(ex) < 0) {
    PyMem_Free(slots);
    return NULL;
  }
  int rc = wp_debug_call(self->dbg, f, slots, &err);
  wpy_guest_leave(ex);
  PyMem_Free(slots);
  if (rc) return raise_err(&err);
  Py_RETURN_NONE;
}

static PyObject *debug_resume(wpy_Debug *self, PyObject *args, PyObject *kwds) {
  static char *kwlist[] = {"steps", "until_tick", "until_frames", "stops", "trace", NULL};
  unsigned long long steps = 0, until_tick = 0;
  unsigned int frames = 0, trace = 0;
  int stops = 1;
  if (!PyArg_ParseTupleAndKeywords(args, kwds, "|KKIpI:resume", kwlist, &steps, &until_tick, &frames, &stops, &trace))
    return NULL;
  wp_debug_run how = {.steps = steps, .until_tick = until_tick, .until_frames = frames, .stops = stops,
                      .trace = trace};
  return run(self, &how);
}

static PyObject *debug_error(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  PyObject *e = self->error ? self->error : Py_None;
  Py_INCREF(e);
  return e;
}

static PyObject *debug_results(wpy_Debug *self, PyObject *args) {
  int bits = 0;
  if (!PyArg_ParseTuple(args, "|p:results", &bits)) return NULL;
  const wp_slot *res = wp_debug_results(self->dbg);
  if (!res) Py_RETURN_NONE;
  const wp_functype *t = wp_func_type(self->dbg->callee);
  uint32_t n = wp_functype_result_count(t);
  PyObject *out = PyTuple_New(n);
  for (uint32_t i = 0; out && i < n; i++) {
    uint8_t rt = (uint8_t)wp_functype_result(t, i);
    PyObject *v = bits ? wpy_slot_to_bits(res[i], (wp_valtype)rt) : typed_value(rt, res[i]);
    if (!v) Py_CLEAR(out);
    else PyTuple_SET_ITEM(out, i, v);
  }
  return out;
}

static PyObject *debug_stop_info(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const uint8_t *after;
  uint64_t len;
  const uint8_t *before = wp_debug_watch_values(self->dbg, &after, &len);
  return Py_BuildValue("(Iy#y#)", wp_debug_stop_id(self->dbg), before ? (const char *)before : "",
                       (Py_ssize_t)(before ? len : 0), after ? (const char *)after : "", (Py_ssize_t)(after ? len : 0));
}

/* ---- state ---- */

static PyObject *debug_clock(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  return Py_BuildValue("(KKOO)", (unsigned long long)wp_debug_icount(self->dbg),
                       (unsigned long long)wp_debug_ticks(self->dbg), self->dbg->in_call ? Py_True : Py_False,
                       self->dbg->finished ? Py_True : Py_False);
}

/* position: (frames, top frame's function index, its module offset), cheaply, for line stepping. */
static PyObject *debug_position(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const wp_exec *ex = wp_debug_exec(self->dbg);
  if (!self->dbg->in_call || !ex->nframes) return Py_BuildValue("(IOO)", 0u, Py_None, Py_None);
  const wp_frame *f = &ex->frames[ex->nframes - 1];
  uint32_t off = f->pc ? wp_frame_offset(f) : WP_NO_OFFSET;
  if (off == WP_NO_OFFSET) return Py_BuildValue("(IIO)", ex->nframes, f->func->index, Py_None);
  return Py_BuildValue("(III)", ex->nframes, f->func->index, off);
}

/* frame_tuple: (func_index or None, module offset or None, locals, operands). */
static PyObject *frame_tuple(const wp_frame *f, bool top) {
  const wp_func *fn = f->func;
  if (!fn->body) return Py_BuildValue("(OOOO)", Py_None, Py_None, Py_None, Py_None);
  const wp_module *m = fn->inst->module;
  uint32_t defined = fn->index - m->nfuncs_imported;
  uint32_t nlocals = fn->type->nparams + fn->body->nlocals;
  uint32_t offset = f->pc ? wp_frame_offset(f) : WP_NO_OFFSET;
  PyObject *locals = PyList_New(nlocals), *ops = NULL, *off = NULL, *r = NULL;
  if (!locals) return NULL;
  for (uint32_t i = 0; i < nlocals; i++) {
    PyObject *v = typed_value(fn->body->local_types[i], f->fp[i]);
    if (!v) goto done;
    PyList_SET_ITEM(locals, i, v);
  }
  uint32_t height = offset != WP_NO_OFFSET && f->sp > f->fp + nlocals ? (uint32_t)(f->sp - f->fp - nlocals) : 0;
  uint8_t *types = NULL;
  uint32_t ntypes = 0;
  if (height && wp_body_stack_types(m, defined, offset, &types, &ntypes, NULL) < 0) ntypes = 0;
  (void)top;
  if (!(ops = PyList_New(height))) goto done_types;
  for (uint32_t i = 0; i < height; i++) {
    PyObject *v = typed_value(i < ntypes ? types[i] : WP_I64, f->fp[nlocals + i]);
    if (!v) goto done_types;
    PyList_SET_ITEM(ops, i, v);
  }
  off = offset == WP_NO_OFFSET ? Py_NewRef(Py_None) : PyLong_FromUnsignedLong(offset);
  if (off) r = Py_BuildValue("(IOOO)", fn->index, off, locals, ops);
done_types:
  free(types);
done:
  Py_XDECREF(off);
  Py_XDECREF(ops);
  Py_DECREF(locals);
  return r;
}

static PyObject *debug_frames(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const wp_exec *ex = wp_debug_exec(self->dbg);
  uint32_t n = self->dbg->in_call ? ex->nframes : self->dbg->finished ? ex->trap_nframes : 0;
  PyObject *out = PyList_New(0);
  for (uint32_t i = n; out && i-- > 0;) {
    PyObject *t = frame_tuple(&ex->frames[i], i == n - 1);
    if (!t || PyList_Append(out, t) < 0) Py_CLEAR(out);
    Py_XDECREF(t);
  }
  return out;
}

static const wp_frame *paused_frame(wpy_Debug *self, unsigned long depth) {
  const wp_exec *ex = wp_debug_exec(self->dbg);
  if (!self->dbg->in_call || depth >= ex->nframes) {
    PyErr_SetString(PyExc_ValueError, "no such frame (is a call paused?)");
    return NULL;
  }
  const wp_frame *f = &ex->frames[ex->nframes - 1 - depth];
  if (!f->func->body) {
    PyErr_SetString(PyExc_ValueError, "that frame is a host function's");
    return NULL;
  }
  return f;
}

static PyObject *debug_set_local(wpy_Debug *self, PyObject *args) {
  unsigned long depth, index;
  PyObject *value;
  if (!PyArg_ParseTuple(args, "kkO:set_local", &depth, &index, &value)) return NULL;
  const wp_frame *f = paused_frame(self, depth);
  if (!f) return NULL;
  if (index >= f->func->type->nparams + f->func->body->nlocals) return PyErr_Format(PyExc_IndexError, "no local %lu", index);
  if (wpy_to_slot(value, (wp_valtype)f->func->body->local_types[index], &f->fp[index]) < 0) return NULL;
  wp_debug_forget_future(self->dbg);
  Py_RETURN_NONE;
}

static wp_memory *memory0(wpy_Debug *self) {
  const wp_instance *inst = self->dbg->inst;
  if (!inst->module->nmems) {
    PyErr_SetString(PyExc_ValueError, "the instance has no memory");
    return NULL;
  }
  return inst->mems[0];
}

static PyObject *debug_mem_read(wpy_Debug *self, PyObject *args) {
  unsigned long long addr, n;
  if (!PyArg_ParseTuple(args, "KK:mem_read", &addr, &n)) return NULL;
  wp_memory *m = memory0(self);
  if (!m) return NULL;
  if (addr > m->size || n > m->size - addr)
    return PyErr_Format(PyExc_IndexError, "memory range [%llu, %llu) is outside the memory (%llu bytes)", addr,
                        addr + n, (unsigned long long)m->size);
  return PyBytes_FromStringAndSize((const char *)m->data + addr, (Py_ssize_t)n);
}

static PyObject *debug_mem_write(wpy_Debug *self, PyObject *args) {
  unsigned long long addr;
  Py_buffer b;
  if (!PyArg_ParseTuple(args, "Ky*:mem_write", &addr, &b)) return NULL;
  wp_memory *m = memory0(self);
  PyObject *r = NULL;
  if (m && (addr > m->size || (uint64_t)b.len > m->size - addr)) {
    PyErr_Format(PyExc_IndexError, "memory range [%llu, %llu) is outside the memory (%llu bytes)", addr,
                 addr + (unsigned long long)b.len, (unsigned long long)m->size);
  } else if (m) {
    memcpy(m->data + addr, b.buf, (size_t)b.len);
    wp_debug_forget_future(self->dbg);
    r = Py_NewRef(Py_None);
  }
  PyBuffer_Release(&b);
  return r;
}

static PyObject *debug_mem_size(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const wp_instance *inst = self->dbg->inst;
  return PyLong_FromUnsignedLongLong(inst->module->nmems ? inst->mems[0]->size : 0);
}

static PyObject *debug_globals(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const wp_instance *inst = self->dbg->inst;
  PyObject *out = PyList_New(inst->module->nglobals);
  for (uint32_t i = 0; out && i < inst->module->nglobals; i++) {
    const wp_global *g = inst->globals[i];
    PyObject *v = typed_value(g->type, g->value[0]);
    PyObject *t = v ? Py_BuildValue("(OO)", v, g->mutable_ ? Py_True : Py_False) : NULL;
    Py_XDECREF(v);
    if (!t) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, t);
  }
  return out;
}

static PyObject *debug_set_global(wpy_Debug *self, PyObject *args) {
  unsigned long index;
  PyObject *value;
  if (!PyArg_ParseTuple(args, "kO:set_global", &index, &value)) return NULL;
  const wp_instance *inst = self->dbg->inst;
  if (index >= inst->module->nglobals) return PyErr_Format(PyExc_IndexError, "no global %lu", index);
  wp_global *g = inst->globals[index];
  if (!g->mutable_) return PyErr_Format(PyExc_ValueError, "global %lu is immutable", index);
  wp_slot v;
  if (wpy_to_slot(value, (wp_valtype)g->type, &v) < 0) return NULL;
  if (!wp_global_store(g, v)) return PyErr_NoMemory();
  wp_debug_forget_future(self->dbg);
  Py_RETURN_NONE;
}

/* ---- breakpoints and watchpoints ---- */

static PyObject *id_or_raise(uint32_t id, const wp_error *err) { return id ? PyLong_FromUnsignedLong(id) : raise_err(err); }

static PyObject *debug_break_at(wpy_Debug *self, PyObject *args) {
  unsigned int func, offset, actual = 0;
  if (!PyArg_ParseTuple(args, "II:break_at", &func, &offset)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  uint32_t id = wp_debug_break_at(self->dbg, func, offset, &actual, &err);
  if (!id) return raise_err(&err);
  return Py_BuildValue("(II)", id, actual);
}

static PyObject *debug_break_func(wpy_Debug *self, PyObject *args) {
  unsigned int func;
  if (!PyArg_ParseTuple(args, "I:break_func", &func)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  return id_or_raise(wp_debug_break_func(self->dbg, func, &err), &err);
}

static PyObject *debug_watch_memory(wpy_Debug *self, PyObject *args) {
  unsigned long long addr, len;
  if (!PyArg_ParseTuple(args, "KK:watch_memory", &addr, &len)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  return id_or_raise(wp_debug_watch_memory(self->dbg, addr, len, &err), &err);
}

static PyObject *debug_watch_global(wpy_Debug *self, PyObject *args) {
  unsigned int index;
  if (!PyArg_ParseTuple(args, "I:watch_global", &index)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  return id_or_raise(wp_debug_watch_global(self->dbg, index, &err), &err);
}

static PyObject *debug_enable(wpy_Debug *self, PyObject *args) {
  unsigned int id;
  int on;
  if (!PyArg_ParseTuple(args, "Ip:enable", &id, &on)) return NULL;
  if (wp_debug_enable(self->dbg, id, on) < 0) return PyErr_Format(PyExc_KeyError, "no breakpoint or watchpoint %u", id);
  Py_RETURN_NONE;
}

static PyObject *debug_delete(wpy_Debug *self, PyObject *args) {
  unsigned int id;
  if (!PyArg_ParseTuple(args, "I:delete", &id)) return NULL;
  if (wp_debug_delete(self->dbg, id) < 0) return PyErr_Format(PyExc_KeyError, "no breakpoint or watchpoint %u", id);
  Py_RETURN_NONE;
}

/* ---- history ---- */

static PyObject *debug_restore(wpy_Debug *self, PyObject *args) {
  unsigned long long icount, restored = 0;
  if (!PyArg_ParseTuple(args, "K:restore", &icount)) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (wp_debug_restore(self->dbg, icount, (uint64_t *)&restored, &err) < 0) return raise_err(&err);
  Py_CLEAR(self->error);
  return PyLong_FromUnsignedLongLong(restored);
}

static PyObject *debug_snapshots(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  PyObject *out = PyList_New(self->dbg->nsnaps);
  for (uint32_t i = 0; out && i < self->dbg->nsnaps; i++) {
    PyObject *v = Py_BuildValue("(KK)", (unsigned long long)self->dbg->snaps[i].icount,
                                (unsigned long long)self->dbg->snaps[i].exact);
    if (!v) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, v);
  }
  return out;
}

static PyObject *debug_trace(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  const wp_debug *d = self->dbg;
  PyObject *out = PyList_New(d->ntrace);
  for (uint32_t i = 0; out && i < d->ntrace; i++) {
    const wp_dbg_trace *t = &d->trace[i];
    PyObject *v = Py_BuildValue("(KKII)", (unsigned long long)t->icount, (unsigned long long)t->ticks, t->func, t->offset);
    if (!v) Py_CLEAR(out);
    else PyList_SET_ITEM(out, i, v);
  }
  return out;
}

static PyObject *debug_profile_start(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (wp_debug_profile_start(self->dbg, &err)) return raise_err(&err);
  Py_RETURN_NONE;
}

static PyObject *debug_profile_stop(wpy_Debug *self, PyObject *unused) {
  (void)unused;
  wp_profile *p = wp_debug_profile_stop(self->dbg);
  if (!p) {
    PyErr_SetString(wpy_Error, "no profile is running");
    return NULL;
  }
  return wpy_profile_to_py(p, self->dbg->inst);
}

/* ---- code ---- */

typedef struct disasm_ctx {
  PyObject *out;
  const wp_module *m;
} disasm_ctx;

/* imm_list: an instruction's immediates as Python values, in encoding order. */
static PyObject *imm_list(const wp_module *m, wp_opcode op, const wp_imm *imm) {
  (void)m;
  switch (wp_opinfo_table[op].imm) {
  case IMM_NONE: case IMM_MEMIDX: case IMM_MEMCOPY: return PyTuple_New(0);
  case IMM_BLOCKTYPE: return Py_BuildValue("(L)", (long long)imm->blocktype);
  case IMM_LABEL: case IMM_FUNC: case IMM_LOCAL: case IMM_GLOBAL: case IMM_TABLE: case IMM_DATA: case IMM_ELEM:
  case IMM_MEMINIT: case IMM_REFTYPE:
    return Py_BuildValue("(I)", imm->a);
  case IMM_CALL_INDIRECT: case IMM_TABLEINIT: case IMM_TABLECOPY: return Py_BuildValue("(II)", imm->a, imm->b);
  case IMM_MEMARG: return Py_BuildValue("(IK)", imm->a, (unsigned long long)imm->u64);
  case IMM_I32: return Py_BuildValue("(i)", (int)(int32_t)(uint32_t)imm->u64);
  case IMM_I64: return Py_BuildValue("(L)", (long long)imm->u64);
  case IMM_F32: {
    uint32_t bits = (uint32_t)imm->u64;
    float f;
    memcpy(&f, &bits, 4);
    return Py_BuildValue("(d)", (double)f);
  }
  case IMM_F64: {
    double f;
    memcpy(&f, &imm->u64, 8);
    return Py_BuildValue("(d)", f);
  }
  case IMM_SELECT_T: return Py_BuildValue("(O)", type_name(imm->vec[0]));
  case IMM_BR_TABLE: {
    PyObject *t = PyTuple_New(imm->n + 1);
    wp_reader r = {imm->vec, imm->vec, imm->vec + 5 * (imm->n + 1)};
    for (uint32_t i = 0; t && i <= imm->n; i++) {
      uint32_t label = 0;
      wp_read_u32(&r, &label, NULL);
      PyTuple_SET_ITEM(t, i, PyLong_FromUnsignedLong(label));
    }
    return t;
  }
  }
  return PyTuple_New(0);
}

static int disasm_one(void *ctx, uint32_t offset, wp_opcode op, const wp_imm *imm) {
  disasm_ctx *c = ctx;
  PyObject *imms = imm_list(c->m, op, imm);
  PyObject *t = imms ? Py_BuildValue("(IsO)", offset, wp_opinfo_table[op].name, imms) : NULL;
  Py_XDECREF(imms);
  int rc = t ? PyList_Append(c->out, t) : -1;
  Py_XDECREF(t);
  return rc < 0;
}

static PyObject *debug_disassemble(wpy_Debug *self, PyObject *args) {
  unsigned int func;
  if (!PyArg_ParseTuple(args, "I:disassemble", &func)) return NULL;
  const wp_module *m = self->dbg->inst->module;
  if (func < m->nfuncs_imported || func >= m->nfuncs) return PyErr_Format(PyExc_ValueError, "function %u has no code", func);
  disasm_ctx c = {.out = PyList_New(0), .m = m};
  if (!c.out) return NULL;
  wp_error err;
  memset(&err, 0, sizeof err);
  if (wp_body_walk(m, func - m->nfuncs_imported, disasm_one, &c, &err) < 0 || PyErr_Occurred()) {
    Py_DECREF(c.out);
    return PyErr_Occurred() ? NULL : raise_err(&err);
  }
  return c.out;
}

static PyObject *debug_opcode_at(wpy_Debug *self, PyObject *args) {
  unsigned int offset;
  if (!PyArg_ParseTuple(args, "I:opcode_at", &offset)) return NULL;
  int op = wp_opcode_at(self->dbg->inst->module, offset);
  if (op < 0) Py_RETURN_NONE;
  return PyUnicode_FromString(wp_opinfo_table[op].name);
}

static PyObject *debug_local_types(wpy_Debug *self, PyObject *args) {
  unsigned int func;
  if (!PyArg_ParseTuple(args, "I:local_types", &func)) return NULL;
  const wp_module *m = self->dbg->inst->module;
  if (func < m->nfuncs_imported || func >= m->nfuncs) return PyErr_Format(PyExc_ValueError, "function %u has no code", func);
  const wp_func_body *b = &m->bodies[func - m->nfuncs_imported];
  uint32_t n = m->types[m->func_types[func]].nparams + b->nlocals;
  PyObject *out = PyTuple_New(n);
  for (uint32_t i = 0; out && i < n; i++) PyTuple_SET_ITEM(out, i, type_name(b->local_types[i]));
  return out;
}

static PyMethodDef debug_methods[] = {
    {"call", (PyCFunction)debug_call, METH_VARARGS,
     "call(func, args[, bits]): start a call, paused before its first instruction; with bits true, args\n"
     "are raw bit patterns (as Func.call_bits)."},
    {"resume", (PyCFunction)(void (*)(void))debug_resume, METH_VARARGS | METH_KEYWORDS,
     "resume(steps=0, until_tick=0, until_frames=0, stops=True, trace=0) -> the stop reason."},
    {"error", (PyCFunction)debug_error, METH_NOARGS, "The exception of the failed call, or None."},
    {"results", (PyCFunction)debug_results, METH_VARARGS,
     "results([bits]): the returned call's results as (type, value) pairs (with bits true, raw bit\n"
     "patterns), or None."},
    {"stop_info", (PyCFunction)debug_stop_info, METH_NOARGS, "(breakpoint/watchpoint id, old bytes, new bytes)."},
    {"clock", (PyCFunction)debug_clock, METH_NOARGS, "(icount, ticks, in_call, finished)."},
    {"position", (PyCFunction)debug_position, METH_NOARGS, "(frames, top function index, module offset)."},
    {"frames", (PyCFunction)debug_frames, METH_NOARGS, "The frames, innermost first: (func, offset, locals, operands)."},
    {"set_local", (PyCFunction)debug_set_local, METH_VARARGS, "set_local(depth, index, value)."},
    {"mem_read", (PyCFunction)debug_mem_read, METH_VARARGS, "mem_read(addr, n) -> bytes of memory 0."},
    {"mem_write", (PyCFunction)debug_mem_write, METH_VARARGS, "mem_write(addr, data)."},
    {"mem_size", (PyCFunction)debug_mem_size, METH_NOARGS, "Memory 0's size in bytes."},
    {"globals", (PyCFunction)debug_globals, METH_NOARGS, "[((type, value), mutable)] by index."},
    {"set_global", (PyCFunction)debug_set_global, METH_VARARGS, "set_global(index, value)."},
    {"break_at", (PyCFunction)debug_break_at, METH_VARARGS, "break_at(func, offset) -> (id, actual offset)."},
    {"break_func", (PyCFunction)debug_break_func, METH_VARARGS, "break_func(func) -> id."},
    {"watch_memory", (PyCFunction)debug_watch_memory, METH_VARARGS, "watch_memory(addr, len) -> id."},
    {"watch_global", (PyCFunction)debug_watch_global, METH_VARARGS, "watch_global(index) -> id."},
    {"enable", (PyCFunction)debug_enable, METH_VARARGS, "enable(id, flag)."},
    {"delete", (PyCFunction)debug_delete, METH_VARARGS, "delete(id)."},
    {"restore", (PyCFunction)debug_restore, METH_VARARGS, "restore(icount) -> the restored snapshot's icount."},
    {"snapshots", (PyCFunction)debug_snapshots, METH_NOARGS, "The snapshots: (icount, ticks)."},
    {"trace", (PyCFunction)debug_trace, METH_NOARGS, "The trace buffer: (icount, ticks, func, offset)."},
    {"profile_start", (PyCFunction)debug_profile_start, METH_NOARGS, "Profile from here."},
    {"profile_stop", (PyCFunction)debug_profile_stop, METH_NOARGS, "Stop; (nodes, events, truncated)."},
    {"disassemble", (PyCFunction)debug_disassemble, METH_VARARGS, "disassemble(func) -> [(offset, name, immediates)]."},
    {"opcode_at", (PyCFunction)debug_opcode_at, METH_VARARGS, "opcode_at(offset) -> name or None."},
    {"local_types", (PyCFunction)debug_local_types, METH_VARARGS, "local_types(func) -> types of params and locals."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DebugType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wasmprof._core.DebugSession",
    .tp_basicsize = sizeof(wpy_Debug),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A debugger session on an instance (wasmprof.Debugger is the API).",
    .tp_new = debug_new,
    .tp_dealloc = debug_dealloc,
    .tp_traverse = debug_traverse,
    .tp_methods = debug_methods,
};

/* Instance.debug(**options): wasmprof.Debugger(instance, **options). */
static PyObject *instance_debug(PyObject *self, PyObject *args, PyObject *kwds) {
  if (PyTuple_GET_SIZE(args)) return PyErr_Format(PyExc_TypeError, "debug() takes keyword arguments only");
  PyObject *mod = PyImport_ImportModule("wasmprof.debugger");
  if (!mod) return NULL;
  PyObject *cls = PyObject_GetAttrString(mod, "Debugger");
  Py_DECREF(mod);
  if (!cls) return NULL;
  PyObject *a = PyTuple_Pack(1, self);
  PyObject *r = a ? PyObject_Call(cls, a, kwds) : NULL;
  Py_XDECREF(a);
  Py_DECREF(cls);
  return r;
}

static PyMethodDef instance_debug_def = {"debug", (PyCFunction)(void (*)(void))instance_debug,
                                         METH_VARARGS | METH_KEYWORDS,
                                         "debug(**options) -> wasmprof.Debugger on this instance."};

int wpy_debug_register(PyObject *module) {
  if (PyType_Ready(&DebugType) < 0) return -1;
  Py_INCREF(&DebugType);
  if (PyModule_AddObject(module, "DebugSession", (PyObject *)&DebugType) < 0) {
    Py_DECREF(&DebugType);
    return -1;
  }
  PyObject *descr = PyDescr_NewMethod(&wpy_InstanceType, &instance_debug_def);
  if (!descr) return -1;
  int rc = PyDict_SetItemString(wpy_InstanceType.tp_dict, "debug", descr);
  Py_DECREF(descr);
  PyType_Modified(&wpy_InstanceType);
  return rc;
}
