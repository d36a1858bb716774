#include "xc_audit.h"
#include "xc_workflow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_clock.h"
#include "xc_home.h"
#include "xc_msg.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_validate.h"
#include "xc_wf.h"
#include "xc_wire.h"

/* Set once before the server starts. */
static int xc__stalled_days = XC_WF_DEFAULT_STALLED_DAYS;

void xc_workflow_configure(int stalled_days) {
  xc__stalled_days = stalled_days > 0 ? stalled_days : XC_WF_DEFAULT_STALLED_DAYS;
}

int xc_workflow_stalled_days(void) { return xc__stalled_days; }

int xc_workflow_flag(int argc, char **argv, int *i) {
  static const char *const flags[] = {"--stalled-days", "--test-clock-file"};
  const char *arg = argv[*i];
  for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
    size_t n = strlen(flags[k]);
    const char *value;
    if (strncmp(arg, flags[k], n) != 0 || (arg[n] != '\0' && arg[n] != '=')) continue;
    if (arg[n] == '=') {
      value = arg + n + 1;
    } else if (*i + 1 < argc) {
      value = argv[++*i];
    } else {
      fprintf(stderr, "xunchad: %s needs a value\nRun 'xunchad --help' for usage.\n", flags[k]);
      return -1;
    }
    if (k == 0) {
      long long days = 0;
      if (xc_parse_int64(value, 1, 3650, &days) != 0) {
        fprintf(stderr,
                "xunchad: --stalled-days must be a number from 1 to 3650, not '%s'\nRun "
                "'xunchad --help' for usage.\n",
                value);
        return -1;
      }
      xc_workflow_configure((int)days);
    } else {
      if (value[0] == '\0') {
        fprintf(stderr, "xunchad: --test-clock-file needs a file name\n");
        return -1;
      }
      xc_clock_set_file(value);
    }
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Returns the address of the bool field `name` of msg, or NULL. */
static protobuf_c_boolean *xc__bool_field(const ProtobufCMessage *msg, const char *name) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
  if (f == NULL || f->type != PROTOBUF_C_TYPE_BOOL || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  return (protobuf_c_boolean *)(void *)((char *)(uintptr_t)msg + f->offset);
}

int xc_workflow_voided(const ProtobufCMessage *rec) {
  /* Every record of a list asks, mostly of one type in a row: the field is
   * looked up by name when the type changes on this thread, not each time. */
  static _Thread_local const ProtobufCMessageDescriptor *type;
  static _Thread_local const ProtobufCFieldDescriptor *field; /* NULL: none */
  if (rec == NULL) return 0;
  if (rec->descriptor != type) {
    field = xc_msg_single_field(rec->descriptor, "voided", PROTOBUF_C_TYPE_BOOL);
    type = rec->descriptor;
  }
  return field != NULL &&
         *(const protobuf_c_boolean *)(const void *)((const char *)rec + field->offset);
}

xc_kind xc_workflow_kind_of_id(const char *id) {
  for (int k = 0; k < XC_KIND_COUNT; k++)
    if (id != NULL && xc_id_valid((xc_kind)k, id)) return (xc_kind)k;
  return XC_KIND_COUNT;
}

/* A workflow write: the change and its audit entry commit in one
 * transaction (xc_audit.h), and the call is then not recorded again. */
static int xc__wf_write(xc_ctx *ctx, xc_write_fn fn, void *arg, xc_err *err) {
  xc_audit_entry who;
  int rc;
  xc_audit_who(ctx, &who);
  rc = xc_store_write_audited(ctx->store, &who, fn, arg, err);
  if (rc == XC_OK) ctx->audit_done = 1;
  return rc;
}

/* Refuses callers whose certificate CN is not a xuncha identity. */
static int xc__need_identity(const xc_ctx *ctx, xc_err *err) {
  if (!ctx->has_identity)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate does not name a xuncha identity");
  return XC_OK;
}

/* Resolves an optional date: "" means today; otherwise a real date not after
 * today (a record of work done cannot be dated in the future). */
static int xc__date_arg(const char *field, const char *date, char out[11], xc_err *err) {
  char today[11], q[96];
  xc_clock_today_cst(today);
  if (date == NULL || date[0] == '\0') {
    memcpy(out, today, 11);
    return XC_OK;
  }
  if (!xc_date_valid(date))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s '%s' is not a date YYYY-MM-DD", field,
                      xc_record_quote(date, q, sizeof q));
  if (strcmp(date, today) > 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s %s is in the future (today is %s)", field,
                      date, today);
  xc_strlcpy(out, date, 11);
  return XC_OK;
}

/* Requires a non-empty etag. */
static int xc__need_etag(const char *field, const char *etag, const char *what, xc_err *err) {
  if (etag == NULL || etag[0] == '\0')
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is required: read the %s first", field, what);
  return XC_OK;
}

/* The ABORTED answer to a stale etag. */
static int xc__stale(const char *kind, const char *id, const char *sent, const char *stored,
                     xc_err *err) {
  char q[96];
  return xc_err_set(err, XC_EABORTED,
                    "%s %s has changed since it was read (etag sent '%s', stored '%s'): read it "
                    "again and reapply the change",
                    kind, id, xc_record_quote(sent, q, sizeof q), stored);
}

/* The FAILED_PRECONDITION answer for a voided record. */
static int xc__is_void(const char *kind, const char *id, xc_err *err) {
  return xc_err_set(err, XC_EFAILED_PRECONDITION, "%s %s is voided (作废); it cannot change", kind,
                    id);
}

/* Loads record id of kind on a fresh snapshot, readable by the caller. */
static int xc__load_readable(xc_ctx *ctx, xc_kind kind, const char *id, const char *field,
                             ProtobufCMessage **out, xc_err *err) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL;
  int rc = xc_validate_id(kind, id, field, 1, err);
  *out = NULL;
  if (rc == XC_OK) rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_get(snap, kind, id, &rec, err);
  if (rc != XC_OK) goto done;
  if (!xc_validate_may_read(&ctx->id, kind, rec) &&
      !(kind == XC_KIND_FINDING && ctx->id.role == XC_ROLE_AGENCY &&
        xc_workflow_agency_reads_finding(snap, &ctx->id, id))) {
    rc = xc_validate_read_denied(&ctx->id, kind, rec, err);
    goto done;
  }
  *out = rec;
  rec = NULL;
done:
  xc_snapshot_end(snap);
  xc_msg_free(rec);
  return rc;
}


/* Sets a string field, mapping failure to an error. */
static int xc__set(ProtobufCMessage *m, const char *field, const char *v, xc_err *err) {
  if (xc_msg_set_str(m, field, v != NULL ? v : "") != XC_OK)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory setting %s", field);
  return XC_OK;
}

/* ---------------------------------------------------------------- decorate */

void xc_workflow_decoration(xc_kind kind, const ProtobufCMessage *rec, const char *today,
                            xc_decoration *d) {
  char created[11];
  memset(d, 0, sizeof *d);
  xuncha__v1__finding_flags__init(&d->flags);
  if (kind == XC_KIND_FINDING) {
    const Xuncha__V1__Finding *f = (const Xuncha__V1__Finding *)rec;
    xc_wf_flags fl;
    xc_clock_date_of_ms(f->create_time_ms, created);
    xc_wf_finding_flags(f, today, created, xc__stalled_days, &fl);
    d->flags.overdue = fl.overdue;
    d->flags.paper_only = fl.paper_only;
    d->flags.stalled = fl.stalled;
    d->flags.reopened = fl.reopened;
    d->flags.days_to_deadline = fl.has_deadline ? (int32_t)fl.days_to_deadline : 0;
  } else if (kind == XC_KIND_LEAD) {
    const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
    const char *from = l->transfer_date;
    if (from == NULL || !xc_date_valid(from)) {
      xc_clock_date_of_ms(l->create_time_ms, created);
      from = created;
    }
    xc_wf_add_months(from, XC_WF_REPORT_MONTHS, d->report_due_date);
    d->report_overdue = l->disposal == XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING &&
                        strcmp(today, d->report_due_date) > 0;
  }
}

