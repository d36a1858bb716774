/*
 * xc_client_archive.c: the streaming calls of libxuncha (Archive upload,
 * download and verify) on the gRPC core C API. Unlike the unary calls (one
 * batch of six ops), a stream runs several batches on one call: the status
 * is asked for at the start (it completes when the call ends, early if the
 * server refuses), and each message is its own batch, waited for before the
 * next, so at most one chunk is in flight and memory stays bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <openssl/evp.h>

#include "xc_client_int.h"
#include "xc_limits.h"

#define XC__STREAM_DEFAULT_MS (10LL * 60 * 1000)
#define XC__STREAM_MAX_MS (24LL * 3600 * 1000)

/* One streaming call and what its status batch fills in. */
typedef struct xc__stream {
  grpc_completion_queue *cq;
  grpc_call *call;
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status;
  grpc_slice details;
  const char *error_string;
  int status_started; /* the status batch (tag &status) is in flight */
  int status_done;
  const char *method;
  xc_client *client;
} xc__stream;

/* Prepares s and starts a call of `method` with the whole transfer's
 * deadline. xc__stream_close releases s whatever this returned. */
static int xc__stream_open(xc__stream *s, xc_client *c, const char *method, int64_t timeout_ms,
                           xc_err *err) {
  gpr_timespec deadline;
  memset(s, 0, sizeof *s);
  s->details = grpc_empty_slice();
  s->status = GRPC_STATUS_UNKNOWN;
  s->method = method;
  s->client = c;
  grpc_metadata_array_init(&s->initial_md);
  grpc_metadata_array_init(&s->trailing_md);
  if (c == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "no client was given");
  if (timeout_ms < 0 || timeout_ms > XC__STREAM_MAX_MS)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the timeout is %lld ms; it must be 0 (ten minutes) up to a day",
                      (long long)timeout_ms);
  if (timeout_ms == 0) timeout_ms = XC__STREAM_DEFAULT_MS;
  s->cq = grpc_completion_queue_create_for_pluck(NULL);
  deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
  return xc__client_start_call(c, method, s->cq, deadline, &s->call, err);
}

