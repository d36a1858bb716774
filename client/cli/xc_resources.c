/*
 * xc_resources.c: the field tables of the five resources and the generic
 * reading and writing of their fields through protobuf-c descriptors.
 */
#include "xc_resources.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_buf.h"
#include "xc_ops.h"
#include "xc_identity.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_text.h"
#include "xuncha/v1/archive.pb-c.h"
#include "xuncha/v1/xuncha.pb-c.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- tables */

#define XC__CU (XC_FA_CREATE | XC_FA_UPDATE)
#define XC__CUR (XC_FA_CREATE | XC_FA_UPDATE | XC_FA_REQUIRED)
#define XC__CR (XC_FA_CREATE | XC_FA_REQUIRED)

/* The output-only fields every record starts with, after id and region_code. */
#define XC__OUTPUT_FIELDS                                              \
  {"owner", "所属单位", XC_FT_STR, NULL, NULL, 0, NULL},               \
      {"etag", "版本标记", XC_FT_STR, NULL, NULL, 0, NULL},            \
      {"create_time_ms", "创建时间", XC_FT_TIME, NULL, NULL, 0, NULL}, \
      {"update_time_ms", "更新时间", XC_FT_TIME, NULL, NULL, 0, NULL}, \
      {"created_by", "创建人", XC_FT_STR, NULL, NULL, 0, NULL}, {      \
    "updated_by", "更新人", XC_FT_STR, NULL, NULL, 0, NULL             \
  }

/* The void fields every record ends with (作废, output only). */
#define XC__VOID_FIELDS                                        \
  {"voided", "已作废", XC_FT_BOOL, NULL, NULL, 0, NULL}, {     \
    "void_reason", "作废原因", XC_FT_STR, NULL, NULL, 0, NULL \
  }

#define XC__ID_FIELD \
  { "id", "编号", XC_FT_STR, NULL, NULL, 0, NULL }
/* region_code set by the client (targets, rounds) or derived by the server. */
#define XC__REGION_SET \
  { "region_code", "区划", XC_FT_STR, NULL, "region", XC__CR | XC_FA_REGION, "CODE" }
#define XC__REGION_OUT \
  { "region_code", "区划", XC_FT_STR, NULL, NULL, 0, NULL }

static const xc_field xc__target_fields[] = {
    XC__ID_FIELD,
    XC__REGION_SET,
    XC__OUTPUT_FIELDS,
    {"name", "名称", XC_FT_STR, NULL, "name", XC__CUR, "TEXT"},
    {"kind", "类别", XC_FT_ENUM, &xc_enum_target_kind, "kind", XC__CUR, "KIND"},
    {"party_secretary", "党组织书记", XC_FT_STR, NULL, "secretary", XC__CU, "NAME"},
    {"note", "备注", XC_FT_STR, NULL, "note", XC__CU | XC_FA_LONG, "TEXT"},
    XC__VOID_FIELDS,
};

static const xc_field xc__round_fields[] = {
    XC__ID_FIELD,
    XC__REGION_SET,
    XC__OUTPUT_FIELDS,
    {"term", "届次", XC_FT_INT32, NULL, "term", XC__CUR, "N"},
    {"number", "轮次", XC_FT_INT32, NULL, "number", XC__CUR, "N"},
    {"kind", "类别", XC_FT_ENUM, &xc_enum_round_kind, "kind", XC__CUR, "KIND"},
    {"title", "标题", XC_FT_STR, NULL, "title", XC__CUR, "TEXT"},
    {"stage", "阶段", XC_FT_ENUM, &xc_enum_round_stage, NULL, 0, NULL},
    {"stage_dates", "阶段日期", XC_FT_STAGES, NULL, NULL, 0, NULL},
    {"start_date", "开始日期", XC_FT_STR, NULL, "start-date", XC__CU | XC_FA_DATE, "DATE"},
    {"end_date", "结束日期", XC_FT_STR, NULL, "end-date", XC__CU | XC_FA_DATE, "DATE"},
    {"target_ids", "被巡察单位", XC_FT_STRS, NULL, "target", XC__CU, "ID"},
    {"note", "备注", XC_FT_STR, NULL, "note", XC__CU | XC_FA_LONG, "TEXT"},
    XC__VOID_FIELDS,
};

static const xc_field xc__group_fields[] = {
    XC__ID_FIELD,
    XC__REGION_OUT,
    XC__OUTPUT_FIELDS,
    {"round_id", "巡察轮次", XC_FT_STR, NULL, "round", XC__CR, "ID"},
    {"name", "名称", XC_FT_STR, NULL, "name", XC__CUR, "TEXT"},
    {"leader", "组长", XC_FT_STR, NULL, "leader", XC__CU, "NAME"},
    {"members", "组员", XC_FT_STRS, NULL, "member", XC__CU, "NAME"},
    {"target_ids", "被巡察单位", XC_FT_STRS, NULL, "target", XC__CU, "ID"},
    {"recusals", "回避", XC_FT_RECUSALS, NULL, "recusal", XC__CU, "MEMBER:TARGET:REASON"},
    {"assignments", "分工", XC_FT_ASSIGNMENTS, NULL, "assign", XC__CU, "MEMBER:TARGET"},
    {"inspector_ids", "人才库成员", XC_FT_STRS, NULL, "inspector", XC__CU, "ID"},
    XC__VOID_FIELDS,
};

