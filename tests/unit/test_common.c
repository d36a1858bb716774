/* CUnit suites for common/ (status, text, identity) and proto/xc_msg. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_identity.h"
#include "xc_msg.h"
#include "xc_status.h"
#include "xc_text.h"
#include "xuncha/v1/sync.pb-c.h"
#include "xuncha/v1/xuncha.pb-c.h"

static void test_status_mapping(void) {
  xc_err err;
  CU_ASSERT_EQUAL(xc_code_to_grpc(XC_OK), 0);
  CU_ASSERT_EQUAL(xc_code_to_grpc(XC_ENOT_FOUND), 5);
  CU_ASSERT_EQUAL(xc_code_to_grpc(XC_EUNAUTHENTICATED), 16);
  CU_ASSERT_EQUAL(xc_code_to_grpc(7), 2);
  CU_ASSERT_EQUAL(xc_code_from_grpc(10), XC_EABORTED);
  CU_ASSERT_EQUAL(xc_code_from_grpc(99), XC_EUNKNOWN);
  CU_ASSERT_STRING_EQUAL(xc_code_name(XC_EPERMISSION_DENIED), "PERMISSION_DENIED");
  CU_ASSERT_EQUAL(xc_err_set(&err, XC_EABORTED, "etag %s", "x"), XC_EABORTED);
  CU_ASSERT_EQUAL(err.code, XC_EABORTED);
  CU_ASSERT_STRING_EQUAL(err.msg, "etag x");
  xc_err_clear(&err);
  CU_ASSERT_EQUAL(err.code, XC_OK);
  CU_ASSERT_STRING_EQUAL(err.msg, "");
}

static void test_utf8(void) {
  CU_ASSERT_TRUE(xc_utf8_valid("巡察 abc", strlen("巡察 abc")));
  CU_ASSERT_FALSE(xc_utf8_valid("\xff", 1));
  CU_ASSERT_FALSE(xc_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
  CU_ASSERT_FALSE(xc_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  CU_ASSERT_FALSE(xc_utf8_valid("\xe5\xb7", 2));         /* truncated */
  CU_ASSERT_FALSE(xc_utf8_valid("a\0b", 3));             /* embedded NUL */
  CU_ASSERT_TRUE(xc_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
  CU_ASSERT_FALSE(xc_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

/* The rules of xc_utf8_valid written the slow, obvious way: decode a code
 * point, then refuse overlongs, surrogates, values past U+10FFFF and NUL. */
static int ref_utf8_valid(const unsigned char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i], n;
    unsigned long v;
    if (c < 0x80) {
      if (c == 0) return 0;
      i++;
      continue;
    }
    if (c >= 0xC0 && c <= 0xDF) {
      n = 1;
      v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF7) {
      n = 3;
      v = c & 0x07;
    } else {
      return 0;
    }
    if (len - i <= n) return 0;
    for (unsigned k = 1; k <= n; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return 0;
      v = (v << 6) | (p[i + k] & 0x3F);
    }
    if ((n == 1 && v < 0x80) || (n == 2 && v < 0x800) || (n == 3 && v < 0x10000) ||
        v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    i += n + 1;
  }
  return 1;
}

/* Checks seq alone and inside ASCII runs (which take the eight-byte path),
 * at every alignment; returns the number of disagreements. */
static unsigned utf8_disagreements(const unsigned char *seq, size_t n) {
  unsigned char buf[64];
  unsigned bad = 0;
  if (xc_utf8_valid((const char *)seq, n) != ref_utf8_valid(seq, n)) bad++;
  for (size_t pre = 0; pre < 9; pre += 4) {
    size_t len = 0;
    memset(buf, 'a', pre);
    len = pre;
    memcpy(buf + len, seq, n);
    len += n;
    memset(buf + len, 'b', 9);
    len += 9;
    if (xc_utf8_valid((const char *)buf, len) != ref_utf8_valid(buf, len)) bad++;
  }
  return bad;
}

static void test_utf8_fast_path(void) {
  unsigned char seq[4], buf[40];
  unsigned bad = 0;
  /* Every one- and two-byte string, and every three-byte string that starts
   * a multi-byte form. */
  for (unsigned a = 0; a < 256; a++) {
    seq[0] = (unsigned char)a;
    bad += utf8_disagreements(seq, 1);
    for (unsigned b = 0; b < 256; b++) {
      seq[1] = (unsigned char)b;
      bad += utf8_disagreements(seq, 2);
    }
  }
  for (unsigned a = 0xC0; a < 0x100; a++)
    for (unsigned b = 0; b < 256; b++)
      for (unsigned c = 0x70; c < 0xD0; c++) {
        seq[0] = (unsigned char)a;
        seq[1] = (unsigned char)b;
        seq[2] = (unsigned char)c;
        if (xc_utf8_valid((const char *)seq, 3) != ref_utf8_valid(seq, 3)) bad++;
      }
  /* Four-byte forms around every limit of the first two bytes. */
  for (unsigned a = 0xEE; a < 0x100; a++)
    for (unsigned b = 0x70; b < 0xD0; b++)
      for (unsigned c = 0; c < 4; c++)
        for (unsigned d = 0; d < 4; d++) {
          static const unsigned char tails[4] = {0x41, 0x80, 0xBF, 0xC0};
          seq[0] = (unsigned char)a;
          seq[1] = (unsigned char)b;
          seq[2] = tails[c];
          seq[3] = tails[d];
          bad += utf8_disagreements(seq, 4);
        }
  CU_ASSERT_EQUAL(bad, 0);
  {
    /* Runs of Chinese text (checked four characters at a time) mixed with
     * the forms at the edges of the ranges and broken pieces, at random
     * (seeded) lengths and places. */
    static const struct {
      const char *s;
      size_t n;
    } tokens[] = {{"巡", 3},
                  {"察", 3},
                  {"，", 3},
                  {"（", 3},
                  {"\xe0\xa0\x80", 3},
                  {"\xed\x9f\xbf", 3},
                  {"\xee\x80\x80", 3},
                  {"a", 1},
                  {"\xe0\x9f\xbf", 3}, /* overlong */
                  {"\xed\xa0\x80", 3}, /* surrogate */
                  {"\xe5\xb7", 2},      /* cut short */
                  {"\x80", 1},           /* stray continuation */
                  {"\xc3\xa9", 2},
                  {"\xf0\x9f\x98\x80", 4},
                  {"\xe5\x00\x80", 3}, /* a NUL inside */
                  {"\xe5\xb7\xc0", 3}};
    unsigned long long seed = 12345;
    unsigned char text[200];
    unsigned wrong = 0;
    for (int round = 0; round < 20000; round++) {
      size_t len = 0;
      int n;
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      n = (int)((seed >> 33) % 40);
      for (int i = 0; i < n; i++) {
        size_t k;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        /* Mostly good characters, now and then anything. */
        k = (seed >> 33) % 10 < 8 ? (seed >> 40) % 4 : (seed >> 40) % 16;
        if (len + tokens[k].n > sizeof text) break;
        memcpy(text + len, tokens[k].s, tokens[k].n);
        len += tokens[k].n;
      }
      if (xc_utf8_valid((const char *)text, len) != ref_utf8_valid(text, len)) wrong++;
    }
    CU_ASSERT_EQUAL(wrong, 0);
  }
  /* A NUL or a stray byte anywhere in a long ASCII run is caught. */
  for (size_t at = 0; at < sizeof buf; at++) {
    memset(buf, 'x', sizeof buf);
    CU_ASSERT_TRUE(xc_utf8_valid((const char *)buf, sizeof buf));
    buf[at] = 0;
    CU_ASSERT_FALSE(xc_utf8_valid((const char *)buf, sizeof buf));
    buf[at] = 0x80;
    CU_ASSERT_FALSE(xc_utf8_valid((const char *)buf, sizeof buf));
    /* Only the first `at` bytes are looked at. */
    CU_ASSERT_TRUE(xc_utf8_valid((const char *)buf, at));
  }
}

static void test_display_width(void) {
  CU_ASSERT_EQUAL(xc_display_width("abc"), 3);
  CU_ASSERT_EQUAL(xc_display_width("巡察办"), 6);
  CU_ASSERT_EQUAL(xc_display_width("第3轮"), 5);
  CU_ASSERT_EQUAL(xc_display_width("（全角）"), 8);
  CU_ASSERT_EQUAL(xc_display_width(""), 0);
}

static void test_strlcpy(void) {
  char buf[5];
  CU_ASSERT_EQUAL(xc_strlcpy(buf, "abcdef", sizeof buf), 6);
  CU_ASSERT_STRING_EQUAL(buf, "abcd");
  /* "巡察" is 6 bytes: a 5-byte buffer keeps only the first character. */
  CU_ASSERT_EQUAL(xc_strlcpy(buf, "巡察", sizeof buf), 6);
  CU_ASSERT_STRING_EQUAL(buf, "巡");
  CU_ASSERT_EQUAL(xc_strlcpy(buf, "ab", sizeof buf), 2);
  CU_ASSERT_STRING_EQUAL(buf, "ab");
}

/* The formatters write exactly what snprintf writes for their formats, and
 * the civil date of a time is gmtime's. */
static void test_fmt(void) {
  static const uint64_t u[] = {0, 1, 9, 10, 99, 100, 12345, 4294967295u, 4294967296u,
                               999999999999999999u, 18446744073709551615u};
  static const int64_t i[] = {0, 1, -1, 9, -10, 2147483647, -2147483648LL,
                              INT64_MAX, INT64_MIN, 1700000000000LL};
  char got[XC_FMT_INT_MAX], want[64];
  uint64_t rng = 0x2545F4914F6CDD1Du;
  for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
    (void)snprintf(want, sizeof want, "%llu", (unsigned long long)u[k]);
    CU_ASSERT_EQUAL(xc_fmt_u64(got, u[k]), strlen(want));
    CU_ASSERT_STRING_EQUAL(got, want);
  }
  for (size_t k = 0; k < sizeof i / sizeof i[0]; k++) {
    (void)snprintf(want, sizeof want, "%lld", (long long)i[k]);
    CU_ASSERT_EQUAL(xc_fmt_i64(got, i[k]), strlen(want));
    CU_ASSERT_STRING_EQUAL(got, want);
  }
  /* Random values of every magnitude, seeded so a failure reproduces. */
  for (int k = 0; k < 2000; k++) {
    char hex[17];
    uint64_t v;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    v = rng >> (k % 64);
    (void)snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    CU_ASSERT_EQUAL(xc_fmt_u64(got, v), strlen(want));
    CU_ASSERT_STRING_EQUAL(got, want);
    (void)snprintf(want, sizeof want, "%lld", (long long)(int64_t)v);
    CU_ASSERT_EQUAL(xc_fmt_i64(got, (int64_t)v), strlen(want));
    CU_ASSERT_STRING_EQUAL(got, want);
    (void)snprintf(want, sizeof want, "%016llx", (unsigned long long)v);
    CU_ASSERT_EQUAL(xc_fmt_hex64(hex, v), 16);
    CU_ASSERT_STRING_EQUAL(hex, want);
  }
  /* Civil dates in UTC+8 agree with gmtime_r eight hours later, across
   * 1900..2400 (leap centuries included) and before 1970, at seeded times. */
  for (int k = 0; k < 3000; k++) {
    int64_t ms, y;
    int m, d;
    time_t t;
    struct tm tm;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    ms = (int64_t)(rng % UINT64_C(15778800000000)) - INT64_C(2208988800000); /* 1900..2400 */
    if (k < 4) ms = (int64_t[]){0, -1, 951782400000, 4107456000000}[k]; /* edges, 2000-02-29 */
    xc_civil_cst_of_ms(ms, &y, &m, &d);
    /* ms / 1000 rounds toward zero, as xc_civil_cst_of_ms does. */
    t = (time_t)(ms / 1000 + 8 * 3600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&t, &tm));
    CU_ASSERT_EQUAL(y, (int64_t)tm.tm_year + 1900);
    CU_ASSERT_EQUAL(m, tm.tm_mon + 1);
    CU_ASSERT_EQUAL(d, tm.tm_mday);
  }
  {
    char d[11];
    CU_ASSERT_EQUAL(xc_fmt_date(d, 2026, 11, 27), 10);
    CU_ASSERT_STRING_EQUAL(d, "2026-11-27");
    (void)xc_fmt_date(d, 987, 1, 5);
    CU_ASSERT_STRING_EQUAL(d, "0987-01-05");
    (void)xc_fmt_date(d, 9999, 12, 31);
    CU_ASSERT_STRING_EQUAL(d, "9999-12-31");
    (void)xc_fmt_date(d, 10000, 1, 1);
    CU_ASSERT_STRING_EQUAL(d, "0000-00-00");
    (void)xc_fmt_date(d, 2026, 13, 1);
    CU_ASSERT_STRING_EQUAL(d, "0000-00-00");
  }
}

