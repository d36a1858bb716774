/*
 * e2e workflow: the lifecycles of server/WORKFLOWS.md over mutual TLS: a
 * round from preparation to archived; a finding taken to 销号 with evidence;
 * each rectification flag produced by real data and checked at its boundary
 * with the server's test clock (no sleeps); an agency handling a lead to
 * sanctions and refused another agency's lead; voiding; stale etags; the
 * directory; recusals; and the CLI views.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_suite.h"
#include "xc_msg.h"

#define M(svc, name) "/xuncha.v1." svc "/" name

/* Calls `method` as `who`. */
static int wcall(const char *who, const char *method, const void *req,
                 const ProtobufCMessageDescriptor *rd, void *out, xc_err *err) {
  xc_client *c = xc_h_client(e2e_h, who);
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  return xc_client_call(c, method, (const ProtobufCMessage *)req, rd, (ProtobufCMessage **)out,
                        XC_H_CALL_MS, err);
}

/* Sets the server's clock to a date (noon CST) or back to real time. */
static void clock_at(const char *date) { CU_ASSERT_EQUAL(xc_h_set_clock(e2e_h, date), XC_OK); }

static int mk_directory(const char *who, const char *region, Xuncha__V1__DirectoryKind kind,
                        const char *name, const char *identity, Xuncha__V1__DirectoryEntry **out,
                        xc_err *err) {
  Xuncha__V1__CreateDirectoryEntryRequest req = XUNCHA__V1__CREATE_DIRECTORY_ENTRY_REQUEST__INIT;
  Xuncha__V1__DirectoryEntry d = XUNCHA__V1__DIRECTORY_ENTRY__INIT;
  d.region_code = (char *)region;
  d.kind = kind;
  d.name = (char *)name;
  d.identity = (char *)identity;
  req.entry = &d;
  return wcall(who, M("Directory", "CreateDirectoryEntry"), &req,
               &xuncha__v1__directory_entry__descriptor, out, err);
}

int e2e_directory_seed(xc_err *err) {
  Xuncha__V1__DirectoryEntry *d = NULL;
  int rc = mk_directory(XC_H_CITY, "3101",
                        XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION,
                        "市纪委监委", "agency:3101:jw", &d, err);
  xc_message_free(d);
  d = NULL;
  if (rc == XC_OK)
    rc = mk_directory(XC_H_CITY, "3101",
                      XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_ORGANIZATION_DEPARTMENT,
                      "市委组织部", "agency:3101:zzb", &d, err);
  xc_message_free(d);
  return rc;
}

/* Reads a finding afresh (for its etag and derived fields). */
static Xuncha__V1__Finding *get_finding(const char *who, const char *id) {
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc = e2e_get(xc_h_client(e2e_h, who), E2E_FINDING, id, &out, &err);
  E2E_EXPECT(rc, err, XC_OK);
  return (Xuncha__V1__Finding *)out;
}

static Xuncha__V1__Lead *get_lead(const char *who, const char *id) {
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc = e2e_get(xc_h_client(e2e_h, who), E2E_LEAD, id, &out, &err);
  E2E_EXPECT(rc, err, XC_OK);
  return (Xuncha__V1__Lead *)out;
}

/* Appends a progress entry as `who` with the finding's current etag. */
static int progress(const char *who, const char *finding_id, Xuncha__V1__ProgressStep step,
                    const char *date, const char *evidence, xc_err *err) {
  Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
  Xuncha__V1__AppendProgressResponse *resp = NULL;
  Xuncha__V1__Finding *f = get_finding(XC_H_COUNTY_A, finding_id);
  char *ev[1] = {(char *)evidence};
  int rc;
  if (f == NULL) return xc_err_set(err, XC_EINTERNAL, "cannot read %s", finding_id);
  e.finding_id = (char *)finding_id;
  e.step = step;
  e.text = "按期推进整改";
  e.date = (char *)(date ? date : "");
  if (evidence != NULL) {
    e.n_evidence = 1;
    e.evidence = ev;
  }
  req.entry = &e;
  req.finding_etag = f->etag;
  rc = wcall(who, M("Findings", "AppendProgress"), &req,
             &xuncha__v1__append_progress_response__descriptor, &resp, err);
  if (rc == XC_OK) {
    CU_ASSERT_PTR_NOT_NULL(resp->entry);
    CU_ASSERT_PTR_NOT_NULL(resp->finding);
    /* The entry is the writer's own record. */
    if (resp->entry != NULL) CU_ASSERT_EQUAL(strncmp(resp->entry->owner, "office:", 7), 0);
  }
  xc_message_free(resp);
  xc_message_free(f);
  return rc;
}

/* Verifies (revoke = 0) or revokes a verification as `who`. */
static int verify(const char *who, const char *finding_id, int revoke, const char *reason,
                  xc_err *err) {
  Xuncha__V1__Finding *f = get_finding(XC_H_COUNTY_A, finding_id);
  Xuncha__V1__VerificationResponse *resp = NULL;
  int rc;
  if (f == NULL) return xc_err_set(err, XC_EINTERNAL, "cannot read %s", finding_id);
  if (revoke) {
    Xuncha__V1__RevokeVerificationRequest req = XUNCHA__V1__REVOKE_VERIFICATION_REQUEST__INIT;
    req.finding_id = (char *)finding_id;
    req.finding_etag = f->etag;
    req.reason = (char *)(reason ? reason : "");
    rc = wcall(who, M("Findings", "RevokeVerification"), &req,
               &xuncha__v1__verification_response__descriptor, &resp, err);
  } else {
    Xuncha__V1__VerifyRectificationRequest req = XUNCHA__V1__VERIFY_RECTIFICATION_REQUEST__INIT;
    req.finding_id = (char *)finding_id;
    req.finding_etag = f->etag;
    req.note = "现场核查属实";
    rc = wcall(who, M("Findings", "VerifyRectification"), &req,
               &xuncha__v1__verification_response__descriptor, &resp, err);
  }
  xc_message_free(resp);
  xc_message_free(f);
  return rc;
}

/* The shared records: county A's chain (lead to jw) on its own target. */
static e2e_chain ch;
static int ready;

static void workflow_release(void) {
  e2e_chain_free(&ch);
  ready = 0;
}

static void test_setup(void) {
  xc_err err;
  int rc;
  clock_at("2027-03-01");
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104", NULL, 0, "agency:3101:jw",
                      "workflow", &ch, &err);
  E2E_EXPECT(rc, err, XC_OK);
  ready = rc == XC_OK;
}