void xc_workflow_decoration_attach(xc_kind kind, ProtobufCMessage *rec, xc_decoration *d) {
  if (kind == XC_KIND_FINDING) {
    ((Xuncha__V1__Finding *)rec)->flags = &d->flags;
  } else if (kind == XC_KIND_LEAD) {
    Xuncha__V1__Lead *l = (Xuncha__V1__Lead *)rec;
    l->report_due_date = d->report_due_date;
    l->report_overdue = d->report_overdue;
  }
}

/* The decoration's field numbers of findings and leads, looked up by name
 * once: every record of a list asks for them. */
static uint32_t xc__deco_fields[2][XC_DECORATION_MAX_FIELDS];
static size_t xc__deco_n[2];
/* 1 when FindingFlags is the four bools and the int32 the hand packing
 * below writes, numbered 1 to 5 (else protobuf-c packs the flags). */
static int xc__flags_by_hand;
static pthread_once_t xc__deco_once = PTHREAD_ONCE_INIT;

/* Checks the shape xc__flags_pack assumes against the descriptor. */
static int xc__flags_shape_ok(void) {
  static const char *const names[5] = {"overdue", "paper_only", "stalled", "reopened",
                                       "days_to_deadline"};
  const ProtobufCMessageDescriptor *d = &xuncha__v1__finding_flags__descriptor;
  if (d->n_fields != 5) return 0;
  for (unsigned i = 0; i < 5; i++) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d, names[i]);
    if (f == NULL || f->id != i + 1 || f->label != PROTOBUF_C_LABEL_NONE ||
        f->type != (i < 4 ? PROTOBUF_C_TYPE_BOOL : PROTOBUF_C_TYPE_INT32))
      return 0;
  }
  return 1;
}

static void xc__deco_fields_make(void) {
  static const char *const names[2][3] = {{"flags", NULL, NULL},
                                          {"report_due_date", "report_overdue", NULL}};
  static const xc_kind kinds[2] = {XC_KIND_FINDING, XC_KIND_LEAD};
  for (size_t k = 0; k < 2; k++) {
    for (size_t i = 0; names[k][i] != NULL && xc__deco_n[k] < XC_DECORATION_MAX_FIELDS; i++) {
      const ProtobufCFieldDescriptor *fd =
          protobuf_c_message_descriptor_get_field_by_name(xc_kind_descriptor(kinds[k]),
                                                          names[k][i]);
      if (fd != NULL) xc__deco_fields[k][xc__deco_n[k]++] = fd->id;
    }
  }
  xc__flags_by_hand = xc__flags_shape_ok();
}

/*
 * Packs flags at out (room for XC_DECORATION_MAX_BYTES) as protobuf-c packs
 * a FindingFlags of that shape (xc__flags_shape_ok): in field order, a true
 * bool as 1, the int32 sign-extended to a 64-bit varint, and zero values
 * not at all. Returns the length.
 */
static size_t xc__flags_pack(const Xuncha__V1__FindingFlags *fl, uint8_t *out) {
  const protobuf_c_boolean b[4] = {fl->overdue, fl->paper_only, fl->stalled, fl->reopened};
  size_t n = 0;
  for (unsigned i = 0; i < 4; i++) {
    if (!b[i]) continue;
    out[n++] = (uint8_t)((i + 1) << 3 | XC_WIRE_VARINT);
    out[n++] = 1;
  }
  if (fl->days_to_deadline != 0) {
    out[n++] = (uint8_t)(5 << 3 | XC_WIRE_VARINT);
    n += xc_wire_put_varint(out + n, (uint64_t)(int64_t)fl->days_to_deadline);
  }
  return n;
}

size_t xc_workflow_decoration_fields(xc_kind kind, uint32_t fields[XC_DECORATION_MAX_FIELDS]) {
  size_t k = kind == XC_KIND_FINDING ? 0 : 1;
  if (kind != XC_KIND_FINDING && kind != XC_KIND_LEAD) return 0;
  (void)pthread_once(&xc__deco_once, xc__deco_fields_make);
  memcpy(fields, xc__deco_fields[k], xc__deco_n[k] * sizeof *fields);
  return xc__deco_n[k];
}

/* Writes a field tag at out; returns its length. */
static size_t xc__put_tag(uint8_t *out, uint32_t number, unsigned wire_type) {
  return xc_wire_put_varint(out, (uint64_t)number << 3 | wire_type);
}

size_t xc_workflow_decoration_pack(xc_kind kind, xc_decoration *d, uint8_t *out, size_t cap) {
  uint32_t fields[XC_DECORATION_MAX_FIELDS];
  size_t nf = xc_workflow_decoration_fields(kind, fields);
  size_t n = 0;
  /* Written by hand as protobuf-c writes these fields in a whole record
   * (the test "list replies are the stored bytes, decorated" holds the
   * two to the same bytes); packing a record of the kind to get them would
   * walk every field of its type for each record of a list. */
  if (cap < XC_DECORATION_MAX_BYTES) return 0;
  if (kind == XC_KIND_FINDING && nf == 1) {
    /* A message field is written even when all its fields are zero. */
    uint8_t body[XC_DECORATION_MAX_BYTES / 2];
    size_t len = xc__flags_by_hand ? xc__flags_pack(&d->flags, body)
                                   : protobuf_c_message_get_packed_size(&d->flags.base);
    if (len > 64) return 0;
    n += xc__put_tag(out + n, fields[0], XC_WIRE_LEN);
    n += xc_wire_put_varint(out + n, len);
    if (xc__flags_by_hand) {
      memcpy(out + n, body, len);
      n += len;
    } else {
      n += protobuf_c_message_pack(&d->flags.base, out + n);
    }
  } else if (kind == XC_KIND_LEAD && nf == 2) {
    /* proto3: an empty string and a false bool are not written. */
    size_t len = strnlen(d->report_due_date, sizeof d->report_due_date);
    if (len > 0) {
      n += xc__put_tag(out + n, fields[0], XC_WIRE_LEN);
      n += xc_wire_put_varint(out + n, len);
      memcpy(out + n, d->report_due_date, len);
      n += len;
    }
    if (d->report_overdue) {
      n += xc__put_tag(out + n, fields[1], XC_WIRE_VARINT);
      out[n++] = 1;
    }
  }
  return n;
}

int xc_workflow_decorate(xc_kind kind, ProtobufCMessage *rec, const char *today) {
  xc_decoration d;
  xc_workflow_decoration(kind, rec, today, &d);
  if (kind == XC_KIND_FINDING) {
    Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)rec;
    if (f->flags == NULL) {
      f->flags = malloc(sizeof *f->flags);
      if (f->flags == NULL) return XC_ERESOURCE_EXHAUSTED;
      xuncha__v1__finding_flags__init(f->flags);
    }
    f->flags->overdue = d.flags.overdue;
    f->flags->paper_only = d.flags.paper_only;
    f->flags->stalled = d.flags.stalled;
    f->flags->reopened = d.flags.reopened;
    f->flags->days_to_deadline = d.flags.days_to_deadline;
  } else if (kind == XC_KIND_LEAD) {
    Xuncha__V1__Lead *l = (Xuncha__V1__Lead *)rec;
    if (xc_msg_set_str(rec, "report_due_date", d.report_due_date) != XC_OK)
      return XC_ERESOURCE_EXHAUSTED;
    l->report_overdue = d.report_overdue;
  }
  return XC_OK;
}

/* ------------------------------------------------------------ directory */

/* Returns 1 if a directory kind names an agency (a unit that receives leads). */
static int xc__agency_kind(int kind) {
  return kind >= XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION &&
         kind <= XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_OTHER_UNIT;
}

