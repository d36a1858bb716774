/*
 * xc-report-bench: how fast GetSummary answers over a large store.
 *
 *   xc-report-bench [--data DIR] [--findings N] [--runs R] [--no-fill]
 *
 * --no-fill times an existing DIR filled by an earlier run (the targets
 * and rounds it made are read back from the store).
 *
 * Fills a fresh store (DIR, default a temporary directory removed at the
 * end) straight through the storage API, with group commits of 5000
 * records: one city term, 40 rounds of 50 targets each, two groups per
 * round, N findings (default 1 000 000) with random areas, tags, statuses
 * and deadlines, and N/50 leads. Then times xc_report_summary for the whole
 * city and for one county R times each (default 20) and, for comparison,
 * one full scan of the findings. Prints the latencies; asserts nothing
 * (server/REPORTS.md has the figures measured).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xc_msg.h"
#include "xc_report.h"
#include "xc_store.h"
#include "xc_text.h"

#define N_ROUNDS 40
#define T_PER_ROUND 50
#define N_TARGETS (N_ROUNDS * T_PER_ROUND)
#define BATCH 5000

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char target_ids[N_TARGETS][32];
static char target_regions[N_TARGETS][16];
static char round_ids[N_ROUNDS][32];

typedef struct fill {
  int what; /* 0 targets, 1 rounds+groups+term, 2 findings, 3 leads */
  long from, n;
} fill;

static const char *const tags[] = {"假落实", "四风", "慢落实", "三重一大", "不落实", "八项规定"};

