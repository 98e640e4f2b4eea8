/* debug.c: debugger sessions: starting and resuming calls in the stepping
 * loop, the checks it calls when its countdown expires, breakpoints (as
 * patched cells) and watchpoints.  debug.h explains the mechanism;
 * debug_replay.c records host calls and takes and restores snapshots. */
#include "debug.h"

#include <pthread.h>

#include "loop_variants.h"
#include "loop_prelude.h"

#define DEFAULT_SNAPSHOT_EVERY (UINT64_C(1) << 20)
#define DEFAULT_MAX_SNAPSHOTS 64u
#define DEFAULT_SNAPSHOT_BUDGET ((size_t)1 << 30)

/* ---- the patch registry: cells with a breakpoint over them ----
 * Translated code is shared by every instance of a module and every
 * context, so two sessions may patch the same cell: the original handler
 * is kept once, with a count of the breakpoints on it. */

typedef struct patch {
  wp_cell *cell;
  const void *orig;
  bool unfuse; /* XOP_unfuse over a superinstruction, else XOP_break */
  uint32_t refs;
} patch;

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
static patch *patches;
static uint32_t npatches, cap_patches;

static wp_handler_table step_handlers(void) {
  static wp_handler_table table;
  if (!table) wp_loop_step(NULL, 0, NULL, &table);
  return table;
}

static bool patch_cell(wp_cell *cell, bool unfuse) {
  pthread_mutex_lock(&patch_lock);
  bool ok = true;
  uint32_t i = 0;
  while (i < npatches && patches[i].cell != cell) i++;
  if (i < npatches) {
    patches[i].refs++;
  } else if ((ok = wp_grow((void **)&patches, &cap_patches, npatches + 1, sizeof *patches))) {
    patches[npatches++] = (patch){.cell = cell, .orig = cell->handler, .unfuse = unfuse, .refs = 1};
    cell->handler = step_handlers()[unfuse ? WP_XOP_unfuse : WP_XOP_break];
  }
  pthread_mutex_unlock(&patch_lock);
  return ok;
}

static void unpatch_cell(wp_cell *cell) {
  pthread_mutex_lock(&patch_lock);
  for (uint32_t i = 0; i < npatches; i++) {
    if (patches[i].cell != cell) continue;
    if (--patches[i].refs == 0) {
      cell->handler = patches[i].orig;
      patches[i] = patches[--npatches];
    }
    break;
  }
  pthread_mutex_unlock(&patch_lock);
}

/* The handler under a patch (orig) or what runs there (an unfuse patch
 * stays: the instruction at pc is run through the unfused copy). */
static const void *handler_at(const wp_cell *pc, bool orig) {
  const void *h = pc->handler;
  pthread_mutex_lock(&patch_lock);
  for (uint32_t i = 0; i < npatches; i++)
    if (patches[i].cell == pc && (orig || !patches[i].unfuse)) h = patches[i].orig;
  pthread_mutex_unlock(&patch_lock);
  return h;
}

const void *wp_debug_handler(const wp_cell *pc) { return handler_at(pc, false); }

/* Whether h is one of the stepping loop's superinstructions. */
static bool is_superinstruction(const void *h) {
  wp_handler_table t = step_handlers();
  for (unsigned x = WP_XOP_jump_if_back_unwind + 1; x < WP_XOP_break; x++)
    if (t[x] && t[x] == h) return true;
  return false;
}

const wp_cell *wp_debug_unfused(const wp_func *f, const wp_cell *pc) {
  const wp_code *code = wp_code_holding(f, WP_VARIANT_STEP, pc);
  return &code->cells[code->map_cell[code->twin[wp_code_map_index(code, pc)]]];
}

/* ---- the clock ---- */

