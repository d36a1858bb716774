/*
 * xuncha.v1.Terms and xuncha.v1.Reports: thin handlers over xc_report.h.
 * "Today" comes from the server clock (xc_clock.h) and the stalled
 * threshold from the workflow settings, so reports flag exactly what the
 * findings' own flags say on the same day.
 */
#include <stdlib.h>

#include "handlers.h"
#include "xc_clock.h"
#include "xc_import.h"
#include "xc_msg.h"
#include "xc_audit.h"
#include "xc_report.h"
#include "xc_workflow.h"

/* Refuses calls without a xuncha identity. */
static int xc__need_identity(const xc_ctx *ctx, xc_err *err) {
  if (!ctx->has_identity)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the certificate's CN is not a xuncha identity (office:<code>, ...)");
  return XC_OK;
}

XC__HANDLER(xc__create_term) {
  const Xuncha__V1__CreateTermRequest *r = (const Xuncha__V1__CreateTermRequest *)req;
  Xuncha__V1__Term *t = NULL;
  int rc;
  *resp = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) {
    /* The term and its audit entry commit together (xc_audit.h). */
    xc_audit_entry who;
    xc_audit_who(ctx, &who);
    rc = xc_report_create_term(ctx->store, &ctx->id, r->term, r->request_id, &who, &t, err);
    if (rc == XC_OK) ctx->audit_done = 1;
  }
  if (rc == XC_OK) *resp = &t->base;
  return rc;
}

XC__HANDLER(xc__list_terms) {
  const Xuncha__V1__ListTermsRequest *r = (const Xuncha__V1__ListTermsRequest *)req;
  Xuncha__V1__ListTermsResponse *l = NULL;
  int rc;
  *resp = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc_report_list_terms(ctx->store, &ctx->id, r->region_prefix, &l, err);
  if (rc == XC_OK) *resp = &l->base;
  return rc;
}

XC__HANDLER(xc__get_summary) {
  const Xuncha__V1__SummaryRequest *r = (const Xuncha__V1__SummaryRequest *)req;
  Xuncha__V1__Summary *s = NULL;
  char today[11];
  int rc;
  *resp = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) return rc;
  if (r->scope == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "scope is required (scope.term at least)");
  xc_clock_today_cst(today);
  rc = xc_report_summary(ctx->store, &ctx->id, r->scope, today, xc_workflow_stalled_days(), &s,
                         err);
  if (rc == XC_OK) *resp = &s->base;
  return rc;
}

XC__HANDLER(xc__get_coverage) {
  const Xuncha__V1__CoverageRequest *r = (const Xuncha__V1__CoverageRequest *)req;
  Xuncha__V1__Coverage *c = NULL;
  char today[11];
  int rc;
  *resp = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) return rc;
  if (r->scope == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "scope is required (scope.term at least)");
  xc_clock_today_cst(today);
  rc = xc_report_coverage(ctx->store, &ctx->id, r->scope, today, &c, err);
  if (rc == XC_OK) *resp = &c->base;
  return rc;
}

XC__HANDLER(xc__import_records) {
  Xuncha__V1__ImportResponse *r = NULL;
  int rc = xc_import_records(ctx, (const Xuncha__V1__ImportRequest *)req, &r, err);
  *resp = rc == XC_OK ? &r->base : NULL;
  return rc;
}
