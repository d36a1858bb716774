/*
 * xc_cli_rep.c: reports, terms, import and export (xc_cli_rep.h).
 */
#include "xc_cli_rep.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xc_cli.h"
#include "xc_cli_opts.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_ops.h"
#include "xc_render.h"
#include "xc_resources.h"
#include "xc_text.h"
#include "xuncha/client.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))
/* The largest file `xuncha import` reads. */
#define XC__IMPORT_MAX_BYTES (64u * 1024 * 1024)
/* Most rows a file may have (the server takes this many per request). */
#define XC__IMPORT_MAX_ROWS 20000
/* Most columns a row may have. */
#define XC__IMPORT_MAX_COLS 64
/* Most pages an export follows. */
#define XC__EXPORT_MAX_PAGES 2000

/* ---------------------------------------------------------------- parsing */

typedef struct xc__rep {
  xc_conn_flags conn;
  xc_out_fmt fmt;
  int help, skip_bad, dry_run, progress;
  const char *pos[4];
  size_t n_pos;
  const char *term, *region, *from, *to, *lang, *number, *start, *end, *note, *encoding, *out,
      *round, *target, *region_prefix;
  char bad[XC_ERR_MSG_MAX];
} xc__rep;

static const char **xc__rep_slot(xc__rep *w, const char *name) {
  static const char *const names[] = {"term",   "region",   "from", "to",    "lang",
                                      "number", "start",    "end",  "note",  "encoding",
                                      "out",    "round",    "target", "region-prefix"};
  const char **slots[] = {&w->term,   &w->region, &w->from,     &w->to,    &w->lang,
                          &w->number, &w->start,  &w->end,      &w->note,  &w->encoding,
                          &w->out,    &w->round,  &w->target,   &w->region_prefix};
  for (size_t i = 0; i < XC__N(names); i++)
    if (strcmp(names[i], name) == 0) return slots[i];
  return NULL;
}

static void xc__rep_parse(int argc, char **argv, xc__rep *w) {
  xc_cli_opts o;
  memset(w, 0, sizeof *w);
  xc_cli_opts_init(&o, argc, argv);
  while (xc_cli_opts_next(&o) != XC_CLI_OPTS_END) {
    const char *a = o.arg, *name = o.name, *value;
    const char **slot;
    if (strcmp(a, "-h") == 0) {
      w->help = 1;
      continue;
    }
    if (o.kind == XC_CLI_OPTS_WORD) {
      if (w->n_pos < XC__N(w->pos))
        w->pos[w->n_pos++] = a;
      else
        xc_cli_opts_bad(w->bad, sizeof w->bad, "unexpected argument '%.64s'", a);
      continue;
    }
    if (o.kind != XC_CLI_OPTS_OPTION) {
      xc_cli_opts_bad(w->bad, sizeof w->bad, "unknown option %.48s", a);
      continue;
    }
    if (strcmp(name, "json") == 0 || strcmp(name, "csv") == 0) {
      w->fmt = name[0] == 'j' ? XC_OUT_JSON : XC_OUT_CSV;
      continue;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "skip-bad") == 0 ||
        strcmp(name, "dry-run") == 0 || strcmp(name, "progress") == 0) {
      int *flag = name[0] == 'h' ? &w->help : name[0] == 's' ? &w->skip_bad
                                          : name[0] == 'd'   ? &w->dry_run
                                                             : &w->progress;
      *flag = 1;
      continue;
    }
    value = xc_cli_opts_value(&o);
    if (value == NULL) {
      xc_cli_opts_bad(w->bad, sizeof w->bad, "a value is needed after --%s", name);
      continue;
    }
    /* Here --lang is the report's language, one of the slots. */
    if (xc_cli_opts_conn(&w->conn, name, value)) continue;
    slot = xc__rep_slot(w, name);
    if (slot == NULL)
      xc_cli_opts_bad(w->bad, sizeof w->bad, "unknown option --%s", name);
    else if (*slot != NULL)
      xc_cli_opts_bad(w->bad, sizeof w->bad, "--%s given twice", name);
    else
      *slot = value;
  }
}

/* Returns 1 if the positional words name one of our commands. */
static int xc__rep_is_ours(const xc__rep *w) {
  const char *res = w->n_pos > 0 ? w->pos[0] : "";
  return strcmp(res, "report") == 0 || strcmp(res, "term") == 0 || strcmp(res, "import") == 0 ||
         strcmp(res, "export") == 0;
}

void xc_cli_rep_usage(FILE *out) {
  (void)fprintf(
      out,
      "Reports and data exchange (报表与台账):\n"
      "  report summary --term N [--region CODE] [--from D --to D] [--lang en] [--json|--csv]\n"
      "                                      the speech's figures, growth, coverage, 零办案\n"
      "  report coverage --term N [--region CODE]  有形覆盖 / 有效覆盖 and targets not covered\n"
      "  term create --number N --start D [--end D]  届: the office's term and its dates\n"
      "  term list [--region CODE]\n"
      "  import targets|findings|leads FILE.csv [--encoding utf-8|gb18030] [--skip-bad]\n"
      "         [--dry-run] [--progress]    Chinese headers (问题, 领域, 整改期限, ...); every\n"
      "                                      row checked first; one transaction; re-import\n"
      "                                      creates nothing\n"
      "  export targets|findings|leads [--round ID] [--region-prefix P] [--out FILE]\n"
      "         [--encoding utf-8|gb18030]   CSV that Excel opens (UTF-8 with BOM)\n");
}

/* ---------------------------------------------------------------- running */

typedef struct xc__reprun {
  xc__rep *w;
  xc_client *client;
  FILE *out, *errf;
  int remote;
  int en;
} xc__reprun;

static int xc__rep_call(xc__reprun *r, const char *method, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *rd, ProtobufCMessage **out, xc_err *err) {
  int rc = xc_client_call(r->client, method, req, rd, out, 0, err);
  if (rc != XC_OK) r->remote = 1;
  return rc;
}

/* Parses a positive int flag. */
static int xc__int_flag(const char *flag, const char *v, int required, int32_t *out, xc_err *err) {
  long long n = 0;
  *out = 0;
  if (v == NULL) {
    if (required) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s N is required", flag);
    return XC_OK;
  }
  if (xc_parse_int64(v, 1, 100000, &n) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s must be a number from 1, not '%.32s'", flag,
                      v);
  *out = (int32_t)n;
  return XC_OK;
}

static int xc__date_flag(const char *flag, const char *v, xc_err *err) {
  if (v != NULL && !xc_date_valid(v))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%.32s' is not a date YYYY-MM-DD", flag, v);
  return XC_OK;
}

/* -------------------------------------------------------------- sentences */

/* The party committee of a scope's level. */
static const char *xc__committee(const char *region, int en) {
  size_t n = region != NULL ? strlen(region) : 0;
  if (en) return n == 4 ? "municipal" : n == 6 ? "county" : n == 9 ? "township" : "";
  return n == 4 ? "市委" : n == 6 ? "区(县)委" : n == 9 ? "乡镇(街道)党委" : "党委";
}

static const char *xc__ordinal(int n) {
  int m = n % 100;
  if (m >= 11 && m <= 13) return "th";
  switch (n % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
  }
}

