/* code.h: the internal code form that compile.c produces and exec.c runs.
 *
 * A function's code is an array of 8-byte cells.  Each instruction is one
 * handler cell followed by its immediate cells.  The handler cell holds the
 * address of the instruction's label in the interpreter loop variant the
 * code was translated for (direct threading); in the portable build it holds
 * the internal opcode number instead.
 *
 * The operand stack is a stack machine over 64-bit slots (wp_slot):
 *   fp[0 .. nparams)          parameters
 *   fp[nparams .. nlocals)    declared locals, zeroed at entry
 *   fp[nlocals .. )           operands; sp points one past the top
 * Every stack height is known at translation time, so branches carry the
 * exact number of slots to keep and to drop.
 *
 * Cell layouts (c0 is the handler cell; rel is an int32 cell offset from
 * c0 of the instruction itself; "drop|keep" is a pair of u32 in one cell):
 *   most wasm instructions with no immediate    c0
 *   i32/i64/f32/f64.const                       c0, bits (u64, zero-extended)
 *   local.get/set/tee                           c0, index (u32)
 *   global.get/set                              c0, global index
 *   loads and stores                            c0, memarg offset (u64)
 *   memory.size/grow/copy/fill                  c0
 *   memory.init, data.drop                      c0, data index
 *   table.get/set/size/grow/fill                c0, table index
 *   table.init                                  c0, elem index, table index
 *   elem.drop                                   c0, elem index
 *   table.copy                                  c0, dst table, src table
 *   ref.null, ref.is_null                       c0
 *   ref.func                                    c0, function index
 *   drop, select, select_t, unreachable         c0
 *   call                                        c0, function index, (unused)
 *   call_indirect                               c0, type index, table index
 *   XOP_jump                                    c0, rel
 *   XOP_jump_unwind                             c0, rel, drop|keep
 *   XOP_jump_if (pop i32; jump if non-zero)     c0, rel
 *   XOP_jump_if_unwind                          c0, rel, drop|keep
 *   XOP_jump_unless (pop i32; jump if zero)     c0, rel
 *   XOP_jump_table (pop i32 index)              c0, n, then n+1 entries of
 *                                               two cells: rel, drop|keep
 *                                               (the last is the default)
 *   XOP_jump_back, XOP_jump_back_unwind,        as XOP_jump, XOP_jump_unwind,
 *   XOP_jump_if_back, XOP_jump_if_back_unwind   XOP_jump_if, XOP_jump_if_unwind, for
 *                                               branches to a loop header (backward):
 *                                               they check ex->interrupt first
 *   XOP_return                                  c0, nresults
 *   XOP_global_set_ref (global.set of a funcref) c0, global index
 *   XOP_tick (ticked and stepping code)         c0, cost (u64), first record|
 *                                               number of its block (pair)
 *   XOP_tick_blocks (ticked code, when its       the same, and counts the block's run
 *   prices ask for block counts: a profile's)   (profile.h: ex->prof_blocks)
 *   XOP_break (stepping code only)              replaces c0 of the instruction a
 *                                               breakpoint is set on (debug.c)
 *   XOP_unfuse (stepping code only)             replaces c0 of a superinstruction
 *                                               with a breakpoint inside (debug.c)
 *   XOP_tick_back (stepping code only)          c0, rel to the fused copy's tick of
 *                                               the block, first record|block (pair)
 * Unwinding keeps the top `keep` slots and removes the `drop` slots below them.
 * Calls are always WP_CALL_CELLS long, so a return resumes at the caller's
 * saved pc + WP_CALL_CELLS.
 */
#ifndef WP_CODE_H
#define WP_CODE_H

#include "module.h"
#include "fused.h"

typedef union wp_cell {
  const void *handler;
  uint64_t u64;
  int64_t i64;
  uint32_t u32;
  int32_t i32;
  struct {
    uint32_t a, b;
  } pair;
} wp_cell;

/* Internal-only instructions, numbered after the wasm ones: those every
 * loop variant runs, then the superinstructions (fused.h; left out of a
 * variant built without LOOP_FUSED). */
