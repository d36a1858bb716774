/*
 * xc_cli_audit.c: `xuncha audit list` and `xuncha audit verify`, the audit
 * log of the server (xuncha.v1.Audit), for auditor:<code> and admin:<code>
 * certificates.
 */
#define _GNU_SOURCE 1 /* strptime, timegm */
#include "xc_cli_audit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_cli.h"
#include "xc_cli_opts.h"
#include "xc_config.h"
#include "xc_text.h"
#include "xuncha/client.h"
#include "xuncha/v1/audit.pb-c.h"

/* Exit status of `audit verify` when the chain is damaged. */
#define XC__EXIT_AUDIT_BAD 5

typedef struct xc__aud {
  xc_conn_flags conn;
  const char *verb;
  const char *office, *record, *method, *since, *until, *page_token;
  long long page_size;
  int all, help;
  char bad[160];
} xc__aud;

void xc_cli_audit_usage(FILE *out) {
  (void)fprintf(
      out,
      "Usage: xuncha audit list [--office CN|CODE] [--record ID] [--method TEXT]\n"
      "                         [--since TIME] [--until TIME] [--page-size N]\n"
      "                         [--page-token T] [--all]\n"
      "       xuncha audit verify\n"
      "\n"
      "The server's audit log (审计日志): every call, who made it (certificate CN\n"
      "and serial), the records it touched and its status. For auditor:<code> and\n"
      "admin:<code> certificates; each sees the callers of its own region.\n"
      "\n"
      "  list     entries oldest first; --office takes a CN (office:310104) or a\n"
      "           region code prefix (3101); --method matches part of the method\n"
      "           path; TIME is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC) or ms since\n"
      "           the epoch; --all follows every page\n"
      "  verify   walks the hash chain and the signed checkpoints; prints OK, or\n"
      "           the first bad entry and why (exit status %d)\n",
      XC__EXIT_AUDIT_BAD);
}

/* Parses argv[2..] (argv[1] is "audit"); errors land in a->bad. */
static void xc__aud_parse(int argc, char **argv, xc__aud *a) {
  static const char *const names[] = {"office", "record",    "method",    "since",
                                      "until",  "page-size", "page-token"};
  xc_cli_opts o;
  int words = 0;
  xc_cli_opts_init(&o, argc, argv);
  while (xc_cli_opts_next(&o) != XC_CLI_OPTS_END) {
    const char *s = o.arg, *v;
    int k;
    if (xc_cli_opts_verb(&o, &words, &a->verb, a->bad, sizeof a->bad)) continue;
    if (xc_cli_opts_help(&o)) {
      a->help = 1;
      continue;
    }
    if (strcmp(s, "--all") == 0) {
      a->all = 1;
      continue;
    }
    /* An unknown name is refused before it can take the next word as its value. */
    k = o.kind == XC_CLI_OPTS_OPTION ? xc_cli_opts_find(names, sizeof names / sizeof names[0],
                                                        o.name)
                                     : -1;
    if (k < 0 && (o.kind != XC_CLI_OPTS_OPTION || !xc_cli_opts_global(o.name))) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "unknown option '%.64s' for audit", s);
      continue;
    }
    v = xc_cli_opts_value(&o);
    if (v == NULL) {
      xc_cli_opts_bad(a->bad, sizeof a->bad, "--%s needs a value", o.name);
      continue;
    }
    if (k < 0) {
      /* --lang is left to $XUNCHA_LANG, which xc_cli_main applied. */
      (void)xc_cli_opts_conn(&a->conn, o.name, v);
      continue;
    }
    switch (k) {
      case 0: a->office = v; break;
      case 1: a->record = v; break;
      case 2: a->method = v; break;
      case 3: a->since = v; break;
      case 4: a->until = v; break;
      case 5:
        if (xc_parse_int64(v, 1, 1000, &a->page_size) != 0)
          xc_cli_opts_bad(a->bad, sizeof a->bad, "--page-size must be 1 to 1000, not '%.32s'", v);
        break;
      default: a->page_token = v; break;
    }
  }
}

/* Parses a TIME flag into ms since the epoch; 0 on success. */
static int xc__time(const char *s, int64_t *out) {
  struct tm tm;
  long long ms;
  const char *end;
  if (xc_parse_int64(s, 0, INT64_MAX, &ms) == 0) {
    *out = ms;
    return 0;
  }
  memset(&tm, 0, sizeof tm);
  end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == NULL || *end != '\0') {
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d", &tm);
  }
  if (end == NULL || *end != '\0') return -1;
  *out = (int64_t)timegm(&tm) * 1000;
  return 0;
}

static void xc__utc(int64_t ms, char *out, size_t size) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[32];
  if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    (void)snprintf(out, size, "%lld", (long long)ms);
    return;
  }
  (void)snprintf(out, size, "%s.%03dZ", buf, (int)(ms % 1000));
}

