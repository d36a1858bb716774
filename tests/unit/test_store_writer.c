/*
 * CUnit suites for the writer thread's batch work (storage/xc_store.c).
 *
 * Counters (storage/xc_store_counter.c): the writer sums the counter deltas of every job of
 * a batch and writes each counter once before the commit. These tests make
 * batches certain (a gate job holds the writer until the others are queued)
 * and then compare every stored counter with a recount from the records:
 *
 *  - creates, updates, a create and update of one record in one job, and a
 *    failing job that wrote before failing, all in one batch: the failing
 *    job's deltas are gone, everyone else's are counted once;
 *  - a batch replayed after the map filled up counts each job once;
 *  - counters that come back to zero are removed.
 *
 * Headroom: the writer keeps data.mdb ahead of the used size with zeros,
 * never past the map, and a store with such a file reopens intact.
 *
 * CUnit is not thread-safe, so threads only record what happened and the
 * test thread asserts.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xc_msg.h"
#include "xc_store.h"
#include "xc_test_fs.h"

#define OWNER "office:3101"
#define AUTHOR "office:3101#01"
#define ROUND_A "r_00000000000000000000000001"
#define ROUND_B "r_00000000000000000000000002"
#define TARGET_1 "t_00000000000000000000000001"
#define TARGET_2 "t_00000000000000000000000002"

/* ------------------------------------------------------------- helpers */

typedef struct fixture {
  char dir[64];
  xc_store *store;
} fixture;

static int fx_open(fixture *fx, size_t map_size, size_t map_max) {
  xc_store_options opt;
  xc_err err;
  int rc;
  (void)snprintf(fx->dir, sizeof fx->dir, "/tmp/xc-counters-XXXXXX");
  fx->store = NULL;
  if (mkdtemp(fx->dir) == NULL) return -1;
  memset(&opt, 0, sizeof opt);
  opt.dir = fx->dir;
  opt.map_size = map_size;
  opt.map_max = map_max;
  rc = xc_store_open(&opt, &fx->store, &err);
  if (rc != XC_OK) fprintf(stderr, "open %s: %s\n", fx->dir, err.msg);
  return rc;
}

static void fx_done(fixture *fx) {
  xc_store_close(fx->store);
  fx->store = NULL;
  xc_test_rm_rf(fx->dir);
}

/* ------------------------------------------------------- the recount */

/* (region prefix, round, metric) -> value, a short list. */
typedef struct centry {
  char prefix[16];
  char round[40];
  char metric[300];
  int64_t v;
} centry;

typedef struct cmap {
  centry *v;
  size_t n, cap;
  int oom;
} cmap;

static void cmap_add(cmap *m, const char *prefix, const char *round, const char *metric,
                     int64_t v) {
  for (size_t i = 0; i < m->n; i++) {
    if (strcmp(m->v[i].prefix, prefix) == 0 && strcmp(m->v[i].round, round) == 0 &&
        strcmp(m->v[i].metric, metric) == 0) {
      m->v[i].v += v;
      return;
    }
  }
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    centry *nv = realloc(m->v, cap * sizeof *nv);
    if (nv == NULL) {
      m->oom = 1;
      return;
    }
    m->v = nv;
    m->cap = cap;
  }
  (void)snprintf(m->v[m->n].prefix, sizeof m->v[m->n].prefix, "%s", prefix);
  (void)snprintf(m->v[m->n].round, sizeof m->v[m->n].round, "%s", round);
  (void)snprintf(m->v[m->n].metric, sizeof m->v[m->n].metric, "%s", metric);
  m->v[m->n].v = v;
  m->n++;
}

/* What a record contributes, under one prefix and round. */
typedef struct contrib {
  cmap *m;
  const char *prefix;
  const char *round;
} contrib;

static int contrib_visit(void *ctx, const char *metric, int64_t v) {
  contrib *c = ctx;
  cmap_add(c->m, c->prefix, c->round, metric, v);
  return 0;
}

typedef struct recount {
  cmap want;
  xc_kind kind;
  size_t records;
} recount;

static const size_t levels[] = {2, 4, 6, 9, 12};

