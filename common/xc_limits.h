/*
 * xc_limits.h: every size limit of xuncha, named once.
 *
 * The server refuses input over these limits with INVALID_ARGUMENT (or
 * RESOURCE_EXHAUSTED for whole messages) naming the field and the limit; the
 * client checks the same limits before sending where it can.
 */
#ifndef XC_LIMITS_H
#define XC_LIMITS_H

/* Largest request or response message, in bytes (gRPC receive limit). */
#define XC_MAX_MESSAGE_BYTES (4 * 1024 * 1024)

/* Page sizes of List calls: 0 means the default; larger values are clamped. */
#define XC_DEFAULT_PAGE_SIZE 50
#define XC_MAX_PAGE_SIZE 1000

/* Longest page token, in bytes (base64url text). */
#define XC_MAX_PAGE_TOKEN_BYTES 512

/* Longest record id, in bytes, including a NUL: ids are "<k>_" + 26 chars. */
#define XC_ID_MAX 64

/* Longest client request_id, in bytes. */
#define XC_MAX_REQUEST_ID_BYTES 128

/* Region codes have 2, 4, 6, 9 or 12 digits. */
#define XC_REGION_MAX_DIGITS 12

/* Short strings: names, titles, people, units, tags, dates, etags. */
#define XC_MAX_NAME_BYTES 256
/* Long text: descriptions, measures, basis, notes, summaries. */
#define XC_MAX_TEXT_BYTES 16384
/* Entries of any repeated field (members, tags, evidence, target ids, ...). */
#define XC_MAX_REPEATED 256

/* Longest certificate subject CN and serial we accept, in bytes. */
#define XC_MAX_CN_BYTES 128
#define XC_MAX_SERIAL_BYTES 80

/* Longest identity text "<cn>#<serial>" recorded as an author, with NUL. */
#define XC_AUTHOR_MAX (XC_MAX_CN_BYTES + 1 + XC_MAX_SERIAL_BYTES + 1)

/* Archive (server/ARCHIVE.md): bytes of one content chunk, in an upload or
 * download message and in storage; far below XC_MAX_MESSAGE_BYTES. */
#define XC_ARCHIVE_CHUNK_BYTES (256 * 1024)
/* Largest document accepted: 64 GiB. */
#define XC_ARCHIVE_MAX_BYTES (64LL * 1024 * 1024 * 1024)

/* Partial unpacks of stored records for the read checks (server/xc_rawrec.h):
 * the most fields one record type has decoded, the most occurrences of them
 * one record may hold, the field numbers looked up in a table rather than
 * by search, and the deepest sub-message checked. A record past any of these
 * is unpacked whole instead, never refused for it. */
#define XC_RAWREC_MAX_PICK_FIELDS 24
#define XC_RAWREC_MAX_PICKED (XC_MAX_REPEATED + 64)
#define XC_RAWREC_FIELD_TABLE 64
#define XC_RAWREC_MAX_DEPTH 16

#endif /* XC_LIMITS_H */
