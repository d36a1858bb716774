#include "xc_server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "xc_arena.h"
#include "xc_fiber.h"
#include "xc_home.h"
#include "xc_limits.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_audit.h"
#include "xc_peer.h"
#include "xc_trust.h"
#include "xc_record.h"
#include "xc_replybuf.h"
#include "xc_stats.h"
#include "xc_text.h"

#define XC__PATH_MAX 256
#define XC__UNREGISTERED_SLOTS 4
/* Most request bytes that may wait for a worker at once. */
#define XC__MAX_QUEUED_BYTES ((size_t)256 * 1024 * 1024)

/* What a completion-queue tag stands for. */
typedef enum xc__tag_kind {
  XC__TAG_REQUEST = 1, /* a requested call arrived (or the request failed) */
  XC__TAG_BATCH = 2,   /* a worker's batch on a call completed */
  XC__TAG_CLOSE = 3,   /* a call's RECV_CLOSE_ON_SERVER completed */
  XC__TAG_FINAL = 4,   /* a call's final status went out */
  XC__TAG_BELL = 5     /* the doorbell: fibers are ready to be resumed */
} xc__tag_kind;

typedef struct xc__tag {
  xc__tag_kind kind;
  void *owner;
} xc__tag;

/* One outstanding request for a new call, re-armed after every match. */
typedef struct xc__slot {
  xc__tag tag;
  xc_server *srv;
  const xc_method *method; /* NULL: the slot takes unregistered methods */
  void *registered;        /* grpc_server_register_method handle */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details;
} xc__slot;

struct xc_call {
  xc_server *srv;
  const xc_call_stub *stub; /* not NULL: no gRPC call behind it (xc_handler.h) */
  const xc_method *method; /* NULL: not a method we serve */
  char path[XC__PATH_MAX];
  grpc_call *call;
  gpr_timespec deadline;
  grpc_byte_buffer *payload; /* unary request, taken by the dispatcher */
  size_t payload_bytes;
  int64_t start_us;
  char req_id[XC_LOG_REQ_ID_MAX]; /* x-request-id if the client sent a sane one */

  pthread_mutex_t mu;
  pthread_cond_t cv;
  xc__tag batch_tag;
  xc__tag close_tag;
  xc__tag final_tag;
  int batch_pending; /* a worker waits for batch_tag */
  int batch_ok;
  int close_done;      /* RECV_CLOSE_ON_SERVER completed: the call is over */
  int close_cancelled; /* written by gRPC: 1 if the call was cancelled */
  int md_sent;         /* initial metadata went out */
  int refs;            /* worker + pending close + pending final batch */
  /* The final batch runs without a waiting worker; what it sends lives
   * here until the CQ thread sees it complete. */
  grpc_slice final_details;
  grpc_byte_buffer *final_reply;

  xc_call *next;                  /* worker queue */
  xc_call *live_prev, *live_next; /* calls a worker is running */

  /* Unary calls run on a fiber of a CQ thread (see xc__run_fiber). */
  xc_fiber *fiber;
  int batch_in_fiber; /* the fiber yielded waiting for batch_tag */
  xc_call *ready_next; /* the ready list (its write is durable) */
};

struct xc_server {
  grpc_server *server;
  /* The TLS certificate for connections yet to come: the config fetcher
   * hands tls_next to gRPC (which takes it) at the next handshake. */
  pthread_mutex_t tls_mu;
  grpc_ssl_server_certificate_config *tls_next;
  grpc_completion_queue *cq;
  grpc_completion_queue *shutdown_cq;
  const xc_method *methods;
  size_t n_methods;
  xc__slot *slots;
  size_t n_slots;
  xc_store *store;
  uint8_t secret[32];
  int grace_ms;

  pthread_t *cq_threads;
  unsigned n_cq_threads;
  pthread_t *workers;
  unsigned n_workers;

  pthread_mutex_t qmu;
  pthread_cond_t qcv;
  xc_call *qhead, *qtail;
  size_t qlen, qbytes, max_queued;
  unsigned idle_workers; /* workers waiting on qcv */
  int qstop;

  pthread_mutex_t live_mu;
  xc_call *live; /* parked calls */

  /*
   * Fibers whose write became durable, waiting for a CQ thread to resume
   * them. The store's writer fills the list and rings the doorbell: a
   * connectivity watch with a deadline in the past on an idle channel, the
   * one public way in gRPC core's C API to make a tag complete on our CQ
   * from another thread. One ring is outstanding at most (rung).
   */
  pthread_mutex_t ready_mu;
  xc_call *ready_head, *ready_tail;
  grpc_channel *bell;
  xc__tag bell_tag;
  atomic_int rung;
  atomic_int fibers_busy; /* calls on fibers now */
  unsigned max_fibers;

  atomic_int shutting_down; /* no request is re-armed */
  atomic_int draining;      /* parked calls must let go */
  atomic_int parked;
  atomic_int calls_alive; /* xc_call objects not yet freed */
  int max_parked;
  int suspending; /* the store's suspender is ours */
  int started;
  int shut_down;
};

/* Monotonic time in microseconds, for latencies. */
static int64_t xc__now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------ byte buffers */

/* Packs msg into a new byte buffer (the caller destroys it); NULL when out of
 * memory. */
static grpc_byte_buffer *xc__pack(const ProtobufCMessage *msg) {
  size_t len = 0;
  uint8_t *buf = xc_msg_pack(msg, 0, &len);
  grpc_slice slice;
  grpc_byte_buffer *bb;
  if (buf == NULL) return NULL;
  if (len == 0) {
    free(buf);
    slice = grpc_empty_slice();
  } else {
    slice = grpc_slice_new(buf, len, free);
  }
  bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

/* Makes a byte buffer of the reply a handler packed itself (*buf, len
 * bytes, malloc'd): the buffer takes *buf (set to NULL) without copying it.
 * NULL when out of memory (then *buf is left to the caller). */
static grpc_byte_buffer *xc__wrap(uint8_t **buf, size_t len) {
  grpc_slice slice;
  grpc_byte_buffer *bb;
  if (len == 0) {
    slice = grpc_empty_slice();
  } else {
    slice = grpc_slice_new(*buf, len, xc_replybuf_free);
    *buf = NULL;
  }
  bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

/* Unpacks bb as desc; NULL if it does not decode. */
static ProtobufCMessage *xc__unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader reader;
  grpc_slice slice;
  ProtobufCMessage *msg;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) return NULL;
  slice = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  msg =
      protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
  grpc_slice_unref(slice);
  return msg;
}

