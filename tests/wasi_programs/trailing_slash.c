/* trailing_slash: paths ending in "/" whose last component is a symlink.
 * The kernel follows a symlink before a trailing slash even under
 * O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, so a runtime that hands "link/" to an
 * *at() call lets a link to "../outsidedir" open, list, stat or re-date a
 * folder outside the sandbox.  Prints the outcome of each attempt
 * (compared with wasmtime's); a listing prints the names it sees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *outcome(int ok) { return ok ? "OK" : strerror(errno); }

static void list(const char *path) {
  errno = 0;
  DIR *d = opendir(path);
  printf("  opendir: %s", outcome(d != NULL));
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)))
      if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) printf(" [%s]", de->d_name);
    closedir(d);
  }
  printf("\n");
}

static void attempt(const char *path) {
  printf("%s\n", path);
  struct stat st;
  int fd;
  errno = 0;
  printf("  open dir: %s\n", outcome((fd = open(path, O_RDONLY | O_DIRECTORY)) >= 0));
  if (fd >= 0) close(fd);
  errno = 0;
  printf("  open: %s\n", outcome((fd = open(path, O_RDONLY)) >= 0));
  if (fd >= 0) close(fd);
  errno = 0;
  printf("  open nofollow: %s\n", outcome((fd = open(path, O_RDONLY | O_NOFOLLOW)) >= 0));
  if (fd >= 0) close(fd);
  errno = 0;
  printf("  create: %s\n", outcome((fd = open(path, O_WRONLY | O_CREAT, 0644)) >= 0));
  if (fd >= 0) close(fd);
  errno = 0;
  printf("  stat: %s\n", outcome(stat(path, &st) == 0));
  errno = 0;
  printf("  lstat: %s\n", outcome(lstat(path, &st) == 0));
  list(path);
  /* Re-date to 1970: an escape would show on the folder outside. */
  struct timespec epoch[2] = {{0, 0}, {0, 0}};
  errno = 0;
  printf("  utimensat: %s\n", outcome(utimensat(AT_FDCWD, path, epoch, 0) == 0));
  errno = 0;
  printf("  utimensat nofollow: %s\n", outcome(utimensat(AT_FDCWD, path, epoch, AT_SYMLINK_NOFOLLOW) == 0));
  errno = 0;
  printf("  mkdir: %s\n", outcome(mkdir(path, 0755) == 0));
  errno = 0;
  printf("  rmdir: %s\n", outcome(rmdir(path) == 0));
  errno = 0;
  printf("  unlink: %s\n", outcome(unlink(path) == 0));
}

int main(void) {
  const char *paths[] = {"/sandbox/escape/", "/sandbox/escape//", "/sandbox/escape/.", "/sandbox/empty_escape/",
                         "/sandbox/abs_dir/", "/sandbox/chain/", "/sandbox/inner_dir/", "/sandbox/file_link/",
                         "/sandbox/sub/", "/sandbox/dangling/"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) attempt(paths[i]);
  errno = 0;
  printf("rename escape/ -> moved: %s\n", outcome(rename("/sandbox/escape/", "/sandbox/moved") == 0));
  errno = 0;
  printf("rename sub -> escape/: %s\n", outcome(rename("/sandbox/sub", "/sandbox/escape/") == 0));
  return 0;
}
