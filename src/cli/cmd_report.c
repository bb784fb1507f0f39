/*
 * tokvec report PATH... -o FILE: a one-page, self-contained HTML report of a model's
 * vocabulary and embedding (report_html.c), or with --json the same numbers as data.
 * Several PATHs are one model, as for verify. The numbers come from the library
 * (tv_report_new, include/tokvec/report.h); this file parses options, builds the JSON
 * and writes the output atomically (a temporary file renamed into place).
 *
 * Exit codes: 0 the report was written, 1 the model could not be opened or the output
 * not written, 2 usage error. A model that fails verify still gets its report (exit 0):
 * the failures are in it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embed_cli.h"
#include "inspect_summary.h"
#include "report_cli.h"

enum {
    OPT_JSON = CLI_OPT_COMMAND,
    OPT_WORDS,
    OPT_LONGEST,
    OPT_BINS,
    OPT_NO_VERIFY,
};

#define MAX_WORDS 1000

static const char usage[] =
    "usage: tokvec report [options] PATH... -o FILE\n"
    "\n"
    "Writes a one-page HTML report of a model's vocabulary and embedding: the summary\n"
    "inspect shows, the results of verify, the tensors by size and where the bytes go,\n"
    "tokens by type, length and Unicode script, the longest tokens, a histogram of the\n"
    "embedding's row norms with low-norm outliers, NaN and zero rows, and a 2-D PCA map\n"
    "of a word list. One self-contained file: it opens offline in any browser. Several\n"
    "PATHs are one model (a GGUF plus a tokenizer.json, ...).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE           where to write (replaced atomically); - for stdout\n"
    "      --json                  the same numbers as one JSON document (schema in\n"
    "                              README.md); to stdout when -o is not given\n"
    "      --words LIST            comma-separated words for the map (default: apple,\n"
    "                              banana, orange, grape, king, queen, man, woman, ...)\n"
    "      --longest N             how many of the longest tokens to list (default 20)\n"
    "      --bins N                bins of the norm histogram (default 40, 1 to 1000)\n"
    "      --no-verify             leave verify's checks out (one pass less over the rows)\n"
    CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 the report was written, 1 the model could not be read or the output\n"
    "not written, 2 usage error\n";

/* Splits a comma-separated list into words (spaces around each trimmed, empty entries
   skipped). The words point into the copy *storage. Returns the count, or -1 (reported). */
static long split_words(const char *arg, char **storage, const char ***words)
{
    *storage = tv_strdup(arg);
    *words = tv_calloc(MAX_WORDS, sizeof **words);
    if (!*storage || !*words) {
        cli_error("report: out of memory");
        return -1;
    }
    long n = 0;
    for (char *p = *storage; p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            p[--len] = '\0';
        if (len) {
            if (n == MAX_WORDS) {
                cli_error("report: --words: more than %d words", MAX_WORDS);
                return -1;
            }
            (*words)[n++] = p;
        }
        p = comma ? comma + 1 : NULL;
    }
    if (!n) {
        cli_error("report: --words '%s': no words", cli_escaped(arg, strlen(arg), 0, 80));
        return -1;
    }
    return n;
}

/* ---- JSON ---------------------------------------------------------------------------- */

#define JSON_OK(x) ((x) != NULL)

static bool add_number(cJSON *o, const char *key, double v)
{
    return JSON_OK(isfinite(v) ? cJSON_AddNumberToObject(o, key, embed_round9(v))
                               : cJSON_AddNullToObject(o, key));
}

static bool add_counts(cJSON *o, const char *key, const uint64_t *counts, size_t n)
{
    cJSON *list = cJSON_AddArrayToObject(o, key);
    bool ok = JSON_OK(list);
    for (size_t i = 0; ok && i < n; i++)
        ok &= cJSON_AddItemToArray(list, cJSON_CreateNumber((double)counts[i]));
    return ok;
}

/* "token" (the bytes as spelled in the vocabulary) and "piece" (as people read it). */
static bool add_token(cJSON *o, const tv_model *m, const struct tv_report *r, uint64_t id)
{
    const struct tv_token *t = id <= UINT32_MAX ? tv_vocab_token(m, (uint32_t)id) : NULL;
    if (!t || !t->text)
        return JSON_OK(cJSON_AddNullToObject(o, "token")) &&
               JSON_OK(cJSON_AddNullToObject(o, "piece"));
    char piece[512];
    int n = tv_report_token_piece(r, (uint32_t)id, piece, sizeof piece);
    return cli_json_add_bytes(o, "token", t->text, t->len) == 0 &&
           JSON_OK(n >= 0 ? cJSON_AddStringToObject(o, "piece", piece)
                          : cJSON_AddNullToObject(o, "piece"));
}

