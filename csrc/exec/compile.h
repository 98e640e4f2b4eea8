/* compile.h: the emitter that validate_body.c drives while it type-checks a
 * function body.  At load the body is only validated (no emitter); on first
 * call the same walk runs again with an emitter and produces wp_code.  One
 * walk, so what is validated is exactly what is translated. */
#ifndef WP_COMPILE_H
#define WP_COMPILE_H

#include "code.h"

typedef struct wp_emitter {
  wp_handler_table handlers;
  wp_cell *cells;
  uint32_t ncells, cap;
  uint32_t *map_cell, *map_offset;
  uint32_t nmap, cap_map;
  bool oom;
  /* Ticked translation (the ticked and stepping variants; code.h): */
  bool ticks;            /* insert tick_op blocks and keep records */
  uint16_t tick_op;      /* WP_XOP_tick, or WP_XOP_tick_blocks (code.h) */
  bool block_open;       /* a tick heads the instructions being emitted */
  uint16_t *rec_op;
  uint32_t *rec_pos, *rec_offset;
  uint32_t nrec, cap_rec;
  uint32_t *block_first; /* each block's first record (code.h) */
  uint32_t nblocks, cap_blocks;
  /* Superinstructions (fused.h), when `fuse` is set: the last instructions
   * emitted, newest last, and the latest branch target (no fusing across). */
  struct wp_emitted {
    uint16_t iop;
    uint32_t cell, map, offset;
  } last[2];
  uint32_t nlast;
  uint32_t barrier;
  bool fuse;
  /* The stepping loop's fused copy (code.h): only superinstructions whose
   * handler the loop has (the table entry is not NULL), and only those
   * that count one dispatch per wasm instruction they replace (no
   * i32.eqz; br_if -> XOP_jump_unless). */
  bool guarded;
} wp_emitter;

/* No pending fixup. Fixup lists thread through the placeholder cells. */
#define WP_NO_FIXUP UINT32_MAX

/* wp_emit_op: append an instruction's handler cell; returns its cell index.
 * wasm_offset is the module offset of the instruction (for the offset map). */
uint32_t wp_emit_op(wp_emitter *em, unsigned iop, uint32_t wasm_offset);
void wp_emit_u64(wp_emitter *em, uint64_t v);
void wp_emit_pair(wp_emitter *em, uint32_t a, uint32_t b);
/* wp_emit_rel: a branch offset to a known (backward) target cell. */
void wp_emit_rel(wp_emitter *em, uint32_t op_cell, uint32_t target_cell);
/* wp_emit_fixup: a placeholder branch offset, linked into *list; patched
 * by wp_patch_fixups once the target is known. */
void wp_emit_fixup(wp_emitter *em, uint32_t op_cell, uint32_t *list);
void wp_patch_fixups(wp_emitter *em, uint32_t list, uint32_t target_cell);

/* wp_emit_count: a wasm instruction `op` runs here (live code only): in
 * ticked code, open a block with an XOP_tick if none is open and record
 * the instruction.  Nothing in plain code. */
void wp_emit_count(wp_emitter *em, unsigned op, uint32_t wasm_offset);
/* wp_emit_block_end: the current straight-line block ends (after a branch,
 * call or return, or at a branch target): the next counted instruction
 * starts a new one, so a branch target is always a tick. */
static inline void wp_emit_block_end(wp_emitter *em) {
  em->block_open = false;
  em->barrier = em->ncells; /* may be a branch target: nothing fuses across it */
}

static inline uint32_t wp_emit_pos(const wp_emitter *em) { return em->ncells; }

/* wp_validate_body: type-check defined function `defined_index`; with an
 * emitter, also translate it.  Returns 0 or -1 with err filled (decode
 * errors inside the body have kind WP_ERR_DECODE).  *max_height receives
 * the deepest operand stack height plus the locals. */
int wp_validate_body(const wp_module *m, uint32_t defined_index, wp_emitter *em, uint32_t *max_height,
                     wp_error *err);

/* wp_check_body_encoding: only the binary encoding of a body (no types).
 * Run after a validation failure, so that a module that is both malformed
 * and invalid is reported malformed, as the spec's decode-then-validate
 * order requires, without a second pass over valid modules. */
int wp_check_body_encoding(const wp_module *m, uint32_t defined_index, wp_error *err);

/* wp_body_stack_types: the operand stack's value types just before the
 * instruction at module offset `offset` of defined function `defined_index`
 * (bottom first), found by re-walking the body's validation up to there.
 * *types is malloc'd (the caller frees it; NULL when empty).  Fails when no
 * instruction starts at `offset`.  Used by coredump.c, which knows the
 * slots' values but not their types. */
int wp_body_stack_types(const wp_module *m, uint32_t defined_index, uint32_t offset, uint8_t **types,
                        uint32_t *ntypes, wp_error *err);

#endif
