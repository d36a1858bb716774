#include "xc_audit.h"
#include "xc_service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_arena.h"
#include "xc_home.h"
#include "xc_msg.h"
#include "xc_pagetoken.h"
#include "xc_rawrec.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_validate.h"
#include "xc_replybuf.h"
#include "xc_workflow.h"

/* Looks records up in a store snapshot, for validation. */
static int xc__snap_get(void *snap, xc_kind kind, const char *id, ProtobufCMessage **out,
                        xc_err *err) {
  return xc_snapshot_get((xc_snapshot *)snap, kind, id, out, err);
}

/*
 * A lookup for validating creates and updates (xc_lookup): get hands out
 * heap records from the snapshot as before; borrow unpacks into an arena
 * that lives until the validation is over, so the round and target a
 * finding refers to cost no malloc or free per field.
 */
typedef struct xc__lender {
  xc_snapshot *snap;
  xc_arena arena;
} xc__lender;

static int xc__lender_get(void *c, xc_kind kind, const char *id, ProtobufCMessage **out,
                          xc_err *err) {
  return xc_snapshot_get(((xc__lender *)c)->snap, kind, id, out, err);
}

/* What the borrow visitor fills in. */
typedef struct xc__lend {
  xc_arena *arena;
  const ProtobufCMessageDescriptor *desc;
  ProtobufCMessage *msg;
} xc__lend;

static int xc__lend_visit(void *c, const char *id, size_t id_len, const uint8_t *bytes,
                          size_t len) {
  xc__lend *l = c;
  (void)id;
  (void)id_len;
  l->msg = xc_arena_unpack(l->arena, l->desc, bytes, len);
  return XC_OK;
}

static int xc__lender_borrow(void *c, xc_kind kind, const char *id, ProtobufCMessage **out,
                             xc_err *err) {
  xc__lender *ln = c;
  xc__lend l = {&ln->arena, xc_kind_descriptor(kind), NULL};
  int rc;
  *out = NULL;
  if (l.desc == NULL) return xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
  ln->arena.failed = 0;
  rc = xc_snapshot_get_raw(ln->snap, kind, id, xc__lend_visit, &l, err);
  if (rc != XC_OK) return rc;
  if (l.msg == NULL)
    return ln->arena.failed
               ? xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory reading %s %s",
                            xc_kind_name(kind), id)
               : xc_err_set(err, XC_EDATA_LOSS, "the stored %s %s does not decode",
                            xc_kind_name(kind), id);
  *out = l.msg;
  return XC_OK;
}

/* Refuses callers whose certificate CN is not a xuncha identity. */
static int xc__need_identity(const xc_ctx *ctx, xc_err *err) {
  if (!ctx->has_identity)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate does not name a xuncha identity");
  return XC_OK;
}

/* A create as the writer runs it (xc__create_write). */
typedef struct xc__create_job {
  xc_kind kind;
  ProtobufCMessage *rec; /* the caller's copy: becomes the stored record */
  const char *owner, *author, *scope, *request_id;
  const uint8_t *fingerprint;
  ProtobufCMessage *existing; /* the record an earlier use of request_id made */
} xc__create_job;

/*
 * Stores job->rec as a new record, in place: the writer sets its id, etag,
 * times, owner and authors on the caller's copy itself, so after the write
 * that copy IS the stored record and nothing is cloned for the writer or
 * unpacked again for the reply (the generic xc_store_create does both).
 * A replay (the batch runs again) sets those fields afresh. A request_id
 * used before gives its first record in job->existing instead.
 */
static int xc__create_write(xc_txn *txn, void *arg, xc_err *err) {
  xc__create_job *j = arg;
  int used = 0;
  xc_msg_free(j->existing);
  j->existing = NULL;
  if (j->request_id[0] != '\0') {
    used = xc_txn_request_used(txn, j->kind, j->scope, j->request_id, err);
    if (used < 0) return used;
  }
  return xc_txn_create_once(txn, j->kind, j->rec, j->owner, j->author, j->scope, j->request_id,
                            j->fingerprint, used ? &j->existing : NULL, err);
}

