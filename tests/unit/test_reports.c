/*
 * Unit tests of reports (server/REPORTS.md): a known data set built through
 * the handlers, with every expected figure worked out by hand below (never
 * captured from the program); and a randomized test that checks every
 * maintained counter and date-index count against a full scan after
 * thousands of random writes, voids and clock moves.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "xc_clock.h"
#include "xc_msg.h"
#include "xc_report.h"
#include "xc_store.h"
#include "xc_text.h"
#include "xc_test_server.h"
#include "xuncha/v1/reports.pb-c.h"

/* ------------------------------------------------------------- fixture */

static char dir[64];
static char clock_path[96];
static xc_store *store;

static int fx_open(void) {
  xc_store_options o;
  xc_err err;
  FILE *f;
  (void)snprintf(dir, sizeof dir, "/tmp/xc-test-reports-XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  (void)snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
  /* Every figure that depends on the clock is judged on this day. */
  f = fopen(clock_path, "w");
  if (f == NULL) return -1;
  fputs("2030-01-01\n", f);
  fclose(f);
  xc_clock_set_file(clock_path);
  memset(&o, 0, sizeof o);
  o.dir = dir;
  return xc_store_open(&o, &store, &err) == XC_OK ? 0 : -1;
}

static int fx_close(void) {
  char cmd[128];
  xc_store_close(store);
  store = NULL;
  xc_clock_set_file(NULL);
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A call by the certificate CN cn on the fixture's store. */
static xc_ctx ctx_of(const char *cn) {
  return xc_test_ctx(store, cn);
}

/* Copies the id and etag of a created or changed record. */
typedef struct ref {
  char id[32];
  char etag[32];
} ref;

static void keep(ref *r, const ProtobufCMessage *m) {
  xc_strlcpy(r->id, xc_msg_get_str(m, "id"), sizeof r->id);
  xc_strlcpy(r->etag, xc_msg_get_str(m, "etag"), sizeof r->etag);
}

/* Calls a create handler; fails the test with the server's message. */
static void must(int rc, const xc_err *err, const char *what) {
  if (rc != XC_OK) fprintf(stderr, "\n  %s: %s\n", what, err->msg);
  CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
}

static ref mk_target(xc_ctx *c, const char *region, const char *name, int kind) {
  Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  ref r;
  t.region_code = (char *)region;
  t.name = (char *)name;
  t.kind = (Xuncha__V1__TargetKind)kind;
  req.target = &t;
  must(xc_test_call(c, "/xuncha.v1.Targets/CreateTarget", &req, &out, &err), &err, name);
  keep(&r, out);
  xc_msg_free(out);
  return r;
}

static ref mk_round(xc_ctx *c, const char *region, int term, int number, const char *start,
                    char **targets, size_t n_targets) {
  Xuncha__V1__CreateRoundRequest req = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round rd = XUNCHA__V1__ROUND__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  ref r;
  rd.region_code = (char *)region;
  rd.term = term;
  rd.number = number;
  rd.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  rd.title = "常规巡察";
  rd.start_date = (char *)start;
  rd.target_ids = targets;
  rd.n_target_ids = n_targets;
  req.round = &rd;
  must(xc_test_call(c, "/xuncha.v1.Rounds/CreateRound", &req, &out, &err), &err, "round");
  keep(&r, out);
  xc_msg_free(out);
  return r;
}

/* Advances round r stage by stage up to `to` (dates: today). */
static void advance(xc_ctx *c, ref *r, int to) {
  for (int s = 2; s <= to; s++) {
    Xuncha__V1__AdvanceRoundRequest req = XUNCHA__V1__ADVANCE_ROUND_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    xc_err err;
    req.id = r->id;
    req.etag = r->etag;
    req.to = (Xuncha__V1__RoundStage)s;
    must(xc_test_call(c, "/xuncha.v1.Rounds/AdvanceRound", &req, &out, &err), &err, "advance");
    keep(r, out);
    xc_msg_free(out);
  }
}

static ref mk_group(xc_ctx *c, const char *round, const char *name) {
  Xuncha__V1__CreateGroupRequest req = XUNCHA__V1__CREATE_GROUP_REQUEST__INIT;
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  ref r;
  g.round_id = (char *)round;
  g.name = (char *)name;
  req.group = &g;
  must(xc_test_call(c, "/xuncha.v1.Rounds/CreateGroup", &req, &out, &err), &err, "group");
  keep(&r, out);
  xc_msg_free(out);
  return r;
}

static ref mk_finding(xc_ctx *c, const char *round, const char *target, int area, char **tags,
                      size_t n_tags, int mode, const char *deadline) {
  Xuncha__V1__CreateFindingRequest req = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  ref r;
  f.round_id = (char *)round;
  f.target_id = (char *)target;
  f.title = "问题";
  f.area = (Xuncha__V1__FindingArea)area;
  f.tags = tags;
  f.n_tags = n_tags;
  rect.mode = (Xuncha__V1__RectificationMode)mode;
  rect.deadline = (char *)(deadline != NULL ? deadline : "");
  f.rectification = &rect;
  req.finding = &f;
  must(xc_test_call(c, "/xuncha.v1.Findings/CreateFinding", &req, &out, &err), &err, "finding");
  keep(&r, out);
  xc_msg_free(out);
  return r;
}

static void progress(xc_ctx *c, ref *f, int step, const char *date, const char *evidence) {
  Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
  Xuncha__V1__AppendProgressResponse *out = NULL;
  char *ev[1];
  xc_err err;
  e.finding_id = f->id;
  e.step = (Xuncha__V1__ProgressStep)step;
  e.text = "整改";
  e.date = (char *)date;
  if (evidence != NULL) {
    ev[0] = (char *)evidence;
    e.evidence = ev;
    e.n_evidence = 1;
  }
  req.entry = &e;
  req.finding_etag = f->etag;
  must(xc_test_call(c, "/xuncha.v1.Findings/AppendProgress", &req, &out, &err), &err, "progress");
  keep(f, &out->finding->base);
  xc_msg_free(out);
}

static void verify(xc_ctx *c, ref *f) {
  Xuncha__V1__VerifyRectificationRequest req = XUNCHA__V1__VERIFY_RECTIFICATION_REQUEST__INIT;
  Xuncha__V1__VerificationResponse *out = NULL;
  xc_err err;
  req.finding_id = f->id;
  req.finding_etag = f->etag;
  must(xc_test_call(c, "/xuncha.v1.Findings/VerifyRectification", &req, &out, &err), &err,
       "verify");
  keep(f, &out->finding->base);
  xc_msg_free(out);
}

static void void_it(xc_ctx *c, ref *r) {
  Xuncha__V1__VoidRecordRequest req = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  req.id = r->id;
  req.etag = r->etag;
  req.reason = "重复录入";
  must(xc_test_call(c, "/xuncha.v1.Records/VoidRecord", &req, &out, &err), &err, "void");
  xc_msg_free(out);
}

static void mk_agency(xc_ctx *c, const char *region, const char *name, int kind,
                      const char *identity) {
  Xuncha__V1__CreateDirectoryEntryRequest req = XUNCHA__V1__CREATE_DIRECTORY_ENTRY_REQUEST__INIT;
  Xuncha__V1__DirectoryEntry d = XUNCHA__V1__DIRECTORY_ENTRY__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  d.region_code = (char *)region;
  d.name = (char *)name;
  d.kind = (Xuncha__V1__DirectoryKind)kind;
  d.identity = (char *)identity;
  req.entry = &d;
  must(xc_test_call(c, "/xuncha.v1.Directory/CreateDirectoryEntry", &req, &out, &err), &err, name);
  xc_msg_free(out);
}

static ref mk_lead(xc_ctx *c, const char *round, const char *target, const char *recipient,
                   const char *transfer) {
  Xuncha__V1__CreateLeadRequest req = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
  Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  ref r;
  l.round_id = (char *)round;
  l.target_id = (char *)target;
  l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
  l.recipient = (char *)recipient;
  l.summary = "线索";
  l.transfer_date = (char *)transfer;
  req.lead = &l;
  must(xc_test_call(c, "/xuncha.v1.Leads/CreateLead", &req, &out, &err), &err, "lead");
  keep(&r, out);
  xc_msg_free(out);
  return r;
}

/* Records a disposal; outcomes as "person:measure" pairs. */
static void dispose(xc_ctx *agency, ref *l, int disposal, const char *const *people,
                    const int *measures, size_t n) {
  Xuncha__V1__RecordDispositionRequest req = XUNCHA__V1__RECORD_DISPOSITION_REQUEST__INIT;
  Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
  Xuncha__V1__Outcome o[4];
  Xuncha__V1__Outcome *op[4];
  Xuncha__V1__RecordDispositionResponse *out = NULL;
  xc_err err;
  for (size_t i = 0; i < n && i < 4; i++) {
    xuncha__v1__outcome__init(&o[i]);
    o[i].person = (char *)people[i];
    o[i].measure = (Xuncha__V1__OutcomeMeasure)measures[i];
    op[i] = &o[i];
  }
  d.lead_id = l->id;
  d.disposal = (Xuncha__V1__LeadDisposal)disposal;
  d.outcomes = op;
  d.n_outcomes = n;
  req.disposition = &d;
  req.lead_etag = l->etag;
  must(xc_test_call(agency, "/xuncha.v1.Leads/RecordDisposition", &req, &out, &err), &err,
       "dispose");
  keep(l, &out->lead->base);
  xc_msg_free(out);
}

static void mk_term(xc_ctx *c, int number, const char *start, const char *end) {
  Xuncha__V1__CreateTermRequest req = XUNCHA__V1__CREATE_TERM_REQUEST__INIT;
  Xuncha__V1__Term t = XUNCHA__V1__TERM__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  t.number = number;
  t.start_date = (char *)start;
  t.end_date = (char *)end;
  req.term = &t;
  must(xc_test_call(c, "/xuncha.v1.Terms/CreateTerm", &req, &out, &err), &err, "term");
  xc_msg_free(out);
}

static int64_t named(Xuncha__V1__NamedCount **v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i]->name, name) == 0) return v[i]->count;
  return -1;
}

