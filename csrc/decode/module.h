/* module.h: the decoded form of a module, as decode.c builds it and
 * validate.c, compile.c and instance.c read it.  Index spaces include
 * imports first, as in the spec. */
#ifndef WP_MODULE_H
#define WP_MODULE_H

#include "util.h"

#include <stdatomic.h>

struct wp_code; /* code.h */

/* wp_valtype_valid: whether byte b encodes a value type (SIMD's v128 included). */
static inline bool wp_valtype_valid(uint8_t b) {
  return b == WP_I32 || b == WP_I64 || b == WP_F32 || b == WP_F64 || b == WP_V128 || b == WP_FUNCREF ||
         b == WP_EXTERNREF;
}

/* The bytes wp_valtype_valid accepts, for "expected ..., found 0x40" messages;
 * and those of reference types. */
#define WP_VALTYPE_BYTES "0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x7b v128, 0x70 funcref or 0x6f externref"
#define WP_REFTYPE_BYTES "0x70 funcref or 0x6f externref"

/* wp_format_types: "i32 f64" into buf (always terminated): the last `max`
 * of types[0..n), after "... " when there are more; "any" for 0, the
 * validator's unknown type.  Returns buf, for use as a printf argument. */
char *wp_format_types(char *buf, size_t size, const uint8_t *types, uint32_t n, uint32_t max);

/* The tail of an "unknown table 3: ..." message: "expected an index below
 * 2", or "there are none" for an empty index space.  A format and its
 * arguments: "%.0u" prints nothing for a zero count. */
#define WP_BOUND_FMT "%s%.0u"
#define WP_BOUND_ARGS(count) ((count) ? "expected an index below " : "there are none"), (unsigned)(count)

/* wp_functype: params then results in one array. */
struct wp_functype {
  uint32_t nparams, nresults;
  uint8_t *types; /* wp_valtype values, nparams + nresults of them */
};

static inline const uint8_t *wp_functype_params(const wp_functype *t) { return t->types; }
static inline const uint8_t *wp_functype_results(const wp_functype *t) { return t->types + t->nparams; }

/* Opcode numbering: one enum over every row of opcodes.def; prefixed
 * (0xFC) instructions follow the single-byte ones. */
typedef enum wp_opcode {
#define OP(byte, name, ident, imm, sig, sem) WP_OP_##ident,
#define OPFC(sub, name, ident, imm, sig, sem) WP_OP_##ident,
#include "opcodes.def"
#undef OP
#undef OPFC
  WP_OP_COUNT
} wp_opcode;

/* WP_SEM(P, ident, WP_SEM_##sem) expands the semantics column `KIND(args)`
 * of an opcodes.def row as P##KIND(ident, args); OWN, CONST and SAME give
 * one argument, 0.  Paste WP_SEM_ to the column in OP's own definition, so
 * that the column is never expanded before (its KIND may name a macro). */
#define WP_SEM(P, ident, ...) WP_SEM_CALL_(P, ident, __VA_ARGS__)
#define WP_SEM_CALL_(P, ident, kind, ...) P##kind(ident, __VA_ARGS__)
#define WP_SEM_OWN() OWN, 0
#define WP_SEM_CONST() CONST, 0
#define WP_SEM_SAME() SAME, 0
#define WP_SEM_UN(...) UN, __VA_ARGS__
#define WP_SEM_BIN(...) BIN, __VA_ARGS__
#define WP_SEM_UN_TRAPS(...) UN_TRAPS, __VA_ARGS__
#define WP_SEM_BIN_TRAPS(...) BIN_TRAPS, __VA_ARGS__
#define WP_SEM_LOAD(...) LOAD, __VA_ARGS__
#define WP_SEM_STORE(...) STORE, __VA_ARGS__

