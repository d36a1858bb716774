/*
 * xc_service.h: create, get, update and list for every record kind, on the
 * store, with the access rules, validation and paging of xunchad. The typed
 * handlers (handlers_*.c) only translate their request messages into these
 * calls.
 *
 * Every record returned has unpacked ownership (xc_msg_free). The records of
 * a List page and of xc_service_get_reply are in wire form (xc_rawrec.h).
 */
#ifndef XC_SERVICE_H
#define XC_SERVICE_H

#include <stddef.h>

#include "xc_handler.h"
#include "xc_list.h"

/*
 * Creates a record of `kind` from sent (the client's record; not modified):
 * output-only fields are ignored, the record is validated and completed
 * (xc_validate_record) and stored as owned by the caller's office. A retry
 * with the same non-empty request_id by the same caller returns the first
 * record (or XC_EALREADY_EXISTS if the first request differed).
 */
int xc_service_create(xc_ctx *ctx, xc_kind kind, const ProtobufCMessage *sent,
                      const char *request_id, ProtobufCMessage **out,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/* Loads record `id` of `kind` if the caller may read it: XC_EINVALID_ARGUMENT
 * for a malformed id, XC_ENOT_FOUND, or XC_EPERMISSION_DENIED. */
int xc_service_get(xc_ctx *ctx, xc_kind kind, const char *id, ProtobufCMessage **out,
                   xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * xc_service_get for a Get reply: the same checks and errors, but *out is
 * in wire form (server/xc_rawrec.h): the stored bytes with the read-time
 * fields packed anew, which the transport packs as the whole decorated
 * record without unpacking and packing the record again. Only its id may
 * be read as a field.
 */
int xc_service_get_reply(xc_ctx *ctx, xc_kind kind, const char *id, ProtobufCMessage **out,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Updates the record sent->id: the caller must own it (XC_EPERMISSION_DENIED
 * otherwise, before anything else is looked at), sent->etag must be the
 * stored one (XC_EABORTED), output-only and fixed fields must be unchanged,
 * and only the fields named in mask change (every mutable field when n_mask
 * is 0). The merged record is validated again before it is stored.
 */
int xc_service_update(xc_ctx *ctx, xc_kind kind, const ProtobufCMessage *sent, char *const *mask,
                      size_t n_mask, ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* One page of a List. */
typedef struct xc_page {
  ProtobufCMessage **recs; /* n records, each owned by the page */
  size_t n;
  char next_token[XC_MAX_PAGE_TOKEN_BYTES + 1]; /* "" at the end */
  /* When ctx->packed_reply_ok: the records packed as elements of field 1
   * of the List response (wire_len bytes, malloc'd, owned by the page until
   * xc__list_response hands it to ctx->reply_wire), and recs hold only the
   * records' ids, for the audit. */
  xc_ctx *wire_ctx;
  uint8_t *wire;
  size_t wire_len;
  size_t wire_cap;
} xc_page;

/*
 * Lists the records of `kind` that match f and that the caller may read, in
 * id order, from after the record named by page_token. Stops after page_size
 * records (xc_list_page_size), after ctx->scan_budget records looked at, or
 * when the response would grow past ctx->max_response_bytes, and then sets
 * next_token if more may remain. The caller frees the page with
 * xc_page_free, or takes its records (set recs to NULL and n to 0 first).
 */
int xc_service_list(xc_ctx *ctx, xc_kind kind, const xc_list_filter *f, int32_t page_size,
                    const char *page_token, xc_page *page, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Frees the records of a page and its packed form. */
void xc_page_free(xc_page *page);

#endif /* XC_SERVICE_H */
