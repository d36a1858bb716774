/*
 * xc_store_blob.c: document content in the store (xc_store.h, "content"):
 * uploads chunk by chunk, their completion with deduplication by digest,
 * reads of chunks, the walk over all content, and the sweep of uploads a
 * stopped server left pending.
 */
#include <stdio.h>
#include <string.h>

#include "xc_store_int.h"

/* Key sizes: content id + chunk index; algorithm + digest. */
#define XC__BLOB_KEY (XC_CONTENT_ID_LEN + 4)
#define XC__CONTENT_KEY (1 + XC_DIGEST_LEN)
/* A content value: content id, size (8), chunk count (4). */
#define XC__CONTENT_VAL (XC_CONTENT_ID_LEN + 8 + 4)

/* Writes v as n big-endian bytes at p. */
static void xc__put_be(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Reads n big-endian bytes at p. */
static uint64_t xc__get_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* Builds the blob key of chunk `index` of content `id`. */
static void xc__blob_key(uint8_t key[XC__BLOB_KEY], const uint8_t id[XC_CONTENT_ID_LEN],
                         uint32_t index) {
  memcpy(key, id, XC_CONTENT_ID_LEN);
  xc__put_be(key + XC_CONTENT_ID_LEN, index, 4);
}

/* Decodes a content entry; 0 or -1 when it is malformed. */
static int xc__content_decode(const MDB_val *k, const MDB_val *v, xc_content_info *out) {
  const uint8_t *kp = k->mv_data, *vp = v->mv_data;
  if (k->mv_size != XC__CONTENT_KEY || v->mv_size != XC__CONTENT_VAL) return -1;
  memset(out, 0, sizeof *out);
  out->algorithm = kp[0];
  memcpy(out->digest, kp + 1, XC_DIGEST_LEN);
  memcpy(out->content_id, vp, XC_CONTENT_ID_LEN);
  out->size = xc__get_be(vp + XC_CONTENT_ID_LEN, 8);
  out->chunks = (uint32_t)xc__get_be(vp + XC_CONTENT_ID_LEN + 8, 4);
  return 0;
}

/* Deletes the chunks of content id, from chunk 0 up to the first missing
 * one (chunks are written in order, so there are no holes). */
static int xc__chunks_delete(xc_store *s, MDB_txn *txn, xc_txn *t,
                             const uint8_t id[XC_CONTENT_ID_LEN], xc_err *err) {
  for (uint32_t i = 0;; i++) {
    uint8_t key[XC__BLOB_KEY];
    MDB_val k = {sizeof key, key};
    int mrc;
    xc__blob_key(key, id, i);
    mrc = mdb_del(txn, s->dbi_blob, &k, NULL);
    if (mrc == MDB_NOTFOUND) return XC_OK;
    if (mrc != 0) return xc__mdb_fail(t, mrc, err, "deleting a content chunk");
  }
}

int xc_txn_upload_chunk(xc_txn *t, const uint8_t id[XC_CONTENT_ID_LEN], uint32_t index,
                        const void *data, size_t len, xc_err *err) {
  xc_store *s = t->store;
  uint8_t key[XC__BLOB_KEY];
  MDB_val k = {sizeof key, key};
  MDB_val v = {len, (void *)data};
  int mrc;
  if (len > XC_ARCHIVE_CHUNK_BYTES)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "a chunk is %zu bytes; the limit is %d", len,
                      XC_ARCHIVE_CHUNK_BYTES);
  if (index == 0) {
    uint8_t when[8];
    MDB_val uk = {XC_CONTENT_ID_LEN, (void *)id};
    MDB_val uv = {sizeof when, when};
    xc__put_be(when, (uint64_t)t->now_ms, 8);
    mrc = mdb_put(t->txn, s->dbi_upload, &uk, &uv, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST)
      return xc_err_set(err, XC_EALREADY_EXISTS, "the upload has begun already");
    if (mrc != 0) return xc__mdb_fail(t, mrc, err, "recording an upload");
  } else {
    /* Chunks go in order from 0 into a pending upload: abort and the sweep
     * at open delete from chunk 0 up to the first missing one, so a chunk
     * after a hole, or added to an upload that is no longer pending (a
     * finished content's chunks), would never be deleted. */
    MDB_val uk = {XC_CONTENT_ID_LEN, (void *)id};
    MDB_val uv, pv;
    xc__blob_key(key, id, index - 1);
    mrc = mdb_get(t->txn, s->dbi_upload, &uk, &uv);
    if (mrc == 0) mrc = mdb_get(t->txn, s->dbi_blob, &k, &pv);
    if (mrc == MDB_NOTFOUND)
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "chunk %u of an upload that is not pending or lacks chunk %u: chunks "
                        "are stored in order from 0",
                        index, index - 1);
    if (mrc != 0) return xc__mdb_fail(t, mrc, err, "looking up an upload");
  }
  xc__blob_key(key, id, index);
  mrc = mdb_put(t->txn, s->dbi_blob, &k, &v, MDB_NOOVERWRITE);
  if (mrc == MDB_KEYEXIST)
    return xc__mdb_fail(t, MDB_KEYEXIST, err, "storing a chunk twice");
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "storing a content chunk");
  return XC_OK;
}

