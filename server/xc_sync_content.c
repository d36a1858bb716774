/*
 * xc_sync_content.c: document content (立卷归档) in federation (xc_sync.h,
 * server/SYNC.md).
 *
 * A Document record names its content by digest; the content itself lives
 * in the store's blob databases. Content moves before the record that names
 * it: a pusher sends the content its upstream lacks before the batch with
 * the document, and a puller fetches the content it lacks before it applies
 * the batch. Chunks travel one unary call each (at most
 * XC_ARCHIVE_CHUNK_BYTES), in the sender's own chunking; the receiver
 * stores each as one small write of a pending upload and, at the last
 * chunk, hashes what it stored and names it the content only if size and
 * digest match. An interrupted transfer leaves a pending upload, which the
 * next start of the server sweeps; the next sync sends the content again
 * under a new upload id.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "xc_archive.h"
#include "xc_home.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_sync.h"
#include "xuncha/client.h"

#define XC__HAS "/xuncha.v1.Sync/HasContent"
#define XC__PUT "/xuncha.v1.Sync/PutContent"
#define XC__GET "/xuncha.v1.Sync/GetContent"

/* Checks a content reference: a known algorithm and a 32-byte digest. */
static int xc__ref_ok(const Xuncha__V1__ContentRef *r, xc_err *err) {
  if (r == NULL || xc_archive_md(r->algorithm) == NULL || r->digest.len != XC_DIGEST_LEN)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "a content reference needs algorithm 1 (SHA-256) or 2 (SM3) and a "
                      "%d-byte digest",
                      XC_DIGEST_LEN);
  return XC_OK;
}

int xc_sync_has_content(xc_store *store, Xuncha__V1__ContentRef *const *refs, size_t n,
                        protobuf_c_boolean *held, xc_err *err) {
  xc_snapshot *snap = NULL;
  int rc = XC_OK;
  if (n > XC_SYNC_MAX_CONTENT_REFS)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "at most %d content references per call",
                      XC_SYNC_MAX_CONTENT_REFS);
  for (size_t i = 0; i < n && rc == XC_OK; i++) rc = xc__ref_ok(refs[i], err);
  if (rc == XC_OK) rc = xc_snapshot_begin(store, &snap, err);
  for (size_t i = 0; i < n && rc == XC_OK; i++) {
    xc_content_info info;
    int crc = xc_snapshot_content(snap, refs[i]->algorithm, refs[i]->digest.data, &info, err);
    held[i] = crc == XC_OK;
    if (crc == XC_ENOT_FOUND) xc_err_clear(err);
    else if (crc != XC_OK) rc = crc;
  }
  xc_snapshot_end(snap);
  return rc;
}

/* One chunk of a pending upload, as a write. */
typedef struct xc__chunk {
  const uint8_t *upload_id;
  uint32_t index;
  const uint8_t *data;
  size_t len;
} xc__chunk;

static int xc__chunk_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__chunk *c = arg;
  return xc_txn_upload_chunk(txn, c->upload_id, c->index, c->data, c->len, err);
}

/* Finishing (or abandoning) an upload, as a write. */
typedef struct xc__finish {
  const uint8_t *upload_id;
  int algorithm;
  const uint8_t *digest;
  uint64_t size;
  uint32_t chunks;
  int abort;
} xc__finish;

static int xc__finish_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__finish *f = arg;
  xc_content_info info;
  int dedup = 0;
  if (f->abort) return xc_txn_upload_abort(txn, f->upload_id, err);
  return xc_txn_upload_finish(txn, f->upload_id, f->algorithm, f->digest, f->size, f->chunks,
                              &info, &dedup, err);
}

/*
 * Hashes the `chunks` chunks stored under upload_id and checks them against
 * size and digest; then names them the content, or drops them. Returns
 * XC_OK, XC_EDATA_LOSS when they do not match, or a storage error.
 */
