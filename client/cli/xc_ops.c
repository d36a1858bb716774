/* xc_ops.c: language, guide, examples, progress and admin stats (xc_ops.h). */
#include "xc_ops.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "xc_buf.h"
#include "xc_render.h"
#include "xuncha/v1/admin.pb-c.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))

static xc_lang xc__lang = XC_LANG_ZH;

void xc_lang_set(xc_lang lang) {
  xc__lang = lang;
}

xc_lang xc_lang_get(void) {
  return xc__lang;
}

int xc_lang_parse(const char *s, xc_lang *out) {
  if (strncmp(s, "zh", 2) == 0 && (s[2] == '\0' || s[2] == '_' || s[2] == '-')) {
    *out = XC_LANG_ZH;
    return 0;
  }
  if (strncmp(s, "en", 2) == 0 && (s[2] == '\0' || s[2] == '_' || s[2] == '-')) {
    *out = XC_LANG_EN;
    return 0;
  }
  return -1;
}

/* Labels, headings and other Chinese UI text, with their English. A label
 * missing here shows as the field's path in English, which is still
 * English and still exact. */
static const struct {
  const char *zh, *en;
} xc__tr[] = {
    {"编号", "ID"},
    {"区划", "Region"},
    {"所属单位", "Owner"},
    {"版本标记", "ETag"},
    {"创建时间", "Created"},
    {"更新时间", "Updated"},
    {"创建人", "Created by"},
    {"更新人", "Updated by"},
    {"名称", "Name"},
    {"类别", "Kind"},
    {"党组织书记", "Party secretary"},
    {"备注", "Note"},
    {"已作废", "Voided"},
    {"作废原因", "Void reason"},
    {"届次", "Term"},
    {"轮次", "Number"},
    {"标题", "Title"},
    {"阶段", "Stage"},
    {"阶段日期", "Stage dates"},
    {"开始日期", "Start date"},
    {"结束日期", "End date"},
    {"被巡察单位", "Targets"},
    {"巡察轮次", "Round"},
    {"巡察组", "Group"},
    {"组长", "Leader"},
    {"组员", "Members"},
    {"回避", "Recusals"},
    {"分工", "Assignments"},
    {"问题", "Finding"},
    {"问题描述", "Description"},
    {"领域", "Area"},
    {"定性依据", "Basis"},
    {"发现人", "Found by"},
    {"发现日期", "Found on"},
    {"标签", "Tags"},
    {"证据", "Evidence"},
    {"整改方式", "Rectification mode"},
    {"整改状态", "Rectification status"},
    {"整改措施", "Measures"},
    {"整改期限", "Deadline"},
    {"整改责任领导", "Responsible leader"},
    {"责任部门", "Responsible unit"},
    {"完成日期", "Completed on"},
    {"销号日期", "Closed on"},
    {"反馈期限", "Feedback due"},
    {"问题线索", "Lead"},
    {"线索", "Lead"},
    {"线索摘要", "Summary"},
    {"线索类别", "Lead category"},
    {"来源问题", "Source finding"},
    {"涉及人员", "Persons"},
    {"接收单位", "Recipient"},
    {"移交日期", "Transferred on"},
    {"处置", "Disposal"},
    {"处置日期", "Disposed on"},
    {"证书身份", "Certificate identity"},
    {"巡察机构与有关单位", "Directory"},
    {"最近进展日期", "Last progress"},
    {"进展条数", "Progress entries"},
    {"有佐证条数", "With evidence"},
    {"距期限天数", "Days to deadline"},
    {"撤销销号次数", "Closures revoked"},
    {"服务", "Service"},
    {"状态", "Status"},
    {"(整体)", "(overall)"},
    {"是", "yes"},
    {"未知", "unknown"},
};

const char *xc_lang_label(const char *zh, const char *fallback) {
  if (xc__lang == XC_LANG_ZH || zh == NULL) return zh;
  for (size_t i = 0; i < XC__N(xc__tr); i++)
    if (strcmp(xc__tr[i].zh, zh) == 0) return xc__tr[i].en;
  return fallback != NULL ? fallback : zh;
}

