/*
 * xc_cli_wf.h: the workflow commands of `xuncha` (server/WORKFLOWS.md):
 *
 *   xuncha round advance ID --to STAGE [--date D] [--etag E]
 *   xuncha rectification progress FINDING --text T [--step plan|progress|done]
 *                                 [--date D] [--evidence REF]... [--etag E]
 *   xuncha rectification verify FINDING [--date D] [--note T] [--etag E]
 *   xuncha rectification revoke FINDING --reason T [--date D] [--etag E]
 *   xuncha rectification history FINDING [--include-void]
 *   xuncha rectification overdue|paper-only|stalled|reopened [--round ID]
 *                                 [--target ID] [--region-prefix P]
 *   xuncha rectification due --days N [--round ID] ...
 *   xuncha rectification rate [--round ID] [--target ID] [--region-prefix P]
 *   xuncha lead dispose ID --disposal D [--date D] [--note T]
 *                          [--outcome NAME:KIND:MEASURE]... [--etag E]
 *   xuncha lead dispositions ID [--include-void]
 *   xuncha <resource> void ID --reason T [--etag E]
 *
 * The directory (xuncha directory create|get|list|update) is a table-driven
 * resource of xc_resources.c, and --include-void on every list is handled by
 * xc_cli.c.
 */
#ifndef XC_CLI_WF_H
#define XC_CLI_WF_H

#include <stdio.h>

#include "xc_config.h"

/*
 * Runs argv if it is a workflow command: sets *handled to 1 and returns the
 * exit code (xc_cli.h). Otherwise sets *handled to 0 and returns 0, and the
 * caller runs the table-driven commands.
 */
int xc_cli_wf_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env, int *handled);

/* Prints the workflow commands' help. */
void xc_cli_wf_usage(FILE *out);

#endif /* XC_CLI_WF_H */
