/*
 * xc_server.h: the gRPC transport of xunchad.
 *
 * One gRPC core server with a single mutual-TLS port (there is no plaintext
 * port). Unary calls run on fibers of the completion-queue thread that
 * received them (no hand-off to another thread): a handler waiting for a
 * durable write gives the thread back, the store's writer gathers the
 * writes of every waiting call into one commit, and when it is durable the
 * writer hands the calls back through a doorbell on the CQ, whose thread
 * resumes them and sends their replies. Streaming calls run on a fixed pool
 * of worker threads: a call's batches are started by its worker, which
 * waits for the completion the CQ thread hands it, so streaming in either
 * direction is a loop of xc_call_send / xc_call_recv.
 *
 * Every call starts with RECV_CLOSE_ON_SERVER so a client that goes away is
 * noticed; calls to methods not in the table get UNIMPLEMENTED. One log line
 * per call goes to stderr (xc_log.h).
 *
 * grpc_init() must have been called before xc_server_start, and
 * grpc_shutdown_blocking() may be called only after xc_server_destroy.
 */
#ifndef XC_SERVER_H
#define XC_SERVER_H

#include <stddef.h>

#include "xc_handler.h"
#include "xc_status.h"
#include "xc_store.h"

typedef struct xc_server xc_server;

typedef struct xc_server_options {
  const char *listen;       /* "HOST:PORT"; port 0 picks a free port */
  const char *cert_pem;     /* the server's certificate chain, PEM */
  const char *key_pem;      /* its private key, PEM */
  const char *ca_pem;       /* the CA that signs client certificates, PEM */
  const char *crl_pem;      /* revoked client certificates (PEM CRLs), or NULL */
  xc_store *store;          /* borrowed; must outlive the server */
  const xc_method *methods; /* borrowed static table */
  size_t n_methods;
  unsigned workers;          /* threads for streaming handlers; 0: 8 */
  unsigned cq_threads;       /* completion-queue threads; 0: 1 */
  unsigned slots_per_method; /* calls requested ahead per method; 0: 4 */
  unsigned max_queued;       /* calls waiting for a worker, and unary calls
                                in progress at once; 0: 4096 */
  int shutdown_grace_ms;     /* wait for calls in flight; 0: 10000 */
} xc_server_options;

/*
 * Creates the server, binds the port, starts the threads and begins to
 * accept calls. On success *out is the caller's (xc_server_destroy) and
 * *bound_port (if not NULL) is the port actually bound. On failure returns
 * a negative xc_code with err saying what went wrong (e.g. "cannot listen
 * on 127.0.0.1:7443 ...").
 */
int xc_server_start(const xc_server_options *opt, xc_server **out, int *bound_port,
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Replaces the TLS material without a restart (SIGHUP): connections made
 * from now on get the new server certificate, and every call from now on
 * (on old connections too) has its client certificate checked against the
 * new CA and CRL (crl_pem may be NULL: no revocation list). Calls in flight
 * are not touched. The PEM strings are copied. On failure nothing changes
 * and err says why.
 */
int xc_server_reload_tls(xc_server *srv, const char *cert_pem, const char *key_pem,
                         const char *ca_pem, const char *crl_pem, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/*
 * Stops the server as PLATFORM.md describes: no new calls; parked streams
 * are released; waits up to the grace period for calls in flight, then
 * cancels the rest; the workers finish every call they hold. Blocks until
 * done. Idempotent.
 */
void xc_server_shutdown(xc_server *srv);

/* Shuts down (if not yet done) and frees everything. NULL is accepted. */
void xc_server_destroy(xc_server *srv);

#endif /* XC_SERVER_H */