typedef enum wp_imm_kind {
  IMM_NONE, IMM_BLOCKTYPE, IMM_LABEL, IMM_BR_TABLE, IMM_FUNC, IMM_CALL_INDIRECT,
  IMM_LOCAL, IMM_GLOBAL, IMM_TABLE, IMM_MEMARG, IMM_MEMIDX, IMM_I32, IMM_I64,
  IMM_F32, IMM_F64, IMM_SELECT_T, IMM_REFTYPE, IMM_MEMINIT, IMM_DATA, IMM_MEMCOPY,
  IMM_TABLEINIT, IMM_ELEM, IMM_TABLECOPY,
} wp_imm_kind;

/* wp_opinfo: one row of opcodes.def. */
typedef struct wp_opinfo {
  const char *name;
  uint8_t prefix; /* 0 or 0xFC */
  uint32_t code;  /* byte, or sub-opcode after the prefix */
  wp_imm_kind imm;
  const char *sig;
  uint8_t width; /* bytes a load or store accesses (its natural alignment), else 0 */
} wp_opinfo;

extern const wp_opinfo wp_opinfo_table[WP_OP_COUNT];

/* wp_imm: the decoded immediates of one instruction (wp_read_immediates).
 *   IMM_BLOCKTYPE   blocktype: -64 (0x40, empty), a negative value type byte
 *                   as s33 (e.g. -1 for i32), or a type index >= 0
 *   IMM_LABEL, IMM_FUNC, IMM_LOCAL, IMM_GLOBAL, IMM_TABLE, IMM_DATA, IMM_ELEM: a
 *   IMM_CALL_INDIRECT a = type index, b = table index
 *   IMM_MEMARG      a = alignment exponent, u64 = offset
 *   IMM_MEMIDX      (the reserved zero byte checked: "zero byte expected")
 *   IMM_MEMCOPY     (two reserved zero bytes checked)
 *   IMM_MEMINIT     a = data index (then a reserved zero byte)
 *   IMM_TABLEINIT   a = elem index, b = table index
 *   IMM_TABLECOPY   a = destination table, b = source table
 *   IMM_I32, IMM_I64 u64 = the value's bits (i32 zero-extended)
 *   IMM_F32, IMM_F64 u64 = the bits
 *   IMM_REFTYPE     a = WP_FUNCREF or WP_EXTERNREF
 *   IMM_BR_TABLE    n = number of labels before the default; vec points at
 *                   the first label's LEB128 (re-read them with a wp_reader;
 *                   they have been checked already)
 *   IMM_SELECT_T    n = number of types, vec points at the type bytes */
typedef struct wp_imm {
  uint32_t a, b;
  uint64_t u64;
  int64_t blocktype;
  uint32_t n;
  const uint8_t *vec;
} wp_imm;

/* wp_read_immediates: read (and check the encoding of) op's immediates.
 * Fields op has no immediate for are zero. */
static inline int wp_read_immediates(wp_reader *r, wp_opcode op, wp_imm *imm, wp_error *err);

/* wp_read_opcode: read one (possibly prefixed) opcode.  Unknown opcodes are
 * malformed ("illegal opcode"); SIMD (0xFD) gives WP_ERR_VALIDATE
 * "SIMD is not supported yet". */
static inline int wp_read_opcode(wp_reader *r, wp_opcode *op, wp_error *err);

/* The out-of-line readers behind the inline ones: every encoding, every error. */
int wp_read_immediates_slow(wp_reader *r, wp_opcode op, wp_imm *imm, wp_error *err);
int wp_read_opcode_slow(wp_reader *r, wp_opcode *op, wp_error *err);

/* wp_op_by_byte: single-byte opcode -> wp_opcode + 1; 0 for no such opcode
 * and for the prefixes (0xFC, 0xFD), which the slow reader handles. */
extern const uint16_t wp_op_by_byte[256];

/* Inline fast paths for what function bodies are mostly made of: a
 * single-byte opcode, with no immediate or one single-byte LEB128 index. */
static inline int wp_read_opcode(wp_reader *r, wp_opcode *op, wp_error *err) {
  if (WP_LIKELY(r->pos < r->end)) {
    uint16_t e = wp_op_by_byte[*r->pos];
    if (WP_LIKELY(e != 0)) {
      r->pos++;
      *op = (wp_opcode)(e - 1);
      return 0;
    }
  }
  return wp_read_opcode_slow(r, op, err);
}

