/* Word vectors: every word-vector file of the real fixtures (word2vec text and binary,
   fastText .vec, GloVe), headers that lie about the row count, invalid UTF-8 words,
   hand-made text and binary files with every error the readers name, truncation at
   every offset, failing allocations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convert.h"
#include "failalloc.h"
#include "testutil.h"

static const char *finding_message(const tv_model *m, const char *check)
{
    for (size_t i = 0; i < m->n_findings; i++)
        if (strcmp(m->findings[i].check, check) == 0)
            return m->findings[i].message;
    return "";
}

static float value_at(const tv_model *m, uint64_t row, uint64_t col)
{
    const struct tv_tensor *t = tv_model_embedding(m);
    assert_non_null(t);
    float f;
    memcpy(&f, t->data + 4 * (row * t->shape[1] + col), 4);
    return f;
}

static void assert_word(const tv_model *m, uint32_t id, const char *word)
{
    const struct tv_token *t = tv_vocab_token(m, id);
    assert_non_null(t);
    if (t->len != strlen(word) || memcmp(t->text, word, t->len) != 0)
        fail_msg("word %u is '%s', expected '%s'", id, t->text, word);
}

static tv_model *read_text(const char *text, const char *name, tv_error *err)
{
    return tv_model_read_memory(text, strlen(text), name, NULL, err);
}

/* ---- real fixtures --------------------------------------------------------------- */

static const struct real_case {
    const char *file;
    const char *kind;
    uint64_t rows, dims;
    const char *first_word;
    float first_value;
    const char *last_word;
    float last_value;
    size_t row_count_findings, utf8_findings;
} real_cases[] = {
    {"gensim-EN.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", "word2vec text", 20, 300,
     "one", -0.01671300083398819f, "mango", 0.2991499900817871f, 0, 0},
    {"gensim-crime-and-punishment.vec", "word2vec text", 291, 5, "\xd0\xb8",
     -0.11189000308513641f, "\xd0\xbd\xd0\xb0\xd0\xbf\xd1\x80\xd0\xbe\xd1\x82\xd0\xb8\xd0\xb2;",
     0.05477200075984001f, 0, 0},
    {"gensim-euclidean_vectors.bin", "word2vec binary", 2747, 10, "the", 0.4214532673358917f,
     "fly", 0.34151116013526917f, 0, 0},
    {"gensim-high_precision.kv.bin", "word2vec binary", 2, 2, "kangaroo.n.01",
     -0.0007367134094238281f, "horse.n.01", 0.0007696151733398438f, 0, 0},
    {"gensim-high_precision.kv.txt", "word2vec text", 2, 2, "kangaroo.n.01",
     -0.0007369244121946394f, "horse.n.01", 0.0007694142404943705f, 0, 0},
    {"gensim-lee_fasttext.vec", "word2vec text", 1762, 10, "the", -0.6599199771881104f,
     "hundred", 0.0600069984793663f, 0, 0},
    {"gensim-pang_lee_polarity_fasttext.vec", "word2vec text", 1694, 100, ".",
     -0.00736769987270236f, "worse", -0.007887599989771843f, 0, 5},
    {"gensim-poincare_vectors.bin", "word2vec binary", 1182, 10, "mammal.n.01",
     -0.02205541729927063f, "female_mammal.n.01", -0.30721330642700195f, 0, 0},
    {"gensim-pretrained.vec", "word2vec text", 1, 5, "dummy", 0.06932400166988373f, "dummy",
     0.03204299882054329f, 1, 0},
    {"gensim-test_glove.txt", "GloVe text", 76, 50, "the", 0.4180000126361847f, "into",
     -1.1741000413894653f, 0, 0},
    {"gensim-toy-model.vec", "word2vec text", 22, 5, "the", 0.06881099939346313f, "by",
     0.006165999919176102f, 0, 0},
    {"gensim-w2v_keyedvectors_load_test.modeldata", "word2vec text", 2, 3,
     "\xe3\x81\x82\xe3\x82\x8a\xe3\x81\x8c\xe3\x81\xa8\xe3\x81\x86\xe3\x83", 0.6f,
     "\xe3\x81\xa9\xe3\x81\x86\xe3\x81\x84\xe3\x81\x9f\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x97"
     "\xe3\x81\xa6\xe3\x83", 0.3f, 0, 2},
    {"gensim-word2vec_pre_kv_c", "word2vec text", 1750, 10, "the", -0.5611060261726379f,
     "indonesian", -0.13275299966335297f, 0, 0},
    {"torchtext-glove.6B.50d.txt", "GloVe text", 1, 50, "the", 0.418f, "the",
     -0.7858099937438965f, 0, 0},
    {"torchtext-glove.840B.300d.txt", "GloVe text", 100, 300, ",", -0.08275199681520462f,
     "people", 0.19509999454021454f, 0, 0},
    {"torchtext-wiki.en.vec", "word2vec text", 99, 300, ",", -0.023166999220848083f,
     "university", 0.0259770005941391f, 1, 0},
    {"word2vec-npm-hamlet-vectors.txt", "word2vec text", 2631, 200, "</s>",
     0.002001000102609396f, "BUT", -0.03406500071287155f, 0, 0},
};

