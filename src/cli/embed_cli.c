/* What tokvec embed, similar, analogy and distance share (see embed_cli.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <utf8proc.h>

#include "embed_cli.h"

/* A query vector file larger than this is not one vector. */
#define NPY_MAX_BYTES (1u << 30)
/* Tokens are cut to this many display bytes in result tables. */
#define TABLE_TOKEN_MAX 48

/* ---- opening -------------------------------------------------------------------------- */

int embed_open(struct embed_ctx *c, const char *path, const struct tv_open_options *opt)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->m = cli_open_model(path, opt, NULL);
    if (!c->m)
        return CLI_FAIL;
    tv_error err = {0};
    c->e = tv_embed_new(c->m, &err);
    if (!c->e) {
        if (strstr(err.message, path))
            cli_error("%s", err.message);
        else
            cli_error("%s: %s", path, err.message);
        embed_close(c);
        return CLI_FAIL;
    }
    return CLI_OK;
}

void embed_close(struct embed_ctx *c)
{
    tv_tokenizer_free(c->tok);
    c->tok = NULL;
    tv_embed_free(c->e);
    tv_model_free(c->m);
    c->e = NULL;
    c->m = NULL;
}

/* ---- queries ----------------------------------------------------------------------------- */

/* GPT-2's byte-level alphabet: printable bytes stand for themselves; the others, in
   byte order, for U+0100 onwards. */
static bool byte_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
}

static uint32_t byte_level_char(uint8_t b)
{
    if (byte_printable(b))
        return b;
    uint32_t n = 0;
    for (unsigned x = 0; x < b; x++)
        n += !byte_printable(x);
    return 256 + n;
}

static void append_utf8(struct cli_buf *b, uint32_t cp)
{
    uint8_t out[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, out);
    cli_buf_append(b, (const char *)out, (size_t)n);
}

/* The text spelled in the vocabulary's own alphabet, when that differs from the text:
   GPT-2 byte-level ("Ġking"), or SentencePiece ("▁king"). */
static bool respell(const tv_model *m, const char *text, size_t len, struct cli_buf *b)
{
    const struct tv_vocab *v = tv_model_vocab(m);
    bool byte_level = v && (v->byte_level || (v->ggml_model && strcmp(v->ggml_model, "gpt2") == 0));
    cli_buf_reset(b);
    if (byte_level) {
        for (size_t i = 0; i < len; i++)
            append_utf8(b, byte_level_char((uint8_t)text[i]));
        return true;
    }
    if (!memchr(text, ' ', len))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            cli_buf_puts(b, "\xE2\x96\x81"); /* U+2581 */
        else
            cli_buf_append(b, &text[i], 1);
    }
    return true;
}

static tv_tokenizer *ctx_tokenizer(struct embed_ctx *c)
{
    if (!c->tok_tried) {
        c->tok_tried = true;
        c->tok = tv_tokenizer_new(c->m, &c->tok_err);
        if (!c->tok && !c->tok_err.message[0])
            snprintf(c->tok_err.message, sizeof c->tok_err.message, "%s",
                     tv_status_name(c->tok_err.code));
    }
    return c->tok;
}

/* The one token the text is, exactly or respelled. Returns 1 and sets *id, or 0. */
static int single_token(const struct embed_ctx *c, const char *text, size_t len, uint32_t *id)
{
    if (tv_vocab_find(c->m, text, len, id) == 0)
        return 1;
    struct cli_buf b;
    cli_buf_init(&b);
    int found =
        respell(c->m, text, len, &b) && !b.oom && tv_vocab_find(c->m, b.ptr, b.len, id) == 0;
    cli_buf_release(&b);
    return found;
}

