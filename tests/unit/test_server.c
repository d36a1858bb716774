/*
 * CUnit suites for server/ (xc_server_core), without the network:
 *   - record rules: output-only fields, fixed fields, update masks, merges,
 *     string and enum checks, fingerprints;
 *   - validation of every record kind against an in-memory lookup table;
 *   - page tokens: round trip, tampering, foreign callers and filters;
 *   - list filters and the index planner;
 *   - the lead visibility matrix;
 *   - the handlers end to end on a real store in a temporary directory
 *     (create, get, update, idempotency, permissions, paging).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h> /* mallinfo2: where the malloc test finds its blocks */
#endif

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "xc_replybuf.h"
#include "xc_malloc.h"
#include "xc_handler.h"
#include "xc_identity.h"
#include "xc_list.h"
#include "xc_arena.h"
#include "xc_msg.h"
#include "xc_pagetoken.h"
#include "xc_record.h"
#include "xc_service.h"
#include "xc_store.h"
#include "xc_test_server.h"
#include "xc_text.h"
#include "xc_validate.h"
#include "xc_workflow.h"

/* Well-formed ids for the in-memory tests. */
#define T1 "t_00000000000000000000000001"
#define T2 "t_00000000000000000000000002"
#define T3 "t_00000000000000000000000003"
#define T9 "t_00000000000000000000000009"
#define R1 "r_00000000000000000000000001"
#define R2 "r_00000000000000000000000002"
#define R9 "r_00000000000000000000000009"
#define F1 "f_00000000000000000000000001"

static xc_identity who(const char *cn) {
  xc_identity id;
  xc_err err;
  int rc = xc_identity_parse(cn, "0A", &id, &err);
  CU_ASSERT_EQUAL_FATAL(rc, XC_OK);
  return id;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  memcpy(c, s, n);
  return c;
}

/* Sets a string field of a heap message (the message owns the copy). */
static void set(void *msg, const char *field, const char *value) {
  CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(msg, field, value), XC_OK);
}

static void add_str(char ***arr, size_t *n, const char *s) {
  char **grown = realloc(*arr, (*n + 1) * sizeof *grown);
  CU_ASSERT_PTR_NOT_NULL_FATAL(grown);
  grown[*n] = dupstr(s);
  *arr = grown;
  (*n)++;
}

static Xuncha__V1__Target *new_target(const char *id, const char *region, const char *name) {
  Xuncha__V1__Target *t = malloc(sizeof *t);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  xuncha__v1__target__init(t);
  if (id) set(t, "id", id);
  set(t, "region_code", region);
  set(t, "name", name);
  t->kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
  return t;
}

static Xuncha__V1__Round *new_round(const char *id, const char *region) {
  Xuncha__V1__Round *r = malloc(sizeof *r);
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  xuncha__v1__round__init(r);
  if (id) set(r, "id", id);
  set(r, "region_code", region);
  set(r, "title", "第3轮巡察");
  r->term = 12;
  r->number = 3;
  r->kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  return r;
}

/* ------------------------------------------------------ in-memory lookup */

#define FAKE_MAX 16
typedef struct fake_db {
  xc_kind kind[FAKE_MAX];
  ProtobufCMessage *rec[FAKE_MAX];
  size_t n;
} fake_db;

static int fake_get(void *ctx, xc_kind kind, const char *id, ProtobufCMessage **out, xc_err *err) {
  fake_db *db = ctx;
  for (size_t i = 0; i < db->n; i++) {
    if (db->kind[i] == kind && strcmp(xc_msg_get_str(db->rec[i], "id"), id) == 0) {
      *out = xc_msg_clone(db->rec[i]);
      return *out ? XC_OK : XC_ERESOURCE_EXHAUSTED;
    }
  }
  return xc_err_set(err, XC_ENOT_FOUND, "%s %s not found", xc_kind_name(kind), id);
}

/* Like fake_get, but lends the stored record itself (xc_lookup.borrow): a
 * validator that freed or kept a lent record would show under ASan. */
static int fake_borrow(void *ctx, xc_kind kind, const char *id, ProtobufCMessage **out,
                       xc_err *err) {
  fake_db *db = ctx;
  for (size_t i = 0; i < db->n; i++) {
    if (db->kind[i] == kind && strcmp(xc_msg_get_str(db->rec[i], "id"), id) == 0) {
      *out = db->rec[i];
      return XC_OK;
    }
  }
  return xc_err_set(err, XC_ENOT_FOUND, "%s %s not found", xc_kind_name(kind), id);
}

/* 1: validate() lends the records it refers to instead of copying them. */
static int lend_refs;

static void fake_add(fake_db *db, xc_kind kind, void *rec) {
  CU_ASSERT_FATAL(db->n < FAKE_MAX);
  db->kind[db->n] = kind;
  db->rec[db->n++] = rec;
}

static void fake_free(fake_db *db) {
  for (size_t i = 0; i < db->n; i++) xc_msg_free(db->rec[i]);
  db->n = 0;
}

/* A county 310104 world: targets T1 (310104001), T2 (310104002), T3 in
 * county 310105; round R1 of 310104 over T1; round R2 of 310105 over T3. */
static void fake_world(fake_db *db) {
  Xuncha__V1__Round *r1 = new_round(R1, "310104");
  Xuncha__V1__Round *r2 = new_round(R2, "310105");
  memset(db, 0, sizeof *db);
  fake_add(db, XC_KIND_TARGET, new_target(T1, "310104001", "甲街道"));
  fake_add(db, XC_KIND_TARGET, new_target(T2, "310104002", "乙街道"));
  fake_add(db, XC_KIND_TARGET, new_target(T3, "310105001", "丙街道"));
  add_str(&r1->target_ids, &r1->n_target_ids, T1);
  set(r1, "owner", "office:310104");
  add_str(&r2->target_ids, &r2->n_target_ids, T3);
  set(r2, "owner", "office:310105");
  fake_add(db, XC_KIND_ROUND, r1);
  fake_add(db, XC_KIND_ROUND, r2);
}

static int validate(fake_db *db, xc_kind kind, void *rec, xc_validate_mode mode, const char *cn,
                    xc_err *err) {
  xc_identity id = who(cn);
  xc_lookup lk = {fake_get, db, lend_refs ? fake_borrow : NULL};
  xc_err_clear(err);
  return xc_validate_record(kind, rec, mode, &id, &lk, "2025-03-01", err);
}

/* List reply buffers: realloc semantics, pooled buffers reused, bigger ones
 * plain, and the pool keeps no more than its maximum. */