static const xc_field xc__finding_fields[] = {
    XC__ID_FIELD,
    XC__REGION_OUT,
    XC__OUTPUT_FIELDS,
    {"round_id", "巡察轮次", XC_FT_STR, NULL, "round", XC__CR, "ID"},
    {"target_id", "被巡察单位", XC_FT_STR, NULL, "target", XC__CR, "ID"},
    {"title", "问题", XC_FT_STR, NULL, "title", XC__CUR, "TEXT"},
    {"description", "问题描述", XC_FT_STR, NULL, "description", XC__CU | XC_FA_LONG, "TEXT"},
    {"area", "领域", XC_FT_ENUM, &xc_enum_finding_area, "area", XC__CUR, "AREA"},
    {"tags", "标签", XC_FT_STRS, NULL, "tag", XC__CU, "TAG"},
    {"basis", "定性依据", XC_FT_STR, NULL, "basis", XC__CU | XC_FA_LONG, "TEXT"},
    {"evidence", "证据", XC_FT_STRS, NULL, "evidence", XC__CU, "REF"},
    {"found_by", "发现人", XC_FT_STR, NULL, "found-by", XC__CU, "NAME"},
    {"found_date", "发现日期", XC_FT_STR, NULL, "found-date", XC__CU | XC_FA_DATE, "DATE"},
    {"rectification.mode", "整改方式", XC_FT_ENUM, &xc_enum_rectification_mode, "mode", XC__CU,
     "MODE"},
    {"rectification.responsible_leader", "整改责任领导", XC_FT_STR, NULL, "leader", XC__CU, "NAME"},
    {"rectification.responsible_department", "责任部门", XC_FT_STR, NULL, "department", XC__CU,
     "TEXT"},
    {"rectification.measures", "整改措施", XC_FT_STR, NULL, "measures", XC__CU | XC_FA_LONG,
     "TEXT"},
    {"rectification.deadline", "整改期限", XC_FT_STR, NULL, "deadline", XC__CU | XC_FA_DATE,
     "DATE"},
    {"rectification.status", "整改状态", XC_FT_ENUM, &xc_enum_rectification_status, NULL, 0, NULL},
    {"flags.overdue", "拖延（逾期未完成）", XC_FT_BOOL, NULL, NULL, 0, NULL},
    {"flags.paper_only", "文件整改（无佐证）", XC_FT_BOOL, NULL, NULL, 0, NULL},
    {"flags.stalled", "半截式（停滞）", XC_FT_BOOL, NULL, NULL, 0, NULL},
    {"flags.reopened", "销号后撤销", XC_FT_BOOL, NULL, NULL, 0, NULL},
    {"flags.days_to_deadline", "距期限天数", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"track.entries", "进展条数", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"track.evidence_entries", "有佐证条数", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"track.last_entry_date", "最近进展日期", XC_FT_STR, NULL, NULL, 0, NULL},
    {"track.done_date", "完成日期", XC_FT_STR, NULL, NULL, 0, NULL},
    {"track.verified_date", "销号日期", XC_FT_STR, NULL, NULL, 0, NULL},
    {"track.revocations", "撤销销号次数", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"track.work_remains", "销号后仍有未完成", XC_FT_BOOL, NULL, NULL, 0, NULL},
    XC__VOID_FIELDS,
};

