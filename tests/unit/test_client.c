/*
 * CUnit suites for libxuncha and the `xuncha` command line (client/).
 *
 * Most tests need no network: enum parsing, rendering, option precedence and
 * request building. The network tests use 127.0.0.1 only, with short
 * deadlines: a call to a closed port, and an in-process TLS server (gRPC core,
 * certificates made here with OpenSSL) that answers a few Targets methods so
 * the library's success path and the CLI's paging, updates and exit codes run
 * for real.
 */
/* nftw, to remove the scratch directory, is an X/Open function. */
#define _XOPEN_SOURCE 700

#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ftw.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xc_cli.h"
#include "xc_config.h"
#include "xc_enums.h"
#include "xc_render.h"
#include "xc_resources.h"
#include "xuncha/client.h"

/* ---------------------------------------------------------------- helpers */

/* A scratch directory for the certificates and config files of this run. */
static char g_dir[64];
static char g_ca[128], g_server_cert[128], g_server_key[128], g_client_cert[128], g_client_key[128];

/* Captures what a function prints: open, print, then take the text. */
typedef struct capture {
  char *text;
  size_t len;
  FILE *f;
} capture;

static void cap_open(capture *c) {
  c->text = NULL;
  c->len = 0;
  c->f = open_memstream(&c->text, &c->len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c->f);
}

/* Closes the stream; c->text then holds everything printed (free it). */
static void cap_close(capture *c) {
  CU_ASSERT_EQUAL(fclose(c->f), 0);
}

/* A fake environment: NULL-terminated name, value pairs. */
static const char *const *g_env;

static const char *fake_getenv(const char *name) {
  for (size_t i = 0; g_env != NULL && g_env[i] != NULL; i += 2)
    if (strcmp(g_env[i], name) == 0) return g_env[i + 1];
  return NULL;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  CU_ASSERT_EQUAL(fputs(text, f) >= 0, 1);
  CU_ASSERT_EQUAL(fclose(f), 0);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- enums */

static void test_enum_english(void) {
  int v = 0;
  xc_err err;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "special", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  v = 0;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "SPECIAL", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  v = 0;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "ROUND_KIND_SPECIAL", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "follow-up", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_FOLLOW_UP);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "Follow_Up", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_FOLLOW_UP);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_target_kind, "municipal-department", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_lead_disposal, "lead-disposal-case-filed", &v, &err),
                  XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_CASE_FILED);
}

static void test_enum_chinese(void) {
  int v = 0;
  xc_err err;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "专项", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  v = 0;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "专项巡察", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "回头看", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__ROUND_KIND__ROUND_KIND_FOLLOW_UP);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_target_kind, "市直单位", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_rectification_mode, "立行立改", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_lead_disposal, "谈话函询", &v, &err), XC_OK);
  CU_ASSERT_EQUAL(v, XUNCHA__V1__LEAD_DISPOSAL__LEAD_DISPOSAL_TALK_INQUIRY);
  CU_ASSERT_STRING_EQUAL(xc_enum_zh(&xc_enum_round_kind, 2), "专项巡察");
  CU_ASSERT_STRING_EQUAL(xc_enum_proto_name(&xc_enum_round_kind, 2), "ROUND_KIND_SPECIAL");
  CU_ASSERT_PTR_NULL(xc_enum_zh(&xc_enum_round_kind, 99));
}

static void test_enum_unknown(void) {
  int v = 42;
  xc_err err;
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "bogus", &v, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(v, 42);
  CU_ASSERT_EQUAL(err.code, XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'bogus' is not a round kind"));
  /* The message lists every accepted value in both languages. */
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "regular (常规巡察)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "follow-up (回头看)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "extended (延伸巡察)"));
  /* UNSPECIFIED is not a value a person sets, nor is an empty string or a
     term of another enum. */
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "unspecified", &v, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "", &v, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "市直单位", &v, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_enum_parse(&xc_enum_round_kind, "TARGET_KIND_STREET", &v, &err),
                  XC_EINVALID_ARGUMENT);
}

/* Every table names exactly the proto's values, and every Chinese term is unique. */
static void test_enum_tables_match_proto(void) {
  for (size_t t = 0; t < xc_enum_n_tables; t++) {
    const xc_enum_table *tab = xc_enum_tables[t];
    CU_ASSERT_EQUAL(tab->n + 1, tab->desc->n_values);
    for (size_t i = 0; i < tab->n; i++) {
      char full[128];
      const ProtobufCEnumValue *ev =
          protobuf_c_enum_descriptor_get_value(tab->desc, tab->entries[i].value);
      CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
      snprintf(full, sizeof full, "%s%s", tab->prefix, tab->entries[i].name);
      CU_ASSERT_STRING_EQUAL(ev->name, full);
      CU_ASSERT_PTR_NOT_NULL(tab->entries[i].zh[0]);
      for (size_t j = 0; j < tab->n; j++)
        for (size_t a = 0; a < XC_ENUM_MAX_ZH && tab->entries[i].zh[a]; a++)
          for (size_t b = 0; b < XC_ENUM_MAX_ZH && tab->entries[j].zh[b]; b++)
            if (i != j) CU_ASSERT(strcmp(tab->entries[i].zh[a], tab->entries[j].zh[b]) != 0);
    }
    CU_ASSERT_PTR_EQUAL(xc_enum_for(tab->desc), tab);
  }
}

/* Every leaf field of every record has a row in its resource's field table. */
static void test_fields_cover_records(void) {
  for (size_t r = 0; r < xc_n_resources; r++) {
    const xc_resource *res = &xc_resources[r];
    const ProtobufCMessageDescriptor *d = res->record;
    size_t leaves = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
      const ProtobufCFieldDescriptor *f = &d->fields[i];
      if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED) {
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        for (unsigned k = 0; k < sub->n_fields; k++) {
          char path[128];
          snprintf(path, sizeof path, "%s.%s", f->name, sub->fields[k].name);
          CU_ASSERT_PTR_NOT_NULL(xc_resource_field_by_path(res, path));
          leaves++;
        }
      } else {
        CU_ASSERT_PTR_NOT_NULL(xc_resource_field_by_path(res, f->name));
        leaves++;
      }
    }
    CU_ASSERT_EQUAL(leaves, res->n_fields);
    for (size_t c = 0; c < res->n_cols; c++)
      CU_ASSERT_PTR_NOT_NULL(xc_resource_field_by_path(res, res->cols[c].path));
  }
}

/* ---------------------------------------------------------------- rendering */

static void test_render_cell(void) {
  xc_buf b = XC_BUF_INIT;
  char *s;
  xc_render_cell(&b, "市财政局办公室", 8);
  s = xc_buf_take(&b);
  /* 市财政 is 6 columns; 局 would make 8 and leave no room for the "…". */
  CU_ASSERT_STRING_EQUAL(s, "市财政…");
  free(s);
  xc_render_cell(&b, "市财政局", 8);
  s = xc_buf_take(&b);
  CU_ASSERT_STRING_EQUAL(s, "市财政局");
  free(s);
  xc_render_cell(&b, "line1\nline2\tx", 0);
  s = xc_buf_take(&b);
  CU_ASSERT_STRING_EQUAL(s, "line1 line2 x");
  free(s);
  xc_render_cell(&b, "abcdefghij", 5);
  s = xc_buf_take(&b);
  CU_ASSERT_STRING_EQUAL(s, "abcd…");
  free(s);
}

static void test_render_table(void) {
  static const xc_column cols[3] = {{"编号", 32}, {"名称", 8}, {"类别", 12}};
  const char *cells[] = {
      "t_1",      "市财政局",
      "市直单位", /* */
      "t_22",     "abc",
      "街道", /* */
      "t_3",      "市财政局办公室",
      "village", /* */
  };
  capture c;
  xc_err err;
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_render_table(c.f, cols, 3, cells, 3, &err), XC_OK);
  cap_close(&c);
  /* Column 1 is 4 wide ("t_22"), column 2 is 8 ("市财政局"); the last
     column is not padded. Widths count a Chinese character as 2. */
  CU_ASSERT_STRING_EQUAL(c.text,
                         "编号  名称      类别\n"
                         "t_1   市财政局  市直单位\n"
                         "t_22  abc       街道\n"
                         "t_3   市财政…   village\n");
  free(c.text);
}

