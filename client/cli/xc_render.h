/*
 * xc_render.h: how the CLI prints records: aligned tables, "字段: 值" blocks,
 * CSV and JSON.
 *
 * Tables align by display width (xc_display_width: a Chinese character takes
 * two columns), so mixed Chinese and ASCII columns line up in a terminal.
 * Nothing here keeps a reference to its arguments; the functions that return
 * memory say who frees it.
 */
#ifndef XC_RENDER_H
#define XC_RENDER_H

#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "xc_buf.h"
#include "xc_status.h"

/* One column of a table: its header and the widest a cell may be. */
typedef struct xc_column {
  const char *header;
  size_t max_width; /* display columns; longer cells are cut and end in "…" */
} xc_column;

/*
 * Appends to out the text of s with control characters (newlines, tabs) as
 * spaces, cut to at most max_width display columns: a cut text ends in "…"
 * and the whole, "…" included, fits max_width. max_width 0 means no limit.
 */
void xc_render_cell(xc_buf *out, const char *s, size_t max_width);

/*
 * Prints a table: the header row, then nrows rows of cells (row-major,
 * nrows * ncols strings; NULL prints as empty). Columns are padded to the
 * widest cell (after cutting) and separated by two spaces; the last column is
 * not padded, so no line ends in spaces. Returns XC_OK, XC_ERESOURCE_EXHAUSTED
 * or XC_EINTERNAL when the output cannot be written.
 */
int xc_render_table(FILE *out, const xc_column *cols, size_t ncols, const char *const *cells,
                    size_t nrows, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Prints one "字段: 值" line per pair, the values aligned (an empty value is
 * printed as "字段:" alone). Continuation lines
 * of a multi-line value are indented under its first line.
 */
int xc_render_block(FILE *out, const char *const *labels, const char *const *values, size_t n,
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/* Prints one CSV row, each cell quoted by libcsv's csv_fwrite, and a newline. */
int xc_render_csv_row(FILE *out, const char *const *cells, size_t n,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Returns msg as a new JSON object (the caller json_decref()s it), or NULL
 * when out of memory. Every field is present, named as in the proto, with
 * enums as their proto names, int64 as numbers, absent sub-messages as their
 * defaults and bytes as base64.
 */
json_t *xc_render_json_msg(const ProtobufCMessage *msg);

/* Prints j indented by two spaces, and a newline. */
int xc_render_json(FILE *out, const json_t *j, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Prints msg as JSON (xc_render_json_msg, then xc_render_json); msg stays the caller's. */
int xc_render_json_print(FILE *out, const ProtobufCMessage *msg,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_RENDER_H */