static const Xuncha__V1__Growth *growth(const Xuncha__V1__Summary *s, const char *name) {
  for (size_t i = 0; i < s->n_growth; i++)
    if (strcmp(s->growth[i]->name, name) == 0) return s->growth[i];
  return NULL;
}

static const Xuncha__V1__CoverageRow *row(const Xuncha__V1__Coverage *c, const char *kind) {
  for (size_t i = 0; i < c->n_rows; i++)
    if (strcmp(c->rows[i]->kind, kind) == 0) return c->rows[i];
  return NULL;
}

static Xuncha__V1__Summary *summary(xc_ctx *c, const char *region, int term, int want_rc) {
  Xuncha__V1__SummaryRequest req = XUNCHA__V1__SUMMARY_REQUEST__INIT;
  Xuncha__V1__ReportScope sc = XUNCHA__V1__REPORT_SCOPE__INIT;
  Xuncha__V1__Summary *out = NULL;
  xc_err err;
  int rc;
  sc.region_prefix = (char *)region;
  sc.term = term;
  req.scope = &sc;
  rc = xc_test_call(c, "/xuncha.v1.Reports/GetSummary", &req, &out, &err);
  if (rc != want_rc) fprintf(stderr, "\n  summary: %s\n", err.msg);
  CU_ASSERT_EQUAL(rc, want_rc);
  return out;
}

/* ------------------------------------------------------ the known data set */

enum { K_MUNI = 1, K_ENT = 2, K_TOWN = 3, K_STREET = 4, K_VILLAGE = 5, K_COUNTYDEPT = 7 };
enum { A_POL = 1, A_IDEO = 2, A_ORG = 3, A_CONDUCT = 4, A_DISC = 5 };
enum { M_IMMEDIATE = 1, M_DEADLINE = 2 };
enum { P_PLAN = 1, P_PROGRESS = 2, P_DONE = 3 };

