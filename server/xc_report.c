/*
 * xc_report.c: the figures of xuncha.v1.Reports (see xc_report.h and
 * server/REPORTS.md).
 *
 * Cost of a summary: one scan of the rounds of the scope's city (rounds are
 * few), then per selected round one counter range read and three date-index
 * range counts, plus one scan of the scope's targets (the coverage
 * denominator) and of its directory entries. No finding or lead record is
 * read, however many there are.
 */
#include "xc_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_clock.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_wf.h"
#include "xc_workflow.h"

const char *const xc_report_seven[7] = {"不落实", "乱落实",   "假落实",    "少落实",
                                        "慢落实", "机械落实", "应付式落实"};

static const char *const xc__kind_zh[8] = {"未分类", "市直单位", "市属重点企业", "乡镇",
                                           "街道",   "村",       "社区",         "区县直单位"};
static const char *const xc__area_zh[7] = {"未分类",   "政治建设", "思想建设", "组织建设",
                                           "作风建设", "纪律建设", "脱贫攻坚"};

/* ------------------------------------------------------------ a small map */

/* String -> int64, open addressing; keys are copies owned by the map. */
typedef struct xc__map {
  char **keys;
  int64_t *vals;
  size_t cap, n;
} xc__map;

static uint64_t xc__hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
  return h;
}

