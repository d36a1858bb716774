/*
 * xuncha.v1.Audit: ListAudit and VerifyAudit, the audit log (xc_audit.h).
 *
 * Who may call: auditors (auditor:<code>) and administrators (admin:<code>).
 * Both see the entries of callers within their region; calls refused before
 * an identity was known carry no region and are shown to administrators
 * only. Everyone else gets PERMISSION_DENIED. An auditor reads nothing but
 * the audit log (xc_identity.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "xc_audit.h"
#include "xc_msg.h"
#include "xc_store_audit.h"
#include "xc_text.h"
#include "xuncha/v1/audit.pb-c.h"

#define XC__PAGE_DEFAULT 100
#define XC__PAGE_MAX 1000
/* Entries one ListAudit looks at before it hands back a page token. */
#define XC__SCAN_BUDGET 200000


static int xc__audit_allowed(const xc_ctx *ctx, xc_err *err) {
  if (ctx->has_identity && (ctx->id.role == XC_ROLE_AUDITOR || ctx->id.role == XC_ROLE_ADMIN))
    return XC_OK;
  return xc_err_set(err, XC_EPERMISSION_DENIED,
                    "only auditor:<code> and admin:<code> certificates may read the audit log");
}

typedef struct xc__list {
  const xc_ctx *ctx;
  const Xuncha__V1__ListAuditRequest *req;
  Xuncha__V1__ListAuditResponse *resp;
  size_t want, seen;
  uint64_t last_seq;
  int full;
  int oom;
} xc__list;

/* 1 if the comma-separated list holds id. */
static int xc__has_id(const char *ids, const char *id) {
  size_t k = strlen(id);
  for (const char *p = ids; (p = strstr(p, id)) != NULL; p += k)
    if ((p == ids || p[-1] == ',') && (p[k] == ',' || p[k] == '\0')) return 1;
  return 0;
}

static int xc__list_visit(void *arg, const xc_audit_record *r) {
  xc__list *l = arg;
  const Xuncha__V1__ListAuditRequest *q = l->req;
  xc_identity who;
  int known = xc_identity_parse(r->cn, r->serial, &who, NULL) == XC_OK;
  Xuncha__V1__AuditEntry *e;
  char hex[65];
  if (l->resp->n_entries >= l->want || l->seen >= XC__SCAN_BUDGET) {
    l->full = 1;
    return 1;
  }
  l->seen++;
  l->last_seq = r->seq;
  /* Region: the caller's, then the filter's. */
  if (known ? !xc_region_within(who.region, l->ctx->id.region)
            : l->ctx->id.role != XC_ROLE_ADMIN)
    return 0;
  if (q->office != NULL && q->office[0] != '\0') {
    if (strchr(q->office, ':') != NULL ? strcmp(r->cn, q->office) != 0
                                       : !known || !xc_region_within(who.region, q->office))
      return 0;
  }
  if (q->record_id != NULL && q->record_id[0] != '\0' && !xc__has_id(r->ids, q->record_id))
    return 0;
  if (q->method != NULL && q->method[0] != '\0' && strstr(r->method, q->method) == NULL)
    return 0;
  if (q->since_ms != 0 && r->time_ms < q->since_ms) return 0;
  if (q->until_ms != 0 && r->time_ms >= q->until_ms) return 0;

  e = calloc(1, sizeof *e);
  if (e == NULL) goto oom;
  xuncha__v1__audit_entry__init(e);
  l->resp->entries[l->resp->n_entries++] = e;
  e->seq = r->seq;
  e->time_ms = r->time_ms;
  e->status = xc_code_to_grpc(r->status);
  for (int i = 0; i < 32; i++) {
    static const char d[] = "0123456789abcdef";
    hex[2 * i] = d[r->hash[i] >> 4];
    hex[2 * i + 1] = d[r->hash[i] & 15];
  }
  hex[64] = '\0';
  if ((e->cn = strdup(r->cn)) == NULL || (e->serial = strdup(r->serial)) == NULL ||
      (e->method = strdup(r->method)) == NULL || (e->hash = strdup(hex)) == NULL)
    goto oom;
  if (r->ids[0] != '\0') {
    size_t n = 1;
    for (const char *p = r->ids; *p != '\0'; p++) n += *p == ',';
    e->record_ids = calloc(n, sizeof *e->record_ids);
    if (e->record_ids == NULL) goto oom;
    for (const char *p = r->ids; *p != '\0';) {
      const char *c = strchr(p, ',');
      size_t k = c != NULL ? (size_t)(c - p) : strlen(p);
      char *s = strndup(p, k);
      if (s == NULL) goto oom;
      e->record_ids[e->n_record_ids++] = s;
      p += k + (c != NULL);
    }
  }
  return 0;
oom:
  l->oom = 1;
  return XC_ERESOURCE_EXHAUSTED;
}

