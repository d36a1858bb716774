/*
 * xc_store_id.c: record kinds and record ids.
 *
 * An id is "<p>_" followed by 26 Crockford base-32 characters that encode a
 * 128-bit number: a 48-bit millisecond timestamp, then 80 random bits (the
 * ULID layout). The alphabet is in ASCII order, so comparing ids as bytes
 * compares the numbers, and an id issued later sorts after one issued
 * earlier: List paging relies on that.
 *
 * Why ids are unique across offices and never reissued, even after a
 * restore from backup: the 80 bits are drawn from RAND_bytes for every new
 * millisecond and on every open (in blocks, see xc__idgen_draw; the block
 * lives only in memory); no part of the generator's state is kept
 * on disk. A restored store therefore does not resume an old sequence (which
 * would repeat ids that were issued after the backup was taken and may have
 * been synced upwards already); it starts from fresh random bits, and two
 * generators (two offices, or one office before and after a restore) issue
 * the same id only if they pick the same millisecond and the same 80 random
 * bits: about 2^-80 per pair of ids. Within a process, ids issued in the same
 * millisecond increment the random part, so they stay ordered and distinct;
 * a clock that goes backwards keeps the last time part. The store also
 * inserts with MDB_NOOVERWRITE and draws again on a clash, so a clash could
 * never overwrite a record.
 */
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#include "xc_store_int.h"

static const char xc__b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static const struct {
  const char *name;
  char prefix;
  const ProtobufCMessageDescriptor *desc;
} xc__kinds[XC_KIND_COUNT] = {
    {"target", 't', &xuncha__v1__target__descriptor},
    {"round", 'r', &xuncha__v1__round__descriptor},
    {"group", 'g', &xuncha__v1__group__descriptor},
    {"finding", 'f', &xuncha__v1__finding__descriptor},
    {"lead", 'l', &xuncha__v1__lead__descriptor},
    {"directory", 'd', &xuncha__v1__directory_entry__descriptor},
    {"progress", 'p', &xuncha__v1__progress_entry__descriptor},
    {"verification", 'v', &xuncha__v1__verification__descriptor},
    {"disposition", 'x', &xuncha__v1__lead_disposition__descriptor},
    [XC_KIND_DOCUMENT] = {"document", 'a', &xuncha__v1__document__descriptor},
    [XC_KIND_INSPECTOR] = {"inspector", 'i', &xuncha__v1__inspector__descriptor},
    [XC_KIND_TERM] = {"term", 'n', &xuncha__v1__term__descriptor},
};

int xc_kind_used(xc_kind kind) {
  return (unsigned)kind < XC_KIND_COUNT && xc__kinds[kind].desc != NULL;
}

const char *xc_kind_name(xc_kind kind) {
  if (!xc_kind_used(kind)) return "record";
  return xc__kinds[kind].name;
}

const ProtobufCMessageDescriptor *xc_kind_descriptor(xc_kind kind) {
  if ((unsigned)kind >= XC_KIND_COUNT) return NULL;
  return xc__kinds[kind].desc;
}

char xc_kind_id_prefix(xc_kind kind) {
  if (!xc_kind_used(kind)) return '?';
  return xc__kinds[kind].prefix;
}

int xc__check_kind(xc_kind kind, const ProtobufCMessage *rec, xc_err *err) {
  if (!xc_kind_used(kind))
    return xc_err_set(err, XC_EINTERNAL, "unknown record kind %d", (int)kind);
  if (rec == NULL || rec->descriptor != xc__kinds[kind].desc)
    return xc_err_set(err, XC_EINTERNAL, "the record passed as a %s is %s",
                      xc__kinds[kind].name,
                      rec == NULL ? "missing" : rec->descriptor->short_name);
  return XC_OK;
}

int64_t xc__now_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of each byte as a base-32 character, -1 for the bytes that are
 * not one: digits, then the capital letters but I, L, O and U. A table,
 * because every call that names an id, and every page token, checks it: by
 * arithmetic per character a check cost about 900 instructions. */
static const signed char xc__b32_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, 16, 17, -1, 18, 19, -1, 20, 21, -1,
    22, 23, 24, 25, 26, -1, 27, 28, 29, 30, 31, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* Returns the value of a base-32 character, or -1 if it is not one. */
static int xc__b32_value(char c) {
  return xc__b32_values[(unsigned char)c];
}

/* Encodes 16 bytes as 26 characters: 130 bits, of which the first 2 are 0.
 * The number is kept as two 64-bit halves, five bits taken per character
 * (a loop over single bits cost 2,500 instructions per id in the writer). */
