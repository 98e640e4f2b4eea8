/* semantics.h: the semantics column of opcodes.def as C functions named by
 * the instruction's ident.  The handlers of every loop variant
 * (loop_template.h) and the superinstructions (fused.h) call them, so an
 * instruction's meaning is written once, in the table.  Always inlined:
 * they are instruction bodies.
 *   wp_sem_ID(a[, b])        UN, BIN and their _TRAPS: the result's slot from the operands' slots
 *   wp_sem_trap_ID(a[, b])   _TRAPS: the trap the operands raise, WP_TRAP_NONE if none
 *   WP_RESULT_STORE_ID, WP_RESULT_WIDTH_ID, wp_result_store_ID(p, r)
 *                            UN, BIN: the store of the result's type (fused.h), its width, itself
 *   wp_load_ID(p)            LOAD: the slot of the value at p
 *   wp_store_ID(p, v)        STORE: writes slot v at p
 *   WP_WIDTH_ID              LOAD, STORE: the bytes accessed */
#ifndef WP_SEMANTICS_H
#define WP_SEMANTICS_H

#include "module.h"
#include "numeric.h"
#include "util.h"

/* Classes: a slot as a C value (WP_CT_c, WP_GET_c) and back (WP_PUT_c
 * converts to the class first), and the store of the class's wasm type
 * (WP_STORE_c, an ident).
 * i32 values are kept zero-extended, f32 bits in the low half. */
#define WP_CT_u32 uint32_t
#define WP_GET_u32(s) ((uint32_t)(s))
#define WP_PUT_u32(x) ((uint64_t)(uint32_t)(x))
#define WP_STORE_u32 i32_store
#define WP_CT_s32 int32_t
#define WP_GET_s32(s) ((int32_t)(s))
#define WP_PUT_s32(x) ((uint64_t)(uint32_t)(int32_t)(x))
#define WP_STORE_s32 i32_store
#define WP_CT_u64 uint64_t
#define WP_GET_u64(s) ((uint64_t)(s))
#define WP_PUT_u64(x) ((uint64_t)(x))
#define WP_STORE_u64 i64_store
#define WP_CT_s64 int64_t
#define WP_GET_s64(s) ((int64_t)(s))
#define WP_PUT_s64(x) ((uint64_t)(int64_t)(x))
#define WP_STORE_s64 i64_store
#define WP_CT_f32 float
#define WP_GET_f32(s) wp_f32(s)
#define WP_PUT_f32(x) wp_from_f32((float)(x))
#define WP_STORE_f32 f32_store
#define WP_CT_f64 double
#define WP_GET_f64(s) wp_f64(s)
#define WP_PUT_f64(x) wp_from_f64((double)(x))
#define WP_STORE_f64 f64_store
#define WP_CT_b32 uint32_t
#define WP_GET_b32(s) ((uint32_t)(s))
#define WP_PUT_b32(x) ((uint64_t)(uint32_t)(x))
#define WP_STORE_b32 f32_store
#define WP_CT_b64 uint64_t
#define WP_GET_b64(s) ((uint64_t)(s))
#define WP_PUT_b64(x) ((uint64_t)(x))
#define WP_STORE_b64 f64_store

#define SEM_OWN(ident, ...)
#define SEM_CONST(ident, ...)
#define SEM_SAME(ident, ...)
#define WP_SEM_CAT_(a, b) a##b
#define WP_SEM_CAT(a, b) WP_SEM_CAT_(a, b)
/* The store of the result's type (its row comes before any operator's). */
#define SEM_RESULT(ident, tr)                                                        \
  enum {                                                                             \
    WP_RESULT_STORE_##ident = WP_SEM_CAT(WP_OP_, WP_STORE_##tr),                     \
    WP_RESULT_WIDTH_##ident = WP_SEM_CAT(WP_WIDTH_, WP_STORE_##tr)                   \
  };                                                                                 \
  static WP_ALWAYS_INLINE void wp_result_store_##ident(uint8_t *p, uint64_t r) {     \
    WP_SEM_CAT(wp_store_, WP_STORE_##tr)(p, r);                                      \
  }
#define SEM_UN(ident, ta, tr, e)                                 \
  static WP_ALWAYS_INLINE uint64_t wp_sem_##ident(uint64_t a_) { \
    WP_CT_##ta a = WP_GET_##ta(a_);                              \
    return WP_PUT_##tr(e);                                       \
  }                                                              \
  SEM_RESULT(ident, tr)
#define SEM_BIN(ident, ta, tr, e)                                             \
  static WP_ALWAYS_INLINE uint64_t wp_sem_##ident(uint64_t a_, uint64_t b_) { \
    WP_CT_##ta a = WP_GET_##ta(a_), b = WP_GET_##ta(b_);                      \
    return WP_PUT_##tr(e);                                                    \
  }                                                                           \
  SEM_RESULT(ident, tr)
/* TRAP_IF, as the checks of a _TRAPS row use it. */
#define TRAP_IF(cond, kind) \
  if (cond) return WP_TRAP_##kind;
#define SEM_UN_TRAPS(ident, ta, tr, checks, e)                                \
  SEM_UN(ident, ta, tr, e)                                                    \
  static WP_ALWAYS_INLINE wp_trap_kind wp_sem_trap_##ident(uint64_t a_) {     \
    WP_CT_##ta a = WP_GET_##ta(a_);                                           \
    checks return WP_TRAP_NONE;                                               \
  }
#define SEM_BIN_TRAPS(ident, ta, tr, checks, e)                                         \
  SEM_BIN(ident, ta, tr, e)                                                             \
  static WP_ALWAYS_INLINE wp_trap_kind wp_sem_trap_##ident(uint64_t a_, uint64_t b_) {  \
    WP_CT_##ta a = WP_GET_##ta(a_), b = WP_GET_##ta(b_);                                \
    (void)a;                                                                            \
    checks return WP_TRAP_NONE;                                                         \
  }
#define SEM_LOAD(ident, ct, tr)                                          \
  enum { WP_WIDTH_##ident = sizeof(ct) };                                \
  static WP_ALWAYS_INLINE uint64_t wp_load_##ident(const uint8_t *p) {   \
    ct v;                                                                \
    memcpy(&v, p, sizeof v);                                             \
    return WP_PUT_##tr(v);                                               \
  }
#define SEM_STORE(ident, ct)                                             \
  enum { WP_WIDTH_##ident = sizeof(ct) };                                \
  static WP_ALWAYS_INLINE void wp_store_##ident(uint8_t *p, uint64_t s) { \
    ct v = (ct)s;                                                        \
    memcpy(p, &v, sizeof v);                                             \
  }
#define OP(byte, name, ident, imm, sig, sem) WP_SEM(SEM_, ident, WP_SEM_##sem)
#define OPFC(sub, name, ident, imm, sig, sem) WP_SEM(SEM_, ident, WP_SEM_##sem)
#include "opcodes.def"
#undef OP
#undef OPFC
#undef TRAP_IF
#undef SEM_OWN
#undef SEM_CONST
#undef SEM_SAME
#undef SEM_RESULT
#undef SEM_UN
#undef SEM_BIN
#undef SEM_UN_TRAPS
#undef SEM_BIN_TRAPS
#undef SEM_LOAD
#undef SEM_STORE

#endif
