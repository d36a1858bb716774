/*
 * e2e archive: documents (立卷归档) and the inspector pool (巡察人才库) of
 * server/ARCHIVE.md over mutual TLS: a file three times the message limit
 * streamed both ways while the server's anonymous memory stays bounded; a
 * duplicate upload stored once; a chunk damaged on disk found by verify and
 * refused on download; a lead's document refused to another agency; an
 * archived round's documents read-only; a conflicted group or assignment
 * refused with the reason; suggestions that never include a conflicted
 * inspector; and the CLI.
 */
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e_suite.h"
#include "xc_msg.h"

#define M(svc, name) "/xuncha.v1." svc "/" name
/* The large file: three times the 4 MiB message limit. */
#define BIG_BYTES (12u * 1024u * 1024u)

static int acall(const char *who, const char *method, const void *req,
                 const ProtobufCMessageDescriptor *rd, void *out, xc_err *err) {
  xc_client *c = xc_h_client(e2e_h, who);
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client %s", who);
  return xc_client_call(c, method, (const ProtobufCMessage *)req, rd, (ProtobufCMessage **)out,
                        XC_H_CALL_MS, err);
}

/* What the suite makes once. */
static char t1[32], t2[32], r1[32], r2[32], lead[32], big_doc[32];
static int ready;

static int mk_target(const char *name, char *out) {
  Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__Target *got = NULL;
  xc_err err;
  int rc;
  t.region_code = "310104";
  t.name = (char *)name;
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_COUNTY_DEPARTMENT;
  req.target = &t;
  rc = acall(XC_H_COUNTY_A, M("Targets", "CreateTarget"), &req, &xuncha__v1__target__descriptor,
             &got, &err);
  if (rc == XC_OK) snprintf(out, 32, "%s", got->id);
  xc_message_free(got);
  return rc;
}

static int mk_round(int number, char *out) {
  Xuncha__V1__CreateRoundRequest req = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  Xuncha__V1__Round *got = NULL;
  char *ids[2] = {t1, t2};
  xc_err err;
  int rc;
  r.region_code = "310104";
  r.term = 8;
  r.number = number;
  r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  r.title = "归档测试";
  r.n_target_ids = 2;
  r.target_ids = ids;
  req.round = &r;
  rc = acall(XC_H_COUNTY_A, M("Rounds", "CreateRound"), &req, &xuncha__v1__round__descriptor,
             &got, &err);
  if (rc == XC_OK) snprintf(out, 32, "%s", got->id);
  xc_message_free(got);
  return rc;
}

static void test_setup(void) {
  Xuncha__V1__CreateLeadRequest lr = XUNCHA__V1__CREATE_LEAD_REQUEST__INIT;
  Xuncha__V1__Lead l = XUNCHA__V1__LEAD__INIT;
  Xuncha__V1__Lead *got = NULL;
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(mk_target("城东区财政局", t1), XC_OK);
  CU_ASSERT_EQUAL_FATAL(mk_target("城东区住建局", t2), XC_OK);
  CU_ASSERT_EQUAL_FATAL(mk_round(1, r1), XC_OK);
  CU_ASSERT_EQUAL_FATAL(mk_round(2, r2), XC_OK);
  l.round_id = r1;
  l.target_id = t1;
  l.category = XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE;
  l.recipient = "agency:3101:jw";
  l.summary = "违规发放津补贴";
  lr.lead = &l;
  CU_ASSERT_EQUAL_FATAL(acall(XC_H_COUNTY_A, M("Leads", "CreateLead"), &lr,
                              &xuncha__v1__lead__descriptor, &got, &err),
                        XC_OK);
  snprintf(lead, sizeof lead, "%s", got->id);
  xc_message_free(got);
  ready = 1;
}

/* ------------------------------------------------------------ content */

/* A deterministic stream of pseudo-random bytes, hashed as it is made, so
 * neither side of the test ever holds the whole file. */
typedef struct gen {
  uint64_t state, left, total;
  EVP_MD_CTX *md;
  long long peak_anon_kb, base_anon_kb; /* the server's RssAnon */
  int pid;
} gen;

static long long rss_anon_kb(int pid) {
  char path[64], *s, *p;
  long long kb = -1;
  size_t len;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  s = xc_h_read_file(path, 64 * 1024, &len);
  if (s == NULL) return -1;
  p = strstr(s, "RssAnon:");
  if (p != NULL) kb = strtoll(p + 8, NULL, 10);
  free(s);
  return kb;
}

static long long gen_read(void *ctx, uint8_t *buf, size_t cap) {
  gen *g = ctx;
  size_t n = g->left < cap ? (size_t)g->left : cap;
  for (size_t i = 0; i < n; i++) {
    g->state ^= g->state << 13;
    g->state ^= g->state >> 7;
    g->state ^= g->state << 17;
    buf[i] = (uint8_t)g->state;
  }
  g->left -= n;
  EVP_DigestUpdate(g->md, buf, n);
  return (long long)n;
}

static void gen_progress(void *ctx, uint64_t done, uint64_t total) {
  gen *g = ctx;
  long long kb = rss_anon_kb(g->pid);
  (void)done;
  (void)total;
  if (kb > g->peak_anon_kb) g->peak_anon_kb = kb;
}

