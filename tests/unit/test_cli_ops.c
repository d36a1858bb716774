/*
 * test_cli_ops: the operator-facing parts of the xuncha CLI without a
 * server: --lang, the guide, examples in --help, `admin stats` parsing, and
 * progress staying quiet when stderr is not a terminal.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xc_cli.h"
#include "xc_ops.h"
#include "xc_test_cli.h"

static const char *g_lang; /* what $XUNCHA_LANG returns, or NULL */

static const char *fake_env(const char *name) {
  if (strcmp(name, "XUNCHA_LANG") == 0) return g_lang;
  if (strcmp(name, "HOME") == 0) return "/nonexistent";
  return NULL;
}

static void test_guide(void) {
  char *argv[] = {"xuncha", NULL};
  char *argv_en[] = {"xuncha", "--lang", "en", NULL};
  char *out, *errs;
  g_lang = NULL;
  CU_ASSERT_EQUAL(xc_test_cli_run(argv, fake_env, &out, &errs), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "常用命令"));
  CU_ASSERT_STRING_EQUAL(errs, "");
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(argv_en, fake_env, &out, &errs), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "for example"));
  free(out);
  free(errs);
  g_lang = "en_US.UTF-8";
  CU_ASSERT_EQUAL(xc_test_cli_run(argv, fake_env, &out, &errs), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "for example"));
  free(out);
  free(errs);
  g_lang = NULL;
  xc_lang_set(XC_LANG_ZH);
}

static void test_help_has_examples(void) {
  static const char *const res[] = {"target", "round", "group", "finding", "lead", "health",
                                    "admin"};
  for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
    char *argv[] = {"xuncha", (char *)res[i], "--help", NULL};
    char *out, *errs, want[64];
    CU_ASSERT_EQUAL(xc_test_cli_run(argv, fake_env, &out, &errs), 0);
    (void)snprintf(want, sizeof want, "\n  xuncha %s ", res[i]);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "示例"));
    CU_ASSERT_PTR_NOT_NULL(strstr(strstr(out, "示例") ? strstr(out, "示例") : out, want));
    free(out);
    free(errs);
  }
}

static void test_admin_parse(void) {
  xc_cli_cmd *cmd = calloc(1, sizeof *cmd);
  xc_err err;
  char *ok[] = {"xuncha", "admin", "stats", "--prometheus", NULL};
  char *typo[] = {"xuncha", "admin", "stat", NULL};
  char *flag[] = {"xuncha", "admin", "stats", "--all", NULL};
  char *lang[] = {"xuncha", "--lang", "fr", "admin", "stats", NULL};
  char *out, *errs;
  CU_ASSERT_PTR_NOT_NULL_FATAL(cmd);
  CU_ASSERT_EQUAL(xc_cli_parse(4, ok, cmd, &err), XC_OK);
  CU_ASSERT(cmd->admin);
  CU_ASSERT(cmd->prometheus);
  CU_ASSERT_EQUAL(xc_cli_parse(3, typo, cmd, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "use stats"));
  CU_ASSERT_EQUAL(xc_cli_parse(4, flag, cmd, &err), XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--all"));
  free(cmd);
  CU_ASSERT_EQUAL(xc_test_cli_run(lang, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "--lang must be zh or en"));
  free(out);
  free(errs);
}

static void test_lang_labels(void) {
  char en[64];
  xc_lang l;
  CU_ASSERT_EQUAL(xc_lang_parse("zh_CN.UTF-8", &l), 0);
  CU_ASSERT_EQUAL(l, XC_LANG_ZH);
  CU_ASSERT_EQUAL(xc_lang_parse("de", &l), -1);
  xc_lang_set(XC_LANG_ZH);
  CU_ASSERT_STRING_EQUAL(xc_lang_label("名称", "name"), "名称");
  xc_lang_set(XC_LANG_EN);
  CU_ASSERT_STRING_EQUAL(xc_lang_label("名称", "name"), "Name");
  /* An untranslated label falls back to the field path: still English. */
  CU_ASSERT_STRING_EQUAL(xc_lang_label("没有这个标签", "some_field"), "some_field");
  xc_lang_enum_en(&xc_enum_target_kind, 7, en, sizeof en);
  CU_ASSERT_STRING_EQUAL(en, "county-department");
  xc_lang_enum_en(&xc_enum_target_kind, 9999, en, sizeof en);
  CU_ASSERT_STRING_EQUAL(en, "unknown(9999)");
  xc_lang_set(XC_LANG_ZH);
}

static void test_progress_quiet_when_not_a_tty(void) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  xc_ops_progress(f, 100, 0);
  xc_ops_progress(f, 0, 1);
  fclose(f);
  CU_ASSERT_EQUAL(n, 0);
  free(buf);
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("cli ops", NULL, NULL);
  CU_add_test(s, "guide without arguments", test_guide);
  CU_add_test(s, "every --help has examples", test_help_has_examples);
  CU_add_test(s, "admin stats parsing", test_admin_parse);
  CU_add_test(s, "--lang labels and enums", test_lang_labels);
  CU_add_test(s, "progress quiet when not a terminal", test_progress_quiet_when_not_a_tty);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