static void xc__map_free(xc__map *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

/* Empties the map, keeping its table. */
static void xc__map_clear(xc__map *m) {
  for (size_t i = 0; i < m->cap; i++) {
    free(m->keys[i]);
    m->keys[i] = NULL;
  }
  m->n = 0;
}

static int xc__map_grow(xc__map *m) {
  xc__map nm;
  size_t cap = m->cap ? m->cap * 2 : 64;
  if (cap > SIZE_MAX / sizeof(char *) / 2) return -1;
  nm.cap = cap;
  nm.n = m->n;
  nm.keys = calloc(cap, sizeof *nm.keys);
  nm.vals = calloc(cap, sizeof *nm.vals);
  if (nm.keys == NULL || nm.vals == NULL) {
    free(nm.keys);
    free(nm.vals);
    return -1;
  }
  for (size_t i = 0; i < m->cap; i++) {
    size_t j;
    if (m->keys[i] == NULL) continue;
    for (j = xc__hash(m->keys[i]) & (cap - 1); nm.keys[j] != NULL; j = (j + 1) & (cap - 1)) {
    }
    nm.keys[j] = m->keys[i];
    nm.vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  *m = nm;
  return 0;
}

/* Adds v to key's value (creating it at 0). Returns 0 or -1 out of memory. */
static int xc__map_add(xc__map *m, const char *key, int64_t v) {
  size_t j;
  if ((m->n + 1) * 2 > m->cap && xc__map_grow(m) != 0) return -1;
  for (j = xc__hash(key) & (m->cap - 1); m->keys[j] != NULL; j = (j + 1) & (m->cap - 1)) {
    if (strcmp(m->keys[j], key) == 0) {
      m->vals[j] += v;
      return 0;
    }
  }
  m->keys[j] = strdup(key);
  if (m->keys[j] == NULL) return -1;
  m->vals[j] = v;
  m->n++;
  return 0;
}

static int64_t xc__map_get(const xc__map *m, const char *key) {
  if (m->cap == 0) return 0;
  for (size_t j = xc__hash(key) & (m->cap - 1); m->keys[j] != NULL; j = (j + 1) & (m->cap - 1))
    if (strcmp(m->keys[j], key) == 0) return m->vals[j];
  return 0;
}

/* Value of "<prefix><name>". */
static int64_t xc__map_get2(const xc__map *m, const char *prefix, const char *name) {
  char key[XC_MAX_NAME_BYTES + 16];
  (void)snprintf(key, sizeof key, "%s%s", prefix, name);
  return xc__map_get(m, key);
}

/* ------------------------------------------------------------- collecting */

/* Records of one kind, in scan order (taken from the scan). */
typedef struct xc__recs {
  ProtobufCMessage **v;
  size_t n, cap;
} xc__recs;

static int xc__recs_visit(void *c, ProtobufCMessage *rec) {
  xc__recs *r = c;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    ProtobufCMessage **nv = cap < SIZE_MAX / sizeof *nv ? realloc(r->v, cap * sizeof *nv) : NULL;
    if (nv == NULL) {
      xc_msg_free(rec);
      return XC_ERESOURCE_EXHAUSTED;
    }
    r->v = nv;
    r->cap = cap;
  }
  r->v[r->n++] = rec;
  return 0;
}

static void xc__recs_free(xc__recs *r) {
  for (size_t i = 0; i < r->n; i++) xc_msg_free(r->v[i]);
  free(r->v);
  memset(r, 0, sizeof *r);
}

/* Appends item to a protobuf-c repeated field (array of pointers). */
static int xc__push(void *arrp, size_t *n, void *item) {
  void ***arr = arrp;
  void **nv;
  if (*n >= SIZE_MAX / sizeof *nv - 1) return -1;
  nv = realloc(*arr, (*n + 1) * sizeof *nv);
  if (nv == NULL) return -1;
  nv[*n] = item;
  *arr = nv;
  (*n)++;
  return 0;
}

/* Makes a NamedCount and appends it. */
static int xc__push_named(Xuncha__V1__NamedCount ***arr, size_t *n, const char *name,
                          int64_t count) {
  Xuncha__V1__NamedCount *c = malloc(sizeof *c);
  if (c == NULL) return -1;
  xuncha__v1__named_count__init(c);
  c->name = strdup(name);
  c->count = count;
  if (c->name == NULL || xc__push(arr, n, c) != 0) {
    xc_msg_free(c);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- periods */

/* Which rounds a set of figures covers. */
typedef struct xc__period {
  int by_term;     /* rounds of term `term` */
  int term;
  int has_term;    /* a Term record of the scope's office was found */
  char start[11];  /* its dates ("" end: running) */
  char end[11];
  char from[11];   /* "" or the date range rounds must start in */
  char to[11];
} xc__period;

/* The day a round started: start_date, else the 进驻 stage date, else the
 * creation date (CST). */
static void xc__round_start(const Xuncha__V1__Round *r, char out[11]) {
  if (r->start_date != NULL && xc_date_valid(r->start_date)) {
    xc_strlcpy(out, r->start_date, 11);
    return;
  }
  for (size_t i = 0; i < r->n_stage_dates; i++) {
    if (r->stage_dates[i]->stage == XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE &&
        r->stage_dates[i]->date != NULL && xc_date_valid(r->stage_dates[i]->date)) {
      xc_strlcpy(out, r->stage_dates[i]->date, 11);
      return;
    }
  }
  xc_clock_date_of_ms(r->create_time_ms, out);
}

/* Returns 1 if round r (overlapping the scope) belongs to period q of the
 * office `office` ("office:<P>"). */
static int xc__round_in(const Xuncha__V1__Round *r, const xc__period *q, const char *office) {
  char start[11];
  xc__round_start(r, start);
  if (q->from[0] != '\0' && strcmp(start, q->from) < 0) return 0;
  if (q->to[0] != '\0' && strcmp(start, q->to) > 0) return 0;
  if (!q->by_term) return 1;
  if (strcmp(r->owner, office) == 0) return r->term == q->term;
  /* Rounds of other offices (below, or elevated ones from above) belong to
   * the term their start falls in. */
  if (!q->has_term) return 0;
  if (strcmp(start, q->start) < 0) return 0;
  if (q->end[0] != '\0' && strcmp(start, q->end) > 0) return 0;
  return 1;
}

/* Finds the Term record `number` of office P. */
static int xc__find_term(xc_snapshot *snap, const char *P, int number, xc__period *q,
                         xc_err *err) {
  xc__recs terms;
  char office[XC_MAX_CN_BYTES + 1];
  int rc;
  memset(&terms, 0, sizeof terms);
  q->has_term = 0;
  q->start[0] = q->end[0] = '\0';
  (void)snprintf(office, sizeof office, "office:%s", P);
  rc = xc_snapshot_scan(snap, XC_KIND_TERM, XC_INDEX_OWNER, P, NULL, xc__recs_visit, &terms, err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory reading terms");
  for (size_t i = 0; rc == XC_OK && i < terms.n; i++) {
    const Xuncha__V1__Term *t = (const Xuncha__V1__Term *)terms.v[i];
    if (t->voided || t->number != number || strcmp(t->owner, office) != 0) continue;
    q->has_term = 1;
    xc_strlcpy(q->start, t->start_date, sizeof q->start);
    xc_strlcpy(q->end, t->end_date != NULL ? t->end_date : "", sizeof q->end);
  }
  xc__recs_free(&terms);
  return rc;
}

/* ------------------------------------------------------------ the figures */

/* What one computation reads once and shares between periods. */
typedef struct xc__scope {
  xc_snapshot *snap;
  const xc_identity *who;
  char P[XC_REGION_MAX_DIGITS + 1];
  char office[XC_MAX_CN_BYTES + 1];
  const char *today;
  int stalled_days;
  xc__recs rounds;    /* rounds of the scope's city, every term */
  xc__recs targets;   /* targets under P, not voided, in id order */
  xc__recs agencies;  /* directory entries of agencies under P, not voided */
} xc__scope;

/* The result of one period. */
typedef struct xc__result {
  xc__map m;        /* summed counters */
  xc__map targets;  /* target id -> 1 visited | 2 effective */
  int64_t rounds, overdue, stalled, report_overdue;
} xc__result;

static void xc__result_free(xc__result *r) {
  xc__map_free(&r->m);
  xc__map_free(&r->targets);
}

/* Returns 1 if a counter metric is a lead figure. */
static int xc__lead_metric(const char *m) {
  return m[0] == 'l' || strcmp(m, "ps") == 0 || strcmp(m, "pt") == 0 || strcmp(m, "os") == 0 ||
         strcmp(m, "ot") == 0 || strcmp(m, "js") == 0 || strcmp(m, "jt") == 0;
}

/* Sums one round's counters: date counters straight into the clock
 * figures (the date is compared with the day's cutoff), the rest into a
 * map. */
typedef struct xc__rvisit {
  xc__map *m;      /* this round's "to:" counters (effective coverage) */
  xc__map *total;  /* every other counter, summed over the rounds */
  int leads_ok;
  const char *due_before, *stall_before, *report_before;
  int64_t overdue, stalled, report_overdue;
} xc__rvisit;

static int xc__counter_visit(void *c, const char *metric, int64_t value) {
  xc__rvisit *v = c;
  if (metric[0] == 'd' && metric[1] != '\0' && metric[2] == ':') {
    const char *date = metric + 3;
    if (metric[1] == 'd' && strcmp(date, v->due_before) < 0) v->overdue += value;
    if (metric[1] == 'a' && strcmp(date, v->stall_before) < 0) v->stalled += value;
    if (metric[1] == 'r' && strcmp(date, v->report_before) < 0) v->report_overdue += value;
    return 0;
  }
  if (!v->leads_ok && xc__lead_metric(metric)) return 0;
  if (metric[0] == 't' && metric[1] == 'o' && metric[2] == ':')
    return xc__map_add(v->m, metric, value) != 0 ? XC_ERESOURCE_EXHAUSTED : 0;
  return xc__map_add(v->total, metric, value) != 0 ? XC_ERESOURCE_EXHAUSTED : 0;
}

/* Returns 1 if the caller may see the lead figures of round r: leads are
 * read by their owner office and the offices above it. */
static int xc__leads_visible(const xc_identity *who, const Xuncha__V1__Round *r) {
  const char *code;
  if (who->role != XC_ROLE_OFFICE) return 0;
  code = strncmp(r->owner, "office:", 7) == 0 ? r->owner + 7 : NULL;
  return code != NULL && xc_region_within(code, who->region);
}

/* The first date d with d + 3 months >= today: leads transferred before it
 * are past their report deadline. */
static void xc__report_cutoff(const char *today, char out[11]) {
  int64_t t = 0;
  xc_strlcpy(out, today, 11);
  if (xc_wf_date_days(today, &t) != XC_OK) return;
  for (int64_t d = t - 100; d <= t; d++) {
    char day[11], due[11];
    xc_wf_days_date(d, day);
    xc_wf_add_months(day, XC_WF_REPORT_MONTHS, due);
    if (strcmp(due, today) >= 0) {
      xc_strlcpy(out, day, 11);
      return;
    }
  }
}

static int xc__compute(xc__scope *s, const xc__period *q, xc__result *res, xc_err *err) {
  xc__map rm;
  char stall_before[11];
  char report_before[11];
  int64_t today_days = 0;
  int rc = XC_OK;

  memset(&rm, 0, sizeof rm);
  memset(res, 0, sizeof *res);
  if (xc_wf_date_days(s->today, &today_days) != XC_OK)
    return xc_err_set(err, XC_EINTERNAL, "the server's date '%s' is not a date", s->today);
  xc_wf_days_date(today_days - s->stalled_days, stall_before);
  xc__report_cutoff(s->today, report_before);

  for (size_t i = 0; i < s->rounds.n && rc == XC_OK; i++) {
    const Xuncha__V1__Round *r = (const Xuncha__V1__Round *)s->rounds.v[i];
    int leads_ok;
    xc__rvisit rv;
    if (r->voided) continue;
    if (!xc_region_within(r->region_code, s->P) && !xc_region_within(s->P, r->region_code))
      continue;
    if (!xc__round_in(r, q, s->office)) continue;
    leads_ok = xc__leads_visible(s->who, r);
    if (xc_region_within(r->region_code, s->P)) res->rounds++;
    xc__map_clear(&rm);
    memset(&rv, 0, sizeof rv);
    rv.m = &rm;
    rv.total = &res->m;
    rv.leads_ok = leads_ok;
    rv.due_before = s->today;
    rv.stall_before = stall_before;
    rv.report_before = report_before;
    rc = xc_snapshot_counters(s->snap, s->P, r->id, xc__counter_visit, &rv, err);
    if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory summing counters");
    if (rc != XC_OK) break;
    /* Coverage: a target of the round is visited once the round reached
     * 进驻, and effectively covered once it reached 反馈 and no finding of
     * the round at that target is left without 销号. */
    for (size_t t = 0; t < r->n_target_ids && rc == XC_OK; t++) {
      int64_t flags = 0;
      if (r->stage >= XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE) flags |= 1;
      if (r->stage >= XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_FEEDBACK &&
          xc__map_get2(&rm, "to:", r->target_ids[t]) == 0)
        flags |= 2;
      if (flags != 0) {
        int64_t old = xc__map_get(&res->targets, r->target_ids[t]);
        if (xc__map_add(&res->targets, r->target_ids[t], (old | flags) - old) != 0)
          rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      }
    }
    if (rc != XC_OK) break;
    /* The figures that change with the clock: per-day counts of open
     * findings and pending leads, summed over the days before the cutoff
     * of today. */
    res->overdue += rv.overdue;
    res->stalled += rv.stalled;
    if (leads_ok) res->report_overdue += rv.report_overdue;
  }
  res->stalled += xc__map_get(&res->m, "fw");
  xc__map_free(&rm);
  return rc;
}

typedef struct xc__tagcount {
  const char *name;
  int64_t count;
} xc__tagcount;

static int xc__tag_cmp(const void *a, const void *b) {
  const xc__tagcount *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->name, y->name);
}

/* Fills f from a result. */
static int xc__fill(const xc__scope *s, const xc__result *r, Xuncha__V1__SummaryFigures *f,
                    xc_err *err) {
  const xc__map *m = &r->m;
  int64_t by_kind[8] = {0};
  xc__tagcount *tags = NULL;
  size_t n_tags = 0;
  int rc = XC_OK;

  f->rounds = r->rounds;
  f->groups = xc__map_get(m, "g");
  for (size_t i = 0; i < s->targets.n; i++) {
    const Xuncha__V1__Target *t = (const Xuncha__V1__Target *)s->targets.v[i];
    if (xc__map_get(&r->targets, t->id) & 1) {
      int k = (int)t->kind >= 0 && (int)t->kind <= 7 ? (int)t->kind : 0;
      by_kind[k]++;
      f->targets_inspected++;
    }
  }
  for (int k = 1; k <= 7 && rc == XC_OK; k++)
    if (xc__push_named(&f->targets_by_kind, &f->n_targets_by_kind, xc__kind_zh[k], by_kind[k]))
      rc = XC_ERESOURCE_EXHAUSTED;
  f->targets_municipal_and_enterprise = by_kind[1] + by_kind[2];
  f->targets_township_and_street = by_kind[3] + by_kind[4];
  f->targets_village_and_community = by_kind[5] + by_kind[6];
  f->findings = xc__map_get(m, "f");
  for (int a = 1; a <= 6 && rc == XC_OK; a++) {
    char key[16];
    (void)snprintf(key, sizeof key, "fa:%d", a);
    if (xc__push_named(&f->findings_by_area, &f->n_findings_by_area, xc__area_zh[a],
                       xc__map_get(m, key)))
      rc = XC_ERESOURCE_EXHAUSTED;
  }
  /* Tags: the seven implementation failures always, then every other tag
   * by count. */
  for (int i = 0; i < 7 && rc == XC_OK; i++)
    if (xc__push_named(&f->findings_by_tag, &f->n_findings_by_tag, xc_report_seven[i],
                       xc__map_get2(m, "ft:", xc_report_seven[i])))
      rc = XC_ERESOURCE_EXHAUSTED;
  if (rc == XC_OK && m->n > 0) {
    tags = calloc(m->n, sizeof *tags);
    if (tags == NULL) rc = XC_ERESOURCE_EXHAUSTED;
  }
  for (size_t k = 0; rc == XC_OK && k < m->cap; k++) {
    int seven = 0;
    if (m->keys[k] == NULL || strncmp(m->keys[k], "ft:", 3) != 0 || m->vals[k] == 0) continue;
    for (int i = 0; i < 7; i++) seven |= strcmp(m->keys[k] + 3, xc_report_seven[i]) == 0;
    if (seven) continue;
    tags[n_tags].name = m->keys[k] + 3;
    tags[n_tags].count = m->vals[k];
    n_tags++;
  }
  if (n_tags > 0) qsort(tags, n_tags, sizeof *tags, xc__tag_cmp);
  for (size_t i = 0; i < n_tags && rc == XC_OK; i++)
    if (xc__push_named(&f->findings_by_tag, &f->n_findings_by_tag, tags[i].name, tags[i].count))
      rc = XC_ERESOURCE_EXHAUSTED;
  f->leads = xc__map_get(m, "l");
  f->cases = xc__map_get(m, "lc");
  f->sanctioned_persons = xc__map_get(m, "ps");
  f->sanction_person_times = xc__map_get(m, "pt");
  f->handled_persons = xc__map_get(m, "os");
  f->handling_person_times = xc__map_get(m, "ot");
  f->judicial_persons = xc__map_get(m, "js");
  f->judicial_person_times = xc__map_get(m, "jt");
  f->rect_completed = xc__map_get(m, "fc");
  f->rect_verified = xc__map_get(m, "fv");
  f->completion_rate = f->findings > 0 ? (double)f->rect_completed / (double)f->findings : 0.0;
  f->overdue = r->overdue;
  f->paper_only = xc__map_get(m, "fp");
  f->stalled = r->stalled;
  f->leads_report_overdue = r->report_overdue;
  free(tags);
  if (rc != XC_OK) return xc_err_set(err, rc, "out of memory building the summary");
  return XC_OK;
}

/* Makes a TargetRef for t. */
static Xuncha__V1__TargetRef *xc__target_ref(const Xuncha__V1__Target *t, int visited) {
  Xuncha__V1__TargetRef *ref = malloc(sizeof *ref);
  int k = (int)t->kind >= 0 && (int)t->kind <= 7 ? (int)t->kind : 0;
  if (ref == NULL) return NULL;
  xuncha__v1__target_ref__init(ref);
  ref->id = strdup(t->id);
  ref->name = strdup(t->name);
  ref->kind = strdup(xc__kind_zh[k]);
  ref->region_code = strdup(t->region_code);
  ref->visited = visited;
  if (ref->id == NULL || ref->name == NULL || ref->kind == NULL || ref->region_code == NULL) {
    xc_msg_free(ref);
    return NULL;
  }
  return ref;
}

/* Builds the coverage of a result. */
static int xc__coverage(const xc__scope *s, const xc__result *r, Xuncha__V1__Coverage **out,
                        xc_err *err) {
  Xuncha__V1__Coverage *c = malloc(sizeof *c);
  int64_t tot[8] = {0}, nom[8] = {0}, eff[8] = {0};
  int rc = XC_OK;
  *out = NULL;
  if (c == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__coverage__init(c);
  for (size_t i = 0; i < s->targets.n && rc == XC_OK; i++) {
    const Xuncha__V1__Target *t = (const Xuncha__V1__Target *)s->targets.v[i];
    int k = (int)t->kind >= 0 && (int)t->kind <= 7 ? (int)t->kind : 0;
    int64_t fl = xc__map_get(&r->targets, t->id);
    tot[k]++;
    if (fl & 1) nom[k]++;
    if (fl & 2) eff[k]++;
    if (!(fl & 2)) {
      Xuncha__V1__TargetRef *ref = xc__target_ref(t, (fl & 1) != 0);
      if (ref == NULL || xc__push(&c->not_covered, &c->n_not_covered, ref) != 0) {
        xc_msg_free(ref);
        rc = XC_ERESOURCE_EXHAUSTED;
      }
    }
  }
  for (int k = 0; k <= 8 && rc == XC_OK; k++) {
    Xuncha__V1__CoverageRow *row;
    int64_t T = 0, N = 0, E = 0;
    if (k == 0) continue; /* unspecified kinds only count in the total */
    if (k == 8) {
      for (int j = 0; j < 8; j++) {
        T += tot[j];
        N += nom[j];
        E += eff[j];
      }
    } else {
      T = tot[k];
      N = nom[k];
      E = eff[k];
    }
    row = malloc(sizeof *row);
    if (row == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      break;
    }
    xuncha__v1__coverage_row__init(row);
    row->kind = strdup(k == 8 ? "合计" : xc__kind_zh[k]);
    row->targets = T;
    row->nominal = N;
    row->effective = E;
    row->nominal_rate = T > 0 ? (double)N / (double)T : 0.0;
    row->effective_rate = T > 0 ? (double)E / (double)T : 0.0;
    if (row->kind == NULL || xc__push(&c->rows, &c->n_rows, row) != 0) {
      xc_msg_free(row);
      rc = XC_ERESOURCE_EXHAUSTED;
    }
  }
  if (rc != XC_OK) {
    xc_msg_free(c);
    return xc_err_set(err, rc, "out of memory building the coverage");
  }
  *out = c;
  return XC_OK;
}

/* ----------------------------------------------------------------- scope */

static void xc__scope_free(xc__scope *s) {
  xc__recs_free(&s->rounds);
  xc__recs_free(&s->targets);
  xc__recs_free(&s->agencies);
  xc_snapshot_end(s->snap);
  s->snap = NULL;
}

/* Keeps only the records that are not voided. */
static void xc__drop_void(xc__recs *r) {
  size_t o = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (xc_workflow_voided(r->v[i]))
      xc_msg_free(r->v[i]);
    else
      r->v[o++] = r->v[i];
  }
  r->n = o;
}

/* Checks the scope and the caller, and loads rounds, targets, agencies. */
static int xc__scope_open(xc_store *store, const xc_identity *who,
                          const Xuncha__V1__ReportScope *scope, const char *today,
                          int stalled_days, xc__scope *s, xc_err *err) {
  const char *P = scope != NULL && scope->region_prefix != NULL && scope->region_prefix[0]
                      ? scope->region_prefix
                      : who->region;
  char city[XC_REGION_MAX_DIGITS + 1];
  int rc;

  memset(s, 0, sizeof *s);
  s->who = who;
  s->today = today;
  s->stalled_days = stalled_days;
  if (who->role == XC_ROLE_AGENCY)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "reports are for inspection offices, auditors and administrators; %s is "
                      "an agency (it reads the leads sent to it)",
                      who->cn);
  if (!xc_region_code_valid(P))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "scope.region_prefix '%.32s' is not a region code of 2, 4, 6, 9 or 12 "
                      "digits",
                      P);
  if (!xc_region_within(P, who->region))
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may report only on its own region %s; scope.region_prefix %s is "
                      "outside it",
                      who->cn, who->region, P);
  if (scope == NULL || scope->term < 1)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "scope.term must be 1 or more (届次)");
  if ((scope->from_date != NULL && scope->from_date[0] && !xc_date_valid(scope->from_date)) ||
      (scope->to_date != NULL && scope->to_date[0] && !xc_date_valid(scope->to_date)))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "scope.from_date and scope.to_date must be dates YYYY-MM-DD");
  if (scope->from_date != NULL && scope->from_date[0] && scope->to_date != NULL &&
      scope->to_date[0] && strcmp(scope->from_date, scope->to_date) > 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "scope.from_date %s is after scope.to_date %s",
                      scope->from_date, scope->to_date);
  xc_strlcpy(s->P, P, sizeof s->P);
  (void)snprintf(s->office, sizeof s->office, "office:%s", P);
  /* Rounds that may reach into P lie in P's city (or P's province when P
   * is a province): one scan of a region index level. */
  xc_strlcpy(city, P, strlen(P) >= 4 ? 5 : sizeof city);
  rc = xc_snapshot_begin(store, &s->snap, err);
  if (rc == XC_OK)
    rc = xc_snapshot_scan(s->snap, XC_KIND_ROUND, XC_INDEX_REGION, city, NULL, xc__recs_visit,
                          &s->rounds, err);
  if (rc == XC_OK)
    rc = xc_snapshot_scan(s->snap, XC_KIND_TARGET, XC_INDEX_REGION, P, NULL, xc__recs_visit,
                          &s->targets, err);
  if (rc == XC_OK)
    rc = xc_snapshot_scan(s->snap, XC_KIND_DIRECTORY, XC_INDEX_REGION, P, NULL, xc__recs_visit,
                          &s->agencies, err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory reading records");
  if (rc != XC_OK) {
    xc__scope_free(s);
    return rc;
  }
  xc__drop_void(&s->rounds);
  xc__drop_void(&s->targets);
  xc__drop_void(&s->agencies);
  return XC_OK;
}

