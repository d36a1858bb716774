#include "xc_clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xc_text.h"

/* Set once before the server starts; read-only afterwards. */
static const char *xc__clock_file;

void xc_clock_set_file(const char *path) { xc__clock_file = path; }

/* Returns the real time in ms since the epoch. */
static int64_t xc__real_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t xc__days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

int64_t xc_clock_now_ms(void) {
  char buf[64];
  FILE *f;
  size_t n;
  int64_t real = xc__real_ms();
  long long v = 0;
  if (xc__clock_file == NULL) return real;
  f = fopen(xc__clock_file, "r");
  if (f == NULL) return real;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
  if (n == 0) return real;
  if (n == 10 && xc_date_valid(buf)) {
    long long y = 0, m = 0, d = 0;
    char part[5];
    memcpy(part, buf, 4);
    part[4] = '\0';
    (void)xc_parse_int64(part, 1, 9999, &y);
    memcpy(part, buf + 5, 2);
    part[2] = '\0';
    (void)xc_parse_int64(part, 1, 12, &m);
    memcpy(part, buf + 8, 2);
    (void)xc_parse_int64(part, 1, 31, &d);
    /* Noon CST is 04:00 UTC: far from either midnight. */
    return xc__days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000LL + 4 * 3600000LL;
  }
  if (buf[0] == '+' || buf[0] == '-') {
    if (xc_parse_int64(buf + 1, 0, (long long)1 << 50, &v) != 0) return real;
    return buf[0] == '+' ? real + v : real - v;
  }
  if (xc_parse_int64(buf, 0, (long long)1 << 50, &v) != 0) return real;
  return (int64_t)v;
}

void xc_clock_date_of_ms(int64_t ms, char out[11]) {
  /* By arithmetic rather than gmtime_r and strftime: lists call this for
   * every record they decorate. Days to civil date: H. Hinnant's algorithm
   * (proleptic Gregorian, as gmtime). Years outside 1000..9999 do not make
   * a YYYY-MM-DD date and give 1970-01-01, as before. */
  int64_t y = 0;
  int m = 1, d = 1;
  if (ms >= -(INT64_C(1) << 52) && ms <= (INT64_C(1) << 52)) xc_civil_cst_of_ms(ms, &y, &m, &d);
  if (y < 1000 || y > 9999) {
    memcpy(out, "1970-01-01", 11);
    return;
  }
  (void)xc_fmt_date(out, (int)y, m, d);
}

void xc_clock_today_cst(char out[11]) { xc_clock_date_of_ms(xc_clock_now_ms(), out); }
