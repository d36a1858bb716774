/*
 * xc_store_index.c: the secondary indexes, and the walks over them, over
 * the record databases (xc_snapshot_scan) and over the change log
 * (xc_snapshot_changes).
 *
 * Every index entry is a key in the "index" database with an empty value:
 *   [kind byte][index byte][key text] NUL [record id]
 * so the entries of one (kind, index, key) are contiguous and in id order,
 * which is creation order. Region and owner codes are indexed once per
 * administrative level (2, 4, 6, 9 and 12 digits) they reach, so a prefix on
 * a level boundary is one contiguous range; any other prefix walks the
 * longest level within it and skips records outside the prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_store_int.h"
#include "xc_text.h"
#include "xc_wire.h"

/* The administrative levels of a region code, in digits. */
static const size_t xc__levels[] = {2, 4, 6, 9, 12};
#define XC__NLEVELS (sizeof xc__levels / sizeof xc__levels[0])

/* The indexes each kind has, as bits (1u << xc_index). */
#define XC__BIT(i) (1u << (i))
static const unsigned xc__index_mask[XC_KIND_COUNT] = {
    /* target */ XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER),
    /* round */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_TARGET) | XC__BIT(XC_INDEX_STATUS),
    /* group */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_ROUND) | XC__BIT(XC_INDEX_TARGET),
    /* finding */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_ROUND) | XC__BIT(XC_INDEX_TARGET) | XC__BIT(XC_INDEX_STATUS) |
        XC__BIT(XC_INDEX_DUE) | XC__BIT(XC_INDEX_ACTIVE),
    /* lead */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_ROUND) | XC__BIT(XC_INDEX_TARGET) | XC__BIT(XC_INDEX_STATUS) |
        XC__BIT(XC_INDEX_RECIPIENT) | XC__BIT(XC_INDEX_REPORT),
    /* directory */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_RECIPIENT),
    /* progress */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_PARENT),
    /* verification */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_PARENT),
    /* disposition */
    XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER) |
        XC__BIT(XC_INDEX_PARENT) | XC__BIT(XC_INDEX_RECIPIENT),
    /* document: by round, and by the record it is attached to */
    [XC_KIND_DOCUMENT] = XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) |
                         XC__BIT(XC_INDEX_OWNER) | XC__BIT(XC_INDEX_ROUND) |
                         XC__BIT(XC_INDEX_PARENT),
    [XC_KIND_INSPECTOR] = XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) |
                          XC__BIT(XC_INDEX_OWNER),
    /* term */
    [XC_KIND_TERM] = XC__BIT(XC_INDEX_ALL) | XC__BIT(XC_INDEX_REGION) | XC__BIT(XC_INDEX_OWNER),
};

static const char *const xc__index_names[] = {"all",   "region",    "round", "target",
                                              "status", "owner", "recipient", "parent",
                                              "due",    "active", "report"};

/* One index key: len bytes at off in its set's buffer; data points there
 * once the set is complete (xc__keyset_sort), as the buffer may move while
 * keys are added. */
typedef struct xc__key {
  size_t len;
  size_t off;
  const char *data;
} xc__key;

/* A sorted set of index keys of one record, their bytes in one buffer (a
 * record has about ten keys: two allocations instead of one per key). */
struct xc__keyset {
  size_t n;
  size_t cap;
  xc__key *keys;
  char *buf;
  size_t blen, bcap;
};

/* Returns the longest level that is at most n digits, or 0 if none is. */
static size_t xc__level_within(size_t n) {
  size_t best = 0;
  for (size_t i = 0; i < XC__NLEVELS; i++) {
    if (xc__levels[i] <= n) best = xc__levels[i];
  }
  return best;
}

/* Returns the code part of an owner "office:<code>" ("<role>:<code>[:...]"),
 * and its length in *len. An owner without a role gives "". */
static const char *xc__owner_code(const char *owner, size_t *len) {
  const char *colon = strchr(owner, ':');
  const char *end;
  if (colon == NULL) {
    *len = 0;
    return owner + strlen(owner);
  }
  end = strchr(colon + 1, ':');
  *len = end != NULL ? (size_t)(end - colon - 1) : strlen(colon + 1);
  return colon + 1;
}

void xc__keyset_free(xc__keyset *ks) {
  if (ks == NULL) return;
  free(ks->buf);
  free(ks->keys);
  free(ks);
}

/*
 * Adds the key [kind][index]text[0..text_len) NUL id to ks. `field` names
 * the record field for the message when the key is too long for LMDB.
 */
