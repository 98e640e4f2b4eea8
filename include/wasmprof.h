/* wasmprof.h: the public C interface of the wasmprof core.
 *
 * A host decodes a module (wp_module_new), instantiates it against its
 * imports (wp_instance_new), and calls exports on an execution context
 * (wp_exec) that owns the guest's value stack and frame stack.
 *
 * Errors are values: every fallible call fills a wp_error (kind, trap kind,
 * module offset, function, message) and returns NULL or a non-zero status.
 * Guest input never aborts the host process.
 *
 * The frame stack (wp_frame, below) is a stable, documented structure:
 * backtraces, coredumps, the profiler, the stepper and the GDB commands all
 * read it.
 */
#ifndef WASMPROF_H
#define WASMPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- value types ---------------------------------------------------- */

/* wp_valtype: the binary encoding of each value type. */
typedef enum wp_valtype {
  WP_I32 = 0x7f,
  WP_I64 = 0x7e,
  WP_F32 = 0x7d,
  WP_F64 = 0x7c,
  WP_V128 = 0x7b,
  WP_FUNCREF = 0x70,
  WP_EXTERNREF = 0x6f,
} wp_valtype;

/* wp_valtype_name: "i32", "funcref", ...; "?" for a byte that is no value type. */
const char *wp_valtype_name(wp_valtype t);

/* wp_extern_kind: what an import or export is. */
typedef enum wp_extern_kind {
  WP_EXTERN_FUNC = 0,
  WP_EXTERN_TABLE = 1,
  WP_EXTERN_MEMORY = 2,
  WP_EXTERN_GLOBAL = 3,
} wp_extern_kind;

/* A value in a slot of the value stack, a global or a table element.
 * Numbers are stored as their bit patterns, zero-extended to 64 bits
 * (an f32 occupies the low 32 bits).  References: 0 is null; a non-null
 * funcref is a (wp_func *) cast to an integer; a non-null externref is an
 * opaque non-zero token chosen by the host. */
typedef uint64_t wp_slot;

/* ---- errors ---------------------------------------------------------- */

typedef enum wp_error_kind {
  WP_OK = 0,
  WP_ERR_DECODE,     /* malformed binary */
  WP_ERR_VALIDATE,   /* well-formed but invalid module */
  WP_ERR_LINK,       /* imports do not match */
  WP_ERR_TRAP,       /* the guest trapped; see trap */
  WP_ERR_LIMIT,      /* a host-set limit was reached */
  WP_ERR_HOST,       /* a host function failed (its own error is kept by the host) */
  WP_ERR_NOMEM,      /* the host ran out of memory */
  WP_ERR_ARG,        /* bad argument to an API call */
  WP_ERR_EXIT,       /* the guest asked to exit (WASI proc_exit); see exit_code */
  WP_ERR_INTERRUPT,  /* wp_exec_interrupt stopped the guest (or a poll hook did) */
} wp_error_kind;

typedef enum wp_trap_kind {
  WP_TRAP_NONE = 0,
  WP_TRAP_UNREACHABLE,        /* "unreachable" */
  WP_TRAP_MEMORY_OOB,         /* "out of bounds memory access" */
  WP_TRAP_TABLE_OOB,          /* "out of bounds table access" */
  WP_TRAP_DIV_ZERO,           /* "integer divide by zero" */
  WP_TRAP_INT_OVERFLOW,       /* "integer overflow" */
  WP_TRAP_INVALID_CONVERSION, /* "invalid conversion to integer" */
  WP_TRAP_UNDEFINED_ELEMENT,  /* "undefined element": call_indirect index past the table */
  WP_TRAP_NULL_ELEMENT,       /* "uninitialized element": call_indirect through null */
  WP_TRAP_SIGNATURE_MISMATCH, /* "indirect call type mismatch" */
  WP_TRAP_STACK_EXHAUSTED,    /* "call stack exhausted" */
  WP_TRAP_COUNT
} wp_trap_kind;

#define WP_NO_OFFSET UINT32_MAX
#define WP_NO_FUNC UINT32_MAX

/* wp_error: what went wrong and where.  offset is a byte offset in the module
 * binary (WP_NO_OFFSET when none applies); func is a function index in the
 * module's function index space (WP_NO_FUNC when none applies). */
typedef struct wp_error {
  wp_error_kind kind;
  wp_trap_kind trap;
  uint32_t offset;
  uint32_t func;
  char message[256];
  int exit_code;     /* WP_ERR_EXIT: the guest's exit status */
} wp_error;

