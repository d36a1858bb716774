/*
 * xc_cli_sync.h: the `xuncha sync` commands (now, status, verify) for the
 * federation of county, township and city servers (xuncha.v1.Sync), with
 * their own parser like the audit commands (xc_cli_audit.h).
 *
 * The formatting and progress helpers below are pure (no I/O, no server)
 * so the unit tests run the same code the tool does. Every function that
 * writes into a caller's buffer truncates to its size and always ends it
 * with a NUL; none keeps a reference to its arguments.
 */
#ifndef XC_CLI_SYNC_H
#define XC_CLI_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xc_config.h"
#include "xuncha/client.h"

/* Exit status of `sync verify` when the servers differ. */
#define XC_CLI_SYNC_EXIT_DIFFERS 1
/* Exit status of `sync now` when the run ended with an error or did not
 * end within --timeout. */
#define XC_CLI_SYNC_EXIT_FAILED 5
/* Default and largest --timeout of `sync now` and `sync verify`, seconds. */
#define XC_CLI_SYNC_DEFAULT_TIMEOUT_S 600
#define XC_CLI_SYNC_MAX_TIMEOUT_S (24 * 3600)
/* How often `sync now` asks for the status, milliseconds. */
#define XC_CLI_SYNC_POLL_MS 200

/*
 * Runs argv if its command is `sync` (then *handled = 1 and the exit status
 * is returned); otherwise sets *handled = 0 and returns 0.
 */
int xc_cli_sync_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                     int *handled);

/* Prints the usage of `xuncha sync`. */
void xc_cli_sync_usage(FILE *out);

/* Where a run watched by `sync now` stands after one status poll. */
typedef enum xc_cli_sync_state {
  XC_CLI_SYNC_STATE_WAITING, /* not started yet, or under way */
  XC_CLI_SYNC_STATE_DONE,    /* ended without error */
  XC_CLI_SYNC_STATE_FAILED   /* ended with last_error set */
} xc_cli_sync_state;

/*
 * What `sync now` remembers between polls. Fill base_* from the upstream
 * peer's status read before SyncNow (zeros if there was none) and total
 * from SyncNowResponse.pending; xc_cli_sync_watch_step keeps the rest.
 */
typedef struct xc_cli_sync_watch {
  int64_t base_attempt_ms; /* last_attempt_ms before SyncNow */
  int64_t base_success_ms; /* last_success_ms before SyncNow */
  uint64_t total;          /* changes to move: pending at the start, or more */
  uint64_t done;           /* pushed + pulled at the last poll */
  int seen_running;        /* a poll saw running = true */
} xc_cli_sync_watch;

/*
 * Takes one poll of the upstream peer (p may be NULL: the server listed no
 * upstream, which counts as waiting) and says whether the run has ended and
 * how. A run has ended once the peer is not running and either a poll saw
 * it running or its last attempt or last success changed since SyncNow, so
 * an idle peer before the run starts is not mistaken for a finished run.
 * done grows to pushed + pulled; total grows to at least done.
 */
xc_cli_sync_state xc_cli_sync_watch_step(xc_cli_sync_watch *w, const Xuncha__V1__PeerStatus *p);

/* done out of total in whole percent, 0 to 100 (total 0: 100 if done is
 * also 0 else 0 — nothing to move counts as complete). */
int xc_cli_sync_percent(uint64_t done, uint64_t total);

/*
 * Writes a progress bar "[######      ]  50%  1500/3000" of `width` cells
 * (4 to 100; others are clamped) into buf.
 */
void xc_cli_sync_bar(char *buf, size_t size, uint64_t done, uint64_t total, int width);

/*
 * Writes a duration in words, to the two largest units: "0秒", "850毫秒",
 * "42秒", "3分5秒", "2小时4分", "3天1小时". Negative counts as 0.
 */
void xc_cli_sync_duration(int64_t ms, char *buf, size_t size);

/* Writes ms since the epoch as local "YYYY-MM-DD HH:MM:SS", or "从未" for
 * 0 (never). */
void xc_cli_sync_local_time(int64_t ms, char *buf, size_t size);

/* The words for a RecordDifference.problem ("missing here" → "本端缺少",
 * "missing upstream" → "上级缺少", "differs" → "内容不一致"); an unknown
 * problem is returned as given. Never NULL (NULL gives ""). */
const char *xc_cli_sync_problem_words(const char *problem);

/* The words for a PeerStatus.direction: "上级" (upstream), "下级"
 * (downstream); an unknown direction is returned as given. */
const char *xc_cli_sync_direction_words(const char *direction);

#endif /* XC_CLI_SYNC_H */
