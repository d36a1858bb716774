/* The method table of xunchad and the helpers the typed handlers share. */
#include "handlers.h"

#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "xuncha/v1/admin.pb-c.h"
#include "xuncha/v1/archive.pb-c.h"
#include "xuncha/v1/reports.pb-c.h"
#include "xuncha/v1/audit.pb-c.h"
#include "xuncha/v1/sync.pb-c.h"
#include "xc_msg.h"
#include "xc_replybuf.h"
#include "xc_wire.h"

/*
 * Finishes a page packed by the list scan (xc_page.wire: its records as
 * elements of field 1) into the reply the transport sends: appends the next
 * page token as protobuf-c would pack it (after the records: it is the
 * higher-numbered field; a response type with other fields set by nobody
 * packs nothing for them) and hands the bytes to the call's context.
 */
static int xc__list_response_wire(const ProtobufCMessageDescriptor *desc, xc_page *page,
                                  xc_err *err) {
  const ProtobufCFieldDescriptor *tok =
      protobuf_c_message_descriptor_get_field_by_name(desc, "next_page_token");
  size_t tlen = strlen(page->next_token);
  int rc = XC_OK;

  if (desc->fields[0].id != 1 || tok == NULL || tok->type != PROTOBUF_C_TYPE_STRING ||
      tok->id <= desc->fields[0].id) {
    rc = xc_err_set(err, XC_EINTERNAL, "%s cannot be packed from stored records", desc->name);
    goto done;
  }
  if (tlen > 0) {
    size_t need = 2 * 10 + tlen;
    if (page->wire_cap - page->wire_len < need) {
      uint8_t *grown = xc_replybuf_realloc(page->wire, page->wire_len + need);
      if (grown == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the response");
        goto done;
      }
      page->wire = grown;
      page->wire_cap = page->wire_len + need;
    }
    page->wire_len +=
        xc_wire_put_varint(page->wire + page->wire_len, ((uint64_t)tok->id << 3) | XC_WIRE_LEN);
    page->wire_len += xc_wire_put_varint(page->wire + page->wire_len, tlen);
    memcpy(page->wire + page->wire_len, page->next_token, tlen);
    page->wire_len += tlen;
  }
  xc_replybuf_free(page->wire_ctx->reply_wire);
  page->wire_ctx->reply_wire = page->wire;
  page->wire_ctx->reply_wire_len = page->wire_len;
  page->wire = NULL;
  page->wire_len = 0;
  page->wire_cap = 0;
done:
  return rc;
}

int xc__list_response(const ProtobufCMessageDescriptor *desc, xc_page *page,
                      ProtobufCMessage **resp, xc_err *err) {
  const ProtobufCFieldDescriptor *recs = &desc->fields[0];
  ProtobufCMessage *msg = NULL;
  int rc = XC_OK;

  *resp = NULL;
  if (recs->label != PROTOBUF_C_LABEL_REPEATED || recs->type != PROTOBUF_C_TYPE_MESSAGE) {
    rc =
        xc_err_set(err, XC_EINTERNAL, "%s does not start with a repeated record field", desc->name);
    goto done;
  }
  msg = malloc(desc->sizeof_message);
  if (msg == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the response");
    goto done;
  }
  desc->message_init(msg);
  if (page->next_token[0] != '\0') {
    rc = xc_msg_set_str(msg, "next_page_token", page->next_token);
    if (rc != XC_OK) {
      rc = xc_err_set(err, rc, "cannot set next_page_token");
      goto done;
    }
  }
  if (page->wire_ctx != NULL) {
    rc = xc__list_response_wire(desc, page, err);
    if (rc != XC_OK) goto done;
  }
  *(size_t *)((char *)msg + recs->quantifier_offset) = page->n;
  *(ProtobufCMessage ***)((char *)msg + recs->offset) = page->recs;
  page->recs = NULL;
  page->n = 0;
  *resp = msg;
  msg = NULL;
done:
  xc_msg_free(msg);
  xc_page_free(page);
  return rc;
}

int xc__reply_once(xc_ctx *ctx, int rc, void *msg, ProtobufCMessage **resp, xc_err *err) {
  *resp = NULL;
  if (rc == XC_OK && ctx->call == NULL) {
    *resp = msg;
    return XC_OK;
  }
  if (rc == XC_OK) rc = xc_call_send(ctx->call, msg, err);
  xc_msg_free(msg);
  return rc;
}

