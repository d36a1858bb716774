/*
 * xc_store_int.h: what the storage module's source files share. Not part of
 * the storage API: nothing outside storage/ includes it, and no MDB_val or
 * LMDB handle ever leaves this module.
 *
 * Layout on disk (format 1), one LMDB environment:
 *   meta       "format" -> 1 byte (1); "secret" -> 32 random bytes;
 *              "last_seq" -> uint64 big-endian, the newest change-log seq
 *   target, round, group, finding, lead, directory, progress, verification,
 *   disposition (the last four added by the workflows; old stores gain them
 *   empty when opened)
 *              record id -> 1 format byte (1) + packed protobuf record
 *   index      [kind byte][index byte][key text] NUL [record id] -> empty
 *   request    scope NUL [kind byte] request_id -> record id NUL + 32-byte
 *              fingerprint
 *   changelog  uint64 big-endian seq -> packed Xuncha__V1__Change
 *   term (kind 9), document, inspector (archive kinds 11 and 12; 10 is free)
 *   blob, content, upload: document content (xc_store.h, xc_store_blob.c)
 *   counter    region prefix NUL round id NUL metric -> int64 little-endian
 *              (format 2; xc_store_counter.c)
 *   audit, audit_ckpt and the meta keys audit_*: see xc_store_audit.h
 *
 * Stores of older formats are migrated at open (xc_store_migrate.c, which
 * describes each format); to change this layout, raise XC__FORMAT and add a
 * step there.
 */
#ifndef XC_STORE_INT_H
#define XC_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xc_store.h"
#include "xc_store_audit.h"

/* The on-disk format this build writes and understands. */
#define XC__FORMAT 2

/* The format byte in front of every record value (unchanged since format 1). */
#define XC__RECORD_FORMAT 1

/* Length of an id: "<p>_" + 26 base-32 characters. */
#define XC__ID_LEN 28

/* Length of an etag: 16 lowercase hex characters. */
#define XC__ETAG_LEN 16

/* Random bytes drawn ahead for ids: one RAND_bytes call per 32 draws. */
#define XC__IDGEN_POOL 320

/* The id generator's state; used only by the writer thread. */
typedef struct xc__idgen {
  uint64_t last_ms;   /* the time part of the newest id issued */
  uint8_t rnd[10];    /* its 80-bit random part */
  /* Unused random bytes from RAND_bytes, taken from the end; each byte is
   * used once and wiped when taken. */
  uint8_t pool[XC__IDGEN_POOL];
  size_t pool_left;
} xc__idgen;

/*
 * The counter deltas of one batch, summed per counter key and written once
 * before the batch commits (xc_store_counter.c), instead of a read and a
 * write of every counter of every record. Used only by the writer thread;
 * its memory is kept from batch to batch.
 */
typedef struct xc__cent {
  uint64_t hash;
  uint32_t koff;   /* the key's offset in keys */
  uint32_t klen;
  int64_t amount;  /* summed over the jobs of the batch that stand */
} xc__cent;

typedef struct xc__cundo {
  uint32_t ent;
  int64_t amount;
} xc__cundo;

typedef struct xc__cpend {
  uint32_t *slots;   /* open addressing: entry index + 1, 0 when free */
  size_t nslots;     /* a power of two, at least twice n */
  xc__cent *ents;
  size_t n, cap;
  char *keys;        /* the keys' bytes, back to back */
  size_t klen, kcap;
  xc__cundo *undo;   /* what the running job added, to take back */
  size_t nundo, undo_cap;
} xc__cpend;

/* A queued write: filled by xc_store_write, run and completed by the writer. */
typedef struct xc__job {
  xc_write_fn fn;
  void *ctx;
  int result;
  int done;
  xc_err err;
  struct xc__job *next;
  void *task; /* a suspended task to resume when done (NULL: a blocked thread) */
  const xc_audit_entry *audit; /* appended after fn succeeds; NULL: none */
} xc__job;

struct xc_store {
  MDB_env *env;
  MDB_dbi dbi_meta;
  MDB_dbi dbi_kind[XC_KIND_COUNT];
  MDB_dbi dbi_index;
  MDB_dbi dbi_request;
  MDB_dbi dbi_changelog;
  MDB_dbi dbi_blob;    /* document content (xc_store_blob.c) */
  MDB_dbi dbi_content;
  MDB_dbi dbi_upload;
  MDB_dbi dbi_counter; /* reports' maintained counts (xc_store_counter.c) */
  MDB_dbi dbi_audit;
  MDB_dbi dbi_audit_ckpt;
  MDB_dbi dbi_sync;   /* federation cursors (xc_store_sync.c) */
  xc_audit_alg audit_alg; /* fixed at creation (meta "audit_alg") */
  const char *audit_hash_opt; /* xc_store_options.audit_hash, during open only */
  size_t max_key;    /* LMDB's key size limit (511) */
  size_t map_max;    /* the map never grows past this */
  unsigned max_batch;
  uint8_t secret[32];
  char *dir;         /* for messages */

