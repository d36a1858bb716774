/*
 * The server `xuncha-bench transport` measures: gRPC core C over mutual TLS,
 * one completion-queue thread, one registered method that answers every call
 * with status OK and the same pre-built message. It does nothing else (no
 * handler, no storage, no access log, no compression), so its calls/s for a
 * reply of N bytes is the ceiling of any xunchad method whose reply is N
 * bytes long, on the same machine.
 *
 * What it shares with xunchad (server/xc_server.c), so the comparison is
 * fair: the channel arguments (only the two message-size limits, everything
 * else gRPC's defaults: no compression), one CQ thread, registered methods
 * with the payload read with the call, four requested calls armed per method
 * and one re-armed per match, and the reply as one four-op batch. What it
 * does not share: xunchad verifies the client's certificate in its own code
 * (xc_trust.h, once per connection) after TLS merely asked for it; here TLS
 * verifies it, which costs the same once per connection and nothing per
 * call.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "xc_bench.h"
#include "xc_limits.h"

/* Requested calls kept armed: xunchad's default slots per method. */
#define XC__TS_SLOTS 4
/* How long a stop waits for calls to end before cancelling them. */
#define XC__TS_SHUTDOWN_MS 5000

typedef enum { XC__TS_REQUEST = 1, XC__TS_CALL = 2 } xc__ts_kind;

/* A requested call: armed until gRPC matches an incoming call to it. */
typedef struct xc__ts_slot {
  xc__ts_kind kind; /* first: the tag's type */
  struct xc__bench_tsrv *ts;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  int armed;
} xc__ts_slot;

/* A matched call while its reply batch runs. */
typedef struct xc__ts_call {
  xc__ts_kind kind; /* first: the tag's type */
  grpc_call *call;
  grpc_byte_buffer *reply;
  int cancelled;
} xc__ts_call;

struct xc__bench_tsrv {
  grpc_server *server;
  grpc_completion_queue *cq, *shutdown_cq;
  void *method;
  grpc_slice reply; /* the message every call gets, refcounted, never copied */
  pthread_t thread;
  int thread_started;
  int started;
  atomic_int stopping; /* read by the CQ thread, set before the shutdown */
  uint64_t calls;        /* replies sent; the CQ thread's, read after the join */
  xc__ts_slot slots[XC__TS_SLOTS];
};

/* Asks gRPC for the next call into slot s. Only the CQ thread re-arms, and
 * only while the server is not stopping. */
static void xc__ts_arm(xc__ts_slot *s) {
  grpc_metadata_array_init(&s->md);
  s->call = NULL;
  s->payload = NULL;
  s->armed = grpc_server_request_registered_call(s->ts->server, s->ts->method, &s->call,
                                                 &s->deadline, &s->md, &s->payload, s->ts->cq,
                                                 s->ts->cq, s) == GRPC_CALL_OK;
  if (!s->armed) grpc_metadata_array_destroy(&s->md);
}

/* Sends the fixed reply on the call slot s was matched with, hands the call
 * to a reply record that lives until the batch completes, and re-arms s. */
static void xc__ts_answer(xc__ts_slot *s) {
  xc__ts_call *c = calloc(1, sizeof *c);
  grpc_op ops[4];
  grpc_call *call = s->call;
  if (s->payload != NULL) grpc_byte_buffer_destroy(s->payload);
  grpc_metadata_array_destroy(&s->md);
  s->armed = 0;
  if (!atomic_load(&s->ts->stopping)) xc__ts_arm(s);
  if (c == NULL) {
    /* Out of memory: the call is cancelled rather than left hanging. */
    grpc_call_cancel(call, NULL);
    grpc_call_unref(call);
    return;
  }
  c->kind = XC__TS_CALL;
  c->call = call;
  /* A byte buffer over the one slice: a reference, not a copy. */
  c->reply = grpc_raw_byte_buffer_create(&s->ts->reply, 1);
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = c->reply;
  ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
  ops[2].data.send_status_from_server.status_details = NULL;
  ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[3].data.recv_close_on_server.cancelled = &c->cancelled;
  if (grpc_call_start_batch(call, ops, 4, c, NULL) != GRPC_CALL_OK) {
    /* Nothing was queued, so no tag will come: release it all here. */
    grpc_byte_buffer_destroy(c->reply);
    grpc_call_cancel(call, NULL);
    grpc_call_unref(call);
    free(c);
  }
}

/* The completion-queue thread: answers calls until the queue is shut down. */
static void *xc__ts_main(void *arg) {
  xc__bench_tsrv *ts = arg;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(ts->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type != GRPC_OP_COMPLETE || ev.tag == NULL) continue;
    if (*(xc__ts_kind *)ev.tag == XC__TS_REQUEST) {
      xc__ts_slot *s = ev.tag;
      if (ev.success) {
        xc__ts_answer(s);
      } else {
        /* The server is shutting down: the request is over, unmatched. */
        if (s->call != NULL) grpc_call_unref(s->call);
        if (s->payload != NULL) grpc_byte_buffer_destroy(s->payload);
        grpc_metadata_array_destroy(&s->md);
        s->armed = 0;
      }
    } else {
      xc__ts_call *c = ev.tag;
      if (ev.success) ts->calls++;
      grpc_byte_buffer_destroy(c->reply);
      grpc_call_unref(c->call);
      free(c);
    }
  }
  return NULL;
}

