/*
 * xc_cli_wf.c: the workflow commands of `xuncha` (xc_cli_wf.h): stage
 * advances, rectification progress and verification, the anti-pattern
 * views, completion rates, lead dispositions and voiding.
 */
#include "xc_cli_wf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xc_cli.h"
#include "xc_cli_opts.h"
#include "xc_enums.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_render.h"
#include "xc_resources.h"
#include "xc_text.h"
#include "xuncha/client.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))
#define XC__M(svc, name) "/xuncha.v1." svc "/" name
/* Most entries a repeated workflow flag takes. */
#define XC__WF_MAX_REPEAT 64
/* Most pages a view follows. */
#define XC__WF_MAX_PAGES 100

/* One parsed workflow command line; strings point into argv. */
typedef struct xc__wf {
  xc_conn_flags conn;
  xc_out_fmt fmt;
  int help;
  const char *pos[4];
  size_t n_pos;
  const char *to, *date, *etag, *text, *step, *note, *reason, *disposal;
  const char *round, *target, *region, *days;
  int include_void;
  const char *evidence[XC__WF_MAX_REPEAT];
  size_t n_evidence;
  const char *outcomes[XC__WF_MAX_REPEAT];
  size_t n_outcomes;
  char bad[XC_ERR_MSG_MAX]; /* the first parse error, "" if none */
} xc__wf;

/* The single-valued options, by name. */
static const char **xc__wf_slot(xc__wf *w, const char *name) {
  static const char *const names[] = {"to",    "date",   "etag",          "text",
                                      "step",  "note",   "reason",        "disposal",
                                      "round", "target", "region-prefix", "days"};
  const char **slots[] = {&w->to,     &w->date,     &w->etag,  &w->text,   &w->step,   &w->note,
                          &w->reason, &w->disposal, &w->round, &w->target, &w->region, &w->days};
  for (size_t i = 0; i < XC__N(names); i++)
    if (strcmp(names[i], name) == 0) return slots[i];
  return NULL;
}

/* Records the first parse error. */
static void xc__wf_bad(xc__wf *w, const char *what, const char *name) {
  if (w->bad[0] == '\0') (void)snprintf(w->bad, sizeof w->bad, "%s --%.48s", what, name);
}

/* Parses argv; never fails outright (errors land in w->bad). */
static void xc__wf_parse(int argc, char **argv, xc__wf *w) {
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
      xc__wf_bad(w, "unknown option", a + 2);
      continue;
    }
    if (strcmp(name, "json") == 0 || strcmp(name, "csv") == 0) {
      w->fmt = name[0] == 'j' ? XC_OUT_JSON : XC_OUT_CSV;
      continue;
    }
    if (strcmp(name, "help") == 0) {
      w->help = 1;
      continue;
    }
    if (strcmp(name, "include-void") == 0) {
      w->include_void = 1;
      continue;
    }
    value = xc_cli_opts_value(&o);
    if (value == NULL) {
      xc__wf_bad(w, "a value is needed after", name);
      continue;
    }
    /* --lang is accepted and left to $XUNCHA_LANG, which xc_cli_main
     * applied before calling us. */
    if (xc_cli_opts_conn(&w->conn, name, value) || strcmp(name, "lang") == 0) continue;
    if (strcmp(name, "evidence") == 0 || strcmp(name, "outcome") == 0) {
      int ev = name[0] == 'e';
      size_t *cnt = ev ? &w->n_evidence : &w->n_outcomes;
      if (*cnt >= XC__WF_MAX_REPEAT) {
        xc__wf_bad(w, "too many", name);
        continue;
      }
      (ev ? w->evidence : w->outcomes)[(*cnt)++] = value;
      continue;
    }
    slot = xc__wf_slot(w, name);
    if (slot == NULL)
      xc__wf_bad(w, "unknown option", name);
    else if (*slot != NULL)
      xc__wf_bad(w, "given twice:", name);
    else
      *slot = value;
  }
}

/* Returns 1 if the positional words name a workflow command. */
static int xc__wf_is_ours(const xc__wf *w) {
  const char *res = w->n_pos > 0 ? w->pos[0] : "";
  const char *verb = w->n_pos > 1 ? w->pos[1] : "";
  if (strcmp(res, "rectification") == 0) return 1;
  if (strcmp(res, "round") == 0 && strcmp(verb, "advance") == 0) return 1;
  if (strcmp(res, "lead") == 0 &&
      (strcmp(verb, "dispose") == 0 || strcmp(verb, "dispositions") == 0))
    return 1;
  return strcmp(verb, "void") == 0;
}

