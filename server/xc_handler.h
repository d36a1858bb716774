/*
 * xc_handler.h: what a request handler of xunchad sees.
 *
 * The transport (xc_server.c) unpacks each request, works out who the caller
 * is and calls the method's handler with an xc_ctx. A handler never touches
 * gRPC objects: it reads the request message, returns XC_OK with a response
 * message in *resp (unpacked ownership: the transport packs it and frees it
 * with xc_msg_free), or returns a negative xc_code with err filled in, which
 * the transport sends as the call's status.
 *
 * Where handlers run: unary handlers run on a fiber of the completion-queue
 * thread that received the call (xc_fiber.h). xc_store_write (and so
 * xc_store_create / xc_store_update and everything built on them) suspends
 * the fiber until the write is durable, and the thread serves other calls
 * meanwhile; that is what lets many writes share one commit. So a unary
 * handler may do LMDB reads and store writes freely, but must not block its
 * thread any other way (sleep, wait on a lock held across I/O, call a
 * network service) and must not call xc_call_park: each such wait stalls
 * every call on that thread. Work that must block belongs in a streaming
 * method. Streaming handlers run on worker threads and use xc_call_send /
 * xc_call_recv / xc_call_park on ctx->call; each blocks the worker until its
 * gRPC batch completes.
 */
#ifndef XC_HANDLER_H
#define XC_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_identity.h"
#include "xc_status.h"
#include "xc_store.h"

/* One call in flight, owned by the transport. Opaque to handlers. */
typedef struct xc_call xc_call;

/* The default number of records one List call may look at before it stops
 * and hands back a page token for where it stopped. */
#define XC_LIST_SCAN_BUDGET 100000

/* The most bytes of records one List response carries (the rest of
 * XC_MAX_MESSAGE_BYTES is headroom for the envelope). */
#define XC_LIST_MAX_RESPONSE_BYTES (XC_MAX_MESSAGE_BYTES - 256 * 1024)

/*
 * Everything a handler may use. The transport fills one per call; unit tests
 * fill one by hand (call = NULL). Nothing in it is owned by the handler.
 */
typedef struct xc_ctx {
  xc_store *store;           /* the record store */
  xc_identity id;            /* the caller, from its client certificate */
  int has_identity;          /* 0 when the CN is not a xuncha identity */
  const char *method;        /* full method path, e.g. "/xuncha.v1.Targets/GetTarget" */
  uint8_t secret[32];        /* page-token key (xc_store_secret) */
  size_t scan_budget;        /* records a List may look at; 0: XC_LIST_SCAN_BUDGET */
  size_t max_response_bytes; /* 0: XC_LIST_MAX_RESPONSE_BYTES */
  xc_call *call;             /* the call, for streaming; NULL in unit tests */
  /* Set by a write path once its change committed together with its audit
   * entry (xc_audit.h), so the call is not recorded twice. */
  int audit_done;
  /* Set by the transport when it sends reply_wire (below) if a handler
   * fills it: a List may then pack its records straight from the stored
   * bytes (xc_rawrec_append) instead of building messages to be packed. */
  int packed_reply_ok;
  /* A unary reply already packed by the handler (malloc'd; the transport
   * sends and frees it). The handler's *resp then holds only what the audit
   * reads (the records' ids and the next page token), not the reply. */
  uint8_t *reply_wire;
  size_t reply_wire_len;
} xc_ctx;

/*
 * A request handler. req is the unpacked request (NULL for client-streaming
 * methods, which read with xc_call_recv); it stays owned by the transport.
 * On XC_OK a unary or client-streaming handler sets *resp to a message of the
 * method's response type, which the transport takes; a server-streaming
 * handler sends with xc_call_send and leaves *resp NULL. On failure the
 * handler returns a negative xc_code with err filled in and leaves *resp NULL.
 */
typedef int (*xc_handler_fn)(xc_ctx *ctx, const ProtobufCMessage *req, ProtobufCMessage **resp,
                             xc_err *err);

typedef enum xc_method_kind {
  XC_METHOD_UNARY = 0,
  XC_METHOD_SERVER_STREAM = 1,
  XC_METHOD_CLIENT_STREAM = 2,
  /* Both directions: req is NULL; the handler loops over xc_call_recv and
   * xc_call_send, leaves *resp NULL and returns the final status. */
  XC_METHOD_BIDI_STREAM = 3
} xc_method_kind;

/* One row of the method table the transport registers. */
typedef struct xc_method {
  const char *path; /* "/package.Service/Method" */
  const ProtobufCMessageDescriptor *request;
  const ProtobufCMessageDescriptor *response;
  xc_method_kind kind;
  /* 1 if the caller's CN must be a xuncha identity (every method but
   * health checks, which any certificate of our CA may call). */
  int needs_identity;
  xc_handler_fn handler;
} xc_method;

/* The methods xunchad serves (handlers.c); a static table. */
const xc_method *xc_methods(size_t *count);

/*
 * Sends one message on a streaming call (the initial metadata goes with the
 * first). Blocks until gRPC has taken it. Returns XC_OK, or XC_ECANCELLED
 * when the client has gone away. msg stays the caller's.
 */
int xc_call_send(xc_call *call, const ProtobufCMessage *msg, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Reads the next message of a client stream and unpacks it as `desc`. Sets
 * *out to the message (the caller frees it with xc_msg_free) or to NULL at
 * the end of the stream. Returns XC_OK, XC_EINVALID_ARGUMENT for a message
 * that does not decode, or XC_ECANCELLED when the client has gone away.
 */
int xc_call_recv(xc_call *call, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                 xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Sends `first` (if not NULL) and then holds the worker until the client
 * ends the call or the server starts to shut down. Returns XC_ECANCELLED
 * when the client ended it, XC_EUNAVAILABLE when the server is shutting
 * down, or XC_ERESOURCE_EXHAUSTED (before sending anything; err says the
 * limit) when too many calls are parked already: parked calls each hold a
 * worker, so at most half the workers (none with one worker) may park.
 */
int xc_call_park(xc_call *call, const ProtobufCMessage *first, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * A stand-in for the gRPC side of a streaming call, so the fuzzer and tests
 * can run streaming handlers with no network: on a call made by
 * xc_call_stub_new, xc_call_send hands each message to send(), xc_call_recv
 * takes the next one from recv() (which sets *out to NULL at the end of the
 * stream), and xc_call_park sends `first` and returns XC_ECANCELLED at once,
 * as when the client goes away.
 */
typedef struct xc_call_stub {
  int (*send)(void *arg, const ProtobufCMessage *msg, xc_err *err);
  int (*recv)(void *arg, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
              xc_err *err);
  void *arg;
} xc_call_stub;

/* Makes a call served by stub (borrowed; it must outlive the call) for the
 * method `path`. Returns NULL when out of memory; free with
 * xc_call_stub_free. */
xc_call *xc_call_stub_new(const xc_call_stub *stub, const char *path);
void xc_call_stub_free(xc_call *call);

#endif /* XC_HANDLER_H */