void xc_lang_enum_en(const xc_enum_table *t, int value, char *out, size_t size) {
  const char *name = xc_enum_proto_name(t, value);
  size_t plen = strlen(t->prefix), n = 0;
  if (size == 0) return;
  if (name == NULL) {
    (void)snprintf(out, size, "unknown(%d)", value);
    return;
  }
  if (strncmp(name, t->prefix, plen) == 0) name += plen;
  for (; name[n] != '\0' && n + 1 < size; n++)
    out[n] = name[n] == '_' ? '-' : (char)tolower((unsigned char)name[n]);
  out[n] = '\0';
}

/* -------------------------------------------------------------- guide */

void xc_ops_guide(FILE *out) {
  if (xc__lang == XC_LANG_EN) {
    (void)fputs(
        "xuncha: the records of inspection tours (巡察) on an xunchad server.\n"
        "\n"
        "First, tell it where the server is and who you are (once, in\n"
        "~/.config/xuncha/client.conf, or in the environment):\n"
        "  export XUNCHA_SERVER=xuncha.example:7443 XUNCHA_CA=ca.pem \\\n"
        "         XUNCHA_CERT=me.pem XUNCHA_KEY=me.key\n"
        "\n"
        "Then, for example:\n"
        "  xuncha health check                       is the server up?\n"
        "  xuncha target list --all                  every unit inspected, as a table\n"
        "  xuncha round get r_...                    one round, field by field\n"
        "  xuncha finding list --round r_... --status 整改中\n"
        "  xuncha --csv finding list --all > findings.csv\n"
        "  xuncha admin stats                        the server's figures\n"
        "\n"
        "Resources: target round group finding lead (and more: see --help).\n"
        "'xuncha RESOURCE --help' lists its flags with examples; 'xuncha --help'\n"
        "lists everything, the exit codes included; --lang en|zh picks the language.\n",
        out);
    return;
  }
  (void)fputs(
      "xuncha：巡察工作记录系统的命令行工具。\n"
      "\n"
      "先设置服务器地址和本人证书（一次即可，写入 ~/.config/xuncha/client.conf，\n"
      "或设为环境变量）：\n"
      "  export XUNCHA_SERVER=xuncha.example:7443 XUNCHA_CA=ca.pem \\\n"
      "         XUNCHA_CERT=me.pem XUNCHA_KEY=me.key\n"
      "\n"
      "常用命令：\n"
      "  xuncha health check                       服务器是否正常\n"
      "  xuncha target list --all                  列出全部被巡察单位\n"
      "  xuncha round get r_...                    查看一个巡察轮次\n"
      "  xuncha finding list --round r_... --status 整改中\n"
      "  xuncha --csv finding list --all > findings.csv   导出问题清单\n"
      "  xuncha admin stats                        服务器运行统计\n"
      "\n"
      "资源：target（被巡察单位） round（巡察轮次） group（巡察组） finding（问题）\n"
      "lead（问题线索）等，见 --help。\n"
      "'xuncha 资源 --help' 列出各参数并附示例；'xuncha --help' 列出全部命令和退出码；\n"
      "--lang en 显示英文。\n",
      out);
}

/* ----------------------------------------------------------- examples */

static const struct {
  const char *name;
  const char *text;
} xc__examples[] = {
    {"target",
     "  xuncha target create --region 310104 --name 城东区教育局 --kind 区县直单位 \\\n"
     "      --secretary 张三\n"
     "  xuncha target list --region-prefix 3101 --all\n"
     "  xuncha target get t_01J...\n"
     "  xuncha target update t_01J... --secretary 李四\n"},
    {"round",
     "  xuncha round create --region 310104 --term 8 --number 2 --kind 专项 \\\n"
     "      --title 第八届区委第二轮巡察 --start-date 2026-03-01 --target t_01J...\n"
     "  xuncha round list --region-prefix 310104 --all\n"
     "  xuncha round update r_01J... --end-date 2026-05-31\n"},
    {"group",
     "  xuncha group create --round r_01J... --name 第一巡察组 --leader 王五 \\\n"
     "      --member 赵六 --member 钱七 --target t_01J...\n"
     "  xuncha group list --round r_01J...\n"},
    {"finding",
     "  xuncha finding create --round r_01J... --target t_01J... --title 三重一大决策不规范 \\\n"
     "      --area 党的领导 --mode 限期整改 --deadline 2026-06-30\n"
     "  xuncha finding list --round r_01J... --status 整改中 --all\n"
     "  xuncha --csv finding list --all > findings.csv\n"},
    {"lead",
     "  xuncha lead create --round r_01J... --target t_01J... --category 违反廉洁纪律 \\\n"
     "      --summary ... --recipient agency:3101:jw\n"
     "  xuncha lead list --recipient agency:3101:jw --all\n"},
    {"health",
     "  xuncha health check\n"
     "  xuncha health check --service xuncha.v1.Targets   (exit 3 if not serving)\n"},
    {"admin",
     "  xuncha admin stats\n"
     "  xuncha --json admin stats\n"
     "  xuncha admin stats --prometheus > /var/lib/node_exporter/textfile/xuncha.prom\n"
     "  xuncha admin backup /srv/backup/xuncha-2026-11-26   (a path on the server)\n"},
};