/*
 * Unpacks a unary request into the call's arena (no malloc or free per
 * field: the request only lives until the call ends), or, when it needs
 * more than the arena may hold, the ordinary way. *in_arena says which, so
 * the caller knows whether to xc_msg_free it. NULL if it does not decode.
 */
static ProtobufCMessage *xc__unpack_req(const ProtobufCMessageDescriptor *desc,
                                        grpc_byte_buffer *bb, xc_arena *arena, int *in_arena) {
  grpc_byte_buffer_reader reader;
  grpc_slice slice;
  ProtobufCMessage *msg;
  *in_arena = 0;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) return NULL;
  slice = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  msg = xc_arena_unpack(arena, desc, GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice));
  if (msg != NULL) {
    *in_arena = 1;
  } else if (arena->failed) {
    xc_arena_destroy(arena);
    msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(slice),
                                    GRPC_SLICE_START_PTR(slice));
  }
  grpc_slice_unref(slice);
  return msg;
}

/* ------------------------------------------------------------- call objects */

static void xc__call_free(xc_call *c) {
  atomic_fetch_sub(&c->srv->calls_alive, 1);
  if (c->call != NULL) grpc_call_unref(c->call);
  if (c->payload != NULL) grpc_byte_buffer_destroy(c->payload);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Drops one reference; the last one frees the call. */
static void xc__call_unref(xc_call *c) {
  int last;
  pthread_mutex_lock(&c->mu);
  last = --c->refs == 0;
  pthread_mutex_unlock(&c->mu);
  if (last) xc__call_free(c);
}

/*
 * Starts a batch on the call and waits for it. Returns 1 if it succeeded, 0
 * if it failed or could not start (then nothing was queued).
 */
static int xc__call_batch(xc_call *c, const grpc_op *ops, size_t n) {
  grpc_call_error e;
  int ok;
  if (xc_fiber_current() != NULL) {
    /* On a fiber: give the CQ thread back until the batch completes
     * (xc__on_batch wakes the fiber). */
    c->batch_in_fiber = 1;
    e = grpc_call_start_batch(c->call, ops, n, &c->batch_tag, NULL);
    if (e != GRPC_CALL_OK) {
      c->batch_in_fiber = 0;
      xc_log(XC_LOG_ERROR, "%s: cannot start a batch: %s", c->path, grpc_call_error_to_string(e));
      return 0;
    }
    xc_fiber_yield();
    return c->batch_ok;
  }
  pthread_mutex_lock(&c->mu);
  c->batch_pending = 1;
  pthread_mutex_unlock(&c->mu);
  e = grpc_call_start_batch(c->call, ops, n, &c->batch_tag, NULL);
  pthread_mutex_lock(&c->mu);
  if (e != GRPC_CALL_OK) {
    c->batch_pending = 0;
    pthread_mutex_unlock(&c->mu);
    xc_log(XC_LOG_ERROR, "%s: cannot start a batch: %s", c->path, grpc_call_error_to_string(e));
    return 0;
  }
  while (c->batch_pending) pthread_cond_wait(&c->cv, &c->mu);
  ok = c->batch_ok;
  pthread_mutex_unlock(&c->mu);
  return ok;
}

xc_call *xc_call_stub_new(const xc_call_stub *stub, const char *path) {
  xc_call *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->stub = stub;
  (void)snprintf(c->path, sizeof c->path, "%s", path != NULL ? path : "");
  return c;
}

void xc_call_stub_free(xc_call *c) { free(c); }

int xc_call_send(xc_call *c, const ProtobufCMessage *msg, xc_err *err) {
  grpc_op ops[2];
  size_t n = 0;
  grpc_byte_buffer *bb;
  int ok;
  if (c->stub != NULL) return c->stub->send(c->stub->arg, msg, err);
  bb = xc__pack(msg);
  if (bb == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory packing a reply");
  memset(ops, 0, sizeof ops);
  if (!c->md_sent) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
  }
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n].data.send_message.send_message = bb;
  n++;
  ok = xc__call_batch(c, ops, n);
  c->md_sent = 1;
  grpc_byte_buffer_destroy(bb);
  if (!ok) return xc_err_set(err, XC_ECANCELLED, "the client has gone away");
  return XC_OK;
}

int xc_call_recv(xc_call *c, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                 xc_err *err) {
  grpc_op op;
  grpc_byte_buffer *bb = NULL;
  *out = NULL;
  if (c->stub != NULL) return c->stub->recv(c->stub->arg, desc, out, err);
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &bb;
  if (!xc__call_batch(c, &op, 1)) {
    if (bb != NULL) grpc_byte_buffer_destroy(bb);
    return xc_err_set(err, XC_ECANCELLED, "the client has gone away");
  }
  if (bb == NULL) return XC_OK; /* the client half-closed: end of stream */
  *out = xc__unpack(desc, bb);
  grpc_byte_buffer_destroy(bb);
  if (*out == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "the request is not a valid %s message",
                      desc->name);
  return XC_OK;
}

/* The calls parked in xc_call_park, which a shutdown must wake. */
static void xc__live_add(xc_server *srv, xc_call *c) {
  pthread_mutex_lock(&srv->live_mu);
  c->live_prev = NULL;
  c->live_next = srv->live;
  if (srv->live != NULL) srv->live->live_prev = c;
  srv->live = c;
  pthread_mutex_unlock(&srv->live_mu);
}

/* Takes a call off the parked list. */
static void xc__live_remove(xc_server *srv, xc_call *c) {
  pthread_mutex_lock(&srv->live_mu);
  if (c->live_prev != NULL)
    c->live_prev->live_next = c->live_next;
  else
    srv->live = c->live_next;
  if (c->live_next != NULL) c->live_next->live_prev = c->live_prev;
  pthread_mutex_unlock(&srv->live_mu);
}

