/*
 * Helpers shared by the tokvec commands: errors, option parsing, opening models,
 * a growable text buffer, display escaping of token bytes, human-readable numbers
 * and JSON output.
 */
#ifndef TOKVEC_CLI_UTIL_H
#define TOKVEC_CLI_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "internal.h"

/* ---- errors ---------------------------------------------------------------------- */

/* Prints "tokvec: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) TV_PRINTF(1, 2);

/*
 * getopt_long with tokvec's reporting: an unknown option or a missing argument is
 * printed as "tokvec: <command>: unknown option '--x'" (argv[0] is the command) and
 * '?' is returned, so a command answers it with `return CLI_USAGE`. Returns -1 at
 * the end of the options, like getopt_long. The first call for an argv starts from
 * argv[1]; GNU permutation lets options follow the paths.
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/*
 * Strictly parses a decimal unsigned integer (digits only, no sign, no spaces, fits
 * in 64 bits). Returns 0, or -1 when s is not one.
 */
int cli_parse_u64(const char *s, uint64_t *out);

/* ---- opening models ---------------------------------------------------------------- */

/* getopt codes of the shared options; a command's own long-only codes start at
   CLI_OPT_COMMAND. */
enum {
    CLI_OPT_EMBEDDING = 0x100,
    CLI_OPT_MAX_HEADER_BYTES,
    CLI_OPT_MAX_TENSORS,
    CLI_OPT_REVISION,
    CLI_OPT_MAX_MEMBER_BYTES,
    CLI_OPT_MAX_UNPACKED_BYTES,
    CLI_OPT_MAX_EXPAND_RATIO,
    CLI_OPT_PYTORCH_KEY,
    CLI_OPT_VOCAB,
    CLI_OPT_COMMAND = 0x200
};

/* Put these in a command's struct option table to accept the shared options. */
#define CLI_OPEN_LONGOPTS                                                      \
    {"embedding", required_argument, NULL, CLI_OPT_EMBEDDING},                 \
    {"max-header-bytes", required_argument, NULL, CLI_OPT_MAX_HEADER_BYTES},   \
    {"max-tensors", required_argument, NULL, CLI_OPT_MAX_TENSORS},             \
    {"revision", required_argument, NULL, CLI_OPT_REVISION},                   \
    {"max-member-bytes", required_argument, NULL, CLI_OPT_MAX_MEMBER_BYTES},   \
    {"max-unpacked-bytes", required_argument, NULL, CLI_OPT_MAX_UNPACKED_BYTES}, \
    {"max-expand-ratio", required_argument, NULL, CLI_OPT_MAX_EXPAND_RATIO},  \
    {"key", required_argument, NULL, CLI_OPT_PYTORCH_KEY},                     \
    {"vocab", required_argument, NULL, CLI_OPT_VOCAB}

/* Their lines for a command's usage text. */
#define CLI_OPEN_USAGE                                                                      \
    "      --embedding NAME        the token-embedding tensor (default: detected)\n"        \
    "      --max-header-bytes N    safetensors header cap (default 100000000)\n"            \
    "      --max-tensors N         tensor count cap (default 16777216)\n"                  \
    "      --revision REV          Hugging Face cache: a ref or commit (default: main)\n"  \
    "      --max-member-bytes N    archives, .gz: one decompressed member (default 32 GiB)\n" \
    "      --max-unpacked-bytes N  archives: all decompressed bytes (default 64 GiB)\n"   \
    "      --max-expand-ratio N    archives, .gz: decompressed per packed byte (default 200)\n" \
    "      --key KEY               PyTorch checkpoints: the state dict under KEY (\"model\",\n" \
    "                              a/b for nested keys; default: found)\n"                 \
    "      --vocab FILE            words for a bare matrix (.npy): one token per line, as\n" \
    "                              many lines as rows (also FILE.gz, ARCHIVE:MEMBER)\n"