static void test_replybuf(void) {
  uint8_t *a, *b, *big, *many[XC_REPLYBUF_POOL_MAX + 8];
  xc_replybuf_drain();
  a = xc_replybuf_realloc(NULL, 64 * 1024);
  CU_ASSERT_PTR_NOT_NULL_FATAL(a);
  CU_ASSERT_EQUAL(((uintptr_t)a) % 16, 0);
  memset(a, 0x5a, 64 * 1024);
  /* Growing within the pooled size keeps the buffer and its bytes. */
  b = xc_replybuf_realloc(a, 200 * 1024);
  CU_ASSERT_PTR_EQUAL(b, a);
  b[200 * 1024 - 1] = 7;
  /* Growing past it moves the bytes into a plain buffer. */
  big = xc_replybuf_realloc(b, XC_REPLYBUF_POOLED + 1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(big);
  CU_ASSERT_EQUAL(big[0], 0x5a);
  CU_ASSERT_EQUAL(big[64 * 1024 - 1], 0x5a);
  CU_ASSERT_EQUAL(big[200 * 1024 - 1], 7);
  big[XC_REPLYBUF_POOLED] = 1;
  /* The pooled one went back to the pool: the next request gets it. */
  a = xc_replybuf_realloc(NULL, 10);
  CU_ASSERT_PTR_EQUAL(a, b);
  xc_replybuf_free(a);
  xc_replybuf_free(big);
  xc_replybuf_free(NULL);
  /* Free more than the pool keeps; the next ones handed out are the last
   * ones freed, and every buffer is still usable (ASan checks the rest). */
  for (size_t i = 0; i < XC_REPLYBUF_POOL_MAX + 8; i++) {
    many[i] = xc_replybuf_realloc(NULL, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many[i]);
    many[i][999] = (uint8_t)i;
  }
  for (size_t i = 0; i < XC_REPLYBUF_POOL_MAX + 8; i++) xc_replybuf_free(many[i]);
  a = xc_replybuf_realloc(NULL, 1000);
  CU_ASSERT_PTR_EQUAL(a, many[XC_REPLYBUF_POOL_MAX - 1]);
  xc_replybuf_free(a);
  xc_replybuf_drain();
}

/* xunchad's malloc setting (xc_malloc.h): once it is made, a large block
 * is still mapped after a mapped block was freed (glibc would otherwise
 * have raised its threshold to the freed block's size and served this one
 * from an arena), and freeing it gives its memory back at once. */
static void test_malloc_tune(void) {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  struct mallinfo2 before, during, after;
  size_t big_bytes = (size_t)4 << 20;
  void *big, *p;
  CU_ASSERT_EQUAL_FATAL(xc_malloc_tune(), XC_OK);
  big = malloc(big_bytes);
  CU_ASSERT_PTR_NOT_NULL_FATAL(big);
  memset(big, 1, big_bytes);
  free(big);
  before = mallinfo2();
  p = malloc(XC_REPLYBUF_POOLED);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  memset(p, 2, XC_REPLYBUF_POOLED);
  during = mallinfo2();
  CU_ASSERT_EQUAL(during.hblks, before.hblks + 1);
  CU_ASSERT(during.hblkhd >= before.hblkhd + XC_REPLYBUF_POOLED);
  free(p);
  after = mallinfo2();
  CU_ASSERT_EQUAL(after.hblks, before.hblks);
  CU_ASSERT_EQUAL(after.hblkhd, before.hblkhd);
#else
  /* A sanitizer's allocator (or another C library) does not take the
   * setting, and the function says so rather than pretending. */
  CU_ASSERT_EQUAL(xc_malloc_tune(), XC_EUNIMPLEMENTED);
#endif
}

/* Records unpacked into an arena: the inline block, then malloc'd ones as
 * they grow; bytes that do not decode give NULL without marking it failed. */
static void test_arena(void) {
  xc_arena a;
  Xuncha__V1__Round *r = new_round(R1, "310104");
  Xuncha__V1__Round *back[64];
  uint8_t *buf;
  size_t len = 0;
  for (int i = 0; i < 100; i++) add_str(&r->target_ids, &r->n_target_ids, T1);
  buf = xc_msg_pack(&r->base, 0, &len);
  CU_ASSERT_FATAL(buf != NULL);
  xc_arena_init(&a);
  for (int i = 0; i < 64; i++) {
    back[i] = (Xuncha__V1__Round *)xc_arena_unpack(&a, &xuncha__v1__round__descriptor, buf, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back[i]);
    CU_ASSERT_EQUAL(((uintptr_t)back[i]) % 16, 0);
  }
  /* Every message stays valid until the arena goes. */
  for (int i = 0; i < 64; i++) {
    CU_ASSERT_STRING_EQUAL(back[i]->id, R1);
    CU_ASSERT_EQUAL(back[i]->n_target_ids, 100);
    CU_ASSERT_STRING_EQUAL(back[i]->target_ids[99], T1);
  }
  CU_ASSERT_PTR_NULL(xc_arena_unpack(&a, &xuncha__v1__round__descriptor,
                                     (const uint8_t *)"\xff\xff\xff", 3));
  CU_ASSERT_FALSE(a.failed);
  xc_arena_destroy(&a);
  free(buf);
  xc_msg_free(r);
}

/* xc_msg_copy on oneofs (the reflection request has one): a string member,
 * a message member, and none set; the copy packs to the same bytes. */
static void test_msg_copy_oneof(void) {
  Grpc__Reflection__V1__ServerReflectionRequest rr =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  Grpc__Reflection__V1__ExtensionRequest ext = GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;
  rr.host = "h";
  rr.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  rr.file_containing_symbol = "xuncha.v1.Targets";
  ext.containing_type = "xuncha.v1.Finding";
  ext.extension_number = 7;
  for (int round = 0; round < 3; round++) {
    size_t n1 = 0, n2 = 0, n3 = 0;
    uint8_t *b1 = xc_msg_pack(&rr.base, 0, &n1), *b2, *b3;
    ProtobufCMessage *src, *copy;
    CU_ASSERT_FATAL(b1 != NULL);
    src = protobuf_c_message_unpack(rr.base.descriptor, NULL, n1, b1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    copy = xc_msg_copy(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    CU_ASSERT_EQUAL(((Grpc__Reflection__V1__ServerReflectionRequest *)copy)->message_request_case,
                    rr.message_request_case);
    b2 = xc_msg_pack(src, 0, &n2);
    xc_msg_free(src); /* the copy must not lean on it */
    b3 = xc_msg_pack(copy, 0, &n3);
    CU_ASSERT_FATAL(b2 != NULL && b3 != NULL);
    CU_ASSERT_TRUE(n2 == n3 && memcmp(b2, b3, n2) == 0);
    free(b1);
    free(b2);
    free(b3);
    xc_msg_free(copy);
    rr.message_request_case =
        round == 0
            ? GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION
            : GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST__NOT_SET;
    rr.file_containing_extension = &ext;
  }
}

/* The group, finding and lead checks again, with lent records. */
static void test_validate_group(void);
static void test_validate_finding(void);
static void test_validate_lead(void);
static void test_validate_lent(void) {
  lend_refs = 1;
  test_validate_group();
  test_validate_finding();
  test_validate_lead();
  lend_refs = 0;
}

/* ================================================================ record */

static void test_output_only_lists(void) {
  CU_ASSERT_TRUE(xc_record_output_only(XC_KIND_TARGET, "etag"));
  CU_ASSERT_TRUE(xc_record_output_only(XC_KIND_ROUND, "stage"));
  CU_ASSERT_TRUE(xc_record_output_only(XC_KIND_ROUND, "stage_dates"));
  CU_ASSERT_FALSE(xc_record_output_only(XC_KIND_ROUND, "region_code"));
  CU_ASSERT_TRUE(xc_record_output_only(XC_KIND_GROUP, "region_code"));
  CU_ASSERT_TRUE(xc_record_output_only(XC_KIND_LEAD, "disposal"));
  CU_ASSERT_FALSE(xc_record_output_only(XC_KIND_TARGET, "name"));
  CU_ASSERT_TRUE(xc_record_fixed(XC_KIND_TARGET, "region_code"));
  CU_ASSERT_TRUE(xc_record_fixed(XC_KIND_FINDING, "target_id"));
  CU_ASSERT_FALSE(xc_record_fixed(XC_KIND_LEAD, "recipient"));
  CU_ASSERT_EQUAL(xc_record_field_limit("description"), 16384);
  CU_ASSERT_EQUAL(xc_record_field_limit("target_ids"), 63);
  CU_ASSERT_EQUAL(xc_record_field_limit("name"), 256);
  {
    /* Every listed name, past the first-letter filter. */
    static const char *const text[] = {"description", "measures", "basis", "note", "summary",
                                       "text"};
    static const char *const ids[] = {"id", "round_id", "target_id", "finding_id",
                                      "target_ids"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
      CU_ASSERT_EQUAL(xc_record_field_limit(text[i]), XC_MAX_TEXT_BYTES);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
      CU_ASSERT_EQUAL(xc_record_field_limit(ids[i]), XC_ID_MAX - 1);
    CU_ASSERT_EQUAL(xc_record_field_limit("title"), XC_MAX_NAME_BYTES);
    CU_ASSERT_EQUAL(xc_record_field_limit("recipient"), XC_MAX_NAME_BYTES);
    CU_ASSERT_EQUAL(xc_record_field_limit(""), XC_MAX_NAME_BYTES);
  }
}

static void test_clear_output_only(void) {
  Xuncha__V1__Finding *f = malloc(sizeof *f);
  Xuncha__V1__Round *r = new_round(R1, "310104");
  Xuncha__V1__StageDate *sd = malloc(sizeof *sd);
  xuncha__v1__finding__init(f);
  set(f, "id", F1);
  set(f, "owner", "office:3101");
  set(f, "etag", "x");
  set(f, "region_code", "3101");
  set(f, "title", "问题");
  f->create_time_ms = 5;
  f->rectification = malloc(sizeof *f->rectification);
  xuncha__v1__rectification__init(f->rectification);
  f->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
  f->rectification->mode = XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE;
  xc_record_clear_output_only(XC_KIND_FINDING, &f->base);
  CU_ASSERT_STRING_EQUAL(f->id, "");
  CU_ASSERT_STRING_EQUAL(f->owner, "");
  CU_ASSERT_STRING_EQUAL(f->etag, "");
  CU_ASSERT_STRING_EQUAL(f->region_code, "");
  CU_ASSERT_EQUAL(f->create_time_ms, 0);
  CU_ASSERT_STRING_EQUAL(f->title, "问题");
  CU_ASSERT_EQUAL(f->rectification->status, 0);
  CU_ASSERT_EQUAL(f->rectification->mode,
                  XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE);

  xuncha__v1__stage_date__init(sd);
  set(sd, "date", "2025-01-01");
  r->stage_dates = malloc(sizeof *r->stage_dates);
  r->stage_dates[0] = sd;
  r->n_stage_dates = 1;
  r->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_FEEDBACK;
  xc_record_clear_output_only(XC_KIND_ROUND, &r->base);
  CU_ASSERT_EQUAL(r->stage, 0);
  CU_ASSERT_EQUAL(r->n_stage_dates, 0);
  CU_ASSERT_PTR_NULL(r->stage_dates);
  CU_ASSERT_STRING_EQUAL(r->region_code, "310104"); /* given on create, not output */
  xc_msg_free(f);
  xc_msg_free(r);
}

static void test_strip_unknown(void) {
  Xuncha__V1__Target *t = new_target(NULL, "3101", "x");
  size_t len = 0;
  uint8_t *buf = xc_msg_pack(&t->base, 0, &len);
  uint8_t wire[256];
  ProtobufCMessage *back;
  CU_ASSERT_FATAL(buf != NULL && len + 4 < sizeof wire);
  memcpy(wire, buf, len);
  /* field 99, varint 1: unknown to the schema */
  wire[len] = 0x98; /* tag of field 99, varint: (99 << 3) as a varint */
  wire[len + 1] = 0x06;
  wire[len + 2] = 0x01;
  back = protobuf_c_message_unpack(&xuncha__v1__target__descriptor, NULL, len + 3, wire);
  CU_ASSERT_PTR_NOT_NULL_FATAL(back);
  CU_ASSERT_EQUAL(back->n_unknown_fields, 1);
  xc_record_strip_unknown(back);
  CU_ASSERT_EQUAL(back->n_unknown_fields, 0);
  CU_ASSERT_EQUAL(protobuf_c_message_get_packed_size(back), len);
  free(buf);
  xc_msg_free(back);
  xc_msg_free(t);
}

static void test_check_strings(void) {
  Xuncha__V1__Target *t = new_target(NULL, "3101", "x");
  char *big = malloc(XC_MAX_TEXT_BYTES + 2);
  xc_err err;
  memset(big, 'a', XC_MAX_TEXT_BYTES + 1);
  big[XC_MAX_TEXT_BYTES + 1] = '\0';
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_TARGET, &t->base, &err), XC_OK);
  set(t, "note", big + 1); /* exactly the limit */
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_TARGET, &t->base, &err), XC_OK);
  set(t, "note", big);
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_TARGET, &t->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.note is 16385 bytes; the limit is 16384");
  set(t, "note", "");
  big[XC_MAX_NAME_BYTES + 1] = '\0';
  set(t, "name", big);
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_TARGET, &t->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.name is 257 bytes; the limit is 256");
  set(t, "name", "bad \xff utf8");
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_TARGET, &t->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.name is not valid UTF-8");
  free(big);
  xc_msg_free(t);
}

static void test_check_repeated_limit(void) {
  Xuncha__V1__Round *r = new_round(NULL, "310104");
  xc_err err;
  for (int i = 0; i <= XC_MAX_REPEATED; i++) add_str(&r->target_ids, &r->n_target_ids, T1);
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_ROUND, &r->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.target_ids has 257 entries; the limit is 256");
  xc_msg_free(r);
}

/* Messages about nested strings name the whole path, as before the path
 * was only written out on failure. */
static void test_check_strings_nested(void) {
  Xuncha__V1__Finding *f = malloc(sizeof *f);
  char *big = malloc(XC_MAX_TEXT_BYTES + 2);
  xc_err err;
  xuncha__v1__finding__init(f);
  f->rectification = malloc(sizeof *f->rectification);
  xuncha__v1__rectification__init(f->rectification);
  set(f->rectification, "measures", "整改 \xe5\xb7");
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_FINDING, &f->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding.rectification.measures is not valid UTF-8");
  memset(big, 'a', XC_MAX_TEXT_BYTES + 1);
  big[XC_MAX_TEXT_BYTES + 1] = '\0';
  set(f->rectification, "measures", big);
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_FINDING, &f->base, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "finding.rectification.measures is 16385 bytes; the limit is 16384");
  set(f->rectification, "measures", "整改");
  CU_ASSERT_EQUAL(xc_record_check_strings(XC_KIND_FINDING, &f->base, &err), XC_OK);
  free(big);
  xc_msg_free(f);
}

/* xc_record_clear_output_only works from a table made once per kind; it
 * must clear exactly the fields xc_record_output_only names, for every
 * record type. */
static void test_clear_output_only_table(void) {
  unsigned checked = 0, wrong = 0;
  for (int k = 0; k < XC_KIND_COUNT; k++) {
    const ProtobufCMessageDescriptor *d = xc_kind_descriptor((xc_kind)k);
    if (d == NULL) continue;
    for (unsigned i = 0; i < d->n_fields; i++) {
      const ProtobufCFieldDescriptor *fd = &d->fields[i];
      ProtobufCMessage *m;
      const char *after;
      if (fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED) continue;
      m = malloc(d->sizeof_message);
      CU_ASSERT_FATAL(m != NULL);
      d->message_init(m);
      CU_ASSERT_EQUAL_FATAL(xc_msg_set_str(m, fd->name, "x"), XC_OK);
      xc_record_clear_output_only((xc_kind)k, m);
      after = xc_msg_get_str(m, fd->name);
      if ((after[0] == '\0') != (xc_record_output_only((xc_kind)k, fd->name) != 0)) wrong++;
      checked++;
      xc_msg_free(m);
    }
  }
  CU_ASSERT_TRUE(checked > 20);
  CU_ASSERT_EQUAL(wrong, 0);
}

