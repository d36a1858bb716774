#include "xc_status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const xc__code_names[17] = {
    "OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
    "UNAUTHENTICATED"};

int xc_code_to_grpc(int code) {
  if (code > 0 || code < -16) return 2;
  return -code;
}

int xc_code_from_grpc(int grpc_code) {
  if (grpc_code < 0 || grpc_code > 16) return XC_EUNKNOWN;
  return -grpc_code;
}

const char *xc_code_name(int code) { return xc__code_names[xc_code_to_grpc(code)]; }

int xc_err_set(xc_err *err, int code, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    /* vsnprintf bounds the write and always terminates; a cut message is fine. */
    (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void xc_err_clear(xc_err *err) {
  if (err != NULL) {
    err->code = XC_OK;
    err->msg[0] = '\0';
  }
}
