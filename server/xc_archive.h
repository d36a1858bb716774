/*
 * xc_archive.h: documents of the archive (立卷归档, server/ARCHIVE.md) and
 * the inspector pool (巡察人才库): the rules the generic service code calls
 * for these two record kinds, the conflict-of-interest check of groups, and
 * the handlers of xuncha.v1.Archive and xuncha.v1.Pool (handlers.h).
 *
 * Messages returned have unpacked ownership (xc_msg_free).
 */
#ifndef XC_ARCHIVE_H
#define XC_ARCHIVE_H

#include <stddef.h>

#include "xc_handler.h"
#include "xc_validate.h"

/* The default of --conflict-years. */
#define XC_POOL_DEFAULT_CONFLICT_YEARS 3

/* Sets the years within which work in a unit is a conflict (before the
 * server starts; <= 0 gives the default). */
void xc_pool_configure(int conflict_years);
int xc_pool_conflict_years(void);

/* Returns 1 if who may read document d: a lead's document by the lead rule
 * (owner office, offices above it, the recipient agency), others by region. */
int xc_archive_may_read(const xc_identity *who, const Xuncha__V1__Document *d);

/*
 * Checks a document for create (on upload: derives region_code, round_id,
 * lead_owner and recipient from the attached record, which the caller must
 * be allowed to write) or update. Refuses (XC_EFAILED_PRECONDITION) a
 * document of an archived round or a voided record.
 */
int xc_archive_validate(Xuncha__V1__Document *d, xc_validate_mode mode, const xc_identity *who,
                        const xc_lookup *lk, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Checks an inspector; on create sets region_code to the office's code. */
int xc_pool_validate(Xuncha__V1__Inspector *in, xc_validate_mode mode, const xc_identity *who,
                     const xc_lookup *lk, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Returns 1 if inspector `in` has a conflict of interest with the target
 * (target_name may be NULL) on `today` (YYYY-MM-DD): worked in it (by
 * target id, or by unit name equal to target_name) within `years` years
 * before today, or declared a relationship to it. Then writes the reason,
 * in words, into why.
 */
int xc_pool_conflict(const Xuncha__V1__Inspector *in, const char *target_id,
                     const char *target_name, const char *today, int years, char *why,
                     size_t why_size);

/*
 * The pool's rules for a group (called by xc_validate_record after the
 * group's own checks): every inspector id must name an inspector the caller
 * may read that is not voided; an inspector with a conflict with one of the
 * group's targets is refused (XC_EFAILED_PRECONDITION naming it) unless the
 * group records a recusal of that inspector from that target; and no
 * inspector is assigned to a target it has a conflict with.
 */
int xc_pool_check_group(const Xuncha__V1__Group *g, const xc_identity *who, const xc_lookup *lk,
                        const char *today, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns 1 if s is one of group g's inspector ids. */
int xc_pool_group_has(const Xuncha__V1__Group *g, const char *s);

/* Decodes a lowercase or uppercase hex digest of XC_DIGEST_LEN bytes.
 * Returns 0, or -1 when s is not exactly that. */
int xc_archive_unhex(const char *s, uint8_t out[XC_DIGEST_LEN]);

/* The OpenSSL digest of a HashAlgorithm (SHA256 or SM3), else NULL. */
const struct evp_md_st *xc_archive_md(int algorithm);

#endif /* XC_ARCHIVE_H */
