/*
 * xc_resources.h: the five record kinds of xuncha.v1 as the CLI sees them.
 *
 * Each resource lists every field of its record (in proto order, with the
 * fields of sub-messages as "rectification.mode" paths): its Chinese label,
 * its type, and the command-line flag that sets it, if any. The commands,
 * the table columns and the "字段: 值" blocks are all driven by these tables,
 * and the records are read and written through protobuf-c's descriptors, so
 * one generic path serves every resource.
 *
 * The tables are static, read-only data. Messages the functions below change
 * must have protobuf-c's unpacked ownership (every string and sub-message
 * malloc'd, freed with protobuf_c_message_free_unpacked).
 */
#ifndef XC_RESOURCES_H
#define XC_RESOURCES_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_enums.h"
#include "xc_status.h"

typedef enum xc_ftype {
  XC_FT_STR,      /* string */
  XC_FT_INT32,    /* int32, set from a number >= 1 */
  XC_FT_TIME,     /* int64 milliseconds since the epoch (output only) */
  XC_FT_ENUM,     /* enum, set by English or Chinese name */
  XC_FT_STRS,     /* repeated string: one flag per entry */
  XC_FT_STAGES,   /* repeated StageDate (output only) */
  XC_FT_RECUSALS, /* repeated Recusal: MEMBER:TARGET[:REASON] */
  XC_FT_PERSONS,  /* repeated Person: NAME[:POSITION] */
  XC_FT_BOOL,     /* bool (output only): 是 / empty */
  XC_FT_ASSIGNMENTS, /* repeated Assignment: MEMBER:TARGET */
  XC_FT_WORK,       /* repeated WorkPeriod: UNIT_OR_TARGET:FROM[:TO] */
  XC_FT_RELATIONS,  /* repeated Relationship: TARGET:RELATION */
  XC_FT_INT64       /* int64 count (output only): bytes */
} xc_ftype;

/* Attributes of a field, or'ed together. */
enum {
  XC_FA_CREATE = 1 << 0,   /* its flag is accepted by create */
  XC_FA_UPDATE = 1 << 1,   /* its flag is accepted by update */
  XC_FA_REQUIRED = 1 << 2, /* create needs it */
  XC_FA_DATE = 1 << 3,     /* a "YYYY-MM-DD" date */
  XC_FA_REGION = 1 << 4,   /* a region code */
  XC_FA_LONG = 1 << 5      /* long text (XC_MAX_TEXT_BYTES) rather than a name */
};

typedef struct xc_field {
  const char *path;  /* "name", "rectification.mode" */
  const char *label; /* Chinese label: "名称" */
  xc_ftype type;
  const xc_enum_table *enums; /* XC_FT_ENUM only */
  const char *flag;           /* "name" for --name; NULL for output-only fields */
  unsigned attrs;
  const char *meta; /* the value's placeholder in help: "TEXT", "ID", "DATE" */
} xc_field;

/* A filter flag of a list verb: sets a field of the List request. */
typedef struct xc_filter {
  const char *flag;  /* "region-prefix" */
  const char *field; /* "region_prefix" */
  xc_ftype type;     /* XC_FT_STR, XC_FT_INT32 or XC_FT_ENUM */
  const xc_enum_table *enums;
  const char *meta; /* the value's placeholder in help: "CODE", "ID", "TEXT" */
  const char *help;
} xc_filter;

/* A column of the list table. */
typedef struct xc_col {
  const char *path;   /* a field path of the record */
  const char *header; /* Chinese header */
  size_t max_width;   /* display columns; longer cells end in "…" */
} xc_col;

typedef struct xc_resource {
  const char *name; /* "target" */
  const char *zh;   /* "被巡察单位" */
  const ProtobufCMessageDescriptor *record;
  const char *record_field; /* the record's field in Create/Update requests: "target" */
  const char *items_field;  /* the records' field in the List response: "targets" */
  const char *create_method, *get_method, *list_method, *update_method;
  const ProtobufCMessageDescriptor *create_req, *get_req, *list_req, *list_resp, *update_req;
  const xc_field *fields;
  size_t n_fields;
  const xc_filter *filters;
  size_t n_filters;
  const xc_col *cols;
  size_t n_cols;
} xc_resource;

extern const xc_resource xc_resources[];
extern const size_t xc_n_resources;

/* Returns the resource called name ("target"), or NULL. */
const xc_resource *xc_resource_find(const char *name);

/* Returns the field of r whose flag is flag (without "--"), or NULL. */
const xc_field *xc_resource_field_by_flag(const xc_resource *r, const char *flag);

/* Returns the field of r at path, or NULL. */
const xc_field *xc_resource_field_by_path(const xc_resource *r, const char *path);

/* Returns the filter of r whose flag is flag, or NULL. */
const xc_filter *xc_resource_filter(const xc_resource *r, const char *flag);

/*
 * Checks value as the flag of f and sets it in rec: scalars are replaced,
 * repeated fields get one more entry. Sub-messages on the path are created
 * when absent. Returns XC_OK, XC_EINVALID_ARGUMENT with err naming the flag
 * and what is expected, or XC_ERESOURCE_EXHAUSTED.
 */
int xc_field_apply(const xc_field *f, ProtobufCMessage *rec, const char *value,
                   xc_err *err) XC_WARN_UNUSED_RESULT;

/* Empties the repeated field f of rec (before an update replaces the list). */
void xc_field_clear(const xc_field *f, ProtobufCMessage *rec);

/* How a field's value is written out. */
typedef enum xc_style {
  XC_STYLE_HUMAN, /* Chinese enum terms, local dates and times, lists with "、" */
  XC_STYLE_CSV    /* proto enum names, raw numbers, lists with ";" */
} xc_style;

/*
 * Returns the text of field f of rec in style as a new string (free() it),
 * "" when unset, or NULL when out of memory.
 */
char *xc_field_text(const xc_field *f, const ProtobufCMessage *rec, xc_style style);

/*
 * Checks value as a filter flag and sets it in the List request req. Returns
 * XC_OK or XC_EINVALID_ARGUMENT naming the flag.
 */
int xc_filter_apply(const xc_filter *flt, ProtobufCMessage *req, const char *value,
                    xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Appends a copy of value to the repeated string field `name` of msg.
 * Returns XC_OK, XC_EINTERNAL if there is no such field, or
 * XC_ERESOURCE_EXHAUSTED.
 */
int xc_msg_add_str(ProtobufCMessage *msg, const char *name,
                   const char *value) XC_WARN_UNUSED_RESULT;

/* Formats ms since the epoch as "YYYY-MM-DD HH:MM:SS" in China Standard Time. */
void xc_format_time(long long ms, char *buf, size_t size);

#endif /* XC_RESOURCES_H */