static void gen_init(gen *g, uint64_t seed, uint64_t bytes) {
  memset(g, 0, sizeof *g);
  g->state = seed;
  g->left = g->total = bytes;
  g->md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(g->md, EVP_sha256(), NULL);
}

static void gen_hex(gen *g, char out[65]) {
  uint8_t d[32];
  unsigned n = 0;
  EVP_DigestFinal_ex(g->md, d, &n);
  for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
  EVP_MD_CTX_free(g->md);
  g->md = NULL;
}

typedef struct sink {
  EVP_MD_CTX *md;
  uint64_t bytes;
} sink;

static int sink_write(void *ctx, const uint8_t *data, size_t len) {
  sink *s = ctx;
  s->bytes += len;
  return EVP_DigestUpdate(s->md, data, len) == 1 ? 0 : -1;
}

static int put(const char *who, const char *attached, uint64_t seed, uint64_t bytes,
               Xuncha__V1__UploadDocumentResponse **out, char hex[65], gen *gout, xc_err *err) {
  Xuncha__V1__Document d = XUNCHA__V1__DOCUMENT__INIT;
  xc_archive_put_options opt;
  gen g;
  int rc;
  xc_client *c = xc_h_client(e2e_h, who);
  if (c == NULL) return xc_err_set(err, XC_EINTERNAL, "no client");
  gen_init(&g, seed, bytes);
  g.pid = xc_h_server_pid(e2e_h);
  g.base_anon_kb = g.peak_anon_kb = rss_anon_kb(g.pid);
  d.attached_id = (char *)attached;
  d.stage = XUNCHA__V1__ARCHIVE_STAGE__ARCHIVE_STAGE_INTERVIEWS;
  d.kind = XUNCHA__V1__DOCUMENT_KIND__DOCUMENT_KIND_TALK_RECORD;
  d.title = "谈话记录";
  d.retention_years = 30;
  memset(&opt, 0, sizeof opt);
  opt.total_bytes = bytes;
  opt.progress = gen_progress;
  opt.progress_ctx = &g;
  rc = xc_archive_put(c, &d, &opt, gen_read, &g, out, 120000, err);
  gen_hex(&g, hex);
  if (gout != NULL) *gout = g;
  return rc;
}

static void test_large_both_ways(void) {
  Xuncha__V1__UploadDocumentResponse *up = NULL;
  Xuncha__V1__Document *doc = NULL;
  char hex[65], got[65];
  gen g;
  sink s = {NULL, 0};
  xc_err err;
  int64_t t0;
  CU_ASSERT_FATAL(ready);
  /* A first small upload starts the worker, TLS and gRPC buffers, so the
   * baseline of the big ones is a server that has streamed before. */
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 41, 1u << 20, &up, hex, &g, &err), XC_OK);
  xc_message_free(up);
  up = NULL;
  {
    /* Three times the size must not need more memory: what the server
     * holds is a few chunks and gRPC's flow-control window, not the file. */
    gen g3;
    Xuncha__V1__UploadDocumentResponse *up3 = NULL;
    char hex3[65];
    t0 = xc_h_now_ms();
    CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 43, 4ull * BIG_BYTES, &up3, hex3, &g3, &err),
                          XC_OK);
    fprintf(stderr, "\n  upload %u MiB: %lld ms; server RssAnon %lld kB before, %lld kB peak",
            4 * BIG_BYTES >> 20, (long long)(xc_h_now_ms() - t0), g3.base_anon_kb,
            g3.peak_anon_kb);
    CU_ASSERT(g3.base_anon_kb > 0);
    /* AddressSanitizer keeps freed memory in quarantine (256 MiB), so RSS
     * says nothing about leaks or holding there: bounded only without it. */
#ifndef __SANITIZE_ADDRESS__
    CU_ASSERT(g3.peak_anon_kb - g3.base_anon_kb < (long long)(4ull * BIG_BYTES / 1024 / 2));
#endif
    xc_message_free(up3);
  }
  t0 = xc_h_now_ms();
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 42, BIG_BYTES, &up, hex, &g, &err), XC_OK);
  fprintf(stderr, "\n  upload %u MiB: %lld ms; server RssAnon %lld kB before, %lld kB peak",
          BIG_BYTES >> 20, (long long)(xc_h_now_ms() - t0), g.base_anon_kb, g.peak_anon_kb);
  CU_ASSERT_EQUAL(up->document->size, (int64_t)BIG_BYTES);
  CU_ASSERT_STRING_EQUAL(up->document->content_hash, hex);
  CU_ASSERT_FALSE(up->deduplicated);
  /* Memory bounded: the server grew by less than the file. */
  CU_ASSERT(g.base_anon_kb > 0);
#ifndef __SANITIZE_ADDRESS__
  CU_ASSERT(g.peak_anon_kb - g.base_anon_kb < (long long)(BIG_BYTES / 1024));
