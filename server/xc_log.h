/*
 * xc_log.h: the log of xunchad.
 *
 * One line per event in logfmt (key=value pairs, values with spaces or
 * quotes in double quotes):
 *
 *   ts=2026-03-01T08:00:00.123Z level=info req=6f1c0a2b00000001
 *     peer=office:3101 method=/xuncha.v1.Targets/GetTarget status=OK latency_us=212
 *
 * Other events carry ts, level and msg. Lines go to stderr (journald picks
 * them up when xunchad runs under systemd), each with one write(2) so lines
 * of concurrent calls never mix, or to syslog (facility daemon). The level
 * below which lines are dropped can change at any time (SIGHUP re-reads it);
 * it is an atomic, so logging takes no lock. gRPC's own messages (TLS
 * refusals among them) go to stderr through gpr_log and are left alone.
 */
#ifndef XC_LOG_H
#define XC_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"

typedef enum xc_log_level {
  XC_LOG_DEBUG = 0,
  XC_LOG_INFO = 1,
  XC_LOG_WARN = 2,
  XC_LOG_ERROR = 3
} xc_log_level;

typedef enum xc_log_target { XC_LOG_STDERR = 0, XC_LOG_SYSLOG = 1 } xc_log_target;

/* Room for a request id and its NUL: incoming ids longer than this are
 * replaced by one of ours. */
#define XC_LOG_REQ_ID_MAX 65

/* Writes one free-form line at `level` (dropped below the current level). */
void xc_log(xc_log_level level, const char *fmt, ...) XC_PRINTF(2, 3);

/*
 * Writes the line for one finished call. code is an xc_code; msg may be
 * NULL or "". req is the call's request id (NULL or "": one is made up).
 * Server faults (INTERNAL, DATA_LOSS, UNKNOWN) log as error, UNAVAILABLE and
 * RESOURCE_EXHAUSTED (shutdown, overload, full disk) as warn, everything
 * else as info.
 */
void xc_log_call_req(const char *method, const char *peer, const char *req, int code,
                     const char *msg, int64_t latency_us);

/* xc_log_call_req with a made-up request id. */
void xc_log_call(const char *method, const char *peer, int code, const char *msg,
                 int64_t latency_us);

/*
 * Makes the request id of a call into out (XC_LOG_REQ_ID_MAX bytes): the
 * incoming value (len bytes, not NUL-terminated; NULL when absent) if it is
 * 1 to 64 characters of [A-Za-z0-9._:-], else a new id unique within the
 * process (16 hex digits: a random process prefix and a counter).
 */
void xc_log_request_id(char *out, const char *incoming, size_t len);

/* Sets and reads the current level. Thread-safe. */
void xc_log_set_level(xc_log_level level);
xc_log_level xc_log_get_level(void);

/*
 * Sends lines to stderr or to syslog (openlog "xunchad", facility daemon).
 * Call it before threads start logging (at start, or from the thread that
 * handles SIGHUP: a line written meanwhile goes to one of the two).
 */
void xc_log_set_target(xc_log_target target);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int xc_log_level_parse(const char *s, xc_log_level *out) XC_WARN_UNUSED_RESULT;

/* Returns "debug", "info", "warn" or "error". */
const char *xc_log_level_name(xc_log_level level);

/* Formats the current UTC time as "2025-01-31T08:00:00.123Z" into out. */
void xc_log_time(char *out, size_t size);

#endif /* XC_LOG_H */
