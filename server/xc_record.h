/*
 * xc_record.h: rules every record kind shares, driven by the protobuf-c
 * descriptors: which fields are output only or fixed after creation, string
 * and enum checks, update masks, request fingerprints, and safe quoting of
 * client text in error messages.
 *
 * Every message these functions create has unpacked ownership (free with
 * xc_msg_free). They never keep pointers to their arguments.
 */
#ifndef XC_RECORD_H
#define XC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_status.h"
#include "xc_store.h"

/* Returns the byte limit of a string field by its name (XC_MAX_TEXT_BYTES
 * for long text, XC_ID_MAX - 1 for ids, XC_MAX_NAME_BYTES otherwise). */
size_t xc_record_field_limit(const char *field_name);

/* Returns 1 if the top-level field `name` of the kind's record is set only by
 * the server (id, owner, etag, times, authors and the derived fields). */
int xc_record_output_only(xc_kind kind, const char *name);

/* Returns 1 if the top-level field `name` is given on create and can never
 * change afterwards (region_code of targets and rounds, and the references
 * of groups, findings and leads). */
int xc_record_fixed(xc_kind kind, const char *name);

/* Drops the unknown fields protobuf-c kept from the wire, in msg and every
 * message under it, so nothing the schema does not know is ever stored. */
void xc_record_strip_unknown(ProtobufCMessage *msg);

/* Resets every output-only field of rec (a record of `kind`), including
 * finding.rectification.status, to its empty value. */
void xc_record_clear_output_only(xc_kind kind, ProtobufCMessage *rec);

/* Checks every string of rec (valid UTF-8, within xc_record_field_limit) and
 * every repeated field (at most XC_MAX_REPEATED), naming the field path
 * "<kind>.<field>" in err. Returns XC_OK or XC_EINVALID_ARGUMENT. */
int xc_record_check_strings(xc_kind kind, const ProtobufCMessage *rec,
                            xc_err *err) XC_WARN_UNUSED_RESULT;

/* Checks that every enum field of msg and the messages under it holds a value
 * its enum defines (protobuf-c keeps unknown numbers). `path` names msg in
 * the message ("round"). Returns XC_OK or XC_EINVALID_ARGUMENT. */
int xc_record_check_enums(const ProtobufCMessage *msg, const char *path,
                          xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * On update: refuses (XC_EINVALID_ARGUMENT) a sent record whose output-only
 * or fixed fields hold a non-empty, non-zero value different from the stored
 * one. id and etag are not compared: they select the record and its version.
 */
int xc_record_check_unchanged(xc_kind kind, const ProtobufCMessage *sent,
                              const ProtobufCMessage *stored, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Checks an update mask: every entry must name a top-level field of the
 * kind's record that a client may change. Returns XC_OK or
 * XC_EINVALID_ARGUMENT naming the offending entry.
 */
int xc_record_check_mask(xc_kind kind, char *const *mask, size_t n_mask,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Builds the record an update stores: a copy of `stored` where the fields
 * named in mask (every mutable field when n_mask is 0) take sent's values.
 * Output-only and fixed fields keep their stored values, except etag, which
 * is sent's (the version the client read). The mask must have passed
 * xc_record_check_mask. *out is the caller's (xc_msg_free).
 */
int xc_record_merge(xc_kind kind, const ProtobufCMessage *stored, const ProtobufCMessage *sent,
                    char *const *mask, size_t n_mask, ProtobufCMessage **out,
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/* Computes the SHA-256 of msg's packed form. Returns XC_OK or
 * XC_ERESOURCE_EXHAUSTED when out of memory. */
int xc_record_fingerprint(const ProtobufCMessage *msg, uint8_t out[32]) XC_WARN_UNUSED_RESULT;

/* Writes the short name of an enum value ("PREPARATION" for
 * ROUND_STAGE_PREPARATION) or its number when unknown into buf; returns buf. */
const char *xc_record_enum_name(const ProtobufCEnumDescriptor *d, int value, char *buf,
                                size_t size);

/* Writes today's date in China Standard Time as "YYYY-MM-DD". */
void xc_today_cst(char out[11]);

/* Copies client text into out for an error message: control characters and
 * bytes that are not UTF-8 become '?', and text past 64 bytes is cut with
 * "...". Returns out. */
const char *xc_record_quote(const char *s, char *out, size_t size);

/* Returns 1 if s is empty or only ASCII white space. */
int xc_record_blank(const char *s);

#endif /* XC_RECORD_H */
