/*
 * xuncha.v1.Admin: GetStats, the figures operators and monitoring watch.
 *
 * Who may call: admin:<code> and office:<code> certificates. The figures
 * describe the server (calls, latencies, storage), never records, so every
 * office that runs or uses the server may see them; agencies and auditors
 * have no business with its operation and get PERMISSION_DENIED.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "xc_msg.h"
#include "xc_sync.h"
#include "xc_stats.h"
#include "xuncha/v1/admin.pb-c.h"

#ifndef XC_VERSION
#define XC_VERSION "0.0.0"
#endif

/* Fills one MethodStats from a counter row. Returns 0, or -1 out of memory. */
static int xc__method_stats(const xc_stats_row *r, Xuncha__V1__MethodStats **out) {
  Xuncha__V1__MethodStats *m = calloc(1, sizeof *m);
  size_t n_codes = 0;
  *out = m;
  if (m == NULL) return -1;
  xuncha__v1__method_stats__init(m);
  m->method = strdup(r->method);
  if (m->method == NULL) return -1;
  m->calls = r->calls;
  m->latency_p50_us = xc_stats_percentile(r, 0.50);
  m->latency_p90_us = xc_stats_percentile(r, 0.90);
  m->latency_p99_us = xc_stats_percentile(r, 0.99);
  m->latency_sum_us = r->sum_us;
  for (int c = 0; c < XC_STATS_CODES; c++) n_codes += r->by_code[c] != 0;
  m->statuses = calloc(n_codes ? n_codes : 1, sizeof *m->statuses);
  m->buckets = calloc(XC_STATS_BUCKETS, sizeof *m->buckets);
  if (m->statuses == NULL || m->buckets == NULL) return -1;
  for (int c = 0; c < XC_STATS_CODES; c++) {
    Xuncha__V1__StatusCount *s;
    if (r->by_code[c] == 0) continue;
    s = malloc(sizeof *s);
    if (s == NULL) return -1;
    xuncha__v1__status_count__init(s);
    m->statuses[m->n_statuses++] = s;
    s->status = strdup(xc_code_name(-c));
    if (s->status == NULL) return -1;
    s->count = r->by_code[c];
  }
  for (int b = 0; b < XC_STATS_BUCKETS; b++) {
    Xuncha__V1__LatencyBucket *lb = malloc(sizeof *lb);
    if (lb == NULL) return -1;
    xuncha__v1__latency_bucket__init(lb);
    m->buckets[m->n_buckets++] = lb;
    lb->le_us = b < XC_STATS_BUCKETS - 1 ? xc_stats_bounds_us[b] : 0;
    lb->count = r->buckets[b];
  }
  return 0;
}

/* Fills the storage part. */
static int xc__storage_stats(xc_store *store, Xuncha__V1__StorageStats **out, xc_err *err) {
  Xuncha__V1__StorageStats *s = calloc(1, sizeof *s);
  xc_store_info info;
  xc_store_stats st;
  int rc;
  *out = s;
  if (s == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  xuncha__v1__storage_stats__init(s);
  rc = xc_store_get_info(store, &info, err);
  if (rc != XC_OK) return rc;
  xc_store_get_stats(store, &st);
  s->file_bytes = info.file_bytes;
  s->map_bytes = info.map_bytes;
  s->map_max_bytes = info.map_max_bytes;
  s->used_bytes = info.used_bytes;
  s->max_readers = info.max_readers;
  s->readers_used = info.readers_used;
  s->commits = st.commits;
  s->writes = st.writes;
  s->map_growths = st.map_growths;
  s->last_change = info.last_change;
  s->records = calloc(XC_KIND_COUNT, sizeof *s->records);
  if (s->records == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    Xuncha__V1__RecordCount *c;
    if (!xc_kind_used((xc_kind)k)) continue;
    c = malloc(sizeof *c);
    if (c == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    xuncha__v1__record_count__init(c);
    s->records[s->n_records++] = c;
    c->kind = strdup(xc_kind_name((xc_kind)k));
    if (c->kind == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    c->count = info.records[k];
  }
  return XC_OK;
}

/* Federation peers (server/SYNC.md): how many changes each is behind, and
 * for the upstream how old the oldest of them is. Empty for a lone server. */
static int xc__sync_stats(xc_store *store, Xuncha__V1__Stats *st, xc_err *err) {
  Xuncha__V1__SyncStatus *ss = NULL;
  int rc = xc_sync_status(store, &ss, err);
  if (rc != XC_OK) return rc;
  st->sync = calloc(ss->n_peers ? ss->n_peers : 1, sizeof *st->sync);
  if (st->sync == NULL) rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; rc == XC_OK && i < ss->n_peers; i++) {
    Xuncha__V1__PeerSync *p = malloc(sizeof *p);
    if (p == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    xuncha__v1__peer_sync__init(p);
    st->sync[st->n_sync++] = p;
    p->lag_changes = ss->peers[i]->pending;
    p->lag_ms = ss->peers[i]->lag_ms;
    if (xc_msg_set_str(&p->base, "peer", ss->peers[i]->peer) != XC_OK)
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  xc_msg_free(&ss->base);
  return rc;
}

XC__HANDLER(xc__admin_get_stats) {
  Xuncha__V1__Stats *st = NULL;
  xc_stats_row *rows = NULL;
  size_t n;
  struct timespec now;
  int rc = XC_OK;
  (void)req;
  *resp = NULL;
  if (!ctx->has_identity || (ctx->id.role != XC_ROLE_ADMIN && ctx->id.role != XC_ROLE_OFFICE)) {
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "GetStats needs an admin:<code> or office:<code> certificate");
    goto done;
  }
  st = calloc(1, sizeof *st);
  rows = calloc(XC_STATS_MAX_METHODS + 1, sizeof *rows);
  if (st == NULL || rows == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__stats__init(st);
  st->version = strdup(XC_VERSION);
  if (st->version == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  clock_gettime(CLOCK_REALTIME, &now);
  st->start_time_ms = xc_stats_start_ms();
  if (st->start_time_ms > 0)
    st->uptime_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - st->start_time_ms;
  n = xc_stats_read(rows, XC_STATS_MAX_METHODS + 1);
  st->methods = calloc(n ? n : 1, sizeof *st->methods);
  if (st->methods == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    int bad = xc__method_stats(&rows[i], &st->methods[i]);
    if (st->methods[i] != NULL) st->n_methods++;
    if (bad) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  }
  rc = xc__storage_stats(ctx->store, &st->storage, err);
  if (rc == XC_OK) rc = xc__sync_stats(ctx->store, st, err);
  if (rc != XC_OK) goto done;
  *resp = &st->base;
  st = NULL;
done:
  free(rows);
  if (st != NULL) xc_msg_free(st);
  return rc;
}