static const xc_field xc__lead_fields[] = {
    XC__ID_FIELD,
    XC__REGION_OUT,
    XC__OUTPUT_FIELDS,
    {"round_id", "巡察轮次", XC_FT_STR, NULL, "round", XC__CR, "ID"},
    {"target_id", "被巡察单位", XC_FT_STR, NULL, "target", XC__CR, "ID"},
    {"finding_id", "来源问题", XC_FT_STR, NULL, "finding", XC__CU, "ID"},
    {"category", "线索类别", XC_FT_ENUM, &xc_enum_lead_category, "category", XC__CUR, "CATEGORY"},
    {"recipient", "接收单位", XC_FT_STR, NULL, "recipient", XC__CU, "agency:CODE:UNIT"},
    {"summary", "线索摘要", XC_FT_STR, NULL, "summary", XC__CUR | XC_FA_LONG, "TEXT"},
    {"persons", "涉及人员", XC_FT_PERSONS, NULL, "person", XC__CU, "NAME[:POSITION]"},
    {"transfer_date", "移交日期", XC_FT_STR, NULL, "transfer-date", XC__CU | XC_FA_DATE, "DATE"},
    {"disposal", "处置", XC_FT_ENUM, &xc_enum_lead_disposal, NULL, 0, NULL},
    {"disposal_date", "处置日期", XC_FT_STR, NULL, NULL, 0, NULL},
    {"outcomes.party_sanctions", "党纪处分（人）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.government_sanctions", "政务处分（人）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.organizational_handling", "组织处理（人）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.judicial_transfers", "移送司法机关（人）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.sanctioned_persons", "党纪政务处分（人，去重）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.handled_persons", "组织处理（人，去重）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"outcomes.judicial_persons", "移送司法机关（人，去重）", XC_FT_INT32, NULL, NULL, 0, NULL},
    {"report_due_date", "反馈期限", XC_FT_STR, NULL, NULL, 0, NULL},
    {"report_overdue", "逾期未反馈", XC_FT_BOOL, NULL, NULL, 0, NULL},
    XC__VOID_FIELDS,
};

static const xc_field xc__directory_fields[] = {
    XC__ID_FIELD,
    XC__REGION_SET,
    XC__OUTPUT_FIELDS,
    {"name", "名称", XC_FT_STR, NULL, "name", XC__CUR, "TEXT"},
    {"kind", "类别", XC_FT_ENUM, &xc_enum_directory_kind, "kind", XC__CUR, "KIND"},
    {"identity", "证书身份", XC_FT_STR, NULL, "identity", XC__CR, "agency:CODE:UNIT"},
    {"note", "备注", XC_FT_STR, NULL, "note", XC__CU | XC_FA_LONG, "TEXT"},
    XC__VOID_FIELDS,
};

/* 巡察人才库 (server/ARCHIVE.md); `xuncha pool add|get|list|update` too. */
static const xc_field xc__inspector_fields[] = {
    XC__ID_FIELD,
    XC__REGION_OUT,
    XC__OUTPUT_FIELDS,
    {"name", "姓名", XC_FT_STR, NULL, "name", XC__CUR, "NAME"},
    {"unit", "工作单位", XC_FT_STR, NULL, "unit", XC__CU, "TEXT"},
    {"position", "职务", XC_FT_STR, NULL, "position", XC__CU, "TEXT"},
    {"specialties", "专长", XC_FT_STRS, NULL, "specialty", XC__CU, "SPECIALTY"},
    {"work_history", "工作经历", XC_FT_WORK, NULL, "work", XC__CU, "UNIT_OR_TARGET:FROM[:TO]"},
    {"relationships", "利害关系", XC_FT_RELATIONS, NULL, "relation", XC__CU, "TARGET:RELATION"},
    {"note", "备注", XC_FT_STR, NULL, "note", XC__CU | XC_FA_LONG, "TEXT"},
    XC__VOID_FIELDS,
};

#define XC__PREFIX_FILTER                                      \
  {                                                            \
    "region-prefix", "region_prefix", XC_FT_STR, NULL, "CODE", \
        "records whose region code starts with CODE"           \
  }

static const xc_filter xc__target_filters[] = {
    XC__PREFIX_FILTER,
    {"kind", "kind", XC_FT_ENUM, &xc_enum_target_kind, "KIND", "units of this kind"},
    {"name", "name_contains", XC_FT_STR, NULL, "TEXT", "names containing TEXT"},
};
static const xc_filter xc__round_filters[] = {
    XC__PREFIX_FILTER,
    {"term", "term", XC_FT_INT32, NULL, "N", "rounds of this term (届次)"},
    {"kind", "kind", XC_FT_ENUM, &xc_enum_round_kind, "KIND", "rounds of this kind"},
    {"stage", "stage", XC_FT_ENUM, &xc_enum_round_stage, "STAGE", "rounds at this stage"},
    {"target", "target_id", XC_FT_STR, NULL, "ID", "rounds that inspect this target"},
    {"title", "title_contains", XC_FT_STR, NULL, "TEXT", "titles containing TEXT"},
};
static const xc_filter xc__group_filters[] = {
    XC__PREFIX_FILTER,
    {"round", "round_id", XC_FT_STR, NULL, "ID", "groups of this round"},
    {"target", "target_id", XC_FT_STR, NULL, "ID", "groups assigned this target"},
};
static const xc_filter xc__finding_filters[] = {
    XC__PREFIX_FILTER,
    {"round", "round_id", XC_FT_STR, NULL, "ID", "findings of this round"},
    {"target", "target_id", XC_FT_STR, NULL, "ID", "findings at this target"},
    {"status", "status", XC_FT_ENUM, &xc_enum_rectification_status, "STATUS",
     "findings with this rectification status"},
    {"area", "area", XC_FT_ENUM, &xc_enum_finding_area, "AREA", "findings in this area"},
};
static const xc_filter xc__directory_filters[] = {
    XC__PREFIX_FILTER,
    {"kind", "kind", XC_FT_ENUM, &xc_enum_directory_kind, "KIND", "units of this kind"},
    {"name", "name_contains", XC_FT_STR, NULL, "TEXT", "names containing TEXT"},
};
static const xc_filter xc__inspector_filters[] = {
    XC__PREFIX_FILTER,
    {"specialty", "specialty", XC_FT_STR, NULL, "SPECIALTY", "inspectors with this specialty"},
};
static const xc_filter xc__lead_filters[] = {
    XC__PREFIX_FILTER,
    {"round", "round_id", XC_FT_STR, NULL, "ID", "leads of this round"},
    {"target", "target_id", XC_FT_STR, NULL, "ID", "leads about this target"},
    {"disposal", "disposal", XC_FT_ENUM, &xc_enum_lead_disposal, "DISPOSAL",
     "leads with this disposal"},
    {"recipient", "recipient", XC_FT_STR, NULL, "agency:CODE:UNIT", "leads sent to this agency"},
};

/* Ids are "<k>_" and 26 characters: their columns never cut them. */
#define XC__ID_COL \
  { "id", "编号", 32 }
static const xc_col xc__target_cols[] = {
    XC__ID_COL,           {"region_code", "区划", 12},           {"name", "名称", 30},
    {"kind", "类别", 12}, {"party_secretary", "党组织书记", 12},
};
static const xc_col xc__round_cols[] = {
    XC__ID_COL,           {"region_code", "区划", 12}, {"term", "届次", 4},  {"number", "轮次", 4},
    {"kind", "类别", 10}, {"title", "标题", 30},       {"stage", "阶段", 8},
};
static const xc_col xc__group_cols[] = {
    XC__ID_COL,
    {"round_id", "巡察轮次", 32},
    {"name", "名称", 20},
    {"leader", "组长", 10},
    {"members", "组员", 24},
};
static const xc_col xc__finding_cols[] = {
    XC__ID_COL,
    {"region_code", "区划", 12},
    {"target_id", "被巡察单位", 32},
    {"title", "问题", 30},
    {"area", "领域", 8},
    {"rectification.deadline", "整改期限", 10},
    {"rectification.status", "整改状态", 12},
};
static const xc_col xc__directory_cols[] = {
    XC__ID_COL,
    {"region_code", "区划", 12},
    {"name", "名称", 24},
    {"kind", "类别", 14},
    {"identity", "证书身份", 24},
};
static const xc_col xc__inspector_cols[] = {
    XC__ID_COL,           {"region_code", "区划", 12}, {"name", "姓名", 12},
    {"unit", "工作单位", 20}, {"specialties", "专长", 24},
};
static const xc_col xc__lead_cols[] = {
    XC__ID_COL,
    {"region_code", "区划", 12},
    {"target_id", "被巡察单位", 32},
    {"category", "类别", 12},
    {"summary", "线索", 30},
    {"recipient", "接收单位", 20},
    {"disposal", "处置", 12},
};

#define XC__RESOURCE(nm, zh_, rec, one, many, svc, Cap, Caps, cap, caps)                   \
  {                                                                                        \
    nm, zh_, &xuncha__v1__##rec##__descriptor, one, many, "/xuncha.v1." svc "/Create" Cap, \
        "/xuncha.v1." svc "/Get" Cap, "/xuncha.v1." svc "/List" Caps,                      \
        "/xuncha.v1." svc "/Update" Cap, &xuncha__v1__create_##cap##_request__descriptor,  \
        &xuncha__v1__get_##cap##_request__descriptor,                                      \
        &xuncha__v1__list_##caps##_request__descriptor,                                    \
        &xuncha__v1__list_##caps##_response__descriptor,                                   \
        &xuncha__v1__update_##cap##_request__descriptor, xc__##rec##_fields,               \
        XC__N(xc__##rec##_fields), xc__##rec##_filters, XC__N(xc__##rec##_filters),        \
        xc__##rec##_cols, XC__N(xc__##rec##_cols)                                          \
  }

const xc_resource xc_resources[] = {
    XC__RESOURCE("target", "被巡察单位", target, "target", "targets", "Targets", "Target",
                 "Targets", target, targets),
    XC__RESOURCE("round", "巡察轮次", round, "round", "rounds", "Rounds", "Round", "Rounds", round,
                 rounds),
    XC__RESOURCE("group", "巡察组", group, "group", "groups", "Rounds", "Group", "Groups", group,
                 groups),
    XC__RESOURCE("finding", "问题", finding, "finding", "findings", "Findings", "Finding",
                 "Findings", finding, findings),
    XC__RESOURCE("lead", "问题线索", lead, "lead", "leads", "Leads", "Lead", "Leads", lead, leads),
    {"directory", "巡察机构与有关单位", &xuncha__v1__directory_entry__descriptor, "entry", "entries",
     "/xuncha.v1.Directory/CreateDirectoryEntry", "/xuncha.v1.Directory/GetDirectoryEntry",
     "/xuncha.v1.Directory/ListDirectoryEntries", "/xuncha.v1.Directory/UpdateDirectoryEntry",
     &xuncha__v1__create_directory_entry_request__descriptor,
     &xuncha__v1__get_directory_entry_request__descriptor,
     &xuncha__v1__list_directory_entries_request__descriptor,
     &xuncha__v1__list_directory_entries_response__descriptor,
     &xuncha__v1__update_directory_entry_request__descriptor, xc__directory_fields,
     XC__N(xc__directory_fields), xc__directory_filters, XC__N(xc__directory_filters),
     xc__directory_cols, XC__N(xc__directory_cols)},
    XC__RESOURCE("inspector", "巡察人才库", inspector, "inspector", "inspectors", "Pool",
                 "Inspector", "Inspectors", inspector, inspectors),
};
const size_t xc_n_resources = XC__N(xc_resources);

const xc_resource *xc_resource_find(const char *name) {
  for (size_t i = 0; i < xc_n_resources; i++)
    if (strcmp(xc_resources[i].name, name) == 0) return &xc_resources[i];
  return NULL;
}

const xc_field *xc_resource_field_by_flag(const xc_resource *r, const char *flag) {
  for (size_t i = 0; i < r->n_fields; i++)
    if (r->fields[i].flag != NULL && strcmp(r->fields[i].flag, flag) == 0) return &r->fields[i];
  return NULL;
}

const xc_field *xc_resource_field_by_path(const xc_resource *r, const char *path) {
  for (size_t i = 0; i < r->n_fields; i++)
    if (strcmp(r->fields[i].path, path) == 0) return &r->fields[i];
  return NULL;
}

const xc_filter *xc_resource_filter(const xc_resource *r, const char *flag) {
  for (size_t i = 0; i < r->n_filters; i++)
    if (strcmp(r->filters[i].flag, flag) == 0) return &r->filters[i];
  return NULL;
}

/* ---------------------------------------------------------------- reflection */

/* Longest field path component we look up. */
#define XC__NAME_MAX 64

/*
 * Walks path in msg to the message holding its last component. Sub-messages
 * on the way are created when `create` (and msg is writable); otherwise an
 * absent one makes *holder NULL, which reads as the field's default. Returns
 * the last component's descriptor, or NULL if the path is wrong (a bug in the
 * tables) or memory ran out.
 */
static const ProtobufCFieldDescriptor *xc__walk(const ProtobufCMessage *msg, const char *path,
                                                int create, const ProtobufCMessage **holder) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  const ProtobufCMessage *cur = msg;
  for (;;) {
    const char *dot = strchr(path, '.');
    char name[XC__NAME_MAX];
    const ProtobufCFieldDescriptor *f;
    size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof name) return NULL;
    memcpy(name, path, n);
    name[n] = '\0';
    f = protobuf_c_message_descriptor_get_field_by_name(d, name);
    if (f == NULL) return NULL;
    if (dot == NULL) {
      *holder = cur;
      return f;
    }
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) return NULL;
    d = f->descriptor;
    if (cur != NULL) {
      ProtobufCMessage **slot = (ProtobufCMessage **)((char *)(uintptr_t)cur + f->offset);
      if (*slot == NULL && create) {
        *slot = xc_msg_new(d);
        if (*slot == NULL) return NULL;
      }
      cur = *slot;
    }
    path = dot + 1;
  }
}

