/* validate_body.c: type-checks one function body per the WebAssembly 2.0
 * validation algorithm (the spec appendix's operand and control stacks), and
 * when given an emitter translates it to internal code in the same walk.
 *
 * Emission happens only in live code: after an unconditional branch the rest
 * of a block is validated (with the polymorphic stack) but not emitted, and
 * blocks opened in dead code stay dead.  So every emitted instruction has an
 * exact, known stack height, which is what lets branches carry their
 * drop/keep counts. */
#include "compile.h"

#include <pthread.h>

#define UNKNOWN 0 /* the bottom type of the polymorphic stack */
#define FUNC_FRAME 0xff

typedef struct ctl_frame {
  uint8_t kind;              /* WP_OP_block, WP_OP_loop, WP_OP_if, WP_OP_else or FUNC_FRAME */
  bool unreachable;          /* rest of this block is after an unconditional branch */
  bool dead;                 /* the whole block was opened in dead code */
  const uint8_t *params, *results;
  uint32_t nparams, nresults;
  uint32_t height;           /* operand stack height below the params */
  uint32_t loop_cell;        /* loop: where its label jumps to */
  uint32_t fixups;           /* forward branches to this block's end */
  uint32_t else_fixup;       /* if: the jump_unless to patch at else/end */
} ctl_frame;

typedef struct body_ctx {
  const wp_module *m;
  wp_reader r;
  wp_error *err;
  wp_emitter *em;
  uint32_t func_index;
  uint32_t op_offset;        /* module offset of the current instruction */
  const wp_functype *type;
  const uint8_t *locals;
  uint32_t nlocals;
  uint8_t *vals;
  uint32_t nvals, cap_vals, max_vals;
  ctl_frame *ctls;
  uint32_t nctls, cap_ctls;
  /* Both stacks start in the caller's stack buffers (body_stacks), and move
   * to the heap only when a body outgrows them: most bodies never do, so
   * validating a module allocates nothing per function. */
  bool vals_on_heap, ctls_on_heap;
} body_ctx;

/* A byte per value type whose address serves as a one-type result list. */
static const uint8_t valtype_byte[256] = {
    [WP_I32] = WP_I32, [WP_I64] = WP_I64, [WP_F32] = WP_F32, [WP_F64] = WP_F64,
    [WP_V128] = WP_V128, [WP_FUNCREF] = WP_FUNCREF, [WP_EXTERNREF] = WP_EXTERNREF,
};

static int fail(body_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(body_ctx *c, const char *fmt, ...) {
  if (c->err) {
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof c->err->message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "%s", msg);
    c->err->func = c->func_index;
  }
  return -1;
}

static int fail_decode(body_ctx *c, const char *msg) {
  wp_error_set(c->err, WP_ERR_DECODE, c->op_offset, "%s", msg);
  if (c->err) c->err->func = c->func_index;
  return -1;
}

static int oom(body_ctx *c) {
  return wp_error_set(c->err, WP_ERR_NOMEM, c->op_offset, "out of memory validating function %u", c->func_index);
}

#define TRY(x)        \
  do {                \
    if ((x) < 0)      \
      return -1;      \
  } while (0)

static bool is_num(uint8_t t) { return t == WP_I32 || t == WP_I64 || t == WP_F32 || t == WP_F64; }
static bool is_ref(uint8_t t) { return t == WP_FUNCREF || t == WP_EXTERNREF; }

static uint8_t letter_type(char ch) {
  switch (ch) {
  case 'i': return WP_I32;
  case 'I': return WP_I64;
  case 'f': return WP_F32;
  default: return WP_F64;
  }
}

/* ---- the stacks' storage ---- */

#define INLINE_VALS 256
#define INLINE_CTLS 16

/* body_stacks: the initial storage of both stacks, on the C stack of
 * whoever walks a body. */
typedef struct body_stacks {
  uint8_t vals[INLINE_VALS];
  ctl_frame ctls[INLINE_CTLS];
} body_stacks;

static void stacks_init(body_ctx *c, body_stacks *st) {
  c->vals = st->vals;
  c->cap_vals = INLINE_VALS;
  c->ctls = st->ctls;
  c->cap_ctls = INLINE_CTLS;
}

static void stacks_free(body_ctx *c) {
  if (c->vals_on_heap) free(c->vals);
  if (c->ctls_on_heap) free(c->ctls);
  c->vals = NULL;
  c->ctls = NULL;
  c->vals_on_heap = c->ctls_on_heap = false;
}

