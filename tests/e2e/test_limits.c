/*
 * e2e limits: stale etags, oversize messages, over-long and invalid strings,
 * and idempotent creates by request_id.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_suite.h"
#include "xc_msg.h"
#include "xc_text.h"

/* A new buffer of n copies of `unit` (a whole UTF-8 character), NUL-terminated. */
static char *repeat(const char *unit, size_t count) {
  size_t u = strlen(unit);
  char *s;
  if (count > (SIZE_MAX - 1) / u) return NULL;
  s = malloc(u * count + 1);
  if (s == NULL) return NULL;
  for (size_t i = 0; i < count; i++) memcpy(s + i * u, unit, u);
  s[u * count] = '\0';
  return s;
}

/* Creates a target as county A with the given name and note; returns the code. */
static int create_target(const char *name, const char *note, xc_err *err) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  int rc;
  t.region_code = "310104";
  t.name = (char *)name;
  t.note = (char *)(note ? note : "");
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_TARGET, &t.base, NULL, &out, err);
  xc_message_free(out);
  return rc;
}

/* Counts the targets county A can list. */
static size_t count_kind(e2e_kind k, const char *who) {
  e2e_ids ids = {0};
  xc_err err;
  size_t n;
  E2E_EXPECT(e2e_list_all(xc_h_client(e2e_h, who), k, 1000, NULL, &ids, 100, &err), err,
             XC_OK);
  n = ids.n;
  e2e_ids_free(&ids);
  return n;
}

static void test_stale_etag(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  xc_err err;
  Xuncha__V1__Target *t = e2e_target_new(c, "310104", "乐观锁测试", &err);
  Xuncha__V1__Target mod;
  ProtobufCMessage *v2 = NULL, *out = NULL, *got = NULL;
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  mod = *t;
  mod.note = "第一次修改";
  E2E_EXPECT(e2e_update(c, E2E_TARGET, &mod.base, NULL, 0, &v2, &err), err, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
  /* The first etag is stale now. */
  mod.note = "基于旧版本的修改";
  E2E_EXPECT(e2e_update(c, E2E_TARGET, &mod.base, NULL, 0, &out, &err), err, XC_EABORTED);
  CU_ASSERT_PTR_NULL(out);
  xc_message_free(out);
  out = NULL;
  /* A made-up etag, and none at all. */
  mod.etag = "made-up";
  E2E_EXPECT(e2e_update(c, E2E_TARGET, &mod.base, NULL, 0, &out, &err), err, XC_EABORTED);
  xc_message_free(out);
  out = NULL;
  mod.etag = "";
  {
    int rc = e2e_update(c, E2E_TARGET, &mod.base, NULL, 0, &out, &err);
    if (rc != XC_EABORTED && rc != XC_EINVALID_ARGUMENT)
      fprintf(stderr, "\n  update with no etag: got %s: %s", xc_code_name(rc),
              rc ? err.msg : "(accepted)");
    CU_ASSERT_TRUE(rc == XC_EABORTED || rc == XC_EINVALID_ARGUMENT);
    xc_message_free(out);
  }
  E2E_EXPECT(e2e_get(c, E2E_TARGET, t->id, &got, &err), err, XC_OK);
  if (got != NULL) {
    CU_ASSERT_TRUE(e2e_same_bytes(v2, got));
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)got)->note, "第一次修改");
  }
  xc_message_free(got);
  xc_message_free(v2);
  xc_message_free(t);
}

static void test_oversize_message(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  char *note = repeat("x", 5u * 1024u * 1024u);
  xc_err err;
  Grpc__Health__V1__HealthCheckRequest hreq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Grpc__Health__V1__HealthCheckResponse *hresp = NULL;
  size_t before = count_kind(E2E_TARGET, XC_H_COUNTY_A);
  CU_ASSERT_PTR_NOT_NULL_FATAL(note);
  E2E_EXPECT(create_target("超大消息", note, &err), err, XC_ERESOURCE_EXHAUSTED);
  free(note);
  /* The server is still there and stored nothing. */
  E2E_EXPECT(xc_health_check(c, &hreq, &hresp, XC_H_CALL_MS, &err), err, XC_OK);
  xc_message_free(hresp);
  CU_ASSERT_EQUAL(count_kind(E2E_TARGET, XC_H_COUNTY_A), before);
}

