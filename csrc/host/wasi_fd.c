/* wasi_fd.c: WASI preview1 operations on descriptors (fd_*): reads and
 * writes through host descriptors or stream callbacks, seeking, status,
 * preopen names, directory listing and renumbering. */
#define _GNU_SOURCE /* O_RSYNC, struct dirent d_type */
#include "wasi_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WASI_MAX_IOVS 1024u

#define GET_FD(e, fdarg)                              \
  wasi_fd *e = wasi_fd_get((wp_wasi *)ctx, (fdarg));  \
  if (!e) WASI_RETURN(WASI_EBADF)

/* load_iovs: the guest's iovec array (buf u32, len u32 each) as host iovecs
 * into memory; WASI errno on a bad pointer. */
static int load_iovs(const wasi_mem *m, uint32_t iovs, uint32_t n, struct iovec *out, uint32_t *nout) {
  if (n > WASI_MAX_IOVS) return WASI_EINVAL;
  if (!wasi_range(m, iovs, (uint64_t)n * 8)) return WASI_EFAULT;
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t buf = wasi_get_u32(m, iovs + 8 * i), len = wasi_get_u32(m, iovs + 8 * i + 4);
    if (!wasi_range(m, buf, len)) return WASI_EFAULT;
    total += len;
    out[i] = (struct iovec){m->base + buf, len};
  }
  if (total > SSIZE_MAX) return WASI_EINVAL;
  *nout = n;
  return 0;
}

/* stream_io: move data through callbacks, one iovec at a time; stops early
 * on a short transfer (as readv/writev would). */
static int stream_io(wasi_fd *e, bool write, struct iovec *iov, uint32_t n, uint64_t *done) {
  *done = 0;
  if (write ? !e->stream.write : !e->stream.read) return WASI_EBADF;
  for (uint32_t i = 0; i < n; i++) {
    if (iov[i].iov_len == 0) continue;
    int64_t r = write ? e->stream.write(e->stream.ctx, iov[i].iov_base, iov[i].iov_len)
                      : e->stream.read(e->stream.ctx, iov[i].iov_base, iov[i].iov_len);
    if (r < 0) return *done ? 0 : (int)-r;
    *done += (uint64_t)r;
    if ((size_t)r < iov[i].iov_len) break;
  }
  return 0;
}

/* rw: fd_read, fd_write, fd_pread, fd_pwrite. offset < 0: the current position. */
static int rw(wp_exec *ex, void *ctx, uint32_t fd, uint32_t iovs, uint32_t niovs, int64_t offset, uint32_t result,
              bool write) {
  wasi_fd *e = wasi_fd_get(ctx, fd);
  if (!e) return WASI_EBADF;
  wasi_mem m = wasi_mem_of(ex);
  struct iovec iov[WASI_MAX_IOVS];
  uint32_t n = 0;
  int rc = load_iovs(&m, iovs, niovs, iov, &n);
  if (rc) return rc;
  if (!wasi_range(&m, result, 4)) return WASI_EFAULT;
  if (e->is_dir) return write ? WASI_EBADF : WASI_EISDIR;
  uint64_t done = 0;
  if (e->is_stream) {
    if (offset >= 0) return WASI_ESPIPE;
    rc = stream_io(e, write, iov, n, &done);
    if (rc) return rc;
  } else {
    ssize_t r;
    do {
      if (offset >= 0) r = write ? pwritev(e->host_fd, iov, (int)n, offset) : preadv(e->host_fd, iov, (int)n, offset);
      else r = write ? writev(e->host_fd, iov, (int)n) : readv(e->host_fd, iov, (int)n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return wasi_errno(errno);
    done = (uint64_t)r;
  }
  wasi_put_u32(&m, result, (uint32_t)done);
  return 0;
}

WASI_FN(fd_read) {
  (void)err;
  WASI_RETURN(rw(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), -1, WASI_I32(3), false));
}
WASI_FN(fd_write) {
  (void)err;
  WASI_RETURN(rw(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), -1, WASI_I32(3), true));
}
WASI_FN(fd_pread) {
  (void)err;
  if (WASI_I64(3) > INT64_MAX) WASI_RETURN(WASI_EINVAL);
  WASI_RETURN(rw(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), (int64_t)WASI_I64(3), WASI_I32(4), false));
}
WASI_FN(fd_pwrite) {
  (void)err;
  if (WASI_I64(3) > INT64_MAX) WASI_RETURN(WASI_EINVAL);
  WASI_RETURN(rw(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), (int64_t)WASI_I64(3), WASI_I32(4), true));
}

