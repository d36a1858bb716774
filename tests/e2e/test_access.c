/*
 * e2e access: jurisdiction between two counties (310104, 310105), a township
 * below county A (310104001) and the city (3101): reading by prefix, writing
 * by ownership, leads visible only to their owner, the offices above it and
 * their recipient agency; and denied writes that leave no trace.
 */
#include <stdlib.h>
#include <string.h>

#include "e2e_suite.h"
#include "xc_msg.h"

static e2e_chain a;        /* county A's records on its target TA (lead -> zzb) */
static e2e_chain b;        /* county B's records on its target TB (lead -> jw) */
static e2e_chain elevated; /* the city's elevated round on TA (lead -> jw) */
static int ready;

static void test_setup(void) {
  xc_err err;
  int rc;
  E2E_CLIENT(ca, XC_H_COUNTY_A);
  E2E_CLIENT(cb, XC_H_COUNTY_B);
  E2E_CLIENT(city, XC_H_CITY);
  rc = e2e_chain_make(ca, "310104", NULL, 0, "agency:3101:zzb", "county-a", &a, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (rc == XC_OK) {
    rc = e2e_chain_make(cb, "310105", NULL, 0, "agency:3101:jw", "county-b", &b, &err);
    E2E_EXPECT(rc, err, XC_OK);
  }
  if (rc == XC_OK) {
    rc = e2e_chain_make(city, "310104", a.target->id,
                        XUNCHA__V1__ROUND_KIND__ROUND_KIND_ELEVATED, "agency:3101:jw",
                        "提级巡察", &elevated, &err);
    E2E_EXPECT(rc, err, XC_OK);
  }
  if (rc == XC_OK) {
    CU_ASSERT_STRING_EQUAL(elevated.round->owner, "office:3101");
    CU_ASSERT_STRING_EQUAL(elevated.lead->owner, "office:3101");
    CU_ASSERT_STRING_EQUAL(elevated.lead->region_code, "310104");
  }
  ready = rc == XC_OK;
}

static void access_release(void) {
  e2e_chain_free(&a);
  e2e_chain_free(&b);
  e2e_chain_free(&elevated);
  ready = 0;
}

/* Asserts that `who` gets `want` when reading rec, and that a list shows it
 * exactly when the get is allowed. */
static void expect_read(const char *who, e2e_kind k, const ProtobufCMessage *rec, int want) {
  xc_client *c = xc_h_client(e2e_h, who);
  ProtobufCMessage *got = NULL;
  xc_err err;
  int rc, listed;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  rc = e2e_get(c, k, e2e_id(rec), &got, &err);
  if (rc != want)
    fprintf(stderr, "\n  %s get %s %s (owner %s, region %s): expected %s, got %s: %s", who,
            e2e_kind_get(k)->name, e2e_id(rec), xc_msg_get_str(rec, "owner"),
            xc_msg_get_str(rec, "region_code"), xc_code_name(want), xc_code_name(rc),
            rc ? err.msg : "(allowed)");
  CU_ASSERT_EQUAL(rc, want);
  if (rc == XC_OK && got != NULL) CU_ASSERT_TRUE(e2e_same_bytes(rec, got));
  if (rc != XC_OK && got != NULL) CU_FAIL("a refused get returned a record");
  xc_message_free(got);
  listed = e2e_listed(c, k, e2e_id(rec));
  if (listed != (want == XC_OK))
    fprintf(stderr, "\n  %s list %ss: %s is %s", who, e2e_kind_get(k)->name, e2e_id(rec),
            listed ? "listed but may not be read" : "missing though readable");
  CU_ASSERT_EQUAL(listed, want == XC_OK);
}

static void test_counties_cannot_read_each_other(void) {
  CU_ASSERT_TRUE_FATAL(ready);
  for (int k = 0; k < E2E_KIND_COUNT; k++) {
    expect_read(XC_H_COUNTY_B, (e2e_kind)k, e2e_chain_rec(&a, (e2e_kind)k),
                XC_EPERMISSION_DENIED);
    expect_read(XC_H_COUNTY_A, (e2e_kind)k, e2e_chain_rec(&b, (e2e_kind)k),
                XC_EPERMISSION_DENIED);
    expect_read(XC_H_COUNTY_A, (e2e_kind)k, e2e_chain_rec(&a, (e2e_kind)k), XC_OK);
    expect_read(XC_H_COUNTY_B, (e2e_kind)k, e2e_chain_rec(&b, (e2e_kind)k), XC_OK);
  }
  /* The township below A reads A's non-lead records of its region only: TA is
   * in 310104 itself, so not in 310104001. */
  expect_read(XC_H_TOWNSHIP, E2E_TARGET, &a.target->base, XC_EPERMISSION_DENIED);
}

static void test_city_reads_everything(void) {
  CU_ASSERT_TRUE_FATAL(ready);
  for (int k = 0; k < E2E_KIND_COUNT; k++) {
    expect_read(XC_H_CITY, (e2e_kind)k, e2e_chain_rec(&a, (e2e_kind)k), XC_OK);
    expect_read(XC_H_CITY, (e2e_kind)k, e2e_chain_rec(&b, (e2e_kind)k), XC_OK);
    /* The elevated chain reuses TA: it has no target of its own. */
    if (k != E2E_TARGET)
      expect_read(XC_H_CITY, (e2e_kind)k, e2e_chain_rec(&elevated, (e2e_kind)k), XC_OK);
  }
  /* The auditor reads the audit log only (issue 7): no records at all. */
  expect_read(XC_H_AUDITOR, E2E_TARGET, &a.target->base, XC_EPERMISSION_DENIED);
  expect_read(XC_H_AUDITOR, E2E_FINDING, &b.finding->base, XC_EPERMISSION_DENIED);
  expect_read(XC_H_AUDITOR, E2E_LEAD, &a.lead->base, XC_EPERMISSION_DENIED);
}

/* Tries an update of rec as `who` (with the right etag and a changed text
 * field) and checks it is refused with `want` and changes nothing. */
static void expect_write_denied(const char *who, e2e_kind k, const ProtobufCMessage *rec,
                                int want) {
  static const char *const text_field[E2E_KIND_COUNT] = {"name", "title", "name", "title",
                                                         "summary"};
  xc_client *owner = xc_h_client(e2e_h, XC_H_CITY); /* the city reads everything */
  xc_client *c = xc_h_client(e2e_h, who);
  ProtobufCMessage *before = NULL, *after = NULL, *mod = NULL, *out = NULL;
  uint8_t *pb = NULL, *pa = NULL;
  size_t lb = 0, la = 0;
  xc_err err;
  int rc;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_PTR_NOT_NULL_FATAL(owner);
  E2E_EXPECT(e2e_get(owner, k, e2e_id(rec), &before, &err), err, XC_OK);
  if (before == NULL) return;
  pb = e2e_pack(before, &lb);
  mod = xc_msg_clone(before);
  CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
  CU_ASSERT_EQUAL(xc_msg_set_str(mod, text_field[k], "越权修改"), XC_OK);
  rc = e2e_update(c, k, mod, NULL, 0, &out, &err);
  if (rc != want)
    fprintf(stderr, "\n  %s update %s owned by %s: expected %s, got %s: %s", who,
            e2e_kind_get(k)->name, xc_msg_get_str(rec, "owner"), xc_code_name(want),
            xc_code_name(rc), rc ? err.msg : "(accepted!)");
  CU_ASSERT_EQUAL(rc, want);
  E2E_EXPECT(e2e_get(owner, k, e2e_id(rec), &after, &err), err, XC_OK);
  if (after != NULL) {
    pa = e2e_pack(after, &la);
    CU_ASSERT_TRUE(pa != NULL && pb != NULL && la == lb && memcmp(pa, pb, la) == 0);
    CU_ASSERT_STRING_EQUAL(e2e_etag(after), e2e_etag(before));
  }
  free(pa);
  free(pb);
  xc_message_free(out);
  xc_msg_free(mod);
  xc_message_free(after);
  xc_message_free(before);
}

static void test_elevated_round(void) {
  E2E_CLIENT(ca, XC_H_COUNTY_A);
  E2E_CLIENT(city, XC_H_CITY);
  ProtobufCMessage *got = NULL, *out = NULL;
  Xuncha__V1__Round mod;
  xc_err err;
  CU_ASSERT_TRUE_FATAL(ready);
  /* County A reads the city's round, group and finding on its target... */
  expect_read(XC_H_COUNTY_A, E2E_ROUND, &elevated.round->base, XC_OK);
  expect_read(XC_H_COUNTY_A, E2E_GROUP, &elevated.group->base, XC_OK);
  expect_read(XC_H_COUNTY_A, E2E_FINDING, &elevated.finding->base, XC_OK);
  /* ...but does not change them. */
  expect_write_denied(XC_H_COUNTY_A, E2E_ROUND, &elevated.round->base, XC_EPERMISSION_DENIED);
  expect_write_denied(XC_H_COUNTY_A, E2E_FINDING, &elevated.finding->base,
                      XC_EPERMISSION_DENIED);
  /* The city, its owner, does. */
  E2E_EXPECT(e2e_get(city, E2E_ROUND, elevated.round->id, &got, &err), err, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(got);
  mod = *(Xuncha__V1__Round *)got;
  mod.title = "提级巡察（已修改）";
  E2E_EXPECT(e2e_update(city, E2E_ROUND, &mod.base, NULL, 0, &out, &err), err, XC_OK);
  xc_message_free(out);
  xc_message_free(got);
  got = NULL;
  /* County A sees the city's change. */
  E2E_EXPECT(e2e_get(ca, E2E_ROUND, elevated.round->id, &got, &err), err, XC_OK);
  if (got != NULL)
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Round *)got)->title, "提级巡察（已修改）");
  xc_message_free(got);
}