static void test_long_strings(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  xc_err err;
  int rc;
  char *s;
  /* Text fields: XC_MAX_TEXT_BYTES is fine, one byte more is not. */
  s = repeat("a", XC_MAX_TEXT_BYTES);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  E2E_EXPECT(create_target("备注正好到上限", s, &err), err, XC_OK);
  free(s);
  s = repeat("a", XC_MAX_TEXT_BYTES + 1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  rc = create_target("备注超长", s, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  if (rc != XC_OK) E2E_CONTAINS(err.msg, "note");
  free(s);
  /* Names: XC_MAX_NAME_BYTES in bytes, not characters (汉 is 3 bytes). */
  s = repeat("b", XC_MAX_NAME_BYTES);
  E2E_EXPECT(create_target(s, NULL, &err), err, XC_OK);
  free(s);
  s = repeat("汉", XC_MAX_NAME_BYTES / 3 + 1); /* 258 bytes, 86 characters */
  rc = create_target(s, NULL, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  if (rc != XC_OK) E2E_CONTAINS(err.msg, "name");
  free(s);
  /* A nested text field of a finding, and a repeated field with too many entries. */
  {
    e2e_chain ch;
    rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "limits", &ch, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (rc == XC_OK) {
      Xuncha__V1__Finding f = *ch.finding;
      Xuncha__V1__Rectification rect = *ch.finding->rectification;
      ProtobufCMessage *out = NULL;
      char **tags = calloc(XC_MAX_REPEATED + 1, sizeof *tags);
      CU_ASSERT_PTR_NOT_NULL_FATAL(tags);
      s = repeat("措", XC_MAX_TEXT_BYTES / 3 + 1);
      rect.measures = s;
      f.rectification = &rect;
      rc = e2e_create(c, E2E_FINDING, &f.base, NULL, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "measures");
      xc_message_free(out);
      out = NULL;
      /* The same on update. */
      rc = e2e_update(c, E2E_FINDING, &f.base, NULL, 0, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "measures");
      xc_message_free(out);
      out = NULL;
      free(s);
      f.rectification = ch.finding->rectification;
      for (size_t i = 0; i <= XC_MAX_REPEATED; i++) tags[i] = "四风";
      f.n_tags = XC_MAX_REPEATED + 1;
      f.tags = tags;
      rc = e2e_create(c, E2E_FINDING, &f.base, NULL, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "tags");
      xc_message_free(out);
      free(tags);
    }
    e2e_chain_free(&ch);
  }
}

/*
 * A request that unpacks to far more memory than the per-call arena may
 * hold (over a million empty tags: two bytes each on the wire, a pointer
 * and a string each unpacked) is unpacked the ordinary way and checked as
 * usual: the refusal names the field, not a decoding failure.
 */
static void test_request_past_arena(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  xc_err err;
  e2e_chain ch;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "arena", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (rc == XC_OK) {
    const size_t n = 1500000;
    Xuncha__V1__Finding f = *ch.finding;
    ProtobufCMessage *out = NULL;
    char **tags = calloc(n, sizeof *tags);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tags);
    for (size_t i = 0; i < n; i++) tags[i] = "";
    f.n_tags = n;
    f.tags = tags;
    rc = e2e_create(c, E2E_FINDING, &f.base, NULL, &out, &err);
    E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
    if (rc != XC_OK) E2E_CONTAINS(err.msg, "finding.tags has 1500000 entries");
    xc_message_free(out);
    free(tags);
  }
  e2e_chain_free(&ch);
}

static void test_invalid_utf8(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  xc_err err;
  int rc;
  static const char *const bad[] = {"巡察\xff单位", "\xe5\xb7", "a\xc0\xaf", "\xed\xa0\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rc = create_target(bad[i], NULL, &err);
    E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
    if (rc != XC_OK) E2E_CONTAINS(err.msg, "name");
  }
  /* Deep inside a lead: a person's name. */
  {
    e2e_chain ch;
    rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "utf8", &ch, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (rc == XC_OK) {
      Xuncha__V1__Lead l = *ch.lead;
      Xuncha__V1__Person p = *ch.lead->persons[0];
      Xuncha__V1__Person *ps[1] = {&p};
      Xuncha__V1__Target t = *ch.target;
      ProtobufCMessage *out = NULL, *got = NULL;
      p.name = "张\xfe三";
      l.persons = ps;
      rc = e2e_update(c, E2E_LEAD, &l.base, NULL, 0, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "name");
      xc_message_free(out);
      out = NULL;
      /* An update with a bad name stores nothing. */
      t.name = "改名\x80";
      E2E_EXPECT(e2e_update(c, E2E_TARGET, &t.base, NULL, 0, &out, &err), err,
                 XC_EINVALID_ARGUMENT);
      xc_message_free(out);
      E2E_EXPECT(e2e_get(c, E2E_TARGET, ch.target->id, &got, &err), err, XC_OK);
      if (got != NULL) CU_ASSERT_TRUE(e2e_same_bytes(&ch.target->base, got));
      xc_message_free(got);
    }
    e2e_chain_free(&ch);
  }
}

/* Other malformed values: region codes and dates. */
static void test_bad_codes_and_dates(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  xc_err err;
  int rc;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  t.region_code = "3101040";
  t.name = "坏区划代码";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  rc = e2e_create(c, E2E_TARGET, &t.base, NULL, &out, &err);
  if (rc != XC_EINVALID_ARGUMENT && rc != XC_EPERMISSION_DENIED)
    fprintf(stderr, "\n  region_code 3101040: got %s", xc_code_name(rc));
  CU_ASSERT_TRUE(rc == XC_EINVALID_ARGUMENT || rc == XC_EPERMISSION_DENIED);
  xc_message_free(out);
  out = NULL;
  {
    e2e_chain ch;
    rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "dates", &ch, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (rc == XC_OK) {
      Xuncha__V1__Round r = *ch.round;
      r.start_date = "2024-02-30";
      rc = e2e_update(c, E2E_ROUND, &r.base, NULL, 0, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "start_date");
      xc_message_free(out);
    }
    e2e_chain_free(&ch);
  }
}

static void test_request_id(void) {
  E2E_CLIENT(ca, XC_H_COUNTY_A);
  E2E_CLIENT(cb, XC_H_COUNTY_B);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(ca, "310104", NULL, 0, "agency:3101:jw", "rid", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    static const char *const text_field[E2E_KIND_COUNT] = {"name", "title", "name", "title",
                                                           "summary"};
    char rid[64];
    ProtobufCMessage *req = xc_msg_clone(e2e_chain_rec(&ch, (e2e_kind)k));
    ProtobufCMessage *first = NULL, *again = NULL, *other = NULL;
    size_t before = count_kind((e2e_kind)k, XC_H_COUNTY_A), after;
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    (void)snprintf(rid, sizeof rid, "e2e-retry-%d-%lld", k, (long long)xc_h_wall_ms());
    CU_ASSERT_EQUAL(xc_msg_set_str(req, text_field[k], "重试只建一条"), XC_OK);
    if (k == E2E_ROUND) CU_ASSERT_EQUAL(xc_msg_set_int(req, "number", 7), XC_OK);
    E2E_EXPECT(e2e_create(ca, (e2e_kind)k, req, rid, &first, &err), err, XC_OK);
    E2E_EXPECT(e2e_create(ca, (e2e_kind)k, req, rid, &again, &err), err, XC_OK);
    if (first != NULL && again != NULL) {
      CU_ASSERT_STRING_EQUAL(e2e_id(again), e2e_id(first));
      CU_ASSERT_STRING_EQUAL(e2e_etag(again), e2e_etag(first));
    }
    after = count_kind((e2e_kind)k, XC_H_COUNTY_A);
    if (after != before + 1)
      fprintf(stderr, "\n  %s: two creates with request_id %s: %zu -> %zu records",
              e2e_kind_get(k)->name, rid, before, after);
    CU_ASSERT_EQUAL(after, before + 1);
    /* Same request_id, different content. */
    CU_ASSERT_EQUAL(xc_msg_set_str(req, text_field[k], "同一请求号不同内容"), XC_OK);
    E2E_EXPECT(e2e_create(ca, (e2e_kind)k, req, rid, &other, &err), err, XC_EALREADY_EXISTS);
    xc_message_free(other);
    other = NULL;
    CU_ASSERT_EQUAL(count_kind((e2e_kind)k, XC_H_COUNTY_A), before + 1);
    if (k == E2E_TARGET) {
      /* Another office's request ids are its own. */
      Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
      t.region_code = "310105";
      t.name = "重试只建一条";
      t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_TOWNSHIP;
      E2E_EXPECT(e2e_create(cb, E2E_TARGET, &t.base, rid, &other, &err), err, XC_OK);
      if (other != NULL && first != NULL)
        CU_ASSERT_STRING_NOT_EQUAL(e2e_id(other), e2e_id(first));
      xc_message_free(other);
    }
    xc_message_free(again);
    xc_message_free(first);
    xc_msg_free(req);
  }
  /* Over-long request ids are refused. */
  if (rc == XC_OK) {
    char *rid = repeat("r", XC_MAX_REQUEST_ID_BYTES + 1);
    ProtobufCMessage *out = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(rid);
    rc = e2e_create(ca, E2E_TARGET, &ch.target->base, rid, &out, &err);
    E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
    if (rc != XC_OK) E2E_CONTAINS(err.msg, "request_id");
    xc_message_free(out);
    free(rid);
  }
  e2e_chain_free(&ch);
}

#define RACERS 8

/* One of RACERS threads sending the same kind of write at the same moment. */
typedef struct racer {
  pthread_barrier_t *start;
  xc_client *c;
  const Xuncha__V1__Target *base; /* the record to update, or to create */
  const char *request_id;         /* create with it, when not NULL */
  char note[64];
  int rc;
  char id[XC_ID_MAX];
  xc_err err;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  Xuncha__V1__Target t = *r->base;
  ProtobufCMessage *out = NULL;
  t.note = r->note;
  (void)pthread_barrier_wait(r->start);
  if (r->request_id != NULL)
    r->rc = e2e_create(r->c, E2E_TARGET, &t.base, r->request_id, &out, &r->err);
  else
    r->rc = e2e_update(r->c, E2E_TARGET, &t.base, NULL, 0, &out, &r->err);
  if (out != NULL) (void)xc_strlcpy(r->id, e2e_id(out), sizeof r->id);
  xc_message_free(out);
  return NULL;
}

/* Runs RACERS threads over the same base record; fills rs. */
static void run_racers(racer *rs, const Xuncha__V1__Target *base, const char *rid,
                       int same_note) {
  pthread_t th[RACERS];
  pthread_barrier_t start;
  xc_client *c = xc_h_client(e2e_h, XC_H_COUNTY_A);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start, NULL, RACERS), 0);
  for (int i = 0; i < RACERS; i++) {
    memset(&rs[i], 0, sizeof rs[i]);
    rs[i].start = &start;
    rs[i].c = c;
    rs[i].base = base;
    rs[i].request_id = rid;
    (void)snprintf(rs[i].note, sizeof rs[i].note, "并发写入 %d", same_note ? 0 : i);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race, &rs[i]), 0);
  }
  for (int i = 0; i < RACERS; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
}

