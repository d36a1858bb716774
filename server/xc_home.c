/* xc_home.c: the homes map of a federation (xc_home.h). */
#include "xc_home.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "xc_identity.h"
#include "xc_text.h"

typedef struct xc__home {
  char name[XC_HOME_NAME_MAX + 1];
  char region[XC_REGION_MAX_DIGITS + 1];
  int parent; /* index of the upstream, -1: none */
} xc__home;

/* The loaded map; written only by xc_home_load before serving starts. */
static xc__home *xc__homes;
static size_t xc__n_homes;
static int xc__self = -1;

/* What the inih callback fills while a file is read. */
typedef struct xc__homes_load {
  xc__home *v;
  size_t n;
  int failed;
  xc_err err;
} xc__homes_load;

static int xc__name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > XC_HOME_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* inih's callback: one `name = region` line. Returns 1 to go on, 0 to stop. */
static int xc__on_home(void *user, const char *section, const char *name, const char *value) {
  xc__homes_load *ld = user;
  if (ld->failed) return 0;
  if (section[0] != '\0' && strcmp(section, "homes") != 0) {
    (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT,
                     "unknown section [%s]: the file holds only NAME = REGION lines", section);
    goto fail;
  }
  if (!xc__name_valid(name)) {
    (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT,
                     "server name '%.80s' must be 1 to %d letters, digits, '.', '_' or '-'", name,
                     XC_HOME_NAME_MAX);
    goto fail;
  }
  if (!xc_region_code_valid(value)) {
    (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT,
                     "the region of %s must be a region code of 2, 4, 6, 9 or 12 digits, not "
                     "'%.40s'",
                     name, value);
    goto fail;
  }
  for (size_t i = 0; i < ld->n; i++) {
    if (strcmp(ld->v[i].name, name) == 0 || strcmp(ld->v[i].region, value) == 0) {
      (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT,
                       "%s = %s: %s is given twice (each server once, each region once)", name,
                       value, strcmp(ld->v[i].name, name) == 0 ? name : value);
      goto fail;
    }
  }
  if (ld->n == XC_HOME_MAX_SERVERS) {
    (void)xc_err_set(&ld->err, XC_EINVALID_ARGUMENT, "more than %d servers",
                     XC_HOME_MAX_SERVERS);
    goto fail;
  }
  if (ld->n % 64 == 0) {
    xc__home *nv = realloc(ld->v, (ld->n + 64) * sizeof *nv);
    if (nv == NULL) {
      (void)xc_err_set(&ld->err, XC_ERESOURCE_EXHAUSTED, "out of memory");
      goto fail;
    }
    ld->v = nv;
  }
  (void)xc_strlcpy(ld->v[ld->n].name, name, sizeof ld->v[ld->n].name);
  (void)xc_strlcpy(ld->v[ld->n].region, value, sizeof ld->v[ld->n].region);
  ld->v[ld->n].parent = -1;
  ld->n++;
  return 1;
fail:
  ld->failed = 1;
  return 0;
}

/* The entry whose region is the longest prefix of region, skipping `skip`
 * (or -1), or -1. proper: the prefix must be shorter than region. */
static int xc__longest(const xc__home *v, size_t n, const char *region, int proper) {
  int best = -1;
  size_t best_len = 0;
  size_t rlen = strlen(region);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(v[i].region);
    if (len > rlen || (proper && len == rlen)) continue;
    if (memcmp(v[i].region, region, len) != 0) continue;
    if (best < 0 || len > best_len) {
      best = (int)i;
      best_len = len;
    }
  }
  return best;
}

int xc_home_load(const char *path, const char *self, xc_err *err) {
  FILE *f = fopen(path, "r");
  xc__homes_load ld;
  int line, me = -1;
  int rc = XC_OK;
  memset(&ld, 0, sizeof ld);
  if (f == NULL) return xc_err_set(err, XC_ENOT_FOUND, "--homes %s: cannot open it", path);
  line = ini_parse_file(f, xc__on_home, &ld);
  fclose(f);
  if (line != 0) {
    if (ld.failed)
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s:%d: %s", path, line, ld.err.msg);
    else
      rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s:%d: not a 'NAME = REGION' line", path,
                      line);
    goto done;
  }
  if (ld.n == 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT, "%s names no server", path);
    goto done;
  }
  for (size_t i = 0; i < ld.n; i++) {
    ld.v[i].parent = xc__longest(ld.v, ld.n, ld.v[i].region, 1);
    if (self != NULL && strcmp(ld.v[i].name, self) == 0) me = (int)i;
  }
  if (me < 0) {
    rc = xc_err_set(err, XC_EINVALID_ARGUMENT,
                    "%s does not name this server (--server-name %s): add a line '%s = REGION'",
                    path, self != NULL && self[0] != '\0' ? self : "(not set)",
                    self != NULL && self[0] != '\0' ? self : "NAME");
    goto done;
  }
  free(xc__homes);
  xc__homes = ld.v;
  xc__n_homes = ld.n;
  xc__self = me;
  ld.v = NULL;
done:
  free(ld.v);
  return rc;
}

void xc_home_reset(void) {
  free(xc__homes);
  xc__homes = NULL;
  xc__n_homes = 0;
  xc__self = -1;
}

