/*
 * test_server_ops: the operations parts of xunchad without a network: the
 * config file (xc_conf), the call counters (xc_stats), the reflection
 * lookups over the embedded descriptor set (xc_reflect), the request ids of
 * the log, and GetStats's access rule and figures on a temporary store.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "xc_conf.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_reflect.h"
#include "xc_stats.h"
#include "xuncha/v1/admin.pb-c.h"

static char g_tmp[256];

static int suite_init(void) {
  (void)snprintf(g_tmp, sizeof g_tmp, "%s/xc-server-ops-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  return mkdtemp(g_tmp) == NULL ? -1 : 0;
}

static int suite_clean(void) {
  char cmd[400];
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to g_tmp/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text) {
  static char path[512];
  FILE *f;
  (void)snprintf(path, sizeof path, "%s/%s", g_tmp, name);
  f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT(fputs(text, f) >= 0);
  CU_ASSERT_EQUAL(fclose(f), 0);
  return path;
}

/* ------------------------------------------------------------- config */

static void test_conf_good(void) {
  xc_conf c;
  xc_err err;
  const char *p = write_file("good.conf",
                             "# comment\n[server]\nlisten = 0.0.0.0:7443\nworkers = 16\n"
                             "[storage]\ndata = /var/lib/xuncha ; inline comment\nmap_size = 2G\n"
                             "[log]\nlevel = warn\ntarget = syslog\n");
  xc_conf_defaults(&c);
  CU_ASSERT_EQUAL_FATAL(xc_conf_load(&c, p, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(c.listen, "0.0.0.0:7443");
  CU_ASSERT_EQUAL(c.workers, 16);
  CU_ASSERT_EQUAL(c.cq_threads, 1); /* default, not set */
  CU_ASSERT_STRING_EQUAL(c.data, "/var/lib/xuncha");
  CU_ASSERT_EQUAL(c.map_size, 2ull << 30);
  CU_ASSERT_EQUAL(c.log_level, XC_LOG_WARN);
  CU_ASSERT_EQUAL(c.log_target, XC_LOG_SYSLOG);
  CU_ASSERT(c.set & XC_CONF_LISTEN);
  CU_ASSERT(!(c.set & XC_CONF_CQ_THREADS));
}

static void test_conf_errors_name_the_line(void) {
  static const struct {
    const char *text;
    const char *want;
  } cases[] = {
      {"[server]\nlisten = a:1\n\nbogus = 1\n", ":4: unknown key 'bogus' in [server]"},
      {"[nope]\nx = 1\n", ":2: unknown section [nope]"},
      {"[server]\nworkers = 300\n", ":2: workers must be a number from 1 to 256"},
      {"[server]\ncq_threads = two\n", ":2: cq_threads must be a number"},
      {"[storage]\nmap_size = 100\n", ":2: map_size must be a size from 1M"},
      {"[log]\nlevel = verbose\n", ":2: level must be debug, info, warn or error"},
      {"[tls]\ncert = a\ncert = b\n", ":3: cert is given twice"},
      {"[server\nlisten = a:1\n", ":1: not a '[section]'"},
      {"[tls]\ncert =\n", ":2: cert must be 1 to"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    xc_conf c;
    xc_err err;
    char name[32];
    const char *p;
    (void)snprintf(name, sizeof name, "bad%zu.conf", i);
    p = write_file(name, cases[i].text);
    xc_conf_defaults(&c);
    CU_ASSERT_EQUAL(xc_conf_load(&c, p, &err), XC_EINVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].want));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, name));
    if (strstr(err.msg, cases[i].want) == NULL) fprintf(stderr, "\n  case %zu: %s\n", i, err.msg);
  }
}

static void test_conf_missing_and_merge(void) {
  xc_conf flags, file;
  xc_err err;
  char path[400];
  (void)snprintf(path, sizeof path, "%s/none.conf", g_tmp);
  xc_conf_defaults(&file);
  CU_ASSERT_EQUAL(xc_conf_load(&file, path, &err), XC_ENOT_FOUND);
  /* A flag wins over the file, key by key. */
  xc_conf_defaults(&flags);
  CU_ASSERT_EQUAL(xc_conf_set(&flags, "server", "workers", "4", &err), XC_OK);
  CU_ASSERT_EQUAL(xc_conf_set(&file, "server", "workers", "12", &err), XC_OK);
  CU_ASSERT_EQUAL(xc_conf_set(&file, "storage", "data", "/d", &err), XC_OK);
  xc_conf_merge(&flags, &file);
  CU_ASSERT_EQUAL(flags.workers, 4);
  CU_ASSERT_STRING_EQUAL(flags.data, "/d");
  CU_ASSERT(flags.set & XC_CONF_DATA);
}

