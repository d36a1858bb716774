/*
 * xc_fuzz_requests: a libFuzzer target for every request type of xunchad,
 * unary and streaming, run through the real handlers against a scratch
 * store.
 *
 * Input layout: byte 0 picks the method (index into the methods of
 * xc_methods(), modulo their number), byte 1 the caller's identity (modulo
 * the list below: offices at three levels, an agency, an auditor, an admin,
 * and a certificate without a xuncha identity), the rest is the request as
 * sent on the wire. Each input is decoded as the method's request type
 * (protobuf_c_message_unpack, as the transport does), and a request that
 * decodes is handled by the method's handler on a hand-made xc_ctx, exactly
 * as the transport would call it, minus gRPC. Streaming methods get a stub
 * call (xc_call_stub_new): for client-streaming and bidirectional methods
 * the rest of the input is the client's stream, as frames of a two-byte
 * little-endian length and a message; every message a handler sends must be
 * of the method's response type and pack; a parked call ends at once, as
 * when the client goes away.
 *
 * Any string of the request (at any depth) of the form "@<letter>" is
 * replaced by the id of a record made at start-up (t target, r round,
 * g group, f finding, l lead, d directory entry), so the seed corpus can
 * reach code past "no such record" though ids are random.
 *
 * Per method, the number of inputs that reached the handler is written to
 * $XC_FUZZ_COUNTS (if set) every 4096 runs and at exit, one
 * "<count> <method>" line each; tests/fuzz/run_fuzz.sh fails the run if any
 * method stayed at 0.
 *
 * Admin/Backup is not fuzzed: it writes a copy of the store to a path the
 * input names (the durability e2e test covers its refusals).
 *
 * XC_FUZZ_WRITE_SEEDS=DIR: instead of fuzzing, write the seed corpus (one
 * small valid request per method and identity) into DIR and exit.
 */
/* nftw() is an XSI function. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "handlers.h"
#include "xc_handler.h"
#include "xc_home.h"
#include "xc_identity.h"
#include "xc_msg.h"
#include "xc_store.h"

#define XC__MAX_METHODS 128

static const char *const xc__cns[] = {
    "office:310104", "office:3101", "office:310104001", "agency:3101:jw",
    "auditor:3101",  "admin:3101",  "monitoring",
};
#define XC__N_CNS (sizeof xc__cns / sizeof xc__cns[0])

static xc_store *xc__store;
static char xc__dir[256];
static const xc_method *xc__m[XC__MAX_METHODS];

/* The client's side of one streamed input (xc_call_stub). */
typedef struct xc__stream {
  const xc_method *m;
  const uint8_t *data;
  size_t len, pos;
  size_t sent;
} xc__stream;
static size_t xc__n;
static uint64_t xc__reached[XC__MAX_METHODS];
static uint64_t xc__runs;
static const char *xc__base; /* where scratch stores are made */
static char xc__ids[26][40]; /* ids of the seeded records, by letter */

/* ------------------------------------------------------------ set-up */

static int xc__rm(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p) == 0 ? 0 : 0;
}

static void xc__write_counts(void) {
  const char *path = getenv("XC_FUZZ_COUNTS");
  char tmp[1024];
  FILE *f;
  if (path == NULL || *path == '\0') return;
  (void)snprintf(tmp, sizeof tmp, "%s.tmp", path);
  f = fopen(tmp, "w");
  if (f == NULL) return;
  for (size_t i = 0; i < xc__n; i++)
    fprintf(f, "%llu %s\n", (unsigned long long)xc__reached[i], xc__m[i]->path);
  if (fclose(f) == 0) (void)rename(tmp, path);
}

static void xc__close_store(void);

static void xc__at_exit(void) {
  xc__write_counts();
  xc__close_store();
}

static void xc__ctx(xc_ctx *ctx, unsigned who, const char *method) {
  xc_err err;
  memset(ctx, 0, sizeof *ctx);
  ctx->store = xc__store;
  ctx->method = method;
  xc_store_secret(xc__store, ctx->secret);
  ctx->scan_budget = 2000; /* keeps one input's list walk short */
  ctx->has_identity = xc_identity_parse(xc__cns[who % XC__N_CNS], "0A1B2C", &ctx->id, &err) == XC_OK;
}

