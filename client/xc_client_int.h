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

#endif /* XC_CLIENT_INT_H */