/* Adds a record's contributions at every level of its region. */
static int recount_visit(void *ctx, ProtobufCMessage *rec) {
  recount *r = ctx;
  const char *region = xc_msg_get_str(rec, "region_code");
  const char *round = xc_msg_get_str(rec, "round_id");
  r->records++;
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    char prefix[16];
    contrib c;
    if (levels[i] > strlen(region) || round[0] == '\0') break;
    (void)snprintf(prefix, sizeof prefix, "%.*s", (int)levels[i], region);
    c.m = &r->want;
    c.prefix = prefix;
    c.round = round;
    xc_store_contributions(r->kind, rec, contrib_visit, &c);
  }
  xc_msg_free(rec);
  return 0;
}

typedef struct got {
  cmap *m;
  const char *prefix;
  const char *round;
} got;

static int got_visit(void *ctx, const char *metric, int64_t v) {
  got *g = ctx;
  cmap_add(g->m, g->prefix, g->round, metric, v);
  return 0;
}

/*
 * Returns the number of differences between the stored counters and a
 * recount from every group, finding and lead, under every prefix in
 * `prefixes` and both rounds (printing each difference). Sets *records to
 * the records counted.
 */
static int counter_diffs(xc_store *s, const char *const *prefixes, size_t n_prefixes,
                         size_t *records) {
  static const xc_kind kinds[] = {XC_KIND_GROUP, XC_KIND_FINDING, XC_KIND_LEAD};
  static const char *const rounds[] = {ROUND_A, ROUND_B};
  xc_snapshot *snap = NULL;
  recount r;
  cmap have;
  xc_err err;
  int diffs = 0;

  memset(&r, 0, sizeof r);
  memset(&have, 0, sizeof have);
  if (xc_snapshot_begin(s, &snap, &err) != XC_OK) return 1000;
  for (size_t k = 0; k < 3; k++) {
    r.kind = kinds[k];
    if (xc_snapshot_scan(snap, kinds[k], XC_INDEX_ALL, "", NULL, recount_visit, &r, &err) !=
        XC_OK)
      diffs++;
  }
  for (size_t p = 0; p < n_prefixes; p++) {
    for (size_t q = 0; q < 2; q++) {
      got g = {&have, prefixes[p], rounds[q]};
      if (xc_snapshot_counters(snap, prefixes[p], rounds[q], got_visit, &g, &err) != XC_OK)
        diffs++;
    }
  }
  xc_snapshot_end(snap);
  if (r.want.oom || have.oom) diffs++;
  /* Every wanted non-zero value is stored, under the prefixes asked for. */
  for (size_t i = 0; i < r.want.n; i++) {
    const centry *w = &r.want.v[i];
    int64_t v = 0;
    int asked = 0;
    for (size_t p = 0; p < n_prefixes; p++) asked |= strcmp(prefixes[p], w->prefix) == 0;
    if (!asked) continue;
    for (size_t j = 0; j < have.n; j++)
      if (strcmp(have.v[j].prefix, w->prefix) == 0 && strcmp(have.v[j].round, w->round) == 0 &&
          strcmp(have.v[j].metric, w->metric) == 0)
        v = have.v[j].v;
    if (v != w->v) {
      fprintf(stderr, "\n  %s %s %s: recount %lld, stored %lld", w->prefix, w->round,
              w->metric, (long long)w->v, (long long)v);
      diffs++;
    }
  }
  /* Nothing is stored that the recount does not want (zeros are removed). */
  for (size_t j = 0; j < have.n; j++) {
    const centry *h = &have.v[j];
    int64_t v = 0;
    for (size_t i = 0; i < r.want.n; i++)
      if (strcmp(r.want.v[i].prefix, h->prefix) == 0 && strcmp(r.want.v[i].round, h->round) == 0 &&
          strcmp(r.want.v[i].metric, h->metric) == 0)
        v = r.want.v[i].v;
    if (v != h->v || h->v == 0) {
      fprintf(stderr, "\n  %s %s %s: stored %lld, recount %lld", h->prefix, h->round,
              h->metric, (long long)h->v, (long long)v);
      diffs++;
    }
  }
  if (records != NULL) *records = r.records;
  free(r.want.v);
  free(have.v);
  return diffs;
}

/* ---------------------------------------------------------- the jobs */

