/*
 * xc_store.c: opening and closing the store, the writer thread (group
 * commit, map growth, replay), snapshots, and the convenience writes.
 */
/* For sync_file_range (Linux), used by the writer's data-file headroom. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "xc_msg.h"
#include "xc_store_int.h"
#include "xc_text.h"

#define XC__DEFAULT_MAP_SIZE ((size_t)64 * 1024 * 1024)
#define XC__DEFAULT_MAX_READERS 256u
#define XC__DEFAULT_MAX_BATCH 256u
/* A batch larger than this gains nothing and only delays its first caller. */
#define XC__MAX_BATCH_LIMIT 65536u
/* Named databases: meta, 9 kinds, index, request, changelog, and room. */
#define XC__MAX_DBS 32

/* 1 TiB, or the largest size_t where that does not fit. */
static size_t xc__default_map_max(void) {
  uint64_t tib = UINT64_C(1) << 40;
  return tib > SIZE_MAX ? SIZE_MAX : (size_t)tib;
}

/* ---------------------------------------------------------------- errors */

int xc__mdb_code(int mrc) {
  switch (mrc) {
    case 0:
      return XC_OK;
    case MDB_NOTFOUND:
      return XC_ENOT_FOUND;
    case MDB_KEYEXIST:
      return XC_EALREADY_EXISTS;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case ENOMEM:
      return XC_ERESOURCE_EXHAUSTED;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
      return XC_EDATA_LOSS;
    case MDB_BAD_VALSIZE:
      return XC_EINVALID_ARGUMENT;
    case MDB_BAD_TXN:
    case MDB_BAD_DBI:
    case MDB_BAD_RSLOT:
    case EINVAL:
      return XC_EINTERNAL;
    default:
      /* EIO, EACCES, MDB_MAP_RESIZED and the like: the disk or the
       * environment is not usable right now. */
      return XC_EUNAVAILABLE;
  }
}

int xc__mdb_fail(xc_txn *t, int mrc, xc_err *err, const char *what) {
  int code = xc__mdb_code(mrc);
  if (mrc == MDB_MAP_FULL)
    (void)xc_err_set(err, code, "the database map is full while %s", what);
  else
    (void)xc_err_set(err, code, "storage error while %s: %s", what, mdb_strerror(mrc));
  if (t != NULL) {
    if (mrc == MDB_MAP_FULL) t->map_full = 1;
    if (!t->broken) {
      t->broken = 1;
      (void)xc_err_set(&t->broken_err, code, "storage error while %s: %s", what,
                       mdb_strerror(mrc));
    }
  }
  return code;
}

/* ------------------------------------------------------------------ meta */

/* Reads meta `name` as a big-endian unsigned number of 1 to 8 bytes into
 * *out. Returns 0, MDB_NOTFOUND, MDB_CORRUPTED (bad length) or an LMDB code. */
static int xc__meta_get_u64(xc_store *s, MDB_txn *txn, const char *name, uint64_t *out) {
  MDB_val k;
  MDB_val v;
  int mrc;
  k.mv_size = strlen(name);
  k.mv_data = (void *)name;
  mrc = mdb_get(txn, s->dbi_meta, &k, &v);
  if (mrc != 0) return mrc;
  if (v.mv_size < 1 || v.mv_size > 8) return MDB_CORRUPTED;
  *out = 0;
  for (size_t i = 0; i < v.mv_size; i++) *out = *out << 8 | ((const uint8_t *)v.mv_data)[i];
  return 0;
}

/* Writes meta `name` as `width` big-endian bytes of value. */
static int xc__meta_put_u64(xc_store *s, MDB_txn *txn, const char *name, uint64_t value,
                            size_t width) {
  uint8_t buf[8];
  MDB_val k;
  MDB_val v;
  for (size_t i = 0; i < width; i++) buf[i] = (uint8_t)(value >> (8 * (width - 1 - i)));
  k.mv_size = strlen(name);
  k.mv_data = (void *)name;
  v.mv_size = width;
  v.mv_data = buf;
  return mdb_put(txn, s->dbi_meta, &k, &v, 0);
}

/* ------------------------------------------------------------------ open */

/* Creates dir and its missing parents with mode 0700 (mkdir -p). */
static int xc__mkdir_p(const char *dir, xc_err *err) {
  char path[PATH_MAX];
  struct stat st;
  size_t n = strlen(dir);
  if (n >= sizeof path)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the store directory name is %zu bytes; the limit is %zu", n,
                      sizeof path - 1);
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    path[i] = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
      return xc_err_set(err, XC_EFAILED_PRECONDITION, "cannot create directory %s: %s", path,
                        strerror(errno));
    if (i < n) path[i] = '/';
  }
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return xc_err_set(err, XC_EFAILED_PRECONDITION, "%s is not a directory", dir);
  return XC_OK;
}

/* Rounds n up to a multiple of the system page size (saturating). */
static size_t xc__round_page(size_t n) {
  long ps = sysconf(_SC_PAGESIZE);
  size_t p = ps > 0 ? (size_t)ps : 4096;
  if (n % p == 0) return n;
  if (n > SIZE_MAX - p) return n - n % p;
  return n + (p - n % p);
}

/* Opens the named databases, checks or writes meta, and seeds the id
 * generator, all in one write transaction. */
