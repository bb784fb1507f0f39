/*
 * tokvec encode MODEL [TEXT]: text -> token ids, id for id what Hugging Face tokenizers
 * (or llama.cpp for a GGUF) produces.
 *
 * The text is TEXT, or the file of -f, or standard input. Without --lines the whole
 * input is one text (line breaks included); with --lines every line is encoded on its
 * own, without its line break, and gives one output line. Output: the ids separated by
 * spaces; --tokens shows piece(id) pairs; --count only the number of ids; --json one
 * JSON object per text with ids, pieces and byte offsets. --threads N shares the lines
 * of --lines between N tokenizers (same output, in input order).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokvec/tokenizer.h"

enum {
    OPT_LINES = CLI_OPT_COMMAND,
    OPT_ADD_SPECIAL,
    OPT_NO_PARSE_SPECIAL,
    OPT_TOKENS,
    OPT_JSON,
    OPT_COUNT,
    OPT_THREADS,
};

static const char usage[] =
    "usage: tokvec encode [options] MODEL [TEXT]\n"
    "\n"
    "Turns text into token ids with the model's tokenizer (tokenizer.json, a model folder,\n"
    "a GGUF with a vocabulary, vocab.json + merges.txt, vocab.txt). The text is TEXT, or\n"
    "the file given with -f, or standard input.\n"
    "\n"
    "options:\n"
    "  -f, --file FILE             read the text from FILE (\"-\": standard input)\n"
    "      --lines                 encode each line on its own, one output line per line\n"
    "      --add-special           add what the model adds around a text (BOS/EOS,\n"
    "                              [CLS]/[SEP]); off by default\n"
    "      --no-parse-special      special-token text such as \"<|endoftext|>\" is plain\n"
    "                              text, not the special token\n"
    "      --tokens                show each token as piece(id), \"␣\" for a space\n"
    "      --count                 print only the number of tokens\n"
    "      --json                  one JSON object per text: ids, pieces, byte offsets\n"
    "      --threads N             with --lines: N threads (default 1)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 the model or the input could not be read, 2 usage error\n";

struct encode {
    struct tv_open_options open;
    const char *file;
    bool lines, tokens, json, count;
    unsigned flags;
    unsigned threads;
};

/* ---- reading the input -------------------------------------------------------------- */

static int read_all(FILE *f, const char *name, char **out, size_t *out_len)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        cli_error("out of memory reading %s", name);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            char *grown = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                cli_error("out of memory reading %s", name);
                return -1;
            }
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        cli_error("%s: read error: %s", name, strerror(errno));
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int read_input(const char *file, char **out, size_t *len)
{
    if (!file || strcmp(file, "-") == 0)
        return read_all(stdin, "standard input", out, len);
    FILE *f = fopen(file, "rb");
    if (!f) {
        cli_error("%s: %s", file, strerror(errno));
        return -1;
    }
    int rc = read_all(f, file, out, len);
    fclose(f);
    return rc;
}

/* ---- formatting one result --------------------------------------------------------------- */

static void format_ids(const struct encode *en, const tv_tokenizer *t, const struct tv_ids *ids,
                       struct cli_buf *out)
{
    if (en->count) {
        cli_buf_printf(out, "%zu\n", ids->n);
        return;
    }
    char piece[256];
    for (size_t i = 0; i < ids->n; i++) {
        if (i)
            cli_buf_append(out, " ", 1);
        if (en->tokens) {
            int n = tv_token_piece(t, ids->ids[i], piece, sizeof piece);
            if (n >= 0)
                cli_buf_puts(out, piece);
            cli_buf_printf(out, "(%u)", ids->ids[i]);
        } else {
            cli_buf_printf(out, "%u", ids->ids[i]);
        }
    }
    cli_buf_append(out, "\n", 1);
}

/* JSON by hand: one line per text, which --lines output needs and cJSON would make
   slow on big inputs. */
static void json_string(struct cli_buf *out, const char *s, size_t len)
{
    cli_buf_append(out, "\"", 1);
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            cli_buf_append(out, esc, 2);
            i++;
        } else if (c < 0x20) {
            cli_buf_printf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            cli_buf_append(out, (const char *)&s[i], 1);
            i++;
        } else {
            /* a whole valid UTF-8 char as it is, any other byte as U+FFFD */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (n > 1 && i + n <= len && cli_utf8_exact(s + i, n)) {
                cli_buf_append(out, s + i, n);
                i += n;
            } else {
                cli_buf_puts(out, "\\ufffd");
                i++;
            }
        }
    }
    cli_buf_append(out, "\"", 1);
}

