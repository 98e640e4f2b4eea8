/* threads_host.c: the thread contract of wasmprof.h ("Threads") from
 * pthreads, through the public API only.  Built by meson.build, run by
 * tests/c_hosts/test_threads_c.py (also as a ThreadSanitizer build,
 * build/tsan, where any data race fails the run):
 *
 *   threads_host MODULE.wasm LINKED.wasm
 *
 * The modules are tests/helpers/thread_modules.py's.  MODULE exports fib
 * (i32)->i32, fill_sum (i32 n, i32 k)->i64 (k*n, adding up k read back from
 * memory 0 n times), bump ()->i32 (a mutable global, exported as
 * "counter"), spin (an endless loop) and chain (i32)->i32, the head of a
 * call chain through many functions (each translated on its first call:
 * lazy translation from several threads at once).  LINKED imports
 * MODULE's fib and puts it in its own table (so each of its instances keeps
 * the MODULE instance alive: reference counts changed from several threads).
 *
 * Every check compares with what the same calls return when run serially
 * on a module of its own, first.  Prints "ok <check>" per passed check;
 * exits 1 at the first failure. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasmprof.h"

#define NTHREADS 8
#define ROUNDS 3

#define CHECK(cond, what)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "FAILED %s (%s:%d): %s\n", what, __FILE__, __LINE__, #cond); \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static uint8_t *bytes, *linked_bytes;
static size_t nbytes, nlinked;

static wp_module *load(const uint8_t *b, size_t n) {
  wp_error err;
  wp_module *m = wp_module_new(b, n, &err);
  if (!m) {
    fprintf(stderr, "module: %s\n", err.message);
    exit(1);
  }
  return m;
}

static wp_exec *new_exec(void) {
  wp_error err;
  wp_exec *ex = wp_exec_new(NULL, &err);
  CHECK(ex != NULL, "wp_exec_new");
  return ex;
}

static wp_instance *instantiate(const wp_module *m, const wp_import_value *imports, uint32_t n, wp_exec *ex) {
  wp_error err;
  wp_instance *inst = wp_instance_new(m, imports, n, ex, &err);
  if (!inst) {
    fprintf(stderr, "instance: %s\n", err.message);
    exit(1);
  }
  return inst;
}

static wp_func *export_func(const wp_instance *inst, const char *name) {
  wp_import_value v;
  if (!wp_instance_export(inst, name, (uint32_t)strlen(name), &v) || v.kind != WP_EXTERN_FUNC) {
    fprintf(stderr, "no export %s\n", name);
    exit(1);
  }
  return v.u.func;
}

static wp_slot call2(wp_exec *ex, const wp_instance *inst, const char *name, wp_slot a, wp_slot b) {
  wp_error err;
  wp_slot args[2] = {a, b}, result = 0;
  if (wp_call(ex, export_func(inst, name), args, &result, &err) != 0) {
    fprintf(stderr, "%s: %s\n", name, err.message);
    exit(1);
  }
  return result;
}

static wp_slot call1(wp_exec *ex, const wp_instance *inst, const char *name, wp_slot arg) {
  return call2(ex, inst, name, arg, 0);
}

/* ---- 1. one module, an instance per thread, every loop variant ---- */

/* How a thread runs its calls: the plain loop, with a tick limit (default
 * prices, or its own prices: the same function's code then exists twice,
 * wasmprof.h), or profiled. */
enum mode { PLAIN, COUNTED, PRICED, PROFILED, NMODES };
static const char *mode_names[NMODES] = {"plain", "counted", "priced", "profiled"};

typedef struct outcome {
  wp_slot fib, sum, chain;
  uint64_t ticks;
} outcome;

static wp_cost_model *prices; /* i32.add costs 3, each call 2: read-only, shared by the PRICED threads */

static outcome run_calls(const wp_module *m, enum mode mode) {
  wp_exec *ex = new_exec();
  wp_instance *inst = instantiate(m, NULL, 0, ex);
  wp_error err;
  if (mode == COUNTED) wp_exec_set_tick_limit(ex, 1u << 30, NULL);
  if (mode == PRICED) wp_exec_set_tick_limit(ex, 1u << 30, prices);
  if (mode == PROFILED) CHECK(wp_profile_start(ex, NULL, &err) == 0, "wp_profile_start");
  outcome o;
  o.fib = call1(ex, inst, "fib", 17);
  o.sum = call2(ex, inst, "fill_sum", 2000, 7);
  o.chain = call1(ex, inst, "chain", 5);
  o.ticks = wp_exec_ticks(ex);
  if (mode == PROFILED) {
    wp_profile *p = wp_profile_stop(ex);
    CHECK(p && wp_profile_total_ticks(p) == o.ticks, "profile total = ticks");
    CHECK(wp_profile_node_count(p) > 40, "profile has the chain's nodes");
    wp_profile_free(p);
  }
  wp_instance_free(inst);
  wp_exec_free(ex);
  return o;
}

