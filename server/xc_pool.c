/*
 * xc_pool.c: the inspector pool (巡察人才库, server/ARCHIVE.md): inspector
 * records, conflicts of interest (work in the unit within --conflict-years,
 * a declared relationship, a recusal), the check every group passes, and
 * xuncha.v1.Pool (suggestions ranked by workload, workload per term).
 */
#include "xc_archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "xc_clock.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_workflow.h"

/* Set once before the server starts. */
static int xc__conflict_years = XC_POOL_DEFAULT_CONFLICT_YEARS;

void xc_pool_configure(int years) {
  xc__conflict_years = years > 0 ? years : XC_POOL_DEFAULT_CONFLICT_YEARS;
}

int xc_pool_conflict_years(void) { return xc__conflict_years; }

/* Most needs of one suggestion request, and most suggestions. */
#define XC__MAX_NEEDS 16
#define XC__DEFAULT_SUGGEST 20
#define XC__MAX_SUGGEST 200

/* ------------------------------------------------------------- records */

static int xc__date_ok(const char *d) { return d == NULL || d[0] == '\0' || xc_date_valid(d); }

int xc_pool_validate(Xuncha__V1__Inspector *in, xc_validate_mode mode, const xc_identity *who,
                     const xc_lookup *lk, xc_err *err) {
  char q[96];
  if (mode == XC_VALIDATE_CREATE) {
    if (who->role != XC_ROLE_OFFICE)
      return xc_err_set(err, XC_EPERMISSION_DENIED,
                        "%s may not add inspectors: only inspection offices keep a pool", who->cn);
    /* Personal data lies in the owning office's own region: it and the
     * offices above it read it, nobody else. */
    if (xc_msg_set_str(&in->base, "region_code", who->region) != XC_OK)
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (xc_record_blank(in->name))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "inspector.name is required");
  for (size_t i = 0; i < in->n_specialties; i++) {
    if (xc_record_blank(in->specialties[i]))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "inspector.specialties[%zu] is empty", i);
    for (size_t k = 0; k < i; k++)
      if (strcmp(in->specialties[i], in->specialties[k]) == 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "inspector.specialties lists '%s' twice",
                          xc_record_quote(in->specialties[i], q, sizeof q));
  }
  for (size_t i = 0; i < in->n_work_history; i++) {
    const Xuncha__V1__WorkPeriod *w = in->work_history[i];
    char field[64];
    int rc;
    (void)snprintf(field, sizeof field, "inspector.work_history[%zu].target_id", i);
    rc = xc_validate_id(XC_KIND_TARGET, w->target_id, field, 0, err);
    if (rc != XC_OK) return rc;
    if (w->target_id[0] == '\0' && xc_record_blank(w->unit))
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "inspector.work_history[%zu] needs a target_id or a unit", i);
    if (!xc__date_ok(w->from_date) || !xc__date_ok(w->to_date))
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "inspector.work_history[%zu]: dates are YYYY-MM-DD", i);
    if (w->from_date[0] != '\0' && w->to_date[0] != '\0' && strcmp(w->to_date, w->from_date) < 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "inspector.work_history[%zu]: to_date %s is before from_date %s", i,
                        w->to_date, w->from_date);
    if (w->target_id[0] != '\0') {
      ProtobufCMessage *t = NULL;
      rc = lk->get(lk->ctx, XC_KIND_TARGET, w->target_id, &t, err);
      xc_msg_free(t);
      if (rc == XC_ENOT_FOUND)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s: target %s does not exist", field,
                          w->target_id);
      if (rc != XC_OK) return rc;
    }
  }
  for (size_t i = 0; i < in->n_relationships; i++) {
    const Xuncha__V1__Relationship *r = in->relationships[i];
    char field[64];
    ProtobufCMessage *t = NULL;
    int rc;
    (void)snprintf(field, sizeof field, "inspector.relationships[%zu].target_id", i);
    rc = xc_validate_id(XC_KIND_TARGET, r->target_id, field, 1, err);
    if (rc != XC_OK) return rc;
    if (xc_record_blank(r->relation))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "inspector.relationships[%zu].relation is "
                        "required (e.g. 配偶在该单位任职)", i);
    rc = lk->get(lk->ctx, XC_KIND_TARGET, r->target_id, &t, err);
    xc_msg_free(t);
    if (rc == XC_ENOT_FOUND)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s: target %s does not exist", field,
                        r->target_id);
    if (rc != XC_OK) return rc;
  }
  return XC_OK;
}