int xc_call_park(xc_call *c, const ProtobufCMessage *first, xc_err *err) {
  xc_server *srv = c->srv;
  int ended;
  if (c->stub != NULL) {
    int rc = first != NULL ? c->stub->send(c->stub->arg, first, err) : XC_OK;
    return rc != XC_OK ? rc : xc_err_set(err, XC_ECANCELLED, "the client has gone away");
  }
  if (xc_fiber_current() != NULL)
    return xc_err_set(err, XC_EINTERNAL,
                      "%s: only streaming methods may hold a call open (unary calls run on "
                      "fibers)",
                      c->path);
  if (atomic_fetch_add(&srv->parked, 1) >= srv->max_parked) {
    atomic_fetch_sub(&srv->parked, 1);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                      "too many streams are held open (limit %d); retry later or use a "
                      "unary call",
                      srv->max_parked);
  }
  if (first != NULL) {
    int rc = xc_call_send(c, first, err);
    if (rc != XC_OK) {
      atomic_fetch_sub(&srv->parked, 1);
      return rc;
    }
  }
  /* Listed before the draining flag is checked, so a shutdown either sees
   * this call in the list or this call sees the flag. */
  xc__live_add(srv, c);
  pthread_mutex_lock(&c->mu);
  while (!c->close_done && !atomic_load(&srv->draining)) pthread_cond_wait(&c->cv, &c->mu);
  ended = c->close_done;
  pthread_mutex_unlock(&c->mu);
  xc__live_remove(srv, c);
  atomic_fetch_sub(&srv->parked, 1);
  if (ended) return xc_err_set(err, XC_ECANCELLED, "the client ended the call");
  return xc_err_set(err, XC_EUNAVAILABLE, "the server is shutting down");
}

/*
 * Sends the final status (and reply, if any; the call takes it) without
 * waiting: the worker is free for the next call at once, and the CQ thread
 * releases what the batch used when it completes (xc__on_final). May run on
 * a worker or, for calls refused before dispatch, on the CQ thread.
 */
static void xc__call_finish(xc_call *c, int code, const char *details, grpc_byte_buffer *reply) {
  grpc_op ops[3];
  size_t n = 0;
  grpc_call_error e;
  memset(ops, 0, sizeof ops);
  c->final_details = grpc_slice_from_copied_string(details ? details : "");
  c->final_reply = reply;
  if (!c->md_sent) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
  }
  if (reply != NULL) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = reply;
    n++;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.trailing_metadata_count = 0;
  ops[n].data.send_status_from_server.status = (grpc_status_code)xc_code_to_grpc(code);
  ops[n].data.send_status_from_server.status_details =
      (details != NULL && details[0] != '\0') ? &c->final_details : NULL;
  n++;
  c->md_sent = 1;
  pthread_mutex_lock(&c->mu);
  c->refs++;
  pthread_mutex_unlock(&c->mu);
  e = grpc_call_start_batch(c->call, ops, n, &c->final_tag, NULL);
  if (e != GRPC_CALL_OK) {
    xc_log(XC_LOG_ERROR, "%s: cannot send the status: %s", c->path, grpc_call_error_to_string(e));
    grpc_slice_unref(c->final_details);
    if (c->final_reply != NULL) grpc_byte_buffer_destroy(c->final_reply);
    c->final_reply = NULL;
    xc__call_unref(c);
  }
}

/* ------------------------------------------------------------------ dispatch */

/* Runs one call on a worker: identity, request, handler, reply, log line.
 * peers is the worker's own serial cache (may be NULL). */
static void xc__dispatch(xc_call *c, xc_peer_cache *peers) {
  xc_server *srv = c->srv;
  const xc_method *m = c->method;
  xc_ctx *ctx = NULL;
  ProtobufCMessage *req = NULL, *resp = NULL;
  /* A unary request lives in req_arena (req_in_arena 1) until the end. */
  xc_arena req_arena;
  int req_in_arena = 0;
  grpc_byte_buffer *reply = NULL;
  char cn[XC_MAX_CN_BYTES + 1], serial[XC_MAX_SERIAL_BYTES + 1];
  xc_err err;
  int rc;

  xc_err_clear(&err);
  xc_arena_init(&req_arena);
  cn[0] = '\0';
  serial[0] = '\0';
  ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) {
    rc = xc_err_set(&err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  ctx->store = srv->store;
  ctx->method = c->path;
  ctx->call = c;
  /* A unary reply is sent below, where handler-packed bytes are taken. */
  ctx->packed_reply_ok = m != NULL && m->kind == XC_METHOD_UNARY;
  memcpy(ctx->secret, srv->secret, sizeof ctx->secret);

  rc = xc_peer_read(peers, c->call, cn, serial, &err);
  if (rc == XC_OK) {
    xc_err perr;
    int prc = xc_identity_parse(cn, serial, &ctx->id, &perr);
    ctx->has_identity = prc == XC_OK;
    if (prc != XC_OK && (m == NULL || m->needs_identity)) {
      err = perr;
      rc = prc;
    }
  }
  if (rc != XC_OK) goto done;
  if (m == NULL) {
    char q[96];
    rc = xc_err_set(&err, XC_EUNIMPLEMENTED, "unknown method %s",
                    xc_record_quote(c->path, q, sizeof q));
    goto done;
  }
  if (c->deadline.clock_type != GPR_TIMESPAN &&
      gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) < 0) {
    rc = xc_err_set(&err, XC_EDEADLINE_EXCEEDED,
                    "the call's deadline passed while it waited for a worker");
    goto done;
  }
  {
    /* A client that gave up while the call waited for a worker gets no
     * work done on its behalf (and no write it would never hear of). */
    int gone;
    pthread_mutex_lock(&c->mu);
    gone = c->close_done;
    pthread_mutex_unlock(&c->mu);
    if (gone) {
      rc = xc_err_set(&err, XC_ECANCELLED, "the client cancelled the call before it ran");
      goto done;
    }
  }
  if (m->kind == XC_METHOD_UNARY) {
    if (c->payload == NULL) {
      rc = xc_err_set(&err, XC_EINVALID_ARGUMENT, "the request carries no %s message",
                      m->request->name);
      goto done;
    }
    req = xc__unpack_req(m->request, c->payload, &req_arena, &req_in_arena);
    grpc_byte_buffer_destroy(c->payload);
    c->payload = NULL;
    if (req == NULL) {
      rc = xc_err_set(&err, XC_EINVALID_ARGUMENT, "the request is not a valid %s message",
                      m->request->name);
      goto done;
    }
  } else if (m->kind == XC_METHOD_SERVER_STREAM) {
    rc = xc_call_recv(c, m->request, &req, &err);
    if (rc == XC_OK && req == NULL)
      rc = xc_err_set(&err, XC_EINVALID_ARGUMENT, "the request carries no %s message",
                      m->request->name);
    if (rc != XC_OK) goto done;
  }
  /* Federation: an office writes only on its home server. */
  rc = xc_home_admit(ctx, c->path, &err);
  if (rc != XC_OK) goto done;
  rc = m->handler(ctx, req, &resp, &err);
  if (rc == XC_OK && m->kind != XC_METHOD_SERVER_STREAM && m->kind != XC_METHOD_BIDI_STREAM) {
    if (resp == NULL || resp->descriptor != m->response) {
      rc = xc_err_set(&err, XC_EINTERNAL, "the handler of %s returned no %s", c->path,
                      m->response->name);
      goto done;
    }
    reply = ctx->reply_wire != NULL ? xc__wrap(&ctx->reply_wire, ctx->reply_wire_len)
                                    : xc__pack(resp);
    if (reply == NULL)
      rc = xc_err_set(&err, XC_ERESOURCE_EXHAUSTED, "out of memory packing the reply");
  }
done:
  /* Every call leaves an audit entry; a lead read's is durable before the
   * reply goes (xc_audit.h), and if it cannot be, no reply does. */
  rc = xc_audit_call(ctx, cn, serial, c->path, req, resp, rc, &err);
  if (rc != XC_OK && reply != NULL) {
    grpc_byte_buffer_destroy(reply);
    reply = NULL;
  }
  if (rc == XC_OK) xc_err_clear(&err);
  xc__call_finish(c, rc, rc == XC_OK ? NULL : err.msg, reply);
  {
    int64_t lat = xc__now_us() - c->start_us;
    xc_stats_call(m, rc, lat);
    xc_log_call_req(c->path, cn, c->req_id, rc, err.msg, lat);
  }
  xc_msg_free(resp);
  if (!req_in_arena) xc_msg_free(req);
  xc_arena_destroy(&req_arena);
  if (ctx != NULL) xc_replybuf_free(ctx->reply_wire);
  free(ctx);
}

