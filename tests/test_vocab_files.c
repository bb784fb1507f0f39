/* vocab.json (encoder.json) + merges.txt (vocab.bpe) and vocab.txt: the real GPT-2, GPT-1,
   CLIP and BERT files, how they join in folders, and hostile inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "testutil.h"
#include "vocab_asserts.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* Runs one reader on len bytes (no format detection) into m, under the display name. */
static int read_into(tv_model *m, const struct tv_format *fmt, const char *text, size_t len,
                     const char *name, tv_error *err)
{
    tv_blob *blob = tv_blob_copy(text, len, name, err);
    assert_non_null(blob);
    int rc = tv_model_add_blob(m, blob, err);
    if (rc == 0)
        rc = fmt->read(m, blob, err);
    tv_blob_unref(blob);
    return rc;
}

static tv_model *read_one(const struct tv_format *fmt, const char *text, size_t len,
                          const char *name, tv_error *err)
{
    tv_model *m = tv_model_new_empty(name, NULL, err);
    assert_non_null(m);
    if (read_into(m, fmt, text, len, name, err) < 0) {
        tv_model_free(m);
        return NULL;
    }
    return m;
}

static tv_model *open_two_or_fail(const char *first, const char *second)
{
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", real_fixture(first));
    snprintf(b, sizeof b, "%s", real_fixture(second));
    const char *paths[] = {a, b};
    tv_error err = {0};
    tv_model *m = tv_model_open_many(paths, 2, NULL, &err);
    if (!m)
        fail_msg("%s + %s: %s", first, second, err.message);
    return m;
}

static void assert_same_tokens_and_merges(const struct tv_vocab *a, const struct tv_vocab *b)
{
    assert_int_equal(a->n_tokens, b->n_tokens);
    for (size_t id = 0; id < a->n_tokens; id++) {
        assert_int_equal(a->tokens[id].len, b->tokens[id].len);
        assert_memory_equal(a->tokens[id].text, b->tokens[id].text, a->tokens[id].len);
    }
    assert_int_equal(a->n_merges, b->n_merges);
    for (size_t i = 0; i < a->n_merges; i++) {
        assert_int_equal(a->merges[i].left_len, b->merges[i].left_len);
        assert_memory_equal(a->merges[i].left, b->merges[i].left, a->merges[i].left_len);
        assert_int_equal(a->merges[i].right_len, b->merges[i].right_len);
        assert_memory_equal(a->merges[i].right, b->merges[i].right, a->merges[i].right_len);
    }
}

/* ---- vocab.txt ---------------------------------------------------------------------------- */

static void vocab_txt_reads_bert_uncased_and_cased_with_their_specials(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        size_t n_tokens;
        uint32_t hello_id;
        const char *hello;
    } cases[] = {
        {"tokenizers/bert-base-uncased/vocab.txt", 30522, 7592, "hello"},
        {"tokenizers/bert-base-cased/vocab.txt", 28996, 8667, "Hello"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = fixture_open_or_fail(cases[i].path);
        const struct tv_vocab *v = vocab0(m);
        assert_int_equal(v->kind, TV_TOKENIZER_WORDPIECE);
        assert_int_equal(v->n_tokens, cases[i].n_tokens);
        assert_string_equal(v->continuing_subword_prefix, "##");
        assert_string_equal(v->unk_token, "[UNK]");
        assert_token(v, 0, "[PAD]");
        assert_token(v, cases[i].hello_id, cases[i].hello);
        assert_int_equal(v->special[TV_SPECIAL_PAD], 0);
        assert_int_equal(v->special[TV_SPECIAL_UNK], 100);
        assert_int_equal(v->special[TV_SPECIAL_CLS], 101);
        assert_int_equal(v->special[TV_SPECIAL_SEP], 102);
        assert_int_equal(v->special[TV_SPECIAL_MASK], 103);
        assert_int_equal(v->tokens[100].type, TV_TOKEN_UNKNOWN);
        assert_int_equal(v->tokens[101].type, TV_TOKEN_CONTROL);
        assert_int_equal(v->tokens[0].type, TV_TOKEN_CONTROL);
        assert_int_equal(v->tokens[cases[i].hello_id].type, TV_TOKEN_NORMAL);
        assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "vocab.txt"), (int64_t)cases[i].n_tokens);
        uint32_t id;
        assert_int_equal(tv_vocab_find(m, "##s", 3, &id), 0);
        tv_model_free(m);
    }
}