static int xc__keyset_add(xc_store *s, xc__keyset *ks, xc_kind kind, xc_index index,
                          const char *text, size_t text_len, const char *id,
                          const char *field, xc_err *err) {
  size_t id_len = strlen(id);
  size_t len;
  char *data;
  if (text_len > s->max_key || id_len > s->max_key || 3 + text_len + id_len > s->max_key)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the %s's %s is %zu bytes, too long to index (the limit is %zu bytes)",
                      xc_kind_name(kind), field, text_len,
                      s->max_key > 3 + id_len ? s->max_key - 3 - id_len : 0);
  len = 3 + text_len + id_len;
  if (ks->n == ks->cap) {
    size_t cap = ks->cap == 0 ? 16 : ks->cap * 2;
    xc__key *keys;
    if (cap > SIZE_MAX / sizeof *keys)
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "too many index entries");
    keys = realloc(ks->keys, cap * sizeof *keys);
    if (keys == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    ks->keys = keys;
    ks->cap = cap;
  }
  if (ks->bcap - ks->blen < len) {
    size_t cap = ks->bcap == 0 ? 1024 : ks->bcap;
    char *nb;
    while (cap - ks->blen < len) {
      if (cap > SIZE_MAX / 2) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      cap *= 2;
    }
    nb = realloc(ks->buf, cap);
    if (nb == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    ks->buf = nb;
    ks->bcap = cap;
  }
  data = ks->buf + ks->blen;
  data[0] = (char)kind;
  data[1] = (char)index;
  memcpy(data + 2, text, text_len);
  data[2 + text_len] = '\0';
  memcpy(data + 3 + text_len, id, id_len);
  ks->keys[ks->n].len = len;
  ks->keys[ks->n].off = ks->blen;
  ks->keys[ks->n].data = NULL;
  ks->blen += len;
  ks->n++;
  return XC_OK;
}

/* Adds a key per administrative level that `code` reaches. */
static int xc__keyset_add_levels(xc_store *s, xc__keyset *ks, xc_kind kind, xc_index index,
                                 const char *code, size_t code_len, const char *id,
                                 const char *field, xc_err *err) {
  int rc = XC_OK;
  for (size_t i = 0; i < XC__NLEVELS && rc == XC_OK; i++) {
    if (xc__levels[i] <= code_len)
      rc = xc__keyset_add(s, ks, kind, index, code, xc__levels[i], id, field, err);
  }
  return rc;
}

/* Adds a key for a string value, unless it is empty. */
static int xc__keyset_add_str(xc_store *s, xc__keyset *ks, xc_kind kind, xc_index index,
                              const char *value, const char *id, const char *field,
                              xc_err *err) {
  if (value == NULL || value[0] == '\0') return XC_OK;
  return xc__keyset_add(s, ks, kind, index, value, strlen(value), id, field, err);
}

/* Adds the decimal key of a status enum value. */
static int xc__keyset_add_int(xc_store *s, xc__keyset *ks, xc_kind kind, xc_index index,
                              long long value, const char *id, const char *field,
                              xc_err *err) {
  char text[XC_FMT_INT_MAX];
  size_t n = xc_fmt_i64(text, (int64_t)value);
  return xc__keyset_add(s, ks, kind, index, text, n, id, field, err);
}

/*
 * Adds a date-index key "<prefix>|<round_id>|<date>" per administrative
 * level of region (XC_INDEX_DUE, XC_INDEX_ACTIVE, XC_INDEX_REPORT). Nothing
 * when the date is not a date or the round id is empty.
 */
static int xc__keyset_add_dated(xc_store *s, xc__keyset *ks, xc_kind kind, xc_index index,
                                const char *region, const char *round_id, const char *date,
                                const char *id, const char *field, xc_err *err) {
  /* At most 12 region digits, '|', a round id of 30, '|', a date of 10. */
  char text[64];
  size_t rlen = region != NULL ? strlen(region) : 0;
  size_t idlen = round_id != NULL ? strlen(round_id) : 0;
  int rc = XC_OK;
  if (idlen == 0 || idlen > 30 || date == NULL || strlen(date) != 10 || rlen > 12)
    return XC_OK;
  for (size_t i = 0; i < XC__NLEVELS && rc == XC_OK; i++) {
    size_t lv = xc__levels[i], n = 0;
    if (lv > rlen) break;
    /* "%.*s|%s|%s" of the level's prefix, the round id and the date, built
     * by hand: snprintf here was a tenth of the writer's time per create. */
    memcpy(text, region, lv);
    n = lv;
    text[n++] = '|';
    memcpy(text + n, round_id, idlen);
    n += idlen;
    text[n++] = '|';
    memcpy(text + n, date, 10);
    n += 10;
    rc = xc__keyset_add(s, ks, kind, index, text, n, id, field, err);
  }
  return rc;
}

static int xc__key_cmp(const void *a, const void *b) {
  const xc__key *x = a;
  const xc__key *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->data, y->data, n);
  if (c != 0) return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* Sorts ks and drops duplicates (a target listed twice indexes once). */