/* A worker: runs queued calls one at a time until told to stop and the
 * queue is empty. */
static void *xc__worker_main(void *arg) {
  xc_server *srv = arg;
  /* One serial cache per worker: no lock shared between workers. Without
   * memory for it, serials are simply parsed on every call. */
  xc_peer_cache *peers = xc_peer_cache_create();
  for (;;) {
    xc_call *c;
    pthread_mutex_lock(&srv->qmu);
    while (srv->qhead == NULL && !srv->qstop) {
      srv->idle_workers++;
      pthread_cond_wait(&srv->qcv, &srv->qmu);
      srv->idle_workers--;
    }
    c = srv->qhead;
    if (c == NULL) {
      pthread_mutex_unlock(&srv->qmu);
      break; /* stopping, and every queued call has been run */
    }
    srv->qhead = c->next;
    if (srv->qhead == NULL) srv->qtail = NULL;
    srv->qlen--;
    srv->qbytes -= c->payload_bytes;
    pthread_mutex_unlock(&srv->qmu);
    xc__dispatch(c, peers);
    xc__call_unref(c);
  }
  xc_peer_cache_destroy(peers);
  return NULL;
}

/* ------------------------------------------------------------------ fibers */

/*
 * Unary calls run on fibers of the CQ thread that received them, so the
 * thread that does the gRPC work also runs the handler (no hand-off to
 * another thread, which cost more than the handlers themselves), and a
 * handler waiting for a durable write gives the thread back: hundreds of
 * writes wait at once and the store commits them together.
 */

/* Idle fibers kept per CQ thread; more are freed when they finish. */
#define XC__POOL_MAX 256

typedef struct xc__pool {
  xc_fiber *idle[XC__POOL_MAX];
  size_t n;
} xc__pool;

static _Thread_local xc__pool xc__tls_pool;
static _Thread_local xc_peer_cache *xc__tls_peers;

/* An idle fiber of this thread, or a new one; NULL when out of memory. */
static xc_fiber *xc__pool_get(void) {
  if (xc__tls_pool.n > 0) return xc__tls_pool.idle[--xc__tls_pool.n];
  return xc_fiber_create(0);
}

static void xc__pool_put(xc_fiber *f) {
  if (xc__tls_pool.n < XC__POOL_MAX)
    xc__tls_pool.idle[xc__tls_pool.n++] = f;
  else
    xc_fiber_destroy(f);
}

/* Frees this thread's idle fibers (at the end of a CQ thread). */
static void xc__pool_drain(void) {
  while (xc__tls_pool.n > 0) xc_fiber_destroy(xc__tls_pool.idle[--xc__tls_pool.n]);
}

/* After running or resuming f: a finished fiber goes back to the pool. */
static void xc__fiber_go(xc_server *srv, xc_fiber *f, int finished) {
  if (!finished) return; /* it waits; a wake brings it back */
  atomic_fetch_sub(&srv->fibers_busy, 1);
  xc__pool_put(f);
}

/* Records a call the transport refused before dispatch (overload), so the
 * audit log holds every call; its peer was not read yet, so the entry names
 * the method and status only. */
static void xc__audit_refusal(const xc_call *c) {
  xc_err err;
  xc_err_clear(&err);
  (void)xc_audit_call(NULL, "", "", c->path, NULL, NULL, XC_ERESOURCE_EXHAUSTED, &err);
}

/* What a fiber runs: the whole call, then the dispatcher's reference. */
static void xc__fiber_main(void *arg) {
  xc_call *c = arg;
  xc__dispatch(c, xc__tls_peers);
  xc__call_unref(c);
}