int xc_txn_upload_finish(xc_txn *t, const uint8_t id[XC_CONTENT_ID_LEN], int algorithm,
                         const uint8_t digest[XC_DIGEST_LEN], uint64_t size, uint32_t chunks,
                         xc_content_info *out, int *deduplicated, xc_err *err) {
  xc_store *s = t->store;
  uint8_t ckey[XC__CONTENT_KEY], cval[XC__CONTENT_VAL];
  MDB_val uk = {XC_CONTENT_ID_LEN, (void *)id};
  MDB_val uv, k = {sizeof ckey, ckey}, v;
  int mrc, rc;
  *deduplicated = 0;
  mrc = mdb_get(t->txn, s->dbi_upload, &uk, &uv);
  if (mrc == MDB_NOTFOUND)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "the upload is not pending (it never began or was swept)");
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "reading an upload");
  if (algorithm < 1 || algorithm > 255)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "unknown hash algorithm %d", algorithm);
  ckey[0] = (uint8_t)algorithm;
  memcpy(ckey + 1, digest, XC_DIGEST_LEN);
  mrc = mdb_get(t->txn, s->dbi_content, &k, &v);
  if (mrc == 0) {
    /* The same bytes are stored already: keep them once. */
    if (xc__content_decode(&k, &v, out) != 0)
      return xc_err_set(err, XC_EDATA_LOSS, "a content entry of the store is damaged");
    rc = xc__chunks_delete(s, t->txn, t, id, err);
    if (rc != XC_OK) return rc;
    *deduplicated = 1;
  } else if (mrc == MDB_NOTFOUND) {
    memcpy(cval, id, XC_CONTENT_ID_LEN);
    xc__put_be(cval + XC_CONTENT_ID_LEN, size, 8);
    xc__put_be(cval + XC_CONTENT_ID_LEN + 8, chunks, 4);
    v.mv_size = sizeof cval;
    v.mv_data = cval;
    mrc = mdb_put(t->txn, s->dbi_content, &k, &v, MDB_NOOVERWRITE);
    if (mrc != 0) return xc__mdb_fail(t, mrc, err, "recording a content");
    memset(out, 0, sizeof *out);
    out->algorithm = algorithm;
    memcpy(out->digest, digest, XC_DIGEST_LEN);
    memcpy(out->content_id, id, XC_CONTENT_ID_LEN);
    out->size = size;
    out->chunks = chunks;
  } else {
    return xc__mdb_fail(t, mrc, err, "looking up a content");
  }
  mrc = mdb_del(t->txn, s->dbi_upload, &uk, NULL);
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "ending an upload");
  return XC_OK;
}

int xc_txn_upload_abort(xc_txn *t, const uint8_t id[XC_CONTENT_ID_LEN], xc_err *err) {
  xc_store *s = t->store;
  MDB_val uk = {XC_CONTENT_ID_LEN, (void *)id};
  MDB_val uv;
  int mrc = mdb_get(t->txn, s->dbi_upload, &uk, &uv);
  int rc;
  if (mrc == MDB_NOTFOUND) return XC_OK;
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "reading an upload");
  rc = xc__chunks_delete(s, t->txn, t, id, err);
  if (rc != XC_OK) return rc;
  mrc = mdb_del(t->txn, s->dbi_upload, &uk, NULL);
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "ending an upload");
  return XC_OK;
}

int xc__blob_sweep(xc_store *s, MDB_txn *txn, uint64_t *swept, xc_err *err) {
  *swept = 0;
  for (;;) {
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t id[XC_CONTENT_ID_LEN];
    int mrc = mdb_cursor_open(txn, s->dbi_upload, &cur);
    int rc;
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "opening a cursor on uploads");
    mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc == 0 && k.mv_size == XC_CONTENT_ID_LEN) memcpy(id, k.mv_data, sizeof id);
    mdb_cursor_close(cur);
    if (mrc == MDB_NOTFOUND) return XC_OK;
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "reading the pending uploads");
    if (k.mv_size != XC_CONTENT_ID_LEN) {
      /* Not ours: drop the malformed entry so the sweep ends. */
      mrc = mdb_del(txn, s->dbi_upload, &k, NULL);
      if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "deleting a damaged upload entry");
      continue;
    }
    rc = xc__chunks_delete(s, txn, NULL, id, err);
    if (rc != XC_OK) return rc;
    k.mv_size = sizeof id;
    k.mv_data = id;
    mrc = mdb_del(txn, s->dbi_upload, &k, NULL);
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "deleting an abandoned upload");
    (*swept)++;
  }
}