/* Returns the address of field f in holder. */
static void *xc__slot(const ProtobufCMessage *holder, const ProtobufCFieldDescriptor *f) {
  return (char *)(uintptr_t)holder + f->offset;
}

/* Returns the entry count of repeated field f in holder. */
static size_t *xc__count(const ProtobufCMessage *holder, const ProtobufCFieldDescriptor *f) {
  return (size_t *)(void *)((char *)(uintptr_t)holder + f->quantifier_offset);
}

/* Replaces the string at slot with a copy of value. */
static int xc__set_string(char **slot, const ProtobufCFieldDescriptor *f, const char *value) {
  size_t n = strlen(value);
  char *copy = malloc(n + 1);
  if (copy == NULL) return XC_ERESOURCE_EXHAUSTED;
  memcpy(copy, value, n + 1);
  /* The default string is static: only what was allocated is freed. */
  if (*slot != NULL && *slot != (const char *)f->default_value && *slot != protobuf_c_empty_string)
    free(*slot);
  *slot = copy;
  return XC_OK;
}

/* Appends one pointer (a string or a sub-message) to repeated field f. */
static int xc__append(const ProtobufCMessage *holder, const ProtobufCFieldDescriptor *f, void *elem,
                      const char *flag, xc_err *err) {
  size_t *count = xc__count(holder, f);
  void ***arr = xc__slot(holder, f);
  void **grown;
  if (*count >= XC_MAX_REPEATED)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s is given more than %d times", flag,
                      XC_MAX_REPEATED);
  grown = realloc(*arr, (*count + 1) * sizeof *grown);
  if (grown == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  grown[*count] = elem;
  *arr = grown;
  (*count)++;
  return XC_OK;
}

