#include "xc_record.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "xc_clock.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_text.h"

/* Fields every record has that only the server sets. */
static const char *const xc__common_output_only[] = {
    "id",         "owner",      "etag",   "create_time_ms", "update_time_ms",
    "created_by", "updated_by", "voided", "void_reason"};

/* Output-only fields computed each time a record is read, never stored: a
 * client sending back what it read must not be refused for them. */
static const char *const xc__computed[] = {"flags", "report_due_date", "report_overdue"};

/* Returns 1 if name is one of list[0..n). The first bytes are compared
 * before the strings: these lookups run for every field of every record
 * checked, and most names differ at once. */
static int xc__in_list(const char *name, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (name[0] == list[i][0] && strcmp(name, list[i]) == 0) return 1;
  return 0;
}

size_t xc_record_field_limit(const char *field_name) {
  static const char *const text[] = {"description", "measures", "basis", "note", "summary",
                                     "text"};
  static const char *const ids[] = {"id", "round_id", "target_id", "finding_id", "target_ids"};
  /* Asked for every string of every record checked: names that start with
   * none of the listed names' first letters are names at once. */
  switch (field_name[0]) {
    case 'b':
    case 'd':
    case 'f':
    case 'i':
    case 'm':
    case 'n':
    case 'r':
    case 's':
    case 't':
      break;
    default:
      return XC_MAX_NAME_BYTES;
  }
  if (xc__in_list(field_name, text, sizeof text / sizeof text[0])) return XC_MAX_TEXT_BYTES;
  if (xc__in_list(field_name, ids, sizeof ids / sizeof ids[0])) return XC_ID_MAX - 1;
  return XC_MAX_NAME_BYTES;
}

int xc_record_output_only(xc_kind kind, const char *name) {
  if (xc__in_list(name, xc__common_output_only,
                  sizeof xc__common_output_only / sizeof xc__common_output_only[0]))
    return 1;
  switch (kind) {
    case XC_KIND_ROUND:
      return strcmp(name, "stage") == 0 || strcmp(name, "stage_dates") == 0;
    case XC_KIND_GROUP:
    case XC_KIND_PROGRESS:
    case XC_KIND_VERIFICATION:
      return strcmp(name, "region_code") == 0;
    case XC_KIND_FINDING:
      return strcmp(name, "region_code") == 0 || strcmp(name, "flags") == 0 ||
             strcmp(name, "track") == 0;
    case XC_KIND_LEAD:
      return strcmp(name, "region_code") == 0 || strcmp(name, "disposal") == 0 ||
             strcmp(name, "disposal_date") == 0 || strcmp(name, "outcomes") == 0 ||
             strcmp(name, "report_due_date") == 0 || strcmp(name, "report_overdue") == 0;
    case XC_KIND_DISPOSITION:
      return strcmp(name, "region_code") == 0 || strcmp(name, "lead_owner") == 0 ||
             strcmp(name, "recipient") == 0;
    case XC_KIND_DOCUMENT:
      return strcmp(name, "region_code") == 0 || strcmp(name, "round_id") == 0 ||
             strcmp(name, "lead_owner") == 0 || strcmp(name, "recipient") == 0 ||
             strcmp(name, "size") == 0 || strcmp(name, "hash_algorithm") == 0 ||
             strcmp(name, "content_hash") == 0;
    case XC_KIND_INSPECTOR:
      return strcmp(name, "region_code") == 0;
    default:
      return 0;
  }
}

int xc_record_fixed(xc_kind kind, const char *name) {
  switch (kind) {
    case XC_KIND_TARGET:
    case XC_KIND_ROUND:
      return strcmp(name, "region_code") == 0;
    case XC_KIND_DIRECTORY:
      return strcmp(name, "region_code") == 0 || strcmp(name, "identity") == 0;
    case XC_KIND_GROUP:
      return strcmp(name, "round_id") == 0;
    case XC_KIND_DOCUMENT:
      return strcmp(name, "attached_id") == 0;
    case XC_KIND_FINDING:
    case XC_KIND_LEAD:
      return strcmp(name, "round_id") == 0 || strcmp(name, "target_id") == 0;
    default:
      return 0;
  }
}

