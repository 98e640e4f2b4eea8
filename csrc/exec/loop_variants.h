/* loop_variants.h: the interpreter loop variants (loop_template.h, instantiated
 * in loop_plain.c, loop_ticked.c and loop_step.c), as exec.c calls
 * them. */
#ifndef WP_EXEC_LOOPS_H
#define WP_EXEC_LOOPS_H

#include "runtime.h"

/* Run the frame on top of ex's frame stack until the frame count returns
 * to base; called with ex == NULL, only store the handler table in *labels. */
typedef int (*wp_loop_fn)(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels);
int wp_loop_plain(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels);
int wp_loop_ticked(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels);
/* The stepping loop (debug.c enters it) also returns 1 when it pauses:
 * pc and sp are saved in the top frame, and calling it again resumes. */
int wp_loop_step(wp_exec *ex, uint32_t base, wp_error *err, wp_handler_table *labels);

#endif
