/*
 * The partial unpack of stored records (server/xc_rawrec.h,
 * xc_rawrec_unpack_some) against the whole one: for every record kind a
 * List serves, the fields the read checks look at must decode to the same
 * values, every check (access, voided, the read-time fields, every list
 * filter) must decide the same, and bytes a whole unpack refuses must be
 * refused too. Records carry unknown fields before and after their own, as
 * a newer server's records would.
 */
#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_identity.h"
#include "xc_list.h"
#include "xc_msg.h"
#include "xc_rawrec.h"
#include "xc_record.h"
#include "xc_store.h"
#include "xc_validate.h"
#include "xc_workflow.h"

/* The kinds a List serves (xc_service_list callers). */
static const xc_kind kinds[] = {XC_KIND_TARGET,      XC_KIND_ROUND,        XC_KIND_GROUP,
                                XC_KIND_FINDING,     XC_KIND_LEAD,         XC_KIND_DIRECTORY,
                                XC_KIND_PROGRESS,    XC_KIND_VERIFICATION, XC_KIND_DISPOSITION,
                                XC_KIND_DOCUMENT,    XC_KIND_INSPECTOR};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static char *dupf(const char *fmt, ...) {
  char buf[128];
  va_list ap;
  char *s;
  va_start(ap, fmt);
  (void)vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  s = malloc(strlen(buf) + 1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  memcpy(s, buf, strlen(buf) + 1);
  return s;
}

static ProtobufCMessage *new_filled(const ProtobufCMessageDescriptor *d, unsigned depth);

/* Sets every field of m (oneofs aside) to a value that is not its default:
 * strings "v<number>", numbers from the field number, bools true, enums
 * their last value, two entries in repeated strings and numbers, one in
 * repeated messages, sub-messages two levels down. */
static void fill(ProtobufCMessage *m, unsigned depth) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char *base = (char *)m + f->offset;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t *q = (size_t *)(void *)((char *)m + f->quantifier_offset);
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **a = malloc(2 * sizeof *a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        a[0] = dupf("r%u-a", f->id);
        a[1] = dupf("r%u-b", f->id);
        *(char ***)(void *)base = a;
        *q = 2;
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 2) {
        ProtobufCMessage **a = malloc(sizeof *a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        a[0] = new_filled(f->descriptor, depth + 1);
        *(ProtobufCMessage ***)(void *)base = a;
        *q = 1;
      } else if (f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_ENUM ||
                 f->type == PROTOBUF_C_TYPE_UINT32) {
        int32_t *a = malloc(2 * sizeof *a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        a[0] = 1;
        a[1] = 300; /* two bytes as a varint */
        *(int32_t **)(void *)base = a;
        *q = 2;
      }
      continue;
    }
    switch (f->type) {
      case PROTOBUF_C_TYPE_STRING:
        *(char **)(void *)base = dupf("v%u", f->id);
        break;
      case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = (ProtobufCBinaryData *)(void *)base;
        b->data = (uint8_t *)dupf("b");
        b->len = 1;
        break;
      }
      case PROTOBUF_C_TYPE_MESSAGE:
        if (depth < 2) *(ProtobufCMessage **)(void *)base = new_filled(f->descriptor, depth + 1);
        break;
      case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)(void *)base = 1;
        break;
      case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        *(int *)(void *)base = ed->n_values > 0 ? ed->values[ed->n_values - 1].value : 0;
        break;
      }
      case PROTOBUF_C_TYPE_INT32:
      case PROTOBUF_C_TYPE_SINT32:
      case PROTOBUF_C_TYPE_SFIXED32:
      case PROTOBUF_C_TYPE_UINT32:
      case PROTOBUF_C_TYPE_FIXED32:
        *(int32_t *)(void *)base = (int32_t)(100 + f->id);
        break;
      case PROTOBUF_C_TYPE_INT64:
      case PROTOBUF_C_TYPE_SINT64:
      case PROTOBUF_C_TYPE_SFIXED64:
      case PROTOBUF_C_TYPE_UINT64:
      case PROTOBUF_C_TYPE_FIXED64:
        /* Milliseconds in 2024, for the times the read-time fields read. */
        *(int64_t *)(void *)base = 1714000000000LL + f->id;
        break;
      case PROTOBUF_C_TYPE_FLOAT:
        *(float *)(void *)base = 1.5f;
        break;
      case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)(void *)base = 2.5;
        break;
    }
  }
}

