/*
 * CUnit suites for the archive (server/ARCHIVE.md): the content storage of
 * storage/xc_store_blob.c (chunked uploads, deduplication by digest, abort,
 * the sweep of abandoned uploads at open) and the conflict-of-interest rule
 * of the inspector pool (xc_pool_conflict).
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xc_archive.h"
#include "xc_conf.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_test_fs.h"

static char dir[64];

static xc_store *open_store(void) {
  xc_store_options o;
  xc_store *s = NULL;
  xc_err err;
  memset(&o, 0, sizeof o);
  o.dir = dir;
  o.map_size = 1u << 20; /* small, so chunks make the map grow */
  if (xc_store_open(&o, &s, &err) != XC_OK) {
    fprintf(stderr, "open: %s\n", err.msg);
    return NULL;
  }
  return s;
}

typedef struct op {
  int what; /* 0 chunk, 1 finish, 2 abort */
  uint8_t id[XC_CONTENT_ID_LEN];
  uint32_t index;
  const uint8_t *data;
  size_t len;
  uint8_t digest[XC_DIGEST_LEN];
  uint64_t size;
  uint32_t chunks;
  xc_content_info info;
  int dedup;
} op;

static int op_fn(xc_txn *txn, void *c, xc_err *err) {
  op *o = c;
  if (o->what == 0) return xc_txn_upload_chunk(txn, o->id, o->index, o->data, o->len, err);
  if (o->what == 1)
    return xc_txn_upload_finish(txn, o->id, 1, o->digest, o->size, o->chunks, &o->info, &o->dedup,
                                err);
  return xc_txn_upload_abort(txn, o->id, err);
}

static int run(xc_store *s, op *o) {
  xc_err err;
  return xc_store_write(s, op_fn, o, &err);
}

/* Uploads n chunks of `len` bytes filled with `fill`+index under id. */
static int upload(xc_store *s, uint8_t idbyte, uint8_t fill, uint32_t n, size_t len, op *fin) {
  static uint8_t buf[XC_ARCHIVE_CHUNK_BYTES];
  for (uint32_t i = 0; i < n; i++) {
    op o;
    memset(&o, 0, sizeof o);
    memset(o.id, idbyte, sizeof o.id);
    memset(buf, fill + (int)i, len);
    o.index = i;
    o.data = buf;
    o.len = len;
    if (run(s, &o) != XC_OK) return -1;
  }
  memset(fin, 0, sizeof *fin);
  fin->what = 1;
  memset(fin->id, idbyte, sizeof fin->id);
  memset(fin->digest, fill, sizeof fin->digest); /* the store trusts the caller's digest */
  fin->size = (uint64_t)n * len;
  fin->chunks = n;
  return run(s, fin);
}

static uint64_t pending(xc_store *s) {
  xc_snapshot *snap = NULL;
  uint64_t n = 99;
  xc_err err;
  if (xc_snapshot_begin(s, &snap, &err) == XC_OK &&
      xc_snapshot_pending_uploads(snap, &n, &err) != XC_OK)
    n = 99;
  xc_snapshot_end(snap);
  return n;
}

static int count_visit(void *c, const xc_content_info *info) {
  (void)info;
  (*(int *)c)++;
  return 0;
}

static int contents(xc_store *s) {
  xc_snapshot *snap = NULL;
  int n = 0;
  xc_err err;
  if (xc_snapshot_begin(s, &snap, &err) != XC_OK ||
      xc_snapshot_contents(snap, NULL, count_visit, &n, &err) != XC_OK)
    n = -1;
  xc_snapshot_end(snap);
  return n;
}

/* Reads chunk index of content id: XC_OK with *len, or the error. */
static int chunk(xc_store *s, uint8_t idbyte, uint32_t index, uint8_t *buf, size_t *len) {
  xc_snapshot *snap = NULL;
  uint8_t id[XC_CONTENT_ID_LEN];
  xc_err err;
  int rc;
  memset(id, idbyte, sizeof id);
  rc = xc_snapshot_begin(s, &snap, &err);
  if (rc == XC_OK) rc = xc_snapshot_chunk(snap, id, index, buf, XC_ARCHIVE_CHUNK_BYTES, len, &err);
  xc_snapshot_end(snap);
  return rc;
}

