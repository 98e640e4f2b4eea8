/* profile.h: the call-tree accumulator behind the ticked loop variant.
 *
 * With a profile, the ticked loop moves a current-node pointer at every guest call and
 * return and around host calls (wp_prof_enter, wp_prof_leave).  Ticks are
 * not added to nodes one block at a time: the loop advances one counter
 * (ex->ticks) and the ticks run since the last move are credited to the
 * node being left (wp_prof_credit), which keeps the per-block work to an
 * addition.  Wall-clock time is credited the same way when asked for.
 *
 * A node's children are found through one hash table keyed by (parent,
 * function), with a one-entry cache per node for the common case of a
 * loop calling the same function again.
 *
 * Per-instruction counts (for source lines) cost one more increment per
 * block: each (node, translated code) pair that runs gets an array of
 * block counters (wp_prof_counts), and the ticked loop's XOP_tick_blocks adds
 * one to ex->prof_blocks[block], the array of the code running now at the
 * current node.  The array is chosen when that changes: at a guest call,
 * after a return and after a host call (wp_prof_run).  A trap records
 * which instructions of its block did not run (wp_prof_trap), and
 * wp_profile_stop derives each instruction's executions and ticks from
 * the blocks (wp_profile_insn, wasmprof.h).  Frames folded by max_depth
 * count into (node at the cap, their own code), so a node's instructions
 * always add up to its self ticks. */
#ifndef WP_PROFILE_H
#define WP_PROFILE_H

#include <time.h>

#include "code.h"
#include "runtime.h"

#define WP_PROF_NONE UINT32_MAX

typedef struct wp_prof_extra {
  wp_func *cache_func;  /* the child last entered from this node */
  uint32_t cache_child;
  uint32_t last_child;  /* to append siblings in order of first call */
  const void *cache_key; /* the code (or host function) last run at this node ... */
  uint32_t cache_counts; /* ... and its wp_prof_counts */
} wp_prof_extra;

/* The block counters of one translated code run at one node (or, for a
 * host function, only its entries). */
typedef struct wp_prof_counts {
  uint32_t node;
  wp_func *func;
  const wp_code *code;  /* NULL for a host function */
  uint64_t entries;     /* times func was entered at this node (the per-call price) */
  uint64_t *blocks;     /* code->nblocks counters */
} wp_prof_counts;

/* A trap ended a block early: the instructions of block `block` whose
 * offset-map position is after `map` did not run (code.h). */
typedef struct wp_prof_refund {
  uint32_t counts, block, map;
} wp_prof_refund;

struct wp_profile {
  wp_profile_node *nodes;
  wp_prof_extra *extra;
  uint32_t nnodes, cap_nodes;
  uint32_t *slots;      /* hash of (parent, func) -> node id; WP_PROF_NONE = empty */
  uint32_t nslots;      /* a power of two, at least twice nnodes */
  uint32_t cur;         /* the node whose function runs now */
  uint32_t folded;      /* frames open beyond max_depth (credited to cur) */
  uint32_t max_depth;
  uint64_t tick_base;   /* ex->ticks when the profile started */
  uint64_t last_ticks;  /* ex->ticks at the last credit */
  bool timed;
  uint64_t t0, last_time;
  bool events, truncated;
  uint64_t sample_every, next_sample; /* sampled flamechart (wasmprof.h) */
  uint32_t sampled;     /* the node the last sample recorded */
  wp_profile_event *ev;
  uint32_t nev, cap_ev, max_events;
  bool oom;             /* a node could not be allocated: deeper calls were folded */
  /* per-instruction counts (see the top of this file) */
  wp_prof_counts *counts;
  uint32_t ncounts, cap_counts;
  uint32_t *counts_slots; /* hash of (node, code or host func) -> counts index */
  uint32_t ncounts_slots;
  uint32_t cur_counts;    /* what ex->prof_blocks belongs to (WP_PROF_NONE: the sink) */
  uint64_t *sink;         /* counters nobody keeps, when an array could not be allocated */
  uint32_t sink_blocks;
  bool insns_lost;        /* some counts went to the sink, or the stepping loop ran uncounted */
  wp_prof_refund *refunds;
  uint32_t nrefunds, cap_refunds;
  struct wp_profile_insn *insns; /* derived at stop */
  uint32_t ninsns;
  wp_keepalive kept;    /* a session's entry instances (profile_session.c), released when freed */
};