/* Makes a finding of the chain's round with a deadline (NULL: none). */
static Xuncha__V1__Finding *mk_finding(const char *title, const char *deadline,
                                       Xuncha__V1__RectificationMode mode) {
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Rectification r = XUNCHA__V1__RECTIFICATION__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc;
  r.mode = mode ? mode : XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_BY_DEADLINE;
  r.deadline = (char *)(deadline ? deadline : "");
  r.responsible_leader = "王书记";
  f.round_id = ch.round->id;
  f.target_id = ch.target->id;
  f.title = (char *)title;
  f.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_CONDUCT;
  f.rectification = &r;
  rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_FINDING, &f.base, NULL, &out, &err);
  E2E_EXPECT(rc, err, XC_OK);
  return (Xuncha__V1__Finding *)out;
}

/* Advances round id to stage `to` as `who` with etag (NULL: current). */
static int advance(const char *who, const char *id, const char *etag, int to, const char *date,
                   Xuncha__V1__Round **out, xc_err *err) {
  Xuncha__V1__AdvanceRoundRequest req = XUNCHA__V1__ADVANCE_ROUND_REQUEST__INIT;
  ProtobufCMessage *cur = NULL;
  int rc;
  *out = NULL;
  if (etag == NULL) {
    rc = e2e_get(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_ROUND, id, &cur, err);
    if (rc != XC_OK) return rc;
    etag = e2e_etag(cur);
  }
  req.id = (char *)id;
  req.etag = (char *)etag;
  req.to = (Xuncha__V1__RoundStage)to;
  req.date = (char *)(date ? date : "");
  rc = wcall(who, M("Rounds", "AdvanceRound"), &req, &xuncha__v1__round__descriptor, out, err);
  xc_message_free(cur);
  return rc;
}

