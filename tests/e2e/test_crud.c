/*
 * e2e crud: create/get/list/update of every record kind through libxuncha,
 * the fields the server sets, and output-only fields (ignored on create,
 * refused on update when changed).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e_suite.h"
#include "xc_msg.h"

#define CN_A "office:310104"
#define BOGUS_OWNER "office:310105"
#define BOGUS_AUTHOR "office:310105#0BADC0DE"
#define BOGUS_ETAG "bogus-etag"
/* Slack allowed between the test's clock and the server's, in ms. */
#define CLOCK_SLACK_MS 5000

/* The field each kind's tests change: a mutable text field. */
static const char *const text_field[E2E_KIND_COUNT] = {"name", "title", "name", "title",
                                                       "summary"};

static void sleep_ms(int ms) {
  struct timespec ts = {0, (long)ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* Checks the fields every record gets from the server when `cert` creates it. */
static void check_server_fields(e2e_kind k, const ProtobufCMessage *r, int64_t t0,
                                int64_t t1) {
  const char *id = xc_msg_get_str(r, "id");
  const char *created_by = xc_msg_get_str(r, "created_by");
  int64_t ct = xc_msg_get_int(r, "create_time_ms");
  int64_t ut = xc_msg_get_int(r, "update_time_ms");
  CU_ASSERT_TRUE(id[0] != '\0' && strlen(id) < XC_ID_MAX);
  CU_ASSERT_STRING_NOT_EQUAL(id, "x_bogus");
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(r, "owner"), CN_A);
  CU_ASSERT_TRUE(e2e_etag(r)[0] != '\0');
  CU_ASSERT_STRING_NOT_EQUAL(e2e_etag(r), BOGUS_ETAG);
  CU_ASSERT_TRUE(ct >= t0 - CLOCK_SLACK_MS && ct <= t1 + CLOCK_SLACK_MS);
  CU_ASSERT_TRUE(ut >= ct && ut <= t1 + CLOCK_SLACK_MS);
  if (!e2e_author_is(created_by, CN_A, XC_H_COUNTY_A))
    fprintf(stderr, "\n  %s.created_by is \"%s\"; expected \"%s#<serial of county-a.pem>\"\n",
            e2e_kind_get(k)->name, created_by, CN_A);
  CU_ASSERT_TRUE(e2e_author_is(created_by, CN_A, XC_H_COUNTY_A));
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(r, "updated_by"), created_by);
}

/* Checks the output-only fields specific to each kind on a new record. */
static void check_kind_outputs(e2e_kind k, const ProtobufCMessage *r, const char *region) {
  switch (k) {
    case E2E_ROUND: {
      const Xuncha__V1__Round *x = (const Xuncha__V1__Round *)r;
      CU_ASSERT_EQUAL(x->stage, XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION);
      for (size_t i = 0; i < x->n_stage_dates; i++) {
        CU_ASSERT_NOT_EQUAL(x->stage_dates[i]->stage,
                            XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED);
        CU_ASSERT_STRING_NOT_EQUAL(x->stage_dates[i]->date, "1999-01-01");
      }
      break;
    }
    case E2E_GROUP:
      CU_ASSERT_STRING_EQUAL(((const Xuncha__V1__Group *)r)->region_code, region);
      break;
    case E2E_FINDING: {
      const Xuncha__V1__Finding *x = (const Xuncha__V1__Finding *)r;
      CU_ASSERT_STRING_EQUAL(x->region_code, region);
      CU_ASSERT_PTR_NOT_NULL_FATAL(x->rectification);
      CU_ASSERT_EQUAL(x->rectification->status,
                      XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN);
      break;
    }
    case E2E_LEAD: {
      const Xuncha__V1__Lead *x = (const Xuncha__V1__Lead *)r;
      CU_ASSERT_STRING_EQUAL(x->region_code, region);
      CU_ASSERT_EQUAL(x->disposal, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING);
      break;
    }
    default:
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(r, "region_code"), region);
      break;
  }
}

