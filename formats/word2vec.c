/*
 * Word vectors: word2vec text and binary, fastText .vec, GloVe text. Three formats
 * share this file because they share their rows; each is its own struct tv_format.
 *
 *   word2vec text / fastText .vec ("word2vec"):
 *     1. a header line "<rows> <dims>" (two decimal integers; spaces or '\r' may follow)
 *     2. per row, one line: the word, then dims decimal floats, separated by spaces or
 *        tabs (fastText leaves a space before the newline)
 *   word2vec binary ("word2vec-binary"), as the C tool and gensim write it:
 *     1. the same header line
 *     2. per row: the word's bytes up to a space, the space, then dims float32
 *        little-endian (4 * dims bytes); the C tool writes '\n' after each vector,
 *        gensim does not: a '\n' before a word is skipped
 *   GloVe ("glove"): no header; every line is "word v1 ... vd", d from the first line.
 *
 * The model: a vocabulary of the words (ids in file order, type NORMAL, kind NONE)
 * and one tensor "embeddings" [rows, dims] F32 in a buffer this reader owns (text
 * must be parsed; binary rows are interleaved with words, so they are copied too).
 *
 * Row counts: the header's row count is a claim, never an allocation size. The
 * reader reads the rows the file really holds and records a structure.row_count
 * finding (warn) when the header says otherwise, in either direction; buffers are
 * sized from the bytes present (a text row needs at least 2 * dims + 1 bytes, a
 * binary row 4 * dims + 2). Every row must hold exactly dims values: a row with more
 * or fewer is an error naming the line (or offset), the word and both numbers.
 * Words that are not valid UTF-8 are kept byte for byte and reported
 * (structure.utf8); a repeated word keeps both ids, the lookup finds the first, and
 * is reported (vocab.duplicate_id, folded into verify's vocab.duplicates).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Caps (src/limits.h): the longest word of a binary file, the longest number of a
   text file, values per vector, how far the probes read the first line. */
#define WV_MAX_WORD TV_WORD2VEC_MAX_WORD
#define WV_MAX_NUMBER TV_WORD2VEC_MAX_NUMBER
#define WV_MAX_DIMS TV_WORD2VEC_MAX_DIMS
/* Findings of one kind beyond this many are summarised in one more finding. */
#define WV_MAX_FINDINGS_PER_CHECK 8
#define WV_PROBE_LINE TV_WORD2VEC_PROBE_LINE

enum wv_kind { WV_TEXT, WV_BINARY, WV_GLOVE };

static const char *const kind_names[] = {"word2vec text", "word2vec binary", "GloVe text"};

struct wv_read {
    tv_model *m;
    struct tv_vocab *v;
    const char *file;
    tv_error *err;
    struct tv_strmap words;    /* word bytes (borrowed from the file) -> first id */
    uint64_t dims, rows, cap_rows;
    float *values;
    unsigned n_duplicates, n_bad_utf8;
};

/* ---- small parsers ------------------------------------------------------------- */

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* The next line from *pos: [*line, *line + *len) without '\n' or a trailing '\r'.
   Returns false at the end of the buffer. */
static bool next_line(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **line,
                      size_t *line_len)
{
    if (*pos >= len)
        return false;
    const uint8_t *start = buf + *pos;
    const uint8_t *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n && start[n - 1] == '\r')
        n--;
    *line = start;
    *line_len = n;
    return true;
}

/* The next field of a line (runs of spaces and tabs separate fields). */
static bool next_field(const uint8_t *line, size_t len, size_t *pos, const uint8_t **field,
                       size_t *field_len)
{
    while (*pos < len && is_blank(line[*pos]))
        (*pos)++;
    if (*pos >= len)
        return false;
    size_t start = *pos;
    while (*pos < len && !is_blank(line[*pos]))
        (*pos)++;
    *field = line + start;
    *field_len = *pos - start;
    return true;
}

/*
 * Parses a decimal float that fills the whole field. Returns 0; -1 when it is not a
 * number; -2 when it overflows float32; -3 when it is longer than WV_MAX_NUMBER.
 * (strtof needs a terminated string, and the field may end the mapping: the bytes
 * are copied first.)
 */
/*
 * The exact fast path for the short decimals word-vector files are made of ("0.418",
 * "-2.5e-03"): when the digits form an integer m <= 2^24 and the decimal exponent k
 * is within [-10, 10], m and 10^|k| are exact float32 values, so one IEEE multiply or
 * divide gives the correctly rounded result, the same float strtof returns (Clinger,
 * "How to read floating point numbers accurately", 1990). Anything else returns
 * false and goes to strtof.
 */
