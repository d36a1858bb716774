/*
 * xc_conf.h: the settings of xunchad, from its command line and its config
 * file (/etc/xuncha/xunchad.conf by default; `key = value` lines in
 * sections, read with libinih).
 *
 *   [server]  listen, workers, cq_threads, port_file
 *   [tls]     cert, key, ca, crl
 *   [storage] data, map_size, map_max
 *   [log]     level (debug|info|warn|error), target (stderr|syslog)
 *   [pool]    conflict_years (1..50, default 3)
 *   [audit]   hash (sha256|sm3), retention_days, checkpoint_file
 *   [sync]    name, homes, upstream, cert, key, ca, interval, batch
 *
 * A flag given on the command line overrides the file. Unknown sections or
 * keys, a key given twice and bad values are refused with "FILE:LINE: ...".
 * Strings are copied into the struct; it owns nothing on the heap.
 */
#ifndef XC_CONF_H
#define XC_CONF_H

#include <stddef.h>

#include "xc_log.h"
#include "xc_status.h"

/* The default config file, read only if it exists. */
#define XC_CONF_DEFAULT_PATH "/etc/xuncha/xunchad.conf"

#define XC_CONF_PATH_MAX 1024

/* One bit per setting, so flags and file can be merged key by key. */
enum {
  XC_CONF_LISTEN = 1u << 0,
  XC_CONF_WORKERS = 1u << 1,
  XC_CONF_CQ_THREADS = 1u << 2,
  XC_CONF_PORT_FILE = 1u << 3,
  XC_CONF_CERT = 1u << 4,
  XC_CONF_KEY = 1u << 5,
  XC_CONF_CA = 1u << 6,
  XC_CONF_DATA = 1u << 7,
  XC_CONF_MAP_SIZE = 1u << 8,
  XC_CONF_MAP_MAX = 1u << 9,
  XC_CONF_LOG_LEVEL = 1u << 10,
  XC_CONF_LOG_TARGET = 1u << 11,
  XC_CONF_CRL = 1u << 12,
  XC_CONF_AUDIT_HASH = 1u << 13,
  XC_CONF_AUDIT_RETENTION = 1u << 14,
  XC_CONF_AUDIT_CHECKPOINTS = 1u << 15,
  XC_CONF_CONFLICT_YEARS = 1u << 16,
  XC_CONF_SYNC_NAME = 1u << 17,
  XC_CONF_SYNC_HOMES = 1u << 18,
  XC_CONF_SYNC_UPSTREAM = 1u << 19,
  XC_CONF_SYNC_CERT = 1u << 20,
  XC_CONF_SYNC_KEY = 1u << 21,
  XC_CONF_SYNC_CA = 1u << 22,
  XC_CONF_SYNC_INTERVAL = 1u << 23,
  XC_CONF_SYNC_BATCH = 1u << 24
};

typedef struct xc_conf {
  unsigned set; /* XC_CONF_* bits of the settings given */
  char listen[256];
  long long workers;
  long long cq_threads;
  char port_file[XC_CONF_PATH_MAX];
  char cert[XC_CONF_PATH_MAX];
  char key[XC_CONF_PATH_MAX];
  char ca[XC_CONF_PATH_MAX];
  char data[XC_CONF_PATH_MAX];
  unsigned long long map_size; /* bytes */
  unsigned long long map_max;  /* bytes */
  xc_log_level log_level;
  xc_log_target log_target;
  long long conflict_years; /* [pool] conflict_years (server/ARCHIVE.md) */
  char crl[XC_CONF_PATH_MAX];              /* revoked client certificates, PEM */
  char audit_hash[16];                     /* "sha256" or "sm3"; new stores only */
  long long audit_retention_days;          /* audit entries are kept this long */
  char audit_checkpoints[XC_CONF_PATH_MAX]; /* signed chain heads are appended here */
  /* Federation (server/SYNC.md). */
  char sync_name[64];                      /* this server's name in the homes map */
  char sync_homes[XC_CONF_PATH_MAX];       /* the homes map */
  char sync_upstream[256];                 /* HOST:PORT of the upstream server */
  char sync_cert[XC_CONF_PATH_MAX];        /* this server's client certificate */
  char sync_key[XC_CONF_PATH_MAX];
  char sync_ca[XC_CONF_PATH_MAX];          /* the upstream's CA (default: [tls] ca) */
  long long sync_interval;                 /* seconds between background syncs */
  long long sync_batch;                    /* changes per push or pull */
} xc_conf;

/* Clears c and fills in the defaults (none of them counts as set). */
void xc_conf_defaults(xc_conf *c);

/*
 * Sets one setting by its config key ("listen", "map_size", "level", ...)
 * from text, checking the value, and marks it set. Returns XC_OK, or
 * XC_EINVALID_ARGUMENT with err saying what the value must be (without a
 * file or line; the caller adds where the value came from).
 */
int xc_conf_set(xc_conf *c, const char *section, const char *key, const char *value,
                xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Reads the config file at path into c (settings already set in c are
 * overwritten; pass a fresh xc_conf_defaults). Returns XC_OK;
 * XC_ENOT_FOUND when the file does not exist; XC_EINVALID_ARGUMENT with err
 * "PATH:LINE: ..." for a syntax error, an unknown section or key, a key
 * given twice or a bad value; XC_EFAILED_PRECONDITION when it cannot be read.
 */
int xc_conf_load(xc_conf *c, const char *path, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Copies into dst every setting set in src but not in dst (flags win). */
void xc_conf_merge(xc_conf *dst, const xc_conf *src);

/* Parses a byte size: a number with an optional K, M, G or T suffix
 * (powers of 1024), between min and max. Returns 0 or -1. */
int xc_conf_parse_size(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out) XC_WARN_UNUSED_RESULT;

#endif /* XC_CONF_H */
