/*
 * xc_store_counter.c: the counts reports read, kept current in the same
 * write transaction as every record change (see xc_store.h, "counters").
 *
 * A record's contribution is a pure function of the record: a list of
 * (metric, amount). An update applies contribution(new) - contribution(old)
 * under every administrative level of the record's region and its round, so
 * a report over any office's scope reads one short key range per round,
 * however many findings there are. Voided records contribute nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_store_int.h"
#include "xc_text.h"

/* The administrative levels a counter is kept at. */
static const size_t xc__clevels[] = {2, 4, 6, 9, 12};
#define XC__NCLEVELS (sizeof xc__clevels / sizeof xc__clevels[0])

/* Longest metric text: a prefix of a few bytes and a tag, recipient or id. */
#define XC__METRIC_MAX (XC_MAX_NAME_BYTES + 8)

void xc__date_of_ms(int64_t ms, char out[11]) {
  int64_t y;
  int m, d;
  xc_civil_cst_of_ms(ms, &y, &m, &d);
  /* A year outside 0..9999 is written 0000 (the counters' key stays a date
   * of ten characters). */
  if (y < 0 || y > 9999) y = 0;
  (void)xc_fmt_date(out, (int)y, m, d);
}

/* Calls visit with "<prefix><text>" and amount; text longer than a name is
 * cut, which only merges counters of names the server would refuse.
 * (Copied by hand: snprintf was a tenth of the writer's time per create.) */
static int xc__emit(xc_counter_fn visit, void *ctx, const char *prefix, const char *text,
                    int64_t amount) {
  char metric[XC__METRIC_MAX + 1];
  size_t pl = strnlen(prefix, XC__METRIC_MAX - XC_MAX_NAME_BYTES);
  size_t tl = text != NULL ? strnlen(text, XC_MAX_NAME_BYTES) : 0;
  memcpy(metric, prefix, pl);
  if (tl > 0) memcpy(metric + pl, text, tl);
  metric[pl + tl] = '\0';
  return visit(ctx, metric, amount);
}

/* The round a record counts under, or NULL when it has none. */
static const char *xc__round_of(xc_kind kind, const ProtobufCMessage *rec) {
  switch (kind) {
    case XC_KIND_GROUP:
      return ((const Xuncha__V1__Group *)rec)->round_id;
    case XC_KIND_FINDING:
      return ((const Xuncha__V1__Finding *)rec)->round_id;
    case XC_KIND_LEAD:
      return ((const Xuncha__V1__Lead *)rec)->round_id;
    default:
      return NULL;
  }
}

