/*
 * xc_test_server.h: what the unit tests of the handlers share (test_server,
 * test_reports, test_sync): a caller's context and a call through the method
 * table, as the transport makes them. Header-only (static inline) so each
 * suite stays one .c file; include it after CUnit.
 */
#ifndef XC_TEST_SERVER_H
#define XC_TEST_SERVER_H

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "xc_handler.h"
#include "xc_identity.h"
#include "xc_msg.h"
#include "xc_store.h"

/*
 * Returns the context of a call by the certificate CN cn (serial "0A") on
 * store s, which must outlive it; the CN must parse (a fatal assertion).
 */
static inline xc_ctx xc_test_ctx(xc_store *s, const char *cn) {
  xc_ctx c;
  xc_err err;
  memset(&c, 0, sizeof c);
  c.store = s;
  CU_ASSERT_EQUAL_FATAL(xc_identity_parse(cn, "0A", &c.id, &err), XC_OK);
  c.has_identity = 1;
  xc_store_secret(s, c.secret);
  return c;
}

/* Packs msg and unpacks it again as a client would (taking msg); NULL stays
 * NULL. List and get replies hold records in wire form (server/xc_rawrec.h),
 * readable only for their ids until they have been through the wire. */
static inline ProtobufCMessage *xc_test_round_trip(ProtobufCMessage *msg) {
  size_t len = 0;
  uint8_t *buf;
  ProtobufCMessage *copy;
  if (msg == NULL) return NULL;
  buf = xc_msg_pack(msg, 0, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  free(buf);
  xc_msg_free(msg);
  return copy;
}

/*
 * Calls the handler of `path` from the method table, as the transport does,
 * and checks what the transport relies on: req is of the method's request
 * type, and a handler that succeeds answers with the response type (the
 * caller frees it) while one that fails answers nothing. resp_out is the
 * address of the caller's response pointer; the response is as the handler
 * made it.
 */
static inline int xc_test_call_raw(xc_ctx *c, const char *path, const void *req, void *resp_out,
                                   xc_err *err) {
  size_t n = 0;
  const xc_method *m = xc_methods(&n);
  ProtobufCMessage **resp = resp_out;
  xc_err_clear(err);
  *resp = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(m[i].path, path) == 0) {
      int rc;
      CU_ASSERT_PTR_EQUAL(((const ProtobufCMessage *)req)->descriptor, m[i].request);
      c->method = m[i].path;
      rc = m[i].handler(c, req, resp, err);
      if (rc == XC_OK) {
        CU_ASSERT_PTR_NOT_NULL(*resp);
        if (*resp != NULL) CU_ASSERT_PTR_EQUAL((*resp)->descriptor, m[i].response);
      } else {
        CU_ASSERT_PTR_NULL(*resp);
      }
      return rc;
    }
  }
  CU_FAIL("no such method");
  return XC_EINTERNAL;
}

/* xc_test_call_raw, with the response as the client sees it. */
static inline int xc_test_call(xc_ctx *c, const char *path, const void *req, void *resp_out,
                               xc_err *err) {
  ProtobufCMessage **resp = resp_out;
  int rc = xc_test_call_raw(c, path, req, resp_out, err);
  *resp = xc_test_round_trip(*resp);
  return rc;
}

#endif /* XC_TEST_SERVER_H */
