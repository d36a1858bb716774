/*
 * xc_cli.c: the `xuncha` command: argv parsing, the calls, output and exit
 * codes (xc_cli.h).
 */
#include "xc_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <jansson.h>

#include "grpc/health/v1/health.pb-c.h"
#include "xc_cli_archive.h"
#include "xc_cli_rep.h"
#include "xc_cli_audit.h"
#include "xc_cli_sync.h"
#include "xc_cli_wf.h"
#include "xc_limits.h"
#include "xc_msg.h"
#include "xc_ops.h"
#include "xc_render.h"
#include "xc_text.h"
#include "xuncha/client.h"

#ifndef XC_VERSION
#define XC_VERSION "0"
#endif

#define XC__N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- parsing */

enum {
  XC__G_SERVER,
  XC__G_CA,
  XC__G_CERT,
  XC__G_KEY,
  XC__G_SERVER_NAME,
  XC__G_TIMEOUT,
  XC__G_CONFIG,
  XC__G_JSON,
  XC__G_CSV,
  XC__G_HELP,
  XC__G_VERSION,
  XC__G_LANG
};

/* The global options, accepted anywhere on the command line. */
static const struct {
  const char *name;
  int takes_value;
  int id;
} xc__globals[] = {
    {"server", 1, XC__G_SERVER},
    {"ca", 1, XC__G_CA},
    {"cert", 1, XC__G_CERT},
    {"key", 1, XC__G_KEY},
    {"server-name", 1, XC__G_SERVER_NAME},
    {"timeout", 1, XC__G_TIMEOUT},
    {"config", 1, XC__G_CONFIG},
    {"json", 0, XC__G_JSON},
    {"csv", 0, XC__G_CSV},
    {"help", 0, XC__G_HELP},
    {"version", 0, XC__G_VERSION},
    {"lang", 1, XC__G_LANG},
};

static const char *const xc__verb_names[] = {"", "create", "get", "list", "update", "check"};

/* Longest flag name we look up. */
#define XC__FLAG_MAX 48

/* Where the next value of a flag comes from: "--x=v" or the next argument. */
typedef struct xc__argp {
  int argc;
  char **argv;
  int *i;
} xc__argp;

/*
 * Returns the value of flag `name`: the text after '=' if there was one,
 * else the next argument. NULL (with err set) when there is none.
 */
static const char *xc__value(xc__argp *ap, const char *name, const char *inline_value,
                             xc_err *err) {
  if (inline_value != NULL) return inline_value;
  if (*ap->i + 1 >= ap->argc) {
    (void)xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s needs a value", name);
    return NULL;
  }
  return ap->argv[++*ap->i];
}

/* Stores a single-valued special flag, refusing a second one. */
static int xc__once(const char **slot, const char *name, const char *value, xc_err *err) {
  if (*slot != NULL) return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s is given twice", name);
  *slot = value;
  return XC_OK;
}

/* Adds a field or filter flag, refusing a second value for a scalar field. */
static int xc__add_opt(xc_cli_cmd *cmd, const xc_field *field, const xc_filter *filter,
                       const char *value, xc_err *err) {
  int repeated = field != NULL && (field->type == XC_FT_STRS || field->type == XC_FT_RECUSALS ||
                                   field->type == XC_FT_PERSONS ||
                                   field->type == XC_FT_ASSIGNMENTS || field->type == XC_FT_WORK ||
                                   field->type == XC_FT_RELATIONS);
  if (cmd->n_opts >= XC_CLI_MAX_OPTS)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "more than %d options", XC_CLI_MAX_OPTS);
  if (!repeated) {
    for (size_t i = 0; i < cmd->n_opts; i++) {
      if ((field != NULL && cmd->opts[i].field == field) ||
          (filter != NULL && cmd->opts[i].filter == filter))
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s is given twice",
                          field != NULL ? field->flag : filter->flag);
    }
  }
  cmd->opts[cmd->n_opts].field = field;
  cmd->opts[cmd->n_opts].filter = filter;
  cmd->opts[cmd->n_opts].value = value;
  cmd->n_opts++;
  return XC_OK;
}

/* Parses a whole number flag into *out, within [min, max]. */
static int xc__number(const char *name, const char *value, long long min, long long max,
                      long long *out, xc_err *err) {
  if (xc_parse_int64(value, min, max, out) != 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "--%s '%s' is not a whole number from %lld to %lld", name, value, min, max);
  return XC_OK;
}

