/*
 * CUnit suite for group commit (storage/xc_store.c) and the fibers the server
 * runs calls on (server/xc_fiber.c). Correctness only, not speed:
 *
 *  - under concurrent load, fewer commits than acknowledged writes, and every
 *    acknowledged write is visible;
 *  - a write that fails in a group is rolled back alone: the others of its
 *    group commit;
 *  - the suspender path (how xunchad waits for writes without blocking its
 *    thread) resumes each task exactly once, only after its write is durable
 *    and its result set;
 *  - fibers: yield, wake before and after the yield, from another thread.
 *
 * To make groups certain rather than likely, a "gate" write holds the
 * writer busy while the writes under test queue up behind it; they then run
 * as one batch. CUnit is not thread-safe, so threads only record what
 * happened and the test thread asserts.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xc_fiber.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_test_fs.h"

#define OWNER "office:3101"
#define AUTHOR "office:3101#01"
#define N_THREADS 16
#define WRITES_PER_THREAD 25

/* ------------------------------------------------------------- helpers */

typedef struct fixture {
  char dir[64];
  xc_store *store;
} fixture;

static int fx_open(fixture *fx) {
  xc_store_options opt;
  xc_err err;
  (void)snprintf(fx->dir, sizeof fx->dir, "/tmp/xc-group-XXXXXX");
  fx->store = NULL;
  if (mkdtemp(fx->dir) == NULL) return -1;
  memset(&opt, 0, sizeof opt);
  opt.dir = fx->dir;
  return xc_store_open(&opt, &fx->store, &err);
}

static void fx_close(fixture *fx) {
  xc_store_close(fx->store);
  xc_test_rm_rf(fx->dir);
}

/* A finding record (heap-owned: xc_txn_create sets fields of it). */
static ProtobufCMessage *new_finding(int n) {
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  char title[64];
  (void)snprintf(title, sizeof title, "问题 %d", n);
  f.region_code = "3101";
  f.round_id = "r_01HZZZZZZZZZZZZZZZZZZZZZZZ";
  f.target_id = "t_01HZZZZZZZZZZZZZZZZZZZZZZZ";
  f.title = title;
  f.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_POLITICAL;
  return xc_msg_clone(&f.base);
}

/* Returns 1 if record `id` of kind finding is visible in a new snapshot. */
static int visible(xc_store *s, const char *id) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL;
  xc_err err;
  int ok = xc_snapshot_begin(s, &snap, &err) == XC_OK &&
           xc_snapshot_get(snap, XC_KIND_FINDING, id, &rec, &err) == XC_OK;
  xc_msg_free(rec);
  xc_snapshot_end(snap);
  return ok;
}

/* ------------------------------------------------------------ the gate */

/* A write that signals it runs, then holds the writer until `hold_until`
 * writes wait behind it (bounded at 10 s): waiting for the queue rather
 * than for a time makes the grouping certain on a slow, shared machine. */
typedef struct gate {
  sem_t started;
  xc_store *store;
  size_t hold_until;
} gate;

static int gate_fn(xc_txn *txn, void *arg, xc_err *err) {
  gate *g = arg;
  (void)txn;
  (void)err;
  (void)sem_post(&g->started);
  for (int waited = 0; waited < 10000; waited++) {
    xc_store_stats st;
    xc_store_get_stats(g->store, &st);
    if (st.queued >= g->hold_until) break;
    xc_test_sleep_ms(1);
  }
  return XC_OK;
}

typedef struct gate_run {
  xc_store *store;
  gate *g;
  int rc;
} gate_run;

static void *gate_thread(void *arg) {
  gate_run *r = arg;
  xc_err err;
  r->rc = xc_store_write(r->store, gate_fn, r->g, &err);
  return NULL;
}

/* ------------------------------------------------- concurrent creates */

/* One write: creates a finding and keeps its id; fail != 0 creates the
 * record and then fails, so its changes must be rolled back. */
typedef struct create_job {
  int n;
  int fail;
  char id[64];
} create_job;

