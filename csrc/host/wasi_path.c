/* wasi_path.c: WASI preview1 path operations (path_*), confined to the
 * preopened directories.
 *
 * Every path is resolved by resolve(): the parent directory is opened
 * beneath the preopen (openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
 * on Linux; otherwise walk(), one component at a time with O_NOFOLLOW,
 * expanding symlinks itself and refusing `..` above the root and absolute
 * targets), and the operation then acts on the final component relative
 * to that directory with the *at() call that does not follow it.  When the
 * final component must be followed, resolve() expands it and starts over,
 * so a symlink is always judged from inside the sandbox.  An attempt to
 * leave the preopen returns WASI_ESCAPE and touches nothing. */
#define _GNU_SOURCE /* O_PATH, AT_EMPTY_PATH */
#include "wasi_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/openat2.h>
#endif

/* What wasmtime answers for a path leaving its preopen (wasi-libc itself
 * answers `notcapable` for an absolute path outside every preopen). */
#define WASI_ESCAPE WASI_EPERM
#define WASI_MAX_LINKS 40
#define WASI_MAX_DEPTH 512

/* read_path: a guest path as a new NUL-terminated string. */
static int read_path(const wasi_mem *m, uint32_t p, uint32_t len, char **out) {
  if (!wasi_range(m, p, len)) return WASI_EFAULT;
  if (len >= PATH_MAX) return WASI_ENAMETOOLONG;
  if (memchr(m->base + p, 0, len)) return WASI_EILSEQ;
  char *s = malloc((size_t)len + 1);
  if (!s) return WASI_ENOMEM;
  memcpy(s, m->base + p, len);
  s[len] = '\0';
  *out = s;
  return 0;
}

/* ---- the portable walk ---- */

/* walk: open directory `rel` beneath root, component by component.  Each
 * step opens one name with O_NOFOLLOW; a symlink is read and its target
 * spliced into the rest of the path (absolute: an escape); `..` closes
 * the innermost directory and fails at the root.  Returns a descriptor
 * or a negative WASI errno. */
