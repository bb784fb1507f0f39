/*
 * tokvec inspect PATH...: what is in a model file or folder, at a glance.
 *
 * For each path one block (or one JSON document with --json):
 *   header        the path, what it is, the files read
 *   architecture  config.json model_type / architectures[0], or GGUF general.architecture
 *   vocabulary    ids, tokenizer kind, byte-level / byte-fallback, merges, added tokens,
 *                 special tokens with their text
 *   tokenizer     normalizer, pre-tokenizer, post-processor, decoder (tokenizer.json);
 *                 ggml model and pre (GGUF)
 *   embedding     the token-embedding tensor: name, rows x cols, dtype, bytes
 *   tensors       count, parameters, bytes, dtypes
 *   claims        every number a source states (vocab_size, hidden size, special ids)
 *   other vocab   secondary vocabularies (vocab.json next to tokenizer.json, ...)
 *   warning       problems the readers noticed without failing
 * and on request every tensor (--tensors), every key/value (--metadata) and a range
 * of tokens (--tokens). Only headers are read: time and memory do not grow with the
 * size of the tensor data.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "inspect_summary.h"

enum {
    OPT_TENSORS = CLI_OPT_COMMAND,
    OPT_METADATA,
    OPT_TOKENS,
    OPT_JSON,
    OPT_FULL,
};

static const char usage[] =
    "usage: tokvec inspect [options] PATH...\n"
    "\n"
    "Shows what is in model files and folders: the format and files, architecture,\n"
    "vocabulary, token embedding, tensors, the numbers each source claims, and the\n"
    "problems the readers noticed. PATH is a .gguf, .safetensors, tokenizer.json,\n"
    "vocab.json, vocab.txt file or a Hugging Face model folder; several paths print\n"
    "one block each. Only headers are read.\n"
    "\n"
    "options:\n"
    "      --tensors               every tensor: name, dtype, shape, bytes, offset, file\n"
    "      --metadata              every metadata key/value with its type\n"
    "      --tokens [A-B]          tokens A to B inclusive (default 0-19; \"A-\" runs to\n"
    "                              the end, \"A\" is one token) with type, score, flags\n"
    "      --full                  do not abbreviate long arrays and strings; with\n"
    "                              --tokens and no range, every token\n"
    "      --json                  one JSON document per path (schema in README.md)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 every path was read, 1 a path could not be read, 2 usage error\n";

#define DEFAULT_TOKEN_COUNT 20
#define ABBREV_ARRAY_OVER 8   /* arrays longer than this are abbreviated */
#define ABBREV_ARRAY_SHOW 3   /* ... to this many elements */
#define ABBREV_STRING 100     /* strings cut to this many display bytes */
#define ABBREV_ELEMENT 40     /* strings inside arrays cut to this many */
#define JSON_ARRAY_SHOW 16    /* JSON metadata arrays keep this many without --full */

struct inspect {
    struct tv_open_options open;
    bool tensors, metadata, tokens, json, full;
    bool range_given, range_open; /* "A-": to the end */
    uint64_t first, last;
};

/* ---- option parsing -------------------------------------------------------------- */

/* "A", "A-B" or "A-". Returns 0, or -1 when malformed or A > B. */
static int parse_range(const char *s, struct inspect *in)
{
    char head[32];
    const char *dash = strchr(s, '-');
    size_t head_len = dash ? (size_t)(dash - s) : strlen(s);
    if (head_len == 0 || head_len >= sizeof head)
        return -1;
    memcpy(head, s, head_len);
    head[head_len] = '\0';
    if (cli_parse_u64(head, &in->first) < 0)
        return -1;
    in->range_open = false;
    if (!dash)
        in->last = in->first;
    else if (!dash[1])
        in->range_open = true;
    else if (cli_parse_u64(dash + 1, &in->last) < 0 || in->last < in->first)
        return -1;
    in->range_given = true;
    return 0;
}

/* Whether a word after a bare --tokens is its range rather than a path. */
static bool looks_like_range(const char *s)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    int dashes = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-')
            dashes++;
        else if (*p < '0' || *p > '9')
            return false;
    }
    struct stat st;
    return dashes <= 1 && stat(s, &st) != 0;
}

/* ---- facts about the model ---------------------------------------------------------- */

static const char *claim_kind_name(enum tv_claim_kind kind)
{
    switch (kind) {
    case TV_CLAIM_VOCAB_SIZE: return "vocab_size";
    case TV_CLAIM_HIDDEN_DIM: return "hidden_dim";
    case TV_CLAIM_SPECIAL_ID: return "special_id";
    case TV_CLAIM_TIED: return "tied";
    case TV_CLAIM_KIND_COUNT: break;
    }
    return "?";
}

static const char *origin_name(enum tv_origin origin)
{
    switch (origin) {
    case TV_ORIGIN_GGUF: return "gguf";
    case TV_ORIGIN_SAFETENSORS: return "safetensors";
    case TV_ORIGIN_CONFIG: return "config";
    case TV_ORIGIN_TOKENIZER_CONFIG: return "tokenizer_config";
    case TV_ORIGIN_GENERATION_CONFIG: return "generation_config";
    case TV_ORIGIN_OTHER: break;
    }
    return "other";
}

