/*
 * e2e cli: the xuncha command-line tool against a real server: Chinese
 * names and kinds, aligned tables, --json, --csv, and the exit codes
 * (0 ok, 2 usage, 3 connection, 4 refused).
 */
#include <arpa/inet.h>
#include <csv.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e_suite.h"
#include "xc_text.h"

#define CLI_TIMEOUT_MS 30000
#define KIND_ZH "市直单位"
#define KIND_PROTO "TARGET_KIND_MUNICIPAL_DEPARTMENT"
#define NAME_ZH "静安区市场监督管理局"
#define NAME_CSV "统计局, \"总部\""

static char id_zh[XC_ID_MAX];  /* the target made with the Chinese name */
static char id_csv[XC_ID_MAX]; /* the one whose name needs CSV quoting */

enum { OUT_HUMAN, OUT_JSON, OUT_CSV };

/*
 * Runs `xuncha` as certificate `who` against `server` (NULL: the suite's
 * server) with the output mode and the remaining arguments (NULL-ended).
 */
static int cli(xc_h_result *res, const char *who, const char *server, int mode, ...) {
  const char *bin = xc_h_env("XC_E2E_XUNCHA");
  const char *argv[48];
  char ca[1024], cert[1024], key[1024];
  size_t n = 0;
  va_list ap;
  xc_err err;
  memset(res, 0, sizeof *res);
  if (bin == NULL) {
    fprintf(stderr, "\n  XC_E2E_XUNCHA is not set");
    return XC_EFAILED_PRECONDITION;
  }
  argv[n++] = bin;
  argv[n++] = "--server";
  argv[n++] = server ? server : xc_h_addr(e2e_h);
  argv[n++] = "--ca";
  argv[n++] = xc_h_cert_path(e2e_h, "ca", "pem", ca, sizeof ca);
  argv[n++] = "--cert";
  argv[n++] = xc_h_cert_path(e2e_h, who, "pem", cert, sizeof cert);
  argv[n++] = "--key";
  argv[n++] = xc_h_cert_path(e2e_h, who, "key", key, sizeof key);
  if (mode == OUT_JSON) argv[n++] = "--json";
  if (mode == OUT_CSV) argv[n++] = "--csv";
  va_start(ap, mode);
  for (;;) {
    const char *a = va_arg(ap, const char *);
    if (a == NULL || n + 1 >= sizeof argv / sizeof argv[0]) break;
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  if (xc_h_run(e2e_h, argv, CLI_TIMEOUT_MS, res, &err) != XC_OK) {
    fprintf(stderr, "\n  cannot run xuncha: %s", err.msg);
    return err.code;
  }
  return XC_OK;
}

/* Asserts an exit code, printing the command's output when it differs. */
#define EXPECT_EXIT(res, want)                                                        \
  do {                                                                                \
    if ((res).exit_code != (want))                                                    \
      fprintf(stderr, "\n  %s:%d: xuncha exited %d, expected %d\n  stdout: %.800s\n" \
              "  stderr: %.800s\n", __FILE__, __LINE__, (res).exit_code, (want),      \
              (res).out ? (res).out : "", (res).err ? (res).err : "");                \
    CU_ASSERT_EQUAL((res).exit_code, (want));                                         \
  } while (0)

/* Parses JSON text; prints the error and returns NULL when it is not JSON. */
static json_t *parse_json(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text ? text : "", 0, &je);
  if (j == NULL)
    fprintf(stderr, "\n  not JSON (line %d: %s): %.400s", je.line, je.text, text ? text : "");
  return j;
}

