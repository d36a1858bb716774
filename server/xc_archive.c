/*
 * xc_archive.c: the documents of the archive (server/ARCHIVE.md): their
 * rules, and xuncha.v1.Archive: streamed upload with deduplication by
 * digest, streamed download checked against the digest, and the rehash of
 * every stored content (VerifyArchive).
 */
#include "xc_archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "handlers.h"
#include "xc_audit.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_workflow.h"

/* Documents a VerifyArchive names, at most (more are counted). */
#define XC__VERIFY_MAX_PROBLEMS 1000

/* ------------------------------------------------------------- rules */

int xc_archive_may_read(const xc_identity *who, const Xuncha__V1__Document *d) {
  if (d->lead_owner != NULL && d->lead_owner[0] != '\0')
    return xc_may_read_lead(who, d->lead_owner, d->recipient);
  return xc_may_read_region(who, d->region_code);
}

/* Loads the round `id` and refuses it when it is archived. */
static int xc__round_open(const xc_lookup *lk, const char *round_id, xc_err *err) {
  ProtobufCMessage *m = NULL;
  int rc = lk->get(lk->ctx, XC_KIND_ROUND, round_id, &m, err);
  if (rc == XC_OK &&
      ((Xuncha__V1__Round *)m)->stage == XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED)
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "round %s is archived (立卷归档): its documents are read-only", round_id);
  xc_msg_free(m);
  return rc;
}

int xc_archive_validate(Xuncha__V1__Document *d, xc_validate_mode mode, const xc_identity *who,
                        const xc_lookup *lk, xc_err *err) {
  ProtobufCMessage *att = NULL, *fm = NULL;
  xc_kind kind;
  char q[96];
  const char *round_id = NULL, *owner;
  int rc = XC_OK;

  if (d->stage == 0 || d->stage > 8)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "document.stage is required: 进驻准备, 汇报座谈, 查阅资料, 个别谈话, 意见反馈, "
                      "问题线索, 问题底稿 or 巡察报告");
  if (d->kind == 0) return xc_err_set(err, XC_EINVALID_ARGUMENT, "document.kind is required");
  if (xc_record_blank(d->title))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "document.title is required");
  if (d->retention_years < 0 || d->retention_years > 100)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "document.retention_years must be 0 (permanent, 永久) to 100 (sent %d)",
                      (int)d->retention_years);
  if (mode == XC_VALIDATE_UPDATE) return xc__round_open(lk, d->round_id, err);

  if (who->role != XC_ROLE_OFFICE)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not file documents: only inspection offices do", who->cn);
  kind = xc_workflow_kind_of_id(d->attached_id);
  if (kind != XC_KIND_ROUND && kind != XC_KIND_FINDING && kind != XC_KIND_PROGRESS &&
      kind != XC_KIND_LEAD)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "document.attached_id '%s' must name a round (r_), finding (f_), "
                      "rectification entry (p_) or lead (l_)",
                      xc_record_quote(d->attached_id, q, sizeof q));
  rc = lk->get(lk->ctx, kind, d->attached_id, &att, err);
  if (rc == XC_ENOT_FOUND) {
    rc = xc_err_set(err, XC_ENOT_FOUND, "%s %s named by document.attached_id does not exist",
                    xc_kind_name(kind), d->attached_id);
    goto done;
  }
  if (rc != XC_OK) goto done;
  if (!xc_validate_may_read(who, kind, att)) {
    rc = xc_validate_read_denied(who, kind, att, err);
    goto done;
  }
  /* A document follows its record: whoever may change the record files on it. */
  owner = xc_msg_get_str(att, "owner");
  if (!xc_may_write_owned(who, owner)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not file documents on %s %s: it belongs to %s, and only its owner "
                    "adds to it",
                    who->cn, xc_kind_name(kind), d->attached_id, owner);
    goto done;
  }
  if (xc_workflow_voided(att)) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%s %s is voided (作废); nothing is filed on it",
                    xc_kind_name(kind), d->attached_id);
    goto done;
  }
  switch (kind) {
    case XC_KIND_ROUND:
      round_id = d->attached_id;
      break;
    case XC_KIND_PROGRESS:
      rc = lk->get(lk->ctx, XC_KIND_FINDING, ((Xuncha__V1__ProgressEntry *)att)->finding_id, &fm,
                   err);
      if (rc != XC_OK) goto done;
      round_id = ((Xuncha__V1__Finding *)fm)->round_id;
      break;
    default:
      round_id = xc_msg_get_str(att, "round_id");
      break;
  }
  rc = xc__round_open(lk, round_id, err);
  if (rc != XC_OK) goto done;
  if (xc_msg_set_str(&d->base, "round_id", round_id) != XC_OK ||
      xc_msg_set_str(&d->base, "region_code", xc_msg_get_str(att, "region_code")) != XC_OK ||
      (kind == XC_KIND_LEAD &&
       (xc_msg_set_str(&d->base, "lead_owner", ((Xuncha__V1__Lead *)att)->owner) != XC_OK ||
        xc_msg_set_str(&d->base, "recipient", ((Xuncha__V1__Lead *)att)->recipient) != XC_OK)))
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
done:
  xc_msg_free(att);
  xc_msg_free(fm);
  return rc;
}

