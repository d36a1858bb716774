/*
 * xc_sync.c: the shared half of federation (xc_sync.h): jurisdiction checks
 * on pushed batches, exactly-once application, pull selection, pruning and
 * digests.
 */
#include "xc_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "xc_home.h"
#include "xc_log.h"
#include "xc_msg.h"
#include "xc_store_audit.h"
#include "xc_store_sync.h"
#include "xc_text.h"
#include "xc_wire.h"
#include "xc_workflow.h"

xc_kind xc_sync_kind_of(const char *name) {
  for (int k = 0; name != NULL && k < XC_KIND_COUNT; k++)
    if (xc_kind_used((xc_kind)k) && strcmp(xc_kind_name((xc_kind)k), name) == 0)
      return (xc_kind)k;
  return XC_KIND_COUNT;
}

/* The origin of a change: its own, or this server for a change made here. */
static const char *xc__origin(const Xuncha__V1__Change *c) {
  return c->origin != NULL && c->origin[0] != '\0' ? c->origin : xc_home_self();
}

/* Writes a sync value name "<a><b><c>" into out; 0 or -1 when too long. */
static int xc__vname(char out[XC_SYNC_KEY_MAX + 1], const char *a, const char *b, const char *c) {
  int n = snprintf(out, XC_SYNC_KEY_MAX + 1, "%s%s%s", a, b, c != NULL ? c : "");
  return n < 0 || n > XC_SYNC_KEY_MAX ? -1 : 0;
}

int xc_sync_check_peer(const xc_identity *who, const char *server, xc_err *err) {
  const char *region = xc_home_region_of(server);
  if (!xc_home_enabled())
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "this server is not part of a federation (started without --homes)");
  if (region == NULL)
    return xc_err_set(err, XC_EPERMISSION_DENIED, "server '%.64s' is not in the homes map",
                      server != NULL ? server : "");
  if (who->role != XC_ROLE_OFFICE || strcmp(who->region, region) != 0)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not sync for server %s: that takes the certificate of office:%s",
                      who->cn, server, region);
  if (!xc_home_is_downstream(server))
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "server %s syncs with its own upstream, not with %s (see the homes map)",
                      server, xc_home_self());
  return XC_OK;
}

int xc_sync_check_push(const char *pusher, Xuncha__V1__Change *const *changes, size_t n,
                       xc_err *err) {
  const char *pregion = xc_home_region_of(pusher);
  ProtobufCMessage *rec = NULL;
  int rc = XC_OK;
  if (pregion == NULL)
    return xc_err_set(err, XC_EPERMISSION_DENIED, "server '%.64s' is not in the homes map",
                      pusher);
  for (size_t i = 0; i < n && rc == XC_OK; i++) {
    const Xuncha__V1__Change *c = changes[i];
    xc_kind kind = xc_sync_kind_of(c->kind);
    const char *id, *owner, *region, *home;
    char oregion[XC_REGION_MAX_DIGITS + 1];
    xc_msg_free(rec);
    rec = NULL;
    if (kind == XC_KIND_COUNT) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "changes[%zu].kind '%.32s' is not a record kind",
                      i, c->kind);
      break;
    }
    if (c->origin == NULL || xc_home_region_of(c->origin) == NULL || c->origin_seq == 0) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "changes[%zu] needs an origin server of the homes map and its origin_seq",
                      i);
      break;
    }
    if (!xc_home_within(c->origin, pusher)) {
      rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                      "changes[%zu] comes from server %s, which is not %s or below it", i,
                      c->origin, pusher);
      break;
    }
    rec = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, c->record.len,
                                    c->record.data);
    if (rec == NULL) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "changes[%zu].record is not a %s record", i,
                      c->kind);
      break;
    }
    id = xc_msg_get_str(rec, "id");
    owner = xc_msg_get_str(rec, "owner");
    region = xc_msg_get_str(rec, "region_code");
    if (!xc_id_valid(kind, id) || c->id == NULL || strcmp(c->id, id) != 0) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "changes[%zu] names id %.40s but holds %.40s",
                      i, c->id != NULL ? c->id : "", id);
      break;
    }
    xc_home_who_region(owner, oregion);
    home = xc_home_of(owner);
    /* A disposition carries its lead's region, which may lie above the
     * pusher (a city lead sent to the county's commission); it is judged by
     * its owner, and xc__apply_fn checks that the lead was sent to it. */
    if (oregion[0] == '\0' || !xc_region_within(oregion, pregion) ||
        (kind != XC_KIND_DISPOSITION && region != NULL && region[0] != '\0' &&
         !xc_region_within(region, pregion))) {
      rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s %s (owner %s, region %s) is outside the jurisdiction of %s (region "
                      "%s): the batch is refused and nothing was written",
                      c->kind, id, owner, region != NULL && region[0] ? region : "(none)", pusher,
                      pregion);
      break;
    }
    if (home == NULL || strcmp(home, c->origin) != 0) {
      rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s %s is owned by %s, who is at home on %s, but came as a change of %s",
                      c->kind, id, owner, home != NULL ? home : "(no server)", c->origin);
      break;
    }
  }
  xc_msg_free(rec);
  if (rc != XC_OK) xc_log(XC_LOG_WARN, "sync: refused a push from %s: %s", pusher, err->msg);
  return rc;
}