int xc_workflow_validate_directory(Xuncha__V1__DirectoryEntry *d, int create,
                                   const xc_identity *who, xc_err *err) {
  xc_identity unit;
  xc_err perr;
  char q[96];
  if (d->region_code[0] == '\0')
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "directory.region_code is required");
  if (!xc_region_code_valid(d->region_code))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "directory.region_code '%s' is not a region code (2, 4, 6, 9 or 12 digits)",
                      xc_record_quote(d->region_code, q, sizeof q));
  if (create && !xc_may_create_in(who, d->region_code))
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not create a directory entry in region %s: offices create "
                      "records only inside their own region",
                      who->cn, d->region_code);
  if (xc_record_blank(d->name))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "directory.name is required");
  if (d->kind == 0) return xc_err_set(err, XC_EINVALID_ARGUMENT, "directory.kind is required");
  if (d->identity[0] == '\0')
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "directory.identity is required: agency:<region code>:<unit> for an "
                      "agency, office:<region code> for an office");
  if (xc_identity_parse(d->identity, "", &unit, &perr) != XC_OK ||
      (xc__agency_kind((int)d->kind) ? unit.role != XC_ROLE_AGENCY : unit.role != XC_ROLE_OFFICE))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "directory.identity '%s' does not fit kind %d: agencies are "
                      "agency:<region code>:<unit>, offices office:<region code>",
                      xc_record_quote(d->identity, q, sizeof q), (int)d->kind);
  if (strcmp(unit.region, d->region_code) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "directory.identity %s names region %s, not the entry's region_code %s",
                      d->identity, unit.region, d->region_code);
  return XC_OK;
}

typedef struct xc__dir_find {
  const char *skip_id;
  int found;  /* an entry with the identity, not voided */
  int agency; /* ... of an agency kind */
} xc__dir_find;

static int xc__dir_visit(void *c, ProtobufCMessage *rec) {
  xc__dir_find *df = c;
  const Xuncha__V1__DirectoryEntry *d = (const Xuncha__V1__DirectoryEntry *)rec;
  if (!d->voided && (df->skip_id == NULL || strcmp(d->id, df->skip_id) != 0)) {
    df->found = 1;
    if (xc__agency_kind((int)d->kind)) df->agency = 1;
  }
  xc_msg_free(rec);
  return 0;
}

int xc_workflow_check_refs(xc_kind kind, const ProtobufCMessage *rec,
                           const ProtobufCMessage *stored, xc_snapshot *snap, xc_err *err) {
  xc__dir_find df;
  int rc;
  memset(&df, 0, sizeof df);
  if (kind == XC_KIND_LEAD) {
    const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
    const Xuncha__V1__Lead *old = (const Xuncha__V1__Lead *)stored;
    if (old != NULL && strcmp(old->recipient, l->recipient) == 0) return XC_OK;
    /* Once an agency has recorded its handling, the lead stays with it: its
     * dispositions would otherwise describe another agency's lead. */
    if (old != NULL && old->disposal != 0 &&
        old->disposal != XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING)
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "lead %s is being handled by %s (%s); its recipient cannot change", old->id,
                        old->recipient, xc_wf_disposal_zh((int)old->disposal));
    rc = xc_snapshot_scan(snap, XC_KIND_DIRECTORY, XC_INDEX_RECIPIENT, l->recipient, NULL,
                          xc__dir_visit, &df, err);
    if (rc != XC_OK) return rc;
    if (!df.agency)
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "lead.recipient %s is not an agency in the directory: a lead is sent to "
                        "a directory entry (纪委监委, 派驻纪检组, 组织部 or another named unit); "
                        "create one first (xuncha directory create)",
                        l->recipient);
  }
  return XC_OK;
}

typedef struct xc__dir_create {
  const ProtobufCMessage *rec;
  const char *owner, *author, *scope, *request_id;
  const uint8_t *fp;
  ProtobufCMessage *out;
} xc__dir_create;

/* Creates (or, for a retried request_id, finds) the entry, then refuses it
 * if another entry not voided has the same identity: checked inside the
 * write, so two offices racing for one identity cannot both win. */
static int xc__dir_create_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__dir_create *a = c;
  ProtobufCMessage *copy = xc_msg_clone(a->rec);
  xc__dir_find df;
  int rc;
  xc_msg_free(a->out);
  a->out = NULL;
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create_once(txn, XC_KIND_DIRECTORY, copy, a->owner, a->author, a->scope,
                          a->request_id, a->fp, &a->out, err);
  xc_msg_free(copy);
  if (rc != XC_OK) return rc;
  memset(&df, 0, sizeof df);
  df.skip_id = xc_msg_get_str(a->out, "id");
  rc = xc_txn_scan(txn, XC_KIND_DIRECTORY, XC_INDEX_RECIPIENT,
                   ((const Xuncha__V1__DirectoryEntry *)a->out)->identity, NULL, xc__dir_visit, &df,
                   err);
  if (rc == XC_OK && df.found)
    rc = xc_err_set(err, XC_EALREADY_EXISTS,
                    "the directory already has an entry for %s (void it first to replace it)",
                    ((const Xuncha__V1__DirectoryEntry *)a->out)->identity);
  if (rc != XC_OK) {
    xc_msg_free(a->out);
    a->out = NULL;
  }
  return rc;
}

int xc_workflow_create_directory(xc_store *store, const ProtobufCMessage *rec, const char *owner,
                                 const char *author, const char *scope, const char *request_id,
                                 const uint8_t fingerprint[32], const xc_audit_entry *who,
                                 ProtobufCMessage **out, xc_err *err) {
  xc__dir_create a;
  int rc;
  memset(&a, 0, sizeof a);
  a.rec = rec;
  a.owner = owner;
  a.author = author;
  a.scope = scope;
  a.request_id = request_id;
  a.fp = fingerprint;
  rc = xc_store_write_audited(store, who, xc__dir_create_fn, &a, err);
  *out = rc == XC_OK ? a.out : NULL;
  if (rc != XC_OK) xc_msg_free(a.out);
  return rc;
}

typedef struct xc__agency_find {
  const char *finding_id;
  int found;
} xc__agency_find;

static int xc__agency_visit(void *c, ProtobufCMessage *rec) {
  xc__agency_find *af = c;
  if (strcmp(((const Xuncha__V1__Lead *)rec)->finding_id, af->finding_id) == 0) af->found = 1;
  xc_msg_free(rec);
  return af->found ? 1 : 0;
}

int xc_workflow_agency_reads_finding(xc_snapshot *snap, const xc_identity *who,
                                     const char *finding_id) {
  xc__agency_find af = {finding_id, 0};
  xc_err err;
  if (who->role != XC_ROLE_AGENCY || finding_id == NULL || finding_id[0] == '\0') return 0;
  if (xc_snapshot_scan(snap, XC_KIND_LEAD, XC_INDEX_RECIPIENT, who->cn, NULL, xc__agency_visit, &af,
                       &err) != XC_OK)
    return 0;
  return af.found;
}

/* ------------------------------------------------------------ round stage */

typedef struct xc__advance {
  const char *id, *etag, *author;
  int to;
  char date[11];
  ProtobufCMessage *out;
} xc__advance;

static int xc__advance_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__advance *a = c;
  ProtobufCMessage *m = NULL;
  Xuncha__V1__Round *r;
  Xuncha__V1__StageDate *sd = NULL, **grown;
  int rc;
  xc_msg_free(a->out);
  a->out = NULL;
  rc = xc_txn_get(txn, XC_KIND_ROUND, a->id, &m, err);
  if (rc != XC_OK) goto done;
  r = (Xuncha__V1__Round *)m;
  if (strcmp(r->etag, a->etag) != 0) {
    rc = xc__stale("round", a->id, a->etag, r->etag, err);
    goto done;
  }
  if (r->voided) {
    rc = xc__is_void("round", a->id, err);
    goto done;
  }
  rc = xc_wf_round_step((int)r->stage, a->to, err);
  if (rc != XC_OK) goto done;
  if (r->n_stage_dates > 0 && strcmp(a->date, r->stage_dates[r->n_stage_dates - 1]->date) < 0) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "date %s is before %s, the date of the round's current stage %s", a->date,
                    r->stage_dates[r->n_stage_dates - 1]->date, xc_wf_stage_zh((int)r->stage));
    goto done;
  }
  sd = malloc(sizeof *sd);
  grown = realloc(r->stage_dates, (r->n_stage_dates + 1) * sizeof *grown);
  if (grown != NULL) r->stage_dates = grown;
  if (sd == NULL || grown == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__stage_date__init(sd);
  sd->stage = (Xuncha__V1__RoundStage)a->to;
  r->stage_dates[r->n_stage_dates++] = sd;
  sd = NULL;
  r->stage = (Xuncha__V1__RoundStage)a->to;
  rc = xc__set(&r->stage_dates[r->n_stage_dates - 1]->base, "date", a->date, err);
  if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_ROUND, m, a->author, &a->out, err);