/* Runs call c on a fiber of this thread; c's worker reference goes with it. */
static void xc__run_fiber(xc_server *srv, xc_call *c) {
  xc_fiber *f = NULL;
  int busy = atomic_load(&srv->fibers_busy);
  if ((unsigned)busy < srv->max_fibers) f = xc__pool_get();
  if (f == NULL) {
    char msg[160];
    (void)snprintf(msg, sizeof msg,
                   "xunchad is overloaded (%d calls in progress); retry later", busy);
    xc__audit_refusal(c);
    xc_stats_call(c->method, XC_ERESOURCE_EXHAUSTED, 0);
    xc_log_call_req(c->path, "", c->req_id, XC_ERESOURCE_EXHAUSTED, msg, 0);
    xc__call_finish(c, XC_ERESOURCE_EXHAUSTED, msg, NULL);
    xc__call_unref(c);
    return;
  }
  atomic_fetch_add(&srv->fibers_busy, 1);
  c->fiber = f;
  xc__fiber_go(srv, f, xc_fiber_run(f, xc__fiber_main, c));
}

/* Rings the doorbell unless a ring is outstanding. Any thread. */
static void xc__ring(xc_server *srv) {
  if (atomic_exchange(&srv->rung, 1)) return;
  grpc_channel_watch_connectivity_state(srv->bell, GRPC_CHANNEL_IDLE,
                                        gpr_inf_past(GPR_CLOCK_MONOTONIC), srv->cq,
                                        &srv->bell_tag);
}

/* The doorbell rang: resumes every fiber on the ready list, in order. */
static void xc__on_bell(xc_server *srv) {
  xc_call *list;
  /* Cleared before the list is taken: a later push rings again. */
  atomic_store(&srv->rung, 0);
  pthread_mutex_lock(&srv->ready_mu);
  list = srv->ready_head;
  srv->ready_head = srv->ready_tail = NULL;
  pthread_mutex_unlock(&srv->ready_mu);
  while (list != NULL) {
    xc_call *next = list->ready_next;
    xc_fiber *f = list->fiber;
    xc__fiber_go(srv, f, xc_fiber_resume(f)); /* list may be freed now */
    list = next;
  }
}

/* The store's suspender: the task is the call running on this fiber. */
static void *xc__sus_current(void *arg) {
  xc_fiber *f = xc_fiber_current();
  (void)arg;
  return f != NULL ? xc_fiber_arg(f) : NULL;
}

static void xc__sus_suspend(void *arg, void *task) {
  (void)arg;
  (void)task;
  xc_fiber_yield();
}

/* On the store's writer thread: the call's write is durable. */
static void xc__sus_resume(void *arg, void *task) {
  xc_server *srv = arg;
  xc_call *c = task;
  if (!xc_fiber_wake(c->fiber)) return; /* it had not yielded yet: it goes on */
  pthread_mutex_lock(&srv->ready_mu);
  c->ready_next = NULL;
  if (srv->ready_tail != NULL)
    srv->ready_tail->ready_next = c;
  else
    srv->ready_head = c;
  srv->ready_tail = c;
  pthread_mutex_unlock(&srv->ready_mu);
  xc__ring(srv);
}

/* ------------------------------------------------------ completion routing */

/* Asks gRPC for the next call of the slot's method. */
static void xc__slot_arm(xc__slot *s) {
  xc_server *srv = s->srv;
  grpc_call_error e;
  if (atomic_load(&srv->shutting_down)) return;
  s->call = NULL;
  s->payload = NULL;
  if (s->method == NULL)
    e = grpc_server_request_call(srv->server, &s->call, &s->details, &s->md, srv->cq, srv->cq,
                                 &s->tag);
  else
    e = grpc_server_request_registered_call(
        srv->server, s->registered, &s->call, &s->deadline, &s->md,
        s->method->kind == XC_METHOD_UNARY ? &s->payload : NULL, srv->cq, srv->cq, &s->tag);
  if (e != GRPC_CALL_OK)
    xc_log(XC_LOG_ERROR, "cannot request calls of %s: %s",
           s->method ? s->method->path : "unregistered methods", grpc_call_error_to_string(e));
}

/* Answers a call from the CQ thread because the workers are too far behind;
 * the call is never dispatched, so its worker reference goes here. */
static void xc__reject(xc_call *c, size_t queued) {
  char msg[160];
  (void)snprintf(msg, sizeof msg,
                 "xunchad is overloaded (%zu calls waiting for a worker); retry later", queued);
  xc__audit_refusal(c);
  xc_stats_call(c->method, XC_ERESOURCE_EXHAUSTED, 0);
  xc_log_call_req(c->path, "", c->req_id, XC_ERESOURCE_EXHAUSTED, msg, 0);
  xc__call_finish(c, XC_ERESOURCE_EXHAUSTED, msg, NULL);
  xc__call_unref(c);
}

/* A requested call arrived on slot s (or, with success 0, the server is
 * shutting down): wraps it in an xc_call, starts watching for its close,
 * queues it for a worker and asks for the next call. */