/* Eight updates with the same etag at once: exactly one wins, the rest ABORTED. */
static void test_concurrent_updates_same_etag(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  racer rs[RACERS];
  xc_err err;
  int ok = 0, aborted = 0, winner = -1;
  ProtobufCMessage *got = NULL;
  Xuncha__V1__Target *t = e2e_target_new(c, "310104", "并发更新", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  run_racers(rs, t, NULL, 0);
  for (int i = 0; i < RACERS; i++) {
    if (rs[i].rc == XC_OK) {
      ok++;
      winner = i;
    } else if (rs[i].rc == XC_EABORTED) {
      aborted++;
    } else {
      fprintf(stderr, "\n  racer %d: %s: %s", i, xc_code_name(rs[i].rc), rs[i].err.msg);
    }
  }
  if (ok != 1)
    fprintf(stderr, "\n  %d concurrent updates with one etag: %d succeeded, %d ABORTED",
            RACERS, ok, aborted);
  CU_ASSERT_EQUAL(ok, 1);
  CU_ASSERT_EQUAL(aborted, RACERS - 1);
  E2E_EXPECT(e2e_get(c, E2E_TARGET, t->id, &got, &err), err, XC_OK);
  if (got != NULL && winner >= 0)
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)got)->note, rs[winner].note);
  xc_message_free(got);
  xc_message_free(t);
}

