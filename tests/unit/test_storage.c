/*
 * CUnit suites for storage/ (xc_store.h). Every test runs in its own
 * directory made with mkdtemp under /tmp and removed afterwards. CUnit is
 * not thread-safe, so threads only record what happened and the test
 * thread asserts on it.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
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
#include "xc_store_int.h"
#include "xc_test_fs.h"

#define OWNER "office:310104"
#define AUTHOR "office:310104#01"

/* ------------------------------------------------------------- helpers */

typedef struct fixture {
  char dir[64];
  xc_store *store;
} fixture;

/* Makes a fresh temp dir; 0 on success. */
static int fx_dir(fixture *fx) {
  (void)snprintf(fx->dir, sizeof fx->dir, "/tmp/xc-storage-XXXXXX");
  fx->store = NULL;
  return mkdtemp(fx->dir) != NULL ? 0 : -1;
}

static int fx_open_in(fixture *fx, const char *dir, size_t map_size, size_t map_max) {
  xc_store_options opt;
  xc_err err;
  int rc;
  memset(&opt, 0, sizeof opt);
  opt.dir = dir;
  opt.map_size = map_size;
  opt.map_max = map_max;
  rc = xc_store_open(&opt, &fx->store, &err);
  if (rc != XC_OK) fprintf(stderr, "open %s: %s\n", dir, err.msg);
  return rc;
}

/* Makes a temp dir and opens a store in it. */
static int fx_open(fixture *fx, size_t map_size, size_t map_max) {
  if (fx_dir(fx) != 0) return -1;
  return fx_open_in(fx, fx->dir, map_size, map_max);
}

static void fx_done(fixture *fx) {
  xc_store_close(fx->store);
  fx->store = NULL;
  xc_test_rm_rf(fx->dir);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates rec through xc_store_create and copies its id into id (may be
 * NULL). Returns the store's result. */
static int create_rec(xc_store *s, xc_kind kind, const ProtobufCMessage *rec, const char *owner,
                      char *id) {
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc = xc_store_create(s, kind, rec, owner, AUTHOR, owner, NULL, NULL, &out, &err);
  if (rc == XC_OK && id != NULL) (void)snprintf(id, XC_ID_MAX, "%s", xc_msg_get_str(out, "id"));
  if (rc != XC_OK) fprintf(stderr, "create: %s\n", err.msg);
  xc_msg_free(out);
  return rc;
}

static int create_target(xc_store *s, const char *region, const char *owner, const char *name,
                         char *id) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  t.region_code = (char *)region;
  t.name = (char *)name;
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_TOWNSHIP;
  return create_rec(s, XC_KIND_TARGET, &t.base, owner, id);
}

/* Loads a record; NULL if it is not there. */
static ProtobufCMessage *get_rec(xc_store *s, xc_kind kind, const char *id, int *rc_out) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL;
  xc_err err;
  int rc = xc_snapshot_begin(s, &snap, &err);
  if (rc == XC_OK) rc = xc_snapshot_get(snap, kind, id, &rec, &err);
  xc_snapshot_end(snap);
  if (rc_out != NULL) *rc_out = rc;
  return rec;
}

/* Returns 1 if two records pack to the same bytes. */
static int same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t la = 0;
  size_t lb = 0;
  uint8_t *pa = xc_msg_pack(a, 0, &la);
  uint8_t *pb = xc_msg_pack(b, 0, &lb);
  int same = pa != NULL && pb != NULL && la == lb && memcmp(pa, pb, la) == 0;
  free(pa);
  free(pb);
  return same;
}

/* Ids collected by a scan, in visit order. */
#define MAX_IDS 64
typedef struct idlist {
  size_t n;         /* records visited */
  size_t stop_after; /* 0: never stop */
  int fail_with;    /* visit returns this at the first record if negative */
  char id[MAX_IDS][XC_ID_MAX];
} idlist;

static int collect(void *ctx, ProtobufCMessage *rec) {
  idlist *l = ctx;
  if (l->n < MAX_IDS) (void)snprintf(l->id[l->n], XC_ID_MAX, "%s", xc_msg_get_str(rec, "id"));
  l->n++;
  xc_msg_free(rec);
  if (l->fail_with < 0) return l->fail_with;
  return (l->stop_after != 0 && l->n == l->stop_after) ? 1 : 0;
}

/* Scans into l; returns the scan's result. */
static int scan(xc_store *s, xc_kind kind, xc_index index, const char *key, const char *after,
                idlist *l) {
  xc_snapshot *snap = NULL;
  xc_err err;
  int rc = xc_snapshot_begin(s, &snap, &err);
  l->n = 0;
  if (rc == XC_OK) rc = xc_snapshot_scan(snap, kind, index, key, after, collect, l, &err);
  xc_snapshot_end(snap);
  return rc;
}

/* What a raw scan saw: ids, and whether each record's bytes were those
 * its unpacked form packs to. */
typedef struct rawlist {
  idlist ids;
  xc_kind kind;
  int bad_bytes;
} rawlist;

static int collect_raw(void *ctx, const char *id, size_t id_len, const uint8_t *rec, size_t len) {
  rawlist *l = ctx;
  ProtobufCMessage *m = protobuf_c_message_unpack(xc_kind_descriptor(l->kind), NULL, len, rec);
  size_t plen = 0;
  uint8_t *packed = m != NULL ? xc_msg_pack(m, 0, &plen) : NULL;
  if (packed == NULL || plen != len || memcmp(packed, rec, len) != 0 ||
      strlen(xc_msg_get_str(m, "id")) != id_len || memcmp(xc_msg_get_str(m, "id"), id, id_len) != 0)
    l->bad_bytes++;
  free(packed);
  xc_msg_free(m);
  if (l->ids.n < MAX_IDS) (void)snprintf(l->ids.id[l->ids.n], XC_ID_MAX, "%.*s", (int)id_len, id);
  l->ids.n++;
  return 0;
}

/* Returns 1 if the scan gives exactly the ids `want`, in this order, and
 * the raw scan (xc_snapshot_scan_raw) the same records as stored. */
static int scan_is(xc_store *s, xc_kind kind, xc_index index, const char *key,
                   const char *const *want, size_t n) {
  idlist l;
  rawlist r;
  xc_snapshot *snap = NULL;
  xc_err err;
  memset(&l, 0, sizeof l);
  memset(&r, 0, sizeof r);
  r.kind = kind;
  if (scan(s, kind, index, key, NULL, &l) != XC_OK || l.n != n) {
    fprintf(stderr, "scan %d/%d '%s': got %zu records, want %zu\n", (int)kind, (int)index,
            key, l.n, n);
    return 0;
  }
  if (xc_snapshot_begin(s, &snap, &err) != XC_OK ||
      xc_snapshot_scan_raw(snap, kind, index, key, NULL, collect_raw, &r, &err) != XC_OK ||
      r.ids.n != n || r.bad_bytes != 0) {
    fprintf(stderr, "raw scan %d/%d '%s': got %zu records (%d not as stored), want %zu\n",
            (int)kind, (int)index, key, r.ids.n, r.bad_bytes, n);
    xc_snapshot_end(snap);
    return 0;
  }
  xc_snapshot_end(snap);
  for (size_t i = 0; i < n && i < MAX_IDS; i++) {
    if (strcmp(r.ids.id[i], l.id[i]) != 0) {
      fprintf(stderr, "raw scan %d/%d '%s': record %zu is %s, want %s\n", (int)kind,
              (int)index, key, i, r.ids.id[i], l.id[i]);
      return 0;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(l.id[i], want[i]) != 0) {
      fprintf(stderr, "scan %d/%d '%s': record %zu is %s, want %s\n", (int)kind, (int)index,
              key, i, l.id[i], want[i]);
      return 0;
    }
  }
  return 1;
}
#define SCAN_IS(s, kind, index, key, ...)                                                  \
  do {                                                                                     \
    const char *want_[] = {__VA_ARGS__};                                                   \
    CU_ASSERT_TRUE(scan_is(s, kind, index, key, want_, sizeof want_ / sizeof want_[0])); \
  } while (0)
#define SCAN_EMPTY(s, kind, index, key) CU_ASSERT_TRUE(scan_is(s, kind, index, key, NULL, 0))

/* Counts records of a kind (whole store). */
static size_t count_all(xc_store *s, xc_kind kind) {
  idlist l;
  memset(&l, 0, sizeof l);
  if (scan(s, kind, XC_INDEX_ALL, NULL, NULL, &l) != XC_OK) return (size_t)-1;
  return l.n;
}

/* ---------------------------------------------------------- open, close */