static int walk(int root, const char *rel) {
  int stack[WASI_MAX_DEPTH];
  int depth = 0, links = 0, rc = 0;
  char *rest = strdup(rel);
  if (!rest) return -WASI_ENOMEM;
  stack[0] = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (stack[0] < 0) {
    free(rest);
    return -wasi_errno(errno);
  }
  char *pos = rest;
  while (*pos) {
    char *slash = strchr(pos, '/');
    char *next = slash ? slash + 1 : pos + strlen(pos);
    if (slash) *slash = '\0';
    const char *comp = pos;
    pos = next;
    if (!*comp || !strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      if (depth == 0) {
        rc = WASI_ESCAPE;
        break;
      }
      close(stack[depth--]);
      continue;
    }
    int fd = openat(stack[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      if (depth + 1 >= WASI_MAX_DEPTH) {
        close(fd);
        rc = WASI_ENAMETOOLONG;
        break;
      }
      stack[++depth] = fd;
      continue;
    }
    int e = errno;
    struct stat st;
    if ((e == ENOTDIR || e == ELOOP) && fstatat(stack[depth], comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(stack[depth], comp, target, sizeof target - 1);
      if (n < 0) {
        rc = wasi_errno(errno);
        break;
      }
      target[n] = '\0';
      if (target[0] == '/') {
        rc = WASI_ESCAPE;
        break;
      }
      if (++links > WASI_MAX_LINKS) {
        rc = WASI_ELOOP;
        break;
      }
      /* rest := target "/" remaining */
      size_t tl = (size_t)n, rl = strlen(pos);
      char *joined = malloc(tl + rl + 2);
      if (!joined) {
        rc = WASI_ENOMEM;
        break;
      }
      memcpy(joined, target, tl);
      joined[tl] = '/';
      memcpy(joined + tl + 1, pos, rl + 1);
      free(rest);
      rest = pos = joined;
      continue;
    }
    rc = wasi_errno(e);
    break;
  }
  free(rest);
  for (int i = 0; i < depth; i++) close(stack[i]);
  if (rc) {
    close(stack[depth]);
    return -rc;
  }
  return stack[depth];
}

/* open_dir_beneath: directory `rel` (relative) beneath root as an O_PATH
 * descriptor, or a negative WASI errno. */
static int open_dir_beneath(const wp_wasi *w, int root, const char *rel) {
  if (rel[0] == '/') return -WASI_ESCAPE;
#if defined(__linux__) && defined(SYS_openat2)
  if (!w->no_openat2) {
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    for (int tries = 0; tries < 16; tries++) {
      long fd = syscall(SYS_openat2, root, rel[0] ? rel : ".", &how, sizeof how);
      if (fd >= 0) return (int)fd;
      if (errno == EXDEV) return -WASI_ESCAPE;
      if (errno == EAGAIN) continue; /* a concurrent rename: the kernel asks to retry */
      if (errno == ENOSYS || errno == EPERM) break; /* no openat2 here (or a seccomp filter): walk */
      return -wasi_errno(errno);
    }
  }
#endif
  return walk(root, rel);
}

/* ---- resolve ---- */

/* wasi_resolved: the directory (owned descriptor) holding the final
 * component `last` (no slash, except one trailing slash kept from the
 * guest's path so that the kernel still requires a directory). */
typedef struct wasi_resolved {
  int dir;
  char *path; /* owns the storage of last */
  const char *last;
} wasi_resolved;

static void resolved_free(wasi_resolved *r) {
  if (r->dir >= 0) close(r->dir);
  free(r->path);
  r->dir = -1;
  r->path = NULL;
}

/* resolve: split and open `path` (taken over) beneath the preopen or open
 * directory e; follow: expand a final symlink too.
 *
 * A trailing slash makes the kernel follow a final symlink even under
 * O_NOFOLLOW and AT_SYMLINK_NOFOLLOW, judged from outside the sandbox, so
 * "link/" never reaches an *at() call as such: the whole path is resolved
 * as the directory and the operation acts on "." in it (as wasmtime does:
 * rmdir answers EINVAL, unlink EISDIR).  Only operations that name a new
 * entry keep the slash (keep_slash: mkdir, O_CREAT, rename, link and
 * symlink), where the kernel refuses it without following anything
 * (EEXIST, EISDIR, ENOTDIR). */
static int resolve(const wp_wasi *w, const wasi_fd *e, char *path, bool follow, bool keep_slash,
                   wasi_resolved *out) {
  out->dir = -1;
  out->path = path;
  if (!e->is_dir || e->is_stream) return WASI_ENOTDIR;
  for (int links = 0;; links++) {
    if (!out->path[0]) return WASI_ENOENT;
    if (out->path[0] == '/') return WASI_ESCAPE;
    char *p = out->path;
    size_t n = strlen(p);
    bool trailing = false;
    while (n > 1 && p[n - 1] == '/') {
      p[--n] = '\0';
      trailing = true;
    }
    char *slash = strrchr(p, '/');
    char *name = slash ? slash + 1 : p;
    const char *last = name;
    int dir;
    if (!strcmp(name, "..") || (trailing && !keep_slash)) {
      /* the final component leaves its parent, or must be a directory: resolve all of it as the directory */
      dir = open_dir_beneath(w, e->host_fd, p);
      last = ".";
    } else {
      if (slash) *slash = '\0';
      dir = open_dir_beneath(w, e->host_fd, slash ? p : "");
      if (slash) *slash = '/';
    }
    if (dir < 0) return -dir;
    if (trailing && last == name) name[strlen(name)] = '/'; /* the first stripped slash (keep_slash) */
    out->dir = dir;
    out->last = last;
    struct stat st;
    if (!follow || trailing || fstatat(dir, last, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode)) return 0;
    /* Follow the final symlink: parent "/" target, from the root again. */
    if (links >= WASI_MAX_LINKS) return WASI_ELOOP;
    char target[PATH_MAX];
    ssize_t tl = readlinkat(dir, last, target, sizeof target - 1);
    if (tl < 0) return wasi_errno(errno);
    target[tl] = '\0';
    if (target[0] == '/') return WASI_ESCAPE;
    size_t pl = (size_t)(last - p);
    char *joined = malloc(pl + (size_t)tl + 1);
    if (!joined) return WASI_ENOMEM;
    memcpy(joined, p, pl);
    memcpy(joined + pl, target, (size_t)tl + 1);
    close(dir);
    out->dir = -1;
    free(out->path);
    out->path = joined;
  }
}

/* resolve_arg: read the guest path (pointer, length) and resolve it beneath descriptor fd. */
static int resolve_arg(wp_exec *ex, wp_wasi *w, uint32_t fd, uint32_t ptr, uint32_t len, bool follow,
                       bool keep_slash, wasi_resolved *out) {
  out->dir = -1;
  out->path = NULL;
  wasi_fd *e = wasi_fd_get(w, fd);
  if (!e) return WASI_EBADF;
  wasi_mem m = wasi_mem_of(ex);
  char *path;
  int rc = read_path(&m, ptr, len, &path);
  if (rc) return rc;
  return resolve(w, e, path, follow, keep_slash, out);
}

/* ---- operations ---- */

WASI_FN(path_open) {
  (void)err;
  wp_wasi *w = ctx;
  uint32_t fd = WASI_I32(0), lookup = WASI_I32(1), path = WASI_I32(2), path_len = WASI_I32(3);
  uint32_t oflags = WASI_I32(4), fdflags = WASI_I32(7), result = WASI_I32(8);
  uint64_t rights = WASI_I64(5), inheriting = WASI_I64(6);
  wasi_mem m = wasi_mem_of(ex);
  if (!wasi_range(&m, result, 4)) WASI_RETURN(WASI_EFAULT);
  if (oflags & ~15u) WASI_RETURN(WASI_EINVAL);
  int flags = O_CLOEXEC | O_NOFOLLOW;
  if (oflags & WASI_O_CREAT) flags |= O_CREAT;
  if (oflags & WASI_O_DIRECTORY) flags |= O_DIRECTORY;
  if (oflags & WASI_O_EXCL) flags |= O_EXCL;
  if (oflags & WASI_O_TRUNC) flags |= O_TRUNC;
  if (fdflags & WASI_FDFLAG_APPEND) flags |= O_APPEND;
  if (fdflags & WASI_FDFLAG_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & WASI_FDFLAG_SYNC) flags |= O_SYNC;
  if (fdflags & WASI_FDFLAG_DSYNC) flags |= O_DSYNC;
  if (fdflags & WASI_FDFLAG_RSYNC) flags |= O_RSYNC;
  bool rd = rights & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR), wr = rights & WASI_RIGHTS_WRITE;
  if (oflags & WASI_O_DIRECTORY) wr = false;
  flags |= wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
  wasi_resolved r;
  int rc = resolve_arg(ex, w, fd, path, path_len, lookup & WASI_LOOKUP_SYMLINK_FOLLOW, oflags & WASI_O_CREAT, &r);
  if (rc) goto done;
  int hfd = openat(r.dir, r.last, flags, 0666);
  if (hfd < 0) {
    rc = wasi_errno(errno);
    goto done;
  }
  struct stat st;
  int64_t gfd = fstat(hfd, &st) == 0 ? wasi_fd_alloc(w) : -1;
  if (gfd < 0) {
    rc = errno == 0 ? WASI_ENFILE : wasi_errno(errno);
    close(hfd);
    goto done;
  }
  wasi_fd *e = &w->fds[gfd];
  e->used = e->owned = true;
  e->host_fd = hfd;
  e->is_dir = S_ISDIR(st.st_mode);
  e->rights_base = rights;
  e->rights_inheriting = inheriting;
  wasi_put_u32(&m, result, (uint32_t)gfd);
done:
  resolved_free(&r);
  WASI_RETURN(rc);
}

/* Path operations on one final component that never follow it. */
#define PATH_OP(name, keep_slash, call)                                                     \
  WASI_FN(name) {                                                                        \
    (void)err;                                                                           \
    wasi_resolved r;                                                                     \
    int rc = resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), false, keep_slash, &r); \
    if (!rc && (call) != 0) rc = wasi_errno(errno);                                      \
    resolved_free(&r);                                                                   \
    WASI_RETURN(rc);                                                                     \
  }