done:
  free(sd);
  xc_msg_free(m);
  return rc;
}

int xc_workflow_advance_round(xc_ctx *ctx, const Xuncha__V1__AdvanceRoundRequest *req,
                              ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *m = NULL;
  xc__advance a;
  char author[XC_AUTHOR_MAX];
  int rc;
  *out = NULL;
  memset(&a, 0, sizeof a);
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc__load_readable(ctx, XC_KIND_ROUND, req->id, "id", &m, err);
  if (rc == XC_OK) rc = xc_home_check_replica(XC_KIND_ROUND, req->id, ((Xuncha__V1__Round *)m)->owner, err);
  if (rc != XC_OK) goto done;
  if (!xc_may_write_owned(&ctx->id, ((Xuncha__V1__Round *)m)->owner)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not advance round %s: it belongs to %s, and only the owner moves "
                    "its stages",
                    ctx->id.cn, req->id, ((Xuncha__V1__Round *)m)->owner);
    goto done;
  }
  rc = xc__need_etag("etag", req->etag, "round", err);
  if (rc == XC_OK) rc = xc__date_arg("date", req->date, a.date, err);
  if (rc != XC_OK) goto done;
  xc_identity_author(&ctx->id, author, sizeof author);
  a.id = req->id;
  a.etag = req->etag;
  a.author = author;
  a.to = (int)req->to;
  rc = xc__wf_write(ctx, xc__advance_fn, &a, err);
  if (rc == XC_OK) {
    *out = a.out;
    a.out = NULL;
  }
done:
  xc_msg_free(a.out);
  xc_msg_free(m);
  return rc;
}

/* ---------------------------------------------------------- rectification */

/* Writes the derived state r into finding f (status and track). */
static int xc__rect_store(Xuncha__V1__Finding *f, const xc_wf_rect *r, xc_err *err) {
  Xuncha__V1__RectificationTrack *t;
  int rc;
  if (f->rectification == NULL) {
    f->rectification = malloc(sizeof *f->rectification);
    if (f->rectification == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    xuncha__v1__rectification__init(f->rectification);
  }
  if (f->track == NULL) {
    f->track = malloc(sizeof *f->track);
    if (f->track == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    xuncha__v1__rectification_track__init(f->track);
  }
  t = f->track;
  f->rectification->status = (Xuncha__V1__RectificationStatus)r->status;
  t->entries = r->entries;
  t->evidence_entries = r->evidence_entries;
  t->revocations = r->revocations;
  t->work_remains = r->work_remains;
  rc = xc__set(&t->base, "last_entry_date", r->last_entry_date, err);
  if (rc == XC_OK) rc = xc__set(&t->base, "done_date", r->done_date, err);
  if (rc == XC_OK) rc = xc__set(&t->base, "verified_date", r->verified_date, err);
  return rc;
}

/* Collects the records a scan visits into a growable array. */
typedef struct xc__collect {
  ProtobufCMessage **v;
  size_t n, cap;
  int include_void;
} xc__collect;

static int xc__collect_visit(void *c, ProtobufCMessage *rec) {
  xc__collect *col = c;
  if (!col->include_void && xc_workflow_voided(rec)) {
    xc_msg_free(rec);
    return 0;
  }
  if (col->n == col->cap) {
    /* A parent's history is bounded like any scan: past the budget the
     * derivation gives up rather than grow without limit. */
    size_t cap = col->cap ? col->cap * 2 : 16;
    ProtobufCMessage **g = cap <= XC_LIST_SCAN_BUDGET ? realloc(col->v, cap * sizeof *g) : NULL;
    if (g == NULL) {
      xc_msg_free(rec);
      return XC_ERESOURCE_EXHAUSTED;
    }
    col->v = g;
    col->cap = cap;
  }
  col->v[col->n++] = rec;
  return 0;
}

static void xc__collect_free(xc__collect *col) {
  for (size_t i = 0; i < col->n; i++) xc_msg_free(col->v[i]);
  free(col->v);
  memset(col, 0, sizeof *col);
}

/*
 * Recomputes a finding's rectification state from its progress entries and
 * verifications that are not voided, in the order they were written (ids
 * sort in creation order across kinds: compare them past the prefix).
 */
static int xc__rect_replay(xc_txn *txn, const Xuncha__V1__Finding *f, xc_wf_rect *r, xc_err *err) {
  xc__collect p, v;
  size_t i = 0, k = 0;
  int mode = f->rectification != NULL ? (int)f->rectification->mode : 0;
  int rc;
  memset(&p, 0, sizeof p);
  memset(&v, 0, sizeof v);
  xc_wf_rect_init(r);
  rc = xc_txn_scan(txn, XC_KIND_PROGRESS, XC_INDEX_PARENT, f->id, NULL, xc__collect_visit, &p, err);
  if (rc == XC_OK)
    rc = xc_txn_scan(txn, XC_KIND_VERIFICATION, XC_INDEX_PARENT, f->id, NULL, xc__collect_visit, &v,
                     err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory");
  while (rc == XC_OK && (i < p.n || k < v.n)) {
    int take_p = k == v.n || (i < p.n && strcmp(xc_msg_get_str(p.v[i], "id") + 2,
                                                xc_msg_get_str(v.v[k], "id") + 2) < 0);
    if (take_p) {
      const Xuncha__V1__ProgressEntry *e = (const Xuncha__V1__ProgressEntry *)p.v[i++];
      rc = xc_wf_rect_progress(r, mode, (int)e->step, e->date, e->n_evidence, err);
    } else {
      const Xuncha__V1__Verification *e = (const Xuncha__V1__Verification *)v.v[k++];
      rc = xc_wf_rect_verify(r, (int)e->action, e->date, err);
    }
  }
  xc__collect_free(&p);
  xc__collect_free(&v);
  return rc;
}

typedef struct xc__append {
  const char *finding_id, *etag, *author, *owner;
  const Xuncha__V1__ProgressEntry *entry; /* checked, date resolved */
  const Xuncha__V1__Verification *ver;    /* or this */
  ProtobufCMessage *out_child, *out_parent;
} xc__append;

static int xc__append_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__append *a = c;
  ProtobufCMessage *m = NULL, *child = NULL;
  Xuncha__V1__Finding *f;
  xc_wf_rect r;
  int rc;
  xc_msg_free(a->out_child);
  xc_msg_free(a->out_parent);
  a->out_child = a->out_parent = NULL;
  rc = xc_txn_get(txn, XC_KIND_FINDING, a->finding_id, &m, err);
  if (rc != XC_OK) goto done;
  f = (Xuncha__V1__Finding *)m;
  if (strcmp(f->etag, a->etag) != 0) {
    rc = xc__stale("finding", a->finding_id, a->etag, f->etag, err);
    goto done;
  }
  if (f->voided) {
    rc = xc__is_void("finding", a->finding_id, err);
    goto done;
  }
  xc_wf_rect_from_finding(f, &r);
  if (a->entry != NULL)
    rc = xc_wf_rect_progress(&r, f->rectification ? (int)f->rectification->mode : 0,
                             (int)a->entry->step, a->entry->date, a->entry->n_evidence, err);
  else
    rc = xc_wf_rect_verify(&r, (int)a->ver->action, a->ver->date, err);
  if (rc != XC_OK) goto done;
  child = xc_msg_clone(a->entry != NULL ? &a->entry->base : &a->ver->base);
  if (child == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc__set(child, "region_code", f->region_code, err);
  if (rc == XC_OK)
    rc = xc_txn_create(txn, a->entry != NULL ? XC_KIND_PROGRESS : XC_KIND_VERIFICATION, child,
                       a->owner, a->author, &a->out_child, err);
  if (rc == XC_OK && !xc_home_is_here(f->owner)) {
    /* A replica: only its home server changes it, and does when the entry
     * reaches it by sync (xc_workflow_rederive). */
    a->out_parent = m;
    m = NULL;
    goto done;
  }
  if (rc == XC_OK) rc = xc__rect_store(f, &r, err);
  if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_FINDING, m, a->author, &a->out_parent, err);
done:
  xc_msg_free(child);
  xc_msg_free(m);
  return rc;
}

/* Checks that the caller may write rectification records on finding f:
 * any office that may read it. */
static int xc__may_progress(const xc_identity *who, const Xuncha__V1__Finding *f, xc_err *err) {
  (void)f; /* readable already: xc__load_readable checked it */
  if (who->role != XC_ROLE_OFFICE)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not record rectification progress: only inspection offices do",
                      who->cn);
  return XC_OK;
}

/* Runs an append (progress or verification) and builds the response. */
static int xc__run_append(xc_ctx *ctx, xc__append *a, int progress, ProtobufCMessage **out,
                          xc_err *err) {
  char today[11];
  ProtobufCMessage *resp = NULL;
  int rc = xc__wf_write(ctx, xc__append_fn, a, err);
  if (rc != XC_OK) goto done;
  xc_clock_today_cst(today);
  rc = xc_workflow_decorate(XC_KIND_FINDING, a->out_parent, today);
  if (rc != XC_OK) {
    rc = xc_err_set(err, rc, "out of memory");
    goto done;
  }
  resp = xc_msg_new(progress ? &xuncha__v1__append_progress_response__descriptor
                          : &xuncha__v1__verification_response__descriptor);
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (progress) {
    Xuncha__V1__AppendProgressResponse *r = (Xuncha__V1__AppendProgressResponse *)resp;
    r->entry = (Xuncha__V1__ProgressEntry *)a->out_child;
    r->finding = (Xuncha__V1__Finding *)a->out_parent;
  } else {
    Xuncha__V1__VerificationResponse *r = (Xuncha__V1__VerificationResponse *)resp;
    r->verification = (Xuncha__V1__Verification *)a->out_child;
    r->finding = (Xuncha__V1__Finding *)a->out_parent;
  }
  a->out_child = a->out_parent = NULL;
  *out = resp;
done:
  xc_msg_free(a->out_child);
  xc_msg_free(a->out_parent);
  a->out_child = a->out_parent = NULL;
  return rc;
}

int xc_workflow_append_progress(xc_ctx *ctx, const Xuncha__V1__AppendProgressRequest *req,
                                ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *fm = NULL;
  Xuncha__V1__ProgressEntry *e = NULL;
  xc__append a;
  char author[XC_AUTHOR_MAX], date[11];
  int rc;
  *out = NULL;
  memset(&a, 0, sizeof a);
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  if (req->entry == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "entry is required");
    goto done;
  }
  rc =
      xc__load_readable(ctx, XC_KIND_FINDING, req->entry->finding_id, "entry.finding_id", &fm, err);
  if (rc == XC_OK) rc = xc__may_progress(&ctx->id, (Xuncha__V1__Finding *)fm, err);
  if (rc != XC_OK) goto done;
  e = (Xuncha__V1__ProgressEntry *)xc_msg_clone(&req->entry->base);
  if (e == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xc_record_strip_unknown(&e->base);
  xc_record_clear_output_only(XC_KIND_PROGRESS, &e->base);
  rc = xc_record_check_strings(XC_KIND_PROGRESS, &e->base, err);
  if (rc == XC_OK) rc = xc_record_check_enums(&e->base, "entry", err);
  if (rc == XC_OK && e->step == 0)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "entry.step is required: plan, progress or done");
  if (rc == XC_OK && xc_record_blank(e->text))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "entry.text is required");
  for (size_t i = 0; rc == XC_OK && i < e->n_evidence; i++)
    if (xc_record_blank(e->evidence[i]))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "entry.evidence[%zu] is empty", i);
  if (rc == XC_OK) rc = xc__date_arg("entry.date", e->date, date, err);
  if (rc == XC_OK) rc = xc__set(&e->base, "date", date, err);
  if (rc == XC_OK) rc = xc__need_etag("finding_etag", req->finding_etag, "finding", err);
  if (rc != XC_OK) goto done;
  xc_identity_author(&ctx->id, author, sizeof author);
  a.finding_id = e->finding_id;
  a.etag = req->finding_etag;
  a.author = author;
  a.owner = ctx->id.cn;
  a.entry = e;
  rc = xc__run_append(ctx, &a, 1, out, err);