static void xc__keyset_sort(xc__keyset *ks) {
  size_t out = 0;
  if (ks->n == 0) return;
  /* The buffer is final now. */
  for (size_t i = 0; i < ks->n; i++) ks->keys[i].data = ks->buf + ks->keys[i].off;
  qsort(ks->keys, ks->n, sizeof *ks->keys, xc__key_cmp);
  for (size_t i = 1; i < ks->n; i++) {
    if (xc__key_cmp(&ks->keys[out], &ks->keys[i]) != 0) ks->keys[++out] = ks->keys[i];
  }
  ks->n = out + 1;
}

int xc__index_keys(xc_store *s, xc_kind kind, const ProtobufCMessage *rec, const char *id,
                   xc__keyset **out, xc_err *err) {
  xc__keyset *ks = calloc(1, sizeof *ks);
  const char *region = xc_msg_get_str(rec, "region_code");
  const char *owner = xc_msg_get_str(rec, "owner");
  const char *code;
  size_t code_len = 0;
  int rc = XC_OK;

  *out = NULL;
  if (ks == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc__keyset_add_levels(s, ks, kind, XC_INDEX_REGION, region ? region : "",
                             region ? strlen(region) : 0, id, "region_code", err);
  if (rc != XC_OK) goto done;
  code = xc__owner_code(owner ? owner : "", &code_len);
  rc = xc__keyset_add_levels(s, ks, kind, XC_INDEX_OWNER, code, code_len, id, "owner", err);
  if (rc != XC_OK) goto done;

  switch (kind) {
    case XC_KIND_TARGET:
      break;
    case XC_KIND_ROUND: {
      const Xuncha__V1__Round *r = (const Xuncha__V1__Round *)rec;
      for (size_t i = 0; i < r->n_target_ids && rc == XC_OK; i++)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_TARGET, r->target_ids[i], id,
                                "target_ids", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_int(s, ks, kind, XC_INDEX_STATUS, (long long)r->stage, id,
                                "stage", err);
      break;
    }
    case XC_KIND_GROUP: {
      const Xuncha__V1__Group *g = (const Xuncha__V1__Group *)rec;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_ROUND, g->round_id, id, "round_id", err);
      for (size_t i = 0; i < g->n_target_ids && rc == XC_OK; i++)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_TARGET, g->target_ids[i], id,
                                "target_ids", err);
      break;
    }
    case XC_KIND_FINDING: {
      const Xuncha__V1__Finding *f = (const Xuncha__V1__Finding *)rec;
      long long status = f->rectification != NULL ? (long long)f->rectification->status : 0;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_ROUND, f->round_id, id, "round_id", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_TARGET, f->target_id, id, "target_id",
                                err);
      if (rc == XC_OK)
        rc = xc__keyset_add_int(s, ks, kind, XC_INDEX_STATUS, status, id,
                                "rectification.status", err);
      /* Reports count overdue and stalled findings as of any day from these. */
      if (rc == XC_OK && !f->voided && status >= 1 && status <= 3) {
        const char *deadline = f->rectification != NULL ? f->rectification->deadline : NULL;
        char created[11];
        const char *last = f->track != NULL && f->track->last_entry_date != NULL &&
                                   f->track->last_entry_date[0] != '\0'
                               ? f->track->last_entry_date
                               : NULL;
        if (last == NULL) {
          xc__date_of_ms(f->create_time_ms, created);
          last = created;
        }
        rc = xc__keyset_add_dated(s, ks, kind, XC_INDEX_DUE, region, f->round_id, deadline, id,
                                  "rectification.deadline", err);
        if (rc == XC_OK)
          rc = xc__keyset_add_dated(s, ks, kind, XC_INDEX_ACTIVE, region, f->round_id, last,
                                    id, "track.last_entry_date", err);
      }
      break;
    }
    case XC_KIND_LEAD: {
      const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_ROUND, l->round_id, id, "round_id", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_TARGET, l->target_id, id, "target_id",
                                err);
      if (rc == XC_OK)
        rc = xc__keyset_add_int(s, ks, kind, XC_INDEX_STATUS, (long long)l->disposal, id,
                                "disposal", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_RECIPIENT, l->recipient, id,
                                "recipient", err);
      /* Leads still waiting for the agency's first report, by the day the
       * three months start (reports count the overdue ones as of today). */
      if (rc == XC_OK && !l->voided &&
          (l->disposal == XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING ||
           l->disposal == 0)) {
        char created[11];
        const char *from = l->transfer_date;
        if (from == NULL || strlen(from) != 10) {
          xc__date_of_ms(l->create_time_ms, created);
          from = created;
        }
        rc = xc__keyset_add_dated(s, ks, kind, XC_INDEX_REPORT, region, l->round_id, from, id,
                                  "transfer_date", err);
      }
      break;
    }
    case XC_KIND_DIRECTORY: {
      const Xuncha__V1__DirectoryEntry *d = (const Xuncha__V1__DirectoryEntry *)rec;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_RECIPIENT, d->identity, id, "identity", err);
      break;
    }
    case XC_KIND_PROGRESS:
    case XC_KIND_VERIFICATION:
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_PARENT, xc_msg_get_str(rec, "finding_id"), id,
                              "finding_id", err);
      break;
    case XC_KIND_DISPOSITION: {
      const Xuncha__V1__LeadDisposition *x = (const Xuncha__V1__LeadDisposition *)rec;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_PARENT, x->lead_id, id, "lead_id", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_RECIPIENT, x->recipient, id, "recipient",
                                err);
      break;
    }
    case XC_KIND_DOCUMENT: {
      const Xuncha__V1__Document *d = (const Xuncha__V1__Document *)rec;
      rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_ROUND, d->round_id, id, "round_id", err);
      if (rc == XC_OK)
        rc = xc__keyset_add_str(s, ks, kind, XC_INDEX_PARENT, d->attached_id, id, "attached_id",
                                err);
      break;
    }
    case XC_KIND_INSPECTOR:
      break;
    case XC_KIND_TERM:
      break;
    default:
      rc = xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
      break;
  }
  if (rc != XC_OK) goto done;
  xc__keyset_sort(ks);
  *out = ks;
  ks = NULL;
