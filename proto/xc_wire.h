/*
 * xc_wire.h: a reader of the protobuf wire format, for the few places that
 * look at packed records without unpacking them (the list path copies
 * stored records into replies as they are: server/xc_rawlist.c, and the
 * storage scan filters on one field: storage/xc_store_index.c).
 *
 * Header only (static inline): it allocates nothing and points into the
 * caller's bytes, which must stay valid while the results are used.
 * Groups (wire types 3 and 4) are refused as malformed: protobuf-c never
 * writes them and no xuncha message has one.
 */
#ifndef XC_WIRE_H
#define XC_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The readers below run for every field of every record a list sends:
 * inlined into their loops they cost a third less (callgrind). */
#if defined(__GNUC__)
#define XC_WIRE_INLINE static inline __attribute__((always_inline))
#else
#define XC_WIRE_INLINE static inline
#endif

/* Wire types. */
#define XC_WIRE_VARINT 0
#define XC_WIRE_FIXED64 1
#define XC_WIRE_LEN 2
#define XC_WIRE_FIXED32 5

/* One field as it lies in the bytes. */
typedef struct xc_wire_field {
  uint32_t number;      /* field number */
  unsigned wire_type;   /* XC_WIRE_* */
  const uint8_t *start; /* the field's first byte (its tag) */
  const uint8_t *value; /* its value; for XC_WIRE_LEN, after the length */
  size_t value_len;     /* bytes of value (XC_WIRE_LEN: the length sent) */
  const uint8_t *end;   /* one past its last byte */
  uint64_t varint;      /* the value of an XC_WIRE_VARINT field */
} xc_wire_field;

/* xc_wire_varint for varints of two bytes or more. */
static inline int xc__wire_varint_long(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    uint8_t b;
    if (*p >= end) return -1;
    b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* Reads a varint at *p (before end) into *v and moves *p past it. Returns 0,
 * or -1 when it is cut off or longer than 10 bytes. Most tags and lengths
 * in a record are one byte: that case is the short path every field of a
 * list takes several times. */
XC_WIRE_INLINE int xc_wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  const uint8_t *q = *p;
  if (q < end && *q < 0x80) {
    *v = *q;
    *p = q + 1;
    return 0;
  }
  return xc__wire_varint_long(p, end, v);
}

/*
 * Reads the field at *p (before end) into *f and moves *p past it. Returns
 * 1 for a field, 0 at the end of the bytes, -1 when they are malformed
 * (cut off, field number 0, a group or an unknown wire type).
 */
XC_WIRE_INLINE int xc_wire_next(const uint8_t **p, const uint8_t *end, xc_wire_field *f) {
  const uint8_t *q = *p;
  uint64_t tag, n;
  if (q >= end) return 0;
  f->start = q;
  if (xc_wire_varint(&q, end, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
    return -1;
  f->number = (uint32_t)(tag >> 3);
  f->wire_type = (unsigned)(tag & 7);
  f->value = q;
  f->varint = 0;
  switch (f->wire_type) {
    case XC_WIRE_VARINT:
      if (xc_wire_varint(&q, end, &f->varint) != 0) return -1;
      break;
    case XC_WIRE_FIXED64:
      if ((size_t)(end - q) < 8) return -1;
      q += 8;
      break;
    case XC_WIRE_FIXED32:
      if ((size_t)(end - q) < 4) return -1;
      q += 4;
      break;
    case XC_WIRE_LEN:
      if (xc_wire_varint(&q, end, &n) != 0 || n > (uint64_t)(end - q)) return -1;
      f->value = q;
      q += n;
      break;
    default:
      return -1;
  }
  f->value_len = (size_t)(q - f->value);
  f->end = q;
  *p = q;
  return 1;
}

/* Returns the bytes a varint of v takes (1 to 10). */
static inline size_t xc_wire_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Writes v as a varint at out (room for 10 bytes); returns the bytes used. */
static inline size_t xc_wire_put_varint(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

#endif /* XC_WIRE_H */
