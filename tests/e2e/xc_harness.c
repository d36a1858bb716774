/* The end-to-end harness: temp dir, certificates, the xunchad child, clients. */
/* nftw() is an XSI function. */
#define _XOPEN_SOURCE 700
#include "xc_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "xc_text.h"

#define XC_H_PATH_MAX 1024
#define XC_H_MAX_CLIENTS 16
#define XC_H_MAX_ARGS 64
#define XC_H_OUTPUT_MAX (16u * 1024u * 1024u)
#define XC_H_START_TIMEOUT_MS 15000
#define XC_H_STOP_TIMEOUT_MS 10000

/* The directory name is kept short so every path built from it fits. */
#define XC_H_DIR_MAX 512

struct xc_h {
  char dir[XC_H_DIR_MAX];
  char certdir[XC_H_PATH_MAX];
  char datadir[XC_H_PATH_MAX];
  char logpath[XC_H_PATH_MAX];
  char portpath[XC_H_PATH_MAX];
  char addr[64];
  pid_t pid;
  int port;
  unsigned runs; /* commands run so far, to name their output files */
  uint64_t fsize_limit; /* RLIMIT_FSIZE of the server (0: none) */
  const char *extra[8]; /* more server arguments, NULL-terminated */
  struct {
    char name[64];
    xc_client *client;
  } clients[XC_H_MAX_CLIENTS];
  size_t n_clients;
};

const char *xc_h_env(const char *name) {
  const char *v = getenv(name);
  return (v != NULL && *v != '\0') ? v : NULL;
}

int64_t xc_h_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t xc_h_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void xc__sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

char *xc_h_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  int ok = 0;
  if (f == NULL) return NULL;
  for (;;) {
    size_t got;
    if (cap - n < 4096 + 1) {
      size_t ncap = cap == 0 ? 65536 : cap * 2;
      char *nb;
      if (cap > max) goto done; /* grew past max: refuse */
      nb = realloc(buf, ncap);
      if (nb == NULL) goto done;
      buf = nb;
      cap = ncap;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (n > max) goto done;
    if (got == 0) break;
  }
  buf[n] = '\0';
  if (len != NULL) *len = n;
  ok = 1;
done:
  fclose(f);
  if (!ok) {
    free(buf);
    buf = NULL;
  }
  return buf;
}

/* nftw callback: removes one entry of the tree, children first. */
static int xc__rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (type == FTW_DP)
    (void)rmdir(path);
  else
    (void)unlink(path);
  return 0;
}

const char *xc_h_dir(const xc_h *h) { return h->dir; }
const char *xc_h_certdir(const xc_h *h) { return h->certdir; }
int xc_h_port(const xc_h *h) { return h->pid > 0 ? h->port : 0; }
const char *xc_h_addr(const xc_h *h) { return h->addr; }

const char *xc_h_cert_path(const xc_h *h, const char *name, const char *ext, char *out,
                           size_t out_size) {
  int n = snprintf(out, out_size, "%s/%s.%s", h->certdir, name, ext);
  if (n < 0 || (size_t)n >= out_size) {
    if (out_size > 0) out[0] = '\0';
  }
  return out;
}

extern char **environ;

/*
 * The environment of every child: ours, minus the CLI's XUNCHA_* settings
 * (so a developer's config never leaks into a test), with HOME set to the
 * harness directory (so ~/.config files are not read either). Built before
 * fork because the child may only make async-signal-safe calls.
 */
#define XC_H_MAX_ENV 512
typedef struct xc__env {
  char *v[XC_H_MAX_ENV + 2];
  char home[XC_H_PATH_MAX + 8];
} xc__env;

static void xc__env_build(xc__env *e, const char *home) {
  size_t n = 0;
  (void)snprintf(e->home, sizeof e->home, "HOME=%s", home);
  e->v[n++] = e->home;
  for (char **p = environ; *p != NULL && n < XC_H_MAX_ENV; p++) {
    if (strncmp(*p, "XUNCHA_", 7) == 0 || strncmp(*p, "HOME=", 5) == 0) continue;
    e->v[n++] = *p;
  }
  e->v[n] = NULL;
}

