/* xc_render.c: tables, blocks, CSV and JSON output of the CLI (xc_render.h). */
#include "xc_render.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "xc_text.h"

/* The ellipsis that ends a cut cell: one display column. */
#define XC__ELLIPSIS "\xE2\x80\xA6"

/*
 * Returns the byte length of the UTF-8 character at s (1 for an invalid or
 * truncated sequence, so a bad byte is shown as itself and skipped).
 */
static size_t xc__char_len(const unsigned char *s) {
  size_t n;
  if (s[0] < 0x80)
    return 1;
  else if (s[0] >= 0xC2 && s[0] <= 0xDF)
    n = 2;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    n = 3;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    n = 4;
  else
    return 1;
  for (size_t k = 1; k < n; k++)
    if ((s[k] & 0xC0) != 0x80) return 1;
  return n;
}

/* Returns the display width of the n-byte character at s. */
static size_t xc__char_width(const char *s, size_t n) {
  char one[5];
  memcpy(one, s, n);
  one[n] = '\0';
  return xc_display_width(one);
}

void xc_render_cell(xc_buf *out, const char *s, size_t max_width) {
  const char *p;
  size_t total = 0, used = 0;
  if (s == NULL) s = "";
  for (p = s; *p != '\0';) {
    size_t n = xc__char_len((const unsigned char *)p);
    total += (unsigned char)*p < 0x20 || *p == 0x7F ? 1 : xc__char_width(p, n);
    p += n;
  }
  for (p = s; *p != '\0';) {
    size_t n = xc__char_len((const unsigned char *)p);
    int control = (unsigned char)*p < 0x20 || *p == 0x7F;
    size_t w = control ? 1 : xc__char_width(p, n);
    /* Leave one column for the ellipsis when the text does not fit. */
    if (max_width > 0 && total > max_width && used + w > max_width - 1) {
      xc_buf_add(out, XC__ELLIPSIS);
      return;
    }
    if (control)
      xc_buf_add(out, " ");
    else
      xc_buf_addn(out, p, n);
    used += w;
    p += n;
  }
  if (out->data == NULL) xc_buf_add(out, "");
}

/* Writes n spaces. Returns 0 on a write error. */
static int xc__pad(FILE *out, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (fputc(' ', out) == EOF) return 0;
  return 1;
}

int xc_render_table(FILE *out, const xc_column *cols, size_t ncols, const char *const *cells,
                    size_t nrows, xc_err *err) {
  char **text = NULL;
  size_t *width = NULL;
  size_t ntext = 0;
  int rc = XC_OK;

  if (ncols == 0) return XC_OK;
  /* One text per cell plus the header row; check before multiplying. */
  if (nrows > (SIZE_MAX / sizeof(char *)) / ncols - 1) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "too many rows to print: %zu", nrows);
    goto done;
  }
  ntext = (nrows + 1) * ncols;
  text = calloc(ntext, sizeof *text);
  width = calloc(ncols, sizeof *width);
  if (text == NULL || width == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory printing %zu rows", nrows);
    goto done;
  }
  for (size_t i = 0; i < ntext; i++) {
    size_t col = i % ncols;
    const char *src = i < ncols ? cols[col].header : cells[i - ncols];
    xc_buf b = XC_BUF_INIT;
    size_t w;
    xc_render_cell(&b, src, cols[col].max_width);
    text[i] = xc_buf_take(&b);
    if (text[i] == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory printing %zu rows", nrows);
      goto done;
    }
    w = xc_display_width(text[i]);
    if (w > width[col]) width[col] = w;
  }
  for (size_t row = 0; row <= nrows; row++) {
    xc_buf line = XC_BUF_INIT;
    for (size_t col = 0; col < ncols; col++) {
      const char *t = text[row * ncols + col];
      xc_buf_add(&line, t);
      if (col + 1 < ncols)
        for (size_t k = xc_display_width(t); k < width[col] + 2; k++) xc_buf_add(&line, " ");
    }
    /* Empty cells at the end of a row must not leave trailing spaces. */
    while (line.len > 0 && line.data[line.len - 1] == ' ') line.data[--line.len] = '\0';
    xc_buf_add(&line, "\n");
    if (line.failed) {
      xc_buf_free(&line);
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory printing %zu rows", nrows);
      goto done;
    }
    if (fputs(line.data, out) == EOF) {
      xc_buf_free(&line);
      rc = xc_err_set(err, XC_EINTERNAL, "cannot write the output");
      goto done;
    }
    xc_buf_free(&line);
  }
done:
  if (text != NULL)
    for (size_t i = 0; i < ntext; i++) free(text[i]);
  free(text);
  free(width);
  return rc;
}

int xc_render_block(FILE *out, const char *const *labels, const char *const *values, size_t n,
                    xc_err *err) {
  size_t label_width = 0;
  for (size_t i = 0; i < n; i++) {
    size_t w = xc_display_width(labels[i]);
    if (w > label_width) label_width = w;
  }
  for (size_t i = 0; i < n; i++) {
    const char *v = values[i] != NULL ? values[i] : "";
    /* An empty value gets no padding, so no line ends in spaces. */
    int ok = fputs(labels[i], out) != EOF && fputc(':', out) != EOF &&
             (*v == '\0' || xc__pad(out, label_width - xc_display_width(labels[i]) + 1));
    /* Continuation lines start under the value's first character. */
    for (; ok && *v != '\0'; v++) {
      if (*v == '\r') continue;
      ok = fputc(*v, out) != EOF;
      if (ok && *v == '\n') ok = xc__pad(out, label_width + 2);
    }
    if (ok) ok = fputc('\n', out) != EOF;
    if (!ok) return xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  }
  return XC_OK;
}

