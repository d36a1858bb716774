/*
 * Unit tests of xc_store_backup: what it refuses (and leaves untouched), a
 * copy that opens with every record, a copy taken while another thread
 * writes, and a caller with a suspender (xunchad's fibers) being suspended
 * and resumed from the copying thread.
 */
#define _XOPEN_SOURCE 700
#include <CUnit/Basic.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xc_msg.h"
#include "xc_store.h"

#define OWNER "office:310104"
#define AUTHOR "office:310104#01"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  (void)remove(p);
  return 0;
}

static void rm_rf(const char *dir) { (void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static xc_store *open_store(const char *dir) {
  xc_store_options so;
  xc_store *s = NULL;
  xc_err err;
  memset(&so, 0, sizeof so);
  so.dir = dir;
  if (xc_store_open(&so, &s, &err) != XC_OK) {
    fprintf(stderr, "open %s: %s\n", dir, err.msg);
    return NULL;
  }
  return s;
}

static int add_target(xc_store *s, int i) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  char name[64];
  xc_err err;
  int rc;
  (void)snprintf(name, sizeof name, "备份测试-%d", i);
  t.region_code = "310104";
  t.name = name;
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  rc = xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, NULL, NULL, &out, &err);
  xc_msg_free(out);
  return rc;
}

static uint64_t count_targets(xc_store *s) {
  xc_store_info info;
  xc_err err;
  if (xc_store_get_info(s, &info, &err) != XC_OK) return UINT64_MAX;
  return info.records[XC_KIND_TARGET];
}

static void test_refusals(void) {
  char dir[64] = "/tmp/xc-backup-XXXXXX", sub[128], file[160];
  xc_store *s;
  xc_err err;
  uint64_t bytes = 1;
  FILE *f;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  (void)snprintf(sub, sizeof sub, "%s/db", dir);
  s = open_store(sub);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(xc_store_backup(s, "relative", &bytes, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "absolute path"));
  CU_ASSERT_EQUAL(bytes, 0);
  (void)snprintf(sub, sizeof sub, "%s/missing", dir);
  CU_ASSERT_EQUAL(xc_store_backup(s, sub, NULL, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not exist"));
  (void)snprintf(sub, sizeof sub, "%s/db/data.mdb", dir);
  CU_ASSERT_EQUAL(xc_store_backup(s, sub, NULL, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a directory"));
  /* A directory holding anything is refused, and what it holds is kept. */
  (void)snprintf(sub, sizeof sub, "%s/full", dir);
  CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
  (void)snprintf(file, sizeof file, "%s/keep.txt", sub);
  f = fopen(file, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("keep", f);
  fclose(f);
  CU_ASSERT_EQUAL(xc_store_backup(s, sub, NULL, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not empty"));
  CU_ASSERT_EQUAL(access(file, F_OK), 0);
  (void)snprintf(file, sizeof file, "%s/data.mdb", sub);
  CU_ASSERT_NOT_EQUAL(access(file, F_OK), 0);
  xc_store_close(s);
  rm_rf(dir);
}

typedef struct writer_arg {
  xc_store *s;
  atomic_int stop;
  int n;
  int failed;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *w = p;
  while (!atomic_load(&w->stop) && w->n < 20000) {
    if (add_target(w->s, 100000 + w->n) != XC_OK) w->failed++;
    w->n++;
  }
  return NULL;
}

static void test_copy_under_writes(void) {
  char dir[64] = "/tmp/xc-backup-XXXXXX", db[128], bk[128];
  xc_store *s, *copy;
  xc_err err;
  uint64_t bytes = 0, at_start, in_copy;
  writer_arg w;
  pthread_t th;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  (void)snprintf(db, sizeof db, "%s/db", dir);
  (void)snprintf(bk, sizeof bk, "%s/bk", dir);
  CU_ASSERT_EQUAL_FATAL(mkdir(bk, 0700), 0);
  s = open_store(db);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  for (int i = 0; i < 200; i++) CU_ASSERT_EQUAL(add_target(s, i), XC_OK);
  memset(&w, 0, sizeof w);
  w.s = s;
  CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, writer_main, &w), 0);
  at_start = count_targets(s);
  CU_ASSERT_EQUAL(xc_store_backup(s, bk, &bytes, &err), XC_OK);
  atomic_store(&w.stop, 1);
  pthread_join(th, NULL);
  CU_ASSERT_EQUAL(w.failed, 0);
  CU_ASSERT_TRUE(bytes > 0);
  copy = open_store(bk);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  in_copy = count_targets(copy);
  /* Everything there when the backup began; nothing after the last write. */
  CU_ASSERT_TRUE(in_copy >= at_start);
  CU_ASSERT_TRUE(in_copy <= count_targets(s));
  xc_store_close(copy);
  xc_store_close(s);
  rm_rf(dir);
}

/* A suspender like xunchad's, with threads standing in for fibers: the
 * "task" is a flag the caller waits on. */
typedef struct fake_task {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int resumed;
  int suspended;
  pthread_t resumer;
} fake_task;

static fake_task the_task = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void *sus_current(void *arg) {
  (void)arg;
  return &the_task;
}

static void sus_suspend(void *arg, void *task) {
  fake_task *t = task;
  (void)arg;
  pthread_mutex_lock(&t->mu);
  t->suspended++;
  while (!t->resumed) pthread_cond_wait(&t->cv, &t->mu);
  pthread_mutex_unlock(&t->mu);
}

static void sus_resume(void *arg, void *task) {
  fake_task *t = task;
  (void)arg;
  pthread_mutex_lock(&t->mu);
  t->resumed++;
  t->resumer = pthread_self();
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

static void test_suspended_caller(void) {
  char dir[64] = "/tmp/xc-backup-XXXXXX", db[128], bk[128];
  xc_store *s, *copy;
  xc_store_suspender sus = {sus_current, sus_suspend, sus_resume, NULL};
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
  (void)snprintf(db, sizeof db, "%s/db", dir);
  (void)snprintf(bk, sizeof bk, "%s/bk", dir);
  CU_ASSERT_EQUAL_FATAL(mkdir(bk, 0700), 0);
  s = open_store(db);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  for (int i = 0; i < 50; i++) CU_ASSERT_EQUAL(add_target(s, i), XC_OK);
  xc_store_set_suspender(s, &sus);
  CU_ASSERT_EQUAL(xc_store_backup(s, bk, NULL, &err), XC_OK);
  xc_store_set_suspender(s, NULL);
  /* Suspended once, resumed once, from another thread than the caller's. */
  CU_ASSERT_EQUAL(the_task.suspended, 1);
  CU_ASSERT_EQUAL(the_task.resumed, 1);
  CU_ASSERT_FALSE(pthread_equal(the_task.resumer, pthread_self()));
  copy = open_store(bk);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  CU_ASSERT_EQUAL(count_targets(copy), 50);
  xc_store_close(copy);
  xc_store_close(s);
  rm_rf(dir);
}

int main(void) {
  CU_pSuite suite;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  suite = CU_add_suite("backup", NULL, NULL);
  if (suite == NULL ||
      CU_add_test(suite, "refusals touch nothing", test_refusals) == NULL ||
      CU_add_test(suite, "a copy while another thread writes", test_copy_under_writes) == NULL ||
      CU_add_test(suite, "a suspended caller is resumed", test_suspended_caller) == NULL) {
    CU_cleanup_registry();
    return 2;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed != 0 ? 1 : 0;
}