int xc_service_create(xc_ctx *ctx, xc_kind kind, const ProtobufCMessage *sent,
                      const char *request_id, ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *rec = NULL;
  xc_snapshot *snap = NULL;
  uint8_t fp[32];
  char today[11], owner[XC_REGION_MAX_DIGITS + 16], author[XC_AUTHOR_MAX];
  xc_audit_entry who;
  size_t rid_len;
  int rc;

  *out = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  if (sent == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is required", xc_kind_name(kind));
    goto done;
  }
  if (request_id == NULL) request_id = "";
  rid_len = strnlen(request_id, XC_MAX_REQUEST_ID_BYTES + 1);
  if (rid_len > XC_MAX_REQUEST_ID_BYTES) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "request_id is %zu bytes; the limit is %d",
                    strlen(request_id), XC_MAX_REQUEST_ID_BYTES);
    goto done;
  }
  if (!xc_utf8_valid(request_id, rid_len)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "request_id is not valid UTF-8");
    goto done;
  }
  /* Copied field by field: cheaper than the pack and unpack of a clone. */
  rec = xc_msg_copy(sent);
  if (rec == NULL) {
    rc =
        xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory copying the %s", xc_kind_name(kind));
    goto done;
  }
  xc_record_strip_unknown(rec);
  xc_record_clear_output_only(kind, rec);
  /* The fingerprint covers what the client asked for, before derivation,
   * so a retry of the same request matches even if derived data moved. It
   * only tells retries of a request_id apart: without one (it would pack
   * and hash the whole record for nothing) it stays zero. */
  memset(fp, 0, sizeof fp);
  rc = rid_len > 0 ? xc_record_fingerprint(rec, fp) : XC_OK;
  if (rc != XC_OK) {
    rc = xc_err_set(err, rc, "cannot fingerprint the request");
    goto done;
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc != XC_OK) goto done;
  xc_today_cst(today);
  {
    xc__lender ln;
    xc_lookup lk = {xc__lender_get, &ln, xc__lender_borrow};
    ln.snap = snap;
    xc_arena_init(&ln.arena);
    rc = xc_validate_record(kind, rec, XC_VALIDATE_CREATE, &ctx->id, &lk, today, err);
    xc_arena_destroy(&ln.arena);
  }
  if (rc == XC_OK) rc = xc_workflow_check_refs(kind, rec, NULL, snap, err);
  xc_snapshot_end(snap);
  snap = NULL;
  if (rc != XC_OK) goto done;
  xc_identity_owner(&ctx->id, owner, sizeof owner);
  xc_identity_author(&ctx->id, author, sizeof author);
  xc_audit_who(ctx, &who);
  if (kind == XC_KIND_DIRECTORY)
    rc = xc_workflow_create_directory(ctx->store, rec, owner, author, ctx->id.cn, request_id, fp,
                                      &who, out, err);
  else {
    xc__create_job job = {kind, rec, owner, author, ctx->id.cn, request_id, fp, NULL};
    rc = xc_store_write_audited(ctx->store, &who, xc__create_write, &job, err);
    if (rc == XC_OK && job.existing != NULL) {
      *out = job.existing;
      job.existing = NULL;
    } else if (rc == XC_OK) {
      *out = rec;
      rec = NULL;
    }
    xc_msg_free(job.existing);
  }
  /* The record and its audit entry committed together (xc_audit.h). */
  if (rc == XC_OK) ctx->audit_done = 1;
  /* Every record returned carries its read-time flags, as a Get would. */
  if (rc == XC_OK && xc_workflow_decorate(kind, *out, today) != XC_OK) {
    xc_msg_free(*out);
    *out = NULL;
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
done:
  xc_snapshot_end(snap);
  xc_msg_free(rec);
  return rc;
}

/*
 * Federation (server/SYNC.md): a lead is held on its owner's home server,
 * the servers above it, and the server its agency is at home on. If the
 * agency's server is none of the first, moving the lead to another agency
 * would leave that server holding a lead no longer sent there (nothing is
 * ever deleted, and a lead never flows down to it again), so such a lead
 * keeps its recipient: to send it elsewhere, void it and transfer a new one.
 */