void xc_ops_examples(FILE *out, const char *name) {
  (void)fprintf(out, "\n%s\n", xc__lang == XC_LANG_EN ? "Examples:" : "示例 (Examples):");
  for (size_t i = 0; i < XC__N(xc__examples); i++) {
    if (strcmp(xc__examples[i].name, name) == 0) {
      (void)fputs(xc__examples[i].text, out);
      return;
    }
  }
  /* Resources without a worked example still get the common forms. */
  (void)fprintf(out,
                "  xuncha %s list --all\n"
                "  xuncha %s get ID\n"
                "  xuncha --csv %s list --all > %s.csv\n",
                name, name, name, name);
}

void xc_ops_admin_usage(FILE *out) {
  (void)fputs(
      "Usage: xuncha [global options] admin stats [--prometheus]      (服务器运行统计)\n"
      "\n"
      "Shows what xunchad has done since it started (calls by method and status,\n"
      "latency percentiles) and its storage now (data file size, map use, reader\n"
      "slots, records of each kind); sync lag per federation peer once there is\n"
      "federation. Needs an admin:<code> or office:<code> certificate.\n"
      "\n"
      "  --prometheus   print the Prometheus text format instead, for\n"
      "                 node_exporter's textfile collector (run from cron or a\n"
      "                 systemd timer into its directory, via a temporary file and\n"
      "                 mv, so the collector never reads half a file)\n"
      "  --json         (global) the GetStats answer as JSON\n"
      "\n"
      "Usage: xuncha [global options] admin backup DIR                (热备份)\n"
      "\n"
      "Makes the server copy its database, while it goes on serving, into DIR:\n"
      "an existing, EMPTY directory given as an absolute path ON THE SERVER\n"
      "MACHINE (not this one). The copy is DIR/data.mdb, compacted and synced.\n"
      "Needs an admin:<code> certificate. To restore: stop xunchad, replace the\n"
      "data directory's data.mdb with the copy (remove lock.mdb), start it.\n",
      out);
  xc_ops_examples(out, "admin");
}

void xc_ops_health_usage(FILE *out) {
  (void)fputs(
      "Usage: xuncha [global options] health check [--service NAME]      (服务状态)\n"
      "\n"
      "Asks grpc.health.v1.Health/Check whether the server (or one of its services,\n"
      "e.g. xuncha.v1.Targets) is serving. Exit status 0 when it is SERVING, 3 when\n"
      "it cannot be reached or is not serving, so scripts can wait for it.\n"
      "\n"
      "  --service NAME   a service name; default: the server as a whole\n",
      out);
  xc_ops_examples(out, "health");
}

/* ----------------------------------------------------------- progress */

void xc_ops_progress(FILE *errf, size_t rows, int done) {
  if (!isatty(fileno(errf))) return;
  if (done) {
    (void)fputs("\r\033[K", errf);
  } else if (xc__lang == XC_LANG_EN) {
    (void)fprintf(errf, "\rfetched %zu rows...", rows);
  } else {
    (void)fprintf(errf, "\r已取得 %zu 条…", rows);
  }
  (void)fflush(errf);
}

/* --------------------------------------------------------- admin stats */

/* Writes a Prometheus label value with \, " and newline escaped. */
static void xc__prom_value(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      (void)fprintf(out, "\\%c", *s);
    else if (*s == '\n')
      (void)fputs("\\n", out);
    else
      (void)fputc(*s, out);
  }
}

