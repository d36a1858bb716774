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
  /* The fields a partial unpack found, before they are decoded. */
  struct xc__picked {
    const uint8_t *value; /* the value's bytes (a varint's own bytes too) */
    size_t len;
    uint64_t varint;
    unsigned pick; /* index in the plan's pick */
  } picked[XC_RAWREC_MAX_PICKED];
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

/* ------------------------------------------------------- partial unpack */

/* The wire type a field of type t is sent with when not packed. */
static unsigned xc__wire_of(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
      return XC_WIRE_VARINT;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return XC_WIRE_FIXED32;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return XC_WIRE_FIXED64;
    default:
      return XC_WIRE_LEN;
  }
}

static int xc__check_msg(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                         unsigned depth);

/* Returns 1 if the packed run of n varints' bytes at p would unpack: every
 * varint ends within 10 bytes, the last one too (protobuf-c's scan_varint). */
static int xc__packed_varints_ok(const uint8_t *p, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    if ((p[i] & 0x80) == 0)
      run = 0;
    else if (++run >= 10)
      return 0;
  }
  return run == 0;
}

/*
 * Checks a field of known type fd as protobuf-c's unpack would: the wire
 * type of its type (any for a bool, which protobuf-c reads from whatever
 * bytes came), a packed run of a repeated number that splits into whole
 * elements, and a sub-message all the way down. Returns 0, -1 when a full
 * unpack would refuse it, or -2 when it is deeper than XC_RAWREC_MAX_DEPTH
 * (the caller unpacks whole).
 */
static int xc__check_field(const ProtobufCFieldDescriptor *fd, const xc_wire_field *f,
                           unsigned depth) {
  unsigned w = xc__wire_of(fd->type);
  if (fd->label == PROTOBUF_C_LABEL_REPEATED && w != XC_WIRE_LEN && f->wire_type == XC_WIRE_LEN) {
    if (fd->type == PROTOBUF_C_TYPE_BOOL) {
      for (size_t i = 0; i < f->value_len; i++)
        if (f->value[i] > 1) return -1;
      return 0;
    }
    if (w == XC_WIRE_FIXED32) return f->value_len % 4 == 0 ? 0 : -1;
    if (w == XC_WIRE_FIXED64) return f->value_len % 8 == 0 ? 0 : -1;
    return xc__packed_varints_ok(f->value, f->value_len) ? 0 : -1;
  }
  if (fd->type == PROTOBUF_C_TYPE_BOOL) return 0;
  if (f->wire_type != w) return -1;
  if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
    return xc__check_msg(fd->descriptor, f->value, f->value_len, depth + 1);
  return 0;
}

/* Checks every known field of a message of type desc (len bytes at p); the
 * results are xc__check_field's. */
static int xc__check_msg(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                         unsigned depth) {
  const uint8_t *end = p + len;
  xc_wire_field f;
  int more, rc;
  if (depth > XC_RAWREC_MAX_DEPTH) return -2;
  while ((more = xc_wire_next(&p, end, &f)) == 1) {
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, f.number);
    if (fd == NULL) continue; /* unknown: protobuf-c keeps it as bytes */
    rc = xc__check_field(fd, &f, depth);
    if (rc != 0) return rc;
  }
  return more;
}

/* Returns 1 if the partial unpack decodes fields shaped as fd. */
static int xc__pickable(const ProtobufCFieldDescriptor *fd) {
  if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) return 0;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED) return fd->type == PROTOBUF_C_TYPE_STRING;
  if (fd->label != PROTOBUF_C_LABEL_NONE) return 0;
  switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
      return 1;
    default:
      return 0;
  }
}

