/*
 * Unit tests of the workflow rules (server/WORKFLOWS.md): every allowed and
 * refused transition of the round stage machine, the rectification machine
 * and the lead disposal machine; the four flags at their boundaries; dates;
 * the test clock; and the narrowed agency read rule.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xc_clock.h"
#include "xc_identity.h"
#include "xc_list.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_wf.h"
#include "xc_workflow.h"

enum { OPEN = 1, PLAN = 2, PROG = 3, DONE = 4, VERIFIED = 5 };
enum { S_PLAN = 1, S_PROGRESS = 2, S_DONE = 3 };
enum { VERIFY = 1, REVOKE = 2 };
#define IMMEDIATE XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE
#define BY_DEADLINE XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_BY_DEADLINE

static void test_round_machine(void) {
  xc_err err;
  /* Every (from, to) pair: only from+1 is allowed, and nothing after 7. */
  for (int from = 1; from <= 7; from++) {
    for (int to = 1; to <= 7; to++) {
      int rc = xc_wf_round_step(from, to, &err);
      if (to == from + 1) {
        CU_ASSERT_EQUAL(rc, XC_OK);
      } else {
        CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
        /* The message names both stages. */
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, xc_wf_stage_zh(to)));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, xc_wf_stage_zh(from)));
      }
    }
  }
  CU_ASSERT_EQUAL(xc_wf_round_step(1, 0, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_wf_round_step(1, 8, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_wf_round_step(1, 3, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "the round is at stage 准备 (1) and cannot move to 报告 (3): stages "
                         "advance one at a time, in order, to 进驻了解 (2) next");
}

/* A state at `status` with nothing else. */
static xc_wf_rect at(int status) {
  xc_wf_rect r;
  xc_wf_rect_init(&r);
  r.status = status;
  return r;
}

static void test_rect_progress_matrix(void) {
  /* want[status][step]: the status after, or 0 when refused (by deadline). */
  static const int want[6][4] = {
      {0, 0, 0, 0},
      /* OPEN */ {0, PLAN, 0, 0},
      /* PLAN */ {0, PLAN, PROG, 0},
      /* PROG */ {0, 0, PROG, DONE},
      /* DONE */ {0, 0, PROG, 0},
      /* VERIFIED */ {0, 0, VERIFIED, 0},
  };
  xc_err err;
  for (int s = OPEN; s <= VERIFIED; s++) {
    for (int step = S_PLAN; step <= S_DONE; step++) {
      xc_wf_rect r = at(s);
      int rc = xc_wf_rect_progress(&r, BY_DEADLINE, step, "2027-01-01", 0, &err);
      if (want[s][step] != 0) {
        CU_ASSERT_EQUAL(rc, XC_OK);
        CU_ASSERT_EQUAL(r.status, want[s][step]);
        CU_ASSERT_EQUAL(r.entries, 1);
        CU_ASSERT_STRING_EQUAL(r.last_entry_date, "2027-01-01");
      } else {
        CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
        CU_ASSERT_EQUAL(r.status, s); /* unchanged */
        CU_ASSERT_EQUAL(r.entries, 0);
      }
    }
  }
  /* 立行立改 may go from open straight to in progress or done. */
  {
    xc_wf_rect r = at(OPEN);
    CU_ASSERT_EQUAL(xc_wf_rect_progress(&r, IMMEDIATE, S_PROGRESS, "2027-01-01", 0, &err), XC_OK);
    CU_ASSERT_EQUAL(r.status, PROG);
    r = at(OPEN);
    CU_ASSERT_EQUAL(xc_wf_rect_progress(&r, IMMEDIATE, S_DONE, "2027-01-02", 1, &err), XC_OK);
    CU_ASSERT_EQUAL(r.status, DONE);
    CU_ASSERT_STRING_EQUAL(r.done_date, "2027-01-02");
    CU_ASSERT_EQUAL(r.evidence_entries, 1);
  }
  /* Progress after 销号 keeps it verified but records that work remains. */
  {
    xc_wf_rect r = at(VERIFIED);
    CU_ASSERT_EQUAL(xc_wf_rect_progress(&r, BY_DEADLINE, S_PROGRESS, "2027-01-01", 0, &err), XC_OK);
    CU_ASSERT_EQUAL(r.status, VERIFIED);
    CU_ASSERT_TRUE(r.work_remains);
  }
  {
    xc_wf_rect r = at(OPEN);
    CU_ASSERT_EQUAL(xc_wf_rect_progress(&r, BY_DEADLINE, 0, "2027-01-01", 0, &err),
                    XC_EINVALID_ARGUMENT);
  }
}

static void test_rect_verify_matrix(void) {
  xc_err err;
  for (int s = OPEN; s <= VERIFIED; s++) {
    xc_wf_rect r = at(s);
    int rc = xc_wf_rect_verify(&r, VERIFY, "2027-02-01", &err);
    if (s == DONE) {
      CU_ASSERT_EQUAL(rc, XC_OK);
      CU_ASSERT_EQUAL(r.status, VERIFIED);
      CU_ASSERT_STRING_EQUAL(r.verified_date, "2027-02-01");
    } else {
      CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
      CU_ASSERT_EQUAL(r.status, s);
    }
    r = at(s);
    r.work_remains = 1;
    rc = xc_wf_rect_verify(&r, REVOKE, "2027-02-01", &err);
    if (s == VERIFIED) {
      CU_ASSERT_EQUAL(rc, XC_OK);
      CU_ASSERT_EQUAL(r.status, PROG);
      CU_ASSERT_EQUAL(r.revocations, 1);
      CU_ASSERT_FALSE(r.work_remains);
      CU_ASSERT_STRING_EQUAL(r.verified_date, "");
    } else {
      CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
      CU_ASSERT_EQUAL(r.revocations, 0);
    }
  }
  {
    xc_wf_rect r = at(DONE);
    CU_ASSERT_EQUAL(xc_wf_rect_verify(&r, 3, "2027-02-01", &err), XC_EINVALID_ARGUMENT);
  }
  CU_ASSERT_FALSE(xc_wf_rect_completed(PROG));
  CU_ASSERT_TRUE(xc_wf_rect_completed(DONE));
  CU_ASSERT_TRUE(xc_wf_rect_completed(VERIFIED));
}

/* A finding on the stack for the flag tests (strings are static). */
typedef struct fx {
  Xuncha__V1__Finding f;
  Xuncha__V1__Rectification r;
  Xuncha__V1__RectificationTrack t;
} fx;

static void fx_init(fx *x, int status, const char *deadline, const char *last_entry) {
  xuncha__v1__finding__init(&x->f);
  xuncha__v1__rectification__init(&x->r);
  xuncha__v1__rectification_track__init(&x->t);
  x->r.status = (Xuncha__V1__RectificationStatus)status;
  x->r.deadline = (char *)(deadline ? deadline : "");
  x->t.last_entry_date = (char *)(last_entry ? last_entry : "");
  x->f.rectification = &x->r;
  x->f.track = &x->t;
}

static void test_flags_boundaries(void) {
  fx x;
  xc_wf_flags fl;
  /* Overdue: a day ahead no, on the day no, a day past yes; done never. */
  fx_init(&x, PROG, "2027-04-10", "2027-04-09");
  xc_wf_finding_flags(&x.f, "2027-04-09", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.overdue);
  CU_ASSERT_EQUAL(fl.days_to_deadline, 1);
  xc_wf_finding_flags(&x.f, "2027-04-10", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.overdue);
  xc_wf_finding_flags(&x.f, "2027-04-11", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.overdue);
  CU_ASSERT_EQUAL(fl.days_to_deadline, -1);
  x.r.status = (Xuncha__V1__RectificationStatus)DONE;
  x.t.evidence_entries = 1;
  xc_wf_finding_flags(&x.f, "2027-05-01", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.overdue);
  fx_init(&x, OPEN, NULL, NULL);
  xc_wf_finding_flags(&x.f, "2027-05-01", "2027-05-01", 30, &fl);
  CU_ASSERT_FALSE(fl.overdue);
  CU_ASSERT_FALSE(fl.has_deadline);

  /* Paper-only: done or verified without evidence on any entry. */
  fx_init(&x, DONE, NULL, "2027-01-01");
  x.t.entries = 3;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.paper_only);
  x.r.status = (Xuncha__V1__RectificationStatus)VERIFIED;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.paper_only);
  x.t.evidence_entries = 1;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.paper_only);
  fx_init(&x, PROG, NULL, "2027-01-01");
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.paper_only);

  /* Stalled: more than N days since the newest entry, or since creation. */
  fx_init(&x, PLAN, NULL, "2027-03-01");
  xc_wf_finding_flags(&x.f, "2027-03-31", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.stalled);
  xc_wf_finding_flags(&x.f, "2027-04-01", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.stalled);
  xc_wf_finding_flags(&x.f, "2027-04-01", "2027-01-01", 31, &fl);
  CU_ASSERT_FALSE(fl.stalled);
  fx_init(&x, OPEN, NULL, NULL);
  xc_wf_finding_flags(&x.f, "2027-01-31", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.stalled);
  xc_wf_finding_flags(&x.f, "2027-02-01", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.stalled);
  /* Done is not stalled; verified with work remaining is. */
  fx_init(&x, DONE, NULL, "2026-01-01");
  xc_wf_finding_flags(&x.f, "2027-02-01", "2026-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.stalled);
  x.r.status = (Xuncha__V1__RectificationStatus)VERIFIED;
  xc_wf_finding_flags(&x.f, "2027-02-01", "2026-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.stalled);
  x.t.work_remains = 1;
  xc_wf_finding_flags(&x.f, "2027-02-01", "2026-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.stalled);

  /* Reopened: revoked and not verified again. */
  fx_init(&x, PROG, NULL, "2027-01-01");
  x.t.revocations = 1;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_TRUE(fl.reopened);
  x.r.status = (Xuncha__V1__RectificationStatus)VERIFIED;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.reopened);
  x.t.revocations = 0;
  x.r.status = (Xuncha__V1__RectificationStatus)PROG;
  xc_wf_finding_flags(&x.f, "2027-01-02", "2027-01-01", 30, &fl);
  CU_ASSERT_FALSE(fl.reopened);
}

static void test_lead_machine(void) {
  /* allowed[from] lists the disposals that may follow. */
  static const char *const allowed[10] = {
      "", "23456", "345", "2456", "35", "", "7", "8", "9", "",
  };
  xc_err err;
  for (int from = 0; from <= 9; from++) {
    for (int to = 0; to <= 10; to++) {
      int rc = xc_wf_lead_step(from, to, &err);
      char d = (char)('0' + to);
      int want = to < 2 || to > 9                   ? XC_EINVALID_ARGUMENT
                 : strchr(allowed[from], d) != NULL ? XC_OK
                                                    : XC_EFAILED_PRECONDITION;
      CU_ASSERT_EQUAL(rc, want);
    }
  }
  CU_ASSERT_EQUAL(xc_wf_lead_step(1, 8, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_STRING_EQUAL(err.msg, "the lead is at 待处置 and cannot move to 审理");
  CU_ASSERT_EQUAL(xc_wf_lead_step(5, 3, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ended"));
  for (int d = 0; d <= 9; d++) CU_ASSERT_EQUAL(xc_wf_lead_outcomes_allowed(d), d == 5 || d == 9);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(1), 1);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(5), 1);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(11), 2);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(16), 2);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(21), 3);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(25), 3);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(31), 4);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(0), 0);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(6), 0);
  CU_ASSERT_EQUAL(xc_wf_outcome_kind(26), 0);
}

