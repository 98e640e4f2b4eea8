/* fused.h: superinstructions, the commonest short wasm sequences as one
 * internal instruction (compile.c fuses them, loop_template.h runs them, in
 * every loop variant built with LOOP_FUSED; the stepping loop has a subset:
 * WP_FUSED_XOPS_STEPPING).
 * Chosen by counting executed instruction pairs over bench/programs.
 * Nothing fuses across a branch target.  A fused instruction maps to the
 * wasm offset of its first instruction, or, when it can trap (a memory
 * access), to the access, where the trap first pushes back what the access
 * would have found on the operand stack.  The only other place it can stop
 * (an interrupt check in a back-edge form) is before any of its effects.
 * In ticked code the instructions fused up to the access share its tick
 * record position (code.h), so trap refunds stay exact.
 *
 * Binary operators (F(X, ident), a and b the operands):
 *   ll_OP  local.get A; local.get B; OP      c0, A|B (pair)
 *   lc_OP  local.get A; CONST K; OP          c0, A, K
 *   sl_OP  local.get B; OP  (a from stack)   c0, B
 *   sc_OP  CONST K; OP      (a from stack)   c0, K
 * i32 compares followed by br_if / if; REL last:
 *   j{s,ll,lc,sl,sc}_OP       jump if true      operands as above, then rel
 *   jb{s,ll,lc,sl,sc}_OP      the same at a back-edge (checks interrupts first)
 *   ju{s,ll,lc,sl,sc}_OP      jump if false (if)
 * (the s form takes both operands from the stack: c0, rel).
 * Stores to a local:
 *   copy_local       local.get A; local.set B   c0, A, B
 *   set_local_const  CONST K; local.set B       c0, K, B */
#ifndef WP_FUSED_H
#define WP_FUSED_H

/* Which operators each family of superinstructions (the forms below) takes:
 * data (their semantics are opcodes.def's, semantics.h).  A family built on
 * another's forms takes only operators the other takes: DEST_BIN, STORE_BIN
 * and CMP_JUMP are built on BIN, STEP on CMP_JUMP, DEST_LOAD on LOAD; BIN
 * and DEST_BIN_I32 always take i32_add (accesses at a sum and loop steps
 * are built on it).
 * The lists are `python bench/instruction_pairs.py --forms`'s output: the
 * operators of the sequences the bench programs, CoreMark and
 * bench/zero_cost.py's kernels execute (764 superinstructions; every
 * operator in every family would make 1441, and the stepping loop's 485
 * would be 607).  Against every operator, the measured lists fuse the
 * same sequences (as many dispatches) in half the loop's code, and run
 * 0% to 0.6% more instructions on CoreMark and the bench programs, 1.4%
 * on fib: GCC allocates registers otherwise in the smaller loop
 * (bench/results/forms-2026-12-02.txt).  Re-measure after adding a
 * program or a family. */
#define WP_FUSED_BIN(F, X) \
  F(X, i32_add) F(X, i32_sub) F(X, i32_mul) F(X, i32_and) F(X, i32_or) F(X, i32_xor) F(X, i32_shl) \
  F(X, i32_shr_s) F(X, i32_shr_u) F(X, i32_eq) F(X, i32_ne) F(X, i32_lt_s) F(X, i32_lt_u) \
  F(X, i32_gt_s) F(X, i32_gt_u) F(X, i32_le_s) F(X, i32_le_u) F(X, i32_ge_s) F(X, i32_ge_u) \
  F(X, i64_add) F(X, i64_mul) F(X, i64_and) F(X, i64_or) F(X, i64_shr_u) F(X, i64_ne) \
  F(X, i64_gt_s) F(X, i64_gt_u) F(X, i64_ge_s) F(X, i64_ge_u) F(X, f64_add) F(X, f64_sub) \
  F(X, f64_mul) F(X, f64_div)
#define WP_FUSED_DEST_BIN_I32(F, X) \
  F(X, i32_add) F(X, i32_sub) F(X, i32_mul) F(X, i32_and) F(X, i32_or) F(X, i32_xor) F(X, i32_shl) \
  F(X, i32_shr_s) F(X, i32_shr_u) F(X, i32_eq) F(X, i32_ne) F(X, i32_lt_s) F(X, i32_lt_u) \
  F(X, i32_gt_s) F(X, i32_gt_u) F(X, i32_le_u)
#define WP_FUSED_DEST_BIN_OTHER(F, X) \
  F(X, i64_add) F(X, i64_mul) F(X, i64_shr_u) F(X, i64_gt_u) F(X, f64_add) F(X, f64_sub) \
  F(X, f64_mul) F(X, f64_div)