static void test_render_block(void) {
  const char *labels[] = {"编号", "党组织书记", "备注"};
  const char *values[] = {"t_1", "张三", "两行\n说明"};
  capture c;
  xc_err err;
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_render_block(c.f, labels, values, 3, &err), XC_OK);
  cap_close(&c);
  CU_ASSERT_STRING_EQUAL(c.text,
                         "编号:       t_1\n"
                         "党组织书记: 张三\n"
                         "备注:       两行\n"
                         "            说明\n");
  free(c.text);
}

static void test_render_csv(void) {
  const char *row[] = {"plain", "say \"hi\"", "a,b", "两行\n文本", ""};
  capture c;
  xc_err err;
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_render_csv_row(c.f, row, 5, &err), XC_OK);
  cap_close(&c);
  CU_ASSERT_STRING_EQUAL(c.text, "\"plain\",\"say \"\"hi\"\"\",\"a,b\",\"两行\n文本\",\"\"\n");
  free(c.text);
}

/* Fills t with the sample target the rendering tests print. */
static void sample_target(Xuncha__V1__Target *t) {
  xuncha__v1__target__init(t);
  t->id = (char *)"t_01";
  t->region_code = (char *)"310104";
  t->owner = (char *)"office:310104";
  t->etag = (char *)"e1";
  t->create_time_ms = 1709258400000LL; /* 2024-03-01 02:00:00 UTC */
  t->name = (char *)"市财政局";
  t->kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
  t->party_secretary = (char *)"张三";
}

static void test_json_record(void) {
  Xuncha__V1__Target t;
  const ProtobufCMessage *one[1] = {&t.base};
  const xc_resource *r = xc_resource_find("target");
  capture c;
  xc_err err;
  sample_target(&t);
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_cli_print(c.f, r, XC_OUT_JSON, one, 1, NULL, 1, &err), XC_OK);
  cap_close(&c);
  CU_ASSERT_STRING_EQUAL(c.text,
                         "{\n"
                         "  \"id\": \"t_01\",\n"
                         "  \"region_code\": \"310104\",\n"
                         "  \"owner\": \"office:310104\",\n"
                         "  \"etag\": \"e1\",\n"
                         "  \"create_time_ms\": 1709258400000,\n"
                         "  \"update_time_ms\": 0,\n"
                         "  \"created_by\": \"\",\n"
                         "  \"updated_by\": \"\",\n"
                         "  \"name\": \"市财政局\",\n"
                         "  \"kind\": \"TARGET_KIND_MUNICIPAL_DEPARTMENT\",\n"
                         "  \"party_secretary\": \"张三\",\n"
                         "  \"note\": \"\",\n"
                         "  \"voided\": false,\n"
                         "  \"void_reason\": \"\"\n"
                         "}\n");
  free(c.text);

  /* A list wraps the records with the next page's token. */
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_cli_print(c.f, r, XC_OUT_JSON, one, 1, "tok", 0, &err), XC_OK);
  cap_close(&c);
  {
    json_error_t jerr;
    json_t *j = json_loads(c.text, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "items")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "next_page_token")), "tok");
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "kind")),
        "TARGET_KIND_MUNICIPAL_DEPARTMENT");
    json_decref(j);
  }
  free(c.text);
}

static void test_json_nested_defaults(void) {
  /* An absent rectification prints as its defaults, so every field shows. */
  Xuncha__V1__Finding f;
  json_t *j, *rect;
  xuncha__v1__finding__init(&f);
  j = xc_render_json_msg(&f.base);
  CU_ASSERT_PTR_NOT_NULL_FATAL(j);
  rect = json_object_get(j, "rectification");
  CU_ASSERT_TRUE(json_is_object(rect));
  CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rect, "status")),
                         "RECTIFICATION_STATUS_UNSPECIFIED");
  CU_ASSERT_TRUE(json_is_array(json_object_get(j, "tags")));
  json_decref(j);
}

static void test_print_get_block_and_csv(void) {
  Xuncha__V1__Target t;
  const ProtobufCMessage *one[1] = {&t.base};
  const xc_resource *r = xc_resource_find("target");
  capture c;
  xc_err err;
  sample_target(&t);
  cap_open(&c);
  CU_ASSERT_EQUAL(xc_cli_print(c.f, r, XC_OUT_TABLE, one, 1, NULL, 1, &err), XC_OK);
  cap_close(&c);
  /* Times show in China Standard Time, enums in Chinese. */
  CU_ASSERT_STRING_EQUAL(c.text,
                         "编号:       t_01\n"
                         "区划:       310104\n"
                         "所属单位:   office:310104\n"
                         "版本标记:   e1\n"
                         "创建时间:   2024-03-01 10:00:00\n"
                         "更新时间:\n"
                         "创建人:\n"
                         "更新人:\n"
                         "名称:       市财政局\n"
                         "类别:       市直单位\n"
                         "党组织书记: 张三\n"
                         "备注:\n"
                         "已作废:\n"
                         "作废原因:\n");
  free(c.text);

  cap_open(&c);
  CU_ASSERT_EQUAL(xc_cli_print(c.f, r, XC_OUT_CSV, one, 1, NULL, 0, &err), XC_OK);
  cap_close(&c);
  CU_ASSERT_STRING_EQUAL(
      c.text,
      "\"id\",\"region_code\",\"owner\",\"etag\",\"create_time_ms\",\"update_time_ms\","
      "\"created_by\",\"updated_by\",\"name\",\"kind\",\"party_secretary\",\"note\","
      "\"voided\",\"void_reason\"\n"
      "\"t_01\",\"310104\",\"office:310104\",\"e1\",\"1709258400000\",\"0\",\"\",\"\","
      "\"市财政局\",\"TARGET_KIND_MUNICIPAL_DEPARTMENT\",\"张三\",\"\",\"false\",\"\"\n");
  free(c.text);

  cap_open(&c);
  CU_ASSERT_EQUAL(xc_cli_print(c.f, r, XC_OUT_TABLE, one, 1, NULL, 0, &err), XC_OK);
  cap_close(&c);
  CU_ASSERT_STRING_EQUAL(c.text,
                         "编号  区划    名称      类别      党组织书记\n"
                         "t_01  310104  市财政局  市直单位  张三\n");
  free(c.text);
}

/* ---------------------------------------------------------------- parsing */

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_parse_round_create(void) {
  char *argv[] = {
      "xuncha",     "--json",     "round",  "create",   "--region", "310104",     "--term",
      "5",          "--number=3", "--kind", "专项",     "--title",  "第三轮巡察", "--start-date",
      "2024-03-01", "--target",   "t_a",    "--target", "t_b",      "--note",     "备注"};
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  ProtobufCMessage *req = NULL;
  Xuncha__V1__CreateRoundRequest *cr;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(argv), argv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL(cmd->fmt, XC_OUT_JSON);
  CU_ASSERT_EQUAL(cmd->verb, XC_VERB_CREATE);
  CU_ASSERT_STRING_EQUAL(cmd->resource->name, "round");
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_create(cmd, "req-1", &req, &err), XC_OK);
  cr = (Xuncha__V1__CreateRoundRequest *)req;
  CU_ASSERT_STRING_EQUAL(cr->request_id, "req-1");
  CU_ASSERT_PTR_NOT_NULL_FATAL(cr->round);
  CU_ASSERT_STRING_EQUAL(cr->round->region_code, "310104");
  CU_ASSERT_EQUAL(cr->round->term, 5);
  CU_ASSERT_EQUAL(cr->round->number, 3);
  CU_ASSERT_EQUAL(cr->round->kind, XUNCHA__V1__ROUND_KIND__ROUND_KIND_SPECIAL);
  CU_ASSERT_STRING_EQUAL(cr->round->title, "第三轮巡察");
  CU_ASSERT_STRING_EQUAL(cr->round->start_date, "2024-03-01");
  CU_ASSERT_EQUAL_FATAL(cr->round->n_target_ids, 2);
  CU_ASSERT_STRING_EQUAL(cr->round->target_ids[0], "t_a");
  CU_ASSERT_STRING_EQUAL(cr->round->target_ids[1], "t_b");
  CU_ASSERT_STRING_EQUAL(cr->round->note, "备注");
  protobuf_c_message_free_unpacked(req, NULL);
  free(cmd);
}

