#include "xc_rawrec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xc_msg.h"
#include "xc_replybuf.h"
#include "xc_wire.h"

/* The arena starts at this size and grows (between records) to at most
 * XC__ARENA_MAX; a record that needs more is unpacked the ordinary way. */
#define XC__ARENA_START (64 * 1024)
#define XC__ARENA_MAX (16 * 1024 * 1024)

struct xc_rawrec {
  uint8_t *arena;
  size_t cap;
  size_t used;
  int exhausted;       /* an allocation did not fit since the last reset */
  uint8_t *scratch;    /* the body of the record being built */
  size_t scratch_cap;
  ProtobufCAllocator alloc;
  int cached;                                /* 1: a thread's (xc_rawrec_acquire) */
  int busy;                                  /* the thread's is taken */
  const ProtobufCMessageDescriptor *id_desc; /* the type id_number is of */
  uint32_t id_number;                        /* its id field's number (0: none) */
  size_t id_offset;                          /* where that field is in the message */
};

/* protobuf-c's allocator over the arena: a bump pointer, 16-byte aligned. */
static void *xc__arena_alloc(void *data, size_t size) {
  xc_rawrec *r = data;
  size_t a;
  void *p;
  if (size > SIZE_MAX - 15) {
    r->exhausted = 1;
    return NULL;
  }
  a = (size + 15) & ~(size_t)15;
  if (a > r->cap - r->used) {
    r->exhausted = 1;
    return NULL;
  }
  p = r->arena + r->used;
  r->used += a;
  return p;
}

/* Nothing is freed one by one: the whole arena is reset per record. */
static void xc__arena_free(void *data, void *p) {
  (void)data;
  (void)p;
}

xc_rawrec *xc_rawrec_new(void) {
  xc_rawrec *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->arena = malloc(XC__ARENA_START);
  if (r->arena == NULL) {
    free(r);
    return NULL;
  }
  r->cap = XC__ARENA_START;
  r->alloc.alloc = xc__arena_alloc;
  r->alloc.free = xc__arena_free;
  r->alloc.allocator_data = r;
  return r;
}

void xc_rawrec_free(xc_rawrec *r) {
  if (r == NULL) return;
  free(r->arena);
  free(r->scratch);
  free(r);
}

/* The thread cache: one xc_rawrec per thread, freed when the thread ends. */
static pthread_key_t xc__key;
static pthread_once_t xc__key_once = PTHREAD_ONCE_INIT;
static int xc__key_ok;

static void xc__key_free(void *p) { xc_rawrec_free(p); }

static void xc__key_make(void) { xc__key_ok = pthread_key_create(&xc__key, xc__key_free) == 0; }

xc_rawrec *xc_rawrec_acquire(void) {
  xc_rawrec *r = NULL;
  (void)pthread_once(&xc__key_once, xc__key_make);
  if (xc__key_ok) {
    r = pthread_getspecific(xc__key);
    if (r == NULL) {
      r = xc_rawrec_new();
      if (r != NULL && pthread_setspecific(xc__key, r) != 0) {
        xc_rawrec_free(r);
        r = NULL;
      } else if (r != NULL) {
        r->cached = 1;
      }
    }
    if (r != NULL && !r->busy) {
      r->busy = 1;
      return r;
    }
  }
  return xc_rawrec_new();
}

void xc_rawrec_release(xc_rawrec *r) {
  if (r == NULL) return;
  if (!r->cached) {
    xc_rawrec_free(r);
    return;
  }
  r->busy = 0;
  /* A huge record grew the arena: give the memory back rather than keep
   * it for the thread's life. */
  if (r->cap > 4 * XC__ARENA_START) {
    uint8_t *a = malloc(XC__ARENA_START);
    free(r->arena);
    r->arena = a;
    r->cap = a != NULL ? XC__ARENA_START : 0;
  }
  if (r->scratch_cap > 4 * XC__ARENA_START) {
    free(r->scratch);
    r->scratch = NULL;
    r->scratch_cap = 0;
  }
}

ProtobufCMessage *xc_rawrec_unpack(xc_rawrec *r, const ProtobufCMessageDescriptor *desc,
                                   const uint8_t *rec, size_t len, int *no_room) {
  *no_room = 0;
  for (;;) {
    ProtobufCMessage *m;
    size_t want;
    r->used = 0;
    r->exhausted = 0;
    m = protobuf_c_message_unpack(desc, &r->alloc, len, rec);
    if (m != NULL) return m;
    if (!r->exhausted) return NULL; /* malformed */
    /* Grow and try again; records that need more than the maximum are
     * the caller's to unpack with the ordinary allocator. */
    if (r->cap >= XC__ARENA_MAX) {
      *no_room = 1;
      return NULL;
    }
    want = len <= (XC__ARENA_MAX - XC__ARENA_START) / 8 ? 8 * len + XC__ARENA_START : XC__ARENA_MAX;
    if (want < 2 * r->cap) want = 2 * r->cap;
    if (want > XC__ARENA_MAX) want = XC__ARENA_MAX;
    free(r->arena);
    r->arena = malloc(want);
    r->cap = r->arena != NULL ? want : 0;
    if (r->arena == NULL) {
      /* Leave a usable (empty) arena: every unpack now reports no room. */
      r->cap = 0;
      *no_room = 1;
      return NULL;
    }
  }
}