void xc_store_contributions(xc_kind kind, const ProtobufCMessage *rec, xc_counter_fn visit,
                            void *ctx) {
  if (rec == NULL) return;
  if (kind == XC_KIND_GROUP) {
    const Xuncha__V1__Group *g = (const Xuncha__V1__Group *)rec;
    if (!g->voided) (void)visit(ctx, "g", 1);
  } else if (kind == XC_KIND_FINDING) {
    const Xuncha__V1__Finding *f = (const Xuncha__V1__Finding *)rec;
    int status = f->rectification != NULL ? (int)f->rectification->status : 1;
    int completed = status == 4 || status == 5;
    int evidence = f->track != NULL ? f->track->evidence_entries : 0;
    char area[24];
    if (f->voided) return;
    (void)visit(ctx, "f", 1);
    {
      /* "fa:<area>", the area in decimal. */
      char digits[12];
      size_t nd = 0, n = 0;
      long long a = (long long)f->area;
      unsigned long long u = a < 0 ? 0ULL - (unsigned long long)a : (unsigned long long)a;
      do {
        digits[nd++] = (char)('0' + u % 10);
        u /= 10;
      } while (u > 0 && nd < sizeof digits);
      memcpy(area, "fa:", 3);
      n = 3;
      if (a < 0) area[n++] = '-';
      while (nd > 0) area[n++] = digits[--nd];
      area[n] = '\0';
    }
    (void)visit(ctx, area, 1);
    for (size_t i = 0; i < f->n_tags; i++) {
      int dup = 0;
      for (size_t j = 0; j < i && !dup; j++) dup = strcmp(f->tags[i], f->tags[j]) == 0;
      if (!dup) (void)xc__emit(visit, ctx, "ft:", f->tags[i], 1);
    }
    if (completed) (void)visit(ctx, "fc", 1);
    if (status == 5) (void)visit(ctx, "fv", 1);
    if (completed && evidence == 0) (void)visit(ctx, "fp", 1);
    if (status == 5 && f->track != NULL && f->track->work_remains) (void)visit(ctx, "fw", 1);
    (void)xc__emit(visit, ctx, "tf:", f->target_id, 1);
    if (status != 5) (void)xc__emit(visit, ctx, "to:", f->target_id, 1);
    /* Open findings by date, so "overdue" and "stalled" as of any day are a
     * sum over the days before it (the clock is applied when reading). */
    if (status >= 1 && status <= 3) {
      const char *dl = f->rectification != NULL ? f->rectification->deadline : NULL;
      const char *last = f->track != NULL ? f->track->last_entry_date : NULL;
      char created[11];
      if (dl != NULL && strlen(dl) == 10) (void)xc__emit(visit, ctx, "dd:", dl, 1);
      if (last == NULL || strlen(last) != 10) {
        xc__date_of_ms(f->create_time_ms, created);
        last = created;
      }
      (void)xc__emit(visit, ctx, "da:", last, 1);
    }
  } else if (kind == XC_KIND_LEAD) {
    const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
    int d = (int)l->disposal;
    int cased = d >= 6 && d <= 9;
    const Xuncha__V1__OutcomeCounts *o = l->outcomes;
    if (l->voided) return;
    (void)visit(ctx, "l", 1);
    if (cased) (void)visit(ctx, "lc", 1);
    (void)xc__emit(visit, ctx, "lr:", l->recipient, 1);
    if (cased) (void)xc__emit(visit, ctx, "lrc:", l->recipient, 1);
    /* Leads with no report yet, by the day their three months start. */
    if (d == 0 || d == 1) {
      const char *from = l->transfer_date;
      char created[11];
      if (from == NULL || strlen(from) != 10) {
        xc__date_of_ms(l->create_time_ms, created);
        from = created;
      }
      (void)xc__emit(visit, ctx, "dr:", from, 1);
    }
    if (o != NULL) {
      if (o->sanctioned_persons) (void)visit(ctx, "ps", o->sanctioned_persons);
      if (o->party_sanctions + o->government_sanctions)
        (void)visit(ctx, "pt", (int64_t)o->party_sanctions + o->government_sanctions);
      if (o->handled_persons) (void)visit(ctx, "os", o->handled_persons);
      if (o->organizational_handling) (void)visit(ctx, "ot", o->organizational_handling);
      if (o->judicial_persons) (void)visit(ctx, "js", o->judicial_persons);
      if (o->judicial_transfers) (void)visit(ctx, "jt", o->judicial_transfers);
    }
  }
}

/* A list of (metric, amount), built by xc__collect. */
typedef struct xc__delta {
  char metric[XC__METRIC_MAX + 1];
  int64_t amount;
} xc__delta;

/* Entries kept in the struct itself: a record has about ten metrics, so a
 * delta list needs no allocation in the common case. */
#define XC__DELTAS_INLINE 16

typedef struct xc__deltas {
  xc__delta *v;     /* inline_v, or heap memory when more were needed */
  size_t n, cap;
  int64_t sign;
  int oom;
  xc__delta inline_v[XC__DELTAS_INLINE];
} xc__deltas;

/* Adds sign * amount to metric, merging with an entry already there. */
static int xc__collect(void *c, const char *metric, int64_t amount) {
  xc__deltas *d = c;
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->v[i].metric, metric) == 0) {
      d->v[i].amount += d->sign * amount;
      return 0;
    }
  }
  if (d->n == d->cap) {
    size_t cap = d->cap * 2;
    xc__delta *nv;
    if (cap > SIZE_MAX / sizeof *nv) {
      d->oom = 1;
      return 1;
    }
    nv = realloc(d->v == d->inline_v ? NULL : d->v, cap * sizeof *nv);
    if (nv == NULL) {
      d->oom = 1;
      return 1;
    }
    if (d->v == d->inline_v) memcpy(nv, d->inline_v, d->n * sizeof *nv);
    d->v = nv;
    d->cap = cap;
  }
  xc_strlcpy(d->v[d->n].metric, metric, sizeof d->v[d->n].metric);
  d->v[d->n].amount = d->sign * amount;
  d->n++;
  return 0;
}

/* Builds the counter key prefix len bytes of region, NUL, round, NUL,
 * metric into buf (of XC__CKEY_MAX bytes); returns its length or 0. */