#define XC__UNARY(svc, name, req, resp, fn) \
  { "/" svc "/" name, &req##__descriptor, &resp##__descriptor, XC_METHOD_UNARY, 1, fn }

/* A Sync method: one request, one reply, run on a worker thread. */
#define XC__WORKER(name, req, resp, fn)                                                 \
  {                                                                                     \
    "/xuncha.v1.Sync/" name, &xuncha__v1__##req##__descriptor,                          \
        &xuncha__v1__##resp##__descriptor, XC_METHOD_SERVER_STREAM, 1, fn               \
  }

static const xc_method xc__methods[] = {
    XC__UNARY("xuncha.v1.Targets", "CreateTarget", xuncha__v1__create_target_request,
              xuncha__v1__target, xc__create_target),
    XC__UNARY("xuncha.v1.Targets", "GetTarget", xuncha__v1__get_target_request, xuncha__v1__target,
              xc__get_target),
    XC__UNARY("xuncha.v1.Targets", "ListTargets", xuncha__v1__list_targets_request,
              xuncha__v1__list_targets_response, xc__list_targets),
    XC__UNARY("xuncha.v1.Targets", "UpdateTarget", xuncha__v1__update_target_request,
              xuncha__v1__target, xc__update_target),

    XC__UNARY("xuncha.v1.Rounds", "CreateRound", xuncha__v1__create_round_request,
              xuncha__v1__round, xc__create_round),
    XC__UNARY("xuncha.v1.Rounds", "GetRound", xuncha__v1__get_round_request, xuncha__v1__round,
              xc__get_round),
    XC__UNARY("xuncha.v1.Rounds", "ListRounds", xuncha__v1__list_rounds_request,
              xuncha__v1__list_rounds_response, xc__list_rounds),
    XC__UNARY("xuncha.v1.Rounds", "UpdateRound", xuncha__v1__update_round_request,
              xuncha__v1__round, xc__update_round),
    XC__UNARY("xuncha.v1.Rounds", "CreateGroup", xuncha__v1__create_group_request,
              xuncha__v1__group, xc__create_group),
    XC__UNARY("xuncha.v1.Rounds", "GetGroup", xuncha__v1__get_group_request, xuncha__v1__group,
              xc__get_group),
    XC__UNARY("xuncha.v1.Rounds", "ListGroups", xuncha__v1__list_groups_request,
              xuncha__v1__list_groups_response, xc__list_groups),
    XC__UNARY("xuncha.v1.Rounds", "UpdateGroup", xuncha__v1__update_group_request,
              xuncha__v1__group, xc__update_group),

    XC__UNARY("xuncha.v1.Findings", "CreateFinding", xuncha__v1__create_finding_request,
              xuncha__v1__finding, xc__create_finding),
    XC__UNARY("xuncha.v1.Findings", "GetFinding", xuncha__v1__get_finding_request,
              xuncha__v1__finding, xc__get_finding),
    XC__UNARY("xuncha.v1.Findings", "ListFindings", xuncha__v1__list_findings_request,
              xuncha__v1__list_findings_response, xc__list_findings),
    XC__UNARY("xuncha.v1.Findings", "UpdateFinding", xuncha__v1__update_finding_request,
              xuncha__v1__finding, xc__update_finding),

    XC__UNARY("xuncha.v1.Leads", "CreateLead", xuncha__v1__create_lead_request, xuncha__v1__lead,
              xc__create_lead),
    XC__UNARY("xuncha.v1.Leads", "GetLead", xuncha__v1__get_lead_request, xuncha__v1__lead,
              xc__get_lead),
    XC__UNARY("xuncha.v1.Leads", "ListLeads", xuncha__v1__list_leads_request,
              xuncha__v1__list_leads_response, xc__list_leads),
    XC__UNARY("xuncha.v1.Leads", "UpdateLead", xuncha__v1__update_lead_request, xuncha__v1__lead,
              xc__update_lead),

    /* Workflows (server/WORKFLOWS.md). */
    XC__UNARY("xuncha.v1.Directory", "CreateDirectoryEntry",
              xuncha__v1__create_directory_entry_request, xuncha__v1__directory_entry,
              xc__create_directory_entry),
    XC__UNARY("xuncha.v1.Directory", "GetDirectoryEntry", xuncha__v1__get_directory_entry_request,
              xuncha__v1__directory_entry, xc__get_directory_entry),
    XC__UNARY("xuncha.v1.Directory", "ListDirectoryEntries",
              xuncha__v1__list_directory_entries_request,
              xuncha__v1__list_directory_entries_response, xc__list_directory_entries),
    XC__UNARY("xuncha.v1.Directory", "UpdateDirectoryEntry",
              xuncha__v1__update_directory_entry_request, xuncha__v1__directory_entry,
              xc__update_directory_entry),
    XC__UNARY("xuncha.v1.Rounds", "AdvanceRound", xuncha__v1__advance_round_request,
              xuncha__v1__round, xc__advance_round),
    XC__UNARY("xuncha.v1.Findings", "AppendProgress", xuncha__v1__append_progress_request,
              xuncha__v1__append_progress_response, xc__append_progress),
    XC__UNARY("xuncha.v1.Findings", "ListProgress", xuncha__v1__list_progress_request,
              xuncha__v1__list_progress_response, xc__list_progress),
    XC__UNARY("xuncha.v1.Findings", "VerifyRectification",
              xuncha__v1__verify_rectification_request, xuncha__v1__verification_response,
              xc__verify_rectification),
    XC__UNARY("xuncha.v1.Findings", "RevokeVerification", xuncha__v1__revoke_verification_request,
              xuncha__v1__verification_response, xc__revoke_verification),
    XC__UNARY("xuncha.v1.Findings", "ListVerifications", xuncha__v1__list_verifications_request,
              xuncha__v1__list_verifications_response, xc__list_verifications),
    XC__UNARY("xuncha.v1.Findings", "GetRectificationStats",
              xuncha__v1__rectification_stats_request, xuncha__v1__rectification_stats,
              xc__rectification_stats),
    XC__UNARY("xuncha.v1.Leads", "RecordDisposition", xuncha__v1__record_disposition_request,
              xuncha__v1__record_disposition_response, xc__record_disposition),
    XC__UNARY("xuncha.v1.Leads", "ListDispositions", xuncha__v1__list_dispositions_request,
              xuncha__v1__list_dispositions_response, xc__list_dispositions),
    XC__UNARY("xuncha.v1.Records", "VoidRecord", xuncha__v1__void_record_request,
              xuncha__v1__void_record_response, xc__void_record),

    /* Terms and reports (server/REPORTS.md). */
    XC__UNARY("xuncha.v1.Terms", "CreateTerm", xuncha__v1__create_term_request, xuncha__v1__term,
              xc__create_term),
    XC__UNARY("xuncha.v1.Terms", "ListTerms", xuncha__v1__list_terms_request,
              xuncha__v1__list_terms_response, xc__list_terms),
    XC__UNARY("xuncha.v1.Reports", "GetSummary", xuncha__v1__summary_request, xuncha__v1__summary,
              xc__get_summary),
    XC__UNARY("xuncha.v1.Reports", "GetCoverage", xuncha__v1__coverage_request,
              xuncha__v1__coverage, xc__get_coverage),
    XC__UNARY("xuncha.v1.Import", "ImportRecords", xuncha__v1__import_request,
              xuncha__v1__import_response, xc__import_records),

    /* Health checks need a certificate of our CA, not a xuncha identity, so
     * monitoring can use a certificate of its own. */
    {"/grpc.health.v1.Health/Check", &grpc__health__v1__health_check_request__descriptor,
     &grpc__health__v1__health_check_response__descriptor, XC_METHOD_UNARY, 0, xc__health_check},
    {"/grpc.health.v1.Health/Watch", &grpc__health__v1__health_check_request__descriptor,
     &grpc__health__v1__health_check_response__descriptor, XC_METHOD_SERVER_STREAM, 0,
     xc__health_watch},

    /* Operations: GetStats checks the caller's role itself. */
    XC__UNARY("xuncha.v1.Admin", "GetStats", xuncha__v1__get_stats_request, xuncha__v1__stats,
              xc__admin_get_stats),
    /* Backup checks for an admin:<code> certificate itself. */
    XC__UNARY("xuncha.v1.Admin", "Backup", xuncha__v1__backup_request,
              xuncha__v1__backup_response, xc__admin_backup),
    /* Server reflection, for grpcurl and the like: like health, any
     * certificate of our CA may explore the API. v1alpha has the same
     * messages on the wire as v1, so one handler serves both. */
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
     &grpc__reflection__v1__server_reflection_request__descriptor,
     &grpc__reflection__v1__server_reflection_response__descriptor, XC_METHOD_BIDI_STREAM, 0,
     xc__reflection_info},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
     &grpc__reflection__v1__server_reflection_request__descriptor,
     &grpc__reflection__v1__server_reflection_response__descriptor, XC_METHOD_BIDI_STREAM, 0,
     xc__reflection_info},

    /* Archive (立卷归档) and inspector pool (巡察人才库): server/ARCHIVE.md. */
    {"/xuncha.v1.Archive/UploadDocument", &xuncha__v1__upload_document_request__descriptor,
     &xuncha__v1__upload_document_response__descriptor, XC_METHOD_CLIENT_STREAM, 1,
     xc__upload_document},
    {"/xuncha.v1.Archive/DownloadDocument", &xuncha__v1__download_document_request__descriptor,
     &xuncha__v1__download_document_response__descriptor, XC_METHOD_SERVER_STREAM, 1,
     xc__download_document},
    XC__UNARY("xuncha.v1.Archive", "GetDocument", xuncha__v1__get_document_request,
              xuncha__v1__document, xc__get_document),
    XC__UNARY("xuncha.v1.Archive", "ListDocuments", xuncha__v1__list_documents_request,
              xuncha__v1__list_documents_response, xc__list_documents),
    XC__UNARY("xuncha.v1.Archive", "UpdateDocument", xuncha__v1__update_document_request,
              xuncha__v1__document, xc__update_document),
    {"/xuncha.v1.Archive/VerifyArchive", &xuncha__v1__verify_archive_request__descriptor,
     &xuncha__v1__verify_archive_response__descriptor, XC_METHOD_SERVER_STREAM, 1,
     xc__verify_archive},
    XC__UNARY("xuncha.v1.Pool", "CreateInspector", xuncha__v1__create_inspector_request,
              xuncha__v1__inspector, xc__create_inspector),
    XC__UNARY("xuncha.v1.Pool", "GetInspector", xuncha__v1__get_inspector_request,
              xuncha__v1__inspector, xc__get_inspector),
    XC__UNARY("xuncha.v1.Pool", "ListInspectors", xuncha__v1__list_inspectors_request,
              xuncha__v1__list_inspectors_response, xc__list_inspectors),
    XC__UNARY("xuncha.v1.Pool", "UpdateInspector", xuncha__v1__update_inspector_request,
              xuncha__v1__inspector, xc__update_inspector),
    XC__UNARY("xuncha.v1.Pool", "SuggestInspectors", xuncha__v1__suggest_inspectors_request,
              xuncha__v1__suggest_inspectors_response, xc__suggest_inspectors),
    XC__UNARY("xuncha.v1.Pool", "GetWorkload", xuncha__v1__workload_request,
              xuncha__v1__workload_response, xc__get_workload),
    /* The audit log: auditors and admins (the handlers check the role).
     * Unary on the wire (one request, one reply), but served like a
     * server stream so a long walk of the log runs on a worker thread and
     * never stalls the unary calls of a completion-queue thread. */
    {"/xuncha.v1.Audit/ListAudit", &xuncha__v1__list_audit_request__descriptor,
     &xuncha__v1__list_audit_response__descriptor, XC_METHOD_SERVER_STREAM, 1, xc__list_audit},
    {"/xuncha.v1.Audit/VerifyAudit", &xuncha__v1__verify_audit_request__descriptor,
     &xuncha__v1__verify_audit_response__descriptor, XC_METHOD_SERVER_STREAM, 1,
     xc__verify_audit},
    /* Federation (server/SYNC.md): unary on the wire, served on workers. */
    XC__WORKER("Push", push_request, push_response, xc__sync_push),
    XC__WORKER("Pull", pull_request, pull_response, xc__sync_pull),
    XC__WORKER("GetDigest", digest_request, digest_response, xc__sync_get_digest),
    XC__WORKER("SyncNow", sync_now_request, sync_now_response, xc__sync_now),
    XC__WORKER("GetSyncStatus", sync_status_request, sync_status, xc__sync_status),
    XC__WORKER("VerifySync", verify_sync_request, verify_sync_response, xc__sync_verify),
    XC__WORKER("HasContent", has_content_request, has_content_response, xc__sync_has_content),
    XC__WORKER("PutContent", put_content_request, put_content_response, xc__sync_put_content),
    XC__WORKER("GetContent", get_content_request, get_content_response, xc__sync_get_content),
};

const xc_method *xc_methods(size_t *count) {
  *count = sizeof xc__methods / sizeof xc__methods[0];
  return xc__methods;
}
