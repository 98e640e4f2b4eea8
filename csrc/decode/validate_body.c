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
  wp_opcode op;              /* the current instruction, named in messages */
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

/* Errors are reported at the current instruction (c->op_offset); the
 * walk's entry points add the function index to all but out-of-memory. */

static int oom(body_ctx *c) {
  return wp_error_set(c->err, WP_ERR_NOMEM, c->op_offset, "out of memory validating function %u", c->func_index);
}

/* Type lists in messages show at most this many (the top of the stack). */
#define SHOWN_TYPES 8

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
    WP_TRY(grow(c, (void **)&c->vals, &c->cap_vals, &c->vals_on_heap, c->nvals, 1));
  c->vals[c->nvals++] = t;
  if (c->nvals > c->max_vals) c->max_vals = c->nvals;
  return 0;
}

/* mismatch: the current instruction expects want[0..n) on top of the
 * stack (want[n-1] on top), which held something else when it had `before`
 * values: report both, the found values taken from the current block. */
static WP_NOINLINE int mismatch(body_ctx *c, const uint8_t *want, uint32_t n, uint32_t before) {
  uint32_t avail = before - top_ctl(c)->height;
  uint32_t k = avail < n ? avail : n;
  char w[112], g[112];
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "type mismatch: %s expects [%s], found [%s]",
                      wp_opinfo_table[c->op].name, wp_format_types(w, sizeof w, want, n, SHOWN_TYPES),
                      wp_format_types(g, sizeof g, c->vals + before - k, k, SHOWN_TYPES));
}

/* pops_ok: pop n values of types want[0..n) (want[n-1] on top); false on
 * a mismatch.  Below the block's height there are no values, except after
 * an unconditional branch, where the stack is polymorphic: missing values
 * are then of any type. */
static WP_ALWAYS_INLINE bool pops_ok(body_ctx *c, const uint8_t *want, uint32_t n) {
  const ctl_frame *f = top_ctl(c);
  for (uint32_t i = n; i-- > 0;) {
    if (c->nvals == f->height) return f->unreachable;
    uint8_t got = c->vals[--c->nvals];
    if (got != want[i] && got != UNKNOWN && want[i] != UNKNOWN) return false;
  }
  return true;
}

static WP_ALWAYS_INLINE int pop_list(body_ctx *c, const uint8_t *want, uint32_t n) {
  uint32_t before = c->nvals;
  return WP_LIKELY(pops_ok(c, want, n)) ? 0 : mismatch(c, want, n, before);
}

static WP_ALWAYS_INLINE int pop_expect(body_ctx *c, uint8_t want) { return pop_list(c, &want, 1); }

/* pop_any: one value of any type (UNKNOWN from a polymorphic stack). */
static WP_ALWAYS_INLINE int pop_any(body_ctx *c, uint8_t *out) {
  static const uint8_t any = UNKNOWN;
  uint32_t before = c->nvals;
  if (!pops_ok(c, &any, 1)) return mismatch(c, &any, 1, before);
  *out = c->nvals < before ? c->vals[c->nvals] : UNKNOWN;
  return 0;
}

static int push_list(body_ctx *c, const uint8_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) WP_TRY(push(c, types[i]));
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
    WP_TRY(grow(c, (void **)&c->ctls, &c->cap_ctls, &c->ctls_on_heap, c->nctls, sizeof(ctl_frame)));
  ctl_frame *f = &c->ctls[c->nctls++];
  *f = (ctl_frame){.kind = kind, .dead = dead, .params = params, .nparams = np, .results = results,
                   .nresults = nr, .height = c->nvals, .fixups = WP_NO_FIXUP, .else_fixup = WP_NO_FIXUP};
  f->loop_cell = c->em ? wp_emit_pos(c->em) : 0;
  return push_list(c, params, np);
}

static const char *frame_name(const ctl_frame *f) {
  switch (f->kind) {
  case WP_OP_block: return "block";
  case WP_OP_loop: return "loop";
  case WP_OP_if: case WP_OP_else: return "if";
  default: return "function";
  }
}

/* Check the block's results are exactly what is on its part of the stack. */
static int check_block_end(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  uint32_t before = c->nvals;
  if (pops_ok(c, f->results, f->nresults) && c->nvals == f->height) return 0;
  char w[112], g[112];
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "type mismatch: %s expects [%s] (the %s's results), "
                      "found [%s]", wp_opinfo_table[c->op].name,
                      wp_format_types(w, sizeof w, f->results, f->nresults, SHOWN_TYPES), frame_name(f),
                      wp_format_types(g, sizeof g, c->vals + f->height, before - f->height, SHOWN_TYPES));
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