/* The text's tokens from the tokenizer into q. Returns CLI_OK or CLI_FAIL (reported). */
static int tokenize(struct embed_ctx *c, const char *cmd, struct embed_query *q)
{
    tv_tokenizer *tok = ctx_tokenizer(c);
    if (!tok) {
        cli_error("%s: \"%s\" is not a token of %s (%zu tokens), and the text cannot be "
                  "tokenised: %s", cmd, cli_escaped(q->text, q->len, CLI_ESCAPE_QUOTE, 80),
                  c->path, tv_vocab_size(c->m), c->tok_err.message);
        return CLI_FAIL;
    }
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error err = {0};
    int rc = CLI_FAIL;
    if (tv_encode(tok, q->text, q->len, 0, &ids, &err) < 0) {
        cli_error("%s: %s", cmd, err.message);
        goto out;
    }
    if (ids.n == 0) {
        cli_error("%s: \"%s\" has no tokens: there is nothing to look up", cmd,
                  cli_escaped(q->text, q->len, CLI_ESCAPE_QUOTE, 80));
        goto out;
    }
    q->ids = tv_malloc(ids.n * sizeof *q->ids);
    if (!q->ids) {
        cli_error("out of memory");
        goto out;
    }
    memcpy(q->ids, ids.ids, ids.n * sizeof *q->ids);
    q->n = ids.n;
    q->kind = ids.n == 1 ? QUERY_TOKEN : QUERY_TEXT;
    rc = CLI_OK;
out:
    tv_ids_release(&ids);
    return rc;
}

int embed_query_text(struct embed_ctx *c, const char *cmd, const char *text, unsigned flags,
                     struct embed_query *q)
{
    memset(q, 0, sizeof *q);
    q->text = text;
    q->len = strlen(text);
    if (q->len == 0) {
        cli_error("%s: the text is empty: there is no token to look up", cmd);
        return CLI_FAIL;
    }
    size_t n_vocab = tv_vocab_size(c->m);
    if (n_vocab == 0) {
        cli_error("%s: %s has no vocabulary to look \"%s\" up in; give ids with --ids", cmd,
                  c->path, cli_escaped(text, q->len, CLI_ESCAPE_QUOTE, 80));
        return CLI_FAIL;
    }
    uint32_t id;
    if (tv_vocab_kind(c->m) == TV_TOKENIZER_NONE) {
        /* word vectors: a query is a whole word, never tokenised */
        if (tv_vocab_find(c->m, text, q->len, &id) < 0) {
            cli_error("%s: \"%s\" is not a word of %s (%zu word%s)", cmd,
                      cli_escaped(text, q->len, CLI_ESCAPE_QUOTE, 80), c->path, n_vocab,
                      n_vocab == 1 ? "" : "s");
            return CLI_FAIL;
        }
    } else if (((flags & QUERY_TOKENIZE_FIRST) && ctx_tokenizer(c)) ||
               !single_token(c, text, q->len, &id)) {
        /* (without a tokenizer, embed too takes a text that is one token) */
        int rc = tokenize(c, cmd, q);
        if (rc != CLI_OK)
            return rc;
        id = q->ids[0];
    }
    if (!q->ids) {
        q->ids = tv_malloc(sizeof *q->ids);
        if (!q->ids) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        q->ids[0] = id;
        q->n = 1;
        q->kind = QUERY_TOKEN;
    }
    if ((flags & QUERY_ONE_TOKEN) && q->n != 1) {
        struct cli_buf b;
        cli_buf_init(&b);
        embed_ids_display(&b, c->m, q->ids, q->n);
        cli_error("%s: \"%s\" is %zu tokens (%s); each must be one token", cmd,
                  cli_escaped(text, q->len, CLI_ESCAPE_QUOTE, 80), q->n, b.ptr);
        cli_buf_release(&b);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < q->n; i++)
        if (q->ids[i] >= tv_embed_rows(c->e)) {
            cli_error("%s: \"%s\" has token %u, but embedding '%s' has only %llu rows", cmd,
                      cli_escaped(text, q->len, CLI_ESCAPE_QUOTE, 80), q->ids[i],
                      tv_embed_tensor(c->e)->name, (unsigned long long)tv_embed_rows(c->e));
            return CLI_FAIL;
        }
    return CLI_OK;
}

