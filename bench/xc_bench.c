/*
 * xuncha-bench: load generator and storage tools for xunchad.
 *
 *   xuncha-bench run  [options] [WORKLOAD...]   calls against a running server
 *   xuncha-bench fill --data DIR --count N       fills a store directly
 *   xuncha-bench disk --data DIR                 packed bytes vs file size
 *   xuncha-bench transport [options]             the transport's ceiling per reply size
 *   xuncha-bench fsync --data DIR                the disk's cost of an LMDB commit
 *
 * `run` keeps C calls in flight over N connections (one completion-queue
 * thread, registered calls, one batch per call, as a lean gRPC client does),
 * for each workload and each in-flight level, and prints calls/s, latency
 * percentiles, errors and the ratio to `health` measured in the same run,
 * optionally also as JSON. See bench/README.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "grpc/health/v1/health.pb-c.h"
#include "xc_bench.h"
#include "xc_msg.h"
#include "xc_store.h"
#include "xc_text.h"
#include "xuncha/v1/xuncha.pb-c.h"

#define XB_MAX_CONNS 64
#define XB_MAX_INFLIGHT 4096
#define XB_MAX_LEVELS XC__BENCH_MAX_LIST
#define XB_MAX_PEM (1024 * 1024)
#define XB_MAX_RESULTS ((XC__BENCH_MAX_LIST + 1) * XB_MAX_LEVELS)
/* Latency samples kept per workload and level (beyond: not recorded). */
#define XB_MAX_SAMPLES ((size_t)16 * 1024 * 1024)
/* Rounds a run may interleave its workloads in (--rounds). */
#define XB_MAX_ROUNDS 100
/* Warm-up of every round after the first: refills the calls in flight. */
#define XB_ROUND_WARMUP_S 0.25
#define XB_SEED_FINDINGS 1000
#define XB_CREATE_VARIANTS 16
#define XB_CALL_TIMEOUT_S 30

typedef enum xb_workload {
  XB_HEALTH = 0,
  XB_GET = 1,
  XB_LIST = 2,
  XB_CREATE = 3,
  XB_MIX = 4,
  XB_N_WORKLOADS = 5,
  /* Not a `run` workload: what `transport` calls on its own server. */
  XB_TRANSPORT = 5
} xb_workload;

static const char *const xb_workload_names[XB_N_WORKLOADS] = {"health", "get", "list", "create",
                                                              "mix"};

/* The methods the bench calls. */
enum {
  XB_M_HEALTH = 0,
  XB_M_GET = 1,
  XB_M_LIST = 2,
  XB_M_CREATE = 3,
  XB_M_CREATE_TARGET = 4,
  XB_M_CREATE_ROUND = 5,
  XB_M_TRANSPORT = 6,
  XB_N_METHODS = 7
};
static const char *const xb_method_paths[XB_N_METHODS] = {
    "/grpc.health.v1.Health/Check",     "/xuncha.v1.Findings/GetFinding",
    "/xuncha.v1.Findings/ListFindings", "/xuncha.v1.Findings/CreateFinding",
    "/xuncha.v1.Targets/CreateTarget",  "/xuncha.v1.Rounds/CreateRound",
    XC__BENCH_TRANSPORT_METHOD};

typedef struct xb_conn {
  grpc_channel *ch;
  void *methods[XB_N_METHODS];
} xb_conn;

/* One call slot: at most one call in flight on it at a time. */
typedef struct xb_slot {
  struct xb_bench *b;
  xb_conn *conn;
  grpc_call *call;
  int method;
  int64_t start_ns;
  grpc_byte_buffer *send;
  grpc_byte_buffer *recv;
  grpc_metadata_array md_initial;
  grpc_metadata_array md_trailing;
  grpc_status_code status;
  grpc_slice details;
} xb_slot;

typedef struct xb_result {
  xb_workload w;
  int inflight;
  uint64_t calls, errors;
  double secs, rate;
  double p50_us, p99_us, max_us;
  double ratio; /* to health at the same level; 0 when not measured */
  double cpu_us; /* this process's CPU time per call while measuring */
  double cpu_pct; /* this process's CPU use while measuring, 100 = one core */
  double srv_cpu_us; /* transport: the server CQ thread's CPU time per call */
  int64_t reply_bytes; /* transport: the reply size measured */
  double reply_bytes_avg; /* mean size of the replies received while measuring */
  char first_error[256];
  /* Sums over the rounds, turned into the figures above by xb_result_finish. */
  uint64_t recv_bytes;
  double cpu_total_us, srv_total_us;
  int cpu_measured, srv_measured;
  uint32_t *samples; /* owned; freed by xb_result_finish */
  size_t n_samples, cap_samples;
} xb_result;

typedef struct xb_bench {
  /* options */
  const char *server;
  char *ca, *cert, *key;
  char region[16];
  int n_conns;
  int levels[XB_MAX_LEVELS];
  int n_levels;
  double duration_s, warmup_s;
  int rounds; /* each workload's duration is measured in this many interleaved slices */
  int workloads[XB_N_WORKLOADS];
  const char *json_path;

  xb_conn conns[XB_MAX_CONNS];
  grpc_completion_queue *cq;
  grpc_channel_credentials *creds;

  /* requests, packed once */
  grpc_slice health_req;
  grpc_slice list_req;
  grpc_slice create_req[XB_CREATE_VARIANTS];
  grpc_slice *get_req;
  size_t n_get_req;

  /* the run in progress */
  xb_workload cur;
  int measuring, stopping;
  uint64_t rng;
  uint32_t *samples;
  size_t n_samples;
  uint64_t calls, errors;
  uint64_t recv_bytes; /* reply bytes of the calls counted */
  char first_error[256];
  uint64_t acked_creates; /* CreateFinding calls answered OK, over the whole run */
  int64_t expect_len;     /* transport: every reply must be this long; -1: any */
  const xc__bench_tsrv *tsrv; /* transport: the server, for its thread's CPU time */

  /* run: workloads x levels; transport: sizes (with 0 added) x levels. */
  xb_result results[XB_MAX_RESULTS];
  size_t n_results;
} xb_bench;

int64_t xc__bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double xc__bench_cpu_us(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void xc__bench_die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "xuncha-bench: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

/* xorshift64*: cheap and good enough to pick requests. */
static uint64_t xb_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

/* Reads a whole PEM file (at most 1 MiB) into a new string. */
static char *xb_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if (f == NULL) xc__bench_die("%s: %s", path, strerror(errno));
  buf = malloc(XB_MAX_PEM + 1);
  if (buf == NULL) xc__bench_die("out of memory");
  n = fread(buf, 1, XB_MAX_PEM + 1, f);
  fclose(f);
  if (n == 0 || n > XB_MAX_PEM) xc__bench_die("%s: empty or larger than 1 MiB", path);
  buf[n] = '\0';
  return buf;
}

/* The region of an office certificate's CN "office:<code>". */
static void xb_region_from_cert(const char *pem, char *out, size_t size) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
  char cn[160];
  out[0] = '\0';
  if (x != NULL &&
      X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0 &&
      strncmp(cn, "office:", 7) == 0)
    xc_strlcpy(out, cn + 7, size);
  X509_free(x);
  BIO_free(bio);
}

/* Packs msg into a slice the bench keeps. */
static grpc_slice xb_pack(const ProtobufCMessage *msg) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(len);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  return s;
}

/* ------------------------------------------------------------ connections */

static void xb_connect(xb_bench *b) {
  grpc_ssl_pem_key_cert_pair pair = {b->key, b->cert};
  grpc_arg args[3];
  grpc_channel_args cargs;
  memset(args, 0, sizeof args);
  /* Separate TCP connections, not one shared subchannel (PLATFORM.md 9). */
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
  args[0].value.integer = 1;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[1].value.integer = 8 * 1024 * 1024;
  /* Channels with identical args would share a connection anyway. */
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = "xuncha.bench.conn";
  cargs.num_args = 3;
  cargs.args = args;
  b->creds = grpc_ssl_credentials_create(b->ca, &pair, NULL, NULL);
  if (b->creds == NULL) xc__bench_die("the TLS files are not usable");
  b->cq = grpc_completion_queue_create_for_next(NULL);
  for (int i = 0; i < b->n_conns; i++) {
    xb_conn *c = &b->conns[i];
    args[2].value.integer = i;
    c->ch = grpc_channel_create(b->server, b->creds, &cargs);
    for (int m = 0; m < XB_N_METHODS; m++)
      c->methods[m] = grpc_channel_register_call(c->ch, xb_method_paths[m], NULL, NULL);
  }
  /* Wait until every connection is READY, so no call fails while the TLS
   * handshakes run. */
  for (int i = 0; i < b->n_conns; i++) {
    int64_t until = xc__bench_now_ns() + INT64_C(10000000000);
    grpc_connectivity_state st;
    while ((st = grpc_channel_check_connectivity_state(b->conns[i].ch, 1)) != GRPC_CHANNEL_READY) {
      grpc_event ev;
      if (xc__bench_now_ns() > until) xc__bench_die("cannot connect to %s", b->server);
      grpc_channel_watch_connectivity_state(
          b->conns[i].ch, st,
          gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(200, GPR_TIMESPAN)),
          b->cq, NULL);
      ev = grpc_completion_queue_next(b->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
      (void)ev;
    }
  }
}