void xc_rawrec_plan_make(const ProtobufCMessageDescriptor *desc, const char *const *names,
                         size_t n, xc_rawrec_plan *plan) {
  memset(plan, 0, sizeof *plan);
  memset(plan->pick_of, -1, sizeof plan->pick_of);
  plan->desc = desc;
  plan->usable = desc != NULL;
  for (unsigned i = 0; desc != NULL && i < desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &desc->fields[i];
    unsigned w = xc__wire_of(fd->type);
    if (fd->id >= XC_RAWREC_FIELD_TABLE) continue;
    plan->by_number[fd->id] = fd;
    plan->wire[fd->id] = (uint8_t)w;
    /* Bools take any wire type (xc__check_field): xc__check_field decides. */
    plan->deep[fd->id] = fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_BOOL ||
                         (fd->label == PROTOBUF_C_LABEL_REPEATED && w != XC_WIRE_LEN);
  }
  for (size_t i = 0; plan->usable && i < n; i++) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(desc, names[i]);
    int seen = 0;
    if (fd == NULL) continue;
    for (size_t k = 0; k < plan->n_pick; k++) seen |= plan->pick[k] == fd;
    if (seen) continue;
    if (!xc__pickable(fd) || plan->n_pick == XC_RAWREC_MAX_PICK_FIELDS) {
      plan->usable = 0;
      break;
    }
    if (fd->id < XC_RAWREC_FIELD_TABLE) plan->pick_of[fd->id] = (int8_t)plan->n_pick;
    plan->pick[plan->n_pick++] = fd;
  }
}

/* Where field fd of msg is. */
static void *xc__member(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd) {
  return (char *)msg + fd->offset;
}