/* ------------------------------------------------------------- hashing */

const EVP_MD *xc_archive_md(int algorithm) {
  if (algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SHA256) return EVP_sha256();
  if (algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3) return EVP_sm3();
  return NULL;
}

/* The name of a HashAlgorithm, for messages. */
static const char *xc__algo_name(int algorithm) {
  return algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3 ? "SM3" : "SHA-256";
}

/* Writes n bytes as 2n lowercase hex digits and a NUL into out. */
static void xc__hex(const uint8_t *p, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[p[i] >> 4];
    out[2 * i + 1] = hx[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Parses 64 hex digits; 0 or -1. */
int xc_archive_unhex(const char *s, uint8_t out[XC_DIGEST_LEN]) {
  if (s == NULL || strlen(s) != 2 * XC_DIGEST_LEN) return -1;
  for (size_t i = 0; i < XC_DIGEST_LEN; i++) {
    int v = 0;
    for (int k = 0; k < 2; k++) {
      char c = s[2 * i + (size_t)k];
      int x = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (x < 0) return -1;
      v = v * 16 + x;
    }
    out[i] = (uint8_t)v;
  }
  return 0;
}

/* ------------------------------------------------------------- upload */

/* Looks records up in a store snapshot, for validation. */
static int xc__snap_get(void *snap, xc_kind kind, const char *id, ProtobufCMessage **out,
                        xc_err *err) {
  return xc_snapshot_get((xc_snapshot *)snap, kind, id, out, err);
}

typedef struct xc__chunk_w {
  const uint8_t *id;
  uint32_t index;
  const void *data;
  size_t len;
} xc__chunk_w;

/* Write function: stores one chunk of an upload. */
static int xc__chunk_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__chunk_w *w = c;
  return xc_txn_upload_chunk(txn, w->id, w->index, w->data, w->len, err);
}

/* Write function: drops a pending upload and its chunks (ctx: the id). */
static int xc__abort_fn(xc_txn *txn, void *c, xc_err *err) {
  return xc_txn_upload_abort(txn, c, err);
}

typedef struct xc__finish_w {
  const uint8_t *id;
  int algorithm;
  uint8_t digest[XC_DIGEST_LEN];
  uint64_t size;
  uint32_t chunks;
  const Xuncha__V1__Document *doc; /* complete but for the server's fields */
  const char *owner, *author, *scope, *request_id;
  uint8_t fp[32];
  int deduplicated;
  ProtobufCMessage *out;
} xc__finish_w;

/* Looks records up inside the write, for the checks that must hold when
 * the document is stored. */
static int xc__txn_get(void *txn, xc_kind kind, const char *id, ProtobufCMessage **out,
                       xc_err *err) {
  return xc_txn_get((xc_txn *)txn, kind, id, out, err);
}

/* Write function: checks the round and the record again, completes the
 * upload (or drops it as a duplicate) and creates the document, all in one
 * transaction. Sets w->out (the caller's) and w->deduplicated. */
static int xc__finish_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__finish_w *w = c;
  xc_content_info info;
  ProtobufCMessage *copy = NULL, *att = NULL;
  xc_lookup lk = {xc__txn_get, txn, NULL};
  xc_kind kind = xc_workflow_kind_of_id(w->doc->attached_id);
  int rc;
  xc_msg_free(w->out);
  w->out = NULL;
  /* The round may have been archived, or the record voided, while the
   * content streamed in: check again where it counts. */
  rc = xc__round_open(&lk, w->doc->round_id, err);
  if (rc == XC_OK) rc = xc_txn_get(txn, kind, w->doc->attached_id, &att, err);
  if (rc == XC_OK && xc_workflow_voided(att))
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%s %s was voided (作废) during the upload",
                    xc_kind_name(kind), w->doc->attached_id);
  xc_msg_free(att);
  if (rc != XC_OK) return rc;
  rc = xc_txn_upload_finish(txn, w->id, w->algorithm, w->digest, w->size, w->chunks, &info,
                            &w->deduplicated, err);
  if (rc != XC_OK) return rc;
  copy = xc_msg_clone(&w->doc->base);
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create_once(txn, XC_KIND_DOCUMENT, copy, w->owner, w->author, w->scope,
                          w->request_id, w->fp, &w->out, err);
  xc_msg_free(copy);
  return rc;
}

