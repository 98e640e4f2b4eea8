/* wasi.c: WASI preview1 — the context (arguments, environment, descriptor
 * table, preopens, standard streams), the table of preview1 functions and
 * linking, and the functions that do not touch files: args, environ,
 * clocks, random, poll_oneoff, proc_exit, sched_yield and the sockets
 * (which answer `nosys`).  Descriptor operations are in wasi_fd.c, path
 * operations in wasi_path.c. */
#define _GNU_SOURCE /* getrandom, O_PATH */
#include "wasi_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WASI_MODULE "wasi_snapshot_preview1"
#define WASI_MAX_FDS 65536u

/* ---- memory, errno, descriptors ---- */

wasi_mem wasi_mem_of(wp_exec *ex) {
  wp_memory *m = wp_exec_caller_memory(ex);
  wasi_mem v = {NULL, 0};
  if (m) {
    v.base = wp_memory_data(m);
    v.size = wp_memory_size(m);
  }
  return v;
}

int wasi_errno(int e) {
  switch (e) {
  case 0: return WASI_ESUCCESS;
  case E2BIG: return WASI_E2BIG;
  case EACCES: return WASI_EACCES;
  case EAGAIN: return WASI_EAGAIN;
  case EBADF: return WASI_EBADF;
  case EBUSY: return WASI_EBUSY;
  case EEXIST: return WASI_EEXIST;
  case EFAULT: return WASI_EFAULT;
  case EFBIG: return WASI_EFBIG;
  case EILSEQ: return WASI_EILSEQ;
  case EINTR: return WASI_EINTR;
  case EINVAL: return WASI_EINVAL;
  case EIO: return WASI_EIO;
  case EISDIR: return WASI_EISDIR;
  case ELOOP: return WASI_ELOOP;
  case EMFILE: return WASI_EMFILE;
  case EMLINK: return WASI_EMLINK;
  case ENAMETOOLONG: return WASI_ENAMETOOLONG;
  case ENFILE: return WASI_ENFILE;
  case ENOBUFS: return WASI_ENOBUFS;
  case ENODEV: return WASI_ENODEV;
  case ENOENT: return WASI_ENOENT;
  case ENOMEM: return WASI_ENOMEM;
  case ENOSPC: return WASI_ENOSPC;
  case ENOSYS: return WASI_ENOSYS;
  case ENOTDIR: return WASI_ENOTDIR;
  case ENOTEMPTY: return WASI_ENOTEMPTY;
  case ENOTSUP: return WASI_ENOTSUP;
  case ENOTTY: return WASI_ENOTTY;
  case ENXIO: return WASI_ENXIO;
  case EOVERFLOW: return WASI_EOVERFLOW;
  case EPERM: return WASI_EPERM;
  case EPIPE: return WASI_EPIPE;
  case ERANGE: return WASI_ERANGE;
  case EROFS: return WASI_EROFS;
  case ESPIPE: return WASI_ESPIPE;
  case ETXTBSY: return WASI_ETXTBSY;
  case EXDEV: return WASI_EXDEV;
  default: return WASI_EIO;
  }
}

wasi_fd *wasi_fd_get(wp_wasi *w, uint32_t fd) {
  return fd < w->nfds && w->fds[fd].used ? &w->fds[fd] : NULL;
}

int64_t wasi_fd_alloc(wp_wasi *w) {
  /* Numbers are handed out as wasmtime does (its preview1 `Descriptors::push`): the highest
   * number closed or renumbered away comes back first, else one past the highest ever used.
   * Programs that close 1 and 2 and open files in their place see the same numbers. */
  for (uint32_t i = w->nfds; i-- > 0;)
    if (!w->fds[i].used) {
      memset(&w->fds[i], 0, sizeof w->fds[i]);
      return i;
    }
  if (w->nfds >= WASI_MAX_FDS || !wp_grow((void **)&w->fds, &w->capfds, w->nfds + 1, sizeof(wasi_fd))) return -1;
  memset(&w->fds[w->nfds], 0, sizeof(wasi_fd));
  return w->nfds++;
}

void wasi_fd_release(wasi_fd *e) {
  if (e->dir) closedir(e->dir);
  if (e->owned && e->host_fd >= 0) close(e->host_fd);
  free(e->preopen);
  memset(e, 0, sizeof *e);
  e->host_fd = -1;
}