static void test_known_data_set(void) {
  xc_ctx city = ctx_of("office:3101"), county = ctx_of("office:310104");
  xc_ctx jw = ctx_of("agency:3101:jw"), auditor = ctx_of("auditor:3101");
  xc_ctx agency = ctx_of("agency:3101:zzb");
  ref T1, T2, T3, T4, T5, T7, R0, R1, R2, RC, g, F1, F2, F3, F4, F5, F6, L1, L3, L4;
  char *r1t[3], *r2t[2], *r0t[1], *rct[1];
  char *tags_f1[] = {"假落实", "四风"}, *tags_f2[] = {"八项规定"}, *tags_f3[] = {"假落实"},
       *tags_f6[] = {"慢落实"}, *tags_f8[] = {"不落实"};
  Xuncha__V1__Summary *s;
  const Xuncha__V1__SummaryFigures *f;
  const Xuncha__V1__Growth *gr;

  /* Terms: the city's 7th (2021-2025) and 8th (2026-2030); the county's 3rd. */
  mk_term(&city, 7, "2021-01-01", "2025-12-31");
  mk_term(&city, 8, "2026-01-01", "2030-12-31");
  mk_term(&county, 3, "2026-01-01", "2030-12-31");
  mk_agency(&city, "3101", "市纪委监委", 4, "agency:3101:jw");
  mk_agency(&city, "3101", "市委组织部", 6, "agency:3101:zzb");
  mk_agency(&city, "3101", "派驻第一纪检监察组", 5, "agency:3101:pz1");
  mk_agency(&county, "310104", "区纪委监委", 4, "agency:310104:jw");

  /* The registry: seven targets; T6 is never inspected. */
  T1 = mk_target(&city, "3101", "市财政局", K_MUNI);
  T2 = mk_target(&city, "3101", "市城投集团", K_ENT);
  T3 = mk_target(&city, "310104001", "甲镇", K_TOWN);
  T4 = mk_target(&city, "310104002", "乙街道", K_STREET);
  T5 = mk_target(&city, "310104001001", "甲村", K_VILLAGE);
  (void)mk_target(&city, "3101", "市教育局", K_MUNI);
  T7 = mk_target(&county, "310104", "区卫健局", K_COUNTYDEPT);

  /* Rounds. R1 (term 8) reaches 反馈; R2 (term 8) 进驻; R0 (term 7) 进驻;
   * RC is the county's, started in the city's 8th term. */
  r1t[0] = T1.id, r1t[1] = T2.id, r1t[2] = T3.id;
  r2t[0] = T4.id, r2t[1] = T5.id;
  r0t[0] = T1.id;
  rct[0] = T7.id;
  R1 = mk_round(&city, "3101", 8, 1, "2026-02-01", r1t, 3);
  R2 = mk_round(&city, "3101", 8, 2, "2026-05-01", r2t, 2);
  R0 = mk_round(&city, "3101", 7, 1, "2024-05-01", r0t, 1);
  RC = mk_round(&county, "310104", 3, 1, "2026-03-01", rct, 1);
  advance(&city, &R1, 4);
  advance(&city, &R2, 2);
  advance(&city, &R0, 2);
  advance(&county, &RC, 2);

  /* Groups: two in R1 (and a third, voided), one each in R2, R0, RC. */
  (void)mk_group(&city, R1.id, "第一巡察组");
  (void)mk_group(&city, R1.id, "第二巡察组");
  g = mk_group(&city, R1.id, "重复的组");
  void_it(&city, &g);
  (void)mk_group(&city, R2.id, "第三巡察组");
  (void)mk_group(&city, R0.id, "第一巡察组");
  (void)mk_group(&county, RC.id, "区第一巡察组");

  /* Findings (today is 2030-01-01, stalled after 30 days):
   * F1 R1/T1 政治 [假落实 四风], deadline 2029-12-01, no entry: overdue, stalled
   * F2 R1/T1 作风 [八项规定] 立行立改, done with evidence, verified
   * F3 R1/T2 纪律 [假落实] plan + progress 2029-12-26, deadline 2030-06-01
   * F4 R1/T2 政治, 立行立改 done without evidence: paper-only
   * F5 R1/T3 组织, voided: counts nowhere
   * F6 R2/T4 思想 [慢落实] deadline 2030-01-10, no entry: stalled
   * F7 R0/T1 政治 (the 7th term)
   * F8 RC/T7 作风 [不落实], no deadline, no entry: stalled */
  F1 = mk_finding(&city, R1.id, T1.id, A_POL, tags_f1, 2, M_DEADLINE, "2029-12-01");
  F2 = mk_finding(&city, R1.id, T1.id, A_CONDUCT, tags_f2, 1, M_IMMEDIATE, NULL);
  progress(&city, &F2, P_DONE, "2029-12-20", "财办〔2029〕1号");
  verify(&city, &F2);
  F3 = mk_finding(&city, R1.id, T2.id, A_DISC, tags_f3, 1, M_DEADLINE, "2030-06-01");
  progress(&city, &F3, P_PLAN, "2029-12-25", NULL);
  progress(&city, &F3, P_PROGRESS, "2029-12-26", NULL);
  F4 = mk_finding(&city, R1.id, T2.id, A_POL, NULL, 0, M_IMMEDIATE, NULL);
  progress(&city, &F4, P_DONE, "2029-12-28", NULL);
  F5 = mk_finding(&city, R1.id, T3.id, A_ORG, NULL, 0, M_DEADLINE, NULL);
  void_it(&city, &F5);
  F6 = mk_finding(&city, R2.id, T4.id, A_IDEO, tags_f6, 1, M_DEADLINE, "2030-01-10");
  (void)mk_finding(&city, R0.id, T1.id, A_POL, NULL, 0, M_DEADLINE, NULL);
  (void)mk_finding(&county, RC.id, T7.id, A_CONDUCT, tags_f8, 1, M_DEADLINE, NULL);
  (void)F1;
  (void)F6;

  /* Leads:
   * L1 R1/T1 → 市纪委监委, 立案 … 作出处理决定: 张三 党纪警告 + 政务记过 (1 人,
   *    2 人次 of 党纪政务处分), 李四 免职 (组织处理 1 人 1 人次)
   * L2 R1/T2 → 市委组织部, transferred 2029-09-01, no report: overdue
   * L3 R1/T1 → 市纪委监委, 予以了结 with 王五 移送司法机关
   * L4 R0/T1 → 市纪委监委, 立案 (the 7th term)
   * L5 RC/T7 → 区纪委监委, transferred 2029-12-20, pending (not yet due)
   * L6 R1/T3 → 市纪委监委, transferred 2029-12-30: a city lead in the county,
   *    which the county may not see */
  L1 = mk_lead(&city, R1.id, T1.id, "agency:3101:jw", "2029-11-01");
  {
    const char *people[] = {"张三", "张三", "李四"};
    const int measures[] = {1, 12, 24};
    dispose(&jw, &L1, 6, NULL, NULL, 0);
    dispose(&jw, &L1, 7, NULL, NULL, 0);
    dispose(&jw, &L1, 8, NULL, NULL, 0);
    dispose(&jw, &L1, 9, people, measures, 3);
  }
  (void)mk_lead(&city, R1.id, T2.id, "agency:3101:zzb", "2029-09-01");
  L3 = mk_lead(&city, R1.id, T1.id, "agency:3101:jw", "2029-12-15");
  {
    const char *people[] = {"王五"};
    const int measures[] = {31};
    dispose(&jw, &L3, 5, people, measures, 1);
  }
  L4 = mk_lead(&city, R0.id, T1.id, "agency:3101:jw", "2024-06-01");
  dispose(&jw, &L4, 6, NULL, NULL, 0);
  (void)mk_lead(&county, RC.id, T7.id, "agency:310104:jw", "2029-12-20");
  (void)mk_lead(&city, R1.id, T3.id, "agency:3101:jw", "2029-12-30");

  /* ---- the city, 8th term */
  s = summary(&city, "3101", 8, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  f = s->current;
  CU_ASSERT_STRING_EQUAL(s->term_start, "2026-01-01");
  CU_ASSERT_STRING_EQUAL(s->as_of, "2030-01-01");
  CU_ASSERT_EQUAL(f->rounds, 3);   /* R1, R2, RC */
  CU_ASSERT_EQUAL(f->groups, 4);   /* 2 + 1 + 1; the voided one not */
  CU_ASSERT_EQUAL(f->targets_inspected, 6);  /* T1-T5, T7 */
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "市直单位"), 1);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "市属重点企业"), 1);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "乡镇"), 1);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "街道"), 1);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "村"), 1);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "社区"), 0);
  CU_ASSERT_EQUAL(named(f->targets_by_kind, f->n_targets_by_kind, "区县直单位"), 1);
  CU_ASSERT_EQUAL(f->targets_municipal_and_enterprise, 2);
  CU_ASSERT_EQUAL(f->targets_township_and_street, 2);
  CU_ASSERT_EQUAL(f->targets_village_and_community, 1);
  CU_ASSERT_EQUAL(f->findings, 6);  /* F1 F2 F3 F4 F6 F8 */
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "政治建设"), 2);
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "思想建设"), 1);
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "组织建设"), 0);
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "作风建设"), 2);
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "纪律建设"), 1);
  CU_ASSERT_EQUAL(named(f->findings_by_area, f->n_findings_by_area, "脱贫攻坚"), 0);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "假落实"), 2);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "慢落实"), 1);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "不落实"), 1);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "乱落实"), 0);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "应付式落实"), 0);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "四风"), 1);
  CU_ASSERT_EQUAL(named(f->findings_by_tag, f->n_findings_by_tag, "八项规定"), 1);
  CU_ASSERT_EQUAL(f->leads, 5);  /* L1 L2 L3 L5 L6 */
  CU_ASSERT_EQUAL(f->cases, 1);  /* L1 */
  CU_ASSERT_EQUAL(f->sanctioned_persons, 1);
  CU_ASSERT_EQUAL(f->sanction_person_times, 2);
  CU_ASSERT_EQUAL(f->handled_persons, 1);
  CU_ASSERT_EQUAL(f->handling_person_times, 1);
  CU_ASSERT_EQUAL(f->judicial_persons, 1);
  CU_ASSERT_EQUAL(f->judicial_person_times, 1);
  CU_ASSERT_EQUAL(f->rect_completed, 2);  /* F2 verified, F4 done */
  CU_ASSERT_EQUAL(f->rect_verified, 1);
  CU_ASSERT_DOUBLE_EQUAL(f->completion_rate, 2.0 / 6.0, 1e-9);
  CU_ASSERT_EQUAL(f->overdue, 1);       /* F1 */
  CU_ASSERT_EQUAL(f->paper_only, 1);    /* F4 */
  CU_ASSERT_EQUAL(f->stalled, 3);       /* F1 F6 F8 */
  CU_ASSERT_EQUAL(f->leads_report_overdue, 1);  /* L2 */

  /* The 7th term: R0 with its group, F7, L4 (a case), T1. */
  f = s->previous;
  CU_ASSERT_STRING_EQUAL(s->previous_label, "第7届");
  CU_ASSERT_EQUAL(f->rounds, 1);
  CU_ASSERT_EQUAL(f->groups, 1);
  CU_ASSERT_EQUAL(f->targets_inspected, 1);
  CU_ASSERT_EQUAL(f->findings, 1);
  CU_ASSERT_EQUAL(f->leads, 1);
  CU_ASSERT_EQUAL(f->cases, 1);
  CU_ASSERT_EQUAL(f->sanctioned_persons, 0);

  /* Growth: rounds 3 over 1 is +200 %, findings 6 over 1 +500 %, cases 1
   * over 1 0 %, sanctions 1 over 0 has no base. */
  gr = growth(s, "rounds");
  CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
  CU_ASSERT_DOUBLE_EQUAL(gr->percent, 200.0, 1e-9);
  CU_ASSERT_FALSE(gr->no_base);
  gr = growth(s, "findings");
  CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
  CU_ASSERT_DOUBLE_EQUAL(gr->percent, 500.0, 1e-9);
  gr = growth(s, "leads");
  CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
  CU_ASSERT_DOUBLE_EQUAL(gr->percent, 400.0, 1e-9);
  gr = growth(s, "cases");
  CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
  CU_ASSERT_DOUBLE_EQUAL(gr->percent, 0.0, 1e-9);
  CU_ASSERT_FALSE(gr->no_base);
  gr = growth(s, "sanctioned_persons");
  CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
  CU_ASSERT_TRUE(gr->no_base);
  CU_ASSERT_EQUAL(gr->current, 1);
  CU_ASSERT_EQUAL(gr->previous, 0);

  /* Coverage of the 8th term: 7 targets; nominal all but T6; effective only
   * T3 (R1 at 反馈, its only finding voided). T1 has F1 open, T2 F3/F4 not
   * 销号, T4 T5 T7 only at 进驻. */
  CU_ASSERT_PTR_NOT_NULL_FATAL(s->coverage);
  {
    const Xuncha__V1__CoverageRow *r = row(s->coverage, "合计");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->targets, 7);
    CU_ASSERT_EQUAL(r->nominal, 6);
    CU_ASSERT_EQUAL(r->effective, 1);
    r = row(s->coverage, "市直单位");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->targets, 2);
    CU_ASSERT_EQUAL(r->nominal, 1);
    CU_ASSERT_EQUAL(r->effective, 0);
    CU_ASSERT_DOUBLE_EQUAL(r->nominal_rate, 0.5, 1e-9);
    r = row(s->coverage, "乡镇");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->targets, 1);
    CU_ASSERT_EQUAL(r->nominal, 1);
    CU_ASSERT_EQUAL(r->effective, 1);
    CU_ASSERT_EQUAL(s->coverage->n_not_covered, 6);
    for (size_t i = 0; i < s->coverage->n_not_covered; i++) {
      const Xuncha__V1__TargetRef *t = s->coverage->not_covered[i];
      CU_ASSERT_STRING_NOT_EQUAL(t->id, T3.id);
      /* Only 市教育局 was never visited. */
      CU_ASSERT_EQUAL(t->visited, strcmp(t->name, "市教育局") != 0);
    }
  }
  /* 零办案: 组织部 (1 lead, no case), 派驻组 (none), 区纪委监委 (1 lead). */
  CU_ASSERT_EQUAL(s->n_zero_case_agencies, 3);
  for (size_t i = 0; i < s->n_zero_case_agencies; i++) {
    const Xuncha__V1__AgencyActivity *a = s->zero_case_agencies[i];
    CU_ASSERT_STRING_NOT_EQUAL(a->recipient, "agency:3101:jw");
    CU_ASSERT_EQUAL(a->cases, 0);
    if (strcmp(a->recipient, "agency:3101:pz1") == 0) CU_ASSERT_EQUAL(a->leads, 0);
    if (strcmp(a->recipient, "agency:3101:zzb") == 0) CU_ASSERT_EQUAL(a->leads, 1);
    if (strcmp(a->recipient, "agency:310104:jw") == 0) CU_ASSERT_EQUAL(a->leads, 1);
  }
  /* Inspected targets with no finding: T3 (its one finding voided), T5. */
  CU_ASSERT_EQUAL(s->n_targets_without_findings, 2);
  for (size_t i = 0; i < s->n_targets_without_findings; i++) {
    const char *id = s->targets_without_findings[i]->id;
    CU_ASSERT(strcmp(id, T3.id) == 0 || strcmp(id, T5.id) == 0);
  }
  xc_msg_free(s);

  /* ---- the county, its 3rd term: RC by number, R1 and R2 by date. Rounds
   * deployed in the county: RC; findings in it: F6 F8 (F5 voided); leads it
   * may see: L5 only (L6 is the city's). Targets visited: T3 T4 T5 T7. */
  s = summary(&county, "", 3, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  f = s->current;
  CU_ASSERT_STRING_EQUAL(s->scope->region_prefix, "310104");
  CU_ASSERT_EQUAL(f->rounds, 1);
  CU_ASSERT_EQUAL(f->groups, 1);
  CU_ASSERT_EQUAL(f->findings, 2);
  CU_ASSERT_EQUAL(f->leads, 1);
  CU_ASSERT_EQUAL(f->targets_inspected, 4);
  CU_ASSERT_EQUAL(f->stalled, 2);  /* F6 F8 */
  CU_ASSERT_EQUAL(f->overdue, 0);
  xc_msg_free(s);

  /* A date range: rounds of the 8th term that started in 2026 Q1 are R1
   * (02-01) and RC (03-01), not R2 (05-01); the previous period is 2025 Q1,
   * when no round started. F6 (R2) drops out: 5 findings. */
  {
    Xuncha__V1__SummaryRequest req = XUNCHA__V1__SUMMARY_REQUEST__INIT;
    Xuncha__V1__ReportScope sc = XUNCHA__V1__REPORT_SCOPE__INIT;
    xc_err err;
    sc.region_prefix = "3101";
    sc.term = 8;
    sc.from_date = "2026-01-01";
    sc.to_date = "2026-03-31";
    req.scope = &sc;
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Reports/GetSummary", &req, &s, &err),
                          XC_OK);
    CU_ASSERT_EQUAL(s->current->rounds, 2);
    CU_ASSERT_EQUAL(s->current->groups, 3);
    CU_ASSERT_EQUAL(s->current->findings, 5);
    CU_ASSERT_EQUAL(s->current->targets_inspected, 4); /* T1 T2 T3 T7 */
    CU_ASSERT_STRING_EQUAL(s->previous_label, "2025-01-01..2025-03-31");
    CU_ASSERT_EQUAL(s->previous->rounds, 0);
    gr = growth(s, "findings");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    CU_ASSERT_TRUE(gr->no_base);
    xc_msg_free(s);
    /* The same range a year later compares with this one. */
    sc.from_date = "2027-01-01";
    sc.to_date = "2027-03-31";
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Reports/GetSummary", &req, &s, &err),
                          XC_OK);
    CU_ASSERT_EQUAL(s->current->rounds, 0);
    CU_ASSERT_EQUAL(s->previous->rounds, 2);
    CU_ASSERT_EQUAL(s->previous->findings, 5);
    gr = growth(s, "findings");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    CU_ASSERT_DOUBLE_EQUAL(gr->percent, -100.0, 1e-9);
    xc_msg_free(s);
  }

  /* An auditor sees every figure but the leads'. */
  s = summary(&auditor, "3101", 8, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(s->current->findings, 6);
  CU_ASSERT_EQUAL(s->current->leads, 0);
  CU_ASSERT_EQUAL(s->current->sanctioned_persons, 0);
  xc_msg_free(s);

  /* Refusals: agencies, a scope outside the caller, term 0. */
  CU_ASSERT_PTR_NULL(summary(&agency, "3101", 8, XC_EPERMISSION_DENIED));
  CU_ASSERT_PTR_NULL(summary(&county, "3101", 3, XC_EPERMISSION_DENIED));
  CU_ASSERT_PTR_NULL(summary(&city, "3101", 0, XC_EINVALID_ARGUMENT));
  CU_ASSERT_PTR_NULL(summary(&city, "31010", 8, XC_EINVALID_ARGUMENT));

  /* The clock moves: on 2030-01-11 F6 (deadline 2030-01-10) is overdue too,
   * and F3 (last entry 2029-12-26) is still within 30 days. */
  {
    FILE *cf = fopen(clock_path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cf);
    fputs("2030-01-11\n", cf);
    fclose(cf);
  }
  s = summary(&city, "3101", 8, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(s->current->overdue, 2);
  CU_ASSERT_EQUAL(s->current->stalled, 3);
  xc_msg_free(s);
  /* Voiding a finding is a delta: F6 leaves every count. */
  void_it(&city, &F6);
  s = summary(&city, "3101", 8, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(s->current->findings, 5);
  CU_ASSERT_EQUAL(s->current->overdue, 1);
  CU_ASSERT_EQUAL(s->current->stalled, 2);
  CU_ASSERT_EQUAL(named(s->current->findings_by_tag, s->current->n_findings_by_tag, "慢落实"),
                  0);
  xc_msg_free(s);
  {
    FILE *cf = fopen(clock_path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cf);
    fputs("2030-01-01\n", cf);
    fclose(cf);
  }
  /* A term is voided like any record; its number is then free again. */
  {
    Xuncha__V1__ListTermsRequest lreq = XUNCHA__V1__LIST_TERMS_REQUEST__INIT;
    Xuncha__V1__ListTermsResponse *l = NULL;
    xc_err err;
    ref t7;
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Terms/ListTerms", &lreq, &l, &err),
                          XC_OK);
    /* The city's 7th and 8th and, below it, the county's 3rd. */
    CU_ASSERT_EQUAL_FATAL(l->n_terms, 3);
    CU_ASSERT_EQUAL(l->terms[0]->number, 7);
    CU_ASSERT_STRING_EQUAL(l->terms[0]->owner, "office:3101");
    keep(&t7, &l->terms[0]->base);
    xc_msg_free(l);
    void_it(&city, &t7);
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Terms/ListTerms", &lreq, &l, &err),
                          XC_OK);
    CU_ASSERT_EQUAL(l->n_terms, 2);
    xc_msg_free(l);
    mk_term(&city, 7, "2021-01-01", "2025-12-31");
  }
  /* A second term with the same number is refused. */
  {
    Xuncha__V1__CreateTermRequest req = XUNCHA__V1__CREATE_TERM_REQUEST__INIT;
    Xuncha__V1__Term t = XUNCHA__V1__TERM__INIT;
    ProtobufCMessage *out = NULL;
    xc_err err;
    t.number = 8;
    t.start_date = "2026-01-01";
    req.term = &t;
    CU_ASSERT_EQUAL(xc_test_call(&city, "/xuncha.v1.Terms/CreateTerm", &req, &out, &err),
                    XC_EALREADY_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "term number 8"));
    t.number = 9;
    t.start_date = "2031-01-01";
    t.end_date = "2030-01-01";
    CU_ASSERT_EQUAL(xc_test_call(&city, "/xuncha.v1.Terms/CreateTerm", &req, &out, &err),
                    XC_EINVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "term.end_date"));
  }
}