/* ---- values ----------------------------------------------------------------------------- */

static void format_double(struct cli_buf *b, double d, bool single)
{
    char s[48];
    if (!isfinite(d)) {
        cli_buf_puts(b, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
        return;
    }
    /* the shortest text that reads back as the same value */
    for (int p = single ? 6 : 15; p <= (single ? 9 : 17); p++) {
        snprintf(s, sizeof s, "%.*g", p, d);
        double back = strtod(s, NULL);
        if (single ? (float)back == (float)d : back == d)
            break;
    }
    cli_buf_puts(b, s);
}

static void format_scalar(struct cli_buf *b, const struct tv_value *v)
{
    switch (v->type) {
    case TV_VALUE_BOOL:
        cli_buf_puts(b, v->as.u ? "true" : "false");
        break;
    case TV_VALUE_U8: case TV_VALUE_U16: case TV_VALUE_U32: case TV_VALUE_U64:
        cli_buf_printf(b, "%llu", (unsigned long long)v->as.u);
        break;
    case TV_VALUE_I8: case TV_VALUE_I16: case TV_VALUE_I32: case TV_VALUE_I64:
        cli_buf_printf(b, "%lld", (long long)v->as.i);
        break;
    case TV_VALUE_F32: case TV_VALUE_F64:
        format_double(b, v->as.f, v->type == TV_VALUE_F32);
        break;
    default:
        cli_buf_puts(b, "?");
    }
}

static void format_string(struct cli_buf *b, const struct tv_str *s, size_t max_chars)
{
    cli_buf_puts(b, "\"");
    cli_buf_puts(b, cli_escaped(s->ptr, (size_t)s->len, CLI_ESCAPE_QUOTE, max_chars));
    cli_buf_puts(b, "\"");
}

/* Element i of an array as a value (numbers read through the array accessors). */
static int array_element(const struct tv_array *a, uint64_t i, struct tv_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = a->elem_type;
    if (a->elem_type == TV_VALUE_STRING) {
        out->as.str = ((const struct tv_str *)a->data)[i];
        return 0;
    }
    if (a->elem_type == TV_VALUE_ARRAY) {
        *out = ((const struct tv_value *)a->data)[i];
        return 0;
    }
    switch (a->elem_type) {
    case TV_VALUE_F32: case TV_VALUE_F64:
        return tv_array_float(a, i, &out->as.f);
    case TV_VALUE_U64: {
        /* read as two halves: tv_array_int refuses values above INT64_MAX */
        const uint8_t *p = (const uint8_t *)a->data + i * 8;
        out->as.u = tv_le64(p);
        return 0;
    }
    case TV_VALUE_U8: case TV_VALUE_U16: case TV_VALUE_U32: case TV_VALUE_BOOL: {
        int64_t x;
        if (tv_array_int(a, i, &x) < 0)
            return -1;
        out->as.u = (uint64_t)x;
        return 0;
    }
    default:
        return tv_array_int(a, i, &out->as.i);
    }
}

static void format_value(struct cli_buf *b, const struct tv_value *v, bool full, int depth)
{
    if (v->type == TV_VALUE_STRING) {
        format_string(b, &v->as.str, full ? 0 : ABBREV_STRING);
        if (!full && v->as.str.len > ABBREV_STRING)
            cli_buf_printf(b, " (%llu bytes)", (unsigned long long)v->as.str.len);
        return;
    }
    if (v->type != TV_VALUE_ARRAY) {
        format_scalar(b, v);
        return;
    }
    const struct tv_array *a = &v->as.arr;
    uint64_t shown = a->n;
    if (!full && a->n > ABBREV_ARRAY_OVER)
        shown = ABBREV_ARRAY_SHOW;
    cli_buf_printf(b, "[%llu %s%s%s", (unsigned long long)a->n, tv_value_type_name(a->elem_type),
                   a->n == 1 ? "" : "s", a->n ? ": " : "");
    for (uint64_t i = 0; i < shown; i++) {
        struct tv_value e;
        if (i)
            cli_buf_puts(b, ", ");
        if (array_element(a, i, &e) < 0) {
            cli_buf_puts(b, "?");
        } else if (e.type == TV_VALUE_STRING) {
            format_string(b, &e.as.str, full ? 0 : ABBREV_ELEMENT);
        } else if (e.type == TV_VALUE_ARRAY && depth > TV_GGUF_MAX_ARRAY_DEPTH) {
            cli_buf_puts(b, "[...]");
        } else {
            format_value(b, &e, full, depth + 1);
        }
    }
    cli_buf_puts(b, shown < a->n ? ", ... ]" : "]");
}

static cJSON *json_number_i64(int64_t x)
{
    if (x > (1LL << 53) || x < -(1LL << 53)) {
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)x);
        return cJSON_CreateString(text);
    }
    return cJSON_CreateNumber((double)x);
}

