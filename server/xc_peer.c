#include "xc_peer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "xc_text.h"
#include "xc_trust.h"

/* Certificates are a few hundred bytes to a few KiB; refuse absurd ones. */
#define XC__MAX_PEM_BYTES (64 * 1024)
#define XC__CACHE_SLOTS 64

typedef struct xc__cache_entry {
  char *pem; /* owned copy, NUL-terminated */
  size_t len;
  char serial[XC_MAX_SERIAL_BYTES + 1];
} xc__cache_entry;

struct xc_peer_cache {
  pthread_mutex_t mu;
  xc__cache_entry slots[XC__CACHE_SLOTS];
  unsigned next; /* round-robin replacement */
};

xc_peer_cache *xc_peer_cache_create(void) {
  xc_peer_cache *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  if (pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    return NULL;
  }
  return c;
}

void xc_peer_cache_destroy(xc_peer_cache *cache) {
  if (cache == NULL) return;
  for (unsigned i = 0; i < XC__CACHE_SLOTS; i++) free(cache->slots[i].pem);
  pthread_mutex_destroy(&cache->mu);
  free(cache);
}

int xc_peer_serial_from_pem(const char *pem, size_t len, char *out, size_t out_size, xc_err *err) {
  BIO *bio = NULL;
  X509 *x = NULL;
  BIGNUM *bn = NULL;
  char *hex = NULL;
  int rc = XC_OK;

  if (out_size > 0) out[0] = '\0';
  if (len == 0 || len > XC__MAX_PEM_BYTES) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED, "the client certificate is missing or too large");
    goto done;
  }
  bio = BIO_new_mem_buf(pem, (int)len);
  if (bio != NULL) x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if (x != NULL) bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
  if (bn != NULL) hex = BN_bn2hex(bn);
  if (hex == NULL) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED, "cannot read the client certificate's serial");
    goto done;
  }
  if (strlen(hex) > XC_MAX_SERIAL_BYTES || strlen(hex) >= out_size) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED,
                    "the client certificate's serial is longer than %d hex digits",
                    XC_MAX_SERIAL_BYTES);
    goto done;
  }
  xc_strlcpy(out, hex, out_size);
done:
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(x);
  BIO_free(bio);
  return rc;
}

/* Looks the certificate up in the cache, parsing and remembering it on a
 * miss. Entries are found by comparing the whole certificate, length first:
 * memcmp stops within a few dozen bytes at a different certificate, and on
 * a hit costs far less than hashing the PEM on every call did. */
static int xc__serial_cached(xc_peer_cache *c, const char *pem, size_t len, char *out,
                             xc_err *err) {
  int rc;
  if (c != NULL) {
    pthread_mutex_lock(&c->mu);
    for (unsigned i = 0; i < XC__CACHE_SLOTS; i++) {
      xc__cache_entry *e = &c->slots[i];
      if (e->pem != NULL && e->len == len && memcmp(e->pem, pem, len) == 0) {
        xc_strlcpy(out, e->serial, XC_MAX_SERIAL_BYTES + 1);
        pthread_mutex_unlock(&c->mu);
        return XC_OK;
      }
    }
    pthread_mutex_unlock(&c->mu);
  }
  rc = xc_peer_serial_from_pem(pem, len, out, XC_MAX_SERIAL_BYTES + 1, err);
  if (rc != XC_OK || c == NULL) return rc;
  {
    char *copy = malloc(len + 1);
    if (copy == NULL) return XC_OK; /* the cache is an optimisation only */
    memcpy(copy, pem, len);
    copy[len] = '\0';
    pthread_mutex_lock(&c->mu);
    {
      xc__cache_entry *e = &c->slots[c->next];
      c->next = (c->next + 1) % XC__CACHE_SLOTS;
      free(e->pem);
      e->pem = copy;
      e->len = len;
      xc_strlcpy(e->serial, out, sizeof e->serial);
    }
    pthread_mutex_unlock(&c->mu);
  }
  return XC_OK;
}

int xc_peer_read(xc_peer_cache *cache, grpc_call *call, char *cn, char *serial, xc_err *err) {
  grpc_auth_context *ac = grpc_call_auth_context(call);
  grpc_auth_property_iterator it;
  const grpc_auth_property *p;
  xc_err terr;
  int rc = XC_OK, trc = XC_OK;

  cn[0] = '\0';
  serial[0] = '\0';
  if (ac == NULL || !grpc_auth_context_peer_is_authenticated(ac)) {
    /* TLS asks for a certificate but lets a client without one connect, so
     * it can be told why it is refused (see xc_trust.h). */
    rc = xc_err_set(err, XC_EUNAUTHENTICATED,
                    "no client certificate was presented: xunchad accepts only callers with "
                    "a client certificate of its CA");
    goto done;
  }
  {
    /* TLS did not verify the certificate: xunchad does, against the CA and
     * CRL installed now, before anything else looks at the call. */
    xc_trust *trust = xc_trust_current();
    if (trust != NULL) {
      it = grpc_auth_context_find_properties_by_name(ac, GRPC_X509_PEM_CERT_PROPERTY_NAME);
      p = grpc_auth_property_iterator_next(&it);
      trc = xc_trust_check(trust, p != NULL ? p->value : NULL, p != NULL ? p->value_length : 0,
                           &terr);
      xc_trust_unref(trust);
    }
  }
  /* A refused certificate's CN and serial are still read, so the log and
   * the audit log name who was refused; the refusal's reason wins. */
  it = grpc_auth_context_find_properties_by_name(ac, GRPC_X509_CN_PROPERTY_NAME);
  p = grpc_auth_property_iterator_next(&it);
  if (p == NULL || p->value == NULL || p->value_length == 0) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED, "the client certificate has no subject CN");
    goto done;
  }
  if (p->value_length > XC_MAX_CN_BYTES || memchr(p->value, '\0', p->value_length) != NULL) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED,
                    "the client certificate's CN is longer than %d bytes or holds a NUL",
                    XC_MAX_CN_BYTES);
    goto done;
  }
  memcpy(cn, p->value, p->value_length);
  cn[p->value_length] = '\0';
  it = grpc_auth_context_find_properties_by_name(ac, GRPC_X509_PEM_CERT_PROPERTY_NAME);
  p = grpc_auth_property_iterator_next(&it);
  if (p == NULL || p->value == NULL) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED, "the client certificate is not available");
    goto done;
  }
  rc = xc__serial_cached(cache, p->value, p->value_length, serial, err);
done:
  if (trc != XC_OK) rc = xc_err_set(err, trc, "%s", terr.msg);
  if (ac != NULL) grpc_auth_context_release(ac);
  return rc;
}