/* ------------------------------------------------- randomized cross-check */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

static const char *const regions[] = {"3101", "310104", "310104001", "310104001001",
                                      "310105", "310105002", "3102"};
static const char *const rounds[] = {"r_00000000000000000000000001", "r_00000000000000000000000002",
                                     "r_00000000000000000000000003"};
static const char *const tag_pool[] = {"假落实", "四风", "慢落实", "三重一大"};
static const char *const recips[] = {"agency:3101:jw", "agency:3101:zzb", "agency:310104:jw"};

static void rnd_date(char out[11]) {
  /* Month 1..12 and day 1..28 always take two digits each. */
  unsigned month = 1u + (unsigned)pick(12) % 12u, day = 1u + (unsigned)pick(28) % 28u;
  (void)snprintf(out, 11, "2029-%02u-%02u", month, day);
}

/* Fills a finding's mutable parts at random. */
static void rnd_finding(Xuncha__V1__Finding *f, char *buf_deadline, char *buf_last,
                        char **tags) {
  static Xuncha__V1__Rectification rect;
  static Xuncha__V1__RectificationTrack track;
  xuncha__v1__rectification__init(&rect);
  xuncha__v1__rectification_track__init(&track);
  f->area = (Xuncha__V1__FindingArea)(1 + pick(6));
  f->n_tags = (size_t)pick(3);
  for (size_t i = 0; i < f->n_tags; i++) tags[i] = (char *)tag_pool[pick(4)];
  f->tags = tags;
  rect.status = (Xuncha__V1__RectificationStatus)(1 + pick(5));
  rnd_date(buf_deadline);
  rect.deadline = pick(4) == 0 ? "" : buf_deadline;
  rnd_date(buf_last);
  track.last_entry_date = pick(3) == 0 ? "" : buf_last;
  track.evidence_entries = pick(2);
  track.work_remains = pick(3) == 0;
  f->rectification = &rect;
  f->track = &track;
  f->voided = pick(6) == 0;
}

