/*
 * The workflow methods (server/WORKFLOWS.md): xuncha.v1.Directory, the
 * stage, rectification and disposition methods of Rounds, Findings and
 * Leads, and xuncha.v1.Records/VoidRecord. Typed glue over xc_service and
 * xc_workflow.
 */
#include "handlers.h"
#include "xc_msg.h"
#include "xc_workflow.h"

/* ------------------------------------------------------------ directory */

XC__HANDLER(xc__create_directory_entry) {
  const Xuncha__V1__CreateDirectoryEntryRequest *r =
      (const Xuncha__V1__CreateDirectoryEntryRequest *)req;
  return xc_service_create(ctx, XC_KIND_DIRECTORY, (const ProtobufCMessage *)r->entry,
                           r->request_id, resp, err);
}

XC__HANDLER(xc__get_directory_entry) {
  const Xuncha__V1__GetDirectoryEntryRequest *r = (const Xuncha__V1__GetDirectoryEntryRequest *)req;
  return xc_service_get(ctx, XC_KIND_DIRECTORY, r->id, resp, err);
}

XC__HANDLER(xc__update_directory_entry) {
  const Xuncha__V1__UpdateDirectoryEntryRequest *r =
      (const Xuncha__V1__UpdateDirectoryEntryRequest *)req;
  return xc_service_update(ctx, XC_KIND_DIRECTORY, (const ProtobufCMessage *)r->entry,
                           r->update_mask, r->n_update_mask, resp, err);
}

XC__HANDLER(xc__list_directory_entries) {
  const Xuncha__V1__ListDirectoryEntriesRequest *r =
      (const Xuncha__V1__ListDirectoryEntriesRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.kind = (int32_t)r->kind;
  f.contains = r->name_contains;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_DIRECTORY, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_directory_entries_response__descriptor, &page, resp,
                           err);
}

/* --------------------------------------------------------------- rounds */

XC__HANDLER(xc__advance_round) {
  return xc_workflow_advance_round(ctx, (const Xuncha__V1__AdvanceRoundRequest *)req, resp, err);
}

/* ------------------------------------------------------------- findings */

XC__HANDLER(xc__append_progress) {
  return xc_workflow_append_progress(ctx, (const Xuncha__V1__AppendProgressRequest *)req, resp,
                                     err);
}

XC__HANDLER(xc__verify_rectification) {
  const Xuncha__V1__VerifyRectificationRequest *r =
      (const Xuncha__V1__VerifyRectificationRequest *)req;
  return xc_workflow_verify(ctx, XUNCHA__V1__VERIFICATION_ACTION__VERIFICATION_ACTION_VERIFY,
                            r->finding_id, r->finding_etag, r->date, r->note, resp, err);
}

XC__HANDLER(xc__revoke_verification) {
  const Xuncha__V1__RevokeVerificationRequest *r =
      (const Xuncha__V1__RevokeVerificationRequest *)req;
  return xc_workflow_verify(ctx, XUNCHA__V1__VERIFICATION_ACTION__VERIFICATION_ACTION_REVOKE,
                            r->finding_id, r->finding_etag, r->date, r->reason, resp, err);
}

/* Lists the children of one parent record (progress entries, verifications,
 * dispositions): the caller must be able to read the parent. */
static int xc__list_children(xc_ctx *ctx, xc_kind kind, const char *parent_id, int include_void,
                             int32_t page_size, const char *token,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                             xc_err *err) {
  ProtobufCMessage *parent = NULL;
  xc_list_filter f;
  xc_page page;
  xc_kind pk = kind == XC_KIND_DISPOSITION ? XC_KIND_LEAD : XC_KIND_FINDING;
  int rc = xc_service_get(ctx, pk, parent_id, &parent, err);
  xc_msg_free(parent);
  if (rc != XC_OK) return rc;
  xc_list_filter_init(&f);
  f.parent_id = parent_id;
  f.include_void = include_void;
  rc = xc_service_list(ctx, kind, &f, page_size, token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(resp_desc, &page, resp, err);
}

XC__HANDLER(xc__list_progress) {
  const Xuncha__V1__ListProgressRequest *r = (const Xuncha__V1__ListProgressRequest *)req;
  return xc__list_children(ctx, XC_KIND_PROGRESS, r->finding_id, r->include_void, r->page_size,
                           r->page_token, &xuncha__v1__list_progress_response__descriptor, resp,
                           err);
}

XC__HANDLER(xc__list_verifications) {
  const Xuncha__V1__ListVerificationsRequest *r = (const Xuncha__V1__ListVerificationsRequest *)req;
  return xc__list_children(ctx, XC_KIND_VERIFICATION, r->finding_id, r->include_void, r->page_size,
                           r->page_token, &xuncha__v1__list_verifications_response__descriptor,
                           resp, err);
}

XC__HANDLER(xc__rectification_stats) {
  return xc_workflow_stats(ctx, (const Xuncha__V1__RectificationStatsRequest *)req, resp, err);
}

/* ---------------------------------------------------------------- leads */

XC__HANDLER(xc__record_disposition) {
  return xc_workflow_record_disposition(ctx, (const Xuncha__V1__RecordDispositionRequest *)req,
                                        resp, err);
}

XC__HANDLER(xc__list_dispositions) {
  const Xuncha__V1__ListDispositionsRequest *r = (const Xuncha__V1__ListDispositionsRequest *)req;
  return xc__list_children(ctx, XC_KIND_DISPOSITION, r->lead_id, r->include_void, r->page_size,
                           r->page_token, &xuncha__v1__list_dispositions_response__descriptor, resp,
                           err);
}

/* -------------------------------------------------------------- records */

XC__HANDLER(xc__void_record) {
  return xc_workflow_void(ctx, (const Xuncha__V1__VoidRecordRequest *)req, resp, err);
}