static void summary_json_line(void *ctx, const char *label, const char *text)
{
    cJSON *list = ctx;
    cJSON *line = cJSON_CreateObject();
    if (!line || !cJSON_AddItemToArray(list, line)) {
        cJSON_Delete(line);
        return;
    }
    if (label)
        cJSON_AddStringToObject(line, "label", label);
    else
        cJSON_AddNullToObject(line, "label");
    cJSON_AddStringToObject(line, "text", text);
}

static cJSON *json_rows(const tv_model *m, const struct tv_report *r,
                        const struct tv_report_row *rows, size_t n, bool norms)
{
    cJSON *list = cJSON_CreateArray();
    bool ok = JSON_OK(list);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        ok &= JSON_OK(o) && cJSON_AddItemToArray(list, o);
        ok &= JSON_OK(cli_json_add_u64(o, "row", rows[i].row));
        if (norms)
            ok &= add_number(o, "norm", rows[i].norm);
        ok &= r->rows_are_tokens && rows[i].token ? add_token(o, m, r, rows[i].row)
                                                  : JSON_OK(cJSON_AddNullToObject(o, "token"));
    }
    if (!ok) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}

static bool json_length(cJSON *o, const char *key, const struct tv_length_histogram *h)
{
    cJSON *lo = cJSON_AddObjectToObject(o, key);
    return JSON_OK(lo) && add_counts(lo, "counts", h->counts, h->n_bins) &&
           JSON_OK(cli_json_add_u64(lo, "longest", h->longest)) &&
           JSON_OK(cJSON_AddBoolToObject(lo, "last_bin_open", h->longest + 1 > h->n_bins));
}