static void xc__on_request(xc__slot *s, int success) {
  xc_server *srv = s->srv;
  xc_call *c;
  xc_call *run_here = NULL;
  grpc_op op;

  if (!success) {
    /* Only a server shutting down fails a request: the slot retires. */
    if (s->payload != NULL) grpc_byte_buffer_destroy(s->payload);
    s->payload = NULL;
    return;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    grpc_call_cancel_with_status(s->call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
    grpc_call_unref(s->call);
    if (s->payload != NULL) grpc_byte_buffer_destroy(s->payload);
    goto rearm;
  }
  pthread_cond_init(&c->cv, NULL);
  atomic_fetch_add(&srv->calls_alive, 1);
  c->srv = srv;
  c->method = s->method;
  c->call = s->call;
  c->payload = s->payload;
  c->payload_bytes = s->payload ? grpc_byte_buffer_length(s->payload) : 0;
  c->start_us = xc__now_us();
  /* The client's x-request-id, if any, names the call in the log. */
  for (size_t i = 0; i < s->md.count; i++)
    if (grpc_slice_str_cmp(s->md.metadata[i].key, "x-request-id") == 0)
      xc_log_request_id(c->req_id, (const char *)GRPC_SLICE_START_PTR(s->md.metadata[i].value),
                        GRPC_SLICE_LENGTH(s->md.metadata[i].value));
  c->batch_tag.kind = XC__TAG_BATCH;
  c->batch_tag.owner = c;
  c->close_tag.kind = XC__TAG_CLOSE;
  c->close_tag.owner = c;
  c->final_tag.kind = XC__TAG_FINAL;
  c->final_tag.owner = c;
  c->refs = 1;
  if (s->method != NULL) {
    c->deadline = s->deadline;
    xc_strlcpy(c->path, s->method->path, sizeof c->path);
  } else {
    size_t n = GRPC_SLICE_LENGTH(s->details.method);
    if (n >= sizeof c->path) n = sizeof c->path - 1;
    memcpy(c->path, GRPC_SLICE_START_PTR(s->details.method), n);
    c->path[n] = '\0';
    c->deadline = s->details.deadline;
  }
  /* Seeing the close from the start is how a departed client is noticed. */
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &c->close_cancelled;
  if (grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL) == GRPC_CALL_OK)
    c->refs++;
  else
    c->close_done = 1;

  if (s->method == NULL || s->method->kind == XC_METHOD_UNARY) {
    /* Unary calls (and unknown methods, refused at once) run on a fiber of
     * this thread, once the slot is armed again. */
    run_here = c;
    goto rearm;
  }
  pthread_mutex_lock(&srv->qmu);
  if (srv->qlen >= srv->max_queued || srv->qbytes + c->payload_bytes > XC__MAX_QUEUED_BYTES) {
    size_t queued = srv->qlen;
    pthread_mutex_unlock(&srv->qmu);
    xc__reject(c, queued);
  } else {
    c->next = NULL;
    if (srv->qtail != NULL)
      srv->qtail->next = c;
    else
      srv->qhead = c;
    srv->qtail = c;
    srv->qlen++;
    srv->qbytes += c->payload_bytes;
    if (srv->idle_workers > 0) pthread_cond_signal(&srv->qcv);
    pthread_mutex_unlock(&srv->qmu);
  }
rearm:
  s->call = NULL;
  s->payload = NULL;
  grpc_metadata_array_destroy(&s->md);
  grpc_metadata_array_init(&s->md);
  grpc_call_details_destroy(&s->details);
  grpc_call_details_init(&s->details);
  xc__slot_arm(s);
  if (run_here != NULL) xc__run_fiber(srv, run_here);
}

/* A worker's batch completed: wakes the worker waiting in xc__call_batch. */
static void xc__on_batch(xc_call *c, int success) {
  if (c->batch_in_fiber) {
    /* A fiber waits for it: continue the fiber here (c may be gone after). */
    xc_fiber *f = c->fiber;
    xc_server *srv = c->srv;
    c->batch_in_fiber = 0;
    c->batch_ok = success;
    if (xc_fiber_wake(f)) xc__fiber_go(srv, f, xc_fiber_resume(f));
    return;
  }
  pthread_mutex_lock(&c->mu);
  c->batch_pending = 0;
  c->batch_ok = success;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* The final status went out: releases what it used and its reference. */
static void xc__on_final(xc_call *c) {
  grpc_slice_unref(c->final_details);
  if (c->final_reply != NULL) grpc_byte_buffer_destroy(c->final_reply);
  c->final_reply = NULL;
  xc__call_unref(c);
}

/* The call is over (finished or cancelled): wakes a parked handler and
 * drops the close's reference. */
static void xc__on_close(xc_call *c) {
  pthread_mutex_lock(&c->mu);
  c->close_done = 1;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  xc__call_unref(c);
}

/* A completion-queue thread: routes each completion to its owner, doing
 * no handler work, until the queue is shut down and drained. */
static void *xc__cq_main(void *arg) {
  xc_server *srv = arg;
  /* This thread's serial cache; without memory for it, serials are parsed
   * on every call. */
  xc__tls_peers = xc_peer_cache_create();
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    xc__tag *tag;
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type != GRPC_OP_COMPLETE) continue;
    tag = ev.tag;
    switch (tag->kind) {
      case XC__TAG_REQUEST:
        xc__on_request(tag->owner, ev.success);
        break;
      case XC__TAG_BATCH:
        xc__on_batch(tag->owner, ev.success);
        break;
      case XC__TAG_CLOSE:
        xc__on_close(tag->owner);
        break;
      case XC__TAG_FINAL:
        xc__on_final(tag->owner);
        break;
      case XC__TAG_BELL:
        xc__on_bell(tag->owner);
        break;
    }
  }
  xc__pool_drain();
  xc_peer_cache_destroy(xc__tls_peers);
  xc__tls_peers = NULL;
  return NULL;
}

/* --------------------------------------------------------------- lifecycle */

/* Frees what xc_server_start made; the gRPC server must be destroyed and
 * the queues drained already. */
static void xc__server_free(xc_server *srv) {
  for (size_t i = 0; i < srv->n_slots; i++) {
    grpc_metadata_array_destroy(&srv->slots[i].md);
    grpc_call_details_destroy(&srv->slots[i].details);
  }
  free(srv->slots);
  free(srv->cq_threads);
  free(srv->workers);
  pthread_mutex_destroy(&srv->qmu);
  pthread_cond_destroy(&srv->qcv);
  pthread_mutex_destroy(&srv->live_mu);
  pthread_mutex_destroy(&srv->ready_mu);
  if (srv->tls_next != NULL) grpc_ssl_server_certificate_config_destroy(srv->tls_next);
  pthread_mutex_destroy(&srv->tls_mu);
  /* The server's trust store goes with it. */
  xc_trust_install(NULL);
  free(srv);
}

/* gRPC's config fetcher: runs at each new connection's handshake, so it
 * only looks whether a reload left a new certificate. */
static grpc_ssl_certificate_config_reload_status xc__tls_fetch(
    void *arg, grpc_ssl_server_certificate_config **config) {
  xc_server *srv = arg;
  grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  pthread_mutex_lock(&srv->tls_mu);
  if (srv->tls_next != NULL) {
    *config = srv->tls_next; /* gRPC owns it now */
    srv->tls_next = NULL;
    st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  }
  pthread_mutex_unlock(&srv->tls_mu);
  return st;
}