int xc__list_audit(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                   xc_err *err) {
  const Xuncha__V1__ListAuditRequest *req = (const Xuncha__V1__ListAuditRequest *)req_msg;
  Xuncha__V1__ListAuditResponse *out = NULL;
  xc_snapshot *snap = NULL;
  xc__list l;
  long long after = 0;
  int rc = xc__audit_allowed(ctx, err);
  if (rc != XC_OK) goto done;
  if (req->page_size < 0 || req->page_size > XC__PAGE_MAX) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "page_size must be 0 to %d, not %d", XC__PAGE_MAX,
                    req->page_size);
    goto done;
  }
  if (req->page_token != NULL && req->page_token[0] != '\0' &&
      xc_parse_int64(req->page_token, 0, INT64_MAX, &after) != 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "page_token is not one ListAudit handed out; start again without it");
    goto done;
  }
  memset(&l, 0, sizeof l);
  l.ctx = ctx;
  l.req = req;
  l.want = req->page_size > 0 ? (size_t)req->page_size : XC__PAGE_DEFAULT;
  out = calloc(1, sizeof *out);
  if (out == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__list_audit_response__init(out);
  out->entries = calloc(l.want, sizeof *out->entries);
  if (out->entries == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  l.resp = out;
  /* What is still queued becomes visible first (at most a second of it). */
  {
    xc_err ferr;
    if (xc_audit_flush(&ferr) != XC_OK && ferr.code != XC_EUNAVAILABLE) {
      rc = xc_err_set(err, ferr.code, "%s", ferr.msg);
      goto done;
    }
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_audit_scan(snap, (uint64_t)after, xc__list_visit, &l, err);
  if (rc == XC_OK && l.full) {
    char tok[24];
    (void)snprintf(tok, sizeof tok, "%" PRIu64, l.last_seq);
    out->next_page_token = strdup(tok);
    if (out->next_page_token == NULL) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (rc != XC_OK && l.oom) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
done:
  xc_snapshot_end(snap);
  if (rc != XC_OK && out != NULL) {
    xc_msg_free(&out->base);
    out = NULL;
  }
  if (rc == XC_OK) return xc__reply_once(ctx, XC_OK, &out->base, resp, err);
  *resp = NULL;
  return rc;
}

int xc__verify_audit(xc_ctx *ctx, const ProtobufCMessage *req_msg, ProtobufCMessage **resp,
                     xc_err *err) {
  Xuncha__V1__VerifyAuditResponse *out = NULL;
  xc_audit_report rep;
  unsigned n = 0;
  int rc = xc__audit_allowed(ctx, err);
  (void)req_msg;
  *resp = NULL;
  if (rc != XC_OK) return rc;
  rc = xc_audit_verify(&rep, &n, err);
  if (rc != XC_OK) return rc;
  out = calloc(1, sizeof *out);
  if (out == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__verify_audit_response__init(out);
  out->ok = rep.ok;
  out->first_bad_seq = rep.first_bad;
  out->checked = rep.checked;
  out->base_seq = rep.base_seq;
  out->last_seq = rep.last_seq;
  out->checkpoint_seq = rep.anchored_seq;
  out->checkpoints = n;
  out->reason = strdup(rep.ok ? "" : rep.reason);
  out->hash_alg = strdup(xc_audit_alg_name(xc_store_audit_alg(ctx->store)));
  if (out->reason == NULL || out->hash_alg == NULL) {
    xc_msg_free(&out->base);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  return xc__reply_once(ctx, XC_OK, &out->base, resp, err);
}