static bool parse_float_fast(const uint8_t *p, size_t n, float *out)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    static const float pow10[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                  1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
    size_t i = 0;
    bool negative = false;
    if (p[0] == '-' || p[0] == '+') {
        negative = p[0] == '-';
        i++;
    }
    uint64_t mantissa = 0;
    int exponent = 0, digits = 0;
    bool dot = false;
    for (; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (mantissa > (1u << 24))
                return false;
            mantissa = mantissa * 10 + (uint64_t)(p[i] - '0');
            exponent -= dot;
            digits++;
        } else if (p[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (digits == 0 || mantissa > (1u << 24))
        return false;
    if (i < n) {
        if (p[i] != 'e' && p[i] != 'E')
            return false;
        i++;
        bool exp_negative = false;
        if (i < n && (p[i] == '-' || p[i] == '+'))
            exp_negative = p[i++] == '-';
        int e = 0, exp_digits = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9' && exp_digits < 4; i++, exp_digits++)
            e = e * 10 + (p[i] - '0');
        if (exp_digits == 0 || i != n)
            return false;
        exponent += exp_negative ? -e : e;
    }
    if (exponent < -10 || exponent > 10)
        return false;
    float f = (float)mantissa;
    f = exponent < 0 ? f / pow10[-exponent] : f * pow10[exponent];
    *out = negative ? -f : f;
    return true;
#else
    (void)p, (void)n, (void)out;
    return false;
#endif
}

static int parse_float(const uint8_t *p, size_t n, float *out)
{
    char buf[WV_MAX_NUMBER + 1];
    if (n > WV_MAX_NUMBER)
        return -3;
    if (n == 0)
        return -1;
    if (parse_float_fast(p, n, out))
        return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    float f = strtof(buf, &end);
    if (end != buf + n)
        return -1;
    if (errno == ERANGE && isinf(f))
        return -2;
    *out = f;
    return 0;
}

/* Parses a non-negative decimal integer that fills the field (at most 19 digits). */
static bool parse_count(const uint8_t *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * Reads the header line "<rows> <dims>". Returns true with the numbers and *body
 * (the offset after the line) when the first line is exactly two integers.
 */
static bool parse_header(const uint8_t *buf, size_t len, uint64_t *rows, uint64_t *dims,
                         size_t *body)
{
    size_t pos = 0, line_len, fpos = 0, n;
    const uint8_t *line, *field;
    size_t scan = len < 64 ? len : 64; /* "<19 digits> <19 digits>\r\n" and some spaces */
    if (!memchr(buf, '\n', scan) && scan < len)
        return false;
    if (!next_line(buf, len, &pos, &line, &line_len))
        return false;
    if (!next_field(line, line_len, &fpos, &field, &n) || !parse_count(field, n, rows))
        return false;
    if (!next_field(line, line_len, &fpos, &field, &n) || !parse_count(field, n, dims))
        return false;
    if (next_field(line, line_len, &fpos, &field, &n))
        return false;
    *body = pos;
    return true;
}

/*
 * The length (1 to 4) of the valid UTF-8 character at s (n bytes available): no
 * overlong forms, no surrogates, nothing past U+10FFFF. 0 when it is not one, with
 * *bad the offset (from s) of the byte that breaks it.
 */
static size_t utf8_char(const uint8_t *s, size_t n, size_t *bad)
{
    uint8_t c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3, cp = c & 0x07;
    else {
        *bad = 0;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || (s[k] & 0xc0) != 0x80) {
            *bad = k;
            return 0;
        }
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        *bad = 0;
        return 0;
    }
    return need + 1;
}

/* Whether the bytes are valid UTF-8; on failure *bad is the offset of the first byte
   that does not fit (n when the bytes end inside a character). */
static bool utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n;) {
        size_t step = utf8_char(s + i, n - i, bad);
        if (!step) {
            *bad += i;
            return false;
        }
        i += step;
    }
    return true;
}

/* A word for a message: at most 40 bytes; valid UTF-8 kept, control bytes, quotes and
   bytes that are not UTF-8 escaped as \xNN, so that the message is valid UTF-8. */
