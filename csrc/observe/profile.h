/* profile.h: the call-tree accumulator behind the ticked loop variant.
 *
 * With a profile, the ticked loop moves a current-node pointer at every guest call and
 * return and around host calls (wp_prof_call, wp_prof_leave).  Ticks are
 * not added to nodes one block at a time: the loop advances one counter
 * (ex->ticks) and the ticks run since the last move are credited to the
 * node being left (wp_prof_credit), which keeps the per-block work to an
 * addition.  Wall-clock time is credited the same way when asked for.
 *
 * A node's children are found through one hash table keyed by (parent,
 * function), with a two-entry cache per node for the common cases of a
 * loop calling the same function again, or two functions in turn.
 *
 * Per-instruction counts (for source lines) cost one more increment per
 * block: each (node, translated code) pair that runs gets an array of
 * block counters (wp_prof_counts), and the ticked loop's XOP_tick_blocks adds
 * one to ex->prof_blocks[block], the array of the code running now at the
 * current node.  A node remembers the code running at it and that code's
 * counters (run_key, run_blocks), so a call, or a return, to a node that runs
 * the code it ran last time finds its array with one compare (wp_prof_call,
 * wp_prof_resume); any other code is looked up in profile.c (wp_prof_switch).
 * A trap records which instructions of its block did not run (wp_prof_trap), and
 * wp_profile_stop derives each instruction's executions and ticks from
 * the blocks (wp_profile_insn, wasmprof.h).  Frames folded by max_depth
 * count into (node at the cap, their own code), so a node's instructions
 * always add up to its self ticks.  A node's entries (the per-call price)
 * are its calls; only folded entries are counted apart (wp_prof_counts).
 *
 * The hooks are one fast path, taken when nothing unusual is on (p->slow:
 * time, events or samples, max_depth, frames folded), and otherwise the
 * general functions of profile.c, out of the loop's way. */
#ifndef WP_PROFILE_H
#define WP_PROFILE_H

#include <time.h>

#include "code.h"
#include "runtime.h"

#define WP_PROF_NONE UINT32_MAX

/* One call-tree node as the profile keeps it: the public record, then the
 * hooks' caches (wp_profile_node_at hands out the first). */
typedef struct wp_prof_node {
  wp_profile_node pub;
  wp_func *child_func[2]; /* the last two children entered from this node, latest first ... */
  uint32_t child[2];     /* ... and their ids */
  uint32_t last_child;   /* to append siblings in order of first call */
  const void *run_key;   /* the code (or host function) that ran at this node last ... */
  uint64_t *run_blocks;  /* ... its block counters (NULL for a host function) ... */
  uint32_t run_counts;   /* ... and its wp_prof_counts; WP_PROF_NONE: none (run_key NULL) */
} wp_prof_node;

/* The block counters of one translated code run at one node (or, for a
 * host function, only its entries). */
typedef struct wp_prof_counts {
  uint32_t node;
  wp_func *func;
  const wp_code *code;  /* NULL for a host function */
  uint64_t entries;     /* times func was entered folded at this node (the per-call price;
                         * a node's own entries are its calls) */
  uint64_t *blocks;     /* code->nblocks counters */
} wp_prof_counts;

/* A trap ended a block early: the instructions of block `block` whose
 * offset-map position is after `map` did not run (code.h). */
typedef struct wp_prof_refund {
  uint32_t counts, block, map;
} wp_prof_refund;

