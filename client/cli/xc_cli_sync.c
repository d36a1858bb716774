/*
 * xc_cli_sync.c: `xuncha sync now|status|verify`, the operator's view of
 * federation (同步, xuncha.v1.Sync): start a sync with the upstream (上级)
 * and watch it, show each peer's state, and compare this server's records
 * with the upstream's origin by origin.
 */
#define _POSIX_C_SOURCE 200809L /* localtime_r, nanosleep, clock_gettime */
#include "xc_cli_sync.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xc_cli.h"
#include "xc_cli_opts.h"
#include "xc_ops.h"
#include "xc_render.h"
#include "xc_text.h"

/* Deadline of one status poll or SyncNow call, milliseconds. */
#define XC__SYNC_CALL_MS 10000
/* Largest --max of `sync verify` (the server's own cap may be lower). */
#define XC__SYNC_MAX_DIFFS 100000
/* Plain (non-terminal) progress lines come at most this often, ms. */
#define XC__SYNC_LINE_MS 1000

/* One parsed command line; strings point into argv. */
typedef struct xc__sy {
  xc_conn_flags conn;
  const char *verb;
  long long timeout_s;
  long long max_diffs;
  int json, help;
  char bad[160];
} xc__sy;

void xc_cli_sync_usage(FILE *out) {
  (void)fprintf(
      out,
      "Usage: xuncha sync now [--timeout SECONDS] [--json]\n"
      "       xuncha sync status [--json]\n"
      "       xuncha sync verify [--max N] [--timeout SECONDS] [--json]\n"
      "\n"
      "Federation (同步): each server pushes its own records and those of the\n"
      "servers below it (下级) to its upstream (上级) and pulls what higher levels\n"
      "made for its region. Sync runs in the background anyway; these commands\n"
      "are for operators of the server they connect to (admin:<code>, or an\n"
      "office at home there).\n"
      "\n"
      "  now      start a sync with the upstream now and wait until it ends,\n"
      "           with a progress bar on a terminal (待同步 changes pushed and\n"
      "           pulled); exit status 0 when it ended without error, %d when it\n"
      "           failed (the error in words) or did not end within --timeout\n"
      "           (default %d s)\n"
      "  status   per peer: direction, last success (最近成功, local time),\n"
      "           pending changes (待同步), lag (滞后), last error (最近错误)\n"
      "  verify   compare this server's records with the upstream's, origin by\n"
      "           origin, and name each record that differs (at most --max,\n"
      "           default 100); exit status 0 when they agree (校验一致), %d when\n"
      "           they do not (校验不一致)\n"
      "\n"
      "--timeout here is the whole wait in seconds; each call's own deadline is\n"
      "timeout_ms of the config file (default 10 s).\n",
      XC_CLI_SYNC_EXIT_FAILED, XC_CLI_SYNC_DEFAULT_TIMEOUT_S, XC_CLI_SYNC_EXIT_DIFFERS);
}

/* Parses argv[2..] (the first word is "sync"); errors land in a->bad. */
static void xc__sy_parse(int argc, char **argv, xc__sy *a) {
  xc_cli_opts o;
  int words = 0;
  a->timeout_s = XC_CLI_SYNC_DEFAULT_TIMEOUT_S;
  xc_cli_opts_init(&o, argc, argv);
  while (xc_cli_opts_next(&o) != XC_CLI_OPTS_END) {
    const char *s = o.arg, *v;
    if (xc_cli_opts_verb(&o, &words, &a->verb, a->bad, sizeof a->bad)) continue;
    if (xc_cli_opts_help(&o)) {
      a->help = 1;
      continue;
    }
    if (strcmp(s, "--json") == 0) {
      a->json = 1;
      continue;
    }
    /* An unknown name is refused before it can take the next word as its value. */
    if (o.kind != XC_CLI_OPTS_OPTION ||
        (!xc_cli_opts_global(o.name) && strcmp(o.name, "max") != 0)) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "unknown option '%.64s' for sync", s);
      continue;
    }
    v = xc_cli_opts_value(&o);
    if (v == NULL) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "--%s needs a value", o.name);
    } else if (strcmp(o.name, "timeout") == 0) {
      /* Here --timeout is the whole wait in seconds, not one call's deadline. */
      if (xc_parse_int64(v, 1, XC_CLI_SYNC_MAX_TIMEOUT_S, &a->timeout_s) != 0)
        xc_cli_opts_bad(a->bad, sizeof a->bad,
                        "--timeout must be a number of seconds from 1 to %d, not '%.32s'",
                        XC_CLI_SYNC_MAX_TIMEOUT_S, v);
    } else if (strcmp(o.name, "lang") == 0) {
      xc_cli_opts_lang(v, a->bad, sizeof a->bad);
    } else if (strcmp(o.name, "max") == 0) {
      if (xc_parse_int64(v, 1, XC__SYNC_MAX_DIFFS, &a->max_diffs) != 0)
        xc_cli_opts_bad(a->bad, sizeof a->bad, "--max must be 1 to %d, not '%.32s'",
                        XC__SYNC_MAX_DIFFS, v);
    } else {
      (void)xc_cli_opts_conn(&a->conn, o.name, v);
    }
  }
}

