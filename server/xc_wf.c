#include "xc_wf.h"

#include <stdio.h>
#include <string.h>

#include "xc_text.h"

/* ------------------------------------------------------------------ dates */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t xc__days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of xc__days_from_civil. */
static void xc__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  int64_t era;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Parses the three parts of a valid date. */
static void xc__ymd(const char *date, long long *y, long long *m, long long *d) {
  char part[5];
  memcpy(part, date, 4);
  part[4] = '\0';
  if (xc_parse_int64(part, 1, 9999, y) != 0) *y = 1970;
  memcpy(part, date + 5, 2);
  part[2] = '\0';
  if (xc_parse_int64(part, 1, 12, m) != 0) *m = 1;
  memcpy(part, date + 8, 2);
  if (xc_parse_int64(part, 1, 31, d) != 0) *d = 1;
}

int xc_wf_date_days(const char *date, int64_t *days) {
  long long y, m, d;
  if (date == NULL || !xc_date_valid(date)) return XC_EINVALID_ARGUMENT;
  /* A valid date is ten digits and dashes: read them directly (lists call
   * this several times per record). */
  y = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0');
  m = (date[5] - '0') * 10 + (date[6] - '0');
  d = (date[8] - '0') * 10 + (date[9] - '0');
  *days = xc__days_from_civil(y, (unsigned)m, (unsigned)d);
  return XC_OK;
}

void xc_wf_days_date(int64_t days, char out[11]) {
  char tmp[48];
  int64_t y;
  unsigned m, d;
  xc__civil_from_days(days, &y, &m, &d);
  (void)snprintf(tmp, sizeof tmp, "%04d-%02u-%02u", (int)(y % 10000), m % 100, d % 100);
  xc_strlcpy(out, tmp, 11);
}

void xc_wf_add_months(const char *date, int months, char out[11]) {
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  long long y, m, d;
  long long total;
  unsigned last;
  xc__ymd(date, &y, &m, &d);
  total = y * 12 + (m - 1) + months;
  y = total / 12;
  m = total % 12 + 1;
  last = mdays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) last = 29;
  if (d > (long long)last) d = last;
  {
    char tmp[80];
    (void)snprintf(tmp, sizeof tmp, "%04lld-%02lld-%02lld", y % 10000, m, d);
    xc_strlcpy(out, tmp, 11);
  }
}

/* ------------------------------------------------------------------ names */

const char *xc_wf_stage_zh(int stage) {
  static const char *const zh[] = {"未定", "准备", "进驻了解", "报告",
                                   "反馈", "移交", "整改",     "立卷归档"};
  return stage >= 0 && stage < (int)(sizeof zh / sizeof zh[0]) ? zh[stage] : "?";
}

const char *xc_wf_status_zh(int status) {
  static const char *const zh[] = {"未定",   "未整改", "已报整改方案",
                                   "整改中", "已完成", "已验收销号"};
  return status >= 0 && status < (int)(sizeof zh / sizeof zh[0]) ? zh[status] : "?";
}

const char *xc_wf_disposal_zh(int disposal) {
  static const char *const zh[] = {"未定",     "待处置", "谈话函询", "初步核实", "暂存待查",
                                   "予以了结", "立案",   "审查调查", "审理",     "作出处理决定"};
  return disposal >= 0 && disposal < (int)(sizeof zh / sizeof zh[0]) ? zh[disposal] : "?";
}

/* ----------------------------------------------------------- round stages */

int xc_wf_round_step(int from, int to, xc_err *err) {
  const int archived = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED;
  if (to < XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION || to > archived)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "to %d is not a round stage", to);
  if (from == archived)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "the round is archived (立卷归档), its last stage; it cannot move to %s (%s)",
                      xc_wf_stage_zh(to), to == from ? "already there" : "no stage follows");
  if (to != from + 1)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "the round is at stage %s (%d) and cannot move to %s (%d): stages advance "
                      "one at a time, in order, to %s (%d) next",
                      xc_wf_stage_zh(from), from, xc_wf_stage_zh(to), to, xc_wf_stage_zh(from + 1),
                      from + 1);
  return XC_OK;
}

/* ---------------------------------------------------------- rectification */

void xc_wf_rect_init(xc_wf_rect *r) {
  memset(r, 0, sizeof *r);
  r->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
}

void xc_wf_rect_from_finding(const Xuncha__V1__Finding *f, xc_wf_rect *r) {
  const Xuncha__V1__RectificationTrack *t = f->track;
  xc_wf_rect_init(r);
  if (f->rectification != NULL && f->rectification->status != 0)
    r->status = (int)f->rectification->status;
  if (t == NULL) return;
  r->entries = t->entries;
  r->evidence_entries = t->evidence_entries;
  r->revocations = t->revocations;
  r->work_remains = t->work_remains;
  xc_strlcpy(r->last_entry_date, t->last_entry_date ? t->last_entry_date : "",
             sizeof r->last_entry_date);
  xc_strlcpy(r->done_date, t->done_date ? t->done_date : "", sizeof r->done_date);
  xc_strlcpy(r->verified_date, t->verified_date ? t->verified_date : "", sizeof r->verified_date);
}

/* Keeps the newest entry date. */
static void xc__note_date(xc_wf_rect *r, const char *date) {
  if (strcmp(date, r->last_entry_date) > 0) xc_strlcpy(r->last_entry_date, date, 11);
}