size_t xc_cli_rep_sentence(const Xuncha__V1__Summary *s, int en, char *buf, size_t size) {
  const Xuncha__V1__SummaryFigures *f = s->current;
  int term = s->scope != NULL ? s->scope->term : 0;
  const char *region = s->scope != NULL ? s->scope->region_prefix : "";
  int n;
  if (f == NULL) {
    if (size > 0) buf[0] = '\0';
    return 0;
  }
  if (en)
    n = snprintf(buf, size,
                 "So far, the %d%s %s Party committee has deployed %lld inspection rounds and "
                 "dispatched %lld inspection groups, conducting comprehensive political "
                 "examinations of %lld municipal departments and key city-owned enterprises and "
                 "%lld townships (streets)... The inspections found %lld problems and transferred "
                 "%lld problem leads, of which %lld were filed as cases; %lld persons received "
                 "Party or government sanctions and %lld persons organizational handling.",
                 term, xc__ordinal(term), xc__committee(region, 1), (long long)f->rounds,
                 (long long)f->groups, (long long)f->targets_municipal_and_enterprise,
                 (long long)f->targets_township_and_street, (long long)f->findings,
                 (long long)f->leads, (long long)f->cases, (long long)f->sanctioned_persons,
                 (long long)f->handled_persons);
  else
    n = snprintf(buf, size,
                 "截至目前，%d届%s已部署开展了%lld轮巡察，先后派出%lld个巡察组，对%lld个市直单位、"
                 "市属重点企业和%lld个乡镇(街道)进行全面政治检视…巡察发现问题%lld个，移交问题线索"
                 "%lld件，其中立案%lld件，给予党纪政务处分%lld人、组织处理%lld人。",
                 term, xc__committee(region, 0), (long long)f->rounds, (long long)f->groups,
                 (long long)f->targets_municipal_and_enterprise,
                 (long long)f->targets_township_and_street, (long long)f->findings,
                 (long long)f->leads, (long long)f->cases, (long long)f->sanctioned_persons,
                 (long long)f->handled_persons);
  return n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------- summaries */

/* One scalar figure of SummaryFigures. */
typedef struct xc__fig {
  const char *key, *zh, *en;
  size_t offset;
} xc__fig;

#define XC__FIG(k, zh, en) {#k, zh, en, offsetof(Xuncha__V1__SummaryFigures, k)}
static const xc__fig xc__figs[] = {
    XC__FIG(rounds, "巡察轮次（轮）", "rounds deployed"),
    XC__FIG(groups, "派出巡察组（个）", "groups dispatched"),
    XC__FIG(targets_inspected, "被巡察单位（个）", "targets inspected"),
    XC__FIG(targets_municipal_and_enterprise, "市直单位、市属重点企业（个）",
            "municipal departments and key enterprises"),
    XC__FIG(targets_township_and_street, "乡镇(街道)（个）", "townships (streets)"),
    XC__FIG(targets_village_and_community, "村(社区)（个）", "villages (communities)"),
    XC__FIG(findings, "发现问题（个）", "problems found"),
    XC__FIG(leads, "移交问题线索（件）", "leads transferred"),
    XC__FIG(cases, "立案（件）", "cases filed"),
    XC__FIG(sanctioned_persons, "党纪政务处分（人）", "Party/government sanctions (persons)"),
    XC__FIG(sanction_person_times, "党纪政务处分（人次）",
            "Party/government sanctions (person-times)"),
    XC__FIG(handled_persons, "组织处理（人）", "organizational handling (persons)"),
    XC__FIG(handling_person_times, "组织处理（人次）", "organizational handling (person-times)"),
    XC__FIG(judicial_persons, "移送司法机关（人）", "transferred to judicial organs (persons)"),
    XC__FIG(judicial_person_times, "移送司法机关（人次）",
            "transferred to judicial organs (person-times)"),
    XC__FIG(rect_completed, "整改完成（个）", "rectifications completed"),
    XC__FIG(rect_verified, "验收销号（个）", "rectifications verified (销号)"),
    XC__FIG(overdue, "拖延式：逾期未完成（个）", "overdue (拖延式)"),
    XC__FIG(paper_only, "文件整改：无佐证（个）", "paper-only (文件整改)"),
    XC__FIG(stalled, "半截式：停滞（个）", "stalled (半截式)"),
    XC__FIG(leads_report_overdue, "线索逾期未反馈（件）", "leads not reported in 3 months"),
};

static int64_t xc__fig_get(const Xuncha__V1__SummaryFigures *f, const xc__fig *g) {
  return f != NULL ? *(const int64_t *)(const void *)((const char *)f + g->offset) : 0;
}

static const Xuncha__V1__Growth *xc__growth_of(const Xuncha__V1__Summary *s, const char *key) {
  for (size_t i = 0; i < s->n_growth; i++)
    if (strcmp(s->growth[i]->name, key) == 0) return s->growth[i];
  return NULL;
}

/* Writes "增长12.5％" / "下降3.0％" / "无基数" (or English) into buf. */
static void xc__growth_text(const Xuncha__V1__Growth *g, int en, char *buf, size_t size) {
  if (g == NULL) {
    buf[0] = '\0';
  } else if (g->no_base) {
    xc_strlcpy(buf, en ? "no base" : "无基数", size);
  } else if (g->percent >= 0) {
    (void)snprintf(buf, size, en ? "+%.1f%%" : "增长%.1f％", g->percent);
  } else {
    (void)snprintf(buf, size, en ? "%.1f%%" : "下降%.1f％", -g->percent);
  }
}

/* A growing list of cells for xc_render_table; strings are copies. */
typedef struct xc__cells {
  char **v;
  size_t n, cap;
  int oom;
} xc__cells;

static void xc__cell(xc__cells *c, const char *s) {
  if (c->oom) return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    char **nv = realloc(c->v, cap * sizeof *nv);
    if (nv == NULL) {
      c->oom = 1;
      return;
    }
    c->v = nv;
    c->cap = cap;
  }
  c->v[c->n] = strdup(s != NULL ? s : "");
  if (c->v[c->n] == NULL) {
    c->oom = 1;
    return;
  }
  c->n++;
}

static void xc__celln(xc__cells *c, long long n) {
  char b[32];
  (void)snprintf(b, sizeof b, "%lld", n);
  xc__cell(c, b);
}

static void xc__cells_free(xc__cells *c) {
  for (size_t i = 0; i < c->n; i++) free(c->v[i]);
  free(c->v);
  memset(c, 0, sizeof *c);
}