  /* Writer thread only. */
  xc__idgen idgen;
  xc__job **batch;   /* max_batch slots */
  xc__cpend cpend;   /* the running batch's counter deltas */
  int data_fd;       /* LMDB's descriptor of data.mdb (xc__preextend) */
  size_t psize;      /* LMDB's page size */
  unsigned extend_skip; /* batches to wait before trying to extend again */

  /*
   * Growing the map (mdb_env_set_mapsize) unmaps and remaps the data file, so
   * no other thread may be inside an LMDB call that touches the map while it
   * happens. Snapshot operations hold this lock for reading for the length
   * of one call; the writer holds it for writing while it grows the map. A
   * read transaction itself survives the remap: between calls it holds only
   * page numbers and its reader slot, never a pointer into the map.
   */
  pthread_rwlock_t map_lock;

  /* The write queue, the stop flag and the statistics, under mu. */
  pthread_mutex_t mu;
  pthread_cond_t work_cv;  /* signalled when a job is queued or on close */
  pthread_cond_t done_cv;  /* broadcast when a batch completes */
  xc__job *head;
  xc__job *tail;
  int stopping;
  xc_store_stats stats;
  xc_store_suspender suspender; /* current == NULL: none */
  void **resume;                /* writer only: max_batch tasks to resume */

  pthread_t writer;
  int sync_ready;      /* mu, the condvars and map_lock are initialized */
  int writer_started;  /* writer is a joinable thread */
  /* Backups whose copying thread has not finished (under mu; see
   * xc_store_backup): xc_store_close waits for them. */
  unsigned backups;
  /* Set by xc__migrate: the format the store had when this open found it. */
  int migrated;
  uint64_t migrated_from;
};

struct xc_txn {
  xc_store *store;
  MDB_txn *txn;     /* the running job's nested transaction */
  int64_t now_ms;   /* taken once per batch */
  uint64_t seq;     /* the newest change-log seq used so far in this txn */
  /* Set when an LMDB call failed with MDB_MAP_FULL: the batch must be
   * aborted, the map grown and the batch replayed. */
  int map_full;
  /* Set when a call failed after this job had written something: the nested
   * transaction must be aborted even if the job reports success. */
  int broken;
  xc_err broken_err;
  /* The audit chain's head in this txn, loaded once per batch. */
  uint64_t audit_seq;
  uint8_t audit_hash[XC_AUDIT_HASH_BYTES];
  /* The batch's pending counter deltas (the writer's), or NULL: counters
   * are then read and written at once (migration). While a batch runs,
   * dbi_counter does not hold them yet: nothing inside a write
   * transaction may read dbi_counter (nothing does; reports read
   * snapshots, which never see a running transaction anyway). */
  xc__cpend *cpend;
  /* The ids the running job created or updated, comma-separated. */
  char touched[XC_AUDIT_IDS_MAX + 1];
  size_t touched_len;
};

struct xc_snapshot {
  xc_store *store;
  MDB_txn *txn;
};

/* Maps an LMDB or errno code to an xc_code. */
int xc__mdb_code(int mdb_rc);

/*
 * Fills err for a failed LMDB call (`what` says what was being done) and
 * returns the xc_code. When t is not NULL, records MDB_MAP_FULL in t and
 * marks t broken. (Not XC_WARN_UNUSED_RESULT: callers that already hold
 * their result cast it away, which GCC does not accept for that attribute.)
 */
int xc__mdb_fail(xc_txn *t, int mdb_rc, xc_err *err, const char *what);

/* Returns the current wall-clock time in ms since the epoch. */
int64_t xc__now_ms(void);

