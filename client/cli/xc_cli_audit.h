/*
 * xc_cli_audit.h: the `xuncha audit` commands (list, verify), with their
 * own parser like the workflow commands (xc_cli_wf.h).
 */
#ifndef XC_CLI_AUDIT_H
#define XC_CLI_AUDIT_H

#include <stdio.h>

#include "xc_config.h"

/*
 * Runs argv if its command is `audit` (then *handled = 1 and the exit
 * status is returned); otherwise sets *handled = 0 and returns 0.
 */
int xc_cli_audit_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                      int *handled);

/* Prints the usage of `xuncha audit`. */
void xc_cli_audit_usage(FILE *out);

#endif /* XC_CLI_AUDIT_H */