static void test_dates(void) {
  int64_t d = 0;
  char out[11];
  CU_ASSERT_EQUAL(xc_wf_date_days("1970-01-01", &d), XC_OK);
  CU_ASSERT_EQUAL(d, 0);
  CU_ASSERT_EQUAL(xc_wf_date_days("2000-03-01", &d), XC_OK);
  CU_ASSERT_EQUAL(d, 11017);
  xc_wf_days_date(11017, out);
  CU_ASSERT_STRING_EQUAL(out, "2000-03-01");
  xc_wf_days_date(-1, out);
  CU_ASSERT_STRING_EQUAL(out, "1969-12-31");
  CU_ASSERT_EQUAL(xc_wf_date_days("2027-02-29", &d), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_wf_date_days("", &d), XC_EINVALID_ARGUMENT);
  xc_wf_add_months("2024-04-01", 3, out);
  CU_ASSERT_STRING_EQUAL(out, "2024-07-01");
  xc_wf_add_months("2026-11-30", 3, out);
  CU_ASSERT_STRING_EQUAL(out, "2027-02-28");
  xc_wf_add_months("2027-11-30", 3, out);
  CU_ASSERT_STRING_EQUAL(out, "2028-02-29");
  xc_wf_add_months("2027-10-15", 3, out);
  CU_ASSERT_STRING_EQUAL(out, "2028-01-15");
}