int embed_query_ids(struct embed_ctx *c, const char *cmd, char **args, int n,
                    struct embed_query *q)
{
    memset(q, 0, sizeof *q);
    q->kind = QUERY_IDS;
    if (n <= 0) {
        cli_error("%s: --ids needs at least one token id", cmd);
        return CLI_USAGE;
    }
    q->ids = tv_malloc((size_t)n * sizeof *q->ids);
    if (!q->ids) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    for (int i = 0; i < n; i++) {
        uint64_t id;
        if (cli_parse_u64(args[i], &id) < 0) {
            cli_error("%s: --ids: '%s' is not a token id (a decimal number)", cmd, args[i]);
            return CLI_USAGE;
        }
        if (id >= tv_embed_rows(c->e)) {
            cli_error("%s: token id %llu has no row: embedding '%s' has %llu rows (ids 0 to %llu)",
                      cmd, (unsigned long long)id, tv_embed_tensor(c->e)->name,
                      (unsigned long long)tv_embed_rows(c->e),
                      (unsigned long long)tv_embed_rows(c->e) - 1);
            return CLI_FAIL;
        }
        q->ids[q->n++] = (uint32_t)id;
    }
    return CLI_OK;
}

void embed_query_release(struct embed_query *q)
{
    tv_free(q->ids);
    q->ids = NULL;
    q->n = 0;
}

int embed_query_each(struct embed_ctx *c, const char *cmd, char **args, size_t n, bool ids,
                     unsigned flags, struct embed_query *q)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ids ? embed_query_ids(c, cmd, args + i, 1, &q[i])
                     : embed_query_text(c, cmd, args[i], flags, &q[i]);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

/* ---- display -------------------------------------------------------------------------------- */

static const struct tv_token *token_of(const tv_model *m, uint32_t id)
{
    const struct tv_token *t = tv_vocab_token(m, id);
    return t && t->text ? t : NULL;
}

static void token_display_max(struct cli_buf *b, const tv_model *m, uint32_t id, size_t max)
{
    const struct tv_token *t = token_of(m, id);
    if (!t) {
        cli_buf_puts(b, "(no token)");
        return;
    }
    cli_buf_puts(b, "\"");
    cli_buf_puts(b, cli_escaped(t->text, t->len, CLI_ESCAPE_QUOTE, max));
    cli_buf_puts(b, "\"");
}

void embed_token_display(struct cli_buf *b, const tv_model *m, uint32_t id)
{
    token_display_max(b, m, id, 0);
}

void embed_ids_display(struct cli_buf *b, const tv_model *m, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cli_buf_printf(b, "%s%u ", i ? ", " : "", ids[i]);
        embed_token_display(b, m, ids[i]);
    }
}

void embed_query_display(struct cli_buf *b, const struct embed_ctx *c,
                         const struct embed_query *q)
{
    switch (q->kind) {
    case QUERY_TOKEN:
        cli_buf_printf(b, "\"%s\" (", cli_escaped(q->text, q->len, CLI_ESCAPE_QUOTE, 0));
        embed_ids_display(b, c->m, q->ids, 1);
        cli_buf_puts(b, ")");
        break;
    case QUERY_TEXT:
        cli_buf_printf(b, "the mean of the %zu tokens of \"%s\": ", q->n,
                       cli_escaped(q->text, q->len, CLI_ESCAPE_QUOTE, 0));
        embed_ids_display(b, c->m, q->ids, q->n);
        break;
    case QUERY_IDS:
        if (q->n == 1) {
            embed_ids_display(b, c->m, q->ids, 1);
        } else {
            cli_buf_printf(b, "the mean of %zu tokens: ", q->n);
            embed_ids_display(b, c->m, q->ids, q->n);
        }
        break;
    }
}

/* Columns a display string takes on a terminal (East Asian wide characters take two). */
static size_t display_width(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len = strlen(s), width = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            width++;
            i++;
            continue;
        }
        int w = utf8proc_charwidth(cp);
        width += w > 0 ? (size_t)w : 0;
        i += (size_t)n;
    }
    return width;
}

void embed_print_neighbors(const tv_model *m, const struct tv_neighbor *nb, size_t n)
{
    struct cli_buf tok;
    cli_buf_init(&tok);
    char num[32];
    int rank_w = snprintf(num, sizeof num, "%zu", n);
    int id_w = 2;
    size_t tok_w = 5;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(num, sizeof num, "%u", nb[i].id);
        id_w = w > id_w ? w : id_w;
        cli_buf_reset(&tok);
        token_display_max(&tok, m, nb[i].id, TABLE_TOKEN_MAX);
        size_t tw = display_width(tok.ptr);
        tok_w = tw > tok_w ? tw : tok_w;
    }
    rank_w = rank_w < 4 ? 4 : rank_w;
    printf("  %*s  %*s  %-*s  %s\n", rank_w, "rank", id_w, "id", (int)tok_w, "token", "score");
    for (size_t i = 0; i < n; i++) {
        cli_buf_reset(&tok);
        token_display_max(&tok, m, nb[i].id, TABLE_TOKEN_MAX);
        size_t pad = tok_w - display_width(tok.ptr);
        printf("  %*zu  %*u  %s%*s  %.6f\n", rank_w, i + 1, id_w, nb[i].id, tok.ptr, (int)pad, "",
               nb[i].score);
    }
    cli_buf_release(&tok);
}