static int xc__complete(xc_store *store, const uint8_t *upload_id, int algorithm,
                        const uint8_t *digest, uint64_t size, uint32_t chunks, xc_err *err) {
  xc_snapshot *snap = NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t *buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  uint8_t got[EVP_MAX_MD_SIZE];
  unsigned glen = 0;
  uint64_t total = 0;
  xc__finish f;
  int rc;
  if (md == NULL || buf == NULL || EVP_DigestInit_ex(md, xc_archive_md(algorithm), NULL) != 1) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot hash the content");
    goto done;
  }
  rc = xc_snapshot_begin(store, &snap, err);
  for (uint32_t i = 0; rc == XC_OK && i < chunks; i++) {
    size_t len = 0;
    rc = xc_snapshot_chunk(snap, upload_id, i, buf, XC_ARCHIVE_CHUNK_BYTES, &len, err);
    if (rc == XC_OK && EVP_DigestUpdate(md, buf, len) != 1)
      rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
    total += len;
  }
  xc_snapshot_end(snap);
  if (rc != XC_OK) goto done;
  memset(&f, 0, sizeof f);
  f.upload_id = upload_id;
  f.algorithm = algorithm;
  f.digest = digest;
  f.size = size;
  f.chunks = chunks;
  if (EVP_DigestFinal_ex(md, got, &glen) != 1 || glen != XC_DIGEST_LEN ||
      memcmp(got, digest, XC_DIGEST_LEN) != 0 || total != size) {
    f.abort = 1;
    rc = xc_store_write(store, xc__finish_fn, &f, err);
    if (rc == XC_OK)
      rc = xc_err_set(err, XC_EDATA_LOSS,
                      "the content sent (%llu bytes in %u chunks) does not match its size "
                      "(%llu) and digest: nothing was kept",
                      (unsigned long long)total, chunks, (unsigned long long)size);
    goto done;
  }
  rc = xc_store_write(store, xc__finish_fn, &f, err);
done:
  EVP_MD_CTX_free(md);
  free(buf);
  return rc;
}

int xc_sync_put_content(xc_store *store, const Xuncha__V1__PutContentRequest *req, int *complete,
                        xc_err *err) {
  protobuf_c_boolean held = 0;
  Xuncha__V1__ContentRef *ref = req->content;
  xc__chunk c;
  int rc;
  *complete = 0;
  rc = xc__ref_ok(ref, err);
  if (rc != XC_OK) return rc;
  if (req->upload_id.len != XC_CONTENT_ID_LEN || req->chunks == 0 ||
      req->index >= req->chunks || req->data.len > XC_ARCHIVE_CHUNK_BYTES ||
      req->size > (uint64_t)XC_ARCHIVE_MAX_BYTES)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "PutContent needs a %d-byte upload_id, 0 <= index < chunks, at most %d "
                      "bytes of data and size at most %lld",
                      XC_CONTENT_ID_LEN, XC_ARCHIVE_CHUNK_BYTES,
                      (long long)XC_ARCHIVE_MAX_BYTES);
  rc = xc_sync_has_content(store, &ref, 1, &held, err);
  if (rc != XC_OK) return rc;
  if (held) {
    *complete = 1;
    return XC_OK;
  }
  c.upload_id = req->upload_id.data;
  c.index = req->index;
  c.data = req->data.data;
  c.len = req->data.len;
  rc = xc_store_write(store, xc__chunk_fn, &c, err);
  if (rc != XC_OK || req->index + 1 < req->chunks) return rc;
  rc = xc__complete(store, req->upload_id.data, ref->algorithm, ref->digest.data, req->size,
                    req->chunks, err);
  if (rc == XC_OK) *complete = 1;
  return rc;
}

int xc_sync_get_content(xc_store *store, const Xuncha__V1__GetContentRequest *req,
                        Xuncha__V1__GetContentResponse **out, xc_err *err) {
  Xuncha__V1__GetContentResponse *resp = NULL;
  xc_snapshot *snap = NULL;
  xc_content_info info;
  size_t len = 0;
  int rc;
  *out = NULL;
  rc = xc__ref_ok(req->content, err);
  if (rc == XC_OK) rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK)
    rc = xc_snapshot_content(snap, req->content->algorithm, req->content->digest.data, &info, err);
  if (rc != XC_OK) goto done;
  if (req->index >= info.chunks) {
    rc = xc_err_set(err, XC_EOUT_OF_RANGE, "the content has %u chunks; there is no chunk %u",
                    info.chunks, req->index);
    goto done;
  }
  resp = malloc(sizeof *resp);
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__get_content_response__init(resp);
  resp->data.data = malloc(XC_ARCHIVE_CHUNK_BYTES);
  if (resp->data.data == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc_snapshot_chunk(snap, info.content_id, req->index, resp->data.data,
                         XC_ARCHIVE_CHUNK_BYTES, &len, err);
  if (rc != XC_OK) goto done;
  resp->data.len = len;
  resp->chunks = info.chunks;
  resp->size = info.size;
  *out = resp;
  resp = NULL;
done:
  xc_snapshot_end(snap);
  xc_msg_free(resp);
  return rc;
}

