/*
 * xc_client.c: libxuncha, the blocking C client of xunchad over mutual TLS.
 *
 * Every RPC is one unary call made with the gRPC core C API: a registered
 * call on the client's channel, its own pluck completion queue, and one batch
 * of the six client ops. See client.h for the contract and ownership rules.
 */
#include "xuncha/client.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "xc_client_int.h"
#include "xc_limits.h"
#include "xc_text.h"

#ifndef XC_VERSION
#define XC_VERSION "0"
#endif

/* Deadline of a call made with timeout_ms 0 and no default in the options. */
#define XC__DEFAULT_TIMEOUT_MS 10000
/* Longest deadline accepted, a day: longer ones are almost surely a unit mistake. */
#define XC__MAX_TIMEOUT_MS (24LL * 3600 * 1000)
/* Largest PEM file read (a CA bundle with many certificates fits easily). */
#define XC__MAX_PEM_BYTES (1024 * 1024)
/* Longest "HOST:PORT" and server name accepted. */
#define XC__MAX_SERVER_BYTES 256
/* Longest method path, "/package.Service/Method". */
#define XC__MAX_METHOD_BYTES 128
/* Methods whose registered-call handle is cached; others use plain calls. */
#define XC__MAX_METHODS 32
/* How often a waiting call looks whether xc_client_cancel was called, ms. */
#define XC__CANCEL_POLL_MS 100
/* First and longest pause before reconnecting to a server that failed, ms. */
#define XC__RECONNECT_FIRST_MS 100
#define XC__RECONNECT_MAX_MS 1000

/* One cached registration: the path outlives the channel's use of it. */
typedef struct xc__method {
  char path[XC__MAX_METHOD_BYTES];
  void *handle;
} xc__method;

struct xc_client {
  grpc_channel *channel;
  char server[XC__MAX_SERVER_BYTES];
  int64_t default_timeout_ms;
  pthread_mutex_t lock; /* guards methods and n_methods */
  size_t n_methods;
  xc__method methods[XC__MAX_METHODS];
  atomic_int cancelled; /* set by xc_client_cancel, never cleared */
};

/*
 * gRPC is initialised once for every live client: the first create calls
 * grpc_init and the last destroy calls grpc_shutdown_blocking, so a process
 * that stops using the library leaves no gRPC threads or memory behind.
 */
static pthread_once_t xc__grpc_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t xc__grpc_lock;
static size_t xc__grpc_users;

static void xc__grpc_lock_init(void) {
  (void)pthread_mutex_init(&xc__grpc_lock, NULL);
}

static void xc__grpc_acquire(void) {
  (void)pthread_once(&xc__grpc_once, xc__grpc_lock_init);
  (void)pthread_mutex_lock(&xc__grpc_lock);
  if (xc__grpc_users++ == 0) grpc_init();
  (void)pthread_mutex_unlock(&xc__grpc_lock);
}

static void xc__grpc_release(void) {
  (void)pthread_mutex_lock(&xc__grpc_lock);
  if (--xc__grpc_users == 0) grpc_shutdown_blocking();
  (void)pthread_mutex_unlock(&xc__grpc_lock);
}

/*
 * Reads a whole PEM file into a new NUL-terminated buffer (*out, free with
 * xc__pem_free). `what` names the option in the error, so a person knows
 * which of the three files is wrong; the file must contain `want`, the end
 * of the PEM label it should hold.
 */
static int xc__read_pem(const char *path, const char *what, const char *want, char **out,
                        xc_err *err) {
  FILE *f = NULL;
  char *buf = NULL;
  size_t len = 0;
  int rc = XC_OK;
  *out = NULL;
  if (path == NULL || path[0] == '\0') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "no %s was given", what);
    goto done;
  }
  f = fopen(path, "rb");
  if (f == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read the %s %s: %s", what, path,
                    strerror(errno));
    goto done;
  }
  buf = malloc(XC__MAX_PEM_BYTES + 1);
  if (buf == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory reading the %s %s", what, path);
    goto done;
  }
  /* Read one byte past the limit so an oversized file is detected, not cut. */
  len = fread(buf, 1, XC__MAX_PEM_BYTES + 1, f);
  if (ferror(f)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read the %s %s: %s", what, path,
                    strerror(errno));
    goto done;
  }
  if (len > XC__MAX_PEM_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the %s %s is larger than %d bytes", what, path,
                    XC__MAX_PEM_BYTES);
    goto done;
  }
  buf[len] = '\0';
  if (len == 0 || memchr(buf, '\0', len) != NULL || strstr(buf, "-----BEGIN") == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the %s %s is not a PEM file", what, path);
    goto done;
  }
  /* A key given as the certificate (or the reverse) would only fail inside
     the TLS handshake, where the caller sees nothing but a timeout. */
  if (strstr(buf, want) == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the %s %s holds no %s", what, path,
                    strcmp(want, "PRIVATE KEY-----") == 0 ? "private key" : "certificate");
    goto done;
  }
  *out = buf;
  buf = NULL;