/* ------------------------------------------------------------ pure helpers */

xc_cli_sync_state xc_cli_sync_watch_step(xc_cli_sync_watch *w, const Xuncha__V1__PeerStatus *p) {
  uint64_t done;
  if (p == NULL) return XC_CLI_SYNC_STATE_WAITING;
  done = p->pushed + p->pulled;
  if (done < p->pushed) done = UINT64_MAX; /* cannot happen, but never wrap */
  if (done > w->done) w->done = done;
  if (w->total < w->done) w->total = w->done;
  if (p->running) {
    w->seen_running = 1;
    return XC_CLI_SYNC_STATE_WAITING;
  }
  if (!w->seen_running && p->last_attempt_ms == w->base_attempt_ms &&
      p->last_success_ms == w->base_success_ms)
    return XC_CLI_SYNC_STATE_WAITING; /* the run has not started yet */
  if (p->last_error != NULL && p->last_error[0] != '\0') return XC_CLI_SYNC_STATE_FAILED;
  return XC_CLI_SYNC_STATE_DONE;
}

int xc_cli_sync_percent(uint64_t done, uint64_t total) {
  uint64_t pct;
  if (total == 0) return done == 0 ? 100 : 0;
  if (done >= total) return 100;
  /* done < total here; done * 100 only overflows 64 bits for counts no
   * server holds, and then the 128-bit product keeps it exact. */
  if (done <= UINT64_MAX / 100)
    pct = done * 100 / total;
  else
    pct = (uint64_t)((unsigned __int128)done * 100 / total);
  return pct > 100 ? 100 : (int)pct;
}

void xc_cli_sync_bar(char *buf, size_t size, uint64_t done, uint64_t total, int width) {
  char cells[101];
  int pct, full;
  if (size == 0) return;
  if (width < 4) width = 4;
  if (width > 100) width = 100;
  if (total < done) total = done;
  pct = xc_cli_sync_percent(done, total);
  full = pct * width / 100;
  for (int i = 0; i < width; i++) cells[i] = i < full ? '#' : ' ';
  cells[width] = '\0';
  (void)snprintf(buf, size, "[%s] %3d%%  %" PRIu64 "/%" PRIu64, cells, pct, done, total);
}

void xc_cli_sync_duration(int64_t ms, char *buf, size_t size) {
  int64_t s;
  if (size == 0) return;
  if (ms <= 0) {
    (void)snprintf(buf, size, "0秒");
    return;
  }
  if (ms < 1000) {
    (void)snprintf(buf, size, "%" PRId64 "毫秒", ms);
    return;
  }
  s = ms / 1000;
  if (s < 60)
    (void)snprintf(buf, size, "%" PRId64 "秒", s);
  else if (s < 3600)
    (void)snprintf(buf, size, "%" PRId64 "分%" PRId64 "秒", s / 60, s % 60);
  else if (s < 86400)
    (void)snprintf(buf, size, "%" PRId64 "小时%" PRId64 "分", s / 3600, s % 3600 / 60);
  else
    (void)snprintf(buf, size, "%" PRId64 "天%" PRId64 "小时", s / 86400, s % 86400 / 3600);
}

