/* exec.c: execution contexts, entry into the guest (wp_call) and the
 * choice of interpreter loop variant (loop_plain.c, loop_ticked.c: each an
 * instantiation of loop_template.h; loop_step.c, the debugger's, is entered
 * by debug.c only).
 *
 * Guest-to-guest calls never recurse in C: the loop pushes a wp_frame and
 * jumps.  The C stack grows only when a host function re-enters the guest,
 * and that nesting is bounded (WP_MAX_ENTRY_DEPTH). */
#define _DEFAULT_SOURCE /* MAP_NORESERVE */
#include <sys/mman.h>

#include "loop_variants.h"
#include "numeric.h"
#include "profile.h"
#include "runtime.h"

#define WP_DEFAULT_MAX_FRAMES 50000u
#define WP_DEFAULT_STACK_SLOTS (4u << 20)
#define WP_MAX_ENTRY_DEPTH 1000u

#ifndef WP_NO_OBSERVATION
static const wp_loop_fn loops[WP_VARIANT_COUNT] = {wp_loop_plain, wp_loop_ticked, wp_loop_step};
#else
/* -DWP_NO_OBSERVATION: the plain loop alone, for bench/zero_cost.py to show
 * that the observing variants cost the plain loop nothing.  Asking for
 * ticks or a profile fails in wp_exec_invoke. */
static const wp_loop_fn loops[WP_VARIANT_COUNT] = {wp_loop_plain, NULL, NULL};
#endif

/* priced_for: whether code serves variant v under cost (the plain loop's
 * code has no prices). */
static bool priced_for(const wp_code *code, wp_variant v, const wp_cost_model *cost) {
  return v == WP_VARIANT_PLAIN || code->cost_hash == cost->hash;
}

/* wp_func_code (loop_prelude.h): f's code for loop variant v, priced by
 * cost, translated on the first call that needs it.  Modules are shared by
 * threads (wasmprof.h, "Threads"): two threads may translate the same
 * function at once; the first to publish wins and the other frees its copy.
 * Published code is never changed, so a thread running it needs no lock. */
const wp_code *wp_func_code(wp_func *f, wp_variant v, const wp_cost_model *cost, wp_error *err) {
  _Atomic(wp_code *) *slot = &f->body->code[v];
  wp_code *head = atomic_load_explicit(slot, memory_order_acquire);
  for (wp_code *c = head; c; c = c->next)
    if (priced_for(c, v, cost)) return c;
  /* Each variant's handler table, read from its loop once (the same value
   * by every thread that reads it). */
  static _Atomic(wp_handler_table) handlers[WP_VARIANT_COUNT];
  wp_handler_table h = atomic_load_explicit(&handlers[v], memory_order_acquire);
  if (!h) {
    loops[v](NULL, 0, NULL, &h);
    atomic_store_explicit(&handlers[v], h, memory_order_release);
  }
  const wp_module *m = f->inst->module;
  uint32_t defined = f->index - m->nfuncs_imported;
  wp_code *code = v == WP_VARIANT_PLAIN  ? wp_compile(m, defined, h, err)
                  : v == WP_VARIANT_STEP ? wp_compile_stepping(m, defined, h, cost, err)
                                         : wp_compile_ticked(m, defined, h, cost, err);
  if (!code) {
    if (err) err->func = f->index;
    return NULL;
  }
  wp_code *seen = head;
  code->next = head;
  while (!atomic_compare_exchange_weak_explicit(slot, &code->next, code, memory_order_release,
                                                memory_order_acquire)) {
    /* Another thread pushed meanwhile: use its code if it has our prices. */
    for (wp_code *c = code->next; c != seen; c = c->next)
      if (priced_for(c, v, cost)) {
        wp_code_free(code);
        return c;
      }
    seen = code->next;
  }
  return code;
}

/* wp_code_holding: the code of f's (variant v) that holds pc (NULL: none). */
const wp_code *wp_code_holding(const wp_func *f, wp_variant v, const void *pc) {
  for (const wp_code *c = atomic_load_explicit(&f->body->code[v], memory_order_acquire); c; c = c->next)
    if ((const wp_cell *)pc >= c->cells && (const wp_cell *)pc < c->cells + c->ncells) return c;
  return NULL;
}