uint8_t wasi_filetype_of_mode(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
  case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
  case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
  case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
  case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
  case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
  default: return WASI_FILETYPE_UNKNOWN;
  }
}

static uint64_t ns_of(struct timespec t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec; }

void wasi_put_filestat(wasi_mem *m, uint32_t p, const struct stat *st) {
  memset(m->base + p, 0, 64);
  wasi_put_u64(m, p + 0, (uint64_t)st->st_dev);
  wasi_put_u64(m, p + 8, (uint64_t)st->st_ino);
  wasi_put_u8(m, p + 16, wasi_filetype_of_mode(st->st_mode));
  wasi_put_u64(m, p + 24, (uint64_t)st->st_nlink);
  wasi_put_u64(m, p + 32, (uint64_t)st->st_size);
  wasi_put_u64(m, p + 40, ns_of(st->st_atim));
  wasi_put_u64(m, p + 48, ns_of(st->st_mtim));
  wasi_put_u64(m, p + 56, ns_of(st->st_ctim));
}

int wasi_timespec_pair(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  if (((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) || ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)) ||
      (fst & ~15u))
    return WASI_EINVAL;
  uint64_t t[2] = {atim, mtim};
  for (int i = 0; i < 2; i++) {
    uint32_t set = i ? WASI_FST_MTIM : WASI_FST_ATIM, now = i ? WASI_FST_MTIM_NOW : WASI_FST_ATIM_NOW;
    if (fst & now) ts[i] = (struct timespec){0, UTIME_NOW};
    else if (fst & set) ts[i] = (struct timespec){(time_t)(t[i] / 1000000000ull), (long)(t[i] % 1000000000ull)};
    else ts[i] = (struct timespec){0, UTIME_OMIT};
  }
  return 0;
}

/* ---- context ---- */

static int add_std_fd(wp_wasi *w, int host_fd) {
  int64_t fd = wasi_fd_alloc(w);
  if (fd < 0) return -1;
  wasi_fd *e = &w->fds[fd];
  e->used = true;
  e->host_fd = host_fd;
  e->rights_base = e->rights_inheriting = WASI_RIGHTS_ALL;
  return 0;
}

wp_wasi *wp_wasi_new(wp_error *err) {
  wp_wasi *w = wp_calloc(1, sizeof *w);
  if (!w) goto oom;
  for (int i = 0; i < 3; i++)
    if (add_std_fd(w, i) < 0) goto oom;
  const char *no2 = getenv("WASMPROF_WASI_NO_OPENAT2");
  w->no_openat2 = no2 && no2[0] == '1';
  return w;
oom:
  wp_wasi_free(w);
  wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory creating a WASI context");
  return NULL;
}

static void free_strings(char **v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

void wp_wasi_free(wp_wasi *w) {
  if (!w) return;
  for (uint32_t i = 0; i < w->nfds; i++)
    if (w->fds[i].used) wasi_fd_release(&w->fds[i]);
  free(w->fds);
  for (uint32_t i = 0; i < w->nfuncs; i++) wp_func_free(w->funcs[i]);
  free(w->funcs);
  free_strings(w->args, w->nargs);
  free_strings(w->env, w->nenv);
  free(w);
}

static int copy_strings(char ***out, uint32_t *nout, uint32_t n, const char *const *v) {
  char **copy = wp_calloc(n ? n : 1, sizeof *copy);
  if (!copy) return -1;
  for (uint32_t i = 0; i < n; i++)
    if (!(copy[i] = strdup(v[i] ? v[i] : ""))) {
      free_strings(copy, i);
      return -1;
    }
  free_strings(*out, *nout);
  *out = copy;
  *nout = n;
  return 0;
}

int wp_wasi_set_args(wp_wasi *w, uint32_t argc, const char *const *argv) {
  return copy_strings(&w->args, &w->nargs, argc, argv);
}

int wp_wasi_set_env(wp_wasi *w, uint32_t n, const char *const *kv) { return copy_strings(&w->env, &w->nenv, n, kv); }

int wp_wasi_preopen(wp_wasi *w, const char *host_path, const char *guest_path, wp_error *err) {
  int hfd = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (hfd < 0)
    return wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "cannot preopen %s: %s", host_path, strerror(errno));
  char *name = strdup(guest_path);
  int64_t fd = name ? wasi_fd_alloc(w) : -1;
  if (fd < 0) {
    free(name);
    close(hfd);
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory adding a preopen");
  }
  wasi_fd *e = &w->fds[fd];
  e->used = e->owned = e->is_dir = true;
  e->host_fd = hfd;
  e->preopen = name;
  e->rights_base = e->rights_inheriting = WASI_RIGHTS_ALL;
  return 0;
}

