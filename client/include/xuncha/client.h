/*
 * xuncha/client.h: the C client library of xuncha (libxuncha).
 *
 * Connects to an xunchad server over mutual TLS and calls its RPCs. Every RPC
 * has one function that blocks until the reply arrives or its deadline
 * passes. Requests and results are the protobuf-c structs generated from
 * proto/xuncha/v1/xuncha.proto (included below).
 *
 * Ownership:
 *   - Requests stay the caller's; the library only reads them.
 *   - On success, *out is a new message the caller owns; free it with
 *     xc_message_free() (or the generated <type>__free_unpacked(*out, NULL)).
 *   - On failure, *out is NULL and err (if not NULL) holds the status code
 *     (a negative xc_code, -grpc_code) and the server's message.
 *
 * Return values: XC_OK (0) or a negative xc_code; the gRPC status code is its
 * negation (see xc_status.h).
 *
 * Threads: an xc_client may be used from several threads at once; each call
 * runs on its own completion queue.
 */
#ifndef XUNCHA_CLIENT_H
#define XUNCHA_CLIENT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xuncha/xc_status.h"
#include "xuncha/v1/xuncha.pb-c.h"
#include "xuncha/v1/archive.pb-c.h"
#include "xuncha/v1/sync.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Marks the functions libxuncha exports. The library is built with hidden
 * visibility, so only what this header declares is part of its ABI.
 */
#if defined(__GNUC__) || defined(__clang__)
#define XC_EXTERN __attribute__((visibility("default")))
#else
#define XC_EXTERN
#endif

typedef struct xc_client xc_client;

/* How to reach and authenticate to a server. Strings are copied on create. */
typedef struct xc_client_options {
  const char *server;      /* "HOST:PORT", e.g. "127.0.0.1:7443"; required */
  const char *ca_file;     /* PEM CA that signed the server cert; required */
  const char *cert_file;   /* PEM client certificate; required */
  const char *key_file;    /* PEM private key of cert_file; required */
  /* Name the server certificate must carry, when it differs from HOST. */
  const char *server_name_override;
  /* Deadline of a call whose timeout_ms argument is 0; 0 means 10 seconds. */
  int64_t default_timeout_ms;
} xc_client_options;

/*
 * Creates a client. Reads the three PEM files now (a missing or unreadable
 * file is XC_EINVALID_ARGUMENT naming it) and opens the channel lazily; the
 * first call waits for the connection up to its deadline. The caller owns
 * *out and releases it with xc_client_destroy().
 */
