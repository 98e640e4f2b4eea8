/* more_fs: hard links, times, flags, sync, advice, sparse writes, renames
 * over existing entries, poll on a clock, and error codes of misuse. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr)                                                   \
  do {                                                                      \
    errno = 0;                                                              \
    long r_ = (long)(expr);                                                 \
    printf("%-28s -> %ld%s%s\n", label, r_, errno ? " errno " : "", errno ? strerror(errno) : ""); \
  } while (0)

int main(void) {
  chdir("/sandbox");
  int fd = open("a.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  SHOW("write", write(fd, "0123456789", 10));
  SHOW("fsync", fsync(fd));
  SHOW("fdatasync", fdatasync(fd));
  SHOW("fadvise", posix_fadvise(fd, 0, 10, POSIX_FADV_SEQUENTIAL));
  SHOW("sparse seek", lseek(fd, 100, SEEK_SET));
  SHOW("sparse write", write(fd, "end", 3));
  struct stat st;
  fstat(fd, &st);
  printf("size after sparse write %ld\n", (long)st.st_size);
  SHOW("seek negative", lseek(fd, -1, SEEK_SET));
  SHOW("fcntl getfl rdwr", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
  SHOW("fcntl setfl append", fcntl(fd, F_SETFL, O_APPEND));
  SHOW("fcntl getfl append", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
  SHOW("append write", write(fd, "!", 1));
  fstat(fd, &st);
  printf("size after append %ld\n", (long)st.st_size);
  struct timespec times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  SHOW("futimens", futimens(fd, times));
  fstat(fd, &st);
  printf("mtime %lld.%09ld atime %lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
         (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
  SHOW("close", close(fd));
  SHOW("close again", close(fd));
  SHOW("read closed", read(fd, &st, 1));

  SHOW("link", link("a.txt", "b.txt"));
  stat("a.txt", &st);
  printf("nlink %ld\n", (long)st.st_nlink);
  struct timespec t2[2] = {{5, 0}, {0, UTIME_OMIT}};
  SHOW("utimensat", utimensat(AT_FDCWD, "b.txt", t2, 0));
  stat("a.txt", &st);
  printf("atime via link %lld mtime kept %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
  SHOW("rename over existing", rename("b.txt", "c.txt") == 0 && rename("c.txt", "a.txt") == 0);
  SHOW("mkdir d1", mkdir("d1", 0755));
  SHOW("mkdir d2", mkdir("d2", 0755));
  SHOW("rename dir over empty", rename("d1", "d2"));
  SHOW("rename file over dir", rename("a.txt", "d2"));
  SHOW("unlink dir", unlink("d2"));
  SHOW("rmdir file", rmdir("a.txt"));
  SHOW("open trunc readonly file", open("a.txt", O_RDONLY | O_DIRECTORY));
  SHOW("symlink dangling", symlink("nowhere", "dangling"));
  SHOW("open dangling", open("dangling", O_RDONLY));
  SHOW("open dangling creat", open("dangling", O_WRONLY | O_CREAT, 0644) >= 0);
  SHOW("nowhere exists now", access("nowhere", F_OK));
  SHOW("open nofollow link", open("dangling", O_RDONLY | O_NOFOLLOW));
  SHOW("mkdir trailing slash", mkdir("d3/", 0755));
  SHOW("stat trailing slash dir", stat("d3/", &st));
  SHOW("stat trailing slash file", stat("a.txt/", &st));
  SHOW("ftruncate readonly", ftruncate(open("a.txt", O_RDONLY), 0));
  SHOW("write to readonly", write(open("a.txt", O_RDONLY), "x", 1));
  SHOW("read from writeonly", read(open("a.txt", O_WRONLY), &st, 1));
  SHOW("isatty stdout", isatty(1));
  SHOW("lseek stdout", lseek(1, 0, SEEK_CUR) >= 0);
  struct pollfd none;
  SHOW("poll 10ms", poll(&none, 0, 10));
  fd = open("a.txt", O_RDONLY);
  char buf[8] = {0};
  SHOW("pread past end", pread(fd, buf, 8, 1000));
  SHOW("pread middle", pread(fd, buf, 4, 3));
  printf("buf %.4s\n", buf);
  return 0;
}
