/* loop_prelude.h: what every interpreter loop variant's translation unit
 * (loop_plain.c, loop_ticked.c, loop_step.c) includes before
 * loop_template.h.  One variant per translation unit, so that the plain loop's
 * code is the same whether the observing variants are built or not
 * (bench/zero_cost.py --without-observation), and the variants compile in
 * parallel. */
#ifndef WP_EXEC_VARIANT_H
#define WP_EXEC_VARIANT_H

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* clock_gettime (profile.h); included before any system header */
#endif

#include "loop_variants.h"
#include "numeric.h"
#include "profile.h"
#include "runtime.h"

#ifndef WP_COMPUTED_GOTO
#if defined(__GNUC__) && !defined(WP_NO_COMPUTED_GOTO)
#define WP_COMPUTED_GOTO 1
#else
#define WP_COMPUTED_GOTO 0
#endif
#endif


/* wp_zero_locals: a frame's declared locals [p, end), zeroed at its entry
 * by plain stores, not by the memset call GCC makes of such a loop: the
 * call and the spills of the loop's caller-saved registers around it came
 * to 6% of fib's instructions (bench/results/zero-locals-2026-12-03.txt).
 * The empty asm hides the pattern from GCC's loop distribution. */
static WP_ALWAYS_INLINE void wp_zero_locals(wp_slot *p, const wp_slot *end) {
  for (; p < end; p++) {
    *p = 0;
#ifdef __GNUC__
    __asm__("" : "+r"(p));
#endif
  }
}

/* exec.c: a guest function's code for a loop variant under ex's prices,
 * translated on its first call there; the code that holds a pc. */
const wp_code *wp_func_code(wp_func *f, wp_variant v, const wp_cost_model *cost, wp_error *err);
const wp_code *wp_code_holding(const wp_func *f, wp_variant v, const void *pc);
/* The head of the chain: the code of the first prices this variant ran under. */
#define WP_FUNC_CODE(f) ((const wp_code *)atomic_load_explicit(&(f)->body->code[LOOP_VARIANT], memory_order_acquire))

/* Ticked loops (loop_ticked.c, loop_step.c).  Code priced otherwise than
 * ex's prices is not for this run (wp_func_code finds or makes the right
 * one); a trap takes back the cost of its block's instructions that did not
 * run (from ex->ticks, written back first). */
#define TICKED_CODE_STALE(code) ((code)->cost_hash != ex->cost.hash)
#define TICKED_TRAP() (ex->ticks -= wp_code_unexecuted_cost(wp_code_holding(func, LOOP_VARIANT, pc), pc, &ex->cost))

#endif