#define XC__CKEY_MAX (12 + 1 + XC_ID_MAX + 1 + XC__METRIC_MAX + 1)
static size_t xc__ckey(char *buf, const char *region, size_t len, const char *round,
                       const char *metric) {
  size_t rl = strlen(round);
  size_t ml = metric != NULL ? strlen(metric) : 0;
  size_t n = len + 1 + rl + 1 + ml;
  if (len > 12 || rl > XC_ID_MAX || ml > XC__METRIC_MAX || n > XC__CKEY_MAX) return 0;
  memcpy(buf, region, len);
  buf[len] = '\0';
  memcpy(buf + len + 1, round, rl);
  buf[len + 1 + rl] = '\0';
  if (ml > 0) memcpy(buf + len + 2 + rl, metric, ml);
  return n;
}

static int64_t xc__get_le(const void *p) {
  const uint8_t *b = p;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
  return (int64_t)v;
}

static void xc__put_le(int64_t value, uint8_t out[8]) {
  uint64_t v = (uint64_t)value;
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------ a batch's pending deltas */

/* A multiply-xorshift hash over 8 bytes at a time (byte-wise FNV was most
 * of the time spent adding a delta); only for the table below. */
static uint64_t xc__khash(const char *key, size_t len) {
  const uint64_t m = UINT64_C(0x9E3779B97F4A7C15);
  uint64_t h = (uint64_t)len * m;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, key + i, 8);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  if (i < len) {
    uint64_t w = 0;
    memcpy(&w, key + i, len - i);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  h *= m;
  return h ^ (h >> 32);
}

/* Past this many entries a batch's tables are freed rather than kept. */
#define XC__CPEND_KEEP 4096

void xc__cpend_free(xc__cpend *p) {
  free(p->slots);
  free(p->ents);
  free(p->keys);
  free(p->undo);
  memset(p, 0, sizeof *p);
}

void xc__cpend_reset(xc__cpend *p) {
  if (p->cap > XC__CPEND_KEEP || p->undo_cap > XC__CPEND_KEEP) xc__cpend_free(p);
  if (p->slots != NULL) memset(p->slots, 0, p->nslots * sizeof *p->slots);
  p->n = 0;
  p->klen = 0;
  p->nundo = 0;
}

void xc__cpend_job_begin(xc__cpend *p) { p->nundo = 0; }

void xc__cpend_job_rollback(xc__cpend *p) {
  while (p->nundo > 0) {
    const xc__cundo *u = &p->undo[--p->nundo];
    p->ents[u->ent].amount -= u->amount;
  }
}

/* Re-inserts every entry into a table of nslots slots (a power of two). */
static int xc__cpend_rehash(xc__cpend *p, size_t nslots) {
  uint32_t *slots;
  if (nslots > SIZE_MAX / sizeof *slots) return -1;
  slots = calloc(nslots, sizeof *slots);
  if (slots == NULL) return -1;
  for (size_t i = 0; i < p->n; i++) {
    size_t j = (size_t)p->ents[i].hash & (nslots - 1);
    while (slots[j] != 0) j = (j + 1) & (nslots - 1);
    slots[j] = (uint32_t)(i + 1);
  }
  free(p->slots);
  p->slots = slots;
  p->nslots = nslots;
  return 0;
}

/* Grows *buf (of *cap elements of size each) to hold at least need. */
static int xc__grow_array(void **buf, size_t *cap, size_t need, size_t size, size_t first) {
  size_t c = *cap != 0 ? *cap : first;
  void *nb;
  if (need <= *cap) return 0;
  while (c < need) {
    if (c > SIZE_MAX / 2) return -1;
    c *= 2;
  }
  if (c > SIZE_MAX / size) return -1;
  nb = realloc(*buf, c * size);
  if (nb == NULL) return -1;
  *buf = nb;
  *cap = c;
  return 0;
}

/* Adds amount to counter key (len bytes). Returns 0, or -1 out of memory
 * (p is unchanged then). */
static int xc__cpend_add(xc__cpend *p, const char *key, size_t len, int64_t amount) {
  uint64_t h = xc__khash(key, len);
  size_t j;
  uint32_t e;
  if (p->nslots < 2 * (p->n + 1) && xc__cpend_rehash(p, p->nslots ? p->nslots * 2 : 256) != 0)
    return -1;
  if (xc__grow_array((void **)&p->undo, &p->undo_cap, p->nundo + 1, sizeof *p->undo, 64) != 0)
    return -1;
  for (j = (size_t)h & (p->nslots - 1); p->slots[j] != 0; j = (j + 1) & (p->nslots - 1)) {
    const xc__cent *c = &p->ents[p->slots[j] - 1];
    if (c->hash == h && c->klen == len && memcmp(p->keys + c->koff, key, len) == 0) break;
  }
  if (p->slots[j] != 0) {
    e = p->slots[j] - 1;
  } else {
    if (p->n >= UINT32_MAX - 1 || p->klen > UINT32_MAX - len ||
        xc__grow_array((void **)&p->ents, &p->cap, p->n + 1, sizeof *p->ents, 64) != 0 ||
        xc__grow_array((void **)&p->keys, &p->kcap, p->klen + len, 1, 4096) != 0)
      return -1;
    e = (uint32_t)p->n++;
    p->ents[e].hash = h;
    p->ents[e].koff = (uint32_t)p->klen;
    p->ents[e].klen = (uint32_t)len;
    p->ents[e].amount = 0;
    memcpy(p->keys + p->klen, key, len);
    p->klen += len;
    p->slots[j] = e + 1;
  }
  p->ents[e].amount += amount;
  p->undo[p->nundo].ent = e;
  p->undo[p->nundo].amount = amount;
  p->nundo++;
  return 0;
}

/* Adds amount to the stored counter key in txn; removes it at 0. */
static int xc__counter_add(xc_store *s, MDB_txn *txn, xc_txn *t, MDB_val *k, int64_t amount,
                           xc_err *err) {
  MDB_val v;
  uint8_t buf[8];
  int64_t cur = 0;
  int mrc = mdb_get(txn, s->dbi_counter, k, &v);
  if (mrc == 0 && v.mv_size == 8)
    cur = xc__get_le(v.mv_data);
  else if (mrc != 0 && mrc != MDB_NOTFOUND)
    return xc__mdb_fail(t, mrc, err, "reading a counter");
  cur += amount;
  if (cur == 0) {
    mrc = mdb_del(txn, s->dbi_counter, k, NULL);
    if (mrc == MDB_NOTFOUND) mrc = 0;
  } else {
    xc__put_le(cur, buf);
    v.mv_size = 8;
    v.mv_data = buf;
    mrc = mdb_put(txn, s->dbi_counter, k, &v, 0);
  }
  if (mrc != 0) return xc__mdb_fail(t, mrc, err, "writing a counter");
  return XC_OK;
}

int xc__cpend_flush(xc_txn *t, const xc__cpend *p, xc_err *err) {
  for (size_t i = 0; i < p->n; i++) {
    MDB_val k;
    int rc;
    if (p->ents[i].amount == 0) continue;
    k.mv_size = p->ents[i].klen;
    k.mv_data = p->keys + p->ents[i].koff;
    rc = xc__counter_add(t->store, t->txn, t, &k, p->ents[i].amount, err);
    if (rc != XC_OK) return rc;
  }
  return XC_OK;
}

/* Applies the deltas to the counters: to t's pending deltas when it has
 * them, else at once in the raw transaction txn (t may be NULL then:
 * migration). */
static int xc__deltas_put(xc_store *s, MDB_txn *txn, xc_txn *t, const char *region,
                          const char *round, const xc__deltas *d, xc_err *err) {
  size_t rlen = region != NULL ? strlen(region) : 0;
  char key[XC__CKEY_MAX];
  for (size_t lv = 0; lv < XC__NCLEVELS; lv++) {
    if (xc__clevels[lv] > rlen) break;
    for (size_t i = 0; i < d->n; i++) {
      MDB_val k;
      int rc;
      if (d->v[i].amount == 0) continue;
      k.mv_size = xc__ckey(key, region, xc__clevels[lv], round, d->v[i].metric);
      k.mv_data = key;
      if (k.mv_size == 0) continue;
      if (t != NULL && t->cpend != NULL) {
        if (xc__cpend_add(t->cpend, key, k.mv_size, d->v[i].amount) != 0) {
          /* Part of this job's deltas may be in: it must be rolled back. */
          rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory updating counters");
          xc__txn_break(t, rc, err);
          return rc;
        }
        continue;
      }
      rc = xc__counter_add(s, txn, t, &k, d->v[i].amount, err);
      if (rc != XC_OK) return rc;
    }
  }
  return XC_OK;
}

/* The delta from old_rec to new_rec in s->dbi_counter, for raw txn. */
static int xc__counter_apply_raw(xc_store *s, MDB_txn *txn, xc_txn *t, xc_kind kind,
                                 const ProtobufCMessage *old_rec,
                                 const ProtobufCMessage *new_rec, xc_err *err) {
  xc__deltas d;
  const ProtobufCMessage *any = new_rec != NULL ? new_rec : old_rec;
  const char *round;
  const char *region;
  int rc = XC_OK;
  if (kind != XC_KIND_GROUP && kind != XC_KIND_FINDING && kind != XC_KIND_LEAD) return XC_OK;
  if (any == NULL) return XC_OK;
  round = xc__round_of(kind, any);
  d.v = d.inline_v;
  d.n = 0;
  d.cap = XC__DELTAS_INLINE;
  d.sign = 1;
  d.oom = 0;
  /* Region and round never change after creation (the store keeps them). */
  switch (kind) {
    case XC_KIND_GROUP: region = ((const Xuncha__V1__Group *)any)->region_code; break;
    case XC_KIND_FINDING: region = ((const Xuncha__V1__Finding *)any)->region_code; break;
    default: region = ((const Xuncha__V1__Lead *)any)->region_code; break;
  }
  if (round == NULL || round[0] == '\0' || region == NULL) return XC_OK;
  d.sign = -1;
  xc_store_contributions(kind, old_rec, xc__collect, &d);
  d.sign = 1;
  xc_store_contributions(kind, new_rec, xc__collect, &d);
  if (d.oom) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory updating counters");
    goto done;
  }
  rc = xc__deltas_put(s, txn, t, region, round, &d, err);
done:
  if (d.v != d.inline_v) free(d.v);
  return rc;
}