/* Sets every common output-only field of an owned record to a wrong value. */
static int set_bogus_common(ProtobufCMessage *m) {
  int rc = xc_msg_set_str(m, "id", "x_bogus");
  if (rc == XC_OK) rc = xc_msg_set_str(m, "owner", BOGUS_OWNER);
  if (rc == XC_OK) rc = xc_msg_set_str(m, "etag", BOGUS_ETAG);
  if (rc == XC_OK) rc = xc_msg_set_str(m, "created_by", BOGUS_AUTHOR);
  if (rc == XC_OK) rc = xc_msg_set_str(m, "updated_by", BOGUS_AUTHOR);
  if (rc == XC_OK) rc = xc_msg_set_int(m, "create_time_ms", 1000);
  if (rc == XC_OK) rc = xc_msg_set_int(m, "update_time_ms", 2000);
  return rc;
}

static void test_health(void) {
  E2E_CLIENT(c, XC_H_AUDITOR);
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Grpc__Health__V1__HealthCheckResponse *resp = NULL;
  xc_err err;
  E2E_EXPECT(xc_health_check(c, &req, &resp, XC_H_CALL_MS, &err), err, XC_OK);
  if (resp != NULL)
    CU_ASSERT_EQUAL(resp->status,
                    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  xc_message_free(resp);
}

/*
 * Every kind: a normal create gets the server's fields; a create that sends
 * wrong values for every output-only field gets the server's values instead.
 */
static void test_create_sets_server_fields(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int64_t t0 = xc_h_wall_ms(), t1;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-create", &ch, &err);
  t1 = xc_h_wall_ms();
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    const ProtobufCMessage *base = e2e_chain_rec(&ch, (e2e_kind)k);
    ProtobufCMessage *clone = xc_msg_clone(base);
    ProtobufCMessage *out = NULL;
    char newtext[64];
    int64_t c0, c1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
    check_server_fields((e2e_kind)k, base, t0, t1);
    check_kind_outputs((e2e_kind)k, base, "310104");

    (void)snprintf(newtext, sizeof newtext, "副本 %d", k);
    CU_ASSERT_EQUAL(set_bogus_common(clone), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_str(clone, text_field[k], newtext), XC_OK);
    c0 = xc_h_wall_ms();
    switch ((e2e_kind)k) {
      case E2E_ROUND: {
        Xuncha__V1__Round r = *(Xuncha__V1__Round *)clone;
        Xuncha__V1__StageDate sd = XUNCHA__V1__STAGE_DATE__INIT;
        Xuncha__V1__StageDate *sds[1] = {&sd};
        sd.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED;
        sd.date = "1999-01-01";
        r.number = 2;
        r.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED;
        r.n_stage_dates = 1;
        r.stage_dates = sds;
        rc = e2e_create(c, E2E_ROUND, &r.base, NULL, &out, &err);
        break;
      }
      case E2E_GROUP: {
        Xuncha__V1__Group g = *(Xuncha__V1__Group *)clone;
        g.region_code = "3101";
        rc = e2e_create(c, E2E_GROUP, &g.base, NULL, &out, &err);
        break;
      }
      case E2E_FINDING: {
        Xuncha__V1__Finding f = *(Xuncha__V1__Finding *)clone;
        Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
        if (f.rectification != NULL) rect = *f.rectification;
        rect.status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
        f.rectification = &rect;
        f.region_code = "3101";
        rc = e2e_create(c, E2E_FINDING, &f.base, NULL, &out, &err);
        break;
      }
      case E2E_LEAD: {
        Xuncha__V1__Lead l = *(Xuncha__V1__Lead *)clone;
        l.region_code = "3101";
        l.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CLOSED;
        rc = e2e_create(c, E2E_LEAD, &l.base, NULL, &out, &err);
        break;
      }
      default:
        rc = e2e_create(c, (e2e_kind)k, clone, NULL, &out, &err);
        break;
    }
    c1 = xc_h_wall_ms();
    if (rc != XC_OK)
      fprintf(stderr, "\n  create %s with output-only fields set: ", e2e_kind_get(k)->name);
    E2E_EXPECT(rc, err, XC_OK);
    if (out != NULL) {
      check_server_fields((e2e_kind)k, out, c0, c1);
      check_kind_outputs((e2e_kind)k, out, "310104");
      CU_ASSERT_STRING_NOT_EQUAL(e2e_id(out), e2e_id(base));
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, text_field[k]), newtext);
    }
    xc_message_free(out);
    xc_msg_free(clone);
  }
  e2e_chain_free(&ch);
}