/* Runs a batch and waits for it. Returns 1 if it succeeded. */
static int xc__stream_batch(xc__stream *s, const grpc_op *ops, size_t n, void *tag) {
  grpc_event ev;
  if (grpc_call_start_batch(s->call, ops, n, tag, NULL) != GRPC_CALL_OK) return 0;
  ev = grpc_completion_queue_pluck(s->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Starts the batch that receives the final status (once). */
static int xc__stream_want_status(xc__stream *s, xc_err *err) {
  grpc_op op;
  if (s->status_started) return XC_OK;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  op.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
  op.data.recv_status_on_client.status = &s->status;
  op.data.recv_status_on_client.status_details = &s->details;
  op.data.recv_status_on_client.error_string = &s->error_string;
  if (grpc_call_start_batch(s->call, &op, 1, &s->status, NULL) != GRPC_CALL_OK)
    return xc_err_set(err, XC_EINTERNAL, "gRPC refused the status batch of %s", s->method);
  s->status_started = 1;
  return XC_OK;
}

/* Waits for the final status and turns it into an xc_code with err. */
static int xc__stream_status(xc__stream *s, xc_err *err) {
  char msg[XC_ERR_MSG_MAX];
  size_t n;
  int code;
  if (!s->status_started) return xc_err_set(err, XC_EINTERNAL, "no status batch");
  if (!s->status_done) {
    grpc_event ev =
        grpc_completion_queue_pluck(s->cq, &s->status, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    (void)ev;
    s->status_done = 1;
  }
  if (s->status == GRPC_STATUS_OK) return XC_OK;
  code = xc_code_from_grpc((int)s->status);
  n = GRPC_SLICE_LENGTH(s->details);
  if (n >= sizeof msg) n = sizeof msg - 1;
  memcpy(msg, GRPC_SLICE_START_PTR(s->details), n);
  msg[n] = '\0';
  if (code == XC_EUNAVAILABLE)
    return xc_err_set(err, code, "cannot reach %s over TLS (%s)", xc__client_server(s->client),
                      msg[0] != '\0' ? msg : xc_code_name(code));
  return xc_err_set(err, code, "%s", msg[0] != '\0' ? msg : xc_code_name(code));
}

/* Cancels (if it still runs), waits for the status batch and frees. */
static void xc__stream_close(xc__stream *s) {
  if (s->call != NULL) {
    if (s->status_started && !s->status_done) {
      grpc_event ev;
      grpc_call_cancel(s->call, NULL);
      ev = grpc_completion_queue_pluck(s->cq, &s->status, gpr_inf_future(GPR_CLOCK_REALTIME),
                                       NULL);
      (void)ev;
    }
    grpc_call_unref(s->call);
  }
  grpc_metadata_array_destroy(&s->initial_md);
  grpc_metadata_array_destroy(&s->trailing_md);
  grpc_slice_unref(s->details);
  if (s->error_string != NULL) gpr_free((void *)s->error_string);
  if (s->cq != NULL) {
    grpc_event ev;
    grpc_completion_queue_shutdown(s->cq);
    ev = grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    (void)ev;
    grpc_completion_queue_destroy(s->cq);
  }
}

/* Sends one message (and initial metadata first, when `first`). Returns 1
 * if it went out. */
static int xc__stream_send(xc__stream *s, const ProtobufCMessage *msg, int first) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  grpc_slice slice = grpc_slice_malloc(len);
  grpc_byte_buffer *bb;
  grpc_op ops[2];
  size_t n = 0;
  int ok;
  (void)protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
  bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  memset(ops, 0, sizeof ops);
  if (first) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = bb;
  ok = xc__stream_batch(s, ops, n, (void *)ops);
  grpc_byte_buffer_destroy(bb);
  return ok;
}

/* Receives the next message as desc: 1 with *out set, 0 at the end of the
 * stream or when the call failed (the status says which), -1 when it does
 * not decode. */
static int xc__stream_recv(xc__stream *s, const ProtobufCMessageDescriptor *desc,
                           ProtobufCMessage **out) {
  grpc_op op;
  grpc_byte_buffer *bb = NULL;
  grpc_byte_buffer_reader reader;
  grpc_slice all;
  *out = NULL;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &bb;
  if (!xc__stream_batch(s, &op, 1, (void *)&op) || bb == NULL) {
    if (bb != NULL) grpc_byte_buffer_destroy(bb);
    return 0;
  }
  if (!grpc_byte_buffer_reader_init(&reader, bb)) {
    grpc_byte_buffer_destroy(bb);
    return -1;
  }
  all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  grpc_byte_buffer_destroy(bb);
  *out = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
  grpc_slice_unref(all);
  return *out != NULL ? 1 : -1;
}

/* The OpenSSL digest of a HashAlgorithm (0: SHA-256), or NULL. */
static const EVP_MD *xc__md(int algorithm) {
  if (algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3) return EVP_sm3();
  if (algorithm == 0 || algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SHA256)
    return EVP_sha256();
  return NULL;
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

int xc_archive_put(xc_client *c, const Xuncha__V1__Document *doc,
                   const xc_archive_put_options *opt, xc_archive_read_fn read, void *read_ctx,
                   Xuncha__V1__UploadDocumentResponse **out, int64_t timeout_ms, xc_err *err) {
  xc__stream s;
  EVP_MD_CTX *md = NULL;
  uint8_t *buf = NULL;
  uint8_t digest[EVP_MAX_MD_SIZE];
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  unsigned dlen = 0;
  uint64_t total = 0;
  int algorithm = opt != NULL ? (int)opt->algorithm : 0;
  int rc, sent_ok = 1, first = 1;
  ProtobufCMessage *reply = NULL;

  if (out != NULL) *out = NULL;
  rc = xc__stream_open(&s, c, "/xuncha.v1.Archive/UploadDocument", timeout_ms, err);
  if (rc != XC_OK) goto done;
  if (doc == NULL || read == NULL || xc__md(algorithm) == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "a document, a read function and SHA-256 or SM3 are required");
    goto done;
  }
  md = EVP_MD_CTX_new();
  buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  if (md == NULL || buf == NULL || EVP_DigestInit_ex(md, xc__md(algorithm), NULL) != 1) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc__stream_want_status(&s, err);
  if (rc != XC_OK) goto done;
  {
    Xuncha__V1__UploadDocumentRequest m = XUNCHA__V1__UPLOAD_DOCUMENT_REQUEST__INIT;
    m.document = (Xuncha__V1__Document *)doc;
    m.hash_algorithm = (Xuncha__V1__HashAlgorithm)algorithm;
    if (opt != NULL && opt->request_id != NULL) m.request_id = (char *)opt->request_id;
    sent_ok = xc__stream_send(&s, &m.base, 1);
    first = 0;
  }
  while (sent_ok) {
    Xuncha__V1__UploadDocumentRequest m = XUNCHA__V1__UPLOAD_DOCUMENT_REQUEST__INIT;
    long long n = read(read_ctx, buf, XC_ARCHIVE_CHUNK_BYTES);
    if (n < 0 || (size_t)n > XC_ARCHIVE_CHUNK_BYTES) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "reading the content failed after %llu bytes: the upload was cancelled",
                      (unsigned long long)total);
      goto done;
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
      rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
      goto done;
    }
    total += (uint64_t)n;
    m.chunk.data = buf;
    m.chunk.len = (size_t)n;
    sent_ok = xc__stream_send(&s, &m.base, first);
    if (sent_ok && opt != NULL && opt->progress != NULL)
      opt->progress(opt->progress_ctx, total, opt->total_bytes);
  }
  if (sent_ok) {
    Xuncha__V1__UploadDocumentRequest m = XUNCHA__V1__UPLOAD_DOCUMENT_REQUEST__INIT;
    Xuncha__V1__UploadFinish fin = XUNCHA__V1__UPLOAD_FINISH__INIT;
    grpc_op ops[3];
    grpc_byte_buffer *bb = NULL;
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1) {
      rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
      goto done;
    }
    xc__hex(digest, dlen, hex);
    fin.size = (int64_t)total;
    fin.content_hash = hex;
    m.finish = &fin;
    sent_ok = xc__stream_send(&s, &m.base, 0);
    if (sent_ok) {
      /* Half-close, then the reply. */
      memset(ops, 0, sizeof ops);
      ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
      ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
      ops[1].data.recv_initial_metadata.recv_initial_metadata = &s.initial_md;
      ops[2].op = GRPC_OP_RECV_MESSAGE;
      ops[2].data.recv_message.recv_message = &bb;
      (void)xc__stream_batch(&s, ops, 3, (void *)ops);
      if (bb != NULL) {
        grpc_byte_buffer_reader reader;
        if (grpc_byte_buffer_reader_init(&reader, bb)) {
          grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
          grpc_byte_buffer_reader_destroy(&reader);
          reply = protobuf_c_message_unpack(&xuncha__v1__upload_document_response__descriptor,
                                            NULL, GRPC_SLICE_LENGTH(all),
                                            GRPC_SLICE_START_PTR(all));
          grpc_slice_unref(all);
        }
        grpc_byte_buffer_destroy(bb);
      }
    }
  }
  /* Whether the stream went through or the server stopped it early, the
   * status says how it ended. */
  rc = xc__stream_status(&s, err);
  if (rc != XC_OK) goto done;
  if (reply == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "the server sent no UploadDocumentResponse");
    goto done;
  }
  if (out != NULL) {
    *out = (Xuncha__V1__UploadDocumentResponse *)reply;
    reply = NULL;
  }
  xc_err_clear(err);