/* Findings, groups and leads are the round owner's work: county A may not
 * add a finding to the city's elevated round, even on its own target. */
static void test_only_round_owner_adds(void) {
  E2E_CLIENT(ca, XC_H_COUNTY_A);
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  size_t before_n = 0, after_n = 0;
  e2e_ids before = {0}, after = {0};
  CU_ASSERT_TRUE_FATAL(ready);
  E2E_EXPECT(e2e_list_all(ca, E2E_FINDING, 100, NULL, &before, 100, &err), err, XC_OK);
  before_n = before.n;
  f.round_id = elevated.round->id;
  f.target_id = a.target->id;
  f.title = "区县自行添加到市级轮次的问题";
  f.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_CONDUCT;
  E2E_EXPECT(e2e_create(ca, E2E_FINDING, &f.base, NULL, &out, &err), err,
             XC_EPERMISSION_DENIED);
  CU_ASSERT_PTR_NULL(out);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "office:3101"));
  xc_message_free(out);
  out = NULL;
  g.round_id = elevated.round->id;
  g.name = "区县巡察组";
  E2E_EXPECT(e2e_create(ca, E2E_GROUP, &g.base, NULL, &out, &err), err, XC_EPERMISSION_DENIED);
  xc_message_free(out);
  E2E_EXPECT(e2e_list_all(ca, E2E_FINDING, 100, NULL, &after, 100, &err), err, XC_OK);
  after_n = after.n;
  CU_ASSERT_EQUAL(after_n, before_n);
  e2e_ids_free(&before);
  e2e_ids_free(&after);
}