static void test_open_reopen(void) {
  fixture fx;
  char deep[128];
  char id[XC_ID_MAX];
  uint8_t secret1[32];
  uint8_t secret2[32];
  uint8_t zero[32] = {0};
  struct stat st;
  ProtobufCMessage *rec;
  int rc;

  CU_ASSERT_FATAL(fx_dir(&fx) == 0);
  (void)snprintf(deep, sizeof deep, "%s/a/b/store", fx.dir);
  CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, deep, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(stat(deep, &st), 0);
  CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
  CU_ASSERT_EQUAL(create_target(fx.store, "310104", OWNER, "东风街道", id), XC_OK);
  xc_store_secret(fx.store, secret1);
  CU_ASSERT_NOT_EQUAL(memcmp(secret1, zero, 32), 0);
  xc_store_close(fx.store);
  fx.store = NULL;

  CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, deep, 0, 0), XC_OK);
  xc_store_secret(fx.store, secret2);
  CU_ASSERT_EQUAL(memcmp(secret1, secret2, 32), 0);
  rec = get_rec(fx.store, XC_KIND_TARGET, id, &rc);
  CU_ASSERT_EQUAL(rc, XC_OK);
  CU_ASSERT_PTR_NOT_NULL(rec);
  if (rec != NULL) CU_ASSERT_STRING_EQUAL(xc_msg_get_str(rec, "name"), "东风街道");
  xc_msg_free(rec);
  xc_store_close(NULL); /* accepted */
  fx_done(&fx);
}

static void test_open_bad_options(void) {
  xc_store_options opt;
  xc_store *s = (xc_store *)&opt;
  xc_err err;
  memset(&opt, 0, sizeof opt);
  CU_ASSERT_EQUAL(xc_store_open(&opt, &s, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NULL(s);
  opt.dir = "/proc/xc-storage-cannot-be-here";
  CU_ASSERT_NOT_EQUAL(xc_store_open(&opt, &s, &err), XC_OK);
  CU_ASSERT_PTR_NULL(s);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/proc/xc-storage-cannot-be-here"));
}

/* Overwrites meta "format" with one byte, through LMDB directly. */
static int set_format(const char *dir, unsigned char format) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_val k = {6, "format"};
  MDB_val v = {1, &format};
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, 16);
  if (rc == 0) rc = mdb_env_open(env, dir, 0, 0600);
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", 0, &dbi);
  if (rc == 0) rc = mdb_put(txn, dbi, &k, &v, 0);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
  if (txn != NULL) mdb_txn_abort(txn);
  mdb_env_close(env);
  return rc;
}

static void test_newer_format_refused(void) {
  fixture fx;
  xc_store_options opt;
  xc_store *s = NULL;
  xc_err err;
  char id[XC_ID_MAX];
  ProtobufCMessage *rec;
  int rc;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(create_target(fx.store, "310104", OWNER, "A", id), XC_OK);
  xc_store_close(fx.store);
  fx.store = NULL;
  CU_ASSERT_EQUAL_FATAL(set_format(fx.dir, 3), 0);

  memset(&opt, 0, sizeof opt);
  opt.dir = fx.dir;
  CU_ASSERT_EQUAL(xc_store_open(&opt, &s, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NULL(s);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format 3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "newer"));
  xc_store_close(s);

  /* The refusal touched nothing: back at format 1 the data is all there. */
  CU_ASSERT_EQUAL_FATAL(set_format(fx.dir, 1), 0);
  CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, fx.dir, 0, 0), XC_OK);
  rec = get_rec(fx.store, XC_KIND_TARGET, id, &rc);
  CU_ASSERT_EQUAL(rc, XC_OK);
  xc_msg_free(rec);
  fx_done(&fx);
}

/* --------------------------------------------------------------- records */

static void test_create_assigns(void) {
  fixture fx;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  ProtobufCMessage *got;
  Xuncha__V1__Target *o;
  xc_err err;
  int64_t before;
  int64_t after;
  int rc;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  t.id = "t_01HZZZZZZZZZZZZZZZZZZZZZZZ";
  t.etag = "ffffffffffffffff";
  t.owner = "office:9999";
  t.create_time_ms = 5;
  t.update_time_ms = 6;
  t.created_by = "mallory";
  t.updated_by = "mallory";
  t.region_code = "310104";
  t.name = "东风街道";
  before = now_ms();
  rc = xc_store_create(fx.store, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, NULL, NULL, &out,
                       &err);
  after = now_ms();
  CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
  o = (Xuncha__V1__Target *)out;
  CU_ASSERT_TRUE(xc_id_valid(XC_KIND_TARGET, o->id));
  CU_ASSERT_STRING_NOT_EQUAL(o->id, t.id);
  CU_ASSERT_EQUAL(strlen(o->etag), 16);
  CU_ASSERT_EQUAL(strspn(o->etag, "0123456789abcdef"), 16);
  CU_ASSERT_STRING_NOT_EQUAL(o->etag, t.etag);
  CU_ASSERT_STRING_EQUAL(o->owner, OWNER);
  CU_ASSERT_STRING_EQUAL(o->created_by, AUTHOR);
  CU_ASSERT_STRING_EQUAL(o->updated_by, AUTHOR);
  CU_ASSERT_EQUAL(o->create_time_ms, o->update_time_ms);
  CU_ASSERT_TRUE(o->create_time_ms >= before && o->create_time_ms <= after);
  CU_ASSERT_STRING_EQUAL(o->name, "东风街道");
  CU_ASSERT_STRING_EQUAL(o->region_code, "310104");
  /* The caller's record is not modified. */
  CU_ASSERT_STRING_EQUAL(t.id, "t_01HZZZZZZZZZZZZZZZZZZZZZZZ");
  CU_ASSERT_EQUAL(t.create_time_ms, 5);
  got = get_rec(fx.store, XC_KIND_TARGET, o->id, &rc);
  CU_ASSERT_EQUAL(rc, XC_OK);
  CU_ASSERT_TRUE(got != NULL && same_bytes(got, out));
  xc_msg_free(got);
  /* A record of the wrong kind is a programming error, not stored. */
  CU_ASSERT_EQUAL(xc_store_create(fx.store, XC_KIND_ROUND, &t.base, OWNER, AUTHOR, OWNER, NULL,
                                  NULL, NULL, &err),
                  XC_EINTERNAL);
  CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_ROUND), 0);
  xc_msg_free(out);
  fx_done(&fx);
}

static void test_get_not_found(void) {
  fixture fx;
  char id[XC_ID_MAX];
  char absent[XC_ID_MAX];
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = (ProtobufCMessage *)&fx;
  xc_err err;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(create_target(fx.store, "310104", OWNER, "A", id), XC_OK);
  (void)snprintf(absent, sizeof absent, "%s", id);
  absent[27] = absent[27] == '0' ? '1' : '0';
  CU_ASSERT_TRUE(xc_id_valid(XC_KIND_TARGET, absent));
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, absent, &rec, &err), XC_ENOT_FOUND);
  CU_ASSERT_PTR_NULL(rec);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, absent));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target"));
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, "nonsense", &rec, &err), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, "", &rec, &err), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, NULL, &rec, &err), XC_ENOT_FOUND);
  /* A target's id is not a round's. */
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_ROUND, id, &rec, &err), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_snapshot_get(snap, XC_KIND_TARGET, id, &rec, &err), XC_OK);
  xc_msg_free(rec);
  xc_snapshot_end(snap);
  fx_done(&fx);
}

