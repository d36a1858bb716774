#include "xc_list.h"

#include <stdio.h>
#include <string.h>

#include "xc_record.h"
#include "xc_text.h"
#include "xc_msg.h"
#include "xc_validate.h"
#include "xc_wf.h"
#include "xc_workflow.h"

void xc_list_filter_init(xc_list_filter *f) {
  memset(f, 0, sizeof *f);
  f->region_prefix = "";
  f->round_id = "";
  f->target_id = "";
  f->recipient = "";
  f->contains = "";
  f->parent_id = "";
}

/* The enum each integer filter of a kind uses, or NULL if the kind has none. */
static const ProtobufCEnumDescriptor *xc__status_enum(xc_kind kind, const char **name) {
  switch (kind) {
    case XC_KIND_ROUND:
      *name = "stage";
      return &xuncha__v1__round_stage__descriptor;
    case XC_KIND_FINDING:
      *name = "status";
      return &xuncha__v1__rectification_status__descriptor;
    case XC_KIND_LEAD:
      *name = "disposal";
      return &xuncha__v1__lead_disposal__descriptor;
    case XC_KIND_DISPOSITION:
      *name = "disposal";
      return &xuncha__v1__lead_disposal__descriptor;
    case XC_KIND_DOCUMENT:
      *name = "stage";
      return &xuncha__v1__archive_stage__descriptor;
    default:
      *name = "status";
      return NULL;
  }
}

/* The enum of the `kind` filter of a list of `kind`, or NULL if it has none. */
static const ProtobufCEnumDescriptor *xc__kind_enum(xc_kind kind) {
  if (kind == XC_KIND_TARGET) return &xuncha__v1__target_kind__descriptor;
  if (kind == XC_KIND_ROUND) return &xuncha__v1__round_kind__descriptor;
  if (kind == XC_KIND_DIRECTORY) return &xuncha__v1__directory_kind__descriptor;
  return NULL;
}

/* Checks an enum filter: 0 (any) or a value of ed. A set filter the list
 * does not have (ed NULL) is refused too. */
static int xc__check_enum(const ProtobufCEnumDescriptor *ed, const char *field, int32_t v,
                          xc_err *err) {
  if (v == 0) return XC_OK;
  if (ed == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is not a filter of this list", field);
  if (protobuf_c_enum_descriptor_get_value(ed, v) == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s %d is not a known %s", field, (int)v,
                      ed->short_name);
  return XC_OK;
}

int xc_list_filter_check(xc_kind kind, const xc_list_filter *f, int32_t page_size, xc_err *err) {
  const char *status_name = NULL;
  const ProtobufCEnumDescriptor *status_enum = xc__status_enum(kind, &status_name);
  const char *contains_name = kind == XC_KIND_ROUND       ? "title_contains"
                              : kind == XC_KIND_INSPECTOR ? "specialty"
                                                          : "name_contains";
  char q[96];
  int rc = XC_OK;

  if (page_size < 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "page_size must be >= 0 (sent %d; 0 gives the default of %d)", (int)page_size,
                      XC_DEFAULT_PAGE_SIZE);
  if (f->region_prefix[0] != '\0' && !xc_all_digits(f->region_prefix, XC_REGION_MAX_DIGITS))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "region_prefix '%s' must be empty or up to %d digits",
                      xc_record_quote(f->region_prefix, q, sizeof q), XC_REGION_MAX_DIGITS);
  rc = xc_validate_id(XC_KIND_ROUND, f->round_id, "round_id", 0, err);
  if (rc == XC_OK) rc = xc_validate_id(XC_KIND_TARGET, f->target_id, "target_id", 0, err);
  if (rc != XC_OK) return rc;
  if (f->recipient[0] != '\0') {
    xc_identity agency;
    xc_err perr;
    if (xc_identity_parse(f->recipient, "", &agency, &perr) != XC_OK ||
        agency.role != XC_ROLE_AGENCY)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "recipient '%s' is not an agency identity agency:<region code>:<unit>",
                        xc_record_quote(f->recipient, q, sizeof q));
  }
  {
    size_t n = strnlen(f->contains, XC_MAX_NAME_BYTES + 1);
    if (n > XC_MAX_NAME_BYTES)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is longer than %d bytes", contains_name,
                        XC_MAX_NAME_BYTES);
    if (!xc_utf8_valid(f->contains, n))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is not valid UTF-8", contains_name);
  }
  rc = xc__check_enum(status_enum, status_name, f->status, err);
  if (rc == XC_OK) rc = xc__check_enum(xc__kind_enum(kind), "kind", f->kind, err);
  if (rc == XC_OK)
    rc = xc__check_enum(kind == XC_KIND_FINDING ? &xuncha__v1__finding_area__descriptor : NULL,
                        "area", f->area, err);
  if (rc == XC_OK && f->term < 0)
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "term must be >= 0 (sent %d; 0: any term)",
                    (int)f->term);
  if (rc == XC_OK && (f->due_within_days < 0 || f->due_within_days > 3660))
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "due_within_days must be 0 (no filter) to 3660 (sent %d)",
                    (int)f->due_within_days);
  if (rc == XC_OK && kind == XC_KIND_DOCUMENT && f->parent_id[0] != '\0') {
    xc_kind pk = xc_workflow_kind_of_id(f->parent_id);
    if (pk != XC_KIND_ROUND && pk != XC_KIND_FINDING && pk != XC_KIND_PROGRESS &&
        pk != XC_KIND_LEAD)
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "attached_id '%s' is not the id of a round, finding, rectification entry "
                      "or lead",
                      xc_record_quote(f->parent_id, q, sizeof q));
  }
  if (rc == XC_OK && (kind == XC_KIND_PROGRESS || kind == XC_KIND_VERIFICATION ||
                      kind == XC_KIND_DISPOSITION)) {
    xc_kind parent = kind == XC_KIND_DISPOSITION ? XC_KIND_LEAD : XC_KIND_FINDING;
    rc = xc_validate_id(parent, f->parent_id, parent == XC_KIND_LEAD ? "lead_id" : "finding_id", 1,
                        err);
  }
  return rc;
}

