/*
 * xc_msg.h: generic helpers over protobuf-c messages, by field name.
 *
 * Every message these helpers create or change follows protobuf-c's unpacked
 * ownership: each string and sub-message is heap memory owned by the message,
 * and the whole is released with protobuf_c_message_free_unpacked(msg, NULL)
 * (xc_msg_free). Never use them on a message whose strings point at static or
 * stack memory, except to read.
 */
#ifndef XC_MSG_H
#define XC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_status.h"

/* Frees a message with unpacked ownership. NULL is accepted. */
void xc_msg_free(void *msg);

/* Returns a new message of descriptor d with its defaults (free it with
 * xc_msg_free), or NULL when out of memory. */
ProtobufCMessage *xc_msg_new(const ProtobufCMessageDescriptor *d);

/*
 * Returns a deep copy of msg (by packing and unpacking it), or NULL when out
 * of memory. The caller frees it with xc_msg_free.
 */
ProtobufCMessage *xc_msg_clone(const ProtobufCMessage *msg);

/*
 * Returns a deep copy of msg made field by field (no packing: about half
 * the work of xc_msg_clone), or NULL when out of memory or msg is NULL.
 * msg is only read. The copy packs to the same bytes as msg and, like a
 * clone, has unpacked ownership (unset strings hold the field's default);
 * the caller frees it with xc_msg_free.
 */
ProtobufCMessage *xc_msg_copy(const ProtobufCMessage *msg);

/*
 * Packs msg into a new buffer with `prefix_len` bytes reserved in front
 * (left for the caller to fill). Returns the buffer (free() it) and sets
 * *len to prefix_len + packed size; NULL when out of memory.
 */
uint8_t *xc_msg_pack(const ProtobufCMessage *msg, size_t prefix_len, size_t *len);

/* Returns the string field `name` of msg, "" when unset; NULL if no such field. */
const char *xc_msg_get_str(const ProtobufCMessage *msg, const char *name);

/*
 * Replaces the string field `name` with a copy of value. Returns XC_OK,
 * XC_EINTERNAL if there is no such string field, or XC_ERESOURCE_EXHAUSTED
 * when out of memory.
 */
int xc_msg_set_str(ProtobufCMessage *msg, const char *name, const char *value)
    XC_WARN_UNUSED_RESULT;

/* Returns the int64/int32/enum field `name` of msg, 0 when there is none. */
int64_t xc_msg_get_int(const ProtobufCMessage *msg, const char *name);

/* Returns 1 if a and b pack to the same bytes (both NULL counts as the
 * same; one NULL, or running out of memory, as different). */
int xc_msg_same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* Returns the field `name` of messages of type d if it is a single (not
 * repeated) field of the given type, else NULL. For callers that look a
 * field up once per message type and then read it at its offset. */
const ProtobufCFieldDescriptor *xc_msg_single_field(const ProtobufCMessageDescriptor *d,
                                                    const char *name, ProtobufCType type);

/* Sets the int64, int32 or enum field `name`. Returns XC_OK or XC_EINTERNAL. */
int xc_msg_set_int(ProtobufCMessage *msg, const char *name, int64_t value)
    XC_WARN_UNUSED_RESULT;

/*
 * The path of a nested message, as a chain from the top ("finding", then
 * "rectification", ...), for error messages. Checks build it on the stack as
 * they descend and write it out only when a field fails, so a record that
 * passes costs no formatting.
 */
typedef struct xc_msg_path {
  const struct xc_msg_path *up;
  const char *name;
} xc_msg_path;

/* Writes p as "finding.rectification" into out (size bytes, at least 1),
 * cut to fit as snprintf would cut it. */
void xc_msg_path_text(const xc_msg_path *p, char *out, size_t size);

/*
 * Checks every string in msg (recursively, repeated fields included): valid
 * UTF-8 and at most max_len(field name) bytes, and every repeated field at most
 * max_repeated entries. On failure fills err with XC_EINVALID_ARGUMENT naming
 * the field path (e.g. "finding.rectification.measures") and returns it.
 * `path` is the name of msg itself in that message ("finding").
 */
typedef size_t (*xc_msg_len_limit_fn)(const char *field_name);
int xc_msg_check_strings(const ProtobufCMessage *msg, const char *path,
                         xc_msg_len_limit_fn max_len, size_t max_repeated, xc_err *err)
    XC_WARN_UNUSED_RESULT;

#endif /* XC_MSG_H */