/* Prints a table of ncols columns from c and frees c. */
static int xc__table(FILE *out, const xc_column *cols, size_t ncols, xc__cells *c, xc_err *err) {
  int rc;
  if (c->oom) {
    xc__cells_free(c);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  rc = xc_render_table(out, cols, ncols, (const char *const *)c->v, c->n / ncols, err);
  xc__cells_free(c);
  return rc;
}

static void xc__rate(double r, char *buf, size_t size) {
  (void)snprintf(buf, size, "%.1f%%", r * 100.0);
}

static int xc__print_coverage(FILE *out, const Xuncha__V1__Coverage *cov, int en, xc_err *err) {
  xc_column cols[6] = {{en ? "kind" : "类别", 0},
                       {en ? "targets" : "应巡察", 0},
                       {en ? "nominal" : "有形覆盖", 0},
                       {en ? "rate" : "覆盖率", 0},
                       {en ? "effective" : "有效覆盖", 0},
                       {en ? "rate" : "覆盖率", 0}};
  xc__cells c;
  char b[32];
  int rc;
  memset(&c, 0, sizeof c);
  if (cov == NULL) return XC_OK;
  for (size_t i = 0; i < cov->n_rows; i++) {
    const Xuncha__V1__CoverageRow *r = cov->rows[i];
    xc__cell(&c, r->kind);
    xc__celln(&c, (long long)r->targets);
    xc__celln(&c, (long long)r->nominal);
    xc__rate(r->nominal_rate, b, sizeof b);
    xc__cell(&c, b);
    xc__celln(&c, (long long)r->effective);
    xc__rate(r->effective_rate, b, sizeof b);
    xc__cell(&c, b);
  }
  rc = xc__table(out, cols, 6, &c, err);
  if (rc != XC_OK) return rc;
  (void)fprintf(out, "\n%s (%zu)\n", en ? "Targets not effectively covered" : "未有效覆盖的被巡察单位",
                cov->n_not_covered);
  {
    xc_column tc[4] = {{en ? "id" : "编号", 0},
                       {en ? "name" : "单位名称", 40},
                       {en ? "kind" : "类别", 0},
                       {en ? "visited" : "已进驻", 0}};
    for (size_t i = 0; i < cov->n_not_covered; i++) {
      const Xuncha__V1__TargetRef *t = cov->not_covered[i];
      xc__cell(&c, t->id);
      xc__cell(&c, t->name);
      xc__cell(&c, t->kind);
      xc__cell(&c, t->visited ? (en ? "yes" : "是") : (en ? "no" : "否"));
    }
    if (cov->n_not_covered > 0) return xc__table(out, tc, 4, &c, err);
    xc__cells_free(&c);
  }
  return XC_OK;
}

static int xc__print_summary(FILE *out, const Xuncha__V1__Summary *s, int en, xc_err *err) {
  char sentence[2048], b[64], hdr[96];
  xc_column cols[4];
  xc__cells c;
  int rc;
  memset(&c, 0, sizeof c);
  (void)xc_cli_rep_sentence(s, en, sentence, sizeof sentence);
  (void)fprintf(out, "%s\n\n", sentence);
  (void)snprintf(hdr, sizeof hdr, "%s (%s)", en ? "previous" : "上期", s->previous_label);
  cols[0].header = en ? "figure" : "指标";
  cols[1].header = en ? "current" : "本期";
  cols[2].header = hdr;
  cols[3].header = en ? "change" : "增减";
  for (int i = 0; i < 4; i++) cols[i].max_width = 0;
  for (size_t i = 0; i < XC__N(xc__figs); i++) {
    xc__cell(&c, en ? xc__figs[i].en : xc__figs[i].zh);
    xc__celln(&c, (long long)xc__fig_get(s->current, &xc__figs[i]));
    xc__celln(&c, (long long)xc__fig_get(s->previous, &xc__figs[i]));
    xc__growth_text(xc__growth_of(s, xc__figs[i].key), en, b, sizeof b);
    xc__cell(&c, b);
  }
  xc__cell(&c, en ? "completion rate" : "整改完成率");
  xc__rate(s->current != NULL ? s->current->completion_rate : 0, b, sizeof b);
  xc__cell(&c, b);
  xc__rate(s->previous != NULL ? s->previous->completion_rate : 0, b, sizeof b);
  xc__cell(&c, b);
  xc__cell(&c, "");
  rc = xc__table(out, cols, 4, &c, err);
  if (rc != XC_OK || s->current == NULL) return rc;
  {
    const Xuncha__V1__SummaryFigures *f = s->current;
    xc_column nc[2] = {{en ? "area" : "问题领域", 0}, {en ? "findings" : "问题数", 0}};
    xc_column tc[2] = {{en ? "tag" : "问题标签", 0}, {en ? "findings" : "问题数", 0}};
    xc_column kc[2] = {{en ? "target kind" : "被巡察单位类别", 0}, {en ? "inspected" : "已巡察", 0}};
    (void)fputc('\n', out);
    for (size_t i = 0; i < f->n_targets_by_kind; i++) {
      xc__cell(&c, f->targets_by_kind[i]->name);
      xc__celln(&c, (long long)f->targets_by_kind[i]->count);
    }
    rc = xc__table(out, kc, 2, &c, err);
    (void)fputc('\n', out);
    for (size_t i = 0; rc == XC_OK && i < f->n_findings_by_area; i++) {
      xc__cell(&c, f->findings_by_area[i]->name);
      xc__celln(&c, (long long)f->findings_by_area[i]->count);
    }
    if (rc == XC_OK) rc = xc__table(out, nc, 2, &c, err);
    (void)fputc('\n', out);
    for (size_t i = 0; rc == XC_OK && i < f->n_findings_by_tag; i++) {
      xc__cell(&c, f->findings_by_tag[i]->name);
      xc__celln(&c, (long long)f->findings_by_tag[i]->count);
    }
    if (rc == XC_OK) rc = xc__table(out, tc, 2, &c, err);
  }
  if (rc != XC_OK) return rc;
  (void)fprintf(out, "\n%s\n", en ? "Coverage (this term)" : "巡察覆盖（本届）");
  rc = xc__print_coverage(out, s->coverage, en, err);
  if (rc != XC_OK) return rc;
  (void)fprintf(out, "\n%s (%zu)\n", en ? "Agencies with no case filed (零办案)" : "零办案的有关单位",
                s->n_zero_case_agencies);
  for (size_t i = 0; i < s->n_zero_case_agencies; i++) {
    const Xuncha__V1__AgencyActivity *a = s->zero_case_agencies[i];
    (void)fprintf(out, "  %s %s  %s %lld\n", a->recipient, a->name,
                  en ? "leads received:" : "收到线索", (long long)a->leads);
  }
  (void)fprintf(out, "\n%s (%zu)\n",
                en ? "Inspected targets with no finding recorded" : "已巡察但未记录问题的单位",
                s->n_targets_without_findings);
  for (size_t i = 0; i < s->n_targets_without_findings; i++)
    (void)fprintf(out, "  %s %s (%s)\n", s->targets_without_findings[i]->id,
                  s->targets_without_findings[i]->name, s->targets_without_findings[i]->kind);
  (void)fprintf(out, "\n%s %s\n", en ? "As of" : "统计截至", s->as_of);
  return XC_OK;
}

static int xc__csv_summary(FILE *out, const Xuncha__V1__Summary *s, xc_err *err) {
  const char *hdr[4] = {"figure", "current", "previous", "growth_percent"};
  int rc = xc_render_csv_row(out, hdr, 4, err);
  for (size_t i = 0; rc == XC_OK && i < XC__N(xc__figs); i++) {
    const Xuncha__V1__Growth *g = xc__growth_of(s, xc__figs[i].key);
    char c1[32], c2[32], c3[32];
    const char *row[4] = {xc__figs[i].key, c1, c2, c3};
    (void)snprintf(c1, sizeof c1, "%lld", (long long)xc__fig_get(s->current, &xc__figs[i]));
    (void)snprintf(c2, sizeof c2, "%lld", (long long)xc__fig_get(s->previous, &xc__figs[i]));
    if (g == NULL || g->no_base)
      c3[0] = '\0';
    else
      (void)snprintf(c3, sizeof c3, "%.2f", g->percent);
    rc = xc_render_csv_row(out, row, 4, err);
  }
  if (rc == XC_OK && s->current != NULL) {
    const Xuncha__V1__SummaryFigures *f = s->current;
    char name[XC_MAX_NAME_BYTES + 16], v[32];
    const char *row[4] = {name, v, "", ""};
    (void)snprintf(v, sizeof v, "%.4f", f->completion_rate);
    xc_strlcpy(name, "completion_rate", sizeof name);
    rc = xc_render_csv_row(out, row, 4, err);
    for (size_t i = 0; rc == XC_OK && i < f->n_findings_by_area; i++) {
      (void)snprintf(name, sizeof name, "area:%s", f->findings_by_area[i]->name);
      (void)snprintf(v, sizeof v, "%lld", (long long)f->findings_by_area[i]->count);
      rc = xc_render_csv_row(out, row, 4, err);
    }
    for (size_t i = 0; rc == XC_OK && i < f->n_findings_by_tag; i++) {
      (void)snprintf(name, sizeof name, "tag:%s", f->findings_by_tag[i]->name);
      (void)snprintf(v, sizeof v, "%lld", (long long)f->findings_by_tag[i]->count);
      rc = xc_render_csv_row(out, row, 4, err);
    }
    for (size_t i = 0; rc == XC_OK && i < f->n_targets_by_kind; i++) {
      (void)snprintf(name, sizeof name, "targets:%s", f->targets_by_kind[i]->name);
      (void)snprintf(v, sizeof v, "%lld", (long long)f->targets_by_kind[i]->count);
      rc = xc_render_csv_row(out, row, 4, err);
    }
  }
  return rc;
}

static int xc__csv_coverage(FILE *out, const Xuncha__V1__Coverage *cov, xc_err *err) {
  const char *hdr[6] = {"kind", "targets", "nominal", "effective", "nominal_rate",
                        "effective_rate"};
  int rc = xc_render_csv_row(out, hdr, 6, err);
  for (size_t i = 0; rc == XC_OK && i < cov->n_rows; i++) {
    const Xuncha__V1__CoverageRow *r = cov->rows[i];
    char a[32], b[32], c[32], d[32], e[32];
    const char *row[6] = {r->kind, a, b, c, d, e};
    (void)snprintf(a, sizeof a, "%lld", (long long)r->targets);
    (void)snprintf(b, sizeof b, "%lld", (long long)r->nominal);
    (void)snprintf(c, sizeof c, "%lld", (long long)r->effective);
    (void)snprintf(d, sizeof d, "%.4f", r->nominal_rate);
    (void)snprintf(e, sizeof e, "%.4f", r->effective_rate);
    rc = xc_render_csv_row(out, row, 6, err);
  }
  return rc;
}

static int xc__rep_scope(const xc__rep *w, Xuncha__V1__ReportScope *sc, xc_err *err) {
  int rc = xc__int_flag("term", w->term, 1, &sc->term, err);
  if (rc == XC_OK) rc = xc__date_flag("from", w->from, err);
  if (rc == XC_OK) rc = xc__date_flag("to", w->to, err);
  if (rc != XC_OK) return rc;
  sc->region_prefix = (char *)(w->region != NULL ? w->region : "");
  sc->from_date = (char *)(w->from != NULL ? w->from : "");
  sc->to_date = (char *)(w->to != NULL ? w->to : "");
  return XC_OK;
}

static int xc__run_report(xc__reprun *r, xc_err *err) {
  xc__rep *w = r->w;
  const char *verb = w->n_pos > 1 ? w->pos[1] : "";
  Xuncha__V1__ReportScope sc = XUNCHA__V1__REPORT_SCOPE__INIT;
  ProtobufCMessage *out = NULL;
  int rc;
  rc = xc__rep_scope(w, &sc, err);
  if (rc != XC_OK) return rc;
  if (strcmp(verb, "summary") == 0) {
    Xuncha__V1__SummaryRequest req = XUNCHA__V1__SUMMARY_REQUEST__INIT;
    req.scope = &sc;
    rc = xc__rep_call(r, "/xuncha.v1.Reports/GetSummary", &req.base,
                      &xuncha__v1__summary__descriptor, &out, err);
    if (rc == XC_OK) {
      const Xuncha__V1__Summary *s = (const Xuncha__V1__Summary *)out;
      if (w->fmt == XC_OUT_JSON)
        rc = xc_render_json_print(r->out, out, err);
      else if (w->fmt == XC_OUT_CSV)
        rc = xc__csv_summary(r->out, s, err);
      else
        rc = xc__print_summary(r->out, s, r->en, err);
    }
  } else if (strcmp(verb, "coverage") == 0) {
    Xuncha__V1__CoverageRequest req = XUNCHA__V1__COVERAGE_REQUEST__INIT;
    req.scope = &sc;
    rc = xc__rep_call(r, "/xuncha.v1.Reports/GetCoverage", &req.base,
                      &xuncha__v1__coverage__descriptor, &out, err);
    if (rc == XC_OK) {
      if (w->fmt == XC_OUT_JSON)
        rc = xc_render_json_print(r->out, out, err);
      else if (w->fmt == XC_OUT_CSV)
        rc = xc__csv_coverage(r->out, (const Xuncha__V1__Coverage *)out, err);
      else
        rc = xc__print_coverage(r->out, (const Xuncha__V1__Coverage *)out, r->en, err);
    }
  } else {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "usage: xuncha report summary|coverage --term N [--region CODE]");
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

static int xc__run_term(xc__reprun *r, xc_err *err) {
  xc__rep *w = r->w;
  const char *verb = w->n_pos > 1 ? w->pos[1] : "";
  ProtobufCMessage *out = NULL;
  int rc;
  if (strcmp(verb, "create") == 0) {
    Xuncha__V1__CreateTermRequest req = XUNCHA__V1__CREATE_TERM_REQUEST__INIT;
    Xuncha__V1__Term t = XUNCHA__V1__TERM__INIT;
    char rid[64];
    rc = xc__int_flag("number", w->number, 1, &t.number, err);
    if (rc == XC_OK && w->start == NULL)
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "--start YYYY-MM-DD is required");
    if (rc == XC_OK) rc = xc__date_flag("start", w->start, err);
    if (rc == XC_OK) rc = xc__date_flag("end", w->end, err);
    if (rc != XC_OK) return rc;
    t.start_date = (char *)w->start;
    t.end_date = (char *)(w->end != NULL ? w->end : "");
    t.note = (char *)(w->note != NULL ? w->note : "");
    xc_cli_request_id(rid, sizeof rid);
    req.term = &t;
    req.request_id = rid;
    rc = xc__rep_call(r, "/xuncha.v1.Terms/CreateTerm", &req.base, &xuncha__v1__term__descriptor,
                      &out, err);
    if (rc == XC_OK) {
      const Xuncha__V1__Term *c = (const Xuncha__V1__Term *)out;
      if (w->fmt == XC_OUT_JSON)
        rc = xc_render_json_print(r->out, out, err);
      else
        (void)fprintf(r->out, "%s  第%d届  %s..%s\n", c->id, c->number, c->start_date,
                      c->end_date);
    }
  } else if (strcmp(verb, "list") == 0) {
    Xuncha__V1__ListTermsRequest req = XUNCHA__V1__LIST_TERMS_REQUEST__INIT;
    req.region_prefix = (char *)(w->region != NULL ? w->region : "");
    rc = xc__rep_call(r, "/xuncha.v1.Terms/ListTerms", &req.base,
                      &xuncha__v1__list_terms_response__descriptor, &out, err);
    if (rc == XC_OK && w->fmt == XC_OUT_JSON) {
      rc = xc_render_json_print(r->out, out, err);
    } else if (rc == XC_OK) {
      const Xuncha__V1__ListTermsResponse *l = (const Xuncha__V1__ListTermsResponse *)out;
      xc_column cols[5] = {{"编号", 0}, {"机构", 0}, {"届次", 0}, {"开始", 0}, {"结束", 0}};
      xc__cells c;
      memset(&c, 0, sizeof c);
      for (size_t i = 0; i < l->n_terms; i++) {
        xc__cell(&c, l->terms[i]->id);
        xc__cell(&c, l->terms[i]->owner);
        xc__celln(&c, l->terms[i]->number);
        xc__cell(&c, l->terms[i]->start_date);
        xc__cell(&c, l->terms[i]->end_date);
      }
      rc = xc__table(r->out, cols, 5, &c, err);
    }
  } else {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "usage: xuncha term create --number N --start DATE [--end DATE] | term list");
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

/* ------------------------------------------------------------- encodings */

/* Converts len bytes of `from` to `to` with iconv into a new buffer. */
static int xc__iconv(const char *from, const char *to, const char *data, size_t len, char **out,
                     size_t *out_len, xc_err *err) {
  iconv_t cd = iconv_open(to, from);
  size_t cap, left_in = len, left_out;
  char *buf, *in = (char *)data, *o;
  *out = NULL;
  *out_len = 0;
  if (cd == (iconv_t)-1)
    return xc_err_set(err, XC_EINTERNAL, "this system cannot convert %s to %s", from, to);
  if (len > SIZE_MAX / 4 - 1) {
    iconv_close(cd);
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "the file is too large");
  }
  /* GB18030 takes at most 4 bytes per character, UTF-8 at most 4 per
   * GB18030 character of at least 1 byte. */
  cap = len * 4 + 1;
  buf = malloc(cap);
  if (buf == NULL) {
    iconv_close(cd);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  o = buf;
  left_out = cap - 1;
  if (iconv(cd, &in, &left_in, &o, &left_out) == (size_t)-1) {
    int e = errno;
    size_t at = (size_t)(in - data);
    iconv_close(cd);
    free(buf);
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the file is not valid %s at byte %zu (%s); give --encoding if it is "
                      "another one",
                      from, at, e == EILSEQ ? "an invalid sequence" : "an incomplete character");
  }
  iconv_close(cd);
  *o = '\0';
  *out = buf;
  *out_len = (size_t)(o - buf);
  return XC_OK;
}

int xc_cli_rep_to_utf8(const char *data, size_t len, const char *encoding, char **out,
                       size_t *out_len, xc_err *err) {
  int utf8;
  *out = NULL;
  *out_len = 0;
  if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
      (unsigned char)data[2] == 0xBF) {
    data += 3;
    len -= 3;
    if (encoding == NULL) encoding = "utf-8";
  }
  if (encoding != NULL && strcasecmp(encoding, "utf-8") != 0 && strcasecmp(encoding, "utf8") != 0 &&
      strcasecmp(encoding, "gb18030") != 0 && strcasecmp(encoding, "gbk") != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--encoding must be utf-8 or gb18030, not '%.32s'", encoding);
  utf8 = encoding != NULL ? (tolower((unsigned char)encoding[0]) == 'u')
                          : xc_utf8_valid(data, len);
  if (utf8) {
    if (!xc_utf8_valid(data, len))
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "the file is not valid UTF-8; give --encoding gb18030 if Excel saved it "
                        "as GB18030 (ANSI)");
    *out = malloc(len + 1);
    if (*out == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    memcpy(*out, data, len);
    (*out)[len] = '\0';
    *out_len = len;
    return XC_OK;
  }
  return xc__iconv("GB18030", "UTF-8", data, len, out, out_len, err);
}

/* ------------------------------------------------------------------- CSV */

typedef struct xc__csvrow {
  char **cells;
  size_t n;
} xc__csvrow;

typedef struct xc__csvread {
  xc__csvrow *rows;
  size_t n, cap;
  xc__csvrow cur;
  int overflow; /* too many rows or columns */
  int oom;
} xc__csvread;

static void xc__csv_field(void *s, size_t len, void *data) {
  xc__csvread *r = data;
  char *c, **nv;
  if (r->oom || r->overflow) return;
  if (r->cur.n >= XC__IMPORT_MAX_COLS) {
    r->overflow = 1;
    return;
  }
  c = malloc(len + 1);
  nv = realloc(r->cur.cells, (r->cur.n + 1) * sizeof *nv);
  if (c == NULL || nv == NULL) {
    free(c);
    if (nv != NULL) r->cur.cells = nv;
    r->oom = 1;
    return;
  }
  memcpy(c, s, len);
  c[len] = '\0';
  r->cur.cells = nv;
  r->cur.cells[r->cur.n++] = c;
}

static void xc__csvrow_free(xc__csvrow *row) {
  for (size_t i = 0; i < row->n; i++) free(row->cells[i]);
  free(row->cells);
  memset(row, 0, sizeof *row);
}

static void xc__csv_row(int c, void *data) {
  xc__csvread *r = data;
  (void)c;
  if (r->oom || r->overflow) {
    xc__csvrow_free(&r->cur);
    return;
  }
  if (r->n >= XC__IMPORT_MAX_ROWS + 1) {
    r->overflow = 1;
    xc__csvrow_free(&r->cur);
    return;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    xc__csvrow *nv = realloc(r->rows, cap * sizeof *nv);
    if (nv == NULL) {
      r->oom = 1;
      xc__csvrow_free(&r->cur);
      return;
    }
    r->rows = nv;
    r->cap = cap;
  }
  r->rows[r->n++] = r->cur;
  memset(&r->cur, 0, sizeof r->cur);
}

static void xc__csvread_free(xc__csvread *r) {
  for (size_t i = 0; i < r->n; i++) xc__csvrow_free(&r->rows[i]);
  free(r->rows);
  xc__csvrow_free(&r->cur);
  memset(r, 0, sizeof *r);
}

/*
 * The line each CSV record starts on, as a spreadsheet numbers its rows:
 * blank lines (which libcsv skips) still count, and a quoted cell with new
 * lines in it keeps its record on its first line. Returns a new array of
 * at most max entries (free it) with *n filled, or NULL out of memory.
 */
static int *xc__record_lines(const char *text, size_t len, size_t max, size_t *n) {
  int *lines = calloc(max ? max : 1, sizeof *lines);
  int line = 1, inq = 0, at_start = 1;
  *n = 0;
  if (lines == NULL) return NULL;
  for (size_t i = 0; i < len && *n < max; i++) {
    char c = text[i];
    if (at_start) {
      if (c == '\n') {
        line++;
        continue;
      }
      if (c == '\r') continue;
      lines[(*n)++] = line;
      at_start = 0;
    }
    if (c == '"')
      inq = !inq;
    else if (c == '\n') {
      line++;
      if (!inq) at_start = 1;
    }
  }
  return lines;
}

/* Trims ASCII and full-width spaces at both ends, in place. */
static char *xc__trim(char *s) {
  char *e;
  for (;;) {
    if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
      s++;
    else if (strncmp(s, "\xe3\x80\x80", 3) == 0)
      s += 3;
    else
      break;
  }
  e = s + strlen(s);
  for (;;) {
    if (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
      e--;
    else if (e - s >= 3 && strncmp(e - 3, "\xe3\x80\x80", 3) == 0)
      e -= 3;
    else
      break;
  }
  *e = '\0';
  return s;
}

/* Finds the field a column header names. */
static const xc_field *xc__header_field(const xc_resource *res, const char *h) {
  for (size_t i = 0; i < res->n_fields; i++) {
    const xc_field *f = &res->fields[i];
    if (strcmp(f->label, h) == 0 || strcmp(f->path, h) == 0 ||
        (f->flag != NULL && strcmp(f->flag, h) == 0))
      return f;
  }
  return NULL;
}

/* Appends a line to errs. */
static void xc__errs_add(char *errs, size_t size, const char *line) {
  size_t n = strlen(errs);
  if (n + 1 >= size) return;
  (void)snprintf(errs + n, size - n, "%s\n", line);
}

/* The message of a field error, without the "--flag" it starts with on
 * the command line (a spreadsheet has columns, not flags). */
static const char *xc__field_msg(const char *m) {
  if (strncmp(m, "--", 2) == 0) {
    const char *sp = strchr(m, ' ');
    if (sp != NULL) {
      while (*sp == ' ' || *sp == ':') sp++;
      return sp;
    }
  }
  return m;
}

/* Applies one cell; list fields take several values separated by 、;；,
 * or new lines. */
static int xc__apply_cell(const xc_field *f, ProtobufCMessage *rec, char *cell, xc_err *err) {
  if (f->type == XC_FT_STRS || f->type == XC_FT_PERSONS || f->type == XC_FT_RECUSALS ||
      f->type == XC_FT_ASSIGNMENTS) {
    char *p = cell;
    while (*p != '\0') {
      size_t n = 0, skip = 0;
      char save;
      int rc;
      while (p[n] != '\0') {
        if (strncmp(p + n, "、", 3) == 0 || strncmp(p + n, "；", 3) == 0 ||
            strncmp(p + n, "，", 3) == 0) {
          skip = 3;
          break;
        }
        if (p[n] == ';' || p[n] == ',' || p[n] == '\n') {
          skip = 1;
          break;
        }
        n++;
      }
      save = p[n];
      p[n] = '\0';
      {
        char *v = xc__trim(p);
        rc = *v != '\0' ? xc_field_apply(f, rec, v, err) : XC_OK;
      }
      p[n] = save;
      if (rc != XC_OK) return rc;
      p += n + skip;
      if (skip == 0) break;
    }
    return XC_OK;
  }
  return xc_field_apply(f, rec, cell, err);
}

/* Sets the record of an ImportRow by resource name; takes rec. */
static void xc__row_set(Xuncha__V1__ImportRow *row, const char *resource, ProtobufCMessage *rec) {
  if (strcmp(resource, "target") == 0)
    row->target = (Xuncha__V1__Target *)rec;
  else if (strcmp(resource, "finding") == 0)
    row->finding = (Xuncha__V1__Finding *)rec;
  else
    row->lead = (Xuncha__V1__Lead *)rec;
}

/* Returns 1 if the field is set (non-empty) in rec. */
static int xc__field_set(const xc_field *f, const ProtobufCMessage *rec) {
  char *t = xc_field_text(f, rec, XC_STYLE_CSV);
  int set = t != NULL && t[0] != '\0' && strcmp(t, "0") != 0;
  free(t);
  return set;
}

int xc_cli_rep_parse_csv(const char *resource, const char *text, size_t len,
                         Xuncha__V1__ImportRow ***rows, size_t *n_rows, size_t *n_bad,
                         char *errs, size_t errs_size, int progress, FILE *progf, xc_err *err) {
  const xc_resource *res = xc_resource_find(resource);
  const xc_field *cols[XC__IMPORT_MAX_COLS];
  struct csv_parser p;
  xc__csvread r;
  Xuncha__V1__ImportRow **out = NULL;
  size_t n_out = 0, ncols, n_lines = 0;
  int *rec_lines = NULL;
  int rc = XC_OK, parser = 0;

  *rows = NULL;
  *n_rows = 0;
  *n_bad = 0;
  if (errs_size > 0) errs[0] = '\0';
  memset(&r, 0, sizeof r);
  if (res == NULL) return xc_err_set(err, XC_EINTERNAL, "no resource %s", resource);
  if (csv_init(&p, CSV_APPEND_NULL) != 0)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  parser = 1;
  if (csv_parse(&p, text, len, xc__csv_field, xc__csv_row, &r) != len) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the file is not CSV: %s",
                    csv_strerror(csv_error(&p)));
    goto done;
  }
  (void)csv_fini(&p, xc__csv_field, xc__csv_row, &r);
  if (r.oom) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory reading the file");
    goto done;
  }
  if (r.overflow) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the file has more than %d rows or %d columns: split it",
                    XC__IMPORT_MAX_ROWS, XC__IMPORT_MAX_COLS);
    goto done;
  }
  if (r.n == 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the file is empty: the first row must name the columns");
    goto done;
  }
  /* The header row. */
  ncols = r.rows[0].n;
  for (size_t c = 0; c < ncols; c++) {
    char *h = xc__trim(r.rows[0].cells[c]);
    const xc_field *f = xc__header_field(res, h);
    if (f == NULL && h[0] != '\0') {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "第1行: 不认识的列「%.64s」(column %zu); use the labels `xuncha %s "
                      "--help` shows, e.g. the header row `xuncha export %ss` writes",
                      h, c + 1, resource, resource);
      goto done;
    }
    /* Output-only columns (编号, 整改状态, ...) are read back from exports
     * and ignored. */
    cols[c] = f != NULL && (f->attrs & XC_FA_CREATE) ? f : NULL;
  }
  rec_lines = xc__record_lines(text, len, r.n, &n_lines);
  out = calloc(r.n, sizeof *out);
  if (out == NULL || rec_lines == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 1; i < r.n; i++) {
    xc__csvrow *row = &r.rows[i];
    ProtobufCMessage *rec;
    int line = i < n_lines ? rec_lines[i] : (int)i + 1, bad = 0, empty = 1;
    for (size_t c = 0; c < row->n; c++) empty &= xc__trim(row->cells[c])[0] == '\0';
    if (empty) continue;
    if (progress && progf != NULL && (i % 256 == 0 || i + 1 == r.n)) {
      int done = (int)((i * 30) / (r.n - 1 ? r.n - 1 : 1));
      (void)fprintf(progf, "\r[%-30.*s] %zu/%zu", done,
                    "##############################", i, r.n - 1);
      if (i + 1 == r.n) (void)fputc('\n', progf);
    }
    rec = xc_msg_new(res->record);
    if (rec == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    for (size_t c = 0; c < row->n && c < ncols; c++) {
      char *v = xc__trim(row->cells[c]);
      xc_err ferr;
      char line_msg[XC_ERR_MSG_MAX + 128];
      if (cols[c] == NULL || v[0] == '\0') continue;
      xc_err_clear(&ferr);
      if (xc__apply_cell(cols[c], rec, v, &ferr) != XC_OK) {
        (void)snprintf(line_msg, sizeof line_msg, "第%d行「%s」: %s", line, cols[c]->label,
                       xc__field_msg(ferr.msg));
        xc__errs_add(errs, errs_size, line_msg);
        bad = 1;
      }
    }
    for (size_t k = 0; k < res->n_fields; k++) {
      const xc_field *f = &res->fields[k];
      char line_msg[256];
      if ((f->attrs & XC_FA_CREATE) && (f->attrs & XC_FA_REQUIRED) && !xc__field_set(f, rec)) {
        (void)snprintf(line_msg, sizeof line_msg, "第%d行「%s」: 必填，不能为空 (required)", line,
                       f->label);
        xc__errs_add(errs, errs_size, line_msg);
        bad = 1;
      }
    }
    if (bad) {
      (*n_bad)++;
      protobuf_c_message_free_unpacked(rec, NULL);
      continue;
    }
    out[n_out] = malloc(sizeof **out);
    if (out[n_out] == NULL) {
      protobuf_c_message_free_unpacked(rec, NULL);
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    xuncha__v1__import_row__init(out[n_out]);
    out[n_out]->line = line;
    xc__row_set(out[n_out], resource, rec);
    n_out++;
  }
  *rows = out;
  *n_rows = n_out;
  out = NULL;
done:
  if (out != NULL) {
    for (size_t i = 0; i < n_out; i++) protobuf_c_message_free_unpacked(&out[i]->base, NULL);
    free(out);
  }
  if (parser) csv_free(&p);
  xc__csvread_free(&r);
  free(rec_lines);
  return rc;
}

/* Reads a whole file (at most XC__IMPORT_MAX_BYTES). */
static int xc__read_file(const char *path, char **out, size_t *len, xc_err *err) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  *out = NULL;
  *len = 0;
  if (f == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot open %s: %s", path, strerror(errno));
  for (;;) {
    size_t got;
    if (n == cap) {
      char *nb;
      if (cap >= XC__IMPORT_MAX_BYTES) {
        free(buf);
        fclose(f);
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is larger than %u MiB: split it", path,
                          XC__IMPORT_MAX_BYTES >> 20);
      }
      cap = cap ? cap * 2 : 65536;
      nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      }
      buf = nb;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    free(buf);
    fclose(f);
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read %s", path);
  }
  fclose(f);
  *out = buf;
  *len = n;
  return XC_OK;
}