size_t xc_list_page_size(int32_t page_size) {
  if (page_size <= 0) return XC_DEFAULT_PAGE_SIZE;
  if (page_size > XC_MAX_PAGE_SIZE) return XC_MAX_PAGE_SIZE;
  return (size_t)page_size;
}

size_t xc_list_filter_canon(const xc_list_filter *f, char *out, size_t out_size) {
  /* Each string is length-prefixed so no two filter sets share a form. */
  int n = snprintf(
      out, out_size,
      "v1;rp=%zu:%s;ro=%zu:%s;ta=%zu:%s;re=%zu:%s;co=%zu:%s;st=%d;ki=%d;ar=%d;te=%d;pa=%zu:%s;"
      "iv=%d;fl=%d%d%d%d%d;du=%d",
      strlen(f->region_prefix), f->region_prefix, strlen(f->round_id), f->round_id,
      strlen(f->target_id), f->target_id, strlen(f->recipient), f->recipient, strlen(f->contains),
      f->contains, (int)f->status, (int)f->kind, (int)f->area, (int)f->term, strlen(f->parent_id),
      f->parent_id, f->include_void != 0, f->overdue != 0, f->paper_only != 0, f->stalled != 0,
      f->reopened != 0, f->report_overdue != 0, (int)f->due_within_days);
  if (n < 0 || (size_t)n >= out_size) return 0;
  return (size_t)n;
}

/* Returns 1 if records of the kind name a round (and so have a ROUND index). */
static int xc__has_round(xc_kind kind) {
  return kind == XC_KIND_GROUP || kind == XC_KIND_FINDING || kind == XC_KIND_LEAD ||
         kind == XC_KIND_DOCUMENT;
}

/* Fills a non-empty plan. */
static void xc__plan(xc_list_plan *out, xc_index index, const char *key) {
  out->empty = 0;
  out->index = index;
  xc_strlcpy(out->key, key, sizeof out->key);
}

void xc_list_plan_make(xc_kind kind, const xc_identity *who, const xc_list_filter *f,
                       xc_list_plan *out) {
  memset(out, 0, sizeof *out);
  if (who->role == XC_ROLE_AUDITOR) {
    /* Auditors read the audit log and no records (xc_identity.h). */
    out->empty = 1;
  } else if (kind == XC_KIND_PROGRESS || kind == XC_KIND_VERIFICATION || kind == XC_KIND_DISPOSITION) {
    /* Always listed under their parent (the filter check requires it). */
    xc__plan(out, XC_INDEX_PARENT, f->parent_id);
  } else if (kind == XC_KIND_DOCUMENT && f->parent_id[0] != '\0') {
    /* By the record they are attached to; agencies too, for their leads. */
    xc__plan(out, XC_INDEX_PARENT, f->parent_id);
  } else if (who->role == XC_ROLE_AGENCY && kind != XC_KIND_LEAD &&
             kind != XC_KIND_DIRECTORY) {
    /* Agencies list only leads (and the directory): the one finding a lead
     * comes from is read with GetFinding. */
    out->empty = 1;
  } else if (kind == XC_KIND_DIRECTORY) {
    xc__plan(out, f->region_prefix[0] != '\0' ? XC_INDEX_REGION : XC_INDEX_ALL, f->region_prefix);
  } else if (xc__has_round(kind) && f->round_id[0] != '\0') {
    xc__plan(out, XC_INDEX_ROUND, f->round_id);
  } else if (kind != XC_KIND_TARGET && f->target_id[0] != '\0') {
    xc__plan(out, XC_INDEX_TARGET, f->target_id);
  } else if (kind == XC_KIND_LEAD) {
    if (who->role == XC_ROLE_AGENCY) {
      if (f->recipient[0] != '\0' && strcmp(f->recipient, who->cn) != 0)
        out->empty = 1;
      else
        xc__plan(out, XC_INDEX_RECIPIENT, who->cn);
    } else if (who->role == XC_ROLE_OFFICE) {
      if (f->recipient[0] != '\0')
        xc__plan(out, XC_INDEX_RECIPIENT, f->recipient);
      else
        xc__plan(out, XC_INDEX_OWNER, who->region);
    } else {
      out->empty = 1;
    }
  } else if (f->status != 0 && (kind == XC_KIND_ROUND || kind == XC_KIND_FINDING)) {
    char key[16];
    (void)snprintf(key, sizeof key, "%d", (int)f->status);
    xc__plan(out, XC_INDEX_STATUS, key);
  } else if (xc_region_within(f->region_prefix, who->region)) {
    xc__plan(out, XC_INDEX_REGION, f->region_prefix);
  } else if (xc_region_within(who->region, f->region_prefix)) {
    xc__plan(out, XC_INDEX_REGION, who->region);
  } else {
    out->empty = 1;
  }
  if (out->empty) {
    out->index = XC_INDEX_ALL;
    out->key[0] = '\0';
  }
}

