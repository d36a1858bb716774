/*
 * xc_durable: durability tests of xunchad, each a ctest of its own:
 *
 *   xc_durable crash     SIGKILL at seeded random moments during 64-way
 *                        concurrent creates, at least 20 times; after every
 *                        restart each create the server acknowledged must be
 *                        there, byte for byte (SHA-256 of the packed record),
 *                        and at the end the store opens clean with storage's
 *                        own xc_store_open and holds exactly what the server
 *                        lists.
 *   xc_durable diskfull  the data directory on a small tmpfs (or, where
 *                        mounting is not allowed, under RLIMIT_FSIZE): the
 *                        map grows, then writes fail with RESOURCE_EXHAUSTED
 *                        naming the full disk, reads go on, nothing stored
 *                        changes, and writes succeed again once space is
 *                        freed.
 *   xc_durable backup    Admin/Backup (and `xuncha admin backup`) while 16
 *                        writers run; the copy, restored into a new data
 *                        directory, is a consistent snapshot: it opens, every
 *                        record in it is one an earlier create returned,
 *                        byte for byte, and a create after the restore gets
 *                        an id never seen before.
 *
 * Knobs (environment): XC_DISKFULL_FSIZE=1 (use RLIMIT_FSIZE even where a
 * tmpfs can be mounted), XC_CRASH_SEED (default: the time; printed, so a failure
 * reproduces), XC_CRASH_KILLS (default 20), XC_CRASH_THREADS (default 64).
 */
/* prlimit() is a GNU extension. */
#define _GNU_SOURCE
#include <CUnit/Basic.h>
#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xc_harness.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_text.h"
#include "xuncha/v1/admin.pb-c.h"

/* ------------------------------------------------------------- helpers */

static xc_h *h; /* the harness of the suite now running */

static uint64_t prng_next(uint64_t *s) {
  /* xorshift64*: small, seedable, good enough to pick moments. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * UINT64_C(2685821657736338717);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = xc_h_env(name);
  long long n;
  if (v == NULL || xc_parse_int64(v, 0, INT64_MAX, &n) != 0) return dflt;
  return (uint64_t)n;
}

/* SHA-256 of the packed record. */
static int record_hash(const ProtobufCMessage *m, uint8_t out[32]) {
  size_t len = 0;
  uint8_t *buf = xc_msg_pack(m, 0, &len);
  if (buf == NULL) return -1;
  SHA256(buf, len, out);
  free(buf);
  return 0;
}

/* One acknowledged create: its id and the hash of what the server returned. */
typedef struct ack {
  char id[40];
  uint8_t hash[32];
} ack;

typedef struct ack_list {
  pthread_mutex_t mu;
  ack *v;
  size_t n, cap;
} ack_list;

static int ack_add(ack_list *l, const char *id, const uint8_t hash[32]) {
  int rc = 0;
  pthread_mutex_lock(&l->mu);
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    ack *v = cap > SIZE_MAX / sizeof *v ? NULL : realloc(l->v, cap * sizeof *v);
    if (v == NULL) {
      rc = -1;
      goto done;
    }
    l->v = v;
    l->cap = cap;
  }
  (void)xc_strlcpy(l->v[l->n].id, id, sizeof l->v[l->n].id);
  memcpy(l->v[l->n].hash, hash, 32);
  l->n++;
done:
  pthread_mutex_unlock(&l->mu);
  return rc;
}

static int ack_cmp(const void *a, const void *b) {
  return strcmp(((const ack *)a)->id, ((const ack *)b)->id);
}

/* Finds key in the sorted v[0..n) (n may be 0, v then NULL). */
static ack *find_ack(const ack *key, const ack *v, size_t n) {
  if (n == 0) return NULL;
  return bsearch(key, v, n, sizeof *v, ack_cmp);
}

/* Lists every target `c` sees into a sorted list of (id, hash). */
static int list_targets(xc_client *c, ack_list *out, xc_err *err) {
  char token[XC_MAX_PAGE_TOKEN_BYTES + 1] = "";
  int rc = XC_OK;
  for (int page = 0; page < 10000; page++) {
    Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    Xuncha__V1__ListTargetsResponse *resp = NULL;
    req.page_size = 1000;
    req.page_token = token;
    rc = xc_list_targets(c, &req, &resp, 30000, err);
    if (rc != XC_OK) return rc;
    for (size_t i = 0; i < resp->n_targets; i++) {
      uint8_t hsh[32];
      if (record_hash(&resp->targets[i]->base, hsh) != 0 ||
          ack_add(out, resp->targets[i]->id, hsh) != 0) {
        xc_message_free(resp);
        return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      }
    }
    (void)xc_strlcpy(token, resp->next_page_token ? resp->next_page_token : "", sizeof token);
    xc_message_free(resp);
    if (token[0] == '\0') break;
  }
  if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, ack_cmp);
  return XC_OK;
}

