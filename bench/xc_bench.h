/*
 * What the source files of xuncha-bench share. Internal to the bench: not
 * installed, not a library API.
 *
 *   xc_bench.c            the commands, the gRPC client machinery (`run`,
 *                         `transport`), the storage tools
 *   xc_bench_transport.c  the minimal in-process gRPC server `transport`
 *                         measures (a fixed reply, nothing else)
 *   xc_bench_disk.c       `fsync`: the disk's cost for an LMDB commit's shape
 */
#ifndef XC_BENCH_H
#define XC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "xc_status.h"

/* The one method the transport server answers. */
#define XC__BENCH_TRANSPORT_METHOD "/xuncha.bench.Transport/Reply"

/* Longest value list an option takes (--inflight, --sizes, --pages). */
#define XC__BENCH_MAX_LIST 8

/* Prints "xuncha-bench: <message>" on stderr and exits with status 1. For
 * bad options and unusable files: nothing is left to clean up that the
 * process exit does not. */
void xc__bench_die(const char *fmt, ...) XC_PRINTF(1, 2) __attribute__((noreturn));

/* Parses the value v of option opt as an integer from lo to hi, or dies
 * naming the option and the range. */
long long xc__bench_num(const char *opt, const char *v, long long lo, long long hi);

/* Parses a comma-separated list of integers from lo to hi (at most max of
 * them, max <= XC__BENCH_MAX_LIST) into out and returns how many; dies
 * naming the option, the range or the limit on bad input. */
size_t xc__bench_parse_list(const char *opt, const char *v, long long lo, long long hi,
                            long long *out, size_t max);

/* Writes "N x <CPU model>, Linux <release>" into out (always terminated). */
void xc__bench_machine(char *out, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t xc__bench_now_ns(void);

/* Process CPU time (user + system, every thread) in microseconds. */
double xc__bench_cpu_us(void);

/* ------------------------------------------------------ transport server */

typedef struct xc__bench_tsrv xc__bench_tsrv;

/* Largest reply the transport server sends: xunchad's message limit. */
#define XC__BENCH_MAX_REPLY (4 * 1024 * 1024)

/*
 * Starts a gRPC core server on 127.0.0.1 (an ephemeral port, stored in
 * *port) over mutual TLS (cert_pem/key_pem its certificate, client
 * certificates required and verified against ca_pem), with xunchad's channel
 * arguments and one completion-queue thread, that answers every call of
 * XC__BENCH_TRANSPORT_METHOD with status OK and the same pre-built message of
 * reply_bytes bytes (at most XC__BENCH_MAX_REPLY), and does nothing else.
 * grpc_init must have been called. The PEM strings are copied. On success
 * *out owns the server until xc__bench_tsrv_stop; on failure returns
 * XC_EINVALID_ARGUMENT or XC_EUNAVAILABLE with a message in err.
 */
int xc__bench_tsrv_start(const char *ca_pem, const char *cert_pem, const char *key_pem,
                         size_t reply_bytes, xc__bench_tsrv **out, int *port, xc_err *err)
    XC_WARN_UNUSED_RESULT;

/* CPU time (user + system) the server's completion-queue thread has used,
 * in microseconds; 0 if unknown. gRPC runs some of a connection's work on
 * whichever thread polls, so in one process this is the server's share only
 * approximately. */
double xc__bench_tsrv_cpu_us(const xc__bench_tsrv *ts);

/* Stops the server (PLATFORM.md item 11's order), joins its thread, frees
 * everything, and returns the number of calls it answered. ts may be NULL. */
uint64_t xc__bench_tsrv_stop(xc__bench_tsrv *ts);

/* ---------------------------------------------------------------- fsync */

/* `xuncha-bench fsync ARGS`: see xc_bench_disk.c. Returns the exit status. */
int xc__bench_cmd_fsync(int argc, char **argv);

#endif
