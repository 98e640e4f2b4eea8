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
 *
 * int LOOP_FN(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels)
 * runs the frame on top of ex's frame stack until it returns to frame
 * count `base`.  Called with ex == NULL it only stores its handler table.
 *
 * Hot state lives in locals: pc, sp, fp, the current instance and its
 * memory's base and size.  pc and sp are written back to the frame at
 * calls, host calls and traps (the only times anyone else looks). */

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
#define OP(byte, name, ident, imm, sig) [WP_OP_##ident] = &&L_##ident,
#define OPFC(sub, name, ident, imm, sig) [WP_OP_##ident] = &&L_##ident,
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
#define OP(byte, name, ident, imm, sig) [WP_OP_##ident] = (const void *)(uintptr_t)WP_OP_##ident,
#define OPFC(sub, name, ident, imm, sig) [WP_OP_##ident] = (const void *)(uintptr_t)WP_OP_##ident,
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
#define S32 (int32_t)
#define S64 (int64_t)

  LOAD_MEMORY();
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
    for (wp_slot *p = fp + code->nparams; p < sp; p++) *p = 0;
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
/* Binary operators: a = second from top, b = top. */
#define BIN(ident, ta, tr, expr)        \
  CASE(ident) : {                       \
    ta b = (ta)sp[-1], a = (ta)sp[-2];  \
    sp[-2] = (tr)(expr);                \
    sp--;                               \
    NEXT(1);                            \
  }
#define UN(ident, ta, tr, expr) \
  CASE(ident) : {               \
    ta a = (ta)sp[-1];          \
    sp[-1] = (tr)(expr);        \
    NEXT(1);                    \
  }
#define BINF32(ident, expr)                          \
  CASE(ident) : {                                    \
    float b = wp_f32(sp[-1]), a = wp_f32(sp[-2]);    \
    sp[-2] = wp_from_f32(expr);                      \
    sp--;                                            \
    NEXT(1);                                         \
  }
#define BINF64(ident, expr)                          \
  CASE(ident) : {                                    \
    double b = wp_f64(sp[-1]), a = wp_f64(sp[-2]);   \
    sp[-2] = wp_from_f64(expr);                      \
    sp--;                                            \
    NEXT(1);                                         \
  }
#define CMPF32(ident, op)                            \
  CASE(ident) : {                                    \
    float b = wp_f32(sp[-1]), a = wp_f32(sp[-2]);    \
    sp[-2] = (uint32_t)(a op b);                     \
    sp--;                                            \
    NEXT(1);                                         \
  }
#define CMPF64(ident, op)                            \
  CASE(ident) : {                                    \
    double b = wp_f64(sp[-1]), a = wp_f64(sp[-2]);   \
    sp[-2] = (uint32_t)(a op b);                     \
    sp--;                                            \
    NEXT(1);                                         \
  }
#define UNF32(ident, expr)       \
  CASE(ident) : {                \
    float a = wp_f32(sp[-1]);    \
    sp[-1] = wp_from_f32(expr);  \
    NEXT(1);                     \
  }
#define UNF64(ident, expr)       \
  CASE(ident) : {                \
    double a = wp_f64(sp[-1]);   \
    sp[-1] = wp_from_f64(expr);  \
    NEXT(1);                     \
  }

/* Memory access: effective address = i32 operand + static offset; one
 * compare against the current size (offset < 2^32, so no overflow). */
#define EA(n, addr_slot)                                  \
  uint64_t ea = (uint64_t)(uint32_t)(addr_slot) + IMM(1); \
  if (WP_UNLIKELY(ea + (n) > mem_size)) TRAP(WP_TRAP_MEMORY_OOB);
#define LOAD(ident, ctype, n, conv)  \
  CASE(ident) : {                    \
    EA(n, sp[-1]);                   \
    ctype v;                         \
    memcpy(&v, mem_base + ea, n);    \
    sp[-1] = conv;                   \
    NEXT(2);                         \
  }
#define STORE(ident, ctype, n)       \
  CASE(ident) : {                    \
    EA(n, sp[-2]);                   \
    ctype v = (ctype)sp[-1];         \
    memcpy(mem_base + ea, &v, n);    \
    sp -= 2;                         \
    HOOK_STORED(ea, n);              \
    NEXT(2);                         \
  }
