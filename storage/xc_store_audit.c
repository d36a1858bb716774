/* xc_store_audit.c: the hash-chained audit log (xc_store_audit.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "xc_store_int.h"
#include "xc_text.h"

/* The stored value: a version byte, the hash, then the canonical text. */
#define XC__AUDIT_VERSION 1
#define XC__AUDIT_HDR (1 + XC_AUDIT_HASH_BYTES)
/* The longest canonical text: every field at its limit plus numbers. */
#define XC__AUDIT_TEXT_MAX                                                                  \
  (3 * 21 + XC_MAX_CN_BYTES + XC_MAX_SERIAL_BYTES + XC_AUDIT_METHOD_MAX + XC_AUDIT_IDS_MAX + \
   16)
/* Verification lets go of the map lock this often, so the map can grow. */
#define XC__VERIFY_CHUNK 1024

const char *xc_audit_alg_name(xc_audit_alg alg) { return alg == XC_AUDIT_SM3 ? "sm3" : "sha256"; }

int xc_audit_alg_parse(const char *name, xc_audit_alg *out) {
  if (name == NULL || strcmp(name, "sha256") == 0) {
    *out = XC_AUDIT_SHA256;
    return 0;
  }
  if (strcmp(name, "sm3") == 0) {
    *out = XC_AUDIT_SM3;
    return 0;
  }
  return -1;
}

xc_audit_alg xc_store_audit_alg(const xc_store *store) { return store->audit_alg; }

/* The two digests, fetched once: fetching per entry costs more than the
 * hashing itself. They live as long as the process. */
static EVP_MD *xc__md_sha256, *xc__md_sm3;
static pthread_once_t xc__md_once = PTHREAD_ONCE_INIT;

static void xc__md_fetch(void) {
  xc__md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  xc__md_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
}

int xc_audit_hash(xc_audit_alg alg, const uint8_t prev[XC_AUDIT_HASH_BYTES], const void *data,
                  size_t len, uint8_t out[XC_AUDIT_HASH_BYTES]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  const EVP_MD *md;
  unsigned n = 0;
  int rc = -1;
  (void)pthread_once(&xc__md_once, xc__md_fetch);
  md = alg == XC_AUDIT_SM3 ? xc__md_sm3 : xc__md_sha256;
  if (ctx == NULL || md == NULL || EVP_MD_get_size(md) != XC_AUDIT_HASH_BYTES) goto done;
  if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
      EVP_DigestUpdate(ctx, prev, XC_AUDIT_HASH_BYTES) != 1 ||
      EVP_DigestUpdate(ctx, data, len) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1 ||
      n != XC_AUDIT_HASH_BYTES)
    goto done;
  rc = 0;
done:
  EVP_MD_CTX_free(ctx);
  return rc;
}

static void xc__be64(uint64_t v, uint8_t out[8]) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t xc__get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

void xc__txn_touch(xc_txn *t, const char *id) {
  size_t n = strlen(id);
  size_t need = n + (t->touched_len > 0 ? 1 : 0);
  if (t->touched_len + need > XC_AUDIT_IDS_MAX) {
    /* Too many to list: a final '+' says some were left out. */
    if (t->touched_len < XC_AUDIT_IDS_MAX && (t->touched_len == 0 ||
                                              t->touched[t->touched_len - 1] != '+')) {
      t->touched[t->touched_len++] = '+';
      t->touched[t->touched_len] = '\0';
    }
    return;
  }
  if (t->touched_len > 0) t->touched[t->touched_len++] = ',';
  memcpy(t->touched + t->touched_len, id, n);
  t->touched_len += n;
  t->touched[t->touched_len] = '\0';
}

/* Copies at most max bytes of s as printable ASCII ('?' for anything else,
 * so no field can hold the separator or bytes a terminal would act on). */
static size_t xc__field(char *out, const char *s, size_t max) {
  size_t n = 0;
  if (s == NULL) return 0;
  for (; s[n] != '\0' && n < max; n++) {
    unsigned char c = (unsigned char)s[n];
    out[n] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
  }
  return n;
}

