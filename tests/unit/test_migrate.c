/*
 * test_migrate: a store written in an older format is migrated in place when
 * opened (storage/xc_store_migrate.c), and a newer or unknown format is
 * refused untouched with a message saying what to run.
 *
 * The old store is made the way an older xunchad left it: a current store
 * is written, then rewritten through LMDB directly into format 0 (records
 * without their leading format byte, no meta last_seq, meta format 0).
 */
#include <CUnit/Basic.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xc_msg.h"
#include "xc_store.h"

#define OWNER "office:310104"
#define AUTHOR "office:310104#01"

static char g_dir[256];

/* Makes a fresh directory for a store. */
static void fresh_dir(void) {
  (void)snprintf(g_dir, sizeof g_dir, "%s/xc-migrate-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(g_dir));
}

static void rm_dir(void) {
  char path[400];
  (void)snprintf(path, sizeof path, "%s/data.mdb", g_dir);
  (void)unlink(path);
  (void)snprintf(path, sizeof path, "%s/lock.mdb", g_dir);
  (void)unlink(path);
  (void)rmdir(g_dir);
}

/* Writes n targets into a new store in g_dir; their ids go to ids. */
static void write_store(int n, char ids[][64]) {
  xc_store_options opt;
  xc_store *s = NULL;
  xc_err err;
  memset(&opt, 0, sizeof opt);
  opt.dir = g_dir;
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &s, &err), XC_OK);
  for (int i = 0; i < n; i++) {
    Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
    ProtobufCMessage *out = NULL;
    char name[32];
    (void)snprintf(name, sizeof name, "单位%d", i);
    t.region_code = "310104";
    t.name = name;
    t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
    CU_ASSERT_EQUAL_FATAL(
        xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, NULL, NULL, &out, &err),
        XC_OK);
    (void)snprintf(ids[i], 64, "%s", ((Xuncha__V1__Target *)out)->id);
    xc_msg_free(out);
  }
  xc_store_close(s);
}

/* Rewrites the store in g_dir as format 0 (see the top of this file), or
 * only sets meta format to `format` when strip is 0. Returns 0 or an LMDB
 * error. */
static int rewrite(unsigned char format, int strip) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta, target;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  MDB_val fk = {6, "format"};
  MDB_val fv = {1, &format};
  MDB_val lk = {8, "last_seq"};
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, 32);
  if (rc == 0) rc = mdb_env_open(env, g_dir, 0, 0600);
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == 0) rc = mdb_put(txn, meta, &fk, &fv, 0);
  if (rc == 0 && strip) {
    MDB_dbi log;
    rc = mdb_del(txn, meta, &lk, NULL);
    /* Format 0 kept no change log. */
    if (rc == 0) rc = mdb_dbi_open(txn, "changelog", 0, &log);
    if (rc == 0) rc = mdb_drop(txn, log, 0);
    if (rc == 0) rc = mdb_dbi_open(txn, "target", 0, &target);
    if (rc == 0) rc = mdb_cursor_open(txn, target, &cur);
    for (int g = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc; g == 0;
         g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      unsigned char buf[4096], kbuf[512];
      MDB_val nv, kv;
      if (v.mv_size < 1 || v.mv_size > sizeof buf || ((unsigned char *)v.mv_data)[0] != 1) {
        rc = MDB_CORRUPTED;
        break;
      }
      memcpy(buf, (unsigned char *)v.mv_data + 1, v.mv_size - 1);
      nv.mv_size = v.mv_size - 1;
      nv.mv_data = buf;
      /* k points into the page the put rewrites: copy it first. */
      if (k.mv_size > sizeof kbuf) {
        rc = MDB_BAD_VALSIZE;
        break;
      }
      memcpy(kbuf, k.mv_data, k.mv_size);
      kv.mv_size = k.mv_size;
      kv.mv_data = kbuf;
      rc = mdb_cursor_put(cur, &kv, &nv, MDB_CURRENT);
      if (rc != 0) break;
    }
    if (cur != NULL) mdb_cursor_close(cur);
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
  if (txn != NULL) mdb_txn_abort(txn);
  mdb_env_close(env);
  return rc;
}