/* The current period of a scope. */
static int xc__current(xc__scope *s, const Xuncha__V1__ReportScope *scope, xc__period *q,
                       xc_err *err) {
  memset(q, 0, sizeof *q);
  q->by_term = 1;
  q->term = scope->term;
  xc_strlcpy(q->from, scope->from_date != NULL ? scope->from_date : "", sizeof q->from);
  xc_strlcpy(q->to, scope->to_date != NULL ? scope->to_date : "", sizeof q->to);
  return xc__find_term(s->snap, s->P, q->term, q, err);
}

/* Shifts a date by whole years (29 Feb becomes 28 Feb). */
static void xc__year_back(const char *date, char out[11]) {
  char tmp[11];
  if (date == NULL || !xc_date_valid(date)) {
    out[0] = '\0';
    return;
  }
  xc_wf_add_months(date, -12, tmp);
  xc_strlcpy(out, tmp, 11);
}

/* ---------------------------------------------------------------- public */

int xc_report_coverage(xc_store *store, const xc_identity *who,
                       const Xuncha__V1__ReportScope *scope, const char *today,
                       Xuncha__V1__Coverage **out, xc_err *err) {
  xc__scope s;
  xc__period q;
  xc__result r;
  int rc;
  *out = NULL;
  memset(&r, 0, sizeof r);
  rc = xc__scope_open(store, who, scope, today, XC_WF_DEFAULT_STALLED_DAYS, &s, err);
  if (rc != XC_OK) return rc;
  rc = xc__current(&s, scope, &q, err);
  if (rc == XC_OK) rc = xc__compute(&s, &q, &r, err);
  if (rc == XC_OK) rc = xc__coverage(&s, &r, out, err);
  xc__result_free(&r);
  xc__scope_free(&s);
  return rc;
}

