/*
 * xc_rawrec.h: records served as they are stored, for List replies.
 *
 * A page of a List used to unpack every stored record (protobuf-c: one
 * malloc per string and sub-message), decorate it, check it, and pack it
 * again into the reply: most of a list call's CPU. This module lets the
 * list path (xc_service_list) do the checks on a record unpacked into an
 * arena (no malloc; thrown away after each record), and only the fields the
 * checks read (xc_rawrec_unpack_some), and put into the reply the stored
 * bytes themselves, with only the read-time fields (finding flags, a lead's
 * report due date) written fresh.
 *
 * The record in the reply is a message of the kind's type holding only its
 * id as a field (so the audit and the tests see which records went out)
 * and the rest of its bytes, already packed, as one unknown field that
 * protobuf-c packs verbatim after the id. Packing it gives the bytes of the
 * decorated record, field for field in the order protobuf-c writes them;
 * clients decode it like any other record. Do not read other fields of
 * such a message: unpack its packed form for that.
 */
#ifndef XC_RAWREC_H
#define XC_RAWREC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_limits.h"
#include "xc_status.h"

/* Working memory for one list call: the arena and a scratch buffer. */
typedef struct xc_rawrec xc_rawrec;

/* Makes one; NULL when out of memory. Free with xc_rawrec_free. */
xc_rawrec *xc_rawrec_new(void);
void xc_rawrec_free(xc_rawrec *r);

/*
 * Takes the calling thread's working memory (made on its first use and kept
 * until the thread ends, so a call does not allocate a fresh arena), or a
 * new one when the thread's is taken already. NULL when out of memory.
 * Give it back with xc_rawrec_release before anything that can switch
 * fibers (a store write): another call on the thread may then take it.
 */
xc_rawrec *xc_rawrec_acquire(void);
void xc_rawrec_release(xc_rawrec *r);

/*
 * Unpacks a packed record (len bytes at rec) as desc into the arena. The
 * message is valid until the next call on r and must not be freed. Returns
 * NULL when the bytes do not decode, or when the record needs more memory
 * than the arena may grow to (then *no_room is 1: unpack it the ordinary
 * way instead).
 */
ProtobufCMessage *xc_rawrec_unpack(xc_rawrec *r, const ProtobufCMessageDescriptor *desc,
                                   const uint8_t *rec, size_t len, int *no_room);

/*
 * A partial unpack: what the read checks of one record type look at (the
 * access rule, voided, the read-time fields and the list filters), decoded
 * from the stored bytes without unpacking the rest. A full unpack into the
 * arena was about a fifth of a list's instructions, most of it strings and
 * fields no check reads.
 *
 * Made once per type by xc_rawrec_plan_make and only read afterwards, so
 * one plan serves every thread. The fields are looked up by number in
 * by_number (numbers below XC_RAWREC_FIELD_TABLE) and by search above.
 */
typedef struct xc_rawrec_plan {
  const ProtobufCMessageDescriptor *desc;
  int usable; /* 0: a field it needs has a shape decoded only whole */
  size_t n_pick;
  const ProtobufCFieldDescriptor *pick[XC_RAWREC_MAX_PICK_FIELDS]; /* the fields decoded */
  const ProtobufCFieldDescriptor *by_number[XC_RAWREC_FIELD_TABLE]; /* NULL: no such field */
  int8_t pick_of[XC_RAWREC_FIELD_TABLE]; /* index in pick, or -1 */
  /* For the fields in by_number: the wire type each is sent with, and
   * whether checking it takes more than comparing that (a sub-message, or
   * a repeated number that may come packed). */
  uint8_t wire[XC_RAWREC_FIELD_TABLE];
  uint8_t deep[XC_RAWREC_FIELD_TABLE];
} xc_rawrec_plan;

/*
 * Fills *plan for records of type desc decoding the fields named in
 * names[0..n) (names desc lacks are skipped: no check can read them).
 * plan->usable is 0 when one of them is a oneof member, a proto2 optional
 * or required field, a repeated field of other than strings, or of a type
 * the partial unpack does not decode (bytes, floats, fixed and zigzag
 * integers), or when there are more than XC_RAWREC_MAX_PICK_FIELDS: then
 * xc_rawrec_unpack_some unpacks whole.
 */
