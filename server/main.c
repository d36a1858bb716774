/*
 * xunchad: the xuncha records server.
 *
 * Serves xuncha.v1 (Targets, Rounds, Findings, Leads) and grpc.health.v1 over
 * mutual TLS only, with records in an LMDB store. Stops cleanly on SIGINT or
 * SIGTERM: calls in flight finish and every acknowledged write is durable
 * before the process exits.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "xc_audit.h"
#include "xc_conf.h"
#include "xc_handler.h"
#include "xc_log.h"
#include "xc_malloc.h"
#include "xc_replybuf.h"
#include "xc_server.h"
#include "xc_stats.h"
#include "xc_store.h"
#include "xc_text.h"
#include "xc_trust.h"
#include "xc_workflow.h"
#include "xc_archive.h"
#include "xc_home.h"
#include "xc_sync.h"

#ifndef XC_VERSION
#define XC_VERSION "0.0.0"
#endif

#define XC__EXIT_FAIL 1
#define XC__EXIT_USAGE 2
/* PEM files of a certificate chain or key are a few KiB. */
#define XC__MAX_PEM_FILE (1024 * 1024)

typedef struct xc__args {
  xc_conf conf;            /* flags, then the config file where no flag was given */
  const char *config;      /* --config FILE, or NULL for the default if it exists */
  char config_path[XC_CONF_PATH_MAX]; /* the file actually read, "" if none */
  unsigned flags_set;      /* XC_CONF_* bits given as flags */
} xc__args;

/* Prints the help text to `to`. */
static void xc__usage(FILE *to) {
  fprintf(to,
          "Usage: xunchad [--config FILE] --data DIR --cert FILE --key FILE --ca FILE [options]\n"
          "\n"
          "Serves the xuncha records API (xuncha.v1, grpc.health.v1 and gRPC server\n"
          "reflection) over mutual TLS.\n"
          "\n"
          "  --config FILE       settings file (default " XC_CONF_DEFAULT_PATH ", read only\n"
          "                      if it exists); flags override it\n"
          "  --listen HOST:PORT  address to listen on (default 127.0.0.1:7443; port 0\n"
          "                      picks a free port)                 [server] listen\n"
          "  --data DIR          the record store (created if missing) [storage] data\n"
          "  --map-size SIZE     initial LMDB map size, e.g. 64M      [storage] map_size\n"
          "  --map-max SIZE      the map never grows past this, e.g. 1T [storage] map_max\n"
          "  --cert FILE         the server's certificate chain (PEM)  [tls] cert\n"
          "  --key FILE          the server's private key (PEM)        [tls] key\n"
          "  --ca FILE           the CA that signs client certificates [tls] ca\n"
          "  --crl FILE          revoked client certificates (PEM CRL from\n"
          "                      'xuncha-certs crl DIR')               [tls] crl\n"
          "  --workers N         threads for streaming calls, 1..256 (default 8)   [server] workers\n"
          "  --cq-threads N      completion-queue threads, which also run unary calls,\n"
          "                      1..16 (default 1: fastest on 2 cores)\n"
          "                                                        [server] cq_threads\n"
          "  --port-file FILE    write the bound port there once listening\n"
          "                                                        [server] port_file\n"
          "  --audit-hash H      the audit log's chain hash for a new store: sha256\n"
          "                      (default) or sm3                     [audit] hash\n"
          "  --audit-retention-days N  audit entries are kept N days, at least 183\n"
          "                      (default 183)                 [audit] retention_days\n"
          "  --audit-checkpoint-file F  signed audit checkpoints are appended to F:\n"
          "                      keep it where the server cannot rewrite it\n"
          "                                                 [audit] checkpoint_file\n"
          "  --log-level LEVEL   debug, info, warn or error (default info) [log] level\n"
          "  --log-target T      stderr or syslog (default stderr)     [log] target\n"
          "  --stalled-days N    days without rectification progress before a finding\n"
          "                      is flagged stalled (半截式), 1..3650 (default 30)\n"
          "  --conflict-years N  work in a unit within N years is a conflict of interest\n"
          "                      for the inspector pool, 1..50 (default 3) [pool] conflict_years\n"
          "\n"
          "Federation (server/SYNC.md):\n"
          "  --server-name NAME  this server's name in the homes map     [sync] name\n"
          "  --homes FILE        the homes map: NAME = REGION lines, the same file on\n"
          "                      every server of the federation          [sync] homes\n"
          "  --upstream HOST:PORT  sync with this server above (push own changes,\n"
          "                      pull what is made above for this region) [sync] upstream\n"
          "  --upstream-cert FILE  this server's client certificate, office:<its code>\n"
          "                                                           [sync] cert\n"
          "  --upstream-key FILE   its private key                      [sync] key\n"
          "  --upstream-ca FILE    the upstream's CA (default --ca)     [sync] ca\n"
          "  --sync-interval S   seconds between background syncs, 1..86400 (default 30)\n"
          "                                                           [sync] interval\n"
          "  --sync-batch N      changes per push or pull, 1..2000 (default 500)\n"
          "                                                           [sync] batch\n"
          "\n"
          "  --test-clock-file F tests only: read \"now\" from F on every call (see\n"
          "                      server/WORKFLOWS.md)\n"
          "  --check-config      check the settings and files, then exit\n"
          "  --help              show this help\n"
          "  --version           show the version\n"
          "\n"
          "Stops cleanly on SIGINT or SIGTERM. SIGHUP re-reads the log level from the\n"
          "config file (unless --log-level was given) and reloads the certificate, key,\n"
          "CA and CRL files without dropping calls. Exit status: 0 after a clean\n"
          "stop, 1 when it cannot start, 2 for a usage or config error.\n");
}