/* Handles one "--name[=value]" at position *ap->i; state 2 means after the verb. */
static int xc__flag(xc_cli_cmd *cmd, int state, const char *name, const char *inline_value,
                    xc__argp *ap, xc_err *err) {
  const char *v;
  for (size_t g = 0; g < XC__N(xc__globals); g++) {
    if (strcmp(xc__globals[g].name, name) != 0) continue;
    if (!xc__globals[g].takes_value) {
      if (inline_value != NULL)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--%s takes no value", name);
      switch (xc__globals[g].id) {
        case XC__G_JSON:
        case XC__G_CSV: {
          xc_out_fmt want = xc__globals[g].id == XC__G_JSON ? XC_OUT_JSON : XC_OUT_CSV;
          if (cmd->fmt != XC_OUT_TABLE && cmd->fmt != want)
            return xc_err_set(err, XC_EINVALID_ARGUMENT, "--json and --csv exclude each other");
          cmd->fmt = want;
          break;
        }
        case XC__G_HELP:
          cmd->help = 1;
          break;
        default:
          cmd->version = 1;
          break;
      }
      return XC_OK;
    }
    v = xc__value(ap, name, inline_value, err);
    if (v == NULL) return XC_EINVALID_ARGUMENT;
    /* The last one wins, so a wrapper script's settings can be overridden. */
    switch (xc__globals[g].id) {
      case XC__G_SERVER:
        cmd->conn.server = v;
        break;
      case XC__G_CA:
        cmd->conn.ca = v;
        break;
      case XC__G_CERT:
        cmd->conn.cert = v;
        break;
      case XC__G_KEY:
        cmd->conn.key = v;
        break;
      case XC__G_SERVER_NAME:
        cmd->conn.server_name = v;
        break;
      case XC__G_TIMEOUT:
        cmd->conn.timeout_ms = v;
        break;
      case XC__G_LANG:
        cmd->lang = v;
        break;
      default:
        cmd->conn.config = v;
        break;
    }
    return XC_OK;
  }

  if (state < 2)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "unknown option --%s (options of a verb go after the verb)", name);

  if (cmd->admin) {
    if (strcmp(name, "prometheus") == 0 && inline_value == NULL && !cmd->backup) {
      cmd->prometheus = 1;
      return XC_OK;
    }
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "unknown option --%s for 'admin %s' (see 'xuncha admin --help')", name,
                      cmd->backup ? "backup" : "stats");
  }
  if (cmd->health) {
    if (strcmp(name, "service") == 0) {
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT : xc__once(&cmd->service, name, v, err);
    }
  } else if (cmd->verb == XC_VERB_CREATE || cmd->verb == XC_VERB_UPDATE) {
    const xc_field *f = xc_resource_field_by_flag(cmd->resource, name);
    const char **special = cmd->verb == XC_VERB_CREATE ? &cmd->request_id : &cmd->etag;
    const char *special_name = cmd->verb == XC_VERB_CREATE ? "request-id" : "etag";
    if (strcmp(name, special_name) == 0) {
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT : xc__once(special, name, v, err);
    }
    if (f != NULL) {
      unsigned need = cmd->verb == XC_VERB_CREATE ? XC_FA_CREATE : XC_FA_UPDATE;
      if (!(f->attrs & need))
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "--%s (%s) is fixed when the %s is created; it cannot be updated", name,
                          f->label, cmd->resource->name);
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT : xc__add_opt(cmd, f, NULL, v, err);
    }
  } else if (cmd->verb == XC_VERB_LIST) {
    const xc_filter *flt = xc_resource_filter(cmd->resource, name);
    if (strcmp(name, "all") == 0) {
      if (inline_value != NULL)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--all takes no value");
      cmd->all = 1;
      return XC_OK;
    }
    if (strcmp(name, "include-void") == 0) {
      if (inline_value != NULL)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "--include-void takes no value");
      cmd->include_void = 1;
      return XC_OK;
    }
    if (strcmp(name, "limit") == 0) {
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT
                       : xc__number(name, v, 1, XC_CLI_MAX_LIMIT, &cmd->limit, err);
    }
    if (strcmp(name, "page-size") == 0) {
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT
                       : xc__number(name, v, 1, XC_MAX_PAGE_SIZE, &cmd->page_size, err);
    }
    if (strcmp(name, "page-token") == 0) {
      v = xc__value(ap, name, inline_value, err);
      if (v == NULL) return XC_EINVALID_ARGUMENT;
      if (strlen(v) > XC_MAX_PAGE_TOKEN_BYTES || !xc_utf8_valid(v, strlen(v)))
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "--page-token is not a token from a previous list (at most %d bytes)",
                          XC_MAX_PAGE_TOKEN_BYTES);
      return xc__once(&cmd->page_token, name, v, err);
    }
    if (flt != NULL) {
      v = xc__value(ap, name, inline_value, err);
      return v == NULL ? XC_EINVALID_ARGUMENT : xc__add_opt(cmd, NULL, flt, v, err);
    }
  }
  return xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "unknown option --%s for '%s %s' (see 'xuncha %s --help')", name,
                    cmd->health ? "health" : cmd->resource->name, xc__verb_names[cmd->verb],
                    cmd->health ? "health" : cmd->resource->name);
}

/* Checks the parsed command as a whole: verb, ID and required flags. */
static int xc__check_cmd(xc_cli_cmd *cmd, int state, xc_err *err) {
  const xc_resource *r = cmd->resource;
  if (state == 0)
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "no resource given: use health, target, round, group, finding or lead");
  if (state == 1)
    return xc_err_set(err, XC_EINVALID_ARGUMENT, "no verb given: use %s",
                      cmd->health  ? "'health check'"
                      : cmd->admin ? "'admin stats' or 'admin backup DIR'"
                                   : "create, get, list or update");
  if (cmd->admin && cmd->backup && (cmd->backup_dir == NULL || cmd->backup_dir[0] == '\0'))
    return xc_err_set(err, XC_EINVALID_ARGUMENT,
                      "'admin backup' needs a directory: xuncha admin backup DIR (an empty "
                      "directory on the server machine, absolute path)");
  if (cmd->verb == XC_VERB_GET || cmd->verb == XC_VERB_UPDATE) {
    if (cmd->id == NULL)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "'%s %s' needs the record's ID: xuncha %s %s ID",
                        r->name, xc__verb_names[cmd->verb], r->name, xc__verb_names[cmd->verb]);
    if (cmd->id[0] == '\0' || strlen(cmd->id) >= XC_ID_MAX ||
        !xc_utf8_valid(cmd->id, strlen(cmd->id)))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "'%s' is not a record ID", cmd->id);
  }
  if (cmd->verb == XC_VERB_CREATE) {
    char missing[XC_ERR_MSG_MAX / 2];
    size_t used = 0;
    missing[0] = '\0';
    for (size_t i = 0; i < r->n_fields; i++) {
      const xc_field *f = &r->fields[i];
      int given = 0;
      if (!(f->attrs & XC_FA_REQUIRED)) continue;
      for (size_t k = 0; k < cmd->n_opts && !given; k++) given = cmd->opts[k].field == f;
      if (!given) {
        int n = snprintf(missing + used, sizeof missing - used, "%s--%s %s (%s)",
                         used > 0 ? ", " : "", f->flag, f->meta, f->label);
        if (n > 0 && (size_t)n < sizeof missing - used) used += (size_t)n;
      }
    }
    if (used > 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "'%s create' also needs %s", r->name, missing);
    if (cmd->request_id != NULL &&
        (cmd->request_id[0] == '\0' || strlen(cmd->request_id) > XC_MAX_REQUEST_ID_BYTES ||
         !xc_utf8_valid(cmd->request_id, strlen(cmd->request_id))))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--request-id must be 1 to %d bytes of text",
                        XC_MAX_REQUEST_ID_BYTES);
  }
  if (cmd->verb == XC_VERB_UPDATE) {
    if (cmd->n_opts == 0)
      return xc_err_set(err, XC_EINVALID_ARGUMENT,
                        "nothing to update: give the flags of the fields to change (see 'xuncha "
                        "%s --help')",
                        r->name);
    if (cmd->etag != NULL && (cmd->etag[0] == '\0' || strlen(cmd->etag) > XC_MAX_NAME_BYTES))
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "--etag must be 1 to %d bytes",
                        XC_MAX_NAME_BYTES);
  }
  return XC_OK;
}

