/* meter.c: cost models, tick limits, and the choice of loop variant. */
#include "runtime.h"

void wp_cost_model_rehash(wp_cost_model *m) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the prices */
  for (uint32_t i = 0; i <= WP_OP_COUNT; i++) {
    uint32_t v = i < WP_OP_COUNT ? m->op[i] : m->per_call;
    for (int b = 0; b < 4; b++) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 0x100000001b3ull;
    }
  }
  m->prices_hash = h;
  wp_cost_model_count_blocks(m, m->count_blocks);
}

void wp_cost_model_count_blocks(wp_cost_model *m, bool on) {
  m->count_blocks = on;
  m->hash = (m->prices_hash ^ (on ? 2u : 0u)) | 1; /* never 0: 0 marks code that was never priced */
}

void wp_cost_model_init_default(wp_cost_model *m) {
  for (uint32_t i = 0; i < WP_OP_COUNT; i++) m->op[i] = 1;
  m->per_call = 0;
  wp_cost_model_rehash(m);
}

wp_cost_model *wp_cost_model_new(uint32_t default_cost) {
  wp_cost_model *m = wp_calloc(1, sizeof *m);
  if (!m) return NULL;
  for (uint32_t i = 0; i < WP_OP_COUNT; i++) m->op[i] = default_cost;
  wp_cost_model_rehash(m);
  return m;
}

int wp_cost_model_set(wp_cost_model *m, const char *name, uint32_t cost) {
  int found = 0;
  for (uint32_t i = 0; i < WP_OP_COUNT; i++) {
    if (strcmp(wp_opinfo_table[i].name, name) == 0) {
      m->op[i] = cost;
      found = 1;
    }
  }
  wp_cost_model_rehash(m);
  return found ? 0 : -1;
}

void wp_cost_model_set_per_call(wp_cost_model *m, uint32_t cost) {
  m->per_call = cost;
  wp_cost_model_rehash(m);
}

void wp_cost_model_free(wp_cost_model *m) { free(m); }

void wp_exec_update_variant(wp_exec *ex) {
  ex->tick_stop = ex->tick_limit;
  if (ex->tick_cb && ex->tick_next < ex->tick_stop) ex->tick_stop = ex->tick_next;
  /* A profile counts blocks, but not a debugger's: the stepping code keeps its
   * prices' hash (and its breakpoints), and its profile has no per-instruction counts. */
  bool count_blocks = ex->prof && !ex->dbg;
  if (ex->cost.count_blocks != count_blocks) wp_cost_model_count_blocks(&ex->cost, count_blocks);
  if (ex->prof || ex->tick_stop != UINT64_MAX) ex->variant = WP_VARIANT_TICKED;
  else ex->variant = WP_VARIANT_PLAIN;
}

int wp_tick_stop_reached(wp_exec *ex, wp_func *func, const void *pc, uint64_t ticks_after, wp_error *err) {
  if (ticks_after > ex->tick_limit) {
    wp_frame at = {.func = func, .pc = pc}; /* wp_frame_offset finds the code (of any prices) that holds pc */
    wp_error_set(err, WP_ERR_LIMIT, wp_frame_offset(&at), "tick limit %llu reached",
                 (unsigned long long)ex->tick_budget);
    if (err) err->func = func->index;
    return -1;
  }
  ex->tick_next = ticks_after + ex->tick_every;
  wp_exec_update_variant(ex);
  if (ex->tick_cb && ex->tick_cb(ex, ex->tick_ctx, ex->ticks, err)) return -1;
  return 0;
}

void wp_exec_set_tick_callback(wp_exec *ex, uint64_t every, wp_tick_callback cb, void *ctx) {
  if (!ex) return;
  ex->tick_cb = every ? cb : NULL;
  ex->tick_ctx = ctx;
  ex->tick_every = every;
  ex->tick_next = ex->ticks + every;
  wp_exec_update_variant(ex);
}

void wp_exec_set_tick_limit(wp_exec *ex, uint64_t max_ticks, const wp_cost_model *cost) {
  if (!ex) return;
  if (max_ticks == 0) {
    ex->tick_limit = UINT64_MAX;
    ex->tick_budget = 0;
  } else {
    ex->tick_limit = ex->ticks + max_ticks < ex->ticks ? UINT64_MAX - 1 : ex->ticks + max_ticks;
    ex->tick_budget = max_ticks;
    if (!ex->prof) {
      if (cost) ex->cost = *cost;
      else wp_cost_model_init_default(&ex->cost);
    }
  }
  wp_exec_update_variant(ex);
}

uint64_t wp_exec_ticks(const wp_exec *ex) { return ex ? ex->ticks : 0; }
