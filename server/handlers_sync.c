/*
 * handlers_sync.c: xuncha.v1.Sync (sync.proto, server/SYNC.md).
 *
 * Every method is unary on the wire but served like a server stream (one
 * reply through xc__reply_once), so it runs on a worker thread: a pushed
 * batch is decoded and checked, a pull walks the log, a digest walks every
 * record, and VerifySync waits on the upstream; none of that may stall the
 * unary calls of a completion-queue thread.
 *
 * Push, Pull, GetDigest and the content calls are for downstream servers
 * (xc_sync_check_peer); SyncNow, GetSyncStatus and VerifySync for this
 * server's operators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "xc_audit.h"
#include "xc_home.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_store_audit.h"
#include "xc_store_sync.h"
#include "xc_sync.h"

static int xc__need_id(const xc_ctx *ctx, xc_err *err) {
  if (!ctx->has_identity)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate does not name a xuncha identity");
  return XC_OK;
}

/* A downstream server calling with its own certificate. */
static int xc__peer(const xc_ctx *ctx, const char *server, xc_err *err) {
  int rc = xc__need_id(ctx, err);
  if (rc == XC_OK) rc = xc_sync_check_peer(&ctx->id, server, err);
  return rc;
}

/* Operators of this server: admins, and offices at home here. */
static int xc__operator(const xc_ctx *ctx, xc_err *err) {
  int rc = xc__need_id(ctx, err);
  if (rc != XC_OK) return rc;
  if (ctx->id.role == XC_ROLE_ADMIN) return XC_OK;
  if (ctx->id.role == XC_ROLE_OFFICE && xc_home_is_here(ctx->id.cn)) return XC_OK;
  return xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not run this server's sync: that takes an admin:<code> certificate "
                    "or one of an office at home on %s",
                    ctx->id.cn, xc_home_enabled() ? xc_home_self() : "this server");
}

