/* loop_template.h: the interpreter loop, written once and included once per
 * loop variant (loop_plain.c, loop_ticked.c, loop_step.c; after
 * loop_prelude.h).  Before including, define
 *   LOOP_FN        the function's name
 *   LOOP_VARIANT   the wp_variant it implements (selects the code cache)
 *   LOOP_FUSED     1 if its code may hold superinstructions (fused.h);
 *                  without, their handlers are left out (the table holds NULL)
 *   LOOP_STEP      1 for the stepping loop only (loop_step.c, debug.h): a
 *                  countdown of instructions in a register, decremented at
 *                  each dispatch, whose expiry calls the debugger's check;
 *                  breakpoints as patched handler cells (XOP_break); it
 *                  resumes a paused frame and returns 1 when it pauses; it
 *                  has the superinstructions of WP_FUSED_XOPS_STEPPING,
 *                  guarded (FUSED_GUARD; code.h: stepping code)
 *   LOOP_TICKED    1 for the ticked loop only: it has XOP_tick_blocks
 *   LOOP_LOCALS    declarations of the variant's own locals (default: none)
 * and, for observing variants, the hook macros (default: nothing):
 *   HOOK_ENTER(f)  after a guest frame is pushed
 *   HOOK_LEAVE()   before a guest frame is popped
 *   HOOK_HOST_ENTER(f), HOOK_HOST_LEAVE()  around a host function's call
 *   HOOK_TICK(n)   at an XOP_tick or XOP_tick_blocks (only in ticked code) with its cost
 *   HOOK_BLOCK_RUN()  then, at an XOP_tick_blocks, its block's run (pc[2].pair.b)
 *   HOOK_CODE_STALE(code) whether a callee's code (the chain's head) is priced otherwise than this run
 *   HOOK_CODE(code) once a callee's code is known (before its frame)
 *   HOOK_TRAP()    when the loop traps, pc at the trapping instruction
 *   HOOK_RETURNED() after a return popped a frame, pc at the caller's next
 *   HOOK_STORED(ea, n)  after an instruction wrote memory [ea, ea+n)
 *   HOOK_GLOBAL_SET()   after a global.set
 *   HOST_CALL(callee, args)  calls a host function (0 or non-zero as wp_host_fn)
 *   HOOK_TICKS_OUT(), HOOK_TICKS_IN()  before and after whatever outside the
 *                  loop may read or change ex->ticks or tick_stop (C calls
 *                  that run hosts or hooks, and leaving the loop), for a
 *                  variant that keeps the count in its locals
 *
 * int LOOP_FN(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels)
 * runs the frame on top of ex's frame stack until it returns to frame
 * count `base`.  Called with ex == NULL it only stores its handler table.
 *
 * Hot state lives in locals: pc, sp, fp, the current instance and its
 * memory's base and size.  pc and sp are written back to the frame at
 * calls, host calls and traps (the only times anyone else looks). */

#include "semantics.h" /* the instructions' semantics, opcodes.def's */

#ifndef HOOK_ENTER
#define HOOK_ENTER(f) ((void)0)
#endif
#ifndef HOOK_LEAVE
#define HOOK_LEAVE() ((void)0)
#endif
#ifndef HOOK_HOST_ENTER
#define HOOK_HOST_ENTER(f) ((void)0)
#endif
#ifndef HOOK_HOST_LEAVE
#define HOOK_HOST_LEAVE() ((void)0)
#endif
#ifndef HOOK_TICK
#define HOOK_TICK(n) ((void)0)
#endif
#ifndef HOOK_BLOCK_RUN
#define HOOK_BLOCK_RUN() ((void)0)
#endif
#ifndef HOOK_CODE_STALE
#define HOOK_CODE_STALE(code) 0
#endif
#ifndef HOOK_CODE
#define HOOK_CODE(code) ((void)0)
#endif
#ifndef HOOK_TRAP
#define HOOK_TRAP() ((void)0)
#endif
#ifndef HOOK_RETURNED
#define HOOK_RETURNED() ((void)0)
#endif
#ifndef HOOK_STORED
#define HOOK_STORED(ea, n) ((void)0)
#endif
#ifndef HOOK_GLOBAL_SET
#define HOOK_GLOBAL_SET() ((void)0)
#endif
#ifndef HOOK_TICKS_OUT
#define HOOK_TICKS_OUT() ((void)0)
#endif
#ifndef HOOK_TICKS_IN
#define HOOK_TICKS_IN() ((void)0)
#endif
#ifndef HOST_CALL
#define HOST_CALL(callee, args) ((callee)->host(ex, (callee)->host_ctx, (args), err))
#endif
#ifndef LOOP_STEP
#define LOOP_STEP 0
#endif
#ifndef LOOP_TICKED
#define LOOP_TICKED 0
#endif
#ifndef LOOP_LOCALS
#define LOOP_LOCALS
#endif

