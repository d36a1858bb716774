/*
 * xc_enums.c: one table per enum of xuncha.v1, English <-> Chinese.
 *
 * The Chinese terms come from the proto comments and DOMAIN.md; the first
 * term of an entry is the one the CLI shows, the others are accepted as
 * input because operators write them that way (专项 for 专项巡察).
 */
#include "xc_enums.h"

#include <stdio.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "xc_text.h"
#include "xuncha/v1/archive.pb-c.h"
#include "xuncha/v1/xuncha.pb-c.h"

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))

static const xc_enum_entry xc__target_kind[] = {
    {1, "MUNICIPAL_DEPARTMENT", {"市直单位", "市直部门"}},
    {2, "KEY_ENTERPRISE", {"市属重点企业", "重点企业", "市属企业"}},
    {3, "TOWNSHIP", {"乡镇", "乡", "镇"}},
    {4, "STREET", {"街道"}},
    {5, "VILLAGE", {"村"}},
    {6, "COMMUNITY", {"社区"}},
    {7, "COUNTY_DEPARTMENT", {"区县直单位", "区直单位", "县直单位"}},
};
const xc_enum_table xc_enum_target_kind = {&xuncha__v1__target_kind__descriptor, "TARGET_KIND_",
                                           "target kind (单位类别)", XC__N(xc__target_kind),
                                           xc__target_kind};

static const xc_enum_entry xc__round_kind[] = {
    {1, "REGULAR", {"常规巡察", "常规"}},
    {2, "SPECIAL", {"专项巡察", "专项"}},
    {3, "MOBILE", {"机动巡察", "机动"}},
    {4, "ELEVATED", {"提级巡察", "提级"}},
    {5, "CROSS", {"交叉巡察", "交叉"}},
    {6, "FOLLOW_UP", {"回头看", "巡察\"回头看\"", "巡察“回头看”", "回头看巡察"}},
    {7, "EXTENDED", {"延伸巡察", "延伸", "巡乡带村"}},
};
const xc_enum_table xc_enum_round_kind = {&xuncha__v1__round_kind__descriptor, "ROUND_KIND_",
                                          "round kind (巡察方式)", XC__N(xc__round_kind),
                                          xc__round_kind};

static const xc_enum_entry xc__round_stage[] = {
    {1, "PREPARATION", {"准备"}},
    {2, "ON_SITE", {"进驻了解", "进驻", "了解"}},
    {3, "REPORT", {"报告"}},
    {4, "FEEDBACK", {"反馈"}},
    {5, "TRANSFER", {"移交"}},
    {6, "RECTIFICATION", {"整改"}},
    {7, "ARCHIVED", {"立卷归档", "归档"}},
};
const xc_enum_table xc_enum_round_stage = {&xuncha__v1__round_stage__descriptor, "ROUND_STAGE_",
                                           "round stage (巡察阶段)", XC__N(xc__round_stage),
                                           xc__round_stage};

static const xc_enum_entry xc__finding_area[] = {
    {1, "POLITICAL", {"政治建设", "政治"}},      {2, "IDEOLOGICAL", {"思想建设", "思想"}},
    {3, "ORGANIZATIONAL", {"组织建设", "组织"}}, {4, "CONDUCT", {"作风建设", "作风"}},
    {5, "DISCIPLINE", {"纪律建设", "纪律"}},     {6, "POVERTY_ALLEVIATION", {"脱贫攻坚"}},
};
const xc_enum_table xc_enum_finding_area = {&xuncha__v1__finding_area__descriptor, "FINDING_AREA_",
                                            "finding area (问题领域)", XC__N(xc__finding_area),
                                            xc__finding_area};

static const xc_enum_entry xc__rectification_mode[] = {
    {1, "IMMEDIATE", {"立行立改"}},
    {2, "BY_DEADLINE", {"限期整改"}},
    {3, "ONGOING", {"持续整改"}},
};
const xc_enum_table xc_enum_rectification_mode = {
    &xuncha__v1__rectification_mode__descriptor, "RECTIFICATION_MODE_",
    "rectification mode (整改方式)", XC__N(xc__rectification_mode), xc__rectification_mode};