/* Archive.UploadDocument (client stream): see the file comment. */
XC__HANDLER(xc__upload_document) {
  ProtobufCMessage *m = NULL;
  const Xuncha__V1__UploadDocumentRequest *r;
  Xuncha__V1__Document *doc = NULL;
  Xuncha__V1__UploadDocumentResponse *out = NULL;
  xc_snapshot *snap = NULL;
  EVP_MD_CTX *md = NULL;
  uint8_t id[XC_CONTENT_ID_LEN];
  xc__finish_w fw;
  char owner[XC_REGION_MAX_DIGITS + 16], author[XC_AUTHOR_MAX], hex[2 * XC_DIGEST_LEN + 1];
  char request_id[XC_MAX_REQUEST_ID_BYTES + 1];
  uint32_t index = 0;
  uint64_t total = 0;
  int started = 0, rc;
  unsigned dlen = 0;

  (void)req;
  *resp = NULL;
  memset(&fw, 0, sizeof fw);
  if (ctx->call == NULL) return xc_err_set(err, XC_EUNIMPLEMENTED, "UploadDocument streams");
  if (!ctx->has_identity) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED,
                    "the client certificate does not name a xuncha identity");
    goto done;
  }
  rc = xc_call_recv(ctx->call, &xuncha__v1__upload_document_request__descriptor, &m, err);
  if (rc != XC_OK) goto done;
  r = (const Xuncha__V1__UploadDocumentRequest *)m;
  if (r == NULL || r->document == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the first message of UploadDocument must carry the document");
    goto done;
  }
  fw.algorithm = r->hash_algorithm != 0 ? (int)r->hash_algorithm
                                        : XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SHA256;
  if (xc_archive_md(fw.algorithm) == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "hash_algorithm %d is not SHA256 or SM3",
                    (int)r->hash_algorithm);
    goto done;
  }
  if (strlen(r->request_id) > XC_MAX_REQUEST_ID_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "request_id is over %d bytes",
                    XC_MAX_REQUEST_ID_BYTES);
    goto done;
  }
  xc_strlcpy(request_id, r->request_id, sizeof request_id);
  doc = (Xuncha__V1__Document *)xc_msg_clone(&r->document->base);
  if (doc == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xc_record_strip_unknown(&doc->base);
  xc_record_clear_output_only(XC_KIND_DOCUMENT, &doc->base);
  rc = xc_record_check_strings(XC_KIND_DOCUMENT, &doc->base, err);
  if (rc == XC_OK) rc = xc_record_check_enums(&doc->base, "document", err);
  if (rc == XC_OK) rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) {
    xc_lookup lk = {xc__snap_get, snap, NULL};
    rc = xc_archive_validate(doc, XC_VALIDATE_CREATE, &ctx->id, &lk, err);
  }
  xc_snapshot_end(snap);
  snap = NULL;
  if (rc != XC_OK) goto done;

  /* The content streams in: each chunk is its own small durable write. */
  if (RAND_bytes(id, sizeof id) != 1) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot draw an upload id");
    goto done;
  }
  md = EVP_MD_CTX_new();
  if (md == NULL || EVP_DigestInit_ex(md, xc_archive_md(fw.algorithm), NULL) != 1) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot start the %s digest", xc__algo_name(fw.algorithm));
    goto done;
  }
  for (;;) {
    r = (const Xuncha__V1__UploadDocumentRequest *)m;
    if (r->document != NULL && started) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "only the first message of UploadDocument carries the document");
      goto done;
    }
    if (r->chunk.len > XC_ARCHIVE_CHUNK_BYTES) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "chunk %u is %zu bytes; the limit is %d",
                      (unsigned)index, r->chunk.len, XC_ARCHIVE_CHUNK_BYTES);
      goto done;
    }
    if (r->chunk.len > 0 || (r->finish != NULL && index == 0)) {
      xc__chunk_w cw = {id, index, r->chunk.data, r->chunk.len};
      total += r->chunk.len;
      if (total > (uint64_t)XC_ARCHIVE_MAX_BYTES) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "the document is over %lld bytes",
                        (long long)XC_ARCHIVE_MAX_BYTES);
        goto done;
      }
      if (index == UINT32_MAX) {
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "too many chunks");
        goto done;
      }
      if (EVP_DigestUpdate(md, r->chunk.data, r->chunk.len) != 1) {
        rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
        goto done;
      }
      started = 1;
      rc = xc_store_write(ctx->store, xc__chunk_fn, &cw, err);
      if (rc != XC_OK) goto done;
      index++;
    }
    started = 1;
    if (r->finish != NULL) break;
    xc_msg_free(m);
    m = NULL;
    rc = xc_call_recv(ctx->call, &xuncha__v1__upload_document_request__descriptor, &m, err);
    if (rc != XC_OK) goto done;
    if (m == NULL) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the upload ended without its finish message: nothing was stored");
      goto done;
    }
  }
  if (EVP_DigestFinal_ex(md, fw.digest, &dlen) != 1 || dlen != XC_DIGEST_LEN) {
    rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
    goto done;
  }
  xc__hex(fw.digest, XC_DIGEST_LEN, hex);
  if ((uint64_t)r->finish->size != total) {
    rc = xc_err_set(err, XC_EDATA_LOSS,
                    "the server received %llu bytes but the client sent %lld: nothing was stored",
                    (unsigned long long)total, (long long)r->finish->size);
    goto done;
  }
  if (strcasecmp(r->finish->content_hash, hex) != 0) {
    char q[96];
    rc = xc_err_set(err, XC_EDATA_LOSS,
                    "the content's %s is %s but the client computed '%s': the upload was damaged; "
                    "nothing was stored",
                    xc__algo_name(fw.algorithm), hex,
                    xc_record_quote(r->finish->content_hash, q, sizeof q));
    goto done;
  }
  doc->size = (int64_t)total;
  doc->hash_algorithm = (Xuncha__V1__HashAlgorithm)fw.algorithm;
  if (xc_msg_set_str(&doc->base, "content_hash", hex) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc_record_fingerprint(&doc->base, fw.fp);
  if (rc != XC_OK) {
    rc = xc_err_set(err, rc, "cannot fingerprint the request");
    goto done;
  }
  xc_identity_owner(&ctx->id, owner, sizeof owner);
  xc_identity_author(&ctx->id, author, sizeof author);
  fw.id = id;
  fw.size = total;
  fw.chunks = index;
  fw.doc = doc;
  fw.owner = owner;
  fw.author = author;
  fw.scope = ctx->id.cn;
  fw.request_id = request_id;
  {
    /* The document and its audit entry commit together (xc_audit.h). */
    xc_audit_entry who;
    xc_audit_who(ctx, &who);
    rc = xc_store_write_audited(ctx->store, &who, xc__finish_fn, &fw, err);
    if (rc == XC_OK) ctx->audit_done = 1;
  }
  if (rc != XC_OK) goto done;
  started = 0; /* the chunks are the content now, or were dropped */
  out = malloc(sizeof *out);
  if (out == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__upload_document_response__init(out);
  out->document = (Xuncha__V1__Document *)fw.out;
  fw.out = NULL;
  out->deduplicated = fw.deduplicated;
  *resp = &out->base;
done:
  if (started) {
    /* Nothing of a failed upload stays behind (a crash leaves it to the
     * sweep at the next start). */
    xc_err aerr;
    int arc = xc_store_write(ctx->store, xc__abort_fn, id, &aerr);
    (void)arc;
  }
  EVP_MD_CTX_free(md);
  xc_msg_free(fw.out);
  xc_msg_free(doc);
  xc_msg_free(m);
  return rc;
}

/* ------------------------------------------------------------- download */

/* Reads content `info` chunk by chunk (a fresh snapshot each, so a long
 * read pins no old pages), hashing it; calls send for each chunk unless it
 * is NULL. Returns XC_OK, XC_EDATA_LOSS with err saying what is wrong, or
 * the error of send. *bytes gets the bytes read. */
typedef int (*xc__chunk_sink)(void *ctx, const uint8_t *data, size_t len, xc_err *err);

static int xc__read_content(xc_store *store, const xc_content_info *info, uint8_t *buf,
                            xc__chunk_sink sink, void *sctx, uint64_t *bytes, xc_err *err) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  uint8_t got[EVP_MAX_MD_SIZE];
  unsigned glen = 0;
  uint64_t total = 0;
  int rc = XC_OK;
  *bytes = 0;
  if (md == NULL || xc_archive_md(info->algorithm) == NULL ||
      EVP_DigestInit_ex(md, xc_archive_md(info->algorithm), NULL) != 1) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "content with unknown hash algorithm %d",
                    info->algorithm);
    goto done;
  }
  for (uint32_t i = 0; i < info->chunks; i++) {
    xc_snapshot *snap = NULL;
    size_t len = 0;
    rc = xc_snapshot_begin(store, &snap, err);
    if (rc == XC_OK)
      rc = xc_snapshot_chunk(snap, info->content_id, i, buf, XC_ARCHIVE_CHUNK_BYTES, &len, err);
    xc_snapshot_end(snap);
    if (rc != XC_OK) goto done;
    total += len;
    if (EVP_DigestUpdate(md, buf, len) != 1) {
      rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
      goto done;
    }
    if (sink != NULL) {
      rc = sink(sctx, buf, len, err);
      if (rc != XC_OK) goto done;
    }
  }
  *bytes = total;
  if (EVP_DigestFinal_ex(md, got, &glen) != 1 || glen != XC_DIGEST_LEN) {
    rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
    goto done;
  }
  if (total != info->size) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "the stored content has %llu bytes, not %llu",
                    (unsigned long long)total, (unsigned long long)info->size);
    goto done;
  }
  if (memcmp(got, info->digest, XC_DIGEST_LEN) != 0) {
    char hex[2 * XC_DIGEST_LEN + 1];
    xc__hex(got, XC_DIGEST_LEN, hex);
    rc = xc_err_set(err, XC_EDATA_LOSS, "the stored content now hashes to %s: it is damaged",
                    hex);
  }