/* ------------------------------------------------------------ conflicts */

int xc_pool_conflict(const Xuncha__V1__Inspector *in, const char *target_id,
                     const char *target_name, const char *today, int years, char *why,
                     size_t why_size) {
  char cutoff[11];
  int y = 0;
  /* The earliest end of work that still counts: today, `years` years back
   * (29 February falls back to the 28th). */
  for (int i = 0; i < 4; i++) y = y * 10 + (today[i] - '0');
  y -= years;
  if (y < 0) y = 0;
  memcpy(cutoff, today, 10);
  cutoff[10] = '\0';
  for (int i = 3; i >= 0; i--) {
    cutoff[i] = (char)('0' + y % 10);
    y /= 10;
  }
  if (strcmp(cutoff + 5, "02-29") == 0) memcpy(cutoff + 8, "28", 2);
  for (size_t i = 0; i < in->n_relationships; i++) {
    const Xuncha__V1__Relationship *r = in->relationships[i];
    if (strcmp(r->target_id, target_id) == 0) {
      (void)snprintf(why, why_size, "declared a relationship to it (%s)", r->relation);
      return 1;
    }
  }
  for (size_t i = 0; i < in->n_work_history; i++) {
    const Xuncha__V1__WorkPeriod *w = in->work_history[i];
    int same = w->target_id[0] != '\0'
                   ? strcmp(w->target_id, target_id) == 0
                   : target_name != NULL && target_name[0] != '\0' &&
                         strcmp(w->unit, target_name) == 0;
    if (!same) continue;
    if (w->to_date[0] == '\0') {
      (void)snprintf(why, why_size, "works there (since %s)",
                     w->from_date[0] != '\0' ? w->from_date : "an unknown date");
      return 1;
    }
    if (strcmp(w->to_date, cutoff) >= 0) {
      (void)snprintf(why, why_size, "worked there until %s, within %d years", w->to_date, years);
      return 1;
    }
  }
  return 0;
}

int xc_pool_group_has(const Xuncha__V1__Group *g, const char *s) {
  for (size_t i = 0; i < g->n_inspector_ids; i++)
    if (strcmp(g->inspector_ids[i], s) == 0) return 1;
  return 0;
}

/* Returns 1 if group g records a recusal of member from target_id. */
static int xc__recused(const Xuncha__V1__Group *g, const char *member, const char *target_id) {
  for (size_t i = 0; i < g->n_recusals; i++)
    if (strcmp(g->recusals[i]->member, member) == 0 &&
        strcmp(g->recusals[i]->target_id, target_id) == 0)
      return 1;
  return 0;
}

