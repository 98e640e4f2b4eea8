/* exec_profiled.c: the profiled loop, ticks and the call tree
 * (profile.h).  Left out of a -DWP_NO_OBSERVATION build (exec.c). */
#include "exec_variant.h"

#ifndef WP_NO_OBSERVATION
#define HOOK_TICK(n) TICKED_TICK(n)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
#define HOOK_TRAP() TICKED_TRAP()
#define LOOP_FN wp_loop_profiled
#define LOOP_VARIANT WP_VARIANT_PROFILED
#define LOOP_FUSED 1
#define HOOK_ENTER(f) wp_prof_enter(ex, (f))
#define HOOK_LEAVE() wp_prof_leave(ex)
#define HOOK_HOST_ENTER(f) wp_prof_enter(ex, (f))
#define HOOK_HOST_LEAVE() wp_prof_leave(ex)
#include "exec_loop.h"
#else
typedef int wp_no_profiled_loop; /* ISO C wants something in a translation unit */
#endif
