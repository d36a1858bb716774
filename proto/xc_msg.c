#include "xc_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_text.h"

void xc_msg_free(void *msg) {
  if (msg != NULL) protobuf_c_message_free_unpacked((ProtobufCMessage *)msg, NULL);
}

ProtobufCMessage *xc_msg_new(const ProtobufCMessageDescriptor *d) {
  ProtobufCMessage *m = malloc(d->sizeof_message);
  if (m != NULL) d->message_init(m);
  return m;
}

uint8_t *xc_msg_pack(const ProtobufCMessage *msg, size_t prefix_len, size_t *len) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf;
  /* An empty message packs to zero bytes; malloc(0) may return NULL. */
  if (n > SIZE_MAX - prefix_len - 1) return NULL;
  buf = malloc(prefix_len + n + 1);
  if (buf == NULL) return NULL;
  protobuf_c_message_pack(msg, buf + prefix_len);
  *len = prefix_len + n;
  return buf;
}

ProtobufCMessage *xc_msg_clone(const ProtobufCMessage *msg) {
  size_t len = 0;
  uint8_t *buf = xc_msg_pack(msg, 0, &len);
  ProtobufCMessage *copy;
  if (buf == NULL) return NULL;
  copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
  free(buf);
  return copy;
}

/* ------------------------------------------------------------- deep copy */

/* Bytes of one value of a field of type t, in a message or an array. */
static size_t xc__value_size(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* 0 for a oneof member that is not the one set (its memory is another's). */
static int xc__present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0) return 1;
  return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

/* Copies n bytes to new memory (at least one byte); NULL when out of memory. */
static void *xc__dup(const void *p, size_t n) {
  void *q = malloc(n > 0 ? n : 1);
  if (q != NULL && n > 0) memcpy(q, p, n);
  return q;
}

/*
 * dst holds a bytewise copy of a message: clears every pointer in it (they
 * still point into the original), so that dst can be freed at any moment
 * while xc__copy_fields fills it.
 */
static void xc__detach(ProtobufCMessage *dst) {
  const ProtobufCMessageDescriptor *d = dst->descriptor;
  dst->n_unknown_fields = 0;
  dst->unknown_fields = NULL;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char *p = (char *)dst + f->offset;
    if (!xc__present(dst, f)) continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      *(size_t *)((char *)dst + f->quantifier_offset) = 0;
      *(void **)p = NULL;
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
      *(char **)p = NULL;
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
      ((ProtobufCBinaryData *)p)->data = NULL;
      ((ProtobufCBinaryData *)p)->len = 0;
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      *(ProtobufCMessage **)p = NULL;
    }
  }
}

static ProtobufCMessage *xc__copy(const ProtobufCMessage *src);

/* Copies one value (string, bytes or message) of f from s to d; 0 when out
 * of memory (then *d is left empty). Defaults stay shared, as unpack leaves
 * them. */
static int xc__copy_value(const ProtobufCFieldDescriptor *f, int repeated, const void *s,
                          void *d) {
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    const char *str = *(char *const *)s;
    if (!repeated && (str == NULL || str == f->default_value)) {
      /* Unset: the field's default, as unpacking a packed copy gives. */
      *(const char **)d = f->default_value;
      return 1;
    }
    if (str == NULL) {
      *(char **)d = NULL;
      return 1;
    }
    *(char **)d = xc__dup(str, strlen(str) + 1);
    return *(char **)d != NULL;
  }
  if (f->type == PROTOBUF_C_TYPE_BYTES) {
    const ProtobufCBinaryData *bs = s;
    const ProtobufCBinaryData *def = f->default_value;
    ProtobufCBinaryData *bd = d;
    bd->len = 0;
    bd->data = NULL;
    if (bs->data == NULL || (!repeated && def != NULL && bs->data == def->data)) {
      *bd = *bs;
      return 1;
    }
    bd->data = xc__dup(bs->data, bs->len);
    if (bd->data == NULL) return 0;
    bd->len = bs->len;
    return 1;
  }
  /* A message. */
  if (*(ProtobufCMessage *const *)s == NULL) {
    *(ProtobufCMessage **)d = NULL;
    return 1;
  }
  *(ProtobufCMessage **)d = xc__copy(*(ProtobufCMessage *const *)s);
  return *(ProtobufCMessage **)d != NULL;
}