/* Every kind: Get returns exactly what Create returned, and List includes it. */
static void test_get_and_list(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-get", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    const ProtobufCMessage *base = e2e_chain_rec(&ch, (e2e_kind)k);
    ProtobufCMessage *got = NULL;
    E2E_EXPECT(e2e_get(c, (e2e_kind)k, e2e_id(base), &got, &err), err, XC_OK);
    if (got != NULL) CU_ASSERT_TRUE(e2e_same_bytes(base, got));
    xc_message_free(got);
    CU_ASSERT_TRUE(e2e_listed(c, (e2e_kind)k, e2e_id(base)));
    /* An id nobody made is NOT_FOUND. */
    {
      char bogus[64];
      (void)snprintf(bogus, sizeof bogus, "%.2s01HZZZZZZZZZZZZZZZZZZZZZZZ", e2e_id(base));
      E2E_EXPECT(e2e_get(c, (e2e_kind)k, bogus, &got, &err), err, XC_ENOT_FOUND);
      xc_message_free(got);
    }
  }
  e2e_chain_free(&ch);
}

/* Every kind: Update changes the field, the etag and update_time; Get agrees. */
static void test_update(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-update", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    const ProtobufCMessage *cur = e2e_chain_rec(&ch, (e2e_kind)k);
    ProtobufCMessage *mod = xc_msg_clone(cur), *out = NULL, *out2 = NULL, *got = NULL;
    char text[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
    (void)snprintf(text, sizeof text, "已修改 %d", k);
    CU_ASSERT_EQUAL(xc_msg_set_str(mod, text_field[k], text), XC_OK);
    sleep_ms(3);
    rc = e2e_update(c, (e2e_kind)k, mod, NULL, 0, &out, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (out != NULL) {
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, text_field[k]), text);
      CU_ASSERT_STRING_EQUAL(e2e_id(out), e2e_id(cur));
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, "owner"), CN_A);
      CU_ASSERT_TRUE(e2e_etag(out)[0] != '\0');
      CU_ASSERT_STRING_NOT_EQUAL(e2e_etag(out), e2e_etag(cur));
      CU_ASSERT_EQUAL(xc_msg_get_int(out, "create_time_ms"),
                      xc_msg_get_int(cur, "create_time_ms"));
      CU_ASSERT_TRUE(xc_msg_get_int(out, "update_time_ms") >
                     xc_msg_get_int(cur, "update_time_ms"));
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, "created_by"),
                             xc_msg_get_str(cur, "created_by"));
      CU_ASSERT_TRUE(e2e_author_is(xc_msg_get_str(out, "updated_by"), CN_A, XC_H_COUNTY_A));
      E2E_EXPECT(e2e_get(c, (e2e_kind)k, e2e_id(cur), &got, &err), err, XC_OK);
      if (got != NULL) CU_ASSERT_TRUE(e2e_same_bytes(out, got));
      /* A second update of what the first returned gives a third etag. */
      xc_msg_free(mod);
      mod = xc_msg_clone(out);
      CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
      CU_ASSERT_EQUAL(xc_msg_set_str(mod, text_field[k], "再次修改"), XC_OK);
      E2E_EXPECT(e2e_update(c, (e2e_kind)k, mod, NULL, 0, &out2, &err), err, XC_OK);
      if (out2 != NULL) {
        CU_ASSERT_STRING_NOT_EQUAL(e2e_etag(out2), e2e_etag(out));
        CU_ASSERT_STRING_NOT_EQUAL(e2e_etag(out2), e2e_etag(cur));
        CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out2, text_field[k]), "再次修改");
      }
    }
    CU_ASSERT_TRUE(e2e_listed(c, (e2e_kind)k, e2e_id(cur)));
    xc_message_free(got);
    xc_message_free(out2);
    xc_message_free(out);
    xc_msg_free(mod);
  }
  e2e_chain_free(&ch);
}

