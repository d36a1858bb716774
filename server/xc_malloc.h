/*
 * xc_malloc.h: how xunchad sets up glibc's malloc before it starts threads.
 *
 * glibc serves a block of at least its mmap threshold (128 KiB at start)
 * with its own mapping, which free gives back to the system at once. But
 * by default the threshold moves: each time such a mapped block is freed,
 * the threshold rises to that block's size (up to 32 MiB), and every later
 * block up to that size comes from the malloc arena of the thread that
 * asked, whose freed pages stay resident. In xunchad that made anonymous
 * memory climb in steps for minutes under steady load: the first audit
 * queue of a few MiB freed after its flush raised the threshold, and from
 * then on every large block (audit queues, List reply buffers) lived in the
 * completion-queue thread's arena, which kept each new peak (measured in
 * bench/README.md, "Memory": that arena held 13.7 MB of which 1.0 MB was
 * in use after a 5-minute soak).
 */
#ifndef XC_MALLOC_H
#define XC_MALLOC_H

#include "xc_status.h"

/* The fixed mmap threshold: glibc's own starting value. Blocks this big or
 * bigger are mapped and unmapped whole; xunchad asks for few of them per
 * second in steady load (List reply buffers come from their pool). */
#define XC_MALLOC_MMAP_THRESHOLD ((int)(128 * 1024))

/*
 * Fixes glibc's mmap threshold at XC_MALLOC_MMAP_THRESHOLD (which also
 * stops it and the trim threshold from moving), so that large blocks always
 * go back to the system when freed. Call once, before any thread starts.
 * Returns XC_OK, or XC_EUNIMPLEMENTED when the C library or a sanitizer's
 * allocator does not take the setting (the server runs as before then).
 */
int xc_malloc_tune(void) XC_WARN_UNUSED_RESULT;

#endif /* XC_MALLOC_H */