static int fill_fn(xc_txn *txn, void *c, xc_err *err) {
  fill *f = c;
  int rc = XC_OK;
  for (long i = f->from; i < f->from + f->n && rc == XC_OK; i++) {
    ProtobufCMessage *out = NULL;
    if (f->what == 0) {
      Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
      t.region_code = target_regions[i];
      t.name = "单位";
      t.kind = (Xuncha__V1__TargetKind)(1 + i % 7);
      rc = xc_txn_create(txn, XC_KIND_TARGET, &t.base, "office:3101", "bench#1", &out, err);
      if (rc == XC_OK) xc_strlcpy(target_ids[i], xc_msg_get_str(out, "id"), 32);
    } else if (f->what == 1) {
      Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
      Xuncha__V1__StageDate sd = XUNCHA__V1__STAGE_DATE__INIT;
      Xuncha__V1__StageDate *sdp[1] = {&sd};
      char *ids[T_PER_ROUND];
      for (int k = 0; k < T_PER_ROUND; k++) ids[k] = target_ids[i * T_PER_ROUND + k];
      r.region_code = "3101";
      r.term = 8;
      r.number = (int32_t)i + 1;
      r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
      r.title = "巡察";
      r.stage = i % 2 ? XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_FEEDBACK
                      : XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE;
      sd.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE;
      sd.date = "2027-03-01";
      r.stage_dates = sdp;
      r.n_stage_dates = 1;
      r.start_date = "2027-03-01";
      r.target_ids = ids;
      r.n_target_ids = T_PER_ROUND;
      rc = xc_txn_create(txn, XC_KIND_ROUND, &r.base, "office:3101", "bench#1", &out, err);
      if (rc == XC_OK) xc_strlcpy(round_ids[i], xc_msg_get_str(out, "id"), 32);
      for (int g = 0; g < 2 && rc == XC_OK; g++) {
        Xuncha__V1__Group gr = XUNCHA__V1__GROUP__INIT;
        gr.region_code = "3101";
        gr.round_id = round_ids[i];
        gr.name = "巡察组";
        rc = xc_txn_create(txn, XC_KIND_GROUP, &gr.base, "office:3101", "bench#1", NULL, err);
      }
      if (rc == XC_OK && i == 0) {
        Xuncha__V1__Term t = XUNCHA__V1__TERM__INIT;
        t.region_code = "3101";
        t.number = 8;
        t.start_date = "2026-01-01";
        t.end_date = "2030-12-31";
        rc = xc_txn_create(txn, XC_KIND_TERM, &t.base, "office:3101", "bench#1", NULL, err);
      }
    } else if (f->what == 2) {
      Xuncha__V1__Finding fd = XUNCHA__V1__FINDING__INIT;
      Xuncha__V1__Rectification re = XUNCHA__V1__RECTIFICATION__INIT;
      Xuncha__V1__RectificationTrack tr = XUNCHA__V1__RECTIFICATION_TRACK__INIT;
      char deadline[11], last[11];
      char *tg[2];
      long ri = (long)(rnd() % N_ROUNDS);
      long ti = ri * T_PER_ROUND + (long)(rnd() % T_PER_ROUND);
      fd.region_code = target_regions[ti];
      fd.round_id = round_ids[ri];
      fd.target_id = target_ids[ti];
      fd.title = "问题";
      fd.area = (Xuncha__V1__FindingArea)(1 + rnd() % 6);
      tg[0] = (char *)tags[rnd() % 6];
      tg[1] = (char *)tags[rnd() % 6];
      fd.tags = tg;
      fd.n_tags = (size_t)(rnd() % 3);
      re.status = (Xuncha__V1__RectificationStatus)(1 + rnd() % 5);
      (void)snprintf(deadline, sizeof deadline, "2027-%02d-%02d", (int)(1 + rnd() % 12),
                     (int)(1 + rnd() % 28));
      re.deadline = deadline;
      (void)snprintf(last, sizeof last, "2027-%02d-%02d", (int)(1 + rnd() % 12),
                     (int)(1 + rnd() % 28));
      tr.last_entry_date = last;
      tr.evidence_entries = (int32_t)(rnd() % 2);
      fd.rectification = &re;
      fd.track = &tr;
      rc = xc_txn_create(txn, XC_KIND_FINDING, &fd.base, "office:3101", "bench#1", NULL, err);
    } else {
      Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
      Xuncha__V1__OutcomeCounts oc = XUNCHA__V1__OUTCOME_COUNTS__INIT;
      long ri = (long)(rnd() % N_ROUNDS);
      long ti = ri * T_PER_ROUND + (long)(rnd() % T_PER_ROUND);
      l.region_code = target_regions[ti];
      l.round_id = round_ids[ri];
      l.target_id = target_ids[ti];
      l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
      l.recipient = rnd() % 2 ? "agency:3101:jw" : "agency:3101:zzb";
      l.summary = "线索";
      l.transfer_date = "2027-05-01";
      l.disposal = (Xuncha__V1__LeadDisposal)(1 + rnd() % 9);
      oc.party_sanctions = (int32_t)(rnd() % 2);
      oc.sanctioned_persons = oc.party_sanctions;
      l.outcomes = &oc;
      rc = xc_txn_create(txn, XC_KIND_LEAD, &l.base, "office:3101", "bench#1", NULL, err);
    }
    xc_msg_free(out);
  }
  return rc;
}

