/*
 * xc_validate.h: the field rules of each record kind, and the fields the
 * server derives on create.
 *
 * Validation reads the records a record refers to (a finding's round and
 * target, ...) through an xc_lookup, so the same code runs on a store
 * snapshot in the server and on an in-memory table in unit tests.
 */
#ifndef XC_VALIDATE_H
#define XC_VALIDATE_H

#include <protobuf-c/protobuf-c.h>

#include "xc_identity.h"
#include "xc_status.h"
#include "xc_store.h"

/*
 * Finds a record by kind and id: XC_OK with *out owned by the caller
 * (xc_msg_free), XC_ENOT_FOUND, or another error, with err filled in.
 */
typedef struct xc_lookup {
  int (*get)(void *ctx, xc_kind kind, const char *id, ProtobufCMessage **out, xc_err *err);
  void *ctx;
  /* Optional (NULL: get is used): like get, but *out is lent, not given:
   * the lookup keeps it until the validation returns, and the validator
   * never frees it. Lets the server unpack the records a record refers to
   * into an arena (xc_arena.h) instead of the heap. */
  int (*borrow)(void *ctx, xc_kind kind, const char *id, ProtobufCMessage **out, xc_err *err);
} xc_lookup;

typedef enum xc_validate_mode {
  XC_VALIDATE_CREATE = 0, /* a new record: check, then derive output-only fields */
  XC_VALIDATE_UPDATE = 1  /* a merged update: check the mutable fields again */
} xc_validate_mode;

/*
 * Checks rec, a record of `kind` (for create: cleared of output-only fields;
 * for update: the stored record merged with the client's values), on behalf
 * of caller `who`:
 *   - strings (UTF-8, limits) and enums (known values);
 *   - on create, where the record lies: region_code given (targets, rounds)
 *     or derived from the referenced round or target, which must exist
 *     (XC_ENOT_FOUND) and be readable by `who` (XC_EPERMISSION_DENIED); and
 *     that `who` is an office creating inside its own region
 *     (XC_EPERMISSION_DENIED);
 *   - required fields, dates, ids, references (XC_EINVALID_ARGUMENT) and
 *     membership in the round's targets (XC_EFAILED_PRECONDITION).
 * On create it then sets the derived fields: region codes of groups,
 * findings and leads, round.stage = PREPARATION with a stage date of `today`
 * (YYYY-MM-DD), finding.rectification.status = OPEN (adding an empty
 * rectification when absent) and lead.disposal = PENDING.
 * Returns XC_OK or the first problem, with err naming the field path.
 */
int xc_validate_record(xc_kind kind, ProtobufCMessage *rec, xc_validate_mode mode,
                       const xc_identity *who, const xc_lookup *lookup, const char *today,
                       xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Checks that `id` names a record of `kind` ("<field> 'x' is not a target id
 * ...", XC_EINVALID_ARGUMENT, with `field` as the name in the message) and,
 * when required is 0, accepts "". Returns XC_OK or XC_EINVALID_ARGUMENT.
 */
int xc_validate_id(xc_kind kind, const char *id, const char *field, int required,
                   xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Returns 1 if `who` may read rec, a record of `kind`: leads by the lead
 * rule (owner office, offices above it, the recipient agency), every other
 * kind by region prefix.
 */
int xc_validate_may_read(const xc_identity *who, xc_kind kind, const ProtobufCMessage *rec);

/*
 * Fills err with XC_EPERMISSION_DENIED saying that `who` may not read the
 * record (e.g. "office:310105 may not read target t_... (region 310104)")
 * and returns it.
 */
int xc_validate_read_denied(const xc_identity *who, xc_kind kind, const ProtobufCMessage *rec,
                            xc_err *err);

#endif /* XC_VALIDATE_H */