/* Writes the HELP and TYPE lines of a metric. */
static void xc__prom_head(FILE *out, const char *name, const char *type, const char *help) {
  (void)fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes a metric with one unlabelled sample. */
static void xc__prom_gauge(FILE *out, const char *name, const char *type, const char *help,
                           unsigned long long v) {
  xc__prom_head(out, name, type, help);
  (void)fprintf(out, "%s %llu\n", name, v);
}

/* Writes the stats in the Prometheus text exposition format 0.0.4;
 * histogram buckets are cumulative there, unlike in GetStats. */
static void xc__print_prometheus(FILE *out, const Xuncha__V1__Stats *st) {
  const Xuncha__V1__StorageStats *db = st->storage;
  xc__prom_head(out, "xuncha_build_info", "gauge", "Version of the xunchad answering.");
  (void)fputs("xuncha_build_info{version=\"", out);
  xc__prom_value(out, st->version);
  (void)fputs("\"} 1\n", out);
  xc__prom_head(out, "xuncha_start_time_seconds", "gauge", "When xunchad started (Unix time).");
  (void)fprintf(out, "xuncha_start_time_seconds %.3f\n", (double)st->start_time_ms / 1000.0);
  xc__prom_head(out, "xuncha_calls_total", "counter", "Calls finished, by method and status.");
  for (size_t i = 0; i < st->n_methods; i++) {
    const Xuncha__V1__MethodStats *m = st->methods[i];
    for (size_t k = 0; k < m->n_statuses; k++) {
      (void)fputs("xuncha_calls_total{method=\"", out);
      xc__prom_value(out, m->method);
      (void)fputs("\",status=\"", out);
      xc__prom_value(out, m->statuses[k]->status);
      (void)fprintf(out, "\"} %llu\n", (unsigned long long)m->statuses[k]->count);
    }
  }
  xc__prom_head(out, "xuncha_call_duration_seconds", "histogram",
                "Latency of finished calls, by method.");
  for (size_t i = 0; i < st->n_methods; i++) {
    const Xuncha__V1__MethodStats *m = st->methods[i];
    unsigned long long cum = 0;
    for (size_t b = 0; b < m->n_buckets; b++) {
      cum += m->buckets[b]->count;
      (void)fputs("xuncha_call_duration_seconds_bucket{method=\"", out);
      xc__prom_value(out, m->method);
      if (m->buckets[b]->le_us > 0)
        (void)fprintf(out, "\",le=\"%g\"} %llu\n", (double)m->buckets[b]->le_us / 1e6, cum);
      else
        (void)fprintf(out, "\",le=\"+Inf\"} %llu\n", cum);
    }
    (void)fputs("xuncha_call_duration_seconds_sum{method=\"", out);
    xc__prom_value(out, m->method);
    (void)fprintf(out, "\"} %.6f\n", (double)m->latency_sum_us / 1e6);
    (void)fputs("xuncha_call_duration_seconds_count{method=\"", out);
    xc__prom_value(out, m->method);
    (void)fprintf(out, "\"} %llu\n", (unsigned long long)m->calls);
  }
  if (db != NULL) {
    xc__prom_gauge(out, "xuncha_db_file_bytes", "gauge", "Size of the data file.", db->file_bytes);
    xc__prom_gauge(out, "xuncha_db_map_bytes", "gauge", "LMDB map size.", db->map_bytes);
    xc__prom_gauge(out, "xuncha_db_map_max_bytes", "gauge", "Largest map size allowed.",
                   db->map_max_bytes);
    xc__prom_gauge(out, "xuncha_db_used_bytes", "gauge", "Pages in use, in bytes.", db->used_bytes);
    xc__prom_gauge(out, "xuncha_db_readers_max", "gauge", "LMDB reader slots.", db->max_readers);
    xc__prom_gauge(out, "xuncha_db_readers_used", "gauge", "Reader slots in use.",
                   db->readers_used);
    xc__prom_gauge(out, "xuncha_db_commits_total", "counter", "Durable commits since start.",
                   db->commits);
    xc__prom_gauge(out, "xuncha_db_writes_total", "counter", "Writes committed since start.",
                   db->writes);
    xc__prom_gauge(out, "xuncha_db_map_growths_total", "counter", "Times the map was grown.",
                   db->map_growths);
    xc__prom_gauge(out, "xuncha_changelog_last_seq", "counter",
                   "Sequence number of the newest change.", db->last_change);
    xc__prom_head(out, "xuncha_records", "gauge", "Records stored, by kind.");
    for (size_t k = 0; k < db->n_records; k++) {
      (void)fputs("xuncha_records{kind=\"", out);
      xc__prom_value(out, db->records[k]->kind);
      (void)fprintf(out, "\"} %llu\n", (unsigned long long)db->records[k]->count);
    }
  }
  xc__prom_head(out, "xuncha_sync_lag_changes", "gauge",
                "Changes a federation peer is behind (none without federation).");
  for (size_t i = 0; i < st->n_sync; i++) {
    (void)fputs("xuncha_sync_lag_changes{peer=\"", out);
    xc__prom_value(out, st->sync[i]->peer);
    (void)fprintf(out, "\"} %llu\n", (unsigned long long)st->sync[i]->lag_changes);
  }
}

/* Formats a byte count as "12.3 MiB". */
static void xc__bytes(unsigned long long v, char *out, size_t size) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double d = (double)v;
  size_t u = 0;
  while (d >= 1024.0 && u + 1 < XC__N(unit)) {
    d /= 1024.0;
    u++;
  }
  if (u == 0)
    (void)snprintf(out, size, "%llu B", v);
  else
    (void)snprintf(out, size, "%.1f %s", d, unit[u]);
}