static void rnd_lead(Xuncha__V1__Lead *l, char *buf_transfer) {
  static Xuncha__V1__OutcomeCounts o;
  xuncha__v1__outcome_counts__init(&o);
  l->disposal = (Xuncha__V1__LeadDisposal)(1 + pick(9));
  l->recipient = (char *)recips[pick(3)];
  rnd_date(buf_transfer);
  l->transfer_date = pick(4) == 0 ? "" : buf_transfer;
  o.party_sanctions = pick(3);
  o.government_sanctions = pick(2);
  o.sanctioned_persons = pick(3);
  o.organizational_handling = pick(2);
  o.handled_persons = pick(2);
  o.judicial_transfers = pick(2);
  o.judicial_persons = pick(2);
  l->outcomes = &o;
  l->voided = pick(6) == 0;
}

typedef struct wctx {
  xc_kind kind;
  ProtobufCMessage *rec;
  int update;
  char id[32]; /* the id created */
} wctx;

static int write_fn(xc_txn *txn, void *c, xc_err *err) {
  wctx *w = c;
  ProtobufCMessage *copy = xc_msg_clone(w->rec);
  int rc;
  if (copy == NULL) return XC_ERESOURCE_EXHAUSTED;
  if (w->update)
    rc = xc_txn_update(txn, w->kind, copy, "t#1", NULL, err);
  else
    rc = xc_txn_create(txn, w->kind, copy, "office:3101", "t#1", NULL, err);
  if (rc == XC_OK) xc_strlcpy(w->id, xc_msg_get_str(copy, "id"), sizeof w->id);
  xc_msg_free(copy);
  return rc;
}