/* Replaces "@x" strings (at any depth) by the seeded id of letter x. */
static void xc__resolve(ProtobufCMessage *m, int depth) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (depth > 4) return;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char *base = (char *)m + f->offset;
    size_t n = 1;
    void *items = base;
    /* The members of a oneof share storage: only the one set may be read. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(size_t *)((char *)m + f->quantifier_offset);
      items = *(void **)base;
    }
    for (size_t k = 0; k < n && items != NULL; k++) {
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        char **s = (char **)items + k;
        if (*s != NULL && (*s)[0] == '@' && (*s)[1] >= 'a' && (*s)[1] <= 'z' && (*s)[2] == '\0' &&
            xc__ids[(*s)[1] - 'a'][0] != '\0') {
          char *id = strdup(xc__ids[(*s)[1] - 'a']);
          if (id != NULL) {
            /* protobuf-c's unpacked strings are malloc'ed unless they are the
             * descriptor's default ("" for proto3), which is never "@x". */
            free(*s);
            *s = id;
          }
        }
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *sub = ((ProtobufCMessage **)items)[k];
        if (sub != NULL) xc__resolve(sub, depth + 1);
      }
    }
  }
}

/* A message a streaming handler sends: what the transport would check
 * before packing it. A long stream ends as if the client went away. */
static int xc__stub_send(void *arg, const ProtobufCMessage *msg, xc_err *err) {
  xc__stream *s = arg;
  size_t n = 0;
  uint8_t *buf;
  if (msg == NULL || msg->descriptor != s->m->response) abort();
  buf = xc_msg_pack(msg, 0, &n);
  if (buf == NULL) abort();
  free(buf);
  if (++s->sent > 4096) return xc_err_set(err, XC_ECANCELLED, "the client has gone away");
  return XC_OK;
}

/* The next message of the client's stream: a frame of the input. */
static int xc__stub_recv(void *arg, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                         xc_err *err) {
  xc__stream *s = arg;
  size_t n;
  *out = NULL;
  if (s->len - s->pos < 2) return XC_OK; /* the client half-closed */
  n = (size_t)s->data[s->pos] | ((size_t)s->data[s->pos + 1] << 8);
  s->pos += 2;
  if (n > s->len - s->pos) n = s->len - s->pos;
  *out = protobuf_c_message_unpack(desc, NULL, n, s->data + s->pos);
  s->pos += n;
  if (*out == NULL)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "the request is not a valid %s message",
                      desc->name);
  xc__resolve(*out, 0);
  return XC_OK;
}

/* Runs one request; returns the handler's result (1 if it did not decode). */
static int xc__run(size_t mi, unsigned who, const uint8_t *data, size_t len,
                   ProtobufCMessage **resp_out) {
  const xc_method *m = xc__m[mi];
  int stream_in = m->kind == XC_METHOD_CLIENT_STREAM || m->kind == XC_METHOD_BIDI_STREAM;
  int stream_out = m->kind == XC_METHOD_SERVER_STREAM || m->kind == XC_METHOD_BIDI_STREAM;
  ProtobufCMessage *req = NULL;
  ProtobufCMessage *resp = NULL;
  xc__stream st = {m, data, len, 0, 0};
  xc_call_stub stub = {xc__stub_send, xc__stub_recv, &st};
  xc_call *call = NULL;
  xc_ctx ctx;
  xc_err err;
  int rc;
  if (resp_out != NULL) *resp_out = NULL;
  if (!stream_in) {
    req = protobuf_c_message_unpack(m->request, NULL, len, data);
    if (req == NULL) return 1;
    xc__resolve(req, 0);
  }
  xc__ctx(&ctx, who, m->path);
  if (m->kind != XC_METHOD_UNARY) {
    call = xc_call_stub_new(&stub, m->path);
    if (call == NULL) abort();
    ctx.call = call;
  }
  xc_err_clear(&err);
  xc__reached[mi]++;
  rc = m->handler(&ctx, req, &resp, &err);
  xc_call_stub_free(call);
  if (rc == XC_OK && stream_out) {
    /* A server stream sends its replies itself and leaves *resp NULL. */
    if (resp != NULL) abort();
  } else if (rc == XC_OK) {
    /* What the transport would check before packing the reply. */
    if (resp == NULL || resp->descriptor != m->response) abort();
    {
      size_t n = 0;
      uint8_t *buf = xc_msg_pack(resp, 0, &n);
      if (buf == NULL) abort();
      free(buf);
    }
  } else {
    /* Every refusal says something: a status with no message is a bug. */
    if (resp != NULL || err.msg[0] == '\0') abort();
    if (resp_out != NULL && getenv("XC_FUZZ_VERBOSE") != NULL)
      fprintf(stderr, "fuzz: %s: %s\n", m->path, err.msg);
  }
  if (resp_out != NULL && rc == XC_OK)
    *resp_out = resp;
  else
    xc_msg_free(resp);
  xc_msg_free(req);
  return rc;
}