static int xc__open_dbs(xc_store *s, xc_err *err) {
  static const char *const kind_db[XC_KIND_COUNT] = {
      "target", "round", "group", "finding", "lead", "directory", "progress", "verification",
      "disposition", [XC_KIND_TERM] = "term", [XC_KIND_DOCUMENT] = "document",
      [XC_KIND_INSPECTOR] = "inspector"};
  MDB_txn *txn = NULL;
  uint64_t format = 0;
  uint64_t floor_ms = 0;
  int rc = XC_OK;
  int mrc;
  int fresh;

  mrc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "starting the opening transaction");
    goto done;
  }
  mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->dbi_meta);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening the meta database");
    goto done;
  }
  /* Check the format before creating anything else, so a newer store is
   * refused without being touched (the transaction is aborted). */
  mrc = xc__meta_get_u64(s, txn, "format", &format);
  if (mrc == 0 && format > XC__FORMAT) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "the store in %s has format %llu, but this build of xuncha reads formats "
                    "up to %d: it was written by a newer xunchad. Nothing was changed; run the "
                    "newer version again (apt-get install --only-upgrade xuncha) or restore a "
                    "backup made by this one",
                    s->dir, (unsigned long long)format, XC__FORMAT);
    goto done;
  }
  if (mrc == MDB_CORRUPTED) {
    rc = xc_err_set(err, XC_EDATA_LOSS, "the store in %s has a damaged format entry",
                    s->dir);
    goto done;
  }
  if (mrc != 0 && mrc != MDB_NOTFOUND) {
    rc = xc__mdb_fail(NULL, mrc, err, "reading the store's format");
    goto done;
  }
  fresh = mrc == MDB_NOTFOUND;
  for (int i = 0; i < XC_KIND_COUNT; i++) {
    int orc;
    if (kind_db[i] == NULL) continue; /* a number kept free (xc_kind_used) */
    orc = mdb_dbi_open(txn, kind_db[i], MDB_CREATE, &s->dbi_kind[i]);
    if (orc != 0) {
      rc = xc__mdb_fail(NULL, orc, err, "opening a record database");
      goto done;
    }
  }
  if ((mrc = mdb_dbi_open(txn, "index", MDB_CREATE, &s->dbi_index)) != 0 ||
      (mrc = mdb_dbi_open(txn, "request", MDB_CREATE, &s->dbi_request)) != 0 ||
      (mrc = mdb_dbi_open(txn, "changelog", MDB_CREATE, &s->dbi_changelog)) != 0 ||
      (mrc = mdb_dbi_open(txn, "blob", MDB_CREATE, &s->dbi_blob)) != 0 ||
      (mrc = mdb_dbi_open(txn, "content", MDB_CREATE, &s->dbi_content)) != 0 ||
      (mrc = mdb_dbi_open(txn, "upload", MDB_CREATE, &s->dbi_upload)) != 0 ||
      (mrc = mdb_dbi_open(txn, "counter", MDB_CREATE, &s->dbi_counter)) != 0 ||
      (mrc = mdb_dbi_open(txn, "sync", MDB_CREATE, &s->dbi_sync)) != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening the index, request or change-log database");
    goto done;
  }
  rc = xc__audit_open(s, txn, s->audit_hash_opt, err);
  if (rc != XC_OK) goto done;

  if (fresh) {
    /* A new store: its format, its page-token secret, an empty log. */
    MDB_val k = {6, "secret"};
    MDB_val v = {sizeof s->secret, s->secret};
    if (RAND_bytes(s->secret, (int)sizeof s->secret) != 1) {
      rc = xc_err_set(err, XC_EINTERNAL, "cannot draw random bytes for the store's secret");
      goto done;
    }
    if ((mrc = xc__meta_put_u64(s, txn, "format", XC__FORMAT, 1)) != 0 ||
        (mrc = mdb_put(txn, s->dbi_meta, &k, &v, 0)) != 0 ||
        (mrc = xc__meta_put_u64(s, txn, "last_seq", 0, 8)) != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "writing the store's meta data");
      goto done;
    }
  } else {
    MDB_val k = {6, "secret"};
    MDB_val v;
    mrc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (mrc != 0 || v.mv_size != sizeof s->secret) {
      rc = xc_err_set(err, XC_EDATA_LOSS, "the store in %s has no valid secret", s->dir);
      goto done;
    }
    memcpy(s->secret, v.mv_data, sizeof s->secret);
    /* An older store is brought up to date in this same transaction: it
     * commits whole or not at all (xc_store_migrate.c). */
    if (format < XC__FORMAT) {
      rc = xc__migrate(s, txn, format, err);
      if (rc != XC_OK) goto done;
    }
  }

  {
    /* No upload is in progress while the store opens: whatever a stopped
     * or crashed server left pending is garbage. */
    uint64_t swept = 0;
    rc = xc__blob_sweep(s, txn, &swept, err);
    if (rc != XC_OK) goto done;
  }

  /* New ids must sort after every stored one even if the clock is behind
   * the newest of them (e.g. after a clock correction). */
  for (int i = 0; i < XC_KIND_COUNT; i++) {
    MDB_cursor *cur = NULL;
    MDB_val k;
    MDB_val v;
    if (kind_db[i] == NULL) continue;
    mrc = mdb_cursor_open(txn, s->dbi_kind[i], &cur);
    if (mrc != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "opening a cursor");
      goto done;
    }
    mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (mrc == 0) {
      uint64_t ms = xc__id_time_ms(k.mv_data, k.mv_size);
      if (ms > floor_ms) floor_ms = ms;
    } else if (mrc != MDB_NOTFOUND) {
      rc = xc__mdb_fail(NULL, mrc, err, "reading the newest record id");
      goto done;
    }
  }
  if (xc__idgen_init(&s->idgen, floor_ms) != XC_OK) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot draw random bytes for record ids");
    goto done;
  }

  mrc = mdb_txn_commit(txn);
  txn = NULL;
  if (mrc != 0) rc = xc__mdb_fail(NULL, mrc, err, "committing the opening transaction");