typedef enum op {
  OP_GATE,          /* holds the writer until `hold_until` writes are queued */
  OP_CREATE,        /* creates the finding of `region`, `round`, `variant` */
  OP_UPDATE,        /* updates finding `id` (read before) by `variant` */
  OP_CREATE_UPDATE, /* creates a finding, then updates it, in one job */
  OP_FAIL,          /* creates a finding, updates finding `id`, then fails */
  OP_LEAD,          /* creates a lead */
  OP_GROUP,         /* creates a group */
  OP_MANY           /* creates `count` findings (fills the map) */
} op;

typedef struct job {
  xc_store *store;
  op op;
  size_t hold_until;
  atomic_int *started;
  const char *region;
  const char *round;
  int variant;
  int count;
  char id[XC_ID_MAX];
  char new_id[XC_ID_MAX];
  int calls;
  int result;
  xc_err err;
} job;

static char *tag_sets[3][3] = {{"四风", "三重一大", NULL}, {"假落实", NULL, NULL},
                               {"四风", "四风", "选人用人"}};

/* Variant MANY_TAGS has this many tags: more metrics than a delta list
 * holds without allocating. */
#define MANY_TAGS 1000
#define N_MANY_TAGS 24
static char many_tag_text[N_MANY_TAGS][16];
static char *many_tags[N_MANY_TAGS];

/* A finding of variant v (area, tags, deadline) in region and round. */
static ProtobufCMessage *new_finding(const char *region, const char *round, int v) {
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Rectification r = XUNCHA__V1__RECTIFICATION__INIT;
  char **tags = tag_sets[v % 3];
  if (v == MANY_TAGS) {
    for (int i = 0; i < N_MANY_TAGS; i++) {
      (void)snprintf(many_tag_text[i], sizeof many_tag_text[i], "标签%02d", i);
      many_tags[i] = many_tag_text[i];
    }
  }
  f.region_code = (char *)region;
  f.round_id = (char *)round;
  f.target_id = v % 2 ? TARGET_1 : TARGET_2;
  f.title = "问题";
  f.area = (Xuncha__V1__FindingArea)(1 + v % 3);
  f.tags = tags;
  f.n_tags = tags[2] != NULL ? 3 : tags[1] != NULL ? 2 : 1;
  if (v == MANY_TAGS) {
    f.tags = many_tags;
    f.n_tags = N_MANY_TAGS;
  }
  r.status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
  r.deadline = v % 2 ? "2024-06-30" : "2024-09-30";
  f.rectification = &r;
  return xc_msg_clone(&f.base);
}

/* Changes a stored finding by variant: verified with work remaining, new
 * tags; or voided. */
static int change_finding(ProtobufCMessage *rec, int v) {
  Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)rec;
  if (v % 2 == 0) {
    f->voided = 1;
    return XC_OK;
  }
  if (f->rectification == NULL || f->track == NULL) {
    /* A clone from new_finding has a rectification; the track is new. */
    Xuncha__V1__Finding t = XUNCHA__V1__FINDING__INIT;
    Xuncha__V1__RectificationTrack tr = XUNCHA__V1__RECTIFICATION_TRACK__INIT;
    Xuncha__V1__Finding *c;
    tr.work_remains = 1;
    tr.last_entry_date = "2024-05-01";
    t.track = &tr;
    c = (Xuncha__V1__Finding *)xc_msg_clone(&t.base);
    if (c == NULL) return XC_ERESOURCE_EXHAUSTED;
    f->track = c->track;
    c->track = NULL;
    xc_msg_free(&c->base);
  }
  if (f->rectification == NULL) return XC_EINTERNAL;
  f->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
  f->track->work_remains = 1;
  return XC_OK;
}

static int create_finding(xc_txn *txn, const char *region, const char *round, int v, char *id,
                          xc_err *err) {
  ProtobufCMessage *rec = new_finding(region, round, v);
  ProtobufCMessage *out = NULL;
  int rc;
  if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create(txn, XC_KIND_FINDING, rec, OWNER, AUTHOR, &out, err);
  if (rc == XC_OK && id != NULL) (void)snprintf(id, XC_ID_MAX, "%s", xc_msg_get_str(out, "id"));
  xc_msg_free(out);
  xc_msg_free(rec);
  return rc;
}