static void vocab_txt_strips_cr_keeps_empty_lines_and_rejects_an_empty_file(void **state)
{
    (void)state;
    tv_error err = {0};
    const char crlf[] = "[PAD]\r\n[UNK]\r\n\r\nhello\r\n##lo\r\nlast";
    tv_model *m = read_one(&tv_format_vocab_txt, crlf, strlen(crlf), "vocab.txt", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 6);
    assert_token(v, 1, "[UNK]");
    assert_token(v, 2, ""); /* an empty line is a token of length 0 */
    assert_token(v, 3, "hello");
    assert_token(v, 5, "last"); /* no newline at the end */
    assert_int_equal(v->special[TV_SPECIAL_UNK], 1);
    assert_int_equal(v->special[TV_SPECIAL_CLS], -1);
    tv_model_free(m);

    const char lf[] = "a\nb\n";
    m = read_one(&tv_format_vocab_txt, lf, strlen(lf), "vocab.txt", &err);
    assert_non_null(m);
    assert_int_equal(vocab0(m)->n_tokens, 2); /* the final newline ends a line, adds none */
    assert_null(vocab0(m)->unk_token);
    tv_model_free(m);

    m = read_one(&tv_format_vocab_txt, "", 0, "some/vocab.txt", &err);
    assert_null(m);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_contains(err.message, "some/vocab.txt: empty file");
}

static void vocab_txt_probe_wants_text_named_vocab_txt_or_an_unk_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *name;
        int score;
    } cases[] = {
        {"[PAD]\n[unused0]\n[UNK]\n", "x.txt", 40},
        {"a\nb\n", "model/vocab.txt", 30},
        {"a\nb\n", "words.txt", 0},
        {"{\"a\": 0}", "vocab.txt", 0},
        {"[\"a\", \"b\"]", "vocab.txt", 0},
        {"[PAD]\n", "vocab.txt", 30},
        {"", "vocab.txt", 0},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        if (tv_format_vocab_txt.probe((const uint8_t *)cases[i].text, strlen(cases[i].text),
                                      cases[i].name) != cases[i].score)
            fail_msg("case %zu: expected %d", i, cases[i].score);
    const char binary[] = "a\0b\n[UNK]\n";
    assert_int_equal(tv_format_vocab_txt.probe((const uint8_t *)binary, sizeof binary - 1,
                                               "vocab.txt"), 0);
}

/* ---- vocab.json + merges.txt -------------------------------------------------------------- */

static void gpt2_encoder_json_and_vocab_bpe_equal_gpt2_tokenizer_json(void **state)
{
    (void)state;
    tv_model *openai = open_two_or_fail("tokenizers/gpt2-openai/encoder.json",
                                        "tokenizers/gpt2-openai/vocab.bpe");
    tv_model *hf = fixture_open_or_fail("tokenizers/gpt2/tokenizer.json");
    assert_int_equal(openai->n_vocabs, 1); /* the merges joined the encoder's vocabulary */
    const struct tv_vocab *v = vocab0(openai);
    assert_int_equal(v->kind, TV_TOKENIZER_BPE);
    assert_int_equal(v->n_tokens, 50257);
    assert_int_equal(v->n_merges, 50000);
    assert_true(v->byte_level);
    assert_null(v->end_of_word_suffix);
    assert_token(v, 15496, "Hello");
    assert_token(v, 703, "\xc4\xa0how");
    assert_int_equal(v->tokens[50256].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[15496].type, TV_TOKEN_NORMAL);
    assert_merge(v, 0, "\xc4\xa0", "t");
    assert_same_tokens_and_merges(v, vocab0(hf));
    assert_int_equal(claim(openai, TV_CLAIM_VOCAB_SIZE, "vocab.json"), 50257);
    assert_int_equal(openai->n_findings, 0);
    tv_model_free(hf);

    /* the other order: a lone merges file first, then its vocabulary */
    tv_model *reversed = open_two_or_fail("tokenizers/gpt2-openai/vocab.bpe",
                                          "tokenizers/gpt2-openai/encoder.json");
    assert_int_equal(reversed->n_vocabs, 1);
    assert_same_tokens_and_merges(vocab0(reversed), v);
    assert_non_null(strstr(vocab0(reversed)->origin, "encoder.json"));
    tv_model_free(reversed);
    tv_model_free(openai);
}