/* ---- JSON --------------------------------------------------------------------------------- */

double embed_round9(double v)
{
    if (!isfinite(v))
        return v;
    char text[40];
    snprintf(text, sizeof text, "%.9g", v);
    return strtod(text, NULL);
}

int embed_json_add_token(cJSON *obj, const tv_model *m, uint32_t id)
{
    const struct tv_token *t = token_of(m, id);
    if (!t)
        return cJSON_AddNullToObject(obj, "token") ? 0 : -1;
    return cli_json_add_bytes(obj, "token", t->text, t->len);
}

static cJSON *json_ids(const uint32_t *ids, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *num = cJSON_CreateNumber(ids[i]);
        if (!num || !cJSON_AddItemToArray(arr, num)) {
            cJSON_Delete(num);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

cJSON *embed_json_query(const struct embed_ctx *c, const struct embed_query *q)
{
    static const char *const kinds[] = {"token", "text", "ids"};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = cJSON_AddStringToObject(o, "kind", kinds[q->kind]) != NULL;
    if (q->text)
        ok &= cli_json_add_bytes(o, "text", q->text, q->len) == 0;
    cJSON *ids = json_ids(q->ids, q->n);
    if (!ids || !cJSON_AddItemToObject(o, "ids", ids)) {
        cJSON_Delete(ids);
        ok = false;
    }
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    ok &= tokens != NULL;
    for (size_t i = 0; ok && i < q->n; i++) {
        cJSON *t = cJSON_CreateObject();
        ok = t && cJSON_AddItemToArray(tokens, t);
        ok = ok && cJSON_AddNumberToObject(t, "id", q->ids[i]) &&
             embed_json_add_token(t, c->m, q->ids[i]) == 0;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int embed_json_add_queries(cJSON *obj, const struct embed_ctx *c, const struct embed_query *q,
                           const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *query = embed_json_query(c, &q[i]);
        if (!query || !cJSON_AddItemToObject(obj, keys[i], query)) {
            cJSON_Delete(query);
            return -1;
        }
    }
    return 0;
}

int embed_json_add_model(cJSON *obj, const struct embed_ctx *c)
{
    const struct tv_tensor *t = tv_embed_tensor(c->e);
    bool ok = cli_json_add_bytes(obj, "model", c->path, strlen(c->path)) == 0;
    ok &= cli_json_add_bytes(obj, "embedding", t->name, strlen(t->name)) == 0;
    ok &= cJSON_AddStringToObject(obj, "dtype", tv_dtype_name(t->dtype)) != NULL;
    ok &= cli_json_add_u64(obj, "rows", tv_embed_rows(c->e)) != NULL;
    ok &= cli_json_add_u64(obj, "dims", tv_embed_dim(c->e)) != NULL;
    return ok ? 0 : -1;
}

cJSON *embed_json_neighbors(const tv_model *m, const struct tv_neighbor *nb, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o);
        ok = ok && cJSON_AddNumberToObject(o, "rank", (double)(i + 1)) &&
             cJSON_AddNumberToObject(o, "id", nb[i].id) &&
             embed_json_add_token(o, m, nb[i].id) == 0 &&
             cJSON_AddNumberToObject(o, "score", embed_round9(nb[i].score));
    }
    if (!ok) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

int embed_json_add_neighbors(cJSON *obj, const tv_model *m, const struct tv_neighbor *nb,
                             size_t n)
{
    cJSON *results = embed_json_neighbors(m, nb, n);
    if (!results || !cJSON_AddItemToObject(obj, "results", results)) {
        cJSON_Delete(results);
        return -1;
    }
    return 0;
}

/* ---- option values ---------------------------------------------------------------------- */

int embed_parse_k(const char *cmd, const char *arg, size_t *k)
{
    uint64_t v;
    if (cli_parse_u64(arg, &v) < 0 || v == 0 || v > UINT32_MAX) {
        cli_error("%s: -k '%s': expected a number of results from 1 to %u", cmd, arg, UINT32_MAX);
        return -1;
    }
    *k = (size_t)v;
    return 0;
}

int embed_parse_threads(const char *cmd, const char *arg, unsigned *threads)
{
    uint64_t v;
    if (cli_parse_u64(arg, &v) < 0 || v == 0 || v > 256) {
        cli_error("%s: --threads '%s': expected a number from 1 to 256", cmd, arg);
        return -1;
    }
    *threads = (unsigned)v;
    return 0;
}

int embed_parse_metric(const char *cmd, const char *arg, enum tv_metric *metric)
{
    if (tv_metric_from_name(arg, metric) < 0) {
        cli_error("%s: --metric '%s': expected cosine, dot or l2", cmd, arg);
        return -1;
    }
    return 0;
}

/* ---- .npy ------------------------------------------------------------------------------------ */

/*
 * The .npy format (numpy.lib.format, version 1.0):
 *   1. the magic "\x93NUMPY", then the version: major 1, minor 0 (2.0 and 3.0 differ
 *      only in a 4-byte header length and, for 3.0, UTF-8 in the header)
 *   2. the header length as a little-endian u16
 *   3. the header: a Python dict literal {'descr': '<f4', 'fortran_order': False,
 *      'shape': (n, d), } padded with spaces and ended by '\n' so that the data starts
 *      at a multiple of 64 bytes
 *   4. the data, C order
 */
static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int npy_write_f32(const char *path, const float *data, uint64_t rows, uint64_t cols,
                  bool force, tv_error *err)
{
    char header[256];
    int len = snprintf(header, sizeof header,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu, %llu), }",
                       (unsigned long long)rows, (unsigned long long)cols);
    size_t total = 10 + (size_t)len + 1; /* magic, version, length, dict, '\n' */
    size_t pad = (64 - total % 64) % 64;
    memset(header + len, ' ', pad);
    header[len + pad] = '\n';
    size_t header_len = (size_t)len + pad + 1;
    uint8_t lead[10];
    memcpy(lead, npy_magic, 6);
    lead[6] = 1;
    lead[7] = 0;
    lead[8] = (uint8_t)(header_len & 0xff);
    lead[9] = (uint8_t)(header_len >> 8);

    uint64_t n;
    if (!tv_mul_u64_fits(rows, cols, &n) || n > SIZE_MAX / 4)
        return tv_error_set(err, TV_ERR_USAGE, "%s: %llu x %llu values are too many", path,
                            (unsigned long long)rows, (unsigned long long)cols);
    tv_out *out = tv_out_open(path, force, err);
    if (!out)
        return -1;
    if (tv_out_write(out, lead, sizeof lead, err) < 0 ||
        tv_out_write(out, header, header_len, err) < 0)
        goto fail;
    uint8_t chunk[4096];
    size_t used = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], 4);
        chunk[used++] = (uint8_t)bits;
        chunk[used++] = (uint8_t)(bits >> 8);
        chunk[used++] = (uint8_t)(bits >> 16);
        chunk[used++] = (uint8_t)(bits >> 24);
        if (used == sizeof chunk || i + 1 == n) {
            if (tv_out_write(out, chunk, used, err) < 0)
                goto fail;
            used = 0;
        }
    }
    return tv_out_commit(out, err);
