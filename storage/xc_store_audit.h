/*
 * xc_store_audit.h: the audit log of the record store.
 *
 * Every call to xunchad leaves one entry: when, which certificate (its CN
 * and serial), the method, the record ids it touched and its status. The
 * entries live in the store's LMDB environment (database "audit", keyed by
 * a sequence number that only grows), so an entry for a change is written
 * in the SAME transaction as the change: xc_store_write_audited appends it
 * after the write function succeeds, with the ids the function created or
 * updated, and the two commit together or not at all.
 *
 * The log is a hash chain: entry n stores hash_n = H(hash_{n-1} || text_n),
 * where text_n is the entry's canonical text (seq, time, cn, serial,
 * method, ids and status, one per line) and hash_0 is 32 zero bytes (or,
 * after pruning, the hash of the last pruned entry). H is SHA-256 or SM3
 * (GB/T 32905, from OpenSSL 3), chosen when the store is created. Editing,
 * deleting or reordering entries breaks the chain at the first entry
 * touched; cutting off the tail is caught by checkpoints: chain heads signed
 * by the server and kept where the log's writer cannot rewrite them (see
 * server/xc_audit.h). Verification takes those as anchors.
 *
 * Layout: audit       be64 seq -> 1 version byte (1), 32-byte hash, text
 *         audit_ckpt  be64 seq, 1 kind byte -> opaque signed checkpoint
 *         meta        "audit_alg" -> 1 byte (1 SHA-256, 2 SM3);
 *                     "audit_head" -> be64 seq + 32-byte hash (the newest);
 *                     "audit_base" -> be64 seq + 32-byte hash (the last
 *                     pruned entry; absent: nothing was pruned)
 */
#ifndef XC_STORE_AUDIT_H
#define XC_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"
#include "xc_store.h"

/* The most bytes of record ids one entry keeps; more are cut, ending "+". */
#define XC_AUDIT_IDS_MAX 1024
/* The longest method path kept in an entry. */
#define XC_AUDIT_METHOD_MAX 160
/* The size of a chain hash (SHA-256 and SM3 both give 32 bytes). */
#define XC_AUDIT_HASH_BYTES 32

typedef enum xc_audit_alg { XC_AUDIT_SHA256 = 1, XC_AUDIT_SM3 = 2 } xc_audit_alg;

/* "sha256" or "sm3". */
const char *xc_audit_alg_name(xc_audit_alg alg);

/* Parses "sha256" or "sm3"; returns 0 and *out, or -1. */
int xc_audit_alg_parse(const char *name, xc_audit_alg *out);

/* The chain hash this store uses (fixed when it was created). */
xc_audit_alg xc_store_audit_alg(const xc_store *store);

/* Computes H(prev || data) with alg into out. Returns 0, or -1 if OpenSSL
 * cannot (SM3 missing from its providers). */
int xc_audit_hash(xc_audit_alg alg, const uint8_t prev[XC_AUDIT_HASH_BYTES], const void *data,
                  size_t len, uint8_t out[XC_AUDIT_HASH_BYTES]);

/* What is recorded for one call. The strings are borrowed and may contain
 * anything: bytes below 0x20 are stored as '?'. */
typedef struct xc_audit_entry {
  int64_t time_ms;    /* when the call ran; 0: the time of the write */
  const char *cn;     /* the caller's certificate CN; NULL or "" if none */
  const char *serial; /* its serial, hex; NULL or "" if none */
  const char *method; /* the full method path */
  const char *ids;    /* comma-separated record ids; NULL or "" for none */
  int status;         /* XC_OK or the call's negative xc_code */
} xc_audit_entry;

/* One stored entry, decoded. */
typedef struct xc_audit_record {
  uint64_t seq;
  int64_t time_ms;
  char cn[XC_MAX_CN_BYTES + 1];
  char serial[XC_MAX_SERIAL_BYTES + 1];
  char method[XC_AUDIT_METHOD_MAX + 1];
  char ids[XC_AUDIT_IDS_MAX + 1];
  int status;
  uint8_t hash[XC_AUDIT_HASH_BYTES];
} xc_audit_record;

/*
 * Like xc_store_write, and once fn has succeeded appends an entry for
 * `who` (status XC_OK, ids: who->ids followed by every record fn created or
 * updated) in the same transaction. When fn fails nothing is written: the
 * caller records the failure with xc_store_audit_append. who is borrowed
 * for the length of the call.
 */
int xc_store_write_audited(xc_store *store, const xc_audit_entry *who, xc_write_fn fn, void *ctx,
                           xc_err *err) XC_WARN_UNUSED_RESULT;

/* xc_store_create / xc_store_update with the audit entry of
 * xc_store_write_audited (who may be NULL: then no entry). */
