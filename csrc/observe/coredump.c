/* coredump.c: write the guest state left by a trap as a WebAssembly
 * coredump (tool-conventions Coredump.md).
 *
 * The file is a wasm binary holding:
 *   custom "core"           0x00 executable-name
 *   custom "coremodules"    vec(0x00 module-name): each distinct module on the stack
 *   custom "coreinstances"  vec(0x00 moduleidx vec(memidx) vec(globalidx)):
 *                           each distinct instance on the stack, innermost first
 *   custom "corestack"      0x00 "main" vec(frame), youngest (innermost) frame first;
 *                           frame = 0x00 instanceidx funcidx codeoffset
 *                                   vec(local value) vec(operand value)
 *   memory section          every memory of those instances (current size as min)
 *   global section          every global of those instances, as immutable constants
 *   data section            active segments holding the non-zero bytes of the memories
 *
 * Choices the format leaves open (README "Coredumps"):
 *   - codeoffset is relative to the function body's start: the first byte
 *     after the body-size LEB128 (wp_func_body.body_start), where the local
 *     declarations begin; wasmtime counts from the same place.  So the
 *     module offset is body_start + codeoffset.
 *   - A frame's locals are all of them (parameters, then declared locals).
 *     Its operand stack is the values the frame itself owns: for the frame
 *     that trapped, the operands of the trapping instruction (those it had
 *     not consumed yet); for a caller, what lies below the callee's
 *     arguments (the arguments are the callee's parameters).
 *   - Values: i32/i64 as signed LEB128, f32/f64 as little-endian IEEE bits
 *     (what the format's "n:i32" etc. mean in the wasm binary grammar, and
 *     what wasmparser reads).  References (and v128) have no encoding in the
 *     format: they are written as 0x01 "missing".  The operand stack's slots
 *     carry no type at run time; the types come from re-walking the
 *     function's validation up to the frame's instruction
 *     (wp_body_stack_types); should that ever fail, the slots are written
 *     as i64 bit patterns.
 *   - Host frames are skipped (the format has no way to say "a host
 *     function was here"): the guest frames on both sides remain.
 *   - Globals holding references are written as ref.null, as wasmtime does.
 *   - Memory is cut into 4 KiB chunks, each trimmed of leading and trailing
 *     zeros and dropped when all zero (wasmtime's scheme: few segments,
 *     little zero padding).
 *
 * The file is written to a temporary file in the same directory, flushed to
 * disk, then renamed over `path`: a reader never sees a partial coredump. */
#define _DEFAULT_SOURCE /* mkstemp, fsync */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "runtime.h"

#define CHUNK 4096u

/* ---- output: a sink that writes to a FILE or only counts ---- */

typedef struct sink {
  FILE *f;         /* NULL: only count */
  uint64_t n;      /* bytes put */
  bool failed;
} sink;

static void put(sink *s, const void *p, size_t n) {
  if (s->f && !s->failed && n && fwrite(p, 1, n, s->f) != n) s->failed = true;
  s->n += n;
}

static void put_byte(sink *s, uint8_t b) { put(s, &b, 1); }

static void put_u32(sink *s, uint64_t v) { /* unsigned LEB128 */
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    put_byte(s, (uint8_t)(b | (v ? 0x80 : 0)));
  } while (v);
}

static void put_sleb(sink *s, int64_t v) {
  for (;;) {
    uint8_t b = (uint8_t)(v & 0x7f);
    v >>= 7; /* arithmetic shift: gcc and clang guarantee it for signed types */
    bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
    put_byte(s, (uint8_t)(b | (done ? 0 : 0x80)));
    if (done) return;
  }
}

static void put_le(sink *s, uint64_t bits, unsigned nbytes) {
  uint8_t b[8];
  for (unsigned i = 0; i < nbytes; i++) b[i] = (uint8_t)(bits >> (8 * i));
  put(s, b, nbytes);
}

static void put_name(sink *s, const char *p, size_t n) {
  put_u32(s, n);
  put(s, p, n);
}

/* ---- what goes in: the guest frames and the objects they reach ---- */

