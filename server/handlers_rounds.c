/* xuncha.v1.Rounds (rounds and their groups): typed glue over xc_service. */
#include "handlers.h"

XC__HANDLER(xc__create_round) {
  const Xuncha__V1__CreateRoundRequest *r = (const Xuncha__V1__CreateRoundRequest *)req;
  return xc_service_create(ctx, XC_KIND_ROUND, (const ProtobufCMessage *)r->round, r->request_id,
                           resp, err);
}

XC__HANDLER(xc__get_round) {
  const Xuncha__V1__GetRoundRequest *r = (const Xuncha__V1__GetRoundRequest *)req;
  return xc_service_get_reply(ctx, XC_KIND_ROUND, r->id, resp, err);
}

XC__HANDLER(xc__update_round) {
  const Xuncha__V1__UpdateRoundRequest *r = (const Xuncha__V1__UpdateRoundRequest *)req;
  return xc_service_update(ctx, XC_KIND_ROUND, (const ProtobufCMessage *)r->round, r->update_mask,
                           r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_rounds) {
  const Xuncha__V1__ListRoundsRequest *r = (const Xuncha__V1__ListRoundsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.term = r->term;
  f.kind = (int32_t)r->kind;
  f.status = (int32_t)r->stage;
  f.target_id = r->target_id;
  f.contains = r->title_contains;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_ROUND, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_rounds_response__descriptor, &page, resp, err);
}

XC__HANDLER(xc__create_group) {
  const Xuncha__V1__CreateGroupRequest *r = (const Xuncha__V1__CreateGroupRequest *)req;
  return xc_service_create(ctx, XC_KIND_GROUP, (const ProtobufCMessage *)r->group, r->request_id,
                           resp, err);
}

XC__HANDLER(xc__get_group) {
  const Xuncha__V1__GetGroupRequest *r = (const Xuncha__V1__GetGroupRequest *)req;
  return xc_service_get_reply(ctx, XC_KIND_GROUP, r->id, resp, err);
}

XC__HANDLER(xc__update_group) {
  const Xuncha__V1__UpdateGroupRequest *r = (const Xuncha__V1__UpdateGroupRequest *)req;
  return xc_service_update(ctx, XC_KIND_GROUP, (const ProtobufCMessage *)r->group, r->update_mask,
                           r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_groups) {
  const Xuncha__V1__ListGroupsRequest *r = (const Xuncha__V1__ListGroupsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.round_id = r->round_id;
  f.target_id = r->target_id;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_GROUP, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_groups_response__descriptor, &page, resp, err);
}