/* "findings" → "finding". */
static const char *xc__kind_word(const char *w) {
  if (w == NULL) return NULL;
  if (strcmp(w, "targets") == 0 || strcmp(w, "target") == 0) return "target";
  if (strcmp(w, "findings") == 0 || strcmp(w, "finding") == 0) return "finding";
  if (strcmp(w, "leads") == 0 || strcmp(w, "lead") == 0) return "lead";
  return NULL;
}

static ProtobufCMessage **xc__repeated(const ProtobufCMessage *msg, const char *name, size_t *n);

/* Names already resolved to ids during one import. */
typedef struct xc__names {
  char name[64][XC_MAX_NAME_BYTES + 1];
  char id[64][XC_ID_MAX];
  int round[64];
  size_t n;
} xc__names;

/*
 * Resolves a 被巡察单位 or 巡察轮次 cell that is a name rather than an id: the
 * one target whose name, or round whose title, is exactly `name` among those
 * the caller may list. Writes the id into out; fills why (for the row's
 * message) and returns XC_EINVALID_ARGUMENT when there is none or more than
 * one; other codes are call failures.
 */
static int xc__resolve(xc__reprun *r, xc__names *cache, int round, const char *name, char *out,
                       size_t out_size, char *why, size_t why_size, xc_err *err) {
  ProtobufCMessage *resp = NULL;
  ProtobufCMessage **items;
  size_t n = 0, hits = 0;
  int rc;
  for (size_t i = 0; i < cache->n; i++) {
    if (cache->round[i] == round && strcmp(cache->name[i], name) == 0) {
      xc_strlcpy(out, cache->id[i], out_size);
      return XC_OK;
    }
  }
  if (round) {
    Xuncha__V1__ListRoundsRequest req = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    req.title_contains = (char *)name;
    req.page_size = 1000;
    rc = xc__rep_call(r, "/xuncha.v1.Rounds/ListRounds", &req.base,
                      &xuncha__v1__list_rounds_response__descriptor, &resp, err);
  } else {
    Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    req.name_contains = (char *)name;
    req.page_size = 1000;
    rc = xc__rep_call(r, "/xuncha.v1.Targets/ListTargets", &req.base,
                      &xuncha__v1__list_targets_response__descriptor, &resp, err);
  }
  if (rc != XC_OK) return rc;
  items = xc__repeated(resp, round ? "rounds" : "targets", &n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(xc_msg_get_str(items[i], round ? "title" : "name"), name) == 0) {
      if (hits++ == 0) xc_strlcpy(out, xc_msg_get_str(items[i], "id"), out_size);
    }
  }
  protobuf_c_message_free_unpacked(resp, NULL);
  if (hits == 1) {
    if (cache->n < 64 && strlen(name) <= XC_MAX_NAME_BYTES) {
      xc_strlcpy(cache->name[cache->n], name, sizeof cache->name[0]);
      xc_strlcpy(cache->id[cache->n], out, sizeof cache->id[0]);
      cache->round[cache->n++] = round;
    }
    return XC_OK;
  }
  if (hits == 0)
    (void)snprintf(why, why_size, "no %s you may see is %s '%s'; use its id",
                   round ? "round" : "target", round ? "titled" : "named", name);
  else
    (void)snprintf(why, why_size, "%zu %ss are %s '%s'; use the id", hits,
                   round ? "round" : "target", round ? "titled" : "named", name);
  return XC_EINVALID_ARGUMENT;
}