/* Fills dst (detached) from src; 0 when out of memory (dst is still whole
 * and freeable). */
static int xc__copy_fields(ProtobufCMessage *dst, const ProtobufCMessage *src) {
  const ProtobufCMessageDescriptor *d = src->descriptor;
  if (src->n_unknown_fields > 0) {
    size_t n = src->n_unknown_fields;
    ProtobufCMessageUnknownField *uf;
    if (n > SIZE_MAX / sizeof *uf) return 0;
    uf = malloc(n * sizeof *uf);
    if (uf == NULL) return 0;
    dst->unknown_fields = uf;
    for (size_t k = 0; k < n; k++) {
      uf[k] = src->unknown_fields[k];
      uf[k].data = xc__dup(src->unknown_fields[k].data, src->unknown_fields[k].len);
      if (uf[k].data == NULL) return 0;
      dst->n_unknown_fields = (unsigned)(k + 1);
    }
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *sp = (const char *)src + f->offset;
    char *dp = (char *)dst + f->offset;
    if (!xc__present(src, f)) continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)src + f->quantifier_offset);
      size_t es = xc__value_size(f->type);
      size_t *dn = (size_t *)((char *)dst + f->quantifier_offset);
      const char *sarr = *(char *const *)sp;
      char *darr;
      if (n == 0 || sarr == NULL) continue;
      if (es == 0 || n > SIZE_MAX / es) return 0;
      darr = malloc(n * es);
      if (darr == NULL) return 0;
      *(char **)dp = darr;
      if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
          f->type == PROTOBUF_C_TYPE_MESSAGE) {
        for (size_t k = 0; k < n; k++) {
          if (!xc__copy_value(f, 1, sarr + k * es, darr + k * es)) return 0;
          *dn = k + 1;
        }
      } else {
        memcpy(darr, sarr, n * es);
        *dn = n;
      }
    } else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES ||
               f->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (!xc__copy_value(f, 0, sp, dp)) return 0;
    }
  }
  return 1;
}

static ProtobufCMessage *xc__copy(const ProtobufCMessage *src) {
  const ProtobufCMessageDescriptor *d = src->descriptor;
  ProtobufCMessage *dst = malloc(d->sizeof_message);
  if (dst == NULL) return NULL;
  memcpy(dst, src, d->sizeof_message);
  xc__detach(dst);
  if (!xc__copy_fields(dst, src)) {
    protobuf_c_message_free_unpacked(dst, NULL);
    return NULL;
  }
  return dst;
}

ProtobufCMessage *xc_msg_copy(const ProtobufCMessage *msg) {
  return msg != NULL ? xc__copy(msg) : NULL;
}

static const ProtobufCFieldDescriptor *xc__field(const ProtobufCMessage *msg,
                                                 const char *name) {
  return protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
}

const char *xc_msg_get_str(const ProtobufCMessage *msg, const char *name) {
  const ProtobufCFieldDescriptor *f = xc__field(msg, name);
  const char *s;
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  s = *(char *const *)((const char *)msg + f->offset);
  return s != NULL ? s : "";
}

int xc_msg_set_str(ProtobufCMessage *msg, const char *name, const char *value) {
  const ProtobufCFieldDescriptor *f = xc__field(msg, name);
  char **slot;
  char *copy;
  size_t n;
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return XC_EINTERNAL;
  slot = (char **)((char *)msg + f->offset);
  n = strlen(value);
  copy = malloc(n + 1);
  if (copy == NULL) return XC_ERESOURCE_EXHAUSTED;
  memcpy(copy, value, n + 1);
  /* The default (protobuf_c_empty_string) is static and must not be freed. */
  if (*slot != NULL && *slot != (char *)f->default_value && *slot != protobuf_c_empty_string)
    free(*slot);
  *slot = copy;
  return XC_OK;
}

int xc_msg_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t na = 0, nb = 0;
  uint8_t *pa, *pb;
  int same;
  if (a == NULL || b == NULL) return a == b;
  pa = xc_msg_pack(a, 0, &na);
  pb = xc_msg_pack(b, 0, &nb);
  same = pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return same;
}

