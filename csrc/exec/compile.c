/* compile.c: the emitter behind validate_body.c, and lazy translation of a
 * function body into internal code (code.h) for one loop variant. */
#include "compile.h"
#include "semantics.h"

static void emit_cell(wp_emitter *em, wp_cell cell) {
  if (!wp_grow((void **)&em->cells, &em->cap, em->ncells + 1, sizeof(wp_cell))) {
    em->oom = true;
    return;
  }
  em->cells[em->ncells++] = cell;
}

/* ---- superinstructions (fused.h) ---- */

/* The tables below are indexed by wasm opcode (or internal opcode: a
 * form of an operator); 0 marks a form the operator does not have (fused.h
 * lists which operators each family takes). */
enum { FORM_S, FORM_LL, FORM_LC, FORM_SL, FORM_SC, NFORMS };
static const uint8_t form_cells[NFORMS] = {1, 2, 3, 2, 2};

/* A binary operator's forms by their operands (fused.h), [FORM_LL..FORM_SC]. */
static const uint16_t fused_bin[WP_OP_COUNT][NFORMS] = {
#define F(X, id) [WP_OP_##id] = {0, WP_XOP_ll_##id, WP_XOP_lc_##id, WP_XOP_sl_##id, WP_XOP_sc_##id},
    WP_FUSED_BIN(F, _)
#undef F
};

