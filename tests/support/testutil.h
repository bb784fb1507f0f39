/*
 * Helpers shared by the cmocka tests: where the real fixtures are, reading files,
 * running the CLI.
 */
#ifndef TOKVEC_TESTUTIL_H
#define TOKVEC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

/*
 * Returns the path of a file under the real-fixtures folder (TOKVEC_REAL_FIXTURES,
 * default ../shared/fixtures/real) in a static buffer. When the folder is missing the
 * test is skipped with a visible message, except under CI=true where it fails.
 */
const char *real_fixture(const char *relative);

/* Opens path with opt (NULL for the defaults); fails the test with "path: error". */
tv_model *model_open_or_fail(const char *path, const struct tv_open_options *opt);

/* Opens real_fixture(relative); fails the test with "relative: error". */
tv_model *fixture_open_or_fail(const char *relative);

/* How many of m's findings are of this check ("structure.trailing_bytes"). */
size_t count_findings(const tv_model *m, const char *check);

/* Reads a whole file into a tv_malloc'ed buffer (NUL-terminated); fails the test on error. */
uint8_t *read_file_or_fail(const char *path, size_t *len);

/* A fresh empty temporary folder (removed by the caller with remove_tree). */
char *make_temp_dir(void);
void remove_tree(const char *path);

/*
 * Runs the tokvec CLI with the given arguments (NULL-terminated), capturing stdout
 * and stderr into tv_malloc'ed strings (may be NULL). Returns the exit code, or -1
 * when it died from a signal.
 */
int run_cli(char **out, char **errout, const char *arg, ...);

/*
 * run_cli that also reports the child's peak resident set size in KiB (ru_maxrss from
 * wait4) in *max_rss_kb, when max_rss_kb is not NULL.
 */
int run_cli_rss(char **out, char **errout, long *max_rss_kb, const char *arg, ...);

#endif
