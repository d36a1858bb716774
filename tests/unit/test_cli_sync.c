/*
 * test_cli_sync: the pure parts of `xuncha sync` (client/cli/xc_cli_sync.c)
 * without a server: when a watched run counts as ended and how, the
 * progress percentage and bar, durations and local times in words, the
 * words for differences and directions, and the command line's refusals.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, tzset, open_memstream */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_cli.h"
#include "xc_cli_sync.h"
#include "xc_test_cli.h"

static const char *fake_env(const char *name) {
  if (strcmp(name, "HOME") == 0) return "/nonexistent";
  return NULL;
}

/* A peer status as GetSyncStatus would give it. */
static Xuncha__V1__PeerStatus peer(int running, int64_t attempt, int64_t success,
                                   uint64_t pushed, uint64_t pulled, const char *error) {
  Xuncha__V1__PeerStatus p = XUNCHA__V1__PEER_STATUS__INIT;
  p.direction = "upstream";
  p.running = running;
  p.last_attempt_ms = attempt;
  p.last_success_ms = success;
  p.pushed = pushed;
  p.pulled = pulled;
  p.last_error = (char *)error;
  return p;
}

static void test_watch_waits_for_the_run_to_start(void) {
  xc_cli_sync_watch w;
  Xuncha__V1__PeerStatus idle = peer(0, 1000, 900, 0, 0, "");
  memset(&w, 0, sizeof w);
  w.base_attempt_ms = 1000;
  w.base_success_ms = 900;
  w.total = 50;
  /* The idle peer of before SyncNow is not a finished run. */
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &idle), XC_CLI_SYNC_STATE_WAITING);
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, NULL), XC_CLI_SYNC_STATE_WAITING);
  CU_ASSERT_EQUAL(w.seen_running, 0);
  CU_ASSERT_EQUAL(w.total, 50);
}

static void test_watch_done_after_running(void) {
  xc_cli_sync_watch w;
  Xuncha__V1__PeerStatus p1 = peer(1, 2000, 900, 20, 1, "");
  Xuncha__V1__PeerStatus p2 = peer(1, 2000, 900, 45, 3, "");
  /* A run that succeeds within one millisecond of the old values: seen
   * running, so still recognised as ended. */
  Xuncha__V1__PeerStatus p3 = peer(0, 1000, 900, 50, 10, "");
  memset(&w, 0, sizeof w);
  w.base_attempt_ms = 1000;
  w.base_success_ms = 900;
  w.total = 50;
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p1), XC_CLI_SYNC_STATE_WAITING);
  CU_ASSERT_EQUAL(w.done, 21);
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p2), XC_CLI_SYNC_STATE_WAITING);
  CU_ASSERT_EQUAL(w.done, 48);
  CU_ASSERT_EQUAL(w.total, 50);
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p3), XC_CLI_SYNC_STATE_DONE);
  /* Pulled changes are not in "pending": the total grows to cover them. */
  CU_ASSERT_EQUAL(w.done, 60);
  CU_ASSERT_EQUAL(w.total, 60);
}

static void test_watch_done_without_seeing_it_run(void) {
  /* A short run can start and end between two polls: the changed last
   * success says it happened. */
  xc_cli_sync_watch w;
  Xuncha__V1__PeerStatus p = peer(0, 1000, 3000, 5, 0, "");
  memset(&w, 0, sizeof w);
  w.base_attempt_ms = 1000;
  w.base_success_ms = 900;
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p), XC_CLI_SYNC_STATE_DONE);
  /* A first run ever (both bases 0) that ended. */
  memset(&w, 0, sizeof w);
  p = peer(0, 4000, 4100, 0, 0, "");
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p), XC_CLI_SYNC_STATE_DONE);
}

static void test_watch_failed(void) {
  xc_cli_sync_watch w;
  Xuncha__V1__PeerStatus p = peer(0, 5000, 900, 7, 0, "cannot reach 127.0.0.1:9 (UNAVAILABLE)");
  memset(&w, 0, sizeof w);
  w.base_attempt_ms = 1000;
  w.base_success_ms = 900;
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p), XC_CLI_SYNC_STATE_FAILED);
  /* An old error from before SyncNow does not end the wait by itself. */
  memset(&w, 0, sizeof w);
  w.base_attempt_ms = 5000;
  w.base_success_ms = 900;
  CU_ASSERT_EQUAL(xc_cli_sync_watch_step(&w, &p), XC_CLI_SYNC_STATE_WAITING);
}

static void test_percent(void) {
  CU_ASSERT_EQUAL(xc_cli_sync_percent(0, 0), 100);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(0, 10), 0);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(1, 3), 33);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(2, 3), 66);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(3, 3), 100);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(7, 3), 100);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(5, 0), 0);
  /* No overflow with huge counts. */
  CU_ASSERT_EQUAL(xc_cli_sync_percent(UINT64_MAX / 2, UINT64_MAX), 49);
  CU_ASSERT_EQUAL(xc_cli_sync_percent(UINT64_MAX - 1, UINT64_MAX), 99);
}

