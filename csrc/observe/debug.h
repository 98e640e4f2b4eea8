/* debug.h: the debugger's state (debug.c, debug_replay.c) and what the
 * stepping loop (loop_step.c, an instantiation of loop_template.h) calls.
 *
 * How the stepping loop stops without checking anything per instruction
 * but a decrement:
 *   - A countdown lives in a register of the loop.  Every dispatch of an
 *     instruction decrements it; when it reaches 0 the loop saves pc/sp in
 *     the top frame and calls wp_debug_check (before the instruction at pc
 *     runs).  The check counts the instructions run (icount), takes a
 *     snapshot when one is due, and either pauses (returns 0: the loop
 *     returns 1) or sets a new countdown.  Tick cells (XOP_tick) are not
 *     instructions: the tick handler adds back what its dispatch took, and
 *     the loop never pauses at one.
 *   - Breakpoints are patched handler cells (XOP_break); the original
 *     handler is kept in a process-wide registry (shared code: several
 *     debuggers may patch the same cell).  Elsewhere they cost nothing.
 *   - Things noticed in the middle of an instruction (a watched write, a
 *     function entry, a return to the frame a step-out waits for, a tick
 *     target inside the block just charged, an interrupt request) lower the
 *     countdown to 1 (wp_debug_lower), so the check runs right after that
 *     instruction, and record why in `pending`.
 *   - Superinstructions (code.h: stepping code) take from the countdown
 *     one per wasm instruction they replace, and only when no expiry falls
 *     inside them; else they go on in the unfused copy.  None of them
 *     writes memory or a global, so a watched write is one instruction.
 * Accounting: icount + (cd_set - countdown) instructions have completed
 * whenever the loop is inside an instruction's handler (the instruction
 * being run is not counted yet). */
#ifndef WP_DEBUG_H
#define WP_DEBUG_H

#include "runtime.h"

#define WP_DEBUG_FOREVER (UINT64_C(1) << 62) /* a countdown that never expires in practice */
#define WP_DEBUG_NONE UINT64_MAX

/* A breakpoint: a patched cell, or a function entry (cell NULL). */
typedef struct wp_dbg_break {
  uint32_t id;
  wp_cell *cell;
  uint32_t func;          /* function index in the debugged instance's module */
  uint32_t offset;        /* module offset of the instruction (entry breakpoints: the body's first) */
  wp_cell *fused_cell;    /* its patch in the fused copy of stepping code (code.h), or NULL */
  bool fused_unfuse;      /* that cell is a superinstruction: patched with XOP_unfuse */
  bool enabled;
} wp_dbg_break;

/* A watchpoint on a memory range of memory 0 or on a global; shadow holds
 * the value last seen (len bytes, or the global's two slots). */
typedef struct wp_dbg_watch {
  uint32_t id;
  bool global;
  uint32_t index;
  uint64_t addr, len;
  uint8_t *shadow;
} wp_dbg_watch;

/* One recorded host call (debug_replay.c): its status and error, its
 * results (res_at in d->slots), what it did to memory 0 (page count after
 * it, then ndiffs ranges from diff_at in d->diffs, bytes in d->bytes) and
 * the ticks run by guest code it re-entered. */
typedef struct wp_dbg_host_rec {
  int rc;
  wp_error err;
  uint32_t nres;
  uint64_t res_at;
  uint64_t pages_after;
  uint64_t diff_at;
  uint32_t ndiffs;
  uint64_t ticks;
} wp_dbg_host_rec;

typedef struct wp_dbg_diff {
  uint64_t addr, len, at;
} wp_dbg_diff;

/* A snapshot (debug_replay.c): everything execution reads, at a check. */
typedef struct wp_dbg_snap {
  uint64_t icount, ticks, exact, log_pos;
  uint32_t nframes;
  wp_frame *frames;
  wp_slot *stack;
  size_t nstack;
  uint8_t *mem;
  uint64_t mem_size;
  wp_slot *globals;     /* two per global of the instance */
  wp_slot **tables;
  uint32_t *table_sizes;
  uint32_t ntables;
  uint8_t *dropped;     /* data then elem segment flags */
  size_t bytes;         /* what it holds, for the memory budget */
} wp_dbg_snap;

/* One traced instruction: before it ran. */
typedef struct wp_dbg_trace {
  uint64_t icount, ticks;
  uint32_t func, offset;
} wp_dbg_trace;

struct wp_debug {
  wp_exec *ex;             /* the debugger's own context (ex->dbg == this) */
  wp_instance *inst;       /* retained */
  bool in_call;            /* a call is under way (paused) */
  bool finished;           /* the call returned (or failed): results / err hold how */
  wp_func *callee;
  wp_slot *results;        /* the finished call's results */
  uint64_t end_icount, end_ticks;