static void show_word(char *out, size_t cap, const uint8_t *p, size_t len)
{
    size_t k = 0, bad;
    for (size_t i = 0; i < len && i < 40 && k + 5 < cap;) {
        size_t step = p[i] >= 0x80 ? utf8_char(p + i, len - i, &bad) : 1;
        if (step > 1 && k + step + 1 < cap) {
            memcpy(out + k, p + i, step);
            k += step;
            i += step;
        } else if (step == 1 && p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\'') {
            out[k++] = (char)p[i++];
        } else {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", p[i++]);
        }
    }
    if (len > 40 && k + 4 < cap)
        memcpy(out + k, "...", 3), k += 3;
    out[k < cap ? k : cap - 1] = '\0';
}

/* ---- the model ----------------------------------------------------------------- */

/* Allocates room for cap_rows rows; the caller has bounded cap_rows by the bytes. */
static int reserve_rows(struct wv_read *r, uint64_t cap_rows)
{
    uint64_t n, bytes;
    if (cap_rows > TV_MAX_TOKENS)
        cap_rows = TV_MAX_TOKENS;
    if (!tv_mul_u64_fits(cap_rows, r->dims, &n) || !tv_mul_u64_fits(n, 4, &bytes) ||
        bytes > SIZE_MAX)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: %llu rows of %llu values do not fit "
                            "in memory", r->file, (unsigned long long)cap_rows,
                            (unsigned long long)r->dims);
    r->values = tv_malloc((size_t)bytes);
    if (!r->values)
        return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory for %llu x %llu vectors "
                            "(%llu bytes)", r->file, (unsigned long long)cap_rows,
                            (unsigned long long)r->dims, (unsigned long long)bytes);
    r->cap_rows = cap_rows;
    return 0;
}

/* Room for the next row, or an error when the file holds more rows than the limit. */
static float *row_slot(struct wv_read *r, const char *where)
{
    if (r->rows >= r->cap_rows) {
        tv_error_set(r->err, TV_ERR_LIMIT, "%s: %s: more than %llu rows (the most %s can "
                     "hold)", r->file, where, (unsigned long long)r->cap_rows,
                     r->cap_rows == TV_MAX_TOKENS ? "a vocabulary" : "these bytes");
        return NULL;
    }
    return r->values + r->rows * r->dims;
}

static int capped_finding(struct wv_read *r, unsigned *count, const char *check,
                          const char *fmt_word, const char *where, const char *shown)
{
    if (++*count > WV_MAX_FINDINGS_PER_CHECK)
        return 0;
    return tv_model_add_finding(r->m, check, TV_SEVERITY_WARN, r->err, "%s: %s: word '%s' %s",
                                r->file, where, shown, fmt_word);
}

/* Adds the word of the row just filled; where names the line or offset. */
static int add_word(struct wv_read *r, const uint8_t *word, size_t len, const char *where)
{
    uint32_t id = (uint32_t)r->rows;
    char shown[200], message[128];
    size_t bad;
    if (!utf8_valid(word, len, &bad)) {
        show_word(shown, sizeof shown, word, len);
        snprintf(message, sizeof message, "is not valid UTF-8 (byte %zu of %zu); kept as is",
                 bad, len);
        if (capped_finding(r, &r->n_bad_utf8, "structure.utf8", message, where, shown) < 0)
            return -1;
    }
    uint64_t first;
    int put = tv_strmap_put(&r->words, (const char *)word, len, id, &first);
    if (put < 0)
        return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory indexing word %u", r->file,
                            id);
    if (put == 0) {
        show_word(shown, sizeof shown, word, len);
        snprintf(message, sizeof message, "repeats id %llu as id %u; lookups find the first",
                 (unsigned long long)first, id);
        if (capped_finding(r, &r->n_duplicates, "vocab.duplicate_id", message, where,
                           shown) < 0)
            return -1;
    }
    if (tv_vocab_set_token(r->m, r->v, id, (const char *)word, len, 0.0f, TV_TOKEN_NORMAL,
                           r->err) < 0) {
        tv_error_prefix(r->err, "%s: %s", r->file, where);
        return -1;
    }
    r->rows++;
    return 0;
}