static void test_parse_group_and_lead(void) {
  char *gargv[] = {"xuncha",
                   "group",
                   "create",
                   "--round",
                   "r_1",
                   "--name",
                   "第一巡察组",
                   "--member",
                   "李四",
                   "--member",
                   "王五",
                   "--recusal",
                   "李四:t_a:亲属关系: 配偶",
                   "--leader",
                   "赵六"};
  char *largv[] = {"xuncha",          "lead",      "create",     "--round",  "r_1",
                   "--target",        "t_a",       "--category", "违纪违法", "--summary",
                   "收受礼金",        "--person",  "王某:局长",  "--person", "李某",
                   "--transfer-date", "2024-05-06"};
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  ProtobufCMessage *req = NULL;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(gargv), gargv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_create(cmd, "g", &req, &err), XC_OK);
  {
    Xuncha__V1__Group *g = ((Xuncha__V1__CreateGroupRequest *)req)->group;
    CU_ASSERT_EQUAL_FATAL(g->n_members, 2);
    CU_ASSERT_STRING_EQUAL(g->members[1], "王五");
    CU_ASSERT_EQUAL_FATAL(g->n_recusals, 1);
    CU_ASSERT_STRING_EQUAL(g->recusals[0]->member, "李四");
    CU_ASSERT_STRING_EQUAL(g->recusals[0]->target_id, "t_a");
    /* The reason keeps its own colons. */
    CU_ASSERT_STRING_EQUAL(g->recusals[0]->reason, "亲属关系: 配偶");
    CU_ASSERT_STRING_EQUAL(g->leader, "赵六");
  }
  protobuf_c_message_free_unpacked(req, NULL);

  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(largv), largv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_create(cmd, "l", &req, &err), XC_OK);
  {
    Xuncha__V1__Lead *l = ((Xuncha__V1__CreateLeadRequest *)req)->lead;
    CU_ASSERT_EQUAL(l->category, XUNCHA__V1__LEAD_CATEGORY__LEAD_CATEGORY_DISCIPLINE);
    CU_ASSERT_EQUAL_FATAL(l->n_persons, 2);
    CU_ASSERT_STRING_EQUAL(l->persons[0]->name, "王某");
    CU_ASSERT_STRING_EQUAL(l->persons[0]->position, "局长");
    CU_ASSERT_STRING_EQUAL(l->persons[1]->name, "李某");
    CU_ASSERT_STRING_EQUAL(l->persons[1]->position, "");
    CU_ASSERT_STRING_EQUAL(l->transfer_date, "2024-05-06");
  }
  protobuf_c_message_free_unpacked(req, NULL);
  free(cmd);
}

/* Parses argv expecting a usage error whose message contains `want`. */
static void expect_parse_error(int argc, char **argv, const char *want) {
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL(xc_cli_parse(argc, argv, cmd, &err), XC_EINVALID_ARGUMENT);
  if (strstr(err.msg, want) == NULL) fprintf(stderr, "\n  got: %s\n  want: %s\n", err.msg, want);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
  free(cmd);
}

/* Parses and builds argv expecting the build to refuse a flag's value. */
static void expect_build_error(int argc, char **argv, const char *want) {
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  ProtobufCMessage *req = NULL;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(argc, argv, cmd, &err), XC_OK);
  if (cmd->verb == XC_VERB_LIST) {
    CU_ASSERT_EQUAL(xc_cli_build_list(cmd, &req, &err), XC_EINVALID_ARGUMENT);
  } else {
    CU_ASSERT_EQUAL(xc_cli_build_create(cmd, "x", &req, &err), XC_EINVALID_ARGUMENT);
  }
  CU_ASSERT_PTR_NULL(req);
  if (strstr(err.msg, want) == NULL) fprintf(stderr, "\n  got: %s\n  want: %s\n", err.msg, want);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
  free(cmd);
}

static void test_parse_errors(void) {
  char *a1[] = {"xuncha", "target", "list", "--bogus", "1"};
  char *a2[] = {"xuncha", "targets", "list"};
  char *a3[] = {"xuncha", "target", "delete", "t_1"};
  char *a4[] = {"xuncha", "target", "get"};
  char *a5[] = {"xuncha", "finding", "update", "f_1", "--round", "r_2"};
  char *a6[] = {"xuncha", "target", "create", "--name", "x"};
  char *a7[] = {"xuncha", "target", "update", "t_1"};
  char *a8[] = {"xuncha", "--json", "--csv", "target", "list"};
  char *a9[] = {"xuncha", "target", "create", "--name", "a", "--name", "b"};
  char *a10[] = {"xuncha", "target", "list", "--page-size", "5000"};
  char *a11[] = {"xuncha", "target", "get", "t_1", "t_2"};
  char *a12[] = {"xuncha", "--name", "x", "target", "list"};
  char *a13[] = {"xuncha", "target", "list", "--limit"};
  char *b1[] = {"xuncha", "target", "create", "--region", "310104",
                "--name", "x",      "--kind", "ward"};
  char *b2[] = {"xuncha",   "round", "create", "--region", "310104",  "--term", "0",
                "--number", "1",     "--kind", "regular",  "--title", "t"};
  char *b3[] = {"xuncha",   "round", "create", "--region", "31010",   "--term", "1",
                "--number", "1",     "--kind", "regular",  "--title", "t"};
  char *b4[] = {"xuncha",  "round",   "create",   "--region",   "310104",
                "--term",  "1",       "--number", "1",          "--kind",
                "regular", "--title", "t",        "--end-date", "2024-02-30"};
  char *b5[] = {"xuncha", "group", "create", "--round", "r", "--name", "n", "--recusal", "李四"};
  char *b6[] = {"xuncha", "finding", "list", "--status", "closed"};
  char *b7[] = {"xuncha", "round", "list", "--term", "5x"};
  expect_parse_error(ARGC(a1), a1, "unknown option --bogus for 'target list'");
  expect_parse_error(ARGC(a2), a2, "unknown resource 'targets'");
  expect_parse_error(ARGC(a3), a3, "unknown verb 'delete' for target");
  expect_parse_error(ARGC(a4), a4, "needs the record's ID");
  expect_parse_error(ARGC(a5), a5, "--round (巡察轮次) is fixed when the finding is created");
  expect_parse_error(ARGC(a6), a6, "also needs --region CODE (区划), --kind KIND (类别)");
  expect_parse_error(ARGC(a7), a7, "nothing to update");
  expect_parse_error(ARGC(a8), a8, "--json and --csv exclude each other");
  expect_parse_error(ARGC(a9), a9, "--name is given twice");
  expect_parse_error(ARGC(a10), a10, "--page-size '5000' is not a whole number from 1 to 1000");
  expect_parse_error(ARGC(a11), a11, "unexpected argument 't_2'");
  expect_parse_error(ARGC(a12), a12, "unknown option --name (options of a verb go after");
  expect_parse_error(ARGC(a13), a13, "--limit needs a value");
  expect_build_error(ARGC(b1), b1, "--kind: 'ward' is not a target kind");
  expect_build_error(ARGC(b1), b1, "municipal-department (市直单位)");
  expect_build_error(ARGC(b2), b2, "--term '0' is not a whole number from 1");
  expect_build_error(ARGC(b3), b3, "--region '31010' is not a region code");
  expect_build_error(ARGC(b4), b4, "--end-date '2024-02-30' is not a date");
  expect_build_error(ARGC(b5), b5, "does not have the form MEMBER:TARGET:REASON");
  expect_build_error(ARGC(b6), b6, "--status: 'closed' is not a rectification status");
  expect_build_error(ARGC(b7), b7, "--term '5x' is not a whole number");
}

