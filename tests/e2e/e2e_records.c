/* Kind-generic calls and fixtures over libxuncha (see e2e_records.h). */
#include "e2e_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"

static const e2e_kind_info e2e__kinds[E2E_KIND_COUNT] = {
    {"target", "Target", "Targets", "targets", "Targets", &xuncha__v1__target__descriptor,
     &xuncha__v1__create_target_request__descriptor,
     &xuncha__v1__get_target_request__descriptor,
     &xuncha__v1__list_targets_request__descriptor,
     &xuncha__v1__list_targets_response__descriptor,
     &xuncha__v1__update_target_request__descriptor},
    {"round", "Round", "Rounds", "rounds", "Rounds", &xuncha__v1__round__descriptor,
     &xuncha__v1__create_round_request__descriptor, &xuncha__v1__get_round_request__descriptor,
     &xuncha__v1__list_rounds_request__descriptor,
     &xuncha__v1__list_rounds_response__descriptor,
     &xuncha__v1__update_round_request__descriptor},
    {"group", "Group", "Rounds", "groups", "Groups", &xuncha__v1__group__descriptor,
     &xuncha__v1__create_group_request__descriptor, &xuncha__v1__get_group_request__descriptor,
     &xuncha__v1__list_groups_request__descriptor,
     &xuncha__v1__list_groups_response__descriptor,
     &xuncha__v1__update_group_request__descriptor},
    {"finding", "Finding", "Findings", "findings", "Findings",
     &xuncha__v1__finding__descriptor, &xuncha__v1__create_finding_request__descriptor,
     &xuncha__v1__get_finding_request__descriptor,
     &xuncha__v1__list_findings_request__descriptor,
     &xuncha__v1__list_findings_response__descriptor,
     &xuncha__v1__update_finding_request__descriptor},
    {"lead", "Lead", "Leads", "leads", "Leads", &xuncha__v1__lead__descriptor,
     &xuncha__v1__create_lead_request__descriptor, &xuncha__v1__get_lead_request__descriptor,
     &xuncha__v1__list_leads_request__descriptor,
     &xuncha__v1__list_leads_response__descriptor,
     &xuncha__v1__update_lead_request__descriptor},
};

const e2e_kind_info *e2e_kind_get(e2e_kind k) { return &e2e__kinds[k]; }

/* A new shallow message: its pointers may point at the caller's data, so it
 * is released with free() alone, never with free_unpacked. */
static ProtobufCMessage *e2e__new(const ProtobufCMessageDescriptor *d) {
  ProtobufCMessage *m = calloc(1, d->sizeof_message);
  if (m != NULL) d->message_init(m);
  return m;
}

static const ProtobufCFieldDescriptor *e2e__field(const ProtobufCMessage *m,
                                                  const char *name) {
  return protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
}

/* Points a string or message field of a shallow message at `value`. */
static void e2e__set_ptr(ProtobufCMessage *m, const char *name, const void *value) {
  const ProtobufCFieldDescriptor *f = e2e__field(m, name);
  if (f != NULL) *(const void **)((char *)m + f->offset) = value;
}

static void e2e__set_repeated(ProtobufCMessage *m, const char *name, const void *arr,
                              size_t n) {
  const ProtobufCFieldDescriptor *f = e2e__field(m, name);
  if (f == NULL) return;
  *(size_t *)((char *)m + f->quantifier_offset) = n;
  *(const void **)((char *)m + f->offset) = arr;
}

static void e2e__method(char *out, size_t size, e2e_kind k, const char *verb) {
  const e2e_kind_info *ki = &e2e__kinds[k];
  (void)snprintf(out, size, "/xuncha.v1.%s/%s%s", ki->service, verb,
                 strcmp(verb, "List") == 0 ? ki->list_name : ki->type);
}

