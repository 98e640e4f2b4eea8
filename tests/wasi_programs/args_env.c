/* args_env: print the arguments and the environment (sorted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=<%s>\n", i, argv[i]);
  int n = 0;
  while (environ[n]) n++;
  char **copy = malloc((n + 1) * sizeof *copy);
  memcpy(copy, environ, (n + 1) * sizeof *copy);
  qsort(copy, n, sizeof *copy, cmp);
  for (int i = 0; i < n; i++) printf("env %s\n", copy[i]);
  const char *home = getenv("HOME");
  printf("HOME=%s\n", home ? home : "(unset)");
  return argc > 3 ? argc : 0;
}
