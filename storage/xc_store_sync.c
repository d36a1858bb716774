/*
 * xc_store_sync.c: replicas, sync progress values, change-log pruning and
 * raw record walks for federation (xc_store_sync.h).
 */
#include "xc_store_sync.h"

#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_store_int.h"


/* Change-log entries one prune call looks at, whatever max says. */
#define XC__PRUNE_HARD_MAX 100000

static void xc__put_be64(uint64_t v, uint8_t out[8]) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * (7 - i)));
}

static uint64_t xc__get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

int xc_txn_replicate(xc_txn *txn, xc_kind kind, const uint8_t *packed, size_t len,
                     const char *origin, uint64_t origin_seq, int *changed, xc_err *err) {
  xc_txn *t = txn;
  xc_store *s = t->store;
  ProtobufCMessage *rec = NULL, *stored = NULL;
  xc__keyset *old_keys = NULL, *new_keys = NULL;
  uint8_t *buf = NULL;
  char id[XC__ID_LEN + 1];
  const char *rid, *owner, *etag;
  uint64_t seq = t->seq + 1;
  int wrote = 0;
  int rc = XC_OK;
  int mrc;

  *changed = 0;
  if (!xc_kind_used(kind)) {
    rc = xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
    goto done;
  }
  if (len >= SIZE_MAX - 1) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the %s record is too large", xc_kind_name(kind));
    goto done;
  }
  rec = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, len, packed);
  if (rec == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "a replicated %s record does not decode",
                    xc_kind_name(kind));
    goto done;
  }
  rid = xc_msg_get_str(rec, "id");
  owner = xc_msg_get_str(rec, "owner");
  etag = xc_msg_get_str(rec, "etag");
  if (rid == NULL || !xc_id_valid(kind, rid)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "a replicated %s record has no valid %s id",
                    xc_kind_name(kind), xc_kind_name(kind));
    goto done;
  }
  memcpy(id, rid, XC__ID_LEN);
  id[XC__ID_LEN] = '\0';
  if (owner == NULL || owner[0] == '\0' || etag == NULL || etag[0] == '\0') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the replicated %s %s has no owner or etag",
                    xc_kind_name(kind), id);
    goto done;
  }
  rc = xc__record_get(s, t->txn, t, kind, id, XC__ID_LEN, &stored, err);
  if (rc == XC_ENOT_FOUND) {
    xc_err_clear(err);
    rc = XC_OK;
  }
  if (rc != XC_OK) goto done;
  if (stored != NULL) {
    const char *sowner = xc_msg_get_str(stored, "owner");
    if (strcmp(sowner, owner) != 0) {
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "%s %s is owned by %s here, not by %s; an owner never changes",
                      xc_kind_name(kind), id, sowner, owner);
      goto done;
    }
    /* Every change on the home server draws a new etag, so equal etags and
     * times mean this very version is stored already. */
    if (strcmp(xc_msg_get_str(stored, "etag"), etag) == 0 &&
        xc_msg_get_int(stored, "update_time_ms") == xc_msg_get_int(rec, "update_time_ms"))
      goto done;
    rc = xc__index_keys(s, kind, stored, id, &old_keys, err);
    if (rc != XC_OK) goto done;
  }
  rc = xc__index_keys(s, kind, rec, id, &new_keys, err);
  if (rc != XC_OK) goto done;
  buf = malloc(len + 1);
  if (buf == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  buf[0] = XC__RECORD_FORMAT;
  if (len > 0) memcpy(buf + 1, packed, len);
  wrote = 1;
  {
    MDB_val k = {XC__ID_LEN, id};
    MDB_val v = {len + 1, buf};
    mrc = mdb_put(t->txn, s->dbi_kind[kind], &k, &v, 0);
    if (mrc != 0) {
      rc = xc__mdb_fail(t, mrc, err, "writing a replicated record");
      goto done;
    }
  }
  rc = xc__index_apply(t, old_keys, new_keys, err);
  if (rc != XC_OK) goto done;
  rc = xc__counter_apply(t, kind, stored, rec, err);
  if (rc != XC_OK) goto done;
  rc = xc__log_append(t, seq, kind, id, stored != NULL ? "update" : "create", etag,
                      xc_msg_get_str(rec, "updated_by"), packed, len, origin, origin_seq, err);
  if (rc != XC_OK) goto done;
  t->seq = seq;
  xc__txn_touch(t, id);
  *changed = 1;
done:
  if (rc < 0 && wrote) xc__txn_break(t, rc, err);
  xc__keyset_free(old_keys);
  xc__keyset_free(new_keys);
  xc_msg_free(stored);
  xc_msg_free(rec);
  free(buf);
  return rc;
}

/* Checks a value name: 1 to XC_SYNC_KEY_MAX bytes. */
static int xc__name_ok(const char *name, xc_err *err) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n == 0 || n > XC_SYNC_KEY_MAX)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "a sync value name must be 1 to %d bytes",
                      XC_SYNC_KEY_MAX);
  return XC_OK;
}

/* Reads name in txn (t for error reporting, may be NULL). */
static int xc__sync_get(xc_store *s, MDB_txn *txn, xc_txn *t, const char *name, uint64_t *out,
                        xc_err *err) {
  MDB_val k, v;
  int mrc;
  int rc = xc__name_ok(name, err);
  *out = 0;
  if (rc != XC_OK) return rc;
  k.mv_size = strlen(name);
  k.mv_data = (void *)name;
  mrc = mdb_get(txn, s->dbi_sync, &k, &v);
  if (mrc == MDB_NOTFOUND) return XC_OK;
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "reading a sync value");
  if (v.mv_size != 8)
    return xc_err_set(err, XC_EDATA_LOSS, "the sync value %s is damaged", name);
  *out = xc__get_be64(v.mv_data);
  return XC_OK;
}

