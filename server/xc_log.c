#include "xc_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const xc__levels[] = {"INFO", "WARN", "ERROR"};

void xc_log_time(char *out, size_t size) {
  struct timespec ts;
  struct tm tm;
  char base[32];
  clock_gettime(CLOCK_REALTIME, &ts);
  if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
      strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    base[0] = '\0';
  (void)snprintf(out, size, "%s.%03ldZ", base, (long)(ts.tv_nsec / 1000000));
}

/* Writes line (without its newline) and a newline in one write(2). */
static void xc__emit(char *line, size_t cap, int n) {
  size_t len;
  if (n < 0) return;
  len = (size_t)n;
  if (len >= cap - 1) len = cap - 2; /* cut: keep room for the newline */
  /* Newlines inside messages would break the one-line-per-event rule. */
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  line[len] = '\n';
  (void)!write(STDERR_FILENO, line, len + 1);
}

void xc_log(xc_log_level level, const char *fmt, ...) {
  char line[1024], when[40];
  int n;
  va_list ap;
  xc_log_time(when, sizeof when);
  n = snprintf(line, sizeof line, "%s %s ", when, xc__levels[level]);
  if (n < 0 || (size_t)n >= sizeof line) return;
  va_start(ap, fmt);
  {
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    n = m < 0 ? -1 : n + m;
  }
  va_end(ap);
  xc__emit(line, sizeof line, n);
}

void xc_log_call(const char *method, const char *peer, int code, const char *msg,
                 int64_t latency_us) {
  char line[1024], when[40];
  xc_log_level level = XC_LOG_INFO;
  int n;
  if (code == XC_EINTERNAL || code == XC_EDATA_LOSS || code == XC_EUNKNOWN)
    level = XC_LOG_ERROR;
  else if (code == XC_EUNAVAILABLE || code == XC_ERESOURCE_EXHAUSTED)
    level = XC_LOG_WARN;
  xc_log_time(when, sizeof when);
  if (msg != NULL && msg[0] != '\0' && code != XC_OK)
    n = snprintf(line, sizeof line, "%s %s %s peer=%s status=%s latency_us=%lld msg=\"%s\"", when,
                 xc__levels[level], method, peer && peer[0] ? peer : "-", xc_code_name(code),
                 (long long)latency_us, msg);
  else
    n = snprintf(line, sizeof line, "%s %s %s peer=%s status=%s latency_us=%lld", when,
                 xc__levels[level], method, peer && peer[0] ? peer : "-", xc_code_name(code),
                 (long long)latency_us);
  xc__emit(line, sizeof line, n);
}