done:
  xc_msg_free(e);
  xc_msg_free(fm);
  return rc;
}

int xc_workflow_verify(xc_ctx *ctx, int action, const char *finding_id, const char *etag,
                       const char *date, const char *text, ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *fm = NULL, *rm = NULL;
  Xuncha__V1__Verification v = XUNCHA__V1__VERIFICATION__INIT;
  xc_snapshot *snap = NULL;
  xc__append a;
  char author[XC_AUTHOR_MAX], day[11];
  int revoke = action == XUNCHA__V1__VERIFICATION_ACTION__VERIFICATION_ACTION_REVOKE;
  int rc;
  *out = NULL;
  memset(&a, 0, sizeof a);
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc__load_readable(ctx, XC_KIND_FINDING, finding_id, "finding_id", &fm, err);
  if (rc != XC_OK) goto done;
  /* Verification belongs to the office that owns the round or one above it,
   * never to the target's own office (which is below the round's owner). */
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK)
    rc = xc_snapshot_get(snap, XC_KIND_ROUND, ((Xuncha__V1__Finding *)fm)->round_id, &rm, err);
  xc_snapshot_end(snap);
  if (rc != XC_OK) goto done;
  if (ctx->id.role != XC_ROLE_OFFICE ||
      !xc_may_read_lead(&ctx->id, ((Xuncha__V1__Round *)rm)->owner, NULL)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not %s finding %s: verification (验收销号) is by the office that owns "
                    "round %s (%s) or an office above it, never by the target's own office",
                    ctx->id.cn, revoke ? "revoke the verification of" : "verify", finding_id,
                    ((Xuncha__V1__Round *)rm)->id, ((Xuncha__V1__Round *)rm)->owner);
    goto done;
  }
  if (text == NULL) text = "";
  rc = xc__date_arg("date", date, day, err);
  if (rc == XC_OK && strlen(text) > XC_MAX_TEXT_BYTES)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is %zu bytes; the limit is %d",
                    revoke ? "reason" : "note", strlen(text), XC_MAX_TEXT_BYTES);
  if (rc == XC_OK && !xc_utf8_valid(text, strlen(text)))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is not valid UTF-8", revoke ? "reason" : "note");
  if (rc == XC_OK && revoke && xc_record_blank(text))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "reason is required: say why the rectification was found not fixed");
  if (rc == XC_OK) rc = xc__need_etag("finding_etag", etag, "finding", err);
  if (rc != XC_OK) goto done;
  v.finding_id = (char *)finding_id;
  v.action = (Xuncha__V1__VerificationAction)action;
  v.date = day;
  if (revoke)
    v.reason = (char *)text;
  else
    v.note = (char *)text;
  xc_identity_author(&ctx->id, author, sizeof author);
  a.finding_id = finding_id;
  a.etag = etag;
  a.author = author;
  a.owner = ctx->id.cn;
  a.ver = &v;
  rc = xc__run_append(ctx, &a, 0, out, err);
done:
  xc_msg_free(fm);
  xc_msg_free(rm);
  return rc;
}

/* ------------------------------------------------------------------ leads */

