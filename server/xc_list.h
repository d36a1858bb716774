/*
 * xc_list.h: the filters of List calls, the choice of index a list walks
 * (the plan), and the post-filter every record passes before it is returned.
 *
 * Lists are served from one index walk in id order. The plan picks the most
 * selective index the filters allow; every record the walk yields is then
 * checked against ALL filters and the caller's read rule, so the index only
 * decides speed, never what a caller sees.
 */
#ifndef XC_LIST_H
#define XC_LIST_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_identity.h"
#include "xc_limits.h"
#include "xc_status.h"
#include "xc_store.h"

/* The filters of every List request, in one shape (unused ones stay empty).
 * The strings point into the request and are not owned. */
typedef struct xc_list_filter {
  const char *region_prefix; /* "" or up to 12 digits */
  const char *round_id;      /* groups, findings, leads */
  const char *target_id;     /* rounds, groups, findings, leads */
  const char *recipient;     /* leads */
  const char *contains;      /* targets: name_contains; rounds: title_contains */
  int32_t status;            /* rounds: stage; findings: rectification status;
                                leads: disposal; 0: any */
  int32_t kind;              /* targets, rounds: kind; 0: any */
  int32_t area;              /* findings; 0: any */
  int32_t term;              /* rounds; 0: any */
  /* Workflows (server/WORKFLOWS.md). */
  const char *parent_id;     /* progress entries, verifications: the finding;
                                dispositions: the lead (required for them) */
  int include_void;          /* 1: voided records are listed too */
  int overdue, paper_only, stalled, reopened; /* findings: only with the flag */
  int32_t due_within_days;   /* findings: > 0, not done, deadline in [today, +N] */
  int report_overdue;        /* leads: only those past their report deadline */
} xc_list_filter;

/* An xc_list_filter with every field empty. */
void xc_list_filter_init(xc_list_filter *f);

/*
 * Checks the filters of a List of `kind` and its page size: page_size >= 0,
 * region_prefix digits only (at most 12), well-formed ids, known enum
 * values, term >= 0, an agency identity as recipient, text within limits.
 * Returns XC_OK or XC_EINVALID_ARGUMENT naming the field.
 */
int xc_list_filter_check(xc_kind kind, const xc_list_filter *f, int32_t page_size,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns the page size to use: 0 gives XC_DEFAULT_PAGE_SIZE, values above
 * XC_MAX_PAGE_SIZE are clamped. page_size must be >= 0. */
size_t xc_list_page_size(int32_t page_size);

/*
 * Writes the canonical form of the filters (the bytes a page token is bound
 * to) into out. Returns the length, or 0 if out is too small (1 KiB always
 * suffices for checked filters).
 */
size_t xc_list_filter_canon(const xc_list_filter *f, char *out, size_t out_size);

/* The index walk a List uses. */
typedef struct xc_list_plan {
  int empty;                     /* 1: nothing the caller may read can match; walk nothing */
  xc_index index;                /* the index to walk */
  char key[XC_MAX_CN_BYTES + 1]; /* its key */
} xc_list_plan;

/*
 * Picks the walk for a List of `kind` by caller `who` with filters f:
 *   - round_id, else target_id, when given (the kinds that have them);
 *   - leads: else the recipient filter (RECIPIENT index); else offices walk
 *     the OWNER index with their own code (leads they or offices below them
 *     own) and agencies the RECIPIENT index with their CN; other roles read
 *     no leads (empty);
 *   - other kinds: else the status (stage, rectification status) when given;
 *     else the REGION index with the longer of the caller's region and
 *     region_prefix, or empty when neither is a prefix of the other.
 */
void xc_list_plan_make(xc_kind kind, const xc_identity *who, const xc_list_filter *f,
                       xc_list_plan *out);

/* Returns 1 if rec, a record of `kind`, passes every filter in f and `who`
 * may read it. Voided records pass only with include_void. The flag filters
 * read the read-time fields (finding.flags, lead.report_overdue), so rec
 * must have been through xc_workflow_decorate. */
int xc_list_match(xc_kind kind, const xc_identity *who, const xc_list_filter *f,
                  const ProtobufCMessage *rec);

/*
 * Sets *names to the fields of a record of `kind` that the read checks look
 * at, and returns how many (0: unknown, the record is unpacked whole). The
 * list and get paths decode only these from the stored bytes
 * (xc_rawrec_unpack_some), so this must name every field read by
 * xc_validate_may_read, xc_validate_read_denied, xc_workflow_voided,
 * xc_workflow_decoration and xc_list_match for the kind, and the id: a
 * field missing here reads as empty (the test "partial unpacks decide as
 * whole ones" compares both on every kind a List serves).
 */
size_t xc_list_check_fields(xc_kind kind, const char *const **names);

#endif /* XC_LIST_H */