static void test_check_enums(void) {
  Xuncha__V1__Target *t = new_target(NULL, "3101", "x");
  Xuncha__V1__Finding *f = malloc(sizeof *f);
  xc_err err;
  CU_ASSERT_EQUAL(xc_record_check_enums(&t->base, "target", &err), XC_OK);
  t->kind = 99;
  CU_ASSERT_EQUAL(xc_record_check_enums(&t->base, "target", &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.kind 99 is not a known TargetKind");
  xuncha__v1__finding__init(f);
  f->rectification = malloc(sizeof *f->rectification);
  xuncha__v1__rectification__init(f->rectification);
  f->rectification->mode = 7;
  CU_ASSERT_EQUAL(xc_record_check_enums(&f->base, "finding", &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding.rectification.mode 7 is not a known RectificationMode");
  xc_msg_free(t);
  xc_msg_free(f);
}

static void test_check_unchanged(void) {
  Xuncha__V1__Round *stored = new_round(R1, "310104");
  Xuncha__V1__Round *sent = new_round(R1, "");
  xc_err err;
  stored->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
  set(stored, "owner", "office:310104");
  set(stored, "etag", "e1");
  stored->create_time_ms = 1000;
  /* Empty and zero values mean "unchanged"; a different etag is not this
   * function's business (the store answers ABORTED). */
  set(sent, "etag", "other");
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_OK);
  sent->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
  set(sent, "owner", "office:310104");
  sent->create_time_ms = 1000;
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_OK);
  sent->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_FEEDBACK;
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.stage is output only and cannot be changed (stored "
                         "PREPARATION, sent FEEDBACK)");
  sent->stage = 0;
  set(sent, "owner", "office:3101");
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.owner is output only and cannot be changed (stored "
                         "'office:310104', sent 'office:3101')");
  set(sent, "owner", "");
  sent->create_time_ms = 999;
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.create_time_ms is output only and cannot be changed "
                         "(stored 1000, sent 999)");
  sent->create_time_ms = 0;
  set(sent, "region_code", "310105");
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_ROUND, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.region_code cannot change after creation (stored "
                         "'310104', sent '310105')");
  xc_msg_free(stored);
  xc_msg_free(sent);
}

static void test_check_unchanged_rectification(void) {
  Xuncha__V1__Finding *stored = malloc(sizeof *stored), *sent = malloc(sizeof *sent);
  xc_err err;
  xuncha__v1__finding__init(stored);
  xuncha__v1__finding__init(sent);
  stored->rectification = malloc(sizeof *stored->rectification);
  xuncha__v1__rectification__init(stored->rectification);
  stored->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
  sent->rectification = malloc(sizeof *sent->rectification);
  xuncha__v1__rectification__init(sent->rectification);
  sent->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_VERIFIED;
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_FINDING, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "finding.rectification.status is output only and cannot be "
                         "changed (stored OPEN, sent VERIFIED)");
  sent->rectification->status = XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN;
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_FINDING, &sent->base, &stored->base, &err),
                  XC_OK);
  set(sent, "target_id", T2);
  set(stored, "target_id", T1);
  CU_ASSERT_EQUAL(xc_record_check_unchanged(XC_KIND_FINDING, &sent->base, &stored->base, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "finding.target_id cannot change after creation"));
  xc_msg_free(stored);
  xc_msg_free(sent);
}

static void test_check_mask(void) {
  char *ok[] = {"name", "note"};
  char *unknown[] = {"name", "nmae"};
  char *output[] = {"etag"};
  char *fixed[] = {"region_code"};
  char *nested[] = {"rectification.deadline"};
  xc_err err;
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_TARGET, ok, 2, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_TARGET, ok, 0, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_TARGET, unknown, 2, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(
      strstr(err.msg, "update_mask names 'nmae', which is not a field of target"));
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_TARGET, output, 1, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "update_mask names target.etag, which is output only");
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_TARGET, fixed, 1, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "update_mask names target.region_code, which cannot change after "
                         "creation");
  CU_ASSERT_EQUAL(xc_record_check_mask(XC_KIND_FINDING, nested, 1, &err), XC_EINVALID_ARGUMENT);
}

static void test_merge_mask(void) {
  Xuncha__V1__Target *stored = new_target(T1, "310104001", "旧名");
  Xuncha__V1__Target *sent = new_target(T1, "", "新名");
  Xuncha__V1__Target *out = NULL;
  char *mask[] = {"name"};
  xc_err err;
  set(stored, "note", "keep me");
  set(stored, "owner", "office:310104");
  set(stored, "etag", "e1");
  set(sent, "etag", "e1");
  set(sent, "party_secretary", "张三");
  sent->kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  CU_ASSERT_EQUAL_FATAL(xc_record_merge(XC_KIND_TARGET, &stored->base, &sent->base, mask, 1,
                                        (ProtobufCMessage **)&out, &err),
                        XC_OK);
  CU_ASSERT_STRING_EQUAL(out->name, "新名");
  CU_ASSERT_STRING_EQUAL(out->note, "keep me");
  CU_ASSERT_STRING_EQUAL(out->party_secretary, "");
  CU_ASSERT_EQUAL(out->kind, XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET);
  CU_ASSERT_STRING_EQUAL(out->owner, "office:310104");
  CU_ASSERT_STRING_EQUAL(out->region_code, "310104001");
  xc_msg_free(out);
  out = NULL;
  /* No mask: every mutable field takes the sent value, empty ones too. */
  CU_ASSERT_EQUAL_FATAL(xc_record_merge(XC_KIND_TARGET, &stored->base, &sent->base, NULL, 0,
                                        (ProtobufCMessage **)&out, &err),
                        XC_OK);
  CU_ASSERT_STRING_EQUAL(out->name, "新名");
  CU_ASSERT_STRING_EQUAL(out->note, "");
  CU_ASSERT_STRING_EQUAL(out->party_secretary, "张三");
  CU_ASSERT_EQUAL(out->kind, XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE);
  CU_ASSERT_STRING_EQUAL(out->owner, "office:310104");
  CU_ASSERT_STRING_EQUAL(out->region_code, "310104001");
  CU_ASSERT_STRING_EQUAL(out->etag, "e1");
  xc_msg_free(out);
  xc_msg_free(stored);
  xc_msg_free(sent);
}

static void test_merge_repeated_and_nested(void) {
  Xuncha__V1__Finding *stored = malloc(sizeof *stored), *sent = malloc(sizeof *sent);
  Xuncha__V1__Finding *out = NULL;
  char *mask[] = {"tags", "rectification"};
  xc_err err;
  xuncha__v1__finding__init(stored);
  xuncha__v1__finding__init(sent);
  set(stored, "title", "t");
  add_str(&stored->tags, &stored->n_tags, "四风");
  stored->rectification = malloc(sizeof *stored->rectification);
  xuncha__v1__rectification__init(stored->rectification);
  stored->rectification->status =
      XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_IN_PROGRESS;
  add_str(&sent->tags, &sent->n_tags, "假落实");
  add_str(&sent->tags, &sent->n_tags, "三重一大");
  sent->rectification = malloc(sizeof *sent->rectification);
  xuncha__v1__rectification__init(sent->rectification);
  set(sent->rectification, "deadline", "2025-06-30");
  CU_ASSERT_EQUAL_FATAL(xc_record_merge(XC_KIND_FINDING, &stored->base, &sent->base, mask, 2,
                                        (ProtobufCMessage **)&out, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(out->n_tags, 2);
  CU_ASSERT_STRING_EQUAL(out->tags[1], "三重一大");
  CU_ASSERT_STRING_EQUAL(out->title, "t");
  CU_ASSERT_STRING_EQUAL(out->rectification->deadline, "2025-06-30");
  /* The status inside the replaced rectification stays the stored one. */
  CU_ASSERT_EQUAL(out->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_IN_PROGRESS);
  xc_msg_free(out);
  out = NULL;
  /* Clearing the rectification keeps an empty one carrying the status. */
  xc_msg_free(sent->rectification);
  sent->rectification = NULL;
  CU_ASSERT_EQUAL_FATAL(xc_record_merge(XC_KIND_FINDING, &stored->base, &sent->base, mask, 2,
                                        (ProtobufCMessage **)&out, &err),
                        XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out->rectification);
  CU_ASSERT_STRING_EQUAL(out->rectification->deadline, "");
  CU_ASSERT_EQUAL(out->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_IN_PROGRESS);
  xc_msg_free(out);
  xc_msg_free(stored);
  xc_msg_free(sent);
}

static void test_fingerprint_and_names(void) {
  Xuncha__V1__Target *a = new_target(NULL, "3101", "x");
  Xuncha__V1__Target *b = new_target(NULL, "3101", "x");
  uint8_t fa[32], fb[32];
  char buf[96];
  CU_ASSERT_EQUAL(xc_record_fingerprint(&a->base, fa), XC_OK);
  CU_ASSERT_EQUAL(xc_record_fingerprint(&b->base, fb), XC_OK);
  CU_ASSERT_EQUAL(memcmp(fa, fb, 32), 0);
  set(b, "name", "y");
  CU_ASSERT_EQUAL(xc_record_fingerprint(&b->base, fb), XC_OK);
  CU_ASSERT_NOT_EQUAL(memcmp(fa, fb, 32), 0);
  CU_ASSERT_STRING_EQUAL(
      xc_record_enum_name(&xuncha__v1__round_stage__descriptor, 4, buf, sizeof buf), "FEEDBACK");
  CU_ASSERT_STRING_EQUAL(
      xc_record_enum_name(&xuncha__v1__lead_disposal__descriptor, 42, buf, sizeof buf), "42");
  CU_ASSERT_STRING_EQUAL(xc_record_quote("a\nb\xff巡", buf, sizeof buf), "a?b?巡");
  CU_ASSERT_TRUE(xc_record_blank(" \t"));
  CU_ASSERT_FALSE(xc_record_blank(" x"));
  xc_msg_free(a);
  xc_msg_free(b);
}

/* ============================================================== validate */

static void test_validate_target(void) {
  fake_db db;
  xc_err err;
  Xuncha__V1__Target *t = new_target(NULL, "310104001", "甲街道");
  memset(&db, 0, sizeof db);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_OK);
  set(t, "name", "  ");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.name is required");
  set(t, "name", "甲");
  t->kind = 0;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.kind is required");
  t->kind = 8;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.kind 8 is not a known TargetKind");
  t->kind = 1;
  set(t, "region_code", "3101041");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "target.region_code '3101041' is not a region code (2, 4, 6, 9 or 12 "
                         "digits)");
  set(t, "region_code", "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.region_code is required");
  /* Outside the caller's region, or not an office: PERMISSION_DENIED. */
  set(t, "region_code", "310105001");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg,
                                "office:310104 may not create a target in region "
                                "310105001"));
  set(t, "region_code", "310104001");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "agency:3101:jw", &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "auditor:3101", &err),
                  XC_EPERMISSION_DENIED);
  /* The city may create anywhere in the city; a village code is fine. */
  set(t, "region_code", "310105001002");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_TARGET, t, XC_VALIDATE_CREATE, "office:3101", &err), XC_OK);
  xc_msg_free(t);
}

static void test_validate_round(void) {
  fake_db db;
  xc_err err;
  Xuncha__V1__Round *r = new_round(NULL, "310104");
  fake_world(&db);
  add_str(&r->target_ids, &r->n_target_ids, T1);
  add_str(&r->target_ids, &r->n_target_ids, T2);
  set(r, "start_date", "2025-03-01");
  set(r, "end_date", "2025-05-01");
  CU_ASSERT_EQUAL_FATAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_CREATE, "office:310104", &err),
                        XC_OK);
  CU_ASSERT_EQUAL(r->stage, XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION);
  CU_ASSERT_EQUAL_FATAL(r->n_stage_dates, 1);
  CU_ASSERT_EQUAL(r->stage_dates[0]->stage, XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION);
  CU_ASSERT_STRING_EQUAL(r->stage_dates[0]->date, "2025-03-01");

  r->term = 0;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.term must be >= 1 (sent 0)");
  r->term = 1;
  r->number = -2;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.number must be >= 1 (sent -2)");
  r->number = 1;
  set(r, "start_date", "2025-13-01");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.start_date '2025-13-01' is not a date YYYY-MM-DD");
  set(r, "start_date", "2025-06-01");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.end_date 2025-05-01 is before round.start_date "
                         "2025-06-01");
  set(r, "start_date", "");
  set(r, "title", "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.title is required");
  set(r, "title", "t");
  r->kind = 0;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.kind is required");
  r->kind = 1;
  /* Targets: must exist and lie inside the round's region, once each. */
  add_str(&r->target_ids, &r->n_target_ids, T9);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.target_ids[2]: target " T9 " does not exist");
  set(r, "region_code", "310104"); /* keep */
  free(r->target_ids[2]);
  r->target_ids[2] = dupstr(T3);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.target_ids[2]: target " T3
                                  " (region 310105001) lies "
                                  "outside the round's region 310104");
  free(r->target_ids[2]);
  r->target_ids[2] = dupstr(T1);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "round.target_ids lists " T1 " twice");
  free(r->target_ids[2]);
  r->target_ids[2] = dupstr("x_1");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_ROUND, r, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "round.target_ids[2] 'x_1' is not a target id"));
  xc_msg_free(r);
  fake_free(&db);
}

