/* profile.h: the call-tree accumulator behind the profiled loop variant.
 *
 * The profiled loop moves a current-node pointer at every guest call and
 * return and around host calls (wp_prof_enter, wp_prof_leave).  Ticks are
 * not added to nodes one block at a time: the loop advances one counter
 * (ex->ticks) and the ticks run since the last move are credited to the
 * node being left (wp_prof_credit), which keeps the per-block work to an
 * addition.  Wall-clock time is credited the same way when asked for.
 *
 * A node's children are found through one hash table keyed by (parent,
 * function), with a one-entry cache per node for the common case of a
 * loop calling the same function again. */
#ifndef WP_PROFILE_H
#define WP_PROFILE_H

#include <time.h>

#include "runtime.h"

#define WP_PROF_NONE UINT32_MAX

typedef struct wp_prof_extra {
  wp_func *cache_func;  /* the child last entered from this node */
  uint32_t cache_child;
  uint32_t last_child;  /* to append siblings in order of first call */
} wp_prof_extra;

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

/* wp_prof_unwind: after a failed entry, return to the node and fold depth
 * saved when it started (frames left by a trap are left in the tree). */
void wp_prof_unwind(wp_exec *ex, uint32_t node, uint32_t folded);

#endif