int xc_server_reload_tls(xc_server *srv, const char *cert_pem, const char *key_pem,
                         const char *ca_pem, const char *crl_pem, xc_err *err) {
  grpc_ssl_pem_key_cert_pair pair;
  grpc_ssl_server_certificate_config *cfg = NULL, *old = NULL;
  xc_trust *trust = NULL;
  int rc = xc_trust_create(ca_pem, crl_pem, &trust, err);
  if (rc != XC_OK) goto done;
  pair.private_key = key_pem;
  pair.cert_chain = cert_pem;
  cfg = grpc_ssl_server_certificate_config_create(ca_pem, &pair, 1);
  if (cfg == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the TLS certificate, key or CA is not usable");
    goto done;
  }
  pthread_mutex_lock(&srv->tls_mu);
  old = srv->tls_next;
  srv->tls_next = cfg;
  pthread_mutex_unlock(&srv->tls_mu);
  cfg = NULL;
  /* Calls already past their check keep going; the next checks use this. */
  xc_trust_install(trust);
done:
  if (old != NULL) grpc_ssl_server_certificate_config_destroy(old);
  if (cfg != NULL) grpc_ssl_server_certificate_config_destroy(cfg);
  xc_trust_unref(trust);
  return rc;
}

/* Drains and destroys a completion queue after grpc_completion_queue_shutdown. */
static void xc__cq_drain(grpc_completion_queue *cq) {
  grpc_event ev;
  do {
    ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
  } while (ev.type != GRPC_QUEUE_SHUTDOWN);
  grpc_completion_queue_destroy(cq);
}

int xc_server_start(const xc_server_options *opt, xc_server **out, int *bound_port, xc_err *err) {
  xc_server *srv = NULL;
  grpc_server_credentials *creds = NULL;
  grpc_arg args[2];
  grpc_channel_args cargs;
  size_t per = opt->slots_per_method ? opt->slots_per_method : 4;
  int port = 0, rc = XC_OK;
  unsigned cq_started = 0, workers_started = 0;

  *out = NULL;
  srv = calloc(1, sizeof *srv);
  if (srv == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  pthread_mutex_init(&srv->qmu, NULL);
  pthread_cond_init(&srv->qcv, NULL);
  pthread_mutex_init(&srv->live_mu, NULL);
  pthread_mutex_init(&srv->ready_mu, NULL);
  pthread_mutex_init(&srv->tls_mu, NULL);
  srv->bell_tag.kind = XC__TAG_BELL;
  srv->bell_tag.owner = srv;
  srv->store = opt->store;
  srv->methods = opt->methods;
  srv->n_methods = opt->n_methods;
  srv->n_workers = opt->workers ? opt->workers : 8;
  srv->n_cq_threads = opt->cq_threads ? opt->cq_threads : 1;
  srv->max_queued = opt->max_queued ? opt->max_queued : 4096;
  srv->max_fibers = srv->max_queued;
  srv->grace_ms = opt->shutdown_grace_ms > 0 ? opt->shutdown_grace_ms : 10000;
  /* Parked streams each hold a worker: at least half stay free for calls. */
  srv->max_parked = (int)(srv->n_workers / 2);
  xc_store_secret(opt->store, srv->secret);
  srv->n_slots = opt->n_methods * per + XC__UNREGISTERED_SLOTS;
  srv->slots = calloc(srv->n_slots, sizeof *srv->slots);
  srv->cq_threads = calloc(srv->n_cq_threads, sizeof *srv->cq_threads);
  srv->workers = calloc(srv->n_workers, sizeof *srv->workers);
  if (srv->slots == NULL || srv->cq_threads == NULL || srv->workers == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < srv->n_slots; i++) {
    srv->slots[i].srv = srv;
    srv->slots[i].tag.kind = XC__TAG_REQUEST;
    srv->slots[i].tag.owner = &srv->slots[i];
    grpc_metadata_array_init(&srv->slots[i].md);
    grpc_call_details_init(&srv->slots[i].details);
  }

  memset(args, 0, sizeof args);
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = XC_MAX_MESSAGE_BYTES;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = XC_MAX_MESSAGE_BYTES;
  cargs.num_args = 2;
  cargs.args = args;
  srv->server = grpc_server_create(&cargs, NULL);
  srv->cq = grpc_completion_queue_create_for_next(NULL);
  srv->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
  if (srv->server == NULL || srv->cq == NULL || srv->shutdown_cq == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the gRPC server");
    goto fail;
  }
  {
    /* The doorbell's channel never connects: nothing asks it to. */
    grpc_channel_credentials *ic = grpc_insecure_credentials_create();
    srv->bell = ic != NULL ? grpc_channel_create("ipv4:127.0.0.1:1", ic, NULL) : NULL;
    if (ic != NULL) grpc_channel_credentials_release(ic);
    if (srv->bell == NULL) {
      rc = xc_err_set(err, XC_EINTERNAL, "cannot create the server's doorbell channel");
      goto fail;
    }
  }
  grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
  grpc_server_register_completion_queue(srv->server, srv->shutdown_cq, NULL);
  for (size_t i = 0; i < opt->n_methods; i++) {
    const xc_method *m = &opt->methods[i];
    void *h = grpc_server_register_method(srv->server, m->path, NULL,
                                          m->kind == XC_METHOD_UNARY
                                              ? GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER
                                              : GRPC_SRM_PAYLOAD_NONE,
                                          0);
    if (h == NULL) {
      rc = xc_err_set(err, XC_EINTERNAL, "cannot register method %s", m->path);
      goto fail;
    }
    for (size_t k = 0; k < per; k++) {
      srv->slots[i * per + k].method = m;
      srv->slots[i * per + k].registered = h;
    }
  }

  /* Mutual TLS only: a client without a certificate of our CA never gets a
   * call through, and there is no plaintext port. */
  /* TLS only asks for the client's certificate; xunchad verifies it itself
   * (xc_trust.h) so that a refused client learns why, and so that the CRL
   * and the CA can be reloaded on SIGHUP. A client without a certificate
   * still connects, and is refused on its first call. */
  rc = xc_server_reload_tls(srv, opt->cert_pem, opt->key_pem, opt->ca_pem, opt->crl_pem, err);
  if (rc != XC_OK) goto fail;
  {
    grpc_ssl_server_credentials_options *so =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY, xc__tls_fetch, srv);
    creds = so != NULL ? grpc_ssl_server_credentials_create_with_options(so) : NULL;
  }
  if (creds == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the TLS certificate, key or CA is not usable");
    goto fail;
  }
  port = grpc_server_add_http2_port(srv->server, opt->listen, creds);
  grpc_server_credentials_release(creds);
  if (port == 0) {
    rc = xc_err_set(err, XC_EUNAVAILABLE,
                    "cannot listen on %s: the address is in use, not local, or not HOST:PORT",
                    opt->listen);
    goto fail;
  }
  grpc_server_start(srv->server);
  srv->started = 1;

  for (; cq_started < srv->n_cq_threads; cq_started++)
    if (pthread_create(&srv->cq_threads[cq_started], NULL, xc__cq_main, srv) != 0) break;
  for (; workers_started < srv->n_workers; workers_started++)
    if (pthread_create(&srv->workers[workers_started], NULL, xc__worker_main, srv) != 0) break;
  if (cq_started < srv->n_cq_threads || workers_started < srv->n_workers) {
    srv->n_cq_threads = cq_started;
    srv->n_workers = workers_started;
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot start the server's threads");
    xc_server_destroy(srv);
    return rc;
  }
  {
    xc_store_suspender sus;
    sus.current = xc__sus_current;
    sus.suspend = xc__sus_suspend;
    sus.resume = xc__sus_resume;
    sus.arg = srv;
    xc_store_set_suspender(srv->store, &sus);
    srv->suspending = 1;
  }
  for (size_t i = 0; i < srv->n_slots; i++) xc__slot_arm(&srv->slots[i]);
  if (bound_port != NULL) *bound_port = port;
  *out = srv;
  return XC_OK;

fail:
  if (srv->server != NULL) {
    grpc_event ev;
    grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, srv);
    ev = grpc_completion_queue_next(srv->shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    (void)ev;
    grpc_server_destroy(srv->server);
  }
  if (srv->cq != NULL) {
    grpc_completion_queue_shutdown(srv->cq);
    xc__cq_drain(srv->cq);
  }
  if (srv->shutdown_cq != NULL) {
    grpc_completion_queue_shutdown(srv->shutdown_cq);
    xc__cq_drain(srv->shutdown_cq);
  }
  if (srv->bell != NULL) grpc_channel_destroy(srv->bell);
  xc__server_free(srv);
  return rc;
}