/* Eight identical creates with one request_id at once: one record, one id. */
static void test_concurrent_creates_same_request_id(void) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  racer rs[RACERS];
  char rid[64];
  size_t before = count_kind(E2E_TARGET, XC_H_COUNTY_A), after;
  int ok = 0;
  t.region_code = "310104";
  t.name = "并发重试";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_TOWNSHIP;
  (void)snprintf(rid, sizeof rid, "race-%lld", (long long)xc_h_wall_ms());
  run_racers(rs, &t, rid, 1);
  for (int i = 0; i < RACERS; i++) {
    if (rs[i].rc == XC_OK) {
      ok++;
      if (strcmp(rs[i].id, rs[0].id) != 0)
        fprintf(stderr, "\n  racer %d got id %s, racer 0 got %s", i, rs[i].id, rs[0].id);
      CU_ASSERT_STRING_EQUAL(rs[i].id, rs[0].id);
    } else {
      fprintf(stderr, "\n  racer %d: %s: %s", i, xc_code_name(rs[i].rc), rs[i].err.msg);
    }
  }
  CU_ASSERT_EQUAL(ok, RACERS);
  after = count_kind(E2E_TARGET, XC_H_COUNTY_A);
  if (after != before + 1)
    fprintf(stderr, "\n  %d concurrent creates with request_id %s: %zu -> %zu targets",
            RACERS, rid, before, after);
  CU_ASSERT_EQUAL(after, before + 1);
}

static const e2e_test limits_tests[] = {
    {"stale etag: ABORTED, record unchanged", test_stale_etag},
    {"5 MiB message: RESOURCE_EXHAUSTED", test_oversize_message},
    {"over-long strings: INVALID_ARGUMENT naming the field", test_long_strings},
    {"invalid UTF-8: INVALID_ARGUMENT", test_invalid_utf8},
    {"a request past the per-call arena: checked as usual", test_request_past_arena},
    {"bad region codes and dates", test_bad_codes_and_dates},
    {"request_id: one record per retry; ALREADY_EXISTS", test_request_id},
    {"8 concurrent updates, one etag: exactly one wins", test_concurrent_updates_same_etag},
    {"8 concurrent creates, one request_id: one record", test_concurrent_creates_same_request_id},
    {NULL, NULL}};

const e2e_suite e2e_suite_limits = {"limits", limits_tests, NULL};