static int seek(wp_exec *ex, wasi_fd *e, int64_t offset, uint32_t whence, uint32_t result) {
  wasi_mem m = wasi_mem_of(ex);
  if (!wasi_range(&m, result, 8)) return WASI_EFAULT;
  static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  if (whence > 2) return WASI_EINVAL;
  if (e->is_stream) return WASI_ESPIPE;
  if (e->is_dir) return WASI_EBADF;
  off_t r = lseek(e->host_fd, (off_t)offset, whences[whence]);
  if (r < 0) return wasi_errno(errno);
  wasi_put_u64(&m, result, (uint64_t)r);
  return 0;
}

WASI_FN(fd_seek) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  WASI_RETURN(seek(ex, e, (int64_t)WASI_I64(1), WASI_I32(2), WASI_I32(3)));
}
WASI_FN(fd_tell) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  WASI_RETURN(seek(ex, e, 0, 1, WASI_I32(1)));
}

WASI_FN(fd_close) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  wasi_fd_release(e);
  WASI_RETURN(0);
}

static int sync_fd(wasi_fd *e, bool data_only) {
  if (e->is_stream) return WASI_EINVAL;
  if ((data_only ? fdatasync(e->host_fd) : fsync(e->host_fd)) != 0) return wasi_errno(errno);
  return 0;
}
WASI_FN(fd_sync) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  WASI_RETURN(sync_fd(e, false));
}
WASI_FN(fd_datasync) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  WASI_RETURN(sync_fd(e, true));
}

/* fdstat (24 bytes): filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16. */
WASI_FN(fd_fdstat_get) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  wasi_mem m = wasi_mem_of(ex);
  uint32_t p = WASI_I32(1);
  if (!wasi_range(&m, p, 24)) WASI_RETURN(WASI_EFAULT);
  uint8_t type = WASI_FILETYPE_UNKNOWN; /* a stream: not a terminal (as wasmtime says of pipes) */
  uint16_t flags = 0;
  uint64_t base = e->rights_base;
  if (!e->is_stream) {
    struct stat st;
    if (fstat(e->host_fd, &st) != 0) WASI_RETURN(wasi_errno(errno));
    type = wasi_filetype_of_mode(st.st_mode);
    int fl = fcntl(e->host_fd, F_GETFL);
    if (fl < 0) WASI_RETURN(wasi_errno(errno));
    if (fl & O_APPEND) flags |= WASI_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) flags |= WASI_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC) flags |= WASI_FDFLAG_SYNC;
    else if (fl & O_DSYNC) flags |= WASI_FDFLAG_DSYNC;
    /* What the descriptor cannot do is not a right (libc reads O_RDONLY etc. back from these). */
    int acc = fl & O_ACCMODE;
    if (acc == O_RDONLY && !e->is_dir) base &= ~WASI_RIGHTS_WRITE;
    if (acc == O_WRONLY) base &= ~(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR);
    if (type == WASI_FILETYPE_CHARACTER_DEVICE && isatty(e->host_fd))
      base &= ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL);
  } else {
    base &= ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL);
    if (!e->stream.read) base &= ~WASI_RIGHT_FD_READ;
    if (!e->stream.write) base &= ~WASI_RIGHTS_WRITE;
  }
  memset(m.base + p, 0, 24);
  wasi_put_u8(&m, p, type);
  wasi_put_u16(&m, p + 2, flags);
  wasi_put_u64(&m, p + 8, base);
  wasi_put_u64(&m, p + 16, e->rights_inheriting);
  WASI_RETURN(0);
}

WASI_FN(fd_fdstat_set_flags) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  uint32_t f = WASI_I32(1);
  if (e->is_stream) WASI_RETURN(f ? WASI_EINVAL : 0);
  if (f & ~(uint32_t)(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK)) WASI_RETURN(WASI_EINVAL);
  int fl = fcntl(e->host_fd, F_GETFL);
  if (fl < 0) WASI_RETURN(wasi_errno(errno));
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (f & WASI_FDFLAG_APPEND) fl |= O_APPEND;
  if (f & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
  if (fcntl(e->host_fd, F_SETFL, fl) != 0) WASI_RETURN(wasi_errno(errno));
  WASI_RETURN(0);
}

