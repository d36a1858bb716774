/*
 * xc_text.h: text checks shared by server, client and storage.
 *
 * Nothing here allocates; every function reads at most the bytes it is given.
 */
#ifndef XC_TEXT_H
#define XC_TEXT_H

#include <stddef.h>

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

#endif /* XC_TEXT_H */
