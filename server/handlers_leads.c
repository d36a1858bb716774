/* xuncha.v1.Leads: typed glue over xc_service. Who may see a lead is decided
 * in xc_validate_may_read and xc_list_plan_make, not here. */
#include "handlers.h"

XC__HANDLER(xc__create_lead) {
  const Xuncha__V1__CreateLeadRequest *r = (const Xuncha__V1__CreateLeadRequest *)req;
  return xc_service_create(ctx, XC_KIND_LEAD, (const ProtobufCMessage *)r->lead, r->request_id,
                           resp, err);
}

XC__HANDLER(xc__get_lead) {
  const Xuncha__V1__GetLeadRequest *r = (const Xuncha__V1__GetLeadRequest *)req;
  return xc_service_get_reply(ctx, XC_KIND_LEAD, r->id, resp, err);
}

XC__HANDLER(xc__update_lead) {
  const Xuncha__V1__UpdateLeadRequest *r = (const Xuncha__V1__UpdateLeadRequest *)req;
  return xc_service_update(ctx, XC_KIND_LEAD, (const ProtobufCMessage *)r->lead, r->update_mask,
                           r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_leads) {
  const Xuncha__V1__ListLeadsRequest *r = (const Xuncha__V1__ListLeadsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.round_id = r->round_id;
  f.target_id = r->target_id;
  f.status = (int32_t)r->disposal;
  f.recipient = r->recipient;
  f.include_void = r->include_void;
  f.report_overdue = r->report_overdue;
  rc = xc_service_list(ctx, XC_KIND_LEAD, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_leads_response__descriptor, &page, resp, err);
}