static void test_conf_sizes(void) {
  unsigned long long v = 0;
  CU_ASSERT_EQUAL(xc_conf_parse_size("64M", 0, ~0ull, &v), 0);
  CU_ASSERT_EQUAL(v, 64ull << 20);
  CU_ASSERT_EQUAL(xc_conf_parse_size("1t", 0, ~0ull, &v), 0);
  CU_ASSERT_EQUAL(v, 1ull << 40);
  CU_ASSERT_EQUAL(xc_conf_parse_size("4096", 0, ~0ull, &v), 0);
  CU_ASSERT_EQUAL(v, 4096);
  CU_ASSERT_EQUAL(xc_conf_parse_size("", 0, ~0ull, &v), -1);
  CU_ASSERT_EQUAL(xc_conf_parse_size("M", 0, ~0ull, &v), -1);
  CU_ASSERT_EQUAL(xc_conf_parse_size("-1M", 0, ~0ull, &v), -1);
  CU_ASSERT_EQUAL(xc_conf_parse_size("99999999999T", 0, ~0ull, &v), -1);
  CU_ASSERT_EQUAL(xc_conf_parse_size("2K", 4096, ~0ull, &v), -1);
}

/* -------------------------------------------------------------- stats */

static const xc_method *find_method(const char *path) {
  size_t n = 0;
  const xc_method *m = xc_methods(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(m[i].path, path) == 0) return &m[i];
  return NULL;
}

static const xc_stats_row *find_row(const xc_stats_row *rows, size_t n, const char *path) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].method, path) == 0) return &rows[i];
  return NULL;
}

static void test_stats_counts_and_percentiles(void) {
  const xc_method *m = find_method("/xuncha.v1.Rounds/ListGroups");
  xc_stats_row *rows = calloc(XC_STATS_MAX_METHODS + 1, sizeof *rows);
  const xc_stats_row *r;
  size_t n;
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
  /* 98 fast calls, one slow, one failed: p50 in the 100 µs bucket, p99
   * where the slow one is counted last. */
  for (int i = 0; i < 98; i++) xc_stats_call(m, XC_OK, 80);
  xc_stats_call(m, XC_OK, 30000);
  xc_stats_call(m, XC_ENOT_FOUND, 400);
  xc_stats_call(NULL, XC_EUNIMPLEMENTED, 10);
  n = xc_stats_read(rows, XC_STATS_MAX_METHODS + 1);
  r = find_row(rows, n, "/xuncha.v1.Rounds/ListGroups");
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  CU_ASSERT_EQUAL(r->calls, 100);
  CU_ASSERT_EQUAL(r->by_code[0], 99);
  CU_ASSERT_EQUAL(r->by_code[5], 1); /* NOT_FOUND */
  CU_ASSERT_EQUAL(r->sum_us, 98 * 80 + 30000 + 400);
  CU_ASSERT_EQUAL(xc_stats_percentile(r, 0.50), 100);
  CU_ASSERT_EQUAL(xc_stats_percentile(r, 0.98), 100);
  CU_ASSERT_EQUAL(xc_stats_percentile(r, 0.99), 500);
  CU_ASSERT_EQUAL(xc_stats_percentile(r, 1.0), 50000);
  r = find_row(rows, n, "other");
  CU_ASSERT_PTR_NOT_NULL(r);
  if (r != NULL) CU_ASSERT_EQUAL(r->by_code[12], 1);
  /* Methods never called are left out. */
  CU_ASSERT_PTR_NULL(find_row(rows, n, "/xuncha.v1.Leads/UpdateLead"));
  free(rows);
}

/* --------------------------------------------------------- reflection */

static void collect(void *ctx, const char *name) {
  char *buf = ctx;
  size_t used = strlen(buf);
  (void)snprintf(buf + used, 2048 - used, "%s;", name);
}

