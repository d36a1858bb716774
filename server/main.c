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

#include "xc_handler.h"
#include "xc_log.h"
#include "xc_server.h"
#include "xc_store.h"
#include "xc_text.h"

#ifndef XC_VERSION
#define XC_VERSION "0.0.0"
#endif

#define XC__EXIT_FAIL 1
#define XC__EXIT_USAGE 2
/* PEM files of a certificate chain or key are a few KiB. */
#define XC__MAX_PEM_FILE (1024 * 1024)

typedef struct xc__args {
  const char *listen;
  const char *data;
  const char *cert;
  const char *key;
  const char *ca;
  const char *port_file;
  long long workers;
  long long cq_threads;
} xc__args;

/* Prints the help text to `to`. */
static void xc__usage(FILE *to) {
  fprintf(to,
          "Usage: xunchad --data DIR --cert FILE --key FILE --ca FILE [options]\n"
          "\n"
          "Serves the xuncha records API (xuncha.v1 and grpc.health.v1) over mutual TLS.\n"
          "\n"
          "  --listen HOST:PORT  address to listen on (default 127.0.0.1:7443; port 0\n"
          "                      picks a free port)\n"
          "  --data DIR          the record store (created if missing)\n"
          "  --cert FILE         the server's certificate chain (PEM)\n"
          "  --key FILE          the server's private key (PEM)\n"
          "  --ca FILE           the CA that signs client certificates (PEM)\n"
          "  --workers N         handler threads, 1..256 (default 8)\n"
          "  --cq-threads N      completion-queue threads, 1..16 (default 1)\n"
          "  --port-file FILE    write the bound port there once listening\n"
          "  --help              show this help\n"
          "  --version           show the version\n"
          "\n"
          "Stops cleanly on SIGINT or SIGTERM. Exit status: 0 after a clean stop, 1 when\n"
          "it cannot start, 2 for a usage error.\n");
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
 * Parses argv into a. Returns -1 to go on, or an exit status (0 after --help
 * or --version).
 */
static int xc__parse_args(int argc, char **argv, xc__args *a) {
  static const char *const names[] = {"--listen", "--data",      "--cert",    "--key",
                                      "--ca",     "--port-file", "--workers", "--cq-threads"};
  a->listen = "127.0.0.1:7443";
  a->workers = 8;
  a->cq_threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    size_t which = sizeof names / sizeof names[0];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      xc__usage(stdout);
      return 0;
    }
    if (strcmp(arg, "--version") == 0) {
      printf("xunchad %s (gRPC core %s)\n", XC_VERSION, grpc_version_string());
      return 0;
    }
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
      size_t n = strlen(names[k]);
      if (strncmp(arg, names[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
        which = k;
        if (arg[n] == '=') {
          value = arg + n + 1;
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          return xc__usage_error("%s needs a value", names[k]);
        }
        break;
      }
    }
    if (which == sizeof names / sizeof names[0]) return xc__usage_error("unknown option '%s'", arg);
    switch (which) {
      case 0:
        a->listen = value;
        break;
      case 1:
        a->data = value;
        break;
      case 2:
        a->cert = value;
        break;
      case 3:
        a->key = value;
        break;
      case 4:
        a->ca = value;
        break;
      case 5:
        a->port_file = value;
        break;
      case 6:
        if (xc_parse_int64(value, 1, 256, &a->workers) != 0)
          return xc__usage_error("--workers must be a number from 1 to 256, not '%s'", value);
        break;
      default:
        if (xc_parse_int64(value, 1, 16, &a->cq_threads) != 0)
          return xc__usage_error("--cq-threads must be a number from 1 to 16, not '%s'", value);
        break;
    }
  }
  if (a->data == NULL) return xc__usage_error("%s is required", "--data DIR");
  if (a->cert == NULL) return xc__usage_error("%s is required", "--cert FILE");
  if (a->key == NULL) return xc__usage_error("%s is required", "--key FILE");
  if (a->ca == NULL) return xc__usage_error("%s is required", "--ca FILE");
  {
    const char *colon = strrchr(a->listen, ':');
    long long port = 0;
    if (colon == NULL || colon == a->listen || xc_parse_int64(colon + 1, 0, 65535, &port) != 0)
      return xc__usage_error("--listen must be HOST:PORT (e.g. 127.0.0.1:7443), not '%s'",
                             a->listen);
  }
  return -1;
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
    fprintf(stderr, "xunchad: --cert %s holds no PEM certificate\n", a->cert);
    goto done;
  }
  b = BIO_new_mem_buf(key, -1);
  if (b != NULL) k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  if (k == NULL) {
    fprintf(stderr, "xunchad: --key %s holds no unencrypted PEM private key\n", a->key);
    goto done;
  }
  if (X509_check_private_key(x, k) != 1) {
    fprintf(stderr, "xunchad: --key %s does not belong to --cert %s\n", a->key, a->cert);
    goto done;
  }
  b = BIO_new_mem_buf(ca, -1);
  if (b != NULL) cax = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (cax == NULL) {
    fprintf(stderr, "xunchad: --ca %s holds no PEM certificate\n", a->ca);
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
  char *cert = NULL, *key = NULL, *ca = NULL;
  xc_store *store = NULL;
  xc_server *srv = NULL;
  xc_store_options so;
  xc_server_options opt;
  xc_err err;
  sigset_t set;
  int status = XC__EXIT_FAIL, port = 0, grpc_up = 0, rc;

  memset(&a, 0, sizeof a);
  rc = xc__parse_args(argc, argv, &a);
  if (rc >= 0) return rc;

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

  cert = xc__read_file("--cert", a.cert);
  key = cert ? xc__read_file("--key", a.key) : NULL;
  ca = key ? xc__read_file("--ca", a.ca) : NULL;
  if (ca == NULL || !xc__check_tls(&a, cert, key, ca)) goto done;

  memset(&so, 0, sizeof so);
  so.dir = a.data;
  rc = xc_store_open(&so, &store, &err);
  if (rc != XC_OK) {
    fprintf(stderr, "xunchad: cannot open the store in %s: %s\n", a.data, err.msg);
    goto done;
  }

  grpc_init();
  grpc_up = 1;
  memset(&opt, 0, sizeof opt);
  opt.listen = a.listen;
  opt.cert_pem = cert;
  opt.key_pem = key;
  opt.ca_pem = ca;
  opt.store = store;
  opt.methods = xc_methods(&opt.n_methods);
  opt.workers = (unsigned)a.workers;
  opt.cq_threads = (unsigned)a.cq_threads;
  rc = xc_server_start(&opt, &srv, &port, &err);
  /* gRPC copied the PEM strings; the key should not linger in our memory. */
  if (key != NULL) memset(key, 0, strlen(key));
  if (rc != XC_OK) {
    fprintf(stderr, "xunchad: %s\n", err.msg);
    goto done;
  }
  if (a.port_file != NULL && xc__write_port_file(a.port_file, port) != 0) {
    fprintf(stderr, "xunchad: cannot write --port-file %s: %s\n", a.port_file, strerror(errno));
    goto done;
  }
  {
    const char *colon = strrchr(a.listen, ':');
    fprintf(stderr, "xunchad listening on %.*s:%d\n", (int)(colon - a.listen), a.listen, port);
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      xc_log(XC_LOG_INFO, "SIGHUP: nothing to reload; still serving");
      continue;
    }
    xc_log(XC_LOG_INFO, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  status = 0;
done:
  /* Order matters: calls finish, then the store completes queued writes,
   * then gRPC goes. */
  xc_server_destroy(srv);
  xc_store_close(store);
  if (grpc_up) grpc_shutdown_blocking();
  free(cert);
  free(key);
  free(ca);
  if (status == 0) xc_log(XC_LOG_INFO, "xunchad stopped");
  return status;
}