uint64_t wp_debug_exact_ticks(const wp_debug *d) {
  const wp_exec *ex = d->ex;
  if (!d->in_call) return d->finished ? d->end_ticks : ex->ticks;
  const wp_frame *f = ex->nframes ? &ex->frames[ex->nframes - 1] : NULL;
  if (!f || !f->pc || !f->func->body) return ex->ticks;
  const wp_code *code = wp_code_holding(f->func, WP_VARIANT_STEP, f->pc);
  if (!code || !code->rec_op) return ex->ticks;
  uint32_t t = wp_code_map_index(code, f->pc);
  if (wp_code_is_tick(code, t)) return ex->ticks; /* its block is not charged yet */
  /* A superinstruction's records share its position: count from its
   * first instruction in the unfused copy, one record per instruction. */
  if (t < code->nmap_fused && code->twin[t] != UINT32_MAX) t = code->twin[t];
  const uint32_t *rec_pos;
  const wp_cell *tick = wp_code_block_tick(code, t, &rec_pos);
  if (!tick) return ex->ticks;
  /* The block was charged whole; what has not run is the instruction at pc
   * (the last record at t: the ones before it are nop/block/loop/end, which
   * have no code and count once control passes them) and what follows. */
  uint64_t unrun = 0;
  uint32_t own = UINT32_MAX;
  for (uint32_t r = tick[2].pair.a; r < wp_code_block_end(code, tick); r++) {
    if (rec_pos[r] > t) unrun += ex->cost.op[code->rec_op[r]];
    else if (rec_pos[r] == t) own = r;
  }
  if (own != UINT32_MAX) unrun += ex->cost.op[code->rec_op[own]];
  return ex->ticks - unrun;
}

uint64_t wp_debug_ticks(const wp_debug *d) { return wp_debug_exact_ticks(d); }
uint64_t wp_debug_icount(const wp_debug *d) { return d->finished ? d->end_icount : d->icount; }

/* ---- the checks the stepping loop calls ---- */

uint64_t wp_debug_lower(wp_debug *d, uint64_t countdown) {
  d->icount += d->cd_set - countdown;
  d->cd_set = 1;
  return 1;
}