/* ------------------------------------------------------ generic fields */

static void *xc__member(const ProtobufCMessage *msg, unsigned offset) {
  return (char *)msg + offset;
}

/* The in-struct size of one value of a scalar type; 0 for other types. */
static size_t xc__scalar_size(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    default:
      return 0;
  }
}

/* Frees a string field value unless it is the static empty default. */
static void xc__free_str(const ProtobufCFieldDescriptor *f, char *s) {
  if (s != NULL && s != (const char *)f->default_value && s != protobuf_c_empty_string) free(s);
}

/* Frees the value of field f in msg and resets it to the empty value. */
static void xc__field_clear(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  void *p = xc__member(msg, f->offset);
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t *n = xc__member(msg, f->quantifier_offset);
    void **arr = *(void ***)p;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      for (size_t i = 0; i < *n; i++) free(arr[i]);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      for (size_t i = 0; i < *n; i++) xc_msg_free(arr[i]);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
      ProtobufCBinaryData *b = (ProtobufCBinaryData *)arr;
      for (size_t i = 0; i < *n; i++) free(b[i].data);
    }
    free(arr);
    *(void **)p = NULL;
    *n = 0;
    return;
  }
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
      xc__free_str(f, *(char **)p);
      *(char **)p = (char *)protobuf_c_empty_string;
      break;
    case PROTOBUF_C_TYPE_MESSAGE:
      xc_msg_free(*(ProtobufCMessage **)p);
      *(ProtobufCMessage **)p = NULL;
      break;
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData *b = p;
      if (f->default_value == NULL ||
          b->data != ((const ProtobufCBinaryData *)f->default_value)->data)
        free(b->data);
      b->data = NULL;
      b->len = 0;
      break;
    }
    default:
      memset(p, 0, xc__scalar_size(f->type));
      break;
  }
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
      f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
    *(protobuf_c_boolean *)xc__member(msg, f->quantifier_offset) = 0;
}

/* Returns a malloc'd copy of s, or NULL when out of memory. */
static char *xc__strdup(const char *s) {
  size_t n = strlen(s);
  char *c = malloc(n + 1);
  if (c != NULL) memcpy(c, s, n + 1);
  return c;
}

/*
 * Replaces field f of dst with a deep copy of the same field of src.
 * Supports the field types records use: scalars, enums, strings and
 * messages, singular or repeated.
 */
static int xc__field_copy(ProtobufCMessage *dst, const ProtobufCMessage *src,
                          const ProtobufCFieldDescriptor *f) {
  const void *sp = xc__member(src, f->offset);
  void *dp = xc__member(dst, f->offset);
  int rc = XC_OK;

  xc__field_clear(dst, f);
  if (f->type == PROTOBUF_C_TYPE_BYTES) return XC_EINTERNAL;
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t n = *(const size_t *)xc__member(src, f->quantifier_offset);
    size_t *dn = xc__member(dst, f->quantifier_offset);
    size_t elem = (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
                      ? sizeof(void *)
                      : xc__scalar_size(f->type);
    void *arr;
    if (n == 0) return XC_OK;
    if (elem == 0) return XC_EINTERNAL;
    if (n > SIZE_MAX / elem) return XC_ERESOURCE_EXHAUSTED;
    arr = calloc(n, elem);
    if (arr == NULL) return XC_ERESOURCE_EXHAUSTED;
    *(void **)dp = arr;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      char *const *s = *(char *const *const *)sp;
      for (size_t i = 0; i < n; i++) {
        ((char **)arr)[i] = xc__strdup(s[i] ? s[i] : "");
        if (((char **)arr)[i] == NULL) {
          rc = XC_ERESOURCE_EXHAUSTED;
          break;
        }
        *dn = i + 1;
      }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      ProtobufCMessage *const *m = *(ProtobufCMessage *const *const *)sp;
      for (size_t i = 0; i < n; i++) {
        ((ProtobufCMessage **)arr)[i] = xc_msg_clone(m[i]);
        if (((ProtobufCMessage **)arr)[i] == NULL) {
          rc = XC_ERESOURCE_EXHAUSTED;
          break;
        }
        *dn = i + 1;
      }
    } else {
      memcpy(arr, *(void *const *)sp, n * elem);
      *dn = n;
    }
    return rc;
  }
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)sp;
      char *c;
      if (s == NULL || *s == '\0') break;
      c = xc__strdup(s);
      if (c == NULL) return XC_ERESOURCE_EXHAUSTED;
      *(char **)dp = c;
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *m = *(ProtobufCMessage *const *)sp;
      if (m == NULL) break;
      *(ProtobufCMessage **)dp = xc_msg_clone(m);
      if (*(ProtobufCMessage **)dp == NULL) return XC_ERESOURCE_EXHAUSTED;
      break;
    }
    default:
      memcpy(dp, sp, xc__scalar_size(f->type));
      if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
        *(protobuf_c_boolean *)xc__member(dst, f->quantifier_offset) =
            *(const protobuf_c_boolean *)xc__member(src, f->quantifier_offset);
      break;
  }
  return XC_OK;
}