int xc_txn_sync_get(xc_txn *txn, const char *name, uint64_t *out, xc_err *err) {
  return xc__sync_get(txn->store, txn->txn, txn, name, out, err);
}

int xc_snapshot_sync_get(xc_snapshot *snap, const char *name, uint64_t *out, xc_err *err) {
  int rc;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  rc = xc__sync_get(snap->store, snap->txn, NULL, name, out, err);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  return rc;
}

int xc_txn_sync_put(xc_txn *txn, const char *name, uint64_t value, xc_err *err) {
  uint8_t b[8];
  MDB_val k, v;
  int mrc;
  int rc = xc__name_ok(name, err);
  if (rc != XC_OK) return rc;
  xc__put_be64(value, b);
  k.mv_size = strlen(name);
  k.mv_data = (void *)name;
  v.mv_size = sizeof b;
  v.mv_data = b;
  mrc = mdb_put(txn->txn, txn->store->dbi_sync, &k, &v, 0);
  if (mrc != 0) {
    rc = xc__mdb_fail(txn, mrc, err, "writing a sync value");
    xc__txn_break(txn, rc, err);
  }
  return rc;
}

int xc_snapshot_sync_values(xc_snapshot *snap, const char *prefix, xc_sync_value_fn visit,
                            void *ctx, xc_err *err) {
  xc_store *s = snap->store;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  size_t plen = prefix != NULL ? strlen(prefix) : 0;
  char name[XC_SYNC_KEY_MAX + 1];
  int rc = XC_OK, mrc;
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_cursor_open(snap->txn, s->dbi_sync, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening a cursor on the sync values");
    goto done;
  }
  k.mv_size = plen;
  k.mv_data = (void *)(prefix != NULL ? prefix : "");
  for (mrc = mdb_cursor_get(cur, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST); mrc == 0;
       mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    /* No prefix (NULL or ""): every value; memcmp must not see NULL. */
    if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) break;
    /* Names longer than the limit or values of another size are not ours. */
    if (k.mv_size > XC_SYNC_KEY_MAX || v.mv_size != 8) continue;
    memcpy(name, k.mv_data, k.mv_size);
    name[k.mv_size] = '\0';
    if (visit(ctx, name, xc__get_be64(v.mv_data)) != 0) break;
  }
  if (mrc != 0 && mrc != MDB_NOTFOUND) rc = xc__mdb_fail(NULL, mrc, err, "walking the sync values");
done:
  if (cur != NULL) mdb_cursor_close(cur);
  (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

int xc_txn_log_prune(xc_txn *txn, uint64_t upto, size_t max, size_t *removed, xc_err *err) {
  xc_store *s = txn->store;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  int rc = XC_OK, mrc;
  *removed = 0;
  if (max > XC__PRUNE_HARD_MAX) max = XC__PRUNE_HARD_MAX;
  mrc = mdb_cursor_open(txn->txn, s->dbi_changelog, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(txn, mrc, err, "opening a cursor on the change log");
    goto done;
  }
  /* Sequence numbers are big-endian keys, so the log's first entry is its
   * oldest; the meta last_seq is not touched. */
  while (*removed < max) {
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc == MDB_NOTFOUND) break;
    if (mrc != 0) {
      rc = xc__mdb_fail(txn, mrc, err, "reading the change log");
      goto done;
    }
    if (k.mv_size != 8 || xc__get_be64(k.mv_data) > upto) break;
    mrc = mdb_cursor_del(cur, 0);
    if (mrc != 0) {
      rc = xc__mdb_fail(txn, mrc, err, "pruning the change log");
      if (*removed > 0) xc__txn_break(txn, rc, err);
      goto done;
    }
    (*removed)++;
  }
done:
  if (cur != NULL) mdb_cursor_close(cur);
  return rc;
}

int xc_snapshot_log_info(xc_snapshot *snap, uint64_t *first, uint64_t *entries, xc_err *err) {
  xc_store *s = snap->store;
  MDB_cursor *cur = NULL;
  MDB_stat st;
  MDB_val k, v;
  int rc = XC_OK, mrc;
  *first = 0;
  *entries = 0;
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_stat(snap->txn, s->dbi_changelog, &st);
  if (mrc == 0) {
    *entries = st.ms_entries;
    mrc = mdb_cursor_open(snap->txn, s->dbi_changelog, &cur);
  }
  if (mrc == 0) {
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc == 0 && k.mv_size == 8) *first = xc__get_be64(k.mv_data);
    if (mrc == MDB_NOTFOUND) mrc = 0;
  }
  if (mrc != 0) rc = xc__mdb_fail(NULL, mrc, err, "reading the change log's extent");
  if (cur != NULL) mdb_cursor_close(cur);
  (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

/* A kind walk over xc_snapshot_scan_raw: the visitor also gets the kind. */
typedef struct xc__kind_walk {
  xc_raw_fn visit;
  void *ctx;
  xc_kind kind;
} xc__kind_walk;

static int xc__kind_visit(void *c, const char *id, size_t id_len, const uint8_t *rec,
                          size_t len) {
  xc__kind_walk *w = c;
  return w->visit(w->ctx, w->kind, id, id_len, rec, len);
}

int xc_snapshot_walk_kind(xc_snapshot *snap, xc_kind kind, const char *after_id, xc_raw_fn visit,
                          void *ctx, xc_err *err) {
  xc__kind_walk w;
  w.visit = visit;
  w.ctx = ctx;
  w.kind = kind;
  return xc_snapshot_scan_raw(snap, kind, XC_INDEX_ALL, "", after_id, xc__kind_visit, &w, err);
}
