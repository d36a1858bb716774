/*
 * xc_store_txn.c: records inside transactions (get, create, update,
 * idempotent create), the change log, and the snapshot reads.
 *
 * The functions that write check everything that can be refused (kind,
 * etag, key lengths) before their first LMDB write. A failure after that
 * marks the nested transaction broken, so the writer rolls it back even if
 * the write function ignores the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_store_int.h"
#include "xc_text.h"

/* Length of a request-table value: id, NUL, 32-byte fingerprint. */
#define XC__FP_LEN 32

/* ------------------------------------------------------------- encoding */

static void xc__be64(uint64_t v, uint8_t out[8]) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * (7 - i)));
}

static uint64_t xc__from_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* Writes the etag of change-log seq: 16 lowercase hex digits. */
void xc__etag(uint64_t seq, char out[XC__ETAG_LEN + 1]) {
  (void)xc_fmt_hex64(out, seq);
}

/*
 * Marks t broken after a failure that came after this job's first write, so
 * the writer rolls the job back even if it goes on to report success.
 */
void xc__txn_break(xc_txn *t, int rc, const xc_err *err) {
  if (t->broken) return;
  t->broken = 1;
  if (err != NULL && err->code == rc)
    t->broken_err = *err;
  else
    (void)xc_err_set(&t->broken_err, rc, "a storage write failed (%s)", xc_code_name(rc));
}

int xc__record_decode(xc_kind kind, const void *data, size_t len, const char *id,
                      size_t id_len, ProtobufCMessage **out, xc_err *err) {
  const uint8_t *p = data;
  *out = NULL;
  if (len < 1 || p[0] != XC__RECORD_FORMAT)
    return xc_err_set(err, XC_EDATA_LOSS,
                      "the stored %s %.*s has an unknown format (%d); it cannot be read",
                      xc_kind_name(kind), (int)id_len, id, len < 1 ? -1 : (int)p[0]);
  *out = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, len - 1, p + 1);
  if (*out == NULL)
    return xc_err_set(err, XC_EDATA_LOSS, "the stored %s %.*s does not decode",
                      xc_kind_name(kind), (int)id_len, id);
  return XC_OK;
}

int xc__record_get(xc_store *s, MDB_txn *txn, xc_txn *t, xc_kind kind, const char *id,
                   size_t len, ProtobufCMessage **out, xc_err *err) {
  MDB_val k;
  MDB_val v;
  int mrc;
  *out = NULL;
  if (len == 0 || len > s->max_key)
    return xc_err_set(err, XC_ENOT_FOUND, "no %s with id %.*s", xc_kind_name(kind),
                      len > 64 ? 64 : (int)len, id);
  k.mv_size = len;
  k.mv_data = (void *)id;
  mrc = mdb_get(txn, s->dbi_kind[kind], &k, &v);
  if (mrc == MDB_NOTFOUND)
    return xc_err_set(err, XC_ENOT_FOUND, "no %s with id %.*s", xc_kind_name(kind), (int)len,
                      id);
  /* A failed read may leave LMDB's transaction unusable: t is told, so the
   * writer rolls the job back rather than commit a spoiled transaction. */
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "reading a record");
  return xc__record_decode(kind, v.mv_data, v.mv_size, id, len, out, err);
}

/* Looks up `id` of kind in txn; ids that are not well formed are NOT_FOUND. */
static int xc__get_by_id(xc_store *s, MDB_txn *txn, xc_txn *t, xc_kind kind, const char *id,
                         ProtobufCMessage **out, xc_err *err) {
  *out = NULL;
  if ((unsigned)kind >= XC_KIND_COUNT)
    return xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
  if (id == NULL) id = "";
  if (!xc_id_valid(kind, id))
    return xc_err_set(err, XC_ENOT_FOUND, "no %s with id %.64s", xc_kind_name(kind), id);
  return xc__record_get(s, txn, t, kind, id, strlen(id), out, err);
}

/* ------------------------------------------------------------ the writes */

int64_t xc_txn_now_ms(const xc_txn *txn) { return txn->now_ms; }

int xc_txn_get(xc_txn *txn, xc_kind kind, const char *id, ProtobufCMessage **out,
               xc_err *err) {
  return xc__get_by_id(txn->store, txn->txn, txn, kind, id, out, err);
}

