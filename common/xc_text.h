/*
 * xc_text.h: text checks shared by server, client and storage.
 *
 * Nothing here allocates; every function reads at most the bytes it is given.
 */
#ifndef XC_TEXT_H
#define XC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 if s[0..len) is valid UTF-8 (no overlongs, surrogates or NULs). */
int xc_utf8_valid(const char *s, size_t len);

/*
 * Returns the number of terminal columns s takes: 2 for East Asian wide and
 * full-width characters (Chinese text), 0 for combining marks, 1 otherwise.
 * Invalid bytes count 1 each.
 */
size_t xc_display_width(const char *s);

/*
 * Copies at most dst_size-1 bytes of src into dst and terminates it, never
 * cutting a UTF-8 character in half. Returns the length of src, so a result
 * >= dst_size means the copy was cut (like strlcpy).
 */
size_t xc_strlcpy(char *dst, const char *src, size_t dst_size);

/* Returns 1 if s is a real calendar date written "YYYY-MM-DD" (1900..2999). */
int xc_date_valid(const char *s);

/* Returns 1 if s is all ASCII digits and 1..max_len long. */
int xc_all_digits(const char *s, size_t max_len);

/*
 * Parses a whole decimal integer in [min, max] from s into *out with strtoll.
 * Returns 0 on success, -1 on junk, an empty string or a value out of range.
 */
int xc_parse_int64(const char *s, long long min, long long max, long long *out);

/*
 * Number and date formatting for the storage writer's hot paths, where
 * snprintf cost about a tenth of the writer's instructions per create.
 * Each writes exactly the bytes snprintf would for the format named, plus a
 * terminating NUL, and returns the length without the NUL.
 */

/* Longest decimal of a 64-bit integer, sign and NUL included. */
#define XC_FMT_INT_MAX 21

/* "%llu" of v into out, which holds XC_FMT_INT_MAX bytes (20 digits at most). */
size_t xc_fmt_u64(char *out, uint64_t v);

/* "%lld" of v into out, which holds XC_FMT_INT_MAX bytes (a sign and 19 digits at most). */
size_t xc_fmt_i64(char *out, int64_t v);

/* "%016llx" of v into out, which holds 17 bytes (16 lowercase hex digits). */
size_t xc_fmt_hex64(char *out, uint64_t v);

/*
 * The calendar date in China Standard Time (UTC+8 all year) of ms, a time
 * in milliseconds since 1970, proleptic Gregorian like gmtime: by
 * arithmetic (H. Hinnant's days-to-civil), as lists and the storage writer
 * call it for every record. The year is whatever the arithmetic gives;
 * callers decide what a year outside 0..9999 means.
 */
void xc_civil_cst_of_ms(int64_t ms, int64_t *year, int *month, int *day);

/* "%04d-%02d-%02d" of a date into out, which holds 11 bytes. The fields
 * must be in range (year 0..9999, month 1..12, day 1..31); a date out of
 * range gives "0000-00-00". */
size_t xc_fmt_date(char *out, int year, int month, int day);

#endif /* XC_TEXT_H */