static Xuncha__V1__Group *new_group(const char *round_id) {
  Xuncha__V1__Group *g = malloc(sizeof *g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  xuncha__v1__group__init(g);
  set(g, "round_id", round_id);
  set(g, "name", "第一巡察组");
  set(g, "leader", "王组长");
  add_str(&g->members, &g->n_members, "李");
  add_str(&g->members, &g->n_members, "赵");
  add_str(&g->target_ids, &g->n_target_ids, T1);
  return g;
}

static void test_validate_group(void) {
  fake_db db;
  xc_err err;
  Xuncha__V1__Group *g = new_group(R1);
  Xuncha__V1__Recusal *rc = malloc(sizeof *rc);
  fake_world(&db);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_OK);
  CU_ASSERT_STRING_EQUAL(g->region_code, "310104"); /* derived from the round */
  /* Recusals: member of the group, target of the group. */
  xuncha__v1__recusal__init(rc);
  set(rc, "member", "李");
  set(rc, "target_id", T1);
  g->recusals = malloc(sizeof *g->recusals);
  g->recusals[0] = rc;
  g->n_recusals = 1;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_OK);
  set(rc, "member", "王组长");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_OK);
  set(rc, "member", "钱");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "group.recusals[0].member '钱' is neither the group's leader "
                         "nor one of its members");
  set(rc, "member", "李");
  set(rc, "target_id", T2);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is not one of the group's targets"));
  set(rc, "target_id", T1);
  /* A target outside the round: FAILED_PRECONDITION. */
  add_str(&g->target_ids, &g->n_target_ids, T2);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target " T2 " is not one of round " R1 "'s targets"));
  xc_msg_free(g);

  /* The round must exist and be readable by the caller. */
  g = new_group(R9);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_STRING_EQUAL(err.msg, "round " R9 " named by group.round_id does not exist");
  xc_msg_free(g);
  g = new_group(R2);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_STRING_EQUAL(err.msg, "office:310104 may not read round " R2 " (region 310105)");
  xc_msg_free(g);
  g = new_group("");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_GROUP, g, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "group.round_id is required");
  xc_msg_free(g);
  fake_free(&db);
}

static Xuncha__V1__Finding *new_finding(const char *round_id, const char *target_id) {
  Xuncha__V1__Finding *f = malloc(sizeof *f);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  xuncha__v1__finding__init(f);
  set(f, "round_id", round_id);
  set(f, "target_id", target_id);
  set(f, "title", "三重一大事项未集体决策");
  f->area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_DISCIPLINE;
  add_str(&f->tags, &f->n_tags, "三重一大");
  return f;
}

static void test_validate_finding(void) {
  fake_db db;
  xc_err err;
  Xuncha__V1__Finding *f = new_finding(R1, T1);
  fake_world(&db);
  CU_ASSERT_EQUAL_FATAL(
      validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_CREATE, "office:310104", &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(f->region_code, "310104001");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f->rectification);
  CU_ASSERT_EQUAL(f->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN);
  set(f->rectification, "deadline", "2025-13-01");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "finding.rectification.deadline '2025-13-01' is not a date YYYY-MM-DD");
  set(f->rectification, "deadline", "2025-12-01");
  f->area = 0;
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding.area is required");
  f->area = 1;
  add_str(&f->tags, &f->n_tags, "三重一大");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding.tags lists '三重一大' twice");
  xc_msg_free(f);

  /* The target must be one of the round's. */
  f = new_finding(R1, T2);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EFAILED_PRECONDITION);
  CU_ASSERT_STRING_EQUAL(
      err.msg, "target " T2 " is not one of round " R1 "'s targets; add it to the round first");
  xc_msg_free(f);
  /* A township office may not create in its county's round (outside its
   * region), and it may not even read the county's round. */
  f = new_finding(R1, T1);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_CREATE, "office:310104002", &err),
                  XC_EPERMISSION_DENIED);
  xc_msg_free(f);
  f = new_finding(R1, "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_FINDING, f, XC_VALIDATE_CREATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "finding.target_id is required");
  xc_msg_free(f);
  fake_free(&db);
}

static Xuncha__V1__Lead *new_lead(void) {
  Xuncha__V1__Lead *l = malloc(sizeof *l);
  Xuncha__V1__Person *p = malloc(sizeof *p);
  CU_ASSERT_FATAL(l != NULL && p != NULL);
  xuncha__v1__lead__init(l);
  xuncha__v1__person__init(p);
  set(l, "round_id", R1);
  set(l, "target_id", T1);
  set(l, "recipient", "agency:3101:jw");
  set(l, "summary", "某某涉嫌违规收受礼金");
  set(p, "name", "某某");
  l->persons = malloc(sizeof *l->persons);
  l->persons[0] = p;
  l->n_persons = 1;
  l->category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
  return l;
}

static void test_validate_lead(void) {
  fake_db db;
  xc_err err;
  Xuncha__V1__Lead *l = new_lead();
  Xuncha__V1__Finding *f = new_finding(R1, T1);
  fake_world(&db);
  set(f, "id", F1);
  set(f, "region_code", "310104001");
  fake_add(&db, XC_KIND_FINDING, f);
  CU_ASSERT_EQUAL_FATAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_CREATE, "office:310104", &err),
                        XC_OK);
  CU_ASSERT_EQUAL(l->disposal, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING);
  CU_ASSERT_STRING_EQUAL(l->region_code, "310104001");
  set(l, "recipient", "office:3101");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lead.recipient 'office:3101' is not an agency identity"));
  set(l, "recipient", "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lead.recipient is required"));
  set(l, "recipient", "agency:3101:zzb");
  set(l->persons[0], "name", "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "lead.persons[0].name is required");
  set(l->persons[0], "name", "某某");
  set(l, "finding_id", F1);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err), XC_OK);
  /* A finding of another target does not fit the lead. */
  set(f, "target_id", T2);
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lead.finding_id " F1 " is a finding of round"));
  l->category = 0;
  set(l, "finding_id", "");
  CU_ASSERT_EQUAL(validate(&db, XC_KIND_LEAD, l, XC_VALIDATE_UPDATE, "office:310104", &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "lead.category is required");
  xc_msg_free(l);
  fake_free(&db);
}

/* ============================================================ page token */

static const uint8_t key1[32] = {1, 2, 3};
static const uint8_t key2[32] = {9, 9, 9};

static void test_page_token_round_trip(void) {
  char tok[XC_MAX_PAGE_TOKEN_BYTES + 1], id[XC_ID_MAX];
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(
      xc_page_token_make(key1, "office:3101", "/m", "f=1", 3, T2, tok, sizeof tok), XC_OK);
  CU_ASSERT(strlen(tok) > 0 && strlen(tok) <= XC_MAX_PAGE_TOKEN_BYTES);
  CU_ASSERT_PTR_NULL(strpbrk(tok, "+/="));
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, tok, id, &err),
      XC_OK);
  CU_ASSERT_STRING_EQUAL(id, T2);
}

static void test_page_token_refused(void) {
  char tok[XC_MAX_PAGE_TOKEN_BYTES + 1], bad[XC_MAX_PAGE_TOKEN_BYTES + 2], id[XC_ID_MAX];
  xc_err err;
  size_t n;
  CU_ASSERT_EQUAL_FATAL(
      xc_page_token_make(key1, "office:3101", "/m", "f=1", 3, T2, tok, sizeof tok), XC_OK);
  /* Another caller, method, filter set, secret or kind. */
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:310104", "/m", "f=1", 3, XC_KIND_TARGET, tok, id, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, XC_PAGE_TOKEN_MISMATCH);
  CU_ASSERT_STRING_EQUAL(id, "");
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/n", "f=1", 3, XC_KIND_TARGET, tok, id, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=2", 3, XC_KIND_TARGET, tok, id, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key2, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, tok, id, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_ROUND, tok, id, &err),
      XC_EINVALID_ARGUMENT);
  /* Every single-character change is caught. */
  n = strlen(tok);
  for (size_t i = 0; i < n; i++) {
    memcpy(bad, tok, n + 1);
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    CU_ASSERT_EQUAL(
        xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, bad, id, &err),
        XC_EINVALID_ARGUMENT);
  }
  /* Cut, extended, not base64url, too long. */
  memcpy(bad, tok, n + 1);
  bad[n - 1] = '\0';
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, bad, id, &err),
      XC_EINVALID_ARGUMENT);
  memcpy(bad, tok, n);
  memcpy(bad + n, "AA", 3);
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, bad, id, &err),
      XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET,
                                      "not a token!", id, &err),
                  XC_EINVALID_ARGUMENT);
  memset(bad, 'A', XC_MAX_PAGE_TOKEN_BYTES + 1);
  bad[XC_MAX_PAGE_TOKEN_BYTES + 1] = '\0';
  CU_ASSERT_EQUAL(
      xc_page_token_parse(key1, "office:3101", "/m", "f=1", 3, XC_KIND_TARGET, bad, id, &err),
      XC_EINVALID_ARGUMENT);
}

/* ================================================================== list */

static void test_list_filter_check(void) {
  xc_list_filter f;
  xc_err err;
  xc_list_filter_init(&f);
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, 0, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, -1, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "page_size must be >= 0"));
  f.region_prefix = "31a";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "region_prefix '31a' must be empty or up to 12 digits");
  f.region_prefix = "3101040010011";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, 10, &err), XC_EINVALID_ARGUMENT);
  f.region_prefix = "31010";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, 10, &err), XC_OK);
  f.kind = 42;
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_TARGET, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "kind 42 is not a known TargetKind");
  f.kind = 0;
  f.status = 42;
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_LEAD, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "disposal 42 is not a known LeadDisposal");
  f.status = 0;
  f.round_id = "r_bad";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_FINDING, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "round_id 'r_bad' is not a round id"));
  f.round_id = "";
  f.recipient = "office:3101";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_LEAD, &f, 10, &err), XC_EINVALID_ARGUMENT);
  f.recipient = "agency:3101:jw";
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_LEAD, &f, 10, &err), XC_OK);
  f.term = -1;
  CU_ASSERT_EQUAL(xc_list_filter_check(XC_KIND_ROUND, &f, 10, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_list_page_size(0), XC_DEFAULT_PAGE_SIZE);
  CU_ASSERT_EQUAL(xc_list_page_size(7), 7);
  CU_ASSERT_EQUAL(xc_list_page_size(5000), XC_MAX_PAGE_SIZE);
}

static void test_list_canon(void) {
  xc_list_filter a, b;
  char ca[1024], cb[1024];
  size_t na, nb;
  xc_list_filter_init(&a);
  xc_list_filter_init(&b);
  /* The same text split differently must not give the same form. */
  a.region_prefix = "3101";
  a.contains = "";
  b.region_prefix = "";
  b.contains = "3101";
  na = xc_list_filter_canon(&a, ca, sizeof ca);
  nb = xc_list_filter_canon(&b, cb, sizeof cb);
  CU_ASSERT(na > 0 && nb > 0);
  CU_ASSERT(na != nb || memcmp(ca, cb, na) != 0);
  b = a;
  nb = xc_list_filter_canon(&b, cb, sizeof cb);
  CU_ASSERT(na == nb && memcmp(ca, cb, na) == 0);
  CU_ASSERT_EQUAL(xc_list_filter_canon(&a, ca, 8), 0);
}

static void expect_plan(xc_kind kind, const char *cn, const xc_list_filter *f, int empty,
                        xc_index index, const char *key) {
  xc_identity id = who(cn);
  xc_list_plan p;
  xc_list_plan_make(kind, &id, f, &p);
  CU_ASSERT_EQUAL(p.empty, empty);
  if (!empty) {
    CU_ASSERT_EQUAL(p.index, index);
    CU_ASSERT_STRING_EQUAL(p.key, key);
  }
}