static const char *jstr(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

/* Creates a target with the CLI as county A (JSON out); stores its id. */
static void create_one(const char *name, char *id_out, size_t id_size) {
  xc_h_result res;
  json_t *j;
  CU_ASSERT_EQUAL_FATAL(cli(&res, XC_H_COUNTY_A, NULL, OUT_JSON, "target", "create",
                            "--region", "310104", "--name", name, "--kind", KIND_ZH,
                            "--secretary", "王书记", (const char *)NULL),
                        XC_OK);
  EXPECT_EXIT(res, 0);
  j = parse_json(res.out);
  if (j != NULL) {
    CU_ASSERT_STRING_EQUAL(jstr(j, "name"), name);
    CU_ASSERT_STRING_EQUAL(jstr(j, "kind"), KIND_PROTO);
    CU_ASSERT_STRING_EQUAL(jstr(j, "region_code"), "310104");
    CU_ASSERT_STRING_EQUAL(jstr(j, "owner"), "office:310104");
    CU_ASSERT_TRUE(jstr(j, "etag")[0] != '\0');
    CU_ASSERT_TRUE(strncmp(jstr(j, "created_by"), "office:310104#", 14) == 0);
    (void)xc_strlcpy(id_out, jstr(j, "id"), id_size);
    json_decref(j);
  }
  CU_ASSERT_TRUE(id_out[0] != '\0');
  xc_h_result_free(&res);
}

static void test_create_and_get(void) {
  xc_h_result res;
  json_t *j;
  create_one(NAME_ZH, id_zh, sizeof id_zh);
  create_one(NAME_CSV, id_csv, sizeof id_csv);
  CU_ASSERT_TRUE_FATAL(id_zh[0] != '\0' && id_csv[0] != '\0');
  /* The same record through libxuncha. */
  {
    ProtobufCMessage *got = NULL;
    xc_err err;
    E2E_EXPECT(e2e_get(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_TARGET, id_zh, &got, &err), err,
               XC_OK);
    if (got != NULL) {
      CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)got)->name, NAME_ZH);
      CU_ASSERT_EQUAL(((Xuncha__V1__Target *)got)->kind,
                      XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT);
    }
    xc_message_free(got);
  }
  /* get, for people: the Chinese name and kind. */
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_HUMAN, "target", "get", id_zh, (const char *)NULL),
      XC_OK);
  EXPECT_EXIT(res, 0);
  E2E_CONTAINS(res.out, NAME_ZH);
  E2E_CONTAINS(res.out, KIND_ZH);
  E2E_CONTAINS(res.out, id_zh);
  xc_h_result_free(&res);
  /* get --json. */
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_JSON, "target", "get", id_zh, (const char *)NULL),
      XC_OK);
  EXPECT_EXIT(res, 0);
  j = parse_json(res.out);
  CU_ASSERT_PTR_NOT_NULL(j);
  if (j != NULL) {
    CU_ASSERT_STRING_EQUAL(jstr(j, "id"), id_zh);
    CU_ASSERT_STRING_EQUAL(jstr(j, "name"), NAME_ZH);
    CU_ASSERT_STRING_EQUAL(jstr(j, "kind"), KIND_PROTO);
    CU_ASSERT_TRUE(json_integer_value(json_object_get(j, "create_time_ms")) > 0);
    json_decref(j);
  }
  xc_h_result_free(&res);
}

/* Returns the display column at which needle starts in line, or -1. */
static long display_col(const char *line, size_t line_len, const char *needle) {
  char buf[4096];
  const char *hit;
  if (line_len >= sizeof buf) return -1;
  memcpy(buf, line, line_len);
  buf[line_len] = '\0';
  hit = strstr(buf, needle);
  if (hit == NULL) return -1;
  buf[hit - buf] = '\0';
  return (long)xc_display_width(buf);
}

/* Finds the line of text containing needle; sets *len. NULL if none. */
static const char *find_line(const char *text, const char *needle, size_t *len) {
  const char *p = strstr(text, needle), *start, *end;
  if (p == NULL) return NULL;
  start = p;
  while (start > text && start[-1] != '\n') start--;
  end = strchr(p, '\n');
  if (end == NULL) end = p + strlen(p);
  *len = (size_t)(end - start);
  return start;
}

/* Returns the number of lines of text that end in a space. */
static size_t lines_ending_in_space(const char *text) {
  size_t n = 0;
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n' && p > text && p[-1] == ' ') n++;
  return n;
}