/* ------------------------------------------------------- the engine's side */

/* The content a document change names, if any: 1 and *ref filled, else 0. */
static int xc__doc_ref(const Xuncha__V1__Change *c, int *algorithm, uint8_t digest[XC_DIGEST_LEN]) {
  Xuncha__V1__Document *d;
  int ok = 0;
  if (c->kind == NULL || strcmp(c->kind, "document") != 0) return 0;
  d = (Xuncha__V1__Document *)protobuf_c_message_unpack(&xuncha__v1__document__descriptor, NULL,
                                                        c->record.len, c->record.data);
  if (d == NULL) return 0;
  if (d->content_hash != NULL && d->content_hash[0] != '\0' &&
      xc_archive_unhex(d->content_hash, digest) == 0 && xc_archive_md((int)d->hash_algorithm)) {
    *algorithm = (int)d->hash_algorithm;
    ok = 1;
  }
  xc_msg_free(&d->base);
  return ok;
}

/* The content refs of the documents among changes (at most
 * XC_SYNC_MAX_CONTENT_REFS: a batch holds at most XC_SYNC_MAX_BATCH). */
typedef struct xc__refs {
  Xuncha__V1__ContentRef r[XC_SYNC_MAX_BATCH];
  Xuncha__V1__ContentRef *p[XC_SYNC_MAX_BATCH];
  uint8_t digests[XC_SYNC_MAX_BATCH][XC_DIGEST_LEN];
  size_t n;
} xc__refs;

static void xc__collect_refs(Xuncha__V1__Change *const *changes, size_t n, xc__refs *refs) {
  refs->n = 0;
  for (size_t i = 0; i < n && refs->n < XC_SYNC_MAX_BATCH; i++) {
    int alg = 0;
    Xuncha__V1__ContentRef *r = &refs->r[refs->n];
    if (!xc__doc_ref(changes[i], &alg, refs->digests[refs->n])) continue;
    xuncha__v1__content_ref__init(r);
    r->algorithm = alg;
    r->digest.data = refs->digests[refs->n];
    r->digest.len = XC_DIGEST_LEN;
    refs->p[refs->n] = r;
    refs->n++;
  }
}

/* Sends one stored content to the upstream, chunk by chunk. */
static int xc__send_one(xc_store *store, xc_client *cl, Xuncha__V1__ContentRef *ref,
                        xc_err *err) {
  Xuncha__V1__PutContentRequest q = XUNCHA__V1__PUT_CONTENT_REQUEST__INIT;
  xc_snapshot *snap = NULL;
  xc_content_info info;
  uint8_t upload_id[XC_CONTENT_ID_LEN];
  uint8_t *buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  int rc = XC_OK;
  if (buf == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  if (RAND_bytes(upload_id, sizeof upload_id) != 1) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot draw random bytes");
    goto done;
  }
  rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_content(snap, ref->algorithm, ref->digest.data, &info, err);
  if (rc == XC_ENOT_FOUND) {
    /* A document whose content never arrived here cannot pass it on; the
     * record goes up anyway, and verify on the archive names it. */
    xc_log(XC_LOG_WARN, "sync: a document's content is not held here, so it cannot go up");
    xc_err_clear(err);
    rc = XC_OK;
    goto done;
  }
  q.server = (char *)xc_home_self();
  q.content = ref;
  q.size = info.size;
  q.chunks = info.chunks;
  q.upload_id.data = upload_id;
  q.upload_id.len = sizeof upload_id;
  for (uint32_t i = 0; rc == XC_OK && i < info.chunks; i++) {
    Xuncha__V1__PutContentResponse *r = NULL;
    size_t len = 0;
    rc = xc_snapshot_chunk(snap, info.content_id, i, buf, XC_ARCHIVE_CHUNK_BYTES, &len, err);
    if (rc != XC_OK) break;
    q.index = i;
    q.data.data = buf;
    q.data.len = len;
    int held_there;
    rc = xc_client_call(cl, XC__PUT, &q.base, &xuncha__v1__put_content_response__descriptor,
                        (ProtobufCMessage **)&r, 0, err);
    /* Complete before the last chunk: the upstream holds it already. */
    held_there = rc == XC_OK && r->complete;
    xc_msg_free(r);
    if (held_there) break;
  }
done:
  xc_snapshot_end(snap);
  free(buf);
  return rc;
}

