/*
 * xc_import.h: xuncha.v1.Import/ImportRecords, the server side of
 * `xuncha import` (server/REPORTS.md, "Data exchange").
 */
#ifndef XC_IMPORT_H
#define XC_IMPORT_H

#include "xc_handler.h"
#include "xuncha/v1/reports.pb-c.h"

/* Most rows one ImportRecords request takes. */
#define XC_IMPORT_MAX_ROWS 20000

/*
 * Checks every row of req as a create by the caller would (fields,
 * references, access), collecting one RowError per bad row; then, unless
 * validate_only, or a row is bad and skip_bad is false, writes every good
 * row in one storage write (xc_txn_create_once per row, with the row's
 * request_id or one derived from its content, so a re-import creates
 * nothing). Returns XC_OK with *out (the caller's), or an error for the
 * request as a whole (unknown kind, too many rows, a failed commit).
 */
int xc_import_records(xc_ctx *ctx, const Xuncha__V1__ImportRequest *req,
                      Xuncha__V1__ImportResponse **out, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_IMPORT_H */
