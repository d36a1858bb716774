/*
 * xc_store.h: the record store of xuncha, on LMDB.
 *
 * One LMDB environment holds a named database per record kind (key: record
 * id, value: one format-version byte then the packed protobuf record), one
 * index database (every List filter has an index, so a filtered list never
 * scans all records), the request-id table that makes creates idempotent, an
 * ordered change log, and a meta database (format version, page-token
 * secret, the change log's last sequence number). The id generator keeps no
 * state on disk, on purpose: see xc_store_id.c for why ids stay unique, even
 * across a restore from backup.
 *
 * Writes: every write goes through one writer thread. xc_store_write() queues
 * a function and blocks (or suspends its task: xc_store_set_suspender) until
 * the transaction that ran it is durable; the writer runs every function
 * queued meanwhile in one LMDB write transaction and one sync: group commit.
 * One failing function leaves the others alone: the batch then runs again
 * with each function in a nested transaction, so only the failing one is
 * rolled back. A lone write is not held back waiting for company.
 * MDB_MAP_FULL aborts the batch, grows the map and replays it.
 * Every record change appends to the change log in the same transaction.
 *
 * Reads: xc_snapshot_begin() opens an LMDB read transaction (MDB_NOTLS, so
 * snapshots may be used from any thread, one thread at a time). Reads never
 * wait on writes.
 *
 * Records are the protobuf-c structs of proto/xuncha/v1/xuncha.proto. Every
 * record this module hands out has unpacked ownership: the caller frees it
 * with xc_msg_free() (protobuf_c_message_free_unpacked(msg, NULL)).
 *
 * This module knows nothing of gRPC. It does not check access rights or field
 * values: the server does that before calling it. It does enforce ids, etags,
 * times, owners and authors, which callers cannot forge through it.
 */
#ifndef XC_STORE_H
#define XC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_limits.h"
#include "xc_status.h"
#include "xuncha/v1/archive.pb-c.h"
#include "xuncha/v1/reports.pb-c.h"
#include "xuncha/v1/xuncha.pb-c.h"

/* The record kinds. The values are stored on disk: never renumber them. */
typedef enum xc_kind {
  XC_KIND_TARGET = 0,
  XC_KIND_ROUND = 1,
  XC_KIND_GROUP = 2,
  XC_KIND_FINDING = 3,
  XC_KIND_LEAD = 4,
  XC_KIND_DIRECTORY = 5,    /* DirectoryEntry, id prefix 'd' */
  XC_KIND_PROGRESS = 6,     /* ProgressEntry, 'p' */
  XC_KIND_VERIFICATION = 7, /* Verification, 'v' */
  XC_KIND_DISPOSITION = 8,  /* LeadDisposition, 'x' */
  XC_KIND_TERM = 9,         /* Term (届, reports.proto), 'n' */
  /* 10 is kept free. A kind with no record type is a gap: xc_kind_used()
   * is 0. */
  XC_KIND_DOCUMENT = 11,    /* Document (archive.proto), 'a' */
  XC_KIND_INSPECTOR = 12,   /* Inspector (archive.proto), 'i' */
  XC_KIND_COUNT = 13
} xc_kind;

/* Returns 1 if kind is below XC_KIND_COUNT and has a record type (is not
 * one of the numbers kept free for other work). */
int xc_kind_used(xc_kind kind);

/* Returns "target", "round", "group", "finding", "lead", "directory",
 * "progress", "verification" or "disposition". */
const char *xc_kind_name(xc_kind kind);

/* Returns the protobuf-c descriptor of the kind's record message. */
const ProtobufCMessageDescriptor *xc_kind_descriptor(xc_kind kind);

/* The id prefix of the kind: 't', 'r', 'g', 'f' or 'l'. Ids are "<p>_" + 26
 * Crockford base-32 characters (48-bit millisecond time, 80 random bits). */
char xc_kind_id_prefix(xc_kind kind);

/* Returns 1 if id is well formed for the kind (prefix and 26 base-32 chars). */
int xc_id_valid(xc_kind kind, const char *id);

typedef struct xc_store xc_store;

