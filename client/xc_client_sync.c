/*
 * xc_client_sync.c: the typed calls of xuncha.v1.Sync (proto/xuncha/v1/
 * sync.proto), the federation of county, township and city servers. All six
 * methods are unary, so each is a thin wrapper over xc_client_call
 * (XC__RPC of xc_client_int.h, with the contract of client.h).
 */
#include "xc_client_int.h"

XC__RPC(xc_push_changes, "/xuncha.v1.Sync/Push", Xuncha__V1__PushRequest,
        Xuncha__V1__PushResponse, xuncha__v1__push_response__descriptor)
XC__RPC(xc_pull_changes, "/xuncha.v1.Sync/Pull", Xuncha__V1__PullRequest,
        Xuncha__V1__PullResponse, xuncha__v1__pull_response__descriptor)
XC__RPC(xc_get_digest, "/xuncha.v1.Sync/GetDigest", Xuncha__V1__DigestRequest,
        Xuncha__V1__DigestResponse, xuncha__v1__digest_response__descriptor)
XC__RPC(xc_start_sync, "/xuncha.v1.Sync/SyncNow", Xuncha__V1__SyncNowRequest,
        Xuncha__V1__SyncNowResponse, xuncha__v1__sync_now_response__descriptor)
XC__RPC(xc_get_sync_status, "/xuncha.v1.Sync/GetSyncStatus", Xuncha__V1__SyncStatusRequest,
        Xuncha__V1__SyncStatus, xuncha__v1__sync_status__descriptor)
XC__RPC(xc_verify_sync, "/xuncha.v1.Sync/VerifySync", Xuncha__V1__VerifySyncRequest,
        Xuncha__V1__VerifySyncResponse, xuncha__v1__verify_sync_response__descriptor)