/* ------------------------------------------------------------------ apply */

static int xc__wire_str(const uint8_t *buf, size_t n, unsigned field, const uint8_t **p,
                        size_t *len);

/* Returns 1 if the packed record's owner is at home on this server. */
static int xc__owned_here(const Xuncha__V1__Change *c) {
  const uint8_t *p = NULL;
  size_t len = 0;
  char owner[XC_MAX_CN_BYTES + 1];
  if (!xc__wire_str(c->record.data, c->record.len, 3, &p, &len) || len > XC_MAX_CN_BYTES)
    return 0;
  memcpy(owner, p, len);
  owner[len] = '\0';
  return xc_home_is_here(owner);
}

typedef struct xc__apply {
  Xuncha__V1__Change *const *changes;
  size_t n;
  const char *cursor_name;
  uint64_t cursor_value;
  const char *time_name;
  uint32_t applied, skipped;
} xc__apply;

/*
 * Checks a replicated disposition against the lead it disposes of, as held
 * here: only the agency the lead was sent to records its handling (as
 * RecordDisposition requires), so a server cannot change the state of a
 * lead that was never sent to one of its agencies. The fields it copies
 * from its lead (lead_owner, region_code, recipient) must be the lead's:
 * pulls route a disposition by its lead_owner and check_push does not judge
 * it by its region, so a pusher could otherwise label its own agency's
 * disposition as another county's and have it pulled there. An honest
 * record always matches (all three are fixed on a lead or checked above).
 * XC_EPERMISSION_DENIED otherwise, or XC_EFAILED_PRECONDITION when the lead
 * is not held here.
 */
static int xc__disposition_sent(xc_txn *txn, const Xuncha__V1__Change *c, xc_err *err) {
  ProtobufCMessage *d = NULL, *lead = NULL;
  int rc;
  d = protobuf_c_message_unpack(&xuncha__v1__lead_disposition__descriptor, NULL, c->record.len,
                                c->record.data);
  if (d == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "disposition %.40s does not decode", c->id);
  rc = xc_txn_get(txn, XC_KIND_LEAD, xc_msg_get_str(d, "lead_id"), &lead, err);
  if (rc == XC_ENOT_FOUND)
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "disposition %s is of lead %s, which is not held here", c->id,
                    xc_msg_get_str(d, "lead_id"));
  if (rc == XC_OK &&
      strcmp(xc_msg_get_str(lead, "recipient"), xc_msg_get_str(d, "owner")) != 0)
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "disposition %s was recorded by %s, but lead %s was sent to %s: only its "
                    "recipient records a lead's handling",
                    c->id, xc_msg_get_str(d, "owner"), xc_msg_get_str(lead, "id"),
                    xc_msg_get_str(lead, "recipient"));
  if (rc == XC_OK &&
      (strcmp(xc_msg_get_str(d, "lead_owner"), xc_msg_get_str(lead, "owner")) != 0 ||
       strcmp(xc_msg_get_str(d, "region_code"), xc_msg_get_str(lead, "region_code")) != 0 ||
       strcmp(xc_msg_get_str(d, "recipient"), xc_msg_get_str(lead, "recipient")) != 0))
    rc = xc_err_set(err, XC_EPERMISSION_DENIED,
                    "disposition %s names lead_owner %s, region %s and recipient %s, but its lead "
                    "%s has owner %s, region %s and recipient %s",
                    c->id, xc_msg_get_str(d, "lead_owner"), xc_msg_get_str(d, "region_code"),
                    xc_msg_get_str(d, "recipient"), xc_msg_get_str(lead, "id"),
                    xc_msg_get_str(lead, "owner"), xc_msg_get_str(lead, "region_code"),
                    xc_msg_get_str(lead, "recipient"));
  xc_msg_free(lead);
  xc_msg_free(d);
  return rc;
}