struct wp_profile {
  wp_prof_node *nodes;
  uint32_t nnodes, cap_nodes;
  uint32_t *slots;      /* hash of (parent, func) -> node id; WP_PROF_NONE = empty */
  uint32_t nslots;      /* a power of two, at least twice nnodes */
  uint32_t cur;         /* the node whose function runs now */
  uint32_t folded;      /* frames open beyond max_depth (credited to cur) */
  uint32_t max_depth;
  uint64_t tick_base;   /* ex->ticks when the profile started */
  uint64_t last_ticks;  /* ex->ticks at the last credit */
  bool slow;            /* timed, events, max_depth or folded: the hooks' general path (wp_prof_update_slow) */
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

/* wp_prof_update_slow: after an option or the fold count changed. */
static inline void wp_prof_update_slow(wp_profile *p) {
  p->slow = p->timed || p->events || p->sample_every || p->max_depth || p->folded;
}

/* wp_prof_credit: give the ticks (and time) since the last move to cur. */
static inline void wp_prof_credit(wp_exec *ex, wp_profile *p) {
  wp_profile_node *n = &p->nodes[p->cur].pub;
  n->self_ticks += ex->ticks - p->last_ticks;
  p->last_ticks = ex->ticks;
  if (p->timed) {
    uint64_t now = wp_prof_now();
    n->self_time_ns += now - p->last_time;
    p->last_time = now;
  }
}

/* profile.c, the general path of the hooks below:
 * wp_prof_descend: f's frame was pushed: move to its node (or fold it);
 * true when folded.  It adds the per-call price (credited to the callee at
 * the next move).
 * wp_prof_switch: code (of guest function f, or host function f with code
 * NULL) runs now at the current node; entered: a folded frame's entry.
 * wp_prof_call_slow, wp_prof_leave_slow: wp_prof_call and wp_prof_leave in
 * full. */
bool wp_prof_descend(wp_exec *ex, wp_func *f);
void wp_prof_switch(wp_exec *ex, wp_func *f, const wp_code *code, bool entered);
void wp_prof_call_slow(wp_exec *ex, wp_func *f, const wp_code *code);
void wp_prof_leave_slow(wp_exec *ex);
void wp_prof_event(wp_exec *ex, wp_profile *p, wp_profile_event_kind kind, uint32_t node);
/* wp_prof_sample: a sampled flamechart's check, before cur changes. */
void wp_prof_sample(wp_exec *ex, wp_profile *p);
/* profile.c: make the sink hold n counters; -1 with err filled on OOM. */
int wp_prof_sink_grow(wp_profile *p, uint32_t n, wp_exec *ex, wp_error *err);
/* profile.c: a trap at pc in code: record what its block did not run. */
void wp_prof_trap(wp_exec *ex, const wp_code *code, const void *pc);

/* wp_prof_call: f's frame (guest, running code; or host, code NULL) was
 * just pushed.  The fast path: f's node is one of the two cached at the
 * current node, and it ran code last time. */
static WP_ALWAYS_INLINE void wp_prof_call(wp_exec *ex, wp_func *f, const wp_code *code) {
  wp_profile *p = ex->prof;
  if (WP_UNLIKELY(p->slow)) goto slow;
  wp_prof_node *n = &p->nodes[p->cur];
  uint32_t id;
  if (WP_LIKELY(n->child_func[0] == f)) id = n->child[0];
  else if (n->child_func[1] == f) id = n->child[1];
  else goto slow;
  wp_prof_node *c = &p->nodes[id];
  if (code && WP_UNLIKELY(c->run_key != code)) goto slow;
  uint64_t t = ex->ticks;
  n->pub.self_ticks += t - p->last_ticks;
  p->last_ticks = t;
  ex->ticks = t + ex->cost.per_call; /* credited to the callee at the next move */
  p->cur = id;
  c->pub.calls++;
  if (code) ex->prof_blocks = c->run_blocks;
  return;
slow:
  wp_prof_call_slow(ex, f, code);
}

/* wp_prof_enter: f's frame was pushed, in a loop that counts no blocks (the
 * stepping loop's): its calls have no per-instruction counts. */
static inline void wp_prof_enter(wp_exec *ex, wp_func *f) {
  ex->prof->insns_lost = true;
  wp_prof_descend(ex, f);
}

/* wp_prof_leave: the top frame is about to be popped. */
static inline void wp_prof_leave(wp_exec *ex) {
  wp_profile *p = ex->prof;
  if (WP_UNLIKELY(p->slow)) {
    wp_prof_leave_slow(ex);
    return;
  }
  wp_prof_node *n = &p->nodes[p->cur];
  n->pub.self_ticks += ex->ticks - p->last_ticks;
  p->last_ticks = ex->ticks;
  if (n->pub.parent != WP_PROF_NONE) p->cur = n->pub.parent;
}

/* wp_prof_resume: after a return or a host call, code (of guest function
 * f) runs again at the current node. */
static inline void wp_prof_resume(wp_exec *ex, wp_func *f, const wp_code *code) {
  wp_profile *p = ex->prof;
  wp_prof_node *n = &p->nodes[p->cur];
  if (WP_UNLIKELY(n->run_key != code)) wp_prof_switch(ex, f, code, false);
  else ex->prof_blocks = n->run_blocks;
}

/* Where a guest entry started (exec.c): the node, the fold count and the
 * code running there, returned to when it ends, even after a trap (frames
 * left by a trap are left in the tree). */
typedef struct wp_prof_mark {
  uint32_t node, folded, counts;
  const void *key;
} wp_prof_mark;

static inline wp_prof_mark wp_prof_mark_get(const wp_profile *p) {
  const wp_prof_node *n = &p->nodes[p->cur];
  return (wp_prof_mark){.node = p->cur, .folded = p->folded, .counts = n->run_counts, .key = n->run_key};
}

/* profile.c: an entry started at m ended (failed: by a trap or an error). */
void wp_prof_return_to(wp_exec *ex, wp_prof_mark m, bool failed);

#endif
