/* host.c: a minimal C host for the wasmprof core.
 *
 *   usage: host FILE.wasm EXPORT [ARG...]
 *
 * Reads a binary module, decodes and validates it (wp_module_new),
 * instantiates it with no imports (wp_instance_new), looks the export up by
 * name, converts each ARG according to the export's parameter types (i32 and
 * i64 as decimal or 0x-prefixed integers, signed or unsigned; f32 and f64 as
 * C floating-point literals, "nan" and "inf" included), calls it (wp_call)
 * and prints each result on its own line: integers as signed decimals,
 * floats with enough digits to round-trip.
 *
 * On any failure it prints what went wrong, of which kind and where (module
 * byte offset, function index) on stderr and exits with status 1.
 *
 * Build it with `make examples`; `make check-c` runs it on examples/fib.wasm.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmprof.h"

/* read_file: the whole file at path in a malloc'd buffer; NULL on failure
 * (errno says why). */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      uint8_t *grown = realloc(buf, cap);
      if (!grown) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  *len = n;
  return buf;
}

static const char *error_kind_name(wp_error_kind kind) {
  switch (kind) {
  case WP_OK: return "ok";
  case WP_ERR_DECODE: return "decode error";
  case WP_ERR_VALIDATE: return "validation error";
  case WP_ERR_LINK: return "link error";
  case WP_ERR_TRAP: return "trap";
  case WP_ERR_LIMIT: return "limit reached";
  case WP_ERR_HOST: return "host error";
  case WP_ERR_NOMEM: return "out of memory";
  case WP_ERR_ARG: return "bad argument";
  case WP_ERR_EXIT: return "guest exit (WASI proc_exit)";
  case WP_ERR_INTERRUPT: return "interrupted";
  }
  return "error";
}

/* report: print a wp_error as "host: <what>: <kind> [<trap name>]: <message>
 * (function N, offset 0xHEX)" on stderr. */
static void report(const char *what, const wp_error *err) {
  fprintf(stderr, "host: %s: %s", what, error_kind_name(err->kind));
  if (err->kind == WP_ERR_TRAP) fprintf(stderr, " [%s]", wp_trap_name(err->trap));
  fprintf(stderr, ": %s", err->message);
  if (err->func != WP_NO_FUNC) fprintf(stderr, " (function %" PRIu32 ")", err->func);
  if (err->offset != WP_NO_OFFSET) fprintf(stderr, " (offset 0x%" PRIx32 ")", err->offset);
  fputc('\n', stderr);
}

/* parse_arg: convert text to a slot of type t; false if it does not parse
 * or does not fit.  Integers accept the signed and the unsigned range. */
static bool parse_arg(const char *text, wp_valtype t, wp_slot *out) {
  char *end = NULL;
  errno = 0;
  switch (t) {
  case WP_I32:
  case WP_I64: {
    bool negative = text[0] == '-';
    uint64_t bits;
    if (negative) {
      long long v = strtoll(text, &end, 0);
      if (t == WP_I32 && v < INT32_MIN) return false;
      bits = (uint64_t)v;
    } else {
      unsigned long long v = strtoull(text, &end, 0);
      if (t == WP_I32 && v > UINT32_MAX) return false;
      bits = (uint64_t)v;
    }
    if (errno != 0 || end == text || *end != '\0') return false;
    *out = t == WP_I32 ? (bits & 0xffffffffu) : bits;
    return true;
  }
  case WP_F32: {
    float v = strtof(text, &end);
    if (end == text || *end != '\0') return false;
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    *out = bits;
    return true;
  }
  case WP_F64: {
    double v = strtod(text, &end);
    if (end == text || *end != '\0') return false;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    *out = bits;
    return true;
  }
  default:
    return false; /* v128 and references cannot be written on a command line */
  }
}

