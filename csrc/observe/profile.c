/* profile.c: the call-tree accumulator (profile.h) and the public profile
 * API (wasmprof.h: wp_profile_start ... wp_profile_free). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "profile.h"

#include <pthread.h>

#define DEFAULT_MAX_EVENTS 1000000u

/* ---- codes a profile counts the blocks of ----
 * A module freed while a profile runs (a session over many modules, the
 * spec suite) frees its translated code; a profile keyed by that code
 * would then count into the array of another code allocated at the same
 * address, and derive its instructions from freed memory at stop.  So the
 * codes a profile counts are retained: wp_code_free (compile.c) only marks
 * a retained code, and the last profile to release it frees it. */
typedef struct retained_code {
  wp_code *code;
  uint32_t refs;
  bool orphan;
} retained_code;
static pthread_mutex_t retained_mu = PTHREAD_MUTEX_INITIALIZER;
static retained_code *retained;
static uint32_t nretained, cap_retained;

static bool retain_code(const wp_code *code) {
  pthread_mutex_lock(&retained_mu);
  bool ok = true;
  uint32_t i = 0;
  while (i < nretained && retained[i].code != code) i++;
  if (i == nretained) {
    ok = wp_grow((void **)&retained, &cap_retained, nretained + 1, sizeof *retained);
    if (ok) retained[nretained++] = (retained_code){(wp_code *)code, 0, false};
  }
  if (ok) retained[i].refs++;
  pthread_mutex_unlock(&retained_mu);
  return ok;
}

static void release_code(const wp_code *code) {
  wp_code *orphan = NULL;
  pthread_mutex_lock(&retained_mu);
  for (uint32_t i = 0; i < nretained; i++) {
    if (retained[i].code != code) continue;
    if (--retained[i].refs == 0) {
      if (retained[i].orphan) orphan = retained[i].code;
      retained[i] = retained[--nretained];
    }
    break;
  }
  pthread_mutex_unlock(&retained_mu);
  if (orphan) wp_code_free(orphan); /* no longer retained: really freed */
}

/* wp_code_free_deferred (compile.c declares it): true when a profile still
 * counts code, which is then freed when the last one releases it. */
bool wp_code_free_deferred(wp_code *code);
bool wp_code_free_deferred(wp_code *code) {
  bool held = false;
  pthread_mutex_lock(&retained_mu);
  for (uint32_t i = 0; i < nretained && !held; i++)
    if (retained[i].code == code) retained[i].orphan = held = true;
  pthread_mutex_unlock(&retained_mu);
  return held;
}

static uint32_t slot_of(uint32_t parent, const wp_func *f, uint32_t mask) {
  uint64_t h = ((uint64_t)(uintptr_t)f >> 4) * 0x9E3779B97F4A7C15ull ^ (uint64_t)parent * 0xC2B2AE3D27D4EB4Full;
  return (uint32_t)(h >> 32) & mask;
}

static bool rehash(wp_profile *p, uint32_t nslots) {
  uint32_t *slots = malloc((size_t)nslots * sizeof *slots);
  if (!slots) return false;
  memset(slots, 0xff, (size_t)nslots * sizeof *slots);
  for (uint32_t id = 1; id < p->nnodes; id++) {
    uint32_t s = slot_of(p->nodes[id].pub.parent, p->nodes[id].pub.func, nslots - 1);
    while (slots[s] != WP_PROF_NONE) s = (s + 1) & (nslots - 1);
    slots[s] = id;
  }
  free(p->slots);
  p->slots = slots;
  p->nslots = nslots;
  return true;
}

/* new_node: append a node; WP_PROF_NONE on OOM. */
static uint32_t new_node(wp_profile *p, uint32_t parent, wp_func *f) {
  if (!wp_grow((void **)&p->nodes, &p->cap_nodes, p->nnodes + 1, sizeof *p->nodes)) return WP_PROF_NONE;
  uint32_t id = p->nnodes++;
  p->nodes[id] = (wp_prof_node){
      .pub = {.parent = parent, .func = f, .first_child = WP_PROF_NONE, .next_sibling = WP_PROF_NONE,
              .depth = parent == WP_PROF_NONE ? 0 : p->nodes[parent].pub.depth + 1},
      .child_func = {NULL, NULL}, .child = {WP_PROF_NONE, WP_PROF_NONE}, .last_child = WP_PROF_NONE,
      .run_key = NULL, .run_blocks = NULL, .run_counts = WP_PROF_NONE};
  if (parent != WP_PROF_NONE) {
    wp_prof_node *pn = &p->nodes[parent];
    if (pn->last_child == WP_PROF_NONE) pn->pub.first_child = id;
    else p->nodes[pn->last_child].pub.next_sibling = id;
    pn->last_child = id;
  }
  return id;
}