static void test_update_stale_etag(void) {
  fixture fx;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *created = NULL;
  ProtobufCMessage *updated = NULL;
  ProtobufCMessage *before;
  ProtobufCMessage *after;
  Xuncha__V1__Target *c;
  Xuncha__V1__Target u;
  char old_etag[32];
  xc_err err;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  t.region_code = "310104";
  t.name = "A";
  CU_ASSERT_EQUAL_FATAL(xc_store_create(fx.store, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER,
                                        NULL, NULL, &created, &err),
                        XC_OK);
  c = (Xuncha__V1__Target *)created;
  (void)snprintf(old_etag, sizeof old_etag, "%s", c->etag);
  before = get_rec(fx.store, XC_KIND_TARGET, c->id, NULL);

  u = *c;
  u.name = "B";
  u.etag = "00000000000000aa";
  CU_ASSERT_EQUAL(xc_store_update(fx.store, XC_KIND_TARGET, &u.base, AUTHOR, &updated, &err),
                  XC_EABORTED);
  CU_ASSERT_PTR_NULL(updated);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "00000000000000aa"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, old_etag));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "read it again"));
  after = get_rec(fx.store, XC_KIND_TARGET, c->id, NULL);
  CU_ASSERT_TRUE(before != NULL && after != NULL && same_bytes(before, after));
  xc_msg_free(after);

  /* The right etag works once; then it is stale too. */
  u.etag = old_etag;
  CU_ASSERT_EQUAL(xc_store_update(fx.store, XC_KIND_TARGET, &u.base, AUTHOR, &updated, &err),
                  XC_OK);
  CU_ASSERT_TRUE(updated != NULL &&
                 strcmp(((Xuncha__V1__Target *)updated)->etag, old_etag) != 0);
  xc_msg_free(updated);
  updated = NULL;
  CU_ASSERT_EQUAL(xc_store_update(fx.store, XC_KIND_TARGET, &u.base, AUTHOR, &updated, &err),
                  XC_EABORTED);

  /* No such record. */
  u.id = "t_00000000000000000000000000";
  CU_ASSERT_EQUAL(xc_store_update(fx.store, XC_KIND_TARGET, &u.base, AUTHOR, &updated, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no target with id t_00000000000000000000000000"));
  xc_msg_free(before);
  xc_msg_free(created);
  fx_done(&fx);
}

static void test_update_keeps_owner(void) {
  fixture fx;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *created = NULL;
  ProtobufCMessage *updated = NULL;
  ProtobufCMessage *got;
  Xuncha__V1__Target *c;
  Xuncha__V1__Target *o;
  Xuncha__V1__Target u;
  xc_err err;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  t.region_code = "310104";
  t.name = "A";
  CU_ASSERT_EQUAL_FATAL(xc_store_create(fx.store, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER,
                                        NULL, NULL, &created, &err),
                        XC_OK);
  c = (Xuncha__V1__Target *)created;
  xc_test_sleep_ms(3); /* so the update time differs from the create time */
  u = *c;
  u.name = "B";
  u.owner = "office:9999";
  u.region_code = "9999";
  u.create_time_ms = 1;
  u.update_time_ms = 2;
  u.created_by = "mallory";
  u.updated_by = "mallory";
  CU_ASSERT_EQUAL_FATAL(
      xc_store_update(fx.store, XC_KIND_TARGET, &u.base, "office:310104#02", &updated, &err),
      XC_OK);
  o = (Xuncha__V1__Target *)updated;
  CU_ASSERT_STRING_EQUAL(o->id, c->id);
  CU_ASSERT_STRING_EQUAL(o->name, "B");
  CU_ASSERT_STRING_EQUAL(o->owner, OWNER);
  CU_ASSERT_STRING_EQUAL(o->region_code, "310104");
  CU_ASSERT_EQUAL(o->create_time_ms, c->create_time_ms);
  CU_ASSERT_TRUE(o->update_time_ms > c->create_time_ms);
  CU_ASSERT_STRING_EQUAL(o->created_by, AUTHOR);
  CU_ASSERT_STRING_EQUAL(o->updated_by, "office:310104#02");
  CU_ASSERT_STRING_NOT_EQUAL(o->etag, c->etag);
  got = get_rec(fx.store, XC_KIND_TARGET, c->id, NULL);
  CU_ASSERT_TRUE(got != NULL && same_bytes(got, updated));
  xc_msg_free(got);
  /* The region index still files it under its original region only. */
  SCAN_IS(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "310104", c->id);
  SCAN_EMPTY(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "9999");
  xc_msg_free(updated);
  xc_msg_free(created);
  fx_done(&fx);
}

/* Passes strings that rec itself owns as owner and author. */
static int alias_fn(xc_txn *txn, void *arg, xc_err *err) {
  ProtobufCMessage **out = arg;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *rec;
  int rc;
  xc_msg_free(*out);
  *out = NULL;
  t.region_code = "310104";
  t.name = "alias";
  t.owner = OWNER;
  t.created_by = AUTHOR;
  rec = xc_msg_clone(&t.base);
  if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create(txn, XC_KIND_TARGET, rec, ((Xuncha__V1__Target *)rec)->owner,
                     ((Xuncha__V1__Target *)rec)->created_by, NULL, err);
  if (rc == XC_OK)
    rc = xc_txn_update(txn, XC_KIND_TARGET, rec, ((Xuncha__V1__Target *)rec)->updated_by, out,
                       err);
  xc_msg_free(rec);
  return rc;
}

static void test_aliased_arguments(void) {
  fixture fx;
  ProtobufCMessage *out = NULL;
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(xc_store_write(fx.store, alias_fn, &out, &err), XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)out)->owner, OWNER);
  CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)out)->created_by, AUTHOR);
  CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)out)->updated_by, AUTHOR);
  xc_msg_free(out);
  fx_done(&fx);
}

/* Key lengths beyond LMDB's limit are refused, and nothing is written. */
static void test_key_too_long(void) {
  fixture fx;
  Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
  char big[700];
  xc_snapshot *snap = NULL;
  idlist ids;
  xc_err err;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  memset(big, 'j', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  l.region_code = "310104";
  l.round_id = "r_x";
  l.target_id = "t_x";
  l.recipient = big;
  CU_ASSERT_EQUAL(xc_store_create(fx.store, XC_KIND_LEAD, &l.base, OWNER, AUTHOR, OWNER, NULL,
                                  NULL, NULL, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "recipient"));
  CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_LEAD), 0);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_last_change(snap), 0);
  memset(&ids, 0, sizeof ids);
  CU_ASSERT_EQUAL(
      xc_snapshot_scan(snap, XC_KIND_LEAD, XC_INDEX_RECIPIENT, big, NULL, collect, &ids, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(
      xc_snapshot_scan(snap, XC_KIND_LEAD, XC_INDEX_ALL, NULL, big, collect, &ids, &err),
      XC_EINVALID_ARGUMENT);
  xc_snapshot_end(snap);
  fx_done(&fx);
}

/* ------------------------------------------------------------------- ids */

typedef struct many_ctx {
  size_t count;    /* records to create per call */
  size_t base;     /* index of the first id slot */
  char (*ids)[XC_ID_MAX];
} many_ctx;

/* Creates ctx->count targets in one transaction. */
static int create_many(xc_txn *txn, void *arg, xc_err *err) {
  many_ctx *c = arg;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  int rc = XC_OK;
  t.region_code = "310104";
  t.name = "bulk";
  for (size_t i = 0; i < c->count && rc == XC_OK; i++) {
    ProtobufCMessage *rec = xc_msg_clone(&t.base);
    if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    rc = xc_txn_create(txn, XC_KIND_TARGET, rec, OWNER, AUTHOR, NULL, err);
    if (rc == XC_OK)
      (void)snprintf(c->ids[c->base + i], XC_ID_MAX, "%s", xc_msg_get_str(rec, "id"));
    xc_msg_free(rec);
  }
  return rc;
}

/* Checks that a scan visits exactly the ids `want`, in order. */
typedef struct order_check {
  char (*want)[XC_ID_MAX];
  size_t n_want;
  size_t n;
  size_t mismatches;
} order_check;

static int check_order(void *ctx, ProtobufCMessage *rec) {
  order_check *o = ctx;
  if (o->n >= o->n_want || strcmp(o->want[o->n], xc_msg_get_str(rec, "id")) != 0)
    o->mismatches++;
  o->n++;
  xc_msg_free(rec);
  return 0;
}

static void test_ids_increasing(void) {
  enum { PER_JOB = 1000, JOBS = 10, TOTAL = PER_JOB * JOBS };
  fixture fx;
  char (*ids)[XC_ID_MAX] = calloc(TOTAL + 1, sizeof *ids);
  many_ctx c;
  xc_err err;
  size_t bad = 0;

  CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  for (size_t j = 0; j < JOBS; j++) {
    c.count = PER_JOB;
    c.base = j * PER_JOB;
    c.ids = ids;
    CU_ASSERT_EQUAL(xc_store_write(fx.store, create_many, &c, &err), XC_OK);
  }
  for (size_t i = 0; i < TOTAL; i++) {
    if (!xc_id_valid(XC_KIND_TARGET, ids[i])) bad++;
    if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0) bad++;
  }
  CU_ASSERT_EQUAL(bad, 0);
  /* Scans give the records in id order, which is creation order. */
  {
    order_check o = {ids, TOTAL, 0, 0};
    xc_snapshot *snap = NULL;
    CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
    CU_ASSERT_EQUAL(
        xc_snapshot_scan(snap, XC_KIND_TARGET, XC_INDEX_ALL, NULL, NULL, check_order, &o, &err),
        XC_OK);
    CU_ASSERT_EQUAL(o.n, TOTAL);
    CU_ASSERT_EQUAL(o.mismatches, 0);
    o.n = 0;
    o.mismatches = 0;
    CU_ASSERT_EQUAL(xc_snapshot_scan(snap, XC_KIND_TARGET, XC_INDEX_OWNER, "310104", NULL,
                                     check_order, &o, &err),
                    XC_OK);
    CU_ASSERT_EQUAL(o.n, TOTAL);
    CU_ASSERT_EQUAL(o.mismatches, 0);
    xc_snapshot_end(snap);
  }

  /* After a reopen, new ids still sort after the old ones. */
  xc_store_close(fx.store);
  fx.store = NULL;
  CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, fx.dir, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(create_target(fx.store, "310104", OWNER, "late", ids[TOTAL]), XC_OK);
  CU_ASSERT_TRUE(strcmp(ids[TOTAL - 1], ids[TOTAL]) < 0);
  fx_done(&fx);
  free(ids);
}

