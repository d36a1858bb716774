/*
 * `xuncha-bench fsync`: what the disk under --data charges for the shape of
 * one durable LMDB commit, with no LMDB and no server in the way.
 *
 * LMDB (0.9, default flags, no MDB_WRITEMAP) commits a write transaction in
 * two steps (mdb_txn_commit -> mdb_page_flush, mdb_env_sync, mdb_env_write_meta):
 *   1. pwrite of every dirty 4 KiB page, sorted by page number, contiguous
 *      runs coalesced, then fdatasync of the data file;
 *   2. the new meta page (the changed ~120 bytes of page 0 or 1, alternately)
 *      written through a second descriptor opened with O_DSYNC.
 * So a commit is at least two device flushes, whatever the page count. Each
 * row below repeats that shape `--rounds` times and times the whole:
 *
 *   meta only      step 2 alone: one 120-byte O_DSYNC write
 *   scattered      P pages at distinct, non-adjacent offsets of a pre-written
 *                  file (what a commit touching a B-tree's scattered leaves
 *                  writes), fdatasync, meta
 *   contiguous     the same P pages as one run, fdatasync, meta
 *   append         P new pages at the end of a growing file (a commit that
 *                  grows data.mdb: the file size changes, so fdatasync must
 *                  also commit the inode), fdatasync, meta
 *
 * Rows are interleaved round by round so other load on the disk falls on
 * every row alike. The files are made in --data and removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <jansson.h>

#include "xc_bench.h"
#include "xc_text.h"

#define XC__FS_PAGE 4096
/* Bytes of the meta page LMDB rewrites per commit (mdb_env_write_meta). */
#define XC__FS_META_BYTES 120
/* Limits of the options. */
#define XC__FS_MAX_PAGES 1024
#define XC__FS_MAX_ROUNDS 100000
#define XC__FS_MIN_FILE_MB 1
#define XC__FS_MAX_FILE_MB 16384
#define XC__FS_DEFAULT_FILE_MB 64
#define XC__FS_DEFAULT_ROUNDS 200
/* Rows: meta only, then three patterns per page count. */
#define XC__FS_PATTERNS 3
#define XC__FS_MAX_ROWS (1 + XC__FS_PATTERNS * XC__BENCH_MAX_LIST)

typedef enum { XC__FS_META = 0, XC__FS_SCATTERED, XC__FS_CONTIGUOUS, XC__FS_APPEND } xc__fs_pattern;

static const char *const xc__fs_pattern_names[] = {"meta only", "scattered", "contiguous",
                                                   "append"};

/* One row: its shape and its samples (ns), one per round. */
typedef struct xc__fs_row {
  xc__fs_pattern pattern;
  int pages;
  int64_t *total, *write, *sync, *meta;
  double p50_us, p90_us, max_us, write_p50_us, sync_p50_us, meta_p50_us;
} xc__fs_row;

typedef struct xc__fs_run {
  const char *dir;
  char path[4096], append_path[4096];
  int fd, meta_fd, afd, ameta_fd;
  int64_t file_pages;     /* pages of the pre-written file */
  int64_t append_pages;   /* pages the append file holds now */
  uint8_t *buf;           /* XC__FS_MAX_PAGES pages of data to write */
  int64_t *offsets;       /* scattered page numbers of one round */
  uint64_t rng;
  unsigned meta_flip;
} xc__fs_run;

static uint64_t xc__fs_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static int xc__fs_cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Writes len bytes at off, all of them, or dies naming the file. */
static void xc__fs_pwrite(int fd, const void *p, size_t len, off_t off, const char *what) {
  const uint8_t *b = p;
  while (len > 0) {
    ssize_t n = pwrite(fd, b, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) xc__bench_die("fsync: cannot write %s: %s", what, n < 0 ? strerror(errno) : "short write");
    b += n;
    len -= (size_t)n;
    off += n;
  }
}

static void xc__fs_sync(int fd, const char *what) {
  if (fdatasync(fd) != 0) xc__bench_die("fsync: fdatasync of %s: %s", what, strerror(errno));
}