PATH_OP(path_create_directory, true, mkdirat(r.dir, r.last, 0777))
PATH_OP(path_remove_directory, false, unlinkat(r.dir, r.last, AT_REMOVEDIR))
PATH_OP(path_unlink_file, false, unlinkat(r.dir, r.last, 0))

WASI_FN(path_rename) {
  (void)err;
  wasi_resolved a, b = {.dir = -1};
  int rc = resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), false, true, &a);
  if (!rc) rc = resolve_arg(ex, ctx, WASI_I32(3), WASI_I32(4), WASI_I32(5), false, true, &b);
  if (!rc && renameat(a.dir, a.last, b.dir, b.last) != 0) rc = wasi_errno(errno);
  resolved_free(&a);
  resolved_free(&b);
  WASI_RETURN(rc);
}

WASI_FN(path_filestat_get) {
  (void)err;
  wasi_mem m = wasi_mem_of(ex);
  uint32_t buf = WASI_I32(4);
  if (!wasi_range(&m, buf, 64)) WASI_RETURN(WASI_EFAULT);
  wasi_resolved r;
  int rc =
      resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(2), WASI_I32(3), WASI_I32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, false, &r);
  struct stat st;
  if (!rc && fstatat(r.dir, r.last, &st, AT_SYMLINK_NOFOLLOW) != 0) rc = wasi_errno(errno);
  if (!rc) wasi_put_filestat(&m, buf, &st);
  resolved_free(&r);
  WASI_RETURN(rc);
}