#define WP_BASE_XOPS(X) \
  X(jump)          \
  X(jump_unwind)   \
  X(jump_if)       \
  X(jump_if_unwind) \
  X(jump_unless)   \
  X(jump_table)    \
  X(return)        \
  X(global_set_ref) \
  X(tick)            \
  X(jump_back)     \
  X(jump_back_unwind) \
  X(jump_if_back)  \
  X(jump_if_back_unwind)
/* Only in the stepping loop's code: a breakpoint patched over an
 * instruction's handler cell (debug.c keeps the original), the same over a
 * superinstruction with a breakpoint inside, and the unfused copy's block
 * starts (wp_code: stepping code). */
#define WP_STEP_XOPS(X) X(break) X(unfuse) X(tick_back)
/* Only in the ticked loop's code, under a profile (wp_cost_model.count_blocks). */
#define WP_TICKED_XOPS(X) X(tick_blocks)
#define WP_XOPS(X) WP_BASE_XOPS(X) WP_FUSED_XOPS(X) WP_STEP_XOPS(X) WP_TICKED_XOPS(X)

typedef enum wp_xop {
  WP_XOP_FIRST_ = WP_OP_COUNT - 1,
#define X(ident) WP_XOP_##ident,
  WP_XOPS(X)
#undef X
  WP_IOP_COUNT
} wp_xop;

#define WP_CALL_CELLS 3

/* wp_cost_model: what each instruction costs in ticks (opcode-indexed), and
 * what entering a function costs (added to the callee); and whether ticked
 * code also counts each block's runs (a profile's per-instruction counts:
 * XOP_tick_blocks, chosen at translation so that neither kind of run checks
 * for it per block).  hash identifies both, so that code translated for
 * other prices or the other kind of run is not used. */
struct wp_cost_model {
  uint32_t op[WP_OP_COUNT];
  uint32_t per_call;
  bool count_blocks;
  uint64_t prices_hash; /* of the prices alone */
  uint64_t hash;
};

/* wp_cost_model_rehash: recompute the hashes after changing prices. */
void wp_cost_model_rehash(wp_cost_model *m);
/* wp_cost_model_count_blocks: set count_blocks (and hash, without rehashing the prices). */
void wp_cost_model_count_blocks(wp_cost_model *m, bool on);
/* wp_cost_model_init_default: one tick per instruction, nothing per call. */
void wp_cost_model_init_default(wp_cost_model *m);

/* wp_code: one translated function.
 *
 * Ticks (counted and profiled variants): the translator starts every
 * straight-line block with an XOP_tick whose immediate is the summed cost
 * of the wasm instructions of the block.  A block starts at the first
 * counted instruction after a branch target, a branch, a call or a return,
 * so calls are always the last instruction of their block.  Each counted
 * wasm instruction has a record: its opcode (rec_op) and rec_pos, the index
 * in the offset map of the first internal instruction at or after it (for
 * instructions fused into one, up to a trapping access: that instruction's
 * index; fused.h).  An instruction traps at map index t: the records of its
 * block with rec_pos > t did not run, and their cost is taken back (exact
 * totals).
 *
 * Blocks are numbered in order (the tick's pair.b): block b's records are
 * block_first[b] .. block_first[b + 1] (a sentinel ends the last), so the
 * ticked loop counts a block's executions in an array indexed by b and
 * each instruction's count is derived afterwards (profile.c); rec_offset
 * is each record's module offset (several records may share an internal
 * instruction once fused). */
/* Stepping code (wp_compile_stepping): two translations of the function in
 * one array.  First a fused copy with the subset of superinstructions the
 * stepping loop has (each checks that no stop falls inside it: it counts
 * one instruction per wasm instruction it replaces), then the unfused copy,
 * one internal instruction per wasm instruction.  A superinstruction that
 * cannot run whole (a stop would fall inside it, a breakpoint is patched
 * inside it) goes on in the unfused copy at its first instruction (twin);
 * the unfused copy's block starts (XOP_tick_back) jump back to the fused
 * copy's, so the unfused copy runs only up to the next block.  Both copies
 * count the same instructions in the same blocks: the records are shared,
 * only their map positions differ (rec_pos, rec_pos_unfused), and the
 * blocks are charged by the fused copy's ticks. */