#endif
  snprintf(big_doc, sizeof big_doc, "%s", up->document->id);
  xc_message_free(up);

  s.md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
  t0 = xc_h_now_ms();
  CU_ASSERT_EQUAL(xc_archive_get(xc_h_client(e2e_h, XC_H_COUNTY_A), big_doc, sink_write, &s,
                                 NULL, NULL, &doc, 120000, &err),
                  XC_OK);
  fprintf(stderr, "; download: %lld ms ", (long long)(xc_h_now_ms() - t0));
  {
    uint8_t d[32];
    unsigned n = 0;
    EVP_DigestFinal_ex(s.md, d, &n);
    for (unsigned i = 0; i < 32; i++) snprintf(got + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(s.md);
  }
  CU_ASSERT_EQUAL(s.bytes, (uint64_t)BIG_BYTES);
  CU_ASSERT_STRING_EQUAL(got, hex);
  CU_ASSERT_PTR_NOT_NULL(doc);
  xc_message_free(doc);
}

static void test_duplicate_stored_once(void) {
  Xuncha__V1__UploadDocumentResponse *a = NULL, *b = NULL, *c = NULL;
  Xuncha__V1__VerifyArchiveResponse *sum1 = NULL, *sum2 = NULL;
  char h1[65], h2[65], h3[65];
  xc_err err;
  xc_client *city = xc_h_client(e2e_h, XC_H_CITY);
  CU_ASSERT_FATAL(ready);
  CU_ASSERT_EQUAL_FATAL(xc_archive_verify(city, NULL, NULL, &sum1, 60000, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 7, 700000, &a, h1, NULL, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 7, 700000, &b, h2, NULL, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r1, 8, 700000, &c, h3, NULL, &err), XC_OK);
  CU_ASSERT_FALSE(a->deduplicated);
  CU_ASSERT_TRUE(b->deduplicated);
  CU_ASSERT_FALSE(c->deduplicated);
  CU_ASSERT_STRING_EQUAL(a->document->content_hash, b->document->content_hash);
  CU_ASSERT_STRING_NOT_EQUAL(a->document->id, b->document->id);
  CU_ASSERT_STRING_NOT_EQUAL(h1, h3);
  /* Two distinct contents more, not three. */
  CU_ASSERT_EQUAL_FATAL(xc_archive_verify(city, NULL, NULL, &sum2, 60000, &err), XC_OK);
  CU_ASSERT_EQUAL(sum2->contents_checked, sum1->contents_checked + 2);
  CU_ASSERT_EQUAL(sum2->bytes_checked, sum1->bytes_checked + 2 * 700000);
  CU_ASSERT_EQUAL(sum2->problems, 0);
  xc_message_free(a);
  xc_message_free(b);
  xc_message_free(c);
  xc_message_free(sum1);
  xc_message_free(sum2);
}

/* A reader that pauses mid-upload to make another write, and can fail. */
typedef struct slow {
  gen g;
  int calls;
  int fail_at;        /* return -1 at this call (0: never) */
  int wrote_during;   /* the other write went through mid-upload */
  int64_t write_ms;   /* and took this long */
} slow;

static long long slow_read(void *ctx, uint8_t *buf, size_t cap) {
  slow *s = ctx;
  s->calls++;
  if (s->fail_at != 0 && s->calls == s->fail_at) return -1;
  if (s->calls == 3) {
    /* Two chunks are in; the upload waits here while another office writes. */
    Xuncha__V1__CreateTargetRequest req = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
    Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT, *got = NULL;
    xc_err err;
    int64_t t0 = xc_h_now_ms();
    t.region_code = "310105";
    t.name = "城西区档案局";
    t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_COUNTY_DEPARTMENT;
    req.target = &t;
    s->wrote_during = acall(XC_H_COUNTY_B, M("Targets", "CreateTarget"), &req,
                            &xuncha__v1__target__descriptor, &got, &err) == XC_OK;
    s->write_ms = xc_h_now_ms() - t0;
    xc_message_free(got);
  }
  return gen_read(&s->g, buf, cap);
}

static int64_t pending_uploads(void) {
  Xuncha__V1__VerifyArchiveResponse *sum = NULL;
  xc_err err;
  int64_t n = -1;
  if (xc_archive_verify(xc_h_client(e2e_h, XC_H_CITY), NULL, NULL, &sum, 60000, &err) == XC_OK)
    n = sum->pending_uploads;
  xc_message_free(sum);
  return n;
}

static void test_slow_and_cancelled_uploads(void) {
  Xuncha__V1__Document d = XUNCHA__V1__DOCUMENT__INIT;
  Xuncha__V1__UploadDocumentResponse *up = NULL;
  slow s;
  char hex[65];
  xc_err err;
  int64_t pending = -1;
  CU_ASSERT_FATAL(ready);
  d.attached_id = r1;
  d.stage = XUNCHA__V1__ARCHIVE_STAGE__ARCHIVE_STAGE_DOCUMENT_REVIEW;
  d.kind = XUNCHA__V1__DOCUMENT_KIND__DOCUMENT_KIND_SCAN;
  d.title = "扫描件";
  /* An upload paused mid-stream holds no write: another write commits. */
  memset(&s, 0, sizeof s);
  gen_init(&s.g, 77, 6u << 20);
  CU_ASSERT_EQUAL(xc_archive_put(xc_h_client(e2e_h, XC_H_COUNTY_A), &d, NULL, slow_read, &s, &up,
                                 60000, &err),
                  XC_OK);
  gen_hex(&s.g, hex);
  CU_ASSERT_TRUE(s.wrote_during);
  CU_ASSERT(s.write_ms < 2000);
  if (up != NULL) CU_ASSERT_STRING_EQUAL(up->document->content_hash, hex);
  xc_message_free(up);
  up = NULL;
  /* A client that gives up mid-stream leaves nothing behind. */
  memset(&s, 0, sizeof s);
  gen_init(&s.g, 78, 6u << 20);
  s.fail_at = 5;
  CU_ASSERT_NOT_EQUAL(xc_archive_put(xc_h_client(e2e_h, XC_H_COUNTY_A), &d, NULL, slow_read, &s,
                                     &up, 60000, &err),
                      XC_OK);
  gen_hex(&s.g, hex);
  CU_ASSERT_PTR_NULL(up);
  /* The server notices the cancel on its next read: bounded wait. */
  for (int i = 0; i < 100 && pending != 0; i++) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    pending = pending_uploads();
    if (pending != 0) nanosleep(&ts, NULL);
  }
  CU_ASSERT_EQUAL(pending, 0);
}

