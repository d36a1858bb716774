/* xc_log.c: logfmt lines to stderr or syslog (xc_log.h). */
#include "xc_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

/* A line longer than this is cut (its end replaced by "..."). */
#define XC__LINE_MAX 2048

static const char *const xc__levels[] = {"debug", "info", "warn", "error"};
static const int xc__syslog_prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};

static atomic_int xc__level = XC_LOG_INFO;
static atomic_int xc__target = XC_LOG_STDERR;

/* The request-id generator: a random prefix drawn once, and a counter. */
static atomic_uint_fast64_t xc__req_counter;
static atomic_uint xc__req_prefix;
static atomic_int xc__req_prefix_ready;

void xc_log_set_level(xc_log_level level) {
  atomic_store(&xc__level, (int)level);
}

xc_log_level xc_log_get_level(void) {
  return (xc_log_level)atomic_load(&xc__level);
}

void xc_log_set_target(xc_log_target target) {
  if (target == XC_LOG_SYSLOG && atomic_load(&xc__target) != XC_LOG_SYSLOG)
    openlog("xunchad", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  atomic_store(&xc__target, (int)target);
}

int xc_log_level_parse(const char *s, xc_log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, xc__levels[i]) == 0) {
      *out = (xc_log_level)i;
      return 0;
    }
  }
  return -1;
}

const char *xc_log_level_name(xc_log_level level) {
  return (unsigned)level < 4 ? xc__levels[level] : "info";
}

/* The seconds part of the last time this thread formatted: every access
 * log line carries a time, and within one second only the milliseconds
 * change, so gmtime and strftime run once a second per thread. */
static _Thread_local time_t xc__time_sec = -1;
static _Thread_local char xc__time_base[32];

void xc_log_time(char *out, size_t size) {
  struct timespec ts;
  char full[40];
  size_t n;
  long ms;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != xc__time_sec) {
    struct tm tm;
    if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(xc__time_base, sizeof xc__time_base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
      xc__time_base[0] = '\0';
      xc__time_sec = -1;
    } else {
      xc__time_sec = ts.tv_sec;
    }
  }
  if (size == 0) return;
  n = strlen(xc__time_base);
  ms = (long)(ts.tv_nsec / 1000000);
  memcpy(full, xc__time_base, n);
  full[n++] = '.';
  full[n++] = (char)('0' + ms / 100);
  full[n++] = (char)('0' + ms / 10 % 10);
  full[n++] = (char)('0' + ms % 10);
  full[n++] = 'Z';
  if (n > size - 1) n = size - 1;
  memcpy(out, full, n);
  out[n] = '\0';
}

/* Writes v in lower-case hex as exactly `digits` digits at out. */
static void xc__hex(char *out, unsigned long long v, int digits) {
  static const char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; i--) {
    out[i] = hex[v & 0xf];
    v >>= 4;
  }
}

/* The characters an incoming request id may use (safe in a log line). */
static int xc__id_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

void xc_log_request_id(char *out, const char *incoming, size_t len) {
  uint64_t n;
  if (incoming != NULL && len > 0 && len < XC_LOG_REQ_ID_MAX) {
    size_t i = 0;
    while (i < len && xc__id_char(incoming[i])) i++;
    if (i == len) {
      memcpy(out, incoming, len);
      out[len] = '\0';
      return;
    }
  }
  if (!atomic_load_explicit(&xc__req_prefix_ready, memory_order_acquire)) {
    /* Two threads may both draw a prefix; either is fine, ids stay unique
     * because the counter is shared. */
    unsigned p = 0;
    if (RAND_bytes((unsigned char *)&p, (int)sizeof p) != 1) p = (unsigned)getpid();
    atomic_store(&xc__req_prefix, p);
    atomic_store_explicit(&xc__req_prefix_ready, 1, memory_order_release);
  }
  n = atomic_fetch_add_explicit(&xc__req_counter, 1, memory_order_relaxed) + 1;
  /* "%08x%08llx" of prefix and counter, without printf on every call. */
  xc__hex(out, atomic_load(&xc__req_prefix), 8);
  xc__hex(out + 8, n & 0xffffffffu, 8);
  out[16] = '\0';
}

/* A line under construction; `len` never exceeds XC__LINE_MAX - 2 so a
 * newline and a NUL always fit. */
typedef struct xc__line {
  char buf[XC__LINE_MAX];
  size_t len;
  int cut;
} xc__line;