static int update_finding(xc_txn *txn, const char *id, int v, xc_err *err) {
  ProtobufCMessage *rec = NULL;
  int rc = xc_txn_get(txn, XC_KIND_FINDING, id, &rec, err);
  if (rc == XC_OK) rc = change_finding(rec, v);
  if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_FINDING, rec, AUTHOR, NULL, err);
  xc_msg_free(rec);
  return rc;
}

static int job_fn(xc_txn *txn, void *arg, xc_err *err) {
  job *j = arg;
  int rc = XC_OK;
  j->calls++;
  switch (j->op) {
    case OP_GATE:
      if (j->started != NULL) atomic_store(j->started, 1);
      /* Waiting for the queue, not for a time, makes the grouping certain
       * however slow the machine (bounded at 10 s). */
      for (int waited = 0; waited < 10000; waited++) {
        xc_store_stats st;
        xc_store_get_stats(j->store, &st);
        if (st.queued >= j->hold_until) break;
        xc_test_sleep_ms(1);
      }
      return XC_OK;
    case OP_CREATE:
      return create_finding(txn, j->region, j->round, j->variant, j->new_id, err);
    case OP_UPDATE:
      return update_finding(txn, j->id, j->variant, err);
    case OP_CREATE_UPDATE:
      rc = create_finding(txn, j->region, j->round, j->variant, j->new_id, err);
      if (rc == XC_OK) rc = update_finding(txn, j->new_id, j->variant + 1, err);
      return rc;
    case OP_FAIL:
      rc = create_finding(txn, j->region, j->round, j->variant, j->new_id, err);
      if (rc == XC_OK) rc = update_finding(txn, j->id, j->variant, err);
      if (rc == XC_OK) rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "this job refuses");
      return rc;
    case OP_LEAD: {
      Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
      Xuncha__V1__OutcomeCounts o = XUNCHA__V1__OUTCOME_COUNTS__INIT;
      ProtobufCMessage *rec;
      l.region_code = (char *)j->region;
      l.round_id = (char *)j->round;
      l.target_id = TARGET_1;
      l.summary = "线索";
      l.recipient = "agency:3101";
      l.transfer_date = "2024-04-02";
      o.sanctioned_persons = 2;
      o.party_sanctions = 1;
      o.government_sanctions = 2;
      l.outcomes = &o;
      rec = xc_msg_clone(&l.base);
      if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      rc = xc_txn_create(txn, XC_KIND_LEAD, rec, OWNER, AUTHOR, NULL, err);
      xc_msg_free(rec);
      return rc;
    }
    case OP_GROUP: {
      Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
      ProtobufCMessage *rec;
      g.region_code = (char *)j->region;
      g.round_id = (char *)j->round;
      g.name = "第一巡察组";
      rec = xc_msg_clone(&g.base);
      if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      rc = xc_txn_create(txn, XC_KIND_GROUP, rec, OWNER, AUTHOR, NULL, err);
      xc_msg_free(rec);
      return rc;
    }
    case OP_MANY:
      for (int i = 0; i < j->count && rc == XC_OK; i++)
        rc = create_finding(txn, j->region, j->round, j->variant + i, NULL, err);
      return rc;
  }
  return xc_err_set(err, XC_EINTERNAL, "unknown op");
}

static void *job_thread(void *arg) {
  job *j = arg;
  j->result = xc_store_write(j->store, job_fn, j, &j->err);
  return NULL;
}

/*
 * Runs jobs[0] (a gate) and then jobs[1..n) queued behind it, so that the
 * others run as one batch. Returns 0 when the gate saw them all queued.
 */
static int run_batch(xc_store *s, job *jobs, size_t n) {
  atomic_int started;
  pthread_t th[32];
  int waited = 0;
  if (n > 32) return -1;
  atomic_init(&started, 0);
  jobs[0].store = s;
  jobs[0].op = OP_GATE;
  jobs[0].hold_until = n - 1;
  jobs[0].started = &started;
  if (pthread_create(&th[0], NULL, job_thread, &jobs[0]) != 0) return -1;
  while (!atomic_load(&started) && waited < 5000) {
    xc_test_sleep_ms(1);
    waited++;
  }
  for (size_t i = 1; i < n; i++) {
    jobs[i].store = s;
    if (pthread_create(&th[i], NULL, job_thread, &jobs[i]) != 0) return -1;
  }
  for (size_t i = 0; i < n; i++) pthread_join(th[i], NULL);
  return atomic_load(&started) ? 0 : -1;
}

