/* loop_profiled.c: the profiled loop, ticks, the call tree and the block
 * counters behind per-instruction counts (profile.h).  Left out of a
 * -DWP_NO_OBSERVATION build (exec.c). */
#include "loop_prelude.h"

#ifndef WP_NO_OBSERVATION
/* A block runs: one more execution of it at this node (pc[2].pair.b is
 * its number, code.h), after the limit check so a block stopped there is
 * not counted. */
#define HOOK_TICK(n)                       \
  do {                                     \
    TICKED_TICK(n);                        \
    ex->prof_blocks[pc[2].pair.b]++;       \
  } while (0)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
/* The sink (profile.h) must hold any code's blocks before it runs. */
#define HOOK_CODE(code)                                                                         \
  do {                                                                                          \
    if (WP_UNLIKELY((code)->nblocks > ex->prof->sink_blocks) &&                                 \
        wp_prof_sink_grow(ex->prof, (code)->nblocks, ex, err))                                  \
      return -1;                                                                                \
  } while (0)
#define HOOK_TRAP()                                   \
  do {                                                \
    TICKED_TRAP();                                    \
    wp_prof_trap(ex, wp_code_holding(func, LOOP_VARIANT, pc), pc); \
  } while (0)
#define LOOP_FN wp_loop_profiled
#define LOOP_VARIANT WP_VARIANT_PROFILED
#define LOOP_FUSED 1
#define HOOK_ENTER(f)                                 \
  do {                                                \
    wp_prof_enter(ex, (f));                           \
    wp_prof_run(ex, (f), WP_FUNC_CODE(f), true);      \
  } while (0)
#define HOOK_LEAVE() wp_prof_leave(ex)
#define HOOK_RETURNED() wp_prof_run(ex, func, WP_FUNC_CODE(func), false)
#define HOOK_HOST_ENTER(f)                            \
  do {                                                \
    wp_prof_enter(ex, (f));                           \
    wp_prof_run(ex, (f), NULL, true);                 \
  } while (0)
#define HOOK_HOST_LEAVE()                             \
  do {                                                \
    wp_prof_leave(ex);                                \
    wp_prof_run(ex, func, WP_FUNC_CODE(func), false); \
  } while (0)
#include "loop_template.h"
#else
typedef int wp_no_profiled_loop; /* ISO C wants something in a translation unit */
#endif