/* One attempted change of an output-only (or fixed) field, by name. */
typedef struct bad_change {
  const char *field; /* the name the error must mention */
  const char *str;   /* new string value, or NULL */
  int64_t delta;     /* added to the int value when str is NULL */
} bad_change;

static const bad_change common_changes[] = {
    {"owner", BOGUS_OWNER, 0},       {"created_by", BOGUS_AUTHOR, 0},
    {"updated_by", BOGUS_AUTHOR, 0}, {"create_time_ms", NULL, 12345},
    {"update_time_ms", NULL, 12345}, {NULL, NULL, 0}};

/* Sends one update of `cur` with one output-only field changed and checks
 * that it is refused with INVALID_ARGUMENT naming the field, and that the
 * stored record did not change. `apply` edits a shallow typed copy. */
static void expect_refused(xc_client *c, e2e_kind k, const ProtobufCMessage *cur,
                           const ProtobufCMessage *req_rec, const char *field, int want1,
                           int want2) {
  ProtobufCMessage *out = NULL, *got = NULL;
  xc_err err;
  int rc = e2e_update(c, k, req_rec, NULL, 0, &out, &err);
  if (rc != want1 && rc != want2)
    fprintf(stderr, "\n  update of %s with %s changed: expected %s, got %s: %s\n",
            e2e_kind_get(k)->name, field, xc_code_name(want1), xc_code_name(rc),
            rc ? err.msg : "(accepted)");
  CU_ASSERT_TRUE(rc == want1 || rc == want2);
  if (rc != XC_OK) E2E_CONTAINS(err.msg, field);
  xc_message_free(out);
  E2E_EXPECT(e2e_get(c, k, e2e_id(cur), &got, &err), err, XC_OK);
  if (got != NULL) {
    if (!e2e_same_bytes(cur, got))
      fprintf(stderr, "\n  %s changed after a refused update of %s\n", e2e_kind_get(k)->name,
              field);
    CU_ASSERT_TRUE(e2e_same_bytes(cur, got));
  }
  xc_message_free(got);
}