static ProtobufCMessage *new_filled(const ProtobufCMessageDescriptor *d, unsigned depth) {
  ProtobufCMessage *m = malloc(d->sizeof_message);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  d->message_init(m);
  fill(m, depth);
  return m;
}

/* Sets string field name of m when it has one. */
static void set_if(ProtobufCMessage *m, const char *name, const char *v) {
  if (xc_msg_get_str(m, name) != NULL) {
    CU_ASSERT_EQUAL(xc_msg_set_str(m, name, v), XC_OK);
  }
}

/* Makes record variant v (0..5) of kind packed, with unknown fields of each
 * wire type before and after the record's own. *len receives its size. */
static uint8_t *make_record(xc_kind kind, int v, size_t *len) {
  static const uint8_t head[] = {0x48, 0x05,                  /* field 9, varint */
                                 0xc2, 0x02, 0x02, 'h', 'i'}; /* field 40, bytes */
  static const uint8_t tail[] = {0xa0, 0x38, 0x96, 0x01,      /* field 900, varint 150 */
                                 0xaa, 0x38, 0x01, 'z',       /* field 901, bytes */
                                 0xb5, 0x38, 1,    2,    3, 4, /* field 902, fixed32 */
                                 0xb9, 0x38, 1,    2,    3, 4, 5, 6, 7, 8}; /* 903, fixed64 */
  ProtobufCMessage *m = new_filled(xc_kind_descriptor(kind), 0);
  const ProtobufCFieldDescriptor *vf =
      protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "voided");
  uint8_t *body, *out;
  size_t n = 0;

  set_if(m, "region_code", v % 3 == 2 ? "320102" : "310107");
  set_if(m, "owner", "office:310107");
  set_if(m, "lead_owner", v % 2 == 0 ? "office:310107" : "");
  set_if(m, "recipient", "agency:3101:jw");
  set_if(m, "transfer_date", v < 2 ? "2021-01-15" : v < 4 ? "" : "2099-01-01");
  if (vf != NULL) *(protobuf_c_boolean *)(void *)((char *)m + vf->offset) = v == 1;
  if (kind == XC_KIND_FINDING) {
    Xuncha__V1__Finding *f = (Xuncha__V1__Finding *)m;
    static const char *const deadlines[] = {"2020-03-01", "2099-12-31", "", "2024-02-29",
                                            "bad", "2020-01-01"};
    CU_ASSERT_EQUAL(xc_msg_set_str(&f->rectification->base, "deadline", deadlines[v]), XC_OK);
    f->rectification->status = (Xuncha__V1__RectificationStatus)(1 + v % 5);
    CU_ASSERT_EQUAL(xc_msg_set_str(&f->track->base, "last_entry_date", "2020-05-01"), XC_OK);
    f->track->revocations = (uint32_t)(v % 2);
    f->track->evidence_entries = (uint32_t)(v % 3 == 0 ? 0 : 2);
    f->track->work_remains = v % 2;
    /* A stored finding has no flags: they are computed when read. */
    xc_msg_free(f->flags);
    f->flags = NULL;
  }
  if (kind == XC_KIND_LEAD) {
    Xuncha__V1__Lead *l = (Xuncha__V1__Lead *)m;
    l->disposal = v % 2 == 0 ? XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING
                             : XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CLOSED;
    set_if(m, "report_due_date", "");
    l->report_overdue = 0;
  }
  body = xc_msg_pack(m, 0, &n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(body);
  out = malloc(sizeof head + n + sizeof tail);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  memcpy(out, head, sizeof head);
  memcpy(out + sizeof head, body, n);
  memcpy(out + sizeof head + n, tail, sizeof tail);
  *len = sizeof head + n + sizeof tail;
  free(body);
  xc_msg_free(m);
  return out;
}