static int xc__apply_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__apply *a = arg;
  char name[XC_SYNC_KEY_MAX + 1];
  int rc = XC_OK;
  a->applied = a->skipped = 0;
  for (size_t i = 0; i < a->n && rc == XC_OK; i++) {
    const Xuncha__V1__Change *c = a->changes[i];
    const char *origin = xc__origin(c);
    xc_kind kind = xc_sync_kind_of(c->kind);
    uint64_t have = 0;
    int changed = 0;
    if (kind == XC_KIND_COUNT)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "changes[%zu].kind '%.32s' is unknown", i,
                        c->kind);
    if (xc__vname(name, "origin/", origin, NULL) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "origin name too long");
    rc = xc_txn_sync_get(txn, name, &have, err);
    if (rc != XC_OK) break;
    /* Each origin's changes arrive in its own order, whatever the path, so
     * one number per origin says which of them are here already. A record
     * of a snapshot (origin_seq 0) has no number: it is stored unless this
     * very version is here, and moves no origin's number. */
    if (c->origin_seq != 0 && c->origin_seq <= have) {
      a->skipped++;
      continue;
    }
    /* This server's own records change only here: a copy from elsewhere
     * (which a correct peer never sends) must not overwrite them. */
    if (xc_home_enabled() && xc__owned_here(c)) {
      xc_log(XC_LOG_WARN, "sync: ignored %s %s from %s: its owner is at home here", c->kind,
             c->id, origin);
      if (c->origin_seq != 0) rc = xc_txn_sync_put(txn, name, c->origin_seq, err);
      a->skipped++;
      continue;
    }
    /* A disposition from below must be its lead's recipient's (a county
     * must not change the state of a lead not sent to it). One from above
     * was checked there; it may even follow a recipient change made here
     * meanwhile, and refusing it would stop every later pull. */
    if (kind == XC_KIND_DISPOSITION && xc_home_within(origin, xc_home_self()))
      rc = xc__disposition_sent(txn, c, err);
    if (rc != XC_OK) break;
    rc = xc_txn_replicate(txn, kind, c->record.data, c->record.len, origin, c->origin_seq,
                          &changed, err);
    if (rc == XC_OK && c->origin_seq != 0) rc = xc_txn_sync_put(txn, name, c->origin_seq, err);
    if (rc != XC_OK) break;
    a->applied++;
    if (changed && (kind == XC_KIND_PROGRESS || kind == XC_KIND_VERIFICATION ||
                    kind == XC_KIND_DISPOSITION)) {
      ProtobufCMessage *child =
          protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, c->record.len, c->record.data);
      int parent_changed = 0;
      if (child == NULL) {
        rc = xc_err_set(err, XC_EINTERNAL, "a stored %s no longer decodes", c->kind);
        break;
      }
      rc = xc_workflow_rederive(txn, kind, child, xc_msg_get_str(child, "updated_by"),
                                &parent_changed, err);
      if (rc == XC_EFAILED_PRECONDITION) {
        /* Two offices wrote steps that do not follow each other: the record
         * stays, and so does its parent's state, until someone voids one. */
        xc_log(XC_LOG_WARN, "sync: %s %s from %s leaves its parent as it was: %s", c->kind,
               c->id, origin, err->msg);
        xc_err_clear(err);
        rc = XC_OK;
      }
      xc_msg_free(child);
    }
  }
  /* A cursor only moves forward: a late retry of an older batch (its
   * changes all skipped above) must not move it back. */
  if (rc == XC_OK && a->cursor_name != NULL) {
    uint64_t cur = 0;
    rc = xc_txn_sync_get(txn, a->cursor_name, &cur, err);
    if (rc == XC_OK && a->cursor_value > cur)
      rc = xc_txn_sync_put(txn, a->cursor_name, a->cursor_value, err);
  }
  if (rc == XC_OK && a->time_name != NULL)
    rc = xc_txn_sync_put(txn, a->time_name, (uint64_t)xc_txn_now_ms(txn), err);
  return rc;
}

int xc_sync_apply(xc_store *store, Xuncha__V1__Change *const *changes, size_t n,
                  const char *cursor_name, uint64_t cursor_value, const char *peer_time_name,
                  const xc_audit_entry *who, uint32_t *applied, uint32_t *skipped, xc_err *err) {
  xc__apply a;
  int rc;
  memset(&a, 0, sizeof a);
  a.changes = changes;
  a.n = n;
  a.cursor_name = cursor_name;
  a.cursor_value = cursor_value;
  a.time_name = peer_time_name;
  if (who != NULL)
    rc = xc_store_write_audited(store, who, xc__apply_fn, &a, err);
  else
    rc = xc_store_write(store, xc__apply_fn, &a, err);
  *applied = rc == XC_OK ? a.applied : 0;
  *skipped = rc == XC_OK ? a.skipped : 0;
  return rc;
}

/* ------------------------------------------------------------- relevance */

