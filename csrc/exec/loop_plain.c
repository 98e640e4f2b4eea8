/* loop_plain.c: the plain loop, no observation at all. */
#include "loop_prelude.h"

#define LOOP_FN wp_loop_plain
#define LOOP_VARIANT WP_VARIANT_PLAIN
#define LOOP_FUSED 1
#include "loop_template.h"
