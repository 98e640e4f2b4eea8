/* exit_code: exit with the status given as argv[1], after buffered output,
 * by returning from main, calling exit() or _Exit(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  const char *how = argc > 2 ? argv[2] : "return";
  printf("exiting with %d via %s", code, how); /* no newline: stays buffered until exit flushes */
  fprintf(stderr, "bye\n");
  if (!strcmp(how, "exit")) exit(code);
  if (!strcmp(how, "_Exit")) {
    fflush(stdout);
    _Exit(code);
  }
  return code;
}