/* ------------------------------------------------------------ reads */

int xc_snapshot_content(xc_snapshot *snap, int algorithm, const uint8_t digest[XC_DIGEST_LEN],
                        xc_content_info *out, xc_err *err) {
  xc_store *s = snap->store;
  uint8_t ckey[XC__CONTENT_KEY];
  MDB_val k = {sizeof ckey, ckey}, v;
  int mrc, rc = XC_OK;
  if (algorithm < 1 || algorithm > 255)
    return xc_err_set(err, XC_ENOT_FOUND, "no content with hash algorithm %d", algorithm);
  ckey[0] = (uint8_t)algorithm;
  memcpy(ckey + 1, digest, XC_DIGEST_LEN);
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_get(snap->txn, s->dbi_content, &k, &v);
  if (mrc == MDB_NOTFOUND)
    rc = xc_err_set(err, XC_ENOT_FOUND, "the content is not stored");
  else if (mrc != 0)
    rc = xc__mdb_fail(NULL, mrc, err, "looking up a content");
  else if (xc__content_decode(&k, &v, out) != 0)
    rc = xc_err_set(err, XC_EDATA_LOSS, "a content entry of the store is damaged");
  (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

int xc_snapshot_chunk(xc_snapshot *snap, const uint8_t id[XC_CONTENT_ID_LEN], uint32_t index,
                      void *buf, size_t cap, size_t *len, xc_err *err) {
  xc_store *s = snap->store;
  uint8_t key[XC__BLOB_KEY];
  MDB_val k = {sizeof key, key}, v;
  int mrc, rc = XC_OK;
  *len = 0;
  xc__blob_key(key, id, index);
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_get(snap->txn, s->dbi_blob, &k, &v);
  if (mrc == MDB_NOTFOUND) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "chunk %u of a stored content is missing",
                    (unsigned)index);
  } else if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "reading a content chunk");
  } else if (v.mv_size > cap) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "chunk %u of a stored content is %zu bytes, over %zu",
                    (unsigned)index, v.mv_size, cap);
  } else {
    /* The data lives in the map only while the transaction does: copy it. */
    memcpy(buf, v.mv_data, v.mv_size);
    *len = v.mv_size;
  }
  (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

int xc_snapshot_contents(xc_snapshot *snap, const xc_content_info *after, xc_content_fn visit,
                         void *ctx, xc_err *err) {
  xc_store *s = snap->store;
  uint8_t start[XC__CONTENT_KEY];
  int rc = XC_OK;
  int first = 1;
  if (after != NULL) {
    start[0] = (uint8_t)after->algorithm;
    memcpy(start + 1, after->digest, XC_DIGEST_LEN);
  }
  for (;;) {
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    xc_content_info info;
    int mrc, stop;
    /* One cursor step per lock hold: visit runs with no lock held. */
    if (pthread_rwlock_rdlock(&s->map_lock) != 0)
      return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
    mrc = mdb_cursor_open(snap->txn, s->dbi_content, &cur);
    if (mrc == 0) {
      if (first && after == NULL) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
      } else {
        k.mv_size = sizeof start;
        k.mv_data = start;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc == 0 && k.mv_size == sizeof start && memcmp(k.mv_data, start, sizeof start) == 0)
          mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      }
    }
    if (mrc == 0 && xc__content_decode(&k, &v, &info) != 0) mrc = MDB_CORRUPTED;
    if (cur != NULL) mdb_cursor_close(cur);
    (void)pthread_rwlock_unlock(&s->map_lock);
    if (mrc == MDB_NOTFOUND) break;
    if (mrc == MDB_CORRUPTED) return xc_err_set(err, XC_EDATA_LOSS, "a content entry is damaged");
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "walking the stored content");
    first = 0;
    start[0] = (uint8_t)info.algorithm;
    memcpy(start + 1, info.digest, XC_DIGEST_LEN);
    stop = visit(ctx, &info);
    if (stop < 0) {
      rc = stop;
      break;
    }
    if (stop > 0) break;
  }
  return rc;
}

int xc_snapshot_pending_uploads(xc_snapshot *snap, uint64_t *out, xc_err *err) {
  MDB_stat st;
  int mrc;
  *out = 0;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  mrc = mdb_stat(snap->txn, snap->store->dbi_upload, &st);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "counting pending uploads");
  *out = st.ms_entries;
  return XC_OK;
}