int e2e_create(xc_client *c, e2e_kind k, const ProtobufCMessage *rec, const char *request_id,
               ProtobufCMessage **out, xc_err *err) {
  char method[96];
  ProtobufCMessage *req = e2e__new(e2e__kinds[k].create_req);
  int rc;
  *out = NULL;
  if (req == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  e2e__set_ptr(req, e2e__kinds[k].name, rec);
  if (request_id != NULL) e2e__set_ptr(req, "request_id", request_id);
  e2e__method(method, sizeof method, k, "Create");
  rc = xc_client_call(c, method, req, e2e__kinds[k].rec, out, XC_H_CALL_MS, err);
  free(req);
  return rc;
}

int e2e_get(xc_client *c, e2e_kind k, const char *id, ProtobufCMessage **out, xc_err *err) {
  char method[96];
  ProtobufCMessage *req = e2e__new(e2e__kinds[k].get_req);
  int rc;
  *out = NULL;
  if (req == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  e2e__set_ptr(req, "id", id);
  e2e__method(method, sizeof method, k, "Get");
  rc = xc_client_call(c, method, req, e2e__kinds[k].rec, out, XC_H_CALL_MS, err);
  free(req);
  return rc;
}

int e2e_update(xc_client *c, e2e_kind k, const ProtobufCMessage *rec, const char **mask,
               size_t n_mask, ProtobufCMessage **out, xc_err *err) {
  char method[96];
  ProtobufCMessage *req = e2e__new(e2e__kinds[k].update_req);
  int rc;
  *out = NULL;
  if (req == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  e2e__set_ptr(req, e2e__kinds[k].name, rec);
  if (n_mask > 0) e2e__set_repeated(req, "update_mask", mask, n_mask);
  e2e__method(method, sizeof method, k, "Update");
  rc = xc_client_call(c, method, req, e2e__kinds[k].rec, out, XC_H_CALL_MS, err);
  free(req);
  return rc;
}

int e2e_list(xc_client *c, e2e_kind k, const ProtobufCMessage *req, ProtobufCMessage **out,
             xc_err *err) {
  char method[96];
  e2e__method(method, sizeof method, k, "List");
  return xc_client_call(c, method, req, e2e__kinds[k].list_resp, out, XC_H_CALL_MS, err);
}

ProtobufCMessage **e2e_list_items(const ProtobufCMessage *resp, e2e_kind k, size_t *n) {
  const ProtobufCFieldDescriptor *f = e2e__field(resp, e2e__kinds[k].list_field);
  *n = *(const size_t *)((const char *)resp + f->quantifier_offset);
  return *(ProtobufCMessage **const *)((const char *)resp + f->offset);
}

const char *e2e_list_next(const ProtobufCMessage *resp) {
  return xc_msg_get_str(resp, "next_page_token");
}

int e2e_ids_add(e2e_ids *ids, const char *id) {
  char *copy;
  size_t n = strlen(id);
  if (ids->n == ids->cap) {
    size_t ncap = ids->cap ? ids->cap * 2 : 64;
    char **nv = realloc(ids->v, ncap * sizeof *nv);
    if (nv == NULL) return XC_ERESOURCE_EXHAUSTED;
    ids->v = nv;
    ids->cap = ncap;
  }
  copy = malloc(n + 1);
  if (copy == NULL) return XC_ERESOURCE_EXHAUSTED;
  memcpy(copy, id, n + 1);
  ids->v[ids->n++] = copy;
  return XC_OK;
}

int e2e_ids_contains(const e2e_ids *ids, const char *id) {
  for (size_t i = 0; i < ids->n; i++)
    if (strcmp(ids->v[i], id) == 0) return 1;
  return 0;
}

static int e2e__cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void e2e_ids_sort(e2e_ids *ids) {
  if (ids->n > 1) qsort(ids->v, ids->n, sizeof ids->v[0], e2e__cmp);
}

int e2e_ids_same_set(const e2e_ids *a, const e2e_ids *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i], b->v[i]) != 0) return 0;
  return 1;
}

size_t e2e_ids_duplicates(const e2e_ids *a) {
  size_t d = 0;
  for (size_t i = 1; i < a->n; i++)
    if (strcmp(a->v[i - 1], a->v[i]) == 0) d++;
  return d;
}