static void wordvec_reads_every_real_word_vector_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_cases); i++) {
        const struct real_case *c = &real_cases[i];
        char rel[256];
        snprintf(rel, sizeof rel, "wordvec/%s", c->file);
        tv_error err = {0};
        tv_model *m = tv_model_open(real_fixture(rel), NULL, &err);
        if (!m)
            fail_msg("%s: %s", c->file, err.message);
        if (strcmp(tv_model_kind(m), c->kind) != 0)
            fail_msg("%s read as %s, expected %s", c->file, tv_model_kind(m), c->kind);
        const struct tv_tensor *t = tv_model_embedding(m);
        assert_non_null(t);
        assert_string_equal(t->name, "embeddings");
        assert_int_equal(t->dtype, TV_DTYPE_F32);
        assert_int_equal(t->n_dims, 2);
        if (t->shape[0] != c->rows || t->shape[1] != c->dims)
            fail_msg("%s: %llu x %llu, expected %llu x %llu", c->file,
                     (unsigned long long)t->shape[0], (unsigned long long)t->shape[1],
                     (unsigned long long)c->rows, (unsigned long long)c->dims);
        assert_int_equal(tv_vocab_size(m), c->rows);
        assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_NONE);
        assert_word(m, 0, c->first_word);
        assert_word(m, (uint32_t)c->rows - 1, c->last_word);
        if (value_at(m, 0, 0) != c->first_value || value_at(m, c->rows - 1, c->dims - 1) != c->last_value)
            fail_msg("%s: values %.9g .. %.9g, expected %.9g .. %.9g", c->file,
                     value_at(m, 0, 0), value_at(m, c->rows - 1, c->dims - 1), c->first_value,
                     c->last_value);
        float row[300];
        assert_int_equal(tv_tensor_rows_f32(t, c->rows - 1, 1, row, &err), 0);
        assert_true(row[c->dims - 1] == c->last_value);
        assert_int_equal(count_findings(m, "structure.row_count"), c->row_count_findings);
        assert_int_equal(count_findings(m, "structure.utf8"), c->utf8_findings);
        assert_int_equal(count_findings(m, "vocab.duplicate_id"), 0);
        uint32_t id;
        assert_int_equal(tv_vocab_find(m, c->last_word, strlen(c->last_word), &id), 0);
        assert_int_equal(id, c->rows - 1);
        tv_model_free(m);
    }
}

/* The largest single allocation while reading: the lying headers must not size it. */
static size_t largest_request;
static void *measuring_malloc(size_t n)
{
    if (n > largest_request)
        largest_request = n;
    return malloc(n);
}
static void *measuring_realloc(void *p, size_t n)
{
    if (n > largest_request)
        largest_request = n;
    return realloc(p, n);
}

