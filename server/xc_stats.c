/* xc_stats.c: lock-free call counters (xc_stats.h). */
#include "xc_stats.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

const int64_t xc_stats_bounds_us[XC_STATS_BUCKETS - 1] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

typedef struct xc__stat {
  atomic_uint_fast64_t by_code[XC_STATS_CODES];
  atomic_uint_fast64_t buckets[XC_STATS_BUCKETS];
  atomic_uint_fast64_t sum_us;
} xc__stat;

/* Row XC_STATS_MAX_METHODS is "other". Zero-initialized static storage is
 * a valid state for atomics. */
static xc__stat xc__rows[XC_STATS_MAX_METHODS + 1];
static atomic_llong xc__start_ms;

/* Finds the row of m: its index in the method table. */
static size_t xc__row(const xc_method *m) {
  size_t n = 0;
  const xc_method *base = xc_methods(&n);
  if (m != NULL && m >= base && m < base + n && (size_t)(m - base) < XC_STATS_MAX_METHODS)
    return (size_t)(m - base);
  return XC_STATS_MAX_METHODS;
}

void xc_stats_call(const xc_method *m, int code, int64_t latency_us) {
  xc__stat *s = &xc__rows[xc__row(m)];
  int g = code <= 0 ? -code : 2; /* xc codes are -grpc codes; 2 = UNKNOWN */
  size_t b = 0;
  if (g >= XC_STATS_CODES) g = 2;
  if (latency_us < 0) latency_us = 0;
  /* A binary search would save a few compares; 17 predictable ones are
   * cheaper than a mispredicted branch. */
  while (b < XC_STATS_BUCKETS - 1 && latency_us > xc_stats_bounds_us[b]) b++;
  atomic_fetch_add_explicit(&s->by_code[g], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)latency_us, memory_order_relaxed);
}

size_t xc_stats_read(xc_stats_row *out, size_t n) {
  size_t count = 0, nm = 0;
  const xc_method *base = xc_methods(&nm);
  for (size_t i = 0; i <= XC_STATS_MAX_METHODS && count < n; i++) {
    xc_stats_row r;
    if (i < XC_STATS_MAX_METHODS && i >= nm) continue;
    memset(&r, 0, sizeof r);
    r.method = i < XC_STATS_MAX_METHODS ? base[i].path : "other";
    for (int c = 0; c < XC_STATS_CODES; c++) {
      r.by_code[c] = atomic_load_explicit(&xc__rows[i].by_code[c], memory_order_relaxed);
      r.calls += r.by_code[c];
    }
    if (r.calls == 0) continue;
    for (int b = 0; b < XC_STATS_BUCKETS; b++)
      r.buckets[b] = atomic_load_explicit(&xc__rows[i].buckets[b], memory_order_relaxed);
    r.sum_us = atomic_load_explicit(&xc__rows[i].sum_us, memory_order_relaxed);
    out[count++] = r;
  }
  return count;
}

int64_t xc_stats_percentile(const xc_stats_row *row, double q) {
  uint64_t total = 0, seen = 0, want;
  for (int b = 0; b < XC_STATS_BUCKETS; b++) total += row->buckets[b];
  if (total == 0) return 0;
  want = (uint64_t)(q * (double)total);
  if (want < 1) want = 1;
  for (int b = 0; b < XC_STATS_BUCKETS; b++) {
    seen += row->buckets[b];
    if (seen >= want)
      return b < XC_STATS_BUCKETS - 1 ? xc_stats_bounds_us[b]
                                      : 2 * xc_stats_bounds_us[XC_STATS_BUCKETS - 2];
  }
  return 2 * xc_stats_bounds_us[XC_STATS_BUCKETS - 2];
}

void xc_stats_started(void) {
  struct timespec ts;
  long long zero = 0;
  clock_gettime(CLOCK_REALTIME, &ts);
  (void)atomic_compare_exchange_strong(&xc__start_ms, &zero,
                                       (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t xc_stats_start_ms(void) {
  return atomic_load(&xc__start_ms);
}