static int xc__lead_stays(const ProtobufCMessage *stored, const ProtobufCMessage *merged,
                          xc_err *err) {
  const char *was = xc_msg_get_str(stored, "recipient");
  const char *now = xc_msg_get_str(merged, "recipient");
  const char *was_home, *owner_home;
  if (!xc_home_enabled() || strcmp(was, now) == 0) return XC_OK;
  was_home = xc_home_of(was);
  owner_home = xc_home_of(xc_msg_get_str(stored, "owner"));
  if (was_home == NULL || owner_home == NULL || xc_home_within(owner_home, was_home))
    return XC_OK;
  return xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "lead.recipient cannot move from %s to %s: the lead went to server %s for "
                    "%s alone, and that copy cannot be taken back; void this lead and transfer "
                    "a new one to %s",
                    was, now, was_home, was, now);
}

/* The partial unpacks of the read checks, one per kind (xc_list_check_fields),
 * made on first use and read-only after. */
static xc_rawrec_plan xc__plans[XC_KIND_COUNT];
static pthread_once_t xc__plans_once = PTHREAD_ONCE_INIT;

static void xc__plans_make(void) {
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    const char *const *names = NULL;
    size_t n = xc_list_check_fields((xc_kind)k, &names);
    const ProtobufCMessageDescriptor *desc =
        xc_kind_used((xc_kind)k) ? xc_kind_descriptor((xc_kind)k) : NULL;
    /* No names: an empty, unusable plan, so such records unpack whole. */
    xc_rawrec_plan_make(desc, names, n, &xc__plans[k]);
    if (n == 0) xc__plans[k].usable = 0;
  }
}

/* Returns the plan of kind's read checks; desc is the kind's type. */
static const xc_rawrec_plan *xc__plan_of(xc_kind kind, const ProtobufCMessageDescriptor *desc) {
  (void)pthread_once(&xc__plans_once, xc__plans_make);
  if ((int)kind < 0 || kind >= XC_KIND_COUNT || xc__plans[kind].desc != desc) return NULL;
  return &xc__plans[kind];
}

/* Unpacks a stored record of `kind` for the read checks: only the fields
 * they read when the kind has a plan, else whole (xc_rawrec_unpack_some). */
static ProtobufCMessage *xc__unpack_checked(xc_rawrec *raw, xc_kind kind,
                                            const ProtobufCMessageDescriptor *desc,
                                            const uint8_t *bytes, size_t len, int *no_room) {
  const xc_rawrec_plan *plan = xc__plan_of(kind, desc);
  if (plan == NULL) return xc_rawrec_unpack(raw, desc, bytes, len, no_room);
  return xc_rawrec_unpack_some(raw, plan, bytes, len, no_room);
}

/* A Get as its raw visitor sees it. */
typedef struct xc__get_state {
  xc_ctx *ctx;
  xc_kind kind;
  xc_snapshot *snap;
  xc_rawrec *raw;
  xc_err *err;
  ProtobufCMessage *out;
} xc__get_state;

/*
 * Checks the caller may read the stored record and makes the reply from its
 * stored bytes, as a list does (xc_rawrec.h): the access check and the
 * read-time fields work on an arena unpack, and the reply is the stored
 * bytes with the read-time fields packed anew.
 */
