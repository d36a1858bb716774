/* xuncha.v1.Findings: typed glue over xc_service. */
#include "handlers.h"

XC__HANDLER(xc__create_finding) {
  const Xuncha__V1__CreateFindingRequest *r = (const Xuncha__V1__CreateFindingRequest *)req;
  return xc_service_create(ctx, XC_KIND_FINDING, (const ProtobufCMessage *)r->finding,
                           r->request_id, resp, err);
}

XC__HANDLER(xc__get_finding) {
  const Xuncha__V1__GetFindingRequest *r = (const Xuncha__V1__GetFindingRequest *)req;
  return xc_service_get_reply(ctx, XC_KIND_FINDING, r->id, resp, err);
}

XC__HANDLER(xc__update_finding) {
  const Xuncha__V1__UpdateFindingRequest *r = (const Xuncha__V1__UpdateFindingRequest *)req;
  return xc_service_update(ctx, XC_KIND_FINDING, (const ProtobufCMessage *)r->finding,
                           r->update_mask, r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_findings) {
  const Xuncha__V1__ListFindingsRequest *r = (const Xuncha__V1__ListFindingsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.round_id = r->round_id;
  f.target_id = r->target_id;
  f.status = (int32_t)r->status;
  f.area = (int32_t)r->area;
  f.include_void = r->include_void;
  f.overdue = r->overdue;
  f.paper_only = r->paper_only;
  f.stalled = r->stalled;
  f.reopened = r->reopened;
  f.due_within_days = r->due_within_days;
  rc = xc_service_list(ctx, XC_KIND_FINDING, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_findings_response__descriptor, &page, resp, err);
}
