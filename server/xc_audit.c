/* xc_audit.c: the call audit of xunchad (xc_audit.h). */
#include "xc_audit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "xc_clock.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_text.h"

#define XC__DAY_MS (24LL * 3600 * 1000)
/* Entries written per store write when the queue is flushed. */
#define XC__FLUSH_CHUNK 4096
/* A queue this long is written by the caller itself: memory stays bounded
 * even if the flush thread falls behind. */
#define XC__QUEUE_MAX 200000
/*
 * The queue wakes the flush thread at XC_AUDIT_QUEUE_WAKE entries, before
 * its flush_ms are up. With a flush only once a second the queue held a
 * second's calls (7 000-9 000 at 64 in flight, then 400 bytes an entry): an
 * array regrown by doubling after every flush to 3-6 MiB on the
 * completion-queue thread, whose malloc arena kept each new peak resident,
 * so xunchad's anonymous memory rose in steps, by 45 % from the first
 * minute of a soak to the fifth (bench/README.md, "Memory"). Now it holds
 * about an eighth of a second's calls in steady load, in two arrays of this
 * capacity allocated at start and used in turn (one fills while the other
 * is written). A queue that outgrows it while the writer is held up gets a
 * bigger array, freed after its flush.
 */
#define XC__QUEUE_KEEP (2 * XC_AUDIT_QUEUE_WAKE)
/* Entries pruned per write, so one prune never makes a huge transaction. */
#define XC__PRUNE_CHUNK 50000
#define XC__PRUNE_EVERY_MS (3600LL * 1000)
/* A checkpoint line: the signed text, the signature and the signer's
 * certificate, all hex. */
#define XC__CKPT_MAX (16 * 1024)

/* One queued entry. Its four strings (cn, serial, method, ids, each cut to
 * its limit) are one owned block, back to back, so an entry costs one malloc
 * of about what it holds rather than 400 bytes of fixed buffers. */
typedef struct xc__qent {
  int64_t time_ms;
  char *strs; /* owned: cn, then serial, method and ids at their offsets */
  uint32_t serial_at, method_at, ids_at;
  int status;
} xc__qent;

typedef struct xc__audit {
  xc_audit_options opt;
  pthread_mutex_t mu; /* the queue, the keys and the stop flag */
  pthread_cond_t cv;
  xc__qent *q;
  size_t n, cap;
  xc__qent *spare; /* an empty array of XC__QUEUE_KEEP entries, or NULL */
  int stopping;
  pthread_t thread;
  EVP_PKEY *key;
  X509 *cert;
  X509_STORE *cas;
  pthread_mutex_t write_mu; /* one checkpoint / prune at a time (not held by fibers) */
  uint64_t ckpt_seq;        /* the newest head signed */
  int64_t ckpt_at_ms;
  int64_t pruned_at_ms;
} xc__audit;

static xc__audit *xc__a;

/* ------------------------------------------------------------ record ids */

/* Appends id to buf (size XC_AUDIT_IDS_MAX + 1) unless already there. */
static void xc__add_id(char *buf, const char *id) {
  size_t n = strlen(buf), k = strlen(id);
  const char *p = buf;
  if (k == 0 || (n > 0 && buf[n - 1] == '+')) return;
  if (n + k + 2 <= XC_AUDIT_IDS_MAX && memchr(id, ',', k) == NULL) {
    /* An id without a comma is there when one of the comma-separated
     * entries is it: compare entry by entry (a list adds a hundred ids, and
     * a search of the whole text for each was most of the audit's time). */
    const char *end = buf + n;
    while (p < end) {
      const char *c = memchr(p, ',', (size_t)(end - p));
      size_t len = c != NULL ? (size_t)(c - p) : (size_t)(end - p);
      if (len == k && memcmp(p, id, k) == 0) return;
      if (c == NULL) break;
      p = c + 1;
    }
  } else if (n + k + 2 <= XC_AUDIT_IDS_MAX) {
    while ((p = strstr(p, id)) != NULL) {
      if ((p == buf || p[-1] == ',') && (p[k] == ',' || p[k] == '\0')) return;
      p += k;
    }
  }
  if (n + k + 2 > XC_AUDIT_IDS_MAX) {
    if (n > 0 && buf[n - 1] != '+' && n + 2 <= XC_AUDIT_IDS_MAX) {
      buf[n] = ',';
      buf[n + 1] = '+';
      buf[n + 2] = '\0';
    }
    return;
  }
  if (n > 0) buf[n++] = ',';
  memcpy(buf + n, id, k + 1);
}