done:
  if (txn != NULL) mdb_txn_abort(txn);
  return rc;
}

static void *xc__writer_main(void *arg);

int xc_store_open(const xc_store_options *opt, xc_store **out, xc_err *err) {
  xc_store *s = NULL;
  size_t map_size;
  MDB_envinfo info;
  int rc = XC_OK;
  int mrc;
  int dead = 0;

  *out = NULL;
  if (opt == NULL || opt->dir == NULL || opt->dir[0] == '\0') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "the store needs a directory");
    goto done;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->dir = strdup(opt->dir)) == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  s->map_max = xc__round_page(opt->map_max != 0 ? opt->map_max : xc__default_map_max());
  map_size = xc__round_page(opt->map_size != 0 ? opt->map_size : XC__DEFAULT_MAP_SIZE);
  if (map_size > s->map_max) map_size = s->map_max;
  s->max_batch = opt->max_batch != 0 ? opt->max_batch : XC__DEFAULT_MAX_BATCH;
  if (s->max_batch > XC__MAX_BATCH_LIMIT) s->max_batch = XC__MAX_BATCH_LIMIT;
  s->audit_hash_opt = opt->audit_hash;
  s->batch = calloc(s->max_batch, sizeof *s->batch);
  s->resume = calloc(s->max_batch, sizeof *s->resume);
  if (s->batch == NULL || s->resume == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }

  rc = xc__mkdir_p(opt->dir, err);
  if (rc != XC_OK) goto done;
  if ((mrc = mdb_env_create(&s->env)) != 0) {
    s->env = NULL;
    rc = xc__mdb_fail(NULL, mrc, err, "creating the environment");
    goto done;
  }
  if ((mrc = mdb_env_set_maxdbs(s->env, XC__MAX_DBS)) != 0 ||
      (mrc = mdb_env_set_mapsize(s->env, map_size)) != 0 ||
      (mrc = mdb_env_set_maxreaders(s->env, opt->max_readers != 0
                                                ? opt->max_readers
                                                : XC__DEFAULT_MAX_READERS)) != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "configuring the environment");
    goto done;
  }
  /* MDB_NOTLS: snapshots move between threads. Default sync flags: every
   * commit is durable when it returns. */
  mrc = mdb_env_open(s->env, opt->dir, MDB_NOTLS, 0600);
  if (mrc != 0) {
    rc = xc_err_set(err, xc__mdb_code(mrc), "cannot open the store in %s: %s", opt->dir,
                    mdb_strerror(mrc));
    goto done;
  }
  /* Readers of processes that died keep their slots until cleared. */
  mrc = mdb_reader_check(s->env, &dead);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "clearing stale readers");
    goto done;
  }
  s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
  {
    /* For the writer's headroom (xc__preextend); none if unavailable. */
    MDB_stat est;
    mdb_filehandle_t fd;
    s->data_fd = -1;
    if (mdb_env_get_fd(s->env, &fd) == 0 && mdb_env_stat(s->env, &est) == 0) {
      s->data_fd = fd;
      s->psize = est.ms_psize;
    }
  }
  rc = xc__open_dbs(s, err);
  if (rc != XC_OK) goto done;
  /* An existing file bigger than the asked-for map size keeps its size. */
  if (mdb_env_info(s->env, &info) == 0) s->stats.map_size = info.me_mapsize;
  if (s->stats.map_size > s->map_max) s->map_max = s->stats.map_size;

  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the store's mutex");
    goto done;
  }
  if (pthread_cond_init(&s->work_cv, NULL) != 0) {
    pthread_mutex_destroy(&s->mu);
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the store's condition variable");
    goto done;
  }
  if (pthread_cond_init(&s->done_cv, NULL) != 0) {
    pthread_cond_destroy(&s->work_cv);
    pthread_mutex_destroy(&s->mu);
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the store's condition variable");
    goto done;
  }
  if (pthread_rwlock_init(&s->map_lock, NULL) != 0) {
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_mutex_destroy(&s->mu);
    rc = xc_err_set(err, XC_EINTERNAL, "cannot create the store's map lock");
    goto done;
  }
  s->sync_ready = 1;
  if (pthread_create(&s->writer, NULL, xc__writer_main, s) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot start the store's writer thread");
    goto done;
  }
  s->writer_started = 1;
  *out = s;
  s = NULL;
done:
  xc_store_close(s);
  return rc;
}

