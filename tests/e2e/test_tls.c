/*
 * e2e tls: the server takes only mutual TLS with a certificate of its CA and
 * a CN that is a xuncha identity. Refused connections fail the call
 * (UNAVAILABLE) and the server log says why; a refused identity gets
 * UNAUTHENTICATED with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "e2e_suite.h"

#define LOG_WAIT_MS 5000

/* One Health/Check through libxuncha with the given files; returns its code. */
static int health_with(const char *cert, const char *key, xc_err *err) {
  xc_client *c = NULL;
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Grpc__Health__V1__HealthCheckResponse *resp = NULL;
  int rc = xc_h_client_files(e2e_h, xc_h_addr(e2e_h), cert, key, &c, err);
  if (rc == XC_OK) rc = xc_health_check(c, &req, &resp, 5000, err);
  xc_message_free(resp);
  xc_client_destroy(c);
  return rc;
}

/* A call as county A that must work, on the same server address. */
static void expect_valid_cert_works(void) {
  char cert[1024], key[1024];
  xc_err err;
  E2E_EXPECT(health_with(xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "pem", cert, sizeof cert),
                         xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "key", key, sizeof key), &err),
             err, XC_OK);
  {
    /* And a real RPC, not only the health check. */
    Xuncha__V1__Target *t = e2e_target_new(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104",
                                           "TLS 测试单位", &err);
    E2E_EXPECT(t ? XC_OK : err.code, err, XC_OK);
    xc_message_free(t);
  }
}

/* Runs tls_probe.py; returns its printed line (free()) or NULL. */
static char *probe(const char *cert, const char *key) {
  const char *py = xc_h_env("XC_E2E_PYTHON");
  const char *src = xc_h_env("XC_E2E_SRCDIR");
  char script[1024], ca[1024];
  const char *argv[16];
  size_t n = 0;
  xc_h_result res;
  xc_err err;
  char *line = NULL;
  if (src == NULL) {
    fprintf(stderr, "\n  XC_E2E_SRCDIR is not set");
    return NULL;
  }
  (void)snprintf(script, sizeof script, "%s/tls_probe.py", src);
  argv[n++] = py ? py : "/usr/bin/python3";
  argv[n++] = script;
  argv[n++] = "--addr";
  argv[n++] = xc_h_addr(e2e_h);
  argv[n++] = "--ca";
  argv[n++] = xc_h_cert_path(e2e_h, "ca", "pem", ca, sizeof ca);
  if (cert != NULL) {
    argv[n++] = "--cert";
    argv[n++] = cert;
    argv[n++] = "--key";
    argv[n++] = key;
  }
  argv[n] = NULL;
  if (xc_h_run(e2e_h, argv, 30000, &res, &err) != XC_OK) {
    fprintf(stderr, "\n  tls_probe: %s", err.msg);
    return NULL;
  }
  if (res.exit_code != 0)
    fprintf(stderr, "\n  tls_probe exited %d: %s", res.exit_code, res.err);
  else
    line = strdup(res.out);
  xc_h_result_free(&res);
  return line;
}

static void test_no_client_certificate(void) {
  char *line = probe(NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(line);
  /* TLS lets it connect so the server can say why it is refused (issue 7):
   * the client and the server log both name the reason. */
  E2E_CONTAINS(line, "STATUS UNAUTHENTICATED no client certificate was presented");
  free(line);
  CU_ASSERT_TRUE(xc_h_log_wait(e2e_h, "no client certificate was presented", LOG_WAIT_MS));
  expect_valid_cert_works();
  {
    /* The probe itself is sound: with county A's certificate it gets OK. */
    char cert[1024], key[1024];
    line = probe(xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "pem", cert, sizeof cert),
                 xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "key", key, sizeof key));
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    E2E_CONTAINS(line, "STATUS OK");
    free(line);
  }
}