/* Collects the record ids a message names: its string fields "id" and
 * "*_id" (a request's record and filters), and the "id" of its message
 * fields (one level down: a list response's records, an update's record). */
static void xc__ids_of(const ProtobufCMessage *m, int depth, char *buf) {
  const ProtobufCMessageDescriptor *d;
  if (m == NULL) return;
  d = m->descriptor;
  if (depth > 0) {
    /* Below the top only the "id" is collected: one lookup rather than a
     * walk of every field (a list reply has a hundred records). */
    static _Thread_local const ProtobufCMessageDescriptor *type; /* of the last lookup */
    static _Thread_local const ProtobufCFieldDescriptor *idf;
    if (type != d) {
      /* Looked up when the type changes, not for each record of a list. */
      idf = xc_msg_single_field(d, "id", PROTOBUF_C_TYPE_STRING);
      type = d;
    }
    if (idf != NULL) {
      const char *s = *(char *const *)((const char *)m + idf->offset);
      if (s != NULL) xc__add_id(buf, s);
    }
    return;
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)m + f->offset;
    size_t nl = strlen(f->name);
    if (f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED &&
        (strcmp(f->name, "id") == 0 ||
         (depth == 0 && nl > 3 && strcmp(f->name + nl - 3, "_id") == 0))) {
      const char *s = *(char *const *)base;
      if (s != NULL) xc__add_id(buf, s);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth == 0) {
      if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t cnt = *(const size_t *)((const char *)m + f->quantifier_offset);
        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)base;
        for (size_t k = 0; k < cnt && arr != NULL; k++) xc__ids_of(arr[k], depth + 1, buf);
      } else {
        xc__ids_of(*(const ProtobufCMessage *const *)base, depth + 1, buf);
      }
    }
  }
}

/* ----------------------------------------------------------- checkpoints */

static void xc__hex(const uint8_t *p, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static int xc__unhex(const char *s, size_t n, uint8_t *out, size_t max) {
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int v = 0;
    for (int j = 0; j < 2; j++) {
      char c = s[2 * i + (size_t)j];
      int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (x < 0) return -1;
      v = v * 16 + x;
    }
    out[i] = (uint8_t)v;
  }
  return (int)(n / 2);
}

/* Makes a checkpoint line for (kind, seq, hash) signed with the current
 * key, into out (XC__CKPT_MAX bytes). Called with write_mu held. */
static int xc__sign(xc__audit *a, int kind, uint64_t seq, const uint8_t hash[32], char *out,
                    xc_err *err) {
  char hhex[65];
  uint8_t sig[256], *der = NULL;
  size_t sig_len = sizeof sig;
  EVP_MD_CTX *md = NULL;
  int der_len, n, rc = XC_OK;
  size_t pos;

  xc__hex(hash, 32, hhex);
  n = snprintf(out, XC__CKPT_MAX, "xuncha-audit-ckpt v1 kind=%d seq=%" PRIu64 " alg=%s time_ms=%lld hash=%s",
               kind, seq, xc_audit_alg_name(xc_store_audit_alg(a->opt.store)),
               (long long)xc_clock_now_ms(), hhex);
  pos = (size_t)n;
  pthread_mutex_lock(&a->mu);
  md = EVP_MD_CTX_new();
  if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key) != 1 ||
      EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)out, pos) != 1) {
    pthread_mutex_unlock(&a->mu);
    rc = xc_err_set(err, XC_EINTERNAL, "cannot sign the audit checkpoint with the server key");
    goto done;
  }
  der_len = i2d_X509(a->cert, &der);
  pthread_mutex_unlock(&a->mu);
  if (der_len <= 0 || pos + 6 + 2 * sig_len + 7 + 2 * (size_t)der_len + 1 > XC__CKPT_MAX) {
    rc = xc_err_set(err, XC_EINTERNAL, "the audit checkpoint does not fit");
    goto done;
  }
  memcpy(out + pos, " sig=", 5);
  pos += 5;
  xc__hex(sig, sig_len, out + pos);
  pos += 2 * sig_len;
  memcpy(out + pos, " cert=", 6);
  pos += 6;
  xc__hex(der, (size_t)der_len, out + pos);