/* The CST date of a time in ms, by gmtime_r and strftime: what
 * xc_clock_date_of_ms computed before it did the arithmetic itself. */
static void ref_date_of_ms(int64_t ms, char out[11]) {
  time_t t = (time_t)(ms / 1000) + 8 * 3600;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
    (void)snprintf(out, 11, "1970-01-01");
}

/* xc_clock_date_of_ms agrees with gmtime_r around every CST midnight of
 * leap and century years, and at seeded random times from 1000 to 9999. */
static void test_date_of_ms(void) {
  static const int64_t edges[] = {0, -1, 1, -28800000, -28800001, 57599999, 57600000,
                                  951753600000, 951840000000, 4107456000000, 1709136000000,
                                  -30610253000000, 253402271999000, 253402272000000};
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  char got[11], want[11];
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    for (int64_t dm = -2000; dm <= 2000; dm += 1000) {
      xc_clock_date_of_ms(edges[i] + dm, got);
      ref_date_of_ms(edges[i] + dm, want);
      CU_ASSERT_STRING_EQUAL(got, want);
    }
  }
  for (int i = 0; i < 200000; i++) {
    int64_t ms;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ms = (int64_t)(x % 283000000000000ULL) - 30000000000000LL;
    xc_clock_date_of_ms(ms, got);
    ref_date_of_ms(ms, want);
    if (strcmp(got, want) != 0) {
      CU_ASSERT_STRING_EQUAL(got, want);
      break;
    }
  }
}