void xc_record_strip_unknown(ProtobufCMessage *msg) {
  const ProtobufCMessageDescriptor *d;
  if (msg == NULL) return;
  d = msg->descriptor;
  for (unsigned i = 0; i < msg->n_unknown_fields; i++) free(msg->unknown_fields[i].data);
  free(msg->unknown_fields);
  msg->unknown_fields = NULL;
  msg->n_unknown_fields = 0;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(size_t *)xc__member(msg, f->quantifier_offset);
      ProtobufCMessage **arr = *(ProtobufCMessage ***)xc__member(msg, f->offset);
      for (size_t k = 0; k < n; k++) xc_record_strip_unknown(arr[k]);
    } else {
      xc_record_strip_unknown(*(ProtobufCMessage **)xc__member(msg, f->offset));
    }
  }
}

/* The most top-level fields a record type may have for the table below;
 * a type with more is looked up by name each time. */
#define XC__OO_MAX_FIELDS 64

/* Which top-level fields of each kind's record type are output only, by
 * field index, worked out once from xc_record_output_only: clearing them
 * runs on every create, and asking by name costs a dozen string compares
 * per field. */
static unsigned char xc__oo_table[XC_KIND_COUNT][XC__OO_MAX_FIELDS];
static int xc__oo_ready[XC_KIND_COUNT];
static pthread_once_t xc__oo_once = PTHREAD_ONCE_INIT;

static void xc__oo_init(void) {
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    const ProtobufCMessageDescriptor *d = xc_kind_descriptor((xc_kind)k);
    if (d == NULL || d->n_fields > XC__OO_MAX_FIELDS) continue;
    for (unsigned i = 0; i < d->n_fields; i++)
      xc__oo_table[k][i] = (unsigned char)xc_record_output_only((xc_kind)k, d->fields[i].name);
    xc__oo_ready[k] = 1;
  }
}

void xc_record_clear_output_only(xc_kind kind, ProtobufCMessage *rec) {
  const ProtobufCMessageDescriptor *d = rec->descriptor;
  const unsigned char *oo = NULL;
  (void)pthread_once(&xc__oo_once, xc__oo_init);
  if ((unsigned)kind < XC_KIND_COUNT && xc__oo_ready[kind] && d == xc_kind_descriptor(kind))
    oo = xc__oo_table[kind];
  for (unsigned i = 0; i < d->n_fields; i++) {
    int clear = oo != NULL ? oo[i] : xc_record_output_only(kind, d->fields[i].name);
    if (clear) xc__field_clear(rec, &d->fields[i]);
  }
  if (kind == XC_KIND_FINDING) {
    Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)rec;
    if (f->rectification != NULL) f->rectification->status = 0;
  }
}

/* ------------------------------------------------------------- checks */

