#include "xc_pagetoken.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define XC__TAG_BYTES 16
/* version + id length + id + tag */
#define XC__RAW_MAX (2 + XC_ID_MAX + XC__TAG_BYTES)

static const char xc__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes n bytes as base64url without padding; out must hold
 * 4 * ceil(n / 3) + 1 bytes. */
static size_t xc__b64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = xc__b64[v >> 18 & 63];
    out[o++] = xc__b64[v >> 12 & 63];
    out[o++] = xc__b64[v >> 6 & 63];
    out[o++] = xc__b64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = xc__b64[v >> 18 & 63];
    out[o++] = xc__b64[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = xc__b64[v >> 18 & 63];
    out[o++] = xc__b64[v >> 12 & 63];
    out[o++] = xc__b64[v >> 6 & 63];
  }
  out[o] = '\0';
  return o;
}

/* Returns the 6-bit value of a base64url character, or -1. */
static int xc__b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/* Decodes strict base64url without padding into out (at most max bytes).
 * Returns the length, or -1 for bad characters, a bad length, non-zero
 * trailing bits or too much data. */
static long xc__b64_decode(const char *in, size_t n, uint8_t *out, size_t max) {
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  if (n % 4 == 1) return -1;
  for (size_t i = 0; i < n; i++) {
    int v = xc__b64_value(in[i]);
    if (v < 0) return -1;
    acc = (acc << 6 | (uint32_t)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= max) return -1;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* Left-over bits must be zero, so each token has exactly one spelling. */
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
  return (long)o;
}

/* Feeds one input of the tag, length first so inputs cannot run together. */
static int xc__hmac_part(EVP_MAC_CTX *m, const void *p, size_t n) {
  uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  return EVP_MAC_update(m, len, 4) == 1 && EVP_MAC_update(m, p, n) == 1;
}

/* Computes the token's tag over its length-prefixed inputs. */
static int xc__tag(const uint8_t secret[32], const char *cn, const char *method,
                   const void *filters, size_t filters_len, const char *last_id, uint8_t tag[32]) {
  EVP_MAC *mac = NULL;
  EVP_MAC_CTX *m = NULL;
  OSSL_PARAM params[2];
  size_t outl = 0;
  int ok = 0;
  mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (mac == NULL) goto done;
  m = EVP_MAC_CTX_new(mac);
  if (m == NULL) goto done;
  params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  ok = EVP_MAC_init(m, secret, 32, params) == 1 && xc__hmac_part(m, cn, strlen(cn)) &&
       xc__hmac_part(m, method, strlen(method)) && xc__hmac_part(m, filters, filters_len) &&
       xc__hmac_part(m, last_id, strlen(last_id)) && EVP_MAC_final(m, tag, &outl, 32) == 1 &&
       outl == 32;
done:
  EVP_MAC_CTX_free(m);
  EVP_MAC_free(mac);
  return ok;
}

int xc_page_token_make(const uint8_t secret[32], const char *cn, const char *method,
                       const void *filters, size_t filters_len, const char *last_id, char *out,
                       size_t out_size) {
  uint8_t raw[XC__RAW_MAX];
  uint8_t tag[32];
  size_t idlen = strlen(last_id), n;
  if (idlen == 0 || idlen >= XC_ID_MAX) return XC_EINTERNAL;
  n = 2 + idlen + XC__TAG_BYTES;
  if (out_size < 4 * ((n + 2) / 3) + 1) return XC_EINTERNAL;
  if (!xc__tag(secret, cn, method, filters, filters_len, last_id, tag)) return XC_EINTERNAL;
  raw[0] = XC_PAGE_TOKEN_VERSION;
  raw[1] = (uint8_t)idlen;
  memcpy(raw + 2, last_id, idlen);
  memcpy(raw + 2 + idlen, tag, XC__TAG_BYTES);
  (void)xc__b64_encode(raw, n, out);
  return XC_OK;
}

int xc_page_token_parse(const uint8_t secret[32], const char *cn, const char *method,
                        const void *filters, size_t filters_len, xc_kind kind, const char *token,
                        char last_id[XC_ID_MAX], xc_err *err) {
  uint8_t raw[XC__RAW_MAX];
  uint8_t tag[32];
  size_t tlen = strnlen(token, XC_MAX_PAGE_TOKEN_BYTES + 1);
  long n;
  size_t idlen;
  last_id[0] = '\0';
  if (tlen > XC_MAX_PAGE_TOKEN_BYTES) goto refuse;
  n = xc__b64_decode(token, tlen, raw, sizeof raw);
  if (n < 2 + 1 + XC__TAG_BYTES || raw[0] != XC_PAGE_TOKEN_VERSION) goto refuse;
  idlen = raw[1];
  if (idlen == 0 || idlen >= XC_ID_MAX || (size_t)n != 2 + idlen + XC__TAG_BYTES) goto refuse;
  memcpy(last_id, raw + 2, idlen);
  last_id[idlen] = '\0';
  if (strlen(last_id) != idlen || !xc_id_valid(kind, last_id)) goto refuse;
  if (!xc__tag(secret, cn, method, filters, filters_len, last_id, tag))
    return xc_err_set(err, XC_EINTERNAL, "cannot check the page token");
  if (CRYPTO_memcmp(tag, raw + 2 + idlen, XC__TAG_BYTES) != 0) goto refuse;
  return XC_OK;
refuse:
  last_id[0] = '\0';
  return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s", XC_PAGE_TOKEN_MISMATCH);
}
