/* stdio_moves: move the standard descriptors around as daemons and shells
 * do (close 1 and 2 and open files in their place, fd_renumber, freopen)
 * and log every descriptor number the runtime hands out, so that a host
 * allocating numbers differently from wasmtime shows in the log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static int logfd = -1;

static void say(const char *what, long value) {
  char line[160];
  int n = snprintf(line, sizeof line, "%s: %ld\n", what, value);
  if (write(logfd, line, (size_t)n) != n) _exit(9);
}

static int open_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  return fd >= 0 ? fd : -errno;
}

int main(void) {
  logfd = open_file("/sandbox/log.txt");
  say("log", logfd);
  int first = open_file("/sandbox/a.txt"), second = open_file("/sandbox/b.txt");
  say("first", first);
  say("second", second);

  /* Close stdout and stderr, then open two files: which numbers come back? */
  say("close 1", close(1));
  say("close 2", close(2));
  int x = open_file("/sandbox/x.txt"), y = open_file("/sandbox/y.txt");
  say("after closing 1 and 2, open", x);
  say("then open", y);
  say("write to 1", write(1, "one\n", 4));
  say("write to 2", write(2, "two\n", 4));

  /* Close a file in the middle and one at the top. */
  say("close first", close(first));
  say("close the top one", close(y));
  say("close second", close(second));
  say("open", open_file("/sandbox/c.txt"));
  say("open", open_file("/sandbox/d.txt"));
  say("open", open_file("/sandbox/e.txt"));

  /* fd_renumber onto a used number, onto itself, from and onto closed ones. */
  int z = open_file("/sandbox/z.txt");
  say("open z", z);
  say("renumber z onto 1", __wasi_fd_renumber((__wasi_fd_t)z, 1));
  say("write to 1 (now z)", write(1, "z via 1\n", 8));
  say("open after renumber", open_file("/sandbox/f.txt"));
  say("renumber 1 onto itself", __wasi_fd_renumber(1, 1));
  say("renumber a closed one", __wasi_fd_renumber(40, 1));
  say("renumber onto a closed one", __wasi_fd_renumber(1, 41));

  /* freopen reuses the FILE (wasi-libc opens, then renumbers onto the old number). */
  FILE *f = freopen("/sandbox/reopened.txt", "w", stdout);
  say("freopen stdout", f ? fileno(f) : -errno);
  if (f) {
    printf("printed after freopen\n");
    fflush(stdout);
  }
  say("open last", open_file("/sandbox/g.txt"));
  return 0;
}
