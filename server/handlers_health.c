/*
 * grpc.health.v1.Health, as the gRPC health checking protocol specifies:
 * Check answers SERVING for "" and each service xunchad serves, NOT_FOUND
 * for any other name; Watch sends the current status, then holds the stream
 * open until the client leaves or the server shuts down (sending
 * NOT_SERVING first).
 */
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "handlers.h"
#include "xc_record.h"

int xc__health_known(const char *service) {
  static const char *const known[] = {"",
                                      "xuncha.v1.Targets",
                                      "xuncha.v1.Rounds",
                                      "xuncha.v1.Findings",
                                      "xuncha.v1.Leads",
                                      "xuncha.v1.Admin",
                                      "xuncha.v1.Archive",
                                      "xuncha.v1.Pool",
                                      "xuncha.v1.Terms",
                                      "xuncha.v1.Reports",
                                      "xuncha.v1.Import",
                                      "grpc.health.v1.Health",
                                      "grpc.reflection.v1.ServerReflection",
                                      "grpc.reflection.v1alpha.ServerReflection"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(service, known[i]) == 0) return 1;
  return 0;
}

/* Makes a HealthCheckResponse with `status` in *resp (the caller's). */
static int xc__health_reply(Grpc__Health__V1__HealthCheckResponse__ServingStatus status,
                            ProtobufCMessage **resp, xc_err *err) {
  Grpc__Health__V1__HealthCheckResponse *r = malloc(sizeof *r);
  if (r == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  grpc__health__v1__health_check_response__init(r);
  r->status = status;
  *resp = &r->base;
  return XC_OK;
}

XC__HANDLER(xc__health_check) {
  const Grpc__Health__V1__HealthCheckRequest *r = (const Grpc__Health__V1__HealthCheckRequest *)req;
  char q[96];
  (void)ctx;
  if (!xc__health_known(r->service))
    return xc_err_set(err, XC_ENOT_FOUND, "unknown service '%s'",
                      xc_record_quote(r->service, q, sizeof q));
  return xc__health_reply(GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING, resp,
                          err);
}

XC__HANDLER(xc__health_watch) {
  const Grpc__Health__V1__HealthCheckRequest *r = (const Grpc__Health__V1__HealthCheckRequest *)req;
  Grpc__Health__V1__HealthCheckResponse msg = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  int rc;
  *resp = NULL;
  if (ctx->call == NULL) return xc_err_set(err, XC_EUNIMPLEMENTED, "Watch needs a streaming call");
  /* The protocol keeps a watch of an unknown service open: it may appear. */
  msg.status = xc__health_known(r->service)
                   ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                   : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
  rc = xc_call_park(ctx->call, &msg.base, err);
  if (rc == XC_EUNAVAILABLE) {
    msg.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    /* The client may already be gone; then that is how the call ends. */
    rc = xc_call_send(ctx->call, &msg.base, err);
    if (rc != XC_OK) return rc;
    return xc_err_set(err, XC_EUNAVAILABLE, "xunchad is shutting down");
  }
  return rc;
}
