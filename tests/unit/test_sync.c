/*
 * CUnit suites for federation (server/SYNC.md), without the network:
 *   - storage (xc_store_sync.h): replicas stored byte for byte, indexed,
 *     once per version and never over another owner's record; sync values;
 *     change-log pruning and extent; raw walks across their chunk size;
 *   - homes (xc_home.h): load errors naming the line, longest-prefix homes,
 *     upstream and downstream, the write refusal of xc_home_admit, replica
 *     checks and the lone-server behaviour after xc_home_reset;
 *   - sync (xc_sync.h): two or three stores in one process standing for a
 *     township, a county and the city. The homes map is process-global, so
 *     "which server am I" is switched with xc_home_load before each step, as
 *     each server would have it. Batches are collected from a store's change
 *     log as the engine does (origin = the server, origin_seq = the seq) and
 *     applied with xc_sync_apply: byte-identical replicas, exactly once per
 *     origin, jurisdiction refusals, pull selection, snapshots after
 *     pruning, digests, and a progress entry written on a replica that
 *     re-derives the finding on its home server.
 */
#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xc_handler.h"
#include "xc_home.h"
#include "xc_identity.h"
#include "xc_limits.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_store_sync.h"
#include "xc_sync.h"
#include "xc_text.h"
#include "xc_test_server.h"

/* Names of the test federation's servers. */
#define CITY "city-3101"
#define COUNTY "county-310104"
#define COUNTY2 "county-310105"
#define TOWN "town-310104001"

static char base[64];       /* every store and homes file lives under it */
static char homes[128];     /* the federation's homes map */
static unsigned store_no;   /* numbers store directories */

/* ------------------------------------------------------------- helpers */

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return -1;
  fputs(text, f);
  return fclose(f) == 0 ? 0 : -1;
}

static int suite_init(void) {
  (void)snprintf(base, sizeof base, "/tmp/xc-test-sync-XXXXXX");
  if (mkdtemp(base) == NULL) return -1;
  (void)snprintf(homes, sizeof homes, "%s/homes", base);
  /* Warnings of refused pushes are expected here; keep the output short. */
  xc_log_set_level(XC_LOG_ERROR);
  return write_file(homes,
                    "# the test federation\n"
                    "city-3101 = 3101\n"
                    "county-310104 = 310104\n"
                    "county-310105 = 310105\n"
                    "town-310104001 = 310104001\n");
}

static int suite_clean(void) {
  char cmd[128];
  xc_home_reset();
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : -1;
}

/* Opens a fresh store in a new directory under base. */
static xc_store *open_store(void) {
  char dir[128];
  xc_store_options o;
  xc_store *s = NULL;
  xc_err err;
  (void)snprintf(dir, sizeof dir, "%s/store-%u", base, store_no++);
  memset(&o, 0, sizeof o);
  o.dir = dir;
  if (xc_store_open(&o, &s, &err) != XC_OK) fprintf(stderr, "\n  open: %s\n", err.msg);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  return s;
}

/* Makes `self` this process's server in the test federation. */
static void be(const char *self) {
  xc_err err;
  int rc = xc_home_load(homes, self, &err);
  if (rc != XC_OK) fprintf(stderr, "\n  homes: %s\n", err.msg);
  CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
  CU_ASSERT_STRING_EQUAL_FATAL(xc_home_self(), self);
}

static void must(int rc, const xc_err *err, const char *what) {
  if (rc != XC_OK) fprintf(stderr, "\n  %s: %s\n", what, err->msg);
  CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
}

static uint64_t last_seq(xc_store *s) {
  xc_snapshot *snap = NULL;
  xc_err err;
  uint64_t v;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  v = xc_snapshot_last_change(snap);
  xc_snapshot_end(snap);
  return v;
}

static void log_info(xc_store *s, uint64_t *first, uint64_t *entries) {
  xc_snapshot *snap = NULL;
  xc_err err;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_log_info(snap, first, entries, &err), &err, "log info");
  xc_snapshot_end(snap);
}

static uint64_t sync_value(xc_store *s, const char *name) {
  xc_snapshot *snap = NULL;
  xc_err err;
  uint64_t v = 0;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_sync_get(snap, name, &v, &err), &err, "sync get");
  xc_snapshot_end(snap);
  return v;
}

static Xuncha__V1__Target *new_target(const char *region, const char *name) {
  Xuncha__V1__Target *t = malloc(sizeof *t);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  xuncha__v1__target__init(t);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "region_code", region), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "name", name), XC_OK);
  t->kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  return t;
}

/* Creates a record straight in the store (no validation: sync does not
 * care); copies its id into id_out when not NULL. */
static void put_rec(xc_store *s, xc_kind kind, ProtobufCMessage *rec, const char *owner,
                    char id_out[XC_ID_MAX]) {
  ProtobufCMessage *out = NULL;
  char author[96];
  xc_err err;
  (void)snprintf(author, sizeof author, "%s#0A", owner);
  must(xc_store_create(s, kind, rec, owner, author, owner, "", NULL, &out, &err), &err, "create");
  if (id_out != NULL) xc_strlcpy(id_out, xc_msg_get_str(out, "id"), XC_ID_MAX);
  xc_msg_free(out);
}

static void put_target(xc_store *s, const char *owner, const char *region, char id[XC_ID_MAX]) {
  Xuncha__V1__Target *t = new_target(region, "街道");
  put_rec(s, XC_KIND_TARGET, &t->base, owner, id);
  xc_msg_free(&t->base);
}

static void put_lead(xc_store *s, const char *owner, const char *region, const char *recipient,
                     char id[XC_ID_MAX]) {
  Xuncha__V1__Lead *l = malloc(sizeof *l);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  xuncha__v1__lead__init(l);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&l->base, "region_code", region), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&l->base, "recipient", recipient), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&l->base, "summary", "线索"), XC_OK);
  put_rec(s, XC_KIND_LEAD, &l->base, owner, id);
  xc_msg_free(&l->base);
}

/* ---- many records in one write */

typedef struct bulk {
  int n;
  const char *owner, *region;
  char (*ids)[XC_ID_MAX];
} bulk;

static int bulk_fn(xc_txn *txn, void *arg, xc_err *err) {
  bulk *b = arg;
  int rc = XC_OK;
  /* A write function may run twice: everything is set afresh. */
  for (int i = 0; i < b->n && rc == XC_OK; i++) {
    Xuncha__V1__Target *t = new_target(b->region, "批量");
    ProtobufCMessage *out = NULL;
    rc = xc_txn_create(txn, XC_KIND_TARGET, &t->base, b->owner, "bulk#0A", &out, err);
    if (rc == XC_OK && b->ids != NULL) xc_strlcpy(b->ids[i], xc_msg_get_str(out, "id"), XC_ID_MAX);
    xc_msg_free(out);
    xc_msg_free(&t->base);
  }
  return rc;
}

static void put_targets(xc_store *s, const char *owner, const char *region, int n,
                        char (*ids)[XC_ID_MAX]) {
  bulk b = {n, owner, region, ids};
  xc_err err;
  must(xc_store_write(s, bulk_fn, &b, &err), &err, "bulk create");
}

/* ---- raw dumps of a store */

typedef struct rec_t {
  xc_kind kind;
  char id[XC_ID_MAX];
  char owner[128];
  uint8_t *bytes;
  size_t len;
} rec_t;

typedef struct dump {
  rec_t *v;
  size_t n, cap;
} dump;

static int dump_visit(void *arg, xc_kind kind, const char *id, size_t id_len,
                      const uint8_t *packed, size_t len) {
  dump *d = arg;
  rec_t *r;
  ProtobufCMessage *m;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    rec_t *nv = realloc(d->v, cap * sizeof *nv);
    if (nv == NULL) return XC_ERESOURCE_EXHAUSTED;
    d->v = nv;
    d->cap = cap;
  }
  r = &d->v[d->n];
  memset(r, 0, sizeof *r);
  r->kind = kind;
  if (id_len >= sizeof r->id) return XC_EINTERNAL;
  memcpy(r->id, id, id_len);
  r->bytes = malloc(len > 0 ? len : 1);
  if (r->bytes == NULL) return XC_ERESOURCE_EXHAUSTED;
  if (len > 0) memcpy(r->bytes, packed, len);
  r->len = len;
  m = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, len, packed);
  if (m != NULL) xc_strlcpy(r->owner, xc_msg_get_str(m, "owner"), sizeof r->owner);
  xc_msg_free(m);
  d->n++;
  return 0;
}

static void dump_free(dump *d) {
  for (size_t i = 0; i < d->n; i++) free(d->v[i].bytes);
  free(d->v);
  memset(d, 0, sizeof *d);
}

/* Every record of every kind, in kind and id order. */
static void dump_store(xc_store *s, dump *d) {
  xc_snapshot *snap = NULL;
  xc_err err;
  memset(d, 0, sizeof *d);
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    if (!xc_kind_used((xc_kind)k)) continue;
    must(xc_snapshot_walk_kind(snap, (xc_kind)k, NULL, dump_visit, d, &err), &err, "scan raw");
  }
  xc_snapshot_end(snap);
}

static const rec_t *dump_find(const dump *d, const char *id) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->v[i].id, id) == 0) return &d->v[i];
  return NULL;
}

/* The bytes of record id in s (NULL when absent); the caller frees. */
static uint8_t *raw_of(xc_store *s, const char *id, size_t *len) {
  dump d;
  const rec_t *r;
  uint8_t *out = NULL;
  dump_store(s, &d);
  r = dump_find(&d, id);
  if (r != NULL) {
    out = malloc(r->len > 0 ? r->len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    if (r->len > 0) memcpy(out, r->bytes, r->len);
    *len = r->len;
  }
  dump_free(&d);
  return out;
}

/* Counts the records of `from` whose owner is at home on server `origin`
 * and checks that `to` holds each of them byte for byte. */
static size_t same_records(xc_store *from, xc_store *to, const char *origin) {
  dump a, b;
  size_t n = 0;
  dump_store(from, &a);
  dump_store(to, &b);
  for (size_t i = 0; i < a.n; i++) {
    const char *home = xc_home_of(a.v[i].owner);
    const rec_t *r;
    if (home == NULL || strcmp(home, origin) != 0) continue;
    n++;
    r = dump_find(&b, a.v[i].id);
    CU_ASSERT_PTR_NOT_NULL(r);
    if (r == NULL) continue;
    CU_ASSERT_EQUAL(r->len, a.v[i].len);
    CU_ASSERT(r->len == a.v[i].len && memcmp(r->bytes, a.v[i].bytes, r->len) == 0);
  }
  /* ... and nothing of that origin the other does not hold. */
  for (size_t i = 0; i < b.n; i++) {
    const char *home = xc_home_of(b.v[i].owner);
    if (home != NULL && strcmp(home, origin) == 0) CU_ASSERT_PTR_NOT_NULL(dump_find(&a, b.v[i].id));
  }
  dump_free(&a);
  dump_free(&b);
  return n;
}

/* Returns 1 if both stores hold exactly the same bytes for every record. */
static int dumps_equal(const dump *a, const dump *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].kind != b->v[i].kind || strcmp(a->v[i].id, b->v[i].id) != 0 ||
        a->v[i].len != b->v[i].len || memcmp(a->v[i].bytes, b->v[i].bytes, a->v[i].len) != 0)
      return 0;
  return 1;
}

/* ---- change batches, collected as the engine collects them */

typedef struct batch {
  Xuncha__V1__Change **v;
  size_t n, max;
  uint64_t upto;
  int all; /* 1: keep every change, not only those at or below self */
} batch;

static int batch_visit(void *arg, ProtobufCMessage *m) {
  batch *b = arg;
  Xuncha__V1__Change *c = (Xuncha__V1__Change *)m;
  const char *origin = c->origin[0] != '\0' ? c->origin : xc_home_self();
  if (b->n == b->max) {
    xc_msg_free(m);
    return 1;
  }
  b->upto = c->seq;
  if (!b->all && !xc_home_within(origin, xc_home_self())) {
    xc_msg_free(m);
    return 0;
  }
  if (c->origin_seq == 0) c->origin_seq = c->seq;
  if (xc_msg_set_str(m, "origin", origin) != XC_OK) {
    xc_msg_free(m);
    return XC_ERESOURCE_EXHAUSTED;
  }
  b->v[b->n++] = c;
  return 0;
}

/* The changes of s after `after` that this server (the current self)
 * pushes up (all: every change of the log), at most max. */
static void collect_mode(xc_store *s, uint64_t after, size_t max, int all, batch *b) {
  xc_snapshot *snap = NULL;
  xc_err err;
  memset(b, 0, sizeof *b);
  b->all = all;
  b->max = max;
  b->upto = after;
  b->v = calloc(max > 0 ? max : 1, sizeof *b->v);
  CU_ASSERT_PTR_NOT_NULL_FATAL(b->v);
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_changes(snap, after, batch_visit, b, &err), &err, "changes");
  xc_snapshot_end(snap);
}

static void collect(xc_store *s, uint64_t after, size_t max, batch *b) {
  collect_mode(s, after, max, 0, b);
}

static void batch_free(batch *b) {
  for (size_t i = 0; i < b->n; i++) xc_msg_free(&b->v[i]->base);
  free(b->v);
  memset(b, 0, sizeof *b);
}

/* Applies a batch pushed by `pusher` (the current self is the receiver). */
static int push_apply(xc_store *to, const char *pusher, Xuncha__V1__Change *const *v, size_t n,
                      uint64_t upto, uint32_t *applied, uint32_t *skipped, xc_err *err) {
  char cursor[96], seen[96];
  (void)snprintf(cursor, sizeof cursor, "peer/%s/pushed", pusher);
  (void)snprintf(seen, sizeof seen, "peer/%s/push_time", pusher);
  return xc_sync_apply(to, v, n, cursor, upto, seen, NULL, applied, skipped, err);
}

/* ---- handlers with a hand-made context */

/* ============================================================== storage */

typedef struct repl {
  xc_kind kind;
  const uint8_t *data;
  size_t len;
  const char *origin;
  uint64_t origin_seq;
  int changed;
} repl;

static int repl_fn(xc_txn *txn, void *arg, xc_err *err) {
  repl *r = arg;
  r->changed = -1;
  return xc_txn_replicate(txn, r->kind, r->data, r->len, r->origin, r->origin_seq, &r->changed,
                          err);
}

static int replicate(xc_store *s, xc_kind kind, const uint8_t *data, size_t len, uint64_t oseq,
                     int *changed, xc_err *err) {
  repl r = {kind, data, len, COUNTY, oseq, -1};
  int rc = xc_store_write(s, repl_fn, &r, err);
  *changed = r.changed;
  return rc;
}

static int count_visit(void *arg, ProtobufCMessage *m) {
  size_t *n = arg;
  (*n)++;
  xc_msg_free(m);
  return 0;
}

static size_t count_index(xc_store *s, xc_kind kind, xc_index index, const char *key) {
  xc_snapshot *snap = NULL;
  xc_err err;
  size_t n = 0;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_scan(snap, kind, index, key, NULL, count_visit, &n, &err), &err, "scan");
  xc_snapshot_end(snap);
  return n;
}

static void test_replicate(void) {
  xc_store *src = open_store(), *dst = open_store();
  char id[XC_ID_MAX];
  uint8_t *v1 = NULL, *v2 = NULL, *got = NULL, *pk = NULL;
  size_t l1 = 0, l2 = 0, lg = 0, lpk = 0;
  uint64_t first = 0, entries = 0;
  batch b;
  int changed = -1;
  xc_err err;
  xc_home_reset();

  put_target(src, "office:310104", "310104001", id);
  v1 = raw_of(src, id, &l1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(v1);

  /* Stored as it came: the very bytes, indexed, with one log entry that
   * keeps its origin. */
  must(replicate(dst, XC_KIND_TARGET, v1, l1, 7, &changed, &err), &err, "replicate");
  CU_ASSERT_EQUAL(changed, 1);
  got = raw_of(dst, id, &lg);
  CU_ASSERT_PTR_NOT_NULL_FATAL(got);
  CU_ASSERT_EQUAL(lg, l1);
  CU_ASSERT(lg == l1 && memcmp(got, v1, l1) == 0);
  free(got);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_REGION, "310104"), 1);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_REGION, "310104001"), 1);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_REGION, "310105"), 0);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_OWNER, "310104"), 1);
  CU_ASSERT_EQUAL(last_seq(dst), 1);
  collect_mode(dst, 0, 10, 1, &b);
  CU_ASSERT_EQUAL_FATAL(b.n, 1);
  CU_ASSERT_STRING_EQUAL(b.v[0]->op, "create");
  CU_ASSERT_STRING_EQUAL(b.v[0]->id, id);
  CU_ASSERT_STRING_EQUAL(b.v[0]->origin, COUNTY);
  CU_ASSERT_EQUAL(b.v[0]->origin_seq, 7);
  CU_ASSERT(b.v[0]->record.len == l1 && memcmp(b.v[0]->record.data, v1, l1) == 0);
  batch_free(&b);

  /* The same version again: nothing written, no log entry. */
  must(replicate(dst, XC_KIND_TARGET, v1, l1, 8, &changed, &err), &err, "replicate again");
  CU_ASSERT_EQUAL(changed, 0);
  CU_ASSERT_EQUAL(last_seq(dst), 1);
  log_info(dst, &first, &entries);
  CU_ASSERT_EQUAL(entries, 1);
  CU_ASSERT_EQUAL(first, 1);

  /* A newer version replaces it. */
  {
    Xuncha__V1__Target *t = NULL;
    ProtobufCMessage *out = NULL;
    xc_snapshot *snap = NULL;
    must(xc_snapshot_begin(src, &snap, &err), &err, "snapshot");
    must(xc_snapshot_get(snap, XC_KIND_TARGET, id, (ProtobufCMessage **)&t, &err), &err, "get");
    xc_snapshot_end(snap);
    CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "name", "新名称"), XC_OK);
    must(xc_store_update(src, XC_KIND_TARGET, &t->base, "office:310104#0A", &out, &err), &err,
         "update");
    xc_msg_free(out);
    xc_msg_free(&t->base);
  }
  v2 = raw_of(src, id, &l2);
  CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
  CU_ASSERT(l2 != l1 || memcmp(v1, v2, l1) != 0);
  must(replicate(dst, XC_KIND_TARGET, v2, l2, 9, &changed, &err), &err, "replicate newer");
  CU_ASSERT_EQUAL(changed, 1);
  got = raw_of(dst, id, &lg);
  CU_ASSERT(got != NULL && lg == l2 && memcmp(got, v2, l2) == 0);
  free(got);
  CU_ASSERT_EQUAL(last_seq(dst), 2);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_REGION, "310104"), 1);
  collect_mode(dst, 1, 10, 1, &b);
  CU_ASSERT_EQUAL_FATAL(b.n, 1);
  CU_ASSERT_STRING_EQUAL(b.v[0]->op, "update");
  CU_ASSERT_EQUAL(b.v[0]->origin_seq, 9);
  batch_free(&b);

  /* The same id with another owner: refused, nothing written. */
  {
    Xuncha__V1__Target *t = (Xuncha__V1__Target *)protobuf_c_message_unpack(
        &xuncha__v1__target__descriptor, NULL, l2, v2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "owner", "office:310105"), XC_OK);
    CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "etag", "zzzzzzzz"), XC_OK);
    pk = xc_msg_pack(&t->base, 0, &lpk);
    xc_msg_free(&t->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
  }
  CU_ASSERT_EQUAL(replicate(dst, XC_KIND_TARGET, pk, lpk, 10, &changed, &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "office:310104"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "office:310105"));
  CU_ASSERT_EQUAL(last_seq(dst), 2);
  got = raw_of(dst, id, &lg);
  CU_ASSERT(got != NULL && lg == l2 && memcmp(got, v2, l2) == 0);
  free(got);
  CU_ASSERT_EQUAL(count_index(dst, XC_KIND_TARGET, XC_INDEX_OWNER, "310105"), 0);
  free(pk);

  /* Malformed bytes, a record with no id, no owner, or the wrong kind. */
  {
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
    CU_ASSERT_EQUAL(replicate(dst, XC_KIND_TARGET, junk, sizeof junk, 11, &changed, &err),
                    XC_EINVALID_ARGUMENT);
    t.name = "无编号";
    t.owner = "office:310104";
    t.etag = "abcdefgh";
    pk = xc_msg_pack(&t.base, 0, &lpk);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
    CU_ASSERT_EQUAL(replicate(dst, XC_KIND_TARGET, pk, lpk, 11, &changed, &err),
                    XC_EINVALID_ARGUMENT);
    free(pk);
    t.id = "t_00000000000000000000000001";
    t.owner = "";
    pk = xc_msg_pack(&t.base, 0, &lpk);
    CU_ASSERT_EQUAL(replicate(dst, XC_KIND_TARGET, pk, lpk, 11, &changed, &err),
                    XC_EINVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no owner or etag"));
    /* A target's bytes offered as a finding: the id is not a finding id. */
    CU_ASSERT_EQUAL(replicate(dst, XC_KIND_FINDING, v2, l2, 11, &changed, &err),
                    XC_EINVALID_ARGUMENT);
    free(pk);
    CU_ASSERT_EQUAL(last_seq(dst), 2);
  }
  free(v1);
  free(v2);
  xc_store_close(src);
  xc_store_close(dst);
}