typedef struct dump_frame {
  const wp_frame *frame;
  uint32_t instance; /* index in dump.instances */
} dump_frame;

/* The operand types at (function, offset), remembered: a deep recursion
 * has thousands of frames at the same call site, and every section body
 * runs twice (count, then write); re-walking a long body for each frame
 * would cost frames x body length. Direct-mapped, TYPE_CACHE entries. */
#define TYPE_CACHE 256u
typedef struct type_entry {
  const wp_func *func;
  uint32_t offset;
  int rc;
  uint8_t *types;
  uint32_t ntypes;
} type_entry;

typedef struct dump {
  const char *executable;
  size_t executable_len;
  dump_frame *frames; /* innermost first, guest frames only */
  uint32_t nframes;
  const wp_instance **instances;
  uint32_t ninstances;
  const wp_module **modules;
  uint32_t nmodules;
  const wp_memory **memories;
  uint32_t nmemories;
  const wp_global **globals;
  uint32_t nglobals;
  type_entry *type_cache; /* TYPE_CACHE entries */
} dump;

/* index_of: the index of p in arr[0..*n), appending it when absent
 * (arr has room for every candidate, so it never grows here). */
static uint32_t index_of(const void **arr, uint32_t *n, const void *p) {
  for (uint32_t i = 0; i < *n; i++)
    if (arr[i] == p) return i;
  arr[*n] = p;
  return (*n)++;
}

static void dump_free(dump *d) {
  if (d->type_cache)
    for (uint32_t i = 0; i < TYPE_CACHE; i++) free(d->type_cache[i].types);
  free(d->type_cache);
  free(d->frames);
  free(d->instances);
  free(d->modules);
  free(d->memories);
  free(d->globals);
}

static int dump_collect(dump *d, const wp_exec *ex, wp_error *err) {
  uint32_t total = 0;
  while (wp_exec_frame(ex, total)) total++;
  d->frames = wp_calloc(total ? total : 1, sizeof *d->frames);
  d->instances = wp_calloc(total ? total : 1, sizeof *d->instances);
  d->modules = wp_calloc(total ? total : 1, sizeof *d->modules);
  d->type_cache = wp_calloc(TYPE_CACHE, sizeof *d->type_cache);
  if (!d->frames || !d->instances || !d->modules || !d->type_cache) goto oom;
  for (uint32_t i = total; i-- > 0;) {
    const wp_frame *f = wp_exec_frame(ex, i);
    if (!f->func || !f->func->inst || !f->func->body) continue; /* host frame */
    uint32_t k = index_of((const void **)d->instances, &d->ninstances, f->func->inst);
    d->frames[d->nframes++] = (dump_frame){.frame = f, .instance = k};
  }
  uint32_t nmem = 0, nglob = 0;
  for (uint32_t i = 0; i < d->ninstances; i++) {
    nmem += d->instances[i]->module->nmems;
    nglob += d->instances[i]->module->nglobals;
  }
  d->memories = wp_calloc(nmem ? nmem : 1, sizeof *d->memories);
  d->globals = wp_calloc(nglob ? nglob : 1, sizeof *d->globals);
  if (!d->memories || !d->globals) goto oom;
  for (uint32_t i = 0; i < d->ninstances; i++) {
    const wp_instance *inst = d->instances[i];
    index_of((const void **)d->modules, &d->nmodules, inst->module);
    for (uint32_t j = 0; j < inst->module->nmems; j++)
      index_of((const void **)d->memories, &d->nmemories, inst->mems[j]);
    for (uint32_t j = 0; j < inst->module->nglobals; j++)
      index_of((const void **)d->globals, &d->nglobals, inst->globals[j]);
  }
  return 0;
oom:
  return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory collecting a coredump");
}