int xc__log_append(xc_txn *t, uint64_t seq, xc_kind kind, const char *id, const char *op,
                   const char *etag, const char *author, const uint8_t *rec, size_t rec_len,
                   const char *origin, uint64_t origin_seq, xc_err *err) {
  Xuncha__V1__Change c = XUNCHA__V1__CHANGE__INIT;
  uint8_t key[8];
  uint8_t *buf = NULL;
  size_t len = 0;
  MDB_val k;
  MDB_val v;
  int rc = XC_OK;
  int mrc;

  c.seq = seq;
  c.kind = (char *)xc_kind_name(kind);
  c.id = (char *)id;
  c.op = (char *)op;
  c.etag = (char *)etag;
  c.time_ms = t->now_ms;
  c.author = (char *)author;
  c.record.data = (uint8_t *)rec;
  c.record.len = rec_len;
  c.origin = (char *)(origin != NULL ? origin : "");
  c.origin_seq = origin_seq;
  buf = xc_msg_pack(&c.base, 0, &len);
  if (buf == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xc__be64(seq, key);
  k.mv_size = sizeof key;
  k.mv_data = key;
  v.mv_size = len;
  v.mv_data = buf;
  /* Sequence numbers only grow, so appending fills pages completely. */
  mrc = mdb_put(t->txn, t->store->dbi_changelog, &k, &v, MDB_APPEND);
  if (mrc == MDB_KEYEXIST) {
    rc = xc_err_set(err, XC_EDATA_LOSS,
                    "the change log already holds seq %llu; meta last_seq is behind it",
                    (unsigned long long)seq);
    goto done;
  }
  if (mrc != 0) rc = xc__mdb_fail(t, mrc, err, "appending to the change log");
done:
  free(buf);
  return rc;
}

/* Packs rec behind the format byte. Returns the buffer (free it) or NULL. */
uint8_t *xc__record_encode(const ProtobufCMessage *rec, size_t *len) {
  uint8_t *buf = xc_msg_pack(rec, 1, len);
  if (buf != NULL) buf[0] = XC__RECORD_FORMAT;
  return buf;
}

/* Puts a record value; `fresh` refuses an existing key with
 * XC_EALREADY_EXISTS (and no message) instead of replacing it. */
static int xc__record_put(xc_txn *t, xc_kind kind, const char *id, const uint8_t *buf,
                          size_t len, int fresh, xc_err *err) {
  MDB_val k;
  MDB_val v;
  int mrc;
  k.mv_size = strlen(id);
  k.mv_data = (void *)id;
  v.mv_size = len;
  v.mv_data = (void *)buf;
  if (fresh) {
    /* New ids are normally the largest yet: try appending (full pages), and
     * fall back to an ordinary insert when the id is not the last. */
    mrc = mdb_put(t->txn, t->store->dbi_kind[kind], &k, &v, MDB_APPEND);
    if (mrc == MDB_KEYEXIST) mrc = mdb_put(t->txn, t->store->dbi_kind[kind], &k, &v,
                                           MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) return XC_EALREADY_EXISTS;
  } else {
    mrc = mdb_put(t->txn, t->store->dbi_kind[kind], &k, &v, 0);
  }
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "writing a record");
  return XC_OK;
}

/* Sets the string fields an author cannot choose; XC_ERESOURCE_EXHAUSTED
 * when out of memory. */
static int xc__set_strs(ProtobufCMessage *rec, const char *const *names,
                        const char *const *values, size_t n, xc_err *err) {
  for (size_t i = 0; i < n; i++) {
    int rc = xc_msg_set_str(rec, names[i], values[i]);
    if (rc != XC_OK)
      return xc_err_set(err, rc, "cannot set the record's %s (%s)", names[i],
                        xc_code_name(rc));
  }
  return XC_OK;
}

