/*
 * xc_harness.h: the end-to-end test harness of xuncha.
 *
 * A harness owns one temporary directory holding the certificates (made with
 * certs/xuncha-certs), a data directory, the server's log and the output of
 * commands it ran; one xunchad child process listening on 127.0.0.1 with
 * mutual TLS; and the libxuncha clients it connected. Everything it starts it
 * also stops: xc_h_destroy() stops the server (SIGTERM, then SIGKILL after a
 * bounded wait), destroys the clients and removes the directory.
 *
 * The paths of the programs under test come from the environment, which
 * tests/e2e/e2e.cmake sets for every e2e test:
 *   XC_E2E_XUNCHAD   the xunchad binary
 *   XC_E2E_XUNCHA    the xuncha CLI binary
 *   XC_E2E_CERTS     certs/xuncha-certs
 *   XC_E2E_SRCDIR    tests/e2e (python helpers live there)
 *   XC_E2E_PYTHON    the python with grpcio (default /usr/bin/python3)
 *
 * Every wait in here is bounded; nothing listens anywhere but 127.0.0.1.
 * Not thread-safe: one harness per test suite, used from the main thread.
 */
#ifndef XC_HARNESS_H
#define XC_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "xuncha/client.h"

typedef struct xc_h xc_h;

/* The names of the client certificates `xuncha-certs dev` makes. */
#define XC_H_CITY "city"         /* office:3101 */
#define XC_H_COUNTY_A "county-a" /* office:310104 */
#define XC_H_COUNTY_B "county-b" /* office:310105 */
#define XC_H_TOWNSHIP "township" /* office:310104001 */
#define XC_H_JW "jw"             /* agency:3101:jw */
#define XC_H_ZZB "zzb"           /* agency:3101:zzb */
#define XC_H_AUDITOR "auditor"   /* auditor:3101 */

/* Per-call deadline the tests pass to libxuncha, in milliseconds. */
#define XC_H_CALL_MS 10000

/*
 * Makes a temporary directory and the dev certificates in <dir>/certs.
 * Returns XC_OK or a negative code with err saying what failed. The caller
 * owns *out and releases it with xc_h_destroy().
 */