/* After the rows: summaries, the header check, the tensor and the metadata. */
static int finish(struct wv_read *r, tv_blob *blob, enum wv_kind kind, bool has_header,
                  uint64_t header_rows)
{
    tv_model *m = r->m;
    if (r->n_bad_utf8 > WV_MAX_FINDINGS_PER_CHECK &&
        tv_model_add_finding(m, "structure.utf8", TV_SEVERITY_WARN, r->err,
                             "%s: %u more words that are not valid UTF-8 not listed", r->file,
                             r->n_bad_utf8 - WV_MAX_FINDINGS_PER_CHECK) < 0)
        return -1;
    if (r->n_duplicates > WV_MAX_FINDINGS_PER_CHECK &&
        tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_WARN, r->err,
                             "%s: %u more repeated words not listed", r->file,
                             r->n_duplicates - WV_MAX_FINDINGS_PER_CHECK) < 0)
        return -1;
    if (has_header && header_rows != r->rows &&
        tv_model_add_finding(m, "structure.row_count", TV_SEVERITY_WARN, r->err,
                             "%s: the header claims %llu rows but the file holds %llu; read %llu",
                             r->file, (unsigned long long)header_rows,
                             (unsigned long long)r->rows, (unsigned long long)r->rows) < 0)
        return -1;

    /* Give back what the byte-based estimate reserved beyond the real rows. */
    size_t bytes = (size_t)(r->rows * r->dims * 4);
    if (r->rows < r->cap_rows && bytes > 0) {
        float *shrunk = tv_realloc(r->values, bytes);
        if (shrunk)
            r->values = shrunk;
    }
    tv_blob *vectors = tv_blob_adopt(r->values, bytes, blob->name, r->err);
    r->values = NULL; /* adopted, or freed on failure */
    if (!vectors)
        return -1;
    int rc = tv_model_add_blob(m, vectors, r->err);
    tv_blob_unref(vectors);
    if (rc < 0)
        return -1;
    uint64_t shape[2] = {r->rows, r->dims};
    if (tv_model_add_tensor(m, "embeddings", 10, TV_DTYPE_F32, 2, shape, blob->name, 0,
                            vectors->data, r->err) < 0)
        return -1;

    struct tv_value format = {.type = TV_VALUE_STRING};
    format.as.str = (struct tv_str){kind_names[kind], strlen(kind_names[kind])};
    if (tv_model_add_meta(m, "wordvec.format", 14, &format, TV_ORIGIN_OTHER, blob->name,
                          r->err) < 0)
        return -1;
    if (has_header) {
        struct tv_value claimed = {.type = TV_VALUE_U64, .as.u = header_rows};
        if (tv_model_add_meta(m, "wordvec.header_rows", 19, &claimed, TV_ORIGIN_OTHER,
                              blob->name, r->err) < 0)
            return -1;
    }
    return 0;
}

/* ---- text --------------------------------------------------------------------- */

/* Counts the fields of a line (the word and its values). */
static uint64_t count_fields(const uint8_t *line, size_t len)
{
    uint64_t n = 0;
    size_t pos = 0, flen;
    const uint8_t *field;
    while (next_field(line, len, &pos, &field, &flen))
        n++;
    return n;
}

static int parse_text_row(struct wv_read *r, const uint8_t *line, size_t len,
                          uint64_t line_no)
{
    char where[48], shown[200];
    snprintf(where, sizeof where, "line %llu", (unsigned long long)line_no);
    size_t pos = 0, wlen = 0, flen = 0;
    const uint8_t *word = line, *field = line;
    next_field(line, len, &pos, &word, &wlen); /* the caller skips blank lines */
    uint64_t n_values = count_fields(line + pos, len - pos);
    if (n_values != r->dims) {
        show_word(shown, sizeof shown, word, wlen);
        return tv_error_set(r->err, TV_ERR_DATA, "%s: %s (word '%s'): %llu values, expected "
                            "%llu", r->file, where, shown, (unsigned long long)n_values,
                            (unsigned long long)r->dims);
    }
    float *dst = row_slot(r, where);
    if (!dst)
        return -1;
    for (uint64_t i = 0; i < r->dims; i++) {
        next_field(line, len, &pos, &field, &flen);
        int rc = parse_float(field, flen, &dst[i]);
        if (rc < 0) {
            char value[WV_MAX_NUMBER + 8];
            show_word(shown, sizeof shown, word, wlen);
            show_word(value, sizeof value, field, flen);
            return tv_error_set(r->err, TV_ERR_DATA, "%s: %s (word '%s'): value %llu '%s' %s",
                                r->file, where, shown, (unsigned long long)i + 1, value,
                                rc == -2   ? "overflows float32"
                                : rc == -3 ? "is longer than 63 characters"
                                           : "is not a number");
        }
    }
    return add_word(r, word, wlen, where);
}