static outcome expected[NMODES];
static wp_module *shared;
static pthread_barrier_t start_line;

static void *module_worker(void *arg) {
  enum mode mode = (enum mode)((intptr_t)arg % NMODES);
  pthread_barrier_wait(&start_line); /* all at once: the first calls translate concurrently */
  for (int r = 0; r < ROUNDS; r++) {
    outcome o = run_calls(shared, mode);
    CHECK(o.fib == expected[mode].fib && o.sum == expected[mode].sum && o.chain == expected[mode].chain,
          "same results as serial");
    CHECK(o.ticks == expected[mode].ticks, "same ticks as serial");
  }
  return NULL;
}

static void run_threads(void *(*fn)(void *)) {
  pthread_t t[NTHREADS];
  pthread_barrier_init(&start_line, NULL, NTHREADS);
  for (intptr_t i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, fn, (void *)i) == 0, "pthread_create");
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start_line);
}

static void check_shared_module(void) {
  wp_module *alone = load(bytes, nbytes);
  for (int mode = 0; mode < NMODES; mode++) expected[mode] = run_calls(alone, (enum mode)mode);
  wp_module_free(alone);
  CHECK(expected[PRICED].ticks > expected[COUNTED].ticks, "other prices, other ticks");
  shared = load(bytes, nbytes);
  run_threads(module_worker);
  printf("ok shared module: %d threads x %d rounds, modes", NTHREADS, ROUNDS);
  for (int mode = 0; mode < NMODES; mode++)
    printf(" %s=%llu", mode_names[mode], (unsigned long long)expected[mode].ticks);
  printf(" ticks\n");
}

/* ---- 2. one instance, called by every thread in turn ---- */

#define TURNS 200
static wp_instance *common;
static pthread_mutex_t common_lock = PTHREAD_MUTEX_INITIALIZER;

static void *instance_worker(void *arg) {
  wp_exec *ex = new_exec(); /* contexts are per thread; the instance is handed over under the lock */
  wp_slot n = 100 + (wp_slot)(intptr_t)arg, k = 1 + (wp_slot)(intptr_t)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < TURNS; i++) {
    pthread_mutex_lock(&common_lock);
    call1(ex, common, "bump", 0);
    wp_slot sum = call2(ex, common, "fill_sum", n, k);
    pthread_mutex_unlock(&common_lock);
    CHECK(sum == k * n, "fill_sum on the shared instance");
  }
  wp_exec_free(ex);
  return NULL;
}

static void check_shared_instance(void) {
  wp_exec *ex = new_exec();
  common = instantiate(shared, NULL, 0, ex);
  run_threads(instance_worker);
  wp_import_value g;
  CHECK(wp_instance_export(common, "counter", 7, &g) && g.kind == WP_EXTERN_GLOBAL, "counter export");
  CHECK(wp_global_get(g.u.global) == NTHREADS * TURNS, "every bump counted");
  printf("ok shared instance: %d threads x %d turns under the host's lock, counter %llu\n", NTHREADS, TURNS,
         (unsigned long long)wp_global_get(g.u.global));
  wp_instance_free(common);
  wp_exec_free(ex);
}

/* ---- 3. interrupts and poll hooks from another thread ---- */

static wp_exec *spinners[NTHREADS];
static atomic_int spinning;

static int poll_stop(wp_exec *ex, void *ctx, wp_error *err) {
  (void)ex;
  (void)ctx;
  memset(err, 0, sizeof *err);
  err->kind = WP_ERR_HOST;
  snprintf(err->message, sizeof err->message, "stopped by the poll hook");
  return 1;
}

static void *spin_worker(void *arg) {
  intptr_t i = (intptr_t)arg;
  wp_exec *ex = spinners[i];
  wp_instance *inst = instantiate(shared, NULL, 0, ex);
  if (i % 2) wp_exec_set_poll(ex, poll_stop, NULL);
  if (i % 4 >= 2) wp_exec_set_tick_limit(ex, 1ull << 62, NULL); /* the counted loop checks too */
  wp_error err;
  atomic_fetch_add(&spinning, 1);
  int rc = wp_call(ex, export_func(inst, "spin"), NULL, NULL, &err);
  CHECK(rc != 0 && err.kind == (i % 2 ? WP_ERR_HOST : WP_ERR_INTERRUPT), "spin stopped from another thread");
  CHECK(wp_exec_frame_count(ex) == 0 && wp_exec_frame(ex, 0) != NULL, "the stopped frames stay readable");
  CHECK(wp_frame_offset(wp_exec_frame(ex, 0)) != WP_NO_OFFSET, "the stopped frame has an offset");
  CHECK(call1(ex, inst, "fib", 10) == 55, "the instance stays usable");
  wp_instance_free(inst);
  return NULL;
}