/*
 * Returns 1 if record rec of kind, made outside the puller's part of the
 * federation, belongs on server `puller`:
 *   - leads only where their agency is at home (and on the way there);
 *   - dispositions where their lead's owner is at home, or below;
 *   - directory entries of the puller's region and of the offices and
 *     agencies above it (a county sends leads to the city's commission);
 *   - documents of leads never;
 *   - everything else by its region code, as the read rule goes: an office
 *     reads what lies inside its region, so a city-wide round (region of
 *     the city) stays above even when it inspects a county's units, while
 *     its findings on those units come down.
 * snap is kept for rules that need to look records up (none now).
 */
static int xc__relevant(xc_snapshot *snap, xc_kind kind, const ProtobufCMessage *rec,
                        const char *puller) {
  const char *pregion = xc_home_region_of(puller);
  const char *region = xc_msg_get_str(rec, "region_code");
  (void)snap;
  if (pregion == NULL) return 0;
  switch (kind) {
    case XC_KIND_LEAD: {
      /* Where its agency is at home, and on the way there (a township
       * agency's lead passes its county's server, where no office may read
       * it: the lead read rule names the owner, the offices above the owner
       * and the agency). */
      const char *home = xc_home_of(xc_msg_get_str(rec, "recipient"));
      return home != NULL && xc_home_within(home, puller);
    }
    case XC_KIND_DISPOSITION: {
      const char *home = xc_home_of(xc_msg_get_str(rec, "lead_owner"));
      return home != NULL && xc_home_within(home, puller);
    }
    case XC_KIND_DIRECTORY:
      return region != NULL && region[0] != '\0' &&
             (xc_region_within(region, pregion) || xc_region_within(pregion, region));
    case XC_KIND_DOCUMENT: {
      const char *att = xc_msg_get_str(rec, "attached_id");
      if (att != NULL && att[0] == 'l') return 0;
      break;
    }
    default:
      break;
  }
  return region != NULL && region[0] != '\0' && xc_region_within(region, pregion);
}

typedef struct xc__pull {
  xc_snapshot *snap; /* for the lookups of xc__relevant */
  const char *puller;
  uint32_t max;
  size_t scanned, bytes;
  uint64_t upto;
  Xuncha__V1__Change **v;
  size_t n;
  int failed;
  xc_err err;
} xc__pull;

static int xc__pull_keep(xc__pull *p, Xuncha__V1__Change *c, const char *origin);

static int xc__pull_visit(void *arg, ProtobufCMessage *msg) {
  xc__pull *p = arg;
  Xuncha__V1__Change *c = (Xuncha__V1__Change *)msg;
  const char *origin = xc__origin(c);
  xc_kind kind = xc_sync_kind_of(c->kind);
  ProtobufCMessage *rec = NULL;
  int keep = 0;
  if (p->n == p->max || p->bytes >= XC_SYNC_MAX_BATCH_BYTES ||
      (p->bytes > 0 && p->bytes + c->record.len > XC_SYNC_MAX_BATCH_BYTES) ||
      p->scanned == XC_SYNC_PULL_SCAN) {
    xc_msg_free(msg);
    return 1;
  }
  p->scanned++;
  p->upto = c->seq;
  if (kind != XC_KIND_COUNT && !xc_home_within(origin, p->puller)) {
    rec = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, c->record.len, c->record.data);
    keep = rec != NULL && xc__relevant(p->snap, kind, rec, p->puller);
  }
  xc_msg_free(rec);
  if (!keep) {
    xc_msg_free(msg);
    return 0;
  }
  if (c->origin_seq == 0) c->origin_seq = c->seq;
  return xc__pull_keep(p, c, origin);
}

