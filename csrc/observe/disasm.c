/* disasm.c: walking a function body instruction by instruction, for the
 * debugger's disassembly and traces (the validator walks it with types;
 * this only decodes). */
#include "module.h"

int wp_body_walk(const wp_module *m, uint32_t defined_index, wp_insn_fn fn, void *ctx, wp_error *err) {
  if (defined_index >= m->nfuncs - m->nfuncs_imported)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "no defined function %u", defined_index);
  const wp_func_body *body = &m->bodies[defined_index];
  wp_reader r = {m->bytes, m->bytes + body->code_start, m->bytes + body->body_end};
  while (r.pos < r.end) {
    uint32_t offset = wp_reader_offset(&r);
    wp_opcode op;
    wp_imm imm;
    WP_TRY(wp_read_opcode(&r, &op, err));
    WP_TRY(wp_read_immediates(&r, op, &imm, err));
    if (fn(ctx, offset, op, &imm)) break;
  }
  return 0;
}

static int find_op(void *ctx, uint32_t offset, wp_opcode op, const wp_imm *imm) {
  (void)imm;
  int64_t *want = ctx; /* in: the offset; out: the opcode */
  if (offset < (uint64_t)want[0]) return 0;
  want[1] = offset == (uint64_t)want[0] ? (int64_t)op : -1;
  return 1;
}

int wp_opcode_at(const wp_module *m, uint32_t offset) {
  uint32_t func = wp_module_func_at(m, offset);
  if (func == WP_NO_FUNC) return -1;
  int64_t want[2] = {offset, -1};
  if (wp_body_walk(m, func - m->nfuncs_imported, find_op, want, NULL) < 0) return -1;
  return (int)want[1];
}