done:
  ERR_clear_error();
  OPENSSL_free(der);
  EVP_MD_CTX_free(md);
  return rc;
}

/* Checks one checkpoint line: the signer's certificate chains to the CA
 * (its dates aside: old checkpoints outlive their signers) and signed the
 * text. Fills *anchor. Returns 0, or -1 with why in why. */
static int xc__check_ckpt(xc__audit *a, const char *line, size_t len, xc_audit_anchor *anchor,
                          char *why, size_t why_size) {
  const char *sig = NULL, *cert = NULL, *p;
  uint8_t sigb[256], *derb = NULL;
  const uint8_t *dp;
  X509 *x = NULL;
  X509_STORE_CTX *sc = NULL;
  EVP_MD_CTX *md = NULL;
  char buf[XC__CKPT_MAX];
  int sig_len, der_len, ok = -1;
  unsigned long long seq = 0;
  int kind = 0;

  if (len >= sizeof buf) {
    (void)snprintf(why, why_size, "a checkpoint is longer than %d bytes", XC__CKPT_MAX);
    return -1;
  }
  memcpy(buf, line, len);
  buf[len] = '\0';
  sig = strstr(buf, " sig=");
  cert = strstr(buf, " cert=");
  p = strstr(buf, " hash=");
  if (strncmp(buf, "xuncha-audit-ckpt v1 ", 21) != 0 || sig == NULL || cert == NULL ||
      p == NULL || p > sig || sscanf(buf, "xuncha-audit-ckpt v1 kind=%d seq=%llu", &kind, &seq) != 2 ||
      xc__unhex(p + 6, (size_t)(sig - p - 6), anchor->hash, 32) != 32) {
    (void)snprintf(why, why_size, "a checkpoint does not parse");
    goto done;
  }
  anchor->seq = seq;
  anchor->kind = kind;
  sig_len = xc__unhex(sig + 5, (size_t)(cert - sig - 5), sigb, sizeof sigb);
  derb = malloc(len);
  der_len = derb != NULL ? xc__unhex(cert + 6, strlen(cert + 6), derb, len) : -1;
  dp = derb;
  if (sig_len <= 0 || der_len <= 0 || (x = d2i_X509(NULL, &dp, der_len)) == NULL) {
    (void)snprintf(why, why_size, "the checkpoint of entry %llu does not parse", seq);
    goto done;
  }
  pthread_mutex_lock(&a->mu);
  sc = X509_STORE_CTX_new();
  if (sc == NULL || X509_STORE_CTX_init(sc, a->cas, x, NULL) != 1) {
    pthread_mutex_unlock(&a->mu);
    (void)snprintf(why, why_size, "out of memory");
    goto done;
  }
  X509_STORE_CTX_set_flags(sc, X509_V_FLAG_NO_CHECK_TIME);
  if (X509_verify_cert(sc) != 1) {
    pthread_mutex_unlock(&a->mu);
    (void)snprintf(why, why_size,
                   "the checkpoint of entry %llu was signed by a certificate not from the CA",
                   seq);
    goto done;
  }
  pthread_mutex_unlock(&a->mu);
  md = EVP_MD_CTX_new();
  if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)) != 1 ||
      EVP_DigestVerify(md, sigb, (size_t)sig_len, (const uint8_t *)buf, (size_t)(sig - buf)) != 1) {
    (void)snprintf(why, why_size, "the signature of the checkpoint of entry %llu is wrong", seq);
    goto done;
  }
  ok = 0;
done:
  ERR_clear_error();
  EVP_MD_CTX_free(md);
  X509_STORE_CTX_free(sc);
  X509_free(x);
  free(derb);
  return ok;
}

/* Keeps a checkpoint: in the store, in the checkpoint file, in the log. */
static int xc__keep_ckpt(xc__audit *a, int kind, uint64_t seq, const char *line, xc_err *err) {
  int rc = XC_OK;
  if (kind == XC_AUDIT_CKPT_HEAD)
    rc = xc_store_audit_put_checkpoint(a->opt.store, seq, kind, line, strlen(line), err);
  if (rc != XC_OK) return rc;
  if (a->opt.checkpoint_file != NULL && a->opt.checkpoint_file[0] != '\0') {
    FILE *f = fopen(a->opt.checkpoint_file, "a");
    if (f == NULL || fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
      xc_log(XC_LOG_ERROR, "audit: cannot append to the checkpoint file %s: %s",
             a->opt.checkpoint_file, strerror(errno));
    }
    if (f != NULL) fclose(f);
  }
  {
    /* The log line carries the signed text; the file has the signer too. */
    const char *cut = strstr(line, " cert=");
    xc_log(XC_LOG_INFO, "audit checkpoint: %.*s", (int)(cut != NULL ? cut - line : (long)strlen(line)),
           line);
  }
  return XC_OK;
}