done:
  xc__keyset_free(ks);
  return rc;
}

int xc__index_apply(xc_txn *t, const xc__keyset *old_keys, const xc__keyset *new_keys,
                    xc_err *err) {
  static const xc__keyset empty = {0, 0, NULL, NULL, 0, 0};
  const xc__keyset *a = old_keys != NULL ? old_keys : &empty;
  const xc__keyset *b = new_keys != NULL ? new_keys : &empty;
  MDB_dbi dbi = t->store->dbi_index;
  size_t i = 0;
  size_t j = 0;
  int rc = XC_OK;

  /* Both sets are sorted: one merge pass finds what to drop and what to add. */
  while (rc == XC_OK && (i < a->n || j < b->n)) {
    int c;
    MDB_val k;
    MDB_val v = {0, NULL};
    int mrc;
    if (i == a->n)
      c = 1;
    else if (j == b->n)
      c = -1;
    else
      c = xc__key_cmp(&a->keys[i], &b->keys[j]);
    if (c == 0) {
      i++;
      j++;
      continue;
    }
    if (c < 0) {
      k.mv_size = a->keys[i].len;
      k.mv_data = (void *)a->keys[i].data;
      i++;
      mrc = mdb_del(t->txn, dbi, &k, NULL);
      /* An entry already missing is what we wanted anyway. */
      if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = xc__mdb_fail(t, mrc, err, "removing an index entry");
    } else {
      k.mv_size = b->keys[j].len;
      k.mv_data = (void *)b->keys[j].data;
      j++;
      mrc = mdb_put(t->txn, dbi, &k, &v, 0);
      if (mrc != 0) rc = xc__mdb_fail(t, mrc, err, "writing an index entry");
    }
  }
  return rc;
}

/* ------------------------------------------------------------------ scans */

/*
 * Scans read in chunks: up to XC__CHUNK records are decoded under the map
 * lock, the lock is released, and only then are they handed to visit. So a
 * visitor may take its time or even write (xc_store_write) without holding
 * up a growth of the map, and no cursor (which points into the map) lives
 * across a release of the lock: each chunk reopens its cursor at the last
 * key it saw.
 */
#define XC__CHUNK 64
/* Entries a chunk may look at (records a filter drops count too). */
#define XC__CHUNK_SCAN (4 * XC__CHUNK)

typedef struct xc__walk xc__walk;

/* Turns the entry at (k, v) into the item handed to visit (a message, or an
 * xc__raw for raw walks), or sets *out to NULL when the walk's post-filter
 * drops it. */
typedef int (*xc__load_fn)(const xc__walk *w, const MDB_val *k, const MDB_val *v, void **out,
                           xc_err *err);

/* A record as stored, copied out of the map for a raw walk: one allocation. */
typedef struct xc__raw {
  size_t id_len;
  size_t len;
  uint8_t bytes[]; /* the id, then the packed record (no format byte) */
} xc__raw;

/* What a walk reads and which messages it keeps. */
struct xc__walk {
  xc_snapshot *snap;
  MDB_dbi dbi;
  const char *prefix;  /* every key walked starts with it */
  size_t prefix_len;
  xc__load_fn load;
  xc_kind kind;
  xc_index index;
  const char *filter;  /* region or owner-code prefix to check, or NULL */
  xc_scan_fn visit;    /* message walks */
  xc_scan_raw_fn visit_raw; /* raw walks (load is xc__load_raw_*) */
  void *ctx;
};