done:
  if (buf != NULL) {
    /* buf holds len bytes and a NUL, or the whole buffer when len is over. */
    explicit_bzero(buf, len <= XC__MAX_PEM_BYTES ? len + 1 : XC__MAX_PEM_BYTES + 1);
    free(buf);
  }
  if (f != NULL) (void)fclose(f);
  return rc;
}

/* Wipes and frees a PEM buffer: the private key must not linger in the heap. */
static void xc__pem_free(char *pem) {
  if (pem != NULL) {
    explicit_bzero(pem, strlen(pem));
    free(pem);
  }
}

/* Fills *a with the integer channel argument key = value. */
static void xc__arg_int(grpc_arg *a, const char *key, int value) {
  a->type = GRPC_ARG_INTEGER;
  a->key = (char *)key;
  a->value.integer = value;
}

/* Fills *a with the string channel argument key = value (gRPC copies it when
 * the channel is created; until then value must stay). */
static void xc__arg_str(grpc_arg *a, const char *key, const char *value) {
  a->type = GRPC_ARG_STRING;
  a->key = (char *)key;
  a->value.string = (char *)value;
}

int xc_client_create(const xc_client_options *opt, xc_client **out, xc_err *err) {
  xc_client *c = NULL;
  char *ca = NULL, *cert = NULL, *key = NULL;
  grpc_channel_credentials *creds = NULL;
  int grpc_held = 0;
  int rc = XC_OK;

  if (out == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "out must not be NULL");
  *out = NULL;
  if (opt == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "options must not be NULL");
  if (opt->server == NULL || opt->server[0] == '\0') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "no server address was given (HOST:PORT)");
    goto done;
  }
  if (strlen(opt->server) >= XC__MAX_SERVER_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the server address is longer than %d bytes",
                    XC__MAX_SERVER_BYTES - 1);
    goto done;
  }
  if (opt->server_name_override != NULL &&
      strlen(opt->server_name_override) >= XC__MAX_SERVER_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the server name override is longer than %d bytes",
                    XC__MAX_SERVER_BYTES - 1);
    goto done;
  }
  if (opt->default_timeout_ms < 0 || opt->default_timeout_ms > XC__MAX_TIMEOUT_MS) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "default_timeout_ms is %lld; it must be 0..%lld milliseconds",
                    (long long)opt->default_timeout_ms, (long long)XC__MAX_TIMEOUT_MS);
    goto done;
  }
  rc = xc__read_pem(opt->ca_file, "CA file", "CERTIFICATE-----", &ca, err);
  if (rc != XC_OK) goto done;
  rc = xc__read_pem(opt->cert_file, "certificate file", "CERTIFICATE-----", &cert, err);
  if (rc != XC_OK) goto done;
  rc = xc__read_pem(opt->key_file, "key file", "PRIVATE KEY-----", &key, err);
  if (rc != XC_OK) goto done;

  c = calloc(1, sizeof *c);
  if (c == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory creating the client");
    goto done;
  }
  atomic_init(&c->cancelled, 0);
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    c = NULL;
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the client's lock");
    goto done;
  }
  (void)xc_strlcpy(c->server, opt->server, sizeof c->server);
  c->default_timeout_ms =
      opt->default_timeout_ms > 0 ? opt->default_timeout_ms : XC__DEFAULT_TIMEOUT_MS;

  xc__grpc_acquire();
  grpc_held = 1;
  {
    /* Passing the private CA is essential: with NULL, gRPC would trust the
       system bundle named by GRPC_DEFAULT_SSL_ROOTS_FILE_PATH instead. */
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    grpc_arg args[6];
    grpc_channel_args chargs;
    size_t n = 0;
    creds = grpc_ssl_credentials_create(ca, &pair, NULL, NULL);
    if (creds == NULL) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "gRPC refused the CA, certificate or key file (%s, %s, %s)", opt->ca_file,
                      opt->cert_file, opt->key_file);
      goto done;
    }
    xc__arg_int(&args[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, XC_MAX_MESSAGE_BYTES);
    xc__arg_int(&args[n++], GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, XC_MAX_MESSAGE_BYTES);
    xc__arg_str(&args[n++], GRPC_ARG_PRIMARY_USER_AGENT_STRING, "libxuncha/" XC_VERSION);
    /* gRPC's reconnect backoff grows to two minutes by default, and it is
       kept per subchannel, which channels with the same args share: a
       client created afresh after a failure would inherit it, so a server
       that restarts (or a link that comes back) would stay "unreachable"
       for up to two minutes. One second at most keeps reconnecting cheap
       and recovery prompt (federation retries its upstream this way). */
    xc__arg_int(&args[n++], GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, XC__RECONNECT_FIRST_MS);
    xc__arg_int(&args[n++], GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, XC__RECONNECT_MAX_MS);
    if (opt->server_name_override != NULL && opt->server_name_override[0] != '\0') {
      xc__arg_str(&args[n++], GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, opt->server_name_override);
    }
    chargs.num_args = n;
    chargs.args = args;
    /* The channel copies its args and takes its own reference to creds. */
    c->channel = grpc_channel_create(c->server, creds, &chargs);
    if (c->channel == NULL) {
      rc = xc_err_set(err, XC_EINTERNAL, "gRPC could not create a channel to %s", c->server);
      goto done;
    }
  }
  *out = c;
  c = NULL;
  xc_err_clear(err);