/* Ids encode their time exactly: a known id, and fresh ids round trip. */
static void test_id_encoding(void) {
  xc__idgen g;
  char id[XC_ID_MAX], prev[XC_ID_MAX] = "";
  int64_t now = 1717889740173;
  /* 0x018ffa352d8d73e1194e95b5f19d6f9d: its first 48 bits are the time. */
  CU_ASSERT_EQUAL(xc__id_time_ms("t_01HZX3ABCDEFGHJKMNPQRSTVWX", 28), 1717889740173u);
  CU_ASSERT_EQUAL(xc__id_time_ms("l_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 28), 281474976710655u);
  CU_ASSERT_EQUAL(xc__id_time_ms("l_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 28), 0u);
  /* Every byte in the last place: valid exactly for the 32 characters. */
  for (int c = 1; c < 256; c++) {
    char probe[] = "t_0000000000000000000000000X";
    probe[27] = (char)c;
    CU_ASSERT_EQUAL(xc_id_valid(XC_KIND_TARGET, probe),
                    strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) != NULL);
  }
  CU_ASSERT_EQUAL_FATAL(xc__idgen_init(&g, 0), 0);
  for (int i = 0; i < 5000; i++) {
    /* Every time from 0 to past 2^40 ms, several ids per millisecond. */
    int64_t t = i < 10 ? i : now + (int64_t)(i / 4) * 7919;
    xc__id_next(&g, XC_KIND_FINDING, t, id);
    CU_ASSERT_TRUE(xc_id_valid(XC_KIND_FINDING, id));
    CU_ASSERT_EQUAL(xc__id_time_ms(id, strlen(id)), (uint64_t)t);
    CU_ASSERT_TRUE(strcmp(prev, id) < 0);
    memcpy(prev, id, sizeof prev);
  }
}

static void test_id_valid(void) {
  CU_ASSERT_TRUE(xc_id_valid(XC_KIND_TARGET, "t_01HZX3ABCDEFGHJKMNPQRSTVWX"));
  CU_ASSERT_TRUE(xc_id_valid(XC_KIND_LEAD, "l_7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_LEAD, "l_8ZZZZZZZZZZZZZZZZZZZZZZZZZ")); /* > 128 bits */
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_ROUND, "t_01HZX3ABCDEFGHJKMNPQRSTVWX"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t_01HZX3ABCDEFGHJKMNPQRSTVW"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t_01HZX3ABCDEFGHJKMNPQRSTVWXY"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t_01hzx3abcdefghjkmnpqrstvwx"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t_01HZX3ABCDEFGHJKMNPQRSTVWI"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t_01HZX3ABCDEFGHJKMNPQRSTVWU"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, "t-01HZX3ABCDEFGHJKMNPQRSTVWX"));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_TARGET, NULL));
  CU_ASSERT_FALSE(xc_id_valid(XC_KIND_COUNT, "t_01HZX3ABCDEFGHJKMNPQRSTVWX"));
  CU_ASSERT_EQUAL(xc_kind_id_prefix(XC_KIND_FINDING), 'f');
  CU_ASSERT_STRING_EQUAL(xc_kind_name(XC_KIND_GROUP), "group");
  CU_ASSERT_PTR_EQUAL(xc_kind_descriptor(XC_KIND_LEAD), &xuncha__v1__lead__descriptor);
}

/* --------------------------------------------------------------- indexes */

/* xc_snapshot_get_raw hands over the stored bytes of one record, and
 * refuses missing and malformed ids as xc_snapshot_get does. */
static void test_get_raw(void) {
  fixture fx;
  char a[XC_ID_MAX];
  xc_snapshot *snap = NULL;
  rawlist r;
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  CU_ASSERT_EQUAL_FATAL(create_target(fx.store, "310104001", "office:310104", "a", a), XC_OK);
  memset(&r, 0, sizeof r);
  r.kind = XC_KIND_TARGET;
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_get_raw(snap, XC_KIND_TARGET, a, collect_raw, &r, &err), XC_OK);
  CU_ASSERT_EQUAL(r.ids.n, 1);
  CU_ASSERT_EQUAL(r.bad_bytes, 0);
  CU_ASSERT_STRING_EQUAL(r.ids.id[0], a);
  CU_ASSERT_EQUAL(xc_snapshot_get_raw(snap, XC_KIND_ROUND, a, collect_raw, &r, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_snapshot_get_raw(snap, XC_KIND_TARGET, "t_0000000000000000000000000Z",
                                      collect_raw, &r, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_snapshot_get_raw(snap, XC_KIND_TARGET, "t_", collect_raw, &r, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(r.ids.n, 1);
  xc_snapshot_end(snap);
  fx_done(&fx);
}

static void test_index_region_owner(void) {
  fixture fx;
  char a[XC_ID_MAX], b[XC_ID_MAX], c[XC_ID_MAX], d[XC_ID_MAX], e[XC_ID_MAX], f[XC_ID_MAX];
  xc_store *s;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  s = fx.store;
  CU_ASSERT_EQUAL(create_target(s, "310104001", "office:310104", "a", a), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "310104", "office:310104", "b", b), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "310105002003", "office:310105", "c", c), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "3102", "office:3102", "d", d), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "310104001", "office:310104001", "e", e), XC_OK);
  /* In the city 3101 but outside "31010": only the post-filter drops it. */
  CU_ASSERT_EQUAL(create_target(s, "310111", "office:310111", "f", f), XC_OK);

  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "", a, b, c, d, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "3", a, b, c, d, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "31", a, b, c, d, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "3101", a, b, c, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104", a, b, e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104001", a, e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "310105002003", c);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "3102", d);
  /* Prefixes between levels: the longest level within, then a filter. */
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "31010", a, b, c, e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "31011", f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "3101050", c);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_REGION, "3101040", a, e);
  SCAN_EMPTY(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104002");
  SCAN_EMPTY(s, XC_KIND_TARGET, XC_INDEX_REGION, "3103");
  SCAN_EMPTY(s, XC_KIND_TARGET, XC_INDEX_REGION, "3101040011");

  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "31", a, b, c, d, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "3101", a, b, c, e, f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "310104", a, b, e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "310104001", e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "31010", a, b, c, e);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "31011", f);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "310105", c);
  SCAN_IS(s, XC_KIND_TARGET, XC_INDEX_OWNER, "3102", d);
  SCAN_EMPTY(s, XC_KIND_TARGET, XC_INDEX_OWNER, "310106");
  fx_done(&fx);
}

/* Updates a record through xc_store_update after `edit` changed a copy. */
static int update_with(xc_store *s, xc_kind kind, const char *id,
                       void (*edit)(ProtobufCMessage *rec, const void *arg), const void *arg) {
  ProtobufCMessage *rec = get_rec(s, kind, id, NULL);
  ProtobufCMessage *out = NULL;
  xc_err err;
  int rc;
  if (rec == NULL) return XC_ENOT_FOUND;
  edit(rec, arg);
  rc = xc_store_update(s, kind, rec, AUTHOR, &out, &err);
  if (rc != XC_OK) fprintf(stderr, "update: %s\n", err.msg);
  xc_msg_free(out);
  xc_msg_free(rec);
  return rc;
}

/* Sets a round's stage and replaces its target ids with one id. */
static void edit_round(ProtobufCMessage *rec, const void *arg) {
  Xuncha__V1__Round *r = (Xuncha__V1__Round *)rec;
  const char *target = arg;
  r->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_REPORT;
  for (size_t i = 0; i < r->n_target_ids; i++) free(r->target_ids[i]);
  r->target_ids[0] = malloc(strlen(target) + 1);
  if (r->target_ids[0] != NULL) memcpy(r->target_ids[0], target, strlen(target) + 1);
  r->n_target_ids = r->target_ids[0] != NULL ? 1 : 0;
}

/* Gives a finding a rectification with status DONE. */
static void edit_finding(ProtobufCMessage *rec, const void *arg) {
  Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)rec;
  (void)arg;
  if (f->rectification == NULL) {
    f->rectification = malloc(sizeof *f->rectification);
    if (f->rectification == NULL) return;
    xuncha__v1__rectification__init(f->rectification);
  }
  f->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_DONE;
}