int xc_msg_add_str(ProtobufCMessage *msg, const char *name, const char *value) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
  size_t n = strlen(value);
  char *copy;
  int rc;
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label != PROTOBUF_C_LABEL_REPEATED)
    return XC_EINTERNAL;
  copy = malloc(n + 1);
  if (copy == NULL) return XC_ERESOURCE_EXHAUSTED;
  memcpy(copy, value, n + 1);
  rc = xc__append(msg, f, copy, name, NULL);
  if (rc != XC_OK) free(copy);
  return rc;
}

void xc_field_clear(const xc_field *f, ProtobufCMessage *rec) {
  const ProtobufCMessage *holder = NULL;
  const ProtobufCFieldDescriptor *fd = xc__walk(rec, f->path, 0, &holder);
  size_t *count;
  void ***arr;
  if (fd == NULL || holder == NULL || fd->label != PROTOBUF_C_LABEL_REPEATED) return;
  count = xc__count(holder, fd);
  arr = xc__slot(holder, fd);
  for (size_t i = 0; i < *count; i++) {
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
      protobuf_c_message_free_unpacked((*arr)[i], NULL);
    else
      free((*arr)[i]);
  }
  free(*arr);
  *arr = NULL;
  *count = 0;
}

/* Checks a text value: valid UTF-8 and within the field's byte limit. */
static int xc__check_text(const char *value, const char *flag, size_t limit, xc_err *err) {
  size_t n = strlen(value);
  if (!xc_utf8_valid(value, n))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--%s is not valid UTF-8 text (check the terminal's encoding)", flag);
  if (n > limit)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s is %zu bytes; the limit is %zu", flag, n,
                      limit);
  return XC_OK;
}

/*
 * Builds a sub-message of descriptor d from "A:B[:C]" text split at the
 * first (n_parts - 1) colons into the string fields names[]. The first
 * `n_required` parts must be non-empty.
 */