/* grow: make room for one more element in a stack whose storage is *arr
 * (on the heap or not, as *on_heap says). */
static int grow(body_ctx *c, void **arr, uint32_t *cap, bool *on_heap, uint32_t n, size_t elem) {
  if (*on_heap) return wp_grow(arr, cap, n + 1, elem) ? 0 : oom(c);
  void *heap = NULL;
  uint32_t heap_cap = 0;
  if (!wp_grow(&heap, &heap_cap, *cap * 2, elem)) return oom(c);
  memcpy(heap, *arr, (size_t)n * elem);
  *arr = heap;
  *cap = heap_cap;
  *on_heap = true;
  return 0;
}

/* ---- operand stack ---- */

static WP_ALWAYS_INLINE ctl_frame *top_ctl(body_ctx *c) { return &c->ctls[c->nctls - 1]; }

static WP_ALWAYS_INLINE int push(body_ctx *c, uint8_t t) {
  if (WP_UNLIKELY(c->nvals == c->cap_vals))
    TRY(grow(c, (void **)&c->vals, &c->cap_vals, &c->vals_on_heap, c->nvals, 1));
  c->vals[c->nvals++] = t;
  if (c->nvals > c->max_vals) c->max_vals = c->nvals;
  return 0;
}

static WP_ALWAYS_INLINE int pop(body_ctx *c, uint8_t *out) {
  ctl_frame *f = top_ctl(c);
  if (c->nvals == f->height) {
    if (f->unreachable) {
      *out = UNKNOWN;
      return 0;
    }
    return fail(c, "type mismatch: expected a value, the stack is empty");
  }
  *out = c->vals[--c->nvals];
  return 0;
}

static WP_ALWAYS_INLINE int pop_expect(body_ctx *c, uint8_t want) {
  uint8_t got = UNKNOWN;
  TRY(pop(c, &got));
  if (got != want && got != UNKNOWN && want != UNKNOWN) return fail(c, "type mismatch: expected %s", want == WP_I32 ? "i32" : "another type");
  return 0;
}

static int pop_list(body_ctx *c, const uint8_t *types, uint32_t n) {
  for (uint32_t i = n; i-- > 0;) TRY(pop_expect(c, types[i]));
  return 0;
}

static int push_list(body_ctx *c, const uint8_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) TRY(push(c, types[i]));
  return 0;
}

/* ---- control stack ---- */

static WP_ALWAYS_INLINE bool emitting(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  return c->em && !f->unreachable && !f->dead;
}

static int push_ctl(body_ctx *c, uint8_t kind, const uint8_t *params, uint32_t np, const uint8_t *results,
                    uint32_t nr) {
  const ctl_frame *parent = c->nctls ? top_ctl(c) : NULL;
  bool dead = parent && (parent->unreachable || parent->dead);
  if (WP_UNLIKELY(c->nctls == c->cap_ctls))
    TRY(grow(c, (void **)&c->ctls, &c->cap_ctls, &c->ctls_on_heap, c->nctls, sizeof(ctl_frame)));
  ctl_frame *f = &c->ctls[c->nctls++];
  *f = (ctl_frame){.kind = kind, .dead = dead, .params = params, .nparams = np, .results = results,
                   .nresults = nr, .height = c->nvals, .fixups = WP_NO_FIXUP, .else_fixup = WP_NO_FIXUP};
  f->loop_cell = c->em ? wp_emit_pos(c->em) : 0;
  return push_list(c, params, np);
}

/* Check the block's results are exactly what is on its part of the stack. */
static int check_block_end(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  TRY(pop_list(c, f->results, f->nresults));
  if (c->nvals != f->height) return fail(c, "type mismatch: values remain on the stack at the end of a block");
  return 0;
}

static void set_unreachable(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  c->nvals = f->height;
  f->unreachable = true;
}

static uint32_t label_arity(const ctl_frame *f) { return f->kind == WP_OP_loop ? f->nparams : f->nresults; }
static const uint8_t *label_types(const ctl_frame *f) { return f->kind == WP_OP_loop ? f->params : f->results; }

/* ---- emission helpers (only called when emitting) ---- */

static void emit_op(body_ctx *c, unsigned iop) { wp_emit_op(c->em, iop, c->op_offset); }

