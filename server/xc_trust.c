#include "xc_trust.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "xc_text.h"

/* A client certificate is a few hundred bytes to a few KiB. */
#define XC__MAX_PEM_BYTES (64 * 1024)
/* Verdicts remembered per store: one per distinct client certificate. */
#define XC__SLOTS 256
/* A refusal is remembered this long, so a certificate that becomes valid
 * (not-yet-valid) is accepted soon after without a reload. */
#define XC__REFUSAL_TTL 30
/* An acceptance is re-checked at least this often (and at the certificate's
 * expiry, whichever comes first). */
#define XC__ACCEPT_TTL 3600

typedef struct xc__verdict {
  char *pem; /* owned copy */
  size_t len;
  time_t until; /* the verdict holds until then */
  int rc;
  char msg[XC_ERR_MSG_MAX];
} xc__verdict;

struct xc_trust {
  pthread_mutex_t mu; /* refs and the verdict cache */
  int refs;
  X509_STORE *store;
  int has_crl;
  xc__verdict slots[XC__SLOTS];
  unsigned next;
};

static pthread_mutex_t xc__cur_mu = PTHREAD_MUTEX_INITIALIZER;
static xc_trust *xc__cur;

int xc_trust_create(const char *ca_pem, const char *crl_pem, xc_trust **out, xc_err *err) {
  xc_trust *t = NULL;
  BIO *bio = NULL;
  int rc = XC_OK, n_ca = 0, n_crl = 0;

  *out = NULL;
  t = calloc(1, sizeof *t);
  if (t == NULL || pthread_mutex_init(&t->mu, NULL) != 0) {
    free(t);
    t = NULL;
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  t->refs = 1;
  t->store = X509_STORE_new();
  bio = ca_pem != NULL ? BIO_new_mem_buf(ca_pem, -1) : NULL;
  if (t->store == NULL || bio == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "no CA certificate was given");
    goto done;
  }
  for (;;) {
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL) break;
    if (X509_STORE_add_cert(t->store, x) == 1) n_ca++;
    X509_free(x);
  }
  BIO_free(bio);
  bio = NULL;
  if (n_ca == 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the CA file holds no PEM certificate");
    goto done;
  }
  if (crl_pem != NULL) {
    bio = BIO_new_mem_buf(crl_pem, -1);
    for (; bio != NULL;) {
      X509_CRL *c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
      if (c == NULL) break;
      if (X509_STORE_add_crl(t->store, c) == 1) n_crl++;
      X509_CRL_free(c);
    }
    if (n_crl == 0) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the CRL file holds no PEM CRL (make one with 'xuncha-certs crl DIR')");
      goto done;
    }
    t->has_crl = 1;
    X509_STORE_set_flags(t->store, X509_V_FLAG_CRL_CHECK);
  }
done:
  ERR_clear_error();
  BIO_free(bio);
  if (rc != XC_OK) {
    xc_trust_unref(t);
    t = NULL;
  }
  *out = t;
  return rc;
}

void xc_trust_ref(xc_trust *t) {
  pthread_mutex_lock(&t->mu);
  t->refs++;
  pthread_mutex_unlock(&t->mu);
}

void xc_trust_unref(xc_trust *t) {
  int last;
  if (t == NULL) return;
  pthread_mutex_lock(&t->mu);
  last = --t->refs == 0;
  pthread_mutex_unlock(&t->mu);
  if (!last) return;
  for (unsigned i = 0; i < XC__SLOTS; i++) free(t->slots[i].pem);
  X509_STORE_free(t->store);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

/* Writes an ASN1 time as "2026-01-31 12:00:00 UTC" into out. */
static void xc__time_text(const ASN1_TIME *at, char *out, size_t size) {
  struct tm tm;
  if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1 ||
      strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    xc_strlcpy(out, "?", size);
}

/* Turns OpenSSL's verification result into a sentence a person can act on. */
static int xc__reason(int verr, X509 *x, const char *serial, int has_crl, xc_err *err) {
  char when[64];
  switch (verr) {
  case X509_V_ERR_CERT_HAS_EXPIRED:
    xc__time_text(X509_get0_notAfter(x), when, sizeof when);
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) has expired: it was valid until %s",
                      serial, when);
  case X509_V_ERR_CERT_NOT_YET_VALID:
    xc__time_text(X509_get0_notBefore(x), when, sizeof when);
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) is not yet valid: it is valid from %s",
                      serial, when);
  case X509_V_ERR_CERT_REVOKED:
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) has been revoked", serial);
  case X509_V_ERR_INVALID_PURPOSE:
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) is not for client use: its key usage "
                      "does not allow TLS client authentication (clientAuth)",
                      serial);
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_SIGNATURE_FAILURE:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: {
    char issuer[256];
    X509_NAME_oneline(X509_get_issuer_name(x), issuer, (int)sizeof issuer);
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) is not signed by this server's CA "
                      "(its issuer is %s)",
                      serial, issuer);
  }
  case X509_V_ERR_UNABLE_TO_GET_CRL:
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the server holds no CRL from the CA of the client certificate (serial "
                      "%s), so it cannot tell whether it was revoked",
                      serial);
  case X509_V_ERR_CRL_HAS_EXPIRED:
  case X509_V_ERR_CRL_NOT_YET_VALID:
  case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the server's CRL is not usable (%s): the server operator must install "
                      "a fresh one ('xuncha-certs crl DIR', then SIGHUP)",
                      X509_verify_cert_error_string(verr));
  default:
    (void)has_crl;
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate (serial %s) is refused: %s", serial,
                      X509_verify_cert_error_string(verr));
  }
}