static xc_client *connect_as(const char *name) {
  char cert[1024], key[1024];
  xc_client *c = NULL;
  xc_err err;
  (void)xc_h_cert_path(h, name, "pem", cert, sizeof cert);
  (void)xc_h_cert_path(h, name, "key", key, sizeof key);
  if (xc_h_client_files(h, xc_h_addr(h), cert, key, &c, &err) != XC_OK) {
    fprintf(stderr, "\n  cannot connect as %s: %s\n", name, err.msg);
    return NULL;
  }
  return c;
}

static void dump_log_tail(void) {
  char *log = xc_h_server_log(h);
  size_t n = log ? strlen(log) : 0;
  fprintf(stderr, "\n--- xunchad log (tail) ---\n%s\n---\n", log ? (n > 4000 ? log + n - 4000 : log) : "");
  free(log);
}

/* ------------------------------------------------------------- writers */

typedef struct writer {
  xc_client *client;
  ack_list *acks;
  atomic_int *stop;
  uint64_t seed;
  int index;
  unsigned ok;
  unsigned failed;     /* calls the server did not acknowledge */
  unsigned unexpected; /* refusals other than "the server is gone" */
  char last_err[640];
} writer;

/* Creates targets with seeded random notes until told to stop or the server
 * goes away; records each acknowledged one. */
static void *writer_main(void *arg) {
  writer *w = arg;
  char name[128];
  char note[2048];
  for (unsigned n = 0; !atomic_load(w->stop); n++) {
    Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
    Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
    Xuncha__V1__Target *out = NULL;
    size_t nl = 16 + prng_next(&w->seed) % 1500;
    xc_err err;
    int rc;
    for (size_t i = 0; i < nl; i++) note[i] = (char)('a' + prng_next(&w->seed) % 26);
    note[nl] = '\0';
    (void)snprintf(name, sizeof name, "持久性测试-%d-%u", w->index, n);
    t.region_code = "310104";
    t.name = name;
    t.note = note;
    t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
    req.target = &t;
    rc = xc_create_target(w->client, &req, &out, 5000, &err);
    if (rc == XC_OK) {
      uint8_t hsh[32];
      if (record_hash(&out->base, hsh) != 0 || ack_add(w->acks, out->id, hsh) != 0)
        w->unexpected++;
      else
        w->ok++;
      xc_message_free(out);
      continue;
    }
    w->failed++;
    if (rc != XC_EUNAVAILABLE && rc != XC_ECANCELLED && rc != XC_EDEADLINE_EXCEEDED &&
        rc != XC_EINTERNAL) {
      w->unexpected++;
      (void)snprintf(w->last_err, sizeof w->last_err, "%s: %s", xc_code_name(rc), err.msg);
    }
    /* The server is gone (or going): stop rather than spin. */
    break;
  }
  return NULL;
}

/* ------------------------------------------------------------- crash */