static cJSON *json_number_u64(uint64_t x)
{
    if (x > (1ULL << 53)) {
        char text[32];
        snprintf(text, sizeof text, "%llu", (unsigned long long)x);
        return cJSON_CreateString(text);
    }
    return cJSON_CreateNumber((double)x);
}

/* The JSON form of a string: exact when it can be, else U+FFFD for bad bytes. */
static cJSON *json_string(const char *bytes, size_t len)
{
    cJSON *holder = cJSON_CreateObject();
    if (!holder || cli_json_add_bytes(holder, "s", bytes, len) < 0) {
        cJSON_Delete(holder);
        return NULL;
    }
    cJSON *s = cJSON_DetachItemFromObjectCaseSensitive(holder, "s");
    cJSON_Delete(holder);
    return s;
}

static cJSON *json_value(const struct tv_value *v, bool full, int depth)
{
    switch (v->type) {
    case TV_VALUE_BOOL:
        return cJSON_CreateBool(v->as.u != 0);
    case TV_VALUE_U8: case TV_VALUE_U16: case TV_VALUE_U32: case TV_VALUE_U64:
        return json_number_u64(v->as.u);
    case TV_VALUE_I8: case TV_VALUE_I16: case TV_VALUE_I32: case TV_VALUE_I64:
        return json_number_i64(v->as.i);
    case TV_VALUE_F32: case TV_VALUE_F64:
        return cJSON_CreateNumber(v->as.f);
    case TV_VALUE_STRING:
        return json_string(v->as.str.ptr, (size_t)v->as.str.len);
    case TV_VALUE_ARRAY: {
        const struct tv_array *a = &v->as.arr;
        cJSON *list = cJSON_CreateArray();
        uint64_t shown = full || a->n <= JSON_ARRAY_SHOW ? a->n : JSON_ARRAY_SHOW;
        for (uint64_t i = 0; list && i < shown; i++) {
            struct tv_value e;
            cJSON *item = NULL;
            if (array_element(a, i, &e) == 0 &&
                (e.type != TV_VALUE_ARRAY || depth <= TV_GGUF_MAX_ARRAY_DEPTH))
                item = json_value(&e, full, depth + 1);
            else
                item = cJSON_CreateNull();
            if (!item || !cJSON_AddItemToArray(list, item)) {
                cJSON_Delete(item);
                cJSON_Delete(list);
                return NULL;
            }
        }
        return list;
    }
    default:
        return cJSON_CreateNull();
    }
}

/* ---- text output -------------------------------------------------------------------------- */

#define LABEL "  %-14s "
#define INDENT "                 " /* continuation lines line up with the values */