/* Prints a usage error and returns the usage exit status. */
static int xc__usage_error(const char *fmt, ...) XC_PRINTF(1, 2);
static int xc__usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "xunchad: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun 'xunchad --help' for usage.\n");
  return XC__EXIT_USAGE;
}

/*
 * Reads the config file named by --config (which must exist) or the default
 * one (if it exists) into *file. Returns XC_OK (file->set is 0 when there
 * was none) or an error in err ("FILE:LINE: ...").
 */
static int xc__read_config(xc__args *a, xc_conf *file, xc_err *err) {
  const char *path = a->config != NULL ? a->config : XC_CONF_DEFAULT_PATH;
  int rc;
  xc_conf_defaults(file);
  rc = xc_conf_load(file, path, err);
  if (rc == XC_ENOT_FOUND && a->config == NULL) {
    a->config_path[0] = '\0';
    return XC_OK;
  }
  if (rc == XC_OK) (void)xc_strlcpy(a->config_path, path, sizeof a->config_path);
  return rc;
}

/*
 * Parses argv into a, then reads the config file for the settings no flag
 * gave. Returns -1 to go on, or an exit status (0 after --help or
 * --version). *check is set by --check-config.
 */
static int xc__parse_args(int argc, char **argv, xc__args *a, int *check) {
  /* Each flag and the config key it stands for. */
  static const struct {
    const char *flag, *section, *key;
  } names[] = {{"--listen", "server", "listen"},        {"--data", "storage", "data"},
               {"--cert", "tls", "cert"},               {"--key", "tls", "key"},
               {"--ca", "tls", "ca"},                   {"--port-file", "server", "port_file"},
               {"--workers", "server", "workers"},      {"--cq-threads", "server", "cq_threads"},
               {"--map-size", "storage", "map_size"},   {"--map-max", "storage", "map_max"},
               {"--log-level", "log", "level"},         {"--log-target", "log", "target"},
               {"--conflict-years", "pool", "conflict_years"},
               {"--crl", "tls", "crl"},                 {"--audit-hash", "audit", "hash"},
               {"--audit-retention-days", "audit", "retention_days"},
               {"--audit-checkpoint-file", "audit", "checkpoint_file"},
               {"--server-name", "sync", "name"},       {"--homes", "sync", "homes"},
               {"--upstream", "sync", "upstream"},      {"--upstream-cert", "sync", "cert"},
               {"--upstream-key", "sync", "key"},       {"--upstream-ca", "sync", "ca"},
               {"--sync-interval", "sync", "interval"}, {"--sync-batch", "sync", "batch"},
               {"--config", NULL, NULL}};
  const size_t n_names = sizeof names / sizeof names[0];
  xc_conf file;
  xc_err err;
  xc_conf_defaults(&a->conf);
  *check = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    size_t which = n_names;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      xc__usage(stdout);
      return 0;
    }
    if (strcmp(arg, "--version") == 0) {
      printf("xunchad %s (gRPC core %s)\n", XC_VERSION, grpc_version_string());
      return 0;
    }
    if (strcmp(arg, "--check-config") == 0) {
      *check = 1;
      continue;
    }
    {
      /* Workflow settings: --stalled-days N, --test-clock-file FILE. */
      int wrc = xc_workflow_flag(argc, argv, &i);
      if (wrc < 0) return XC__EXIT_USAGE;
      if (wrc > 0) continue;
    }
    for (size_t k = 0; k < n_names; k++) {
      size_t n = strlen(names[k].flag);
      if (strncmp(arg, names[k].flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
        which = k;
        if (arg[n] == '=') {
          value = arg + n + 1;
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          return xc__usage_error("%s needs a value", names[k].flag);
        }
        break;
      }
    }
    if (which == n_names) return xc__usage_error("unknown option '%s'", arg);
    if (names[which].key == NULL) {
      a->config = value;
      continue;
    }
    if (xc_conf_set(&a->conf, names[which].section, names[which].key, value, &err) != XC_OK)
      return xc__usage_error("%s: %s", names[which].flag, err.msg);
  }
  if (xc__read_config(a, &file, &err) != XC_OK) {
    fprintf(stderr, "xunchad: %s\n", err.msg);
    return XC__EXIT_USAGE;
  }
  a->flags_set = a->conf.set;
  xc_conf_merge(&a->conf, &file);
  if (!(a->conf.set & XC_CONF_DATA)) return xc__usage_error("%s is required", "--data DIR");
  if (!(a->conf.set & XC_CONF_CERT)) return xc__usage_error("%s is required", "--cert FILE");
  if (!(a->conf.set & XC_CONF_KEY)) return xc__usage_error("%s is required", "--key FILE");
  if (!(a->conf.set & XC_CONF_CA)) return xc__usage_error("%s is required", "--ca FILE");
  {
    xc_audit_alg alg;
    if (xc_audit_alg_parse(a->conf.audit_hash, &alg) != 0)
      return xc__usage_error("--audit-hash must be sha256 or sm3, not '%s'", a->conf.audit_hash);
  }
  if ((a->conf.set & XC_CONF_SYNC_HOMES) && !(a->conf.set & XC_CONF_SYNC_NAME))
    return xc__usage_error("--homes needs --server-name NAME (this server's line in it)");
  if ((a->conf.set & XC_CONF_SYNC_UPSTREAM) && !(a->conf.set & XC_CONF_SYNC_HOMES))
    return xc__usage_error("--upstream needs --homes FILE and --server-name NAME");
  if ((a->conf.set & XC_CONF_SYNC_UPSTREAM) &&
      (!(a->conf.set & XC_CONF_SYNC_CERT) || !(a->conf.set & XC_CONF_SYNC_KEY)))
    return xc__usage_error("--upstream needs --upstream-cert FILE and --upstream-key FILE");
  {
    const char *colon = strrchr(a->conf.listen, ':');
    long long port = 0;
    if (colon == NULL || colon == a->conf.listen ||
        xc_parse_int64(colon + 1, 0, 65535, &port) != 0)
      return xc__usage_error("--listen must be HOST:PORT (e.g. 127.0.0.1:7443), not '%s'",
                             a->conf.listen);
  }
  return -1;
}