static int create_fn(xc_txn *txn, void *arg, xc_err *err) {
  create_job *j = arg;
  ProtobufCMessage *rec = new_finding(j->n), *out = NULL;
  int rc;
  j->id[0] = '\0';
  if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create(txn, XC_KIND_FINDING, rec, OWNER, AUTHOR, &out, err);
  if (rc == XC_OK) {
    (void)snprintf(j->id, sizeof j->id, "%s", xc_msg_get_str(out, "id"));
    if (j->fail) rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "this write fails on purpose");
  }
  xc_msg_free(out);
  xc_msg_free(rec);
  return rc;
}

typedef struct writer_run {
  xc_store *store;
  pthread_barrier_t *start;
  int count; /* writes to make; 0: WRITES_PER_THREAD */
  create_job jobs[WRITES_PER_THREAD];
  int rc[WRITES_PER_THREAD];
} writer_run;

static void *writer_thread(void *arg) {
  writer_run *w = arg;
  int n = w->count ? w->count : WRITES_PER_THREAD;
  (void)pthread_barrier_wait(w->start);
  for (int i = 0; i < n; i++) {
    xc_err err;
    w->rc[i] = xc_store_write(w->store, create_fn, &w->jobs[i], &err);
  }
  return NULL;
}

/* Sixteen threads write at once: every write is acknowledged and visible,
 * and they took fewer commits than writes. */
static void test_concurrent_writes_share_commits(void) {
  fixture fx;
  static writer_run runs[N_THREADS];
  pthread_t th[N_THREADS];
  pthread_barrier_t start;
  xc_store_stats before, after;
  int acked = 0, seen = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx), XC_OK);
  xc_store_get_stats(fx.store, &before);
  CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start, NULL, N_THREADS), 0);
  for (int t = 0; t < N_THREADS; t++) {
    memset(&runs[t], 0, sizeof runs[t]);
    runs[t].store = fx.store;
    runs[t].start = &start;
    for (int i = 0; i < WRITES_PER_THREAD; i++) runs[t].jobs[i].n = t * 1000 + i;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, writer_thread, &runs[t]), 0);
  }
  for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
  pthread_barrier_destroy(&start);
  xc_store_get_stats(fx.store, &after);

  for (int t = 0; t < N_THREADS; t++)
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
      if (runs[t].rc[i] == XC_OK) acked++;
      if (runs[t].rc[i] == XC_OK && visible(fx.store, runs[t].jobs[i].id)) seen++;
    }
  CU_ASSERT_EQUAL(acked, N_THREADS * WRITES_PER_THREAD);
  CU_ASSERT_EQUAL(seen, acked);
  CU_ASSERT_EQUAL(after.writes - before.writes, (uint64_t)acked);
  CU_ASSERT(after.commits - before.commits < (uint64_t)acked);
  fx_close(&fx);
}

/* Writes queued behind a busy writer share one commit, and every one of
 * them is visible afterwards. */