WASI_FN(fd_fdstat_set_rights) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  uint64_t base = WASI_I64(1), inh = WASI_I64(2);
  /* Rights can only be dropped. */
  if ((base & ~e->rights_base) || (inh & ~e->rights_inheriting)) WASI_RETURN(WASI_ENOTCAPABLE);
  e->rights_base = base;
  e->rights_inheriting = inh;
  WASI_RETURN(0);
}

WASI_FN(fd_filestat_get) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  wasi_mem m = wasi_mem_of(ex);
  uint32_t p = WASI_I32(1);
  if (!wasi_range(&m, p, 64)) WASI_RETURN(WASI_EFAULT);
  struct stat st;
  if (e->is_stream) {
    memset(&st, 0, sizeof st); /* filetype unknown, like fd_fdstat_get */
  } else if (fstat(e->host_fd, &st) != 0) {
    WASI_RETURN(wasi_errno(errno));
  }
  wasi_put_filestat(&m, p, &st);
  WASI_RETURN(0);
}

WASI_FN(fd_filestat_set_size) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  if (e->is_stream) WASI_RETURN(WASI_EINVAL);
  if (WASI_I64(1) > INT64_MAX) WASI_RETURN(WASI_EINVAL);
  if (ftruncate(e->host_fd, (off_t)WASI_I64(1)) != 0) WASI_RETURN(wasi_errno(errno));
  WASI_RETURN(0);
}

WASI_FN(fd_filestat_set_times) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  struct timespec ts[2];
  int rc = wasi_timespec_pair(WASI_I64(1), WASI_I64(2), WASI_I32(3), ts);
  if (rc) WASI_RETURN(rc);
  if (e->is_stream) WASI_RETURN(WASI_EINVAL);
  if (futimens(e->host_fd, ts) != 0) WASI_RETURN(wasi_errno(errno));
  WASI_RETURN(0);
}

/* prestat (8 bytes): tag u8 @0 (0: directory), name length u32 @4. */
WASI_FN(fd_prestat_get) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  if (!e->preopen) WASI_RETURN(WASI_EBADF);
  wasi_mem m = wasi_mem_of(ex);
  uint32_t p = WASI_I32(1);
  if (!wasi_range(&m, p, 8)) WASI_RETURN(WASI_EFAULT);
  memset(m.base + p, 0, 8);
  wasi_put_u32(&m, p + 4, (uint32_t)strlen(e->preopen));
  WASI_RETURN(0);
}

WASI_FN(fd_prestat_dir_name) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  if (!e->preopen) WASI_RETURN(WASI_EBADF);
  wasi_mem m = wasi_mem_of(ex);
  uint32_t p = WASI_I32(1), len = WASI_I32(2);
  size_t n = strlen(e->preopen);
  if (len < n) WASI_RETURN(WASI_ENAMETOOLONG);
  if (!wasi_range(&m, p, n)) WASI_RETURN(WASI_EFAULT);
  memcpy(m.base + p, e->preopen, n);
  WASI_RETURN(0);
}

/* ---- fd_readdir ---- */

/* Entries are numbered: 0 ".", 1 "..", then the host's entries except its
 * own "." and "..".  An entry's d_next (the cookie that resumes after it)
 * is its number + 1.  dirent (24 bytes + name): d_next u64 @0, d_ino u64 @8,
 * d_namlen u32 @16, d_type u8 @20. */
static uint8_t dirent_type(DIR *d, const struct dirent *de) {
  switch (de->d_type) {
  case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
  case DT_DIR: return WASI_FILETYPE_DIRECTORY;
  case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
  default: {
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return WASI_FILETYPE_UNKNOWN;
    return wasi_filetype_of_mode(st.st_mode);
  }
  }
}