static void test_upload_refusals(void) {
  Xuncha__V1__UploadDocumentResponse *r = NULL;
  char hex[65];
  xc_err err;
  CU_ASSERT_FATAL(ready);
  /* Another county may not file on county A's round. */
  CU_ASSERT_EQUAL(put(XC_H_COUNTY_B, r1, 1, 1000, &r, hex, NULL, &err), XC_EPERMISSION_DENIED);
  /* Agencies file nothing. */
  CU_ASSERT_EQUAL(put(XC_H_JW, lead, 1, 1000, &r, hex, NULL, &err), XC_EPERMISSION_DENIED);
  /* Not a record a document attaches to. */
  CU_ASSERT_EQUAL(put(XC_H_COUNTY_A, t1, 1, 1000, &r, hex, NULL, &err), XC_EINVALID_ARGUMENT);
  E2E_CONTAINS(err.msg, "attached_id");
  CU_ASSERT_PTR_NULL(r);
}

static void test_lead_document_access(void) {
  Xuncha__V1__UploadDocumentResponse *up = NULL;
  Xuncha__V1__GetDocumentRequest g = XUNCHA__V1__GET_DOCUMENT_REQUEST__INIT;
  Xuncha__V1__Document *d = NULL;
  char hex[65];
  sink s = {NULL, 0};
  xc_err err;
  CU_ASSERT_FATAL(ready);
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, lead, 99, 5000, &up, hex, NULL, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(up->document->lead_owner, "office:310104");
  CU_ASSERT_STRING_EQUAL(up->document->recipient, "agency:3101:jw");
  g.id = up->document->id;
  /* The recipient agency and the office above read it ... */
  CU_ASSERT_EQUAL(acall(XC_H_JW, M("Archive", "GetDocument"), &g, &xuncha__v1__document__descriptor,
                        &d, &err),
                  XC_OK);
  xc_message_free(d);
  d = NULL;
  CU_ASSERT_EQUAL(acall(XC_H_CITY, M("Archive", "GetDocument"), &g,
                        &xuncha__v1__document__descriptor, &d, &err),
                  XC_OK);
  xc_message_free(d);
  d = NULL;
  s.md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
  CU_ASSERT_EQUAL(xc_archive_get(xc_h_client(e2e_h, XC_H_JW), g.id, sink_write, &s, NULL, NULL,
                                 NULL, 30000, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(s.bytes, 5000);
  EVP_MD_CTX_free(s.md);
  /* ... another agency, another county and an auditor do not. */
  CU_ASSERT_EQUAL(acall(XC_H_ZZB, M("Archive", "GetDocument"), &g,
                        &xuncha__v1__document__descriptor, &d, &err),
                  XC_EPERMISSION_DENIED);
  E2E_CONTAINS(err.msg, "leads are visible only");
  s.bytes = 0;
  s.md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
  CU_ASSERT_EQUAL(xc_archive_get(xc_h_client(e2e_h, XC_H_ZZB), g.id, sink_write, &s, NULL, NULL,
                                 NULL, 30000, &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL(s.bytes, 0);
  EVP_MD_CTX_free(s.md);
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_B, M("Archive", "GetDocument"), &g,
                        &xuncha__v1__document__descriptor, &d, &err),
                  XC_EPERMISSION_DENIED);
  CU_ASSERT_EQUAL(acall(XC_H_AUDITOR, M("Archive", "GetDocument"), &g,
                        &xuncha__v1__document__descriptor, &d, &err),
                  XC_EPERMISSION_DENIED);
  {
    /* Listing by the lead: the agency sees it, the other agency nothing. */
    Xuncha__V1__ListDocumentsRequest lr = XUNCHA__V1__LIST_DOCUMENTS_REQUEST__INIT;
    Xuncha__V1__ListDocumentsResponse *ls = NULL;
    lr.attached_id = lead;
    CU_ASSERT_EQUAL(acall(XC_H_JW, M("Archive", "ListDocuments"), &lr,
                          &xuncha__v1__list_documents_response__descriptor, &ls, &err),
                    XC_OK);
    if (ls != NULL) CU_ASSERT_EQUAL(ls->n_documents, 1);
    xc_message_free(ls);
    ls = NULL;
    CU_ASSERT_EQUAL(acall(XC_H_ZZB, M("Archive", "ListDocuments"), &lr,
                          &xuncha__v1__list_documents_response__descriptor, &ls, &err),
                    XC_OK);
    if (ls != NULL) CU_ASSERT_EQUAL(ls->n_documents, 0);
    xc_message_free(ls);
  }
  xc_message_free(up);
}

static void test_archived_round_read_only(void) {
  Xuncha__V1__UploadDocumentResponse *up = NULL, *late = NULL;
  char hex[65];
  xc_err err;
  CU_ASSERT_FATAL(ready);
  CU_ASSERT_EQUAL_FATAL(put(XC_H_COUNTY_A, r2, 5, 3000, &up, hex, NULL, &err), XC_OK);
  for (int to = 2; to <= 7; to++) {
    Xuncha__V1__GetRoundRequest gr = XUNCHA__V1__GET_ROUND_REQUEST__INIT;
    Xuncha__V1__AdvanceRoundRequest ar = XUNCHA__V1__ADVANCE_ROUND_REQUEST__INIT;
    Xuncha__V1__Round *r = NULL, *r2out = NULL;
    gr.id = r2;
    CU_ASSERT_EQUAL_FATAL(acall(XC_H_COUNTY_A, M("Rounds", "GetRound"), &gr,
                                &xuncha__v1__round__descriptor, &r, &err),
                          XC_OK);
    ar.id = r2;
    ar.etag = r->etag;
    ar.to = (Xuncha__V1__RoundStage)to;
    CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "AdvanceRound"), &ar,
                          &xuncha__v1__round__descriptor, &r2out, &err),
                    XC_OK);
    xc_message_free(r);
    xc_message_free(r2out);
  }
  CU_ASSERT_EQUAL(put(XC_H_COUNTY_A, r2, 6, 3000, &late, hex, NULL, &err), XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "archived");
  {
    Xuncha__V1__UpdateDocumentRequest ur = XUNCHA__V1__UPDATE_DOCUMENT_REQUEST__INIT;
    Xuncha__V1__Document *d = NULL;
    char *title = up->document->title;
    up->document->title = "改名";
    ur.document = up->document;
    CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Archive", "UpdateDocument"), &ur,
                          &xuncha__v1__document__descriptor, &d, &err),
                    XC_EFAILED_PRECONDITION);
    E2E_CONTAINS(err.msg, "archived");
    up->document->title = title; /* the static one is not the message's to free */
  }
  {
    /* Nor voided. */
    Xuncha__V1__VoidRecordRequest vr = XUNCHA__V1__VOID_RECORD_REQUEST__INIT;
    Xuncha__V1__VoidRecordResponse *vo = NULL;
    vr.id = up->document->id;
    vr.etag = up->document->etag;
    vr.reason = "误传";
    CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Records", "VoidRecord"), &vr,
                          &xuncha__v1__void_record_response__descriptor, &vo, &err),
                    XC_EFAILED_PRECONDITION);
    E2E_CONTAINS(err.msg, "read-only");
  }
  xc_message_free(up);
}