static void check_interrupts(void) {
  for (int i = 0; i < NTHREADS; i++) spinners[i] = new_exec();
  pthread_t t[NTHREADS];
  for (intptr_t i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, spin_worker, (void *)i) == 0, "create");
  while (atomic_load(&spinning) < NTHREADS) {
    struct timespec ms = {0, 1000000L};
    nanosleep(&ms, NULL);
  }
  for (int i = 0; i < NTHREADS; i++) {
    if (i % 2) wp_exec_request_poll(spinners[i]);
    else wp_exec_interrupt(spinners[i]);
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < NTHREADS; i++) wp_exec_free(spinners[i]);
  printf("ok interrupts: %d spinning threads stopped from the main thread\n", NTHREADS);
}

/* ---- 4. names and lines looked up by every thread at once ---- */

static const char *serial_names[256];
static uint32_t nfuncs;

static void *names_worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start_line);
  wp_module *m = shared;
  CHECK(wp_module_names_warning(m) == NULL, "no names warning");
  wp_source_location loc;
  CHECK(!wp_module_source_location(m, wp_module_func_body_offset(m, 0), &loc), "no DWARF lines");
  for (uint32_t f = 0; f < nfuncs; f++) {
    const char *name = wp_module_func_display_name(m, f);
    CHECK(name && strcmp(name, serial_names[f]) == 0, "same display name as serial");
  }
  return NULL;
}

static void check_names(void) {
  wp_module *alone = load(bytes, nbytes);
  nfuncs = 0;
  for (uint32_t f = 0; f < 256 && wp_module_func_display_name(alone, f); f++) {
    serial_names[f] = strdup(wp_module_func_display_name(alone, f));
    nfuncs++;
  }
  CHECK(nfuncs > 40, "the module's functions have names");
  wp_module_free(alone);
  wp_module_free(shared); /* a fresh one: the first lookups build the tables, concurrently */
  shared = load(bytes, nbytes);
  run_threads(names_worker);
  for (uint32_t f = 0; f < nfuncs; f++) free((void *)serial_names[f]);
  printf("ok names: %u functions looked up by %d threads at once\n", nfuncs, NTHREADS);
}

/* ---- 5. linked instances made and freed on every thread ---- */

#define LINKED_PER_THREAD 50
static wp_module *linked;
static wp_instance *provider;

static void *linked_worker(void *arg) {
  (void)arg;
  wp_exec *ex = new_exec();
  wp_import_value fib = {.kind = WP_EXTERN_FUNC, .u.func = export_func(provider, "fib")};
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < LINKED_PER_THREAD; i++) {
    wp_instance *inst = instantiate(linked, &fib, 1, ex);
    CHECK(call1(ex, inst, "fib_via_table", 12) == 144, "a call through the table into the provider");
    wp_instance_free(inst); /* drops its reference to the provider */
  }
  wp_exec_free(ex);
  return NULL;
}

static void check_linked(void) {
  linked = load(linked_bytes, nlinked);
  wp_exec *ex = new_exec();
  provider = instantiate(shared, NULL, 0, ex);
  run_threads(linked_worker);
  CHECK(call1(ex, provider, "fib", 12) == 144, "the provider is alive");
  wp_instance_free(provider);
  wp_module_free(linked);
  wp_exec_free(ex);
  printf("ok linked instances: %d threads x %d made and freed\n", NTHREADS, LINKED_PER_THREAD);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODULE.wasm LINKED.wasm\n", argv[0]);
    return 2;
  }
  bytes = read_all(argv[1], &nbytes);
  linked_bytes = read_all(argv[2], &nlinked);
  CHECK(bytes && linked_bytes, "read the modules");
  prices = wp_cost_model_new(1);
  CHECK(prices && wp_cost_model_set(prices, "i32.add", 3) == 0, "a cost model");
  wp_cost_model_set_per_call(prices, 2);
  check_shared_module();
  check_shared_instance();
  check_interrupts();
  check_names();
  check_linked();
  wp_module_free(shared);
  wp_cost_model_free(prices);
  free(bytes);
  free(linked_bytes);
  printf("all ok\n");
  return 0;
}
