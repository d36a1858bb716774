#include "xc_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_record.h"
#include "xc_text.h"
#include "xc_workflow.h"
#include "xc_archive.h"

/* ----------------------------------------------------------- helpers */

int xc_validate_id(xc_kind kind, const char *id, const char *field, int required, xc_err *err) {
  char q[96];
  if (id == NULL || *id == '\0') {
    if (!required) return XC_OK;
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is required", field);
  }
  if (!xc_id_valid(kind, id))
    return xc_err_set(
        err, XC_EINVALID_ARGUMENT, "%s '%s' is not a %s id (%c_ followed by 26 base-32 characters)",
        field, xc_record_quote(id, q, sizeof q), xc_kind_name(kind), xc_kind_id_prefix(kind));
  return XC_OK;
}

/* Refuses an empty or blank required string field. */
static int xc__required(const char *path, const char *field, const char *value, xc_err *err) {
  if (xc_record_blank(value))
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s is required", path, field);
  return XC_OK;
}

/* Refuses a required enum left at 0 (UNSPECIFIED). */
static int xc__enum_required(const char *path, const char *field, int value, xc_err *err) {
  if (value == 0) return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s is required", path, field);
  return XC_OK;
}

/* Accepts an empty date or a real calendar date YYYY-MM-DD. */
static int xc__date(const char *path, const char *field, const char *value, xc_err *err) {
  char q[96];
  if (value == NULL || *value == '\0' || xc_date_valid(value)) return XC_OK;
  return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s '%s' is not a date YYYY-MM-DD", path, field,
                    xc_record_quote(value, q, sizeof q));
}

/* Requires a well-formed region code in <path>.region_code. */
static int xc__region(const char *path, const char *value, xc_err *err) {
  char q[96];
  if (value == NULL || *value == '\0')
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.region_code is required", path);
  if (!xc_region_code_valid(value))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "%s.region_code '%s' is not a region code (2, 4, 6, 9 or 12 digits)", path,
                      xc_record_quote(value, q, sizeof q));
  return XC_OK;
}

/* Refuses an empty entry or the same entry twice in a repeated string. */
static int xc__distinct(const char *path, const char *field, char *const *v, size_t n,
                        xc_err *err) {
  for (size_t i = 0; i < n; i++) {
    char q[96];
    if (xc_record_blank(v[i]))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s[%zu] is empty", path, field, i);
    for (size_t k = 0; k < i; k++)
      if (strcmp(v[i], v[k]) == 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s.%s lists '%s' twice", path, field,
                          xc_record_quote(v[i], q, sizeof q));
  }
  return XC_OK;
}

/* Returns 1 if s is one of v[0..n). */
static int xc__contains(char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return 1;
  return 0;
}

/* The region code of any record kind. */
static const char *xc__region_of(xc_kind kind, const ProtobufCMessage *rec) {
  /* Read for every record a list looks at: the field is looked up by name
   * when the type changes on this thread, not each time. */
  static _Thread_local const ProtobufCMessageDescriptor *type;
  static _Thread_local const ProtobufCFieldDescriptor *field; /* NULL: none */
  const char *s;
  (void)kind;
  if (rec->descriptor != type) {
    field = xc_msg_single_field(rec->descriptor, "region_code", PROTOBUF_C_TYPE_STRING);
    type = rec->descriptor;
  }
  if (field == NULL) return NULL;
  s = *(char *const *)(const void *)((const char *)rec + field->offset);
  return s != NULL ? s : "";
}

int xc_validate_may_read(const xc_identity *who, xc_kind kind, const ProtobufCMessage *rec) {
  if (kind == XC_KIND_LEAD) {
    const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
    return xc_may_read_lead(who, l->owner, l->recipient);
  }
  /* A disposition is as sensitive as its lead. */
  if (kind == XC_KIND_DISPOSITION) {
    const Xuncha__V1__LeadDisposition *d = (const Xuncha__V1__LeadDisposition *)rec;
    return xc_may_read_lead(who, d->lead_owner, d->recipient);
  }
  /* The directory of offices and agencies is what every caller needs to
   * address leads and reports: it names units, not people. */
  if (kind == XC_KIND_DIRECTORY) return 1;
  /* A document follows the record it is attached to (server/ARCHIVE.md). */
  if (kind == XC_KIND_DOCUMENT) return xc_archive_may_read(who, (const Xuncha__V1__Document *)rec);
  return xc_may_read_region(who, xc__region_of(kind, rec));
}