/* A counter map: summing contributions by hand. */
typedef struct cm {
  char key[300];
  int64_t v;
} cm;
typedef struct cmap {
  cm *v;
  size_t n;
} cmap;

static int cmap_add(void *c, const char *metric, int64_t v) {
  cmap *m = c;
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].key, metric) == 0) {
      m->v[i].v += v;
      return 0;
    }
  m->v = realloc(m->v, (m->n + 1) * sizeof *m->v);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m->v);
  xc_strlcpy(m->v[m->n].key, metric, sizeof m->v[m->n].key);
  m->v[m->n].v = v;
  m->n++;
  return 0;
}

typedef struct scanall {
  const char *P, *round, *today, *stall_before, *report_before;
  xc_kind kind;
  cmap want;
  uint64_t due, active, report;
} scanall;

/* The full scan: sums each record's contribution and recounts the date
 * figures straight from the record fields. */
static int scan_visit(void *c, ProtobufCMessage *rec) {
  scanall *s = c;
  const char *region = xc_msg_get_str(rec, "region_code");
  const char *round = xc_msg_get_str(rec, "round_id");
  char created[11];
  if (strncmp(region, s->P, strlen(s->P)) == 0 && strcmp(round, s->round) == 0) {
    xc_store_contributions(s->kind, rec, cmap_add, &s->want);
    if (s->kind == XC_KIND_FINDING) {
      const Xuncha__V1__Finding *f = (const Xuncha__V1__Finding *)rec;
      int st = f->rectification ? (int)f->rectification->status : 1;
      if (!f->voided && st >= 1 && st <= 3) {
        const char *dl = f->rectification ? f->rectification->deadline : "";
        const char *last = f->track && f->track->last_entry_date[0] ? f->track->last_entry_date
                                                                     : NULL;
        xc_clock_date_of_ms(f->create_time_ms, created);
        if (last == NULL) last = created;
        if (dl[0] && strcmp(s->today, dl) > 0) s->due++;
        if (strcmp(last, s->stall_before) < 0) s->active++;
      }
    } else if (s->kind == XC_KIND_LEAD) {
      const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
      if (!l->voided && l->disposal == 1) {
        const char *from = l->transfer_date[0] ? l->transfer_date : NULL;
        xc_clock_date_of_ms(l->create_time_ms, created);
        if (from == NULL) from = created;
        if (strcmp(from, s->report_before) < 0) s->report++;
      }
    }
  }
  xc_msg_free(rec);
  return 0;
}