void xc_server_shutdown(xc_server *srv) {
  grpc_event ev;
  int64_t t0;
  if (srv == NULL || srv->shut_down) return;
  t0 = xc__now_us();
  atomic_store(&srv->shutting_down, 1);
  /* Let parked streams (health watches) go before waiting for calls. */
  atomic_store(&srv->draining, 1);
  pthread_mutex_lock(&srv->live_mu);
  for (xc_call *c = srv->live; c != NULL; c = c->live_next) {
    pthread_mutex_lock(&c->mu);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_unlock(&srv->live_mu);

  /*
   * A graceful shutdown also waits for idle clients to close their
   * connections, which some take seconds to do. So once no call of ours is
   * left (checked twice, a poll apart, so a call matched just before the
   * shutdown is not missed) the remaining connections are closed with
   * grpc_server_cancel_all_calls; calls still running after the grace
   * period are cancelled the same way.
   */
  grpc_server_shutdown_and_notify(srv->server, srv->shutdown_cq, srv);
  {
    int idle_polls = 0, forced = 0;
    for (;;) {
      ev = grpc_completion_queue_next(
          srv->shutdown_cq,
          gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(20, GPR_TIMESPAN)), NULL);
      if (ev.type == GRPC_OP_COMPLETE) break;
      if (forced) continue;
      idle_polls = atomic_load(&srv->calls_alive) == 0 ? idle_polls + 1 : 0;
      if (idle_polls >= 2) {
        grpc_server_cancel_all_calls(srv->server);
        forced = 1;
      } else if (xc__now_us() - t0 > (int64_t)srv->grace_ms * 1000) {
        xc_log(XC_LOG_WARN, "calls still in flight after %d ms: cancelling them", srv->grace_ms);
        grpc_server_cancel_all_calls(srv->server);
        forced = 1;
      }
    }
  }
  /* The workers run every call still queued, then stop. */
  pthread_mutex_lock(&srv->qmu);
  srv->qstop = 1;
  pthread_cond_broadcast(&srv->qcv);
  pthread_mutex_unlock(&srv->qmu);
  for (unsigned i = 0; i < srv->n_workers; i++) pthread_join(srv->workers[i], NULL);
  srv->n_workers = 0;
  {
    /* Calls on fibers may still wait for their writes, which the store
     * finishes; the CQ threads then send their replies. Nothing may start
     * on the CQ after it is shut down, so wait for every call to end. */
    int64_t t1 = xc__now_us();
    int warned = 0;
    while (atomic_load(&srv->calls_alive) > 0) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
      if (!warned && xc__now_us() - t1 > 1000000) {
        xc_log(XC_LOG_WARN, "waiting for %d calls to finish their writes",
               atomic_load(&srv->calls_alive));
        warned = 1;
      }
    }
  }
  srv->shut_down = 1;
  xc_log(XC_LOG_INFO, "server stopped in %lld ms", (long long)((xc__now_us() - t0) / 1000));
}

void xc_server_destroy(xc_server *srv) {
  if (srv == NULL) return;
  if (srv->started) xc_server_shutdown(srv);
  grpc_server_destroy(srv->server);
  /* The CQ threads leave once their queue is shut down and empty. */
  grpc_completion_queue_shutdown(srv->cq);
  for (unsigned i = 0; i < srv->n_cq_threads; i++) pthread_join(srv->cq_threads[i], NULL);
  if (srv->n_cq_threads == 0) {
    xc__cq_drain(srv->cq);
  } else {
    grpc_completion_queue_destroy(srv->cq);
  }
  grpc_completion_queue_shutdown(srv->shutdown_cq);
  xc__cq_drain(srv->shutdown_cq);
  if (srv->suspending) xc_store_set_suspender(srv->store, NULL);
  grpc_channel_destroy(srv->bell);
  xc__server_free(srv);
}