/* Adds one growth row. */
static int xc__growth(Xuncha__V1__Summary *sum, const char *name, int64_t cur, int64_t prev) {
  Xuncha__V1__Growth *g = malloc(sizeof *g);
  if (g == NULL) return -1;
  xuncha__v1__growth__init(g);
  g->name = strdup(name);
  g->current = cur;
  g->previous = prev;
  g->no_base = prev == 0;
  g->percent = prev != 0 ? (double)(cur - prev) * 100.0 / (double)prev : 0.0;
  if (g->name == NULL || xc__push(&sum->growth, &sum->n_growth, g) != 0) {
    xc_msg_free(g);
    return -1;
  }
  return 0;
}

/* Zero-activity lists: agencies with no case, inspected targets with no
 * finding. */
static int xc__zero_lists(const xc__scope *s, const xc__result *r, Xuncha__V1__Summary *sum) {
  for (size_t i = 0; i < s->agencies.n; i++) {
    const Xuncha__V1__DirectoryEntry *d = (const Xuncha__V1__DirectoryEntry *)s->agencies.v[i];
    Xuncha__V1__AgencyActivity *a;
    if (d->kind < XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION ||
        d->identity == NULL || d->identity[0] == '\0')
      continue;
    if (xc__map_get2(&r->m, "lrc:", d->identity) != 0) continue;
    a = malloc(sizeof *a);
    if (a == NULL) return -1;
    xuncha__v1__agency_activity__init(a);
    a->recipient = strdup(d->identity);
    a->name = strdup(d->name);
    a->leads = xc__map_get2(&r->m, "lr:", d->identity);
    a->cases = 0;
    if (a->recipient == NULL || a->name == NULL ||
        xc__push(&sum->zero_case_agencies, &sum->n_zero_case_agencies, a) != 0) {
      xc_msg_free(a);
      return -1;
    }
  }
  /* Recipients that got leads but have no directory entry in the scope. */
  for (size_t k = 0; k < r->m.cap; k++) {
    const char *key = r->m.keys[k];
    const char *rcp;
    int known = 0;
    Xuncha__V1__AgencyActivity *a;
    if (key == NULL || strncmp(key, "lr:", 3) != 0) continue;
    rcp = key + 3;
    if (xc__map_get2(&r->m, "lrc:", rcp) != 0) continue;
    for (size_t i = 0; i < s->agencies.n && !known; i++) {
      const Xuncha__V1__DirectoryEntry *d = (const Xuncha__V1__DirectoryEntry *)s->agencies.v[i];
      known = d->identity != NULL && strcmp(d->identity, rcp) == 0;
    }
    if (known) continue;
    a = malloc(sizeof *a);
    if (a == NULL) return -1;
    xuncha__v1__agency_activity__init(a);
    a->recipient = strdup(rcp);
    a->leads = r->m.vals[k];
    if (a->recipient == NULL ||
        xc__push(&sum->zero_case_agencies, &sum->n_zero_case_agencies, a) != 0) {
      xc_msg_free(a);
      return -1;
    }
  }
  for (size_t i = 0; i < s->targets.n; i++) {
    const Xuncha__V1__Target *t = (const Xuncha__V1__Target *)s->targets.v[i];
    Xuncha__V1__TargetRef *ref;
    if (!(xc__map_get(&r->targets, t->id) & 1) || xc__map_get2(&r->m, "tf:", t->id) != 0)
      continue;
    ref = xc__target_ref(t, 1);
    if (ref == NULL ||
        xc__push(&sum->targets_without_findings, &sum->n_targets_without_findings, ref) != 0) {
      xc_msg_free(ref);
      return -1;
    }
  }
  return 0;
}