/* cache_child: f's node id becomes n's latest cached child. */
static void cache_child(wp_prof_node *n, wp_func *f, uint32_t id) {
  if (n->child_func[0] == f) return;
  n->child_func[1] = n->child_func[0];
  n->child[1] = n->child[0];
  n->child_func[0] = f;
  n->child[0] = id;
}

/* cached_child: n's child for f if cached, else WP_PROF_NONE. */
static inline uint32_t cached_child(const wp_prof_node *n, const wp_func *f) {
  if (n->child_func[0] == f) return n->child[0];
  return n->child_func[1] == f ? n->child[1] : WP_PROF_NONE;
}

/* child_find: the child of parent for f, created if new (and cached);
 * WP_PROF_NONE on OOM. */
static uint32_t child_find(wp_profile *p, uint32_t parent, wp_func *f) {
  uint32_t mask = p->nslots - 1;
  uint32_t s = slot_of(parent, f, mask);
  for (; p->slots[s] != WP_PROF_NONE; s = (s + 1) & mask) {
    uint32_t id = p->slots[s];
    if (p->nodes[id].pub.parent == parent && p->nodes[id].pub.func == f) goto found;
  }
  {
    uint32_t id = new_node(p, parent, f);
    if (id == WP_PROF_NONE) {
      p->oom = true;
      return WP_PROF_NONE;
    }
    p->slots[s] = id;
    if (p->nnodes * 2 > p->nslots && !rehash(p, p->nslots * 2)) {
      /* the table is still valid, only fuller: keep going */
    }
    cache_child(&p->nodes[parent], f, id);
    return id;
  }
found:;
  uint32_t id = p->slots[s];
  cache_child(&p->nodes[parent], f, id);
  return id;
}

/* ---- per-instruction counts (profile.h) ---- */