/* Returns 1 if field fd holds the same in a and b. */
static int same_field(const ProtobufCFieldDescriptor *fd, const ProtobufCMessage *a,
                      const ProtobufCMessage *b) {
  const char *pa = (const char *)a + fd->offset, *pb = (const char *)b + fd->offset;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t na = *(const size_t *)(const void *)((const char *)a + fd->quantifier_offset);
    size_t nb = *(const size_t *)(const void *)((const char *)b + fd->quantifier_offset);
    char *const *sa = *(char *const *const *)(const void *)pa;
    char *const *sb = *(char *const *const *)(const void *)pb;
    if (na != nb || fd->type != PROTOBUF_C_TYPE_STRING) return 0;
    for (size_t i = 0; i < na; i++)
      if (strcmp(sa[i], sb[i]) != 0) return 0;
    return 1;
  }
  switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
      return strcmp(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb) == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
      return xc_msg_same_bytes(*(const ProtobufCMessage *const *)(const void *)pa,
                               *(const ProtobufCMessage *const *)(const void *)pb);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
      return memcmp(pa, pb, 8) == 0;
    default:
      return memcmp(pa, pb, 4) == 0;
  }
}

/* The filters a List of kind may get, with values taken from rec (the
 * whole unpack) so that they match it as well as not. Returns how many
 * were written to out (at most max). */
static size_t filters_for(xc_kind kind, const ProtobufCMessage *rec, xc_list_filter *out,
                          size_t max) {
  size_t n = 0;
  const char *s;
#define NEXT() (xc_list_filter_init(&out[n]), &out[n++])
  (void)kind;
  if (max < 60) return 0;
  NEXT();
  NEXT()->include_void = 1;
  NEXT()->region_prefix = "3101";
  NEXT()->region_prefix = "3102";
  NEXT()->region_prefix = "310107";
  if ((s = xc_msg_get_str(rec, "round_id")) != NULL) NEXT()->round_id = s;
  NEXT()->round_id = "o_00000000000000000000000000";
  if ((s = xc_msg_get_str(rec, "target_id")) != NULL) NEXT()->target_id = s;
  NEXT()->target_id = "r-a"; /* not a target id: the filter only compares */
  NEXT()->target_id = "r11-a";
  NEXT()->target_id = "r5-b";
  NEXT()->recipient = "agency:3101:jw";
  NEXT()->recipient = "agency:3101:gaj";
  for (int32_t v = 1; v <= 12; v++) {
    NEXT()->status = v;
    if (v <= 4) NEXT()->kind = v;
    if (v <= 4) NEXT()->area = v;
  }
  NEXT()->term = 103;
  NEXT()->term = 7;
  NEXT()->contains = "v";
  NEXT()->contains = "nothing like it";
  NEXT()->contains = "r5-a";
  NEXT()->contains = "r3-b";
  if ((s = xc_msg_get_str(rec, "finding_id")) != NULL) NEXT()->parent_id = s;
  if ((s = xc_msg_get_str(rec, "lead_id")) != NULL) NEXT()->parent_id = s;
  if ((s = xc_msg_get_str(rec, "attached_id")) != NULL) NEXT()->parent_id = s;
  /* The record's own values of every repeated string and every number,
   * as each filter that compares one: these match. */
  for (unsigned i = 0; i < rec->descriptor->n_fields && n + 4 <= max; i++) {
    const ProtobufCFieldDescriptor *f = &rec->descriptor->fields[i];
    const char *base = (const char *)rec + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_STRING &&
        *(const size_t *)(const void *)((const char *)rec + f->quantifier_offset) > 0) {
      const char *first = (*(char *const *const *)(const void *)base)[0];
      NEXT()->contains = first;
      NEXT()->target_id = first;
    } else if (f->label == PROTOBUF_C_LABEL_NONE &&
               (f->type == PROTOBUF_C_TYPE_ENUM || f->type == PROTOBUF_C_TYPE_INT32)) {
      int32_t v = *(const int32_t *)(const void *)base;
      NEXT()->status = v;
      NEXT()->kind = v;
      NEXT()->area = v;
      NEXT()->term = v;
    }
  }
  NEXT()->overdue = 1;
  NEXT()->paper_only = 1;
  NEXT()->stalled = 1;
  NEXT()->reopened = 1;
  NEXT()->due_within_days = 3660;
  NEXT()->report_overdue = 1;
#undef NEXT
  return n;
}