static const xc_enum_entry xc__rectification_status[] = {
    {1, "OPEN", {"未整改"}},
    {2, "PLAN_SUBMITTED", {"已报整改方案"}},
    {3, "IN_PROGRESS", {"整改中"}},
    {4, "DONE", {"已完成"}},
    {5, "VERIFIED", {"已验收销号", "已销号", "销号"}},
};
const xc_enum_table xc_enum_rectification_status = {
    &xuncha__v1__rectification_status__descriptor, "RECTIFICATION_STATUS_",
    "rectification status (整改状态)", XC__N(xc__rectification_status), xc__rectification_status};

static const xc_enum_entry xc__lead_category[] = {
    {1, "DISCIPLINE", {"违纪违法线索", "违纪违法"}},
    {2, "ORGANIZATION", {"民主集中制、选人用人问题", "选人用人", "民主集中制"}},
    {3, "OTHER", {"其他问题", "其他"}},
};
const xc_enum_table xc_enum_lead_category = {&xuncha__v1__lead_category__descriptor,
                                             "LEAD_CATEGORY_", "lead category (线索类别)",
                                             XC__N(xc__lead_category), xc__lead_category};

static const xc_enum_entry xc__lead_disposal[] = {
    {1, "PENDING", {"待处置"}},
    {2, "TALK_INQUIRY", {"谈话函询"}},
    {3, "PRELIMINARY_VERIFICATION", {"初步核实"}},
    {4, "SHELVED", {"暂存待查"}},
    {5, "CLOSED", {"予以了结", "了结"}},
    {6, "CASE_FILED", {"立案审查调查", "立案"}},
    {7, "INVESTIGATION", {"审查调查"}},
    {8, "TRIAL", {"审理"}},
    {9, "DECIDED", {"作出处理决定", "处理决定", "结案"}},
};
const xc_enum_table xc_enum_lead_disposal = {&xuncha__v1__lead_disposal__descriptor,
                                             "LEAD_DISPOSAL_", "lead disposal (处置方式)",
                                             XC__N(xc__lead_disposal), xc__lead_disposal};

static const xc_enum_entry xc__serving_status[] = {
    {1, "SERVING", {"正常服务"}},
    {2, "NOT_SERVING", {"暂停服务"}},
    {3, "SERVICE_UNKNOWN", {"无此服务"}},
};
const xc_enum_table xc_enum_serving_status = {
    &grpc__health__v1__health_check_response__serving_status__descriptor, "",
    "serving status (服务状态)", XC__N(xc__serving_status), xc__serving_status};

static const xc_enum_entry xc__directory_kind[] = {
    {1, "CITY_OFFICE", {"市委巡察办", "市巡察办"}},
    {2, "COUNTY_OFFICE", {"区县委巡察办", "区巡察办", "县巡察办"}},
    {3, "TOWNSHIP_OFFICE", {"乡镇巡察工作机构", "街道巡察工作机构"}},
    {4, "DISCIPLINE_COMMISSION", {"纪委监委", "纪委"}},
    {5, "STATIONED_GROUP", {"派驻纪检监察组", "派驻纪检组"}},
    {6, "ORGANIZATION_DEPARTMENT", {"组织部"}},
    {7, "OTHER_UNIT", {"其他有关单位", "有关单位"}},
};
const xc_enum_table xc_enum_directory_kind = {&xuncha__v1__directory_kind__descriptor,
                                              "DIRECTORY_KIND_", "directory kind (单位类别)",
                                              XC__N(xc__directory_kind), xc__directory_kind};

static const xc_enum_entry xc__progress_step[] = {
    {1, "PLAN", {"整改方案", "方案"}},
    {2, "PROGRESS", {"整改进展", "进展"}},
    {3, "DONE", {"整改完成", "完成"}},
};
const xc_enum_table xc_enum_progress_step = {&xuncha__v1__progress_step__descriptor,
                                             "PROGRESS_STEP_", "progress step (进展类别)",
                                             XC__N(xc__progress_step), xc__progress_step};

