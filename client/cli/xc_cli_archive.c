/*
 * xc_cli_archive.c: `xuncha archive ...` and `xuncha pool ...`
 * (xc_cli_archive.h).
 */
#include "xc_cli_archive.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xc_cli.h"
#include "xc_cli_opts.h"
#include "xc_enums.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_ops.h"
#include "xc_render.h"
#include "xc_resources.h"
#include "xc_text.h"
#include "xuncha/client.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))
/* Most argv entries a pool command hands on to the inspector resource. */
#define XC__MAX_ARGS 4096

/* The fields `archive info` and `archive list` show. */
static const xc_field xc__doc_fields[] = {
    {"id", "编号", XC_FT_STR, NULL, NULL, 0, NULL},
    {"region_code", "区划", XC_FT_STR, NULL, NULL, 0, NULL},
    {"owner", "所属单位", XC_FT_STR, NULL, NULL, 0, NULL},
    {"etag", "版本标记", XC_FT_STR, NULL, NULL, 0, NULL},
    {"create_time_ms", "创建时间", XC_FT_TIME, NULL, NULL, 0, NULL},
    {"update_time_ms", "更新时间", XC_FT_TIME, NULL, NULL, 0, NULL},
    {"created_by", "创建人", XC_FT_STR, NULL, NULL, 0, NULL},
    {"updated_by", "更新人", XC_FT_STR, NULL, NULL, 0, NULL},
    {"attached_id", "所属记录", XC_FT_STR, NULL, NULL, 0, NULL},
    {"round_id", "巡察轮次", XC_FT_STR, NULL, NULL, 0, NULL},
    {"stage", "归档阶段", XC_FT_ENUM, &xc_enum_archive_stage, NULL, 0, NULL},
    {"kind", "材料类别", XC_FT_ENUM, &xc_enum_document_kind, NULL, 0, NULL},
    {"title", "题名", XC_FT_STR, NULL, NULL, 0, NULL},
    {"file_name", "文件名", XC_FT_STR, NULL, NULL, 0, NULL},
    {"media_type", "文件类型", XC_FT_STR, NULL, NULL, 0, NULL},
    {"retention_years", "保管期限（年，0为永久）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"note", "备注", XC_FT_STR, NULL, NULL, 0, NULL},
    {"lead_owner", "线索所属单位", XC_FT_STR, NULL, NULL, 0, NULL},
    {"recipient", "线索接收单位", XC_FT_STR, NULL, NULL, 0, NULL},
    {"size", "大小（字节）", XC_FT_INT64, NULL, NULL, 0, NULL},
    {"hash_algorithm", "摘要算法", XC_FT_ENUM, &xc_enum_hash_algorithm, NULL, 0, NULL},
    {"content_hash", "摘要", XC_FT_STR, NULL, NULL, 0, NULL},
    {"voided", "已作废", XC_FT_BOOL, NULL, NULL, 0, NULL},
    {"void_reason", "作废原因", XC_FT_STR, NULL, NULL, 0, NULL},
};
static const xc_col xc__doc_cols[] = {
    {"id", "编号", 32},         {"stage", "归档阶段", 8},   {"kind", "材料类别", 8},
    {"title", "题名", 24},      {"attached_id", "所属记录", 32},
    {"content_hash", "摘要", 16},
};
static const xc_resource xc__doc_resource = {
    "document", "档案材料", &xuncha__v1__document__descriptor, "document", "documents",
    NULL, "/xuncha.v1.Archive/GetDocument", "/xuncha.v1.Archive/ListDocuments",
    "/xuncha.v1.Archive/UpdateDocument", NULL, &xuncha__v1__get_document_request__descriptor,
    &xuncha__v1__list_documents_request__descriptor,
    &xuncha__v1__list_documents_response__descriptor,
    &xuncha__v1__update_document_request__descriptor, xc__doc_fields, XC__N(xc__doc_fields),
    NULL, 0, xc__doc_cols, XC__N(xc__doc_cols)};

/* One parsed command line; strings point into argv. */
typedef struct xc__ar {
  xc_conn_flags conn;
  xc_out_fmt fmt;
  int help;
  const char *pos[4];
  int pos_at[4]; /* argv index of each positional */
  size_t n_pos;
  const char *round, *finding, *progress, *lead, *attached, *stage, *kind, *title, *retention;
  const char *note, *media, *request_id, *output, *target, *need, *term, *limit, *region;
  int sm3, include_void, all;
  char bad[XC_ERR_MSG_MAX];
} xc__ar;

/* The single-valued option `name` of a, or NULL if there is none. */
static const char **xc__ar_slot(xc__ar *a, const char *name) {
  static const char *const names[] = {
      "round", "finding", "progress",   "lead",       "attached", "stage",  "kind",
      "title", "retention-years", "note", "media-type", "request-id", "output", "target",
      "need",  "term",    "limit",      "region-prefix"};
  const char **slots[] = {&a->round,  &a->finding,   &a->progress, &a->lead,      &a->attached,
                          &a->stage,  &a->kind,      &a->title,    &a->retention, &a->note,
                          &a->media,  &a->request_id, &a->output,  &a->target,    &a->need,
                          &a->term,   &a->limit,     &a->region};
  for (size_t i = 0; i < XC__N(names); i++)
    if (strcmp(names[i], name) == 0) return slots[i];
  return NULL;
}

/* Parses argv into a; never fails outright (errors land in a->bad). */
static void xc__ar_parse(int argc, char **argv, xc__ar *a) {
  xc_cli_opts o;
  memset(a, 0, sizeof *a);
  xc_cli_opts_init(&o, argc, argv);
  while (xc_cli_opts_next(&o) != XC_CLI_OPTS_END) {
    const char *arg = o.arg, *name = o.name, *value;
    const char **slot;
    if (strcmp(arg, "-h") == 0) {
      a->help = 1;
      continue;
    }
    if (strcmp(arg, "-o") == 0) {
      value = xc_cli_opts_value(&o);
      if (value != NULL)
        a->output = value;
      else
        xc_cli_opts_bad(a->bad, sizeof a->bad, "-o needs a file name");
      continue;
    }
    if (o.kind == XC_CLI_OPTS_WORD) {
      if (a->n_pos < XC__N(a->pos)) {
        a->pos_at[a->n_pos] = o.i;
        a->pos[a->n_pos++] = arg;
      } else {
        xc_cli_opts_bad(a->bad, sizeof a->bad, "unexpected argument '%.64s'", arg);
      }
      continue;
    }
    if (o.kind != XC_CLI_OPTS_OPTION) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "unknown option %.64s", arg);
      continue;
    }
    if (strcmp(name, "json") == 0 || strcmp(name, "csv") == 0) {
      a->fmt = name[0] == 'j' ? XC_OUT_JSON : XC_OUT_CSV;
      continue;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "sm3") == 0 ||
        strcmp(name, "include-void") == 0 || strcmp(name, "all") == 0) {
      if (name[0] == 'h') a->help = 1;
      if (name[0] == 's') a->sm3 = 1;
      if (name[0] == 'i') a->include_void = 1;
      if (name[0] == 'a') a->all = 1;
      continue;
    }
    value = xc_cli_opts_value(&o);
    if (value == NULL) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "--%s needs a value", name);
      continue;
    }
    if (xc_cli_opts_conn(&a->conn, name, value)) continue;
    if (strcmp(name, "lang") == 0) {
      xc_cli_opts_lang(value, a->bad, sizeof a->bad);
      continue;
    }
    slot = xc__ar_slot(a, name);
    if (slot == NULL) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "unknown option --%s", name);
      continue;
    }
    *slot = value;
  }
}