static int xc__parse_parts(const char *value, const ProtobufCMessageDescriptor *d,
                           const char *const *names, size_t n_parts, size_t n_required,
                           const char *flag, const char *meta, ProtobufCMessage **out,
                           xc_err *err) {
  ProtobufCMessage *m = xc_msg_new(d);
  const char *p = value;
  size_t seen = 0;
  int rc = XC_OK;
  *out = NULL;
  if (m == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n_parts; i++) {
    const char *colon = i + 1 < n_parts ? strchr(p, ':') : NULL;
    size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(d, names[i]);
    char *part;
    if (i < n_required && n == 0) {
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s' does not have the form %s", flag, value,
                      meta);
      goto done;
    }
    if (f == NULL) {
      rc = xc_err_set(err, XC_EINTERNAL, "no field %s in %s", names[i], d->name);
      goto done;
    }
    /* value was checked against XC_MAX_TEXT_BYTES, so n is bounded. */
    part = malloc(n + 1);
    if (part == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    memcpy(part, p, n);
    part[n] = '\0';
    rc = xc__set_string(xc__slot(m, f), f, part);
    free(part);
    if (rc != XC_OK) {
      rc = xc_err_set(err, rc, "out of memory");
      goto done;
    }
    seen++;
    if (colon == NULL) break;
    p = colon + 1;
  }
  if (seen < n_required) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s' does not have the form %s", flag, value,
                    meta);
    goto done;
  }
  *out = m;
  m = NULL;
done:
  if (m != NULL) protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

int xc_field_apply(const xc_field *f, ProtobufCMessage *rec, const char *value, xc_err *err) {
  const ProtobufCMessage *holder = NULL;
  const ProtobufCFieldDescriptor *fd = xc__walk(rec, f->path, 1, &holder);
  const char *flag = f->flag != NULL ? f->flag : f->path;
  int rc;
  if (fd == NULL || holder == NULL)
    return xc_err_set(err, XC_EINTERNAL, "cannot set %s (no such field, or out of memory)",
                      f->path);
  switch (f->type) {
    case XC_FT_STR: {
      rc = xc__check_text(value, flag,
                          f->attrs & XC_FA_LONG ? XC_MAX_TEXT_BYTES : XC_MAX_NAME_BYTES, err);
      if (rc != XC_OK) return rc;
      if ((f->attrs & XC_FA_DATE) && !xc_date_valid(value))
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s' is not a date written YYYY-MM-DD",
                          flag, value);
      if ((f->attrs & XC_FA_REGION) && !xc_region_code_valid(value))
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "--%s '%s' is not a region code (2, 4, 6, 9 or 12 digits, e.g. "
                          "310104)",
                          flag, value);
      if (xc__set_string(xc__slot(holder, fd), fd, value) != XC_OK)
        return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      return XC_OK;
    }
    case XC_FT_INT32: {
      long long v;
      if (xc_parse_int64(value, 1, INT32_MAX, &v) != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s' is not a whole number from 1 to %d",
                          flag, value, INT32_MAX);
      *(int32_t *)xc__slot(holder, fd) = (int32_t)v;
      return XC_OK;
    }
    case XC_FT_ENUM: {
      int v;
      xc_err e;
      if (xc_enum_parse(f->enums, value, &v, &e) != XC_OK)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s: %s", flag, e.msg);
      *(int *)xc__slot(holder, fd) = v;
      return XC_OK;
    }
    case XC_FT_STRS: {
      char *copy;
      size_t n = strlen(value);
      rc = xc__check_text(value, flag, XC_MAX_NAME_BYTES, err);
      if (rc != XC_OK) return rc;
      if (n == 0) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s needs a value", flag);
      copy = malloc(n + 1);
      if (copy == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      memcpy(copy, value, n + 1);
      rc = xc__append(holder, fd, copy, flag, err);
      if (rc != XC_OK) free(copy);
      return rc;
    }
    case XC_FT_RECUSALS:
    case XC_FT_ASSIGNMENTS:
    case XC_FT_PERSONS: {
      static const char *const recusal[] = {"member", "target_id", "reason"};
      static const char *const person[] = {"name", "position"};
      int is_recusal = f->type == XC_FT_RECUSALS;
      int is_assign = f->type == XC_FT_ASSIGNMENTS;
      ProtobufCMessage *m = NULL;
      rc = xc__check_text(value, flag, XC_MAX_TEXT_BYTES, err);
      if (rc != XC_OK) return rc;
      if (is_assign)
        rc = xc__parse_parts(value, fd->descriptor, recusal, 2, 2, flag, f->meta, &m, err);
      else
        rc = xc__parse_parts(value, fd->descriptor, is_recusal ? recusal : person,
                             is_recusal ? 3 : 2, is_recusal ? 2 : 1, flag, f->meta, &m, err);
      if (rc != XC_OK) return rc;
      rc = xc__append(holder, fd, m, flag, err);
      if (rc != XC_OK) protobuf_c_message_free_unpacked(m, NULL);
      return rc;
    }
    case XC_FT_WORK:
    case XC_FT_RELATIONS: {
      static const char *const work[] = {"unit", "from_date", "to_date"};
      static const char *const rel[] = {"target_id", "relation"};
      ProtobufCMessage *m = NULL;
      rc = xc__check_text(value, flag, XC_MAX_TEXT_BYTES, err);
      if (rc != XC_OK) return rc;
      if (f->type == XC_FT_WORK)
        rc = xc__parse_parts(value, fd->descriptor, work, 3, 2, flag, f->meta, &m, err);
      else
        rc = xc__parse_parts(value, fd->descriptor, rel, 2, 2, flag, f->meta, &m, err);
      if (rc != XC_OK) return rc;
      if (f->type == XC_FT_WORK) {
        /* A target id names the unit as a target: conflicts match on it. */
        Xuncha__V1__WorkPeriod *w = (Xuncha__V1__WorkPeriod *)m;
        if (strlen(w->unit) == 28 && strncmp(w->unit, "t_", 2) == 0) {
          char *tid = w->target_id;
          w->target_id = w->unit;
          w->unit = tid;
        }
        if ((w->from_date[0] != '\0' && !xc_date_valid(w->from_date)) ||
            (w->to_date[0] != '\0' && !xc_date_valid(w->to_date))) {
          protobuf_c_message_free_unpacked(m, NULL);
          return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s': dates are YYYY-MM-DD", flag,
                            value);
        }
      }
      rc = xc__append(holder, fd, m, flag, err);
      if (rc != XC_OK) protobuf_c_message_free_unpacked(m, NULL);
      return rc;
    }
    case XC_FT_TIME:
    case XC_FT_STAGES:
    case XC_FT_BOOL:
    case XC_FT_INT64:
      break;
  }
  return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s is set by the server, not by a flag", f->path);
}

