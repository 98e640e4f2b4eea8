/* debug_replay.c: deterministic replay for the debugger (debug.h).
 *
 * Given the same results from its imports, a guest computes the same
 * thing.  So the session records every host call the stepping loop makes:
 * its status, results, what it changed in memory 0 (found by comparing a
 * copy taken before the call, 4 KiB at a time) and the ticks of any guest
 * code it re-entered.  It also takes snapshots at checks, every snap_every
 * instructions: the frames, the value stack, memory 0, globals, tables and
 * segment flags.  Restoring one and running forward replays the recorded
 * host calls instead of making them, which reaches exactly the state a
 * forward run reached, without repeating the host's side effects (output
 * is not printed twice, the clock reads the same).  When the snapshots
 * outgrow max_snaps or the byte budget, every other one is dropped (the
 * first is kept) and the spacing doubles: going back costs at most one
 * spacing of replay. */
#include "debug.h"

#include "loop_prelude.h"

#define DIFF_CHUNK 4096u

/* ---- the log of host calls ---- */

static bool grow64(void **arr, uint64_t *cap, uint64_t need, size_t elem) {
  if (need <= *cap) return true;
  uint64_t n = *cap ? *cap : 16;
  while (n < need) n *= 2;
  void *p = realloc(*arr, n * elem);
  if (!p) return false;
  *arr = p;
  *cap = n;
  return true;
}

void wp_debug_log_free(wp_debug *d) {
  free(d->log);
  free(d->slots);
  free(d->diffs);
  free(d->bytes);
  d->log = NULL;
  d->slots = NULL;
  d->diffs = NULL;
  d->bytes = NULL;
  d->nlog = d->cap_log = d->log_pos = 0;
  d->nslots = d->cap_slots = d->ndiffs = d->cap_diffs = d->nbytes = d->cap_bytes = 0;
}

static wp_memory *memory0(const wp_debug *d) { return d->inst->module->nmems ? d->inst->mems[0] : NULL; }

static bool add_diff(wp_debug *d, uint64_t addr, const uint8_t *p, uint64_t len) {
  if (!grow64((void **)&d->diffs, &d->cap_diffs, d->ndiffs + 1, sizeof *d->diffs) ||
      !grow64((void **)&d->bytes, &d->cap_bytes, d->nbytes + len, 1))
    return false;
  d->diffs[d->ndiffs++] = (wp_dbg_diff){.addr = addr, .len = len, .at = d->nbytes};
  memcpy(d->bytes + d->nbytes, p, len);
  d->nbytes += len;
  return true;
}

/* record_memory: the ranges of memory 0 that differ from the copy of
 * `before` bytes (grown memory: its non-zero chunks). */
static bool record_memory(wp_debug *d, const wp_memory *m, uint64_t before) {
  for (uint64_t at = 0; at < m->size; at += DIFF_CHUNK) {
    uint64_t n = m->size - at < DIFF_CHUNK ? m->size - at : DIFF_CHUNK;
    const uint8_t *now = m->data + at;
    uint64_t lo = 0, hi = n;
    if (at + n <= before) {
      const uint8_t *was = d->scratch + at;
      if (memcmp(now, was, n) == 0) continue;
      while (now[lo] == was[lo]) lo++;
      while (now[hi - 1] == was[hi - 1]) hi--;
    } else {
      while (lo < n && now[lo] == 0 && at + lo >= before) lo++;
      if (lo == n) continue;
    }
    if (!add_diff(d, at + lo, now + lo, hi - lo)) return false;
  }
  return true;
}

static int replay(wp_debug *d, wp_func *callee, wp_slot *args, wp_error *err) {
  const wp_dbg_host_rec *r = &d->log[d->log_pos++];
  wp_memory *m = memory0(d);
  if (m && r->pages_after * WP_PAGE_SIZE > m->size)
    wp_memory_grow_pages(m, (uint32_t)(r->pages_after - m->size / WP_PAGE_SIZE));
  for (uint32_t i = 0; i < r->ndiffs; i++) {
    const wp_dbg_diff *df = &d->diffs[r->diff_at + i];
    if (m && df->addr + df->len <= m->size) memcpy(m->data + df->addr, d->bytes + df->at, df->len);
  }
  d->ex->ticks += r->ticks;
  if (r->rc) {
    if (err) *err = r->err;
    return r->rc;
  }
  uint32_t n = callee->type->nresults < r->nres ? callee->type->nresults : r->nres;
  memcpy(args, d->slots + r->res_at, n * sizeof(wp_slot));
  return 0;
}