static void emit_op_u64(body_ctx *c, unsigned iop, uint64_t imm) {
  wp_emit_op(c->em, iop, c->op_offset);
  wp_emit_u64(c->em, imm);
}

/* Branch from the current height (after popping any condition) to label f.
 * Emits the jump's target cell(s) and drop|keep; `op_cell` is the cell the
 * relative offset is measured from. */
static void emit_target(body_ctx *c, ctl_frame *f, uint32_t op_cell, bool with_unwind) {
  if (f->kind == WP_OP_loop)
    wp_emit_rel(c->em, op_cell, f->loop_cell);
  else
    wp_emit_fixup(c->em, op_cell, &f->fixups);
  if (with_unwind) {
    uint32_t keep = label_arity(f);
    wp_emit_pair(c->em, c->nvals - keep - f->height, keep);
  }
}

static bool needs_unwind(body_ctx *c, ctl_frame *f) { return c->nvals - label_arity(f) != f->height; }

static void emit_branch(body_ctx *c, ctl_frame *f, bool conditional) {
  if (!conditional && f->kind == FUNC_FRAME) {
    emit_op_u64(c, WP_XOP_return, f->nresults);
    return;
  }
  bool unwind = needs_unwind(c, f);
  unsigned iop = conditional ? (unwind ? WP_XOP_jump_if_unwind : WP_XOP_jump_if)
                             : (unwind ? WP_XOP_jump_unwind : WP_XOP_jump);
  /* A branch to a loop header is a back-edge: its variant checks for
   * interrupts, so that only loops (and calls) pay for that check. */
  if (f->kind == WP_OP_loop)
    iop = conditional ? (unwind ? WP_XOP_jump_if_back_unwind : WP_XOP_jump_if_back)
                      : (unwind ? WP_XOP_jump_back_unwind : WP_XOP_jump_back);
  uint32_t op_cell = wp_emit_op(c->em, iop, c->op_offset);
  emit_target(c, f, op_cell, unwind);
}

/* ---- instruction groups ---- */

static int read_label(body_ctx *c, uint32_t depth, ctl_frame **out) {
  if (depth >= c->nctls) return fail(c, "unknown label %u", depth);
  *out = &c->ctls[c->nctls - 1 - depth];
  return 0;
}

static int block_type(body_ctx *c, int64_t bt, const uint8_t **params, uint32_t *np, const uint8_t **results,
                      uint32_t *nr) {
  *params = NULL;
  *np = 0;
  *results = NULL;
  *nr = 0;
  if (bt == -64) return 0;
  if (bt < 0) {
    uint8_t t = (uint8_t)(bt & 0x7f);
    if (!valtype_byte[t]) return fail_decode(c, "malformed value type");
    if (t == WP_V128) return fail(c, "SIMD is not supported yet");
    *results = &valtype_byte[t];
    *nr = 1;
    return 0;
  }
  if ((uint64_t)bt >= c->m->ntypes) return fail(c, "unknown type %lld", (long long)bt);
  const wp_functype *ft = &c->m->types[bt];
  *params = wp_functype_params(ft);
  *np = ft->nparams;
  *results = wp_functype_results(ft);
  *nr = ft->nresults;
  return 0;
}

static int op_block(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  const uint8_t *params, *results;
  uint32_t np, nr;
  TRY(block_type(c, imm->blocktype, &params, &np, &results, &nr));
  if (op == WP_OP_if) {
    TRY(pop_expect(c, WP_I32));
    bool emit = emitting(c);
    TRY(pop_list(c, params, np));
    TRY(push_ctl(c, WP_OP_if, params, np, results, nr));
    if (emit) {
      ctl_frame *f = top_ctl(c);
      uint32_t op_cell = wp_emit_op(c->em, WP_XOP_jump_unless, c->op_offset);
      wp_emit_fixup(c->em, op_cell, &f->else_fixup);
      wp_emit_block_end(c->em);
    }
    return 0;
  }
  TRY(pop_list(c, params, np));
  /* A loop's head is a branch target: its body starts a block at loop_cell. */
  if (op == WP_OP_loop && c->em) wp_emit_block_end(c->em);
  return push_ctl(c, (uint8_t)op, params, np, results, nr);
}

