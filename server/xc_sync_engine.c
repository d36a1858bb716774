/*
 * xc_sync_engine.c: the background sync of a server with an upstream
 * (xc_sync.h, server/SYNC.md).
 *
 * One thread. Each run pushes this server's log up in batches (its own
 * changes and those received from below), pulls what was made above for
 * its region, and pushes once more so the upstream's cursor also covers
 * what was just pulled. Every batch commits on the receiving side together
 * with the receiver's per-origin progress, so a run cut anywhere (either
 * server killed, the link gone) loses nothing and repeats nothing: the next
 * run asks the upstream where it stands and carries on from there.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_home.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_store_audit.h"
#include "xc_store_sync.h"
#include "xc_sync.h"
#include "xc_text.h"
#include "xuncha/client.h"

#define XC__PUSH "/xuncha.v1.Sync/Push"
#define XC__PULL "/xuncha.v1.Sync/Pull"
#define XC__DIGEST "/xuncha.v1.Sync/GetDigest"

/* The engine's state: options fixed at start, the rest under mu. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int inited;
  int started;
  int stopping;
  int wake;
  pthread_t thread;
  xc_store *store;
  char *upstream, *cert, *key, *ca;
  int interval_s;
  int batch;
  /* Status of the upstream peer. */
  int64_t last_success_ms, last_attempt_ms;
  char last_error[XC_ERR_MSG_MAX];
  int running;
  uint64_t pushed, pulled;
  /* The engine's client while it has one, so xc_sync_stop can cancel a
   * call that waits on an upstream that does not answer. */
  xc_client *client;
} xc__e = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int64_t xc__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int xc__stopping(void) {
  int s;
  pthread_mutex_lock(&xc__e.mu);
  s = xc__e.stopping;
  pthread_mutex_unlock(&xc__e.mu);
  return s;
}

/* Makes a client for the upstream from the configured files. */
static int xc__connect(xc_client **out, xc_err *err) {
  xc_client_options o;
  memset(&o, 0, sizeof o);
  o.server = xc__e.upstream;
  o.ca_file = xc__e.ca;
  o.cert_file = xc__e.cert;
  o.key_file = xc__e.key;
  o.default_timeout_ms = XC_SYNC_CALL_TIMEOUT_MS;
  return xc_client_create(&o, out, err);
}

/* Reads sync value `a``b` from a fresh snapshot. */
static int xc__value(const char *a, const char *b, uint64_t *out, xc_err *err) {
  char name[XC_SYNC_KEY_MAX + 1];
  xc_snapshot *snap = NULL;
  int rc;
  if (snprintf(name, sizeof name, "%s%s", a, b) >= (int)sizeof name)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "server name too long");
  rc = xc_snapshot_begin(xc__e.store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_sync_get(snap, name, out, err);
  xc_snapshot_end(snap);
  return rc;
}

/* Stores the upstream's acknowledged seq here and prunes what it holds. */
typedef struct xc__acked {
  const char *name;
  uint64_t seq;
} xc__acked;

static int xc__acked_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__acked *a = arg;
  return xc_txn_sync_put(txn, a->name, a->seq, err);
}

static int xc__note_acked(uint64_t seq, xc_err *err) {
  char name[XC_SYNC_KEY_MAX + 1];
  xc__acked a;
  int rc;
  if (snprintf(name, sizeof name, "push/%s", xc_home_upstream()) >= (int)sizeof name)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "server name too long");
  a.name = name;
  a.seq = seq;
  rc = xc_store_write(xc__e.store, xc__acked_fn, &a, err);
  if (rc == XC_OK) rc = xc_sync_prune(xc__e.store, err);
  return rc;
}

/* What one push batch gathers from the log. */
typedef struct xc__batch {
  Xuncha__V1__Change **v;
  size_t n, max, bytes, scanned;
  uint64_t upto;
  int failed;
} xc__batch;