/* Verifies without the cache; *until is how long the verdict may be kept. */
static int xc__verify(xc_trust *t, const char *pem, size_t len, time_t now, time_t *until,
                      xc_err *err) {
  BIO *bio = NULL;
  X509 *x = NULL;
  X509_STORE_CTX *ctx = NULL;
  BIGNUM *bn = NULL;
  char *hex = NULL;
  char serial[80];
  int rc = XC_OK;

  *until = now + XC__REFUSAL_TTL;
  bio = BIO_new_mem_buf(pem, (int)len);
  if (bio != NULL) x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if (x == NULL) {
    rc = xc_err_set(err, XC_EUNAUTHENTICATED, "the client certificate does not parse");
    goto done;
  }
  bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
  if (bn != NULL) hex = BN_bn2hex(bn);
  xc_strlcpy(serial, hex != NULL ? hex : "?", sizeof serial);
  ctx = X509_STORE_CTX_new();
  if (ctx == NULL || X509_STORE_CTX_init(ctx, t->store, x, NULL) != 1) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory checking the certificate");
    *until = now;
    goto done;
  }
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx) != 1) {
    rc = xc__reason(X509_STORE_CTX_get_error(ctx), x, serial, t->has_crl, err);
    goto done;
  }
  {
    /* Accepted until it expires, or an hour from now. */
    time_t limit = now + XC__ACCEPT_TTL;
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
      time_t na = timegm(&tm);
      if (na < limit) limit = na;
    }
    *until = limit;
  }
done:
  ERR_clear_error();
  OPENSSL_free(hex);
  BN_free(bn);
  X509_STORE_CTX_free(ctx);
  X509_free(x);
  BIO_free(bio);
  return rc;
}

int xc_trust_check(xc_trust *t, const char *pem, size_t len, xc_err *err) {
  time_t now = time(NULL), until = 0;
  char *copy = NULL;
  int rc;

  if (pem == NULL || len == 0)
    return xc_err_set(err, XC_EUNAUTHENTICATED, "no client certificate was presented");
  if (len > XC__MAX_PEM_BYTES)
    return xc_err_set(err, XC_EUNAUTHENTICATED, "the client certificate is larger than %d bytes",
                      XC__MAX_PEM_BYTES);
  /* Entries are found by comparing the whole PEM (length first): memcmp
   * stops within a few dozen bytes at a different certificate (the serial
   * comes early) and costs far less on a hit than hashing the PEM did. */
  pthread_mutex_lock(&t->mu);
  for (unsigned i = 0; i < XC__SLOTS; i++) {
    xc__verdict *v = &t->slots[i];
    if (v->pem != NULL && v->len == len && now < v->until && memcmp(v->pem, pem, len) == 0) {
      rc = v->rc;
      if (rc != XC_OK) (void)xc_err_set(err, rc, "%s", v->msg);
      pthread_mutex_unlock(&t->mu);
      return rc;
    }
  }
  pthread_mutex_unlock(&t->mu);

  rc = xc__verify(t, pem, len, now, &until, err);
  if (until <= now) return rc;
  copy = malloc(len);
  if (copy == NULL) return rc; /* the cache is an optimisation only */
  memcpy(copy, pem, len);
  pthread_mutex_lock(&t->mu);
  {
    xc__verdict *v = &t->slots[t->next];
    t->next = (t->next + 1) % XC__SLOTS;
    free(v->pem);
    v->pem = copy;
    v->len = len;
    v->until = until;
    v->rc = rc;
    xc_strlcpy(v->msg, rc != XC_OK && err != NULL ? err->msg : "", sizeof v->msg);
  }
  pthread_mutex_unlock(&t->mu);
  return rc;
}

void xc_trust_install(xc_trust *t) {
  xc_trust *old;
  if (t != NULL) xc_trust_ref(t);
  pthread_mutex_lock(&xc__cur_mu);
  old = xc__cur;
  xc__cur = t;
  pthread_mutex_unlock(&xc__cur_mu);
  xc_trust_unref(old);
}

xc_trust *xc_trust_current(void) {
  xc_trust *t;
  pthread_mutex_lock(&xc__cur_mu);
  t = xc__cur;
  if (t != NULL) xc_trust_ref(t);
  pthread_mutex_unlock(&xc__cur_mu);
  return t;
}