void xc_store_close(xc_store *store) {
  if (store == NULL) return;
  if (store->sync_ready) {
    /* A backup's thread reads the environment until it ends. */
    pthread_mutex_lock(&store->mu);
    while (store->backups > 0) pthread_cond_wait(&store->done_cv, &store->mu);
    pthread_mutex_unlock(&store->mu);
  }
  if (store->writer_started) {
    /* The writer runs every job queued before it sees the flag on an
     * empty queue, so no caller is left waiting. */
    pthread_mutex_lock(&store->mu);
    store->stopping = 1;
    pthread_cond_signal(&store->work_cv);
    pthread_mutex_unlock(&store->mu);
    pthread_join(store->writer, NULL);
  }
  if (store->sync_ready) {
    pthread_rwlock_destroy(&store->map_lock);
    pthread_cond_destroy(&store->done_cv);
    pthread_cond_destroy(&store->work_cv);
    pthread_mutex_destroy(&store->mu);
  }
  if (store->env != NULL) mdb_env_close(store->env);
  xc__cpend_free(&store->cpend);
  free(store->batch);
  free(store->resume);
  free(store->dir);
  free(store);
}

void xc_store_secret(const xc_store *store, uint8_t out[32]) {
  memcpy(out, store->secret, sizeof store->secret);
}

void xc_store_get_stats(xc_store *store, xc_store_stats *out) {
  pthread_mutex_lock(&store->mu);
  *out = store->stats;
  pthread_mutex_unlock(&store->mu);
}

/* ------------------------------------------------------------- snapshots */

int xc_snapshot_begin(xc_store *store, xc_snapshot **out, xc_err *err) {
  xc_snapshot *snap = NULL;
  int rc = XC_OK;
  int mrc;

  *out = NULL;
  snap = calloc(1, sizeof *snap);
  if (snap == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  snap->store = store;
  if (pthread_rwlock_rdlock(&store->map_lock) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
    goto done;
  }
  mrc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &snap->txn);
  if (mrc == MDB_READERS_FULL) {
    /* Slots of dead processes may be holding the table: clear and retry. */
    int dead = 0;
    if (mdb_reader_check(store->env, &dead) == 0 && dead > 0)
      mrc = mdb_txn_begin(store->env, NULL, MDB_RDONLY, &snap->txn);
  }
  (void)pthread_rwlock_unlock(&store->map_lock);
  if (mrc != 0) {
    snap->txn = NULL;
    rc = xc__mdb_fail(NULL, mrc, err, "starting a read transaction");
    goto done;
  }
  *out = snap;
  snap = NULL;
done:
  free(snap);
  return rc;
}

void xc_snapshot_end(xc_snapshot *snap) {
  if (snap == NULL) return;
  if (snap->txn != NULL) {
    (void)pthread_rwlock_rdlock(&snap->store->map_lock);
    mdb_txn_abort(snap->txn);
    (void)pthread_rwlock_unlock(&snap->store->map_lock);
  }
  free(snap);
}

/* ---------------------------------------------------------------- writer */

/* What one attempt at a batch came to. */
enum { XC__BATCH_DONE = 0, XC__BATCH_GROW = 1, XC__BATCH_NESTED = 2 };

/* Fails every job of the batch with err. */
static void xc__fail_all(xc__job **jobs, size_t n, const xc_err *err) {
  for (size_t i = 0; i < n; i++) {
    jobs[i]->result = err->code;
    jobs[i]->err = *err;
  }
}

/*
 * LMDB reports a short write as EIO, and a write that reaches a full disk or
 * the file size limit partway is short. So an EIO is taken for a full disk
 * when the data file's disk has under a megabyte free or the file is within
 * a megabyte of RLIMIT_FSIZE; returns the errno that stands for it then, else
 * mrc.
 */