/* Appends c to the pull's changes (taking it), with its origin filled in. */
static int xc__pull_keep(xc__pull *p, Xuncha__V1__Change *c, const char *origin) {
  if (xc_msg_set_str(&c->base, "origin", origin) != XC_OK) {
    xc_msg_free(&c->base);
    (void)xc_err_set(&p->err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    p->failed = 1;
    return XC_ERESOURCE_EXHAUSTED;
  }
  p->v[p->n++] = c;
  p->bytes += c->record.len;
  return 0;
}

/* What a snapshot page walks. */
typedef struct xc__snap {
  xc__pull *p;
  char last_id[XC_ID_MAX];
  size_t looked;
  int full;
} xc__snap;

/* Visits one stored record for a snapshot page: the records a pull would
 * have brought, as changes with origin_seq 0. */
static int xc__snap_visit(void *arg, xc_kind kind, const char *id, size_t id_len,
                          const uint8_t *packed, size_t len) {
  xc__snap *sn = arg;
  xc__pull *p = sn->p;
  ProtobufCMessage *rec = NULL;
  Xuncha__V1__Change *c = NULL;
  const char *origin;
  int rc = 0;
  const uint8_t *op = NULL;
  size_t olen = 0;
  char owner[XC_MAX_CN_BYTES + 1];
  /* Full, or looked at enough for one reply: the next page starts after
   * the last record looked at. */
  if (p->n == p->max || (p->bytes > 0 && p->bytes + len > XC_SYNC_MAX_BATCH_BYTES) ||
      sn->looked == XC_SYNC_PULL_SCAN) {
    sn->full = 1;
    return 1;
  }
  if (id_len >= sizeof sn->last_id) return 0;
  sn->looked++;
  memcpy(sn->last_id, id, id_len);
  sn->last_id[id_len] = '\0';
  /* The owner alone says whether the puller made the record itself. */
  if (!xc__wire_str(packed, len, 3, &op, &olen) || olen > XC_MAX_CN_BYTES) return 0;
  memcpy(owner, op, olen);
  owner[olen] = '\0';
  origin = xc_home_of(owner);
  if (origin == NULL || xc_home_within(origin, p->puller)) return 0;
  rec = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, len, packed);
  if (rec == NULL || !xc__relevant(p->snap, kind, rec, p->puller)) goto done;
  c = malloc(sizeof *c);
  if (c == NULL) goto oom;
  xuncha__v1__change__init(c);
  c->record.data = malloc(len > 0 ? len : 1);
  if (c->record.data == NULL) goto oom;
  if (len > 0) memcpy(c->record.data, packed, len);
  c->record.len = len;
  if (xc_msg_set_str(&c->base, "kind", xc_kind_name(kind)) != XC_OK ||
      xc_msg_set_str(&c->base, "id", sn->last_id) != XC_OK ||
      xc_msg_set_str(&c->base, "op", "snapshot") != XC_OK ||
      xc_msg_set_str(&c->base, "etag", xc_msg_get_str(rec, "etag")) != XC_OK)
    goto oom;
  c->time_ms = xc_msg_get_int(rec, "update_time_ms");
  rc = xc__pull_keep(p, c, origin);
  c = NULL;
  goto done;
oom:
  (void)xc_err_set(&p->err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  p->failed = 1;
  rc = XC_ERESOURCE_EXHAUSTED;
done:
  xc_msg_free(c);
  xc_msg_free(rec);
  return rc;
}

/* Fills one snapshot page into p, from after `after` (NULL: the start);
 * sets *next to where the next page starts ("" when done). */
static int xc__snapshot_page(xc_snapshot *snap, xc__pull *p, const char *after,
                             char next[XC_ID_MAX], xc_err *err) {
  xc__snap sn;
  xc_kind start = (xc_kind)0;
  int rc = XC_OK;
  memset(&sn, 0, sizeof sn);
  sn.p = p;
  next[0] = '\0';
  if (after != NULL && after[0] != '\0') {
    start = xc_workflow_kind_of_id(after);
    if (start == XC_KIND_COUNT)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "snapshot_after is not a record id");
  }
  for (int k = (int)start; rc == XC_OK && k < XC_KIND_COUNT && !sn.full; k++) {
    if (!xc_kind_used((xc_kind)k)) continue;
    rc = xc_snapshot_walk_kind(snap, (xc_kind)k, k == (int)start ? after : NULL, xc__snap_visit,
                              &sn, err);
    if (p->failed) rc = xc_err_set(err, p->err.code, "%s", p->err.msg);
  }
  if (rc == XC_OK && sn.full) (void)xc_strlcpy(next, sn.last_id, XC_ID_MAX);
  return rc;
}