/* Writes the canonical text of an entry; returns its length. out holds at
 * least XC__AUDIT_TEXT_MAX bytes. */
static size_t xc__text(uint64_t seq, int64_t time_ms, const xc_audit_entry *e, char *out) {
  /* "%llu\n%lld\n" of seq and time, without printf (writer hot path). */
  size_t n = xc_fmt_u64(out, seq);
  out[n++] = '\n';
  n += xc_fmt_i64(out + n, time_ms);
  out[n++] = '\n';
  n += xc__field(out + n, e->cn, XC_MAX_CN_BYTES);
  out[n++] = '\n';
  n += xc__field(out + n, e->serial, XC_MAX_SERIAL_BYTES);
  out[n++] = '\n';
  n += xc__field(out + n, e->method, XC_AUDIT_METHOD_MAX);
  out[n++] = '\n';
  n += xc__field(out + n, e->ids, XC_AUDIT_IDS_MAX);
  out[n++] = '\n';
  n += xc_fmt_i64(out + n, e->status);
  return n;
}

/* Splits a canonical text into *r. Returns 0 or -1 when it is malformed. */
static int xc__parse_text(const char *text, size_t len, xc_audit_record *r) {
  char buf[XC__AUDIT_TEXT_MAX + 1];
  char *f[7];
  size_t nf = 0;
  long long v;
  if (len > XC__AUDIT_TEXT_MAX) return -1;
  memcpy(buf, text, len);
  buf[len] = '\0';
  f[nf++] = buf;
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n') continue;
    if (nf == 7) return -1;
    buf[i] = '\0';
    f[nf++] = buf + i + 1;
  }
  if (nf != 7) return -1;
  if (xc_parse_int64(f[0], 1, INT64_MAX, &v) != 0) return -1;
  r->seq = (uint64_t)v;
  if (xc_parse_int64(f[1], INT64_MIN, INT64_MAX, &v) != 0) return -1;
  r->time_ms = v;
  if (strlen(f[2]) > XC_MAX_CN_BYTES || strlen(f[3]) > XC_MAX_SERIAL_BYTES ||
      strlen(f[4]) > XC_AUDIT_METHOD_MAX || strlen(f[5]) > XC_AUDIT_IDS_MAX)
    return -1;
  xc_strlcpy(r->cn, f[2], sizeof r->cn);
  xc_strlcpy(r->serial, f[3], sizeof r->serial);
  xc_strlcpy(r->method, f[4], sizeof r->method);
  xc_strlcpy(r->ids, f[5], sizeof r->ids);
  if (xc_parse_int64(f[6], -16, 0, &v) != 0) return -1;
  r->status = (int)v;
  return 0;
}

/* Decodes a stored value into *r (seq from the text). */
static int xc__decode(const MDB_val *v, xc_audit_record *r) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size < XC__AUDIT_HDR + 1 || p[0] != XC__AUDIT_VERSION) return -1;
  memcpy(r->hash, p + 1, XC_AUDIT_HASH_BYTES);
  return xc__parse_text((const char *)p + XC__AUDIT_HDR, v->mv_size - XC__AUDIT_HDR, r);
}

/* Reads a 40-byte meta value (be64 seq + hash); absent gives 0 and zeros. */
static int xc__meta_pair(xc_store *s, MDB_txn *txn, const char *name, uint64_t *seq,
                         uint8_t hash[XC_AUDIT_HASH_BYTES]) {
  MDB_val k = {strlen(name), (void *)name};
  MDB_val v;
  int mrc = mdb_get(txn, s->dbi_meta, &k, &v);
  *seq = 0;
  memset(hash, 0, XC_AUDIT_HASH_BYTES);
  if (mrc == MDB_NOTFOUND) return 0;
  if (mrc != 0) return mrc;
  if (v.mv_size != 8 + XC_AUDIT_HASH_BYTES) return MDB_CORRUPTED;
  *seq = xc__get_be64(v.mv_data);
  memcpy(hash, (const uint8_t *)v.mv_data + 8, XC_AUDIT_HASH_BYTES);
  return 0;
}