static void xb_disconnect(xb_bench *b) {
  for (int i = 0; i < b->n_conns; i++) grpc_channel_destroy(b->conns[i].ch);
  grpc_completion_queue_shutdown(b->cq);
  while (grpc_completion_queue_next(b->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(b->cq);
  grpc_channel_credentials_release(b->creds);
}

/* --------------------------------------------------------------- one call */

/* Starts a call of `method` sending a new byte buffer over `req` on slot s. */
static int xb_start(xb_slot *s, int method, grpc_slice req) {
  grpc_op ops[6];
  grpc_call_error e;
  gpr_timespec deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(XB_CALL_TIMEOUT_S, GPR_TIMESPAN));
  s->method = method;
  s->call = grpc_channel_create_registered_call(s->conn->ch, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                s->b->cq, s->conn->methods[method], deadline,
                                                NULL);
  s->send = grpc_raw_byte_buffer_create(&req, 1);
  s->recv = NULL;
  grpc_metadata_array_init(&s->md_initial);
  grpc_metadata_array_init(&s->md_trailing);
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = s->send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md_initial;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &s->recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &s->md_trailing;
  ops[5].data.recv_status_on_client.status = &s->status;
  ops[5].data.recv_status_on_client.status_details = &s->details;
  s->start_ns = xc__bench_now_ns();
  e = grpc_call_start_batch(s->call, ops, 6, s, NULL);
  if (e != GRPC_CALL_OK) {
    grpc_call_unref(s->call);
    grpc_byte_buffer_destroy(s->send);
    grpc_metadata_array_destroy(&s->md_initial);
    grpc_metadata_array_destroy(&s->md_trailing);
    s->call = NULL;
    return -1;
  }
  return 0;
}

/* Releases what a completed call used; the response stays in s->recv. */
static void xb_finish(xb_slot *s) {
  grpc_call_unref(s->call);
  s->call = NULL;
  grpc_byte_buffer_destroy(s->send);
  grpc_metadata_array_destroy(&s->md_initial);
  grpc_metadata_array_destroy(&s->md_trailing);
}

/* Copies a completed call's status details into out. */
static void xb_details(xb_slot *s, char *out, size_t size) {
  size_t n = GRPC_SLICE_LENGTH(s->details);
  if (n >= size) n = size - 1;
  memcpy(out, GRPC_SLICE_START_PTR(s->details), n);
  out[n] = '\0';
}

/* One call, waited for: for the setup. Returns the response (caller frees
 * with xc_msg_free) or dies saying why. */
static ProtobufCMessage *xb_call_sync(xb_bench *b, int method, const ProtobufCMessage *req,
                                      const ProtobufCMessageDescriptor *resp_desc) {
  xb_slot s;
  grpc_slice packed = xb_pack(req);
  ProtobufCMessage *resp = NULL;
  grpc_event ev;
  memset(&s, 0, sizeof s);
  s.b = b;
  s.conn = &b->conns[0];
  if (xb_start(&s, method, packed) != 0) xc__bench_die("cannot start a call");
  grpc_slice_unref(packed);
  ev = grpc_completion_queue_next(b->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
  if (ev.type != GRPC_OP_COMPLETE || ev.tag != &s) xc__bench_die("unexpected completion in setup");
  xb_finish(&s);
  if (s.status != GRPC_STATUS_OK) {
    char d[512];
    xb_details(&s, d, sizeof d);
    xc__bench_die("%s failed: status %d: %s", xb_method_paths[method], (int)s.status, d);
  }
  grpc_slice_unref(s.details);
  if (s.recv != NULL) {
    grpc_byte_buffer_reader r;
    grpc_slice all;
    if (grpc_byte_buffer_reader_init(&r, s.recv)) {
      all = grpc_byte_buffer_reader_readall(&r);
      grpc_byte_buffer_reader_destroy(&r);
      resp = protobuf_c_message_unpack(resp_desc, NULL, GRPC_SLICE_LENGTH(all),
                                       GRPC_SLICE_START_PTR(all));
      grpc_slice_unref(all);
    }
    grpc_byte_buffer_destroy(s.recv);
  }
  if (resp == NULL) xc__bench_die("%s: no valid response", xb_method_paths[method]);
  return resp;
}

/* -------------------------------------------------------------- the data */

/* Realistic finding text: ~500 bytes of Chinese, like a real record. */
static void xb_finding_fill(Xuncha__V1__Finding *f, const char *round_id, const char *target_id,
                            int variant, char *title, size_t title_size) {
  static const char *const areas[] = {"落实全面从严治党主体责任不到位", "“三重一大”决策制度执行不严格",
                                      "违规发放津贴补贴", "选人用人程序不规范"};
  static char *tags[] = {"三重一大", "四风"};
  (void)snprintf(title, title_size, "%s（第%d项）", areas[variant % 4], variant + 1);
  f->round_id = (char *)round_id;
  f->target_id = (char *)target_id;
  f->title = title;
  f->description =
      "该单位党组对巡察整改工作重视不够，研究部署不及时，整改方案针对性不强，部分问题整改"
      "停留在表面；2023年以来召开党组会议研究重大事项十二次，其中三次未按规定提前征求纪检"
      "监察组意见，个别项目资金使用未经集体研究决定，存在以会代训、以文件落实文件的现象。";
  f->area = XUNCHA__V1__FINDING_AREA__FINDING_AREA_POLITICAL + (variant % 3);
  f->n_tags = 2;
  f->tags = tags;
  f->basis = "《中国共产党巡视工作条例》第十五条；《党委（党组）落实全面从严治党主体责任规定》";
  f->found_by = "第一巡察组 王海燕";
  f->found_date = "2024-05-20";
}

/* Makes the target and round the workloads use, seeds findings for get and
 * list, and packs every request. */
static void xb_setup(xb_bench *b) {
  Xuncha__V1__CreateTargetRequest ct = XUNCHA__V1__CREATE_TARGET_REQUEST__INIT;
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__CreateRoundRequest cr = XUNCHA__V1__CREATE_ROUND_REQUEST__INIT;
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  Grpc__Health__V1__HealthCheckRequest hc = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  Xuncha__V1__ListFindingsRequest lr = XUNCHA__V1__LIST_FINDINGS_REQUEST__INIT;
  Xuncha__V1__Target *tgt;
  Xuncha__V1__Round *rnd;
  char *target_ids[1];
  char round_id[64], target_id[64], title[160];
  int64_t t0;

  if (b->region[0] == '\0') xc__bench_die("--region is needed (the certificate is not office:<code>)");
  t.region_code = b->region;
  t.name = "市财政局（基准测试）";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
  t.party_secretary = "李明";
  ct.target = &t;
  tgt = (Xuncha__V1__Target *)xb_call_sync(b, XB_M_CREATE_TARGET, &ct.base,
                                           &xuncha__v1__target__descriptor);
  xc_strlcpy(target_id, tgt->id, sizeof target_id);
  xc_msg_free(&tgt->base);

  target_ids[0] = target_id;
  r.region_code = b->region;
  r.term = 12;
  r.number = 3;
  r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  r.title = "十二届市委第三轮巡察（基准测试）";
  r.n_target_ids = 1;
  r.target_ids = target_ids;
  cr.round = &r;
  rnd = (Xuncha__V1__Round *)xb_call_sync(b, XB_M_CREATE_ROUND, &cr.base,
                                          &xuncha__v1__round__descriptor);
  xc_strlcpy(round_id, rnd->id, sizeof round_id);
  xc_msg_free(&rnd->base);

  b->health_req = xb_pack(&hc.base);
  lr.round_id = round_id;
  lr.page_size = 100;
  b->list_req = xb_pack(&lr.base);
  for (int v = 0; v < XB_CREATE_VARIANTS; v++) {
    Xuncha__V1__CreateFindingRequest cf = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    xb_finding_fill(&f, round_id, target_id, v, title, sizeof title);
    cf.finding = &f;
    b->create_req[v] = xb_pack(&cf.base);
  }

  /* Seed findings for get and list, each a real create. */
  t0 = xc__bench_now_ns();
  b->get_req = calloc(XB_SEED_FINDINGS, sizeof *b->get_req);
  if (b->get_req == NULL) xc__bench_die("out of memory");
  for (int i = 0; i < XB_SEED_FINDINGS; i++) {
    Xuncha__V1__CreateFindingRequest cf = XUNCHA__V1__CREATE_FINDING_REQUEST__INIT;
    Xuncha__V1__GetFindingRequest gr = XUNCHA__V1__GET_FINDING_REQUEST__INIT;
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    Xuncha__V1__Finding *got;
    xb_finding_fill(&f, round_id, target_id, i, title, sizeof title);
    cf.finding = &f;
    got = (Xuncha__V1__Finding *)xb_call_sync(b, XB_M_CREATE, &cf.base,
                                              &xuncha__v1__finding__descriptor);
    gr.id = got->id;
    b->get_req[b->n_get_req++] = xb_pack(&gr.base);
    xc_msg_free(&got->base);
  }
  fprintf(stderr, "setup: target %s, round %s, %d findings seeded in %.1f s\n", target_id,
          round_id, XB_SEED_FINDINGS, (double)(xc__bench_now_ns() - t0) / 1e9);
}

/* ----------------------------------------------------------------- a run */

/* Picks the method and request of the next call of the current workload. */
static void xb_pick(xb_bench *b, int *method, grpc_slice *req) {
  xb_workload w = b->cur;
  if (w == XB_MIX) {
    /* 70 % get, 20 % create, 10 % list: an office's day, reads first. */
    uint64_t x = xb_rand(&b->rng) % 10;
    w = x < 7 ? XB_GET : x < 9 ? XB_CREATE : XB_LIST;
  }
  switch (w) {
    case XB_GET:
      *method = XB_M_GET;
      *req = b->get_req[xb_rand(&b->rng) % b->n_get_req];
      break;
    case XB_LIST:
      *method = XB_M_LIST;
      *req = b->list_req;
      break;
    case XB_CREATE:
      *method = XB_M_CREATE;
      *req = b->create_req[xb_rand(&b->rng) % XB_CREATE_VARIANTS];
      break;
    case XB_TRANSPORT:
      /* The same empty request as a health check's. */
      *method = XB_M_TRANSPORT;
      *req = b->health_req;
      break;
    default:
      *method = XB_M_HEALTH;
      *req = b->health_req;
      break;
  }
}

static int xb_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Appends the slice's latency samples (b->samples) to res's, up to
 * XB_MAX_SAMPLES in all; dies if memory runs out. */
static void xb_result_add_samples(xb_result *res, const uint32_t *samples, size_t n) {
  size_t room = XB_MAX_SAMPLES - res->n_samples;
  if (n > room) n = room;
  if (n == 0) return;
  if (res->n_samples + n > res->cap_samples) {
    size_t cap = res->cap_samples > 0 ? res->cap_samples : 4096;
    uint32_t *grown;
    while (cap < res->n_samples + n) cap *= 2;
    if (cap > XB_MAX_SAMPLES) cap = XB_MAX_SAMPLES;
    grown = realloc(res->samples, cap * sizeof *grown);
    if (grown == NULL) xc__bench_die("out of memory");
    res->samples = grown;
    res->cap_samples = cap;
  }
  memcpy(res->samples + res->n_samples, samples, n * sizeof *samples);
  res->n_samples += n;
}

/* Turns res's sums over its rounds into rates, means and percentiles, and
 * frees its samples. */
static void xb_result_finish(xb_result *res) {
  res->rate = res->secs > 0 ? (double)res->calls / res->secs : 0;
  res->reply_bytes_avg = res->calls > 0 ? (double)res->recv_bytes / (double)res->calls : 0;
  res->cpu_us = res->calls > 0 && res->cpu_measured ? res->cpu_total_us / (double)res->calls : 0;
  res->cpu_pct = res->secs > 0 && res->cpu_measured ? res->cpu_total_us / 1e4 / res->secs : 0;
  res->srv_cpu_us =
      res->calls > 0 && res->srv_measured ? res->srv_total_us / (double)res->calls : 0;
  if (res->n_samples > 0) {
    qsort(res->samples, res->n_samples, sizeof *res->samples, xb_cmp_u32);
    res->p50_us = res->samples[res->n_samples / 2];
    res->p99_us = res->samples[(size_t)((double)res->n_samples * 0.99)];
    res->max_us = res->samples[res->n_samples - 1];
  }
  free(res->samples);
  res->samples = NULL;
  res->n_samples = res->cap_samples = 0;
}

/*
 * Runs workload w at `inflight` calls in flight for warmup_s unmeasured
 * seconds, then duration_s measured ones, then lets the calls in flight
 * finish, and adds what it measured to res
 * (whose w and inflight the caller set). Called once per round, so a
 * result sums its slices; xb_result_finish computes the figures.
 */
static void xb_run_one(xb_bench *b, xb_workload w, int inflight, double warmup_s,
                       double duration_s, xb_result *res) {
  xb_slot *slots = calloc((size_t)inflight, sizeof *slots);
  int64_t t_start, t_measure, t_end, t_stop_measure = 0;
  double cpu_start = 0, cpu_stop = 0, srv_start = 0, srv_stop = 0;
  int active = 0;
  if (slots == NULL) xc__bench_die("out of memory");
  b->cur = w;
  b->measuring = 0;
  b->stopping = 0;
  b->n_samples = 0;
  b->calls = b->errors = 0;
  b->recv_bytes = 0;
  b->first_error[0] = '\0';
  t_start = xc__bench_now_ns();
  t_measure = t_start + (int64_t)(warmup_s * 1e9);
  t_end = t_measure + (int64_t)(duration_s * 1e9);
  for (int i = 0; i < inflight; i++) {
    int m;
    grpc_slice req;
    slots[i].b = b;
    slots[i].conn = &b->conns[i % b->n_conns];
    xb_pick(b, &m, &req);
    if (xb_start(&slots[i], m, req) == 0) active++;
  }
  while (active > 0) {
    grpc_event ev = grpc_completion_queue_next(
        b->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
        NULL);
    int64_t now = xc__bench_now_ns();
    if (!b->measuring && !b->stopping && now >= t_measure) {
      b->measuring = 1;
      cpu_start = xc__bench_cpu_us();
      srv_start = xc__bench_tsrv_cpu_us(b->tsrv);
    }
    if (b->measuring && now >= t_end) {
      b->measuring = 0;
      b->stopping = 1;
      t_stop_measure = now;
      cpu_stop = xc__bench_cpu_us();
      srv_stop = xc__bench_tsrv_cpu_us(b->tsrv);
    }
    if (ev.type != GRPC_OP_COMPLETE) continue;
    if (ev.tag == NULL) continue;
    {
      xb_slot *s = ev.tag;
      int64_t lat_ns = now - s->start_ns;
      int ok = ev.success && s->status == GRPC_STATUS_OK;
      int64_t got_len = s->recv != NULL ? (int64_t)grpc_byte_buffer_length(s->recv) : 0;
      /* transport: a reply of the wrong size is an error, not a fast call. */
      int bad_len = ok && b->expect_len >= 0 && got_len != b->expect_len;
      if (ok && s->method == XB_M_CREATE) b->acked_creates++;
      xb_finish(s);
      if (s->recv != NULL) grpc_byte_buffer_destroy(s->recv);
      if (b->measuring && s->start_ns >= t_measure) {
        b->calls++;
        b->recv_bytes += (uint64_t)got_len;
        if (!ok || bad_len) {
          b->errors++;
          if (b->first_error[0] == '\0' && bad_len) {
            (void)snprintf(b->first_error, sizeof b->first_error,
                           "%s: a reply of %" PRId64 " bytes, not %" PRId64,
                           xb_method_paths[s->method], got_len, b->expect_len);
          } else if (b->first_error[0] == '\0') {
            char d[200];
            xb_details(s, d, sizeof d);
            (void)snprintf(b->first_error, sizeof b->first_error, "%s: status %d: %s",
                           xb_method_paths[s->method], (int)s->status, d);
          }
        }
        if (b->n_samples < XB_MAX_SAMPLES) {
          uint64_t us = (uint64_t)(lat_ns / 1000);
          b->samples[b->n_samples++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
      }
      grpc_slice_unref(s->details);
      active--;
      if (!b->stopping) {
        int m;
        grpc_slice req;
        xb_pick(b, &m, &req);
        if (xb_start(s, m, req) == 0) active++;
      }
    }
  }
  if (t_stop_measure == 0) {
    t_stop_measure = xc__bench_now_ns();
    cpu_stop = xc__bench_cpu_us();
    srv_stop = xc__bench_tsrv_cpu_us(b->tsrv);
  }
  res->calls += b->calls;
  res->errors += b->errors;
  res->secs += (double)(t_stop_measure - t_measure) / 1e9;
  res->recv_bytes += b->recv_bytes;
  /* Calls started before the measurement window but finished in it are not
   * counted, nor their CPU: at a steady rate the two offsets cancel out. */
  if (cpu_start > 0) {
    res->cpu_total_us += cpu_stop - cpu_start;
    res->cpu_measured = 1;
  }
  if (srv_start > 0) {
    res->srv_total_us += srv_stop - srv_start;
    res->srv_measured = 1;
  }
  if (res->first_error[0] == '\0')
    xc_strlcpy(res->first_error, b->first_error, sizeof res->first_error);
  xb_result_add_samples(res, b->samples, b->n_samples);
  free(slots);
}

void xc__bench_machine(char *out, size_t size) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256], model[200] = "unknown CPU";
  struct utsname u;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (f != NULL) {
    while (fgets(line, sizeof line, f) != NULL) {
      if (strncmp(line, "model name", 10) == 0) {
        char *colon = strchr(line, ':');
        if (colon != NULL) {
          size_t n;
          xc_strlcpy(model, colon + 2, sizeof model);
          n = strlen(model);
          if (n > 0 && model[n - 1] == '\n') model[n - 1] = '\0';
        }
        break;
      }
    }
    fclose(f);
  }
  if (uname(&u) != 0) xc_strlcpy(u.release, "?", sizeof u.release);
  (void)snprintf(out, size, "%ld x %s, Linux %s", cpus, model, u.release);
}

/* The JSON object of one result: the fields every command reports. The
 * caller adds its own and appends the object. */
static json_t *xb_json_result(const xb_result *r) {
  json_t *o = json_object();
  json_object_set_new(o, "inflight", json_integer(r->inflight));
  json_object_set_new(o, "calls", json_integer((json_int_t)r->calls));
  json_object_set_new(o, "errors", json_integer((json_int_t)r->errors));
  json_object_set_new(o, "calls_per_s", json_real(r->rate));
  json_object_set_new(o, "p50_us", json_real(r->p50_us));
  json_object_set_new(o, "p99_us", json_real(r->p99_us));
  json_object_set_new(o, "max_us", json_real(r->max_us));
  return o;
}

/* Adds the results and the run's settings to root and writes it to
 * b->json_path; takes root and arr. */
static void xb_json_write(const xb_bench *b, json_t *root, json_t *arr) {
  json_object_set_new(root, "connections", json_integer(b->n_conns));
  json_object_set_new(root, "duration_s", json_real(b->duration_s));
  json_object_set_new(root, "warmup_s", json_real(b->warmup_s));
  json_object_set_new(root, "rounds", json_integer(b->rounds));
  json_object_set_new(root, "results", arr);
  if (json_dump_file(root, b->json_path, JSON_INDENT(2)) != 0)
    fprintf(stderr, "xuncha-bench: cannot write %s\n", b->json_path);
  json_decref(root);
}

static void xb_report(xb_bench *b) {
  char machine[320];
  xc__bench_machine(machine, sizeof machine);
  /* Ratios to health at the same level. */
  for (size_t i = 0; i < b->n_results; i++) {
    xb_result *r = &b->results[i];
    for (size_t k = 0; k < b->n_results; k++)
      if (b->results[k].w == XB_HEALTH && b->results[k].inflight == r->inflight &&
          b->results[k].rate > 0)
        r->ratio = r->rate / b->results[k].rate;
  }
  printf("\nxuncha-bench: %s, %d connections, %.0f s per workload (after %.0f s warm-up)",
         b->server, b->n_conns, b->duration_s, b->warmup_s);
  if (b->rounds > 1)
    printf(",\n  measured in %d rounds that interleave the workloads (%.2f s each)", b->rounds,
           b->duration_s / b->rounds);
  printf("\n");
  printf("machine: %s\n\n", machine);
  printf("%-8s %8s %10s %9s %9s %9s %8s %9s\n", "workload", "inflight", "calls/s", "p50 ms",
         "p99 ms", "max ms", "errors", "vs health");
  for (size_t i = 0; i < b->n_results; i++) {
    xb_result *r = &b->results[i];
    printf("%-8s %8d %10.0f %9.3f %9.3f %9.3f %8" PRIu64 " %8.0f%%\n", xb_workload_names[r->w],
           r->inflight, r->rate, r->p50_us / 1000, r->p99_us / 1000, r->max_us / 1000, r->errors,
           r->ratio * 100);
  }
  printf("acknowledged creates (whole run, seeds excluded): %" PRIu64 "\n", b->acked_creates);
  for (size_t i = 0; i < b->n_results; i++)
    if (b->results[i].first_error[0] != '\0')
      printf("first error of %s/%d: %s\n", xb_workload_names[b->results[i].w],
             b->results[i].inflight, b->results[i].first_error);
  if (b->json_path != NULL) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "server", json_string(b->server));
    json_object_set_new(root, "machine", json_string(machine));
    json_object_set_new(root, "seeded_findings", json_integer(XB_SEED_FINDINGS));
    json_object_set_new(root, "acked_creates", json_integer((json_int_t)b->acked_creates));
    for (size_t i = 0; i < b->n_results; i++) {
      xb_result *r = &b->results[i];
      json_t *o = xb_json_result(r);
      json_object_set_new(o, "workload", json_string(xb_workload_names[r->w]));
      json_object_set_new(o, "ratio_to_health", json_real(r->ratio));
      json_object_set_new(o, "bench_cpu_us_per_call", json_real(r->cpu_us));
      json_object_set_new(o, "reply_bytes_avg", json_real(r->reply_bytes_avg));
      if (r->first_error[0] != '\0')
        json_object_set_new(o, "first_error", json_string(r->first_error));
      json_array_append_new(arr, o);
    }
    xb_json_write(b, root, arr);
  }
}