int xc__counter_apply(xc_txn *t, xc_kind kind, const ProtobufCMessage *old_rec,
                      const ProtobufCMessage *new_rec, xc_err *err) {
  return xc__counter_apply_raw(t->store, t->txn, t, kind, old_rec, new_rec, err);
}

/* Returns 1 if region is a code of an administrative level. */
static int xc__level_ok(const char *region) {
  size_t n = region != NULL ? strlen(region) : 0;
  for (size_t i = 0; i < XC__NCLEVELS; i++)
    if (xc__clevels[i] == n) return 1;
  return 0;
}

int xc_snapshot_counters(xc_snapshot *snap, const char *region, const char *round_id,
                         xc_counter_fn visit, void *ctx, xc_err *err) {
  xc_store *s = snap->store;
  MDB_cursor *cur = NULL;
  char key[XC__CKEY_MAX];
  char metric[XC__METRIC_MAX + 1];
  size_t plen;
  MDB_val k, v;
  int rc = XC_OK, mrc;
  int locked = 0;

  if (!xc__level_ok(region))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "region '%.32s' is not a code of 2, 4, 6, 9 or 12 digits",
                      region != NULL ? region : "");
  if (round_id == NULL || round_id[0] == '\0') return XC_OK;
  plen = xc__ckey(key, region, strlen(region), round_id, NULL);
  if (plen == 0) return xc_err_set(err, XC_EINVALID_ARGUMENT, "round id too long");
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  locked = 1;
  mrc = mdb_cursor_open(snap->txn, s->dbi_counter, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening a counter cursor");
    goto done;
  }
  k.mv_size = plen;
  k.mv_data = key;
  for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
       mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    size_t ml;
    int64_t value;
    if (k.mv_size < plen || memcmp(k.mv_data, key, plen) != 0) break;
    ml = k.mv_size - plen;
    if (ml > XC__METRIC_MAX || v.mv_size != 8) continue;
    memcpy(metric, (const char *)k.mv_data + plen, ml);
    metric[ml] = '\0';
    value = xc__get_le(v.mv_data);
    /* The visitor may not touch LMDB state of this cursor; copies only. */
    rc = visit(ctx, metric, value);
    if (rc != 0) break;
  }
  if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
    rc = xc__mdb_fail(NULL, mrc, err, "reading counters");
  if (rc > 0) rc = XC_OK;