int xc_record_check_strings(xc_kind kind, const ProtobufCMessage *rec, xc_err *err) {
  return xc_msg_check_strings(rec, xc_kind_name(kind), xc_record_field_limit, XC_MAX_REPEATED, err);
}

const char *xc_record_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                size_t size) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
  const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(d, 0);
  size_t skip = 0;
  if (v == NULL) {
    (void)snprintf(buf, size, "%d", value);
    return buf;
  }
  /* Every enum of ours is "<PREFIX>_UNSPECIFIED = 0": drop that prefix. */
  if (zero != NULL) {
    const char *u = strstr(zero->name, "UNSPECIFIED");
    if (u != NULL && u[11] == '\0') skip = (size_t)(u - zero->name);
  }
  if (skip > 0 && strncmp(v->name, zero->name, skip) != 0) skip = 0;
  (void)snprintf(buf, size, "%s", v->name + skip);
  return buf;
}

static int xc__check_enums(const ProtobufCMessage *msg, const xc_msg_path *path, xc_err *err) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const void *p = xc__member(msg, f->offset);
    if (f->type == PROTOBUF_C_TYPE_ENUM) {
      const ProtobufCEnumDescriptor *ed = f->descriptor;
      size_t n = 1;
      const int32_t *vals = p;
      if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        n = *(const size_t *)xc__member(msg, f->quantifier_offset);
        vals = *(int32_t *const *)p;
      }
      for (size_t k = 0; k < n; k++) {
        if (protobuf_c_enum_descriptor_get_value(ed, vals[k]) == NULL) {
          char where[256];
          xc_msg_path_text(path, where, sizeof where);
          return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %d is not a known %s", where,
                            f->name, (int)vals[k], ed->short_name);
        }
      }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      xc_msg_path sub = {path, f->name};
      if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)xc__member(msg, f->quantifier_offset);
        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)p;
        for (size_t k = 0; k < n; k++) {
          int rc = xc__check_enums(arr[k], &sub, err);
          if (rc != XC_OK) return rc;
        }
      } else if (*(ProtobufCMessage *const *)p != NULL) {
        int rc = xc__check_enums(*(ProtobufCMessage *const *)p, &sub, err);
        if (rc != XC_OK) return rc;
      }
    }
  }
  return XC_OK;
}

int xc_record_check_enums(const ProtobufCMessage *msg, const char *path, xc_err *err) {
  xc_msg_path top = {NULL, path};
  return xc__check_enums(msg, &top, err);
}

/* Compares one field of sent against stored: XC_OK if sent leaves it empty
 * or equal, else XC_EINVALID_ARGUMENT with `why` in the message. */
static int xc__check_field_unchanged(const char *path, const ProtobufCFieldDescriptor *f,
                                     const ProtobufCMessage *sent, const ProtobufCMessage *stored,
                                     const char *why, xc_err *err) {
  const void *sp = xc__member(sent, f->offset);
  const void *tp = xc__member(stored, f->offset);
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t ns = *(const size_t *)xc__member(sent, f->quantifier_offset);
    size_t nt = *(const size_t *)xc__member(stored, f->quantifier_offset);
    int same = ns == nt;
    if (ns == 0) return XC_OK;
    for (size_t k = 0; same && k < ns; k++) {
      if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        same = xc_msg_same_bytes((*(ProtobufCMessage *const *const *)sp)[k],
                             (*(ProtobufCMessage *const *const *)tp)[k]);
      else if (f->type == PROTOBUF_C_TYPE_STRING)
        same = strcmp((*(char *const *const *)sp)[k], (*(char *const *const *)tp)[k]) == 0;
      else
        same = memcmp((*(const char *const *)sp) + k * xc__scalar_size(f->type),
                      (*(const char *const *)tp) + k * xc__scalar_size(f->type),
                      xc__scalar_size(f->type)) == 0;
    }
    if (same) return XC_OK;
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s", path, f->name, why);
  }
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)sp;
      const char *t = *(char *const *)tp;
      char qs[96], qt[96];
      if (s == NULL || *s == '\0' || strcmp(s, t ? t : "") == 0) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s (stored '%s', sent '%s')", path,
                        f->name, why, xc_record_quote(t ? t : "", qt, sizeof qt),
                        xc_record_quote(s, qs, sizeof qs));
    }
    case PROTOBUF_C_TYPE_ENUM: {
      int32_t s = *(const int32_t *)sp, t = *(const int32_t *)tp;
      char ns[64], nt[64];
      if (s == 0 || s == t) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s (stored %s, sent %s)", path, f->name,
                        why, xc_record_enum_name(f->descriptor, t, nt, sizeof nt),
                        xc_record_enum_name(f->descriptor, s, ns, sizeof ns));
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_INT32: {
      int64_t s = xc_msg_get_int(sent, f->name), t = xc_msg_get_int(stored, f->name);
      if (s == 0 || s == t) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s (stored %lld, sent %lld)", path,
                        f->name, why, (long long)t, (long long)s);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *s = *(ProtobufCMessage *const *)sp;
      if (s == NULL || xc_msg_same_bytes(s, *(ProtobufCMessage *const *)tp)) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s", path, f->name, why);
    }
    case PROTOBUF_C_TYPE_BOOL: {
      /* false reads as "unchanged", like every other empty value. */
      protobuf_c_boolean s = *(const protobuf_c_boolean *)sp;
      if (!s || s == *(const protobuf_c_boolean *)tp) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s", path, f->name, why);
    }
    default:
      if (memcmp(sp, tp, xc__scalar_size(f->type)) == 0) return XC_OK;
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s %s", path, f->name, why);
  }
}