static uint64_t pause(wp_debug *d, int reason, uint32_t id) {
  d->reason = reason;
  d->hit_id = id;
  return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* next_countdown: instructions to run before the next check. */
static uint64_t next_countdown(wp_debug *d) {
  uint64_t c = WP_DEBUG_FOREVER;
  if (d->step_target != WP_DEBUG_NONE && d->step_target > d->icount) c = min_u64(c, d->step_target - d->icount);
  if (d->next_snap > d->icount) c = min_u64(c, d->next_snap - d->icount);
  if (d->trace || (d->tick_target != WP_DEBUG_NONE && d->ex->ticks >= d->tick_target)) c = 1;
  d->cd_set = c;
  return c;
}

static void trace_current(wp_debug *d) {
  const wp_frame *f = &d->ex->frames[d->ex->nframes - 1];
  if (d->ntrace && d->trace[d->ntrace - 1].icount == d->icount) return; /* already there (a resume) */
  d->trace[d->ntrace++] = (wp_dbg_trace){.icount = d->icount, .ticks = wp_debug_exact_ticks(d),
                                         .func = f->func->index, .offset = wp_frame_offset(f)};
}

/* decide: at a check, before the instruction at the top frame's pc. */
static uint64_t decide(wp_debug *d) {
  wp_exec *ex = d->ex;
  if (d->icount >= d->next_snap) wp_debug_snapshot(d);
  if (atomic_load_explicit(&ex->interrupt, memory_order_relaxed) && wp_exec_checkpoint(ex, &d->err))
    return pause(d, WP_STOP_INTERRUPT, 0);
  if (d->pending) {
    int r = d->pending;
    d->pending = 0;
    return pause(d, r, d->pending_id);
  }
  if (d->step_target != WP_DEBUG_NONE && d->icount >= d->step_target) return pause(d, WP_STOP_STEP, 0);
  if (d->tick_target != WP_DEBUG_NONE && ex->ticks >= d->tick_target &&
      wp_debug_exact_ticks(d) >= d->tick_target)
    return pause(d, WP_STOP_TICK, 0);
  if (d->trace) {
    if (d->ntrace == d->trace_cap) return pause(d, WP_STOP_TRACE_FULL, 0);
    trace_current(d);
  }
  return next_countdown(d);
}

uint64_t wp_debug_check(wp_exec *ex) {
  wp_debug *d = ex->dbg;
  d->icount += d->cd_set; /* the countdown ran out: that many instructions completed */
  return decide(d);
}

static const wp_dbg_break *find_break(const wp_debug *d, const wp_cell *cell, uint32_t func, bool entry) {
  for (uint32_t i = 0; i < d->nbps; i++) {
    const wp_dbg_break *b = &d->bps[i];
    if (!b->enabled) continue;
    if (entry ? (!b->cell && b->func == func) : (b->cell == cell || b->fused_cell == cell)) return b;
  }
  return NULL;
}

uint64_t wp_debug_break(wp_exec *ex, uint64_t countdown) {
  wp_debug *d = ex->dbg;
  const wp_dbg_break *b;
  if (!d->stops_on || !(b = find_break(d, ex->frames[ex->nframes - 1].pc, 0, false))) return countdown;
  d->icount += d->cd_set - countdown; /* the instruction here has not run */
  d->cd_set = countdown;
  return pause(d, WP_STOP_BREAKPOINT, b->id);
}

/* The symbol a native debugger breaks on, and the flag it sets to be
 * called on every entry (wasmprof.h).  The empty asm keeps the call from
 * being optimised away. */
__attribute__((used)) volatile uint32_t wp_debug_entry_hook;

__attribute__((noinline, used)) void wp_debug_func_entered(wp_exec *ex, uint32_t func_index) {
  __asm__ volatile("" : : "r"(ex), "r"(func_index) : "memory");
}

uint64_t wp_debug_entered(wp_exec *ex, wp_func *f, uint64_t countdown) {
  wp_debug *d = ex->dbg;
  if (ex->prof) wp_prof_enter(ex, f);
  bool hit = d->stops_on && !d->pending && f->inst == d->inst && (d->entry_bits[f->index / 8] & (1u << (f->index % 8)));
  if (hit || wp_debug_entry_hook) wp_debug_func_entered(ex, f->index);
  if (!hit) return countdown;
  const wp_dbg_break *b = find_break(d, NULL, f->index, true);
  d->pending = WP_STOP_FUNC_ENTRY;
  d->pending_id = b ? b->id : 0;
  return wp_debug_lower(d, countdown);
}

uint64_t wp_debug_returned(wp_debug *d, uint64_t countdown) {
  if (!d->pending) {
    d->pending = WP_STOP_FRAME;
    d->pending_id = 0;
  }
  return wp_debug_lower(d, countdown);
}

/* ---- watchpoints ---- */

static wp_memory *memory0(const wp_debug *d) { return d->inst->module->nmems ? d->inst->mems[0] : NULL; }

static bool keep_values(wp_debug *d, const uint8_t *before, const uint8_t *after, uint64_t len) {
  if (len > d->value_cap) {
    uint8_t *o = realloc(d->old_value, len), *n = o ? realloc(d->new_value, len) : NULL;
    if (o) d->old_value = o;
    if (!n) return false;
    d->new_value = n;
    d->value_cap = len;
  }
  memcpy(d->old_value, before, len);
  memcpy(d->new_value, after, len);
  d->value_len = len;
  return true;
}

/* read_watched: the watched bytes now (memory outside the current size reads as zero). */
static void read_watched(const wp_debug *d, const wp_dbg_watch *w, uint8_t *out) {
  if (w->global) {
    memcpy(out, d->inst->globals[w->index]->value, sizeof(wp_slot) * 2);
    return;
  }
  const wp_memory *m = memory0(d);
  uint64_t size = m ? m->size : 0;
  for (uint64_t i = 0; i < w->len; i++) out[i] = w->addr + i < size ? m->data[w->addr + i] : 0;
}

static bool watch_changed(wp_debug *d, bool globals) {
  bool hit = false;
  uint8_t buf[256];
  for (uint32_t i = 0; i < d->nwatches; i++) {
    wp_dbg_watch *w = &d->watches[i];
    if (w->global != globals || !w->shadow) continue;
    uint64_t len = w->global ? sizeof(wp_slot) * 2 : w->len;
    uint8_t *now = len <= sizeof buf ? buf : malloc(len);
    if (!now) continue;
    read_watched(d, w, now);
    if (memcmp(now, w->shadow, len) != 0) {
      if (!hit && !d->pending && keep_values(d, w->shadow, now, w->global ? sizeof(wp_slot) : len)) {
        d->pending = WP_STOP_WATCH;
        d->pending_id = w->id;
        hit = true;
      }
      memcpy(w->shadow, now, len);
    }
    if (now != buf) free(now);
  }
  return hit;
}

bool wp_debug_watch_changed(wp_debug *d, bool globals) { return d->stops_on && watch_changed(d, globals); }

uint64_t wp_debug_stored(wp_debug *d, const wp_memory *mem, uint64_t countdown) {
  if (mem != memory0(d) || !wp_debug_watch_changed(d, false)) return countdown;
  return wp_debug_lower(d, countdown);
}

uint64_t wp_debug_global_set(wp_debug *d, uint64_t countdown) {
  if (!wp_debug_watch_changed(d, true)) return countdown;
  return wp_debug_lower(d, countdown);
}

void wp_debug_watch_sync(wp_debug *d) {
  for (uint32_t i = 0; i < d->nwatches; i++)
    if (d->watches[i].shadow) read_watched(d, &d->watches[i], d->watches[i].shadow);
}

static void watch_bounds(wp_debug *d) {
  d->watch_lo = UINT64_MAX;
  d->watch_hi = 0;
  d->nwatch_globals = 0;
  for (uint32_t i = 0; i < d->nwatches; i++) {
    const wp_dbg_watch *w = &d->watches[i];
    if (!w->shadow) continue; /* disabled */
    if (w->global) {
      d->nwatch_globals++;
      continue;
    }
    if (w->addr < d->watch_lo) d->watch_lo = w->addr;
    if (w->addr + w->len > d->watch_hi) d->watch_hi = w->addr + w->len;
  }
}

static uint32_t add_watch(wp_debug *d, bool global, uint32_t index, uint64_t addr, uint64_t len, wp_error *err) {
  if (!wp_grow((void **)&d->watches, &d->cap_watches, d->nwatches + 1, sizeof *d->watches)) goto oom;
  wp_dbg_watch *w = &d->watches[d->nwatches];
  *w = (wp_dbg_watch){.id = ++d->next_id, .global = global, .index = index, .addr = addr, .len = len};
  w->shadow = malloc(global ? sizeof(wp_slot) * 2 : len);
  if (!w->shadow) goto oom;
  read_watched(d, w, w->shadow);
  d->nwatches++;
  watch_bounds(d);
  return w->id;
oom:
  wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory adding a watchpoint");
  return 0;
}

uint32_t wp_debug_watch_memory(wp_debug *d, uint64_t addr, uint64_t len, wp_error *err) {
  if (!memory0(d)) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "the instance has no memory to watch"), 0;
  if (len == 0 || len > (1u << 20) || addr + len > (UINT64_C(1) << 32))
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "a memory watchpoint covers 1 byte to 1 MiB below 4 GiB"), 0;
  return add_watch(d, false, 0, addr, len, err);
}