static void format_json(const tv_tokenizer *t, const struct tv_ids *ids, struct cli_buf *out)
{
    cli_buf_printf(out, "{\"count\":%zu,\"ids\":[", ids->n);
    for (size_t i = 0; i < ids->n; i++)
        cli_buf_printf(out, i ? ",%u" : "%u", ids->ids[i]);
    cli_buf_puts(out, "],\"pieces\":[");
    for (size_t i = 0; i < ids->n; i++) {
        size_t len;
        const char *s = tv_token_text(t, ids->ids[i], &len);
        if (i)
            cli_buf_append(out, ",", 1);
        json_string(out, s ? s : "", s ? len : 0);
    }
    cli_buf_puts(out, "],\"offsets\":[");
    for (size_t i = 0; i < ids->n; i++)
        cli_buf_printf(out, i ? ",[%zu,%zu]" : "[%zu,%zu]", ids->offsets[i].start,
                       ids->offsets[i].end);
    cli_buf_puts(out, "]}\n");
}

static int encode_one(const struct encode *en, tv_tokenizer *t, const char *text, size_t len,
                      struct tv_ids *ids, struct cli_buf *out, tv_error *err)
{
    unsigned flags = en->flags | (en->json ? TV_ENCODE_OFFSETS : 0);
    if (tv_encode(t, text, len, flags, ids, err) < 0)
        return -1;
    if (en->json)
        format_json(t, ids, out);
    else
        format_ids(en, t, ids, out);
    return 0;
}

/* ---- lines, possibly on several threads ------------------------------------------------ */

struct span {
    const char *s;
    size_t len;
};

struct job {
    const struct encode *en;
    tv_tokenizer *t;
    const struct span *lines;
    size_t first, end;      /* lines [first, end) */
    struct cli_buf out;
    tv_error err;
    size_t failed_line;     /* 1-based, 0: none */
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t i = j->first; i < j->end; i++) {
        if (encode_one(j->en, j->t, j->lines[i].s, j->lines[i].len, &ids, &j->out, &j->err) < 0) {
            j->failed_line = i + 1;
            break;
        }
    }
    tv_ids_release(&ids);
    return NULL;
}

