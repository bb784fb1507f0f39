/*
 * tokvec decode MODEL [ID...]: token ids -> text through the model's decoder.
 *
 * Ids come from the arguments, or from standard input where each line holds one
 * sequence (the output of `tokvec encode --lines`): one output line per input line.
 * Ids may be separated by spaces, commas or brackets ("[1, 2, 3]" works too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokvec/tokenizer.h"

enum { OPT_SKIP_SPECIAL = CLI_OPT_COMMAND };

static const char usage[] =
    "usage: tokvec decode [options] MODEL [ID...]\n"
    "\n"
    "Turns token ids back into text with the model's decoder. Without ID arguments the\n"
    "ids are read from standard input, one sequence per line (the output of\n"
    "`tokvec encode --lines`), and each line gives one line of text.\n"
    "\n"
    "options:\n"
    "      --skip-special          leave out special tokens (BOS, EOS, [CLS], ...)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 the model could not be read or an id is not in the\n"
    "vocabulary, 2 usage error (an id that is not a number)\n";

struct idlist {
    uint32_t *v;
    size_t n, cap;
};

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '[' || c == ']' || c == '\r' || c == '\n';
}

/* Appends the ids in s; returns 0, or -1 (reported) when a word is not an id. */
static int parse_ids(const char *s, size_t len, struct idlist *out, const char *where)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && is_sep(s[i]))
            i++;
        size_t start = i;
        while (i < len && !is_sep(s[i]))
            i++;
        if (i == start)
            break;
        char word[32];
        uint64_t id;
        size_t wl = i - start;
        if (wl >= sizeof word || (memcpy(word, s + start, wl), word[wl] = '\0',
                                  cli_parse_u64(word, &id) < 0) ||
            id > UINT32_MAX) {
            cli_error("decode: %s: '%.*s' is not a token id", where, (int)(wl > 40 ? 40 : wl),
                      s + start);
            return -1;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            uint32_t *grown = realloc(out->v, cap * sizeof *grown);
            if (!grown) {
                cli_error("out of memory");
                return -1;
            }
            out->v = grown;
            out->cap = cap;
        }
        out->v[out->n++] = (uint32_t)id;
    }
    return 0;
}

static int decode_and_print(tv_tokenizer *t, const struct idlist *ids, unsigned flags)
{
    char *text;
    size_t len;
    tv_error err = {0};
    if (tv_decode(t, ids->v, ids->n, flags, &text, &len, &err) < 0) {
        cli_error("%s", err.message);
        return CLI_FAIL;
    }
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    tv_string_free(text);
    return CLI_OK;
}

int cmd_decode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"skip-special", no_argument, NULL, OPT_SKIP_SPECIAL},
        {"help", no_argument, NULL, 'h'},
        CLI_OPEN_LONGOPTS,
        {0},
    };
    struct tv_open_options open = {0};
    unsigned flags = 0;
    int c;
    while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared)
            continue;
        switch (c) {
        case OPT_SKIP_SPECIAL: flags |= TV_DECODE_SKIP_SPECIAL; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (argc - optind < 1) {
        cli_error("decode: missing MODEL (see tokvec decode --help)");
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    struct idlist ids = {0};
    /* ids from the arguments are checked before the model is opened */
    for (int i = optind + 1; i < argc; i++)
        if (parse_ids(argv[i], strlen(argv[i]), &ids, "argument") < 0) {
            free(ids.v);
            return CLI_USAGE;
        }
    bool from_args = argc - optind > 1;
    tv_model *m = cli_open_model(path, &open, NULL);
    if (!m) {
        free(ids.v);
        return CLI_FAIL;
    }
    int rc = CLI_FAIL;
    tv_error err = {0};
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (!t) {
        cli_error("%s", err.message);
        goto out;
    }
    if (from_args) {
        rc = decode_and_print(t, &ids, flags);
        goto out;
    }
    rc = CLI_OK;
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        char where[48];
        snprintf(where, sizeof where, "line %zu", ++line_no);
        ids.n = 0;
        if (parse_ids(line, (size_t)n, &ids, where) < 0) {
            rc = CLI_USAGE;
            break;
        }
        if ((rc = decode_and_print(t, &ids, flags)) != CLI_OK)
            break;
    }
    if (ferror(stdin)) {
        cli_error("standard input: %s", strerror(errno));
        rc = CLI_FAIL;
    }
    free(line);
out:
    free(ids.v);
    tv_tokenizer_free(t);
    tv_model_free(m);
    return rc;
}
