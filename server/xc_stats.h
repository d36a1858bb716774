/*
 * xc_stats.h: call counters of xunchad, for xuncha.v1.Admin/GetStats.
 *
 * Per method of the method table (xc_methods()) and one "other" row for
 * unknown methods: a count per gRPC status code and a fixed-bucket latency
 * histogram. Recording a call is three relaxed atomic increments, with no
 * lock, so it costs next to nothing on the hot path. The counters live for
 * the whole process (static storage) and count from its start.
 */
#ifndef XC_STATS_H
#define XC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "xc_handler.h"

/* Latency buckets: upper bounds in microseconds; the last bucket has none. */
#define XC_STATS_BUCKETS 18
extern const int64_t xc_stats_bounds_us[XC_STATS_BUCKETS - 1];

/* Most methods counted one by one; a larger table counts the rest as other. */
#define XC_STATS_MAX_METHODS 128

/* gRPC status codes 0..16. */
#define XC_STATS_CODES 17

/* Records one finished call of method m (NULL: not a method we serve). */
void xc_stats_call(const xc_method *m, int code, int64_t latency_us);

/* A copy of one row. */
typedef struct xc_stats_row {
  const char *method; /* static: the table's path, or "other" */
  uint64_t calls;
  uint64_t by_code[XC_STATS_CODES]; /* index: gRPC status code */
  uint64_t buckets[XC_STATS_BUCKETS];
  uint64_t sum_us;
} xc_stats_row;

/*
 * Copies the rows with at least one call into out (room for n rows; at most
 * XC_STATS_MAX_METHODS + 1 are ever needed) and returns how many it wrote.
 * Counters move while they are read, so a row is consistent only to within
 * the calls that finished meanwhile.
 */
size_t xc_stats_read(xc_stats_row *out, size_t n);

/* The latency (upper bucket bound, µs) under which a fraction q (0..1) of
 * the row's calls finished; for the last bucket, twice the last bound. */
int64_t xc_stats_percentile(const xc_stats_row *row, double q);

/* Marks the server's start (for uptime); the first call wins. */
void xc_stats_started(void);
/* The start time in ms since the epoch (0 before xc_stats_started). */
int64_t xc_stats_start_ms(void);

#endif /* XC_STATS_H */