/* ---- sync values */

typedef struct seen_vals {
  char names[8][64];
  uint64_t vals[8];
  int n, stop_after;
} seen_vals;

static int vals_visit(void *arg, const char *name, uint64_t value) {
  seen_vals *s = arg;
  if (s->n < 8) {
    xc_strlcpy(s->names[s->n], name, sizeof s->names[0]);
    s->vals[s->n] = value;
  }
  s->n++;
  return s->stop_after > 0 && s->n >= s->stop_after;
}

typedef struct put_vals {
  const char *const *names;
  const uint64_t *vals;
  int n;
  uint64_t read_back; /* "origin/b" read inside the same write */
} put_vals;

static int put_vals_fn(xc_txn *txn, void *arg, xc_err *err) {
  put_vals *p = arg;
  int rc = XC_OK;
  for (int i = 0; i < p->n && rc == XC_OK; i++) rc = xc_txn_sync_put(txn, p->names[i], p->vals[i], err);
  if (rc == XC_OK) rc = xc_txn_sync_get(txn, "origin/b", &p->read_back, err);
  return rc;
}

static void test_sync_values(void) {
  static const char *const names[] = {"origin/b", "origin/a", "push/" CITY, "originx", "origin/c"};
  static const uint64_t vals[] = {7, 5, 9, 1, UINT64_MAX};
  xc_store *s = open_store();
  put_vals p = {names, vals, 5, 0};
  seen_vals sv;
  xc_snapshot *snap = NULL;
  char longname[XC_SYNC_KEY_MAX + 2];
  uint64_t v = 42;
  xc_err err;

  must(xc_store_write(s, put_vals_fn, &p, &err), &err, "put values");
  CU_ASSERT_EQUAL(p.read_back, 7);
  CU_ASSERT_EQUAL(sync_value(s, "origin/a"), 5);
  CU_ASSERT_EQUAL(sync_value(s, "origin/c"), UINT64_MAX);
  CU_ASSERT_EQUAL(sync_value(s, "push/" CITY), 9);
  CU_ASSERT_EQUAL(sync_value(s, "origin/none"), 0);
  /* Values are not records: the log does not move. */
  CU_ASSERT_EQUAL(last_seq(s), 0);

  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  memset(&sv, 0, sizeof sv);
  must(xc_snapshot_sync_values(snap, "origin/", vals_visit, &sv, &err), &err, "values");
  CU_ASSERT_EQUAL(sv.n, 3);
  CU_ASSERT_STRING_EQUAL(sv.names[0], "origin/a");
  CU_ASSERT_STRING_EQUAL(sv.names[1], "origin/b");
  CU_ASSERT_STRING_EQUAL(sv.names[2], "origin/c");
  CU_ASSERT_EQUAL(sv.vals[0], 5);
  CU_ASSERT_EQUAL(sv.vals[1], 7);
  CU_ASSERT_EQUAL(sv.vals[2], UINT64_MAX);
  memset(&sv, 0, sizeof sv);
  sv.stop_after = 2;
  must(xc_snapshot_sync_values(snap, "origin/", vals_visit, &sv, &err), &err, "values");
  CU_ASSERT_EQUAL(sv.n, 2);
  memset(&sv, 0, sizeof sv);
  must(xc_snapshot_sync_values(snap, "", vals_visit, &sv, &err), &err, "values");
  CU_ASSERT_EQUAL(sv.n, 5);
  memset(&sv, 0, sizeof sv);
  must(xc_snapshot_sync_values(snap, NULL, vals_visit, &sv, &err), &err, "values");
  CU_ASSERT_EQUAL(sv.n, 5);
  memset(&sv, 0, sizeof sv);
  must(xc_snapshot_sync_values(snap, "zzz", vals_visit, &sv, &err), &err, "values");
  CU_ASSERT_EQUAL(sv.n, 0);
  /* Names: 1 to XC_SYNC_KEY_MAX bytes. */
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CU_ASSERT_EQUAL(xc_snapshot_sync_get(snap, longname, &v, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_snapshot_sync_get(snap, "", &v, &err), XC_EINVALID_ARGUMENT);
  longname[XC_SYNC_KEY_MAX] = '\0';
  CU_ASSERT_EQUAL(xc_snapshot_sync_get(snap, longname, &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, 0);
  xc_snapshot_end(snap);
  {
    static const char *const bad[] = {""};
    static const uint64_t one[] = {1};
    put_vals q = {bad, one, 1, 0};
    CU_ASSERT_EQUAL(xc_store_write(s, put_vals_fn, &q, &err), XC_EINVALID_ARGUMENT);
  }
  xc_store_close(s);
}

/* ---- change-log pruning */

typedef struct prune_arg {
  uint64_t upto;
  size_t max, removed;
} prune_arg;

static int prune_fn(xc_txn *txn, void *arg, xc_err *err) {
  prune_arg *p = arg;
  return xc_txn_log_prune(txn, p->upto, p->max, &p->removed, err);
}

static size_t prune(xc_store *s, uint64_t upto, size_t max) {
  prune_arg p = {upto, max, 0};
  xc_err err;
  must(xc_store_write(s, prune_fn, &p, &err), &err, "prune");
  return p.removed;
}

static void test_log_prune(void) {
  xc_store *s = open_store();
  uint64_t first = 99, entries = 99;
  batch b;

  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 0);
  CU_ASSERT_EQUAL(entries, 0);
  put_targets(s, "office:310104", "310104001", 10, NULL);
  CU_ASSERT_EQUAL(last_seq(s), 10);
  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 1);
  CU_ASSERT_EQUAL(entries, 10);

  CU_ASSERT_EQUAL(prune(s, 0, 100), 0);
  CU_ASSERT_EQUAL(prune(s, 4, 100), 4);
  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 5);
  CU_ASSERT_EQUAL(entries, 6);
  CU_ASSERT_EQUAL(last_seq(s), 10);
  /* At most max, oldest first. */
  CU_ASSERT_EQUAL(prune(s, 9, 2), 2);
  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 7);
  CU_ASSERT_EQUAL(entries, 4);
  /* What is left is exactly 7..10, still readable. */
  collect_mode(s, 0, 20, 1, &b);
  CU_ASSERT_EQUAL_FATAL(b.n, 4);
  for (size_t i = 0; i < b.n; i++) CU_ASSERT_EQUAL(b.v[i]->seq, 7 + i);
  batch_free(&b);
  /* Everything: the log is empty, the newest seq is kept. */
  CU_ASSERT_EQUAL(prune(s, 1000, 100), 4);
  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 0);
  CU_ASSERT_EQUAL(entries, 0);
  CU_ASSERT_EQUAL(last_seq(s), 10);
  CU_ASSERT_EQUAL(prune(s, 1000, 100), 0);
  /* Sequence numbers never go back. */
  put_targets(s, "office:310104", "310104001", 1, NULL);
  CU_ASSERT_EQUAL(last_seq(s), 11);
  log_info(s, &first, &entries);
  CU_ASSERT_EQUAL(first, 11);
  CU_ASSERT_EQUAL(entries, 1);
  collect_mode(s, 0, 20, 1, &b);
  CU_ASSERT_EQUAL(b.n, 1);
  if (b.n == 1) CU_ASSERT_EQUAL(b.v[0]->seq, 11);
  batch_free(&b);
  xc_store_close(s);
}

/* ---- raw walks */

typedef struct walk {
  char (*ids)[XC_ID_MAX];
  size_t n, cap;
  size_t stop_at;
  int fail_at; /* return an error at this visit (1-based), 0: never */
  int bad;
} walk;

static int walk_visit(void *arg, xc_kind kind, const char *id, size_t id_len,
                      const uint8_t *packed, size_t len) {
  walk *w = arg;
  Xuncha__V1__Target *t;
  if (kind != XC_KIND_TARGET || id_len >= XC_ID_MAX) w->bad++;
  if (w->fail_at > 0 && (int)w->n + 1 == w->fail_at) return XC_EDATA_LOSS;
  if (w->n < w->cap) {
    memcpy(w->ids[w->n], id, id_len);
    w->ids[w->n][id_len] = '\0';
  }
  /* The bytes are the record itself, with its own id inside. */
  t = (Xuncha__V1__Target *)protobuf_c_message_unpack(&xuncha__v1__target__descriptor, NULL, len,
                                                      packed);
  if (t == NULL || strlen(t->id) != id_len || memcmp(t->id, id, id_len) != 0) w->bad++;
  xc_msg_free(t ? &t->base : NULL);
  w->n++;
  return w->stop_at > 0 && w->n >= w->stop_at ? 1 : 0;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void test_scan_raw_paging(void) {
  enum { N = 1100 }; /* more than two chunks of 512 */
  xc_store *s = open_store();
  char (*ids)[XC_ID_MAX] = calloc(N, XC_ID_MAX);
  char (*got)[XC_ID_MAX] = calloc(N + 10, XC_ID_MAX);
  xc_snapshot *snap = NULL;
  walk w;
  xc_err err;
  CU_ASSERT_FATAL(ids != NULL && got != NULL);
  put_targets(s, "office:310104", "310104001", N, ids);
  /* Records of another kind must not show in a walk of targets. */
  put_lead(s, "office:310104", "310104001", "agency:310104:jw", NULL);
  qsort(ids, N, XC_ID_MAX, cmp_id);

  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, NULL, walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, N);
  CU_ASSERT_EQUAL(w.bad, 0);
  if (w.n == N)
    for (size_t i = 0; i < N; i++) CU_ASSERT_STRING_EQUAL(got[i], ids[i]);

  /* From after an id in the middle of the second chunk. */
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, ids[599], walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, N - 600);
  if (w.n == N - 600)
    for (size_t i = 0; i < w.n; i++) CU_ASSERT_STRING_EQUAL(got[i], ids[600 + i]);
  /* From after the chunk boundary itself, and after the last. */
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, ids[511], walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, N - 512);
  if (w.n > 0) CU_ASSERT_STRING_EQUAL(got[0], ids[512]);
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, ids[N - 1], walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, 0);
  /* A visit that stops, at a chunk boundary too, and one that fails. */
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  w.stop_at = 512;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, NULL, walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, 512);
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  w.stop_at = 3;
  must(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, NULL, walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, 3);
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  w.fail_at = 700;
  CU_ASSERT_EQUAL(xc_snapshot_walk_kind(snap, XC_KIND_TARGET, NULL, walk_visit, &w, &err),
                  XC_EDATA_LOSS);
  CU_ASSERT_EQUAL(w.n, 699);
  /* The lead is the only lead. */
  memset(&w, 0, sizeof w);
  w.ids = got;
  w.cap = N + 10;
  must(xc_snapshot_walk_kind(snap, XC_KIND_LEAD, NULL, walk_visit, &w, &err), &err, "walk");
  CU_ASSERT_EQUAL(w.n, 1);
  xc_snapshot_end(snap);
  free(ids);
  free(got);
  xc_store_close(s);
}

/* ================================================================ homes */

/* Loads `text` as a homes map with self; returns the code, err filled. */
static int load_text(const char *text, const char *self, xc_err *err) {
  char path[128];
  (void)snprintf(path, sizeof path, "%s/homes-test", base);
  CU_ASSERT_EQUAL_FATAL(write_file(path, text), 0);
  xc_err_clear(err);
  return xc_home_load(path, self, err);
}

/* Checks a load is refused with a message containing each of want[]. */
static void refused(const char *text, const char *self, const char *want1, const char *want2) {
  xc_err err;
  int rc = load_text(text, self, &err);
  CU_ASSERT_EQUAL(rc, XC_EINVALID_ARGUMENT);
  if (want1 != NULL && strstr(err.msg, want1) == NULL) {
    fprintf(stderr, "\n  '%s' lacks '%s'\n", err.msg, want1);
    CU_FAIL("message");
  }
  if (want2 != NULL && strstr(err.msg, want2) == NULL) {
    fprintf(stderr, "\n  '%s' lacks '%s'\n", err.msg, want2);
    CU_FAIL("message");
  }
}

static void test_home_load_errors(void) {
  xc_err err;
  char missing[128];
  be(COUNTY);
  refused("city-3101 = 3101\nbad!name = 310104\n", CITY, "homes-test:2:", "bad!name");
  refused("city-3101 = 3101\ncounty-310104 = 31010\n", CITY, "homes-test:2:", "31010");
  refused("city-3101 = 3101\ncounty-310104 = 310104\ncity-3101 = 310105\n", CITY,
          "homes-test:3:", "city-3101 is given twice");
  refused("city-3101 = 3101\ncounty-a = 310104\ncounty-b = 310104\n", CITY, "homes-test:3:",
          "310104 is given twice");
  refused("city-3101 = 3101\n[servers]\ncounty-310104 = 310104\n", CITY, "homes-test:3:",
          "unknown section [servers]");
  refused("city-3101 = 3101\njust words\n", CITY, "homes-test:2:", "NAME = REGION");
  refused("city-3101 = 3101\ncounty-310104 = 310104\n", "county-310105", "county-310105",
          "does not name this server");
  refused("# nothing\n", CITY, "names no server", NULL);
  /* A [homes] section is allowed. */
  CU_ASSERT_EQUAL(load_text("[homes]\nx-31 = 31\n", "x-31", &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(xc_home_self(), "x-31");
  /* A refused load keeps the map that was there. */
  refused("x-31 = 31\ny = 1\n", "x-31", "homes-test:2:", NULL);
  CU_ASSERT_STRING_EQUAL(xc_home_self(), "x-31");
  CU_ASSERT_STRING_EQUAL(xc_home_self_region(), "31");
  (void)snprintf(missing, sizeof missing, "%s/no-such-file", base);
  CU_ASSERT_EQUAL(xc_home_load(missing, CITY, &err), XC_ENOT_FOUND);
  CU_ASSERT_STRING_EQUAL(xc_home_self(), "x-31");
  xc_home_reset();
}

static void test_home_lookup(void) {
  be(COUNTY);
  CU_ASSERT_TRUE(xc_home_enabled());
  CU_ASSERT_STRING_EQUAL(xc_home_self_region(), "310104");
  CU_ASSERT_STRING_EQUAL(xc_home_region_of(TOWN), "310104001");
  CU_ASSERT_PTR_NULL(xc_home_region_of("nobody"));
  /* Longest prefix: a township without a server of its own is at home on
   * its county; one with its own server on that. */
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310104002"), COUNTY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310104002003"), COUNTY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310104001"), TOWN);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310104001002"), TOWN);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310104"), COUNTY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:3101"), CITY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("agency:3101:jw"), CITY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("agency:310104:jw"), COUNTY);
  CU_ASSERT_STRING_EQUAL(xc_home_of("office:310106"), CITY);
  CU_ASSERT_PTR_NULL(xc_home_of("office:3201"));
  CU_ASSERT_PTR_NULL(xc_home_of("admin:3101"));
  CU_ASSERT_PTR_NULL(xc_home_of(NULL));
  CU_ASSERT_STRING_EQUAL(xc_home_of_region("310105009"), COUNTY2);
  CU_ASSERT_TRUE(xc_home_is_here("office:310104002"));
  CU_ASSERT_FALSE(xc_home_is_here("office:310104001"));
  CU_ASSERT_FALSE(xc_home_is_here("office:3101"));
  CU_ASSERT_FALSE(xc_home_is_here("office:3201"));

  /* Upstream and downstreams, for each server. */
  CU_ASSERT_STRING_EQUAL(xc_home_upstream(), CITY);
  CU_ASSERT_TRUE(xc_home_is_downstream(TOWN));
  CU_ASSERT_FALSE(xc_home_is_downstream(CITY));
  CU_ASSERT_FALSE(xc_home_is_downstream(COUNTY2));
  CU_ASSERT_FALSE(xc_home_is_downstream(COUNTY));
  be(CITY);
  CU_ASSERT_PTR_NULL(xc_home_upstream());
  CU_ASSERT_TRUE(xc_home_is_downstream(COUNTY));
  CU_ASSERT_TRUE(xc_home_is_downstream(COUNTY2));
  CU_ASSERT_FALSE(xc_home_is_downstream(TOWN)); /* the county's, not ours */
  CU_ASSERT_FALSE(xc_home_is_downstream("nobody"));
  be(TOWN);
  CU_ASSERT_STRING_EQUAL(xc_home_upstream(), COUNTY);
  CU_ASSERT_FALSE(xc_home_is_downstream(COUNTY));

  /* Within: the server itself or below it. */
  CU_ASSERT_TRUE(xc_home_within(TOWN, CITY));
  CU_ASSERT_TRUE(xc_home_within(TOWN, COUNTY));
  CU_ASSERT_TRUE(xc_home_within(COUNTY, COUNTY));
  CU_ASSERT_FALSE(xc_home_within(COUNTY, TOWN));
  CU_ASSERT_FALSE(xc_home_within(COUNTY2, COUNTY));
  CU_ASSERT_FALSE(xc_home_within(TOWN, COUNTY2));
  CU_ASSERT_FALSE(xc_home_within("nobody", CITY));
  CU_ASSERT_FALSE(xc_home_within(CITY, "nobody"));
}