/* print_result: one result on its own line. */
static void print_result(wp_slot v, wp_valtype t) {
  switch (t) {
  case WP_I32: printf("%" PRId32 "\n", (int32_t)(uint32_t)v); break;
  case WP_I64: printf("%" PRId64 "\n", (int64_t)v); break;
  case WP_F32: {
    uint32_t bits = (uint32_t)v;
    float f;
    memcpy(&f, &bits, sizeof f);
    printf("%.9g\n", (double)f);
    break;
  }
  case WP_F64: {
    double d;
    memcpy(&d, &v, sizeof d);
    printf("%.17g\n", d);
    break;
  }
  case WP_FUNCREF:
  case WP_EXTERNREF:
    if (v == 0)
      printf("null\n");
    else
      printf("%s:0x%" PRIx64 "\n", wp_valtype_name(t), v);
    break;
  default: printf("<%s>\n", wp_valtype_name(t)); break;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s FILE.wasm EXPORT [ARG...]\n", argv[0]);
    return 2;
  }
  const char *path = argv[1], *export_name = argv[2];
  int status = 1;
  wp_error err;
  memset(&err, 0, sizeof err);
  wp_module *module = NULL;
  wp_exec *ex = NULL;
  wp_instance *inst = NULL;
  wp_slot *args = NULL, *results = NULL;

  /* 1. Read the binary and decode + validate it.  The core copies the
   *    bytes, so the buffer can go right away. */
  size_t len = 0;
  uint8_t *bytes = read_file(path, &len);
  if (!bytes) {
    fprintf(stderr, "host: cannot read %s: %s\n", path, strerror(errno));
    return 1;
  }
  module = wp_module_new(bytes, len, &err);
  free(bytes);
  if (!module) {
    report(path, &err);
    goto done;
  }

  /* 2. An execution context holds the value and frame stacks.  The start
   *    function, if any, runs on it during instantiation. */
  ex = wp_exec_new(NULL, &err);
  if (!ex) {
    report("wp_exec_new", &err);
    goto done;
  }
  inst = wp_instance_new(module, NULL, 0, ex, &err);
  if (!inst) {
    report("instantiate", &err);
    goto done;
  }

  /* 3. Find the export and check it is a function. */
  wp_import_value export_value;
  if (!wp_instance_export(inst, export_name, (uint32_t)strlen(export_name), &export_value)) {
    fprintf(stderr, "host: %s has no export named \"%s\"\n", path, export_name);
    goto done;
  }
  if (export_value.kind != WP_EXTERN_FUNC) {
    fprintf(stderr, "host: export \"%s\" is not a function\n", export_name);
    goto done;
  }
  wp_func *func = export_value.u.func;
  const wp_functype *type = wp_func_type(func);
  uint32_t nparams = wp_functype_param_count(type);
  uint32_t nresults = wp_functype_result_count(type);

  /* 4. Convert the arguments by the parameter types. */
  if ((uint32_t)(argc - 3) != nparams) {
    fprintf(stderr, "host: %s takes %" PRIu32 " argument(s) (", export_name, nparams);
    for (uint32_t i = 0; i < nparams; i++)
      fprintf(stderr, "%s%s", i ? ", " : "", wp_valtype_name(wp_functype_param(type, i)));
    fprintf(stderr, "), got %d\n", argc - 3);
    goto done;
  }
  args = calloc(nparams ? nparams : 1, sizeof *args);
  results = calloc(nresults ? nresults : 1, sizeof *results);
  if (!args || !results) {
    fprintf(stderr, "host: out of memory\n");
    goto done;
  }
  for (uint32_t i = 0; i < nparams; i++) {
    wp_valtype t = wp_functype_param(type, i);
    if (!parse_arg(argv[3 + i], t, &args[i])) {
      fprintf(stderr, "host: argument %" PRIu32 " (\"%s\") is not a valid %s\n", i + 1,
              argv[3 + i], wp_valtype_name(t));
      goto done;
    }
  }

  /* 5. Call.  On a trap, err says which trap, in which function and at which
   *    module offset; the frames are still on ex for a backtrace. */
  if (wp_call(ex, func, args, results, &err) != 0) {
    report(export_name, &err);
    goto done;
  }
  for (uint32_t i = 0; i < nresults; i++) print_result(results[i], wp_functype_result(type, i));
  status = 0;

done:
  free(args);
  free(results);
  if (inst) wp_instance_free(inst);
  if (ex) wp_exec_free(ex);
  if (module) wp_module_free(module);
  return status;
}
