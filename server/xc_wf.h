/*
 * xc_wf.h: the workflow rules of xuncha as pure functions: dates, the round
 * stage machine, the rectification state machine with its anti-pattern
 * flags, and the lead disposal machine. No store, no gRPC: the server's
 * workflow operations (xc_workflow.h) and the unit tests call these.
 *
 * Enum values are those of xuncha.v1 (RoundStage, RectificationStatus,
 * ProgressStep, VerificationAction, LeadDisposal, OutcomeMeasure). Refused
 * steps return XC_EFAILED_PRECONDITION with a message naming the current
 * and the requested state. Nothing here allocates.
 */
#ifndef XC_WF_H
#define XC_WF_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"
#include "xuncha/v1/xuncha.pb-c.h"

/* The stalled threshold when the server is given none, in days. */
#define XC_WF_DEFAULT_STALLED_DAYS 30
/* Months an agency has to report back on a lead. */
#define XC_WF_REPORT_MONTHS 3

/* ------------------------------------------------------------------ dates */

/* Converts "YYYY-MM-DD" to days since 1970-01-01. Returns XC_OK or
 * XC_EINVALID_ARGUMENT for anything but a real calendar date. */
int xc_wf_date_days(const char *date, int64_t *days) XC_WARN_UNUSED_RESULT;

/* Writes the date `days` after 1970-01-01 into out. */
void xc_wf_days_date(int64_t days, char out[11]);

/* Writes date plus `months` calendar months into out (the day is clamped to
 * the month's last day: 2026-11-30 + 3 months = 2027-02-28). date must be
 * valid. */
void xc_wf_add_months(const char *date, int months, char out[11]);

/* -------------------------------------------------------------- round stages */

/* Checks a round stage step: `to` must be the stage right after `from`. */
int xc_wf_round_step(int from, int to, xc_err *err) XC_WARN_UNUSED_RESULT;

/* The Chinese name of a round stage, rectification status or disposal, for
 * messages; "?" when unknown. */
const char *xc_wf_stage_zh(int stage);
const char *xc_wf_status_zh(int status);
const char *xc_wf_disposal_zh(int disposal);

/* ------------------------------------------------------------ rectification */

/* The derived rectification state of one finding. */
typedef struct xc_wf_rect {
  int status; /* RectificationStatus */
  int entries, evidence_entries, revocations;
  int work_remains; /* a progress entry after 销号 says work remains */
  char last_entry_date[11], done_date[11], verified_date[11];
} xc_wf_rect;

/* The state of a finding with no progress yet (OPEN). */
void xc_wf_rect_init(xc_wf_rect *r);

/* Loads the state stored on a finding (rectification.status and track). */
void xc_wf_rect_from_finding(const Xuncha__V1__Finding *f, xc_wf_rect *r);

/*
 * Applies a progress entry of `step` dated `date` with n_evidence evidence
 * references to r, for a finding whose rectification mode is `mode`:
 *   PLAN      open or plan submitted → plan submitted
 *   PROGRESS  plan submitted, in progress or done → in progress (also from
 *             open when the mode is immediate 立行立改); after 销号 the status
 *             stays verified and work_remains is set (半截式)
 *   DONE      in progress → done (also from open when immediate)
 * Returns XC_OK, or XC_EFAILED_PRECONDITION leaving r unchanged.
 */
int xc_wf_rect_progress(xc_wf_rect *r, int mode, int step, const char *date, size_t n_evidence,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Applies a verification: VERIFY done → verified; REVOKE verified → in
 * progress (revocations + 1, work_remains cleared). Returns XC_OK or
 * XC_EFAILED_PRECONDITION leaving r unchanged.
 */
int xc_wf_rect_verify(xc_wf_rect *r, int action, const char *date,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns 1 if the status counts as completed (done or verified). */
int xc_wf_rect_completed(int status);

/* The flags of a finding, computed from its stored state. */
typedef struct xc_wf_flags {
  int overdue, paper_only, stalled, reopened;
  int has_deadline;
  int64_t days_to_deadline; /* deadline - today */
} xc_wf_flags;

/*
 * Computes the flags of finding f on `today` (YYYY-MM-DD):
 *   overdue     a deadline, not done or verified, and today > deadline;
 *   paper_only  done or verified, and no progress entry has evidence;
 *   stalled     open, plan submitted or in progress and more than
 *               stalled_days days since the newest entry (or since the day
 *               the finding was created, created_date, when it has none);
 *               or verified while a later entry says work remains;
 *   reopened    a verification was revoked and it is not verified again.
 */
void xc_wf_finding_flags(const Xuncha__V1__Finding *f, const char *today, const char *created_date,
                         int stalled_days, xc_wf_flags *out);

/* ------------------------------------------------------------------- leads */

/*
 * Checks a disposal step of a lead: from 待处置 to any of 谈话函询, 初步核实,
 * 暂存待查, 予以了结, 立案; 谈话函询 → 初步核实, 暂存待查, 予以了结; 初步核实 →
 * 谈话函询, 暂存待查, 予以了结, 立案; 暂存待查 → 初步核实 (reopened), 予以了结;
 * 立案 → 审查调查 → 审理 → 作出处理决定. 予以了结 and 作出处理决定 end it.
 */
int xc_wf_lead_step(int from, int to, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns 1 if outcomes may be recorded with a disposition to `disposal`
 * (予以了结 or 作出处理决定). */
int xc_wf_lead_outcomes_allowed(int disposal);

/* The kind of an outcome measure: 1 party sanction, 2 government sanction,
 * 3 organizational handling, 4 judicial transfer, 0 unknown. */
int xc_wf_outcome_kind(int measure);

#endif /* XC_WF_H */
