/*
 * xc_cli_rep.h: the report and data-exchange commands of `xuncha`
 * (server/REPORTS.md):
 *
 *   xuncha report summary --term N [--region CODE] [--from D] [--to D]
 *                         [--lang zh|en] [--json | --csv]
 *   xuncha report coverage --term N [--region CODE] [--json | --csv]
 *   xuncha term create --number N --start D [--end D] [--note T]
 *   xuncha term list [--region CODE]
 *   xuncha import targets|findings|leads FILE.csv [--encoding utf-8|gb18030]
 *                 [--skip-bad] [--dry-run] [--progress]
 *   xuncha export targets|findings|leads [--round ID] [--region-prefix P]
 *                 [--encoding utf-8|gb18030] [--out FILE] [--csv]
 */
#ifndef XC_CLI_REP_H
#define XC_CLI_REP_H

#include <stddef.h>
#include <stdio.h>

#include "xc_config.h"
#include "xc_status.h"
#include "xuncha/v1/reports.pb-c.h"

/*
 * Runs argv if it is one of the commands above: sets *handled to 1 and
 * returns the exit code (xc_cli.h). Otherwise sets *handled to 0 and
 * returns 0.
 */
int xc_cli_rep_main(int argc, char **argv, FILE *out, FILE *errf, xc_getenv_fn env, int *handled);

/* Prints the commands' help. */
void xc_cli_rep_usage(FILE *out);

/*
 * Writes the speech's sentence for summary s into buf (at most size bytes,
 * always terminated): Chinese when en is 0, else English. Returns the
 * length it needed (like snprintf).
 */
size_t xc_cli_rep_sentence(const Xuncha__V1__Summary *s, int en, char *buf, size_t size);

/*
 * Converts a file's bytes to UTF-8: strips a UTF-8 BOM; with encoding NULL
 * keeps valid UTF-8 as it is and reads anything else as GB18030; with
 * "utf-8" or "gb18030" uses that. *out is a new NUL-terminated buffer (free
 * it), *out_len its length. XC_EINVALID_ARGUMENT names the byte offset of
 * text that is not in the encoding.
 */
int xc_cli_rep_to_utf8(const char *data, size_t len, const char *encoding, char **out,
                       size_t *out_len, xc_err *err) XC_WARN_UNUSED_RESULT;

/*
 * Parses UTF-8 CSV text into rows of `resource`'s records ("target",
 * "finding", "lead") as ImportRows: the first row holds the column headers
 * (the Chinese labels the CLI shows, the flag names or the field paths);
 * every other row is one record, its line the row's number in the
 * spreadsheet. Bad cells are described in errs ("第12行「领域」: ...", one
 * per line, at most errs_size bytes) and their rows left out; *n_bad counts
 * them. *rows (free each with protobuf_c_message_free_unpacked and the array
 * with free) holds the good rows. XC_EINVALID_ARGUMENT for a file that
 * cannot be read as a table at all (bad header), with err saying why.
 */
int xc_cli_rep_parse_csv(const char *resource, const char *text, size_t len,
                         Xuncha__V1__ImportRow ***rows, size_t *n_rows, size_t *n_bad,
                         char *errs, size_t errs_size, int progress, FILE *progf,
                         xc_err *err) XC_WARN_UNUSED_RESULT;

#endif /* XC_CLI_REP_H */