/* Step 2 of a commit: the meta page's changed bytes through the O_DSYNC
 * descriptor, alternating between meta pages 0 and 1 as LMDB does. */
static void xc__fs_meta(xc__fs_run *r, int meta_fd, const char *what) {
  off_t off = (off_t)(r->meta_flip++ & 1) * XC__FS_PAGE + 16;
  xc__fs_pwrite(meta_fd, r->buf, XC__FS_META_BYTES, off, what);
}

/* Opens path for read/write (created, truncated) and again with O_DSYNC for
 * the meta writes, as LMDB opens data.mdb twice. */
static void xc__fs_open(const char *path, int *fd, int *meta_fd) {
  *fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (*fd < 0) xc__bench_die("fsync: cannot create %s: %s", path, strerror(errno));
  *meta_fd = open(path, O_WRONLY | O_DSYNC | O_CLOEXEC);
  if (*meta_fd < 0) xc__bench_die("fsync: cannot open %s with O_DSYNC: %s", path, strerror(errno));
}

/* Runs one round of row w and stores its times at index i. */
static void xc__fs_round(xc__fs_run *r, xc__fs_row *w, int i) {
  int64_t t0, t1, t2, t3;
  size_t bytes = (size_t)w->pages * XC__FS_PAGE;
  if (w->pattern == XC__FS_APPEND && r->append_pages + w->pages > r->file_pages) {
    /* Keep the growing file no larger than the pre-written one: start it
     * again (untimed) from its two meta pages. */
    if (ftruncate(r->afd, 2 * XC__FS_PAGE) != 0)
      xc__bench_die("fsync: cannot truncate %s: %s", r->append_path, strerror(errno));
    xc__fs_sync(r->afd, r->append_path);
    r->append_pages = 2;
  }
  if (w->pattern == XC__FS_SCATTERED) {
    /* Distinct even page numbers past the meta pages: no two adjacent, so
     * every page is its own write, sorted as LMDB flushes them. */
    int64_t choices = r->file_pages / 2 - 1;
    for (int k = 0; k < w->pages; k++) {
      int dup;
      do {
        r->offsets[k] = 2 * (1 + (int64_t)(xc__fs_rand(&r->rng) % (uint64_t)choices));
        dup = 0;
        for (int j = 0; j < k; j++) dup |= r->offsets[j] == r->offsets[k];
      } while (dup);
    }
    qsort(r->offsets, (size_t)w->pages, sizeof *r->offsets, xc__fs_cmp_i64);
  }
  r->buf[0] = (uint8_t)i; /* the bytes change from round to round */
  t0 = xc__bench_now_ns();
  switch (w->pattern) {
    case XC__FS_SCATTERED:
      for (int k = 0; k < w->pages; k++)
        xc__fs_pwrite(r->fd, r->buf + (size_t)k * XC__FS_PAGE, XC__FS_PAGE,
                      (off_t)r->offsets[k] * XC__FS_PAGE, r->path);
      break;
    case XC__FS_CONTIGUOUS: {
      int64_t start = 2 + (int64_t)(xc__fs_rand(&r->rng) % (uint64_t)(r->file_pages - 2 - w->pages));
      xc__fs_pwrite(r->fd, r->buf, bytes, (off_t)start * XC__FS_PAGE, r->path);
      break;
    }
    case XC__FS_APPEND:
      xc__fs_pwrite(r->afd, r->buf, bytes, (off_t)r->append_pages * XC__FS_PAGE, r->append_path);
      r->append_pages += w->pages;
      break;
    default:
      break;
  }
  t1 = xc__bench_now_ns();
  if (w->pattern != XC__FS_META) xc__fs_sync(w->pattern == XC__FS_APPEND ? r->afd : r->fd, r->path);
  t2 = xc__bench_now_ns();
  xc__fs_meta(r, w->pattern == XC__FS_APPEND ? r->ameta_fd : r->meta_fd, r->path);
  t3 = xc__bench_now_ns();
  w->total[i] = t3 - t0;
  w->write[i] = t1 - t0;
  w->sync[i] = t2 - t1;
  w->meta[i] = t3 - t2;
}