static void edit_lead(ProtobufCMessage *rec, const void *arg) {
  (void)arg;
  ((Xuncha__V1__Lead *)rec)->disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CASE_FILED;
}

static void test_index_links_and_status(void) {
  fixture fx;
  xc_store *s;
  char t1[XC_ID_MAX], t2[XC_ID_MAX], t3[XC_ID_MAX];
  char r1[XC_ID_MAX], r2[XC_ID_MAX], g1[XC_ID_MAX], g2[XC_ID_MAX];
  char f1[XC_ID_MAX], f2[XC_ID_MAX], l1[XC_ID_MAX], l2[XC_ID_MAX];
  idlist ids;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  s = fx.store;
  CU_ASSERT_EQUAL(create_target(s, "310104001", OWNER, "t1", t1), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "310104002", OWNER, "t2", t2), XC_OK);
  CU_ASSERT_EQUAL(create_target(s, "310104003", OWNER, "t3", t3), XC_OK);

  {
    Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
    char *both[] = {t1, t2, t2}; /* a repeated id indexes once */
    char *one[] = {t2};
    r.region_code = "310104";
    r.title = "第一轮";
    r.stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
    r.n_target_ids = 3;
    r.target_ids = both;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_ROUND, &r.base, OWNER, r1), XC_OK);
    r.n_target_ids = 1;
    r.target_ids = one;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_ROUND, &r.base, OWNER, r2), XC_OK);
  }
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_TARGET, t1, r1);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_TARGET, t2, r1, r2);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_STATUS, "1", r1, r2);
  SCAN_EMPTY(s, XC_KIND_ROUND, XC_INDEX_STATUS, "3");
  CU_ASSERT_EQUAL(update_with(s, XC_KIND_ROUND, r1, edit_round, t3), XC_OK);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_STATUS, "1", r2);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_STATUS, "3", r1);
  SCAN_EMPTY(s, XC_KIND_ROUND, XC_INDEX_TARGET, t1);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_TARGET, t2, r2);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_TARGET, t3, r1);
  SCAN_IS(s, XC_KIND_ROUND, XC_INDEX_REGION, "310104", r1, r2);

  {
    Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
    char *first[] = {t1};
    char *second[] = {t1, t2};
    g.region_code = "310104";
    g.name = "第一巡察组";
    g.round_id = r1;
    g.n_target_ids = 1;
    g.target_ids = first;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_GROUP, &g.base, OWNER, g1), XC_OK);
    g.name = "第二巡察组";
    g.round_id = r2;
    g.n_target_ids = 2;
    g.target_ids = second;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_GROUP, &g.base, OWNER, g2), XC_OK);
  }
  SCAN_IS(s, XC_KIND_GROUP, XC_INDEX_ROUND, r1, g1);
  SCAN_IS(s, XC_KIND_GROUP, XC_INDEX_ROUND, r2, g2);
  SCAN_IS(s, XC_KIND_GROUP, XC_INDEX_TARGET, t1, g1, g2);
  SCAN_IS(s, XC_KIND_GROUP, XC_INDEX_TARGET, t2, g2);
  SCAN_EMPTY(s, XC_KIND_GROUP, XC_INDEX_ROUND, "");

  {
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
    f.region_code = "310104001";
    f.round_id = r1;
    f.target_id = t1;
    f.title = "假落实";
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_FINDING, &f.base, OWNER, f1), XC_OK);
    rect.status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
    f.rectification = &rect;
    f.region_code = "310104002";
    f.target_id = t2;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_FINDING, &f.base, OWNER, f2), XC_OK);
  }
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_STATUS, "0", f1);
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_STATUS, "1", f2);
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_ROUND, r1, f1, f2);
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_TARGET, t2, f2);
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_REGION, "310104002", f2);
  CU_ASSERT_EQUAL(update_with(s, XC_KIND_FINDING, f1, edit_finding, NULL), XC_OK);
  SCAN_EMPTY(s, XC_KIND_FINDING, XC_INDEX_STATUS, "0");
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_STATUS, "4", f1);
  SCAN_IS(s, XC_KIND_FINDING, XC_INDEX_TARGET, t1, f1);

  {
    Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
    l.region_code = "310104001";
    l.round_id = r1;
    l.target_id = t1;
    l.summary = "线索";
    l.recipient = "agency:3101:jw";
    l.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_LEAD, &l.base, OWNER, l1), XC_OK);
    l.recipient = "agency:3101:zzb";
    l.target_id = t2;
    CU_ASSERT_EQUAL(create_rec(s, XC_KIND_LEAD, &l.base, "office:3101", l2), XC_OK);
  }
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_RECIPIENT, "agency:3101:jw", l1);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_RECIPIENT, "agency:3101:zzb", l2);
  SCAN_EMPTY(s, XC_KIND_LEAD, XC_INDEX_RECIPIENT, "agency:3101");
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_STATUS, "1", l1, l2);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_ROUND, r1, l1, l2);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_TARGET, t2, l2);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_OWNER, "3101", l1, l2);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_OWNER, "310104", l1);
  CU_ASSERT_EQUAL(update_with(s, XC_KIND_LEAD, l2, edit_lead, NULL), XC_OK);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_STATUS, "1", l1);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_STATUS, "6", l2);
  SCAN_IS(s, XC_KIND_LEAD, XC_INDEX_RECIPIENT, "agency:3101:zzb", l2);

  /* Indexes a kind does not have are refused. */
  memset(&ids, 0, sizeof ids);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_ROUND, r1, NULL, &ids), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_ROUND, XC_INDEX_RECIPIENT, "x", NULL, &ids),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_LEAD, (xc_index)42, "x", NULL, &ids), XC_EINVALID_ARGUMENT);
  fx_done(&fx);
}

static void test_scan_after_id(void) {
  fixture fx;
  char ids[30][XC_ID_MAX];
  char in104[25][XC_ID_MAX];
  size_t n104 = 0;
  idlist page;
  xc_store *s;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  s = fx.store;
  for (int i = 0; i < 30; i++) {
    const char *region = i % 6 == 5 ? "310105001" : "310104001";
    CU_ASSERT_EQUAL(create_target(s, region, OWNER, "x", ids[i]), XC_OK);
    if (i % 6 != 5) memcpy(in104[n104++], ids[i], XC_ID_MAX);
  }
  CU_ASSERT_EQUAL_FATAL(n104, 25);

  /* Whole kind: a page of 10, then the rest. */
  memset(&page, 0, sizeof page);
  page.stop_after = 10;
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_ALL, NULL, NULL, &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 10);
  CU_ASSERT_STRING_EQUAL(page.id[9], ids[9]);
  page.stop_after = 0;
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_ALL, NULL, ids[9], &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 20);
  CU_ASSERT_STRING_EQUAL(page.id[0], ids[10]);
  CU_ASSERT_STRING_EQUAL(page.id[19], ids[29]);

  /* An index, on a level, then off a level ("31010"). */
  page.stop_after = 10;
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104", NULL, &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 10);
  CU_ASSERT_STRING_EQUAL(page.id[9], in104[9]);
  page.stop_after = 0;
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104", in104[9], &page), XC_OK);
  CU_ASSERT_EQUAL_FATAL(page.n, 15);
  for (size_t i = 0; i < 15; i++) CU_ASSERT_STRING_EQUAL(page.id[i], in104[10 + i]);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_REGION, "3101040", in104[23], &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 1);
  CU_ASSERT_STRING_EQUAL(page.id[0], in104[24]);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_REGION, "31010", ids[28], &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 1);
  CU_ASSERT_STRING_EQUAL(page.id[0], ids[29]);

  /* After the last: nothing. After an id that is not stored: resumes at
   * the next one. */
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_OWNER, "310104", ids[29], &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 0);
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_ALL, NULL, "t_0", &page), XC_OK);
  CU_ASSERT_EQUAL(page.n, 30);

  /* A visitor's error stops the scan and is returned. */
  page.fail_with = XC_ECANCELLED;
  CU_ASSERT_EQUAL(scan(s, XC_KIND_TARGET, XC_INDEX_REGION, "310104", NULL, &page), XC_ECANCELLED);
  CU_ASSERT_EQUAL(page.n, 1);
  fx_done(&fx);
}

/* ------------------------------------------------------------ idempotency */