static int need_table(body_ctx *c, uint32_t t) {
  if (t < c->m->ntables) return 0;
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                      "unknown table %u: " WP_BOUND_FMT, t, WP_BOUND_ARGS(c->m->ntables));
}

static int read_label(body_ctx *c, uint32_t depth, ctl_frame **out) {
  if (depth >= c->nctls)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "unknown label %u: expected a depth below %u", depth,
                        c->nctls);
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
    if (!valtype_byte[t])
      return wp_error_set(c->err, WP_ERR_DECODE, c->op_offset,
                          "malformed value type: expected " WP_VALTYPE_BYTES ", found 0x%02x", t);
    if (t == WP_V128) return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "SIMD is not supported yet");
    *results = &valtype_byte[t];
    *nr = 1;
    return 0;
  }
  if ((uint64_t)bt >= c->m->ntypes)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "unknown type %lld: " WP_BOUND_FMT, (long long)bt, WP_BOUND_ARGS(c->m->ntypes));
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
  WP_TRY(block_type(c, imm->blocktype, &params, &np, &results, &nr));
  if (op == WP_OP_if) {
    WP_TRY(pop_expect(c, WP_I32));
    bool emit = emitting(c);
    WP_TRY(pop_list(c, params, np));
    WP_TRY(push_ctl(c, WP_OP_if, params, np, results, nr));
    if (emit) {
      ctl_frame *f = top_ctl(c);
      uint32_t op_cell = wp_emit_op(c->em, WP_XOP_jump_unless, c->op_offset);
      wp_emit_fixup(c->em, op_cell, &f->else_fixup);
      wp_emit_block_end(c->em);
    }
    return 0;
  }
  WP_TRY(pop_list(c, params, np));
  /* A loop's head is a branch target: its body starts a block at loop_cell. */
  if (op == WP_OP_loop && c->em) wp_emit_block_end(c->em);
  return push_ctl(c, (uint8_t)op, params, np, results, nr);
}

static int op_else(body_ctx *c) {
  ctl_frame *f = top_ctl(c);
  if (f->kind != WP_OP_if)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "else without a matching if: expected it directly in an if, found it in a %s%s", frame_name(f),
                        f->kind == WP_OP_else ? "'s else branch" : "");
  bool emit = emitting(c);
  WP_TRY(check_block_end(c));
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
    if (f->nparams != f->nresults || (f->nparams && memcmp(f->params, f->results, f->nparams))) {
      char params[112], results[112];
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: if without else expects a type [t*] -> [t*], found [%s] -> [%s]",
                          wp_format_types(params, sizeof params, f->params, f->nparams, SHOWN_TYPES),
                          wp_format_types(results, sizeof results, f->results, f->nresults, SHOWN_TYPES));
    }
  }
  WP_TRY(check_block_end(c));
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
  WP_TRY(push_list(c, results, nr));
  return 0;
}

static int op_br(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  ctl_frame *f = NULL;
  WP_TRY(read_label(c, imm->a, &f));
  if (op == WP_OP_br_if) WP_TRY(pop_expect(c, WP_I32));
  bool emit = emitting(c);
  const uint8_t *types = label_types(f);
  uint32_t arity = label_arity(f);
  WP_TRY(pop_list(c, types, arity));
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
  WP_TRY(pop_expect(c, WP_I32));
  bool emit = emitting(c);
  wp_reader lr = {c->r.base, imm->vec, c->r.end};
  uint32_t default_depth;
  /* The default label fixes the arity; every label must accept its types. */
  wp_reader dr = lr;
  for (uint32_t i = 0; i <= imm->n; i++)
    WP_TRY(wp_read_u32(&dr, &default_depth, c->err));
  ctl_frame *def = NULL;
  WP_TRY(read_label(c, default_depth, &def));
  uint32_t arity = label_arity(def);
  uint32_t op_cell = 0;
  if (emit) {
    op_cell = wp_emit_op(c->em, WP_XOP_jump_table, c->op_offset);
    wp_emit_u64(c->em, imm->n);
  }
  for (uint32_t i = 0; i <= imm->n; i++) {
    uint32_t depth;
    WP_TRY(wp_read_u32(&lr, &depth, c->err));
    ctl_frame *f = NULL;
    WP_TRY(read_label(c, depth, &f));
    if (label_arity(f) != arity)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: br_table expects every label's arity to be %u (the default's), found %u "
                          "for label %u", arity, label_arity(f), depth);
    /* Check the label's types against the stack without consuming it:
     * popping only lowers nvals, so restoring it undoes the check. */
    uint32_t saved = c->nvals;
    int rc = pop_list(c, label_types(f), arity);
    c->nvals = saved;
    WP_TRY(rc);
    if (emit) emit_target(c, f, op_cell, true);
  }
  WP_TRY(pop_list(c, label_types(def), arity));
  if (emit) wp_emit_block_end(c->em);
  set_unreachable(c);
  return 0;
}

