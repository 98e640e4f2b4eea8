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
 * read it.  Debuggers find every live context and instance from the
 * `wasmprof_debug` root (csrc/observe/debug_roots.c), reading memory only, so core
 * files work too (gdb/, README "Debugging the host with GDB").
 *
 * Threads (docs/guides/threads.md; tests/c/threads_host.c checks it under
 * ThreadSanitizer):
 *   - A wp_module is shared freely: any number of threads may instantiate
 *     it and run its functions at once.  What it builds lazily (each
 *     function's internal code, per loop variant and per price table; the
 *     name and DWARF tables) is built by the first thread that needs it and
 *     published atomically; published code is never changed.
 *   - Host functions (wp_func_new_host, wp_func_new_native), function
 *     types and cost models are read-only once made: shared freely (a host
 *     function's own code must be thread-safe if several threads call it).
 *   - A wp_exec is one thread's stacks: used by one thread at a time.
 *     wp_exec_interrupt, wp_exec_clear_interrupt and wp_exec_request_poll
 *     may be called from any thread (or a signal handler).
 *   - A wp_instance, its memories, tables and globals, and everything it
 *     shares state with (instances it imports from or that import from it,
 *     imported host-made memories, tables and globals) are used by one
 *     thread at a time: hand them over under a lock.  Creating and freeing
 *     instances of one module on many threads at once is fine, also when
 *     they keep a common instance alive (its reference count is atomic).
 *   - A wp_profile belongs to its context until wp_profile_stop.  A
 *     wp_debug session is used by one thread at a time, and so are all the
 *     sessions over instances of one module together (breakpoints patch the
 *     module's shared stepping code).
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
/* wp_module_new_borrowed: the same, without the copy: the module reads the
 * caller's bytes in place, so they must stay alive and unchanged until
 * wp_module_free.  For hosts that hold the binary immutably anyway (the
 * Python binding with a bytes object): a big module loads without copying
 * (and faulting in) its megabytes of code and debugging sections. */
wp_module *wp_module_new_borrowed(const uint8_t *bytes, size_t len, wp_error *err);
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

/* wp_module_set_file_name: record the file the module was read from (a
 * copy is kept; NULL forgets it).  A module without a name of its own (the
 * name section's) is then called by the file's base name where it must be
 * named, as in coredumps.  Returns false when out of memory. */
bool wp_module_set_file_name(wp_module *m, const char *path);
/* wp_module_file_name: the path given to wp_module_set_file_name, or NULL. */
const char *wp_module_file_name(const wp_module *m);

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

/* ---- ticks, tick limits and profiles (meter.c, profile.c) ------------------------ */

/* A tick is one executed wasm instruction by default; a cost model gives
 * each instruction (by its text name, "i32.add") its own price and can add
 * a price per function entry (charged to the callee).  Which instructions
 * count: every instruction of the body that runs, including nop, block,
 * loop, if, br, br_if, br_table, return, call and unreachable; `end` and
 * `else` count when reached by falling through (a branch lands after them);
 * `loop` counts when entered from above, not on each iteration; an
 * instruction that traps counts, the ones after it do not.
 *
 * Running with a tick limit or a profile uses other loop variants than the
 * plain one (which never counts), so they cost nothing when off. */
typedef struct wp_cost_model wp_cost_model;

/* wp_cost_model_new: every instruction costs default_cost, entries cost 0. */
wp_cost_model *wp_cost_model_new(uint32_t default_cost);
/* wp_cost_model_set: price every instruction with this text name; -1 when no
 * instruction has that name. */
int wp_cost_model_set(wp_cost_model *m, const char *name, uint32_t cost);
void wp_cost_model_set_per_call(wp_cost_model *m, uint32_t cost);
void wp_cost_model_free(wp_cost_model *m);

/* wp_exec_set_tick_limit: from now on, calls on ex may run at most max_ticks
 * more ticks (priced by cost, or one per instruction when NULL; a running
 * profile's prices win); 0 removes the limit.  Reaching it stops the guest
 * with WP_ERR_LIMIT "tick limit N reached" (checked at the start of each
 * straight-line block: the count never passes the limit); the instance
 * stays usable. */
void wp_exec_set_tick_limit(wp_exec *ex, uint64_t max_ticks, const wp_cost_model *cost);
/* wp_exec_ticks: ticks counted on ex so far (by limited or profiled runs). */
uint64_t wp_exec_ticks(const wp_exec *ex);

/* wp_tick_callback: called about every `every` ticks of limited or profiled
 * runs (and of runs the callback itself makes counted), with the frame
 * stack readable, e.g. to show progress or to let the host interrupt the
 * guest.  Return 0 to go on; non-zero stops the guest with err (fill it,
 * kind WP_ERR_HOST for the host's own error). */
typedef int (*wp_tick_callback)(wp_exec *ex, void *ctx, uint64_t ticks, wp_error *err);
/* wp_exec_set_tick_callback: install (cb non-NULL, every > 0) or remove it. */
void wp_exec_set_tick_callback(wp_exec *ex, uint64_t every, wp_tick_callback cb, void *ctx);

/* A profile: the call tree of everything run on one wp_exec between
 * wp_profile_start and wp_profile_stop.  Node 0 is the root (func NULL);
 * each other node is a distinct path of calls from it, with a child's id
 * greater than its parent's.  Memory grows with the number of distinct
 * paths, not with the number of calls. */
typedef struct wp_profile wp_profile;

typedef struct wp_profile_options {
  const wp_cost_model *cost; /* NULL: one tick per instruction (copied) */
  uint32_t max_depth;        /* 0: no cap; else calls deeper than this fold into the node at the cap
                              * (their ticks and time become its self cost; they are not counted as calls) */
  bool time;                 /* wall-clock time per node (CLOCK_MONOTONIC at each enter and leave) */
  bool events;               /* record the flamechart (call and return events) */
  uint32_t max_events;       /* events kept at most (0: 1,000,000); then events_truncated */
  uint64_t sample_every;     /* 0: every call and return.  N: a sampled flamechart: at the first call or
                              * return after each multiple of N ticks, the path running then is compared
                              * with the last one recorded and the difference is recorded as returns and
                              * calls stamped with that multiple (well nested, far fewer events) */
} wp_profile_options;

typedef struct wp_profile_node {
  uint32_t parent;           /* UINT32_MAX for the root */
  uint32_t depth;            /* root 0 */
  wp_func *func;             /* NULL for the root */
  uint64_t calls;            /* times entered */
  uint64_t self_ticks;       /* ticks run in this node's function (and folded deeper calls) */
  uint64_t self_time_ns;     /* with options.time */
  uint32_t first_child, next_sibling; /* UINT32_MAX: none; children in order of first call */
} wp_profile_node;

typedef enum wp_profile_event_kind { WP_EVENT_CALL = 0, WP_EVENT_RETURN = 1 } wp_profile_event_kind;

typedef struct wp_profile_event {
  uint32_t kind;             /* wp_profile_event_kind */
  uint32_t node;
  uint64_t ticks;            /* ticks run since the start of the profile */
  uint64_t time_ns;          /* since the start, with options.time */
} wp_profile_event;

/* wp_profile_start: start collecting on ex (one profile per context at a
 * time: WP_ERR_ARG otherwise). */
int wp_profile_start(wp_exec *ex, const wp_profile_options *options, wp_error *err);
/* wp_profile_stop: stop and hand the profile to the caller (NULL if none). */
wp_profile *wp_profile_stop(wp_exec *ex);
void wp_profile_free(wp_profile *p);
uint32_t wp_profile_node_count(const wp_profile *p);
const wp_profile_node *wp_profile_node_at(const wp_profile *p, uint32_t i);
uint32_t wp_profile_event_count(const wp_profile *p);
const wp_profile_event *wp_profile_event_at(const wp_profile *p, uint32_t i);
bool wp_profile_events_truncated(const wp_profile *p);
uint64_t wp_profile_total_ticks(const wp_profile *p);

/* Per-instruction counts of a stopped profile, for source lines: one
 * record per (node, instruction that ran there), sorted by node then
 * offset.  A node's records add up to its self_ticks exactly (a trap's
 * unexecuted instructions are not counted; frames folded by max_depth add
 * their instructions to the node at the cap).  Derived at wp_profile_stop
 * from per-block counters the profiled loop keeps (one increment per
 * straight-line block), so the modules whose code ran must still be alive
 * at wp_profile_stop. */
typedef struct wp_profile_insn {
  uint32_t node;
  uint32_t offset;           /* module offset of the instruction; WP_NO_OFFSET: the entry price
                              * (per_call * entries) of func */
  wp_func *func;             /* the function whose code it is (the node's, or a folded callee's) */
  uint64_t count;            /* executions (entries for the entry price) */
  uint64_t ticks;            /* count * the instruction's price */
  uint64_t calls;            /* count when it is a call or call_indirect, else 0 */
} wp_profile_insn;

uint32_t wp_profile_insn_count(const wp_profile *p);
const wp_profile_insn *wp_profile_insn_at(const wp_profile *p, uint32_t i);
/* wp_profile_insns_complete: false when some instructions went uncounted
 * (out of memory, or a debugger's profile that ran in the stepping loop):
 * the records then do not add up to the nodes' ticks. */
bool wp_profile_insns_complete(const wp_profile *p);

/* A profiling session: a profile that collects only the entries it is
 * asked for.  wp_profile_session_begin takes the profile just started on
 * ex (wp_profile_start, no guest running) off the context; from then on
 * each wp_call on ex that starts outside any profiled call, into a guest
 * function of `only` (of any instance when NULL), while not paused, runs
 * under that profile and adds a subtree under its root (calls of the same
 * function share one); everything else runs as if no profile existed, in
 * the plain loop when nothing else observes.  Guest calls made from host
 * functions inside a profiled entry are part of it.  The profile retains
 * the instance of each entry it took until it is freed.  Paused, entries are not
 * profiled (an entry in progress goes on being).  wp_profile_session_end
 * hands the profile over (NULL if no session, or while guest code runs). */
int wp_profile_session_begin(wp_exec *ex, const wp_instance *only, wp_error *err);
void wp_profile_session_pause(wp_exec *ex, bool paused);
bool wp_profile_session_active(const wp_exec *ex);
wp_profile *wp_profile_session_end(wp_exec *ex);

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

/* ---- names, source lines (names.c, dwarf.c) ----------------------------------
 * Debugging information is read lazily: nothing at wp_module_new, the
 * `name` section on the first name lookup, the DWARF sections on the first
 * source lookup.  The first lookup builds a cache inside the module (under
 * a lock: threads sharing the module may look up at once).
 *
 * Code offsets.  Every offset here is a module offset (bytes from the start
 * of the binary), like wp_error.offset and wp_frame_offset().  The "start"
 * of a function, for function-relative offsets (backtraces, coredump
 * frames), is the start of its body entry in the Code section: the first
 * byte after the body-size LEB128, i.e. where the local declarations begin
 * (the convention of wasmtime and the tool-conventions coredump format):
 *   function-relative offset = module offset - wp_module_func_body_offset().
 * DWARF addresses of wasm are offsets from the start of the Code section's
 * contents (its function count); wp_module_source_location() takes module
 * offsets and converts. */

/* wp_name_kind: the name section's subsection ids (extended-name proposal). */
typedef enum wp_name_kind {
  WP_NAME_MODULE = 0,
  WP_NAME_FUNC = 1,
  WP_NAME_LOCAL = 2,  /* index: function, sub: local */
  WP_NAME_LABEL = 3,  /* index: function, sub: label */
  WP_NAME_TYPE = 4,
  WP_NAME_TABLE = 5,
  WP_NAME_MEMORY = 6,
  WP_NAME_GLOBAL = 7,
  WP_NAME_ELEM = 8,
  WP_NAME_DATA = 9,
} wp_name_kind;

/* wp_module_name: the raw name (UTF-8, not NUL-terminated, pointing into the
 * module) of item `index` of `kind` (sub: the local or label index for
 * WP_NAME_LOCAL / WP_NAME_LABEL, else ignored).  False when it has none. */
bool wp_module_name(const wp_module *m, wp_name_kind kind, uint32_t index, uint32_t sub, const char **name,
                    uint32_t *len);
/* wp_module_func_display_name: function `func`'s name demangled (C++
 * Itanium, Rust legacy without its ::h<hash>, Rust v0), or the raw name when
 * it is not mangled; NUL-terminated, owned by the module, computed once.
 * NULL when the function has no name. */
const char *wp_module_func_display_name(const wp_module *m, uint32_t func);
/* wp_module_names_warning: why the name section was ignored (malformed),
 * or NULL when it was read (or is absent).  Forces the lazy parse. */
const char *wp_module_names_warning(const wp_module *m);
/* wp_demangle: a malloc'd demangled form of name, or NULL if not mangled. */
char *wp_demangle(const char *name, size_t len);

/* wp_module_func_body_offset: module offset of a defined function's body
 * entry (see "Code offsets" above); WP_NO_OFFSET for imports. */
uint32_t wp_module_func_body_offset(const wp_module *m, uint32_t func);
/* wp_module_func_at: the defined function whose body holds a module offset, or WP_NO_FUNC. */
uint32_t wp_module_func_at(const wp_module *m, uint32_t offset);

/* wp_source_location: a DWARF line-table row.  file is NUL-terminated and
 * owned by the module; column 0 means unknown.  function: the source
 * function the instruction belongs to from .debug_info (the inlined one
 * when the compiler inlined a call; demangled), NULL when unknown. */
typedef struct wp_source_location {
  const char *file;
  uint32_t line;
  uint32_t column;
  const char *function;
} wp_source_location;

/* wp_module_source_location: the source position of the instruction at a
 * module offset, from .debug_line (DWARF 2 to 5).  False when the module has
 * no line table covering it. */
bool wp_module_source_location(const wp_module *m, uint32_t offset, wp_source_location *out);
/* wp_module_dwarf_warning: why the line table or .debug_info was (partly)
 * ignored, or NULL. */
const char *wp_module_dwarf_warning(const wp_module *m);

/* wp_module_func_decl: where defined function `func` is declared in the
 * source (DW_AT_decl_file / DW_AT_decl_line of its DW_TAG_subprogram; file
 * and line only).  False without DWARF for it. */
bool wp_module_func_decl(const wp_module *m, uint32_t func, wp_source_location *out);

/* wp_source_frame: one source-level frame at a code offset. */
typedef struct wp_source_frame {
  const char *function; /* NULL when unknown */
  const char *file;     /* NULL when unknown */
  uint32_t line, column; /* 0 when unknown */
} wp_source_frame;

/* wp_module_source_frames: the source frames of the instruction at a
 * module offset, innermost first: [0] the function it belongs to (an
 * inlined one if the compiler inlined it) at the instruction's line; then,
 * for each inlined call, the function it was inlined into at the call site.
 * Writes at most max and returns the count (0 without debugging info). */
uint32_t wp_module_source_frames(const wp_module *m, uint32_t offset, wp_source_frame *out, uint32_t max);

/* ---- the debugger (debug.c, debug_replay.c, loop_step.c) ------------------------
 * A debugger session runs calls of one instance on its own execution
 * context through the stepping loop (a fourth instantiation of the
 * interpreter loop, over code without superinstructions, that can pause
 * before any instruction and resume).  It pauses where asked: after N
 * instructions, at breakpoints (patched instructions: free where none is
 * set), at function entries, after a watched memory range or global
 * changed, after a step-out's return, at a tick count.  Ticks are counted
 * with the default cost table (one per instruction), exactly as a profile
 * counts them.
 *
 * "Instruction" here means an instruction that has code: nop, block, loop
 * and end (which have none) run with the instruction after them.  The
 * number of instructions run since the call started (icount) is the
 * debugger's clock: the results of host calls (WASI included: return
 * values, what they wrote to memory 0, how it grew) are recorded, and
 * snapshots of the instance (memory 0, globals, tables, segment flags) and
 * of the stacks are taken every so many instructions (thinned as the run
 * grows, within a memory budget), so that the state at any earlier
 * icount is reached again by restoring a snapshot and replaying forward,
 * without calling the host.  Guest calls made by host functions on this
 * context run to completion without pausing (counted).  Only the debugged
 * instance's state is snapshotted. */
typedef struct wp_debug wp_debug;

typedef enum wp_stop_reason {
  WP_STOP_NONE = 0,
  WP_STOP_ENTRY,         /* a call is paused before its first instruction */
  WP_STOP_STEP,          /* the requested number of instructions ran */
  WP_STOP_BREAKPOINT,    /* before a breakpoint's instruction (wp_debug_stop_id: which) */
  WP_STOP_FUNC_ENTRY,    /* before the first instruction of a function with an entry breakpoint */
  WP_STOP_WATCH,         /* after an instruction or host call changed a watched range or global */
  WP_STOP_FRAME,         /* after a return left at most wp_debug_run.until_frames frames */
  WP_STOP_TICK,          /* at the first instruction with at least until_tick ticks */
  WP_STOP_TRACE_FULL,    /* the trace buffer is full */
  WP_STOP_INTERRUPT,     /* wp_exec_interrupt or the poll hook stopped it; resumable (err) */
  WP_STOP_RETURNED,      /* the call returned: wp_debug_results */
  WP_STOP_ERROR,         /* the call failed (trap, exit, host error, limit): err; frames kept */
} wp_stop_reason;

/* wp_debug_options: zero fields take the defaults. */
typedef struct wp_debug_options {
  uint64_t snapshot_every;   /* instructions between snapshots at first (default 2^20; doubles when thinned) */
  uint32_t max_snapshots;    /* kept at most (default 64) */
  size_t snapshot_budget;    /* bytes of snapshots kept at most (default 1 GiB; at least 2 are kept) */
  bool no_record;            /* do not record host calls (then nothing can go backwards past one) */
} wp_debug_options;

/* wp_debug_new: a session on inst (retained until wp_debug_free). */
wp_debug *wp_debug_new(wp_instance *inst, const wp_debug_options *options, wp_error *err);
void wp_debug_free(wp_debug *d);
/* wp_debug_exec: the session's execution context (its frame stack is the paused call's). */
wp_exec *wp_debug_exec(wp_debug *d);

/* wp_debug_call: start a call of f (a guest function of the instance) with
 * args, paused before its first instruction (WP_STOP_ENTRY).  Forgets the
 * previous call, its history and snapshots. */
int wp_debug_call(wp_debug *d, wp_func *f, const wp_slot *args, wp_error *err);

/* wp_debug_run: what to run to.  The first condition met pauses. */
typedef struct wp_debug_run {
  uint64_t steps;         /* pause after this many instructions (0: no limit) */
  uint64_t until_tick;    /* pause at the first instruction with at least this many ticks (0: none) */
  uint32_t until_frames;  /* pause after a return leaves at most this many frames (0: none) */
  bool stops;             /* breakpoints and watchpoints pause (false: run through them) */
  uint32_t trace;         /* record each instruction in a buffer of this many (0: no trace) */
} wp_debug_run;

/* wp_debug_resume: run the paused call; returns why it paused or ended. */
wp_stop_reason wp_debug_resume(wp_debug *d, const wp_debug_run *run);
/* What the last pause or end was about: the breakpoint or watchpoint id;
 * a watchpoint's value before and after (len bytes each); the error. */
uint32_t wp_debug_stop_id(const wp_debug *d);
const uint8_t *wp_debug_watch_values(const wp_debug *d, const uint8_t **after, uint64_t *len);
const wp_error *wp_debug_error(const wp_debug *d);
/* wp_debug_results: the returned call's results (NULL before). */
const wp_slot *wp_debug_results(const wp_debug *d);

/* The clock: instructions run since the call started, and exact ticks. */
uint64_t wp_debug_icount(const wp_debug *d);
uint64_t wp_debug_ticks(const wp_debug *d);

/* Breakpoints return an id (> 0), or 0 with err filled.
 * wp_debug_break_at: before the first instruction with code at or after
 * module offset `offset` of defined function `func` (*actual: its offset).
 * wp_debug_break_func: when function `func` is entered (before its first
 * instruction), calling wp_debug_func_entered first. */
uint32_t wp_debug_break_at(wp_debug *d, uint32_t func, uint32_t offset, uint32_t *actual, wp_error *err);
uint32_t wp_debug_break_func(wp_debug *d, uint32_t func, wp_error *err);
/* Watchpoints: memory 0 [addr, addr+len), or global `index`. */
uint32_t wp_debug_watch_memory(wp_debug *d, uint64_t addr, uint64_t len, wp_error *err);
uint32_t wp_debug_watch_global(wp_debug *d, uint32_t index, wp_error *err);
/* Enable, disable (the instruction is unpatched: free again) or delete one. */
int wp_debug_enable(wp_debug *d, uint32_t id, bool enabled);
int wp_debug_delete(wp_debug *d, uint32_t id);

/* wp_debug_func_entered: the native debugger's hook.  The stepping loop
 * calls it (never inlined, never optimised away) whenever a function with
 * an entry breakpoint is entered, with the new frame on ex's frame stack,
 * before the session pauses: a GDB breakpoint on this symbol (with a
 * condition on func_index) stops the host there.  While
 * wp_debug_entry_hook is non-zero (a native debugger writes it in a live
 * process: GDB's `wasm-break`) the stepping loop calls it on every guest
 * function entry, breakpoint or not.  Plain, counted and profiled calls
 * never call it. */
void wp_debug_func_entered(wp_exec *ex, uint32_t func_index);
extern volatile uint32_t wp_debug_entry_hook;

/* wp_debug_profile_start: profile the paused call from here on (its root
 * is "here"; wp_profile_start's defaults); wp_debug_profile_stop hands it over. */
int wp_debug_profile_start(wp_debug *d, wp_error *err);
wp_profile *wp_debug_profile_stop(wp_debug *d);

/* Going back.  wp_debug_restore: restore the latest snapshot taken at or
 * before instruction `icount` (returns its icount; the caller replays
 * forward with steps).  wp_debug_forget_future: the state was changed by
 * hand (a local, a global, memory): what was recorded after now is dropped. */
int wp_debug_restore(wp_debug *d, uint64_t icount, uint64_t *restored, wp_error *err);
void wp_debug_forget_future(wp_debug *d);

#ifdef __cplusplus
}
#endif
#endif
