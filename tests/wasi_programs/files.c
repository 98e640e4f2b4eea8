/* files: create, write, read back, seek/tell, pread/pwrite, append,
 * truncate, rename, unlink, mkdir/rmdir, stat, symlinks inside the
 * sandbox, in the preopened directory /sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(x)                                                        \
  do {                                                                  \
    if (!(x)) {                                                         \
      printf("FAILED %s: %s (line %d)\n", #x, strerror(errno), __LINE__); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

int main(void) {
  CHECK(chdir("/sandbox") == 0);
  FILE *f = fopen("notes.txt", "w");
  CHECK(f);
  for (int i = 0; i < 100; i++) fprintf(f, "line %d\n", i);
  CHECK(fclose(f) == 0);

  int fd = open("notes.txt", O_RDWR);
  CHECK(fd >= 0);
  char buf[64] = {0};
  CHECK(lseek(fd, 70, SEEK_SET) == 70);
  CHECK(read(fd, buf, 16) == 16);
  printf("at 70: [%.16s] tell=%ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
  CHECK(pwrite(fd, "XYZ", 3, 5) == 3);
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 12, 0) == 12);
  printf("pread: [%.12s] tell still %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
  off_t end = lseek(fd, 0, SEEK_END);
  printf("size %ld\n", (long)end);
  CHECK(ftruncate(fd, 40) == 0);
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("truncated size %ld regular %d\n", (long)st.st_size, S_ISREG(st.st_mode));
  CHECK(close(fd) == 0);

  fd = open("log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "first\n", 6) == 6);
  CHECK(close(fd) == 0);
  fd = open("log.txt", O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK(write(fd, "second\n", 7) == 7);
  CHECK(close(fd) == 0);

  CHECK(mkdir("sub", 0755) == 0);
  CHECK(mkdir("sub/deeper", 0755) == 0);
  CHECK(rename("log.txt", "sub/deeper/log.txt") == 0);
  CHECK(access("log.txt", F_OK) != 0 && errno == ENOENT);
  CHECK(stat("sub/deeper/log.txt", &st) == 0);
  printf("moved log size %ld\n", (long)st.st_size);
  CHECK(stat("sub/deeper/../deeper/./log.txt", &st) == 0);

  f = fopen("scratch.bin", "wb");
  CHECK(f);
  for (int i = 0; i < 256; i++) fputc(i, f);
  CHECK(fclose(f) == 0);
  CHECK(unlink("scratch.bin") == 0);
  CHECK(mkdir("empty", 0755) == 0);
  CHECK(rmdir("empty") == 0);

  CHECK(symlink("notes.txt", "link") == 0);
  char target[64] = {0};
  ssize_t n = readlink("link", target, sizeof target - 1);
  CHECK(n > 0);
  printf("link -> %s\n", target);
  CHECK(stat("link", &st) == 0);
  printf("through link size %ld\n", (long)st.st_size);
  CHECK(lstat("link", &st) == 0);
  printf("lstat is link %d\n", S_ISLNK(st.st_mode));

  f = fopen("input.txt", "r");
  CHECK(f);
  char line[128];
  while (fgets(line, sizeof line, f)) printf("input: %s", line);
  fclose(f);

  /* errors the program can see */
  printf("open missing: %d\n", open("missing.txt", O_RDONLY) < 0 ? errno : 0);
  printf("mkdir existing: %d\n", mkdir("sub", 0755) < 0 ? errno : 0);
  printf("rmdir non-empty: %d\n", rmdir("sub") < 0 ? errno : 0);
  printf("excl existing: %d\n", open("notes.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 ? errno : 0);
  printf("open dir for write: %d\n", open("sub", O_WRONLY) < 0 ? errno : 0);
  printf("notdir: %d\n", open("notes.txt/x", O_RDONLY) < 0 ? errno : 0);
  return 0;
}