static int op_call(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  const wp_module *m = c->m;
  const wp_functype *ft;
  if (op == WP_OP_call) {
    if (imm->a >= m->nfuncs)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "unknown function %u: " WP_BOUND_FMT, imm->a, WP_BOUND_ARGS(m->nfuncs));
    ft = &m->types[m->func_types[imm->a]];
  } else {
    WP_TRY(need_table(c, imm->b));
    if (m->tables[imm->b].elemtype != WP_FUNCREF)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: call_indirect expects a funcref table, found table %u of %s", imm->b,
                          wp_valtype_name((wp_valtype)m->tables[imm->b].elemtype));
    if (imm->a >= m->ntypes)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "unknown type %u: " WP_BOUND_FMT, imm->a, WP_BOUND_ARGS(m->ntypes));
    ft = &m->types[imm->a];
    WP_TRY(pop_expect(c, WP_I32));
  }
  bool emit = emitting(c);
  WP_TRY(pop_list(c, wp_functype_params(ft), ft->nparams));
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
  WP_TRY(pop_list(c, fn->results, fn->nresults));
  if (emit) {
    emit_op_u64(c, WP_XOP_return, fn->nresults);
    wp_emit_block_end(c->em);
  }
  set_unreachable(c);
  return 0;
}

static int op_select(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (op == WP_OP_select_t) {
    if (imm->n != 1)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "invalid result arity: select expects 1 type, found %u", imm->n);
    uint8_t t = imm->vec[0];
    if (!valtype_byte[t])
      return wp_error_set(c->err, WP_ERR_DECODE, c->op_offset,
                          "malformed value type: expected " WP_VALTYPE_BYTES ", found 0x%02x", t);
    if (t == WP_V128) return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset, "SIMD is not supported yet");
    const uint8_t want[3] = {t, t, WP_I32};
    WP_TRY(pop_list(c, want, 3));
    if (emitting(c)) emit_op(c, WP_OP_select);
    return push(c, t);
  }
  static const uint8_t any2[2] = {UNKNOWN, UNKNOWN};
  WP_TRY(pop_expect(c, WP_I32));
  uint32_t before = c->nvals;
  WP_TRY(pop_list(c, any2, 2));
  /* The operands' types, UNKNOWN where a polymorphic stack had none. */
  uint32_t popped = before - c->nvals;
  uint8_t ts[2] = {popped > 1 ? c->vals[before - 2] : UNKNOWN, popped > 0 ? c->vals[before - 1] : UNKNOWN};
  char found[32];
  if ((ts[0] != UNKNOWN && !is_num(ts[0])) || (ts[1] != UNKNOWN && !is_num(ts[1])))
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "type mismatch: select without a type expects numeric operands, found [%s]",
                        wp_format_types(found, sizeof found, ts, 2, 2));
  if (ts[0] != UNKNOWN && ts[1] != UNKNOWN && ts[0] != ts[1])
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "type mismatch: select expects two operands of one type, found [%s]",
                        wp_format_types(found, sizeof found, ts, 2, 2));
  if (emitting(c)) emit_op(c, WP_OP_select);
  return push(c, ts[1] == UNKNOWN ? ts[0] : ts[1]);
}

static int op_local(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (imm->a >= c->nlocals)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "unknown local %u: " WP_BOUND_FMT, imm->a, WP_BOUND_ARGS(c->nlocals));
  uint8_t t = c->locals[imm->a];
  if (op == WP_OP_local_get) {
    if (emitting(c)) emit_op_u64(c, op, imm->a);
    return push(c, t);
  }
  WP_TRY(pop_expect(c, t));
  if (emitting(c)) emit_op_u64(c, op, imm->a);
  return op == WP_OP_local_tee ? push(c, t) : 0;
}