static void test_reflect(void) {
  xc_reflect_file files[XC_REFLECT_MAX_FILES];
  char names[2048] = "";
  xc_err err;
  int n;
  CU_ASSERT(xc_descriptor_set_len > 1000);
  n = xc_reflect_services(collect, names);
  CU_ASSERT(n >= 8);
  CU_ASSERT_PTR_NOT_NULL(strstr(names, "xuncha.v1.Targets;"));
  CU_ASSERT_PTR_NOT_NULL(strstr(names, "xuncha.v1.Admin;"));
  CU_ASSERT_PTR_NOT_NULL(strstr(names, "grpc.health.v1.Health;"));
  CU_ASSERT_PTR_NOT_NULL(strstr(names, "grpc.reflection.v1alpha.ServerReflection;"));
  /* Every service listed is one xunchad serves (the method table). */
  {
    size_t nm = 0;
    const xc_method *m = xc_methods(&nm);
    char *save = names, *tok;
    while ((tok = strchr(save, ';')) != NULL) {
      int served = 0;
      *tok = '\0';
      for (size_t i = 0; i < nm && !served; i++)
        served = strncmp(m[i].path + 1, save, strlen(save)) == 0 &&
                 m[i].path[1 + strlen(save)] == '/';
      CU_ASSERT(served);
      if (!served) fprintf(stderr, "\n  listed but not served: %s\n", save);
      save = tok + 1;
    }
  }
  n = xc_reflect_find(NULL, "xuncha.v1.Target", files, &err);
  CU_ASSERT(n >= 1);
  n = xc_reflect_find(NULL, "xuncha.v1.Targets.GetTarget", files, &err);
  CU_ASSERT(n >= 1);
  n = xc_reflect_find("xuncha/v1/admin.proto", NULL, files, &err);
  CU_ASSERT_EQUAL(n, 1);
  n = xc_reflect_find(NULL, "grpc.reflection.v1.ServerReflectionRequest", files, &err);
  CU_ASSERT_EQUAL(n, 1);
  /* Nested names resolve; near misses do not. */
  CU_ASSERT_EQUAL(xc_reflect_find(NULL, "xuncha.v1.Targ", files, &err), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_reflect_find(NULL, "xuncha.v1.Target.nosuch", files, &err), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_reflect_find("nosuch.proto", NULL, files, &err), XC_ENOT_FOUND);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nosuch.proto"));
}

/* ---------------------------------------------------------------- log */

static void test_request_ids(void) {
  char a[XC_LOG_REQ_ID_MAX], b[XC_LOG_REQ_ID_MAX];
  char longid[100];
  xc_log_request_id(a, "abc-123:x.y_z", 13);
  CU_ASSERT_STRING_EQUAL(a, "abc-123:x.y_z");
  xc_log_request_id(a, "bad id", 6); /* a space: replaced */
  CU_ASSERT_EQUAL(strlen(a), 16);
  xc_log_request_id(b, NULL, 0);
  CU_ASSERT_STRING_NOT_EQUAL(a, b);
  memset(longid, 'a', sizeof longid);
  xc_log_request_id(a, longid, 65);
  CU_ASSERT_EQUAL(strlen(a), 16);
  xc_log_request_id(a, longid, 64);
  CU_ASSERT_EQUAL(strlen(a), 64);
  {
    xc_log_level l;
    CU_ASSERT_EQUAL(xc_log_level_parse("debug", &l), 0);
    CU_ASSERT_EQUAL(l, XC_LOG_DEBUG);
    CU_ASSERT_EQUAL(xc_log_level_parse("loud", &l), -1);
  }
}

/* The log's time stamp (its seconds part is kept per thread between calls)
 * and the access line's generated id and latency, written without printf. */