int xc_validate_read_denied(const xc_identity *who, xc_kind kind, const ProtobufCMessage *rec,
                            xc_err *err) {
  if (kind == XC_KIND_LEAD || kind == XC_KIND_DISPOSITION ||
      (kind == XC_KIND_DOCUMENT && ((const Xuncha__V1__Document *)rec)->lead_owner[0] != '\0'))
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not read %s %s (region %s): leads are visible only to the "
                      "office that owns them, the offices above it and the agency they were "
                      "sent to",
                      who->cn, xc_kind_name(kind), xc_msg_get_str(rec, "id"),
                      xc__region_of(kind, rec));
  if (who->role == XC_ROLE_AGENCY)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not read %s %s: agencies read only the leads sent to them and the "
                      "finding a lead comes from",
                      who->cn, xc_kind_name(kind), xc_msg_get_str(rec, "id"));
  return xc_err_set(err, XC_EPERMISSION_DENIED, "%s may not read %s %s (region %s)", who->cn,
                    xc_kind_name(kind), xc_msg_get_str(rec, "id"), xc__region_of(kind, rec));
}

/*
 * Loads the record `id` of `kind` that field `field` of the record being
 * checked refers to; it must exist (XC_ENOT_FOUND) and be readable by who
 * (XC_EPERMISSION_DENIED).
 */
/* Releases a record xc__load_ref returned: lent ones stay the lookup's. */
static void xc__ref_free(const xc_lookup *lk, ProtobufCMessage *rec) {
  if (lk->borrow == NULL) xc_msg_free(rec);
}

static int xc__load_ref(const xc_lookup *lk, const xc_identity *who, xc_kind kind,
                        const char *id, const char *field, ProtobufCMessage **out, xc_err *err) {
  ProtobufCMessage *rec = NULL;
  int rc = lk->borrow != NULL ? lk->borrow(lk->ctx, kind, id, &rec, err)
                              : lk->get(lk->ctx, kind, id, &rec, err);
  *out = NULL;
  if (rc == XC_ENOT_FOUND) {
    rc = xc_err_set(err, XC_ENOT_FOUND, "%s %s named by %s does not exist", xc_kind_name(kind),
                    id, field);
    goto done;
  }
  if (rc != XC_OK) goto done;
  if (!xc_validate_may_read(who, kind, rec)) {
    rc = xc_validate_read_denied(who, kind, rec, err);
    goto done;
  }
  *out = rec;
  rec = NULL;
done:
  xc__ref_free(lk, rec);
  return rc;
}

/* Only offices create, and only inside their own region. */
static int xc__create_allowed(const xc_identity *who, xc_kind kind, const char *region,
                              xc_err *err) {
  if (who->role != XC_ROLE_OFFICE)
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not create records: only inspection offices (office:<region "
                      "code>) write",
                      who->cn);
  if (!xc_may_create_in(who, region))
    return xc_err_set(err, XC_EPERMISSION_DENIED,
                      "%s may not create a %s in region %s: offices create records only "
                      "inside their own region (%s)",
                      who->cn, xc_kind_name(kind), region, who->region);
  return XC_OK;
}

/*
 * Groups, findings and leads are the work of the round's office: only the
 * office that owns the round adds them to it. Writing is by ownership
 * (DOMAIN.md), and a county cannot slip its records into a city round.
 */
static int xc__round_owner_only(const xc_identity *who, xc_kind kind,
                                const Xuncha__V1__Round *round, xc_err *err) {
  if (xc_may_write_owned(who, round->owner)) return XC_OK;
  return xc_err_set(err, XC_EPERMISSION_DENIED,
                    "%s may not add a %s to round %s: only its owner, %s, adds records to it",
                    who->cn, xc_kind_name(kind), round->id, round->owner);
}

/* Sets a derived string field, reporting an allocation failure. */
static int xc__set_str(ProtobufCMessage *msg, const char *field, const char *value, xc_err *err) {
  int rc = xc_msg_set_str(msg, field, value);
  if (rc != XC_OK) return xc_err_set(err, rc, "cannot set %s", field);
  return XC_OK;
}

/* -------------------------------------------------------------- target */