static void test_create_once(void) {
  fixture fx;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  uint8_t fp1[32];
  uint8_t fp2[32];
  char long_req[XC_MAX_REQUEST_ID_BYTES + 2];
  ProtobufCMessage *a = NULL;
  ProtobufCMessage *again = NULL;
  ProtobufCMessage *other = NULL;
  xc_err err;
  xc_store *s;

  memset(fp1, 1, sizeof fp1);
  memset(fp2, 2, sizeof fp2);
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  s = fx.store;
  t.region_code = "310104";
  t.name = "A";
  CU_ASSERT_EQUAL_FATAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER,
                                        "req-1", fp1, &a, &err),
                        XC_OK);
  /* A retry gets the same record and writes nothing. */
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, "req-1", fp1,
                                  &again, &err),
                  XC_OK);
  CU_ASSERT_TRUE(again != NULL && same_bytes(a, again));
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 1);
  xc_msg_free(again);
  again = NULL;

  /* The same request id for something else is refused, naming both. */
  t.name = "B";
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, "req-1", fp2,
                                  &again, &err),
                  XC_EALREADY_EXISTS);
  CU_ASSERT_PTR_NULL(again);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "req-1"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ((Xuncha__V1__Target *)a)->id));
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 1);

  /* Another office's request ids are its own. */
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, "office:310105", AUTHOR,
                                  "office:310105", "req-1", fp1, &other, &err),
                  XC_OK);
  CU_ASSERT_TRUE(other != NULL &&
                 strcmp(((Xuncha__V1__Target *)other)->id, ((Xuncha__V1__Target *)a)->id) != 0);
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 2);
  xc_msg_free(other);
  other = NULL;

  /* So are another kind's. */
  r.region_code = "310104";
  r.title = "第一轮";
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_ROUND, &r.base, OWNER, AUTHOR, OWNER, "req-1", fp1,
                                  &other, &err),
                  XC_OK);
  CU_ASSERT_TRUE(other != NULL && xc_id_valid(XC_KIND_ROUND, xc_msg_get_str(other, "id")));
  xc_msg_free(other);
  other = NULL;

  /* No request id: every call creates. */
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, "", NULL,
                                  NULL, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, NULL, NULL,
                                  NULL, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 4);

  /* The limit is XC_MAX_REQUEST_ID_BYTES exactly. */
  memset(long_req, 'q', sizeof long_req - 1);
  long_req[sizeof long_req - 1] = '\0';
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, long_req,
                                  fp1, NULL, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "request_id"));
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 4);
  long_req[XC_MAX_REQUEST_ID_BYTES] = '\0';
  CU_ASSERT_EQUAL(xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, long_req,
                                  fp1, NULL, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(count_all(s, XC_KIND_TARGET), 5);
  xc_msg_free(a);
  fx_done(&fx);
}

/* ---------------------------------------------------------------- writer */

enum { GC_THREADS = 8, GC_WRITES = 200 };

typedef struct gc_arg {
  xc_store *store;
  int failures;
} gc_arg;

static void *gc_thread(void *p) {
  gc_arg *a = p;
  for (int i = 0; i < GC_WRITES; i++) {
    if (create_target(a->store, "310104001", OWNER, "并发", NULL) != XC_OK) a->failures++;
  }
  return NULL;
}

static void test_group_commit(void) {
  fixture fx;
  pthread_t th[GC_THREADS];
  gc_arg args[GC_THREADS];
  xc_store_stats st;
  int failures = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  for (int i = 0; i < GC_THREADS; i++) {
    args[i].store = fx.store;
    args[i].failures = 0;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
  }
  for (int i = 0; i < GC_THREADS; i++) {
    pthread_join(th[i], NULL);
    failures += args[i].failures;
  }
  CU_ASSERT_EQUAL(failures, 0);
  CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), GC_THREADS * GC_WRITES);
  /* Scans longer than one internal chunk: on a level, through a filter
   * that keeps all, and through one that drops all. */
  {
    idlist l;
    memset(&l, 0, sizeof l);
    CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "310104", NULL, &l), XC_OK);
    CU_ASSERT_EQUAL(l.n, GC_THREADS * GC_WRITES);
    CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "3101040", NULL, &l), XC_OK);
    CU_ASSERT_EQUAL(l.n, GC_THREADS * GC_WRITES);
    CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "3101041", NULL, &l), XC_OK);
    CU_ASSERT_EQUAL(l.n, 0);
    l.stop_after = 100;
    CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_OWNER, "3101", NULL, &l), XC_OK);
    CU_ASSERT_EQUAL(l.n, 100);
  }
  xc_store_get_stats(fx.store, &st);
  CU_ASSERT_EQUAL(st.writes, GC_THREADS * GC_WRITES);
  CU_ASSERT_TRUE(st.commits >= 1 && st.commits < GC_THREADS * GC_WRITES);
  fx_done(&fx);
}

/* A batch of four jobs: A holds the writer while B, C and D queue up
 * behind it; B writes, then fails; C and D must still commit. */
typedef struct batch_job {
  xc_store *store;
  const char *name;
  size_t hold_until;    /* A only: hold the writer until this many writes queue */
  int fail;             /* B only */
  atomic_int *started;  /* A sets it when it runs */
  int result;
  xc_err err;
} batch_job;

static int batch_fn(xc_txn *txn, void *arg, xc_err *err) {
  batch_job *j = arg;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *rec;
  ProtobufCMessage *out = NULL;
  int rc;
  if (j->started != NULL) atomic_store(j->started, 1);
  /* Waiting for the queue, not for a time, makes the grouping certain
   * however slow the machine (bounded at 10 s). */
  for (int waited = 0; j->hold_until > 0 && waited < 10000; waited++) {
    xc_store_stats st;
    xc_store_get_stats(j->store, &st);
    if (st.queued >= j->hold_until) break;
    xc_test_sleep_ms(1);
  }
  t.region_code = "310104";
  t.name = (char *)j->name;
  rec = xc_msg_clone(&t.base);
  if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create(txn, XC_KIND_TARGET, rec, OWNER, AUTHOR, &out, err);
  if (rc == XC_OK && j->fail) {
    /* Write more (an update), then give up: all of it must vanish. */
    rc = xc_msg_set_str(out, "name", "B2");
    if (rc == XC_OK) rc = xc_txn_update(txn, XC_KIND_TARGET, out, AUTHOR, NULL, err);
    if (rc == XC_OK) rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "job B refuses");
  }
  xc_msg_free(out);
  xc_msg_free(rec);
  return rc;
}

static void *batch_thread(void *p) {
  batch_job *j = p;
  j->result = xc_store_write(j->store, batch_fn, j, &j->err);
  return NULL;
}

typedef struct change_list {
  size_t n;
  size_t stop_after;
  uint64_t seq[16];
  char etag[16][32];
  char id[16][XC_ID_MAX];
  char op[16][8];
  char kind[16][16];
  char rec_etag[16][32]; /* the etag inside the logged record */
} change_list;

static int collect_change(void *ctx, ProtobufCMessage *msg) {
  change_list *l = ctx;
  Xuncha__V1__Change *c = (Xuncha__V1__Change *)msg;
  if (l->n < 16) {
    const ProtobufCMessageDescriptor *d = NULL;
    ProtobufCMessage *rec;
    for (int k = 0; k < XC_KIND_COUNT; k++)
      if (strcmp(xc_kind_name((xc_kind)k), c->kind) == 0) d = xc_kind_descriptor((xc_kind)k);
    l->seq[l->n] = c->seq;
    (void)snprintf(l->etag[l->n], 32, "%s", c->etag);
    (void)snprintf(l->id[l->n], XC_ID_MAX, "%s", c->id);
    (void)snprintf(l->op[l->n], 8, "%s", c->op);
    (void)snprintf(l->kind[l->n], 16, "%s", c->kind);
    rec = d != NULL ? protobuf_c_message_unpack(d, NULL, c->record.len, c->record.data) : NULL;
    (void)snprintf(l->rec_etag[l->n], 32, "%s", rec != NULL ? xc_msg_get_str(rec, "etag") : "?");
    xc_msg_free(rec);
  }
  l->n++;
  xc_msg_free(msg);
  return (l->stop_after != 0 && l->n == l->stop_after) ? 1 : 0;
}

static int changes(xc_store *s, uint64_t after, change_list *l, uint64_t *last) {
  xc_snapshot *snap = NULL;
  xc_err err;
  int rc = xc_snapshot_begin(s, &snap, &err);
  l->n = 0;
  if (rc == XC_OK) rc = xc_snapshot_changes(snap, after, collect_change, l, &err);
  if (rc == XC_OK && last != NULL) *last = xc_snapshot_last_change(snap);
  xc_snapshot_end(snap);
  return rc;
}