WASI_FN(path_filestat_set_times) {
  (void)err;
  struct timespec ts[2];
  int rc = wasi_timespec_pair(WASI_I64(4), WASI_I64(5), WASI_I32(6), ts);
  if (rc) WASI_RETURN(rc);
  wasi_resolved r;
  rc = resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(2), WASI_I32(3), WASI_I32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, false, &r);
  if (!rc && utimensat(r.dir, r.last, ts, AT_SYMLINK_NOFOLLOW) != 0) rc = wasi_errno(errno);
  resolved_free(&r);
  WASI_RETURN(rc);
}

WASI_FN(path_readlink) {
  (void)err;
  wasi_mem m = wasi_mem_of(ex);
  uint32_t buf = WASI_I32(3), len = WASI_I32(4), used = WASI_I32(5);
  if (!wasi_range(&m, buf, len) || !wasi_range(&m, used, 4)) WASI_RETURN(WASI_EFAULT);
  wasi_resolved r;
  int rc = resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(1), WASI_I32(2), false, false, &r);
  if (!rc) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(r.dir, r.last, target, sizeof target);
    if (n < 0) {
      rc = wasi_errno(errno);
    } else {
      uint32_t k = (uint64_t)n < len ? (uint32_t)n : len;
      memcpy(m.base + buf, target, k);
      wasi_put_u32(&m, used, k);
    }
  }
  resolved_free(&r);
  WASI_RETURN(rc);
}

WASI_FN(path_symlink) {
  (void)err;
  wasi_mem m = wasi_mem_of(ex);
  char *target;
  int rc = read_path(&m, WASI_I32(0), WASI_I32(1), &target);
  if (rc) WASI_RETURN(rc);
  wasi_resolved r = {.dir = -1};
  /* A link to an absolute path could only ever be an escape. */
  if (target[0] == '/') rc = WASI_ESCAPE;
  else rc = resolve_arg(ex, ctx, WASI_I32(2), WASI_I32(3), WASI_I32(4), false, true, &r);
  if (!rc && symlinkat(target, r.dir, r.last) != 0) rc = wasi_errno(errno);
  free(target);
  resolved_free(&r);
  WASI_RETURN(rc);
}

WASI_FN(path_link) {
  (void)err;
  wasi_resolved a, b = {.dir = -1};
  int rc =
      resolve_arg(ex, ctx, WASI_I32(0), WASI_I32(2), WASI_I32(3), WASI_I32(1) & WASI_LOOKUP_SYMLINK_FOLLOW, false, &a);
  if (!rc) rc = resolve_arg(ex, ctx, WASI_I32(4), WASI_I32(5), WASI_I32(6), false, true, &b);
  if (!rc && linkat(a.dir, a.last, b.dir, b.last, 0) != 0) rc = wasi_errno(errno);
  resolved_free(&a);
  resolved_free(&b);
  WASI_RETURN(rc);
}