int xc_cli_parse(int argc, char **argv, xc_cli_cmd *cmd, xc_err *err) {
  int end_opts = 0, state = 0, i;
  xc__argp ap = {argc, argv, &i};
  memset(cmd, 0, sizeof *cmd);
  cmd->limit = XC_CLI_DEFAULT_LIMIT;
  xc_err_clear(err);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!end_opts && strcmp(a, "--") == 0) {
      end_opts = 1;
    } else if (!end_opts && strcmp(a, "-h") == 0) {
      cmd->help = 1;
    } else if (!end_opts && a[0] == '-' && a[1] == '-') {
      char name[XC__FLAG_MAX];
      const char *eq = strchr(a + 2, '=');
      size_t n = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
      int rc;
      if (n == 0 || n >= sizeof name)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "unknown option %.64s", a);
      memcpy(name, a + 2, n);
      name[n] = '\0';
      rc = xc__flag(cmd, state, name, eq != NULL ? eq + 1 : NULL, &ap, err);
      if (rc != XC_OK) return rc;
    } else if (!end_opts && a[0] == '-' && a[1] != '\0') {
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "unknown option %.64s (options start with --)",
                        a);
    } else if (state == 0) {
      if (strcmp(a, "help") == 0) {
        cmd->help = 1;
        continue;
      }
      if (strcmp(a, "admin") == 0) {
        cmd->admin = 1;
      } else if (strcmp(a, "health") == 0) {
        cmd->health = 1;
      } else {
        cmd->resource = xc_resource_find(a);
        if (cmd->resource == NULL)
          return xc_err_set(err, XC_EINVALID_ARGUMENT,
                            "unknown resource '%.64s': use health, target, round, group, "
                            "finding or lead",
                            a);
      }
      state = 1;
    } else if (state == 1 && cmd->admin) {
      if (strcmp(a, "backup") == 0)
        cmd->backup = 1;
      else if (strcmp(a, "stats") != 0)
        return xc_err_set(err, XC_EINVALID_ARGUMENT,
                          "unknown verb '%.64s' for admin: use stats or backup", a);
      state = 2;
    } else if (cmd->admin && cmd->backup && cmd->backup_dir == NULL) {
      cmd->backup_dir = a;
    } else if (state == 1) {
      int v;
      for (v = XC_VERB_CREATE; v <= XC_VERB_CHECK; v++)
        if (strcmp(a, xc__verb_names[v]) == 0) break;
      if (cmd->health ? v != XC_VERB_CHECK : v > XC_VERB_UPDATE)
        return xc_err_set(err, XC_EINVALID_ARGUMENT, "unknown verb '%.64s' for %s: use %s", a,
                          cmd->health ? "health" : cmd->resource->name,
                          cmd->health ? "check" : "create, get, list or update");
      cmd->verb = (xc_verb)v;
      state = 2;
    } else if (cmd->id == NULL && (cmd->verb == XC_VERB_GET || cmd->verb == XC_VERB_UPDATE)) {
      cmd->id = a;
    } else {
      return xc_err_set(err, XC_EINVALID_ARGUMENT, "unexpected argument '%.64s'", a);
    }
  }
  if (cmd->help || cmd->version) return XC_OK;
  return xc__check_cmd(cmd, state, err);
}

/* ---------------------------------------------------------------- requests */

/* Stores sub (moved) into the message field `name` of msg. */
static int xc__set_sub(ProtobufCMessage *msg, const char *name, ProtobufCMessage *sub) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
  ProtobufCMessage **slot;
  if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) return XC_EINTERNAL;
  slot = (ProtobufCMessage **)(void *)((char *)msg + f->offset);
  if (*slot != NULL) protobuf_c_message_free_unpacked(*slot, NULL);
  *slot = sub;
  return XC_OK;
}

int xc_cli_build_create(const xc_cli_cmd *cmd, const char *request_id, ProtobufCMessage **req,
                        xc_err *err) {
  const xc_resource *r = cmd->resource;
  ProtobufCMessage *m = xc_msg_new(r->create_req);
  ProtobufCMessage *rec = xc_msg_new(r->record);
  int rc = XC_OK;
  *req = NULL;
  if (m == NULL || rec == NULL || xc__set_sub(m, r->record_field, rec) != XC_OK) {
    if (rec != NULL) protobuf_c_message_free_unpacked(rec, NULL);
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the request");
    goto done;
  }
  for (size_t i = 0; i < cmd->n_opts; i++) {
    rc = xc_field_apply(cmd->opts[i].field, rec, cmd->opts[i].value, err);
    if (rc != XC_OK) goto done;
  }
  if (request_id != NULL && xc_msg_set_str(m, "request_id", request_id) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the request");
    goto done;
  }
  *req = m;
  m = NULL;
done:
  if (m != NULL) protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

int xc_cli_build_list(const xc_cli_cmd *cmd, ProtobufCMessage **req, xc_err *err) {
  ProtobufCMessage *m = xc_msg_new(cmd->resource->list_req);
  int rc = XC_OK;
  *req = NULL;
  if (m == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < cmd->n_opts; i++) {
    rc = xc_filter_apply(cmd->opts[i].filter, m, cmd->opts[i].value, err);
    if (rc != XC_OK) goto done;
  }
  if (cmd->include_void) {
    /* Every List request has include_void (a bool: set through its slot). */
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "include_void");
    if (fd != NULL && fd->type == PROTOBUF_C_TYPE_BOOL)
      *(protobuf_c_boolean *)(void *)((char *)m + fd->offset) = 1;
  }
  if ((cmd->page_size > 0 && xc_msg_set_int(m, "page_size", cmd->page_size) != XC_OK) ||
      (cmd->page_token != NULL && xc_msg_set_str(m, "page_token", cmd->page_token) != XC_OK)) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  *req = m;
  m = NULL;
done:
  if (m != NULL) protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

/*
 * Adds the top-level field of path to the request's update_mask, once: the
 * server masks whole top-level fields, so "rectification.mode" is sent as
 * "rectification" (the rest of the rectification is sent as it was read).
 */
static int xc__mask_add(ProtobufCMessage *req, const char *path, xc_err *err) {
  char top[64];
  const char *dot = strchr(path, '.');
  size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(req->descriptor, "update_mask");
  size_t count;
  char *const *mask;
  if (f == NULL || n >= sizeof top) return xc_err_set(err, XC_EINTERNAL, "no update_mask");
  memcpy(top, path, n);
  top[n] = '\0';
  count = *(const size_t *)(const void *)((const char *)req + f->quantifier_offset);
  mask = *(char *const *const *)(const void *)((const char *)req + f->offset);
  for (size_t i = 0; i < count; i++)
    if (strcmp(mask[i], top) == 0) return XC_OK;
  if (xc_msg_add_str(req, "update_mask", top) != XC_OK)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the request");
  return XC_OK;
}

int xc_cli_build_update(const xc_cli_cmd *cmd, ProtobufCMessage *rec, ProtobufCMessage **req,
                        xc_err *err) {
  const xc_resource *r = cmd->resource;
  ProtobufCMessage *m = xc_msg_new(r->update_req);
  int rc = XC_OK;
  *req = NULL;
  if (m == NULL || xc__set_sub(m, r->record_field, rec) != XC_OK) {
    protobuf_c_message_free_unpacked(rec, NULL);
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the request");
    goto done;
  }
  for (size_t i = 0; i < cmd->n_opts; i++) {
    const xc_field *f = cmd->opts[i].field;
    size_t k;
    /* The first of a field's flags replaces what a list field had. */
    for (k = 0; k < i; k++)
      if (cmd->opts[k].field == f) break;
    if (k == i) {
      xc_field_clear(f, rec);
      rc = xc__mask_add(m, f->path, err);
      if (rc != XC_OK) goto done;
    }
    rc = xc_field_apply(f, rec, cmd->opts[i].value, err);
    if (rc != XC_OK) goto done;
  }
  if (cmd->etag != NULL && xc_msg_set_str(rec, "etag", cmd->etag) != XC_OK) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory building the request");
    goto done;
  }
  *req = m;
  m = NULL;
done:
  if (m != NULL) protobuf_c_message_free_unpacked(m, NULL);
  return rc;
}