int xc_sync_collect_pull(xc_store *store, const Xuncha__V1__PullRequest *req,
                         Xuncha__V1__PullResponse **out, xc_err *err) {
  xc_snapshot *snap = NULL;
  Xuncha__V1__PullResponse *resp = NULL;
  xc__pull p;
  uint64_t first = 0, entries = 0, last;
  uint64_t after_seq = req->after_seq;
  uint32_t max = req->max_changes;
  char next[XC_ID_MAX];
  int snapshot = 0;
  int rc;
  *out = NULL;
  memset(&p, 0, sizeof p);
  next[0] = '\0';
  if (max == 0 || max > XC_SYNC_MAX_BATCH) max = max == 0 ? XC_SYNC_DEFAULT_BATCH : XC_SYNC_MAX_BATCH;
  p.puller = req->server;
  p.max = max;
  p.upto = after_seq;
  p.v = calloc(max, sizeof *p.v);
  resp = (Xuncha__V1__PullResponse *)xc_msg_new(&xuncha__v1__pull_response__descriptor);
  if (p.v == NULL || resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  rc = xc_snapshot_begin(store, &snap, err);
  if (rc == XC_OK) rc = xc_snapshot_log_info(snap, &first, &entries, err);
  if (rc != XC_OK) goto done;
  p.snap = snap;
  last = xc_snapshot_last_change(snap);
  if (after_seq > last) {
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "%s asks for changes after %llu, but this server's log ends at %llu: was "
                    "this server restored from an older backup?",
                    req->server, (unsigned long long)after_seq, (unsigned long long)last);
    goto done;
  }
  /* The log no longer reaches back to after_seq: send the records as they
   * are now, page by page, then go on from the log at the snapshot's seq. */
  snapshot = req->snapshot_seq != 0 ||
             (after_seq < last && (entries == 0 || after_seq + 1 < first));
  if (snapshot) {
    uint64_t seq = req->snapshot_seq != 0 ? req->snapshot_seq : last;
    if (seq > last) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "snapshot_seq %llu is past this log's end",
                      (unsigned long long)seq);
      goto done;
    }
    rc = xc__snapshot_page(snap, &p, req->snapshot_after, next, err);
    if (rc != XC_OK) goto done;
    resp->snapshot = 1;
    resp->snapshot_seq = seq;
    resp->upto_seq = next[0] == '\0' ? seq : after_seq;
    resp->last_seq = last;
    if (xc_msg_set_str(&resp->base, "snapshot_after", next) != XC_OK) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  } else {
    rc = xc_snapshot_changes(snap, after_seq, xc__pull_visit, &p, err);
    if (p.failed) rc = xc_err_set(err, p.err.code, "%s", p.err.msg);
    if (rc != XC_OK) goto done;
    /* Nothing examined: the reply covers the log up to where it ends. */
    resp->upto_seq = p.scanned == 0 ? last : p.upto;
    resp->last_seq = last;
  }
  resp->changes = p.v;
  resp->n_changes = p.n;
  p.v = NULL;
  p.n = 0;
  *out = resp;
  resp = NULL;
done:
  for (size_t i = 0; i < p.n; i++) xc_msg_free(&p.v[i]->base);
  free(p.v);
  xc_msg_free(resp);
  xc_snapshot_end(snap);
  return rc;
}

/* --------------------------------------------------------------- pruning */

typedef struct xc__prune_bound {
  xc_txn *txn;
  uint64_t bound;
  int rc;
  xc_err *err;
} xc__prune_bound;

static void xc__bound_child(void *arg, const char *name) {
  xc__prune_bound *b = arg;
  char vname[XC_SYNC_KEY_MAX + 1];
  uint64_t v = 0, when = 0;
  if (b->rc != XC_OK) return;
  if (xc__vname(vname, "peer/", name, "/pull_time") != 0) return;
  b->rc = xc_txn_sync_get(b->txn, vname, &when, b->err);
  /* A downstream that never pulled, or not for XC_SYNC_PEER_RETENTION_MS,
   * does not hold the log back: it catches up from a snapshot. */
  if (b->rc != XC_OK || when == 0 ||
      (int64_t)when < xc_txn_now_ms(b->txn) - XC_SYNC_PEER_RETENTION_MS)
    return;
  if (xc__vname(vname, "peer/", name, "/pulled") != 0) return;
  b->rc = xc_txn_sync_get(b->txn, vname, &v, b->err);
  if (b->rc == XC_OK && v < b->bound) b->bound = v;
}

/* Prunes inside txn: the bound is what every reader of the log holds. */
static int xc__prune_in(xc_txn *txn, xc_err *err) {
  xc__prune_bound b;
  size_t removed = 0;
  const char *up = xc_home_upstream();
  b.txn = txn;
  b.bound = UINT64_MAX;
  b.rc = XC_OK;
  b.err = err;
  if (!xc_home_enabled()) return XC_OK;
  if (up != NULL) {
    char vname[XC_SYNC_KEY_MAX + 1];
    uint64_t v = 0;
    if (xc__vname(vname, "push/", up, NULL) == 0) b.rc = xc_txn_sync_get(txn, vname, &v, err);
    if (b.rc == XC_OK && v < b.bound) b.bound = v;
  }
  xc_home_each_downstream(xc__bound_child, &b);
  if (b.rc != XC_OK) return b.rc;
  if (b.bound == UINT64_MAX || b.bound == 0) return XC_OK;
  return xc_txn_log_prune(txn, b.bound, XC_SYNC_PRUNE_STEP, &removed, err);
}

static int xc__prune_fn(xc_txn *txn, void *arg, xc_err *err) {
  (void)arg;
  return xc__prune_in(txn, err);
}