/* ------------------------------------------------------------- commands */

static void xb_usage(void) {
  printf(
      "Usage:\n"
      "  xuncha-bench run [options] [health|get|list|create|mix ...]\n"
      "  xuncha-bench fill --data DIR --count N [--region CODE]\n"
      "  xuncha-bench disk --data DIR\n"
      "  xuncha-bench store --data DIR [--threads 64] [--duration 5]\n"
      "  xuncha-bench lmdb --data DIR --count N [--per-commit 500]   raw LMDB floor\n"
      "  xuncha-bench transport --ca FILE --cert FILE --key FILE [--sizes 0,55000]\n"
      "                         [--connections 4] [--inflight 64] [--duration 10]\n"
      "                         [--json FILE]   the transport's ceiling per reply size\n"
      "  xuncha-bench fsync --data DIR [--pages 1,4,8,20,27] [--rounds 200]\n"
      "                     [--json FILE]       the disk's cost of an LMDB commit\n"
      "  (transport --help and fsync --help say more)\n"
      "\n"
      "run options (defaults in brackets; TLS files also from XUNCHA_CA, XUNCHA_CERT,\n"
      "XUNCHA_KEY and the server from XUNCHA_SERVER):\n"
      "  --server HOST:PORT   [127.0.0.1:7443]\n"
      "  --ca FILE --cert FILE --key FILE   an office certificate (office:<code>)\n"
      "  --region CODE        region of the records made [the certificate's office]\n"
      "  --connections N      TCP connections [4]\n"
      "  --inflight L         calls in flight, one level or a list: 1,64 [64]\n"
      "  --duration S         seconds measured per workload and level [10]\n"
      "  --warmup S           seconds run before measuring [1]\n"
      "  --rounds R           measure each workload in R slices of S/R seconds, the\n"
      "                       workloads taking turns, so that a change in the\n"
      "                       machine's load during the run affects every workload\n"
      "                       alike (each later slice re-warms for 0.25 s) [5]\n"
      "  --json FILE          also write the results as JSON\n"
      "  --no-health          skip the health baseline (no ratios; for soak runs)\n"
      "Without workloads, runs all: health get list create mix. health always runs\n"
      "first: it is the transport baseline every ratio refers to.\n");
}