/* The table documents that no line ends in spaces, also when the last
 * column of a row is empty (a target without a party secretary). */
static void test_table_no_trailing_spaces(void) {
  xc_h_result res;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  t.region_code = "310104";
  t.name = "无书记单位";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  E2E_EXPECT(e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_TARGET, &t.base, NULL, &out,
                        &err),
             err, XC_OK);
  xc_message_free(out);
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_HUMAN, "target", "list", (const char *)NULL), XC_OK);
  EXPECT_EXIT(res, 0);
  E2E_CONTAINS(res.out, "无书记单位");
  if (lines_ending_in_space(res.out) != 0)
    fprintf(stderr, "\n  %zu table lines end in spaces:\n%s", lines_ending_in_space(res.out),
            res.out);
  CU_ASSERT_EQUAL(lines_ending_in_space(res.out), 0);
  xc_h_result_free(&res);
}

static void test_list_table(void) {
  xc_h_result res;
  const char *l1, *l2;
  size_t n1 = 0, n2 = 0;
  CU_ASSERT_TRUE_FATAL(id_zh[0] != '\0');
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_HUMAN, "target", "list", (const char *)NULL), XC_OK);
  EXPECT_EXIT(res, 0);
  E2E_CONTAINS(res.out, KIND_ZH);
  l1 = find_line(res.out, id_zh, &n1);
  l2 = find_line(res.out, id_csv, &n2);
  CU_ASSERT_PTR_NOT_NULL(l1);
  CU_ASSERT_PTR_NOT_NULL(l2);
  if (l1 != NULL && l2 != NULL) {
    /* Each row names its kind in Chinese, and the kind column lines up in
     * display columns although the names before or after it differ in width. */
    long c1 = display_col(l1, n1, KIND_ZH), c2 = display_col(l2, n2, KIND_ZH);
    CU_ASSERT_TRUE(c1 >= 0);
    CU_ASSERT_TRUE(c2 >= 0);
    if (c1 != c2)
      fprintf(stderr, "\n  kind column not aligned (%ld vs %ld):\n%.*s\n%.*s\n", c1, c2,
              (int)n1, l1, (int)n2, l2);
    CU_ASSERT_EQUAL(c1, c2);
    CU_ASSERT_TRUE(n1 == 0 || l1[n1 - 1] != ' ');
  }
  xc_h_result_free(&res);
}

/* Returns the array of records in a JSON list output: an array, or an object
 * holding one under "targets" (the proto's name) or "items" (the CLI's
 * envelope, which also serves --all). Borrowed from j. */
static json_t *json_records(json_t *j) {
  if (json_is_array(j)) return j;
  if (json_is_object(j) && json_is_array(json_object_get(j, "targets")))
    return json_object_get(j, "targets");
  if (json_is_object(j) && json_is_array(json_object_get(j, "items")))
    return json_object_get(j, "items");
  fprintf(stderr, "\n  no array of records in the JSON list output");
  return NULL;
}

static void test_list_json(void) {
  xc_h_result res;
  json_t *j, *arr;
  int seen_zh = 0, seen_csv = 0;
  CU_ASSERT_TRUE_FATAL(id_zh[0] != '\0');
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_JSON, "target", "list", (const char *)NULL), XC_OK);
  EXPECT_EXIT(res, 0);
  j = parse_json(res.out);
  arr = j ? json_records(j) : NULL;
  CU_ASSERT_PTR_NOT_NULL(arr);
  for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
    json_t *t = json_array_get(arr, i);
    if (strcmp(jstr(t, "id"), id_zh) == 0) {
      seen_zh++;
      CU_ASSERT_STRING_EQUAL(jstr(t, "name"), NAME_ZH);
      CU_ASSERT_STRING_EQUAL(jstr(t, "kind"), KIND_PROTO);
      CU_ASSERT_STRING_EQUAL(jstr(t, "party_secretary"), "王书记");
    }
    if (strcmp(jstr(t, "id"), id_csv) == 0) {
      seen_csv++;
      CU_ASSERT_STRING_EQUAL(jstr(t, "name"), NAME_CSV);
    }
  }
  CU_ASSERT_EQUAL(seen_zh, 1);
  CU_ASSERT_EQUAL(seen_csv, 1);
  json_decref(j);
  xc_h_result_free(&res);
}