static wasi_fd *std_entry(wp_wasi *w, int which) {
  if (which < 0 || which > 2) return NULL;
  wasi_fd *e = wasi_fd_get(w, (uint32_t)which);
  if (!e) { /* the guest may have closed it; configuration brings it back */
    if ((uint32_t)which >= w->nfds) return NULL;
    e = &w->fds[which];
  }
  if (e->dir) closedir(e->dir);
  if (e->owned && e->host_fd >= 0) close(e->host_fd);
  memset(e, 0, sizeof *e);
  e->used = true;
  e->rights_base = e->rights_inheriting = WASI_RIGHTS_ALL;
  return e;
}

int wp_wasi_set_stdio_fd(wp_wasi *w, int which, int host_fd) {
  wasi_fd *e = std_entry(w, which);
  if (!e) return -1;
  e->host_fd = host_fd;
  return 0;
}

int wp_wasi_set_stdio_callbacks(wp_wasi *w, int which, wp_wasi_read_fn read, wp_wasi_write_fn write, void *ctx) {
  wasi_fd *e = std_entry(w, which);
  if (!e) return -1;
  e->host_fd = -1;
  e->is_stream = true;
  e->stream = (wasi_stream){read, write, ctx};
  return 0;
}

/* ---- args and environ ---- */

/* put_strings: the pointer array at ptrs and the NUL-terminated strings at buf. */
static int put_strings(wp_exec *ex, char **v, uint32_t n, uint32_t ptrs, uint32_t buf) {
  wasi_mem m = wasi_mem_of(ex);
  if (!wasi_range(&m, ptrs, (uint64_t)n * 4)) return WASI_EFAULT;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) total += strlen(v[i]) + 1;
  if (!wasi_range(&m, buf, total)) return WASI_EFAULT;
  for (uint32_t i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    wasi_put_u32(&m, ptrs + 4 * i, buf);
    memcpy(m.base + buf, v[i], len);
    buf += (uint32_t)len;
  }
  return 0;
}

static int put_sizes(wp_exec *ex, char **v, uint32_t n, uint32_t count_ptr, uint32_t size_ptr) {
  wasi_mem m = wasi_mem_of(ex);
  if (!wasi_range(&m, count_ptr, 4) || !wasi_range(&m, size_ptr, 4)) return WASI_EFAULT;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) total += strlen(v[i]) + 1;
  if (total > UINT32_MAX) return WASI_EOVERFLOW;
  wasi_put_u32(&m, count_ptr, n);
  wasi_put_u32(&m, size_ptr, (uint32_t)total);
  return 0;
}

static WASI_FN(args_get) {
  wp_wasi *w = ctx;
  (void)err;
  WASI_RETURN(put_strings(ex, w->args, w->nargs, WASI_I32(0), WASI_I32(1)));
}
static WASI_FN(args_sizes_get) {
  wp_wasi *w = ctx;
  (void)err;
  WASI_RETURN(put_sizes(ex, w->args, w->nargs, WASI_I32(0), WASI_I32(1)));
}
static WASI_FN(environ_get) {
  wp_wasi *w = ctx;
  (void)err;
  WASI_RETURN(put_strings(ex, w->env, w->nenv, WASI_I32(0), WASI_I32(1)));
}
static WASI_FN(environ_sizes_get) {
  wp_wasi *w = ctx;
  (void)err;
  WASI_RETURN(put_sizes(ex, w->env, w->nenv, WASI_I32(0), WASI_I32(1)));
}

/* ---- clocks, random ---- */

static bool host_clock(uint32_t id, clockid_t *out) {
  static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
  if (id >= sizeof ids / sizeof ids[0]) return false;
  *out = ids[id];
  return true;
}