done:
  if (creds != NULL) grpc_channel_credentials_release(creds);
  if (c != NULL) {
    if (c->channel != NULL) grpc_channel_destroy(c->channel);
    (void)pthread_mutex_destroy(&c->lock);
    free(c);
  }
  if (rc != XC_OK && grpc_held) xc__grpc_release();
  xc__pem_free(ca);
  xc__pem_free(cert);
  xc__pem_free(key);
  return rc;
}

void xc_client_cancel(xc_client *c) {
  if (c != NULL) atomic_store(&c->cancelled, 1);
}

/* XC_ECANCELLED with its message when c was cancelled, else XC_OK. */
static int xc__cancelled(xc_client *c, xc_err *err) {
  if (!atomic_load(&c->cancelled)) return XC_OK;
  return xc_err_set(err, XC_ECANCELLED, "the call to %s was cancelled: the client is closing",
                    c->server);
}

/* The earlier of deadline and XC__CANCEL_POLL_MS from now. */
static gpr_timespec xc__poll_until(gpr_timespec deadline) {
  gpr_timespec soon = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                   gpr_time_from_millis(XC__CANCEL_POLL_MS, GPR_TIMESPAN));
  return gpr_time_cmp(soon, deadline) < 0 ? soon : deadline;
}

void xc_client_destroy(xc_client *c) {
  if (c == NULL) return;
  /* The channel uses the cached method paths until it is gone. */
  grpc_channel_destroy(c->channel);
  (void)pthread_mutex_destroy(&c->lock);
  free(c);
  xc__grpc_release();
}

void xc_message_free(void *msg) {
  if (msg != NULL) protobuf_c_message_free_unpacked((ProtobufCMessage *)msg, NULL);
}

/*
 * Returns the registered-call handle for method, registering it on first
 * use, or NULL when the cache is full (the caller then makes a plain call).
 */
static void *xc__method_handle(xc_client *c, const char *method) {
  void *handle = NULL;
  (void)pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n_methods; i++) {
    if (strcmp(c->methods[i].path, method) == 0) {
      handle = c->methods[i].handle;
      goto done;
    }
  }
  if (c->n_methods < XC__MAX_METHODS) {
    xc__method *m = &c->methods[c->n_methods];
    (void)xc_strlcpy(m->path, method, sizeof m->path);
    /* gRPC keeps the pointer, not a copy: m->path lives as long as c. */
    m->handle = grpc_channel_register_call(c->channel, m->path, NULL, NULL);
    if (m->handle != NULL) {
      c->n_methods++;
      handle = m->handle;
    }
  }
