/*
 * xc_workflow.h: the workflow operations of xunchad (server/WORKFLOWS.md):
 * advancing a round's stage, rectification progress and verification, lead
 * dispositions, voiding any record, completion rates, and the read-time
 * flags. Each operation checks the caller's right first (PERMISSION_DENIED
 * before any state check), then, inside one storage write, the etag
 * (ABORTED), the state (FAILED_PRECONDITION), and writes the new record and
 * its parent's derived fields in the same durable commit.
 *
 * Messages returned have unpacked ownership (xc_msg_free); requests stay the
 * caller's.
 */
#ifndef XC_WORKFLOW_H
#define XC_WORKFLOW_H

#include "xc_handler.h"
#include "xc_list.h"
#include "xc_service.h"
#include "xc_store_audit.h"

/* Sets the stalled threshold in days (before the server starts; <= 0 gives
 * XC_WF_DEFAULT_STALLED_DAYS). */
void xc_workflow_configure(int stalled_days);
int xc_workflow_stalled_days(void);

/*
 * Handles the workflow flags of xunchad at argv[*i]: "--stalled-days N" and
 * "--test-clock-file FILE" (also with "="). Returns 1 when it took the flag
 * (and its value: *i moves past it), 0 when argv[*i] is not one of them, or
 * -1 after printing a usage error to stderr.
 */
int xc_workflow_flag(int argc, char **argv, int *i);

/* Returns 1 if rec (any record kind) has been voided. */
int xc_workflow_voided(const ProtobufCMessage *rec);

/* Returns the kind whose id form `id` has, or XC_KIND_COUNT when none. */
xc_kind xc_workflow_kind_of_id(const char *id);

/*
 * Fills the read-time fields of a record about to be returned: a finding's
 * flags, a lead's report_due_date and report_overdue, on `today`. Other
 * kinds are left alone. Returns XC_OK or XC_ERESOURCE_EXHAUSTED.
 */
int xc_workflow_decorate(xc_kind kind, ProtobufCMessage *rec,
                         const char *today) XC_WARN_UNUSED_RESULT;

/* The read-time fields of one record, computed without taking memory. */
typedef struct xc_decoration {
  Xuncha__V1__FindingFlags flags; /* findings */
  char report_due_date[11];       /* leads: YYYY-MM-DD */
  protobuf_c_boolean report_overdue; /* leads */
} xc_decoration;

/* The most fields a decoration sets, and the most bytes they pack to. */
#define XC_DECORATION_MAX_FIELDS 4
#define XC_DECORATION_MAX_BYTES 128

/* Computes into *d what xc_workflow_decorate sets on rec, on `today`. rec
 * is only read. */
void xc_workflow_decoration(xc_kind kind, const ProtobufCMessage *rec, const char *today,
                            xc_decoration *d);

/*
 * Points rec's read-time fields at d (nothing is copied or allocated), so
 * list filters see them. Only for records that are never freed field by
 * field with the default allocator (an arena's): d must outlive rec's use.
 */
void xc_workflow_decoration_attach(xc_kind kind, ProtobufCMessage *rec, xc_decoration *d);

/*
 * Packs d into out (cap bytes, XC_DECORATION_MAX_BYTES suffice) exactly as
 * protobuf-c packs those fields in a decorated record of `kind`, in field
 * order, and returns the length (0: the kind has no read-time fields, or
 * cap is too small).
 */
size_t xc_workflow_decoration_pack(xc_kind kind, xc_decoration *d, uint8_t *out, size_t cap);

/* Sets fields[0..n) to the numbers of the fields a decoration of `kind`
 * owns (a stored value of one of them is replaced, never sent) and
 * returns n. */
size_t xc_workflow_decoration_fields(xc_kind kind, uint32_t fields[XC_DECORATION_MAX_FIELDS]);

/*
 * Checks that go beyond one record, run by xc_service_create/update on the
 * validation snapshot: a lead's recipient must be a directory entry of an
 * agency kind that is not voided, and cannot change once the agency has
 * recorded a disposition (FAILED_PRECONDITION). stored is NULL on create.
 */
int xc_workflow_check_refs(xc_kind kind, const ProtobufCMessage *rec,
                           const ProtobufCMessage *stored, xc_snapshot *snap,
                           xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Stores a new directory entry like xc_store_create (idempotent with
 * request_id), refusing with XC_EALREADY_EXISTS, in the same write, an
 * identity that another entry not voided already has.
 */
int xc_workflow_create_directory(xc_store *store, const ProtobufCMessage *rec, const char *owner,
                                 const char *author, const char *scope, const char *request_id,
                                 const uint8_t fingerprint[32], const xc_audit_entry *who,
                                 ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns 1 if agency `who` has a lead sent to it that comes from finding
 * finding_id (the one finding an agency may read). */
int xc_workflow_agency_reads_finding(xc_snapshot *snap, const xc_identity *who,
                                     const char *finding_id);

/* The field rules of a directory entry (called by xc_validate_record). */
int xc_workflow_validate_directory(Xuncha__V1__DirectoryEntry *d, int create,
                                   const xc_identity *who, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Rounds.AdvanceRound. */
int xc_workflow_advance_round(xc_ctx *ctx, const Xuncha__V1__AdvanceRoundRequest *req,
                              ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Findings.AppendProgress: *out is an AppendProgressResponse. */
int xc_workflow_append_progress(xc_ctx *ctx, const Xuncha__V1__AppendProgressRequest *req,
                                ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Findings.VerifyRectification / RevokeVerification (action VERIFY or
 * REVOKE): *out is a VerificationResponse. */
int xc_workflow_verify(xc_ctx *ctx, int action, const char *finding_id, const char *etag,
                       const char *date, const char *text, ProtobufCMessage **out,
                       xc_err *err) XC_WARN_UNUSED_RESULT;

/* Leads.RecordDisposition: *out is a RecordDispositionResponse. */
int xc_workflow_record_disposition(xc_ctx *ctx, const Xuncha__V1__RecordDispositionRequest *req,
                                   ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Records.VoidRecord: *out is a VoidRecordResponse. */
int xc_workflow_void(xc_ctx *ctx, const Xuncha__V1__VoidRecordRequest *req, ProtobufCMessage **out,
                     xc_err *err) XC_WARN_UNUSED_RESULT;

/* Findings.GetRectificationStats: *out is a RectificationStats. */
int xc_workflow_stats(xc_ctx *ctx, const Xuncha__V1__RectificationStatsRequest *req,
                      ProtobufCMessage **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Federation: a progress entry, verification or disposition `child` of
 * `kind` has just been stored from another server. If its parent (the
 * finding or lead) is at home here, its derived state is recomputed from
 * all its children in txn and stored when it changed (author recorded as
 * updated_by; *changed = 1). A parent that is missing or at home elsewhere
 * is left alone. XC_EFAILED_PRECONDITION when the children no longer make
 * a valid sequence (two offices wrote conflicting steps): the caller keeps
 * the parent as it was.
 */
int xc_workflow_rederive(xc_txn *txn, xc_kind kind, const ProtobufCMessage *child,
                         const char *author, int *changed, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_WORKFLOW_H */