static void test_city_lead_on_county_target(void) {
  const ProtobufCMessage *lead;
  CU_ASSERT_TRUE_FATAL(ready);
  lead = &elevated.lead->base;
  /* About A's target, owned by the city, sent to jw. */
  expect_read(XC_H_COUNTY_A, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
  expect_read(XC_H_TOWNSHIP, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
  expect_read(XC_H_COUNTY_B, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
  expect_read(XC_H_CITY, E2E_LEAD, lead, XC_OK);
  expect_read(XC_H_JW, E2E_LEAD, lead, XC_OK);
  expect_read(XC_H_ZZB, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
}

static void test_county_lead(void) {
  const ProtobufCMessage *lead;
  CU_ASSERT_TRUE_FATAL(ready);
  lead = &a.lead->base; /* owned by county A, sent to zzb */
  expect_read(XC_H_COUNTY_A, E2E_LEAD, lead, XC_OK);
  expect_read(XC_H_CITY, E2E_LEAD, lead, XC_OK);
  expect_read(XC_H_ZZB, E2E_LEAD, lead, XC_OK);
  expect_read(XC_H_JW, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
  expect_read(XC_H_COUNTY_B, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
  /* The township is below county A, not above: it does not see A's leads. */
  expect_read(XC_H_TOWNSHIP, E2E_LEAD, lead, XC_EPERMISSION_DENIED);
}

/* A refused update by anyone but the owner leaves the record byte-for-byte. */
static void test_denied_write_changes_nothing(void) {
  CU_ASSERT_TRUE_FATAL(ready);
  for (int k = 0; k < E2E_KIND_COUNT; k++) {
    const ProtobufCMessage *rec = e2e_chain_rec(&a, (e2e_kind)k);
    /* The office above reads it but does not own it. */
    expect_write_denied(XC_H_CITY, (e2e_kind)k, rec, XC_EPERMISSION_DENIED);
    /* A neighbour county may not even read it. */
    expect_write_denied(XC_H_COUNTY_B, (e2e_kind)k, rec, XC_EPERMISSION_DENIED);
    /* Auditors and agencies never write records of offices. */
    expect_write_denied(XC_H_AUDITOR, (e2e_kind)k, rec, XC_EPERMISSION_DENIED);
  }
  expect_write_denied(XC_H_ZZB, E2E_LEAD, &a.lead->base, XC_EPERMISSION_DENIED);
  expect_write_denied(XC_H_COUNTY_A, E2E_LEAD, &elevated.lead->base, XC_EPERMISSION_DENIED);
}

/* Creates are for offices, inside their own region; a refused create stores nothing. */
static void test_create_outside_jurisdiction(void) {
  static const char *const who[] = {XC_H_COUNTY_A, XC_H_AUDITOR, XC_H_JW};
  static const char *const region[] = {"310105", "3101", "3101"};
  E2E_CLIENT(city, XC_H_CITY);
  for (int i = 0; i < 3; i++) {
    Xuncha__V1__ListTargetsRequest lr = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    xc_err err;
    char name[64];
    size_t n = 99;
    xc_client *c = xc_h_client(e2e_h, who[i]);
    Xuncha__V1__Target *t;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    (void)snprintf(name, sizeof name, "越权创建 %d", i);
    t = e2e_target_new(c, region[i], name, &err);
    if (t != NULL || err.code != XC_EPERMISSION_DENIED)
      fprintf(stderr, "\n  %s create target in %s: expected PERMISSION_DENIED, got %s: %s",
              who[i], region[i], t ? "OK" : xc_code_name(err.code), t ? "" : err.msg);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(err.code, XC_EPERMISSION_DENIED);
    xc_message_free(t);
    lr.page_size = 1000;
    lr.name_contains = name;
    E2E_EXPECT(e2e_list(city, E2E_TARGET, &lr.base, &resp, &err), err, XC_OK);
    if (resp != NULL) (void)e2e_list_items(resp, E2E_TARGET, &n);
    CU_ASSERT_EQUAL(n, 0);
    xc_message_free(resp);
  }
}

/* Lists everything kind k as `who` with a request the caller filled; returns
 * the call's code and adds the ids. Follows pages (at most 50). */
static int list_ids(const char *who, e2e_kind k, ProtobufCMessage *req, e2e_ids *ids,
                    xc_err *err) {
  xc_client *c = xc_h_client(e2e_h, who);
  char *token = NULL;
  int rc = XC_OK;
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  for (int page = 0; page < 50; page++) {
    ProtobufCMessage *resp = NULL, **items;
    size_t n;
    const char *next;
    if (xc_msg_set_int(req, "page_size", 1000) != XC_OK) break;
    /* page_token is a plain char* in every List request: point it at ours. */
    {
      const ProtobufCFieldDescriptor *f =
          protobuf_c_message_descriptor_get_field_by_name(req->descriptor, "page_token");
      *(const char **)((char *)req + f->offset) = token ? token : "";
    }
    rc = e2e_list(c, k, req, &resp, err);
    if (rc != XC_OK) break;
    items = e2e_list_items(resp, k, &n);
    for (size_t i = 0; i < n && rc == XC_OK; i++) rc = e2e_ids_add(ids, e2e_id(items[i]));
    next = e2e_list_next(resp);
    free(token);
    token = next[0] ? strdup(next) : NULL;
    xc_message_free(resp);
    if (rc != XC_OK) {
      (void)xc_err_set(err, rc, "out of memory");
      break;
    }
    if (token == NULL) break;
  }
  free(token);
  return rc;
}

/* Asserts that a filtered list as `who` succeeds (or is refused) without
 * showing `hidden`. */
static void expect_not_listed(const char *who, e2e_kind k, ProtobufCMessage *req,
                              const char *hidden, const char *what) {
  e2e_ids ids = {0};
  xc_err err;
  int rc = list_ids(who, k, req, &ids, &err);
  if (rc != XC_OK && rc != XC_EPERMISSION_DENIED)
    fprintf(stderr, "\n  %s: %s: %s", what, xc_code_name(rc), err.msg);
  CU_ASSERT_TRUE(rc == XC_OK || rc == XC_EPERMISSION_DENIED);
  if (e2e_ids_contains(&ids, hidden))
    fprintf(stderr, "\n  %s: %s %s leaked to %s", what, e2e_kind_get(k)->name, hidden, who);
  CU_ASSERT_FALSE(e2e_ids_contains(&ids, hidden));
  e2e_ids_free(&ids);
}

/* Filters (round, target, recipient, region prefix) never widen what a caller sees. */
static void test_filters_do_not_leak(void) {
  CU_ASSERT_TRUE_FATAL(ready);
  {
    Xuncha__V1__ListLeadsRequest r = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
    r.round_id = elevated.round->id; /* a round county A may read */
    expect_not_listed(XC_H_COUNTY_A, E2E_LEAD, &r.base, elevated.lead->id,
                      "leads of the city's elevated round");
    r.round_id = "";
    r.target_id = a.target->id;
    expect_not_listed(XC_H_COUNTY_A, E2E_LEAD, &r.base, elevated.lead->id,
                      "leads on county A's own target");
    r.target_id = "";
    r.recipient = "agency:3101:jw";
    expect_not_listed(XC_H_COUNTY_A, E2E_LEAD, &r.base, elevated.lead->id,
                      "leads sent to jw");
    r.recipient = "";
    r.region_prefix = "310104";
    expect_not_listed(XC_H_COUNTY_A, E2E_LEAD, &r.base, elevated.lead->id,
                      "leads with region_prefix 310104");
    expect_not_listed(XC_H_TOWNSHIP, E2E_LEAD, &r.base, a.lead->id,
                      "county leads listed by the township");
    r.region_prefix = "";
    r.round_id = elevated.round->id;
    expect_not_listed(XC_H_ZZB, E2E_LEAD, &r.base, elevated.lead->id,
                      "another agency's lead by round");
    r.round_id = a.round->id;
    expect_not_listed(XC_H_JW, E2E_LEAD, &r.base, a.lead->id, "zzb's lead listed by jw");
  }
  {
    Xuncha__V1__ListTargetsRequest r = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    r.region_prefix = "310105";
    expect_not_listed(XC_H_COUNTY_A, E2E_TARGET, &r.base, b.target->id,
                      "targets with a neighbour's region_prefix");
    r.region_prefix = "3101";
    expect_not_listed(XC_H_COUNTY_A, E2E_TARGET, &r.base, b.target->id,
                      "targets with the city's region_prefix");
    r.region_prefix = "";
    r.name_contains = "county-b";
    expect_not_listed(XC_H_COUNTY_A, E2E_TARGET, &r.base, b.target->id,
                      "targets by a neighbour's target name");
  }
  {
    Xuncha__V1__ListRoundsRequest r = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    r.target_id = b.target->id;
    expect_not_listed(XC_H_COUNTY_A, E2E_ROUND, &r.base, b.round->id,
                      "rounds by a neighbour's target");
  }
  {
    Xuncha__V1__ListGroupsRequest r = XUNCHA__V1__LIST_GROUPS_REQUEST__INIT;
    r.round_id = b.round->id;
    expect_not_listed(XC_H_COUNTY_A, E2E_GROUP, &r.base, b.group->id,
                      "groups by a neighbour's round");
  }
  {
    Xuncha__V1__ListFindingsRequest r = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
    r.target_id = b.target->id;
    expect_not_listed(XC_H_COUNTY_A, E2E_FINDING, &r.base, b.finding->id,
                      "findings by a neighbour's target");
    r.target_id = "";
    r.round_id = b.round->id;
    expect_not_listed(XC_H_COUNTY_A, E2E_FINDING, &r.base, b.finding->id,
                      "findings by a neighbour's round");
  }
  {
    /* An agency lists exactly the leads sent to it. */
    Xuncha__V1__ListLeadsRequest r = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
    e2e_ids ids = {0};
    xc_err err;
    E2E_EXPECT(list_ids(XC_H_JW, E2E_LEAD, &r.base, &ids, &err), err, XC_OK);
    CU_ASSERT_TRUE(e2e_ids_contains(&ids, b.lead->id));
    CU_ASSERT_TRUE(e2e_ids_contains(&ids, elevated.lead->id));
    CU_ASSERT_FALSE(e2e_ids_contains(&ids, a.lead->id));
    e2e_ids_free(&ids);
  }
}

/* Records of one office cannot point into a region it may not read. */
static void test_references_across_jurisdiction(void) {
  E2E_CLIENT(ca, XC_H_COUNTY_A);
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc;
  char *tids[1];
  CU_ASSERT_TRUE_FATAL(ready);
  tids[0] = b.target->id;
  {
    Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
    r.region_code = "310104";
    r.term = 15;
    r.number = 9;
    r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
    r.title = "跨辖区轮次";
    r.n_target_ids = 1;
    r.target_ids = tids;
    rc = e2e_create(ca, E2E_ROUND, &r.base, NULL, &out, &err);
    if (rc == XC_OK) fprintf(stderr, "\n  county A made a round over county B's target");
    CU_ASSERT_NOT_EQUAL(rc, XC_OK);
    xc_message_free(out);
    out = NULL;
  }
  {
    Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
    g.round_id = b.round->id;
    g.name = "跨辖区巡察组";
    rc = e2e_create(ca, E2E_GROUP, &g.base, NULL, &out, &err);
    if (rc == XC_OK) fprintf(stderr, "\n  county A made a group in county B's round");
    CU_ASSERT_NOT_EQUAL(rc, XC_OK);
    xc_message_free(out);
    out = NULL;
  }
  {
    Xuncha__V1__Finding f = *a.finding;
    f.round_id = b.round->id;
    f.target_id = b.target->id;
    f.title = "跨辖区问题";
    rc = e2e_create(ca, E2E_FINDING, &f.base, NULL, &out, &err);
    if (rc == XC_OK) fprintf(stderr, "\n  county A made a finding in county B's round");
    CU_ASSERT_NOT_EQUAL(rc, XC_OK);
    xc_message_free(out);
    out = NULL;
  }
  {
    Xuncha__V1__Lead l = *a.lead;
    l.round_id = b.round->id;
    l.target_id = b.target->id;
    l.finding_id = "";
    rc = e2e_create(ca, E2E_LEAD, &l.base, NULL, &out, &err);
    if (rc == XC_OK) fprintf(stderr, "\n  county A made a lead in county B's round");
    CU_ASSERT_NOT_EQUAL(rc, XC_OK);
    xc_message_free(out);
    out = NULL;
  }
  {
    /* A target of the round that is not in the round. */
    Xuncha__V1__Finding f = *a.finding;
    Xuncha__V1__Target *other = e2e_target_new(ca, "310104", "不在本轮的单位", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    f.target_id = other->id;
    f.title = "本轮以外单位的问题";
    rc = e2e_create(ca, E2E_FINDING, &f.base, NULL, &out, &err);
    if (rc != XC_EFAILED_PRECONDITION && rc != XC_EINVALID_ARGUMENT)
      fprintf(stderr, "\n  finding on a target outside its round: %s", xc_code_name(rc));
    CU_ASSERT_TRUE(rc == XC_EFAILED_PRECONDITION || rc == XC_EINVALID_ARGUMENT);
    xc_message_free(out);
    xc_message_free(other);
  }
}

static const e2e_test access_tests[] = {
    {"setup: county A, county B and a city elevated round", test_setup},
    {"counties cannot read each other", test_counties_cannot_read_each_other},
    {"the city reads everything; auditor by prefix", test_city_reads_everything},
    {"elevated round: county reads, only the city writes", test_elevated_round},
    {"only the round's owner adds findings and groups", test_only_round_owner_adds},
    {"city lead on a county target: city and jw only", test_city_lead_on_county_target},
    {"county lead: owner, city and recipient", test_county_lead},
    {"denied writes leave records byte-for-byte", test_denied_write_changes_nothing},
    {"create outside jurisdiction refused", test_create_outside_jurisdiction},
    {"list filters never widen what a caller sees", test_filters_do_not_leak},
    {"references across jurisdiction refused", test_references_across_jurisdiction},
    {NULL, NULL}};

const e2e_suite e2e_suite_access = {"access", access_tests, access_release};
