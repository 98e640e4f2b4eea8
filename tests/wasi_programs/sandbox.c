/* sandbox: every way out of the preopened directory must fail; prints the
 * errno of each attempt (compared with wasmtime's). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_open(const char *path, int flags) {
  errno = 0;
  int fd = open(path, flags, 0644);
  printf("open %-40s flags %4x -> %s\n", path, flags, fd >= 0 ? "OPENED" : strerror(errno));
  if (fd >= 0) close(fd);
}

int main(void) {
  const char *paths[] = {"/sandbox/../outside.txt", "/etc/passwd", "/sandbox/escape/outside.txt",
                         "/sandbox/abs_link", "/sandbox/rel_link", "/sandbox/sub/../../outside.txt",
                         "/sandbox/sub/../inside.txt", "/sandbox/loop", "/sandbox/dotdot_link/outside.txt",
                         "/sandbox/inner_link"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    try_open(paths[i], O_RDONLY);
    try_open(paths[i], O_WRONLY | O_CREAT);
  }
  struct stat st;
  errno = 0;
  printf("stat ../outside.txt: %s\n", stat("/sandbox/../outside.txt", &st) == 0 ? "OK" : strerror(errno));
  errno = 0;
  printf("mkdir ../made: %s\n", mkdir("/sandbox/../made", 0755) == 0 ? "OK" : strerror(errno));
  errno = 0;
  printf("unlink escape/outside.txt: %s\n", unlink("/sandbox/escape/outside.txt") == 0 ? "OK" : strerror(errno));
  errno = 0;
  printf("rename out: %s\n", rename("/sandbox/inside.txt", "/sandbox/../stolen.txt") == 0 ? "OK" : strerror(errno));
  errno = 0;
  printf("opendir escape: %s\n", opendir("/sandbox/escape") ? "OPENED" : strerror(errno));
  return 0;
}