static bool line_is_blank(const uint8_t *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_blank(line[i]))
            return false;
    return true;
}

static int read_text(tv_model *m, tv_blob *blob, enum wv_kind kind, tv_error *err)
{
    struct wv_read r = {.m = m, .file = blob->name, .err = err};
    tv_strmap_init(&r.words);
    int rc = -1;
    const uint8_t *buf = blob->data;
    size_t len = blob->len, pos = 0, line_len;
    const uint8_t *line;
    uint64_t header_rows = 0, line_no = 0;
    bool has_header = kind == WV_TEXT;

    if (has_header) {
        if (!parse_header(buf, len, &header_rows, &r.dims, &pos)) {
            tv_error_set(err, TV_ERR_DATA, "%s: line 1: expected a header \"<rows> <dims>\"",
                         blob->name);
            goto out;
        }
        line_no = 1;
    } else {
        /* GloVe: the first non-blank line says how many values a row has. */
        size_t p = 0;
        uint64_t fields = 0;
        while (next_line(buf, len, &p, &line, &line_len)) {
            if (!line_is_blank(line, line_len)) {
                fields = count_fields(line, line_len);
                break;
            }
        }
        if (fields < 2) {
            tv_error_set(err, TV_ERR_DATA, "%s: the first line holds no word and values",
                         blob->name);
            goto out;
        }
        r.dims = fields - 1;
    }
    if (r.dims == 0 || r.dims > WV_MAX_DIMS) {
        tv_error_set(err, TV_ERR_DATA, "%s: the header says vectors of %llu values (1 to %d)",
                     blob->name, (unsigned long long)r.dims, WV_MAX_DIMS);
        goto out;
    }

    /* A row is at least "w 0 0 ... 0": 2 * dims + 1 bytes, then a newline. */
    size_t body = len - pos;
    uint64_t lines = 1;
    for (const uint8_t *p = buf + pos; (p = memchr(p, '\n', (size_t)(buf + len - p))); p++)
        lines++;
    uint64_t by_bytes = ((uint64_t)body + 1) / (2 * r.dims + 2);
    if (reserve_rows(&r, lines < by_bytes ? lines : by_bytes) < 0)
        goto out;
    r.v = tv_model_new_vocab(m, blob->name, err);
    if (!r.v)
        goto out;

    while (next_line(buf, len, &pos, &line, &line_len)) {
        line_no++;
        if (line_is_blank(line, line_len))
            continue;
        if (parse_text_row(&r, line, line_len, line_no) < 0)
            goto out;
    }
    rc = finish(&r, blob, kind, has_header, header_rows);
out:
    tv_free(r.values);
    tv_strmap_release(&r.words);
    return rc;
}

/* ---- binary --------------------------------------------------------------------- */

static int read_binary(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct wv_read r = {.m = m, .file = blob->name, .err = err};
    tv_strmap_init(&r.words);
    int rc = -1;
    const uint8_t *buf = blob->data;
    size_t len = blob->len, pos;
    uint64_t header_rows, row_bytes;
    char where[64], shown[200];

    if (!parse_header(buf, len, &header_rows, &r.dims, &pos)) {
        tv_error_set(err, TV_ERR_DATA, "%s: expected a header \"<rows> <dims>\" line",
                     blob->name);
        goto out;
    }
    if (r.dims == 0 || r.dims > WV_MAX_DIMS) {
        tv_error_set(err, TV_ERR_DATA, "%s: the header says vectors of %llu values (1 to %d)",
                     blob->name, (unsigned long long)r.dims, WV_MAX_DIMS);
        goto out;
    }
    row_bytes = 4 * r.dims;
    /* A row is at least a 1-byte word, a space and the vector. */
    if (reserve_rows(&r, (uint64_t)(len - pos) / (row_bytes + 2)) < 0)
        goto out;
    r.v = tv_model_new_vocab(m, blob->name, err);
    if (!r.v)
        goto out;

    for (;;) {
        while (pos < len && buf[pos] == '\n')
            pos++;
        if (pos >= len)
            break;
        size_t start = pos;
        snprintf(where, sizeof where, "row %llu at offset %zu", (unsigned long long)r.rows,
                 start);
        size_t window = len - pos < WV_MAX_WORD + 1 ? len - pos : WV_MAX_WORD + 1;
        const uint8_t *space = memchr(buf + pos, ' ', window);
        if (!space) {
            tv_error_set(err, TV_ERR_DATA, "%s: %s: no space ends the word within %zu bytes%s",
                         blob->name, where, window,
                         window <= WV_MAX_WORD ? " (truncated file?)" : "");
            goto out;
        }
        size_t wlen = (size_t)(space - (buf + pos));
        if (wlen == 0) {
            tv_error_set(err, TV_ERR_DATA, "%s: %s: empty word", blob->name, where);
            goto out;
        }
        pos += wlen + 1;
        if (len - pos < row_bytes) {
            show_word(shown, sizeof shown, buf + start, wlen);
            tv_error_set(err, TV_ERR_DATA, "%s: %s (word '%s'): the vector needs %llu bytes, "
                         "%zu left (truncated file?)", blob->name, where, shown,
                         (unsigned long long)row_bytes, len - pos);
            goto out;
        }
        float *dst = row_slot(&r, where);
        if (!dst)
            goto out;
        for (uint64_t i = 0; i < r.dims; i++) {
            uint32_t bits = tv_le32(buf + pos + 4 * i);
            memcpy(&dst[i], &bits, 4);
        }
        pos += (size_t)row_bytes;
        if (add_word(&r, buf + start, wlen, where) < 0)
            goto out;
    }
    rc = finish(&r, blob, WV_BINARY, true, header_rows);
out:
    tv_free(r.values);
    tv_strmap_release(&r.words);
    return rc;
}