void xc_cli_sync_local_time(int64_t ms, char *buf, size_t size) {
  time_t t;
  struct tm tm;
  if (size == 0) return;
  if (ms <= 0) {
    (void)snprintf(buf, size, "从未");
    return;
  }
  t = (time_t)(ms / 1000);
  if (localtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    (void)snprintf(buf, size, "%" PRId64, ms);
}

const char *xc_cli_sync_problem_words(const char *problem) {
  if (problem == NULL) return "";
  if (strcmp(problem, "missing here") == 0) return "本端缺少";
  if (strcmp(problem, "missing upstream") == 0) return "上级缺少";
  if (strcmp(problem, "differs") == 0) return "内容不一致";
  return problem;
}

const char *xc_cli_sync_direction_words(const char *direction) {
  if (direction == NULL) return "";
  if (strcmp(direction, "upstream") == 0) return "上级";
  if (strcmp(direction, "downstream") == 0) return "下级";
  return direction;
}

/* ------------------------------------------------------------ calls */

/* Milliseconds of the monotonic clock, for the --timeout of a wait. */
static int64_t xc__now_ms(void) {
  struct timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds (a signal may cut it short, which only makes the
 * next poll come sooner). */
static void xc__sleep_ms(int64_t ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  (void)nanosleep(&ts, NULL);
}

/* The upstream peer of st, or NULL. */
static const Xuncha__V1__PeerStatus *xc__upstream(const Xuncha__V1__SyncStatus *st) {
  for (size_t i = 0; st != NULL && i < st->n_peers; i++)
    if (st->peers[i]->direction != NULL && strcmp(st->peers[i]->direction, "upstream") == 0)
      return st->peers[i];
  return NULL;
}

/* Where `sync now` draws its progress (stderr) and what it drew last. */
typedef struct xc__prog {
  FILE *errf;
  int tty;
  uint64_t shown_done;
  int64_t shown_at;
  int drawn;
} xc__prog;

/* Draws the progress of w on pg->errf: a bar redrawn in place on a
 * terminal, else a plain line at most once a second when something moved. */
static void xc__prog_show(xc__prog *pg, const xc_cli_sync_watch *w, const char *upstream) {
  char bar[160];
  int64_t now = xc__now_ms();
  if (pg->tty) {
    xc_cli_sync_bar(bar, sizeof bar, w->done, w->total, 30);
    (void)fprintf(pg->errf, "\r\033[K同步 → %s %s", upstream, bar);
    pg->drawn = 1;
  } else {
    if (pg->drawn && (w->done == pg->shown_done || now - pg->shown_at < XC__SYNC_LINE_MS))
      return;
    (void)fprintf(pg->errf, "同步进度: %" PRIu64 "/%" PRIu64 " (%d%%)\n", w->done, w->total,
                  xc_cli_sync_percent(w->done, w->total));
    pg->drawn = 1;
    pg->shown_done = w->done;
    pg->shown_at = now;
  }
  (void)fflush(pg->errf);
}

/* Clears the bar from a terminal's line, so what follows starts clean. */
static void xc__prog_end(xc__prog *pg) {
  if (pg->tty && pg->drawn) {
    (void)fputs("\r\033[K", pg->errf);
    (void)fflush(pg->errf);
    pg->drawn = 0;
  }
}

/*
 * sync now: reads the upstream's state, starts a run, then polls until it
 * ends or the timeout passes. *failed is set when the run itself failed or
 * timed out (the call errors are rc).
 */
static int xc__now(xc_client *c, const xc__sy *a, FILE *out, FILE *errf, int *failed,
                   xc_err *err) {
  Xuncha__V1__SyncStatusRequest sreq = XUNCHA__V1__SYNC_STATUS_REQUEST__INIT;
  Xuncha__V1__SyncNowRequest nreq = XUNCHA__V1__SYNC_NOW_REQUEST__INIT;
  Xuncha__V1__SyncStatus *st = NULL;
  Xuncha__V1__SyncNowResponse *now = NULL;
  const Xuncha__V1__PeerStatus *up;
  xc_cli_sync_watch w;
  xc__prog pg;
  xc_cli_sync_state state = XC_CLI_SYNC_STATE_WAITING;
  char upstream[128] = "上级";
  int64_t start = xc__now_ms(), deadline = start + a->timeout_s * 1000;
  int rc;

  memset(&w, 0, sizeof w);
  memset(&pg, 0, sizeof pg);
  pg.errf = errf;
  pg.tty = isatty(fileno(errf));
  *failed = 0;
  rc = xc_get_sync_status(c, &sreq, &st, XC__SYNC_CALL_MS, err);
  if (rc != XC_OK) goto done;
  up = xc__upstream(st);
  if (up != NULL) {
    w.base_attempt_ms = up->last_attempt_ms;
    w.base_success_ms = up->last_success_ms;
  }
  xc_message_free(st);
  st = NULL;
  rc = xc_start_sync(c, &nreq, &now, XC__SYNC_CALL_MS, err);
  if (rc != XC_OK) goto done;
  if (now->upstream != NULL && now->upstream[0] != '\0')
    (void)xc_strlcpy(upstream, now->upstream, sizeof upstream);
  w.total = now->pending;
  if (!a->json)
    (void)fprintf(errf, "开始同步 → 上级 %s: 待同步 %" PRIu64 " 条\n", upstream, now->pending);
  while (state == XC_CLI_SYNC_STATE_WAITING) {
    int64_t left = deadline - xc__now_ms();
    if (left <= 0) break;
    xc__sleep_ms(left < XC_CLI_SYNC_POLL_MS ? left : XC_CLI_SYNC_POLL_MS);
    left = deadline - xc__now_ms();
    xc_message_free(st);
    st = NULL;
    rc = xc_get_sync_status(c, &sreq, &st, left > 0 && left < XC__SYNC_CALL_MS ? left
                                                                              : XC__SYNC_CALL_MS,
                            err);
    if (rc != XC_OK) goto done;
    up = xc__upstream(st);
    state = xc_cli_sync_watch_step(&w, up);
    /* A failed run gets its error, not a bar that says 100%. */
    if (!a->json && state != XC_CLI_SYNC_STATE_FAILED) xc__prog_show(&pg, &w, upstream);
  }
  xc__prog_end(&pg);
  up = xc__upstream(st);
  if (state == XC_CLI_SYNC_STATE_WAITING) {
    *failed = 1;
    (void)fprintf(errf,
                  "xuncha: 同步未在 %lld 秒内结束 (已推送/拉取 %" PRIu64 "/%" PRIu64
                  " 条); 同步仍在后台进行, 见 'xuncha sync status'\n",
                  a->timeout_s, w.done, w.total);
  } else if (state == XC_CLI_SYNC_STATE_FAILED) {
    *failed = 1;
    (void)fprintf(errf, "xuncha: 同步失败 (上级 %s): %s\n", upstream, up->last_error);
  }
  if (a->json && st != NULL) {
    rc = xc_render_json_print(out, &st->base, err);
  } else if (state == XC_CLI_SYNC_STATE_DONE) {
    char took[48];
    xc_cli_sync_duration(xc__now_ms() - start, took, sizeof took);
    (void)fprintf(out,
                  "同步完成 → 上级 %s: 已推送 %" PRIu64 " 条, 已拉取 %" PRIu64
                  " 条, 待同步 %" PRIu64 " 条, 用时 %s\n",
                  upstream, up->pushed, up->pulled, up->pending, took);
  }
done:
  xc__prog_end(&pg);
  xc_message_free(st);
  xc_message_free(now);
  return rc;
}

/* sync status: one table row per peer. */
static int xc__status(xc_client *c, const xc__sy *a, FILE *out, xc_err *err) {
  static const xc_column cols[] = {{"方向", 0},     {"服务器", 40},   {"地址", 40},
                                   {"状态", 0},     {"最近成功", 0},  {"待同步", 0},
                                   {"滞后", 0},     {"已确认序号", 0}, {"最近错误", 80}};
  enum { NC = sizeof cols / sizeof cols[0] };
  Xuncha__V1__SyncStatusRequest req = XUNCHA__V1__SYNC_STATUS_REQUEST__INIT;
  Xuncha__V1__SyncStatus *st = NULL;
  const char **cells = NULL;
  char (*text)[4][64] = NULL;
  int rc = xc_get_sync_status(c, &req, &st, 0, err);
  if (rc != XC_OK) goto done;
  if (a->json) {
    rc = xc_render_json_print(out, &st->base, err);
    goto done;
  }
  (void)fprintf(out, "本服务器: %s  最新日志序号: %" PRIu64 "  日志条目: %" PRIu64 "\n",
                st->server, st->last_seq, st->log_entries);
  if (st->n_peers == 0) {
    (void)fprintf(out, "没有上级或下级 (no peers): this server does not sync\n");
    goto done;
  }
  if (st->n_peers > SIZE_MAX / (NC * sizeof *cells)) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "too many peers");
    goto done;
  }
  cells = calloc(st->n_peers * NC, sizeof *cells);
  text = calloc(st->n_peers, sizeof *text);
  if (cells == NULL || text == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < st->n_peers; i++) {
    const Xuncha__V1__PeerStatus *p = st->peers[i];
    const char **row = cells + i * NC;
    xc_cli_sync_local_time(p->last_success_ms, text[i][0], sizeof text[i][0]);
    (void)snprintf(text[i][1], sizeof text[i][1], "%" PRIu64, p->pending);
    if (p->pending == 0 && p->lag_ms <= 0)
      (void)snprintf(text[i][2], sizeof text[i][2], "无");
    else
      xc_cli_sync_duration(p->lag_ms, text[i][2], sizeof text[i][2]);
    (void)snprintf(text[i][3], sizeof text[i][3], "%" PRIu64, p->acked_seq);
    row[0] = xc_cli_sync_direction_words(p->direction);
    row[1] = p->peer;
    row[2] = p->address != NULL && p->address[0] != '\0' ? p->address : "-";
    row[3] = p->running ? "同步中" : "空闲";
    row[4] = text[i][0];
    row[5] = text[i][1];
    row[6] = text[i][2];
    row[7] = text[i][3];
    row[8] = p->last_error != NULL && p->last_error[0] != '\0' ? p->last_error : "无";
  }
  rc = xc_render_table(out, cols, NC, cells, st->n_peers, err);
done:
  free(cells);
  free(text);
  xc_message_free(st);
  return rc;
}

