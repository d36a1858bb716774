/*
 * xc_sync.h: federation between xunchad servers (server/SYNC.md).
 *
 * Two halves:
 *   - xc_sync.c, what an upstream does for the servers below it and what
 *     both sides share: checking a pushed batch against the pusher's
 *     jurisdiction, applying a batch of changes exactly once, choosing the
 *     changes a downstream may pull, and digests of each origin's records;
 *   - xc_sync_engine.c, the background thread of a server with an upstream:
 *     on an interval (and on demand) it pushes its log up in batches, pulls
 *     what was made above for its region, prunes what the upstream holds,
 *     and keeps the status `xuncha sync status` shows.
 *
 * Handlers (handlers_sync.c) call these; none of it touches gRPC objects
 * or LMDB values directly: the engine talks to its upstream through
 * libxuncha, as any client would.
 */
#ifndef XC_SYNC_H
#define XC_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "xc_identity.h"
#include "xc_status.h"
#include "xc_store.h"
#include "xc_store_audit.h"
#include "xuncha/v1/sync.pb-c.h"

/* The most changes one Push or Pull carries, and the default batch. */
#define XC_SYNC_MAX_BATCH 2000
#define XC_SYNC_DEFAULT_BATCH 500
/* The most bytes of records one Push or Pull carries (a record larger than
 * this still goes, alone). Below XC_MAX_MESSAGE_BYTES with room to spare. */
#define XC_SYNC_MAX_BATCH_BYTES (3 * 1024 * 1024)
/* Change-log entries one Pull looks at before it answers, so a downstream
 * with little to pull from a busy upstream still gets quick replies. */
#define XC_SYNC_PULL_SCAN 50000
/* Change-log entries one pass of pruning deletes. */
#define XC_SYNC_PRUNE_STEP 20000
/* Records one GetDigest page lists. */
#define XC_SYNC_DIGEST_PAGE 20000
/* Differences VerifySync names at most, and by default. */
#define XC_SYNC_MAX_DIFFERENCES 1000
#define XC_SYNC_DEFAULT_DIFFERENCES 100
/* A downstream that has not pulled for this long no longer holds back
 * pruning; when it comes back it catches up from a snapshot. */
#define XC_SYNC_PEER_RETENTION_MS (30LL * 24 * 3600 * 1000)
/* Deadline of one call to the upstream. */
#define XC_SYNC_CALL_TIMEOUT_MS 60000
/* Sync interval bounds, in seconds. */
#define XC_SYNC_MIN_INTERVAL 1
#define XC_SYNC_MAX_INTERVAL 86400

/* ------------------------------------------------------ shared (xc_sync.c) */

/* Returns the kind named `name` ("finding", ...) or XC_KIND_COUNT. */
xc_kind xc_sync_kind_of(const char *name);

/*
 * Checks that `who` may push for server `server`: who is office:<code> of
 * exactly that server's region and the server is a downstream of this one.
 * XC_EPERMISSION_DENIED or XC_EFAILED_PRECONDITION otherwise, in words.
 */