/* RLIMIT_FSIZE for the next spawned child (0: unchanged); set only around
 * the server's spawn. */
static uint64_t xc__spawn_fsize;

/* Fork/execs argv with stdout/stderr to the files given; returns the pid or -1. */
static pid_t xc__spawn(const char *const argv[], const char *cwd, const char *out_path,
                       const char *err_path, int die_with_parent, int append) {
  static xc__env env; /* one harness at a time, main thread only */
  pid_t pid;
  int fd_in, fd_out, fd_err;
  fd_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  fd_out = open(out_path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
  fd_err = err_path == out_path ? fd_out
                                : open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_in < 0 || fd_out < 0 || fd_err < 0) {
    pid = -1;
    goto done;
  }
  xc__env_build(&env, cwd != NULL ? cwd : "/nonexistent");
  pid = fork();
  if (pid == 0) {
    /* Only async-signal-safe calls from here to exec: the parent has threads. */
    if (die_with_parent) (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The runner ignores SIGPIPE; programs under test get the default. */
    (void)signal(SIGPIPE, SIG_DFL);
    if (xc__spawn_fsize != 0) {
      /* A file size limit: write() past it fails with EFBIG instead of the
       * process being killed by SIGXFSZ (ignored signals stay ignored
       * across exec). */
      struct rlimit rl;
      /* Only the soft limit: the test raises it again with prlimit,
       * which needs no privilege below the hard limit. */
      rl.rlim_cur = (rlim_t)xc__spawn_fsize;
      rl.rlim_max = RLIM_INFINITY;
      (void)signal(SIGXFSZ, SIG_IGN);
      if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
    }
    (void)setpgid(0, 0);
    if (dup2(fd_in, 0) < 0 || dup2(fd_out, 1) < 0 || dup2(fd_err, 2) < 0) _exit(126);
    if (cwd != NULL && chdir(cwd) != 0) _exit(126);
    execve(argv[0], (char *const *)argv, env.v);
    _exit(127);
  }
done:
  if (fd_in >= 0) close(fd_in);
  if (fd_out >= 0) close(fd_out);
  if (fd_err >= 0 && fd_err != fd_out) close(fd_err);
  return pid;
}

/* Waits for pid at most timeout_ms; returns 1 with *status set if it ended. */
static int xc__wait_bounded(pid_t pid, int timeout_ms, int *status) {
  int64_t deadline = xc_h_now_ms() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return 1;
    if (r < 0 && errno != EINTR) return 1; /* already reaped: nothing to wait for */
    if (xc_h_now_ms() >= deadline) return 0;
    xc__sleep_ms(5);
  }
}

static int xc__exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int xc_h_run(xc_h *h, const char *const argv[], int timeout_ms, xc_h_result *res,
             xc_err *err) {
  char out_path[XC_H_PATH_MAX], err_path[XC_H_PATH_MAX];
  pid_t pid;
  int status = 0, rc = XC_OK;
  unsigned k = h->runs++;

  memset(res, 0, sizeof *res);
  res->exit_code = -1;
  (void)snprintf(out_path, sizeof out_path, "%s/run%u.out", h->dir, k);
  (void)snprintf(err_path, sizeof err_path, "%s/run%u.err", h->dir, k);
  pid = xc__spawn(argv, h->dir, out_path, err_path, 1, 0);
  if (pid < 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "cannot start %s: %s", argv[0], strerror(errno));
    goto done;
  }
  if (!xc__wait_bounded(pid, timeout_ms, &status)) {
    (void)kill(-pid, SIGKILL);
    (void)kill(pid, SIGKILL);
    (void)xc__wait_bounded(pid, 5000, &status);
    fprintf(stderr, "harness: %s did not finish within %d ms; killed\n", argv[0],
            timeout_ms);
  }
  res->exit_code = xc__exit_code(status);
  res->out = xc_h_read_file(out_path, XC_H_OUTPUT_MAX, &res->out_len);
  res->err = xc_h_read_file(err_path, XC_H_OUTPUT_MAX, &res->err_len);
  if (res->out == NULL || res->err == NULL) {
    xc_h_result_free(res);
    rc = xc_err_set(err, XC_EINTERNAL, "cannot read the output of %s", argv[0]);
    goto done;
  }
  if (res->exit_code == 127)
    fprintf(stderr, "harness: %s could not be executed (exit 127)\n", argv[0]);