/* The digest of origin name in list, or NULL. */
static const Xuncha__V1__OriginDigest *xc__find_origin(Xuncha__V1__OriginDigest *const *list,
                                                       size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i]->origin, name) == 0) return list[i];
  return NULL;
}

/* Adds one row for origin name (local l, remote r, either may be NULL). */
static void xc__origin_row(const char *name, const Xuncha__V1__OriginDigest *l,
                           const Xuncha__V1__OriginDigest *r, const char **row, char (*t)[32]) {
  int same = l != NULL && r != NULL && l->records == r->records &&
             l->digest.len == r->digest.len &&
             (l->digest.len == 0 || memcmp(l->digest.data, r->digest.data, l->digest.len) == 0);
  if (l != NULL)
    (void)snprintf(t[0], sizeof t[0], "%" PRIu64, l->records);
  else
    (void)snprintf(t[0], sizeof t[0], "-");
  if (r != NULL)
    (void)snprintf(t[1], sizeof t[1], "%" PRIu64, r->records);
  else
    (void)snprintf(t[1], sizeof t[1], "-");
  row[0] = name[0] != '\0' ? name : "(本服务器)";
  row[1] = t[0];
  row[2] = t[1];
  row[3] = same ? "一致" : l == NULL ? "不一致 (本端没有)" : r == NULL ? "不一致 (上级没有)" : "不一致";
}