done:
  (void)pthread_mutex_unlock(&c->lock);
  return handle;
}

/* Copies a status-details slice into a bounded C string. */
static void xc__slice_to_str(grpc_slice s, char *out, size_t out_size) {
  const unsigned char *p = GRPC_SLICE_START_PTR(s);
  size_t len = GRPC_SLICE_LENGTH(s);
  size_t n = len < out_size - 1 ? len : out_size - 1;
  /* A cut must not leave half a UTF-8 character at the end. */
  if (n < len)
    while (n > 0 && (p[n] & 0xC0) == 0x80) n--;
  memcpy(out, p, n);
  out[n] = '\0';
}

/* Returns the message name for errors ("Target" of xuncha.v1.Target). */
/*
 * Waits until the channel is READY, starting a connection if it is idle.
 * Returns XC_OK when ready; XC_EUNAVAILABLE as soon as a connection attempt
 * fails (TRANSIENT_FAILURE: refused, TLS rejected, unreachable), so a dead
 * server is reported at once instead of at the deadline; or
 * XC_EDEADLINE_EXCEEDED when the deadline passes while still connecting.
 * cq is the caller's pluck queue; every watch started here has completed
 * before this returns.
 */
static int xc__wait_ready(xc_client *c, grpc_completion_queue *cq, gpr_timespec deadline,
                          xc_err *err) {
  grpc_connectivity_state st = grpc_channel_check_connectivity_state(c->channel, 1);
  while (st != GRPC_CHANNEL_READY) {
    grpc_event ev;
    int rc;
    if (st == GRPC_CHANNEL_TRANSIENT_FAILURE || st == GRPC_CHANNEL_SHUTDOWN)
      return xc_err_set(err, XC_EUNAVAILABLE,
                        "cannot reach %s over TLS: check the address, that xunchad runs, and "
                        "that your certificate is signed by the server's CA (connection failed)",
                        c->server);
    rc = xc__cancelled(c, err);
    if (rc != XC_OK) return rc;
    /* Watch in short steps, so xc_client_cancel is seen while a
       connection hangs (a silent peer, a stalled link). */
    grpc_channel_watch_connectivity_state(c->channel, st, xc__poll_until(deadline), cq,
                                          (void *)&st);
    /* The watch always completes: on a state change (success) or when its
       step ends (failure). */
    ev = grpc_completion_queue_pluck(cq, (void *)&st, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE ||
        (!ev.success && gpr_time_cmp(gpr_now(GPR_CLOCK_MONOTONIC), deadline) >= 0))
      return xc_err_set(err, XC_EDEADLINE_EXCEEDED,
                        "cannot reach %s over TLS within the deadline: check the address, that "
                        "xunchad runs, and that your certificate is signed by the server's CA",
                        c->server);
    /* try_to_connect again: a connection that came up and dropped between
       two looks leaves the channel IDLE, and an IDLE channel nobody asks
       to connect stays IDLE until the deadline. */
    st = grpc_channel_check_connectivity_state(c->channel, 1);
  }
  return XC_OK;
}

/*
 * Starts a call of `method` on c for a streaming transfer (xc_client_int.h):
 * waits for the channel and creates the call on cq with the deadline.
 */
int xc__client_start_call(xc_client *c, const char *method, grpc_completion_queue *cq,
                          gpr_timespec deadline, grpc_call **out, xc_err *err) {
  int rc = xc__wait_ready(c, cq, deadline, err);
  grpc_slice m;
  *out = NULL;
  if (rc != XC_OK) return rc;
  m = grpc_slice_from_copied_string(method);
  *out = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                  deadline, NULL);
  grpc_slice_unref(m);
  if (*out == NULL)
    return xc_err_set(err, XC_EINTERNAL, "gRPC could not create a call to %s", method);
  return XC_OK;
}

/* The server name, for messages (xc_client_int.h). */
const char *xc__client_server(const xc_client *c) { return c->server; }

static const char *xc__type_name(const ProtobufCMessageDescriptor *d) {
  return d->short_name != NULL ? d->short_name : d->name;
}