/* Every kind: an update that changes an output-only field is INVALID_ARGUMENT. */
static void test_update_refuses_output_only(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-oo", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    const ProtobufCMessage *cur = e2e_chain_rec(&ch, (e2e_kind)k);
    for (const bad_change *b = common_changes; b->field != NULL; b++) {
      ProtobufCMessage *mod = xc_msg_clone(cur);
      CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
      if (b->str != NULL) {
        CU_ASSERT_EQUAL(xc_msg_set_str(mod, b->field, b->str), XC_OK);
      } else {
        CU_ASSERT_EQUAL(
            xc_msg_set_int(mod, b->field, xc_msg_get_int(mod, b->field) + b->delta), XC_OK);
      }
      expect_refused(c, (e2e_kind)k, cur, mod, b->field, XC_EINVALID_ARGUMENT,
                     XC_EINVALID_ARGUMENT);
      xc_msg_free(mod);
    }
  }
  if (rc == XC_OK) {
    /* The output-only fields of each kind. */
    Xuncha__V1__Round r = *ch.round;
    Xuncha__V1__StageDate sd = XUNCHA__V1__STAGE_DATE__INIT;
    Xuncha__V1__StageDate *sds[1] = {&sd};
    Xuncha__V1__Group g = *ch.group;
    Xuncha__V1__Finding f = *ch.finding;
    Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
    Xuncha__V1__Lead l = *ch.lead;

    r.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE;
    expect_refused(c, E2E_ROUND, &ch.round->base, &r.base, "stage", XC_EINVALID_ARGUMENT,
                   XC_EINVALID_ARGUMENT);
    r = *ch.round;
    sd.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED;
    sd.date = "1999-01-01";
    r.n_stage_dates = 1;
    r.stage_dates = sds;
    expect_refused(c, E2E_ROUND, &ch.round->base, &r.base, "stage_dates",
                   XC_EINVALID_ARGUMENT, XC_EINVALID_ARGUMENT);

    g.region_code = "3101";
    expect_refused(c, E2E_GROUP, &ch.group->base, &g.base, "region_code",
                   XC_EINVALID_ARGUMENT, XC_EINVALID_ARGUMENT);

    f.region_code = "3101";
    expect_refused(c, E2E_FINDING, &ch.finding->base, &f.base, "region_code",
                   XC_EINVALID_ARGUMENT, XC_EINVALID_ARGUMENT);
    f = *ch.finding;
    if (f.rectification != NULL) rect = *f.rectification;
    rect.status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_DONE;
    f.rectification = &rect;
    expect_refused(c, E2E_FINDING, &ch.finding->base, &f.base, "status",
                   XC_EINVALID_ARGUMENT, XC_EINVALID_ARGUMENT);

    l.region_code = "3101";
    expect_refused(c, E2E_LEAD, &ch.lead->base, &l.base, "region_code", XC_EINVALID_ARGUMENT,
                   XC_EINVALID_ARGUMENT);
    l = *ch.lead;
    l.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CLOSED;
    expect_refused(c, E2E_LEAD, &ch.lead->base, &l.base, "disposal", XC_EINVALID_ARGUMENT,
                   XC_EINVALID_ARGUMENT);
  }
  e2e_chain_free(&ch);
}

/* Fields fixed after creation (region_code, round_id, target_id) cannot change. */
static void test_update_refuses_fixed_fields(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch, other;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-fixed", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (rc == XC_OK) {
    rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-fixed-2", &other, &err);
    E2E_EXPECT(rc, err, XC_OK);
  }
  if (rc == XC_OK) {
    Xuncha__V1__Target t = *ch.target;
    Xuncha__V1__Round r = *ch.round;
    Xuncha__V1__Group g = *ch.group;
    Xuncha__V1__Finding f = *ch.finding;
    Xuncha__V1__Lead l = *ch.lead;
    t.region_code = "310104001";
    expect_refused(c, E2E_TARGET, &ch.target->base, &t.base, "region_code",
                   XC_EINVALID_ARGUMENT, XC_EFAILED_PRECONDITION);
    r.region_code = "310104001";
    expect_refused(c, E2E_ROUND, &ch.round->base, &r.base, "region_code",
                   XC_EINVALID_ARGUMENT, XC_EFAILED_PRECONDITION);
    g.round_id = other.round->id;
    expect_refused(c, E2E_GROUP, &ch.group->base, &g.base, "round_id", XC_EINVALID_ARGUMENT,
                   XC_EFAILED_PRECONDITION);
    f.target_id = other.target->id;
    expect_refused(c, E2E_FINDING, &ch.finding->base, &f.base, "target_id",
                   XC_EINVALID_ARGUMENT, XC_EFAILED_PRECONDITION);
    l.round_id = other.round->id;
    expect_refused(c, E2E_LEAD, &ch.lead->base, &l.base, "round_id", XC_EINVALID_ARGUMENT,
                   XC_EFAILED_PRECONDITION);
    e2e_chain_free(&other);
  }
  e2e_chain_free(&ch);
}