int xc_sync_prune(xc_store *store, xc_err *err) {
  return xc_store_write(store, xc__prune_fn, NULL, err);
}

typedef struct xc__note {
  const char *peer;
  uint64_t after;
} xc__note;

static int xc__note_fn(xc_txn *txn, void *arg, xc_err *err) {
  xc__note *a = arg;
  char vname[XC_SYNC_KEY_MAX + 1];
  int rc;
  if (xc__vname(vname, "peer/", a->peer, "/pulled") != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "server name too long");
  rc = xc_txn_sync_put(txn, vname, a->after, err);
  if (rc == XC_OK && xc__vname(vname, "peer/", a->peer, "/pull_time") == 0)
    rc = xc_txn_sync_put(txn, vname, (uint64_t)xc_txn_now_ms(txn), err);
  if (rc == XC_OK) rc = xc__prune_in(txn, err);
  return rc;
}

int xc_sync_note_pull(xc_store *store, const char *peer, uint64_t after_seq, xc_err *err) {
  xc__note a;
  a.peer = peer;
  a.after = after_seq;
  return xc_store_write(store, xc__note_fn, &a, err);
}

/* ---------------------------------------------------------------- digests */

/* Reads length-delimited field `field` of a packed message: sets *p and
 * *len and returns 1, or 0 when absent or the bytes are malformed. */
static int xc__wire_str(const uint8_t *buf, size_t n, unsigned field, const uint8_t **p,
                        size_t *len) {
  const uint8_t *q = buf, *end = buf + n;
  xc_wire_field f;
  while (xc_wire_next(&q, end, &f) == 1) {
    if (f.number == field && f.wire_type == XC_WIRE_LEN) {
      *p = f.value;
      *len = f.value_len;
      return 1;
    }
  }
  return 0;
}

/* One origin's running digest. */
typedef struct xc__odig {
  const char *origin;
  EVP_MD_CTX *md;
  uint64_t records;
} xc__odig;

typedef struct xc__dig {
  xc_snapshot *snap;
  const char *asker;
  xc__odig *o;
  size_t n_o;
  /* List mode. */
  const char *list_origin;
  Xuncha__V1__RecordDigest **recs;
  size_t n_recs;
  int page_full;
  int rc;
  xc_err err;
} xc__dig;

/* Returns 1 if the record (of origin `origin`) is one `asker` should hold. */
static int xc__asker_holds(xc_snapshot *snap, xc_kind kind, const char *origin,
                           const uint8_t *packed, size_t len, const char *asker) {
  ProtobufCMessage *rec;
  int keep;
  if (asker == NULL || xc_home_within(origin, asker)) return 1;
  rec = protobuf_c_message_unpack(xc_kind_descriptor(kind), NULL, len, packed);
  keep = rec != NULL && xc__relevant(snap, kind, rec, asker);
  xc_msg_free(rec);
  return keep;
}