int xc_sync_check_peer(const xc_identity *who, const char *server, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Checks every change of a pushed batch before anything is written: a
 * known kind; a record that decodes with the change's id; an origin that is
 * the pusher or a server below it; an owner at home on that origin; owner
 * and region inside the pusher's region. XC_EPERMISSION_DENIED (a record
 * outside the pusher's jurisdiction; the message names it) or
 * XC_EINVALID_ARGUMENT. Also logs a refusal.
 */
int xc_sync_check_push(const char *pusher, Xuncha__V1__Change *const *changes, size_t n,
                       xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Applies changes (each with origin and origin_seq set) in one durable
 * write: a change whose origin_seq is not above what this store holds of
 * its origin is skipped; others are stored as replicas, and a child record
 * whose parent is at home here re-derives the parent. In the same write,
 * the sync value cursor_name (if not NULL) is set to cursor_value, and
 * `peer_time_name` (if not NULL) to the time. who (may be NULL) is the
 * audit entry. Sets *applied and *skipped.
 */
int xc_sync_apply(xc_store *store, Xuncha__V1__Change *const *changes, size_t n,
                  const char *cursor_name, uint64_t cursor_value, const char *peer_time_name,
                  const xc_audit_entry *who, uint32_t *applied, uint32_t *skipped, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Builds the reply to a Pull by downstream req->server: the changes of
 * this log after req->after_seq that were made outside the puller's part
 * of the federation and concern its region (leads only when their agency
 * is at home on it), at most req->max_changes (0: the default batch) and
 * XC_SYNC_MAX_BATCH_BYTES, looking at no more than XC_SYNC_PULL_SCAN
 * entries. When the log no longer holds the changes after after_seq (or
 * req continues a snapshot), a page of the current records instead
 * (PullResponse.snapshot). XC_EFAILED_PRECONDITION when after_seq is past
 * the end of this log. The caller owns *out.
 */
int xc_sync_collect_pull(xc_store *store, const Xuncha__V1__PullRequest *req,
                         Xuncha__V1__PullResponse **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Records that downstream `peer` pulled up to after_seq (its cursor) and
 * prunes what every peer and the upstream hold.
 */
int xc_sync_note_pull(xc_store *store, const char *peer, uint64_t after_seq, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Deletes change-log entries every reader has: the upstream (if any) has
 * acknowledged them, and every downstream has pulled past them. Bounded by
 * XC_SYNC_PRUNE_STEP per call.
 */
int xc_sync_prune(xc_store *store, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Digests of the records each of `origins` owns (the records whose owner is
 * at home on that origin), as `asker` should hold them: all of them for an
 * origin at or below the asker, only those the asker pulls for others (NULL
 * asker: all). With list_origin set, lists that origin's records after
 * after_id instead (a page of XC_SYNC_DIGEST_PAGE). The caller owns *out.
 */
int xc_sync_digest(xc_store *store, const char *asker, char *const *origins, size_t n_origins,
                   const char *list_origin, const char *after_id,
                   Xuncha__V1__DigestResponse **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* ------------------------------------- document content (xc_sync_content.c) */

/* The most content references one HasContent call may carry. */
#define XC_SYNC_MAX_CONTENT_REFS XC_SYNC_MAX_BATCH

typedef struct xc_client xc_client;

/* Sets held[i] for each ref: 1 when this store holds that content. */
int xc_sync_has_content(xc_store *store, Xuncha__V1__ContentRef *const *refs, size_t n,
                        protobuf_c_boolean *held, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Stores one chunk a downstream sends (PutContent). At the last chunk the
 * stored chunks are hashed and become the content only if size and digest
 * match (XC_EDATA_LOSS otherwise, and they are dropped). *complete is 1
 * when the content is held now.
 */
int xc_sync_put_content(xc_store *store, const Xuncha__V1__PutContentRequest *req, int *complete,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/* Reads one chunk of a held content (GetContent). The caller owns *out. */
int xc_sync_get_content(xc_store *store, const Xuncha__V1__GetContentRequest *req,
                        Xuncha__V1__GetContentResponse **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Engine: before pushing changes, sends the upstream the content of their
 * documents it lacks. */
int xc_sync_send_contents(xc_store *store, xc_client *cl, Xuncha__V1__Change *const *changes,
                          size_t n, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Engine: before applying pulled changes, fetches the content of their
 * documents this store lacks. */
int xc_sync_fetch_contents(xc_store *store, xc_client *cl, Xuncha__V1__Change *const *changes,
                           size_t n, xc_err *err) XC_WARN_UNUSED_RESULT;

/* ---------------------------------------------- the engine (xc_sync_engine.c) */

typedef struct xc_sync_options {
  xc_store *store;
  const char *upstream;  /* HOST:PORT; NULL or "": this server has no upstream */
  const char *cert_file; /* this server's client certificate for the upstream */
  const char *key_file;
  const char *ca_file;   /* the CA of the upstream's server certificate */
  int interval_s;        /* between background syncs */
  int batch;             /* changes per Push and Pull */
} xc_sync_options;

/* Starts the engine (copies opt); without an upstream it only serves
 * status. */
int xc_sync_start(const xc_sync_options *opt, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Stops the engine: a call to the upstream in flight is cancelled, a write
 * in flight completes. NULL-safe to call when not started. */
void xc_sync_stop(void);

/* Asks for a sync now. XC_EFAILED_PRECONDITION without an upstream. Sets
 * *pending (changes not yet acknowledged upstream) and the upstream name. */
int xc_sync_trigger(xc_store *store, uint64_t *pending, const char **upstream, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Fills a status (the caller owns *out). */
int xc_sync_status(xc_store *store, Xuncha__V1__SyncStatus **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Compares this server's records with its upstream's (blocks on the
 * network; call from a worker thread). The caller owns *out. */
int xc_sync_verify(xc_store *store, uint32_t max_differences, Xuncha__V1__VerifySyncResponse **out,
                   xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_SYNC_H */