/* libcsv collects fields into rows. */
typedef struct csv_rows {
  char *cells[64][24];
  size_t ncells[64];
  size_t nrows, cur;
  int overflow;
} csv_rows;

static void csv_field(void *s, size_t len, void *data) {
  csv_rows *r = data;
  char *c;
  if (r->nrows >= 64 || r->ncells[r->nrows] >= 24) {
    r->overflow = 1;
    return;
  }
  c = malloc(len + 1);
  if (c == NULL) {
    r->overflow = 1;
    return;
  }
  memcpy(c, s, len);
  c[len] = '\0';
  r->cells[r->nrows][r->ncells[r->nrows]++] = c;
}

static void csv_row(int ch, void *data) {
  csv_rows *r = data;
  (void)ch;
  if (r->nrows < 64) r->nrows++;
  else r->overflow = 1;
}

static void csv_rows_free(csv_rows *r) {
  for (size_t i = 0; i < 64; i++)
    for (size_t k = 0; k < r->ncells[i]; k++) free(r->cells[i][k]);
}

static int row_has(const csv_rows *r, size_t row, const char *value) {
  for (size_t k = 0; k < r->ncells[row]; k++)
    if (strcmp(r->cells[row][k], value) == 0) return 1;
  return 0;
}

static void test_list_csv(void) {
  xc_h_result res;
  struct csv_parser p;
  csv_rows *rows = calloc(1, sizeof *rows);
  int seen_zh = 0, seen_csv = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
  CU_ASSERT_TRUE_FATAL(id_zh[0] != '\0');
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_A, NULL, OUT_CSV, "target", "list", (const char *)NULL), XC_OK);
  EXPECT_EXIT(res, 0);
  CU_ASSERT_EQUAL_FATAL(csv_init(&p, CSV_STRICT | CSV_APPEND_NULL), 0);
  CU_ASSERT_EQUAL(csv_parse(&p, res.out, res.out_len, csv_field, csv_row, rows), res.out_len);
  CU_ASSERT_EQUAL(csv_fini(&p, csv_field, csv_row, rows), 0);
  csv_free(&p);
  CU_ASSERT_FALSE(rows->overflow);
  CU_ASSERT_TRUE(rows->nrows >= 3); /* a header and our two rows */
  for (size_t i = 1; i < rows->nrows; i++) {
    /* Every row has as many fields as the header. */
    CU_ASSERT_EQUAL(rows->ncells[i], rows->ncells[0]);
    if (row_has(rows, i, id_zh)) {
      seen_zh++;
      CU_ASSERT_TRUE(row_has(rows, i, NAME_ZH));
      CU_ASSERT_TRUE(row_has(rows, i, KIND_PROTO) || row_has(rows, i, KIND_ZH));
    }
    if (row_has(rows, i, id_csv)) {
      seen_csv++;
      /* The comma and quotes in the name survive CSV quoting. */
      CU_ASSERT_TRUE(row_has(rows, i, NAME_CSV));
    }
  }
  CU_ASSERT_EQUAL(seen_zh, 1);
  CU_ASSERT_EQUAL(seen_csv, 1);
  csv_rows_free(rows);
  free(rows);
  xc_h_result_free(&res);
}