int xc_render_csv_row(FILE *out, const char *const *cells, size_t n, xc_err *err) {
  for (size_t i = 0; i < n; i++) {
    const char *c = cells[i] != NULL ? cells[i] : "";
    if ((i > 0 && fputc(',', out) == EOF) || csv_fwrite(out, c, strlen(c)) != 0)
      return xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  }
  if (fputc('\n', out) == EOF) return xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  return XC_OK;
}

/* ---------------------------------------------------------------- JSON */

/*
 * Returns s as a JSON string. jansson refuses invalid UTF-8, which a server
 * should never send; if one does, its bad bytes are shown as U+FFFD rather
 * than losing the whole record.
 */
static json_t *xc__json_string(const char *s) {
  json_t *j;
  xc_buf b = XC_BUF_INIT;
  char *fixed;
  if (s == NULL) s = "";
  j = json_string(s);
  if (j != NULL) return j;
  while (*s != '\0') {
    size_t n = xc__char_len((const unsigned char *)s);
    if (n == 1 && (unsigned char)*s >= 0x80)
      xc_buf_add(&b, "\xEF\xBF\xBD");
    else if (xc_utf8_valid(s, n))
      xc_buf_addn(&b, s, n);
    else
      xc_buf_add(&b, "\xEF\xBF\xBD");
    s += n;
  }
  fixed = xc_buf_take(&b);
  if (fixed == NULL) return NULL;
  j = json_string(fixed);
  free(fixed);
  return j;
}

/* Returns data as base64 text in a JSON string. */
static json_t *xc__json_base64(const ProtobufCBinaryData *d) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  xc_buf b = XC_BUF_INIT;
  json_t *j;
  char *s;
  for (size_t i = 0; i < d->len; i += 3) {
    uint32_t v = (uint32_t)d->data[i] << 16;
    size_t left = d->len - i;
    char q[4];
    if (left > 1) v |= (uint32_t)d->data[i + 1] << 8;
    if (left > 2) v |= d->data[i + 2];
    q[0] = tab[(v >> 18) & 63];
    q[1] = tab[(v >> 12) & 63];
    q[2] = left > 1 ? tab[(v >> 6) & 63] : '=';
    q[3] = left > 2 ? tab[v & 63] : '=';
    xc_buf_addn(&b, q, 4);
  }
  s = xc_buf_take(&b);
  if (s == NULL) return NULL;
  j = json_string(s);
  free(s);
  return j;
}

/* Returns the JSON of one value of field f stored at p. */
static json_t *xc__json_value(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      uint64_t v = *(const uint64_t *)p;
      char num[24];
      if (v <= (uint64_t)LLONG_MAX) return json_integer((json_int_t)v);
      (void)snprintf(num, sizeof num, "%llu", (unsigned long long)v);
      return json_string(num);
    }
    case PROTOBUF_C_TYPE_FLOAT:
      return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
      return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
      return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
      int v = *(const int *)p;
      const ProtobufCEnumValue *ev =
          protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
      /* A value newer than this build has no name: show its number. */
      return ev != NULL ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING:
      return xc__json_string(*(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES:
      return xc__json_base64((const ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
      const ProtobufCMessageDescriptor *d = f->descriptor;
      ProtobufCMessage *empty;
      json_t *j;
      if (m != NULL) return xc_render_json_msg(m);
      /* An absent sub-message reads as its defaults, so every field shows. */
      empty = malloc(d->sizeof_message);
      if (empty == NULL) return NULL;
      d->message_init(empty);
      j = xc_render_json_msg(empty);
      free(empty);
      return j;
    }
  }
  return json_null();
}

/* Returns the size of one element of a repeated field of f's type. */
static size_t xc__elem_size(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return 4;
    case PROTOBUF_C_TYPE_ENUM:
      return sizeof(int);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return 8;
    case PROTOBUF_C_TYPE_FLOAT:
      return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
      return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

json_t *xc_render_json_msg(const ProtobufCMessage *msg) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  json_t *obj = json_object();
  if (obj == NULL) return NULL;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)msg;
    json_t *v;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *(const size_t *)(base + f->quantifier_offset);
      const char *arr = *(const char *const *)(base + f->offset);
      size_t size = xc__elem_size(f);
      v = json_array();
      for (size_t k = 0; v != NULL && k < count; k++) {
        json_t *e = xc__json_value(f, arr + k * size);
        if (e == NULL || json_array_append_new(v, e) != 0) {
          json_decref(v);
          v = NULL;
        }
      }
    } else {
      v = xc__json_value(f, base + f->offset);
    }
    if (v == NULL || json_object_set_new(obj, f->name, v) != 0) {
      json_decref(obj);
      return NULL;
    }
  }
  return obj;
}

int xc_render_json(FILE *out, const json_t *j, xc_err *err) {
  if (json_dumpf(j, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
    return xc_err_set(err, XC_EINTERNAL, "cannot write the output");
  return XC_OK;
}

int xc_render_json_print(FILE *out, const ProtobufCMessage *msg, xc_err *err) {
  json_t *j = xc_render_json_msg(msg);
  int rc;
  if (j == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_render_json(out, j, err);
  json_decref(j);
  return rc;
}