static void xc__encode128(const uint8_t in[16], char out[26]) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; i++) {
    hi = hi << 8 | in[i];
    lo = lo << 8 | in[8 + i];
  }
  for (int i = 0; i < 26; i++) {
    int shift = 5 * (25 - i); /* of the character's lowest bit, 125 .. 0 */
    uint64_t v;
    if (shift >= 64)
      v = hi >> (shift - 64);
    else if (shift > 59)
      v = lo >> shift | hi << (64 - shift);
    else
      v = lo >> shift;
    out[i] = xc__b32[v & 31u];
  }
}

/* Decodes 26 characters into 16 bytes. Returns 0, or -1 if malformed. */
static int xc__decode128(const char in[26], uint8_t out[16]) {
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 26; i++) {
    int v = xc__b32_value(in[i]);
    /* The first character carries the top 3 bits: more would pass 128. */
    if (v < 0 || (i == 0 && v > 7)) return -1;
    hi = hi << 5 | lo >> 59;
    lo = lo << 5 | (uint64_t)v;
  }
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(hi >> (56 - 8 * i));
    out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
  }
  return 0;
}

int xc_id_valid(xc_kind kind, const char *id) {
  if (id == NULL || !xc_kind_used(kind)) return 0;
  if (strnlen(id, XC__ID_LEN + 1) != XC__ID_LEN || id[0] != xc__kinds[kind].prefix ||
      id[1] != '_')
    return 0;
  /* What xc__decode128 accepts, without decoding (every Get checks ids):
   * 26 base-32 characters, the first at most 7 (128 bits, not 130). */
  {
    unsigned bad = (unsigned)(xc__b32_value(id[2]) < 0 || xc__b32_value(id[2]) > 7);
    for (int i = 3; i < XC__ID_LEN; i++) bad |= xc__b32_values[(unsigned char)id[i]] < 0;
    return !bad;
  }
}

uint64_t xc__id_time_ms(const char *id, size_t len) {
  uint8_t bytes[16];
  uint64_t ms = 0;
  if (len != XC__ID_LEN || id[1] != '_' || xc__decode128(id + 2, bytes) != 0) return 0;
  for (int i = 0; i < 6; i++) ms = ms << 8 | bytes[i];
  return ms;
}

/* Adds one to the 80-bit random part. Returns 1 if it wrapped around to 0. */
static int xc__rnd_increment(uint8_t rnd[10]) {
  for (int i = 9; i >= 0; i--) {
    if (++rnd[i] != 0) return 0;
  }
  return 1;
}

/*
 * Fills out with n (at most XC__IDGEN_POOL) fresh random bytes from the
 * pool, refilled from RAND_bytes when it runs short: the bytes are as
 * unpredictable as RAND_bytes's own, drawn in bulk because each call costs
 * tens of microseconds, a large share of a lone create. Returns 0, or -1
 * if RAND_bytes failed (out untouched).
 */
static int xc__idgen_draw(xc__idgen *g, uint8_t *out, size_t n) {
  if (g->pool_left < n) {
    if (RAND_bytes(g->pool, (int)sizeof g->pool) != 1) {
      g->pool_left = 0;
      return -1;
    }
    g->pool_left = sizeof g->pool;
  }
  g->pool_left -= n;
  memcpy(out, g->pool + g->pool_left, n);
  /* Bytes handed out are not kept. */
  memset(g->pool + g->pool_left, 0, n);
  return 0;
}

int xc__idgen_init(xc__idgen *g, uint64_t floor_ms) {
  g->last_ms = floor_ms;
  g->pool_left = 0;
  if (xc__idgen_draw(g, g->rnd, sizeof g->rnd) != 0) return XC_EINTERNAL;
  return XC_OK;
}

void xc__id_next(xc__idgen *g, xc_kind kind, int64_t now_ms, char *out) {
  uint64_t now = now_ms > 0 ? (uint64_t)now_ms : 0;
  uint8_t bytes[16];
  if (now > g->last_ms) {
    g->last_ms = now;
    /* A failed draw keeps the previous bits; incrementing them still gives
     * a fresh id, just a more predictable one. */
    if (xc__idgen_draw(g, g->rnd, sizeof g->rnd) != 0) (void)xc__rnd_increment(g->rnd);
  } else if (xc__rnd_increment(g->rnd)) {
    /* 2^80 ids in one millisecond cannot happen; move on a millisecond
     * rather than issue a smaller id. */
    g->last_ms++;
  }
  g->last_ms &= (UINT64_C(1) << 48) - 1;
  for (int i = 0; i < 6; i++) bytes[i] = (uint8_t)(g->last_ms >> (8 * (5 - i)));
  memcpy(bytes + 6, g->rnd, 10);
  out[0] = xc_kind_id_prefix(kind);
  out[1] = '_';
  xc__encode128(bytes, out + 2);
  out[XC__ID_LEN] = '\0';
}