static int xc__get_visit(void *c, const char *key_id, size_t key_id_len, const uint8_t *bytes,
                         size_t len) {
  xc__get_state *g = c;
  const ProtobufCMessageDescriptor *desc = xc_kind_descriptor(g->kind);
  ProtobufCMessage *rec, *heap = NULL;
  xc_decoration deco;
  uint8_t deco_bytes[XC_DECORATION_MAX_BYTES];
  uint32_t fields[XC_DECORATION_MAX_FIELDS];
  size_t deco_len, n_fields, packed;
  char id[XC_ID_MAX];
  int no_room = 0, rc = XC_OK;

  rec = xc__unpack_checked(g->raw, g->kind, desc, bytes, len, &no_room);
  if (rec == NULL && no_room) rec = heap = protobuf_c_message_unpack(desc, NULL, len, bytes);
  if (rec == NULL) {
    rc = no_room ? xc_err_set(g->err, XC_ERESOURCE_EXHAUSTED, "out of memory reading the %s",
                              xc_kind_name(g->kind))
                 : xc_err_set(g->err, XC_EDATA_LOSS, "the stored %s %.*s does not decode",
                              xc_kind_name(g->kind), (int)key_id_len, key_id);
    goto done;
  }
  {
    const char *rid = xc_rawrec_id(g->raw, rec);
    xc_strlcpy(id, rid != NULL ? rid : "", sizeof id);
  }
  if (!xc_validate_may_read(&g->ctx->id, g->kind, rec) &&
      !(g->kind == XC_KIND_FINDING && xc_workflow_agency_reads_finding(g->snap, &g->ctx->id, id))) {
    rc = xc_validate_read_denied(&g->ctx->id, g->kind, rec, g->err);
    goto done;
  }
  {
    char today[11];
    xc_today_cst(today);
    xc_workflow_decoration(g->kind, rec, today, &deco);
  }
  deco_len = xc_workflow_decoration_pack(g->kind, &deco, deco_bytes, sizeof deco_bytes);
  n_fields = xc_workflow_decoration_fields(g->kind, fields);
  rc = xc_rawrec_reply(g->raw, desc, id, bytes, len, deco_bytes, deco_len, fields, n_fields,
                       &g->out, &packed);
  if (rc == XC_ERESOURCE_EXHAUSTED)
    rc = xc_err_set(g->err, rc, "out of memory replying with %s %s", xc_kind_name(g->kind), id);
  else if (rc != XC_OK)
    rc = xc_err_set(g->err, rc, "the stored %s %s is damaged", xc_kind_name(g->kind), id);
done:
  xc_msg_free(heap);
  return rc;
}

int xc_service_get(xc_ctx *ctx, xc_kind kind, const char *id, ProtobufCMessage **out, xc_err *err) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL;
  int rc;

  *out = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc_validate_id(kind, id, "id", 1, err);
  if (rc == XC_OK) rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_get(snap, kind, id, &rec, err);
  if (rc != XC_OK) goto done;
  if (!xc_validate_may_read(&ctx->id, kind, rec) &&
      !(kind == XC_KIND_FINDING && xc_workflow_agency_reads_finding(snap, &ctx->id, id))) {
    rc = xc_validate_read_denied(&ctx->id, kind, rec, err);
    goto done;
  }
  {
    char today[11];
    xc_today_cst(today);
    if (xc_workflow_decorate(kind, rec, today) != XC_OK) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  }
  *out = rec;
  rec = NULL;
done:
  xc_snapshot_end(snap);
  xc_msg_free(rec);
  return rc;
}