/* The derived handling state of a lead. */
typedef struct xc__lead_state {
  int disposal;
  char date[11];
  int32_t counts[5]; /* by xc_wf_outcome_kind */
  /* Distinct persons: [0] party or government sanction, [1] organizational
   * handling, [2] judicial transfer (reports count 人 as well as 人次). */
  int32_t persons[3];
} xc__lead_state;

/* The persons group of an outcome kind: sanctions (party, government) are
 * one group, since the speech counts 党纪政务处分 together. */
static int xc__persons_group(int kind) { return kind == 1 || kind == 2 ? 0 : kind - 2; }

/* Applies one disposition to s. */
static int xc__lead_apply(xc__lead_state *s, const Xuncha__V1__LeadDisposition *d, xc_err *err) {
  int rc = xc_wf_lead_step(s->disposal, (int)d->disposal, err);
  if (rc != XC_OK) return rc;
  s->disposal = (int)d->disposal;
  xc_strlcpy(s->date, d->date, sizeof s->date);
  for (size_t i = 0; i < d->n_outcomes; i++) {
    int k = xc_wf_outcome_kind((int)d->outcomes[i]->measure);
    int seen = 0;
    if (k <= 0) continue;
    s->counts[k]++;
    /* Outcomes come only with a final disposal, so one disposition holds
     * all of a lead's: a person is new unless named earlier in it in the
     * same group. */
    for (size_t j = 0; j < i && !seen; j++) {
      int kj = xc_wf_outcome_kind((int)d->outcomes[j]->measure);
      seen = kj > 0 && xc__persons_group(kj) == xc__persons_group(k) &&
             strcmp(d->outcomes[j]->person, d->outcomes[i]->person) == 0;
    }
    if (!seen) s->persons[xc__persons_group(k)]++;
  }
  return XC_OK;
}

/* Writes s into lead l. */
static int xc__lead_store(Xuncha__V1__Lead *l, const xc__lead_state *s, xc_err *err) {
  if (l->outcomes == NULL) {
    l->outcomes = malloc(sizeof *l->outcomes);
    if (l->outcomes == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    xuncha__v1__outcome_counts__init(l->outcomes);
  }
  l->disposal = (Xuncha__V1__LeadDisposal)s->disposal;
  l->outcomes->party_sanctions = s->counts[1];
  l->outcomes->government_sanctions = s->counts[2];
  l->outcomes->organizational_handling = s->counts[3];
  l->outcomes->judicial_transfers = s->counts[4];
  l->outcomes->sanctioned_persons = s->persons[0];
  l->outcomes->handled_persons = s->persons[1];
  l->outcomes->judicial_persons = s->persons[2];
  return xc__set(&l->base, "disposal_date", s->date, err);
}

/* The state a lead holds now. */
static void xc__lead_state_of(const Xuncha__V1__Lead *l, xc__lead_state *s) {
  memset(s, 0, sizeof *s);
  s->disposal =
      l->disposal != 0 ? (int)l->disposal : XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING;
  xc_strlcpy(s->date, l->disposal_date ? l->disposal_date : "", sizeof s->date);
  if (l->outcomes != NULL) {
    s->counts[1] = l->outcomes->party_sanctions;
    s->counts[2] = l->outcomes->government_sanctions;
    s->counts[3] = l->outcomes->organizational_handling;
    s->counts[4] = l->outcomes->judicial_transfers;
    s->persons[0] = l->outcomes->sanctioned_persons;
    s->persons[1] = l->outcomes->handled_persons;
    s->persons[2] = l->outcomes->judicial_persons;
  }
}

/* Recomputes a lead's handling from its dispositions that are not voided. */
static int xc__lead_replay(xc_txn *txn, const Xuncha__V1__Lead *l, xc__lead_state *s, xc_err *err) {
  xc__collect d;
  int rc;
  memset(&d, 0, sizeof d);
  memset(s, 0, sizeof *s);
  s->disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING;
  rc = xc_txn_scan(txn, XC_KIND_DISPOSITION, XC_INDEX_PARENT, l->id, NULL, xc__collect_visit, &d,
                   err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory");
  for (size_t i = 0; rc == XC_OK && i < d.n; i++)
    rc = xc__lead_apply(s, (const Xuncha__V1__LeadDisposition *)d.v[i], err);
  xc__collect_free(&d);
  return rc;
}

typedef struct xc__dispose {
  const char *lead_id, *etag, *author, *owner;
  const Xuncha__V1__LeadDisposition *disp;
  ProtobufCMessage *out_child, *out_parent;
} xc__dispose;

static int xc__dispose_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__dispose *a = c;
  ProtobufCMessage *m = NULL, *child = NULL;
  Xuncha__V1__Lead *l;
  xc__lead_state s;
  int rc;
  xc_msg_free(a->out_child);
  xc_msg_free(a->out_parent);
  a->out_child = a->out_parent = NULL;
  rc = xc_txn_get(txn, XC_KIND_LEAD, a->lead_id, &m, err);
  if (rc != XC_OK) goto done;
  l = (Xuncha__V1__Lead *)m;
  if (strcmp(l->etag, a->etag) != 0) {
    rc = xc__stale("lead", a->lead_id, a->etag, l->etag, err);
    goto done;
  }
  if (l->voided) {
    rc = xc__is_void("lead", a->lead_id, err);
    goto done;
  }
  xc__lead_state_of(l, &s);
  rc = xc__lead_apply(&s, a->disp, err);
  if (rc != XC_OK) goto done;
  child = xc_msg_clone(&a->disp->base);
  if (child == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc__set(child, "region_code", l->region_code, err);
  if (rc == XC_OK) rc = xc__set(child, "lead_owner", l->owner, err);
  if (rc == XC_OK) rc = xc__set(child, "recipient", l->recipient, err);
  if (rc == XC_OK)
    rc = xc_txn_create(txn, XC_KIND_DISPOSITION, child, a->owner, a->author, &a->out_child, err);
  if (rc == XC_OK && !xc_home_is_here(l->owner)) {
    /* A replica lead: its home server derives its handling when the
     * disposition reaches it by sync (xc_workflow_rederive). */
    a->out_parent = m;
    m = NULL;
    goto done;
  }
  if (rc == XC_OK) rc = xc__lead_store(l, &s, err);
  if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_LEAD, m, a->author, &a->out_parent, err);
done:
  xc_msg_free(child);
  xc_msg_free(m);
  return rc;
}

int xc_workflow_record_disposition(xc_ctx *ctx, const Xuncha__V1__RecordDispositionRequest *req,
                                   ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *lm = NULL, *resp = NULL;
  Xuncha__V1__LeadDisposition *d = NULL;
  xc__dispose a;
  char author[XC_AUTHOR_MAX], date[11], today[11];
  int rc;
  *out = NULL;
  memset(&a, 0, sizeof a);
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  if (req->disposition == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "disposition is required");
    goto done;
  }
  rc = xc__load_readable(ctx, XC_KIND_LEAD, req->disposition->lead_id, "disposition.lead_id", &lm,
                         err);
  if (rc != XC_OK) goto done;
  if (strcmp(((Xuncha__V1__Lead *)lm)->recipient, ctx->id.cn) != 0) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not record how lead %s was handled: only its recipient, %s, does",
                    ctx->id.cn, ((Xuncha__V1__Lead *)lm)->id, ((Xuncha__V1__Lead *)lm)->recipient);
    goto done;
  }
  d = (Xuncha__V1__LeadDisposition *)xc_msg_clone(&req->disposition->base);
  if (d == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xc_record_strip_unknown(&d->base);
  xc_record_clear_output_only(XC_KIND_DISPOSITION, &d->base);
  rc = xc_record_check_strings(XC_KIND_DISPOSITION, &d->base, err);
  if (rc == XC_OK) rc = xc_record_check_enums(&d->base, "disposition", err);
  if (rc == XC_OK && d->disposal == 0)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "disposition.disposal is required");
  if (rc == XC_OK && d->n_outcomes > 0 && !xc_wf_lead_outcomes_allowed((int)d->disposal))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "disposition.outcomes are recorded only with 予以了结 (closed) or 作出处理决定 "
                    "(decided)");
  for (size_t i = 0; rc == XC_OK && i < d->n_outcomes; i++) {
    if (xc_record_blank(d->outcomes[i]->person))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "disposition.outcomes[%zu].person is required", i);
    else if (xc_wf_outcome_kind((int)d->outcomes[i]->measure) == 0)
      rc =
          xc_err_set(err, XC_EINVALID_ARGUMENT, "disposition.outcomes[%zu].measure is required", i);
  }
  if (rc == XC_OK) rc = xc__date_arg("disposition.date", d->date, date, err);
  if (rc == XC_OK) rc = xc__set(&d->base, "date", date, err);
  if (rc == XC_OK) rc = xc__need_etag("lead_etag", req->lead_etag, "lead", err);
  if (rc != XC_OK) goto done;
  xc_identity_author(&ctx->id, author, sizeof author);
  a.lead_id = d->lead_id;
  a.etag = req->lead_etag;
  a.author = author;
  a.owner = ctx->id.cn;
  a.disp = d;
  rc = xc__wf_write(ctx, xc__dispose_fn, &a, err);
  if (rc != XC_OK) goto done;
  xc_clock_today_cst(today);
  rc = xc_workflow_decorate(XC_KIND_LEAD, a.out_parent, today);
  resp = rc == XC_OK ? xc_msg_new(&xuncha__v1__record_disposition_response__descriptor) : NULL;
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  ((Xuncha__V1__RecordDispositionResponse *)resp)->disposition =
      (Xuncha__V1__LeadDisposition *)a.out_child;
  ((Xuncha__V1__RecordDispositionResponse *)resp)->lead = (Xuncha__V1__Lead *)a.out_parent;
  a.out_child = a.out_parent = NULL;
  *out = resp;
