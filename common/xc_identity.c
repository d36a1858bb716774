#include "xc_identity.h"

#include <stdio.h>
#include <string.h>

#include "xc_text.h"

int xc_region_code_valid(const char *code) {
  size_t n;
  if (!xc_all_digits(code, XC_REGION_MAX_DIGITS)) return 0;
  n = strlen(code);
  return n == 2 || n == 4 || n == 6 || n == 9 || n == 12;
}

int xc_office_code_valid(const char *code) {
  size_t n;
  if (!xc_all_digits(code, XC_REGION_MAX_DIGITS)) return 0;
  n = strlen(code);
  return n == 4 || n == 6 || n == 9;
}

int xc_region_within(const char *region, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(region, prefix, n) == 0;
}

/* Agency units are short lowercase ASCII names such as "jw" or "zzb". */
static int xc__unit_valid(const char *unit) {
  size_t n = strlen(unit);
  if (n == 0 || n >= XC_UNIT_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = unit[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

int xc_identity_parse(const char *cn, const char *serial, xc_identity *id, xc_err *err) {
  static const struct {
    const char *prefix;
    xc_role role;
  } roles[] = {{"office:", XC_ROLE_OFFICE},
               {"agency:", XC_ROLE_AGENCY},
               {"auditor:", XC_ROLE_AUDITOR},
               {"admin:", XC_ROLE_ADMIN}};
  const char *rest = NULL;
  char region[XC_REGION_MAX_DIGITS + 2];

  memset(id, 0, sizeof *id);
  if (cn == NULL || *cn == '\0')
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate has no subject CN; expected "
                      "office:<region code>, agency:<region code>:<unit>, "
                      "auditor:<region code> or admin:<region code>");
  if (strlen(cn) > XC_MAX_CN_BYTES)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "the client certificate's CN is longer than %d bytes",
                      XC_MAX_CN_BYTES);
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
    size_t n = strlen(roles[i].prefix);
    if (strncmp(cn, roles[i].prefix, n) == 0) {
      id->role = roles[i].role;
      rest = cn + n;
      break;
    }
  }
  if (rest == NULL)
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "client certificate CN '%s' is not of the form office:<region "
                      "code>, agency:<region code>:<unit>, auditor:<region code> or "
                      "admin:<region code>",
                      cn);
  {
    const char *colon = strchr(rest, ':');
    size_t rlen = colon ? (size_t)(colon - rest) : strlen(rest);
    if (rlen >= sizeof region) rlen = sizeof region - 1;
    memcpy(region, rest, rlen);
    region[rlen] = '\0';
    if (id->role == XC_ROLE_AGENCY) {
      if (colon == NULL || !xc__unit_valid(colon + 1))
        return xc_err_set(err, XC_EUNAUTHENTICATED,
                          "agency certificate CN '%s' must be agency:<region "
                          "code>:<unit>, with a unit of lowercase letters and digits",
                          cn);
      xc_strlcpy(id->unit, colon + 1, sizeof id->unit);
    } else if (colon != NULL) {
      return xc_err_set(err, XC_EUNAUTHENTICATED,
                        "client certificate CN '%s' has an unexpected ':' after the "
                        "region code",
                        cn);
    }
  }
  if (!xc_office_code_valid(region))
    return xc_err_set(err, XC_EUNAUTHENTICATED,
                      "client certificate CN '%s' has region code '%s'; expected 4 "
                      "(city), 6 (county) or 9 (township) digits",
                      cn, region);
  xc_strlcpy(id->region, region, sizeof id->region);
  xc_strlcpy(id->cn, cn, sizeof id->cn);
  xc_strlcpy(id->serial, serial ? serial : "", sizeof id->serial);
  return XC_OK;
}

/* Writes a, b and c one after the other into out (size bytes), cut and
 * NUL-terminated as snprintf("%s%s%s") would: these run several times per
 * write, where printf's machinery costs more than the copying. */
static void xc__cat3(char *out, size_t size, const char *a, const char *b, const char *c) {
  const char *parts[3] = {a, b, c};
  size_t used = 0;
  if (size == 0) return;
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(parts[i]);
    if (n > size - 1 - used) n = size - 1 - used;
    memcpy(out + used, parts[i], n);
    used += n;
  }
  out[used] = '\0';
}

void xc_identity_author(const xc_identity *id, char *out, size_t out_size) {
  xc__cat3(out, out_size, id->cn, "#", id->serial);
}

void xc_identity_owner(const xc_identity *id, char *out, size_t out_size) {
  xc__cat3(out, out_size, "office:", id->region, "");
}

int xc_may_read_region(const xc_identity *id, const char *region_code) {
  /* Agencies read only what is sent to them (leads, and the finding a lead
   * comes from: the server checks that case), never a region by prefix. */
  if (id->role == XC_ROLE_AGENCY) return 0;
  /* Auditors read the audit log of their region and no records at all. */
  if (id->role == XC_ROLE_AUDITOR) return 0;
  return region_code != NULL && xc_region_within(region_code, id->region);
}

int xc_may_read_lead(const xc_identity *id, const char *owner, const char *recipient) {
  if (id->role == XC_ROLE_OFFICE) {
    /* The owner itself or any office above it: our code is a prefix of its. */
    if (owner == NULL || strncmp(owner, "office:", 7) != 0) return 0;
    return xc_region_within(owner + 7, id->region);
  }
  if (id->role == XC_ROLE_AGENCY) {
    return recipient != NULL && strcmp(recipient, id->cn) == 0;
  }
  return 0;
}

int xc_may_write_owned(const xc_identity *id, const char *owner) {
  char mine[XC_REGION_MAX_DIGITS + 16];
  if (id->role != XC_ROLE_OFFICE || owner == NULL) return 0;
  xc_identity_owner(id, mine, sizeof mine);
  return strcmp(mine, owner) == 0;
}

int xc_may_create_in(const xc_identity *id, const char *region_code) {
  return id->role == XC_ROLE_OFFICE && xc_may_read_region(id, region_code);
}