static void test_bar(void) {
  char buf[200];
  xc_cli_sync_bar(buf, sizeof buf, 1500, 3000, 10);
  CU_ASSERT_STRING_EQUAL(buf, "[#####     ]  50%  1500/3000");
  xc_cli_sync_bar(buf, sizeof buf, 0, 0, 4);
  CU_ASSERT_STRING_EQUAL(buf, "[####] 100%  0/0");
  /* done past total: the total grows, the bar is full. */
  xc_cli_sync_bar(buf, sizeof buf, 12, 10, 4);
  CU_ASSERT_STRING_EQUAL(buf, "[####] 100%  12/12");
  /* Width clamped to 4 .. 100. */
  xc_cli_sync_bar(buf, sizeof buf, 0, 5, 1);
  CU_ASSERT_STRING_EQUAL(buf, "[    ]   0%  0/5");
  xc_cli_sync_bar(buf, sizeof buf, 5, 5, 1000);
  CU_ASSERT_EQUAL(strchr(buf, ']') - buf, 101);
  /* A short buffer is cut, never overrun. */
  memset(buf, 'x', sizeof buf);
  xc_cli_sync_bar(buf, 8, 1, 2, 30);
  CU_ASSERT_EQUAL(strlen(buf), 7);
  CU_ASSERT_EQUAL(buf[8], 'x');
}

static void test_duration(void) {
  char buf[64];
  xc_cli_sync_duration(0, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "0秒");
  xc_cli_sync_duration(-5, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "0秒");
  xc_cli_sync_duration(850, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "850毫秒");
  xc_cli_sync_duration(42999, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "42秒");
  xc_cli_sync_duration(185000, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "3分5秒");
  xc_cli_sync_duration((2 * 3600 + 4 * 60 + 59) * 1000LL, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "2小时4分");
  xc_cli_sync_duration((3 * 86400 + 3600 + 7) * 1000LL, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "3天1小时");
  xc_cli_sync_duration(INT64_MAX, buf, sizeof buf);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "天"));
}

static void test_local_time(void) {
  char buf[64];
  char *old = getenv("TZ") != NULL ? strdup(getenv("TZ")) : NULL;
  setenv("TZ", "Asia/Shanghai", 1);
  tzset();
  xc_cli_sync_local_time(0, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "从未");
  /* 2026-11-26T16:00:00Z is midnight in Beijing. */
  xc_cli_sync_local_time(1795708800000LL, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "2026-11-27 00:00:00");
  setenv("TZ", "UTC", 1);
  tzset();
  xc_cli_sync_local_time(1795708800999LL, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "2026-11-26 16:00:00");
  if (old != NULL) {
    setenv("TZ", old, 1);
    free(old);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

static void test_words(void) {
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_problem_words("missing here"), "本端缺少");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_problem_words("missing upstream"), "上级缺少");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_problem_words("differs"), "内容不一致");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_problem_words("something new"), "something new");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_problem_words(NULL), "");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_direction_words("upstream"), "上级");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_direction_words("downstream"), "下级");
  CU_ASSERT_STRING_EQUAL(xc_cli_sync_direction_words(NULL), "");
}

static void test_command_line(void) {
  char *help[] = {"xuncha", "sync", "--help", NULL};
  char *none[] = {"xuncha", "sync", NULL};
  char *verb[] = {"xuncha", "sync", "later", NULL};
  char *tmo[] = {"xuncha", "sync", "now", "--timeout", "0", NULL};
  char *max[] = {"xuncha", "sync", "verify", "--max=abc", NULL};
  char *opt[] = {"xuncha", "sync", "status", "--colour", NULL};
  /* Global options first, --json among them, still reach sync. */
  char *nocert[] = {"xuncha", "--json", "--server", "127.0.0.1:1", "sync", "status", NULL};
  char *out, *errs;
  CU_ASSERT_EQUAL(xc_test_cli_run(help, fake_env, &out, &errs), 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "sync now"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "校验一致"));
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(none, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "Usage: xuncha sync"));
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(verb, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "unknown verb 'later'"));
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(tmo, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "--timeout must be"));
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(max, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "--max must be"));
  free(out);
  free(errs);
  CU_ASSERT_EQUAL(xc_test_cli_run(opt, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "--colour"));
  free(out);
  free(errs);
  /* No certificate anywhere: refused before any call, naming what is missing. */
  CU_ASSERT_EQUAL(xc_test_cli_run(nocert, fake_env, &out, &errs), XC_EXIT_USAGE);
  CU_ASSERT_STRING_EQUAL(out, "");
  CU_ASSERT_PTR_NOT_NULL(strstr(errs, "xuncha: "));
  free(out);
  free(errs);
}

int main(void) {
  CU_pSuite s;
  unsigned failures;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("cli sync", NULL, NULL);
  CU_add_test(s, "watch: waits for the run to start", test_watch_waits_for_the_run_to_start);
  CU_add_test(s, "watch: done after running", test_watch_done_after_running);
  CU_add_test(s, "watch: done without seeing it run", test_watch_done_without_seeing_it_run);
  CU_add_test(s, "watch: failed", test_watch_failed);
  CU_add_test(s, "percent", test_percent);
  CU_add_test(s, "progress bar", test_bar);
  CU_add_test(s, "durations in words", test_duration);
  CU_add_test(s, "local times", test_local_time);
  CU_add_test(s, "words for problems and directions", test_words);
  CU_add_test(s, "command line", test_command_line);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failures == 0 ? 0 : 1;
}
