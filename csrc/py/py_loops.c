/* py_loops.c: wasmprof._core._loop_handlers, where each internal
 * instruction's handler starts in one loop variant's machine code, so
 * that bench/loop_anatomy.py can name the code a callgrind profile of the
 * loop counts (its per-handler table). */
#include "core.h"
#include "code.h"
#include "loop_variants.h"

static const char *const iop_names[WP_IOP_COUNT] = {
#define OP(byte, name, ident, imm, sig, sem) [WP_OP_##ident] = name,
#define OPFC(sub, name, ident, imm, sig, sem) [WP_OP_##ident] = name,
#include "opcodes.def"
#undef OP
#undef OPFC
#define X(ident) [WP_XOP_##ident] = #ident,
    WP_XOPS(X)
#undef X
};

static PyObject *core_loop_handlers(PyObject *self, PyObject *arg) {
  (void)self;
  const char *variant = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
  if (!variant) return PyErr_Format(PyExc_TypeError, "_loop_handlers takes a loop name, not %.100s", Py_TYPE(arg)->tp_name);
  wp_loop_fn loop = strcmp(variant, "plain") == 0 ? wp_loop_plain : NULL;
#ifndef WP_NO_OBSERVATION
  if (strcmp(variant, "ticked") == 0) loop = wp_loop_ticked;
  if (strcmp(variant, "step") == 0) loop = wp_loop_step;
#endif
  if (!loop) return PyErr_Format(PyExc_ValueError, "no loop %R in this build: expected plain, ticked or step", arg);
  wp_handler_table table = NULL;
  loop(NULL, 0, NULL, &table);
  /* A build that dispatches by switch holds opcode numbers, not addresses. */
  if ((uintptr_t)table[WP_OP_nop] < WP_IOP_COUNT)
    return PyErr_Format(PyExc_RuntimeError, "this build dispatches by switch: its handlers have no addresses");
  PyObject *out = PyList_New(0);
  for (int i = 0; out && i < WP_IOP_COUNT; i++) {
    if (!table[i] || !iop_names[i]) continue; /* not in this variant */
    PyObject *item = Py_BuildValue("(sK)", iop_names[i], (unsigned long long)(uintptr_t)table[i]);
    if (!item || PyList_Append(out, item) < 0) Py_CLEAR(out);
    Py_XDECREF(item);
  }
  return out;
}

PyMethodDef wpy_loop_methods[] = {
    {"_loop_handlers", core_loop_handlers, METH_O,
     "_loop_handlers(loop) -> [(name, address)]: where each internal instruction's handler starts in the\n"
     "machine code of loop \"plain\", \"ticked\" or \"step\" (bench/loop_anatomy.py)."},
    {NULL, NULL, 0, NULL},
};