static void test_dates_and_numbers(void) {
  long long v = 0;
  CU_ASSERT_TRUE(xc_date_valid("2024-02-29"));
  CU_ASSERT_FALSE(xc_date_valid("2023-02-29"));
  CU_ASSERT_FALSE(xc_date_valid("2025-13-01"));
  CU_ASSERT_FALSE(xc_date_valid("2025-1-01"));
  CU_ASSERT_FALSE(xc_date_valid("2025-04-31"));
  CU_ASSERT_FALSE(xc_date_valid(""));
  CU_ASSERT_EQUAL(xc_parse_int64("42", 0, 100, &v), 0);
  CU_ASSERT_EQUAL(v, 42);
  CU_ASSERT_EQUAL(xc_parse_int64("101", 0, 100, &v), -1);
  CU_ASSERT_EQUAL(xc_parse_int64("4x", 0, 100, &v), -1);
  CU_ASSERT_EQUAL(xc_parse_int64("", 0, 100, &v), -1);
  CU_ASSERT_EQUAL(xc_parse_int64("99999999999999999999", 0, 100, &v), -1);
}

static void test_identity_parse(void) {
  xc_identity id;
  xc_err err;
  CU_ASSERT_EQUAL(xc_identity_parse("office:310104", "0a1b", &id, &err), XC_OK);
  CU_ASSERT_EQUAL(id.role, XC_ROLE_OFFICE);
  CU_ASSERT_STRING_EQUAL(id.region, "310104");
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:jw", "01", &id, &err), XC_OK);
  CU_ASSERT_EQUAL(id.role, XC_ROLE_AGENCY);
  CU_ASSERT_STRING_EQUAL(id.unit, "jw");
  CU_ASSERT_EQUAL(xc_identity_parse("auditor:3101", "01", &id, &err), XC_OK);
  CU_ASSERT_EQUAL(id.role, XC_ROLE_AUDITOR);
  CU_ASSERT_EQUAL(xc_identity_parse("admin:310104001", "01", &id, &err), XC_OK);
  CU_ASSERT_EQUAL(id.role, XC_ROLE_ADMIN);

  CU_ASSERT_EQUAL(xc_identity_parse("county-310101", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "county-310101"));
  CU_ASSERT_EQUAL(xc_identity_parse("office:31", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse("office:3101x", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse("office:3101:jw", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:JW", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse("", "01", &id, &err), XC_EUNAUTHENTICATED);
  CU_ASSERT_EQUAL(xc_identity_parse(NULL, "01", &id, &err), XC_EUNAUTHENTICATED);
}

/* Owner and author strings, and their cut at small buffers (as snprintf). */
static void test_identity_owner_author(void) {
  xc_identity id;
  xc_err err;
  char out[64], want[64];
  CU_ASSERT_EQUAL_FATAL(xc_identity_parse("office:310104", "1A2B", &id, &err), XC_OK);
  xc_identity_owner(&id, out, sizeof out);
  CU_ASSERT_STRING_EQUAL(out, "office:310104");
  xc_identity_author(&id, out, sizeof out);
  CU_ASSERT_STRING_EQUAL(out, "office:310104#1A2B");
  for (size_t size = 1; size < 22; size++) {
    xc_identity_author(&id, out, size);
    /* What snprintf would write: the first size - 1 bytes of the whole. */
    xc_strlcpy(want, "office:310104#1A2B", sizeof want);
    if (size - 1 < strlen(want)) want[size - 1] = '\0';
    CU_ASSERT_STRING_EQUAL(out, want);
    xc_identity_owner(&id, out, size);
    xc_strlcpy(want, "office:310104", sizeof want);
    if (size - 1 < strlen(want)) want[size - 1] = '\0';
    CU_ASSERT_STRING_EQUAL(out, want);
  }
  CU_ASSERT_TRUE(xc_may_write_owned(&id, "office:310104"));
  CU_ASSERT_FALSE(xc_may_write_owned(&id, "office:3101"));
  CU_ASSERT_FALSE(xc_may_write_owned(&id, "office:3101040"));
}

static void test_access_rules(void) {
  xc_identity city, county_a, county_b, town, jw, zzb, auditor;
  CU_ASSERT_EQUAL(xc_identity_parse("office:3101", "1", &city, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("office:310104", "2", &county_a, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("office:310105", "3", &county_b, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("office:310104001", "4", &town, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:jw", "5", &jw, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("agency:3101:zzb", "6", &zzb, NULL), XC_OK);
  CU_ASSERT_EQUAL(xc_identity_parse("auditor:3101", "7", &auditor, NULL), XC_OK);

  /* Reading is by prefix. */
  CU_ASSERT_TRUE(xc_may_read_region(&city, "310104001"));
  CU_ASSERT_TRUE(xc_may_read_region(&county_a, "310104"));
  CU_ASSERT_FALSE(xc_may_read_region(&county_b, "310104001"));
  CU_ASSERT_FALSE(xc_may_read_region(&town, "310104"));
  CU_ASSERT_FALSE(xc_may_read_region(&auditor, "310105")); /* audit log only */

  /* Leads: owner, offices above it, the recipient agency; nobody else. */
  CU_ASSERT_TRUE(xc_may_read_lead(&city, "office:3101", "agency:3101:jw"));
  CU_ASSERT_FALSE(xc_may_read_lead(&county_a, "office:3101", "agency:3101:jw"));
  CU_ASSERT_TRUE(xc_may_read_lead(&city, "office:310104", "agency:310104:jw"));
  CU_ASSERT_TRUE(xc_may_read_lead(&county_a, "office:310104", "agency:310104:jw"));
  CU_ASSERT_FALSE(xc_may_read_lead(&town, "office:310104", "agency:310104:jw"));
  CU_ASSERT_FALSE(xc_may_read_lead(&county_b, "office:310104", "agency:310104:jw"));
  CU_ASSERT_TRUE(xc_may_read_lead(&jw, "office:3101", "agency:3101:jw"));
  CU_ASSERT_FALSE(xc_may_read_lead(&zzb, "office:3101", "agency:3101:jw"));
  CU_ASSERT_FALSE(xc_may_read_lead(&auditor, "office:3101", "agency:3101:jw"));

  /* Writing is by ownership; creating only inside one's region, offices only. */
  CU_ASSERT_TRUE(xc_may_write_owned(&county_a, "office:310104"));
  CU_ASSERT_FALSE(xc_may_write_owned(&city, "office:310104"));
  CU_ASSERT_FALSE(xc_may_write_owned(&auditor, "office:3101"));
  CU_ASSERT_TRUE(xc_may_create_in(&city, "310104001"));
  CU_ASSERT_FALSE(xc_may_create_in(&county_a, "310105"));
  CU_ASSERT_FALSE(xc_may_create_in(&jw, "3101"));
  CU_ASSERT_FALSE(xc_may_create_in(&auditor, "3101"));
}

static void test_region_codes(void) {
  CU_ASSERT_TRUE(xc_region_code_valid("31"));
  CU_ASSERT_TRUE(xc_region_code_valid("310104001001"));
  CU_ASSERT_FALSE(xc_region_code_valid("31010"));
  CU_ASSERT_FALSE(xc_region_code_valid("3101040010011"));
  CU_ASSERT_FALSE(xc_region_code_valid("31a1"));
  CU_ASSERT_FALSE(xc_office_code_valid("31"));
  CU_ASSERT_TRUE(xc_office_code_valid("310104001"));
}

static size_t limit_8(const char *field) {
  return strcmp(field, "note") == 0 ? 4 : 8;
}

static void test_msg_helpers(void) {
  Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
  ProtobufCMessage *copy;
  xc_err err;
  t.name = "巡察";
  t.kind = XUNCHA__V1__TARGET_KIND__TARGET_KIND_TOWNSHIP;
  copy = xc_msg_clone(&t.base);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(copy, "name"), "巡察");
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(copy, "id"), "");
  CU_ASSERT_PTR_NULL(xc_msg_get_str(copy, "no_such_field"));
  CU_ASSERT_EQUAL(xc_msg_set_str(copy, "id", "t_1"), XC_OK);
  CU_ASSERT_EQUAL(xc_msg_set_str(copy, "id", "t_2"), XC_OK);
  CU_ASSERT_STRING_EQUAL(xc_msg_get_str(copy, "id"), "t_2");
  CU_ASSERT_EQUAL(xc_msg_set_str(copy, "kind", "x"), XC_EINTERNAL);
  CU_ASSERT_EQUAL(xc_msg_get_int(copy, "kind"), 3);
  CU_ASSERT_EQUAL(xc_msg_set_int(copy, "create_time_ms", 1234567890123LL), XC_OK);
  CU_ASSERT_EQUAL(xc_msg_get_int(copy, "create_time_ms"), 1234567890123LL);
  CU_ASSERT_EQUAL(xc_msg_check_strings(copy, "target", limit_8, 4, &err), XC_OK);
  CU_ASSERT_EQUAL(xc_msg_set_str(copy, "note", "12345"), XC_OK);
  CU_ASSERT_EQUAL(xc_msg_check_strings(copy, "target", limit_8, 4, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "target.note"));
  CU_ASSERT_EQUAL(xc_msg_set_str(copy, "note", "\xff"), XC_OK);
  CU_ASSERT_EQUAL(xc_msg_check_strings(copy, "target", limit_8, 4, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "UTF-8"));
  xc_msg_free(copy);
}

/* Unpacks msg's packed form with `extra` bytes (unknown fields) appended,
 * so the result has unpacked ownership as a request would. */
static ProtobufCMessage *unpacked_with(const ProtobufCMessage *msg, const uint8_t *extra,
                                       size_t extra_len) {
  size_t len = 0;
  uint8_t *buf = xc_msg_pack(msg, 0, &len), *all;
  ProtobufCMessage *out = NULL;
  CU_ASSERT_FATAL(buf != NULL);
  all = malloc(len + extra_len + 1);
  CU_ASSERT_FATAL(all != NULL);
  memcpy(all, buf, len);
  if (extra_len > 0) memcpy(all + len, extra, extra_len);
  out = protobuf_c_message_unpack(msg->descriptor, NULL, len + extra_len, all);
  free(buf);
  free(all);
  return out;
}

/* 1 if a and b pack to the same bytes. */
static int same_bytes(const ProtobufCMessage *a, const ProtobufCMessage *b) {
  size_t na = 0, nb = 0;
  uint8_t *pa = xc_msg_pack(a, 0, &na), *pb = xc_msg_pack(b, 0, &nb);
  int same = pa != NULL && pb != NULL && na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return same;
}

/* xc_msg_copy makes what xc_msg_clone makes, field by field: strings,
 * repeated strings, sub-messages, bytes, and unknown fields; and the
 * copy shares no memory with its source (ASan would see a double free). */
static void test_msg_copy(void) {
  Xuncha__V1__Finding f = XUNCHA__V1__FINDING__INIT;
  Xuncha__V1__Rectification rect = XUNCHA__V1__RECTIFICATION__INIT;
  Xuncha__V1__PutContentRequest put = XUNCHA__V1__PUT_CONTENT_REQUEST__INIT;
  char *tags[] = {"财务", "选人用人", ""};
  uint8_t data[] = {0, 1, 2, 255, 0};
  /* field 99 as a varint, and field 98 as 3 bytes: unknown to every type here */
  const uint8_t unknown[] = {0x98, 0x06, 0x01, 0x92, 0x06, 0x03, 'a', 'b', 'c'};
  ProtobufCMessage *src, *copy;

  f.id = "f_1";
  f.title = "问题一";
  f.description = "描述：干部选拔任用程序不规范";
  f.area = 2;
  f.n_tags = 3;
  f.tags = tags;
  f.create_time_ms = 1234567890123LL;
  f.voided = 1;
  rect.measures = "整改措施";
  rect.mode = 1;
  f.rectification = &rect;
  src = unpacked_with(&f.base, unknown, sizeof unknown);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  CU_ASSERT_EQUAL(src->n_unknown_fields, 2);
  copy = xc_msg_copy(src);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  CU_ASSERT_TRUE(same_bytes(src, copy));
  CU_ASSERT_EQUAL(copy->n_unknown_fields, 2);
  CU_ASSERT_PTR_NOT_EQUAL(((Xuncha__V1__Finding *)copy)->title,
                          ((Xuncha__V1__Finding *)src)->title);
  CU_ASSERT_PTR_NOT_EQUAL(((Xuncha__V1__Finding *)copy)->rectification,
                          ((Xuncha__V1__Finding *)src)->rectification);
  /* Unset strings keep the shared default, as unpack leaves them. */
  CU_ASSERT_PTR_EQUAL(((Xuncha__V1__Finding *)copy)->basis, ((Xuncha__V1__Finding *)src)->basis);
  xc_msg_free(src);
  /* The copy stands alone once its source is gone. */
  CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Finding *)copy)->tags[1], "选人用人");
  CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Finding *)copy)->rectification->measures, "整改措施");
  xc_msg_free(copy);

  put.server = "county";
  put.data.data = data;
  put.data.len = sizeof data;
  put.index = 3;
  src = unpacked_with(&put.base, NULL, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(src);
  copy = xc_msg_copy(src);
  CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
  CU_ASSERT_TRUE(same_bytes(src, copy));
  CU_ASSERT_PTR_NOT_EQUAL(((Xuncha__V1__PutContentRequest *)copy)->data.data,
                          ((Xuncha__V1__PutContentRequest *)src)->data.data);
  xc_msg_free(src);
  xc_msg_free(copy);

  /* A hand-made message with a NULL string: the copy holds the default, as
   * a clone would. */
  {
    Xuncha__V1__Target t = XUNCHA__V1__TARGET__INIT;
    t.name = NULL;
    t.note = "注";
    copy = xc_msg_copy(&t.base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)copy)->name, "");
    CU_ASSERT_STRING_EQUAL(((Xuncha__V1__Target *)copy)->note, "注");
    CU_ASSERT_PTR_NOT_EQUAL(((Xuncha__V1__Target *)copy)->note, t.note);
    xc_msg_free(copy);
  }
  /* Oneofs are tested in test_server (the reflection messages live there). */
  CU_ASSERT_PTR_NULL(xc_msg_copy(NULL));
}