static int xc__meta_put_pair(xc_store *s, MDB_txn *txn, const char *name, uint64_t seq,
                             const uint8_t hash[XC_AUDIT_HASH_BYTES]) {
  uint8_t buf[8 + XC_AUDIT_HASH_BYTES];
  MDB_val k = {strlen(name), (void *)name};
  MDB_val v = {sizeof buf, buf};
  xc__be64(seq, buf);
  memcpy(buf + 8, hash, XC_AUDIT_HASH_BYTES);
  return mdb_put(txn, s->dbi_meta, &k, &v, 0);
}

int xc__audit_load_head(xc_txn *t) {
  return xc__meta_pair(t->store, t->txn, "audit_head", &t->audit_seq, t->audit_hash);
}

int xc__audit_store_head(xc_txn *t) {
  return xc__meta_put_pair(t->store, t->txn, "audit_head", t->audit_seq, t->audit_hash);
}

int xc__audit_open(xc_store *s, MDB_txn *txn, const char *alg_name, xc_err *err) {
  MDB_val k = {9, "audit_alg"};
  MDB_val v;
  uint8_t probe[XC_AUDIT_HASH_BYTES], zero[XC_AUDIT_HASH_BYTES] = {0};
  int mrc;
  if ((mrc = mdb_dbi_open(txn, "audit", MDB_CREATE, &s->dbi_audit)) != 0 ||
      (mrc = mdb_dbi_open(txn, "audit_ckpt", MDB_CREATE, &s->dbi_audit_ckpt)) != 0)
    return xc__mdb_fail(NULL, mrc, err, "opening the audit databases");
  mrc = mdb_get(txn, s->dbi_meta, &k, &v);
  if (mrc == 0) {
    uint8_t a = v.mv_size == 1 ? *(const uint8_t *)v.mv_data : 0;
    if (a != XC_AUDIT_SHA256 && a != XC_AUDIT_SM3)
      return xc_err_set(err, XC_EDATA_LOSS, "the store in %s names an unknown audit hash",
                        s->dir);
    s->audit_alg = (xc_audit_alg)a;
  } else if (mrc == MDB_NOTFOUND) {
    uint8_t a;
    if (xc_audit_alg_parse(alg_name, &s->audit_alg) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "the audit hash must be sha256 or sm3, not '%s'", alg_name);
    a = (uint8_t)s->audit_alg;
    v.mv_size = 1;
    v.mv_data = &a;
    if ((mrc = mdb_put(txn, s->dbi_meta, &k, &v, 0)) != 0)
      return xc__mdb_fail(NULL, mrc, err, "writing the audit hash");
  } else {
    return xc__mdb_fail(NULL, mrc, err, "reading the audit hash");
  }
  if (xc_audit_hash(s->audit_alg, zero, "", 0, probe) != 0)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "the audit hash %s is not available in this OpenSSL",
                      xc_audit_alg_name(s->audit_alg));
  return XC_OK;
}

int xc_txn_audit_append(xc_txn *t, const xc_audit_entry *e, xc_err *err) {
  uint8_t buf[XC__AUDIT_HDR + XC__AUDIT_TEXT_MAX];
  uint8_t key[8];
  uint64_t seq = t->audit_seq + 1;
  size_t n;
  MDB_val k, v;
  int mrc;

  n = xc__text(seq, e->time_ms != 0 ? e->time_ms : t->now_ms, e, (char *)buf + XC__AUDIT_HDR);
  buf[0] = XC__AUDIT_VERSION;
  if (xc_audit_hash(t->store->audit_alg, t->audit_hash, buf + XC__AUDIT_HDR, n, buf + 1) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot compute the audit hash");
  xc__be64(seq, key);
  k.mv_size = sizeof key;
  k.mv_data = key;
  v.mv_size = XC__AUDIT_HDR + n;
  v.mv_data = buf;
  /* Sequence numbers only grow, so appending fills pages completely. */
  mrc = mdb_put(t->txn, t->store->dbi_audit, &k, &v, MDB_APPEND);
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "appending to the audit log");
  t->audit_seq = seq;
  memcpy(t->audit_hash, buf + 1, XC_AUDIT_HASH_BYTES);
  return XC_OK;
}