/* ------------------------------------------------------------ seeds */

/* A plausible value for string field `name` of a request to `path`. */
static const char *xc__str_for(const char *path, const char *name) {
  static const struct {
    const char *name;
    const char *value;
  } tab[] = {
      {"region_code", "310104"}, {"region_prefix", "3101"}, {"target_id", "@t"},
      {"round_id", "@r"},        {"finding_id", "@f"},      {"lead_id", "@l"},
      {"group_id", "@g"},        {"recipient", "agency:3101:jw"},
      {"identity", "agency:3101:jw"}, {"page_token", ""},  {"request_id", ""},
      {"etag", ""},              {"service", ""},           {"unit", "jw"},
      /* Federation: the scratch server is county-310104, and its township's
       * server (office:310104001) may push and pull (xc__federate). */
      {"server", "town-310104001"}, {"origin", "town-310104001"},
      {"list_origin", "town-310104001"}, {"kind", "target"},
  };
  if (strcmp(name, "region_code") == 0 && strstr(path, "Directory") != NULL) return "3101";
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strcmp(name, tab[i].name) == 0) return tab[i].value;
  if (strstr(name, "date") != NULL || strcmp(name, "deadline") == 0) return "2026-01-10";
  if (strcmp(name, "id") == 0) {
    /* The record a Get/Update/Void names: by the method's resource. */
    if (strstr(path, "Target")) return "@t";
    if (strstr(path, "Group")) return "@g";
    if (strstr(path, "Round")) return "@r";
    if (strstr(path, "Finding") || strstr(path, "Progress") || strstr(path, "Verif") ||
        strstr(path, "Rectification"))
      return "@f";
    if (strstr(path, "Lead") || strstr(path, "Disposition")) return "@l";
    if (strstr(path, "Directory")) return "@d";
    return "@t";
  }
  return "巡察测试";
}

/* Fills msg with plausible values: every string, number and enum set, and
 * sub-messages (not repeated ones) made, to depth 3. */
static void xc__fill(ProtobufCMessage *msg, const char *path, int depth) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char *slot = (char *)msg + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      /* One member of a oneof only, as on the wire (and as protobuf-c frees). */
      uint32_t *oneof_case = (uint32_t *)((char *)msg + f->quantifier_offset);
      if (*oneof_case != 0) continue;
      *oneof_case = f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      if (f->type == PROTOBUF_C_TYPE_STRING && strcmp(f->name, "target_ids") == 0) {
        char **v = malloc(sizeof *v);
        if (v == NULL || (v[0] = strdup("@t")) == NULL) {
          free(v);
          continue;
        }
        *(char ***)slot = v;
        *(size_t *)((char *)msg + f->quantifier_offset) = 1;
      }
      continue;
    }
    switch (f->type) {
      case PROTOBUF_C_TYPE_STRING: {
        const char *v = xc__str_for(path, f->name);
        char *copy;
        if (*v == '\0') break;
        copy = strdup(v);
        if (copy == NULL) break;
        /* A fresh message's strings are protobuf-c's static defaults. */
        *(char **)slot = copy;
        break;
      }
      case PROTOBUF_C_TYPE_INT32:
        *(int32_t *)slot = strcmp(f->name, "page_size") == 0 ? 10 : 1;
        break;
      case PROTOBUF_C_TYPE_INT64:
        *(int64_t *)slot = 1;
        break;
      case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        /* A directory entry for agency:3101:jw is a discipline commission. */
        if (strcmp(e->name, "xuncha.v1.DirectoryKind") == 0 && e->n_values > 4)
          *(int *)slot = e->values[4].value;
        else if (e->n_values > 1)
          *(int *)slot = e->values[1].value;
        break;
      }
      case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        ProtobufCMessage *sub;
        if (depth >= 3) break;
        sub = malloc(sd->sizeof_message);
        if (sub == NULL) break;
        sd->message_init(sub);
        xc__fill(sub, path, depth + 1);
        *(ProtobufCMessage **)slot = sub;
        break;
      }
      default:
        break;
    }
  }
}