int xc_report_summary(xc_store *store, const xc_identity *who,
                      const Xuncha__V1__ReportScope *scope, const char *today, int stalled_days,
                      Xuncha__V1__Summary **out, xc_err *err) {
  Xuncha__V1__Summary *sum = NULL;
  xc__scope s;
  xc__period cur, prev;
  xc__result rc_cur, rc_prev;
  char label[64];
  int rc;

  *out = NULL;
  memset(&rc_cur, 0, sizeof rc_cur);
  memset(&rc_prev, 0, sizeof rc_prev);
  rc = xc__scope_open(store, who, scope, today, stalled_days, &s, err);
  if (rc != XC_OK) return rc;
  rc = xc__current(&s, scope, &cur, err);
  if (rc != XC_OK) goto done;
  /* The previous period: the same date range a year earlier when a range
   * is given (any term), else the previous term. */
  memset(&prev, 0, sizeof prev);
  if (cur.from[0] != '\0' || cur.to[0] != '\0') {
    xc__year_back(cur.from, prev.from);
    xc__year_back(cur.to, prev.to);
    (void)snprintf(label, sizeof label, "%s..%s", prev.from, prev.to);
  } else {
    prev.by_term = 1;
    prev.term = cur.term - 1;
    (void)snprintf(label, sizeof label, "第%d届", prev.term);
    if (prev.term >= 1) rc = xc__find_term(s.snap, s.P, prev.term, &prev, err);
  }
  if (rc != XC_OK) goto done;
  rc = xc__compute(&s, &cur, &rc_cur, err);
  if (rc == XC_OK && (!prev.by_term || prev.term >= 1)) rc = xc__compute(&s, &prev, &rc_prev, err);
  if (rc != XC_OK) goto done;

  sum = malloc(sizeof *sum);
  if (sum == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__summary__init(sum);
  sum->scope = malloc(sizeof *sum->scope);
  sum->current = malloc(sizeof *sum->current);
  sum->previous = malloc(sizeof *sum->previous);
  if (sum->scope == NULL || sum->current == NULL || sum->previous == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__report_scope__init(sum->scope);
  xuncha__v1__summary_figures__init(sum->current);
  xuncha__v1__summary_figures__init(sum->previous);
  sum->scope->term = cur.term;
  if (xc_msg_set_str(&sum->scope->base, "region_prefix", s.P) != XC_OK ||
      xc_msg_set_str(&sum->scope->base, "from_date", cur.from) != XC_OK ||
      xc_msg_set_str(&sum->scope->base, "to_date", cur.to) != XC_OK ||
      xc_msg_set_str(&sum->base, "term_start", cur.start) != XC_OK ||
      xc_msg_set_str(&sum->base, "term_end", cur.end) != XC_OK ||
      xc_msg_set_str(&sum->base, "as_of", today) != XC_OK ||
      xc_msg_set_str(&sum->base, "previous_label", label) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc__fill(&s, &rc_cur, sum->current, err);
  if (rc == XC_OK) rc = xc__fill(&s, &rc_prev, sum->previous, err);
  if (rc == XC_OK) rc = xc__coverage(&s, &rc_cur, &sum->coverage, err);
  if (rc != XC_OK) goto done;
  {
    const Xuncha__V1__SummaryFigures *a = sum->current, *b = sum->previous;
    if (xc__growth(sum, "rounds", a->rounds, b->rounds) || xc__growth(sum, "groups", a->groups, b->groups) ||
        xc__growth(sum, "targets_inspected", a->targets_inspected, b->targets_inspected) ||
        xc__growth(sum, "findings", a->findings, b->findings) ||
        xc__growth(sum, "leads", a->leads, b->leads) ||
        xc__growth(sum, "cases", a->cases, b->cases) ||
        xc__growth(sum, "sanctioned_persons", a->sanctioned_persons, b->sanctioned_persons) ||
        xc__growth(sum, "sanction_person_times", a->sanction_person_times,
                   b->sanction_person_times) ||
        xc__growth(sum, "handled_persons", a->handled_persons, b->handled_persons) ||
        xc__growth(sum, "handling_person_times", a->handling_person_times,
                   b->handling_person_times) ||
        xc__growth(sum, "judicial_persons", a->judicial_persons, b->judicial_persons) ||
        xc__growth(sum, "judicial_person_times", a->judicial_person_times,
                   b->judicial_person_times) ||
        xc__zero_lists(&s, &rc_cur, sum)) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  }
  *out = sum;
  sum = NULL;
done:
  if (sum != NULL) xc_msg_free(sum);
  xc__result_free(&rc_cur);
  xc__result_free(&rc_prev);
  xc__scope_free(&s);
  return rc;
}

/* ----------------------------------------------------------------- terms */

typedef struct xc__term_write {
  Xuncha__V1__Term *rec;
  const char *owner, *author, *scope, *request_id;
  uint8_t fp[32];
  ProtobufCMessage *out;
} xc__term_write;

static int xc__term_dup_visit(void *c, ProtobufCMessage *rec) {
  const xc__term_write *w = c;
  const Xuncha__V1__Term *t = (const Xuncha__V1__Term *)rec;
  int dup = !t->voided && t->number == w->rec->number && strcmp(t->owner, w->owner) == 0;
  xc_msg_free(rec);
  return dup ? XC_EALREADY_EXISTS : 0;
}

static int xc__term_write_fn(xc_txn *txn, void *c, xc_err *err) {
  xc__term_write *w = c;
  ProtobufCMessage *copy = NULL;
  int rc;
  xc_msg_free(w->out);
  w->out = NULL;
  /* A retried request returns the first term, so look it up first. */
  copy = xc_msg_clone(&w->rec->base);
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  if (w->request_id == NULL || w->request_id[0] == '\0') {
    rc = xc_txn_scan(txn, XC_KIND_TERM, XC_INDEX_OWNER, w->rec->region_code, NULL,
                     xc__term_dup_visit, w, err);
    if (rc == XC_EALREADY_EXISTS) {
      rc = xc_err_set(err, rc, "%s already has a term number %d (届次); void it first",
                      w->owner, w->rec->number);
      goto done;
    }
    if (rc != XC_OK) goto done;
  }
  rc = xc_txn_create_once(txn, XC_KIND_TERM, copy, w->owner, w->author, w->scope, w->request_id,
                          w->fp, &w->out, err);
  /* A first use of the request id must still be unique: check after, in
   * the same transaction (the create is rolled back on failure). */
  if (rc == XC_OK && w->request_id != NULL && w->request_id[0] != '\0') {
    xc__recs all;
    int n = 0;
    memset(&all, 0, sizeof all);
    rc = xc_txn_scan(txn, XC_KIND_TERM, XC_INDEX_OWNER, w->rec->region_code, NULL,
                     xc__recs_visit, &all, err);
    for (size_t i = 0; rc == XC_OK && i < all.n; i++) {
      const Xuncha__V1__Term *t = (const Xuncha__V1__Term *)all.v[i];
      n += !t->voided && t->number == w->rec->number && strcmp(t->owner, w->owner) == 0;
    }
    xc__recs_free(&all);
    if (rc == XC_OK && n > 1)
      rc = xc_err_set(err, XC_EALREADY_EXISTS,
                      "%s already has a term number %d (届次); void it first", w->owner,
                      w->rec->number);
  }
done:
  xc_msg_free(copy);
  return rc;
}

int xc_report_create_term(xc_store *store, const xc_identity *who, const Xuncha__V1__Term *sent,
                          const char *request_id, const xc_audit_entry *audit,
                          Xuncha__V1__Term **out, xc_err *err) {
  xc__term_write w;
  Xuncha__V1__Term *t = NULL;
  char owner[XC_MAX_CN_BYTES + 1];
  char author[XC_AUTHOR_MAX];
  int rc;

  *out = NULL;
  memset(&w, 0, sizeof w);
  if (who->role != XC_ROLE_OFFICE)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "only an inspection office (office:<code>) records its terms; %s is not one",
                      who->cn);
  if (sent == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "term is required");
  t = (Xuncha__V1__Term *)xc_msg_clone(&sent->base);
  if (t == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xc_record_clear_output_only(XC_KIND_TERM, &t->base);
  rc = xc_record_check_strings(XC_KIND_TERM, &t->base, err);
  if (rc != XC_OK) goto done;
  if (t->number < 1) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "term.number must be 1 or more (届次), not %d",
                    t->number);
    goto done;
  }
  if (t->start_date == NULL || !xc_date_valid(t->start_date)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "term.start_date is required, as YYYY-MM-DD");
    goto done;
  }
  if (t->end_date != NULL && t->end_date[0] != '\0' &&
      (!xc_date_valid(t->end_date) || strcmp(t->end_date, t->start_date) < 0)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "term.end_date must be a date YYYY-MM-DD not before term.start_date %s",
                    t->start_date);
    goto done;
  }
  if (xc_msg_set_str(&t->base, "region_code", who->region) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  (void)snprintf(owner, sizeof owner, "office:%s", who->region);
  xc_identity_author(who, author, sizeof author);
  rc = xc_record_fingerprint(&t->base, w.fp);
  if (rc != XC_OK) {
    rc = xc_err_set(err, rc, "cannot fingerprint the request");
    goto done;
  }
  w.rec = t;
  w.owner = owner;
  w.author = author;
  w.scope = who->cn;
  w.request_id = request_id;
  rc = audit != NULL ? xc_store_write_audited(store, audit, xc__term_write_fn, &w, err)
                     : xc_store_write(store, xc__term_write_fn, &w, err);
  if (rc == XC_OK) {
    *out = (Xuncha__V1__Term *)w.out;
    w.out = NULL;
  }
done:
  xc_msg_free(w.out);
  xc_msg_free(t);
  return rc;
}

