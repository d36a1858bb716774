#include "xc_arena.h"

#include <stdlib.h>

/* A malloc'd block: the header, then its bytes. */
struct xc__arena_block {
  xc__arena_block *next;
  size_t size;
  _Alignas(16) unsigned char data[];
};

/* Sizes are rounded up so every allocation stays 16-byte aligned. */
static size_t xc__round16(size_t n) { return (n + 15) & ~(size_t)15; }

static void *xc__arena_alloc(void *data, size_t size) {
  xc_arena *a = data;
  size_t need;
  void *p;
  if (size > XC_ARENA_MAX_BYTES) {
    a->failed = 1;
    return NULL;
  }
  need = xc__round16(size == 0 ? 1 : size);
  if (need > XC_ARENA_MAX_BYTES - a->total) {
    a->failed = 1;
    return NULL;
  }
  if (need > a->left) {
    /* A new block: twice the last one's size, at least the request. */
    size_t bsize = a->blocks != NULL ? 2 * a->blocks->size : 2 * XC_ARENA_INLINE_BYTES;
    xc__arena_block *b;
    if (bsize < need) bsize = need;
    if (bsize > XC_ARENA_MAX_BYTES) bsize = XC_ARENA_MAX_BYTES;
    b = malloc(sizeof *b + bsize);
    if (b == NULL) {
      a->failed = 1;
      return NULL;
    }
    b->next = a->blocks;
    b->size = bsize;
    a->blocks = b;
    a->cur = b->data;
    a->left = bsize;
  }
  p = a->cur;
  a->cur += need;
  a->left -= need;
  a->total += need;
  return p;
}

/* Nothing is freed alone: xc_arena_destroy frees the blocks. */
static void xc__arena_free(void *data, void *p) {
  (void)data;
  (void)p;
}

void xc_arena_init(xc_arena *a) {
  a->alloc.alloc = xc__arena_alloc;
  a->alloc.free = xc__arena_free;
  a->alloc.allocator_data = a;
  a->cur = a->first;
  a->left = sizeof a->first;
  a->total = 0;
  a->failed = 0;
  a->blocks = NULL;
}

void xc_arena_destroy(xc_arena *a) {
  while (a->blocks != NULL) {
    xc__arena_block *b = a->blocks;
    a->blocks = b->next;
    free(b);
  }
  a->cur = a->first;
  a->left = sizeof a->first;
  a->total = 0;
  a->failed = 0;
}

ProtobufCMessage *xc_arena_unpack(xc_arena *a, const ProtobufCMessageDescriptor *desc,
                                  const uint8_t *data, size_t len) {
  return protobuf_c_message_unpack(desc, &a->alloc, len, data);
}