static int xc__list(xc_client *c, const xc__aud *a, FILE *out, xc_err *err) {
  Xuncha__V1__ListAuditRequest req = XUNCHA__V1__LIST_AUDIT_REQUEST__INIT;
  char token[32] = "";
  int64_t t;
  int rc = XC_OK, pages = 0;
  if (a->since != NULL) {
    if (xc__time(a->since, &t) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--since '%.40s' is not a TIME", a->since);
    req.since_ms = t;
  }
  if (a->until != NULL) {
    if (xc__time(a->until, &t) != 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--until '%.40s' is not a TIME", a->until);
    req.until_ms = t;
  }
  req.office = (char *)(a->office ? a->office : "");
  req.record_id = (char *)(a->record ? a->record : "");
  req.method = (char *)(a->method ? a->method : "");
  req.page_size = (int32_t)a->page_size;
  if (a->page_token != NULL) xc_strlcpy(token, a->page_token, sizeof token);
  (void)fprintf(out, "序号\t时间(UTC)\t证书\t序列号\t方法\t状态\t记录\n");
  do {
    ProtobufCMessage *resp = NULL;
    const Xuncha__V1__ListAuditResponse *r;
    req.page_token = token;
    rc = xc_client_call(c, "/xuncha.v1.Audit/ListAudit", &req.base,
                        &xuncha__v1__list_audit_response__descriptor, &resp, 0, err);
    if (rc != XC_OK) break;
    r = (const Xuncha__V1__ListAuditResponse *)resp;
    for (size_t i = 0; i < r->n_entries; i++) {
      const Xuncha__V1__AuditEntry *e = r->entries[i];
      char when[40];
      xc__utc(e->time_ms, when, sizeof when);
      (void)fprintf(out, "%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t", e->seq, when,
                    e->cn[0] ? e->cn : "-", e->serial[0] ? e->serial : "-", e->method,
                    xc_code_name(xc_code_from_grpc(e->status)));
      for (size_t k = 0; k < e->n_record_ids; k++)
        (void)fprintf(out, "%s%s", k ? "," : "", e->record_ids[k]);
      (void)fprintf(out, "\n");
    }
    xc_strlcpy(token, r->next_page_token, sizeof token);
    xc_message_free(resp);
    pages++;
  } while (a->all && token[0] != '\0' && pages < 100000);
  if (rc == XC_OK && !a->all && token[0] != '\0')
    (void)fprintf(out, "# more: --page-token %s\n", token);
  return rc;
}

static int xc__verify(xc_client *c, FILE *out, int *bad, xc_err *err) {
  Xuncha__V1__VerifyAuditRequest req = XUNCHA__V1__VERIFY_AUDIT_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  const Xuncha__V1__VerifyAuditResponse *r;
  int rc = xc_client_call(c, "/xuncha.v1.Audit/VerifyAudit", &req.base,
                          &xuncha__v1__verify_audit_response__descriptor, &resp, 0, err);
  if (rc != XC_OK) return rc;
  r = (const Xuncha__V1__VerifyAuditResponse *)resp;
  if (r->ok)
    (void)fprintf(out,
                  "OK: %" PRIu64 " entries checked (%s chain, entries %" PRIu64 " to %" PRIu64
                  "), %u signed checkpoints, the newest at entry %" PRIu64 "\n",
                  r->checked, r->hash_alg, r->base_seq + 1, r->last_seq, r->checkpoints,
                  r->checkpoint_seq);
  else
    (void)fprintf(out, "BAD: entry %" PRIu64 ": %s\n", r->first_bad_seq, r->reason);
  *bad = !r->ok;
  xc_message_free(resp);
  return XC_OK;
}

int xc_cli_audit_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env,
                      int *handled) {
  xc__aud a;
  xc_client *client = NULL;
  xc_err err;
  static const char *const flags[] = {"--all", "--help", "-h"};
  int code = XC_EXIT_OK, rc, bad = 0, first;
  *handled = 0;
  /* Ours when the first word that is not a global option's value is
   * "audit". */
  first = xc_cli_opts_first_word(argc, argv, flags, sizeof flags / sizeof flags[0]);
  if (first < 0 || strcmp(argv[first], "audit") != 0) return XC_EXIT_OK;
  *handled = 1;
  memset(&a, 0, sizeof a);
  xc_err_clear(&err);
  xc__aud_parse(argc, argv, &a);
  if (a.help || a.verb == NULL) {
    xc_cli_audit_usage(a.help ? out : errf);
    return a.help ? XC_EXIT_OK : XC_EXIT_USAGE;
  }
  if (a.bad[0] == '\0' && strcmp(a.verb, "list") != 0 && strcmp(a.verb, "verify") != 0)
    (void)snprintf(a.bad, sizeof a.bad, "unknown verb '%.32s' for audit: use list or verify",
                   a.verb);
  if (a.bad[0] != '\0') {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha audit --help' for usage.\n", a.bad);
    return XC_EXIT_USAGE;
  }
  code = xc_cli_connect(&a.conn, env, errf, &client);
  if (code != XC_EXIT_OK) return code;
  rc = strcmp(a.verb, "list") == 0 ? xc__list(client, &a, out, &err)
                                   : xc__verify(client, out, &bad, &err);
  if (rc == XC_OK && fflush(out) != 0) rc = xc_err_set(&err, XC_EINTERNAL, "cannot write the output");
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s: %s\n", xc_code_name(rc), err.msg);
    code = rc == XC_EINVALID_ARGUMENT && err.msg[0] == '-' ? XC_EXIT_USAGE : xc_cli_exit_code(rc);
  } else if (bad) {
    code = XC__EXIT_AUDIT_BAD;
  }
  xc_client_destroy(client);
  return code;
}