static void test_msg_repeated_limits(void) {
  Xuncha__V1__Group g = XUNCHA__V1__GROUP__INIT;
  char *members[5] = {"a", "b", "c", "d", "e"};
  Xuncha__V1__Recusal r = XUNCHA__V1__RECUSAL__INIT;
  Xuncha__V1__Recusal *rs[1] = {&r};
  xc_err err;
  g.n_members = 5;
  g.members = members;
  CU_ASSERT_EQUAL(xc_msg_check_strings(&g.base, "group", limit_8, 4, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "group.members"));
  g.n_members = 2;
  r.reason = "far too long a reason";
  g.n_recusals = 1;
  g.recusals = rs;
  CU_ASSERT_EQUAL(xc_msg_check_strings(&g.base, "group", limit_8, 4, &err),
                  XC_EINVALID_ARGUMENT);
  CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "group.recusals.reason"));
}

int main(void) {
  CU_pSuite s;
  unsigned failed;
  if (CU_initialize_registry() != CUE_SUCCESS) return 1;
  s = CU_add_suite("status", NULL, NULL);
  CU_add_test(s, "status mapping", test_status_mapping);
  s = CU_add_suite("text", NULL, NULL);
  CU_add_test(s, "utf8", test_utf8);
  CU_add_test(s, "utf8 fast path", test_utf8_fast_path);
  CU_add_test(s, "display width", test_display_width);
  CU_add_test(s, "strlcpy", test_strlcpy);
  CU_add_test(s, "dates and numbers", test_dates_and_numbers);
  CU_add_test(s, "number and date formatting", test_fmt);
  s = CU_add_suite("identity", NULL, NULL);
  CU_add_test(s, "parse", test_identity_parse);
  CU_add_test(s, "access rules", test_access_rules);
  CU_add_test(s, "owner and author", test_identity_owner_author);
  CU_add_test(s, "region codes", test_region_codes);
  s = CU_add_suite("msg", NULL, NULL);
  CU_add_test(s, "helpers", test_msg_helpers);
  CU_add_test(s, "repeated limits", test_msg_repeated_limits);
  CU_add_test(s, "deep copy", test_msg_copy);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed == 0 ? 0 : 1;
}