int xc_home_enabled(void) { return xc__self >= 0; }

const char *xc_home_self(void) { return xc__self >= 0 ? xc__homes[xc__self].name : ""; }

const char *xc_home_self_region(void) {
  return xc__self >= 0 ? xc__homes[xc__self].region : "";
}

const char *xc_home_upstream(void) {
  if (xc__self < 0 || xc__homes[xc__self].parent < 0) return NULL;
  return xc__homes[xc__homes[xc__self].parent].name;
}

static int xc__find(const char *name) {
  if (name == NULL) return -1;
  for (size_t i = 0; i < xc__n_homes; i++)
    if (strcmp(xc__homes[i].name, name) == 0) return (int)i;
  return -1;
}

const char *xc_home_region_of(const char *name) {
  int i = xc__find(name);
  return i >= 0 ? xc__homes[i].region : NULL;
}

const char *xc_home_of_region(const char *region) {
  int i;
  if (xc__self < 0) return "";
  if (region == NULL || region[0] == '\0') return NULL;
  i = xc__longest(xc__homes, xc__n_homes, region, 0);
  return i >= 0 ? xc__homes[i].name : NULL;
}

void xc_home_who_region(const char *who, char out[XC_REGION_MAX_DIGITS + 1]) {
  const char *p = NULL;
  size_t n = 0;
  out[0] = '\0';
  if (who == NULL) return;
  if (strncmp(who, "office:", 7) == 0 || strncmp(who, "agency:", 7) == 0) p = who + 7;
  if (p == NULL) return;
  while (p[n] >= '0' && p[n] <= '9' && n < XC_REGION_MAX_DIGITS) n++;
  if (p[n] != '\0' && p[n] != ':') return;
  memcpy(out, p, n);
  out[n] = '\0';
}

const char *xc_home_of(const char *who) {
  char region[XC_REGION_MAX_DIGITS + 1];
  if (xc__self < 0) return "";
  xc_home_who_region(who, region);
  return xc_home_of_region(region);
}

int xc_home_is_here(const char *who) {
  const char *home;
  if (xc__self < 0) return 1;
  home = xc_home_of(who);
  return home != NULL && strcmp(home, xc__homes[xc__self].name) == 0;
}

int xc_home_within(const char *name, const char *ancestor) {
  int i = xc__find(name);
  int a = xc__find(ancestor);
  if (i < 0 || a < 0) return 0;
  return xc_region_within(xc__homes[i].region, xc__homes[a].region);
}

int xc_home_is_downstream(const char *name) {
  int i = xc__find(name);
  return i >= 0 && xc__self >= 0 && xc__homes[i].parent == xc__self;
}

void xc_home_each_downstream(void (*fn)(void *ctx, const char *name), void *ctx) {
  for (size_t i = 0; xc__self >= 0 && i < xc__n_homes; i++)
    if (xc__homes[i].parent == xc__self) fn(ctx, xc__homes[i].name);
}

void xc_home_each(void (*fn)(void *ctx, const char *name), void *ctx) {
  for (size_t i = 0; i < xc__n_homes; i++) fn(ctx, xc__homes[i].name);
}

/* Returns 1 if the method (the part after the last '/') writes records. */
static int xc__method_writes(const char *method) {
  static const char *const exact[] = {"AdvanceRound",      "AppendProgress",
                                      "VerifyRectification", "RevokeVerification",
                                      "RecordDisposition", "VoidRecord",
                                      "ImportRecords",     "UploadDocument"};
  const char *m = method != NULL ? strrchr(method, '/') : NULL;
  if (m == NULL) return 0;
  m++;
  if (strncmp(m, "Create", 6) == 0 || strncmp(m, "Update", 6) == 0) return 1;
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(m, exact[i]) == 0) return 1;
  return 0;
}

int xc_home_admit(const xc_ctx *ctx, const char *method, xc_err *err) {
  const char *home;
  if (xc__self < 0 || !ctx->has_identity) return XC_OK;
  if (ctx->id.role != XC_ROLE_OFFICE && ctx->id.role != XC_ROLE_AGENCY) return XC_OK;
  if (!xc__method_writes(method)) return XC_OK;
  home = xc_home_of_region(ctx->id.region);
  if (home == NULL)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "%s has no home server in this federation's homes map, so it cannot "
                      "write records on any server: ask the administrators to add its server",
                      ctx->id.cn);
  if (strcmp(home, xc__homes[xc__self].name) != 0)
    return xc_err_set(err, XC_EFAILED_PRECONDITION,
                      "%s is at home on server %s, not on %s: write there, and the change "
                      "reaches this server by sync",
                      ctx->id.cn, home, xc__homes[xc__self].name);
  return XC_OK;
}

int xc_home_check_replica(xc_kind kind, const char *id, const char *owner, xc_err *err) {
  const char *home;
  if (xc__self < 0 || xc_home_is_here(owner)) return XC_OK;
  home = xc_home_of(owner);
  return xc_err_set(err, XC_EFAILED_PRECONDITION,
                    "%s %s is a read-only replica here: it is owned by %s, and only its home "
                    "server %s changes it",
                    xc_kind_name(kind), id, owner, home != NULL ? home : "(none in the map)");
}