/* wp_trap_message: the spec's wording for a trap kind ("unreachable", ...). */
const char *wp_trap_message(wp_trap_kind kind);
/* wp_trap_name: a short identifier ("unreachable", "memory_oob", ...). */
const char *wp_trap_name(wp_trap_kind kind);

/* ---- opaque objects ---------------------------------------------------- */

typedef struct wp_module wp_module;     /* decoded and validated module */
typedef struct wp_instance wp_instance; /* instantiated module */
typedef struct wp_exec wp_exec;         /* execution context: stacks of one thread */
typedef struct wp_func wp_func;         /* function instance (guest or host) */
typedef struct wp_memory wp_memory;     /* memory instance */
typedef struct wp_table wp_table;       /* table instance */
typedef struct wp_global wp_global;     /* global instance */
typedef struct wp_functype wp_functype; /* function type */

/* ---- modules ---------------------------------------------------------- */

/* wp_module_new: decode and validate a binary module.  The bytes are copied.
 * On failure returns NULL with err->kind WP_ERR_DECODE or WP_ERR_VALIDATE. */
wp_module *wp_module_new(const uint8_t *bytes, size_t len, wp_error *err);
void wp_module_free(wp_module *module);

/* Limits on a memory or table type (max is meaningful when has_max). */
typedef struct wp_limits {
  uint32_t min, max;
  bool has_max;
} wp_limits;

/* wp_extern_type: the type of an import or export, read from the module. */
typedef struct wp_extern_type {
  wp_extern_kind kind;
  const wp_functype *func; /* WP_EXTERN_FUNC */
  wp_limits limits;        /* WP_EXTERN_TABLE, WP_EXTERN_MEMORY */
  wp_valtype valtype;      /* WP_EXTERN_TABLE: element type; WP_EXTERN_GLOBAL: value type */
  bool mutable_;           /* WP_EXTERN_GLOBAL */
} wp_extern_type;

uint32_t wp_module_import_count(const wp_module *m);
/* wp_module_import: module name and field name (UTF-8, not NUL-terminated). */
void wp_module_import(const wp_module *m, uint32_t i, const char **module, uint32_t *module_len,
                      const char **name, uint32_t *name_len, wp_extern_type *type);
uint32_t wp_module_export_count(const wp_module *m);
void wp_module_export(const wp_module *m, uint32_t i, const char **name, uint32_t *name_len,
                      wp_extern_type *type);

uint32_t wp_functype_param_count(const wp_functype *t);
uint32_t wp_functype_result_count(const wp_functype *t);
wp_valtype wp_functype_param(const wp_functype *t, uint32_t i);
wp_valtype wp_functype_result(const wp_functype *t, uint32_t i);

/* wp_custom_section: the i-th custom section's name and payload, as byte
 * ranges of the module's own copy of the binary. Returns false past the end. */
bool wp_module_custom_section(const wp_module *m, uint32_t i, const char **name, uint32_t *name_len,
                              const uint8_t **data, uint32_t *data_len);

/* ---- execution contexts and frames --------------------------------------- */

/* wp_frame: one activation on the guest frame stack, innermost last.
 *   func: the function running in this frame (guest or host).
 *   pc:   for a guest function, the internal instruction the frame is at:
 *         the call instruction for every frame below the top one, and for
 *         the top frame the current instruction whenever control has left
 *         the interpreter loop (call, host call, trap).  NULL in host frames.
 *   fp:   the frame's first local (parameters, then declared locals, then
 *         the operand stack) in the context's value stack; for a host frame,
 *         its arguments.
 *   sp:   one past the frame's topmost operand, valid under the same
 *         conditions as pc.
 * wp_frame_offset() maps pc back to a module byte offset. */
typedef struct wp_frame {
  wp_func *func;
  const void *pc;
  wp_slot *fp;
  wp_slot *sp;
} wp_frame;

/* Limits of an execution context; zero fields take the defaults. */
typedef struct wp_exec_limits {
  uint32_t max_frames;      /* default 50000: deeper calls trap "call stack exhausted" */
  uint32_t value_stack_slots; /* default 4M slots (32 MiB, reserved lazily) */
} wp_exec_limits;

wp_exec *wp_exec_new(const wp_exec_limits *limits, wp_error *err);
/* wp_exec_caller_memory: for a host function running on ex, memory 0 of the
 * guest function that called it (the frame just below the host frame), or
 * NULL when the caller is not a guest function or has no memory. */
