/*
 * e2e paging: listing more than 1,000 targets seven at a time while others
 * insert records inside and outside the caller's jurisdiction; page size
 * rules; page tokens that are tampered with or reused elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include "e2e_suite.h"
#include "xc_msg.h"

/* What the first test stores; later tests of the suite use it. */
static e2e_ids inside;   /* every target county A (310104) may read */
static e2e_ids outside;  /* targets stored outside 310104 */
static int populated;

/* Creates n targets as `who` in `region`, adding their ids to `into`. */
static int make_targets(const char *who, const char *region, int n, e2e_ids *into,
                        xc_err *err) {
  xc_client *c = xc_h_client(e2e_h, who);
  char name[96];
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  for (int i = 0; i < n; i++) {
    Xuncha__V1__Target *t;
    int rc;
    (void)snprintf(name, sizeof name, "分页单位 %s %s %d", who, region, i);
    t = e2e_target_new(c, region, name, err);
    if (t == NULL) return err->code;
    rc = e2e_ids_add(into, t->id);
    xc_message_free(t);
    if (rc != XC_OK) return xc_err_set(err, rc, "out of memory");
  }
  return XC_OK;
}

static void test_populate(void) {
  xc_err err;
  int rc = XC_OK;
  int64_t t0 = xc_h_now_ms();
  /* 1,020 readable by county A: its own, a township's below it, the city's in it. */
  if (rc == XC_OK) rc = make_targets(XC_H_COUNTY_A, "310104", 700, &inside, &err);
  if (rc == XC_OK) rc = make_targets(XC_H_COUNTY_A, "310104002", 200, &inside, &err);
  if (rc == XC_OK) rc = make_targets(XC_H_TOWNSHIP, "310104001", 60, &inside, &err);
  if (rc == XC_OK) rc = make_targets(XC_H_CITY, "310104003", 60, &inside, &err);
  /* Stored, but outside 310104. */
  if (rc == XC_OK) rc = make_targets(XC_H_COUNTY_B, "310105", 120, &outside, &err);
  if (rc == XC_OK) rc = make_targets(XC_H_CITY, "3101", 30, &outside, &err);
  if (rc == XC_OK) rc = make_targets(XC_H_CITY, "310106", 20, &outside, &err);
  E2E_EXPECT(rc, err, XC_OK);
  fprintf(stderr, "\n  created %zu targets in %lld ms ", inside.n + outside.n,
          (long long)(xc_h_now_ms() - t0));
  CU_ASSERT_EQUAL(inside.n, 1020);
  populated = rc == XC_OK;
}

/*
 * County A pages through all targets with page_size 7; every 5 pages county A
 * inserts one target in its region and county B one in its own. At the end
 * the listed ids are exactly the stored ids in 310104, each once.
 */