static void test_queued_writes_one_commit(void) {
  fixture fx;
  gate g;
  gate_run gr;
  pthread_t gt, th[N_THREADS];
  static writer_run runs[N_THREADS];
  pthread_barrier_t start;
  xc_store_stats before, after;
  int seen = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx), XC_OK);
  CU_ASSERT_EQUAL_FATAL(sem_init(&g.started, 0, 0), 0);
  g.store = fx.store;
  g.hold_until = N_THREADS;
  gr.store = fx.store;
  gr.g = &g;
  CU_ASSERT_EQUAL_FATAL(pthread_create(&gt, NULL, gate_thread, &gr), 0);
  (void)sem_wait(&g.started); /* the writer is busy from here on */
  xc_store_get_stats(fx.store, &before);
  CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start, NULL, N_THREADS), 0);
  for (int t = 0; t < N_THREADS; t++) {
    memset(&runs[t], 0, sizeof runs[t]);
    runs[t].store = fx.store;
    runs[t].start = &start;
    runs[t].jobs[0].n = t;
    runs[t].count = 1;
  }
  /* One write per thread, all queued behind the gate. */
  for (int t = 0; t < N_THREADS; t++) {
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, writer_thread, &runs[t]), 0);
  }
  for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
  pthread_join(gt, NULL);
  xc_store_get_stats(fx.store, &after);
  CU_ASSERT_EQUAL(gr.rc, XC_OK);
  for (int t = 0; t < N_THREADS; t++) {
    CU_ASSERT_EQUAL(runs[t].rc[0], XC_OK);
    if (visible(fx.store, runs[t].jobs[0].id)) seen++;
  }
  CU_ASSERT_EQUAL(seen, N_THREADS);
  /* The gate's own commit, then one for all sixteen. */
  CU_ASSERT_EQUAL(after.writes - before.writes, N_THREADS + 1);
  CU_ASSERT_EQUAL(after.commits - before.commits, 2);
  (void)sem_destroy(&g.started);
  fx_close(&fx);
}

/* ------------------------------------------- a failing write in a group */

typedef struct one_write {
  xc_store *store;
  create_job job;
  int rc;
  char msg[sizeof(((xc_err *)0)->msg)];
} one_write;

static void *one_write_thread(void *arg) {
  one_write *w = arg;
  xc_err err;
  w->rc = xc_store_write(w->store, create_fn, &w->job, &err);
  (void)snprintf(w->msg, sizeof w->msg, "%s", w->rc == XC_OK ? "" : err.msg);
  return NULL;
}

/* good, bad, good queued behind the gate run as one group: the bad one
 * fails alone, its record is rolled back, the good ones commit together. */
static void test_bad_write_fails_alone(void) {
  fixture fx;
  gate g;
  gate_run gr;
  pthread_t gt, th[3];
  one_write w[3];
  xc_store_stats before, after;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx), XC_OK);
  CU_ASSERT_EQUAL_FATAL(sem_init(&g.started, 0, 0), 0);
  g.store = fx.store;
  g.hold_until = 3;
  gr.store = fx.store;
  gr.g = &g;
  CU_ASSERT_EQUAL_FATAL(pthread_create(&gt, NULL, gate_thread, &gr), 0);
  (void)sem_wait(&g.started);
  xc_store_get_stats(fx.store, &before);
  for (int i = 0; i < 3; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].store = fx.store;
    w[i].job.n = i;
    w[i].job.fail = i == 1;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, one_write_thread, &w[i]), 0);
  }
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  pthread_join(gt, NULL);
  xc_store_get_stats(fx.store, &after);

  CU_ASSERT_EQUAL(w[0].rc, XC_OK);
  CU_ASSERT_EQUAL(w[1].rc, XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(w[1].msg, "fails on purpose"));
  CU_ASSERT_EQUAL(w[2].rc, XC_OK);
  CU_ASSERT(visible(fx.store, w[0].job.id));
  CU_ASSERT(visible(fx.store, w[2].job.id));
  /* The bad write got as far as creating its record; it must be gone. */
  CU_ASSERT(w[1].job.id[0] != '\0');
  CU_ASSERT(!visible(fx.store, w[1].job.id));
  /* The gate's commit, then one for the group of three. */
  CU_ASSERT_EQUAL(after.writes - before.writes, 3);
  CU_ASSERT_EQUAL(after.commits - before.commits, 2);
  (void)sem_destroy(&g.started);
  fx_close(&fx);
}

/* ------------------------------------------------------ the suspender */

/* A fake "task runner": threads that carry a task token suspend on a
 * semaphore, which the writer's resume call posts. */
typedef struct task {
  sem_t wake;
  atomic_int resumed; /* times resume was called */
  atomic_int suspended;
  int resumed_before_return; /* resume had happened when suspend returned */
} task;

static _Thread_local task *tls_task;

static void *sus_current(void *arg) {
  (void)arg;
  return tls_task;
}