uint32_t wp_debug_watch_global(wp_debug *d, uint32_t index, wp_error *err) {
  if (index >= d->inst->module->nglobals)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "no global %u", index), 0;
  return add_watch(d, true, index, 0, 0, err);
}

/* ---- breakpoints ---- */

static const wp_code *step_code(wp_debug *d, uint32_t func, wp_error *err) {
  const wp_module *m = d->inst->module;
  if (func >= m->nfuncs || func < m->nfuncs_imported) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "function %u is not a function the module defines", func);
    return NULL;
  }
  wp_func *f = d->inst->funcs[func];
  return wp_func_code(f, WP_VARIANT_STEP, &d->ex->cost, err);
}

static wp_dbg_break *new_break(wp_debug *d, wp_error *err) {
  if (!wp_grow((void **)&d->bps, &d->cap_bps, d->nbps + 1, sizeof *d->bps)) {
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory adding a breakpoint");
    return NULL;
  }
  wp_dbg_break *b = &d->bps[d->nbps];
  *b = (wp_dbg_break){.id = ++d->next_id, .enabled = true};
  return b;
}

static void entry_bits_update(wp_debug *d) {
  memset(d->entry_bits, 0, (d->inst->module->nfuncs + 7) / 8);
  for (uint32_t i = 0; i < d->nbps; i++)
    if (d->bps[i].enabled && !d->bps[i].cell) d->entry_bits[d->bps[i].func / 8] |= (uint8_t)(1u << (d->bps[i].func % 8));
  d->on_enter = d->ex->prof != NULL;
  for (uint32_t i = 0; i < d->nbps; i++) d->on_enter |= d->bps[i].enabled && !d->bps[i].cell;
}