void xc_cli_request_id(char *buf, size_t size) {
  unsigned char b[16];
  size_t got = 0;
  /* getrandom only fails on ancient kernels; then mix time and pid, which is
     still unique enough for one operator's retries. */
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < sizeof b) {
    struct timespec ts;
    uint64_t x;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    x = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
    for (size_t i = 0; i < sizeof b; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b[i] = (unsigned char)x;
    }
  }
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
  (void)snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
}

int xc_cli_exit_code(int code) {
  if (code == XC_OK) return XC_EXIT_OK;
  if (code == XC_EUNAVAILABLE || code == XC_EDEADLINE_EXCEEDED) return XC_EXIT_CONNECT;
  return XC_EXIT_REFUSED;
}

/* ---------------------------------------------------------------- output */

/* Prints one record as a "字段: 值" block. */
static int xc__print_block(FILE *out, const xc_resource *r, const ProtobufCMessage *rec,
                           xc_err *err) {
  const char **labels = calloc(r->n_fields, sizeof *labels);
  char **values = calloc(r->n_fields, sizeof *values);
  int rc = XC_OK;
  if (labels == NULL || values == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < r->n_fields; i++) {
    labels[i] = xc_lang_label(r->fields[i].label, r->fields[i].path);
    values[i] = xc_field_text(&r->fields[i], rec, XC_STYLE_HUMAN);
    if (values[i] == NULL) {
      rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  }
  rc = xc_render_block(out, labels, (const char *const *)values, r->n_fields, err);
done:
  if (values != NULL)
    for (size_t i = 0; i < r->n_fields; i++) free(values[i]);
  free(values);
  free(labels);
  return rc;
}

/* Prints records as CSV: a header of field paths, then one row each. */
static int xc__print_csv(FILE *out, const xc_resource *r, const ProtobufCMessage *const *recs,
                         size_t n, xc_err *err) {
  const char **header = calloc(r->n_fields, sizeof *header);
  char **row = calloc(r->n_fields, sizeof *row);
  int rc = XC_OK;
  if (header == NULL || row == NULL) {
    rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < r->n_fields; i++) header[i] = r->fields[i].path;
  rc = xc_render_csv_row(out, header, r->n_fields, err);
  for (size_t k = 0; rc == XC_OK && k < n; k++) {
    for (size_t i = 0; i < r->n_fields; i++) {
      free(row[i]);
      row[i] = xc_field_text(&r->fields[i], recs[k], XC_STYLE_CSV);
      if (row[i] == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
    }
    rc = xc_render_csv_row(out, (const char *const *)row, r->n_fields, err);
  }
done:
  if (row != NULL)
    for (size_t i = 0; i < r->n_fields; i++) free(row[i]);
  free(row);
  free(header);
  return rc;
}

/* Prints records as the resource's table. */
static int xc__print_table(FILE *out, const xc_resource *r, const ProtobufCMessage *const *recs,
                           size_t n, xc_err *err) {
  xc_column cols[16];
  const xc_field *fields[16];
  char **cells = NULL;
  size_t nc = r->n_cols;
  int rc = XC_OK;
  if (nc > XC__N(cols)) return xc_err_set(err, XC_EINTERNAL, "too many columns");
  for (size_t c = 0; c < nc; c++) {
    cols[c].header = xc_lang_label(r->cols[c].header, r->cols[c].path);
    cols[c].max_width = r->cols[c].max_width;
    fields[c] = xc_resource_field_by_path(r, r->cols[c].path);
    if (fields[c] == NULL) return xc_err_set(err, XC_EINTERNAL, "no field %s", r->cols[c].path);
  }
  /* n is bounded by XC_CLI_MAX_LIMIT, so n * nc cannot overflow. */
  cells = calloc(n * nc + 1, sizeof *cells);
  if (cells == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  for (size_t k = 0; k < n; k++) {
    for (size_t c = 0; c < nc; c++) {
      cells[k * nc + c] = xc_field_text(fields[c], recs[k], XC_STYLE_HUMAN);
      if (cells[k * nc + c] == NULL) {
        rc = xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
        goto done;
      }
    }
  }
  rc = xc_render_table(out, cols, nc, (const char *const *)cells, n, err);
done:
  for (size_t i = 0; i < n * nc; i++) free(cells[i]);
  free(cells);
  return rc;
}

/* Prints records as JSON: one object, or {"items": [...], "next_page_token": ...}. */
static int xc__print_json(FILE *out, const ProtobufCMessage *const *recs, size_t n,
                          const char *next_page_token, int single, xc_err *err) {
  json_t *root = NULL, *items = NULL;
  int rc = XC_OK;
  if (single) {
    root = n > 0 ? xc_render_json_msg(recs[0]) : json_object();
  } else {
    root = json_object();
    items = json_array();
    for (size_t k = 0; root != NULL && items != NULL && k < n; k++) {
      json_t *j = xc_render_json_msg(recs[k]);
      if (j == NULL || json_array_append_new(items, j) != 0) {
        json_decref(items);
        items = NULL;
      }
    }
    if (root != NULL &&
        (items == NULL || json_object_set_new(root, "items", items) != 0 ||
         json_object_set_new(root, "next_page_token",
                             json_string(next_page_token != NULL ? next_page_token : "")) != 0)) {
      json_decref(root);
      root = NULL;
    }
  }
  if (root == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc_render_json(out, root, err);
  json_decref(root);
  return rc;
}

int xc_cli_print(FILE *out, const xc_resource *r, xc_out_fmt fmt,
                 const ProtobufCMessage *const *recs, size_t n, const char *next_page_token,
                 int single, xc_err *err) {
  switch (fmt) {
    case XC_OUT_JSON:
      return xc__print_json(out, recs, n, next_page_token, single, err);
    case XC_OUT_CSV:
      return xc__print_csv(out, r, recs, n, err);
    case XC_OUT_TABLE:
      break;
  }
  if (single) return n > 0 ? xc__print_block(out, r, recs[0], err) : XC_OK;
  return xc__print_table(out, r, recs, n, err);
}

/* ---------------------------------------------------------------- help */

void xc_cli_usage(FILE *out) {
  (void)fprintf(
      out,
      "Usage: xuncha [global options] <resource> <verb> [options]\n"
      "\n"
      "Reads and writes the records of inspection tours (巡察) on an xunchad server,\n"
      "over mutual TLS with your office's certificate.\n"
      "\n"
      "Resources and verbs:\n"
      "  health  check [--service NAME]     is the server serving? (服务状态)\n"
      "  admin   stats [--prometheus]       the server's figures (运行统计)\n"
      "  admin   backup DIR                 hot copy of the database into DIR on the server (备份)\n"
      "  audit   list|verify                the audit log (审计日志; auditors)\n"
      "  sync    now|status|verify          同步: federation with the upstream (上级)\n"
      "  target  create|get|list|update     被巡察单位: units inspected\n"
      "  round   create|get|list|update     巡察轮次: rounds of inspection\n"
      "  group   create|get|list|update     巡察组: inspection groups\n"
      "  finding create|get|list|update     问题: findings and their rectification (整改)\n"
      "  lead    create|get|list|update     问题线索: leads transferred to agencies\n"
      "  directory create|get|list|update   巡察机构与有关单位: offices and agencies\n"
      "  inspector create|get|list|update   巡察人才库: the inspector pool (also pool ...)\n"
      "  archive put|get|info|list|verify   立卷归档: documents, streamed, hash-checked\n"
      "  pool    add|get|list|update|suggest|workload  巡察人才库 ('xuncha archive --help')\n"
      "  (workflows: round advance, rectification ..., lead dispose, RESOURCE void;\n"
      "   'xuncha rectification --help' lists them)\n"
      "  report  summary|coverage --term N  the speech's figures, growth, coverage (报表)\n"
      "  term    create|list                届: an office's terms\n"
      "  import|export targets|findings|leads  CSV ledgers (台账) for Excel\n"
      "  ('xuncha report --help' lists them)\n"
      "Run 'xuncha <resource> --help' for the flags of each verb.\n"
      "\n"
      "Verbs:\n"
      "  create FLAGS      create a record and print it; --request-id ID makes retries\n"
      "                    safe (default: a random id, kept across the tool's own retries)\n"
      "  get ID            print one record as 字段: 值 lines\n"
      "  list [FILTERS]    print one page as a table; --page-size N, --page-token T;\n"
      "                    --all follows every page, up to --limit N rows (default %d)\n"
      "  update ID FLAGS   change only the fields given: reads the record, applies the\n"
      "                    flags, sends them as update_mask with the etag it read\n"
      "                    (--etag E to fail if the record changed since E); a repeated\n"
      "                    flag (--member, --tag, ...) replaces the whole list\n"
      "\n"
      "Global options, anywhere on the line (the last one given wins; a flag beats\n"
      "the environment, which beats the config file):\n"
      "  --server HOST:PORT   $XUNCHA_SERVER       server       (default %s)\n"
      "  --ca FILE            $XUNCHA_CA           ca           CA that signed the server\n"
      "  --cert FILE          $XUNCHA_CERT         cert         your client certificate\n"
      "  --key FILE           $XUNCHA_KEY          key          its private key\n"
      "  --server-name NAME   $XUNCHA_SERVER_NAME  server_name  name in the server's cert\n"
      "  --timeout MS                              timeout_ms   deadline of each call\n"
      "                                                         (default 10000)\n"
      "  --config FILE        $XUNCHA_CONFIG       the config file (default\n"
      "                       ~/%s: an ini file with a [connection]\n"
      "                       section holding the keys above; relative paths are\n"
      "                       relative to the file)\n"
      "  --json               print JSON: proto field names, enum names, every field\n"
      "  --csv                print CSV: a header row of field names, then one row each\n"
      "  --lang zh|en         $XUNCHA_LANG         labels, headings and enum values in\n"
      "                       Chinese (default) or English\n"
      "  --help, --version    (run without arguments for a short guide)\n"
      "\n"
      "Values: enums take English names in any case, with or without their prefix\n"
      "(special, SPECIAL, ROUND_KIND_SPECIAL, follow-up) or the Chinese terms (专项巡察,\n"
      "专项, 市直单位, 立行立改, 谈话函询); dates are YYYY-MM-DD. A call that finds the\n"
      "server UNAVAILABLE is tried %d times in all, with growing pauses.\n"
      "\n"
      "Exit status:\n"
      "  0  success\n"
      "  1  internal error of the tool (out of memory, cannot write the output)\n"
      "  2  usage error: unknown option, resource or verb, a bad value (the accepted\n"
      "     values are listed), a missing setting, a bad config file\n"
      "  3  no connection: the server is unreachable (UNAVAILABLE), did not answer in\n"
      "     time (DEADLINE_EXCEEDED), or the certificate files cannot be read\n"
      "  4  the server refused the call: any other status (NOT_FOUND,\n"
      "     PERMISSION_DENIED, INVALID_ARGUMENT, ABORTED, ...), printed on stderr as\n"
      "     'xuncha: CODE: message'\n",
      XC_CLI_DEFAULT_LIMIT, XC_CONFIG_DEFAULT_SERVER, XC_CONFIG_DEFAULT_FILE, XC_CLI_ATTEMPTS);
}

/* Column where the description of a flag starts in a resource's help. */
#define XC__HELP_COL 31
/* Width help text is wrapped to. */
#define XC__HELP_WIDTH 79

/* Prints "one of: a (甲), b (乙), ..." wrapped under the flag descriptions. */
static void xc__help_values(FILE *out, const xc_enum_table *t) {
  char values[XC_ERR_MSG_MAX];
  const char *p = values;
  size_t col = XC__HELP_COL + 8;
  xc_enum_describe(t, values, sizeof values);
  (void)fprintf(out, "%*sone of: ", XC__HELP_COL, "");
  while (*p != '\0') {
    const char *end = strstr(p, ", ");
    size_t n = end != NULL ? (size_t)(end - p) + 1 : strlen(p);
    char item[128];
    size_t w;
    if (n >= sizeof item) n = sizeof item - 1;
    memcpy(item, p, n);
    item[n] = '\0';
    w = xc_display_width(item);
    if (col + w + 1 > XC__HELP_WIDTH && col > XC__HELP_COL + 8) {
      (void)fprintf(out, "\n%*s", XC__HELP_COL + 8, "");
      col = XC__HELP_COL + 8;
    } else if (col > XC__HELP_COL + 8) {
      (void)fputc(' ', out);
      col++;
    }
    (void)fputs(item, out);
    col += w;
    p += n;
    while (*p == ' ') p++;
  }
  (void)fputc('\n', out);
}

/* Prints one help line: "  --flag META" padded, then the description. */
static void xc__help_line(FILE *out, const char *flag, const char *meta, const char *desc) {
  char left[96];
  int n = snprintf(left, sizeof left, "  --%s %s", flag, meta);
  (void)fprintf(out, "%s", left);
  if (n >= 0 && (size_t)n < XC__HELP_COL)
    (void)fprintf(out, "%*s", XC__HELP_COL - n, "");
  else
    (void)fprintf(out, "\n%*s", XC__HELP_COL, "");
  (void)fprintf(out, "%s\n", desc);
}

/* Prints the help of one field flag. */
static void xc__help_field(FILE *out, const xc_field *f) {
  char desc[256];
  int repeated = f->type == XC_FT_STRS || f->type == XC_FT_RECUSALS || f->type == XC_FT_PERSONS ||
                 f->type == XC_FT_ASSIGNMENTS || f->type == XC_FT_WORK ||
                 f->type == XC_FT_RELATIONS;
  (void)snprintf(desc, sizeof desc, "%s%s%s%s%s", f->label,
                 (f->attrs & XC_FA_REQUIRED) ? ", required" : "",
                 !(f->attrs & XC_FA_UPDATE) ? ", fixed after create" : "",
                 repeated ? ", repeatable" : "", (f->attrs & XC_FA_DATE) ? " (YYYY-MM-DD)" : "");
  xc__help_line(out, f->flag, f->meta, desc);
  if (f->type == XC_FT_ENUM) xc__help_values(out, f->enums);
}

void xc_cli_resource_usage(FILE *out, const xc_resource *r) {
  (void)fprintf(out,
                "Usage: xuncha [global options] %s <verb> [options]      (%s)\n\n"
                "  xuncha %s create FIELD-FLAGS [--request-id ID]\n"
                "  xuncha %s get ID\n"
                "  xuncha %s list [FILTERS] [--page-size N] [--page-token T] [--all] "
                "[--limit N]\n"
                "  xuncha %s update ID FIELD-FLAGS [--etag E]\n\n"
                "Field flags (create; update changes only the ones given):\n",
                r->name, r->zh, r->name, r->name, r->name, r->name);
  for (size_t i = 0; i < r->n_fields; i++)
    if (r->fields[i].flag != NULL) xc__help_field(out, &r->fields[i]);
  (void)fprintf(out, "\nList filters:\n");
  for (size_t i = 0; i < r->n_filters; i++) {
    const xc_filter *f = &r->filters[i];
    xc__help_line(out, f->flag, f->meta, f->help);
    if (f->type == XC_FT_ENUM) xc__help_values(out, f->enums);
  }
  (void)fprintf(out, "\nSet by the server (shown by get):");
  for (size_t i = 0; i < r->n_fields; i++)
    if (r->fields[i].flag == NULL) (void)fprintf(out, " %s", r->fields[i].label);
  (void)fprintf(out, "\n");
  xc_ops_examples(out, r->name);
  (void)fprintf(out, "\nRun 'xuncha --help' for the global options and exit codes.\n");
}

/* ---------------------------------------------------------------- running */

/* Everything one run holds, released once at the end of xc_cli_main. */
typedef struct xc__run {
  xc_cli_cmd *cmd;
  xc_client *client;
  int remote; /* the error came from a call, not from the tool itself */
  ProtobufCMessage *req;
  ProtobufCMessage *resp;
  ProtobufCMessage **pages; /* list responses, owning the rows */
  size_t n_pages, cap_pages;
  const ProtobufCMessage **rows;
  size_t n_rows, cap_rows;
} xc__run;

/*
 * Makes a call, trying again with growing pauses while it is UNAVAILABLE.
 * A create keeps its request_id across attempts, so a retry whose first
 * attempt did reach the server returns that first result.
 */
static int xc__call(xc__run *run, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **out,
                    xc_err *err) {
  long pause_ms = XC_CLI_BACKOFF_MS;
  for (int attempt = 1;; attempt++) {
    int rc = xc_client_call(run->client, method, req, resp_desc, out, 0, err);
    struct timespec ts;
    if (rc != XC_EUNAVAILABLE || attempt >= XC_CLI_ATTEMPTS) {
      if (rc != XC_OK) run->remote = 1;
      return rc;
    }
    ts.tv_sec = pause_ms / 1000;
    ts.tv_nsec = (pause_ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    pause_ms *= 2;
  }
}

/* Makes room for one more page; returns 0 when out of memory. */
static int xc__grow_pages(xc__run *run) {
  ProtobufCMessage **p;
  size_t cap;
  if (run->n_pages < run->cap_pages) return 1;
  cap = run->cap_pages > 0 ? run->cap_pages * 2 : 16;
  p = realloc(run->pages, cap * sizeof *p);
  if (p == NULL) return 0;
  run->pages = p;
  run->cap_pages = cap;
  return 1;
}

/* Makes room for one more row; returns 0 when out of memory. */
static int xc__grow_rows(xc__run *run) {
  const ProtobufCMessage **p;
  size_t cap;
  if (run->n_rows < run->cap_rows) return 1;
  cap = run->cap_rows > 0 ? run->cap_rows * 2 : 64;
  p = realloc(run->rows, cap * sizeof *p);
  if (p == NULL) return 0;
  run->rows = p;
  run->cap_rows = cap;
  return 1;
}

/* Runs list: one page, or every page with --all, up to --limit rows. */
static int xc__run_list(xc__run *run, FILE *out, FILE *errf, xc_err *err) {
  xc_cli_cmd *cmd = run->cmd;
  const xc_resource *r = cmd->resource;
  const char *next = "";
  int cut = 0;
  int rc;
  for (;;) {
    ProtobufCMessage *page = NULL;
    const ProtobufCFieldDescriptor *f;
    size_t count;
    ProtobufCMessage *const *items;
    rc = xc__call(run, r->list_method, run->req, r->list_resp, &page, err);
    if (rc != XC_OK) return rc;
    if (!xc__grow_pages(run)) {
      protobuf_c_message_free_unpacked(page, NULL);
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    }
    run->pages[run->n_pages++] = page;
    f = protobuf_c_message_descriptor_get_field_by_name(page->descriptor, r->items_field);
    if (f == NULL) return xc_err_set(err, XC_EINTERNAL, "no field %s", r->items_field);
    count = *(const size_t *)(const void *)((const char *)page + f->quantifier_offset);
    items = *(ProtobufCMessage *const *const *)(const void *)((const char *)page + f->offset);
    for (size_t k = 0; k < count; k++) {
      if (run->n_rows >= (size_t)cmd->limit) {
        cut = 1;
        break;
      }
      if (!xc__grow_rows(run)) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      run->rows[run->n_rows++] = items[k];
    }
    /* Long exports show how far they got, on a terminal only. */
    if (cmd->all) xc_ops_progress(errf, run->n_rows, 0);
    next = xc_msg_get_str(page, "next_page_token");
    if (next == NULL) next = "";
    if (cut || !cmd->all || next[0] == '\0') break;
    if (run->n_rows >= (size_t)cmd->limit) {
      cut = 1;
      break;
    }
    /* A server that hands back the token it was given would loop forever. */
    if (strcmp(next, xc_msg_get_str(run->req, "page_token")) == 0)
      return xc_err_set(err, XC_EINTERNAL,
                        "the server returned the same page token twice; stopped after %zu rows",
                        run->n_rows);
    if (run->n_pages > (size_t)cmd->limit)
      return xc_err_set(err, XC_EINTERNAL, "more than %lld pages without reaching the end",
                        cmd->limit);
    if (xc_msg_set_str(run->req, "page_token", next) != XC_OK)
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  }
  if (cmd->all) xc_ops_progress(errf, 0, 1);
  /* A page cut in the middle has no token for the rows after the cut. */
  if (cut && next[0] != '\0')
    (void)fprintf(errf, "xuncha: stopped at --limit %lld rows; more records remain\n", cmd->limit);
  else if (cut)
    (void)fprintf(errf, "xuncha: stopped at --limit %lld rows\n", cmd->limit);
  else if (next[0] != '\0' && cmd->fmt != XC_OUT_JSON)
    (void)fprintf(errf, "xuncha: more records: repeat with --page-token %s, or use --all\n", next);
  return xc_cli_print(out, r, cmd->fmt, run->rows, run->n_rows, cut ? "" : next, 0, err);
}

/* Runs health check and prints the serving status. */
static int xc__run_health(xc__run *run, FILE *out, xc_err *err) {
  Grpc__Health__V1__HealthCheckRequest *req = NULL;
  const Grpc__Health__V1__HealthCheckResponse *resp;
  int rc;
  run->req = xc_msg_new(&grpc__health__v1__health_check_request__descriptor);
  if (run->req == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  req = (Grpc__Health__V1__HealthCheckRequest *)run->req;
  if (run->cmd->service != NULL && xc_msg_set_str(run->req, "service", run->cmd->service) != XC_OK)
    return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
  rc = xc__call(run, "/grpc.health.v1.Health/Check", &req->base,
                &grpc__health__v1__health_check_response__descriptor, &run->resp, err);
  if (rc != XC_OK) return rc;
  resp = (const Grpc__Health__V1__HealthCheckResponse *)run->resp;
  if (run->cmd->fmt == XC_OUT_JSON) {
    rc = xc_render_json_print(out, run->resp, err);
  } else if (run->cmd->fmt == XC_OUT_CSV) {
    const char *h[1] = {"status"};
    const char *v[1] = {xc_enum_proto_name(&xc_enum_serving_status, (int)resp->status)};
    if (v[0] == NULL) v[0] = "UNKNOWN";
    rc = xc_render_csv_row(out, h, 1, err);
    if (rc == XC_OK) rc = xc_render_csv_row(out, v, 1, err);
  } else {
    const char *zh = xc_enum_zh(&xc_enum_serving_status, (int)resp->status);
    const char *name = xc_enum_proto_name(&xc_enum_serving_status, (int)resp->status);
    const char *labels[2] = {xc_lang_label("服务", "Service"), xc_lang_label("状态", "Status")};
    char status[128];
    const char *values[2] = {
        run->cmd->service != NULL ? run->cmd->service : xc_lang_label("(整体)", "(overall)"),
        status};
    if (xc_lang_get() == XC_LANG_EN)
      (void)snprintf(status, sizeof status, "%s", name != NULL ? name : "UNKNOWN");
    else
      (void)snprintf(status, sizeof status, "%s (%s)", zh != NULL ? zh : "未知",
                     name != NULL ? name : "UNKNOWN");
    rc = xc_render_block(out, labels, values, 2, err);
  }
  if (rc != XC_OK) return rc;
  if (resp->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
    /* Reachable but not serving counts as no connection: scripts waiting
       for the server to come up retry on exit code 3. */
    run->remote = 1;
    return xc_err_set(err, XC_EUNAVAILABLE, "the server answers but is not serving%s%s",
                      run->cmd->service != NULL ? " " : "",
                      run->cmd->service != NULL ? run->cmd->service : "");
  }
  return XC_OK;
}

/* Runs a record verb: create, get or update. */
static int xc__run_record(xc__run *run, FILE *out, xc_err *err) {
  xc_cli_cmd *cmd = run->cmd;
  const xc_resource *r = cmd->resource;
  const ProtobufCMessage *one[1];
  int rc;
  if (cmd->verb == XC_VERB_CREATE) {
    rc = xc__call(run, r->create_method, run->req, r->record, &run->resp, err);
  } else {
    ProtobufCMessage *get = xc_msg_new(r->get_req);
    if (get == NULL || xc_msg_set_str(get, "id", cmd->id) != XC_OK) {
      if (get != NULL) protobuf_c_message_free_unpacked(get, NULL);
      return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
    }
    rc = xc__call(run, r->get_method, get, r->record, &run->resp, err);
    protobuf_c_message_free_unpacked(get, NULL);
    if (rc == XC_OK && cmd->verb == XC_VERB_UPDATE) {
      ProtobufCMessage *rec = run->resp;
      run->resp = NULL;
      rc = xc_cli_build_update(cmd, rec, &run->req, err);
      /* A value the flags accepted cannot fail here except for memory. */
      if (rc == XC_OK) rc = xc__call(run, r->update_method, run->req, r->record, &run->resp, err);
    }
  }
  if (rc != XC_OK) return rc;
  one[0] = run->resp;
  return xc_cli_print(out, r, cmd->fmt, one, 1, NULL, 1, err);
}

/* Builds the request of cmd before connecting, so bad flags never cost a call. */
static int xc__prepare(xc__run *run, char *request_id, size_t id_size, xc_err *err) {
  xc_cli_cmd *cmd = run->cmd;
  if (cmd->health) return XC_OK;
  switch (cmd->verb) {
    case XC_VERB_CREATE:
      if (cmd->request_id != NULL)
        (void)xc_strlcpy(request_id, cmd->request_id, id_size);
      else
        xc_cli_request_id(request_id, id_size);
      return xc_cli_build_create(cmd, request_id, &run->req, err);
    case XC_VERB_LIST:
      return xc_cli_build_list(cmd, &run->req, err);
    case XC_VERB_UPDATE: {
      /* Check every flag's value on an empty record now; the real one is
         read from the server later. */
      ProtobufCMessage *scratch = xc_msg_new(cmd->resource->record);
      ProtobufCMessage *req = NULL;
      int rc;
      if (scratch == NULL) return xc_err_set(err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      rc = xc_cli_build_update(cmd, scratch, &req, err);
      if (req != NULL) protobuf_c_message_free_unpacked(req, NULL);
      return rc;
    }
    default:
      return XC_OK;
  }
}

int xc_cli_connect(const xc_conn_flags *flags, xc_getenv_fn env, FILE *errf, xc_client **out) {
  xc_client_options opt;
  xc_conn conn;
  xc_err err;
  int rc;
  *out = NULL;
  xc_err_clear(&err);
  rc = xc_config_resolve(flags, env, &conn, &err);
  if (rc == XC_OK) rc = xc_config_require(&conn, &err);
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s\n", err.msg);
    return rc == XC_EINVALID_ARGUMENT ? XC_EXIT_USAGE : XC_EXIT_INTERNAL;
  }
  memset(&opt, 0, sizeof opt);
  opt.server = conn.server;
  opt.ca_file = conn.ca;
  opt.cert_file = conn.cert;
  opt.key_file = conn.key;
  opt.server_name_override = conn.server_name[0] != '\0' ? conn.server_name : NULL;
  opt.default_timeout_ms = conn.timeout_ms;
  rc = xc_client_create(&opt, out, &err);
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s\n", err.msg);
    return rc == XC_EINVALID_ARGUMENT ? XC_EXIT_CONNECT : XC_EXIT_INTERNAL;
  }
  return XC_EXIT_OK;
}

int xc_cli_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env) {
  xc__run run;
  xc_err err;
  char request_id[XC_MAX_REQUEST_ID_BYTES + 1];
  int code = XC_EXIT_OK;
  int rc;

  memset(&run, 0, sizeof run);
  xc_err_clear(&err);
  {
    /* The language comes from $XUNCHA_LANG until --lang is parsed. */
    const char *lang = env("XUNCHA_LANG");
    xc_lang l = XC_LANG_ZH;
    if (lang != NULL && xc_lang_parse(lang, &l) != 0) l = XC_LANG_ZH;
    xc_lang_set(l);
  }
  if (argc <= 1) {
    /* Without arguments: a short guide, not an error. */
    xc_ops_guide(out);
    return fflush(out) == 0 ? XC_EXIT_OK : XC_EXIT_INTERNAL;
  }
  {
    /* The audit log (audit list, audit verify): xc_cli_audit.c. */
    int handled = 0;
    code = xc_cli_audit_main(argc, argv, out, errf, env, &handled);
    if (handled) return code;
  }
  {
    /* Federation (sync now, status, verify): xc_cli_sync.c. */
    int handled = 0;
    code = xc_cli_sync_main(argc, argv, out, errf, env, &handled);
    if (handled) return code;
  }
  {
    /* Workflow commands (round advance, rectification ..., lead dispose,
     * RESOURCE void) have their own parser: xc_cli_wf.c. */
    int handled = 0;
    code = xc_cli_wf_main(argc, argv, out, errf, env, &handled);
    if (handled) return code;
    /* Archive and pool (xc_cli_archive.c). */
    code = xc_cli_archive_main(argc, argv, out, errf, env, &handled);
    if (handled) return code;
    /* Reports, terms, import and export: xc_cli_rep.c. */
    code = xc_cli_rep_main(argc, argv, out, errf, env, &handled);
    if (handled) return code;
  }
  run.cmd = calloc(1, sizeof *run.cmd);
  if (run.cmd == NULL) {
    (void)fprintf(errf, "xuncha: out of memory\n");
    return XC_EXIT_INTERNAL;
  }
  rc = xc_cli_parse(argc, argv, run.cmd, &err);
  if (rc != XC_OK && run.cmd->resource == NULL && !run.cmd->health && !run.cmd->admin &&
      strncmp(err.msg, "no resource given", 17) == 0) {
    /* Only global options (e.g. `xuncha --lang en`): the guide, in that
     * language. */
    xc_lang l;
    if (run.cmd->lang != NULL && xc_lang_parse(run.cmd->lang, &l) == 0) xc_lang_set(l);
    xc_ops_guide(out);
    goto done;
  }
  if (rc == XC_OK && run.cmd->lang != NULL) {
    xc_lang l;
    if (xc_lang_parse(run.cmd->lang, &l) != 0)
      rc = xc_err_set(&err, XC_EINVALID_ARGUMENT, "--lang must be zh or en, not '%.32s'",
                      run.cmd->lang);
    else
      xc_lang_set(l);
  }
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s\nRun 'xuncha %s%s--help' for usage.\n", err.msg,
                  run.cmd->resource != NULL ? run.cmd->resource->name : "",
                  run.cmd->resource != NULL ? " " : "");
    code = XC_EXIT_USAGE;
    goto done;
  }
  if (run.cmd->version) {
    (void)fprintf(out, "xuncha %s (gRPC core %s, protobuf-c %s)\n", XC_VERSION,
                  grpc_version_string(), protobuf_c_version());
    goto done;
  }
  if (run.cmd->help) {
    if (run.cmd->resource != NULL)
      xc_cli_resource_usage(out, run.cmd->resource);
    else if (run.cmd->admin)
      xc_ops_admin_usage(out);
    else if (run.cmd->health)
      xc_ops_health_usage(out);
    else
      xc_cli_usage(out);
    goto done;
  }
  rc = xc__prepare(&run, request_id, sizeof request_id, &err);
  if (rc != XC_OK) {
    (void)fprintf(errf, "xuncha: %s\n", err.msg);
    code = rc == XC_EINVALID_ARGUMENT ? XC_EXIT_USAGE : XC_EXIT_INTERNAL;
    goto done;
  }
  code = xc_cli_connect(&run.cmd->conn, env, errf, &run.client);
  if (code != XC_EXIT_OK) goto done;
  if (run.cmd->admin && run.cmd->backup) {
    rc = xc_ops_admin_backup(run.client, run.cmd->backup_dir, out,
                             run.cmd->fmt == XC_OUT_JSON, &err);
    run.remote = rc != XC_OK && !ferror(out);
  } else if (run.cmd->admin) {
    rc = xc_ops_admin_stats(run.client, 0, out,
                            run.cmd->prometheus        ? XC_STATS_PROMETHEUS
                            : run.cmd->fmt == XC_OUT_JSON ? XC_STATS_JSON
                                                        : XC_STATS_TEXT,
                            &err);
    run.remote = rc != XC_OK && !ferror(out);
  } else if (run.cmd->health)
    rc = xc__run_health(&run, out, &err);
  else if (run.cmd->verb == XC_VERB_LIST)
    rc = xc__run_list(&run, out, errf, &err);
  else
    rc = xc__run_record(&run, out, &err);
  if (rc == XC_OK && fflush(out) != 0)
    rc = xc_err_set(&err, XC_EINTERNAL, "cannot write the output");
  if (rc != XC_OK) {
    if (run.cmd->all) xc_ops_progress(errf, 0, 1);
    (void)fprintf(errf, "xuncha: %s: %s\n", xc_code_name(rc), err.msg);
    code = run.remote ? xc_cli_exit_code(rc) : XC_EXIT_INTERNAL;
  }
done:
  if (run.req != NULL) protobuf_c_message_free_unpacked(run.req, NULL);
  if (run.resp != NULL) protobuf_c_message_free_unpacked(run.resp, NULL);
  for (size_t i = 0; i < run.n_pages; i++) protobuf_c_message_free_unpacked(run.pages[i], NULL);
  free(run.pages);
  free(run.rows);
  xc_client_destroy(run.client);
  free(run.cmd);
  return code;
}