int xc_client_call(xc_client *c, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **out,
                   int64_t timeout_ms, xc_err *err) {
  grpc_completion_queue *cq = NULL;
  grpc_call *call = NULL;
  grpc_byte_buffer *send_buf = NULL;
  grpc_byte_buffer *recv_buf = NULL;
  grpc_metadata_array initial_md, trailing_md;
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();
  const char *error_string = NULL;
  int rc = XC_OK;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&trailing_md);

  if (out != NULL) *out = NULL;
  if (c == NULL || method == NULL || req == NULL || resp_desc == NULL || out == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "client, method, request, reply type and out are all required");
    goto done;
  }
  if (method[0] != '/' || strlen(method) >= XC__MAX_METHOD_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the method must be a path \"/package.Service/Method\" shorter than %d "
                    "bytes",
                    XC__MAX_METHOD_BYTES);
    goto done;
  }
  if (timeout_ms < 0 || timeout_ms > XC__MAX_TIMEOUT_MS) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the timeout is %lld ms; it must be 0 (the default) up to %lld ms",
                    (long long)timeout_ms, (long long)XC__MAX_TIMEOUT_MS);
    goto done;
  }
  if (timeout_ms == 0) timeout_ms = c->default_timeout_ms;
  rc = xc__cancelled(c, err);
  if (rc != XC_OK) goto done;

  {
    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice s;
    if (len > XC_MAX_MESSAGE_BYTES) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                      "the request is %zu bytes; the limit is %d bytes", len, XC_MAX_MESSAGE_BYTES);
      goto done;
    }
    s = grpc_slice_malloc(len);
    (void)protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(s));
    send_buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s); /* the byte buffer holds its own reference */
  }

  cq = grpc_completion_queue_create_for_pluck(NULL);
  {
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    void *handle;
    rc = xc__wait_ready(c, cq, deadline, err);
    if (rc != XC_OK) goto done;
    handle = xc__method_handle(c, method);
    if (handle != NULL) {
      call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                 handle, deadline, NULL);
    } else {
      grpc_slice m = grpc_slice_from_copied_string(method);
      call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                      deadline, NULL);
      grpc_slice_unref(m);
    }
  }
  if (call == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "gRPC could not create a call to %s", method);
    goto done;
  }

  {
    grpc_op ops[6];
    grpc_call_error ce;
    grpc_event ev;
    memset(ops, 0, sizeof ops);
    /* The channel is READY (xc__wait_ready above), so the call needs no
       WAIT_FOR_READY: if the connection drops now it fails fast with
       UNAVAILABLE, which the caller may retry. */
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].flags = 0;
    ops[0].data.send_initial_metadata.count = 0;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send_buf;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv_buf;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;
    ce = grpc_call_start_batch(call, ops, 6, (void *)c, NULL);
    if (ce != GRPC_CALL_OK) {
      /* Nothing was queued, so there is no tag to wait for. */
      rc = xc_err_set(err, XC_EINTERNAL, "gRPC refused to start the call to %s (error %d)", method,
                      (int)ce);
      goto done;
    }
    /* The call's deadline ends the batch; the wait looks every
       XC__CANCEL_POLL_MS whether the client was cancelled, and then
       cancels the call, which ends the batch at once. */
    for (int asked = 0;;) {
      ev = grpc_completion_queue_pluck(cq, (void *)c, xc__poll_until(gpr_inf_future(
                                                          GPR_CLOCK_MONOTONIC)),
                                       NULL);
      if (ev.type != GRPC_QUEUE_TIMEOUT) break;
      if (!asked && atomic_load(&c->cancelled)) {
        (void)grpc_call_cancel(call, NULL);
        asked = 1;
      }
    }
    if (ev.type != GRPC_OP_COMPLETE) {
      rc = xc_err_set(err, XC_EINTERNAL, "the call to %s ended without completing", method);
      goto done;
    }
  }

  if (status != GRPC_STATUS_OK) {
    char msg[XC_ERR_MSG_MAX];
    int code = xc_code_from_grpc((int)status);
    xc__slice_to_str(details, msg, sizeof msg);
    if (code == XC_ECANCELLED && atomic_load(&c->cancelled)) {
      rc = xc__cancelled(c, err);
    } else if (code == XC_EUNAVAILABLE ||
        (code == XC_EDEADLINE_EXCEEDED &&
         grpc_channel_check_connectivity_state(c->channel, 0) != GRPC_CHANNEL_READY)) {
      /* The transport gives no reason a person can act on (a TLS rejection
         looks like "Socket closed"), so say what to check. */
      rc = xc_err_set(err, code,
                      "cannot reach %s over TLS: check the address, that xunchad runs, and "
                      "that your certificate is signed by the server's CA (%s)",
                      c->server, msg[0] != '\0' ? msg : xc_code_name(code));
    } else {
      rc = xc_err_set(err, code, "%s", msg[0] != '\0' ? msg : xc_code_name(code));
    }
    goto done;
  }
  if (recv_buf == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "the server sent no %s in its reply to %s",
                    xc__type_name(resp_desc), method);
    goto done;
  }
  {
    grpc_byte_buffer_reader reader;
    grpc_slice all;
    ProtobufCMessage *msg;
    if (!grpc_byte_buffer_reader_init(&reader, recv_buf)) {
      rc = xc_err_set(err, XC_EINTERNAL, "the server's reply is not a valid %s",
                      xc__type_name(resp_desc));
      goto done;
    }
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    msg = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all),
                                    GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    if (msg == NULL) {
      rc = xc_err_set(err, XC_EINTERNAL, "the server's reply is not a valid %s",
                      xc__type_name(resp_desc));
      goto done;
    }
    *out = msg;
  }
  xc_err_clear(err);