/* ---- probes ---------------------------------------------------------------------- */

/* The first line after pos, if it ends within the probe window. */
static bool probe_line(const uint8_t *buf, size_t len, size_t pos, const uint8_t **line,
                       size_t *line_len)
{
    size_t window = len - pos < WV_PROBE_LINE ? len - pos : WV_PROBE_LINE;
    if (window < len - pos && !memchr(buf + pos, '\n', window))
        return false;
    return next_line(buf, len, &pos, line, line_len);
}

/* Whether a line is a word followed by at least min_values numbers (and only numbers). */
static bool looks_like_text_row(const uint8_t *line, size_t len, uint64_t min_values)
{
    size_t pos = 0, flen;
    const uint8_t *field;
    float f;
    if (!next_field(line, len, &pos, &field, &flen))
        return false;
    uint64_t n = 0;
    while (next_field(line, len, &pos, &field, &flen)) {
        int rc = parse_float(field, flen, &f);
        if (rc != 0 && rc != -2)
            return false;
        n++;
    }
    return n >= min_values;
}

/*
 * Whether the first row after a header is text: printable bytes only, a word and at
 * least one value that starts as a number. The rest of the row is left to the reader,
 * which names a bad value or a wrong count precisely. A binary row passes this only if
 * its first float's bytes happen to spell a number and then a newline.
 */
static bool first_row_is_text(const uint8_t *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
            return false;
    size_t pos = 0, flen;
    const uint8_t *field;
    float f;
    if (!next_field(line, len, &pos, &field, &flen) || !next_field(line, len, &pos, &field, &flen))
        return false;
    return parse_float(field, flen, &f) != -1;
}

static int probe_text(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    uint64_t rows, dims;
    size_t body;
    const uint8_t *line;
    size_t line_len;
    if (!parse_header(buf, len, &rows, &dims, &body))
        return 0;
    if (body >= len)
        return 50; /* a header and nothing else: an empty text file */
    if (!probe_line(buf, len, body, &line, &line_len))
        return 0;
    return first_row_is_text(line, line_len) ? 50 : 0;
}

static int probe_binary(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    uint64_t rows, dims, row_bytes;
    size_t pos;
    const uint8_t *line;
    size_t line_len;
    if (!parse_header(buf, len, &rows, &dims, &pos) || pos >= len)
        return 0;
    if (probe_line(buf, len, pos, &line, &line_len) && first_row_is_text(line, line_len))
        return 0;
    while (pos < len && buf[pos] == '\n')
        pos++;
    size_t window = len - pos < 1024 ? len - pos : 1024;
    const uint8_t *space = memchr(buf + pos, ' ', window);
    if (!space || space == buf + pos || memchr(buf + pos, '\n', (size_t)(space - (buf + pos))))
        return 0;
    pos = (size_t)(space - buf) + 1;
    if (dims == 0 || !tv_mul_u64_fits(dims, 4, &row_bytes) || row_bytes > len - pos)
        return 0;
    return 50;
}