static int op_else(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  if (f->kind != WP_OP_if) return fail(c, "else without a matching if");
  bool emit = emitting(c);
  TRY(check_block_end(c));
  if (emit) {
    uint32_t op_cell = wp_emit_op(c->em, WP_XOP_jump, c->op_offset);
    wp_emit_fixup(c->em, op_cell, &f->fixups);
  }
  if (c->em) wp_emit_block_end(c->em);
  if (c->em && !f->dead) {
    wp_patch_fixups(c->em, f->else_fixup, wp_emit_pos(c->em));
    f->else_fixup = WP_NO_FIXUP;
  }
  f->kind = WP_OP_else;
  f->unreachable = false;
  return push_list(c, f->params, f->nparams);
}

/* `end`: returns 1 when it closed the function. */
static int op_end(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  if (f->kind == WP_OP_if) {
    /* An if without else has an implicit empty else: params pass through. */
    if (f->nparams != f->nresults || (f->nparams && memcmp(f->params, f->results, f->nparams)))
      return fail(c, "type mismatch: if without else must not change the stack's types");
  }
  TRY(check_block_end(c));
  if (c->em && !f->dead) {
    if (f->fixups != WP_NO_FIXUP || f->else_fixup != WP_NO_FIXUP) wp_emit_block_end(c->em);
    uint32_t here = wp_emit_pos(c->em);
    wp_patch_fixups(c->em, f->else_fixup, here);
    wp_patch_fixups(c->em, f->fixups, here);
  }
  if (f->kind == FUNC_FRAME) {
    if (c->em) emit_op_u64(c, WP_XOP_return, f->nresults);
    c->nctls--;
    return 1;
  }
  const uint8_t *results = f->results;
  uint32_t nr = f->nresults;
  c->nctls--;
  TRY(push_list(c, results, nr));
  return 0;
}

static int op_br(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  ctl_frame *f = NULL;
  TRY(read_label(c, imm->a, &f));
  if (op == WP_OP_br_if) TRY(pop_expect(c, WP_I32));
  bool emit = emitting(c);
  const uint8_t *types = label_types(f);
  uint32_t arity = label_arity(f);
  TRY(pop_list(c, types, arity));
  if (emit) {
    c->nvals += arity; /* the values are still there for the jump */
    emit_branch(c, f, op == WP_OP_br_if);
    c->nvals -= arity;
    wp_emit_block_end(c->em);
  }
  if (op == WP_OP_br) {
    set_unreachable(c);
    return 0;
  }
  return push_list(c, types, arity);
}

static int op_br_table(body_ctx *c, const wp_imm *imm) {
  TRY(pop_expect(c, WP_I32));
  bool emit = emitting(c);
  wp_reader lr = {c->r.base, imm->vec, c->r.end};
  uint32_t default_depth;
  /* The default label fixes the arity; every label must accept its types. */
  wp_reader dr = lr;
  for (uint32_t i = 0; i <= imm->n; i++)
    if (!wp_read_u32(&dr, &default_depth, c->err)) return -1;
  ctl_frame *def = NULL;
  TRY(read_label(c, default_depth, &def));
  uint32_t arity = label_arity(def);
  uint32_t op_cell = 0;
  if (emit) {
    op_cell = wp_emit_op(c->em, WP_XOP_jump_table, c->op_offset);
    wp_emit_u64(c->em, imm->n);
  }
  for (uint32_t i = 0; i <= imm->n; i++) {
    uint32_t depth;
    if (!wp_read_u32(&lr, &depth, c->err)) return -1;
    ctl_frame *f = NULL;
    TRY(read_label(c, depth, &f));
    if (label_arity(f) != arity) return fail(c, "type mismatch: br_table labels have different arities");
    /* Check the label's types against the stack without consuming it:
     * popping only lowers nvals, so restoring it undoes the check. */
    uint32_t saved = c->nvals;
    int rc = pop_list(c, label_types(f), arity);
    c->nvals = saved;
    TRY(rc);
    if (emit) emit_target(c, f, op_cell, true);
  }
  TRY(pop_list(c, label_types(def), arity));
  if (emit) wp_emit_block_end(c->em);
  set_unreachable(c);
  return 0;
}