static void test_upload_and_read(void) {
  static uint8_t buf[XC_ARCHIVE_CHUNK_BYTES];
  xc_store *s = open_store();
  op fin;
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  /* 12 chunks of 256 KiB: 3 MiB through a 1 MiB map, one chunk per write. */
  CU_ASSERT_EQUAL(upload(s, 1, 10, 12, XC_ARCHIVE_CHUNK_BYTES, &fin), XC_OK);
  CU_ASSERT_FALSE(fin.dedup);
  CU_ASSERT_EQUAL(fin.info.chunks, 12);
  CU_ASSERT_EQUAL(fin.info.size, 12u * XC_ARCHIVE_CHUNK_BYTES);
  CU_ASSERT_EQUAL(pending(s), 0);
  CU_ASSERT_EQUAL(contents(s), 1);
  CU_ASSERT_EQUAL(chunk(s, 1, 11, buf, &len), XC_OK);
  CU_ASSERT_EQUAL(len, XC_ARCHIVE_CHUNK_BYTES);
  CU_ASSERT_EQUAL(buf[0], 21);
  CU_ASSERT_EQUAL(chunk(s, 1, 12, buf, &len), XC_EDATA_LOSS);
  {
    xc_snapshot *snap = NULL;
    xc_content_info info;
    xc_err err;
    uint8_t d[XC_DIGEST_LEN];
    memset(d, 10, sizeof d);
    CU_ASSERT_EQUAL(xc_snapshot_begin(s, &snap, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_snapshot_content(snap, 1, d, &info, &err), XC_OK);
    CU_ASSERT_EQUAL(info.size, 12u * XC_ARCHIVE_CHUNK_BYTES);
    d[0] = 11;
    CU_ASSERT_EQUAL(xc_snapshot_content(snap, 1, d, &info, &err), XC_ENOT_FOUND);
    /* The same digest under another algorithm is another content. */
    d[0] = 10;
    CU_ASSERT_EQUAL(xc_snapshot_content(snap, 2, d, &info, &err), XC_ENOT_FOUND);
    xc_snapshot_end(snap);
  }
  xc_store_close(s);
}

static void test_duplicate_kept_once(void) {
  static uint8_t buf[XC_ARCHIVE_CHUNK_BYTES];
  xc_store *s = open_store();
  op a, b;
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(upload(s, 1, 10, 3, 1000, &a), XC_OK);
  CU_ASSERT_EQUAL(upload(s, 2, 10, 3, 1000, &b), XC_OK);
  CU_ASSERT_FALSE(a.dedup);
  CU_ASSERT_TRUE(b.dedup);
  /* The second upload's chunks are gone; the content names the first's. */
  CU_ASSERT_EQUAL(memcmp(b.info.content_id, a.info.content_id, XC_CONTENT_ID_LEN), 0);
  CU_ASSERT_EQUAL(chunk(s, 2, 0, buf, &len), XC_EDATA_LOSS);
  CU_ASSERT_EQUAL(chunk(s, 1, 0, buf, &len), XC_OK);
  CU_ASSERT_EQUAL(contents(s), 1);
  CU_ASSERT_EQUAL(pending(s), 0);
  /* Finishing an upload twice: it is no longer pending. */
  CU_ASSERT_EQUAL(run(s, &a), XC_EFAILED_PRECONDITION);
  xc_store_close(s);
}

static void test_abort_and_sweep(void) {
  static uint8_t buf[XC_ARCHIVE_CHUNK_BYTES];
  xc_store *s = open_store();
  op o;
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  memset(&o, 0, sizeof o);
  memset(o.id, 3, sizeof o.id);
  o.data = buf;
  o.len = 500;
  CU_ASSERT_EQUAL(run(s, &o), XC_OK);
  o.index = 1;
  CU_ASSERT_EQUAL(run(s, &o), XC_OK);
  CU_ASSERT_EQUAL(pending(s), 1);
  o.what = 2;
  CU_ASSERT_EQUAL(run(s, &o), XC_OK);
  CU_ASSERT_EQUAL(pending(s), 0);
  CU_ASSERT_EQUAL(chunk(s, 3, 0, buf, &len), XC_EDATA_LOSS);
  /* An upload left pending (a crash) is swept at the next open. */
  memset(&o, 0, sizeof o);
  memset(o.id, 4, sizeof o.id);
  o.data = buf;
  o.len = 500;
  CU_ASSERT_EQUAL(run(s, &o), XC_OK);
  CU_ASSERT_EQUAL(pending(s), 1);
  xc_store_close(s);
  s = open_store();
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(pending(s), 0);
  CU_ASSERT_EQUAL(chunk(s, 4, 0, buf, &len), XC_EDATA_LOSS);
  CU_ASSERT_EQUAL(contents(s), 0);
  xc_store_close(s);
}

/* ------------------------------------------------------------ conflicts */

static void test_conflict_rule(void) {
  Xuncha__V1__Inspector in = XUNCHA__V1__INSPECTOR__INIT;
  Xuncha__V1__WorkPeriod w1 = XUNCHA__V1__WORK_PERIOD__INIT, w2 = XUNCHA__V1__WORK_PERIOD__INIT;
  Xuncha__V1__WorkPeriod *ws[2] = {&w1, &w2};
  Xuncha__V1__Relationship r = XUNCHA__V1__RELATIONSHIP__INIT, *rs[1] = {&r};
  char why[160];
  const char *t = "t_01HZX3ABCDEFGHJKMNPQRSTVWX", *u = "t_01HZX3ABCDEFGHJKMNPQRSTVWY";
  in.n_work_history = 1;
  in.work_history = ws;
  w1.target_id = (char *)t;
  w1.from_date = "2015-01-01";
  /* The day that is exactly N years back still counts; the day before not. */
  w1.to_date = "2024-03-10";
  CU_ASSERT_TRUE(xc_pool_conflict(&in, t, NULL, "2027-03-10", 3, why, sizeof why));
  CU_ASSERT_PTR_NOT_NULL(strstr(why, "2024-03-10"));
  w1.to_date = "2024-03-09";
  CU_ASSERT_FALSE(xc_pool_conflict(&in, t, NULL, "2027-03-10", 3, why, sizeof why));
  CU_ASSERT_TRUE(xc_pool_conflict(&in, t, NULL, "2027-03-10", 5, why, sizeof why));
  /* Another target is no conflict; still working there always is. */
  CU_ASSERT_FALSE(xc_pool_conflict(&in, u, NULL, "2027-03-10", 5, why, sizeof why));
  w1.to_date = "";
  CU_ASSERT_TRUE(xc_pool_conflict(&in, t, NULL, "2040-01-01", 3, why, sizeof why));
  CU_ASSERT_PTR_NOT_NULL(strstr(why, "works there"));
  /* By unit name when the period names no target. */
  in.n_work_history = 2;
  w1.target_id = "";
  w1.unit = "市财政局";
  w1.to_date = "2026-12-31";
  w2.target_id = "";
  w2.unit = "市教育局";
  w2.to_date = "2000-01-01";
  CU_ASSERT_TRUE(xc_pool_conflict(&in, u, "市财政局", "2027-03-10", 3, why, sizeof why));
  CU_ASSERT_FALSE(xc_pool_conflict(&in, u, "市教育局", "2027-03-10", 3, why, sizeof why));
  CU_ASSERT_FALSE(xc_pool_conflict(&in, u, NULL, "2027-03-10", 3, why, sizeof why));
  /* 29 February counts back to the 28th of a year without one. */
  in.n_work_history = 1;
  w1.target_id = (char *)t;
  w1.to_date = "2025-02-28";
  CU_ASSERT_TRUE(xc_pool_conflict(&in, t, NULL, "2028-02-29", 3, why, sizeof why));
  /* A declared relationship is a conflict whatever the dates. */
  in.n_work_history = 0;
  in.n_relationships = 1;
  in.relationships = rs;
  r.target_id = (char *)u;
  r.relation = "配偶在该单位任职";
  CU_ASSERT_TRUE(xc_pool_conflict(&in, u, NULL, "2027-03-10", 3, why, sizeof why));
  CU_ASSERT_PTR_NOT_NULL(strstr(why, "配偶"));
  CU_ASSERT_FALSE(xc_pool_conflict(&in, t, NULL, "2027-03-10", 3, why, sizeof why));
}

static void test_conflict_years_setting(void) {
  xc_conf c;
  xc_err err;
  xc_conf_defaults(&c);
  CU_ASSERT_EQUAL(c.conflict_years, XC_POOL_DEFAULT_CONFLICT_YEARS);
  CU_ASSERT_EQUAL(xc_conf_set(&c, "pool", "conflict_years", "5", &err), XC_OK);
  CU_ASSERT_EQUAL(c.conflict_years, 5);
  CU_ASSERT_EQUAL(xc_conf_set(&c, "pool", "conflict_years", "0", &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_conf_set(&c, "pool", "conflict_years", "51", &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "conflict_years"));
  xc_pool_configure(5);
  CU_ASSERT_EQUAL(xc_pool_conflict_years(), 5);
  xc_pool_configure(0);
  CU_ASSERT_EQUAL(xc_pool_conflict_years(), XC_POOL_DEFAULT_CONFLICT_YEARS);
}

static int setup(void) {
  (void)snprintf(dir, sizeof dir, "/tmp/xc-archive-XXXXXX");
  return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void) {
  xc_test_rm_rf(dir);
  return 0;
}

/* Each storage test starts on an empty store. */
static void fresh(void) {
  xc_test_rm_rf(dir);
  (void)mkdir(dir, 0700);
}

#define FRESH(fn)          \
  static void fn##_f(void) { \
    fresh();               \
    fn();                  \
  }
FRESH(test_upload_and_read)
FRESH(test_duplicate_kept_once)
FRESH(test_abort_and_sweep)

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  s = CU_add_suite("archive", setup, teardown);
  if (s == NULL) return 2;
  CU_add_test(s, "chunks in, chunks out, map growth", test_upload_and_read_f);
  CU_add_test(s, "a duplicate content is kept once", test_duplicate_kept_once_f);
  CU_add_test(s, "abort, and the sweep at open", test_abort_and_sweep_f);
  CU_add_test(s, "conflict of interest rule", test_conflict_rule);
  CU_add_test(s, "the conflict_years setting", test_conflict_years_setting);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