/* The q-quantile of n samples (sorted in place), in microseconds. */
static double xc__fs_quantile_us(int64_t *v, int n, double q) {
  size_t k;
  qsort(v, (size_t)n, sizeof *v, xc__fs_cmp_i64);
  k = (size_t)((double)n * q);
  if (k >= (size_t)n) k = (size_t)n - 1;
  return (double)v[k] / 1000.0;
}

/* A name for the file system under dir, from statfs's magic number. */
static const char *xc__fs_type(const char *dir) {
  struct statfs sf;
  if (statfs(dir, &sf) != 0) return "unknown";
  switch ((unsigned long)sf.f_type) {
    case 0xEF53UL: return "ext2/3/4";
    case 0x58465342UL: return "xfs";
    case 0x9123683EUL: return "btrfs";
    case 0x01021994UL: return "tmpfs (fdatasync does nothing here)";
    case 0x794C7630UL: return "overlayfs";
    default: return "other";
  }
}

/* Prints the usage on out: stdout for --help, stderr before an error. */
static void xc__fs_usage(FILE *out) {
  fprintf(out,
          "usage: xuncha-bench fsync --data DIR [--pages 1,4,8,20,27] [--rounds %d]\n"
          "                          [--file-mb %d] [--json FILE]\n"
          "  --data DIR    a directory on the disk to measure (two scratch files are made\n"
          "                and removed there)\n"
          "  --pages L     page counts, up to %d of them, each 1 to %d\n"
          "  --rounds N    commits timed per row, 1 to %d\n"
          "  --file-mb M   size of the pre-written file the scattered pages land in,\n"
          "                %d to %d MiB\n",
          XC__FS_DEFAULT_ROUNDS, XC__FS_DEFAULT_FILE_MB, XC__BENCH_MAX_LIST, XC__FS_MAX_PAGES,
          XC__FS_MAX_ROUNDS, XC__FS_MIN_FILE_MB, XC__FS_MAX_FILE_MB);
}