static const xc_enum_entry xc__verification_action[] = {
    {1, "VERIFY", {"验收销号"}},
    {2, "REVOKE", {"撤销销号"}},
};
const xc_enum_table xc_enum_verification_action = {
    &xuncha__v1__verification_action__descriptor, "VERIFICATION_ACTION_",
    "verification action (验收)", XC__N(xc__verification_action), xc__verification_action};

static const xc_enum_entry xc__outcome_measure[] = {
    {1, "PARTY_WARNING", {"党纪警告", "党纪:警告"}},
    {2, "PARTY_SERIOUS_WARNING", {"严重警告", "党纪:严重警告"}},
    {3, "PARTY_REMOVAL_FROM_POST", {"撤销党内职务", "党纪:撤销党内职务"}},
    {4, "PARTY_PROBATION", {"留党察看", "党纪:留党察看"}},
    {5, "PARTY_EXPULSION", {"开除党籍", "党纪:开除党籍"}},
    {11, "GOV_WARNING", {"政务警告", "政务:警告"}},
    {12, "GOV_DEMERIT", {"记过", "政务:记过"}},
    {13, "GOV_MAJOR_DEMERIT", {"记大过", "政务:记大过"}},
    {14, "GOV_DEMOTION", {"降级", "政务:降级"}},
    {15, "GOV_DISMISSAL", {"撤职", "政务:撤职"}},
    {16, "GOV_EXPULSION", {"开除", "政务:开除"}},
    {21, "ORG_SUSPENSION", {"停职检查", "组织处理:停职检查"}},
    {22, "ORG_REASSIGNMENT", {"调整职务", "组织处理:调整职务"}},
    {23, "ORG_ORDERED_RESIGNATION", {"责令辞职", "组织处理:责令辞职"}},
    {24, "ORG_REMOVAL", {"免职", "组织处理:免职"}},
    {25, "ORG_DEMOTION", {"降职", "组织处理:降职"}},
    {31, "JUDICIAL_TRANSFER", {"移送司法机关", "司法:移送司法机关", "移送司法"}},
};
const xc_enum_table xc_enum_outcome_measure = {&xuncha__v1__outcome_measure__descriptor,
                                               "OUTCOME_MEASURE_", "outcome (处分处理)",
                                               XC__N(xc__outcome_measure), xc__outcome_measure};

static const xc_enum_entry xc__archive_stage[] = {
    {1, "PREPARATION", {"进驻准备"}},      {2, "BRIEFING", {"汇报座谈"}},
    {3, "DOCUMENT_REVIEW", {"查阅资料"}},  {4, "INTERVIEWS", {"个别谈话"}},
    {5, "FEEDBACK", {"意见反馈"}},         {6, "LEADS", {"问题线索"}},
    {7, "FINDING_DRAFTS", {"问题底稿"}},   {8, "REPORT", {"巡察报告"}},
};
const xc_enum_table xc_enum_archive_stage = {&xuncha__v1__archive_stage__descriptor,
                                             "ARCHIVE_STAGE_", "filing stage (归档阶段)",
                                             XC__N(xc__archive_stage), xc__archive_stage};

static const xc_enum_entry xc__document_kind[] = {
    {1, "TALK_RECORD", {"谈话记录"}},          {2, "EVIDENCE", {"证据材料", "证据"}},
    {3, "REPORT", {"巡察报告", "报告"}},       {4, "FEEDBACK_OPINION", {"反馈意见"}},
    {5, "RECTIFICATION_REPORT", {"整改报告"}}, {6, "SCAN", {"扫描件"}},
    {7, "OTHER", {"其他"}},
};
const xc_enum_table xc_enum_document_kind = {&xuncha__v1__document_kind__descriptor,
                                             "DOCUMENT_KIND_", "document kind (材料类别)",
                                             XC__N(xc__document_kind), xc__document_kind};

static const xc_enum_entry xc__hash_algorithm[] = {
    {1, "SHA256", {"SHA-256"}},
    {2, "SM3", {"国密SM3"}},
};
const xc_enum_table xc_enum_hash_algorithm = {&xuncha__v1__hash_algorithm__descriptor,
                                              "HASH_ALGORITHM_", "hash algorithm (摘要算法)",
                                              XC__N(xc__hash_algorithm), xc__hash_algorithm};