static void openai_gpt_vocab_json_closes_words_with_end_of_word_suffix(void **state)
{
    (void)state;
    tv_model *m = open_two_or_fail("tokenizers/openai-gpt-torchtext/vocab.json",
                                   "tokenizers/openai-gpt-torchtext/merges.txt");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 40478);
    assert_int_equal(v->n_merges, 40000);
    assert_string_equal(v->end_of_word_suffix, "</w>");
    assert_false(v->byte_level);
    assert_token(v, 0, "<unk>");
    assert_token(v, 40477, "\n</w>");
    assert_int_equal(v->tokens[0].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->special[TV_SPECIAL_UNK], 0);
    assert_merge(v, 0, "t", "h");
    tv_model_free(m);
}

static void clip_encoder_json_is_byte_level_with_end_of_word_suffix(void **state)
{
    (void)state;
    tv_model *m = open_two_or_fail("tokenizers/clip-torchtext/encoder.json",
                                   "tokenizers/clip-torchtext/vocab.bpe");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 49408);
    assert_int_equal(v->n_merges, 48894);
    assert_string_equal(v->end_of_word_suffix, "</w>");
    assert_true(v->byte_level);
    assert_token(v, 256, "!</w>");
    assert_token(v, 49406, "<|startoftext|>");
    assert_int_equal(v->tokens[49406].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[49407].type, TV_TOKEN_CONTROL);
    assert_merge(v, 0, "i", "n");
    tv_model_free(m);
}

static void vocab_json_and_merges_txt_in_a_folder_agree_with_its_tokenizer_json(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("safetensors/tiny-llm-cicd-gpt2-vocab50257");
    assert_true(m->n_vocabs >= 2);
    const struct tv_vocab *primary = &m->vocabs[0], *secondary = &m->vocabs[1];
    assert_non_null(primary->json);
    assert_null(secondary->json);
    assert_non_null(strstr(primary->origin, "tokenizer.json"));
    assert_non_null(strstr(secondary->origin, "vocab.json"));
    /* the pair form [["Ġ", "t"], ...] and merges.txt give the same merges */
    assert_int_equal(primary->n_merges, 50000);
    assert_int_equal(secondary->n_merges, 50000);
    for (size_t i = 0; i < primary->n_merges; i++) {
        const struct tv_merge *a = &primary->merges[i], *b = &secondary->merges[i];
        assert_int_equal(a->left_len, b->left_len);
        assert_memory_equal(a->left, b->left, a->left_len);
        assert_int_equal(a->right_len, b->right_len);
        assert_memory_equal(a->right, b->right, a->right_len);
    }
    assert_int_equal(primary->n_tokens, 50257);
    assert_int_equal(secondary->n_tokens, 50257);
    for (uint32_t id = 0; id < primary->n_tokens; id++) {
        assert_int_equal(primary->tokens[id].len, secondary->tokens[id].len);
        assert_memory_equal(primary->tokens[id].text, secondary->tokens[id].text,
                            primary->tokens[id].len);
    }
    assert_true(primary->byte_level && secondary->byte_level);
    assert_int_equal(tv_vocab_size(m), 50257);
    tv_model_free(m);
}

