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

/* wp_error_set: fill err (may be NULL) and return -1, for `return wp_error_set(...)`. */
int wp_error_set(wp_error *err, wp_error_kind kind, uint32_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void wp_error_clear(wp_error *err);

/* Allocation that never aborts: callers check NULL and report WP_ERR_NOMEM. */
void *wp_calloc(size_t n, size_t size);
/* wp_grow: ensure *arr has room for need elements of elem bytes, doubling;
 * returns false on overflow or OOM (the old array is kept). */
bool wp_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* wp_reader: a cursor over a byte range of a module.  base is the start of
 * the whole binary, so that pos - base is the module offset for errors. */
typedef struct wp_reader {
  const uint8_t *base;
  const uint8_t *pos;
  const uint8_t *end;
} wp_reader;

static inline uint32_t wp_reader_offset(const wp_reader *r) { return (uint32_t)(r->pos - r->base); }

/* Each reader returns false and fills err with WP_ERR_DECODE on malformed
 * input ("unexpected end", "integer representation too long",
 * "integer too large"), using the spec test suite's wording. */
bool wp_read_u8(wp_reader *r, uint8_t *out, wp_error *err);
bool wp_read_u32(wp_reader *r, uint32_t *out, wp_error *err);   /* unsigned LEB128, <= 5 bytes */
bool wp_read_s32(wp_reader *r, int32_t *out, wp_error *err);    /* signed LEB128, <= 5 bytes */
bool wp_read_s33(wp_reader *r, int64_t *out, wp_error *err);    /* block types */
bool wp_read_s64(wp_reader *r, int64_t *out, wp_error *err);    /* signed LEB128, <= 10 bytes */
bool wp_read_bytes(wp_reader *r, uint32_t n, const uint8_t **out, wp_error *err);
bool wp_read_f32(wp_reader *r, uint32_t *bits, wp_error *err);
bool wp_read_f64(wp_reader *r, uint64_t *bits, wp_error *err);
/* wp_read_name: a length-prefixed name that must be valid UTF-8 ("malformed UTF-8 encoding"). */
bool wp_read_name(wp_reader *r, const char **name, uint32_t *len, wp_error *err);

#endif
