/* xc_store_info.c: sizes and counts for operators (xc_store_get_info). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "xc_store_int.h"

/* Counts the lines mdb_reader_list prints: a header, then one per live
 * reader. */
static int xc__count_reader(const char *msg, void *ctx) {
  unsigned *n = ctx;
  (void)msg;
  (*n)++;
  return 0;
}

int xc_store_get_info(xc_store *store, xc_store_info *out, xc_err *err) {
  MDB_envinfo info;
  MDB_stat st;
  MDB_txn *txn = NULL;
  xc_snapshot *snap = NULL;
  unsigned lines = 0;
  struct stat fs;
  char path[4096];
  int rc = XC_OK, mrc, n;

  memset(out, 0, sizeof *out);
  out->migrated = store->migrated;
  out->migrated_from = store->migrated_from;
  out->format = XC__FORMAT;
  /* The map lock keeps a concurrent map growth from remapping under us. */
  if (pthread_rwlock_rdlock(&store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  if ((mrc = mdb_env_info(store->env, &info)) != 0 || (mrc = mdb_env_stat(store->env, &st)) != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "reading the environment's figures");
    goto done;
  }
  out->map_bytes = info.me_mapsize;
  out->map_max_bytes = store->map_max;
  out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
  out->max_readers = info.me_maxreaders;
  /* mdb_reader_list prints a header line first, and nothing else when no
   * reader is live. */
  if (mdb_reader_list(store->env, xc__count_reader, &lines) >= 0 && lines > 0)
    out->readers_used = lines - 1;
  mrc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "starting a read transaction");
    goto done;
  }
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    if (!xc_kind_used((xc_kind)k)) continue;
    if ((mrc = mdb_stat(txn, store->dbi_kind[k], &st)) != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "counting records");
      goto done;
    }
    out->records[k] = st.ms_entries;
  }
  mdb_txn_abort(txn);
  txn = NULL;
  n = snprintf(path, sizeof path, "%s/data.mdb", store->dir);
  if (n > 0 && (size_t)n < sizeof path && stat(path, &fs) == 0) out->file_bytes = (uint64_t)fs.st_size;
done:
  if (txn != NULL) mdb_txn_abort(txn);
  (void)pthread_rwlock_unlock(&store->map_lock);
  if (rc == XC_OK && xc_snapshot_begin(store, &snap, err) == XC_OK) {
    out->last_change = xc_snapshot_last_change(snap);
    xc_snapshot_end(snap);
  }
  return rc;
}