static void test_page_by_seven_with_inserts(void) {
  E2E_CLIENT(c, XC_H_COUNTY_A);
  Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
  e2e_ids listed = {0}, expect = {0}, city_view = {0};
  char *token = NULL;
  size_t pages = 0, short_pages = 0, inserted = 0;
  xc_err err;
  int rc = XC_OK;
  CU_ASSERT_TRUE_FATAL(populated);
  req.page_size = 7;
  for (;;) {
    ProtobufCMessage *resp = NULL;
    ProtobufCMessage **items;
    size_t n;
    const char *next;
    if (pages >= 400) {
      CU_FAIL("listing did not end within 400 pages");
      break;
    }
    req.page_token = token != NULL ? token : "";
    rc = e2e_list(c, E2E_TARGET, &req.base, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (rc != XC_OK) break;
    pages++;
    items = e2e_list_items(resp, E2E_TARGET, &n);
    CU_ASSERT_TRUE(n <= 7);
    for (size_t i = 0; i < n; i++) {
      const char *region = ((Xuncha__V1__Target *)items[i])->region_code;
      if (strncmp(region, "310104", 6) != 0) {
        fprintf(stderr, "\n  county A was listed %s in region %s", e2e_id(items[i]), region);
        CU_FAIL("a target outside 310104 was listed to county A");
      }
      CU_ASSERT_EQUAL(e2e_ids_add(&listed, e2e_id(items[i])), XC_OK);
    }
    next = e2e_list_next(resp);
    free(token);
    token = next[0] != '\0' ? strdup(next) : NULL;
    if (token != NULL && n < 7) short_pages++;
    xc_message_free(resp);
    if (token == NULL) break;
    if (pages % 5 == 0) {
      /* Others write while the listing is under way. */
      CU_ASSERT_EQUAL(make_targets(XC_H_COUNTY_A, "310104", 1, &inside, &err), XC_OK);
      CU_ASSERT_EQUAL(make_targets(XC_H_COUNTY_B, "310105", 1, &outside, &err), XC_OK);
      inserted++;
    }
  }
  free(token);
  fprintf(stderr, "\n  %zu pages, %zu listed, %zu inserted inside while paging ", pages,
          listed.n, inserted);
  CU_ASSERT_TRUE(pages > 140);
  CU_ASSERT_EQUAL(short_pages, 0);

  /* Exact set equality with what is stored in county A's jurisdiction. */
  e2e_ids_sort(&listed);
  CU_ASSERT_EQUAL(e2e_ids_duplicates(&listed), 0);
  for (size_t i = 0; i < inside.n; i++)
    CU_ASSERT_EQUAL(e2e_ids_add(&expect, inside.v[i]), XC_OK);
  e2e_ids_sort(&expect);
  if (!e2e_ids_same_set(&listed, &expect)) {
    size_t missing = 0, extra = 0;
    for (size_t i = 0; i < expect.n; i++) missing += !e2e_ids_contains(&listed, expect.v[i]);
    for (size_t i = 0; i < listed.n; i++) extra += !e2e_ids_contains(&expect, listed.v[i]);
    fprintf(stderr, "\n  listed %zu ids, stored inside %zu: %zu missing, %zu unexpected",
            listed.n, expect.n, missing, extra);
  }
  CU_ASSERT_TRUE(e2e_ids_same_set(&listed, &expect));
  for (size_t i = 0; i < outside.n; i++) CU_ASSERT_FALSE(e2e_ids_contains(&listed, outside.v[i]));

  /* The city's view of 310104 (read by prefix) is the same set: it is what is stored. */
  rc = e2e_list_all(xc_h_client(e2e_h, XC_H_CITY), E2E_TARGET, 1000, "310104", &city_view, 50,
                    &err);
  E2E_EXPECT(rc, err, XC_OK);
  e2e_ids_sort(&city_view);
  CU_ASSERT_TRUE(e2e_ids_same_set(&city_view, &expect));
  /* The records outside are stored too: the city sees every one of them. */
  e2e_ids_free(&city_view);
  rc = e2e_list_all(xc_h_client(e2e_h, XC_H_CITY), E2E_TARGET, 1000, NULL, &city_view, 50,
                    &err);
  E2E_EXPECT(rc, err, XC_OK);
  e2e_ids_sort(&city_view);
  CU_ASSERT_EQUAL(city_view.n, inside.n + outside.n);
  for (size_t i = 0; i < outside.n; i++)
    CU_ASSERT_TRUE(e2e_ids_contains(&city_view, outside.v[i]));
  e2e_ids_free(&city_view);
  e2e_ids_free(&expect);
  e2e_ids_free(&listed);
}

/* Lists one page as `who`; returns the call's code, *n items, next token. */
static int list_page(const char *who, const Xuncha__V1__ListTargetsRequest *req, size_t *n,
                     char **next, xc_err *err) {
  ProtobufCMessage *resp = NULL;
  xc_client *c = xc_h_client(e2e_h, who);
  int rc;
  *n = 0;
  if (next != NULL) *next = NULL;
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  rc = e2e_list(c, E2E_TARGET, &req->base, &resp, err);
  if (rc == XC_OK) {
    (void)e2e_list_items(resp, E2E_TARGET, n);
    if (next != NULL) *next = strdup(e2e_list_next(resp));
  }
  xc_message_free(resp);
  return rc;
}

static void test_page_sizes(void) {
  Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
  size_t n = 0;
  char *next = NULL;
  xc_err err;
  CU_ASSERT_TRUE_FATAL(populated);
  /* 0: the default page of 50. */
  req.page_size = 0;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, &next, &err), err, XC_OK);
  CU_ASSERT_EQUAL(n, XC_DEFAULT_PAGE_SIZE);
  CU_ASSERT_TRUE(next != NULL && next[0] != '\0');
  free(next);
  /* Negative: refused. */
  req.page_size = -1;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  E2E_CONTAINS(err.msg, "page_size");
  req.page_size = INT32_MIN;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  /* Huge: clamped to 1000 (county A can read more than 1000). */
  req.page_size = 100000;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, &next, &err), err, XC_OK);
  CU_ASSERT_EQUAL(n, XC_MAX_PAGE_SIZE);
  CU_ASSERT_TRUE(next != NULL && next[0] != '\0');
  free(next);
  req.page_size = INT32_MAX;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, &next, &err), err, XC_OK);
  CU_ASSERT_EQUAL(n, XC_MAX_PAGE_SIZE);
  free(next);
}