/* Parses a number option or dies. */
long long xc__bench_num(const char *opt, const char *v, long long lo, long long hi) {
  long long x;
  if (v == NULL || xc_parse_int64(v, lo, hi, &x) != 0)
    xc__bench_die("%s needs a number from %lld to %lld", opt, lo, hi);
  return x;
}

size_t xc__bench_parse_list(const char *opt, const char *v, long long lo, long long hi,
                            long long *out, size_t max) {
  char buf[128];
  char *p = buf;
  size_t n = 0;
  if (v == NULL) xc__bench_die("%s needs a value: one number or a list like 1,64", opt);
  if (strlen(v) >= sizeof buf)
    xc__bench_die("%s: the list is longer than %zu characters", opt, sizeof buf - 1);
  xc_strlcpy(buf, v, sizeof buf);
  for (;;) {
    char *comma = strchr(p, ',');
    if (comma != NULL) *comma = '\0';
    if (n == max) xc__bench_die("%s: at most %zu values", opt, max);
    out[n++] = xc__bench_num(opt, p, lo, hi);
    if (comma == NULL) break;
    p = comma + 1;
  }
  return n;
}

static int xb_cmd_run(int argc, char **argv) {
  xb_bench *b = calloc(1, sizeof *b);
  const char *ca = getenv("XUNCHA_CA"), *cert = getenv("XUNCHA_CERT"),
             *key = getenv("XUNCHA_KEY");
  int any_workload = 0, skip_health = 0;
  if (b == NULL) xc__bench_die("out of memory");
  b->server = getenv("XUNCHA_SERVER") ? getenv("XUNCHA_SERVER") : "127.0.0.1:7443";
  b->n_conns = 4;
  b->levels[0] = 64;
  b->n_levels = 1;
  b->duration_s = 10;
  b->warmup_s = 1;
  b->rounds = 5;
  b->rng = 0x9E3779B97F4A7C15u;
  b->expect_len = -1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--server") == 0 && v) {
      b->server = v;
      i++;
    } else if (strcmp(a, "--ca") == 0 && v) {
      ca = v;
      i++;
    } else if (strcmp(a, "--cert") == 0 && v) {
      cert = v;
      i++;
    } else if (strcmp(a, "--key") == 0 && v) {
      key = v;
      i++;
    } else if (strcmp(a, "--region") == 0 && v) {
      xc_strlcpy(b->region, v, sizeof b->region);
      i++;
    } else if (strcmp(a, "--connections") == 0) {
      b->n_conns = (int)xc__bench_num(a, v, 1, XB_MAX_CONNS);
      i++;
    } else if (strcmp(a, "--duration") == 0) {
      b->duration_s = (double)xc__bench_num(a, v, 1, 86400);
      i++;
    } else if (strcmp(a, "--warmup") == 0) {
      b->warmup_s = (double)xc__bench_num(a, v, 0, 3600);
      i++;
    } else if (strcmp(a, "--json") == 0 && v) {
      b->json_path = v;
      i++;
    } else if (strcmp(a, "--rounds") == 0) {
      b->rounds = (int)xc__bench_num(a, v, 1, XB_MAX_ROUNDS);
      i++;
    } else if (strcmp(a, "--inflight") == 0 && v) {
      long long lv[XB_MAX_LEVELS];
      b->n_levels = (int)xc__bench_parse_list(a, v, 1, XB_MAX_INFLIGHT, lv, XB_MAX_LEVELS);
      for (int l = 0; l < b->n_levels; l++) b->levels[l] = (int)lv[l];
      i++;
    } else if (strcmp(a, "--no-health") == 0) {
      skip_health = 1;
    } else if (strcmp(a, "--help") == 0) {
      xb_usage();
      return 0;
    } else {
      int found = 0;
      for (int w = 0; w < XB_N_WORKLOADS; w++)
        if (strcmp(a, xb_workload_names[w]) == 0) {
          b->workloads[w] = 1;
          found = any_workload = 1;
        }
      if (!found) xc__bench_die("unknown argument '%s' (see --help)", a);
    }
  }
  if (!any_workload)
    for (int w = 0; w < XB_N_WORKLOADS; w++) b->workloads[w] = 1;
  if (!skip_health) b->workloads[XB_HEALTH] = 1;
  if (ca == NULL || cert == NULL || key == NULL) xc__bench_die("--ca, --cert and --key are required");
  b->ca = xb_read_file(ca);
  b->cert = xb_read_file(cert);
  b->key = xb_read_file(key);
  if (b->region[0] == '\0') xb_region_from_cert(b->cert, b->region, sizeof b->region);
  b->samples = malloc(XB_MAX_SAMPLES * sizeof *b->samples);
  if (b->samples == NULL) xc__bench_die("out of memory");

  grpc_init();
  xb_connect(b);
  xb_setup(b);
  for (int l = 0; l < b->n_levels; l++) {
    size_t first = b->n_results;
    for (int w = 0; w < XB_N_WORKLOADS; w++) {
      if (!b->workloads[w]) continue;
      b->results[b->n_results].w = (xb_workload)w;
      b->results[b->n_results].inflight = b->levels[l];
      b->n_results++;
    }
    /* Round by round, every workload in turn: a slow minute of the shared
     * machine then costs each workload its share, not one of them all. */
    for (int round = 0; round < b->rounds; round++)
      for (size_t i = first; i < b->n_results; i++) {
        double warmup = round == 0 || b->warmup_s < XB_ROUND_WARMUP_S ? b->warmup_s
                                                                       : XB_ROUND_WARMUP_S;
        xb_run_one(b, b->results[i].w, b->levels[l], warmup, b->duration_s / b->rounds,
                   &b->results[i]);
      }
    for (size_t i = first; i < b->n_results; i++) {
      xb_result *r = &b->results[i];
      xb_result_finish(r);
      fprintf(stderr, "%-8s inflight %4d: %8.0f calls/s, p50 %.3f ms, p99 %.3f ms, %" PRIu64
                      " errors, replies of %.0f bytes on average\n",
              xb_workload_names[r->w], r->inflight, r->rate, r->p50_us / 1000, r->p99_us / 1000,
              r->errors, r->reply_bytes_avg);
    }
  }
  xb_report(b);
  grpc_slice_unref(b->health_req);
  grpc_slice_unref(b->list_req);
  for (int v = 0; v < XB_CREATE_VARIANTS; v++) grpc_slice_unref(b->create_req[v]);
  for (size_t i = 0; i < b->n_get_req; i++) grpc_slice_unref(b->get_req[i]);
  free(b->get_req);
  xb_disconnect(b);
  grpc_shutdown_blocking();
  free(b->samples);
  free(b->ca);
  free(b->cert);
  free(b->key);
  free(b);
  return 0;
}