int xc_filter_apply(const xc_filter *flt, ProtobufCMessage *req, const char *value, xc_err *err) {
  const ProtobufCFieldDescriptor *fd =
      protobuf_c_message_descriptor_get_field_by_name(req->descriptor, flt->field);
  if (fd == NULL) return xc_err_set(err, XC_EINTERNAL, "no filter field %s", flt->field);
  switch (flt->type) {
    case XC_FT_INT32: {
      long long v;
      if (xc_parse_int64(value, 1, INT32_MAX, &v) != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s '%s' is not a whole number from 1 to %d",
                          flt->flag, value, INT32_MAX);
      *(int32_t *)xc__slot(req, fd) = (int32_t)v;
      return XC_OK;
    }
    case XC_FT_ENUM: {
      int v;
      xc_err e;
      if (xc_enum_parse(flt->enums, value, &v, &e) != XC_OK)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s: %s", flt->flag, e.msg);
      *(int *)xc__slot(req, fd) = v;
      return XC_OK;
    }
    default: {
      int rc = xc__check_text(value, flt->flag, XC_MAX_NAME_BYTES, err);
      if (rc != XC_OK) return rc;
      if (strcmp(flt->field, "region_prefix") == 0 && !xc_all_digits(value, XC_REGION_MAX_DIGITS))
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "--%s '%s' is not a region code prefix (up to %d digits)", flt->flag,
                          value, XC_REGION_MAX_DIGITS);
      if (xc__set_string(xc__slot(req, fd), fd, value) != XC_OK)
        return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      return XC_OK;
    }
  }
}

/* ---------------------------------------------------------------- text */

void xc_format_time(long long ms, char *buf, size_t size) {
  /* China Standard Time is UTC+8 all year: no time zone database needed. */
  time_t t;
  struct tm tm;
  if (ms == 0 || ms < -((long long)1 << 52) || ms > ((long long)1 << 52)) {
    (void)snprintf(buf, size, "%s", ms == 0 ? "" : "?");
    return;
  }
  t = (time_t)(ms / 1000) + 8 * 3600;
  if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    (void)snprintf(buf, size, "%lld", ms);
}

/* Appends an enum value: the Chinese term or the proto name by style. */
static void xc__enum_text(xc_buf *b, const xc_enum_table *t, int v, xc_style style) {
  const char *s;
  if (style == XC_STYLE_CSV) {
    s = xc_enum_proto_name(t, v);
    if (s != NULL)
      xc_buf_add(b, s);
    else
      xc_buf_addf(b, "%d", v);
    return;
  }
  if (v == 0) return; /* unset reads as empty, not as "UNSPECIFIED" */
  if (xc_lang_get() == XC_LANG_EN) {
    char en[64];
    xc_lang_enum_en(t, v, en, sizeof en);
    xc_buf_add(b, en);
    return;
  }
  s = xc_enum_zh(t, v);
  if (s != NULL)
    xc_buf_add(b, s);
  else
    xc_buf_addf(b, "未知(%d)", v);
}

/* Returns the string field `name` of m ("" when unset). */
static const char *xc__str(const ProtobufCMessage *m, const char *name) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
  const char *s;
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING) return "";
  s = *(char *const *)xc__slot(m, f);
  return s != NULL ? s : "";
}