static void test_list_planner(void) {
  xc_list_filter f;
  xc_list_filter_init(&f);
  /* Region: the longer of the caller's region and the prefix. */
  expect_plan(XC_KIND_TARGET, "office:310104", &f, 0, XC_INDEX_REGION, "310104");
  f.region_prefix = "31";
  expect_plan(XC_KIND_TARGET, "office:310104", &f, 0, XC_INDEX_REGION, "310104");
  f.region_prefix = "310104001";
  expect_plan(XC_KIND_TARGET, "office:310104", &f, 0, XC_INDEX_REGION, "310104001");
  f.region_prefix = "310105";
  expect_plan(XC_KIND_TARGET, "office:310104", &f, 1, XC_INDEX_ALL, "");
  /* Auditors list no records at all: the audit log only (issue 7). */
  expect_plan(XC_KIND_TARGET, "auditor:3101", &f, 1, XC_INDEX_ALL, "");
  f.region_prefix = "";
  /* Status before region; round and target before status. */
  f.status = 4;
  expect_plan(XC_KIND_ROUND, "office:3101", &f, 0, XC_INDEX_STATUS, "4");
  expect_plan(XC_KIND_FINDING, "office:3101", &f, 0, XC_INDEX_STATUS, "4");
  f.target_id = T1;
  expect_plan(XC_KIND_ROUND, "office:3101", &f, 0, XC_INDEX_TARGET, T1);
  f.round_id = R1;
  expect_plan(XC_KIND_FINDING, "office:3101", &f, 0, XC_INDEX_ROUND, R1);
  expect_plan(XC_KIND_GROUP, "office:3101", &f, 0, XC_INDEX_ROUND, R1);
  /* Rounds have no round_id filter: target it is. */
  expect_plan(XC_KIND_ROUND, "office:3101", &f, 0, XC_INDEX_TARGET, T1);
  /* Leads: by role when no round/target is given. */
  xc_list_filter_init(&f);
  expect_plan(XC_KIND_LEAD, "office:310104", &f, 0, XC_INDEX_OWNER, "310104");
  expect_plan(XC_KIND_LEAD, "agency:3101:jw", &f, 0, XC_INDEX_RECIPIENT, "agency:3101:jw");
  expect_plan(XC_KIND_LEAD, "auditor:3101", &f, 1, XC_INDEX_ALL, "");
  expect_plan(XC_KIND_LEAD, "admin:3101", &f, 1, XC_INDEX_ALL, "");
  f.status = 1; /* disposal is a post-filter for leads */
  expect_plan(XC_KIND_LEAD, "office:3101", &f, 0, XC_INDEX_OWNER, "3101");
  f.recipient = "agency:3101:zzb";
  expect_plan(XC_KIND_LEAD, "office:3101", &f, 0, XC_INDEX_RECIPIENT, "agency:3101:zzb");
  expect_plan(XC_KIND_LEAD, "agency:3101:jw", &f, 1, XC_INDEX_ALL, "");
  f.round_id = R1;
  expect_plan(XC_KIND_LEAD, "agency:3101:jw", &f, 0, XC_INDEX_ROUND, R1);
}

static void test_list_match(void) {
  xc_identity county = who("office:310104");
  xc_list_filter f;
  Xuncha__V1__Target *t = new_target(T1, "310104001", "某某街道办事处");
  Xuncha__V1__Round *r = new_round(R1, "310104");
  xc_list_filter_init(&f);
  CU_ASSERT_TRUE(xc_list_match(XC_KIND_TARGET, &county, &f, &t->base));
  f.contains = "街道";
  CU_ASSERT_TRUE(xc_list_match(XC_KIND_TARGET, &county, &f, &t->base));
  f.contains = "乡";
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &county, &f, &t->base));
  f.contains = "";
  f.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_VILLAGE;
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &county, &f, &t->base));
  f.kind = 0;
  f.region_prefix = "310104002";
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &county, &f, &t->base));
  f.region_prefix = "";
  /* Never a record the caller may not read, whatever the index gave. */
  {
    xc_identity other = who("office:310105");
    CU_ASSERT_FALSE(xc_list_match(XC_KIND_TARGET, &other, &f, &t->base));
  }
  /* A kind mismatch is refused too. */
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_ROUND, &county, &f, &t->base));
  add_str(&r->target_ids, &r->n_target_ids, T1);
  f.target_id = T1;
  f.term = 12;
  CU_ASSERT_TRUE(xc_list_match(XC_KIND_ROUND, &county, &f, &r->base));
  f.target_id = T2;
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_ROUND, &county, &f, &r->base));
  f.target_id = "";
  f.term = 11;
  CU_ASSERT_FALSE(xc_list_match(XC_KIND_ROUND, &county, &f, &r->base));
  xc_msg_free(t);
  xc_msg_free(r);
}

/* ====================================================== lead visibility */

static void test_lead_visibility_matrix(void) {
  static const struct {
    const char *cn;
    int sees;
  } rows[] = {
      {"office:310104", 1},    /* the owner */
      {"office:3101", 1},      /* the city, above the owner */
      {"office:310104001", 0}, /* a township below the owner */
      {"office:310105", 0},    /* another county */
      {"office:3102", 0},      /* another city */
      {"agency:3101:jw", 1},   /* the recipient */
      {"agency:3101:zzb", 0},  /* another agency */
      {"agency:310104:jw", 0}, /* the county's commission, not the recipient */
      {"auditor:3101", 0},     {"admin:3101", 0},
  };
  Xuncha__V1__Lead *l = new_lead();
  xc_list_filter f;
  xc_list_filter_init(&f);
  set(l, "id", "l_00000000000000000000000001");
  set(l, "owner", "office:310104");
  set(l, "region_code", "310104001");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    xc_identity id = who(rows[i].cn);
    xc_err err;
    int sees = xc_validate_may_read(&id, XC_KIND_LEAD, &l->base);
    if (sees != rows[i].sees) fprintf(stderr, "lead visibility wrong for %s\n", rows[i].cn);
    CU_ASSERT_EQUAL(sees, rows[i].sees);
    CU_ASSERT_EQUAL(xc_list_match(XC_KIND_LEAD, &id, &f, &l->base), rows[i].sees);
    if (!rows[i].sees) {
      CU_ASSERT_EQUAL(xc_validate_read_denied(&id, XC_KIND_LEAD, &l->base, &err),
                      XC_EPERMISSION_DENIED);
      CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not read lead l_"));
    }
  }
  xc_msg_free(l);
}

/* ====================================================== handlers + store */

typedef struct fixture {
  char dir[64];
  xc_store *store;
} fixture;

static fixture fx;

static int fx_open(void) {
  xc_store_options o;
  xc_err err;
  memset(&fx, 0, sizeof fx);
  (void)snprintf(fx.dir, sizeof fx.dir, "/tmp/xc-test-server-XXXXXX");
  if (mkdtemp(fx.dir) == NULL) return -1;
  memset(&o, 0, sizeof o);
  o.dir = fx.dir;
  return xc_store_open(&o, &fx.store, &err) == XC_OK ? 0 : -1;
}

static int fx_close(void) {
  char cmd[128];
  xc_store_close(fx.store);
  fx.store = NULL;
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A call by the certificate CN cn on the fixture's store. */
static xc_ctx ctx_of(const char *cn) {
  return xc_test_ctx(fx.store, cn);
}

/* Creates a target through the handler; returns its id (free it) or NULL. */
static char *mk_target(xc_ctx *c, const char *region, const char *name) {
  Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target *out = NULL;
  xc_err err;
  char *id = NULL;
  req.target = new_target(NULL, region, name);
  if (xc_test_call(c, "/xuncha.v1.Targets/CreateTarget", &req, &out, &err) == XC_OK)
    id = dupstr(out->id);
  else
    fprintf(stderr, "mk_target: %s\n", err.msg);
  xc_msg_free(out);
  xc_msg_free(req.target);
  return id;
}

static void test_handlers_target_crud(void) {
  xc_ctx county = ctx_of("office:310104"), other = ctx_of("office:310105"),
         city = ctx_of("office:3101");
  Xuncha__V1__CreateTargetRequest creq = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__GetTargetRequest greq = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  Xuncha__V1__UpdateTargetRequest ureq = XUNCHA__V1__UPDATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target *t = NULL, *t2 = NULL, *got = NULL;
  char *mask[] = {"note"};
  xc_err err;

  creq.target = new_target("t_ignored", "310104001", "甲街道");
  set(creq.target, "owner", "office:9999"); /* output only: ignored */
  creq.request_id = "req-1";
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                        XC_OK);
  CU_ASSERT_TRUE(xc_id_valid(XC_KIND_TARGET, t->id));
  CU_ASSERT_STRING_EQUAL(t->owner, "office:310104");
  CU_ASSERT_STRING_EQUAL(t->created_by, "office:310104#0A");
  CU_ASSERT_NOT_EQUAL(t->etag[0], '\0');
  /* The same request id again returns the same record. */
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t2, &err),
                  XC_OK);
  CU_ASSERT_STRING_EQUAL(t2->id, t->id);
  xc_msg_free(t2);
  /* ... and a different request under it is refused. */
  set(creq.target, "name", "乙街道");
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t2, &err),
                  XC_EALREADY_EXISTS);

  /* Get: the owner and the city may read it; the neighbour county may not. */
  greq.id = t->id;
  CU_ASSERT_EQUAL(xc_test_call(&city, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err), XC_OK);
  xc_msg_free(got);
  CU_ASSERT_EQUAL(xc_test_call(&other, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err),
                  XC_EPERMISSION_DENIED);
  {
    char want[160];
    (void)snprintf(want, sizeof want, "office:310105 may not read target %s (region 310104001)",
                   t->id);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
  }
  greq.id = "t_00000000000000000000000000";
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err),
                  XC_ENOT_FOUND);
  /* A malformed or missing id is the caller's error, not a record missing
   * (the store checks the id; the handler names the fault when it finds
   * nothing). */
  greq.id = "t_0000000000000000000000000I";
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "id 't_0000000000000000000000000I' is not a target id"));
  greq.id = "f_00000000000000000000000000";
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err),
                  XC_EINVALID_ARGUMENT);
  greq.id = "";
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/GetTarget", &greq, &got, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "id is required");

  /* Update with a mask, by the owner. */
  ureq.target = new_target(t->id, "", "");
  set(ureq.target, "note", "已核实");
  ureq.update_mask = mask;
  ureq.n_update_mask = 1;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &got, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.etag is required: read the record first");
  set(ureq.target, "etag", t->etag);
  /* Not the owner: PERMISSION_DENIED, even from the city, before the etag. */
  CU_ASSERT_EQUAL(xc_test_call(&city, "/xuncha.v1.Targets/UpdateTarget", &ureq, &got, &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL(xc_test_call(&other, "/xuncha.v1.Targets/UpdateTarget", &ureq, &got, &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &got, &err),
                        XC_OK);
  CU_ASSERT_STRING_EQUAL(got->note, "已核实");
  CU_ASSERT_STRING_EQUAL(got->name, "甲街道");
  CU_ASSERT_STRING_NOT_EQUAL(got->etag, t->etag);
  /* The old etag is stale now. */
  xc_msg_free(t2);
  t2 = NULL;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &t2, &err),
                  XC_EABORTED);
  /* An output-only field that differs is refused; the stored one is kept. */
  set(ureq.target, "etag", got->etag);
  set(ureq.target, "owner", "office:310105");
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &t2, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target.owner is output only"));
  set(ureq.target, "owner", "");
  set(ureq.target, "region_code", "310104002");
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &t2, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target.region_code cannot change after creation"));
  /* Full replacement without a mask: a missing name fails validation. */
  set(ureq.target, "region_code", "");
  ureq.n_update_mask = 0;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/UpdateTarget", &ureq, &t2, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target.name is required");
  /* Nothing of the refused updates was stored. */
  greq.id = t->id;
  xc_msg_free(t2);
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/GetTarget", &greq, &t2, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(t2->etag, got->etag);
  CU_ASSERT_STRING_EQUAL(t2->owner, "office:310104");

  xc_msg_free(t);
  xc_msg_free(t2);
  xc_msg_free(got);
  xc_msg_free(creq.target);
  xc_msg_free(ureq.target);
}