static int xc__target(Xuncha__V1__Target *t, xc_validate_mode mode, const xc_identity *who,
                      xc_err *err) {
  int rc = xc__region("target", t->region_code, err);
  if (rc == XC_OK && mode == XC_VALIDATE_CREATE)
    rc = xc__create_allowed(who, XC_KIND_TARGET, t->region_code, err);
  if (rc == XC_OK) rc = xc__required("target", "name", t->name, err);
  if (rc == XC_OK) rc = xc__enum_required("target", "kind", (int)t->kind, err);
  return rc;
}

/* --------------------------------------------------------------- round */

static int xc__round_targets(Xuncha__V1__Round *r, const xc_lookup *lk, xc_err *err) {
  int rc = XC_OK;
  for (size_t i = 0; i < r->n_target_ids && rc == XC_OK; i++) {
    char field[64];
    ProtobufCMessage *t = NULL;
    (void)snprintf(field, sizeof field, "round.target_ids[%zu]", i);
    rc = xc_validate_id(XC_KIND_TARGET, r->target_ids[i], field, 1, err);
    for (size_t k = 0; rc == XC_OK && k < i; k++)
      if (strcmp(r->target_ids[i], r->target_ids[k]) == 0)
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "round.target_ids lists %s twice",
                        r->target_ids[i]);
    if (rc != XC_OK) break;
    rc = lk->get(lk->ctx, XC_KIND_TARGET, r->target_ids[i], &t, err);
    if (rc == XC_ENOT_FOUND) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s: target %s does not exist", field,
                      r->target_ids[i]);
    } else if (rc == XC_OK) {
      const char *tr = ((Xuncha__V1__Target *)t)->region_code;
      if (!xc_region_within(tr, r->region_code))
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "%s: target %s (region %s) lies outside the round's region %s", field,
                        r->target_ids[i], tr, r->region_code);
    }
    xc_msg_free(t);
  }
  return rc;
}

/* Checks a round; on create sets its stage and first stage date. */
static int xc__round(Xuncha__V1__Round *r, xc_validate_mode mode, const xc_identity *who,
                     const xc_lookup *lk, const char *today, xc_err *err) {
  int rc = xc__region("round", r->region_code, err);
  if (rc == XC_OK && mode == XC_VALIDATE_CREATE)
    rc = xc__create_allowed(who, XC_KIND_ROUND, r->region_code, err);
  if (rc == XC_OK && r->term < 1)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "round.term must be >= 1 (sent %d)", (int)r->term);
  if (rc == XC_OK && r->number < 1)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "round.number must be >= 1 (sent %d)",
                    (int)r->number);
  if (rc == XC_OK) rc = xc__enum_required("round", "kind", (int)r->kind, err);
  if (rc == XC_OK) rc = xc__required("round", "title", r->title, err);
  if (rc == XC_OK) rc = xc__date("round", "start_date", r->start_date, err);
  if (rc == XC_OK) rc = xc__date("round", "end_date", r->end_date, err);
  if (rc == XC_OK && r->start_date[0] != '\0' && r->end_date[0] != '\0' &&
      strcmp(r->end_date, r->start_date) < 0)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "round.end_date %s is before round.start_date %s",
                    r->end_date, r->start_date);
  if (rc == XC_OK) rc = xc__round_targets(r, lk, err);
  if (rc != XC_OK || mode != XC_VALIDATE_CREATE) return rc;

  /* A new round starts in preparation, dated today. */
  {
    Xuncha__V1__StageDate *sd = malloc(sizeof *sd);
    Xuncha__V1__StageDate **arr = malloc(sizeof *arr);
    char *date = malloc(11);
    if (sd == NULL || arr == NULL || date == NULL) {
      free(sd);
      free(arr);
      free(date);
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    }
    xuncha__v1__stage_date__init(sd);
    xc_strlcpy(date, today, 11);
    sd->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
    sd->date = date;
    arr[0] = sd;
    r->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
    r->n_stage_dates = 1;
    r->stage_dates = arr;
  }
  return XC_OK;
}

/* --------------------------------------------------------------- group */