ProtobufCMessage *xc_rawrec_unpack_some(xc_rawrec *r, const xc_rawrec_plan *plan,
                                        const uint8_t *rec, size_t len, int *no_room) {
  const ProtobufCMessageDescriptor *desc = plan->desc;
  const uint8_t *p = rec, *end = rec + len;
  size_t counts[XC_RAWREC_MAX_PICK_FIELDS];
  size_t n_picked = 0;
  ProtobufCMessage *msg = NULL; /* the result; NULL: the bytes do not decode */
  int whole = 0;                /* 1: unpack the whole record instead */
  xc_wire_field f;
  int more;

  *no_room = 0;
  if (!plan->usable) {
    whole = 1;
    goto done;
  }
  memset(counts, 0, sizeof counts);
  /* One walk over the record: check every field, note the ones to decode. */
  while ((more = xc_wire_next(&p, end, &f)) == 1) {
    const ProtobufCFieldDescriptor *fd;
    int k = -1;
    unsigned want;
    if (f.number < XC_RAWREC_FIELD_TABLE) {
      fd = plan->by_number[f.number];
      k = plan->pick_of[f.number];
      want = plan->wire[f.number];
      /* The common case, a field no check reads: its wire type is all
       * protobuf-c would look at. */
      if (fd != NULL && k < 0 && !plan->deep[f.number]) {
        if (f.wire_type != want) goto done;
        continue;
      }
    } else {
      fd = protobuf_c_message_descriptor_get_field(desc, f.number);
      for (size_t i = 0; fd != NULL && i < plan->n_pick; i++)
        if (plan->pick[i] == fd) k = (int)i;
      want = fd != NULL ? xc__wire_of(fd->type) : 0;
    }
    if (fd == NULL) continue; /* unknown: read by no check */
    if (k < 0) {
      int rc = xc__check_field(fd, &f, 0);
      if (rc == -1) goto done;
      if (rc != 0) {
        whole = 1;
        goto done;
      }
      continue;
    }
    /* Only repeated strings are picked among repeated fields: never packed.
     * A bool sent other than as a varint is read by protobuf-c from its raw
     * bytes, and a sub-message sent twice is merged: the whole unpack has
     * the last word on those, and on records past XC_RAWREC_MAX_PICKED. */
    if (fd->type == PROTOBUF_C_TYPE_BOOL && f.wire_type != XC_WIRE_VARINT) {
      whole = 1;
      goto done;
    }
    if (f.wire_type != want) goto done;
    if (n_picked == XC_RAWREC_MAX_PICKED ||
        (fd->type == PROTOBUF_C_TYPE_MESSAGE && counts[k] > 0)) {
      whole = 1;
      goto done;
    }
    counts[k]++;
    r->picked[n_picked].value = f.value;
    r->picked[n_picked].len = f.value_len;
    r->picked[n_picked].varint = f.varint;
    r->picked[n_picked].pick = (unsigned)k;
    n_picked++;
  }
  if (more < 0) goto done;

  /* Decode what was noted into the arena; a full arena unpacks whole (the
   * whole unpack grows it). */
  whole = 1;
  r->used = 0;
  r->exhausted = 0;
  msg = xc__arena_alloc(r, desc->sizeof_message);
  if (msg == NULL) goto done;
  desc->message_init(msg);
  /* Arrays for the repeated strings, filled below in the order sent. */
  for (size_t k = 0; k < plan->n_pick; k++) {
    const ProtobufCFieldDescriptor *fd = plan->pick[k];
    char **arr;
    if (fd->label != PROTOBUF_C_LABEL_REPEATED || counts[k] == 0) continue;
    arr = xc__arena_alloc(r, counts[k] * sizeof *arr);
    if (arr == NULL) goto done;
    *(char ***)xc__member(msg, fd) = arr;
    *(size_t *)(void *)((char *)msg + fd->quantifier_offset) = 0;
  }
  for (size_t i = 0; i < n_picked; i++) {
    const struct xc__picked *e = &r->picked[i];
    const ProtobufCFieldDescriptor *fd = plan->pick[e->pick];
    void *m = xc__member(msg, fd);
    switch (fd->type) {
      case PROTOBUF_C_TYPE_STRING: {
        char *str = e->len < SIZE_MAX ? xc__arena_alloc(r, e->len + 1) : NULL;
        if (str == NULL) goto done;
        memcpy(str, e->value, e->len);
        str[e->len] = '\0';
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
          size_t *q = (size_t *)(void *)((char *)msg + fd->quantifier_offset);
          (*(char ***)m)[(*q)++] = str;
        } else {
          *(char **)m = str; /* the last one sent wins, as in protobuf-c */
        }
        break;
      }
      case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub =
            protobuf_c_message_unpack(fd->descriptor, &r->alloc, e->len, e->value);
        if (sub == NULL && !r->exhausted) {
          whole = 0; /* malformed, as the whole unpack would find */
          msg = NULL;
        }
        if (sub == NULL) goto done;
        *(ProtobufCMessage **)m = sub;
        break;
      }
      case PROTOBUF_C_TYPE_INT64:
      case PROTOBUF_C_TYPE_UINT64: {
        uint64_t v = e->varint;
        memcpy(m, &v, sizeof v);
        break;
      }
      case PROTOBUF_C_TYPE_BOOL: {
        /* protobuf-c: true when any bit of the varint is set. */
        protobuf_c_boolean b = 0;
        for (size_t j = 0; j < e->len; j++) b |= (e->value[j] & 0x7f) != 0;
        memcpy(m, &b, sizeof b);
        break;
      }
      default: {
        /* int32, uint32 and enums: the low 32 bits, as protobuf-c keeps. */
        uint32_t v = (uint32_t)e->varint;
        memcpy(m, &v, sizeof v);
        break;
      }
    }
  }
  whole = 0;
done:
  if (whole) msg = xc_rawrec_unpack(r, desc, rec, len, no_room);
  return msg;
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

/*
 * Writes at out the fields of rec (len bytes) less the id (number
 * id_number) and drop[0..n_drop), with the fields of deco (deco_len bytes)
 * merged in by field number: both are in field order, as protobuf-c writes
 * them, so the result is too. out has room for len + deco_len bytes. Runs
 * of fields kept side by side are copied at once, not field by field.
 * Sets *n to the bytes written. Returns XC_OK, XC_EDATA_LOSS when rec is
 * malformed or XC_EINTERNAL when deco is.
 */