static void test_handlers_create_denied(void) {
  xc_ctx county = ctx_of("office:310104"), jw = ctx_of("agency:3101:jw"),
         aud = ctx_of("auditor:3101");
  Xuncha__V1__CreateTargetRequest creq = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target *t = NULL;
  xc_err err;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "target is required");
  creq.target = new_target(NULL, "310105001", "邻县街道");
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                  XC_EPERMISSION_DENIED);
  set(creq.target, "region_code", "310104001");
  CU_ASSERT_EQUAL(xc_test_call(&jw, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL(xc_test_call(&aud, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                  XC_EPERMISSION_DENIED);
  {
    char rid[XC_MAX_REQUEST_ID_BYTES + 2];
    memset(rid, 'r', sizeof rid - 1);
    rid[sizeof rid - 1] = '\0';
    creq.request_id = rid;
    CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/CreateTarget", &creq, &t, &err),
                    XC_EINVALID_ARGUMENT);
    CU_ASSERT_STRING_EQUAL(err.msg, "request_id is 129 bytes; the limit is 128");
    creq.request_id = (char *)protobuf_c_empty_string;
  }
  xc_msg_free(creq.target);
}

static void test_handlers_round_finding_lead(void) {
  xc_ctx county = ctx_of("office:310104"), city = ctx_of("office:3101"),
         jw = ctx_of("agency:3101:jw"), zzb = ctx_of("agency:3101:zzb"),
         aud = ctx_of("auditor:3101"), town = ctx_of("office:310104001");
  char *t1 = mk_target(&county, "310104001", "甲街道");
  char *t2 = mk_target(&county, "310104002", "乙街道");
  Xuncha__V1__CreateRoundRequest rreq = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__CreateFindingRequest freq = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
  Xuncha__V1__CreateLeadRequest lreq = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
  Xuncha__V1__GetLeadRequest glreq = XUNCHA__V1__GET_LEAD_REQUEST__INIT;
  Xuncha__V1__ListLeadsRequest llreq = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
  Xuncha__V1__UpdateRoundRequest ureq = XUNCHA__V1__UPDATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round *round = NULL, *r2 = NULL;
  Xuncha__V1__Finding *fnd = NULL;
  Xuncha__V1__Lead *lead = NULL, *lg = NULL;
  Xuncha__V1__ListLeadsResponse *ll = NULL;
  char *mask[] = {"stage"};
  xc_err err;
  CU_ASSERT_FATAL(t1 != NULL && t2 != NULL);

  rreq.round = new_round(NULL, "310104");
  add_str(&rreq.round->target_ids, &rreq.round->n_target_ids, t1);
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Rounds/CreateRound", &rreq, &round, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(round->stage, XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION);
  CU_ASSERT_EQUAL(round->n_stage_dates, 1);

  /* The stage is output only: naming it in a mask or changing it fails. */
  ureq.round = (Xuncha__V1__Round *)xc_msg_clone(&round->base);
  ureq.update_mask = mask;
  ureq.n_update_mask = 1;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Rounds/UpdateRound", &ureq, &r2, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, "update_mask names round.stage, which is output only");
  ureq.n_update_mask = 0;
  ureq.round->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_FEEDBACK;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Rounds/UpdateRound", &ureq, &r2, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg,
                         "round.stage is output only and cannot be changed (stored "
                         "PREPARATION, sent FEEDBACK)");
  /* Sending back what was read (stage dates included) is fine. */
  ureq.round->stage = XUNCHA__V1__ROUND_STAGE__ROUND_STAGE_PREPARATION;
  set(ureq.round, "title", "第3轮巡察（调整）");
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Rounds/UpdateRound", &ureq, &r2, &err), XC_OK);
  if (r2 != NULL) {
    CU_ASSERT_STRING_EQUAL(r2->title, "第3轮巡察（调整）");
    CU_ASSERT_EQUAL(r2->n_stage_dates, 1);
  }

  /* A finding at a target outside the round: FAILED_PRECONDITION. */
  freq.finding = new_finding(round->id, t2);
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Findings/CreateFinding", &freq, &fnd, &err),
                  XC_EFAILED_PRECONDITION);
  set(freq.finding, "target_id", t1);
  CU_ASSERT_EQUAL_FATAL(
      xc_test_call(&county, "/xuncha.v1.Findings/CreateFinding", &freq, &fnd, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(fnd->region_code, "310104001");
  CU_ASSERT_EQUAL(fnd->rectification->status,
                  XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_OPEN);

  /* A lead is sent to a directory entry: the city lists its commission. */
  {
    Xuncha__V1__CreateDirectoryEntryRequest dreq = XUNCHA__V1__CREATE_DIRECTORY_ENTRY_REQUEST__INIT;
    Xuncha__V1__DirectoryEntry de = XUNCHA__V1__DIRECTORY_ENTRY__INIT, *dout = NULL;
    de.region_code = "3101";
    de.name = "市纪委监委";
    de.kind = XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION;
    de.identity = "agency:3101:jw";
    dreq.entry = &de;
    CU_ASSERT_EQUAL(
        xc_test_call(&city, "/xuncha.v1.Directory/CreateDirectoryEntry", &dreq, &dout, &err),
        XC_OK);
    xc_msg_free(dout);
  }
  lreq.lead = new_lead();
  set(lreq.lead, "round_id", round->id);
  set(lreq.lead, "target_id", t1);
  set(lreq.lead, "finding_id", fnd->id);
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Leads/CreateLead", &lreq, &lead, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(lead->disposal, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_PENDING);

  /* Get and List by each kind of caller agree with the lead rule. */
  glreq.id = lead->id;
  {
    struct {
      xc_ctx *c;
      int sees;
    } rows[] = {{&county, 1}, {&city, 1}, {&jw, 1}, {&zzb, 0}, {&aud, 0}, {&town, 0}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
      int rc = xc_test_call(rows[i].c, "/xuncha.v1.Leads/GetLead", &glreq, &lg, &err);
      CU_ASSERT_EQUAL(rc, rows[i].sees ? XC_OK : XC_EPERMISSION_DENIED);
      xc_msg_free(lg);
      lg = NULL;
      rc = xc_test_call(rows[i].c, "/xuncha.v1.Leads/ListLeads", &llreq, &ll, &err);
      CU_ASSERT_EQUAL(rc, XC_OK);
      if (ll != NULL) CU_ASSERT_EQUAL(ll->n_leads, rows[i].sees ? 1u : 0u);
      xc_msg_free(ll);
      ll = NULL;
    }
  }
  /* The recipient agency may read but not change it. */
  {
    Xuncha__V1__UpdateLeadRequest ul = XUNCHA__V1__UPDATE_LEAD_REQUEST__INIT;
    ul.lead = lead;
    CU_ASSERT_EQUAL(xc_test_call(&jw, "/xuncha.v1.Leads/UpdateLead", &ul, &lg, &err),
                    XC_EPERMISSION_DENIED);
  }

  xc_msg_free(rreq.round);
  xc_msg_free(ureq.round);
  xc_msg_free(freq.finding);
  xc_msg_free(lreq.lead);
  xc_msg_free(round);
  xc_msg_free(r2);
  xc_msg_free(fnd);
  xc_msg_free(lead);
  free(t1);
  free(t2);
}

static void test_handlers_paging(void) {
  xc_ctx county = ctx_of("office:310105"), city = ctx_of("office:3101"),
         other = ctx_of("office:310106");
  Xuncha__V1__ListTargetsRequest req = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
  Xuncha__V1__ListTargetsResponse *resp = NULL;
  char *ids[25];
  char token[XC_MAX_PAGE_TOKEN_BYTES + 1];
  size_t seen = 0;
  int pages = 0;
  xc_err err;

  for (int i = 0; i < 25; i++) {
    char name[32];
    (void)snprintf(name, sizeof name, "%s%02d", i % 2 ? "村" : "社区", i);
    ids[i] = mk_target(&county, "310105001", name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids[i]);
  }
  /* 25 records in pages of 10: 10, 10, 5, in creation order. */
  req.page_size = 10;
  req.region_prefix = "310105";
  token[0] = '\0';
  do {
    req.page_token = token;
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                          XC_OK);
    for (size_t i = 0; i < resp->n_targets && seen < 25; i++, seen++)
      CU_ASSERT_STRING_EQUAL(resp->targets[i]->id, ids[seen]);
    (void)snprintf(token, sizeof token, "%s", resp->next_page_token);
    pages++;
    xc_msg_free(resp);
    resp = NULL;
  } while (token[0] != '\0' && pages < 10);
  CU_ASSERT_EQUAL(seen, 25);
  CU_ASSERT_EQUAL(pages, 3);

  /* A token only works for the same caller and filters. */
  req.page_token = "";
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                        XC_OK);
  (void)snprintf(token, sizeof token, "%s", resp->next_page_token);
  xc_msg_free(resp);
  resp = NULL;
  req.page_token = token;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_STRING_EQUAL(err.msg, XC_PAGE_TOKEN_MISMATCH);
  req.name_contains = "村";
  CU_ASSERT_EQUAL(xc_test_call(&city, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                  XC_EINVALID_ARGUMENT);
  req.name_contains = "";

  /* A filter outside the caller's region gives an empty list, not an error. */
  req.page_token = "";
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&other, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(resp->n_targets, 0);
  CU_ASSERT_STRING_EQUAL(resp->next_page_token, "");
  xc_msg_free(resp);
  resp = NULL;

  /* A sparse filter with a small scan budget stops early with a token and
   * still finds everything, page after page. */
  req.name_contains = "社区";
  req.page_size = 100;
  county.scan_budget = 4;
  token[0] = '\0';
  seen = 0;
  pages = 0;
  do {
    req.page_token = token;
    CU_ASSERT_EQUAL_FATAL(
        xc_test_call(&county, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err), XC_OK);
    CU_ASSERT(resp->n_targets <= 4);
    for (size_t i = 0; i < resp->n_targets; i++)
      CU_ASSERT_PTR_NOT_NULL(strstr(resp->targets[i]->name, "社区"));
    seen += resp->n_targets;
    (void)snprintf(token, sizeof token, "%s", resp->next_page_token);
    pages++;
    xc_msg_free(resp);
    resp = NULL;
  } while (token[0] != '\0' && pages < 20);
  CU_ASSERT_EQUAL(seen, 13);
  CU_ASSERT(pages >= 7);

  /* page_size < 0 is refused. */
  req.page_token = "";
  req.page_size = -5;
  CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Targets/ListTargets", &req, &resp, &err),
                  XC_EINVALID_ARGUMENT);
  for (int i = 0; i < 25; i++) free(ids[i]);
}

/* The record as the server used to send it: unpacked from the store,
 * decorated for today, whole. The caller frees it. */
static ProtobufCMessage *reference(xc_kind kind, const char *id) {
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL;
  xc_err err;
  char today[11];
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_get(snap, kind, id, &rec, &err), XC_OK);
  xc_snapshot_end(snap);
  xc_today_cst(today);
  CU_ASSERT_EQUAL_FATAL(xc_workflow_decorate(kind, rec, today), XC_OK);
  return rec;
}

/*
 * Stores record id of kind again with two fields this server does not know
 * (a varint and a string, as a newer server's record may carry), through
 * the store, which keeps them.
 */
static void add_unknown_fields(xc_kind kind, const char *id) {
  static const uint8_t varint[] = {0x96, 0x01};
  static const uint8_t bytes[] = {0x02, 'z', 'z'};
  xc_snapshot *snap = NULL;
  ProtobufCMessage *rec = NULL, *out = NULL;
  ProtobufCMessageUnknownField *uf;
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_begin(fx.store, &snap, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_snapshot_get(snap, kind, id, &rec, &err), XC_OK);
  xc_snapshot_end(snap);
  CU_ASSERT_EQUAL_FATAL(rec->n_unknown_fields, 0);
  uf = calloc(2, sizeof *uf);
  CU_ASSERT_PTR_NOT_NULL_FATAL(uf);
  uf[0].tag = 900;
  uf[0].wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
  uf[0].len = sizeof varint;
  uf[0].data = malloc(sizeof varint);
  uf[1].tag = 901;
  uf[1].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
  uf[1].len = sizeof bytes;
  uf[1].data = malloc(sizeof bytes);
  CU_ASSERT_FATAL(uf[0].data != NULL && uf[1].data != NULL);
  memcpy(uf[0].data, varint, sizeof varint);
  memcpy(uf[1].data, bytes, sizeof bytes);
  rec->unknown_fields = uf;
  rec->n_unknown_fields = 2;
  CU_ASSERT_EQUAL(xc_store_update(fx.store, kind, rec, "office:310107#0A", &out, &err), XC_OK);
  xc_msg_free(out);
  xc_msg_free(rec);
}