/* module_name: the module name from the name section (subsection 0), if any. */
static bool module_name(const wp_module *m, const char **name, uint32_t *len) {
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const wp_custom_desc *c = &m->customs[i];
    if (c->name_len != 4 || memcmp(c->name, "name", 4) != 0) continue;
    wp_reader r = {m->bytes, m->bytes + c->data_start, m->bytes + c->data_start + c->data_len};
    uint8_t id;
    uint32_t size;
    const uint8_t *sub;
    /* A malformed name section only means "no name". */
    while (wp_read_u8(&r, &id, NULL) == 0 && wp_read_u32(&r, &size, NULL) == 0 &&
           wp_read_bytes(&r, size, &sub, NULL) == 0) {
      if (id != 0) continue;
      wp_reader nr = {m->bytes, sub, sub + size};
      return wp_read_name(&nr, name, len, NULL) == 0;
    }
  }
  return false;
}

/* display_name: the module's own name, else the base name of the file it
 * was read from (wp_module_set_file_name). */
static bool display_name(const wp_module *m, const char **name, uint32_t *len) {
  if (module_name(m, name, len)) return true;
  const char *file = wp_module_file_name(m);
  if (!file || !*file) return false;
  const char *base = strrchr(file, '/');
  *name = base ? base + 1 : file;
  *len = (uint32_t)strlen(*name);
  return *len > 0;
}

/* ---- sections ---- */

typedef void (*body_fn)(sink *s, const dump *d);

/* emit_section: id, size, then the body (run twice: once to count). */
static void emit_section(sink *s, uint8_t id, const char *custom_name, body_fn body, const dump *d) {
  sink count = {0};
  if (custom_name) put_name(&count, custom_name, strlen(custom_name));
  body(&count, d);
  if (count.n > UINT32_MAX) { /* unencodable (a section of more than 4 GiB) */
    s->failed = true;
    errno = EFBIG;
    return;
  }
  put_byte(s, id);
  put_u32(s, count.n);
  if (custom_name) put_name(s, custom_name, strlen(custom_name));
  body(s, d);
}

static void body_core(sink *s, const dump *d) {
  put_byte(s, 0);
  put_name(s, d->executable, d->executable_len);
}

static void body_coremodules(sink *s, const dump *d) {
  put_u32(s, d->nmodules);
  for (uint32_t i = 0; i < d->nmodules; i++) {
    const char *name;
    uint32_t len;
    char fallback[48];
    if (!display_name(d->modules[i], &name, &len)) {
      snprintf(fallback, sizeof fallback, "<anonymous-module-%u>", i);
      name = fallback;
      len = (uint32_t)strlen(fallback);
    }
    put_byte(s, 0);
    put_name(s, name, len);
  }
}

static uint32_t find(const void *const *arr, uint32_t n, const void *p) {
  for (uint32_t i = 0; i < n; i++)
    if (arr[i] == p) return i;
  return 0; /* not reached: every object was collected */
}

static void body_coreinstances(sink *s, const dump *d) {
  put_u32(s, d->ninstances);
  for (uint32_t i = 0; i < d->ninstances; i++) {
    const wp_instance *inst = d->instances[i];
    const wp_module *m = inst->module;
    put_byte(s, 0);
    put_u32(s, find((const void *const *)d->modules, d->nmodules, m));
    put_u32(s, m->nmems);
    for (uint32_t j = 0; j < m->nmems; j++)
      put_u32(s, find((const void *const *)d->memories, d->nmemories, inst->mems[j]));
    put_u32(s, m->nglobals);
    for (uint32_t j = 0; j < m->nglobals; j++)
      put_u32(s, find((const void *const *)d->globals, d->nglobals, inst->globals[j]));
  }
}

static void put_value(sink *s, uint8_t type, wp_slot v) {
  switch (type) {
  case WP_I32: put_byte(s, WP_I32); put_sleb(s, (int32_t)(uint32_t)v); break;
  case WP_I64: put_byte(s, WP_I64); put_sleb(s, (int64_t)v); break;
  case WP_F32: put_byte(s, WP_F32); put_le(s, v, 4); break;
  case WP_F64: put_byte(s, WP_F64); put_le(s, v, 8); break;
  default: put_byte(s, 0x01); break; /* references, v128: no encoding; "missing" */
  }
}

