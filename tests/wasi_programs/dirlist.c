/* dirlist: list directories (sorted, with types) after creating entries. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    printf("opendir %s failed\n", path);
    return;
  }
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
    char *s = malloc(strlen(e->d_name) + 3);
    sprintf(s, "%c %s", type, e->d_name);
    names[n++] = s;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("%s: %d entries\n", path, n);
  for (int i = 0; i < n; i++) {
    printf("  %s\n", names[i]);
    free(names[i]);
  }
}

int main(void) {
  list("/sandbox");
  mkdir("/sandbox/made", 0755);
  for (int i = 0; i < 40; i++) {
    char p[64];
    snprintf(p, sizeof p, "/sandbox/made/file_with_a_long_name_%02d.txt", i);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
  }
  symlink("file_with_a_long_name_00.txt", "/sandbox/made/alias");
  list("/sandbox/made");
  list("/sandbox/made/.");
  return 0;
}