static cJSON *json_document(const tv_model *m, const char *path, const struct tv_report *r)
{
    char shape[256];
    cJSON *doc = cJSON_CreateObject();
    bool ok = JSON_OK(doc);
    ok &= JSON_OK(cJSON_AddStringToObject(doc, "path", path));
    ok &= JSON_OK(cJSON_AddStringToObject(doc, "kind", tv_model_kind(m)));
    cJSON *files = cJSON_AddArrayToObject(doc, "files");
    ok &= JSON_OK(files);
    for (size_t i = 0; ok && i < tv_model_file_count(m); i++)
        ok &= cJSON_AddItemToArray(files, cJSON_CreateString(tv_model_file(m, i)));
    cJSON *summary = cJSON_AddArrayToObject(doc, "summary");
    ok &= JSON_OK(summary);
    if (ok)
        inspect_summary_lines(m, summary_json_line, summary);

    /* verify: its own JSON document, as `tokvec verify --json` prints it */
    if (r->verify) {
        tv_error err = {0};
        char *text = tv_verify_report_json(r->verify, &err);
        cJSON *v = text ? cJSON_Parse(text) : NULL;
        tv_verify_string_free(text);
        ok &= JSON_OK(v) && cJSON_AddItemToObject(doc, "verify", v);
    } else {
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "verify"));
    }

    cJSON *t = cJSON_AddObjectToObject(doc, "tensors");
    ok &= JSON_OK(t);
    ok &= JSON_OK(cJSON_AddNumberToObject(t, "count", (double)r->n_tensors));
    ok &= JSON_OK(cli_json_add_u64(t, "bytes", r->total_bytes));
    cJSON *parts = cJSON_AddArrayToObject(t, "parts");
    ok &= JSON_OK(parts);
    for (int p = 0; ok && p < TV_PART_COUNT; p++) {
        cJSON *po = cJSON_CreateObject();
        ok &= JSON_OK(po) && cJSON_AddItemToArray(parts, po);
        ok &= JSON_OK(cJSON_AddStringToObject(po, "part", tv_tensor_part_name((enum tv_tensor_part)p)));
        ok &= JSON_OK(cli_json_add_u64(po, "tensors", r->part_tensors[p]));
        ok &= JSON_OK(cli_json_add_u64(po, "bytes", r->part_bytes[p]));
    }
    cJSON *list = cJSON_AddArrayToObject(t, "by_size");
    ok &= JSON_OK(list);
    for (size_t k = 0; ok && k < r->n_tensors; k++) {
        size_t i = r->by_size[k];
        const struct tv_tensor *tt = tv_model_tensor(m, i);
        cJSON *to = cJSON_CreateObject();
        ok &= JSON_OK(to) && cJSON_AddItemToArray(list, to);
        ok &= JSON_OK(cJSON_AddNumberToObject(to, "index", (double)i));
        ok &= cli_json_add_bytes(to, "name", tt->name, strlen(tt->name)) == 0;
        ok &= JSON_OK(cJSON_AddStringToObject(to, "part",
                                              tv_tensor_part_name((enum tv_tensor_part)r->part[i])));
        ok &= JSON_OK(cJSON_AddStringToObject(to, "dtype", tv_dtype_name(tt->dtype)));
        ok &= JSON_OK(cJSON_AddStringToObject(to, "shape", cli_shape(tt, shape)));
        ok &= JSON_OK(cli_json_add_u64(to, "bytes", tt->n_bytes));
    }

    if (r->vocab_tokens) {
        cJSON *v = cJSON_AddObjectToObject(doc, "vocabulary");
        ok &= JSON_OK(v);
        ok &= JSON_OK(cJSON_AddNumberToObject(v, "ids", (double)r->vocab_ids));
        ok &= JSON_OK(cJSON_AddNumberToObject(v, "tokens", (double)r->vocab_tokens));
        cJSON *types = cJSON_AddObjectToObject(v, "types");
        ok &= JSON_OK(types);
        for (int k = 0; ok && k <= TV_TOKEN_BYTE; k++)
            ok &= JSON_OK(cJSON_AddNumberToObject(types, tv_token_type_name(k),
                                                  (double)r->by_type[k]));
        ok &= json_length(v, "length_bytes", &r->length_bytes);
        ok &= json_length(v, "length_chars", &r->length_chars);
        cJSON *scripts = cJSON_AddObjectToObject(v, "scripts");
        ok &= JSON_OK(scripts);
        for (int s = 0; ok && s < TV_SCRIPT_COUNT; s++)
            if (r->by_script[s])
                ok &= JSON_OK(cJSON_AddNumberToObject(scripts, tv_script_name((enum tv_script)s),
                                                      (double)r->by_script[s]));
        cJSON *longest = cJSON_AddArrayToObject(v, "longest");
        ok &= JSON_OK(longest);
        for (size_t i = 0; ok && i < r->n_longest; i++) {
            cJSON *lo = cJSON_CreateObject();
            ok &= JSON_OK(lo) && cJSON_AddItemToArray(longest, lo);
            ok &= JSON_OK(cJSON_AddNumberToObject(lo, "id", r->longest[i].id));
            ok &= add_token(lo, m, r, r->longest[i].id);
            ok &= JSON_OK(cJSON_AddNumberToObject(lo, "bytes", r->longest[i].bytes));
            ok &= JSON_OK(cJSON_AddNumberToObject(lo, "chars", r->longest[i].chars));
        }
    } else {
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "vocabulary"));
    }

    if (r->embedding) {
        const struct tv_tensor *e = r->embedding;
        cJSON *eo = cJSON_AddObjectToObject(doc, "embedding");
        ok &= JSON_OK(eo);
        ok &= cli_json_add_bytes(eo, "name", e->name, strlen(e->name)) == 0;
        ok &= JSON_OK(cJSON_AddStringToObject(eo, "dtype", tv_dtype_name(e->dtype)));
        ok &= JSON_OK(cJSON_AddBoolToObject(eo, "judged", r->rows_judged));
        ok &= JSON_OK(r->rows_judged ? cJSON_AddNullToObject(eo, "why")
                                     : cJSON_AddStringToObject(eo, "why", r->embedding_why));
        if (r->rows_judged) {
            ok &= JSON_OK(cli_json_add_u64(eo, "rows", r->rows));
            ok &= JSON_OK(cli_json_add_u64(eo, "cols", r->cols));
            ok &= JSON_OK(cJSON_AddBoolToObject(eo, "rows_are_tokens", r->rows_are_tokens));
            cJSON *h = cJSON_AddObjectToObject(eo, "norms");
            ok &= JSON_OK(h) && add_number(h, "lo", r->norms.lo) && add_number(h, "hi", r->norms.hi);
            ok &= add_counts(h, "counts", r->norms.counts, r->norms.n_bins);
            ok &= add_counts(h, "low", r->norms.marked, r->norms.n_bins);
            cJSON *rule = cJSON_AddObjectToObject(eo, "low_norm_rule");
            ok &= JSON_OK(rule) && JSON_OK(cJSON_AddBoolToObject(rule, "applied", r->low_rule));
            if (r->low_rule)
                ok &= add_number(rule, "median", r->median_norm) && add_number(rule, "mad", r->mad) &&
                      add_number(rule, "below", r->low_below);
            ok &= JSON_OK(cli_json_add_u64(eo, "rows_low", r->rows_low));
            ok &= JSON_OK(cli_json_add_u64(eo, "rows_nonfinite", r->rows_nonfinite));
            ok &= JSON_OK(cli_json_add_u64(eo, "rows_nan", r->rows_nan));
            ok &= JSON_OK(cli_json_add_u64(eo, "rows_zero", r->rows_zero));
            ok &= cJSON_AddItemToObject(eo, "low", json_rows(m, r, r->low, r->n_low, true));
            ok &= cJSON_AddItemToObject(eo, "nonfinite",
                                        json_rows(m, r, r->nonfinite, r->n_nonfinite, false));
            ok &= cJSON_AddItemToObject(eo, "zero", json_rows(m, r, r->zero, r->n_zero, false));
        }
    } else {
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "embedding"));
    }

    cJSON *map = cJSON_AddObjectToObject(doc, "map");
    ok &= JSON_OK(map);
    ok &= JSON_OK(cJSON_AddBoolToObject(map, "drawn", r->has_map));
    ok &= JSON_OK(r->has_map ? cJSON_AddNullToObject(map, "why")
                             : cJSON_AddStringToObject(map, "why", r->map_why));
    ok &= JSON_OK(r->tokenizer_why ? cJSON_AddStringToObject(map, "no_tokenizer", r->tokenizer_why)
                                   : cJSON_AddNullToObject(map, "no_tokenizer"));
    ok &= JSON_OK(cJSON_AddNumberToObject(map, "placed", (double)r->n_placed));
    cJSON *explained = cJSON_AddArrayToObject(map, "explained");
    ok &= JSON_OK(explained);
    for (int k = 0; ok && k < 2; k++)
        ok &= cJSON_AddItemToArray(explained, cJSON_CreateNumber(embed_round9(r->explained[k])));
    cJSON *words = cJSON_AddArrayToObject(map, "words");
    ok &= JSON_OK(words);
    static const char *const hows[] = {"token", "tokens", "missing"};
    for (size_t i = 0; ok && i < r->n_words; i++) {
        const struct tv_report_word *w = &r->words[i];
        cJSON *wo = cJSON_CreateObject();
        ok &= JSON_OK(wo) && cJSON_AddItemToArray(words, wo);
        ok &= cli_json_add_bytes(wo, "word", w->word, strlen(w->word)) == 0;
        ok &= JSON_OK(cJSON_AddStringToObject(wo, "how", hows[w->how]));
        cJSON *ids = cJSON_AddArrayToObject(wo, "ids");
        ok &= JSON_OK(ids);
        for (size_t k = 0; ok && k < w->n_ids; k++)
            ok &= cJSON_AddItemToArray(ids, cJSON_CreateNumber(w->ids[k]));
        if (w->how == TV_WORD_MISSING) {
            ok &= cli_json_add_bytes(wo, "why", w->why ? w->why : "?",
                                     strlen(w->why ? w->why : "?")) == 0;
        } else if (r->has_map) {
            ok &= add_number(wo, "x", w->x) && add_number(wo, "y", w->y);
        }
    }
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* ---- output --------------------------------------------------------------------------- */

