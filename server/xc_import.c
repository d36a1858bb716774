/*
 * xc_import.c: ImportRecords (xc_import.h). Validation runs on one
 * snapshot, row by row, exactly as CreateTarget/CreateFinding/CreateLead
 * validate; the write is one xc_store_write whose function creates every
 * good row, so the import commits whole or not at all.
 */
#include "xc_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_audit.h"
#include "xc_clock.h"
#include "xc_msg.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_validate.h"
#include "xc_workflow.h"

static int xc__snap_get(void *snap, xc_kind kind, const char *id, ProtobufCMessage **out,
                        xc_err *err) {
  return xc_snapshot_get((xc_snapshot *)snap, kind, id, out, err);
}

/* One row ready to write. */
typedef struct xc__good {
  ProtobufCMessage *rec;
  char request_id[XC_MAX_REQUEST_ID_BYTES + 1];
  uint8_t fp[32];
} xc__good;

typedef struct xc__import_write {
  xc_kind kind;
  xc__good *rows;
  size_t n;
  const char *owner, *author, *scope;
  int32_t created, existing;
} xc__import_write;

static int xc__import_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__import_write *w = c;
  int rc = XC_OK;
  w->created = w->existing = 0;
  for (size_t i = 0; i < w->n && rc == XC_OK; i++) {
    ProtobufCMessage *copy = xc_msg_clone(w->rows[i].rec);
    int used;
    if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    used = xc_txn_request_used(txn, w->kind, w->scope, w->rows[i].request_id, err);
    if (used < 0) {
      rc = used;
    } else {
      rc = xc_txn_create_once(txn, w->kind, copy, w->owner, w->author, w->scope,
                              w->rows[i].request_id, w->rows[i].fp, NULL, err);
      if (rc == XC_OK) {
        if (used)
          w->existing++;
        else
          w->created++;
      }
    }
    xc_msg_free(copy);
  }
  return rc;
}

/* Adds a RowError. Returns 0 or -1 out of memory. */
static int xc__row_error(Xuncha__V1__ImportResponse *resp, const Xuncha__V1__ImportRow *row,
                         size_t index, int code, const char *msg) {
  Xuncha__V1__RowError *e = malloc(sizeof *e);
  Xuncha__V1__RowError **nv;
  if (e == NULL) return -1;
  xuncha__v1__row_error__init(e);
  e->line = row->line;
  e->index = (int32_t)index;
  e->code = strdup(xc_code_name(code));
  e->message = strdup(msg);
  nv = realloc(resp->errors, (resp->n_errors + 1) * sizeof *nv);
  if (e->code == NULL || e->message == NULL || nv == NULL) {
    xc_msg_free(e);
    if (nv != NULL) resp->errors = nv;
    return -1;
  }
  resp->errors = nv;
  resp->errors[resp->n_errors++] = e;
  return 0;
}