static void test_log_formats(void) {
  char t1[40], t2[40], small[5], want[40], rid[XC_LOG_REQ_ID_MAX];
  /* The log reads CLOCK_REALTIME; time() may lag it by a tick. */
  struct timespec ts;
  time_t before, after;
  struct tm tm;
  int ok_time = 0;
  clock_gettime(CLOCK_REALTIME, &ts);
  before = ts.tv_sec;
  xc_log_time(t1, sizeof t1);
  xc_log_time(t2, sizeof t2);
  clock_gettime(CLOCK_REALTIME, &ts);
  after = ts.tv_sec;
  CU_ASSERT_EQUAL(strlen(t1), 24);
  CU_ASSERT_EQUAL(t1[10], 'T');
  CU_ASSERT_EQUAL(t1[19], '.');
  CU_ASSERT_EQUAL(t1[23], 'Z');
  CU_ASSERT_EQUAL(strlen(t2), 24);
  for (time_t s = before; s <= after; s++) {
    gmtime_r(&s, &tm);
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strncmp(t1, want, 19) == 0) ok_time = 1;
  }
  CU_ASSERT_TRUE(ok_time);
  CU_ASSERT_TRUE(strcmp(t1, t2) <= 0);
  xc_log_time(small, sizeof small); /* cut as snprintf cuts */
  CU_ASSERT_EQUAL(strlen(small), 4);
  CU_ASSERT_EQUAL(strncmp(small, t1, 2), 0);

  xc_log_request_id(rid, NULL, 0);
  CU_ASSERT_EQUAL(strlen(rid), 16);
  CU_ASSERT_EQUAL(strspn(rid, "0123456789abcdef"), 16);

  {
    /* The access line, caught from stderr. */
    char path[] = "/tmp/xc_logtestXXXXXX", buf[4096];
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    ssize_t n;
    CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    xc_log_call_req("/x.Y/Z", "office:3101", "rid-1", XC_OK, NULL, 1234567);
    xc_log_call_req("/x.Y/Z", "office:3101", "rid-2", XC_OK, NULL, 0);
    xc_log_call_req("/x.Y/Z", "office:3101", "rid-3", XC_ENOT_FOUND, "no such", -5);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    CU_ASSERT_FATAL(n > 0);
    buf[n] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "req=rid-1 peer=office:3101 method=/x.Y/Z status=OK "
                                       "latency_us=1234567\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "req=rid-2 peer=office:3101 method=/x.Y/Z status=OK "
                                       "latency_us=0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "status=NOT_FOUND latency_us=-5 msg=\"no such\"\n"));
  }
}

/* ----------------------------------------------------------- GetStats */

static void test_get_stats(void) {
  xc_store_options so;
  xc_store *store = NULL;
  xc_ctx ctx;
  Xuncha__V1__GetStatsRequest req = XUNCHA__V1__GET_STATS_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  xc_err err;
  char dir[400];
  (void)snprintf(dir, sizeof dir, "%s/store", g_tmp);
  memset(&so, 0, sizeof so);
  so.dir = dir;
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&so, &store, &err), XC_OK);
  memset(&ctx, 0, sizeof ctx);
  ctx.store = store;
  ctx.has_identity = 1;
  CU_ASSERT_EQUAL(xc_identity_parse("auditor:3101", "01", &ctx.id, &err), XC_OK);
  CU_ASSERT_EQUAL(xc__admin_get_stats(&ctx, &req.base, &resp, &err), XC_EPERMISSION_DENIED);
  CU_ASSERT_PTR_NULL(resp);
  CU_ASSERT_EQUAL(xc_identity_parse("admin:3101", "01", &ctx.id, &err), XC_OK);
  CU_ASSERT_EQUAL(xc__admin_get_stats(&ctx, &req.base, &resp, &err), XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
  {
    const Xuncha__V1__Stats *st = (const Xuncha__V1__Stats *)resp;
    CU_ASSERT_PTR_NOT_NULL_FATAL(st->storage);
    CU_ASSERT(st->storage->map_bytes >= (1u << 20));
    CU_ASSERT(st->storage->max_readers > 0);
    CU_ASSERT(st->storage->file_bytes > 0);
    {
      /* One count per record kind in use (numbers kept free have none). */
      size_t used = 0;
      for (int k = 0; k < XC_KIND_COUNT; k++) used += (size_t)xc_kind_used((xc_kind)k);
      CU_ASSERT_EQUAL(st->storage->n_records, used);
    }
    CU_ASSERT_EQUAL(st->n_sync, 0);
    CU_ASSERT(st->n_methods >= 1); /* the stats test's calls */
  }
  xc_msg_free(resp);
  resp = NULL;
  CU_ASSERT_EQUAL(xc_identity_parse("office:310104", "01", &ctx.id, &err), XC_OK);
  CU_ASSERT_EQUAL(xc__admin_get_stats(&ctx, &req.base, &resp, &err), XC_OK);
  xc_msg_free(resp);
  xc_store_close(store);
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("server ops", suite_init, suite_clean);
  CU_add_test(s, "config file", test_conf_good);
  CU_add_test(s, "config errors name the line", test_conf_errors_name_the_line);
  CU_add_test(s, "missing config, flags win", test_conf_missing_and_merge);
  CU_add_test(s, "sizes", test_conf_sizes);
  CU_add_test(s, "stats counters and percentiles", test_stats_counts_and_percentiles);
  CU_add_test(s, "reflection lookups", test_reflect);
  CU_add_test(s, "request ids", test_request_ids);
  CU_add_test(s, "log formats", test_log_formats);
  CU_add_test(s, "GetStats", test_get_stats);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