static void test_failing_job_isolated(void) {
  fixture fx;
  atomic_int started;
  batch_job jobs[4];
  pthread_t th[4];
  const char *names[4] = {"A", "B", "C", "D"};
  xc_store_stats st;
  change_list log;
  uint64_t last = 0;
  idlist all;
  int waited = 0;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  atomic_init(&started, 0);
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < 4; i++) {
    jobs[i].store = fx.store;
    jobs[i].name = names[i];
  }
  jobs[0].hold_until = 3;
  jobs[0].started = &started;
  jobs[1].fail = 1;
  CU_ASSERT_EQUAL_FATAL(pthread_create(&th[0], NULL, batch_thread, &jobs[0]), 0);
  while (!atomic_load(&started) && waited < 5000) {
    xc_test_sleep_ms(1);
    waited++;
  }
  CU_ASSERT_TRUE_FATAL(atomic_load(&started));
  for (int i = 1; i < 4; i++)
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, batch_thread, &jobs[i]), 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);

  CU_ASSERT_EQUAL(jobs[0].result, XC_OK);
  CU_ASSERT_EQUAL(jobs[1].result, XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(jobs[1].err.msg, "job B refuses");
  CU_ASSERT_EQUAL(jobs[2].result, XC_OK);
  CU_ASSERT_EQUAL(jobs[3].result, XC_OK);
  /* A alone, then B, C and D in one commit. */
  xc_store_get_stats(fx.store, &st);
  CU_ASSERT_EQUAL(st.commits, 2);
  CU_ASSERT_EQUAL(st.writes, 3);

  memset(&all, 0, sizeof all);
  CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_ALL, NULL, NULL, &all), XC_OK);
  CU_ASSERT_EQUAL(all.n, 3);
  for (size_t i = 0; i < all.n && i < MAX_IDS; i++) {
    ProtobufCMessage *rec = get_rec(fx.store, XC_KIND_TARGET, all.id[i], NULL);
    const char *name = rec != NULL ? xc_msg_get_str(rec, "name") : "?";
    CU_ASSERT_TRUE(strcmp(name, "A") == 0 || strcmp(name, "C") == 0 || strcmp(name, "D") == 0);
    xc_msg_free(rec);
  }
  /* B's record left no index entries behind either. */
  memset(&all, 0, sizeof all);
  CU_ASSERT_EQUAL(scan(fx.store, XC_KIND_TARGET, XC_INDEX_REGION, "310104", NULL, &all), XC_OK);
  CU_ASSERT_EQUAL(all.n, 3);
  /* B's change-log numbers were given back: the log has no gap. */
  memset(&log, 0, sizeof log);
  CU_ASSERT_EQUAL(changes(fx.store, 0, &log, &last), XC_OK);
  CU_ASSERT_EQUAL(log.n, 3);
  CU_ASSERT_EQUAL(last, 3);
  for (size_t i = 0; i < log.n && i < 3; i++) CU_ASSERT_EQUAL(log.seq[i], i + 1);
  fx_done(&fx);
}

static int nested_write_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc_store *s = arg;
  (void)txn;
  return xc_store_write(s, nested_write_fn, s, err);
}

static void test_write_inside_write(void) {
  fixture fx;
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(xc_store_write(fx.store, nested_write_fn, fx.store, &err), XC_EINTERNAL);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inside a write function"));
  fx_done(&fx);
}

/* ------------------------------------------------------------------- map */

typedef struct fill_ctx {
  size_t count;      /* records per call */
  size_t base;       /* first id slot */
  char (*ids)[XC_ID_MAX];
  size_t calls;      /* runs of the function, replays included */
} fill_ctx;

/* Creates ctx->count targets with 1 KiB notes. */
static int fill_fn(xc_txn *txn, void *arg, xc_err *err) {
  fill_ctx *c = arg;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  char note[1024];
  int rc = XC_OK;
  c->calls++;
  memset(note, 'n', sizeof note - 1);
  note[sizeof note - 1] = '\0';
  t.region_code = "310104001";
  t.name = "fill";
  t.note = note;
  for (size_t i = 0; i < c->count && rc == XC_OK; i++) {
    ProtobufCMessage *rec = xc_msg_clone(&t.base);
    if (rec == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    rc = xc_txn_create(txn, XC_KIND_TARGET, rec, OWNER, AUTHOR, NULL, err);
    if (rc == XC_OK)
      (void)snprintf(c->ids[c->base + i], XC_ID_MAX, "%s", xc_msg_get_str(rec, "id"));
    xc_msg_free(rec);
  }
  return rc;
}

/* Reads while the writer grows the map under it. */
typedef struct reader_arg {
  xc_store *store;
  const char *id;
  atomic_int stop;
  int errors;
  int rounds;
} reader_arg;

static void *reader_thread(void *p) {
  reader_arg *a = p;
  while (!atomic_load(&a->stop)) {
    xc_snapshot *snap = NULL;
    ProtobufCMessage *rec = NULL;
    idlist l;
    xc_err err;
    memset(&l, 0, sizeof l);
    l.stop_after = 40;
    if (xc_snapshot_begin(a->store, &snap, &err) != XC_OK) {
      a->errors++;
      continue;
    }
    if (xc_snapshot_get(snap, XC_KIND_TARGET, a->id, &rec, &err) != XC_OK) a->errors++;
    xc_msg_free(rec);
    if (xc_snapshot_scan(snap, XC_KIND_TARGET, XC_INDEX_REGION, "310104", NULL, collect, &l,
                         &err) != XC_OK)
      a->errors++;
    xc_snapshot_end(snap);
    a->rounds++;
  }
  return NULL;
}

static void test_map_growth(void) {
  enum { PER_CALL = 20, MAX_CALLS = 300 };
  fixture fx;
  char (*ids)[XC_ID_MAX] = calloc((size_t)PER_CALL * MAX_CALLS + 1, sizeof *ids);
  xc_snapshot *old = NULL;
  ProtobufCMessage *rec = NULL;
  xc_store_stats st;
  reader_arg ra;
  pthread_t reader;
  fill_ctx c;
  xc_err err;
  size_t calls = 0;
  size_t missing = 0;
  idlist l;

  CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 256 * 1024, 64 * 1024 * 1024), XC_OK);
  xc_store_get_stats(fx.store, &st);
  CU_ASSERT_EQUAL(st.map_size, 256 * 1024);
  memset(&c, 0, sizeof c);
  c.count = 1;
  c.ids = ids;
  CU_ASSERT_EQUAL_FATAL(xc_store_write(fx.store, fill_fn, &c, &err), XC_OK);
  calls = 1;
  /* A snapshot from before the growth must survive the remaps. */
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &old, &err), XC_OK);
  memset(&ra, 0, sizeof ra);
  ra.store = fx.store;
  ra.id = ids[0];
  atomic_init(&ra.stop, 0);
  CU_ASSERT_EQUAL_FATAL(pthread_create(&reader, NULL, reader_thread, &ra), 0);

  c.count = PER_CALL;
  while (calls < MAX_CALLS) {
    c.base = 1 + (calls - 1) * PER_CALL;
    CU_ASSERT_EQUAL_FATAL(xc_store_write(fx.store, fill_fn, &c, &err), XC_OK);
    calls++;
    xc_store_get_stats(fx.store, &st);
    if (st.map_growths >= 2) break;
  }
  atomic_store(&ra.stop, 1);
  pthread_join(reader, NULL);
  CU_ASSERT_EQUAL(ra.errors, 0);
  CU_ASSERT_TRUE(ra.rounds > 0);
  CU_ASSERT_TRUE(st.map_growths >= 2);
  CU_ASSERT_TRUE(st.map_size >= 1024 * 1024);
  /* Growing replays the batch: the job ran more often than it was sent. */
  CU_ASSERT_TRUE(c.calls > calls);

  {
    size_t total = 1 + (calls - 1) * PER_CALL;
    for (size_t i = 0; i < total; i++) {
      ProtobufCMessage *r = get_rec(fx.store, XC_KIND_TARGET, ids[i], NULL);
      if (r == NULL) missing++;
      xc_msg_free(r);
    }
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), total);

    /* The old snapshot still sees its one record, and only that. */
    CU_ASSERT_EQUAL(xc_snapshot_get(old, XC_KIND_TARGET, ids[0], &rec, &err), XC_OK);
    xc_msg_free(rec);
    memset(&l, 0, sizeof l);
    CU_ASSERT_EQUAL(xc_snapshot_scan(old, XC_KIND_TARGET, XC_INDEX_ALL, NULL, NULL, collect, &l,
                                     &err),
                    XC_OK);
    CU_ASSERT_EQUAL(l.n, 1);
    xc_snapshot_end(old);

    /* Reopened with the same small map: data intact, and it grows again. */
    xc_store_close(fx.store);
    fx.store = NULL;
    CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, fx.dir, 256 * 1024, 64 * 1024 * 1024), XC_OK);
    CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), total);
    c.base = total - PER_CALL; /* reuse slots; ids are checked above */
    CU_ASSERT_EQUAL(xc_store_write(fx.store, fill_fn, &c, &err), XC_OK);
    CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), total + PER_CALL);
  }
  fx_done(&fx);
  free(ids);
}

