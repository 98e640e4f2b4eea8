/* fuzz_wasi_path.c: WASI path resolution against a scratch preopen.
 *
 * A scratch tree is made once (mkdtemp):
 *
 *   TOP/canary                  "canary"
 *   TOP/x/canary                "canary"
 *   TOP/x/y/outside/canary      "canary"
 *   TOP/x/y/root/               the preopen, "/sandbox" to the guest (fd 3),
 *                               laid anew for every input: a.txt, dir/b.txt,
 *                               symlinks inside, to ../outside/canary, to
 *                               an absolute path, to itself
 *
 * Input: operations [op][flags][len1][path1][len2][path2] (lengths capped
 * by what is left), run through the guest module fuzz/wasi_guest.wat:
 * path_open (the descriptors it returns can be used by later operations),
 * path_create_directory, path_remove_directory, path_unlink_file,
 * path_rename, path_symlink, path_link, path_readlink, path_filestat_get,
 * fd_readdir, fd_write, fd_close.  The first byte's low bit chooses the
 * resolver: openat2(RESOLVE_BENEATH) or the component walk
 * (WASMPROF_WASI_NO_OPENAT2=1).
 *
 * Findings: a call that does not return a WASI errno (a trap, an error), an
 * errno out of range, or any change outside the preopen (the three canaries
 * and the tree's shape are checked after every input). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_guest.h"
#include "wasmprof.h"
#include "wasmprof_wasi.h"

#define PREOPEN_FD 3
#define PATH_AT 1024   /* guest memory: path 1 */
#define PATH2_AT 2048  /* path 2 */
#define OUT_AT 64      /* results (opened fd, bufused) */
#define BUF_AT 4096    /* readlink / readdir / filestat buffers, fd_write data */
#define MAX_FDS 8
#define MAX_OPS 32

static char top[64], root[128];
static wp_module *guest;

static void die(const char *what) {
  perror(what);
  abort();
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path);
  close(fd);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  if (ftw->level > 0 && remove(path) != 0) {
    chmod(path, 0700);
    remove(path);
  }
  return 0;
}

static void lay_root(void) {
  chmod(root, 0755);
  nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  char p[256];
  snprintf(p, sizeof p, "%s/a.txt", root);
  write_file(p, "hello");
  snprintf(p, sizeof p, "%s/dir", root);
  if (mkdir(p, 0755) && errno != EEXIST) die(p);
  snprintf(p, sizeof p, "%s/dir/b.txt", root);
  write_file(p, "world");
  static const char *const links[][2] = {
      {"a.txt", "link_in"}, {"../outside/canary", "link_out"}, {"/etc/hostname", "link_abs"},
      {"loop", "loop"},     {"dir/../a.txt", "link_dotdot"},   {"../root/dir", "link_dir"},
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", root, links[i][1]);
    if (symlink(links[i][0], p)) die(p);
  }
}

static bool canary_intact(const char *path) {
  char buf[16] = {0};
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  struct stat st;
  return n == 6 && !memcmp(buf, "canary", 6) && !lstat(path, &st) && S_ISREG(st.st_mode) && st.st_nlink == 1;
}

/* entries: the names in a directory other than . and .., sorted, joined by '/'. */
static void entries(const char *dir, char *out, size_t cap) {
  struct dirent **list;
  int n = scandir(dir, &list, NULL, alphasort);
  out[0] = 0;
  if (n < 0) die(dir);
  for (int i = 0; i < n; i++) {
    if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
      strncat(out, list[i]->d_name, cap - strlen(out) - 2);
      strcat(out, "/");
    }
    free(list[i]);
  }
  free(list);
}

