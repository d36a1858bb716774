/*
 * xc_client_sync.c: the typed calls of xuncha.v1.Sync (proto/xuncha/v1/
 * sync.proto), the federation of county, township and city servers. All six
 * methods are unary, so each is a thin wrapper over xc_client_call with the
 * contract of client.h: the request stays the caller's, *out is the
 * caller's on success and NULL on failure.
 */
#include "xuncha/client.h"

/* Defines a typed wrapper over xc_client_call for one Sync RPC. */
#define XC__SYNC_RPC(fn, method, ReqT, RespT, resp_desc)                                       \
  int fn(xc_client *c, const ReqT *req, RespT **out, int64_t timeout_ms, xc_err *err) {        \
    ProtobufCMessage *m = NULL;                                                                \
    int rc = xc_client_call(c, "/xuncha.v1.Sync/" method, (const ProtobufCMessage *)req,       \
                            &resp_desc, &m, timeout_ms, err);                                  \
    if (out != NULL)                                                                           \
      *out = (RespT *)m;                                                                       \
    else                                                                                       \
      xc_message_free(m);                                                                      \
    return rc;                                                                                 \
  }

XC__SYNC_RPC(xc_push_changes, "Push", Xuncha__V1__PushRequest, Xuncha__V1__PushResponse,
             xuncha__v1__push_response__descriptor)
XC__SYNC_RPC(xc_pull_changes, "Pull", Xuncha__V1__PullRequest, Xuncha__V1__PullResponse,
             xuncha__v1__pull_response__descriptor)
XC__SYNC_RPC(xc_get_digest, "GetDigest", Xuncha__V1__DigestRequest,
             Xuncha__V1__DigestResponse, xuncha__v1__digest_response__descriptor)
XC__SYNC_RPC(xc_start_sync, "SyncNow", Xuncha__V1__SyncNowRequest, Xuncha__V1__SyncNowResponse,
             xuncha__v1__sync_now_response__descriptor)
XC__SYNC_RPC(xc_get_sync_status, "GetSyncStatus", Xuncha__V1__SyncStatusRequest,
             Xuncha__V1__SyncStatus, xuncha__v1__sync_status__descriptor)
XC__SYNC_RPC(xc_verify_sync, "VerifySync", Xuncha__V1__VerifySyncRequest,
             Xuncha__V1__VerifySyncResponse, xuncha__v1__verify_sync_response__descriptor)
