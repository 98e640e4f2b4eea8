/* loop_step.c: the stepping loop, the debugger's (debug.h): ticked like
 * wp_loop_ticked, with a countdown that makes it stop at any
 * instruction.  LOOP_FUSED 0: of the superinstructions only those of
 * WP_FUSED_XOPS_STEPPING are compiled here, guarded, over an unfused copy
 * of the code (code.h: stepping code).  Left out of a -DWP_NO_OBSERVATION
 * build (exec.c). */
#include "loop_prelude.h"

#ifndef WP_NO_OBSERVATION
#include "debug.h"

#define LOOP_FN wp_loop_step
#define LOOP_VARIANT WP_VARIANT_STEP
#define LOOP_FUSED 0
#define LOOP_STEP 1
/* A tick is no instruction: it gives back the countdown its dispatch took.
 * A tick target inside the block makes the loop check each instruction. */
#define HOOK_TICK(n)                                                                  \
  do {                                                                                \
    countdown++;                                                                      \
    uint64_t ticks_ = ex->ticks + (n);                                                \
    if (WP_UNLIKELY(ticks_ >= dbg->tick_target)) countdown = wp_debug_lower(dbg, countdown); \
    ex->ticks = ticks_;                                                               \
  } while (0)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
#define HOOK_TRAP()              \
  do {                           \
    dbg->countdown = countdown;  \
    TICKED_TRAP();               \
  } while (0)
#define HOOK_ENTER(f)                                                                       \
  do {                                                                                      \
    if (WP_UNLIKELY(dbg->on_enter | wp_debug_entry_hook)) countdown = wp_debug_entered(ex, (f), countdown); \
  } while (0)
#define HOOK_LEAVE()                                  \
  do {                                                \
    dbg->countdown = countdown; /* for the count at the end */ \
    if (WP_UNLIKELY(ex->prof != NULL)) wp_prof_leave(ex); \
  } while (0)
#define HOOK_RETURNED()                                                                       \
  do {                                                                                        \
    if (WP_UNLIKELY(ex->nframes <= dbg->stop_frames)) countdown = wp_debug_returned(dbg, countdown); \
  } while (0)
#define HOOK_HOST_ENTER(f)                                   \
  do {                                                       \
    dbg->countdown = countdown;                              \
    if (WP_UNLIKELY(ex->prof != NULL)) wp_prof_enter(ex, (f)); \
  } while (0)
#define HOOK_HOST_LEAVE()                                                    \
  do {                                                                       \
    if (WP_UNLIKELY(ex->prof != NULL)) wp_prof_leave(ex);                    \
    if (WP_UNLIKELY(dbg->pending)) countdown = wp_debug_lower(dbg, countdown); \
  } while (0)
#define HOOK_STORED(ea, n)                                                                    \
  do {                                                                                        \
    if (WP_UNLIKELY((ea) < dbg->watch_hi && (ea) + (n) > dbg->watch_lo))                      \
      countdown = wp_debug_stored(dbg, mem, countdown);                                       \
  } while (0)
#define HOOK_GLOBAL_SET()                                                                     \
  do {                                                                                        \
    if (WP_UNLIKELY(dbg->nwatch_globals)) countdown = wp_debug_global_set(dbg, countdown);    \
  } while (0)
#define HOST_CALL(callee, args) wp_debug_host_call(ex, (callee), (args), err)
#include "loop_template.h"
#else
typedef int wp_no_step_loop; /* ISO C wants something in a translation unit */
#endif