static int got_visit(void *c, const char *metric, int64_t v) { return cmap_add(c, metric, v); }

static void cross_check(const char *today, const char *stall_before, const char *report_before) {
  xc_snapshot *snap = NULL;
  xc_err err;
  static const xc_kind kinds[] = {XC_KIND_GROUP, XC_KIND_FINDING, XC_KIND_LEAD};
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(store, &snap, &err), XC_OK);
  for (size_t p = 0; p < sizeof regions / sizeof regions[0]; p++) {
    for (size_t r = 0; r < 3; r++) {
      scanall s;
      cmap got;
      uint64_t n = 0;
      memset(&s, 0, sizeof s);
      memset(&got, 0, sizeof got);
      s.P = regions[p];
      s.round = rounds[r];
      s.today = today;
      s.stall_before = stall_before;
      s.report_before = report_before;
      for (size_t k = 0; k < 3; k++) {
        s.kind = kinds[k];
        CU_ASSERT_EQUAL(xc_snapshot_scan(snap, kinds[k], XC_INDEX_ALL, "", NULL, scan_visit, &s,
                                         &err),
                        XC_OK);
      }
      CU_ASSERT_EQUAL(xc_snapshot_counters(snap, s.P, s.round, got_visit, &got, &err), XC_OK);
      /* Same metrics, same values (zero counters are not stored). */
      {
        size_t nonzero = 0;
        for (size_t i = 0; i < s.want.n; i++) {
          int64_t g = 0;
          if (s.want.v[i].v == 0) continue;
          nonzero++;
          for (size_t j = 0; j < got.n; j++)
            if (strcmp(got.v[j].key, s.want.v[i].key) == 0) g = got.v[j].v;
          if (g != s.want.v[i].v)
            fprintf(stderr, "\n  %s %s %s: want %lld got %lld\n", s.P, s.round,
                    s.want.v[i].key, (long long)s.want.v[i].v, (long long)g);
          CU_ASSERT_EQUAL(g, s.want.v[i].v);
        }
        CU_ASSERT_EQUAL(got.n, nonzero);
      }
      /* The per-day counters summed before each cutoff give the clock
       * figures the scan counted from the records' own fields. */
      {
        int64_t due = 0, active = 0, report = 0;
        for (size_t j = 0; j < got.n; j++) {
          const char *k = got.v[j].key;
          if (strncmp(k, "dd:", 3) == 0 && strcmp(k + 3, today) < 0) due += got.v[j].v;
          if (strncmp(k, "da:", 3) == 0 && strcmp(k + 3, stall_before) < 0)
            active += got.v[j].v;
          if (strncmp(k, "dr:", 3) == 0 && strcmp(k + 3, report_before) < 0)
            report += got.v[j].v;
        }
        CU_ASSERT_EQUAL(due, (int64_t)s.due);
        CU_ASSERT_EQUAL(active, (int64_t)s.active);
        CU_ASSERT_EQUAL(report, (int64_t)s.report);
      }
      CU_ASSERT_EQUAL(xc_snapshot_count_before(snap, XC_KIND_FINDING, XC_INDEX_DUE, s.P, s.round,
                                               today, &n, &err),
                      XC_OK);
      CU_ASSERT_EQUAL(n, s.due);
      CU_ASSERT_EQUAL(xc_snapshot_count_before(snap, XC_KIND_FINDING, XC_INDEX_ACTIVE, s.P,
                                               s.round, stall_before, &n, &err),
                      XC_OK);
      CU_ASSERT_EQUAL(n, s.active);
      CU_ASSERT_EQUAL(xc_snapshot_count_before(snap, XC_KIND_LEAD, XC_INDEX_REPORT, s.P, s.round,
                                               report_before, &n, &err),
                      XC_OK);
      CU_ASSERT_EQUAL(n, s.report);
      free(s.want.v);
      free(got.v);
    }
  }
  xc_snapshot_end(snap);
}

