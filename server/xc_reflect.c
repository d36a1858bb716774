/*
 * xc_reflect.c: gRPC server reflection (grpc.reflection.v1 and v1alpha,
 * whose messages are the same on the wire) over the embedded descriptor set.
 */
#include "xc_reflect.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "handlers.h"
#include "xc_msg.h"
#include "xc_record.h"

/* Longest fully qualified name looked up or built. */
#define XC__NAME_MAX 512
/* Deepest nesting of messages walked. */
#define XC__MAX_DEPTH 32
/* Most services one list_services answer names. */
#define XC__MAX_SERVICES 64
/* Most reflection streams open at once (each holds a worker). */
#define XC__MAX_STREAMS 2

static atomic_int xc__open_streams;

/* ------------------------------------------------------- protobuf wire */

/* A span of protobuf wire data being read. */
typedef struct xc__pb {
  const uint8_t *p, *end;
} xc__pb;

/* Reads a base-128 varint (at most 10 bytes). Returns 0, or -1 if cut short. */
static int xc__varint(xc__pb *r, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (r->p >= r->end) return -1;
    b = *r->p++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/*
 * Reads the next field of r: its number in *num and, for length-delimited
 * fields, its bytes in *sub (other wire types are skipped and *sub is
 * empty). Returns 1 for a field, 0 at the end, -1 for malformed data.
 */
static int xc__field(xc__pb *r, uint32_t *num, xc__pb *sub) {
  uint64_t key, v;
  sub->p = sub->end = NULL;
  if (r->p >= r->end) return 0;
  if (xc__varint(r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) return -1;
  *num = (uint32_t)(key >> 3);
  switch (key & 7) {
    case 0:
      return xc__varint(r, &v) == 0 ? 1 : -1;
    case 1:
      if (r->end - r->p < 8) return -1;
      r->p += 8;
      return 1;
    case 2:
      if (xc__varint(r, &v) != 0 || v > (uint64_t)(r->end - r->p)) return -1;
      sub->p = r->p;
      sub->end = r->p + v;
      r->p += v;
      return 1;
    case 5:
      if (r->end - r->p < 4) return -1;
      r->p += 4;
      return 1;
    default:
      return -1; /* groups do not occur in descriptors protoc writes */
  }
}

/* Reads string field `want` of message m into out (NUL-terminated, cut to
 * size); "" when absent. */
static int xc__string(xc__pb m, uint32_t want, char *out, size_t size) {
  uint32_t num;
  xc__pb sub;
  int rc;
  out[0] = '\0';
  while ((rc = xc__field(&m, &num, &sub)) == 1) {
    if (num == want && sub.p != NULL) {
      size_t n = (size_t)(sub.end - sub.p);
      if (n >= size) return -1;
      memcpy(out, sub.p, n);
      out[n] = '\0';
    }
  }
  return rc;
}

/* Joins prefix and name with a dot (no dot after an empty prefix). */
static int xc__join(char *out, size_t size, const char *prefix, const char *name) {
  int n = prefix[0] != '\0' ? snprintf(out, size, "%s.%s", prefix, name)
                            : snprintf(out, size, "%s", name);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ------------------------------------------------------------- symbols */

/*
 * Looks for `symbol` in a DescriptorProto (message) or EnumDescriptorProto
 * (is_enum) whose parent scope is `scope`. Returns 1 found, 0 not, -1 bad.
 */
static int xc__in_type(xc__pb m, const char *scope, const char *symbol, int is_enum, int depth) {
  char name[XC__NAME_MAX / 2], full[XC__NAME_MAX];
  uint32_t num;
  xc__pb sub;
  int rc;
  if (depth > XC__MAX_DEPTH) return -1;
  if (xc__string(m, 1, name, sizeof name) != 0 || xc__join(full, sizeof full, scope, name) != 0)
    return -1;
  if (strcmp(full, symbol) == 0) return 1;
  if (is_enum) return 0;
  /* A nested name starts with this one and a dot. */
  if (strncmp(symbol, full, strlen(full)) != 0 || symbol[strlen(full)] != '.') return 0;
  while ((rc = xc__field(&m, &num, &sub)) == 1) {
    int found = 0;
    if (num == 3 && sub.p != NULL) found = xc__in_type(sub, full, symbol, 0, depth + 1);
    if (num == 4 && sub.p != NULL) found = xc__in_type(sub, full, symbol, 1, depth + 1);
    if (found != 0) return found;
  }
  return rc;
}

/* Looks for a service or one of its methods. */
static int xc__in_service(xc__pb s, const char *scope, const char *symbol) {
  char name[XC__NAME_MAX / 2], full[XC__NAME_MAX], method[XC__NAME_MAX / 2],
      mfull[XC__NAME_MAX];
  uint32_t num;
  xc__pb sub;
  int rc;
  if (xc__string(s, 1, name, sizeof name) != 0 || xc__join(full, sizeof full, scope, name) != 0)
    return -1;
  if (strcmp(full, symbol) == 0) return 1;
  while ((rc = xc__field(&s, &num, &sub)) == 1) {
    if (num != 2 || sub.p == NULL) continue;
    if (xc__string(sub, 1, method, sizeof method) != 0 ||
        xc__join(mfull, sizeof mfull, full, method) != 0)
      return -1;
    if (strcmp(mfull, symbol) == 0) return 1;
  }
  return rc;
}

/* Returns 1 if the FileDescriptorProto f defines symbol, 0 if not, -1 bad. */
static int xc__file_defines(xc__pb f, const char *symbol) {
  char pkg[XC__NAME_MAX / 2];
  uint32_t num;
  xc__pb sub;
  int rc;
  if (xc__string(f, 2, pkg, sizeof pkg) != 0) return -1;
  while ((rc = xc__field(&f, &num, &sub)) == 1) {
    int found = 0;
    if (sub.p == NULL) continue;
    if (num == 4) found = xc__in_type(sub, pkg, symbol, 0, 0);
    if (num == 5) found = xc__in_type(sub, pkg, symbol, 1, 0);
    if (num == 6) found = xc__in_service(sub, pkg, symbol);
    if (found != 0) return found;
  }
  return rc;
}

/* ---------------------------------------------------------- file lookup */

/* The whole embedded FileDescriptorSet. */
static xc__pb xc__set(void) {
  xc__pb s = {xc_descriptor_set, xc_descriptor_set + xc_descriptor_set_len};
  return s;
}

/* Finds the file named name (NULL: by symbol instead). 1 found, 0 not, -1 bad. */
static int xc__find_file(const char *name, const char *symbol, xc__pb *out) {
  xc__pb set = xc__set(), f;
  uint32_t num;
  int rc;
  char fname[XC__NAME_MAX];
  while ((rc = xc__field(&set, &num, &f)) == 1) {
    int hit;
    if (num != 1 || f.p == NULL) continue;
    if (name != NULL) {
      if (xc__string(f, 1, fname, sizeof fname) != 0) return -1;
      hit = strcmp(fname, name) == 0;
    } else {
      hit = xc__file_defines(f, symbol);
      if (hit < 0) return -1;
    }
    if (hit) {
      *out = f;
      return 1;
    }
  }
  return rc;
}

int xc_reflect_find(const char *filename, const char *symbol,
                    xc_reflect_file out[XC_REFLECT_MAX_FILES], xc_err *err) {
  xc__pb f;
  size_t n = 0;
  char q[96];
  int rc = xc__find_file(filename, filename != NULL ? NULL : symbol, &f);
  if (rc < 0) return xc_err_set(err, XC_EINTERNAL, "the embedded descriptor set does not parse");
  if (rc == 0)
    return xc_err_set(err, XC_ENOT_FOUND, "no %s %s", filename != NULL ? "file" : "symbol",
                      xc_record_quote(filename != NULL ? filename : symbol, q, sizeof q));
  out[n].data = f.p;
  out[n].len = (size_t)(f.end - f.p);
  n++;
  /* Breadth first over the imports (field 3), each file once. */
  for (size_t i = 0; i < n; i++) {
    xc__pb cur = {out[i].data, out[i].data + out[i].len}, dep;
    uint32_t num;
    while ((rc = xc__field(&cur, &num, &dep)) == 1) {
      char dname[XC__NAME_MAX];
      xc__pb df;
      size_t k;
      if (num != 3 || dep.p == NULL) continue;
      if ((size_t)(dep.end - dep.p) >= sizeof dname) return xc_err_set(err, XC_EINTERNAL, "long import");
      memcpy(dname, dep.p, (size_t)(dep.end - dep.p));
      dname[dep.end - dep.p] = '\0';
      if (xc__find_file(dname, NULL, &df) != 1)
        return xc_err_set(err, XC_EINTERNAL, "the descriptor set lacks the import %s", dname);
      for (k = 0; k < n; k++)
        if (out[k].data == df.p) break;
      if (k < n) continue;
      if (n >= XC_REFLECT_MAX_FILES)
        return xc_err_set(err, XC_EINTERNAL, "more than %d files to send", XC_REFLECT_MAX_FILES);
      out[n].data = df.p;
      out[n].len = (size_t)(df.end - df.p);
      n++;
    }
    if (rc < 0) return xc_err_set(err, XC_EINTERNAL, "the embedded descriptor set does not parse");
  }
  return (int)n;
}

int xc_reflect_services(void (*fn)(void *ctx, const char *name), void *ctx) {
  xc__pb set = xc__set(), f;
  uint32_t num;
  int rc, count = 0;
  while ((rc = xc__field(&set, &num, &f)) == 1) {
    char pkg[XC__NAME_MAX / 2], name[XC__NAME_MAX / 2], full[XC__NAME_MAX];
    xc__pb svc;
    if (num != 1 || f.p == NULL) continue;
    if (xc__string(f, 2, pkg, sizeof pkg) != 0) return XC_EINTERNAL;
    while ((rc = xc__field(&f, &num, &svc)) == 1) {
      if (num != 6 || svc.p == NULL) continue;
      if (xc__string(svc, 1, name, sizeof name) != 0 ||
          xc__join(full, sizeof full, pkg, name) != 0)
        return XC_EINTERNAL;
      fn(ctx, full);
      count++;
    }
    if (rc < 0) return XC_EINTERNAL;
  }
  return rc < 0 ? XC_EINTERNAL : count;
}

/* ------------------------------------------------------------- handler */

/* The names list_services collects. */
typedef struct xc__svc_list {
  char names[XC__MAX_SERVICES][XC__NAME_MAX];
  size_t n;
} xc__svc_list;

/* Adds one service name to the list (names past the limit are dropped). */
static void xc__collect(void *ctx, const char *name) {
  xc__svc_list *l = ctx;
  if (l->n < XC__MAX_SERVICES) (void)snprintf(l->names[l->n++], XC__NAME_MAX, "%s", name);
}

/* Answers one request on the call. The response is built in this frame and
 * points into the request, l (scratch for service names) and the embedded
 * descriptor set; nothing is allocated. Errors about what was asked go back
 * in an ErrorResponse; only a failed send ends the stream. */
static int xc__answer(xc_call *call, Grpc__Reflection__V1__ServerReflectionRequest *rq,
                      xc__svc_list *l, xc_err *err) {
  Grpc__Reflection__V1__ServerReflectionResponse resp =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
  Grpc__Reflection__V1__FileDescriptorResponse fdr =
      GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
  Grpc__Reflection__V1__ListServiceResponse lsr = GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
  Grpc__Reflection__V1__ExtensionNumberResponse enr =
      GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
  Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
  Grpc__Reflection__V1__ServiceResponse items[XC__MAX_SERVICES];
  Grpc__Reflection__V1__ServiceResponse *item_ptrs[XC__MAX_SERVICES];
  xc_reflect_file files[XC_REFLECT_MAX_FILES];
  ProtobufCBinaryData blobs[XC_REFLECT_MAX_FILES];
  xc_err ferr;
  int n = 0;

  xc_err_clear(&ferr);
  resp.valid_host = rq->host;
  resp.original_request = rq;
  switch (rq->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
      n = xc_reflect_find(rq->file_by_filename, NULL, files, &ferr);
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
      n = xc_reflect_find(NULL, rq->file_containing_symbol, files, &ferr);
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
      /* The API defines no extensions. */
      n = xc_err_set(&ferr, XC_ENOT_FOUND, "no extension %d of %s",
                     rq->file_containing_extension ? rq->file_containing_extension->extension_number
                                                   : 0,
                     rq->file_containing_extension ? rq->file_containing_extension->containing_type
                                                   : "");
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
      n = xc_reflect_find(NULL, rq->all_extension_numbers_of_type, files, &ferr);
      if (n > 0) {
        enr.base_type_name = rq->all_extension_numbers_of_type;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
        resp.all_extension_numbers_response = &enr;
      }
      break;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
      l->n = 0;
      n = xc_reflect_services(xc__collect, l);
      if (n < 0) {
        n = xc_err_set(&ferr, XC_EINTERNAL, "the embedded descriptor set does not parse");
        break;
      }
      for (size_t i = 0; i < l->n; i++) {
        grpc__reflection__v1__service_response__init(&items[i]);
        items[i].name = l->names[i];
        item_ptrs[i] = &items[i];
      }
      lsr.n_service = l->n;
      lsr.service = item_ptrs;
      resp.message_response_case =
          GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
      resp.list_services_response = &lsr;
      break;
    default:
      n = xc_err_set(&ferr, XC_EINVALID_ARGUMENT,
                     "the request names none of file_by_filename, file_containing_symbol, "
                     "file_containing_extension, all_extension_numbers_of_type, list_services");
      break;
  }
  if (n < 0) {
    er.error_code = xc_code_to_grpc(n);
    er.error_message = ferr.msg;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp.error_response = &er;
  } else if (resp.message_response_case ==
             GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
    for (int i = 0; i < n; i++) {
      blobs[i].data = (uint8_t *)(uintptr_t)files[i].data;
      blobs[i].len = files[i].len;
    }
    fdr.n_file_descriptor_proto = (size_t)n;
    fdr.file_descriptor_proto = blobs;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp.file_descriptor_response = &fdr;
  }
  return xc_call_send(call, &resp.base, err);
}

/*
 * ServerReflectionInfo (v1 and v1alpha): a bidirectional stream; every
 * request gets one response, until the client half-closes.
 */
XC__HANDLER(xc__reflection_info) {
  xc__svc_list *l = NULL;
  ProtobufCMessage *m = NULL;
  int rc = XC_OK;
  (void)req;
  *resp = NULL;
  if (ctx->call == NULL) return xc_err_set(err, XC_EUNIMPLEMENTED, "reflection needs a stream");
  /* An open stream holds a worker while it waits for the client's next
   * request, so only a few may be open at once: tools like grpcurl open
   * one, ask, and close it. */
  if (atomic_fetch_add(&xc__open_streams, 1) >= XC__MAX_STREAMS) {
    atomic_fetch_sub(&xc__open_streams, 1);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                      "%d reflection streams are open already; retry in a moment",
                      XC__MAX_STREAMS);
  }
  l = malloc(sizeof *l);
  if (l == NULL) {
    atomic_fetch_sub(&xc__open_streams, 1);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  for (;;) {
    rc = xc_call_recv(ctx->call, &grpc__reflection__v1__server_reflection_request__descriptor, &m,
                      err);
    if (rc != XC_OK || m == NULL) break;
    rc = xc__answer(ctx->call, (Grpc__Reflection__V1__ServerReflectionRequest *)m, l, err);
    xc_msg_free(m);
    m = NULL;
    if (rc != XC_OK) break;
  }
  free(l);
  atomic_fetch_sub(&xc__open_streams, 1);
  return rc;
}
