/* compile.c: the emitter behind validate_body.c, and lazy translation of a
 * function body into internal code (code.h) for one loop variant. */
#include "compile.h"

static void emit_cell(wp_emitter *em, wp_cell cell) {
  if (!wp_grow((void **)&em->cells, &em->cap, em->ncells + 1, sizeof(wp_cell))) {
    em->oom = true;
    return;
  }
  em->cells[em->ncells++] = cell;
}

uint32_t wp_emit_op(wp_emitter *em, unsigned iop, uint32_t wasm_offset) {
  uint32_t at = em->ncells;
  if (wp_grow((void **)&em->map_cell, &em->cap_map, em->nmap + 1, sizeof(uint32_t))) {
    uint32_t cap = em->cap_map;
    /* map_offset grows in step with map_cell; wp_grow may only grow capacity. */
    uint32_t cap_off = em->nmap;
    if (wp_grow((void **)&em->map_offset, &cap_off, cap, sizeof(uint32_t))) {
      em->map_cell[em->nmap] = at;
      em->map_offset[em->nmap] = wasm_offset;
      em->nmap++;
    } else {
      em->oom = true;
    }
  } else {
    em->oom = true;
  }
  emit_cell(em, (wp_cell){.handler = em->handlers[iop]});
  return at;
}

void wp_emit_u64(wp_emitter *em, uint64_t v) { emit_cell(em, (wp_cell){.u64 = v}); }

void wp_emit_pair(wp_emitter *em, uint32_t a, uint32_t b) {
  wp_cell cell = {.u64 = 0};
  cell.pair.a = a;
  cell.pair.b = b;
  emit_cell(em, cell);
}

void wp_emit_rel(wp_emitter *em, uint32_t op_cell, uint32_t target_cell) {
  emit_cell(em, (wp_cell){.i64 = (int64_t)target_cell - (int64_t)op_cell});
}

/* A placeholder holds (next placeholder in the list, its instruction's cell). */
void wp_emit_fixup(wp_emitter *em, uint32_t op_cell, uint32_t *list) {
  uint32_t at = em->ncells;
  wp_emit_pair(em, *list, op_cell);
  if (!em->oom) *list = at;
}

void wp_patch_fixups(wp_emitter *em, uint32_t list, uint32_t target_cell) {
  while (list != WP_NO_FIXUP && !em->oom) {
    wp_cell *cell = &em->cells[list];
    uint32_t next = cell->pair.a, op_cell = cell->pair.b;
    cell->i64 = (int64_t)target_cell - (int64_t)op_cell;
    list = next;
  }
}

void wp_emit_count(wp_emitter *em, unsigned op, uint32_t wasm_offset) {
  if (!em->ticks) return;
  if (!em->block_open) {
    wp_emit_op(em, WP_XOP_tick, wasm_offset);
    wp_emit_u64(em, 0);             /* priced by wp_code_reprice */
    wp_emit_pair(em, em->nrec, 0);  /* this block's records start here */
    em->block_open = true;
  }
  uint32_t cap = em->cap_rec;
  if (!wp_grow((void **)&em->rec_op, &cap, em->nrec + 1, sizeof *em->rec_op)) {
    em->oom = true;
    return;
  }
  uint32_t cap_pos = em->cap_rec;
  if (!wp_grow((void **)&em->rec_pos, &cap_pos, cap, sizeof *em->rec_pos)) {
    em->oom = true;
    return;
  }
  em->cap_rec = cap;
  em->rec_op[em->nrec] = (uint16_t)op;
  em->rec_pos[em->nrec] = em->nmap;
  em->nrec++;
}

static bool is_tick(const wp_code *code, uint32_t map_index) {
  return code->cells[code->map_cell[map_index]].handler == code->tick_handler;
}