static void test_crash_loop(void) {
  uint64_t seed = env_u64("XC_CRASH_SEED", (uint64_t)time(NULL));
  unsigned kills = (unsigned)env_u64("XC_CRASH_KILLS", 20);
  unsigned nthreads = (unsigned)env_u64("XC_CRASH_THREADS", 64);
  uint64_t rng;
  ack_list acks = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
  writer *ws = NULL;
  pthread_t *th = NULL;
  unsigned done_kills = 0, unexpected = 0, failed = 0;
  size_t checked_total = 0, mismatched = 0, missing = 0;
  int64_t t0 = xc_h_now_ms();
  xc_err err;

  if (nthreads < 1 || nthreads > 256) nthreads = 64;
  if (kills < 1 || kills > 1000) kills = 20;
  rng = seed ? seed : 1;
  printf("\n  crash: seed %llu (set XC_CRASH_SEED to repeat), %u kills, %u writers\n",
         (unsigned long long)seed, kills, nthreads);
  ws = calloc(nthreads, sizeof *ws);
  th = calloc(nthreads, sizeof *th);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
  CU_ASSERT_PTR_NOT_NULL_FATAL(th);

  for (unsigned round = 0; round < kills; round++) {
    atomic_int stop = 0;
    xc_client *c;
    ack_list seen = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    size_t acked_before = acks.n;
    int delay;
    if (xc_h_server_start(h, &err) != XC_OK) {
      fprintf(stderr, "\n  round %u: the server does not start after a kill: %s\n", round,
              err.msg);
      dump_log_tail();
      CU_FAIL("xunchad starts on the data of a killed server");
      break;
    }
    c = connect_as(XC_H_COUNTY_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);

    /* Every write acknowledged so far is there, byte for byte. */
    if (list_targets(c, &seen, &err) != XC_OK) {
      fprintf(stderr, "\n  round %u: listing failed: %s\n", round, err.msg);
      CU_FAIL("list after restart");
    } else {
      for (size_t i = 0; i < acks.n; i++) {
        ack *found = find_ack(&acks.v[i], seen.v, seen.n);
        if (found == NULL) {
          if (missing++ < 5) fprintf(stderr, "\n  acknowledged %s is missing\n", acks.v[i].id);
        } else if (memcmp(found->hash, acks.v[i].hash, 32) != 0) {
          if (mismatched++ < 5) fprintf(stderr, "\n  acknowledged %s changed\n", acks.v[i].id);
        }
      }
      checked_total += acks.n;
    }
    /* Point reads of the last round's acknowledged writes. */
    for (size_t i = acked_before > 64 ? acked_before - 64 : 0; i < acked_before; i++) {
      Xuncha__V1__GetTargetRequest g = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
      Xuncha__V1__Target *got = NULL;
      uint8_t hsh[32];
      g.id = acks.v[i].id;
      if (xc_get_target(c, &g, &got, 10000, &err) != XC_OK) {
        missing++;
        fprintf(stderr, "\n  GetTarget %s: %s\n", acks.v[i].id, err.msg);
        continue;
      }
      if (record_hash(&got->base, hsh) != 0 || memcmp(hsh, acks.v[i].hash, 32) != 0) mismatched++;
      xc_message_free(got);
    }
    free(seen.v);

    /* 64 writers, then SIGKILL at a random moment while they write. */
    for (unsigned i = 0; i < nthreads; i++) {
      memset(&ws[i], 0, sizeof ws[i]);
      ws[i].client = c;
      ws[i].acks = &acks;
      ws[i].stop = &stop;
      ws[i].seed = prng_next(&rng) | 1;
      ws[i].index = (int)(round * 1000 + i);
      if (pthread_create(&th[i], NULL, writer_main, &ws[i]) != 0) {
        CU_FAIL("cannot start a writer thread");
        nthreads = i;
        break;
      }
    }
    delay = 50 + (int)(prng_next(&rng) % 900);
    sleep_ms(delay);
    xc_h_server_kill(h);
    done_kills++;
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < nthreads; i++) {
      (void)pthread_join(th[i], NULL);
      unexpected += ws[i].unexpected;
      failed += ws[i].failed;
      if (ws[i].unexpected) fprintf(stderr, "\n  writer %u: %s\n", i, ws[i].last_err);
    }
    xc_client_destroy(c);
    printf("  kill %2u after %3d ms: %zu acknowledged in this round, %zu in all\n", round + 1,
           delay, acks.n - acked_before, acks.n);
  }

  /* A last restart checks the last round, then a clean stop. */
  if (xc_h_server_start(h, &err) == XC_OK) {
    xc_client *c = connect_as(XC_H_COUNTY_A);
    ack_list seen = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(list_targets(c, &seen, &err), XC_OK);
    for (size_t i = 0; i < acks.n; i++) {
      ack *found = find_ack(&acks.v[i], seen.v, seen.n);
      if (found == NULL)
        missing++;
      else if (memcmp(found->hash, acks.v[i].hash, 32) != 0)
        mismatched++;
    }
    checked_total += acks.n;
    xc_client_destroy(c);
    {
      int st = xc_h_server_stop(h, NULL);
      CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* Storage's own open: the environment opens, the format is known, and it
     * holds exactly the records the server listed. */
    {
      xc_store_options so;
      xc_store *store = NULL;
      xc_store_info info;
      memset(&so, 0, sizeof so);
      so.dir = xc_h_datadir(h);
      CU_ASSERT_EQUAL_FATAL(xc_store_open(&so, &store, &err), XC_OK);
      CU_ASSERT_EQUAL(xc_store_get_info(store, &info, &err), XC_OK);
      CU_ASSERT_EQUAL(info.records[XC_KIND_TARGET], seen.n);
      CU_ASSERT_EQUAL(info.readers_used, 0);
      printf("  store reopened: %llu targets, %llu changes, file %llu bytes\n",
             (unsigned long long)info.records[XC_KIND_TARGET],
             (unsigned long long)info.last_change, (unsigned long long)info.file_bytes);
      xc_store_close(store);
    }
    free(seen.v);
  } else {
    fprintf(stderr, "\n  final restart failed: %s\n", err.msg);
    dump_log_tail();
    CU_FAIL("final restart");
  }

  printf("  crash: %u kills, %zu acknowledged writes, %zu acknowledged-record checks, "
         "%u calls unacknowledged, %zu missing, %zu changed, %.1f s\n",
         done_kills, acks.n, checked_total, failed, missing, mismatched,
         (double)(xc_h_now_ms() - t0) / 1000.0);
  CU_ASSERT_TRUE(done_kills >= 20 || done_kills == kills);
  CU_ASSERT_TRUE(acks.n > 0);
  CU_ASSERT_EQUAL(missing, 0);
  CU_ASSERT_EQUAL(mismatched, 0);
  CU_ASSERT_EQUAL(unexpected, 0);
  free(acks.v);
  free(ws);
  free(th);
}