static int op_call(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  const wp_module *m = c->m;
  const wp_functype *ft;
  if (op == WP_OP_call) {
    if (imm->a >= m->nfuncs) return fail(c, "unknown function %u", imm->a);
    ft = &m->types[m->func_types[imm->a]];
  } else {
    if (imm->b >= m->ntables) return fail(c, "unknown table %u", imm->b);
    if (m->tables[imm->b].elemtype != WP_FUNCREF) return fail(c, "type mismatch: call_indirect needs a funcref table");
    if (imm->a >= m->ntypes) return fail(c, "unknown type %u", imm->a);
    ft = &m->types[imm->a];
    TRY(pop_expect(c, WP_I32));
  }
  bool emit = emitting(c);
  TRY(pop_list(c, wp_functype_params(ft), ft->nparams));
  if (emit) {
    wp_emit_op(c->em, op, c->op_offset);
    wp_emit_u64(c->em, imm->a);
    wp_emit_u64(c->em, imm->b);
    wp_emit_block_end(c->em); /* the callee's ticks come between */
  }
  return push_list(c, wp_functype_results(ft), ft->nresults);
}

static int op_return(body_ctx *c) {
  ctl_frame *fn = &c->ctls[0];
  bool emit = emitting(c);
  TRY(pop_list(c, fn->results, fn->nresults));
  if (emit) {
    emit_op_u64(c, WP_XOP_return, fn->nresults);
    wp_emit_block_end(c->em);
  }
  set_unreachable(c);
  return 0;
}

static int op_select(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  uint8_t t1 = UNKNOWN, t2 = UNKNOWN;
  if (op == WP_OP_select_t) {
    if (imm->n != 1) return fail(c, "invalid result arity");
    uint8_t t = imm->vec[0];
    if (!valtype_byte[t]) return fail_decode(c, "malformed value type");
    if (t == WP_V128) return fail(c, "SIMD is not supported yet");
    TRY(pop_expect(c, WP_I32));
    TRY(pop_expect(c, t));
    TRY(pop_expect(c, t));
    if (emitting(c)) emit_op(c, WP_OP_select);
    return push(c, t);
  }
  TRY(pop_expect(c, WP_I32));
  TRY(pop(c, &t1));
  TRY(pop(c, &t2));
  if ((t1 != UNKNOWN && !is_num(t1)) || (t2 != UNKNOWN && !is_num(t2)))
    return fail(c, "type mismatch: select without a type needs numeric operands");
  if (t1 != UNKNOWN && t2 != UNKNOWN && t1 != t2) return fail(c, "type mismatch: select operands differ");
  if (emitting(c)) emit_op(c, WP_OP_select);
  return push(c, t1 == UNKNOWN ? t2 : t1);
}

static int op_local(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (imm->a >= c->nlocals) return fail(c, "unknown local %u", imm->a);
  uint8_t t = c->locals[imm->a];
  if (op == WP_OP_local_get) {
    if (emitting(c)) emit_op_u64(c, op, imm->a);
    return push(c, t);
  }
  TRY(pop_expect(c, t));
  if (emitting(c)) emit_op_u64(c, op, imm->a);
  return op == WP_OP_local_tee ? push(c, t) : 0;
}

static int op_global(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (imm->a >= c->m->nglobals) return fail(c, "unknown global %u", imm->a);
  const wp_globaltype *g = &c->m->globals[imm->a].type;
  if (op == WP_OP_global_get) {
    if (emitting(c)) emit_op_u64(c, op, imm->a);
    return push(c, g->valtype);
  }
  if (!g->mutable_) return fail(c, "global is immutable");
  TRY(pop_expect(c, g->valtype));
  /* A funcref global must keep the function's instance alive (keepalive.c). */
  if (emitting(c)) emit_op_u64(c, g->valtype == WP_FUNCREF ? (unsigned)WP_XOP_global_set_ref : op, imm->a);
  return 0;
}

static int need_table(body_ctx *c, uint32_t t) {
  return t < c->m->ntables ? 0 : fail(c, "unknown table %u", t);
}

static int need_elem(body_ctx *c, uint32_t e) {
  return e < c->m->nelems ? 0 : fail(c, "unknown elem segment %u", e);
}

static int need_memory(body_ctx *c) { return c->m->nmems ? 0 : fail(c, "unknown memory 0"); }

static int need_data(body_ctx *c, uint32_t d) {
  /* Without a data count section the binary is malformed, unless there is
   * no data at all: then any index is simply unknown (as for a text module). */
  if (!c->m->has_datacount && c->m->ndatas) return fail_decode(c, "data count section required");
  return d < c->m->datacount ? 0 : fail(c, "unknown data segment %u", d);
}

