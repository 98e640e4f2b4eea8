/* loop_ticked.c: the ticked loop, for a tick limit, a tick callback or a
 * profile.  Every block adds its cost to ex->ticks; under a profile, the
 * code (translated for it: XOP_tick_blocks, code.h) also counts the
 * block's runs, and the call tree moves at calls and returns, behind the
 * one check whether a profile runs (ex->prof), in functions kept out of
 * the loop's way so that a run without a profile pays only that check.  Left out
 * of a -DWP_NO_OBSERVATION build (exec.c). */
#include "loop_prelude.h"

#ifndef WP_NO_OBSERVATION
#define LOOP_FN wp_loop_ticked
#define LOOP_VARIANT WP_VARIANT_TICKED
#define LOOP_FUSED 1
#define LOOP_TICKED 1

/* The call tree's hooks (profile.h). */
static inline void prof_host_leave(wp_exec *ex, wp_func *caller) {
  wp_prof_leave(ex);
  wp_prof_resume(ex, caller, WP_FUNC_CODE(caller));
}
static WP_NOINLINE int prof_code(wp_exec *ex, const wp_code *code, wp_error *err) {
  return wp_prof_sink_grow(ex->prof, code->nblocks, ex, err);
}

#define HOOK_TICK(n) TICKED_TICK(n)
/* After the limit check, so a block stopped there is not counted. */
#define HOOK_BLOCK_RUN() (ex->prof_blocks[pc[2].pair.b]++)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
/* The sink (profile.h) must hold any code's blocks before it runs. */
#define HOOK_CODE(code)                                          \
  do {                                                           \
    if (WP_UNLIKELY(ex->prof && (code)->nblocks > ex->prof->sink_blocks) && prof_code(ex, (code), err)) return -1; \
  } while (0)
#define HOOK_TRAP()                                                              \
  do {                                                                           \
    TICKED_TRAP();                                                               \
    if (ex->prof) wp_prof_trap(ex, wp_code_holding(func, LOOP_VARIANT, pc), pc); \
  } while (0)
/* wp_prof_call adds the per-call price itself. */
#define HOOK_ENTER(f)                                            \
  do {                                                           \
    if (WP_UNLIKELY(ex->prof)) wp_prof_call(ex, (f), WP_FUNC_CODE(f)); \
    else ex->ticks += ex->cost.per_call;                         \
  } while (0)
#define HOOK_LEAVE()                                 \
  do {                                               \
    if (WP_UNLIKELY(ex->prof)) wp_prof_leave(ex);    \
  } while (0)
#define HOOK_RETURNED()                                    \
  do {                                                     \
    if (WP_UNLIKELY(ex->prof)) wp_prof_resume(ex, func, WP_FUNC_CODE(func)); \
  } while (0)
#define HOOK_HOST_ENTER(f)                                 \
  do {                                                     \
    if (WP_UNLIKELY(ex->prof)) wp_prof_call(ex, (f), NULL); \
    else ex->ticks += ex->cost.per_call;                   \
  } while (0)
#define HOOK_HOST_LEAVE()                                  \
  do {                                                     \
    if (WP_UNLIKELY(ex->prof)) prof_host_leave(ex, func);  \
  } while (0)
#include "loop_template.h"
#else
typedef int wp_no_ticked_loop; /* ISO C wants something in a translation unit */
#endif