#define WP_FUSED_STORE_BIN(F, X) \
  F(X, i32_add) F(X, i32_mul) F(X, i32_and) F(X, i32_or) F(X, i32_xor) F(X, i32_shr_u) \
  F(X, i32_lt_u) F(X, f64_add) F(X, f64_sub) F(X, f64_div)
#define WP_FUSED_CMP_JUMP(F, X) \
  F(X, i32_eq) F(X, i32_ne) F(X, i32_lt_s) F(X, i32_lt_u) F(X, i32_gt_s) F(X, i32_gt_u) \
  F(X, i32_le_s) F(X, i32_le_u) F(X, i32_ge_s) F(X, i32_ge_u)
#define WP_FUSED_STEP(F, X) \
  F(X, i32_ne) F(X, i32_lt_u) F(X, i32_gt_u) F(X, i32_le_u) F(X, i32_ge_u)
#define WP_FUSED_LOAD(F, X) \
  F(X, i32_load) F(X, i64_load) F(X, f64_load) F(X, i32_load8_s) F(X, i32_load8_u) \
  F(X, i32_load16_s) F(X, i32_load16_u) F(X, i64_load32_s) F(X, i64_load32_u)
#define WP_FUSED_DEST_LOAD(F, X) \
  F(X, i32_load) F(X, i64_load) F(X, f64_load) F(X, i32_load8_s) F(X, i32_load8_u) \
  F(X, i32_load16_s) F(X, i32_load16_u)
#define WP_FUSED_ADDR_LOAD(F, X) \
  F(X, i32_load) F(X, i64_load) F(X, f64_load) F(X, i32_load8_s) F(X, i32_load8_u) \
  F(X, i32_load16_s)
#define WP_FUSED_STORE(F, X) \
  F(X, i32_store) F(X, i64_store) F(X, i32_store8) F(X, i32_store16) F(X, i64_store32)
#define WP_FUSED_ADDR_STORE(F, X) \
  F(X, i32_store) F(X, i64_store) F(X, i32_store8)

