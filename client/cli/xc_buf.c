/* xc_buf.c: the bounded growable text buffer of xc_buf.h. */
#include "xc_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes and a NUL; returns 0 when it cannot. */
static int xc__buf_reserve(xc_buf *b, size_t n) {
  size_t need, cap;
  char *p;
  if (b->failed) return 0;
  if (n > XC_BUF_MAX - b->len - 1) {
    b->failed = 1;
    return 0;
  }
  need = b->len + n + 1;
  if (need <= b->cap) return 1;
  cap = b->cap > 0 ? b->cap : 64;
  while (cap < need) cap = cap > XC_BUF_MAX / 2 ? XC_BUF_MAX : cap * 2;
  p = realloc(b->data, cap);
  if (p == NULL) {
    b->failed = 1;
    return 0;
  }
  b->data = p;
  b->cap = cap;
  return 1;
}

void xc_buf_addn(xc_buf *b, const char *s, size_t n) {
  if (!xc__buf_reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void xc_buf_add(xc_buf *b, const char *s) {
  xc_buf_addn(b, s, strlen(s));
}

void xc_buf_addf(xc_buf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if (!xc__buf_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

char *xc_buf_take(xc_buf *b) {
  char *s = NULL;
  if (b->failed) {
    xc_buf_free(b);
    return NULL;
  }
  if (b->data == NULL) {
    s = malloc(1);
    if (s != NULL) s[0] = '\0';
  } else {
    s = b->data;
  }
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

void xc_buf_free(xc_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}