static xc_ctx id_ctx(const char *cn) {
  xc_ctx c;
  xc_err err;
  memset(&c, 0, sizeof c);
  CU_ASSERT_EQUAL_FATAL(xc_identity_parse(cn, "0A", &c.id, &err), XC_OK);
  c.has_identity = 1;
  return c;
}

static void test_home_admit(void) {
  static const char *const writes[] = {
      "/xuncha.v1.Targets/CreateTarget", "/xuncha.v1.Findings/UpdateFinding",
      "/xuncha.v1.Records/VoidRecord", "/xuncha.v1.Findings/AppendProgress",
      "/xuncha.v1.Rounds/AdvanceRound", "/xuncha.v1.Leads/RecordDisposition",
      "/xuncha.v1.Findings/VerifyRectification", "/xuncha.v1.Findings/RevokeVerification",
      "/xuncha.v1.Directory/CreateDirectoryEntry", "/xuncha.v1.Terms/CreateTerm",
      "/xuncha.v1.Pool/UpdateInspector", "/xuncha.v1.Import/ImportRecords",
      "/xuncha.v1.Archive/UploadDocument", "/xuncha.v1.Archive/UpdateDocument"};
  static const char *const reads[] = {"/xuncha.v1.Targets/GetTarget",
                                      "/xuncha.v1.Findings/ListFindings",
                                      "/xuncha.v1.Reports/GetSummary",
                                      "/xuncha.v1.Leads/ListDispositions",
                                      "/xuncha.v1.Pool/SuggestInspectors",
                                      "/xuncha.v1.Archive/DownloadDocument",
                                      "/xuncha.v1.Sync/Push",
                                      "/xuncha.v1.Sync/Pull"};
  xc_ctx other = id_ctx("office:310105"), town = id_ctx("office:310104001"),
         own = id_ctx("office:310104"), village = id_ctx("office:310104002"),
         jw = id_ctx("agency:310104:jw"), cityjw = id_ctx("agency:3101:jw"),
         admin = id_ctx("admin:3101"), lost = id_ctx("office:3201");
  xc_err err;
  be(COUNTY);
  for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
    xc_err_clear(&err);
    CU_ASSERT_EQUAL(xc_home_admit(&other, writes[i], &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "on server " COUNTY2));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "office:310105"));
    CU_ASSERT_EQUAL(xc_home_admit(&town, writes[i], &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, TOWN));
    CU_ASSERT_EQUAL(xc_home_admit(&cityjw, writes[i], &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, CITY));
    CU_ASSERT_EQUAL(xc_home_admit(&lost, writes[i], &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no home server"));
    CU_ASSERT_EQUAL(xc_home_admit(&own, writes[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&village, writes[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&jw, writes[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&admin, writes[i], &err), XC_OK);
  }
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    CU_ASSERT_EQUAL(xc_home_admit(&other, reads[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&town, reads[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&lost, reads[i], &err), XC_OK);
  }
  /* Replicas: only records whose owner is at home here may change. */
  CU_ASSERT_EQUAL(xc_home_check_replica(XC_KIND_FINDING, "f_00000000000000000000000001",
                                        "office:310104002", &err),
                  XC_OK);
  CU_ASSERT_EQUAL(xc_home_check_replica(XC_KIND_FINDING, "f_00000000000000000000000001",
                                        "office:3101", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "f_00000000000000000000000001"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "office:3101"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "server " CITY));
  CU_ASSERT_EQUAL(xc_home_check_replica(XC_KIND_TARGET, "t_00000000000000000000000001",
                                        "office:310104001", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, TOWN));

  /* Without a map: a lone server, where everything is at home. */
  xc_home_reset();
  CU_ASSERT_FALSE(xc_home_enabled());
  CU_ASSERT_STRING_EQUAL(xc_home_self(), "");
  CU_ASSERT_PTR_NULL(xc_home_upstream());
  CU_ASSERT_TRUE(xc_home_is_here("office:310105"));
  CU_ASSERT_TRUE(xc_home_is_here("office:3201"));
  CU_ASSERT_FALSE(xc_home_is_downstream(COUNTY));
  for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
    CU_ASSERT_EQUAL(xc_home_admit(&other, writes[i], &err), XC_OK);
    CU_ASSERT_EQUAL(xc_home_admit(&lost, writes[i], &err), XC_OK);
  }
  CU_ASSERT_EQUAL(xc_home_check_replica(XC_KIND_FINDING, "f_00000000000000000000000001",
                                        "office:3101", &err),
                  XC_OK);
}

/* ================================================================= sync */

static uint32_t apply_ok(xc_store *to, const char *pusher, const batch *b, uint32_t *skipped) {
  uint32_t applied = 99, sk = 99;
  xc_err err;
  must(push_apply(to, pusher, b->v, b->n, b->upto, &applied, &sk, &err), &err, "apply");
  if (skipped != NULL) *skipped = sk;
  return applied;
}

/* Updates the name of target id in s (a new version with a new etag). */
static void rename_target(xc_store *s, const char *id, const char *name) {
  Xuncha__V1__Target *t = NULL;
  ProtobufCMessage *out = NULL;
  xc_snapshot *snap = NULL;
  xc_err err;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_get(snap, XC_KIND_TARGET, id, (ProtobufCMessage **)&t, &err), &err, "get");
  xc_snapshot_end(snap);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&t->base, "name", name), XC_OK);
  must(xc_store_update(s, XC_KIND_TARGET, &t->base, "x#0A", &out, &err), &err, "update");
  xc_msg_free(out);
  xc_msg_free(&t->base);
}

static void test_apply_exactly_once(void) {
  xc_store *county = open_store(), *city = open_store();
  char ids[10][XC_ID_MAX];
  batch all, again;
  dump d1, d2;
  uint32_t skipped = 0;
  xc_err err;

  be(COUNTY);
  put_targets(county, "office:310104", "310104001", 6, ids);
  /* A township without a server of its own is at home on the county. */
  put_targets(county, "office:310104002", "310104002", 4, ids + 6);
  collect(county, 0, 100, &all);
  CU_ASSERT_EQUAL_FATAL(all.n, 10);
  CU_ASSERT_EQUAL(all.upto, 10);
  for (size_t i = 0; i < all.n; i++) {
    CU_ASSERT_STRING_EQUAL(all.v[i]->origin, COUNTY);
    CU_ASSERT_EQUAL(all.v[i]->origin_seq, i + 1);
  }

  be(CITY);
  CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, all.v, all.n, &err), XC_OK);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &all, &skipped), 10);
  CU_ASSERT_EQUAL(skipped, 0);
  CU_ASSERT_EQUAL(same_records(county, city, COUNTY), 10);
  CU_ASSERT_EQUAL(last_seq(city), 10);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 10);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 10);
  CU_ASSERT_NOT_EQUAL(sync_value(city, "peer/" COUNTY "/push_time"), 0);
  /* The city's log keeps who made each change and its number there, so
   * it can hand them on. */
  collect_mode(city, 0, 100, 1, &again);
  CU_ASSERT_EQUAL_FATAL(again.n, 10);
  for (size_t i = 0; i < again.n; i++) {
    CU_ASSERT_STRING_EQUAL(again.v[i]->origin, COUNTY);
    CU_ASSERT_EQUAL(again.v[i]->origin_seq, all.v[i]->origin_seq);
    CU_ASSERT_STRING_EQUAL(again.v[i]->id, all.v[i]->id);
  }
  batch_free(&again);

  /* The same batch again changes nothing. */
  dump_store(city, &d1);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &all, &skipped), 0);
  CU_ASSERT_EQUAL(skipped, 10);
  CU_ASSERT_EQUAL(last_seq(city), 10);
  dump_store(city, &d2);
  CU_ASSERT_TRUE(dumps_equal(&d1, &d2));
  dump_free(&d1);
  dump_free(&d2);
  /* An empty batch moves only the cursor, and only forward. */
  {
    uint32_t a = 9, s = 9;
    CU_ASSERT_EQUAL(push_apply(city, COUNTY, NULL, 0, 12, &a, &s, &err), XC_OK);
    CU_ASSERT_EQUAL(a, 0);
    CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 12);
    CU_ASSERT_EQUAL(push_apply(city, COUNTY, NULL, 0, 3, &a, &s, &err), XC_OK);
    CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 12);
    CU_ASSERT_EQUAL(last_seq(city), 10);
  }
  batch_free(&all);
  xc_store_close(county);
  xc_store_close(city);
}

static void test_apply_interrupted(void) {
  xc_store *county = open_store(), *city = open_store();
  char ids[10][XC_ID_MAX];
  batch b1, b2, mid;
  uint32_t skipped = 0;
  dump d1, d2;

  be(COUNTY);
  put_targets(county, "office:310104", "310104003", 10, ids);
  rename_target(county, ids[1], "改名一"); /* seq 11: a newer version of batch 1's */
  rename_target(county, ids[7], "改名二"); /* seq 12 */
  collect(county, 0, 5, &b1);
  CU_ASSERT_EQUAL_FATAL(b1.n, 5);
  CU_ASSERT_EQUAL(b1.upto, 5);
  collect(county, b1.upto, 100, &b2);
  CU_ASSERT_EQUAL_FATAL(b2.n, 7);
  CU_ASSERT_EQUAL(b2.upto, 12);
  collect(county, 3, 6, &mid); /* seq 4..9: overlaps both */
  CU_ASSERT_EQUAL_FATAL(mid.n, 6);

  be(CITY);
  /* Batch 1 lands twice (the reply was lost), then batch 2. */
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b1, &skipped), 5);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b1, &skipped), 0);
  CU_ASSERT_EQUAL(skipped, 5);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 5);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b2, &skipped), 7);
  CU_ASSERT_EQUAL(skipped, 0);
  CU_ASSERT_EQUAL(same_records(county, city, COUNTY), 10);
  CU_ASSERT_EQUAL(last_seq(city), 12);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 12);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 12);
  /* Late retries of older batches change nothing and move no cursor back. */
  dump_store(city, &d1);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &mid, &skipped), 0);
  CU_ASSERT_EQUAL(skipped, 6);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b1, &skipped), 0);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 12);
  CU_ASSERT_EQUAL(last_seq(city), 12);
  dump_store(city, &d2);
  CU_ASSERT_TRUE(dumps_equal(&d1, &d2));
  /* The renamed versions won, not the first ones. */
  {
    const rec_t *r = dump_find(&d2, ids[1]);
    Xuncha__V1__Target *t = r == NULL ? NULL
                                      : (Xuncha__V1__Target *)protobuf_c_message_unpack(
                                            &xuncha__v1__target__descriptor, NULL, r->len,
                                            r->bytes);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->name, "改名一");
    xc_msg_free(&t->base);
  }
  dump_free(&d1);
  dump_free(&d2);
  batch_free(&b1);
  batch_free(&b2);
  batch_free(&mid);
  xc_store_close(county);
  xc_store_close(city);
}

/* A change carrying a target of `owner` and `region`, made up by hand. */
static Xuncha__V1__Change *fake_change(const char *id, const char *owner, const char *region,
                                       const char *origin, uint64_t oseq) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__Change *c = malloc(sizeof *c);
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  xuncha__v1__change__init(c);
  t.id = (char *)id;
  t.owner = (char *)owner;
  t.region_code = (char *)region;
  t.name = "伪造";
  t.etag = "etagetag";
  t.update_time_ms = 1000;
  c->record.data = xc_msg_pack(&t.base, 0, &len);
  c->record.len = len;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c->record.data);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "kind", "target"), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "id", id), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "op", "create"), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "origin", origin), XC_OK);
  c->origin_seq = oseq;
  c->seq = oseq;
  return c;
}

/* Checks xc_sync_check_push(pusher, {c}) gives want; frees c. */
static void check_one(const char *pusher, Xuncha__V1__Change *c, int want, const char *words) {
  xc_err err;
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(xc_sync_check_push(pusher, &c, 1, &err), want);
  if (words != NULL && strstr(err.msg, words) == NULL) {
    fprintf(stderr, "\n  '%s' lacks '%s'\n", err.msg, words);
    CU_FAIL("message");
  }
  xc_msg_free(&c->base);
}

#define ID1 "t_00000000000000000000000001"
#define ID2 "t_00000000000000000000000002"

static void test_check_push(void) {
  xc_store *city = open_store();
  be(CITY);
  check_one(COUNTY, fake_change(ID1, "office:310104", "310104001", COUNTY, 1), XC_OK, NULL);
  check_one(COUNTY, fake_change(ID1, "office:310104002", "310104002", COUNTY, 1), XC_OK, NULL);
  /* From below the pusher, keeping its own origin: the cascade. */
  check_one(COUNTY, fake_change(ID1, "office:310104001", "310104001001", TOWN, 1), XC_OK, NULL);
  /* Another county's record, under its own origin or under the pusher's. */
  check_one(COUNTY, fake_change(ID1, "office:310105", "310105001", COUNTY2, 1),
            XC_EPERMISSION_DENIED, "not " COUNTY " or below it");
  check_one(COUNTY, fake_change(ID1, "office:310105", "310105001", COUNTY, 1),
            XC_EPERMISSION_DENIED, "outside the jurisdiction of " COUNTY);
  /* The pusher's office, but a region of another county. */
  check_one(COUNTY, fake_change(ID1, "office:310104", "310105001", COUNTY, 1),
            XC_EPERMISSION_DENIED, "outside the jurisdiction");
  /* The city's own record, relayed up by a county. */
  check_one(COUNTY, fake_change(ID1, "office:3101", "310104001", COUNTY, 1),
            XC_EPERMISSION_DENIED, NULL);
  /* A township record passed off as the county's own change. */
  check_one(COUNTY, fake_change(ID1, "office:310104001", "310104001", COUNTY, 1),
            XC_EPERMISSION_DENIED, "at home on " TOWN);
  /* Malformed changes. */
  check_one(COUNTY, fake_change(ID1, "office:310104", "310104001", COUNTY, 0),
            XC_EINVALID_ARGUMENT, "origin_seq");
  check_one(COUNTY, fake_change(ID1, "office:310104", "310104001", "", 1), XC_EINVALID_ARGUMENT,
            "origin");
  check_one(COUNTY, fake_change(ID1, "office:310104", "310104001", "nobody", 1),
            XC_EINVALID_ARGUMENT, NULL);
  {
    Xuncha__V1__Change *c = fake_change(ID1, "office:310104", "310104001", COUNTY, 1);
    CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "id", ID2), XC_OK);
    check_one(COUNTY, c, XC_EINVALID_ARGUMENT, ID2);
    c = fake_change(ID1, "office:310104", "310104001", COUNTY, 1);
    CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "kind", "bogus"), XC_OK);
    check_one(COUNTY, c, XC_EINVALID_ARGUMENT, "bogus");
    c = fake_change(ID1, "office:310104", "310104001", COUNTY, 1);
    c->record.data[0] = 0xff;
    c->record.data[1] = 0xff;
    check_one(COUNTY, c, XC_EINVALID_ARGUMENT, NULL);
  }
  check_one("nobody", fake_change(ID1, "office:310104", "310104001", COUNTY, 1),
            XC_EPERMISSION_DENIED, "nobody");

  /* Through the Push handler: a batch with one foreign record is refused
   * whole and nothing is written; a clean one is applied and acknowledged. */
  {
    xc_ctx cc = xc_test_ctx(city, "office:310104"), other = xc_test_ctx(city, "office:310105"),
           town = xc_test_ctx(city, "office:310104001");
    Xuncha__V1__PushRequest req = XUNCHA__V1__PUSH_REQUEST__INIT;
    Xuncha__V1__PushResponse *resp = NULL;
    Xuncha__V1__Change *v[2];
    xc_err err;
    v[0] = fake_change(ID1, "office:310104", "310104001", COUNTY, 1);
    v[1] = fake_change(ID2, "office:310105", "310105001", COUNTY, 2);
    req.server = COUNTY;
    req.changes = v;
    req.n_changes = 2;
    req.upto_seq = 2;
    CU_ASSERT_EQUAL(xc_test_call(&cc, "/xuncha.v1.Sync/Push", &req, &resp, &err),
                    XC_EPERMISSION_DENIED);
    CU_ASSERT_PTR_NULL(resp);
    CU_ASSERT_EQUAL(last_seq(city), 0);
    CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 0);
    CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 0);
    /* Another county's certificate may not push as this county. */
    req.n_changes = 1;
    req.upto_seq = 1;
    CU_ASSERT_EQUAL(xc_test_call(&other, "/xuncha.v1.Sync/Push", &req, &resp, &err),
                    XC_EPERMISSION_DENIED);
    /* The township syncs with its county, not with the city. */
    req.server = TOWN;
    CU_ASSERT_EQUAL(xc_test_call(&town, "/xuncha.v1.Sync/Push", &req, &resp, &err),
                    XC_EFAILED_PRECONDITION);
    CU_ASSERT_EQUAL(last_seq(city), 0);
    req.server = COUNTY;
    CU_ASSERT_EQUAL(xc_test_call(&cc, "/xuncha.v1.Sync/Push", &req, &resp, &err), XC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->acked_seq, 1);
    CU_ASSERT_EQUAL(resp->applied, 1);
    CU_ASSERT_EQUAL(resp->skipped, 0);
    xc_msg_free(&resp->base);
    CU_ASSERT_EQUAL(last_seq(city), 1);
    /* An empty push asks where the city stands. */
    req.n_changes = 0;
    req.upto_seq = 0;
    CU_ASSERT_EQUAL(xc_test_call(&cc, "/xuncha.v1.Sync/Push", &req, &resp, &err), XC_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
    CU_ASSERT_EQUAL(resp->acked_seq, 1);
    xc_msg_free(&resp->base);
    xc_msg_free(&v[0]->base);
    xc_msg_free(&v[1]->base);
  }
  xc_store_close(city);
}

/* Township -> county -> city: the county hands on the township's changes
 * with their origin, and the city takes them. */
static void test_cascade(void) {
  xc_store *town = open_store(), *county = open_store(), *city = open_store();
  batch b, up;
  uint32_t skipped = 0;

  be(TOWN);
  put_targets(town, "office:310104001", "310104001002", 3, NULL);
  collect(town, 0, 100, &b);
  CU_ASSERT_EQUAL_FATAL(b.n, 3);
  be(COUNTY);
  CU_ASSERT_EQUAL(apply_ok(county, TOWN, &b, &skipped), 3);
  put_targets(county, "office:310104", "310104002", 2, NULL);
  batch_free(&b);
  collect(county, 0, 100, &up);
  CU_ASSERT_EQUAL_FATAL(up.n, 5);
  for (size_t i = 0; i < 3; i++) {
    CU_ASSERT_STRING_EQUAL(up.v[i]->origin, TOWN);
    CU_ASSERT_EQUAL(up.v[i]->origin_seq, i + 1);
  }
  for (size_t i = 3; i < 5; i++) {
    CU_ASSERT_STRING_EQUAL(up.v[i]->origin, COUNTY);
    CU_ASSERT_EQUAL(up.v[i]->origin_seq, i + 1);
  }
  be(CITY);
  {
    xc_err err;
    CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, up.v, up.n, &err), XC_OK);
  }
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, &skipped), 5);
  CU_ASSERT_EQUAL(same_records(town, city, TOWN), 3);
  CU_ASSERT_EQUAL(same_records(county, city, COUNTY), 2);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" TOWN), 3);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 5);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, &skipped), 0);
  CU_ASSERT_EQUAL(skipped, 5);
  batch_free(&up);
  xc_store_close(town);
  xc_store_close(county);
  xc_store_close(city);
}