int xc_pool_check_group(const Xuncha__V1__Group *g, const xc_identity *who, const xc_lookup *lk,
                        const char *today, xc_err *err) {
  ProtobufCMessage **ins = NULL, **tgs = NULL;
  int rc = XC_OK;
  if (g->n_inspector_ids == 0) return XC_OK;
  ins = calloc(g->n_inspector_ids, sizeof *ins);
  tgs = calloc(g->n_target_ids ? g->n_target_ids : 1, sizeof *tgs);
  if (ins == NULL || tgs == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 0; rc == XC_OK && i < g->n_target_ids; i++) {
    rc = lk->get(lk->ctx, XC_KIND_TARGET, g->target_ids[i], &tgs[i], err);
    if (rc == XC_ENOT_FOUND)
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "group.target_ids[%zu]: target %s does not exist",
                      i, g->target_ids[i]);
  }
  for (size_t i = 0; rc == XC_OK && i < g->n_inspector_ids; i++) {
    char field[64];
    const char *id = g->inspector_ids[i];
    (void)snprintf(field, sizeof field, "group.inspector_ids[%zu]", i);
    rc = xc_validate_id(XC_KIND_INSPECTOR, id, field, 1, err);
    for (size_t k = 0; rc == XC_OK && k < i; k++)
      if (strcmp(id, g->inspector_ids[k]) == 0)
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "group.inspector_ids lists %s twice", id);
    if (rc != XC_OK) break;
    rc = lk->get(lk->ctx, XC_KIND_INSPECTOR, id, &ins[i], err);
    if (rc == XC_ENOT_FOUND)
      rc = xc_err_set(err, XC_ENOT_FOUND, "%s: inspector %s does not exist", field, id);
    if (rc != XC_OK) break;
    if (!xc_validate_may_read(who, XC_KIND_INSPECTOR, ins[i])) {
      rc = xc_validate_read_denied(who, XC_KIND_INSPECTOR, ins[i], err);
      break;
    }
    if (((Xuncha__V1__Inspector *)ins[i])->voided)
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%s: inspector %s is voided (作废)", field, id);
  }
  /* Every inspector against every target of the group. */
  for (size_t i = 0; rc == XC_OK && i < g->n_inspector_ids; i++) {
    const Xuncha__V1__Inspector *in = (const Xuncha__V1__Inspector *)ins[i];
    for (size_t t = 0; rc == XC_OK && t < g->n_target_ids; t++) {
      const Xuncha__V1__Target *tg = (const Xuncha__V1__Target *)tgs[t];
      char why[160];
      if (xc__recused(g, in->id, tg->id)) continue;
      if (xc_pool_conflict(in, tg->id, tg->name, today, xc__conflict_years, why, sizeof why))
        rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "inspector %s (%s) has a conflict of interest with target %s (%s): %s. "
                        "Record a recusal (回避) of %s from %s, or choose another inspector",
                        in->id, in->name, tg->id, tg->name, why, in->id, tg->id);
    }
  }
  /* And no inspector works on a target it has a conflict with. */
  for (size_t a = 0; rc == XC_OK && a < g->n_assignments; a++) {
    const Xuncha__V1__Assignment *as = g->assignments[a];
    for (size_t i = 0; rc == XC_OK && i < g->n_inspector_ids; i++) {
      const Xuncha__V1__Inspector *in = (const Xuncha__V1__Inspector *)ins[i];
      char why[160];
      if (strcmp(as->member, in->id) != 0) continue;
      for (size_t t = 0; rc == XC_OK && t < g->n_target_ids; t++) {
        const Xuncha__V1__Target *tg = (const Xuncha__V1__Target *)tgs[t];
        if (strcmp(tg->id, as->target_id) != 0) continue;
        if (xc_pool_conflict(in, tg->id, tg->name, today, xc__conflict_years, why, sizeof why))
          rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                          "group.assignments[%zu]: inspector %s (%s) cannot be assigned to target "
                          "%s (%s): %s",
                          a, in->id, in->name, tg->id, tg->name, why);
      }
    }
  }
done:
  if (ins != NULL)
    for (size_t i = 0; i < g->n_inspector_ids; i++) xc_msg_free(ins[i]);
  if (tgs != NULL)
    for (size_t i = 0; i < g->n_target_ids; i++) xc_msg_free(tgs[i]);
  free(ins);
  free(tgs);
  return rc;
}

/* ------------------------------------------------------------ workload */