#define WP_FUSED_BIN_NAMES_(X, id) X(ll_##id) X(lc_##id) X(sl_##id) X(sc_##id)
#define WP_FUSED_CMP_NAMES_(X, id)                                  \
  X(js_##id) X(jll_##id) X(jlc_##id) X(jsl_##id) X(jsc_##id)           \
  X(jbs_##id) X(jbll_##id) X(jblc_##id) X(jbsl_##id) X(jbsc_##id)      \
  X(jus_##id) X(jull_##id) X(julc_##id) X(jusl_##id) X(jusc_##id)

/* Stores whose value is a local or a constant (the address from the stack):
 *   sl_STORE  local.get V; STORE off   c0, V, off
 *   sc_STORE  CONST K; STORE off       c0, K, off
 * mapped to the store, pushing the value before a trap (as loads do). */
#define WP_FUSED_STORE_NAMES_(X, id) X(sl_##id) X(sc_##id)

/* Loads whose address is a local: local.get A; LOAD off -> l_LOAD: c0, A, off.
 * The one that can trap: it maps to the load's offset, and on a trap pushes
 * the address first, so the stack seen there is the load's. */
#define WP_FUSED_LOAD_NAMES_(X, id) X(l_##id)

/* Results into a local: a binary operator (any of its forms above, or the
 * plain one, named s_OP here) or a load (plain or l_) followed by
 * local.set D or local.tee D takes D as one more cell at its end:
 *   FORM_set   the result goes to local D only      (..., D)
 *   FORM_tee   the result goes to local D and stays pushed
 * e.g. local.get A; i32.const K; i32.add; local.set D -> lc_i32_add_set: c0, A, K, D. */
#define WP_FUSED_DEST_BIN_NAMES_(X, id)                            \
  X(s_##id##_set) X(s_##id##_tee) X(ll_##id##_set) X(ll_##id##_tee)           \
  X(lc_##id##_set) X(lc_##id##_tee) X(sl_##id##_set) X(sl_##id##_tee)         \
  X(sc_##id##_set) X(sc_##id##_tee)
#define WP_FUSED_DEST_LOAD_NAMES_(X, id) X(id##_set) X(id##_tee) X(l_##id##_set) X(l_##id##_tee)

/* Results into memory: a binary operator (any form) followed by the full
 * width store of its result type (i32.store for i32 results and compares,
 * i64.store, f32.store, f64.store), the address below its operands:
 *   FORM_store   ..., then the store's offset     e.g. s_f64_add_store: c0, off
 * Mapped to the store (the only place it can trap); a trap pushes the
 * result first, so the stack is the store's. */
#define WP_FUSED_STORE_BIN_NAMES_(X, id) \
  X(s_##id##_store) X(ll_##id##_store) X(lc_##id##_store) X(sl_##id##_store) X(sc_##id##_store)

/* Accesses whose address is a sum, i32.add (in any operand form) just before:
 *   as_LOAD   ...; i32.add; LOAD off     (both from the stack)   c0, off
 *   all_LOAD  local.get A; local.get B; i32.add; LOAD off        c0, A|B, off
 *   alc_LOAD  local.get A; CONST K; i32.add; LOAD off            c0, A, K, off
 *   asl_LOAD  local.get B; i32.add; LOAD off  (a from stack)     c0, B, off
 *   asc_LOAD  CONST K; i32.add; LOAD off      (a from stack)     c0, K, off
 * with _set/_tee forms as above, and stores of a local or constant:
 *   all_sl_STORE  local.get A; local.get B; i32.add; local.get V; STORE   c0, A|B, V, off
 *   all_sc_STORE, alc_sl_STORE, alc_sc_STORE likewise (alc: A, K before the value).
 * The address wraps at 32 bits as i32.add does, then the offset is added.
 * Mapped to the access; a trap first pushes what the access would have
 * found on the stack (the sum, and a store's value). */
#define WP_FUSED_ADDR_LOAD_NAMES_(X, id)                              \
  X(as_##id) X(as_##id##_set) X(as_##id##_tee) X(all_##id) X(all_##id##_set)       \
  X(all_##id##_tee) X(alc_##id) X(alc_##id##_set) X(alc_##id##_tee) X(asl_##id)    \
  X(asl_##id##_set) X(asl_##id##_tee) X(asc_##id) X(asc_##id##_set) X(asc_##id##_tee)
#define WP_FUSED_ADDR_STORE_NAMES_(X, id) \
  X(all_sl_##id) X(all_sc_##id) X(alc_sl_##id) X(alc_sc_##id)

/* Loop steps: local.tee X of an i32.add of locals/constant, compared with a
 * local or constant by a br_if (forward or back-edge):
 *   sll_JCMP  local.get A; local.get B; i32.add; local.tee X; local.get Y; CMP; br_if
 *             c0, A|B, X, Y, rel
 *   slc_JCMP  (A, K: local.get A; CONST K; i32.add)  c0, A, K, X, Y, rel
 *   with JCMP one of j{sl,sc}_CMP, jb{sl,sc}_CMP (sc: a constant instead of Y).
 * Back-edge forms check interrupts before any effect. */
#define WP_FUSED_STEP_NAMES_(X, id)                                                  \
  X(sll_jsl_##id) X(sll_jsc_##id) X(sll_jbsl_##id) X(sll_jbsc_##id) X(slc_jsl_##id)     \
  X(slc_jsc_##id) X(slc_jbsl_##id) X(slc_jbsc_##id)

/* Two pushes of locals that nothing else absorbed (fused when a third
 * local.get follows them):
 *   get2  local.get A; local.get B              c0, A|B */

/* WP_FUSED_XOPS(X): X(ident) for every fused internal opcode.
 * WP_FUSED_XOPS_STEPPING(X): the subset the stepping loop has too (code.h:
 * stepping code): those that neither access memory nor set a global (a
 * watched write stops right after its instruction), first in the list. */
#define WP_FUSED_XOPS_STEPPING(X) \
  X(copy_local) X(set_local_const) X(get2) \
  WP_FUSED_BIN(WP_FUSED_BIN_NAMES_, X) WP_FUSED_CMP_JUMP(WP_FUSED_CMP_NAMES_, X) \
  WP_FUSED_DEST_BIN_I32(WP_FUSED_DEST_BIN_NAMES_, X) WP_FUSED_STEP(WP_FUSED_STEP_NAMES_, X)
#define WP_FUSED_XOPS(X) \
  WP_FUSED_XOPS_STEPPING(X) WP_FUSED_LOAD(WP_FUSED_LOAD_NAMES_, X) \
  WP_FUSED_STORE(WP_FUSED_STORE_NAMES_, X) \
  WP_FUSED_DEST_BIN_OTHER(WP_FUSED_DEST_BIN_NAMES_, X) WP_FUSED_DEST_LOAD(WP_FUSED_DEST_LOAD_NAMES_, X) \
  WP_FUSED_ADDR_LOAD(WP_FUSED_ADDR_LOAD_NAMES_, X) WP_FUSED_ADDR_STORE(WP_FUSED_ADDR_STORE_NAMES_, X) \
  WP_FUSED_STORE_BIN(WP_FUSED_STORE_BIN_NAMES_, X)

#endif