/* put_dirent: as much of one entry as fits at *pos; whether all of it did. */
static bool put_dirent(wasi_mem *m, uint32_t buf, uint32_t len, uint32_t *pos, uint64_t next, uint64_t ino,
                       uint8_t type, const char *name) {
  uint8_t hdr[24] = {0};
  uint32_t namlen = (uint32_t)strlen(name);
  memcpy(hdr, &next, 8);
  memcpy(hdr + 8, &ino, 8);
  memcpy(hdr + 16, &namlen, 4);
  hdr[20] = type;
  uint32_t room = len - *pos, n = room < 24 ? room : 24;
  memcpy(m->base + buf + *pos, hdr, n);
  *pos += n;
  if (n < 24) return false;
  room = len - *pos;
  n = room < namlen ? room : namlen;
  memcpy(m->base + buf + *pos, name, n);
  *pos += n;
  return n == namlen;
}

WASI_FN(fd_readdir) {
  (void)err;
  GET_FD(e, WASI_I32(0));
  wasi_mem m = wasi_mem_of(ex);
  uint32_t buf = WASI_I32(1), len = WASI_I32(2), used_ptr = WASI_I32(4);
  uint64_t cookie = WASI_I64(3);
  if (!wasi_range(&m, buf, len) || !wasi_range(&m, used_ptr, 4)) WASI_RETURN(WASI_EFAULT);
  if (e->is_stream || !e->is_dir) WASI_RETURN(WASI_ENOTDIR);
  if (!e->dir) {
    /* A DIR * of its own (on a new descriptor), so that no offset is shared. */
    int d = openat(e->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) WASI_RETURN(wasi_errno(errno));
    if (!(e->dir = fdopendir(d))) {
      close(d);
      WASI_RETURN(wasi_errno(errno));
    }
    e->dir_cookie = 2;
  }
  DIR *d = e->dir;
  if (cookie < e->dir_cookie) {
    rewinddir(d);
    e->dir_cookie = 2;
  }
  uint32_t pos = 0;
  struct stat st;
  for (uint64_t c = cookie; c < 2 && pos < len; c++) {
    uint64_t ino = 0;
    if (fstatat(e->host_fd, c == 0 ? "." : "..", &st, 0) == 0) ino = st.st_ino;
    if (!put_dirent(&m, buf, len, &pos, c + 1, ino, WASI_FILETYPE_DIRECTORY, c == 0 ? "." : "..")) break;
  }
  while (pos < len) {
    errno = 0;
    long where = telldir(d);
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) WASI_RETURN(wasi_errno(errno));
      break;
    }
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    uint64_t c = e->dir_cookie++;
    if (c < cookie) continue; /* skipping up to the requested cookie */
    if (!put_dirent(&m, buf, len, &pos, c + 1, de->d_ino, dirent_type(d, de), de->d_name)) {
      /* Cut short: the next call (cookie c) resumes at this entry without rewinding. */
      seekdir(d, where);
      e->dir_cookie = c;
      break;
    }
  }
  wasi_put_u32(&m, used_ptr, pos);
  WASI_RETURN(0);
}

WASI_FN(fd_renumber) {
  (void)ex, (void)err;
  wp_wasi *w = ctx;
  wasi_fd *from = wasi_fd_get(w, WASI_I32(0)), *to = wasi_fd_get(w, WASI_I32(1));
  if (!from || !to) WASI_RETURN(WASI_EBADF);
  if (from == to) WASI_RETURN(0);
  wasi_fd_release(to);
  *to = *from;
  memset(from, 0, sizeof *from);
  from->host_fd = -1;
  WASI_RETURN(0);
}

WASI_FN(fd_advise) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  static const int advice[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                               POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  uint32_t a = WASI_I32(3);
  if (a > 5 || WASI_I64(1) > INT64_MAX || WASI_I64(2) > INT64_MAX) WASI_RETURN(WASI_EINVAL);
  if (e->is_stream) WASI_RETURN(WASI_ESPIPE);
  int rc = posix_fadvise(e->host_fd, (off_t)WASI_I64(1), (off_t)WASI_I64(2), advice[a]);
  WASI_RETURN(rc ? wasi_errno(rc) : 0);
}

WASI_FN(fd_allocate) {
  (void)ex, (void)err;
  GET_FD(e, WASI_I32(0));
  if (WASI_I64(1) > INT64_MAX || WASI_I64(2) > INT64_MAX) WASI_RETURN(WASI_EINVAL);
  if (e->is_stream) WASI_RETURN(WASI_ESPIPE);
  int rc = posix_fallocate(e->host_fd, (off_t)WASI_I64(1), (off_t)WASI_I64(2));
  WASI_RETURN(rc ? wasi_errno(rc) : 0);
}