int xc_import_records(xc_ctx *ctx, const Xuncha__V1__ImportRequest *req,
                      Xuncha__V1__ImportResponse **out, xc_err *err) {
  Xuncha__V1__ImportResponse *resp = NULL;
  xc_snapshot *snap = NULL;
  xc__good *good = NULL;
  size_t n_good = 0;
  xc_kind kind;
  char today[11], owner[XC_REGION_MAX_DIGITS + 16], author[XC_AUTHOR_MAX];
  int rc = XC_OK;

  *out = NULL;
  if (!ctx->has_identity)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate does not name a xuncha identity");
  if (req->kind == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "kind is required");
  if (strcmp(req->kind, "target") == 0)
    kind = XC_KIND_TARGET;
  else if (strcmp(req->kind, "finding") == 0)
    kind = XC_KIND_FINDING;
  else if (strcmp(req->kind, "lead") == 0)
    kind = XC_KIND_LEAD;
  else
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "kind '%.32s' cannot be imported: use target, finding or lead", req->kind);
  if (req->n_rows > XC_IMPORT_MAX_ROWS)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "rows has %zu entries; the limit is %d per request: split the file",
                      req->n_rows, XC_IMPORT_MAX_ROWS);
  resp = malloc(sizeof *resp);
  good = calloc(req->n_rows ? req->n_rows : 1, sizeof *good);
  if (resp == NULL || good == NULL) {
    free(resp);
    free(good);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  xuncha__v1__import_response__init(resp);
  resp->rows = (int32_t)req->n_rows;
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc != XC_OK) goto done;
  xc_today_cst(today);
  for (size_t i = 0; i < req->n_rows; i++) {
    const Xuncha__V1__ImportRow *row = req->rows[i];
    const ProtobufCMessage *sent = kind == XC_KIND_TARGET    ? (const ProtobufCMessage *)row->target
                                   : kind == XC_KIND_FINDING ? (const ProtobufCMessage *)row->finding
                                                             : (const ProtobufCMessage *)row->lead;
    xc_lookup lk = {xc__snap_get, snap, NULL};
    ProtobufCMessage *rec = NULL;
    xc_err rerr;
    int rrc;
    xc_err_clear(&rerr);
    if (sent == NULL) {
      rrc = xc_err_set(&rerr, XC_EINVALID_ARGUMENT, "the row has no %s", req->kind);
    } else if (row->request_id != NULL &&
               (strlen(row->request_id) > XC_MAX_REQUEST_ID_BYTES ||
                !xc_utf8_valid(row->request_id, strlen(row->request_id)))) {
      rrc = xc_err_set(&rerr, XC_EINVALID_ARGUMENT,
                       "request_id must be UTF-8 of at most %d bytes", XC_MAX_REQUEST_ID_BYTES);
    } else {
      rec = xc_msg_clone(sent);
      if (rec == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
      xc_record_strip_unknown(rec);
      xc_record_clear_output_only(kind, rec);
      rrc = xc_record_fingerprint(rec, good[n_good].fp);
      if (rrc != XC_OK) rrc = xc_err_set(&rerr, rrc, "cannot fingerprint the row");
      if (rrc == XC_OK)
        rrc = xc_validate_record(kind, rec, XC_VALIDATE_CREATE, &ctx->id, &lk, today, &rerr);
      if (rrc == XC_OK) rrc = xc_workflow_check_refs(kind, rec, NULL, snap, &rerr);
    }
    if (rrc != XC_OK) {
      xc_msg_free(rec);
      if (xc__row_error(resp, row, i, rrc, rerr.msg) != 0) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
      continue;
    }
    if (row->request_id != NULL && row->request_id[0] != '\0') {
      xc_strlcpy(good[n_good].request_id, row->request_id, sizeof good[n_good].request_id);
    } else {
      /* Derived: the content's fingerprint and how many rows before this
       * one had the same content, so two equal rows stay two records and a
       * second import of the file matches both. */
      char hex[65];
      int nth = 0;
      for (size_t j = 0; j < n_good; j++)
        nth += memcmp(good[j].fp, good[n_good].fp, 32) == 0;
      for (int b = 0; b < 32; b++)
        (void)snprintf(hex + 2 * b, 3, "%02x", good[n_good].fp[b]);
      (void)snprintf(good[n_good].request_id, sizeof good[n_good].request_id, "import:%.40s#%d",
                     hex, nth);
    }
    good[n_good].rec = rec;
    n_good++;
  }
  xc_snapshot_end(snap);
  snap = NULL;
  if (req->validate_only || (resp->n_errors > 0 && !req->skip_bad) || n_good == 0) goto reply;
  {
    xc__import_write w;
    memset(&w, 0, sizeof w);
    xc_identity_owner(&ctx->id, owner, sizeof owner);
    xc_identity_author(&ctx->id, author, sizeof author);
    w.kind = kind;
    w.rows = good;
    w.n = n_good;
    w.owner = owner;
    w.author = author;
    w.scope = ctx->id.cn;
    {
      /* The rows and their audit entry commit together (xc_audit.h). */
      xc_audit_entry who;
      xc_audit_who(ctx, &who);
      rc = xc_store_write_audited(ctx->store, &who, xc__import_fn, &w, err);
      if (rc == XC_OK) ctx->audit_done = 1;
    }
    if (rc != XC_OK) goto done;
    resp->created = w.created;
    resp->existing = w.existing;
    resp->applied = 1;
  }
reply:
  *out = resp;
  resp = NULL;
done:
  xc_snapshot_end(snap);
  for (size_t i = 0; i < n_good; i++) xc_msg_free(good[i].rec);
  free(good);
  if (resp != NULL) xc_msg_free(resp);
  return rc;
}
