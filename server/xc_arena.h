/*
 * xc_arena.h: a bump allocator for messages that live for one call.
 *
 * protobuf-c's default allocator makes one malloc per string, repeated
 * field and sub-message, and xc_msg_free one free for each. Records a call
 * only reads for a moment (the round and target a finding refers to, say)
 * can instead be unpacked into an arena and all dropped at once when the
 * arena is destroyed. The first block lives inside the xc_arena itself (put
 * it on the stack); more blocks are malloc'd as needed, each at most
 * XC_ARENA_MAX_BYTES in all, and freed by xc_arena_destroy.
 */
#ifndef XC_ARENA_H
#define XC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Bytes of the first block, inside the struct. */
#define XC_ARENA_INLINE_BYTES 4096
/* The most an arena hands out in all; an unpack that needs more fails. */
#define XC_ARENA_MAX_BYTES ((size_t)16 * 1024 * 1024)

typedef struct xc__arena_block xc__arena_block;

/* Fields are private; the struct is public only so it can live on the stack. */
typedef struct xc_arena {
  ProtobufCAllocator alloc; /* hand &arena->alloc to protobuf_c_message_unpack */
  unsigned char *cur;       /* free space of the current block */
  size_t left;
  size_t total;             /* bytes handed out so far */
  int failed;               /* an allocation failed since xc_arena_init */
  xc__arena_block *blocks;  /* malloc'd blocks, newest first */
  _Alignas(16) unsigned char first[XC_ARENA_INLINE_BYTES];
} xc_arena;

/* Makes a (the caller's) arena empty and ready. */
void xc_arena_init(xc_arena *a);

/* Frees every block; messages unpacked into the arena are gone. The arena
 * may be initialised again. */
void xc_arena_destroy(xc_arena *a);

/*
 * Unpacks len bytes at data as desc into the arena. Returns the message
 * (valid until xc_arena_destroy; never pass it to xc_msg_free) or NULL when
 * the bytes do not decode or the arena is out of memory or past its limit
 * (then a->failed is 1).
 */
ProtobufCMessage *xc_arena_unpack(xc_arena *a, const ProtobufCMessageDescriptor *desc,
                                  const uint8_t *data, size_t len);

#endif /* XC_ARENA_H */