/* stack_types: wp_body_stack_types through the cache; the types stay owned by it. */
static int stack_types(const dump *d, const wp_func *fn, uint32_t offset, const uint8_t **types, uint32_t *ntypes) {
  type_entry *e = &d->type_cache[((uintptr_t)fn / sizeof(wp_func) * 31u + offset) % TYPE_CACHE];
  if (e->func != fn || e->offset != offset) {
    free(e->types);
    const wp_module *m = fn->inst->module;
    *e = (type_entry){.func = fn, .offset = offset};
    e->rc = wp_body_stack_types(m, fn->index - m->nfuncs_imported, offset, &e->types, &e->ntypes, NULL);
  }
  *types = e->types;
  *ntypes = e->rc == 0 ? e->ntypes : 0;
  return e->rc;
}

static void put_frame(sink *s, const dump *d, const dump_frame *df) {
  const wp_frame *f = df->frame;
  const wp_func *fn = f->func;
  uint32_t nparams = fn->type->nparams;
  uint32_t nlocals = nparams + fn->body->nlocals;
  uint32_t offset = f->pc ? wp_frame_offset(f) : WP_NO_OFFSET; /* whichever loop variant ran it */
  put_byte(s, 0);
  put_u32(s, df->instance);
  put_u32(s, fn->index);
  put_u32(s, offset == WP_NO_OFFSET ? 0 : offset - fn->body->body_start);
  put_u32(s, nlocals);
  for (uint32_t i = 0; i < nlocals; i++) {
    /* Declared locals are zeroed on entry; a frame that never started has none yet. */
    if (i >= nparams && offset == WP_NO_OFFSET) put_byte(s, 0x01);
    else put_value(s, fn->body->local_types[i], f->fp[i]);
  }
  uint32_t height = 0;
  if (offset != WP_NO_OFFSET && f->sp && f->sp > f->fp + nlocals) height = (uint32_t)(f->sp - (f->fp + nlocals));
  const uint8_t *types = NULL;
  uint32_t ntypes = 0;
  if (height) stack_types(d, fn, offset, &types, &ntypes);
  put_u32(s, height);
  for (uint32_t i = 0; i < height; i++) {
    const wp_slot v = f->fp[nlocals + i];
    if (ntypes >= height && types[i]) put_value(s, types[i], v);
    else put_value(s, WP_I64, v); /* types unknown: the raw slot */
  }
}

static void body_corestack(sink *s, const dump *d) {
  put_byte(s, 0);
  put_name(s, "main", 4);
  put_u32(s, d->nframes);
  for (uint32_t i = 0; i < d->nframes; i++) put_frame(s, d, &d->frames[i]);
}

static void body_memory(sink *s, const dump *d) {
  put_u32(s, d->nmemories);
  for (uint32_t i = 0; i < d->nmemories; i++) {
    const wp_memory *mem = d->memories[i];
    put_byte(s, mem->limits.has_max ? 1 : 0);
    put_u32(s, mem->size / WP_PAGE_SIZE);
    if (mem->limits.has_max) put_u32(s, mem->limits.max);
  }
}

static void put_const(sink *s, uint8_t type, const wp_slot v[2]) {
  switch (type) {
  case WP_I32: put_byte(s, 0x41); put_sleb(s, (int32_t)(uint32_t)v[0]); break;
  case WP_I64: put_byte(s, 0x42); put_sleb(s, (int64_t)v[0]); break;
  case WP_F32: put_byte(s, 0x43); put_le(s, v[0], 4); break;
  case WP_F64: put_byte(s, 0x44); put_le(s, v[0], 8); break;
  case WP_V128: put_byte(s, 0xfd); put_u32(s, 12); put_le(s, v[0], 8); put_le(s, v[1], 8); break;
  default: put_byte(s, 0xd0); put_byte(s, type); break; /* ref.null */
  }
  put_byte(s, 0x0b);
}

static void body_global(sink *s, const dump *d) {
  put_u32(s, d->nglobals);
  for (uint32_t i = 0; i < d->nglobals; i++) {
    const wp_global *g = d->globals[i];
    put_byte(s, g->type);
    put_byte(s, 0); /* immutable */
    put_const(s, g->type, g->value);
  }
}