static void test_partial_same_decisions(void) {
  static const char *const callers[] = {"office:3101",   "office:310107", "office:3102",
                                        "agency:3101:jw", "agency:3101:gaj", "admin:3101"};
  xc_rawrec *whole_r = xc_rawrec_new(), *part_r = xc_rawrec_new();
  char today[11];
  size_t matched = 0, refused = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(whole_r);
  CU_ASSERT_PTR_NOT_NULL_FATAL(part_r);
  xc_today_cst(today);
  for (size_t ki = 0; ki < N_KINDS; ki++) {
    xc_kind kind = kinds[ki];
    const ProtobufCMessageDescriptor *desc = xc_kind_descriptor(kind);
    const char *const *names = NULL;
    size_t n_names = xc_list_check_fields(kind, &names);
    xc_rawrec_plan plan;
    CU_ASSERT_FATAL(n_names > 0);
    xc_rawrec_plan_make(desc, names, n_names, &plan);
    /* Every kind a List serves decodes partially. */
    CU_ASSERT(plan.usable);
    CU_ASSERT(plan.n_pick >= 2);
    for (int v = 0; v < 6; v++) {
      size_t len = 0;
      uint8_t *rec = make_record(kind, v, &len);
      int no_room = 0;
      ProtobufCMessage *whole = xc_rawrec_unpack(whole_r, desc, rec, len, &no_room);
      ProtobufCMessage *part = xc_rawrec_unpack_some(part_r, &plan, rec, len, &no_room);
      xc_decoration dw, dp;
      uint8_t bw[XC_DECORATION_MAX_BYTES], bp[XC_DECORATION_MAX_BYTES];
      size_t lw, lp;
      xc_list_filter fs[256];
      size_t nf;
      CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
      CU_ASSERT_PTR_NOT_NULL_FATAL(part);
      CU_ASSERT_PTR_EQUAL(part->descriptor, desc);
      /* Only what the checks read was decoded: the partial one has no
       * unknown fields while the whole one keeps all four. */
      CU_ASSERT_EQUAL(whole->n_unknown_fields, 6);
      CU_ASSERT_EQUAL(part->n_unknown_fields, 0);
      for (size_t i = 0; i < plan.n_pick; i++) {
        CU_ASSERT(same_field(plan.pick[i], whole, part));
        if (!same_field(plan.pick[i], whole, part))
          fprintf(stderr, "kind %s field %s differs\n", xc_kind_name(kind), plan.pick[i]->name);
      }
      /* The read-time fields pack to the same bytes. */
      xc_workflow_decoration(kind, whole, today, &dw);
      xc_workflow_decoration(kind, part, today, &dp);
      lw = xc_workflow_decoration_pack(kind, &dw, bw, sizeof bw);
      lp = xc_workflow_decoration_pack(kind, &dp, bp, sizeof bp);
      CU_ASSERT(lw == lp && memcmp(bw, bp, lw) == 0);
      if (kind == XC_KIND_FINDING || kind == XC_KIND_LEAD) {
        CU_ASSERT(lw > 0);
      }
      xc_workflow_decoration_attach(kind, whole, &dw);
      xc_workflow_decoration_attach(kind, part, &dp);
      CU_ASSERT_EQUAL(xc_workflow_voided(whole), xc_workflow_voided(part));
      CU_ASSERT_STRING_EQUAL(xc_rawrec_id(part_r, part), xc_rawrec_id(whole_r, whole));
      nf = filters_for(kind, whole, fs, sizeof fs / sizeof fs[0]);
      CU_ASSERT(nf > 0);
      for (size_t c = 0; c < sizeof callers / sizeof callers[0]; c++) {
        xc_identity who;
        xc_err err;
        CU_ASSERT_EQUAL_FATAL(xc_identity_parse(callers[c], "0A", &who, &err), XC_OK);
        CU_ASSERT_EQUAL(xc_validate_may_read(&who, kind, whole),
                        xc_validate_may_read(&who, kind, part));
        if (!xc_validate_may_read(&who, kind, whole)) {
          xc_err e1, e2;
          CU_ASSERT_EQUAL(xc_validate_read_denied(&who, kind, whole, &e1),
                          xc_validate_read_denied(&who, kind, part, &e2));
          CU_ASSERT_STRING_EQUAL(e1.msg, e2.msg);
        }
        for (size_t i = 0; i < nf; i++) {
          int a = xc_list_match(kind, &who, &fs[i], whole);
          int b = xc_list_match(kind, &who, &fs[i], part);
          CU_ASSERT_EQUAL(a, b);
          if (a != b)
            fprintf(stderr, "kind %s variant %d caller %s filter %zu: whole %d partial %d\n",
                    xc_kind_name(kind), v, callers[c], i, a, b);
          if (a)
            matched++;
          else
            refused++;
        }
      }
      free(rec);
    }
  }
  /* The filters really decided both ways. */
  CU_ASSERT(matched > 1000);
  CU_ASSERT(refused > 1000);
  xc_rawrec_free(whole_r);
  xc_rawrec_free(part_r);
}