static inline int wp_read_immediates(wp_reader *r, wp_opcode op, wp_imm *imm, wp_error *err) {
  switch (wp_opinfo_table[op].imm) {
  case IMM_NONE:
    memset(imm, 0, sizeof *imm);
    return 0;
  case IMM_LABEL: case IMM_FUNC: case IMM_LOCAL: case IMM_GLOBAL:
    memset(imm, 0, sizeof *imm);
    return wp_read_u32(r, &imm->a, err);
  case IMM_I32: {
    int32_t v;
    memset(imm, 0, sizeof *imm);
    WP_TRY(wp_read_s32(r, &v, err));
    imm->u64 = (uint32_t)v;
    return 0;
  }
  default:
    return wp_read_immediates_slow(r, op, imm, err);
  }
}

/* wp_constexpr: a constant expression, kept as the byte range of its
 * instructions (up to and including the final `end`); validate.c checks it
 * and instance.c evaluates it. */
typedef struct wp_constexpr {
  uint32_t start, end; /* module offsets; end is one past the `end` opcode */
} wp_constexpr;

typedef struct wp_tabletype {
  uint8_t elemtype; /* WP_FUNCREF or WP_EXTERNREF */
  wp_limits limits;
} wp_tabletype;

typedef struct wp_globaltype {
  uint8_t valtype;
  bool mutable_;
} wp_globaltype;

typedef struct wp_import_desc {
  const char *module, *name; /* point into the module bytes */
  uint32_t module_len, name_len;
  uint8_t kind;              /* wp_extern_kind */
  uint32_t index;            /* index in the kind's index space */
  uint32_t offset;           /* module offset of this import entry */
  union {
    uint32_t typeidx;        /* WP_EXTERN_FUNC */
    wp_tabletype table;
    wp_limits memory;
    wp_globaltype global;
  } u;
} wp_import_desc;

typedef struct wp_export_desc {
  const char *name;
  uint32_t name_len;
  uint8_t kind;
  uint32_t index;
  uint32_t offset;           /* module offset of this export entry, for errors */
} wp_export_desc;

/* wp_variant: the interpreter loop variants (exec.c).  Each translates a
 * body for itself (its handler addresses differ), so each has a cache slot. */
typedef enum wp_variant {
  WP_VARIANT_PLAIN,    /* no observation at all */
  WP_VARIANT_TICKED,   /* ticks, and the call tree when a profile runs (profile.c) */
  WP_VARIANT_STEP,     /* the debugger's: ticked, stops on request (debug.c) */
  WP_VARIANT_COUNT
} wp_variant;

/* wp_func_body: a defined function's code entry. */
typedef struct wp_func_body {
  uint32_t body_start;     /* module offset of the first byte after the body size */
  uint32_t code_start;     /* module offset of the first instruction (after locals) */
  uint32_t body_end;       /* one past the final `end` */
  uint32_t nlocals;        /* declared locals, not counting params */
  uint8_t *local_types;    /* params then declared locals: nparams + nlocals types (in local_arena) */
  /* Internal code per loop variant, translated on first call there: the
   * head of a chain (wp_code.next) with one translation per price table
   * the variant has run under (ticked variants; the plain loop's has one).
   * Threads share it: new code is pushed at the head by compare-and-swap
   * and never changed or freed before the module (exec.c, wp_func_code). */
  struct wp_code *_Atomic code[WP_VARIANT_COUNT];
} wp_func_body;

typedef struct wp_global_desc {
  wp_globaltype type;
  wp_constexpr init;       /* defined globals only */
} wp_global_desc;

typedef enum wp_segment_mode { WP_SEG_ACTIVE, WP_SEG_PASSIVE, WP_SEG_DECLARATIVE } wp_segment_mode;

typedef struct wp_elem_desc {
  wp_segment_mode mode;
  uint8_t elemtype;
  uint32_t table;          /* active */
  wp_constexpr offset;     /* active */
  uint32_t count;
  /* Elements are either function indices (the encodings without expressions)
   * or constant expressions. Exactly one of these is non-NULL when count > 0. */
  uint32_t *funcs;
  wp_constexpr *exprs;
  uint32_t entry_offset;   /* module offset of the segment, for errors */
} wp_elem_desc;