static int count_visit(void *c, ProtobufCMessage *rec) {
  (*(long *)c)++;
  xc_msg_free(rec);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void time_summary(xc_store *store, const char *cn, const char *region, int runs) {
  xc_identity who;
  xc_err err;
  Xuncha__V1__ReportScope sc = XUNCHA__V1__REPORT_SCOPE__INIT;
  double *ms = calloc((size_t)runs, sizeof *ms);
  int64_t findings = 0;
  if (ms == NULL || xc_identity_parse(cn, "01", &who, &err) != XC_OK) {
    free(ms);
    return;
  }
  sc.region_prefix = (char *)region;
  sc.term = 8;
  for (int i = 0; i < runs; i++) {
    Xuncha__V1__Summary *s = NULL;
    double t0 = now_ms();
    if (xc_report_summary(store, &who, &sc, "2028-01-01", 30, &s, &err) != XC_OK) {
      fprintf(stderr, "summary: %s\n", err.msg);
      free(ms);
      return;
    }
    ms[i] = now_ms() - t0;
    findings = s->current->findings;
    xc_msg_free(s);
  }
  qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
  printf("GetSummary %-6s (%lld findings in scope): min %.2f ms  median %.2f ms  max %.2f ms\n",
         region, (long long)findings, ms[0], ms[runs / 2], ms[runs - 1]);
  free(ms);
}

int main(int argc, char **argv) {
  const char *data = NULL;
  long n_findings = 1000000;
  int runs = 20;
  char tmp[] = "/tmp/xc-report-bench-XXXXXX";
  xc_store_options o;
  xc_store *store = NULL;
  xc_err err;
  double t0;
  int rc;

  int no_fill = 0;
  for (int i = 1; i < argc; i += 2) {
    long long v = 0;
    if (strcmp(argv[i], "--no-fill") == 0) {
      no_fill = 1;
      i--;
    } else if (i + 1 >= argc) {
      fprintf(stderr, "usage: %s [--data DIR] [--findings N] [--runs R] [--no-fill]\n", argv[0]);
      return 2;
    } else if (strcmp(argv[i], "--data") == 0) {
      data = argv[i + 1];
    } else if (strcmp(argv[i], "--findings") == 0 &&
               xc_parse_int64(argv[i + 1], 1, 100000000, &v) == 0) {
      n_findings = (long)v;
    } else if (strcmp(argv[i], "--runs") == 0 && xc_parse_int64(argv[i + 1], 1, 10000, &v) == 0) {
      runs = (int)v;
    } else {
      fprintf(stderr, "usage: %s [--data DIR] [--findings N] [--runs R]\n", argv[0]);
      return 2;
    }
  }
  if (data == NULL) {
    if (mkdtemp(tmp) == NULL) return 1;
    data = tmp;
  }
  memset(&o, 0, sizeof o);
  o.dir = data;
  o.map_size = (size_t)4 << 30;
  if (xc_store_open(&o, &store, &err) != XC_OK) {
    fprintf(stderr, "open: %s\n", err.msg);
    return 1;
  }
  /* Targets in the city (3101), two counties and their townships. */
  for (int i = 0; i < N_TARGETS; i++) {
    static const char *const regs[] = {"3101", "310104", "310105", "310104001", "310104002",
                                       "310105001"};
    xc_strlcpy(target_regions[i], regs[i % 6], sizeof target_regions[i]);
  }
  if (no_fill) {
    if (data == tmp) {
      fprintf(stderr, "--no-fill needs --data DIR\n");
      xc_store_close(store);
      return 2;
    }
    goto measure;
  }
  t0 = now_ms();
  {
    fill f = {0, 0, N_TARGETS};
    rc = xc_store_write(store, fill_fn, &f, &err);
  }
  for (long r = 0; rc == XC_OK && r < N_ROUNDS; r++) {
    fill f = {1, r, 1};
    rc = xc_store_write(store, fill_fn, &f, &err);
  }
  for (long i = 0; rc == XC_OK && i < n_findings; i += BATCH) {
    fill f = {2, i, n_findings - i < BATCH ? n_findings - i : BATCH};
    rc = xc_store_write(store, fill_fn, &f, &err);
  }
  for (long i = 0; rc == XC_OK && i < n_findings / 50; i += BATCH) {
    fill f = {3, i, n_findings / 50 - i < BATCH ? n_findings / 50 - i : BATCH};
    rc = xc_store_write(store, fill_fn, &f, &err);
  }
  if (rc != XC_OK) {
    fprintf(stderr, "fill: %s\n", err.msg);
    xc_store_close(store);
    return 1;
  }
  printf("filled %ld findings, %ld leads, %d targets, %d rounds in %.1f s (%.0f records/s)\n",
         n_findings, n_findings / 50, N_TARGETS, N_ROUNDS, (now_ms() - t0) / 1e3,
         (double)(n_findings + n_findings / 50) / ((now_ms() - t0) / 1e3));
measure:
  time_summary(store, "office:3101", "3101", runs);
  time_summary(store, "office:310104", "310104", runs);
  time_summary(store, "office:310104001", "310104001", runs);
  {
    xc_snapshot *snap = NULL;
    long n = 0;
    t0 = now_ms();
    if (xc_snapshot_begin(store, &snap, &err) == XC_OK &&
        xc_snapshot_scan(snap, XC_KIND_FINDING, XC_INDEX_ALL, "", NULL, count_visit, &n, &err) ==
            XC_OK)
      printf("for comparison, one full scan of %ld findings: %.0f ms\n", n, now_ms() - t0);
    xc_snapshot_end(snap);
  }
  xc_store_close(store);
  if (data == tmp) {
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  }
  return 0;
}
