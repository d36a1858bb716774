/*
 * xc_buf.h: a growable text buffer with a hard maximum.
 *
 * The CLI builds cell texts and messages of unknown length (a record's
 * fields, joined lists); every one of them is bounded by XC_BUF_MAX, far
 * above anything a valid record can hold. The buffer owns its memory: free it
 * with xc_buf_free, or take it with xc_buf_take.
 */
#ifndef XC_BUF_H
#define XC_BUF_H

#include <stddef.h>

#include "xc_status.h"

/* Largest text a buffer grows to: twice the largest message, for quoting. */
#define XC_BUF_MAX ((size_t)8 * 1024 * 1024)

typedef struct xc_buf {
  char *data; /* NUL-terminated once anything was added; NULL before */
  size_t len;
  size_t cap;
  int failed; /* set when memory ran out or XC_BUF_MAX was reached */
} xc_buf;

#define XC_BUF_INIT \
  { NULL, 0, 0, 0 }

/* Appends n bytes of s. On failure sets b->failed and leaves b unchanged. */
void xc_buf_addn(xc_buf *b, const char *s, size_t n);

/* Appends the string s. */
void xc_buf_add(xc_buf *b, const char *s);

/* Appends printf-style text. */
void xc_buf_addf(xc_buf *b, const char *fmt, ...) XC_PRINTF(2, 3);

/*
 * Returns the text as a new string the caller frees with free(), "" when
 * nothing was added, or NULL if the buffer failed; the buffer is left empty.
 */
char *xc_buf_take(xc_buf *b);

/* Frees the buffer's memory and leaves it empty. */
void xc_buf_free(xc_buf *b);

#endif /* XC_BUF_H */
