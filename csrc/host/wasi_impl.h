/* wasi_impl.h: the pieces of the WASI preview1 implementation shared by
 * wasi.c (configuration, linking, args/env/clocks/random/poll/proc),
 * wasi_fd.c (descriptor operations) and wasi_path.c (sandboxed paths).
 *
 * Every host function has the wp_host_fn shape; its arguments arrive as
 * slots and it stores one i32 errno result in args_results[0].  Guest
 * memory is reached through a wasi_mem view of the caller's memory 0,
 * and every access goes through the checked helpers below. */
#ifndef WP_WASI_IMPL_H
#define WP_WASI_IMPL_H

#include "runtime.h"
#include "util.h"
#include "wasmprof_wasi.h"

/* WASI errno values (preview1 `errno`). */
enum {
  WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EAGAIN = 6, WASI_EBADF = 8, WASI_EBUSY = 10,
  WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22, WASI_EILSEQ = 25, WASI_EINTR = 27, WASI_EINVAL = 28,
  WASI_EIO = 29, WASI_EISDIR = 31, WASI_ELOOP = 32, WASI_EMFILE = 33, WASI_EMLINK = 34,
  WASI_ENAMETOOLONG = 37, WASI_ENFILE = 41, WASI_ENOBUFS = 42, WASI_ENODEV = 43, WASI_ENOENT = 44,
  WASI_ENOMEM = 48, WASI_ENOSPC = 51, WASI_ENOSYS = 52, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55,
  WASI_ENOTSUP = 58, WASI_ENOTTY = 59, WASI_ENXIO = 60, WASI_EOVERFLOW = 61, WASI_EPERM = 63,
  WASI_EPIPE = 64, WASI_ERANGE = 68, WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ETXTBSY = 74,
  WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76,
};

/* filetype */
enum {
  WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1, WASI_FILETYPE_CHARACTER_DEVICE = 2,
  WASI_FILETYPE_DIRECTORY = 3, WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
  WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* fdflags, oflags, lookupflags, fstflags */
enum { WASI_FDFLAG_APPEND = 1, WASI_FDFLAG_DSYNC = 2, WASI_FDFLAG_NONBLOCK = 4, WASI_FDFLAG_RSYNC = 8,
       WASI_FDFLAG_SYNC = 16 };
enum { WASI_O_CREAT = 1, WASI_O_DIRECTORY = 2, WASI_O_EXCL = 4, WASI_O_TRUNC = 8 };
enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4, WASI_FST_MTIM_NOW = 8 };

/* rights (only the ones the implementation looks at) */
#define WASI_RIGHT_FD_READ (1ull << 1)
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_TELL (1ull << 5)
#define WASI_RIGHT_FD_WRITE (1ull << 6)
#define WASI_RIGHT_FD_READDIR (1ull << 14)
#define WASI_RIGHTS_ALL ((1ull << 30) - 1)
/* rights that need a descriptor opened for writing */
#define WASI_RIGHTS_WRITE (WASI_RIGHT_FD_WRITE | (1ull << 0) /* datasync */ | (1ull << 8) /* allocate */ \
                           | (1ull << 22) /* filestat_set_size */)

/* wasi_stream: a standard stream backed by host callbacks. */
typedef struct wasi_stream {
  wp_wasi_read_fn read;
  wp_wasi_write_fn write;
  void *ctx;
} wasi_stream;

/* wasi_fd: one entry of the guest's descriptor table. */
typedef struct wasi_fd {
  bool used;
  bool owned;         /* host_fd is ours to close */
  bool is_stream;     /* callbacks instead of a host descriptor */
  bool is_dir;
  int host_fd;
  wasi_stream stream;
  char *preopen;      /* guest path of a preopened directory, else NULL */
  uint64_t rights_base, rights_inheriting;
  void *dir;          /* DIR * for fd_readdir, opened lazily */
  uint64_t dir_cookie; /* entries the DIR * has returned (synthetic "." and ".." included) */
} wasi_fd;

struct wp_wasi {
  char **args;
  uint32_t nargs;
  char **env;
  uint32_t nenv;
  wasi_fd *fds;
  uint32_t nfds, capfds;
  wp_func **funcs;    /* host functions made for this context */
  uint32_t nfuncs, capfuncs;
  bool no_openat2;    /* use the portable path walk (tests force it) */
};

