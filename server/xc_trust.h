/*
 * xc_trust.h: xunchad's own check of client certificates.
 *
 * gRPC 1.51's TLS layer gives the same opaque failure for several kinds of
 * bad certificate, closes the socket without telling the client why, and
 * offers CRLs only in its experimental API. So the TLS layer only asks for a
 * certificate (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY) and
 * xunchad verifies the peer's certificate itself, with OpenSSL, against the
 * CA and the CRL held here: chain to our CA, validity dates, revocation, and
 * the clientAuth purpose. A call whose certificate fails is answered
 * UNAUTHENTICATED with the reason, so both the server's log and the client
 * learn it, before any handler runs.
 *
 * An xc_trust is immutable once made (apart from its verdict cache) and
 * reference counted: SIGHUP makes a new one from the files and installs it
 * with xc_trust_install, calls in flight keep the one they hold, and the old
 * one is freed when its last holder lets go. Verdicts are cached per
 * certificate (its PEM bytes) inside the xc_trust, so a reload starts with
 * an empty cache.
 */
#ifndef XC_TRUST_H
#define XC_TRUST_H

#include <stddef.h>

#include "xc_status.h"

typedef struct xc_trust xc_trust;

/*
 * Makes a trust store from the CA certificates in ca_pem and, if crl_pem is
 * not NULL, the CRLs in it (each must be signed by the CA; revocation is
 * then checked for every client certificate). Returns XC_OK and *out (one
 * reference, the caller's) or XC_EINVALID_ARGUMENT with err naming what did
 * not parse.
 */
int xc_trust_create(const char *ca_pem, const char *crl_pem, xc_trust **out, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* Takes one more reference. */
void xc_trust_ref(xc_trust *t);

/* Drops a reference; the last one frees the store. NULL is accepted. */
void xc_trust_unref(xc_trust *t);

/*
 * Verifies one client certificate (PEM, len bytes, not necessarily
 * NUL-terminated) at the current time. Returns XC_OK, or
 * XC_EUNAUTHENTICATED with err saying which check failed, e.g. "the client
 * certificate (serial 1A2B) has been revoked". Thread-safe.
 */
int xc_trust_check(xc_trust *t, const char *pem, size_t len, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * The process-wide store the transport checks peers against. install takes
 * a reference of its own to t (NULL removes it) and drops the previous
 * store's; current returns a new reference (release it with xc_trust_unref)
 * or NULL when none is installed (unit tests: then peers are not checked
 * beyond what TLS did).
 */
void xc_trust_install(xc_trust *t);
xc_trust *xc_trust_current(void);

#endif /* XC_TRUST_H */