/* Hands an item to the walk's visitor, which takes it. */
static int xc__walk_deliver(const xc__walk *w, void *item) {
  if (w->visit_raw != NULL) {
    xc__raw *r = item;
    int rc = w->visit_raw(w->ctx, (const char *)r->bytes, r->id_len, r->bytes + r->id_len, r->len);
    free(r);
    return rc;
  }
  return w->visit(w->ctx, item);
}

/* Frees an item no visitor took. */
static void xc__walk_release(const xc__walk *w, void *item) {
  if (w->visit_raw != NULL)
    free(item);
  else
    xc_msg_free(item);
}

/* Returns 1 if rec passes the walk's post-filter. */
static int xc__walk_keep(const xc__walk *w, const ProtobufCMessage *rec) {
  const char *value;
  size_t len;
  size_t flen;
  if (w->filter == NULL) return 1;
  flen = strlen(w->filter);
  if (w->index == XC_INDEX_OWNER) {
    const char *owner = xc_msg_get_str(rec, "owner");
    value = xc__owner_code(owner != NULL ? owner : "", &len);
  } else {
    value = xc_msg_get_str(rec, "region_code");
    if (value == NULL) value = "";
    len = strlen(value);
  }
  return len >= flen && memcmp(value, w->filter, flen) == 0;
}

/* Applies the walk's post-filter to a decoded record: frees it and sets
 * *out to NULL when it is dropped. */
static int xc__keep_msg(const xc__walk *w, int rc, ProtobufCMessage *msg, void **out) {
  *out = NULL;
  if (rc != XC_OK) return rc;
  if (xc__walk_keep(w, msg))
    *out = msg;
  else
    xc_msg_free(msg);
  return XC_OK;
}

/* Loads a record stored under its id (the kind's own database). */
static int xc__load_record(const xc__walk *w, const MDB_val *k, const MDB_val *v, void **out,
                           xc_err *err) {
  ProtobufCMessage *msg = NULL;
  int rc = xc__record_decode(w->kind, v->mv_data, v->mv_size, k->mv_data, k->mv_size, &msg, err);
  return xc__keep_msg(w, rc, msg, out);
}

/* Finds the record value an index entry names: sets *id, *id_len and *rec. */
static int xc__indexed_value(const xc__walk *w, const MDB_val *k, const char **id, size_t *id_len,
                             MDB_val *rec, xc_err *err) {
  MDB_val key;
  int mrc;
  *id = (const char *)k->mv_data + w->prefix_len;
  *id_len = k->mv_size - w->prefix_len;
  key.mv_size = *id_len;
  key.mv_data = (void *)*id;
  mrc = *id_len == 0 ? MDB_NOTFOUND : mdb_get(w->snap->txn, w->snap->store->dbi_kind[w->kind],
                                              &key, rec);
  if (mrc == MDB_NOTFOUND)
    return xc_err_set(err, XC_EDATA_LOSS, "the %s index names %s %.*s, which is missing",
                      xc__index_names[w->index], xc_kind_name(w->kind), (int)*id_len, *id);
  if (mrc != 0) return xc__mdb_fail(NULL, mrc, err, "reading a record");
  return XC_OK;
}

/* Loads the record an index entry names. */
static int xc__load_indexed(const xc__walk *w, const MDB_val *k, const MDB_val *v, void **out,
                            xc_err *err) {
  const char *id;
  size_t id_len;
  MDB_val rec;
  ProtobufCMessage *msg = NULL;
  int rc = xc__indexed_value(w, k, &id, &id_len, &rec, err);
  (void)v;
  if (rc == XC_OK)
    rc = xc__record_decode(w->kind, rec.mv_data, rec.mv_size, id, id_len, &msg, err);
  return xc__keep_msg(w, rc, msg, out);
}

/* Returns 1 if the packed record passes the walk's post-filter (the same
 * test as xc__walk_keep, on the wire: one string field is read). */
static int xc__raw_keep(const xc__walk *w, const uint8_t *p, size_t len) {
  const ProtobufCFieldDescriptor *fd;
  const uint8_t *end = p + len;
  const char *value = "";
  size_t vlen = 0;
  size_t flen;
  xc_wire_field f;
  if (w->filter == NULL) return 1;
  flen = strlen(w->filter);
  fd = protobuf_c_message_descriptor_get_field_by_name(
      xc_kind_descriptor(w->kind), w->index == XC_INDEX_OWNER ? "owner" : "region_code");
  if (fd == NULL) return flen == 0;
  /* The last occurrence wins, as when unpacking. */
  while (xc_wire_next(&p, end, &f) == 1) {
    if (f.number == fd->id && f.wire_type == XC_WIRE_LEN) {
      value = (const char *)f.value;
      vlen = f.value_len;
    }
  }
  if (w->index == XC_INDEX_OWNER) {
    /* The code part of "<role>:<code>[:...]", as xc__owner_code. */
    const char *colon = memchr(value, ':', vlen);
    const char *stop;
    if (colon == NULL) return flen == 0;
    vlen -= (size_t)(colon + 1 - value);
    value = colon + 1;
    stop = memchr(value, ':', vlen);
    if (stop != NULL) vlen = (size_t)(stop - value);
  }
  return vlen >= flen && memcmp(value, w->filter, flen) == 0;
}