static int xc__full_disk_errno(const xc_store *s, int mrc) {
  const uint64_t slack = UINT64_C(1) << 20;
  char path[PATH_MAX];
  struct statvfs vfs;
  struct stat st;
  struct rlimit rl;
  int n;
  if (mrc != EIO) return mrc;
  if (statvfs(s->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < slack) return ENOSPC;
  n = snprintf(path, sizeof path, "%s/data.mdb", s->dir);
  if (n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 &&
      getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (uint64_t)st.st_size + slack >= (uint64_t)rl.rlim_cur)
    return EFBIG;
  return mrc;
}

/* The error of a failed commit: the disk is full, or it is not usable. */
static void xc__commit_error(const xc_store *s, int mrc, xc_err *err) {
  int full;
  mrc = xc__full_disk_errno(s, mrc);
  full = mrc == ENOSPC || mrc == EDQUOT || mrc == EFBIG;
  int code = full ? XC_ERESOURCE_EXHAUSTED : XC_EUNAVAILABLE;
  if (full)
    (void)xc_err_set(err, code,
                     "the server's disk is full (%s): nothing was stored; reads go on; retry "
                     "once the operator has freed space",
                     mdb_strerror(mrc));
  else
    (void)xc_err_set(err, code, "the write could not be made durable: %s", mdb_strerror(mrc));
}

/*
 * Runs every job of the batch in one write transaction and commits.
 *
 * With nested = 0 the jobs run straight in that transaction: the common
 * case, where every job succeeds, then costs no nested transactions (each
 * copies every page it touches and merges its page list back, which was
 * most of the writer's time per job). If a job fails there, its changes
 * cannot be undone alone, so the attempt is given up (XC__BATCH_NESTED:
 * nothing was committed) and the caller runs the batch again with
 * nested = 1, each job in its own nested transaction, so the failing one is
 * rolled back alone. A batch of one job needs no second attempt: aborting
 * the transaction is its rollback. Write functions may run more than once
 * anyway (see xc_write_fn).
 *
 * Returns XC__BATCH_GROW if the map filled up (nothing was committed; the
 * caller grows the map and calls again), XC__BATCH_NESTED as above, else
 * XC__BATCH_DONE with every job's result set.
 */
static int xc__try_batch(xc_store *s, xc__job **jobs, size_t n, int nested) {
  MDB_txn *parent = NULL;
  xc_txn t;
  xc_err berr;
  uint64_t first_seq = 0;
  uint64_t audit_first = 0;
  uint64_t ok = 0;
  int outcome = XC__BATCH_DONE;
  int mrc;

  memset(&t, 0, sizeof t);
  t.store = s;
  t.now_ms = xc__now_ms();
  for (size_t i = 0; i < n; i++) {
    jobs[i]->result = XC_OK;
    xc_err_clear(&jobs[i]->err);
  }
  mrc = mdb_txn_begin(s->env, NULL, 0, &parent);
  if (mrc != 0) {
    parent = NULL;
    (void)xc__mdb_fail(NULL, mrc, &berr, "starting a write transaction");
    xc__fail_all(jobs, n, &berr);
    goto done;
  }
  mrc = xc__meta_get_u64(s, parent, "last_seq", &first_seq);
  if (mrc != 0) {
    (void)xc__mdb_fail(NULL, mrc, &berr, "reading the change log's last seq");
    xc__fail_all(jobs, n, &berr);
    goto done;
  }
  t.seq = first_seq;
  t.txn = parent;
  mrc = xc__audit_load_head(&t);
  t.txn = NULL;
  if (mrc != 0) {
    (void)xc__mdb_fail(NULL, mrc, &berr, "reading the audit log's head");
    xc__fail_all(jobs, n, &berr);
    goto done;
  }
  audit_first = t.audit_seq;
  /* Counter deltas are summed over the batch and written once, below. */
  xc__cpend_reset(&s->cpend);
  t.cpend = &s->cpend;

  for (size_t i = 0; i < n; i++) {
    xc__job *job = jobs[i];
    uint64_t seq_before = t.seq;
    uint64_t audit_seq_before = t.audit_seq;
    uint8_t audit_hash_before[XC_AUDIT_HASH_BYTES];
    MDB_txn *child = NULL;
    memcpy(audit_hash_before, t.audit_hash, sizeof audit_hash_before);
    t.touched_len = 0;
    t.touched[0] = '\0';
    xc__cpend_job_begin(t.cpend);
    if (nested) {
      mrc = mdb_txn_begin(s->env, parent, 0, &child);
      if (mrc != 0) {
        (void)xc__mdb_fail(NULL, mrc, &berr, "starting a nested transaction");
        xc__fail_all(jobs, n, &berr);
        goto done;
      }
    }
    t.txn = nested ? child : parent;
    t.map_full = 0;
    t.broken = 0;
    xc_err_clear(&t.broken_err);
    job->result = job->fn(&t, job->ctx, &job->err);
    if (job->result >= 0 && !t.broken && !t.map_full && job->audit != NULL) {
      /* The entry for the change commits with it, or neither does. */
      xc_audit_entry e = *job->audit;
      char ids[XC_AUDIT_IDS_MAX + 1];
      int arc;
      size_t il = xc_strlcpy(ids, e.ids != NULL ? e.ids : "", sizeof ids);
      if (il >= sizeof ids) il = sizeof ids - 1;
      if (t.touched_len > 0) {
        /* The caller's ids, then those the function wrote; a cut list
         * ends in '+'. */
        if (il > 0 && il + 1 + t.touched_len < sizeof ids) ids[il++] = ',';
        if (il + t.touched_len < sizeof ids) {
          memcpy(ids + il, t.touched, t.touched_len + 1);
        } else if (il + 1 < sizeof ids) {
          ids[il++] = '+';
          ids[il] = '\0';
        }
      }
      e.ids = ids;
      e.status = XC_OK;
      arc = xc_txn_audit_append(&t, &e, &job->err);
      if (arc < 0) job->result = arc;
    }
    t.txn = NULL;
    if (t.map_full) {
      if (child != NULL) mdb_txn_abort(child);
      outcome = XC__BATCH_GROW;
      goto done;
    }
    if (job->result < 0 || t.broken) {
      /* Roll back this job only; its change-log numbers are reused. */
      if (job->result >= 0) {
        /* The job ignored a failed storage call: report that failure. */
        if (t.broken_err.code >= 0)
          (void)xc_err_set(&t.broken_err, XC_EINTERNAL,
                           "a write function went on after a failed storage call");
        job->result = t.broken_err.code;
        job->err = t.broken_err;
      }
      if (!nested) {
        /* Alone, the abort below is its rollback; in company, start over
         * with nested transactions. */
        if (n > 1) outcome = XC__BATCH_NESTED;
        goto done;
      }
      mdb_txn_abort(child);
      xc__cpend_job_rollback(t.cpend);
      t.seq = seq_before;
      t.audit_seq = audit_seq_before;
      memcpy(t.audit_hash, audit_hash_before, sizeof t.audit_hash);
      continue;
    }
    if (!nested) {
      ok++;
      continue;
    }
    mrc = mdb_txn_commit(child);
    if (mrc == MDB_MAP_FULL) {
      outcome = XC__BATCH_GROW;
      goto done;
    }
    if (mrc != 0) {
      /* A failed nested commit may have spoiled the parent: give up the
       * whole batch rather than risk committing half of a job. */
      (void)xc__mdb_fail(NULL, mrc, &berr, "merging a write into its batch");
      xc__fail_all(jobs, n, &berr);
      goto done;
    }
    ok++;
  }

  /* The counters of every job that stands, one write per counter. */
  t.txn = parent;
  t.map_full = 0;
  t.broken = 0;
  if (xc__cpend_flush(&t, t.cpend, &berr) != XC_OK) {
    t.txn = NULL;
    if (t.map_full) {
      outcome = XC__BATCH_GROW;
      goto done;
    }
    xc__fail_all(jobs, n, &berr);
    goto done;
  }
  t.txn = NULL;

  /* last_seq moves in the same transaction as the log entries. */
  if (t.seq != first_seq) {
    mrc = xc__meta_put_u64(s, parent, "last_seq", t.seq, 8);
    if (mrc == MDB_MAP_FULL) {
      outcome = XC__BATCH_GROW;
      goto done;
    }
    if (mrc != 0) {
      (void)xc__mdb_fail(NULL, mrc, &berr, "updating the change log's last seq");
      xc__fail_all(jobs, n, &berr);
      goto done;
    }
  }
  if (t.audit_seq != audit_first) {
    t.txn = parent;
    mrc = xc__audit_store_head(&t);
    t.txn = NULL;
    if (mrc == MDB_MAP_FULL) {
      outcome = XC__BATCH_GROW;
      goto done;
    }
    if (mrc != 0) {
      (void)xc__mdb_fail(NULL, mrc, &berr, "updating the audit log's head");
      xc__fail_all(jobs, n, &berr);
      goto done;
    }
  }
  mrc = mdb_txn_commit(parent);
  parent = NULL;
  if (mrc == MDB_MAP_FULL) {
    outcome = XC__BATCH_GROW;
    goto done;
  }
  if (mrc != 0) {
    xc__commit_error(s, mrc, &berr);
    xc__fail_all(jobs, n, &berr);
    goto done;
  }
  pthread_mutex_lock(&s->mu);
  if (ok > 0) s->stats.commits++;
  s->stats.writes += ok;
  pthread_mutex_unlock(&s->mu);
done:
  if (parent != NULL) mdb_txn_abort(parent);
  return outcome;
}

/* Doubles the map, up to map_max. Called with no write transaction open. */
static int xc__grow(xc_store *s, xc_err *err) {
  size_t cur;
  size_t next;
  MDB_envinfo info;
  int rc = XC_OK;
  int mrc;

  pthread_mutex_lock(&s->mu);
  cur = s->stats.map_size;
  pthread_mutex_unlock(&s->mu);
  if (cur >= s->map_max) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED,
                    "the database is full (map size %zu bytes); free space in it or raise "
                    "the store's map limit",
                    cur);
    goto done;
  }
  next = cur > s->map_max / 2 ? s->map_max : cur * 2;
  /* Readers must be outside LMDB while the map is replaced. */
  if (pthread_rwlock_wrlock(&s->map_lock) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
    goto done;
  }
  mrc = mdb_env_set_mapsize(s->env, next);
  if (mrc == 0 && mdb_env_info(s->env, &info) == 0) next = info.me_mapsize;
  (void)pthread_rwlock_unlock(&s->map_lock);
  if (mrc != 0) {
    rc = xc_err_set(err, XC_EUNAVAILABLE, "cannot grow the database map to %zu bytes: %s",
                    next, mdb_strerror(mrc));
    goto done;
  }
  pthread_mutex_lock(&s->mu);
  s->stats.map_size = next;
  s->stats.map_growths++;
  pthread_mutex_unlock(&s->mu);