/* ------------------------------------------------------------ pool */

static char ins_a[32], ins_b[32], ins_c[32], ins_d[32];

static int mk_inspector(const char *name, const char *spec1, const char *spec2,
                        const char *worked_target, const char *worked_to,
                        const char *related_target, char *out, xc_err *err) {
  Xuncha__V1__CreateInspectorRequest req = XUNCHA__V1__CREATE_INSPECTOR_REQUEST__INIT;
  Xuncha__V1__Inspector in = XUNCHA__V1__INSPECTOR__INIT;
  Xuncha__V1__WorkPeriod wp = XUNCHA__V1__WORK_PERIOD__INIT, *wps[1] = {&wp};
  Xuncha__V1__Relationship rel = XUNCHA__V1__RELATIONSHIP__INIT, *rels[1] = {&rel};
  Xuncha__V1__Inspector *got = NULL;
  char *specs[2] = {(char *)spec1, (char *)spec2};
  int rc;
  in.name = (char *)name;
  in.unit = "区审计局";
  in.n_specialties = spec2 != NULL ? 2 : 1;
  in.specialties = specs;
  if (worked_target != NULL) {
    wp.target_id = (char *)worked_target;
    wp.from_date = "2005-01-01";
    wp.to_date = (char *)worked_to;
    in.n_work_history = 1;
    in.work_history = wps;
  }
  if (related_target != NULL) {
    rel.target_id = (char *)related_target;
    rel.relation = "配偶在该单位任职";
    in.n_relationships = 1;
    in.relationships = rels;
  }
  req.inspector = &in;
  rc = acall(XC_H_COUNTY_A, M("Pool", "CreateInspector"), &req, &xuncha__v1__inspector__descriptor,
             &got, err);
  if (rc == XC_OK) snprintf(out, 32, "%s", got->id);
  xc_message_free(got);
  return rc;
}

