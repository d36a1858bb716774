/*
 * xc_report.h: the speech's figures (xuncha.v1.Reports), computed from the
 * store's maintained counters, its date indexes and the round and target
 * records of one scope (server/REPORTS.md says what each figure means).
 *
 * No gRPC here: handlers_reports.c and the unit tests call these with a
 * store, a caller and a "today" of their choosing. Every message returned
 * has unpacked ownership (xc_msg_free).
 */
#ifndef XC_REPORT_H
#define XC_REPORT_H

#include "xc_identity.h"
#include "xc_status.h"
#include "xc_store.h"
#include "xc_store_audit.h"
#include "xuncha/v1/reports.pb-c.h"

/* The seven implementation failures (七种落实不力), always listed by tag. */
extern const char *const xc_report_seven[7];

/*
 * Computes the summary of scope for caller `who` (an office, auditor or
 * admin; agencies get XC_EPERMISSION_DENIED) on day `today` (YYYY-MM-DD)
 * with the stalled threshold stalled_days. scope->region_prefix "" means the
 * caller's own code; it must be a level code within the caller's region
 * (XC_EPERMISSION_DENIED otherwise). Lead figures count only leads the
 * caller may see (rounds owned by its office or offices below it); for
 * auditors and admins they are 0. Returns XC_OK and *out, or an error.
 */
int xc_report_summary(xc_store *store, const xc_identity *who,
                      const Xuncha__V1__ReportScope *scope, const char *today, int stalled_days,
                      Xuncha__V1__Summary **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Like xc_report_summary, only the coverage of the scope's term. */
int xc_report_coverage(xc_store *store, const xc_identity *who,
                       const Xuncha__V1__ReportScope *scope, const char *today,
                       Xuncha__V1__Coverage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Checks and creates a Term for the caller's office (number >= 1, unique
 * among the office's terms not voided; start_date required; end_date empty
 * or not before it). The term and `audit` (the call's audit entry; NULL for
 * none) commit in one transaction. Returns XC_OK and *out, or an error
 * naming the field.
 */
int xc_report_create_term(xc_store *store, const xc_identity *who, const Xuncha__V1__Term *sent,
                          const char *request_id, const xc_audit_entry *audit,
                          Xuncha__V1__Term **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Lists the terms (not voided) under region_prefix ("" = the caller's own
 * region) that the caller may read, in creation order. */
int xc_report_list_terms(xc_store *store, const xc_identity *who, const char *region_prefix,
                         Xuncha__V1__ListTermsResponse **out, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_REPORT_H */
