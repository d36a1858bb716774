/* xc_malloc.c: glibc malloc settings for xunchad (xc_malloc.h). */
#include "xc_malloc.h"

#include <stdlib.h> /* first: it defines __GLIBC__ under glibc */

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int xc_malloc_tune(void) {
#if defined(__GLIBC__)
  /* mallopt returns 1 on success; AddressSanitizer's allocator ignores it
   * and returns 0. */
  if (mallopt(M_MMAP_THRESHOLD, XC_MALLOC_MMAP_THRESHOLD) == 1) return XC_OK;
#endif
  return XC_EUNIMPLEMENTED;
}