int xc_store_write_audited(xc_store *store, const xc_audit_entry *who, xc_write_fn fn, void *ctx,
                           xc_err *err) {
  return xc__store_write(store, fn, ctx, who, err);
}

typedef struct xc__append_ctx {
  const xc_audit_entry *entries;
  size_t n;
} xc__append_ctx;

static int xc__append_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__append_ctx *a = arg;
  for (size_t i = 0; i < a->n; i++) {
    int rc = xc_txn_audit_append(txn, &a->entries[i], err);
    if (rc != XC_OK) return rc;
  }
  return XC_OK;
}

int xc_store_audit_append(xc_store *store, const xc_audit_entry *entries, size_t n,
                          xc_err *err) {
  xc__append_ctx a = {entries, n};
  if (n == 0) return XC_OK;
  return xc_store_write(store, xc__append_fn, &a, err);
}

/* Runs f on the snapshot's txn under the map lock. */
#define XC__LOCKED(snap, err, body)                                              \
  do {                                                                           \
    if (pthread_rwlock_rdlock(&(snap)->store->map_lock) != 0)                    \
      return xc_err_set((err), XC_EINTERNAL, "cannot take the store's map lock"); \
    body;                                                                        \
    (void)pthread_rwlock_unlock(&(snap)->store->map_lock);                       \
  } while (0)

int xc_snapshot_audit_head(xc_snapshot *snap, uint64_t *seq, uint8_t hash[XC_AUDIT_HASH_BYTES],
                           xc_err *err) {
  int mrc = 0;
  XC__LOCKED(snap, err, mrc = xc__meta_pair(snap->store, snap->txn, "audit_head", seq, hash));
  return mrc != 0 ? xc__mdb_fail(NULL, mrc, err, "reading the audit head") : XC_OK;
}

int xc_snapshot_audit_base(xc_snapshot *snap, uint64_t *seq, uint8_t hash[XC_AUDIT_HASH_BYTES],
                           xc_err *err) {
  int mrc = 0;
  XC__LOCKED(snap, err, mrc = xc__meta_pair(snap->store, snap->txn, "audit_base", seq, hash));
  return mrc != 0 ? xc__mdb_fail(NULL, mrc, err, "reading the audit base") : XC_OK;
}

/* Reads the first entry with seq >= from into *key_seq and *out (a copy
 * of the value into buf). Returns 0, MDB_NOTFOUND or an LMDB code. */
static int xc__entry_at_or_after(xc_snapshot *snap, uint64_t from, uint64_t *key_seq,
                                 uint8_t *buf, size_t *len) {
  MDB_cursor *cur = NULL;
  uint8_t key[8];
  MDB_val k = {8, key}, v;
  int mrc;
  xc__be64(from, key);
  mrc = mdb_cursor_open(snap->txn, snap->store->dbi_audit, &cur);
  if (mrc != 0) return mrc;
  mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  if (mrc == 0) {
    if (k.mv_size != 8 || v.mv_size > XC__AUDIT_HDR + XC__AUDIT_TEXT_MAX) {
      mrc = MDB_CORRUPTED;
    } else {
      *key_seq = xc__get_be64(k.mv_data);
      memcpy(buf, v.mv_data, v.mv_size);
      *len = v.mv_size;
    }
  }
  mdb_cursor_close(cur);
  return mrc;
}