void e2e_ids_free(e2e_ids *ids) {
  for (size_t i = 0; i < ids->n; i++) free(ids->v[i]);
  free(ids->v);
  memset(ids, 0, sizeof *ids);
}

int e2e_list_all(xc_client *c, e2e_kind k, int32_t page_size, const char *region_prefix,
                 e2e_ids *ids, size_t max_pages, xc_err *err) {
  char *token = NULL;
  int rc = XC_OK;
  ProtobufCMessage *req = e2e__new(e2e__kinds[k].list_req);
  if (req == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  if (xc_msg_set_int(req, "page_size", page_size) != XC_OK) {
    rc = xc_err_set(err, XC_EINTERNAL, "no page_size");
    goto done;
  }
  if (region_prefix != NULL) e2e__set_ptr(req, "region_prefix", region_prefix);
  for (size_t page = 0;; page++) {
    ProtobufCMessage *resp = NULL;
    ProtobufCMessage **items;
    size_t n;
    const char *next;
    if (page >= max_pages) {
      rc = xc_err_set(err, XC_EOUT_OF_RANGE, "listing did not end within %zu pages",
                      max_pages);
      goto done;
    }
    e2e__set_ptr(req, "page_token", token != NULL ? token : "");
    rc = e2e_list(c, k, req, &resp, err);
    if (rc != XC_OK) goto done;
    items = e2e_list_items(resp, k, &n);
    for (size_t i = 0; i < n && rc == XC_OK; i++) rc = e2e_ids_add(ids, e2e_id(items[i]));
    next = e2e_list_next(resp);
    free(token);
    token = NULL;
    if (rc == XC_OK && next[0] != '\0') {
      token = strdup(next);
      if (token == NULL) rc = XC_ERESOURCE_EXHAUSTED;
    }
    xc_message_free(resp);
    if (rc != XC_OK) {
      (void)xc_err_set(err, rc, "out of memory");
      goto done;
    }
    if (token == NULL) break;
  }
done:
  free(token);
  free(req);
  return rc;
}

int e2e_listed(xc_client *c, e2e_kind k, const char *id) {
  e2e_ids ids = {0};
  xc_err err;
  int found = 0;
  if (e2e_list_all(c, k, 1000, NULL, &ids, 1000, &err) == XC_OK)
    found = e2e_ids_contains(&ids, id);
  else
    fprintf(stderr, "\n  listing %ss failed: %s: %s\n", e2e__kinds[k].name,
            xc_code_name(err.code), err.msg);
  e2e_ids_free(&ids);
  return found;
}

uint8_t *e2e_pack(const ProtobufCMessage *msg, size_t *len) {
  return xc_msg_pack(msg, 0, len);
}

int e2e_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t la = 0, lb = 0;
  uint8_t *pa = e2e_pack(a, &la), *pb = e2e_pack(b, &lb);
  int same = pa != NULL && pb != NULL && la == lb && memcmp(pa, pb, la) == 0;
  free(pa);
  free(pb);
  return same;
}

const char *e2e_id(const ProtobufCMessage *rec) { return xc_msg_get_str(rec, "id"); }
const char *e2e_etag(const ProtobufCMessage *rec) { return xc_msg_get_str(rec, "etag"); }

Xuncha__V1__Target *e2e_target_new(xc_client *c, const char *region, const char *name,
                                   xc_err *err) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *out = NULL;
  t.region_code = (char *)region;
  t.name = (char *)name;
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
  t.party_secretary = "王书记";
  if (e2e_create(c, E2E_TARGET, &t.base, NULL, &out, err) != XC_OK) return NULL;
  return (Xuncha__V1__Target *)out;
}