/* Appends n bytes, cutting (and marking the line cut) at the limit. */
static void xc__put(xc__line *l, const char *s, size_t n) {
  size_t room = XC__LINE_MAX - 2 - l->len;
  if (n > room) {
    n = room;
    l->cut = 1;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

/* Appends " key=value", quoting the value when logfmt needs it and
 * escaping quotes, backslashes and control characters, so every line
 * stays one line that a logfmt parser reads back. */
static void xc__kv(xc__line *l, const char *key, const char *value) {
  int quote = value[0] == '\0';
  if (l->len > 0) xc__put(l, " ", 1);
  xc__put(l, key, strlen(key));
  xc__put(l, "=", 1);
  for (const char *p = value; *p && !quote; p++)
    if (*p == ' ' || *p == '=' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20) quote = 1;
  if (!quote) {
    xc__put(l, value, strlen(value));
    return;
  }
  xc__put(l, "\"", 1);
  for (const char *p = value; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\') {
      char esc[2] = {'\\', (char)ch};
      xc__put(l, esc, 2);
    } else if (ch == '\n') {
      xc__put(l, "\\n", 2);
    } else if (ch < 0x20 || ch == 0x7f) {
      xc__put(l, " ", 1);
    } else {
      xc__put(l, p, 1);
    }
  }
  xc__put(l, "\"", 1);
}

/* Starts a line with ts (stderr only: syslog stamps its own) and level. */
static void xc__begin(xc__line *l, xc_log_level level, int to_syslog) {
  l->len = 0;
  l->cut = 0;
  if (!to_syslog) {
    char when[40];
    xc_log_time(when, sizeof when);
    xc__kv(l, "ts", when);
  }
  xc__kv(l, "level", xc_log_level_name(level));
}

/* Writes the line with one write(2), or to syslog. */
static void xc__emit(xc__line *l, xc_log_level level, int to_syslog) {
  if (l->cut && l->len >= 3) memcpy(l->buf + l->len - 3, "...", 3);
  if (to_syslog) {
    l->buf[l->len] = '\0';
    syslog(xc__syslog_prio[level], "%s", l->buf);
    return;
  }
  l->buf[l->len] = '\n';
  (void)!write(STDERR_FILENO, l->buf, l->len + 1);
}

void xc_log(xc_log_level level, const char *fmt, ...) {
  xc__line l;
  char msg[1024];
  int to_syslog;
  va_list ap;
  if ((int)level < atomic_load_explicit(&xc__level, memory_order_relaxed)) return;
  to_syslog = atomic_load(&xc__target) == XC_LOG_SYSLOG;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) msg[0] = '\0';
  va_end(ap);
  xc__begin(&l, level, to_syslog);
  xc__kv(&l, "msg", msg);
  xc__emit(&l, level, to_syslog);
}

void xc_log_call_req(const char *method, const char *peer, const char *req, int code,
                     const char *msg, int64_t latency_us) {
  xc__line l;
  xc_log_level level = XC_LOG_INFO;
  char lat[24], rid[XC_LOG_REQ_ID_MAX];
  int to_syslog;
  if (code == XC_EINTERNAL || code == XC_EDATA_LOSS || code == XC_EUNKNOWN)
    level = XC_LOG_ERROR;
  else if (code == XC_EUNAVAILABLE || code == XC_ERESOURCE_EXHAUSTED)
    level = XC_LOG_WARN;
  if ((int)level < atomic_load_explicit(&xc__level, memory_order_relaxed)) return;
  to_syslog = atomic_load(&xc__target) == XC_LOG_SYSLOG;
  if (req == NULL || req[0] == '\0') {
    xc_log_request_id(rid, NULL, 0);
    req = rid;
  }
  {
    /* "%lld" by hand: this runs for every call. */
    char digits[24];
    unsigned long long v = latency_us < 0 ? 0ull - (unsigned long long)latency_us
                                          : (unsigned long long)latency_us;
    size_t n = 0, k = 0;
    do {
      digits[n++] = (char)('0' + v % 10);
      v /= 10;
    } while (v > 0);
    if (latency_us < 0) lat[k++] = '-';
    while (n > 0) lat[k++] = digits[--n];
    lat[k] = '\0';
  }
  xc__begin(&l, level, to_syslog);
  xc__kv(&l, "req", req);
  xc__kv(&l, "peer", peer != NULL && peer[0] != '\0' ? peer : "-");
  xc__kv(&l, "method", method);
  xc__kv(&l, "status", xc_code_name(code));
  xc__kv(&l, "latency_us", lat);
  if (msg != NULL && msg[0] != '\0' && code != XC_OK) xc__kv(&l, "msg", msg);
  xc__emit(&l, level, to_syslog);
}

void xc_log_call(const char *method, const char *peer, int code, const char *msg,
                 int64_t latency_us) {
  xc_log_call_req(method, peer, NULL, code, msg, latency_us);
}
