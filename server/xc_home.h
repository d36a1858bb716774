/*
 * xc_home.h: which server each office is at home on (federation,
 * server/SYNC.md).
 *
 * The homes map is a small file, the same on every server of a federation,
 * of `NAME = REGION` lines: each server's name and the region code of the
 * office that runs it, e.g.
 *     city-1101 = 1101
 *     county-110105 = 110105
 * An office or agency is at home on the server whose region is the longest
 * prefix of its own region code, so a township without a server of its own
 * is at home on its county's. A server's upstream is the server with the
 * longest proper prefix of its region; its downstreams are the servers
 * whose upstream it is.
 *
 * Without a map (no --homes) xunchad is a lone server: every office is at
 * home on it and nothing here refuses anything.
 *
 * The map is loaded once at start, before any call is served, and is
 * read-only afterwards, so every function may be called from any thread.
 */
#ifndef XC_HOME_H
#define XC_HOME_H

#include <stddef.h>

#include "xc_handler.h"
#include "xc_status.h"

/* The most servers one homes map may name. */
#define XC_HOME_MAX_SERVERS 4096
/* The longest server name, in bytes: letters, digits, '.', '_' and '-'. */
#define XC_HOME_NAME_MAX 63

/*
 * Loads the map at path and makes `self` this server's name, which must be
 * in it. Returns XC_OK, or XC_EINVALID_ARGUMENT with err saying which line
 * is wrong (a bad name or region, a name or region given twice, more than
 * XC_HOME_MAX_SERVERS servers) or that self is missing; XC_ENOT_FOUND when
 * the file cannot be read. On failure the previous map stays.
 */
int xc_home_load(const char *path, const char *self, xc_err *err) XC_WARN_UNUSED_RESULT;

/* Forgets the map (tests). */
void xc_home_reset(void);

/* Returns 1 if a homes map is loaded. */
int xc_home_enabled(void);

/* This server's name and region ("" without a map). */
const char *xc_home_self(void);
const char *xc_home_self_region(void);

/* The name of the upstream server, or NULL (none, or no map). */
const char *xc_home_upstream(void);

/* The region of server `name`, or NULL if the map does not name it. */
const char *xc_home_region_of(const char *name);

/* The server a region code is at home on, or NULL when no entry covers it. */
const char *xc_home_of_region(const char *region);

/*
 * The server the owner or identity `who` ("office:<code>" or
 * "agency:<code>:<unit>") is at home on; NULL when none covers it or who
 * has no region. Without a map: this server's (empty) name.
 */
const char *xc_home_of(const char *who);

/* Copies the region code of "office:<code>" or "agency:<code>:<unit>" into
 * out; "" when who has neither form. */
void xc_home_who_region(const char *who, char out[XC_REGION_MAX_DIGITS + 1]);

/* Returns 1 if `who` is at home on this server (always 1 without a map). */
int xc_home_is_here(const char *who);

/* Returns 1 if server `name` is `ancestor` or lies below it in the map. */
int xc_home_within(const char *name, const char *ancestor);

/* Returns 1 if this server is the upstream of server `name`. */
int xc_home_is_downstream(const char *name);

/* Calls fn for each downstream of this server, in map order. */
void xc_home_each_downstream(void (*fn)(void *ctx, const char *name), void *ctx);

/* Calls fn for each server of the map, in map order. */
void xc_home_each(void (*fn)(void *ctx, const char *name), void *ctx);

/*
 * The transport calls this before every handler. A call that writes
 * records (Create*, Update*, AdvanceRound, AppendProgress, VoidRecord, ...)
 * from an office or agency at home on another server is refused with
 * XC_EFAILED_PRECONDITION naming that server: each office's records are
 * changed only on its home server, which then syncs them. Returns XC_OK
 * otherwise.
 */
int xc_home_admit(const xc_ctx *ctx, const char *method, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Returns XC_OK if the record `id` of `kind`, owned by `owner`, may be
 * changed here, or XC_EFAILED_PRECONDITION naming the owner and its home
 * server when this copy is a replica.
 */
int xc_home_check_replica(xc_kind kind, const char *id, const char *owner, xc_err *err)
    XC_WARN_UNUSED_RESULT;

#endif /* XC_HOME_H */