static char *xc__read_file(const char *flag, const char *path);
static int xc__check_tls(const xc__args *a, const char *cert, const char *key, const char *ca);

/*
 * SIGHUP, TLS part: reads the certificate, key, CA and CRL files named at
 * start again and hands them to the server, which uses them for new
 * connections and calls while calls in flight carry on. Files that do not
 * parse change nothing.
 */
static void xc__reload_tls(const xc__args *a, xc_server *srv) {
  char *cert = NULL, *key = NULL, *ca = NULL, *crl = NULL;
  xc_err err;
  if (srv == NULL) return;
  cert = xc__read_file("--cert", a->conf.cert);
  key = cert ? xc__read_file("--key", a->conf.key) : NULL;
  ca = key ? xc__read_file("--ca", a->conf.ca) : NULL;
  if (ca != NULL && (a->conf.set & XC_CONF_CRL)) crl = xc__read_file("--crl", a->conf.crl);
  if (ca == NULL || ((a->conf.set & XC_CONF_CRL) && crl == NULL) ||
      !xc__check_tls(a, cert, key, ca)) {
    xc_log(XC_LOG_ERROR, "SIGHUP: TLS files not reloaded (see the message above); the old "
                         "certificate, CA and CRL stay in use");
    goto done;
  }
  if (xc_server_reload_tls(srv, cert, key, ca, crl, &err) != XC_OK) {
    xc_log(XC_LOG_ERROR, "SIGHUP: TLS files not reloaded: %s", err.msg);
    goto done;
  }
  /* Audit checkpoints are signed with the new key from now on. */
  if (xc_audit_set_keys(cert, key, ca, &err) != XC_OK)
    xc_log(XC_LOG_ERROR, "SIGHUP: the audit signer keeps the old key: %s", err.msg);
  xc_log(XC_LOG_WARN, "SIGHUP: reloaded the certificate %s, key %s, CA %s and CRL %s",
         a->conf.cert, a->conf.key, a->conf.ca,
         (a->conf.set & XC_CONF_CRL) ? a->conf.crl : "(none)");
done:
  if (key != NULL) memset(key, 0, strlen(key));
  free(cert);
  free(key);
  free(ca);
  free(crl);
}