/* Rounds each inspector served in: pairs (inspector, round), sorted. */
typedef struct xc__pair {
  char ins[XC_ID_MAX];
  char round[XC_ID_MAX];
  int32_t groups; /* groups of that round the inspector served in */
} xc__pair;

typedef struct xc__load {
  const xc_identity *who;
  xc_snapshot *snap;
  int32_t term;
  xc__pair *pairs;
  size_t n, cap;
  size_t scanned;
  int rc;
} xc__load;

/* Group walk visitor: collects (inspector, round) pairs of groups the
 * caller may read, of the term asked for. Takes rec. */
static int xc__load_visit(void *c, ProtobufCMessage *rec) {
  xc__load *l = c;
  const Xuncha__V1__Group *g = (const Xuncha__V1__Group *)rec;
  int stop = 0;
  if (++l->scanned > XC_LIST_SCAN_BUDGET) {
    l->rc = XC_ERESOURCE_EXHAUSTED;
    stop = 1;
    goto done;
  }
  if (g->voided || g->n_inspector_ids == 0 || !xc_validate_may_read(l->who, XC_KIND_GROUP, rec))
    goto done;
  if (l->term != 0) {
    ProtobufCMessage *rm = NULL;
    xc_err e;
    int keep = xc_snapshot_get(l->snap, XC_KIND_ROUND, g->round_id, &rm, &e) == XC_OK &&
               ((Xuncha__V1__Round *)rm)->term == l->term && !((Xuncha__V1__Round *)rm)->voided;
    xc_msg_free(rm);
    if (!keep) goto done;
  }
  for (size_t i = 0; i < g->n_inspector_ids; i++) {
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 64;
      xc__pair *p = cap <= XC_LIST_SCAN_BUDGET ? realloc(l->pairs, cap * sizeof *p) : NULL;
      if (p == NULL) {
        l->rc = XC_ERESOURCE_EXHAUSTED;
        stop = 1;
        goto done;
      }
      l->pairs = p;
      l->cap = cap;
    }
    xc_strlcpy(l->pairs[l->n].ins, g->inspector_ids[i], XC_ID_MAX);
    xc_strlcpy(l->pairs[l->n].round, g->round_id, XC_ID_MAX);
    l->pairs[l->n].groups = 1;
    l->n++;
  }
done:
  xc_msg_free(rec);
  return stop;
}

/* Orders pairs by inspector, then round. */
static int xc__pair_cmp(const void *a, const void *b) {
  const xc__pair *x = a, *y = b;
  int c = strcmp(x->ins, y->ins);
  return c != 0 ? c : strcmp(x->round, y->round);
}

/* Collects who served in which round (term 0: any) among the groups the
 * caller may read, sorted and without repeats. */
static int xc__collect_load(xc_ctx *ctx, xc_snapshot *snap, int32_t term, xc__load *l,
                            xc_err *err) {
  int rc;
  size_t out = 0;
  memset(l, 0, sizeof *l);
  l->who = &ctx->id;
  l->snap = snap;
  l->term = term;
  rc = xc_snapshot_scan(snap, XC_KIND_GROUP, XC_INDEX_REGION, ctx->id.region, NULL, xc__load_visit,
                        l, err);
  if (rc == XC_OK && l->rc != XC_OK)
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                    "more than %d groups to count: narrow the request by term or region",
                    XC_LIST_SCAN_BUDGET);
  if (rc != XC_OK) return rc;
  if (l->n > 0) qsort(l->pairs, l->n, sizeof *l->pairs, xc__pair_cmp);
  for (size_t i = 0; i < l->n; i++) {
    if (out > 0 && xc__pair_cmp(&l->pairs[out - 1], &l->pairs[i]) == 0)
      l->pairs[out - 1].groups++;
    else
      l->pairs[out++] = l->pairs[i];
  }
  l->n = out;
  return XC_OK;
}