done:
  EVP_MD_CTX_free(md);
  return rc;
}

typedef struct xc__send_ctx {
  xc_call *call;
} xc__send_ctx;

/* Sends one chunk of a download on the call. */
static int xc__send_chunk(void *c, const uint8_t *data, size_t len, xc_err *err) {
  xc__send_ctx *s = c;
  Xuncha__V1__DownloadDocumentResponse msg = XUNCHA__V1__DOWNLOAD_DOCUMENT_RESPONSE__INIT;
  msg.chunk.data = (uint8_t *)data;
  msg.chunk.len = len;
  return xc_call_send(s->call, &msg.base, err);
}

/* Finds the content a document names: XC_EDATA_LOSS when it is missing. */
static int xc__doc_content(xc_store *store, const Xuncha__V1__Document *d, xc_content_info *info,
                           xc_err *err) {
  xc_snapshot *snap = NULL;
  uint8_t digest[XC_DIGEST_LEN];
  int rc;
  if (xc_archive_unhex(d->content_hash, digest) != 0)
    return xc_err_set(err, XC_EDATA_LOSS, "document %s has no valid content hash", d->id);
  rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_content(snap, (int)d->hash_algorithm, digest, info, err);
  xc_snapshot_end(snap);
  if (rc == XC_ENOT_FOUND)
    rc = xc_err_set(err, XC_EDATA_LOSS, "the content of document %s (%s %s) is missing", d->id,
                    xc__algo_name((int)d->hash_algorithm), d->content_hash);
  return rc;
}