/* ------------------------------------------------------------- disk full */

/* Creates one target with a note of note_len bytes as c. */
static int create_big(xc_client *c, const char *name, size_t note_len, Xuncha__V1__Target **out,
                      xc_err *err) {
  Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  char *note = malloc(note_len + 1);
  int rc;
  if (note == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < note_len; i++) note[i] = (char)('a' + (i * 7 + note_len) % 26);
  note[note_len] = '\0';
  t.region_code = "310104";
  t.name = (char *)name;
  t.note = note;
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  req.target = &t;
  rc = xc_create_target(c, &req, out, 20000, err);
  free(note);
  return rc;
}

static uint64_t map_growths(xc_client *c) {
  Xuncha__V1__GetStatsRequest req = XUNCHA__V1__GET_STATS_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  xc_err err;
  uint64_t n = 0;
  if (xc_client_call(c, "/xuncha.v1.Admin/GetStats", &req.base, &xuncha__v1__stats__descriptor,
                     &resp, 10000, &err) != XC_OK)
    return 0;
  if (((Xuncha__V1__Stats *)resp)->storage != NULL)
    n = ((Xuncha__V1__Stats *)resp)->storage->map_growths;
  xc_message_free(resp);
  return n;
}

static void test_disk_full(void) {
  char mnt[1024], ballast[1100];
  int mounted = 0;
  int fsize_mode = 0;
  xc_client *c = NULL;
  ack_list acks = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
  xc_err err;
  int full_rc = XC_OK;
  char full_msg[512] = "";
  unsigned n_ok = 0, n_refused = 0;
  static const char *const args[] = {"--map-size", "1M", "--map-max", "256M", NULL};

  (void)snprintf(mnt, sizeof mnt, "%s/small", xc_h_dir(h));
  (void)snprintf(ballast, sizeof ballast, "%s/ballast", mnt);
  CU_ASSERT_EQUAL_FATAL(mkdir(mnt, 0700), 0);
  /* XC_DISKFULL_FSIZE=1 takes the RLIMIT_FSIZE path even where mounting works. */
  if (xc_h_env("XC_DISKFULL_FSIZE") == NULL &&
      mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=12m,mode=0700") == 0) {
    /* A 12 MiB disk with 5 MiB of ballast: writes fail at about 7 MiB of
     * data, and deleting the ballast frees room. */
    FILE *f = fopen(ballast, "wb");
    static char zeros[65536];
    mounted = 1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 80; i++) CU_ASSERT_EQUAL(fwrite(zeros, 1, sizeof zeros, f), sizeof zeros);
    CU_ASSERT_EQUAL(fclose(f), 0);
    printf("\n  disk full: a 12 MiB tmpfs at %s with 5 MiB of ballast\n", mnt);
  } else {
    /* No mounting here (not root, or no CAP_SYS_ADMIN): the same disk limit
     * as a file size limit on the server, raised later with prlimit. */
    fsize_mode = 1;
    xc_h_set_fsize_limit(h, 7u << 20);
    printf("\n  disk full: %s%s; RLIMIT_FSIZE of 7 MiB on xunchad\n",
           xc_h_env("XC_DISKFULL_FSIZE") ? "XC_DISKFULL_FSIZE is set" : "cannot mount a tmpfs: ",
           xc_h_env("XC_DISKFULL_FSIZE") ? "" : strerror(errno));
  }
  {
    char data[1100];
    (void)snprintf(data, sizeof data, "%s/data", mnt);
    CU_ASSERT_EQUAL_FATAL(xc_h_set_datadir(h, data), XC_OK);
  }
  xc_h_set_server_args(h, args);
  if (xc_h_server_start(h, &err) != XC_OK) {
    fprintf(stderr, "\n  server start: %s\n", err.msg);
    dump_log_tail();
    CU_FAIL("server start on the small disk");
    goto done;
  }
  xc_h_set_fsize_limit(h, 0);
  c = connect_as(XC_H_COUNTY_A);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);

  /* Fill the disk: 12 KiB records until the server refuses one. */
  for (unsigned i = 0; i < 4000; i++) {
    char name[64];
    Xuncha__V1__Target *out = NULL;
    int rc;
    (void)snprintf(name, sizeof name, "满盘测试-%u", i);
    rc = create_big(c, name, 12000, &out, &err);
    if (rc == XC_OK) {
      uint8_t hsh[32];
      CU_ASSERT_EQUAL(record_hash(&out->base, hsh), 0);
      CU_ASSERT_EQUAL(ack_add(&acks, out->id, hsh), 0);
      xc_message_free(out);
      n_ok++;
      continue;
    }
    full_rc = rc;
    (void)xc_strlcpy(full_msg, err.msg, sizeof full_msg);
    break;
  }
  printf("  %u records stored, then: %s: %s\n", n_ok, xc_code_name(full_rc), full_msg);
  CU_ASSERT_TRUE(n_ok > 100);
  CU_ASSERT_TRUE(full_rc == XC_ERESOURCE_EXHAUSTED || full_rc == XC_EUNAVAILABLE);
  CU_ASSERT_TRUE(strstr(full_msg, "disk is full") != NULL);
  /* The map started at 1 MiB and was grown on the way. */
  {
    uint64_t g = map_growths(c);
    printf("  map growths: %llu\n", (unsigned long long)g);
    CU_ASSERT_TRUE(g >= 2);
  }
  /* More writes keep failing cleanly, small ones included. */
  for (int i = 0; i < 5; i++) {
    Xuncha__V1__Target *out = NULL;
    int rc = create_big(c, "满盘后再写", 12000, &out, &err);
    xc_message_free(out);
    if (rc != XC_OK) n_refused++;
    CU_ASSERT_TRUE(rc == XC_ERESOURCE_EXHAUSTED || rc == XC_OK);
  }
  /* Reads go on, and nothing stored has changed. */
  {
    ack_list seen = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    size_t bad = 0;
    CU_ASSERT_EQUAL(list_targets(c, &seen, &err), XC_OK);
    for (size_t i = 0; i < acks.n; i++) {
      ack *f = find_ack(&acks.v[i], seen.v, seen.n);
      if (f == NULL || memcmp(f->hash, acks.v[i].hash, 32) != 0) bad++;
    }
    printf("  reads while full: %zu listed, %zu of %zu acknowledged missing or changed\n",
           seen.n, bad, acks.n);
    CU_ASSERT_EQUAL(bad, 0);
    free(seen.v);
  }
  /* Free space: writes succeed again, without a restart. */
  if (fsize_mode) {
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
    if (prlimit(xc_h_server_pid(h), RLIMIT_FSIZE, &rl, NULL) != 0) {
      fprintf(stderr, "\n  prlimit: %s\n", strerror(errno));
      CU_FAIL("prlimit raises the server's file size limit");
    }
  } else {
    CU_ASSERT_EQUAL(unlink(ballast), 0);
  }
  {
    int ok_after = 0;
    for (int i = 0; i < 20; i++) {
      Xuncha__V1__Target *out = NULL;
      int rc = create_big(c, "释放空间后", 12000, &out, &err);
      if (rc == XC_OK) {
        uint8_t hsh[32];
        CU_ASSERT_EQUAL(record_hash(&out->base, hsh), 0);
        CU_ASSERT_EQUAL(ack_add(&acks, out->id, hsh), 0);
        ok_after++;
      } else {
        fprintf(stderr, "\n  after freeing space: %s: %s\n", xc_code_name(rc), err.msg);
      }
      xc_message_free(out);
    }
    printf("  after freeing space: %d of 20 writes stored\n", ok_after);
    CU_ASSERT_EQUAL(ok_after, 20);
  }
  /* And everything survives a restart. */
  xc_client_destroy(c);
  c = NULL;
  {
    int st = xc_h_server_stop(h, NULL);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  CU_ASSERT_EQUAL_FATAL(xc_h_server_start(h, &err), XC_OK);
  c = connect_as(XC_H_COUNTY_A);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  {
    ack_list seen = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    size_t bad = 0;
    CU_ASSERT_EQUAL(list_targets(c, &seen, &err), XC_OK);
    for (size_t i = 0; i < acks.n; i++) {
      ack *f = find_ack(&acks.v[i], seen.v, seen.n);
      if (f == NULL || memcmp(f->hash, acks.v[i].hash, 32) != 0) bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(seen.n, acks.n);
    free(seen.v);
  }
done:
  if (c != NULL) xc_client_destroy(c);
  (void)xc_h_server_stop(h, NULL);
  xc_h_set_server_args(h, NULL);
  xc_h_set_fsize_limit(h, 0);
  if (mounted && umount2(mnt, MNT_DETACH) != 0)
    fprintf(stderr, "\n  cannot unmount %s: %s\n", mnt, strerror(errno));
  free(acks.v);
}

/* ------------------------------------------------------------- backup */

static int call_backup(xc_client *c, const char *dir, Xuncha__V1__BackupResponse **out,
                       xc_err *err) {
  Xuncha__V1__BackupRequest req = XUNCHA__V1__BACKUP_REQUEST__INIT;
  req.dir = (char *)dir;
  *out = NULL;
  return xc_client_call(c, "/xuncha.v1.Admin/Backup", &req.base,
                        &xuncha__v1__backup_response__descriptor, (ProtobufCMessage **)out,
                        60000, err);
}

static void test_backup_under_load(void) {
  ack_list acks = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
  writer ws[16];
  pthread_t th[16];
  unsigned nw = 0;
  atomic_int stop = 0;
  xc_client *c = NULL, *admin = NULL, *office = NULL;
  Xuncha__V1__BackupResponse *b = NULL;
  char bdir[1024], cdir[1024], restored[1024], orig_data[1024], copy_path[1100], dst[1100];
  ack_list seen = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
  xc_err err;
  int rc;

  CU_ASSERT_EQUAL_FATAL(xc_h_certs(h, &err, "client", xc_h_certdir(h), "--cn", "admin:3101",
                                   "--out", "admin", (const char *)NULL),
                        XC_OK);
  (void)xc_strlcpy(orig_data, xc_h_datadir(h), sizeof orig_data);
  (void)snprintf(bdir, sizeof bdir, "%s/backup1", xc_h_dir(h));
  (void)snprintf(cdir, sizeof cdir, "%s/backup-cli", xc_h_dir(h));
  (void)snprintf(restored, sizeof restored, "%s/restored", xc_h_dir(h));
  CU_ASSERT_EQUAL_FATAL(mkdir(bdir, 0700), 0);
  CU_ASSERT_EQUAL_FATAL(mkdir(cdir, 0700), 0);
  CU_ASSERT_EQUAL_FATAL(mkdir(restored, 0700), 0);
  CU_ASSERT_EQUAL_FATAL(xc_h_server_start(h, &err), XC_OK);
  c = connect_as(XC_H_COUNTY_A);
  admin = connect_as("admin");
  office = connect_as(XC_H_CITY);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  CU_ASSERT_PTR_NOT_NULL_FATAL(admin);
  CU_ASSERT_PTR_NOT_NULL_FATAL(office);

  /* Refusals first: each with the right status and a message saying why. */
  rc = call_backup(office, bdir, &b, &err);
  CU_ASSERT_EQUAL(rc, XC_EPERMISSION_DENIED);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "admin:<code>"));
  xc_message_free(b);
  rc = call_backup(admin, "relative/dir", &b, &err);
  CU_ASSERT_EQUAL(rc, XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "absolute path on the server machine"));
  xc_message_free(b);
  {
    char missing[1100];
    (void)snprintf(missing, sizeof missing, "%s/no-such-dir", xc_h_dir(h));
    rc = call_backup(admin, missing, &b, &err);
    CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "does not exist"));
    xc_message_free(b);
  }
  rc = call_backup(admin, xc_h_dir(h), &b, &err); /* holds certs/, data/ ... */
  CU_ASSERT_EQUAL(rc, XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not empty"));
  xc_message_free(b);
  rc = call_backup(admin, "", &b, &err);
  CU_ASSERT_EQUAL(rc, XC_EINVALID_ARGUMENT);
  xc_message_free(b);

  /* Writers, then a backup in the middle of their writes. */
  for (unsigned i = 0; i < 16; i++) {
    memset(&ws[i], 0, sizeof ws[i]);
    ws[i].client = c;
    ws[i].acks = &acks;
    ws[i].stop = &stop;
    ws[i].seed = 0x9E3779B97F4A7C15ull * (i + 1);
    ws[i].index = (int)i;
    if (pthread_create(&th[i], NULL, writer_main, &ws[i]) != 0) break;
    nw++;
  }
  sleep_ms(700);
  {
    size_t acked_before;
    pthread_mutex_lock(&acks.mu);
    acked_before = acks.n;
    pthread_mutex_unlock(&acks.mu);
    rc = call_backup(admin, bdir, &b, &err);
    if (rc != XC_OK) fprintf(stderr, "\n  backup: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
    printf("\n  backup under load: %s, %llu bytes, change %llu; %zu writes acknowledged "
           "before it began\n",
           b->path, (unsigned long long)b->bytes, (unsigned long long)b->last_change,
           acked_before);
    CU_ASSERT_TRUE(b->bytes > 0);
    (void)xc_strlcpy(copy_path, b->path, sizeof copy_path);
    xc_message_free(b);
    b = NULL;
    /* Everything acknowledged before the backup began must be in it. */
    seen.n = acked_before; /* reused below as the "must contain" prefix length */
  }
  /* The CLI too, while the writers go on. */
  {
    const char *bin = xc_h_env("XC_E2E_XUNCHA");
    char ca[1100], cert[1100], key[1100];
    xc_h_result res;
    (void)xc_h_cert_path(h, "ca", "pem", ca, sizeof ca);
    (void)xc_h_cert_path(h, "admin", "pem", cert, sizeof cert);
    (void)xc_h_cert_path(h, "admin", "key", key, sizeof key);
    if (bin != NULL) {
      const char *argv[] = {bin,    "--server", xc_h_addr(h), "--ca", ca,   "--cert",
                            cert,   "--key",    key,          "admin", "backup", cdir, NULL};
      CU_ASSERT_EQUAL_FATAL(xc_h_run(h, argv, 60000, &res, &err), XC_OK);
      if (res.exit_code != 0) fprintf(stderr, "\n  xuncha admin backup: %s\n", res.err);
      CU_ASSERT_EQUAL(res.exit_code, 0);
      CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "data.mdb"));
      xc_h_result_free(&res);
      /* Again into the same, now non-empty, directory: refused, exit 4. */
      CU_ASSERT_EQUAL_FATAL(xc_h_run(h, argv, 60000, &res, &err), XC_OK);
      CU_ASSERT_EQUAL(res.exit_code, 4);
      CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "not empty"));
      xc_h_result_free(&res);
    } else {
      CU_FAIL("XC_E2E_XUNCHA is not set: the CLI backup is not tested");
    }
  }
  atomic_store(&stop, 1);
  for (unsigned i = 0; i < nw; i++) {
    (void)pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(ws[i].unexpected, 0);
  }
  xc_client_destroy(c);
  xc_client_destroy(admin);
  xc_client_destroy(office);
  c = admin = office = NULL;
  {
    int st = xc_h_server_stop(h, NULL);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  printf("  %zu writes acknowledged in all\n", acks.n);

  /* Restore, as OPERATIONS.md says: the copy's data.mdb in a data directory
   * of its own, then start the server on it. */
  {
    size_t must = seen.n;
    size_t bad = 0, extra = 0;
    ack *sorted;
    (void)snprintf(dst, sizeof dst, "%s/data.mdb", restored);
    CU_ASSERT_EQUAL_FATAL(rename(copy_path, dst), 0);
    CU_ASSERT_EQUAL_FATAL(xc_h_set_datadir(h, restored), XC_OK);
    CU_ASSERT_EQUAL_FATAL(xc_h_server_start(h, &err), XC_OK);
    c = connect_as(XC_H_COUNTY_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    seen.n = 0;
    CU_ASSERT_EQUAL_FATAL(list_targets(c, &seen, &err), XC_OK);
    /* A consistent snapshot: everything acknowledged before the backup
     * began is there, and everything there is exactly what some create
     * returned (no torn or half-written record). */
    for (size_t i = 0; i < must; i++) {
      ack *f = find_ack(&acks.v[i], seen.v, seen.n);
      if (f == NULL || memcmp(f->hash, acks.v[i].hash, 32) != 0) bad++;
    }
    sorted = malloc((acks.n ? acks.n : 1) * sizeof *sorted);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sorted);
    if (acks.n > 0) memcpy(sorted, acks.v, acks.n * sizeof *sorted);
    if (acks.n > 1) qsort(sorted, acks.n, sizeof *sorted, ack_cmp);
    for (size_t i = 0; i < seen.n; i++) {
      ack *f = find_ack(&seen.v[i], sorted, acks.n);
      if (f == NULL || memcmp(f->hash, seen.v[i].hash, 32) != 0) extra++;
    }
    printf("  restored copy: %zu targets; %zu acknowledged before the backup, %zu of them "
           "missing or changed; %zu records not from an acknowledged create\n",
           seen.n, must, bad, extra);
    CU_ASSERT_EQUAL(bad, 0);
    /* Writes cut off by the writers' stop may be in the copy without an
     * acknowledgement only if they were in flight; none were unacknowledged
     * before the server stopped cleanly, so there are none. */
    CU_ASSERT_EQUAL(extra, 0);
    CU_ASSERT_TRUE(seen.n >= must && seen.n <= acks.n);
    /* A create after the restore gets an id never issued before. */
    {
      Xuncha__V1__Target *out = NULL;
      CU_ASSERT_EQUAL_FATAL(create_big(c, "恢复后新建", 100, &out, &err), XC_OK);
      {
        ack key;
        (void)xc_strlcpy(key.id, out->id, sizeof key.id);
        CU_ASSERT_PTR_NULL(find_ack(&key, sorted, acks.n));
        CU_ASSERT_PTR_NULL(find_ack(&key, seen.v, seen.n));
      }
      xc_message_free(out);
    }
    free(sorted);
    xc_client_destroy(c);
    c = NULL;
    (void)xc_h_server_stop(h, NULL);
  }
  /* The CLI's copy opens with storage's own open too. */
  {
    xc_store_options so;
    xc_store *store = NULL;
    xc_store_info info;
    memset(&so, 0, sizeof so);
    so.dir = cdir;
    CU_ASSERT_EQUAL_FATAL(xc_store_open(&so, &store, &err), XC_OK);
    CU_ASSERT_EQUAL(xc_store_get_info(store, &info, &err), XC_OK);
    CU_ASSERT_TRUE(info.records[XC_KIND_TARGET] > 0);
    xc_store_close(store);
  }
  CU_ASSERT_EQUAL(xc_h_set_datadir(h, orig_data), XC_OK);
  free(seen.v);
  free(acks.v);
}