wp_memory *wp_exec_caller_memory(const wp_exec *ex);
void wp_exec_free(wp_exec *ex);

/* The frame stack: frames[0 .. count-1], innermost last. */
uint32_t wp_exec_frame_count(const wp_exec *ex);
const wp_frame *wp_exec_frame(const wp_exec *ex, uint32_t i);

/* wp_frame_offset: the module byte offset of the instruction a frame is at,
 * or WP_NO_OFFSET for host frames. */
uint32_t wp_frame_offset(const wp_frame *frame);
/* wp_frame_func_index: the function's index in its module, WP_NO_FUNC for host functions. */
uint32_t wp_frame_func_index(const wp_frame *frame);

/* ---- functions and calls ---------------------------------------------------- */

/* A host function: args_results holds the arguments on entry and receives the
 * results (its length is max(params, results)).  Return 0 on success; on
 * failure fill err (kind WP_ERR_HOST or WP_ERR_TRAP) and return non-zero. */
typedef int (*wp_host_fn)(wp_exec *ex, void *ctx, wp_slot *args_results, wp_error *err);

/* wp_functype_new: a function type for host functions; types are wp_valtype. */
wp_functype *wp_functype_new(uint32_t nparams, const wp_valtype *params, uint32_t nresults,
                             const wp_valtype *results);
void wp_functype_free(wp_functype *t);
bool wp_functype_equal(const wp_functype *a, const wp_functype *b);

/* wp_func_new_host: a host function; the type is copied. ctx_free, if set,
 * is called on ctx when the function is freed. */
wp_func *wp_func_new_host(const wp_functype *type, wp_host_fn fn, void *ctx, void (*ctx_free)(void *));
void wp_func_free(wp_func *f); /* host functions only */
const wp_functype *wp_func_type(const wp_func *f);
/* wp_func_instance: the instance a guest function belongs to (NULL for host). */
wp_instance *wp_func_instance(const wp_func *f);
/* wp_func_index: the function's index in its module (WP_NO_FUNC for host). */
uint32_t wp_func_index(const wp_func *f);

/* wp_call: call f with args (one slot per parameter), writing its results.
 * On a trap, err describes it and the frame stack still holds the trapping
 * frames until the next call on ex (read them for a backtrace); returns
 * non-zero on failure. Host functions may call wp_call re-entrantly. */
int wp_call(wp_exec *ex, wp_func *f, const wp_slot *args, wp_slot *results, wp_error *err);

/* ---- memories, tables, globals ------------------------------------------------ */

wp_memory *wp_memory_new(wp_limits limits, wp_error *err);
void wp_memory_free(wp_memory *m); /* host-created memories only */
uint8_t *wp_memory_data(const wp_memory *m);
uint64_t wp_memory_size(const wp_memory *m); /* bytes */
wp_limits wp_memory_limits(const wp_memory *m); /* current pages as min */
/* wp_memory_grow: returns the old size in pages, or -1 on failure. */
int64_t wp_memory_grow(wp_memory *m, uint32_t delta_pages);

wp_table *wp_table_new(wp_valtype elemtype, wp_limits limits, wp_slot init, wp_error *err);
void wp_table_free(wp_table *t);
uint32_t wp_table_size(const wp_table *t);
wp_valtype wp_table_elemtype(const wp_table *t);
wp_limits wp_table_limits(const wp_table *t);
bool wp_table_get(const wp_table *t, uint32_t i, wp_slot *out);
bool wp_table_set(wp_table *t, uint32_t i, wp_slot value);
int64_t wp_table_grow(wp_table *t, uint32_t delta, wp_slot init);

/* Globals hold two slots so that a v128 fits; numbers use value[0]. */
wp_global *wp_global_new(wp_valtype type, bool mutable_, wp_slot value);
void wp_global_free(wp_global *g);
wp_valtype wp_global_type(const wp_global *g);
bool wp_global_mutable(const wp_global *g);
wp_slot wp_global_get(const wp_global *g);
void wp_global_set(wp_global *g, wp_slot value);

/* ---- instances ------------------------------------------------------------- */

/* wp_import_value: one resolved import, in the module's import order. */
typedef struct wp_import_value {
  wp_extern_kind kind;
  union {
    wp_func *func;
    wp_table *table;
    wp_memory *memory;
    wp_global *global;
  } u;
} wp_import_value;