/* Copies a stored record for a raw walk (or drops it by the post-filter). */
static int xc__load_raw(const xc__walk *w, const char *id, size_t id_len, const MDB_val *rec,
                        void **out, xc_err *err) {
  const uint8_t *p = rec->mv_data;
  xc__raw *r;
  *out = NULL;
  if (rec->mv_size < 1 || p[0] != XC__RECORD_FORMAT)
    return xc_err_set(err, XC_EDATA_LOSS,
                      "the stored %s %.*s has an unknown format (%d); it cannot be read",
                      xc_kind_name(w->kind), (int)id_len, id, rec->mv_size < 1 ? -1 : (int)p[0]);
  if (!xc__raw_keep(w, p + 1, rec->mv_size - 1)) return XC_OK;
  if (id_len > SIZE_MAX / 2 || rec->mv_size > SIZE_MAX / 2 - sizeof *r - id_len)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "a stored record is too large to copy");
  r = malloc(sizeof *r + id_len + rec->mv_size - 1);
  if (r == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  r->id_len = id_len;
  r->len = rec->mv_size - 1;
  memcpy(r->bytes, id, id_len);
  memcpy(r->bytes + id_len, p + 1, r->len);
  *out = r;
  return XC_OK;
}

/* Raw walk of the kind's own database. */
static int xc__load_raw_record(const xc__walk *w, const MDB_val *k, const MDB_val *v, void **out,
                               xc_err *err) {
  return xc__load_raw(w, k->mv_data, k->mv_size, v, out, err);
}

/* Raw walk of an index. */
static int xc__load_raw_indexed(const xc__walk *w, const MDB_val *k, const MDB_val *v,
                                void **out, xc_err *err) {
  const char *id;
  size_t id_len;
  MDB_val rec;
  int rc = xc__indexed_value(w, k, &id, &id_len, &rec, err);
  (void)v;
  *out = NULL;
  if (rc == XC_OK) rc = xc__load_raw(w, id, id_len, &rec, out, err);
  return rc;
}

/* Loads a change-log entry. */
static int xc__load_change(const xc__walk *w, const MDB_val *k, const MDB_val *v, void **out,
                           xc_err *err) {
  (void)w;
  *out = protobuf_c_message_unpack(&xuncha__v1__change__descriptor, NULL, v->mv_size,
                                   v->mv_data);
  if (*out == NULL) {
    uint64_t seq = 0;
    for (size_t i = 0; i < k->mv_size && i < 8; i++)
      seq = seq << 8 | ((const uint8_t *)k->mv_data)[i];
    return xc_err_set(err, XC_EDATA_LOSS, "change %llu of the change log does not decode",
                      (unsigned long long)seq);
  }
  return XC_OK;
}

/*
 * Reads one chunk, starting at key pos (or the first key when *pos_len is
 * 0), skipping an entry equal to pos when *skip_pos. Fills chunk with up to
 * XC__CHUNK kept messages, moves pos to the last entry read and sets *more
 * to 0 at the end of the range.
 */
static int xc__walk_chunk(const xc__walk *w, char *pos, size_t *pos_len, int *skip_pos,
                          void **chunk, size_t *n, int *more, xc_err *err) {
  xc_store *s = w->snap->store;
  MDB_cursor *cur = NULL;
  MDB_val k;
  MDB_val v;
  MDB_cursor_op op = *pos_len > 0 ? MDB_SET_RANGE : MDB_FIRST;
  size_t seen = 0;
  int rc = XC_OK;
  int locked = 0;
  int mrc;

  *n = 0;
  if (pthread_rwlock_rdlock(&s->map_lock) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
    goto done;
  }
  locked = 1;
  mrc = mdb_cursor_open(w->snap->txn, w->dbi, &cur);
  if (mrc != 0) {
    rc = xc__mdb_fail(NULL, mrc, err, "opening a cursor");
    goto done;
  }
  k.mv_size = *pos_len;
  k.mv_data = pos;
  for (mrc = mdb_cursor_get(cur, &k, &v, op);; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    void *item = NULL;
    if (mrc == MDB_NOTFOUND) {
      *more = 0;
      break;
    }
    if (mrc != 0) {
      rc = xc__mdb_fail(NULL, mrc, err, "walking a database");
      goto done;
    }
    if (k.mv_size < w->prefix_len || memcmp(k.mv_data, w->prefix, w->prefix_len) != 0) {
      *more = 0;
      break;
    }
    /* Full: the next chunk starts after the last entry read (pos, with
     * *skip_pos still set). */
    if (*n == XC__CHUNK || seen == XC__CHUNK_SCAN) break;
    /* Only a chunk's first entry can equal pos. */
    if (*skip_pos) {
      *skip_pos = 0;
      if (k.mv_size == *pos_len && memcmp(k.mv_data, pos, k.mv_size) == 0) continue;
    }
    seen++;
    if (k.mv_size > s->max_key) {
      rc = xc_err_set(err, XC_EDATA_LOSS, "a stored key is longer than LMDB allows");
      goto done;
    }
    memcpy(pos, k.mv_data, k.mv_size);
    *pos_len = k.mv_size;
    *skip_pos = 1;
    rc = w->load(w, &k, &v, &item, err);
    if (rc != XC_OK) goto done;
    if (item != NULL) chunk[(*n)++] = item;
  }
done:
  if (cur != NULL) mdb_cursor_close(cur);
  if (locked) (void)pthread_rwlock_unlock(&s->map_lock);
  if (rc != XC_OK) {
    for (size_t i = 0; i < *n; i++) xc__walk_release(w, chunk[i]);
    *n = 0;
  }
  return rc;
}