static int op_table(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  const wp_module *m = c->m;
  bool emit = emitting(c);
  switch (op) {
  case WP_OP_table_get:
  case WP_OP_table_set:
  case WP_OP_table_size:
  case WP_OP_table_grow:
  case WP_OP_table_fill: {
    TRY(need_table(c, imm->a));
    uint8_t et = m->tables[imm->a].elemtype;
    if (op == WP_OP_table_get) {
      TRY(pop_expect(c, WP_I32));
      TRY(push(c, et));
    } else if (op == WP_OP_table_set) {
      TRY(pop_expect(c, et));
      TRY(pop_expect(c, WP_I32));
    } else if (op == WP_OP_table_size) {
      TRY(push(c, WP_I32));
    } else if (op == WP_OP_table_grow) {
      TRY(pop_expect(c, WP_I32));
      TRY(pop_expect(c, et));
      TRY(push(c, WP_I32));
    } else {
      TRY(pop_expect(c, WP_I32));
      TRY(pop_expect(c, et));
      TRY(pop_expect(c, WP_I32));
    }
    if (emit) emit_op_u64(c, op, imm->a);
    return 0;
  }
  case WP_OP_table_init:
    TRY(need_table(c, imm->b));
    TRY(need_elem(c, imm->a));
    if (m->elems[imm->a].elemtype != m->tables[imm->b].elemtype) return fail(c, "type mismatch: element segment and table types differ");
    break;
  case WP_OP_table_copy:
    TRY(need_table(c, imm->a));
    TRY(need_table(c, imm->b));
    if (m->tables[imm->a].elemtype != m->tables[imm->b].elemtype) return fail(c, "type mismatch: tables' element types differ");
    break;
  default: /* elem.drop */
    TRY(need_elem(c, imm->a));
    if (emit) emit_op_u64(c, op, imm->a);
    return 0;
  }
  for (int i = 0; i < 3; i++) TRY(pop_expect(c, WP_I32));
  if (emit) {
    emit_op_u64(c, op, imm->a);
    wp_emit_u64(c->em, imm->b);
  }
  return 0;
}

static int op_ref(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (op == WP_OP_ref_null) {
    if (emitting(c)) emit_op(c, op);
    return push(c, (uint8_t)imm->a);
  }
  if (op == WP_OP_ref_is_null) {
    uint8_t t = UNKNOWN;
    TRY(pop(c, &t));
    if (t != UNKNOWN && !is_ref(t)) return fail(c, "type mismatch: ref.is_null needs a reference");
    if (emitting(c)) emit_op(c, op);
    return push(c, WP_I32);
  }
  if (imm->a >= c->m->nfuncs) return fail(c, "unknown function %u", imm->a);
  if (!c->m->func_declared || !c->m->func_declared[imm->a]) return fail(c, "undeclared function reference");
  if (emitting(c)) emit_op_u64(c, op, imm->a);
  return push(c, WP_FUNCREF);
}

/* The alignment exponent a memory instruction's access width allows. */
static uint32_t natural_alignment(wp_opcode op) { return (uint32_t)__builtin_ctz(wp_opinfo_table[op].width); }

/* op_sig: the stack effect of an instruction with a fixed signature (the
 * "pops:pushes" strings of opcodes.def), decoded once into value types so
 * that checking an instruction does not parse a string. */
typedef struct op_sig {
  uint8_t npop, npush;
  uint8_t pop[4], push[4]; /* opcodes.def has at most three pops ("iii:") and one push */
} op_sig;

static op_sig op_sigs[WP_OP_COUNT];
static pthread_once_t op_sigs_once = PTHREAD_ONCE_INIT;

static void build_op_sigs(void) {
  for (unsigned op = 0; op < WP_OP_COUNT; op++) {
    const char *sig = wp_opinfo_table[op].sig;
    const char *colon = strchr(sig, ':');
    if (colon == NULL) continue; /* "*": checked by hand */
    op_sig *o = &op_sigs[op];
    for (const char *p = sig; p < colon && o->npop < sizeof o->pop; p++) o->pop[o->npop++] = letter_type(*p);
    for (const char *p = colon + 1; *p && o->npush < sizeof o->push; p++) o->push[o->npush++] = letter_type(*p);
  }
}