void xc_cli_archive_usage(FILE *out) {
  (void)fputs(
      "Archive (立卷归档) and inspector pool (巡察人才库):\n"
      "  xuncha archive put FILE --round|--finding|--progress|--lead ID --stage STAGE\n"
      "                 --kind KIND [--title T] [--retention-years N (0: 永久)] [--note T]\n"
      "                 [--media-type T] [--sm3] [--request-id R]\n"
      "      stages: 进驻准备 汇报座谈 查阅资料 个别谈话 意见反馈 问题线索 问题底稿 巡察报告\n"
      "      kinds: 谈话记录 证据材料 巡察报告 反馈意见 整改报告 扫描件 其他\n"
      "  xuncha archive get ID -o FILE       download, checked against its hash (- : stdout)\n"
      "  xuncha archive info ID\n"
      "  xuncha archive list --round ID | --attached ID [--stage S] [--include-void]\n"
      "  xuncha archive verify               rehash every stored document; names bad ones\n"
      "  xuncha pool add|get|list|update ... the inspector resource (xuncha inspector --help)\n"
      "  xuncha pool suggest --target ID [--need finance,law] [--term N] [--limit N]\n"
      "  xuncha pool workload [--term N] [--region-prefix P]\n",
      out);
}

/* ------------------------------------------------------------ progress */