done:
  if (cur != NULL) mdb_cursor_close(cur);
  if (locked) (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

int xc_snapshot_count_before(xc_snapshot *snap, xc_kind kind, xc_index index,
                             const char *region, const char *round_id, const char *before,
                             uint64_t *count, xc_err *err) {
  xc_store *s = snap->store;
  MDB_cursor *cur = NULL;
  char key[80];
  size_t plen;
  MDB_val k, v;
  uint64_t n = 0;
  int rc = XC_OK, mrc, len;
  int locked = 0;

  *count = 0;
  if (index != XC_INDEX_DUE && index != XC_INDEX_ACTIVE && index != XC_INDEX_REPORT)
    return xc_err_set(err, XC_EINTERNAL, "index %d is not a date index", (int)index);
  if (!xc__level_ok(region))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "region '%.32s' is not a code of 2, 4, 6, 9 or 12 digits",
                      region != NULL ? region : "");
  if (round_id == NULL || round_id[0] == '\0' || before == NULL || strlen(before) != 10)
    return XC_OK;
  key[0] = (char)kind;
  key[1] = (char)index;
  len = snprintf(key + 2, sizeof key - 2, "%s|%s|", region, round_id);
  if (len < 0 || (size_t)len >= sizeof key - 2)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "round id too long");
  plen = 2 + (size_t)len;
  if (pthread_rwlock_rdlock(&s->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  locked = 1;
  mrc = mdb_cursor_open(snap->txn, s->dbi_index, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening an index cursor");
    goto done;
  }
  k.mv_size = plen;
  k.mv_data = key;
  /* Entries of one (region, round) sort by date: stop at the first that is
   * not before `before`. */
  for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
       mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    const char *p = k.mv_data;
    if (k.mv_size < plen + 10 || memcmp(p, key, plen) != 0) break;
    if (memcmp(p + plen, before, 10) >= 0) break;
    n++;
  }
  if (mrc != 0 && mrc != MDB_NOTFOUND) rc = xc__mdb_fail(NULL, mrc, err, "reading an index");
  *count = n;
done:
  if (cur != NULL) mdb_cursor_close(cur);
  if (locked) (void)pthread_rwlock_unlock(&s->map_lock);
  return rc;
}