/* Every kind: empty or zero output-only fields on update mean "unchanged". */
static void test_update_empty_output_only_is_unchanged(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-empty", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (int k = 0; k < E2E_KIND_COUNT && rc == XC_OK; k++) {
    const ProtobufCMessage *cur = e2e_chain_rec(&ch, (e2e_kind)k);
    ProtobufCMessage *mod = xc_msg_clone(cur), *out = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
    CU_ASSERT_EQUAL(xc_msg_set_str(mod, "owner", ""), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_str(mod, "created_by", ""), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_str(mod, "updated_by", ""), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_int(mod, "create_time_ms", 0), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_int(mod, "update_time_ms", 0), XC_OK);
    CU_ASSERT_EQUAL(xc_msg_set_str(mod, text_field[k], "空字段表示不变"), XC_OK);
    E2E_EXPECT(e2e_update(c, (e2e_kind)k, mod, NULL, 0, &out, &err), err, XC_OK);
    if (out != NULL) {
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, "owner"), CN_A);
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, "created_by"),
                             xc_msg_get_str(cur, "created_by"));
      CU_ASSERT_EQUAL(xc_msg_get_int(out, "create_time_ms"),
                      xc_msg_get_int(cur, "create_time_ms"));
      CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, text_field[k]), "空字段表示不变");
    }
    xc_message_free(out);
    xc_msg_free(mod);
  }
  e2e_chain_free(&ch);
}

