/*
 * xc_status.h: the one status type of xuncha.
 *
 * Every fallible function in xuncha returns an int: XC_OK (0) on success or a
 * negative xc_code. The codes map 1:1 onto gRPC status codes: the gRPC code of
 * an xc_code c is -c (xc_code_to_grpc). A function that can fail for a reason
 * a person should read also takes an xc_err*, which it fills with the code
 * and a sentence; callers may pass NULL when they do not need the message.
 *
 * This header knows nothing of gRPC, LMDB or protobuf-c, so every module
 * (storage included) can use it.
 */
#ifndef XC_STATUS_H
#define XC_STATUS_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define XC_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define XC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define XC_WARN_UNUSED_RESULT
#define XC_PRINTF(fmt, args)
#endif

/* The negated gRPC status codes, in gRPC's order. */
typedef enum xc_code {
  XC_OK = 0,
  XC_ECANCELLED = -1,
  XC_EUNKNOWN = -2,
  XC_EINVALID_ARGUMENT = -3,
  XC_EDEADLINE_EXCEEDED = -4,
  XC_ENOT_FOUND = -5,
  XC_EALREADY_EXISTS = -6,
  XC_EPERMISSION_DENIED = -7,
  XC_ERESOURCE_EXHAUSTED = -8,
  XC_EFAILED_PRECONDITION = -9,
  XC_EABORTED = -10,
  XC_EOUT_OF_RANGE = -11,
  XC_EUNIMPLEMENTED = -12,
  XC_EINTERNAL = -13,
  XC_EUNAVAILABLE = -14,
  XC_EDATA_LOSS = -15,
  XC_EUNAUTHENTICATED = -16
} xc_code;

/* The longest message an xc_err keeps; longer messages are cut. */
#define XC_ERR_MSG_MAX 512

/* An error: its code and a sentence a person can act on. */
typedef struct xc_err {
  int code;
  char msg[XC_ERR_MSG_MAX];
} xc_err;

/* Returns the gRPC status code (0..16) for an xc_code; unknown values give 2. */
int xc_code_to_grpc(int code);

/* Returns the xc_code for a gRPC status code; unknown values give XC_EUNKNOWN. */
int xc_code_from_grpc(int grpc_code);

/* Returns the gRPC name of a code ("NOT_FOUND"); a static string. */
const char *xc_code_name(int code);

/*
 * Fills err (if not NULL) with code and a printf-style message, and returns
 * code so callers can write `return xc_err_set(err, XC_ENOT_FOUND, ...)`.
 */
int xc_err_set(xc_err *err, int code, const char *fmt, ...) XC_PRINTF(3, 4);

/* Clears err to XC_OK with an empty message. */
void xc_err_clear(xc_err *err);

#endif /* XC_STATUS_H */