int xc_record_check_unchanged(xc_kind kind, const ProtobufCMessage *sent,
                              const ProtobufCMessage *stored, xc_err *err) {
  const ProtobufCMessageDescriptor *d = sent->descriptor;
  const char *path = xc_kind_name(kind);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    int rc = XC_OK;
    if (strcmp(f->name, "id") == 0 || strcmp(f->name, "etag") == 0) continue;
    if (xc__in_list(f->name, xc__computed, sizeof xc__computed / sizeof xc__computed[0]))
      continue;
    if (xc_record_output_only(kind, f->name))
      rc = xc__check_field_unchanged(path, f, sent, stored, "is output only and cannot be changed",
                                     err);
    else if (xc_record_fixed(kind, f->name))
      rc = xc__check_field_unchanged(path, f, sent, stored, "cannot change after creation", err);
    if (rc != XC_OK) return rc;
  }
  if (kind == XC_KIND_FINDING) {
    const Xuncha__V1__Finding *s = (const Xuncha__V1__Finding *)sent;
    const Xuncha__V1__Finding *t = (const Xuncha__V1__Finding *)stored;
    int stored_status = t->rectification ? (int)t->rectification->status : 0;
    if (s->rectification != NULL && s->rectification->status != 0 &&
        (int)s->rectification->status != stored_status) {
      char a[64], b[64];
      const ProtobufCEnumDescriptor *ed = &xuncha__v1__rectification_status__descriptor;
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "finding.rectification.status is output only and cannot be changed "
                        "(stored %s, sent %s)",
                        xc_record_enum_name(ed, stored_status, a, sizeof a),
                        xc_record_enum_name(ed, (int)s->rectification->status, b, sizeof b));
    }
  }
  return XC_OK;
}

int xc_record_check_mask(xc_kind kind, char *const *mask, size_t n_mask, xc_err *err) {
  const ProtobufCMessageDescriptor *d = xc_kind_descriptor(kind);
  const char *path = xc_kind_name(kind);
  if (n_mask > XC_MAX_REPEATED)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "update_mask has %zu entries; the limit is %d",
                      n_mask, XC_MAX_REPEATED);
  for (size_t i = 0; i < n_mask; i++) {
    const char *name = mask[i] ? mask[i] : "";
    char q[96];
    if (protobuf_c_message_descriptor_get_field_by_name(d, name) == NULL)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "update_mask names '%s', which is not a field of %s (use top-level "
                        "field names such as 'name' or 'rectification')",
                        xc_record_quote(name, q, sizeof q), path);
    if (xc_record_output_only(kind, name))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "update_mask names %s.%s, which is output only",
                        path, name);
    if (xc_record_fixed(kind, name))
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "update_mask names %s.%s, which cannot change after creation", path, name);
  }
  return XC_OK;
}