int xc_sync_send_contents(xc_store *store, xc_client *cl, Xuncha__V1__Change *const *changes,
                          size_t n, xc_err *err) {
  Xuncha__V1__HasContentRequest q = XUNCHA__V1__HAS_CONTENT_REQUEST__INIT;
  Xuncha__V1__HasContentResponse *r = NULL;
  xc__refs *refs = malloc(sizeof *refs);
  int rc = XC_OK;
  if (refs == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xc__collect_refs(changes, n, refs);
  if (refs->n == 0) goto done;
  q.server = (char *)xc_home_self();
  q.refs = refs->p;
  q.n_refs = refs->n;
  rc = xc_client_call(cl, XC__HAS, &q.base, &xuncha__v1__has_content_response__descriptor,
                      (ProtobufCMessage **)&r, 0, err);
  if (rc == XC_OK && r->n_held != refs->n)
    rc = xc_err_set(err, XC_EINTERNAL, "the upstream answered HasContent for %zu of %zu",
                    r->n_held, refs->n);
  for (size_t i = 0; rc == XC_OK && i < refs->n; i++)
    if (!r->held[i]) rc = xc__send_one(store, cl, refs->p[i], err);
done:
  xc_msg_free(r);
  free(refs);
  return rc;
}

/* Fetches one content from the upstream into this store. */
static int xc__fetch_one(xc_store *store, xc_client *cl, Xuncha__V1__ContentRef *ref,
                         xc_err *err) {
  Xuncha__V1__GetContentRequest q = XUNCHA__V1__GET_CONTENT_REQUEST__INIT;
  uint8_t upload_id[XC_CONTENT_ID_LEN];
  uint32_t chunks = 1;
  uint64_t size = 0;
  int rc = XC_OK;
  if (RAND_bytes(upload_id, sizeof upload_id) != 1)
    return xc_err_set(err, XC_EINTERNAL, "cannot draw random bytes");
  q.server = (char *)xc_home_self();
  q.content = ref;
  for (uint32_t i = 0; rc == XC_OK && i < chunks; i++) {
    Xuncha__V1__GetContentResponse *r = NULL;
    xc__chunk c;
    q.index = i;
    rc = xc_client_call(cl, XC__GET, &q.base, &xuncha__v1__get_content_response__descriptor,
                        (ProtobufCMessage **)&r, 0, err);
    if (rc == XC_ENOT_FOUND) {
      /* The upstream lacks it too: the record comes anyway. */
      xc_err_clear(err);
      return XC_OK;
    }
    if (rc == XC_OK && (r->chunks == 0 || r->data.len > XC_ARCHIVE_CHUNK_BYTES ||
                        r->size > (uint64_t)XC_ARCHIVE_MAX_BYTES))
      rc = xc_err_set(err, XC_EINTERNAL, "the upstream sent a malformed content chunk");
    if (rc == XC_OK) {
      chunks = r->chunks;
      size = r->size;
      c.upload_id = upload_id;
      c.index = i;
      c.data = r->data.data;
      c.len = r->data.len;
      rc = xc_store_write(store, xc__chunk_fn, &c, err);
    }
    xc_msg_free(r);
  }
  if (rc == XC_OK)
    rc = xc__complete(store, upload_id, ref->algorithm, ref->digest.data, size, chunks, err);
  return rc;
}

int xc_sync_fetch_contents(xc_store *store, xc_client *cl, Xuncha__V1__Change *const *changes,
                           size_t n, xc_err *err) {
  xc__refs *refs = malloc(sizeof *refs);
  protobuf_c_boolean *held = NULL;
  int rc = XC_OK;
  if (refs == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xc__collect_refs(changes, n, refs);
  if (refs->n == 0) goto done;
  held = calloc(refs->n, sizeof *held);
  if (held == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc_sync_has_content(store, refs->p, refs->n, held, err);
  for (size_t i = 0; rc == XC_OK && i < refs->n; i++)
    if (!held[i]) rc = xc__fetch_one(store, cl, refs->p[i], err);
done:
  free(held);
  free(refs);
  return rc;
}