int xc_snapshot_audit_scan(xc_snapshot *snap, uint64_t after_seq, xc_audit_visit_fn visit,
                           void *ctx, xc_err *err) {
  uint8_t buf[XC__AUDIT_HDR + XC__AUDIT_TEXT_MAX];
  uint64_t next = after_seq + 1;
  for (;;) {
    xc_audit_record r;
    uint64_t ks = 0;
    size_t len = 0;
    int mrc = 0, vrc;
    MDB_val v;
    XC__LOCKED(snap, err, mrc = xc__entry_at_or_after(snap, next, &ks, buf, &len));
    if (mrc == MDB_NOTFOUND) return XC_OK;
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "reading the audit log");
    v.mv_size = len;
    v.mv_data = buf;
    memset(&r, 0, sizeof r);
    if (xc__decode(&v, &r) != 0)
      return xc_err_set(err, XC_EDATA_LOSS,
                        "audit entry %llu does not decode; run 'xuncha audit verify'",
                        (unsigned long long)ks);
    r.seq = ks;
    vrc = visit(ctx, &r);
    if (vrc != 0) return vrc < 0 ? vrc : XC_OK;
    next = ks + 1;
  }
}

typedef struct xc__ckpt_ctx {
  uint64_t seq;
  int kind;
  const void *blob;
  size_t len;
} xc__ckpt_ctx;

static int xc__ckpt_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__ckpt_ctx *c = arg;
  uint8_t key[9];
  MDB_val k = {9, key}, v = {c->len, (void *)c->blob};
  int mrc;
  xc__be64(c->seq, key);
  key[8] = (uint8_t)c->kind;
  mrc = mdb_put(txn->txn, txn->store->dbi_audit_ckpt, &k, &v, 0);
  return mrc != 0 ? xc__mdb_fail(txn, mrc, err, "storing an audit checkpoint") : XC_OK;
}

int xc_store_audit_put_checkpoint(xc_store *store, uint64_t seq, int kind, const void *blob,
                                  size_t len, xc_err *err) {
  xc__ckpt_ctx c = {seq, kind, blob, len};
  if (len == 0 || len > 64 * 1024)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "a checkpoint is 1 to 65536 bytes");
  return xc_store_write(store, xc__ckpt_fn, &c, err);
}

int xc_snapshot_audit_checkpoints(xc_snapshot *snap, xc_audit_ckpt_fn visit, void *ctx,
                                  xc_err *err) {
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  int mrc, rc = XC_OK;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_cursor_open(snap->txn, snap->store->dbi_audit_ckpt, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "reading the audit checkpoints");
    goto done;
  }
  for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
       mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 9) continue;
    if (visit(ctx, xc__get_be64(k.mv_data), ((const uint8_t *)k.mv_data)[8], v.mv_data,
              v.mv_size) != 0)
      break;
  }
  if (mrc != 0 && mrc != MDB_NOTFOUND)
    rc = xc__mdb_fail(NULL, mrc, err, "reading the audit checkpoints");
done:
  if (cur != NULL) mdb_cursor_close(cur);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  return rc;
}

/* Marks the report bad at entry `seq` (only the first finding counts). */
static void xc__bad(xc_audit_report *rep, uint64_t seq, const char *fmt, ...) XC_PRINTF(3, 4);
static void xc__bad(xc_audit_report *rep, uint64_t seq, const char *fmt, ...) {
  va_list ap;
  if (!rep->ok) return;
  rep->ok = 0;
  rep->first_bad = seq;
  va_start(ap, fmt);
  (void)vsnprintf(rep->reason, sizeof rep->reason, fmt, ap);
  va_end(ap);
}