/* Returns 1 if the update mask names field `name`. */
static int xc__mask_has(char *const *mask, size_t n_mask, const char *name) {
  for (size_t i = 0; i < n_mask; i++)
    if (mask[i] != NULL && strcmp(mask[i], name) == 0) return 1;
  return 0;
}

int xc_record_merge(xc_kind kind, const ProtobufCMessage *stored, const ProtobufCMessage *sent,
                    char *const *mask, size_t n_mask, ProtobufCMessage **out, xc_err *err) {
  const ProtobufCMessageDescriptor *d = stored->descriptor;
  ProtobufCMessage *rec = NULL;
  int rc = XC_OK;

  *out = NULL;
  rec = xc_msg_clone(stored);
  if (rec == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory merging the update");
    goto done;
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (xc_record_output_only(kind, f->name) || xc_record_fixed(kind, f->name)) continue;
    if (n_mask > 0 && !xc__mask_has(mask, n_mask, f->name)) continue;
    rc = xc__field_copy(rec, sent, f);
    if (rc != XC_OK) {
      rc = xc_err_set(err, rc, "cannot copy %s.%s into the update", xc_kind_name(kind), f->name);
      goto done;
    }
  }
  /* The rectification's status is output only inside a mutable field: keep
   * the stored one whatever the client sent. */
  if (kind == XC_KIND_FINDING) {
    Xuncha__V1__Finding *nf = (Xuncha__V1__Finding *)rec;
    const Xuncha__V1__Finding *of = (const Xuncha__V1__Finding *)stored;
    if (nf->rectification == NULL) {
      nf->rectification = malloc(sizeof *nf->rectification);
      if (nf->rectification == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory merging the update");
        goto done;
      }
      xuncha__v1__rectification__init(nf->rectification);
    }
    nf->rectification->status = of->rectification ? of->rectification->status : 0;
  }
  rc = xc_msg_set_str(rec, "etag", xc_msg_get_str(sent, "etag"));
  if (rc != XC_OK) {
    rc = xc_err_set(err, rc, "out of memory merging the update");
    goto done;
  }
  xc_record_strip_unknown(rec);
  *out = rec;
  rec = NULL;
done:
  xc_msg_free(rec);
  return rc;
}

int xc_record_fingerprint(const ProtobufCMessage *msg, uint8_t out[32]) {
  size_t len = 0;
  unsigned int n = 0;
  uint8_t *buf = xc_msg_pack(msg, 0, &len);
  int rc = XC_OK;
  if (buf == NULL) return XC_ERESOURCE_EXHAUSTED;
  if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) rc = XC_EINTERNAL;
  free(buf);
  return rc;
}

void xc_today_cst(char out[11]) {
  /* Through the server's one clock, so tests can move "today". */
  xc_clock_today_cst(out);
}

const char *xc_record_quote(const char *s, char *out, size_t size) {
  size_t o = 0, i = 0;
  const size_t max_in = 64;
  if (size == 0) return out;
  while (s[i] != '\0' && i < max_in) {
    unsigned char c = (unsigned char)s[i];
    size_t len = 1;
    if (c >= 0x80) len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (c >= 0x80 && (len == 1 || strnlen(s + i, len) < len || !xc_utf8_valid(s + i, len))) {
      len = 1;
      c = '?';
    } else if (c < 0x20 || c == 0x7f) {
      c = '?';
    }
    if (o + len + 4 > size) break;
    if (c == '?' || len == 1)
      out[o] = (char)c;
    else
      memcpy(out + o, s + i, len);
    o += len;
    i += len;
  }
  if (s[i] != '\0' && o + 4 <= size) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return out;
}

int xc_record_blank(const char *s) {
  if (s == NULL) return 1;
  for (; *s != '\0'; s++)
    if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return 0;
  return 1;
}
