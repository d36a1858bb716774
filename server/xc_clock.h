/*
 * xc_clock.h: the one place xunchad asks what time it is for workflow rules.
 *
 * Overdue, stalled and report deadlines depend on "today". Tests must reach
 * those boundaries without sleeping, so the clock can be pointed at a file
 * (xunchad --test-clock-file FILE) that is read on every call:
 *   - an integer with a sign ("+86400000", "-5000"): an offset in
 *     milliseconds added to the real time;
 *   - an integer without a sign: the absolute time, ms since the epoch;
 *   - a date YYYY-MM-DD: noon of that day in China Standard Time;
 *   - a missing or empty file: the real time.
 * Without the flag the file is never read. Configure before the server
 * starts; the settings are read-only afterwards, so any thread may call.
 */
#ifndef XC_CLOCK_H
#define XC_CLOCK_H

#include <stdint.h>

/* Points the clock at a test file (NULL: the real clock). The path is
 * borrowed and must outlive the server (argv does). */
void xc_clock_set_file(const char *path);

/* Returns the current time in ms since the epoch, through the test file when
 * one is set. */
int64_t xc_clock_now_ms(void);

/* Writes today's date in China Standard Time, "YYYY-MM-DD", into out. */
void xc_clock_today_cst(char out[11]);

/* Writes the CST date of the instant ms into out. */
void xc_clock_date_of_ms(int64_t ms, char out[11]);

#endif /* XC_CLOCK_H */