static int xc__group(Xuncha__V1__Group *g, xc_validate_mode mode, const xc_identity *who,
                     const xc_lookup *lk, xc_err *err) {
  ProtobufCMessage *rm = NULL;
  const Xuncha__V1__Round *round;
  int rc = xc_validate_id(XC_KIND_ROUND, g->round_id, "group.round_id", 1, err);
  if (rc != XC_OK) goto done;
  rc = xc__load_ref(lk, who, XC_KIND_ROUND, g->round_id, "group.round_id", &rm, err);
  if (rc != XC_OK) goto done;
  round = (const Xuncha__V1__Round *)rm;
  if (mode == XC_VALIDATE_CREATE) {
    rc = xc__create_allowed(who, XC_KIND_GROUP, round->region_code, err);
    if (rc == XC_OK) rc = xc__round_owner_only(who, XC_KIND_GROUP, round, err);
    if (rc != XC_OK) goto done;
  }
  rc = xc__required("group", "name", g->name, err);
  if (rc == XC_OK) rc = xc__distinct("group", "members", g->members, g->n_members, err);
  for (size_t i = 0; rc == XC_OK && i < g->n_target_ids; i++) {
    char field[64];
    (void)snprintf(field, sizeof field, "group.target_ids[%zu]", i);
    rc = xc_validate_id(XC_KIND_TARGET, g->target_ids[i], field, 1, err);
    for (size_t k = 0; rc == XC_OK && k < i; k++)
      if (strcmp(g->target_ids[i], g->target_ids[k]) == 0)
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "group.target_ids lists %s twice",
                        g->target_ids[i]);
    if (rc == XC_OK && !xc__contains(round->target_ids, round->n_target_ids, g->target_ids[i]))
      rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "%s: target %s is not one of round %s's targets; add it to the round "
                      "first",
                      field, g->target_ids[i], round->id);
  }
  for (size_t i = 0; rc == XC_OK && i < g->n_recusals; i++) {
    const Xuncha__V1__Recusal *r = g->recusals[i];
    char q[96];
    if (xc_record_blank(r->member))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "group.recusals[%zu].member is required", i);
    else if (strcmp(r->member, g->leader) != 0 &&
             !xc__contains(g->members, g->n_members, r->member) &&
             !xc_pool_group_has(g, r->member))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "group.recusals[%zu].member '%s' is neither the group's leader nor one "
                      "of its members",
                      i, xc_record_quote(r->member, q, sizeof q));
    else if (r->target_id[0] == '\0')
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "group.recusals[%zu].target_id is required", i);
    else if (!xc__contains(g->target_ids, g->n_target_ids, r->target_id))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "group.recusals[%zu].target_id '%s' is not one of the group's targets", i,
                      xc_record_quote(r->target_id, q, sizeof q));
  }
  /* A member recused (回避) from a target is never assigned to it. */
  for (size_t i = 0; rc == XC_OK && i < g->n_assignments; i++) {
    const Xuncha__V1__Assignment *as = g->assignments[i];
    char q[96];
    if (xc_record_blank(as->member) || as->target_id[0] == '\0')
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "group.assignments[%zu] needs a member and a target_id", i);
    else if (strcmp(as->member, g->leader) != 0 &&
             !xc__contains(g->members, g->n_members, as->member) &&
             !xc_pool_group_has(g, as->member))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "group.assignments[%zu].member '%s' is neither the group's leader nor one "
                      "of its members",
                      i, xc_record_quote(as->member, q, sizeof q));
    else if (!xc__contains(g->target_ids, g->n_target_ids, as->target_id))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "group.assignments[%zu].target_id '%s' is not one of the group's targets", i,
                      xc_record_quote(as->target_id, q, sizeof q));
    for (size_t k = 0; rc == XC_OK && k < g->n_recusals; k++)
      if (strcmp(g->recusals[k]->member, as->member) == 0 &&
          strcmp(g->recusals[k]->target_id, as->target_id) == 0)
        rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                        "group.assignments[%zu]: %s has recused (回避) from target %s and cannot "
                        "be assigned to it",
                        i, xc_record_quote(as->member, q, sizeof q), as->target_id);
  }
  if (rc == XC_OK && mode == XC_VALIDATE_CREATE)
    rc = xc__set_str(&g->base, "region_code", round->region_code, err);
done:
  xc__ref_free(lk, rm);
  return rc;
}

/* ------------------------------------------- finding and lead references */

/*
 * Loads and checks the round and target a finding or lead refers to. On
 * create the target must be one of the round's targets, and the caller must
 * be allowed to create in the target's region.
 */
