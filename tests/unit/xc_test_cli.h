/*
 * xc_test_cli.h: what the unit tests of the xuncha command line share
 * (test_cli_ops, test_cli_sync): running the whole CLI in-process with its
 * output captured. Header-only (static inline); include it after CUnit.
 */
#ifndef XC_TEST_CLI_H
#define XC_TEST_CLI_H

#include <CUnit/Basic.h>
#include <stdio.h>

#include "xc_cli.h"

/*
 * Runs the CLI on argv (NULL-terminated) with env as its environment;
 * returns the exit code, the output in *out and the errors in *errs (the
 * caller frees both).
 */
static inline int xc_test_cli_run(char **argv, xc_getenv_fn env, char **out, char **errs) {
  size_t n_out = 0, n_err = 0;
  FILE *o = open_memstream(out, &n_out);
  FILE *e = open_memstream(errs, &n_err);
  int argc = 0, code;
  while (argv[argc] != NULL) argc++;
  CU_ASSERT_PTR_NOT_NULL_FATAL(o);
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  code = xc_cli_main(argc, argv, o, e, env);
  fclose(o);
  fclose(e);
  return code;
}

#endif /* XC_TEST_CLI_H */
