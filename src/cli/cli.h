/*
 * The tokvec command line: one file per command, one table in main.c.
 *
 * Adding a command:
 *   1. write src/cli/cmd_<name>.c with
 *
 *          int cmd_<name>(int argc, char **argv)
 *
 *      argv[0] is the command name and argv[1..] its arguments. Parse them with
 *      cli_getopt() (getopt_long that reports a bad option as "tokvec: <name>: ..."),
 *      accept --help (print the usage to stdout, return 0), open models with
 *      cli_open_option() + cli_open_model() so --embedding, --max-header-bytes and
 *      --max-tensors work everywhere, and return CLI_OK, CLI_FAIL or CLI_USAGE;
 *   2. declare it below, next to the others;
 *   3. add one line to the command table in src/cli/main.c:
 *          {"<name>", cmd_<name>, "<one-line summary for tokvec --help>"},
 * That is all: the build picks up every file in src/cli/, and `tokvec help <name>`
 * runs `cmd_<name>` with --help.
 *
 * Conventions: results go to stdout, errors to stderr as "tokvec: <message>"
 * (cli_error; library messages already name the file, the object and the numbers).
 * A command that reports takes --json: build a cJSON document, print it with
 * cli_json_print (token bytes through cli_json_add_bytes, big integers through
 * cli_json_add_u64) and document its fields in README.md. Token text for people goes
 * through cli_escape/cli_escaped; sizes through cli_human_bytes/cli_human_count.
 * Only the CLI prints and exits; the commands return their exit code to main().
 */
#ifndef TOKVEC_CLI_H
#define TOKVEC_CLI_H

#include <getopt.h>

#include "cli_util.h"

/* Exit codes of every command. */
enum {
    CLI_OK = 0,    /* success */
    CLI_FAIL = 1,  /* the data is bad, a file is missing, or a check failed */
    CLI_USAGE = 2  /* unknown option, missing or malformed argument */
};

/* ---- the commands (one file each) ---------------------------------------------- */

int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_analogy(int argc, char **argv);
int cmd_distance(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);

#endif