static int op_global(body_ctx *c, wp_opcode op, const wp_imm *imm) {
  if (imm->a >= c->m->nglobals)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "unknown global %u: " WP_BOUND_FMT, imm->a, WP_BOUND_ARGS(c->m->nglobals));
  const wp_globaltype *g = &c->m->globals[imm->a].type;
  if (op == WP_OP_global_get) {
    if (emitting(c)) emit_op_u64(c, op, imm->a);
    return push(c, g->valtype);
  }
  if (!g->mutable_)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "global is immutable: global.set expects a mutable global, found const global %u", imm->a);
  WP_TRY(pop_expect(c, g->valtype));
  /* A funcref global must keep the function's instance alive (keepalive.c). */
  if (emitting(c)) emit_op_u64(c, g->valtype == WP_FUNCREF ? (unsigned)WP_XOP_global_set_ref : op, imm->a);
  return 0;
}

static int need_elem(body_ctx *c, uint32_t e) {
  if (e < c->m->nelems) return 0;
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                      "unknown elem segment %u: " WP_BOUND_FMT, e, WP_BOUND_ARGS(c->m->nelems));
}

static int need_memory(body_ctx *c) {
  if (c->m->nmems) return 0;
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                      "unknown memory 0: %s expects a memory, the module has none", wp_opinfo_table[c->op].name);
}

static int need_data(body_ctx *c, uint32_t d) {
  /* Without a data count section the binary is malformed, unless there is
   * no data at all: then any index is simply unknown (as for a text module). */
  if (!c->m->has_datacount && c->m->ndatas)
    return wp_error_set(c->err, WP_ERR_DECODE, c->op_offset,
                        "data count section required: %s names a data segment, the module has no data count section",
                        wp_opinfo_table[c->op].name);
  if (d < c->m->datacount) return 0;
  return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                      "unknown data segment %u: " WP_BOUND_FMT, d, WP_BOUND_ARGS(c->m->datacount));
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
    WP_TRY(need_table(c, imm->a));
    uint8_t et = m->tables[imm->a].elemtype;
    if (op == WP_OP_table_get) {
      WP_TRY(pop_expect(c, WP_I32));
      WP_TRY(push(c, et));
    } else if (op == WP_OP_table_set) {
      WP_TRY(pop_expect(c, et));
      WP_TRY(pop_expect(c, WP_I32));
    } else if (op == WP_OP_table_size) {
      WP_TRY(push(c, WP_I32));
    } else if (op == WP_OP_table_grow) {
      WP_TRY(pop_expect(c, WP_I32));
      WP_TRY(pop_expect(c, et));
      WP_TRY(push(c, WP_I32));
    } else {
      WP_TRY(pop_expect(c, WP_I32));
      WP_TRY(pop_expect(c, et));
      WP_TRY(pop_expect(c, WP_I32));
    }
    if (emit) emit_op_u64(c, op, imm->a);
    return 0;
  }
  case WP_OP_table_init:
    WP_TRY(need_table(c, imm->b));
    WP_TRY(need_elem(c, imm->a));
    if (m->elems[imm->a].elemtype != m->tables[imm->b].elemtype)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: table %u expects %s elements, found element segment %u of %s", imm->b,
                          wp_valtype_name((wp_valtype)m->tables[imm->b].elemtype), imm->a,
                          wp_valtype_name((wp_valtype)m->elems[imm->a].elemtype));
    break;
  case WP_OP_table_copy:
    WP_TRY(need_table(c, imm->a));
    WP_TRY(need_table(c, imm->b));
    if (m->tables[imm->a].elemtype != m->tables[imm->b].elemtype)
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: table.copy expects tables of one element type, found table %u of %s and "
                          "table %u of %s", imm->a, wp_valtype_name((wp_valtype)m->tables[imm->a].elemtype), imm->b,
                          wp_valtype_name((wp_valtype)m->tables[imm->b].elemtype));
    break;
  default: /* elem.drop */
    WP_TRY(need_elem(c, imm->a));
    if (emit) emit_op_u64(c, op, imm->a);
    return 0;
  }
  for (int i = 0; i < 3; i++) WP_TRY(pop_expect(c, WP_I32));
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
    WP_TRY(pop_any(c, &t));
    if (t != UNKNOWN && !is_ref(t))
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "type mismatch: ref.is_null expects [funcref] or [externref], found [%s]",
                          wp_valtype_name((wp_valtype)t));
    if (emitting(c)) emit_op(c, op);
    return push(c, WP_I32);
  }
  if (imm->a >= c->m->nfuncs)
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "unknown function %u: " WP_BOUND_FMT, imm->a, WP_BOUND_ARGS(c->m->nfuncs));
  if (!c->m->func_declared || !c->m->func_declared[imm->a])
    return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                        "undeclared function reference: expected function %u to be named outside function bodies "
                        "(in an export, element segment or global), found it nowhere", imm->a);
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
    WP_TRY(need_memory(c));
    if (imm->a > natural_alignment(op))
      return wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
                          "alignment must not be larger than natural: %s expects at most 2^%u, found 2^%u",
                          info->name, natural_alignment(op), imm->a);
  } else if (op == WP_OP_memory_size || op == WP_OP_memory_grow || op == WP_OP_memory_copy ||
             op == WP_OP_memory_fill) {
    WP_TRY(need_memory(c));
  } else if (op == WP_OP_memory_init) {
    WP_TRY(need_memory(c));
    WP_TRY(need_data(c, imm->a));
  } else if (op == WP_OP_data_drop) {
    WP_TRY(need_data(c, imm->a));
  }
  WP_TRY(pop_list(c, sig->pop, sig->npop));
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
  for (uint32_t i = 0; i < sig->npush; i++) WP_TRY(push(c, sig->push[i]));
  return 0;
}

