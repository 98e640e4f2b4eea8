/* stdio: copy stdin to stdout line by line with line numbers and lengths,
 * a formatted summary, and messages on stderr. */
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[256];
  int n = 0;
  size_t total = 0;
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    total += len;
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    printf("%3d|%-10s|%zu\n", ++n, line, len);
  }
  fprintf(stderr, "read %d lines, %zu bytes\n", n, total);
  printf("pi=%.6f e=%g big=%lld hex=%#x\n", 3.14159265358979, 2.718281828, 1234567890123LL, 0xbeef);
  fputs("no newline at the end", stdout);
  fflush(stdout);
  fputs("stderr unbuffered\n", stderr);
  return 0;
}