/* Signs the head if it moved. Called with write_mu held. */
static int xc__checkpoint_locked(xc__audit *a, xc_err *err) {
  xc_snapshot *snap = NULL;
  uint64_t seq = 0;
  uint8_t hash[32];
  char *line = NULL;
  int rc = xc_snapshot_begin(a->opt.store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_audit_head(snap, &seq, hash, err);
  xc_snapshot_end(snap);
  if (rc != XC_OK || seq == 0 || seq == a->ckpt_seq) return rc;
  line = malloc(XC__CKPT_MAX);
  if (line == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc__sign(a, XC_AUDIT_CKPT_HEAD, seq, hash, line, err);
  if (rc == XC_OK) rc = xc__keep_ckpt(a, XC_AUDIT_CKPT_HEAD, seq, line, err);
  if (rc == XC_OK) {
    a->ckpt_seq = seq;
    a->ckpt_at_ms = xc_clock_now_ms();
  }
  free(line);
  return rc;
}

/* ------------------------------------------------------------ the queue */

/* Frees the strings of q[0..n) (not the array). */
static void xc__qent_clear(xc__qent *q, size_t n) {
  for (size_t i = 0; i < n; i++) free(q[i].strs);
}

/* Writes q[0..n) durably, in chunks. */
static int xc__write_entries(xc__audit *a, const xc__qent *q, size_t n, xc_err *err) {
  xc_audit_entry *e;
  int rc = XC_OK;
  if (n == 0) return XC_OK;
  e = calloc(n < XC__FLUSH_CHUNK ? n : XC__FLUSH_CHUNK, sizeof *e);
  if (e == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n && rc == XC_OK; i += XC__FLUSH_CHUNK) {
    size_t k = n - i < XC__FLUSH_CHUNK ? n - i : XC__FLUSH_CHUNK;
    for (size_t j = 0; j < k; j++) {
      const xc__qent *s = &q[i + j];
      e[j].time_ms = s->time_ms;
      e[j].cn = s->strs;
      e[j].serial = s->strs + s->serial_at;
      e[j].method = s->strs + s->method_at;
      e[j].ids = s->strs + s->ids_at;
      e[j].status = s->status;
    }
    rc = xc_store_audit_append(a->opt.store, e, k, err);
  }
  free(e);
  return rc;
}

/* Takes the queue and writes it. New entries go to the spare array
 * meanwhile; the written array becomes the spare again if it has the kept
 * size and no other flush put one back first, and is freed otherwise. */
static int xc__flush(xc__audit *a, xc_err *err) {
  xc__qent *q;
  size_t n, cap;
  int rc;
  pthread_mutex_lock(&a->mu);
  q = a->q;
  n = a->n;
  cap = a->cap;
  a->q = a->spare;
  a->cap = a->spare != NULL ? XC__QUEUE_KEEP : 0;
  a->spare = NULL;
  a->n = 0;
  pthread_mutex_unlock(&a->mu);
  rc = xc__write_entries(a, q, n, err);
  if (rc != XC_OK)
    xc_log(XC_LOG_ERROR, "audit: %zu queued entries were not written: %s", n, err->msg);
  xc__qent_clear(q, n);
  pthread_mutex_lock(&a->mu);
  if (q != NULL && cap == XC__QUEUE_KEEP && a->spare == NULL) {
    a->spare = q;
    q = NULL;
  }
  pthread_mutex_unlock(&a->mu);
  free(q);
  return rc;
}

/* The length of s cut to max bytes, backed off to a character boundary
 * (xc_strlcpy's cut); s may be NULL (length 0). Reads at most max + 1
 * bytes of s. */
static size_t xc__cut_len(const char *s, size_t max) {
  size_t n = s != NULL ? strnlen(s, max + 1) : 0;
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  return n;
}

/* Fills a queue entry: its strings, each cut to its limit, in one malloc'd
 * block (at most about 1.4 KB). Returns -1 when out of memory. */
static int xc__fill(xc__qent *q, int64_t time_ms, const char *cn, const char *serial,
                    const char *method, const char *ids, int status) {
  const char *src[4] = {cn, serial, method, ids};
  size_t len[4];
  size_t at = 0;
  len[0] = xc__cut_len(cn, XC_MAX_CN_BYTES);
  len[1] = xc__cut_len(serial, XC_MAX_SERIAL_BYTES);
  len[2] = xc__cut_len(method, XC_AUDIT_METHOD_MAX);
  len[3] = xc__cut_len(ids, XC_AUDIT_IDS_MAX);
  memset(q, 0, sizeof *q);
  q->time_ms = time_ms;
  q->status = status;
  q->strs = malloc(len[0] + len[1] + len[2] + len[3] + 4);
  if (q->strs == NULL) return -1;
  for (int i = 0; i < 4; i++) {
    if (i == 1) q->serial_at = (uint32_t)at;
    if (i == 2) q->method_at = (uint32_t)at;
    if (i == 3) q->ids_at = (uint32_t)at;
    if (len[i] > 0) memcpy(q->strs + at, src[i], len[i]);
    q->strs[at + len[i]] = '\0';
    at += len[i] + 1;
  }
  return 0;
}

static int64_t xc__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct xc__prune_find {
  int64_t before;
  uint64_t up_to, count;
  uint8_t hash[32];
} xc__prune_find;

/* Walks the oldest entries while they are older than the cut-off. */
static int xc__prune_visit(void *ctx, const xc_audit_record *r) {
  xc__prune_find *f = ctx;
  if (r->time_ms >= f->before || f->count >= XC__PRUNE_CHUNK) return 1;
  f->up_to = r->seq;
  memcpy(f->hash, r->hash, sizeof f->hash);
  f->count++;
  return 0;
}

/* Prunes entries older than before_ms, a chunk per write, each after a
 * signed pruning checkpoint of its last entry; write_mu held. */
static int xc__prune_locked(xc__audit *a, int64_t before_ms, uint64_t *total, xc_err *err) {
  char *line = malloc(XC__CKPT_MAX);
  int rc = XC_OK;
  *total = 0;
  if (line == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (;;) {
    xc_snapshot *snap = NULL;
    xc__prune_find f;
    uint64_t base = 0, n = 0;
    uint8_t bh[32];
    memset(&f, 0, sizeof f);
    f.before = before_ms;
    rc = xc_snapshot_begin(a->opt.store, &snap, err);
    if (rc == XC_OK) rc = xc_snapshot_audit_base(snap, &base, bh, err);
    if (rc == XC_OK) rc = xc_snapshot_audit_scan(snap, base, xc__prune_visit, &f, err);
    xc_snapshot_end(snap);
    if (rc != XC_OK || f.count == 0) break;
    rc = xc__sign(a, XC_AUDIT_CKPT_PRUNE, f.up_to, f.hash, line, err);
    if (rc == XC_OK)
      rc = xc_store_audit_prune(a->opt.store, f.up_to, f.hash, line, strlen(line), &n, err);
    if (rc == XC_OK) rc = xc__keep_ckpt(a, XC_AUDIT_CKPT_PRUNE, f.up_to, line, err);
    if (rc != XC_OK) break;
    *total += n;
    if (f.count < XC__PRUNE_CHUNK) break;
  }
  free(line);
  return rc;
}

/* ------------------------------------------------------------ the thread */

static void *xc__main(void *arg) {
  xc__audit *a = arg;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    struct timespec until;
    int stop;
    xc_err err;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += a->opt.flush_ms / 1000;
    until.tv_nsec += (long)(a->opt.flush_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    /* Woken early by a queue of XC_AUDIT_QUEUE_WAKE entries (xc_audit_call). */
    while (!a->stopping && a->n < XC_AUDIT_QUEUE_WAKE &&
           pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT) {
    }
    stop = a->stopping;
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&a->write_mu);
    (void)xc__flush(a, &err);
    {
      xc_snapshot *snap = NULL;
      uint64_t seq = 0;
      uint8_t h[32];
      int due = stop || xc__wall_ms() - a->ckpt_at_ms >= a->opt.checkpoint_ms;
      if (!due && xc_snapshot_begin(a->opt.store, &snap, &err) == XC_OK) {
        if (xc_snapshot_audit_head(snap, &seq, h, &err) == XC_OK &&
            seq >= a->ckpt_seq + a->opt.checkpoint_every)
          due = 1;
        xc_snapshot_end(snap);
      }
      if (due && xc__checkpoint_locked(a, &err) != XC_OK)
        xc_log(XC_LOG_ERROR, "audit: no checkpoint: %s", err.msg);
    }
    if (!stop && xc__wall_ms() - a->pruned_at_ms >= XC__PRUNE_EVERY_MS) {
      uint64_t n = 0;
      a->pruned_at_ms = xc__wall_ms();
      if (xc__prune_locked(a, xc_clock_now_ms() - a->opt.retention_ms, &n, &err) != XC_OK)
        xc_log(XC_LOG_ERROR, "audit: pruning failed: %s", err.msg);
      else if (n > 0)
        xc_log(XC_LOG_INFO, "audit: pruned %" PRIu64 " entries older than %lld days", n,
               (long long)(a->opt.retention_ms / XC__DAY_MS));
    }
    pthread_mutex_unlock(&a->write_mu);
    pthread_mutex_lock(&a->mu);
    if (stop) break;
  }
  pthread_mutex_unlock(&a->mu);
  return NULL;
}

/* ------------------------------------------------------------- the API */

/* Parses signer and CA; on success swaps them into a (a->mu held by the
 * caller or a not yet shared). */
static int xc__load_keys(xc__audit *a, const char *cert_pem, const char *key_pem,
                         const char *ca_pem, xc_err *err) {
  BIO *b = NULL;
  X509 *cert = NULL;
  EVP_PKEY *key = NULL;
  X509_STORE *cas = NULL;
  int rc = XC_OK, n_ca = 0;
  b = BIO_new_mem_buf(cert_pem, -1);
  if (b != NULL) cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  b = BIO_new_mem_buf(key_pem, -1);
  if (b != NULL) key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  cas = X509_STORE_new();
  b = BIO_new_mem_buf(ca_pem, -1);
  for (X509 *x; b != NULL && cas != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;) {
    if (X509_STORE_add_cert(cas, x) == 1) n_ca++;
    X509_free(x);
  }
  BIO_free(b);
  if (cert == NULL || key == NULL || n_ca == 0 || X509_check_private_key(cert, key) != 1) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the audit signer needs the server certificate, its key and the CA");
    goto done;
  }
  {
    X509 *oc = a->cert;
    EVP_PKEY *ok = a->key;
    X509_STORE *os = a->cas;
    a->cert = cert;
    a->key = key;
    a->cas = cas;
    cert = oc;
    key = ok;
    cas = os;
  }
done:
  ERR_clear_error();
  X509_free(cert);
  EVP_PKEY_free(key);
  X509_STORE_free(cas);
  return rc;
}

int xc_audit_start(const xc_audit_options *opt, const char *cert_pem, const char *key_pem,
                   const char *ca_pem, xc_err *err) {
  xc__audit *a = calloc(1, sizeof *a);
  int rc;
  if (a == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  a->opt = *opt;
  if (a->opt.retention_ms <= 0) a->opt.retention_ms = 183 * XC__DAY_MS;
  if (a->opt.flush_ms <= 0) a->opt.flush_ms = 1000;
  if (a->opt.checkpoint_every == 0) a->opt.checkpoint_every = 10000;
  if (a->opt.checkpoint_ms <= 0) a->opt.checkpoint_ms = 60000;
  pthread_mutex_init(&a->mu, NULL);
  pthread_mutex_init(&a->write_mu, NULL);
  pthread_cond_init(&a->cv, NULL);
  a->ckpt_at_ms = xc__wall_ms();
  /* Both queue arrays now, once: steady load never allocates another. */
  a->q = calloc(XC__QUEUE_KEEP, sizeof *a->q);
  a->spare = calloc(XC__QUEUE_KEEP, sizeof *a->spare);
  a->cap = XC__QUEUE_KEEP;
  rc = a->q != NULL && a->spare != NULL
           ? xc__load_keys(a, cert_pem, key_pem, ca_pem, err)
           : xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  if (rc == XC_OK && pthread_create(&a->thread, NULL, xc__main, a) != 0)
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot start the audit thread");
  if (rc != XC_OK) {
    X509_free(a->cert);
    EVP_PKEY_free(a->key);
    X509_STORE_free(a->cas);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->write_mu);
    pthread_cond_destroy(&a->cv);
    free(a->q);
    free(a->spare);
    free(a);
    return rc;
  }
  xc__a = a;
  return XC_OK;
}

int xc_audit_set_keys(const char *cert_pem, const char *key_pem, const char *ca_pem,
                      xc_err *err) {
  xc__audit *a = xc__a;
  int rc;
  if (a == NULL) return XC_OK;
  pthread_mutex_lock(&a->mu);
  rc = xc__load_keys(a, cert_pem, key_pem, ca_pem, err);
  pthread_mutex_unlock(&a->mu);
  return rc;
}

void xc_audit_stop(void) {
  xc__audit *a = xc__a;
  if (a == NULL) return;
  pthread_mutex_lock(&a->mu);
  a->stopping = 1;
  pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
  pthread_join(a->thread, NULL);
  xc__a = NULL;
  xc__qent_clear(a->q, a->n);
  free(a->q);
  free(a->spare);
  X509_free(a->cert);
  EVP_PKEY_free(a->key);
  X509_STORE_free(a->cas);
  pthread_mutex_destroy(&a->mu);
  pthread_mutex_destroy(&a->write_mu);
  pthread_cond_destroy(&a->cv);
  free(a);
}

int xc_audit_flush(xc_err *err) {
  xc__audit *a = xc__a;
  if (a == NULL) return xc_err_set(err, XC_EUNAVAILABLE, "the audit is not running");
  /* No write_mu here: handlers call this on fibers, and a fiber must not
   * hold a lock while its write suspends it (xc_handler.h). Concurrent
   * flushes each take their own part of the queue. */
  return xc__flush(a, err);
}

int xc_audit_checkpoint(xc_err *err) {
  xc__audit *a = xc__a;
  int rc;
  if (a == NULL) return xc_err_set(err, XC_EUNAVAILABLE, "the audit is not running");
  pthread_mutex_lock(&a->write_mu);
  rc = xc__flush(a, err);
  if (rc == XC_OK) rc = xc__checkpoint_locked(a, err);
  pthread_mutex_unlock(&a->write_mu);
  return rc;
}

int xc_audit_prune(int64_t before_ms, uint64_t *n, xc_err *err) {
  xc__audit *a = xc__a;
  int rc;
  if (a == NULL) return xc_err_set(err, XC_EUNAVAILABLE, "the audit is not running");
  pthread_mutex_lock(&a->write_mu);
  rc = xc__flush(a, err);
  if (rc == XC_OK) rc = xc__prune_locked(a, before_ms, n, err);
  pthread_mutex_unlock(&a->write_mu);
  return rc;
}

void xc_audit_who(const xc_ctx *ctx, xc_audit_entry *e) {
  memset(e, 0, sizeof *e);
  e->cn = ctx->has_identity ? ctx->id.cn : "";
  e->serial = ctx->has_identity ? ctx->id.serial : "";
  e->method = ctx->method != NULL ? ctx->method : "";
}

/* 1 for the methods that hand out leads: their entry is durable first. */
static int xc__is_lead_read(const char *method) {
  static const char p[] = "/xuncha.v1.Leads/";
  if (method == NULL || strncmp(method, p, sizeof p - 1) != 0) return 0;
  return strncmp(method + sizeof p - 1, "Get", 3) == 0 ||
         strncmp(method + sizeof p - 1, "List", 4) == 0;
}

int xc_audit_call(xc_ctx *ctx, const char *cn, const char *serial, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessage *resp, int rc, xc_err *err) {
  xc__audit *a = xc__a;
  char ids[XC_AUDIT_IDS_MAX + 1];
  xc__qent q;
  int64_t now;
  if (a == NULL || (ctx != NULL && ctx->audit_done && rc == XC_OK)) return rc;
  ids[0] = '\0';
  xc__ids_of(req, 0, ids);
  if (rc == XC_OK) xc__ids_of(resp, 0, ids);
  now = xc__wall_ms();
  if (ctx != NULL && ctx->has_identity) {
    cn = ctx->id.cn;
    serial = ctx->id.serial;
  }
  if (rc == XC_OK && xc__is_lead_read(method)) {
    /* Durable before the leads leave the server. */
    xc_audit_entry e;
    xc_err werr;
    int wrc;
    memset(&e, 0, sizeof e);
    e.time_ms = now;
    e.cn = cn;
    e.serial = serial;
    e.method = method;
    e.ids = ids;
    wrc = xc_store_audit_append(a->opt.store, &e, 1, &werr);
    if (wrc != XC_OK)
      return xc_err_set(err, wrc, "the read could not be recorded in the audit log, so the "
                                  "leads are withheld: %s", werr.msg);
    return rc;
  }
  if (xc__fill(&q, now, cn, serial, method, ids, rc) != 0) {
    xc_log(XC_LOG_ERROR, "audit: out of memory: an entry for %s is lost", method);
    return rc;
  }
  pthread_mutex_lock(&a->mu);
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : XC__QUEUE_KEEP;
    xc__qent *nq = a->n < XC__QUEUE_MAX ? realloc(a->q, cap * sizeof *nq) : NULL;
    if (nq == NULL) {
      pthread_mutex_unlock(&a->mu);
      {
        /* Full (or out of memory): this caller writes its own entry. */
        xc_err werr;
        if (xc__write_entries(a, &q, 1, &werr) != XC_OK)
          xc_log(XC_LOG_ERROR, "audit: an entry for %s is lost: %s", method, werr.msg);
        free(q.strs);
      }
      return rc;
    }
    a->q = nq;
    a->cap = cap;
  }
  a->q[a->n++] = q;
  if (a->n == XC_AUDIT_QUEUE_WAKE) pthread_cond_signal(&a->cv);
  pthread_mutex_unlock(&a->mu);
  return rc;
}