typedef struct wp_code {
  wp_cell *cells;
  uint32_t ncells;
  /* Offset map, index-correlated: instruction i starts at cell map_cell[i]
   * and came from module offset map_offset[i]; sorted by cell. */
  uint32_t *map_cell;
  uint32_t *map_offset;
  uint32_t nmap;
  uint32_t nparams, nlocals, nresults; /* nlocals counts params too */
  uint32_t max_height;                 /* nlocals + deepest operand stack */
  uint16_t *rec_op;                    /* counted instructions (NULL in plain code) */
  uint32_t *rec_pos;
  uint32_t *rec_offset;
  uint32_t nrec;
  uint32_t *block_first;               /* nblocks + 1 entries (ticked code) */
  uint32_t nblocks;
  uint64_t cost_hash;                  /* the prices the tick immediates hold */
  const void *tick_handler;            /* XOP_tick's handler in this code's variant */
  /* Stepping code only (above; nmap_fused 0 otherwise): map entries below
   * nmap_fused are the fused copy's, and twin[i] is the unfused copy's entry
   * for the (first) instruction at fused entry i (UINT32_MAX: none). */
  uint32_t nmap_fused;
  uint32_t *twin;
  uint32_t *rec_pos_unfused;
  const void *tick_back_handler;
  struct wp_code *next;                /* the same function's code for other prices (wp_func_body.code) */
} wp_code;

/* wp_handler_table: the label (or opcode number) for each internal opcode
 * in one loop variant. */
typedef const void *const *wp_handler_table;

/* compile.c: translate defined function `defined_index` (0-based among the
 * module's defined functions) for a loop variant. The body has been
 * validated at load, so this cannot fail but for memory. */
wp_code *wp_compile(const wp_module *m, uint32_t defined_index, wp_handler_table handlers, wp_error *err);
/* wp_compile_ticked: the same with XOP_tick blocks priced by costs. */
wp_code *wp_compile_ticked(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                           const wp_cost_model *costs, wp_error *err);
/* wp_compile_stepping: ticked stepping code (above), for the stepping loop. */
wp_code *wp_compile_stepping(const wp_module *m, uint32_t defined_index, wp_handler_table handlers,
                             const wp_cost_model *costs, wp_error *err);
/* wp_code_reprice: rewrite the tick immediates for other prices (only on
 * code no other thread can see yet: translations are shared). */
void wp_code_reprice(wp_code *code, const wp_cost_model *costs);
/* wp_code_unexecuted_cost: the cost of the instructions of pc's block after
 * the instruction at pc (which trapped). */
uint64_t wp_code_unexecuted_cost(const wp_code *code, const wp_cell *pc, const wp_cost_model *costs);
void wp_code_free(wp_code *code);

/* wp_code_map_index: the offset-map entry of the instruction at or before pc. */
uint32_t wp_code_map_index(const wp_code *code, const wp_cell *pc);
/* wp_code_is_tick: whether offset-map entry i is an XOP_tick (ticked code). */
static inline bool wp_code_is_tick(const wp_code *code, uint32_t i) {
  return code->tick_handler && code->cells[code->map_cell[i]].handler == code->tick_handler;
}

/* wp_code_block_tick: the tick that charged the block of map entry t (an
 * unfused copy's block: its fused copy's tick), with the record positions to
 * compare with t in *rec_pos; NULL before any block. */
const wp_cell *wp_code_block_tick(const wp_code *code, uint32_t t, const uint32_t **rec_pos);

/* wp_code_block_end: one past the last record of a tick's block. */
static inline uint32_t wp_code_block_end(const wp_code *code, const wp_cell *tick) {
  return code->block_first[tick[2].pair.b + 1];
}

/* wp_code_offset: the module offset of the instruction at or before pc. */
uint32_t wp_code_offset(const wp_code *code, const wp_cell *pc);

#endif