static uint32_t counts_slot(uint32_t node, const void *key, uint32_t mask) {
  uint64_t h = ((uint64_t)(uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull ^ (uint64_t)node * 0xC2B2AE3D27D4EB4Full;
  return (uint32_t)(h >> 32) & mask;
}

static const void *counts_key(const wp_prof_counts *c) {
  return c->code ? (const void *)c->code : (const void *)c->func;
}

static bool counts_rehash(wp_profile *p, uint32_t nslots) {
  uint32_t *slots = malloc((size_t)nslots * sizeof *slots);
  if (!slots) return false;
  memset(slots, 0xff, (size_t)nslots * sizeof *slots);
  for (uint32_t i = 0; i < p->ncounts; i++) {
    uint32_t s = counts_slot(p->counts[i].node, counts_key(&p->counts[i]), nslots - 1);
    while (slots[s] != WP_PROF_NONE) s = (s + 1) & (nslots - 1);
    slots[s] = i;
  }
  free(p->counts_slots);
  p->counts_slots = slots;
  p->ncounts_slots = nslots;
  return true;
}

/* counts_find: the counters of (node, code or host func f), created if new;
 * WP_PROF_NONE on OOM. */
static uint32_t counts_find(wp_profile *p, uint32_t node, wp_func *f, const wp_code *code) {
  const void *key = code ? (const void *)code : (const void *)f;
  uint32_t mask = p->ncounts_slots - 1, s = counts_slot(node, key, mask), id;
  for (; (id = p->counts_slots[s]) != WP_PROF_NONE; s = (s + 1) & mask)
    if (p->counts[id].node == node && counts_key(&p->counts[id]) == key) goto found;
  {
    uint64_t *blocks = NULL;
    if (code && !(blocks = wp_calloc(code->nblocks ? code->nblocks : 1, sizeof *blocks))) return WP_PROF_NONE;
    if (code && !retain_code(code)) {
      free(blocks);
      return WP_PROF_NONE;
    }
    uint32_t cap = p->cap_counts;
    if (!wp_grow((void **)&p->counts, &cap, p->ncounts + 1, sizeof *p->counts)) {
      free(blocks);
      if (code) release_code(code);
      return WP_PROF_NONE;
    }
    p->cap_counts = cap;
    id = p->ncounts++;
    p->counts[id] = (wp_prof_counts){.node = node, .func = f, .code = code, .entries = 0, .blocks = blocks};
    p->counts_slots[s] = id;
    if (p->ncounts * 2 > p->ncounts_slots) counts_rehash(p, p->ncounts_slots * 2); /* else only fuller */
  }
found:
  return id;
}

void wp_prof_switch(wp_exec *ex, wp_func *f, const wp_code *code, bool entered) {
  wp_profile *p = ex->prof;
  uint32_t i = counts_find(p, p->cur, f, code);
  wp_prof_node *n = &p->nodes[p->cur];
  if (WP_UNLIKELY(i == WP_PROF_NONE)) {
    p->insns_lost = true;
    n->run_key = NULL; /* looked up again next time */
    n->run_blocks = NULL;
    n->run_counts = WP_PROF_NONE;
    ex->prof_blocks = p->sink;
    return;
  }
  if (entered) p->counts[i].entries++;
  n->run_key = code ? (const void *)code : (const void *)f;
  n->run_blocks = p->counts[i].blocks;
  n->run_counts = i;
  if (code) ex->prof_blocks = n->run_blocks;
}

int wp_prof_sink_grow(wp_profile *p, uint32_t n, wp_exec *ex, wp_error *err) {
  uint64_t *old = p->sink;
  uint32_t cap = p->sink_blocks;
  if (!wp_grow((void **)&p->sink, &cap, n, sizeof *p->sink))
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory counting a profile's blocks");
  p->sink_blocks = cap;
  if (ex->prof_blocks == old) ex->prof_blocks = p->sink;
  return 0;
}

/* The tick heading the block the instruction at map index t belongs to
 * (as wp_code_unexecuted_cost finds it); UINT32_MAX if none. */
static uint32_t block_tick(const wp_code *code, uint32_t t) {
  for (uint32_t i = t;; i--) {
    if (wp_code_is_tick(code, i)) return i;
    if (i == 0) return UINT32_MAX;
  }
}

void wp_prof_trap(wp_exec *ex, const wp_code *code, const void *pc) {
  wp_profile *p = ex->prof;
  uint32_t counts = p->nodes[p->cur].run_counts;
  if (counts == WP_PROF_NONE || !code || !code->rec_op || code->nmap == 0) return;
  /* The counters may be keyed by another pricing of the same translation
   * (exec.c keeps one code per price table): same blocks, same records. */
  const wp_code *counted = p->counts[counts].code;
  if (!counted || counted->nblocks != code->nblocks || counted->nrec != code->nrec) { /* cannot happen */
    p->insns_lost = true;
    return;
  }
  uint32_t t = wp_code_map_index(code, pc), i = block_tick(code, t);
  if (i == UINT32_MAX) return;
  uint32_t cap = p->cap_refunds;
  if (!wp_grow((void **)&p->refunds, &cap, p->nrefunds + 1, sizeof *p->refunds)) {
    p->insns_lost = true;
    return;
  }
  p->cap_refunds = cap;
  p->refunds[p->nrefunds++] = (wp_prof_refund){.counts = counts,
                                               .block = code->cells[code->map_cell[i] + 2].pair.b, .map = t};
}

static int cmp_insn(const void *a, const void *b) {
  const wp_profile_insn *x = a, *y = b;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  return (uintptr_t)x->func < (uintptr_t)y->func ? -1 : (uintptr_t)x->func > (uintptr_t)y->func;
}

/* derive_insns: each instruction's executions from its block's count, less
 * the refunds; records of one (node, offset, func) merged. */
static void derive_insns(wp_profile *p, const wp_cost_model *cost) {
  size_t n = p->nnodes;
  for (uint32_t i = 0; i < p->ncounts; i++) n += (p->counts[i].code ? p->counts[i].code->nrec : 0) + 1;
  int64_t **execs = wp_calloc(p->ncounts ? p->ncounts : 1, sizeof *execs);
  wp_profile_insn *out = wp_calloc(n ? n : 1, sizeof *out);
  bool ok = execs && out;
  for (uint32_t i = 0; ok && i < p->ncounts; i++) {
    const wp_code *code = p->counts[i].code;
    if (!code) continue;
    if (!(execs[i] = wp_calloc(code->nrec ? code->nrec : 1, sizeof **execs))) ok = false;
    for (uint32_t b = 0; ok && b < code->nblocks; b++)
      for (uint32_t r = code->block_first[b]; r < code->block_first[b + 1]; r++)
        execs[i][r] = (int64_t)p->counts[i].blocks[b];
  }
  for (uint32_t k = 0; ok && k < p->nrefunds; k++) {
    const wp_prof_refund *rf = &p->refunds[k];
    const wp_code *code = p->counts[rf->counts].code;
    for (uint32_t r = code->block_first[rf->block]; r < code->block_first[rf->block + 1]; r++)
      if (code->rec_pos[r] > rf->map) execs[rf->counts][r]--;
  }
  size_t m = 0;
  for (uint32_t id = 1; ok && cost->per_call && id < p->nnodes; id++) { /* each node's own entries */
    const wp_profile_node *nd = &p->nodes[id].pub;
    if (nd->calls)
      out[m++] = (wp_profile_insn){.node = id, .offset = WP_NO_OFFSET, .func = nd->func, .count = nd->calls,
                                   .ticks = nd->calls * cost->per_call};
  }
  for (uint32_t i = 0; ok && i < p->ncounts; i++) {
    const wp_prof_counts *c = &p->counts[i];
    if (c->entries && cost->per_call)
      out[m++] = (wp_profile_insn){.node = c->node, .offset = WP_NO_OFFSET, .func = c->func, .count = c->entries,
                                   .ticks = c->entries * cost->per_call};
    for (uint32_t r = 0; c->code && r < c->code->nrec; r++) {
      if (execs[i][r] <= 0) continue;
      uint64_t count = (uint64_t)execs[i][r];
      unsigned op = c->code->rec_op[r];
      out[m++] = (wp_profile_insn){.node = c->node, .offset = c->code->rec_offset[r], .func = c->func,
                                   .count = count, .ticks = count * cost->op[op],
                                   .calls = op == WP_OP_call || op == WP_OP_call_indirect ? count : 0};
    }
  }
  if (ok) {
    qsort(out, m, sizeof *out, cmp_insn);
    size_t w = 0;
    for (size_t r = 0; r < m; r++) {
      if (w && out[w - 1].node == out[r].node && out[w - 1].offset == out[r].offset && out[w - 1].func == out[r].func) {
        out[w - 1].count += out[r].count;
        out[w - 1].ticks += out[r].ticks;
        out[w - 1].calls += out[r].calls;
      } else {
        out[w++] = out[r];
      }
    }
    p->insns = out;
    p->ninsns = (uint32_t)w;
  } else {
    free(out);
    p->insns_lost = true;
  }
  for (uint32_t i = 0; execs && i < p->ncounts; i++) free(execs[i]);
  free(execs);
}

static void free_counts(wp_profile *p) {
  for (uint32_t i = 0; i < p->ncounts; i++) {
    free(p->counts[i].blocks);
    if (p->counts[i].code) release_code(p->counts[i].code);
  }
  free(p->counts);
  p->counts = NULL;
  p->ncounts = 0;
  free(p->counts_slots);
  p->counts_slots = NULL;
  free(p->refunds);
  p->refunds = NULL;
  free(p->sink);
  p->sink = NULL;
}

static void event_at(wp_profile *p, wp_profile_event_kind kind, uint32_t node, uint64_t ticks) {
  if (p->truncated) return;
  if (p->nev >= p->max_events || !wp_grow((void **)&p->ev, &p->cap_ev, p->nev + 1, sizeof *p->ev)) {
    p->truncated = true;
    return;
  }
  p->ev[p->nev++] = (wp_profile_event){.kind = kind, .node = node, .ticks = ticks,
                                       .time_ns = p->timed ? p->last_time - p->t0 : 0};
}

/* path_diff: record the move from node `from` to node `to` (returns up to
 * their common ancestor, then calls down), stamped with ticks. */
static void path_diff(wp_profile *p, uint32_t from, uint32_t to, uint64_t ticks) {
  uint32_t a = from, b = to;
  while (p->nodes[a].pub.depth > p->nodes[b].pub.depth) a = p->nodes[a].pub.parent;
  while (p->nodes[b].pub.depth > p->nodes[a].pub.depth) b = p->nodes[b].pub.parent;
  while (a != b) {
    a = p->nodes[a].pub.parent;
    b = p->nodes[b].pub.parent;
  }
  for (uint32_t n = from; n != a; n = p->nodes[n].pub.parent) event_at(p, WP_EVENT_RETURN, n, ticks);
  uint32_t down = p->nodes[to].pub.depth - p->nodes[a].pub.depth;
  if (!down) return;
  uint32_t *path = malloc((size_t)down * sizeof *path);
  if (!path) {
    p->truncated = true;
    return;
  }
  uint32_t k = down;
  for (uint32_t n = to; n != a; n = p->nodes[n].pub.parent) path[--k] = n;
  for (k = 0; k < down; k++) event_at(p, WP_EVENT_CALL, path[k], ticks);
  free(path);
}

void wp_prof_sample(wp_exec *ex, wp_profile *p) {
  uint64_t t = ex->ticks - p->tick_base;
  if (t < p->next_sample) return;
  uint64_t stamp = t - t % p->sample_every;
  path_diff(p, p->sampled, p->cur, stamp);
  p->sampled = p->cur;
  p->next_sample = stamp + p->sample_every;
}

void wp_prof_event(wp_exec *ex, wp_profile *p, wp_profile_event_kind kind, uint32_t node) {
  if (p->truncated) return;
  if (p->nev >= p->max_events) {
    p->truncated = true;
    return;
  }
  if (!wp_grow((void **)&p->ev, &p->cap_ev, p->nev + 1, sizeof *p->ev)) {
    p->truncated = true;
    return;
  }
  p->ev[p->nev++] = (wp_profile_event){.kind = kind, .node = node, .ticks = ex->ticks - p->tick_base,
                                       .time_ns = p->timed ? p->last_time - p->t0 : 0};
}

void wp_prof_return_to(wp_exec *ex, wp_prof_mark m, bool failed) {
  wp_profile *p = ex->prof;
  if (failed) {
    wp_prof_credit(ex, p);
    if (p->events && !p->sample_every) {
      for (uint32_t n = p->cur; n != m.node && n != WP_PROF_NONE && n != 0; n = p->nodes[n].pub.parent)
        wp_prof_event(ex, p, WP_EVENT_RETURN, n);
    }
    p->cur = m.node;
    p->folded = m.folded;
    wp_prof_update_slow(p);
  }
  /* Folded frames of the entry may have run other code at the node. */
  wp_prof_node *n = &p->nodes[m.node];
  n->run_key = m.key;
  n->run_counts = m.counts;
  n->run_blocks = m.counts == WP_PROF_NONE ? NULL : p->counts[m.counts].blocks;
  ex->prof_blocks = n->run_blocks ? n->run_blocks : p->sink;
}

/* ---- the hooks' general path (profile.h) ---- */

/* descend: wp_prof_descend, inlined in wp_prof_call_slow. */
static WP_ALWAYS_INLINE bool descend(wp_exec *ex, wp_func *f) {
  wp_profile *p = ex->prof;
  wp_prof_credit(ex, p);
  if (WP_UNLIKELY(p->sample_every)) wp_prof_sample(ex, p);
  ex->ticks += ex->cost.per_call; /* credited to the callee at the next move */
  wp_prof_node *n = &p->nodes[p->cur];
  uint32_t child = WP_PROF_NONE;
  if (!p->folded && !(p->max_depth && n->pub.depth >= p->max_depth))
    if ((child = cached_child(n, f)) == WP_PROF_NONE) child = child_find(p, p->cur, f);
  if (child == WP_PROF_NONE) { /* beyond max_depth, or out of memory */
    p->folded++;
    wp_prof_update_slow(p);
    return true;
  }
  p->cur = child;
  p->nodes[child].pub.calls++;
  if (WP_UNLIKELY(p->events) && !p->sample_every) wp_prof_event(ex, p, WP_EVENT_CALL, child);
  return false;
}

bool wp_prof_descend(wp_exec *ex, wp_func *f) { return descend(ex, f); }

void wp_prof_call_slow(wp_exec *ex, wp_func *f, const wp_code *code) {
  bool folded = descend(ex, f);
  /* A host function's own entries are its node's calls: its counters only count folded entries. */
  if (folded || code) {
    wp_profile *p = ex->prof;
    wp_prof_node *n = &p->nodes[p->cur];
    const void *key = code ? (const void *)code : (const void *)f;
    if (!folded && n->run_key == key) ex->prof_blocks = n->run_blocks;
    else wp_prof_switch(ex, f, code, folded);
  }
}

void wp_prof_leave_slow(wp_exec *ex) {
  wp_profile *p = ex->prof;
  wp_prof_credit(ex, p);
  if (WP_UNLIKELY(p->sample_every)) wp_prof_sample(ex, p);
  if (p->folded) {
    p->folded--;
    wp_prof_update_slow(p);
    return;
  }
  if (WP_UNLIKELY(p->events) && !p->sample_every) wp_prof_event(ex, p, WP_EVENT_RETURN, p->cur);
  if (p->nodes[p->cur].pub.parent != WP_PROF_NONE) p->cur = p->nodes[p->cur].pub.parent;
}

/* ---- public API ---- */

int wp_profile_start(wp_exec *ex, const wp_profile_options *options, wp_error *err) {
  if (!ex) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "wp_profile_start needs a context");
  if (ex->prof) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "a profile is already running on this context");
  if (ex->depth) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "cannot start a profile while guest code runs");
  wp_profile_options o = options ? *options : (wp_profile_options){0};
  wp_profile *p = wp_calloc(1, sizeof *p);
  if (!p || new_node(p, WP_PROF_NONE, NULL) == WP_PROF_NONE || !rehash(p, 64) || !counts_rehash(p, 64) ||
      !(p->sink = wp_calloc(1, sizeof *p->sink))) {
    wp_profile_free(p);
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory starting a profile");
  }
  p->max_depth = o.max_depth;
  p->timed = o.time;
  p->events = o.events;
  p->max_events = o.max_events ? o.max_events : DEFAULT_MAX_EVENTS;
  p->sample_every = o.events ? o.sample_every : 0;
  p->next_sample = 0; /* the first call or return takes the first sample */
  wp_prof_update_slow(p);
  p->tick_base = p->last_ticks = ex->ticks;
  if (p->timed) p->t0 = p->last_time = wp_prof_now();
  if (o.cost) ex->cost = *o.cost;
  else wp_cost_model_init_default(&ex->cost);
  p->sink_blocks = 1;
  ex->prof_blocks = p->sink;
  ex->prof = p;
  wp_exec_update_variant(ex);
  return 0;
}