/* ------------------------------------------------------------- transport */

/* Default reply sizes: empty, and a page of 100 findings as `list` sends it. */
#define XB_TS_DEFAULT_SIZES "0,55000"

static void xb_transport_usage(void) {
  printf(
      "Usage: xuncha-bench transport --ca FILE --cert FILE --key FILE [options]\n"
      "\n"
      "Starts a minimal gRPC server in this process (mutual TLS on 127.0.0.1, xunchad's\n"
      "channel arguments, one completion-queue thread) that answers every call with a\n"
      "fixed reply of N bytes and does nothing else, and drives it as `run` drives\n"
      "xunchad: the transport's ceiling for a reply of that size. The server uses\n"
      "server.pem and server.key from the directory of --ca (`xuncha-certs dev DIR`)\n"
      "unless --server-cert/--server-key say otherwise; --cert/--key are the client's\n"
      "(e.g. city.pem, city.key).\n"
      "\n"
      "  --sizes L        reply sizes in bytes, up to %d, each 0 to %d [" XB_TS_DEFAULT_SIZES "];\n"
      "                   size 0 always runs first: every ratio refers to it\n"
      "  --connections N  TCP connections [4], at most %d\n"
      "  --inflight L     calls in flight, one level or a list: 1,64 [64], at most %d\n"
      "  --duration S     seconds measured per size and level [10]\n"
      "  --warmup S       seconds run before measuring [1]\n"
      "  --json FILE      also write the results as JSON\n"
      "  --server-cert FILE --server-key FILE   the server's certificate and key\n",
      XC__BENCH_MAX_LIST, XC__BENCH_MAX_REPLY, XB_MAX_CONNS, XB_MAX_INFLIGHT);
}

