/* fuzz_run.c: instantiate arbitrary modules and call every exported
 * function (zero arguments, in export order, on one instance), in the four
 * interpreter loops, and require the same outcome from each:
 *
 *   counted   a tick limit per call (and on the start function): this run
 *             decides which calls finish; the others run only those
 *   plain     no limit, no observation (the loop users run)
 *   profiled  wp_profile_start before instantiating; the profile's totals
 *             must add up to the ticks counted
 *   stepping  a wp_debug session per instance, resumed in chunks of a few
 *             instructions (pause and resume everywhere)
 *
 * Per call, the outcome compared is: status, error kind, trap kind, results
 * (references by function index), ticks (not the plain loop, which does
 * not count), the log of host calls (arguments), and afterwards the
 * instance's memories, globals and tables.  Imports are provided: functions
 * that log their arguments and return values made from them, and fresh
 * memories, tables and globals (small, so memory stays bounded).  Any
 * difference aborts, as does any sanitizer report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "module.h"
#include "runtime.h"
#include "wasmprof.h"

enum { COUNTED, PLAIN, PROFILED, STEPPING, NVARIANTS };
static const char *const variant_names[] = {"counted", "plain", "profiled", "stepping"};

#define MAX_CALLS 16           /* exported functions called per module */
#define TICKS_PER_CALL 20000   /* the counted run's limit per call (and for the start function) */
#define MAX_PAGES 16           /* memories: defined ones via wp_instance_config, imported ones by their max */
#define MAX_TABLE 1024         /* imported tables' size cap */
#define MAX_RESULTS 16

typedef struct outcome {
  int status;
  wp_error_kind kind;
  wp_trap_kind trap;
  uint32_t nresults;
  uint64_t results[MAX_RESULTS];
  uint64_t ticks;
  uint64_t host_log; /* hash of every host call's arguments so far */
  uint64_t state;    /* hash of memories, globals and tables after the call */
} outcome;

typedef struct run {
  bool instantiated;
  outcome inst;       /* instantiation (start function) */
  uint32_t ncalls;
  outcome calls[MAX_CALLS];
  bool limited;       /* counted: a call (or the start) reached the limit */
} run;

typedef struct host_ctx {
  uint64_t *log;
  uint32_t id;             /* the import's index */
  const wp_functype *type; /* the import's type (owned by the module) */
} host_ctx;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, uint64_t n) {
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return mix(h, n);
}

/* A reference made comparable across instances: a funcref by its function
 * index (host functions by their import's index), null as 0. */
static uint64_t norm_ref(wp_valtype t, wp_slot v) {
  if (t != WP_FUNCREF || v == 0) return v;
  wp_func *f = (wp_func *)(uintptr_t)v;
  return f->inst ? 0x100000000ull | f->index : 0x200000000ull | ((const host_ctx *)f->host_ctx)->id;
}

static uint64_t norm_value(wp_valtype t, wp_slot v) { return (t == WP_FUNCREF || t == WP_EXTERNREF) ? norm_ref(t, v) : v; }

static uint64_t hash_state(const wp_instance *inst) {
  const wp_module *m = inst->module;
  uint64_t h = 1;
  for (uint32_t i = 0; i < m->nmems; i++) h = hash_bytes(h, wp_memory_data(inst->mems[i]), wp_memory_size(inst->mems[i]));
  for (uint32_t i = 0; i < m->nglobals; i++) {
    wp_global *g = inst->globals[i];
    h = mix(h, norm_value(wp_global_type(g), wp_global_get(g)));
  }
  for (uint32_t i = 0; i < m->ntables; i++) {
    wp_table *t = inst->tables[i];
    uint32_t n = wp_table_size(t);
    h = mix(h, n);
    for (uint32_t j = 0; j < n; j++) {
      wp_slot v = 0;
      wp_table_get(t, j, &v);
      h = mix(h, norm_ref(wp_table_elemtype(t), v));
    }
  }
  return h;
}

/* ---- imports ---- */