static int probe_glove(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    uint64_t rows, dims;
    size_t body;
    const uint8_t *line;
    size_t line_len;
    if (len == 0 || parse_header(buf, len, &rows, &dims, &body))
        return 0;
    if (!probe_line(buf, len, 0, &line, &line_len) || !looks_like_text_row(line, line_len, 2))
        return 0;
    /* Lines of numbers of varying length (token id lists, tables) are not vectors: a
       second line, when there is one, must have as many fields as the first. */
    uint64_t fields = count_fields(line, line_len);
    size_t next = (size_t)(line - buf) + line_len;
    while (next < len && buf[next] != '\n')
        next++; /* past a '\r' the line reader dropped */
    const uint8_t *second;
    size_t second_len;
    if (next < len && probe_line(buf, len, next + 1, &second, &second_len) &&
        !line_is_blank(second, second_len) && count_fields(second, second_len) != fields)
        return 0;
    return 30;
}

static int read_word2vec_text(tv_model *m, tv_blob *blob, tv_error *err)
{
    return read_text(m, blob, WV_TEXT, err);
}

static int read_glove(tv_model *m, tv_blob *blob, tv_error *err)
{
    return read_text(m, blob, WV_GLOVE, err);
}

/* ---- writers ------------------------------------------------------------------------ */

/*
 * The writers stream the primary vocabulary and the token embedding: a header (not for
 * GloVe), then one row per token, the vector decoded to float32 a chunk of rows at a
 * time (any dtype with a float32 decoder). Text values are written with 9 significant
 * digits, which read back as the same float32. What these files cannot hold is an
 * error naming the token or the numbers: a row without a word (the vocabulary must
 * have exactly one token per row, no holes), an empty word, a word with a space, tab,
 * '\r' or '\n', and a dtype other than F32 asked for. Everything else of the model
 * (other tensors, merges, scores, special ids) is not part of these formats.
 */

#define WV_OUT_BUFFER 65536
#define WV_CHUNK_VALUES 65536

struct wv_out {
    tv_out *out;
    tv_error *err;
    uint8_t *buf;
    size_t len;
};

static int out_flush(struct wv_out *w)
{
    if (w->len && tv_out_write(w->out, w->buf, w->len, w->err) < 0)
        return -1;
    w->len = 0;
    return 0;
}

static int out_put(struct wv_out *w, const void *p, size_t n)
{
    if (w->len + n > WV_OUT_BUFFER && out_flush(w) < 0)
        return -1;
    if (n > WV_OUT_BUFFER)
        return tv_out_write(w->out, p, n, w->err);
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

/* Checks that m can be written as word vectors and returns its embedding and words. */
static int writable(const tv_model *m, const struct tv_write_options *opt,
                    const char *format, const struct tv_tensor **emb_out,
                    const struct tv_vocab **vocab_out, tv_error *err)
{
    const struct tv_tensor *emb = tv_model_embedding(m);
    const struct tv_vocab *v = tv_model_vocab(m);
    if (!emb)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: no token embedding to write as %s "
                            "(name one with --embedding)", m->path, format);
    if (emb->n_dims != 2 || emb->shape[1] == 0 || !emb->data)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: tensor '%s' is not a loaded 2-D "
                            "matrix with columns", m->path, emb->name);
    if (!tv_dtype_can_to_f32(emb->dtype))
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: tensor '%s' is %s, which has no "
                            "float32 decoder", m->path, emb->name, tv_dtype_name(emb->dtype));
    if (opt && opt->dtype >= 0 && opt->dtype != TV_DTYPE_F32)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s holds float32 vectors only, not %s",
                            format, tv_dtype_name((enum tv_dtype)opt->dtype));
    size_t n_tokens = v ? v->n_tokens : 0;
    if (n_tokens != emb->shape[0])
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: %s needs one word per row: the "
                            "vocabulary has %zu tokens, '%s' has %llu rows", m->path, format,
                            n_tokens, emb->name, (unsigned long long)emb->shape[0]);
    for (size_t id = 0; id < n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        const char *why = NULL;
        if (!t->text)
            why = "no token has this id";
        else if (t->len == 0)
            why = "the token is empty";
        else if (memchr(t->text, ' ', t->len) || memchr(t->text, '\t', t->len) ||
                 memchr(t->text, '\n', t->len) || memchr(t->text, '\r', t->len))
            why = "the token holds a space, tab or line break, which separate fields";
        if (why) {
            char shown[200];
            show_word(shown, sizeof shown, (const uint8_t *)(t->text ? t->text : ""),
                      t->text ? t->len : 0);
            return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: %s cannot hold row %zu ('%s'): "
                                "%s", m->path, format, id, shown, why);
        }
    }
    *emb_out = emb;
    *vocab_out = v;
    return 0;
}

