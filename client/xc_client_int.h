/*
 * xc_client_int.h: what the files of libxuncha share beyond client.h. Not
 * installed; nothing outside client/ includes it.
 */
#ifndef XC_CLIENT_INT_H
#define XC_CLIENT_INT_H

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "xuncha/client.h"

/*
 * Waits (up to deadline) for the channel to be ready and creates a call of
 * `method` on cq, for the streaming functions, which start their own
 * batches. *out is the caller's (grpc_call_unref). Returns XC_OK,
 * XC_EUNAVAILABLE / XC_EDEADLINE_EXCEEDED when the server cannot be reached,
 * or XC_EINTERNAL.
 */
int xc__client_start_call(xc_client *c, const char *method, grpc_completion_queue *cq,
                          gpr_timespec deadline, grpc_call **out, xc_err *err);

/* The "HOST:PORT" the client talks to, for messages. */
const char *xc__client_server(const xc_client *c);

/*
 * Defines a typed wrapper over xc_client_call for one unary RPC, with the
 * contract of client.h: the request stays the caller's; *out is the caller's
 * on success and NULL on failure (with out NULL the answer is freed).
 */
#define XC__RPC(fn, path, ReqT, RespT, resp_desc)                                                \
  int fn(xc_client *c, const ReqT *req, RespT **out, int64_t timeout_ms, xc_err *err) {          \
    ProtobufCMessage *m = NULL;                                                                  \
    int rc =                                                                                     \
        xc_client_call(c, path, (const ProtobufCMessage *)req, &resp_desc, &m, timeout_ms, err); \
    if (out != NULL)                                                                             \
      *out = (RespT *)m;                                                                         \
    else                                                                                         \
      xc_message_free(m);                                                                        \
    return rc;                                                                                   \
  }

#endif /* XC_CLIENT_INT_H */