int e2e_chain_make(xc_client *c, const char *region, const char *target_id,
                   Xuncha__V1__RoundKind round_kind, const char *recipient, const char *tag,
                   e2e_chain *ch, xc_err *err) {
  char name[128], title[128];
  ProtobufCMessage *out = NULL;
  int rc;
  const char *tid;
  char *tids[1];

  memset(ch, 0, sizeof *ch);
  if (target_id == NULL) {
    (void)snprintf(name, sizeof name, "被巡察单位 %s", tag);
    ch->target = e2e_target_new(c, region, name, err);
    if (ch->target == NULL) return err->code;
    tid = ch->target->id;
  } else {
    tid = target_id;
  }
  tids[0] = (char *)tid;
  {
    Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
    (void)snprintf(title, sizeof title, "第一轮巡察 %s", tag);
    r.region_code = (char *)region;
    r.term = 15;
    r.number = 1;
    r.kind = round_kind ? round_kind : XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
    r.title = title;
    r.start_date = "2024-03-01";
    r.n_target_ids = 1;
    r.target_ids = tids;
    rc = e2e_create(c, E2E_ROUND, &r.base, NULL, &out, err);
    if (rc != XC_OK) return rc;
    ch->round = (Xuncha__V1__Round *)out;
  }
  {
    Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
    char *members[] = {"李四", "赵六"};
    g.round_id = ch->round->id;
    g.name = "第一巡察组";
    g.leader = "王五";
    g.n_members = 2;
    g.members = members;
    g.n_target_ids = 1;
    g.target_ids = tids;
    rc = e2e_create(c, E2E_GROUP, &g.base, NULL, &out, err);
    if (rc != XC_OK) return rc;
    ch->group = (Xuncha__V1__Group *)out;
  }
  {
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
    char *tags[] = {"四风", "假落实"};
    rect.mode = XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_BY_DEADLINE;
    rect.responsible_leader = "王书记";
    rect.deadline = "2024-12-31";
    f.round_id = ch->round->id;
    f.target_id = (char *)tid;
    (void)snprintf(title, sizeof title, "违规发放津贴补贴 %s", tag);
    f.title = title;
    f.description = "2023年违规发放津贴补贴12万元";
    f.area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_CONDUCT;
    f.n_tags = 2;
    f.tags = tags;
    f.found_date = "2024-03-15";
    f.rectification = &rect;
    rc = e2e_create(c, E2E_FINDING, &f.base, NULL, &out, err);
    if (rc != XC_OK) return rc;
    ch->finding = (Xuncha__V1__Finding *)out;
  }
  {
    Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
    Xuncha__V1__Person p = XUNCHA__V1__PERSON__INIT;
    Xuncha__V1__Person *persons[1];
    p.name = "张三";
    p.position = "局长";
    persons[0] = &p;
    l.round_id = ch->round->id;
    l.target_id = (char *)tid;
    l.finding_id = ch->finding->id;
    l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
    l.recipient = (char *)recipient;
    (void)snprintf(title, sizeof title, "涉嫌违规收受礼金 %s", tag);
    l.summary = title;
    l.n_persons = 1;
    l.persons = persons;
    l.transfer_date = "2024-04-01";
    rc = e2e_create(c, E2E_LEAD, &l.base, NULL, &out, err);
    if (rc != XC_OK) return rc;
    ch->lead = (Xuncha__V1__Lead *)out;
  }
  return XC_OK;
}

void e2e_chain_free(e2e_chain *ch) {
  xc_message_free(ch->target);
  xc_message_free(ch->round);
  xc_message_free(ch->group);
  xc_message_free(ch->finding);
  xc_message_free(ch->lead);
  memset(ch, 0, sizeof *ch);
}

ProtobufCMessage *e2e_chain_rec(const e2e_chain *ch, e2e_kind k) {
  switch (k) {
    case E2E_TARGET:
      return ch->target ? &ch->target->base : NULL;
    case E2E_ROUND:
      return ch->round ? &ch->round->base : NULL;
    case E2E_GROUP:
      return ch->group ? &ch->group->base : NULL;
    case E2E_FINDING:
      return ch->finding ? &ch->finding->base : NULL;
    case E2E_LEAD:
      return ch->lead ? &ch->lead->base : NULL;
    default:
      return NULL;
  }
}