static void test_pool_conflicts(void) {
  Xuncha__V1__CreateGroupRequest req = XUNCHA__V1__CREATE_GROUP_REQUEST__INIT;
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT, *got = NULL;
  Xuncha__V1__Recusal rec = XUNCHA__V1__RECUSAL__INIT, *recs[1] = {&rec};
  Xuncha__V1__Assignment as = XUNCHA__V1__ASSIGNMENT__INIT, *ass[1] = {&as};
  char *targets[2] = {t1, t2};
  char *inspectors[2];
  char today_minus_1y[11];
  xc_err err;
  CU_ASSERT_FATAL(ready);
  {
    /* Worked at t1 until about a year ago: inside the 3 default years. */
    time_t now = time(NULL) - 365 * 86400;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today_minus_1y, sizeof today_minus_1y, "%Y-%m-%d", &tm);
  }
  CU_ASSERT_EQUAL_FATAL(mk_inspector("甲", "finance", NULL, t1, today_minus_1y, NULL, ins_a, &err),
                        XC_OK);
  CU_ASSERT_EQUAL_FATAL(mk_inspector("乙", "finance", "law", NULL, NULL, t1, ins_b, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(mk_inspector("丙", "finance", "law", NULL, NULL, NULL, ins_c, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(
      mk_inspector("丁", "finance", NULL, t1, "2010-06-30", NULL, ins_d, &err), XC_OK);
  /* Another county does not see county A's pool. */
  {
    Xuncha__V1__GetInspectorRequest gi = XUNCHA__V1__GET_INSPECTOR_REQUEST__INIT;
    Xuncha__V1__Inspector *in = NULL;
    gi.id = ins_a;
    CU_ASSERT_EQUAL(acall(XC_H_COUNTY_B, M("Pool", "GetInspector"), &gi,
                          &xuncha__v1__inspector__descriptor, &in, &err),
                    XC_EPERMISSION_DENIED);
    CU_ASSERT_EQUAL(acall(XC_H_CITY, M("Pool", "GetInspector"), &gi,
                          &xuncha__v1__inspector__descriptor, &in, &err),
                    XC_OK);
    xc_message_free(in);
  }
  g.round_id = r1;
  g.name = "第一巡察组";
  g.n_target_ids = 2;
  g.target_ids = targets;
  inspectors[0] = ins_a;
  g.n_inspector_ids = 1;
  g.inspector_ids = inspectors;
  req.group = &g;
  /* Worked in the unit within the years: refused, naming the conflict. */
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                        &xuncha__v1__group__descriptor, &got, &err),
                  XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, ins_a);
  E2E_CONTAINS(err.msg, "worked there until");
  /* A declared relationship: refused too. */
  inspectors[0] = ins_b;
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                        &xuncha__v1__group__descriptor, &got, &err),
                  XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "relationship");
  /* Recused from that target, the inspector may serve on the group's other one. */
  rec.member = ins_b;
  rec.target_id = t1;
  rec.reason = "配偶在该单位";
  g.n_recusals = 1;
  g.recusals = recs;
  as.member = ins_b;
  as.target_id = t2;
  g.n_assignments = 1;
  g.assignments = ass;
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                        &xuncha__v1__group__descriptor, &got, &err),
                  XC_OK);
  xc_message_free(got);
  got = NULL;
  /* ... but is never assigned to the target of the conflict. */
  as.target_id = t1;
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                        &xuncha__v1__group__descriptor, &got, &err),
                  XC_EFAILED_PRECONDITION);
  E2E_CONTAINS(err.msg, "recused");
  {
    /* Assigning a target later (UpdateGroup) is checked the same way. */
    Xuncha__V1__UpdateGroupRequest ur = XUNCHA__V1__UPDATE_GROUP_REQUEST__INIT;
    Xuncha__V1__Group *g1 = NULL, *g2 = NULL;
    char *only_t2[1] = {t2};
    char *mask[1] = {"target_ids"};
    inspectors[0] = ins_a;
    g.n_target_ids = 1;
    g.target_ids = only_t2;
    g.n_recusals = 0;
    g.n_assignments = 0;
    g.name = "第三巡察组";
    CU_ASSERT_EQUAL_FATAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                                &xuncha__v1__group__descriptor, &g1, &err),
                          XC_OK);
    char *orig = g1->target_ids[0];
    g1->target_ids[0] = t1; /* swap t2 for t1 */
    ur.group = g1;
    ur.n_update_mask = 1;
    ur.update_mask = mask;
    CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "UpdateGroup"), &ur,
                          &xuncha__v1__group__descriptor, &g2, &err),
                    XC_EFAILED_PRECONDITION);
    E2E_CONTAINS(err.msg, ins_a);
    g1->target_ids[0] = orig; /* t1 is the test's buffer, not the message's */
    xc_message_free(g1);
    xc_message_free(g2);
    g.n_target_ids = 2;
    g.target_ids = targets;
    g.name = "第一巡察组";
    g.n_assignments = 1;
  }
  /* Work long ago is no conflict. */
  inspectors[0] = ins_d;
  g.n_recusals = 0;
  as.member = ins_d;
  CU_ASSERT_EQUAL(acall(XC_H_COUNTY_A, M("Rounds", "CreateGroup"), &req,
                        &xuncha__v1__group__descriptor, &got, &err),
                  XC_OK);
  xc_message_free(got);
}