static void check_outside(void) {
  static const char *const expect[][2] = {
      {"", "canary/x/"}, {"/x", "canary/y/"}, {"/x/y", "outside/root/"}, {"/x/y/outside", "canary/"},
  };
  char dir[256], got[512];
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
    snprintf(dir, sizeof dir, "%s%s", top, expect[i][0]);
    entries(dir, got, sizeof got);
    if (strcmp(got, expect[i][1])) {
      fprintf(stderr, "fuzz_wasi_path: %s holds %s, expected %s: the guest changed something outside its preopen\n",
              dir, got, expect[i][1]);
      abort();
    }
  }
  const char *const canaries[] = {"/canary", "/x/canary", "/x/y/outside/canary"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(dir, sizeof dir, "%s%s", top, canaries[i]);
    if (!canary_intact(dir)) {
      fprintf(stderr, "fuzz_wasi_path: %s changed: the guest reached outside its preopen\n", dir);
      abort();
    }
  }
}

static void cleanup(void) {
  if (top[0]) nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS), rmdir(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(top, sizeof top, "/tmp/wasmprof-fuzz-wasi.XXXXXX");
  if (!mkdtemp(top)) die("mkdtemp");
  atexit(cleanup);
  char p[256];
  snprintf(p, sizeof p, "%s/canary", top);
  write_file(p, "canary");
  snprintf(p, sizeof p, "%s/x", top);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/x/canary", top);
  write_file(p, "canary");
  snprintf(p, sizeof p, "%s/x/y", top);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/x/y/outside", top);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/x/y/outside/canary", top);
  write_file(p, "canary");
  snprintf(root, sizeof root, "%s/x/y/root", top);
  mkdir(root, 0755);
  wp_error err = {0};
  guest = wp_module_new(wasi_guest_wasm, wasi_guest_wasm_len, &err);
  if (!guest) {
    fprintf(stderr, "fuzz_wasi_path: the guest module does not load: %s\n", err.message);
    abort();
  }
  return 0;
}

static int64_t discard(void *ctx, const uint8_t *buf, size_t len) {
  (void)ctx;
  (void)buf;
  return (int64_t)len;
}

typedef struct guest_state {
  wp_exec *ex;
  wp_instance *inst;
  wp_memory *mem;
  uint32_t fds[MAX_FDS];
  uint32_t nfds;
} guest_state;

static uint32_t call(guest_state *g, const char *name, const wp_slot *args) {
  wp_import_value v;
  if (!wp_instance_export(g->inst, name, (uint32_t)strlen(name), &v)) abort();
  wp_slot result = 0;
  wp_error err = {0};
  if (wp_call(g->ex, v.u.func, args, &result, &err)) {
    fprintf(stderr, "fuzz_wasi_path: %s failed instead of returning an errno: %s\n", name, err.message);
    abort();
  }
  uint32_t errno_ = (uint32_t)result;
  if (errno_ > 76) {
    fprintf(stderr, "fuzz_wasi_path: %s returned %u, not a WASI errno\n", name, errno_);
    abort();
  }
  return errno_;
}

static uint32_t pick_fd(const guest_state *g, uint8_t sel) {
  if (sel < 160 || g->nfds == 0) return sel % 5 == 4 ? sel % 16 : PREOPEN_FD;
  return g->fds[sel % g->nfds];
}