/* Replaces names in the round and target columns of finding and lead rows
 * with ids; rows that cannot be resolved are dropped into errs. */
static int xc__resolve_rows(xc__reprun *r, const char *kind, Xuncha__V1__ImportRow **rows,
                            size_t *n_rows, size_t *n_bad, char *errs, size_t errs_size,
                            xc_err *err) {
  xc__names *cache;
  size_t o = 0;
  int rc = XC_OK;
  if (strcmp(kind, "target") == 0) return XC_OK;
  cache = calloc(1, sizeof *cache);
  if (cache == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < *n_rows; i++) {
    ProtobufCMessage *rec = rows[i]->finding != NULL ? &rows[i]->finding->base
                            : rows[i]->lead != NULL  ? &rows[i]->lead->base
                                                     : NULL;
    static const char *const fields[2] = {"round_id", "target_id"};
    static const char *const labels[2] = {"巡察轮次", "被巡察单位"};
    int bad = 0;
    for (int k = 0; rec != NULL && k < 2 && rc == XC_OK && !bad; k++) {
      const char *v = xc_msg_get_str(rec, fields[k]);
      char id[XC_ID_MAX], why[XC_MAX_NAME_BYTES + 128], line[XC_MAX_NAME_BYTES + 200];
      int vrc;
      if (v[0] == '\0' || (strlen(v) == 28 && v[1] == '_' && v[0] == (k == 0 ? 'r' : 't')))
        continue;
      vrc = xc__resolve(r, cache, k == 0, v, id, sizeof id, why, sizeof why, err);
      if (vrc == XC_EINVALID_ARGUMENT) {
        (void)snprintf(line, sizeof line, "第%d行「%s」: %s", rows[i]->line, labels[k], why);
        xc__errs_add(errs, errs_size, line);
        bad = 1;
      } else if (vrc != XC_OK) {
        rc = vrc;
      } else if (xc_msg_set_str(rec, fields[k], id) != XC_OK) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      }
    }
    if (bad) {
      (*n_bad)++;
      protobuf_c_message_free_unpacked(&rows[i]->base, NULL);
    } else {
      rows[o++] = rows[i];
    }
  }
  *n_rows = o;
  free(cache);
  return rc;
}