int xc_store_create_audited(xc_store *store, const xc_audit_entry *who, xc_kind kind,
                            const ProtobufCMessage *rec, const char *owner, const char *author,
                            const char *scope, const char *request_id,
                            const uint8_t fingerprint[32], ProtobufCMessage **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;
int xc_store_update_audited(xc_store *store, const xc_audit_entry *who, xc_kind kind,
                            const ProtobufCMessage *rec, const char *author,
                            ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Appends one entry inside a write function (sees and extends the chain of
 * the running transaction). */
int xc_txn_audit_append(xc_txn *txn, const xc_audit_entry *e, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Appends n entries in one durable write (group commit applies). */
int xc_store_audit_append(xc_store *store, const xc_audit_entry *entries, size_t n, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* The newest entry's seq (0: none) and hash, as committed. */
int xc_snapshot_audit_head(xc_snapshot *snap, uint64_t *seq, uint8_t hash[XC_AUDIT_HASH_BYTES],
                           xc_err *err) XC_WARN_UNUSED_RESULT;

/* The pruning base: the last pruned entry's seq (0: nothing pruned) and
 * hash (zeros then). */
int xc_snapshot_audit_base(xc_snapshot *snap, uint64_t *seq, uint8_t hash[XC_AUDIT_HASH_BYTES],
                           xc_err *err) XC_WARN_UNUSED_RESULT;

/* Called per entry; rec is borrowed for the call. 0 goes on, 1 stops,
 * negative stops with that error. */
typedef int (*xc_audit_visit_fn)(void *ctx, const xc_audit_record *rec);

/* Visits the entries after `after_seq`, oldest first. An entry that does
 * not decode stops the walk with XC_EDATA_LOSS (verify says more). */
int xc_snapshot_audit_scan(xc_snapshot *snap, uint64_t after_seq, xc_audit_visit_fn visit,
                           void *ctx, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Kinds of checkpoint: a signed chain head, or a signed pruning base. */
enum { XC_AUDIT_CKPT_HEAD = 1, XC_AUDIT_CKPT_PRUNE = 2 };

/* Stores an opaque checkpoint blob (the server signs it) under (seq, kind). */
int xc_store_audit_put_checkpoint(xc_store *store, uint64_t seq, int kind, const void *blob,
                                  size_t len, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Visits the stored checkpoints, oldest first; blob is borrowed for the
 * call. Returning non-zero stops. */
typedef int (*xc_audit_ckpt_fn)(void *ctx, uint64_t seq, int kind, const void *blob, size_t len);
int xc_snapshot_audit_checkpoints(xc_snapshot *snap, xc_audit_ckpt_fn visit, void *ctx,
                                  xc_err *err) XC_WARN_UNUSED_RESULT;

/* A (seq, hash) pair the caller trusts: taken from a checkpoint whose
 * signature it checked. */
typedef struct xc_audit_anchor {
  uint64_t seq;
  uint8_t hash[XC_AUDIT_HASH_BYTES];
  int kind; /* XC_AUDIT_CKPT_* */
} xc_audit_anchor;

typedef struct xc_audit_report {
  int ok;                 /* 1 if the chain is intact */
  uint64_t first_bad;     /* else: the first entry found bad or missing */
  char reason[XC_ERR_MSG_MAX];
  uint64_t checked;       /* entries whose hash was checked */
  uint64_t base_seq;      /* the chain starts after this (pruned up to it) */
  uint64_t last_seq;      /* the newest entry found */
  uint64_t anchored_seq;  /* the newest anchor that matched */
  uint8_t head[XC_AUDIT_HASH_BYTES]; /* the hash of the newest entry */
} xc_audit_report;

/*
 * Walks the chain from the pruning base, recomputing every hash, and
 * checks it against the anchors: each anchor's entry must exist and hold
 * that hash, a pruning base must be one of the anchors, and the log must
 * reach the newest anchor (else its tail was cut). Fills *rep; returns
 * XC_OK whether or not the chain is intact (rep->ok says), or an error when
 * the store cannot be read.
 */
int xc_snapshot_audit_verify(xc_snapshot *snap, const xc_audit_anchor *anchors, size_t n_anchors,
                             xc_audit_report *rep, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Prunes: deletes entries 1..up_to (oldest first) in one write, after
 * checking that entry up_to holds `hash` (else XC_EABORTED: the log changed
 * since the caller signed), makes (up_to, hash) the new base and stores the
 * signed pruning checkpoint blob with it, all in one transaction.
 */
int xc_store_audit_prune(xc_store *store, uint64_t up_to, const uint8_t hash[XC_AUDIT_HASH_BYTES],
                         const void *ckpt_blob, size_t ckpt_len, uint64_t *n_pruned, xc_err *err)
    XC_WARN_UNUSED_RESULT;

#endif /* XC_STORE_AUDIT_H */