done:
  return rc;
}

void xc_h_result_free(xc_h_result *res) {
  free(res->out);
  free(res->err);
  res->out = res->err = NULL;
}

int xc_h_create(xc_h **out, xc_err *err) {
  xc_h *h = calloc(1, sizeof *h);
  const char *tmp = xc_h_env("TMPDIR");
  int rc = XC_OK;
  *out = NULL;
  if (h == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  h->pid = -1;
  {
    int n = snprintf(h->dir, sizeof h->dir, "%s/xc-e2e-XXXXXX", tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof h->dir) {
      h->dir[0] = '\0';
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "TMPDIR is longer than %d bytes",
                      XC_H_DIR_MAX - 16);
      goto done;
    }
  }
  if (mkdtemp(h->dir) == NULL) {
    rc = xc_err_set(err, XC_EINTERNAL, "mkdtemp %s: %s", h->dir, strerror(errno));
    h->dir[0] = '\0';
    goto done;
  }
  (void)snprintf(h->certdir, sizeof h->certdir, "%s/certs", h->dir);
  (void)snprintf(h->datadir, sizeof h->datadir, "%s/data", h->dir);
  (void)snprintf(h->logpath, sizeof h->logpath, "%s/xunchad.log", h->dir);
  (void)snprintf(h->portpath, sizeof h->portpath, "%s/xunchad.port", h->dir);
  if (mkdir(h->datadir, 0700) != 0) {
    rc = xc_err_set(err, XC_EINTERNAL, "mkdir %s: %s", h->datadir, strerror(errno));
    goto done;
  }
  rc = xc_h_certs(h, err, "dev", h->certdir, (const char *)NULL);
done:
  if (rc != XC_OK) {
    xc_h_destroy(h);
    return rc;
  }
  *out = h;
  return XC_OK;
}

int xc_h_certs(xc_h *h, xc_err *err, ...) {
  const char *argv[XC_H_MAX_ARGS];
  const char *script = xc_h_env("XC_E2E_CERTS");
  size_t n = 0;
  va_list ap;
  xc_h_result res;
  int rc;

  if (script == NULL)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "XC_E2E_CERTS is not set (path of certs/xuncha-certs)");
  argv[n++] = "/bin/bash";
  argv[n++] = script;
  va_start(ap, err);
  for (;;) {
    const char *a = va_arg(ap, const char *);
    if (a == NULL || n + 1 >= XC_H_MAX_ARGS) break;
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  rc = xc_h_run(h, argv, 60000, &res, err);
  if (rc != XC_OK) return rc;
  if (res.exit_code != 0)
    rc = xc_err_set(err, XC_EINTERNAL, "xuncha-certs %s exited %d: %s", argv[2],
                    res.exit_code, res.err);
  xc_h_result_free(&res);
  return rc;
}