done:
  if (reply != NULL) protobuf_c_message_free_unpacked(reply, NULL);
  xc__stream_close(&s);
  EVP_MD_CTX_free(md);
  free(buf);
  return rc;
}

/* Starts a server-streaming call: sends req and half-closes. */
static int xc__stream_request(xc__stream *s, const ProtobufCMessage *req, xc_err *err) {
  size_t len = protobuf_c_message_get_packed_size(req);
  grpc_slice slice = grpc_slice_malloc(len);
  grpc_byte_buffer *bb;
  grpc_op ops[4];
  int ok, rc;
  rc = xc__stream_want_status(s, err);
  if (rc != XC_OK) {
    grpc_slice_unref(slice);
    return rc;
  }
  (void)protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(slice));
  bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = bb;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
  ok = xc__stream_batch(s, ops, 4, (void *)ops);
  grpc_byte_buffer_destroy(bb);
  (void)ok; /* a failure shows in the status */
  return XC_OK;
}

int xc_archive_get(xc_client *c, const char *id, xc_archive_write_fn write, void *write_ctx,
                   xc_archive_progress_fn progress, void *progress_ctx,
                   Xuncha__V1__Document **doc_out, int64_t timeout_ms, xc_err *err) {
  xc__stream s;
  Xuncha__V1__DownloadDocumentRequest req = XUNCHA__V1__DOWNLOAD_DOCUMENT_REQUEST__INIT;
  Xuncha__V1__Document *doc = NULL;
  EVP_MD_CTX *md = NULL;
  uint64_t total = 0;
  int rc;

  if (doc_out != NULL) *doc_out = NULL;
  rc = xc__stream_open(&s, c, "/xuncha.v1.Archive/DownloadDocument", timeout_ms, err);
  if (rc != XC_OK) goto done;
  if (id == NULL || write == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "a document id and a write function are required");
    goto done;
  }
  req.id = (char *)id;
  rc = xc__stream_request(&s, &req.base, err);
  if (rc != XC_OK) goto done;
  for (;;) {
    ProtobufCMessage *m = NULL;
    Xuncha__V1__DownloadDocumentResponse *r;
    int got = xc__stream_recv(&s, &xuncha__v1__download_document_response__descriptor, &m);
    if (got == 0) break;
    if (got < 0) {
      rc = xc_err_set(err, XC_EINTERNAL, "the server sent a message that does not decode");
      goto done;
    }
    r = (Xuncha__V1__DownloadDocumentResponse *)m;
    if (r->document != NULL && doc == NULL) {
      doc = r->document;
      r->document = NULL;
      md = EVP_MD_CTX_new();
      if (md == NULL || xc__md((int)doc->hash_algorithm) == NULL ||
          EVP_DigestInit_ex(md, xc__md((int)doc->hash_algorithm), NULL) != 1) {
        protobuf_c_message_free_unpacked(m, NULL);
        rc = xc_err_set(err, XC_EDATA_LOSS, "document %s names an unknown hash algorithm", id);
        goto done;
      }
    }
    if (r->chunk.len > 0) {
      if (doc == NULL || EVP_DigestUpdate(md, r->chunk.data, r->chunk.len) != 1 ||
          write(write_ctx, r->chunk.data, r->chunk.len) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        rc = xc_err_set(err, doc == NULL ? XC_EINTERNAL : XC_EABORTED,
                        doc == NULL ? "the server sent content before the document"
                                    : "writing the content failed: the download was stopped");
        goto done;
      }
      total += r->chunk.len;
      if (progress != NULL) progress(progress_ctx, total, (uint64_t)doc->size);
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  rc = xc__stream_status(&s, err);
  if (rc != XC_OK) goto done;
  if (doc == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "the server sent no document");
    goto done;
  }
  {
    /* Every download is checked against the hash the document records. */
    uint8_t digest[EVP_MAX_MD_SIZE];
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned dlen = 0;
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1) {
      rc = xc_err_set(err, XC_EINTERNAL, "digest failed");
      goto done;
    }
    xc__hex(digest, dlen, hex);
    if (total != (uint64_t)doc->size || strcasecmp(hex, doc->content_hash) != 0) {
      rc = xc_err_set(err, XC_EDATA_LOSS,
                      "document %s arrived damaged (%llu bytes hashing to %s; expected %lld "
                      "bytes, %s): discard it",
                      id, (unsigned long long)total, hex, (long long)doc->size, doc->content_hash);
      goto done;
    }
  }
  if (doc_out != NULL) {
    *doc_out = doc;
    doc = NULL;
  }
  xc_err_clear(err);
