/*
 * xc_config.h: where the CLI connects to and with which certificate.
 *
 * Each setting comes from the first of: a command-line flag, an environment
 * variable, the config file, the built-in default. The config file is
 * --config FILE, else $XUNCHA_CONFIG, else ~/.config/xuncha/client.conf
 * (skipped silently when that default file does not exist), in ini format:
 *
 *   [connection]
 *   server = 10.1.2.3:7443
 *   ca = /etc/xuncha/ca.pem          ; relative paths are relative to the file
 *   cert = office-310104.pem
 *   key = office-310104.key
 *   timeout_ms = 10000
 *   server_name = xunchad.example    ; optional TLS name override
 *
 * Unknown sections or keys are errors that name the line, so a typo never
 * silently falls back to a default.
 */
#ifndef XC_CONFIG_H
#define XC_CONFIG_H

#include <limits.h>

#include "xc_status.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The server used when nothing else names one. */
#define XC_CONFIG_DEFAULT_SERVER "127.0.0.1:7443"
/* The config file read when neither --config nor $XUNCHA_CONFIG is set. */
#define XC_CONFIG_DEFAULT_FILE ".config/xuncha/client.conf"
/* Longest "HOST:PORT" or server name. */
#define XC_CONFIG_SERVER_MAX 256
/* Largest --timeout: a day, in milliseconds. */
#define XC_CONFIG_TIMEOUT_MAX (24LL * 3600 * 1000)

/* Values given on the command line; NULL when a flag was not given. */
typedef struct xc_conn_flags {
  const char *server;
  const char *ca;
  const char *cert;
  const char *key;
  const char *server_name;
  const char *timeout_ms;
  const char *config;
} xc_conn_flags;

/* The resolved settings. Empty strings mean "not set". */
typedef struct xc_conn {
  char server[XC_CONFIG_SERVER_MAX];
  char ca[PATH_MAX];
  char cert[PATH_MAX];
  char key[PATH_MAX];
  char server_name[XC_CONFIG_SERVER_MAX];
  long long timeout_ms;  /* 0: the library's default */
  char config[PATH_MAX]; /* the config file read, "" if none */
} xc_conn;

/* Looks up an environment variable; getenv in the tool, a fake in tests. */
typedef const char *(*xc_getenv_fn)(const char *name);

/*
 * Resolves every setting into *out by the precedence above. Returns XC_OK,
 * or XC_EINVALID_ARGUMENT with err naming the flag, variable or file line
 * that is wrong (a config file named explicitly that cannot be read, an
 * unknown key, a bad timeout, a value too long). Missing CA, certificate or
 * key are not errors here: xc_config_require says so in words.
 */
int xc_config_resolve(const xc_conn_flags *flags, xc_getenv_fn env, xc_conn *out,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Checks that the CA, certificate and key are all set, else returns
 * XC_EINVALID_ARGUMENT naming the three places each can be given.
 */
int xc_config_require(const xc_conn *conn, xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_CONFIG_H */