static int xc__merge(uint8_t *out, const uint8_t *rec, size_t len, const uint8_t *deco,
                     size_t deco_len, uint32_t id_number, const uint32_t *drop, size_t n_drop,
                     size_t *n) {
  const uint8_t *p = rec, *end = rec + len;
  const uint8_t *dp = deco, *dend = deco + deco_len;
  const uint8_t *run = NULL, *run_end = NULL; /* stored bytes kept, not yet copied */
  xc_wire_field f, d = {0};
  size_t o = 0;
  int have_d, more = 0, rc = XC_OK;

  *n = 0;
  have_d = xc_wire_next(&dp, dend, &d);
  while (have_d >= 0 && (more = xc_wire_next(&p, end, &f)) == 1) {
    if (have_d == 1 && d.number < f.number) {
      /* The decoration's fields that come before this one, at once. */
      const uint8_t *ds = d.start;
      if (run != NULL) {
        memcpy(out + o, run, (size_t)(run_end - run));
        o += (size_t)(run_end - run);
        run = NULL;
      }
      while (have_d == 1 && d.number < f.number) {
        run_end = d.end;
        have_d = xc_wire_next(&dp, dend, &d);
      }
      memcpy(out + o, ds, (size_t)(run_end - ds));
      o += (size_t)(run_end - ds);
    }
    if (f.number == id_number || xc__in(drop, n_drop, f.number)) {
      if (run != NULL) {
        memcpy(out + o, run, (size_t)(run_end - run));
        o += (size_t)(run_end - run);
        run = NULL;
      }
      continue;
    }
    if (run == NULL) run = f.start;
    run_end = f.end;
  }
  if (have_d < 0) {
    rc = XC_EINTERNAL;
    goto done;
  }
  if (more < 0) {
    rc = XC_EDATA_LOSS;
    goto done;
  }
  if (run != NULL) {
    memcpy(out + o, run, (size_t)(run_end - run));
    o += (size_t)(run_end - run);
  }
  if (have_d == 1) {
    /* The rest of the decoration follows the last stored field. */
    memcpy(out + o, d.start, (size_t)(dend - d.start));
    o += (size_t)(dend - d.start);
    while ((have_d = xc_wire_next(&dp, dend, &d)) == 1) {
    }
    if (have_d < 0) {
      rc = XC_EINTERNAL;
      goto done;
    }
  }
  *n = o;
done:
  return rc;
}

int xc_rawrec_reply(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, const char *id,
                    const uint8_t *rec, size_t len, const uint8_t *deco, size_t deco_len,
                    const uint32_t *drop, size_t n_drop, ProtobufCMessage **out,
                    size_t *packed) {
  ProtobufCMessage *msg = NULL;
  ProtobufCMessageUnknownField *uf = NULL;
  size_t n = 0;
  int rc = XC_OK;

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
  rc = xc__merge(r->scratch, rec, len, deco, deco_len, r->id_number, drop, n_drop, &n);
  if (rc != XC_OK) goto done;

  msg = malloc(desc->sizeof_message);
  if (msg == NULL) {
    rc = XC_ERESOURCE_EXHAUSTED;
    goto done;
  }
  desc->message_init(msg);
  {
    /* Set by the offset found once per type, not looked up by name. */
    size_t id_len = strlen(id);
    char *copy = malloc(id_len + 1);
    if (copy == NULL) {
      rc = XC_ERESOURCE_EXHAUSTED;
      goto done;
    }
    memcpy(copy, id, id_len + 1);
    *(char **)(void *)((char *)msg + r->id_offset) = copy;
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
  uint32_t id_number = xc__id_number(r, desc);
  size_t id_len = strlen(id), id_part, upper, head, lsize, n = 0, actual;
  uint8_t *o, *lenpos, *content, *body;
  int rc = XC_OK;

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
  rc = xc__merge(body, rec, len, deco, deco_len, id_number, drop, n_drop, &n);
  if (rc != XC_OK) goto done;
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
