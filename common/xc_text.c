#include "xc_text.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Decodes one UTF-8 character from s, of which avail > 0 bytes may be read.
 * Returns the bytes it takes and sets *cp, or 0 when the bytes there are not
 * a valid character (a stray byte, an overlong form, a surrogate, a value
 * past U+10FFFF, or a sequence cut short by avail).
 */
static size_t xc__utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp) {
  unsigned c = s[0];
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (avail <= n) return 0;
  for (size_t k = 1; k <= n; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[k] & 0x3F);
  }
  if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10FFFF ||
      (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return n + 1;
}

/* 1 if the eight bytes of w hold a NUL or a byte with the high bit set. */
static int xc__not_plain_ascii8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  return ((w | ((w - ones) & ~w)) & highs) != 0;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * 1 if the 12 bytes at p are four three-byte characters whose lead bytes
 * are E1..EC or EE..EF (no E0 or ED, whose second bytes have narrower
 * ranges): the usual case in Chinese text, checked with three masked
 * word compares instead of byte by byte. 0 does not mean invalid: the
 * caller then checks one character the long way.
 */
static int xc__cjk4(const unsigned char *p) {
  uint32_t w[3];
  memcpy(w, p, sizeof w);
  /* Lead bytes at 0, 3, 6, 9 must be 1110xxxx, the rest 10xxxxxx. */
  if ((w[0] & 0xF0C0C0F0u) != 0xE08080E0u || (w[1] & 0xC0F0C0C0u) != 0x80E08080u ||
      (w[2] & 0xC0C0F0C0u) != 0x8080E080u)
    return 0;
  return p[0] != 0xE0 && p[0] != 0xED && p[3] != 0xE0 && p[3] != 0xED && p[6] != 0xE0 &&
         p[6] != 0xED && p[9] != 0xE0 && p[9] != 0xED;
}
#define XC__HAVE_CJK4 1
#endif

/*
 * The same rules as xc__utf8_decode (and a NUL refused), but it runs over
 * whole request texts on every write, so plain ASCII goes eight bytes at a
 * time and each multi-byte form is checked in place, with the second byte's
 * range limits that rule out overlongs, surrogates and values past U+10FFFF.
 */
int xc_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *end = p + len;
  while (p < end) {
    unsigned c = p[0];
    if (c < 0x80) {
      if (c == 0) return 0;
      p++;
      while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        if (xc__not_plain_ascii8(w)) break;
        p += 8;
      }
      continue;
    }
    if ((c & 0xF0) == 0xE0) {
      /* Three bytes (all of CJK) first: most of the text we check. */
      unsigned c1;
#ifdef XC__HAVE_CJK4
      while (end - p >= 12 && xc__cjk4(p)) p += 12;
      if (p == end) break;
      c = p[0];
      if ((c & 0xF0) != 0xE0) continue;
#endif
      if (end - p < 3 || (p[2] & 0xC0) != 0x80) return 0;
      c1 = p[1];
      if (c == 0xE0) {
        if (c1 < 0xA0 || c1 > 0xBF) return 0;
      } else if (c == 0xED) {
        if (c1 < 0x80 || c1 > 0x9F) return 0;
      } else if ((c1 & 0xC0) != 0x80) {
        return 0;
      }
      p += 3;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (end - p < 2 || (p[1] & 0xC0) != 0x80) return 0;
      p += 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (end - p < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
          (p[3] & 0xC0) != 0x80)
        return 0;
      p += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

/* Wide ranges follow Unicode's East Asian Width W and F classes, simplified. */
static int xc__wide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
         (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

static int xc__combining(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0xFE00 && cp <= 0xFE0F);
}

size_t xc_display_width(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t width = 0;
  while (*p) {
    uint32_t cp = 0xFFFD;
    /* The decoder stops at the first byte that is not a continuation byte,
       and the terminating NUL is not one, so it never reads past the end. */
    size_t used = xc__utf8_decode(p, 4, &cp);
    if (used == 0) {
      used = 1;
      cp = 0xFFFD;
    }
    if (xc__combining(cp))
      ;
    else if (xc__wide(cp))
      width += 2;
    else
      width += 1;
    p += used;
  }
  return width;
}

size_t xc_strlcpy(char *dst, const char *src, size_t dst_size) {
  size_t len = strlen(src);
  if (dst_size == 0) return len;
  size_t n = len < dst_size - 1 ? len : dst_size - 1;
  /* Back off to a character boundary so a cut never leaves half a character. */
  if (n < len)
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
  memcpy(dst, src, n);
  dst[n] = '\0';
  return len;
}

int xc_all_digits(const char *s, size_t max_len) {
  size_t n = 0;
  if (s == NULL || *s == '\0') return 0;
  for (; s[n]; n++)
    if (s[n] < '0' || s[n] > '9' || n >= max_len) return 0;
  return 1;
}

int xc_date_valid(const char *s) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  int d = (s[8] - '0') * 10 + (s[9] - '0');
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = days[m - 1] + (m == 2 && leap);
  return d <= max;
}

int xc_parse_int64(const char *s, long long min, long long max, long long *out) {
  char *end = NULL;
  long long v;
  if (s == NULL || *s == '\0') return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

size_t xc_fmt_u64(char *out, uint64_t v) {
  char rev[XC_FMT_INT_MAX];
  size_t n = 0, len;
  do {
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  len = n;
  for (size_t i = 0; i < len; i++) out[i] = rev[len - 1 - i];
  out[len] = '\0';
  return len;
}

size_t xc_fmt_i64(char *out, int64_t v) {
  /* The magnitude of INT64_MIN does not fit an int64_t: negate unsigned. */
  if (v >= 0) return xc_fmt_u64(out, (uint64_t)v);
  out[0] = '-';
  return 1 + xc_fmt_u64(out + 1, 0u - (uint64_t)v);
}

size_t xc_fmt_hex64(char *out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    out[i] = digits[v & 0xf];
    v >>= 4;
  }
  out[16] = '\0';
  return 16;
}

void xc_civil_cst_of_ms(int64_t ms, int64_t *year, int *month, int *day) {
  int64_t secs = ms / 1000 + 8 * 3600;
  int64_t z = (secs >= 0 ? secs : secs - 86399) / 86400 + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)m;
  *year = yoe + era * 400 + (m <= 2);
}

size_t xc_fmt_date(char *out, int year, int month, int day) {
  if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31)
    year = month = day = 0;
  out[0] = (char)('0' + year / 1000);
  out[1] = (char)('0' + year / 100 % 10);
  out[2] = (char)('0' + year / 10 % 10);
  out[3] = (char)('0' + year % 10);
  out[4] = '-';
  out[5] = (char)('0' + month / 10);
  out[6] = (char)('0' + month % 10);
  out[7] = '-';
  out[8] = (char)('0' + day / 10);
  out[9] = (char)('0' + day % 10);
  out[10] = '\0';
  return 10;
}