int xc_service_get_reply(xc_ctx *ctx, xc_kind kind, const char *id, ProtobufCMessage **out,
                         xc_err *err) {
  xc__get_state g;
  int rc;

  *out = NULL;
  memset(&g, 0, sizeof g);
  g.ctx = ctx;
  g.kind = kind;
  g.err = err;
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc_snapshot_begin(ctx->store, &g.snap, err);
  if (rc == XC_OK) {
    g.raw = xc_rawrec_acquire();
    if (g.raw == NULL) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (rc == XC_OK) rc = xc_snapshot_get_raw(g.snap, kind, id, xc__get_visit, &g, err);
  /* The store finds no record under an id that is not well formed, so the
   * id is checked for the caller's error only when nothing was found: a
   * Get of a real record checks its id once (in the store), not twice. */
  if (rc == XC_ENOT_FOUND) {
    int vrc = xc_validate_id(kind, id, "id", 1, err);
    if (vrc != XC_OK) rc = vrc;
  }
  if (rc == XC_OK) {
    *out = g.out;
    g.out = NULL;
  }
  xc_rawrec_release(g.raw);
  xc_snapshot_end(g.snap);
  xc_msg_free(g.out);
  return rc;
}

int xc_service_update(xc_ctx *ctx, xc_kind kind, const ProtobufCMessage *sent, char *const *mask,
                      size_t n_mask, ProtobufCMessage **out, xc_err *err) {
  const char *name = xc_kind_name(kind);
  xc_snapshot *snap = NULL;
  ProtobufCMessage *stored = NULL, *merged = NULL;
  char field[64], author[XC_AUTHOR_MAX], q1[96], q2[96];
  const char *id, *etag, *owner, *stored_etag;
  int rc;

  *out = NULL;
  rc = xc__need_identity(ctx, err);
  if (rc != XC_OK) goto done;
  if (sent == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is required", name);
    goto done;
  }
  id = xc_msg_get_str(sent, "id");
  etag = xc_msg_get_str(sent, "etag");
  (void)snprintf(field, sizeof field, "%s.id", name);
  rc = xc_validate_id(kind, id, field, 1, err);
  if (rc != XC_OK) goto done;
  if (etag[0] == '\0') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.etag is required: read the record first", name);
    goto done;
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_get(snap, kind, id, &stored, err);
  if (rc != XC_OK) goto done;

  /* Who may write comes before any check of what was sent. */
  if (!xc_validate_may_read(&ctx->id, kind, stored)) {
    rc = xc_validate_read_denied(&ctx->id, kind, stored, err);
    goto done;
  }
  owner = xc_msg_get_str(stored, "owner");
  rc = xc_home_check_replica(kind, id, owner, err);
  if (rc != XC_OK) goto done;
  if (!xc_may_write_owned(&ctx->id, owner)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not change %s %s: it belongs to %s, and only the owner changes a "
                    "record",
                    ctx->id.cn, name, id, owner);
    goto done;
  }
  stored_etag = xc_msg_get_str(stored, "etag");
  if (strcmp(etag, stored_etag) != 0) {
    rc = xc_err_set(err, XC_EABORTED,
                    "%s %s has changed since it was read (etag sent '%s', stored '%s'): read "
                    "it again and reapply the change",
                    name, id, xc_record_quote(etag, q1, sizeof q1),
                    xc_record_quote(stored_etag, q2, sizeof q2));
    goto done;
  }
  if (xc_workflow_voided(stored)) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%s %s is voided (作废); it cannot change", name,
                    id);
    goto done;
  }
  rc = xc_record_check_strings(kind, sent, err);
  if (rc == XC_OK) rc = xc_record_check_unchanged(kind, sent, stored, err);
  if (rc == XC_OK) rc = xc_record_check_mask(kind, mask, n_mask, err);
  if (rc == XC_OK) rc = xc_record_merge(kind, stored, sent, mask, n_mask, &merged, err);
  if (rc != XC_OK) goto done;
  {
    xc_lookup lk = {xc__snap_get, snap, NULL};
    char today[11];
    xc_today_cst(today);
    rc = xc_validate_record(kind, merged, XC_VALIDATE_UPDATE, &ctx->id, &lk, today, err);
  }
  if (rc == XC_OK) rc = xc_workflow_check_refs(kind, merged, stored, snap, err);
  if (rc == XC_OK && kind == XC_KIND_LEAD) rc = xc__lead_stays(stored, merged, err);
  xc_snapshot_end(snap);
  snap = NULL;
  if (rc != XC_OK) goto done;
  xc_identity_author(&ctx->id, author, sizeof author);
  {
    /* The change and its audit entry commit together (xc_audit.h). */
    xc_audit_entry who;
    xc_audit_who(ctx, &who);
    rc = xc_store_update_audited(ctx->store, &who, kind, merged, author, out, err);
    if (rc == XC_OK) ctx->audit_done = 1;
  }
  if (rc == XC_OK) {
    char today[11];
    xc_today_cst(today);
    if (xc_workflow_decorate(kind, *out, today) != XC_OK) {
      xc_msg_free(*out);
      *out = NULL;
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    }
  }
done:
  xc_snapshot_end(snap);
  xc_msg_free(stored);
  xc_msg_free(merged);
  return rc;
}

/* ------------------------------------------------------------------ list */

typedef struct xc__scan_state {
  xc_kind kind;
  const ProtobufCMessageDescriptor *desc;
  const xc_identity *who;
  const xc_list_filter *f;
  xc_page *page;
  xc_rawrec *raw;         /* the arena and scratch of this list */
  uint32_t deco_fields[XC_DECORATION_MAX_FIELDS]; /* fields the decoration owns */
  size_t n_deco_fields;
  size_t cap;             /* allocated slots in page->recs */
  size_t limit;           /* page size */
  size_t scanned;         /* records looked at */
  size_t budget;          /* most records to look at */
  size_t bytes;           /* packed bytes of the records kept */
  size_t max_bytes;       /* most packed bytes to keep */
  int more;               /* 1: stopped early; more may remain */
  int failed;             /* the visitor returned an error (err is not set) */
  char today[11];         /* for the read-time flags */
  char resume[XC_ID_MAX]; /* the id the next page starts after */
} xc__scan_state;