/* ---- contexts ---- */

wp_exec *wp_exec_new(const wp_exec_limits *limits, wp_error *err) {
  uint32_t max_frames = limits && limits->max_frames ? limits->max_frames : WP_DEFAULT_MAX_FRAMES;
  uint32_t slots = limits && limits->value_stack_slots ? limits->value_stack_slots : WP_DEFAULT_STACK_SLOTS;
  wp_exec *ex = wp_calloc(1, sizeof *ex);
  if (!ex) goto oom;
  ex->frames = wp_calloc(max_frames, sizeof(wp_frame));
  if (!ex->frames) goto oom;
  ex->max_frames = max_frames;
  ex->frames_cap = max_frames;
  /* Reserved, not committed: pages are touched only as deep as guests go. */
  ex->stack_bytes = (size_t)slots * sizeof(wp_slot);
  void *p = mmap(NULL, ex->stack_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) goto oom;
  ex->stack = p;
  ex->stack_end = ex->stack + slots;
  ex->sp = ex->stack;
  ex->tick_limit = UINT64_MAX;
  wp_cost_model_init_default(&ex->cost);
  wp_exec_update_variant(ex);
  wp_roots_add_exec(ex);
  return ex;
oom:
  if (ex) free(ex->frames);
  free(ex);
  wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory creating an execution context");
  return NULL;
}

void wp_exec_free(wp_exec *ex) {
  if (!ex) return;
  wp_roots_remove_exec(ex);
  if (ex->stack) munmap(ex->stack, ex->stack_bytes);
  wp_profile_free(ex->prof);
  wp_profile_free(wp_profile_session_end(ex));
  free(ex->frames);
  free(ex);
}

wp_memory *wp_exec_caller_memory(const wp_exec *ex) {
  if (!ex || ex->nframes < 2) return NULL;
  const wp_func *caller = ex->frames[ex->nframes - 2].func;
  if (!caller || !caller->inst || caller->inst->module->nmems == 0) return NULL;
  return caller->inst->mems[0];
}

uint32_t wp_exec_frame_count(const wp_exec *ex) { return ex->nframes; }

const wp_frame *wp_exec_frame(const wp_exec *ex, uint32_t i) {
  uint32_t n = ex->nframes > ex->trap_nframes ? ex->nframes : ex->trap_nframes;
  return i < n ? &ex->frames[i] : NULL;
}

uint32_t wp_frame_offset(const wp_frame *frame) {
  if (!frame->func || !frame->func->body || !frame->pc) return WP_NO_OFFSET;
  /* The frame ran in one of the variants: the code whose cells hold pc. */
  for (int v = 0; v < WP_VARIANT_COUNT; v++) {
    const wp_code *code = wp_code_holding(frame->func, (wp_variant)v, frame->pc);
    if (code) return wp_code_offset(code, frame->pc);
  }
  return WP_NO_OFFSET;
}

uint32_t wp_frame_func_index(const wp_frame *frame) {
  return frame->func && frame->func->inst ? frame->func->index : WP_NO_FUNC;
}

/* ---- entry ---- */

int wp_exec_invoke(wp_exec *ex, wp_func *f, wp_error *err) {
  const wp_functype *t = f->type;
  wp_slot *args = ex->sp;
  uint32_t room = t->nparams > t->nresults ? t->nparams : t->nresults;
  if (ex->nframes >= ex->max_frames || args + room > ex->stack_end) return wp_trap(err, WP_TRAP_STACK_EXHAUSTED);
  uint32_t base = ex->nframes;
  wp_frame *frame = &ex->frames[ex->nframes++];
  *frame = (wp_frame){.func = f, .pc = NULL, .fp = args, .sp = args + room};
  wp_variant v = (wp_variant)ex->variant;
#ifdef WP_NO_OBSERVATION
  if (v != WP_VARIANT_PLAIN) {
    ex->nframes--;
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "this build has no ticks or profiles (WP_NO_OBSERVATION)");
  }