wp_profile *wp_profile_stop(wp_exec *ex) {
  if (!ex || !ex->prof || ex->depth) return NULL;
  wp_profile *p = ex->prof;
  wp_prof_credit(ex, p);
  if (p->sample_every) path_diff(p, p->sampled, 0, ex->ticks - p->tick_base); /* close the sampled path */
  ex->prof = NULL;
  ex->prof_blocks = NULL;
  wp_exec_update_variant(ex);
  free(p->slots);
  p->slots = NULL;
  if (!p->insns_lost) derive_insns(p, &ex->cost);
  free_counts(p);
  return p;
}

void wp_profile_free(wp_profile *p) {
  if (!p) return;
  wp_keepalive_release(&p->kept);
  free(p->nodes);
  free(p->slots);
  free(p->ev);
  free_counts(p);
  free(p->insns);
  free(p);
}

uint32_t wp_profile_node_count(const wp_profile *p) { return p ? p->nnodes : 0; }

const wp_profile_node *wp_profile_node_at(const wp_profile *p, uint32_t i) {
  return p && i < p->nnodes ? &p->nodes[i].pub : NULL;
}

uint32_t wp_profile_event_count(const wp_profile *p) { return p ? p->nev : 0; }

const wp_profile_event *wp_profile_event_at(const wp_profile *p, uint32_t i) {
  return p && i < p->nev ? &p->ev[i] : NULL;
}

bool wp_profile_events_truncated(const wp_profile *p) { return p && p->truncated; }

uint32_t wp_profile_insn_count(const wp_profile *p) { return p ? p->ninsns : 0; }

const wp_profile_insn *wp_profile_insn_at(const wp_profile *p, uint32_t i) {
  return p && i < p->ninsns ? &p->insns[i] : NULL;
}

bool wp_profile_insns_complete(const wp_profile *p) { return p && !p->insns_lost; }

uint64_t wp_profile_total_ticks(const wp_profile *p) {
  uint64_t t = 0;
  for (uint32_t i = 0; p && i < p->nnodes; i++) t += p->nodes[i].pub.self_ticks;
  return t;
}