static void test_round_stages(void) {
  Xuncha__V1__Round *r = NULL, *old = NULL;
  xc_err err;
  int rc;
  CU_ASSERT_FATAL(ready);
  /* Skipping ahead is refused, naming both stages. */
  rc = advance(XC_H_COUNTY_A, ch.round->id, NULL, 3, "2027-03-01", &r, &err);
  E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "准备");
  E2E_CONTAINS(err.msg, "报告");
  /* Only the owner moves it; the city above reads but may not. */
  rc = advance(XC_H_CITY, ch.round->id, NULL, 2, "2027-03-01", &r, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  rc = advance(XC_H_COUNTY_B, ch.round->id, NULL, 2, "2027-03-01", &r, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  /* preparation → on-site → … → archived, one dated step at a time. */
  rc = advance(XC_H_COUNTY_A, ch.round->id, NULL, 2, "2027-03-01", &old, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(old != NULL);
  for (int to = 3; to <= 7; to++) {
    rc = advance(XC_H_COUNTY_A, ch.round->id, NULL, to, "2027-03-01", &r, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (r != NULL) CU_ASSERT_EQUAL((int)r->stage, to);
    if (to < 7) {
      xc_message_free(r);
      r = NULL;
    }
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  CU_ASSERT_EQUAL(r->n_stage_dates, 7);
  CU_ASSERT_STRING_EQUAL(r->stage_dates[6]->date, "2027-03-01");
  /* A stale etag changes nothing; going on past archived or back is refused. */
  {
    Xuncha__V1__Round *x = NULL;
    rc = advance(XC_H_COUNTY_A, ch.round->id, old->etag, 7, NULL, &x, &err);
    E2E_EXPECT(rc, err, XC_EABORTED);
    rc = advance(XC_H_COUNTY_A, ch.round->id, r->etag, 6, NULL, &x, &err);
    E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
    E2E_CONTAINS(err.msg, "立卷归档");
    xc_message_free(x);
  }
  /* The stage filter of ListRounds sees the new stage. */
  {
    Xuncha__V1__ListRoundsRequest lr = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    size_t n = 0;
    int found = 0;
    lr.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED;
    rc = e2e_list(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_ROUND, &lr.base, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (resp != NULL) {
      ProtobufCMessage **items = e2e_list_items(resp, E2E_ROUND, &n);
      for (size_t i = 0; i < n; i++) found |= strcmp(e2e_id(items[i]), ch.round->id) == 0;
    }
    CU_ASSERT_TRUE(found);
    xc_message_free(resp);
  }
  xc_message_free(r);
  xc_message_free(old);
}

static void test_rectification_to_verified(void) {
  Xuncha__V1__Finding *f = NULL, *g = NULL;
  xc_err err;
  int rc;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("三重一大制度执行不到位", "2027-06-30", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  /* Not done yet: cannot be verified; cannot be marked done before a plan. */
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 0, NULL, &err), err, XC_EFAILED_PRECONDITION);
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_DONE, NULL,
                      NULL, &err),
             err, XC_EFAILED_PRECONDITION);
  /* Agencies and offices that may not read it write nothing. */
  E2E_EXPECT(
      progress(XC_H_JW, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN, NULL, NULL, &err),
      err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(progress(XC_H_COUNTY_B, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN, NULL,
                      NULL, &err),
             err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN,
                      "2027-03-01", "整改方案〔2027〕1号", &err),
             err, XC_OK);
  /* The city above records progress too; each entry is its writer's. */
  E2E_EXPECT(progress(XC_H_CITY, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS,
                      "2027-03-01", "会议纪要.pdf", &err),
             err, XC_OK);
  rc = progress(XC_H_COUNTY_A, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_DONE, "2027-03-01",
                "整改报告.pdf", &err);
  E2E_EXPECT(rc, err, XC_OK);
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_DONE);
  CU_ASSERT_EQUAL(g->track->entries, 3);
  CU_ASSERT_EQUAL(g->track->evidence_entries, 3);
  CU_ASSERT_FALSE(g->flags->paper_only);
  xc_message_free(g);
  /* A future date is refused. */
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS,
                      "2027-03-02", "x", &err),
             err, XC_EINVALID_ARGUMENT);
  /* The status cannot be set directly. */
  {
    Xuncha__V1__UpdateFindingRequest u = XUNCHA__V1__UPDATE_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding *x = NULL;
    g = get_finding(XC_H_COUNTY_A, f->id);
    g->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
    u.finding = g;
    rc = wcall(XC_H_COUNTY_A, M("Findings", "UpdateFinding"), &u, &xuncha__v1__finding__descriptor,
               &x, &err);
    E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
    xc_message_free(x);
    xc_message_free(g);
  }
  /* Verification: never by an office below the round's owner, nor an
   * agency; by the owner or the city above. */
  E2E_EXPECT(verify(XC_H_TOWNSHIP, f->id, 0, NULL, &err), err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(verify(XC_H_JW, f->id, 0, NULL, &err), err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(verify(XC_H_CITY, f->id, 0, NULL, &err), err, XC_OK);
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED);
  CU_ASSERT_STRING_EQUAL(g->track->verified_date, "2027-03-01");
  xc_message_free(g);
  /* Verifying twice is a refused step. */
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 0, NULL, &err), err, XC_EFAILED_PRECONDITION);
  /* The history lists every entry with its writer. */
  {
    Xuncha__V1__ListProgressRequest lp = XUNCHA__V1__LIST_PROGRESS_REQUEST__INIT;
    Xuncha__V1__ListProgressResponse *resp = NULL;
    lp.finding_id = f->id;
    rc = wcall(XC_H_CITY, M("Findings", "ListProgress"), &lp,
               &xuncha__v1__list_progress_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (resp != NULL) {
      CU_ASSERT_EQUAL(resp->n_entries, 3);
      if (resp->n_entries == 3) {
        CU_ASSERT_EQUAL(resp->entries[0]->step, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN);
        CU_ASSERT_TRUE(e2e_author_is(resp->entries[0]->created_by, "office:310104", XC_H_COUNTY_A));
        CU_ASSERT_STRING_EQUAL(resp->entries[2]->evidence[0], "整改报告.pdf");
      }
    }
    xc_message_free(resp);
    rc = wcall(XC_H_JW, M("Findings", "ListProgress"), &lp,
               &xuncha__v1__list_progress_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  }
  xc_message_free(f);
}

/* A county round at a township target: the township office (the target's
 * own office) records progress on it but never verifies it. */
static void test_target_office_never_verifies(void) {
  e2e_chain tc;
  Xuncha__V1__Finding *g;
  xc_err err;
  int rc;
  clock_at("2027-03-01");
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104001", NULL, 0, "agency:3101:jw",
                      "township-target", &tc, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(rc == XC_OK);
  E2E_EXPECT(progress(XC_H_TOWNSHIP, tc.finding->id, 1, NULL, "镇整改方案.docx", &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_TOWNSHIP, tc.finding->id, 2, NULL, "台账.xlsx", &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_TOWNSHIP, tc.finding->id, 3, NULL, "验收材料.pdf", &err), err, XC_OK);
  E2E_EXPECT(verify(XC_H_TOWNSHIP, tc.finding->id, 0, NULL, &err), err, XC_EPERMISSION_DENIED);
  E2E_CONTAINS(err.msg, "never by the target's own office");
  /* Right before any state check: revoking what is not verified is still
   * PERMISSION_DENIED for the township. */
  E2E_EXPECT(verify(XC_H_TOWNSHIP, tc.finding->id, 1, "x", &err), err, XC_EPERMISSION_DENIED);
  g = get_finding(XC_H_COUNTY_A, tc.finding->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_DONE);
  CU_ASSERT_EQUAL(g->track->entries, 3);
  xc_message_free(g);
  E2E_EXPECT(verify(XC_H_COUNTY_A, tc.finding->id, 0, NULL, &err), err, XC_OK);
  e2e_chain_free(&tc);
}

/* Returns 1 if ListFindings as county A with the flag filters set lists id. */
static int listed_with(const char *id, int overdue, int paper, int stalled, int reopened,
                       int due_days) {
  Xuncha__V1__ListFindingsRequest req = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
  Xuncha__V1__ListFindingsResponse *resp = NULL;
  xc_err err;
  int found = 0, rc;
  req.round_id = ch.round->id;
  req.overdue = overdue;
  req.paper_only = paper;
  req.stalled = stalled;
  req.reopened = reopened;
  req.due_within_days = due_days;
  req.page_size = 1000;
  rc = wcall(XC_H_COUNTY_A, M("Findings", "ListFindings"), &req,
             &xuncha__v1__list_findings_response__descriptor, &resp, &err);
  E2E_EXPECT(rc, err, XC_OK);
  for (size_t i = 0; resp != NULL && i < resp->n_findings; i++)
    found |= strcmp(resp->findings[i]->id, id) == 0;
  xc_message_free(resp);
  return found;
}

static void test_flag_overdue_boundary(void) {
  Xuncha__V1__Finding *f, *g;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("违规配备使用公车", "2027-04-10", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  /* The deadline one day ahead: not overdue, due within 1 day. */
  clock_at("2027-04-09");
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_FALSE(g->flags->overdue);
  CU_ASSERT_EQUAL(g->flags->days_to_deadline, 1);
  xc_message_free(g);
  CU_ASSERT_FALSE(listed_with(f->id, 1, 0, 0, 0, 0));
  CU_ASSERT_TRUE(listed_with(f->id, 0, 0, 0, 0, 1));
  CU_ASSERT_TRUE(listed_with(f->id, 0, 0, 0, 0, 14));
  /* On the deadline: still not overdue. */
  clock_at("2027-04-10");
  CU_ASSERT_FALSE(listed_with(f->id, 1, 0, 0, 0, 0));
  /* One day past: overdue (拖延式), and no longer "due". */
  clock_at("2027-04-11");
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_TRUE(g->flags->overdue);
  CU_ASSERT_EQUAL(g->flags->days_to_deadline, -1);
  xc_message_free(g);
  CU_ASSERT_TRUE(listed_with(f->id, 1, 0, 0, 0, 0));
  CU_ASSERT_FALSE(listed_with(f->id, 0, 0, 0, 0, 14));
  clock_at("2027-03-01");
  xc_message_free(f);
}

static void test_flag_paper_only(void) {
  Xuncha__V1__Finding *paper, *real, *g;
  xc_err err;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  paper = mk_finding("以文件落实文件", NULL, 0);
  real = mk_finding("有佐证的整改", NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(paper);
  CU_ASSERT_PTR_NOT_NULL_FATAL(real);
  E2E_EXPECT(progress(XC_H_COUNTY_A, paper->id, 1, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, paper->id, 2, NULL, NULL, &err), err, XC_OK);
  /* In progress with no evidence is not yet paper-only: only done counts. */
  CU_ASSERT_FALSE(listed_with(paper->id, 0, 1, 0, 0, 0));
  E2E_EXPECT(progress(XC_H_COUNTY_A, paper->id, 3, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, real->id, 1, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, real->id, 2, NULL, "台账.xlsx", &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, real->id, 3, NULL, NULL, &err), err, XC_OK);
  g = get_finding(XC_H_COUNTY_A, paper->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_TRUE(g->flags->paper_only);
  xc_message_free(g);
  CU_ASSERT_TRUE(listed_with(paper->id, 0, 1, 0, 0, 0));
  CU_ASSERT_FALSE(listed_with(real->id, 0, 1, 0, 0, 0));
  xc_message_free(paper);
  xc_message_free(real);
}

static void test_flag_stalled_boundary(void) {
  Xuncha__V1__Finding *f, *v, *g;
  xc_err err;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("整改进度迟缓", NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 1, "2027-03-01", NULL, &err), err, XC_OK);
  /* 30 days (the server's default) without progress: not yet stalled. */
  clock_at("2027-03-31");
  CU_ASSERT_FALSE(listed_with(f->id, 0, 0, 1, 0, 0));
  /* 31 days: stalled (半截式). */
  clock_at("2027-04-01");
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_TRUE(g->flags->stalled);
  xc_message_free(g);
  CU_ASSERT_TRUE(listed_with(f->id, 0, 0, 1, 0, 0));
  /* New progress clears it. */
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 2, "2027-04-01", NULL, &err), err, XC_OK);
  CU_ASSERT_FALSE(listed_with(f->id, 0, 0, 1, 0, 0));

  /* Closed off while a later entry says work remains: stalled too. */
  clock_at("2027-03-01");
  v = mk_finding("销号后仍未完成", NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(v);
  E2E_EXPECT(progress(XC_H_COUNTY_A, v->id, 1, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, v->id, 2, NULL, "a.pdf", &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, v->id, 3, NULL, "b.pdf", &err), err, XC_OK);
  E2E_EXPECT(verify(XC_H_COUNTY_A, v->id, 0, NULL, &err), err, XC_OK);
  CU_ASSERT_FALSE(listed_with(v->id, 0, 0, 1, 0, 0));
  E2E_EXPECT(progress(XC_H_COUNTY_A, v->id, 2, NULL, NULL, &err), err, XC_OK);
  g = get_finding(XC_H_COUNTY_A, v->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED);
  CU_ASSERT_TRUE(g->track->work_remains);
  CU_ASSERT_TRUE(g->flags->stalled);
  xc_message_free(g);
  CU_ASSERT_TRUE(listed_with(v->id, 0, 0, 1, 0, 0));
  clock_at("2027-03-01");
  xc_message_free(f);
  xc_message_free(v);
}

static void test_flag_reopened(void) {
  Xuncha__V1__Finding *f, *g;
  xc_err err;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("立行立改后复发", NULL,
                 XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  /* 立行立改: done straight from open. */
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 3, NULL, "现场照片.jpg", &err), err, XC_OK);
  /* Revoking what is not verified is a refused step. */
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 1, "未整改到位", &err), err, XC_EFAILED_PRECONDITION);
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 0, NULL, &err), err, XC_OK);
  CU_ASSERT_FALSE(listed_with(f->id, 0, 0, 0, 1, 0));
  /* A revocation needs its reason. */
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 1, "", &err), err, XC_EINVALID_ARGUMENT);
  E2E_EXPECT(verify(XC_H_COUNTY_A, f->id, 1, "回头看发现问题反弹", &err), err, XC_OK);
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_TRUE(g->flags->reopened);
  CU_ASSERT_EQUAL(g->track->revocations, 1);
  CU_ASSERT_EQUAL(g->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_IN_PROGRESS);
  xc_message_free(g);
  CU_ASSERT_TRUE(listed_with(f->id, 0, 0, 0, 1, 0));
  xc_message_free(f);
}