int xc__bench_cmd_fsync(int argc, char **argv) {
  xc__fs_run r;
  xc__fs_row rows[XC__FS_MAX_ROWS];
  long long pages[XC__BENCH_MAX_LIST] = {1, 4, 8, 20, 27};
  size_t n_pages = 5, n_rows = 0;
  long long rounds = XC__FS_DEFAULT_ROUNDS, file_mb = XC__FS_DEFAULT_FILE_MB, max_pages = 0;
  const char *json_path = NULL;
  char machine[320];
  struct stat st;
  int64_t t0;

  memset(&r, 0, sizeof r);
  memset(rows, 0, sizeof rows);
  r.fd = r.meta_fd = r.afd = r.ameta_fd = -1;
  r.rng = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0) {
      xc__fs_usage(stdout);
      return 0;
    } else if (strcmp(a, "--data") == 0 && v) {
      r.dir = v;
    } else if (strcmp(a, "--pages") == 0) {
      n_pages = xc__bench_parse_list(a, v, 1, XC__FS_MAX_PAGES, pages, XC__BENCH_MAX_LIST);
    } else if (strcmp(a, "--rounds") == 0) {
      rounds = xc__bench_num(a, v, 1, XC__FS_MAX_ROUNDS);
    } else if (strcmp(a, "--file-mb") == 0) {
      file_mb = xc__bench_num(a, v, XC__FS_MIN_FILE_MB, XC__FS_MAX_FILE_MB);
    } else if (strcmp(a, "--json") == 0 && v) {
      json_path = v;
    } else {
      xc__fs_usage(stderr);
      xc__bench_die("fsync: unknown argument or missing value: '%s'", a);
    }
    i++;
  }
  if (r.dir == NULL) {
    xc__fs_usage(stderr);
    xc__bench_die("fsync: --data DIR is required");
  }
  if (stat(r.dir, &st) != 0 || !S_ISDIR(st.st_mode))
    xc__bench_die("fsync: --data %s is not a directory", r.dir);
  for (size_t k = 0; k < n_pages; k++)
    if (pages[k] > max_pages) max_pages = pages[k];
  r.file_pages = file_mb * 1024 * 1024 / XC__FS_PAGE;
  /* Scattered pages are even page numbers: the file needs room for the
   * largest count with plenty of choice left. */
  if (r.file_pages < 8 * max_pages)
    xc__bench_die("fsync: --file-mb %lld is too small for %lld scattered pages (needs at least "
                  "%lld MiB)",
                  file_mb, max_pages, (8 * max_pages * XC__FS_PAGE + (1 << 20) - 1) >> 20);

  /* The rows, each with its sample arrays. */
  rows[n_rows++].pattern = XC__FS_META;
  for (int p = XC__FS_SCATTERED; p <= XC__FS_APPEND; p++)
    for (size_t k = 0; k < n_pages; k++) {
      rows[n_rows].pattern = (xc__fs_pattern)p;
      rows[n_rows++].pages = (int)pages[k];
    }
  for (size_t w = 0; w < n_rows; w++) {
    rows[w].total = calloc((size_t)rounds, sizeof(int64_t));
    rows[w].write = calloc((size_t)rounds, sizeof(int64_t));
    rows[w].sync = calloc((size_t)rounds, sizeof(int64_t));
    rows[w].meta = calloc((size_t)rounds, sizeof(int64_t));
    if (!rows[w].total || !rows[w].write || !rows[w].sync || !rows[w].meta)
      xc__bench_die("fsync: out of memory");
  }
  r.buf = malloc((size_t)XC__FS_MAX_PAGES * XC__FS_PAGE);
  r.offsets = calloc(XC__FS_MAX_PAGES, sizeof *r.offsets);
  if (r.buf == NULL || r.offsets == NULL) xc__bench_die("fsync: out of memory");
  for (size_t k = 0; k < (size_t)XC__FS_MAX_PAGES * XC__FS_PAGE; k++)
    r.buf[k] = (uint8_t)xc__fs_rand(&r.rng);

  /* The pre-written file: every block allocated and on disk before timing,
   * as data.mdb's pages are. */
  (void)snprintf(r.path, sizeof r.path, "%s/xuncha-bench-fsync.%ld.dat", r.dir, (long)getpid());
  (void)snprintf(r.append_path, sizeof r.append_path, "%s/xuncha-bench-append.%ld.dat", r.dir,
                 (long)getpid());
  xc__fs_open(r.path, &r.fd, &r.meta_fd);
  xc__fs_open(r.append_path, &r.afd, &r.ameta_fd);
  t0 = xc__bench_now_ns();
  /* One page per write, as LMDB grows data.mdb: a file written in large
   * chunks gets large page-cache folios, and then a 4 KiB write into one
   * costs about ten times more, and its fdatasync two to three times more
   * (measured here: 20 scattered pages 0.52-0.67 ms to write instead of
   * 0.05, 1.1-1.5 ms to sync instead of 0.35-0.63), which would make this
   * disk look slower than LMDB finds it. */
  for (int64_t pg = 0; pg < r.file_pages; pg++)
    xc__fs_pwrite(r.fd, r.buf + (size_t)(pg % XC__FS_MAX_PAGES) * XC__FS_PAGE, XC__FS_PAGE,
                  (off_t)pg * XC__FS_PAGE, r.path);
  xc__fs_pwrite(r.afd, r.buf, 2 * XC__FS_PAGE, 0, r.append_path);
  r.append_pages = 2;
  xc__fs_sync(r.fd, r.path);
  xc__fs_sync(r.afd, r.append_path);
  fprintf(stderr, "fsync: %lld MiB pre-written in %.1f s; %zu rows x %lld rounds\n", file_mb,
          (double)(xc__bench_now_ns() - t0) / 1e9, n_rows, rounds);

  for (int i = 0; i < (int)rounds; i++)
    for (size_t w = 0; w < n_rows; w++) xc__fs_round(&r, &rows[w], i);

  for (size_t w = 0; w < n_rows; w++) {
    xc__fs_row *x = &rows[w];
    x->max_us = xc__fs_quantile_us(x->total, (int)rounds, 1.0);
    x->p90_us = xc__fs_quantile_us(x->total, (int)rounds, 0.9);
    x->p50_us = xc__fs_quantile_us(x->total, (int)rounds, 0.5);
    x->write_p50_us = xc__fs_quantile_us(x->write, (int)rounds, 0.5);
    x->sync_p50_us = xc__fs_quantile_us(x->sync, (int)rounds, 0.5);
    x->meta_p50_us = xc__fs_quantile_us(x->meta, (int)rounds, 0.5);
  }

  xc__bench_machine(machine, sizeof machine);
  printf("\nxuncha-bench fsync: %s (%s), %lld MiB file, %lld rounds per row, 4 KiB pages\n",
         r.dir, xc__fs_type(r.dir), file_mb, rounds);
  printf("machine: %s\n", machine);
  printf("each round: pwrite the pages, fdatasync, then %d bytes through an O_DSYNC "
         "descriptor (LMDB's meta page)\n\n",
         XC__FS_META_BYTES);
  printf("%-10s %5s %9s %9s %9s %11s %13s %10s\n", "pattern", "pages", "p50 ms", "p90 ms",
         "max ms", "write p50", "fdatasync p50", "meta p50");
  for (size_t w = 0; w < n_rows; w++) {
    xc__fs_row *x = &rows[w];
    printf("%-10s %5d %9.3f %9.3f %9.3f %11.3f %13.3f %10.3f\n",
           xc__fs_pattern_names[x->pattern], x->pages, x->p50_us / 1000, x->p90_us / 1000,
           x->max_us / 1000, x->write_p50_us / 1000, x->sync_p50_us / 1000,
           x->meta_p50_us / 1000);
  }
  if (json_path != NULL) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "dir", json_string(r.dir));
    json_object_set_new(root, "filesystem", json_string(xc__fs_type(r.dir)));
    json_object_set_new(root, "machine", json_string(machine));
    json_object_set_new(root, "file_mb", json_integer(file_mb));
    json_object_set_new(root, "rounds", json_integer(rounds));
    json_object_set_new(root, "meta_bytes", json_integer(XC__FS_META_BYTES));
    for (size_t w = 0; w < n_rows; w++) {
      xc__fs_row *x = &rows[w];
      json_t *o = json_object();
      json_object_set_new(o, "pattern", json_string(xc__fs_pattern_names[x->pattern]));
      json_object_set_new(o, "pages", json_integer(x->pages));
      json_object_set_new(o, "p50_us", json_real(x->p50_us));
      json_object_set_new(o, "p90_us", json_real(x->p90_us));
      json_object_set_new(o, "max_us", json_real(x->max_us));
      json_object_set_new(o, "write_p50_us", json_real(x->write_p50_us));
      json_object_set_new(o, "fdatasync_p50_us", json_real(x->sync_p50_us));
      json_object_set_new(o, "meta_p50_us", json_real(x->meta_p50_us));
      json_array_append_new(arr, o);
    }
    json_object_set_new(root, "rows", arr);
    if (json_dump_file(root, json_path, JSON_INDENT(2)) != 0)
      fprintf(stderr, "xuncha-bench: cannot write %s\n", json_path);
    json_decref(root);
  }

  close(r.fd);
  close(r.meta_fd);
  close(r.afd);
  close(r.ameta_fd);
  (void)unlink(r.path);
  (void)unlink(r.append_path);
  for (size_t w = 0; w < n_rows; w++) {
    free(rows[w].total);
    free(rows[w].write);
    free(rows[w].sync);
    free(rows[w].meta);
  }
  free(r.buf);
  free(r.offsets);
  return 0;
}
