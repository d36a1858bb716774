/*
 * xc_enums.h: the enums of xuncha.v1 in the words of their users.
 *
 * One table per proto enum maps each value to its English name (the proto
 * name without the enum's prefix) and to the Chinese terms of the proto
 * comments. The CLI accepts either language on input and shows the Chinese
 * term in tables and the full English name in JSON and CSV.
 *
 * Everything here is static, read-only data: nothing is allocated and every
 * returned string lives as long as the program.
 */
#ifndef XC_ENUMS_H
#define XC_ENUMS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_status.h"

/* Chinese terms accepted for one value; the first one is the one shown. */
#define XC_ENUM_MAX_ZH 4

typedef struct xc_enum_entry {
  int value;
  const char *name;               /* English, as in the proto after the prefix */
  const char *zh[XC_ENUM_MAX_ZH]; /* Chinese terms, NULL-padded; zh[0] shown */
} xc_enum_entry;

typedef struct xc_enum_table {
  const ProtobufCEnumDescriptor *desc;
  const char *prefix; /* "ROUND_KIND_", "" when the proto names have none */
  const char *what;   /* what the values are, for errors: "round kind (巡察方式)" */
  size_t n;
  const xc_enum_entry *entries; /* every value except UNSPECIFIED / UNKNOWN */
} xc_enum_table;

extern const xc_enum_table xc_enum_target_kind;
extern const xc_enum_table xc_enum_round_kind;
extern const xc_enum_table xc_enum_round_stage;
extern const xc_enum_table xc_enum_finding_area;
extern const xc_enum_table xc_enum_rectification_mode;
extern const xc_enum_table xc_enum_rectification_status;
extern const xc_enum_table xc_enum_lead_category;
extern const xc_enum_table xc_enum_lead_disposal;
extern const xc_enum_table xc_enum_serving_status;
extern const xc_enum_table xc_enum_directory_kind;
extern const xc_enum_table xc_enum_progress_step;
extern const xc_enum_table xc_enum_verification_action;
extern const xc_enum_table xc_enum_outcome_measure;
/* Archive (archive.proto). */
extern const xc_enum_table xc_enum_archive_stage;
extern const xc_enum_table xc_enum_document_kind;
extern const xc_enum_table xc_enum_hash_algorithm;

/* Every table above, for lookups by descriptor and for tests. */
extern const xc_enum_table *const xc_enum_tables[];
extern const size_t xc_enum_n_tables;

/*
 * Parses text as a value of t: an English name in any case, with or without
 * the prefix, with '-' or '_' ("follow-up", "ROUND_KIND_FOLLOW_UP"), or one of
 * the Chinese terms ("回头看"). On success stores the value in *value and
 * returns XC_OK; otherwise returns XC_EINVALID_ARGUMENT with err listing
 * every accepted value.
 */
int xc_enum_parse(const xc_enum_table *t, const char *text, int *value,
                  xc_err *err) XC_WARN_UNUSED_RESULT;

/* Returns the Chinese term shown for value, or NULL if t has no such value. */
const char *xc_enum_zh(const xc_enum_table *t, int value);

/*
 * Returns the full proto name of value ("ROUND_KIND_SPECIAL"), or NULL if
 * the descriptor has no such value.
 */
const char *xc_enum_proto_name(const xc_enum_table *t, int value);

/* Returns the table of an enum descriptor, or NULL if there is none. */
const xc_enum_table *xc_enum_for(const ProtobufCEnumDescriptor *desc);

/*
 * Writes the accepted values of t, "regular (常规巡察), special (专项巡察), …",
 * into buf (always terminated; cut if buf is too small).
 */
void xc_enum_describe(const xc_enum_table *t, char *buf, size_t size);

#endif /* XC_ENUMS_H */