static inline uint64_t wp_prof_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* wp_prof_credit: give the ticks (and time) since the last move to cur. */
static inline void wp_prof_credit(wp_exec *ex, wp_profile *p) {
  wp_profile_node *n = &p->nodes[p->cur];
  n->self_ticks += ex->ticks - p->last_ticks;
  p->last_ticks = ex->ticks;
  if (p->timed) {
    uint64_t now = wp_prof_now();
    n->self_time_ns += now - p->last_time;
    p->last_time = now;
  }
}

/* profile.c: the child of parent for f, created if new; WP_PROF_NONE on OOM. */
uint32_t wp_prof_child_slow(wp_profile *p, uint32_t parent, wp_func *f);
void wp_prof_event(wp_exec *ex, wp_profile *p, wp_profile_event_kind kind, uint32_t node);
/* wp_prof_sample: a sampled flamechart's check, before cur changes. */
void wp_prof_sample(wp_exec *ex, wp_profile *p);

/* wp_prof_enter: f's frame (guest or host) was just pushed. */
static inline void wp_prof_enter(wp_exec *ex, wp_func *f) {
  wp_profile *p = ex->prof;
  wp_prof_credit(ex, p);
  if (WP_UNLIKELY(p->sample_every)) wp_prof_sample(ex, p);
  ex->ticks += ex->cost.per_call; /* credited to the callee at the next move */
  if (WP_UNLIKELY(p->folded || (p->max_depth && p->nodes[p->cur].depth >= p->max_depth))) {
    p->folded++;
    return;
  }
  wp_prof_extra *x = &p->extra[p->cur];
  uint32_t child = x->cache_func == f ? x->cache_child : wp_prof_child_slow(p, p->cur, f);
  if (WP_UNLIKELY(child == WP_PROF_NONE)) {
    p->folded++;
    return;
  }
  p->cur = child;
  p->nodes[child].calls++;
  if (WP_UNLIKELY(p->events) && !p->sample_every) wp_prof_event(ex, p, WP_EVENT_CALL, child);
}

/* wp_prof_leave: the top frame is about to be popped. */
static inline void wp_prof_leave(wp_exec *ex) {
  wp_profile *p = ex->prof;
  wp_prof_credit(ex, p);
  if (WP_UNLIKELY(p->sample_every)) wp_prof_sample(ex, p);
  if (WP_UNLIKELY(p->folded)) {
    p->folded--;
    return;
  }
  if (WP_UNLIKELY(p->events) && !p->sample_every) wp_prof_event(ex, p, WP_EVENT_RETURN, p->cur);
  if (p->nodes[p->cur].parent != WP_PROF_NONE) p->cur = p->nodes[p->cur].parent;
}

/* profile.c: the counters of (node, code or host func f), created if new;
 * WP_PROF_NONE on OOM. */
uint32_t wp_prof_counts_slow(wp_profile *p, uint32_t node, wp_func *f, const wp_code *code);
/* profile.c: make the sink hold n counters; -1 with err filled on OOM. */
int wp_prof_sink_grow(wp_profile *p, uint32_t n, wp_exec *ex, wp_error *err);
/* profile.c: a trap at pc in code: record what its block did not run. */
void wp_prof_trap(wp_exec *ex, const wp_code *code, const void *pc);

/* wp_prof_run: code (of guest function f) runs now at the current node;
 * entered: it was just called (counted for the per-call price).  A host
 * function f passes code NULL. */
static inline void wp_prof_run(wp_exec *ex, wp_func *f, const wp_code *code, bool entered) {
  wp_profile *p = ex->prof;
  wp_prof_extra *x = &p->extra[p->cur];
  const void *key = code ? (const void *)code : (const void *)f;
  uint32_t i = x->cache_key == key ? x->cache_counts : wp_prof_counts_slow(p, p->cur, f, code);
  p->cur_counts = i;
  if (WP_UNLIKELY(i == WP_PROF_NONE)) {
    p->insns_lost = true;
    ex->prof_blocks = p->sink;
    return;
  }
  if (entered) p->counts[i].entries++;
  if (code) ex->prof_blocks = p->counts[i].blocks;
}

/* wp_prof_unwind: after a failed entry, return to the node and fold depth
 * saved when it started (frames left by a trap are left in the tree). */
void wp_prof_unwind(wp_exec *ex, uint32_t node, uint32_t folded);

#endif