void wp_code_reprice(wp_code *code, const wp_cost_model *costs) {
  /* Ticks are in record order; a block's records end where the next begins. */
  wp_cell *prev = NULL;
  for (uint32_t i = 0; i <= code->nmap; i++) {
    if (i < code->nmap && !is_tick(code, i)) continue;
    uint32_t end = i < code->nmap ? code->cells[code->map_cell[i] + 2].pair.a : code->nrec;
    if (prev) {
      uint64_t sum = 0;
      for (uint32_t r = prev[2].pair.a; r < end; r++) sum += costs->op[code->rec_op[r]];
      prev[1].u64 = sum;
      prev[2].pair.b = end;
    }
    if (i < code->nmap) prev = &code->cells[code->map_cell[i]];
  }
  code->cost_hash = costs->hash;
}

/* map_index: the offset-map entry of the instruction at or before pc. */
static uint32_t map_index(const wp_code *code, const wp_cell *pc) {
  uint32_t cell = (uint32_t)(pc - code->cells);
  uint32_t lo = 0, hi = code->nmap;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (code->map_cell[mid] <= cell) lo = mid;
    else hi = mid;
  }
  return lo;
}

uint64_t wp_code_unexecuted_cost(const wp_code *code, const wp_cell *pc, const wp_cost_model *costs) {
  if (!code || !code->rec_op || !pc || code->nmap == 0) return 0;
  uint32_t t = map_index(code, pc);
  uint32_t i = t;
  while (!is_tick(code, i)) {
    if (i == 0) return 0; /* before any block: nothing was charged */
    i--;
  }
  const wp_cell *tick = &code->cells[code->map_cell[i]];
  uint64_t sum = 0;
  for (uint32_t r = tick[2].pair.a; r < tick[2].pair.b; r++)
    if (code->rec_pos[r] > t) sum += costs->op[code->rec_op[r]];
  return sum;
}

void wp_code_free(wp_code *code) {
  if (!code) return;
  free(code->rec_op);
  free(code->rec_pos);
  free(code->cells);
  free(code->map_cell);
  free(code->map_offset);
  free(code);
}

wp_code *wp_compile(const wp_module *m, uint32_t defined_index, wp_handler_table handlers, wp_error *err) {
  return wp_compile_ticked(m, defined_index, handlers, NULL, err);
}

wp_code *wp_compile_ticked(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                           const wp_cost_model *costs, wp_error *err) {
  wp_emitter em = {.handlers = handlers, .ticks = costs != NULL};
  wp_code *code = wp_calloc(1, sizeof *code);
  uint32_t max_height = 0;
  if (!code || wp_validate_body(m, defined_index, &em, &max_height, err) < 0 || em.oom) {
    if (code && em.oom) wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory translating a function");
    else if (!code) wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory translating a function");
    free(em.cells);
    free(em.map_cell);
    free(em.map_offset);
    free(em.rec_op);
    free(em.rec_pos);
    free(code);
    return NULL;
  }
  const wp_functype *t = &m->types[m->func_types[m->nfuncs_imported + defined_index]];
  code->cells = em.cells;
  code->ncells = em.ncells;
  code->map_cell = em.map_cell;
  code->map_offset = em.map_offset;
  code->nmap = em.nmap;
  code->nparams = t->nparams;
  code->nresults = t->nresults;
  code->nlocals = t->nparams + m->bodies[defined_index].nlocals;
  code->max_height = max_height;
  if (costs) {
    code->rec_op = em.rec_op;
    code->rec_pos = em.rec_pos;
    code->nrec = em.nrec;
    code->tick_handler = handlers[WP_XOP_tick];
    wp_code_reprice(code, costs);
  }
  return code;
}

uint32_t wp_code_offset(const wp_code *code, const wp_cell *pc) {
  if (!code || !pc || code->nmap == 0) return WP_NO_OFFSET;
  uint32_t cell = (uint32_t)(pc - code->cells);
  uint32_t lo = 0, hi = code->nmap; /* find the last entry with map_cell <= cell */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (code->map_cell[mid] <= cell) lo = mid;
    else hi = mid;
  }
  return code->map_offset[lo];
}
