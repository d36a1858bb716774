/*
 * handlers.h: the typed request handlers of xunchad, one per RPC method,
 * and helpers they share. Private to the server; the transport only sees the
 * method table (xc_methods() in xc_handler.h).
 */
#ifndef XC_HANDLERS_H
#define XC_HANDLERS_H

#include "xc_handler.h"
#include "xc_service.h"

/*
 * Builds a List response of type `desc` (its first field is the repeated
 * records, and it has a next_page_token string) from page, taking the
 * page's records. *resp is the caller's (xc_msg_free); page is left empty.
 */
int xc__list_response(const ProtobufCMessageDescriptor *desc, xc_page *page,
                      ProtobufCMessage **resp, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * For methods unary on the wire but served like server streams (on a
 * worker): when rc is XC_OK, sends msg as the call's one reply, leaving
 * *resp NULL as a server-streaming handler must (with no call, as in unit
 * tests, msg is left in *resp instead). msg is taken either way. Returns rc,
 * or the send's failure.
 */
int xc__reply_once(xc_ctx *ctx, int rc, void *msg, ProtobufCMessage **resp, xc_err *err);

/* The service names grpc.health.v1.Health reports as SERVING. */
int xc__health_known(const char *service);

#define XC__HANDLER(name) \
  int name(xc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp, xc_err *err)

XC__HANDLER(xc__create_target);
XC__HANDLER(xc__get_target);
XC__HANDLER(xc__list_targets);
XC__HANDLER(xc__update_target);

XC__HANDLER(xc__create_round);
XC__HANDLER(xc__get_round);
XC__HANDLER(xc__list_rounds);
XC__HANDLER(xc__update_round);
XC__HANDLER(xc__create_group);
XC__HANDLER(xc__get_group);
XC__HANDLER(xc__list_groups);
XC__HANDLER(xc__update_group);

XC__HANDLER(xc__create_finding);
XC__HANDLER(xc__get_finding);
XC__HANDLER(xc__list_findings);
XC__HANDLER(xc__update_finding);

XC__HANDLER(xc__create_lead);
XC__HANDLER(xc__get_lead);
XC__HANDLER(xc__list_leads);
XC__HANDLER(xc__update_lead);

/* Workflows (handlers_workflow.c). */
XC__HANDLER(xc__create_directory_entry);
XC__HANDLER(xc__get_directory_entry);
XC__HANDLER(xc__list_directory_entries);
XC__HANDLER(xc__update_directory_entry);
XC__HANDLER(xc__advance_round);
XC__HANDLER(xc__append_progress);
XC__HANDLER(xc__list_progress);
XC__HANDLER(xc__verify_rectification);
XC__HANDLER(xc__revoke_verification);
XC__HANDLER(xc__list_verifications);
XC__HANDLER(xc__rectification_stats);
XC__HANDLER(xc__record_disposition);
XC__HANDLER(xc__list_dispositions);
XC__HANDLER(xc__void_record);

/* Terms and reports (handlers_reports.c). */
XC__HANDLER(xc__create_term);
XC__HANDLER(xc__list_terms);
XC__HANDLER(xc__get_summary);
XC__HANDLER(xc__get_coverage);
XC__HANDLER(xc__import_records);

XC__HANDLER(xc__health_check);
XC__HANDLER(xc__health_watch);

XC__HANDLER(xc__admin_get_stats);
XC__HANDLER(xc__admin_backup);

/* Archive and pool (xc_archive.c, xc_pool.c; server/ARCHIVE.md). */
XC__HANDLER(xc__upload_document);
XC__HANDLER(xc__download_document);
XC__HANDLER(xc__get_document);
XC__HANDLER(xc__list_documents);
XC__HANDLER(xc__update_document);
XC__HANDLER(xc__verify_archive);
XC__HANDLER(xc__create_inspector);
XC__HANDLER(xc__get_inspector);
XC__HANDLER(xc__list_inspectors);
XC__HANDLER(xc__update_inspector);
XC__HANDLER(xc__suggest_inspectors);
XC__HANDLER(xc__get_workload);
XC__HANDLER(xc__reflection_info);

/* xuncha.v1.Audit (handlers_audit.c). */
int xc__list_audit(xc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                   xc_err *err);
int xc__verify_audit(xc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                     xc_err *err);

/* xuncha.v1.Sync (handlers_sync.c): served like server streams, one reply. */
XC__HANDLER(xc__sync_push);
XC__HANDLER(xc__sync_pull);
XC__HANDLER(xc__sync_get_digest);
XC__HANDLER(xc__sync_now);
XC__HANDLER(xc__sync_status);
XC__HANDLER(xc__sync_verify);
XC__HANDLER(xc__sync_has_content);
XC__HANDLER(xc__sync_put_content);
XC__HANDLER(xc__sync_get_content);

#endif /* XC_HANDLERS_H */