/* Rounds inspector id served in, from a collected load. */
static int32_t xc__rounds_of(const xc__load *l, const char *id) {
  int32_t n = 0;
  for (size_t i = 0; i < l->n; i++) n += strcmp(l->pairs[i].ins, id) == 0;
  return n;
}

/* Groups inspector id served in. */
static int32_t xc__groups_of(const xc__load *l, const char *id) {
  int32_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->pairs[i].ins, id) == 0) n += l->pairs[i].groups;
  return n;
}

/* Collects the inspectors the caller may read (not voided) under prefix. */
typedef struct xc__ins_col {
  const xc_identity *who;
  const char *prefix;
  ProtobufCMessage **v;
  size_t n, cap;
} xc__ins_col;

/* Inspector walk visitor: keeps readable inspectors that are not voided
 * and lie under the prefix. Takes rec. */
static int xc__ins_visit(void *c, ProtobufCMessage *rec) {
  xc__ins_col *col = c;
  const Xuncha__V1__Inspector *in = (const Xuncha__V1__Inspector *)rec;
  if (in->voided || !xc_validate_may_read(col->who, XC_KIND_INSPECTOR, rec) ||
      !xc_region_within(in->region_code, col->prefix)) {
    xc_msg_free(rec);
    return 0;
  }
  if (col->n == col->cap) {
    size_t cap = col->cap ? col->cap * 2 : 32;
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

/* Frees what xc__collect_ins collected. */
static void xc__ins_free(xc__ins_col *col) {
  for (size_t i = 0; i < col->n; i++) xc_msg_free(col->v[i]);
  free(col->v);
}

/* The walk over the inspectors the caller may read within prefix. */
static int xc__collect_ins(xc_ctx *ctx, xc_snapshot *snap, const char *prefix, xc__ins_col *col,
                           xc_err *err) {
  const char *key = ctx->id.region;
  int rc;
  memset(col, 0, sizeof *col);
  col->who = &ctx->id;
  col->prefix = prefix;
  if (xc_region_within(prefix, ctx->id.region)) key = prefix;
  rc = xc_snapshot_scan(snap, XC_KIND_INSPECTOR, XC_INDEX_REGION, key, NULL, xc__ins_visit, col,
                        err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory");
  return rc;
}

/* ------------------------------------------------------------ handlers */

XC__HANDLER(xc__create_inspector) {
  const Xuncha__V1__CreateInspectorRequest *r = (const Xuncha__V1__CreateInspectorRequest *)req;
  return xc_service_create(ctx, XC_KIND_INSPECTOR, (const ProtobufCMessage *)r->inspector,
                           r->request_id, resp, err);
}

/* Pool.GetInspector. */
XC__HANDLER(xc__get_inspector) {
  const Xuncha__V1__GetInspectorRequest *r = (const Xuncha__V1__GetInspectorRequest *)req;
  return xc_service_get(ctx, XC_KIND_INSPECTOR, r->id, resp, err);
}

/* Pool.UpdateInspector. */
XC__HANDLER(xc__update_inspector) {
  const Xuncha__V1__UpdateInspectorRequest *r = (const Xuncha__V1__UpdateInspectorRequest *)req;
  return xc_service_update(ctx, XC_KIND_INSPECTOR, (const ProtobufCMessage *)r->inspector,
                           r->update_mask, r->n_update_mask, resp, err);
}

/* Pool.ListInspectors: by region prefix and specialty. */
XC__HANDLER(xc__list_inspectors) {
  const Xuncha__V1__ListInspectorsRequest *r = (const Xuncha__V1__ListInspectorsRequest *)req;
  xc_list_filter f;
  xc_page page;
  int rc;
  xc_list_filter_init(&f);
  f.region_prefix = r->region_prefix;
  f.contains = r->specialty;
  f.include_void = r->include_void;
  rc = xc_service_list(ctx, XC_KIND_INSPECTOR, &f, r->page_size, r->page_token, &page, err);
  if (rc != XC_OK) return rc;
  return xc__list_response(&xuncha__v1__list_inspectors_response__descriptor, &page, resp, err);
}

/* Ranks suggestions: more needs met first, then fewer rounds, then name. */
static int xc__sugg_cmp(const void *a, const void *b) {
  const Xuncha__V1__Suggestion *x = *(Xuncha__V1__Suggestion *const *)a;
  const Xuncha__V1__Suggestion *y = *(Xuncha__V1__Suggestion *const *)b;
  if (x->n_matched != y->n_matched) return x->n_matched > y->n_matched ? -1 : 1;
  if (x->rounds_served != y->rounds_served) return x->rounds_served < y->rounds_served ? -1 : 1;
  return strcmp(x->inspector->id, y->inspector->id);
}

/* Returns 1 if s is one of v[0..n). */
static int xc__has_str(char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return 1;
  return 0;
}

/* Pool.SuggestInspectors: see ARCHIVE.md. */
XC__HANDLER(xc__suggest_inspectors) {
  const Xuncha__V1__SuggestInspectorsRequest *r = (const Xuncha__V1__SuggestInspectorsRequest *)req;
  Xuncha__V1__SuggestInspectorsResponse *out = NULL;
  ProtobufCMessage *tm = NULL;
  xc_snapshot *snap = NULL;
  xc__load load;
  xc__ins_col col;
  char today[11];
  size_t limit;
  int rc;
  *resp = NULL;
  memset(&load, 0, sizeof load);
  memset(&col, 0, sizeof col);
  if (!ctx->has_identity || ctx->id.role != XC_ROLE_OFFICE) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED, "only inspection offices form groups");
    goto done;
  }
  if (r->n_needs > XC__MAX_NEEDS || r->term < 0 || r->limit < 0 || r->limit > XC__MAX_SUGGEST) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "at most %d needs, term >= 0 and limit 0..%d (0: %d)", XC__MAX_NEEDS,
                    XC__MAX_SUGGEST, XC__DEFAULT_SUGGEST);
    goto done;
  }
  for (size_t i = 0; i < r->n_needs; i++)
    if (xc_record_blank(r->needs[i]) || strlen(r->needs[i]) > XC_MAX_NAME_BYTES) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "needs[%zu] must be a specialty name", i);
      goto done;
    }
  limit = r->limit > 0 ? (size_t)r->limit : XC__DEFAULT_SUGGEST;
  rc = xc_service_get(ctx, XC_KIND_TARGET, r->target_id, &tm, err);
  if (rc == XC_OK) rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc__collect_load(ctx, snap, r->term, &load, err);
  if (rc == XC_OK) rc = xc__collect_ins(ctx, snap, "", &col, err);
  if (rc != XC_OK) goto done;
  out = malloc(sizeof *out);
  if (out == NULL) goto oom;
  xuncha__v1__suggest_inspectors_response__init(out);
  out->suggestions = calloc(col.n ? col.n : 1, sizeof *out->suggestions);
  out->excluded = calloc(col.n ? col.n : 1, sizeof *out->excluded);
  if (out->suggestions == NULL || out->excluded == NULL) goto oom;
  xc_clock_today_cst(today);
  for (size_t i = 0; i < col.n; i++) {
    Xuncha__V1__Inspector *in = (Xuncha__V1__Inspector *)col.v[i];
    const Xuncha__V1__Target *t = (const Xuncha__V1__Target *)tm;
    Xuncha__V1__Suggestion *s;
    char why[160];
    size_t matched = 0;
    for (size_t k = 0; k < r->n_needs; k++)
      matched += xc__has_str(in->specialties, in->n_specialties, r->needs[k]);
    if (r->n_needs > 0 && matched == 0) continue;
    if (xc_pool_conflict(in, t->id, t->name, today, xc__conflict_years, why, sizeof why)) {
      char line[XC_ID_MAX + 200];
      (void)snprintf(line, sizeof line, "%s (%s): %s", in->id, in->name, why);
      if ((out->excluded[out->n_excluded] = strdup(line)) == NULL) goto oom;
      out->n_excluded++;
      continue;
    }
    s = malloc(sizeof *s);
    if (s == NULL) goto oom;
    xuncha__v1__suggestion__init(s);
    out->suggestions[out->n_suggestions++] = s;
    s->rounds_served = xc__rounds_of(&load, in->id);
    s->matched = calloc(matched ? matched : 1, sizeof *s->matched);
    if (s->matched == NULL) goto oom;
    for (size_t k = 0; k < r->n_needs; k++)
      if (xc__has_str(in->specialties, in->n_specialties, r->needs[k])) {
        if ((s->matched[s->n_matched] = strdup(r->needs[k])) == NULL) goto oom;
        s->n_matched++;
      }
    s->inspector = in;
    col.v[i] = NULL;
  }
  if (out->n_suggestions > 1)
    qsort(out->suggestions, out->n_suggestions, sizeof *out->suggestions, xc__sugg_cmp);
  while (out->n_suggestions > limit) xc_msg_free(out->suggestions[--out->n_suggestions]);
  *resp = &out->base;
  out = NULL;
  rc = XC_OK;
  goto done;
