/* loop_counted.c: the counted loop, ticks only (a tick limit without a
 * profile).  Left out of a -DWP_NO_OBSERVATION build (exec.c). */
#include "loop_prelude.h"

#ifndef WP_NO_OBSERVATION
#define HOOK_TICK(n) TICKED_TICK(n)
#define HOOK_CODE_STALE(code) TICKED_CODE_STALE(code)
#define HOOK_TRAP() TICKED_TRAP()
#define LOOP_FN wp_loop_counted
#define LOOP_VARIANT WP_VARIANT_COUNTED
#define LOOP_FUSED 1
#define HOOK_ENTER(f) (ex->ticks += ex->cost.per_call)
#define HOOK_HOST_ENTER(f) (ex->ticks += ex->cost.per_call)
#include "loop_template.h"
#else
typedef int wp_no_counted_loop; /* ISO C wants something in a translation unit */
#endif
