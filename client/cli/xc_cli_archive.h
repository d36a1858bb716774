/*
 * xc_cli_archive.h: the archive and pool commands of `xuncha`
 * (server/ARCHIVE.md):
 *
 *   xuncha archive put FILE --round|--finding|--progress|--lead ID
 *                  --stage STAGE --kind KIND [--title T] [--retention-years N]
 *                  [--note T] [--media-type T] [--sm3] [--request-id R]
 *   xuncha archive get ID -o FILE          (FILE "-": standard output)
 *   xuncha archive info ID
 *   xuncha archive list --round ID | --attached ID [--stage S] [--include-void]
 *   xuncha archive verify
 *   xuncha pool add|get|list|update ...    (the `inspector` resource)
 *   xuncha pool suggest --target ID [--need finance,law] [--term N] [--limit N]
 *   xuncha pool workload [--term N] [--region-prefix P]
 *
 * Transfers show a progress bar on a terminal (standard error).
 */
#ifndef XC_CLI_ARCHIVE_H
#define XC_CLI_ARCHIVE_H

#include <stdio.h>

#include "xc_config.h"

/*
 * Runs argv if it is an archive or pool command: sets *handled to 1 and
 * returns the exit code (xc_cli.h). Otherwise sets *handled to 0 and
 * returns 0.
 */
int xc_cli_archive_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                        int *handled);

/* Prints the archive and pool commands' help. */
void xc_cli_archive_usage(FILE *out);

#endif /* XC_CLI_ARCHIVE_H */