static int xc__dig_visit(void *arg, xc_kind kind, const char *id, size_t id_len,
                         const uint8_t *packed, size_t len) {
  xc__dig *d = arg;
  const uint8_t *op = NULL;
  size_t olen = 0;
  char owner[XC_MAX_CN_BYTES + 1];
  const char *origin;
  uint8_t h[32];
  unsigned hl = 0;
  xc__odig *od = NULL;
  if (!xc__wire_str(packed, len, 3, &op, &olen) || olen > XC_MAX_CN_BYTES) return 0;
  memcpy(owner, op, olen);
  owner[olen] = '\0';
  origin = xc_home_of(owner);
  if (origin == NULL) return 0;
  if (d->list_origin != NULL) {
    if (strcmp(origin, d->list_origin) != 0) return 0;
  } else {
    for (size_t i = 0; i < d->n_o && od == NULL; i++)
      if (strcmp(d->o[i].origin, origin) == 0) od = &d->o[i];
    if (od == NULL) return 0;
  }
  if (!xc__asker_holds(d->snap, kind, origin, packed, len, d->asker)) return 0;
  if (EVP_Digest(packed, len, h, &hl, EVP_sha256(), NULL) != 1) {
    d->rc = xc_err_set(&d->err, XC_EINTERNAL, "SHA-256 failed");
    return d->rc;
  }
  if (od != NULL) {
    uint8_t kb = (uint8_t)kind;
    if (EVP_DigestUpdate(od->md, &kb, 1) != 1 || EVP_DigestUpdate(od->md, id, id_len) != 1 ||
        EVP_DigestUpdate(od->md, h, sizeof h) != 1) {
      d->rc = xc_err_set(&d->err, XC_EINTERNAL, "SHA-256 failed");
      return d->rc;
    }
    od->records++;
    return 0;
  }
  {
    Xuncha__V1__RecordDigest *r;
    if (d->n_recs == XC_SYNC_DIGEST_PAGE) {
      d->page_full = 1;
      return 1;
    }
    r = malloc(sizeof *r);
    if (r == NULL) goto oom;
    xuncha__v1__record_digest__init(r);
    d->recs[d->n_recs++] = r;
    r->id = strndup(id, id_len);
    r->hash.data = malloc(sizeof h);
    if (r->id == NULL || r->hash.data == NULL) goto oom;
    memcpy(r->hash.data, h, sizeof h);
    r->hash.len = sizeof h;
    return 0;
  }
oom:
  d->rc = xc_err_set(&d->err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  return d->rc;
}

int xc_sync_digest(xc_store *store, const char *asker, char *const *origins, size_t n_origins,
                   const char *list_origin, const char *after_id,
                   Xuncha__V1__DigestResponse **out, xc_err *err) {
  xc_snapshot *snap = NULL;
  Xuncha__V1__DigestResponse *resp = NULL;
  xc__dig d;
  xc_kind start_kind = (xc_kind)0;
  int rc;
  *out = NULL;
  memset(&d, 0, sizeof d);
  d.asker = asker;
  if (list_origin != NULL && list_origin[0] == '\0') list_origin = NULL;
  d.list_origin = list_origin;
  if (n_origins > XC_HOME_MAX_SERVERS) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "at most %d origins", XC_HOME_MAX_SERVERS);
    goto done;
  }
  resp = malloc(sizeof *resp);
  if (resp == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  xuncha__v1__digest_response__init(resp);
  if (list_origin != NULL) {
    d.recs = calloc(XC_SYNC_DIGEST_PAGE, sizeof *d.recs);
    if (d.recs == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    if (after_id != NULL && after_id[0] != '\0') {
      start_kind = xc_workflow_kind_of_id(after_id);
      if (start_kind == XC_KIND_COUNT) {
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "after_id is not a record id");
        goto done;
      }
    }
  } else {
    d.o = calloc(n_origins > 0 ? n_origins : 1, sizeof *d.o);
    if (d.o == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n_origins; i++) {
      d.o[i].origin = origins[i];
      d.o[i].md = EVP_MD_CTX_new();
      d.n_o++;
      if (d.o[i].md == NULL || EVP_DigestInit_ex(d.o[i].md, EVP_sha256(), NULL) != 1) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot start a digest");
        goto done;
      }
    }
  }
  rc = xc_snapshot_begin(store, &snap, err);
  d.snap = snap;
  for (int k = (int)start_kind; rc == XC_OK && k < XC_KIND_COUNT && !d.page_full; k++) {
    if (!xc_kind_used((xc_kind)k)) continue;
    rc = xc_snapshot_walk_kind(snap, (xc_kind)k, k == (int)start_kind ? after_id : NULL,
                              xc__dig_visit, &d, err);
    if (d.rc != XC_OK) rc = xc_err_set(err, d.rc, "%s", d.err.msg);
  }
  if (rc != XC_OK) goto done;
  if (list_origin != NULL) {
    resp->records = d.recs;
    resp->n_records = d.n_recs;
    d.recs = NULL;
    if (d.page_full && resp->n_records > 0) {
      resp->next_after_id = strdup(resp->records[resp->n_records - 1]->id);
      if (resp->next_after_id == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
    }
  } else {
    resp->origins = calloc(d.n_o > 0 ? d.n_o : 1, sizeof *resp->origins);
    if (resp->origins == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < d.n_o; i++) {
      Xuncha__V1__OriginDigest *o = malloc(sizeof *o);
      unsigned hl = 0;
      if (o == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
      xuncha__v1__origin_digest__init(o);
      resp->origins[resp->n_origins++] = o;
      o->origin = strdup(d.o[i].origin);
      o->records = d.o[i].records;
      o->digest.data = malloc(32);
      if (o->origin == NULL || o->digest.data == NULL ||
          EVP_DigestFinal_ex(d.o[i].md, o->digest.data, &hl) != 1) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "cannot finish a digest");
        goto done;
      }
      o->digest.len = hl;
    }
  }
  *out = resp;
  resp = NULL;
done:
  xc_snapshot_end(snap);
  for (size_t i = 0; i < d.n_o; i++) EVP_MD_CTX_free(d.o[i].md);
  free(d.o);
  if (d.recs != NULL) {
    for (size_t i = 0; i < d.n_recs; i++) xc_msg_free(&d.recs[i]->base);
    free(d.recs);
  }
  xc_msg_free(resp);
  return rc;
}