static void sus_suspend(void *arg, void *t) {
  task *k = t;
  (void)arg;
  atomic_fetch_add(&k->suspended, 1);
  (void)sem_wait(&k->wake);
  k->resumed_before_return = atomic_load(&k->resumed) == 1;
}

static void sus_resume(void *arg, void *t) {
  task *k = t;
  (void)arg;
  atomic_fetch_add(&k->resumed, 1);
  (void)sem_post(&k->wake);
}

typedef struct task_run {
  xc_store *store;
  task t;
  create_job job;
  int rc;
} task_run;

static void *task_thread(void *arg) {
  task_run *r = arg;
  xc_err err;
  tls_task = &r->t;
  r->rc = xc_store_write(r->store, create_fn, &r->job, &err);
  tls_task = NULL;
  return NULL;
}

/* Suspended writers are resumed exactly once, after their writes are
 * durable; writers without a task still block as before, in the same
 * groups. */
static void test_suspender_resumes_once(void) {
  fixture fx;
  gate g;
  gate_run gr;
  xc_store_suspender sus = {sus_current, sus_suspend, sus_resume, NULL};
  static task_run runs[8];
  pthread_t th[8], gt;
  xc_store_stats before, after;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx), XC_OK);
  xc_store_set_suspender(fx.store, &sus);
  CU_ASSERT_EQUAL_FATAL(sem_init(&g.started, 0, 0), 0);
  g.store = fx.store;
  g.hold_until = 8;
  gr.store = fx.store;
  gr.g = &g;
  /* The gate's thread has no task: it blocks as a plain caller. */
  CU_ASSERT_EQUAL_FATAL(pthread_create(&gt, NULL, gate_thread, &gr), 0);
  (void)sem_wait(&g.started);
  xc_store_get_stats(fx.store, &before);
  for (int i = 0; i < 8; i++) {
    memset(&runs[i], 0, sizeof runs[i]);
    runs[i].store = fx.store;
    runs[i].job.n = i;
    runs[i].job.fail = i == 3;
    CU_ASSERT_EQUAL_FATAL(sem_init(&runs[i].t.wake, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, task_thread, &runs[i]), 0);
  }
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  pthread_join(gt, NULL);
  xc_store_get_stats(fx.store, &after);
  xc_store_set_suspender(fx.store, NULL);
  CU_ASSERT_EQUAL(gr.rc, XC_OK);
  for (int i = 0; i < 8; i++) {
    CU_ASSERT_EQUAL(atomic_load(&runs[i].t.suspended), 1);
    CU_ASSERT_EQUAL(atomic_load(&runs[i].t.resumed), 1);
    CU_ASSERT(runs[i].t.resumed_before_return);
    if (i == 3) {
      CU_ASSERT_EQUAL(runs[i].rc, XC_EINVALID_ARGUMENT);
      CU_ASSERT(!visible(fx.store, runs[i].job.id));
    } else {
      CU_ASSERT_EQUAL(runs[i].rc, XC_OK);
      CU_ASSERT(visible(fx.store, runs[i].job.id));
    }
    (void)sem_destroy(&runs[i].t.wake);
  }
  /* The gate's write and the seven good ones; the eight task writes
   * queued behind the gate share a commit. */
  CU_ASSERT_EQUAL(after.writes - before.writes, 8);
  CU_ASSERT_EQUAL(after.commits - before.commits, 2);
  (void)sem_destroy(&g.started);
  fx_close(&fx);
}

/* ------------------------------------------------------------- fibers */

typedef struct fiber_state {
  int steps;
  int yields;
} fiber_state;

static void fiber_body(void *arg) {
  fiber_state *st = arg;
  st->steps++;
  for (int i = 0; i < st->yields; i++) {
    xc_fiber_yield();
    st->steps++;
  }
}

/* A fiber yields and is woken after its yield: it resumes where it left
 * off, and the pooled fiber can run again. */