/* Writes the stats for a person: uptime, a table of methods, a block of
 * storage figures, in the current language. */
static int xc__print_text(FILE *out, const Xuncha__V1__Stats *st, xc_err *err) {
  int en = xc__lang == XC_LANG_EN;
  const Xuncha__V1__StorageStats *db = st->storage;
  xc_column cols[6] = {{en ? "Method" : "方法", 48},  {en ? "Calls" : "调用次数", 10},
                       {en ? "Statuses" : "状态", 36}, {"p50 µs", 9},
                       {"p90 µs", 9},                  {"p99 µs", 9}};
  char **cells = NULL;
  size_t n = st->n_methods;
  int rc = XC_OK;
  char up[64];
  long long s = st->uptime_ms / 1000;
  (void)snprintf(up, sizeof up, en ? "%lldd %lldh %lldm %llds" : "%lld天%lld小时%lld分%lld秒",
                 s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
  (void)fprintf(out, en ? "xunchad %s, up %s\n\n" : "xunchad %s，已运行 %s\n\n", st->version, up);
  cells = calloc(n * 6 + 1, sizeof *cells);
  if (cells == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const Xuncha__V1__MethodStats *m = st->methods[i];
    xc_buf b = XC_BUF_INIT;
    char num[4][32];
    for (size_t k = 0; k < m->n_statuses; k++)
      xc_buf_addf(&b, "%s%s %llu", k > 0 ? ", " : "", m->statuses[k]->status,
                  (unsigned long long)m->statuses[k]->count);
    (void)snprintf(num[0], sizeof num[0], "%llu", (unsigned long long)m->calls);
    (void)snprintf(num[1], sizeof num[1], "%lld", (long long)m->latency_p50_us);
    (void)snprintf(num[2], sizeof num[2], "%lld", (long long)m->latency_p90_us);
    (void)snprintf(num[3], sizeof num[3], "%lld", (long long)m->latency_p99_us);
    cells[i * 6] = strdup(m->method);
    cells[i * 6 + 1] = strdup(num[0]);
    cells[i * 6 + 2] = xc_buf_take(&b);
    cells[i * 6 + 3] = strdup(num[1]);
    cells[i * 6 + 4] = strdup(num[2]);
    cells[i * 6 + 5] = strdup(num[3]);
    for (int c = 0; c < 6; c++)
      if (cells[i * 6 + (size_t)c] == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
  }
  rc = xc_render_table(out, cols, 6, (const char *const *)cells, n, err);
  if (rc != XC_OK) goto done;
  if (db != NULL) {
    char v[8][96];
    const char *labels[8];
    const char *values[8];
    xc_buf rec = XC_BUF_INIT;
    char *recs;
    xc__bytes(db->file_bytes, v[0], sizeof v[0]);
    {
      char a[32], b2[32];
      xc__bytes(db->map_bytes, a, sizeof a);
      xc__bytes(db->map_max_bytes, b2, sizeof b2);
      (void)snprintf(v[1], sizeof v[1], "%s / %s", a, b2);
    }
    xc__bytes(db->used_bytes, v[2], sizeof v[2]);
    (void)snprintf(v[3], sizeof v[3], "%u / %u", db->readers_used, db->max_readers);
    (void)snprintf(v[4], sizeof v[4], "%llu / %llu", (unsigned long long)db->commits,
                   (unsigned long long)db->writes);
    (void)snprintf(v[5], sizeof v[5], "%llu", (unsigned long long)db->last_change);
    for (size_t k = 0; k < db->n_records; k++)
      xc_buf_addf(&rec, "%s%s %llu", k > 0 ? ", " : "", db->records[k]->kind,
                  (unsigned long long)db->records[k]->count);
    recs = xc_buf_take(&rec);
    labels[0] = en ? "Data file" : "数据文件";
    labels[1] = en ? "Map / limit" : "映射/上限";
    labels[2] = en ? "In use" : "已用";
    labels[3] = en ? "Reader slots" : "读者槽";
    labels[4] = en ? "Commits / writes" : "提交/写入";
    labels[5] = en ? "Last change" : "最新变更序号";
    labels[6] = en ? "Records" : "记录数";
    labels[7] = en ? "Sync lag" : "同步滞后";
    for (int k = 0; k < 6; k++) values[k] = v[k];
    values[6] = recs != NULL ? recs : "";
    values[7] = st->n_sync == 0 ? (en ? "none (no federation peers)" : "无（尚无联邦节点）") : "";
    (void)fputc('\n', out);
    rc = xc_render_block(out, labels, values, 8, err);
    free(recs);
  }
done:
  for (size_t i = 0; i < n * 6; i++) free(cells[i]);
  free(cells);
  return rc;
}

int xc_ops_admin_stats(xc_client *client, int64_t timeout_ms, FILE *out, xc_stats_fmt fmt,
                       xc_err *err) {
  Xuncha__V1__GetStatsRequest req = XUNCHA__V1__GET_STATS_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  int rc = xc_client_call(client, "/xuncha.v1.Admin/GetStats", &req.base,
                          &xuncha__v1__stats__descriptor, &resp, timeout_ms, err);
  if (rc != XC_OK) return rc;
  switch (fmt) {
    case XC_STATS_PROMETHEUS:
      xc__print_prometheus(out, (const Xuncha__V1__Stats *)resp);
      break;
    case XC_STATS_JSON:
      rc = xc_render_json_print(out, resp, err);
      break;
    default:
      rc = xc__print_text(out, (const Xuncha__V1__Stats *)resp, err);
      break;
  }
  xc_message_free(resp);
  /* Distinct from a refused call: the tool itself failed. */
  if (rc == XC_OK && ferror(out)) rc = xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  return rc;
}

/* --------------------------------------------------------- admin backup */

int xc_ops_admin_backup(xc_client *client, const char *dir, FILE *out, int json, xc_err *err) {
  Xuncha__V1__BackupRequest req = XUNCHA__V1__BACKUP_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  int rc;
  req.dir = (char *)dir;
  rc = xc_client_call(client, "/xuncha.v1.Admin/Backup", &req.base,
                      &xuncha__v1__backup_response__descriptor, &resp, 3600 * 1000, err);
  if (rc != XC_OK) goto done;
  if (json) {
    rc = xc_render_json_print(out, resp, err);
  } else {
    const Xuncha__V1__BackupResponse *b = (const Xuncha__V1__BackupResponse *)resp;
    (void)fprintf(out, "backup written on the server: %s (%llu bytes, up to change %llu)\n",
                  b->path, (unsigned long long)b->bytes, (unsigned long long)b->last_change);
  }
  if (rc == XC_OK && ferror(out)) rc = xc_err_set(err, XC_EINTERNAL, "cannot write the output");
done:
  xc_message_free(resp);
  return rc;
}
