/* runtime.h: instances and the objects they own or import, and the
 * execution context.  instance.c builds them, exec.c runs on them. */
#ifndef WP_RUNTIME_H
#define WP_RUNTIME_H

#include "code.h"

#include <stdatomic.h>

#define WP_PAGE_SIZE 65536u
#define WP_MAX_PAGES 65536u

/* wp_func: a function instance.  Guest functions are owned by their
 * instance (inst != NULL, body != NULL); host functions by the host.
 * What only host functions need beyond the call itself (the context's
 * destructor, their own copy of the type) lives in func.c's wrapper, so
 * that an instance's array of guest functions (one per defined function:
 * 100,000 in a big module, all written at instantiation) stays small. */
struct wp_func {
  const wp_functype *type;
  wp_instance *inst;      /* guest: owning instance; host: NULL */
  uint32_t index;         /* guest: index in the module's function space */
  wp_func_body *body;     /* guest: the module's body (holds the lazily built code) */
  wp_host_fn host;        /* host */
  void *host_ctx;
};

/* wp_memory: data never moves.  The whole reachable range (max pages, or
 * 4 GiB when unbounded) is reserved once without access, and growing makes
 * more of it readable and writable, so mem_base may live in a register
 * across calls; only `size` changes. */
struct wp_memory {
  uint8_t *data;
  uint64_t size;          /* bytes accessible = pages * 64 KiB */
  uint64_t reserved;      /* bytes reserved */
  wp_limits limits;       /* limits.min is the current page count */
  uint32_t host_max_pages; /* a host-set ceiling below limits.max (0: none; wp_instance_config) */
};

/* wp_keepalive: the foreign instances a table or global holds functions of
 * (keepalive.c says why).  owner: the instance that defined the holder,
 * NULL for host-created ones. */
typedef struct wp_keepalive {
  wp_instance *owner;
  wp_instance **items;
  uint32_t n, cap;
} wp_keepalive;

/* wp_keepalive_add: retain funcref's instance if foreign; false on OOM. */
bool wp_keepalive_add(wp_keepalive *k, wp_slot funcref);
void wp_keepalive_release(wp_keepalive *k);

/* wp_table: references as slots (0 = null). A table that receives a guest
 * function of another instance keeps that instance alive (retained[]).
 * owner is the instance that defined the table (NULL for host tables); its
 * own functions are not retained, since that would be a reference cycle. */
struct wp_table {
  wp_slot *elems;
  uint32_t size, cap;
  wp_limits limits;       /* limits.min is the current size */
  uint8_t elemtype;
  wp_keepalive keep;
};

struct wp_global {
  wp_slot value[2];
  uint8_t type;
  bool mutable_;
  wp_keepalive keep; /* funcref globals only */
};

/* wp_global_store: set a global's value, keeping a funcref's instance alive. */
bool wp_global_store(wp_global *g, wp_slot value);
/* wp_global_release: drop what an instance's own global keeps alive. */
void wp_global_release(wp_global *g);

/* wp_instance: reference-counted (wp_instance_free drops one reference). */
struct wp_instance {
  const wp_module *module;
  atomic_uint refcount;   /* atomic: instances that share one (keepalive) may be freed from different threads */
  wp_func **funcs;        /* function index space: imports, then &own_funcs[i] */
  wp_func *own_funcs;
  wp_table **tables;
  wp_memory **mems;
  wp_global **globals;
  wp_table *own_tables;   /* defined objects (arrays, one allocation each) */
  wp_memory *own_mems;
  wp_global *own_globals;
  uint8_t *elem_dropped;  /* one flag per element segment */
  uint8_t *data_dropped;  /* one flag per data segment */
  uint32_t max_memory_pages; /* wp_instance_config: ceiling for the memories it defines (0: none) */
  uint32_t max_call_depth; /* wp_instance_config: frames a wp_call into it may push (0: no limit) */
  struct wp_instance *roots_prev, *roots_next; /* the list of live instances (debug_roots.c) */
};

void wp_instance_retain(wp_instance *inst);

/* wp_table_store: write a reference, retaining a foreign instance if needed. */
bool wp_table_store(wp_table *t, uint32_t i, wp_slot value);

/* wp_entry_record: one wp_call in progress on a context, on the C stack of
 * the thread running it (debug_roots.c says who reads it and why). */
typedef struct wp_entry_record {
  struct wp_entry_record *prev; /* the entry this one is nested in (same context), or NULL */
  uint32_t base;               /* frames[base] is this entry's first frame */
} wp_entry_record;

/* wp_exec: the stacks of one thread of guest execution.  Nested entries
 * (host -> guest -> host -> guest) share both stacks, so a backtrace taken
 * at any point shows every guest frame. */