const ProtobufCFieldDescriptor *xc_msg_single_field(const ProtobufCMessageDescriptor *d,
                                                    const char *name, ProtobufCType type) {
  const ProtobufCFieldDescriptor *f =
      d != NULL ? protobuf_c_message_descriptor_get_field_by_name(d, name) : NULL;
  return f != NULL && f->type == type && f->label != PROTOBUF_C_LABEL_REPEATED ? f : NULL;
}

int64_t xc_msg_get_int(const ProtobufCMessage *msg, const char *name) {
  const ProtobufCFieldDescriptor *f = xc__field(msg, name);
  const char *p;
  if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED) return 0;
  p = (const char *)msg + f->offset;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      return *(const int64_t *)p;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return (int64_t) * (const uint64_t *)p;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      return *(const int32_t *)p;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return *(const uint32_t *)p;
    default:
      return 0;
  }
}

int xc_msg_set_int(ProtobufCMessage *msg, const char *name, int64_t value) {
  const ProtobufCFieldDescriptor *f = xc__field(msg, name);
  char *p;
  if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED) return XC_EINTERNAL;
  p = (char *)msg + f->offset;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      *(int64_t *)p = value;
      return XC_OK;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      *(uint64_t *)p = (uint64_t)value;
      return XC_OK;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      *(int32_t *)p = (int32_t)value;
      return XC_OK;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      *(uint32_t *)p = (uint32_t)value;
      return XC_OK;
    default:
      return XC_EINTERNAL;
  }
}

void xc_msg_path_text(const xc_msg_path *p, char *out, size_t size) {
  size_t len;
  if (p->up == NULL) {
    (void)snprintf(out, size, "%s", p->name);
    return;
  }
  xc_msg_path_text(p->up, out, size);
  len = strlen(out);
  if (len + 1 < size) (void)snprintf(out + len, size - len, ".%s", p->name);
}

static int xc__check_one(const char *s, const xc_msg_path *path, const char *field, size_t limit,
                         xc_err *err) {
  char where[256];
  size_t n = strlen(s);
  if (n > limit) {
    xc_msg_path_text(path, where, sizeof where);
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s is %zu bytes; the limit is %zu",
                      where, field, n, limit);
  }
  if (!xc_utf8_valid(s, n)) {
    xc_msg_path_text(path, where, sizeof where);
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s is not valid UTF-8", where, field);
  }
  return XC_OK;
}

static int xc__check_strings(const ProtobufCMessage *msg, const xc_msg_path *path,
                             xc_msg_len_limit_fn max_len, size_t max_repeated, xc_err *err) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)msg;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *(const size_t *)(base + f->quantifier_offset);
      if (count > max_repeated) {
        char where[256];
        xc_msg_path_text(path, where, sizeof where);
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "%s.%s has %zu entries; the limit is %zu", where, f->name, count,
                          max_repeated);
      }
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *const *arr = *(char *const *const *)(base + f->offset);
        for (size_t k = 0; k < count; k++) {
          int rc = xc__check_one(arr[k] ? arr[k] : "", path, f->name, max_len(f->name), err);
          if (rc != XC_OK) return rc;
        }
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
        xc_msg_path sub = {path, f->name};
        for (size_t k = 0; k < count; k++) {
          int rc = xc__check_strings(arr[k], &sub, max_len, max_repeated, err);
          if (rc != XC_OK) return rc;
        }
      }
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
      const char *s = *(char *const *)(base + f->offset);
      int rc = xc__check_one(s ? s : "", path, f->name, max_len(f->name), err);
      if (rc != XC_OK) return rc;
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      const ProtobufCMessage *sub_msg = *(ProtobufCMessage *const *)(base + f->offset);
      if (sub_msg != NULL) {
        xc_msg_path sub = {path, f->name};
        int rc = xc__check_strings(sub_msg, &sub, max_len, max_repeated, err);
        if (rc != XC_OK) return rc;
      }
    }
  }
  return XC_OK;
}

int xc_msg_check_strings(const ProtobufCMessage *msg, const char *path,
                         xc_msg_len_limit_fn max_len, size_t max_repeated, xc_err *err) {
  xc_msg_path top = {NULL, path};
  return xc__check_strings(msg, &top, max_len, max_repeated, err);
}