static int xc__round_and_target(const char *path, xc_kind kind, const char *round_id,
                                const char *target_id, xc_validate_mode mode,
                                const xc_identity *who, const xc_lookup *lk,
                                ProtobufCMessage **round_out, ProtobufCMessage **target_out,
                                xc_err *err) {
  char field_r[64], field_t[64];
  const Xuncha__V1__Round *r;
  const Xuncha__V1__Target *t;
  int rc;
  /* "<path>.round_id" and "<path>.target_id" without printf: path is a
   * record kind's name, far shorter than the buffers. */
  {
    size_t n = strlen(path);
    if (n > sizeof field_r - sizeof ".target_id") n = sizeof field_r - sizeof ".target_id";
    memcpy(field_r, path, n);
    memcpy(field_r + n, ".round_id", sizeof ".round_id");
    memcpy(field_t, path, n);
    memcpy(field_t + n, ".target_id", sizeof ".target_id");
  }
  rc = xc_validate_id(XC_KIND_ROUND, round_id, field_r, 1, err);
  if (rc == XC_OK) rc = xc_validate_id(XC_KIND_TARGET, target_id, field_t, 1, err);
  if (rc == XC_OK) rc = xc__load_ref(lk, who, XC_KIND_ROUND, round_id, field_r, round_out, err);
  if (rc == XC_OK) rc = xc__load_ref(lk, who, XC_KIND_TARGET, target_id, field_t, target_out, err);
  if (rc != XC_OK || mode != XC_VALIDATE_CREATE) return rc;
  r = (const Xuncha__V1__Round *)*round_out;
  t = (const Xuncha__V1__Target *)*target_out;
  rc = xc__create_allowed(who, kind, t->region_code, err);
  if (rc == XC_OK) rc = xc__round_owner_only(who, kind, r, err);
  if (rc == XC_OK && !xc__contains(r->target_ids, r->n_target_ids, target_id))
    rc = xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "target %s is not one of round %s's targets; add it to the round first",
                    target_id, round_id);
  return rc;
}

/* ------------------------------------------------------------- finding */

static int xc__finding(Xuncha__V1__Finding *f, xc_validate_mode mode, const xc_identity *who,
                       const xc_lookup *lk, xc_err *err) {
  ProtobufCMessage *rm = NULL, *tm = NULL;
  int rc = xc__round_and_target("finding", XC_KIND_FINDING, f->round_id, f->target_id, mode, who,
                                lk, &rm, &tm, err);
  if (rc == XC_OK) rc = xc__required("finding", "title", f->title, err);
  if (rc == XC_OK) rc = xc__enum_required("finding", "area", (int)f->area, err);
  if (rc == XC_OK) rc = xc__distinct("finding", "tags", f->tags, f->n_tags, err);
  for (size_t i = 0; rc == XC_OK && i < f->n_evidence; i++)
    if (xc_record_blank(f->evidence[i]))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "finding.evidence[%zu] is empty", i);
  if (rc == XC_OK) rc = xc__date("finding", "found_date", f->found_date, err);
  if (rc == XC_OK && f->rectification != NULL)
    rc = xc__date("finding.rectification", "deadline", f->rectification->deadline, err);
  if (rc != XC_OK || mode != XC_VALIDATE_CREATE) goto done;

  rc = xc__set_str(&f->base, "region_code", ((Xuncha__V1__Target *)tm)->region_code, err);
  if (rc != XC_OK) goto done;
  if (f->rectification == NULL) {
    f->rectification = malloc(sizeof *f->rectification);
    if (f->rectification == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    xuncha__v1__rectification__init(f->rectification);
  }
  f->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
done:
  xc__ref_free(lk, rm);
  xc__ref_free(lk, tm);
  return rc;
}

/* ---------------------------------------------------------------- lead */

