/* xc_conf.c: xunchad's settings from flags and the config file (xc_conf.h). */
#include "xc_conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "xc_text.h"

typedef enum xc__ctype { XC__C_STR, XC__C_INT, XC__C_SIZE, XC__C_LEVEL, XC__C_TARGET } xc__ctype;

/* Every key the file accepts. The table is the one place to add a key. */
static const struct xc__key {
  const char *section;
  const char *name;
  unsigned bit;
  xc__ctype type;
  size_t offset; /* of the field in xc_conf */
  size_t size;   /* strings: the buffer's size */
  long long min, max;
} xc__keys[] = {
    {"server", "listen", XC_CONF_LISTEN, XC__C_STR, offsetof(xc_conf, listen),
     sizeof(((xc_conf *)0)->listen), 0, 0},
    {"server", "workers", XC_CONF_WORKERS, XC__C_INT, offsetof(xc_conf, workers), 0, 1, 256},
    {"server", "cq_threads", XC_CONF_CQ_THREADS, XC__C_INT, offsetof(xc_conf, cq_threads), 0, 1,
     16},
    {"server", "port_file", XC_CONF_PORT_FILE, XC__C_STR, offsetof(xc_conf, port_file),
     XC_CONF_PATH_MAX, 0, 0},
    {"tls", "cert", XC_CONF_CERT, XC__C_STR, offsetof(xc_conf, cert), XC_CONF_PATH_MAX, 0, 0},
    {"tls", "key", XC_CONF_KEY, XC__C_STR, offsetof(xc_conf, key), XC_CONF_PATH_MAX, 0, 0},
    {"tls", "ca", XC_CONF_CA, XC__C_STR, offsetof(xc_conf, ca), XC_CONF_PATH_MAX, 0, 0},
    {"storage", "data", XC_CONF_DATA, XC__C_STR, offsetof(xc_conf, data), XC_CONF_PATH_MAX, 0,
     0},
    {"storage", "map_size", XC_CONF_MAP_SIZE, XC__C_SIZE, offsetof(xc_conf, map_size), 0, 0, 0},
    {"storage", "map_max", XC_CONF_MAP_MAX, XC__C_SIZE, offsetof(xc_conf, map_max), 0, 0, 0},
    {"log", "level", XC_CONF_LOG_LEVEL, XC__C_LEVEL, offsetof(xc_conf, log_level), 0, 0, 0},
    {"log", "target", XC_CONF_LOG_TARGET, XC__C_TARGET, offsetof(xc_conf, log_target), 0, 0, 0},
    {"pool", "conflict_years", XC_CONF_CONFLICT_YEARS, XC__C_INT,
     offsetof(xc_conf, conflict_years), 0, 1, 50},
    {"tls", "crl", XC_CONF_CRL, XC__C_STR, offsetof(xc_conf, crl), XC_CONF_PATH_MAX, 0, 0},
    {"audit", "hash", XC_CONF_AUDIT_HASH, XC__C_STR, offsetof(xc_conf, audit_hash),
     sizeof(((xc_conf *)0)->audit_hash), 0, 0},
    /* At least six months: the retention the inspection rules ask for. */
    {"audit", "retention_days", XC_CONF_AUDIT_RETENTION, XC__C_INT,
     offsetof(xc_conf, audit_retention_days), 0, 183, 36500},
    {"audit", "checkpoint_file", XC_CONF_AUDIT_CHECKPOINTS, XC__C_STR,
     offsetof(xc_conf, audit_checkpoints), XC_CONF_PATH_MAX, 0, 0},
    {"sync", "name", XC_CONF_SYNC_NAME, XC__C_STR, offsetof(xc_conf, sync_name),
     sizeof(((xc_conf *)0)->sync_name), 0, 0},
    {"sync", "homes", XC_CONF_SYNC_HOMES, XC__C_STR, offsetof(xc_conf, sync_homes),
     XC_CONF_PATH_MAX, 0, 0},
    {"sync", "upstream", XC_CONF_SYNC_UPSTREAM, XC__C_STR, offsetof(xc_conf, sync_upstream),
     sizeof(((xc_conf *)0)->sync_upstream), 0, 0},
    {"sync", "cert", XC_CONF_SYNC_CERT, XC__C_STR, offsetof(xc_conf, sync_cert),
     XC_CONF_PATH_MAX, 0, 0},
    {"sync", "key", XC_CONF_SYNC_KEY, XC__C_STR, offsetof(xc_conf, sync_key), XC_CONF_PATH_MAX, 0,
     0},
    {"sync", "ca", XC_CONF_SYNC_CA, XC__C_STR, offsetof(xc_conf, sync_ca), XC_CONF_PATH_MAX, 0, 0},
    {"sync", "interval", XC_CONF_SYNC_INTERVAL, XC__C_INT, offsetof(xc_conf, sync_interval), 0, 1,
     86400},
    {"sync", "batch", XC_CONF_SYNC_BATCH, XC__C_INT, offsetof(xc_conf, sync_batch), 0, 1, 2000},
};

