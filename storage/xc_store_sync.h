/*
 * xc_store_sync.h: what federation (server/SYNC.md) needs of the store.
 *
 * A record received from another server is stored as it came: the same
 * packed bytes, so id, etag, owner, times and authors are the owner's, and
 * a replica is byte for byte the record on its home server. It gets index
 * entries and counters like any record, and a change-log entry that keeps
 * the change's origin server and its sequence number there, so it can be
 * handed on (township -> county -> city) without losing who made it.
 *
 * Progress is kept in the "sync" database as named unsigned 64-bit values,
 * written in the same transaction as the records they describe:
 *   "origin/<server>"    the highest origin_seq of <server> applied here
 *   "push/<server>"      this server's log seq that upstream <server> holds
 *   "pull/<server>"      upstream <server>'s log seq pulled so far
 *   "peer/<server>/..."  what a downstream server has pushed and pulled
 * Because the values commit with the records, a batch applied twice finds
 * its origin_seq already covered and changes nothing, and an interrupted
 * sync resumes exactly where its last commit left it.
 *
 * Like the rest of the storage API this knows nothing of gRPC or of who may
 * push what: the server checks that before calling it.
 */
#ifndef XC_STORE_SYNC_H
#define XC_STORE_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"
#include "xc_store.h"

/* The longest name of a value in the sync database, in bytes. */
#define XC_SYNC_KEY_MAX 200

/*
 * Stores `packed` (len bytes: a packed record of `kind`, as in a Change)
 * as the record it holds, replacing the stored one of the same id if any,
 * and appends a change-log entry with op "create" or "update", the
 * record's etag and updated_by, and origin / origin_seq. Refuses with
 * XC_EINVALID_ARGUMENT a record that does not decode, has no well-formed
 * id of the kind, no owner or no etag, and with XC_EFAILED_PRECONDITION a
 * record whose stored copy has another owner (an owner never changes, so
 * that would be a different record under a colliding id). *changed is set
 * to 0 when the stored bytes were already exactly these (nothing written),
 * else 1.
 */
int xc_txn_replicate(xc_txn *txn, xc_kind kind, const uint8_t *packed, size_t len,
                     const char *origin, uint64_t origin_seq, int *changed, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Reads the value `name` of the sync database (0 when absent). */
int xc_txn_sync_get(xc_txn *txn, const char *name, uint64_t *out, xc_err *err)
    XC_WARN_UNUSED_RESULT;
int xc_snapshot_sync_get(xc_snapshot *snap, const char *name, uint64_t *out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Sets the value `name` of the sync database. */
int xc_txn_sync_put(xc_txn *txn, const char *name, uint64_t value, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Calls visit(ctx, name, value) for every value whose name starts with
 * prefix, in name order; visit returns non-zero to stop.
 */
typedef int (*xc_sync_value_fn)(void *ctx, const char *name, uint64_t value);
int xc_snapshot_sync_values(xc_snapshot *snap, const char *prefix, xc_sync_value_fn visit,
                            void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Deletes change-log entries with seq <= upto, oldest first, at most `max`
 * of them, and sets *removed. The newest seq (meta last_seq) is kept
 * whatever is deleted, so sequence numbers never go back.
 */
int xc_txn_log_prune(xc_txn *txn, uint64_t upto, size_t max, size_t *removed, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Sets *first to the oldest seq the change log holds (0: empty) and
 * *entries to how many it holds. */
int xc_snapshot_log_info(xc_snapshot *snap, uint64_t *first, uint64_t *entries, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Called for each stored record of a kind, with its id (id_len bytes, not
 * NUL-terminated) and packed bytes (no format byte), copies valid only
 * during the call. It is called with no lock of the store held, so it may
 * read the store. Returns 0 to go on, 1 to stop, a negative xc_code to
 * fail.
 */
typedef int (*xc_raw_fn)(void *ctx, xc_kind kind, const char *id, size_t id_len,
                         const uint8_t *packed, size_t len);

/*
 * Walks every record of `kind` in id order from after `after_id` (NULL or
 * "": the start), with no decoding (xc_snapshot_scan_raw over the kind's
 * own database): for digests and snapshots of many records.
 */
int xc_snapshot_walk_kind(xc_snapshot *snap, xc_kind kind, const char *after_id, xc_raw_fn visit,
                          void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_STORE_SYNC_H */