static int xc__run_import(xc__reprun *r, xc_err *err) {
  xc__rep *w = r->w;
  const char *kind = xc__kind_word(w->n_pos > 1 ? w->pos[1] : NULL);
  Xuncha__V1__ImportRequest req = XUNCHA__V1__IMPORT_REQUEST__INIT;
  Xuncha__V1__ImportRow **rows = NULL;
  ProtobufCMessage *out = NULL;
  char *raw = NULL, *text = NULL;
  size_t raw_len = 0, text_len = 0, n_rows = 0, n_bad = 0;
  char *errs = NULL;
  const size_t errs_size = 256 * 1024;
  int rc;

  if (kind == NULL || w->n_pos != 3)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "usage: xuncha import targets|findings|leads FILE.csv [--skip-bad]");
  errs = calloc(1, errs_size);
  if (errs == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc__read_file(w->pos[2], &raw, &raw_len, err);
  if (rc == XC_OK) rc = xc_cli_rep_to_utf8(raw, raw_len, w->encoding, &text, &text_len, err);
  if (rc == XC_OK)
    rc = xc_cli_rep_parse_csv(kind, text, text_len, &rows, &n_rows, &n_bad, errs, errs_size,
                              w->progress || isatty(fileno(r->errf)), r->errf, err);
  /* Ledgers name units and rounds; the server wants ids. */
  if (rc == XC_OK) rc = xc__resolve_rows(r, kind, rows, &n_rows, &n_bad, errs, errs_size, err);
  if (rc != XC_OK) goto done;
  if (n_bad > 0) {
    (void)fputs(errs, r->errf);
    if (!w->skip_bad) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "%zu bad row(s) in %s: nothing was imported (fix them, or --skip-bad to "
                      "import the good rows only)",
                      n_bad, w->pos[2]);
      goto done;
    }
  }
  req.kind = (char *)kind;
  req.rows = rows;
  req.n_rows = n_rows;
  req.validate_only = w->dry_run;
  req.skip_bad = w->skip_bad;
  if (protobuf_c_message_get_packed_size(&req.base) > XC_MAX_MESSAGE_BYTES - 4096) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "%s is too large to import in one transaction (over %d MiB once encoded): "
                    "split it",
                    w->pos[2], XC_MAX_MESSAGE_BYTES >> 20);
    goto done;
  }
  rc = xc__rep_call(r, "/xuncha.v1.Import/ImportRecords", &req.base,
                    &xuncha__v1__import_response__descriptor, &out, err);
  if (rc != XC_OK) goto done;
  {
    const Xuncha__V1__ImportResponse *ir = (const Xuncha__V1__ImportResponse *)out;
    for (size_t i = 0; i < ir->n_errors; i++)
      (void)fprintf(r->errf, "第%d行: %s\n", ir->errors[i]->line, ir->errors[i]->message);
    if (w->fmt == XC_OUT_JSON) {
      rc = xc_render_json_print(r->out, out, err);
    } else {
      (void)fprintf(r->out, "%s: %d row(s) read, %d created, %d already imported, %zu bad%s\n",
                    w->pos[2], ir->rows + (int)n_bad, ir->created, ir->existing,
                    ir->n_errors + n_bad,
                    ir->applied ? "" : w->dry_run ? " (dry run: nothing written)"
                                                  : " (nothing imported)");
    }
    if (rc == XC_OK && !ir->applied && !w->dry_run && ir->n_errors > 0) {
      r->remote = 1;
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "%zu row(s) refused by the server: nothing was imported (or --skip-bad)",
                      ir->n_errors);
    }
  }