int xc_h_raw_client_cert(xc_h *h, const char *name, const char *cn, xc_err *err) {
  char key[XC_H_PATH_MAX], pem[XC_H_PATH_MAX], csr[XC_H_PATH_MAX], ext[XC_H_PATH_MAX];
  char ca[XC_H_PATH_MAX], cakey[XC_H_PATH_MAX], subj[256];
  FILE *f;
  xc_h_result res;
  int rc;
  (void)xc_h_cert_path(h, name, "key", key, sizeof key);
  (void)xc_h_cert_path(h, name, "pem", pem, sizeof pem);
  (void)xc_h_cert_path(h, name, "csr", csr, sizeof csr);
  (void)xc_h_cert_path(h, name, "ext", ext, sizeof ext);
  (void)xc_h_cert_path(h, "ca", "pem", ca, sizeof ca);
  (void)xc_h_cert_path(h, "ca", "key", cakey, sizeof cakey);
  (void)snprintf(subj, sizeof subj, "/CN=%s", cn);
  f = fopen(ext, "w");
  if (f == NULL) return xc_err_set(err, XC_EINTERNAL, "cannot write %s", ext);
  fputs("[ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, "
        "digitalSignature\nextendedKeyUsage = clientAuth\n",
        f);
  fclose(f);
  {
    const char *a1[] = {"/usr/bin/openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subj,
                        "-out", csr, NULL};
    rc = xc_h_run(h, a1, 30000, &res, err);
    if (rc != XC_OK) return rc;
    if (res.exit_code != 0)
      rc = xc_err_set(err, XC_EINTERNAL, "openssl req exited %d: %s", res.exit_code,
                      res.err);
    xc_h_result_free(&res);
    if (rc != XC_OK) return rc;
  }
  {
    const char *a2[] = {"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
                        cakey, "-set_serial", "0x1234567890abcdef", "-days", "30",
                        "-extfile", ext, "-extensions", "ext", "-out", pem, NULL};
    rc = xc_h_run(h, a2, 30000, &res, err);
    if (rc != XC_OK) return rc;
    if (res.exit_code != 0)
      rc = xc_err_set(err, XC_EINTERNAL, "openssl x509 exited %d: %s", res.exit_code,
                      res.err);
    xc_h_result_free(&res);
  }
  return rc;
}

int xc_h_cert_serial(const xc_h *h, const char *name, char *out, size_t out_size) {
  char path[XC_H_PATH_MAX];
  FILE *f;
  X509 *x = NULL;
  BIGNUM *bn = NULL;
  char *hex = NULL;
  const char *p;
  int rc = XC_EINTERNAL;
  (void)xc_h_cert_path(h, name, "pem", path, sizeof path);
  f = fopen(path, "r");
  if (f == NULL) goto done;
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL) goto done;
  bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
  if (bn == NULL) goto done;
  hex = BN_bn2hex(bn);
  if (hex == NULL) goto done;
  for (p = hex; *p == '0' && p[1] != '\0'; p++) {
  }
  if (xc_strlcpy(out, p, out_size) >= out_size) goto done;
  rc = XC_OK;
done:
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(x);
  return rc;
}

/* Parses the port out of the port file: the last run of digits in it. */
static int xc__read_port(const char *path) {
  size_t len = 0;
  char *s = xc_h_read_file(path, 4096, &len);
  long long port = 0;
  int result = 0;
  size_t end, start;
  char digits[16];
  if (s == NULL || len == 0) goto done;
  end = len;
  while (end > 0 && (s[end - 1] < '0' || s[end - 1] > '9')) end--;
  start = end;
  while (start > 0 && s[start - 1] >= '0' && s[start - 1] <= '9') start--;
  if (end == start || end - start >= sizeof digits) goto done;
  memcpy(digits, s + start, end - start);
  digits[end - start] = '\0';
  if (xc_parse_int64(digits, 1, 65535, &port) != 0) goto done;
  result = (int)port;
done:
  free(s);
  return result;
}

int xc_h_set_clock(xc_h *h, const char *text) {
  char path[XC_H_PATH_MAX];
  FILE *f;
  (void)snprintf(path, sizeof path, "%s/clock", h->dir);
  if (text == NULL) return unlink(path) == 0 || errno == ENOENT ? XC_OK : XC_EINTERNAL;
  f = fopen(path, "w");
  if (f == NULL) return XC_EINTERNAL;
  if (fputs(text, f) < 0) {
    fclose(f);
    return XC_EINTERNAL;
  }
  return fclose(f) == 0 ? XC_OK : XC_EINTERNAL;
}