/* patch_break: patch b's cells (code.h: stepping code): its instruction in
 * the unfused copy, and in the fused copy the instruction itself (a
 * breakpoint) or the superinstruction holding it (through the unfused copy). */
static bool patch_break(wp_dbg_break *b) {
  if (!patch_cell(b->cell, false)) return false;
  if (b->fused_cell && !patch_cell(b->fused_cell, b->fused_unfuse)) {
    unpatch_cell(b->cell);
    return false;
  }
  return true;
}

static void unpatch_break(wp_dbg_break *b) {
  unpatch_cell(b->cell);
  if (b->fused_cell) unpatch_cell(b->fused_cell);
}

uint32_t wp_debug_break_at(wp_debug *d, uint32_t func, uint32_t offset, uint32_t *actual, wp_error *err) {
  const wp_code *code = step_code(d, func, err);
  if (!code) return 0;
  /* The instruction in the unfused copy (all of the code when there is no fused one). */
  uint32_t t = code->nmap_fused;
  while (t < code->nmap && (code->map_offset[t] < offset || wp_code_is_tick(code, t) ||
                            code->cells[code->map_cell[t]].handler == code->tick_back_handler))
    t++;
  if (t == code->nmap)
    return wp_error_set(err, WP_ERR_ARG, offset, "no instruction at or after offset %#x in function %u", offset, func), 0;
  wp_dbg_break *b = new_break(d, err);
  if (!b) return 0;
  b->cell = &code->cells[code->map_cell[t]];
  b->func = func;
  b->offset = code->map_offset[t];
  b->fused_cell = NULL;
  /* In the fused copy: the last instruction starting at or before it. */
  uint32_t at = UINT32_MAX;
  for (uint32_t i = 0; i < code->nmap_fused; i++)
    if (code->twin[i] != UINT32_MAX && code->twin[i] <= t && (at == UINT32_MAX || code->twin[i] > code->twin[at])) at = i;
  if (at != UINT32_MAX) {
    b->fused_cell = &code->cells[code->map_cell[at]];
    b->fused_unfuse = is_superinstruction(handler_at(b->fused_cell, true));
  }
  if (!patch_break(b)) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory patching"), 0;
  d->nbps++;
  if (actual) *actual = b->offset;
  return b->id;
}

uint32_t wp_debug_break_func(wp_debug *d, uint32_t func, wp_error *err) {
  if (!step_code(d, func, err)) return 0;
  wp_dbg_break *b = new_break(d, err);
  if (!b) return 0;
  b->func = func;
  b->offset = d->inst->module->bodies[func - d->inst->module->nfuncs_imported].code_start;
  d->nbps++;
  entry_bits_update(d);
  return b->id;
}

int wp_debug_enable(wp_debug *d, uint32_t id, bool enabled) {
  for (uint32_t i = 0; i < d->nbps; i++) {
    wp_dbg_break *b = &d->bps[i];
    if (b->id != id) continue;
    if (b->enabled != enabled && b->cell) {
      if (enabled && !patch_break(b)) return -1;
      if (!enabled) unpatch_break(b);
    }
    b->enabled = enabled;
    entry_bits_update(d);
    return 0;
  }
  for (uint32_t i = 0; i < d->nwatches; i++) {
    wp_dbg_watch *w = &d->watches[i];
    if (w->id != id) continue;
    if (!enabled) {
      free(w->shadow);
      w->shadow = NULL;
    } else if (!w->shadow) {
      if (!(w->shadow = malloc(w->global ? sizeof(wp_slot) * 2 : w->len))) return -1;
      read_watched(d, w, w->shadow);
    }
    watch_bounds(d);
    return 0;
  }
  return -1;
}