static void test_fiber_yield_wake(void) {
  xc_fiber *f = xc_fiber_create(0);
  fiber_state st = {0, 2};
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT_PTR_NULL(xc_fiber_current());
  CU_ASSERT_EQUAL(xc_fiber_run(f, fiber_body, &st), 0);
  CU_ASSERT_EQUAL(st.steps, 1);
  CU_ASSERT_PTR_EQUAL(xc_fiber_arg(f), &st);
  CU_ASSERT_EQUAL(xc_fiber_wake(f), 1);
  CU_ASSERT_EQUAL(xc_fiber_resume(f), 0);
  CU_ASSERT_EQUAL(st.steps, 2);
  CU_ASSERT_EQUAL(xc_fiber_wake(f), 1);
  CU_ASSERT_EQUAL(xc_fiber_resume(f), 1);
  CU_ASSERT_EQUAL(st.steps, 3);
  /* Reused for another function. */
  st.steps = 0;
  st.yields = 0;
  CU_ASSERT_EQUAL(xc_fiber_run(f, fiber_body, &st), 1);
  CU_ASSERT_EQUAL(st.steps, 1);
  xc_fiber_destroy(f);
}

/* A wake that comes before the yield completes (the writer finished first)
 * lets the fiber carry straight on. */
static void early_body(void *arg) {
  xc_fiber *self = xc_fiber_current();
  int *done = arg;
  /* Woken "from another thread" before yielding: wake returns 0. */
  *done = xc_fiber_wake(self) == 0 ? 1 : -1;
  xc_fiber_yield();
  *done = *done == 1 ? 2 : -1;
}

static void test_fiber_early_wake(void) {
  xc_fiber *f = xc_fiber_create(0);
  int done = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT_EQUAL(xc_fiber_run(f, early_body, &done), 1);
  CU_ASSERT_EQUAL(done, 2);
  xc_fiber_destroy(f);
}

/* Many fibers suspended at once, woken from another thread in reverse
 * order, resumed by this one: each finishes exactly once. */
typedef struct many {
  xc_fiber *f[64];
  fiber_state st[64];
  atomic_int to_resume[64];
} many;

static void *waker_thread(void *arg) {
  many *m = arg;
  for (int i = 63; i >= 0; i--)
    if (xc_fiber_wake(m->f[i])) atomic_store(&m->to_resume[i], 1);
  return NULL;
}

static void test_fiber_many(void) {
  static many m;
  pthread_t w;
  int finished = 0;
  memset(&m, 0, sizeof m);
  for (int i = 0; i < 64; i++) {
    m.f[i] = xc_fiber_create(64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.f[i]);
    m.st[i].yields = 1;
    CU_ASSERT_EQUAL(xc_fiber_run(m.f[i], fiber_body, &m.st[i]), 0);
  }
  CU_ASSERT_EQUAL_FATAL(pthread_create(&w, NULL, waker_thread, &m), 0);
  pthread_join(w, NULL);
  for (int i = 0; i < 64; i++) {
    CU_ASSERT_EQUAL(atomic_load(&m.to_resume[i]), 1);
    if (atomic_load(&m.to_resume[i])) finished += xc_fiber_resume(m.f[i]);
    CU_ASSERT_EQUAL(m.st[i].steps, 2);
    xc_fiber_destroy(m.f[i]);
  }
  CU_ASSERT_EQUAL(finished, 64);
}

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("group commit", NULL, NULL);
  CU_add_test(s, "concurrent writes share commits", test_concurrent_writes_share_commits);
  CU_add_test(s, "queued writes commit together", test_queued_writes_one_commit);
  CU_add_test(s, "a bad write in a group fails alone", test_bad_write_fails_alone);
  CU_add_test(s, "suspended writers resume once, after commit", test_suspender_resumes_once);
  s = CU_add_suite("fibers", NULL, NULL);
  CU_add_test(s, "yield and wake", test_fiber_yield_wake);
  CU_add_test(s, "wake before the yield completes", test_fiber_early_wake);
  CU_add_test(s, "many fibers woken from another thread", test_fiber_many);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
