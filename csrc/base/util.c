/* util.c: errors, allocation and the binary reader (LEB128, bytes, floats,
 * names) shared by the decoder, the validator and the compiler.
 *
 * The LEB128 readers follow the spec's binary format (and the reference
 * interpreter's order of checks) exactly, so that malformed modules are
 * rejected with the spec test suite's wording:
 *   - an N-bit integer takes at most ceil(N/7) bytes; a continuation bit on
 *     the last allowed byte is "integer representation too long";
 *   - in the last allowed byte the bits beyond N must be zero (unsigned) or
 *     a sign extension of bit N-1 (signed), else "integer too large".
 */
#include "util.h"

#include <stdio.h>

/* ---- errors ------------------------------------------------------------ */

int wp_error_set(wp_error *err, wp_error_kind kind, uint32_t offset, const char *fmt, ...) {
  if (err == NULL)
    return -1;
  err->kind = kind;
  err->trap = WP_TRAP_NONE;
  err->offset = offset;
  err->func = WP_NO_FUNC;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return -1;
}

void wp_error_clear(wp_error *err) {
  if (err == NULL)
    return;
  err->kind = WP_OK;
  err->trap = WP_TRAP_NONE;
  err->offset = WP_NO_OFFSET;
  err->func = WP_NO_FUNC;
  err->message[0] = '\0';
}

/* ---- allocation -------------------------------------------------------- */

/* wp_calloc: like calloc, but a zero-sized request still returns a unique
 * pointer, so that NULL always means out of memory. */
void *wp_calloc(size_t n, size_t size) {
  if (n == 0 || size == 0)
    return calloc(1, 1);
  return calloc(n, size);
}

bool wp_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap)
    return true;
  uint64_t want = *cap < 4 ? 4 : (uint64_t)*cap * 2;
  if (want < need)
    want = need;
  if (want > UINT32_MAX)
    want = UINT32_MAX;
  if (elem == 0 || want > SIZE_MAX / elem)
    return false;
  uint8_t *p = realloc(*arr, (size_t)want * elem);
  if (p == NULL)
    return false;
  /* New elements start zeroed, like everything else wp_calloc hands out. */
  memset(p + (size_t)*cap * elem, 0, (size_t)(want - *cap) * elem);
  *arr = p;
  *cap = (uint32_t)want;
  return true;
}

/* ---- arena ------------------------------------------------------------- */

#define ARENA_CHUNK 65536u /* the largest chunk, apart from single big requests */

struct wp_arena_chunk {
  struct wp_arena_chunk *next;
  uint8_t data[];
};

static struct wp_arena_chunk *chunk_new(size_t n) {
  if (n > SIZE_MAX - sizeof(struct wp_arena_chunk)) return NULL;
  return malloc(sizeof(struct wp_arena_chunk) + n);
}

uint8_t *wp_arena_alloc(wp_arena *a, size_t n) {
  if (a->chunks != NULL && n <= a->cap - a->used) {
    uint8_t *p = a->chunks->data + a->used;
    a->used += n;
    return p;
  }
  if (a->chunks != NULL && n > ARENA_CHUNK / 4) {
    /* A big request gets a chunk of its own behind the current one, whose
     * free space stays in use. */
    struct wp_arena_chunk *c = chunk_new(n);
    if (c == NULL) return NULL;
    c->next = a->chunks->next;
    a->chunks->next = c;
    return c->data;
  }
  /* Chunks double from a small first one, so that a small module (a test
   * suite loads thousands) does not hold 64 KiB it never uses. */
  size_t cap = a->chunks == NULL ? 256 : a->cap < ARENA_CHUNK / 2 ? a->cap * 2 : ARENA_CHUNK;
  if (cap < n) cap = n;
  struct wp_arena_chunk *c = chunk_new(cap);
  if (c == NULL) return NULL;
  c->next = a->chunks;
  a->chunks = c;
  a->cap = cap;
  a->used = n;
  return c->data;
}

void wp_arena_free(wp_arena *a) {
  struct wp_arena_chunk *c = a->chunks;
  while (c != NULL) {
    struct wp_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->chunks = NULL;
  a->used = a->cap = 0;
}

/* ---- the reader -------------------------------------------------------- */

/* Running off the end of the current range: the range is a section, a
 * function body or the whole module, hence the spec's generic wording. */
static int unexpected_end(const wp_reader *r, wp_error *err, uint32_t need) {
  return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                      "unexpected end of section or function: expected %u more byte%s, %u left", need,
                      need == 1 ? "" : "s", (uint32_t)(r->end - r->pos));
}

int wp_read_u8_slow(wp_reader *r, uint8_t *out, wp_error *err) {
  if (r->pos >= r->end)
    return unexpected_end(r, err, 1);
  *out = *r->pos++;
  return 0;
}

