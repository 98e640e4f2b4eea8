/* opcodes.c: the opcode table and the instruction decoder (opcode and
 * immediates) shared by decode.c (constant expressions), validate.c and
 * compile.c.  Everything here is generated from opcodes.def. */
#include "module.h"

/* The access width of a load or store is its C type's size. */
#define WIDTH_LOAD(ident, ct, tr) sizeof(ct)
#define WIDTH_STORE(ident, ct) sizeof(ct)
#define WIDTH_OWN(ident, ...) 0
#define WIDTH_CONST(ident, ...) 0
#define WIDTH_SAME(ident, ...) 0
#define WIDTH_UN(ident, ...) 0
#define WIDTH_BIN(ident, ...) 0
#define WIDTH_UN_TRAPS(ident, ...) 0
#define WIDTH_BIN_TRAPS(ident, ...) 0
const wp_opinfo wp_opinfo_table[WP_OP_COUNT] = {
#define OP(byte, name, ident, imm, sig, sem) \
  [WP_OP_##ident] = {name, 0x00, byte, imm, sig, WP_SEM(WIDTH_, ident, WP_SEM_##sem)},
#define OPFC(sub, name, ident, imm, sig, sem) \
  [WP_OP_##ident] = {name, 0xFC, sub, imm, sig, WP_SEM(WIDTH_, ident, WP_SEM_##sem)},
#include "opcodes.def"
#undef OP
#undef OPFC
};

/* Byte -> opcode + 1 (0 = no such opcode), for single-byte opcodes and for
 * the sub-opcodes after the 0xFC prefix.  Built at compile time; a
 * duplicated byte in opcodes.def is a -Woverride-init warning. */
const uint16_t wp_op_by_byte[256] = {
#define OP(byte, name, ident, imm, sig, sem) [byte] = WP_OP_##ident + 1,
#define OPFC(sub, name, ident, imm, sig, sem)
#include "opcodes.def"
#undef OP
#undef OPFC
};

static const uint16_t op_by_fc[] = {
#define OP(byte, name, ident, imm, sig, sem)
#define OPFC(sub, name, ident, imm, sig, sem) [sub] = WP_OP_##ident + 1,
#include "opcodes.def"
#undef OP
#undef OPFC
};

#define N_FC (sizeof op_by_fc / sizeof op_by_fc[0])

int wp_read_opcode_slow(wp_reader *r, wp_opcode *op, wp_error *err) {
  uint32_t at = wp_reader_offset(r);
  uint8_t b;
  WP_TRY(wp_read_u8(r, &b, err));
  if (b == 0xFC) {
    uint32_t sub;
    WP_TRY(wp_read_u32(r, &sub, err));
    if (sub >= N_FC || op_by_fc[sub] == 0)
      return wp_error_set(err, WP_ERR_DECODE, at, "illegal opcode 0xfc %u: expected a 0xfc sub-opcode 0..%u", sub,
                          (unsigned)N_FC - 1);
    *op = (wp_opcode)(op_by_fc[sub] - 1);
    return 0;
  }
  if (b == 0xFD)
    return wp_error_set(err, WP_ERR_VALIDATE, at, "SIMD is not supported yet");
  if (wp_op_by_byte[b] == 0)
    return wp_error_set(err, WP_ERR_DECODE, at, "illegal opcode 0x%02x: expected a WebAssembly 2.0 opcode", b);
  *op = (wp_opcode)(wp_op_by_byte[b] - 1);
  return 0;
}

/* ---- immediates ---------------------------------------------------------- */

/* A reserved byte (memory index placeholder): exactly 0x00, not a longer
 * LEB128 encoding of zero. */
static int read_zero_byte(wp_reader *r, wp_error *err) {
  uint32_t at = wp_reader_offset(r);
  uint8_t b;
  WP_TRY(wp_read_u8(r, &b, err));
  if (b != 0)
    return wp_error_set(err, WP_ERR_DECODE, at, "zero byte expected: found 0x%02x", b);
  return 0;
}

/* blocktype: 0x40 (empty), one value type byte, or an s33 type index >= 0.
 * The first two are single bytes that read as negative s33 values. */
static int read_blocktype(wp_reader *r, int64_t *bt, wp_error *err) {
  uint32_t at = wp_reader_offset(r);
  WP_TRY(wp_read_s33(r, bt, err));
  if (*bt >= 0)
    return 0;
  bool one_byte = wp_reader_offset(r) == at + 1;
  uint8_t b = (uint8_t)(*bt & 0x7f);
  if (one_byte && (b == 0x40 || wp_valtype_valid(b)))
    return 0;
  if (one_byte)
    return wp_error_set(err, WP_ERR_DECODE, at, "malformed value type: expected 0x40 (no type), " WP_VALTYPE_BYTES
                        " or a type index, found 0x%02x", b);
  return wp_error_set(err, WP_ERR_DECODE, at, "malformed block type: expected 0x40, a value type or a type index, "
                      "found the negative index %lld", (long long)*bt);
}

/* br_table: n, then n+1 labels (the last is the default). */
static int read_br_table(wp_reader *r, wp_imm *imm, wp_error *err) {
  WP_TRY(wp_read_u32(r, &imm->n, err));
  /* Each label takes at least one byte: refuse counts the input cannot hold. */
  if (imm->n >= (size_t)(r->end - r->pos))
    return wp_error_set(err, WP_ERR_DECODE, (uint32_t)(r->end - r->base),
                        "unexpected end of section or function: expected %llu br_table labels, %u bytes left",
                        (unsigned long long)imm->n + 1, (uint32_t)(r->end - r->pos));
  imm->vec = r->pos;
  uint32_t label;
  for (uint64_t i = 0; i <= imm->n; i++)
    WP_TRY(wp_read_u32(r, &label, err));
  return 0;
}

/* select t*: a vector of value types. */
static int read_select_types(wp_reader *r, wp_imm *imm, wp_error *err) {
  WP_TRY(wp_read_u32(r, &imm->n, err));
  WP_TRY(wp_read_bytes(r, imm->n, &imm->vec, err));
  for (uint32_t i = 0; i < imm->n; i++)
    if (!wp_valtype_valid(imm->vec[i]))
      return wp_error_set(err, WP_ERR_DECODE, (uint32_t)(imm->vec + i - r->base),
                          "malformed value type: expected " WP_VALTYPE_BYTES ", found 0x%02x", imm->vec[i]);
  return 0;
}

static int read_reftype(wp_reader *r, uint32_t *out, wp_error *err) {
  uint32_t at = wp_reader_offset(r);
  uint8_t b;
  WP_TRY(wp_read_u8(r, &b, err));
  if (b != WP_FUNCREF && b != WP_EXTERNREF)
    return wp_error_set(err, WP_ERR_DECODE, at, "malformed reference type: expected " WP_REFTYPE_BYTES ", found 0x%02x",
                        b);
  *out = b;
  return 0;
}

int wp_read_immediates_slow(wp_reader *r, wp_opcode op, wp_imm *imm, wp_error *err) {
  memset(imm, 0, sizeof *imm);
  switch (wp_opinfo_table[op].imm) {
  case IMM_NONE:
    return 0;
  case IMM_BLOCKTYPE:
    return read_blocktype(r, &imm->blocktype, err);
  case IMM_LABEL: case IMM_FUNC: case IMM_LOCAL: case IMM_GLOBAL:
  case IMM_TABLE: case IMM_DATA: case IMM_ELEM:
    return wp_read_u32(r, &imm->a, err);
  case IMM_CALL_INDIRECT: case IMM_TABLEINIT: case IMM_TABLECOPY:
    WP_TRY(wp_read_u32(r, &imm->a, err));
    return wp_read_u32(r, &imm->b, err);
  case IMM_BR_TABLE:
    return read_br_table(r, imm, err);
  case IMM_MEMARG: {
    uint32_t offset;
    WP_TRY(wp_read_u32(r, &imm->a, err));
    WP_TRY(wp_read_u32(r, &offset, err));
    imm->u64 = offset;
    return 0;
  }
  case IMM_MEMIDX:
    return read_zero_byte(r, err);
  case IMM_MEMCOPY:
    WP_TRY(read_zero_byte(r, err));
    return read_zero_byte(r, err);
  case IMM_MEMINIT:
    WP_TRY(wp_read_u32(r, &imm->a, err));
    return read_zero_byte(r, err);
  case IMM_I32: {
    int32_t v;
    WP_TRY(wp_read_s32(r, &v, err));
    imm->u64 = (uint32_t)v;
    return 0;
  }
  case IMM_I64: {
    int64_t v;
    WP_TRY(wp_read_s64(r, &v, err));
    imm->u64 = (uint64_t)v;
    return 0;
  }
  case IMM_F32: {
    uint32_t bits;
    WP_TRY(wp_read_f32(r, &bits, err));
    imm->u64 = bits;
    return 0;
  }
  case IMM_F64:
    return wp_read_f64(r, &imm->u64, err);
  case IMM_SELECT_T:
    return read_select_types(r, imm, err);
  case IMM_REFTYPE:
    return read_reftype(r, &imm->a, err);
  }
  return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r), "illegal opcode: %s has no known immediate kind",
                      wp_opinfo_table[op].name);
}