/* Runs one job alone; returns its result. */
static int run_one(xc_store *s, job *j) {
  j->store = s;
  return xc_store_write(s, job_fn, j, &j->err);
}

static const char *const all_prefixes[] = {
    "31",        "32",        "3101",         "3102",         "3201",        "310101",
    "310102",    "320102",    "310101001",    "310101002",    "310102001",   "320102003",
    "310101001001", "310101001002", "310101002001", "310102001001", "320102003004"};
#define N_PREFIXES (sizeof all_prefixes / sizeof all_prefixes[0])

/* ---------------------------------------------------------- the tests */

static void test_mixed_batch_recounts(void) {
  fixture fx;
  job pre[3];
  job jobs[13];
  xc_store_stats st0, st1;
  size_t records = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  /* Findings to update in the batch, committed before it. */
  memset(pre, 0, sizeof pre);
  for (int i = 0; i < 3; i++) {
    pre[i].op = OP_CREATE;
    pre[i].region = i == 2 ? "310102001001" : "310101001001";
    pre[i].round = ROUND_A;
    pre[i].variant = i;
    CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &pre[i]), XC_OK);
  }
  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, NULL), 0);
  xc_store_get_stats(fx.store, &st0);

  memset(jobs, 0, sizeof jobs);
  /* Creates whose counters share keys at the upper levels and differ below. */
  jobs[1].op = OP_CREATE, jobs[1].region = "310101001001", jobs[1].round = ROUND_A;
  jobs[1].variant = 0;
  jobs[2].op = OP_CREATE, jobs[2].region = "310101001002", jobs[2].round = ROUND_A;
  jobs[2].variant = 1;
  jobs[3].op = OP_CREATE, jobs[3].region = "310101002001", jobs[3].round = ROUND_A;
  jobs[3].variant = 2;
  jobs[4].op = OP_CREATE, jobs[4].region = "3101", jobs[4].round = ROUND_B;
  jobs[4].variant = 3;
  /* Updates of records committed before the batch: verify one, void one. */
  jobs[5].op = OP_UPDATE, jobs[5].variant = 1;
  (void)snprintf(jobs[5].id, sizeof jobs[5].id, "%s", pre[0].new_id);
  jobs[6].op = OP_UPDATE, jobs[6].variant = 0;
  (void)snprintf(jobs[6].id, sizeof jobs[6].id, "%s", pre[2].new_id);
  /* A failing job that created a finding of a region nobody else has and
   * changed another finding: none of it may count. */
  jobs[7].op = OP_FAIL, jobs[7].region = "320102003004", jobs[7].round = ROUND_A;
  jobs[7].variant = 1;
  (void)snprintf(jobs[7].id, sizeof jobs[7].id, "%s", pre[1].new_id);
  /* A record created and changed within one job; a lead and a group. */
  jobs[8].op = OP_CREATE_UPDATE, jobs[8].region = "310102001001", jobs[8].round = ROUND_B;
  jobs[8].variant = 0;
  jobs[9].op = OP_LEAD, jobs[9].region = "310101001002", jobs[9].round = ROUND_A;
  jobs[10].op = OP_GROUP, jobs[10].region = "310101", jobs[10].round = ROUND_A;
  /* A finding with more metrics than fit a delta list without allocating,
   * and changed in the same job (its old and new metrics merge). */
  jobs[12].op = OP_CREATE_UPDATE, jobs[12].region = "310101002001", jobs[12].round = ROUND_A;
  jobs[12].variant = MANY_TAGS;
  /* A second create identical in every counted field to jobs[1]. */
  jobs[11].op = OP_CREATE, jobs[11].region = "310101001001", jobs[11].round = ROUND_A;
  jobs[11].variant = 0;
  CU_ASSERT_EQUAL_FATAL(run_batch(fx.store, jobs, 13), 0);

  for (size_t i = 0; i < 13; i++) {
    if (i == 7) continue;
    if (jobs[i].result != XC_OK) fprintf(stderr, "\n  job %zu: %s", i, jobs[i].err.msg);
    CU_ASSERT_EQUAL(jobs[i].result, XC_OK);
  }
  CU_ASSERT_EQUAL(jobs[7].result, XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(jobs[7].err.msg, "this job refuses");
  /* The gate alone, then the other twelve in one commit (the failing job
   * made the batch run again, each job in a nested transaction). */
  xc_store_get_stats(fx.store, &st1);
  CU_ASSERT_EQUAL(st1.commits - st0.commits, 2);
  CU_ASSERT_EQUAL(st1.writes - st0.writes, 12);
  CU_ASSERT_EQUAL(jobs[7].calls, 2);

  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, &records), 0);
  /* 3 before, 5 creates + 2 create-updates, a lead and a group. */
  CU_ASSERT_EQUAL(records, 3 + 7 + 2);
  /* The failing job's region has no counter at all. */
  {
    xc_snapshot *snap = NULL;
    xc_err err;
    cmap m;
    got g = {&m, "32", ROUND_A};
    memset(&m, 0, sizeof m);
    CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_snapshot_counters(snap, "32", ROUND_A, got_visit, &g, &err), XC_OK);
    CU_ASSERT_EQUAL(m.n, 0);
    xc_snapshot_end(snap);
    free(m.v);
  }
  fx_done(&fx);
}