oom:
  rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
done:
  xc_snapshot_end(snap);
  xc__ins_free(&col);
  free(load.pairs);
  xc_msg_free(tm);
  xc_msg_free(out);
  return rc;
}

/* Pool.GetWorkload: rounds and groups served, per inspector. */
XC__HANDLER(xc__get_workload) {
  const Xuncha__V1__WorkloadRequest *r = (const Xuncha__V1__WorkloadRequest *)req;
  Xuncha__V1__WorkloadResponse *out = NULL;
  xc_snapshot *snap = NULL;
  xc__load load;
  xc__ins_col col;
  int rc;
  *resp = NULL;
  memset(&load, 0, sizeof load);
  memset(&col, 0, sizeof col);
  if (!ctx->has_identity || ctx->id.role == XC_ROLE_AGENCY) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED, "agencies do not read the inspector pool");
    goto done;
  }
  if (r->term < 0 || (r->region_prefix[0] != '\0' &&
                      !xc_all_digits(r->region_prefix, XC_REGION_MAX_DIGITS))) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "term must be >= 0 and region_prefix digits");
    goto done;
  }
  rc = xc_snapshot_begin(ctx->store, &snap, err);
  if (rc == XC_OK) rc = xc__collect_load(ctx, snap, r->term, &load, err);
  if (rc == XC_OK) rc = xc__collect_ins(ctx, snap, r->region_prefix, &col, err);
  if (rc != XC_OK) goto done;
  out = malloc(sizeof *out);
  if (out == NULL) goto oom;
  xuncha__v1__workload_response__init(out);
  out->workloads = calloc(col.n ? col.n : 1, sizeof *out->workloads);
  if (out->workloads == NULL) goto oom;
  for (size_t i = 0; i < col.n; i++) {
    const Xuncha__V1__Inspector *in = (const Xuncha__V1__Inspector *)col.v[i];
    Xuncha__V1__Workload *w = malloc(sizeof *w);
    if (w == NULL) goto oom;
    xuncha__v1__workload__init(w);
    out->workloads[out->n_workloads++] = w;
    w->inspector_id = strdup(in->id);
    w->name = strdup(in->name);
    if (w->inspector_id == NULL || w->name == NULL) goto oom;
    w->rounds_served = xc__rounds_of(&load, in->id);
    w->groups = xc__groups_of(&load, in->id);
  }
  *resp = &out->base;
  out = NULL;
  rc = XC_OK;
  goto done;
oom:
  rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
done:
  xc_snapshot_end(snap);
  xc__ins_free(&col);
  free(load.pairs);
  xc_msg_free(out);
  return rc;
}