done:
  if (doc != NULL) protobuf_c_message_free_unpacked(&doc->base, NULL);
  xc__stream_close(&s);
  EVP_MD_CTX_free(md);
  return rc;
}

int xc_archive_verify(xc_client *c, xc_archive_problem_fn on_problem, void *ctx,
                      Xuncha__V1__VerifyArchiveResponse **summary, int64_t timeout_ms,
                      xc_err *err) {
  xc__stream s;
  Xuncha__V1__VerifyArchiveRequest req = XUNCHA__V1__VERIFY_ARCHIVE_REQUEST__INIT;
  ProtobufCMessage *last = NULL;
  int rc;
  if (summary != NULL) *summary = NULL;
  rc = xc__stream_open(&s, c, "/xuncha.v1.Archive/VerifyArchive", timeout_ms, err);
  if (rc == XC_OK) rc = xc__stream_request(&s, &req.base, err);
  if (rc != XC_OK) goto done;
  for (;;) {
    ProtobufCMessage *m = NULL;
    const Xuncha__V1__VerifyArchiveResponse *r;
    int got = xc__stream_recv(&s, &xuncha__v1__verify_archive_response__descriptor, &m);
    if (got == 0) break;
    if (got < 0) {
      rc = xc_err_set(err, XC_EINTERNAL, "the server sent a message that does not decode");
      goto done;
    }
    r = (const Xuncha__V1__VerifyArchiveResponse *)m;
    if (r->problem != NULL && on_problem != NULL) on_problem(ctx, r->problem);
    if (r->done) {
      if (last != NULL) protobuf_c_message_free_unpacked(last, NULL);
      last = m;
    } else {
      protobuf_c_message_free_unpacked(m, NULL);
    }
  }
  rc = xc__stream_status(&s, err);
  if (rc != XC_OK) goto done;
  if (last == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "the server ended VerifyArchive without its summary");
    goto done;
  }
  if (summary != NULL) {
    *summary = (Xuncha__V1__VerifyArchiveResponse *)last;
    last = NULL;
  }
  xc_err_clear(err);
done:
  if (last != NULL) protobuf_c_message_free_unpacked(last, NULL);
  xc__stream_close(&s);
  return rc;
}
