/*
 * xc_cli.h: the `xuncha` command line: parsing, requests, output, exit codes.
 *
 *   xuncha [global options] <resource> <verb> [options]
 *
 * main() only calls xc_cli_main; everything else is here so the unit tests
 * run the same code. Parsing keeps pointers into argv (which outlives the
 * command) and copies nothing; every function that returns memory says who
 * frees it.
 */
#ifndef XC_CLI_H
#define XC_CLI_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "xc_config.h"
#include "xuncha/client.h"
#include "xc_resources.h"
#include "xc_status.h"

/* Exit codes, documented in `xuncha --help`. */
enum {
  XC_EXIT_OK = 0,
  XC_EXIT_INTERNAL = 1, /* a fault in the tool: memory, writing the output */
  XC_EXIT_USAGE = 2,    /* unknown flag/resource/verb, bad value, missing setting */
  XC_EXIT_CONNECT = 3,  /* UNAVAILABLE, DEADLINE_EXCEEDED, unreadable certificate files */
  XC_EXIT_REFUSED = 4   /* the server answered the call with any other status */
};

typedef enum xc_out_fmt { XC_OUT_TABLE, XC_OUT_JSON, XC_OUT_CSV } xc_out_fmt;

typedef enum xc_verb {
  XC_VERB_NONE,
  XC_VERB_CREATE,
  XC_VERB_GET,
  XC_VERB_LIST,
  XC_VERB_UPDATE,
  XC_VERB_CHECK /* health check */
} xc_verb;

/* Most option occurrences one command takes (repeated flags included). */
#define XC_CLI_MAX_OPTS 2048
/* Default and largest --limit of list --all, in rows. */
#define XC_CLI_DEFAULT_LIMIT 10000
#define XC_CLI_MAX_LIMIT 1000000
/* Attempts of a call that fails with UNAVAILABLE, and the first pause. */
#define XC_CLI_ATTEMPTS 3
#define XC_CLI_BACKOFF_MS 200

/* One record-field or filter flag as given, in command-line order. */
typedef struct xc_cli_opt {
  const xc_field *field;   /* a record field (create, update), or */
  const xc_filter *filter; /* a List filter (list) */
  const char *value;       /* points into argv */
} xc_cli_opt;

typedef struct xc_cli_cmd {
  xc_conn_flags conn;
  xc_out_fmt fmt;
  int help;                    /* --help (with resource set: that resource's help) */
  int version;                 /* --version */
  const xc_resource *resource; /* NULL for health */
  int health;
  xc_verb verb;
  const char *id; /* get, update */
  /* create */
  const char *request_id;
  /* update */
  const char *etag;
  /* list */
  int all;
  long long limit;
  long long page_size;
  const char *page_token;
  int include_void; /* --include-void: voided records too */
  /* health check */
  const char *service;
  /* --lang zh|en (NULL: $XUNCHA_LANG, else Chinese) */
  const char *lang;
  /* admin stats [--prometheus] */
  int admin;
  int prometheus;
  /* admin backup DIR: DIR is a directory on the server machine */
  int backup;
  const char *backup_dir;
  size_t n_opts;
  xc_cli_opt opts[XC_CLI_MAX_OPTS];
} xc_cli_cmd;

/*
 * Parses argv into *cmd (which may be large: allocate it, do not put it on a
 * small stack). Returns XC_OK or XC_EINVALID_ARGUMENT with err saying what is
 * wrong with the command line (an unknown flag or verb, a missing ID, a bad
 * number). Flag values are checked later, by the build functions.
 */
int xc_cli_parse(int argc, char **argv, xc_cli_cmd *cmd, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Builds the Create request of cmd into *req (free with
 * protobuf_c_message_free_unpacked) with request_id. Returns XC_OK or
 * XC_EINVALID_ARGUMENT naming the flag at fault.
 */
int xc_cli_build_create(const xc_cli_cmd *cmd, const char *request_id, ProtobufCMessage **req,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/* Builds the List request of cmd (filters, page size, page token) into *req. */
int xc_cli_build_list(const xc_cli_cmd *cmd, ProtobufCMessage **req,
                      xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Applies the update flags of cmd to rec, a record read from the server, and
 * builds the Update request into *req: rec moves into it (on success and on
 * failure the caller no longer frees rec), update_mask names exactly the
 * top-level fields the flags change ("rectification" for --mode, --deadline,
 * ...: the server masks whole top-level fields), and --etag replaces rec's
 * etag. Repeated flags replace the whole list.
 */
int xc_cli_build_update(const xc_cli_cmd *cmd, ProtobufCMessage *rec, ProtobufCMessage **req,
                        xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Prints records of resource r in fmt. `single` prints one record (a
 * "字段: 值" block, a JSON object or one CSV row); otherwise a list (a
 * table, {"items": [...], "next_page_token": ...}, or CSV rows).
 */
int xc_cli_print(FILE *out, const xc_resource *r, xc_out_fmt fmt,
                 const ProtobufCMessage *const *recs, size_t n, const char *next_page_token,
                 int single, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Writes a random id "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" into buf (>= 37 bytes). */
void xc_cli_request_id(char *buf, size_t size);

/* Returns the exit code for the status of a failed call. */
int xc_cli_exit_code(int code);

/*
 * Resolves the connection settings (flags, then environment, then config
 * file), checks that the CA, certificate and key are set, and creates the
 * client into *out (the caller destroys it). On failure prints the reason to
 * errf and returns the exit code: XC_EXIT_USAGE for a setting that is wrong
 * or missing, XC_EXIT_CONNECT for certificate files that cannot be used,
 * XC_EXIT_INTERNAL otherwise. Returns XC_EXIT_OK on success.
 */
int xc_cli_connect(const xc_conn_flags *flags, xc_getenv_fn env, FILE *errf, xc_client **out);

/* Prints `xuncha --help`, or the help of one resource. */
void xc_cli_usage(FILE *out);
void xc_cli_resource_usage(FILE *out, const xc_resource *r);

/*
 * Runs the tool: parses argv, resolves the connection settings (env looks
 * up the environment), makes the calls and prints to out; errors go to errf
 * as "xuncha: CODE: message". Returns the exit code.
 */
int xc_cli_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env);

#endif /* XC_CLI_H */
