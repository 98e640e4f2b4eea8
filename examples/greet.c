/* greet.c: a small WASI command for the README's examples: it greets
 * $NAME, lists its arguments, prints /data/greeting.txt from a preopened
 * directory and the first line of its standard input, and exits with the
 * number of arguments beyond two (0, 1, ...) as its status.  Built with -g,
 * so it has DWARF lines; greet.wasm is committed (build.sh rebuilds it). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *name = getenv("NAME");
  printf("hello %s,", name ? name : "stranger");
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
  FILE *f = fopen("/data/greeting.txt", "r");
  if (f) {
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    printf("/data/greeting.txt: %s", text);
    fclose(f);
  }
  char line[256];
  if (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);
  return argc > 3 ? argc - 3 : 0;
}