/* Instructions whose stack effect is the opcode table's signature. */
static int op_simple(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  const wp_opinfo *info = &wp_opinfo_table[op];
  const op_sig *sig = &op_sigs[op];
  if (info->imm == IMM_MEMARG) {
    TRY(need_memory(c));
    if (imm->a > natural_alignment(op)) return fail(c, "alignment must not be larger than natural");
  } else if (op == WP_OP_memory_size || op == WP_OP_memory_grow || op == WP_OP_memory_copy ||
             op == WP_OP_memory_fill) {
    TRY(need_memory(c));
  } else if (op == WP_OP_memory_init) {
    TRY(need_memory(c));
    TRY(need_data(c, imm->a));
  } else if (op == WP_OP_data_drop) {
    TRY(need_data(c, imm->a));
  }
  for (uint32_t i = sig->npop; i-- > 0;) TRY(pop_expect(c, sig->pop[i]));
  if (emitting(c)) {
    switch (info->imm) {
    case IMM_NONE:
    case IMM_MEMIDX:
    case IMM_MEMCOPY: emit_op(c, op); break;
    case IMM_MEMARG:
    case IMM_I32:
    case IMM_I64:
    case IMM_F32:
    case IMM_F64: emit_op_u64(c, op, imm->u64); break;
    default: emit_op_u64(c, op, imm->a); break; /* memory.init, data.drop */
    }
  }
  for (uint32_t i = 0; i < sig->npush; i++) TRY(push(c, sig->push[i]));
  return 0;
}

/* One instruction; returns 1 when the function's final `end` was read. */
static int step(body_ctx *c) {
  c->op_offset = wp_reader_offset(&c->r);
  wp_opcode op;
  wp_imm imm;
  if (!wp_read_opcode(&c->r, &op, c->err) || !wp_read_immediates(&c->r, op, &imm, c->err)) {
    if (c->err) c->err->func = c->func_index;
    return -1;
  }
  /* Every instruction read in live code counts (ticked code only; code.h). */
  if (emitting(c)) wp_emit_count(c->em, op, c->op_offset);
  switch (op) {
  case WP_OP_nop: return 0;
  case WP_OP_unreachable:
    if (emitting(c)) {
      emit_op(c, op);
      wp_emit_block_end(c->em);
    }
    set_unreachable(c);
    return 0;
  case WP_OP_block:
  case WP_OP_loop:
  case WP_OP_if: return op_block(c, op, &imm);
  case WP_OP_else: return op_else(c);
  case WP_OP_end: return op_end(c);
  case WP_OP_br:
  case WP_OP_br_if: return op_br(c, op, &imm);
  case WP_OP_br_table: return op_br_table(c, &imm);
  case WP_OP_return: return op_return(c);
  case WP_OP_call:
  case WP_OP_call_indirect: return op_call(c, op, &imm);
  case WP_OP_drop: {
    uint8_t t = UNKNOWN;
    TRY(pop(c, &t));
    if (emitting(c)) emit_op(c, op);
    return 0;
  }
  case WP_OP_select:
  case WP_OP_select_t: return op_select(c, op, &imm);
  case WP_OP_local_get:
  case WP_OP_local_set:
  case WP_OP_local_tee: return op_local(c, op, &imm);
  case WP_OP_global_get:
  case WP_OP_global_set: return op_global(c, op, &imm);
  case WP_OP_table_get:
  case WP_OP_table_set:
  case WP_OP_table_size:
  case WP_OP_table_grow:
  case WP_OP_table_fill:
  case WP_OP_table_init:
  case WP_OP_table_copy:
  case WP_OP_elem_drop: return op_table(c, op, &imm);
  case WP_OP_ref_null:
  case WP_OP_ref_is_null:
  case WP_OP_ref_func: return op_ref(c, op, &imm);
  default: return op_simple(c, op, &imm);
  }
}

