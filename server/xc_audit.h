/*
 * xc_audit.h: xunchad's audit of every call (the log itself is in the
 * store: storage/xc_store_audit.h).
 *
 * What is recorded, and when it is durable:
 *   - a call that changes records: its entry is written by the store in the
 *     same transaction as the change (the write paths of xc_service.c and
 *     xc_workflow.c use xc_store_*_audited with xc_audit_who), so there is
 *     no change without its entry;
 *   - a read of leads (Leads/Get*, Leads/List*): its entry is made durable
 *     (one write through the store's group commit) before the reply goes
 *     out; if that fails the caller gets the error, not the leads;
 *   - every other call (other reads, refused and failed calls): queued in
 *     memory and written in batches by a background thread about once a
 *     second, so these reads cost only an enqueue, and a crash loses at most
 *     about a second of them.
 *
 * Checkpoints: now and then (every N entries or T seconds) the chain head
 * is signed with the server's private key (ECDSA, SHA-256) and the
 * checkpoint is stored in the store, appended to the checkpoint file
 * ([audit] checkpoint_file, kept where the store's writer cannot rewrite
 * it: another disk, a WORM mount, a log shipper) and written to the log.
 * Federation will send it upstream. Verification trusts only checkpoints
 * whose signature chains to the CA, and the newest of them must be covered,
 * so a cut-off tail is caught.
 *
 * Retention: entries older than the retention (at least 183 days) are
 * pruned once an hour, after a signed pruning checkpoint of the last pruned
 * entry, so what remains still verifies.
 *
 * One audit per process (xunchad has one server); unit tests that never
 * start it get no audit entries from xc_audit_call.
 */
#ifndef XC_AUDIT_H
#define XC_AUDIT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_handler.h"
#include "xc_status.h"
#include "xc_store.h"
#include "xc_store_audit.h"

/* A queue of this many entries is written at once, without waiting for
 * flush_ms (xc_audit.c says why). */
#define XC_AUDIT_QUEUE_WAKE 1024

typedef struct xc_audit_options {
  xc_store *store;             /* borrowed; outlives the audit */
  const char *checkpoint_file; /* appended to; NULL: store and log only */
  int64_t retention_ms;        /* 0: 183 days */
  int flush_ms;                /* batch interval (or XC_AUDIT_QUEUE_WAKE entries); 0: 1000 */
  uint64_t checkpoint_every;   /* entries between checkpoints; 0: 10000 */
  int checkpoint_ms;           /* at most this long between them; 0: 60000 */
} xc_audit_options;

/*
 * Starts the process's audit: the signer (cert_pem with key_pem) and the CA
 * that vouches for signers (ca_pem), and the flush thread. Returns XC_OK or
 * an error in err (the key does not sign, the file cannot be opened).
 */
int xc_audit_start(const xc_audit_options *opt, const char *cert_pem, const char *key_pem,
                   const char *ca_pem, xc_err *err) XC_WARN_UNUSED_RESULT;

/* SIGHUP: signs with a new certificate and key from now on and trusts a
 * new CA. Nothing changes on failure. */
int xc_audit_set_keys(const char *cert_pem, const char *key_pem, const char *ca_pem,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/* Writes what is queued, signs a last checkpoint and stops the thread.
 * Call after the server stopped and before the store closes. */
void xc_audit_stop(void);

/* Writes what is queued now (tests, and before a verify). */
int xc_audit_flush(xc_err *err) XC_WARN_UNUSED_RESULT;

/* Signs the current head now if it moved since the last checkpoint. */
int xc_audit_checkpoint(xc_err *err) XC_WARN_UNUSED_RESULT;

/* Prunes entries older than before_ms (signed base first); *n gets how
 * many went. */
int xc_audit_prune(int64_t before_ms, uint64_t *n, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Fills e (borrowing ctx's strings) for a write path's audited write. */
void xc_audit_who(const xc_ctx *ctx, xc_audit_entry *e);

/*
 * The transport's hook, once per call when the handler is done (or the call
 * was refused): records the call as described above. ctx may be NULL; cn
 * and serial are what the peer check found ("" if nothing). Returns rc, or
 * an error (with err set) when a lead read could not be made durable: then
 * the reply must not be sent.
 */
int xc_audit_call(xc_ctx *ctx, const char *cn, const char *serial, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessage *resp, int rc, xc_err *err);

/*
 * Flushes, then verifies the chain against every checkpoint (stored and in
 * the checkpoint file) whose signature checks; *n_ckpts is how many did.
 * A checkpoint with a bad signature makes the report bad. Returns XC_OK
 * with rep filled, or an error when the audit is not running.
 */
int xc_audit_verify(xc_audit_report *rep, unsigned *n_ckpts, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_AUDIT_H */
