/* fuzz_debuginfo.c: the name-section and DWARF readers on arbitrary custom
 * sections.
 *
 * Input: records [1 byte kind][4 bytes little-endian length][payload].
 * Kind 0 is a base module (a whole binary without custom sections); the
 * others name a custom section (kind % N_NAMES picks the name below) that
 * is appended to the base module.  Without a base module that decodes, a
 * built-in one with a few functions is used.  Seeds (fuzz/make_seeds.py)
 * are real modules split this way, so their DWARF addresses fit their code.
 *
 * Every lookup the readers serve is made: module, function, local, label,
 * global and other names; demangled function names; the source location and
 * source frames of code offsets across every function body; the warnings. */
#include <stdlib.h>
#include <string.h>

#include "module.h"
#include "wasmprof.h"

static const char *const names[] = {
    "name", ".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str",
    ".debug_ranges", ".debug_rnglists", ".debug_addr", ".debug_str_offsets", ".debug_loc", "producers",
};
#define N_NAMES (sizeof names / sizeof names[0])
#define MAX_LOOKUPS 4096

/* (module (func) (func (param i32) (local i64) nop nop) (func (result i32) i32.const 1)) */
static const uint8_t base_module[] = { /* wat2wasm's */
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x03, 0x60, 0x00, 0x00, 0x60, 0x01,
    0x7f, 0x00, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x04, 0x03, 0x00, 0x01, 0x02, 0x0a, 0x10, 0x03, 0x02,
    0x00, 0x0b, 0x06, 0x01, 0x01, 0x7e, 0x01, 0x01, 0x0b, 0x04, 0x00, 0x41, 0x01, 0x0b,
};

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
  if (n == 0) return; /* an empty custom payload: memcpy to a still-NULL buffer is UB even for 0 bytes */
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_uleb(buf *b, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    put(b, &byte, 1);
  } while (v);
}

static void put_custom(buf *b, const char *name, const uint8_t *payload, size_t n) {
  size_t name_len = strlen(name);
  buf len = {0};
  put_uleb(&len, name_len);
  uint8_t id = 0;
  put(b, &id, 1);
  put_uleb(b, len.n + name_len + n);
  put(b, len.p, len.n);
  put(b, name, name_len);
  put(b, payload, n);
  free(len.p);
}

static void lookups(const wp_module *m) {
  (void)wp_module_names_warning(m);
  (void)wp_module_dwarf_warning(m);
  const char *s;
  uint32_t len;
  uint32_t nfuncs = m->nfuncs;
  wp_module_name(m, WP_NAME_MODULE, 0, 0, &s, &len);
  for (uint32_t k = WP_NAME_FUNC; k <= WP_NAME_DATA; k++)
    for (uint32_t i = 0; i < 4; i++)
      for (uint32_t j = 0; j < 3; j++) wp_module_name(m, (wp_name_kind)k, i, j, &s, &len);
  uint32_t budget = MAX_LOOKUPS;
  for (uint32_t f = 0; f < nfuncs; f++) {
    (void)wp_module_func_display_name(m, f);
    uint32_t start = wp_module_func_body_offset(m, f);
    if (start == WP_NO_OFFSET) continue;
    for (uint32_t off = start; budget > 0 && wp_module_func_at(m, off) == f; off++, budget--) {
      wp_source_location loc;
      if (wp_module_source_location(m, off, &loc) && (!loc.file || strlen(loc.file) > (1u << 24))) abort();
      wp_source_frame frames[8];
      uint32_t n = wp_module_source_frames(m, off, frames, 8);
      if (n > 8) abort();
      for (uint32_t i = 0; i < n; i++) {
        if (frames[i].function) (void)strlen(frames[i].function);
        if (frames[i].file) (void)strlen(frames[i].file);
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  buf customs = {0};
  const uint8_t *base = NULL;
  size_t base_len = 0;
  size_t i = 0;
  while (i + 5 <= size) {
    uint8_t kind = data[i];
    uint32_t n = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 | (uint32_t)data[i + 3] << 16 | (uint32_t)data[i + 4] << 24;
    i += 5;
    if (n > size - i) n = (uint32_t)(size - i);
    if (kind == 0 && !base) {
      base = data + i;
      base_len = n;
    } else if (kind != 0) {
      put_custom(&customs, names[kind % N_NAMES], data + i, n);
    }
    i += n;
  }
  wp_error err = {0};
  for (int attempt = 0; attempt < 2; attempt++) {
    buf module = {0};
    if (attempt == 0 && base)
      put(&module, base, base_len);
    else
      put(&module, base_module, sizeof base_module);
    if (customs.n) put(&module, customs.p, customs.n);
    wp_module *m = wp_module_new(module.p, module.n, &err);
    free(module.p);
    if (m) {
      lookups(m);
      wp_module_free(m);
      break;
    }
    if (attempt == 1) abort(); /* the built-in module with custom sections must load */
  }
  free(customs.p);
  return 0;
}