typedef struct xc__prog {
  FILE *errf;
  int tty;
  int last_pct;
  uint64_t last_done;
} xc__prog;

/* Draws "[#####     ]  42%  12.0 MiB" on a terminal, when it changes. */
static void xc__progress(void *ctx, uint64_t done, uint64_t total) {
  xc__prog *p = ctx;
  char bar[31];
  int pct = total > 0 ? (int)(done * 100 / total) : -1;
  if (!p->tty) return;
  if (pct == p->last_pct && (total > 0 || done - p->last_done < (4u << 20))) return;
  p->last_pct = pct;
  p->last_done = done;
  for (int i = 0; i < 30; i++) bar[i] = pct >= 0 && i < pct * 30 / 100 ? '#' : ' ';
  bar[30] = '\0';
  if (pct >= 0)
    (void)fprintf(p->errf, "\r[%s] %3d%%  %.1f MiB", bar, pct, (double)done / 1048576.0);
  else
    (void)fprintf(p->errf, "\r%.1f MiB", (double)done / 1048576.0);
  (void)fflush(p->errf);
}

/* Clears the progress line. */
static void xc__progress_end(xc__prog *p) {
  if (p->tty) {
    (void)fputs("\r\033[K", p->errf);
    (void)fflush(p->errf);
  }
}

/* ------------------------------------------------------------ file io */

static long long xc__file_read(void *ctx, uint8_t *buf, size_t cap) {
  FILE *f = ctx;
  size_t n = fread(buf, 1, cap, f);
  if (n < cap && ferror(f)) return -1;
  return (long long)n;
}

/* xc_archive_write_fn over a FILE. */
static int xc__file_write(void *ctx, const uint8_t *data, size_t len) {
  FILE *f = ctx;
  return fwrite(data, 1, len, f) == len ? 0 : -1;
}

/* The base name of a path. */
static const char *xc__base(const char *path) {
  const char *s = strrchr(path, '/');
  return s != NULL ? s + 1 : path;
}

/* ------------------------------------------------------------ commands */

typedef struct xc__arun {
  xc__ar *a;
  xc_client *client;
  FILE *out, *errf;
  int remote;
} xc__arun;

/* Prints one record of the document resource, or a list of them. */
static int xc__print_docs(xc__arun *r, const ProtobufCMessage *const *recs, size_t n, int single,
                          const char *next, xc_err *err) {
  return xc_cli_print(r->out, &xc__doc_resource, r->a->fmt, recs, n, next, single, err);
}