static void test_clock(void) {
  char path[] = "/tmp/xc-clock-XXXXXX";
  char today[11];
  int fd = mkstemp(path);
  FILE *f;
  int64_t real;
  CU_ASSERT_FATAL(fd >= 0);
  close(fd);
  xc_clock_set_file(path);
  /* An empty file: the real clock. */
  real = xc_clock_now_ms();
  CU_ASSERT(real > 1700000000000LL);
  f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("2027-04-11\n", f);
  fclose(f);
  xc_clock_today_cst(today);
  CU_ASSERT_STRING_EQUAL(today, "2027-04-11");
  f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("+86400000", f);
  fclose(f);
  CU_ASSERT(xc_clock_now_ms() - real >= 86400000LL);
  CU_ASSERT(xc_clock_now_ms() - real < 86400000LL + 60000);
  f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("0", f);
  fclose(f);
  CU_ASSERT_EQUAL(xc_clock_now_ms(), 0);
  xc_clock_date_of_ms(0, today);
  CU_ASSERT_STRING_EQUAL(today, "1970-01-01");
  /* Noon CST is still the same day; 16:00 UTC is the next CST day. */
  xc_clock_date_of_ms(16LL * 3600000, today);
  CU_ASSERT_STRING_EQUAL(today, "1970-01-02");
  unlink(path);
  /* A missing file: the real clock again. */
  CU_ASSERT(xc_clock_now_ms() >= real);
  xc_clock_set_file(NULL);
}

static void test_agency_reads_nothing_by_prefix(void) {
  xc_identity jw, city;
  xc_err err;
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:jw", "1", &jw, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("office:3101", "1", &city, &err), XC_OK);
  CU_ASSERT_FALSE(xc_may_read_region(&jw, "3101"));
  CU_ASSERT_FALSE(xc_may_read_region(&jw, "310104"));
  CU_ASSERT_TRUE(xc_may_read_region(&city, "310104"));
  CU_ASSERT_TRUE(xc_may_read_lead(&jw, "office:310104", "agency:3101:jw"));
}

/* Voided records leave lists unless asked for; agencies list no findings;
 * children are listed under their parent only. */
static void test_list_rules(void) {
  xc_identity city, jw;
  xc_list_filter f;
  xc_list_plan plan;
  xc_err err;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  CU_ASSERT_EQUAL(xc_identity_parse("office:3101", "1", &city, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:jw", "1", &jw, &err), XC_OK);
  xc_list_filter_init(&f);
  t.region_code = "310104";
  CU_ASSERT_TRUE(xc_list_match(XC_KIND_TARGET, &city, &f, &t.base));
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &jw, &f, &t.base));
  t.voided = 1;
  CU_ASSERT_TRUE(xc_workflow_voided(&t.base));
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &city, &f, &t.base));
  f.include_void = 1;
  CU_ASSERT_TRUE(xc_list_match(XC_KIND_TARGET, &city, &f, &t.base));
  f.include_void = 0;
  xc_list_plan_make(XC_KIND_FINDING, &jw, &f, &plan);
  CU_ASSERT_TRUE(plan.empty);
  xc_list_plan_make(XC_KIND_TARGET, &jw, &f, &plan);
  CU_ASSERT_TRUE(plan.empty);
  xc_list_plan_make(XC_KIND_DIRECTORY, &jw, &f, &plan);
  CU_ASSERT_FALSE(plan.empty);
  /* Children need their parent's id. */
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_PROGRESS, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding_id is required");
  f.parent_id = "f_01ARZ3NDEKTSV4RRFFQ69G5FAV";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_PROGRESS, &f, 10, &err), XC_OK);
  xc_list_plan_make(XC_KIND_PROGRESS, &city, &f, &plan);
  CU_ASSERT_FALSE(plan.empty);
  CU_ASSERT_EQUAL(plan.index, XC_INDEX_PARENT);
  CU_ASSERT_STRING_EQUAL(plan.key, f.parent_id);
  f.due_within_days = -1;
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_FINDING, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_workflow_kind_of_id("p_01ARZ3NDEKTSV4RRFFQ69G5FAV"), XC_KIND_PROGRESS);
  CU_ASSERT_EQUAL(xc_workflow_kind_of_id("x_01ARZ3NDEKTSV4RRFFQ69G5FAV"), XC_KIND_DISPOSITION);
  CU_ASSERT_EQUAL(xc_workflow_kind_of_id("q_01ARZ3NDEKTSV4RRFFQ69G5FAV"), XC_KIND_COUNT);
}

