/*
 * xc_oldstore: turns a store written by this xunchad into what an older one
 * left behind, for the upgrade test (tests/e2e/ops_test.py).
 *
 *   xc_oldstore DIR 0      rewrite as format 0 (storage/xc_store_migrate.c):
 *                          records without their format byte, no meta
 *                          last_seq, no change log, meta format 0
 *   xc_oldstore DIR N      only set meta format to N (e.g. a newer format)
 *
 * Works on the LMDB files directly; xunchad must not be running. Exits 0 on
 * success, 1 with a message otherwise.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record databases whose values start with the format byte. */
static const char *const kinds[] = {"target", "round", "group", "finding", "lead",
                                    "directory", "progress", "verification", "disposition"};

/* Strips the leading format byte of every value in database `name` (absent
 * databases are skipped). Returns 0 or an LMDB error. */
static int strip(MDB_txn *txn, const char *name) {
  MDB_dbi dbi;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  int rc = mdb_dbi_open(txn, name, 0, &dbi), g;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc == 0) rc = mdb_cursor_open(txn, dbi, &cur);
  for (g = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc; rc == 0 && g == 0;
       g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    unsigned char kbuf[512];
    unsigned char *buf;
    MDB_val nk, nv;
    if (v.mv_size < 1 || k.mv_size > sizeof kbuf) {
      rc = MDB_CORRUPTED;
      break;
    }
    buf = malloc(v.mv_size);
    if (buf == NULL) {
      rc = ENOMEM;
      break;
    }
    /* Both point into the page the put rewrites: copy them first. */
    memcpy(kbuf, k.mv_data, k.mv_size);
    memcpy(buf, (unsigned char *)v.mv_data + 1, v.mv_size - 1);
    nk.mv_size = k.mv_size;
    nk.mv_data = kbuf;
    nv.mv_size = v.mv_size - 1;
    nv.mv_data = buf;
    rc = mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT);
    free(buf);
  }
  if (rc == 0 && g != MDB_NOTFOUND) rc = g;
  if (cur != NULL) mdb_cursor_close(cur);
  return rc;
}

int main(int argc, char **argv) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi meta;
  unsigned char format;
  MDB_val fk = {6, "format"}, fv = {1, &format};
  MDB_val lk = {8, "last_seq"};
  char *end;
  long n;
  int rc;
  if (argc != 3) {
    fprintf(stderr, "usage: xc_oldstore DIR FORMAT\n");
    return 1;
  }
  n = strtol(argv[2], &end, 10);
  if (*end != '\0' || n < 0 || n > 255) {
    fprintf(stderr, "xc_oldstore: FORMAT must be 0 to 255\n");
    return 1;
  }
  format = (unsigned char)n;
  rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, 32);
  if (rc == 0) rc = mdb_env_open(env, argv[1], 0, 0600);
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == 0) rc = mdb_put(txn, meta, &fk, &fv, 0);
  if (rc == 0 && format == 0) {
    MDB_dbi log;
    rc = mdb_del(txn, meta, &lk, NULL);
    if (rc == 0) rc = mdb_dbi_open(txn, "changelog", 0, &log);
    if (rc == 0) rc = mdb_drop(txn, log, 0);
    for (size_t i = 0; rc == 0 && i < sizeof kinds / sizeof kinds[0]; i++) rc = strip(txn, kinds[i]);
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = NULL;
  }
  if (txn != NULL) mdb_txn_abort(txn);
  if (env != NULL) mdb_env_close(env);
  if (rc != 0) {
    fprintf(stderr, "xc_oldstore: %s: %s\n", argv[1], mdb_strerror(rc));
    return 1;
  }
  return 0;
}