typedef struct xc_store_options {
  const char *dir;      /* the environment's directory; created if missing */
  size_t map_size;      /* initial map size in bytes; 0: 64 MiB */
  size_t map_max;       /* the map never grows past this; 0: 1 TiB */
  unsigned max_readers; /* LMDB reader slots; 0: 256 */
  /* Most functions one commit may group; 0: 256. */
  unsigned max_batch;
  /* The audit chain's hash for a new store: "sha256" (NULL) or "sm3"; an
   * existing store keeps the one it was made with (xc_store_audit.h). */
  const char *audit_hash;
} xc_store_options;

/*
 * Opens (creating if needed) the store in opt->dir, clears stale reader
 * slots, checks the format version and starts the writer thread. A database
 * of an unknown newer format is refused with XC_EFAILED_PRECONDITION. The
 * caller owns *out and closes it with xc_store_close().
 */
int xc_store_open(const xc_store_options *opt, xc_store **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Finishes every queued write and running backup, stops the writer and
 * closes the environment. No snapshot may be open. NULL is accepted.
 */
void xc_store_close(xc_store *store);

/* Copies the store's 32-byte secret (made at creation) for page tokens. */
void xc_store_secret(const xc_store *store, uint8_t out[32]);

/* ------------------------------------------------------------------ reads */

typedef struct xc_snapshot xc_snapshot;

/* Opens a consistent read view. The caller ends it with xc_snapshot_end(). */
int xc_snapshot_begin(xc_store *store, xc_snapshot **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Ends a read view. NULL is accepted. */
void xc_snapshot_end(xc_snapshot *snap);

/*
 * Loads the record `id` of `kind`. Returns XC_OK and a record the caller owns
 * in *out, or XC_ENOT_FOUND (message names the kind and id), or
 * XC_EDATA_LOSS if the stored value does not decode.
 */
int xc_snapshot_get(xc_snapshot *snap, xc_kind kind, const char *id,
                    ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* The indexes a scan can walk. Within one key, records come in id order,
 * which is creation order. */
typedef enum xc_index {
  XC_INDEX_ALL = 0,    /* key ignored: every record of the kind */
  XC_INDEX_REGION = 1, /* key: any region code prefix ("" = all) */
  XC_INDEX_ROUND = 2,  /* key: round id (groups, findings, leads) */
  XC_INDEX_TARGET = 3, /* key: target id (rounds, groups, findings, leads) */
  /* key: the decimal enum value of the kind's status: round stage,
   * rectification status of a finding, lead disposal */
  XC_INDEX_STATUS = 4,
  /* key: a region prefix of the owner office's code (leads: "offices above") */
  XC_INDEX_OWNER = 5,
  XC_INDEX_RECIPIENT = 6, /* key: a lead's (or disposition's) recipient; a
                            directory entry's identity */
  /* key: the parent record's id: the finding of a progress entry or a
   * verification, the lead of a disposition */
  XC_INDEX_PARENT = 7,
  /*
   * Date indexes for figures that change with the clock (reports). Their
   * key text is "<region prefix>|<round id>|<YYYY-MM-DD>", one entry per
   * administrative level of the record's region, and voided records have
   * none. Walk them with xc_snapshot_count_before, not xc_snapshot_scan.
   */
  XC_INDEX_DUE = 8,      /* findings not done with a deadline: the deadline */
  XC_INDEX_ACTIVE = 9,   /* findings open (未整改/已报方案/整改中): the newest
                            progress entry's date, else the creation date (CST) */
  XC_INDEX_REPORT = 10   /* leads with no disposition yet (待处置): the
                            transfer date, else the creation date (CST) */
} xc_index;

/*
 * Called once per record found. The callee takes ownership of rec. Returns 0
 * to go on, 1 to stop, or a negative xc_code to stop with that error. It is
 * called with no lock or LMDB state of the store held, so it may read (this
 * or another snapshot) and even call xc_store_write.
 */
typedef int (*xc_scan_fn)(void *ctx, ProtobufCMessage *rec);

/*
 * Walks the records of `kind` under index `index` with key `key`, in id
 * order, starting strictly after `after_id` (NULL or "": from the start), and
 * calls visit for each. For XC_INDEX_REGION and XC_INDEX_OWNER any prefix
 * works: the walk uses the longest indexed level (2, 4, 6, 9, 12 digits)
 * within it and skips records outside the prefix. Returns XC_OK, the error a
 * visit returned, or a storage error.
 */
int xc_snapshot_scan(xc_snapshot *snap, xc_kind kind, xc_index index, const char *key,
                     const char *after_id, xc_scan_fn visit, void *ctx, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Called once per record found by xc_snapshot_scan_raw, with the record as
 * stored: its id (id_len bytes, not NUL-terminated) and its packed protobuf
 * bytes (len bytes). Both are valid only during the call and are not the
 * callee's. Returns like xc_scan_fn. Called with no lock or LMDB state of
 * the store held.
 */
typedef int (*xc_scan_raw_fn)(void *ctx, const char *id, size_t id_len, const uint8_t *rec,
                              size_t len);

/*
 * Like xc_snapshot_scan, but hands each record over packed, as stored,
 * without unpacking it (for replies that copy records as they are). The
 * REGION and OWNER prefix post-filter is applied as xc_snapshot_scan does.
 */
int xc_snapshot_scan_raw(xc_snapshot *snap, xc_kind kind, xc_index index, const char *key,
                         const char *after_id, xc_scan_raw_fn visit, void *ctx, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Like xc_snapshot_get, but hands the record to visit packed, as stored
 * (see xc_scan_raw_fn), and returns what visit returns (a positive value
 * as XC_OK). XC_ENOT_FOUND when there is no such record.
 */
int xc_snapshot_get_raw(xc_snapshot *snap, xc_kind kind, const char *id, xc_scan_raw_fn visit,
                        void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns the sequence number of the newest change in the log (0: none). */
uint64_t xc_snapshot_last_change(xc_snapshot *snap);

/*
 * Calls visit with each change after `after_seq`, in order, until it returns
 * non-zero. The callee takes ownership of the Xuncha__V1__Change.
 */
int xc_snapshot_changes(xc_snapshot *snap, uint64_t after_seq, xc_scan_fn visit, void *ctx,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/* ----------------------------------------------------------------- writes */

/* The writer's transaction, valid only during the xc_write_fn it is given. */
typedef struct xc_txn xc_txn;

/*
 * A unit of work for the writer. It runs in its own nested transaction:
 * returning a negative xc_code rolls back its changes only. It may run more
 * than once (the batch is replayed after the map grows), so it must set its
 * outputs afresh each time and touch nothing outside txn and ctx.
 */
typedef int (*xc_write_fn)(xc_txn *txn, void *ctx, xc_err *err);

/*
 * Runs fn on the writer thread and returns its result once the transaction
 * holding it is durable. A commit failure fails every function of the batch:
 * XC_ERESOURCE_EXHAUSTED when the disk or the map limit is full,
 * XC_EUNAVAILABLE for other I/O errors. A function that returns success
 * after one of the xc_txn_ calls below failed midway is rolled back anyway,
 * and that failure is returned. Calling xc_store_write from inside a write
 * function returns XC_EINTERNAL (it would wait for itself).
 */
int xc_store_write(xc_store *store, xc_write_fn fn, void *ctx, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* The wall-clock time of this write, in ms since the epoch (same for a txn). */
int64_t xc_txn_now_ms(const xc_txn *txn);

/* Like xc_snapshot_get, inside the write transaction (sees its own writes). */
int xc_txn_get(xc_txn *txn, xc_kind kind, const char *id, ProtobufCMessage **out,
               xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Like xc_snapshot_scan, inside the write transaction (sees its own writes),
 * for write functions that derive a record's status from its children. The
 * visitor must not call xc_store_write.
 */
int xc_txn_scan(xc_txn *txn, xc_kind kind, xc_index index, const char *key,
                const char *after_id, xc_scan_fn visit, void *ctx, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Stores rec as a new record: assigns a fresh id, etag, create/update times,
 * owner, created_by and updated_by (author), overwriting whatever rec held
 * there (rec is modified). Writes indexes and a change-log entry. If out is
 * not NULL, *out receives a copy of the stored record, owned by the caller.
 */
int xc_txn_create(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *owner,
                  const char *author, ProtobufCMessage **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Replaces the stored record rec->id with rec. rec->etag must equal the
 * stored etag (XC_EABORTED otherwise, naming both). Keeps the stored id,
 * region_code, owner, create time and created_by; sets a new etag, update time
 * and updated_by (rec is modified). Rewrites changed index entries and
 * appends a change-log entry. XC_ENOT_FOUND if there is no such record.
 */
int xc_txn_update(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *author,
                  ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Idempotent creation. Looks up (scope, kind, request_id): if it was used,
 * returns XC_OK with *out = the record it created when fingerprint matches,
 * or XC_EALREADY_EXISTS when the first request differed. Otherwise creates
 * rec as xc_txn_create does and remembers the request id. `scope` is the
 * caller's identity (request ids of different offices never collide);
 * `fingerprint` is a hash of the request, 32 bytes. An empty request_id
 * simply creates. A request_id over XC_MAX_REQUEST_ID_BYTES gives
 * XC_EINVALID_ARGUMENT.
 */
int xc_txn_create_once(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *owner,
                       const char *author, const char *scope, const char *request_id,
                       const uint8_t fingerprint[32], ProtobufCMessage **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Returns 1 if (scope, kind, request_id) was used by xc_txn_create_once in
 * this store (committed or earlier in txn), 0 if not, or a negative xc_code
 * with err filled in. Imports use it to tell new rows from rows imported
 * before.
 */
int xc_txn_request_used(xc_txn *txn, xc_kind kind, const char *scope, const char *request_id,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Convenience: one xc_store_write running xc_txn_create_once. rec is the
 * caller's and is not modified; *out receives the stored record.
 */
int xc_store_create(xc_store *store, xc_kind kind, const ProtobufCMessage *rec,
                    const char *owner, const char *author, const char *scope,
                    const char *request_id, const uint8_t fingerprint[32],
                    ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Convenience: one xc_store_write running xc_txn_update. rec is the caller's
 * and is not modified; *out receives the stored record.
 */
int xc_store_update(xc_store *store, xc_kind kind, const ProtobufCMessage *rec,
                    const char *author, ProtobufCMessage **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Counters for tests and, later, stats. */
typedef struct xc_store_stats {
  uint64_t commits;       /* durable commits in which a function succeeded */
  uint64_t writes;        /* write functions run to success */
  uint64_t map_growths;   /* times the map was grown */
  size_t map_size;        /* current map size, bytes */
  size_t queued;          /* writes waiting for the writer right now */
} xc_store_stats;

void xc_store_get_stats(xc_store *store, xc_store_stats *out);

/*
 * A way for a caller that runs many tasks on one thread (xunchad runs each
 * unary call as a fiber on its completion-queue thread) to wait for a write
 * without blocking that thread, so the writer can gather the writes of many
 * calls into one commit while that thread goes on serving.
 *
 * xc_store_write calls current(arg) on the calling thread: NULL means "block
 * this thread as usual"; anything else names the running task. The job is
 * then queued and suspend(arg, task) is called, which must give up the
 * thread and return only after resume(arg, task) was called for that task.
 * resume runs on the writer thread (or a backup's thread: xc_store_backup) once the task's write is durable (or has
 * failed) and its result is set; it must not block and must not call into
 * the store. Each suspended task is resumed exactly once.
 */
typedef struct xc_store_suspender {
  void *(*current)(void *arg);
  void (*suspend)(void *arg, void *task);
  void (*resume)(void *arg, void *task);
  void *arg;
} xc_store_suspender;

/*
 * Installs s (copied), or removes the suspender with NULL. Only while no
 * write is in progress: set it before the first write, clear it after the
 * last.
 */
void xc_store_set_suspender(xc_store *store, const xc_store_suspender *s);

/* ------------------------------------------------------------ content */

/*
 * Document content (server/ARCHIVE.md), kept in three databases of the same
 * environment, so a copy of the environment (mdb_env_copy2, `admin backup`)
 * always holds every record together with all the content it names:
 *   blob     [16-byte content id][4-byte big-endian chunk index] -> bytes
 *   content  [1-byte algorithm][32-byte digest] -> xc_content_info
 *   upload   [16-byte content id] -> 8-byte start time (ms): content still
 *            being uploaded. xc_store_open deletes every such upload with
 *            its chunks: at open no upload can be in progress.
 * An upload writes each chunk in its own small write (xc_txn_upload_chunk,
 * one group-commit member), so a slow upload never holds the writer; the
 * write that finishes it (xc_txn_upload_finish) either names the chunks as
 * the content of its digest or, when that content exists already, drops
 * them: the same bytes are stored once.
 */
#define XC_CONTENT_ID_LEN 16
#define XC_DIGEST_LEN 32

/* What the content database says about one stored content. */
typedef struct xc_content_info {
  int algorithm;                    /* HashAlgorithm */
  uint8_t digest[XC_DIGEST_LEN];
  uint8_t content_id[XC_CONTENT_ID_LEN]; /* where its chunks are */
  uint64_t size;                    /* bytes in all */
  uint32_t chunks;                  /* chunk count */
} xc_content_info;

/*
 * Stores chunk `index` of upload `content_id` (len <= XC_ARCHIVE_CHUNK_BYTES).
 * Chunk 0 also records the upload as pending. Returns XC_OK or a storage
 * error (the txn is then broken).
 */
int xc_txn_upload_chunk(xc_txn *txn, const uint8_t content_id[XC_CONTENT_ID_LEN], uint32_t index,
                        const void *data, size_t len, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Completes an upload of `chunks` chunks and `size` bytes whose content has
 * `digest` under `algorithm`. If that content is stored already, the
 * upload's chunks are deleted and *out describes the stored content, with
 * *deduplicated = 1; otherwise the chunks become that content. Either way
 * the upload is no longer pending. XC_EFAILED_PRECONDITION when the upload
 * is not pending (never started, or swept).
 */
int xc_txn_upload_finish(xc_txn *txn, const uint8_t content_id[XC_CONTENT_ID_LEN],
                         int algorithm, const uint8_t digest[XC_DIGEST_LEN], uint64_t size,
                         uint32_t chunks, xc_content_info *out, int *deduplicated,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

/* Deletes a pending upload and its chunks (nothing if it is not pending). */
int xc_txn_upload_abort(xc_txn *txn, const uint8_t content_id[XC_CONTENT_ID_LEN],
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/* Looks up the content of digest: XC_OK, XC_ENOT_FOUND or a storage error. */
int xc_snapshot_content(xc_snapshot *snap, int algorithm, const uint8_t digest[XC_DIGEST_LEN],
                        xc_content_info *out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Copies chunk `index` of content `content_id` into buf (cap bytes) and sets
 * *len. XC_EDATA_LOSS when the chunk is missing or larger than cap.
 */
int xc_snapshot_chunk(xc_snapshot *snap, const uint8_t content_id[XC_CONTENT_ID_LEN],
                      uint32_t index, void *buf, size_t cap, size_t *len,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Calls visit for each stored content in (algorithm, digest) order,
 * starting after `after` (NULL: from the start), until it returns non-zero
 * (a negative value is returned as the error).
 */
typedef int (*xc_content_fn)(void *ctx, const xc_content_info *info);
int xc_snapshot_contents(xc_snapshot *snap, const xc_content_info *after, xc_content_fn visit,
                         void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Counts pending uploads (for tests and operators). */
int xc_snapshot_pending_uploads(xc_snapshot *snap, uint64_t *out,
                                xc_err *err) XC_WARN_UNUSED_RESULT;

/* What operators watch (xuncha.v1.Admin/GetStats): sizes now. */
typedef struct xc_store_info {
  uint64_t file_bytes;    /* the data file's size on disk */
  uint64_t map_bytes;     /* the current map size */
  uint64_t map_max_bytes; /* the map is never grown past this */
  uint64_t used_bytes;    /* pages in use (last page number + 1, times the page size) */
  unsigned max_readers;   /* reader slots */
  unsigned readers_used;  /* slots held by live read transactions */
  uint64_t last_change;   /* the newest change-log sequence number */
  uint64_t records[XC_KIND_COUNT]; /* records of each kind */
  int migrated;            /* 1 if xc_store_open migrated the store */
  uint64_t migrated_from;  /* then: the format it had */
  unsigned format;         /* the format it has now */
} xc_store_info;

/*
 * Fills *out from LMDB (mdb_env_info, mdb_env_stat, mdb_reader_list,
 * mdb_stat) in one short read transaction. Returns XC_OK or a storage error.
 */
int xc_store_get_info(xc_store *store, xc_store_info *out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Hot backup: writes a compacting copy of the store (free pages left out)
 * to <dir>/data.mdb, from one read transaction, so the copy is a consistent
 * snapshot of some moment during the call while writes go on. dir is a path
 * on this machine; it must be absolute, exist, and be empty (nothing is ever
 * overwritten). The copy is synced before this returns. Restore: stop the
 * server, put the copy's data.mdb in place of the data directory's (no
 * lock.mdb needed), start. Sets *bytes (if not NULL) to the copy's size.
 * Returns XC_OK, XC_EINVALID_ARGUMENT (relative path),
 * XC_EFAILED_PRECONDITION (missing, not a directory, not empty),
 * XC_ERESOURCE_EXHAUSTED (the disk holding dir is full) or XC_EUNAVAILABLE;
 * on failure no data.mdb is left in dir. The copy runs on a thread of its
 * own; with a suspender installed (xc_store_set_suspender) the calling task
 * is suspended until it ends, and resume is then called from that thread.
 */
int xc_store_backup(xc_store *store, const char *dir, uint64_t *bytes, xc_err *err)
    XC_WARN_UNUSED_RESULT;
/* ------------------------------------------------------------- counters */

/*
 * Maintained counts for reports (xc_store_counter.c). Every create and
 * update of a group, finding or lead changes, in the same transaction, the
 * counters its old and new versions contribute to: key (region prefix at
 * each administrative level of the record's region, round id, metric) ->
 * int64. A voided record contributes nothing, so a void is a delta like
 * any other. Metrics:
 *   group:    "g"
 *   finding:  "f", "fa:<area>", "ft:<tag>" (each distinct tag), "fc"
 *             (done or verified), "fv" (verified), "fp" (paper-only: done or
 *             verified with no evidence entry), "fw" (verified while work
 *             remains), "tf:<target id>" (findings), "to:<target id>"
 *             (findings not verified), "dd:<deadline>" (open findings with
 *             that deadline), "da:<date>" (open findings whose newest progress
 *             entry, else creation (CST), is of that date)
 *   lead:     "l", "lc" (a case filed: 立案 and later), "lr:<recipient>",
 *             "lrc:<recipient>" (cases), "dr:<date>" (leads with no disposition
 *             yet, by transfer date, else creation date), "ps"/"pt" (sanctions: persons,
 *             person-times), "os"/"ot" (organizational handling), "js"/"jt"
 *             (judicial transfers)
 * Counters that reach 0 are removed.
 */
typedef int (*xc_counter_fn)(void *ctx, const char *metric, int64_t value);

/*
 * Calls visit(ctx, metric, value) for every counter of round_id under
 * region (a code of 2, 4, 6, 9 or 12 digits; XC_EINVALID_ARGUMENT
 * otherwise), in metric order. visit returns 0 to go on, non-zero to stop
 * (a negative xc_code is returned). metric is valid only during the call.
 */
int xc_snapshot_counters(xc_snapshot *snap, const char *region, const char *round_id,
                         xc_counter_fn visit, void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Counts the entries of date index `index` (XC_INDEX_DUE, XC_INDEX_ACTIVE or
 * XC_INDEX_REPORT) of `kind` for region (a level code) and round_id whose
 * date is strictly before `before` (YYYY-MM-DD), into *count. Reads only
 * index keys: no record is decoded.
 */
int xc_snapshot_count_before(xc_snapshot *snap, xc_kind kind, xc_index index,
                             const char *region, const char *round_id, const char *before,
                             uint64_t *count, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * The contribution of one record to the counters, for tests that check the
 * maintained counts against a full scan: calls visit(ctx, metric, 1 or n)
 * per metric of rec (nothing when voided). Region levels are not applied.
 */
void xc_store_contributions(xc_kind kind, const ProtobufCMessage *rec, xc_counter_fn visit,
                            void *ctx);

#endif /* XC_STORE_H */