int wp_debug_delete(wp_debug *d, uint32_t id) {
  if (wp_debug_enable(d, id, false) < 0) return -1;
  for (uint32_t i = 0; i < d->nbps; i++)
    if (d->bps[i].id == id) d->bps[i] = d->bps[--d->nbps];
  for (uint32_t i = 0; i < d->nwatches; i++)
    if (d->watches[i].id == id) d->watches[i] = d->watches[--d->nwatches];
  entry_bits_update(d);
  watch_bounds(d);
  return 0;
}

/* ---- sessions ---- */

wp_debug *wp_debug_new(wp_instance *inst, const wp_debug_options *o, wp_error *err) {
  wp_debug *d = wp_calloc(1, sizeof *d);
  if (!d || !(d->entry_bits = wp_calloc((inst->module->nfuncs + 7) / 8 + 1, 1))) goto oom;
  /* The instance's max_call_depth holds for calls run by the session too
   * (the session's call is the context's first frame, as a wp_call's). */
  wp_exec_limits limits = {.max_frames = inst->max_call_depth};
  if (!(d->ex = wp_exec_new(&limits, err))) {
    free(d->entry_bits);
    free(d);
    return NULL;
  }
  d->ex->dbg = d;
  /* Guest calls that host functions make on this context run counted, to the end. */
  d->ex->variant = WP_VARIANT_TICKED;
  d->inst = inst;
  wp_instance_retain(inst);
  d->record = !(o && o->no_record);
  d->snap_every = o && o->snapshot_every ? o->snapshot_every : DEFAULT_SNAPSHOT_EVERY;
  d->max_snaps = o && o->max_snapshots >= 2 ? o->max_snapshots : DEFAULT_MAX_SNAPSHOTS;
  d->snap_budget = o && o->snapshot_budget ? o->snapshot_budget : DEFAULT_SNAPSHOT_BUDGET;
  d->step_target = d->tick_target = WP_DEBUG_NONE;
  d->watch_lo = UINT64_MAX;
  return d;
oom:
  if (d) free(d->entry_bits);
  free(d);
  wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory creating a debugger");
  return NULL;
}

static void forget_call(wp_debug *d) {
  wp_debug_snaps_free(d);
  wp_debug_log_free(d);
  free(d->results);
  d->results = NULL;
  d->in_call = d->finished = false;
  d->ex->nframes = 0;
  d->ex->trap_nframes = 0;
  d->ex->sp = d->ex->stack;
  d->icount = 0;
  d->ntrace = 0;
}

void wp_debug_free(wp_debug *d) {
  if (!d) return;
  while (d->nbps) wp_debug_delete(d, d->bps[d->nbps - 1].id);
  while (d->nwatches) wp_debug_delete(d, d->watches[d->nwatches - 1].id);
  forget_call(d);
  free(d->bps);
  free(d->watches);
  free(d->entry_bits);
  free(d->old_value);
  free(d->new_value);
  free(d->trace);
  free(d->scratch);
  wp_exec_free(d->ex);
  wp_instance_free(d->inst);
  free(d);
}

wp_exec *wp_debug_exec(wp_debug *d) { return d->ex; }

int wp_debug_call(wp_debug *d, wp_func *f, const wp_slot *args, wp_error *err) {
  if (!f || f->inst != d->inst || !f->body)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "the debugger runs functions its instance defines");
  wp_exec *ex = d->ex;
  forget_call(d);
  const wp_code *code = step_code(d, f->index, err);
  if (!code) return -1;
  const wp_functype *t = f->type;
  uint32_t room = t->nparams > t->nresults ? t->nparams : t->nresults;
  if (ex->stack + room + code->max_height > ex->stack_end) return wp_trap(err, WP_TRAP_STACK_EXHAUSTED);
  memcpy(ex->stack, args, t->nparams * sizeof(wp_slot));
  ex->frames[0] = (wp_frame){.func = f, .pc = NULL, .fp = ex->stack, .sp = ex->stack + room};
  ex->nframes = 1;
  ex->ticks = 0;
  d->callee = f;
  d->in_call = true;
  d->next_snap = 0;
  d->pending = WP_STOP_ENTRY; /* the first check pauses, before the first instruction */
  wp_debug_run run = {.stops = true};
  return wp_debug_resume(d, &run) == WP_STOP_ENTRY ? 0 : (*err = d->err, -1);
}

