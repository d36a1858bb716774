/* xc_main.c: the `xuncha` command line tool; all of it is in xc_cli.c. */
#include <stdio.h>
#include <stdlib.h>

#include "xc_cli.h"

/* getenv returns char *, the CLI's lookup type returns const char *. */
static const char *xc__getenv(const char *name) {
  return getenv(name);
}

int main(int argc, char **argv) {
  return xc_cli_main(argc, argv, stdout, stderr, xc__getenv);
}