/* One instruction; returns 1 when the function's final `end` was read. */
static int step(body_ctx *c) {
  c->op_offset = wp_reader_offset(&c->r);
  wp_opcode op;
  wp_imm imm;
  WP_TRY(wp_read_opcode(&c->r, &op, c->err));
  WP_TRY(wp_read_immediates(&c->r, op, &imm, c->err));
  c->op = op;
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
    WP_TRY(pop_any(c, &t));
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

/* in_function: a body walk's failure names the function (except running
 * out of memory, which is no fault of the function's). */
static int in_function(body_ctx *c, int rc) {
  if (rc < 0 && c->err && c->err->kind != WP_ERR_NOMEM) c->err->func = c->func_index;
  return rc;
}

static int unknown_type(body_ctx *c, uint32_t typeidx) {
  wp_error_set(c->err, WP_ERR_VALIDATE, c->op_offset,
               "unknown type %u: " WP_BOUND_FMT, typeidx, WP_BOUND_ARGS(c->m->ntypes));
  return in_function(c, -1);
}

/* The two ways a body's bytes and its blocks can disagree (also found by
 * wp_check_body_encoding). */
static int end_expected(wp_error *err, uint32_t at, uint32_t open) {
  return wp_error_set(err, WP_ERR_DECODE, at, "END opcode expected: expected %u more end%s, found the body's end", open,
                      open == 1 ? "" : "s");
}

static int bytes_after_end(wp_error *err, const wp_reader *r) {
  return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                      "section size mismatch: expected the body to end at its final end, found %u more bytes",
                      (uint32_t)(r->end - r->pos));
}

int wp_validate_body(const wp_module *m, uint32_t defined_index, wp_emitter *em, uint32_t *max_height,
                     wp_error *err) {
  const wp_func_body *body = &m->bodies[defined_index];
  uint32_t func_index = m->nfuncs_imported + defined_index;
  body_ctx c = {.m = m, .err = err, .em = em, .func_index = func_index};
  c.r = (wp_reader){m->bytes, m->bytes + body->code_start, m->bytes + body->body_end};
  c.op_offset = body->code_start;
  uint32_t typeidx = m->func_types[func_index];
  if (typeidx >= m->ntypes) return unknown_type(&c, typeidx);
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
      rc = end_expected(err, c.op_offset, c.nctls);
      break;
    }
    rc = step(&c);
  }
  if (rc == 1 && c.r.pos != c.r.end) {
    c.op_offset = wp_reader_offset(&c.r);
    rc = bytes_after_end(err, &c.r);
  }
  if (rc == 1 && em && em->oom) rc = oom(&c);
  in_function(&c, rc);
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
    if (r.pos >= r.end) return end_expected(err, at, depth);
    wp_opcode op;
    wp_imm imm;
    if (wp_read_opcode(&r, &op, err) < 0 || wp_read_immediates(&r, op, &imm, err) < 0) {
      if (err && err->kind == WP_ERR_DECODE) err->func = m->nfuncs_imported + defined_index;
      return err && err->kind == WP_ERR_DECODE ? -1 : 0;
    }
    if (op == WP_OP_block || op == WP_OP_loop || op == WP_OP_if) depth++;
    else if (op == WP_OP_end) depth--;
  }
  if (r.pos != r.end) return bytes_after_end(err, &r);
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
  if (typeidx >= m->ntypes) return unknown_type(&c, typeidx);
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
  in_function(&c, rc);
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