int LOOP_FN(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels) {
#if WP_COMPUTED_GOTO
  static const void *const handlers[WP_IOP_COUNT] = {
#define OP(byte, name, ident, imm, sig, sem) [WP_OP_##ident] = &&L_##ident,
#define OPFC(sub, name, ident, imm, sig, sem) [WP_OP_##ident] = &&L_##ident,
#include "opcodes.def"
#undef OP
#undef OPFC
#define X(ident) [WP_XOP_##ident] = &&LX_##ident,
      WP_BASE_XOPS(X)
#if LOOP_FUSED
      WP_FUSED_XOPS(X)
#elif LOOP_STEP
      WP_FUSED_XOPS_STEPPING(X)
#endif
#if LOOP_STEP
      WP_STEP_XOPS(X)
#endif
#if LOOP_TICKED
      WP_TICKED_XOPS(X)
#endif
#undef X
  };
#define CASE(ident) L_##ident
#define XCASE(ident) LX_##ident
#define DISPATCH_TO(h) goto *(h)
#else
#define CASE(ident) case WP_OP_##ident
#define XCASE(ident) case WP_XOP_##ident
#if LOOP_STEP
#define DISPATCH_TO(h)  \
  do {                  \
    cur_handler = (h);  \
    goto dispatch;      \
  } while (0)
#endif
  /* The portable build's "handlers" are the internal opcode numbers. */
  static const void *const handlers[WP_IOP_COUNT] = {
#define OP(byte, name, ident, imm, sig, sem) [WP_OP_##ident] = (const void *)(uintptr_t)WP_OP_##ident,
#define OPFC(sub, name, ident, imm, sig, sem) [WP_OP_##ident] = (const void *)(uintptr_t)WP_OP_##ident,
#include "opcodes.def"
#undef OP
#undef OPFC
#define X(ident) [WP_XOP_##ident] = (const void *)(uintptr_t)WP_XOP_##ident,
#if LOOP_STEP
      WP_BASE_XOPS(X) WP_FUSED_XOPS_STEPPING(X) WP_STEP_XOPS(X)
#else
      WP_XOPS(X)
#endif
#undef X
  };
#endif
  if (!ex) {
    *labels = handlers;
    return 0;
  }
#if LOOP_STEP
#if !WP_COMPUTED_GOTO
  const void *cur_handler;
#endif
  /* The stepping loop's countdown (debug.h): expiry means "check now". */
#define DISPATCH()                                              \
  do {                                                          \
    if (WP_UNLIKELY(--countdown == 0)) goto do_step_check;      \
    DISPATCH_TO(pc->handler);                                   \
  } while (0)
  wp_debug *dbg = ex->dbg;
  uint64_t countdown = dbg->countdown;
#elif WP_COMPUTED_GOTO
#define DISPATCH() goto *pc->handler
#else
#define DISPATCH() goto dispatch
#endif

  wp_frame *frame = &ex->frames[ex->nframes - 1];
  wp_func *func = frame->func;
  wp_instance *inst = func->inst;
  wp_memory *mem = NULL;
  uint8_t *mem_base = NULL;
  uint64_t mem_size = 0;
  wp_slot *fp = frame->fp;
  wp_slot *sp;
  const wp_cell *pc;
  wp_func *callee;
  wp_trap_kind trap;
  LOOP_LOCALS

#define LOAD_MEMORY()                     \
  do {                                    \
    mem = inst->module->nmems ? inst->mems[0] : NULL; \
    mem_base = mem ? mem->data : NULL;    \
    mem_size = mem ? mem->size : 0;       \
  } while (0)
#define NEXT(n)  \
  do {           \
    pc += (n);   \
    DISPATCH();  \
  } while (0)
#define TRAP(kind)   \
  do {               \
    trap = (kind);   \
    goto do_trap;    \
  } while (0)
/* CHECKPOINT: at back-edges and calls only, never per instruction.  On a
 * request, do_checkpoint saves pc/sp and re-dispatches this instruction.
 * -DWP_NO_INTERRUPT_CHECKS removes the checks (bench/interrupt_cost.py
 * measures what they cost; interrupts then never take effect). */
#ifdef WP_NO_INTERRUPT_CHECKS
#define INTERRUPT_PENDING() 0
#else
#define INTERRUPT_PENDING() WP_UNLIKELY(atomic_load_explicit(&ex->interrupt, memory_order_relaxed))
#endif
#if LOOP_STEP
/* The debugger's check, after this instruction, handles the request. */
#define CHECKPOINT()                                                      \
  do {                                                                    \
    if (INTERRUPT_PENDING()) countdown = wp_debug_lower(dbg, countdown);  \
  } while (0)
#else
#define CHECKPOINT()                             \
  do {                                           \
    if (INTERRUPT_PENDING()) goto do_checkpoint; \
  } while (0)
#endif
/* FUSED_GUARD(k): at the start of a superinstruction replacing k wasm
 * instructions.  The stepping loop runs it whole only when no stop falls
 * inside it (its dispatch counted the first instruction; the countdown
 * takes the others), else its instructions one by one (do_unfuse). */
#if LOOP_STEP
#define FUSED_GUARD(k)                                   \
  do {                                                   \
    if (WP_UNLIKELY(countdown < (k))) goto do_unfuse;    \
    countdown -= (k) - 1;                                \
  } while (0)
#else
#define FUSED_GUARD(k) ((void)0)
#endif
#define IMM(i) (pc[i].u64)
#define TOP sp[-1]
#define I32 (uint32_t)

  LOAD_MEMORY();
  HOOK_TICKS_IN();
#if LOOP_STEP
  if (frame->pc) { /* resume a paused frame */
    pc = frame->pc;
    sp = frame->sp;
    goto do_step_resume;
  }
#endif
  {
    const wp_code *code = WP_FUNC_CODE(func); /* wp_exec_invoke made sure it exists */
    if (HOOK_CODE_STALE(code)) code = wp_func_code(func, LOOP_VARIANT, &ex->cost, NULL);
    pc = code->cells;
    sp = fp + code->nlocals;
    wp_zero_locals(fp + code->nparams, sp);
    HOOK_ENTER(func);
  }
#if LOOP_STEP
do_step_resume:
  if (countdown == 0) goto do_step_check;
  DISPATCH_TO(wp_debug_handler(pc)); /* a breakpoint paused here: run the instruction under it */
#else
  DISPATCH();
#endif

#if !WP_COMPUTED_GOTO
dispatch:
#if LOOP_STEP
  switch ((uintptr_t)cur_handler)
#else
  switch ((uintptr_t)pc->handler)
#endif
#endif
  {
/* Memory access: effective address = i32 operand + static offset; one
 * compare against the current size (offset < 2^32, so no overflow). */
#define EA(n, addr_slot)                                  \
  uint64_t ea = (uint64_t)(uint32_t)(addr_slot) + IMM(1); \
  if (WP_UNLIKELY(ea + (n) > mem_size)) TRAP(WP_TRAP_MEMORY_OOB);

    /* ---- control ---- */
    CASE(unreachable) : TRAP(WP_TRAP_UNREACHABLE);

    XCASE(jump) : NEXT(pc[1].i64);
    XCASE(jump_if) : {
      if (I32 * --sp) NEXT(pc[1].i64);
      NEXT(2);
    }
    XCASE(jump_unless) : {
      if (!(I32 * --sp)) NEXT(pc[1].i64);
      NEXT(2);
    }
    XCASE(jump_unwind) : {
      uint32_t drop = pc[2].pair.a, keep = pc[2].pair.b;
      memmove(sp - keep - drop, sp - keep, keep * sizeof(wp_slot));
      sp -= drop;
      NEXT(pc[1].i64);
    }
    XCASE(jump_if_unwind) : {
      if (I32 * --sp) {
        uint32_t drop = pc[2].pair.a, keep = pc[2].pair.b;
        memmove(sp - keep - drop, sp - keep, keep * sizeof(wp_slot));
        sp -= drop;
        NEXT(pc[1].i64);
      }
      NEXT(3);
    }
    /* ---- back-edges: the same jumps after an interrupt check ---- */
    XCASE(jump_back) : {
      CHECKPOINT();
      NEXT(pc[1].i64);
    }
    XCASE(jump_if_back) : {
      CHECKPOINT();
      if (I32 * --sp) NEXT(pc[1].i64);
      NEXT(2);
    }
    XCASE(jump_back_unwind) : {
      CHECKPOINT();
      uint32_t drop = pc[2].pair.a, keep = pc[2].pair.b;
      memmove(sp - keep - drop, sp - keep, keep * sizeof(wp_slot));
      sp -= drop;
      NEXT(pc[1].i64);
    }
    XCASE(jump_if_back_unwind) : {
      CHECKPOINT();
      if (I32 * --sp) {
        uint32_t drop = pc[2].pair.a, keep = pc[2].pair.b;
        memmove(sp - keep - drop, sp - keep, keep * sizeof(wp_slot));
        sp -= drop;
        NEXT(pc[1].i64);
      }
      NEXT(3);
    }
    XCASE(jump_table) : {
      CHECKPOINT(); /* any of its targets may be a loop header */
      uint32_t n = (uint32_t)IMM(1);
      uint32_t i = I32 * --sp;
      const wp_cell *entry = pc + 2 + 2 * (i < n ? i : n);
      uint32_t drop = entry[1].pair.a, keep = entry[1].pair.b;
      if (drop) {
        memmove(sp - keep - drop, sp - keep, keep * sizeof(wp_slot));
        sp -= drop;
      }
      NEXT(entry[0].i64);
    }

    XCASE(return) : {
      uint32_t n = (uint32_t)IMM(1);
      if (n == 1) fp[0] = sp[-1]; /* the common case, without a memmove call */
      else memmove(fp, sp - n, n * sizeof(wp_slot));
      sp = fp + n;
      HOOK_LEAVE();
      if (--ex->nframes == base) {
        HOOK_TICKS_OUT();
        return 0;
      }
      frame = &ex->frames[ex->nframes - 1];
      func = frame->func;
      fp = frame->fp;
      pc = (const wp_cell *)frame->pc + WP_CALL_CELLS;
      if (WP_UNLIKELY(func->inst != inst)) {
        inst = func->inst;
        LOAD_MEMORY();
      } else if (mem) {
        mem_size = mem->size; /* the callee may have grown it (data never moves) */
      }
      HOOK_RETURNED();
      DISPATCH();
    }

    CASE(call) : {
      callee = inst->funcs[IMM(1)];
      goto do_call;
    }
    CASE(call_indirect) : {
      const wp_table *t = inst->tables[IMM(2)];
      uint32_t i = I32 * --sp;
      if (i >= t->size) TRAP(WP_TRAP_UNDEFINED_ELEMENT);
      callee = (wp_func *)(uintptr_t)t->elems[i];
      if (!callee) TRAP(WP_TRAP_NULL_ELEMENT);
      const wp_functype *want = &inst->module->types[IMM(1)];
      if (callee->type != want && !wp_functype_equal(callee->type, want)) TRAP(WP_TRAP_SIGNATURE_MISMATCH);
      goto do_call;
    }

    /* ---- parametric ---- */
    CASE(drop) : {
      sp--;
      NEXT(1);
    }
    CASE(select) : {
      uint32_t c = I32 sp[-1];
      if (!c) sp[-3] = sp[-2];
      sp -= 2;
      NEXT(1);
    }

    /* ---- variables ---- */
    CASE(local_get) : {
      *sp++ = fp[IMM(1)];
      NEXT(2);
    }
    CASE(local_set) : {
      fp[IMM(1)] = *--sp;
      NEXT(2);
    }
    CASE(local_tee) : {
      fp[IMM(1)] = sp[-1];
      NEXT(2);
    }
    CASE(global_get) : {
      *sp++ = inst->globals[IMM(1)]->value[0];
      NEXT(2);
    }
    CASE(global_set) : {
      inst->globals[IMM(1)]->value[0] = *--sp;
      HOOK_GLOBAL_SET();
      NEXT(2);
    }

    XCASE(global_set_ref) : {
      wp_global_store(inst->globals[IMM(1)], *--sp);
      HOOK_GLOBAL_SET();
      NEXT(2);
    }
#if LOOP_STEP
    XCASE(break) : goto do_break;
    XCASE(unfuse) : goto do_unfuse;
    XCASE(tick_back) : { /* the unfused copy's block start: back to the fused copy's (a dispatch, no instruction) */
      pc += pc[1].i64;
      DISPATCH_TO(pc->handler);
    }
#endif

    XCASE(tick) : {
      HOOK_TICK(IMM(1));
      NEXT(3);
    }
#if LOOP_TICKED
    XCASE(tick_blocks) : {
      HOOK_TICK(IMM(1));
      HOOK_BLOCK_RUN();
      NEXT(3);
    }
#endif

    /* ---- superinstructions (fused.h): those the stepping loop has too ---- */
#if LOOP_FUSED || LOOP_STEP
/* Operand forms (fused.h): a and b, the operator's operand slots; the stack
 * operands among them are popped. */
#define OPND_S a = sp[-2]; b = sp[-1]; sp -= 2
#define OPND_LL a = fp[pc[1].pair.a]; b = fp[pc[1].pair.b]
#define OPND_LC a = fp[pc[1].u64]; b = pc[2].u64
#define OPND_SL a = sp[-1]; b = fp[pc[1].u64]; sp -= 1
#define OPND_SC a = sp[-1]; b = pc[1].u64; sp -= 1
/* Where a result goes (fused.h): TO(r, at) with the local's index at cell at. */
#define TO_PUSH(r, at) (*sp++ = (r))
#define TO_SET(r, at) fp[pc[at].u64] = (r)
#define TO_TEE(r, at)            \
  do {                           \
    uint64_t r_ = (r);           \
    fp[pc[at].u64] = r_;         \
    *sp++ = r_;                  \
  } while (0)
/* A binary operator `id` of K wasm instructions: operands in form OPND,
 * LEN cells up to its destination's, EXTRA cells (the local's index) after. */
#define FUSED_BIN1(name, K, OPND, LEN, TO, EXTRA, id) \
  XCASE(name) : {                                     \
    FUSED_GUARD(K);                                   \
    uint64_t a, b;                                    \
    OPND;                                             \
    TO(wp_sem_##id(a, b), LEN);                       \
    NEXT(LEN + EXTRA);                                \
  }
#define FUSED_BIN(X, id)                             \
  FUSED_BIN1(ll_##id, 3, OPND_LL, 2, TO_PUSH, 0, id) \
  FUSED_BIN1(lc_##id, 3, OPND_LC, 3, TO_PUSH, 0, id) \
  FUSED_BIN1(sl_##id, 2, OPND_SL, 2, TO_PUSH, 0, id) \
  FUSED_BIN1(sc_##id, 2, OPND_SC, 2, TO_PUSH, 0, id)
/* One compare-and-jump form of K wasm instructions: REL is the index of
 * the rel cell, CHECK is CHECKPOINT() at back-edges. */
#define FUSED_CJ1(name, K, CHECK, OPND, REL, WHEN, id) \
  XCASE(name) : {                                      \
    FUSED_GUARD(K);                                    \
    CHECK;                                             \
    uint64_t a, b;                                     \
    OPND;                                              \
    if (WHEN(wp_sem_##id(a, b))) NEXT(pc[REL].i64);    \
    NEXT(REL + 1);                                     \
  }
#define CJ_IF(x) (x)
#define CJ_UNLESS(x) (!(x))
#define CJ_FORMS(pre, CHECK, WHEN, id)                    \
  FUSED_CJ1(pre##s_##id, 2, CHECK, OPND_S, 1, WHEN, id)   \
  FUSED_CJ1(pre##ll_##id, 4, CHECK, OPND_LL, 2, WHEN, id) \
  FUSED_CJ1(pre##lc_##id, 4, CHECK, OPND_LC, 3, WHEN, id) \
  FUSED_CJ1(pre##sl_##id, 3, CHECK, OPND_SL, 2, WHEN, id) \
  FUSED_CJ1(pre##sc_##id, 3, CHECK, OPND_SC, 2, WHEN, id)
#define FUSED_CJ(X, id)                      \
  CJ_FORMS(j, (void)0, CJ_IF, id)            \
  CJ_FORMS(jb, CHECKPOINT(), CJ_IF, id)      \
  CJ_FORMS(ju, (void)0, CJ_UNLESS, id)
    XCASE(copy_local) : {
      FUSED_GUARD(2);
      fp[pc[2].u64] = fp[pc[1].u64];
      NEXT(3);
    }
    XCASE(get2) : {
      FUSED_GUARD(2);
      sp[0] = fp[pc[1].pair.a];
      sp[1] = fp[pc[1].pair.b];
      sp += 2;
      NEXT(2);
    }
    XCASE(set_local_const) : {
      FUSED_GUARD(2);
      fp[pc[2].u64] = pc[1].u64;
      NEXT(3);
    }
    WP_FUSED_BIN(FUSED_BIN, _)
    WP_FUSED_CMP_JUMP(FUSED_CJ, _)
#undef FUSED_BIN
#undef FUSED_CJ1
#undef CJ_IF
#undef CJ_UNLESS
#undef CJ_FORMS
#undef FUSED_CJ
/* Results into a local (fused.h). */
#define DEST_BIN(X, id)                                    \
  FUSED_BIN1(s_##id##_set, 2, OPND_S, 1, TO_SET, 1, id)    \
  FUSED_BIN1(s_##id##_tee, 2, OPND_S, 1, TO_TEE, 1, id)    \
  FUSED_BIN1(ll_##id##_set, 4, OPND_LL, 2, TO_SET, 1, id)  \
  FUSED_BIN1(ll_##id##_tee, 4, OPND_LL, 2, TO_TEE, 1, id)  \
  FUSED_BIN1(lc_##id##_set, 4, OPND_LC, 3, TO_SET, 1, id)  \
  FUSED_BIN1(lc_##id##_tee, 4, OPND_LC, 3, TO_TEE, 1, id)  \
  FUSED_BIN1(sl_##id##_set, 3, OPND_SL, 2, TO_SET, 1, id)  \
  FUSED_BIN1(sl_##id##_tee, 3, OPND_SL, 2, TO_TEE, 1, id)  \
  FUSED_BIN1(sc_##id##_set, 3, OPND_SC, 2, TO_SET, 1, id)  \
  FUSED_BIN1(sc_##id##_tee, 3, OPND_SC, 2, TO_TEE, 1, id)
    WP_FUSED_DEST_BIN_I32(DEST_BIN, _)
/* Loop steps (fused.h): x_ = the sum of OPND, stored to local X (cell XI),
 * compared with b. */
#define STEP1(name, CHECK, OPND, XI, BGET, id)       \
  XCASE(name) : {                                    \
    FUSED_GUARD(7);                                  \
    CHECK;                                           \
    uint64_t a, b;                                   \
    OPND;                                            \
    uint64_t x_ = wp_sem_i32_add(a, b);              \
    fp[pc[XI].u64] = x_;                             \
    if (wp_sem_##id(x_, BGET)) NEXT(pc[XI + 2].i64); \
    NEXT(XI + 3);                                    \
  }
#define STEP(X, id)                                                    \
  STEP1(sll_jsl_##id, (void)0, OPND_LL, 2, fp[pc[3].u64], id)         \
  STEP1(sll_jsc_##id, (void)0, OPND_LL, 2, pc[3].u64, id)             \
  STEP1(sll_jbsl_##id, CHECKPOINT(), OPND_LL, 2, fp[pc[3].u64], id)   \
  STEP1(sll_jbsc_##id, CHECKPOINT(), OPND_LL, 2, pc[3].u64, id)       \
  STEP1(slc_jsl_##id, (void)0, OPND_LC, 3, fp[pc[4].u64], id)         \
  STEP1(slc_jsc_##id, (void)0, OPND_LC, 3, pc[4].u64, id)             \
  STEP1(slc_jbsl_##id, CHECKPOINT(), OPND_LC, 3, fp[pc[4].u64], id)   \
  STEP1(slc_jbsc_##id, CHECKPOINT(), OPND_LC, 3, pc[4].u64, id)
    WP_FUSED_STEP(STEP, _)
#endif /* LOOP_FUSED || LOOP_STEP */

    /* ---- the other superinstructions (only with LOOP_FUSED) ---- */
#if LOOP_FUSED
#define FUSED_LOAD(X, id)                                                    \
  XCASE(l_##id) : {                                                          \
    uint64_t ea = (uint64_t)(uint32_t)fp[pc[1].u64] + pc[2].u64;             \
    if (WP_UNLIKELY(ea + WP_WIDTH_##id > mem_size)) {                        \
      *sp++ = fp[pc[1].u64]; /* the stack as the load saw it (fused.h) */    \
      TRAP(WP_TRAP_MEMORY_OOB);                                              \
    }                                                                        \
    *sp++ = wp_load_##id(mem_base + ea);                                     \
    NEXT(3);                                                                 \
  }
    WP_FUSED_LOAD(FUSED_LOAD, _)
#undef FUSED_LOAD
#define FUSED_STORE1(name, id, VAL)                                          \
  XCASE(name) : {                                                            \
    uint64_t val = VAL;                                                      \
    uint64_t ea = (uint64_t)(uint32_t)sp[-1] + pc[2].u64;                    \
    if (WP_UNLIKELY(ea + WP_WIDTH_##id > mem_size)) {                        \
      *sp++ = val; /* the stack as the store saw it (fused.h) */             \
      TRAP(WP_TRAP_MEMORY_OOB);                                              \
    }                                                                        \
    wp_store_##id(mem_base + ea, val);                                       \
    sp--;                                                                    \
    NEXT(3);                                                                 \
  }
#define FUSED_STORE(X, id)                   \
  FUSED_STORE1(sl_##id, id, fp[pc[1].u64])   \
  FUSED_STORE1(sc_##id, id, pc[1].u64)
    WP_FUSED_STORE(FUSED_STORE, _)
#undef FUSED_STORE
#undef FUSED_STORE1
    WP_FUSED_DEST_BIN_OTHER(DEST_BIN, _)
/* Results into memory (fused.h): the address is below the operands; the
 * result is written by the store of its type. */
#define STORE_BIN1(name, OPND, LEN, id)                                  \
  XCASE(name) : {                                                        \
    uint64_t a, b;                                                       \
    OPND;                                                                \
    uint64_t r_ = wp_sem_##id(a, b);                                     \
    uint64_t ea = (uint64_t)(uint32_t)sp[-1] + pc[LEN].u64;              \
    if (WP_UNLIKELY(ea + WP_RESULT_WIDTH_##id > mem_size)) {             \
      *sp++ = r_; /* the stack as the store saw it */                    \
      TRAP(WP_TRAP_MEMORY_OOB);                                          \
    }                                                                    \
    wp_result_store_##id(mem_base + ea, r_);                             \
    sp--;                                                                \
    NEXT(LEN + 1);                                                       \
  }
#define STORE_BIN(X, id)                              \
  STORE_BIN1(s_##id##_store, OPND_S, 1, id)           \
  STORE_BIN1(ll_##id##_store, OPND_LL, 2, id)         \
  STORE_BIN1(lc_##id##_store, OPND_LC, 3, id)         \
  STORE_BIN1(sl_##id##_store, OPND_SL, 2, id)         \
  STORE_BIN1(sc_##id##_store, OPND_SC, 2, id)
    WP_FUSED_STORE_BIN(STORE_BIN, _)
#undef STORE_BIN1
#undef STORE_BIN
/* A load into a local: the address from the stack (plain) or a local (l_);
 * a trap leaves the stack as the load saw it, as FUSED_LOAD does. */
#define DEST_LOAD1(name, ADDR, PUSH_ON_TRAP, POP, LEN, TO, id)   \
  XCASE(name) : {                                                 \
    uint64_t ea = (uint64_t)(uint32_t)(ADDR) + pc[LEN - 1].u64;   \
    if (WP_UNLIKELY(ea + WP_WIDTH_##id > mem_size)) {             \
      PUSH_ON_TRAP;                                               \
      TRAP(WP_TRAP_MEMORY_OOB);                                   \
    }                                                             \
    uint64_t v_ = wp_load_##id(mem_base + ea);                    \
    POP;                                                          \
    TO(v_, LEN);                                                  \
    NEXT(LEN + 1);                                                \
  }
#define DEST_LOAD(X, id)                                                                   \
  DEST_LOAD1(id##_set, sp[-1], (void)0, sp--, 2, TO_SET, id)                               \
  DEST_LOAD1(id##_tee, sp[-1], (void)0, sp--, 2, TO_TEE, id)                               \
  DEST_LOAD1(l_##id##_set, fp[pc[1].u64], *sp++ = fp[pc[1].u64], (void)0, 3, TO_SET, id)   \
  DEST_LOAD1(l_##id##_tee, fp[pc[1].u64], *sp++ = fp[pc[1].u64], (void)0, 3, TO_TEE, id)
    WP_FUSED_DEST_LOAD(DEST_LOAD, _)
/* Accesses at a sum (fused.h): s_, the i32.add of OPND; OFF is the offset
 * cell; a trap pushes s_ back. */
#define ADDR_LOAD1(name, OPND, OFF, TO, EXTRA, id)             \
  XCASE(name) : {                                              \
    uint64_t a, b;                                             \
    OPND;                                                      \
    uint64_t s_ = wp_sem_i32_add(a, b);                        \
    uint64_t ea = s_ + pc[OFF].u64;                            \
    if (WP_UNLIKELY(ea + WP_WIDTH_##id > mem_size)) {          \
      *sp++ = s_;                                              \
      TRAP(WP_TRAP_MEMORY_OOB);                                \
    }                                                          \
    TO(wp_load_##id(mem_base + ea), OFF + 1);                  \
    NEXT(OFF + 1 + EXTRA);                                     \
  }
#define ADDR_LOAD_DESTS(pre, OPND, OFF, id)                \
  ADDR_LOAD1(pre, OPND, OFF, TO_PUSH, 0, id)               \
  ADDR_LOAD1(pre##_set, OPND, OFF, TO_SET, 1, id)          \
  ADDR_LOAD1(pre##_tee, OPND, OFF, TO_TEE, 1, id)
#define ADDR_LOAD(X, id)                          \
  ADDR_LOAD_DESTS(as_##id, OPND_S, 1, id)         \
  ADDR_LOAD_DESTS(all_##id, OPND_LL, 2, id)       \
  ADDR_LOAD_DESTS(alc_##id, OPND_LC, 3, id)       \
  ADDR_LOAD_DESTS(asl_##id, OPND_SL, 2, id)       \
  ADDR_LOAD_DESTS(asc_##id, OPND_SC, 2, id)
    WP_FUSED_ADDR_LOAD(ADDR_LOAD, _)
/* A store of a local or constant at a sum of locals/constant: VAL is the
 * value's cell index, the offset follows it. */
#define ADDR_STORE1(name, OPND, VAL, VALUE, id)                        \
  XCASE(name) : {                                                      \
    uint64_t a, b;                                                     \
    OPND;                                                              \
    uint64_t s_ = wp_sem_i32_add(a, b);                                \
    uint64_t val = VALUE;                                              \
    uint64_t ea = s_ + pc[VAL + 1].u64;                                \
    if (WP_UNLIKELY(ea + WP_WIDTH_##id > mem_size)) {                  \
      *sp++ = s_;                                                      \
      *sp++ = val; /* the stack as the store saw it */                 \
      TRAP(WP_TRAP_MEMORY_OOB);                                        \
    }                                                                  \
    wp_store_##id(mem_base + ea, val);                                 \
    NEXT(VAL + 2);                                                     \
  }
#define ADDR_STORE(X, id)                                     \
  ADDR_STORE1(all_sl_##id, OPND_LL, 2, fp[pc[2].u64], id)     \
  ADDR_STORE1(all_sc_##id, OPND_LL, 2, pc[2].u64, id)         \
  ADDR_STORE1(alc_sl_##id, OPND_LC, 3, fp[pc[3].u64], id)     \
  ADDR_STORE1(alc_sc_##id, OPND_LC, 3, pc[3].u64, id)
    WP_FUSED_ADDR_STORE(ADDR_STORE, _)
#undef ADDR_LOAD1
#undef ADDR_LOAD_DESTS
#undef ADDR_LOAD
#undef ADDR_STORE1
#undef ADDR_STORE
#undef DEST_LOAD1
#undef DEST_LOAD
#endif /* LOOP_FUSED */
#undef STEP1
#undef STEP
#undef TO_PUSH
#undef TO_SET
#undef TO_TEE
#undef FUSED_BIN1
#undef OPND_S
#undef OPND_LL
#undef OPND_LC
#undef OPND_SL
#undef OPND_SC
#undef DEST_BIN

    /* ---- tables ---- */
    CASE(table_get) : {
      const wp_table *t = inst->tables[IMM(1)];
      uint32_t i = I32 sp[-1];
      if (i >= t->size) TRAP(WP_TRAP_TABLE_OOB);
      sp[-1] = t->elems[i];
      NEXT(2);
    }
    CASE(table_set) : {
      wp_table *t = inst->tables[IMM(1)];
      uint32_t i = I32 sp[-2];
      if (i >= t->size) TRAP(WP_TRAP_TABLE_OOB);
      if (!wp_table_store(t, i, sp[-1])) TRAP(WP_TRAP_TABLE_OOB);
      sp -= 2;
      NEXT(2);
    }
    CASE(table_size) : {
      *sp++ = inst->tables[IMM(1)]->size;
      NEXT(2);
    }
    CASE(table_grow) : {
      int64_t old = wp_table_grow_by(inst->tables[IMM(1)], I32 sp[-1], sp[-2]);
      sp[-2] = (uint32_t)(int32_t)old;
      sp--;
      NEXT(2);
    }
    CASE(table_fill) : {
      wp_table *t = inst->tables[IMM(1)];
      uint32_t n = I32 sp[-1], i = I32 sp[-3];
      wp_slot v = sp[-2];
      sp -= 3;
      if ((uint64_t)i + n > t->size) TRAP(WP_TRAP_TABLE_OOB);
      for (uint32_t k = 0; k < n; k++) wp_table_store(t, i + k, v);
      NEXT(2);
    }
    CASE(table_init) : {
      uint32_t n = I32 sp[-1], s = I32 sp[-2], d = I32 sp[-3];
      sp -= 3;
      if (wp_table_init_segment(inst, (uint32_t)IMM(2), (uint32_t)IMM(1), d, s, n)) TRAP(WP_TRAP_TABLE_OOB);
      NEXT(3);
    }
    CASE(elem_drop) : {
      inst->elem_dropped[IMM(1)] = 1;
      NEXT(2);
    }
    CASE(table_copy) : {
      wp_table *dt = inst->tables[IMM(1)], *st = inst->tables[IMM(2)];
      uint32_t n = I32 sp[-1], s = I32 sp[-2], d = I32 sp[-3];
      sp -= 3;
      if ((uint64_t)s + n > st->size || (uint64_t)d + n > dt->size) TRAP(WP_TRAP_TABLE_OOB);
      if (dt == st) {
        memmove(dt->elems + d, st->elems + s, n * sizeof(wp_slot));
      } else {
        for (uint32_t k = 0; k < n; k++) wp_table_store(dt, d + k, st->elems[s + k]);
      }
      NEXT(3);
    }

    /* ---- references ---- */
    CASE(ref_null) : {
      *sp++ = 0;
      NEXT(1);
    }
    CASE(ref_is_null) : {
      sp[-1] = sp[-1] == 0;
      NEXT(1);
    }
    CASE(ref_func) : {
      *sp++ = (wp_slot)(uintptr_t)inst->funcs[IMM(1)];
      NEXT(2);
    }

    /* ---- memory ---- */
    CASE(memory_size) : {
      *sp++ = (uint32_t)(mem_size / WP_PAGE_SIZE);
      NEXT(1);
    }
    CASE(memory_grow) : {
      int64_t old = wp_memory_grow_pages(mem, I32 sp[-1]);
      sp[-1] = (uint32_t)(int32_t)old;
      mem_size = mem->size;
      NEXT(1);
    }
    CASE(memory_fill) : {
      uint32_t n = I32 sp[-1], v = I32 sp[-2], d = I32 sp[-3];
      sp -= 3;
      if ((uint64_t)d + n > mem_size) TRAP(WP_TRAP_MEMORY_OOB);
      memset(mem_base + d, (int)(v & 0xff), n);
      HOOK_STORED((uint64_t)d, n);
      NEXT(1);
    }
    CASE(memory_copy) : {
      uint32_t n = I32 sp[-1], s = I32 sp[-2], d = I32 sp[-3];
      sp -= 3;
      if ((uint64_t)s + n > mem_size || (uint64_t)d + n > mem_size) TRAP(WP_TRAP_MEMORY_OOB);
      memmove(mem_base + d, mem_base + s, n);
      HOOK_STORED((uint64_t)d, n);
      NEXT(1);
    }
    CASE(memory_init) : {
      uint32_t n = I32 sp[-1], s = I32 sp[-2], d = I32 sp[-3];
      sp -= 3;
      const wp_data_desc *seg = &inst->module->datas[IMM(1)];
      uint32_t len = inst->data_dropped[IMM(1)] ? 0 : seg->data_len;
      if ((uint64_t)s + n > len || (uint64_t)d + n > mem_size) TRAP(WP_TRAP_MEMORY_OOB);
      memcpy(mem_base + d, inst->module->bytes + seg->data_start + s, n);
      HOOK_STORED((uint64_t)d, n);
      NEXT(2);
    }
    CASE(data_drop) : {
      inst->data_dropped[IMM(1)] = 1;
      NEXT(2);
    }

    /* ---- instructions with semantics in opcodes.def (semantics.h): one
     * handler per row, by kind; OWN ones are the others here ---- */
#define H_OWN(ident, ...)
#define H_CONST(ident, ...) \
  CASE(ident) : {           \
    *sp++ = IMM(1);         \
    NEXT(2);                \
  }
#define H_SAME(ident, ...) \
  CASE(ident) : NEXT(1);
#define H_UN(ident, ...)                  \
  CASE(ident) : {                         \
    sp[-1] = wp_sem_##ident(sp[-1]);      \
    NEXT(1);                              \
  }
#define H_BIN(ident, ...)                         \
  CASE(ident) : {                                 \
    sp[-2] = wp_sem_##ident(sp[-2], sp[-1]);      \
    sp--;                                         \
    NEXT(1);                                      \
  }
#define H_UN_TRAPS(ident, ...)                                \
  CASE(ident) : {                                             \
    wp_trap_kind t_ = wp_sem_trap_##ident(sp[-1]);            \
    if (t_) TRAP(t_);                                         \
    sp[-1] = wp_sem_##ident(sp[-1]);                          \
    NEXT(1);                                                  \
  }
#define H_BIN_TRAPS(ident, ...)                               \
  CASE(ident) : {                                             \
    wp_trap_kind t_ = wp_sem_trap_##ident(sp[-2], sp[-1]);    \
    if (t_) TRAP(t_);                                         \
    sp[-2] = wp_sem_##ident(sp[-2], sp[-1]);                  \
    sp--;                                                     \
    NEXT(1);                                                  \
  }
#define H_LOAD(ident, ...)                          \
  CASE(ident) : {                                   \
    EA(WP_WIDTH_##ident, sp[-1]);                   \
    sp[-1] = wp_load_##ident(mem_base + ea);        \
    NEXT(2);                                        \
  }
#define H_STORE(ident, ...)                         \
  CASE(ident) : {                                   \
    EA(WP_WIDTH_##ident, sp[-2]);                   \
    wp_store_##ident(mem_base + ea, sp[-1]);        \
    sp -= 2;                                        \
    HOOK_STORED(ea, WP_WIDTH_##ident);              \
    NEXT(2);                                        \
  }
#define OP(byte, name, ident, imm, sig, sem) WP_SEM(H_, ident, WP_SEM_##sem)
#define OPFC(sub, name, ident, imm, sig, sem) WP_SEM(H_, ident, WP_SEM_##sem)
#include "opcodes.def"
#undef OP
#undef OPFC
#undef H_OWN
#undef H_CONST
#undef H_SAME
#undef H_UN
#undef H_BIN
#undef H_UN_TRAPS
#undef H_BIN_TRAPS
#undef H_LOAD
#undef H_STORE

    /* Structured control is resolved by the translator and never emitted. */
    CASE(nop) :
    CASE(block) :
    CASE(loop) :
    CASE(if) :
    CASE(else) :
    CASE(end) :
    CASE(br) :
    CASE(br_if) :
    CASE(br_table) :
    CASE(return) :
    CASE(select_t) :
#if !WP_COMPUTED_GOTO
    default:
#endif
      TRAP(WP_TRAP_UNREACHABLE);
  }

do_call : {
  const wp_functype *ft = callee->type;
  wp_slot *args = sp - ft->nparams;
  frame->pc = pc;
  frame->sp = args;
#if LOOP_STEP
  CHECKPOINT(); /* checked at the next instruction, the callee's first or the one after a host call */
#else
  if (INTERRUPT_PENDING()) {
    /* call_indirect has popped its index already: resume after the check, not before */
    HOOK_TICKS_OUT();
    if (wp_exec_checkpoint(ex, err)) return -1;
    HOOK_TICKS_IN();
    LOAD_MEMORY(); /* the host may have let other code grow it */
  }
#endif
  if (ex->nframes >= ex->max_frames) TRAP(WP_TRAP_STACK_EXHAUSTED);
  if (callee->host) {
    uint32_t room = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    if (args + room > ex->stack_end) TRAP(WP_TRAP_STACK_EXHAUSTED);
    wp_frame *hf = &ex->frames[ex->nframes++];
    *hf = (wp_frame){.func = callee, .pc = NULL, .fp = args, .sp = args + room};
    wp_slot *saved_sp = ex->sp;
    ex->sp = args + room;
    HOOK_HOST_ENTER(callee);
    HOOK_TICKS_OUT();
    int rc = HOST_CALL(callee, args);
    HOOK_TICKS_IN();
    ex->sp = saved_sp;
    if (rc) return -1; /* the host frame stays, visible to whoever reads the stack after the failure */
    ex->nframes--;
    HOOK_HOST_LEAVE();
    sp = args + ft->nresults;
    LOAD_MEMORY();
    NEXT(WP_CALL_CELLS);
  }
  const wp_code *code = WP_FUNC_CODE(callee);
  if (WP_UNLIKELY(!code || HOOK_CODE_STALE(code))) {
    code = wp_func_code(callee, LOOP_VARIANT, &ex->cost, err);
    if (!code) {
      HOOK_TICKS_OUT();
      return -1;
    }
  }
  HOOK_CODE(code);
  if (args + code->max_height > ex->stack_end) TRAP(WP_TRAP_STACK_EXHAUSTED);
  frame = &ex->frames[ex->nframes++];
  frame->func = callee;
  frame->pc = NULL;
  frame->fp = args;
  frame->sp = NULL;
  func = callee;
  fp = args;
  sp = fp + code->nlocals;
  wp_zero_locals(fp + code->nparams, sp);
  pc = code->cells;
  if (callee->inst != inst) {
    inst = callee->inst;
    LOAD_MEMORY();
  }
  HOOK_ENTER(callee);
  DISPATCH();
}

#if LOOP_STEP
/* Countdown expired before the instruction at pc (not run yet).  A tick
 * is no place to stop: run it and check at the instruction after it. */
do_step_check:
  frame->pc = pc;
  frame->sp = sp;
  if (pc->handler == handlers[WP_XOP_tick] || pc->handler == handlers[WP_XOP_tick_back]) {
    countdown = 0; /* the tick adds one back, its NEXT takes it: the check comes at the next instruction */
    DISPATCH_TO(pc->handler);
  }
  countdown = wp_debug_check(ex);
  if (!countdown) return 1;
  LOAD_MEMORY(); /* the host may have let other code grow it */
  DISPATCH_TO(pc->handler);

/* A superinstruction that cannot run whole: its first instruction in the
 * unfused copy, whose dispatch the superinstruction's counted already. */
do_unfuse:
  pc = wp_debug_unfused(func, pc);
  DISPATCH_TO(pc->handler);

do_break:
  frame->pc = pc;
  frame->sp = sp;
  countdown = wp_debug_break(ex, countdown);
  if (!countdown) return 1;
  DISPATCH_TO(wp_debug_handler(pc));
#else
do_checkpoint:
  frame->pc = pc;
  frame->sp = sp;
  HOOK_TICKS_OUT();
  if (wp_exec_checkpoint(ex, err)) {
    HOOK_TRAP(); /* stopped before this instruction's successors: take their ticks back */
    return -1;
  }
  HOOK_TICKS_IN();
  LOAD_MEMORY(); /* the host may have let other code grow it */
  DISPATCH();
#endif

do_trap:
  frame->pc = pc;
  frame->sp = sp;
  HOOK_TICKS_OUT();
  HOOK_TRAP();
  wp_trap(err, trap);
  if (err) {
    err->func = func->index;
    err->offset = wp_code_offset(wp_code_holding(func, LOOP_VARIANT, pc), pc);
  }
  return -1;

#undef CASE
#undef XCASE
#undef DISPATCH
#undef DISPATCH_TO
#undef LOAD_MEMORY
#undef NEXT
#undef TRAP
#undef IMM
#undef CHECKPOINT
#undef FUSED_GUARD
#undef INTERRUPT_PENDING
#undef TOP
#undef I32
#undef EA
}

#undef HOOK_ENTER
#undef HOOK_LEAVE
#undef HOOK_HOST_ENTER
#undef HOOK_HOST_LEAVE
#undef HOOK_TICK
#undef HOOK_BLOCK_RUN
#undef HOOK_CODE_STALE
#undef HOOK_CODE
#undef HOOK_TRAP
#undef HOOK_RETURNED
#undef HOOK_STORED
#undef HOOK_GLOBAL_SET
#undef HOST_CALL
#undef HOOK_TICKS_OUT
#undef HOOK_TICKS_IN
#undef LOOP_STEP
#undef LOOP_TICKED
#undef LOOP_LOCALS
#undef LOOP_FN
#undef LOOP_VARIANT
#undef LOOP_FUSED
