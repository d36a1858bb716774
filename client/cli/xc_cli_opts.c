/*
 * xc_cli_opts.c: the option tokenizer of the command families
 * (xc_cli_opts.h).
 */
#include "xc_cli_opts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xc_ops.h"

void xc_cli_opts_init(xc_cli_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->argc = argc;
  o->argv = argv;
  o->kind = XC_CLI_OPTS_END;
}

xc_cli_opts_kind xc_cli_opts_next(xc_cli_opts *o) {
  const char *s, *eq;
  size_t n;
  o->name[0] = '\0';
  o->inline_value = NULL;
  o->arg = NULL;
  if (o->i + 1 >= o->argc) return o->kind = XC_CLI_OPTS_END;
  s = o->argv[++o->i];
  o->arg = s;
  if (s[0] != '-' || s[1] != '-') return o->kind = XC_CLI_OPTS_WORD;
  /* Only the name is copied, so a value may be as long as argv allows. */
  eq = strchr(s + 2, '=');
  n = eq != NULL ? (size_t)(eq - s - 2) : strlen(s + 2);
  if (n == 0 || n >= sizeof o->name) return o->kind = XC_CLI_OPTS_BAD;
  memcpy(o->name, s + 2, n);
  o->name[n] = '\0';
  if (eq != NULL) o->inline_value = eq + 1;
  return o->kind = XC_CLI_OPTS_OPTION;
}

const char *xc_cli_opts_value(xc_cli_opts *o) {
  if (o->inline_value != NULL) return o->inline_value;
  if (o->i + 1 >= o->argc) return NULL;
  return o->argv[++o->i];
}

int xc_cli_opts_verb(const xc_cli_opts *o, int *n_words, const char **verb, char *bad,
                     size_t size) {
  if (o->arg == NULL || o->arg[0] == '-') return 0;
  if ((*n_words)++ == 0) return 1; /* the command's own word, e.g. "sync" */
  if (*verb == NULL)
    *verb = o->arg;
  else
    xc_cli_opts_bad(bad, size, "unexpected argument '%.64s'", o->arg);
  return 1;
}

int xc_cli_opts_first_word(int argc, char **argv, const char *const *flags, size_t n) {
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-') return i;
    if (strchr(argv[i], '=') == NULL && xc_cli_opts_find(flags, n, argv[i]) < 0) i++;
  }
  return -1;
}

int xc_cli_opts_help(const xc_cli_opts *o) {
  return o->arg != NULL && (strcmp(o->arg, "-h") == 0 || strcmp(o->arg, "--help") == 0);
}

int xc_cli_opts_find(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return (int)i;
  return -1;
}

/* The global options that take a value, in the order xc_cli_opts_conn stores them. */
static const char *const xc__opts_globals[] = {"server",  "ca",     "cert", "key", "server-name",
                                               "timeout", "config", "lang"};
#define XC__OPTS_N_GLOBALS (sizeof xc__opts_globals / sizeof xc__opts_globals[0])

int xc_cli_opts_global(const char *name) {
  return xc_cli_opts_find(xc__opts_globals, XC__OPTS_N_GLOBALS, name) >= 0;
}

int xc_cli_opts_conn(xc_conn_flags *conn, const char *name, const char *value) {
  switch (xc_cli_opts_find(xc__opts_globals, XC__OPTS_N_GLOBALS, name)) {
    case 0: conn->server = value; return 1;
    case 1: conn->ca = value; return 1;
    case 2: conn->cert = value; return 1;
    case 3: conn->key = value; return 1;
    case 4: conn->server_name = value; return 1;
    case 5: conn->timeout_ms = value; return 1;
    case 6: conn->config = value; return 1;
    default: return 0; /* --lang is not a connection setting */
  }
}

void xc_cli_opts_lang(const char *value, char *bad, size_t size) {
  xc_lang l;
  if (xc_lang_parse(value, &l) == 0)
    xc_lang_set(l);
  else
    xc_cli_opts_bad(bad, size, "--lang must be zh or en, not '%.32s'", value);
}

void xc_cli_opts_bad(char *bad, size_t size, const char *fmt, ...) {
  va_list ap;
  if (size == 0 || bad[0] != '\0') return;
  va_start(ap, fmt);
  (void)vsnprintf(bad, size, fmt, ap);
  va_end(ap);
}