int xc_h_server_start(xc_h *h, xc_err *err) {
  const char *bin = xc_h_env("XC_E2E_XUNCHAD");
  char cert[XC_H_PATH_MAX], key[XC_H_PATH_MAX], ca[XC_H_PATH_MAX], clock[XC_H_PATH_MAX];
  int64_t deadline;
  int status = 0;
  (void)snprintf(clock, sizeof clock, "%s/clock", h->dir);
  if (bin == NULL)
    return xc_err_set(err, XC_EFAILED_PRECONDITION, "XC_E2E_XUNCHAD is not set");
  if (h->pid > 0) return xc_err_set(err, XC_EFAILED_PRECONDITION, "server already runs");
  (void)xc_h_cert_path(h, "server", "pem", cert, sizeof cert);
  (void)xc_h_cert_path(h, "server", "key", key, sizeof key);
  (void)xc_h_cert_path(h, "ca", "pem", ca, sizeof ca);
  (void)unlink(h->portpath);
  {
    const char *argv[32] = {bin,      "--listen", "127.0.0.1:0", "--port-file", h->portpath,
                            "--data", h->datadir, "--cert",      cert,          "--key",
                            key,      "--ca",     ca,            "--test-clock-file",
                            clock,    NULL};
    size_t na = 15;
    for (size_t i = 0; h->extra[i] != NULL && na + 1 < sizeof argv / sizeof argv[0]; i++)
      argv[na++] = h->extra[i];
    argv[na] = NULL;
    /* Append to the log so a restart keeps the first run's lines. */
    xc__spawn_fsize = h->fsize_limit;
    h->pid = xc__spawn(argv, h->dir, h->logpath, h->logpath, 1, 1);
    xc__spawn_fsize = 0;
  }
  if (h->pid < 0)
    return xc_err_set(err, XC_EINTERNAL, "cannot start %s: %s", bin, strerror(errno));
  deadline = xc_h_now_ms() + XC_H_START_TIMEOUT_MS;
  for (;;) {
    int p1 = xc__read_port(h->portpath);
    if (p1 > 0) {
      /* Read twice so a half-written file is not taken for the port. */
      xc__sleep_ms(20);
      if (xc__read_port(h->portpath) == p1) {
        h->port = p1;
        break;
      }
    }
    if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
      h->pid = -1;
      return xc_err_set(err, XC_EUNAVAILABLE, "xunchad exited (%d) before listening; see %s",
                        xc__exit_code(status), h->logpath);
    }
    if (xc_h_now_ms() >= deadline) {
      (void)xc_h_server_stop(h, NULL);
      return xc_err_set(err, XC_EDEADLINE_EXCEEDED,
                        "xunchad wrote no port file %s within %d ms; see %s", h->portpath,
                        XC_H_START_TIMEOUT_MS, h->logpath);
    }
    xc__sleep_ms(10);
  }
  (void)snprintf(h->addr, sizeof h->addr, "127.0.0.1:%d", h->port);
  return XC_OK;
}

int xc_h_server_stop(xc_h *h, int64_t *elapsed_ms) {
  int status = 0;
  int64_t t0 = xc_h_now_ms();
  if (elapsed_ms != NULL) *elapsed_ms = 0;
  if (h->pid <= 0) return -1;
  (void)kill(h->pid, SIGTERM);
  if (!xc__wait_bounded(h->pid, XC_H_STOP_TIMEOUT_MS, &status)) {
    fprintf(stderr, "harness: xunchad ignored SIGTERM for %d ms; sending SIGKILL\n",
            XC_H_STOP_TIMEOUT_MS);
    (void)kill(h->pid, SIGKILL);
    (void)xc__wait_bounded(h->pid, 5000, &status);
  }
  if (elapsed_ms != NULL) *elapsed_ms = xc_h_now_ms() - t0;
  h->pid = -1;
  return status;
}

char *xc_h_server_log(const xc_h *h) {
  char *s = xc_h_read_file(h->logpath, XC_H_OUTPUT_MAX, NULL);
  if (s == NULL) s = calloc(1, 1);
  return s;
}