int xc_snapshot_audit_verify(xc_snapshot *snap, const xc_audit_anchor *anchors, size_t n_anchors,
                             xc_audit_report *rep, xc_err *err) {
  uint8_t buf[XC__AUDIT_HDR + XC__AUDIT_TEXT_MAX];
  uint8_t prev[XC_AUDIT_HASH_BYTES], head_hash[XC_AUDIT_HASH_BYTES];
  uint64_t expect, head_seq = 0, newest_anchor = 0;
  int rc;

  memset(rep, 0, sizeof *rep);
  rep->ok = 1;
  rc = xc_snapshot_audit_base(snap, &rep->base_seq, prev, err);
  if (rc == XC_OK) rc = xc_snapshot_audit_head(snap, &head_seq, head_hash, err);
  if (rc != XC_OK) return rc;
  if (rep->base_seq > 0) {
    int signed_base = 0;
    for (size_t i = 0; i < n_anchors; i++)
      if (anchors[i].kind == XC_AUDIT_CKPT_PRUNE && anchors[i].seq == rep->base_seq &&
          memcmp(anchors[i].hash, prev, XC_AUDIT_HASH_BYTES) == 0)
        signed_base = 1;
    if (!signed_base)
      xc__bad(rep, rep->base_seq,
              "the log was pruned up to entry %llu, but no signed pruning checkpoint vouches "
              "for that point: entries may have been deleted from the start",
              (unsigned long long)rep->base_seq);
  }
  for (size_t i = 0; i < n_anchors; i++)
    if (anchors[i].seq > newest_anchor) newest_anchor = anchors[i].seq;
  memcpy(rep->head, prev, sizeof rep->head);
  rep->last_seq = rep->base_seq;
  expect = rep->base_seq + 1;
  while (rep->ok) {
    xc_audit_record r;
    uint8_t h[XC_AUDIT_HASH_BYTES];
    uint64_t ks = 0;
    size_t len = 0;
    int mrc = 0;
    MDB_val v;
    XC__LOCKED(snap, err, mrc = xc__entry_at_or_after(snap, expect, &ks, buf, &len));
    if (mrc == MDB_NOTFOUND) break;
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "reading the audit log");
    if (ks != expect) {
      xc__bad(rep, expect,
              "entry %llu is missing: the next entry in the log is %llu (entries were deleted)",
              (unsigned long long)expect, (unsigned long long)ks);
      break;
    }
    v.mv_size = len;
    v.mv_data = buf;
    memset(&r, 0, sizeof r);
    if (xc__decode(&v, &r) != 0) {
      xc__bad(rep, ks, "entry %llu does not decode: it was altered", (unsigned long long)ks);
      break;
    }
    if (r.seq != ks) {
      xc__bad(rep, ks,
              "entry %llu holds the content of entry %llu: entries were moved or reordered",
              (unsigned long long)ks, (unsigned long long)r.seq);
      break;
    }
    if (xc_audit_hash(snap->store->audit_alg, prev, buf + XC__AUDIT_HDR, len - XC__AUDIT_HDR,
                      h) != 0)
      return xc_err_set(err, XC_EINTERNAL, "cannot compute the audit hash");
    if (memcmp(h, r.hash, sizeof h) != 0) {
      xc__bad(rep, ks,
              "entry %llu was altered: its content and the chain before it do not give its "
              "stored hash",
              (unsigned long long)ks);
      break;
    }
    for (size_t i = 0; i < n_anchors; i++) {
      if (anchors[i].seq != ks) continue;
      if (memcmp(anchors[i].hash, h, sizeof h) != 0) {
        xc__bad(rep, ks,
                "entry %llu differs from the signed checkpoint of it: the log was rewritten "
                "up to it",
                (unsigned long long)ks);
        break;
      }
      rep->anchored_seq = ks;
    }
    memcpy(prev, h, sizeof prev);
    memcpy(rep->head, h, sizeof rep->head);
    rep->last_seq = ks;
    rep->checked++;
    expect = ks + 1;
  }
  if (!rep->ok) return XC_OK;
  if (newest_anchor > rep->last_seq)
    xc__bad(rep, rep->last_seq + 1,
            "entries %llu to %llu are missing: the log ends at entry %llu, but a signed "
            "checkpoint covers entry %llu (its tail was cut)",
            (unsigned long long)(rep->last_seq + 1), (unsigned long long)newest_anchor,
            (unsigned long long)rep->last_seq, (unsigned long long)newest_anchor);
  else if (head_seq > rep->last_seq)
    xc__bad(rep, rep->last_seq + 1,
            "entries %llu to %llu are missing: the log ends at entry %llu, but its head "
            "records entry %llu (its tail was cut)",
            (unsigned long long)(rep->last_seq + 1), (unsigned long long)head_seq,
            (unsigned long long)rep->last_seq, (unsigned long long)head_seq);
  else if (head_seq < rep->last_seq || memcmp(head_hash, rep->head, sizeof head_hash) != 0)
    xc__bad(rep, head_seq + 1,
            "the log's recorded head (entry %llu) does not match its newest entry %llu: "
            "entries were written past the store's writer",
            (unsigned long long)head_seq, (unsigned long long)rep->last_seq);
  return XC_OK;
}