typedef struct xc__anchors {
  xc__audit *a;
  xc_audit_anchor *v;
  size_t n, cap;
  char why[XC_ERR_MSG_MAX];
  uint64_t bad_seq;
  int bad;
} xc__anchors;

static void xc__anchor_add(xc__anchors *s, const char *line, size_t len) {
  xc_audit_anchor an;
  char why[256];
  memset(&an, 0, sizeof an);
  if (xc__check_ckpt(s->a, line, len, &an, why, sizeof why) != 0) {
    if (!s->bad) {
      s->bad = 1;
      s->bad_seq = an.seq;
      xc_strlcpy(s->why, why, sizeof s->why);
    }
    return;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    xc_audit_anchor *nv = realloc(s->v, cap * sizeof *nv);
    if (nv == NULL) return;
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = an;
}

static int xc__anchor_visit(void *ctx, uint64_t seq, int kind, const void *blob, size_t len) {
  (void)seq;
  (void)kind;
  xc__anchor_add(ctx, blob, len);
  return 0;
}

int xc_audit_verify(xc_audit_report *rep, unsigned *n_ckpts, xc_err *err) {
  xc__audit *a = xc__a;
  xc__anchors s;
  xc_snapshot *snap = NULL;
  int rc;
  memset(rep, 0, sizeof *rep);
  *n_ckpts = 0;
  if (a == NULL) return xc_err_set(err, XC_EUNAVAILABLE, "the audit is not running");
  memset(&s, 0, sizeof s);
  s.a = a;
  rc = xc_audit_flush(err);
  if (rc != XC_OK) return rc;
  if (a->opt.checkpoint_file != NULL && a->opt.checkpoint_file[0] != '\0') {
    FILE *f = fopen(a->opt.checkpoint_file, "r");
    char *line = malloc(XC__CKPT_MAX + 2);
    while (f != NULL && line != NULL && fgets(line, XC__CKPT_MAX + 2, f) != NULL) {
      size_t n = strlen(line);
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
      if (n > 0) xc__anchor_add(&s, line, n);
    }
    free(line);
    if (f != NULL) fclose(f);
  }
  rc = xc_snapshot_begin(a->opt.store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_audit_checkpoints(snap, xc__anchor_visit, &s, err);
  if (rc == XC_OK) rc = xc_snapshot_audit_verify(snap, s.v, s.n, rep, err);
  xc_snapshot_end(snap);
  if (rc == XC_OK && s.bad && rep->ok) {
    rep->ok = 0;
    rep->first_bad = s.bad_seq;
    xc_strlcpy(rep->reason, s.why, sizeof rep->reason);
  }
  *n_ckpts = (unsigned)s.n;
  free(s.v);
  return rc;
}
