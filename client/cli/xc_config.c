/* xc_config.c: flags > environment > config file > defaults (xc_config.h). */
#include "xc_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "xc_text.h"

/* What the config file said; empty strings for keys it did not have. */
typedef struct xc__file_vals {
  char server[XC_CONFIG_SERVER_MAX];
  char ca[PATH_MAX];
  char cert[PATH_MAX];
  char key[PATH_MAX];
  char server_name[XC_CONFIG_SERVER_MAX];
  char timeout_ms[32];
  int timeout_line; /* the line of timeout_ms, for its error */
} xc__file_vals;

/* State shared by the line reader and the ini handler of one file. */
typedef struct xc__parse {
  FILE *f;
  const char *path;
  int line;        /* lines read so far: the line being handled */
  int error_line;  /* first line with an error, 0 when none */
  char error[256]; /* what is wrong with it */
  xc__file_vals *vals;
} xc__parse;

/*
 * The reader inih calls for each line. It counts lines for error messages and
 * refuses a line longer than inih's buffer, which inih would otherwise split
 * into two lines and misread.
 */
static char *xc__read_line(char *str, int num, void *stream) {
  xc__parse *p = stream;
  size_t n;
  if (p->error_line != 0 || fgets(str, num, p->f) == NULL) return NULL;
  p->line++;
  n = strlen(str);
  if (n > 0 && str[n - 1] != '\n' && !feof(p->f)) {
    p->error_line = p->line;
    (void)snprintf(p->error, sizeof p->error, "the line is longer than %d bytes", num - 3);
    return NULL;
  }
  return str;
}

/* Stores value into dst (size bytes) or records that it is too long. */
static int xc__store(xc__parse *p, char *dst, size_t size, const char *name, const char *value) {
  if (xc_strlcpy(dst, value, size) >= size) {
    p->error_line = p->line;
    (void)snprintf(p->error, sizeof p->error, "%s is longer than %zu bytes", name, size - 1);
    return 0;
  }
  return 1;
}

/* The ini handler: accepts the [connection] keys and nothing else. */
static int xc__on_value(void *user, const char *section, const char *name, const char *value) {
  xc__parse *p = user;
  xc__file_vals *v = p->vals;
  if (p->error_line != 0) return 0;
  if (strcmp(section, "connection") != 0) {
    p->error_line = p->line;
    (void)snprintf(p->error, sizeof p->error,
                   "unknown section [%.64s]; the only section is [connection]", section);
    return 0;
  }
  if (strcmp(name, "server") == 0) return xc__store(p, v->server, sizeof v->server, name, value);
  if (strcmp(name, "ca") == 0) return xc__store(p, v->ca, sizeof v->ca, name, value);
  if (strcmp(name, "cert") == 0) return xc__store(p, v->cert, sizeof v->cert, name, value);
  if (strcmp(name, "key") == 0) return xc__store(p, v->key, sizeof v->key, name, value);
  if (strcmp(name, "server_name") == 0)
    return xc__store(p, v->server_name, sizeof v->server_name, name, value);
  if (strcmp(name, "timeout_ms") == 0) {
    v->timeout_line = p->line;
    return xc__store(p, v->timeout_ms, sizeof v->timeout_ms, name, value);
  }
  p->error_line = p->line;
  (void)snprintf(p->error, sizeof p->error,
                 "unknown key '%.64s' in [connection]; the keys are server, ca, cert, key, "
                 "timeout_ms and server_name",
                 name);
  return 0;
}

/*
 * Reads the config file into *vals. A missing file is an error only when
 * `required` (it was named by --config or $XUNCHA_CONFIG).
 */
static int xc__read_file(const char *path, int required, xc__file_vals *vals, int *read_it,
                         xc_err *err) {
  xc__parse p;
  int rc = XC_OK, r;
  memset(&p, 0, sizeof p);
  p.path = path;
  p.vals = vals;
  *read_it = 0;
  p.f = fopen(path, "r");
  if (p.f == NULL) {
    if (errno == ENOENT && !required) return XC_OK;
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read the config file %s: %s", path,
                      strerror(errno));
  }
  *read_it = 1;
  r = ini_parse_stream(xc__read_line, &p, xc__on_value, &p);
  if (p.error_line != 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s:%d: %s", path, p.error_line, p.error);
  } else if (r > 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "%s:%d: not ini syntax: expected [connection] or key = value", path, r);
  } else if (r < 0 || ferror(p.f)) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "cannot read the config file %s", path);
  }
  (void)fclose(p.f);
  return rc;
}

/*
 * Resolves a path from the config file: "~/" is the home directory and a
 * relative path is relative to the file's own directory, so a config file
 * can sit beside its certificates.
 */
static int xc__file_path(const char *value, const char *config, xc_getenv_fn env, char *out,
                         size_t size, const char *key, xc_err *err) {
  int n;
  if (value[0] == '\0' || value[0] == '/') {
    n = snprintf(out, size, "%s", value);
  } else if (value[0] == '~' && value[1] == '/') {
    const char *home = env("HOME");
    if (home == NULL || home[0] == '\0')
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s: %s starts with ~/ but HOME is not set",
                        config, key);
    n = snprintf(out, size, "%s/%s", home, value + 2);
  } else {
    const char *slash = strrchr(config, '/');
    if (slash == NULL)
      n = snprintf(out, size, "%s", value);
    else
      n = snprintf(out, size, "%.*s/%s", (int)(slash - config), config, value);
  }
  if (n < 0 || (size_t)n >= size)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s: the path of %s is longer than %zu bytes",
                      config, key, size - 1);
  return XC_OK;
}