static int xc__batch_visit(void *arg, ProtobufCMessage *msg) {
  xc__batch *b = arg;
  Xuncha__V1__Change *c = (Xuncha__V1__Change *)msg;
  const char *origin = c->origin != NULL && c->origin[0] != '\0' ? c->origin : xc_home_self();
  if (b->n == b->max || (b->bytes > 0 && b->bytes + c->record.len > XC_SYNC_MAX_BATCH_BYTES) ||
      b->scanned == XC_SYNC_PULL_SCAN) {
    xc_msg_free(msg);
    return 1;
  }
  b->scanned++;
  b->upto = c->seq;
  /* Up go this server's own changes and those from below it; what came
   * from above is the upstream's already. */
  if (!xc_home_within(origin, xc_home_self())) {
    xc_msg_free(msg);
    return 0;
  }
  if (c->origin_seq == 0) c->origin_seq = c->seq;
  if (xc_msg_set_str(msg, "origin", origin) != XC_OK) {
    xc_msg_free(msg);
    b->failed = 1;
    return XC_ERESOURCE_EXHAUSTED;
  }
  b->v[b->n++] = c;
  b->bytes += c->record.len;
  return 0;
}

/* Pushes everything after what the upstream holds. */
static int xc__push_all(xc_client *cl, xc_err *err) {
  Xuncha__V1__PushRequest q = XUNCHA__V1__PUSH_REQUEST__INIT;
  Xuncha__V1__PushResponse *r = NULL;
  xc__batch b;
  uint64_t acked, local_acked = 0;
  int rc;

  memset(&b, 0, sizeof b);
  q.server = (char *)xc_home_self();
  /* Where does the upstream stand? Its answer commits with what it
   * applied, so it is the truth even if our own note of it is older. */
  rc = xc_client_call(cl, XC__PUSH, &q.base, &xuncha__v1__push_response__descriptor,
                      (ProtobufCMessage **)&r, 0, err);
  if (rc != XC_OK) goto done;
  acked = r->acked_seq;
  xc_msg_free(&r->base);
  r = NULL;
  rc = xc__value("push/", xc_home_upstream(), &local_acked, err);
  if (rc == XC_OK && local_acked != acked) rc = xc__note_acked(acked, err);
  if (rc != XC_OK) goto done;
  b.max = (size_t)xc__e.batch;
  b.v = calloc(b.max, sizeof *b.v);
  if (b.v == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  while (!xc__stopping()) {
    xc_snapshot *snap = NULL;
    uint64_t last, first = 0, entries = 0;
    rc = xc_snapshot_begin(xc__e.store, &snap, err);
    if (rc == XC_OK) rc = xc_snapshot_log_info(snap, &first, &entries, err);
    if (rc != XC_OK) {
      xc_snapshot_end(snap);
      goto done;
    }
    last = xc_snapshot_last_change(snap);
    if (acked >= last) {
      xc_snapshot_end(snap);
      break;
    }
    if (entries == 0 || acked + 1 < first) {
      xc_snapshot_end(snap);
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "upstream %s holds this server's changes only up to %llu, but the log "
                      "here starts at %llu: was %s restored from an older backup?",
                      xc_home_upstream(), (unsigned long long)acked, (unsigned long long)first,
                      xc_home_upstream());
      goto done;
    }
    b.n = b.bytes = b.scanned = 0;
    b.upto = acked;
    rc = xc_snapshot_changes(snap, acked, xc__batch_visit, &b, err);
    xc_snapshot_end(snap);
    if (b.failed) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    if (rc != XC_OK) goto done;
    /* Content first, so the upstream never holds a document without it. */
    rc = xc_sync_send_contents(xc__e.store, cl, b.v, b.n, err);
    if (rc != XC_OK) goto done;
    q.changes = b.v;
    q.n_changes = b.n;
    q.upto_seq = b.upto;
    q.last_seq = last;
    rc = xc_client_call(cl, XC__PUSH, &q.base, &xuncha__v1__push_response__descriptor,
                        (ProtobufCMessage **)&r, 0, err);
    for (size_t i = 0; i < b.n; i++) xc_msg_free(&b.v[i]->base);
    q.n_changes = b.n = 0;
    if (rc != XC_OK) goto done;
    if (r->acked_seq <= acked) {
      rc = xc_err_set(err, XC_EINTERNAL, "upstream %s did not move past %llu",
                      xc_home_upstream(), (unsigned long long)acked);
      goto done;
    }
    acked = r->acked_seq;
    pthread_mutex_lock(&xc__e.mu);
    xc__e.pushed += r->applied;
    pthread_mutex_unlock(&xc__e.mu);
    xc_msg_free(&r->base);
    r = NULL;
    rc = xc__note_acked(acked, err);
    if (rc != XC_OK) goto done;
  }
done:
  if (b.v != NULL)
    for (size_t i = 0; i < b.n; i++) xc_msg_free(&b.v[i]->base);
  free(b.v);
  xc_msg_free(r);
  return rc;
}