typedef struct xc__prune_ctx {
  uint64_t up_to;
  const uint8_t *hash;
  const void *blob;
  size_t len;
  uint64_t pruned;
} xc__prune_ctx;

static int xc__prune_fn(xc_txn *t, void *arg, xc_err *err) {
  xc__prune_ctx *p = arg;
  xc_store *s = t->store;
  MDB_cursor *cur = NULL;
  uint8_t key[9];
  MDB_val k = {8, key}, v;
  xc_audit_record r;
  int mrc, rc = XC_OK;

  p->pruned = 0;
  xc__be64(p->up_to, key);
  mrc = mdb_get(t->txn, s->dbi_audit, &k, &v);
  memset(&r, 0, sizeof r);
  if (mrc != 0 || xc__decode(&v, &r) != 0 ||
      memcmp(r.hash, p->hash, XC_AUDIT_HASH_BYTES) != 0) {
    rc = xc_err_set(err, XC_EABORTED,
                    "audit entry %llu is not the one the pruning checkpoint was signed for",
                    (unsigned long long)p->up_to);
    goto done;
  }
  mrc = mdb_cursor_open(t->txn, s->dbi_audit, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(t, mrc, err, "opening an audit cursor");
    goto done;
  }
  for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
       mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 || xc__get_be64(k.mv_data) > p->up_to) break;
    mrc = mdb_cursor_del(cur, 0);
    if (mrc != 0) break;
    p->pruned++;
  }
  if (mrc != 0 && mrc != MDB_NOTFOUND) {
    rc = xc__mdb_fail(t, mrc, err, "pruning the audit log");
    goto done;
  }
  mrc = xc__meta_put_pair(s, t->txn, "audit_base", p->up_to, p->hash);
  if (mrc == 0) {
    xc__be64(p->up_to, key);
    key[8] = XC_AUDIT_CKPT_PRUNE;
    k.mv_size = 9;
    k.mv_data = key;
    v.mv_size = p->len;
    v.mv_data = (void *)p->blob;
    mrc = mdb_put(t->txn, s->dbi_audit_ckpt, &k, &v, 0);
  }
  if (mrc != 0) rc = xc__mdb_fail(t, mrc, err, "recording the pruning point");
done:
  if (cur != NULL) mdb_cursor_close(cur);
  return rc;
}

int xc_store_audit_prune(xc_store *store, uint64_t up_to, const uint8_t hash[XC_AUDIT_HASH_BYTES],
                         const void *ckpt_blob, size_t ckpt_len, uint64_t *n_pruned,
                         xc_err *err) {
  xc__prune_ctx p = {up_to, hash, ckpt_blob, ckpt_len, 0};
  int rc;
  if (n_pruned != NULL) *n_pruned = 0;
  if (up_to == 0 || ckpt_len == 0 || ckpt_len > 64 * 1024)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "pruning needs an entry number and a signed checkpoint");
  rc = xc_store_write(store, xc__prune_fn, &p, err);
  if (rc == XC_OK && n_pruned != NULL) *n_pruned = p.pruned;
  return rc;
}