static int split_lines(const char *text, size_t len, struct span **out, size_t *n_out)
{
    size_t n = 0, cap = 1024;
    struct span *v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (n == cap) {
            struct span *grown = realloc(v, cap * 2 * sizeof *v);
            if (!grown) {
                free(v);
                return -1;
            }
            v = grown;
            cap *= 2;
        }
        v[n++] = (struct span){text + start, end - start};
        start = end + 1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int encode_lines(const struct encode *en, const tv_model *m, tv_tokenizer *first,
                        const char *text, size_t len)
{
    struct span *lines;
    size_t n;
    if (split_lines(text, len, &lines, &n) < 0) {
        cli_error("out of memory splitting the input into lines");
        return CLI_FAIL;
    }
    unsigned n_jobs = en->threads;
    if (n_jobs > n)
        n_jobs = n ? (unsigned)n : 1;
    /* each job writes its own buffer; chunks keep the memory of one buffer bounded */
    size_t chunk = n_jobs > 1 ? 4096 : n ? n : 1;
    struct job *jobs = calloc(n_jobs, sizeof *jobs);
    pthread_t *tids = calloc(n_jobs, sizeof *tids);
    bool *running = calloc(n_jobs, sizeof *running);
    int rc = CLI_OK;
    if (!jobs || !tids || !running) {
        cli_error("out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    for (unsigned k = 0; k < n_jobs; k++) {
        tv_error err = {0};
        jobs[k].en = en;
        jobs[k].lines = lines;
        jobs[k].t = k == 0 ? first : tv_tokenizer_new(m, &err);
        cli_buf_init(&jobs[k].out);
        if (!jobs[k].t) {
            cli_error("%s", err.message);
            rc = CLI_FAIL;
            goto out;
        }
    }
    for (size_t base = 0; base < n && rc == CLI_OK; base += chunk * n_jobs) {
        for (unsigned k = 0; k < n_jobs; k++) {
            struct job *j = &jobs[k];
            cli_buf_reset(&j->out);
            j->first = base + k * chunk < n ? base + k * chunk : n;
            j->end = j->first + chunk < n ? j->first + chunk : n;
            running[k] = n_jobs > 1 && pthread_create(&tids[k], NULL, run_job, j) == 0;
            if (!running[k])
                run_job(j); /* one job, or no thread to be had: here */
        }
        for (unsigned k = 0; k < n_jobs; k++)
            if (running[k])
                pthread_join(tids[k], NULL);
        for (unsigned k = 0; k < n_jobs && rc == CLI_OK; k++) {
            struct job *j = &jobs[k];
            if (j->out.oom) {
                cli_error("out of memory formatting the output");
                rc = CLI_FAIL;
            }
            fwrite(j->out.ptr, 1, j->out.len, stdout);
            if (j->failed_line) {
                cli_error("line %zu: %s", j->failed_line, j->err.message);
                rc = CLI_FAIL;
            }
        }
    }
out:
    if (jobs)
        for (unsigned k = 0; k < n_jobs; k++) {
            if (k > 0)
                tv_tokenizer_free(jobs[k].t);
            cli_buf_release(&jobs[k].out);
        }
    free(jobs);
    free(tids);
    free(running);
    free(lines);
    return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

int cmd_encode(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},
        {"lines", no_argument, NULL, OPT_LINES},
        {"add-special", no_argument, NULL, OPT_ADD_SPECIAL},
        {"no-parse-special", no_argument, NULL, OPT_NO_PARSE_SPECIAL},
        {"tokens", no_argument, NULL, OPT_TOKENS},
        {"json", no_argument, NULL, OPT_JSON},
        {"count", no_argument, NULL, OPT_COUNT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"help", no_argument, NULL, 'h'},
        CLI_OPEN_LONGOPTS,
        {0},
    };
    struct encode en = {.threads = 1};
    int c;
    while ((c = cli_getopt(argc, argv, "f:h", longopts)) != -1) {
        int shared = cli_open_option(&en.open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared)
            continue;
        switch (c) {
        case 'f': en.file = optarg; break;
        case OPT_LINES: en.lines = true; break;
        case OPT_ADD_SPECIAL: en.flags |= TV_ENCODE_ADD_SPECIAL; break;
        case OPT_NO_PARSE_SPECIAL: en.flags |= TV_ENCODE_NO_PARSE_SPECIAL; break;
        case OPT_TOKENS: en.tokens = true; break;
        case OPT_JSON: en.json = true; break;
        case OPT_COUNT: en.count = true; break;
        case OPT_THREADS: {
            uint64_t n;
            if (cli_parse_u64(optarg, &n) < 0 || n < 1 || n > 256) {
                cli_error("encode: --threads wants a number from 1 to 256, not '%s'", optarg);
                return CLI_USAGE;
            }
            en.threads = (unsigned)n;
            break;
        }
        case 'h': fputs(usage, stdout); return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    int rest = argc - optind;
    if (rest < 1 || rest > 2) {
        cli_error("encode: %s (see tokvec encode --help)",
                  rest < 1 ? "missing MODEL" : "too many arguments: quote a TEXT with spaces");
        return CLI_USAGE;
    }
    if (rest == 2 && en.file) {
        cli_error("encode: give a TEXT or -f FILE, not both");
        return CLI_USAGE;
    }
    if ((en.tokens && en.json) || (en.count && (en.tokens || en.json))) {
        cli_error("encode: --tokens, --count and --json are alternatives");
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    tv_model *m = cli_open_model(path, &en.open, NULL);
    if (!m)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    char *input = NULL;
    size_t input_len = 0;
    tv_error err = {0};
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (!t) {
        cli_error("%s", err.message);
        goto out;
    }
    if (rest == 2) {
        input_len = strlen(argv[optind + 1]);
        input = malloc(input_len + 1);
        if (!input) {
            cli_error("out of memory");
            goto out;
        }
        memcpy(input, argv[optind + 1], input_len + 1);
    } else if (read_input(en.file, &input, &input_len) < 0) {
        goto out;
    }
    if (en.lines) {
        rc = encode_lines(&en, m, t, input, input_len);
    } else {
        struct tv_ids ids;
        struct cli_buf out;
        tv_ids_init(&ids);
        cli_buf_init(&out);
        if (encode_one(&en, t, input, input_len, &ids, &out, &err) < 0) {
            cli_error("%s", err.message);
        } else if (out.oom) {
            cli_error("out of memory formatting the output");
        } else {
            fwrite(out.ptr, 1, out.len, stdout);
            rc = CLI_OK;
        }
        cli_buf_release(&out);
        tv_ids_release(&ids);
    }
out:
    free(input);
    tv_tokenizer_free(t);
    tv_model_free(m);
    return rc;
}