done:
  if (rows != NULL) {
    for (size_t i = 0; i < n_rows; i++) protobuf_c_message_free_unpacked(&rows[i]->base, NULL);
    free(rows);
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  free(raw);
  free(text);
  free(errs);
  return rc;
}

/* The repeated message field `name` of msg. */
static ProtobufCMessage **xc__repeated(const ProtobufCMessage *msg, const char *name, size_t *n) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
  *n = 0;
  if (f == NULL || f->label != PROTOBUF_C_LABEL_REPEATED) return NULL;
  *n = *(const size_t *)(const void *)((const char *)msg + f->quantifier_offset);
  return *(ProtobufCMessage ***)(void *)((char *)(uintptr_t)msg + f->offset);
}

static int xc__run_export(xc__reprun *r, xc_err *err) {
  xc__rep *w = r->w;
  const char *kind = xc__kind_word(w->n_pos > 1 ? w->pos[1] : NULL);
  const xc_resource *res = kind != NULL ? xc_resource_find(kind) : NULL;
  char *mem = NULL;
  size_t mem_len = 0, ncol = 0;
  FILE *ms = NULL, *dest = NULL;
  char token[XC_MAX_PAGE_TOKEN_BYTES + 1] = "";
  const char *hdr[XC__IMPORT_MAX_COLS];
  const xc_field *cols[XC__IMPORT_MAX_COLS];
  int gb = 0, rc = XC_OK;

  if (res == NULL || w->n_pos != 2)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "usage: xuncha export targets|findings|leads [--round ID] [--out FILE]");
  if (w->encoding != NULL) {
    if (strcasecmp(w->encoding, "gb18030") == 0)
      gb = 1;
    else if (strcasecmp(w->encoding, "utf-8") != 0 && strcasecmp(w->encoding, "utf8") != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "--encoding must be utf-8 or gb18030, not '%.32s'", w->encoding);
  }
  /* The id first (read back and ignored by import), then every field a
   * create takes, under its Chinese label: the file imports again as is. */
  for (size_t i = 0; i < res->n_fields && ncol < XC__IMPORT_MAX_COLS; i++) {
    const xc_field *f = &res->fields[i];
    if (strcmp(f->path, "id") == 0 || (f->attrs & XC_FA_CREATE)) {
      cols[ncol] = f;
      hdr[ncol++] = f->label;
    }
  }
  ms = open_memstream(&mem, &mem_len);
  if (ms == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  if (!gb) (void)fputs("\xEF\xBB\xBF", ms);
  rc = xc_render_csv_row(ms, hdr, ncol, err);
  for (int page = 0; rc == XC_OK && page < XC__EXPORT_MAX_PAGES; page++) {
    ProtobufCMessage *lreq = xc_msg_new(res->list_req), *lresp = NULL;
    ProtobufCMessage **recs;
    size_t n;
    if (lreq == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    {
      const char *fl[3] = {"round", "target", "region-prefix"};
      const char *fv[3] = {w->round, w->target, w->region_prefix};
      for (int k = 0; k < 3 && rc == XC_OK; k++) {
        const xc_filter *flt = fv[k] != NULL ? xc_resource_filter(res, fl[k]) : NULL;
        if (fv[k] != NULL && flt == NULL)
          rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s does not apply to %s", fl[k], kind);
        else if (flt != NULL)
          rc = xc_filter_apply(flt, lreq, fv[k], err);
      }
    }
    if (rc == XC_OK && (xc_msg_set_int(lreq, "page_size", 1000) != XC_OK ||
                        (token[0] != '\0' && xc_msg_set_str(lreq, "page_token", token) != XC_OK)))
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    if (rc == XC_OK) rc = xc__rep_call(r, res->list_method, lreq, res->list_resp, &lresp, err);
    protobuf_c_message_free_unpacked(lreq, NULL);
    if (rc != XC_OK) break;
    recs = xc__repeated(lresp, res->items_field, &n);
    for (size_t i = 0; rc == XC_OK && i < n; i++) {
      char *cells[XC__IMPORT_MAX_COLS];
      size_t made = 0;
      for (; made < ncol; made++) {
        cells[made] = xc_field_text(cols[made], recs[i], XC_STYLE_HUMAN);
        if (cells[made] == NULL) break;
      }
      if (made < ncol)
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      else
        rc = xc_render_csv_row(ms, (const char *const *)cells, ncol, err);
      for (size_t k = 0; k < made; k++) free(cells[k]);
    }
    xc_strlcpy(token, xc_msg_get_str(lresp, "next_page_token"), sizeof token);
    protobuf_c_message_free_unpacked(lresp, NULL);
    if (token[0] == '\0') break;
  }
  if (fclose(ms) != 0 && rc == XC_OK) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  ms = NULL;
  if (rc != XC_OK) goto done;
  dest = w->out != NULL ? fopen(w->out, "wb") : r->out;
  if (dest == NULL) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot write %s: %s", w->out, strerror(errno));
    goto done;
  }
  if (gb) {
    char *conv = NULL;
    size_t conv_len = 0;
    rc = xc__iconv("UTF-8", "GB18030", mem, mem_len, &conv, &conv_len, err);
    if (rc == XC_OK && fwrite(conv, 1, conv_len, dest) != conv_len)
      rc = xc_err_set(err, XC_EINTERNAL, "cannot write the output");
    free(conv);
  } else if (fwrite(mem, 1, mem_len, dest) != mem_len) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  }