static void test_batch_without_failure(void) {
  fixture fx;
  job jobs[9];
  xc_store_stats st0, st1;
  size_t records = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  xc_store_get_stats(fx.store, &st0);
  memset(jobs, 0, sizeof jobs);
  for (int i = 1; i < 9; i++) {
    jobs[i].op = i == 8 ? OP_CREATE_UPDATE : OP_CREATE;
    jobs[i].region = i % 2 ? "310101001001" : "310102001001";
    jobs[i].round = i % 3 ? ROUND_A : ROUND_B;
    jobs[i].variant = i;
  }
  CU_ASSERT_EQUAL_FATAL(run_batch(fx.store, jobs, 9), 0);
  for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(jobs[i].result, XC_OK);
  xc_store_get_stats(fx.store, &st1);
  CU_ASSERT_EQUAL(st1.commits - st0.commits, 2);
  /* No job failed: each ran once, with no nested transactions. */
  for (int i = 1; i < 9; i++) CU_ASSERT_EQUAL(jobs[i].calls, 1);
  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, &records), 0);
  CU_ASSERT_EQUAL(records, 8);
  fx_done(&fx);
}

static void test_void_back_to_zero(void) {
  fixture fx;
  job c, u;
  xc_snapshot *snap = NULL;
  xc_err err;
  cmap m;
  got g = {&m, "320102003004", ROUND_A};

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  memset(&c, 0, sizeof c);
  memset(&u, 0, sizeof u);
  c.op = OP_CREATE;
  c.region = "320102003004";
  c.round = ROUND_A;
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &c), XC_OK);
  u.op = OP_UPDATE;
  u.variant = 0; /* void */
  (void)snprintf(u.id, sizeof u.id, "%s", c.new_id);
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &u), XC_OK);
  memset(&m, 0, sizeof m);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_counters(snap, "320102003004", ROUND_A, got_visit, &g, &err),
                  XC_OK);
  xc_snapshot_end(snap);
  CU_ASSERT_EQUAL(m.n, 0);
  free(m.v);
  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, NULL), 0);
  fx_done(&fx);
}

static void test_map_full_replay_counts_once(void) {
  fixture fx;
  job jobs[6];
  xc_store_stats st0, st1;
  size_t records = 0;

  /* A small map: the batch below does not fit, so it is aborted, the map
   * grown and the batch replayed (perhaps more than once). */
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 256 * 1024, 64 * 1024 * 1024), XC_OK);
  xc_store_get_stats(fx.store, &st0);
  memset(jobs, 0, sizeof jobs);
  for (int i = 1; i < 6; i++) {
    jobs[i].op = i == 3 ? OP_FAIL : OP_MANY;
    jobs[i].count = 150;
    jobs[i].region = i % 2 ? "310101001001" : "310101002001";
    jobs[i].round = ROUND_A;
    jobs[i].variant = i;
  }
  /* The failing job creates its findings, then fails updating a finding
   * that does not exist. */
  (void)snprintf(jobs[3].id, sizeof jobs[3].id, "f_00000000000000000000000000");
  CU_ASSERT_EQUAL_FATAL(run_batch(fx.store, jobs, 6), 0);
  for (int i = 0; i < 6; i++) {
    if (i == 3) continue;
    if (jobs[i].result != XC_OK) fprintf(stderr, "\n  job %d: %s", i, jobs[i].err.msg);
    CU_ASSERT_EQUAL(jobs[i].result, XC_OK);
  }
  CU_ASSERT_EQUAL(jobs[3].result, XC_ENOT_FOUND);
  xc_store_get_stats(fx.store, &st1);
  CU_ASSERT_TRUE(st1.map_growths > st0.map_growths);
  /* Replays ran the jobs more than once; each counts once. */
  {
    int calls = 0;
    for (int i = 1; i < 6; i++) calls += jobs[i].calls;
    CU_ASSERT_TRUE(calls > 5);
  }
  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, &records), 0);
  CU_ASSERT_EQUAL(records, 4 * 150);
  fx_done(&fx);
}