fail:
    tv_out_abort(out);
    return -1;
}

/* The value of key in a .npy header dict: a pointer just past "'key':" and spaces. */
static const char *npy_value(const char *h, const char *key)
{
    char quoted[32];
    for (int q = 0; q < 2; q++) {
        snprintf(quoted, sizeof quoted, q ? "\"%s\"" : "'%s'", key);
        const char *p = strstr(h, quoted);
        if (!p)
            continue;
        p += strlen(quoted);
        while (*p == ' ')
            p++;
        if (*p != ':')
            return NULL;
        p++;
        while (*p == ' ')
            p++;
        return p;
    }
    return NULL;
}

int npy_read_vector(const char *path, float **data, uint64_t *n, tv_error *err)
{
    int rc = -1;
    uint8_t *buf = NULL;
    char *header = NULL;
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        tv_error_set(err, TV_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > NPY_MAX_BYTES) {
        tv_error_set(err, TV_ERR_LIMIT, "%s: %llu bytes; a query vector file has at most %u",
                     path, (unsigned long long)st.st_size, NPY_MAX_BYTES);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = tv_malloc(size ? size : 1);
    if (!buf) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for %zu bytes", path, size);
        goto out;
    }
    if (size && fread(buf, 1, size, f) != size) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot read %zu bytes", path, size);
        goto out;
    }
    if (size < 10 || memcmp(buf, npy_magic, 6) != 0) {
        tv_error_set(err, TV_ERR_DATA, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
        goto out;
    }
    unsigned major = buf[6], minor = buf[7];
    size_t header_at, header_len;
    if (major == 1) {
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8;
        header_at = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            tv_error_set(err, TV_ERR_DATA, "%s: truncated .npy header (%zu bytes)", path, size);
            goto out;
        }
        header_len = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                     (size_t)buf[11] << 24;
        header_at = 12;
    } else {
        tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: .npy format version %u.%u (tokvec reads 1.0 "
                     "to 3.0)", path, major, minor);
        goto out;
    }
    if (header_len > size - header_at) {
        tv_error_set(err, TV_ERR_DATA, "%s: .npy header of %zu bytes runs past the end of the "
                     "file (%zu bytes)", path, header_len, size);
        goto out;
    }
    header = tv_strndup((const char *)buf + header_at, header_len);
    if (!header) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    const char *descr = npy_value(header, "descr");
    size_t item;
    bool f64;
    if (descr && (strncmp(descr, "'<f4'", 5) == 0 || strncmp(descr, "\"<f4\"", 5) == 0)) {
        item = 4;
        f64 = false;
    } else if (descr && (strncmp(descr, "'<f8'", 5) == 0 || strncmp(descr, "\"<f8\"", 5) == 0)) {
        item = 8;
        f64 = true;
    } else {
        tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: dtype %.20s: a query vector must be float32 "
                     "('<f4') or float64 ('<f8')", path, descr ? descr : "(none)");
        goto out;
    }
    /* shape: (d,) or (1, d); fortran_order does not matter for one row */
    const char *shape = npy_value(header, "shape");
    uint64_t dims[3];
    int n_dims = 0;
    if (!shape || *shape != '(') {
        tv_error_set(err, TV_ERR_DATA, "%s: .npy header without a shape", path);
        goto out;
    }
    const char *p = shape + 1;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == ')')
            break;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || n_dims == 3 || *p == '-') {
            tv_error_set(err, TV_ERR_DATA, "%s: unreadable .npy shape '%.40s'", path, shape);
            goto out;
        }
        dims[n_dims++] = v;
        p = end;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    uint64_t count;
    if (n_dims == 1) {
        count = dims[0];
    } else if (n_dims == 2 && dims[0] == 1) {
        count = dims[1];
    } else {
        tv_error_set(err, TV_ERR_DATA, "%s: shape %.40s: a query is one vector, shape (d,) or "
                     "(1, d)", path, shape);
        goto out;
    }
    size_t data_at = header_at + header_len;
    if (count == 0 || count > (size - data_at) / item || (size - data_at) != count * item) {
        tv_error_set(err, TV_ERR_DATA, "%s: shape %.40s needs %llu bytes of data; the file has "
                     "%zu after its header", path, shape,
                     (unsigned long long)(count > SIZE_MAX / 8 ? 0 : count * item), size - data_at);
        goto out;
    }
    *data = tv_malloc((size_t)count * sizeof **data);
    if (!*data) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *b = buf + data_at + i * item;
        if (f64) {
            uint64_t bits = 0;
            double d;
            for (int j = 7; j >= 0; j--)
                bits = bits << 8 | b[j];
            memcpy(&d, &bits, 8);
            (*data)[i] = (float)d;
        } else {
            uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                            (uint32_t)b[3] << 24;
            memcpy(&(*data)[i], &bits, 4);
        }
    }
    *n = count;
    rc = 0;
out:
    if (rc < 0) {
        tv_free(*data);
        *data = NULL;
    }
    tv_free(header);
    tv_free(buf);
    fclose(f);
    return rc;
}