static void test_update_mask(void) {
  char *argv[] = {"xuncha", "finding", "update",   "f_1",        "--tag",      "四风",    "--tag",
                  "假落实", "--mode",  "立行立改", "--deadline", "2024-06-30", "--title", "新标题"};
  char *eargv[] = {"xuncha", "finding", "update", "f_1", "--title", "x", "--etag", "e9"};
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  Xuncha__V1__Finding *rec = malloc(sizeof *rec);
  ProtobufCMessage *req = NULL;
  Xuncha__V1__UpdateFindingRequest *ur;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
  /* A record as read from the server: one old tag, an etag, a deadline. */
  xuncha__v1__finding__init(rec);
  CU_ASSERT_EQUAL(xc_msg_add_str(&rec->base, "tags", "旧标签"), XC_OK);
  rec->etag = strdup("e1");
  rec->title = strdup("旧标题");
  rec->description = strdup("不变");
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(argv), argv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_update(cmd, &rec->base, &req, &err), XC_OK);
  ur = (Xuncha__V1__UpdateFindingRequest *)req;
  CU_ASSERT_PTR_EQUAL(ur->finding, rec);
  /* Exactly the top-level fields the flags touch, once each, in order. */
  CU_ASSERT_EQUAL_FATAL(ur->n_update_mask, 3);
  CU_ASSERT_STRING_EQUAL(ur->update_mask[0], "tags");
  CU_ASSERT_STRING_EQUAL(ur->update_mask[1], "rectification");
  CU_ASSERT_STRING_EQUAL(ur->update_mask[2], "title");
  /* A repeated flag replaces the list; other fields stay as read. */
  CU_ASSERT_EQUAL_FATAL(rec->n_tags, 2);
  CU_ASSERT_STRING_EQUAL(rec->tags[0], "四风");
  CU_ASSERT_STRING_EQUAL(rec->tags[1], "假落实");
  CU_ASSERT_STRING_EQUAL(rec->title, "新标题");
  CU_ASSERT_STRING_EQUAL(rec->description, "不变");
  CU_ASSERT_STRING_EQUAL(rec->etag, "e1");
  CU_ASSERT_PTR_NOT_NULL_FATAL(rec->rectification);
  CU_ASSERT_EQUAL(rec->rectification->mode,
                  XUNCHA__V1__RECTIFICATION_MODE__RECTIFICATION_MODE_IMMEDIATE);
  CU_ASSERT_STRING_EQUAL(rec->rectification->deadline, "2024-06-30");
  protobuf_c_message_free_unpacked(req, NULL);

  /* --etag replaces the etag read, so a concurrent change makes it fail. */
  rec = malloc(sizeof *rec);
  CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
  xuncha__v1__finding__init(rec);
  rec->etag = strdup("e1");
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(eargv), eargv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_update(cmd, &rec->base, &req, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(rec->etag, "e9");
  CU_ASSERT_EQUAL(((Xuncha__V1__UpdateFindingRequest *)req)->n_update_mask, 1);
  protobuf_c_message_free_unpacked(req, NULL);
  free(cmd);
}

static void test_list_request(void) {
  char *argv[] = {
      "xuncha",   "finding",     "list", "--region-prefix", "3101", "--status", "整改中",  "--area",
      "作风建设", "--page-size", "20",   "--page-token",    "abc",  "--all",    "--limit", "50"};
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  ProtobufCMessage *req = NULL;
  Xuncha__V1__ListFindingsRequest *lr;
  xc_err err;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL_FATAL(xc_cli_parse(ARGC(argv), argv, cmd, &err), XC_OK);
  CU_ASSERT_EQUAL(cmd->all, 1);
  CU_ASSERT_EQUAL(cmd->limit, 50);
  CU_ASSERT_EQUAL_FATAL(xc_cli_build_list(cmd, &req, &err), XC_OK);
  lr = (Xuncha__V1__ListFindingsRequest *)req;
  CU_ASSERT_STRING_EQUAL(lr->region_prefix, "3101");
  CU_ASSERT_EQUAL(lr->status, XUNCHA__V1__RECTIFICATION_STATUS__RECTIFICATION_STATUS_IN_PROGRESS);
  CU_ASSERT_EQUAL(lr->area, XUNCHA__V1__FINDING_AREA__FINDING_AREA_CONDUCT);
  CU_ASSERT_EQUAL(lr->page_size, 20);
  CU_ASSERT_STRING_EQUAL(lr->page_token, "abc");
  protobuf_c_message_free_unpacked(req, NULL);
  free(cmd);
}

static void test_request_id(void) {
  char a[40], b[40];
  xc_cli_request_id(a, sizeof a);
  xc_cli_request_id(b, sizeof b);
  CU_ASSERT_EQUAL(strlen(a), 36);
  CU_ASSERT_EQUAL(a[8], '-');
  CU_ASSERT_EQUAL(a[14], '4');
  CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

/* Runs the tool with argv and the fake environment; returns its exit code. */
static int run_cli(int argc, char **argv, char **out, char **errtext) {
  capture o, e;
  int code;
  cap_open(&o);
  cap_open(&e);
  code = xc_cli_main(argc, argv, o.f, e.f, fake_getenv);
  cap_close(&o);
  cap_close(&e);
  *out = o.text;
  *errtext = e.text;
  return code;
}

static void test_cli_usage_exit_codes(void) {
  static const char *const env[] = {NULL};
  char *a1[] = {"xuncha", "target", "list", "--bogus"};
  char *a2[] = {"xuncha",   "round", "create", "--region", "310104",  "--term", "1",
                "--number", "1",     "--kind", "bogus",    "--title", "t"};
  char *a3[] = {"xuncha", "--help"};
  char *a4[] = {"xuncha", "target", "get", "t_1"};
  char *out, *err;
  g_env = env;
  CU_ASSERT_EQUAL(run_cli(ARGC(a1), a1, &out, &err), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "xuncha: unknown option --bogus"));
  CU_ASSERT_STRING_EQUAL(out, "");
  free(out);
  free(err);
  /* A bad enum is a usage error listing the values, found before any call. */
  CU_ASSERT_EQUAL(run_cli(ARGC(a2), a2, &out, &err), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "'bogus' is not a round kind"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "special (专项巡察)"));
  free(out);
  free(err);
  CU_ASSERT_EQUAL(run_cli(ARGC(a3), a3, &out, &err), XC_EXIT_OK);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "Exit status:"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "3  no connection"));
  free(out);
  free(err);
  /* No CA anywhere: a usage error that says where to give one. */
  CU_ASSERT_EQUAL(run_cli(ARGC(a4), a4, &out, &err), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "no CA file: give --ca FILE, set XUNCHA_CA"));
  free(out);
  free(err);
}

/* ---------------------------------------------------------------- config */

static void test_config_precedence(void) {
  char conf[160], conf2[160];
  xc_conn_flags flags;
  xc_conn conn;
  xc_err err;
  snprintf(conf, sizeof conf, "%s/client.conf", g_dir);
  write_file(conf,
             "; test config\n"
             "[connection]\n"
             "server = file.example:1111\n"
             "ca = certs/ca.pem\n"
             "cert = /abs/cert.pem\n"
             "key = file.key\n"
             "timeout_ms = 2500\n");
  {
    /* The file alone, found through $XUNCHA_CONFIG. */
    const char *const env[] = {"XUNCHA_CONFIG", conf, NULL};
    char want[200];
    g_env = env;
    memset(&flags, 0, sizeof flags);
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.server, "file.example:1111");
    snprintf(want, sizeof want, "%s/certs/ca.pem", g_dir); /* relative to the file */
    CU_ASSERT_STRING_EQUAL(conn.ca, want);
    CU_ASSERT_STRING_EQUAL(conn.cert, "/abs/cert.pem");
    CU_ASSERT_EQUAL(conn.timeout_ms, 2500);
    CU_ASSERT_STRING_EQUAL(conn.config, conf);
  }
  {
    /* The environment beats the file; flags beat both. */
    const char *const env[] = {"XUNCHA_CONFIG",    conf,           "XUNCHA_SERVER",
                               "env.example:2222", "XUNCHA_CA",    "/env/ca.pem",
                               "XUNCHA_KEY",       "/env/key.pem", NULL};
    g_env = env;
    memset(&flags, 0, sizeof flags);
    flags.ca = "/flag/ca.pem";
    flags.timeout_ms = "700";
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.server, "env.example:2222");
    CU_ASSERT_STRING_EQUAL(conn.ca, "/flag/ca.pem");
    CU_ASSERT_STRING_EQUAL(conn.cert, "/abs/cert.pem");
    CU_ASSERT_STRING_EQUAL(conn.key, "/env/key.pem");
    CU_ASSERT_EQUAL(conn.timeout_ms, 700);
    flags.server = "flag.example:3333";
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.server, "flag.example:3333");
  }
  {
    /* --config beats $XUNCHA_CONFIG; with no file value the default server applies. */
    const char *const env[] = {"XUNCHA_CONFIG", conf, NULL};
    snprintf(conf2, sizeof conf2, "%s/other.conf", g_dir);
    write_file(conf2, "[connection]\nca = /other/ca.pem\n");
    g_env = env;
    memset(&flags, 0, sizeof flags);
    flags.config = conf2;
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.server, "127.0.0.1:7443");
    CU_ASSERT_STRING_EQUAL(conn.ca, "/other/ca.pem");
    CU_ASSERT_STRING_EQUAL(conn.cert, "");
    CU_ASSERT_EQUAL(xc_config_require(&conn, &err), XC_EINVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no client certificate: give --cert FILE"));
  }
  {
    /* Without --config or $XUNCHA_CONFIG, ~/.config/xuncha/client.conf is read if present. */
    char home[160], dir[200], path[240];
    const char *const env[] = {"HOME", home, NULL};
    snprintf(home, sizeof home, "%s/home", g_dir);
    snprintf(dir, sizeof dir, "%s/.config", home);
    CU_ASSERT_EQUAL(mkdir(home, 0700), 0);
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof dir, "%s/.config/xuncha", home);
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    g_env = env;
    memset(&flags, 0, sizeof flags);
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.config, ""); /* absent: silently skipped */
    snprintf(path, sizeof path, "%s/client.conf", dir);
    write_file(path, "[connection]\nserver = home.example:4444\ncert = ~/c.pem\n");
    CU_ASSERT_EQUAL_FATAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_OK);
    CU_ASSERT_STRING_EQUAL(conn.server, "home.example:4444");
    snprintf(path, sizeof path, "%s/c.pem", home);
    CU_ASSERT_STRING_EQUAL(conn.cert, path);
  }
}