  /* The command being run (wp_debug_resume). */
  uint64_t countdown;      /* what the loop starts with */
  uint64_t cd_set;         /* the countdown when last set (accounting above) */
  uint64_t icount;         /* instructions completed when the countdown was last set */
  uint64_t step_target;    /* pause when icount reaches this (WP_DEBUG_NONE: never) */
  uint64_t tick_target;    /* pause at the first instruction with at least this many ticks */
  uint32_t stop_frames;    /* pause after a return leaves at most this many frames (0: never) */
  bool stops_on;           /* breakpoints and watchpoints pause */
  int pending;             /* wp_stop_reason noticed mid-instruction */
  uint32_t pending_id;
  bool on_enter;           /* function breakpoints or a profile: HOOK_ENTER calls wp_debug_entered */

  /* Why the last command paused. */
  int reason;              /* wp_stop_reason */
  uint32_t hit_id;         /* breakpoint or watchpoint */
  uint8_t *old_value, *new_value; /* a watchpoint's bytes before and after */
  uint64_t value_len, value_cap;
  wp_error err;            /* WP_STOP_ERROR, WP_STOP_INTERRUPT */

  /* Breakpoints and watchpoints. */
  wp_dbg_break *bps;
  uint32_t nbps, cap_bps, next_id;
  uint8_t *entry_bits;     /* one bit per function index: entry breakpoints */
  wp_dbg_watch *watches;
  uint32_t nwatches, cap_watches;
  uint64_t watch_lo, watch_hi; /* bounding range of the memory watchpoints (empty: lo > hi) */
  uint32_t nwatch_globals;

  /* Record and replay (debug_replay.c). */
  bool record;
  wp_dbg_host_rec *log;
  uint64_t nlog, cap_log, log_pos;
  wp_slot *slots;
  uint64_t nslots, cap_slots;
  wp_dbg_diff *diffs;
  uint64_t ndiffs, cap_diffs;
  uint8_t *bytes;
  uint64_t nbytes, cap_bytes;
  uint8_t *scratch;        /* memory before the host call being recorded */
  uint64_t scratch_cap;
  wp_dbg_snap *snaps;
  uint32_t nsnaps, max_snaps;
  uint64_t snap_every, next_snap;
  size_t snap_budget, snap_bytes;

  /* Tracing: record each instruction, pause when the buffer is full. */
  wp_dbg_trace *trace;
  uint32_t ntrace, trace_cap;
};

/* wp_stop_reason values are in wasmprof.h. */

/* ---- called by the stepping loop (loop_step.c) ---- */

/* wp_debug_lower: something to look at after the current instruction:
 * account for the instructions run so far and make the countdown 1. */
uint64_t wp_debug_lower(wp_debug *d, uint64_t countdown);
/* wp_debug_check: the countdown reached 0 before the instruction at the
 * top frame's pc.  0: pause; else the new countdown. */
uint64_t wp_debug_check(wp_exec *ex);
/* wp_debug_break: a patched cell was dispatched (countdown as it is now).
 * 0: pause; else go on (the countdown to keep) with wp_debug_handler(pc). */
uint64_t wp_debug_break(wp_exec *ex, uint64_t countdown);
/* wp_debug_handler: the handler to run for the instruction at pc: the
 * original one when a breakpoint is patched over it. */
const void *wp_debug_handler(const wp_cell *pc);
/* wp_debug_unfused: the instruction in the unfused copy where the
 * superinstruction at pc starts (f's stepping code; code.h). */
const wp_cell *wp_debug_unfused(const wp_func *f, const wp_cell *pc);
/* wp_debug_entered: a guest frame for f was pushed (on_enter or
 * wp_debug_entry_hook set). */
uint64_t wp_debug_entered(wp_exec *ex, wp_func *f, uint64_t countdown);
/* wp_debug_returned: a return left ex->nframes <= stop_frames. */
uint64_t wp_debug_returned(wp_debug *d, uint64_t countdown);
/* wp_debug_stored: an instruction wrote memory inside the watched range. */
uint64_t wp_debug_stored(wp_debug *d, const wp_memory *mem, uint64_t countdown);
/* wp_debug_global_set: a global.set ran while globals are watched. */
uint64_t wp_debug_global_set(wp_debug *d, uint64_t countdown);
/* wp_debug_host_call: call (or replay) a host function for the loop. */
int wp_debug_host_call(wp_exec *ex, wp_func *callee, wp_slot *args, wp_error *err);

/* ---- shared by debug.c and debug_replay.c ---- */

/* Exact ticks before the instruction at the top frame's pc. */
uint64_t wp_debug_exact_ticks(const wp_debug *d);
/* A snapshot of the paused state (at a check); false on OOM (none taken). */
bool wp_debug_snapshot(wp_debug *d);
void wp_debug_snaps_free(wp_debug *d);
void wp_debug_log_free(wp_debug *d);
/* Re-read the watched values (after a pause, a restore or a write). */
void wp_debug_watch_sync(wp_debug *d);
/* Check the memory (or global) watchpoints against their shadows; sets
 * pending on a change (when stops are on). */
bool wp_debug_watch_changed(wp_debug *d, bool globals);

#endif