/* for_each_chunk: call fn for every non-zero chunk of memory, trimmed. */
static void body_data_segments(sink *s, const dump *d, bool count_only) {
  uint64_t nsegs = 0;
  for (uint32_t i = 0; i < d->nmemories; i++) {
    const uint8_t *data = d->memories[i]->data;
    uint64_t size = d->memories[i]->size;
    for (uint64_t at = 0; at < size; at += CHUNK) {
      uint64_t end = at + CHUNK < size ? at + CHUNK : size;
      uint64_t lo = at, hi = end;
      while (lo < hi && !data[lo]) lo++;
      if (lo == hi) continue;
      while (!data[hi - 1]) hi--;
      nsegs++;
      if (count_only) continue;
      if (i == 0) {
        put_byte(s, 0x00);
      } else {
        put_byte(s, 0x02);
        put_u32(s, i);
      }
      put_byte(s, 0x41);
      put_sleb(s, (int32_t)(uint32_t)lo); /* i32.const takes the offset's bits */
      put_byte(s, 0x0b);
      put_u32(s, hi - lo);
      put(s, data + lo, hi - lo);
    }
  }
  if (count_only) put_u32(s, nsegs);
}

static void body_data(sink *s, const dump *d) {
  body_data_segments(s, d, true);
  body_data_segments(s, d, false);
}

static int write_all(FILE *f, const dump *d) {
  sink s = {.f = f};
  static const uint8_t header[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  put(&s, header, sizeof header);
  emit_section(&s, 0, "core", body_core, d);
  emit_section(&s, 0, "coremodules", body_coremodules, d);
  emit_section(&s, 0, "coreinstances", body_coreinstances, d);
  emit_section(&s, 0, "corestack", body_corestack, d);
  if (d->nmemories) emit_section(&s, 5, NULL, body_memory, d);
  if (d->nglobals) emit_section(&s, 6, NULL, body_global, d);
  if (d->nmemories) emit_section(&s, 11, NULL, body_data, d);
  return s.failed ? -1 : 0;
}

/* ---- the file ---- */

static int io_error(wp_error *err, const char *what, const char *path) {
  return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "cannot %s coredump %s: %s", what, path, strerror(errno));
}

/* write_atomically: a temporary file beside path, synced, then renamed. */
static int write_atomically(const char *path, const dump *d, wp_error *err) {
  size_t len = strlen(path);
  char *tmp = malloc(len + 16);
  if (!tmp) return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory writing a coredump");
  snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp); /* mode 0600: the dump holds the guest's memory */
  if (fd < 0) {
    io_error(err, "create", path);
    free(tmp);
    return -1;
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    io_error(err, "write", path);
    close(fd);
    goto fail;
  }
  int rc = write_all(f, d);
  if (rc == 0 && fflush(f) != 0) rc = -1;
  if (rc == 0 && fsync(fileno(f)) != 0) rc = -1;
  if (rc != 0) io_error(err, "write", path);
  if (fclose(f) != 0 && rc == 0) rc = io_error(err, "write", path);
  if (rc != 0) goto fail;
  if (rename(tmp, path) != 0) {
    io_error(err, "rename into place", path);
    goto fail;
  }
  free(tmp);
  return 0;
fail:
  unlink(tmp);
  free(tmp);
  return -1;
}

int wp_coredump_write(const wp_exec *ex, const char *path, const char *executable_name, wp_error *err) {
  if (!ex || !path || !*path)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "wp_coredump_write needs a context and a path");
  dump d = {0};
  int rc = dump_collect(&d, ex, err);
  if (rc == 0) {
    uint32_t len = 0;
    if (executable_name) {
      d.executable = executable_name;
      d.executable_len = strlen(executable_name);
    } else if (d.ninstances && display_name(d.instances[0]->module, &d.executable, &len)) {
      d.executable_len = len;
    } else {
      d.executable = "wasm";
      d.executable_len = 4;
    }
    rc = write_atomically(path, &d, err);
  }
  dump_free(&d);
  return rc;
}