/* Reads meta format back (-1 if absent). */
static int read_format(void) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta;
  MDB_val k = {6, "format"}, v;
  int format = -1;
  if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 32) == 0 &&
      mdb_env_open(env, g_dir, MDB_RDONLY, 0600) == 0 &&
      mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 && mdb_dbi_open(txn, "meta", 0, &meta) == 0 &&
      mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 1)
    format = ((unsigned char *)v.mv_data)[0];
  if (txn != NULL) mdb_txn_abort(txn);
  mdb_env_close(env);
  return format;
}

/* Drops the counter database and the date-index entries (index bytes 8-10)
 * and sets meta format 1: a store as format 1 left it. Returns 0 or an LMDB
 * error. */
static int make_format1(void) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta, counter, index;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  unsigned char one = 1;
  MDB_val fk = {6, "format"};
  MDB_val fv = {1, &one};
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, 32);
  if (rc == 0) rc = mdb_env_open(env, g_dir, 0, 0600);
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == 0) rc = mdb_put(txn, meta, &fk, &fv, 0);
  if (rc == 0) rc = mdb_dbi_open(txn, "counter", 0, &counter);
  if (rc == 0) rc = mdb_drop(txn, counter, 1);
  if (rc == 0) rc = mdb_dbi_open(txn, "index", 0, &index);
  if (rc == 0) rc = mdb_cursor_open(txn, index, &cur);
  for (int g = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc; g == 0;) {
    const unsigned char *p = k.mv_data;
    if (k.mv_size > 1 && p[1] >= 8 && p[1] <= 10) {
      rc = mdb_cursor_del(cur, 0);
      if (rc != 0) break;
      g = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
      if (g == EINVAL || g == MDB_NOTFOUND) g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  if (cur != NULL) mdb_cursor_close(cur);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
  if (txn != NULL) mdb_txn_abort(txn);
  mdb_env_close(env);
  return rc;
}

static int sum_visit(void *c, const char *metric, int64_t value) {
  if (strcmp(metric, "f") == 0) *(int64_t *)c += value;
  return 0;
}

/* A format 1 store (no counters, no date indexes) gains both at open,
 * rebuilt from its records. */
static void test_format1_counters_rebuilt(void) {
  xc_store_options opt;
  xc_store *s = NULL;
  xc_snapshot *snap = NULL;
  xc_err err;
  int64_t f = 0;
  uint64_t due = 0;
  fresh_dir();
  memset(&opt, 0, sizeof opt);
  opt.dir = g_dir;
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &s, &err), XC_OK);
  for (int i = 0; i < 5; i++) {
    Xuncha__V1__Finding fd = XUNCHA__V1__FINDING__INIT;
    Xuncha__V1__Rectification re = XUNCHA__V1__RECTIFICATION__INIT;
    ProtobufCMessage *out = NULL;
    fd.region_code = "310104";
    fd.round_id = "r_00000000000000000000000001";
    fd.target_id = "t_00000000000000000000000001";
    fd.title = "问题";
    fd.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_POLITICAL;
    re.status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
    re.deadline = i < 3 ? "2029-01-01" : "2031-01-01";
    fd.rectification = &re;
    CU_ASSERT_EQUAL_FATAL(xc_store_create(s, XC_KIND_FINDING, &fd.base, "office:310104", "a#1",
                                          "office:310104", NULL, NULL, &out, &err),
                          XC_OK);
    xc_msg_free(out);
  }
  xc_store_close(s);
  s = NULL;
  CU_ASSERT_EQUAL_FATAL(make_format1(), 0);
  CU_ASSERT_EQUAL(read_format(), 1);
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &s, &err), XC_OK);
  CU_ASSERT_EQUAL(read_format(), 2);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(s, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_counters(snap, "3101", "r_00000000000000000000000001", sum_visit, &f,
                                       &err),
                  XC_OK);
  CU_ASSERT_EQUAL(f, 5);
  CU_ASSERT_EQUAL(xc_snapshot_count_before(snap, XC_KIND_FINDING, XC_INDEX_DUE, "310104",
                                           "r_00000000000000000000000001", "2030-01-01", &due,
                                           &err),
                  XC_OK);
  CU_ASSERT_EQUAL(due, 3);
  xc_snapshot_end(snap);
  xc_store_close(s);
  rm_dir();
}