/*
 * Format 1 to 2 (xc_store_migrate.c): rebuilds every record's index entries
 * (which adds the date indexes) and its counters, from the records.
 */
int xc__counter_rebuild(xc_store *s, MDB_txn *txn, xc_err *err) {
  static const xc_kind kinds[] = {XC_KIND_GROUP, XC_KIND_FINDING, XC_KIND_LEAD};
  MDB_cursor *cur = NULL;
  ProtobufCMessage *rec = NULL;
  xc__keyset *keys = NULL;
  xc_txn t;
  int rc = XC_OK, mrc;

  memset(&t, 0, sizeof t);
  t.store = s;
  t.txn = txn;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && rc == XC_OK; i++) {
    MDB_val k, v;
    mrc = mdb_cursor_open(txn, s->dbi_kind[kinds[i]], &cur);
    if (mrc != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "opening a cursor to rebuild counters");
      goto done;
    }
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == XC_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      char id[XC_ID_MAX];
      if (k.mv_size == 0 || k.mv_size >= sizeof id) continue;
      memcpy(id, k.mv_data, k.mv_size);
      id[k.mv_size] = '\0';
      rc = xc__record_decode(kinds[i], v.mv_data, v.mv_size, id, k.mv_size, &rec, err);
      if (rc != XC_OK) break;
      rc = xc__index_keys(s, kinds[i], rec, id, &keys, err);
      /* Existing entries are put again (empty values): harmless. */
      if (rc == XC_OK) rc = xc__index_apply(&t, NULL, keys, err);
      if (rc == XC_OK) rc = xc__counter_apply_raw(s, txn, NULL, kinds[i], NULL, rec, err);
      xc__keyset_free(keys);
      keys = NULL;
      xc_msg_free(rec);
      rec = NULL;
    }
    if (rc == XC_OK && mrc != 0 && mrc != MDB_NOTFOUND)
      rc = xc__mdb_fail(NULL, mrc, err, "reading records to rebuild counters");
    mdb_cursor_close(cur);
    cur = NULL;
  }
  if (rc == XC_OK && t.broken) rc = t.broken_err.code != 0 ? t.broken_err.code : XC_EINTERNAL;
done:
  if (cur != NULL) mdb_cursor_close(cur);
  xc__keyset_free(keys);
  xc_msg_free(rec);
  return rc;
}