static int xc__lead(Xuncha__V1__Lead *l, xc_validate_mode mode, const xc_identity *who,
                    const xc_lookup *lk, xc_err *err) {
  ProtobufCMessage *rm = NULL, *tm = NULL, *fm = NULL;
  xc_identity agency;
  xc_err perr;
  char q[96];
  int rc = xc__round_and_target("lead", XC_KIND_LEAD, l->round_id, l->target_id, mode, who, lk, &rm,
                                &tm, err);
  if (rc != XC_OK) goto done;
  rc = xc_validate_id(XC_KIND_FINDING, l->finding_id, "lead.finding_id", 0, err);
  if (rc == XC_OK && l->finding_id[0] != '\0') {
    rc = xc__load_ref(lk, who, XC_KIND_FINDING, l->finding_id, "lead.finding_id", &fm, err);
    if (rc == XC_OK) {
      const Xuncha__V1__Finding *f = (const Xuncha__V1__Finding *)fm;
      if (strcmp(f->round_id, l->round_id) != 0 || strcmp(f->target_id, l->target_id) != 0)
        rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "lead.finding_id %s is a finding of round %s at target %s, not of the "
                        "lead's round %s and target %s",
                        f->id, f->round_id, f->target_id, l->round_id, l->target_id);
    }
  }
  if (rc == XC_OK) rc = xc__enum_required("lead", "category", (int)l->category, err);
  if (rc == XC_OK && l->recipient[0] == '\0')
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "lead.recipient is required: the receiving agency, "
                    "agency:<region code>:<unit> (e.g. agency:3101:jw)");
  if (rc == XC_OK && (xc_identity_parse(l->recipient, "", &agency, &perr) != XC_OK ||
                      agency.role != XC_ROLE_AGENCY))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "lead.recipient '%s' is not an agency identity "
                    "agency:<region code>:<unit> (e.g. agency:3101:jw)",
                    xc_record_quote(l->recipient, q, sizeof q));
  if (rc == XC_OK) rc = xc__required("lead", "summary", l->summary, err);
  for (size_t i = 0; rc == XC_OK && i < l->n_persons; i++)
    if (xc_record_blank(l->persons[i]->name))
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "lead.persons[%zu].name is required", i);
  if (rc == XC_OK) rc = xc__date("lead", "transfer_date", l->transfer_date, err);
  if (rc != XC_OK || mode != XC_VALIDATE_CREATE) goto done;

  rc = xc__set_str(&l->base, "region_code", ((Xuncha__V1__Target *)tm)->region_code, err);
  l->disposal = XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING;
done:
  xc__ref_free(lk, rm);
  xc__ref_free(lk, tm);
  xc__ref_free(lk, fm);
  return rc;
}

/* ---------------------------------------------------------------- entry */

int xc_validate_record(xc_kind kind, ProtobufCMessage *rec, xc_validate_mode mode,
                       const xc_identity *who, const xc_lookup *lookup, const char *today,
                       xc_err *err) {
  int rc;
  if (mode == XC_VALIDATE_CREATE && who->role != XC_ROLE_OFFICE)
    return xc__create_allowed(who, kind, "", err);
  rc = xc_record_check_strings(kind, rec, err);
  if (rc == XC_OK) rc = xc_record_check_enums(rec, xc_kind_name(kind), err);
  if (rc != XC_OK) return rc;
  switch (kind) {
    case XC_KIND_TARGET:
      return xc__target((Xuncha__V1__Target *)rec, mode, who, err);
    case XC_KIND_ROUND:
      return xc__round((Xuncha__V1__Round *)rec, mode, who, lookup, today, err);
    case XC_KIND_GROUP:
      rc = xc__group((Xuncha__V1__Group *)rec, mode, who, lookup, err);
      /* Pool inspectors: conflicts of interest (server/ARCHIVE.md). */
      if (rc == XC_OK)
        rc = xc_pool_check_group((const Xuncha__V1__Group *)rec, who, lookup, today, err);
      return rc;
    case XC_KIND_FINDING:
      return xc__finding((Xuncha__V1__Finding *)rec, mode, who, lookup, err);
    case XC_KIND_LEAD:
      return xc__lead((Xuncha__V1__Lead *)rec, mode, who, lookup, err);
    case XC_KIND_DIRECTORY:
      return xc_workflow_validate_directory((Xuncha__V1__DirectoryEntry *)rec,
                                            mode == XC_VALIDATE_CREATE, who, err);
    case XC_KIND_DOCUMENT:
      return xc_archive_validate((Xuncha__V1__Document *)rec, mode, who, lookup, err);
    case XC_KIND_INSPECTOR:
      return xc_pool_validate((Xuncha__V1__Inspector *)rec, mode, who, lookup, err);
    default:
      return xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
  }
}