static void wordvec_lying_headers_are_reported_and_never_sized_from(void **state)
{
    (void)state;
    const struct {
        const char *file;
        const char *message;
    } cases[] = {
        {"wordvec/torchtext-wiki.en.vec", "the header claims 2519370 rows but the file holds 99"},
        {"wordvec/gensim-pretrained.vec", "the header claims 3 rows but the file holds 1"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        const char *path = real_fixture(cases[i].file);
        size_t len;
        uint8_t *bytes = read_file_or_fail(path, &len);
        tv_free(bytes);
        largest_request = 0;
        tv_set_allocator(measuring_malloc, measuring_realloc, free);
        tv_error err = {0};
        tv_model *m = tv_model_open(path, NULL, &err);
        tv_set_allocator(NULL, NULL, NULL);
        assert_non_null(m);
        if (largest_request > 2 * len + 65536)
            fail_msg("%s: an allocation of %zu bytes for a %zu-byte file", cases[i].file,
                     largest_request, len);
        assert_int_equal(count_findings(m, "structure.row_count"), 1);
        assert_non_null(strstr(finding_message(m, "structure.row_count"), cases[i].message));
        for (size_t k = 0; k < m->n_findings; k++)
            assert_int_equal(m->findings[k].severity, TV_SEVERITY_WARN);
        tv_model_free(m);
    }
}

static void wordvec_keeps_truncated_utf8_words_byte_for_byte(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture("wordvec/gensim-w2v_keyedvectors_load_test.modeldata"),
                                NULL, &err);
    assert_non_null(m);
    const struct tv_token *t = tv_vocab_token(m, 0);
    assert_int_equal(t->len, 17);
    assert_memory_equal(t->text + 15, "\xe3\x83", 2);
    assert_non_null(strstr(finding_message(m, "structure.utf8"),
                           "line 2: word '\xe3\x81\x82\xe3\x82\x8a\xe3\x81\x8c\xe3\x81\xa8\xe3"
                           "\x81\x86\\xe3\\x83' is not valid UTF-8 (byte 17 of 17); kept as is"));
    /* messages stay valid UTF-8: the broken bytes are escaped */
    for (size_t i = 0; i < m->n_findings; i++)
        assert_true(tv_utf8_valid(m->findings[i].message, strlen(m->findings[i].message)));
    assert_true(value_at(m, 1, 2) == 0.3f);
    tv_model_free(m);
}

static void wordvec_refuses_the_gensim_vocab_count_file_and_archives(void **state)
{
    (void)state;
    const char *files[] = {"wordvec/gensim-w2v_keyedvectors_load_test.vocab"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(files); i++) {
        tv_error err = {0};
        tv_model *m = tv_model_open(real_fixture(files[i]), NULL, &err);
        assert_null(m);
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, "not a format tokvec reads"));
    }
}

/* ---- hand-made text ---------------------------------------------------------------- */

static void wordvec_text_accepts_crlf_tabs_blank_lines_and_trailing_spaces(void **state)
{
    (void)state;
    const char *text = "2 3  \r\n"
                       "a\t1 2.5 -3 \r\n"
                       "\n"
                       "   \n"
                       "b 4e-1 5E+2  -0.0\n"
                       "\n";
    tv_error err = {0};
    tv_model *m = read_text(text, "x.vec", &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_string_equal(tv_model_kind(m), "word2vec text");
    assert_int_equal(tv_vocab_size(m), 2);
    assert_word(m, 1, "b");
    assert_true(value_at(m, 0, 1) == 2.5f);
    assert_true(value_at(m, 1, 0) == 0.4f);
    assert_true(value_at(m, 1, 1) == 500.0f);
    assert_true(signbit(value_at(m, 1, 2)));
    assert_int_equal(m->n_findings, 0);
    const struct tv_meta *claimed = tv_model_meta_find(m, "wordvec.header_rows");
    assert_non_null(claimed);
    assert_int_equal(claimed->value.as.u, 2);
    tv_model_free(m);
}

static void wordvec_text_names_the_line_word_and_counts_of_a_bad_row(void **state)
{
    (void)state;
    const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"2 3\na 1 2 3\nb 1 2\n", "bad.vec: line 3 (word 'b'): 2 values, expected 3"},
        {"2 3\na 1 2 3\nb 1 2 3 4\n", "bad.vec: line 3 (word 'b'): 4 values, expected 3"},
        {"1 2\nw 1 x2\n", "bad.vec: line 2 (word 'w'): value 2 'x2' is not a number"},
        {"1 2\nw 1 1e40\n", "bad.vec: line 2 (word 'w'): value 2 '1e40' overflows float32"},
        {"1 2\nw 1 "
         "0.0000000000000000000000000000000000000000000000000000000000000001\n",
         "value 2 '0.00000000000000000000000000000000000000...' is longer than 63 characters"},
        {"1 0\n", "the header says vectors of 0 values"},
        {"1 16777217\nw 1\n", "vectors of 16777217 values (1 to 16777216)"},
        {"a 1 2\nb 3 4\nc 1 2 3\n", "bad.vec: line 3 (word 'c'): 3 values, expected 2"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_error err = {0};
        tv_model *m = read_text(cases[i].text, "bad.vec", &err);
        assert_null(m);
        assert_int_equal(err.code, TV_ERR_DATA);
        if (!strstr(err.message, cases[i].message))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].message);
    }
}