/*
 * Calls a List method as the unit tests do and checks every record against
 * the reference (the record unpacked whole from the store, decorated and
 * packed). Returns how many records carried unknown fields.
 */
static size_t list_as_reference(xc_ctx *c, const char *path, const void *req, xc_kind kind) {
  ProtobufCMessage *resp = NULL;
  xc_err err;
  size_t n, with_unknown = 0;
  ProtobufCMessage *const *recs;
  CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(c, path, req, &resp, &err), XC_OK);
  n = *(const size_t *)(const void *)((const char *)resp +
                                      resp->descriptor->fields[0].quantifier_offset);
  recs = *(ProtobufCMessage *const *const *)(const void *)((const char *)resp +
                                                          resp->descriptor->fields[0].offset);
  CU_ASSERT(n > 0);
  for (size_t i = 0; i < n; i++) {
    ProtobufCMessage *ref = reference(kind, xc_msg_get_str(recs[i], "id"));
    CU_ASSERT(xc_msg_same_bytes(recs[i], ref));
    if (ref->n_unknown_fields > 0) with_unknown++;
    xc_msg_free(ref);
  }
  xc_msg_free(resp);
  return with_unknown;
}

/*
 * Calls a List method twice, once as the unit tests do (records as
 * messages, packed whole) and once as the transport does for a unary call
 * (ctx->packed_reply_ok: the handler packs the reply from the stored bytes
 * itself, into ctx->reply_wire). The bytes must be identical, and the
 * response the audit reads must name the same records in the same order.
 * Returns the number of records (or -1 on a failed call); next_token, when
 * not NULL, receives the page token (XC_MAX_PAGE_TOKEN_BYTES + 1 bytes).
 */
static int packed_list_same(xc_ctx *c, const char *path, const void *req, char *next_token) {
  ProtobufCMessage *a = NULL, *b = NULL;
  uint8_t *pa = NULL;
  size_t la = 0, na, nb;
  xc_err err;
  int rc, n = -1;
  c->packed_reply_ok = 0;
  rc = xc_test_call_raw(c, path, req, &a, &err);
  CU_ASSERT_EQUAL(rc, XC_OK);
  CU_ASSERT_PTR_NULL(c->reply_wire);
  if (rc != XC_OK) goto done;
  c->packed_reply_ok = 1;
  rc = xc_test_call_raw(c, path, req, &b, &err);
  c->packed_reply_ok = 0;
  CU_ASSERT_EQUAL(rc, XC_OK);
  if (rc != XC_OK) goto done;
  pa = xc_msg_pack(a, 0, &la);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
  na = *(const size_t *)((const char *)a + a->descriptor->fields[0].quantifier_offset);
  nb = *(const size_t *)((const char *)b + b->descriptor->fields[0].quantifier_offset);
  CU_ASSERT_EQUAL(na, nb);
  if (c->reply_wire == NULL) {
    /* Nothing packed by hand: only a page without records may do that. */
    uint8_t *pb;
    size_t lb = 0;
    CU_ASSERT_EQUAL(na, 0);
    pb = xc_msg_pack(b, 0, &lb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
    CU_ASSERT(lb == la && (la == 0 || memcmp(pa, pb, la) == 0));
    free(pb);
  } else {
    CU_ASSERT_EQUAL(c->reply_wire_len, la);
    CU_ASSERT(c->reply_wire_len == la && memcmp(c->reply_wire, pa, la) == 0);
  }
  if (na == nb) {
    ProtobufCMessage *const *ra =
        *(ProtobufCMessage *const *const *)((const char *)a + a->descriptor->fields[0].offset);
    ProtobufCMessage *const *rb =
        *(ProtobufCMessage *const *const *)((const char *)b + b->descriptor->fields[0].offset);
    for (size_t i = 0; i < na; i++) {
      const char *ia = xc_msg_get_str(ra[i], "id"), *ib = xc_msg_get_str(rb[i], "id");
      CU_ASSERT(ia != NULL && ib != NULL && ia[0] != '\0' && strcmp(ia, ib) == 0);
    }
  }
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(a, "next_page_token"), xc_msg_get_str(b, "next_page_token"));
  if (next_token != NULL)
    xc_strlcpy(next_token, xc_msg_get_str(a, "next_page_token"), XC_MAX_PAGE_TOKEN_BYTES + 1);
  n = (int)na;
done:
  xc_replybuf_free(c->reply_wire);
  c->reply_wire = NULL;
  c->reply_wire_len = 0;
  free(pa);
  xc_msg_free(a);
  xc_msg_free(b);
  return n;
}

/* Walks every page of a List (req, whose page_token field is *page_token)
 * with packed_list_same, at most 20 pages; returns the records seen. */
static int packed_walk(xc_ctx *c, const char *path, const void *req, char **page_token) {
  static char tok[XC_MAX_PAGE_TOKEN_BYTES + 1];
  int total = 0, pages = 0, n;
  *page_token = "";
  do {
    n = packed_list_same(c, path, req, tok);
    CU_ASSERT_FATAL(n >= 0);
    total += n;
    pages++;
    *page_token = tok;
  } while (tok[0] != '\0' && pages < 20);
  *page_token = "";
  return total;
}

/*
 * List and Get replies carry the stored bytes of each record with its
 * read-time fields packed anew (server/xc_rawrec.h): every record must pack
 * to exactly the bytes of the record unpacked from the store, decorated and
 * packed whole (as replies were made before), for findings with and without deadlines, past ones (overdue,
 * negative days) and future ones, and for leads with and without transfer
 * dates (report due date and overdue flag).
 */