#endif
  /* A profile returns to where this entry started, even after a trap. */
  wp_prof_mark prof_mark = ex->prof ? wp_prof_mark_get(ex->prof) : (wp_prof_mark){.counts = WP_PROF_NONE};
  int rc;
  if (f->host) {
    ex->sp = args + room;
    if (v == WP_VARIANT_TICKED && ex->prof) {
      wp_prof_call(ex, f, NULL);
    } else if (v == WP_VARIANT_TICKED) {
      ex->ticks += ex->cost.per_call;
    }
    rc = f->host(ex, f->host_ctx, args, err) ? -1 : 0;
    ex->sp = args;
    if (rc == 0) {
      ex->nframes--;
      if (v == WP_VARIANT_TICKED && ex->prof) wp_prof_leave(ex);
    }
  } else {
    const wp_code *code = wp_func_code(f, v, &ex->cost, err);
    if (!code) return -1;
    if (args + code->max_height > ex->stack_end) return wp_trap(err, WP_TRAP_STACK_EXHAUSTED);
    if (v == WP_VARIANT_TICKED && ex->prof && code->nblocks > ex->prof->sink_blocks &&
        wp_prof_sink_grow(ex->prof, code->nblocks, ex, err))
      return -1;
    rc = loops[v](ex, base, err, NULL);
  }
  if (v == WP_VARIANT_TICKED && ex->prof) wp_prof_return_to(ex, prof_mark, rc != 0);
  return rc;
}

/* ---- interrupts and per-instance call depth ---- */

/* Lock-free atomics, so safe in signal handlers (C11 7.14.1.1). */
void wp_exec_interrupt(wp_exec *ex) {
  atomic_fetch_or_explicit(&ex->interrupt, WP_INTERRUPT_STOP, memory_order_relaxed);
}

void wp_exec_clear_interrupt(wp_exec *ex) {
  atomic_fetch_and_explicit(&ex->interrupt, ~WP_INTERRUPT_STOP, memory_order_relaxed);
}

void wp_exec_set_poll(wp_exec *ex, wp_poll_fn fn, void *ctx) {
  ex->poll = fn;
  ex->poll_ctx = ctx;
}

void wp_exec_request_poll(wp_exec *ex) {
  atomic_fetch_or_explicit(&ex->interrupt, WP_INTERRUPT_POLL, memory_order_relaxed);
}

/* wp_exec_checkpoint: called by the loop when ex->interrupt is non-zero, with
 * the top frame's pc and sp saved.  A poll request runs the host's hook
 * first; a stop request (possibly made by the hook's own signal handling)
 * then ends the guest. */
WP_NOINLINE int wp_exec_checkpoint(wp_exec *ex, wp_error *err) {
  unsigned flags = atomic_fetch_and_explicit(&ex->interrupt, ~WP_INTERRUPT_POLL, memory_order_relaxed);
  if ((flags & WP_INTERRUPT_POLL) && ex->poll) {
    if (ex->poll(ex, ex->poll_ctx, err) != 0) return -1;
    flags |= atomic_load_explicit(&ex->interrupt, memory_order_relaxed);
  }
  if (!(flags & WP_INTERRUPT_STOP)) return 0;
  wp_exec_clear_interrupt(ex);
  const wp_frame *top = &ex->frames[ex->nframes - 1];
  wp_error_set(err, WP_ERR_INTERRUPT, wp_frame_offset(top), "interrupted");
  if (err) err->func = wp_frame_func_index(top);
  return -1;
}

/* ceiling_for: the frame ceiling for a call of f entered with nframes
 * frames on ex, given f's instance limit; grows the frame array when no
 * guest runs (nothing holds pointers into it then). 0 on OOM. */