static void wordvec_reads_more_rows_than_the_header_claims_and_says_so(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = read_text("1 2\na 1 2\nb 3 4\nc 5 6\n", "more.vec", &err);
    assert_non_null(m);
    assert_int_equal(tv_vocab_size(m), 3);
    assert_int_equal(tv_model_embedding(m)->shape[0], 3);
    assert_non_null(strstr(finding_message(m, "structure.row_count"),
                           "more.vec: the header claims 1 rows but the file holds 3; read 3"));
    tv_model_free(m);

    /* a header claiming 2^63 rows, with one row: nothing sized from the claim */
    m = read_text("9223372036854775808 2\na 1 2\n", "huge.vec", &err);
    assert_non_null(m);
    assert_int_equal(tv_vocab_size(m), 1);
    assert_int_equal(count_findings(m, "structure.row_count"), 1);
    tv_model_free(m);

    /* a header and no rows at all */
    m = read_text("0 4\n", "empty.vec", &err);
    assert_non_null(m);
    assert_int_equal(tv_vocab_size(m), 0);
    assert_int_equal(tv_model_tensor(m, 0)->shape[1], 4);
    tv_model_free(m);
}

static void wordvec_reports_repeated_words_and_finds_the_first(void **state)
{
    (void)state;
    char text[4096] = "";
    size_t len = 0;
    len += (size_t)snprintf(text + len, sizeof text - len, "w 0 1\n");
    for (int i = 0; i < 12; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "w %d 1\nx%d 1 1\n", i, i);
    tv_error err = {0};
    tv_model *m = read_text(text, "dup.txt", &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_string_equal(tv_model_kind(m), "GloVe text");
    assert_int_equal(tv_vocab_size(m), 25);
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "w", 1, &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(count_findings(m, "vocab.duplicate_id"), 9); /* 8 + a summary */
    assert_non_null(strstr(finding_message(m, "vocab.duplicate_id"),
                           "dup.txt: line 2: word 'w' repeats id 0 as id 1"));
    int summary = 0;
    for (size_t i = 0; i < m->n_findings; i++)
        summary += strstr(m->findings[i].message, "4 more repeated words not listed") != NULL;
    assert_int_equal(summary, 1);
    tv_model_free(m);
}

static void wordvec_probes_tell_the_three_formats_apart(void **state)
{
    (void)state;
    const char *text = "1 2\nw 0.5 1\n";
    const char *glove = "w 0.5 1\n";
    const char *one_value = "w 0.5\n"; /* a GloVe line needs two values */
    const char *counts = "word 123\nother 5\n";
    const char *ids = "15496 11 703 389\n40 1101\n";
    uint8_t binary[32] = "1 2\nw ";
    memcpy(binary + 6, "\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
    const struct tv_format *fmts[] = {&tv_format_word2vec, &tv_format_word2vec_binary,
                                      &tv_format_glove};
    const struct {
        const uint8_t *buf;
        size_t len;
        int expect[3];
    } cases[] = {
        {(const uint8_t *)text, strlen(text), {50, 0, 0}},
        {binary, 14, {0, 50, 0}},
        {(const uint8_t *)glove, strlen(glove), {0, 0, 30}},
        {(const uint8_t *)one_value, strlen(one_value), {0, 0, 0}},
        {(const uint8_t *)counts, strlen(counts), {0, 0, 0}},
        {(const uint8_t *)ids, strlen(ids), {0, 0, 0}}, /* id lists are not vectors */
        {binary, 12, {0, 0, 0}}, /* binary row shorter than its vector */
        {(const uint8_t *)"", 0, {0, 0, 0}},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        for (size_t f = 0; f < 3; f++)
            if (fmts[f]->probe(cases[i].buf, cases[i].len, "x") != cases[i].expect[f])
                fail_msg("case %zu: %s probe gives %d, expected %d", i, fmts[f]->name,
                         fmts[f]->probe(cases[i].buf, cases[i].len, "x"), cases[i].expect[f]);
}

/* The reader's fast path for short decimals must give exactly strtof's float. */
static void wordvec_text_values_equal_strtof_for_every_spelling(void **state)
{
    (void)state;
    const char *formats[] = {"%.3f", "%.5f", "%.6f", "%.7f", "%.9g", "%.4e", "%.6e", "%.7e",
                             "%.18e", "%g", "%.1f", "%.10f", "%E", "%+.5f", "%.0f"};
    const int rows = 400, dims = 50;
    size_t cap = (size_t)rows * dims * 40 + 4096, len = 0;
    char *text = malloc(cap);
    char (*spelled)[40] = malloc(sizeof *spelled * (size_t)rows * dims);
    len += (size_t)snprintf(text, cap, "%d %d\n", rows, dims);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int r = 0; r < rows; r++) {
        len += (size_t)snprintf(text + len, cap - len, "w%d", r);
        for (int c = 0; c < dims; c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            double mag = (double)(x % 2000001) / 1000000.0; /* 0 .. 2 */
            int scale = (int)(x >> 40) % 13 - 8;             /* 1e-8 .. 1e4 */
            double v = (x & 1 ? -mag : mag) * pow(10, scale);
            char *cell = spelled[r * dims + c];
            snprintf(cell, 40, formats[(x >> 20) % TV_ARRAY_SIZE(formats)], v);
            len += (size_t)snprintf(text + len, cap - len, " %s", cell);
        }
        text[len++] = '\n';
    }
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(text, len, "spellings.vec", NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    for (int i = 0; i < rows * dims; i++) {
        float want = strtof(spelled[i], NULL), got = value_at(m, (uint64_t)(i / dims),
                                                               (uint64_t)(i % dims));
        if (memcmp(&want, &got, 4) != 0)
            fail_msg("'%s' read as %.9g, strtof gives %.9g", spelled[i], got, want);
    }
    tv_model_free(m);
    free(spelled);
    free(text);
}

/* ---- binary -------------------------------------------------------------------------- */

/* Builds a binary file of rows words with dims values (value = row + col / 10). */
static size_t build_binary(uint8_t *out, size_t cap, uint64_t rows, uint64_t dims,
                           bool newline, const char *header)
{
    size_t len = (size_t)snprintf((char *)out, cap, "%s", header);
    for (uint64_t r = 0; r < rows; r++) {
        len += (size_t)snprintf((char *)out + len, cap - len, "w%llu ", (unsigned long long)r);
        for (uint64_t c = 0; c < dims; c++) {
            float f = (float)r + (float)c / 10.0f;
            uint32_t bits;
            memcpy(&bits, &f, 4);
            for (int b = 0; b < 4; b++)
                out[len++] = (uint8_t)(bits >> (8 * b));
        }
        if (newline)
            out[len++] = '\n';
    }
    assert_true(len < cap);
    return len;
}

static void wordvec_binary_reads_rows_with_and_without_newlines(void **state)
{
    (void)state;
    uint8_t buf[1024];
    for (int newline = 0; newline < 2; newline++) {
        size_t len = build_binary(buf, sizeof buf, 5, 3, newline, "5 3\n");
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(buf, len, "v.bin", NULL, &err);
        if (!m)
            fail_msg("%s", err.message);
        assert_string_equal(tv_model_kind(m), "word2vec binary");
        assert_int_equal(tv_vocab_size(m), 5);
        assert_word(m, 4, "w4");
        assert_true(value_at(m, 4, 2) == 4.0f + 2.0f / 10.0f);
        assert_int_equal(m->n_findings, 0);
        tv_model_free(m);
    }
}

static void wordvec_binary_names_what_is_wrong(void **state)
{
    (void)state;
    uint8_t buf[1024];
    const struct {
        const char *header;
        size_t cut;       /* bytes removed from the end */
        const char *message;
    } cases[] = {
        {"2 3\n", 5, "b.bin: row 1 at offset 19 (word 'w1'): the vector needs 12 bytes, 7 left"},
        {"2 3\n", 13, "b.bin: row 1 at offset 19: no space ends the word within 2 bytes"},
        {"2 16777217\n", 0, "vectors of 16777217 values"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        size_t len = build_binary(buf, sizeof buf, 2, 3, false, cases[i].header);
        tv_error err = {0};
        tv_blob *blob = tv_blob_copy(buf, len - cases[i].cut, "b.bin", &err);
        tv_model *m = tv_model_new_empty("b.bin", NULL, &err);
        assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
        assert_int_equal(tv_format_word2vec_binary.read(m, blob, &err), -1);
        if (!strstr(err.message, cases[i].message))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].message);
        tv_blob_unref(blob);
        tv_model_free(m);
    }
    /* a word with no space for 64 KiB */
    size_t big = 70000;
    uint8_t *long_word = malloc(big);
    memcpy(long_word, "1 1\n", 4);
    memset(long_word + 4, 'x', big - 4);
    tv_error err = {0};
    tv_blob *blob = tv_blob_copy(long_word, big, "long.bin", &err);
    tv_model *m = tv_model_new_empty("long.bin", NULL, &err);
    assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
    assert_int_equal(tv_format_word2vec_binary.read(m, blob, &err), -1);
    assert_non_null(strstr(err.message, "no space ends the word within 65537 bytes"));
    tv_blob_unref(blob);
    tv_model_free(m);
    free(long_word);
}

static void wordvec_binary_survives_truncation_at_every_offset(void **state)
{
    (void)state;
    uint8_t buf[1024];
    size_t len = build_binary(buf, sizeof buf, 4, 3, true, "4 3\n");
    for (size_t cut = 0; cut < len; cut++) {
        tv_error err = {0};
        tv_blob *blob = tv_blob_copy(buf, cut, "cut.bin", &err);
        tv_model *m = tv_model_new_empty("cut.bin", NULL, &err);
        assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
        int rc = tv_format_word2vec_binary.read(m, blob, &err);
        if (rc == 0) {
            /* a cut right after a row (or its optional newline): the rows before it,
               and a finding whenever the header says more */
            assert_true(tv_vocab_size(m) <= 4);
            assert_int_equal(count_findings(m, "structure.row_count"), tv_vocab_size(m) < 4);
        } else {
            assert_int_equal(err.code, TV_ERR_DATA);
            assert_non_null(strstr(err.message, "cut.bin"));
        }
        tv_blob_unref(blob);
        tv_model_free(m);
        /* and through detection, whatever format claims the prefix */
        m = tv_model_read_memory(buf, cut, "cut.bin", NULL, &err);
        tv_model_free(m);
    }
}

static void wordvec_readers_survive_every_allocation_failure(void **state)
{
    (void)state;
    uint8_t bin[1024];
    size_t bin_len = build_binary(bin, sizeof bin, 4, 3, false, "4 3\n");
    const char *text = "3 2\na 1 2\nb 3 4\na 5 6\n";
    const char *glove = "a 1 2\n\xff 3 4\n";
    const struct {
        const void *buf;
        size_t len;
    } inputs[] = {{bin, bin_len}, {text, strlen(text)}, {glove, strlen(glove)}};
    for (size_t i = 0; i < TV_ARRAY_SIZE(inputs); i++) {
        struct failalloc_input in = {.buf = inputs[i].buf, .len = inputs[i].len, .name = "oom"};
        struct failalloc_sweep s = failalloc_sweep(2000, failalloc_read_model, &in);
        if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
            fail_msg("input %zu, failing allocation %ld: %s", i, s.n, s.err.message);
        assert_true(s.succeeded);
    }
}

/* ---- writers ------------------------------------------------------------------------ */

static tv_model *write_and_read(const tv_model *m, const struct tv_format *fmt,
                                const char *path)
{
    tv_error err = {0};
    tv_out *out = tv_out_open(path, true, &err);
    assert_non_null(out);
    if (fmt->write(m, out, NULL, &err) < 0) {
        tv_out_abort(out);
        fail_msg("%s: %s", fmt->name, err.message);
    }
    assert_int_equal(tv_out_commit(out, &err), 0);
    tv_model *back = tv_model_open(path, NULL, &err);
    if (!back)
        fail_msg("%s: reading back: %s", fmt->name, err.message);
    if (strcmp(tv_model_kind(back), fmt->label) != 0)
        fail_msg("%s written, %s read back", fmt->label, tv_model_kind(back));
    return back;
}

static void assert_same_vectors(const tv_model *a, const tv_model *b, const char *what)
{
    assert_int_equal(tv_vocab_size(a), tv_vocab_size(b));
    for (uint32_t id = 0; id < tv_vocab_size(a); id++) {
        const struct tv_token *x = tv_vocab_token(a, id), *y = tv_vocab_token(b, id);
        if (x->len != y->len || memcmp(x->text, y->text, x->len) != 0)
            fail_msg("%s: word %u differs: '%s' / '%s'", what, id, x->text, y->text);
    }
    const struct tv_tensor *ea = tv_model_embedding(a), *eb = tv_model_embedding(b);
    assert_int_equal(ea->shape[0], eb->shape[0]);
    assert_int_equal(ea->shape[1], eb->shape[1]);
    assert_int_equal(eb->dtype, TV_DTYPE_F32);
    if (memcmp(ea->data, eb->data, ea->n_bytes) != 0)
        fail_msg("%s: the vectors differ", what);
}

static void wordvec_writers_round_trip_every_real_file_in_all_three_formats(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    const struct tv_format *fmts[] = {&tv_format_word2vec, &tv_format_word2vec_binary,
                                      &tv_format_glove};
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_cases); i++) {
        char rel[256], path[4096];
        snprintf(rel, sizeof rel, "wordvec/%s", real_cases[i].file);
        tv_error err = {0};
        tv_model *m = tv_model_open(real_fixture(rel), NULL, &err);
        assert_non_null(m);
        for (size_t f = 0; f < TV_ARRAY_SIZE(fmts); f++) {
            snprintf(path, sizeof path, "%s/out-%zu-%zu", dir, i, f);
            tv_model *back = write_and_read(m, fmts[f], path);
            char what[512];
            snprintf(what, sizeof what, "%s as %s", real_cases[i].file, fmts[f]->name);
            assert_same_vectors(m, back, what);
            assert_int_equal(count_findings(back, "structure.row_count"), 0);
            tv_model_free(back);
        }
        tv_model_free(m);
    }
    remove_tree(dir);
    tv_free(dir);
}