/* Fills a slice of n bytes with a fixed pseudo-random pattern: nothing on
 * the path compresses, but the bytes should not look special either. */
static grpc_slice xc__ts_make_reply(size_t n) {
  grpc_slice s = grpc_slice_malloc(n);
  uint8_t *p = GRPC_SLICE_START_PTR(s);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
  return s;
}

int xc__bench_tsrv_start(const char *ca_pem, const char *cert_pem, const char *key_pem,
                         size_t reply_bytes, xc__bench_tsrv **out, int *port, xc_err *err) {
  xc__bench_tsrv *ts = NULL;
  grpc_server_credentials *creds = NULL;
  grpc_ssl_pem_key_cert_pair pair;
  grpc_arg args[2];
  grpc_channel_args cargs;
  int rc = XC_OK;

  *out = NULL;
  *port = 0;
  if (reply_bytes > XC__BENCH_MAX_REPLY) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "a reply of %zu bytes is over the limit of %d",
                    reply_bytes, XC__BENCH_MAX_REPLY);
    goto done;
  }
  ts = calloc(1, sizeof *ts);
  if (ts == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  ts->reply = xc__ts_make_reply(reply_bytes);

  /* xunchad's channel arguments (xc_server_start): the message limits and
   * nothing else, so compression and every other setting is gRPC's default. */
  memset(args, 0, sizeof args);
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = XC_MAX_MESSAGE_BYTES;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = XC_MAX_MESSAGE_BYTES;
  cargs.num_args = 2;
  cargs.args = args;
  ts->server = grpc_server_create(&cargs, NULL);
  ts->cq = grpc_completion_queue_create_for_next(NULL);
  ts->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
  if (ts->server == NULL || ts->cq == NULL || ts->shutdown_cq == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the gRPC server");
    goto done;
  }
  grpc_server_register_completion_queue(ts->server, ts->cq, NULL);
  grpc_server_register_completion_queue(ts->server, ts->shutdown_cq, NULL);
  ts->method = grpc_server_register_method(ts->server, XC__BENCH_TRANSPORT_METHOD, NULL,
                                           GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  if (ts->method == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot register %s", XC__BENCH_TRANSPORT_METHOD);
    goto done;
  }
  /* The pair is key first (PLATFORM.md item 5); gRPC copies the strings. */
  pair.private_key = key_pem;
  pair.cert_chain = cert_pem;
  creds = grpc_ssl_server_credentials_create_ex(
      ca_pem, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
  if (creds == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the server certificate, key or CA is not usable (--cert/--key are the "
                    "client's; the server uses server.pem and server.key next to --ca)");
    goto done;
  }
  *port = grpc_server_add_http2_port(ts->server, "127.0.0.1:0", creds);
  if (*port == 0) {
    rc = xc_err_set(err, XC_EUNAVAILABLE, "cannot listen on 127.0.0.1");
    goto done;
  }
  grpc_server_start(ts->server);
  ts->started = 1;
  for (int i = 0; i < XC__TS_SLOTS; i++) {
    ts->slots[i].kind = XC__TS_REQUEST;
    ts->slots[i].ts = ts;
    xc__ts_arm(&ts->slots[i]);
  }
  if (pthread_create(&ts->thread, NULL, xc__ts_main, ts) != 0) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot start the server's thread");
    goto done;
  }
  ts->thread_started = 1;
  *out = ts;
  ts = NULL;

done:
  if (creds != NULL) grpc_server_credentials_release(creds);
  if (ts != NULL) (void)xc__bench_tsrv_stop(ts);
  if (rc != XC_OK) *port = 0;
  return rc;
}

double xc__bench_tsrv_cpu_us(const xc__bench_tsrv *ts) {
  clockid_t cid;
  struct timespec t;
  if (ts == NULL || !ts->thread_started || pthread_getcpuclockid(ts->thread, &cid) != 0 ||
      clock_gettime(cid, &t) != 0)
    return 0;
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

uint64_t xc__bench_tsrv_stop(xc__bench_tsrv *ts) {
  uint64_t calls = 0;
  if (ts == NULL) return 0;
  atomic_store(&ts->stopping, 1);
  if (ts->server != NULL) {
    if (ts->started) {
      grpc_event ev;
      grpc_server_shutdown_and_notify(ts->server, ts->shutdown_cq, ts);
      ev = grpc_completion_queue_next(
          ts->shutdown_cq,
          gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                       gpr_time_from_millis(XC__TS_SHUTDOWN_MS, GPR_TIMESPAN)),
          NULL);
      if (ev.type != GRPC_OP_COMPLETE) {
        grpc_server_cancel_all_calls(ts->server);
        (void)grpc_completion_queue_next(ts->shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                         NULL);
      }
    }
    grpc_server_destroy(ts->server);
  }
  if (ts->cq != NULL) {
    grpc_completion_queue_shutdown(ts->cq);
    if (ts->thread_started) {
      pthread_join(ts->thread, NULL);
    } else {
      /* No thread ran: drain here (the armed requests end with success 0). */
      xc__ts_main(ts);
    }
    grpc_completion_queue_destroy(ts->cq);
  }
  if (ts->shutdown_cq != NULL) {
    grpc_completion_queue_shutdown(ts->shutdown_cq);
    while (grpc_completion_queue_next(ts->shutdown_cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
               .type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(ts->shutdown_cq);
  }
  grpc_slice_unref(ts->reply);
  calls = ts->calls;
  free(ts);
  return calls;
}