/* archive put FILE ...: uploads and prints the stored document. */
static int xc__archive_put(xc__arun *r, xc_err *err) {
  xc__ar *a = r->a;
  Xuncha__V1__Document doc = XUNCHA__V1__DOCUMENT__INIT;
  Xuncha__V1__UploadDocumentResponse *resp = NULL;
  xc_archive_put_options opt;
  xc__prog prog = {r->errf, isatty(fileno(r->errf)), -2, 0};
  const char *att = NULL;
  FILE *f = NULL;
  struct stat st;
  int given = 0, v = 0, rc;
  long long years = 0;
  xc_err e;
  if (a->n_pos < 3) return xc_err_set(err, XC_EINVALID_ARGUMENT, "archive put needs a FILE");
  given = (a->round != NULL) + (a->finding != NULL) + (a->progress != NULL) + (a->lead != NULL);
  if (given != 1)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "give exactly one of --round, --finding, --progress or --lead ID");
  att = a->round ? a->round : a->finding ? a->finding : a->progress ? a->progress : a->lead;
  doc.attached_id = (char *)att;
  if (a->stage == NULL || xc_enum_parse(&xc_enum_archive_stage, a->stage, &v, &e) != XC_OK)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--stage: %s",
                      a->stage == NULL ? "required (e.g. 个别谈话)" : e.msg);
  doc.stage = (Xuncha__V1__ArchiveStage)v;
  if (a->kind == NULL || xc_enum_parse(&xc_enum_document_kind, a->kind, &v, &e) != XC_OK)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--kind: %s",
                      a->kind == NULL ? "required (e.g. 谈话记录)" : e.msg);
  doc.kind = (Xuncha__V1__DocumentKind)v;
  if (a->retention != NULL && xc_parse_int64(a->retention, 0, 100, &years) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--retention-years must be 0 (permanent, 永久) to 100");
  doc.retention_years = (int32_t)years;
  doc.title = (char *)(a->title != NULL ? a->title : xc__base(a->pos[2]));
  doc.file_name = (char *)xc__base(a->pos[2]);
  if (a->note != NULL) doc.note = (char *)a->note;
  if (a->media != NULL) doc.media_type = (char *)a->media;
  f = fopen(a->pos[2], "rb");
  if (f == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read %s: %s", a->pos[2],
                      strerror(errno));
  memset(&opt, 0, sizeof opt);
  opt.algorithm = a->sm3 ? XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3
                         : XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SHA256;
  opt.request_id = a->request_id;
  opt.total_bytes = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
  opt.progress = xc__progress;
  opt.progress_ctx = &prog;
  /* A day at most; ten minutes plus a minute per 100 MiB otherwise. */
  rc = xc_archive_put(r->client, &doc, &opt, xc__file_read, f, &resp,
                      600000 + (int64_t)(opt.total_bytes / (100u << 20)) * 60000, err);
  xc__progress_end(&prog);
  fclose(f);
  if (rc != XC_OK) {
    r->remote = rc != XC_EINVALID_ARGUMENT;
    return rc;
  }
  {
    const ProtobufCMessage *one[1] = {&resp->document->base};
    if (resp->deduplicated && a->fmt == XC_OUT_TABLE)
      (void)fprintf(r->errf, "xuncha: the same content was stored already: kept once\n");
    rc = xc__print_docs(r, one, 1, 1, NULL, err);
  }
  xc_message_free(resp);
  return rc;
}