/* SIGHUP: re-reads the log level (and target) from the config file, unless
 * flags fixed them. A config file that has become invalid changes nothing. */
static void xc__reload(xc__args *a) {
  xc_conf file;
  xc_err err;
  if (xc__read_config(a, &file, &err) != XC_OK) {
    xc_log(XC_LOG_ERROR, "SIGHUP: config not reloaded: %s", err.msg);
    return;
  }
  /* The target stays as it was at start: moving between stderr and syslog
   * while running would split one run's log in two places. */
  if (a->flags_set & XC_CONF_LOG_LEVEL) {
    xc_log(XC_LOG_INFO, "SIGHUP: log level stays %s (set by --log-level)",
           xc_log_level_name(xc_log_get_level()));
    return;
  }
  xc_log_set_level((file.set & XC_CONF_LOG_LEVEL) ? file.log_level : XC_LOG_INFO);
  xc_log(XC_LOG_WARN, "SIGHUP: log level is now %s (from %s)",
         xc_log_level_name(xc_log_get_level()),
         a->config_path[0] != '\0' ? a->config_path : "defaults: no config file");
}

/* Reads a whole file of at most XC__MAX_PEM_FILE bytes into a new
 * NUL-terminated buffer (free it). Prints why and returns NULL on failure. */
static char *xc__read_file(const char *flag, const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n;
  if (f == NULL) {
    fprintf(stderr, "xunchad: %s %s: %s\n", flag, path, strerror(errno));
    return NULL;
  }
  buf = malloc(XC__MAX_PEM_FILE + 1);
  if (buf == NULL) {
    fprintf(stderr, "xunchad: out of memory reading %s\n", path);
    goto done;
  }
  n = fread(buf, 1, XC__MAX_PEM_FILE + 1, f);
  if (ferror(f) || n > XC__MAX_PEM_FILE || n == 0) {
    fprintf(stderr, "xunchad: %s %s: %s\n", flag, path,
            ferror(f) ? strerror(errno)
            : n == 0  ? "the file is empty"
                      : "larger than 1 MiB");
    free(buf);
    buf = NULL;
    goto done;
  }
  buf[n] = '\0';
done:
  fclose(f);
  return buf;
}

/*
 * Checks the TLS files before gRPC sees them, so a wrong file gets a clear
 * message instead of failed handshakes later: the certificate and CA parse,
 * and the key belongs to the certificate.
 */
static int xc__check_tls(const xc__args *a, const char *cert, const char *key, const char *ca) {
  BIO *b = NULL;
  X509 *x = NULL, *cax = NULL;
  EVP_PKEY *k = NULL;
  int ok = 0;
  b = BIO_new_mem_buf(cert, -1);
  if (b != NULL) x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (x == NULL) {
    fprintf(stderr, "xunchad: --cert %s holds no PEM certificate\n", a->conf.cert);
    goto done;
  }
  b = BIO_new_mem_buf(key, -1);
  if (b != NULL) k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  if (k == NULL) {
    fprintf(stderr, "xunchad: --key %s holds no unencrypted PEM private key\n", a->conf.key);
    goto done;
  }
  if (X509_check_private_key(x, k) != 1) {
    fprintf(stderr, "xunchad: --key %s does not belong to --cert %s\n", a->conf.key, a->conf.cert);
    goto done;
  }
  b = BIO_new_mem_buf(ca, -1);
  if (b != NULL) cax = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (cax == NULL) {
    fprintf(stderr, "xunchad: --ca %s holds no PEM certificate\n", a->conf.ca);
    goto done;
  }
  ok = 1;
done:
  ERR_clear_error();
  X509_free(x);
  X509_free(cax);
  EVP_PKEY_free(k);
  return ok;
}

