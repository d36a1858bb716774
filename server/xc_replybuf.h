/*
 * xc_replybuf.h: the buffers that List replies are packed into.
 *
 * A List handler packs its page (about 85 KiB for 100 findings) straight
 * into one buffer that gRPC then sends and frees when the write is done, on
 * whatever thread finishes it. Asking malloc for such a block on every call
 * made the server's anonymous memory swing by a third under load: glibc
 * serves the first ones with mmap, then raises its mmap threshold and
 * serves the rest from the heap, where they fragment. These functions keep
 * up to XC_REPLYBUF_POOL_MAX freed buffers of XC_REPLYBUF_POOLED bytes and
 * hand them out again, so a busy server reaches a steady set of them and
 * stays there. Larger buffers come from malloc and go back to it.
 *
 * They behave like realloc and free (a buffer's first bytes hold its
 * capacity, before the pointer they return), and are safe from any thread.
 */
#ifndef XC_REPLYBUF_H
#define XC_REPLYBUF_H

#include <stddef.h>

/* The capacity of a pooled buffer: a page of 100 findings fits three times. */
#define XC_REPLYBUF_POOLED ((size_t)256 * 1024)
/* The most free buffers kept (8 MiB). */
#define XC_REPLYBUF_POOL_MAX 32

/*
 * Like realloc: returns a buffer of at least n bytes holding the first
 * bytes of p (all of p's capacity when it grows), or NULL when out of
 * memory (p is then unchanged). A request of up to XC_REPLYBUF_POOLED
 * bytes gets a pooled buffer of that size, so growing it further within
 * that size returns p itself. Free it with xc_replybuf_free only.
 */
void *xc_replybuf_realloc(void *p, size_t n);

/* Gives p back (to the pool when it is a pooled size and the pool has
 * room). NULL is ignored. Its signature fits grpc_slice_new's destroy. */
void xc_replybuf_free(void *p);

/* Frees the pooled buffers; for the end of the process. */
void xc_replybuf_drain(void);

#endif