static void test_certificate_of_another_ca(void) {
  char dir[1024], cert[1200], key[1200];
  xc_err err;
  int rc;
  (void)snprintf(dir, sizeof dir, "%s/foreign", xc_h_dir(e2e_h));
  E2E_EXPECT(xc_h_certs(e2e_h, &err, "ca", dir, "--name", "foreign CA", (const char *)NULL),
             err, XC_OK);
  E2E_EXPECT(xc_h_certs(e2e_h, &err, "client", dir, "--cn", "office:310104", "--out",
                        "county-a", (const char *)NULL),
             err, XC_OK);
  (void)snprintf(cert, sizeof cert, "%s/county-a.pem", dir);
  (void)snprintf(key, sizeof key, "%s/county-a.key", dir);
  rc = health_with(cert, key, &err);
  E2E_EXPECT(rc, err, XC_EUNAUTHENTICATED);
  E2E_CONTAINS(err.msg, "is not signed by this server's CA");
  CU_ASSERT_TRUE(xc_h_log_wait(e2e_h, "is not signed by this server's CA", LOG_WAIT_MS));
  /* The same identity from the right CA works on the same address. */
  expect_valid_cert_works();
  /* The foreign certificate is refused again after a good call (no cached session). */
  E2E_EXPECT(health_with(cert, key, &err), err, XC_EUNAUTHENTICATED);
}

static void test_malformed_cn(void) {
  static const struct {
    const char *name, *cn;
  } bad[] = {{"bogus", "bogus"},
             {"five-digits", "office:31010"},
             {"no-unit", "agency:3101"},
             {"extra-part", "office:3101:x"},
             {"upper-unit", "agency:3101:JW"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char cert[1024], key[1024];
    xc_err err;
    int rc;
    E2E_EXPECT(xc_h_raw_client_cert(e2e_h, bad[i].name, bad[i].cn, &err), err, XC_OK);
    rc = health_with(xc_h_cert_path(e2e_h, bad[i].name, "pem", cert, sizeof cert),
                     xc_h_cert_path(e2e_h, bad[i].name, "key", key, sizeof key), &err);
    /* Health/Check is open to any authenticated peer; use a real RPC too. */
    if (rc == XC_OK) {
      xc_client *c = NULL;
      Xuncha__V1__ListTargetsRequest lr = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
      Xuncha__V1__ListTargetsResponse *resp = NULL;
      rc = xc_h_client_files(e2e_h, xc_h_addr(e2e_h), cert, key, &c, &err);
      if (rc == XC_OK) rc = xc_list_targets(c, &lr, &resp, XC_H_CALL_MS, &err);
      xc_message_free(resp);
      xc_client_destroy(c);
    }
    if (rc != XC_EUNAUTHENTICATED)
      fprintf(stderr, "\n  CN \"%s\": expected UNAUTHENTICATED, got %s", bad[i].cn,
              xc_code_name(rc));
    E2E_EXPECT(rc, err, XC_EUNAUTHENTICATED);
    if (rc == XC_EUNAUTHENTICATED) E2E_CONTAINS(err.msg, bad[i].cn);
  }
  expect_valid_cert_works();
}

/* The server's own certificate (CN localhost, serverAuth) is no client identity. */
static void test_server_cert_as_client(void) {
  char cert[1024], key[1024];
  xc_client *c = NULL;
  Xuncha__V1__ListTargetsRequest lr = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
  Xuncha__V1__ListTargetsResponse *resp = NULL;
  xc_err err;
  int rc = xc_h_client_files(e2e_h, xc_h_addr(e2e_h),
                             xc_h_cert_path(e2e_h, "server", "pem", cert, sizeof cert),
                             xc_h_cert_path(e2e_h, "server", "key", key, sizeof key), &c, &err);
  if (rc == XC_OK) rc = xc_list_targets(c, &lr, &resp, XC_H_CALL_MS, &err);
  if (rc != XC_EUNAVAILABLE && rc != XC_EUNAUTHENTICATED)
    fprintf(stderr, "\n  server certificate as client: got %s: %s", xc_code_name(rc),
            rc ? err.msg : "(accepted!)");
  CU_ASSERT_TRUE(rc == XC_EUNAVAILABLE || rc == XC_EUNAUTHENTICATED);
  xc_message_free(resp);
  xc_client_destroy(c);
}

static const e2e_test tls_tests[] = {
    {"no client certificate: UNAVAILABLE, logged", test_no_client_certificate},
    {"certificate of another CA: UNAVAILABLE, logged", test_certificate_of_another_ca},
    {"malformed CN: UNAUTHENTICATED with reason", test_malformed_cn},
    {"server certificate is no client identity", test_server_cert_as_client},
    {NULL, NULL}};

const e2e_suite e2e_suite_tls = {"tls", tls_tests, NULL};