static WASI_FN(clock_res_get) {
  (void)ctx, (void)err;
  clockid_t c;
  wasi_mem m = wasi_mem_of(ex);
  if (!host_clock(WASI_I32(0), &c)) WASI_RETURN(WASI_EINVAL);
  if (!wasi_range(&m, WASI_I32(1), 8)) WASI_RETURN(WASI_EFAULT);
  struct timespec ts;
  if (clock_getres(c, &ts) != 0) WASI_RETURN(wasi_errno(errno));
  wasi_put_u64(&m, WASI_I32(1), ns_of(ts));
  WASI_RETURN(0);
}

static WASI_FN(clock_time_get) {
  (void)ctx, (void)err;
  clockid_t c;
  wasi_mem m = wasi_mem_of(ex);
  if (!host_clock(WASI_I32(0), &c)) WASI_RETURN(WASI_EINVAL);
  if (!wasi_range(&m, WASI_I32(2), 8)) WASI_RETURN(WASI_EFAULT);
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) WASI_RETURN(wasi_errno(errno));
  wasi_put_u64(&m, WASI_I32(2), ns_of(ts));
  WASI_RETURN(0);
}

static WASI_FN(random_get) {
  (void)ctx, (void)err;
  wasi_mem m = wasi_mem_of(ex);
  uint32_t p = WASI_I32(0), n = WASI_I32(1);
  if (!wasi_range(&m, p, n)) WASI_RETURN(WASI_EFAULT);
  while (n) {
    ssize_t r = getrandom(m.base + p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      WASI_RETURN(wasi_errno(errno));
    }
    p += (uint32_t)r;
    n -= (uint32_t)r;
  }
  WASI_RETURN(0);
}

/* ---- poll_oneoff ---- */

/* Subscription (48 bytes): userdata u64 @0, tag u8 @8, then for clocks
 * id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40; for fds
 * fd u32 @16.  Event (32 bytes): userdata @0, error u16 @8, type u8 @10,
 * nbytes u64 @16, flags u16 @24. */
enum { SUB_SIZE = 48, EVENT_SIZE = 32, EVENT_CLOCK = 0, EVENT_FD_READ = 1, EVENT_FD_WRITE = 2, SUBCLOCK_ABSTIME = 1 };

static void put_event(wasi_mem *m, uint32_t p, uint64_t userdata, uint16_t error, uint8_t type) {
  memset(m->base + p, 0, EVENT_SIZE);
  wasi_put_u64(m, p, userdata);
  wasi_put_u16(m, p + 8, error);
  wasi_put_u8(m, p + 10, type);
}

static WASI_FN(poll_oneoff) {
  wp_wasi *w = ctx;
  (void)err;
  wasi_mem m = wasi_mem_of(ex);
  uint32_t in = WASI_I32(0), out = WASI_I32(1), n = WASI_I32(2), nevents_ptr = WASI_I32(3);
  if (n == 0) WASI_RETURN(WASI_EINVAL);
  if (!wasi_range(&m, in, (uint64_t)n * SUB_SIZE) || !wasi_range(&m, out, (uint64_t)n * EVENT_SIZE) ||
      !wasi_range(&m, nevents_ptr, 4))
    WASI_RETURN(WASI_EFAULT);
  /* Each clock's deadline on the monotonic clock (UINT64_MAX: a bad clock id). */
  uint64_t *deadlines = wp_calloc(n, sizeof *deadlines);
  if (!deadlines) WASI_RETURN(WASI_ENOMEM);
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  uint64_t now = ns_of(t), earliest = UINT64_MAX;
  uint32_t nev = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t s = in + i * SUB_SIZE;
    uint8_t tag = m.base[s + 8];
    if (tag == EVENT_CLOCK) {
      uint64_t timeout = wasi_get_u64(&m, s + 24);
      uint16_t flags;
      memcpy(&flags, m.base + s + 40, 2);
      clockid_t c;
      deadlines[i] = UINT64_MAX;
      if (!host_clock(wasi_get_u32(&m, s + 16), &c)) continue;
      uint64_t rel = timeout;
      if (flags & SUBCLOCK_ABSTIME) {
        clock_gettime(c, &t);
        rel = timeout > ns_of(t) ? timeout - ns_of(t) : 0;
      }
      deadlines[i] = now + rel < now ? UINT64_MAX - 1 : now + rel;
      if (deadlines[i] < earliest) earliest = deadlines[i];
    } else if (tag == EVENT_FD_READ || tag == EVENT_FD_WRITE) {
      /* Descriptors are reported ready at once (reads and writes block the caller anyway). */
      uint32_t fd = wasi_get_u32(&m, s + 16);
      put_event(&m, out + nev++ * EVENT_SIZE, wasi_get_u64(&m, s), wasi_fd_get(w, fd) ? 0 : WASI_EBADF, tag);
    } else {
      free(deadlines);
      WASI_RETURN(WASI_EINVAL);
    }
  }
  bool bad_clock = false;
  for (uint32_t i = 0; i < n; i++)
    if (m.base[in + i * SUB_SIZE + 8] == EVENT_CLOCK && deadlines[i] == UINT64_MAX) bad_clock = true;
  if (nev == 0 && !bad_clock && earliest != UINT64_MAX) {
    /* Nothing is ready: sleep until the earliest deadline. */
    uint64_t d = earliest > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : earliest;
    struct timespec until = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    now = ns_of(t);
    if (now < earliest) now = earliest;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t s = in + i * SUB_SIZE;
    if (m.base[s + 8] != EVENT_CLOCK) continue;
    if (deadlines[i] == UINT64_MAX)
      put_event(&m, out + nev++ * EVENT_SIZE, wasi_get_u64(&m, s), WASI_EINVAL, EVENT_CLOCK);
    else if (deadlines[i] <= now)
      put_event(&m, out + nev++ * EVENT_SIZE, wasi_get_u64(&m, s), 0, EVENT_CLOCK);
  }
  free(deadlines);
  wasi_put_u32(&m, nevents_ptr, nev);
  WASI_RETURN(0);
}