/* What a binary operator in some operand form is: its opcode + 1 (0: none) and the form. */
static const struct {
  uint16_t op1;
  uint8_t form;
} bin_form[WP_IOP_COUNT] = {
#define F(X, id)                                                                                              \
  [WP_OP_##id] = {WP_OP_##id + 1, FORM_S}, [WP_XOP_ll_##id] = {WP_OP_##id + 1, FORM_LL},                      \
  [WP_XOP_lc_##id] = {WP_OP_##id + 1, FORM_LC}, [WP_XOP_sl_##id] = {WP_OP_##id + 1, FORM_SL},                 \
  [WP_XOP_sc_##id] = {WP_OP_##id + 1, FORM_SC},
    WP_FUSED_BIN(F, _)
#undef F
};

/* Per i32 compare: the jump forms for each jump kind and operand form. */
static const uint16_t fused_cmp[WP_OP_COUNT][3][NFORMS] = { /* [jump_if, jump_if_back, jump_unless][form] */
#define F(X, id)                                                                                  \
  [WP_OP_##id] = {{WP_XOP_js_##id, WP_XOP_jll_##id, WP_XOP_jlc_##id, WP_XOP_jsl_##id, WP_XOP_jsc_##id},        \
                  {WP_XOP_jbs_##id, WP_XOP_jbll_##id, WP_XOP_jblc_##id, WP_XOP_jbsl_##id, WP_XOP_jbsc_##id},   \
                  {WP_XOP_jus_##id, WP_XOP_jull_##id, WP_XOP_julc_##id, WP_XOP_jusl_##id, WP_XOP_jusc_##id}},
    WP_FUSED_CMP_JUMP(F, _)
#undef F
};

/* Loads and stores: the table's kinds (opcodes.def). */
#define KIND_LOAD(ident, ...) [WP_OP_##ident] = 1,
#define KIND_STORE(ident, ...) [WP_OP_##ident] = 2,
#define KIND_OWN(ident, ...)
#define KIND_CONST(ident, ...)
#define KIND_SAME(ident, ...)
#define KIND_UN(ident, ...)
#define KIND_BIN(ident, ...)
#define KIND_UN_TRAPS(ident, ...)
#define KIND_BIN_TRAPS(ident, ...)
static const uint8_t access_kind[WP_OP_COUNT] = { /* 1 load, 2 store */
#define OP(byte, name, ident, imm, sig, sem) WP_SEM(KIND_, ident, WP_SEM_##sem)
#define OPFC(sub, name, ident, imm, sig, sem) WP_SEM(KIND_, ident, WP_SEM_##sem)
#include "opcodes.def"
#undef OP
#undef OPFC
};

static const uint16_t fused_load[WP_OP_COUNT] = {
#define F(X, id) [WP_OP_##id] = WP_XOP_l_##id,
    WP_FUSED_LOAD(F, _)
#undef F
};

static const uint16_t fused_store[WP_OP_COUNT][2] = { /* [local, constant] */
#define F(X, id) [WP_OP_##id] = {WP_XOP_sl_##id, WP_XOP_sc_##id},
    WP_FUSED_STORE(F, _)
#undef F
};

/* Binary operators (any form) whose result may be stored straight to
 * memory (fused.h): the operator -> the store of its result type and the
 * fused form (0: none). */
static const struct {
  uint16_t store, fused;
} fused_store_bin[WP_IOP_COUNT] = {
#define F(X, id)                                                   \
  [WP_OP_##id] = {WP_RESULT_STORE_##id, WP_XOP_s_##id##_store},                     \
  [WP_XOP_ll_##id] = {WP_RESULT_STORE_##id, WP_XOP_ll_##id##_store},                \
  [WP_XOP_lc_##id] = {WP_RESULT_STORE_##id, WP_XOP_lc_##id##_store},                \
  [WP_XOP_sl_##id] = {WP_RESULT_STORE_##id, WP_XOP_sl_##id##_store},                \
  [WP_XOP_sc_##id] = {WP_RESULT_STORE_##id, WP_XOP_sc_##id##_store},
    WP_FUSED_STORE_BIN(F, _)
#undef F
};

/* Per load: its forms at a sum (fused.h), by the i32.add's operand form. */
static const uint16_t fused_addr_load[WP_OP_COUNT][NFORMS] = {
#define F(X, id) [WP_OP_##id] = {WP_XOP_as_##id, WP_XOP_all_##id, WP_XOP_alc_##id, WP_XOP_asl_##id, WP_XOP_asc_##id},
    WP_FUSED_ADDR_LOAD(F, _)
#undef F
};

/* Per store: [address ll or lc][value local or constant]. */
static const uint16_t fused_addr_store[WP_OP_COUNT][2][2] = {
#define F(X, id) [WP_OP_##id] = {{WP_XOP_all_sl_##id, WP_XOP_all_sc_##id}, {WP_XOP_alc_sl_##id, WP_XOP_alc_sc_##id}},
    WP_FUSED_ADDR_STORE(F, _)
#undef F
};

/* Per i32 compare: loop steps, [sum ll or lc][jump_if or jump_if_back][compared
 * with a local or a constant]. */
static const uint16_t fused_step[WP_OP_COUNT][2][2][2] = {
#define F(X, id)                                                                   \
  [WP_OP_##id] = {{{WP_XOP_sll_jsl_##id, WP_XOP_sll_jsc_##id}, {WP_XOP_sll_jbsl_##id, WP_XOP_sll_jbsc_##id}}, \
   {{WP_XOP_slc_jsl_##id, WP_XOP_slc_jsc_##id}, {WP_XOP_slc_jbsl_##id, WP_XOP_slc_jbsc_##id}}},
    WP_FUSED_STEP(F, _)
#undef F
};

/* Producers whose result may go straight into a local (fused.h): the
 * instruction -> its [local.set, local.tee] form (0: none). */
static const uint16_t fused_dest[WP_IOP_COUNT][2] = {
#define F(X, id)                                               \
  [WP_OP_##id] = {WP_XOP_s_##id##_set, WP_XOP_s_##id##_tee},                \
  [WP_XOP_ll_##id] = {WP_XOP_ll_##id##_set, WP_XOP_ll_##id##_tee},          \
  [WP_XOP_lc_##id] = {WP_XOP_lc_##id##_set, WP_XOP_lc_##id##_tee},          \
  [WP_XOP_sl_##id] = {WP_XOP_sl_##id##_set, WP_XOP_sl_##id##_tee},          \
  [WP_XOP_sc_##id] = {WP_XOP_sc_##id##_set, WP_XOP_sc_##id##_tee},
    WP_FUSED_DEST_BIN_I32(F, _) WP_FUSED_DEST_BIN_OTHER(F, _)
#undef F
#define F(X, id)                                   \
  [WP_OP_##id] = {WP_XOP_##id##_set, WP_XOP_##id##_tee},        \
  [WP_XOP_l_##id] = {WP_XOP_l_##id##_set, WP_XOP_l_##id##_tee},
    WP_FUSED_DEST_LOAD(F, _)
#undef F
#define F(X, id)                                         \
  [WP_XOP_as_##id] = {WP_XOP_as_##id##_set, WP_XOP_as_##id##_tee},    \
  [WP_XOP_all_##id] = {WP_XOP_all_##id##_set, WP_XOP_all_##id##_tee}, \
  [WP_XOP_alc_##id] = {WP_XOP_alc_##id##_set, WP_XOP_alc_##id##_tee}, \
  [WP_XOP_asl_##id] = {WP_XOP_asl_##id##_set, WP_XOP_asl_##id##_tee}, \
  [WP_XOP_asc_##id] = {WP_XOP_asc_##id##_set, WP_XOP_asc_##id##_tee},
    WP_FUSED_ADDR_LOAD(F, _)
#undef F
};

/* The operand form of a (possibly fused) binary operator `iop` and its
 * length in cells, with the operator in *op; -1 when iop is none. */
static int bin_operands(unsigned iop, unsigned *op, uint32_t *len) {
  if (!bin_form[iop].op1) return -1;
  *op = bin_form[iop].op1 - 1u;
  *len = form_cells[bin_form[iop].form];
  return bin_form[iop].form;
}

/* The operand form of a (possibly fused) i32.add; -1 when iop is none. */
static int add_form(unsigned iop, uint32_t *len) {
  unsigned op;
  int form = bin_operands(iop, &op, len);
  return op == WP_OP_i32_add ? form : -1;
}

/* Validation has checked the types, so any constant is the operator's type. */
static bool is_const(unsigned iop) {
  return iop == WP_OP_i32_const || iop == WP_OP_i64_const || iop == WP_OP_f32_const || iop == WP_OP_f64_const;
}

/* fuse: if `iop`, about to be emitted at em->ncells, ends a fusable
 * sequence, drop the sequence's earlier instructions from the code and
 * return the fused opcode, with the operand cells it needs in imm[] and the
 * first instruction's offset/map position in *first; else return iop
 * (and leave the code as it is). */
static unsigned fuse(wp_emitter *em, unsigned iop, wp_cell imm[4], uint32_t *nimm, struct wp_emitted *first,
                     bool *at_last) {
  *nimm = 0;
  *at_last = false;
  uint32_t n = em->nlast;
  if (n == 0) return iop;
  struct wp_emitted *b = &em->last[n - 1];
  if (b->cell < em->barrier) return iop;
  const wp_cell *cells = em->cells;
  struct wp_emitted *a = n >= 2 && em->last[n - 2].cell >= em->barrier ? &em->last[n - 2] : NULL;
  uint32_t len;
  bool wasm = iop < WP_OP_COUNT; /* the tables by wasm opcode */
  if (wasm && access_kind[iop] == 1) { /* a load */
    int form = add_form(b->iop, &len);
    if (form >= 0 && b->cell + len == em->ncells && fused_addr_load[iop][form]) {
      /* at a sum: the add's operand cells, then the offset */
      *first = *b;
      em->nlast -= 1;
      for (uint32_t i = 1; i < len; i++) imm[(*nimm)++] = cells[b->cell + i];
      *at_last = true;
      return fused_addr_load[iop][form];
    }
    if (!fused_load[iop] || b->iop != WP_OP_local_get || b->cell + 2 != em->ncells) return iop;
    *first = *b;
    em->nlast -= 1;
    imm[0] = cells[b->cell + 1];
    *nimm = 1;
    *at_last = true; /* it traps as the load: map it there */
    return fused_load[iop];
  }
  if (wasm && access_kind[iop] == 2) { /* a store */
    if (fused_store_bin[b->iop].store == iop) {
      /* an operator's result stored: its operand cells, then the offset */
      uint32_t blen = em->ncells - b->cell;
      *first = *b;
      em->nlast -= 1;
      for (uint32_t i = 1; i < blen; i++) imm[(*nimm)++] = cells[b->cell + i];
      *at_last = true; /* it traps as the store: map it there */
      return fused_store_bin[b->iop].fused;
    }
    if ((b->iop != WP_OP_local_get && !is_const(b->iop)) || b->cell + 2 != em->ncells) return iop;
    int form = a ? add_form(a->iop, &len) : -1;
    if ((form == FORM_LL || form == FORM_LC) && a->cell + len == b->cell &&
        fused_addr_store[iop][form == FORM_LC][is_const(b->iop)]) {
      /* a local or constant stored at a sum of locals/constant */
      *first = *a;
      em->nlast -= 2;
      for (uint32_t i = 1; i < len; i++) imm[(*nimm)++] = cells[a->cell + i];
      imm[(*nimm)++] = cells[b->cell + 1];
      *at_last = true;
      return fused_addr_store[iop][form == FORM_LC][is_const(b->iop)];
    }
    if (!fused_store[iop][is_const(b->iop)]) return iop;
    *first = *b;
    em->nlast -= 1;
    imm[0] = cells[b->cell + 1];
    *nimm = 1;
    *at_last = true; /* it traps as the store: map it there */
    return fused_store[iop][is_const(b->iop)];
  }
  if (wasm && fused_bin[iop][FORM_SL]) { /* a binary operator with fused forms */
    if (b->cell + 2 != em->ncells) return iop;
    if (b->iop != WP_OP_local_get && !is_const(b->iop)) return iop;
    if (a && a->iop == WP_OP_local_get && a->cell + 2 == b->cell) {
      *first = *a;
      em->nlast -= 2;
      if (b->iop == WP_OP_local_get) {
        imm[0].u64 = 0;
        imm[0].pair.a = (uint32_t)cells[a->cell + 1].u64;
        imm[0].pair.b = (uint32_t)cells[b->cell + 1].u64;
        *nimm = 1;
        return fused_bin[iop][FORM_LL];
      }
      imm[0] = cells[a->cell + 1];
      imm[1] = cells[b->cell + 1];
      *nimm = 2;
      return fused_bin[iop][FORM_LC];
    }
    *first = *b;
    em->nlast -= 1;
    imm[0] = cells[b->cell + 1];
    *nimm = 1;
    return fused_bin[iop][b->iop == WP_OP_local_get ? FORM_SL : FORM_SC];
  }
  int kind = iop == WP_XOP_jump_if ? 0 : iop == WP_XOP_jump_if_back ? 1 : iop == WP_XOP_jump_unless ? 2 : -1;
  if (kind < 0) return iop;
  if (b->iop == WP_OP_i32_eqz && b->cell + 1 == em->ncells && kind != 1 && !em->guarded) {
    /* br_if (eqz x) is "jump unless x"; if (eqz x) is "jump if x". */
    *first = *b;
    em->nlast -= 1;
    return kind == 0 ? WP_XOP_jump_unless : WP_XOP_jump_if;
  }
  unsigned op;
  int form = bin_operands(b->iop, &op, &len);
  if (form < 0 || !fused_cmp[op][kind][form] || b->cell + len != em->ncells) return iop;
  bool step = a && (a->iop == WP_XOP_ll_i32_add_tee || a->iop == WP_XOP_lc_i32_add_tee);
  if (step && kind != 2 && (form == FORM_SL || form == FORM_SC)) {
    /* a loop step: the tee'd sum is the compare's first operand */
    uint32_t alen = a->iop == WP_XOP_ll_i32_add_tee ? 3 : 4; /* with the local's index */
    uint16_t fused = fused_step[op][a->iop == WP_XOP_lc_i32_add_tee][kind][form == FORM_SC];
    if (a->cell + alen == b->cell && fused) {
      *first = *a;
      em->nlast -= 2;
      for (uint32_t i = 1; i < alen; i++) imm[(*nimm)++] = cells[a->cell + i];
      imm[(*nimm)++] = cells[b->cell + 1];
      return fused;
    }
  }
  *first = *b;
  em->nlast -= 1;
  for (uint32_t i = 1; i < len; i++) imm[(*nimm)++] = cells[b->cell + i];
  return fused_cmp[op][kind][form];
}

static void remember(wp_emitter *em, unsigned iop, uint32_t cell, uint32_t map, uint32_t offset) {
  if (em->nlast == 2) {
    em->last[0] = em->last[1];
    em->nlast = 1;
  }
  em->last[em->nlast++] = (struct wp_emitted){.iop = (uint16_t)iop, .cell = cell, .map = map, .offset = offset};
}

static uint32_t emit_op_cell(wp_emitter *em, unsigned iop, uint32_t wasm_offset);

/* The instructions of a fused sequence up to the one that may trap all run
 * at the fused instruction, offset-map entry `map`: their tick records say
 * so (code.h), so a trap there charges them and refunds what follows. */
static void records_fused_at(wp_emitter *em, uint32_t map) {
  for (uint32_t r = em->nrec; r-- > 0 && em->rec_pos[r] > map;) em->rec_pos[r] = map;
}

/* get2: a third local.get arrives after two that stayed alone; they were
 * kept apart until now in case what followed would absorb them. */
static void fuse_two_gets(wp_emitter *em) {
  struct wp_emitted *a = &em->last[0], *b = &em->last[1];
  if (em->nlast != 2 || !em->handlers[WP_XOP_get2] || a->iop != WP_OP_local_get || b->iop != WP_OP_local_get ||
      a->cell < em->barrier || a->cell + 2 != b->cell || b->cell + 2 != em->ncells)
    return;
  wp_cell pair = {.u64 = 0};
  pair.pair.a = (uint32_t)em->cells[a->cell + 1].u64;
  pair.pair.b = (uint32_t)em->cells[b->cell + 1].u64;
  em->cells[a->cell].handler = em->handlers[WP_XOP_get2];
  em->cells[a->cell + 1] = pair;
  em->ncells = b->cell;
  em->nmap = b->map;
  /* B's tick record moves to get2's map entry, the pending local.get's
   * (recorded already) to the entry it will now have */
  for (uint32_t r = em->nrec; r-- > 0 && em->rec_pos[r] >= b->map;)
    em->rec_pos[r] = em->rec_pos[r] == b->map ? a->map : em->rec_pos[r] - 1;
  a->iop = WP_XOP_get2;
  em->nlast = 1;
}

uint32_t wp_emit_op(wp_emitter *em, unsigned iop, uint32_t wasm_offset) {
  if (!em->fuse || em->oom) return emit_op_cell(em, iop, wasm_offset);
  if (iop == WP_OP_local_get) fuse_two_gets(em);
  wp_cell imm[4];
  uint32_t nimm;
  struct wp_emitted first;
  bool at_last;
  uint32_t nlast = em->nlast;
  unsigned fused = fuse(em, iop, imm, &nimm, &first, &at_last);
  if (fused != iop && !em->handlers[fused]) { /* not in this loop (the stepping loop's subset) */
    em->nlast = nlast;
    fused = iop;
    nimm = 0;
  }
  if (fused != iop) {
    /* The fused instruction replaces the sequence, at its first cell, and
     * maps to the first instruction's offset (or the last's when it traps there). */
    em->ncells = first.cell;
    em->nmap = first.map;
    records_fused_at(em, first.map);
    if (!at_last) wasm_offset = first.offset;
  }
  uint32_t map = em->nmap;
  uint32_t at = emit_op_cell(em, fused, wasm_offset);
  for (uint32_t i = 0; i < nimm; i++) emit_cell(em, imm[i]);
  remember(em, fused, at, map, wasm_offset);
  return at;
}

static uint32_t emit_op_cell(wp_emitter *em, unsigned iop, uint32_t wasm_offset) {
  uint32_t at = em->ncells;
  /* map_offset grows in step with map_cell: only when map_cell's capacity
   * grew (growing it on every call reallocated and cleared it each time). */
  uint32_t old_cap = em->cap_map, cap = old_cap;
  if (wp_grow((void **)&em->map_cell, &cap, em->nmap + 1, sizeof(uint32_t)) &&
      (cap == old_cap || wp_grow((void **)&em->map_offset, &old_cap, cap, sizeof(uint32_t)))) {
    em->cap_map = cap;
    em->map_cell[em->nmap] = at;
    em->map_offset[em->nmap] = wasm_offset;
    em->nmap++;
  } else {
    em->oom = true;
  }
  emit_cell(em, (wp_cell){.handler = em->handlers[iop]});
  return at;
}

static bool is_const(unsigned iop);
static uint32_t emit_op_cell(wp_emitter *em, unsigned iop, uint32_t wasm_offset);

void wp_emit_u64(wp_emitter *em, uint64_t v) {
  /* local.set's and local.tee's index is their only immediate: here the
   * store is complete and may absorb the instruction before it (fused.h). */
  if (em->fuse && !em->oom && em->nlast == 2) {
    struct wp_emitted *a = &em->last[0], *b = &em->last[1];
    bool tee = b->iop == WP_OP_local_tee;
    if ((b->iop == WP_OP_local_set || tee) && b->cell + 1 == em->ncells && a->cell >= em->barrier &&
        fused_dest[a->iop][tee] && em->handlers[fused_dest[a->iop][tee]]) {
      /* a's result goes to the local: a's cells, then the index (a ends
       * where b, the next instruction emitted, begins) */
      em->ncells = b->cell;
      em->nmap = b->map; /* the store's tick record stays after a: a trap in a refunds it */
      em->nlast = 1;
      em->cells[a->cell].handler = em->handlers[fused_dest[a->iop][tee]];
      a->iop = fused_dest[a->iop][tee];
      emit_cell(em, (wp_cell){.u64 = v});
      return;
    }
    if (b->iop == WP_OP_local_set && b->cell + 1 == em->ncells && a->cell + 2 == b->cell &&
        a->cell >= em->barrier && (a->iop == WP_OP_local_get || is_const(a->iop)) &&
        em->handlers[a->iop == WP_OP_local_get ? WP_XOP_copy_local : WP_XOP_set_local_const]) {
      wp_cell src = em->cells[a->cell + 1];
      struct wp_emitted first = *a;
      em->ncells = first.cell;
      em->nmap = first.map;
      records_fused_at(em, first.map);
      em->nlast = 0;
      emit_op_cell(em, a->iop == WP_OP_local_get ? WP_XOP_copy_local : WP_XOP_set_local_const, first.offset);
      emit_cell(em, src);
      emit_cell(em, (wp_cell){.u64 = v});
      return;
    }
  }
  emit_cell(em, (wp_cell){.u64 = v});
}

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
    uint32_t cap_b = em->cap_blocks;
    if (!wp_grow((void **)&em->block_first, &cap_b, em->nblocks + 2, sizeof *em->block_first)) {
      em->oom = true;
      return;
    }
    em->cap_blocks = cap_b;
    em->block_first[em->nblocks] = em->nrec;
    wp_emit_op(em, em->tick_op, wasm_offset);
    wp_emit_u64(em, 0);                      /* priced by wp_code_reprice */
    wp_emit_pair(em, em->nrec, em->nblocks); /* this block's records start here; its number */
    em->nblocks++;
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
  uint32_t cap_off = em->cap_rec;
  if (!wp_grow((void **)&em->rec_offset, &cap_off, cap, sizeof *em->rec_offset)) {
    em->oom = true;
    return;
  }
  em->cap_rec = cap;
  em->rec_op[em->nrec] = (uint16_t)op;
  em->rec_pos[em->nrec] = em->nmap;
  em->rec_offset[em->nrec] = wasm_offset;
  em->nrec++;
}

static bool is_tick(const wp_code *code, uint32_t map_index) {
  return code->cells[code->map_cell[map_index]].handler == code->tick_handler;
}

void wp_code_reprice(wp_code *code, const wp_cost_model *costs) {
  for (uint32_t i = 0; i < code->nmap; i++) {
    if (!is_tick(code, i)) continue;
    wp_cell *tick = &code->cells[code->map_cell[i]];
    uint32_t b = tick[2].pair.b;
    uint64_t sum = 0;
    for (uint32_t r = code->block_first[b]; r < code->block_first[b + 1]; r++) sum += costs->op[code->rec_op[r]];
    tick[1].u64 = sum;
  }
  code->cost_hash = costs->hash;
}

uint32_t wp_code_map_index(const wp_code *code, const wp_cell *pc) {
  uint32_t cell = (uint32_t)(pc - code->cells);
  uint32_t lo = 0, hi = code->nmap;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (code->map_cell[mid] <= cell) lo = mid;
    else hi = mid;
  }
  return lo;
}

const wp_cell *wp_code_block_tick(const wp_code *code, uint32_t t, const uint32_t **rec_pos) {
  uint32_t first = t >= code->nmap_fused ? code->nmap_fused : 0; /* the copy t is in */
  for (uint32_t i = t;; i--) {
    const wp_cell *c = &code->cells[code->map_cell[i]];
    if (c->handler == code->tick_handler) {
      *rec_pos = code->rec_pos;
      return c;
    }
    if (code->tick_back_handler && c->handler == code->tick_back_handler) {
      *rec_pos = code->rec_pos_unfused;
      return c + c[1].i64;
    }
    if (i == first) return NULL; /* before any block: nothing was charged */
  }
}

uint64_t wp_code_unexecuted_cost(const wp_code *code, const wp_cell *pc, const wp_cost_model *costs) {
  if (!code || !code->rec_op || !pc || code->nmap == 0) return 0;
  uint32_t t = wp_code_map_index(code, pc);
  const uint32_t *rec_pos;
  const wp_cell *tick = wp_code_block_tick(code, t, &rec_pos);
  if (!tick) return 0;
  uint64_t sum = 0;
  for (uint32_t r = tick[2].pair.a; r < wp_code_block_end(code, tick); r++)
    if (rec_pos[r] > t) sum += costs->op[code->rec_op[r]];
  return sum;
}

/* profile.c: a running profile still counts this code's blocks (it frees it later). */
bool wp_code_free_deferred(wp_code *code);

void wp_code_free(wp_code *code) {
  if (!code || wp_code_free_deferred(code)) return;
  free(code->rec_op);
  free(code->rec_pos);
  free(code->rec_offset);
  free(code->block_first);
  free(code->cells);
  free(code->map_cell);
  free(code->map_offset);
  free(code->twin);
  free(code->rec_pos_unfused);
  free(code);
}

wp_code *wp_compile(const wp_module *m, uint32_t defined_index, wp_handler_table handlers, wp_error *err) {
  return wp_compile_ticked(m, defined_index, handlers, NULL, err);
}

enum fusing { FUSE_NONE, FUSE_ALL, FUSE_GUARDED };
static wp_code *compile(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                        const wp_cost_model *costs, enum fusing fuse, wp_error *err);

wp_code *wp_compile_ticked(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                           const wp_cost_model *costs, wp_error *err) {
  return compile(m, defined_index, handlers, costs, FUSE_ALL, err);
}

/* twins: for each entry of f's map, the entry of u's for the same (first)
 * instruction.  Both copies were emitted from one walk of the body, so f's
 * instructions come in u in the same order (with the ones f fused away
 * between them): one pass.  false when some instruction of f has none
 * (never expected). */
static bool twins(const wp_code *f, const wp_code *u, uint32_t *twin) {
  uint32_t j = 0;
  for (uint32_t i = 0; i < f->nmap; i++) {
    twin[i] = UINT32_MAX;
    if (wp_code_is_tick(f, i)) continue;
    while (j < u->nmap && (wp_code_is_tick(u, j) || u->map_offset[j] != f->map_offset[i])) j++;
    if (j == u->nmap) return false;
    twin[i] = f->nmap + j;
  }
  return true;
}

/* join: the stepping code (code.h): u's cells after f's, u's block starts
 * turned into jumps to f's, u's records' positions kept as
 * rec_pos_unfused.  Frees u and returns f, or returns u alone (f freed)
 * when the twins cannot be found; NULL when out of memory. */
static wp_code *join(wp_code *f, wp_code *u, wp_handler_table handlers, wp_error *err) {
  uint32_t nmap = f->nmap + u->nmap, ncells = f->ncells + u->ncells;
  uint32_t *twin = wp_calloc(f->nmap ? f->nmap : 1, sizeof *twin);
  uint32_t *tick_of_block = wp_calloc(f->nblocks ? f->nblocks : 1, sizeof *tick_of_block);
  wp_cell *cells = NULL;
  uint32_t *map_cell = NULL, *map_offset = NULL;
  if (twin && tick_of_block && !twins(f, u, twin)) {
    free(twin);
    free(tick_of_block);
    wp_code_free(f);
    return u;
  }
  if (twin && tick_of_block && (cells = realloc(f->cells, (size_t)ncells * sizeof *cells))) f->cells = cells;
  if (cells && (map_cell = realloc(f->map_cell, (size_t)nmap * sizeof *map_cell))) f->map_cell = map_cell;
  if (map_cell && (map_offset = realloc(f->map_offset, (size_t)nmap * sizeof *map_offset))) f->map_offset = map_offset;
  if (!map_offset) {
    free(twin);
    free(tick_of_block);
    wp_code_free(f);
    wp_code_free(u);
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory translating a function");
    return NULL;
  }
  memcpy(cells + f->ncells, u->cells, (size_t)u->ncells * sizeof *cells);
  for (uint32_t i = 0; i < u->nmap; i++) {
    map_cell[f->nmap + i] = f->ncells + u->map_cell[i];
    map_offset[f->nmap + i] = u->map_offset[i];
  }
  for (uint32_t r = 0; r < u->nrec; r++) u->rec_pos[r] += f->nmap;
  /* Each block's tick in f; u's ticks become jumps to them. */
  for (uint32_t i = 0; i < f->nmap; i++)
    if (wp_code_is_tick(f, i)) tick_of_block[cells[f->map_cell[i] + 2].pair.b] = f->map_cell[i];
  for (uint32_t i = 0; i < u->nmap; i++) {
    if (!wp_code_is_tick(u, i)) continue;
    uint32_t at = f->ncells + u->map_cell[i];
    cells[at].handler = handlers[WP_XOP_tick_back];
    cells[at + 1].i64 = (int64_t)tick_of_block[cells[at + 2].pair.b] - (int64_t)at;
  }
  free(tick_of_block);
  f->ncells = ncells;
  f->nmap_fused = f->nmap;
  f->nmap = nmap;
  f->twin = twin;
  f->rec_pos_unfused = u->rec_pos;
  u->rec_pos = NULL; /* now f's */
  f->tick_back_handler = handlers[WP_XOP_tick_back];
  wp_code_free(u);
  return f;
}

wp_code *wp_compile_stepping(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                             const wp_cost_model *costs, wp_error *err) {
  wp_code *f = compile(m, defined_index, handlers, costs, FUSE_GUARDED, err);
  wp_code *u = f ? compile(m, defined_index, handlers, costs, FUSE_NONE, err) : NULL;
  if (!u) {
    wp_code_free(f);
    return NULL;
  }
  /* The same instructions counted in the same blocks (only the map differs). */
  bool same = f->nrec == u->nrec && f->nblocks == u->nblocks &&
              !memcmp(f->rec_op, u->rec_op, f->nrec * sizeof *f->rec_op) &&
              !memcmp(f->block_first, u->block_first, (f->nblocks + 1) * sizeof *f->block_first);
  if (!same) { /* never expected: fall back to the unfused code alone */
    wp_code_free(f);
    return u;
  }
  return join(f, u, handlers, err);
}

/* compile: the plain and ticked loops run superinstructions; the
 * stepping loop runs its few guarded ones with an unfused copy (join). */
static wp_code *compile(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                        const wp_cost_model *costs, enum fusing fuse, wp_error *err) {
  /* The stepping loop counts no blocks (a debugger's profile has no per-instruction counts). */
  uint16_t tick_op = costs && costs->count_blocks && fuse == FUSE_ALL ? WP_XOP_tick_blocks : WP_XOP_tick;
  wp_emitter em = {.handlers = handlers, .ticks = costs != NULL, .tick_op = tick_op, .fuse = fuse != FUSE_NONE,
                   .guarded = fuse == FUSE_GUARDED};
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
    free(em.rec_offset);
    free(em.block_first);
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
    code->rec_offset = em.rec_offset;
    code->nrec = em.nrec;
    if (!em.block_first) em.block_first = wp_calloc(1, sizeof *em.block_first); /* a body with no code */
    if (!em.block_first) {
      wp_code_free(code);
      wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory translating a function");
      return NULL;
    }
    em.block_first[em.nblocks] = em.nrec; /* the sentinel: the last block's end */
    code->block_first = em.block_first;
    code->nblocks = em.nblocks;
    code->tick_handler = handlers[tick_op];
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