int xc_wf_rect_progress(xc_wf_rect *r, int mode, int step, const char *date, size_t n_evidence,
                        xc_err *err) {
  enum { OPEN = 1, PLAN = 2, PROG = 3, DONE = 4, VERIFIED = 5 };
  int immediate = mode == XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE;
  int to;
  switch (step) {
    case XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN:
      if (r->status != OPEN && r->status != PLAN)
        return xc_err_set(
            err, XC_EFAILED_PRECONDITION,
            "the rectification is %s; a plan (整改方案) is submitted only while it is "
            "未整改 or 已报整改方案",
            xc_wf_status_zh(r->status));
      to = PLAN;
      break;
    case XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS:
      if (r->status == OPEN && !immediate)
        return xc_err_set(err, XC_EFAILED_PRECONDITION,
                          "the rectification is 未整改 and cannot move to 整改中: submit the plan "
                          "(step plan) first, unless the mode is 立行立改");
      to = r->status == VERIFIED ? VERIFIED : PROG;
      break;
    case XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_DONE:
      if (r->status != PROG && !(r->status == OPEN && immediate))
        return xc_err_set(err, XC_EFAILED_PRECONDITION,
                          "the rectification is %s and cannot move to 已完成: only a rectification "
                          "整改中 is marked done",
                          xc_wf_status_zh(r->status));
      to = DONE;
      break;
    default:
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "entry.step is required: plan, progress or done");
  }
  if (step == XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS && r->status == VERIFIED)
    r->work_remains = 1;
  if (to == DONE) xc_strlcpy(r->done_date, date, sizeof r->done_date);
  r->status = to;
  r->entries++;
  if (n_evidence > 0) r->evidence_entries++;
  xc__note_date(r, date);
  return XC_OK;
}

int xc_wf_rect_verify(xc_wf_rect *r, int action, const char *date, xc_err *err) {
  enum { PROG = 3, DONE = 4, VERIFIED = 5 };
  if (action == XUNCHA__V1__VERIFICATION_ACTION__VERIFICATION_ACTION_VERIFY) {
    if (r->status != DONE)
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "the rectification is %s and cannot be verified (销号): only a "
                        "rectification 已完成 is verified",
                        xc_wf_status_zh(r->status));
    r->status = VERIFIED;
    xc_strlcpy(r->verified_date, date, sizeof r->verified_date);
    return XC_OK;
  }
  if (action == XUNCHA__V1__VERIFICATION_ACTION__VERIFICATION_ACTION_REVOKE) {
    if (r->status != VERIFIED)
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "the rectification is %s; only a verification in force (已验收销号) can "
                        "be revoked",
                        xc_wf_status_zh(r->status));
    r->status = PROG;
    r->revocations++;
    r->work_remains = 0;
    r->verified_date[0] = '\0';
    return XC_OK;
  }
  return xc_err_set(err, XC_EINVALID_ARGUMENT, "verification action %d is not verify or revoke",
                    action);
}

int xc_wf_rect_completed(int status) {
  return status == XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_DONE ||
         status == XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
}

void xc_wf_finding_flags(const Xuncha__V1__Finding *f, const char *today, const char *created_date,
                         int stalled_days, xc_wf_flags *out) {
  xc_wf_rect r;
  int64_t now = 0, deadline = 0, last = 0;
  const char *dl = f->rectification != NULL ? f->rectification->deadline : NULL;
  int open;
  memset(out, 0, sizeof *out);
  xc_wf_rect_from_finding(f, &r);
  if (xc_wf_date_days(today, &now) != XC_OK) return;
  open = !xc_wf_rect_completed(r.status);
  if (dl != NULL && xc_wf_date_days(dl, &deadline) == XC_OK) {
    out->has_deadline = 1;
    out->days_to_deadline = deadline - now;
    out->overdue = open && now > deadline;
  }
  out->paper_only = !open && r.evidence_entries == 0;
  if (open) {
    const char *since = r.last_entry_date[0] != '\0' ? r.last_entry_date : created_date;
    if (since != NULL && xc_wf_date_days(since, &last) == XC_OK)
      out->stalled = now - last > (int64_t)stalled_days;
  } else {
    out->stalled = r.status == XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED &&
                   r.work_remains;
  }
  out->reopened = r.revocations > 0 &&
                  r.status != XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
}

/* ------------------------------------------------------------------- leads */

int xc_wf_lead_step(int from, int to, xc_err *err) {
  /* allowed[from] is a bit set of the disposals that may follow. */
#define B(x) (1u << (x))
  static const unsigned allowed[10] = {
      0,                                /* unspecified */
      B(2) | B(3) | B(4) | B(5) | B(6), /* 待处置 */
      B(3) | B(4) | B(5),               /* 谈话函询 */
      B(2) | B(4) | B(5) | B(6),        /* 初步核实 */
      B(3) | B(5),                      /* 暂存待查: reopens into 初步核实 */
      0,                                /* 予以了结 */
      B(7),                             /* 立案 */
      B(8),                             /* 审查调查 */
      B(9),                             /* 审理 */
      0,                                /* 作出处理决定 */
  };
#undef B
  if (to < 2 || to > 9)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "disposition.disposal %d is not a disposal an agency records (谈话函询, "
                      "初步核实, 暂存待查, 予以了结, 立案, 审查调查, 审理, 作出处理决定)",
                      to);
  if (from < 0 || from > 9 || !(allowed[from] & (1u << to)))
    return xc_err_set(err, XC_EFAILED_PRECONDITION, "the lead is at %s and cannot move to %s%s",
                      xc_wf_disposal_zh(from), xc_wf_disposal_zh(to),
                      from == 5 || from == 9 ? ": its handling has ended" : "");
  return XC_OK;
}

int xc_wf_lead_outcomes_allowed(int disposal) {
  return disposal == XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CLOSED ||
         disposal == XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_DECIDED;
}

int xc_wf_outcome_kind(int measure) {
  if (measure >= 1 && measure <= 5) return 1;
  if (measure >= 11 && measure <= 16) return 2;
  if (measure >= 21 && measure <= 25) return 3;
  if (measure == 31) return 4;
  return 0;
}
