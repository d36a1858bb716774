/*
 * CUnit suite for server/xc_audit.c: calls are queued and flushed, a lead
 * read is durable before xc_audit_call returns, checkpoints are signed with
 * the server key and appended to the checkpoint file, a cut tail is caught
 * by a checkpoint even when the store's own head and checkpoints were
 * rewritten, a forged checkpoint is refused, pruning keeps the chain
 * verifiable. Certificates come from certs/xuncha-certs (openssl).
 */
#include <CUnit/Basic.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xc_audit.h"
#include "xc_handler.h"
#include "xc_store.h"
#include "xc_store_audit.h"
#include "xc_test_fs.h"
#include "xc_text.h"
#include "xuncha/v1/xuncha.pb-c.h"

static char tmp[64];
static char *cert_pem, *key_pem, *ca_pem;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) != NULL &&
      fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static int setup(void) {
  char cmd[512], p[128];
  (void)snprintf(tmp, sizeof tmp, "/tmp/xc-audit-srv-XXXXXX");
  if (mkdtemp(tmp) == NULL) return -1;
  (void)snprintf(cmd, sizeof cmd, "'%s' dev '%s/certs' >/dev/null 2>&1", XC_CERTS_TOOL, tmp);
  if (system(cmd) != 0) return -1;
  (void)snprintf(p, sizeof p, "%s/certs/server.pem", tmp);
  cert_pem = slurp(p);
  (void)snprintf(p, sizeof p, "%s/certs/server.key", tmp);
  key_pem = slurp(p);
  (void)snprintf(p, sizeof p, "%s/certs/ca.pem", tmp);
  ca_pem = slurp(p);
  return cert_pem != NULL && key_pem != NULL && ca_pem != NULL ? 0 : -1;
}