#define XC__NKEYS (sizeof xc__keys / sizeof xc__keys[0])

/* Map sizes: at least 1 MiB, at most 16 TiB. */
#define XC__SIZE_MIN (1ull << 20)
#define XC__SIZE_MAX (16ull << 40)

void xc_conf_defaults(xc_conf *c) {
  memset(c, 0, sizeof *c);
  (void)xc_strlcpy(c->listen, "127.0.0.1:7443", sizeof c->listen);
  c->workers = 8;
  c->cq_threads = 1;
  c->log_level = XC_LOG_INFO;
  c->log_target = XC_LOG_STDERR;
  c->conflict_years = 3;
  (void)xc_strlcpy(c->audit_hash, "sha256", sizeof c->audit_hash);
  c->audit_retention_days = 183;
  c->sync_interval = 30;
  c->sync_batch = 500;
}

int xc_conf_parse_size(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out) {
  char num[32];
  size_t n = strlen(s);
  unsigned shift = 0;
  long long v = 0;
  if (n == 0 || n >= sizeof num) return -1;
  memcpy(num, s, n + 1);
  switch (num[n - 1]) {
    case 'K':
    case 'k':
      shift = 10;
      break;
    case 'M':
    case 'm':
      shift = 20;
      break;
    case 'G':
    case 'g':
      shift = 30;
      break;
    case 'T':
    case 't':
      shift = 40;
      break;
    default:
      break;
  }
  if (shift != 0) num[n - 1] = '\0';
  /* 2^62 >> shift keeps the shifted value below 2^63. */
  if (xc_parse_int64(num, 0, (long long)((1ull << 62) >> shift), &v) != 0) return -1;
  if (((unsigned long long)v << shift) < min || ((unsigned long long)v << shift) > max) return -1;
  *out = (unsigned long long)v << shift;
  return 0;
}

/* Finds the key; NULL if the section or name is unknown. */
static const struct xc__key *xc__find(const char *section, const char *name) {
  for (size_t i = 0; i < XC__NKEYS; i++)
    if (strcmp(xc__keys[i].section, section) == 0 && strcmp(xc__keys[i].name, name) == 0)
      return &xc__keys[i];
  return NULL;
}