char *xc_field_text(const xc_field *f, const ProtobufCMessage *rec, xc_style style) {
  const ProtobufCMessage *holder = NULL;
  const ProtobufCFieldDescriptor *fd = xc__walk(rec, f->path, 0, &holder);
  const char *sep = style == XC_STYLE_CSV ? ";" : "、";
  xc_buf b = XC_BUF_INIT;
  size_t count = 0;
  void *const *arr = NULL;

  if (fd == NULL) return NULL;
  if (fd->label == PROTOBUF_C_LABEL_REPEATED && holder != NULL) {
    count = *xc__count(holder, fd);
    arr = *(void *const *const *)xc__slot(holder, fd);
  }
  switch (f->type) {
    case XC_FT_STR:
      if (holder != NULL) {
        const char *s = *(char *const *)xc__slot(holder, fd);
        xc_buf_add(&b, s != NULL ? s : "");
      }
      break;
    case XC_FT_INT32: {
      int32_t v = holder != NULL ? *(const int32_t *)xc__slot(holder, fd) : 0;
      if (v != 0 || style == XC_STYLE_CSV) xc_buf_addf(&b, "%d", (int)v);
      break;
    }
    case XC_FT_INT64: {
      long long v = holder != NULL ? (long long)*(const int64_t *)xc__slot(holder, fd) : 0;
      xc_buf_addf(&b, "%lld", v);
      break;
    }
    case XC_FT_TIME: {
      long long v = holder != NULL ? (long long)*(const int64_t *)xc__slot(holder, fd) : 0;
      char t[32];
      if (style == XC_STYLE_CSV) {
        xc_buf_addf(&b, "%lld", v);
      } else {
        xc_format_time(v, t, sizeof t);
        xc_buf_add(&b, t);
      }
      break;
    }
    case XC_FT_ENUM:
      xc__enum_text(&b, f->enums, holder != NULL ? *(const int *)xc__slot(holder, fd) : 0, style);
      break;
    case XC_FT_STRS:
      for (size_t i = 0; i < count; i++) {
        if (i > 0) xc_buf_add(&b, sep);
        xc_buf_add(&b, arr[i] != NULL ? (const char *)arr[i] : "");
      }
      break;
    case XC_FT_STAGES:
      for (size_t i = 0; i < count; i++) {
        const Xuncha__V1__StageDate *sd = arr[i];
        if (i > 0) xc_buf_add(&b, sep);
        xc__enum_text(&b, &xc_enum_round_stage, (int)sd->stage, style);
        xc_buf_add(&b, style == XC_STYLE_CSV ? ":" : " ");
        xc_buf_add(&b, sd->date != NULL ? sd->date : "");
      }
      break;
    case XC_FT_RECUSALS:
      for (size_t i = 0; i < count; i++) {
        const ProtobufCMessage *m = arr[i];
        const char *reason = xc__str(m, "reason");
        if (i > 0) xc_buf_add(&b, sep);
        if (style == XC_STYLE_CSV)
          xc_buf_addf(&b, "%s:%s:%s", xc__str(m, "member"), xc__str(m, "target_id"), reason);
        else
          xc_buf_addf(&b, "%s 回避 %s%s%s%s", xc__str(m, "member"), xc__str(m, "target_id"),
                      reason[0] != '\0' ? "（" : "", reason, reason[0] != '\0' ? "）" : "");
      }
      break;
    case XC_FT_BOOL: {
      protobuf_c_boolean v = holder != NULL ? *(const protobuf_c_boolean *)xc__slot(holder, fd) : 0;
      if (style == XC_STYLE_CSV)
        xc_buf_add(&b, v ? "true" : "false");
      else if (v)
        xc_buf_add(&b, "是");
      break;
    }
    case XC_FT_ASSIGNMENTS:
      for (size_t i = 0; i < count; i++) {
        const ProtobufCMessage *m = arr[i];
        if (i > 0) xc_buf_add(&b, sep);
        xc_buf_addf(&b, style == XC_STYLE_CSV ? "%s:%s" : "%s → %s", xc__str(m, "member"),
                    xc__str(m, "target_id"));
      }
      break;
    case XC_FT_WORK:
      for (size_t i = 0; i < count; i++) {
        const ProtobufCMessage *m = arr[i];
        const char *t = xc__str(m, "target_id");
        if (i > 0) xc_buf_add(&b, sep);
        xc_buf_addf(&b, style == XC_STYLE_CSV ? "%s:%s:%s" : "%s %s～%s",
                    t[0] != '\0' ? t : xc__str(m, "unit"), xc__str(m, "from_date"),
                    xc__str(m, "to_date"));
      }
      break;
    case XC_FT_RELATIONS:
      for (size_t i = 0; i < count; i++) {
        const ProtobufCMessage *m = arr[i];
        if (i > 0) xc_buf_add(&b, sep);
        xc_buf_addf(&b, style == XC_STYLE_CSV ? "%s:%s" : "%s（%s）", xc__str(m, "target_id"),
                    xc__str(m, "relation"));
      }
      break;
    case XC_FT_PERSONS:
      for (size_t i = 0; i < count; i++) {
        const ProtobufCMessage *m = arr[i];
        const char *pos = xc__str(m, "position");
        if (i > 0) xc_buf_add(&b, sep);
        if (style == XC_STYLE_CSV)
          xc_buf_addf(&b, "%s%s%s", xc__str(m, "name"), pos[0] != '\0' ? ":" : "", pos);
        else
          xc_buf_addf(&b, "%s%s%s%s", xc__str(m, "name"), pos[0] != '\0' ? "（" : "", pos,
                      pos[0] != '\0' ? "）" : "");
      }
      break;
  }
  return xc_buf_take(&b);
}