/* ---- pulls */

/* The city's records of the pull tests. */
typedef struct city_world {
  char in1[XC_ID_MAX], in2[XC_ID_MAX], in3[XC_ID_MAX]; /* for county-310104 */
  char lead_in[XC_ID_MAX];                              /* its agency's lead */
  char out1[XC_ID_MAX], top[XC_ID_MAX], lead_out[XC_ID_MAX];
  char c2[XC_ID_MAX]; /* county-310105's, relayed: for county-310105 only as its own */
  char county_ids[3][XC_ID_MAX];
} city_world;

/* County pushes three targets up; the city makes its own records. */
static void build_city_world(xc_store *county, xc_store *city, city_world *w) {
  batch b;
  be(COUNTY);
  put_targets(county, "office:310104", "310104001", 3, w->county_ids);
  collect(county, 0, 100, &b);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b, NULL), 3);
  batch_free(&b);
  put_target(city, "office:3101", "310104001", w->in1);
  put_target(city, "office:3101", "310105001", w->out1);
  put_target(city, "office:3101", "310104", w->in2);
  put_target(city, "office:3101", "3101", w->top);
  put_lead(city, "office:3101", "310104001", "agency:3101:jw", w->lead_out);
  put_lead(city, "office:3101", "310104001", "agency:310104:jw", w->lead_in);
  put_target(city, "office:3101", "310104001001", w->in3);
  /* county-310105's own record, as if pushed by it. */
  {
    Xuncha__V1__Change *c = fake_change(ID1, "office:310105", "310105002", COUNTY2, 1);
    uint32_t a = 0, s = 0;
    xc_err err;
    must(push_apply(city, COUNTY2, &c, 1, 1, &a, &s, &err), &err, "county2 push");
    CU_ASSERT_EQUAL(a, 1);
    xc_strlcpy(w->c2, ID1, XC_ID_MAX);
    xc_msg_free(&c->base);
  }
}

static int has_id(char (*ids)[XC_ID_MAX], size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(ids[i], id) == 0) return 1;
  return 0;
}

static Xuncha__V1__PullResponse *pull(xc_store *s, const char *server, uint64_t after,
                                      uint32_t max, uint64_t snap_seq, const char *snap_after) {
  Xuncha__V1__PullRequest req = XUNCHA__V1__PULL_REQUEST__INIT;
  Xuncha__V1__PullResponse *resp = NULL;
  xc_err err;
  req.server = (char *)server;
  req.after_seq = after;
  req.max_changes = max;
  req.snapshot_seq = snap_seq;
  req.snapshot_after = (char *)(snap_after != NULL ? snap_after : "");
  must(xc_sync_collect_pull(s, &req, &resp, &err), &err, "collect pull");
  CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
  return resp;
}

static void test_pull_selection(void) {
  xc_store *county = open_store(), *city = open_store();
  city_world w;
  Xuncha__V1__PullResponse *r;
  char got[32][XC_ID_MAX];
  size_t n = 0;
  uint64_t last, after = 0;
  uint32_t applied = 0, skipped = 0;
  xc_err err;

  build_city_world(county, city, &w);
  be(CITY);
  last = last_seq(city);
  CU_ASSERT_EQUAL(last, 11);
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  CU_ASSERT_FALSE(r->snapshot);
  CU_ASSERT_EQUAL(r->upto_seq, last);
  CU_ASSERT_EQUAL(r->last_seq, last);
  CU_ASSERT_EQUAL(r->n_changes, 4);
  for (size_t i = 0; i < r->n_changes; i++) {
    CU_ASSERT_STRING_EQUAL(r->changes[i]->origin, CITY);
    CU_ASSERT_EQUAL(r->changes[i]->origin_seq, r->changes[i]->seq);
    if (n < 32) xc_strlcpy(got[n++], r->changes[i]->id, XC_ID_MAX);
  }
  CU_ASSERT_TRUE(has_id(got, n, w.in1));
  CU_ASSERT_TRUE(has_id(got, n, w.in2));
  CU_ASSERT_TRUE(has_id(got, n, w.in3));
  CU_ASSERT_TRUE(has_id(got, n, w.lead_in));
  CU_ASSERT_FALSE(has_id(got, n, w.out1));
  CU_ASSERT_FALSE(has_id(got, n, w.top));
  CU_ASSERT_FALSE(has_id(got, n, w.lead_out));
  CU_ASSERT_FALSE(has_id(got, n, w.c2));
  for (int i = 0; i < 3; i++) CU_ASSERT_FALSE(has_id(got, n, w.county_ids[i]));

  /* Applied at the county: the city's records, byte for byte. */
  be(COUNTY);
  must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                     &applied, &skipped, &err),
       &err, "apply pull");
  CU_ASSERT_EQUAL(applied, 4);
  CU_ASSERT_EQUAL(sync_value(county, "pull/" CITY), last);
  {
    dump dc, dy;
    dump_store(county, &dc);
    dump_store(city, &dy);
    CU_ASSERT_EQUAL(dc.n, 7);
    for (size_t i = 0; i < n; i++) {
      const rec_t *a = dump_find(&dc, got[i]), *b = dump_find(&dy, got[i]);
      CU_ASSERT(a != NULL && b != NULL && a->len == b->len &&
                memcmp(a->bytes, b->bytes, a->len) == 0);
    }
    dump_free(&dc);
    dump_free(&dy);
  }
  /* What the county got from above is not pushed back up. */
  {
    batch b;
    collect(county, 3, 100, &b);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_EQUAL(b.upto, 7);
    batch_free(&b);
  }
  xc_msg_free(&r->base);

  /* Nothing new: an empty reply that covers the log. */
  be(CITY);
  r = pull(city, COUNTY, last, 0, 0, NULL);
  CU_ASSERT_EQUAL(r->n_changes, 0);
  CU_ASSERT_EQUAL(r->upto_seq, last);
  xc_msg_free(&r->base);
  /* The other county gets only the city's record in its region. */
  r = pull(city, COUNTY2, 0, 0, 0, NULL);
  CU_ASSERT_EQUAL(r->n_changes, 1);
  if (r->n_changes == 1) CU_ASSERT_STRING_EQUAL(r->changes[0]->id, w.out1);
  xc_msg_free(&r->base);
  /* Small pages: each reply ends where it stopped, none is lost. */
  n = 0;
  for (int guard = 0; guard < 20 && after < last; guard++) {
    r = pull(city, COUNTY, after, 1, 0, NULL);
    CU_ASSERT(r->n_changes <= 1);
    CU_ASSERT(r->upto_seq > after);
    for (size_t i = 0; i < r->n_changes && n < 32; i++) xc_strlcpy(got[n++], r->changes[i]->id, XC_ID_MAX);
    after = r->upto_seq;
    xc_msg_free(&r->base);
  }
  CU_ASSERT_EQUAL(after, last);
  CU_ASSERT_EQUAL(n, 4);
  CU_ASSERT_TRUE(has_id(got, n, w.in1));
  CU_ASSERT_TRUE(has_id(got, n, w.in2));
  CU_ASSERT_TRUE(has_id(got, n, w.in3));
  CU_ASSERT_TRUE(has_id(got, n, w.lead_in));
  /* Past the end of the log: the puller is ahead of this server. */
  {
    Xuncha__V1__PullRequest req = XUNCHA__V1__PULL_REQUEST__INIT;
    Xuncha__V1__PullResponse *bad = NULL;
    req.server = COUNTY;
    req.after_seq = last + 5;
    CU_ASSERT_EQUAL(xc_sync_collect_pull(city, &req, &bad, &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NULL(bad);
  }
  xc_store_close(county);
  xc_store_close(city);
}

static void test_prune_and_snapshot(void) {
  xc_store *county = open_store(), *city = open_store(), *fresh = NULL;
  city_world w;
  uint64_t last, first = 0, entries = 0, snap_seq = 0;
  char got[32][XC_ID_MAX];
  char after_id[XC_ID_MAX] = "";
  size_t n = 0;
  int pages = 0, done = 0;
  xc_err err;

  build_city_world(county, city, &w);
  be(CITY);
  last = last_seq(city);
  /* Pruning keeps what a reader still needs: county-310104 has pulled up
   * to 5, county-310105 never pulled (it will catch up from a snapshot). */
  must(xc_sync_note_pull(city, COUNTY, 5, &err), &err, "note pull");
  log_info(city, &first, &entries);
  CU_ASSERT_EQUAL(first, 6);
  CU_ASSERT_EQUAL(entries, last - 5);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pulled"), 5);
  must(xc_sync_note_pull(city, COUNTY2, 2, &err), &err, "note pull");
  must(xc_sync_prune(city, &err), &err, "prune");
  log_info(city, &first, &entries);
  CU_ASSERT_EQUAL(first, 6); /* the slower reader holds the rest */
  must(xc_sync_note_pull(city, COUNTY2, 8, &err), &err, "note pull");
  log_info(city, &first, &entries);
  CU_ASSERT_EQUAL(first, 6);
  must(xc_sync_note_pull(city, COUNTY, last, &err), &err, "note pull");
  log_info(city, &first, &entries);
  CU_ASSERT_EQUAL(first, 9);
  must(xc_sync_note_pull(city, COUNTY2, last, &err), &err, "note pull");
  log_info(city, &first, &entries);
  CU_ASSERT_EQUAL(entries, 0);
  CU_ASSERT_EQUAL(last_seq(city), last);

  /* A new county server pulls from 0: the log no longer reaches back, so
   * it gets the records themselves, page by page. */
  fresh = open_store();
  while (!done && pages < 40) {
    Xuncha__V1__PullResponse *r;
    uint32_t applied = 0, skipped = 0;
    be(CITY);
    r = pull(city, COUNTY, 0, 1, snap_seq, after_id);
    pages++;
    CU_ASSERT_TRUE(r->snapshot);
    CU_ASSERT_EQUAL(r->snapshot_seq, last);
    CU_ASSERT(r->n_changes <= 1);
    snap_seq = r->snapshot_seq;
    for (size_t i = 0; i < r->n_changes; i++) {
      CU_ASSERT_STRING_EQUAL(r->changes[i]->origin, CITY);
      CU_ASSERT_EQUAL(r->changes[i]->origin_seq, 0);
      CU_ASSERT_FALSE(has_id(got, n, r->changes[i]->id));
      if (n < 32) xc_strlcpy(got[n++], r->changes[i]->id, XC_ID_MAX);
    }
    if (r->snapshot_after[0] == '\0') {
      done = 1;
      CU_ASSERT_EQUAL(r->upto_seq, last);
    } else {
      CU_ASSERT_EQUAL(r->upto_seq, 0);
      xc_strlcpy(after_id, r->snapshot_after, sizeof after_id);
    }
    be(COUNTY);
    must(xc_sync_apply(fresh, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                       &applied, &skipped, &err),
         &err, "apply snapshot");
    CU_ASSERT_EQUAL(applied, r->n_changes);
    xc_msg_free(&r->base);
  }
  CU_ASSERT_TRUE(done);
  CU_ASSERT(pages >= 4);
  CU_ASSERT_EQUAL(n, 4);
  CU_ASSERT_TRUE(has_id(got, n, w.in1));
  CU_ASSERT_TRUE(has_id(got, n, w.in2));
  CU_ASSERT_TRUE(has_id(got, n, w.in3));
  CU_ASSERT_TRUE(has_id(got, n, w.lead_in));
  CU_ASSERT_EQUAL(sync_value(fresh, "pull/" CITY), last);
  CU_ASSERT_EQUAL(sync_value(fresh, "origin/" CITY), 0);
  {
    dump df;
    dump_store(fresh, &df);
    CU_ASSERT_EQUAL(df.n, 4);
    dump_free(&df);
  }
  /* A snapshot page again changes nothing. */
  {
    Xuncha__V1__PullResponse *r;
    uint32_t applied = 9, skipped = 9;
    uint64_t before = last_seq(fresh);
    be(CITY);
    r = pull(city, COUNTY, 0, 0, 0, NULL);
    CU_ASSERT_TRUE(r->snapshot);
    CU_ASSERT_EQUAL(r->n_changes, 4);
    CU_ASSERT_STRING_EQUAL(r->snapshot_after, "");
    be(COUNTY);
    must(xc_sync_apply(fresh, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                       &applied, &skipped, &err),
         &err, "apply snapshot again");
    CU_ASSERT_EQUAL(last_seq(fresh), before);
    xc_msg_free(&r->base);
  }
  /* After the snapshot the log takes over. */
  {
    Xuncha__V1__PullResponse *r;
    char newer[XC_ID_MAX];
    be(CITY);
    put_target(city, "office:3101", "310104005", newer);
    put_target(city, "office:3101", "310105005", NULL);
    r = pull(city, COUNTY, last, 0, 0, NULL);
    CU_ASSERT_FALSE(r->snapshot);
    CU_ASSERT_EQUAL(r->n_changes, 1);
    if (r->n_changes == 1) {
      CU_ASSERT_STRING_EQUAL(r->changes[0]->id, newer);
      CU_ASSERT_EQUAL(r->changes[0]->origin_seq, last + 1);
    }
    CU_ASSERT_EQUAL(r->upto_seq, last + 2);
    xc_msg_free(&r->base);
  }
  xc_store_close(fresh);
  xc_store_close(county);
  xc_store_close(city);
}

/* A county's log is pruned up to what its upstream acknowledged, as long
 * as no downstream that pulls recently needs more. */
typedef struct put1 {
  const char *name;
  uint64_t v;
} put1;

static int put1_fn(xc_txn *txn, void *arg, xc_err *err) {
  put1 *p = arg;
  return xc_txn_sync_put(txn, p->name, p->v, err);
}

static void test_prune_upstream(void) {
  xc_store *county = open_store();
  put1 p = {"push/" CITY, 4};
  uint64_t first = 0, entries = 0;
  xc_err err;
  be(COUNTY);
  put_targets(county, "office:310104", "310104001", 10, NULL);
  must(xc_sync_prune(county, &err), &err, "prune");
  log_info(county, &first, &entries);
  CU_ASSERT_EQUAL(entries, 10); /* nothing acknowledged yet */
  must(xc_store_write(county, put1_fn, &p, &err), &err, "put");
  must(xc_sync_prune(county, &err), &err, "prune");
  log_info(county, &first, &entries);
  CU_ASSERT_EQUAL(first, 5);
  CU_ASSERT_EQUAL(entries, 6);
  /* The township pulled up to 2 just now: it holds the log back. */
  must(xc_sync_note_pull(county, TOWN, 2, &err), &err, "note");
  p.v = 10;
  must(xc_store_write(county, put1_fn, &p, &err), &err, "put");
  must(xc_sync_prune(county, &err), &err, "prune");
  log_info(county, &first, &entries);
  CU_ASSERT_EQUAL(first, 5);
  must(xc_sync_note_pull(county, TOWN, 10, &err), &err, "note");
  log_info(county, &first, &entries);
  CU_ASSERT_EQUAL(entries, 0);
  CU_ASSERT_EQUAL(last_seq(county), 10);
  xc_store_close(county);
}

/* ---- digests */

static Xuncha__V1__DigestResponse *digest(xc_store *s, const char *asker, const char *list) {
  char *origins[] = {COUNTY, CITY};
  Xuncha__V1__DigestResponse *d = NULL;
  xc_err err;
  must(xc_sync_digest(s, asker, list != NULL ? NULL : origins, list != NULL ? 0 : 2, list, NULL,
                      &d, &err),
       &err, "digest");
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  return d;
}

static int same_digest(const Xuncha__V1__OriginDigest *a, const Xuncha__V1__OriginDigest *b) {
  return strcmp(a->origin, b->origin) == 0 && a->records == b->records &&
         a->digest.len == 32 && b->digest.len == 32 &&
         memcmp(a->digest.data, b->digest.data, 32) == 0;
}

static void test_digest(void) {
  xc_store *county = open_store(), *city = open_store();
  city_world w;
  Xuncha__V1__PullResponse *r;
  Xuncha__V1__DigestResponse *dc, *dy;
  char missing[XC_ID_MAX];
  uint32_t applied = 0, skipped = 0;
  xc_err err;

  build_city_world(county, city, &w);
  be(CITY);
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  be(COUNTY);
  must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                     &applied, &skipped, &err),
       &err, "apply pull");
  xc_msg_free(&r->base);

  /* In sync: the same digest for each origin on both sides. */
  dc = digest(county, NULL, NULL);
  be(CITY);
  dy = digest(city, COUNTY, NULL);
  CU_ASSERT_EQUAL_FATAL(dc->n_origins, 2);
  CU_ASSERT_EQUAL_FATAL(dy->n_origins, 2);
  CU_ASSERT_STRING_EQUAL(dc->origins[0]->origin, COUNTY);
  CU_ASSERT_EQUAL(dc->origins[0]->records, 3);
  CU_ASSERT_EQUAL(dc->origins[1]->records, 4);
  CU_ASSERT_TRUE(same_digest(dc->origins[0], dy->origins[0]));
  CU_ASSERT_TRUE(same_digest(dc->origins[1], dy->origins[1]));
  /* The city holds more of its own, which the county is not sent. */
  {
    Xuncha__V1__DigestResponse *all = digest(city, NULL, NULL);
    CU_ASSERT_EQUAL(all->origins[1]->records, 7);
    CU_ASSERT_FALSE(same_digest(all->origins[1], dy->origins[1]));
    xc_msg_free(&all->base);
  }
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);

  /* One record left out: the digests differ, and the lists name it. */
  be(COUNTY);
  put_target(county, "office:310104", "310104009", missing);
  dc = digest(county, NULL, NULL);
  be(CITY);
  dy = digest(city, COUNTY, NULL);
  CU_ASSERT_EQUAL(dc->origins[0]->records, 4);
  CU_ASSERT_EQUAL(dy->origins[0]->records, 3);
  CU_ASSERT_FALSE(same_digest(dc->origins[0], dy->origins[0]));
  CU_ASSERT_TRUE(same_digest(dc->origins[1], dy->origins[1]));
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);
  be(COUNTY);
  dc = digest(county, NULL, COUNTY);
  be(CITY);
  dy = digest(city, COUNTY, COUNTY);
  CU_ASSERT_EQUAL(dc->n_records, 4);
  CU_ASSERT_EQUAL(dy->n_records, 3);
  CU_ASSERT_STRING_EQUAL(dc->next_after_id, "");
  {
    size_t only_county = 0;
    for (size_t i = 0; i < dc->n_records; i++) {
      const Xuncha__V1__RecordDigest *a = dc->records[i], *b = NULL;
      for (size_t j = 0; j < dy->n_records; j++)
        if (strcmp(dy->records[j]->id, a->id) == 0) b = dy->records[j];
      if (b == NULL) {
        only_county++;
        CU_ASSERT_STRING_EQUAL(a->id, missing);
      } else {
        CU_ASSERT(a->hash.len == 32 && b->hash.len == 32 &&
                  memcmp(a->hash.data, b->hash.data, 32) == 0);
      }
    }
    CU_ASSERT_EQUAL(only_county, 1);
  }
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);
  /* A record that differs: same id, another version. */
  be(COUNTY);
  rename_target(county, w.county_ids[0], "另一版本");
  dc = digest(county, NULL, COUNTY);
  be(CITY);
  dy = digest(city, COUNTY, COUNTY);
  {
    size_t differ = 0;
    for (size_t i = 0; i < dc->n_records; i++)
      for (size_t j = 0; j < dy->n_records; j++)
        if (strcmp(dy->records[j]->id, dc->records[i]->id) == 0 &&
            memcmp(dy->records[j]->hash.data, dc->records[i]->hash.data, 32) != 0) {
          differ++;
          CU_ASSERT_STRING_EQUAL(dc->records[i]->id, w.county_ids[0]);
        }
    CU_ASSERT_EQUAL(differ, 1);
  }
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);
  xc_store_close(county);
  xc_store_close(city);
}