/* A new reply of descriptor d into *out; XC_ERESOURCE_EXHAUSTED if none. */
static int xc__new_reply(const ProtobufCMessageDescriptor *d, void *out, xc_err *err) {
  *(void **)out = xc_msg_new(d);
  if (*(void **)out == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  return XC_OK;
}

int xc__sync_push(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                  xc_err *err) {
  const Xuncha__V1__PushRequest *req = (const Xuncha__V1__PushRequest *)req_msg;
  Xuncha__V1__PushResponse *out = NULL;
  char cursor[XC_SYNC_KEY_MAX + 1], seen[XC_SYNC_KEY_MAX + 1];
  uint64_t acked = 0;
  uint32_t applied = 0, skipped = 0;
  int rc = xc__peer(ctx, req->server, err);

  if (rc == XC_OK && req->n_changes > XC_SYNC_MAX_BATCH)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "a push carries at most %d changes, not %zu",
                    XC_SYNC_MAX_BATCH, req->n_changes);
  if (rc == XC_OK &&
      (snprintf(cursor, sizeof cursor, "peer/%s/pushed", req->server) >= (int)sizeof cursor ||
       snprintf(seen, sizeof seen, "peer/%s/push_time", req->server) >= (int)sizeof seen))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "server name too long");
  if (rc == XC_OK && req->n_changes > 0) {
    xc_audit_entry who;
    rc = xc_sync_check_push(req->server, req->changes, req->n_changes, err);
    xc_audit_who(ctx, &who);
    if (rc == XC_OK)
      rc = xc_sync_apply(ctx->store, req->changes, req->n_changes, cursor, req->upto_seq, seen,
                         &who, &applied, &skipped, err);
    if (rc == XC_OK) ctx->audit_done = 1;
    acked = req->upto_seq;
  } else if (rc == XC_OK) {
    /* A question only: how far does this server hold the pusher's log? */
    xc_snapshot *snap = NULL;
    rc = xc_snapshot_begin(ctx->store, &snap, err);
    if (rc == XC_OK) rc = xc_snapshot_sync_get(snap, cursor, &acked, err);
    xc_snapshot_end(snap);
    /* A pusher whose log covers more with nothing to send (only changes
     * it pulled from here) moves its cursor on. */
    if (rc == XC_OK && req->upto_seq > acked) {
      rc = xc_sync_apply(ctx->store, NULL, 0, cursor, req->upto_seq, seen, NULL, &applied,
                         &skipped, err);
      acked = req->upto_seq;
    }
  }
  if (rc == XC_OK) rc = xc__new_reply(&xuncha__v1__push_response__descriptor, &out, err);
  if (rc == XC_OK) {
    out->acked_seq = acked;
    out->applied = applied;
    out->skipped = skipped;
    if (req->n_changes > 0)
      xc_log(XC_LOG_DEBUG,
             "sync: %s pushed %zu changes (%u applied, %u held already), up to %llu",
             req->server, req->n_changes, applied, skipped, (unsigned long long)acked);
  }
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_pull(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                  xc_err *err) {
  const Xuncha__V1__PullRequest *req = (const Xuncha__V1__PullRequest *)req_msg;
  Xuncha__V1__PullResponse *out = NULL;
  int rc = xc__peer(ctx, req->server, err);
  /* Asking for what follows after_seq says everything up to it arrived. */
  if (rc == XC_OK) rc = xc_sync_note_pull(ctx->store, req->server, req->after_seq, err);
  if (rc == XC_OK) rc = xc_sync_collect_pull(ctx->store, req, &out, err);
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_get_digest(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                        xc_err *err) {
  const Xuncha__V1__DigestRequest *req = (const Xuncha__V1__DigestRequest *)req_msg;
  Xuncha__V1__DigestResponse *out = NULL;
  int rc = xc__peer(ctx, req->server, err);
  if (rc == XC_OK)
    rc = xc_sync_digest(ctx->store, req->server, req->origins, req->n_origins, req->list_origin,
                        req->after_id, &out, err);
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_now(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                 xc_err *err) {
  Xuncha__V1__SyncNowResponse *out = NULL;
  const char *up = NULL;
  uint64_t pending = 0;
  int rc = xc__operator(ctx, err);
  (void)req_msg;
  if (rc == XC_OK) rc = xc_sync_trigger(ctx->store, &pending, &up, err);
  if (rc == XC_OK) rc = xc__new_reply(&xuncha__v1__sync_now_response__descriptor, &out, err);
  if (rc == XC_OK) {
    out->pending = pending;
    if (xc_msg_set_str(&out->base, "upstream", up != NULL ? up : "") != XC_OK)
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_status(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                    xc_err *err) {
  Xuncha__V1__SyncStatus *out = NULL;
  int rc = xc__operator(ctx, err);
  (void)req_msg;
  if (rc == XC_OK) rc = xc_sync_status(ctx->store, &out, err);
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_verify(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                    xc_err *err) {
  const Xuncha__V1__VerifySyncRequest *req = (const Xuncha__V1__VerifySyncRequest *)req_msg;
  Xuncha__V1__VerifySyncResponse *out = NULL;
  int rc = xc__operator(ctx, err);
  if (rc == XC_OK && req->max_differences > XC_SYNC_MAX_DIFFERENCES)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "max_differences is at most %d",
                    XC_SYNC_MAX_DIFFERENCES);
  if (rc == XC_OK) rc = xc_sync_verify(ctx->store, req->max_differences, &out, err);
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_has_content(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                         xc_err *err) {
  const Xuncha__V1__HasContentRequest *req = (const Xuncha__V1__HasContentRequest *)req_msg;
  Xuncha__V1__HasContentResponse *out = NULL;
  int rc = xc__peer(ctx, req->server, err);
  if (rc == XC_OK && req->n_refs > XC_SYNC_MAX_CONTENT_REFS)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "at most %d content references per call",
                    XC_SYNC_MAX_CONTENT_REFS);
  if (rc == XC_OK) rc = xc__new_reply(&xuncha__v1__has_content_response__descriptor, &out, err);
  if (rc == XC_OK) {
    out->held = calloc(req->n_refs > 0 ? req->n_refs : 1, sizeof *out->held);
    if (out->held == NULL) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (rc == XC_OK) {
    out->n_held = req->n_refs;
    rc = xc_sync_has_content(ctx->store, req->refs, req->n_refs, out->held, err);
  }
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_put_content(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                         xc_err *err) {
  const Xuncha__V1__PutContentRequest *req = (const Xuncha__V1__PutContentRequest *)req_msg;
  Xuncha__V1__PutContentResponse *out = NULL;
  int complete = 0;
  int rc = xc__peer(ctx, req->server, err);
  if (rc == XC_OK) rc = xc_sync_put_content(ctx->store, req, &complete, err);
  if (rc == XC_OK) rc = xc__new_reply(&xuncha__v1__put_content_response__descriptor, &out, err);
  if (rc == XC_OK) out->complete = complete;
  return xc__reply_once(ctx, rc, out, resp, err);
}

int xc__sync_get_content(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                         xc_err *err) {
  const Xuncha__V1__GetContentRequest *req = (const Xuncha__V1__GetContentRequest *)req_msg;
  Xuncha__V1__GetContentResponse *out = NULL;
  int rc = xc__peer(ctx, req->server, err);
  if (rc == XC_OK) rc = xc_sync_get_content(ctx->store, req, &out, err);
  return xc__reply_once(ctx, rc, out, resp, err);
}