static void test_config_errors(void) {
  char conf[160], want[200];
  const char *const env[] = {NULL};
  xc_conn_flags flags;
  xc_conn conn;
  xc_err err;
  g_env = env;
  memset(&flags, 0, sizeof flags);
  snprintf(conf, sizeof conf, "%s/bad.conf", g_dir);
  flags.config = conf;
  write_file(conf, "[connection]\nserver = a:1\nsevrer = b:2\n");
  CU_ASSERT_EQUAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_EINVALID_ARGUMENT);
  snprintf(want, sizeof want, "%s:3: unknown key 'sevrer' in [connection]", conf);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
  write_file(conf, "[connection]\ntimeout_ms = soon\n");
  CU_ASSERT_EQUAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_EINVALID_ARGUMENT);
  snprintf(want, sizeof want, "%s:2: timeout_ms 'soon'", conf);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
  write_file(conf, "[server]\nport = 1\n");
  CU_ASSERT_EQUAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ":2: unknown section [server]"));
  /* A config file named explicitly must exist. */
  snprintf(conf, sizeof conf, "%s/missing.conf", g_dir);
  CU_ASSERT_EQUAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
  flags.config = NULL;
  flags.timeout_ms = "-5";
  CU_ASSERT_EQUAL(xc_config_resolve(&flags, fake_getenv, &conn, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--timeout '-5'"));
}

/* ---------------------------------------------------------------- certificates */

/* Makes a key and a certificate signed by (issuer, issuer_key), or self-signed. */
static int make_cert(const char *cn, const char *san, int is_ca, X509 *issuer, EVP_PKEY *issuer_key,
                     X509 **out_cert, EVP_PKEY **out_key) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  static long serial = 1;
  const char *exts[4][2] = {{"basicConstraints", is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
                            {"keyUsage", is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                                               : "critical,digitalSignature,keyEncipherment"},
                            {"extendedKeyUsage", "serverAuth,clientAuth"},
                            {"subjectAltName", san}};
  if (key == NULL || x == NULL) return 0;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
  X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
  for (int i = 0; i < 4; i++) {
    if (exts[i][1] == NULL || (is_ca && i == 2)) continue;
    ext = X509V3_EXT_nconf(NULL, &ctx, exts[i][0], exts[i][1]);
    if (ext == NULL) return 0;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) == 0) return 0;
  *out_cert = x;
  *out_key = key;
  return 1;
}

static int write_pem(const char *cert_path, X509 *x, const char *key_path, EVP_PKEY *k) {
  FILE *f = fopen(cert_path, "w");
  int ok = f != NULL && PEM_write_X509(f, x) == 1;
  if (f != NULL) fclose(f);
  if (!ok) return 0;
  f = fopen(key_path, "w");
  ok = f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
  if (f != NULL) fclose(f);
  return ok;
}

/* Makes a CA, a server certificate for 127.0.0.1 and an office's client certificate. */
static int make_certs(void) {
  X509 *ca = NULL, *srv = NULL, *cli = NULL;
  EVP_PKEY *ca_key = NULL, *srv_key = NULL, *cli_key = NULL;
  char ca_key_path[128];
  int ok;
  snprintf(g_ca, sizeof g_ca, "%s/ca.pem", g_dir);
  snprintf(ca_key_path, sizeof ca_key_path, "%s/ca.key", g_dir);
  snprintf(g_server_cert, sizeof g_server_cert, "%s/server.pem", g_dir);
  snprintf(g_server_key, sizeof g_server_key, "%s/server.key", g_dir);
  snprintf(g_client_cert, sizeof g_client_cert, "%s/client.pem", g_dir);
  snprintf(g_client_key, sizeof g_client_key, "%s/client.key", g_dir);
  ok = make_cert("xuncha test CA", NULL, 1, NULL, NULL, &ca, &ca_key) &&
       make_cert("xunchad", "IP:127.0.0.1,DNS:localhost", 0, ca, ca_key, &srv, &srv_key) &&
       make_cert("office:310104", NULL, 0, ca, ca_key, &cli, &cli_key) &&
       write_pem(g_ca, ca, ca_key_path, ca_key) &&
       write_pem(g_server_cert, srv, g_server_key, srv_key) &&
       write_pem(g_client_cert, cli, g_client_key, cli_key);
  X509_free(ca);
  X509_free(srv);
  X509_free(cli);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(srv_key);
  EVP_PKEY_free(cli_key);
  return ok;
}

/* ---------------------------------------------------------------- library */

/* A call on a client in another thread, for xc_client_cancel. */
typedef struct cancel_call {
  xc_client *c;
  int rc;
  xc_err err;
  double took;
} cancel_call;

static void *cancel_call_main(void *arg) {
  cancel_call *cc = arg;
  Xuncha__V1__GetTargetRequest req = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  Xuncha__V1__Target *out = NULL;
  double t0 = now_s();
  req.id = (char *)"t_1";
  cc->rc = xc_get_target(cc->c, &req, &out, 20000, &cc->err);
  cc->took = now_s() - t0;
  xc_message_free(out);
  return NULL;
}

/* A peer that takes TCP connections (the kernel's backlog) and never says a
 * word: the TLS handshake hangs, as with a stalled link. xc_client_cancel
 * must end the waiting call long before its 20 s deadline, and later calls
 * at once. */
static void test_call_cancel(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  char server[32];
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  xc_client_options opt;
  xc_client *c = NULL;
  cancel_call cc;
  pthread_t th;
  xc_err err;
  Xuncha__V1__GetTargetRequest req = XUNCHA__V1__GET_TARGET_REQUEST__INIT;
  Xuncha__V1__Target *out = NULL;
  double t0;
  CU_ASSERT_FATAL(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CU_ASSERT_FATAL(listen(fd, 8) == 0);
  CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  snprintf(server, sizeof server, "127.0.0.1:%d", (int)ntohs(sa.sin_port));
  memset(&opt, 0, sizeof opt);
  opt.server = server;
  opt.ca_file = g_ca;
  opt.cert_file = g_client_cert;
  opt.key_file = g_client_key;
  CU_ASSERT_EQUAL_FATAL(xc_client_create(&opt, &c, &err), XC_OK);
  memset(&cc, 0, sizeof cc);
  cc.c = c;
  CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_call_main, &cc), 0);
  {
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
  }
  xc_client_cancel(c);
  CU_ASSERT_EQUAL(pthread_join(th, NULL), 0);
  CU_ASSERT_EQUAL(cc.rc, XC_ECANCELLED);
  CU_ASSERT_PTR_NOT_NULL(strstr(cc.err.msg, "cancelled"));
  CU_ASSERT(cc.took < 3.0);
  t0 = now_s();
  req.id = (char *)"t_1";
  CU_ASSERT_EQUAL(xc_get_target(c, &req, &out, 20000, &err), XC_ECANCELLED);
  CU_ASSERT_PTR_NULL(out);
  CU_ASSERT(now_s() - t0 < 0.5);
  xc_client_cancel(c); /* again: harmless */
  xc_client_cancel(NULL);
  xc_client_destroy(c);
  close(fd);
}