done:
  if (recv_buf != NULL) grpc_byte_buffer_destroy(recv_buf);
  if (send_buf != NULL) grpc_byte_buffer_destroy(send_buf);
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&trailing_md);
  grpc_slice_unref(details);
  if (error_string != NULL) gpr_free((void *)error_string);
  if (call != NULL) grpc_call_unref(call);
  if (cq != NULL) {
    grpc_event ev;
    grpc_completion_queue_shutdown(cq);
    /* A pluck queue reports its shutdown to a pluck once every event is gone. */
    ev = grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    (void)ev;
    grpc_completion_queue_destroy(cq);
  }
  return rc;
}

XC__RPC(xc_health_check, "/grpc.health.v1.Health/Check", Grpc__Health__V1__HealthCheckRequest,
        Grpc__Health__V1__HealthCheckResponse, grpc__health__v1__health_check_response__descriptor)

XC__RPC(xc_create_target, "/xuncha.v1.Targets/CreateTarget", Xuncha__V1__CreateTargetRequest,
        Xuncha__V1__Target, xuncha__v1__target__descriptor)
XC__RPC(xc_get_target, "/xuncha.v1.Targets/GetTarget", Xuncha__V1__GetTargetRequest,
        Xuncha__V1__Target, xuncha__v1__target__descriptor)
XC__RPC(xc_list_targets, "/xuncha.v1.Targets/ListTargets", Xuncha__V1__ListTargetsRequest,
        Xuncha__V1__ListTargetsResponse, xuncha__v1__list_targets_response__descriptor)
XC__RPC(xc_update_target, "/xuncha.v1.Targets/UpdateTarget", Xuncha__V1__UpdateTargetRequest,
        Xuncha__V1__Target, xuncha__v1__target__descriptor)

XC__RPC(xc_create_round, "/xuncha.v1.Rounds/CreateRound", Xuncha__V1__CreateRoundRequest,
        Xuncha__V1__Round, xuncha__v1__round__descriptor)
XC__RPC(xc_get_round, "/xuncha.v1.Rounds/GetRound", Xuncha__V1__GetRoundRequest, Xuncha__V1__Round,
        xuncha__v1__round__descriptor)
XC__RPC(xc_list_rounds, "/xuncha.v1.Rounds/ListRounds", Xuncha__V1__ListRoundsRequest,
        Xuncha__V1__ListRoundsResponse, xuncha__v1__list_rounds_response__descriptor)
XC__RPC(xc_update_round, "/xuncha.v1.Rounds/UpdateRound", Xuncha__V1__UpdateRoundRequest,
        Xuncha__V1__Round, xuncha__v1__round__descriptor)
