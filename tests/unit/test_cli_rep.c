/*
 * Unit tests of the report and ledger code of the CLI (client/cli/
 * xc_cli_rep.c): encodings, CSV rows into records with errors in words,
 * and the speech's sentence filled in from a Summary built by hand.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_cli_rep.h"
#include "xuncha/v1/reports.pb-c.h"

/* "问题,领域\n" in GB18030. */
static const char gb_text[] = "\xce\xca\xcc\xe2,\xc1\xec\xd3\xf2\n";

static void test_encodings(void) {
  char *out = NULL;
  size_t n = 0;
  xc_err err;
  /* A BOM is dropped; UTF-8 stays. */
  CU_ASSERT_EQUAL(xc_cli_rep_to_utf8("\xef\xbb\xbf问题\n", 10, NULL, &out, &n, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(out, "问题\n");
  free(out);
  /* Not UTF-8: read as GB18030. */
  CU_ASSERT_EQUAL(xc_cli_rep_to_utf8(gb_text, strlen(gb_text), NULL, &out, &n, &err), XC_OK);
  CU_ASSERT_STRING_EQUAL(out, "问题,领域\n");
  free(out);
  /* --encoding utf-8 on GB18030 bytes: refused, saying what to do. */
  CU_ASSERT_EQUAL(xc_cli_rep_to_utf8(gb_text, strlen(gb_text), "utf-8", &out, &n, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--encoding gb18030"));
  CU_ASSERT_EQUAL(xc_cli_rep_to_utf8("x", 1, "latin1", &out, &n, &err), XC_EINVALID_ARGUMENT);
  /* A truncated GB18030 character names the byte. */
  CU_ASSERT_EQUAL(xc_cli_rep_to_utf8("ab\x81", 3, "gb18030", &out, &n, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "byte 2"));
}

static void free_rows(Xuncha__V1__ImportRow **rows, size_t n) {
  for (size_t i = 0; i < n; i++) protobuf_c_message_free_unpacked(&rows[i]->base, NULL);
  free(rows);
}

static void test_csv_rows(void) {
  const char *csv =
      "编号,巡察轮次,被巡察单位,问题,领域,标签,整改期限\n"
      "f_x,r_1,t_1,甲,政治建设,\"假落实、四风\",2030-01-31\n"
      "\n"
      ",r_1,t_1,乙,财务,,2030-02-30\n"
      ",r_1,t_1,,纪律建设,,\n"
      ",r_1,t_2,\"丙,有逗号\",discipline,慢落实;不落实,\n";
  Xuncha__V1__ImportRow **rows = NULL;
  size_t n = 0, bad = 0;
  char errs[4096];
  xc_err err;
  CU_ASSERT_EQUAL_FATAL(xc_cli_rep_parse_csv("finding", csv, strlen(csv), &rows, &n, &bad, errs,
                                             sizeof errs, 0, NULL, &err),
                        XC_OK);
  CU_ASSERT_EQUAL(n, 2);
  CU_ASSERT_EQUAL(bad, 2);
  /* Line numbers are the spreadsheet's rows; the empty row 3 is skipped. */
  if (strstr(errs, "第4行「领域」: '财务' is not a finding area") == NULL) fprintf(stderr, "%s", errs);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "第4行「领域」: '财务' is not a finding area"));
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "第4行「整改期限」"));
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "第5行「问题」: 必填"));
  CU_ASSERT_PTR_NULL(strstr(errs, "第2行"));
  CU_ASSERT_PTR_NULL(strstr(errs, "第6行"));
  if (n == 2) {
    const Xuncha__V1__Finding *f = rows[0]->finding;
    CU_ASSERT_EQUAL(rows[0]->line, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(f->title, "甲");
    CU_ASSERT_EQUAL(f->area, XUNCHA__V1__FINDING_AREA__FINDING_AREA_POLITICAL);
    CU_ASSERT_EQUAL(f->n_tags, 2);
    CU_ASSERT_STRING_EQUAL(f->id, ""); /* 编号 is output only: ignored */
    CU_ASSERT_STRING_EQUAL(f->rectification->deadline, "2030-01-31");
    f = rows[1]->finding;
    CU_ASSERT_EQUAL(rows[1]->line, 6);
    CU_ASSERT_STRING_EQUAL(f->title, "丙,有逗号");
    CU_ASSERT_EQUAL(f->area, XUNCHA__V1__FINDING_AREA__FINDING_AREA_DISCIPLINE);
    CU_ASSERT_EQUAL(f->n_tags, 2);
  }
  free_rows(rows, n);
  /* An unknown column stops the whole file. */
  CU_ASSERT_EQUAL(xc_cli_rep_parse_csv("finding", "问题,颜色\n甲,红\n", 24, &rows, &n, &bad, errs,
                                       sizeof errs, 0, NULL, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "「颜色」"));
}

static void test_sentence(void) {
  Xuncha__V1__Summary s = XUNCHA__V1__SUMMARY__INIT;
  Xuncha__V1__ReportScope sc = XUNCHA__V1__REPORT_SCOPE__INIT;
  Xuncha__V1__SummaryFigures f = XUNCHA__V1__SUMMARY_FIGURES__INIT;
  char buf[1024];
  sc.region_prefix = "3101";
  sc.term = 12;
  f.rounds = 9;
  f.groups = 27;
  f.targets_municipal_and_enterprise = 86;
  f.targets_township_and_street = 15;
  f.findings = 1204;
  f.leads = 133;
  f.cases = 41;
  f.sanctioned_persons = 52;
  f.handled_persons = 77;
  s.scope = &sc;
  s.current = &f;
  (void)xc_cli_rep_sentence(&s, 0, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf,
                         "截至目前，12届市委已部署开展了9轮巡察，先后派出27个巡察组，对86个市直单位、"
                         "市属重点企业和15个乡镇(街道)进行全面政治检视…巡察发现问题1204个，移交问题线索"
                         "133件，其中立案41件，给予党纪政务处分52人、组织处理77人。");
  (void)xc_cli_rep_sentence(&s, 1, buf, sizeof buf);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "So far, the 12th municipal Party committee has deployed 9 "));
  sc.region_prefix = "310104";
  (void)xc_cli_rep_sentence(&s, 0, buf, sizeof buf);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "12届区(县)委已部署"));
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("cli reports", NULL, NULL);
  CU_add_test(s, "encodings", test_encodings);
  CU_add_test(s, "csv rows and errors in words", test_csv_rows);
  CU_add_test(s, "the sentence", test_sentence);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