/* Reads DIR/NAME, where DIR is the directory of `sibling`. */
static char *xb_read_sibling(const char *sibling, const char *name) {
  char path[4096];
  const char *slash = strrchr(sibling, '/');
  int dir_len = slash != NULL ? (int)(slash - sibling) : 1;
  if (slash == NULL) sibling = ".";
  if (snprintf(path, sizeof path, "%.*s/%s", dir_len, sibling, name) >= (int)sizeof path)
    xc__bench_die("the path of %s is too long", name);
  return xb_read_file(path);
}

static void xb_transport_report(xb_bench *b) {
  char machine[320];
  xc__bench_machine(machine, sizeof machine);
  /* Ratios to the empty reply at the same level. */
  for (size_t i = 0; i < b->n_results; i++) {
    xb_result *r = &b->results[i];
    for (size_t k = 0; k < b->n_results; k++)
      if (b->results[k].reply_bytes == 0 && b->results[k].inflight == r->inflight &&
          b->results[k].rate > 0)
        r->ratio = r->rate / b->results[k].rate;
  }
  printf("\nxuncha-bench transport: in-process gRPC core server, mutual TLS on 127.0.0.1, one CQ "
         "thread, fixed reply; %d connections, %.0f s per row (after %.0f s warm-up)\n",
         b->n_conns, b->duration_s, b->warmup_s);
  printf("machine: %s\n", machine);
  printf("CPU us/call: user + system time of this whole process (client and server) per call;\n"
         "CPU %%: of this process while measuring (100 = one core; below the machine's cores\n"
         "x 100, other processes had the rest); server thr: the server CQ thread's share\n\n");
  printf("%11s %8s %10s %9s %9s %9s %8s %11s %6s %10s %7s %9s\n", "reply bytes", "inflight",
         "calls/s", "MB/s", "p50 ms", "p99 ms", "errors", "CPU us/call", "CPU %", "server thr",
         "vs 0 B", "CPU vs 0");
  for (size_t i = 0; i < b->n_results; i++) {
    xb_result *r = &b->results[i];
    double cpu0 = 0;
    for (size_t k = 0; k < b->n_results; k++)
      if (b->results[k].reply_bytes == 0 && b->results[k].inflight == r->inflight)
        cpu0 = b->results[k].cpu_us;
    printf("%11" PRId64 " %8d %10.0f %9.1f %9.3f %9.3f %8" PRIu64 " %11.1f %6.0f %10.1f %6.0f%% "
           "%8.2fx\n",
           r->reply_bytes, r->inflight, r->rate, r->rate * (double)r->reply_bytes / 1e6,
           r->p50_us / 1000, r->p99_us / 1000, r->errors, r->cpu_us, r->cpu_pct, r->srv_cpu_us,
           r->ratio * 100, cpu0 > 0 ? r->cpu_us / cpu0 : 0.0);
  }
  for (size_t i = 0; i < b->n_results; i++)
    if (b->results[i].first_error[0] != '\0')
      printf("first error of %" PRId64 " B/%d: %s\n", b->results[i].reply_bytes,
             b->results[i].inflight, b->results[i].first_error);
  if (b->json_path != NULL) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "server", json_string("in-process, mutual TLS, 1 CQ thread"));
    json_object_set_new(root, "machine", json_string(machine));
    for (size_t i = 0; i < b->n_results; i++) {
      xb_result *r = &b->results[i];
      json_t *o = xb_json_result(r);
      json_object_set_new(o, "reply_bytes", json_integer((json_int_t)r->reply_bytes));
      json_object_set_new(o, "cpu_us_per_call", json_real(r->cpu_us));
      json_object_set_new(o, "cpu_percent", json_real(r->cpu_pct));
      json_object_set_new(o, "server_thread_cpu_us_per_call", json_real(r->srv_cpu_us));
      json_object_set_new(o, "ratio_to_size0", json_real(r->ratio));
      if (r->first_error[0] != '\0')
        json_object_set_new(o, "first_error", json_string(r->first_error));
      json_array_append_new(arr, o);
    }
    xb_json_write(b, root, arr);
  }
}

static int xb_cmd_transport(int argc, char **argv) {
  xb_bench *b = calloc(1, sizeof *b);
  const char *ca = getenv("XUNCHA_CA"), *cert = getenv("XUNCHA_CERT"),
             *key = getenv("XUNCHA_KEY");
  long long sizes[XC__BENCH_MAX_LIST + 1];
  size_t n_sizes = 0;
  int has_zero = 0;
  char *srv_cert = NULL, *srv_key = NULL;
  const char *srv_cert_path = NULL, *srv_key_path = NULL;
  char target[64];
  if (b == NULL) xc__bench_die("out of memory");
  b->n_conns = 4;
  b->levels[0] = 64;
  b->n_levels = 1;
  b->duration_s = 10;
  b->warmup_s = 1;
  b->rng = 0x9E3779B97F4A7C15u;
  n_sizes = xc__bench_parse_list("--sizes", XB_TS_DEFAULT_SIZES, 0, XC__BENCH_MAX_REPLY, sizes,
                                 XC__BENCH_MAX_LIST);
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0) {
      xb_transport_usage();
      free(b);
      return 0;
    } else if (strcmp(a, "--ca") == 0 && v) {
      ca = v;
    } else if (strcmp(a, "--cert") == 0 && v) {
      cert = v;
    } else if (strcmp(a, "--key") == 0 && v) {
      key = v;
    } else if (strcmp(a, "--server-cert") == 0 && v) {
      srv_cert_path = v;
    } else if (strcmp(a, "--server-key") == 0 && v) {
      srv_key_path = v;
    } else if (strcmp(a, "--connections") == 0) {
      b->n_conns = (int)xc__bench_num(a, v, 1, XB_MAX_CONNS);
    } else if (strcmp(a, "--duration") == 0) {
      b->duration_s = (double)xc__bench_num(a, v, 1, 86400);
    } else if (strcmp(a, "--warmup") == 0) {
      b->warmup_s = (double)xc__bench_num(a, v, 0, 3600);
    } else if (strcmp(a, "--json") == 0 && v) {
      b->json_path = v;
    } else if (strcmp(a, "--inflight") == 0) {
      long long lv[XB_MAX_LEVELS];
      b->n_levels = (int)xc__bench_parse_list(a, v, 1, XB_MAX_INFLIGHT, lv, XB_MAX_LEVELS);
      for (int l = 0; l < b->n_levels; l++) b->levels[l] = (int)lv[l];
    } else if (strcmp(a, "--sizes") == 0) {
      n_sizes = xc__bench_parse_list(a, v, 0, XC__BENCH_MAX_REPLY, sizes, XC__BENCH_MAX_LIST);
    } else {
      xc__bench_die("transport: unknown argument or missing value: '%s' (see transport --help)",
                    a);
    }
    i++;
  }
  if (ca == NULL || cert == NULL || key == NULL)
    xc__bench_die("transport: --ca, --cert and --key are required (see transport --help)");
  /* Size 0 first: the baseline every ratio refers to, as health is for run. */
  for (size_t k = 0; k < n_sizes; k++) has_zero |= sizes[k] == 0;
  if (!has_zero) {
    memmove(sizes + 1, sizes, n_sizes * sizeof *sizes);
    sizes[0] = 0;
    n_sizes++;
  }
  b->ca = xb_read_file(ca);
  b->cert = xb_read_file(cert);
  b->key = xb_read_file(key);
  srv_cert = srv_cert_path ? xb_read_file(srv_cert_path) : xb_read_sibling(ca, "server.pem");
  srv_key = srv_key_path ? xb_read_file(srv_key_path) : xb_read_sibling(ca, "server.key");
  b->samples = malloc(XB_MAX_SAMPLES * sizeof *b->samples);
  if (b->samples == NULL) xc__bench_die("out of memory");
  b->health_req = grpc_empty_slice();

  grpc_init();
  for (size_t k = 0; k < n_sizes; k++) {
    xc__bench_tsrv *ts = NULL;
    xc_err err;
    int port = 0;
    uint64_t served;
    if (xc__bench_tsrv_start(b->ca, srv_cert, srv_key, (size_t)sizes[k], &ts, &port, &err) !=
        XC_OK)
      xc__bench_die("transport: %s", err.msg);
    (void)snprintf(target, sizeof target, "127.0.0.1:%d", port);
    b->server = target;
    b->expect_len = sizes[k];
    b->tsrv = ts;
    /* Fresh connections per size, so no size inherits another's windows. */
    xb_connect(b);
    for (int l = 0; l < b->n_levels; l++) {
      xb_result *r = &b->results[b->n_results++];
      r->w = XB_TRANSPORT;
      r->inflight = b->levels[l];
      xb_run_one(b, XB_TRANSPORT, b->levels[l], b->warmup_s, b->duration_s, r);
      xb_result_finish(r);
      r->reply_bytes = sizes[k];
      fprintf(stderr, "reply %7lld B inflight %4d: %8.0f calls/s, p50 %.3f ms, p99 %.3f ms, "
                      "%.1f us CPU/call, %" PRIu64 " errors\n",
              sizes[k], b->levels[l], r->rate, r->p50_us / 1000, r->p99_us / 1000, r->cpu_us,
              r->errors);
    }
    xb_disconnect(b);
    b->tsrv = NULL;
    served = xc__bench_tsrv_stop(ts);
    if (served == 0) xc__bench_die("transport: the server answered no call");
  }
  grpc_shutdown_blocking();
  xb_transport_report(b);
  free(srv_cert);
  free(srv_key);
  free(b->samples);
  free(b->ca);
  free(b->cert);
  free(b->key);
  free(b);
  return 0;
}