static void test_handlers_list_bytes(void) {
  xc_ctx county = ctx_of("office:310107"), city = ctx_of("office:3101");
  char *t1 = mk_target(&county, "310107001", "丙街道");
  Xuncha__V1__CreateRoundRequest rreq = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round *round = NULL;
  static const char *const deadlines[] = {"", "2020-03-01", "2099-12-31", "2024-02-29"};
  static const char *const transfers[] = {"", "2021-01-15", "2099-01-01"};
  Xuncha__V1__ListFindingsRequest lf = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
  Xuncha__V1__ListFindingsResponse *fr = NULL;
  Xuncha__V1__ListLeadsRequest ll = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
  Xuncha__V1__ListLeadsResponse *lr = NULL;
  size_t overdue = 0;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(t1);

  rreq.round = new_round(NULL, "310107");
  add_str(&rreq.round->target_ids, &rreq.round->n_target_ids, t1);
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Rounds/CreateRound", &rreq, &round, &err),
                        XC_OK);
  {
    Xuncha__V1__CreateDirectoryEntryRequest dreq = XUNCHA__V1__CREATE_DIRECTORY_ENTRY_REQUEST__INIT;
    Xuncha__V1__DirectoryEntry de = XUNCHA__V1__DIRECTORY_ENTRY__INIT, *dout = NULL;
    de.region_code = "3101";
    de.name = "市纪委监委";
    de.kind = XUNCHA__V1__DIRECTORY_KIND__DIRECTORY_KIND_DISCIPLINE_COMMISSION;
    de.identity = "agency:3101:jw";
    dreq.entry = &de;
    /* It may exist already from another test: either way it is there. */
    (void)xc_test_call(&city, "/xuncha.v1.Directory/CreateDirectoryEntry", &dreq, &dout, &err);
    xc_msg_free(dout);
  }
  for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++) {
    Xuncha__V1__CreateFindingRequest freq = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding *out = NULL;
    freq.finding = new_finding(round->id, t1);
    if (deadlines[i][0] != '\0') {
      freq.finding->rectification = malloc(sizeof *freq.finding->rectification);
      CU_ASSERT_PTR_NOT_NULL_FATAL(freq.finding->rectification);
      xuncha__v1__rectification__init(freq.finding->rectification);
      set(freq.finding->rectification, "deadline", deadlines[i]);
      set(freq.finding->rectification, "measures", "建立制度");
    }
    CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Findings/CreateFinding", &freq, &out, &err), XC_OK);
    xc_msg_free(freq.finding);
    xc_msg_free(out);
  }
  for (size_t i = 0; i < sizeof transfers / sizeof transfers[0]; i++) {
    Xuncha__V1__CreateLeadRequest lreq = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
    Xuncha__V1__Lead *out = NULL;
    lreq.lead = new_lead();
    set(lreq.lead, "round_id", round->id);
    set(lreq.lead, "target_id", t1);
    set(lreq.lead, "transfer_date", transfers[i]);
    CU_ASSERT_EQUAL(xc_test_call(&county, "/xuncha.v1.Leads/CreateLead", &lreq, &out, &err), XC_OK);
    xc_msg_free(lreq.lead);
    xc_msg_free(out);
  }

  lf.round_id = round->id;
  CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(&city, "/xuncha.v1.Findings/ListFindings", &lf, &fr, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(fr->n_findings, sizeof deadlines / sizeof deadlines[0]);
  for (size_t i = 0; i < fr->n_findings; i++) {
    Xuncha__V1__GetFindingRequest g = XUNCHA__V1__GET_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding *got = NULL;
    Xuncha__V1__Finding *ref = (Xuncha__V1__Finding *)reference(XC_KIND_FINDING,
                                                                 fr->findings[i]->id);
    g.id = fr->findings[i]->id;
    CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(&city, "/xuncha.v1.Findings/GetFinding", &g, &got, &err),
                          XC_OK);
    CU_ASSERT(xc_msg_same_bytes(&fr->findings[i]->base, &ref->base));
    CU_ASSERT(xc_msg_same_bytes(&got->base, &ref->base));
    if (ref->flags != NULL && ref->flags->overdue) overdue++;
    xc_msg_free(got);
    xc_msg_free(&ref->base);
  }
  /* 2020-03-01 and 2024-02-29 are past: the flags really differ by record. */
  CU_ASSERT_EQUAL(overdue, 2);
  /* The overdue filter reads the flags computed at list time. */
  fr = (Xuncha__V1__ListFindingsResponse *)xc_test_round_trip(&fr->base);
  xc_msg_free(fr);
  fr = NULL;
  lf.overdue = 1;
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Findings/ListFindings", &lf, &fr, &err), XC_OK);
  CU_ASSERT_EQUAL(fr->n_findings, 2);
  for (size_t i = 0; i < fr->n_findings; i++) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr->findings[i]->flags);
    CU_ASSERT(fr->findings[i]->flags->overdue);
    CU_ASSERT(fr->findings[i]->flags->days_to_deadline < 0);
    CU_ASSERT_STRING_EQUAL(fr->findings[i]->title, "三重一大事项未集体决策");
  }
  xc_msg_free(fr);
  fr = NULL;
  /* A region prefix between levels walks the 6-digit level and filters the
   * rest on the stored bytes (xc_snapshot_scan_raw). */
  lf.overdue = 0;
  lf.round_id = "";
  lf.region_prefix = "3101070";
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Findings/ListFindings", &lf, &fr, &err), XC_OK);
  CU_ASSERT_EQUAL(fr->n_findings, sizeof deadlines / sizeof deadlines[0]);
  xc_msg_free(fr);
  fr = NULL;
  lf.region_prefix = "3101079";
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Findings/ListFindings", &lf, &fr, &err), XC_OK);
  CU_ASSERT_EQUAL(fr->n_findings, 0);
  xc_msg_free(fr);

  ll.round_id = round->id;
  CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(&city, "/xuncha.v1.Leads/ListLeads", &ll, &lr, &err), XC_OK);
  CU_ASSERT_EQUAL(lr->n_leads, sizeof transfers / sizeof transfers[0]);
  for (size_t i = 0; i < lr->n_leads; i++) {
    Xuncha__V1__GetLeadRequest g = XUNCHA__V1__GET_LEAD_REQUEST__INIT;
    Xuncha__V1__Lead *got = NULL;
    Xuncha__V1__Lead *ref = (Xuncha__V1__Lead *)reference(XC_KIND_LEAD, lr->leads[i]->id);
    g.id = lr->leads[i]->id;
    CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(&city, "/xuncha.v1.Leads/GetLead", &g, &got, &err), XC_OK);
    CU_ASSERT(xc_msg_same_bytes(&lr->leads[i]->base, &ref->base));
    CU_ASSERT(xc_msg_same_bytes(&got->base, &ref->base));
    CU_ASSERT_EQUAL(strlen(ref->report_due_date), 10);
    xc_msg_free(got);
    xc_msg_free(&ref->base);
  }
  xc_msg_free(lr);
  lr = NULL;
  ll.report_overdue = 1;
  CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Leads/ListLeads", &ll, &lr, &err), XC_OK);
  /* Only the lead transferred in 2021 is past its three months. */
  CU_ASSERT_EQUAL(lr->n_leads, 1);
  if (lr->n_leads == 1) CU_ASSERT_STRING_EQUAL(lr->leads[0]->transfer_date, "2021-01-15");
  xc_msg_free(lr);

  /* Records stored with fields this server does not know (a newer
   * server's): the read checks decode only the fields they read
   * (xc_rawrec_unpack_some) and the replies still carry the records as
   * the whole unpack does, unknown fields and all, for every kind listed
   * here. */
  {
    Xuncha__V1__ListFindingsRequest xf = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
    Xuncha__V1__ListLeadsRequest xl = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
    Xuncha__V1__ListTargetsRequest xt = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    Xuncha__V1__ListRoundsRequest xr = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    Xuncha__V1__ListFindingsResponse *f0 = NULL;
    Xuncha__V1__ListLeadsResponse *l0 = NULL;
    xf.round_id = round->id;
    xl.round_id = round->id;
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&city, "/xuncha.v1.Findings/ListFindings", &xf, &f0, &err),
                          XC_OK);
    CU_ASSERT_EQUAL_FATAL(xc_test_call(&county, "/xuncha.v1.Leads/ListLeads", &xl, &l0, &err),
                          XC_OK);
    CU_ASSERT_FATAL(f0->n_findings >= 2 && l0->n_leads >= 1);
    add_unknown_fields(XC_KIND_FINDING, f0->findings[1]->id);
    add_unknown_fields(XC_KIND_LEAD, l0->leads[0]->id);
    add_unknown_fields(XC_KIND_TARGET, t1);
    add_unknown_fields(XC_KIND_ROUND, round->id);
    xc_msg_free(f0);
    xc_msg_free(l0);
    CU_ASSERT_EQUAL(list_as_reference(&city, "/xuncha.v1.Findings/ListFindings", &xf,
                                      XC_KIND_FINDING), 1);
    CU_ASSERT_EQUAL(list_as_reference(&county, "/xuncha.v1.Leads/ListLeads", &xl, XC_KIND_LEAD),
                    1);
    CU_ASSERT(list_as_reference(&county, "/xuncha.v1.Targets/ListTargets", &xt, XC_KIND_TARGET) >=
              1);
    CU_ASSERT(list_as_reference(&county, "/xuncha.v1.Rounds/ListRounds", &xr, XC_KIND_ROUND) >= 1);
    /* Get serves them the same way. */
    {
      Xuncha__V1__GetTargetRequest g = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
      ProtobufCMessage *got = NULL, *ref = reference(XC_KIND_TARGET, t1);
      g.id = t1;
      CU_ASSERT_EQUAL_FATAL(xc_test_call_raw(&county, "/xuncha.v1.Targets/GetTarget", &g, &got,
                                             &err),
                            XC_OK);
      CU_ASSERT_EQUAL(ref->n_unknown_fields, 2);
      CU_ASSERT(xc_msg_same_bytes(got, ref));
      xc_msg_free(got);
      xc_msg_free(ref);
    }
  }

  /* The reply packed by the handler from the stored bytes (as the transport
   * asks for unary calls) is the same bytes as the records packed whole:
   * every page of findings and leads under several filters, page sizes
   * that leave a next page token, a page with no records, and the other
   * kinds' lists. */
  {
    Xuncha__V1__ListFindingsRequest pf = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
    Xuncha__V1__ListLeadsRequest pl = XUNCHA__V1__LIST_LEADS_REQUEST__INIT;
    Xuncha__V1__ListTargetsRequest pt = XUNCHA__V1__LIST_TARGETS_REQUEST__INIT;
    Xuncha__V1__ListRoundsRequest pr = XUNCHA__V1__LIST_ROUNDS_REQUEST__INIT;
    char tok[XC_MAX_PAGE_TOKEN_BYTES + 1];
    int n;
    static const int32_t sizes[] = {1, 2, 3, 100};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      pf.page_size = sizes[k];
      pf.round_id = round->id;
      CU_ASSERT_EQUAL(packed_walk(&city, "/xuncha.v1.Findings/ListFindings", &pf, &pf.page_token),
                      (int)(sizeof deadlines / sizeof deadlines[0]));
      pl.page_size = sizes[k];
      pl.round_id = round->id;
      CU_ASSERT_EQUAL(packed_walk(&county, "/xuncha.v1.Leads/ListLeads", &pl, &pl.page_token),
                      (int)(sizeof transfers / sizeof transfers[0]));
    }
    pf.page_size = 0;
    pf.page_token = "";
    pf.overdue = 1;
    CU_ASSERT_EQUAL(packed_list_same(&city, "/xuncha.v1.Findings/ListFindings", &pf, NULL), 2);
    pf.overdue = 0;
    pf.round_id = "";
    pf.region_prefix = "3101079";
    CU_ASSERT_EQUAL(packed_list_same(&city, "/xuncha.v1.Findings/ListFindings", &pf, NULL), 0);
    pl.page_size = 0;
    pl.page_token = "";
    pl.report_overdue = 1;
    CU_ASSERT_EQUAL(packed_list_same(&city, "/xuncha.v1.Leads/ListLeads", &pl, NULL), 1);
    CU_ASSERT(packed_list_same(&city, "/xuncha.v1.Targets/ListTargets", &pt, NULL) >= 1);
    CU_ASSERT(packed_list_same(&county, "/xuncha.v1.Rounds/ListRounds", &pr, NULL) >= 1);
    /* A scan budget spent on records that do not match: no records, but a
     * token for the next page, packed by hand. */
    pf.region_prefix = "";
    pf.round_id = round->id;
    pf.overdue = 1;
    city.scan_budget = 1;
    n = packed_list_same(&city, "/xuncha.v1.Findings/ListFindings", &pf, tok);
    CU_ASSERT(n >= 0 && n <= 1);
    CU_ASSERT(tok[0] != '\0');
    city.scan_budget = 0;
  }

  xc_msg_free(rreq.round);
  xc_msg_free(round);
  free(t1);
}

static void test_handlers_health(void) {
  xc_ctx c = ctx_of("office:3101");
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Grpc__Health__V1__HealthCheckResponse *resp = NULL;
  xc_err err;
  const char *known[] = {"",
                         "xuncha.v1.Targets",
                         "xuncha.v1.Rounds",
                         "xuncha.v1.Findings",
                         "xuncha.v1.Leads",
                         "grpc.health.v1.Health"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    req.service = (char *)known[i];
    CU_ASSERT_EQUAL(xc_test_call(&c, "/grpc.health.v1.Health/Check", &req, &resp, &err), XC_OK);
    if (resp != NULL)
      CU_ASSERT_EQUAL(resp->status,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    xc_msg_free(resp);
    resp = NULL;
  }
  req.service = "xuncha.v1.Nope";
  CU_ASSERT_EQUAL(xc_test_call(&c, "/grpc.health.v1.Health/Check", &req, &resp, &err),
                  XC_ENOT_FOUND);
  CU_ASSERT_STRING_EQUAL(err.msg, "unknown service 'xuncha.v1.Nope'");
}

static void test_method_table(void) {
  size_t n = 0;
  const xc_method *m = xc_methods(&n);
  /* The 22 methods of the foundation and the 14 of the workflows (issue 3)
   * at least; other issues add more. */
  CU_ASSERT(n >= 22 + 14);
  for (size_t i = 0; i < n; i++) {
    CU_ASSERT_PTR_NOT_NULL(m[i].handler);
    CU_ASSERT_EQUAL(m[i].path[0], '/');
    CU_ASSERT_PTR_NOT_NULL(m[i].request);
    CU_ASSERT_PTR_NOT_NULL(m[i].response);
    for (size_t k = 0; k < i; k++) CU_ASSERT_STRING_NOT_EQUAL(m[i].path, m[k].path);
  }
}

int main(void) {
  CU_pSuite s;
  unsigned failed;

  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("record", NULL, NULL);
  CU_add_test(s, "output-only and fixed field lists", test_output_only_lists);
  CU_add_test(s, "output-only fields cleared on create", test_clear_output_only);
  CU_add_test(s, "output-only table matches the rules", test_clear_output_only_table);
  CU_add_test(s, "nested string paths", test_check_strings_nested);
  CU_add_test(s, "unknown wire fields dropped", test_strip_unknown);
  CU_add_test(s, "string limits and UTF-8", test_check_strings);
  CU_add_test(s, "repeated field limit", test_check_repeated_limit);
  CU_add_test(s, "unknown enum values", test_check_enums);
  CU_add_test(s, "output-only and fixed fields on update", test_check_unchanged);
  CU_add_test(s, "rectification status on update", test_check_unchanged_rectification);
  CU_add_test(s, "update mask checks", test_check_mask);
  CU_add_test(s, "merge with and without a mask", test_merge_mask);
  CU_add_test(s, "merge of repeated and nested fields", test_merge_repeated_and_nested);
  CU_add_test(s, "fingerprints, enum names, quoting", test_fingerprint_and_names);
  s = CU_add_suite("validate", NULL, NULL);
  CU_add_test(s, "target", test_validate_target);
  CU_add_test(s, "round", test_validate_round);
  CU_add_test(s, "group", test_validate_group);
  CU_add_test(s, "finding", test_validate_finding);
  CU_add_test(s, "lead", test_validate_lead);
  CU_add_test(s, "group, finding and lead with lent records", test_validate_lent);
  CU_add_test(s, "arena", test_arena);
  CU_add_test(s, "list reply buffers", test_replybuf);
  CU_add_test(s, "malloc keeps large blocks mapped", test_malloc_tune);
  CU_add_test(s, "deep copy of oneofs", test_msg_copy_oneof);
  s = CU_add_suite("page token", NULL, NULL);
  CU_add_test(s, "round trip", test_page_token_round_trip);
  CU_add_test(s, "tampered, foreign and mismatched tokens", test_page_token_refused);
  s = CU_add_suite("list", NULL, NULL);
  CU_add_test(s, "filter checks and page sizes", test_list_filter_check);
  CU_add_test(s, "canonical filters", test_list_canon);
  CU_add_test(s, "planner picks the index", test_list_planner);
  CU_add_test(s, "post-filter", test_list_match);
  CU_add_test(s, "lead visibility matrix", test_lead_visibility_matrix);
  s = CU_add_suite("handlers", fx_open, fx_close);
  CU_add_test(s, "method table", test_method_table);
  CU_add_test(s, "target create, get, update", test_handlers_target_crud);
  CU_add_test(s, "create refused", test_handlers_create_denied);
  CU_add_test(s, "round, finding, lead and who sees the lead", test_handlers_round_finding_lead);
  CU_add_test(s, "paging", test_handlers_paging);
  CU_add_test(s, "list replies are the stored bytes, decorated", test_handlers_list_bytes);
  CU_add_test(s, "health check", test_handlers_health);

  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