/* host_fn: log the arguments (hashed into *log), return values made from them. */
static int host_fn(wp_exec *ex, void *vctx, wp_slot *args_results, wp_error *err) {
  host_ctx *c = vctx;
  (void)ex;
  (void)err;
  uint64_t h = mix(*c->log, c->id);
  for (uint32_t i = 0; i < wp_functype_param_count(c->type); i++)
    h = mix(h, norm_value(wp_functype_param(c->type, i), args_results[i]));
  *c->log = h;
  for (uint32_t i = 0; i < wp_functype_result_count(c->type); i++) {
    wp_valtype t = wp_functype_result(c->type, i);
    uint64_t v = mix(h, i);
    args_results[i] = t == WP_I64 || t == WP_F64 ? v : t == WP_I32 || t == WP_F32 ? (v & 0xffffffffu) : 0;
  }
  return 0;
}

typedef struct imports {
  wp_import_value *values;
  uint32_t n;
  host_ctx *ctxs;
} imports;

static void imports_free(imports *im) {
  for (uint32_t i = 0; i < im->n; i++) {
    wp_import_value *v = &im->values[i];
    switch (v->kind) {
      case WP_EXTERN_FUNC: wp_func_free(v->u.func); break;
      case WP_EXTERN_MEMORY: wp_memory_free(v->u.memory); break;
      case WP_EXTERN_TABLE: wp_table_free(v->u.table); break;
      case WP_EXTERN_GLOBAL: wp_global_free(v->u.global); break;
    }
  }
  free(im->values);
  free(im->ctxs);
}

/* imports_new: fresh import objects for m; false when they would be too big
 * (then nothing is run). */
static bool imports_new(const wp_module *m, uint64_t *log, imports *im) {
  uint32_t n = wp_module_import_count(m);
  im->n = 0;
  im->values = calloc(n ? n : 1, sizeof *im->values);
  im->ctxs = calloc(n ? n : 1, sizeof *im->ctxs);
  if (!im->values || !im->ctxs) return false;
  for (uint32_t i = 0; i < n; i++) {
    const char *mod, *name;
    uint32_t ml, nl;
    wp_extern_type t;
    wp_error err = {0};
    wp_module_import(m, i, &mod, &ml, &name, &nl, &t);
    wp_import_value *v = &im->values[i];
    v->kind = t.kind;
    switch (t.kind) {
      case WP_EXTERN_FUNC:
        im->ctxs[i] = (host_ctx){log, i, t.func};
        v->u.func = wp_func_new_host(t.func, host_fn, &im->ctxs[i], NULL);
        if (!v->u.func) return false;
        break;
      case WP_EXTERN_MEMORY: {
        if (t.limits.min > MAX_PAGES) return false;
        wp_limits l = {t.limits.min, t.limits.has_max && t.limits.max < MAX_PAGES ? t.limits.max : MAX_PAGES, true};
        v->u.memory = wp_memory_new(l, &err);
        if (!v->u.memory) return false;
        break;
      }
      case WP_EXTERN_TABLE: {
        if (t.limits.min > MAX_TABLE) return false;
        wp_limits l = {t.limits.min, t.limits.has_max && t.limits.max < MAX_TABLE ? t.limits.max : MAX_TABLE, true};
        v->u.table = wp_table_new(t.valtype, l, 0, &err);
        if (!v->u.table) return false;
        break;
      }
      case WP_EXTERN_GLOBAL:
        v->u.global = wp_global_new(t.valtype, t.mutable_, t.valtype == WP_I32 || t.valtype == WP_I64 ? 7 : 0);
        if (!v->u.global) return false;
        break;
    }
    im->n = i + 1;
  }
  return true;
}

/* ---- running ---- */

static void record(outcome *o, int status, const wp_error *err, const wp_functype *type, const wp_slot *results,
                   uint64_t ticks, uint64_t log, const wp_instance *inst) {
  memset(o, 0, sizeof *o);
  o->status = status != 0;
  o->kind = status ? err->kind : WP_OK;
  o->trap = status && err->kind == WP_ERR_TRAP ? err->trap : WP_TRAP_NONE;
  if (!status && type) {
    o->nresults = wp_functype_result_count(type);
    for (uint32_t i = 0; i < o->nresults && i < MAX_RESULTS; i++)
      o->results[i] = norm_value(wp_functype_result(type, i), results[i]);
  }
  o->ticks = ticks;
  o->host_log = log;
  o->state = inst ? hash_state(inst) : 0;
}

