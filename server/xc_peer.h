/*
 * xc_peer.h: who is calling, from the TLS session of a gRPC call.
 *
 * The identity comes only from the call's auth context: the peer must be
 * authenticated (a client certificate verified against our CA), its subject
 * CN is read from the x509_common_name property explicitly (never from the
 * "peer identity", which switches to the SAN when one exists) and the
 * serial number is parsed from the x509_pem_cert property with OpenSSL.
 * Parsed serials are cached by certificate, since every call on a
 * connection carries the same one.
 */
#ifndef XC_PEER_H
#define XC_PEER_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "xc_identity.h"
#include "xc_limits.h"
#include "xc_status.h"

typedef struct xc_peer_cache xc_peer_cache;

/* Makes an empty serial cache; NULL when out of memory. Free with
 * xc_peer_cache_destroy. */
xc_peer_cache *xc_peer_cache_create(void);

/* Frees the cache. NULL is accepted. */
void xc_peer_cache_destroy(xc_peer_cache *cache);

/*
 * Reads the peer of `call`: its CN into cn (XC_MAX_CN_BYTES + 1 bytes) and
 * its certificate serial, in upper-case hex, into serial
 * (XC_MAX_SERIAL_BYTES + 1 bytes). The certificate must pass the check of
 * the installed xc_trust (xc_trust.h) if there is one. Returns XC_OK or
 * XC_EUNAUTHENTICATED with a message saying what is wrong or missing; a
 * refused certificate's CN and serial are still filled in when they can be
 * read, so the log and the audit log name it. cache may be NULL.
 */
int xc_peer_read(xc_peer_cache *cache, grpc_call *call, char *cn, char *serial,
                 xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Parses one PEM certificate (len bytes, not necessarily NUL-terminated) and
 * writes its serial number as upper-case hex into out (out_size bytes, at
 * least XC_MAX_SERIAL_BYTES + 1). Returns XC_OK or XC_EUNAUTHENTICATED.
 */
int xc_peer_serial_from_pem(const char *pem, size_t len, char *out, size_t out_size,
                            xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_PEER_H */