/*
 * Decides about one stored record and, when it matches, puts its reply
 * form (xc_rawrec.h) in *out. Sets *match and copies the record's id into
 * id_out. rec is unpacked into the arena (or, when it does not fit there,
 * the ordinary way), decorated and checked as a Get would, but the reply
 * carries the stored bytes, with only the read-time fields packed anew.
 */
static int xc__scan_one(xc__scan_state *st, const uint8_t *bytes, size_t len, int *match,
                        ProtobufCMessage **out, size_t *packed, char id_out[XC_ID_MAX]) {
  ProtobufCMessage *rec, *heap = NULL;
  xc_decoration deco;
  uint8_t deco_bytes[XC_DECORATION_MAX_BYTES];
  size_t deco_len;
  const char *id;
  int no_room = 0, rc = XC_OK;

  *match = 0;
  *out = NULL;
  rec = xc__unpack_checked(st->raw, st->kind, st->desc, bytes, len, &no_room);
  if (rec == NULL && no_room) rec = heap = protobuf_c_message_unpack(st->desc, NULL, len, bytes);
  if (rec == NULL) {
    rc = no_room ? XC_ERESOURCE_EXHAUSTED : XC_EDATA_LOSS;
    goto done;
  }
  xc_workflow_decoration(st->kind, rec, st->today, &deco);
  if (heap != NULL) {
    if (xc_workflow_decorate(st->kind, heap, st->today) != XC_OK) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
  } else {
    xc_workflow_decoration_attach(st->kind, rec, &deco);
  }
  id = xc_rawrec_id(st->raw, rec);
  xc_strlcpy(id_out, id != NULL ? id : "", XC_ID_MAX);
  if (!xc_list_match(st->kind, st->who, st->f, rec)) goto done;
  *match = 1;
  deco_len = xc_workflow_decoration_pack(st->kind, &deco, deco_bytes, sizeof deco_bytes);
  if (st->page->wire_ctx != NULL) {
    /* The record goes out as bytes appended to the packed response; the
     * page keeps only its id, for the audit. */
    xc_page *pg = st->page;
    rc = xc_rawrec_append(st->raw, st->desc, 1, id_out, bytes, len, deco_bytes, deco_len,
                          st->deco_fields, st->n_deco_fields, &pg->wire, &pg->wire_len,
                          &pg->wire_cap, packed);
    if (rc == XC_OK) rc = xc_rawrec_id_only(st->raw, st->desc, id_out, out);
  } else {
    rc = xc_rawrec_reply(st->raw, st->desc, id_out, bytes, len, deco_bytes, deco_len,
                         st->deco_fields, st->n_deco_fields, out, packed);
  }
done:
  xc_msg_free(heap);
  return rc;
}

/* Called by the index walk for each record: keeps matches until the page
 * is full, the byte budget is spent or the scan budget runs out, and
 * records where the next page must start. */
static int xc__scan_visit(void *c, const char *key_id, size_t key_id_len, const uint8_t *bytes,
                          size_t len) {
  xc__scan_state *st = c;
  ProtobufCMessage *rec = NULL;
  char id[XC_ID_MAX];
  size_t size = 0, wire_len = st->page->wire_len;
  int match = 0;
  int rc;

  (void)key_id;
  (void)key_id_len;
  st->scanned++;
  rc = xc__scan_one(st, bytes, len, &match, &rec, &size, id);
  if (rc != XC_OK) {
    /* A record that failed half-way leaves no bytes in the packed page. */
    st->page->wire_len = wire_len;
    xc_msg_free(rec);
    st->failed = 1;
    return rc;
  }
  if (!match) {
    if (st->scanned >= st->budget) {
      xc_strlcpy(st->resume, id, sizeof st->resume);
      st->more = 1;
      return 1;
    }
    return 0;
  }
  /* One match past a full page tells us another page exists. */
  size += 8;
  if (st->page->n >= st->limit || (st->page->n > 0 && st->bytes + size > st->max_bytes)) {
    st->more = 1;
    st->page->wire_len = wire_len; /* the record looked at is not sent */
    xc_msg_free(rec);
    return 1;
  }
  if (st->page->n == st->cap) {
    size_t ncap = st->cap == 0 ? 16 : st->cap * 2;
    ProtobufCMessage **grown;
    if (ncap > st->limit) ncap = st->limit;
    grown = realloc(st->page->recs, ncap * sizeof *grown);
    if (grown == NULL) {
      st->page->wire_len = wire_len;
      xc_msg_free(rec);
      st->failed = 1;
      return XC_ERESOURCE_EXHAUSTED;
    }
    st->page->recs = grown;
    st->cap = ncap;
  }
  st->page->recs[st->page->n++] = rec;
  st->bytes += size;
  xc_strlcpy(st->resume, id, sizeof st->resume);
  if (st->scanned >= st->budget) {
    st->more = 1;
    return 1;
  }
  return 0;
}