typedef struct exported {
  uint32_t n;
  wp_func *funcs[MAX_CALLS];
} exported;

static void exported_funcs(const wp_instance *inst, exported *out) {
  const wp_module *m = wp_instance_module(inst);
  out->n = 0;
  for (uint32_t i = 0; i < wp_module_export_count(m) && out->n < MAX_CALLS; i++) {
    const char *name;
    uint32_t len;
    wp_extern_type t;
    wp_module_export(m, i, &name, &len, &t);
    wp_import_value v;
    if (t.kind == WP_EXTERN_FUNC && wp_instance_export(inst, name, len, &v)) out->funcs[out->n++] = v.u.func;
  }
}

/* step_call: one call through the debugger, resumed every `chunk` instructions. */
static int step_call(wp_debug *d, wp_func *f, const wp_slot *args, wp_slot *results, uint64_t chunk, wp_error *err) {
  if (wp_debug_call(d, f, args, err)) return -1;
  wp_debug_run run = {.steps = chunk, .stops = false};
  for (;;) {
    wp_stop_reason why = wp_debug_resume(d, &run);
    if (why == WP_STOP_STEP || why == WP_STOP_ENTRY) continue;
    if (why == WP_STOP_RETURNED) {
      const wp_slot *r = wp_debug_results(d);
      uint32_t n = wp_functype_result_count(wp_func_type(f));
      for (uint32_t i = 0; i < n; i++) results[i] = r[i];
      return 0;
    }
    if (why == WP_STOP_ERROR) {
      *err = *wp_debug_error(d);
      return -1;
    }
    fprintf(stderr, "fuzz_run: the debugger stopped for reason %d\n", (int)why);
    abort();
  }
}

/* run_variant: instantiate and call the first `budget` exported functions
 * (the counted run: all, until one reaches the limit). */
static void run_variant(const wp_module *m, int variant, uint32_t budget, uint64_t chunk, run *out) {
  memset(out, 0, sizeof *out);
  uint64_t log = 0;
  imports im;
  wp_error err = {0};
  wp_exec_limits limits = {.max_frames = 4000};
  wp_exec *ex = wp_exec_new(&limits, &err);
  if (!ex) abort();
  if (!imports_new(m, &log, &im)) {
    out->limited = true; /* too big to import: nothing runs */
    goto done_imports;
  }
  wp_profile_options popts = {0};
  if (variant == COUNTED) wp_exec_set_tick_limit(ex, TICKS_PER_CALL, NULL);
  if (variant == PROFILED && wp_profile_start(ex, &popts, &err)) abort();
  wp_instance_config config = {.max_memory_pages = MAX_PAGES, .max_call_depth = 300};
  uint64_t t0 = wp_exec_ticks(ex);
  wp_instance *inst = wp_instance_new_config(m, im.values, im.n, &config, ex, &err);
  record(&out->inst, inst == NULL, &err, NULL, NULL, variant == PLAIN || variant == STEPPING ? 0 : wp_exec_ticks(ex) - t0,
         log, inst);
  if (!inst) {
    out->limited = err.kind == WP_ERR_LIMIT && variant == COUNTED;
    goto done;
  }
  out->instantiated = true;
  exported ef;
  exported_funcs(inst, &ef);
  wp_debug *d = NULL;
  if (variant == STEPPING) {
    wp_debug_options dopts = {.snapshot_every = 4096, .max_snapshots = 4, .snapshot_budget = 1 << 22};
    d = wp_debug_new(inst, &dopts, &err);
    if (!d) abort();
  }
  for (uint32_t i = 0; i < ef.n && i < budget; i++) {
    wp_func *f = ef.funcs[i];
    const wp_functype *type = wp_func_type(f);
    wp_slot args[256] = {0}, results[256] = {0};
    if (wp_functype_param_count(type) > 256 || wp_functype_result_count(type) > 256) break;
    if (variant == COUNTED) wp_exec_set_tick_limit(ex, TICKS_PER_CALL, NULL);
    uint64_t before = wp_exec_ticks(ex);
    int rc;
    uint64_t ticks;
    if (variant == STEPPING && wp_func_instance(f) == inst) {
      rc = step_call(d, f, args, results, chunk, &err);
      ticks = wp_debug_ticks(d);
    } else { /* the stepping variant too, for a re-exported host function: nothing to step */
      rc = wp_call(ex, f, args, results, &err);
      ticks = variant == PLAIN ? 0 : wp_exec_ticks(ex) - before;
    }
    if (variant == COUNTED && rc && err.kind == WP_ERR_LIMIT) {
      out->limited = true;
      break;
    }
    record(&out->calls[i], rc, &err, type, results, ticks, log, inst);
    out->ncalls = i + 1;
  }
  if (d) wp_debug_free(d);
  wp_instance_free(inst);
done:
  if (variant == PROFILED) {
    wp_profile *p = wp_profile_stop(ex);
    if (!p) abort();
    /* The profile accounts for every tick: its nodes' self ticks add up to its total. */
    uint64_t sum = 0, total = out->inst.ticks;
    for (uint32_t i = 0; i < wp_profile_node_count(p); i++) sum += wp_profile_node_at(p, i)->self_ticks;
    for (uint32_t i = 0; i < out->ncalls; i++) total += out->calls[i].ticks;
    if (sum != wp_profile_total_ticks(p) || total != sum) {
      fprintf(stderr, "fuzz_run: profile nodes sum to %llu ticks, total %llu, calls counted %llu\n",
              (unsigned long long)sum, (unsigned long long)wp_profile_total_ticks(p), (unsigned long long)total);
      abort();
    }
    wp_profile_free(p);
  }
done_imports:
  imports_free(&im);
  wp_exec_free(ex);
}