done:
  return rc;
}

/*
 * Data-file headroom. LMDB writes its pages with pwrite, so every commit
 * that writes past the end of data.mdb makes the file system allocate
 * blocks and record the new size inside that commit's fdatasync (measured:
 * about 80 us more than an overwrite on the project's ext4). The writer
 * therefore keeps the file ahead of the used size with real zeros (an
 * fallocate'd extent would still need a metadata write at its first use),
 * so commits overwrite blocks that already exist.
 *
 * Headroom: one eighth of the used size, at least 1 MiB and at most
 * 64 MiB, never past the map (pages past the map are never used, and
 * mdb_env_copy copies the used pages only). It is topped up when less than
 * half is left, at most XC__EXTEND_STEP per call, between batches, so a
 * queued batch waits for one step at most.
 */
#define XC__EXTEND_MIN ((uint64_t)1 << 20)
#define XC__EXTEND_MAX ((uint64_t)64 << 20)
#define XC__EXTEND_STEP ((size_t)1 << 20)
/* After a failed extension (a full disk), batches to wait before retrying. */
#define XC__EXTEND_BACKOFF 256u

/* Writer only, between transactions. Failures only postpone the next try:
 * the headroom is an optimization, and LMDB's own writes report a full
 * disk to the callers. */
static void xc__preextend(xc_store *s) {
  static const uint8_t zeros[65536];
  MDB_envinfo info;
  struct stat st;
  uint64_t used, want, room, end, limit, first;
  size_t step;
  if (s->data_fd < 0 || s->psize == 0) return;
  if (s->extend_skip > 0) {
    s->extend_skip--;
    return;
  }
  if (mdb_env_info(s->env, &info) != 0 || fstat(s->data_fd, &st) != 0 || st.st_size < 0) return;
  used = ((uint64_t)info.me_last_pgno + 1) * s->psize;
  room = used / 8;
  if (room < XC__EXTEND_MIN) room = XC__EXTEND_MIN;
  if (room > XC__EXTEND_MAX) room = XC__EXTEND_MAX;
  limit = info.me_mapsize;
  want = used + room < limit ? used + room : limit;
  end = (uint64_t)st.st_size;
  /* Pages past `used` hold nothing (no transaction is open), so a partial
   * last page may be overwritten: start on a page boundary. A file shorter
   * than its used pages is not ours to touch. */
  if (end < used) return;
  end -= end % s->psize;
  if (end >= want || end >= used + room / 2) return;
  step = want - end < XC__EXTEND_STEP ? (size_t)(want - end) : XC__EXTEND_STEP;
  step -= step % s->psize;
  first = end;
  while (step > 0) {
    size_t n = step < sizeof zeros ? step : sizeof zeros;
    ssize_t w = pwrite(s->data_fd, zeros, n, (off_t)end);
    if (w <= 0) {
      s->extend_skip = XC__EXTEND_BACKOFF;
      return;
    }
    end += (uint64_t)w;
    step -= (size_t)w < step ? (size_t)w : step;
  }
  /*
   * Start writing the zeros out now, without waiting: the batches that
   * follow overlap with it, and the next commit's fdatasync finds them
   * written (or waits for the rest) and makes the new size and blocks
   * durable once. Waiting here instead (fdatasync) stalled the writer for
   * the whole megabyte and measured about 10 % fewer creates per second at
   * 64 in flight. Nothing depends on the zeros being durable: LMDB's own
   * sync covers every page it writes, in the old part of the file or here.
   */
  (void)sync_file_range(s->data_fd, (off_t)first, (off_t)(end - first), SYNC_FILE_RANGE_WRITE);
}