static void merges_txt_reads_version_line_crlf_and_trailing_blank_lines(void **state)
{
    (void)state;
    tv_error err = {0};
    const char text[] = "#version: 0.2 - trained\r\na b\r\nab c\r\n\r\n\n";
    tv_model *m = read_one(&tv_format_merges_txt, text, strlen(text), "merges.txt", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->kind, TV_TOKENIZER_BPE);
    assert_int_equal(v->n_tokens, 0);
    assert_int_equal(v->n_merges, 2);
    assert_merge(v, 1, "ab", "c");
    /* a vocab.json read next fills this vocabulary */
    const char vocab[] = "{\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"abc\": 4}";
    assert_int_equal(read_into(m, &tv_format_vocab_json, vocab, strlen(vocab), "vocab.json",
                               &err), 0);
    assert_int_equal(m->n_vocabs, 1);
    assert_int_equal(vocab0(m)->n_tokens, 5);
    assert_int_equal(vocab0(m)->n_merges, 2);
    assert_string_equal(vocab0(m)->origin, "vocab.json");
    /* a second merges file does not join a vocabulary that has merges */
    assert_int_equal(read_into(m, &tv_format_merges_txt, "x y\n", 4, "merges2.txt", &err), 0);
    assert_int_equal(m->n_vocabs, 2);
    assert_int_equal(m->vocabs[0].n_merges, 2);
    tv_model_free(m);
}

static void merges_txt_rejects_lines_that_are_not_two_parts(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"#version: 0.2\na b\nabc\n", "bad.txt: line 3: 'abc' is not two parts separated by one "
         "space"},
        {"a b c\n", "bad.txt: line 1: 'a b c' is not two parts"},
        {"a  b\n", "bad.txt: line 1: 'a  b' is not two parts"},
        {"a b\n\nc d\n", "bad.txt: line 2 is blank but merges follow on line 3"},
        {"a\tb\n", "bad.txt: line 1: 'a\\x09b' is not two parts"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_error err = {0};
        tv_model *m = read_one(&tv_format_merges_txt, cases[i].text, strlen(cases[i].text),
                               "bad.txt", &err);
        if (m)
            fail_msg("case %zu was accepted", i);
        assert_int_equal(err.code, TV_ERR_DATA);
        assert_contains(err.message, cases[i].message);
    }
}

static void vocab_json_rejects_bad_ids_and_reports_holes_and_reused_ids(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"[\"a\", \"b\"]", "v.json: expected a JSON object of token -> id, got an array"},
        {"{\"a\": \"0\"}", "v.json: vocab['a']: the id must be a number, got a string"},
        {"{\"a\": 0, \"b\": -1}", "v.json: vocab['b']: id -1 is not an integer"},
        {"{\"a\": 0.5}", "v.json: vocab['a']: id 0.5 is not an integer"},
        {"{\"a\": 4294967295}", "v.json: vocab['a']: id 4294967295 is not an integer"},
        {"{\"a\": 9000000}", "v.json: vocab: ids reach 9000000 for only 1 tokens"},
        {"{\"a\": 0", "v.json: invalid JSON"},
        {"", "v.json: invalid JSON"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_error err = {0};
        tv_model *m = read_one(&tv_format_vocab_json, cases[i].text, strlen(cases[i].text),
                               "v.json", &err);
        if (m)
            fail_msg("case %zu was accepted", i);
        assert_contains(err.message, cases[i].message);
    }
    tv_error err = {0};
    const char holes[] = "{\"a\": 0, \"b\": 1, \"c\": 1, \"d\": 5}";
    tv_model *m = read_one(&tv_format_vocab_json, holes, strlen(holes), "v.json", &err);
    assert_non_null(m);
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 6);
    assert_token(v, 1, "b");
    const struct tv_finding *f = finding(m, "vocab.dense");
    assert_non_null(f);
    assert_contains(f->message, "3 of ids 0..5 have no token, the first is 2");
    f = finding(m, "vocab.duplicate_id");
    assert_non_null(f);
    assert_int_equal(f->severity, TV_SEVERITY_FAIL);
    assert_contains(f->message, "'c' with id 1, which is 'b'");
    assert_false(v->byte_level);
    assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "vocab.json"), 6);
    tv_model_free(m);
}

