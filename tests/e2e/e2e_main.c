/*
 * xc_e2e: the end-to-end test runner. `xc_e2e SUITE` runs one suite (each
 * ctest e2e_<suite> runs one, so they can run in parallel, each with its own
 * server); `xc_e2e` alone runs them all. Exits 1 if anything failed.
 */
#include <CUnit/Basic.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e_suite.h"

xc_h *e2e_h = NULL;

static const e2e_suite *const e2e__suites[] = {
    &e2e_suite_crud, &e2e_suite_paging, &e2e_suite_access,
    &e2e_suite_tls,  &e2e_suite_limits, &e2e_suite_cli,    &e2e_suite_workflow, &e2e_suite_archive,
};
#define E2E_N_SUITES (sizeof e2e__suites / sizeof e2e__suites[0])

static unsigned e2e__failures_at_start;

int e2e_suite_init(void) {
  xc_err err;
  if (xc_h_create(&e2e_h, &err) != XC_OK) {
    fprintf(stderr, "\ne2e: cannot make the harness: %s\n", err.msg);
    return 1;
  }
  if (xc_h_server_start(e2e_h, &err) != XC_OK) {
    char *log = xc_h_server_log(e2e_h);
    fprintf(stderr, "\ne2e: cannot start xunchad: %s\n--- server log ---\n%s\n---\n",
            err.msg, log ? log : "");
    free(log);
    xc_h_destroy(e2e_h);
    e2e_h = NULL;
    return 1;
  }
  /* Leads are sent to directory entries: every suite starts with the
   * city's commission (jw) and organization department (zzb) listed. */
  if (e2e_directory_seed(&err) != XC_OK) {
    fprintf(stderr, "\ne2e: cannot seed the directory: %s\n", err.msg);
    xc_h_destroy(e2e_h);
    e2e_h = NULL;
    return 1;
  }
  e2e__failures_at_start = CU_get_number_of_failures();
  return 0;
}

int e2e_suite_cleanup(void) {
  CU_pSuite cur = CU_get_current_suite();
  for (size_t i = 0; cur != NULL && i < E2E_N_SUITES; i++)
    if (e2e__suites[i]->release != NULL && strcmp(cur->pName, e2e__suites[i]->name) == 0)
      e2e__suites[i]->release();
  if (e2e_h == NULL) return 0;
  if (CU_get_number_of_failures() != e2e__failures_at_start) {
    char *log = xc_h_server_log(e2e_h);
    size_t n = log ? strlen(log) : 0;
    const size_t tail = 6000;
    fprintf(stderr, "\n--- xunchad log (last %zu bytes) ---\n%s\n---\n", tail,
            log ? (n > tail ? log + n - tail : log) : "");
    free(log);
  }
  xc_h_destroy(e2e_h);
  e2e_h = NULL;
  return 0;
}

void e2e_test_server_stops(void) {
  int64_t ms = 0;
  int status;
  CU_ASSERT_PTR_NOT_NULL_FATAL(e2e_h);
  /* Idle connections are closed first: a stop with idle clients connected is
   * its own test (crud suite), so its outcome is not repeated in every suite. */
  xc_h_clients_close(e2e_h);
  status = xc_h_server_stop(e2e_h, &ms);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    fprintf(stderr, "\n  xunchad stop: status 0x%x after %lld ms\n", (unsigned)status,
            (long long)ms);
  CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CU_ASSERT_TRUE(ms < 5000);
}

/* Normalizes a hex serial: uppercase, no ':' and no leading zeros. */
static void e2e__norm_serial(const char *in, char *out, size_t size) {
  size_t n = 0;
  int leading = 1;
  for (; *in != '\0' && n + 1 < size; in++) {
    char ch = *in;
    if (ch == ':') continue;
    if (leading && ch == '0') continue;
    leading = 0;
    out[n++] = (char)toupper((unsigned char)ch);
  }
  out[n] = '\0';
}

int e2e_author_is(const char *author, const char *cn, const char *cert_name) {
  char want[128], got[128], raw[128];
  size_t cn_len = strlen(cn);
  if (author == NULL || strncmp(author, cn, cn_len) != 0 || author[cn_len] != '#') return 0;
  if (xc_h_cert_serial(e2e_h, cert_name, raw, sizeof raw) != XC_OK) return 0;
  e2e__norm_serial(raw, want, sizeof want);
  e2e__norm_serial(author + cn_len + 1, got, sizeof got);
  return want[0] != '\0' && strcmp(want, got) == 0;
}

static int e2e__add(const e2e_suite *s) {
  CU_pSuite cs = CU_add_suite(s->name, e2e_suite_init, e2e_suite_cleanup);
  if (cs == NULL) return -1;
  for (const e2e_test *t = s->tests; t->name != NULL; t++)
    if (CU_add_test(cs, t->name, t->fn) == NULL) return -1;
  if (CU_add_test(cs, "server stops on SIGTERM", e2e_test_server_stops) == NULL) return -1;
  return 0;
}

int main(int argc, char **argv) {
  unsigned failed;
  int matched = 0;
  /* A CLI or server child dying must not kill the runner. */
  (void)signal(SIGPIPE, SIG_IGN);
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  for (size_t i = 0; i < E2E_N_SUITES; i++) {
    if (argc > 1 && strcmp(argv[1], e2e__suites[i]->name) != 0) continue;
    matched = 1;
    if (e2e__add(e2e__suites[i]) != 0) {
      CU_cleanup_registry();
      return 2;
    }
  }
  if (!matched) {
    fprintf(stderr, "usage: %s [", argv[0]);
    for (size_t i = 0; i < E2E_N_SUITES; i++)
      fprintf(stderr, "%s%s", i ? "|" : "", e2e__suites[i]->name);
    fprintf(stderr, "]\n");
    CU_cleanup_registry();
    return 2;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
           CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed != 0 ? 1 : 0;
}