/* update_mask: only the named fields change. */
static void test_update_mask(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  Xuncha__V1__Target *t;
  Xuncha__V1__Target mod;
  ProtobufCMessage *out = NULL;
  const char *mask[] = {"note"};
  xc_err err;
  t = e2e_target_new(c, "310104", "掩码测试单位", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  mod = *t;
  mod.name = "不应生效的名称";
  mod.note = "只改备注";
  E2E_EXPECT(e2e_update(c, E2E_TARGET, &mod.base, mask, 1, &out, &err), err, XC_OK);
  if (out != NULL) {
    const Xuncha__V1__Target *o = (const Xuncha__V1__Target *)out;
    CU_ASSERT_STRING_EQUAL(o->name, "掩码测试单位");
    CU_ASSERT_STRING_EQUAL(o->note, "只改备注");
    CU_ASSERT_STRING_EQUAL(o->party_secretary, t->party_secretary);
  }
  xc_message_free(out);
  xc_message_free(t);
}

/* A create missing a required field is INVALID_ARGUMENT naming it. */
static void test_create_requires_fields(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc;
  t.region_code = "310104";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  rc = e2e_create(c, E2E_TARGET, &t.base, NULL, &out, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  if (rc != XC_OK) E2E_CONTAINS(err.msg, "name");
  xc_message_free(out);
  out = NULL;
  t.name = "无类别单位";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_UNSPECIFIED;
  rc = e2e_create(c, E2E_TARGET, &t.base, NULL, &out, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  if (rc != XC_OK) E2E_CONTAINS(err.msg, "kind");
  xc_message_free(out);
}

/* Ids and update masks that name nothing: refused, never a crash or a write. */
static void test_bad_ids_and_masks(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  e2e_chain ch;
  xc_err err;
  int rc = e2e_chain_make(c, "310104", NULL, 0, "agency:3101:jw", "crud-bad", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (rc == XC_OK) {
    ProtobufCMessage *out = NULL;
    Xuncha__V1__Target t = *ch.target;
    static const char *const bad_ids[] = {"", "../../etc/passwd", "t_", "t_\xff\xfe",
                                          "t_01HZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
                                          "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
      rc = e2e_get(c, E2E_TARGET, bad_ids[i], &out, &err);
      if (rc != XC_EINVALID_ARGUMENT && rc != XC_ENOT_FOUND)
        fprintf(stderr, "\n  GetTarget id \"%s\": %s", bad_ids[i], xc_code_name(rc));
      CU_ASSERT_TRUE(rc == XC_EINVALID_ARGUMENT || rc == XC_ENOT_FOUND);
      xc_message_free(out);
      out = NULL;
    }
    /* An id of another kind. */
    rc = e2e_get(c, E2E_ROUND, ch.target->id, &out, &err);
    CU_ASSERT_TRUE(rc == XC_EINVALID_ARGUMENT || rc == XC_ENOT_FOUND);
    xc_message_free(out);
    out = NULL;
    /* Update of an id nobody made. */
    t.id = "t_01HZZZZZZZZZZZZZZZZZZZZZZZ";
    rc = e2e_update(c, E2E_TARGET, &t.base, NULL, 0, &out, &err);
    E2E_EXPECT(rc, err, XC_ENOT_FOUND);
    xc_message_free(out);
    out = NULL;
    t.id = "";
    rc = e2e_update(c, E2E_TARGET, &t.base, NULL, 0, &out, &err);
    E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
    xc_message_free(out);
    out = NULL;
    /* Masks naming an unknown field, or an output-only one. */
    t = *ch.target;
    t.name = "掩码错误不应生效";
    {
      const char *m1[] = {"name", "no_such_field"};
      const char *m2[] = {"owner"};
      rc = e2e_update(c, E2E_TARGET, &t.base, m1, 2, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      if (rc != XC_OK) E2E_CONTAINS(err.msg, "no_such_field");
      xc_message_free(out);
      out = NULL;
      rc = e2e_update(c, E2E_TARGET, &t.base, m2, 1, &out, &err);
      E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
      xc_message_free(out);
      out = NULL;
    }
    E2E_EXPECT(e2e_get(c, E2E_TARGET, ch.target->id, &out, &err), err, XC_OK);
    if (out != NULL) CU_ASSERT_TRUE(e2e_same_bytes(&ch.target->base, out));
    xc_message_free(out);
  }
  e2e_chain_free(&ch);
}

/*
 * SIGTERM with a client connected but idle stops the server promptly and
 * cleanly; after a restart on the same data directory every record is back.
 */
static void test_restart_keeps_records(void) {
  xc_client *c = xc_h_client(e2e_h, XC_H_COUNTY_A);
  Xuncha__V1__Target *t;
  ProtobufCMessage *got = NULL;
  xc_err err;
  int64_t ms = 0;
  int status;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  t = e2e_target_new(c, "310104", "重启后仍在", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  /* The client stays connected, idle, while the server stops. */
  status = xc_h_server_stop(e2e_h, &ms);
  if (ms >= 2000)
    fprintf(stderr, "\n  xunchad took %lld ms to stop on SIGTERM with an idle client connected",
            (long long)ms);
  CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CU_ASSERT_TRUE(ms < 2000);
  xc_h_clients_close(e2e_h);
  E2E_EXPECT(xc_h_server_start(e2e_h, &err), err, XC_OK);
  c = xc_h_client(e2e_h, XC_H_COUNTY_A);
  CU_ASSERT_PTR_NOT_NULL(c);
  if (c != NULL) {
    E2E_EXPECT(e2e_get(c, E2E_TARGET, t->id, &got, &err), err, XC_OK);
    if (got != NULL) CU_ASSERT_TRUE(e2e_same_bytes(&t->base, got));
  }
  xc_message_free(got);
  xc_message_free(t);
}

static const e2e_test crud_tests[] = {
    {"health check is SERVING", test_health},
    {"create sets server fields, ignores output-only input", test_create_sets_server_fields},
    {"get returns the created record; list includes it", test_get_and_list},
    {"update changes field, etag and update time", test_update},
    {"update refusing changed output-only fields", test_update_refuses_output_only},
    {"update refusing changed fixed fields", test_update_refuses_fixed_fields},
    {"update with empty output-only fields", test_update_empty_output_only_is_unchanged},
    {"update_mask changes only named fields", test_update_mask},
    {"create requires name and kind", test_create_requires_fields},
    {"bad ids and update masks are refused", test_bad_ids_and_masks},
    {"prompt stop with an idle client; restart keeps records", test_restart_keeps_records},
    {NULL, NULL}};

const e2e_suite e2e_suite_crud = {"crud", crud_tests, NULL};