/* wp_instance_new: link imports (one per module import, in order; checked
 * against the import types), initialise tables and memories from active
 * segments and run the start function on ex.  Errors: WP_ERR_LINK for bad
 * imports, WP_ERR_TRAP when a segment is out of bounds or the start
 * function traps (an instance whose segments were partly written stays as
 * the spec says: what was written remains visible through shared imports).
 * The module and every imported object must outlive the instance. */
wp_instance *wp_instance_new(const wp_module *module, const wp_import_value *imports,
                             uint32_t nimports, wp_exec *ex, wp_error *err);
void wp_instance_free(wp_instance *inst);
const wp_module *wp_instance_module(const wp_instance *inst);

/* wp_instance_export: look an export up by name; false if absent. */
bool wp_instance_export(const wp_instance *inst, const char *name, uint32_t name_len,
                        wp_import_value *out);

/* ---- coredumps (coredump.c) ---------------------------------------------------- */

/* wp_coredump_write: after a wp_call on ex failed, write the guest frames it
 * left (innermost first, host frames skipped) with every local and operand
 * value, plus the memories and globals of the instances on that stack, as a
 * WebAssembly coredump (tool-conventions Coredump.md) at path.  Code offsets
 * are relative to the function body's start (the first byte after the body
 * size).  executable_name goes in the "core" section (NULL: the innermost
 * module's name-section name, else "wasm").  The file appears atomically
 * (temporary file in the same directory, fsync, rename; mode 0600); on
 * failure nothing is left behind and err says why. */
int wp_coredump_write(const wp_exec *ex, const char *path, const char *executable_name, wp_error *err);
/* ---- native functions, limits and interrupts ------------------------------------------------ */

/* wp_func_new_native: a host function that is a plain C function, called
 * through libffi with the C signature the wasm type implies: i32 -> int32_t,
 * i64 -> int64_t, f32 -> float, f64 -> double, no result -> void.  At most
 * one result; reference and vector types are rejected (WP_ERR_ARG, with a
 * message saying why).  The call description (ffi_cif) is prepared here
 * once.  Free with wp_func_free.  Example: wp_func_new_native(t, (void (*)(void))cos, &err). */
wp_func *wp_func_new_native(const wp_functype *type, void (*fn)(void), wp_error *err);
/* wp_func_is_native: whether f was made by wp_func_new_native. */
bool wp_func_is_native(const wp_func *f);

/* wp_instance_config: host-set limits of one instance; zero fields mean "no
 * limit of this kind".
 *   max_memory_pages: the memories the instance defines never grow past this
 *     many pages (memory.grow returns -1, as the spec allows); instantiating
 *     a memory whose minimum is larger fails with WP_ERR_LIMIT.  Memories the
 *     instance imports keep their owner's limits.
 *   max_call_depth: a wp_call of one of this instance's functions may push at
 *     most this many frames (counted from that call); deeper calls trap
 *     "call stack exhausted" with a message naming the limit. */
typedef struct wp_instance_config {
  uint32_t max_memory_pages;
  uint32_t max_call_depth;
} wp_instance_config;

/* wp_instance_new_config: wp_instance_new with limits (config may be NULL). */
wp_instance *wp_instance_new_config(const wp_module *module, const wp_import_value *imports, uint32_t nimports,
                                    const wp_instance_config *config, wp_exec *ex, wp_error *err);

/* Interrupts.  A running guest looks at its context's interrupt flags only
 * at loop back-edges (backward branches) and at calls, so an interrupt
 * costs nothing per instruction and is seen within one loop iteration.
 *
 * wp_exec_interrupt: ask the guest running on ex to stop; it stops at its
 * next check with WP_ERR_INTERRUPT (frames kept for a backtrace, the
 * instance stays usable).  A request made while nothing runs stops the next
 * guest at its first check; wp_exec_clear_interrupt drops it.  Only sets a
 * flag: async-signal-safe and callable from any thread. */
void wp_exec_interrupt(wp_exec *ex);
void wp_exec_clear_interrupt(wp_exec *ex);

/* A poll hook: called at the next check after wp_exec_request_poll, with the
 * guest's frames saved (pc and sp current).  Return 0 to go on, or fill err
 * and return non-zero to stop the guest with that error.  Hosts use it to
 * run their own signal handling or yield a lock from inside long loops.
 * wp_exec_request_poll is async-signal-safe and callable from any thread. */
typedef int (*wp_poll_fn)(wp_exec *ex, void *ctx, wp_error *err);
void wp_exec_set_poll(wp_exec *ex, wp_poll_fn fn, void *ctx);
void wp_exec_request_poll(wp_exec *ex);

#ifdef __cplusplus
}
#endif
#endif
