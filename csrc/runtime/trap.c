/* trap.c: trap kinds, their spec wording, and the helper that reports one. */
#include "runtime.h"

#include <string.h>

/* One row per wp_trap_kind: the spec test suite's wording (which hosts and
 * the spec runner match against) and a short identifier for tools. */
static const struct {
  const char *message;
  const char *name;
} trap_info[WP_TRAP_COUNT] = {
    [WP_TRAP_NONE] = {"no trap", "none"},
    [WP_TRAP_UNREACHABLE] = {"unreachable", "unreachable"},
    [WP_TRAP_MEMORY_OOB] = {"out of bounds memory access", "memory_oob"},
    [WP_TRAP_TABLE_OOB] = {"out of bounds table access", "table_oob"},
    [WP_TRAP_DIV_ZERO] = {"integer divide by zero", "div_zero"},
    [WP_TRAP_INT_OVERFLOW] = {"integer overflow", "int_overflow"},
    [WP_TRAP_INVALID_CONVERSION] = {"invalid conversion to integer", "invalid_conversion"},
    [WP_TRAP_UNDEFINED_ELEMENT] = {"undefined element", "undefined_element"},
    [WP_TRAP_NULL_ELEMENT] = {"uninitialized element", "null_element"},
    [WP_TRAP_SIGNATURE_MISMATCH] = {"indirect call type mismatch", "signature_mismatch"},
    [WP_TRAP_STACK_EXHAUSTED] = {"call stack exhausted", "stack_exhausted"},
};

static bool trap_kind_valid(wp_trap_kind kind) { return (unsigned)kind < WP_TRAP_COUNT; }

const char *wp_trap_message(wp_trap_kind kind) {
  return trap_kind_valid(kind) ? trap_info[kind].message : "unknown trap";
}

const char *wp_trap_name(wp_trap_kind kind) {
  return trap_kind_valid(kind) ? trap_info[kind].name : "unknown";
}

/* wp_trap: describe a trap raised outside the interpreter loop, where there
 * is no frame to blame (segment initialisation); returns -1. */
int wp_trap(wp_error *err, wp_trap_kind kind) {
  if (err) {
    const char *msg = wp_trap_message(kind);
    size_t n = strlen(msg);
    if (n >= sizeof err->message) n = sizeof err->message - 1;
    err->kind = WP_ERR_TRAP;
    err->trap = kind;
    err->offset = WP_NO_OFFSET;
    err->func = WP_NO_FUNC;
    memcpy(err->message, msg, n);
    err->message[n] = '\0';
  }
  return -1;
}