done:
  if (ms != NULL) fclose(ms);
  if (dest != NULL && dest != r->out && fclose(dest) != 0 && rc == XC_OK)
    rc = xc_err_set(err, XC_EINTERNAL, "cannot write %s", w->out);
  free(mem);
  return rc;
}

int xc_cli_rep_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env, int *handled) {
  xc__rep *w = calloc(1, sizeof *w);
  xc__reprun run;
  xc_err err;
  int code = XC_EXIT_OK, rc;
  *handled = 0;
  memset(&run, 0, sizeof run);
  xc_err_clear(&err);
  if (w == NULL) {
    *handled = 1;
    (void)fprintf(errf, "xuncha: out of memory\n");
    return XC_EXIT_INTERNAL;
  }
  xc__rep_parse(argc, argv, w);
  if (!xc__rep_is_ours(w)) goto done;
  *handled = 1;
  if (w->help) {
    xc_cli_rep_usage(out);
    goto done;
  }
  if (w->bad[0] != '\0') {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha report --help' for usage.\n", w->bad);
    code = XC_EXIT_USAGE;
    goto done;
  }
  {
    xc_lang l = xc_lang_get();
    if (w->lang != NULL && xc_lang_parse(w->lang, &l) != 0) {
      (void)fprintf(errf, "xuncha: --lang must be zh or en, not '%.32s'\n", w->lang);
      code = XC_EXIT_USAGE;
      goto done;
    }
    run.en = l == XC_LANG_EN;
  }
  run.w = w;
  run.out = out;
  run.errf = errf;
  code = xc_cli_connect(&w->conn, env, errf, &run.client);
  if (code != XC_EXIT_OK) goto done;
  if (strcmp(w->pos[0], "report") == 0)
    rc = xc__run_report(&run, &err);
  else if (strcmp(w->pos[0], "term") == 0)
    rc = xc__run_term(&run, &err);
  else if (strcmp(w->pos[0], "import") == 0)
    rc = xc__run_import(&run, &err);
  else
    rc = xc__run_export(&run, &err);
  if (rc == XC_OK && fflush(out) != 0)
    rc = xc_err_set(&err, XC_EINTERNAL, "cannot write the output");
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s: %s\n", xc_code_name(rc), err.msg);
    code = run.remote                   ? xc_cli_exit_code(rc)
           : rc == XC_EINVALID_ARGUMENT ? XC_EXIT_USAGE
                                        : XC_EXIT_INTERNAL;
  }
done:
  xc_client_destroy(run.client);
  free(w);
  return code;
}