/*
 * Walks the keys of w->dbi that start with w->prefix, from `start` (skipped
 * itself when skip_start), handing each kept message to w->visit.
 */
static int xc__walk_run(const xc__walk *w, const char *start, size_t start_len, int skip_start,
                        xc_err *err) {
  xc_store *s = w->snap->store;
  void *chunk[XC__CHUNK];
  char *pos = NULL;
  size_t pos_len = start_len;
  int skip_pos = skip_start;
  int more = 1;
  int rc = XC_OK;

  if (w->visit == NULL && w->visit_raw == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "a scan needs a visit function");
    goto done;
  }
  pos = malloc(s->max_key + 1);
  if (pos == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  memcpy(pos, start, start_len);
  /* more: 1 go on, 0 end of the range, -1 the visitor stopped. */
  while (more > 0 && rc == XC_OK) {
    size_t n = 0;
    rc = xc__walk_chunk(w, pos, &pos_len, &skip_pos, chunk, &n, &more, err);
    /* Every message of the chunk goes to visit or is freed here. */
    for (size_t i = 0; i < n; i++) {
      int vrc = 0;
      if (rc == XC_OK && more >= 0) {
        vrc = xc__walk_deliver(w, chunk[i]);
        if (vrc < 0) rc = vrc;
        if (vrc != 0) more = -1;
      } else {
        xc__walk_release(w, chunk[i]);
      }
    }
  }
done:
  free(pos);
  return rc;
}

/* xc_snapshot_scan and xc_snapshot_scan_raw: exactly one of visit and
 * visit_raw is set. */
static int xc__scan(xc_snapshot *snap, xc_kind kind, xc_index index, const char *key,
                    const char *after_id, xc_scan_fn visit, xc_scan_raw_fn visit_raw, void *ctx,
                    xc_err *err) {
  xc_store *s = snap->store;
  xc__walk w;
  char *start = NULL;
  size_t key_len;
  size_t after_len;
  size_t text_len;
  int whole_kind;
  int rc = XC_OK;

  if (key == NULL) key = "";
  if (after_id == NULL) after_id = "";
  key_len = strlen(key);
  after_len = strlen(after_id);
  memset(&w, 0, sizeof w);
  if (!xc_kind_used(kind)) {
    rc = xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
    goto done;
  }
  if ((unsigned)index > XC_INDEX_PARENT || !(xc__index_mask[kind] & XC__BIT(index))) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%ss cannot be listed by %s",
                    xc_kind_name(kind),
                    (unsigned)index <= XC_INDEX_PARENT ? xc__index_names[index] : "that");
    goto done;
  }
  w.snap = snap;
  w.kind = kind;
  w.index = index;
  w.visit = visit;
  w.visit_raw = visit_raw;
  w.ctx = ctx;
  /* Region and owner prefixes walk the longest level within them (none:
   * the whole kind) and filter on the rest. */
  text_len = key_len;
  whole_kind = index == XC_INDEX_ALL;
  if (index == XC_INDEX_REGION || index == XC_INDEX_OWNER) {
    text_len = xc__level_within(key_len);
    if (text_len < key_len) w.filter = key;
    whole_kind = text_len == 0;
  }
  if (whole_kind) {
    /* The kind's own database, keyed by id. */
    if (after_len > s->max_key) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "the position to resume after is %zu bytes; the limit is %zu",
                      after_len, s->max_key);
      goto done;
    }
    w.dbi = s->dbi_kind[kind];
    w.prefix = "";
    w.prefix_len = 0;
    w.load = visit_raw != NULL ? xc__load_raw_record : xc__load_record;
    rc = xc__walk_run(&w, after_id, after_len, after_len > 0, err);
    goto done;
  }
  /* An index: [kind][index]text NUL, then ids in order. */
  if (3 + text_len + after_len > s->max_key) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "the %s key and the position to resume after are %zu bytes together; "
                    "the limit is %zu bytes",
                    xc__index_names[index], text_len + after_len, s->max_key - 3);
    goto done;
  }
  start = malloc(3 + text_len + after_len);
  if (start == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  start[0] = (char)kind;
  start[1] = (char)index;
  memcpy(start + 2, key, text_len);
  start[2 + text_len] = '\0';
  memcpy(start + 3 + text_len, after_id, after_len);
  w.dbi = s->dbi_index;
  w.prefix = start;
  w.prefix_len = 3 + text_len;
  w.load = visit_raw != NULL ? xc__load_raw_indexed : xc__load_indexed;
  rc = xc__walk_run(&w, start, 3 + text_len + after_len, after_len > 0, err);
done:
  free(start);
  return rc;
}