/* Pulls everything made above for this server's region. */
static int xc__pull_all(xc_client *cl, xc_err *err) {
  Xuncha__V1__PullRequest q = XUNCHA__V1__PULL_REQUEST__INIT;
  Xuncha__V1__PullResponse *r = NULL;
  char cursor[XC_SYNC_KEY_MAX + 1], cn[XC_MAX_CN_BYTES + 1];
  xc_audit_entry who;
  uint64_t after = 0;
  char *snap_after = NULL;
  int rc;

  if (snprintf(cursor, sizeof cursor, "pull/%s", xc_home_upstream()) >= (int)sizeof cursor)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "server name too long");
  (void)snprintf(cn, sizeof cn, "sync:%s", xc_home_upstream());
  memset(&who, 0, sizeof who);
  who.cn = cn;
  who.method = XC__PULL;
  rc = xc__value("pull/", xc_home_upstream(), &after, err);
  while (rc == XC_OK && !xc__stopping()) {
    uint32_t applied = 0, skipped = 0;
    q.server = (char *)xc_home_self();
    q.after_seq = after;
    q.max_changes = (uint32_t)xc__e.batch;
    /* A snapshot in progress goes on from where its last page ended. */
    if (r != NULL && r->snapshot && r->snapshot_after[0] != '\0') {
      free(snap_after);
      snap_after = strdup(r->snapshot_after);
      if (snap_after == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      q.snapshot_seq = r->snapshot_seq;
      q.snapshot_after = snap_after;
    } else {
      q.snapshot_seq = 0;
      q.snapshot_after = "";
    }
    xc_msg_free(r);
    r = NULL;
    rc = xc_client_call(cl, XC__PULL, &q.base, &xuncha__v1__pull_response__descriptor,
                        (ProtobufCMessage **)&r, 0, err);
    if (rc != XC_OK) break;
    if (r->upto_seq < after) {
      rc = xc_err_set(err, XC_EINTERNAL, "upstream %s answered a pull with an older position",
                      xc_home_upstream());
      break;
    }
    if (r->n_changes > 0) rc = xc_sync_fetch_contents(xc__e.store, cl, r->changes, r->n_changes, err);
    if (rc == XC_OK && (r->upto_seq > after || r->n_changes > 0))
      rc = xc_sync_apply(xc__e.store, r->changes, r->n_changes, cursor, r->upto_seq, NULL,
                         r->n_changes > 0 ? &who : NULL, &applied, &skipped, err);
    if (rc != XC_OK) break;
    pthread_mutex_lock(&xc__e.mu);
    xc__e.pulled += applied;
    pthread_mutex_unlock(&xc__e.mu);
    after = r->upto_seq;
    if (r->snapshot && r->snapshot_after[0] != '\0') continue;
    if (after >= r->last_seq) break;
  }
  xc_msg_free(r);
  free(snap_after);
  return rc;
}

/* One sync: push, pull, then push again so the upstream's cursor also
 * passes what was just pulled (nothing of it is sent back). */
static int xc__run_once(xc_client **cl, xc_err *err) {
  int rc = XC_OK;
  if (*cl == NULL) {
    rc = xc__connect(cl, err);
    if (rc == XC_OK) {
      pthread_mutex_lock(&xc__e.mu);
      xc__e.client = *cl;
      if (xc__e.stopping) xc_client_cancel(*cl);
      pthread_mutex_unlock(&xc__e.mu);
    }
  }
  if (rc == XC_OK) rc = xc__push_all(*cl, err);
  if (rc == XC_OK) rc = xc__pull_all(*cl, err);
  if (rc == XC_OK) rc = xc__push_all(*cl, err);
  return rc;
}