static void test_format0_migrated(void) {
  char ids[3][64];
  xc_store_options opt;
  xc_store *s = NULL;
  xc_snapshot *snap = NULL;
  xc_err err;
  fresh_dir();
  write_store(3, ids);
  CU_ASSERT_EQUAL_FATAL(rewrite(0, 1), 0);
  CU_ASSERT_EQUAL(read_format(), 0);

  memset(&opt, 0, sizeof opt);
  opt.dir = g_dir;
  CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &s, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_begin(s, &snap, &err), XC_OK);
  for (int i = 0; i < 3; i++) {
    ProtobufCMessage *rec = NULL;
    char name[32];
    (void)snprintf(name, sizeof name, "单位%d", i);
    CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, ids[i], &rec, &err), XC_OK);
    if (rec == NULL) fprintf(stderr, "\n  %s\n", err.msg);
    if (rec != NULL) CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)rec)->name, name);
    xc_msg_free(rec);
  }
  CU_ASSERT_EQUAL(xc_snapshot_last_change(snap), 0);
  xc_snapshot_end(snap);
  {
    xc_store_info info;
    CU_ASSERT_EQUAL(xc_store_get_info(s, &info, &err), XC_OK);
    CU_ASSERT_EQUAL(info.migrated, 1);
    CU_ASSERT_EQUAL(info.migrated_from, 0);
    CU_ASSERT_EQUAL(info.format, 2);
    CU_ASSERT_EQUAL(info.records[XC_KIND_TARGET], 3);
  }
  /* The migrated store takes writes, and its log starts afresh. */
  {
    char more[1][64];
    xc_store_close(s);
    s = NULL;
    write_store(1, more);
    CU_ASSERT_EQUAL_FATAL(xc_store_open(&opt, &s, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_snapshot_begin(s, &snap, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_snapshot_last_change(snap), 1);
    xc_snapshot_end(snap);
  }
  xc_store_close(s);
  CU_ASSERT_EQUAL(read_format(), 2);
  rm_dir();
}

static void test_newer_refused_untouched(void) {
  char ids[1][64];
  xc_store_options opt;
  xc_store *s = NULL;
  xc_err err;
  fresh_dir();
  write_store(1, ids);
  CU_ASSERT_EQUAL_FATAL(rewrite(200, 0), 0);
  memset(&opt, 0, sizeof opt);
  opt.dir = g_dir;
  CU_ASSERT_EQUAL(xc_store_open(&opt, &s, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NULL(s);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format 200"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "newer"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "apt-get install"));
  CU_ASSERT_EQUAL(read_format(), 200);
  rm_dir();
}

static void test_damaged_old_store_rolls_back(void) {
  char ids[2][64];
  xc_store_options opt;
  xc_store *s = NULL;
  xc_err err;
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta;
  MDB_val k = {6, "secret"};
  fresh_dir();
  write_store(2, ids);
  CU_ASSERT_EQUAL_FATAL(rewrite(0, 1), 0);
  /* A format-0 store without its secret cannot be opened: the migration
   * must not have been committed either. */
  CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
  CU_ASSERT_EQUAL(mdb_env_set_maxdbs(env, 32), 0);
  CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, g_dir, 0, 0600), 0);
  CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
  CU_ASSERT_EQUAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  CU_ASSERT_EQUAL(mdb_del(txn, meta, &k, NULL), 0);
  CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  memset(&opt, 0, sizeof opt);
  opt.dir = g_dir;
  CU_ASSERT_NOT_EQUAL(xc_store_open(&opt, &s, &err), XC_OK);
  CU_ASSERT_PTR_NULL(s);
  CU_ASSERT_EQUAL(read_format(), 0);
  rm_dir();
}

int main(void) {
  CU_pSuite suite;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  suite = CU_add_suite("migrate", NULL, NULL);
  CU_add_test(suite, "format 0 store is migrated in place", test_format0_migrated);
  CU_add_test(suite, "newer format refused untouched", test_newer_refused_untouched);
  CU_add_test(suite, "format 1 store gains counters and date indexes",
              test_format1_counters_rebuilt);
  CU_add_test(suite, "failed open leaves the old format", test_damaged_old_store_rolls_back);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