int xc_snapshot_scan(xc_snapshot *snap, xc_kind kind, xc_index index, const char *key,
                     const char *after_id, xc_scan_fn visit, void *ctx, xc_err *err) {
  if (visit == NULL) return xc_err_set(err, XC_EINTERNAL, "a scan needs a visit function");
  return xc__scan(snap, kind, index, key, after_id, visit, NULL, ctx, err);
}

int xc_snapshot_scan_raw(xc_snapshot *snap, xc_kind kind, xc_index index, const char *key,
                         const char *after_id, xc_scan_raw_fn visit, void *ctx, xc_err *err) {
  if (visit == NULL) return xc_err_set(err, XC_EINTERNAL, "a scan needs a visit function");
  return xc__scan(snap, kind, index, key, after_id, NULL, visit, ctx, err);
}

int xc_snapshot_get_raw(xc_snapshot *snap, xc_kind kind, const char *id, xc_scan_raw_fn visit,
                        void *ctx, xc_err *err) {
  xc__walk w;
  MDB_val k, v;
  void *item = NULL;
  size_t len = id != NULL ? strlen(id) : 0;
  int rc = XC_OK;
  int mrc;

  if (visit == NULL) return xc_err_set(err, XC_EINTERNAL, "a get needs a visit function");
  if (!xc_kind_used(kind)) return xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
  /* As xc_snapshot_get: ids that are not well formed are not found. */
  if (!xc_id_valid(kind, id))
    return xc_err_set(err, XC_ENOT_FOUND, "no %s with id %.64s", xc_kind_name(kind),
                      id != NULL ? id : "");
  memset(&w, 0, sizeof w);
  w.snap = snap;
  w.kind = kind;
  w.visit_raw = visit;
  w.ctx = ctx;
  if (pthread_rwlock_rdlock(&snap->store->map_lock) != 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot take the store's map lock");
  k.mv_size = len;
  k.mv_data = (void *)id;
  mrc = mdb_get(snap->txn, snap->store->dbi_kind[kind], &k, &v);
  if (mrc == MDB_NOTFOUND)
    rc = xc_err_set(err, XC_ENOT_FOUND, "no %s with id %s", xc_kind_name(kind), id);
  else if (mrc != 0)
    rc = xc__mdb_fail(NULL, mrc, err, "reading a record");
  else
    rc = xc__load_raw(&w, id, len, &v, &item, err);
  (void)pthread_rwlock_unlock(&snap->store->map_lock);
  /* The visitor runs with no lock held, as a scan's. */
  if (rc == XC_OK && item != NULL) {
    rc = xc__walk_deliver(&w, item);
    if (rc > 0) rc = XC_OK;
  }
  return rc;
}

int xc_txn_scan(xc_txn *txn, xc_kind kind, xc_index index, const char *key,
                const char *after_id, xc_scan_fn visit, void *ctx, xc_err *err) {
  /* A snapshot over the running job's nested transaction: the walk only
   * reads through it, and reads in a write transaction see its own writes. */
  xc_snapshot view;
  view.store = txn->store;
  view.txn = txn->txn;
  return xc_snapshot_scan(&view, kind, index, key, after_id, visit, ctx, err);
}

int xc_snapshot_changes(xc_snapshot *snap, uint64_t after_seq, xc_scan_fn visit, void *ctx,
                        xc_err *err) {
  xc__walk w;
  char start[8];
  int rc = XC_OK;

  if (after_seq == UINT64_MAX) goto done;
  memset(&w, 0, sizeof w);
  w.snap = snap;
  w.dbi = snap->store->dbi_changelog;
  w.prefix = "";
  w.load = xc__load_change;
  w.visit = visit;
  w.ctx = ctx;
  for (int i = 0; i < 8; i++) start[i] = (char)((after_seq + 1) >> (8 * (7 - i)));
  rc = xc__walk_run(&w, start, sizeof start, 0, err);
done:
  return rc;
}