int wp_debug_host_call(wp_exec *ex, wp_func *callee, wp_slot *args, wp_error *err) {
  wp_debug *d = ex->dbg;
  int rc;
  if (d->log_pos < d->nlog) {
    rc = replay(d, callee, args, err);
  } else {
    wp_memory *m = memory0(d);
    uint64_t before = m ? m->size : 0;
    bool rec = d->record;
    if (rec && before > d->scratch_cap) {
      uint8_t *p = realloc(d->scratch, before);
      if (p) {
        d->scratch = p;
        d->scratch_cap = before;
      } else {
        rec = false;
      }
    }
    if (rec && before) memcpy(d->scratch, m->data, before);
    uint64_t ticks = ex->ticks;
    rc = callee->host(ex, callee->host_ctx, args, err);
    if (rec) {
      bool ok = grow64((void **)&d->log, &d->cap_log, d->nlog + 1, sizeof *d->log);
      uint32_t nres = rc ? 0 : callee->type->nresults;
      ok = ok && grow64((void **)&d->slots, &d->cap_slots, d->nslots + nres, sizeof(wp_slot));
      wp_dbg_host_rec r = {.rc = rc, .nres = nres, .res_at = d->nslots, .pages_after = m ? m->size / WP_PAGE_SIZE : 0,
                           .diff_at = d->ndiffs, .ticks = ex->ticks - ticks};
      if (rc && err) r.err = *err;
      ok = ok && (!m || record_memory(d, m, before));
      if (ok) {
        if (nres) memcpy(d->slots + d->nslots, args, nres * sizeof(wp_slot)); /* d->slots may still be NULL */
        d->nslots += nres;
        r.ndiffs = (uint32_t)(d->ndiffs - r.diff_at);
        d->log[d->nlog++] = r;
        d->log_pos = d->nlog;
      } else {
        d->record = false; /* out of memory: stop recording (going back past here is refused) */
      }
    }
  }
  if (d->nwatches) wp_debug_watch_changed(d, true), wp_debug_watch_changed(d, false); /* sets pending */
  return rc;
}

/* ---- snapshots ---- */

static void snap_free(wp_dbg_snap *s) {
  free(s->frames);
  free(s->stack);
  free(s->mem);
  free(s->globals);
  for (uint32_t i = 0; s->tables && i < s->ntables; i++) free(s->tables[i]);
  free(s->tables);
  free(s->table_sizes);
  free(s->dropped);
  memset(s, 0, sizeof *s);
}

void wp_debug_snaps_free(wp_debug *d) {
  for (uint32_t i = 0; i < d->nsnaps; i++) snap_free(&d->snaps[i]);
  free(d->snaps);
  d->snaps = NULL;
  d->nsnaps = 0;
  d->snap_bytes = 0;
  d->next_snap = 0;
}

static void *dup(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  if (q && n) memcpy(q, p, n);
  return q;
}

/* thin: drop every other snapshot but the first; the spacing doubles. */
static void thin(wp_debug *d) {
  uint32_t k = 1;
  for (uint32_t i = 1; i < d->nsnaps; i++) {
    if (i % 2 == 1) {
      d->snap_bytes -= d->snaps[i].bytes;
      snap_free(&d->snaps[i]);
    } else {
      d->snaps[k++] = d->snaps[i];
    }
  }
  d->nsnaps = k;
  d->snap_every *= 2;
}

bool wp_debug_snapshot(wp_debug *d) {
  const wp_exec *ex = d->ex;
  const wp_instance *inst = d->inst;
  const wp_module *m = inst->module;
  const wp_memory *mem = memory0(d);
  const wp_frame *top = &ex->frames[ex->nframes - 1];
  const wp_code *code = top->func->body && top->pc ? wp_code_holding(top->func, WP_VARIANT_STEP, top->pc) : NULL;
  size_t mem_bytes = mem ? mem->size : 0;
  while (d->nsnaps >= d->max_snaps || (d->nsnaps > 2 && d->snap_bytes + mem_bytes > d->snap_budget)) thin(d);
  d->next_snap = d->icount + d->snap_every;
  if (!d->snaps && !(d->snaps = wp_calloc(d->max_snaps, sizeof *d->snaps))) return false;
  wp_dbg_snap s = {.icount = d->icount, .ticks = ex->ticks, .exact = wp_debug_exact_ticks(d), .log_pos = d->log_pos,
                   .nframes = ex->nframes};
  s.nstack = (size_t)(top->fp + (code ? code->max_height : 0) - ex->stack);
  s.frames = dup(ex->frames, ex->nframes * sizeof(wp_frame));
  s.stack = dup(ex->stack, s.nstack * sizeof(wp_slot));
  s.mem_size = mem_bytes;
  s.mem = mem ? dup(mem->data, mem_bytes) : NULL;
  s.globals = wp_calloc(m->nglobals * 2 + 1, sizeof(wp_slot));
  s.tables = wp_calloc(m->ntables + 1, sizeof(wp_slot *));
  s.table_sizes = wp_calloc(m->ntables + 1, sizeof(uint32_t));
  s.dropped = wp_calloc(m->ndatas + m->nelems + 1, 1);
  bool ok = s.frames && s.stack && (!mem || s.mem) && s.globals && s.tables && s.table_sizes && s.dropped;
  for (uint32_t i = 0; ok && i < m->nglobals; i++) memcpy(&s.globals[2 * i], inst->globals[i]->value, 2 * sizeof(wp_slot));
  for (uint32_t i = 0; ok && i < m->ntables; i++) {
    s.table_sizes[i] = inst->tables[i]->size;
    ok = (s.tables[i] = dup(inst->tables[i]->elems, inst->tables[i]->size * sizeof(wp_slot))) != NULL;
  }
  if (s.tables) s.ntables = m->ntables;
  if (ok) {
    memcpy(s.dropped, inst->data_dropped, m->ndatas);
    memcpy(s.dropped + m->ndatas, inst->elem_dropped, m->nelems);
  }
  s.bytes = mem_bytes + s.nstack * sizeof(wp_slot) + ex->nframes * sizeof(wp_frame);
  if (!ok) {
    snap_free(&s);
    return false;
  }
  d->snaps[d->nsnaps++] = s;
  d->snap_bytes += s.bytes;
  return true;
}