/* Archive.DownloadDocument (server stream): the document, then its chunks. */
XC__HANDLER(xc__download_document) {
  const Xuncha__V1__DownloadDocumentRequest *r = (const Xuncha__V1__DownloadDocumentRequest *)req;
  ProtobufCMessage *dm = NULL;
  Xuncha__V1__DownloadDocumentResponse first = XUNCHA__V1__DOWNLOAD_DOCUMENT_RESPONSE__INIT;
  xc_content_info info;
  uint8_t *buf = NULL;
  uint64_t bytes = 0;
  xc__send_ctx sc;
  int rc;
  *resp = NULL;
  if (ctx->call == NULL) return xc_err_set(err, XC_EUNIMPLEMENTED, "DownloadDocument streams");
  rc = xc_service_get(ctx, XC_KIND_DOCUMENT, r->id, &dm, err);
  if (rc == XC_OK) rc = xc__doc_content(ctx->store, (Xuncha__V1__Document *)dm, &info, err);
  if (rc != XC_OK) goto done;
  buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  if (buf == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  first.document = (Xuncha__V1__Document *)dm;
  rc = xc_call_send(ctx->call, &first.base, err);
  if (rc != XC_OK) goto done;
  sc.call = ctx->call;
  rc = xc__read_content(ctx->store, &info, buf, xc__send_chunk, &sc, &bytes, err);
  if (rc == XC_EDATA_LOSS) {
    char why[XC_ERR_MSG_MAX / 2];
    xc_strlcpy(why, err->msg, sizeof why);
    rc = xc_err_set(err, XC_EDATA_LOSS,
                    "document %s: %s; discard what was received (xuncha archive verify names "
                    "every damaged document)",
                    r->id, why);
  }
done:
  free(buf);
  xc_msg_free(dm);
  return rc;
}

/* ------------------------------------------------------------- verify */

typedef struct xc__bad {
  xc_content_info info;
  char problem[192];
} xc__bad;

typedef struct xc__verify {
  const xc_identity *who;
  xc__bad *bad;
  size_t n_bad;
  int64_t problems;
  Xuncha__V1__VerifyProblem **named; /* per bad content: its readable documents */
  xc_store *store;
} xc__verify;

/* Content walk visitor: copies the first content and stops. */
static int xc__first_visit(void *c, const xc_content_info *info) {
  *(xc_content_info *)c = *info;
  return 1;
}

/* Adds a problem for content info; 0 or -1 when out of memory. */
static int xc__add_bad(xc__verify *v, const xc_content_info *info, const char *problem) {
  v->problems++;
  if (v->n_bad >= XC__VERIFY_MAX_PROBLEMS) return 0;
  v->bad[v->n_bad].info = *info;
  xc_strlcpy(v->bad[v->n_bad].problem, problem, sizeof v->bad[v->n_bad].problem);
  v->n_bad++;
  return 0;
}

/* Document walk visitor of VerifyArchive: names the readable documents of
 * each damaged content and records documents whose content is missing.
 * Takes rec. */
static int xc__verify_doc_visit(void *c, ProtobufCMessage *rec) {
  xc__verify *v = c;
  const Xuncha__V1__Document *d = (const Xuncha__V1__Document *)rec;
  uint8_t digest[XC_DIGEST_LEN];
  size_t i = 0;
  if (xc_archive_unhex(d->content_hash, digest) != 0 || !xc_archive_may_read(v->who, d)) goto done;
  for (i = 0; i < v->n_bad; i++)
    if (v->bad[i].info.algorithm == (int)d->hash_algorithm &&
        memcmp(v->bad[i].info.digest, digest, XC_DIGEST_LEN) == 0)
      break;
  if (i == v->n_bad) {
    /* Its content was not found damaged: is it there at all? */
    xc_content_info info;
    xc_err e;
    size_t before = v->n_bad;
    if (xc__doc_content(v->store, d, &info, &e) != XC_EDATA_LOSS) goto done;
    memset(&info, 0, sizeof info);
    info.algorithm = (int)d->hash_algorithm;
    memcpy(info.digest, digest, XC_DIGEST_LEN);
    (void)xc__add_bad(v, &info, "the content is missing");
    if (v->n_bad == before) goto done; /* over the limit: counted only */
    i = before;
  }
  {
    Xuncha__V1__VerifyProblem *p = v->named[i];
    char **g;
    char *s;
    if (p->n_document_ids >= XC_MAX_REPEATED) goto done;
    g = realloc(p->document_ids, (p->n_document_ids + 1) * sizeof *g);
    if (g == NULL) goto done;
    p->document_ids = g;
    s = strdup(d->id);
    if (s != NULL) p->document_ids[p->n_document_ids++] = s;
  }
done:
  xc_msg_free(rec);
  return 0;
}

/* Archive.VerifyArchive (server stream): rehashes every stored content. */
XC__HANDLER(xc__verify_archive) {
  xc__verify v;
  xc_content_info cur;
  uint8_t *buf = NULL;
  int have = 0, rc = XC_OK;
  int64_t checked = 0, bytes_checked = 0;
  (void)req;
  *resp = NULL;
  memset(&v, 0, sizeof v);
  if (ctx->call == NULL) return xc_err_set(err, XC_EUNIMPLEMENTED, "VerifyArchive streams");
  if (!ctx->has_identity ||
      (ctx->id.role != XC_ROLE_ADMIN && ctx->id.role != XC_ROLE_OFFICE)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "VerifyArchive needs an admin:<code> or office:<code> certificate");
    goto done;
  }
  v.who = &ctx->id;
  v.store = ctx->store;
  buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  v.bad = calloc(XC__VERIFY_MAX_PROBLEMS, sizeof *v.bad);
  v.named = calloc(XC__VERIFY_MAX_PROBLEMS, sizeof *v.named);
  if (buf == NULL || v.bad == NULL || v.named == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  /* Every stored content, one at a time, each read with fresh snapshots. */
  for (;;) {
    xc_snapshot *snap = NULL;
    xc_content_info next;
    uint64_t n = 0;
    xc_err e;
    int found = 0;
    memset(&next, 0, sizeof next);
    next.algorithm = -1;
    rc = xc_snapshot_begin(ctx->store, &snap, err);
    if (rc == XC_OK)
      rc = xc_snapshot_contents(snap, have ? &cur : NULL, xc__first_visit, &next, err);
    xc_snapshot_end(snap);
    if (rc != XC_OK) goto done;
    found = next.algorithm >= 0;
    if (!found) break;
    cur = next;
    have = 1;
    if (xc__read_content(ctx->store, &cur, buf, NULL, NULL, &n, &e) != XC_OK)
      (void)xc__add_bad(&v, &cur, e.msg);
    checked++;
    bytes_checked += (int64_t)n;
  }
  for (size_t i = 0; i < XC__VERIFY_MAX_PROBLEMS; i++) {
    v.named[i] = malloc(sizeof *v.named[i]);
    if (v.named[i] == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    xuncha__v1__verify_problem__init(v.named[i]);
  }
  {
    /* Name the documents of each damaged content (those the caller may
     * read), and find documents whose content is missing altogether. */
    xc_snapshot *snap = NULL;
    rc = xc_snapshot_begin(ctx->store, &snap, err);
    if (rc == XC_OK)
      rc = xc_snapshot_scan(snap, XC_KIND_DOCUMENT, XC_INDEX_ALL, "", NULL, xc__verify_doc_visit,
                            &v, err);
    xc_snapshot_end(snap);
    if (rc != XC_OK) goto done;
  }
  for (size_t i = 0; i < v.n_bad; i++) {
    Xuncha__V1__VerifyArchiveResponse msg = XUNCHA__V1__VERIFY_ARCHIVE_RESPONSE__INIT;
    Xuncha__V1__VerifyProblem *p = v.named[i];
    char hex[2 * XC_DIGEST_LEN + 1];
    xc__hex(v.bad[i].info.digest, XC_DIGEST_LEN, hex);
    p->hash_algorithm = (Xuncha__V1__HashAlgorithm)v.bad[i].info.algorithm;
    p->content_hash = hex;
    p->problem = v.bad[i].problem;
    msg.problem = p;
    rc = xc_call_send(ctx->call, &msg.base, err);
    /* The strings are ours on the stack: not the message's to free. */
    p->content_hash = (char *)protobuf_c_empty_string;
    p->problem = (char *)protobuf_c_empty_string;
    if (rc != XC_OK) goto done;
  }
  {
    Xuncha__V1__VerifyArchiveResponse msg = XUNCHA__V1__VERIFY_ARCHIVE_RESPONSE__INIT;
    msg.done = 1;
    msg.contents_checked = checked;
    msg.bytes_checked = bytes_checked;
    msg.problems = v.problems;
    {
      xc_snapshot *snap = NULL;
      uint64_t pending = 0;
      rc = xc_snapshot_begin(ctx->store, &snap, err);
      if (rc == XC_OK) rc = xc_snapshot_pending_uploads(snap, &pending, err);
      xc_snapshot_end(snap);
      if (rc != XC_OK) goto done;
      msg.pending_uploads = (int64_t)pending;
    }
    rc = xc_call_send(ctx->call, &msg.base, err);
  }
done:
  if (v.named != NULL)
    for (size_t i = 0; i < XC__VERIFY_MAX_PROBLEMS; i++) xc_msg_free(v.named[i]);
  free(v.named);
  free(v.bad);
  free(buf);
  return rc;
}

/* ------------------------------------------------------------- unary */

XC__HANDLER(xc__get_document) {
  const Xuncha__V1__GetDocumentRequest *r = (const Xuncha__V1__GetDocumentRequest *)req;
  return xc_service_get(ctx, XC_KIND_DOCUMENT, r->id, resp, err);
}

/* Archive.UpdateDocument: the generic update with the archive's rules. */
XC__HANDLER(xc__update_document) {
  const Xuncha__V1__UpdateDocumentRequest *r = (const Xuncha__V1__UpdateDocumentRequest *)req;
  return xc_service_update(ctx, XC_KIND_DOCUMENT, (const ProtobufCMessage *)r->document,
                           r->update_mask, r->n_update_mask, resp, err);
}

/* Archive.ListDocuments: by round, by attached record, by stage. */
XC__HANDLER(xc__list_documents) {
  const Xuncha__V1__ListDocumentsRequest *r = (const Xuncha__V1__ListDocumentsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.round_id = r->round_id;
  f.parent_id = r->attached_id;
  f.status = (int32_t)r->stage;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_DOCUMENT, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_documents_response__descriptor, &page, resp, err);
}