done:
  xc_msg_free(a.out_child);
  xc_msg_free(a.out_parent);
  xc_msg_free(d);
  xc_msg_free(lm);
  return rc;
}

/* ------------------------------------------------------------------- void */

/*
 * Returns 1 unless `child` (a progress entry, verification or disposition)
 * has a parent whose owner is at home on another server. A parent that
 * cannot be read counts as here, so the usual error comes from the code
 * that loads it.
 */
static int xc__parent_here(xc_txn *txn, xc_kind kind, const ProtobufCMessage *child) {
  ProtobufCMessage *pm = NULL;
  xc_err ignored;
  int here = 1;
  if (kind == XC_KIND_PROGRESS || kind == XC_KIND_VERIFICATION) {
    if (xc_txn_get(txn, XC_KIND_FINDING, xc_msg_get_str(child, "finding_id"), &pm, &ignored) ==
        XC_OK)
      here = xc_home_is_here(xc_msg_get_str(pm, "owner"));
  } else if (kind == XC_KIND_DISPOSITION) {
    if (xc_txn_get(txn, XC_KIND_LEAD, xc_msg_get_str(child, "lead_id"), &pm, &ignored) == XC_OK)
      here = xc_home_is_here(xc_msg_get_str(pm, "owner"));
  }
  xc_msg_free(pm);
  return here;
}

typedef struct xc__void {
  xc_kind kind;
  const char *id, *etag, *reason, *author;
  ProtobufCMessage *out, *out_parent;
} xc__void;

static int xc__void_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__void *a = c;
  ProtobufCMessage *m = NULL, *pm = NULL;
  protobuf_c_boolean *vb;
  const char *stored_etag;
  int rc;
  xc_msg_free(a->out);
  xc_msg_free(a->out_parent);
  a->out = a->out_parent = NULL;
  rc = xc_txn_get(txn, a->kind, a->id, &m, err);
  if (rc != XC_OK) goto done;
  stored_etag = xc_msg_get_str(m, "etag");
  if (strcmp(stored_etag, a->etag) != 0) {
    rc = xc__stale(xc_kind_name(a->kind), a->id, a->etag, stored_etag, err);
    goto done;
  }
  vb = xc__bool_field(m, "voided");
  if (vb == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "%s has no voided field", xc_kind_name(a->kind));
    goto done;
  }
  if (*vb) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%s %s is already voided", xc_kind_name(a->kind),
                    a->id);
    goto done;
  }
  if (a->kind == XC_KIND_DOCUMENT) {
    /* An archived round's documents are read-only (server/ARCHIVE.md). */
    rc = xc_txn_get(txn, XC_KIND_ROUND, ((Xuncha__V1__Document *)m)->round_id, &pm, err);
    if (rc == XC_OK &&
        ((Xuncha__V1__Round *)pm)->stage == XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ARCHIVED)
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "round %s is archived (立卷归档): its documents are read-only",
                      ((Xuncha__V1__Round *)pm)->id);
    xc_msg_free(pm);
    pm = NULL;
    if (rc != XC_OK) goto done;
  }
  *vb = 1;
  rc = xc__set(m, "void_reason", a->reason, err);
  if (rc == XC_OK) rc = xc_txn_update(txn, a->kind, m, a->author, &a->out, err);
  if (rc != XC_OK) goto done;
  /* A child's parent is re-derived from what is left, in this same write;
   * a replica parent is left to its home server (xc_workflow_rederive). */
  if (!xc__parent_here(txn, a->kind, m)) goto done;
  if (a->kind == XC_KIND_PROGRESS || a->kind == XC_KIND_VERIFICATION) {
    xc_wf_rect r;
    rc = xc_txn_get(txn, XC_KIND_FINDING, xc_msg_get_str(m, "finding_id"), &pm, err);
    if (rc == XC_OK) rc = xc__rect_replay(txn, (Xuncha__V1__Finding *)pm, &r, err);
    if (rc == XC_EFAILED_PRECONDITION) {
      char why[XC_ERR_MSG_MAX / 2];
      xc_strlcpy(why, err->msg, sizeof why);
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "voiding %s would leave the finding's later entries out of order (%s): "
                      "void the later entries first",
                      a->id, why);
    }
    if (rc == XC_OK) rc = xc__rect_store((Xuncha__V1__Finding *)pm, &r, err);
    if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_FINDING, pm, a->author, &a->out_parent, err);
  } else if (a->kind == XC_KIND_DISPOSITION) {
    xc__lead_state s;
    rc = xc_txn_get(txn, XC_KIND_LEAD, xc_msg_get_str(m, "lead_id"), &pm, err);
    if (rc == XC_OK) rc = xc__lead_replay(txn, (Xuncha__V1__Lead *)pm, &s, err);
    if (rc == XC_EFAILED_PRECONDITION) {
      char why[XC_ERR_MSG_MAX / 2];
      xc_strlcpy(why, err->msg, sizeof why);
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "voiding %s would leave the lead's later dispositions out of order (%s): "
                      "void the later ones first",
                      a->id, why);
    }
    if (rc == XC_OK) rc = xc__lead_store((Xuncha__V1__Lead *)pm, &s, err);
    if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_LEAD, pm, a->author, &a->out_parent, err);
  }
done:
  xc_msg_free(pm);
  xc_msg_free(m);
  return rc;
}