/* Returns an environment value, treating an empty one as unset. */
static const char *xc__env(xc_getenv_fn env, const char *name) {
  const char *v = env(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Copies the first of flag, env (named env_name), file value into dst, where
 * the flag is called flag_name in errors.
 */
static int xc__pick(char *dst, size_t size, const char *flag, const char *flag_name,
                    const char *envv, const char *env_name, const char *filev, xc_err *err) {
  const char *v = flag != NULL ? flag : envv != NULL ? envv : filev;
  if (flag != NULL && flag[0] == '\0')
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s needs a value", flag_name);
  if (xc_strlcpy(dst, v != NULL ? v : "", size) >= size)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "%s%s is longer than %zu bytes",
                      flag != NULL   ? "--"
                      : envv != NULL ? "$"
                                     : "the config file's ",
                      flag != NULL   ? flag_name
                      : envv != NULL ? env_name
                                     : flag_name,
                      size - 1);
  return XC_OK;
}

int xc_config_resolve(const xc_conn_flags *flags, xc_getenv_fn env, xc_conn *out, xc_err *err) {
  xc__file_vals file;
  char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
  const char *config = flags->config != NULL ? flags->config : xc__env(env, "XUNCHA_CONFIG");
  int required = config != NULL;
  int read_it = 0;
  int rc;

  memset(out, 0, sizeof *out);
  memset(&file, 0, sizeof file);
  if (config == NULL) {
    const char *home = xc__env(env, "HOME");
    if (home != NULL) {
      int n = snprintf(out->config, sizeof out->config, "%s/%s", home, XC_CONFIG_DEFAULT_FILE);
      if (n < 0 || (size_t)n >= sizeof out->config) out->config[0] = '\0';
    }
  } else if (config[0] == '\0') {
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "--config needs a file name");
  } else if (xc_strlcpy(out->config, config, sizeof out->config) >= sizeof out->config) {
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "the config file name is longer than %d bytes",
                      PATH_MAX - 1);
  }
  if (out->config[0] != '\0') {
    rc = xc__read_file(out->config, required, &file, &read_it, err);
    if (rc != XC_OK) return rc;
  }
  if (!read_it) out->config[0] = '\0';

  /* Paths from the file are resolved against the file's directory first. */
  rc = xc__file_path(file.ca, out->config, env, ca, sizeof ca, "ca", err);
  if (rc == XC_OK) rc = xc__file_path(file.cert, out->config, env, cert, sizeof cert, "cert", err);
  if (rc == XC_OK) rc = xc__file_path(file.key, out->config, env, key, sizeof key, "key", err);
  if (rc != XC_OK) return rc;

  rc = xc__pick(out->server, sizeof out->server, flags->server, "server",
                xc__env(env, "XUNCHA_SERVER"), "XUNCHA_SERVER",
                file.server[0] != '\0' ? file.server : XC_CONFIG_DEFAULT_SERVER, err);
  if (rc == XC_OK)
    rc = xc__pick(out->ca, sizeof out->ca, flags->ca, "ca", xc__env(env, "XUNCHA_CA"), "XUNCHA_CA",
                  ca, err);
  if (rc == XC_OK)
    rc = xc__pick(out->cert, sizeof out->cert, flags->cert, "cert", xc__env(env, "XUNCHA_CERT"),
                  "XUNCHA_CERT", cert, err);
  if (rc == XC_OK)
    rc = xc__pick(out->key, sizeof out->key, flags->key, "key", xc__env(env, "XUNCHA_KEY"),
                  "XUNCHA_KEY", key, err);
  if (rc == XC_OK)
    rc = xc__pick(out->server_name, sizeof out->server_name, flags->server_name, "server-name",
                  xc__env(env, "XUNCHA_SERVER_NAME"), "XUNCHA_SERVER_NAME", file.server_name, err);
  if (rc != XC_OK) return rc;

  if (flags->timeout_ms != NULL) {
    if (xc_parse_int64(flags->timeout_ms, 0, XC_CONFIG_TIMEOUT_MAX, &out->timeout_ms) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "--timeout '%s' is not a number of milliseconds from 0 to %lld",
                        flags->timeout_ms, XC_CONFIG_TIMEOUT_MAX);
  } else if (file.timeout_ms[0] != '\0') {
    if (xc_parse_int64(file.timeout_ms, 0, XC_CONFIG_TIMEOUT_MAX, &out->timeout_ms) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "%s:%d: timeout_ms '%s' is not a number of milliseconds from 0 to %lld",
                        out->config, file.timeout_line, file.timeout_ms, XC_CONFIG_TIMEOUT_MAX);
  }
  return XC_OK;
}

int xc_config_require(const xc_conn *conn, xc_err *err) {
  static const struct {
    const char *what, *flag, *env, *key;
  } need[3] = {{"CA file", "--ca", "XUNCHA_CA", "ca"},
               {"client certificate", "--cert", "XUNCHA_CERT", "cert"},
               {"private key", "--key", "XUNCHA_KEY", "key"}};
  const char *have[3] = {conn->ca, conn->cert, conn->key};
  for (int i = 0; i < 3; i++) {
    if (have[i][0] == '\0')
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "no %s: give %s FILE, set %s, or put %s = FILE under [connection] in %s",
                        need[i].what, need[i].flag, need[i].env, need[i].key,
                        conn->config[0] != '\0' ? conn->config : "~/" XC_CONFIG_DEFAULT_FILE);
  }
  return XC_OK;
}