typedef struct wp_data_desc {
  wp_segment_mode mode;    /* ACTIVE or PASSIVE */
  uint32_t memory;
  wp_constexpr offset;
  uint32_t data_start, data_len; /* byte range in the module */
  uint32_t entry_offset;
} wp_data_desc;

typedef struct wp_custom_desc {
  const char *name;
  uint32_t name_len;
  uint32_t data_start, data_len; /* payload after the name */
} wp_custom_desc;

struct wp_module {
  uint8_t *bytes;          /* the binary: an owned copy, or the caller's (never written) */
  uint32_t size;
  bool bytes_borrowed;     /* wp_module_new_borrowed: bytes are not ours to free */

  wp_functype *types;
  uint32_t ntypes;
  uint32_t *type_offsets;  /* module offset of each type entry, for errors */

  wp_import_desc *imports;
  uint32_t nimports;

  /* Function index space: imported, then defined. func_types[i] is a type index. */
  uint32_t nfuncs, nfuncs_imported;
  uint32_t *func_types;
  wp_func_body *bodies;    /* nfuncs - nfuncs_imported entries */
  wp_arena local_arena;    /* holds every body's local_types */

  uint32_t ntables, ntables_imported;
  wp_tabletype *tables;

  uint32_t nmems, nmems_imported;
  wp_limits *mems;
  /* Module offsets of each table and memory entry (an imported one's: its
   * import entry), for errors. */
  uint32_t *table_offsets, *mem_offsets;

  uint32_t nglobals, nglobals_imported;
  wp_global_desc *globals;

  wp_export_desc *exports;
  uint32_t nexports;

  bool has_start;
  uint32_t start;
  uint32_t start_offset;   /* module offset of the start section's contents, for errors */

  wp_elem_desc *elems;
  uint32_t nelems;

  wp_data_desc *datas;
  uint32_t ndatas;
  bool has_datacount;
  uint32_t datacount;

  wp_custom_desc *customs;
  uint32_t ncustoms;

  /* Functions referenced outside function bodies (exports, element
   * segments, global initialisers): the only valid ref.func targets in
   * code. One byte per function index; filled by validate.c. */
  uint8_t *func_declared;

  /* Debugging information, built lazily on first lookup (never at load):
   * names.c and dwarf.c own them (built under a lock, published
   * atomically: threads share modules); module.c frees them. */
  uint32_t code_section_start; /* module offset of the Code section's contents (DWARF addresses start here) */
  struct wp_names *_Atomic names;
  struct wp_dwarf *_Atomic dwarf;
  char *file_name;         /* wp_module_set_file_name: where the binary came from, or NULL */
};

/* disasm.c: call fn for each instruction of a defined function's body
 * (module offset, opcode, immediates) until it returns non-zero. */
typedef int (*wp_insn_fn)(void *ctx, uint32_t offset, wp_opcode op, const wp_imm *imm);
int wp_body_walk(const wp_module *m, uint32_t defined_index, wp_insn_fn fn, void *ctx, wp_error *err);
/* wp_opcode_at: the opcode of the instruction at a module offset, -1 if none starts there. */
int wp_opcode_at(const wp_module *m, uint32_t offset);

/* names.c, dwarf.c: free the lazily built debugging tables. */
void wp_names_free(struct wp_names *names);
void wp_dwarf_free(struct wp_dwarf *dwarf);

/* decode.c: parse the binary into m (already zeroed, bytes/size set).
 * Checks everything the binary format requires (section order and sizes,
 * LEB128 limits, UTF-8, counts that must agree) but no types. */
int wp_decode(wp_module *m, wp_error *err);

/* validate.c: validate everything except function bodies' instructions,
 * then every function body. */
int wp_validate(wp_module *m, wp_error *err);

/* Free everything decode/validate/compile allocated (not m itself). */
void wp_module_release(wp_module *m);

#endif