int xc_workflow_void(xc_ctx *ctx, const Xuncha__V1__VoidRecordRequest *req, ProtobufCMessage **out,
                     xc_err *err) {
  ProtobufCMessage *m = NULL;
  Xuncha__V1__VoidRecordResponse *resp = NULL;
  xc__void a;
  char author[XC_AUTHOR_MAX], q[96];
  const char *owner;
  int rc;
  *out = NULL;
  memset(&a, 0, sizeof a);
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  a.kind = xc_workflow_kind_of_id(req->id);
  if (a.kind == XC_KIND_COUNT) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "id '%s' is not a record id",
                    xc_record_quote(req->id, q, sizeof q));
    goto done;
  }
  rc = xc__load_readable(ctx, a.kind, req->id, "id", &m, err);
  if (rc != XC_OK) goto done;
  owner = xc_msg_get_str(m, "owner");
  rc = xc_home_check_replica(a.kind, req->id, owner, err);
  if (rc != XC_OK) goto done;
  if (strcmp(owner, ctx->id.cn) != 0) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not void %s %s: it belongs to %s, and only the owner voids a record",
                    ctx->id.cn, xc_kind_name(a.kind), req->id, owner);
    goto done;
  }
  if (xc_record_blank(req->reason)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "reason is required: say why the record is void");
    goto done;
  }
  if (strlen(req->reason) > XC_MAX_NAME_BYTES || !xc_utf8_valid(req->reason, strlen(req->reason))) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "reason must be valid UTF-8 of at most %d bytes",
                    XC_MAX_NAME_BYTES);
    goto done;
  }
  rc = xc__need_etag("etag", req->etag, xc_kind_name(a.kind), err);
  if (rc != XC_OK) goto done;
  xc_identity_author(&ctx->id, author, sizeof author);
  a.id = req->id;
  a.etag = req->etag;
  a.reason = req->reason;
  a.author = author;
  rc = xc__wf_write(ctx, xc__void_fn, &a, err);
  if (rc != XC_OK) goto done;
  resp = (Xuncha__V1__VoidRecordResponse *)xc_msg_new(&xuncha__v1__void_record_response__descriptor);
  rc = resp == NULL ? XC_ERESOURCE_EXHAUSTED : XC_OK;
  if (rc == XC_OK) rc = xc__set(&resp->base, "kind", xc_kind_name(a.kind), err);
  if (rc == XC_OK) rc = xc__set(&resp->base, "id", a.id, err);
  if (rc == XC_OK) rc = xc__set(&resp->base, "etag", xc_msg_get_str(a.out, "etag"), err);
  if (rc == XC_OK) rc = xc__set(&resp->base, "void_reason", a.reason, err);
  if (rc == XC_OK && a.out_parent != NULL) {
    rc = xc__set(&resp->base, "parent_id", xc_msg_get_str(a.out_parent, "id"), err);
    if (rc == XC_OK)
      rc = xc__set(&resp->base, "parent_etag", xc_msg_get_str(a.out_parent, "etag"), err);
  }
  if (rc != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  *out = &resp->base;
  resp = NULL;
done:
  xc_msg_free(resp);
  xc_msg_free(a.out);
  xc_msg_free(a.out_parent);
  xc_msg_free(m);
  return rc;
}

/* ------------------------------------------------------------------ stats */

typedef struct xc__stats {
  const xc_identity *who;
  const xc_list_filter *f;
  const char *today;
  Xuncha__V1__RectificationStats *s;
  size_t scanned;
  int rc;
} xc__stats;

static int xc__stats_visit(void *c, ProtobufCMessage *rec) {
  xc__stats *st = c;
  Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)rec;
  int rc = 0;
  if (++st->scanned > XC_LIST_SCAN_BUDGET) {
    st->rc = XC_ERESOURCE_EXHAUSTED;
    rc = 1;
  } else if (xc_list_match(XC_KIND_FINDING, st->who, st->f, rec)) {
    if (xc_workflow_decorate(XC_KIND_FINDING, rec, st->today) != XC_OK) {
      rc = XC_ERESOURCE_EXHAUSTED;
    } else {
      int status = f->rectification ? (int)f->rectification->status : 0;
      st->s->total++;
      if (xc_wf_rect_completed(status)) st->s->completed++;
      if (status == XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED)
        st->s->verified++;
      st->s->overdue += f->flags->overdue;
      st->s->paper_only += f->flags->paper_only;
      st->s->stalled += f->flags->stalled;
      st->s->reopened += f->flags->reopened;
    }
  }
  xc_msg_free(rec);
  return rc;
}

int xc_workflow_stats(xc_ctx *ctx, const Xuncha__V1__RectificationStatsRequest *req,
                      ProtobufCMessage **out, xc_err *err) {
  xc_list_filter f;
  xc_list_plan plan;
  xc_snapshot *snap = NULL;
  xc__stats st;
  char today[11];
  Xuncha__V1__RectificationStats *s = NULL;
  int rc;
  *out = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  xc_list_filter_init(&f);
  f.round_id = req->round_id;
  f.target_id = req->target_id;
  f.region_prefix = req->region_prefix;
  rc = xc_list_filter_check(XC_KIND_FINDING, &f, 0, err);
  if (rc != XC_OK) goto done;
  s = (Xuncha__V1__RectificationStats *)xc_msg_new(&xuncha__v1__rectification_stats__descriptor);
  if (s == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xc_list_plan_make(XC_KIND_FINDING, &ctx->id, &f, &plan);
  if (!plan.empty) {
    xc_clock_today_cst(today);
    memset(&st, 0, sizeof st);
    st.who = &ctx->id;
    st.f = &f;
    st.today = today;
    st.s = s;
    rc = xc_snapshot_begin(ctx->store, &snap, err);
    if (rc == XC_OK)
      rc = xc_snapshot_scan(snap, XC_KIND_FINDING, plan.index, plan.key, NULL, xc__stats_visit, &st,
                            err);
    if (rc == XC_OK && st.rc != XC_OK)
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                      "more than %d findings to count: narrow the request by round, target or "
                      "region_prefix",
                      XC_LIST_SCAN_BUDGET);
    else if (rc == XC_ERESOURCE_EXHAUSTED)
      rc = xc_err_set(err, rc, "out of memory");
    if (rc != XC_OK) goto done;
  }
  s->completion_rate = s->total > 0 ? (double)s->completed / (double)s->total : 0.0;
  *out = &s->base;
  s = NULL;
done:
  xc_snapshot_end(snap);
  xc_msg_free(s);
  return rc;
}

int xc_workflow_rederive(xc_txn *txn, xc_kind kind, const ProtobufCMessage *child,
                         const char *author, int *changed, xc_err *err) {
  ProtobufCMessage *pm = NULL;
  uint8_t *before = NULL, *after = NULL;
  size_t before_len = 0, after_len = 0;
  int rc = XC_OK;
  *changed = 0;
  if (kind == XC_KIND_PROGRESS || kind == XC_KIND_VERIFICATION)
    rc = xc_txn_get(txn, XC_KIND_FINDING, xc_msg_get_str(child, "finding_id"), &pm, err);
  else if (kind == XC_KIND_DISPOSITION)
    rc = xc_txn_get(txn, XC_KIND_LEAD, xc_msg_get_str(child, "lead_id"), &pm, err);
  else
    goto done;
  /* The parent may not have arrived (or may live elsewhere): nothing to
   * derive here; its home server derives it. */
  if (rc == XC_ENOT_FOUND) {
    xc_err_clear(err);
    rc = XC_OK;
    goto done;
  }
  if (rc != XC_OK || !xc_home_is_here(xc_msg_get_str(pm, "owner"))) goto done;
  before = xc_msg_pack(pm, 0, &before_len);
  if (before == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (kind == XC_KIND_DISPOSITION) {
    xc__lead_state s;
    rc = xc__lead_replay(txn, (Xuncha__V1__Lead *)pm, &s, err);
    if (rc == XC_OK) rc = xc__lead_store((Xuncha__V1__Lead *)pm, &s, err);
  } else {
    xc_wf_rect r;
    rc = xc__rect_replay(txn, (Xuncha__V1__Finding *)pm, &r, err);
    if (rc == XC_OK) rc = xc__rect_store((Xuncha__V1__Finding *)pm, &r, err);
  }
  if (rc != XC_OK) goto done;
  after = xc_msg_pack(pm, 0, &after_len);
  if (after == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (after_len == before_len && memcmp(after, before, after_len) == 0) goto done;
  rc = xc_txn_update(txn, kind == XC_KIND_DISPOSITION ? XC_KIND_LEAD : XC_KIND_FINDING, pm,
                     author, NULL, err);
  if (rc == XC_OK) *changed = 1;
done:
  free(before);
  free(after);
  xc_msg_free(pm);
  return rc;
}