/* ------------------------------------------------------------------ fill */

typedef struct xb_fill_ctx {
  const char *region;
  const char *round_id, *target_id;
  int count;   /* records to make in this job */
  int first;   /* variant number of the first */
  char made_id[64];
} xb_fill_ctx;

/* Creates ctx->count findings in one transaction (a replay starts afresh). */
static int xb_fill_fn(xc_txn *txn, void *arg, xc_err *err) {
  xb_fill_ctx *c = arg;
  char owner[32], title[160];
  (void)snprintf(owner, sizeof owner, "office:%s", c->region);
  for (int i = 0; i < c->count; i++) {
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    int rc;
    xb_finding_fill(&f, c->round_id, c->target_id, c->first + i, title, sizeof title);
    ProtobufCMessage *copy;
    f.region_code = (char *)c->region;
    /* xc_txn_create sets fields of the record, so it must own its strings. */
    copy = xc_msg_clone(&f.base);
    if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    rc = xc_txn_create(txn, XC_KIND_FINDING, copy, owner, "office:bench#01", NULL, err);
    xc_msg_free(copy);
    if (rc != XC_OK) return rc;
  }
  return XC_OK;
}

/* The owner of the target and round `fill` makes: the office of --region,
 * so a filled county store can be synced up (federation accepts only
 * records owned inside the pusher's region). */
static char xb_fill_owner[32] = "office:3101";

/* Creates one record of `kind` and copies its id. */
static int xb_fill_one_fn(xc_txn *txn, void *arg, xc_err *err) {
  ProtobufCMessage **pair = arg; /* [0] the record, [1] out */
  ProtobufCMessage *copy = xc_msg_clone(pair[0]);
  int rc;
  xc_msg_free(pair[1]);
  pair[1] = NULL;
  if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_txn_create(txn, copy->descriptor == &xuncha__v1__target__descriptor ? XC_KIND_TARGET
                                                                              : XC_KIND_ROUND,
                     copy, xb_fill_owner, "office:bench#01", &pair[1], err);
  xc_msg_free(copy);
  return rc;
}

static int xb_cmd_fill(int argc, char **argv) {
  const char *dir = NULL, *region = "3101";
  long long count = 0, per = 1000;
  xc_store_options so;
  xc_store *store = NULL;
  xc_err err;
  ProtobufCMessage *pair[2] = {NULL, NULL};
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  Xuncha__V1__Round r = XUNCHA__V1__ROUND__INIT;
  char target_id[64], round_id[64];
  char *tids[1];
  int64_t t0;
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--data") == 0 && v) {
      dir = v;
      i++;
    } else if (strcmp(argv[i], "--count") == 0) {
      count = xc__bench_num("--count", v, 1, 100000000);
      i++;
    } else if (strcmp(argv[i], "--per-commit") == 0) {
      per = xc__bench_num("--per-commit", v, 1, 100000);
      i++;
    } else if (strcmp(argv[i], "--region") == 0 && v) {
      region = v;
      i++;
    } else {
      xc__bench_die("fill: unknown argument '%s'", argv[i]);
    }
  }
  if (dir == NULL || count == 0) xc__bench_die("fill needs --data DIR and --count N");
  (void)snprintf(xb_fill_owner, sizeof xb_fill_owner, "office:%s", region);
  memset(&so, 0, sizeof so);
  so.dir = dir;
  if (xc_store_open(&so, &store, &err) != XC_OK) xc__bench_die("cannot open %s: %s", dir, err.msg);
  t.region_code = (char *)region;
  t.name = "市财政局（基准测试）";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
  pair[0] = &t.base;
  if (xc_store_write(store, xb_fill_one_fn, pair, &err) != XC_OK) xc__bench_die("fill: %s", err.msg);
  xc_strlcpy(target_id, xc_msg_get_str(pair[1], "id"), sizeof target_id);
  xc_msg_free(pair[1]);
  pair[1] = NULL;
  tids[0] = target_id;
  r.region_code = (char *)region;
  r.term = 12;
  r.number = 3;
  r.kind = XUNCHA__V1__ROUND_KIND__ROUND_KIND_REGULAR;
  r.title = "十二届市委第三轮巡察（基准测试）";
  r.n_target_ids = 1;
  r.target_ids = tids;
  pair[0] = &r.base;
  if (xc_store_write(store, xb_fill_one_fn, pair, &err) != XC_OK) xc__bench_die("fill: %s", err.msg);
  xc_strlcpy(round_id, xc_msg_get_str(pair[1], "id"), sizeof round_id);
  xc_msg_free(pair[1]);
  t0 = xc__bench_now_ns();
  for (long long done = 0; done < count;) {
    xb_fill_ctx c;
    memset(&c, 0, sizeof c);
    c.region = region;
    c.round_id = round_id;
    c.target_id = target_id;
    c.count = (int)(count - done < per ? count - done : per);
    c.first = (int)done;
    if (xc_store_write(store, xb_fill_fn, &c, &err) != XC_OK) xc__bench_die("fill: %s", err.msg);
    done += c.count;
    if (done % 100000 == 0 || done == count)
      fprintf(stderr, "%lld findings, %.0f/s\n", done,
              (double)done / ((double)(xc__bench_now_ns() - t0) / 1e9));
  }
  xc_store_close(store);
  printf("filled %s with %lld findings (round %s) in %.1f s\n", dir, count, round_id,
         (double)(xc__bench_now_ns() - t0) / 1e9);
  return 0;
}

/* ----------------------------------------------------------------- store */

/* `store`: threads that each create findings one durable write at a time,
 * through xc_store_create as the server does: the storage's group-commit
 * ceiling without gRPC. */
typedef struct xb_store_run {
  xc_store *store;
  const char *region;
  volatile int *stop;
  uint64_t done;
  int failed;
} xb_store_run;

static void *xb_store_thread(void *arg) {
  xb_store_run *r = arg;
  char title[160];
  uint8_t fp[32];
  memset(fp, 0, sizeof fp);
  for (int i = 0; !*r->stop; i++) {
    Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
    ProtobufCMessage *out = NULL;
    xc_err err;
    xb_finding_fill(&f, "r_01HZZZZZZZZZZZZZZZZZZZZZZZ", "t_01HZZZZZZZZZZZZZZZZZZZZZZZ", i, title,
                    sizeof title);
    f.region_code = (char *)r->region;
    if (xc_store_create(r->store, XC_KIND_FINDING, &f.base, "office:3101", "office:3101#01",
                        "office:3101", "", fp, &out, &err) != XC_OK) {
      r->failed = 1;
      break;
    }
    xc_msg_free(out);
    r->done++;
  }
  return NULL;
}