static uint32_t ceiling_for(wp_exec *ex, const wp_func *f) {
  uint32_t limit = f->inst ? f->inst->max_call_depth : 0;
  if (!limit) return ex->max_frames;
  uint64_t want = (uint64_t)ex->nframes + limit;
  if (want > UINT32_MAX) want = UINT32_MAX;
  if (want > ex->frames_cap && ex->depth == 0) {
    wp_frame *grown = realloc(ex->frames, (size_t)want * sizeof(wp_frame));
    if (!grown) return 0;
    ex->frames = grown;
    ex->frames_cap = (uint32_t)want;
  }
  if (want > ex->frames_cap) want = ex->frames_cap;
  /* nested (a host function re-entering): the outer ceiling still holds */
  if (ex->depth > 0 && want > ex->max_frames) want = ex->max_frames;
  return (uint32_t)want;
}

/* describe_exhaustion: name the limit a "call stack exhausted" trap hit. */
static void describe_exhaustion(const wp_exec *ex, uint32_t ceiling, uint32_t depth_limit, wp_error *err) {
  if (!err || err->kind != WP_ERR_TRAP || err->trap != WP_TRAP_STACK_EXHAUSTED) return;
  if (strcmp(err->message, wp_trap_message(WP_TRAP_STACK_EXHAUSTED)) != 0) return; /* a deeper call said why */
  if (ex->nframes >= ceiling && depth_limit)
    snprintf(err->message, sizeof err->message, "call stack exhausted: max_call_depth=%u frames reached",
             depth_limit);
  else if (ex->nframes >= ceiling)
    snprintf(err->message, sizeof err->message, "call stack exhausted: max_frames=%u frames reached", ceiling);
  else
    snprintf(err->message, sizeof err->message, "call stack exhausted: value stack of %zu slots full",
             ex->stack_bytes / sizeof(wp_slot));
}

int wp_call(wp_exec *ex, wp_func *f, const wp_slot *args, wp_slot *results, wp_error *err) {
  if (!ex || !f) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "wp_call needs a context and a function");
  if (ex->depth >= WP_MAX_ENTRY_DEPTH) {
    wp_trap(err, WP_TRAP_STACK_EXHAUSTED);
    if (err)
      snprintf(err->message, sizeof err->message,
               "call stack exhausted: %u nested host-to-guest entries reached", WP_MAX_ENTRY_DEPTH);
    return -1;
  }
  uint32_t saved_max = ex->max_frames;
  uint32_t ceiling = ceiling_for(ex, f);
  if (!ceiling) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory growing the frame stack");
  const wp_functype *t = f->type;
  wp_slot *entry_sp = ex->sp;
  uint32_t entry_frames = ex->nframes;
  if (entry_sp + (t->nparams > t->nresults ? t->nparams : t->nresults) > ex->stack_end)
    return wp_trap(err, WP_TRAP_STACK_EXHAUSTED);
  if (t->nparams) memcpy(entry_sp, args, t->nparams * sizeof(wp_slot));
  /* Any earlier failure record is stale now: its frames above entry_frames
   * are about to be overwritten, and those below are live again. */
  ex->trap_nframes = 0;
  ex->depth++;
  ex->max_frames = ceiling;
  /* For debuggers: where this entry's frames start, at an address on this
   * thread's C stack (debug_roots.c); two stores per entry, none in the loop. */
  wp_entry_record entry = {.prev = ex->entry, .base = entry_frames};
  ex->entry = &entry;
  /* A session profiles this entry: the ticked loop runs it (no check in the plain loop). */
  bool armed = WP_UNLIKELY(ex->session != NULL) && wp_session_arm(ex, f);
  int rc = wp_exec_invoke(ex, f, err);
  if (armed) wp_session_disarm(ex);
  ex->entry = entry.prev;
  ex->max_frames = saved_max;
  ex->depth--;
  if (rc == 0) {
    if (t->nresults) memcpy(results, entry_sp, t->nresults * sizeof(wp_slot));
  } else {
    uint32_t limit = f->inst ? f->inst->max_call_depth : 0;
    describe_exhaustion(ex, ceiling, limit && ceiling == entry_frames + limit ? limit : 0, err);
    /* Leave the failing frames readable (wp_exec_frame) until the next call. */
    if (ex->nframes > ex->trap_nframes) ex->trap_nframes = ex->nframes;
    ex->nframes = entry_frames;
  }
  ex->sp = entry_sp;
  return rc;
}