static void test_client_missing_ca(void) {
  xc_client_options opt;
  xc_client *c = (xc_client *)&opt; /* must be reset to NULL */
  xc_err err;
  char missing[160];
  snprintf(missing, sizeof missing, "%s/no-such-ca.pem", g_dir);
  memset(&opt, 0, sizeof opt);
  opt.server = "127.0.0.1:7443";
  opt.ca_file = missing;
  opt.cert_file = g_client_cert;
  opt.key_file = g_client_key;
  CU_ASSERT_EQUAL(xc_client_create(&opt, &c, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NULL(c);
  CU_ASSERT_EQUAL(err.code, XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, missing));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "CA file"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
  /* A file that is not PEM is refused just as early. */
  opt.ca_file = g_ca;
  opt.key_file = "/dev/null";
  CU_ASSERT_EQUAL(xc_client_create(&opt, &c, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "key file /dev/null is not a PEM file"));
  opt.key_file = g_client_key;
  opt.server = "";
  CU_ASSERT_EQUAL(xc_client_create(&opt, &c, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NULL(c);
}

static void test_call_closed_port(void) {
  xc_client_options opt;
  xc_client *c = NULL;
  Xuncha__V1__GetTargetRequest req;
  Xuncha__V1__Target *out = (Xuncha__V1__Target *)&req; /* must be reset to NULL */
  xc_err err;
  double t0, elapsed;
  int rc;
  memset(&opt, 0, sizeof opt);
  opt.server = "127.0.0.1:1";
  opt.ca_file = g_ca;
  opt.cert_file = g_client_cert;
  opt.key_file = g_client_key;
  CU_ASSERT_EQUAL_FATAL(xc_client_create(&opt, &c, &err), XC_OK);
  xuncha__v1__get_target_request__init(&req);
  req.id = (char *)"t_1";
  t0 = now_s();
  rc = xc_get_target(c, &req, &out, 300, &err);
  elapsed = now_s() - t0;
  CU_ASSERT(rc == XC_EUNAVAILABLE || rc == XC_EDEADLINE_EXCEEDED);
  CU_ASSERT_EQUAL(err.code, rc);
  CU_ASSERT_PTR_NULL(out);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot reach 127.0.0.1:1 over TLS"));
  CU_ASSERT(elapsed < 5.0);
  /* A second call on the same client behaves the same (cached method). */
  rc = xc_get_target(c, &req, &out, 300, &err);
  CU_ASSERT(rc == XC_EUNAVAILABLE || rc == XC_EDEADLINE_EXCEEDED);
  CU_ASSERT(now_s() - t0 < 10.0);
  /* Bad arguments never reach gRPC. */
  CU_ASSERT_EQUAL(xc_get_target(c, &req, &out, -1, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_EQUAL(xc_client_call(c, "no-slash", &req.base, &xuncha__v1__target__descriptor,
                                 (ProtobufCMessage **)&out, 100, &err),
                  XC_EINVALID_ARGUMENT);
  xc_client_destroy(c);
}

/* ---------------------------------------------------------------- fake server */

/*
 * A TLS gRPC server in this process that answers like xunchad for targets:
 * GetTarget (t_missing is NOT_FOUND), ListTargets (two pages), UpdateTarget
 * (records the request it got), CreateTarget and Health/Check.
 */
static grpc_server *g_srv;
static grpc_completion_queue *g_srv_cq;
static pthread_t g_srv_thread;
static int g_port;
static pthread_mutex_t g_seen_lock = PTHREAD_MUTEX_INITIALIZER;
static Xuncha__V1__UpdateTargetRequest *g_seen_update;
static int g_list_calls;
static int g_create_calls;
static char g_seen_request_id[160];

#define TAG_NEW ((void *)1)
#define TAG_RECV ((void *)2)
#define TAG_SEND ((void *)3)
#define TAG_SHUT ((void *)4)

/* Packs msg into a new byte buffer. */
static grpc_byte_buffer *pack(const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(n);
  grpc_byte_buffer *bb;
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d) {
  grpc_byte_buffer_reader r;
  grpc_slice s;
  ProtobufCMessage *m;
  if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb)) return NULL;
  s = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
  grpc_slice_unref(s);
  return m;
}

/* Waits on the server's queue for tag; returns its success flag. */
static int srv_wait(void *tag) {
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(g_srv_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) return 0;
    if (ev.tag == tag) return ev.success;
  }
}

/* Builds the reply to one request; returns the status to send. */
static grpc_status_code srv_answer(const char *method, grpc_byte_buffer *in, grpc_byte_buffer **out,
                                   const char **details) {
  Xuncha__V1__Target t;
  grpc_status_code st = GRPC_STATUS_OK;
  xuncha__v1__target__init(&t);
  t.region_code = (char *)"310104";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_MUNICIPAL_DEPARTMENT;
  t.etag = (char *)"e1";
  *details = "";
  if (strcmp(method, "/xuncha.v1.Targets/GetTarget") == 0) {
    Xuncha__V1__GetTargetRequest *r =
        (Xuncha__V1__GetTargetRequest *)unpack(in, &xuncha__v1__get_target_request__descriptor);
    if (r == NULL) {
      *details = "bad request";
      return GRPC_STATUS_INVALID_ARGUMENT;
    }
    if (strcmp(r->id, "t_missing") == 0) {
      *details = "no target with id t_missing";
      st = GRPC_STATUS_NOT_FOUND;
    } else {
      t.id = r->id;
      t.name = (char *)"市财政局";
      t.party_secretary = (char *)"张三";
      *out = pack(&t.base);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
  } else if (strcmp(method, "/xuncha.v1.Targets/ListTargets") == 0) {
    Xuncha__V1__ListTargetsRequest *r =
        (Xuncha__V1__ListTargetsRequest *)unpack(in, &xuncha__v1__list_targets_request__descriptor);
    Xuncha__V1__ListTargetsResponse resp;
    Xuncha__V1__Target rows[3], *ptrs[3];
    static char *const ids[3] = {"t_1", "t_2", "t_3"};
    static char *const names[3] = {"市财政局", "南京东路街道", "abc"};
    int second = r != NULL && strcmp(r->page_token, "p2") == 0;
    xuncha__v1__list_targets_response__init(&resp);
    for (int i = 0; i < 3; i++) {
      rows[i] = t;
      rows[i].id = ids[i];
      rows[i].name = names[i];
      ptrs[i] = &rows[i];
    }
    rows[1].kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET;
    resp.targets = second ? ptrs + 2 : ptrs;
    resp.n_targets = second ? 1 : 2;
    resp.next_page_token = second ? (char *)"" : (char *)"p2";
    *out = pack(&resp.base);
    pthread_mutex_lock(&g_seen_lock);
    g_list_calls++;
    pthread_mutex_unlock(&g_seen_lock);
    if (r != NULL) protobuf_c_message_free_unpacked(&r->base, NULL);
  } else if (strcmp(method, "/xuncha.v1.Targets/UpdateTarget") == 0) {
    Xuncha__V1__UpdateTargetRequest *r = (Xuncha__V1__UpdateTargetRequest *)unpack(
        in, &xuncha__v1__update_target_request__descriptor);
    if (r == NULL || r->target == NULL) {
      *details = "bad request";
      return GRPC_STATUS_INVALID_ARGUMENT;
    }
    if (strcmp(r->target->etag, "e1") != 0) {
      *details = "the target changed since it was read (etag mismatch)";
      st = GRPC_STATUS_ABORTED;
    } else {
      Xuncha__V1__Target reply = *r->target;
      reply.etag = (char *)"e2";
      *out = pack(&reply.base);
    }
    pthread_mutex_lock(&g_seen_lock);
    if (g_seen_update != NULL) protobuf_c_message_free_unpacked(&g_seen_update->base, NULL);
    g_seen_update = r;
    pthread_mutex_unlock(&g_seen_lock);
  } else if (strcmp(method, "/xuncha.v1.Targets/CreateTarget") == 0) {
    Xuncha__V1__CreateTargetRequest *r = (Xuncha__V1__CreateTargetRequest *)unpack(
        in, &xuncha__v1__create_target_request__descriptor);
    if (r == NULL || r->target == NULL) {
      *details = "bad request";
      return GRPC_STATUS_INVALID_ARGUMENT;
    }
    {
      Xuncha__V1__Target reply = *r->target;
      reply.id = (char *)"t_new";
      reply.etag = (char *)"e1";
      *out = pack(&reply.base);
    }
    pthread_mutex_lock(&g_seen_lock);
    g_create_calls++;
    snprintf(g_seen_request_id, sizeof g_seen_request_id, "%s", r->request_id);
    pthread_mutex_unlock(&g_seen_lock);
    protobuf_c_message_free_unpacked(&r->base, NULL);
  } else if (strcmp(method, "/grpc.health.v1.Health/Check") == 0) {
    Grpc__Health__V1__HealthCheckResponse h;
    grpc__health__v1__health_check_response__init(&h);
    h.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    *out = pack(&h.base);
  } else {
    *details = "no such method";
    st = GRPC_STATUS_UNIMPLEMENTED;
  }
  return st;
}

static void *srv_main(void *arg) {
  (void)arg;
  for (;;) {
    grpc_call *call = NULL;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *in = NULL, *out = NULL;
    grpc_op ops[4];
    int cancelled = 0;
    char method[128];
    const char *text = "";
    grpc_slice text_slice;
    grpc_status_code st;
    grpc_call_details_init(&details);
    grpc_metadata_array_init(&md);
    if (grpc_server_request_call(g_srv, &call, &details, &md, g_srv_cq, g_srv_cq, TAG_NEW) !=
            GRPC_CALL_OK ||
        !srv_wait(TAG_NEW)) {
      grpc_call_details_destroy(&details);
      grpc_metadata_array_destroy(&md);
      break; /* shutting down */
    }
    snprintf(method, sizeof method, "%.*s", (int)GRPC_SLICE_LENGTH(details.method),
             (const char *)GRPC_SLICE_START_PTR(details.method));
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_MESSAGE;
    ops[0].data.recv_message.recv_message = &in;
    if (grpc_call_start_batch(call, ops, 1, TAG_RECV, NULL) == GRPC_CALL_OK) srv_wait(TAG_RECV);
    st = srv_answer(method, in, &out, &text);
    text_slice = grpc_slice_from_static_string(text);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = st;
    ops[1].data.send_status_from_server.status_details = &text_slice;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &cancelled;
    ops[3].op = GRPC_OP_SEND_MESSAGE;
    ops[3].data.send_message.send_message = out;
    if (grpc_call_start_batch(call, ops, out != NULL ? 4 : 3, TAG_SEND, NULL) == GRPC_CALL_OK)
      srv_wait(TAG_SEND);
    if (in != NULL) grpc_byte_buffer_destroy(in);
    if (out != NULL) grpc_byte_buffer_destroy(out);
    grpc_call_unref(call);
    grpc_call_details_destroy(&details);
    grpc_metadata_array_destroy(&md);
  }
  return NULL;
}

/* Reads a whole small file into a new string. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = calloc(1, 65536);
  size_t n;
  if (f == NULL || buf == NULL) {
    if (f != NULL) fclose(f);
    free(buf);
    return NULL;
  }
  n = fread(buf, 1, 65535, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int start_fake_server(void) {
  char *ca = slurp(g_ca), *cert = slurp(g_server_cert), *key = slurp(g_server_key);
  grpc_ssl_pem_key_cert_pair pair;
  grpc_server_credentials *creds;
  int ok = 0;
  if (ca == NULL || cert == NULL || key == NULL) goto done;
  grpc_init();
  pair.private_key = key;
  pair.cert_chain = cert;
  creds = grpc_ssl_server_credentials_create_ex(
      ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
  g_srv_cq = grpc_completion_queue_create_for_next(NULL);
  g_srv = grpc_server_create(NULL, NULL);
  grpc_server_register_completion_queue(g_srv, g_srv_cq, NULL);
  g_port = grpc_server_add_http2_port(g_srv, "127.0.0.1:0", creds);
  grpc_server_credentials_release(creds);
  if (g_port <= 0) goto done;
  grpc_server_start(g_srv);
  ok = pthread_create(&g_srv_thread, NULL, srv_main, NULL) == 0;
done:
  free(ca);
  free(cert);
  free(key);
  return ok;
}

static void stop_fake_server(void) {
  grpc_event ev;
  grpc_server_shutdown_and_notify(g_srv, g_srv_cq, TAG_SHUT);
  grpc_server_cancel_all_calls(g_srv);
  pthread_join(g_srv_thread, NULL);
  grpc_server_destroy(g_srv);
  grpc_completion_queue_shutdown(g_srv_cq);
  do {
    ev = grpc_completion_queue_next(g_srv_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  } while (ev.type != GRPC_QUEUE_SHUTDOWN);
  grpc_completion_queue_destroy(g_srv_cq);
  if (g_seen_update != NULL) protobuf_c_message_free_unpacked(&g_seen_update->base, NULL);
  g_seen_update = NULL;
  grpc_shutdown_blocking();
}

static int g_fake_ok;

static void test_library_calls(void) {
  xc_client_options opt;
  xc_client *c = NULL;
  Xuncha__V1__GetTargetRequest get;
  Xuncha__V1__ListTargetsRequest list;
  Xuncha__V1__Target *t = NULL;
  Xuncha__V1__ListTargetsResponse *page = NULL;
  Grpc__Health__V1__HealthCheckRequest hreq;
  Grpc__Health__V1__HealthCheckResponse *hresp = NULL;
  char server[32];
  xc_err err;
  CU_ASSERT_TRUE_FATAL(g_fake_ok);
  snprintf(server, sizeof server, "127.0.0.1:%d", g_port);
  memset(&opt, 0, sizeof opt);
  opt.server = server;
  opt.ca_file = g_ca;
  opt.cert_file = g_client_cert;
  opt.key_file = g_client_key;
  opt.default_timeout_ms = 5000;
  CU_ASSERT_EQUAL_FATAL(xc_client_create(&opt, &c, &err), XC_OK);

  xuncha__v1__get_target_request__init(&get);
  get.id = (char *)"t_9";
  CU_ASSERT_EQUAL(xc_get_target(c, &get, &t, 0, &err), XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  CU_ASSERT_STRING_EQUAL(t->id, "t_9");
  CU_ASSERT_STRING_EQUAL(t->name, "市财政局");
  xc_message_free(t);
  t = NULL;

  get.id = (char *)"t_missing";
  CU_ASSERT_EQUAL(xc_get_target(c, &get, &t, 0, &err), XC_ENOT_FOUND);
  CU_ASSERT_PTR_NULL(t);
  CU_ASSERT_STRING_EQUAL(err.msg, "no target with id t_missing");

  xuncha__v1__list_targets_request__init(&list);
  CU_ASSERT_EQUAL(xc_list_targets(c, &list, &page, 0, &err), XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(page);
  CU_ASSERT_EQUAL(page->n_targets, 2);
  CU_ASSERT_STRING_EQUAL(page->next_page_token, "p2");
  xc_message_free(page);

  xuncha__v1__get_target_request__init(&get);
  grpc__health__v1__health_check_request__init(&hreq);
  CU_ASSERT_EQUAL(xc_health_check(c, &hreq, &hresp, 0, &err), XC_OK);
  CU_ASSERT_PTR_NOT_NULL_FATAL(hresp);
  CU_ASSERT_EQUAL(hresp->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  xc_message_free(hresp);

  /* A method the server does not have comes back as UNIMPLEMENTED. */
  CU_ASSERT_EQUAL(xc_client_call(c, "/xuncha.v1.Targets/Nope", &get.base,
                                 &xuncha__v1__target__descriptor, (ProtobufCMessage **)&t, 0, &err),
                  XC_EUNIMPLEMENTED);
  CU_ASSERT_PTR_NULL(t);
  xc_client_destroy(c);
}

static void test_cli_against_fake_server(void) {
  char server[32];
  char *out, *err;
  const char *const env[] = {"XUNCHA_CA",  g_ca,         "XUNCHA_CERT", g_client_cert,
                             "XUNCHA_KEY", g_client_key, NULL};
  CU_ASSERT_TRUE_FATAL(g_fake_ok);
  snprintf(server, sizeof server, "127.0.0.1:%d", g_port);
  g_env = env;
  {
    char *argv[] = {"xuncha", "--server", server, "target", "get", "t_1"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "编号:       t_1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "类别:       市直单位\n"));
    CU_ASSERT_STRING_EQUAL(err, "");
    free(out);
    free(err);
  }
  {
    char *argv[] = {"xuncha", "--server", server, "target", "get", "t_missing"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_REFUSED);
    CU_ASSERT_STRING_EQUAL(err, "xuncha: NOT_FOUND: no target with id t_missing\n");
    CU_ASSERT_STRING_EQUAL(out, "");
    free(out);
    free(err);
  }
  {
    /* --all follows next_page_token across both pages. */
    char *argv[] = {"xuncha", "--server", server, "target", "list", "--all"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_STRING_EQUAL(out,
                           "编号  区划    名称          类别      党组织书记\n"
                           "t_1   310104  市财政局      市直单位\n"
                           "t_2   310104  南京东路街道  街道\n"
                           "t_3   310104  abc           市直单位\n");
    free(out);
    free(err);
  }
  {
    /* One page in JSON carries the token of the next. */
    char *argv[] = {"xuncha", "--server", server, "--json", "target", "list", "--page-size", "2"};
    json_error_t jerr;
    json_t *j;
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    j = json_loads(out, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "items")), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "next_page_token")), "p2");
    json_decref(j);
    free(out);
    free(err);
  }
  {
    /* --limit stops --all early and says so. */
    char *argv[] = {"xuncha", "--server", server,    "--csv", "target",
                    "list",   "--all",    "--limit", "1"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stopped at --limit 1 rows"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"t_1\""));
    CU_ASSERT_PTR_NULL(strstr(out, "\"t_2\""));
    free(out);
    free(err);
  }
  {
    /* update reads the record, sends its etag and a mask of exactly the flags. */
    char *argv[] = {"xuncha", "--server", server,   "target", "update",
                    "t_1",    "--name",   "新名称", "--kind", "street"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "名称:       新名称\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "版本标记:   e2\n"));
    pthread_mutex_lock(&g_seen_lock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_seen_update);
    CU_ASSERT_EQUAL_FATAL(g_seen_update->n_update_mask, 2);
    CU_ASSERT_STRING_EQUAL(g_seen_update->update_mask[0], "name");
    CU_ASSERT_STRING_EQUAL(g_seen_update->update_mask[1], "kind");
    CU_ASSERT_STRING_EQUAL(g_seen_update->target->etag, "e1");
    CU_ASSERT_STRING_EQUAL(g_seen_update->target->party_secretary, "张三"); /* as read */
    CU_ASSERT_EQUAL(g_seen_update->target->kind, XUNCHA__V1__TARGET_KIND__TARGET_KIND_STREET);
    pthread_mutex_unlock(&g_seen_lock);
    free(out);
    free(err);
  }
  {
    char *argv[] = {"xuncha", "--server", server, "target", "update",
                    "t_1",    "--note",   "x",    "--etag", "e0"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_REFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "xuncha: ABORTED: the target changed"));
    free(out);
    free(err);
  }
  {
    char *argv[] = {"xuncha",     "--server",     server,   "target",   "create",
                    "--region",   "310104",       "--name", "区教育局", "--kind",
                    "区县直单位", "--request-id", "rid-7"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "编号:       t_new\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "类别:       区县直单位\n"));
    pthread_mutex_lock(&g_seen_lock);
    CU_ASSERT_STRING_EQUAL(g_seen_request_id, "rid-7");
    pthread_mutex_unlock(&g_seen_lock);
    free(out);
    free(err);
  }
  {
    /* Without --request-id the tool makes one up. */
    char *argv[] = {"xuncha", "--server", server, "target", "create", "--region",
                    "310104", "--name",   "x",    "--kind", "village"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    pthread_mutex_lock(&g_seen_lock);
    CU_ASSERT_EQUAL(strlen(g_seen_request_id), 36);
    pthread_mutex_unlock(&g_seen_lock);
    free(out);
    free(err);
  }
  {
    char *argv[] = {"xuncha", "--server", server, "health", "check"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "状态: 正常服务 (SERVING)"));
    free(out);
    free(err);
  }
  {
    /* Certificate files that cannot be read are a connection failure. */
    char *argv[] = {"xuncha", "--server", server, "--key", "/nonexistent/key.pem",
                    "target", "get",      "t_1"};
    CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_CONNECT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read the key file /nonexistent/key.pem"));
    free(out);
    free(err);
  }
}