int xc_conf_set(xc_conf *c, const char *section, const char *name, const char *value,
                xc_err *err) {
  const struct xc__key *k = xc__find(section, name);
  char *field;
  if (k == NULL) {
    int known_section = 0;
    for (size_t i = 0; i < XC__NKEYS; i++) known_section |= strcmp(xc__keys[i].section, section) == 0;
    if (!known_section)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "unknown section [%s] (sections: server, tls, storage, log, pool, audit, sync)",
                        section);
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "unknown key '%s' in [%s]", name, section);
  }
  field = (char *)c + k->offset;
  switch (k->type) {
    case XC__C_STR:
      if (value[0] == '\0' || strlen(value) >= k->size)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s must be 1 to %zu bytes", name,
                          k->size - 1);
      (void)xc_strlcpy(field, value, k->size);
      break;
    case XC__C_INT: {
      long long v;
      if (xc_parse_int64(value, k->min, k->max, &v) != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s must be a number from %lld to %lld, not '%s'",
                          name, k->min, k->max, value);
      memcpy(field, &v, sizeof v);
      break;
    }
    case XC__C_SIZE: {
      unsigned long long v;
      if (xc_conf_parse_size(value, XC__SIZE_MIN, XC__SIZE_MAX, &v) != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "%s must be a size from 1M to 16T (a number with an optional K, M, G "
                          "or T suffix), not '%s'",
                          name, value);
      memcpy(field, &v, sizeof v);
      break;
    }
    case XC__C_LEVEL: {
      xc_log_level lv;
      if (xc_log_level_parse(value, &lv) != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "level must be debug, info, warn or error, not '%s'", value);
      memcpy(field, &lv, sizeof lv);
      break;
    }
    case XC__C_TARGET: {
      xc_log_target t;
      if (strcmp(value, "stderr") == 0)
        t = XC_LOG_STDERR;
      else if (strcmp(value, "syslog") == 0)
        t = XC_LOG_SYSLOG;
      else
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "target must be stderr or syslog, not '%s'",
                          value);
      memcpy(field, &t, sizeof t);
      break;
    }
  }
  c->set |= k->bit;
  return XC_OK;
}

/* What the inih callback needs: the settings, what the file set so far
 * (to refuse a key given twice) and the first error. */
typedef struct xc__load {
  xc_conf *c;
  unsigned seen;
  int failed;
  xc_err err;
} xc__load;

/* inih's callback: one key. Returns 1 to go on, 0 on the first error
 * (kept in ld->err; inih reports its line). */
static int xc__on_key(void *user, const char *section, const char *name, const char *value) {
  xc__load *ld = user;
  const struct xc__key *k;
  if (ld->failed) return 0;
  k = xc__find(section, name);
  if (k != NULL && (ld->seen & k->bit)) {
    /* inih also reports an indented line as more of the previous value. */
    (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT,
                     "%s is given twice in [%s] (an indented line continues the line above)",
                     name, section);
    ld->failed = 1;
    return 0;
  }
  if (xc_conf_set(ld->c, section, name, value, &ld->err) != XC_OK) {
    ld->failed = 1;
    return 0;
  }
  if (k != NULL) ld->seen |= k->bit;
  return 1;
}

int xc_conf_load(xc_conf *c, const char *path, xc_err *err) {
  FILE *f = fopen(path, "r");
  xc__load ld;
  int line;
  if (f == NULL) {
    if (errno == ENOENT) return xc_err_set(err, XC_ENOT_FOUND, "%s: no such file", path);
    return xc_err_set(err, XC_EFAILED_PRECONDITION, "%s: %s", path, strerror(errno));
  }
  memset(&ld, 0, sizeof ld);
  ld.c = c;
  xc_err_clear(&ld.err);
  /* The first error is the one reported, with its line. */
  ini_stop_on_first_error = 1;
  line = ini_parse_file(f, xc__on_key, &ld);
  fclose(f);
  if (line == 0) return XC_OK;
  if (line < 0) return xc_err_set(err, XC_EFAILED_PRECONDITION, "%s: cannot read it", path);
  if (ld.failed) return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s:%d: %s", path, line, ld.err.msg);
  return xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "%s:%d: not a '[section]' or 'key = value' line (or longer than 200 bytes)",
                    path, line);
}

void xc_conf_merge(xc_conf *dst, const xc_conf *src) {
  for (size_t i = 0; i < XC__NKEYS; i++) {
    const struct xc__key *k = &xc__keys[i];
    size_t n;
    if (!(src->set & k->bit) || (dst->set & k->bit)) continue;
    switch (k->type) {
      case XC__C_STR:
        n = k->size;
        break;
      case XC__C_INT:
        n = sizeof(long long);
        break;
      case XC__C_SIZE:
        n = sizeof(unsigned long long);
        break;
      case XC__C_LEVEL:
        n = sizeof(xc_log_level);
        break;
      default:
        n = sizeof(xc_log_target);
        break;
    }
    memcpy((char *)dst + k->offset, (const char *)src + k->offset, n);
    dst->set |= k->bit;
  }
}