/* Trapping float-to-int truncation. */
#define TRUNC(ident, getf, fits, ctype, rtype)                    \
  CASE(ident) : {                                                 \
    double x = (double)getf(sp[-1]);                              \
    if (isnan(x)) TRAP(WP_TRAP_INVALID_CONVERSION);               \
    if (!fits(x)) TRAP(WP_TRAP_INT_OVERFLOW);                     \
    sp[-1] = (rtype)(ctype)x;                                     \
    NEXT(1);                                                      \
  }

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
      if (--ex->nframes == base) return 0;
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
#define FUSED_BIN(X, id, ct, g, p, e)                               \
  XCASE(ll_##id) : {                                                \
    FUSED_GUARD(3);                                                 \
    ct a = g(fp[pc[1].pair.a]), b = g(fp[pc[1].pair.b]);            \
    *sp++ = p(e);                                                   \
    NEXT(2);                                                        \
  }                                                                 \
  XCASE(lc_##id) : {                                                \
    FUSED_GUARD(3);                                                 \
    ct a = g(fp[pc[1].u64]), b = g(pc[2].u64);                      \
    *sp++ = p(e);                                                   \
    NEXT(3);                                                        \
  }                                                                 \
  XCASE(sl_##id) : {                                                \
    FUSED_GUARD(2);                                                 \
    ct a = g(sp[-1]), b = g(fp[pc[1].u64]);                         \
    sp[-1] = p(e);                                                  \
    NEXT(2);                                                        \
  }                                                                 \
  XCASE(sc_##id) : {                                                \
    FUSED_GUARD(2);                                                 \
    ct a = g(sp[-1]), b = g(pc[1].u64);                             \
    sp[-1] = p(e);                                                  \
    NEXT(2);                                                        \
  }
/* One compare-and-jump form of K wasm instructions: GETAB loads a and b
 * and pops what they used, REL is the index of the rel cell, CHECK is
 * CHECKPOINT() at back-edges. */
#define FUSED_CJ1(name, K, CHECK, GETAB, REL, WHEN, e) \
  XCASE(name) : {                                      \
    FUSED_GUARD(K);                                    \
    CHECK;                                             \
    uint32_t a, b;                                     \
    GETAB;                                             \
    if (WHEN(e)) NEXT(pc[REL].i64);                    \
    NEXT(REL + 1);                                     \
  }