int xc_h_log_wait(const xc_h *h, const char *needle, int timeout_ms) {
  int64_t deadline = xc_h_now_ms() + timeout_ms;
  for (;;) {
    char *log = xc_h_server_log(h);
    int found = log != NULL && strstr(log, needle) != NULL;
    free(log);
    if (found) return 1;
    if (xc_h_now_ms() >= deadline) return 0;
    xc__sleep_ms(20);
  }
}

int xc_h_client_files(xc_h *h, const char *addr, const char *cert, const char *key,
                      xc_client **out, xc_err *err) {
  char ca[XC_H_PATH_MAX];
  xc_client_options opt;
  memset(&opt, 0, sizeof opt);
  (void)xc_h_cert_path(h, "ca", "pem", ca, sizeof ca);
  opt.server = addr;
  opt.ca_file = ca;
  opt.cert_file = cert;
  opt.key_file = key;
  opt.default_timeout_ms = XC_H_CALL_MS;
  return xc_client_create(&opt, out, err);
}

xc_client *xc_h_client(xc_h *h, const char *name) {
  char cert[XC_H_PATH_MAX], key[XC_H_PATH_MAX];
  xc_client *c = NULL;
  xc_err err;
  for (size_t i = 0; i < h->n_clients; i++)
    if (strcmp(h->clients[i].name, name) == 0) return h->clients[i].client;
  if (h->n_clients >= XC_H_MAX_CLIENTS) {
    fprintf(stderr, "harness: more than %d clients\n", XC_H_MAX_CLIENTS);
    return NULL;
  }
  (void)xc_h_cert_path(h, name, "pem", cert, sizeof cert);
  (void)xc_h_cert_path(h, name, "key", key, sizeof key);
  if (xc_h_client_files(h, h->addr, cert, key, &c, &err) != XC_OK) {
    fprintf(stderr, "harness: client %s: %s: %s\n", name, xc_code_name(err.code), err.msg);
    return NULL;
  }
  (void)xc_strlcpy(h->clients[h->n_clients].name, name, sizeof h->clients[0].name);
  h->clients[h->n_clients].client = c;
  h->n_clients++;
  return c;
}

void xc_h_clients_close(xc_h *h) {
  for (size_t i = 0; i < h->n_clients; i++) xc_client_destroy(h->clients[i].client);
  h->n_clients = 0;
}

void xc_h_destroy(xc_h *h) {
  if (h == NULL) return;
  xc_h_clients_close(h);
  (void)xc_h_server_stop(h, NULL);
  if (h->dir[0] != '\0') {
    if (xc_h_env("XC_E2E_KEEP") != NULL)
      fprintf(stderr, "harness: kept %s\n", h->dir);
    else
      (void)nftw(h->dir, xc__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  free(h);
}

void xc_h_server_kill(xc_h *h) {
  int status;
  if (h->pid <= 0) return;
  (void)kill(h->pid, SIGKILL);
  (void)xc__wait_bounded(h->pid, 10000, &status);
  h->pid = -1;
  h->port = 0;
}

int xc_h_server_pid(const xc_h *h) { return h->pid > 0 ? (int)h->pid : -1; }

const char *xc_h_datadir(const xc_h *h) { return h->datadir; }

int xc_h_set_datadir(xc_h *h, const char *dir) {
  int n = snprintf(h->datadir, sizeof h->datadir, "%s", dir);
  return n > 0 && (size_t)n < sizeof h->datadir ? XC_OK : XC_EINVALID_ARGUMENT;
}

void xc_h_set_fsize_limit(xc_h *h, uint64_t bytes) { h->fsize_limit = bytes; }

void xc_h_set_server_args(xc_h *h, const char *const *args) {
  size_t n = 0;
  for (; args != NULL && args[n] != NULL && n + 1 < sizeof h->extra / sizeof h->extra[0]; n++)
    h->extra[n] = args[n];
  h->extra[n] = NULL;
}
