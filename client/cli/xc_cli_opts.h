/*
 * xc_cli_opts.h: the option tokenizer shared by the command families that
 * parse their own command lines (archive, audit, reports, sync, workflow).
 *
 * Each family keeps its own rules (which words are positional, which
 * options it knows, its own messages); this module only splits argv into
 * words and "--name[=value]" options, fetches an option's value, and stores
 * the connection options every family accepts. Nothing here allocates: the
 * cursor points into argv, which outlives the parse.
 */
#ifndef XC_CLI_OPTS_H
#define XC_CLI_OPTS_H

#include <stddef.h>

#include "xc_config.h"
#include "xc_status.h"

/* Longest option name (without "--") the tokenizer hands out, plus one. */
#define XC_CLI_OPTS_NAME_MAX 48

/* What the current argument is. */
typedef enum xc_cli_opts_kind {
  XC_CLI_OPTS_END = 0, /* no arguments left */
  XC_CLI_OPTS_WORD,    /* anything that does not start with "--" ("-h" and "-" too) */
  XC_CLI_OPTS_OPTION,  /* "--name" or "--name=value"; the name is in name */
  XC_CLI_OPTS_BAD      /* "--", "--=value", or a name too long to be one of ours */
} xc_cli_opts_kind;

/* A cursor over argv[1..argc-1]; every pointer in it points into argv. */
typedef struct xc_cli_opts {
  int argc;
  char **argv;
  int i;                              /* index of arg in argv */
  xc_cli_opts_kind kind;              /* what arg is */
  const char *arg;                    /* the current argument, as given */
  const char *inline_value;           /* an option's text after '=', else NULL */
  char name[XC_CLI_OPTS_NAME_MAX];    /* an option's name without "--", else "" */
} xc_cli_opts;

/* Starts a cursor before argv[1] (argv[0] is the program). */
void xc_cli_opts_init(xc_cli_opts *o, int argc, char **argv);

/* Moves to the next argument and returns its kind (XC_CLI_OPTS_END after the last). */
xc_cli_opts_kind xc_cli_opts_next(xc_cli_opts *o);

/*
 * Returns the value of the current option: the text after '=' if there was
 * one, else the next argument, which is then used up whatever it looks like.
 * NULL when there is neither. The result points into argv.
 */
const char *xc_cli_opts_value(xc_cli_opts *o);

/*
 * For the families of the shape `xuncha COMMAND VERB [options]` (audit,
 * sync): if the current argument is a word that does not start with '-',
 * takes it as the command itself (the first such word; *n_words counts
 * them), then as *verb, and records "unexpected argument" in bad for any
 * further one; returns 1. Returns 0 for anything else.
 */
int xc_cli_opts_verb(const xc_cli_opts *o, int *n_words, const char **verb, char *bad,
                     size_t size);

/*
 * Returns the index of the first word of argv[1..] that is neither an
 * option nor an option's value, or -1 if there is none: how a family tells
 * whether a command line is its own before parsing it. An option without
 * '=' uses up the next word as its value unless it is one of
 * flags[0..n-1], the options that take none.
 */
int xc_cli_opts_first_word(int argc, char **argv, const char *const *flags, size_t n);

/* Returns 1 if the current argument asks for help ("-h" or "--help"), 0 if not. */
int xc_cli_opts_help(const xc_cli_opts *o);

/* Returns the index of name in names[0..n-1], or -1 if it is not there. */
int xc_cli_opts_find(const char *const *names, size_t n, const char *name);

/*
 * Returns 1 if name is one of the global options that take a value
 * (--server, --ca, --cert, --key, --server-name, --timeout, --config,
 * --lang), 0 if not.
 */
int xc_cli_opts_global(const char *name);

/*
 * Stores value (which must outlive conn) in conn if name is a connection
 * option (--server, --ca, --cert, --key, --server-name, --timeout as
 * timeout_ms, --config) and returns 1; returns 0 and leaves conn alone for
 * any other name, --lang included.
 */
int xc_cli_opts_conn(xc_conn_flags *conn, const char *name, const char *value);

/* Applies --lang value (zh or en), or records why not in bad (see xc_cli_opts_bad). */
void xc_cli_opts_lang(const char *value, char *bad, size_t size);

/*
 * Records a parse error in bad (size bytes, "" while there is none) unless
 * one is already there: the first error is the one a person sees.
 */
void xc_cli_opts_bad(char *bad, size_t size, const char *fmt, ...) XC_PRINTF(3, 4);

#endif /* XC_CLI_OPTS_H */
