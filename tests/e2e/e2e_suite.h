/*
 * e2e_suite.h: what every e2e suite shares: the harness of the running suite
 * (one server per suite, in its own temporary directory), the suite table,
 * and small assertion helpers.
 */
#ifndef E2E_SUITE_H
#define E2E_SUITE_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "e2e_records.h"
#include "xc_harness.h"

/* The harness of the suite now running; set by e2e_suite_init. */
extern xc_h *e2e_h;

/* Suite init: makes a harness (certs) and starts xunchad. 0 on success. */
int e2e_suite_init(void);
/* Suite cleanup: stops the server (dumping its log tail if a test failed). */
int e2e_suite_cleanup(void);
/* Last test of every suite: SIGTERM stops the server promptly with status 0. */
void e2e_test_server_stops(void);

typedef struct e2e_test {
  const char *name;
  CU_TestFunc fn;
} e2e_test;

typedef struct e2e_suite {
  const char *name; /* ctest e2e_<name> runs `xc_e2e <name>` */
  const e2e_test *tests; /* ends with {NULL, NULL} */
  void (*release)(void); /* frees what the suite kept between tests; may be NULL */
} e2e_suite;

extern const e2e_suite e2e_suite_crud;
extern const e2e_suite e2e_suite_paging;
extern const e2e_suite e2e_suite_access;
extern const e2e_suite e2e_suite_tls;
extern const e2e_suite e2e_suite_limits;
extern const e2e_suite e2e_suite_cli;
extern const e2e_suite e2e_suite_workflow;
extern const e2e_suite e2e_suite_archive;

/* Creates the directory entries of agency:3101:jw (纪委监委) and
 * agency:3101:zzb (组织部) as the city office (test_workflow.c). */
int e2e_directory_seed(xc_err *err) XC_WARN_UNUSED_RESULT;

/* A client of the running suite's server, or a fatal assertion failure. */
#define E2E_CLIENT(var, name)                  \
  xc_client *var = xc_h_client(e2e_h, (name)); \
  CU_ASSERT_PTR_NOT_NULL_FATAL(var)

/*
 * Returns 1 if author is "<cn>#<serial>" with serial the hex serial of the
 * named certificate (compared without case, ':' separators or leading zeros).
 */
int e2e_author_is(const char *author, const char *cn, const char *cert_name);

/* Asserts that a string contains a needle, printing both when it does not. */
#define E2E_CONTAINS(hay, needle)                                                     \
  do {                                                                                \
    const char *e2e_h_ = (hay);                                                       \
    int e2e_ok_ = e2e_h_ != NULL && strstr(e2e_h_, (needle)) != NULL;                 \
    if (!e2e_ok_)                                                                     \
      fprintf(stderr, "\n  %s:%d: expected to find \"%s\" in: %.600s\n", __FILE__,   \
              __LINE__, (needle), e2e_h_ ? e2e_h_ : "(null)");                        \
    CU_ASSERT_TRUE(e2e_ok_);                                                          \
  } while (0)

#endif /* E2E_SUITE_H */