/* Packs a filled request of method mi; NULL when out of memory. */
static uint8_t *xc__seed(size_t mi, size_t *len) {
  const ProtobufCMessageDescriptor *d = xc__m[mi]->request;
  ProtobufCMessage *req = malloc(d->sizeof_message);
  uint8_t *buf;
  if (req == NULL) return NULL;
  d->message_init(req);
  xc__fill(req, xc__m[mi]->path, 0);
  buf = xc_msg_pack(req, 0, len);
  xc_msg_free(req);
  return buf;
}

/* Makes one record with the Create method whose path ends in `name`, as
 * `who`, and remembers its id under `letter`. */
static void xc__make(const char *name, unsigned who, char letter) {
  for (size_t i = 0; i < xc__n; i++) {
    size_t pl = strlen(xc__m[i]->path), nl = strlen(name);
    size_t len = 0;
    uint8_t *buf;
    ProtobufCMessage *resp = NULL;
    int rc;
    if (pl < nl || strcmp(xc__m[i]->path + pl - nl, name) != 0) continue;
    uint64_t reached = xc__reached[i];
    buf = xc__seed(i, &len);
    if (buf == NULL) return;
    rc = xc__run(i, who, buf, len, &resp);
    /* Set-up is not fuzzing: it does not count. */
    xc__reached[i] = reached;
    free(buf);
    if (rc == XC_OK && resp != NULL) {
      const char *id = xc_msg_get_str(resp, "id");
      if (id != NULL) {
        size_t n = strlen(id);
        if (n < sizeof xc__ids[0]) memcpy(xc__ids[letter - 'a'], id, n + 1);
      }
    } else if (getenv("XC_FUZZ_VERBOSE") != NULL) {
      fprintf(stderr, "fuzz: seeding %s failed (%d)\n", name, rc);
    }
    xc_msg_free(resp);
    return;
  }
}

static int xc__write_seeds(const char *dir) {
  for (size_t i = 0; i < xc__n; i++) {
    for (unsigned who = 0; who < 2; who++) {
      char path[1024];
      size_t len = 0;
      uint8_t *buf = xc__seed(i, &len);
      const char *slash = strrchr(xc__m[i]->path, '/');
      FILE *f;
      (void)snprintf(path, sizeof path, "%s/%02zu-%s-%u", dir, i, slash ? slash + 1 : "m", who);
      f = buf != NULL ? fopen(path, "wb") : NULL;
      if (f == NULL) {
        free(buf);
        return 1;
      }
      fputc((int)i, f);
      /* Sync methods' second seed is by office:310104001, the township
       * server that may call them here (xc__federate). */
      fputc((int)(who == 0                                          ? 0
                  : strncmp(xc__m[i]->path, "/xuncha.v1.Sync/", 16) == 0 ? 2
                                                                     : (i % (XC__N_CNS - 1)) + 1),
            f);
      if (xc__m[i]->kind == XC_METHOD_CLIENT_STREAM || xc__m[i]->kind == XC_METHOD_BIDI_STREAM) {
        /* One frame: the client's stream of one message. */
        fputc((int)(len & 0xff), f);
        fputc((int)((len >> 8) & 0xff), f);
      }
      fwrite(buf, 1, len, f);
      free(buf);
      if (fclose(f) != 0) return 1;
    }
  }
  return 0;
}