void xc_cli_wf_usage(FILE *out) {
  (void)fprintf(
      out,
      "Workflows (巡察工作流程):\n"
      "  round advance ID --to STAGE [--date D]         next stage, dated (准备→进驻→报告→\n"
      "                                                 反馈→移交→整改→立卷归档)\n"
      "  rectification progress FINDING --text T [--step 方案|进展|完成] [--date D]\n"
      "                [--evidence REF]...              append a progress entry (整改进展)\n"
      "  rectification verify FINDING [--note T]        验收销号 (round owner or above)\n"
      "  rectification revoke FINDING --reason T        撤销销号: found not fixed\n"
      "  rectification history FINDING [--include-void] progress entries, verifications\n"
      "  rectification overdue|paper-only|stalled|reopened [--round ID] [--target ID]\n"
      "                                                 拖延式 / 文件整改 / 半截式 / 反弹\n"
      "  rectification due --days N [--round ID]        not done, deadline within N days\n"
      "  rectification rate [--round ID] [--target ID]  整改完成率\n"
      "  lead dispose ID --disposal D [--outcome NAME:党纪|政务|组织处理|司法:MEASURE]...\n"
      "                                                 record the agency's handling\n"
      "  lead dispositions ID [--include-void]          the handling so far\n"
      "  RESOURCE void ID --reason T [--etag E]         作废: the record stays, marked void\n"
      "  directory create|get|list|update               巡察机构与有关单位 (agencies, offices)\n"
      "  --include-void on any list also shows voided records. Updates send the etag they\n"
      "  read (--etag E to insist on a version); a stale one is refused: read again.\n");
}

/* ---------------------------------------------------------------- running */

typedef struct xc__wfrun {
  xc__wf *w;
  xc_client *client;
  FILE *out;
  int remote; /* the failure came from the server */
} xc__wfrun;

static int xc__wf_call(xc__wfrun *r, const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *rd, ProtobufCMessage **out, xc_err *err) {
  int rc = xc_client_call(r->client, method, req, rd, out, 0, err);
  if (rc != XC_OK) r->remote = 1;
  return rc;
}

/* Prints msg as JSON, or one record of resource `res` as a block / CSV row. */
static int xc__wf_print_record(xc__wfrun *r, const char *res, const ProtobufCMessage *msg,
                               xc_err *err) {
  const ProtobufCMessage *one[1] = {msg};
  return xc_cli_print(r->out, xc_resource_find(res), r->w->fmt, one, 1, NULL, 1, err);
}

/* Reads the etag of record id through its Get method (resource res). */
static int xc__wf_etag(xc__wfrun *r, const char *res, const char *id, char *out, size_t size,
                       xc_err *err) {
  const xc_resource *rs = xc_resource_find(res);
  ProtobufCMessage *get = xc_msg_new(rs->get_req), *rec = NULL;
  int rc;
  if (r->w->etag != NULL) {
    xc_strlcpy(out, r->w->etag, size);
    if (get != NULL) protobuf_c_message_free_unpacked(get, NULL);
    return XC_OK;
  }
  if (get == NULL || xc_msg_set_str(get, "id", id) != XC_OK) {
    if (get != NULL) protobuf_c_message_free_unpacked(get, NULL);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  rc = xc__wf_call(r, rs->get_method, get, rs->record, &rec, err);
  if (rc == XC_OK) xc_strlcpy(out, xc_msg_get_str(rec, "etag"), size);
  protobuf_c_message_free_unpacked(get, NULL);
  if (rec != NULL) protobuf_c_message_free_unpacked(rec, NULL);
  return rc;
}

/* Requires the record ID argument. */
static int xc__wf_need_id(const xc__wf *w, const char *usage, xc_err *err) {
  if (w->n_pos < 3 || w->pos[2][0] == '\0' || strlen(w->pos[2]) >= XC_ID_MAX)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "usage: xuncha %s", usage);
  if (w->n_pos > 3)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "unexpected argument '%.64s'", w->pos[3]);
  return XC_OK;
}

/* Checks an optional date flag. */
static int xc__wf_date(const char *date, xc_err *err) {
  if (date != NULL && !xc_date_valid(date))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--date '%.32s' is not a date YYYY-MM-DD", date);
  return XC_OK;
}

/* Checks a text flag: valid UTF-8 within limit bytes. */
static int xc__wf_text(const char *flag, const char *v, size_t limit, xc_err *err) {
  if (v == NULL) return XC_OK;
  if (!xc_utf8_valid(v, strlen(v)) || strlen(v) > limit)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s must be UTF-8 text of at most %zu bytes",
                      flag, limit);
  return XC_OK;
}