/* Runs a batch to completion: replays it after each growth of the map. */
static void xc__run_batch(xc_store *s, xc__job **jobs, size_t n) {
  int nested = 0;
  for (;;) {
    xc_err gerr;
    int outcome = xc__try_batch(s, jobs, n, nested);
    if (outcome == XC__BATCH_DONE) break;
    if (outcome == XC__BATCH_NESTED) {
      nested = 1;
      continue;
    }
    if (xc__grow(s, &gerr) != XC_OK) {
      xc__fail_all(jobs, n, &gerr);
      break;
    }
  }
}

static void *xc__writer_main(void *arg) {
  xc_store *s = arg;
  /* Named, so per-thread profiles and top -H show the writer's share. */
  (void)prctl(PR_SET_NAME, "xc-writer", 0, 0, 0);
  pthread_mutex_lock(&s->mu);
  for (;;) {
    size_t n = 0;
    while (s->head == NULL && !s->stopping) pthread_cond_wait(&s->work_cv, &s->mu);
    if (s->head == NULL) break; /* stopping, and nothing left to do */
    /* Take whatever is queued; never wait for more to arrive. */
    while (s->head != NULL && n < s->max_batch) {
      s->batch[n++] = s->head;
      s->head = s->head->next;
      s->stats.queued--;
    }
    if (s->head == NULL) s->tail = NULL;
    pthread_mutex_unlock(&s->mu);
    xc__run_batch(s, s->batch, n);
    {
      size_t n_resume = 0, n_blocked = 0;
      void (*resume)(void *, void *) = NULL;
      void *resume_arg = NULL;
      pthread_mutex_lock(&s->mu);
      resume = s->suspender.resume;
      resume_arg = s->suspender.arg;
      /* A suspended job lives on its task's stack: note the task before
       * marking it done, and never touch the job after. */
      for (size_t i = 0; i < n; i++) {
        if (s->batch[i]->task != NULL)
          s->resume[n_resume++] = s->batch[i]->task;
        else
          n_blocked++;
        s->batch[i]->done = 1;
      }
      if (n_blocked > 0) pthread_cond_broadcast(&s->done_cv);
      pthread_mutex_unlock(&s->mu);
      /* Outside the lock: resuming only hands the task back to its owner. */
      for (size_t i = 0; i < n_resume; i++) resume(resume_arg, s->resume[i]);
    }
    /* Between transactions, after the callers have their answers. */
    xc__preextend(s);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

void xc_store_set_suspender(xc_store *store, const xc_store_suspender *sus) {
  pthread_mutex_lock(&store->mu);
  if (sus != NULL && sus->current != NULL && sus->suspend != NULL && sus->resume != NULL)
    store->suspender = *sus;
  else
    memset(&store->suspender, 0, sizeof store->suspender);
  pthread_mutex_unlock(&store->mu);
}

int xc_store_write(xc_store *store, xc_write_fn fn, void *ctx, xc_err *err) {
  return xc__store_write(store, fn, ctx, NULL, err);
}

int xc__store_write(xc_store *store, xc_write_fn fn, void *ctx, const xc_audit_entry *who,
                    xc_err *err) {
  xc__job job;
  xc_store_suspender sus;
  int rc;

  memset(&job, 0, sizeof job);
  job.fn = fn;
  job.ctx = ctx;
  job.audit = who;
  if (fn == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "xc_store_write needs a write function");
    goto done;
  }
  /* The writer waiting for itself would never wake up. */
  if (pthread_equal(pthread_self(), store->writer)) {
    rc = xc_err_set(err, XC_EINTERNAL,
                    "xc_store_write was called from inside a write function");
    goto done;
  }
  pthread_mutex_lock(&store->mu);
  if (store->stopping) {
    pthread_mutex_unlock(&store->mu);
    rc = xc_err_set(err, XC_EUNAVAILABLE, "the store is closing");
    goto done;
  }
  sus = store->suspender;
  /* A task that can be suspended gives its thread back while it waits. */
  if (sus.current != NULL) job.task = sus.current(sus.arg);
  if (store->tail != NULL)
    store->tail->next = &job;
  else
    store->head = &job;
  store->tail = &job;
  store->stats.queued++;
  pthread_cond_signal(&store->work_cv);
  if (job.task != NULL) {
    pthread_mutex_unlock(&store->mu);
    /* Returns after the writer called resume for this task, which it does
     * only after setting job.result and job.done. */
    sus.suspend(sus.arg, job.task);
    pthread_mutex_lock(&store->mu);
  }
  while (!job.done) pthread_cond_wait(&store->done_cv, &store->mu);
  pthread_mutex_unlock(&store->mu);
  rc = job.result;
  if (rc < 0) {
    if (job.err.code == rc)
      (void)xc_err_set(err, rc, "%s", job.err.msg);
    else
      (void)xc_err_set(err, rc, "the write failed (%s)", xc_code_name(rc));
  } else {
    xc_err_clear(err);
  }
done:
  return rc;
}

/* --------------------------------------------------------- convenience */

typedef struct xc__create_ctx {
  xc_kind kind;
  const ProtobufCMessage *rec;
  const char *owner;
  const char *author;
  const char *scope;
  const char *request_id;
  const uint8_t *fingerprint;
  ProtobufCMessage *out;
} xc__create_ctx;

static int xc__create_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__create_ctx *c = arg;
  ProtobufCMessage *copy;
  int rc;
  /* A replay starts afresh: drop what an earlier attempt produced. */
  xc_msg_free(c->out);
  c->out = NULL;
  copy = xc_msg_clone(c->rec);
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create_once(txn, c->kind, copy, c->owner, c->author, c->scope, c->request_id,
                          c->fingerprint, &c->out, err);
  xc_msg_free(copy);
  return rc;
}