int xc_txn_create(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *owner,
                  const char *author, ProtobufCMessage **out, xc_err *err) {
  xc_txn *t = txn;
  xc__keyset *keys = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  char id[XC__ID_LEN + 1];
  char etag[XC__ETAG_LEN + 1];
  uint64_t seq = t->seq + 1;
  char *owner_copy = NULL;
  char *author_copy = NULL;
  int wrote = 0;
  int rc;

  if (out != NULL) *out = NULL;
  rc = xc__check_kind(kind, rec, err);
  if (rc != XC_OK) goto done;
  /* Copied: owner or author may be strings of rec, which setting rec's
   * fields frees. */
  owner_copy = strdup(owner != NULL ? owner : "");
  author_copy = strdup(author != NULL ? author : "");
  if (owner_copy == NULL || author_copy == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  owner = owner_copy;
  author = author_copy;
  xc__etag(seq, etag);
  {
    const char *names[] = {"etag", "owner", "created_by", "updated_by"};
    const char *values[] = {etag, owner, author, author};
    rc = xc__set_strs(rec, names, values, 4, err);
    if (rc != XC_OK) goto done;
  }
  if (xc_msg_set_int(rec, "create_time_ms", t->now_ms) != XC_OK ||
      xc_msg_set_int(rec, "update_time_ms", t->now_ms) != XC_OK) {
    rc = xc_err_set(err, XC_EINTERNAL, "the %s record has no time fields",
                    xc_kind_name(kind));
    goto done;
  }
  /* A clash with an existing id is astronomically unlikely; draw again
   * rather than overwrite, a bounded number of times. */
  for (int attempt = 0;; attempt++) {
    xc__id_next(&t->store->idgen, kind, t->now_ms, id);
    rc = xc_msg_set_str(rec, "id", id);
    if (rc != XC_OK) {
      rc = xc_err_set(err, rc, "cannot set the record's id");
      goto done;
    }
    xc__keyset_free(keys);
    keys = NULL;
    rc = xc__index_keys(t->store, kind, rec, id, &keys, err);
    if (rc != XC_OK) goto done;
    free(buf);
    buf = xc__record_encode(rec, &len);
    if (buf == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    rc = xc__record_put(t, kind, id, buf, len, 1, err);
    if (rc != XC_EALREADY_EXISTS) break;
    if (attempt == 7) {
      rc = xc_err_set(err, XC_EINTERNAL, "could not draw a fresh %s id", xc_kind_name(kind));
      goto done;
    }
  }
  if (rc != XC_OK) goto done;
  wrote = 1;
  rc = xc__index_apply(t, NULL, keys, err);
  if (rc != XC_OK) goto done;
  rc = xc__counter_apply(t, kind, NULL, rec, err);
  if (rc != XC_OK) goto done;
  rc = xc__log_append(t, seq, kind, id, "create", etag, author, buf + 1, len - 1, NULL, 0,
                      err);
  if (rc != XC_OK) goto done;
  t->seq = seq;
  xc__txn_touch(t, id);
  if (out != NULL) rc = xc__record_decode(kind, buf, len, id, strlen(id), out, err);
done:
  if (rc < 0 && wrote) xc__txn_break(t, rc, err);
  xc__keyset_free(keys);
  free(buf);
  free(owner_copy);
  free(author_copy);
  return rc;
}

int xc_txn_update(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *author,
                  ProtobufCMessage **out, xc_err *err) {
  xc_txn *t = txn;
  ProtobufCMessage *stored = NULL;
  xc__keyset *old_keys = NULL;
  xc__keyset *new_keys = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  char id[XC__ID_LEN + 1];
  char etag[XC__ETAG_LEN + 1];
  const char *sent_etag;
  const char *cur_etag;
  uint64_t seq = t->seq + 1;
  char *author_copy = NULL;
  int wrote = 0;
  int rc;

  if (out != NULL) *out = NULL;
  rc = xc__check_kind(kind, rec, err);
  if (rc != XC_OK) goto done;
  /* Copied: author may be a string of rec, which setting rec's fields frees. */
  author_copy = strdup(author != NULL ? author : "");
  if (author_copy == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  author = author_copy;
  rc = xc_txn_get(t, kind, xc_msg_get_str(rec, "id"), &stored, err);
  if (rc != XC_OK) goto done;
  /* The stored id, in a buffer of our own, for keys and messages. */
  {
    const char *sid = xc_msg_get_str(stored, "id");
    size_t n = strlen(sid);
    if (n > XC__ID_LEN) n = XC__ID_LEN;
    memcpy(id, sid, n);
    id[n] = '\0';
  }
  sent_etag = xc_msg_get_str(rec, "etag");
  cur_etag = xc_msg_get_str(stored, "etag");
  if (strcmp(sent_etag, cur_etag) != 0) {
    rc = xc_err_set(err, XC_EABORTED,
                    "the %s %s was changed since you read it (your etag %.32s, current %s); "
                    "read it again and retry",
                    xc_kind_name(kind), id, sent_etag[0] != '\0' ? sent_etag : "(none)",
                    cur_etag);
    goto done;
  }
  xc__etag(seq, etag);
  {
    const char *names[] = {"id", "region_code", "owner", "created_by", "etag", "updated_by"};
    const char *values[] = {id,
                            xc_msg_get_str(stored, "region_code"),
                            xc_msg_get_str(stored, "owner"),
                            xc_msg_get_str(stored, "created_by"),
                            etag,
                            author};
    rc = xc__set_strs(rec, names, values, 6, err);
    if (rc != XC_OK) goto done;
  }
  if (xc_msg_set_int(rec, "create_time_ms", xc_msg_get_int(stored, "create_time_ms")) !=
          XC_OK ||
      xc_msg_set_int(rec, "update_time_ms", t->now_ms) != XC_OK) {
    rc = xc_err_set(err, XC_EINTERNAL, "the %s record has no time fields",
                    xc_kind_name(kind));
    goto done;
  }
  rc = xc__index_keys(t->store, kind, stored, id, &old_keys, err);
  if (rc == XC_OK) rc = xc__index_keys(t->store, kind, rec, id, &new_keys, err);
  if (rc != XC_OK) goto done;
  buf = xc__record_encode(rec, &len);
  if (buf == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  wrote = 1;
  rc = xc__record_put(t, kind, id, buf, len, 0, err);
  if (rc != XC_OK) goto done;
  rc = xc__index_apply(t, old_keys, new_keys, err);
  if (rc != XC_OK) goto done;
  rc = xc__counter_apply(t, kind, stored, rec, err);
  if (rc != XC_OK) goto done;
  rc = xc__log_append(t, seq, kind, id, "update", etag, author, buf + 1, len - 1, NULL, 0,
                      err);
  if (rc != XC_OK) goto done;
  t->seq = seq;
  xc__txn_touch(t, id);
  if (out != NULL) rc = xc__record_decode(kind, buf, len, id, strlen(id), out, err);
done:
  if (rc < 0 && wrote) xc__txn_break(t, rc, err);
  xc__keyset_free(old_keys);
  xc__keyset_free(new_keys);
  xc_msg_free(stored);
  free(buf);
  free(author_copy);
  return rc;
}

int xc_txn_create_once(xc_txn *txn, xc_kind kind, ProtobufCMessage *rec, const char *owner,
                       const char *author, const char *scope, const char *request_id,
                       const uint8_t fingerprint[32], ProtobufCMessage **out, xc_err *err) {
  static const uint8_t zero_fp[XC__FP_LEN];
  xc_txn *t = txn;
  xc_store *s = t->store;
  ProtobufCMessage *created = NULL;
  char *key = NULL;
  uint8_t *val = NULL;
  size_t scope_len;
  size_t req_len;
  size_t key_len;
  MDB_val k;
  MDB_val v;
  int wrote = 0;
  int rc = XC_OK;
  int mrc;

  if (out != NULL) *out = NULL;
  if (request_id == NULL || request_id[0] == '\0') {
    rc = xc_txn_create(t, kind, rec, owner, author, out, err);
    goto done;
  }
  rc = xc__check_kind(kind, rec, err);
  if (rc != XC_OK) goto done;
  if (scope == NULL) scope = "";
  if (fingerprint == NULL) fingerprint = zero_fp;
  req_len = strlen(request_id);
  scope_len = strlen(scope);
  if (req_len > XC_MAX_REQUEST_ID_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "request_id is %zu bytes; the limit is %d bytes", req_len,
                    XC_MAX_REQUEST_ID_BYTES);
    goto done;
  }
  if (scope_len > s->max_key || scope_len + 2 + req_len > s->max_key) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the caller's identity and request_id are %zu bytes together; the "
                    "limit is %zu bytes",
                    scope_len + req_len, s->max_key - 2);
    goto done;
  }
  key_len = scope_len + 2 + req_len;
  key = malloc(key_len);
  if (key == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  memcpy(key, scope, scope_len);
  key[scope_len] = '\0';
  key[scope_len + 1] = (char)kind;
  memcpy(key + scope_len + 2, request_id, req_len);
  k.mv_size = key_len;
  k.mv_data = key;

  mrc = mdb_get(t->txn, s->dbi_request, &k, &v);
  if (mrc == 0) {
    /* Used before: the value is the record id, NUL, the fingerprint. */
    char id[XC_ID_MAX];
    const uint8_t *p = v.mv_data;
    size_t id_len = v.mv_size > XC__FP_LEN + 1 ? v.mv_size - XC__FP_LEN - 1 : 0;
    if (id_len == 0 || id_len >= sizeof id || p[id_len] != '\0') {
      rc = xc_err_set(err, XC_EDATA_LOSS, "the stored entry of request_id %s is damaged",
                      request_id);
      goto done;
    }
    memcpy(id, p, id_len);
    id[id_len] = '\0';
    if (memcmp(p + id_len + 1, fingerprint, XC__FP_LEN) != 0) {
      rc = xc_err_set(err, XC_EALREADY_EXISTS,
                      "request_id %s was already used by this office for a different %s "
                      "(%s)",
                      request_id, xc_kind_name(kind), id);
      goto done;
    }
    if (out != NULL) {
      rc = xc_txn_get(t, kind, id, out, err);
      if (rc == XC_ENOT_FOUND)
        rc = xc_err_set(err, XC_EDATA_LOSS,
                        "request_id %s created %s %s, which is missing", request_id,
                        xc_kind_name(kind), id);
    }
    goto done;
  }
  if (mrc != MDB_NOTFOUND) {
    rc = xc__mdb_fail(t, mrc, err, "looking up a request_id");
    goto done;
  }

  rc = xc_txn_create(t, kind, rec, owner, author, &created, err);
  if (rc != XC_OK) goto done;
  wrote = 1;
  {
    const char *id = xc_msg_get_str(created, "id");
    size_t id_len = strlen(id);
    val = malloc(id_len + 1 + XC__FP_LEN);
    if (val == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    memcpy(val, id, id_len + 1);
    memcpy(val + id_len + 1, fingerprint, XC__FP_LEN);
    v.mv_size = id_len + 1 + XC__FP_LEN;
    v.mv_data = val;
  }
  mrc = mdb_put(t->txn, s->dbi_request, &k, &v, MDB_NOOVERWRITE);
  if (mrc != 0) {
    rc = xc__mdb_fail(t, mrc, err, "remembering a request_id");
    goto done;
  }
  if (out != NULL) {
    *out = created;
    created = NULL;
  }
done:
  if (rc < 0 && wrote) xc__txn_break(t, rc, err);
  xc_msg_free(created);
  free(key);
  free(val);
  return rc;
}

int xc_txn_request_used(xc_txn *txn, xc_kind kind, const char *scope, const char *request_id,
                        xc_err *err) {
  xc_store *s = txn->store;
  char key[512];
  size_t scope_len, req_len;
  MDB_val k, v;
  int mrc;
  if (scope == NULL) scope = "";
  if (request_id == NULL || request_id[0] == '\0') return 0;
  scope_len = strlen(scope);
  req_len = strlen(request_id);
  if (scope_len + 2 + req_len > s->max_key || scope_len + 2 + req_len > sizeof key) return 0;
  memcpy(key, scope, scope_len);
  key[scope_len] = '\0';
  key[scope_len + 1] = (char)kind;
  memcpy(key + scope_len + 2, request_id, req_len);
  k.mv_size = scope_len + 2 + req_len;
  k.mv_data = key;
  mrc = mdb_get(txn->txn, s->dbi_request, &k, &v);
  if (mrc == 0) return 1;
  if (mrc == MDB_NOTFOUND) return 0;
  return xc__mdb_fail(txn, mrc, err, "looking up a request_id");
}

/* ---------------------------------------------------------- the snapshots */

int xc_snapshot_get(xc_snapshot *snap, xc_kind kind, const char *id, ProtobufCMessage **out,
                    xc_err *err) {
  int rc;
  *out = NULL;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  rc = xc__get_by_id(snap->store, snap->txn, NULL, kind, id, out, err);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  return rc;
}

uint64_t xc_snapshot_last_change(xc_snapshot *snap) {
  MDB_val k = {8, "last_seq"};
  MDB_val v;
  uint64_t seq = 0;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0) return 0;
  if (mdb_get(snap->txn, snap->store->dbi_meta, &k, &v) == 0 && v.mv_size == 8)
    seq = xc__from_be(v.mv_data, 8);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  return seq;
}
