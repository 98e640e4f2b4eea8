/* loop_ticked.c: the ticked loop, for a tick limit, a tick callback or a
 * profile.  Every block adds its cost to the tick count; under a profile, the
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

/* The count in locals (issue 15's "ticks in a register"), so that a
 * block's tick is a subtraction and a sign test: ticks_left is tick_stop
 * minus the count (at most INT64_MAX; below zero once a per-call price
 * passed tick_stop), and ticks_end the count at which ticks_left is 0.
 * ex->ticks is written back (TICKS_OUT) before anything outside the loop
 * reads it (the call-tree hooks, hosts, checkpoints, the tick stop, traps,
 * every way out), and read again, with tick_stop (TICKS_IN), after
 * anything that may change them. */
#define LOOP_LOCALS            \
  int64_t ticks_left = 0;      \
  uint64_t ticks_end = 0;
#define TICKS_OUT() (ex->ticks = ticks_end - (uint64_t)ticks_left)
#define TICKS_IN()                                                                  \
  do {                                                                              \
    uint64_t t_ = ex->ticks, s_ = ex->tick_stop;                                    \
    ticks_left = s_ - t_ <= INT64_MAX ? (int64_t)(s_ - t_)                          \
                 : s_ >= t_           ? INT64_MAX                                   \
                                      : -(int64_t)(t_ - s_);                        \
    ticks_end = t_ + (uint64_t)ticks_left;                                          \
  } while (0)
/* After a call that may have changed ex->ticks but not tick_stop (the
 * count may be past it: a two's-complement difference, converted without
 * C's implementation-defined cast; GCC makes it a plain move). */
static inline int64_t ticks_signed(uint64_t x) { return x <= INT64_MAX ? (int64_t)x : -(int64_t)(UINT64_MAX - x) - 1; }
#define TICKS_REREAD() (ticks_left = ticks_signed(ticks_end - ex->ticks))
#define HOOK_TICKS_OUT() TICKS_OUT()
#define HOOK_TICKS_IN() TICKS_IN()
/* Past tick_stop: the callback sees the count before the block. */
#define HOOK_TICK(n)                                                   \
  do {                                                                 \
    ticks_left -= (int64_t)(n);                                        \
    if (WP_UNLIKELY(ticks_left < 0)) {                                 \
      uint64_t after_ = ticks_end - (uint64_t)ticks_left;              \
      frame->pc = pc;                                                  \
      frame->sp = sp;                                                  \
      ex->ticks = after_ - (n);                                        \
      if (wp_tick_stop_reached(ex, func, pc, after_, err)) return -1;  \
      ex->ticks = after_;                                              \
      TICKS_IN();                                                      \
      LOAD_MEMORY(); /* the callback may have grown it */              \
    }                                                                  \
  } while (0)
/* After the limit check, so a block stopped there is not counted. */
#define HOOK_BLOCK_RUN() (ex->prof_blocks[pc[2].pair.b]++)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
/* The sink (profile.h) must hold any code's blocks before it runs. */
#define HOOK_CODE(code)                                                                                 \
  do {                                                                                                  \
    if (WP_UNLIKELY(ex->prof && (code)->nblocks > ex->prof->sink_blocks) && prof_code(ex, (code), err)) { \
      TICKS_OUT();                                                                                      \
      return -1;                                                                                        \
    }                                                                                                   \
  } while (0)
#define HOOK_TRAP()                                                              \
  do {                                                                           \
    TICKED_TRAP();                                                               \
    if (ex->prof) wp_prof_trap(ex, wp_code_holding(func, LOOP_VARIANT, pc), pc); \
  } while (0)
/* wp_prof_call adds the per-call price itself. */
#define PRICE_CALL(f, code)                \
  do {                                     \
    if (WP_UNLIKELY(ex->prof)) {           \
      TICKS_OUT();                         \
      wp_prof_call(ex, (f), (code));       \
      TICKS_REREAD();                      \
    } else {                               \
      ticks_left -= ex->cost.per_call;     \
    }                                      \
  } while (0)
#define HOOK_ENTER(f) PRICE_CALL(f, WP_FUNC_CODE(f))
#define HOOK_LEAVE()                                 \
  do {                                               \
    if (WP_UNLIKELY(ex->prof)) {                     \
      TICKS_OUT();                                   \
      wp_prof_leave(ex);                             \
    }                                                \
  } while (0)
#define HOOK_RETURNED()                                    \
  do {                                                     \
    if (WP_UNLIKELY(ex->prof)) wp_prof_resume(ex, func, WP_FUNC_CODE(func)); \
  } while (0)
#define HOOK_HOST_ENTER(f) PRICE_CALL(f, NULL)
/* After HOOK_TICKS_IN: ex->ticks is current. */
#define HOOK_HOST_LEAVE()                                  \
  do {                                                     \
    if (WP_UNLIKELY(ex->prof)) prof_host_leave(ex, func);  \
  } while (0)
#include "loop_template.h"
#else
typedef int wp_no_ticked_loop; /* ISO C wants something in a translation unit */
#endif