/* Writes text to path atomically, or to stdout for "-". Returns CLI_OK or CLI_FAIL. */
static int write_output(const char *path, const char *text, size_t len)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(text, 1, len, stdout) != len) {
            cli_error("report: error writing to stdout");
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    tv_error err = {0};
    tv_out *out = tv_out_open(path, true, &err);
    if (out && tv_out_write(out, text, len, &err) < 0) {
        tv_out_abort(out);
        out = NULL;
    }
    if (!out || tv_out_commit(out, &err) < 0) { /* commit frees out, failed or not */
        cli_error("report: %s", err.message);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"words", required_argument, NULL, OPT_WORDS},
        {"longest", required_argument, NULL, OPT_LONGEST},
        {"bins", required_argument, NULL, OPT_BINS},
        {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
        CLI_OPEN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    struct tv_report_options ropt;
    tv_report_options_init(&ropt);
    const char *output = NULL;
    bool json = false;
    char *word_storage = NULL;
    const char **words = NULL;
    tv_model *m = NULL;
    struct tv_report *r = NULL;
    cJSON *doc = NULL;
    char *text = NULL;
    struct cli_buf html;
    cli_buf_init(&html);
    tv_error err = {0};
    int rc = CLI_USAGE, c;
    uint64_t n;
    while ((c = cli_getopt(argc, argv, "ho:", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            goto out;
        if (shared > 0)
            continue;
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_NO_VERIFY: ropt.run_verify = false; break;
        case OPT_WORDS: {
            tv_free(word_storage);
            tv_free(words);
            long count = split_words(optarg, &word_storage, &words);
            if (count < 0)
                goto out;
            ropt.words = words;
            ropt.n_words = (size_t)count;
            break;
        }
        case OPT_LONGEST:
            if (cli_parse_u64(optarg, &n) < 0 || n > 10000) {
                cli_error("report: --longest '%s': expected a number from 0 to 10000",
                          cli_escaped(optarg, strlen(optarg), 0, 40));
                goto out;
            }
            ropt.longest = (size_t)n;
            break;
        case OPT_BINS:
            if (cli_parse_u64(optarg, &n) < 0 || n < 1 || n > 1000) {
                cli_error("report: --bins '%s': expected a number from 1 to 1000",
                          cli_escaped(optarg, strlen(optarg), 0, 40));
                goto out;
            }
            ropt.norm_bins = (size_t)n;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = CLI_OK;
            goto out;
        default:
            goto out;
        }
    }
    if (optind >= argc) {
        cli_error("report: no PATH given (usage: tokvec report [options] PATH... -o FILE)");
        goto out;
    }
    if (!output && !json) {
        cli_error("report: no output: give -o FILE (or -o - for stdout)");
        goto out;
    }
    if (output && !*output) {
        cli_error("report: -o needs a file name");
        goto out;
    }
    const char *path = argv[optind];
    rc = CLI_FAIL;
    if (argc - optind == 1) {
        m = cli_open_model(path, &open, NULL);
    } else {
        m = tv_model_open_many((const char *const *)argv + optind, (size_t)(argc - optind),
                               &open, &err);
        if (!m)
            cli_error("report: %s", err.message[0] ? err.message : tv_status_name(err.code));
    }
    if (!m)
        goto out;
    r = tv_report_new(m, &ropt, &err);
    if (!r) {
        cli_error("report: %s: %s", path, err.message);
        goto out;
    }
    if (json) {
        doc = json_document(m, path, r);
        text = doc ? cJSON_PrintUnformatted(doc) : NULL;
        if (!text) {
            cli_error("report: out of memory building JSON");
            goto out;
        }
        size_t len = strlen(text);
        text[len] = '\0';
        if (!output || strcmp(output, "-") == 0) {
            puts(text);
            rc = CLI_OK;
        } else {
            /* the file ends with a newline like stdout does */
            struct cli_buf file;
            cli_buf_init(&file);
            cli_buf_append(&file, text, len);
            cli_buf_puts(&file, "\n");
            rc = file.oom ? CLI_FAIL : write_output(output, file.ptr, file.len);
            if (file.oom)
                cli_error("report: out of memory");
            cli_buf_release(&file);
        }
    } else {
        report_html(&html, m, path, r);
        if (html.oom) {
            cli_error("report: out of memory building the page");
            goto out;
        }
        rc = write_output(output, html.ptr, html.len);
    }
out:
    if (text)
        cJSON_free(text);
    cJSON_Delete(doc);
    cli_buf_release(&html);
    tv_report_free(r);
    tv_model_free(m);
    tv_free(word_storage);
    tv_free(words);
    return rc;
}