static void info(xc_store *s, xc_store_info *out) {
  xc_err err;
  memset(out, 0, sizeof *out);
  CU_ASSERT_EQUAL(xc_store_get_info(s, out, &err), XC_OK);
}

static void test_headroom(void) {
  const uint64_t mib = 1u << 20;
  fixture fx;
  job j[3];
  xc_store_info in;
  size_t records = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  memset(j, 0, sizeof j);
  for (int i = 0; i < 3; i++) {
    j[i].op = OP_CREATE;
    j[i].region = "310101001001";
    j[i].round = ROUND_A;
    j[i].variant = i;
  }
  /* The writer extends after answering a batch and before the next: after
   * the second write, the first extension is done. */
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &j[0]), XC_OK);
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &j[1]), XC_OK);
  info(fx.store, &in);
  /* A small store: 1 MiB ahead at most, and more than half of it. */
  CU_ASSERT_TRUE(in.file_bytes > in.used_bytes + mib / 2);
  CU_ASSERT_TRUE(in.file_bytes <= in.used_bytes + mib);
  CU_ASSERT_TRUE(in.file_bytes <= in.map_bytes);
  /* A store whose file is longer than its pages reopens intact and writes. */
  xc_store_close(fx.store);
  fx.store = NULL;
  {
    xc_store_options opt;
    xc_err err;
    memset(&opt, 0, sizeof opt);
    opt.dir = fx.dir;
    CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &fx.store, &err), XC_OK);
  }
  CU_ASSERT_EQUAL(run_one(fx.store, &j[2]), XC_OK);
  CU_ASSERT_EQUAL(counter_diffs(fx.store, all_prefixes, N_PREFIXES, &records), 0);
  CU_ASSERT_EQUAL(records, 3);
  fx_done(&fx);
}

static void test_headroom_within_map(void) {
  fixture fx;
  job j[2];
  xc_store_info in;

  /* A 256 KiB map: the 1 MiB of headroom would pass it, so the file stops
   * at the map. */
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 256 * 1024, 64 * 1024 * 1024), XC_OK);
  memset(j, 0, sizeof j);
  for (int i = 0; i < 2; i++) {
    j[i].op = OP_CREATE;
    j[i].region = "3101";
    j[i].round = ROUND_A;
  }
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &j[0]), XC_OK);
  CU_ASSERT_EQUAL_FATAL(run_one(fx.store, &j[1]), XC_OK);
  info(fx.store, &in);
  CU_ASSERT_EQUAL(in.map_bytes, 256 * 1024);
  CU_ASSERT_TRUE(in.file_bytes > in.used_bytes);
  CU_ASSERT_TRUE(in.file_bytes <= in.map_bytes);
  fx_done(&fx);
}

int main(void) {
  CU_pSuite s;
  int failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("counters under group commit", NULL, NULL);
  CU_add_test(s, "creates, updates and a failing job in one batch", test_mixed_batch_recounts);
  CU_add_test(s, "a batch with no failure runs once", test_batch_without_failure);
  CU_add_test(s, "a counter back at zero is removed", test_void_back_to_zero);
  CU_add_test(s, "a batch replayed after the map filled counts once",
              test_map_full_replay_counts_once);
  s = CU_add_suite("data file headroom", NULL, NULL);
  CU_add_test(s, "the file is kept ahead of the used pages", test_headroom);
  CU_add_test(s, "never past the map", test_headroom_within_map);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = (int)CU_get_number_of_failures();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
