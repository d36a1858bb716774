/*
 * xc_ops.h: what the `xuncha` CLI offers operators beyond the record verbs:
 * the display language (--lang zh|en), the short guide printed when it is
 * run without arguments, worked examples in every --help, progress on a
 * terminal for long lists, and `xuncha admin stats [--prometheus]`.
 *
 * The language is process-wide state set once by xc_cli_main before any
 * output; every function returns static strings or writes into buffers the
 * caller provides.
 */
#ifndef XC_OPS_H
#define XC_OPS_H

#include <stddef.h>
#include <stdio.h>

#include "xc_enums.h"
#include "xc_resources.h"
#include "xc_status.h"
#include "xuncha/client.h"

typedef enum xc_lang { XC_LANG_ZH = 0, XC_LANG_EN = 1 } xc_lang;

/* Sets and reads the display language (default Chinese). */
void xc_lang_set(xc_lang lang);
xc_lang xc_lang_get(void);

/* Parses "zh" or "en" (also "zh_CN...", "en_US..."). Returns 0 or -1. */
int xc_lang_parse(const char *s, xc_lang *out) XC_WARN_UNUSED_RESULT;

/*
 * Returns the label of a field, the header of a column, or any Chinese UI
 * text in the current language: the text itself in Chinese; in English its
 * translation, or `fallback` (the field's path) when there is none.
 */
const char *xc_lang_label(const char *zh, const char *fallback);

/*
 * Writes how an enum value reads in English into out: its proto name
 * without the table's prefix, lowercase, '_' as '-' ("municipal-department"),
 * which the CLI also accepts as input.
 */
void xc_lang_enum_en(const xc_enum_table *t, int value, char *out, size_t size);

/* Prints the short guide `xuncha` shows when run without arguments. */
void xc_ops_guide(FILE *out);

/* Prints worked examples for resource `name` ("target", ...; "health",
 * "admin"), for the end of its --help. */
void xc_ops_examples(FILE *out, const char *name);

/* Prints `xuncha admin --help` and `xuncha health --help`. */
void xc_ops_admin_usage(FILE *out);
void xc_ops_health_usage(FILE *out);

/*
 * Shows "fetched N rows" on errf, rewriting the same line, if errf is a
 * terminal; prints nothing when it is not (a pipe, a file). done clears the
 * line.
 */
void xc_ops_progress(FILE *errf, size_t rows, int done);

/* Output forms of admin stats. */
typedef enum xc_stats_fmt {
  XC_STATS_TEXT = 0,
  XC_STATS_JSON = 1,
  XC_STATS_PROMETHEUS = 2
} xc_stats_fmt;

/*
 * Calls xuncha.v1.Admin/GetStats and prints the answer in fmt: a readable
 * summary, the message as JSON, or the Prometheus text exposition format
 * (for node_exporter's textfile collector). Returns XC_OK, the call's
 * status (err says why), or XC_EINTERNAL when the output cannot be written.
 */
int xc_ops_admin_stats(xc_client *client, int64_t timeout_ms, FILE *out, xc_stats_fmt fmt,
                       xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * `xuncha admin backup DIR`: asks the server for a hot copy of its database
 * into DIR, a directory on the server machine (Admin/Backup), and prints
 * where the copy is and its size (as JSON with json != 0). Waits up to an
 * hour: a copy takes seconds per gigabyte. Returns XC_OK or the server's
 * refusal in err.
 */
int xc_ops_admin_backup(xc_client *client, const char *dir, FILE *out, int json, xc_err *err)
    XC_WARN_UNUSED_RESULT;

#endif /* XC_OPS_H */