int xc_h_create(xc_h **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Stops the server if it runs, destroys every client, and removes the
 * directory (kept when XC_E2E_KEEP is set, for debugging). NULL is accepted.
 */
void xc_h_destroy(xc_h *h);

/* The temporary directory and the certificate directory; owned by h. */
const char *xc_h_dir(const xc_h *h);
const char *xc_h_certdir(const xc_h *h);

/*
 * Writes "<certdir>/<name>.<ext>" into out (ext: "pem" or "key"). Returns
 * out, or "" when it does not fit.
 */
const char *xc_h_cert_path(const xc_h *h, const char *name, const char *ext, char *out,
                           size_t out_size);

/*
 * Runs certs/xuncha-certs with the arguments given (NULL-terminated list,
 * after the script name) and fails unless it exits 0.
 */
int xc_h_certs(xc_h *h, xc_err *err, ...) XC_WARN_UNUSED_RESULT;

/*
 * Makes a client certificate <certdir>/<name>.{key,pem} with subject CN `cn`
 * signed by the dev CA, with openssl directly: for identities the script
 * rightly refuses to make (a malformed CN).
 */
int xc_h_raw_client_cert(xc_h *h, const char *name, const char *cn,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Writes the serial number of <certdir>/<name>.pem as uppercase hex without
 * leading zeros into out. Returns XC_OK or XC_EINTERNAL.
 */
int xc_h_cert_serial(const xc_h *h, const char *name, char *out,
                     size_t out_size) XC_WARN_UNUSED_RESULT;

/*
 * Starts xunchad on 127.0.0.1:0 with the dev server certificate, waits (at
 * most 15 s) for its port file and returns XC_OK with the port known, or
 * fails (the log is in <dir>/xunchad.log). Starting again after a stop reuses
 * the data directory.
 */
int xc_h_server_start(xc_h *h, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Sets the server's clock: xunchad runs with --test-clock-file <dir>/clock
 * and reads it on every call. text is what the file holds ("2027-01-10", a
 * signed offset in ms such as "+86400000", or absolute ms); NULL removes
 * the file (the real clock). Returns XC_OK or XC_EINTERNAL.
 */
int xc_h_set_clock(xc_h *h, const char *text) XC_WARN_UNUSED_RESULT;

/* The server's port (0 when not running) and "127.0.0.1:<port>" (owned by h). */
int xc_h_port(const xc_h *h);
const char *xc_h_addr(const xc_h *h);

/*
 * Stops the server: SIGTERM, wait at most 10 s, then SIGKILL. Returns the
 * exit status as from waitpid (-1 if none ran) and stores in *elapsed_ms (if
 * not NULL) how long the stop took. Clients stay; calls will fail.
 */
int xc_h_server_stop(xc_h *h, int64_t *elapsed_ms);

/* Returns the server's log so far as a new NUL-terminated string (free()). */
char *xc_h_server_log(const xc_h *h);

/*
 * Waits at most timeout_ms for the server log to contain needle. Returns 1
 * if it does.
 */
int xc_h_log_wait(const xc_h *h, const char *needle, int timeout_ms);

/*
 * Returns a client connected as certificate `name` (see XC_H_*), created on
 * first use and kept until xc_h_destroy (do not destroy it). NULL on failure,
 * with the reason printed to stderr.
 */
xc_client *xc_h_client(xc_h *h, const char *name);

/* Destroys every client xc_h_client made (their connections close). */
void xc_h_clients_close(xc_h *h);

/*
 * Makes a new client for an explicit certificate and key (either may be a
 * file of another CA) to `addr`; the caller destroys it. Returns XC_OK or the
 * client library's error.
 */
int xc_h_client_files(xc_h *h, const char *addr, const char *cert, const char *key,
                      xc_client **out, xc_err *err) XC_WARN_UNUSED_RESULT;

/* The result of a command run by xc_h_run: outputs are NUL-terminated. */
typedef struct xc_h_result {
  int exit_code; /* 0..255, 128+signal if killed, -1 if it could not run */
  char *out;     /* stdout, owned; free with xc_h_result_free */
  size_t out_len;
  char *err; /* stderr */
  size_t err_len;
} xc_h_result;

/*
 * Runs argv[0] (a path) with argv, in the harness directory, stdin from
 * /dev/null, capturing stdout and stderr (at most 16 MiB each). Kills it
 * after timeout_ms. Returns XC_OK when it ran (whatever its exit code) and
 * fills *res, which the caller releases with xc_h_result_free.
 */
int xc_h_run(xc_h *h, const char *const argv[], int timeout_ms, xc_h_result *res,
             xc_err *err) XC_WARN_UNUSED_RESULT;
void xc_h_result_free(xc_h_result *res);

/* Returns the value of environment variable `name`, or NULL if unset/empty. */
const char *xc_h_env(const char *name);

/* Returns monotonic time in milliseconds. */
int64_t xc_h_now_ms(void);

/* Returns wall-clock time in milliseconds since the Unix epoch. */
int64_t xc_h_wall_ms(void);

/*
 * Reads a whole file (at most max bytes) into a new NUL-terminated buffer.
 * Returns NULL if it cannot be read or is larger.
 */
char *xc_h_read_file(const char *path, size_t max, size_t *len);

/* Kills the server with SIGKILL (no clean shutdown) and reaps it. */
void xc_h_server_kill(xc_h *h);

/* The server's pid, -1 when none runs. */
int xc_h_server_pid(const xc_h *h);

/* The data directory (default <dir>/data; owned by h) and a way to move it
 * (before xc_h_server_start; dir is copied). XC_OK or XC_EINVALID_ARGUMENT. */
const char *xc_h_datadir(const xc_h *h);
int xc_h_set_datadir(xc_h *h, const char *dir) XC_WARN_UNUSED_RESULT;

/* Starts later servers with RLIMIT_FSIZE = bytes and SIGXFSZ ignored, so
 * writes past it fail with EFBIG (0: no limit). */
void xc_h_set_fsize_limit(xc_h *h, uint64_t bytes);

/* More arguments for later server starts (NULL-terminated, at most 7; the
 * strings must outlive h). */
void xc_h_set_server_args(xc_h *h, const char *const *args);

#endif /* XC_HARNESS_H */