/* Makes a fresh scratch store in base and the records "@x" names. */
static int xc__open_store(const char *base) {
  xc_store_options so;
  xc_err err;
  /* The scratch store lives in memory (/dev/shm) where it can: a durable
   * commit there costs no disk sync, so creates are as cheap as reads. */
  (void)snprintf(xc__dir, sizeof xc__dir, "%s/xc-fuzz-XXXXXX", base);
  if (mkdtemp(xc__dir) == NULL) {
    fprintf(stderr, "fuzz: mkdtemp: %s\n", strerror(errno));
    xc__dir[0] = '\0';
    return -1;
  }
  memset(&so, 0, sizeof so);
  so.dir = xc__dir;
  so.map_size = (size_t)16 << 20;
  if (xc_store_open(&so, &xc__store, &err) != XC_OK) {
    fprintf(stderr, "fuzz: store: %s\n", err.msg);
    return -1;
  }
  memset(xc__ids, 0, sizeof xc__ids);
  /* Records for "@x" to name: made through the handlers themselves. */
  xc__make("/CreateDirectoryEntry", 1, 'd');
  xc__make("/CreateTarget", 0, 't');
  xc__make("/CreateRound", 0, 'r');
  xc__make("/CreateGroup", 0, 'g');
  xc__make("/CreateFinding", 0, 'f');
  xc__make("/CreateLead", 0, 'l');
  if (getenv("XC_FUZZ_VERBOSE") != NULL)
    fprintf(stderr, "fuzz: %zu methods; t=%s r=%s g=%s f=%s l=%s d=%s\n", xc__n, xc__ids['t' - 'a'],
            xc__ids['r' - 'a'], xc__ids['g' - 'a'], xc__ids['f' - 'a'], xc__ids['l' - 'a'],
            xc__ids['d' - 'a']);
  return 0;
}

/* Closes and removes the scratch store. */
static void xc__close_store(void) {
  xc_store_close(xc__store);
  xc__store = NULL;
  if (xc__dir[0] != '\0') (void)nftw(xc__dir, xc__rm, 16, FTW_DEPTH | FTW_PHYS);
  xc__dir[0] = '\0';
}

/*
 * Makes the scratch server county-310104 of a small federation, so the Sync
 * methods get past their peer checks when office:310104001 (a township with
 * a server of its own) calls them. Records of office:3101 are then replicas
 * here, as on a real county server.
 */
static int xc__federate(const char *base) {
  char path[256];
  FILE *f;
  xc_err err;
  (void)snprintf(path, sizeof path, "%s/xc-fuzz-homes-%ld", base, (long)getpid());
  f = fopen(path, "w");
  if (f == NULL) return -1;
  fputs("city-3101 = 3101\ncounty-310104 = 310104\ntown-310104001 = 310104001\n", f);
  if (fclose(f) != 0) return -1;
  if (xc_home_load(path, "county-310104", &err) != XC_OK) {
    fprintf(stderr, "fuzz: homes: %s\n", err.msg);
    (void)unlink(path);
    return -1;
  }
  (void)unlink(path);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const xc_method *all;
  size_t n = 0;
  struct statvfs vfs;
  /* /dev/shm only when it is roomy (containers often give it 64 MiB). */
  const char *base = access("/dev/shm", W_OK) == 0 && statvfs("/dev/shm", &vfs) == 0 &&
                             (uint64_t)vfs.f_bavail * vfs.f_frsize >= (UINT64_C(512) << 20)
                         ? "/dev/shm"
                         : "/tmp";
  (void)argc;
  (void)argv;
  all = xc_methods(&n);
  for (size_t i = 0; i < n && xc__n < XC__MAX_METHODS; i++) {
    if (strcmp(all[i].path, "/xuncha.v1.Admin/Backup") == 0) continue;
    xc__m[xc__n++] = &all[i];
  }
  xc__base = base;
  if (xc__federate(base) != 0) exit(1);
  if (xc__open_store(base) != 0) exit(1);
  atexit(xc__at_exit);
  if (getenv("XC_FUZZ_WRITE_SEEDS") != NULL) exit(xc__write_seeds(getenv("XC_FUZZ_WRITE_SEEDS")));
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || xc__n == 0) return 0;
  (void)xc__run(data[0] % xc__n, data[1], data + 2, size - 2, NULL);
  if ((++xc__runs & 4095) == 0) xc__write_counts();
  /* A fresh store now and then keeps memory (the map, in /dev/shm) bounded
   * over a long run. */
  if (xc__runs % 200000 == 0) {
    xc__close_store();
    if (xc__open_store(xc__base) != 0) abort();
  }
  return 0;
}