/*
 * Handles one of the shared options (c is getopt's return value). Returns 1 when
 * c was one and was applied to opt, 0 when c is not a shared option, -1 when its
 * argument is malformed (already reported: return CLI_USAGE).
 */
int cli_open_option(struct tv_open_options *opt, int c, const char *arg);

/*
 * Opens one path (file or folder) with opt. On failure prints the library's message
 * as "tokvec: <message>", copies the error to err (when not NULL) and returns NULL;
 * the exit code is then CLI_FAIL.
 */
tv_model *cli_open_model(const char *path, const struct tv_open_options *opt, tv_error *err);

/* ---- a growable text buffer ---------------------------------------------------------- */

struct cli_buf {
    char *ptr;   /* NUL-terminated (never NULL after cli_buf_init) */
    size_t len;
    size_t cap;
    bool oom;    /* an append failed; the text is truncated */
};

void cli_buf_init(struct cli_buf *b);
void cli_buf_release(struct cli_buf *b);
void cli_buf_reset(struct cli_buf *b);
void cli_buf_append(struct cli_buf *b, const char *s, size_t len);
void cli_buf_puts(struct cli_buf *b, const char *s);
void cli_buf_printf(struct cli_buf *b, const char *fmt, ...) TV_PRINTF(2, 3);

/* ---- display --------------------------------------------------------------------------- */

enum {
    CLI_ESCAPE_QUOTE = 1u << 0 /* also escape '"' (the text goes between quotes) */
};

/*
 * Appends bytes for display: printable ASCII and valid UTF-8 as they are (GPT-2's
 * byte-level "Ġ" and SentencePiece's "▁" stay visible: a token is shown in its
 * tokenizer's own alphabet), a backslash as "\\", control characters, line
 * separators and bytes that are not valid UTF-8 as \xNN.
 */
void cli_escape(struct cli_buf *b, const char *bytes, size_t len, unsigned flags);
/* Same, into a NUL-terminated static buffer, cut with "..." past max_chars output
   bytes (0: no cut). The buffer is overwritten by the next call. */
const char *cli_escaped(const char *bytes, size_t len, unsigned flags, size_t max_chars);

/* Whether bytes are valid UTF-8 without NUL (so a JSON string can carry them exactly). */
bool cli_utf8_exact(const char *bytes, size_t len);

/* "512 B", "1.5 kB", "154.4 MB", "2.1 GB": decimal units, one decimal. */
const char *cli_human_bytes(uint64_t bytes, char out[32]);
/* "512", "1.5 K", "124.4 M", "6.7 B": a parameter or element count. */
const char *cli_human_count(uint64_t count, char out[32]);
/* "50257 x 768", "64" (1-D), "scalar" (0-D). */
const char *cli_shape(const struct tv_tensor *t, char out[256]);

/* The tokenizer kind as people write it: "BPE", "WordPiece", "WordLevel", "Unigram". */
const char *cli_tokenizer_label(enum tv_tokenizer_kind kind);
/* Token flags as "added,special,lstrip" into out, "-" when none. */
const char *cli_token_flags(unsigned flags, char out[64]);

/* ---- JSON --------------------------------------------------------------------------- */

/*
 * Adds bytes under key as a JSON string. When the bytes are not valid UTF-8 or hold
 * a NUL (a JSON string cannot carry them exactly), the string has U+FFFD in place
 * of each bad byte and key + "_hex" is added with the exact bytes in hex.
 * Returns 0, or -1 on out of memory.
 */
int cli_json_add_bytes(cJSON *obj, const char *key, const char *bytes, size_t len);
/* Adds an unsigned 64-bit number (exact up to 2^53; larger ones as a decimal string). */
cJSON *cli_json_add_u64(cJSON *obj, const char *key, uint64_t value);
/* Prints doc to stdout followed by a newline, compact (one line) or indented.
   Returns 0, or -1 when printing failed (out of memory). */
int cli_json_print(const cJSON *doc, bool pretty);

#endif