/* Unpacks len bytes of rec as kind both ways; returns 1 if both refuse or
 * both accept (then with the same checked fields). */
static int agree(xc_rawrec *wr, xc_rawrec *pr, const xc_rawrec_plan *plan, const uint8_t *rec,
                 size_t len) {
  int no_room = 0;
  ProtobufCMessage *w = xc_rawrec_unpack(wr, plan->desc, rec, len, &no_room);
  ProtobufCMessage *p = xc_rawrec_unpack_some(pr, plan, rec, len, &no_room);
  if (w == NULL || p == NULL) return w == NULL && p == NULL && no_room == 0;
  for (size_t i = 0; i < plan->n_pick; i++)
    if (!same_field(plan->pick[i], w, p)) return 0;
  return 1;
}

/* Appends n bytes to buf (cap bytes, *len used). */
static void put(uint8_t *buf, size_t cap, size_t *len, const void *p, size_t n) {
  CU_ASSERT_FATAL(*len + n <= cap);
  memcpy(buf + *len, p, n);
  *len += n;
}

static void test_partial_refuses_bad_bytes(void) {
  xc_rawrec *wr = xc_rawrec_new(), *pr = xc_rawrec_new();
  size_t refusals = 0;
  CU_ASSERT_PTR_NOT_NULL_FATAL(wr);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pr);
  for (size_t ki = 0; ki < N_KINDS; ki++) {
    xc_kind kind = kinds[ki];
    const char *const *names = NULL;
    size_t n_names = xc_list_check_fields(kind, &names), len = 0;
    xc_rawrec_plan plan;
    uint8_t *rec = make_record(kind, 0, &len);
    xc_rawrec_plan_make(xc_kind_descriptor(kind), names, n_names, &plan);
    /* Cut short anywhere: both refuse, or both accept the same. */
    for (size_t cut = 0; cut < len; cut++) {
      int no_room = 0;
      CU_ASSERT(agree(wr, pr, &plan, rec, cut));
      if (xc_rawrec_unpack(wr, plan.desc, rec, cut, &no_room) == NULL) refusals++;
    }
    /* Each known field sent with a wire type of the wrong kind. */
    for (unsigned i = 0; i < plan.desc->n_fields; i++) {
      const ProtobufCFieldDescriptor *fd = &plan.desc->fields[i];
      uint8_t bad[64];
      size_t n = 0;
      uint8_t tag[10];
      int is_len = fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_BYTES ||
                   fd->type == PROTOBUF_C_TYPE_MESSAGE;
      int no_room = 0;
      size_t k = 0;
      uint64_t t = (uint64_t)fd->id << 3 | (is_len ? 0u : 5u);
      while (t >= 0x80) {
        tag[k++] = (uint8_t)(t | 0x80);
        t >>= 7;
      }
      tag[k++] = (uint8_t)t;
      put(bad, sizeof bad, &n, tag, k);
      put(bad, sizeof bad, &n, is_len ? "\x01" : "\x01\x02\x03\x04", is_len ? 1 : 4);
      CU_ASSERT(agree(wr, pr, &plan, bad, n));
      /* protobuf-c reads a bool from whatever bytes came; all else is refused. */
      if (fd->type == PROTOBUF_C_TYPE_BOOL && fd->label != PROTOBUF_C_LABEL_REPEATED) {
        CU_ASSERT_PTR_NOT_NULL(xc_rawrec_unpack_some(pr, &plan, bad, n, &no_room));
      } else {
        CU_ASSERT_PTR_NULL(xc_rawrec_unpack_some(pr, &plan, bad, n, &no_room));
      }
    }
    free(rec);
  }
  CU_ASSERT(refusals > 100);
  {
    /* Findings: a damaged sub-message the checks read (rectification,
     * 20), one they do not (flags, 21: cut short, and its int32 sent as
     * bytes), a rectification sent twice (merged by protobuf-c), a round id
     * sent twice (the last one counts) and voided sent as fixed32 (a bool
     * protobuf-c reads from the raw bytes: nonzero, so voided). */
    const char *const *names = NULL;
    size_t n_names = xc_list_check_fields(XC_KIND_FINDING, &names);
    xc_rawrec_plan plan;
    static const uint8_t bad_rect[] = {0xa2, 0x01, 0x02, 0x2a, 0x05};
    static const uint8_t bad_flags[] = {0xaa, 0x01, 0x02, 0x08, 0x80};
    static const uint8_t bad_flags_type[] = {0xaa, 0x01, 0x02, 0x2a, 0x00};
    static const uint8_t two_rects[] = {0xa2, 0x01, 0x05, 0x2a, 0x03, '2', '0', '2',
                                        0xa2, 0x01, 0x02, 0x30, 0x02};
    static const uint8_t two_rounds[] = {0x52, 0x01, 'a', 0x52, 0x02, 'b', 'c'};
    int no_room = 0;
    ProtobufCMessage *p;
    xc_rawrec_plan_make(&xuncha__v1__finding__descriptor, names, n_names, &plan);
    CU_ASSERT(agree(wr, pr, &plan, bad_rect, sizeof bad_rect));
    CU_ASSERT_PTR_NULL(xc_rawrec_unpack_some(pr, &plan, bad_rect, sizeof bad_rect, &no_room));
    CU_ASSERT(agree(wr, pr, &plan, bad_flags, sizeof bad_flags));
    CU_ASSERT_PTR_NULL(xc_rawrec_unpack_some(pr, &plan, bad_flags, sizeof bad_flags, &no_room));
    CU_ASSERT(agree(wr, pr, &plan, bad_flags_type, sizeof bad_flags_type));
    CU_ASSERT_PTR_NULL(
        xc_rawrec_unpack_some(pr, &plan, bad_flags_type, sizeof bad_flags_type, &no_room));
    CU_ASSERT(agree(wr, pr, &plan, two_rects, sizeof two_rects));
    p = xc_rawrec_unpack_some(pr, &plan, two_rects, sizeof two_rects, &no_room);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(((Xuncha__V1__Finding *)p)->rectification);
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Finding *)p)->rectification->deadline, "202");
    CU_ASSERT_EQUAL(((Xuncha__V1__Finding *)p)->rectification->status, 2);
    CU_ASSERT(agree(wr, pr, &plan, two_rounds, sizeof two_rounds));
    p = xc_rawrec_unpack_some(pr, &plan, two_rounds, sizeof two_rounds, &no_room);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Finding *)p)->round_id, "bc");
    {
      static const uint8_t odd_void[] = {0xf5, 0x01, 0x00, 0x01, 0x00, 0x00};
      CU_ASSERT(agree(wr, pr, &plan, odd_void, sizeof odd_void));
      p = xc_rawrec_unpack_some(pr, &plan, odd_void, sizeof odd_void, &no_room);
      CU_ASSERT_PTR_NOT_NULL_FATAL(p);
      CU_ASSERT(((Xuncha__V1__Finding *)p)->voided);
    }
  }
  {
    /* A plan with a field it cannot decode partially (bytes) unpacks whole. */
    static const char *const odd[] = {"id", "evidence", "rectification"};
    xc_rawrec_plan plan;
    xc_rawrec_plan_make(&xuncha__v1__finding__descriptor, odd, 3, &plan);
    CU_ASSERT(plan.usable); /* repeated strings and messages are decoded */
    xc_rawrec_plan_make(&xuncha__v1__round__descriptor,
                        (const char *const[]){"id", "stage_dates"}, 2, &plan);
    CU_ASSERT(!plan.usable); /* a repeated message is not */
  }
  xc_rawrec_free(wr);
  xc_rawrec_free(pr);
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("partial unpack", NULL, NULL);
  CU_add_test(s, "partial unpacks decide as whole ones", test_partial_same_decisions);
  CU_add_test(s, "partial unpacks refuse what whole ones refuse", test_partial_refuses_bad_bytes);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