#define CJ_S a = I32 sp[-2], b = I32 sp[-1], sp -= 2
#define CJ_LL a = I32 fp[pc[1].pair.a], b = I32 fp[pc[1].pair.b]
#define CJ_LC a = I32 fp[pc[1].u64], b = I32 pc[2].u64
#define CJ_SL a = I32 sp[-1], b = I32 fp[pc[1].u64], sp -= 1
#define CJ_SC a = I32 sp[-1], b = I32 pc[1].u64, sp -= 1
#define CJ_IF(x) (x)
#define CJ_UNLESS(x) (!(x))
#define CJ_FORMS(pre, CHECK, WHEN, id, e)                    \
  FUSED_CJ1(pre##s_##id, 2, CHECK, CJ_S, 1, WHEN, e)         \
  FUSED_CJ1(pre##ll_##id, 4, CHECK, CJ_LL, 2, WHEN, e)       \
  FUSED_CJ1(pre##lc_##id, 4, CHECK, CJ_LC, 3, WHEN, e)       \
  FUSED_CJ1(pre##sl_##id, 3, CHECK, CJ_SL, 2, WHEN, e)       \
  FUSED_CJ1(pre##sc_##id, 3, CHECK, CJ_SC, 2, WHEN, e)
#define FUSED_CJ(X, id, e)                        \
  CJ_FORMS(j, (void)0, CJ_IF, id, e)              \
  CJ_FORMS(jb, CHECKPOINT(), CJ_IF, id, e)        \
  CJ_FORMS(ju, (void)0, CJ_UNLESS, id, e)
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
    WP_FUSED_BINOPS(FUSED_BIN, _)
    WP_FUSED_CMPS(FUSED_CJ, _)
#undef FUSED_BIN
#undef FUSED_CJ1
#undef CJ_S
#undef CJ_LL
#undef CJ_LC
#undef CJ_SL
#undef CJ_SC
#undef CJ_IF
#undef CJ_UNLESS
#undef CJ_FORMS
#undef FUSED_CJ
/* Results into a local (fused.h): GET pops the stack operands into a and b,
 * LEN is the producer's length in cells, the local's index comes after. */
#define TO_SET(r, at) fp[pc[at].u64] = (r)
#define TO_TEE(r, at)            \
  do {                           \
    uint64_t r_ = (r);           \
    fp[pc[at].u64] = r_;         \
    *sp++ = r_;                  \
  } while (0)
#define DEST_BIN1(name, K, GET, LEN, TO, ct, g, p, e) \
  XCASE(name) : {                                     \
    FUSED_GUARD(K);                                   \
    ct a, b;                                          \
    GET;                                           \
    TO(p(e), LEN);                                 \
    NEXT(LEN + 1);                                 \
  }
#define DB_S(g) b = g(sp[-1]), a = g(sp[-2]), sp -= 2
#define DB_LL(g) a = g(fp[pc[1].pair.a]), b = g(fp[pc[1].pair.b])
#define DB_LC(g) a = g(fp[pc[1].u64]), b = g(pc[2].u64)
#define DB_SL(g) a = g(sp[-1]), b = g(fp[pc[1].u64]), sp -= 1
#define DB_SC(g) a = g(sp[-1]), b = g(pc[1].u64), sp -= 1
#define DEST_BIN(X, id, ct, g, p, e)                               \
  DEST_BIN1(s_##id##_set, 2, DB_S(g), 1, TO_SET, ct, g, p, e)         \
  DEST_BIN1(s_##id##_tee, 2, DB_S(g), 1, TO_TEE, ct, g, p, e)         \
  DEST_BIN1(ll_##id##_set, 4, DB_LL(g), 2, TO_SET, ct, g, p, e)       \
  DEST_BIN1(ll_##id##_tee, 4, DB_LL(g), 2, TO_TEE, ct, g, p, e)       \
  DEST_BIN1(lc_##id##_set, 4, DB_LC(g), 3, TO_SET, ct, g, p, e)       \
  DEST_BIN1(lc_##id##_tee, 4, DB_LC(g), 3, TO_TEE, ct, g, p, e)       \
  DEST_BIN1(sl_##id##_set, 3, DB_SL(g), 2, TO_SET, ct, g, p, e)       \
  DEST_BIN1(sl_##id##_tee, 3, DB_SL(g), 2, TO_TEE, ct, g, p, e)       \
  DEST_BIN1(sc_##id##_set, 3, DB_SC(g), 2, TO_SET, ct, g, p, e)       \
  DEST_BIN1(sc_##id##_tee, 3, DB_SC(g), 2, TO_TEE, ct, g, p, e)
    WP_FUSED_BINOPS_I32(DEST_BIN, _)
/* Loop steps (fused.h): x = the sum, stored to local X, compared with b. */
#define STEP1(name, CHECK, XGET, XI, BGET, e) \
  XCASE(name) : {                             \
    FUSED_GUARD(7);                           \
    CHECK;                                    \
    uint32_t x_ = XGET;                       \
    fp[pc[XI].u64] = x_;                      \
    uint32_t a = x_, b = BGET;                \
    if (e) NEXT(pc[XI + 2].i64);              \
    NEXT(XI + 3);                             \
  }
#define S_LL I32 fp[pc[1].pair.a] + I32 fp[pc[1].pair.b]
#define S_LC I32 fp[pc[1].u64] + I32 pc[2].u64
#define STEP(X, id, e)                                                    \
  STEP1(sll_jsl_##id, (void)0, S_LL, 2, I32 fp[pc[3].u64], e)            \
  STEP1(sll_jsc_##id, (void)0, S_LL, 2, I32 pc[3].u64, e)                \
  STEP1(sll_jbsl_##id, CHECKPOINT(), S_LL, 2, I32 fp[pc[3].u64], e)      \
  STEP1(sll_jbsc_##id, CHECKPOINT(), S_LL, 2, I32 pc[3].u64, e)          \
  STEP1(slc_jsl_##id, (void)0, S_LC, 3, I32 fp[pc[4].u64], e)            \
  STEP1(slc_jsc_##id, (void)0, S_LC, 3, I32 pc[4].u64, e)                \
  STEP1(slc_jbsl_##id, CHECKPOINT(), S_LC, 3, I32 fp[pc[4].u64], e)      \
  STEP1(slc_jbsc_##id, CHECKPOINT(), S_LC, 3, I32 pc[4].u64, e)
    WP_FUSED_CMPS(STEP, _)
#endif /* LOOP_FUSED || LOOP_STEP */

    /* ---- the other superinstructions (only with LOOP_FUSED) ---- */
#if LOOP_FUSED
#define FUSED_LOAD(X, id, ctype, n, conv)                                    \
  XCASE(l_##id) : {                                                          \
    uint64_t ea = (uint64_t)(uint32_t)fp[pc[1].u64] + pc[2].u64;             \
    if (WP_UNLIKELY(ea + (n) > mem_size)) {                                  \
      *sp++ = fp[pc[1].u64]; /* the stack as the load saw it (fused.h) */    \
      TRAP(WP_TRAP_MEMORY_OOB);                                              \
    }                                                                        \
    ctype v;                                                                 \
    memcpy(&v, mem_base + ea, n);                                            \
    *sp++ = conv;                                                            \
    NEXT(3);                                                                 \
  }
    WP_FUSED_LOADS(FUSED_LOAD, _)
#undef FUSED_LOAD
#define FUSED_STORE1(name, ctype, n, VAL)                                    \
  XCASE(name) : {                                                            \
    uint64_t val = VAL;                                                      \
    uint64_t ea = (uint64_t)(uint32_t)sp[-1] + pc[2].u64;                    \
    if (WP_UNLIKELY(ea + (n) > mem_size)) {                                  \
      *sp++ = val; /* the stack as the store saw it (fused.h) */             \
      TRAP(WP_TRAP_MEMORY_OOB);                                              \
    }                                                                        \
    ctype v = (ctype)val;                                                    \
    memcpy(mem_base + ea, &v, n);                                            \
    sp--;                                                                    \
    NEXT(3);                                                                 \
  }
#define FUSED_STORE(X, id, ctype, n)                     \
  FUSED_STORE1(sl_##id, ctype, n, fp[pc[1].u64])         \
  FUSED_STORE1(sc_##id, ctype, n, pc[1].u64)
    WP_FUSED_STORES(FUSED_STORE, _)
#undef FUSED_STORE
#undef FUSED_STORE1
    WP_FUSED_BINOPS_OTHER(DEST_BIN, _)
/* Results into memory (fused.h): the address is below the operands. */
#define STORE_BIN1(name, GET, LEN, W, ct, g, p, e)              \
  XCASE(name) : {                                               \
    ct a, b;                                                    \
    GET;                                                        \
    uint64_t r_ = p(e);                                         \
    uint64_t ea = (uint64_t)(uint32_t)sp[-1] + pc[LEN].u64;     \
    if (WP_UNLIKELY(ea + (W) > mem_size)) {                     \
      *sp++ = r_; /* the stack as the store saw it */           \
      TRAP(WP_TRAP_MEMORY_OOB);                                 \
    }                                                           \
    if ((W) == 4) {                                             \
      uint32_t v_ = (uint32_t)r_;                               \
      memcpy(mem_base + ea, &v_, 4);                            \
    } else {                                                    \
      memcpy(mem_base + ea, &r_, 8);                            \
    }                                                           \
    sp--;                                                       \
    NEXT(LEN + 1);                                              \
  }
#define STORE_BIN_W(X, id, W, ct, g, p, e)                     \
  STORE_BIN1(s_##id##_store, DB_S(g), 1, W, ct, g, p, e)       \
  STORE_BIN1(ll_##id##_store, DB_LL(g), 2, W, ct, g, p, e)     \
  STORE_BIN1(lc_##id##_store, DB_LC(g), 3, W, ct, g, p, e)     \
  STORE_BIN1(sl_##id##_store, DB_SL(g), 2, W, ct, g, p, e)     \
  STORE_BIN1(sc_##id##_store, DB_SC(g), 2, W, ct, g, p, e)
#define STORE_BIN_W_(X, id, W, ct, g, p, e) STORE_BIN_W(X, id, W, ct, g, p, e)
#define STORE_BIN(X, id, ct, g, p, e) STORE_BIN_W_(X, id, WP_PUT_WIDTH_##p, ct, g, p, e)
    WP_FUSED_BINOPS(STORE_BIN, _)
#undef STORE_BIN1
#undef STORE_BIN_W
#undef STORE_BIN_W_
#undef STORE_BIN
/* A load into a local: the address from the stack (plain) or a local (l_);
 * a trap leaves the stack as the load saw it, as FUSED_LOAD does. */
#define DEST_LOAD1(name, ADDR, PUSH_ON_TRAP, POP, LEN, TO, ctype, n, conv) \
  XCASE(name) : {                                                           \
    uint64_t ea = (uint64_t)(uint32_t)(ADDR) + pc[LEN - 1].u64;             \
    if (WP_UNLIKELY(ea + (n) > mem_size)) {                                 \
      PUSH_ON_TRAP;                                                         \
      TRAP(WP_TRAP_MEMORY_OOB);                                             \
    }                                                                       \
    ctype v;                                                                \
    memcpy(&v, mem_base + ea, n);                                           \
    POP;                                                                    \
    TO(conv, LEN);                                                          \
    NEXT(LEN + 1);                                                          \
  }
#define DEST_LOAD(X, id, ctype, n, conv)                                                        \
  DEST_LOAD1(id##_set, sp[-1], (void)0, sp--, 2, TO_SET, ctype, n, conv)                        \
  DEST_LOAD1(id##_tee, sp[-1], (void)0, sp--, 2, TO_TEE, ctype, n, conv)                        \
  DEST_LOAD1(l_##id##_set, fp[pc[1].u64], *sp++ = fp[pc[1].u64], (void)0, 3, TO_SET, ctype, n, conv) \
  DEST_LOAD1(l_##id##_tee, fp[pc[1].u64], *sp++ = fp[pc[1].u64], (void)0, 3, TO_TEE, ctype, n, conv)
    WP_FUSED_LOADS(DEST_LOAD, _)
/* Accesses at a sum (fused.h): AGET sets s_, the 32-bit sum, popping the
 * stack operands it used; OFF is the offset cell; a trap pushes s_ back. */
#define TO_PUSH(r, at) (*sp++ = (r))
#define ADDR_LOAD1(name, AGET, OFF, TO, EXTRA, ctype, n, conv) \
  XCASE(name) : {                                              \
    uint32_t s_;                                               \
    AGET;                                                      \
    uint64_t ea = (uint64_t)s_ + pc[OFF].u64;                  \
    if (WP_UNLIKELY(ea + (n) > mem_size)) {                    \
      *sp++ = s_;                                              \
      TRAP(WP_TRAP_MEMORY_OOB);                                \
    }                                                          \
    ctype v;                                                   \
    memcpy(&v, mem_base + ea, n);                              \
    TO(conv, OFF + 1);                                         \
    NEXT(OFF + 1 + EXTRA);                                     \
  }
#define A_S s_ = I32 sp[-2] + I32 sp[-1]; sp -= 2
#define A_LL s_ = I32 fp[pc[1].pair.a] + I32 fp[pc[1].pair.b]
#define A_LC s_ = I32 fp[pc[1].u64] + I32 pc[2].u64
#define A_SL s_ = I32 sp[-1] + I32 fp[pc[1].u64]; sp -= 1
#define A_SC s_ = I32 sp[-1] + I32 pc[1].u64; sp -= 1
#define ADDR_LOAD_DESTS(pre, AGET, OFF, ctype, n, conv)                    \
  ADDR_LOAD1(pre, AGET, OFF, TO_PUSH, 0, ctype, n, conv)                   \
  ADDR_LOAD1(pre##_set, AGET, OFF, TO_SET, 1, ctype, n, conv)              \
  ADDR_LOAD1(pre##_tee, AGET, OFF, TO_TEE, 1, ctype, n, conv)
#define ADDR_LOAD(X, id, ctype, n, conv)                  \
  ADDR_LOAD_DESTS(as_##id, A_S, 1, ctype, n, conv)        \
  ADDR_LOAD_DESTS(all_##id, A_LL, 2, ctype, n, conv)      \
  ADDR_LOAD_DESTS(alc_##id, A_LC, 3, ctype, n, conv)      \
  ADDR_LOAD_DESTS(asl_##id, A_SL, 2, ctype, n, conv)      \
  ADDR_LOAD_DESTS(asc_##id, A_SC, 2, ctype, n, conv)
    WP_FUSED_LOADS(ADDR_LOAD, _)
/* A store of a local or constant at a sum of locals/constant: VAL is the
 * value's cell index, the offset follows it. */
#define ADDR_STORE1(name, AGET, VAL, VALUE, ctype, n)                  \
  XCASE(name) : {                                                      \
    uint32_t s_;                                                       \
    AGET;                                                              \
    uint64_t val = VALUE;                                              \
    uint64_t ea = (uint64_t)s_ + pc[VAL + 1].u64;                      \
    if (WP_UNLIKELY(ea + (n) > mem_size)) {                            \
      *sp++ = s_;                                                      \
      *sp++ = val; /* the stack as the store saw it */                 \
      TRAP(WP_TRAP_MEMORY_OOB);                                        \
    }                                                                  \
    ctype v = (ctype)val;                                              \
    memcpy(mem_base + ea, &v, n);                                      \
    NEXT(VAL + 2);                                                     \
  }
#define ADDR_STORE(X, id, ctype, n)                                 \
  ADDR_STORE1(all_sl_##id, A_LL, 2, fp[pc[2].u64], ctype, n)        \
  ADDR_STORE1(all_sc_##id, A_LL, 2, pc[2].u64, ctype, n)            \
  ADDR_STORE1(alc_sl_##id, A_LC, 3, fp[pc[3].u64], ctype, n)        \
  ADDR_STORE1(alc_sc_##id, A_LC, 3, pc[3].u64, ctype, n)
    WP_FUSED_STORES(ADDR_STORE, _)
#undef TO_PUSH
#undef ADDR_LOAD1
#undef A_S
#undef A_LL
#undef A_LC
#undef A_SL
#undef A_SC
#undef ADDR_LOAD_DESTS
#undef ADDR_LOAD
#undef ADDR_STORE1
#undef ADDR_STORE
#undef DEST_LOAD1
#undef DEST_LOAD
#endif /* LOOP_FUSED */
#undef STEP1
#undef S_LL
#undef S_LC
#undef STEP
#undef TO_SET
#undef TO_TEE
#undef DEST_BIN1
#undef DB_S
#undef DB_LL
#undef DB_LC
#undef DB_SL
#undef DB_SC
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
    LOAD(i32_load, uint32_t, 4, v)
    LOAD(i64_load, uint64_t, 8, v)
    LOAD(f32_load, uint32_t, 4, v)
    LOAD(f64_load, uint64_t, 8, v)
    LOAD(i32_load8_s, int8_t, 1, (uint32_t)(int32_t)v)
    LOAD(i32_load8_u, uint8_t, 1, (uint32_t)v)
    LOAD(i32_load16_s, int16_t, 2, (uint32_t)(int32_t)v)
    LOAD(i32_load16_u, uint16_t, 2, (uint32_t)v)
    LOAD(i64_load8_s, int8_t, 1, (uint64_t)(int64_t)v)
    LOAD(i64_load8_u, uint8_t, 1, (uint64_t)v)
    LOAD(i64_load16_s, int16_t, 2, (uint64_t)(int64_t)v)
    LOAD(i64_load16_u, uint16_t, 2, (uint64_t)v)
    LOAD(i64_load32_s, int32_t, 4, (uint64_t)(int64_t)v)
    LOAD(i64_load32_u, uint32_t, 4, (uint64_t)v)
    STORE(i32_store, uint32_t, 4)
    STORE(i64_store, uint64_t, 8)
    STORE(f32_store, uint32_t, 4)
    STORE(f64_store, uint64_t, 8)
    STORE(i32_store8, uint8_t, 1)
    STORE(i32_store16, uint16_t, 2)
    STORE(i64_store8, uint8_t, 1)
    STORE(i64_store16, uint16_t, 2)
    STORE(i64_store32, uint32_t, 4)

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

    /* ---- constants ---- */
    CASE(i32_const) :
    CASE(i64_const) :
    CASE(f32_const) :
    CASE(f64_const) : {
      *sp++ = IMM(1);
      NEXT(2);
    }

    /* ---- i32 ---- */
    UN(i32_eqz, uint32_t, uint32_t, a == 0)
    BIN(i32_eq, uint32_t, uint32_t, a == b)
    BIN(i32_ne, uint32_t, uint32_t, a != b)
    BIN(i32_lt_s, uint32_t, uint32_t, S32 a < S32 b)
    BIN(i32_lt_u, uint32_t, uint32_t, a < b)
    BIN(i32_gt_s, uint32_t, uint32_t, S32 a > S32 b)
    BIN(i32_gt_u, uint32_t, uint32_t, a > b)
    BIN(i32_le_s, uint32_t, uint32_t, S32 a <= S32 b)
    BIN(i32_le_u, uint32_t, uint32_t, a <= b)
    BIN(i32_ge_s, uint32_t, uint32_t, S32 a >= S32 b)
    BIN(i32_ge_u, uint32_t, uint32_t, a >= b)
    UN(i32_clz, uint32_t, uint32_t, a ? __builtin_clz(a) : 32)
    UN(i32_ctz, uint32_t, uint32_t, a ? __builtin_ctz(a) : 32)
    UN(i32_popcnt, uint32_t, uint32_t, __builtin_popcount(a))
    BIN(i32_add, uint32_t, uint32_t, a + b)
    BIN(i32_sub, uint32_t, uint32_t, a - b)
    BIN(i32_mul, uint32_t, uint32_t, a * b)
    CASE(i32_div_s) : {
      int32_t b = S32 sp[-1], a = S32 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      if (a == INT32_MIN && b == -1) TRAP(WP_TRAP_INT_OVERFLOW);
      sp[-2] = (uint32_t)(a / b);
      sp--;
      NEXT(1);
    }
    CASE(i32_div_u) : {
      uint32_t b = I32 sp[-1], a = I32 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = a / b;
      sp--;
      NEXT(1);
    }
    CASE(i32_rem_s) : {
      int32_t b = S32 sp[-1], a = S32 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = b == -1 ? 0 : (uint32_t)(a % b);
      sp--;
      NEXT(1);
    }
    CASE(i32_rem_u) : {
      uint32_t b = I32 sp[-1], a = I32 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = a % b;
      sp--;
      NEXT(1);
    }
    BIN(i32_and, uint32_t, uint32_t, a & b)
    BIN(i32_or, uint32_t, uint32_t, a | b)
    BIN(i32_xor, uint32_t, uint32_t, a ^ b)
    BIN(i32_shl, uint32_t, uint32_t, a << (b & 31))
    BIN(i32_shr_s, uint32_t, uint32_t, S32 a >> (b & 31))
    BIN(i32_shr_u, uint32_t, uint32_t, a >> (b & 31))
    BIN(i32_rotl, uint32_t, uint32_t, wp_rotl32(a, b))
    BIN(i32_rotr, uint32_t, uint32_t, wp_rotr32(a, b))

    /* ---- i64 ---- */
    UN(i64_eqz, uint64_t, uint32_t, a == 0)
    BIN(i64_eq, uint64_t, uint32_t, a == b)
    BIN(i64_ne, uint64_t, uint32_t, a != b)
    BIN(i64_lt_s, uint64_t, uint32_t, S64 a < S64 b)
    BIN(i64_lt_u, uint64_t, uint32_t, a < b)
    BIN(i64_gt_s, uint64_t, uint32_t, S64 a > S64 b)
    BIN(i64_gt_u, uint64_t, uint32_t, a > b)
    BIN(i64_le_s, uint64_t, uint32_t, S64 a <= S64 b)
    BIN(i64_le_u, uint64_t, uint32_t, a <= b)
    BIN(i64_ge_s, uint64_t, uint32_t, S64 a >= S64 b)
    BIN(i64_ge_u, uint64_t, uint32_t, a >= b)
    UN(i64_clz, uint64_t, uint64_t, a ? __builtin_clzll(a) : 64)
    UN(i64_ctz, uint64_t, uint64_t, a ? __builtin_ctzll(a) : 64)
    UN(i64_popcnt, uint64_t, uint64_t, __builtin_popcountll(a))
    BIN(i64_add, uint64_t, uint64_t, a + b)
    BIN(i64_sub, uint64_t, uint64_t, a - b)
    BIN(i64_mul, uint64_t, uint64_t, a * b)
    CASE(i64_div_s) : {
      int64_t b = S64 sp[-1], a = S64 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      if (a == INT64_MIN && b == -1) TRAP(WP_TRAP_INT_OVERFLOW);
      sp[-2] = (uint64_t)(a / b);
      sp--;
      NEXT(1);
    }
    CASE(i64_div_u) : {
      uint64_t b = sp[-1], a = sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = a / b;
      sp--;
      NEXT(1);
    }
    CASE(i64_rem_s) : {
      int64_t b = S64 sp[-1], a = S64 sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = b == -1 ? 0 : (uint64_t)(a % b);
      sp--;
      NEXT(1);
    }
    CASE(i64_rem_u) : {
      uint64_t b = sp[-1], a = sp[-2];
      if (b == 0) TRAP(WP_TRAP_DIV_ZERO);
      sp[-2] = a % b;
      sp--;
      NEXT(1);
    }
    BIN(i64_and, uint64_t, uint64_t, a & b)
    BIN(i64_or, uint64_t, uint64_t, a | b)
    BIN(i64_xor, uint64_t, uint64_t, a ^ b)
    BIN(i64_shl, uint64_t, uint64_t, a << (b & 63))
    BIN(i64_shr_s, uint64_t, uint64_t, S64 a >> (b & 63))
    BIN(i64_shr_u, uint64_t, uint64_t, a >> (b & 63))
    BIN(i64_rotl, uint64_t, uint64_t, wp_rotl64(a, b))
    BIN(i64_rotr, uint64_t, uint64_t, wp_rotr64(a, b))

    /* ---- floats ---- */
    CMPF32(f32_eq, ==)
    CMPF32(f32_ne, !=)
    CMPF32(f32_lt, <)
    CMPF32(f32_gt, >)
    CMPF32(f32_le, <=)
    CMPF32(f32_ge, >=)
    CMPF64(f64_eq, ==)
    CMPF64(f64_ne, !=)
    CMPF64(f64_lt, <)
    CMPF64(f64_gt, >)
    CMPF64(f64_le, <=)
    CMPF64(f64_ge, >=)
    UN(f32_abs, uint64_t, uint64_t, wp_f32_abs(a))
    UN(f32_neg, uint64_t, uint64_t, wp_f32_neg(a))
    UNF32(f32_ceil, wp_ceilf(a))
    UNF32(f32_floor, wp_floorf(a))
    UNF32(f32_trunc, wp_truncf(a))
    UNF32(f32_nearest, wp_nearestf(a))
    UNF32(f32_sqrt, sqrtf(a))
    BINF32(f32_add, a + b)
    BINF32(f32_sub, a - b)
    BINF32(f32_mul, a * b)
    BINF32(f32_div, a / b)
    BINF32(f32_min, wp_fminf(a, b))
    BINF32(f32_max, wp_fmaxf(a, b))
    BIN(f32_copysign, uint64_t, uint64_t, wp_f32_copysign(a, b))
    UN(f64_abs, uint64_t, uint64_t, wp_f64_abs(a))
    UN(f64_neg, uint64_t, uint64_t, wp_f64_neg(a))
    UNF64(f64_ceil, wp_ceil(a))
    UNF64(f64_floor, wp_floor(a))
    UNF64(f64_trunc, wp_trunc(a))
    UNF64(f64_nearest, wp_nearest(a))
    UNF64(f64_sqrt, sqrt(a))
    BINF64(f64_add, a + b)
    BINF64(f64_sub, a - b)
    BINF64(f64_mul, a * b)
    BINF64(f64_div, a / b)
    BINF64(f64_min, wp_fmin(a, b))
    BINF64(f64_max, wp_fmax(a, b))
    BIN(f64_copysign, uint64_t, uint64_t, wp_f64_copysign(a, b))

    /* ---- conversions ---- */
    UN(i32_wrap_i64, uint64_t, uint32_t, a)
    TRUNC(i32_trunc_f32_s, wp_f32, wp_fits_i32, int32_t, uint32_t)
    TRUNC(i32_trunc_f32_u, wp_f32, wp_fits_u32, uint32_t, uint32_t)
    TRUNC(i32_trunc_f64_s, wp_f64, wp_fits_i32, int32_t, uint32_t)
    TRUNC(i32_trunc_f64_u, wp_f64, wp_fits_u32, uint32_t, uint32_t)
    UN(i64_extend_i32_s, uint64_t, uint64_t, (int64_t)(int32_t)(uint32_t)a)
    UN(i64_extend_i32_u, uint64_t, uint64_t, (uint32_t)a)
    TRUNC(i64_trunc_f32_s, wp_f32, wp_fits_i64, int64_t, uint64_t)
    TRUNC(i64_trunc_f32_u, wp_f32, wp_fits_u64, uint64_t, uint64_t)
    TRUNC(i64_trunc_f64_s, wp_f64, wp_fits_i64, int64_t, uint64_t)
    TRUNC(i64_trunc_f64_u, wp_f64, wp_fits_u64, uint64_t, uint64_t)
    UN(f32_convert_i32_s, uint64_t, uint64_t, wp_from_f32((float)(int32_t)(uint32_t)a))
    UN(f32_convert_i32_u, uint64_t, uint64_t, wp_from_f32((float)(uint32_t)a))
    UN(f32_convert_i64_s, uint64_t, uint64_t, wp_from_f32((float)(int64_t)a))
    UN(f32_convert_i64_u, uint64_t, uint64_t, wp_from_f32((float)a))
    UN(f32_demote_f64, uint64_t, uint64_t, wp_from_f32((float)wp_f64(a)))
    UN(f64_convert_i32_s, uint64_t, uint64_t, wp_from_f64((double)(int32_t)(uint32_t)a))
    UN(f64_convert_i32_u, uint64_t, uint64_t, wp_from_f64((double)(uint32_t)a))
    UN(f64_convert_i64_s, uint64_t, uint64_t, wp_from_f64((double)(int64_t)a))
    UN(f64_convert_i64_u, uint64_t, uint64_t, wp_from_f64((double)a))
    UN(f64_promote_f32, uint64_t, uint64_t, wp_from_f64((double)wp_f32(a)))
    CASE(i32_reinterpret_f32) :
    CASE(i64_reinterpret_f64) :
    CASE(f32_reinterpret_i32) :
    CASE(f64_reinterpret_i64) : NEXT(1);

    UN(i32_extend8_s, uint64_t, uint32_t, (int32_t)(int8_t)a)
    UN(i32_extend16_s, uint64_t, uint32_t, (int32_t)(int16_t)a)
    UN(i64_extend8_s, uint64_t, uint64_t, (int64_t)(int8_t)a)
    UN(i64_extend16_s, uint64_t, uint64_t, (int64_t)(int16_t)a)
    UN(i64_extend32_s, uint64_t, uint64_t, (int64_t)(int32_t)a)

    UN(i32_trunc_sat_f32_s, uint64_t, uint32_t, wp_sat_i32(wp_f32(a)))
    UN(i32_trunc_sat_f32_u, uint64_t, uint32_t, wp_sat_u32(wp_f32(a)))
    UN(i32_trunc_sat_f64_s, uint64_t, uint32_t, wp_sat_i32(wp_f64(a)))
    UN(i32_trunc_sat_f64_u, uint64_t, uint32_t, wp_sat_u32(wp_f64(a)))
    UN(i64_trunc_sat_f32_s, uint64_t, uint64_t, wp_sat_i64(wp_f32(a)))
    UN(i64_trunc_sat_f32_u, uint64_t, uint64_t, wp_sat_u64(wp_f32(a)))
    UN(i64_trunc_sat_f64_s, uint64_t, uint64_t, wp_sat_i64(wp_f64(a)))
    UN(i64_trunc_sat_f64_u, uint64_t, uint64_t, wp_sat_u64(wp_f64(a)))

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
    if (wp_exec_checkpoint(ex, err)) return -1;
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
    int rc = HOST_CALL(callee, args);
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
    if (!code) return -1;
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
  for (wp_slot *p = fp + code->nparams; p < sp; p++) *p = 0;
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
  if (wp_exec_checkpoint(ex, err)) {
    HOOK_TRAP(); /* stopped before this instruction's successors: take their ticks back */
    return -1;
  }
  LOAD_MEMORY(); /* the host may have let other code grow it */
  DISPATCH();
#endif

do_trap:
  frame->pc = pc;
  frame->sp = sp;
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
#undef S32
#undef S64
#undef BIN
#undef UN
#undef BINF32
#undef BINF64
#undef CMPF32
#undef CMPF64
#undef UNF32
#undef UNF64
#undef EA
#undef LOAD
#undef STORE
#undef TRUNC
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
#undef LOOP_STEP
#undef LOOP_TICKED
#undef LOOP_LOCALS
#undef LOOP_FN
#undef LOOP_VARIANT
#undef LOOP_FUSED
