#include "xc_replybuf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The header before the data: the capacity, padded to keep the data 16-byte
 * aligned like malloc's. */
#define XC__RB_HDR 16

static pthread_mutex_t xc__rb_mu = PTHREAD_MUTEX_INITIALIZER;
static void *xc__rb_free[XC_REPLYBUF_POOL_MAX]; /* bases of free pooled buffers */
static size_t xc__rb_n;

static size_t xc__rb_cap(const void *p) {
  size_t cap;
  memcpy(&cap, (const uint8_t *)p - XC__RB_HDR, sizeof cap);
  return cap;
}

/* A new buffer of cap bytes: from the pool when cap is the pooled size. */
static void *xc__rb_new(size_t cap) {
  uint8_t *base = NULL;
  if (cap == XC_REPLYBUF_POOLED) {
    pthread_mutex_lock(&xc__rb_mu);
    if (xc__rb_n > 0) base = xc__rb_free[--xc__rb_n];
    pthread_mutex_unlock(&xc__rb_mu);
  }
  if (base == NULL) {
    if (cap > SIZE_MAX - XC__RB_HDR) return NULL;
    base = malloc(XC__RB_HDR + cap);
    if (base == NULL) return NULL;
    memcpy(base, &cap, sizeof cap);
  }
  return base + XC__RB_HDR;
}

void *xc_replybuf_realloc(void *p, size_t n) {
  size_t cap;
  void *q;
  if (p != NULL && n <= xc__rb_cap(p)) return p;
  cap = n <= XC_REPLYBUF_POOLED ? XC_REPLYBUF_POOLED : n;
  q = xc__rb_new(cap);
  if (q == NULL) return NULL;
  if (p != NULL) {
    /* The caller's bytes are somewhere in p's capacity: keep all of it. */
    memcpy(q, p, xc__rb_cap(p));
    xc_replybuf_free(p);
  }
  return q;
}

void xc_replybuf_free(void *p) {
  uint8_t *base;
  if (p == NULL) return;
  base = (uint8_t *)p - XC__RB_HDR;
  if (xc__rb_cap(p) == XC_REPLYBUF_POOLED) {
    pthread_mutex_lock(&xc__rb_mu);
    if (xc__rb_n < XC_REPLYBUF_POOL_MAX) {
      xc__rb_free[xc__rb_n++] = base;
      base = NULL;
    }
    pthread_mutex_unlock(&xc__rb_mu);
  }
  free(base);
}

void xc_replybuf_drain(void) {
  pthread_mutex_lock(&xc__rb_mu);
  while (xc__rb_n > 0) free(xc__rb_free[--xc__rb_n]);
  pthread_mutex_unlock(&xc__rb_mu);
}