/* archive get ID -o FILE: downloads to FILE.part, renames when checked. */
static int xc__archive_get(xc__arun *r, xc_err *err) {
  xc__ar *a = r->a;
  Xuncha__V1__Document *doc = NULL;
  xc__prog prog = {r->errf, isatty(fileno(r->errf)), -2, 0};
  char tmp[PATH_MAX];
  FILE *f = NULL;
  int to_stdout, rc;
  if (a->n_pos < 3) return xc_err_set(err, XC_EINVALID_ARGUMENT, "archive get needs the ID");
  if (a->output == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "archive get needs -o FILE (- for stdout)");
  to_stdout = strcmp(a->output, "-") == 0;
  if (to_stdout) {
    f = r->out;
  } else {
    /* Written beside the target and renamed once the hash checked out, so
     * a damaged download never takes the file's name. */
    int n = snprintf(tmp, sizeof tmp, "%s.part", a->output);
    if (n < 0 || (size_t)n >= sizeof tmp)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "-o: the file name is too long");
    f = fopen(tmp, "wb");
    if (f == NULL)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot write %s: %s", tmp, strerror(errno));
  }
  rc = xc_archive_get(r->client, a->pos[2], xc__file_write, f, xc__progress, &prog, &doc,
                      24LL * 3600 * 1000, err);
  xc__progress_end(&prog);
  if (!to_stdout) {
    if (fclose(f) != 0 && rc == XC_OK)
      rc = xc_err_set(err, XC_EINTERNAL, "cannot write %s: %s", tmp, strerror(errno));
    if (rc == XC_OK && rename(tmp, a->output) != 0)
      rc = xc_err_set(err, XC_EINTERNAL, "cannot rename %s to %s: %s", tmp, a->output,
                      strerror(errno));
    if (rc != XC_OK) (void)unlink(tmp);
  }
  if (rc != XC_OK) {
    r->remote = rc != XC_EINTERNAL;
    return rc;
  }
  if (!to_stdout && a->fmt == XC_OUT_TABLE)
    (void)fprintf(r->errf, "xuncha: %s: %lld bytes, %s %s checked\n", a->output,
                  (long long)doc->size,
                  doc->hash_algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3 ? "SM3"
                                                                                        : "SHA-256",
                  doc->content_hash);
  xc_message_free(doc);
  return XC_OK;
}

/* archive info ID. */
static int xc__archive_info(xc__arun *r, xc_err *err) {
  Xuncha__V1__GetDocumentRequest req = XUNCHA__V1__GET_DOCUMENT_REQUEST__INIT;
  Xuncha__V1__Document *doc = NULL;
  int rc;
  if (r->a->n_pos < 3) return xc_err_set(err, XC_EINVALID_ARGUMENT, "archive info needs the ID");
  req.id = (char *)r->a->pos[2];
  rc = xc_get_document(r->client, &req, &doc, 0, err);
  if (rc != XC_OK) {
    r->remote = 1;
    return rc;
  }
  {
    const ProtobufCMessage *one[1] = {&doc->base};
    rc = xc__print_docs(r, one, 1, 1, NULL, err);
  }
  xc_message_free(doc);
  return rc;
}

/* archive list: one page of up to 1000 documents. */
static int xc__archive_list(xc__arun *r, xc_err *err) {
  xc__ar *a = r->a;
  Xuncha__V1__ListDocumentsRequest req = XUNCHA__V1__LIST_DOCUMENTS_REQUEST__INIT;
  Xuncha__V1__ListDocumentsResponse *resp = NULL;
  int v = 0, rc;
  xc_err e;
  if (a->round == NULL && a->attached == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "archive list needs --round ID or --attached ID");
  if (a->round != NULL) req.round_id = (char *)a->round;
  if (a->attached != NULL) req.attached_id = (char *)a->attached;
  if (a->stage != NULL) {
    if (xc_enum_parse(&xc_enum_archive_stage, a->stage, &v, &e) != XC_OK)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--stage: %s", e.msg);
    req.stage = (Xuncha__V1__ArchiveStage)v;
  }
  req.include_void = a->include_void;
  req.page_size = XC_MAX_PAGE_SIZE;
  rc = xc_list_documents(r->client, &req, &resp, 0, err);
  if (rc != XC_OK) {
    r->remote = 1;
    return rc;
  }
  rc = xc__print_docs(r, (const ProtobufCMessage *const *)resp->documents, resp->n_documents, 0,
                      resp->next_page_token, err);
  if (rc == XC_OK && resp->next_page_token[0] != '\0')
    (void)fprintf(r->errf, "xuncha: more than %d documents; narrow with --stage or --attached\n",
                  XC_MAX_PAGE_SIZE);
  xc_message_free(resp);
  return rc;
}