int xc_store_create(xc_store *store, xc_kind kind, const ProtobufCMessage *rec,
                    const char *owner, const char *author, const char *scope,
                    const char *request_id, const uint8_t fingerprint[32],
                    ProtobufCMessage **out, xc_err *err) {
  return xc_store_create_audited(store, NULL, kind, rec, owner, author, scope, request_id,
                                 fingerprint, out, err);
}

int xc_store_create_audited(xc_store *store, const xc_audit_entry *who, xc_kind kind,
                            const ProtobufCMessage *rec, const char *owner, const char *author,
                            const char *scope, const char *request_id,
                            const uint8_t fingerprint[32], ProtobufCMessage **out, xc_err *err) {
  xc__create_ctx c;
  int rc;

  if (out != NULL) *out = NULL;
  memset(&c, 0, sizeof c);
  rc = xc__check_kind(kind, rec, err);
  if (rc != XC_OK) goto done;
  c.kind = kind;
  c.rec = rec;
  c.owner = owner;
  c.author = author;
  c.scope = scope;
  c.request_id = request_id;
  c.fingerprint = fingerprint;
  rc = xc__store_write(store, xc__create_fn, &c, who, err);
  if (rc >= 0 && out != NULL) {
    *out = c.out;
    c.out = NULL;
  }
done:
  xc_msg_free(c.out);
  return rc;
}

typedef struct xc__update_ctx {
  xc_kind kind;
  const ProtobufCMessage *rec;
  const char *author;
  ProtobufCMessage *out;
} xc__update_ctx;

static int xc__update_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__update_ctx *c = arg;
  ProtobufCMessage *copy;
  int rc;
  xc_msg_free(c->out);
  c->out = NULL;
  copy = xc_msg_clone(c->rec);
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_update(txn, c->kind, copy, c->author, &c->out, err);
  xc_msg_free(copy);
  return rc;
}

int xc_store_update(xc_store *store, xc_kind kind, const ProtobufCMessage *rec,
                    const char *author, ProtobufCMessage **out, xc_err *err) {
  return xc_store_update_audited(store, NULL, kind, rec, author, out, err);
}

int xc_store_update_audited(xc_store *store, const xc_audit_entry *who, xc_kind kind,
                            const ProtobufCMessage *rec, const char *author,
                            ProtobufCMessage **out, xc_err *err) {
  xc__update_ctx c;
  int rc;

  if (out != NULL) *out = NULL;
  memset(&c, 0, sizeof c);
  rc = xc__check_kind(kind, rec, err);
  if (rc != XC_OK) goto done;
  c.kind = kind;
  c.rec = rec;
  c.author = author;
  rc = xc__store_write(store, xc__update_fn, &c, who, err);
  if (rc >= 0 && out != NULL) {
    *out = c.out;
    c.out = NULL;
  }
done:
  xc_msg_free(c.out);
  return rc;
}