#define N_LIVE 64

static void test_random_cross_check(void) {
  /* Records made so far, by kind, to update or void at random. */
  char ids[3][N_LIVE][32];
  size_t n_ids[3] = {0, 0, 0};
  static const xc_kind kinds[] = {XC_KIND_GROUP, XC_KIND_FINDING, XC_KIND_LEAD};
  xc_err err;
  for (int op = 0; op < 3000; op++) {
    int k = pick(3);
    int update = n_ids[k] > 0 && pick(2) == 0;
    char d1[11], d2[11];
    char *tags[3];
    ProtobufCMessage *rec = NULL;
    wctx w;
    if (update) {
      xc_snapshot *snap = NULL;
      size_t i = (size_t)pick((int)n_ids[k]);
      CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(store, &snap, &err), XC_OK);
      CU_ASSERT_EQUAL_FATAL(xc_snapshot_get(snap, kinds[k], ids[k][i], &rec, &err), XC_OK);
      xc_snapshot_end(snap);
    } else {
      rec = malloc(xc_kind_descriptor(kinds[k])->sizeof_message);
      CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
      xc_kind_descriptor(kinds[k])->message_init(rec);
      CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(rec, "region_code", regions[pick(7)]), XC_OK);
      CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(rec, "round_id", rounds[pick(3)]), XC_OK);
      if (kinds[k] != XC_KIND_GROUP)
        CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(rec, "target_id", pick(2) ? "t_a" : "t_b"), XC_OK);
    }
    /* Random mutable content, on a shallow copy whose sub-messages point
     * at static data; xc_txn_* packs it, so nothing here is kept. */
    if (kinds[k] == XC_KIND_GROUP) {
      Xuncha__V1__Group *g = (Xuncha__V1__Group *)rec;
      g->voided = pick(5) == 0;
      w.rec = rec;
    } else if (kinds[k] == XC_KIND_FINDING) {
      Xuncha__V1__Finding tmp = *(Xuncha__V1__Finding *)rec;
      rnd_finding(&tmp, d1, d2, tags);
      w.rec = xc_msg_clone(&tmp.base);
    } else {
      Xuncha__V1__Lead tmp = *(Xuncha__V1__Lead *)rec;
      rnd_lead(&tmp, d1);
      w.rec = xc_msg_clone(&tmp.base);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.rec);
    w.kind = kinds[k];
    w.update = update;
    CU_ASSERT_EQUAL_FATAL(xc_store_write(store, write_fn, &w, &err), XC_OK);
    if (!update && n_ids[k] < N_LIVE) {
      xc_strlcpy(ids[k][n_ids[k]], w.id, sizeof ids[k][n_ids[k]]);
      n_ids[k]++;
    }
    if (w.rec != rec) xc_msg_free(w.rec);
    xc_msg_free(rec);
    if (op % 1000 == 999) {
      /* The clock moves: judge the date figures on several days. */
      static const char *const days[][3] = {{"2029-06-15", "2029-05-16", "2029-03-15"},
                                            {"2029-12-31", "2029-12-01", "2029-10-01"},
                                            {"2030-03-01", "2030-01-30", "2029-12-01"}};
      for (int d = 0; d < 3; d++) cross_check(days[d][0], days[d][1], days[d][2]);
    }
  }
}

int main(void) {
  CU_pSuite s;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("reports", fx_open, fx_close);
  CU_add_test(s, "known data set, figures by hand", test_known_data_set);
  CU_add_test(s, "counters and date indexes match a full scan", test_random_cross_check);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  {
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
  }
}