int xc_service_list(xc_ctx *ctx, xc_kind kind, const xc_list_filter *f, int32_t page_size,
                    const char *page_token, xc_page *page, xc_err *err) {
  xc_snapshot *snap = NULL;
  xc_list_plan plan;
  xc__scan_state st;
  char canon[1024], after[XC_ID_MAX];
  size_t canon_len;
  int rc;

  memset(page, 0, sizeof *page);
  memset(&st, 0, sizeof st);
  after[0] = '\0';
  rc = xc__need_identity(ctx, err);
  if (rc == XC_OK) rc = xc_list_filter_check(kind, f, page_size, err);
  if (rc != XC_OK) goto done;
  canon_len = xc_list_filter_canon(f, canon, sizeof canon);
  if (canon_len == 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the list filters are too long");
    goto done;
  }
  if (page_token != NULL && page_token[0] != '\0') {
    rc = xc_page_token_parse(ctx->secret, ctx->id.cn, ctx->method ? ctx->method : "", canon,
                             canon_len, kind, page_token, after, err);
    if (rc != XC_OK) goto done;
  }
  xc_list_plan_make(kind, &ctx->id, f, &plan);
  if (plan.empty) goto done;

  st.kind = kind;
  st.desc = xc_kind_descriptor(kind);
  st.n_deco_fields = xc_workflow_decoration_fields(kind, st.deco_fields);
  xc_today_cst(st.today);
  st.who = &ctx->id;
  st.f = f;
  st.page = page;
  if (ctx->packed_reply_ok) page->wire_ctx = ctx;
  st.limit = xc_list_page_size(page_size);
  st.budget = ctx->scan_budget ? ctx->scan_budget : XC_LIST_SCAN_BUDGET;
  st.max_bytes = ctx->max_response_bytes ? ctx->max_response_bytes : XC_LIST_MAX_RESPONSE_BYTES;
  st.raw = xc_rawrec_acquire();
  if (st.raw == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory collecting the page");
    goto done;
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK)
    rc = xc_snapshot_scan_raw(snap, kind, plan.index, plan.key, after, xc__scan_visit, &st, err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory collecting the page");
  if (rc != XC_OK && st.failed && rc != XC_ERESOURCE_EXHAUSTED)
    rc = xc_err_set(err, rc, "a stored %s does not decode", xc_kind_name(kind));
  if (rc != XC_OK) goto done;
  if (st.more && st.resume[0] != '\0') {
    rc = xc_page_token_make(ctx->secret, ctx->id.cn, ctx->method ? ctx->method : "", canon,
                            canon_len, st.resume, page->next_token, sizeof page->next_token);
    if (rc != XC_OK) rc = xc_err_set(err, rc, "cannot make the page token");
  }
done:
  xc_snapshot_end(snap);
  xc_rawrec_release(st.raw);
  if (rc != XC_OK) xc_page_free(page);
  return rc;
}

void xc_page_free(xc_page *page) {
  for (size_t i = 0; i < page->n; i++) xc_msg_free(page->recs[i]);
  free(page->recs);
  xc_replybuf_free(page->wire);
  page->recs = NULL;
  page->n = 0;
  page->next_token[0] = '\0';
  page->wire_ctx = NULL;
  page->wire = NULL;
  page->wire_len = 0;
  page->wire_cap = 0;
}