int xc_report_list_terms(xc_store *store, const xc_identity *who, const char *region_prefix,
                         Xuncha__V1__ListTermsResponse **out, xc_err *err) {
  const char *P = region_prefix != NULL && region_prefix[0] ? region_prefix : who->region;
  Xuncha__V1__ListTermsResponse *resp = NULL;
  xc_snapshot *snap = NULL;
  xc__recs terms;
  int rc;

  *out = NULL;
  memset(&terms, 0, sizeof terms);
  if (!xc_region_code_valid(P))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "region_prefix '%.32s' is not a region code of 2, 4, 6, 9 or 12 digits", P);
  if (!xc_may_read_region(who, P))
    return xc_err_set(err, XC_EPERMISSION_DENIED, "%s may not read region %s", who->cn, P);
  rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK)
    rc = xc_snapshot_scan(snap, XC_KIND_TERM, XC_INDEX_REGION, P, NULL, xc__recs_visit, &terms,
                          err);
  if (rc == XC_ERESOURCE_EXHAUSTED) rc = xc_err_set(err, rc, "out of memory");
  if (rc != XC_OK) goto done;
  xc__drop_void(&terms);
  resp = malloc(sizeof *resp);
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__list_terms_response__init(resp);
  resp->terms = (Xuncha__V1__Term **)terms.v;
  resp->n_terms = terms.n;
  memset(&terms, 0, sizeof terms);
  *out = resp;
done:
  xc__recs_free(&terms);
  xc_snapshot_end(snap);
  return rc;
}