int wp_validate_body(const wp_module *m, uint32_t defined_index, wp_emitter *em, uint32_t *max_height,
                     wp_error *err) {
  const wp_func_body *body = &m->bodies[defined_index];
  uint32_t func_index = m->nfuncs_imported + defined_index;
  body_ctx c = {.m = m, .err = err, .em = em, .func_index = func_index};
  c.r = (wp_reader){m->bytes, m->bytes + body->code_start, m->bytes + body->body_end};
  c.op_offset = body->code_start;
  uint32_t typeidx = m->func_types[func_index];
  if (typeidx >= m->ntypes) return fail(&c, "unknown type %u", typeidx);
  pthread_once(&op_sigs_once, build_op_sigs);
  body_stacks st;
  stacks_init(&c, &st);
  c.type = &m->types[typeidx];
  c.locals = body->local_types;
  c.nlocals = c.type->nparams + body->nlocals;
  int rc = push_ctl(&c, FUNC_FRAME, NULL, 0, wp_functype_results(c.type), c.type->nresults);
  while (rc == 0) {
    if (c.r.pos >= c.r.end) {
      c.op_offset = wp_reader_offset(&c.r);
      rc = fail_decode(&c, "END opcode expected");
      break;
    }
    rc = step(&c);
  }
  if (rc == 1 && c.r.pos != c.r.end) {
    c.op_offset = wp_reader_offset(&c.r);
    rc = fail_decode(&c, "section size mismatch: bytes after the function's end");
  }
  if (rc == 1 && em && em->oom) rc = oom(&c);
  if (max_height) *max_height = c.nlocals + c.max_vals;
  stacks_free(&c);
  return rc == 1 ? 0 : -1;
}

int wp_check_body_encoding(const wp_module *m, uint32_t defined_index, wp_error *err) {
  const wp_func_body *body = &m->bodies[defined_index];
  wp_reader r = {m->bytes, m->bytes + body->code_start, m->bytes + body->body_end};
  uint32_t depth = 1;
  while (depth > 0) {
    uint32_t at = wp_reader_offset(&r);
    if (r.pos >= r.end) return wp_error_set(err, WP_ERR_DECODE, at, "END opcode expected");
    wp_opcode op;
    wp_imm imm;
    if (!wp_read_opcode(&r, &op, err) || !wp_read_immediates(&r, op, &imm, err)) {
      if (err && err->kind == WP_ERR_DECODE) err->func = m->nfuncs_imported + defined_index;
      return err && err->kind == WP_ERR_DECODE ? -1 : 0;
    }
    if (op == WP_OP_block || op == WP_OP_loop || op == WP_OP_if) depth++;
    else if (op == WP_OP_end) depth--;
  }
  if (r.pos != r.end) return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(&r), "section size mismatch: bytes after the function's end");
  return 0;
}

/* ---- operand stack types at an instruction (coredump.c) ---- */

int wp_body_stack_types(const wp_module *m, uint32_t defined_index, uint32_t offset, uint8_t **types,
                        uint32_t *ntypes, wp_error *err) {
  const wp_func_body *body = &m->bodies[defined_index];
  uint32_t func_index = m->nfuncs_imported + defined_index;
  body_ctx c = {.m = m, .err = err, .func_index = func_index};
  c.r = (wp_reader){m->bytes, m->bytes + body->code_start, m->bytes + body->body_end};
  c.op_offset = body->code_start;
  *types = NULL;
  *ntypes = 0;
  uint32_t typeidx = m->func_types[func_index];
  if (typeidx >= m->ntypes) return fail(&c, "unknown type %u", typeidx);
  pthread_once(&op_sigs_once, build_op_sigs);
  body_stacks st;
  stacks_init(&c, &st);
  c.type = &m->types[typeidx];
  c.locals = body->local_types;
  c.nlocals = c.type->nparams + body->nlocals;
  int rc = push_ctl(&c, FUNC_FRAME, NULL, 0, wp_functype_results(c.type), c.type->nresults);
  /* The same walk as wp_validate_body, stopped before the instruction at
   * `offset`: the type stack there is what that instruction sees. */
  while (rc == 0 && c.r.pos < c.r.end && wp_reader_offset(&c.r) != offset) rc = step(&c);
  if (rc == 0 && c.r.pos < c.r.end) {
    if (c.nvals > 0) { /* a copy the caller frees: the stack may be body_stacks' */
      if ((*types = malloc(c.nvals)) == NULL)
        rc = oom(&c);
      else
        memcpy(*types, c.vals, c.nvals);
    }
    *ntypes = *types ? c.nvals : 0;
  } else if (rc >= 0) {
    rc = wp_error_set(err, WP_ERR_ARG, offset, "no instruction at offset %u in function %u", offset, func_index);
  }
  stacks_free(&c);
  return rc == 0 ? 0 : -1;
}