/* ------------------------------------------------------------- runner */

static int suite_init(void) {
  xc_err err;
  if (xc_h_create(&h, &err) != XC_OK) {
    fprintf(stderr, "\ncannot make the harness: %s\n", err.msg);
    return 1;
  }
  return 0;
}

static int suite_cleanup(void) {
  xc_h_destroy(h);
  h = NULL;
  return 0;
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    const char *title;
    CU_TestFunc fn;
  } tests[] = {
      {"crash", "acknowledged writes survive SIGKILL under 64-way load", test_crash_loop},
      {"diskfull", "a full disk refuses writes cleanly and recovers", test_disk_full},
      {"backup", "hot backup under load restores to a consistent snapshot",
       test_backup_under_load},
  };
  unsigned failed;
  int matched = 0;
  (void)signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    CU_pSuite s;
    if (argc > 1 && strcmp(argv[1], tests[i].name) != 0) continue;
    matched = 1;
    s = CU_add_suite(tests[i].name, suite_init, suite_cleanup);
    if (s == NULL || CU_add_test(s, tests[i].title, tests[i].fn) == NULL) {
      CU_cleanup_registry();
      return 2;
    }
  }
  if (!matched) {
    fprintf(stderr, "usage: %s [crash|diskfull|backup]\n", argv[0]);
    CU_cleanup_registry();
    return 2;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
           CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed != 0 ? 1 : 0;
}