/* Writes the port to path through a temporary file and rename, so a reader
 * never sees a half-written file. */
static int xc__write_port_file(const char *path, int port) {
  char tmp[4096];
  FILE *f;
  int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof tmp) return -1;
  f = fopen(tmp, "w");
  if (f == NULL) return -1;
  if (fprintf(f, "%d\n", port) < 0) {
    fclose(f);
    return -1;
  }
  if (fclose(f) != 0) return -1;
  return rename(tmp, path);
}

int main(int argc, char **argv) {
  xc__args a;
  char *cert = NULL, *key = NULL, *ca = NULL, *crl = NULL;
  xc_store *store = NULL;
  xc_server *srv = NULL;
  xc_store_options so;
  xc_server_options opt;
  xc_err err;
  sigset_t set;
  int status = XC__EXIT_FAIL, port = 0, grpc_up = 0, rc, check_only = 0, audit_up = 0;
  int sync_up = 0;

  memset(&a, 0, sizeof a);
  rc = xc__parse_args(argc, argv, &a, &check_only);
  if (rc >= 0) return rc;
  xc_log_set_level(a.conf.log_level);
  xc_log_set_target(a.conf.log_target);
  xc_pool_configure((int)a.conf.conflict_years);
  /* Before any thread and any large block: see xc_malloc.h. Without it the
   * server still works, with memory that creeps up under load. */
  if (xc_malloc_tune() != XC_OK)
    xc_log(XC_LOG_DEBUG, "malloc: the mmap threshold is not fixed (not glibc, or a sanitizer)");

  /* Block the stop signals before any thread exists (the store's writer,
   * gRPC's pollers) so they all inherit the mask and only sigwait below
   * sees them: gRPC must never be called from a signal handler. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
    fprintf(stderr, "xunchad: cannot block signals\n");
    return XC__EXIT_FAIL;
  }
  signal(SIGPIPE, SIG_IGN);

  cert = xc__read_file("--cert", a.conf.cert);
  key = cert ? xc__read_file("--key", a.conf.key) : NULL;
  ca = key ? xc__read_file("--ca", a.conf.ca) : NULL;
  if (ca == NULL || !xc__check_tls(&a, cert, key, ca)) goto done;
  if (a.conf.set & XC_CONF_CRL) {
    xc_trust *t = NULL;
    crl = xc__read_file("--crl", a.conf.crl);
    if (crl == NULL) goto done;
    if (xc_trust_create(ca, crl, &t, &err) != XC_OK) {
      fprintf(stderr, "xunchad: --crl %s: %s\n", a.conf.crl, err.msg);
      goto done;
    }
    xc_trust_unref(t);
  }
  if (a.conf.set & XC_CONF_SYNC_HOMES) {
    if (xc_home_load(a.conf.sync_homes, a.conf.sync_name, &err) != XC_OK) {
      fprintf(stderr, "xunchad: %s\n", err.msg);
      status = XC__EXIT_USAGE;
      goto done;
    }
  }
  if (check_only) {
    printf("xunchad: settings are valid (config: %s)\n",
           a.config_path[0] != '\0' ? a.config_path : "none");
    status = 0;
    goto done;
  }

  memset(&so, 0, sizeof so);
  so.dir = a.conf.data;
  so.map_size = (size_t)a.conf.map_size;
  so.map_max = (size_t)a.conf.map_max;
  so.audit_hash = a.conf.audit_hash;
  rc = xc_store_open(&so, &store, &err);
  if (rc != XC_OK) {
    fprintf(stderr, "xunchad: cannot open the store in %s: %s\n", a.conf.data, err.msg);
    goto done;
  }

  {
    /* An upgrade that migrated the store is worth a line in the log. */
    xc_store_info info;
    xc_err ierr;
    if (xc_store_get_info(store, &info, &ierr) == XC_OK && info.migrated)
      xc_log(XC_LOG_WARN, "the store in %s was migrated from format %llu to format %u",
             a.conf.data, (unsigned long long)info.migrated_from, info.format);
  }
  grpc_init();
  grpc_up = 1;
  memset(&opt, 0, sizeof opt);
  opt.listen = a.conf.listen;
  opt.cert_pem = cert;
  opt.key_pem = key;
  opt.ca_pem = ca;
  opt.crl_pem = crl;
  opt.store = store;
  opt.methods = xc_methods(&opt.n_methods);
  opt.workers = (unsigned)a.conf.workers;
  opt.cq_threads = (unsigned)a.conf.cq_threads;
  rc = xc_server_start(&opt, &srv, &port, &err);
  if (rc != XC_OK) {
    fprintf(stderr, "xunchad: %s\n", err.msg);
    goto done;
  }
  {
    xc_audit_options ao;
    memset(&ao, 0, sizeof ao);
    ao.store = store;
    ao.checkpoint_file = a.conf.audit_checkpoints[0] != '\0' ? a.conf.audit_checkpoints : NULL;
    ao.retention_ms = a.conf.audit_retention_days * 24LL * 3600 * 1000;
    rc = xc_audit_start(&ao, cert, key, ca, &err);
    if (rc != XC_OK) {
      fprintf(stderr, "xunchad: cannot start the audit log: %s\n", err.msg);
      goto done;
    }
    audit_up = 1;
  }
  {
    xc_sync_options sy;
    memset(&sy, 0, sizeof sy);
    sy.store = store;
    sy.upstream = (a.conf.set & XC_CONF_SYNC_UPSTREAM) ? a.conf.sync_upstream : NULL;
    sy.cert_file = a.conf.sync_cert;
    sy.key_file = a.conf.sync_key;
    sy.ca_file = (a.conf.set & XC_CONF_SYNC_CA) ? a.conf.sync_ca : a.conf.ca;
    sy.interval_s = (int)a.conf.sync_interval;
    sy.batch = (int)a.conf.sync_batch;
    rc = xc_sync_start(&sy, &err);
    if (rc != XC_OK) {
      fprintf(stderr, "xunchad: cannot start sync: %s\n", err.msg);
      goto done;
    }
    sync_up = 1;
    if (sy.upstream != NULL)
      xc_log(XC_LOG_INFO, "sync: %s syncs with %s at %s every %lld s", xc_home_self(),
             xc_home_upstream(), sy.upstream, a.conf.sync_interval);
  }
  /* gRPC and the audit signer copied the PEM strings; the key should not
   * linger in our memory. */
  if (key != NULL) memset(key, 0, strlen(key));
  xc_stats_started();
  if (a.conf.port_file[0] != '\0' && xc__write_port_file(a.conf.port_file, port) != 0) {
    fprintf(stderr, "xunchad: cannot write --port-file %s: %s\n", a.conf.port_file,
            strerror(errno));
    goto done;
  }
  {
    const char *colon = strrchr(a.conf.listen, ':');
    xc_log(XC_LOG_INFO, "xunchad %s serving on %.*s:%d (data %s, config %s, log level %s)",
           XC_VERSION, (int)(colon - a.conf.listen), a.conf.listen, port, a.conf.data,
           a.config_path[0] != '\0' ? a.config_path : "none",
           xc_log_level_name(xc_log_get_level()));
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      xc__reload(&a);
      xc__reload_tls(&a, srv);
      continue;
    }
    xc_log(XC_LOG_INFO, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  status = 0;
done:
  /* Order matters: calls finish, then the store completes queued writes,
   * then gRPC goes. */
  /* The sync thread stops first: it writes to the store and calls out. */
  if (sync_up) xc_sync_stop();
  xc_server_destroy(srv);
  /* The last queued audit entries and a final checkpoint, before the store
   * closes. */
  if (audit_up) xc_audit_stop();
  xc_store_close(store);
  if (grpc_up) grpc_shutdown_blocking();
  /* gRPC has released every reply it was sending: the pool is all that is left. */
  xc_replybuf_drain();
  free(cert);
  free(key);
  free(ca);
  free(crl);
  if (status == 0 && !check_only) xc_log(XC_LOG_INFO, "xunchad stopped");
  return status;
}
