/*
 * xc_identity.h: who a caller is, and the two access rules of DOMAIN.md.
 *
 * A caller's identity comes from its client certificate's subject CN, in one
 * of exactly these forms:
 *   office:<region code>            a city (4 digits), county (6) or township
 *                                   (9) inspection office
 *   agency:<region code>:<unit>     an agency, e.g. agency:3101:jw
 *   auditor:<region code>           reads the audit log of the region, and
 *                                   nothing else (no records)
 *   admin:<region code>             server administration for the region
 * The certificate's serial number names the individual operator.
 *
 * Rules (kept apart, as DOMAIN.md says):
 *   - reading is by prefix: a caller may read a record whose region code starts
 *     with the caller's region code;
 *   - writing is by ownership: only the office that created a record changes it;
 *   - leads are read only by their owner office, the offices above it and the
 *     agency they were sent to;
 *   - agencies read nothing by prefix: only the leads sent to them (and, as
 *     the server decides, the finding a lead comes from).
 */
#ifndef XC_IDENTITY_H
#define XC_IDENTITY_H

#include "xc_limits.h"
#include "xc_status.h"

typedef enum xc_role {
  XC_ROLE_OFFICE = 1,
  XC_ROLE_AGENCY = 2,
  XC_ROLE_AUDITOR = 3,
  XC_ROLE_ADMIN = 4
} xc_role;

/* Longest agency unit name, in bytes, including the NUL. */
#define XC_UNIT_MAX 33

typedef struct xc_identity {
  xc_role role;
  char region[XC_REGION_MAX_DIGITS + 1]; /* the caller's region code */
  char unit[XC_UNIT_MAX];                /* agencies only, else "" */
  char cn[XC_MAX_CN_BYTES + 1];          /* the whole CN, as given */
  char serial[XC_MAX_SERIAL_BYTES + 1];  /* certificate serial, hex */
} xc_identity;

/* Returns 1 if code is a region code: 2, 4, 6, 9 or 12 ASCII digits. */
int xc_region_code_valid(const char *code);

/* Returns 1 if code is an office's code: 4 (city), 6 (county) or 9 digits. */
int xc_office_code_valid(const char *code);

/* Returns 1 if region starts with prefix (every region starts with ""). */
int xc_region_within(const char *region, const char *prefix);

/*
 * Parses a CN and serial into *id. Returns XC_OK or XC_EUNAUTHENTICATED with
 * err saying which part of the CN is wrong.
 */
int xc_identity_parse(const char *cn, const char *serial, xc_identity *id,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Writes "<cn>#<serial>" (the author recorded on writes) into out, which holds
 * at least XC_AUTHOR_MAX bytes.
 */
void xc_identity_author(const xc_identity *id, char *out, size_t out_size);

/* Writes the office owner name "office:<region>" for an office identity. */
void xc_identity_owner(const xc_identity *id, char *out, size_t out_size);

/* Returns 1 if id may read a non-lead record with this region code: offices
 * and admins by prefix; auditors never (they read only the audit log);
 * agencies never (they read only the leads
 * sent to them and the findings those leads come from). */
int xc_may_read_region(const xc_identity *id, const char *region_code);

/*
 * Returns 1 if id may read a lead owned by `owner` ("office:<code>") and sent
 * to `recipient` ("agency:<code>:<unit>").
 */
int xc_may_read_lead(const xc_identity *id, const char *owner, const char *recipient);

/* Returns 1 if id may write (update) a record owned by `owner`. */
int xc_may_write_owned(const xc_identity *id, const char *owner);

/*
 * Returns 1 if id may create a record concerning region_code: offices only,
 * and only inside their own region.
 */
int xc_may_create_in(const xc_identity *id, const char *region_code);

#endif /* XC_IDENTITY_H */