/* read_uleb: an unsigned LEB128 of at most `bits` bits. */
static int read_uleb(wp_reader *r, unsigned bits, uint64_t *out, wp_error *err) {
  uint64_t result = 0;
  unsigned shift = 0;
  for (;;) {
    if (r->pos >= r->end)
      return unexpected_end(r, err, 1);
    uint8_t b = *r->pos;
    unsigned left = bits - shift; /* value bits this byte may still carry */
    if (left < 7 && ((b & 0x7fu) >> left) != 0)
      return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                          "integer too large: expected a %u-bit unsigned LEB128, its last byte 0x%02x has higher bits",
                          bits, b);
    result |= (uint64_t)(b & 0x7fu) << shift;
    r->pos++;
    if (!(b & 0x80))
      break;
    shift += 7;
    if (shift >= bits)
      return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                          "integer representation too long: expected a %u-bit LEB128 in at most %u bytes",
                          bits, (bits + 6) / 7);
  }
  *out = result;
  return 0;
}

/* read_sleb: a signed LEB128 of at most `bits` bits, sign-extended to 64. */
static int read_sleb(wp_reader *r, unsigned bits, int64_t *out, wp_error *err) {
  uint64_t result = 0;
  unsigned shift = 0;
  uint8_t b;
  for (;;) {
    if (r->pos >= r->end)
      return unexpected_end(r, err, 1);
    b = *r->pos;
    unsigned left = bits - shift;
    if (left < 7) {
      /* The sign bit and every bit above it must agree. */
      uint8_t mask = (uint8_t)((0x7fu << (left - 1)) & 0x7fu);
      if ((b & mask) != 0 && (b & mask) != mask)
        return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                            "integer too large: expected a %u-bit signed LEB128, its last byte 0x%02x does "
                            "not sign-extend it", bits, b);
    }
    result |= (uint64_t)(b & 0x7fu) << shift;
    r->pos++;
    shift += 7;
    if (!(b & 0x80))
      break;
    if (shift >= bits)
      return wp_error_set(err, WP_ERR_DECODE, wp_reader_offset(r),
                          "integer representation too long: expected a %u-bit LEB128 in at most %u bytes",
                          bits, (bits + 6) / 7);
  }
  if (shift < 64 && (b & 0x40))
    result |= ~(uint64_t)0 << shift;
  *out = (int64_t)result;
  return 0;
}

int wp_read_u32_slow(wp_reader *r, uint32_t *out, wp_error *err) {
  uint64_t v = 0;
  WP_TRY(read_uleb(r, 32, &v, err));
  *out = (uint32_t)v;
  return 0;
}

int wp_read_s32_slow(wp_reader *r, int32_t *out, wp_error *err) {
  int64_t v;
  WP_TRY(read_sleb(r, 32, &v, err));
  *out = (int32_t)v; /* in range: the checks above keep it within 32 bits */
  return 0;
}

int wp_read_s33(wp_reader *r, int64_t *out, wp_error *err) { return read_sleb(r, 33, out, err); }

int wp_read_s64(wp_reader *r, int64_t *out, wp_error *err) { return read_sleb(r, 64, out, err); }

int wp_read_bytes(wp_reader *r, uint32_t n, const uint8_t **out, wp_error *err) {
  if (n > (size_t)(r->end - r->pos))
    return unexpected_end(r, err, n);
  *out = r->pos;
  r->pos += n;
  return 0;
}

int wp_read_f32(wp_reader *r, uint32_t *bits, wp_error *err) {
  const uint8_t *p;
  WP_TRY(wp_read_bytes(r, 4, &p, err));
  *bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  return 0;
}

int wp_read_f64(wp_reader *r, uint64_t *bits, wp_error *err) {
  const uint8_t *p;
  WP_TRY(wp_read_bytes(r, 8, &p, err));
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  *bits = v;
  return 0;
}

/* utf8_bad: the first byte of s[0..n) that starts an invalid UTF-8 sequence
 * (overlong forms, surrogates and code points past U+10FFFF are invalid),
 * or NULL when all of it is valid. */
static const uint8_t *utf8_bad(const uint8_t *s, uint32_t n) {
  const uint8_t *end = s + n;
  while (s < end) {
    uint8_t c = *s;
    if (c < 0x80) {
      s++;
      continue;
    }
    uint32_t len, cp, min;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return s; /* a continuation byte, or 0xf8..0xff */
    }
    if ((size_t)(end - s) < len)
      return s;
    for (uint32_t k = 1; k < len; k++) {
      if ((s[k] & 0xc0) != 0x80)
        return s;
      cp = cp << 6 | (s[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return s;
    s += len;
  }
  return NULL;
}

int wp_read_name(wp_reader *r, const char **name, uint32_t *len, wp_error *err) {
  uint32_t n;
  const uint8_t *p;
  WP_TRY(wp_read_u32(r, &n, err));
  WP_TRY(wp_read_bytes(r, n, &p, err));
  const uint8_t *bad = utf8_bad(p, n);
  if (bad != NULL)
    return wp_error_set(err, WP_ERR_DECODE, (uint32_t)(bad - r->base),
                        "malformed UTF-8 encoding: expected a UTF-8 sequence, found one starting 0x%02x", *bad);
  *name = (const char *)p;
  *len = n;
  return 0;
}