/* ---- a progress entry written on a replica */

typedef struct ref {
  char id[XC_ID_MAX];
  char etag[64];
} ref;

static void keep(ref *r, const ProtobufCMessage *m) {
  xc_strlcpy(r->id, xc_msg_get_str(m, "id"), sizeof r->id);
  xc_strlcpy(r->etag, xc_msg_get_str(m, "etag"), sizeof r->etag);
}

static Xuncha__V1__Finding *get_finding(xc_store *s, const char *id) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *m = NULL;
  xc_err err;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_get(snap, XC_KIND_FINDING, id, &m, &err), &err, "get finding");
  xc_snapshot_end(snap);
  return (Xuncha__V1__Finding *)m;
}

/* ---- handler helpers for the lead tests (self must be the store's server) */

/* Lists `identity` in the directory of s, as `office`, through the handler. */
static void dir_entry(xc_store *s, const char *office, const char *region, const char *identity,
                      const char *name) {
  xc_ctx c = xc_test_ctx(s, office);
  Xuncha__V1__CreateDirectoryEntryRequest req = XUNCHA__V1__CREATE_DIRECTORY_ENTRY_REQUEST__INIT;
  Xuncha__V1__DirectoryEntry d = XUNCHA__V1__DIRECTORY_ENTRY__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  d.region_code = (char *)region;
  d.name = (char *)name;
  d.kind = XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION;
  d.identity = (char *)identity;
  req.entry = &d;
  must(xc_test_call(&c, "/xuncha.v1.Directory/CreateDirectoryEntry", &req, &out, &err), &err,
       "entry");
  xc_msg_free(out);
}

/* Creates, as `office`, a target in target_region (or uses target t->id
 * when t->id is set) and a round of round_region on it. */
static void make_round(xc_store *s, const char *office, const char *target_region,
                       const char *round_region, ref *t, ref *round) {
  xc_ctx c = xc_test_ctx(s, office);
  Xuncha__V1__CreateTargetRequest treq = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target tt = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__CreateRoundRequest rreq = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round rd = XUNCHA__V1__ROUND__INIT;
  ProtobufCMessage *out = NULL;
  char *tids[1];
  xc_err err;
  tt.region_code = (char *)target_region;
  tt.name = "乙单位";
  tt.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  treq.target = &tt;
  must(xc_test_call(&c, "/xuncha.v1.Targets/CreateTarget", &treq, &out, &err), &err, "target");
  keep(t, out);
  xc_msg_free(out);
  tids[0] = t->id;
  rd.region_code = (char *)round_region;
  rd.term = 9;
  rd.number = 1;
  rd.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  rd.title = "专项巡察";
  rd.target_ids = tids;
  rd.n_target_ids = 1;
  rreq.round = &rd;
  must(xc_test_call(&c, "/xuncha.v1.Rounds/CreateRound", &rreq, &out, &err), &err, "round");
  keep(round, out);
  xc_msg_free(out);
}

/* Creates, as `office`, a lead on round/target sent to recipient. */
static void make_lead(xc_store *s, const char *office, const ref *round, const ref *t,
                      const char *recipient, ref *lead) {
  xc_ctx c = xc_test_ctx(s, office);
  Xuncha__V1__CreateLeadRequest lreq = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
  Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
  ProtobufCMessage *out = NULL;
  xc_err err;
  l.round_id = (char *)round->id;
  l.target_id = (char *)t->id;
  l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
  l.recipient = (char *)recipient;
  l.summary = "线索";
  lreq.lead = &l;
  must(xc_test_call(&c, "/xuncha.v1.Leads/CreateLead", &lreq, &out, &err), &err, "lead");
  keep(lead, out);
  xc_msg_free(out);
}

/* Appends a progress entry (step, text) to finding f as `office` through
 * the handler; returns the response, which the caller frees. */
static Xuncha__V1__AppendProgressResponse *add_progress(xc_store *s, const char *office,
                                                        const ref *f, int step, const char *text,
                                                        const char *what) {
  xc_ctx c = xc_test_ctx(s, office);
  Xuncha__V1__AppendProgressRequest req = XUNCHA__V1__APPEND_PROGRESS_REQUEST__INIT;
  Xuncha__V1__ProgressEntry e = XUNCHA__V1__PROGRESS_ENTRY__INIT;
  Xuncha__V1__AppendProgressResponse *out = NULL;
  xc_err err;
  e.finding_id = (char *)f->id;
  e.step = (Xuncha__V1__ProgressStep)step;
  e.text = (char *)text;
  req.entry = &e;
  req.finding_etag = (char *)f->etag;
  must(xc_test_call(&c, "/xuncha.v1.Findings/AppendProgress", &req, &out, &err), &err, what);
  return out;
}

/* The county makes a target, a round and a finding through the handlers
 * (self must be the county). */
static void county_world(xc_store *county, ref *t, ref *round, ref *f) {
  xc_err err;
  xc_ctx c = xc_test_ctx(county, "office:310104");
  Xuncha__V1__CreateFindingRequest freq = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
  Xuncha__V1__Finding ff = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
  ProtobufCMessage *out = NULL;
  make_round(county, "office:310104", "310104001", "310104", t, round);
  ff.round_id = round->id;
  ff.target_id = t->id;
  ff.title = "问题";
  ff.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_DISCIPLINE;
  rect.mode = XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_BY_DEADLINE;
  rect.deadline = "2099-12-31";
  ff.rectification = &rect;
  freq.finding = &ff;
  must(xc_test_call(&c, "/xuncha.v1.Findings/CreateFinding", &freq, &out, &err), &err, "finding");
  keep(f, out);
  xc_msg_free(out);
}

static void test_progress_rederive(void) {
  enum { OPEN = 1, PLAN = 2 };
  xc_store *county = open_store(), *city = open_store();
  ref t, round, f, entry;
  uint8_t *before = NULL, *now = NULL;
  size_t lb = 0, ln = 0;
  Xuncha__V1__Finding *fc;
  Xuncha__V1__PullResponse *r;
  uint32_t applied = 0, skipped = 0;
  batch up;
  xc_err err;

  be(COUNTY);
  county_world(county, &t, &round, &f);
  fc = get_finding(county, f.id);
  CU_ASSERT_EQUAL_FATAL(fc->rectification->status, OPEN);
  xc_msg_free(&fc->base);
  collect(county, 0, 100, &up);
  CU_ASSERT_EQUAL_FATAL(up.n, 3);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 3);
  batch_free(&up);
  CU_ASSERT_EQUAL(same_records(county, city, COUNTY), 3);

  /* The city's office submits the plan on its replica: a record of its
   * own; the replica finding stays as its home server made it. */
  before = raw_of(city, f.id, &lb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(before);
  {
    Xuncha__V1__AppendProgressResponse *out =
        add_progress(city, "office:3101", &f, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN,
                     "市里督办：报送整改方案", "progress");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    keep(&entry, &out->entry->base);
    CU_ASSERT_STRING_EQUAL(out->entry->owner, "office:3101");
    CU_ASSERT_STRING_EQUAL(out->finding->etag, f.etag);
    xc_msg_free(&out->base);
  }
  now = raw_of(city, f.id, &ln);
  CU_ASSERT(now != NULL && ln == lb && memcmp(now, before, lb) == 0);
  free(now);
  now = NULL;

  /* The county pulls the entry (and not its own records back) ... */
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  CU_ASSERT_EQUAL_FATAL(r->n_changes, 1);
  CU_ASSERT_STRING_EQUAL(r->changes[0]->id, entry.id);
  CU_ASSERT_STRING_EQUAL(r->changes[0]->kind, "progress");
  /* ... and its finding is derived afresh from it, on its home server. */
  be(COUNTY);
  {
    uint64_t seq0 = last_seq(county);
    must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                       &applied, &skipped, &err),
         &err, "apply pull");
    CU_ASSERT_EQUAL(applied, 1);
    /* The entry and the finding's new version. */
    CU_ASSERT_EQUAL(last_seq(county), seq0 + 2);
  }
  fc = get_finding(county, f.id);
  CU_ASSERT_EQUAL(fc->rectification->status, PLAN);
  CU_ASSERT_STRING_NOT_EQUAL(fc->etag, f.etag);
  CU_ASSERT_STRING_EQUAL(fc->owner, "office:310104");
  CU_ASSERT_STRING_EQUAL(fc->updated_by, "office:3101#0A");
  xc_msg_free(&fc->base);
  /* The same pull again changes nothing. */
  {
    dump d1, d2;
    dump_store(county, &d1);
    must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                       &applied, &skipped, &err),
         &err, "apply pull again");
    CU_ASSERT_EQUAL(applied, 0);
    CU_ASSERT_EQUAL(skipped, 1);
    dump_store(county, &d2);
    CU_ASSERT_TRUE(dumps_equal(&d1, &d2));
    dump_free(&d1);
    dump_free(&d2);
  }
  xc_msg_free(&r->base);

  /* The finding's new version goes up as the county's change; the city's
   * entry does not go back. */
  collect(county, 3, 100, &up);
  CU_ASSERT_EQUAL_FATAL(up.n, 1);
  CU_ASSERT_STRING_EQUAL(up.v[0]->id, f.id);
  CU_ASSERT_STRING_EQUAL(up.v[0]->origin, COUNTY);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 1);
  batch_free(&up);
  fc = get_finding(city, f.id);
  CU_ASSERT_EQUAL(fc->rectification->status, PLAN);
  xc_msg_free(&fc->base);
  CU_ASSERT_EQUAL(same_records(county, city, COUNTY), 3);
  CU_ASSERT_EQUAL(same_records(city, county, CITY), 1);
  free(before);
  xc_store_close(county);
  xc_store_close(city);
}


/* Two offices wrote steps that do not follow each other: the county moved
 * its finding to 整改中 while the city, on its older replica, submitted a
 * plan. The entry is stored at the county; the finding stays as it was. */
static void test_progress_conflict(void) {
  enum { PROG = 3 };
  xc_store *county = open_store(), *city = open_store();
  ref t, round, f, fcity;
  uint8_t *before = NULL, *now = NULL;
  size_t lb = 0, ln = 0;
  Xuncha__V1__PullResponse *r;
  Xuncha__V1__Finding *fc;
  uint32_t applied = 0, skipped = 0;
  batch up;
  xc_err err;

  be(COUNTY);
  county_world(county, &t, &round, &f);
  collect(county, 0, 100, &up);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 3);
  batch_free(&up);
  fcity = f;
  /* The county: plan, then progress. */
  be(COUNTY);
  {
    int steps[2] = {XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN,
                    XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PROGRESS};
    for (int i = 0; i < 2; i++) {
      Xuncha__V1__AppendProgressResponse *out =
          add_progress(county, "office:310104", &f, steps[i], "县里整改", "progress");
      keep(&f, &out->finding->base);
      xc_msg_free(&out->base);
    }
  }
  fc = get_finding(county, f.id);
  CU_ASSERT_EQUAL(fc->rectification->status, PROG);
  xc_msg_free(&fc->base);
  /* Later (ids are time-ordered), the city's plan on its stale replica. */
  usleep(5000);
  be(CITY);
  {
    Xuncha__V1__AppendProgressResponse *out =
        add_progress(city, "office:3101", &fcity, XUNCHA__V1__PROGRESS_STEP__PROGRESS_STEP_PLAN,
                     "市里督办", "city progress");
    xc_msg_free(&out->base);
  }
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  CU_ASSERT_EQUAL_FATAL(r->n_changes, 1);
  be(COUNTY);
  before = raw_of(county, f.id, &lb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(before);
  CU_ASSERT_EQUAL(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL,
                                NULL, &applied, &skipped, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(applied, 1);
  now = raw_of(county, r->changes[0]->id, &ln);
  CU_ASSERT_PTR_NOT_NULL(now); /* the entry is kept */
  free(now);
  now = raw_of(county, f.id, &ln);
  CU_ASSERT(now != NULL && ln == lb && memcmp(now, before, lb) == 0);
  CU_ASSERT_EQUAL(sync_value(county, "pull/" CITY), r->upto_seq);
  free(now);
  free(before);
  xc_msg_free(&r->base);
  xc_store_close(county);
  xc_store_close(city);
}

/* Records of another server are read-only replicas: the handlers refuse
 * changes to them with FAILED_PRECONDITION naming the owner's server,
 * even for the owner's own certificate. */
static void test_replica_refusals(void) {
  xc_store *county = open_store(), *city = open_store();
  ref t, round, f;
  batch up;
  uint64_t seq;
  xc_err err;

  be(COUNTY);
  county_world(county, &t, &round, &f);
  collect(county, 0, 100, &up);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 3);
  batch_free(&up);
  seq = last_seq(city);
  {
    const char *who[] = {"office:310104", "office:3101"};
    for (int i = 0; i < 2; i++) {
      xc_ctx c = xc_test_ctx(city, who[i]);
      Xuncha__V1__UpdateTargetRequest ureq = XUNCHA__V1__UPDATE_TARGET_REQUEST__INIT;
      Xuncha__V1__Target tt = XUNCHA__V1__TARGET__INIT;
      Xuncha__V1__VoidRecordRequest vreq = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
      Xuncha__V1__AdvanceRoundRequest areq = XUNCHA__V1__ADVANCE_ROUND_REQUEST__INIT;
      ProtobufCMessage *out = NULL;
      char *mask[] = {"note"};
      tt.id = t.id;
      tt.etag = t.etag;
      tt.note = "改";
      ureq.target = &tt;
      ureq.update_mask = mask;
      ureq.n_update_mask = 1;
      CU_ASSERT_EQUAL(xc_test_call(&c, "/xuncha.v1.Targets/UpdateTarget", &ureq, &out, &err),
                      XC_EFAILED_PRECONDITION);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "read-only replica"));
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, COUNTY));
      CU_ASSERT_PTR_NULL(out);
      vreq.id = f.id;
      vreq.etag = f.etag;
      vreq.reason = "重复录入";
      CU_ASSERT_EQUAL(xc_test_call(&c, "/xuncha.v1.Records/VoidRecord", &vreq, &out, &err),
                      XC_EFAILED_PRECONDITION);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, COUNTY));
      xc_msg_free(out);
      out = NULL;
      areq.id = round.id;
      areq.etag = round.etag;
      areq.to = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_ON_SITE;
      CU_ASSERT_EQUAL(xc_test_call(&c, "/xuncha.v1.Rounds/AdvanceRound", &areq, &out, &err),
                      XC_EFAILED_PRECONDITION);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, COUNTY));
      xc_msg_free(out);
    }
  }
  CU_ASSERT_EQUAL(last_seq(city), seq);
  /* On its home server the owner changes it. */
  be(COUNTY);
  {
    xc_ctx c = xc_test_ctx(county, "office:310104");
    Xuncha__V1__UpdateTargetRequest ureq = XUNCHA__V1__UPDATE_TARGET_REQUEST__INIT;
    Xuncha__V1__Target tt = XUNCHA__V1__TARGET__INIT;
    ProtobufCMessage *out = NULL;
    char *mask[] = {"note"};
    tt.id = t.id;
    tt.etag = t.etag;
    tt.note = "改";
    ureq.target = &tt;
    ureq.update_mask = mask;
    ureq.n_update_mask = 1;
    must(xc_test_call(&c, "/xuncha.v1.Targets/UpdateTarget", &ureq, &out, &err), &err,
         "update at home");
    xc_msg_free(out);
  }
  xc_store_close(county);
  xc_store_close(city);
}

/* A batch is one write: one refused change leaves nothing of the batch. */
static void test_apply_atomic(void) {
  xc_store *county = open_store(), *city = open_store();
  char cid[XC_ID_MAX];
  Xuncha__V1__Change *v[2];
  uint32_t a = 7, s = 7;
  batch b;
  xc_err err;

  be(COUNTY);
  put_targets(county, "office:310104", "310104001", 1, NULL);
  collect(county, 0, 10, &b);
  CU_ASSERT_EQUAL_FATAL(b.n, 1);
  be(CITY);
  put_target(city, "office:3101", "310104001", cid);
  /* A county record under the id of one of the city's. */
  v[0] = b.v[0];
  v[1] = fake_change(cid, "office:310104", "310104001", COUNTY, 2);
  CU_ASSERT_EQUAL(push_apply(city, COUNTY, v, 2, 2, &a, &s, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cid));
  CU_ASSERT_EQUAL(a, 0);
  CU_ASSERT_EQUAL(last_seq(city), 1);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 0);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 0);
  {
    size_t len = 0;
    uint8_t *none = raw_of(city, b.v[0]->id, &len);
    CU_ASSERT_PTR_NULL(none);
    free(none);
  }
  /* The good change alone goes in. */
  CU_ASSERT_EQUAL(push_apply(city, COUNTY, v, 1, 1, &a, &s, &err), XC_OK);
  CU_ASSERT_EQUAL(a, 1);
  xc_msg_free(&v[1]->base);
  batch_free(&b);
  xc_store_close(county);
  xc_store_close(city);
}


/* A city lead sent to the county's 纪委: it goes down to the county (its
 * agency is at home there), the agency records its handling there, the
 * disposition goes up, and the city derives the lead's state from it. */
