/* util.h: small helpers shared by the core: errors, allocation, a byte reader. */
#ifndef WP_UTIL_H
#define WP_UTIL_H

#include "wasmprof.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WP_UNUSED(x) ((void)(x))
#define WP_LIKELY(x) __builtin_expect(!!(x), 1)
#define WP_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For the small helpers of hot loops (the validator's stack operations),
 * which the compiler's size heuristics would otherwise leave as calls. */
#define WP_ALWAYS_INLINE inline __attribute__((always_inline))
/* For cold paths called from the interpreter loops, whose register
 * allocation they must not disturb. */
#define WP_NOINLINE __attribute__((noinline, cold))

/* The core's one error idiom.  A fallible function returns int: 0 (or a
 * positive result, such as "closed the function") on success, -1 on
 * failure.  Whoever finds the failure fills err, once, with
 * `return wp_error_set(err, kind, module_offset, fmt, ...)`; every caller
 * above it only propagates, with WP_TRY.  Messages start with the spec's
 * wording where the spec has one (its test suite's assert_invalid and
 * assert_malformed texts) and go on to say what was expected and what was
 * found: "type mismatch: i32.add expects [i32 i32], found [i32 f64]". */
#define WP_TRY(expr)     \
  do {                   \
    if ((expr) < 0)      \
      return -1;         \
  } while (0)

/* wp_error_set: fill err (may be NULL) and return -1. */
int wp_error_set(wp_error *err, wp_error_kind kind, uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void wp_error_clear(wp_error *err);

/* Allocation that never aborts: callers check NULL and report WP_ERR_NOMEM. */
void *wp_calloc(size_t n, size_t size);
/* wp_grow: ensure *arr has room for need elements of elem bytes, doubling;
 * returns false on overflow or OOM (the old array is kept). */
bool wp_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* wp_arena: many small byte arrays with one lifetime, carved from large
 * chunks that never move and are freed together (a module's per-function
 * local types: one malloc per 64 KiB instead of one per function). */
typedef struct wp_arena {
  struct wp_arena_chunk *chunks; /* newest first; the first has the free space */
  size_t used, cap;              /* bytes of the first chunk's data used, and its size */
} wp_arena;

/* wp_arena_alloc: n uninitialised bytes (a valid pointer even for n = 0);
 * NULL on overflow or OOM. */
uint8_t *wp_arena_alloc(wp_arena *a, size_t n);
void wp_arena_free(wp_arena *a);

/* wp_reader: a cursor over a byte range of a module.  base is the start of
 * the whole binary, so that pos - base is the module offset for errors. */
typedef struct wp_reader {
  const uint8_t *base;
  const uint8_t *pos;
  const uint8_t *end;
} wp_reader;

static inline uint32_t wp_reader_offset(const wp_reader *r) { return (uint32_t)(r->pos - r->base); }

/* Each reader returns 0, or -1 with err filled with WP_ERR_DECODE on
 * malformed input ("unexpected end", "integer representation too long",
 * "integer too large"), using the spec test suite's wording. */
static inline int wp_read_u8(wp_reader *r, uint8_t *out, wp_error *err);
static inline int wp_read_u32(wp_reader *r, uint32_t *out, wp_error *err); /* unsigned LEB128, <= 5 bytes */
static inline int wp_read_s32(wp_reader *r, int32_t *out, wp_error *err);  /* signed LEB128, <= 5 bytes */
int wp_read_s33(wp_reader *r, int64_t *out, wp_error *err);    /* block types */
int wp_read_s64(wp_reader *r, int64_t *out, wp_error *err);    /* signed LEB128, <= 10 bytes */
int wp_read_bytes(wp_reader *r, uint32_t n, const uint8_t **out, wp_error *err);
int wp_read_f32(wp_reader *r, uint32_t *bits, wp_error *err);
int wp_read_f64(wp_reader *r, uint64_t *bits, wp_error *err);
/* wp_read_name: a length-prefixed name that must be valid UTF-8 ("malformed UTF-8 encoding"). */
int wp_read_name(wp_reader *r, const char **name, uint32_t *len, wp_error *err);

/* The out-of-line readers behind the inline ones below: any encoding,
 * every check, every error. */
int wp_read_u8_slow(wp_reader *r, uint8_t *out, wp_error *err);
int wp_read_u32_slow(wp_reader *r, uint32_t *out, wp_error *err);
int wp_read_s32_slow(wp_reader *r, int32_t *out, wp_error *err);

/* Inline fast paths: almost every LEB128 in a module is one byte (indices,
 * counts, small constants), which can be neither too long nor too large, so
 * it is taken here without a call; anything else (and every error) goes to
 * the out-of-line reader, which starts over from the same position.  Module
 * loading reads several per instruction of every function body. */
static inline int wp_read_u8(wp_reader *r, uint8_t *out, wp_error *err) {
  if (WP_LIKELY(r->pos < r->end)) {
    *out = *r->pos++;
    return 0;
  }
  return wp_read_u8_slow(r, out, err);
}

static inline int wp_read_u32(wp_reader *r, uint32_t *out, wp_error *err) {
  if (WP_LIKELY(r->pos < r->end && *r->pos < 0x80)) {
    *out = *r->pos++;
    return 0;
  }
  return wp_read_u32_slow(r, out, err);
}

static inline int wp_read_s32(wp_reader *r, int32_t *out, wp_error *err) {
  if (WP_LIKELY(r->pos < r->end && *r->pos < 0x80)) {
    uint8_t b = *r->pos++;
    *out = (b & 0x40) ? (int32_t)b - 0x80 : (int32_t)b; /* bit 6 is the sign */
    return 0;
  }
  return wp_read_s32_slow(r, out, err);
}

#endif