/* Checks kind and that rec is a record of that kind (XC_EINTERNAL if not). */
int xc__check_kind(xc_kind kind, const ProtobufCMessage *rec, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Writes the next id of `kind` at time now_ms into out (XC__ID_LEN + 1 bytes). */
void xc__id_next(xc__idgen *g, xc_kind kind, int64_t now_ms, char *out);

/* Seeds the generator: fresh random bits, and no id older than floor_ms. */
int xc__idgen_init(xc__idgen *g, uint64_t floor_ms) XC_WARN_UNUSED_RESULT;

/* Returns the time part of a well-formed id (any prefix), 0 if malformed. */
uint64_t xc__id_time_ms(const char *id, size_t len);

/*
 * Loads and decodes record `id` (len bytes) of `kind` in txn. Returns XC_OK,
 * XC_ENOT_FOUND or XC_EDATA_LOSS; LMDB failures are reported through t when
 * t is not NULL.
 */
int xc__record_get(xc_store *s, MDB_txn *txn, xc_txn *t, xc_kind kind, const char *id,
                   size_t len, ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Decodes a stored record value. XC_EDATA_LOSS if it does not decode. */
int xc__record_decode(xc_kind kind, const void *data, size_t len, const char *id,
                      size_t id_len, ProtobufCMessage **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Brings the index entries of record `id` from those of old_rec (NULL for a
 * new record) to those of new_rec. Key lengths are checked before anything
 * is written, so XC_EINVALID_ARGUMENT leaves the txn untouched.
 */
typedef struct xc__keyset xc__keyset;
int xc__index_keys(xc_store *s, xc_kind kind, const ProtobufCMessage *rec, const char *id,
                   xc__keyset **out, xc_err *err) XC_WARN_UNUSED_RESULT;
int xc__index_apply(xc_txn *t, const xc__keyset *old_keys, const xc__keyset *new_keys,
                    xc_err *err) XC_WARN_UNUSED_RESULT;
void xc__keyset_free(xc__keyset *ks);

/*
 * Brings the store from format `from` (< XC__FORMAT) to XC__FORMAT inside
 * txn, the opening write transaction, one step per format, and sets meta
 * "format". The dbi handles must be open. Returns XC_OK, or
 * XC_EFAILED_PRECONDITION when no step leads from `from` (err says so and
 * what to do), or the error of a step; then the caller aborts txn and the
 * store is as it was. See xc_store_migrate.c for the formats.
 */
int xc__migrate(xc_store *s, MDB_txn *txn, uint64_t from, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Deletes every pending upload and its chunks (at open, in txn). Sets *swept
 * to the number of uploads removed. */
int xc__blob_sweep(xc_store *s, MDB_txn *txn, uint64_t *swept, xc_err *err) XC_WARN_UNUSED_RESULT;
/*
 * Brings the counters from those of old_rec (NULL: a new record) to those
 * of new_rec (xc_store_counter.c), in t.
 */
int xc__counter_apply(xc_txn *t, xc_kind kind, const ProtobufCMessage *old_rec,
                      const ProtobufCMessage *new_rec, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Empties p for a new attempt at a batch (keeps its memory unless big). */
void xc__cpend_reset(xc__cpend *p);

/* Starts a job: what it adds from now on can be taken back. */
void xc__cpend_job_begin(xc__cpend *p);

/* Takes back what the running job added (its nested txn was aborted). */
void xc__cpend_job_rollback(xc__cpend *p);

/* Frees p's memory. */
void xc__cpend_free(xc__cpend *p);

/*
 * Adds the summed deltas to dbi_counter in t->txn (the batch's outermost
 * transaction, after its last job), one read and one write per counter.
 * Errors are reported through t (MDB_MAP_FULL sets t->map_full). p is left
 * as it was, so a replay starts with xc__cpend_reset.
 */
int xc__cpend_flush(xc_txn *t, const xc__cpend *p, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Format 1 to 2: rebuilds index entries and counters from the records. */
int xc__counter_rebuild(xc_store *s, MDB_txn *txn, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Writes the China Standard Time date of ms since the epoch into out. */
void xc__date_of_ms(int64_t ms, char out[11]);
/* xc_store_write with an audit entry appended after fn succeeds (who may
 * be NULL). */
int xc__store_write(xc_store *store, xc_write_fn fn, void *ctx, const xc_audit_entry *who,
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Appends change `seq` to the change log: the record `id` of `kind` after
 * the change (rec_len packed bytes, no format byte). origin is "" or NULL
 * for a change made on this server, else the server it came from, with its
 * sequence number there (federation, xc_store_sync.h).
 */
int xc__log_append(xc_txn *t, uint64_t seq, xc_kind kind, const char *id, const char *op,
                   const char *etag, const char *author, const uint8_t *rec, size_t rec_len,
                   const char *origin, uint64_t origin_seq, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Marks t broken after a failure that came after the job's first write. */
void xc__txn_break(xc_txn *t, int rc, const xc_err *err);

/* Packs rec behind the format byte. Returns the buffer (free it) or NULL. */
uint8_t *xc__record_encode(const ProtobufCMessage *rec, size_t *len);

/* Writes the etag of change-log seq (16 lowercase hex digits). */
void xc__etag(uint64_t seq, char out[XC__ETAG_LEN + 1]);

/* Notes that the running job created or updated record `id`. */
void xc__txn_touch(xc_txn *t, const char *id);

/* Loads the audit head into t at the start of a batch (MDB codes). */
int xc__audit_load_head(xc_txn *t);

/* Writes t's audit head to meta (MDB codes). */
int xc__audit_store_head(xc_txn *t);

/* Opens the audit databases and fixes the chain hash in the opening
 * transaction: alg_name ("sha256", "sm3" or NULL) counts only for a store
 * that has none yet. */
int xc__audit_open(xc_store *s, MDB_txn *txn, const char *alg_name, xc_err *err)
    XC_WARN_UNUSED_RESULT;

#endif /* XC_STORE_INT_H */