const xc_enum_table *const xc_enum_tables[] = {
    &xc_enum_target_kind,   &xc_enum_round_kind,         &xc_enum_round_stage,
    &xc_enum_finding_area,  &xc_enum_rectification_mode, &xc_enum_rectification_status,
    &xc_enum_lead_category, &xc_enum_lead_disposal,      &xc_enum_serving_status,
    &xc_enum_directory_kind, &xc_enum_progress_step,     &xc_enum_verification_action,
    &xc_enum_outcome_measure,
    &xc_enum_archive_stage,  &xc_enum_document_kind,     &xc_enum_hash_algorithm,
};
const size_t xc_enum_n_tables = XC__N(xc_enum_tables);

/* Longest English input considered; longer text cannot be a value. */
#define XC__ENUM_TEXT_MAX 64

/*
 * Writes text upper-cased with '-' and ' ' as '_' into out. Returns 0 if text
 * is too long or holds anything but ASCII letters, digits, '-', '_' or ' '.
 */
static int xc__normalize(const char *text, char *out, size_t size) {
  size_t i;
  for (i = 0; text[i] != '\0'; i++) {
    char ch = text[i];
    if (i + 1 >= size) return 0;
    if (ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    else if (ch == '-' || ch == ' ')
      ch = '_';
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
      return 0;
    out[i] = ch;
  }
  out[i] = '\0';
  return i > 0;
}

int xc_enum_parse(const xc_enum_table *t, const char *text, int *value, xc_err *err) {
  char norm[XC__ENUM_TEXT_MAX];
  char list[XC_ERR_MSG_MAX];
  if (text != NULL && xc__normalize(text, norm, sizeof norm)) {
    const char *bare = norm;
    size_t plen = strlen(t->prefix);
    if (plen > 0 && strncmp(norm, t->prefix, plen) == 0) bare = norm + plen;
    for (size_t i = 0; i < t->n; i++) {
      if (strcmp(bare, t->entries[i].name) == 0) {
        *value = t->entries[i].value;
        return XC_OK;
      }
    }
  } else if (text != NULL) {
    for (size_t i = 0; i < t->n; i++) {
      for (size_t k = 0; k < XC_ENUM_MAX_ZH && t->entries[i].zh[k] != NULL; k++) {
        if (strcmp(text, t->entries[i].zh[k]) == 0) {
          *value = t->entries[i].value;
          return XC_OK;
        }
      }
    }
  }
  xc_enum_describe(t, list, sizeof list);
  return xc_err_set(err, XC_EINVALID_ARGUMENT, "'%s' is not a %s; use one of: %s",
                    text != NULL ? text : "", t->what, list);
}

const char *xc_enum_zh(const xc_enum_table *t, int value) {
  for (size_t i = 0; i < t->n; i++)
    if (t->entries[i].value == value) return t->entries[i].zh[0];
  return NULL;
}

const char *xc_enum_proto_name(const xc_enum_table *t, int value) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(t->desc, value);
  return v != NULL ? v->name : NULL;
}

const xc_enum_table *xc_enum_for(const ProtobufCEnumDescriptor *desc) {
  for (size_t i = 0; i < xc_enum_n_tables; i++)
    if (xc_enum_tables[i]->desc == desc) return xc_enum_tables[i];
  return NULL;
}

void xc_enum_describe(const xc_enum_table *t, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0) return;
  buf[0] = '\0';
  for (size_t i = 0; i < t->n; i++) {
    char piece[160];
    const char *name = t->entries[i].name;
    size_t k = 0, len;
    int n;
    if (i > 0) {
      piece[k++] = ',';
      piece[k++] = ' ';
    }
    /* Show the friendliest spelling of the English name: lower case, '-'. */
    for (; *name != '\0' && k + 1 < 64; name++) {
      char ch = *name;
      piece[k++] = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    n = snprintf(piece + k, sizeof piece - k, " (%s)", t->entries[i].zh[0]);
    if (n < 0 || (size_t)n >= sizeof piece - k) return;
    len = k + (size_t)n;
    /* Whole entries only, so a cut never leaves half a character. */
    if (len >= size - used) return;
    memcpy(buf + used, piece, len + 1);
    used += len;
  }
}