static void test_map_max(void) {
  enum { PER_CALL = 10, MAX_CALLS = 400 };
  fixture fx;
  char (*ids)[XC_ID_MAX] = calloc((size_t)PER_CALL * MAX_CALLS, sizeof *ids);
  xc_store_stats st;
  fill_ctx c;
  xc_err err;
  size_t calls = 0;
  size_t missing = 0;
  int rc = XC_OK;

  CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 256 * 1024, 1024 * 1024), XC_OK);
  memset(&c, 0, sizeof c);
  c.count = PER_CALL;
  c.ids = ids;
  while (calls < MAX_CALLS) {
    c.base = calls * PER_CALL;
    rc = xc_store_write(fx.store, fill_fn, &c, &err);
    if (rc != XC_OK) break;
    calls++;
  }
  CU_ASSERT_EQUAL(rc, XC_ERESOURCE_EXHAUSTED);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the database is full (map size 1048576 bytes)"));
  CU_ASSERT_TRUE(calls > 0);
  xc_store_get_stats(fx.store, &st);
  CU_ASSERT_EQUAL(st.map_size, 1024 * 1024);
  CU_ASSERT_EQUAL(st.map_growths, 2);

  /* Everything written before is intact and readable. */
  for (size_t i = 0; i < calls * PER_CALL; i++) {
    ProtobufCMessage *r = get_rec(fx.store, XC_KIND_TARGET, ids[i], NULL);
    if (r == NULL) missing++;
    xc_msg_free(r);
  }
  CU_ASSERT_EQUAL(missing, 0);
  CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), calls * PER_CALL);
  /* Still full; still readable. */
  c.base = 0;
  CU_ASSERT_EQUAL(xc_store_write(fx.store, fill_fn, &c, &err), XC_ERESOURCE_EXHAUSTED);
  CU_ASSERT_EQUAL(count_all(fx.store, XC_KIND_TARGET), calls * PER_CALL);
  fx_done(&fx);
  free(ids);
}

/* ------------------------------------------------------------ change log */

static void test_change_log(void) {
  fixture fx;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  ProtobufCMessage *v[4] = {NULL, NULL, NULL, NULL};
  const char *want_op[4] = {"create", "update", "update", "create"};
  const char *want_kind[4] = {"target", "target", "target", "round"};
  change_list log;
  uint64_t last = 0;
  xc_err err;
  xc_store *s;

  CU_ASSERT_EQUAL_FATAL(fx_open(&fx, 0, 0), XC_OK);
  s = fx.store;
  memset(&log, 0, sizeof log);
  CU_ASSERT_EQUAL(changes(s, 0, &log, &last), XC_OK);
  CU_ASSERT_EQUAL(log.n, 0);
  CU_ASSERT_EQUAL(last, 0);

  t.region_code = "310104";
  t.name = "v1";
  CU_ASSERT_EQUAL_FATAL(
      xc_store_create(s, XC_KIND_TARGET, &t.base, OWNER, AUTHOR, OWNER, NULL, NULL, &v[0], &err),
      XC_OK);
  for (int i = 1; i < 3; i++) {
    Xuncha__V1__Target u = *(Xuncha__V1__Target *)v[i - 1];
    u.name = i == 1 ? "v2" : "v3";
    CU_ASSERT_EQUAL_FATAL(xc_store_update(s, XC_KIND_TARGET, &u.base, AUTHOR, &v[i], &err),
                          XC_OK);
  }
  r.region_code = "310104";
  r.title = "第一轮";
  CU_ASSERT_EQUAL_FATAL(
      xc_store_create(s, XC_KIND_ROUND, &r.base, OWNER, AUTHOR, OWNER, NULL, NULL, &v[3], &err),
      XC_OK);

  CU_ASSERT_EQUAL(changes(s, 0, &log, &last), XC_OK);
  CU_ASSERT_EQUAL_FATAL(log.n, 4);
  CU_ASSERT_EQUAL(last, 4);
  for (int i = 0; i < 4; i++) {
    char hex[32];
    (void)snprintf(hex, sizeof hex, "%016llx", (unsigned long long)(i + 1));
    CU_ASSERT_EQUAL(log.seq[i], (uint64_t)(i + 1));
    CU_ASSERT_STRING_EQUAL(log.op[i], want_op[i]);
    CU_ASSERT_STRING_EQUAL(log.kind[i], want_kind[i]);
    CU_ASSERT_STRING_EQUAL(log.id[i], xc_msg_get_str(v[i], "id"));
    CU_ASSERT_STRING_EQUAL(log.etag[i], xc_msg_get_str(v[i], "etag"));
    CU_ASSERT_STRING_EQUAL(log.etag[i], hex);
    CU_ASSERT_STRING_EQUAL(log.rec_etag[i], log.etag[i]);
  }
  CU_ASSERT_EQUAL(changes(s, 2, &log, NULL), XC_OK);
  CU_ASSERT_EQUAL(log.n, 2);
  CU_ASSERT_EQUAL(log.seq[0], 3);
  log.stop_after = 1;
  CU_ASSERT_EQUAL(changes(s, 0, &log, NULL), XC_OK);
  CU_ASSERT_EQUAL(log.n, 1);
  log.stop_after = 0;
  CU_ASSERT_EQUAL(changes(s, 4, &log, NULL), XC_OK);
  CU_ASSERT_EQUAL(log.n, 0);
  CU_ASSERT_EQUAL(changes(s, UINT64_MAX, &log, NULL), XC_OK);
  CU_ASSERT_EQUAL(log.n, 0);

  /* The log survives a reopen and goes on from where it was. */
  xc_store_close(s);
  fx.store = NULL;
  CU_ASSERT_EQUAL_FATAL(fx_open_in(&fx, fx.dir, 0, 0), XC_OK);
  CU_ASSERT_EQUAL(create_target(fx.store, "310104", OWNER, "v5", NULL), XC_OK);
  CU_ASSERT_EQUAL(changes(fx.store, 0, &log, &last), XC_OK);
  CU_ASSERT_EQUAL(log.n, 5);
  CU_ASSERT_EQUAL(last, 5);
  for (int i = 0; i < 4; i++) xc_msg_free(v[i]);
  fx_done(&fx);
}

/* ------------------------------------------------------------------ main */

int main(void) {
  CU_pSuite s;
  unsigned failed;

  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("open", NULL, NULL);
  CU_add_test(s, "open, close, reopen keeps data", test_open_reopen);
  CU_add_test(s, "bad options", test_open_bad_options);
  CU_add_test(s, "newer format refused", test_newer_format_refused);
  s = CU_add_suite("records", NULL, NULL);
  CU_add_test(s, "create assigns server fields", test_create_assigns);
  CU_add_test(s, "get not found", test_get_not_found);
  CU_add_test(s, "get raw: the stored bytes", test_get_raw);
  CU_add_test(s, "update with a stale etag", test_update_stale_etag);
  CU_add_test(s, "update keeps owner and create time", test_update_keeps_owner);
  CU_add_test(s, "keys too long for LMDB", test_key_too_long);
  CU_add_test(s, "owner and author owned by the record", test_aliased_arguments);
  s = CU_add_suite("ids", NULL, NULL);
  CU_add_test(s, "10k ids strictly increasing", test_ids_increasing);
  CU_add_test(s, "id syntax", test_id_valid);
  CU_add_test(s, "id encoding", test_id_encoding);
  s = CU_add_suite("index", NULL, NULL);
  CU_add_test(s, "region and owner prefixes", test_index_region_owner);
  CU_add_test(s, "round, target, status, recipient", test_index_links_and_status);
  CU_add_test(s, "after_id resumes exactly", test_scan_after_id);
  s = CU_add_suite("idempotency", NULL, NULL);
  CU_add_test(s, "create once", test_create_once);
  s = CU_add_suite("writer", NULL, NULL);
  CU_add_test(s, "group commit", test_group_commit);
  CU_add_test(s, "a failing job leaves its batch alone", test_failing_job_isolated);
  CU_add_test(s, "no write from inside a write", test_write_inside_write);
  s = CU_add_suite("map", NULL, NULL);
  CU_add_test(s, "map growth", test_map_growth);
  CU_add_test(s, "map limit", test_map_max);
  s = CU_add_suite("changelog", NULL, NULL);
  CU_add_test(s, "one entry per write, in order", test_change_log);

  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
