/* tokenizer.json: the real tokenizers of the fixtures, every model type and legacy form,
   derived token types and special ids, findings for verify, and hostile documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vocab_asserts.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* Runs the tokenizer.json reader itself (no format detection) on len bytes. */
static tv_model *read_tj_len(const char *text, size_t len, tv_error *err)
{
    tv_model *m = tv_model_new_empty("tok.json", NULL, err);
    assert_non_null(m);
    tv_blob *blob = tv_blob_copy(text, len, "tok.json", err);
    assert_non_null(blob);
    int rc = tv_model_add_blob(m, blob, err);
    if (rc == 0)
        rc = tv_format_tokenizer_json.read(m, blob, err);
    tv_blob_unref(blob);
    if (rc < 0) {
        tv_model_free(m);
        return NULL;
    }
    return m;
}

static tv_model *read_tj(const char *text, tv_error *err)
{
    return read_tj_len(text, strlen(text), err);
}

static tv_model *open_or_fail(const char *relative)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture(relative), NULL, &err);
    if (!m)
        fail_msg("%s: %s", relative, err.message);
    return m;
}

static const char *type_of(const cJSON *node)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(node, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* ---- real tokenizers ---------------------------------------------------------------- */

static void tokenizer_json_reads_gpt2_bytes_merges_and_endoftext(void **state)
{
    (void)state;
    tv_model *m = open_or_fail("tokenizers/gpt2/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->kind, TV_TOKENIZER_BPE);
    assert_int_equal(v->n_tokens, 50257);
    assert_int_equal(v->n_merges, 50000);
    assert_true(v->byte_level);
    assert_false(v->byte_fallback);
    assert_token(v, 15496, "Hello");
    assert_token(v, 11, ",");
    assert_token(v, 703, "\xc4\xa0how");
    assert_token(v, 50256, "<|endoftext|>");
    assert_int_equal(v->tokens[50256].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[50256].flags, TV_TOKEN_ADDED | TV_TOKEN_SPECIAL);
    assert_int_equal(v->tokens[15496].type, TV_TOKEN_NORMAL);
    assert_merge(v, 0, "\xc4\xa0", "t");
    assert_int_equal(v->n_added, 1);
    assert_int_equal(v->added[0].id, 50256);
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "\xc4\xa0how", 5, &id), 0);
    assert_int_equal(id, 703);
    /* the whole document and the original text are kept */
    assert_non_null(v->json);
    assert_string_equal(type_of(v->pre_tokenizer), "ByteLevel");
    assert_string_equal(type_of(v->decoder), "ByteLevel");
    assert_string_equal(type_of(v->post_processor), "ByteLevel");
    assert_null(v->normalizer);
    assert_string_equal(type_of(v->model_json), "BPE");
    assert_int_equal(v->json_text_len, 2107653);
    assert_int_equal(v->json_text[0], '{');
    assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "model.vocab + added_tokens"), 50257);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void tokenizer_json_reads_llama3_with_added_specials_and_split_pretokenizer(void **state)
{
    (void)state;
    tv_model *m = open_or_fail("tokenizers/llama3/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 128256);
    assert_int_equal(v->n_merges, 280147);
    assert_int_equal(v->n_added, 256);
    assert_true(v->ignore_merges);
    assert_true(v->byte_level);
    assert_string_equal(type_of(v->pre_tokenizer), "Sequence");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(v->pre_tokenizer, "pretokenizers");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_string_equal(type_of(cJSON_GetArrayItem(list, 0)), "Split");
    assert_string_equal(type_of(cJSON_GetArrayItem(list, 1)), "ByteLevel");
    assert_token(v, 128000, "<|begin_of_text|>");
    assert_token(v, 128255, "<|reserved_special_token_250|>");
    for (uint32_t id = 128000; id < 128256; id++) {
        assert_int_equal(v->tokens[id].type, TV_TOKEN_CONTROL);
        assert_true(v->tokens[id].flags & TV_TOKEN_SPECIAL);
    }
    assert_merge(v, 0, "\xc4\xa0", "\xc4\xa0");
    assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "model.vocab + added_tokens"), 128256);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void tokenizer_json_reads_llama2_byte_fallback_tokens_as_byte_type(void **state)
{
    (void)state;
    tv_model *m = open_or_fail("tokenizers/llama2/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 32000);
    assert_int_equal(v->n_merges, 58980);
    assert_true(v->byte_fallback);
    assert_true(v->fuse_unk);
    assert_false(v->byte_level);
    assert_string_equal(v->unk_token, "<unk>");
    /* normalizer: Sequence of Prepend("▁") + Replace(" " -> "▁") */
    assert_string_equal(type_of(v->normalizer), "Sequence");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(v->normalizer, "normalizers");
    assert_string_equal(type_of(cJSON_GetArrayItem(list, 0)), "Prepend");
    assert_string_equal(type_of(cJSON_GetArrayItem(list, 1)), "Replace");
    assert_token(v, 3, "<0x00>");
    assert_token(v, 258, "<0xFF>");
    for (uint32_t id = 3; id <= 258; id++)
        assert_int_equal(v->tokens[id].type, TV_TOKEN_BYTE);
    assert_int_equal(v->tokens[0].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->tokens[1].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[2].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[272].type, TV_TOKEN_NORMAL);
    assert_token(v, 272, "\xe2\x96\x81the");
    assert_merge(v, 0, "\xe2\x96\x81", "t");
    assert_int_equal(v->special[TV_SPECIAL_UNK], 0);
    assert_int_equal(v->special[TV_SPECIAL_BOS], 1); /* TemplateProcessing: <s> $A */
    assert_int_equal(v->special[TV_SPECIAL_EOS], -1);
    tv_model_free(m);
}

static void tokenizer_json_reads_wordpiece_and_reports_template_ids_it_disagrees_with(void **s)
{
    (void)s;
    tv_model *m = open_or_fail("safetensors/model2vec-test-model-float32/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->kind, TV_TOKENIZER_WORDPIECE);
    assert_int_equal(v->n_tokens, 29528);
    assert_string_equal(v->continuing_subword_prefix, "##");
    assert_string_equal(v->unk_token, "[UNK]");
    assert_int_equal(v->max_input_chars_per_word, 100);
    assert_token(v, 6598, "hello");
    assert_token(v, 1021, "##s");
    assert_int_equal(v->special[TV_SPECIAL_UNK], 1);
    assert_int_equal(v->tokens[1].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->tokens[2].type, TV_TOKEN_CONTROL);
    /* The post-processor adds ids 101 and 102, which is what the reference does, though
       this re-indexed vocabulary has [CLS] at 2 and [SEP] at 3: a real defect. */
    assert_int_equal(v->special[TV_SPECIAL_CLS], 101);
    assert_int_equal(v->special[TV_SPECIAL_SEP], 102);
    const struct tv_finding *f = finding(m, "vocab.post_processor_id");
    assert_non_null(f);
    assert_int_equal(f->severity, TV_SEVERITY_FAIL);
    assert_contains(f->message, "'[CLS]' as id 101");
    assert_contains(f->message, "at id 2");
    tv_model_free(m);
}

static void tokenizer_json_reads_unigram_scores_and_unk_id(void **state)
{
    (void)state;
    tv_model *m = open_or_fail("safetensors/model2vec-test-model-vocab-quantized/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->kind, TV_TOKENIZER_UNIGRAM);
    assert_int_equal(v->n_tokens, 29524);
    assert_token(v, 2, "\xe2\x96\x81!");
    assert_float_equal(v->tokens[2].score, -11.21441160663124, 1e-6);
    assert_token(v, 1000, "\xe2\x96\x81of");
    assert_float_equal(v->tokens[1000].score, -10.92672953417946, 1e-6);
    assert_int_equal(v->special[TV_SPECIAL_UNK], 1);
    assert_int_equal(v->tokens[1].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->tokens[0].type, TV_TOKEN_CONTROL);
    assert_false(v->byte_fallback);
    assert_string_equal(type_of(v->pre_tokenizer), "Metaspace");
    tv_model_free(m);
}

static void tokenizer_json_reads_minicpm3_added_tokens_past_the_model_vocab(void **state)
{
    (void)state;
    tv_model *m = open_or_fail("safetensors/ollama-minicpm3-testdata/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 73448);
    assert_int_equal(v->n_added, 11);
    assert_true(v->byte_fallback);
    assert_token(v, 73447, "<|fim_suffix|>");
    assert_int_equal(v->tokens[73447].type, TV_TOKEN_CONTROL);
    assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "model.vocab + added_tokens"), 73448);
    assert_null(finding(m, "vocab.dense"));
    assert_null(finding(m, "vocab.added_id"));
    tv_model_free(m);
}

static void tokenizer_json_with_empty_model_vocab_loads_its_added_tokens_and_says_so(void **s)
{
    (void)s;
    tv_model *m = open_or_fail("pytorch/tinypellm/tokenizer.json");
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 7);
    assert_int_equal(v->n_merges, 0);
    assert_token(v, 6, "<mask>");
    assert_int_equal(claim(m, TV_CLAIM_VOCAB_SIZE, "model.vocab + added_tokens"), 7);
    const struct tv_finding *f = finding(m, "vocab.empty");
    assert_non_null(f);
    assert_contains(f->message, "model.vocab is empty");
    assert_int_equal(v->special[TV_SPECIAL_BOS], 0);
    assert_int_equal(v->special[TV_SPECIAL_EOS], 1);
    tv_model_free(m);
}

/* ---- model types, legacy forms, derived facts ----------------------------------------- */

static void tokenizer_json_infers_legacy_models_without_type(void **state)
{
    (void)state;
    static const struct {
        const char *model;
        enum tv_tokenizer_kind kind;
    } cases[] = {
        {"{\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}", TV_TOKENIZER_BPE},
        {"{\"vocab\": [[\"a\", -1.5], [\"b\", -2]], \"unk_id\": null}", TV_TOKENIZER_UNIGRAM},
        {"{\"vocab\": {\"a\": 0}, \"continuing_subword_prefix\": \"##\"}",
         TV_TOKENIZER_WORDPIECE},
        {"{\"vocab\": {\"a\": 0}, \"max_input_chars_per_word\": 50}", TV_TOKENIZER_WORDPIECE},
        {"{\"vocab\": {\"a\": 0, \"<unk>\": 1}, \"unk_token\": \"<unk>\"}",
         TV_TOKENIZER_WORDLEVEL},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        char doc[512];
        snprintf(doc, sizeof doc, "{\"added_tokens\": [], \"model\": %s}", cases[i].model);
        tv_error err = {0};
        tv_model *m = read_tj(doc, &err);
        if (!m)
            fail_msg("case %zu: %s", i, err.message);
        assert_int_equal(vocab0(m)->kind, cases[i].kind);
        /* WordPiece's default unknown token "[UNK]" is missing from these vocabularies */
        const struct tv_finding *f = finding(m, "vocab.unk_token");
        if (cases[i].kind == TV_TOKENIZER_WORDPIECE) {
            assert_non_null(f);
            assert_contains(f->message, "tok.json: the unknown token '[UNK]'");
        } else {
            assert_null(f);
        }
        tv_model_free(m);
    }
    tv_error err = {0};
    tv_model *m = read_tj("{\"added_tokens\": [], \"model\": {\"vocab\": {\"a\": 0, \"<unk>\": 1},"
                          " \"unk_token\": \"<unk>\"}}", &err);
    assert_non_null(m);
    assert_int_equal(vocab0(m)->special[TV_SPECIAL_UNK], 1);
    assert_int_equal(vocab0(m)->tokens[1].type, TV_TOKEN_UNKNOWN);
    tv_model_free(m);
}

static void tokenizer_json_reads_bpe_options_and_both_merge_forms(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = read_tj(
        "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"unk_token\": "
        "\"<unk>\", \"continuing_subword_prefix\": \"##\", \"end_of_word_suffix\": \"</w>\", "
        "\"fuse_unk\": true, \"byte_fallback\": true, \"ignore_merges\": true, \"vocab\": "
        "{\"<unk>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3, \"<0x41>\": 4, \"<0x4g>\": 5}, "
        "\"merges\": [\"#version: 0.2\", \"a b\", \"ab b\"]}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_string_equal(v->unk_token, "<unk>");
    assert_string_equal(v->continuing_subword_prefix, "##");
    assert_string_equal(v->end_of_word_suffix, "</w>");
    assert_true(v->fuse_unk && v->byte_fallback && v->ignore_merges);
    assert_false(v->byte_level);
    assert_int_equal(v->n_merges, 2); /* the "#version" entry is dropped, as the reference does */
    assert_merge(v, 1, "ab", "b");
    assert_int_equal(v->tokens[0].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->tokens[4].type, TV_TOKEN_BYTE);
    assert_int_equal(v->tokens[5].type, TV_TOKEN_NORMAL);
    tv_model_free(m);

    m = read_tj("{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {\"a b\": 0, "
                "\"c\": 1}, \"merges\": [[\"a b\", \"c\"], [\"\", \"c\"]]}, \"decoder\": "
                "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": "
                "\"ByteLevel\"}]}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    v = vocab0(m);
    assert_int_equal(v->n_merges, 2);
    assert_merge(v, 0, "a b", "c"); /* the pair form allows spaces inside a part */
    assert_merge(v, 1, "", "c");
    assert_true(v->byte_level);     /* ByteLevel inside a Sequence decoder */
    assert_null(v->unk_token);
    tv_model_free(m);
}

static void tokenizer_json_types_added_tokens_and_keeps_their_flags(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = read_tj(
        "{\"added_tokens\": ["
        "{\"id\": 3, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": "
        "false, \"normalized\": false, \"special\": true},"
        "{\"id\": 4, \"content\": \"hello world\", \"single_word\": true, \"lstrip\": true, "
        "\"rstrip\": true, \"normalized\": true, \"special\": false},"
        "{\"id\": 5, \"content\": \"<|im_start|>\", \"special\": false},"
        "{\"id\": 1, \"content\": \"b\", \"special\": false}],"
        "\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, \"b\": 1, \"<unk>\": 2}, "
        "\"unk_token\": \"<unk>\"}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 6);
    assert_int_equal(v->n_added, 4);
    assert_int_equal(v->tokens[3].type, TV_TOKEN_CONTROL);
    assert_int_equal(v->tokens[3].flags, TV_TOKEN_ADDED | TV_TOKEN_SPECIAL);
    assert_int_equal(v->tokens[4].type, TV_TOKEN_USER_DEFINED);
    assert_int_equal(v->tokens[4].flags, TV_TOKEN_ADDED | TV_TOKEN_SINGLE_WORD |
                                             TV_TOKEN_LSTRIP | TV_TOKEN_RSTRIP |
                                             TV_TOKEN_NORMALIZED);
    /* not marked special, but llama.cpp makes "<|...|>" a control token */
    assert_int_equal(v->tokens[5].type, TV_TOKEN_CONTROL);
    /* missing flags default as the reference's AddedToken::from: normalized = !special */
    assert_int_equal(v->tokens[5].flags, TV_TOKEN_ADDED | TV_TOKEN_NORMALIZED);
    /* an added token that is a model token keeps its id and gets the flags */
    assert_int_equal(v->tokens[1].type, TV_TOKEN_USER_DEFINED);
    assert_int_equal(v->tokens[1].flags, TV_TOKEN_ADDED | TV_TOKEN_NORMALIZED);
    assert_int_equal(v->tokens[2].type, TV_TOKEN_UNKNOWN);
    assert_int_equal(v->special[TV_SPECIAL_UNK], 2);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void tokenizer_json_records_id_conflicts_holes_and_duplicates_as_findings(void **s)
{
    (void)s;
    tv_error err = {0};
    tv_model *m = read_tj(
        "{\"added_tokens\": ["
        "{\"id\": 1, \"content\": \"x\", \"special\": true},"      /* model says 1 is "b" */
        "{\"id\": 7, \"content\": \"a\", \"special\": true},"      /* model has "a" at 0 */
        "{\"id\": 8, \"content\": \"<y>\", \"special\": true},"
        "{\"id\": 8, \"content\": \"<z>\", \"special\": true}],"   /* 8 given twice */
        "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 1, \"d\": 4}, "
        "\"merges\": []}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_token(v, 1, "b"); /* the first of two tokens with id 1 is kept */
    assert_int_equal(v->n_tokens, 9);
    const struct tv_finding *f = finding(m, "vocab.duplicate_id");
    assert_non_null(f);
    assert_int_equal(f->severity, TV_SEVERITY_FAIL);
    assert_contains(f->message, "'c' with id 1, which is 'b'");
    int added_id = 0, duplicate = 0;
    for (size_t i = 0; i < m->n_findings; i++) {
        const struct tv_finding *g = &m->findings[i];
        assert_int_equal(strncmp(g->message, "tok.json: ", 10), 0);
        if (strcmp(g->check, "vocab.added_id") == 0) {
            added_id++;
            assert_true(strstr(g->message, "'x' declares id 1, which the model vocabulary gives "
                                           "to 'b'") ||
                        strstr(g->message, "'a' declares id 7, but the model vocabulary has it "
                                           "as id 0"));
        } else if (strcmp(g->check, "vocab.duplicate_id") == 0) {
            duplicate++;
        }
    }
    assert_int_equal(added_id, 2);
    assert_int_equal(duplicate, 2);
    assert_token(v, 8, "<y>");
    f = finding(m, "vocab.dense");
    assert_non_null(f);
    assert_int_equal(f->severity, TV_SEVERITY_WARN);
    assert_contains(f->message, "4 of ids 0..8 have no token, the first is 2");
    assert_null(v->tokens[2].text);
    tv_model_free(m);
}

static void tokenizer_json_takes_special_ids_from_post_processors(void **state)
{
    (void)state;
    static const char *const processors[] = {
        "{\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 2], \"cls\": [\"[CLS]\", 1]}",
        "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\"}, {\"type\": "
        "\"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\", "
        "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": "
        "{\"id\": \"[SEP]\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {\"[CLS]\": "
        "{\"id\": \"[CLS]\", \"ids\": [1], \"tokens\": [\"[CLS]\"]}, \"[SEP]\": {\"id\": "
        "\"[SEP]\", \"ids\": [2], \"tokens\": [\"[SEP]\"]}}}]}",
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(processors); i++) {
        char doc[1024];
        snprintf(doc, sizeof doc, "{\"post_processor\": %s, \"model\": {\"type\": \"WordPiece\", "
                 "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2}}}", processors[i]);
        tv_error err = {0};
        tv_model *m = read_tj(doc, &err);
        if (!m)
            fail_msg("case %zu: %s", i, err.message);
        const struct tv_vocab *v = vocab0(m);
        assert_int_equal(v->special[TV_SPECIAL_CLS], 1);
        assert_int_equal(v->special[TV_SPECIAL_SEP], 2);
        assert_int_equal(v->special[TV_SPECIAL_BOS], -1);
        assert_int_equal(v->special[TV_SPECIAL_UNK], 0); /* WordPiece's default "[UNK]" */
        assert_int_equal(m->n_findings, 0);
        tv_model_free(m);
    }
    tv_error err = {0};
    tv_model *m = read_tj("{\"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": "
                          "[\"</s>\", 2], \"cls\": [\"<s>\", 0]}, \"model\": {\"type\": \"BPE\", "
                          "\"vocab\": {\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2}, \"merges\": []}}",
                          &err);
    assert_non_null(m);
    assert_int_equal(vocab0(m)->special[TV_SPECIAL_BOS], 0);
    assert_int_equal(vocab0(m)->special[TV_SPECIAL_EOS], 2);
    assert_int_equal(vocab0(m)->special[TV_SPECIAL_CLS], 0);
    tv_model_free(m);
}

static void tokenizer_json_warns_about_nul_escapes_it_cannot_keep(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = read_tj("{\"model\": {\"type\": \"WordLevel\", \"unk_token\": \"\\\\u0000\", "
                          "\"vocab\": {\"\\\\u0000\": 0}}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_null(finding(m, "vocab.nul_byte")); /* an escaped backslash, then "u0000" */
    assert_token(vocab0(m), 0, "\\u0000");
    tv_model_free(m);
    m = read_tj("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\\u0000b\": 0, \"<unk>\": "
                "1}}}", &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_finding *f = finding(m, "vocab.nul_byte");
    assert_non_null(f);
    assert_contains(f->message, "tok.json: 1 string(s) hold \\u0000 (the first at byte 44)");
    tv_model_free(m);
}

static void tokenizer_json_read_text_copies_the_text(void **state)
{
    (void)state;
    char *text = strdup("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}");
    size_t len = strlen(text);
    tv_error err = {0};
    tv_model *m = tv_model_new_empty("x.gguf", NULL, &err);
    struct tv_vocab *v = tv_model_new_vocab(m, "x.gguf", &err);
    assert_int_equal(tv_tokenizer_json_read_text(m, v, (const uint8_t *)text, len,
                                                 "x.gguf: tokenizer.huggingface.json", &err), 0);
    memset(text, 'z', len);
    free(text);
    assert_int_equal(v->json_text_len, len);
    assert_memory_equal(v->json_text, "{\"model\": {\"type\": \"WordLevel\"", 30);
    assert_int_equal(v->kind, TV_TOKENIZER_WORDLEVEL);
    assert_token(v, 0, "a");
    tv_model_free(m);
}

static void tokenizer_json_probe_wants_model_object_and_a_companion_key(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int score;
    } cases[] = {
        {"{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}", 90},
        {"{\"model\": {}, \"added_tokens\": []}", 90},
        {"{\"model\": {}}", 0},
        {"{\"model\": \"gpt2\", \"version\": 1}", 0},
        {"[{\"model\": {}}]", 0},
        {"", 0},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        assert_int_equal(tv_format_tokenizer_json.probe((const uint8_t *)cases[i].text,
                                                        strlen(cases[i].text), "x"),
                         cases[i].score);
}

/* ---- hostile documents ------------------------------------------------------------------ */

static void tokenizer_json_rejects_wrong_types_in_every_field(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        const char *message;
    } cases[] = {
        {"[1, 2]", "expected a JSON object at the top level, got an array"},
        {"{\"version\": \"1.0\"}", "no \"model\""},
        {"{\"model\": 5}", "model: expected an object, got a number"},
        {"{\"model\": {\"type\": \"Foo\", \"vocab\": {}}}", "model.type: unknown model type 'Foo'"},
        {"{\"model\": {\"type\": 7, \"vocab\": {}}}", "model.type: expected a string"},
        {"{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model.vocab: missing"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}",
         "model.vocab: expected an object of token -> id, got an array"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}}",
         "model.vocab['a']: the id must be a number, got a string"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
         "model.vocab['a']: id -1 is not an integer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}, \"merges\": []}}",
         "model.vocab['a']: id 1.5 is not an integer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 4294967296}, \"merges\": []}}",
         "model.vocab['a']: id 4294967296 is not"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 9007199254740993}, \"merges\": []}}",
         "model.vocab['a']: id 9007199254740992 is not"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16777216}, \"merges\": []}}",
         "model.vocab['a']: id 16777216 is not an integer in 0..16777215"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\n'\": null}, \"merges\": []}}",
         "model.vocab['a\\x0a\\x27']: the id must be a number, got null"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16000000}, \"merges\": []}}",
         "model.vocab: ids reach 16000000 for only 1 tokens"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", "model.merges: missing"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": {}}}",
         "model.merges: expected an array, got an object"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [5]}}",
         "model.merges[0]: expected \"a b\" or [\"a\", \"b\"], got a number"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [\"a b\", \"a b c\"]}}",
         "model.merges[1]: 'a b c' is not two parts separated by one space"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [\"ab\"]}}",
         "model.merges[0]: 'ab' is not two parts"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [\"a  b\"]}}",
         "model.merges[0]: 'a  b' is not two parts"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [[\"a\", \"b\", \"c\"]]}}",
         "model.merges[0]: expected a pair of strings"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [[\"a\", 1]]}}",
         "model.merges[0]: expected a pair of strings"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [[\"a\", \"b\"], \"a b\"]}}",
         "model.merges[1]: a string among pairs"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"dropout\": 2}}",
         "model.dropout: expected null or a number in [0, 1]"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"unk_token\": 0}}",
         "model.unk_token: expected a string or null, got a number"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": [], \"byte_fallback\": "
         "\"true\"}}", "model.byte_fallback: expected true or false, got a string"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}, \"max_input_chars_per_word\": -1}}",
         "model.max_input_chars_per_word: -1 is not an integer"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}, \"continuing_subword_prefix\": []}}",
         "model.continuing_subword_prefix: expected a string or null, got an array"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}",
         "model.vocab: a Unigram vocabulary is a list of [piece, score], got an object"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}", "model.vocab[0]: expected "
         "[piece, score]"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0], [1, 0]]}}",
         "model.vocab[1]: expected [piece, score]"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}",
         "model.vocab[0]: expected [piece, score]"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0, 1]]}}",
         "model.vocab[0]: expected [piece, score]"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]], \"unk_id\": 1}}",
         "model.unk_id: 1 is outside the vocabulary of 1 pieces"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [], \"unk_id\": \"0\"}}",
         "model.unk_id: expected an integer, got a string"},
        {"{\"normalizer\": \"NFC\", \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "normalizer: expected an object or null, got a string"},
        {"{\"pre_tokenizer\": [], \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "pre_tokenizer: expected an object or null, got an array"},
        {"{\"post_processor\": 1, \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "post_processor: expected an object or null"},
        {"{\"decoder\": true, \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "decoder: expected an object or null, got a boolean"},
        {"{\"added_tokens\": {}, \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "added_tokens: expected an array, got an object"},
        {"{\"added_tokens\": [5], \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "added_tokens[0]: expected an object, got a number"},
        {"{\"added_tokens\": [{\"content\": \"x\"}], \"model\": {\"type\": \"WordLevel\", "
         "\"vocab\": {}}}", "added_tokens[0]: no \"id\""},
        {"{\"added_tokens\": [{\"id\": 0, \"content\": \"a\"}, {\"id\": \"1\", \"content\": "
         "\"x\"}], \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "added_tokens[1].id: expected an integer, got a string"},
        {"{\"added_tokens\": [{\"id\": -3, \"content\": \"x\"}], \"model\": {\"type\": "
         "\"WordLevel\", \"vocab\": {}}}", "added_tokens[0].id: -3 is not an integer"},
        {"{\"added_tokens\": [{\"id\": 0, \"content\": 5}], \"model\": {\"type\": \"WordLevel\", "
         "\"vocab\": {}}}", "added_tokens[0].content: expected a string, got a number"},
        {"{\"added_tokens\": [{\"id\": 0}], \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}",
         "added_tokens[0].content: expected a string, got nothing"},
        {"{\"added_tokens\": [{\"id\": 0, \"content\": \"x\", \"special\": 1}], \"model\": "
         "{\"type\": \"WordLevel\", \"vocab\": {}}}",
         "added_tokens[0].special: expected true or false, got a number"},
        {"{\"added_tokens\": [{\"id\": 0, \"content\": \"x\", \"lstrip\": \"no\"}], \"model\": "
         "{\"type\": \"WordLevel\", \"vocab\": {}}}", "added_tokens[0].lstrip: expected true"},
        {"{\"added_tokens\": [{\"id\": 16000000, \"content\": \"x\"}], \"model\": {\"type\": "
         "\"WordLevel\", \"vocab\": {}}}", "added_tokens: ids reach 16000000 for only 1 tokens"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_error err = {0};
        tv_model *m = read_tj(cases[i].doc, &err);
        if (m)
            fail_msg("case %zu was accepted: %s", i, cases[i].doc);
        assert_int_not_equal(err.code, TV_OK);
        if (strncmp(err.message, "tok.json: ", 10) != 0 || !strstr(err.message, cases[i].message))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.message, cases[i].message);
    }
}

static const char small_tokenizer[] =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": "
    "[{\"id\": 5, \"content\": \"<|end|>\", \"single_word\": false, \"lstrip\": false, "
    "\"rstrip\": false, \"normalized\": false, \"special\": true}], \"normalizer\": "
    "{\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": "
    "false}, \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\":"
    " {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<|end|>\", \"type_id\": "
    "0}}], \"pair\": [], \"special_tokens\": {\"<|end|>\": {\"id\": \"<|end|>\", \"ids\": [5], "
    "\"tokens\": [\"<|end|>\"]}}}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": "
    "{\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"vocab\": {\"h\": 0, \"i\": 1,"
    " \"hi\": 2, \"\\u0120\": 3, \"\\u0120hi\": 4}, \"merges\": [\"h i\", \"\\u0120 hi\"]}}";

static void tokenizer_json_small_document_reads_as_expected(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(small_tokenizer, strlen(small_tokenizer), "tok.json", NULL,
                                       &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_vocab *v = vocab0(m);
    assert_int_equal(v->n_tokens, 6);
    assert_int_equal(v->n_merges, 2);
    assert_token(v, 4, "\xc4\xa0hi");
    assert_int_equal(v->special[TV_SPECIAL_EOS], 5);
    assert_true(v->byte_level);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void tokenizer_json_truncated_at_every_offset_is_an_error_naming_the_file(void **s)
{
    (void)s;
    size_t len = strlen(small_tokenizer);
    for (size_t cut = 0; cut < len; cut++) {
        tv_error err = {0};
        tv_model *m = read_tj_len(small_tokenizer, cut, &err);
        if (m)
            fail_msg("a document cut at %zu of %zu bytes was accepted", cut, len);
        assert_int_equal(strncmp(err.message, "tok.json: ", 10), 0);
        /* through format detection as well: an error, never a crash */
        m = tv_model_read_memory(small_tokenizer, cut, "tok.json", NULL, &err);
        assert_null(m);
    }
}

static void tokenizer_json_survives_deep_nesting_and_empty_input(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *doc = malloc(depth * 2 + 200);
    size_t n = (size_t)sprintf(doc, "{\"version\": \"1.0\", \"normalizer\": ");
    memset(doc + n, '[', depth);
    n += depth;
    memset(doc + n, ']', depth);
    n += depth;
    n += (size_t)sprintf(doc + n, ", \"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}");
    tv_error err = {0};
    assert_null(read_tj_len(doc, n, &err));
    assert_int_equal(strncmp(err.message, "tok.json: ", 10), 0);
    assert_null(tv_model_read_memory(doc, n, "tok.json", NULL, &err));

    /* a Sequence nested 300 deep parses (below cJSON's limit) and is searched to a bound */
    n = (size_t)sprintf(doc, "{\"version\": \"1.0\", \"pre_tokenizer\": ");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(doc + n, "{\"type\": \"Sequence\", \"pretokenizers\": [");
    n += (size_t)sprintf(doc + n, "{\"type\": \"ByteLevel\"}");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(doc + n, "]}");
    n += (size_t)sprintf(doc + n, ", \"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}}}");
    tv_model *m = read_tj_len(doc, n, &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_false(vocab0(m)->byte_level);
    tv_model_free(m);
    free(doc);

    assert_null(read_tj_len("", 0, &err));
    assert_int_equal(strncmp(err.message, "tok.json: ", 10), 0);
    assert_null(read_tj("   ", &err));
    assert_null(read_tj("null", &err));
    assert_contains(err.message, "tok.json: expected a JSON object at the top level, got null");
}

/* ---- failing allocator ----------------------------------------------------------------------- */

static long fail_after = -1;

static void *failing_malloc(size_t n)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return malloc(n);
}

static void *failing_realloc(void *p, size_t n)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return realloc(p, n);
}

static void tokenizer_json_survives_every_allocation_failure(void **state)
{
    (void)state;
    tv_set_allocator(failing_malloc, failing_realloc, free);
    int succeeded = 0;
    long n;
    for (n = 0; n < 5000 && !succeeded; n++) {
        fail_after = n;
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(small_tokenizer, strlen(small_tokenizer), "tok.json",
                                           NULL, &err);
        if (m) {
            succeeded = 1;
            fail_after = -1;
            assert_int_equal(vocab0(m)->n_tokens, 6);
            tv_model_free(m);
        } else if (err.code != TV_ERR_NOMEM) {
            fail_after = -1;
            tv_set_allocator(NULL, NULL, NULL);
            fail_msg("allocation %ld failed but the error was %d: %s", n, err.code, err.message);
        }
    }
    fail_after = -1;
    tv_set_allocator(NULL, NULL, NULL);
    assert_true(succeeded);
    assert_true(n > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokenizer_json_reads_gpt2_bytes_merges_and_endoftext),
        cmocka_unit_test(tokenizer_json_reads_llama3_with_added_specials_and_split_pretokenizer),
        cmocka_unit_test(tokenizer_json_reads_llama2_byte_fallback_tokens_as_byte_type),
        cmocka_unit_test(tokenizer_json_reads_wordpiece_and_reports_template_ids_it_disagrees_with),
        cmocka_unit_test(tokenizer_json_reads_unigram_scores_and_unk_id),
        cmocka_unit_test(tokenizer_json_reads_minicpm3_added_tokens_past_the_model_vocab),
        cmocka_unit_test(tokenizer_json_with_empty_model_vocab_loads_its_added_tokens_and_says_so),
        cmocka_unit_test(tokenizer_json_infers_legacy_models_without_type),
        cmocka_unit_test(tokenizer_json_reads_bpe_options_and_both_merge_forms),
        cmocka_unit_test(tokenizer_json_types_added_tokens_and_keeps_their_flags),
        cmocka_unit_test(tokenizer_json_records_id_conflicts_holes_and_duplicates_as_findings),
        cmocka_unit_test(tokenizer_json_takes_special_ids_from_post_processors),
        cmocka_unit_test(tokenizer_json_warns_about_nul_escapes_it_cannot_keep),
        cmocka_unit_test(tokenizer_json_read_text_copies_the_text),
        cmocka_unit_test(tokenizer_json_probe_wants_model_object_and_a_companion_key),
        cmocka_unit_test(tokenizer_json_rejects_wrong_types_in_every_field),
        cmocka_unit_test(tokenizer_json_small_document_reads_as_expected),
        cmocka_unit_test(tokenizer_json_truncated_at_every_offset_is_an_error_naming_the_file),
        cmocka_unit_test(tokenizer_json_survives_deep_nesting_and_empty_input),
        cmocka_unit_test(tokenizer_json_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
