/*
 * xc_log.h: the log lines of xunchad, on stderr.
 *
 * One line per call: time (UTC, ms), level, method, the caller's CN, status,
 * latency in microseconds and, for failures, the status message. Each line
 * is written with one write(2), so lines of concurrent calls never mix.
 * gRPC's own messages (TLS refusals among them) also go to stderr, through
 * gpr_log, and are left alone.
 */
#ifndef XC_LOG_H
#define XC_LOG_H

#include <stdint.h>

#include "xc_status.h"

typedef enum xc_log_level { XC_LOG_INFO = 0, XC_LOG_WARN = 1, XC_LOG_ERROR = 2 } xc_log_level;

/* Writes one free-form line at `level`. */
void xc_log(xc_log_level level, const char *fmt, ...) XC_PRINTF(2, 3);

/*
 * Writes the line for one finished call. code is an xc_code; msg may be
 * NULL or "". Server faults (INTERNAL, DATA_LOSS, UNKNOWN) log as ERROR,
 * UNAVAILABLE and RESOURCE_EXHAUSTED (shutdown, overload, full disk) as
 * WARN, everything else as INFO.
 */
void xc_log_call(const char *method, const char *peer, int code, const char *msg,
                 int64_t latency_us);

/* Formats the current UTC time as "2025-01-31T08:00:00.123Z" into out. */
void xc_log_time(char *out, size_t size);

#endif /* XC_LOG_H */