static void compare_outcome(const char *what, uint32_t i, const outcome *a, const outcome *b, int variant, bool ticks) {
  bool same = a->status == b->status && a->kind == b->kind && a->trap == b->trap && a->nresults == b->nresults &&
              !memcmp(a->results, b->results, sizeof a->results) && a->host_log == b->host_log &&
              a->state == b->state && (!ticks || a->ticks == b->ticks);
  if (same) return;
  fprintf(stderr,
          "fuzz_run: %s %u differs between counted and %s:\n"
          "  counted: status %d kind %d trap %d results %u [%llx] ticks %llu log %llx state %llx\n"
          "  %s: status %d kind %d trap %d results %u [%llx] ticks %llu log %llx state %llx\n",
          what, i, variant_names[variant], a->status, a->kind, a->trap, a->nresults, (unsigned long long)a->results[0],
          (unsigned long long)a->ticks, (unsigned long long)a->host_log, (unsigned long long)a->state,
          variant_names[variant], b->status, b->kind, b->trap, b->nresults, (unsigned long long)b->results[0],
          (unsigned long long)b->ticks, (unsigned long long)b->host_log, (unsigned long long)b->state);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wp_error err = {0};
  wp_module *m = wp_module_new(data, size, &err);
  if (!m) return 0;
  static run runs[NVARIANTS];
  run_variant(m, COUNTED, MAX_CALLS, 0, &runs[COUNTED]);
  if (!runs[COUNTED].instantiated && runs[COUNTED].limited) {
    wp_module_free(m);
    return 0;
  }
  uint32_t budget = runs[COUNTED].ncalls;
  uint64_t chunk = 1 + hash_bytes(0, data, size) % 61;
  for (int v = PLAIN; v < NVARIANTS; v++) {
    run_variant(m, v, budget, chunk, &runs[v]);
    if (runs[v].instantiated != runs[COUNTED].instantiated || runs[v].ncalls != budget) {
      fprintf(stderr, "fuzz_run: %s: instantiated %d, %u calls; counted: %d, %u\n", variant_names[v],
              runs[v].instantiated, runs[v].ncalls, runs[COUNTED].instantiated, budget);
      abort();
    }
    bool ticks = v != PLAIN;
    compare_outcome("instantiation", 0, &runs[COUNTED].inst, &runs[v].inst, v, ticks && v != STEPPING);
    for (uint32_t i = 0; i < budget; i++) compare_outcome("call", i, &runs[COUNTED].calls[i], &runs[v].calls[i], v, ticks);
  }
  wp_module_free(m);
  return 0;
}