/* sync verify: per-origin counts, then every difference; *differs set when
 * the server says the two are not the same. */
static int xc__verify(xc_client *c, const xc__sy *a, FILE *out, int *differs, xc_err *err) {
  static const xc_column ocols[] = {{"来源", 40}, {"本端记录数", 0}, {"上级记录数", 0},
                                    {"摘要", 0}};
  static const xc_column dcols[] = {{"来源", 40}, {"记录", 0}, {"问题", 0}};
  Xuncha__V1__VerifySyncRequest req = XUNCHA__V1__VERIFY_SYNC_REQUEST__INIT;
  Xuncha__V1__VerifySyncResponse *r = NULL;
  const char **cells = NULL;
  char (*text)[2][32] = NULL;
  size_t n_rows = 0, cap;
  int rc;
  *differs = 0;
  req.max_differences = (uint32_t)a->max_diffs;
  rc = xc_verify_sync(c, &req, &r, a->timeout_s * 1000, err);
  if (rc != XC_OK) goto done;
  *differs = !r->clean;
  if (a->json) {
    rc = xc_render_json_print(out, &r->base, err);
    goto done;
  }
  (void)fprintf(out, "上级: %s\n", r->upstream);
  cap = r->n_local + r->n_remote;
  if (cap > 0) {
    if (cap > SIZE_MAX / (4 * sizeof *cells)) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "too many origins");
      goto done;
    }
    cells = calloc(cap * 4, sizeof *cells);
    text = calloc(cap, sizeof *text);
    if (cells == NULL || text == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    /* Every origin of either side once: local ones first, then those only
     * the upstream has. */
    for (size_t i = 0; i < r->n_local; i++) {
      const Xuncha__V1__OriginDigest *l = r->local[i];
      xc__origin_row(l->origin, l, xc__find_origin(r->remote, r->n_remote, l->origin),
                     cells + n_rows * 4, text[n_rows]);
      n_rows++;
    }
    for (size_t i = 0; i < r->n_remote; i++) {
      const Xuncha__V1__OriginDigest *o = r->remote[i];
      if (xc__find_origin(r->local, r->n_local, o->origin) != NULL) continue;
      xc__origin_row(o->origin, NULL, o, cells + n_rows * 4, text[n_rows]);
      n_rows++;
    }
    rc = xc_render_table(out, ocols, 4, cells, n_rows, err);
    if (rc != XC_OK) goto done;
  }
  if (r->n_differences > 0) {
    free(cells);
    cells = NULL;
    if (r->n_differences > SIZE_MAX / (3 * sizeof *cells)) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "too many differences");
      goto done;
    }
    cells = calloc(r->n_differences * 3, sizeof *cells);
    if (cells == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < r->n_differences; i++) {
      const Xuncha__V1__RecordDifference *d = r->differences[i];
      cells[i * 3] = d->origin[0] != '\0' ? d->origin : "(本服务器)";
      cells[i * 3 + 1] = d->id;
      cells[i * 3 + 2] = xc_cli_sync_problem_words(d->problem);
    }
    (void)fprintf(out, "\n差异记录:\n");
    rc = xc_render_table(out, dcols, 3, cells, r->n_differences, err);
    if (rc != XC_OK) goto done;
  }
  if (r->clean)
    (void)fprintf(out, "校验一致: 本端与上级 %s 的记录相同\n", r->upstream);
  else
    (void)fprintf(out, "校验不一致: %zu 条记录不同%s\n", r->n_differences,
                  r->n_differences == 0 ? " (摘要不同)" : "");