static void run_op(guest_state *g, uint8_t op, uint8_t flags, uint8_t sel, const uint8_t *p1, uint32_t n1,
                   const uint8_t *p2, uint32_t n2) {
  uint8_t *mem = wp_memory_data(g->mem);
  memcpy(mem + PATH_AT, p1, n1);
  memcpy(mem + PATH2_AT, p2, n2);
  uint32_t fd = pick_fd(g, sel), fd2 = pick_fd(g, (uint8_t)(sel * 37 + 11));
  const uint64_t all_rights = (1ull << 30) - 1;
  switch (op % 12) {
    case 0: {
      /* oflags: creat 1, directory 2, excl 4, trunc 8; fdflags: append 1 ... */
      wp_slot a[] = {fd, flags & 1, PATH_AT, n1, (flags >> 1) & 0xf, all_rights, all_rights, (flags >> 5) & 0x1f, OUT_AT};
      if (call(g, "path_open", a) == 0) {
        uint32_t opened;
        memcpy(&opened, mem + OUT_AT, 4);
        if (g->nfds < MAX_FDS) g->fds[g->nfds++] = opened;
      }
      break;
    }
    case 1: call(g, "path_create_directory", (wp_slot[]){fd, PATH_AT, n1}); break;
    case 2: call(g, "path_remove_directory", (wp_slot[]){fd, PATH_AT, n1}); break;
    case 3: call(g, "path_unlink_file", (wp_slot[]){fd, PATH_AT, n1}); break;
    case 4: call(g, "path_rename", (wp_slot[]){fd, PATH_AT, n1, fd2, PATH2_AT, n2}); break;
    case 5: call(g, "path_symlink", (wp_slot[]){PATH_AT, n1, fd, PATH2_AT, n2}); break;
    case 6: call(g, "path_link", (wp_slot[]){fd, flags & 1, PATH_AT, n1, fd2, PATH2_AT, n2}); break;
    case 7: call(g, "path_readlink", (wp_slot[]){fd, PATH_AT, n1, BUF_AT, flags, OUT_AT}); break;
    case 8: call(g, "path_filestat_get", (wp_slot[]){fd, flags & 1, PATH_AT, n1, BUF_AT}); break;
    case 9: call(g, "fd_readdir", (wp_slot[]){fd, BUF_AT, 1024, flags % 4, OUT_AT}); break;
    case 10: {
      /* one iovec {BUF_AT + 16, n1} at BUF_AT, the bytes of path 1 */
      uint32_t iov[2] = {BUF_AT + 16, n1};
      memcpy(mem + BUF_AT, iov, sizeof iov);
      memcpy(mem + BUF_AT + 16, p1, n1);
      call(g, "fd_write", (wp_slot[]){fd, BUF_AT, 1, OUT_AT});
      break;
    }
    case 11: call(g, "fd_close", (wp_slot[]){fd}); break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1)
    setenv("WASMPROF_WASI_NO_OPENAT2", "1", 1);
  else
    unsetenv("WASMPROF_WASI_NO_OPENAT2");
  lay_root();
  wp_error err = {0};
  wp_wasi *w = wp_wasi_new(&err);
  if (!w) abort();
  for (int i = 0; i < 3; i++) wp_wasi_set_stdio_callbacks(w, i, NULL, discard, NULL);
  if (wp_wasi_preopen(w, root, "/sandbox", &err)) abort();
  wp_import_value imports[16];
  if (wp_module_import_count(guest) > 16 || wp_wasi_link(w, guest, imports, &err) < 0) abort();
  guest_state g = {0};
  g.ex = wp_exec_new(NULL, &err);
  g.inst = wp_instance_new(guest, imports, wp_module_import_count(guest), g.ex, &err);
  if (!g.ex || !g.inst) abort();
  wp_import_value mv;
  if (!wp_instance_export(g.inst, "memory", 6, &mv)) abort();
  g.mem = mv.u.memory;
  size_t i = 1;
  for (int ops = 0; ops < MAX_OPS && i + 3 <= size; ops++) {
    uint8_t op = data[i], flags = data[i + 1], sel = data[i + 2];
    i += 3;
    uint32_t n1 = i < size ? data[i++] : 0;
    if (n1 > size - i) n1 = (uint32_t)(size - i);
    const uint8_t *p1 = data + i;
    i += n1;
    uint32_t n2 = i < size ? data[i++] : 0;
    if (n2 > size - i) n2 = (uint32_t)(size - i);
    const uint8_t *p2 = data + i;
    i += n2;
    run_op(&g, op, flags, sel, p1, n1, p2, n2);
  }
  wp_instance_free(g.inst);
  wp_exec_free(g.ex);
  wp_wasi_free(w);
  check_outside();
  return 0;
}