static int xb_cmd_store(int argc, char **argv) {
  const char *dir = NULL;
  long long threads = 64, secs = 5;
  xc_store_options so;
  xc_store *store = NULL;
  xc_store_stats st0, st1;
  xc_err err;
  volatile int stop = 0;
  xb_store_run *runs;
  pthread_t *th;
  uint64_t total = 0;
  int64_t t0, t1;
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--data") == 0 && v) {
      dir = v;
      i++;
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = xc__bench_num("--threads", v, 1, 1024);
      i++;
    } else if (strcmp(argv[i], "--duration") == 0) {
      secs = xc__bench_num("--duration", v, 1, 3600);
      i++;
    } else {
      xc__bench_die("store: unknown argument '%s'", argv[i]);
    }
  }
  if (dir == NULL) xc__bench_die("store needs --data DIR");
  memset(&so, 0, sizeof so);
  so.dir = dir;
  if (xc_store_open(&so, &store, &err) != XC_OK) xc__bench_die("cannot open %s: %s", dir, err.msg);
  runs = calloc((size_t)threads, sizeof *runs);
  th = calloc((size_t)threads, sizeof *th);
  if (runs == NULL || th == NULL) xc__bench_die("out of memory");
  xc_store_get_stats(store, &st0);
  t0 = xc__bench_now_ns();
  for (long long i = 0; i < threads; i++) {
    runs[i].store = store;
    runs[i].region = "3101";
    runs[i].stop = &stop;
    if (pthread_create(&th[i], NULL, xb_store_thread, &runs[i]) != 0) xc__bench_die("cannot start threads");
  }
  sleep((unsigned)secs);
  stop = 1;
  for (long long i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    total += runs[i].done;
    if (runs[i].failed) xc__bench_die("a write failed");
  }
  t1 = xc__bench_now_ns();
  xc_store_get_stats(store, &st1);
  xc_store_close(store);
  printf("%lld threads: %" PRIu64 " durable creates in %.1f s = %.0f/s, %" PRIu64
         " commits (%.1f writes per commit)\n",
         threads, total, (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9),
         st1.commits - st0.commits,
         st1.commits > st0.commits ? (double)(st1.writes - st0.writes) / (double)(st1.commits - st0.commits) : 0.0);
  free(runs);
  free(th);
  return 0;
}

/* ------------------------------------------------------------------ disk */

/* Sums key and value bytes of every named database, and compares with the
 * file's size on disk. */
/* ------------------------------------------------------------------ lmdb */

/*
 * `lmdb`: the floor every storage figure is compared with: raw mdb_put of
 * packed findings (the same ~600-byte records `fill` makes) into one plain
 * database, --per-commit puts per durable commit, no indexes, no change
 * log. Federation's sync rate is reported as a ratio to this.
 */
static int xb_cmd_lmdb(int argc, char **argv) {
  const char *dir = NULL;
  long long count = 0, per = 500;
  MDB_env *env = NULL;
  MDB_dbi dbi;
  char title[160], key[32];
  int64_t t0;
  double secs;
  for (int i = 0; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--data") == 0 && v) {
      dir = v;
      i++;
    } else if (strcmp(argv[i], "--count") == 0) {
      count = xc__bench_num("--count", v, 1, 100000000);
      i++;
    } else if (strcmp(argv[i], "--per-commit") == 0) {
      per = xc__bench_num("--per-commit", v, 1, 100000);
      i++;
    } else {
      xc__bench_die("lmdb: unknown argument '%s'", argv[i]);
    }
  }
  if (dir == NULL || count == 0) xc__bench_die("lmdb needs --data DIR (an empty directory) and --count N");
  if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)64 << 30) != 0 ||
      mdb_env_open(env, dir, 0, 0600) != 0)
    xc__bench_die("lmdb: cannot open an environment in %s", dir);
  t0 = xc__bench_now_ns();
  for (long long done = 0; done < count;) {
    MDB_txn *txn = NULL;
    long long n = count - done < per ? count - done : per;
    if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0)
      xc__bench_die("lmdb: cannot begin a transaction");
    for (long long i = 0; i < n; i++) {
      Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
      size_t len = 0;
      uint8_t *buf;
      MDB_val k, v;
      xb_finding_fill(&f, "r_01HZZZZZZZZZZZZZZZZZZZZZZZ", "t_01HZZZZZZZZZZZZZZZZZZZZZZZ",
                      (int)(done + i), title, sizeof title);
      f.region_code = "110105";
      buf = xc_msg_pack(&f.base, 0, &len);
      if (buf == NULL) xc__bench_die("lmdb: out of memory");
      (void)snprintf(key, sizeof key, "f_%026lld", done + i);
      k.mv_size = strlen(key);
      k.mv_data = key;
      v.mv_size = len;
      v.mv_data = buf;
      if (mdb_put(txn, dbi, &k, &v, MDB_APPEND) != 0) xc__bench_die("lmdb: put failed");
      free(buf);
    }
    if (mdb_txn_commit(txn) != 0) xc__bench_die("lmdb: commit failed");
    done += n;
  }
  secs = (double)(xc__bench_now_ns() - t0) / 1e9;
  mdb_env_close(env);
  printf("lmdb: %lld records, %lld per durable commit, %.2f s, %.0f records/s\n", count, per,
         secs, (double)count / secs);
  return 0;
}

static int xb_cmd_disk(int argc, char **argv) {
  const char *dir = argc >= 2 && strcmp(argv[0], "--data") == 0 ? argv[1] : NULL;
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi main_dbi;
  MDB_cursor *cur = NULL;
  MDB_val k, v;
  char path[4096];
  struct stat st;
  uint64_t total = 0;
  if (dir == NULL) xc__bench_die("disk needs --data DIR");
  if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
      mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0)
    xc__bench_die("cannot open the store in %s", dir);
  if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 ||
      mdb_cursor_open(txn, main_dbi, &cur) != 0)
    xc__bench_die("cannot read %s", dir);
  printf("%-14s %12s %14s %12s\n", "database", "entries", "packed bytes", "pages");
  while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
    char name[128];
    MDB_dbi dbi;
    MDB_cursor *c2 = NULL;
    MDB_stat ms;
    MDB_val k2, v2;
    uint64_t bytes = 0, n = 0;
    if (k.mv_size >= sizeof name) continue;
    memcpy(name, k.mv_data, k.mv_size);
    name[k.mv_size] = '\0';
    if (mdb_dbi_open(txn, name, 0, &dbi) != 0) continue;
    if (mdb_cursor_open(txn, dbi, &c2) != 0) continue;
    while (mdb_cursor_get(c2, &k2, &v2, MDB_NEXT) == 0) {
      bytes += k2.mv_size + v2.mv_size;
      n++;
    }
    mdb_cursor_close(c2);
    (void)mdb_stat(txn, dbi, &ms);
    printf("%-14s %12" PRIu64 " %14" PRIu64 " %12zu\n", name, n, bytes,
           ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages);
    total += bytes;
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  (void)snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (stat(path, &st) != 0) xc__bench_die("%s: %s", path, strerror(errno));
  printf("packed total %" PRIu64 " bytes; data.mdb %lld bytes on disk (%lld apparent); "
         "ratio %.2f\n",
         total, (long long)st.st_blocks * 512, (long long)st.st_size,
         total ? (double)st.st_blocks * 512 / (double)total : 0.0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    xb_usage();
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "run") == 0) return xb_cmd_run(argc - 2, argv + 2);
  if (strcmp(argv[1], "fill") == 0) return xb_cmd_fill(argc - 2, argv + 2);
  if (strcmp(argv[1], "disk") == 0) return xb_cmd_disk(argc - 2, argv + 2);
  if (strcmp(argv[1], "lmdb") == 0) return xb_cmd_lmdb(argc - 2, argv + 2);
  if (strcmp(argv[1], "store") == 0) return xb_cmd_store(argc - 2, argv + 2);
  if (strcmp(argv[1], "transport") == 0) return xb_cmd_transport(argc - 2, argv + 2);
  if (strcmp(argv[1], "fsync") == 0) return xc__bench_cmd_fsync(argc - 2, argv + 2);
  fprintf(stderr, "xuncha-bench: unknown command '%s'\n", argv[1]);
  xb_usage();
  return 2;
}