done:
  free(cells);
  free(text);
  xc_message_free(r);
  return rc;
}

int xc_cli_sync_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                     int *handled) {
  xc__sy a;
  xc_client *client = NULL;
  xc_err err;
  static const char *const flags[] = {"--json", "--all", "--help", "-h"};
  int code = XC_EXIT_OK, rc, flag = 0, first;
  *handled = 0;
  /* Ours when the first word that is not a global option's value is
   * "sync". */
  first = xc_cli_opts_first_word(argc, argv, flags, sizeof flags / sizeof flags[0]);
  if (first < 0 || strcmp(argv[first], "sync") != 0) return XC_EXIT_OK;
  *handled = 1;
  memset(&a, 0, sizeof a);
  xc_err_clear(&err);
  xc__sy_parse(argc, argv, &a);
  if (a.help || a.verb == NULL) {
    xc_cli_sync_usage(a.help ? out : errf);
    return a.help ? XC_EXIT_OK : XC_EXIT_USAGE;
  }
  if (a.bad[0] == '\0' && strcmp(a.verb, "now") != 0 && strcmp(a.verb, "status") != 0 &&
      strcmp(a.verb, "verify") != 0)
    (void)snprintf(a.bad, sizeof a.bad,
                   "unknown verb '%.32s' for sync: use now, status or verify", a.verb);
  if (a.bad[0] != '\0') {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha sync --help' for usage.\n", a.bad);
    return XC_EXIT_USAGE;
  }
  code = xc_cli_connect(&a.conn, env, errf, &client);
  if (code != XC_EXIT_OK) return code;
  if (strcmp(a.verb, "now") == 0)
    rc = xc__now(client, &a, out, errf, &flag, &err);
  else if (strcmp(a.verb, "status") == 0)
    rc = xc__status(client, &a, out, &err);
  else
    rc = xc__verify(client, &a, out, &flag, &err);
  if (rc == XC_OK && fflush(out) != 0)
    rc = xc_err_set(&err, XC_EINTERNAL, "cannot write the output");
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s: %s\n", xc_code_name(rc), err.msg);
    code = xc_cli_exit_code(rc);
  } else if (flag) {
    code = strcmp(a.verb, "verify") == 0 ? XC_CLI_SYNC_EXIT_DIFFERS : XC_CLI_SYNC_EXIT_FAILED;
  }
  xc_client_destroy(client);
  return code;
}