int wp_debug_restore(wp_debug *d, uint64_t icount, uint64_t *restored, wp_error *err) {
  uint32_t k = d->nsnaps;
  while (k > 0 && d->snaps[k - 1].icount > icount) k--;
  if (k == 0) return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "no snapshot at or before instruction %llu",
                                  (unsigned long long)icount);
  const wp_dbg_snap *s = &d->snaps[k - 1];
  if (s->log_pos > d->nlog)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "the host calls before that point were not recorded");
  wp_exec *ex = d->ex;
  wp_instance *inst = d->inst;
  const wp_module *m = inst->module;
  memcpy(ex->frames, s->frames, s->nframes * sizeof(wp_frame));
  ex->nframes = s->nframes;
  ex->trap_nframes = 0;
  ex->sp = ex->stack;
  memcpy(ex->stack, s->stack, s->nstack * sizeof(wp_slot));
  ex->ticks = s->ticks;
  wp_memory *mem = memory0(d);
  if (mem) {
    if (mem->size > s->mem_size) {
      memset(mem->data + s->mem_size, 0, mem->size - s->mem_size); /* grown later: fresh pages are zero */
      mem->size = s->mem_size;
      mem->limits.min = (uint32_t)(s->mem_size / WP_PAGE_SIZE);
    } else if (mem->size < s->mem_size) {
      wp_memory_grow_pages(mem, (uint32_t)((s->mem_size - mem->size) / WP_PAGE_SIZE));
    }
    memcpy(mem->data, s->mem, s->mem_size);
  }
  for (uint32_t i = 0; i < m->nglobals; i++) memcpy(inst->globals[i]->value, &s->globals[2 * i], 2 * sizeof(wp_slot));
  for (uint32_t i = 0; i < m->ntables; i++) {
    wp_table *t = inst->tables[i];
    if (t->size < s->table_sizes[i]) wp_table_grow_by(t, s->table_sizes[i] - t->size, 0);
    t->size = s->table_sizes[i];
    t->limits.min = t->size;
    memcpy(t->elems, s->tables[i], t->size * sizeof(wp_slot));
  }
  memcpy(inst->data_dropped, s->dropped, m->ndatas);
  memcpy(inst->elem_dropped, s->dropped + m->ndatas, m->nelems);
  d->icount = s->icount;
  d->log_pos = s->log_pos;
  d->next_snap = d->snaps[d->nsnaps - 1].icount + d->snap_every;
  d->in_call = true;
  d->finished = false;
  d->pending = 0;
  wp_debug_watch_sync(d);
  if (restored) *restored = s->icount;
  return 0;
}

void wp_debug_forget_future(wp_debug *d) {
  if (d->log_pos < d->nlog) {
    const wp_dbg_host_rec *r = &d->log[d->log_pos];
    d->nslots = r->res_at;
    d->ndiffs = r->diff_at;
    d->nbytes = r->diff_at ? d->diffs[r->diff_at - 1].at + d->diffs[r->diff_at - 1].len : 0;
    d->nlog = d->log_pos;
  }
  while (d->nsnaps > 1 && d->snaps[d->nsnaps - 1].icount > d->icount) {
    d->snap_bytes -= d->snaps[d->nsnaps - 1].bytes;
    snap_free(&d->snaps[--d->nsnaps]);
  }
  d->next_snap = d->nsnaps ? d->snaps[d->nsnaps - 1].icount + d->snap_every : 0;
}