void xc_rawrec_plan_make(const ProtobufCMessageDescriptor *desc, const char *const *names,
                         size_t n, xc_rawrec_plan *plan);

/*
 * Unpacks into the arena only the fields of plan (the rest of the message
 * keeps its defaults and no unknown fields), checking the whole record as
 * protobuf-c would: every field well formed, the wire type of every known
 * field, and every sub-message, so bytes a full unpack refuses are refused
 * here too (NULL with *no_room 0). Records it does not decode partially
 * (a sub-message it decodes sent twice, which protobuf-c merges; more
 * occurrences than XC_RAWREC_MAX_PICKED; deeper than XC_RAWREC_MAX_DEPTH; an
 * unusable plan; a full arena) are unpacked whole by xc_rawrec_unpack, with
 * its results. The message is valid until the next call on r; only the
 * fields of plan may be read.
 */
ProtobufCMessage *xc_rawrec_unpack_some(xc_rawrec *r, const xc_rawrec_plan *plan,
                                        const uint8_t *rec, size_t len, int *no_room);

/*
 * Makes the reply form of a stored record of type desc (above): id as its
 * id field, then the stored fields of rec (len bytes) without the id and
 * the fields in drop[0..n_drop), with the packed fields deco (deco_len
 * bytes, in field order) merged in by field number. *out is the caller's
 * (xc_msg_free); *packed receives the size it packs to. Returns XC_OK,
 * XC_EDATA_LOSS when rec is malformed, or XC_ERESOURCE_EXHAUSTED.
 */
int xc_rawrec_reply(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, const char *id,
                    const uint8_t *rec, size_t len, const uint8_t *deco, size_t deco_len,
                    const uint32_t *drop, size_t n_drop, ProtobufCMessage **out,
                    size_t *packed) XC_WARN_UNUSED_RESULT;

/*
 * Appends a record's reply form, already packed, to a List response being
 * packed by hand: the tag and length of an element of the response's
 * repeated message field number `field`, then the bytes the message
 * xc_rawrec_reply makes packs to (the id, then the stored fields of rec less
 * the id and drop[0..n_drop), with deco merged in by field number). Those are
 * the bytes protobuf-c writes for that element, with no message built, no
 * unknown field allocated and nothing packed again. *buf (malloc'd, *used
 * bytes in use, *cap allocated; it may start NULL) grows with realloc; the
 * caller frees it. *packed receives the record's own size (without tag and
 * length), as xc_rawrec_reply gives it. On failure *used is unchanged.
 * Returns XC_OK, XC_EDATA_LOSS when rec is malformed, XC_EINTERNAL when desc
 * has no string id or deco is malformed, or XC_ERESOURCE_EXHAUSTED.
 */
int xc_rawrec_append(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, uint32_t field,
                     const char *id, const uint8_t *rec, size_t len, const uint8_t *deco,
                     size_t deco_len, const uint32_t *drop, size_t n_drop, uint8_t **buf,
                     size_t *used, size_t *cap, size_t *packed) XC_WARN_UNUSED_RESULT;

/*
 * Makes a message of type desc holding only id (a copy) in its id field:
 * what the audit reads of a record sent as bytes by xc_rawrec_append.
 * *out is the caller's (xc_msg_free). Returns XC_OK, XC_EINTERNAL when desc
 * has no string id, or XC_ERESOURCE_EXHAUSTED.
 */
int xc_rawrec_id_only(xc_rawrec *r, const ProtobufCMessageDescriptor *desc, const char *id,
                      ProtobufCMessage **out) XC_WARN_UNUSED_RESULT;

/*
 * The id of m (a record message) without a lookup by name per record (the
 * field is found once per type and remembered in r). Points into m; NULL
 * when m has no string id.
 */
const char *xc_rawrec_id(xc_rawrec *r, const ProtobufCMessage *m);

#endif /* XC_RAWREC_H */