/* What the write function of test_txn_scan saw. */
typedef struct scan_seen {
  const char *finding_id;
  size_t n;
  int rc;
} scan_seen;

static int count_visit(void *c, ProtobufCMessage *rec) {
  scan_seen *s = c;
  s->n++;
  xc_msg_free(rec);
  return 0;
}

/* Creates a progress entry and, in the same write, scans the finding's
 * children: the scan sees the write's own entry (xc_txn_scan). */
static int scan_fn(xc_txn *txn, void *c, xc_err *err) {
  scan_seen *s = c;
  Xuncha__V1__ProgressEntry *e = malloc(sizeof *e);
  int rc;
  if (e == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__progress_entry__init(e);
  if (xc_msg_set_str(&e->base, "finding_id", s->finding_id) != XC_OK ||
      xc_msg_set_str(&e->base, "region_code", "310104") != XC_OK) {
    xc_msg_free(e);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  e->step = XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN;
  rc =
      xc_txn_create(txn, XC_KIND_PROGRESS, &e->base, "office:310104", "office:310104#1", NULL, err);
  xc_msg_free(e);
  s->n = 0;
  if (rc == XC_OK)
    rc = xc_txn_scan(txn, XC_KIND_PROGRESS, XC_INDEX_PARENT, s->finding_id, NULL, count_visit, s,
                     err);
  return rc;
}

static void test_txn_scan(void) {
  char dir[] = "/tmp/xc-wf-store-XXXXXX";
  char cmd[128];
  xc_store_options o;
  xc_store *store = NULL;
  xc_snapshot *snap = NULL;
  scan_seen s = {"f_01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, 0};
  scan_seen after = {"f_01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, 0};
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  memset(&o, 0, sizeof o);
  o.dir = dir;
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&o, &store, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_store_write(store, scan_fn, &s, &err), XC_OK);
  CU_ASSERT_EQUAL(s.n, 1);
  CU_ASSERT_EQUAL(xc_store_write(store, scan_fn, &s, &err), XC_OK);
  CU_ASSERT_EQUAL(s.n, 2);
  CU_ASSERT_EQUAL(xc_snapshot_begin(store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_scan(snap, XC_KIND_PROGRESS, XC_INDEX_PARENT, after.finding_id, NULL,
                                   count_visit, &after, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(after.n, 2);
  /* The other kinds have no parent index. */
  CU_ASSERT_EQUAL(
      xc_snapshot_scan(snap, XC_KIND_TARGET, XC_INDEX_PARENT, "x", NULL, count_visit, &after, &err),
      XC_EINVALID_ARGUMENT);
  xc_snapshot_end(snap);
  xc_store_close(store);
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("workflow", NULL, NULL);
  CU_add_test(s, "round stages: every transition", test_round_machine);
  CU_add_test(s, "rectification progress: every transition", test_rect_progress_matrix);
  CU_add_test(s, "verification and revocation: every status", test_rect_verify_matrix);
  CU_add_test(s, "flags at their boundaries", test_flags_boundaries);
  CU_add_test(s, "CST dates of times", test_date_of_ms);
  CU_add_test(s, "lead disposal: every transition", test_lead_machine);
  CU_add_test(s, "dates", test_dates);
  CU_add_test(s, "test clock", test_clock);
  CU_add_test(s, "agencies read nothing by prefix", test_agency_reads_nothing_by_prefix);
  CU_add_test(s, "list rules: void, agencies, children", test_list_rules);
  CU_add_test(s, "a write scans its own children", test_txn_scan);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