static void *xc__engine(void *arg) {
  xc_client *cl = NULL;
  int64_t next = 0;
  (void)arg;
  for (;;) {
    xc_err err;
    int rc;
    int64_t now;
    pthread_mutex_lock(&xc__e.mu);
    while (!xc__e.stopping && !xc__e.wake && xc__now_ms() < next) {
      struct timespec ts;
      int64_t until = next;
      ts.tv_sec = (time_t)(until / 1000);
      ts.tv_nsec = (long)(until % 1000) * 1000000;
      (void)pthread_cond_timedwait(&xc__e.cv, &xc__e.mu, &ts);
    }
    if (xc__e.stopping) {
      pthread_mutex_unlock(&xc__e.mu);
      break;
    }
    xc__e.wake = 0;
    xc__e.running = 1;
    xc__e.pushed = xc__e.pulled = 0;
    xc__e.last_attempt_ms = xc__now_ms();
    pthread_mutex_unlock(&xc__e.mu);

    xc_err_clear(&err);
    rc = xc__run_once(&cl, &err);
    now = xc__now_ms();
    if (rc == XC_OK && (xc__e.pushed > 0 || xc__e.pulled > 0))
      xc_log(XC_LOG_INFO, "sync with %s done in %lld ms: %llu changes pushed, %llu pulled",
             xc_home_upstream(), (long long)(now - xc__e.last_attempt_ms),
             (unsigned long long)xc__e.pushed, (unsigned long long)xc__e.pulled);
    pthread_mutex_lock(&xc__e.mu);
    xc__e.running = 0;
    if (rc == XC_OK) {
      xc__e.last_success_ms = now;
      xc__e.last_error[0] = '\0';
    } else {
      (void)xc_strlcpy(xc__e.last_error, err.msg, sizeof xc__e.last_error);
    }
    next = now + (int64_t)xc__e.interval_s * 1000;
    pthread_mutex_unlock(&xc__e.mu);
    if (rc != XC_OK) {
      xc_log(XC_LOG_WARN, "sync with %s (%s) failed: %s", xc_home_upstream(), xc__e.upstream,
             err.msg);
      /* A broken connection is made afresh next time. */
      if (rc == XC_EUNAVAILABLE || rc == XC_EDEADLINE_EXCEEDED || rc == XC_EINTERNAL) {
        pthread_mutex_lock(&xc__e.mu);
        xc__e.client = NULL;
        pthread_mutex_unlock(&xc__e.mu);
        xc_client_destroy(cl);
        cl = NULL;
      }
    }
  }
  pthread_mutex_lock(&xc__e.mu);
  xc__e.client = NULL;
  pthread_mutex_unlock(&xc__e.mu);
  xc_client_destroy(cl);
  return NULL;
}

static void xc__free_opts(void) {
  free(xc__e.upstream);
  free(xc__e.cert);
  free(xc__e.key);
  free(xc__e.ca);
  xc__e.upstream = xc__e.cert = xc__e.key = xc__e.ca = NULL;
}