static void print_header(const tv_model *m, const char *path)
{
    struct cli_buf b;
    cli_buf_init(&b);
    cli_buf_puts(&b, cli_escaped(path, strlen(path), 0, 0));
    size_t n = strlen(path);
    struct stat st;
    if (n && path[n - 1] != '/' && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        cli_buf_puts(&b, "/");
    cli_buf_printf(&b, "  (%s", tv_model_kind(m));
    /* a single file names itself; list the files of folders and of several sources */
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    size_t n_files = tv_model_file_count(m);
    if (!(n_files == 1 && strcmp(tv_model_file(m, 0), base) == 0)) {
        for (size_t i = 0; i < n_files; i++)
            cli_buf_printf(&b, "%s%s", i ? ", " : ": ",
                           cli_escaped(tv_model_file(m, i), strlen(tv_model_file(m, i)), 0, 0));
    }
    cli_buf_puts(&b, ")");
    puts(b.ptr);
    cli_buf_release(&b);
}

static void print_summary_line(void *ctx, const char *label, const char *text)
{
    (void)ctx;
    if (label)
        printf(LABEL "%s\n", label, text);
    else
        printf(INDENT "%s\n", text);
}

static void print_summary(const tv_model *m)
{
    inspect_summary_lines(m, print_summary_line, NULL);
}

static void print_tensors(const tv_model *m)
{
    size_t n = tv_model_tensor_count(m);
    int name_w = 4, dtype_w = 5, shape_w = 5, bytes_w = 5, offset_w = 6;
    char shape[256], num[32];
    for (size_t i = 0; i < n; i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        int w = (int)strlen(cli_escaped(t->name, strlen(t->name), 0, 0));
        name_w = w > name_w ? (w > 64 ? 64 : w) : name_w;
        w = (int)strlen(tv_dtype_name(t->dtype));
        dtype_w = w > dtype_w ? w : dtype_w;
        w = (int)strlen(cli_shape(t, shape));
        shape_w = w > shape_w ? w : shape_w;
        w = snprintf(num, sizeof num, "%llu", (unsigned long long)t->n_bytes);
        bytes_w = w > bytes_w ? w : bytes_w;
        w = snprintf(num, sizeof num, "%llu", (unsigned long long)t->offset);
        offset_w = w > offset_w ? w : offset_w;
    }
    printf("\n  tensors (%zu)\n", n);
    if (!n)
        return;
    printf("    %-*s  %-*s  %-*s  %*s  %*s  %s\n", name_w, "name", dtype_w, "dtype", shape_w,
           "shape", bytes_w, "bytes", offset_w, "offset", "file");
    for (size_t i = 0; i < n; i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        printf("    %-*s  %-*s  %-*s  %*llu  %*llu  %s\n", name_w,
               cli_escaped(t->name, strlen(t->name), 0, 0), dtype_w, tv_dtype_name(t->dtype),
               shape_w, cli_shape(t, shape), bytes_w, (unsigned long long)t->n_bytes, offset_w,
               (unsigned long long)t->offset, inspect_display_file(tv_model_path(m), t->file));
    }
}

static void print_metadata(const tv_model *m, bool full)
{
    size_t n = tv_model_meta_count(m);
    printf("\n  metadata (%zu)\n", n);
    struct cli_buf b;
    cli_buf_init(&b);
    size_t group = 0;
    while (group < n) {
        /* one group per file, in the order the keys were read */
        const char *file = tv_model_meta(m, group)->file;
        size_t end = group;
        int key_w = 3;
        while (end < n && strcmp(tv_model_meta(m, end)->file, file) == 0) {
            int w = (int)strlen(cli_escaped(tv_model_meta(m, end)->key,
                                            strlen(tv_model_meta(m, end)->key), 0, 0));
            key_w = w > key_w ? (w > 48 ? 48 : w) : key_w;
            end++;
        }
        const char *shown = inspect_display_file(tv_model_path(m), file);
        printf("    %s\n", cli_escaped(shown, strlen(shown), 0, 0));
        for (size_t i = group; i < end; i++) {
            const struct tv_meta *meta = tv_model_meta(m, i);
            cli_buf_reset(&b);
            format_value(&b, &meta->value, full, 0);
            printf("      %-*s  %-6s  %s\n", key_w,
                   cli_escaped(meta->key, strlen(meta->key), 0, 0),
                   tv_value_type_name(meta->value.type), b.oom ? "(out of memory)" : b.ptr);
        }
        group = end;
    }
    cli_buf_release(&b);
}

/* The ids to show, clamped to the vocabulary. Returns 0, or -1 when the range starts
   past the end (reported). */
static int token_range(const struct inspect *in, const char *path, size_t n_tokens,
                       uint64_t *first, uint64_t *last)
{
    *first = in->range_given ? in->first : 0;
    if (in->range_given)
        *last = in->range_open ? UINT64_MAX : in->last;
    else
        *last = in->full ? UINT64_MAX : DEFAULT_TOKEN_COUNT - 1;
    if (n_tokens == 0)
        return 0;
    if (*first >= n_tokens) {
        cli_error("%s: --tokens %llu-: the vocabulary has ids 0 to %zu", path,
                  (unsigned long long)*first, n_tokens - 1);
        return -1;
    }
    if (*last >= n_tokens)
        *last = n_tokens - 1;
    return 0;
}

static void print_tokens(const struct tv_vocab *v, uint64_t first, uint64_t last)
{
    if (!v || !v->n_tokens) {
        printf("\n  tokens: no vocabulary\n");
        return;
    }
    printf("\n  tokens %llu-%llu of %zu\n", (unsigned long long)first, (unsigned long long)last,
           v->n_tokens);
    char num[32], flags[64];
    struct cli_buf b;
    cli_buf_init(&b);
    int id_w = snprintf(num, sizeof num, "%llu", (unsigned long long)last);
    int type_w = 4, score_w = 5, flags_w = 5;
    id_w = id_w < 2 ? 2 : id_w;
    for (uint64_t id = first; id <= last; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (!t->text)
            continue;
        int w = (int)strlen(tv_token_type_name(t->type));
        type_w = w > type_w ? w : type_w;
        cli_buf_reset(&b);
        format_double(&b, t->score, true);
        score_w = (int)b.len > score_w ? (int)b.len : score_w;
        w = (int)strlen(cli_token_flags(t->flags, flags));
        flags_w = w > flags_w ? w : flags_w;
    }
    printf("    %*s  %-*s  %*s  %-*s  %s\n", id_w, "id", type_w, "type", score_w, "score",
           flags_w, "flags", "text");
    for (uint64_t id = first; id <= last; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (!t->text) {
            printf("    %*llu  %-*s  %*s  %-*s  (no token has this id)\n", id_w,
                   (unsigned long long)id, type_w, "-", score_w, "-", flags_w, "-");
            continue;
        }
        cli_buf_reset(&b);
        format_double(&b, t->score, true);
        printf("    %*llu  %-*s  %*s  %-*s  \"%s\"\n", id_w, (unsigned long long)id, type_w,
               tv_token_type_name(t->type), score_w, b.ptr, flags_w,
               cli_token_flags(t->flags, flags), cli_escaped(t->text, t->len, CLI_ESCAPE_QUOTE, 0));
    }
    cli_buf_release(&b);
}

/* ---- JSON output ----------------------------------------------------------------------------- */

/* Every cJSON_Add* result is checked once at the end: cJSON skips adding to a NULL
   object, and a failed allocation anywhere leaves a NULL somewhere we test. */
#define JSON_OK(x) ((x) != NULL)

/* Token flags as a JSON array of names: ["added", "special"]. */
static cJSON *json_flags(unsigned flags)
{
    char text[64];
    cJSON *list = cJSON_CreateArray();
    cli_token_flags(flags, text);
    if (strcmp(text, "-") == 0)
        return list;
    for (char *name = strtok(text, ","); list && name; name = strtok(NULL, ","))
        if (!cJSON_AddItemToArray(list, cJSON_CreateString(name))) {
            cJSON_Delete(list);
            return NULL;
        }
    return list;
}

static cJSON *json_tokenizer_component(const cJSON *c)
{
    return cJSON_IsObject(c) ? cJSON_Duplicate(c, 1) : cJSON_CreateNull();
}

static cJSON *json_vocab(const struct tv_vocab *v, const char *path, bool primary)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = true;
    size_t holes = inspect_vocab_holes(v);
    ok &= v->origin ? JSON_OK(cJSON_AddStringToObject(o, "origin",
                                                      inspect_display_file(path, v->origin)))
                    : JSON_OK(cJSON_AddNullToObject(o, "origin"));
    ok &= JSON_OK(cJSON_AddNumberToObject(o, "size", (double)v->n_tokens));
    ok &= JSON_OK(cJSON_AddNumberToObject(o, "tokens", (double)(v->n_tokens - holes)));
    ok &= JSON_OK(cJSON_AddStringToObject(o, "kind", tv_tokenizer_kind_name(v->kind)));
    ok &= JSON_OK(cJSON_AddBoolToObject(o, "byte_level", v->byte_level));
    ok &= JSON_OK(cJSON_AddBoolToObject(o, "byte_fallback", v->byte_fallback));
    ok &= JSON_OK(cJSON_AddNumberToObject(o, "merges", (double)v->n_merges));
    ok &= JSON_OK(v->ggml_model ? cJSON_AddStringToObject(o, "ggml_model", v->ggml_model)
                                : cJSON_AddNullToObject(o, "ggml_model"));
    ok &= JSON_OK(v->ggml_pre ? cJSON_AddStringToObject(o, "ggml_pre", v->ggml_pre)
                              : cJSON_AddNullToObject(o, "ggml_pre"));

    cJSON *added = cJSON_AddArrayToObject(o, "added_tokens");
    ok &= JSON_OK(added);
    for (size_t i = 0; ok && i < v->n_added; i++) {
        cJSON *a = cJSON_CreateObject();
        ok &= JSON_OK(a) && cJSON_AddItemToArray(added, a);
        ok &= JSON_OK(cJSON_AddNumberToObject(a, "id", v->added[i].id));
        ok &= cli_json_add_bytes(a, "text", v->added[i].content, v->added[i].len) == 0;
        ok &= cJSON_AddItemToObject(a, "flags", json_flags(v->added[i].flags));
    }

    cJSON *specials = cJSON_AddArrayToObject(o, "specials");
    ok &= JSON_OK(specials);
    size_t total = 0, cap = TV_SPECIAL_COUNT + v->n_added;
    struct inspect_special *list = tv_calloc(cap, sizeof *list);
    size_t n = list ? inspect_collect_specials(v, list, cap, &total) : 0;
    ok &= JSON_OK(list);
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        ok &= JSON_OK(s) && cJSON_AddItemToArray(specials, s);
        ok &= JSON_OK(cJSON_AddNumberToObject(s, "id", (double)list[i].id));
        const struct tv_token *t = inspect_vocab_token(v, list[i].id);
        ok &= t ? cli_json_add_bytes(s, "text", t->text, t->len) == 0
                : JSON_OK(cJSON_AddNullToObject(s, "text"));
        cJSON *roles = cJSON_AddArrayToObject(s, "roles");
        ok &= JSON_OK(roles);
        for (int r = 0; ok && r < TV_SPECIAL_COUNT; r++)
            if (list[i].roles & (1u << r))
                ok &= cJSON_AddItemToArray(roles, cJSON_CreateString(tv_special_name(r)));
    }
    tv_free(list);

    if (primary) {
        cJSON *tok = cJSON_AddObjectToObject(o, "tokenizer");
        ok &= JSON_OK(tok);
        ok &= cJSON_AddItemToObject(tok, "normalizer", json_tokenizer_component(v->normalizer));
        ok &= cJSON_AddItemToObject(tok, "pre_tokenizer",
                                    json_tokenizer_component(v->pre_tokenizer));
        ok &= cJSON_AddItemToObject(tok, "post_processor",
                                    json_tokenizer_component(v->post_processor));
        ok &= cJSON_AddItemToObject(tok, "decoder", json_tokenizer_component(v->decoder));
        ok &= JSON_OK(v->add_bos < 0 ? cJSON_AddNullToObject(tok, "add_bos")
                                     : cJSON_AddBoolToObject(tok, "add_bos", v->add_bos));
        ok &= JSON_OK(v->add_eos < 0 ? cJSON_AddNullToObject(tok, "add_eos")
                                     : cJSON_AddBoolToObject(tok, "add_eos", v->add_eos));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *json_tensor(const struct tv_tensor *t, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = JSON_OK(o);
    ok &= cli_json_add_bytes(o, "name", t->name, strlen(t->name)) == 0;
    ok &= JSON_OK(cJSON_AddStringToObject(o, "dtype", tv_dtype_name(t->dtype)));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    ok &= JSON_OK(shape);
    for (uint32_t d = 0; ok && d < t->n_dims && d < TV_MAX_DIMS; d++)
        ok &= cJSON_AddItemToArray(shape, json_number_u64(t->shape[d]));
    ok &= JSON_OK(cli_json_add_u64(o, "elements", t->n_elements));
    ok &= JSON_OK(cli_json_add_u64(o, "bytes", t->n_bytes));
    ok &= JSON_OK(cli_json_add_u64(o, "offset", t->offset));
    ok &= JSON_OK(t->file ? cJSON_AddStringToObject(o, "file", inspect_display_file(path, t->file))
                          : cJSON_AddNullToObject(o, "file"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *json_document(const tv_model *m, const char *path, const struct inspect *in,
                            uint64_t tok_first, uint64_t tok_last, bool tok_ok)
{
    cJSON *doc = cJSON_CreateObject();
    bool ok = JSON_OK(doc);
    ok &= JSON_OK(cJSON_AddStringToObject(doc, "path", path));
    ok &= JSON_OK(cJSON_AddBoolToObject(doc, "ok", 1));
    ok &= JSON_OK(cJSON_AddStringToObject(doc, "kind", tv_model_kind(m)));
    cJSON *files = cJSON_AddArrayToObject(doc, "files");
    ok &= JSON_OK(files);
    for (size_t i = 0; ok && i < tv_model_file_count(m); i++)
        ok &= cJSON_AddItemToArray(files, cJSON_CreateString(tv_model_file(m, i)));

    const struct tv_str *arch, *arch_class;
    inspect_architecture(m, &arch, &arch_class);
    ok &= arch ? cJSON_AddItemToObject(doc, "architecture",
                                       json_string(arch->ptr, (size_t)arch->len))
               : JSON_OK(cJSON_AddNullToObject(doc, "architecture"));
    cJSON *classes = cJSON_AddArrayToObject(doc, "architectures");
    ok &= JSON_OK(classes);
    const struct tv_meta *am = tv_model_meta_find_origin(m, TV_ORIGIN_CONFIG, "architectures");
    if (ok && am && am->value.type == TV_VALUE_ARRAY &&
        am->value.as.arr.elem_type == TV_VALUE_STRING) {
        const struct tv_str *names = am->value.as.arr.data;
        for (uint64_t i = 0; ok && i < am->value.as.arr.n; i++)
            ok &= cJSON_AddItemToArray(classes, json_string(names[i].ptr, (size_t)names[i].len));
    } else if (ok && arch_class) {
        ok &= cJSON_AddItemToArray(classes, json_string(arch_class->ptr, (size_t)arch_class->len));
    }

    const struct tv_vocab *v = tv_model_vocab(m);
    if (v && (v->n_tokens || v->json || v->n_added))
        ok &= cJSON_AddItemToObject(doc, "vocabulary", json_vocab(v, tv_model_path(m), true));
    else
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "vocabulary"));
    cJSON *others = cJSON_AddArrayToObject(doc, "secondary_vocabularies");
    ok &= JSON_OK(others);
    for (size_t i = 1; ok && i < m->n_vocabs; i++)
        ok &= cJSON_AddItemToArray(others, json_vocab(&m->vocabs[i], tv_model_path(m), false));

    const struct tv_tensor *e = tv_model_embedding(m);
    if (e) {
        cJSON *eo = cJSON_AddObjectToObject(doc, "embedding");
        ok &= JSON_OK(eo);
        ok &= cli_json_add_bytes(eo, "name", e->name, strlen(e->name)) == 0;
        ok &= JSON_OK(cli_json_add_u64(eo, "rows", e->n_dims >= 1 ? e->shape[0] : 0));
        ok &= JSON_OK(cli_json_add_u64(eo, "cols", e->n_dims >= 2 ? e->shape[1] : 0));
        ok &= JSON_OK(cJSON_AddStringToObject(eo, "dtype", tv_dtype_name(e->dtype)));
        ok &= JSON_OK(cli_json_add_u64(eo, "bytes", e->n_bytes));
        ok &= JSON_OK(e->file ? cJSON_AddStringToObject(eo, "file",
                                                        inspect_display_file(path, e->file))
                              : cJSON_AddNullToObject(eo, "file"));
    } else {
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "embedding"));
    }

    cJSON *to = cJSON_AddObjectToObject(doc, "tensors");
    ok &= JSON_OK(to);
    uint64_t bytes = 0;
    size_t per_dtype[TV_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < tv_model_tensor_count(m); i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        bytes += t->n_bytes;
        if ((unsigned)t->dtype < TV_DTYPE_COUNT)
            per_dtype[t->dtype]++;
    }
    ok &= JSON_OK(cJSON_AddNumberToObject(to, "count", (double)tv_model_tensor_count(m)));
    ok &= JSON_OK(cli_json_add_u64(to, "parameters", tv_model_parameter_count(m)));
    ok &= JSON_OK(cli_json_add_u64(to, "bytes", bytes));
    cJSON *dtypes = cJSON_AddObjectToObject(to, "dtypes");
    ok &= JSON_OK(dtypes);
    for (int d = 0; ok && d < TV_DTYPE_COUNT; d++)
        if (per_dtype[d])
            ok &= JSON_OK(cJSON_AddNumberToObject(dtypes, tv_dtype_name((enum tv_dtype)d),
                                                  (double)per_dtype[d]));
    if (in->tensors) {
        cJSON *list = cJSON_AddArrayToObject(to, "list");
        ok &= JSON_OK(list);
        for (size_t i = 0; ok && i < tv_model_tensor_count(m); i++)
            ok &= cJSON_AddItemToArray(list, json_tensor(tv_model_tensor(m, i), tv_model_path(m)));
    }

    cJSON *claims = cJSON_AddArrayToObject(doc, "claims");
    ok &= JSON_OK(claims);
    for (size_t i = 0; ok && i < m->n_claims; i++) {
        const struct tv_claim *c = &m->claims[i];
        cJSON *co = cJSON_CreateObject();
        ok &= JSON_OK(co) && cJSON_AddItemToArray(claims, co);
        ok &= JSON_OK(cJSON_AddStringToObject(co, "kind", claim_kind_name(c->kind)));
        ok &= JSON_OK(cJSON_AddStringToObject(co, "key", c->key));
        ok &= cJSON_AddItemToObject(co, "value", json_number_i64(c->value));
        ok &= JSON_OK(cJSON_AddStringToObject(co, "file", inspect_display_file(path, c->file)));
        if (c->kind == TV_CLAIM_SPECIAL_ID)
            ok &= JSON_OK(c->special >= 0 && c->special < TV_SPECIAL_COUNT
                              ? cJSON_AddStringToObject(co, "special",
                                                        tv_special_name(c->special))
                              : cJSON_AddNullToObject(co, "special"));
    }

    cJSON *findings = cJSON_AddArrayToObject(doc, "findings");
    ok &= JSON_OK(findings);
    for (size_t i = 0; ok && i < m->n_findings; i++) {
        const struct tv_finding *f = &m->findings[i];
        cJSON *fo = cJSON_CreateObject();
        ok &= JSON_OK(fo) && cJSON_AddItemToArray(findings, fo);
        ok &= JSON_OK(cJSON_AddStringToObject(fo, "check", f->check));
        ok &= JSON_OK(cJSON_AddStringToObject(
            fo, "severity", f->severity == TV_SEVERITY_FAIL ? "fail" : "warn"));
        ok &= cli_json_add_bytes(fo, "message", f->message, strlen(f->message)) == 0;
    }

    if (in->metadata) {
        cJSON *meta = cJSON_AddArrayToObject(doc, "metadata");
        ok &= JSON_OK(meta);
        for (size_t i = 0; ok && i < tv_model_meta_count(m); i++) {
            const struct tv_meta *kv = tv_model_meta(m, i);
            cJSON *mo = cJSON_CreateObject();
            ok &= JSON_OK(mo) && cJSON_AddItemToArray(meta, mo);
            ok &= cli_json_add_bytes(mo, "key", kv->key, strlen(kv->key)) == 0;
            ok &= JSON_OK(cJSON_AddStringToObject(mo, "type", tv_value_type_name(kv->value.type)));
            if (kv->value.type == TV_VALUE_ARRAY) {
                const struct tv_array *a = &kv->value.as.arr;
                ok &= JSON_OK(cJSON_AddStringToObject(mo, "elem_type",
                                                      tv_value_type_name(a->elem_type)));
                ok &= JSON_OK(cli_json_add_u64(mo, "n", a->n));
                ok &= JSON_OK(cJSON_AddBoolToObject(mo, "truncated",
                                                    !in->full && a->n > JSON_ARRAY_SHOW));
            }
            ok &= cJSON_AddItemToObject(mo, "value", json_value(&kv->value, in->full, 0));
            ok &= JSON_OK(cJSON_AddStringToObject(mo, "origin", origin_name(kv->origin)));
            ok &= JSON_OK(cJSON_AddStringToObject(mo, "file",
                                                  inspect_display_file(path, kv->file)));
        }
    }

    if (in->tokens && tok_ok && v && v->n_tokens) {
        cJSON *tokens = cJSON_AddObjectToObject(doc, "tokens");
        ok &= JSON_OK(tokens);
        ok &= JSON_OK(cli_json_add_u64(tokens, "first", tok_first));
        ok &= JSON_OK(cli_json_add_u64(tokens, "last", tok_last));
        cJSON *items = cJSON_AddArrayToObject(tokens, "items");
        ok &= JSON_OK(items);
        for (uint64_t id = tok_first; ok && id <= tok_last; id++) {
            const struct tv_token *t = &v->tokens[id];
            cJSON *tk = cJSON_CreateObject();
            ok &= JSON_OK(tk) && cJSON_AddItemToArray(items, tk);
            ok &= JSON_OK(cli_json_add_u64(tk, "id", id));
            if (!t->text) {
                ok &= JSON_OK(cJSON_AddNullToObject(tk, "text"));
                continue;
            }
            ok &= cli_json_add_bytes(tk, "text", t->text, t->len) == 0;
            ok &= JSON_OK(cJSON_AddStringToObject(tk, "type", tv_token_type_name(t->type)));
            ok &= JSON_OK(cJSON_AddNumberToObject(tk, "score", t->score));
            ok &= cJSON_AddItemToObject(tk, "flags", json_flags(t->flags));
        }
    } else if (in->tokens && tok_ok) {
        ok &= JSON_OK(cJSON_AddNullToObject(doc, "tokens"));
    }

    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static int json_error_document(const char *path, const tv_error *err)
{
    cJSON *doc = cJSON_CreateObject();
    bool ok = JSON_OK(doc);
    ok &= JSON_OK(cJSON_AddStringToObject(doc, "path", path));
    ok &= JSON_OK(cJSON_AddBoolToObject(doc, "ok", 0));
    cJSON *eo = cJSON_AddObjectToObject(doc, "error");
    ok &= JSON_OK(eo);
    ok &= JSON_OK(cJSON_AddStringToObject(eo, "status", tv_status_name(err->code)));
    ok &= cli_json_add_bytes(eo, "message", err->message, strlen(err->message)) == 0;
    int rc = ok ? cli_json_print(doc, false) : -1;
    if (!ok)
        cli_error("out of memory building JSON");
    cJSON_Delete(doc);
    return rc;
}

/* ---- the command --------------------------------------------------------------------------- */

/* Inspects one path. Returns CLI_OK, CLI_FAIL or CLI_USAGE (a --tokens range past the
   end of this vocabulary). */
static int inspect_path(const char *path, const struct inspect *in)
{
    tv_error err = {0};
    tv_model *m = cli_open_model(path, &in->open, &err);
    if (!m) {
        if (in->json)
            json_error_document(path, &err);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    uint64_t first = 0, last = 0;
    bool tok_ok = true;
    const struct tv_vocab *v = tv_model_vocab(m);
    if (in->tokens && token_range(in, path, v ? v->n_tokens : 0, &first, &last) < 0) {
        tok_ok = false;
        rc = CLI_USAGE;
    }
    if (in->json) {
        cJSON *doc = json_document(m, path, in, first, last, tok_ok);
        if (!doc) {
            cli_error("%s: out of memory building JSON", path);
            rc = CLI_FAIL;
        } else if (cli_json_print(doc, false) < 0) {
            rc = CLI_FAIL;
        }
        cJSON_Delete(doc);
    } else {
        print_header(m, path);
        print_summary(m);
        if (in->tensors)
            print_tensors(m);
        if (in->metadata)
            print_metadata(m, in->full);
        if (in->tokens && tok_ok)
            print_tokens(v, first, last);
    }
    tv_model_free(m);
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tensors", no_argument, NULL, OPT_TENSORS},
        {"metadata", no_argument, NULL, OPT_METADATA},
        {"tokens", optional_argument, NULL, OPT_TOKENS},
        {"json", no_argument, NULL, OPT_JSON},
        {"full", no_argument, NULL, OPT_FULL},
        CLI_OPEN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct inspect in = {0};
    int c;
    while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
        int shared = cli_open_option(&in.open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        switch (c) {
        case OPT_TENSORS: in.tensors = true; break;
        case OPT_METADATA: in.metadata = true; break;
        case OPT_JSON: in.json = true; break;
        case OPT_FULL: in.full = true; break;
        case OPT_TOKENS: {
            in.tokens = true;
            const char *range = optarg;
            /* "--tokens 5-9" as well as "--tokens=5-9" */
            if (!range && optind < argc && looks_like_range(argv[optind]))
                range = argv[optind++];
            if (range && parse_range(range, &in) < 0) {
                cli_error("inspect: --tokens '%s': expected A-B with A <= B, A-, or A", range);
                return CLI_USAGE;
            }
            break;
        }
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("inspect: no PATH given (usage: tokvec inspect [options] PATH...)");
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    for (int i = optind; i < argc; i++) {
        if (i > optind && !in.json)
            putchar('\n');
        int path_rc = inspect_path(argv[i], &in);
        if (path_rc == CLI_USAGE || (path_rc == CLI_FAIL && rc == CLI_OK))
            rc = path_rc;
    }
    return rc;
}