/* Returns 1 if s is one of v[0..n). */
static int xc__has(char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return 1;
  return 0;
}

int xc_list_match(xc_kind kind, const xc_identity *who, const xc_list_filter *f,
                  const ProtobufCMessage *rec) {
  if (rec == NULL || rec->descriptor != xc_kind_descriptor(kind)) return 0;
  if (!xc_validate_may_read(who, kind, rec)) return 0;
  if (!f->include_void && xc_workflow_voided(rec)) return 0;
  switch (kind) {
    case XC_KIND_TARGET: {
      const Xuncha__V1__Target *t = (const Xuncha__V1__Target *)rec;
      return xc_region_within(t->region_code, f->region_prefix) &&
             (f->kind == 0 || (int32_t)t->kind == f->kind) &&
             (f->contains[0] == '\0' || strstr(t->name, f->contains) != NULL);
    }
    case XC_KIND_ROUND: {
      const Xuncha__V1__Round *r = (const Xuncha__V1__Round *)rec;
      return xc_region_within(r->region_code, f->region_prefix) &&
             (f->term == 0 || r->term == f->term) &&
             (f->kind == 0 || (int32_t)r->kind == f->kind) &&
             (f->status == 0 || (int32_t)r->stage == f->status) &&
             (f->target_id[0] == '\0' || xc__has(r->target_ids, r->n_target_ids, f->target_id)) &&
             (f->contains[0] == '\0' || strstr(r->title, f->contains) != NULL);
    }
    case XC_KIND_GROUP: {
      const Xuncha__V1__Group *g = (const Xuncha__V1__Group *)rec;
      return xc_region_within(g->region_code, f->region_prefix) &&
             (f->round_id[0] == '\0' || strcmp(g->round_id, f->round_id) == 0) &&
             (f->target_id[0] == '\0' || xc__has(g->target_ids, g->n_target_ids, f->target_id));
    }
    case XC_KIND_FINDING: {
      const Xuncha__V1__Finding *x = (const Xuncha__V1__Finding *)rec;
      int32_t st = x->rectification ? (int32_t)x->rectification->status : 0;
      const Xuncha__V1__FindingFlags *fl = x->flags;
      int due_ok = 1;
      if (f->due_within_days > 0)
        due_ok = fl != NULL && x->rectification != NULL && x->rectification->deadline[0] != '\0' &&
                 !xc_wf_rect_completed(st) && fl->days_to_deadline >= 0 &&
                 fl->days_to_deadline <= f->due_within_days;
      if ((f->overdue || f->paper_only || f->stalled || f->reopened) && fl == NULL) return 0;
      return xc_region_within(x->region_code, f->region_prefix) &&
             (f->round_id[0] == '\0' || strcmp(x->round_id, f->round_id) == 0) &&
             (f->target_id[0] == '\0' || strcmp(x->target_id, f->target_id) == 0) &&
             (f->status == 0 || st == f->status) && (f->area == 0 || (int32_t)x->area == f->area) &&
             (!f->overdue || fl->overdue) && (!f->paper_only || fl->paper_only) &&
             (!f->stalled || fl->stalled) && (!f->reopened || fl->reopened) && due_ok;
    }
    case XC_KIND_LEAD: {
      const Xuncha__V1__Lead *l = (const Xuncha__V1__Lead *)rec;
      return xc_region_within(l->region_code, f->region_prefix) &&
             (f->round_id[0] == '\0' || strcmp(l->round_id, f->round_id) == 0) &&
             (f->target_id[0] == '\0' || strcmp(l->target_id, f->target_id) == 0) &&
             (f->status == 0 || (int32_t)l->disposal == f->status) &&
             (f->recipient[0] == '\0' || strcmp(l->recipient, f->recipient) == 0) &&
             (!f->report_overdue || l->report_overdue);
    }
    case XC_KIND_DIRECTORY: {
      const Xuncha__V1__DirectoryEntry *d = (const Xuncha__V1__DirectoryEntry *)rec;
      return xc_region_within(d->region_code, f->region_prefix) &&
             (f->kind == 0 || (int32_t)d->kind == f->kind) &&
             (f->contains[0] == '\0' || strstr(d->name, f->contains) != NULL);
    }
    case XC_KIND_PROGRESS:
    case XC_KIND_VERIFICATION:
      return strcmp(xc_msg_get_str(rec, "finding_id"), f->parent_id) == 0;
    case XC_KIND_DISPOSITION:
      return strcmp(((const Xuncha__V1__LeadDisposition *)rec)->lead_id, f->parent_id) == 0;
    case XC_KIND_DOCUMENT: {
      const Xuncha__V1__Document *d = (const Xuncha__V1__Document *)rec;
      return xc_region_within(d->region_code, f->region_prefix) &&
             (f->round_id[0] == '\0' || strcmp(d->round_id, f->round_id) == 0) &&
             (f->parent_id[0] == '\0' || strcmp(d->attached_id, f->parent_id) == 0) &&
             (f->status == 0 || (int32_t)d->stage == f->status);
    }
    case XC_KIND_INSPECTOR: {
      const Xuncha__V1__Inspector *in = (const Xuncha__V1__Inspector *)rec;
      return xc_region_within(in->region_code, f->region_prefix) &&
             (f->contains[0] == '\0' ||
              xc__has(in->specialties, in->n_specialties, f->contains));
    }
    default:
      return 0;
  }
}