wp_stop_reason wp_debug_resume(wp_debug *d, const wp_debug_run *run) {
  if (!d->in_call) return d->finished ? (wp_stop_reason)d->reason : WP_STOP_NONE;
  wp_exec *ex = d->ex;
  d->step_target = run->steps ? d->icount + run->steps : WP_DEBUG_NONE;
  d->tick_target = run->until_tick ? run->until_tick : WP_DEBUG_NONE;
  d->stop_frames = run->until_frames;
  d->stops_on = run->stops;
  d->reason = WP_STOP_NONE;
  d->hit_id = 0;
  memset(&d->err, 0, sizeof d->err);
  if (run->trace != d->trace_cap || !run->trace) {
    free(d->trace);
    d->trace = run->trace ? wp_calloc(run->trace, sizeof *d->trace) : NULL;
    d->trace_cap = d->trace ? run->trace : 0;
  }
  d->ntrace = 0;
  /* Paused at a superinstruction with a breakpoint inside: go on from its
   * first instruction in the unfused copy (without stopping there again). */
  wp_frame *top = &ex->frames[ex->nframes - 1];
  if (top->pc && top->func->body && handler_at(top->pc, false) == step_handlers()[WP_XOP_unfuse])
    top->pc = wp_debug_unfused(top->func, top->pc);
  wp_debug_watch_sync(d);
  if (d->trace && ex->frames[ex->nframes - 1].pc) trace_current(d);
  d->countdown = d->pending == WP_STOP_ENTRY ? 0 : next_countdown(d);
  d->cd_set = d->countdown;
  ex->depth++;
  wp_entry_record entry = {.prev = ex->entry, .base = 0}; /* for debuggers (debug_roots.c), as wp_call does */
  ex->entry = &entry;
  int rc = wp_loop_step(ex, 0, &d->err, NULL);
  ex->entry = entry.prev;
  ex->depth--;
  if (rc == 1) {
    wp_debug_watch_sync(d);
    return (wp_stop_reason)d->reason;
  }
  /* Ended: the last instruction (a return, or the one that failed) completed. */
  d->end_icount = d->icount + d->cd_set - d->countdown + 1;
  d->end_ticks = ex->ticks;
  d->in_call = false;
  d->finished = true;
  d->pending = 0;
  if (rc == 0) {
    uint32_t n = d->callee->type->nresults;
    free(d->results);
    d->results = wp_calloc(n ? n : 1, sizeof(wp_slot));
    if (d->results) memcpy(d->results, ex->stack, n * sizeof(wp_slot));
    d->reason = WP_STOP_RETURNED;
  } else {
    ex->trap_nframes = ex->nframes; /* the failing frames stay readable */
    d->reason = WP_STOP_ERROR;
  }
  return (wp_stop_reason)d->reason;
}

uint32_t wp_debug_stop_id(const wp_debug *d) { return d->hit_id; }

const uint8_t *wp_debug_watch_values(const wp_debug *d, const uint8_t **after, uint64_t *len) {
  *after = d->new_value;
  *len = d->value_len;
  return d->old_value;
}

const wp_error *wp_debug_error(const wp_debug *d) { return &d->err; }
const wp_slot *wp_debug_results(const wp_debug *d) { return d->finished && d->reason == WP_STOP_RETURNED ? d->results : NULL; }

int wp_debug_profile_start(wp_debug *d, wp_error *err) {
  wp_exec *ex = d->ex;
  wp_profile_options o = {0};
  if (wp_profile_start(ex, &o, err)) return -1;
  /* From the exact count: the rest of the current block is still to run. */
  ex->prof->tick_base = ex->prof->last_ticks = wp_debug_ticks(d);
  ex->prof->insns_lost = true; /* the stepping loop counts no blocks: no per-instruction counts */
  entry_bits_update(d);
  return 0;
}

wp_profile *wp_debug_profile_stop(wp_debug *d) {
  wp_profile *p = wp_profile_stop(d->ex);
  d->ex->variant = WP_VARIANT_TICKED;
  entry_bits_update(d);
  return p;
}