static void test_disposition_flow(void) {
  enum { PENDING = 1, TALK = 2 };
  xc_store *county = open_store(), *city = open_store();
  ref t, round, lead;
  Xuncha__V1__PullResponse *r;
  uint32_t applied = 0, skipped = 0;
  char disp_id[XC_ID_MAX] = "";
  batch up;
  xc_err err;

  /* The county lists its 纪委 in the directory; the entry goes up. */
  be(COUNTY);
  dir_entry(county, "office:310104", "310104", "agency:310104:jw", "区纪委监委");
  collect(county, 0, 100, &up);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 1);
  batch_free(&up);
  /* The city's round on a county target sends a lead to the county's 纪委. */
  {
    xc_ctx c = xc_test_ctx(city, "office:3101");
    Xuncha__V1__CreateLeadRequest lreq = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
    Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
    ProtobufCMessage *out = NULL;
    make_round(city, "office:3101", "310104001", "310104", &t, &round);
    l.round_id = round.id;
    l.target_id = t.id;
    l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
    l.recipient = "agency:310104:jw";
    l.summary = "线索";
    lreq.lead = &l;
    must(xc_test_call(&c, "/xuncha.v1.Leads/CreateLead", &lreq, &out, &err), &err, "lead");
    keep(&lead, out);
    CU_ASSERT_EQUAL(((Xuncha__V1__Lead *)out)->disposal, PENDING);
    xc_msg_free(out);
  }
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  CU_ASSERT_EQUAL(r->n_changes, 3); /* target, round, lead; not the entry */
  be(COUNTY);
  must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                     &applied, &skipped, &err),
       &err, "apply pull");
  xc_msg_free(&r->base);
  CU_ASSERT_EQUAL(same_records(city, county, CITY), 3);
  /* The agency records its handling on the county's replica. */
  {
    xc_ctx c = xc_test_ctx(county, "agency:310104:jw");
    Xuncha__V1__RecordDispositionRequest req = XUNCHA__V1__RECORD_DISPOSITION_REQUEST__INIT;
    Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
    Xuncha__V1__RecordDispositionResponse *out = NULL;
    d.lead_id = lead.id;
    d.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_TALK_INQUIRY;
    req.disposition = &d;
    req.lead_etag = lead.etag;
    must(xc_test_call(&c, "/xuncha.v1.Leads/RecordDisposition", &req, &out, &err), &err,
         "disposition");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    xc_strlcpy(disp_id, out->disposition->id, sizeof disp_id);
    /* The replica lead is the city's to change. */
    CU_ASSERT_STRING_EQUAL(out->lead->etag, lead.etag);
    xc_msg_free(&out->base);
  }
  collect(county, 1, 100, &up);
  CU_ASSERT_EQUAL_FATAL(up.n, 1);
  CU_ASSERT_STRING_EQUAL(up.v[0]->id, disp_id);
  be(CITY);
  CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, up.v, up.n, &err), XC_OK);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 1);
  batch_free(&up);
  {
    xc_snapshot *snap = NULL;
    Xuncha__V1__Lead *l = NULL;
    must(xc_snapshot_begin(city, &snap, &err), &err, "snapshot");
    must(xc_snapshot_get(snap, XC_KIND_LEAD, lead.id, (ProtobufCMessage **)&l, &err), &err, "lead");
    xc_snapshot_end(snap);
    CU_ASSERT_EQUAL(l->disposal, TALK);
    CU_ASSERT_STRING_NOT_EQUAL(l->etag, lead.etag);
    xc_msg_free(&l->base);
  }
  /* The lead's new state comes back down to the agency's server. */
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  be(COUNTY);
  must(xc_sync_apply(county, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                     &applied, &skipped, &err),
       &err, "apply pull");
  xc_msg_free(&r->base);
  CU_ASSERT_EQUAL(same_records(city, county, CITY), 3);
  xc_store_close(county);
  xc_store_close(city);
}

/* ============================================ wave 4: the review's fixes */

/* The test's made-up record ids: valid ids of a kind (the id of ID1 with
 * that kind's prefix and a number of our own). */
static void made_id(xc_kind kind, int n, char out[XC_ID_MAX]) {
  (void)snprintf(out, XC_ID_MAX, "%c_000000000000000000000000%02d", xc_kind_id_prefix(kind), n);
  CU_ASSERT_TRUE_FATAL(xc_id_valid(kind, out));
}

/* A change carrying a disposition of lead_id recorded by `owner`, made up
 * by hand as a pusher could send it (origin, origin_seq). */
static Xuncha__V1__Change *fake_disposition(const char *id, const char *owner,
                                            const char *lead_id, const char *lead_owner,
                                            const char *recipient, const char *region,
                                            const char *origin, uint64_t oseq) {
  Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
  Xuncha__V1__Change *c = malloc(sizeof *c);
  char author[96];
  size_t len = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  xuncha__v1__change__init(c);
  (void)snprintf(author, sizeof author, "%s#0A", owner);
  d.id = (char *)id;
  d.owner = (char *)owner;
  d.region_code = (char *)region;
  d.etag = "etagetag";
  d.create_time_ms = d.update_time_ms = 1000;
  d.created_by = d.updated_by = author;
  d.lead_id = (char *)lead_id;
  d.lead_owner = (char *)lead_owner;
  d.recipient = (char *)recipient;
  d.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_TALK_INQUIRY;
  d.date = "2026-11-20";
  c->record.data = xc_msg_pack(&d.base, 0, &len);
  c->record.len = len;
  CU_ASSERT_PTR_NOT_NULL_FATAL(c->record.data);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "kind", xc_kind_name(XC_KIND_DISPOSITION)),
                        XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "id", id), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "op", "create"), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(&c->base, "origin", origin), XC_OK);
  c->origin_seq = oseq;
  c->seq = oseq;
  return c;
}

static Xuncha__V1__Lead *get_lead(xc_store *s, const char *id) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *m = NULL;
  xc_err err;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_get(snap, XC_KIND_LEAD, id, &m, &err), &err, "get lead");
  xc_snapshot_end(snap);
  return (Xuncha__V1__Lead *)m;
}

/* Returns 1 if s holds record id with exactly the bytes (want, wlen). */
static int holds_bytes(xc_store *s, const char *id, const uint8_t *want, size_t wlen) {
  size_t len = 0;
  uint8_t *got = raw_of(s, id, &len);
  int same = got != NULL && len == wlen && memcmp(got, want, wlen) == 0;
  free(got);
  return same;
}

static int holds(xc_store *s, const char *id) {
  size_t len = 0;
  uint8_t *got = raw_of(s, id, &len);
  free(got);
  return got != NULL;
}

/* A pushed disposition must come from the agency its lead (as held at the
 * receiver) was sent to, and its lead must be held there; otherwise the
 * batch is refused whole and the lead keeps its state. */
static void test_disposition_refused(void) {
  enum { PENDING_OR_UNSET = 1, TALK = 2 };
  xc_store *city = open_store();
  char lead[XC_ID_MAX], ghost[XC_ID_MAX], d1[XC_ID_MAX], d2[XC_ID_MAX], d3[XC_ID_MAX];
  uint8_t *before = NULL;
  size_t lb = 0;
  uint64_t seq;
  Xuncha__V1__Change *v[2];
  Xuncha__V1__Lead *l;
  uint32_t a = 9, s = 9;
  xc_err err;

  be(CITY);
  made_id(XC_KIND_DISPOSITION, 1, d1);
  made_id(XC_KIND_DISPOSITION, 2, d2);
  made_id(XC_KIND_DISPOSITION, 3, d3);
  made_id(XC_KIND_LEAD, 4, ghost);
  put_lead(city, "office:3101", "310104001", "agency:310104:jw", lead);
  before = raw_of(city, lead, &lb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(before);
  seq = last_seq(city);

  /* Another agency of the county (at home there, inside its region): the
   * jurisdiction check lets it through; only the lead says it is not the
   * one the lead was sent to. */
  v[0] = fake_change(ID1, "office:310104", "310104001", COUNTY, 1);
  v[1] = fake_disposition(d1, "agency:310104:zz", lead, "office:3101", "agency:310104:jw",
                          "310104001", COUNTY, 2);
  CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, v, 2, &err), XC_OK);
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(push_apply(city, COUNTY, v, 2, 2, &a, &s, &err), XC_EPERMISSION_DENIED);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "agency:310104:zz"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "agency:310104:jw"));
  CU_ASSERT_EQUAL(a, 0);
  CU_ASSERT_EQUAL(last_seq(city), seq);
  CU_ASSERT_TRUE(holds_bytes(city, lead, before, lb));
  CU_ASSERT_FALSE(holds(city, d1));
  CU_ASSERT_FALSE(holds(city, ID1));
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 0);
  CU_ASSERT_EQUAL(sync_value(city, "peer/" COUNTY "/pushed"), 0);
  xc_msg_free(&v[1]->base);

  /* A disposition of a lead the city does not hold. (Later numbers than
   * the batch above, so that this case stands on its own.) */
  xc_msg_free(&v[0]->base);
  v[0] = fake_change(ID1, "office:310104", "310104001", COUNTY, 3);
  v[1] = fake_disposition(d2, "agency:310104:jw", ghost, "office:3101", "agency:310104:jw",
                          "310104001", COUNTY, 4);
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(push_apply(city, COUNTY, v, 2, 4, &a, &s, &err), XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ghost));
  CU_ASSERT_EQUAL(last_seq(city), seq);
  CU_ASSERT_FALSE(holds(city, d2));
  CU_ASSERT_FALSE(holds(city, ID1));
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 0);
  CU_ASSERT_TRUE(holds_bytes(city, lead, before, lb));
  xc_msg_free(&v[1]->base);

  /* The same record from the recipient itself is applied and re-derives
   * the lead: the refusals above were for the owner, not the record. */
  xc_msg_free(&v[0]->base);
  v[0] = fake_change(ID1, "office:310104", "310104001", COUNTY, 5);
  v[1] = fake_disposition(d3, "agency:310104:jw", lead, "office:3101", "agency:310104:jw",
                          "310104001", COUNTY, 6);
  CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, v, 2, &err), XC_OK);
  must(push_apply(city, COUNTY, v, 2, 6, &a, &s, &err), &err, "apply the recipient's");
  CU_ASSERT_EQUAL(a, 2);
  CU_ASSERT_TRUE(holds(city, d3));
  l = get_lead(city, lead);
  CU_ASSERT_EQUAL(l->disposal, TALK);
  xc_msg_free(&l->base);
  CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 6);
  xc_msg_free(&v[0]->base);
  xc_msg_free(&v[1]->base);
  free(before);
  xc_store_close(city);
}

/* A disposition copies lead_owner, region and recipient from its lead, and
 * pulls route it by lead_owner: a county could otherwise label its own
 * agency's disposition as one of another county's lead, in that county's
 * region, have the city take it and the other county pull it (whose pulls
 * then fail for good: it does not hold the lead). Refused, nothing
 * written, nothing for the other county to pull. */
static void test_disposition_forged_labels(void) {
  xc_store *city = open_store();
  char lead[XC_ID_MAX], did[XC_ID_MAX];
  static const char *const forged[4][3] = {
      /* lead_owner, region, recipient */
      {"office:310105", "310105001", "agency:310104:jw"},
      {"office:3101", "310105001", "agency:310104:jw"},
      {"office:310105", "310104001", "agency:310104:jw"},
      {"office:3101", "310104001", "agency:310105:jw"},
  };
  uint8_t *before = NULL;
  size_t lb = 0;
  uint64_t seq;
  uint32_t a = 9, s = 9;
  xc_err err;

  be(CITY);
  made_id(XC_KIND_DISPOSITION, 7, did);
  put_lead(city, "office:3101", "310104001", "agency:310104:jw", lead);
  before = raw_of(city, lead, &lb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(before);
  seq = last_seq(city);
  for (int i = 0; i < 4; i++) {
    Xuncha__V1__Change *c = fake_disposition(did, "agency:310104:jw", lead, forged[i][0],
                                             forged[i][2], forged[i][1], COUNTY, 1);
    Xuncha__V1__PullResponse *r;
    /* The jurisdiction check alone lets it through: its owner is the
     * county's, and a disposition is not judged by its region. */
    CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, &c, 1, &err), XC_OK);
    xc_err_clear(&err);
    CU_ASSERT_EQUAL(push_apply(city, COUNTY, &c, 1, 1, &a, &s, &err), XC_EPERMISSION_DENIED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, lead));
    CU_ASSERT_EQUAL(last_seq(city), seq);
    CU_ASSERT_FALSE(holds(city, did));
    CU_ASSERT_TRUE(holds_bytes(city, lead, before, lb));
    CU_ASSERT_EQUAL(sync_value(city, "origin/" COUNTY), 0);
    r = pull(city, COUNTY2, 0, 0, 0, NULL);
    CU_ASSERT_EQUAL(r->n_changes, 0);
    xc_msg_free(&r->base);
    xc_msg_free(&c->base);
  }
  /* The same record with its lead's labels goes in. */
  {
    Xuncha__V1__Change *c = fake_disposition(did, "agency:310104:jw", lead, "office:3101",
                                             "agency:310104:jw", "310104001", COUNTY, 1);
    must(push_apply(city, COUNTY, &c, 1, 1, &a, &s, &err), &err, "apply");
    CU_ASSERT_EQUAL(a, 1);
    CU_ASSERT_TRUE(holds(city, did));
    xc_msg_free(&c->base);
  }
  free(before);
  xc_store_close(city);
}

/* ---- more handler helpers for the lead tests (self must be the store's server) */

/* Moves lead to recipient `to` as `office` through UpdateLead; on success
 * the lead's etag in *lead is the new one. */
static int move_lead(xc_store *s, const char *office, ref *lead, const char *to, xc_err *err) {
  xc_ctx c = xc_test_ctx(s, office);
  Xuncha__V1__UpdateLeadRequest req = XUNCHA__V1__UPDATE_LEAD_REQUEST__INIT;
  Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
  ProtobufCMessage *out = NULL;
  char *mask[] = {"recipient"};
  int rc;
  l.id = lead->id;
  l.etag = lead->etag;
  l.recipient = (char *)to;
  req.lead = &l;
  req.update_mask = mask;
  req.n_update_mask = 1;
  rc = xc_test_call(&c, "/xuncha.v1.Leads/UpdateLead", &req, &out, err);
  if (rc == XC_OK) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(xc_msg_get_str(out, "recipient"), to);
    keep(lead, out);
  } else {
    CU_ASSERT_PTR_NULL(out);
  }
  xc_msg_free(out);
  return rc;
}

/* Records, as agency, a 谈话函询 disposition of lead on s; returns its id. */
static void dispose(xc_store *s, const char *agency, const ref *lead, char id[XC_ID_MAX]) {
  xc_ctx c = xc_test_ctx(s, agency);
  Xuncha__V1__RecordDispositionRequest req = XUNCHA__V1__RECORD_DISPOSITION_REQUEST__INIT;
  Xuncha__V1__LeadDisposition d = XUNCHA__V1__LEAD_DISPOSITION__INIT;
  Xuncha__V1__RecordDispositionResponse *out = NULL;
  xc_err err;
  d.lead_id = (char *)lead->id;
  d.disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_TALK_INQUIRY;
  req.disposition = &d;
  req.lead_etag = (char *)lead->etag;
  must(xc_test_call(&c, "/xuncha.v1.Leads/RecordDisposition", &req, &out, &err), &err,
       "disposition");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  xc_strlcpy(id, out->disposition->id, XC_ID_MAX);
  /* The lead is a replica here: its home server derives its state. */
  CU_ASSERT_STRING_EQUAL(out->lead->etag, lead->etag);
  xc_msg_free(&out->base);
}

/* Pulls from `from` (self: the upstream) for `puller` and applies it at
 * `to` (self switched to puller); returns the number applied. */
static uint32_t pull_into(xc_store *from, const char *upstream, xc_store *to, const char *puller,
                          uint64_t after) {
  Xuncha__V1__PullResponse *r;
  uint32_t applied = 0, skipped = 0;
  xc_err err;
  be(upstream);
  r = pull(from, puller, after, 0, 0, NULL);
  be(puller);
  must(xc_sync_apply(to, r->changes, r->n_changes, "pull/" CITY, r->upto_seq, NULL, NULL,
                     &applied, &skipped, &err),
       &err, "apply pull");
  xc_msg_free(&r->base);
  return applied;
}

/* A city lead whose region lies above the county (its own 3101) or in
 * another county, sent to the county's 纪委: it goes down to the county,
 * the agency disposes of it there, and the disposition is accepted by the
 * city (judged by its owner, not by the lead's region) and re-derives the
 * lead. */
static void test_disposition_from_above(void) {
  enum { TALK = 2 };
  xc_store *county = open_store(), *city = open_store();
  ref t_top, r_top, t_other, r_other, l_top, l_other;
  char d_top[XC_ID_MAX], d_other[XC_ID_MAX];
  Xuncha__V1__Lead *l;
  uint64_t pushed;
  batch up;
  xc_err err;

  be(COUNTY);
  dir_entry(county, "office:310104", "310104", "agency:310104:jw", "区纪委监委");
  collect(county, 0, 100, &up);
  pushed = up.upto;
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 1);
  batch_free(&up);
  make_round(city, "office:3101", "3101", "3101", &t_top, &r_top);
  make_round(city, "office:3101", "310105001", "3101", &t_other, &r_other);
  make_lead(city, "office:3101", &r_top, &t_top, "agency:310104:jw", &l_top);
  make_lead(city, "office:3101", &r_other, &t_other, "agency:310104:jw", &l_other);
  {
    Xuncha__V1__Lead *a = get_lead(city, l_top.id), *b = get_lead(city, l_other.id);
    CU_ASSERT_STRING_EQUAL(a->region_code, "3101");
    CU_ASSERT_STRING_EQUAL(b->region_code, "310105001");
    xc_msg_free(&a->base);
    xc_msg_free(&b->base);
  }
  /* Down to the agency's server: the leads, not their rounds or targets. */
  CU_ASSERT_EQUAL(pull_into(city, CITY, county, COUNTY, 0), 2);
  CU_ASSERT_TRUE(holds(county, l_top.id));
  CU_ASSERT_TRUE(holds(county, l_other.id));
  CU_ASSERT_FALSE(holds(county, r_top.id));
  CU_ASSERT_FALSE(holds(county, t_other.id));
  dispose(county, "agency:310104:jw", &l_top, d_top);
  dispose(county, "agency:310104:jw", &l_other, d_other);

  /* Up: the county's changes since its last push are the two dispositions. */
  collect(county, pushed, 100, &up);
  CU_ASSERT_EQUAL_FATAL(up.n, 2);
  CU_ASSERT_TRUE(strcmp(up.v[0]->id, d_top) == 0 || strcmp(up.v[1]->id, d_top) == 0);
  CU_ASSERT_TRUE(strcmp(up.v[0]->id, d_other) == 0 || strcmp(up.v[1]->id, d_other) == 0);
  be(CITY);
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(xc_sync_check_push(COUNTY, up.v, up.n, &err), XC_OK);
  if (err.msg[0] != '\0') fprintf(stderr, "\n  check_push: %s\n", err.msg);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 2);
  batch_free(&up);
  l = get_lead(city, l_top.id);
  CU_ASSERT_EQUAL(l->disposal, TALK);
  CU_ASSERT_STRING_NOT_EQUAL(l->etag, l_top.etag);
  xc_msg_free(&l->base);
  l = get_lead(city, l_other.id);
  CU_ASSERT_EQUAL(l->disposal, TALK);
  xc_msg_free(&l->base);
  /* The derived leads come back down to the agency's server. */
  pull_into(city, CITY, county, COUNTY, 0);
  {
    size_t len = 0;
    uint8_t *b = raw_of(city, l_top.id, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_TRUE(holds_bytes(county, l_top.id, b, len));
    free(b);
  }
  xc_store_close(county);
  xc_store_close(city);
}

/* A lead went to a county server only for its agency: it keeps its
 * recipient. A lead whose old recipient is at home on the owner's server
 * or above it may move. Without a homes map, every lead may move. */