static void vocab_json_and_merges_probes_recognise_their_shapes(void **state)
{
    (void)state;
    static const struct {
        const struct tv_format *fmt;
        const char *text;
        const char *name;
        int score;
    } cases[] = {
        {&tv_format_vocab_json, "{\"!\": 0, \"\\\"\": 1, \"#\": 2}", "encoder.json", 40},
        {&tv_format_vocab_json, "{\"a\":0,\"b\":1,\"c\":2,\"d\":3,\"e\":4,\"f\":5,\"g\":6,\"h\":7,"
         "\"i\": \"x\"}", "x", 40},
        {&tv_format_vocab_json, "{\"bos_token_id\": 1, \"eos_token_id\": 2}", "x", 0},
        {&tv_format_vocab_json, "{\"vocab_size\": 5, \"model_type\": \"gpt2\"}", "x", 0},
        {&tv_format_vocab_json, "{}", "vocab.json", 0},
        {&tv_format_vocab_json, "[0, 1]", "vocab.json", 0},
        {&tv_format_merges_txt, "#version: 0.2\nh e\n", "anything", 70},
        {&tv_format_merges_txt, "h e\nl l\n", "merges.txt", 30},
        {&tv_format_merges_txt, "h e\nl l\n", "vocab.bpe", 30},
        {&tv_format_merges_txt, "h e\nl l\n", "notes.txt", 0},
        {&tv_format_merges_txt, "h e\nl l o\n", "merges.txt", 0},
        {&tv_format_merges_txt, "[PAD]\n[UNK]\n", "merges.txt", 0},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        if (cases[i].fmt->probe((const uint8_t *)cases[i].text, strlen(cases[i].text),
                                cases[i].name) != cases[i].score)
            fail_msg("case %zu: expected %d", i, cases[i].score);
}

/* ---- failing allocator ----------------------------------------------------------------------- */

static void vocab_files_survive_every_allocation_failure(void **state)
{
    (void)state;
    static const struct {
        const struct tv_format *fmt;
        const char *text;
        const char *name;
    } cases[] = {
        {&tv_format_vocab_json, "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|endoftext|>\": 4}", "v.json"},
        {&tv_format_merges_txt, "#version: 0.2\na b\nab c\n", "merges.txt"},
        {&tv_format_vocab_txt, "[PAD]\n[UNK]\n[CLS]\nhello\n##lo\n", "vocab.txt"},
    };
    failalloc_begin(-1);
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        int succeeded = 0;
        for (long n = 0; n < 2000 && !succeeded; n++) {
            tv_error err = {0};
            failalloc_set(n);
            tv_model *m = tv_model_new_empty(cases[i].name, NULL, &err);
            tv_blob *blob = m ? tv_blob_copy(cases[i].text, strlen(cases[i].text),
                                             cases[i].name, &err) : NULL;
            int rc = blob ? tv_model_add_blob(m, blob, &err) : -1;
            if (rc == 0)
                rc = cases[i].fmt->read(m, blob, &err);
            failalloc_set(-1);
            tv_blob_unref(blob);
            tv_model_free(m);
            if (rc == 0) {
                succeeded = 1;
            } else if (err.code != TV_ERR_NOMEM) {
                failalloc_end();
                fail_msg("case %zu, allocation %ld: error %d: %s", i, n, err.code, err.message);
            }
        }
        if (!succeeded) {
            failalloc_end();
            fail_msg("case %zu never succeeded", i);
        }
    }
    failalloc_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vocab_txt_reads_bert_uncased_and_cased_with_their_specials),
        cmocka_unit_test(vocab_txt_strips_cr_keeps_empty_lines_and_rejects_an_empty_file),
        cmocka_unit_test(vocab_txt_probe_wants_text_named_vocab_txt_or_an_unk_line),
        cmocka_unit_test(gpt2_encoder_json_and_vocab_bpe_equal_gpt2_tokenizer_json),
        cmocka_unit_test(openai_gpt_vocab_json_closes_words_with_end_of_word_suffix),
        cmocka_unit_test(clip_encoder_json_is_byte_level_with_end_of_word_suffix),
        cmocka_unit_test(vocab_json_and_merges_txt_in_a_folder_agree_with_its_tokenizer_json),
        cmocka_unit_test(merges_txt_reads_version_line_crlf_and_trailing_blank_lines),
        cmocka_unit_test(merges_txt_rejects_lines_that_are_not_two_parts),
        cmocka_unit_test(vocab_json_rejects_bad_ids_and_reports_holes_and_reused_ids),
        cmocka_unit_test(vocab_json_and_merges_probes_recognise_their_shapes),
        cmocka_unit_test(vocab_files_survive_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