typedef struct xc__vctx {
  FILE *out;
  size_t n;
} xc__vctx;

/* Prints one damaged content and its documents. */
static void xc__on_problem(void *ctx, const Xuncha__V1__VerifyProblem *p) {
  xc__vctx *v = ctx;
  v->n++;
  (void)fprintf(v->out, "损坏 DAMAGED %s %s: %s\n",
                p->hash_algorithm == XUNCHA__V1__HASH_ALGORITHM__HASH_ALGORITHM_SM3 ? "SM3"
                                                                                    : "SHA-256",
                p->content_hash, p->problem);
  for (size_t i = 0; i < p->n_document_ids; i++)
    (void)fprintf(v->out, "  document %s\n", p->document_ids[i]);
}

/* archive verify: XC_EDATA_LOSS (exit 4) when any content is damaged. */
static int xc__archive_verify(xc__arun *r, xc_err *err) {
  Xuncha__V1__VerifyArchiveResponse *sum = NULL;
  xc__vctx v = {r->out, 0};
  int rc = xc_archive_verify(r->client, xc__on_problem, &v, &sum, 24LL * 3600 * 1000, err);
  if (rc != XC_OK) {
    r->remote = 1;
    return rc;
  }
  (void)fprintf(r->out, "checked %lld contents, %lld bytes: %lld damaged\n",
                (long long)sum->contents_checked, (long long)sum->bytes_checked,
                (long long)sum->problems);
  if (sum->problems > 0) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "%lld stored contents failed their hash check",
                    (long long)sum->problems);
    r->remote = 1;
  }
  xc_message_free(sum);
  return rc;
}