static void test_lead_recipient_moves(void) {
  xc_store *county = open_store(), *city = open_store();
  ref ct, cround, cf, t, round, down, up_l, own;
  uint64_t seq;
  batch up;
  xc_err err;

  be(COUNTY);
  dir_entry(county, "office:310104", "310104", "agency:310104:jw", "区纪委监委");
  county_world(county, &ct, &cround, &cf);
  collect(county, 0, 100, &up);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &up, NULL), 4);
  batch_free(&up);
  dir_entry(city, "office:3101", "3101", "agency:3101:jw", "市纪委监委");
  make_round(city, "office:3101", "310104002", "310104", &t, &round);
  make_lead(city, "office:3101", &round, &t, "agency:310104:jw", &down);
  make_lead(city, "office:3101", &round, &t, "agency:3101:jw", &up_l);

  /* Sent to the county's agency, whose server is below the city: it stays. */
  seq = last_seq(city);
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(move_lead(city, "office:3101", &down, "agency:3101:jw", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot move"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "server " COUNTY));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "void this lead"));
  CU_ASSERT_EQUAL(last_seq(city), seq);
  /* Sent to the city's own agency: it may go to the county's ... */
  must(move_lead(city, "office:3101", &up_l, "agency:310104:jw", &err), &err, "move up lead");
  CU_ASSERT_EQUAL(last_seq(city), seq + 1);
  /* ... and from then on it has been sent down, and stays. */
  CU_ASSERT_EQUAL(move_lead(city, "office:3101", &up_l, "agency:3101:jw", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_EQUAL(last_seq(city), seq + 1);

  /* A county lead sent to the city's agency (above it) may move to the
   * county's own, and back: both are at home on or above its server. The
   * city's directory entry comes down with a pull. */
  pull_into(city, CITY, county, COUNTY, 0);
  CU_ASSERT_EQUAL(count_index(county, XC_KIND_DIRECTORY, XC_INDEX_RECIPIENT, "agency:3101:jw"),
                  1);
  make_lead(county, "office:310104", &cround, &ct, "agency:3101:jw", &own);
  must(move_lead(county, "office:310104", &own, "agency:310104:jw", &err), &err,
       "move county lead down");
  must(move_lead(county, "office:310104", &own, "agency:3101:jw", &err), &err,
       "move county lead up");

  /* A lone server (no homes map): the city's lead sent down may move. */
  xc_home_reset();
  seq = last_seq(city);
  must(move_lead(city, "office:3101", &down, "agency:3101:jw", &err), &err, "move lone");
  CU_ASSERT_EQUAL(last_seq(city), seq + 1);
  xc_store_close(county);
  xc_store_close(city);
}

/* ---- pull relevance of rounds, groups, round documents and directory */

static void put_round(xc_store *s, const char *region, char *const *tids, size_t n,
                      char id[XC_ID_MAX]) {
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  r.region_code = (char *)region;
  r.title = "全市专项巡察";
  r.term = 9;
  r.number = 5;
  r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  r.target_ids = (char **)tids;
  r.n_target_ids = n;
  put_rec(s, XC_KIND_ROUND, &r.base, "office:3101", id);
}

static void put_group(xc_store *s, const char *round_id, const char *region, char id[XC_ID_MAX]) {
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
  g.round_id = (char *)round_id;
  g.region_code = (char *)region;
  g.name = "第一巡察组";
  put_rec(s, XC_KIND_GROUP, &g.base, "office:3101", id);
}

static void put_document(xc_store *s, const char *attached, const char *region,
                         char id[XC_ID_MAX]) {
  Xuncha__V1__Document d = XUNCHA__V1__DOCUMENT__INIT;
  d.attached_id = (char *)attached;
  d.round_id = (char *)attached;
  d.region_code = (char *)region;
  d.title = "巡察工作方案";
  put_rec(s, XC_KIND_DOCUMENT, &d.base, "office:3101", id);
}

static void put_directory(xc_store *s, const char *region, const char *identity,
                          char id[XC_ID_MAX]) {
  Xuncha__V1__DirectoryEntry d = XUNCHA__V1__DIRECTORY_ENTRY__INIT;
  d.region_code = (char *)region;
  d.identity = (char *)identity;
  d.name = "纪委监委";
  d.kind = XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION;
  put_rec(s, XC_KIND_DIRECTORY, &d.base, "office:3101", id);
}

/* The ids of a pull reply, into got (at most 32); returns how many. */
static size_t pulled_ids(const Xuncha__V1__PullResponse *r, char got[32][XC_ID_MAX]) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_changes && n < 32; i++)
    xc_strlcpy(got[n++], r->changes[i]->id, XC_ID_MAX);
  return n;
}

/* A city-wide round (region 3101) that inspects one of a county's units
 * goes down to that county with its groups and the documents filed on it;
 * a round on another county's units does not. Directory entries of the
 * city go down to every county, another county's only to that county. The
 * digest the city computes for the county agrees, and so does a snapshot. */
/* The race of the review: a county lead sent to the city's commission is
 * disposed of at the city while the county moves it to its own commission.
 * The city's disposition then comes down (from above) to a lead with
 * another recipient: it is stored, not refused, so later pulls go on; and
 * the same disposition pushed up from below would be refused. */
static void test_disposition_from_above_after_move(void) {
  xc_store *county = open_store();
  char lead[XC_ID_MAX], d1[XC_ID_MAX], d2[XC_ID_MAX];
  Xuncha__V1__Change *v[1];
  Xuncha__V1__Lead *l;
  uint32_t a = 0, sk = 0;
  xc_err err;
  be(COUNTY);
  put_lead(county, "office:310104", "310104001", "agency:310104:jw", lead);
  made_id(XC_KIND_DISPOSITION, 41, d1);
  made_id(XC_KIND_DISPOSITION, 42, d2);
  /* Made at the city by agency:3101:jw while the lead was still sent there. */
  v[0] = fake_disposition(d1, "agency:3101:jw", lead, "office:310104", "agency:3101:jw",
                          "310104001", CITY, 7);
  CU_ASSERT_EQUAL(xc_sync_apply(county, v, 1, "pull/" CITY, 9, NULL, NULL, &a, &sk, &err), XC_OK);
  CU_ASSERT_EQUAL(a, 1);
  CU_ASSERT_TRUE(holds(county, d1));
  xc_msg_free(&v[0]->base);
  /* The lead's recipient is the county's commission: its state is the
   * county's to keep, and the pull cursor moved on. */
  l = get_lead(county, lead);
  CU_ASSERT_STRING_EQUAL(l->recipient, "agency:310104:jw");
  xc_msg_free(&l->base);
  /* The same kind of record from below (a township pushing to the county)
   * is refused: only the recipient records a lead's handling. */
  v[0] = fake_disposition(d2, "agency:310104001:jw", lead, "office:310104", "agency:310104:jw",
                          "310104001", TOWN, 3);
  CU_ASSERT_EQUAL(xc_sync_apply(county, v, 1, "peer/" TOWN "/pushed", 3, NULL, NULL, &a, &sk,
                                &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_FALSE(holds(county, d2));
  xc_msg_free(&v[0]->base);
  xc_store_close(county);
}

/* A city lead sent to a township's agency (at home on the township's own
 * server) passes the county on the way down: the county pulls it, the
 * township pulls it from the county; the other county gets nothing. */
static void test_lead_to_township_agency(void) {
  xc_store *city = open_store(), *county = open_store(), *town = open_store();
  char lead[XC_ID_MAX], other[XC_ID_MAX];
  char got[32][XC_ID_MAX];
  Xuncha__V1__PullResponse *r;
  size_t n;
  be(CITY);
  put_lead(city, "office:3101", "310104001", "agency:310104001:jw", lead);
  put_lead(city, "office:3101", "310104001", "agency:3101:jw", other);
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  n = pulled_ids(r, got);
  CU_ASSERT_EQUAL(n, 1);
  CU_ASSERT_TRUE(has_id(got, n, lead));
  CU_ASSERT_FALSE(has_id(got, n, other));
  xc_msg_free(&r->base);
  r = pull(city, COUNTY2, 0, 0, 0, NULL);
  CU_ASSERT_EQUAL(r->n_changes, 0);
  xc_msg_free(&r->base);
  CU_ASSERT_EQUAL(pull_into(city, CITY, county, COUNTY, 0), 1);
  be(COUNTY);
  r = pull(county, TOWN, 0, 0, 0, NULL);
  n = pulled_ids(r, got);
  CU_ASSERT_EQUAL(n, 1);
  CU_ASSERT_TRUE(has_id(got, n, lead));
  xc_msg_free(&r->base);
  CU_ASSERT_EQUAL(pull_into(county, COUNTY, town, TOWN, 0), 1);
  CU_ASSERT_TRUE(holds(town, lead));
  CU_ASSERT_FALSE(holds(town, other));
  xc_store_close(city);
  xc_store_close(county);
  xc_store_close(town);
}

static void test_pull_rounds_and_directory(void) {
  xc_store *county = open_store(), *city = open_store();
  char ctarget[XC_ID_MAX], top[XC_ID_MAX], t2[XC_ID_MAX];
  char r1[XC_ID_MAX], r2[XC_ID_MAX], g1[XC_ID_MAX], g2[XC_ID_MAX], doc1[XC_ID_MAX],
      doc2[XC_ID_MAX], e_city[XC_ID_MAX], e_c2[XC_ID_MAX], lead_doc[XC_ID_MAX];
  char r3[XC_ID_MAX], g3[XC_ID_MAX], doc3[XC_ID_MAX];
  char got[32][XC_ID_MAX];
  Xuncha__V1__PullResponse *r;
  Xuncha__V1__DigestResponse *dc, *dy;
  uint64_t last;
  size_t n;
  batch b;

  be(COUNTY);
  put_targets(county, "office:310104", "310104003", 1, &ctarget);
  collect(county, 0, 10, &b);
  be(CITY);
  CU_ASSERT_EQUAL(apply_ok(city, COUNTY, &b, NULL), 1);
  batch_free(&b);
  put_target(city, "office:3101", "3101", top);
  put_target(city, "office:3101", "310105001", t2);
  {
    char *on_county[2], *on_other[2];
    on_county[0] = top;
    on_county[1] = ctarget;
    on_other[0] = top;
    on_other[1] = t2;
    put_round(city, "3101", on_county, 2, r1);
    put_round(city, "3101", on_other, 2, r2);
    /* An elevated round (提级巡察) of the county's unit: region of the county. */
    put_round(city, "310104", &on_county[1], 1, r3);
  }
  put_group(city, r3, "310104", g3);
  put_document(city, r3, "310104", doc3);
  put_group(city, r1, "3101", g1);
  put_group(city, r2, "3101", g2);
  put_document(city, r1, "3101", doc1);
  put_document(city, r2, "3101", doc2);
  put_directory(city, "3101", "agency:3101:jw", e_city);
  put_directory(city, "310105", "agency:310105:jw", e_c2);
  /* A document of a lead of the county's region still never goes down. */
  {
    char lead[XC_ID_MAX];
    Xuncha__V1__Document d = XUNCHA__V1__DOCUMENT__INIT;
    put_lead(city, "office:3101", "310104003", "agency:3101:jw", lead);
    d.attached_id = lead;
    d.region_code = "310104003";
    d.title = "线索材料";
    put_rec(city, XC_KIND_DOCUMENT, &d.base, "office:3101", lead_doc);
  }
  last = last_seq(city);

  /* Rounds come down by region, as the read rule goes: the elevated round
   * with its group and document, not the city-wide round r1 that also
   * inspects the county's unit (no county office may read it). */
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  n = pulled_ids(r, got);
  CU_ASSERT_EQUAL(n, 4);
  CU_ASSERT_TRUE(has_id(got, n, r3));
  CU_ASSERT_TRUE(has_id(got, n, g3));
  CU_ASSERT_TRUE(has_id(got, n, doc3));
  CU_ASSERT_TRUE(has_id(got, n, e_city));
  CU_ASSERT_FALSE(has_id(got, n, r1));
  CU_ASSERT_FALSE(has_id(got, n, g1));
  CU_ASSERT_FALSE(has_id(got, n, doc1));
  CU_ASSERT_FALSE(has_id(got, n, r2));
  CU_ASSERT_FALSE(has_id(got, n, g2));
  CU_ASSERT_FALSE(has_id(got, n, doc2));
  CU_ASSERT_FALSE(has_id(got, n, e_c2));
  CU_ASSERT_FALSE(has_id(got, n, top));
  CU_ASSERT_FALSE(has_id(got, n, lead_doc));
  xc_msg_free(&r->base);
  r = pull(city, COUNTY2, 0, 0, 0, NULL);
  n = pulled_ids(r, got);
  CU_ASSERT_EQUAL(n, 3);
  CU_ASSERT_TRUE(has_id(got, n, e_c2));
  CU_ASSERT_TRUE(has_id(got, n, e_city));
  CU_ASSERT_TRUE(has_id(got, n, t2));
  CU_ASSERT_FALSE(has_id(got, n, r2));
  CU_ASSERT_FALSE(has_id(got, n, r3));
  CU_ASSERT_FALSE(has_id(got, n, r1));
  xc_msg_free(&r->base);

  /* Applied at the county, the digests the city computes for it agree. */
  CU_ASSERT_EQUAL(pull_into(city, CITY, county, COUNTY, 0), 4);
  CU_ASSERT_TRUE(holds(county, r3));
  CU_ASSERT_FALSE(holds(county, r1));
  CU_ASSERT_TRUE(holds(county, e_city));
  dc = digest(county, NULL, NULL);
  be(CITY);
  dy = digest(city, COUNTY, NULL);
  CU_ASSERT_EQUAL_FATAL(dc->n_origins, 2);
  CU_ASSERT_EQUAL_FATAL(dy->n_origins, 2);
  CU_ASSERT_EQUAL(dc->origins[1]->records, 4);
  CU_ASSERT_TRUE(same_digest(dc->origins[0], dy->origins[0]));
  CU_ASSERT_TRUE(same_digest(dc->origins[1], dy->origins[1]));
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);
  /* ... and the record lists name the same records. */
  be(COUNTY);
  dc = digest(county, NULL, CITY);
  be(CITY);
  dy = digest(city, COUNTY, CITY);
  CU_ASSERT_EQUAL(dc->n_records, 4);
  CU_ASSERT_EQUAL(dy->n_records, 4);
  for (size_t i = 0; i < dc->n_records && i < dy->n_records; i++)
    CU_ASSERT_STRING_EQUAL(dc->records[i]->id, dy->records[i]->id);
  xc_msg_free(&dc->base);
  xc_msg_free(&dy->base);

  /* A county that comes back after the log was pruned gets the same
   * records from a snapshot. */
  {
    xc_err err;
    uint64_t first = 0, entries = 0;
    must(xc_sync_note_pull(city, COUNTY, last, &err), &err, "note pull");
    must(xc_sync_note_pull(city, COUNTY2, last, &err), &err, "note pull");
    log_info(city, &first, &entries);
    CU_ASSERT_EQUAL(entries, 0);
  }
  r = pull(city, COUNTY, 0, 0, 0, NULL);
  CU_ASSERT_TRUE(r->snapshot);
  CU_ASSERT_STRING_EQUAL(r->snapshot_after, "");
  n = pulled_ids(r, got);
  CU_ASSERT_EQUAL(n, 4);
  CU_ASSERT_TRUE(has_id(got, n, r3));
  CU_ASSERT_TRUE(has_id(got, n, g3));
  CU_ASSERT_TRUE(has_id(got, n, doc3));
  CU_ASSERT_TRUE(has_id(got, n, e_city));
  xc_msg_free(&r->base);
  xc_store_close(county);
  xc_store_close(city);
}

/* ---- document content between stores (xc_sync_content.c) */

enum { CONTENT_BYTES = 2 * XC_ARCHIVE_CHUNK_BYTES + 12345 }; /* three chunks */

/* Bytes no two tests' contents share, from a seed. */
static uint8_t *content_bytes(size_t n, uint32_t seed) {
  uint8_t *b = malloc(n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(b);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    b[i] = (uint8_t)(seed >> 16);
  }
  return b;
}

typedef struct up_chunk {
  uint8_t id[XC_CONTENT_ID_LEN];
  uint32_t index;
  const uint8_t *data;
  size_t len;
} up_chunk;

static int up_chunk_fn(xc_txn *txn, void *arg, xc_err *err) {
  up_chunk *u = arg;
  return xc_txn_upload_chunk(txn, u->id, u->index, u->data, u->len, err);
}

typedef struct up_finish {
  uint8_t id[XC_CONTENT_ID_LEN];
  uint8_t digest[XC_DIGEST_LEN];
  uint64_t size;
  uint32_t chunks;
} up_finish;

static int up_finish_fn(xc_txn *txn, void *arg, xc_err *err) {
  up_finish *f = arg;
  xc_content_info info;
  int dedup = 0;
  return xc_txn_upload_finish(txn, f->id, 1, f->digest, f->size, f->chunks, &info, &dedup, err);
}

/* Stores (data, n) in s as one content of SHA-256 digest (set). */
static void store_content(xc_store *s, const uint8_t *data, size_t n,
                          uint8_t digest[XC_DIGEST_LEN]) {
  up_chunk u;
  up_finish f;
  unsigned dl = 0;
  xc_err err;
  memset(&u, 0, sizeof u);
  memset(&f, 0, sizeof f);
  memset(u.id, 0x5a, sizeof u.id);
  CU_ASSERT_FATAL(EVP_Digest(data, n, digest, &dl, EVP_sha256(), NULL) == 1 && dl == 32);
  for (size_t off = 0; off < n; off += XC_ARCHIVE_CHUNK_BYTES) {
    u.data = data + off;
    u.len = n - off < XC_ARCHIVE_CHUNK_BYTES ? n - off : XC_ARCHIVE_CHUNK_BYTES;
    must(xc_store_write(s, up_chunk_fn, &u, &err), &err, "upload chunk");
    u.index++;
  }
  memcpy(f.id, u.id, sizeof f.id);
  memcpy(f.digest, digest, XC_DIGEST_LEN);
  f.size = n;
  f.chunks = u.index;
  must(xc_store_write(s, up_finish_fn, &f, &err), &err, "upload finish");
}

/* The content of digest in s: XC_OK and *info, or the lookup's code. */
static int content_of(xc_store *s, const uint8_t digest[XC_DIGEST_LEN], xc_content_info *info) {
  xc_snapshot *snap = NULL;
  xc_err err;
  int rc;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  rc = xc_snapshot_content(snap, 1, digest, info, &err);
  xc_snapshot_end(snap);
  return rc;
}

static uint64_t pending_uploads(xc_store *s) {
  xc_snapshot *snap = NULL;
  uint64_t n = 99;
  xc_err err;
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  must(xc_snapshot_pending_uploads(snap, &n, &err), &err, "pending uploads");
  xc_snapshot_end(snap);
  return n;
}

/* Reads chunk index of upload or content id in s: XC_OK or the error. */
static int chunk_at(xc_store *s, const uint8_t id[XC_CONTENT_ID_LEN], uint32_t index) {
  xc_snapshot *snap = NULL;
  uint8_t *buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  size_t len = 0;
  xc_err err;
  int rc;
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  rc = xc_snapshot_chunk(snap, id, index, buf, XC_ARCHIVE_CHUNK_BYTES, &len, &err);
  xc_snapshot_end(snap);
  free(buf);
  return rc;
}

/* Returns 1 if s holds the content of digest with exactly (want, n). */
static int content_is(xc_store *s, const uint8_t digest[XC_DIGEST_LEN], const uint8_t *want,
                      size_t n) {
  xc_snapshot *snap = NULL;
  xc_content_info info;
  uint8_t *buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  size_t off = 0;
  int same = 1;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  must(xc_snapshot_begin(s, &snap, &err), &err, "snapshot");
  if (xc_snapshot_content(snap, 1, digest, &info, &err) != XC_OK || info.size != n) same = 0;
  for (uint32_t i = 0; same && i < info.chunks; i++) {
    size_t len = 0;
    if (xc_snapshot_chunk(snap, info.content_id, i, buf, XC_ARCHIVE_CHUNK_BYTES, &len, &err) !=
            XC_OK ||
        len > n - off || memcmp(buf, want + off, len) != 0)
      same = 0;
    else
      off += len;
  }
  if (off != n) same = 0;
  xc_snapshot_end(snap);
  free(buf);
  return same;
}

/* Sends every chunk of the content of `digest` held in from to `to` with
 * PutContent, announcing `size` and `sent_digest`; returns the code of the
 * first call that fails (XC_OK if none) and sets *complete_at to the index
 * of the first reply that said complete (-1: none). */
static int send_content(xc_store *from, xc_store *to, const uint8_t digest[XC_DIGEST_LEN],
                        const uint8_t sent_digest[XC_DIGEST_LEN], uint64_t size, uint8_t upload,
                        int *complete_at, xc_err *err) {
  Xuncha__V1__PutContentRequest q = XUNCHA__V1__PUT_CONTENT_REQUEST__INIT;
  Xuncha__V1__ContentRef cref = XUNCHA__V1__CONTENT_REF__INIT;
  xc_snapshot *snap = NULL;
  xc_content_info info;
  uint8_t id[XC_CONTENT_ID_LEN], dg[XC_DIGEST_LEN];
  uint8_t *buf = malloc(XC_ARCHIVE_CHUNK_BYTES);
  int rc = XC_OK;
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  *complete_at = -1;
  memset(id, upload, sizeof id);
  memcpy(dg, sent_digest, sizeof dg);
  cref.algorithm = 1;
  cref.digest.data = dg;
  cref.digest.len = sizeof dg;
  q.server = COUNTY;
  q.content = &cref;
  q.upload_id.data = id;
  q.upload_id.len = sizeof id;
  must(xc_snapshot_begin(from, &snap, err), err, "snapshot");
  must(xc_snapshot_content(snap, 1, digest, &info, err), err, "content");
  q.size = size;
  q.chunks = info.chunks;
  for (uint32_t i = 0; rc == XC_OK && i < info.chunks; i++) {
    size_t len = 0;
    int complete = -1;
    must(xc_snapshot_chunk(snap, info.content_id, i, buf, XC_ARCHIVE_CHUNK_BYTES, &len, err), err,
         "chunk");
    q.index = i;
    q.data.data = buf;
    q.data.len = len;
    rc = xc_sync_put_content(to, &q, &complete, err);
    CU_ASSERT(complete == 0 || complete == 1);
    if (rc == XC_OK && complete && *complete_at < 0) *complete_at = (int)i;
  }
  xc_snapshot_end(snap);
  free(buf);
  return rc;
}

static void test_content_transfer(void) {
  xc_store *county = open_store(), *city = open_store(), *other = open_store();
  uint8_t *data = content_bytes(CONTENT_BYTES, 7);
  uint8_t digest[XC_DIGEST_LEN], wrong[XC_DIGEST_LEN];
  xc_content_info info;
  int complete_at = 0;
  xc_err err;

  xc_home_reset();
  store_content(county, data, CONTENT_BYTES, digest);
  CU_ASSERT_EQUAL_FATAL(content_of(county, digest, &info), XC_OK);
  CU_ASSERT_EQUAL(info.chunks, 3);
  CU_ASSERT_EQUAL(info.size, CONTENT_BYTES);
  CU_ASSERT_EQUAL(content_of(city, digest, &info), XC_ENOT_FOUND);

  /* Chunk by chunk: complete only at the last, and then byte-identical. */
  must(send_content(county, city, digest, digest, CONTENT_BYTES, 1, &complete_at, &err), &err,
       "put content");
  CU_ASSERT_EQUAL(complete_at, 2);
  CU_ASSERT_EQUAL_FATAL(content_of(city, digest, &info), XC_OK);
  CU_ASSERT_EQUAL(info.size, CONTENT_BYTES);
  CU_ASSERT_EQUAL(info.chunks, 3);
  CU_ASSERT_TRUE(content_is(city, digest, data, CONTENT_BYTES));
  CU_ASSERT_EQUAL(pending_uploads(city), 0);
  {
    Xuncha__V1__ContentRef cref = XUNCHA__V1__CONTENT_REF__INIT, *refs[1];
    protobuf_c_boolean held = 0;
    cref.algorithm = 1;
    cref.digest.data = digest;
    cref.digest.len = XC_DIGEST_LEN;
    refs[0] = &cref;
    must(xc_sync_has_content(city, refs, 1, &held, &err), &err, "has content");
    CU_ASSERT_TRUE(held);
  }

  /* Held already: the first chunk's reply says complete, nothing stored. */
  must(send_content(county, city, digest, digest, CONTENT_BYTES, 2, &complete_at, &err), &err,
       "put held content");
  CU_ASSERT_EQUAL(complete_at, 0);
  CU_ASSERT_EQUAL(pending_uploads(city), 0);
  CU_ASSERT_TRUE(content_is(city, digest, data, CONTENT_BYTES));

  /* A digest that does not match: XC_EDATA_LOSS at the last chunk, and
   * nothing kept under either digest. */
  memcpy(wrong, digest, sizeof wrong);
  wrong[5] ^= 0x40;
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(send_content(county, other, digest, wrong, CONTENT_BYTES, 3, &complete_at, &err),
                  XC_EDATA_LOSS);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nothing was kept"));
  CU_ASSERT_EQUAL(complete_at, -1);
  CU_ASSERT_EQUAL(content_of(other, digest, &info), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(content_of(other, wrong, &info), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(pending_uploads(other), 0);
  /* A size that does not match, either way. */
  CU_ASSERT_EQUAL(
      send_content(county, other, digest, digest, CONTENT_BYTES + 1, 4, &complete_at, &err),
      XC_EDATA_LOSS);
  CU_ASSERT_EQUAL(
      send_content(county, other, digest, digest, CONTENT_BYTES - 1, 5, &complete_at, &err),
      XC_EDATA_LOSS);
  CU_ASSERT_EQUAL(content_of(other, digest, &info), XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(pending_uploads(other), 0);
  /* Malformed requests are refused before anything is stored. */
  {
    Xuncha__V1__PutContentRequest q = XUNCHA__V1__PUT_CONTENT_REQUEST__INIT;
    Xuncha__V1__ContentRef cref = XUNCHA__V1__CONTENT_REF__INIT;
    uint8_t id[4] = {1, 2, 3, 4};
    int complete = 9;
    cref.algorithm = 1;
    cref.digest.data = digest;
    cref.digest.len = XC_DIGEST_LEN;
    q.content = &cref;
    q.size = 10;
    q.chunks = 1;
    q.upload_id.data = id;
    q.upload_id.len = sizeof id; /* not 16 bytes */
    CU_ASSERT_EQUAL(xc_sync_put_content(other, &q, &complete, &err), XC_EINVALID_ARGUMENT);
    CU_ASSERT_EQUAL(complete, 0);
    cref.digest.len = 31;
    CU_ASSERT_EQUAL(xc_sync_put_content(other, &q, &complete, &err), XC_EINVALID_ARGUMENT);
    CU_ASSERT_EQUAL(pending_uploads(other), 0);
  }
  /* Chunks go in order from 0 into a pending upload: a chunk after a
   * hole, or one added to a finished content's upload id, is refused and
   * not stored (an abort or the sweep at open would never delete it). */
  {
    Xuncha__V1__PutContentRequest q = XUNCHA__V1__PUT_CONTENT_REQUEST__INIT;
    Xuncha__V1__ContentRef cref = XUNCHA__V1__CONTENT_REF__INIT;
    uint8_t id[XC_CONTENT_ID_LEN];
    int complete = 9;
    cref.algorithm = 1;
    cref.digest.data = wrong;
    cref.digest.len = XC_DIGEST_LEN;
    q.content = &cref;
    q.size = CONTENT_BYTES;
    q.chunks = 3;
    q.index = 2;
    q.upload_id.data = id;
    q.upload_id.len = sizeof id;
    q.data.data = data;
    q.data.len = 100;
    memset(id, 0x61, sizeof id);
    CU_ASSERT_EQUAL(xc_sync_put_content(other, &q, &complete, &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_EQUAL(complete, 0);
    CU_ASSERT_EQUAL(chunk_at(other, id, 2), XC_EDATA_LOSS);
    /* The city's content arrived under upload id 1...1 (send_content). */
    memset(id, 1, sizeof id);
    q.chunks = 5;
    q.index = 3;
    CU_ASSERT_EQUAL(chunk_at(city, id, 2), XC_OK);
    CU_ASSERT_EQUAL(xc_sync_put_content(city, &q, &complete, &err), XC_EFAILED_PRECONDITION);
    CU_ASSERT_EQUAL(chunk_at(city, id, 3), XC_EDATA_LOSS);
    CU_ASSERT_TRUE(content_is(city, digest, data, CONTENT_BYTES));
    CU_ASSERT_EQUAL(pending_uploads(other), 0);
    CU_ASSERT_EQUAL(pending_uploads(city), 0);
  }
  /* The good content still goes in afterwards. */
  must(send_content(county, other, digest, digest, CONTENT_BYTES, 6, &complete_at, &err), &err,
       "put content again");
  CU_ASSERT_TRUE(content_is(other, digest, data, CONTENT_BYTES));

  /* GetContent reads the chunks back, and nothing past the last. */
  {
    Xuncha__V1__GetContentRequest q = XUNCHA__V1__GET_CONTENT_REQUEST__INIT;
    Xuncha__V1__ContentRef cref = XUNCHA__V1__CONTENT_REF__INIT;
    Xuncha__V1__GetContentResponse *g = NULL;
    size_t off = 0;
    cref.algorithm = 1;
    cref.digest.data = digest;
    cref.digest.len = XC_DIGEST_LEN;
    q.server = COUNTY;
    q.content = &cref;
    for (uint32_t i = 0; i < 3; i++) {
      q.index = i;
      must(xc_sync_get_content(city, &q, &g, &err), &err, "get content");
      CU_ASSERT_PTR_NOT_NULL_FATAL(g);
      CU_ASSERT_EQUAL(g->chunks, 3);
      CU_ASSERT_EQUAL(g->size, CONTENT_BYTES);
      CU_ASSERT(g->data.len <= CONTENT_BYTES - off &&
                memcmp(g->data.data, data + off, g->data.len) == 0);
      off += g->data.len;
      xc_msg_free(&g->base);
      g = NULL;
    }
    CU_ASSERT_EQUAL(off, CONTENT_BYTES);
    q.index = 3;
    CU_ASSERT_EQUAL(xc_sync_get_content(city, &q, &g, &err), XC_EOUT_OF_RANGE);
    CU_ASSERT_PTR_NULL(g);
    q.index = 0;
    cref.digest.data = wrong;
    CU_ASSERT_EQUAL(xc_sync_get_content(city, &q, &g, &err), XC_ENOT_FOUND);
    CU_ASSERT_PTR_NULL(g);
  }
  free(data);
  xc_store_close(county);
  xc_store_close(city);
  xc_store_close(other);
}

/* ---- a raw walk's visitor may use the store */

static xc_store *open_store_small(void) {
  char dir[128];
  xc_store_options o;
  xc_store *s = NULL;
  xc_err err;
  (void)snprintf(dir, sizeof dir, "%s/store-%u", base, store_no++);
  memset(&o, 0, sizeof o);
  o.dir = dir;
  o.map_size = 256 * 1024; /* small, so a few chunks make the map grow */
  o.map_max = 64 * 1024 * 1024;
  if (xc_store_open(&o, &s, &err) != XC_OK) fprintf(stderr, "\n  open: %s\n", err.msg);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  return s;
}

/* A write big enough to grow a small map, run on its own thread. */
typedef struct grower {
  xc_store *store;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, rc;
} grower;

static int grow_fn(xc_txn *txn, void *arg, xc_err *err) {
  static uint8_t chunk[XC_ARCHIVE_CHUNK_BYTES];
  uint8_t id[XC_CONTENT_ID_LEN];
  int rc = XC_OK;
  (void)arg;
  memset(id, 0x77, sizeof id);
  for (uint32_t i = 0; i < 8 && rc == XC_OK; i++) {
    memset(chunk, (int)i + 1, sizeof chunk);
    rc = xc_txn_upload_chunk(txn, id, i, chunk, sizeof chunk, err);
  }
  return rc;
}

static void *grower_main(void *arg) {
  grower *g = arg;
  xc_err err;
  int rc = xc_store_write(g->store, grow_fn, NULL, &err);
  pthread_mutex_lock(&g->mu);
  g->rc = rc;
  g->done = 1;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

typedef struct reading_walk {
  xc_snapshot *snap;
  grower *g;
  pthread_t thread;
  int started, grew_during_visit, visits, read_ok;
} reading_walk;

/* Reads every visited record back through the same snapshot; at the first
 * visit, waits (at most 10 s) for a write that grows the map, which can
 * only finish if the walk holds no lock of the store while it visits. */
static int reading_visit(void *arg, xc_kind kind, const char *id, size_t id_len,
                         const uint8_t *packed, size_t len) {
  reading_walk *w = arg;
  ProtobufCMessage *m = NULL;
  char sid[XC_ID_MAX];
  xc_err err;
  if (id_len >= sizeof sid) return XC_EINTERNAL;
  memcpy(sid, id, id_len);
  sid[id_len] = '\0';
  w->visits++;
  if (!w->started) {
    struct timespec until;
    w->started = 1;
    if (pthread_create(&w->thread, NULL, grower_main, w->g) != 0) return XC_EINTERNAL;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w->g->mu);
    while (!w->g->done)
      if (pthread_cond_timedwait(&w->g->cv, &w->g->mu, &until) != 0) break;
    w->grew_during_visit = w->g->done && w->g->rc == XC_OK;
    pthread_mutex_unlock(&w->g->mu);
  }
  if (xc_snapshot_get(w->snap, kind, sid, &m, &err) == XC_OK) {
    size_t plen = 0;
    uint8_t *p = xc_msg_pack(m, 0, &plen);
    /* The copy handed to the visitor is the stored record. */
    if (p != NULL && plen == len && memcmp(p, packed, len) == 0) w->read_ok++;
    free(p);
  }
  xc_msg_free(m);
  return 0;
}

static void test_scan_raw_reads_store(void) {
  enum { N = 600 }; /* more than one chunk of the walk */
  xc_store *s = open_store_small();
  xc_store_stats before, after;
  reading_walk w;
  grower g;
  xc_err err;

  put_targets(s, "office:310104", "310104001", N, NULL);
  xc_store_get_stats(s, &before);
  memset(&w, 0, sizeof w);
  memset(&g, 0, sizeof g);
  g.store = s;
  CU_ASSERT_EQUAL_FATAL(pthread_mutex_init(&g.mu, NULL), 0);
  CU_ASSERT_EQUAL_FATAL(pthread_cond_init(&g.cv, NULL), 0);
  w.g = &g;
  must(xc_snapshot_begin(s, &w.snap, &err), &err, "snapshot");
  must(xc_snapshot_walk_kind(w.snap, XC_KIND_TARGET, NULL, reading_visit, &w, &err), &err,
       "walk");
  if (w.started) pthread_join(w.thread, NULL);
  xc_snapshot_end(w.snap);
  xc_store_get_stats(s, &after);
  CU_ASSERT_EQUAL(w.visits, N);
  CU_ASSERT_EQUAL(w.read_ok, N);
  CU_ASSERT_TRUE(w.grew_during_visit);
  CU_ASSERT_EQUAL(g.rc, XC_OK);
  CU_ASSERT_TRUE(after.map_growths > before.map_growths);
  pthread_cond_destroy(&g.cv);
  pthread_mutex_destroy(&g.mu);
  xc_store_close(s);
}

/* ================================================================= main */

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("sync storage", suite_init, NULL);
  CU_add_test(s, "replicate: bytes, indexes, once per version, owner kept", test_replicate);
  CU_add_test(s, "sync values: get, put, prefix walk, name limits", test_sync_values);
  CU_add_test(s, "log prune: <= upto, at most max, last seq kept", test_log_prune);
  CU_add_test(s, "raw walk across chunks, from an id, stop and fail", test_scan_raw_paging);
  s = CU_add_suite("sync homes", NULL, NULL);
  CU_add_test(s, "load errors name the line", test_home_load_errors);
  CU_add_test(s, "longest prefix, upstream, downstream, within", test_home_lookup);
  CU_add_test(s, "admit, replica check, reset", test_home_admit);
  s = CU_add_suite("sync", NULL, suite_clean);
  CU_add_test(s, "apply exactly once, byte for byte", test_apply_exactly_once);
  CU_add_test(s, "interrupted batches and late retries", test_apply_interrupted);
  CU_add_test(s, "push jurisdiction checks and the Push handler", test_check_push);
  CU_add_test(s, "township -> county -> city", test_cascade);
  CU_add_test(s, "pull selection and paging", test_pull_selection);
  CU_add_test(s, "pruning and snapshot pulls", test_prune_and_snapshot);
  CU_add_test(s, "pruning by the upstream's acknowledgement", test_prune_upstream);
  CU_add_test(s, "digests per origin and record lists", test_digest);
  CU_add_test(s, "progress on a replica re-derives the home finding", test_progress_rederive);
  CU_add_test(s, "conflicting steps keep the home finding", test_progress_conflict);
  CU_add_test(s, "replicas refuse changes through the handlers", test_replica_refusals);
  CU_add_test(s, "a batch with one refused change writes nothing", test_apply_atomic);
  CU_add_test(s, "a city lead's disposition at the county's agency", test_disposition_flow);
  CU_add_test(s, "a disposition not by the lead's recipient, or of a lead not held, is refused",
              test_disposition_refused);
  CU_add_test(s, "a disposition must carry its lead's owner, region and recipient",
              test_disposition_forged_labels);
  CU_add_test(s, "a disposition of a lead whose region lies above or beside the county",
              test_disposition_from_above);
  CU_add_test(s, "a lead sent down for its agency keeps its recipient", test_lead_recipient_moves);
  CU_add_test(s, "rounds by region (elevated, not city-wide), their groups and documents, directory above",
              test_pull_rounds_and_directory);
  CU_add_test(s, "a disposition from above after a recipient change is kept, from below refused",
              test_disposition_from_above_after_move);
  CU_add_test(s, "a lead for a township's agency passes the county on the way down",
              test_lead_to_township_agency);
  CU_add_test(s, "document content: put in chunks, digest and size checked, get",
              test_content_transfer);
  CU_add_test(s, "a raw walk's visitor reads the store while the map grows",
              test_scan_raw_reads_store);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