static void test_pool_suggest(void) {
  Xuncha__V1__SuggestInspectorsRequest req = XUNCHA__V1__SUGGEST_INSPECTORS_REQUEST__INIT;
  Xuncha__V1__SuggestInspectorsResponse *resp = NULL;
  char *needs[2] = {"finance", "law"};
  xc_err err;
  CU_ASSERT_FATAL(ins_a[0] != '\0');
  req.target_id = t1;
  req.n_needs = 2;
  req.needs = needs;
  CU_ASSERT_EQUAL_FATAL(acall(XC_H_COUNTY_A, M("Pool", "SuggestInspectors"), &req,
                              &xuncha__v1__suggest_inspectors_response__descriptor, &resp, &err),
                        XC_OK);
  CU_ASSERT(resp->n_suggestions >= 2);
  for (size_t i = 0; i < resp->n_suggestions; i++) {
    CU_ASSERT_STRING_NOT_EQUAL(resp->suggestions[i]->inspector->id, ins_a);
    CU_ASSERT_STRING_NOT_EQUAL(resp->suggestions[i]->inspector->id, ins_b);
  }
  /* 丙 meets both needs: first. */
  if (resp->n_suggestions > 0) {
    CU_ASSERT_STRING_EQUAL(resp->suggestions[0]->inspector->id, ins_c);
    CU_ASSERT_EQUAL(resp->suggestions[0]->n_matched, 2);
  }
  CU_ASSERT_EQUAL(resp->n_excluded, 2);
  xc_message_free(resp);
  {
    /* Workload: 丁 served in one round (the group above), 丙 in none. */
    Xuncha__V1__WorkloadRequest wr = XUNCHA__V1__WORKLOAD_REQUEST__INIT;
    Xuncha__V1__WorkloadResponse *w = NULL;
    wr.term = 8;
    CU_ASSERT_EQUAL_FATAL(acall(XC_H_COUNTY_A, M("Pool", "GetWorkload"), &wr,
                                &xuncha__v1__workload_response__descriptor, &w, &err),
                          XC_OK);
    for (size_t i = 0; i < w->n_workloads; i++) {
      if (strcmp(w->workloads[i]->inspector_id, ins_d) == 0) {
        CU_ASSERT_EQUAL(w->workloads[i]->rounds_served, 1);
        CU_ASSERT_EQUAL(w->workloads[i]->groups, 1);
      }
      if (strcmp(w->workloads[i]->inspector_id, ins_c) == 0)
        CU_ASSERT_EQUAL(w->workloads[i]->rounds_served, 0);
    }
    CU_ASSERT_EQUAL(w->n_workloads, 4);
    xc_message_free(w);
  }
}

/* ------------------------------------------------------------ damage */

/* Flips one byte of the first stored chunk, with the server stopped. */
static int damage_a_chunk(void) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  uint8_t *copy = NULL;
  int rc = -1;
  if (mdb_env_create(&env) != 0) return -1;
  mdb_env_set_maxdbs(env, 32);
  if (mdb_env_open(env, xc_h_datadir(e2e_h), 0, 0600) != 0) goto done;
  if (mdb_txn_begin(env, NULL, 0, &txn) != 0) goto done;
  if (mdb_dbi_open(txn, "blob", 0, &dbi) != 0) goto done;
  if (mdb_cursor_open(txn, dbi, &cur) != 0) goto done;
  if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) != 0 || v.mv_size == 0) goto done;
  copy = malloc(v.mv_size);
  if (copy == NULL) goto done;
  memcpy(copy, v.mv_data, v.mv_size);
  copy[v.mv_size / 2] ^= 0x5a;
  v.mv_data = copy;
  if (mdb_cursor_put(cur, &k, &v, MDB_CURRENT) != 0) goto done;
  mdb_cursor_close(cur);
  cur = NULL;
  rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
  txn = NULL;
done:
  if (cur != NULL) mdb_cursor_close(cur);
  if (txn != NULL) mdb_txn_abort(txn);
  mdb_env_close(env);
  free(copy);
  return rc;
}

typedef struct problems {
  size_t n;
  int names_doc;
  char doc[32]; /* the first document named */
} problems;

static void on_problem(void *ctx, const Xuncha__V1__VerifyProblem *p) {
  problems *pr = ctx;
  pr->n++;
  pr->names_doc += (int)p->n_document_ids;
  if (p->n_document_ids > 0 && pr->doc[0] == '\0')
    snprintf(pr->doc, sizeof pr->doc, "%s", p->document_ids[0]);
}