static void test_cli_closed_port(void) {
  char *out, *err;
  const char *const env[] = {"XUNCHA_CA",  g_ca,         "XUNCHA_CERT", g_client_cert,
                             "XUNCHA_KEY", g_client_key, NULL};
  char *argv[] = {"xuncha", "--server", "127.0.0.1:1", "--timeout", "300", "target", "get", "t_1"};
  double t0 = now_s();
  g_env = env;
  CU_ASSERT_EQUAL(run_cli(ARGC(argv), argv, &out, &err), XC_EXIT_CONNECT);
  CU_ASSERT(now_s() - t0 < 10.0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot reach 127.0.0.1:1 over TLS"));
  free(out);
  free(err);
}

/* ---------------------------------------------------------------- main */

/* Removes one entry of the scratch directory, children first. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  snprintf(g_dir, sizeof g_dir, "/tmp/xc_client_test.XXXXXX");
  if (mkdtemp(g_dir) == NULL || !make_certs()) {
    fprintf(stderr, "cannot prepare %s: %s\n", g_dir, strerror(errno));
    return 1;
  }
  g_fake_ok = start_fake_server();
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("client", NULL, NULL);
  if (s == NULL || !CU_add_test(s, "enum English", test_enum_english) ||
      !CU_add_test(s, "enum Chinese", test_enum_chinese) ||
      !CU_add_test(s, "enum unknown", test_enum_unknown) ||
      !CU_add_test(s, "enum tables match proto", test_enum_tables_match_proto) ||
      !CU_add_test(s, "fields cover records", test_fields_cover_records) ||
      !CU_add_test(s, "render cell", test_render_cell) ||
      !CU_add_test(s, "render table", test_render_table) ||
      !CU_add_test(s, "render block", test_render_block) ||
      !CU_add_test(s, "render csv", test_render_csv) ||
      !CU_add_test(s, "json record", test_json_record) ||
      !CU_add_test(s, "json nested defaults", test_json_nested_defaults) ||
      !CU_add_test(s, "get block and csv", test_print_get_block_and_csv) ||
      !CU_add_test(s, "parse round create", test_parse_round_create) ||
      !CU_add_test(s, "parse group and lead", test_parse_group_and_lead) ||
      !CU_add_test(s, "parse errors", test_parse_errors) ||
      !CU_add_test(s, "update mask", test_update_mask) ||
      !CU_add_test(s, "list request", test_list_request) ||
      !CU_add_test(s, "request id", test_request_id) ||
      !CU_add_test(s, "cli usage exit codes", test_cli_usage_exit_codes) ||
      !CU_add_test(s, "config precedence", test_config_precedence) ||
      !CU_add_test(s, "config errors", test_config_errors) ||
      !CU_add_test(s, "client missing CA", test_client_missing_ca) ||
      !CU_add_test(s, "call closed port", test_call_closed_port) ||
      !CU_add_test(s, "call cancelled while connecting", test_call_cancel) ||
      !CU_add_test(s, "library calls", test_library_calls) ||
      !CU_add_test(s, "cli against fake server", test_cli_against_fake_server) ||
      !CU_add_test(s, "cli closed port", test_cli_closed_port)) {
    CU_cleanup_registry();
    return 1;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  if (g_fake_ok) stop_fake_server();
  if (nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "could not remove %s\n", g_dir);
  return failures == 0 && g_fake_ok ? 0 : 1;
}