static void test_exit_refused(void) {
  xc_h_result res;
  /* An id nobody made: NOT_FOUND from the server. */
  CU_ASSERT_EQUAL_FATAL(cli(&res, XC_H_COUNTY_A, NULL, OUT_HUMAN, "target", "get",
                            "t_01HZZZZZZZZZZZZZZZZZZZZZZZ", (const char *)NULL),
                        XC_OK);
  EXPECT_EXIT(res, 4);
  CU_ASSERT_TRUE(res.err != NULL && res.err[0] != '\0');
  xc_h_result_free(&res);
  /* Another county's record: PERMISSION_DENIED. */
  CU_ASSERT_TRUE_FATAL(id_zh[0] != '\0');
  CU_ASSERT_EQUAL_FATAL(
      cli(&res, XC_H_COUNTY_B, NULL, OUT_HUMAN, "target", "get", id_zh, (const char *)NULL),
      XC_OK);
  EXPECT_EXIT(res, 4);
  xc_h_result_free(&res);
}

static void test_exit_connection(void) {
  xc_h_result res;
  char addr[64];
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  /* A port bound on 127.0.0.1 but not listening: connections are refused, and
   * nobody else can take it while the test runs. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CU_ASSERT_TRUE_FATAL(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  (void)snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(sa.sin_port));
  {
    /* With the default 10 s deadline: a refused connection on 127.0.0.1 is
     * known at once and must not take the whole deadline (or three). */
    int64_t t0 = xc_h_now_ms(), ms;
    if (cli(&res, XC_H_COUNTY_A, addr, OUT_HUMAN, "target", "list", (const char *)NULL) ==
        XC_OK) {
      ms = xc_h_now_ms() - t0;
      EXPECT_EXIT(res, 3);
      CU_ASSERT_TRUE(res.err != NULL && res.err[0] != '\0');
      if (ms >= 5000)
        fprintf(stderr, "\n  exit 3 for a refused connection took %lld ms: %s",
                (long long)ms, res.err);
      CU_ASSERT_TRUE(ms < 5000);
      xc_h_result_free(&res);
    } else {
      CU_FAIL("xuncha did not run");
    }
  }
  close(fd);
}

static void test_exit_usage(void) {
  static const char *const cases[][8] = {
      {"target", "frobnicate", NULL},
      {"widget", "list", NULL},
      {"target", "create", "--name", "缺少类别", "--region", "310104", NULL},
      {"target", "create", "--name", "坏类别", "--region", "310104", "--kind", "不存在的类别"},
      {"target", "list", "--no-such-flag", NULL},
      {"target", "get", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    xc_h_result res;
    const char *const *a = cases[i];
    /* Up to 8 arguments; unused trailing entries are NULL. */
    CU_ASSERT_EQUAL_FATAL(cli(&res, XC_H_COUNTY_A, NULL, OUT_HUMAN, a[0], a[1], a[2], a[3],
                              a[4], a[5], a[6], a[7], (const char *)NULL),
                          XC_OK);
    if (res.exit_code != 2) fprintf(stderr, "\n  case %zu (%s %s ...):", i, a[0], a[1]);
    EXPECT_EXIT(res, 2);
    CU_ASSERT_TRUE(res.err != NULL && res.err[0] != '\0');
    xc_h_result_free(&res);
  }
  /* A usage error sends nothing: no target named 坏类别 exists. */
  {
    Xuncha__V1__ListTargetsRequest lr = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    size_t n = 99;
    xc_err err;
    lr.name_contains = "类别";
    E2E_EXPECT(e2e_list(xc_h_client(e2e_h, XC_H_CITY), E2E_TARGET, &lr.base, &resp, &err),
               err, XC_OK);
    if (resp != NULL) (void)e2e_list_items(resp, E2E_TARGET, &n);
    CU_ASSERT_EQUAL(n, 0);
    xc_message_free(resp);
  }
}

static const e2e_test cli_tests[] = {
    {"create with Chinese name and kind; get", test_create_and_get},
    {"list as an aligned table", test_list_table},
    {"table lines never end in spaces", test_table_no_trailing_spaces},
    {"list --json", test_list_json},
    {"list --csv", test_list_csv},
    {"exit 4 when the server refuses", test_exit_refused},
    {"exit 3 when the server is unreachable", test_exit_connection},
    {"exit 2 on usage errors", test_exit_usage},
    {NULL, NULL}};

const e2e_suite e2e_suite_cli = {"cli", cli_tests, NULL};