size_t xc_list_check_fields(xc_kind kind, const char *const **names) {
  /* Every kind: the id, the region the access rule reads, voided. */
#define XC__BASE "id", "region_code", "voided"
  static const char *const target[] = {XC__BASE, "kind", "name"};
  static const char *const round[] = {XC__BASE, "term", "kind", "stage", "target_ids", "title"};
  static const char *const group[] = {XC__BASE, "round_id", "target_ids"};
  /* Findings: the flags read the rectification, the track and the creation
   * time (xc_wf_finding_flags). */
  static const char *const finding[] = {XC__BASE,        "create_time_ms", "rectification",
                                        "track",         "round_id",       "target_id",
                                        "area"};
  /* Leads: the access rule reads owner and recipient; the report due date
   * the transfer date, creation time and disposal. */
  static const char *const lead[] = {XC__BASE,         "owner",          "recipient",
                                     "transfer_date",  "create_time_ms", "disposal",
                                     "round_id",       "target_id"};
  static const char *const directory[] = {XC__BASE, "kind", "name"};
  static const char *const progress[] = {XC__BASE, "finding_id"};
  static const char *const disposition[] = {XC__BASE, "lead_owner", "recipient", "lead_id"};
  /* Documents follow the record they are attached to (xc_archive_may_read). */
  static const char *const document[] = {XC__BASE,  "lead_owner", "recipient", "round_id",
                                         "attached_id", "stage"};
  static const char *const inspector[] = {XC__BASE, "specialties"};
#undef XC__BASE
#define XC__KIND(a) {a, sizeof(a) / sizeof((a)[0])}
  static const struct {
    const char *const *names;
    size_t n;
  } by_kind[XC_KIND_COUNT] = {
      [XC_KIND_TARGET] = XC__KIND(target),
      [XC_KIND_ROUND] = XC__KIND(round),
      [XC_KIND_GROUP] = XC__KIND(group),
      [XC_KIND_FINDING] = XC__KIND(finding),
      [XC_KIND_LEAD] = XC__KIND(lead),
      [XC_KIND_DIRECTORY] = XC__KIND(directory),
      [XC_KIND_PROGRESS] = XC__KIND(progress),
      [XC_KIND_VERIFICATION] = XC__KIND(progress),
      [XC_KIND_DISPOSITION] = XC__KIND(disposition),
      [XC_KIND_DOCUMENT] = XC__KIND(document),
      [XC_KIND_INSPECTOR] = XC__KIND(inspector),
  };
#undef XC__KIND
  /* A kind a List does not serve has no entry: NULL and 0. */
  if ((unsigned)kind >= XC_KIND_COUNT) {
    *names = NULL;
    return 0;
  }
  *names = by_kind[kind].names;
  return by_kind[kind].n;
}