static void wordvec_writers_keep_nan_infinity_and_signed_zero(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = (size_t)snprintf((char *)buf, sizeof buf, "1 5\nw ");
    const uint32_t bits[5] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x80000000u, 0x00000001u};
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 4; b++)
            buf[len++] = (uint8_t)(bits[i] >> (8 * b));
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(buf, len, "special.bin", NULL, &err);
    assert_non_null(m);
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/special.txt", dir);
    tv_model *back = write_and_read(m, &tv_format_word2vec, path);
    const uint8_t *data = tv_model_embedding(back)->data;
    float f[5];
    memcpy(f, data, sizeof f);
    assert_true(isnan(f[0]));
    assert_true(isinf(f[1]) && f[1] > 0);
    assert_true(isinf(f[2]) && f[2] < 0);
    assert_true(f[3] == 0 && signbit(f[3]));
    assert_memory_equal(data + 16, buf + len - 4, 4); /* the smallest subnormal */
    tv_model_free(back);
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

static void wordvec_writers_refuse_what_the_formats_cannot_hold(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/out.vec", dir);
    tv_error err = {0};

    /* a vocabulary with a space in a token, paired with a matrix */
    tv_model *m = tv_model_read_memory("a 1 2\nb 3 4\n", 12, "two.txt", NULL, &err);
    assert_non_null(m);
    struct tv_vocab *v = &m->vocabs[0];
    assert_int_equal(tv_vocab_set_token(m, v, 1, "b c", 3, 0, TV_TOKEN_NORMAL, &err), 0);
    tv_out *out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_word2vec.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "cannot hold row 1 ('b c'): the token holds a space"));
    assert_int_equal(access(path, F_OK), -1); /* nothing left behind */

    /* an empty token, then a token past the last row */
    assert_int_equal(tv_vocab_set_token(m, v, 1, "", 0, 0, TV_TOKEN_NORMAL, &err), 0);
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_word2vec_binary.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "the token is empty"));
    assert_int_equal(tv_vocab_set_token(m, v, 3, "d", 1, 0, TV_TOKEN_NORMAL, &err), 0);
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_glove.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "the vocabulary has 4 tokens, 'embeddings' has 2 rows"));

    /* a dtype word2vec cannot hold */
    tv_model_free(m);
    m = tv_model_read_memory("a 1 2\nb 3 4\n", 12, "two.txt", NULL, &err);
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.dtype = TV_DTYPE_F16;
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_word2vec.write(m, out, &opt, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "float32 vectors only, not F16"));
    tv_model_free(m);

    /* GloVe of one value per word would read back as something else */
    m = tv_model_read_memory("1 1\na 1\n", 8, "one.vec", NULL, &err);
    assert_non_null(m);
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_glove.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "GloVe text needs vectors of 2 or more values"));
    tv_model_free(m);

    /* no embedding at all */
    m = tv_model_new_empty("empty", NULL, &err);
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_word2vec.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "no token embedding to write"));
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wordvec_reads_every_real_word_vector_file),
        cmocka_unit_test(wordvec_lying_headers_are_reported_and_never_sized_from),
        cmocka_unit_test(wordvec_keeps_truncated_utf8_words_byte_for_byte),
        cmocka_unit_test(wordvec_refuses_the_gensim_vocab_count_file_and_archives),
        cmocka_unit_test(wordvec_text_accepts_crlf_tabs_blank_lines_and_trailing_spaces),
        cmocka_unit_test(wordvec_text_names_the_line_word_and_counts_of_a_bad_row),
        cmocka_unit_test(wordvec_reads_more_rows_than_the_header_claims_and_says_so),
        cmocka_unit_test(wordvec_reports_repeated_words_and_finds_the_first),
        cmocka_unit_test(wordvec_probes_tell_the_three_formats_apart),
        cmocka_unit_test(wordvec_text_values_equal_strtof_for_every_spelling),
        cmocka_unit_test(wordvec_binary_reads_rows_with_and_without_newlines),
        cmocka_unit_test(wordvec_binary_names_what_is_wrong),
        cmocka_unit_test(wordvec_binary_survives_truncation_at_every_offset),
        cmocka_unit_test(wordvec_readers_survive_every_allocation_failure),
        cmocka_unit_test(wordvec_writers_round_trip_every_real_file_in_all_three_formats),
        cmocka_unit_test(wordvec_writers_keep_nan_infinity_and_signed_zero),
        cmocka_unit_test(wordvec_writers_refuse_what_the_formats_cannot_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