static int xc__wf_advance(xc__wfrun *r, xc_err *err) {
  xc__wf *w = r->w;
  Xuncha__V1__AdvanceRoundRequest req = XUNCHA__V1__ADVANCE_ROUND_REQUEST__INIT;
  ProtobufCMessage *out = NULL;
  char etag[XC_MAX_NAME_BYTES + 1];
  int to = 0, rc;
  rc = xc__wf_need_id(w, "round advance ID --to STAGE [--date YYYY-MM-DD]", err);
  if (rc != XC_OK) return rc;
  if (w->to == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--to STAGE is required");
  if (xc_enum_parse(&xc_enum_round_stage, w->to, &to, err) != XC_OK) return XC_EINVALID_ARGUMENT;
  rc = xc__wf_date(w->date, err);
  if (rc == XC_OK) rc = xc__wf_etag(r, "round", w->pos[2], etag, sizeof etag, err);
  if (rc != XC_OK) return rc;
  req.id = (char *)w->pos[2];
  req.etag = etag;
  req.to = (Xuncha__V1__RoundStage)to;
  req.date = (char *)(w->date ? w->date : "");
  rc = xc__wf_call(r, XC__M("Rounds", "AdvanceRound"), &req.base, &xuncha__v1__round__descriptor,
                   &out, err);
  if (rc == XC_OK) rc = xc__wf_print_record(r, "round", out, err);
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

static int xc__wf_progress(xc__wfrun *r, xc_err *err) {
  xc__wf *w = r->w;
  Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
  ProtobufCMessage *out = NULL;
  char etag[XC_MAX_NAME_BYTES + 1];
  int step = XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS, rc;
  rc = xc__wf_need_id(w, "rectification progress FINDING --text TEXT [--step 方案|进展|完成]", err);
  if (rc != XC_OK) return rc;
  if (w->text == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--text TEXT is required");
  if (w->step != NULL && xc_enum_parse(&xc_enum_progress_step, w->step, &step, err) != XC_OK)
    return XC_EINVALID_ARGUMENT;
  rc = xc__wf_date(w->date, err);
  if (rc == XC_OK) rc = xc__wf_text("text", w->text, XC_MAX_TEXT_BYTES, err);
  for (size_t i = 0; rc == XC_OK && i < w->n_evidence; i++)
    rc = xc__wf_text("evidence", w->evidence[i], XC_MAX_NAME_BYTES, err);
  if (rc == XC_OK) rc = xc__wf_etag(r, "finding", w->pos[2], etag, sizeof etag, err);
  if (rc != XC_OK) return rc;
  e.finding_id = (char *)w->pos[2];
  e.step = (Xuncha__V1__ProgressStep)step;
  e.text = (char *)w->text;
  e.date = (char *)(w->date ? w->date : "");
  e.n_evidence = w->n_evidence;
  e.evidence = (char **)w->evidence;
  req.entry = &e;
  req.finding_etag = etag;
  rc = xc__wf_call(r, XC__M("Findings", "AppendProgress"), &req.base,
                   &xuncha__v1__append_progress_response__descriptor, &out, err);
  if (rc == XC_OK) {
    const Xuncha__V1__AppendProgressResponse *resp =
        (const Xuncha__V1__AppendProgressResponse *)out;
    rc = r->w->fmt == XC_OUT_JSON ? xc_render_json_print(r->out, out, err)
                                  : xc__wf_print_record(r, "finding", &resp->finding->base, err);
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

static int xc__wf_verify(xc__wfrun *r, int revoke, xc_err *err) {
  xc__wf *w = r->w;
  ProtobufCMessage *out = NULL;
  char etag[XC_MAX_NAME_BYTES + 1];
  int rc;
  rc = xc__wf_need_id(w,
                      revoke ? "rectification revoke FINDING --reason TEXT"
                             : "rectification verify FINDING [--note TEXT]",
                      err);
  if (rc != XC_OK) return rc;
  if (revoke && w->reason == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--reason TEXT is required: why was it found not fixed?");
  rc = xc__wf_date(w->date, err);
  if (rc == XC_OK)
    rc = xc__wf_text(revoke ? "reason" : "note", revoke ? w->reason : w->note, XC_MAX_TEXT_BYTES,
                     err);
  if (rc == XC_OK) rc = xc__wf_etag(r, "finding", w->pos[2], etag, sizeof etag, err);
  if (rc != XC_OK) return rc;
  if (revoke) {
    Xuncha__V1__RevokeVerificationRequest req = XUNCHA__V1__REVOKE_VERIFICATION_REQUEST__INIT;
    req.finding_id = (char *)w->pos[2];
    req.finding_etag = etag;
    req.date = (char *)(w->date ? w->date : "");
    req.reason = (char *)w->reason;
    rc = xc__wf_call(r, XC__M("Findings", "RevokeVerification"), &req.base,
                     &xuncha__v1__verification_response__descriptor, &out, err);
  } else {
    Xuncha__V1__VerifyRectificationRequest req = XUNCHA__V1__VERIFY_RECTIFICATION_REQUEST__INIT;
    req.finding_id = (char *)w->pos[2];
    req.finding_etag = etag;
    req.date = (char *)(w->date ? w->date : "");
    req.note = (char *)(w->note ? w->note : "");
    rc = xc__wf_call(r, XC__M("Findings", "VerifyRectification"), &req.base,
                     &xuncha__v1__verification_response__descriptor, &out, err);
  }
  if (rc == XC_OK) {
    const Xuncha__V1__VerificationResponse *resp = (const Xuncha__V1__VerificationResponse *)out;
    rc = w->fmt == XC_OUT_JSON ? xc_render_json_print(r->out, out, err)
                               : xc__wf_print_record(r, "finding", &resp->finding->base, err);
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

/* Sets the list filters shared by the views. */
static int xc__wf_filters(const xc__wf *w, Xuncha__V1__ListFindingsRequest *req, xc_err *err) {
  if (w->region != NULL && !xc_all_digits(w->region, XC_REGION_MAX_DIGITS))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--region-prefix must be up to %d digits",
                      XC_REGION_MAX_DIGITS);
  if (xc__wf_text("round", w->round, XC_ID_MAX - 1, err) != XC_OK ||
      xc__wf_text("target", w->target, XC_ID_MAX - 1, err) != XC_OK)
    return XC_EINVALID_ARGUMENT;
  req->round_id = (char *)(w->round ? w->round : "");
  req->target_id = (char *)(w->target ? w->target : "");
  req->region_prefix = (char *)(w->region ? w->region : "");
  req->include_void = w->include_void;
  return XC_OK;
}

/* The anti-pattern views: every page of ListFindings with one flag set. */
static int xc__wf_view(xc__wfrun *r, const char *view, xc_err *err) {
  xc__wf *w = r->w;
  Xuncha__V1__ListFindingsRequest req = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
  ProtobufCMessage *pages[XC__WF_MAX_PAGES];
  const ProtobufCMessage **rows = NULL;
  size_t n_pages = 0, n_rows = 0, cap = 0;
  char token[XC_MAX_PAGE_TOKEN_BYTES + 1] = "";
  int rc;
  if (w->n_pos > 2)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "unexpected argument '%.64s'", w->pos[2]);
  rc = xc__wf_filters(w, &req, err);
  if (rc != XC_OK) return rc;
  if (strcmp(view, "overdue") == 0) {
    req.overdue = 1;
  } else if (strcmp(view, "paper-only") == 0) {
    req.paper_only = 1;
  } else if (strcmp(view, "stalled") == 0) {
    req.stalled = 1;
  } else if (strcmp(view, "reopened") == 0) {
    req.reopened = 1;
  } else {
    long long days = 0;
    if (w->days == NULL || xc_parse_int64(w->days, 1, 3660, &days) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--days N (1 to 3660) is required");
    req.due_within_days = (int32_t)days;
  }
  req.page_size = XC_MAX_PAGE_SIZE;
  for (;;) {
    ProtobufCMessage *page = NULL;
    const Xuncha__V1__ListFindingsResponse *lr;
    req.page_token = token;
    rc = xc__wf_call(r, XC__M("Findings", "ListFindings"), &req.base,
                     &xuncha__v1__list_findings_response__descriptor, &page, err);
    if (rc != XC_OK) goto done;
    pages[n_pages++] = page;
    lr = (const Xuncha__V1__ListFindingsResponse *)page;
    if (n_rows + lr->n_findings > cap) {
      size_t ncap = (n_rows + lr->n_findings) * 2;
      const ProtobufCMessage **g = realloc(rows, ncap * sizeof *g);
      if (g == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
      rows = g;
      cap = ncap;
    }
    for (size_t i = 0; i < lr->n_findings; i++) rows[n_rows++] = &lr->findings[i]->base;
    if (lr->next_page_token[0] == '\0') break;
    if (n_pages == XC__WF_MAX_PAGES) {
      (void)fprintf(stderr, "xuncha: stopped after %d pages; narrow the view with --round\n",
                    XC__WF_MAX_PAGES);
      break;
    }
    xc_strlcpy(token, lr->next_page_token, sizeof token);
  }
  rc = xc_cli_print(r->out, xc_resource_find("finding"), w->fmt, rows, n_rows, "", 0, err);
done:
  for (size_t i = 0; i < n_pages; i++) protobuf_c_message_free_unpacked(pages[i], NULL);
  free(rows);
  return rc;
}

static int xc__wf_rate(xc__wfrun *r, xc_err *err) {
  xc__wf *w = r->w;
  Xuncha__V1__ListFindingsRequest f = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
  Xuncha__V1__RectificationStatsRequest req = XUNCHA__V1__RECTIFICATION_STATS_REQUEST__INIT;
  ProtobufCMessage *out = NULL;
  int rc = xc__wf_filters(w, &f, err);
  if (rc != XC_OK) return rc;
  req.round_id = f.round_id;
  req.target_id = f.target_id;
  req.region_prefix = f.region_prefix;
  rc = xc__wf_call(r, XC__M("Findings", "GetRectificationStats"), &req.base,
                   &xuncha__v1__rectification_stats__descriptor, &out, err);
  if (rc != XC_OK) return rc;
  if (w->fmt != XC_OUT_TABLE) {
    rc = xc_render_json_print(r->out, out, err);
  } else {
    const Xuncha__V1__RectificationStats *s = (const Xuncha__V1__RectificationStats *)out;
    const char *labels[8] = {"问题总数",     "已完成",   "已验收销号",     "整改完成率",
                             "拖延（逾期）", "文件整改", "半截式（停滞）", "销号后撤销"};
    char v[8][32];
    const char *values[8];
    (void)snprintf(v[0], sizeof v[0], "%d", (int)s->total);
    (void)snprintf(v[1], sizeof v[1], "%d", (int)s->completed);
    (void)snprintf(v[2], sizeof v[2], "%d", (int)s->verified);
    (void)snprintf(v[3], sizeof v[3], "%.1f%%", s->completion_rate * 100.0);
    (void)snprintf(v[4], sizeof v[4], "%d", (int)s->overdue);
    (void)snprintf(v[5], sizeof v[5], "%d", (int)s->paper_only);
    (void)snprintf(v[6], sizeof v[6], "%d", (int)s->stalled);
    (void)snprintf(v[7], sizeof v[7], "%d", (int)s->reopened);
    for (size_t i = 0; i < 8; i++) values[i] = v[i];
    rc = xc_render_block(r->out, labels, values, 8, err);
  }
  protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

/* Prints history rows (progress entries, verifications or dispositions). */
static int xc__wf_rows(xc__wfrun *r, const ProtobufCMessage *const *recs, size_t n, xc_err *err) {
  static const xc_column cols[] = {{"编号", 32},      {"日期", 10}, {"类别", 12},     {"内容", 30},
                                   {"佐证/结果", 24}, {"填报", 16}, {"版本标记", 16}, {"作废", 12}};
  const size_t nc = XC__N(cols);
  char **cells = calloc(n * nc + 1, sizeof *cells);
  int rc = XC_OK;
  if (cells == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t k = 0; k < n; k++) {
    const ProtobufCMessage *m = recs[k];
    xc_buf kind = XC_BUF_INIT, body = XC_BUF_INIT, extra = XC_BUF_INIT;
    const char *vals[8];
    if (m->descriptor == &xuncha__v1__progress_entry__descriptor) {
      const Xuncha__V1__ProgressEntry *e = (const Xuncha__V1__ProgressEntry *)m;
      const char *zh = xc_enum_zh(&xc_enum_progress_step, (int)e->step);
      xc_buf_add(&kind, zh ? zh : "");
      xc_buf_add(&body, e->text);
      for (size_t i = 0; i < e->n_evidence; i++) {
        if (i > 0) xc_buf_add(&extra, "、");
        xc_buf_add(&extra, e->evidence[i]);
      }
    } else if (m->descriptor == &xuncha__v1__verification__descriptor) {
      const Xuncha__V1__Verification *v = (const Xuncha__V1__Verification *)m;
      const char *zh = xc_enum_zh(&xc_enum_verification_action, (int)v->action);
      xc_buf_add(&kind, zh ? zh : "");
      xc_buf_add(&body, v->reason[0] != '\0' ? v->reason : v->note);
    } else {
      const Xuncha__V1__LeadDisposition *d = (const Xuncha__V1__LeadDisposition *)m;
      const char *zh = xc_enum_zh(&xc_enum_lead_disposal, (int)d->disposal);
      xc_buf_add(&kind, zh ? zh : "");
      xc_buf_add(&body, d->note);
      for (size_t i = 0; i < d->n_outcomes; i++) {
        const char *mz = xc_enum_zh(&xc_enum_outcome_measure, (int)d->outcomes[i]->measure);
        if (i > 0) xc_buf_add(&extra, "、");
        xc_buf_addf(&extra, "%s %s", d->outcomes[i]->person, mz ? mz : "");
      }
    }
    vals[0] = xc_msg_get_str(m, "id");
    vals[1] = xc_msg_get_str(m, "date");
    vals[2] = kind.data ? kind.data : "";
    vals[3] = body.data ? body.data : "";
    vals[4] = extra.data ? extra.data : "";
    vals[5] = xc_msg_get_str(m, "owner");
    vals[6] = xc_msg_get_str(m, "etag");
    vals[7] = xc_msg_get_str(m, "void_reason");
    for (size_t c = 0; c < nc; c++) {
      size_t len = strlen(vals[c]);
      cells[k * nc + c] = malloc(len + 1);
      if (cells[k * nc + c] != NULL)
        memcpy(cells[k * nc + c], vals[c], len + 1);
      else
        rc = XC_ERESOURCE_EXHAUSTED;
    }
    xc_buf_free(&kind);
    xc_buf_free(&body);
    xc_buf_free(&extra);
  }
  if (rc == XC_OK)
    rc = xc_render_table(r->out, cols, nc, (const char *const *)cells, n, err);
  else
    rc = xc_err_set(err, rc, "out of memory");
  for (size_t i = 0; i < n * nc; i++) free(cells[i]);
  free(cells);
  return rc;
}

/* history and dispositions: one page of each list (up to 1000 entries). */
static int xc__wf_history(xc__wfrun *r, int lead, xc_err *err) {
  xc__wf *w = r->w;
  ProtobufCMessage *a = NULL, *b = NULL;
  const ProtobufCMessage **rows = NULL;
  size_t n = 0;
  int rc = xc__wf_need_id(w, lead ? "lead dispositions ID" : "rectification history FINDING", err);
  if (rc != XC_OK) return rc;
  if (lead) {
    Xuncha__V1__ListDispositionsRequest req = XUNCHA__V1__LIST_DISPOSITIONS_REQUEST__INIT;
    req.lead_id = (char *)w->pos[2];
    req.page_size = XC_MAX_PAGE_SIZE;
    req.include_void = w->include_void;
    rc = xc__wf_call(r, XC__M("Leads", "ListDispositions"), &req.base,
                     &xuncha__v1__list_dispositions_response__descriptor, &a, err);
  } else {
    Xuncha__V1__ListProgressRequest req = XUNCHA__V1__LIST_PROGRESS_REQUEST__INIT;
    Xuncha__V1__ListVerificationsRequest vreq = XUNCHA__V1__LIST_VERIFICATIONS_REQUEST__INIT;
    req.finding_id = vreq.finding_id = (char *)w->pos[2];
    req.page_size = vreq.page_size = XC_MAX_PAGE_SIZE;
    req.include_void = vreq.include_void = w->include_void;
    rc = xc__wf_call(r, XC__M("Findings", "ListProgress"), &req.base,
                     &xuncha__v1__list_progress_response__descriptor, &a, err);
    if (rc == XC_OK)
      rc = xc__wf_call(r, XC__M("Findings", "ListVerifications"), &vreq.base,
                       &xuncha__v1__list_verifications_response__descriptor, &b, err);
  }
  if (rc != XC_OK) goto done;
  if (w->fmt != XC_OUT_TABLE) {
    rc = xc_render_json_print(r->out, a, err);
    if (rc == XC_OK && b != NULL) rc = xc_render_json_print(r->out, b, err);
    goto done;
  }
  {
    /* Both lists start with their repeated records (field 1). */
    const ProtobufCMessage *lists[2] = {a, b};
    size_t total = 0;
    for (int l = 0; l < 2; l++)
      if (lists[l] != NULL)
        total += *(const size_t *)(const void *)((const char *)lists[l] +
                                                 lists[l]->descriptor->fields[0].quantifier_offset);
    rows = calloc(total + 1, sizeof *rows);
    if (rows == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    for (int l = 0; l < 2; l++) {
      const ProtobufCFieldDescriptor *f;
      size_t cnt;
      ProtobufCMessage *const *items;
      if (lists[l] == NULL) continue;
      f = &lists[l]->descriptor->fields[0];
      cnt = *(const size_t *)(const void *)((const char *)lists[l] + f->quantifier_offset);
      items = *(ProtobufCMessage *const *const *)(const void *)((const char *)lists[l] + f->offset);
      for (size_t i = 0; i < cnt; i++) rows[n++] = items[i];
    }
    rc = xc__wf_rows(r, rows, n, err);
  }
done:
  free(rows);
  if (a != NULL) protobuf_c_message_free_unpacked(a, NULL);
  if (b != NULL) protobuf_c_message_free_unpacked(b, NULL);
  return rc;
}

/* Parses "NAME:KIND:MEASURE" (or "NAME:MEASURE") into o (strings into a copy
 * the caller frees: *name_out). */
static int xc__wf_outcome(const char *text, Xuncha__V1__Outcome *o, char **name_out, xc_err *err) {
  const char *colon = strchr(text, ':');
  size_t n;
  int measure = 0;
  xc_err e;
  *name_out = NULL;
  if (colon == NULL || colon == text || strlen(text) > XC_MAX_NAME_BYTES)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--outcome '%.64s' is not NAME:KIND:MEASURE (e.g. 张三:党纪:警告, "
                      "李四:政务:记过, 王五:组织处理:免职, 赵六:司法:移送司法机关)",
                      text);
  if (xc_enum_parse(&xc_enum_outcome_measure, colon + 1, &measure, &e) != XC_OK)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--outcome %.64s: %s", text, e.msg);
  n = (size_t)(colon - text);
  *name_out = malloc(n + 1);
  if (*name_out == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  memcpy(*name_out, text, n);
  (*name_out)[n] = '\0';
  o->person = *name_out;
  o->measure = (Xuncha__V1__OutcomeMeasure)measure;
  return XC_OK;
}

static int xc__wf_dispose(xc__wfrun *r, xc_err *err) {
  xc__wf *w = r->w;
  Xuncha__V1__RecordDispositionRequest req = XUNCHA__V1__RECORD_DISPOSITION_REQUEST__INIT;
  Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
  Xuncha__V1__Outcome outs[XC__WF_MAX_REPEAT];
  Xuncha__V1__Outcome *ptrs[XC__WF_MAX_REPEAT];
  char *names[XC__WF_MAX_REPEAT];
  ProtobufCMessage *out = NULL;
  char etag[XC_MAX_NAME_BYTES + 1];
  int disposal = 0, rc;
  memset(names, 0, sizeof names);
  rc = xc__wf_need_id(w, "lead dispose ID --disposal D [--outcome NAME:KIND:MEASURE]...", err);
  if (rc != XC_OK) return rc;
  if (w->disposal == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--disposal D is required");
  if (xc_enum_parse(&xc_enum_lead_disposal, w->disposal, &disposal, err) != XC_OK)
    return XC_EINVALID_ARGUMENT;
  rc = xc__wf_date(w->date, err);
  if (rc == XC_OK) rc = xc__wf_text("note", w->note, XC_MAX_TEXT_BYTES, err);
  for (size_t i = 0; rc == XC_OK && i < w->n_outcomes; i++) {
    xuncha__v1__outcome__init(&outs[i]);
    ptrs[i] = &outs[i];
    rc = xc__wf_outcome(w->outcomes[i], &outs[i], &names[i], err);
  }
  if (rc == XC_OK) rc = xc__wf_etag(r, "lead", w->pos[2], etag, sizeof etag, err);
  if (rc != XC_OK) goto done;
  d.lead_id = (char *)w->pos[2];
  d.disposal = (Xuncha__V1__LeadDisposal)disposal;
  d.date = (char *)(w->date ? w->date : "");
  d.note = (char *)(w->note ? w->note : "");
  d.n_outcomes = w->n_outcomes;
  d.outcomes = ptrs;
  req.disposition = &d;
  req.lead_etag = etag;
  rc = xc__wf_call(r, XC__M("Leads", "RecordDisposition"), &req.base,
                   &xuncha__v1__record_disposition_response__descriptor, &out, err);
  if (rc == XC_OK) {
    const Xuncha__V1__RecordDispositionResponse *resp =
        (const Xuncha__V1__RecordDispositionResponse *)out;
    rc = w->fmt == XC_OUT_JSON ? xc_render_json_print(r->out, out, err)
                               : xc__wf_print_record(r, "lead", &resp->lead->base, err);
  }
done:
  for (size_t i = 0; i < w->n_outcomes; i++) free(names[i]);
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

static int xc__wf_void(xc__wfrun *r, xc_err *err) {
  static const struct {
    char prefix;
    const char *res;
  } gets[] = {{'t', "target"},  {'r', "round"}, {'g', "group"},
              {'f', "finding"}, {'l', "lead"},  {'d', "directory"}};
  xc__wf *w = r->w;
  Xuncha__V1__VoidRecordRequest req = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
  ProtobufCMessage *out = NULL;
  char etag[XC_MAX_NAME_BYTES + 1];
  const char *res = NULL;
  int rc = xc__wf_need_id(w, "RESOURCE void ID --reason TEXT [--etag E]", err);
  if (rc != XC_OK) return rc;
  if (w->reason == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--reason TEXT is required: why is it void?");
  rc = xc__wf_text("reason", w->reason, XC_MAX_NAME_BYTES, err);
  if (rc != XC_OK) return rc;
  for (size_t i = 0; i < XC__N(gets); i++)
    if (w->pos[2][0] == gets[i].prefix && w->pos[2][1] == '_') res = gets[i].res;
  if (res == NULL && w->etag == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--etag E is required for %.32s (see the 版本标记 column of "
                      "'rectification history' or 'lead dispositions')",
                      w->pos[2]);
  if (res != NULL) {
    rc = xc__wf_etag(r, res, w->pos[2], etag, sizeof etag, err);
    if (rc != XC_OK) return rc;
  } else {
    xc_strlcpy(etag, w->etag, sizeof etag);
  }
  req.id = (char *)w->pos[2];
  req.etag = etag;
  req.reason = (char *)w->reason;
  rc = xc__wf_call(r, XC__M("Records", "VoidRecord"), &req.base,
                   &xuncha__v1__void_record_response__descriptor, &out, err);
  if (rc == XC_OK) {
    const Xuncha__V1__VoidRecordResponse *v = (const Xuncha__V1__VoidRecordResponse *)out;
    if (w->fmt != XC_OUT_TABLE) {
      rc = xc_render_json_print(r->out, out, err);
    } else {
      const char *labels[4] = {"已作废", "作废原因", "版本标记", "重新计算"};
      const char *values[4] = {v->id, v->void_reason, v->etag, v->parent_id};
      rc = xc_render_block(r->out, labels, values, v->parent_id[0] != '\0' ? 4 : 3, err);
    }
  }
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
  return rc;
}

/* Runs the parsed command on a connected client. */
static int xc__wf_run(xc__wfrun *r, xc_err *err) {
  const char *res = r->w->pos[0];
  const char *verb = r->w->n_pos > 1 ? r->w->pos[1] : "";
  if (strcmp(verb, "void") == 0) return xc__wf_void(r, err);
  if (strcmp(res, "round") == 0) return xc__wf_advance(r, err);
  if (strcmp(res, "lead") == 0)
    return strcmp(verb, "dispose") == 0 ? xc__wf_dispose(r, err) : xc__wf_history(r, 1, err);
  if (strcmp(verb, "progress") == 0) return xc__wf_progress(r, err);
  if (strcmp(verb, "verify") == 0) return xc__wf_verify(r, 0, err);
  if (strcmp(verb, "revoke") == 0) return xc__wf_verify(r, 1, err);
  if (strcmp(verb, "history") == 0) return xc__wf_history(r, 0, err);
  if (strcmp(verb, "rate") == 0) return xc__wf_rate(r, err);
  if (strcmp(verb, "overdue") == 0 || strcmp(verb, "paper-only") == 0 ||
      strcmp(verb, "stalled") == 0 || strcmp(verb, "reopened") == 0 || strcmp(verb, "due") == 0)
    return xc__wf_view(r, verb, err);
  return xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "unknown verb '%.32s' for rectification: use progress, verify, revoke, "
                    "history, overdue, due, paper-only, stalled, reopened or rate",
                    verb);
}

int xc_cli_wf_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env, int *handled) {
  xc__wf *w = calloc(1, sizeof *w);
  xc__wfrun run;
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
  xc__wf_parse(argc, argv, w);
  if (!xc__wf_is_ours(w)) goto done;
  *handled = 1;
  if (w->help) {
    xc_cli_wf_usage(out);
    goto done;
  }
  if (w->bad[0] != '\0') {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha rectification --help' for usage.\n", w->bad);
    code = XC_EXIT_USAGE;
    goto done;
  }
  run.w = w;
  run.out = out;
  code = xc_cli_connect(&w->conn, env, errf, &run.client);
  if (code != XC_EXIT_OK) {
    goto done;
  }
  rc = xc__wf_run(&run, &err);
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