static void test_bad_page_tokens(void) {
  Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
  size_t n = 0, len;
  char *token = NULL, *next = NULL, *bad;
  xc_err err;
  CU_ASSERT_TRUE_FATAL(populated);
  req.page_size = 7;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, &token, &err), err, XC_OK);
  CU_ASSERT_TRUE_FATAL(token != NULL && token[0] != '\0');
  len = strlen(token);
  CU_ASSERT_TRUE(len <= XC_MAX_PAGE_TOKEN_BYTES);
  bad = malloc(len + 8);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bad);

  /* The token as given works (the reference for the refusals below). */
  req.page_token = token;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, &next, &err), err, XC_OK);
  CU_ASSERT_EQUAL(n, 7);
  free(next);

  /* One character changed, in the middle, and at each end. */
  {
    size_t pos[3] = {len / 2, 0, len > 2 ? len - 2 : 0};
    for (int i = 0; i < 3; i++) {
      memcpy(bad, token, len + 1);
      bad[pos[i]] = bad[pos[i]] == 'A' ? 'B' : 'A';
      req.page_token = bad;
      if (list_page(XC_H_COUNTY_A, &req, &n, NULL, &err) != XC_EINVALID_ARGUMENT)
        fprintf(stderr, "\n  token with byte %zu changed (%s -> %s) was not refused", pos[i],
                token, bad);
      E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
    }
  }
  /* Cut short, extended, and junk. */
  memcpy(bad, token, len + 1);
  bad[len / 2] = '\0';
  req.page_token = bad;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  memcpy(bad, token, len);
  memcpy(bad + len, "AAAA", 5);
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  req.page_token = "not a page token!";
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  E2E_CONTAINS(err.msg, "page_token");

  /* The right token with different filters. */
  req.page_token = token;
  req.region_prefix = "310104001";
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  req.region_prefix = "";
  req.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  req.kind = 0;
  req.name_contains = "分页";
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  req.name_contains = "";

  /* The right token, same filters, another office. */
  E2E_EXPECT(list_page(XC_H_COUNTY_B, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  E2E_EXPECT(list_page(XC_H_CITY, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);
  E2E_EXPECT(list_page(XC_H_TOWNSHIP, &req, &n, NULL, &err), err, XC_EINVALID_ARGUMENT);

  /* A targets token on another kind's list. */
  {
    Xuncha__V1__ListRoundsRequest rr = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    rr.page_size = 7;
    rr.page_token = token;
    E2E_EXPECT(e2e_list(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_ROUND, &rr.base, &resp, &err),
               err, XC_EINVALID_ARGUMENT);
    xc_message_free(resp);
  }

  /* Still good for its owner afterwards. */
  E2E_EXPECT(list_page(XC_H_COUNTY_A, &req, &n, NULL, &err), err, XC_OK);
  CU_ASSERT_EQUAL(n, 7);
  free(bad);
  free(token);
}

/* Makes n leads as `who` on a new target and round in `region`, sent to
 * `recipient`; adds their ids to `into`. */
static int make_leads(const char *who, const char *region, const char *target_id,
                      const char *recipient, int n, e2e_ids *into, xc_err *err) {
  xc_client *c = xc_h_client(e2e_h, who);
  e2e_chain ch;
  int rc;
  char summary[96];
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  rc = e2e_chain_make(c, region, target_id, 0, recipient, who, &ch, err);
  if (rc == XC_OK) rc = e2e_ids_add(into, ch.lead->id);
  for (int i = 1; i < n && rc == XC_OK; i++) {
    Xuncha__V1__Lead l = *ch.lead;
    ProtobufCMessage *out = NULL;
    (void)snprintf(summary, sizeof summary, "分页线索 %s %d", who, i);
    l.summary = summary;
    rc = e2e_create(c, E2E_LEAD, &l.base, NULL, &out, err);
    if (rc == XC_OK) rc = e2e_ids_add(into, e2e_id(out));
    xc_message_free(out);
  }
  e2e_chain_free(&ch);
  return rc;
}

/* Pages through every lead `who` may see, seven at a time. */
static int page_leads(const char *who, e2e_ids *ids, size_t *pages, xc_err *err) {
  Xuncha__V1__ListLeadsRequest req = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
  char *token = NULL;
  int rc = XC_OK;
  xc_client *c = xc_h_client(e2e_h, who);
  *pages = 0;
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  req.page_size = 7;
  for (;;) {
    ProtobufCMessage *resp = NULL, **items;
    size_t n;
    const char *next;
    if (*pages >= 200) return xc_err_set(err, XC_EOUT_OF_RANGE, "more than 200 pages");
    req.page_token = token ? token : "";
    rc = e2e_list(c, E2E_LEAD, &req.base, &resp, err);
    if (rc != XC_OK) break;
    (*pages)++;
    items = e2e_list_items(resp, E2E_LEAD, &n);
    if (n > 7) rc = xc_err_set(err, XC_EINTERNAL, "a page of %zu leads for page_size 7", n);
    for (size_t i = 0; i < n && rc == XC_OK; i++) rc = e2e_ids_add(ids, e2e_id(items[i]));
    next = e2e_list_next(resp);
    free(token);
    token = next[0] ? strdup(next) : NULL;
    xc_message_free(resp);
    if (rc != XC_OK || token == NULL) break;
  }
  free(token);
  return rc;
}

/*
 * Leads are read by ownership and recipient, not by prefix: paging by seven
 * gives county A exactly its own leads, the city its own and county A's, and
 * each agency exactly the leads sent to it, however they interleave.
 */
static void test_lead_paging_by_visibility(void) {
  e2e_ids city_jw = {0}, a_zzb = {0}, a_jw = {0}, b_jw = {0};
  xc_err err;
  int rc = XC_OK;
  Xuncha__V1__Target *ta = NULL;
  CU_ASSERT_TRUE_FATAL(populated);
  ta = e2e_target_new(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104", "线索分页单位", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
  /* Interleave the writers so no one's leads are contiguous. */
  for (int round = 0; round < 4 && rc == XC_OK; round++) {
    rc = make_leads(XC_H_CITY, "310104", ta->id, "agency:3101:jw", 12, &city_jw, &err);
    if (rc == XC_OK)
      rc = make_leads(XC_H_COUNTY_A, "310104", ta->id, "agency:3101:zzb", 10, &a_zzb, &err);
    if (rc == XC_OK)
      rc = make_leads(XC_H_COUNTY_A, "310104", ta->id, "agency:3101:jw", 3, &a_jw, &err);
    if (rc == XC_OK)
      rc = make_leads(XC_H_COUNTY_B, "310105", NULL, "agency:3101:jw", 5, &b_jw, &err);
  }
  E2E_EXPECT(rc, err, XC_OK);
  {
    static const struct {
      const char *who;
      unsigned mask; /* 1 city_jw, 2 a_zzb, 4 a_jw, 8 b_jw */
    } views[] = {{XC_H_COUNTY_A, 2 | 4},       {XC_H_CITY, 1 | 2 | 4 | 8},
                 {XC_H_JW, 1 | 4 | 8},         {XC_H_ZZB, 2},
                 {XC_H_COUNTY_B, 8},           {XC_H_TOWNSHIP, 0}};
    const e2e_ids *sets[4] = {&city_jw, &a_zzb, &a_jw, &b_jw};
    for (size_t v = 0; v < sizeof views / sizeof views[0] && rc == XC_OK; v++) {
      e2e_ids got = {0}, want = {0};
      size_t pages = 0;
      int prc = page_leads(views[v].who, &got, &pages, &err);
      E2E_EXPECT(prc, err, XC_OK);
      for (int s = 0; s < 4; s++)
        if (views[v].mask & (1u << s))
          for (size_t i = 0; i < sets[s]->n; i++)
            CU_ASSERT_EQUAL(e2e_ids_add(&want, sets[s]->v[i]), XC_OK);
      e2e_ids_sort(&got);
      e2e_ids_sort(&want);
      CU_ASSERT_EQUAL(e2e_ids_duplicates(&got), 0);
      if (!e2e_ids_same_set(&got, &want))
        fprintf(stderr, "\n  %s paged %zu leads in %zu pages; expected %zu", views[v].who,
                got.n, pages, want.n);
      CU_ASSERT_TRUE(e2e_ids_same_set(&got, &want));
      e2e_ids_free(&got);
      e2e_ids_free(&want);
    }
  }
  e2e_ids_free(&city_jw);
  e2e_ids_free(&a_zzb);
  e2e_ids_free(&a_jw);
  e2e_ids_free(&b_jw);
  xc_message_free(ta);
}

/* Releases what the suite kept, so the runner stays leak-free. */
static void paging_release(void) {
  e2e_ids_free(&inside);
  e2e_ids_free(&outside);
  populated = 0;
}

static const e2e_test paging_tests[] = {
    {"populate 1,190 targets in and around 310104", test_populate},
    {"page by 7 with inserts: exact set of 310104", test_page_by_seven_with_inserts},
    {"page_size 0, negative, huge", test_page_sizes},
    {"tampered and reused page tokens", test_bad_page_tokens},
    {"lead paging by visibility, not prefix", test_lead_paging_by_visibility},
    {NULL, NULL}};

const e2e_suite e2e_suite_paging = {"paging", paging_tests, paging_release};
