/* xuncha.v1.Targets: typed glue over xc_service. */
#include "handlers.h"

XC__HANDLER(xc__create_target) {
  const Xuncha__V1__CreateTargetRequest *r = (const Xuncha__V1__CreateTargetRequest *)req;
  return xc_service_create(ctx, XC_KIND_TARGET, (const ProtobufCMessage *)r->target, r->request_id,
                           resp, err);
}

XC__HANDLER(xc__get_target) {
  const Xuncha__V1__GetTargetRequest *r = (const Xuncha__V1__GetTargetRequest *)req;
  return xc_service_get_reply(ctx, XC_KIND_TARGET, r->id, resp, err);
}

XC__HANDLER(xc__update_target) {
  const Xuncha__V1__UpdateTargetRequest *r = (const Xuncha__V1__UpdateTargetRequest *)req;
  return xc_service_update(ctx, XC_KIND_TARGET, (const ProtobufCMessage *)r->target, r->update_mask,
                           r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_targets) {
  const Xuncha__V1__ListTargetsRequest *r = (const Xuncha__V1__ListTargetsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.kind = (int32_t)r->kind;
  f.contains = r->name_contains;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_TARGET, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_targets_response__descriptor, &page, resp, err);
}
