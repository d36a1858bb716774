/*
 * xc_store_backup.c: a hot, compacting copy of the store (xc_store_backup).
 *
 * LMDB copies the environment from one read transaction, so the copy is a
 * consistent snapshot and writers go on meanwhile; MDB_CP_COMPACT leaves out
 * free pages, so the copy is no bigger than the live data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xc_store_int.h"

/* Returns 1 if the directory holds nothing but "." and "..", 0 if it holds
 * something, -1 (errno set) if it cannot be read. */
static int xc__dir_empty(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int empty = 1;
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    empty = 0;
    break;
  }
  (void)closedir(d);
  return empty;
}

/* The status for an errno from the copy's own file: a full disk is
 * RESOURCE_EXHAUSTED, the rest UNAVAILABLE. */
static int xc__copy_code(int e) {
  return (e == ENOSPC || e == EDQUOT || e == EFBIG) ? XC_ERESOURCE_EXHAUSTED : XC_EUNAVAILABLE;
}

/* Does the copy on the calling thread (see xc_store_backup). */
static int xc__backup_copy(xc_store *store, const char *dir, uint64_t *bytes, xc_err *err) {
  char path[4096];
  struct stat st;
  int fd = -1;
  int created = 0;
  int locked = 0;
  int rc = XC_OK;
  int mrc, n, empty;

  if (bytes != NULL) *bytes = 0;
  if (dir == NULL || dir[0] != '/') {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the backup directory must be an absolute path on the server machine "
                    "(got \"%.200s\")",
                    dir != NULL ? dir : "");
    goto done;
  }
  n = snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (n < 0 || (size_t)n >= sizeof path) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the backup directory name is %zu bytes; the limit is %zu", strlen(dir),
                    sizeof path - sizeof "/data.mdb");
    goto done;
  }
  if (stat(dir, &st) != 0) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "the backup directory %.200s does not exist on the server (%s); create "
                    "an empty directory first",
                    dir, strerror(errno));
    goto done;
  }
  if (!S_ISDIR(st.st_mode)) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "%.200s on the server is not a directory",
                    dir);
    goto done;
  }
  empty = xc__dir_empty(dir);
  if (empty < 0) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION, "cannot read the backup directory %.200s: %s",
                    dir, strerror(errno));
    goto done;
  }
  if (!empty) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "the backup directory %.200s is not empty; a backup never overwrites "
                    "anything: give a new, empty directory",
                    dir);
    goto done;
  }
  /* O_EXCL: another backup racing into the same directory loses cleanly. */
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = xc_err_set(err, errno == EEXIST ? XC_EFAILED_PRECONDITION : xc__copy_code(errno),
                    "cannot create %.200s: %s", path, strerror(errno));
    goto done;
  }
  created = 1;
  /* The copy reads pages straight from the map: a map growth must not remap
   * it meanwhile. Only the writer ever takes this lock for writing, and only
   * to grow the map, so writes go on unless the map fills during the copy. */
  if (pthread_rwlock_rdlock(&store->map_lock) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
    goto done;
  }
  locked = 1;
  mrc = mdb_env_copyfd2(store->env, fd, MDB_CP_COMPACT);
  (void)pthread_rwlock_unlock(&store->map_lock);
  locked = 0;
  if (mrc != 0) {
    rc = xc_err_set(err, xc__copy_code(mrc), "the backup into %.200s failed: %s", dir,
                    mdb_strerror(mrc));
    goto done;
  }
  /* LMDB does not sync the copy: a backup that a power cut can undo is no
   * backup. */
  if (fsync(fd) != 0) {
    rc = xc_err_set(err, xc__copy_code(errno), "cannot sync the backup %.200s: %s", path,
                    strerror(errno));
    goto done;
  }
  if (fstat(fd, &st) == 0 && bytes != NULL) *bytes = (uint64_t)st.st_size;
  if (close(fd) != 0) {
    fd = -1;
    rc = xc_err_set(err, xc__copy_code(errno), "cannot close the backup %.200s: %s", path,
                    strerror(errno));
    goto done;
  }
  fd = -1;
  {
    /* The new file's directory entry must be durable too. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      (void)close(dfd);
    }
  }
done:
  if (locked) (void)pthread_rwlock_unlock(&store->map_lock);
  if (fd >= 0) (void)close(fd);
  /* Leave no half-written copy behind to be mistaken for a backup. */
  if (rc != XC_OK && created) (void)unlink(path);
  return rc;
}

/* One backup handed to its copying thread; lives on the caller's stack
 * until the caller has joined the thread. */
typedef struct xc__backup_job {
  xc_store *store;
  const char *dir;
  uint64_t bytes;
  int rc;
  xc_err err;
  int done;   /* under store->mu */
  void *task; /* a suspended task to resume (NULL: the caller blocks) */
} xc__backup_job;

static void *xc__backup_main(void *arg) {
  xc__backup_job *job = arg;
  void (*resume)(void *, void *);
  void *resume_arg;
  void *task = job->task;
  job->rc = xc__backup_copy(job->store, job->dir, &job->bytes, &job->err);
  pthread_mutex_lock(&job->store->mu);
  resume = job->store->suspender.resume;
  resume_arg = job->store->suspender.arg;
  job->store->backups--;
  job->done = 1;
  pthread_cond_broadcast(&job->store->done_cv);
  pthread_mutex_unlock(&job->store->mu);
  if (task != NULL && resume != NULL) resume(resume_arg, task);
  return NULL;
}

int xc_store_backup(xc_store *store, const char *dir, uint64_t *bytes, xc_err *err) {
  xc__backup_job job;
  xc_store_suspender sus;
  pthread_t th;
  int rc;

  memset(&job, 0, sizeof job);
  job.store = store;
  job.dir = dir;
  if (bytes != NULL) *bytes = 0;
  /* A copy takes seconds per gigabyte: it runs on a thread of its own, and
   * a caller that runs tasks (xunchad's fibers) gives its thread back
   * meanwhile, as it does while waiting for a write. */
  pthread_mutex_lock(&store->mu);
  sus = store->suspender;
  store->backups++;
  pthread_mutex_unlock(&store->mu);
  if (sus.current != NULL) job.task = sus.current(sus.arg);
  if (pthread_create(&th, NULL, xc__backup_main, &job) != 0) {
    pthread_mutex_lock(&store->mu);
    store->backups--;
    pthread_cond_broadcast(&store->done_cv);
    pthread_mutex_unlock(&store->mu);
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot start the backup's thread");
    goto done;
  }
  if (job.task != NULL) sus.suspend(sus.arg, job.task);
  pthread_mutex_lock(&store->mu);
  while (!job.done) pthread_cond_wait(&store->done_cv, &store->mu);
  pthread_mutex_unlock(&store->mu);
  (void)pthread_join(th, NULL);
  rc = job.rc;
  if (rc != XC_OK)
    (void)xc_err_set(err, rc, "%s", job.err.msg);
  else
    xc_err_clear(err);
  if (bytes != NULL) *bytes = job.bytes;
done:
  return rc;
}