static void test_completion_rate(void) {
  Xuncha__V1__Finding *a, *b;
  Xuncha__V1__RectificationStatsRequest req = XUNCHA__V1__RECTIFICATION_STATS_REQUEST__INIT;
  Xuncha__V1__RectificationStats *s = NULL;
  e2e_chain own;
  xc_err err;
  int rc;
  clock_at("2027-03-01");
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104", NULL, 0, "agency:3101:jw",
                      "rate", &own, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(rc == XC_OK);
  {
    e2e_chain keep = ch;
    ch = own;
    a = mk_finding("率一", NULL, 0);
    b = mk_finding("率二", NULL, 0);
    ch = keep;
  }
  CU_ASSERT_FATAL(a != NULL && b != NULL);
  E2E_EXPECT(progress(XC_H_COUNTY_A, a->id, 1, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, a->id, 2, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, a->id, 3, NULL, "x.pdf", &err), err, XC_OK);
  /* Three findings (the chain's and two), one completed: 1/3. */
  req.round_id = own.round->id;
  rc = wcall(XC_H_CITY, M("Findings", "GetRectificationStats"), &req,
             &xuncha__v1__rectification_stats__descriptor, &s, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(s->total, 3);
  CU_ASSERT_EQUAL(s->completed, 1);
  CU_ASSERT_DOUBLE_EQUAL(s->completion_rate, 1.0 / 3.0, 1e-9);
  xc_message_free(s);
  s = NULL;
  /* Voiding a finding drops it from every count: 1/2. */
  {
    Xuncha__V1__VoidRecordRequest v = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
    Xuncha__V1__VoidRecordResponse *vr = NULL;
    v.id = b->id;
    v.etag = b->etag;
    v.reason = "重复录入";
    rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
               &xuncha__v1__void_record_response__descriptor, &vr, &err);
    E2E_EXPECT(rc, err, XC_OK);
    xc_message_free(vr);
  }
  rc = wcall(XC_H_CITY, M("Findings", "GetRectificationStats"), &req,
             &xuncha__v1__rectification_stats__descriptor, &s, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (s != NULL) {
    CU_ASSERT_EQUAL(s->total, 2);
    CU_ASSERT_DOUBLE_EQUAL(s->completion_rate, 0.5, 1e-9);
  }
  xc_message_free(s);
  /* Per target as well. */
  req.round_id = "";
  req.target_id = own.target->id;
  s = NULL;
  rc = wcall(XC_H_COUNTY_A, M("Findings", "GetRectificationStats"), &req,
             &xuncha__v1__rectification_stats__descriptor, &s, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (s != NULL) CU_ASSERT_EQUAL(s->total, 2);
  xc_message_free(s);
  xc_message_free(a);
  xc_message_free(b);
  e2e_chain_free(&own);
}

/* Records a disposition as `who` on lead id. */
static int dispose(const char *who, const char *lead_id, int disposal,
                   Xuncha__V1__Outcome **outcomes, size_t n_outcomes, xc_err *err) {
  Xuncha__V1__RecordDispositionRequest req = XUNCHA__V1__RECORD_DISPOSITION_REQUEST__INIT;
  Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
  Xuncha__V1__RecordDispositionResponse *resp = NULL;
  /* The city is above every owner in these tests: it reads the etag. */
  Xuncha__V1__Lead *l = get_lead(XC_H_CITY, lead_id);
  int rc;
  if (l == NULL) return xc_err_set(err, XC_EINTERNAL, "cannot read %s", lead_id);
  d.lead_id = (char *)lead_id;
  d.disposal = (Xuncha__V1__LeadDisposal)disposal;
  d.note = "依规处置";
  d.n_outcomes = n_outcomes;
  d.outcomes = outcomes;
  req.disposition = &d;
  req.lead_etag = l->etag;
  rc = wcall(who, M("Leads", "RecordDisposition"), &req,
             &xuncha__v1__record_disposition_response__descriptor, &resp, err);
  if (rc == XC_OK) {
    CU_ASSERT_STRING_EQUAL(resp->disposition->owner, "agency:3101:jw");
    CU_ASSERT_EQUAL((int)resp->lead->disposal, disposal);
  }
  xc_message_free(resp);
  xc_message_free(l);
  return rc;
}

static void test_lead_handling(void) {
  Xuncha__V1__Outcome o1 = XUNCHA__V1__OUTCOME__INIT, o2 = XUNCHA__V1__OUTCOME__INIT,
                      o3 = XUNCHA__V1__OUTCOME__INIT;
  Xuncha__V1__Outcome *outs[3] = {&o1, &o2, &o3};
  Xuncha__V1__Lead *l;
  e2e_chain other;
  ProtobufCMessage *got = NULL;
  xc_err err;
  int rc;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  /* Another agency's lead: zzb's, made by county B. */
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_B), "310105", NULL, 0, "agency:3101:zzb",
                      "other-agency", &other, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(rc == XC_OK);
  /* jw neither reads nor handles zzb's lead. */
  rc = e2e_get(xc_h_client(e2e_h, XC_H_JW), E2E_LEAD, other.lead->id, &got, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(dispose(XC_H_JW, other.lead->id, 3, NULL, 0, &err), err, XC_EPERMISSION_DENIED);
  /* Offices see their leads but do not record the agency's handling. */
  E2E_EXPECT(dispose(XC_H_COUNTY_A, ch.lead->id, 3, NULL, 0, &err), err, XC_EPERMISSION_DENIED);
  E2E_EXPECT(dispose(XC_H_ZZB, ch.lead->id, 3, NULL, 0, &err), err, XC_EPERMISSION_DENIED);
  /* jw reads the finding its lead comes from, and nothing else. */
  rc = e2e_get(xc_h_client(e2e_h, XC_H_JW), E2E_FINDING, ch.finding->id, &got, &err);
  E2E_EXPECT(rc, err, XC_OK);
  xc_message_free(got);
  got = NULL;
  rc = e2e_get(xc_h_client(e2e_h, XC_H_JW), E2E_FINDING, other.finding->id, &got, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  rc = e2e_get(xc_h_client(e2e_h, XC_H_JW), E2E_TARGET, ch.target->id, &got, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  CU_ASSERT_FALSE(e2e_listed(xc_h_client(e2e_h, XC_H_JW), E2E_FINDING, ch.finding->id));
  /* Skipping from 待处置 to 审理 is refused. */
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 8, NULL, 0, &err), err, XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "待处置");
  /* 初步核实 → 立案 → 审查调查 → 审理 → 作出处理决定 with outcomes. */
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 3, NULL, 0, &err), err, XC_OK);
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 6, NULL, 0, &err), err, XC_OK);
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 7, NULL, 0, &err), err, XC_OK);
  /* Outcomes only come with a decision. */
  o1.person = "张三";
  o1.measure = XUNCHA__V1__OUTCOME_MEASURE__OUTCOME_MEASURE_PARTY_SERIOUS_WARNING;
  o2.person = "张三";
  o2.measure = XUNCHA__V1__OUTCOME_MEASURE__OUTCOME_MEASURE_GOV_DEMERIT;
  o3.person = "李四";
  o3.measure = XUNCHA__V1__OUTCOME_MEASURE__OUTCOME_MEASURE_ORG_REMOVAL;
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 8, outs, 3, &err), err, XC_EINVALID_ARGUMENT);
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 8, NULL, 0, &err), err, XC_OK);
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 9, outs, 3, &err), err, XC_OK);
  /* The handling has ended. */
  E2E_EXPECT(dispose(XC_H_JW, ch.lead->id, 5, NULL, 0, &err), err, XC_EFAILED_PRECONDITION);
  /* The lead stays with the agency that handled it. */
  {
    Xuncha__V1__UpdateLeadRequest u = XUNCHA__V1__UPDATE_LEAD_REQUEST__INIT;
    Xuncha__V1__Lead *x = NULL;
    char *mask[1] = {"recipient"};
    l = get_lead(XC_H_COUNTY_A, ch.lead->id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    free(l->recipient);
    l->recipient = strdup("agency:3101:zzb");
    u.lead = l;
    u.update_mask = mask;
    u.n_update_mask = 1;
    rc =
        wcall(XC_H_COUNTY_A, M("Leads", "UpdateLead"), &u, &xuncha__v1__lead__descriptor, &x, &err);
    E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
    xc_message_free(x);
    xc_message_free(l);
  }
  /* The owner office and the city above see the status and outcomes. */
  l = get_lead(XC_H_CITY, ch.lead->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_EQUAL(l->disposal, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_DECIDED);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l->outcomes);
  CU_ASSERT_EQUAL(l->outcomes->party_sanctions, 1);
  CU_ASSERT_EQUAL(l->outcomes->government_sanctions, 1);
  CU_ASSERT_EQUAL(l->outcomes->organizational_handling, 1);
  CU_ASSERT_EQUAL(l->outcomes->judicial_transfers, 0);
  CU_ASSERT_FALSE(l->report_overdue);
  xc_message_free(l);
  {
    Xuncha__V1__ListDispositionsRequest req = XUNCHA__V1__LIST_DISPOSITIONS_REQUEST__INIT;
    Xuncha__V1__ListDispositionsResponse *resp = NULL;
    req.lead_id = ch.lead->id;
    rc = wcall(XC_H_COUNTY_A, M("Leads", "ListDispositions"), &req,
               &xuncha__v1__list_dispositions_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (resp != NULL) CU_ASSERT_EQUAL(resp->n_dispositions, 5);
    xc_message_free(resp);
    resp = NULL;
    rc = wcall(XC_H_ZZB, M("Leads", "ListDispositions"), &req,
               &xuncha__v1__list_dispositions_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
    rc = wcall(XC_H_AUDITOR, M("Leads", "ListDispositions"), &req,
               &xuncha__v1__list_dispositions_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  }
  e2e_chain_free(&other);
}

static void test_lead_report_deadline(void) {
  Xuncha__V1__Lead *l;
  Xuncha__V1__ListLeadsRequest req = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
  Xuncha__V1__ListLeadsResponse *resp = NULL;
  e2e_chain c2;
  xc_err err;
  int rc, found;
  /* The chain's lead was transferred on 2024-04-01: due 2024-07-01. */
  clock_at("2024-07-01");
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104", NULL, 0, "agency:3101:jw",
                      "report", &c2, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(rc == XC_OK);
  l = get_lead(XC_H_JW, c2.lead->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_STRING_EQUAL(l->report_due_date, "2024-07-01");
  CU_ASSERT_FALSE(l->report_overdue);
  xc_message_free(l);
  clock_at("2024-07-02");
  l = get_lead(XC_H_JW, c2.lead->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_TRUE(l->report_overdue);
  xc_message_free(l);
  req.report_overdue = 1;
  req.page_size = 1000;
  rc = wcall(XC_H_JW, M("Leads", "ListLeads"), &req, &xuncha__v1__list_leads_response__descriptor,
             &resp, &err);
  E2E_EXPECT(rc, err, XC_OK);
  found = 0;
  for (size_t i = 0; resp != NULL && i < resp->n_leads; i++)
    found |= strcmp(resp->leads[i]->id, c2.lead->id) == 0;
  CU_ASSERT_TRUE(found);
  xc_message_free(resp);
  /* Once the agency reports a disposition, it is no longer late. */
  E2E_EXPECT(dispose(XC_H_JW, c2.lead->id, 2, NULL, 0, &err), err, XC_OK);
  l = get_lead(XC_H_COUNTY_A, c2.lead->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_FALSE(l->report_overdue);
  CU_ASSERT_STRING_EQUAL(l->disposal_date, "2024-07-02");
  xc_message_free(l);
  clock_at("2027-03-01");
  e2e_chain_free(&c2);
}

static void test_void_and_etags(void) {
  Xuncha__V1__Finding *f, *g;
  Xuncha__V1__VoidRecordRequest v = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
  Xuncha__V1__VoidRecordResponse *vr = NULL;
  Xuncha__V1__ListProgressRequest lp = XUNCHA__V1__LIST_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ListProgressResponse *lpr = NULL;
  xc_err err;
  int rc;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("作废测试", NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 1, NULL, NULL, &err), err, XC_OK);
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 2, NULL, NULL, &err), err, XC_OK);
  /* Two operators append with the same etag: one wins, one must reload. */
  {
    Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
    Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
    Xuncha__V1__AppendProgressResponse *r1 = NULL, *r2 = NULL;
    g = get_finding(XC_H_COUNTY_A, f->id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    e.finding_id = f->id;
    e.step = XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS;
    e.text = "同时提交";
    req.entry = &e;
    req.finding_etag = g->etag;
    rc = wcall(XC_H_COUNTY_A, M("Findings", "AppendProgress"), &req,
               &xuncha__v1__append_progress_response__descriptor, &r1, &err);
    E2E_EXPECT(rc, err, XC_OK);
    rc = wcall(XC_H_CITY, M("Findings", "AppendProgress"), &req,
               &xuncha__v1__append_progress_response__descriptor, &r2, &err);
    E2E_EXPECT(rc, err, XC_EABORTED);
    E2E_CONTAINS(err.msg, "read it again");
    xc_message_free(r1);
    xc_message_free(g);
  }
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->track->entries, 3);
  xc_message_free(g);
  /* Void the plan entry: the rest no longer follow a plan: refused. */
  lp.finding_id = f->id;
  rc = wcall(XC_H_COUNTY_A, M("Findings", "ListProgress"), &lp,
             &xuncha__v1__list_progress_response__descriptor, &lpr, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(lpr != NULL && lpr->n_entries == 3);
  v.id = lpr->entries[0]->id;
  v.etag = lpr->entries[0]->etag;
  v.reason = "误录";
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
  /* Only the writer voids an entry; a reason is required. */
  v.id = lpr->entries[2]->id;
  v.etag = lpr->entries[2]->etag;
  rc = wcall(XC_H_CITY, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  v.reason = "";
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  /* Voiding the last entry re-derives the finding, in the same write. */
  v.reason = "重复提交";
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (vr != NULL) {
    CU_ASSERT_STRING_EQUAL(vr->kind, "progress");
    CU_ASSERT_STRING_EQUAL(vr->parent_id, f->id);
  }
  xc_message_free(vr);
  vr = NULL;
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_EABORTED); /* the etag moved with the void */
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->track->entries, 2);
  xc_message_free(g);
  xc_message_free(lpr);
  lpr = NULL;
  /* Voided entries drop out of the list unless asked for, with the reason. */
  rc = wcall(XC_H_COUNTY_A, M("Findings", "ListProgress"), &lp,
             &xuncha__v1__list_progress_response__descriptor, &lpr, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (lpr != NULL) CU_ASSERT_EQUAL(lpr->n_entries, 2);
  xc_message_free(lpr);
  lpr = NULL;
  lp.include_void = 1;
  rc = wcall(XC_H_COUNTY_A, M("Findings", "ListProgress"), &lp,
             &xuncha__v1__list_progress_response__descriptor, &lpr, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (lpr != NULL && lpr->n_entries == 3) {
    CU_ASSERT_TRUE(lpr->entries[2]->voided);
    CU_ASSERT_STRING_EQUAL(lpr->entries[2]->void_reason, "重复提交");
  }
  xc_message_free(lpr);
  /* A voided finding stays readable, leaves lists, and cannot change. */
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  v.id = g->id;
  v.etag = g->etag;
  v.reason = "与其他问题重复";
  vr = NULL;
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_OK);
  xc_message_free(vr);
  vr = NULL;
  xc_message_free(g);
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_TRUE(g->voided);
  CU_ASSERT_STRING_EQUAL(g->void_reason, "与其他问题重复");
  CU_ASSERT_FALSE(listed_with(f->id, 0, 0, 0, 0, 0));
  {
    Xuncha__V1__ListFindingsRequest req = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
    Xuncha__V1__ListFindingsResponse *resp = NULL;
    int found = 0;
    req.round_id = ch.round->id;
    req.include_void = 1;
    req.page_size = 1000;
    rc = wcall(XC_H_COUNTY_A, M("Findings", "ListFindings"), &req,
               &xuncha__v1__list_findings_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    for (size_t i = 0; resp != NULL && i < resp->n_findings; i++)
      found |= strcmp(resp->findings[i]->id, f->id) == 0;
    CU_ASSERT_TRUE(found);
    xc_message_free(resp);
  }
  {
    Xuncha__V1__UpdateFindingRequest u = XUNCHA__V1__UPDATE_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding *x = NULL;
    u.finding = g;
    rc = wcall(XC_H_COUNTY_A, M("Findings", "UpdateFinding"), &u, &xuncha__v1__finding__descriptor,
               &x, &err);
    E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
    xc_message_free(x);
  }
  E2E_EXPECT(progress(XC_H_COUNTY_A, f->id, 2, NULL, NULL, &err), err, XC_EFAILED_PRECONDITION);
  v.id = g->id;
  v.etag = g->etag;
  rc = wcall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &v,
             &xuncha__v1__void_record_response__descriptor, &vr, &err);
  E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
  xc_message_free(g);
  xc_message_free(f);
}

/* One of the racing operators of test_concurrent_appends. */
typedef struct racer {
  xc_client *c;
  const Xuncha__V1__AppendProgressRequest *req;
  int rc;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  Xuncha__V1__AppendProgressResponse *resp = NULL;
  xc_err err;
  r->rc = xc_append_progress(r->c, r->req, &resp, XC_H_CALL_MS, &err);
  xc_message_free(resp);
  return NULL;
}

/* Operators appending to one finding at the same moment with the etag they
 * all read: exactly one wins, every other one gets ABORTED and adds nothing. */
static void test_concurrent_appends(void) {
  enum { N = 6 };
  Xuncha__V1__Finding *f, *g;
  Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
  pthread_t th[N];
  racer r[N];
  int ok = 0, aborted = 0, started = 0;
  CU_ASSERT_FATAL(ready);
  clock_at("2027-03-01");
  f = mk_finding("并发提交", NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  e.finding_id = f->id;
  e.step = XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN;
  e.text = "整改方案";
  req.entry = &e;
  req.finding_etag = f->etag;
  for (int i = 0; i < N; i++) {
    r[i].c = xc_h_client(e2e_h, i % 2 ? XC_H_CITY : XC_H_COUNTY_A);
    r[i].req = &req;
    r[i].rc = XC_EINTERNAL;
    if (pthread_create(&th[i], NULL, race, &r[i]) != 0) break;
    started++;
  }
  for (int i = 0; i < started; i++) (void)pthread_join(th[i], NULL);
  CU_ASSERT_EQUAL(started, N);
  for (int i = 0; i < started; i++) {
    ok += r[i].rc == XC_OK;
    aborted += r[i].rc == XC_EABORTED;
  }
  CU_ASSERT_EQUAL(ok, 1);
  CU_ASSERT_EQUAL(aborted, started - 1);
  g = get_finding(XC_H_COUNTY_A, f->id);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->track->entries, 1);
  xc_message_free(g);
  xc_message_free(f);
}

static void test_directory(void) {
  Xuncha__V1__DirectoryEntry *d = NULL;
  xc_err err;
  int rc;
  /* An identity is listed once. */
  rc = mk_directory(XC_H_CITY, "3101",
                    XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION,
                    "市纪委监委（重复）", "agency:3101:jw", &d, &err);
  E2E_EXPECT(rc, err, XC_EALREADY_EXISTS);
  /* A county lists its stationed group; the kind must fit the identity. */
  rc = mk_directory(XC_H_COUNTY_A, "310104",
                    XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_ORGANIZATION_DEPARTMENT,
                    "区委组织部", "office:310104", &d, &err);
  E2E_EXPECT(rc, err, XC_EINVALID_ARGUMENT);
  rc = mk_directory(XC_H_COUNTY_A, "3101",
                    XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_STATIONED_GROUP, "派驻纪检组",
                    "agency:3101:pz1", &d, &err);
  E2E_EXPECT(rc, err, XC_EPERMISSION_DENIED);
  rc = mk_directory(XC_H_COUNTY_A, "310104",
                    XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_COUNTY_OFFICE, "区委巡察办",
                    "office:310104", &d, &err);
  E2E_EXPECT(rc, err, XC_OK);
  xc_message_free(d);
  d = NULL;
  /* Every identity reads the directory, agencies included. */
  {
    Xuncha__V1__ListDirectoryEntriesRequest lr = XUNCHA__V1__LIST_DIRECTORY_ENTRIES_REQUEST__INIT;
    Xuncha__V1__ListDirectoryEntriesResponse *resp = NULL;
    lr.kind = XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION;
    rc = wcall(XC_H_JW, M("Directory", "ListDirectoryEntries"), &lr,
               &xuncha__v1__list_directory_entries_response__descriptor, &resp, &err);
    E2E_EXPECT(rc, err, XC_OK);
    if (resp != NULL) {
      CU_ASSERT_EQUAL(resp->n_entries, 1);
      if (resp->n_entries == 1)
        CU_ASSERT_STRING_EQUAL(resp->entries[0]->identity, "agency:3101:jw");
    }
    xc_message_free(resp);
  }
  /* A lead to an office, or to an agency not in the directory, is refused. */
  if (ready) {
    Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
    ProtobufCMessage *out = NULL;
    l.round_id = ch.round->id;
    l.target_id = ch.target->id;
    l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_OTHER;
    l.summary = "其他问题线索";
    l.recipient = "agency:3101:wjw";
    rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_LEAD, &l.base, NULL, &out, &err);
    E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
    E2E_CONTAINS(err.msg, "directory");
    rc = mk_directory(XC_H_CITY, "3101", XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_OTHER_UNIT,
                      "市卫健委", "agency:3101:wjw", &d, &err);
    E2E_EXPECT(rc, err, XC_OK);
    rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_LEAD, &l.base, NULL, &out, &err);
    E2E_EXPECT(rc, err, XC_OK);
    xc_message_free(out);
    xc_message_free(d);
  }
}

static void test_group_recusal(void) {
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
  Xuncha__V1__Recusal rec = XUNCHA__V1__RECUSAL__INIT;
  Xuncha__V1__Assignment as = XUNCHA__V1__ASSIGNMENT__INIT;
  Xuncha__V1__Recusal *recs[1] = {&rec};
  Xuncha__V1__Assignment *ass[1] = {&as};
  char *members[1] = {"李四"};
  char *tids[1];
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc;
  CU_ASSERT_FATAL(ready);
  tids[0] = ch.target->id;
  g.round_id = ch.round->id;
  g.name = "第二巡察组";
  g.leader = "王五";
  g.n_members = 1;
  g.members = members;
  g.n_target_ids = 1;
  g.target_ids = tids;
  rec.member = "李四";
  rec.target_id = ch.target->id;
  rec.reason = "近亲属在该单位任职";
  g.n_recusals = 1;
  g.recusals = recs;
  as.member = "李四";
  as.target_id = ch.target->id;
  g.n_assignments = 1;
  g.assignments = ass;
  rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_GROUP, &g.base, NULL, &out, &err);
  E2E_EXPECT(rc, err, XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "回避");
  as.member = "王五";
  rc = e2e_create(xc_h_client(e2e_h, XC_H_COUNTY_A), E2E_GROUP, &g.base, NULL, &out, &err);
  E2E_EXPECT(rc, err, XC_OK);
  if (out != NULL) CU_ASSERT_EQUAL(((Xuncha__V1__Group *)out)->n_assignments, 1);
  xc_message_free(out);
}

/* Runs the CLI as `who`; fills res (free it). */
static int cli_as(const char *who, xc_h_result *res, const char *const *args, size_t n) {
  const char *argv[32];
  char ca[512], cert[512], key[512];
  const char *bin = xc_h_env("XC_E2E_XUNCHA");
  xc_err err;
  size_t k = 0;
  if (bin == NULL || n + 10 > 32) return XC_EINTERNAL;
  argv[k++] = bin;
  argv[k++] = "--server";
  argv[k++] = xc_h_addr(e2e_h);
  argv[k++] = "--ca";
  argv[k++] = xc_h_cert_path(e2e_h, "ca", "pem", ca, sizeof ca);
  argv[k++] = "--cert";
  argv[k++] = xc_h_cert_path(e2e_h, who, "pem", cert, sizeof cert);
  argv[k++] = "--key";
  argv[k++] = xc_h_cert_path(e2e_h, who, "key", key, sizeof key);
  for (size_t i = 0; i < n; i++) argv[k++] = args[i];
  argv[k] = NULL;
  return xc_h_run(e2e_h, argv, 20000, res, &err);
}

/* Runs the CLI as county A. */
static int cli(xc_h_result *res, const char *const *args, size_t n) {
  return cli_as(XC_H_COUNTY_A, res, args, n);
}

static void test_cli_views(void) {
  Xuncha__V1__Finding *f;
  e2e_chain c3;
  xc_h_result res;
  xc_err err;
  int rc;
  clock_at("2027-03-01");
  rc = e2e_chain_make(xc_h_client(e2e_h, XC_H_COUNTY_A), "310104", NULL, 0, "agency:3101:jw", "cli",
                      &c3, &err);
  E2E_EXPECT(rc, err, XC_OK);
  CU_ASSERT_FATAL(rc == XC_OK);
  {
    const char *a[] = {"round", "advance", c3.round->id, "--to", "进驻", "--date", "2027-03-01"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 7), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "进驻了解");
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"round", "advance", c3.round->id, "--to", "反馈"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 5), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 4);
    E2E_CONTAINS(res.err, "FAILED_PRECONDITION");
    xc_h_result_free(&res);
  }
  f = c3.finding;
  {
    const char *a[] = {"rectification", "progress",     f->id,        "--step",  "方案",
                       "--text",        "制定整改方案", "--evidence", "方案.pdf"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 9), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "已报整改方案");
    xc_h_result_free(&res);
  }
  {
    /* The chain's deadline (2024-12-31) is long past: overdue. */
    const char *a[] = {"rectification", "overdue", "--round", c3.round->id};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 4), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, f->id);
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"rectification", "due", "--days", "14", "--round", c3.round->id};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 6), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_PTR_NULL(strstr(res.out, f->id));
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"rectification", "history", f->id};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 3), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "制定整改方案");
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"rectification", "rate", "--round", c3.round->id};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 4), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "0.0%");
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"--json", "directory", "list", "--kind", "纪委监委"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 5), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "agency:3101:jw");
    xc_h_result_free(&res);
  }
  {
    /* Bad flags are usage errors (exit 2) and cost no call. */
    const char *a[] = {"rectification", "progress", f->id};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 3), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 2);
    E2E_CONTAINS(res.err, "--text");
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"lead", "dispose", c3.lead->id, "--disposal", "立案", "--outcome", "张三"};
    CU_ASSERT_EQUAL_FATAL(cli_as(XC_H_JW, &res, a, 7), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 2);
    E2E_CONTAINS(res.err, "NAME:KIND:MEASURE");
    xc_h_result_free(&res);
  }
  {
    /* The agency records its handling in Chinese terms. */
    const char *a1[] = {"lead",
                        "dispose",
                        c3.lead->id,
                        "--disposal",
                        "予以了结",
                        "--outcome",
                        "张三:组织处理:调整职务",
                        "--note",
                        "谈话提醒后了结"};
    const char *a2[] = {"lead", "dispositions", c3.lead->id};
    CU_ASSERT_EQUAL_FATAL(cli_as(XC_H_JW, &res, a1, 9), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "予以了结");
    xc_h_result_free(&res);
    CU_ASSERT_EQUAL_FATAL(cli(&res, a2, 3), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "张三 调整职务");
    xc_h_result_free(&res);
    /* The office may not record it: the server refuses (exit 4). */
    CU_ASSERT_EQUAL_FATAL(cli(&res, a1, 9), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 4);
    E2E_CONTAINS(res.err, "PERMISSION_DENIED");
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"target", "void", c3.target->id, "--reason", "录入错误"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 5), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"target", "list", "--all", "--include-void"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 4), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, c3.target->id);
    xc_h_result_free(&res);
  }
  {
    const char *a[] = {"target", "list", "--all"};
    CU_ASSERT_EQUAL_FATAL(cli(&res, a, 3), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    CU_ASSERT_PTR_NULL(strstr(res.out, c3.target->id));
    xc_h_result_free(&res);
  }
  e2e_chain_free(&c3);
}

static void test_clock_reset(void) { CU_ASSERT_EQUAL(xc_h_set_clock(e2e_h, NULL), XC_OK); }

static const e2e_test workflow_tests[] = {
    {"setup", test_setup},
    {"round stages, one dated step at a time", test_round_stages},
    {"finding to 销号 with evidence", test_rectification_to_verified},
    {"the target's own office never verifies", test_target_office_never_verifies},
    {"overdue at its boundary", test_flag_overdue_boundary},
    {"paper-only", test_flag_paper_only},
    {"stalled at its boundary, and after 销号", test_flag_stalled_boundary},
    {"reopened", test_flag_reopened},
    {"completion rate, void drops out", test_completion_rate},
    {"agency handles a lead to sanctions", test_lead_handling},
    {"lead report deadline", test_lead_report_deadline},
    {"void and etags", test_void_and_etags},
    {"concurrent appends: one wins", test_concurrent_appends},
    {"directory", test_directory},
    {"recused member not assigned", test_group_recusal},
    {"CLI views", test_cli_views},
    {"clock reset", test_clock_reset},
    {NULL, NULL},
};

const e2e_suite e2e_suite_workflow = {"workflow", workflow_tests, workflow_release};