struct wp_exec {
  wp_slot *stack, *stack_end;   /* value stack (reserved lazily) */
  wp_slot *sp;                  /* first free slot while no guest code runs in this entry */
  wp_frame *frames;
  uint32_t nframes, max_frames;
  size_t stack_bytes;
  uint32_t depth;               /* nesting of wp_call entries */
  uint32_t trap_nframes;        /* after a failed wp_call: frames[0..trap_nframes) as they were.
                                 * Reset at every wp_call entry, and by a host function that
                                 * returns normally after catching a nested failure (the
                                 * Python trampoline does), so no stale frame outlives it. */
  /* Metering and profiling (meter.c, profile.c): the variant entries run
   * with, the tick counter the ticked loop advances, the
   * limit (UINT64_MAX: none) and its size for the message, the prices. */
  uint8_t variant;              /* wp_variant */
  uint64_t ticks, tick_limit, tick_budget;
  uint64_t tick_stop;           /* where ticked loops stop: min(limit, next callback) */
  uint64_t tick_next, tick_every; /* the periodic tick callback (wp_exec_set_tick_callback) */
  wp_tick_callback tick_cb;
  void *tick_ctx;
  wp_cost_model cost;
  struct wp_profile *prof;
  uint64_t *prof_blocks;        /* with a profile, the block counters of the running code (profile.h) */
  /* Interrupts (wasmprof.h): WP_INTERRUPT_* bits, set from any thread or a
   * signal handler, read by the loop only at back-edges and calls. */
  atomic_uint interrupt;
  wp_poll_fn poll;
  void *poll_ctx;
  uint32_t frames_cap;          /* frames allocated; max_frames is the ceiling in force */
  struct wp_debug *dbg;         /* the debugger session this context belongs to (debug.c), or NULL */
  /* Roots for debuggers (debug_roots.c): the list of live contexts and the
   * innermost wp_call in progress.  Written at creation, free and wp_call
   * entry and exit only; the loops never touch them. */
  struct wp_exec *roots_prev, *roots_next;
  wp_entry_record *entry;
  /* A profiling session (profile_session.c): armed by wp_call, never read by the loops. */
  struct wp_profile_session *session;
};

/* profile_session.c: at a wp_call entry with a session on ex: put its
 * profile on ex when this entry is to be profiled (true: disarm after). */
bool wp_session_arm(wp_exec *ex, const wp_func *f);
void wp_session_disarm(wp_exec *ex);

/* debug_roots.c: add a new context to (remove a freed one from) the list
 * of live contexts that debuggers read. */
void wp_roots_add_exec(wp_exec *ex);
void wp_roots_remove_exec(wp_exec *ex);
void wp_roots_add_instance(wp_instance *inst);
void wp_roots_remove_instance(wp_instance *inst);

/* meter.c: choose ex->variant and tick_stop from the limit, the callback
 * and the profile. */
void wp_exec_update_variant(wp_exec *ex);
/* meter.c: a ticked loop is about to pass tick_stop with ticks_after: the
 * limit (-1, err filled) or a callback checkpoint (0: go on, or -1 when
 * the callback stops the guest). */
int wp_tick_stop_reached(wp_exec *ex, wp_func *func, const void *pc, uint64_t ticks_after, wp_error *err);

#define WP_INTERRUPT_STOP 1u /* wp_exec_interrupt */
#define WP_INTERRUPT_POLL 2u /* wp_exec_request_poll */

/* wp_exec_checkpoint (exec.c): act on ex->interrupt at a check in the loop,
 * whose frame pc/sp are saved.  0: go on; -1: stop with err filled. */
int wp_exec_checkpoint(wp_exec *ex, wp_error *err);

/* exec.c: run guest function f whose arguments are at ex->sp[0..nparams);
 * on success the results are at the same place. */
int wp_exec_invoke(wp_exec *ex, wp_func *f, wp_error *err);

/* Trap helper for code outside the loop (instance.c's segment init). */
int wp_trap(wp_error *err, wp_trap_kind kind);

/* Memory and table primitives shared by the loop, instance.c and the API. */
int64_t wp_memory_grow_pages(wp_memory *m, uint32_t delta);
int64_t wp_table_grow_by(wp_table *t, uint32_t delta, wp_slot init);
int wp_memory_init_reserve(wp_memory *m, wp_limits limits, wp_error *err);
void wp_memory_release(wp_memory *m);
int wp_table_init_storage(wp_table *t, uint8_t elemtype, wp_limits limits, wp_slot init, wp_error *err);
void wp_table_release(wp_table *t);

/* wp_table_init_segment: table.init (instance.c); -1 when out of bounds. */
int wp_table_init_segment(wp_instance *inst, uint32_t table, uint32_t elem, uint32_t d, uint32_t s, uint32_t n);

/* wp_eval_constexpr: evaluate a validated constant expression of inst's module
 * (globals read from inst->globals, which must be set for the imported ones). */
void wp_eval_constexpr(const wp_instance *inst, wp_constexpr e, wp_slot out[2]);

#endif