/* ---- process ---- */

static WASI_FN(proc_exit) {
  (void)ex, (void)ctx;
  int code = (int)WASI_I32(0);
  if (err) {
    wp_error_set(err, WP_ERR_EXIT, WP_NO_OFFSET, "guest exited with status %d", code);
    err->exit_code = code;
  }
  return -1;
}

static WASI_FN(sched_yield) {
  (void)ex, (void)ctx, (void)err;
  sched_yield();
  WASI_RETURN(0);
}

/* Not provided: signals and sockets. */
static WASI_FN(nosys) {
  (void)ex, (void)ctx, (void)err;
  WASI_RETURN(WASI_ENOSYS);
}

/* ---- the function table and linking ---- */

/* Signatures: one letter per parameter ('i' i32, 'I' i64); every function
 * returns one i32 errno except proc_exit, which returns nothing. */
typedef struct wasi_def {
  const char *name;
  const char *params;
  bool no_result;
  wp_host_fn fn;
} wasi_def;

static const wasi_def wasi_defs[] = {
    {"args_get", "ii", false, wasi_args_get},
    {"args_sizes_get", "ii", false, wasi_args_sizes_get},
    {"environ_get", "ii", false, wasi_environ_get},
    {"environ_sizes_get", "ii", false, wasi_environ_sizes_get},
    {"clock_res_get", "ii", false, wasi_clock_res_get},
    {"clock_time_get", "iIi", false, wasi_clock_time_get},
    {"fd_advise", "iIIi", false, wasi_fd_advise},
    {"fd_allocate", "iII", false, wasi_fd_allocate},
    {"fd_close", "i", false, wasi_fd_close},
    {"fd_datasync", "i", false, wasi_fd_datasync},
    {"fd_fdstat_get", "ii", false, wasi_fd_fdstat_get},
    {"fd_fdstat_set_flags", "ii", false, wasi_fd_fdstat_set_flags},
    {"fd_fdstat_set_rights", "iII", false, wasi_fd_fdstat_set_rights},
    {"fd_filestat_get", "ii", false, wasi_fd_filestat_get},
    {"fd_filestat_set_size", "iI", false, wasi_fd_filestat_set_size},
    {"fd_filestat_set_times", "iIIi", false, wasi_fd_filestat_set_times},
    {"fd_pread", "iiiIi", false, wasi_fd_pread},
    {"fd_prestat_get", "ii", false, wasi_fd_prestat_get},
    {"fd_prestat_dir_name", "iii", false, wasi_fd_prestat_dir_name},
    {"fd_pwrite", "iiiIi", false, wasi_fd_pwrite},
    {"fd_read", "iiii", false, wasi_fd_read},
    {"fd_readdir", "iiiIi", false, wasi_fd_readdir},
    {"fd_renumber", "ii", false, wasi_fd_renumber},
    {"fd_seek", "iIii", false, wasi_fd_seek},
    {"fd_sync", "i", false, wasi_fd_sync},
    {"fd_tell", "ii", false, wasi_fd_tell},
    {"fd_write", "iiii", false, wasi_fd_write},
    {"path_create_directory", "iii", false, wasi_path_create_directory},
    {"path_filestat_get", "iiiii", false, wasi_path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", false, wasi_path_filestat_set_times},
    {"path_link", "iiiiiii", false, wasi_path_link},
    {"path_open", "iiiiiIIii", false, wasi_path_open},
    {"path_readlink", "iiiiii", false, wasi_path_readlink},
    {"path_remove_directory", "iii", false, wasi_path_remove_directory},
    {"path_rename", "iiiiii", false, wasi_path_rename},
    {"path_symlink", "iiiii", false, wasi_path_symlink},
    {"path_unlink_file", "iii", false, wasi_path_unlink_file},
    {"poll_oneoff", "iiii", false, wasi_poll_oneoff},
    {"proc_exit", "i", true, wasi_proc_exit},
    {"proc_raise", "i", false, wasi_nosys},
    {"sched_yield", "", false, wasi_sched_yield},
    {"random_get", "ii", false, wasi_random_get},
    {"sock_accept", "iii", false, wasi_nosys},
    {"sock_recv", "iiiiii", false, wasi_nosys},
    {"sock_send", "iiiii", false, wasi_nosys},
    {"sock_shutdown", "ii", false, wasi_nosys},
};

static const wasi_def *find_def(const char *name, uint32_t len) {
  for (size_t i = 0; i < sizeof wasi_defs / sizeof wasi_defs[0]; i++)
    if (strlen(wasi_defs[i].name) == len && memcmp(wasi_defs[i].name, name, len) == 0) return &wasi_defs[i];
  return NULL;
}

static wp_functype *def_type(const wasi_def *d) {
  wp_valtype params[16];
  uint32_t n = 0;
  for (const char *p = d->params; *p; p++) params[n++] = *p == 'I' ? WP_I64 : WP_I32;
  wp_valtype result = WP_I32;
  return wp_functype_new(n, params, d->no_result ? 0 : 1, &result);
}

wp_func *wp_wasi_func_new(wp_wasi *w, const char *name, uint32_t name_len, wp_error *err) {
  const wasi_def *d = find_def(name, name_len);
  if (!d) {
    wp_error_set(err, WP_ERR_LINK, WP_NO_OFFSET, "unknown import " WASI_MODULE ".%.*s", (int)name_len, name);
    return NULL;
  }
  wp_functype *t = def_type(d);
  wp_func *f = t ? wp_func_new_host(t, d->fn, w, NULL) : NULL;
  wp_functype_free(t);
  if (!f || !wp_grow((void **)&w->funcs, &w->capfuncs, w->nfuncs + 1, sizeof(wp_func *))) {
    wp_func_free(f);
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory creating WASI functions");
    return NULL;
  }
  w->funcs[w->nfuncs++] = f;
  return f;
}

bool wp_wasi_is_import(const char *module, uint32_t len) {
  return len == strlen(WASI_MODULE) && memcmp(module, WASI_MODULE, len) == 0;
}

int wp_wasi_link(wp_wasi *w, const wp_module *m, wp_import_value *imports, wp_error *err) {
  int bound = 0;
  for (uint32_t i = 0; i < wp_module_import_count(m); i++) {
    const char *mod, *name;
    uint32_t mod_len, name_len;
    wp_extern_type ty;
    wp_module_import(m, i, &mod, &mod_len, &name, &name_len, &ty);
    if (!wp_wasi_is_import(mod, mod_len)) continue;
    if (ty.kind != WP_EXTERN_FUNC)
      return wp_error_set(err, WP_ERR_LINK, WP_NO_OFFSET, "import " WASI_MODULE ".%.*s must be a function",
                          (int)name_len, name);
    wp_func *f = wp_wasi_func_new(w, name, name_len, err);
    if (!f) return -1;
    if (!wp_functype_equal(wp_func_type(f), ty.func))
      return wp_error_set(err, WP_ERR_LINK, WP_NO_OFFSET,
                          "incompatible import type for " WASI_MODULE ".%.*s", (int)name_len, name);
    imports[i].kind = WP_EXTERN_FUNC;
    imports[i].u.func = f;
    bound++;
  }
  return bound;
}
