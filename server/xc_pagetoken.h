/*
 * xc_pagetoken.h: the page tokens of List calls.
 *
 * A token is base64url (no padding) of
 *   version byte (1) | id length (1) | last id | HMAC-SHA256 tag (16 bytes)
 * where the tag is HMAC-SHA256, keyed with the store's secret, over the
 * caller's CN, the method, the canonical filters and the last id, each
 * length-prefixed. A token therefore only works for the caller it was given
 * to, on the same method with the same filters, and cannot be forged or
 * edited. The page size is not bound: a client may change it between pages.
 *
 * Nothing here allocates.
 */
#ifndef XC_PAGETOKEN_H
#define XC_PAGETOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "xc_limits.h"
#include "xc_status.h"
#include "xc_store.h"

#define XC_PAGE_TOKEN_VERSION 1

/* The message sent with INVALID_ARGUMENT for every refused token. */
#define XC_PAGE_TOKEN_MISMATCH "page_token does not match this request: start again without it"

/*
 * Writes the token for a page that ended at record `last_id` into out
 * (at most XC_MAX_PAGE_TOKEN_BYTES bytes with the NUL). `filters` is the
 * canonical form of the request's filters (filters_len bytes). Returns XC_OK,
 * or XC_EINTERNAL if the id is too long or out is too small.
 */
int xc_page_token_make(const uint8_t secret[32], const char *cn, const char *method,
                       const void *filters, size_t filters_len, const char *last_id, char *out,
                       size_t out_size) XC_WARN_UNUSED_RESULT;

/*
 * Checks token against the same inputs and, if it was made by
 * xc_page_token_make for them and names a well-formed id of `kind`, copies
 * that id into last_id (XC_ID_MAX bytes). Any other token, including one of
 * another caller, method or filter set, gives XC_EINVALID_ARGUMENT with
 * XC_PAGE_TOKEN_MISMATCH.
 */
int xc_page_token_parse(const uint8_t secret[32], const char *cn, const char *method,
                        const void *filters, size_t filters_len, xc_kind kind, const char *token,
                        char last_id[XC_ID_MAX], xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_PAGETOKEN_H */