static int teardown(void) {
  char cmd[256];
  free(cert_pem);
  free(key_pem);
  free(ca_pem);
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

typedef struct env {
  char data[128], ckpt[128];
  xc_store *store;
} env;

static int env_open(env *e, const char *name) {
  xc_store_options so;
  xc_audit_options ao;
  xc_err err;
  (void)snprintf(e->data, sizeof e->data, "%s/%s", tmp, name);
  (void)snprintf(e->ckpt, sizeof e->ckpt, "%s/%s.ckpt", tmp, name);
  memset(&so, 0, sizeof so);
  so.dir = e->data;
  if (xc_store_open(&so, &e->store, &err) != XC_OK) return -1;
  memset(&ao, 0, sizeof ao);
  ao.store = e->store;
  ao.checkpoint_file = e->ckpt;
  ao.flush_ms = 60000; /* the tests flush themselves */
  ao.checkpoint_ms = 3600000;
  if (xc_audit_start(&ao, cert_pem, key_pem, ca_pem, &err) != XC_OK) {
    fprintf(stderr, "\n  audit start: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static void env_close(env *e) {
  xc_audit_stop();
  xc_store_close(e->store);
  e->store = NULL;
}

static xc_ctx ctx_of(env *e, const char *cn, const char *method) {
  xc_ctx c;
  xc_err err;
  memset(&c, 0, sizeof c);
  c.store = e->store;
  c.method = method;
  c.has_identity = xc_identity_parse(cn, "0A", &c.id, &err) == XC_OK;
  return c;
}

static uint64_t head_seq(env *e) {
  xc_snapshot *s = NULL;
  uint64_t seq = 0;
  uint8_t h[32];
  xc_err err;
  if (xc_snapshot_begin(e->store, &s, &err) == XC_OK &&
      xc_snapshot_audit_head(s, &seq, h, &err) != XC_OK)
    seq = 0;
  xc_snapshot_end(s);
  return seq;
}

/* Records n ordinary reads (queued). */
static void reads(env *e, int n) {
  Xuncha__V1__GetTargetRequest req = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  xc_ctx c = ctx_of(e, "office:310104", "/xuncha.v1.Targets/GetTarget");
  xc_err err;
  req.id = "t_01M8CWBJ2CHPNF8P6JF4RH35KD";
  for (int i = 0; i < n; i++)
    CU_ASSERT_EQUAL(xc_audit_call(&c, "", "", c.method, &req.base, NULL, XC_OK, &err), XC_OK);
}

static void test_queue_and_lead_reads(void) {
  env e;
  Xuncha__V1__GetLeadRequest req = XUNCHA__V1__GET_LEAD_REQUEST__INIT;
  xc_ctx lead;
  xc_err err;
  CU_ASSERT_FATAL(env_open(&e, "queue") == 0);
  reads(&e, 3);
  /* Ordinary reads wait in memory for the flush. */
  CU_ASSERT_EQUAL(head_seq(&e), 0);
  lead = ctx_of(&e, "office:310104", "/xuncha.v1.Leads/GetLead");
  req.id = "l_01M8CWBJ2CHPNF8P6JF4RH35KD";
  CU_ASSERT_EQUAL(xc_audit_call(&lead, "", "", lead.method, &req.base, NULL, XC_OK, &err), XC_OK);
  /* A lead read is durable before xc_audit_call returns. */
  CU_ASSERT_EQUAL(head_seq(&e), 1);
  CU_ASSERT_EQUAL(xc_audit_flush(&err), XC_OK);
  CU_ASSERT_EQUAL(head_seq(&e), 4);
  /* A write path's own entry is not recorded twice. */
  lead.audit_done = 1;
  CU_ASSERT_EQUAL(xc_audit_call(&lead, "", "", lead.method, &req.base, NULL, XC_OK, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_audit_flush(&err), XC_OK);
  CU_ASSERT_EQUAL(head_seq(&e), 4);
  env_close(&e);
}

/* Entries of the numbered reads below, by the number in their record id. */
#define NUMBERED_MAX (4 * XC_AUDIT_QUEUE_WAKE)
typedef struct seen {
  unsigned hits[NUMBERED_MAX];
  unsigned total, bad;
} seen;

static int seen_fn(void *ctx, const xc_audit_record *r) {
  seen *s = ctx;
  long long i = -1;
  s->total++;
  if (strncmp(r->ids, "t_", 2) != 0 ||
      xc_parse_int64(r->ids + 2, 0, NUMBERED_MAX - 1, &i) != 0 ||
      strcmp(r->cn, "office:310104") != 0 ||
      strcmp(r->method, "/xuncha.v1.Targets/GetTarget") != 0)
    s->bad++;
  else
    s->hits[i]++;
  return 0;
}

/* Records reads from..to-1 (queued), each naming target "t_<number>". */
static void numbered_reads(env *e, int from, int to) {
  Xuncha__V1__GetTargetRequest req = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  xc_ctx c = ctx_of(e, "office:310104", "/xuncha.v1.Targets/GetTarget");
  xc_err err;
  char id[32];
  req.id = id;
  for (int i = from; i < to; i++) {
    (void)snprintf(id, sizeof id, "t_%d", i);
    CU_ASSERT_EQUAL(xc_audit_call(&c, "", "", c.method, &req.base, NULL, XC_OK, &err), XC_OK);
  }
}

/* Waits (10 s at most) until the audit holds `want` entries; returns its count. */
static uint64_t wait_head(env *e, uint64_t want) {
  uint64_t seq = head_seq(e);
  for (int i = 0; i < 1000 && seq < want; i++) {
    xc_test_sleep_ms(10);
    seq = head_seq(e);
  }
  return seq;
}

/* The queue is written once it holds XC_AUDIT_QUEUE_WAKE entries, long
 * before the flush interval (a minute here), so it never holds much more
 * in memory; entries queued while the thread writes go to the other array,
 * and every entry is written exactly once. */
static void test_queue_wakes_flush(void) {
  env e;
  seen s;
  xc_err err;
  CU_ASSERT_FATAL(env_open(&e, "wake") == 0);
  numbered_reads(&e, 0, XC_AUDIT_QUEUE_WAKE - 1);
  xc_test_sleep_ms(200);
  CU_ASSERT_EQUAL(head_seq(&e), 0);
  numbered_reads(&e, XC_AUDIT_QUEUE_WAKE - 1, XC_AUDIT_QUEUE_WAKE);
  CU_ASSERT_EQUAL(wait_head(&e, XC_AUDIT_QUEUE_WAKE), XC_AUDIT_QUEUE_WAKE);
  /* Three queues' worth at once: the thread is woken again while this
   * thread goes on queueing, and may still be writing at the flush. */
  numbered_reads(&e, XC_AUDIT_QUEUE_WAKE, NUMBERED_MAX);
  CU_ASSERT_EQUAL(xc_audit_flush(&err), XC_OK);
  CU_ASSERT_EQUAL(wait_head(&e, NUMBERED_MAX), NUMBERED_MAX);
  memset(&s, 0, sizeof s);
  {
    xc_snapshot *snap = NULL;
    CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(e.store, &snap, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_snapshot_audit_scan(snap, 0, seen_fn, &s, &err), XC_OK);
    xc_snapshot_end(snap);
  }
  CU_ASSERT_EQUAL(s.total, NUMBERED_MAX);
  CU_ASSERT_EQUAL(s.bad, 0);
  for (int i = 0; i < NUMBERED_MAX; i++)
    if (s.hits[i] != 1) {
      CU_FAIL("an entry was written other than once");
      break;
    }
  env_close(&e);
}

static int last_fn(void *ctx, const xc_audit_record *r) {
  *(xc_audit_record *)ctx = *r;
  return 0;
}

/* What the audit stores of s in a field of size - 1 bytes: cut like
 * xc_strlcpy, then printable ASCII with '?' for every other byte (the
 * store's canonical text, storage/xc_store_audit.c). */
static void want_cut(char *out, const char *s, size_t size) {
  (void)xc_strlcpy(out, s, size);
  for (char *p = out; *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) *p = '?';
}

/* A queued entry keeps its strings whole, cuts each one that is too long
 * at its limit (never inside a character, as the queue's fixed buffers
 * did), and turns missing ones into empty strings. */
static void test_entry_strings(void) {
  env e;
  Xuncha__V1__GetTargetRequest req = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  char cn[300], serial[200], method[300];
  char want_cn[XC_MAX_CN_BYTES + 1], want_serial[XC_MAX_SERIAL_BYTES + 1];
  char want_method[XC_AUDIT_METHOD_MAX + 1];
  xc_audit_record r;
  xc_snapshot *snap = NULL;
  xc_err err;
  size_t n;
  CU_ASSERT_FATAL(env_open(&e, "strings") == 0);
  /* Three-byte characters after an odd prefix, so each limit falls inside
   * a character. */
  n = (size_t)snprintf(cn, sizeof cn, "office:3101x");
  while (n + 3 < sizeof cn) n += (size_t)snprintf(cn + n, sizeof cn - n, "巡");
  n = (size_t)snprintf(serial, sizeof serial, "0");
  while (n + 3 < sizeof serial) n += (size_t)snprintf(serial + n, sizeof serial - n, "察");
  n = (size_t)snprintf(method, sizeof method, "/x.y/");
  while (n + 3 < sizeof method) n += (size_t)snprintf(method + n, sizeof method - n, "组");
  want_cut(want_cn, cn, sizeof want_cn);
  want_cut(want_serial, serial, sizeof want_serial);
  want_cut(want_method, method, sizeof want_method);
  /* The cuts fell inside characters, so they backed off. */
  CU_ASSERT(strlen(want_cn) < XC_MAX_CN_BYTES && strlen(want_method) < XC_AUDIT_METHOD_MAX);
  req.id = "t_01M8CWBJ2CHPNF8P6JF4RH35KD";
  CU_ASSERT_EQUAL(xc_audit_call(NULL, cn, serial, method, &req.base, NULL, XC_ENOT_FOUND, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_EQUAL(xc_audit_flush(&err), XC_OK);
  memset(&r, 0, sizeof r);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(e.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_audit_scan(snap, 0, last_fn, &r, &err), XC_OK);
  xc_snapshot_end(snap);
  CU_ASSERT_EQUAL(r.seq, 1);
  CU_ASSERT_STRING_EQUAL(r.cn, want_cn);
  CU_ASSERT_STRING_EQUAL(r.serial, want_serial);
  CU_ASSERT_STRING_EQUAL(r.method, want_method);
  CU_ASSERT_STRING_EQUAL(r.ids, "t_01M8CWBJ2CHPNF8P6JF4RH35KD");
  CU_ASSERT_EQUAL(r.status, XC_ENOT_FOUND);
  /* No identity, no method: empty strings. */
  CU_ASSERT_EQUAL(xc_audit_call(NULL, NULL, NULL, NULL, &req.base, NULL, XC_OK, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_audit_flush(&err), XC_OK);
  memset(&r, 0x55, sizeof r);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(e.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_snapshot_audit_scan(snap, 1, last_fn, &r, &err), XC_OK);
  xc_snapshot_end(snap);
  CU_ASSERT_EQUAL(r.seq, 2);
  CU_ASSERT_STRING_EQUAL(r.cn, "");
  CU_ASSERT_STRING_EQUAL(r.serial, "");
  CU_ASSERT_STRING_EQUAL(r.method, "");
  CU_ASSERT_STRING_EQUAL(r.ids, "t_01M8CWBJ2CHPNF8P6JF4RH35KD");
  env_close(&e);
}

/* Opens the LMDB file directly: cuts entries after `keep`, rewrites the
 * head to match and deletes the stored checkpoints. */
static int cut_everything(const char *dir, uint64_t keep) {
  MDB_env *menv = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi audit, meta, ckpt;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  uint8_t key[8], pair[40];
  int rc = -1;
  if (mdb_env_create(&menv) != 0) return -1;
  (void)mdb_env_set_maxdbs(menv, 32);
  if (mdb_env_open(menv, dir, 0, 0600) != 0 || mdb_txn_begin(menv, NULL, 0, &txn) != 0) goto done;
  if (mdb_dbi_open(txn, "audit", 0, &audit) != 0 || mdb_dbi_open(txn, "meta", 0, &meta) != 0 ||
      mdb_dbi_open(txn, "audit_ckpt", 0, &ckpt) != 0 || mdb_drop(txn, ckpt, 0) != 0 ||
      mdb_cursor_open(txn, audit, &cur) != 0)
    goto abort;
  while (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0) {
    uint64_t s = 0;
    for (int i = 0; i < 8; i++) s = s << 8 | ((const uint8_t *)k.mv_data)[i];
    if (s <= keep) {
      memcpy(pair, k.mv_data, 8);
      memcpy(pair + 8, (const uint8_t *)v.mv_data + 1, 32);
      break;
    }
    if (mdb_cursor_del(cur, 0) != 0) goto abort;
  }
  mdb_cursor_close(cur);
  cur = NULL;
  (void)key;
  k.mv_size = 10;
  k.mv_data = "audit_head";
  v.mv_size = 40;
  v.mv_data = pair;
  if (mdb_put(txn, meta, &k, &v, 0) != 0) goto abort;
  rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
  txn = NULL;
abort:
  if (cur != NULL) mdb_cursor_close(cur);
  if (txn != NULL) mdb_txn_abort(txn);
done:
  mdb_env_close(menv);
  return rc;
}

static void test_checkpoints_and_tail_cut(void) {
  env e;
  xc_audit_report rep;
  unsigned n = 0;
  xc_err err;
  FILE *f;
  CU_ASSERT_FATAL(env_open(&e, "cut") == 0);
  reads(&e, 10);
  CU_ASSERT_EQUAL(xc_audit_checkpoint(&err), XC_OK);
  CU_ASSERT_EQUAL(xc_audit_verify(&rep, &n, &err), XC_OK);
  CU_ASSERT_TRUE(rep.ok);
  CU_ASSERT_EQUAL(n, 2); /* the stored one and the file's */
  CU_ASSERT_EQUAL(rep.anchored_seq, 10);
  env_close(&e);
  /* Someone with the store's files cuts entries 8..10 and covers it up in
   * the store; the checkpoint file still has entry 10 signed. */
  CU_ASSERT_EQUAL(cut_everything(e.data, 7), 0);
  CU_ASSERT_FATAL(env_open(&e, "cut") == 0);
  CU_ASSERT_EQUAL(xc_audit_verify(&rep, &n, &err), XC_OK);
  CU_ASSERT_FALSE(rep.ok);
  CU_ASSERT_EQUAL(rep.first_bad, 8);
  CU_ASSERT_PTR_NOT_NULL(strstr(rep.reason, "tail was cut"));
  /* A forged checkpoint line (right form, wrong signature) is named. */
  f = fopen(e.ckpt, "a");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fprintf(f, "xuncha-audit-ckpt v1 kind=1 seq=3 alg=sha256 time_ms=1 hash=%064d sig=3006020101020101 cert=00\n", 0);
  fclose(f);
  CU_ASSERT_EQUAL(xc_audit_verify(&rep, &n, &err), XC_OK);
  CU_ASSERT_FALSE(rep.ok);
  env_close(&e);
}

static void test_forged_signature(void) {
  env e;
  xc_audit_report rep;
  unsigned n = 0;
  xc_err err;
  char *line;
  FILE *f;
  CU_ASSERT_FATAL(env_open(&e, "forged") == 0);
  reads(&e, 3);
  CU_ASSERT_EQUAL(xc_audit_checkpoint(&err), XC_OK);
  env_close(&e);
  /* Flip one hex digit of the signature in the file. */
  line = slurp(e.ckpt);
  CU_ASSERT_PTR_NOT_NULL_FATAL(line);
  {
    char *s = strstr(line, " sig=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    s[12] = s[12] == '0' ? '1' : '0';
  }
  f = fopen(e.ckpt, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(line, f);
  fclose(f);
  free(line);
  CU_ASSERT_FATAL(env_open(&e, "forged") == 0);
  CU_ASSERT_EQUAL(xc_audit_verify(&rep, &n, &err), XC_OK);
  CU_ASSERT_FALSE(rep.ok);
  CU_ASSERT_PTR_NOT_NULL(strstr(rep.reason, "signature"));
  CU_ASSERT_EQUAL(rep.first_bad, 3);
  env_close(&e);
}

static void test_prune(void) {
  env e;
  xc_audit_report rep;
  unsigned n = 0;
  uint64_t pruned = 0;
  xc_err err;
  CU_ASSERT_FATAL(env_open(&e, "prune") == 0);
  reads(&e, 5);
  CU_ASSERT_EQUAL(xc_audit_checkpoint(&err), XC_OK);
  /* Everything older than tomorrow goes; a signed base stays. */
  CU_ASSERT_EQUAL(xc_audit_prune(INT64_MAX / 2, &pruned, &err), XC_OK);
  CU_ASSERT_EQUAL(pruned, 5);
  reads(&e, 2);
  CU_ASSERT_EQUAL(xc_audit_verify(&rep, &n, &err), XC_OK);
  CU_ASSERT_TRUE(rep.ok);
  if (!rep.ok) fprintf(stderr, "\n  %s\n", rep.reason);
  CU_ASSERT_EQUAL(rep.base_seq, 5);
  CU_ASSERT_EQUAL(rep.last_seq, 7);
  /* Nothing newer than a year ago is pruned. */
  CU_ASSERT_EQUAL(xc_audit_prune(1, &pruned, &err), XC_OK);
  CU_ASSERT_EQUAL(pruned, 0);
  env_close(&e);
}

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("audit (server)", setup, teardown);
  CU_add_test(s, "queued reads, durable lead reads", test_queue_and_lead_reads);
  CU_add_test(s, "a long queue is written before the flush interval", test_queue_wakes_flush);
  CU_add_test(s, "queued entries keep their strings, cut at their limits", test_entry_strings);
  CU_add_test(s, "signed checkpoints catch a covered-up tail cut", test_checkpoints_and_tail_cut);
  CU_add_test(s, "a checkpoint with a wrong signature is named", test_forged_signature);
  CU_add_test(s, "pruning with a signed base", test_prune);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