XC__RPC(xc_create_group, "/xuncha.v1.Rounds/CreateGroup", Xuncha__V1__CreateGroupRequest,
        Xuncha__V1__Group, xuncha__v1__group__descriptor)
XC__RPC(xc_get_group, "/xuncha.v1.Rounds/GetGroup", Xuncha__V1__GetGroupRequest, Xuncha__V1__Group,
        xuncha__v1__group__descriptor)
XC__RPC(xc_list_groups, "/xuncha.v1.Rounds/ListGroups", Xuncha__V1__ListGroupsRequest,
        Xuncha__V1__ListGroupsResponse, xuncha__v1__list_groups_response__descriptor)
XC__RPC(xc_update_group, "/xuncha.v1.Rounds/UpdateGroup", Xuncha__V1__UpdateGroupRequest,
        Xuncha__V1__Group, xuncha__v1__group__descriptor)

XC__RPC(xc_create_finding, "/xuncha.v1.Findings/CreateFinding", Xuncha__V1__CreateFindingRequest,
        Xuncha__V1__Finding, xuncha__v1__finding__descriptor)
XC__RPC(xc_get_finding, "/xuncha.v1.Findings/GetFinding", Xuncha__V1__GetFindingRequest,
        Xuncha__V1__Finding, xuncha__v1__finding__descriptor)
XC__RPC(xc_list_findings, "/xuncha.v1.Findings/ListFindings", Xuncha__V1__ListFindingsRequest,
        Xuncha__V1__ListFindingsResponse, xuncha__v1__list_findings_response__descriptor)
XC__RPC(xc_update_finding, "/xuncha.v1.Findings/UpdateFinding", Xuncha__V1__UpdateFindingRequest,
        Xuncha__V1__Finding, xuncha__v1__finding__descriptor)

XC__RPC(xc_create_lead, "/xuncha.v1.Leads/CreateLead", Xuncha__V1__CreateLeadRequest,
        Xuncha__V1__Lead, xuncha__v1__lead__descriptor)
XC__RPC(xc_get_lead, "/xuncha.v1.Leads/GetLead", Xuncha__V1__GetLeadRequest, Xuncha__V1__Lead,
        xuncha__v1__lead__descriptor)
XC__RPC(xc_list_leads, "/xuncha.v1.Leads/ListLeads", Xuncha__V1__ListLeadsRequest,
        Xuncha__V1__ListLeadsResponse, xuncha__v1__list_leads_response__descriptor)
XC__RPC(xc_update_lead, "/xuncha.v1.Leads/UpdateLead", Xuncha__V1__UpdateLeadRequest,
        Xuncha__V1__Lead, xuncha__v1__lead__descriptor)

/* Workflows (server/WORKFLOWS.md). */
XC__RPC(xc_create_directory_entry, "/xuncha.v1.Directory/CreateDirectoryEntry",
        Xuncha__V1__CreateDirectoryEntryRequest, Xuncha__V1__DirectoryEntry,
        xuncha__v1__directory_entry__descriptor)
XC__RPC(xc_get_directory_entry, "/xuncha.v1.Directory/GetDirectoryEntry",
        Xuncha__V1__GetDirectoryEntryRequest, Xuncha__V1__DirectoryEntry,
        xuncha__v1__directory_entry__descriptor)
XC__RPC(xc_list_directory_entries, "/xuncha.v1.Directory/ListDirectoryEntries",
        Xuncha__V1__ListDirectoryEntriesRequest, Xuncha__V1__ListDirectoryEntriesResponse,
        xuncha__v1__list_directory_entries_response__descriptor)
XC__RPC(xc_update_directory_entry, "/xuncha.v1.Directory/UpdateDirectoryEntry",
        Xuncha__V1__UpdateDirectoryEntryRequest, Xuncha__V1__DirectoryEntry,
        xuncha__v1__directory_entry__descriptor)
XC__RPC(xc_advance_round, "/xuncha.v1.Rounds/AdvanceRound", Xuncha__V1__AdvanceRoundRequest,
        Xuncha__V1__Round, xuncha__v1__round__descriptor)
XC__RPC(xc_append_progress, "/xuncha.v1.Findings/AppendProgress",
        Xuncha__V1__AppendProgressRequest, Xuncha__V1__AppendProgressResponse,
        xuncha__v1__append_progress_response__descriptor)