/* wasi_mem: the caller's linear memory during one host call. */
typedef struct wasi_mem {
  uint8_t *base;
  uint64_t size;
} wasi_mem;

/* wasi_mem_of: the calling guest's memory 0 (size 0 when there is none). */
wasi_mem wasi_mem_of(wp_exec *ex);

/* wasi_range: whether [ptr, ptr+len) lies in memory. */
static inline bool wasi_range(const wasi_mem *m, uint32_t ptr, uint64_t len) {
  return (uint64_t)ptr + len <= m->size;
}

static inline void wasi_put_u8(wasi_mem *m, uint32_t p, uint8_t v) { m->base[p] = v; }
static inline void wasi_put_u16(wasi_mem *m, uint32_t p, uint16_t v) { memcpy(m->base + p, &v, 2); }
static inline void wasi_put_u32(wasi_mem *m, uint32_t p, uint32_t v) { memcpy(m->base + p, &v, 4); }
static inline void wasi_put_u64(wasi_mem *m, uint32_t p, uint64_t v) { memcpy(m->base + p, &v, 8); }
static inline uint32_t wasi_get_u32(const wasi_mem *m, uint32_t p) {
  uint32_t v;
  memcpy(&v, m->base + p, 4);
  return v;
}
static inline uint64_t wasi_get_u64(const wasi_mem *m, uint32_t p) {
  uint64_t v;
  memcpy(&v, m->base + p, 8);
  return v;
}

/* Argument accessors for host functions. */
#define WASI_I32(i) ((uint32_t)args[i])
#define WASI_I64(i) ((uint64_t)args[i])
#define WASI_RETURN(e) \
  do {                 \
    args[0] = (uint32_t)(e); \
    return 0;          \
  } while (0)

/* wasi_errno: a host errno value as a WASI errno. */
int wasi_errno(int host_errno);

/* wasi_fd_get: the entry for guest descriptor fd, or NULL. */
wasi_fd *wasi_fd_get(wp_wasi *w, uint32_t fd);
/* wasi_fd_alloc: a free descriptor number, chosen as wasmtime chooses it, or -1 (OOM / too many). */
int64_t wasi_fd_alloc(wp_wasi *w);
/* wasi_fd_release: close what the entry owns and mark it free. */
void wasi_fd_release(wasi_fd *e);

/* wasi_filetype_of_mode: st_mode -> WASI filetype. */
uint8_t wasi_filetype_of_mode(unsigned mode);
/* wasi_put_filestat: a struct stat as a 64-byte WASI filestat at p (checked by the caller). */
struct stat;
void wasi_put_filestat(wasi_mem *m, uint32_t p, const struct stat *st);
/* wasi_timespec_pair: fstflags and times -> the two timespecs for utimensat. */
struct timespec;
int wasi_timespec_pair(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

/* The host functions, grouped by file.  Each is a wp_host_fn. */
#define WASI_FN(name) int wasi_##name(wp_exec *ex, void *ctx, wp_slot *args, wp_error *err)
/* wasi_fd.c */
WASI_FN(fd_read); WASI_FN(fd_write); WASI_FN(fd_pread); WASI_FN(fd_pwrite); WASI_FN(fd_seek);
WASI_FN(fd_tell); WASI_FN(fd_close); WASI_FN(fd_sync); WASI_FN(fd_datasync); WASI_FN(fd_fdstat_get);
WASI_FN(fd_fdstat_set_flags); WASI_FN(fd_fdstat_set_rights); WASI_FN(fd_filestat_get);
WASI_FN(fd_filestat_set_size); WASI_FN(fd_filestat_set_times); WASI_FN(fd_prestat_get);
WASI_FN(fd_prestat_dir_name); WASI_FN(fd_readdir); WASI_FN(fd_renumber); WASI_FN(fd_advise);
WASI_FN(fd_allocate);
/* wasi_path.c */
WASI_FN(path_open); WASI_FN(path_create_directory); WASI_FN(path_remove_directory);
WASI_FN(path_unlink_file); WASI_FN(path_rename); WASI_FN(path_filestat_get);
WASI_FN(path_filestat_set_times); WASI_FN(path_readlink); WASI_FN(path_symlink); WASI_FN(path_link);

#endif