static void test_damage_found_by_verify(void) {
  Xuncha__V1__VerifyArchiveResponse *sum = NULL;
  problems pr = {0, 0, ""};
  sink s = {NULL, 0};
  xc_err err;
  CU_ASSERT_FATAL(ready);
  CU_ASSERT(xc_h_server_stop(e2e_h, NULL) >= 0);
  xc_h_clients_close(e2e_h);
  CU_ASSERT_EQUAL(damage_a_chunk(), 0);
  CU_ASSERT_EQUAL_FATAL(xc_h_server_start(e2e_h, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(
      xc_archive_verify(xc_h_client(e2e_h, XC_H_COUNTY_A), on_problem, &pr, &sum, 60000, &err),
      XC_OK);
  CU_ASSERT_EQUAL(sum->problems, 1);
  CU_ASSERT_EQUAL(pr.n, 1);
  CU_ASSERT(pr.names_doc >= 1);
  xc_message_free(sum);
  /* Every download is checked: the document verify named fails. */
  s.md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
  CU_ASSERT_EQUAL(xc_archive_get(xc_h_client(e2e_h, XC_H_COUNTY_A), pr.doc, sink_write, &s, NULL,
                                 NULL, NULL, 60000, &err),
                  XC_EDATA_LOSS);
  E2E_CONTAINS(err.msg, "damaged");
  EVP_MD_CTX_free(s.md);
}

/* ------------------------------------------------------------ CLI */

static void test_cli(void) {
  const char *bin = xc_h_env("XC_E2E_XUNCHA");
  char ca[1024], cert[1024], key[1024], file[1200], back[1200];
  xc_h_result res;
  xc_err err;
  FILE *f;
  CU_ASSERT_FATAL(ready && bin != NULL);
  snprintf(file, sizeof file, "%s/cli-in.txt", xc_h_dir(e2e_h));
  snprintf(back, sizeof back, "%s/cli-out.txt", xc_h_dir(e2e_h));
  f = fopen(file, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs("谈话记录：某某同志反映……\n", f);
  fclose(f);
  {
    const char *argv[] = {bin, "--server", xc_h_addr(e2e_h), "--ca",
                          xc_h_cert_path(e2e_h, "ca", "pem", ca, sizeof ca), "--cert",
                          xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "pem", cert, sizeof cert), "--key",
                          xc_h_cert_path(e2e_h, XC_H_COUNTY_A, "key", key, sizeof key), "--json",
                          "archive", "put", file, "--round", r1, "--stage", "个别谈话", "--kind",
                          "谈话记录", "--retention-years", "30", NULL};
    CU_ASSERT_EQUAL_FATAL(xc_h_run(e2e_h, argv, 30000, &res, &err), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "\"content_hash\"");
    {
      /* get it back by id */
      char id[32] = "";
      const char *p = strstr(res.out, "\"id\": \"");
      if (p != NULL) snprintf(id, sizeof id, "%.28s", p + 7);
      xc_h_result_free(&res);
      {
        const char *argv2[] = {bin, "--server", xc_h_addr(e2e_h), "--ca", ca, "--cert", cert,
                               "--key", key, "archive", "get", id, "-o", back, NULL};
        CU_ASSERT_EQUAL_FATAL(xc_h_run(e2e_h, argv2, 30000, &res, &err), XC_OK);
        CU_ASSERT_EQUAL(res.exit_code, 0);
        xc_h_result_free(&res);
      }
      {
        size_t n1 = 0, n2 = 0;
        char *a = xc_h_read_file(file, 4096, &n1), *b = xc_h_read_file(back, 4096, &n2);
        CU_ASSERT(a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0);
        free(a);
        free(b);
      }
    }
  }
  {
    const char *argv[] = {bin, "--server", xc_h_addr(e2e_h), "--ca", ca, "--cert", cert,
                          "--key", key, "pool", "suggest", "--target", t1, "--need",
                          "finance,law", NULL};
    CU_ASSERT_EQUAL_FATAL(xc_h_run(e2e_h, argv, 30000, &res, &err), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, ins_c);
    E2E_CONTAINS(res.out, "excluded");
    {
      /* The conflicted ones appear only in the excluded lines, after the table. */
      const char *ex = strstr(res.out, "excluded");
      const char *a = strstr(res.out, ins_a), *b = strstr(res.out, ins_b);
      CU_ASSERT(ex != NULL && a != NULL && a > ex);
      CU_ASSERT(ex != NULL && b != NULL && b > ex);
    }
    xc_h_result_free(&res);
  }
  {
    /* verify names the damaged document and fails (exit 4). */
    const char *argv[] = {bin, "--server", xc_h_addr(e2e_h), "--ca", ca, "--cert", cert,
                          "--key", key, "archive", "verify", NULL};
    CU_ASSERT_EQUAL_FATAL(xc_h_run(e2e_h, argv, 60000, &res, &err), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 4);
    E2E_CONTAINS(res.out, "DAMAGED");
    E2E_CONTAINS(res.out, "document a_");
    xc_h_result_free(&res);
  }
  {
    const char *argv[] = {bin, "--server", xc_h_addr(e2e_h), "--ca", ca, "--cert", cert,
                          "--key", key, "pool", "add", "--name", "戊", "--specialty", "law",
                          "--work", "城东区财政局:2020-01-01:2021-01-01", NULL};
    CU_ASSERT_EQUAL_FATAL(xc_h_run(e2e_h, argv, 30000, &res, &err), XC_OK);
    CU_ASSERT_EQUAL(res.exit_code, 0);
    E2E_CONTAINS(res.out, "戊");
    xc_h_result_free(&res);
  }
}

static void archive_release(void) {}

static const e2e_test archive_tests[] = {
    {"setup", test_setup},
    {"a file 3x the message limit streams both ways, server memory bounded",
     test_large_both_ways},
    {"a duplicate upload is stored once", test_duplicate_stored_once},
    {"uploads are refused to the wrong callers and records", test_upload_refusals},
    {"a paused upload holds no write; a cancelled one leaves nothing",
     test_slow_and_cancelled_uploads},
    {"a lead's document: its agency reads it, another agency does not",
     test_lead_document_access},
    {"an archived round's documents are read-only", test_archived_round_read_only},
    {"a conflicted group or assignment is refused with the reason", test_pool_conflicts},
    {"suggestions never include a conflicted inspector; workload", test_pool_suggest},
    {"a damaged chunk is found by verify and refused on download", test_damage_found_by_verify},
    {"xuncha archive put/get/verify and pool suggest/add", test_cli},
    {NULL, NULL}};

const e2e_suite e2e_suite_archive = {"archive", archive_tests, archive_release};