XC__RPC(xc_list_progress, "/xuncha.v1.Findings/ListProgress", Xuncha__V1__ListProgressRequest,
        Xuncha__V1__ListProgressResponse, xuncha__v1__list_progress_response__descriptor)
XC__RPC(xc_verify_rectification, "/xuncha.v1.Findings/VerifyRectification",
        Xuncha__V1__VerifyRectificationRequest, Xuncha__V1__VerificationResponse,
        xuncha__v1__verification_response__descriptor)
XC__RPC(xc_revoke_verification, "/xuncha.v1.Findings/RevokeVerification",
        Xuncha__V1__RevokeVerificationRequest, Xuncha__V1__VerificationResponse,
        xuncha__v1__verification_response__descriptor)
XC__RPC(xc_list_verifications, "/xuncha.v1.Findings/ListVerifications",
        Xuncha__V1__ListVerificationsRequest, Xuncha__V1__ListVerificationsResponse,
        xuncha__v1__list_verifications_response__descriptor)
XC__RPC(xc_get_rectification_stats, "/xuncha.v1.Findings/GetRectificationStats",
        Xuncha__V1__RectificationStatsRequest, Xuncha__V1__RectificationStats,
        xuncha__v1__rectification_stats__descriptor)
XC__RPC(xc_record_disposition, "/xuncha.v1.Leads/RecordDisposition",
        Xuncha__V1__RecordDispositionRequest, Xuncha__V1__RecordDispositionResponse,
        xuncha__v1__record_disposition_response__descriptor)
XC__RPC(xc_list_dispositions, "/xuncha.v1.Leads/ListDispositions",
        Xuncha__V1__ListDispositionsRequest, Xuncha__V1__ListDispositionsResponse,
        xuncha__v1__list_dispositions_response__descriptor)
XC__RPC(xc_void_record, "/xuncha.v1.Records/VoidRecord", Xuncha__V1__VoidRecordRequest,
        Xuncha__V1__VoidRecordResponse, xuncha__v1__void_record_response__descriptor)

/* Archive and pool (server/ARCHIVE.md); the streaming calls are in
 * xc_client_archive.c. */
XC__RPC(xc_get_document, "/xuncha.v1.Archive/GetDocument", Xuncha__V1__GetDocumentRequest,
        Xuncha__V1__Document, xuncha__v1__document__descriptor)
XC__RPC(xc_list_documents, "/xuncha.v1.Archive/ListDocuments", Xuncha__V1__ListDocumentsRequest,
        Xuncha__V1__ListDocumentsResponse, xuncha__v1__list_documents_response__descriptor)
XC__RPC(xc_update_document, "/xuncha.v1.Archive/UpdateDocument",
        Xuncha__V1__UpdateDocumentRequest, Xuncha__V1__Document, xuncha__v1__document__descriptor)
XC__RPC(xc_create_inspector, "/xuncha.v1.Pool/CreateInspector", Xuncha__V1__CreateInspectorRequest,
        Xuncha__V1__Inspector, xuncha__v1__inspector__descriptor)
XC__RPC(xc_get_inspector, "/xuncha.v1.Pool/GetInspector", Xuncha__V1__GetInspectorRequest,
        Xuncha__V1__Inspector, xuncha__v1__inspector__descriptor)
XC__RPC(xc_list_inspectors, "/xuncha.v1.Pool/ListInspectors", Xuncha__V1__ListInspectorsRequest,
        Xuncha__V1__ListInspectorsResponse, xuncha__v1__list_inspectors_response__descriptor)
XC__RPC(xc_update_inspector, "/xuncha.v1.Pool/UpdateInspector", Xuncha__V1__UpdateInspectorRequest,
        Xuncha__V1__Inspector, xuncha__v1__inspector__descriptor)
XC__RPC(xc_suggest_inspectors, "/xuncha.v1.Pool/SuggestInspectors",
        Xuncha__V1__SuggestInspectorsRequest, Xuncha__V1__SuggestInspectorsResponse,
        xuncha__v1__suggest_inspectors_response__descriptor)
XC__RPC(xc_get_workload, "/xuncha.v1.Pool/GetWorkload", Xuncha__V1__WorkloadRequest,
        Xuncha__V1__WorkloadResponse, xuncha__v1__workload_response__descriptor)