XC_EXTERN int xc_client_create(const xc_client_options *opt, xc_client **out,
                               xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Cancels the client for good: calls in progress on it (in any thread) end
 * within about 100 ms with XC_ECANCELLED, whatever their deadline, and
 * later calls fail at once with XC_ECANCELLED. For shutting down a program
 * whose other threads may be waiting on a server that does not answer; the
 * caller still destroys the client once those calls have returned. NULL is
 * accepted. Safe to call from any thread, more than once.
 */
XC_EXTERN void xc_client_cancel(xc_client *c);

/* Closes the channel and frees the client. NULL is accepted. */
XC_EXTERN void xc_client_destroy(xc_client *c);

/* Frees a message returned by this library. NULL is accepted. */
XC_EXTERN void xc_message_free(void *msg);

/*
 * Calls any unary method by its full path ("/xuncha.v1.Targets/GetTarget").
 * resp_desc is the descriptor of the reply type. The per-RPC functions below
 * are thin wrappers over this one.
 */
XC_EXTERN int xc_client_call(xc_client *c, const char *method, const ProtobufCMessage *req,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **out,
                             int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;

/* grpc.health.v1.Health/Check. */
XC_EXTERN int xc_health_check(xc_client *c, const Grpc__Health__V1__HealthCheckRequest *req,
                              Grpc__Health__V1__HealthCheckResponse **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;

/* xuncha.v1.Targets */
XC_EXTERN int xc_create_target(xc_client *c, const Xuncha__V1__CreateTargetRequest *req,
                               Xuncha__V1__Target **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_target(xc_client *c, const Xuncha__V1__GetTargetRequest *req,
                            Xuncha__V1__Target **out, int64_t timeout_ms,
                            xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_targets(xc_client *c, const Xuncha__V1__ListTargetsRequest *req,
                              Xuncha__V1__ListTargetsResponse **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_target(xc_client *c, const Xuncha__V1__UpdateTargetRequest *req,
                               Xuncha__V1__Target **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;

/* xuncha.v1.Rounds */
XC_EXTERN int xc_create_round(xc_client *c, const Xuncha__V1__CreateRoundRequest *req,
                              Xuncha__V1__Round **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_round(xc_client *c, const Xuncha__V1__GetRoundRequest *req,
                           Xuncha__V1__Round **out, int64_t timeout_ms,
                           xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_rounds(xc_client *c, const Xuncha__V1__ListRoundsRequest *req,
                             Xuncha__V1__ListRoundsResponse **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_round(xc_client *c, const Xuncha__V1__UpdateRoundRequest *req,
                              Xuncha__V1__Round **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_create_group(xc_client *c, const Xuncha__V1__CreateGroupRequest *req,
                              Xuncha__V1__Group **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_group(xc_client *c, const Xuncha__V1__GetGroupRequest *req,
                           Xuncha__V1__Group **out, int64_t timeout_ms,
                           xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_groups(xc_client *c, const Xuncha__V1__ListGroupsRequest *req,
                             Xuncha__V1__ListGroupsResponse **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_group(xc_client *c, const Xuncha__V1__UpdateGroupRequest *req,
                              Xuncha__V1__Group **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;

/* xuncha.v1.Findings */
XC_EXTERN int xc_create_finding(xc_client *c, const Xuncha__V1__CreateFindingRequest *req,
                                Xuncha__V1__Finding **out, int64_t timeout_ms,
                                xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_finding(xc_client *c, const Xuncha__V1__GetFindingRequest *req,
                             Xuncha__V1__Finding **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_findings(xc_client *c, const Xuncha__V1__ListFindingsRequest *req,
                               Xuncha__V1__ListFindingsResponse **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_finding(xc_client *c, const Xuncha__V1__UpdateFindingRequest *req,
                                Xuncha__V1__Finding **out, int64_t timeout_ms,
                                xc_err *err) XC_WARN_UNUSED_RESULT;

/* xuncha.v1.Leads */
XC_EXTERN int xc_create_lead(xc_client *c, const Xuncha__V1__CreateLeadRequest *req,
                             Xuncha__V1__Lead **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_lead(xc_client *c, const Xuncha__V1__GetLeadRequest *req,
                          Xuncha__V1__Lead **out, int64_t timeout_ms,
                          xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_leads(xc_client *c, const Xuncha__V1__ListLeadsRequest *req,
                            Xuncha__V1__ListLeadsResponse **out, int64_t timeout_ms,
                            xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_lead(xc_client *c, const Xuncha__V1__UpdateLeadRequest *req,
                             Xuncha__V1__Lead **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Workflows (server/WORKFLOWS.md): the directory, round stages,
 * rectification progress and verification, completion rates, lead
 * dispositions, and voiding any record. Same contract as above.
 */
XC_EXTERN int xc_create_directory_entry(xc_client *c,
                                        const Xuncha__V1__CreateDirectoryEntryRequest *req,
                                        Xuncha__V1__DirectoryEntry **out, int64_t timeout_ms,
                                        xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_directory_entry(xc_client *c, const Xuncha__V1__GetDirectoryEntryRequest *req,
                                     Xuncha__V1__DirectoryEntry **out, int64_t timeout_ms,
                                     xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_directory_entries(xc_client *c,
                                        const Xuncha__V1__ListDirectoryEntriesRequest *req,
                                        Xuncha__V1__ListDirectoryEntriesResponse **out,
                                        int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_directory_entry(xc_client *c,
                                        const Xuncha__V1__UpdateDirectoryEntryRequest *req,
                                        Xuncha__V1__DirectoryEntry **out, int64_t timeout_ms,
                                        xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_advance_round(xc_client *c, const Xuncha__V1__AdvanceRoundRequest *req,
                               Xuncha__V1__Round **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_append_progress(xc_client *c, const Xuncha__V1__AppendProgressRequest *req,
                                 Xuncha__V1__AppendProgressResponse **out, int64_t timeout_ms,
                                 xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_progress(xc_client *c, const Xuncha__V1__ListProgressRequest *req,
                               Xuncha__V1__ListProgressResponse **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_verify_rectification(xc_client *c,
                                      const Xuncha__V1__VerifyRectificationRequest *req,
                                      Xuncha__V1__VerificationResponse **out, int64_t timeout_ms,
                                      xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_revoke_verification(xc_client *c,
                                     const Xuncha__V1__RevokeVerificationRequest *req,
                                     Xuncha__V1__VerificationResponse **out, int64_t timeout_ms,
                                     xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_verifications(xc_client *c, const Xuncha__V1__ListVerificationsRequest *req,
                                    Xuncha__V1__ListVerificationsResponse **out,
                                    int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_rectification_stats(xc_client *c,
                                         const Xuncha__V1__RectificationStatsRequest *req,
                                         Xuncha__V1__RectificationStats **out, int64_t timeout_ms,
                                         xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_record_disposition(xc_client *c, const Xuncha__V1__RecordDispositionRequest *req,
                                    Xuncha__V1__RecordDispositionResponse **out,
                                    int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_dispositions(xc_client *c, const Xuncha__V1__ListDispositionsRequest *req,
                                   Xuncha__V1__ListDispositionsResponse **out, int64_t timeout_ms,
                                   xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_void_record(xc_client *c, const Xuncha__V1__VoidRecordRequest *req,
                             Xuncha__V1__VoidRecordResponse **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Archive (立卷归档) and inspector pool (巡察人才库): server/ARCHIVE.md.
 * The unary methods follow the contract above.
 */
XC_EXTERN int xc_get_document(xc_client *c, const Xuncha__V1__GetDocumentRequest *req,
                              Xuncha__V1__Document **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_documents(xc_client *c, const Xuncha__V1__ListDocumentsRequest *req,
                                Xuncha__V1__ListDocumentsResponse **out, int64_t timeout_ms,
                                xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_document(xc_client *c, const Xuncha__V1__UpdateDocumentRequest *req,
                                 Xuncha__V1__Document **out, int64_t timeout_ms,
                                 xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_create_inspector(xc_client *c, const Xuncha__V1__CreateInspectorRequest *req,
                                  Xuncha__V1__Inspector **out, int64_t timeout_ms,
                                  xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_inspector(xc_client *c, const Xuncha__V1__GetInspectorRequest *req,
                               Xuncha__V1__Inspector **out, int64_t timeout_ms,
                               xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_list_inspectors(xc_client *c, const Xuncha__V1__ListInspectorsRequest *req,
                                 Xuncha__V1__ListInspectorsResponse **out, int64_t timeout_ms,
                                 xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_update_inspector(xc_client *c, const Xuncha__V1__UpdateInspectorRequest *req,
                                  Xuncha__V1__Inspector **out, int64_t timeout_ms,
                                  xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_suggest_inspectors(xc_client *c,
                                    const Xuncha__V1__SuggestInspectorsRequest *req,
                                    Xuncha__V1__SuggestInspectorsResponse **out,
                                    int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_workload(xc_client *c, const Xuncha__V1__WorkloadRequest *req,
                              Xuncha__V1__WorkloadResponse **out, int64_t timeout_ms,
                              xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Streaming: content moves in chunks of at most XC_ARCHIVE_CHUNK_BYTES
 * (256 KiB), so memory stays bounded by a few chunks whatever the size, and
 * no message nears the 4 MiB limit. timeout_ms bounds the whole transfer (0:
 * ten minutes; at most a day).
 */

/* Fills buf with up to cap bytes of the content. Returns the bytes read,
 * 0 at the end, or -1 on error (the upload is then cancelled). */
typedef long long (*xc_archive_read_fn)(void *ctx, uint8_t *buf, size_t cap);

/* Takes len bytes of downloaded content. Returns 0, or -1 to stop. */
typedef int (*xc_archive_write_fn)(void *ctx, const uint8_t *data, size_t len);

/* Reports progress: bytes moved so far and the total (0 if unknown). */
typedef void (*xc_archive_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct xc_archive_put_options {
  Xuncha__V1__HashAlgorithm algorithm; /* 0: SHA-256; or SM3 */
  const char *request_id;              /* optional: retries return the first */
  uint64_t total_bytes;                /* for progress only; 0: unknown */
  xc_archive_progress_fn progress;     /* optional */
  void *progress_ctx;
} xc_archive_put_options;

/*
 * Archive.UploadDocument: sends doc (attached_id, stage, kind, title, ...)
 * and the content read with `read`, hashing it as it goes; the server
 * checks the size and hash before it stores anything. On success *out holds
 * the stored document and whether its content was stored already
 * (deduplicated). opt may be NULL.
 */
XC_EXTERN int xc_archive_put(xc_client *c, const Xuncha__V1__Document *doc,
                             const xc_archive_put_options *opt, xc_archive_read_fn read,
                             void *read_ctx, Xuncha__V1__UploadDocumentResponse **out,
                             int64_t timeout_ms, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Archive.DownloadDocument: passes the content of document `id` to write in
 * order and checks it against the document's hash as it arrives:
 * XC_EDATA_LOSS when the bytes do not match (the caller must then discard
 * what it was given). *doc_out (may be NULL) receives the document.
 */
XC_EXTERN int xc_archive_get(xc_client *c, const char *id, xc_archive_write_fn write,
                             void *write_ctx, xc_archive_progress_fn progress, void *progress_ctx,
                             Xuncha__V1__Document **doc_out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;

/* Receives each damaged content VerifyArchive reports (p stays the library's). */
typedef void (*xc_archive_problem_fn)(void *ctx, const Xuncha__V1__VerifyProblem *p);

/*
 * Archive.VerifyArchive: the server rehashes every stored content; each
 * damaged one is passed to on_problem (may be NULL) and *summary (may be
 * NULL) receives the last message with the counts.
 */
XC_EXTERN int xc_archive_verify(xc_client *c, xc_archive_problem_fn on_problem, void *ctx,
                                Xuncha__V1__VerifyArchiveResponse **summary, int64_t timeout_ms,
                                xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Federation (xuncha.v1.Sync, proto/xuncha/v1/sync.proto): same contract as
 * the calls above. Push, Pull and GetDigest are what a downstream server
 * calls on its upstream with its own certificate (office:<its region>);
 * SyncNow, GetSyncStatus and VerifySync are for operators of a server.
 * SyncNow returns at once: watch the run with GetSyncStatus (the peer whose
 * direction is "upstream": running, pending, pushed, pulled, last_error).
 */
XC_EXTERN int xc_push_changes(xc_client *c, const Xuncha__V1__PushRequest *req,
                           Xuncha__V1__PushResponse **out, int64_t timeout_ms,
                           xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_pull_changes(xc_client *c, const Xuncha__V1__PullRequest *req,
                           Xuncha__V1__PullResponse **out, int64_t timeout_ms,
                           xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_digest(xc_client *c, const Xuncha__V1__DigestRequest *req,
                                 Xuncha__V1__DigestResponse **out, int64_t timeout_ms,
                                 xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_start_sync(xc_client *c, const Xuncha__V1__SyncNowRequest *req,
                          Xuncha__V1__SyncNowResponse **out, int64_t timeout_ms,
                          xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_get_sync_status(xc_client *c, const Xuncha__V1__SyncStatusRequest *req,
                                 Xuncha__V1__SyncStatus **out, int64_t timeout_ms,
                                 xc_err *err) XC_WARN_UNUSED_RESULT;
XC_EXTERN int xc_verify_sync(xc_client *c, const Xuncha__V1__VerifySyncRequest *req,
                             Xuncha__V1__VerifySyncResponse **out, int64_t timeout_ms,
                             xc_err *err) XC_WARN_UNUSED_RESULT;

#ifdef __cplusplus
}
#endif

#endif /* XUNCHA_CLIENT_H */