/* Looks up (once per type, cached in r) the number of desc's string id
 * field; 0 when it has none. */
static uint32_t xc__id_number(xc_rawrec *r, const ProtobufCMessageDescriptor *desc) {
  if (r->id_desc != desc) {
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(desc, "id");
    int ok = fd != NULL && fd->type == PROTOBUF_C_TYPE_STRING &&
             fd->label != PROTOBUF_C_LABEL_REPEATED;
    r->id_desc = desc;
    r->id_number = ok ? fd->id : 0;
    r->id_offset = ok ? fd->offset : 0;
  }
  return r->id_number;
}

/* Returns 1 if n is in v[0..count). */
static int xc__in(const uint32_t *v, size_t count, uint32_t n) {
  for (size_t i = 0; i < count; i++)
    if (v[i] == n) return 1;
  return 0;
}

int xc_rawrec_reply(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, const char *id,
                    const uint8_t *rec, size_t len, const uint8_t *deco, size_t deco_len,
                    const uint32_t *drop, size_t n_drop, ProtobufCMessage **out,
                    size_t *packed) {
  const uint8_t *p = rec, *end = rec + len;
  const uint8_t *dp = deco, *dend = deco + deco_len;
  ProtobufCMessage *msg = NULL;
  ProtobufCMessageUnknownField *uf = NULL;
  xc_wire_field f, d;
  size_t n = 0;
  int have_d, more, rc = XC_OK;

  *out = NULL;
  *packed = 0;
  if (xc__id_number(r, desc) == 0 || deco_len > SIZE_MAX - len) {
    rc = XC_EINTERNAL;
    goto done;
  }
  if (len + deco_len > r->scratch_cap) {
    size_t cap = len + deco_len;
    uint8_t *s = malloc(cap > 0 ? cap : 1);
    if (s == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
    free(r->scratch);
    r->scratch = s;
    r->scratch_cap = cap;
  }
  /* Merge the stored fields (less the id and the fields the decoration
   * replaces) with the decoration's, by field number: both are in field
   * order, as protobuf-c writes them, so the result is too. */
  have_d = xc_wire_next(&dp, dend, &d);
  if (have_d < 0) {
    rc = XC_EINTERNAL;
    goto done;
  }
  while ((more = xc_wire_next(&p, end, &f)) == 1) {
    while (have_d == 1 && d.number < f.number) {
      memcpy(r->scratch + n, d.start, (size_t)(d.end - d.start));
      n += (size_t)(d.end - d.start);
      have_d = xc_wire_next(&dp, dend, &d);
    }
    if (f.number == r->id_number || xc__in(drop, n_drop, f.number)) continue;
    memcpy(r->scratch + n, f.start, (size_t)(f.end - f.start));
    n += (size_t)(f.end - f.start);
  }
  if (more < 0 || have_d < 0) {
    rc = more < 0 ? XC_EDATA_LOSS : XC_EINTERNAL;
    goto done;
  }
  while (have_d == 1) {
    memcpy(r->scratch + n, d.start, (size_t)(d.end - d.start));
    n += (size_t)(d.end - d.start);
    have_d = xc_wire_next(&dp, dend, &d);
  }

  msg = malloc(desc->sizeof_message);
  if (msg == NULL) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  desc->message_init(msg);
  if (xc_msg_set_str(msg, "id", id) != XC_OK) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  if (n > 0) {
    /* One unknown field: its tag is the first field's, its data everything
     * after that tag. protobuf-c packs it as tag + data: the body as built. */
    const uint8_t *q = r->scratch;
    uint64_t tag = 0;
    if (xc_wire_varint(&q, r->scratch + n, &tag) != 0) {
      rc = XC_EINTERNAL;
      goto done;
    }
    uf = malloc(sizeof *uf);
    if (uf == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
    uf->tag = (uint32_t)(tag >> 3);
    uf->wire_type = (ProtobufCWireType)(tag & 7);
    uf->len = n - (size_t)(q - r->scratch);
    uf->data = malloc(uf->len > 0 ? uf->len : 1);
    if (uf->data == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
    memcpy(uf->data, q, uf->len);
    msg->unknown_fields = uf;
    msg->n_unknown_fields = 1;
    uf = NULL;
  }
  {
    /* What protobuf-c packs: the id (a non-empty string), then the
     * unknown field's tag and data. */
    size_t id_len = strlen(id);
    size_t size = id_len > 0 ? xc_wire_varint_size((uint64_t)r->id_number << 3) +
                                   xc_wire_varint_size(id_len) + id_len
                             : 0;
    if (msg->n_unknown_fields == 1)
      size += xc_wire_varint_size((uint64_t)msg->unknown_fields[0].tag << 3) +
              msg->unknown_fields[0].len;
    *packed = size;
  }
  *out = msg;
  msg = NULL;
done:
  free(uf);
  xc_msg_free(msg);
  return rc;
}

int xc_rawrec_append(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, uint32_t field,
                     const char *id, const uint8_t *rec, size_t len, const uint8_t *deco,
                     size_t deco_len, const uint32_t *drop, size_t n_drop, uint8_t **buf,
                     size_t *used, size_t *cap, size_t *packed) {
  const uint8_t *p = rec, *end = rec + len;
  const uint8_t *dp = deco, *dend = deco + deco_len;
  uint32_t id_number = xc__id_number(r, desc);
  size_t id_len = strlen(id), id_part, upper, head, lsize, n = 0, actual;
  uint8_t *o, *lenpos, *content, *body;
  xc_wire_field f, d;
  int have_d, more, rc = XC_OK;

  *packed = 0;
  if (id_number == 0 || field == 0 || field > 0x1fffffff) {
    rc = XC_EINTERNAL;
    goto done;
  }
  id_part = id_len > 0 ? xc_wire_varint_size((uint64_t)id_number << 3) +
                             xc_wire_varint_size(id_len) + id_len
                       : 0;
  /* The body is at most the stored bytes and the decoration's; the length
   * is written for that bound and moved down below if it came out shorter,
   * so the body is merged once, straight into the response. */
  if (len > SIZE_MAX / 4 || deco_len > SIZE_MAX / 4) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  upper = id_part + len + deco_len;
  head = xc_wire_varint_size(((uint64_t)field << 3) | XC_WIRE_LEN) + xc_wire_varint_size(upper);
  if (*used > SIZE_MAX / 2 || head + upper > SIZE_MAX / 2 - *used) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  if (*cap - *used < head + upper || *buf == NULL) {
    size_t ncap = *cap < 64 * 1024 ? 64 * 1024 : *cap;
    uint8_t *grown;
    while (ncap - *used < head + upper) ncap *= 2;
    grown = xc_replybuf_realloc(*buf, ncap);
    if (grown == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
    *buf = grown;
    *cap = ncap;
  }
  o = *buf + *used;
  lenpos = o + xc_wire_put_varint(o, ((uint64_t)field << 3) | XC_WIRE_LEN);
  content = lenpos + xc_wire_varint_size(upper);
  if (id_len > 0) {
    size_t k = xc_wire_put_varint(content, ((uint64_t)id_number << 3) | XC_WIRE_LEN);
    k += xc_wire_put_varint(content + k, id_len);
    memcpy(content + k, id, id_len);
  }
  body = content + id_part;
  /* Merge the stored fields (less the id and the fields the decoration
   * replaces) with the decoration's, by field number: both are in field
   * order, as protobuf-c writes them, so the result is too. */
  have_d = xc_wire_next(&dp, dend, &d);
  if (have_d < 0) {
    rc = XC_EINTERNAL;
    goto done;
  }
  while ((more = xc_wire_next(&p, end, &f)) == 1) {
    while (have_d == 1 && d.number < f.number) {
      memcpy(body + n, d.start, (size_t)(d.end - d.start));
      n += (size_t)(d.end - d.start);
      have_d = xc_wire_next(&dp, dend, &d);
    }
    if (f.number == id_number || xc__in(drop, n_drop, f.number)) continue;
    memcpy(body + n, f.start, (size_t)(f.end - f.start));
    n += (size_t)(f.end - f.start);
  }
  if (more < 0 || have_d < 0) {
    rc = more < 0 ? XC_EDATA_LOSS : XC_EINTERNAL;
    goto done;
  }
  while (have_d == 1) {
    memcpy(body + n, d.start, (size_t)(d.end - d.start));
    n += (size_t)(d.end - d.start);
    have_d = xc_wire_next(&dp, dend, &d);
  }
  actual = id_part + n;
  lsize = xc_wire_varint_size(actual);
  if (lsize < xc_wire_varint_size(upper)) memmove(lenpos + lsize, content, actual);
  (void)xc_wire_put_varint(lenpos, actual);
  *used += (size_t)(lenpos - o) + lsize + actual;
  *packed = actual;
done:
  return rc;
}

const char *xc_rawrec_id(xc_rawrec *r, const ProtobufCMessage *m) {
  if (xc__id_number(r, m->descriptor) == 0) return NULL;
  return *(char *const *)((const char *)m + r->id_offset);
}

int xc_rawrec_id_only(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, const char *id,
                      ProtobufCMessage **out) {
  ProtobufCMessage *msg = NULL;
  size_t n = strlen(id);
  char *copy;
  int rc = XC_OK;

  *out = NULL;
  if (xc__id_number(r, desc) == 0) {
    rc = XC_EINTERNAL;
    goto done;
  }
  msg = malloc(desc->sizeof_message);
  if (msg == NULL) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  desc->message_init(msg);
  copy = malloc(n + 1);
  if (copy == NULL) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  memcpy(copy, id, n + 1);
  /* The slot holds the field's static default, which is not freed. */
  *(char **)((char *)msg + r->id_offset) = copy;
  *out = msg;
  msg = NULL;
done:
  xc_msg_free(msg);
  return rc;
}