int xc_sync_start(const xc_sync_options *opt, xc_err *err) {
  int rc = XC_OK;
  xc__e.store = opt->store;
  xc__e.interval_s = opt->interval_s > 0 ? opt->interval_s : 30;
  xc__e.batch = opt->batch > 0 && opt->batch <= XC_SYNC_MAX_BATCH ? opt->batch
                                                                  : XC_SYNC_DEFAULT_BATCH;
  xc__e.stopping = 0;
  xc__e.wake = 0;
  xc__e.last_error[0] = '\0';
  xc__e.inited = 1;
  if (opt->upstream == NULL || opt->upstream[0] == '\0') return XC_OK;
  if (xc_home_upstream() == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--upstream is set, but the homes map names no server above %s (region "
                      "%s)",
                      xc_home_self(), xc_home_self_region());
  if (opt->cert_file == NULL || opt->key_file == NULL || opt->ca_file == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--upstream needs --upstream-cert and --upstream-key (this server's "
                      "client certificate, office:%s)",
                      xc_home_self_region());
  xc__e.upstream = strdup(opt->upstream);
  xc__e.cert = strdup(opt->cert_file);
  xc__e.key = strdup(opt->key_file);
  xc__e.ca = strdup(opt->ca_file);
  if (xc__e.upstream == NULL || xc__e.cert == NULL || xc__e.key == NULL || xc__e.ca == NULL) {
    xc__free_opts();
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (pthread_create(&xc__e.thread, NULL, xc__engine, NULL) != 0) {
    xc__free_opts();
    return xc_err_set(err, XC_EINTERNAL, "cannot start the sync thread");
  }
  xc__e.started = 1;
  return rc;
}

void xc_sync_stop(void) {
  if (!xc__e.started) return;
  pthread_mutex_lock(&xc__e.mu);
  xc__e.stopping = 1;
  /* A call to an upstream that does not answer would hold the stop for up
   * to XC_SYNC_CALL_TIMEOUT_MS: end it now. */
  if (xc__e.client != NULL) xc_client_cancel(xc__e.client);
  pthread_cond_broadcast(&xc__e.cv);
  pthread_mutex_unlock(&xc__e.mu);
  (void)pthread_join(xc__e.thread, NULL);
  xc__e.started = 0;
  xc__free_opts();
}

/* Changes of this log the upstream does not hold yet (an upper bound: it
 * counts changes pulled from above, which are never sent, until the next
 * push passes them). */
static int xc__pending(xc_store *store, uint64_t *pending, uint64_t *acked, uint64_t *last,
                       xc_err *err) {
  xc_snapshot *snap = NULL;
  char name[XC_SYNC_KEY_MAX + 1];
  int rc;
  *pending = *acked = *last = 0;
  if (xc_home_upstream() == NULL) return XC_OK;
  (void)snprintf(name, sizeof name, "push/%s", xc_home_upstream());
  rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_sync_get(snap, name, acked, err);
  if (rc == XC_OK) *last = xc_snapshot_last_change(snap);
  xc_snapshot_end(snap);
  if (rc == XC_OK && *last > *acked) *pending = *last - *acked;
  return rc;
}

int xc_sync_trigger(xc_store *store, uint64_t *pending, const char **upstream, xc_err *err) {
  uint64_t acked, last;
  int rc;
  *pending = 0;
  *upstream = xc_home_upstream();
  if (!xc__e.started)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "this server has no upstream to sync with (start it with --upstream "
                      "HOST:PORT and its own client certificate)");
  rc = xc__pending(store, pending, &acked, &last, err);
  if (rc != XC_OK) return rc;
  pthread_mutex_lock(&xc__e.mu);
  xc__e.wake = 1;
  pthread_cond_broadcast(&xc__e.cv);
  pthread_mutex_unlock(&xc__e.mu);
  return XC_OK;
}

/* Age of the first change after `after` (0: none). */
typedef struct xc__first {
  int64_t time_ms;
} xc__first;

static int xc__first_visit(void *arg, ProtobufCMessage *msg) {
  ((xc__first *)arg)->time_ms = ((Xuncha__V1__Change *)msg)->time_ms;
  xc_msg_free(msg);
  return 1;
}

typedef struct xc__status_build {
  Xuncha__V1__SyncStatus *st;
  xc_snapshot *snap;
  uint64_t last;
  int rc;
  xc_err *err;
} xc__status_build;

/* Appends an empty peer entry to st (NULL when out of memory). */
static Xuncha__V1__PeerStatus *xc__add_peer(Xuncha__V1__SyncStatus *st, const char *name,
                                            const char *dir) {
  Xuncha__V1__PeerStatus **nv, *p;
  nv = realloc(st->peers, (st->n_peers + 1) * sizeof *nv);
  if (nv == NULL) return NULL;
  st->peers = nv;
  p = malloc(sizeof *p);
  if (p == NULL) return NULL;
  xuncha__v1__peer_status__init(p);
  st->peers[st->n_peers++] = p;
  if (xc_msg_set_str(&p->base, "peer", name) != XC_OK ||
      xc_msg_set_str(&p->base, "direction", dir) != XC_OK)
    return NULL;
  return p;
}

static void xc__status_child(void *arg, const char *name) {
  xc__status_build *b = arg;
  Xuncha__V1__PeerStatus *p;
  char v[XC_SYNC_KEY_MAX + 1];
  uint64_t pulled = 0, pushed = 0, t1 = 0, t2 = 0;
  if (b->rc != XC_OK) return;
  p = xc__add_peer(b->st, name, "downstream");
  if (p == NULL) {
    b->rc = xc_err_set(b->err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  (void)snprintf(v, sizeof v, "peer/%s/pulled", name);
  b->rc = xc_snapshot_sync_get(b->snap, v, &pulled, b->err);
  (void)snprintf(v, sizeof v, "peer/%s/pushed", name);
  if (b->rc == XC_OK) b->rc = xc_snapshot_sync_get(b->snap, v, &pushed, b->err);
  (void)snprintf(v, sizeof v, "peer/%s/pull_time", name);
  if (b->rc == XC_OK) b->rc = xc_snapshot_sync_get(b->snap, v, &t1, b->err);
  (void)snprintf(v, sizeof v, "peer/%s/push_time", name);
  if (b->rc == XC_OK) b->rc = xc_snapshot_sync_get(b->snap, v, &t2, b->err);
  p->acked_seq = pushed;
  p->last_success_ms = (int64_t)(t1 > t2 ? t1 : t2);
  p->pending = b->last > pulled ? b->last - pulled : 0;
}

int xc_sync_status(xc_store *store, Xuncha__V1__SyncStatus **out, xc_err *err) {
  Xuncha__V1__SyncStatus *st = NULL;
  xc__status_build b;
  uint64_t first = 0, entries = 0;
  int rc;
  *out = NULL;
  memset(&b, 0, sizeof b);
  st = malloc(sizeof *st);
  if (st == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__sync_status__init(st);
  rc = xc_snapshot_begin(store, &b.snap, err);
  if (rc == XC_OK) rc = xc_snapshot_log_info(b.snap, &first, &entries, err);
  if (rc != XC_OK) goto done;
  b.last = xc_snapshot_last_change(b.snap);
  b.st = st;
  b.err = err;
  st->last_seq = b.last;
  st->log_entries = entries;
  if (xc_msg_set_str(&st->base, "server", xc_home_self()) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (xc_home_upstream() != NULL) {
    Xuncha__V1__PeerStatus *p = xc__add_peer(st, xc_home_upstream(), "upstream");
    char name[XC_SYNC_KEY_MAX + 1];
    uint64_t acked = 0;
    xc__first f = {0};
    if (p == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    (void)snprintf(name, sizeof name, "push/%s", xc_home_upstream());
    rc = xc_snapshot_sync_get(b.snap, name, &acked, err);
    if (rc == XC_OK && acked < b.last)
      rc = xc_snapshot_changes(b.snap, acked, xc__first_visit, &f, err);
    if (rc != XC_OK) goto done;
    p->acked_seq = acked;
    p->pending = b.last > acked ? b.last - acked : 0;
    p->lag_ms = f.time_ms > 0 ? xc__now_ms() - f.time_ms : 0;
    pthread_mutex_lock(&xc__e.mu);
    p->last_success_ms = xc__e.last_success_ms;
    p->last_attempt_ms = xc__e.last_attempt_ms;
    p->running = xc__e.running;
    p->pushed = xc__e.pushed;
    p->pulled = xc__e.pulled;
    rc = xc_msg_set_str(&p->base, "last_error", xc__e.last_error);
    if (rc == XC_OK)
      rc = xc_msg_set_str(&p->base, "address", xc__e.upstream != NULL ? xc__e.upstream : "");
    pthread_mutex_unlock(&xc__e.mu);
    if (rc != XC_OK) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  }
  b.rc = XC_OK;
  xc_home_each_downstream(xc__status_child, &b);
  rc = b.rc;
  if (rc != XC_OK) goto done;
  *out = st;
  st = NULL;
done:
  xc_snapshot_end(b.snap);
  xc_msg_free(st);
  return rc;
}

/* ------------------------------------------------------------------ verify */

typedef struct xc__names {
  char **v;
  size_t n;
} xc__names;

static void xc__collect_name(void *arg, const char *name) {
  xc__names *n = arg;
  n->v[n->n++] = (char *)name;
}

static void xc__count_name(void *arg, const char *name) {
  (void)name;
  (*(size_t *)arg)++;
}

/* One origin's records: (id, hash) pairs sorted by id. */
typedef struct xc__rlist {
  Xuncha__V1__RecordDigest **v;
  size_t n, cap;
  Xuncha__V1__DigestResponse **pages;
  size_t n_pages;
} xc__rlist;

static void xc__rlist_free(xc__rlist *l) {
  for (size_t i = 0; i < l->n_pages; i++) xc_msg_free(&l->pages[i]->base);
  free(l->pages);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* Keeps page (taking it) and its records in l. */
static int xc__rlist_add(xc__rlist *l, Xuncha__V1__DigestResponse *page, xc_err *err) {
  Xuncha__V1__DigestResponse **np = realloc(l->pages, (l->n_pages + 1) * sizeof *np);
  if (np == NULL) {
    xc_msg_free(&page->base);
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  l->pages = np;
  l->pages[l->n_pages++] = page;
  if (l->n + page->n_records > l->cap) {
    size_t cap = (l->n + page->n_records) * 2;
    Xuncha__V1__RecordDigest **nv = realloc(l->v, cap * sizeof *nv);
    if (nv == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    l->v = nv;
    l->cap = cap;
  }
  for (size_t i = 0; i < page->n_records; i++) l->v[l->n++] = page->records[i];
  return XC_OK;
}

static int xc__rd_cmp(const void *a, const void *b) {
  return strcmp((*(Xuncha__V1__RecordDigest *const *)a)->id,
                (*(Xuncha__V1__RecordDigest *const *)b)->id);
}

/* Lists origin's records here (remote NULL) or upstream, all pages. */
static int xc__list_origin(xc_store *store, xc_client *remote, const char *origin, xc__rlist *l,
                           xc_err *err) {
  char *after = NULL;
  int rc = XC_OK;
  for (;;) {
    Xuncha__V1__DigestResponse *page = NULL;
    if (remote == NULL) {
      rc = xc_sync_digest(store, NULL, NULL, 0, origin, after, &page, err);
    } else {
      Xuncha__V1__DigestRequest q = XUNCHA__V1__DIGEST_REQUEST__INIT;
      q.server = (char *)xc_home_self();
      q.list_origin = (char *)origin;
      q.after_id = after != NULL ? after : "";
      rc = xc_client_call(remote, XC__DIGEST, &q.base, &xuncha__v1__digest_response__descriptor,
                          (ProtobufCMessage **)&page, 0, err);
    }
    free(after);
    after = NULL;
    if (rc != XC_OK) break;
    if (page->next_after_id != NULL && page->next_after_id[0] != '\0') {
      after = strdup(page->next_after_id);
      if (after == NULL) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    }
    if (rc == XC_OK) rc = xc__rlist_add(l, page, err);
    if (rc != XC_OK || after == NULL) break;
  }
  free(after);
  if (rc == XC_OK && l->n > 1) qsort(l->v, l->n, sizeof *l->v, xc__rd_cmp);
  return rc;
}

static int xc__add_diff(Xuncha__V1__VerifySyncResponse *out, const char *origin, const char *id,
                        const char *problem, xc_err *err) {
  Xuncha__V1__RecordDifference **nv, *d;
  nv = realloc(out->differences, (out->n_differences + 1) * sizeof *nv);
  if (nv == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  out->differences = nv;
  d = malloc(sizeof *d);
  if (d == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__record_difference__init(d);
  out->differences[out->n_differences++] = d;
  if (xc_msg_set_str(&d->base, "origin", origin) != XC_OK ||
      xc_msg_set_str(&d->base, "id", id) != XC_OK ||
      xc_msg_set_str(&d->base, "problem", problem) != XC_OK)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  return XC_OK;
}

/* Names the records of origin that differ between here and upstream. */
static int xc__diff_origin(xc_store *store, xc_client *remote, const char *origin, uint32_t max,
                           Xuncha__V1__VerifySyncResponse *out, xc_err *err) {
  xc__rlist here, there;
  size_t i = 0, k = 0;
  int rc;
  memset(&here, 0, sizeof here);
  memset(&there, 0, sizeof there);
  rc = xc__list_origin(store, NULL, origin, &here, err);
  if (rc == XC_OK) rc = xc__list_origin(store, remote, origin, &there, err);
  while (rc == XC_OK && out->n_differences < max && (i < here.n || k < there.n)) {
    int c = i == here.n ? 1 : k == there.n ? -1 : strcmp(here.v[i]->id, there.v[k]->id);
    if (c < 0) {
      rc = xc__add_diff(out, origin, here.v[i++]->id, "missing upstream", err);
    } else if (c > 0) {
      rc = xc__add_diff(out, origin, there.v[k++]->id, "missing here", err);
    } else {
      if (here.v[i]->hash.len != there.v[k]->hash.len ||
          memcmp(here.v[i]->hash.data, there.v[k]->hash.data, here.v[i]->hash.len) != 0)
        rc = xc__add_diff(out, origin, here.v[i]->id, "differs", err);
      i++;
      k++;
    }
  }
  xc__rlist_free(&here);
  xc__rlist_free(&there);
  return rc;
}

int xc_sync_verify(xc_store *store, uint32_t max_differences, Xuncha__V1__VerifySyncResponse **out,
                   xc_err *err) {
  Xuncha__V1__VerifySyncResponse *resp = NULL;
  Xuncha__V1__DigestResponse *local = NULL, *remote = NULL;
  Xuncha__V1__DigestRequest q = XUNCHA__V1__DIGEST_REQUEST__INIT;
  xc_client *cl = NULL;
  xc__names names = {NULL, 0};
  size_t count = 0;
  int rc;
  *out = NULL;
  if (max_differences == 0) max_differences = XC_SYNC_DEFAULT_DIFFERENCES;
  if (xc__e.upstream == NULL)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "this server has no upstream to compare with (start it with --upstream)");
  xc_home_each(xc__count_name, &count);
  names.v = calloc(count > 0 ? count : 1, sizeof *names.v);
  if (names.v == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xc_home_each(xc__collect_name, &names);
  rc = xc__connect(&cl, err);
  if (rc == XC_OK) rc = xc_sync_digest(store, NULL, names.v, names.n, NULL, NULL, &local, err);
  if (rc == XC_OK) {
    q.server = (char *)xc_home_self();
    q.origins = names.v;
    q.n_origins = names.n;
    rc = xc_client_call(cl, XC__DIGEST, &q.base, &xuncha__v1__digest_response__descriptor,
                        (ProtobufCMessage **)&remote, 0, err);
  }
  if (rc != XC_OK) goto done;
  resp = malloc(sizeof *resp);
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__verify_sync_response__init(resp);
  if (xc_msg_set_str(&resp->base, "upstream", xc_home_upstream()) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  /* The digests move into the reply; the origins of both lists are in map
   * order, so entry i of one is entry i of the other. */
  resp->local = local->origins;
  resp->n_local = local->n_origins;
  local->origins = NULL;
  local->n_origins = 0;
  resp->remote = remote->origins;
  resp->n_remote = remote->n_origins;
  remote->origins = NULL;
  remote->n_origins = 0;
  if (resp->n_local != resp->n_remote) {
    rc = xc_err_set(err, XC_EINTERNAL, "upstream %s answered %zu digests for %zu origins",
                    xc_home_upstream(), resp->n_remote, resp->n_local);
    goto done;
  }
  for (size_t i = 0; rc == XC_OK && i < resp->n_local; i++) {
    const Xuncha__V1__OriginDigest *a = resp->local[i], *b = resp->remote[i];
    if (a->records == b->records && a->digest.len == b->digest.len &&
        memcmp(a->digest.data, b->digest.data, a->digest.len) == 0)
      continue;
    rc = xc__diff_origin(store, cl, a->origin, max_differences, resp, err);
  }
  if (rc != XC_OK) goto done;
  resp->clean = resp->n_differences == 0;
  for (size_t i = 0; resp->clean && i < resp->n_local; i++)
    if (resp->local[i]->records != resp->remote[i]->records) resp->clean = 0;
  *out = resp;
  resp = NULL;
done:
  xc_client_destroy(cl);
  free(names.v);
  xc_msg_free(local);
  xc_msg_free(remote);
  xc_msg_free(resp);
  return rc;
}
