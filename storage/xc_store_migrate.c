/*
 * xc_store_migrate.c: upgrading a store written by an older xunchad.
 *
 * xc_store_open reads meta "format". A newer format than this build knows is
 * refused untouched. An older one is migrated in place by the steps below,
 * from format N to N+1 each, all in the opening write transaction: if any
 * step fails, nothing is committed and the store stays as it was.
 *
 * Formats:
 *   0  the development layout before 0.1.0: meta "format" = 0 and "secret";
 *      record values were the bare packed protobuf (no leading format
 *      byte); there was no meta "last_seq" (the change log was empty).
 *   1  (0.1.0) record values start with one format byte (1); meta
 *      "last_seq" holds the newest change-log sequence number.
 *   2  the "counter" database (reports' maintained counts) and the date
 *      indexes (due, active, report); the step rebuilds both from the
 *      records (xc_store_counter.c). Record values keep format byte 1.
 *
 * To change the layout: raise XC__FORMAT, add a step from the old number
 * here, describe the new format above and in xc_store_int.h, and add a test
 * that builds a store of the old format by hand and opens it.
 */
#include <stdlib.h>
#include <string.h>

#include "xc_store_int.h"

typedef int (*xc__step_fn)(xc_store *s, MDB_txn *txn, xc_err *err);

/* Format 0 to 1: prefix every record with its format byte; start the
 * change-log counter. */
static int xc__step_0_to_1(xc_store *s, MDB_txn *txn, xc_err *err) {
  MDB_cursor *cur = NULL;
  uint8_t *buf = NULL;
  size_t cap = 0;
  int rc = XC_OK, mrc;
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    MDB_val key, val;
    if (!xc_kind_used((xc_kind)k)) continue;
    mrc = mdb_cursor_open(txn, s->dbi_kind[k], &cur);
    if (mrc != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "opening a cursor to migrate records");
      goto done;
    }
    for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
      MDB_val nv;
      if (val.mv_size > SIZE_MAX - 1 || val.mv_size + 1 > (size_t)XC_MAX_MESSAGE_BYTES * 2) {
        rc = xc_err_set(err, XC_EDATA_LOSS, "a %s record of %zu bytes is too large to migrate",
                        xc_kind_name((xc_kind)k), val.mv_size);
        goto done;
      }
      if (val.mv_size + 1 > cap) {
        uint8_t *nb = realloc(buf, val.mv_size + 1);
        if (nb == NULL) {
          rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory migrating records");
          goto done;
        }
        buf = nb;
        cap = val.mv_size + 1;
      }
      uint8_t kbuf[512];
      MDB_val kv;
      if (key.mv_size > sizeof kbuf) {
        rc = xc_err_set(err, XC_EDATA_LOSS, "a %s key of %zu bytes is too long",
                        xc_kind_name((xc_kind)k), key.mv_size);
        goto done;
      }
      buf[0] = 1;
      memcpy(buf + 1, val.mv_data, val.mv_size);
      nv.mv_size = val.mv_size + 1;
      nv.mv_data = buf;
      /* The key and value point into the page the put rewrites: copy the
       * key first. MDB_CURRENT replaces the value under the cursor; a new
       * size is fine in a database without duplicates. */
      memcpy(kbuf, key.mv_data, key.mv_size);
      kv.mv_size = key.mv_size;
      kv.mv_data = kbuf;
      mrc = mdb_cursor_put(cur, &kv, &nv, MDB_CURRENT);
      if (mrc != 0) {
        rc = xc__mdb_fail(NULL, mrc, err, "rewriting a record");
        goto done;
      }
    }
    if (mrc != MDB_NOTFOUND) {
      rc = xc__mdb_fail(NULL, mrc, err, "reading records to migrate");
      goto done;
    }
    mdb_cursor_close(cur);
    cur = NULL;
  }
  {
    /* Format 0 kept no log; should one hold entries anyway, the counter
     * starts after the newest, so no sequence number is used twice. */
    uint8_t seq[8] = {0};
    MDB_val k = {8, "last_seq"};
    MDB_val v = {sizeof seq, seq};
    MDB_val lk, lv;
    mrc = mdb_cursor_open(txn, s->dbi_changelog, &cur);
    if (mrc == 0) mrc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
    if (mrc == 0 && lk.mv_size == sizeof seq) memcpy(seq, lk.mv_data, sizeof seq);
    if (cur != NULL) mdb_cursor_close(cur);
    cur = NULL;
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
      rc = xc__mdb_fail(NULL, mrc, err, "reading the change log");
      goto done;
    }
    mrc = mdb_put(txn, s->dbi_meta, &k, &v, MDB_NOOVERWRITE);
    if (mrc != 0 && mrc != MDB_KEYEXIST) {
      rc = xc__mdb_fail(NULL, mrc, err, "writing last_seq");
      goto done;
    }
  }
done:
  if (cur != NULL) mdb_cursor_close(cur);
  free(buf);
  return rc;
}

/* The steps, by the format they start from. */
static const struct {
  uint64_t from;
  xc__step_fn fn;
} xc__steps[] = {
    {0, xc__step_0_to_1},
    {1, xc__counter_rebuild},
};

int xc__migrate(xc_store *s, MDB_txn *txn, uint64_t from, xc_err *err) {
  s->migrated = 1;
  s->migrated_from = from;
  for (uint64_t f = from; f < XC__FORMAT; f++) {
    size_t i;
    uint8_t b;
    MDB_val k = {6, "format"};
    MDB_val v = {1, &b};
    int rc, mrc;
    for (i = 0; i < sizeof xc__steps / sizeof xc__steps[0]; i++)
      if (xc__steps[i].from == f) break;
    if (i == sizeof xc__steps / sizeof xc__steps[0])
      return xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "the store in %s has format %llu, which this xunchad cannot migrate to "
                        "format %d. Nothing was changed; open it first with the xunchad release "
                        "that followed the one that wrote it, then with this one",
                        s->dir, (unsigned long long)f, XC__FORMAT);
    rc = xc__steps[i].fn(s, txn, err);
    if (rc != XC_OK) return rc;
    b = (uint8_t)(f + 1);
    mrc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
    if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "writing the store's format");
  }
  return XC_OK;
}