static int write_vectors(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                         enum wv_kind kind, tv_error *err)
{
    const struct tv_tensor *emb = NULL;
    const struct tv_vocab *v = NULL;
    if (writable(m, opt, kind_names[kind], &emb, &v, err) < 0)
        return -1;
    uint64_t rows = emb->shape[0], dims = emb->shape[1];
    if (kind == WV_GLOVE && dims < 2)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: GloVe text needs vectors of 2 or "
                            "more values to be told from other text ('%s' has %llu); write "
                            "word2vec text", m->path, emb->name, (unsigned long long)dims);
    uint64_t chunk_rows = WV_CHUNK_VALUES / dims ? WV_CHUNK_VALUES / dims : 1;
    int rc = -1;
    struct wv_out w = {.out = out, .err = err};
    float *values = NULL;
    w.buf = tv_malloc(WV_OUT_BUFFER);
    if (chunk_rows > rows)
        chunk_rows = rows ? rows : 1;
    uint64_t chunk_bytes;
    if (!tv_mul_u64_fits(chunk_rows * dims, 4, &chunk_bytes) || chunk_bytes > SIZE_MAX ||
        !w.buf || !(values = tv_malloc((size_t)chunk_bytes))) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory writing %s", m->path,
                     kind_names[kind]);
        goto out;
    }
    char text[64];
    if (kind != WV_GLOVE) {
        int n = snprintf(text, sizeof text, "%llu %llu\n", (unsigned long long)rows,
                         (unsigned long long)dims);
        if (out_put(&w, text, (size_t)n) < 0)
            goto out;
    }
    for (uint64_t first = 0; first < rows; first += chunk_rows) {
        uint64_t n_rows = rows - first < chunk_rows ? rows - first : chunk_rows;
        if (tv_tensor_rows_f32(emb, first, n_rows, values, err) < 0)
            goto out;
        for (uint64_t r = 0; r < n_rows; r++) {
            const struct tv_token *t = &v->tokens[first + r];
            if (out_put(&w, t->text, t->len) < 0 || out_put(&w, " ", 1) < 0)
                goto out;
            const float *row = values + r * dims;
            if (kind == WV_BINARY) {
                for (uint64_t c = 0; c < dims; c++) {
                    uint32_t bits;
                    memcpy(&bits, &row[c], 4);
                    uint8_t le[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                                     (uint8_t)(bits >> 24)};
                    if (out_put(&w, le, 4) < 0)
                        goto out;
                }
            } else {
                for (uint64_t c = 0; c < dims; c++) {
                    int n = snprintf(text, sizeof text, c ? " %.9g" : "%.9g", (double)row[c]);
                    if (out_put(&w, text, (size_t)n) < 0)
                        goto out;
                }
            }
            if (out_put(&w, "\n", 1) < 0)
                goto out;
        }
    }
    rc = out_flush(&w);
out:
    tv_free(values);
    tv_free(w.buf);
    return rc;
}

static int write_word2vec_text(const tv_model *m, tv_out *out,
                               const struct tv_write_options *opt, tv_error *err)
{
    return write_vectors(m, out, opt, WV_TEXT, err);
}

static int write_word2vec_binary(const tv_model *m, tv_out *out,
                                 const struct tv_write_options *opt, tv_error *err)
{
    return write_vectors(m, out, opt, WV_BINARY, err);
}

static int write_glove(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                       tv_error *err)
{
    return write_vectors(m, out, opt, WV_GLOVE, err);
}

const struct tv_format tv_format_word2vec = {
    .name = "word2vec",
    .label = "word2vec text",
    .probe = probe_text,
    .read = read_word2vec_text,
    .write = write_word2vec_text,
};

const struct tv_format tv_format_word2vec_binary = {
    .name = "word2vec-binary",
    .label = "word2vec binary",
    .probe = probe_binary,
    .read = read_binary,
    .write = write_word2vec_binary,
};

const struct tv_format tv_format_glove = {
    .name = "glove",
    .label = "GloVe text",
    .probe = probe_glove,
    .read = read_glove,
    .write = write_glove,
};