/* pool suggest --target ID [--need a,b] [--term N] [--limit N]. */
static int xc__pool_suggest(xc__arun *r, xc_err *err) {
  xc__ar *a = r->a;
  Xuncha__V1__SuggestInspectorsRequest req = XUNCHA__V1__SUGGEST_INSPECTORS_REQUEST__INIT;
  Xuncha__V1__SuggestInspectorsResponse *resp = NULL;
  char needs_buf[1024];
  char *needs[16];
  long long term = 0, limit = 0;
  int rc;
  if (a->target == NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "pool suggest needs --target ID");
  if (a->term != NULL && xc_parse_int64(a->term, 1, 1000, &term) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--term must be a number from 1 to 1000");
  if (a->limit != NULL && xc_parse_int64(a->limit, 1, 200, &limit) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--limit must be a number from 1 to 200");
  req.target_id = (char *)a->target;
  req.term = (int32_t)term;
  req.limit = (int32_t)limit;
  if (a->need != NULL) {
    char *p;
    if (strlen(a->need) >= sizeof needs_buf)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--need is too long");
    xc_strlcpy(needs_buf, a->need, sizeof needs_buf);
    for (p = needs_buf; p != NULL && *p != '\0';) {
      char *comma = strchr(p, ',');
      if (comma != NULL) *comma = '\0';
      if (*p != '\0') {
        if (req.n_needs >= XC__N(needs))
          return xc_err_set(err, XC_EINVALID_ARGUMENT, "--need lists more than %zu specialties",
                            XC__N(needs));
        needs[req.n_needs++] = p;
      }
      p = comma != NULL ? comma + 1 : NULL;
    }
    req.needs = needs;
  }
  rc = xc_suggest_inspectors(r->client, &req, &resp, 0, err);
  if (rc != XC_OK) {
    r->remote = 1;
    return rc;
  }
  if (a->fmt == XC_OUT_JSON) {
    rc = xc_render_json_print(r->out, &resp->base, err);
  } else {
    const xc_column cols[] = {{xc_lang_label("编号", "ID"), 32},
                              {xc_lang_label("姓名", "Name"), 12},
                              {xc_lang_label("匹配专长", "Matched"), 24},
                              {xc_lang_label("参加轮次", "Rounds"), 8},
                              {xc_lang_label("工作单位", "Unit"), 20}};
    size_t n = resp->n_suggestions;
    const char **cells = calloc(n ? n * 5 : 1, sizeof *cells);
    char (*nums)[16] = calloc(n ? n : 1, sizeof *nums);
    char (*match)[256] = calloc(n ? n : 1, sizeof *match);
    if (cells == NULL || nums == NULL || match == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    } else {
      for (size_t i = 0; i < n; i++) {
        const Xuncha__V1__Suggestion *s = resp->suggestions[i];
        size_t used = 0;
        match[i][0] = '\0';
        for (size_t k = 0; k < s->n_matched; k++) {
          int w = snprintf(match[i] + used, sizeof match[i] - used, "%s%s", k ? "," : "",
                           s->matched[k]);
          if (w < 0 || (size_t)w >= sizeof match[i] - used) break;
          used += (size_t)w;
        }
        (void)snprintf(nums[i], sizeof nums[i], "%d", (int)s->rounds_served);
        cells[i * 5] = s->inspector->id;
        cells[i * 5 + 1] = s->inspector->name;
        cells[i * 5 + 2] = match[i];
        cells[i * 5 + 3] = nums[i];
        cells[i * 5 + 4] = s->inspector->unit;
      }
      rc = xc_render_table(r->out, cols, 5, cells, n, err);
      for (size_t i = 0; rc == XC_OK && i < resp->n_excluded; i++)
        (void)fprintf(r->out, "回避 excluded: %s\n", resp->excluded[i]);
    }
    free(cells);
    free(nums);
    free(match);
  }
  xc_message_free(resp);
  return rc;
}

/* pool workload [--term N] [--region-prefix P]. */
static int xc__pool_workload(xc__arun *r, xc_err *err) {
  xc__ar *a = r->a;
  Xuncha__V1__WorkloadRequest req = XUNCHA__V1__WORKLOAD_REQUEST__INIT;
  Xuncha__V1__WorkloadResponse *resp = NULL;
  long long term = 0;
  int rc;
  if (a->term != NULL && xc_parse_int64(a->term, 1, 1000, &term) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--term must be a number from 1 to 1000");
  req.term = (int32_t)term;
  if (a->region != NULL) req.region_prefix = (char *)a->region;
  rc = xc_get_workload(r->client, &req, &resp, 0, err);
  if (rc != XC_OK) {
    r->remote = 1;
    return rc;
  }
  if (a->fmt == XC_OUT_JSON) {
    rc = xc_render_json_print(r->out, &resp->base, err);
  } else {
    const xc_column cols[] = {{xc_lang_label("编号", "ID"), 32},
                              {xc_lang_label("姓名", "Name"), 12},
                              {xc_lang_label("参加轮次", "Rounds"), 8}};
    size_t n = resp->n_workloads;
    const char **cells = calloc(n ? n * 3 : 1, sizeof *cells);
    char (*nums)[16] = calloc(n ? n : 1, sizeof *nums);
    if (cells == NULL || nums == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    } else {
      for (size_t i = 0; i < n; i++) {
        (void)snprintf(nums[i], sizeof nums[i], "%d", (int)resp->workloads[i]->rounds_served);
        cells[i * 3] = resp->workloads[i]->inspector_id;
        cells[i * 3 + 1] = resp->workloads[i]->name;
        cells[i * 3 + 2] = nums[i];
      }
      rc = xc_render_table(r->out, cols, 3, cells, n, err);
    }
    free(cells);
    free(nums);
  }
  xc_message_free(resp);
  return rc;
}

/* `pool add|get|list|update`: the same command on the inspector resource. */
static int xc__pool_crud(int argc, char **argv, const xc__ar *a, FILE *out, FILE *errf,
                         xc_getenv_fn env) {
  char **args;
  int code;
  if (argc > XC__MAX_ARGS) {
    (void)fprintf(errf, "xuncha: too many arguments\n");
    return XC_EXIT_USAGE;
  }
  args = calloc((size_t)argc + 1, sizeof *args);
  if (args == NULL) {
    (void)fprintf(errf, "xuncha: out of memory\n");
    return XC_EXIT_INTERNAL;
  }
  for (int i = 0; i < argc; i++) args[i] = argv[i];
  args[a->pos_at[0]] = (char *)"inspector";
  if (a->n_pos > 1 && strcmp(a->pos[1], "add") == 0) args[a->pos_at[1]] = (char *)"create";
  code = xc_cli_main(argc, args, out, errf, env);
  free(args);
  return code;
}

int xc_cli_archive_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                        int *handled) {
  xc__ar *a = calloc(1, sizeof *a);
  xc__arun run;
  xc_err err;
  int code = XC_EXIT_OK, rc, archive;
  *handled = 0;
  memset(&run, 0, sizeof run);
  xc_err_clear(&err);
  if (a == NULL) {
    *handled = 1;
    (void)fprintf(errf, "xuncha: out of memory\n");
    return XC_EXIT_INTERNAL;
  }
  xc__ar_parse(argc, argv, a);
  if (a->n_pos == 0 || (strcmp(a->pos[0], "archive") != 0 && strcmp(a->pos[0], "pool") != 0))
    goto done;
  *handled = 1;
  archive = strcmp(a->pos[0], "archive") == 0;
  if (!archive && a->n_pos > 1 &&
      (strcmp(a->pos[1], "add") == 0 || strcmp(a->pos[1], "get") == 0 ||
       strcmp(a->pos[1], "list") == 0 || strcmp(a->pos[1], "update") == 0)) {
    code = xc__pool_crud(argc, argv, a, out, errf, env);
    goto done;
  }
  if (a->help || a->n_pos < 2) {
    xc_cli_archive_usage(a->help ? out : errf);
    code = a->help ? XC_EXIT_OK : XC_EXIT_USAGE;
    goto done;
  }
  if (a->bad[0] != '\0') {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha %s --help' for usage.\n", a->bad, a->pos[0]);
    code = XC_EXIT_USAGE;
    goto done;
  }
  {
    static const char *const averbs[] = {"put", "get", "info", "list", "verify"};
    static const char *const pverbs[] = {"suggest", "workload"};
    int known = 0;
    for (size_t i = 0; archive && i < XC__N(averbs); i++) known |= strcmp(a->pos[1], averbs[i]) == 0;
    for (size_t i = 0; !archive && i < XC__N(pverbs); i++)
      known |= strcmp(a->pos[1], pverbs[i]) == 0;
    if (!known) {
      (void)fprintf(errf, "xuncha: unknown verb '%.64s' for %s\nRun 'xuncha %s --help' for usage.\n",
                    a->pos[1], a->pos[0], a->pos[0]);
      code = XC_EXIT_USAGE;
      goto done;
    }
  }
  code = xc_cli_connect(&a->conn, env, errf, &run.client);
  if (code != XC_EXIT_OK) goto done;
  run.a = a;
  run.out = out;
  run.errf = errf;
  if (archive && strcmp(a->pos[1], "put") == 0)
    rc = xc__archive_put(&run, &err);
  else if (archive && strcmp(a->pos[1], "get") == 0)
    rc = xc__archive_get(&run, &err);
  else if (archive && strcmp(a->pos[1], "info") == 0)
    rc = xc__archive_info(&run, &err);
  else if (archive && strcmp(a->pos[1], "list") == 0)
    rc = xc__archive_list(&run, &err);
  else if (archive)
    rc = xc__archive_verify(&run, &err);
  else if (strcmp(a->pos[1], "suggest") == 0)
    rc = xc__pool_suggest(&run, &err);
  else
    rc = xc__pool_workload(&run, &err);
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
  free(a);
  return code;
}
