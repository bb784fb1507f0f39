/* The vocabulary in GGUF's and tokenizer.json's terms (src/vocab_export.c): the GGUF view
   of every real tokenizer compared with what llama.cpp made of the same vocabulary,
   tokenizer.json rebuilt from every real GGUF and read back, pre-tokenizer recognition,
   and refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_build.h"
#include "failalloc.h"
#include "testutil.h"
#include "tokvec/tokenizer.h"
#include "vocab_export.h"

#define METASPACE "\xe2\x96\x81"

/* ---- helpers ------------------------------------------------------------------------ */

static tv_model *memory_or_fail(const char *text, size_t len, const char *name)
{
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(text, len, name, NULL, &err);
    if (!m)
        fail_msg("%s: %s", name, err.message);
    return m;
}

static void view_or_fail(const tv_model *m, struct tv_ggml_vocab *g)
{
    tv_error err = {0};
    if (tv_ggml_vocab_from_model(m, g, &err) < 0)
        fail_msg("%s: %s", tv_model_path(m), err.message);
}

static bool str_is(const struct tv_str *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->ptr, text, s->len) == 0;
}

static size_t count_type(const struct tv_ggml_vocab *g, int type)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_tokens; i++)
        n += g->types[i] == type;
    return n;
}

static long find_token(const struct tv_ggml_vocab *g, const char *text)
{
    for (size_t i = 0; i < g->n_tokens; i++)
        if (str_is(&g->tokens[i], text))
            return (long)i;
    return -1;
}

/* Tokens, types and merges id for id; fails naming the first difference. */
static void assert_same_arrays(const struct tv_ggml_vocab *a, const struct tv_ggml_vocab *b,
                               bool compare_types, const char *what)
{
    if (a->n_tokens != b->n_tokens)
        fail_msg("%s: %zu tokens vs %zu", what, a->n_tokens, b->n_tokens);
    for (size_t i = 0; i < a->n_tokens; i++) {
        if (a->tokens[i].len != b->tokens[i].len ||
            memcmp(a->tokens[i].ptr, b->tokens[i].ptr, a->tokens[i].len) != 0)
            fail_msg("%s: token %zu is '%.*s' vs '%.*s'", what, i, (int)a->tokens[i].len,
                     a->tokens[i].ptr, (int)b->tokens[i].len, b->tokens[i].ptr);
        if (compare_types && a->types[i] != b->types[i])
            fail_msg("%s: token %zu ('%.*s') has type %s vs %s", what, i, (int)a->tokens[i].len,
                     a->tokens[i].ptr, tv_token_type_name(a->types[i]),
                     tv_token_type_name(b->types[i]));
    }
    if (a->n_merges != b->n_merges)
        fail_msg("%s: %zu merges vs %zu", what, a->n_merges, b->n_merges);
    for (size_t r = 0; r < a->n_merges; r++)
        if (a->merges[r].len != b->merges[r].len ||
            memcmp(a->merges[r].ptr, b->merges[r].ptr, a->merges[r].len) != 0)
            fail_msg("%s: merge %zu is '%.*s' vs '%.*s'", what, r, (int)a->merges[r].len,
                     a->merges[r].ptr, (int)b->merges[r].len, b->merges[r].ptr);
}

/* A minimal tokenizer.json around a BPE model with the given pre-tokenizer. */
static tv_model *bpe_with_pre(const char *pre_tokenizer, bool ignore_merges)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":null,"
             "\"pre_tokenizer\":%s,\"post_processor\":null,\"decoder\":null,"
             "\"model\":{\"type\":\"BPE\",\"ignore_merges\":%s,"
             "\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}}",
             pre_tokenizer, ignore_merges ? "true" : "false");
    return memory_or_fail(text, strlen(text), "tokenizer.json");
}

/* ---- the GGUF view of real tokenizers ------------------------------------------------- */

static void ggml_view_of_gpt2_tokenizer_json_matches_llama_cpp_gguf(void **state)
{
    (void)state;
    tv_model *hf = fixture_open_or_fail("tokenizers/gpt2/tokenizer.json");
    tv_model *gguf = fixture_open_or_fail("gguf/vocab/ggml-vocab-gpt-2.gguf");
    struct tv_ggml_vocab a, b;
    view_or_fail(hf, &a);
    view_or_fail(gguf, &b);
    assert_string_equal(a.model, "gpt2");
    assert_string_equal(a.pre, "gpt-2");
    assert_false(a.pre_unrecognised);
    assert_null(a.scores); /* llama.cpp writes no scores for gpt2 */
    assert_null(a.dropped);
    assert_string_equal(b.model, "gpt2");
    assert_string_equal(b.pre, "gpt-2");
    assert_same_arrays(&a, &b, true, "gpt2 tokenizer.json vs ggml-vocab-gpt-2.gguf");
    assert_int_equal(a.types[50256], TV_TOKEN_CONTROL);
    /* The original text rides along for tokenizer.huggingface.json. */
    assert_non_null(a.hf_json);
    assert_int_equal(a.hf_json_len, 2107653);
    tv_ggml_vocab_release(&a);
    tv_ggml_vocab_release(&b);
    tv_model_free(hf);
    tv_model_free(gguf);
}

static void ggml_view_of_bert_vocab_txt_matches_bge_gguf_in_phantom_form(void **state)
{
    (void)state;
    tv_model *txt = fixture_open_or_fail("tokenizers/bert-base-uncased/vocab.txt");
    tv_model *gguf = fixture_open_or_fail("gguf/vocab/ggml-vocab-bert-bge.gguf");
    struct tv_ggml_vocab a, b;
    view_or_fail(txt, &a);
    view_or_fail(gguf, &b);
    assert_string_equal(a.model, "bert");
    assert_null(a.scores);
    /* BGE uses bert-base-uncased's vocabulary: the rewrite gives the GGUF's tokens and
       types exactly ([UNK] included: Hugging Face registers it as a special token). */
    assert_same_arrays(&a, &b, true, "bert-base-uncased vocab.txt vs ggml-vocab-bert-bge.gguf");
    assert_true(str_is(&a.tokens[1996], METASPACE "the"));
    assert_true(str_is(&a.tokens[29601], "waite"));  /* "##waite" */
    assert_true(str_is(&a.tokens[1], "[unused0]"));
    assert_int_equal(a.types[100], TV_TOKEN_CONTROL);
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        if (b.special[s] >= 0)
            assert_int_equal(a.special[s], b.special[s]);
    tv_ggml_vocab_release(&a);
    tv_ggml_vocab_release(&b);
    tv_model_free(txt);
    tv_model_free(gguf);
}

static void ggml_view_of_llama3_is_gpt2_llama_bpe_with_control_specials(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("tokenizers/llama3/tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "gpt2");
    assert_string_equal(g.pre, "llama-bpe");
    assert_int_equal(g.n_tokens, 128256);
    assert_int_equal(g.n_merges, 280147);
    assert_int_equal(count_type(&g, TV_TOKEN_CONTROL), 256);
    assert_int_equal(count_type(&g, TV_TOKEN_NORMAL), 128000);
    assert_true(str_is(&g.tokens[128000], "<|begin_of_text|>"));
    assert_true(str_is(&g.merges[0], "\xc4\xa0 \xc4\xa0"));
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_sentencepiece_bpe_json_is_llama_with_merge_rank_scores(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("tokenizers/llama2/tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "llama");
    assert_string_equal(g.pre, "default");
    assert_int_equal(g.n_merges, 0); /* llama.cpp's SPM tokenizer reads scores, not merges */
    assert_int_equal(count_type(&g, TV_TOKEN_BYTE), 256);
    assert_int_equal(g.types[1], TV_TOKEN_CONTROL);
    assert_true(g.add_bos == 1 && g.add_space_prefix == 1);
    assert_int_equal(g.special[TV_SPECIAL_BOS], 1);
    assert_non_null(g.scores);
    /* The first merge "\u2581 t" makes token "\u2581t": score -1; later merges score lower. */
    long t = find_token(&g, METASPACE "t");
    assert_true(t >= 0);
    assert_true(g.scores[t] == -1.0f);
    long er = find_token(&g, "er");
    assert_true(er >= 0 && g.scores[er] < g.scores[t]);
    assert_true(g.scores[3] == 0.0f); /* <0x00> */
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_wordpiece_json_is_bert_with_template_flags(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("safetensors/model2vec-test-model-float32/tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "bert");
    assert_int_equal(count_type(&g, TV_TOKEN_CONTROL), 5);
    assert_true(str_is(&g.tokens[0], "[PAD]"));
    assert_true(find_token(&g, METASPACE "the") >= 0);
    assert_true(find_token(&g, "the") < 0 || find_token(&g, "##the") < 0);
    /* [CLS] $A [SEP]: SpecialVocab makes them add_bos/add_eos with bos = cls, eos = sep. */
    assert_int_equal(g.add_bos, 1);
    assert_int_equal(g.add_eos, 1);
    assert_int_equal(g.special[TV_SPECIAL_BOS], g.special[TV_SPECIAL_CLS]);
    assert_int_equal(g.special[TV_SPECIAL_EOS], g.special[TV_SPECIAL_SEP]);
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_unigram_json_is_t5_with_its_scores_and_names_what_it_drops(void **state)
{
    (void)state;
    tv_model *m =
        fixture_open_or_fail("safetensors/model2vec-test-model-vocab-quantized/tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "t5");
    assert_non_null(g.scores);
    for (uint32_t i = 0; i < g.n_tokens; i++)
        assert_true(g.scores[i] == tv_vocab_token(m, i)->score);
    assert_int_equal(g.special[TV_SPECIAL_UNK], 1);
    assert_int_equal(g.add_space_prefix, 1); /* Metaspace prepend_scheme "always" */
    /* GGUF's t5 has no BertNormalizer: the caller is told. */
    assert_non_null(g.dropped);
    assert_non_null(strstr(g.dropped, "BertNormalizer"));
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_minicpm3_is_llama_with_added_control_tokens(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("safetensors/ollama-minicpm3-testdata/tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "llama");
    assert_int_equal(g.n_tokens, 73448);
    assert_int_equal(count_type(&g, TV_TOKEN_CONTROL), 11);
    assert_true(str_is(&g.tokens[73440], "<|im_end|>"));
    assert_int_equal(g.types[73440], TV_TOKEN_CONTROL);
    assert_true(g.scores[73440] == 0.0f);
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_sentencepiece_models_keeps_their_scores_and_types(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("llama2c/llama-tokenizer.model");
    tv_model *gguf = fixture_open_or_fail("gguf/vocab/ggml-vocab-llama-spm.gguf");
    struct tv_ggml_vocab g, ref;
    view_or_fail(m, &g);
    view_or_fail(gguf, &ref);
    assert_string_equal(g.model, "llama");
    /* The Llama 2 tokenizer.model is what ggml-vocab-llama-spm.gguf was made from. */
    assert_same_arrays(&g, &ref, true, "llama-tokenizer.model vs ggml-vocab-llama-spm.gguf");
    for (size_t i = 0; i < g.n_tokens; i++)
        if (g.scores[i] != ref.scores[i])
            fail_msg("score of token %zu: %g vs %g", i, g.scores[i], ref.scores[i]);
    tv_ggml_vocab_release(&g);
    tv_ggml_vocab_release(&ref);
    tv_model_free(m);
    tv_model_free(gguf);

    m = fixture_open_or_fail("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model");
    view_or_fail(m, &g);
    assert_string_equal(g.model, "t5");
    assert_int_equal(g.special[TV_SPECIAL_UNK], 2);
    assert_non_null(g.precompiled_charsmap);
    assert_true(g.precompiled_charsmap_len > 4);
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_of_gguf_keeps_its_arrays_model_and_pre(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("gguf/vocab/ggml-vocab-gpt-neox.gguf");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_string_equal(g.model, "gpt2");
    assert_null(g.pre); /* this file has no tokenizer.ggml.pre; we do not invent one */
    assert_false(g.pre_unrecognised);
    assert_int_equal(g.n_merges, 50009);
    assert_int_equal(count_type(&g, TV_TOKEN_USER_DEFINED), 178);
    assert_null(g.hf_json);
    assert_int_equal(g.special[TV_SPECIAL_UNK], 0);
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

/* ---- pre-tokenizer recognition -------------------------------------------------------- */

static const char *view_pre(const char *pre_tokenizer, bool ignore_merges, bool *unrecognised)
{
    static char name[64];
    tv_model *m = bpe_with_pre(pre_tokenizer, ignore_merges);
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    snprintf(name, sizeof name, "%s", g.pre ? g.pre : "(none)");
    *unrecognised = g.pre_unrecognised;
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
    return name;
}

#define BL_FALSE "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}"
#define SPLIT_SEQ(re)                                                                      \
    "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"" re \
    "\"},\"behavior\":\"Isolated\",\"invert\":false}," BL_FALSE "]}"
#define RE_L3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| " \
              "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"
#define RE_Q2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| "      \
              "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

static void ggml_view_names_pre_tokenizers_by_their_structure(void **state)
{
    (void)state;
    bool unrec;
    assert_string_equal(view_pre("{\"type\":\"ByteLevel\",\"add_prefix_space\":false}", false,
                                 &unrec), "gpt-2");
    assert_false(unrec);
    assert_string_equal(view_pre(SPLIT_SEQ(RE_L3), true, &unrec), "llama-bpe");
    /* The same regex without ignore_merges is cl100k's: llama.cpp calls it dbrx. */
    assert_string_equal(view_pre(SPLIT_SEQ(RE_L3), false, &unrec), "dbrx");
    assert_string_equal(view_pre(SPLIT_SEQ(RE_Q2), false, &unrec), "qwen2");
    assert_string_equal(view_pre("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":"
                                 "\"Digits\",\"individual_digits\":true},{\"type\":\"ByteLevel\","
                                 "\"add_prefix_space\":false,\"use_regex\":true}]}", false, &unrec),
                        "starcoder");
    assert_string_equal(view_pre("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":"
                                 "\"Punctuation\",\"behavior\":\"Contiguous\"},{\"type\":"
                                 "\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
                                 "{\"type\":\"Digits\",\"individual_digits\":false},{\"type\":"
                                 "\"Split\",\"pattern\":{\"Regex\":\"[0-9][0-9][0-9]\"},"
                                 "\"behavior\":\"Isolated\",\"invert\":false}]}", false, &unrec),
                        "falcon");
    assert_false(unrec);
    /* One character different, a prefix space, or an unknown component: not named. */
    assert_string_equal(view_pre(SPLIT_SEQ("\\\\p{N}{1,4}"), false, &unrec), "(none)");
    assert_true(unrec);
    assert_string_equal(view_pre("{\"type\":\"ByteLevel\",\"add_prefix_space\":true}", false,
                                 &unrec), "(none)");
    assert_true(unrec);
    assert_string_equal(view_pre("{\"type\":\"Whitespace\"}", false, &unrec), "(none)");
    assert_true(unrec);
}

/* ---- types, holes, refusals ------------------------------------------------------------- */

static void ggml_view_fills_holes_and_types_added_tokens_as_llama_cpp_does(void **state)
{
    (void)state;
    const char *text =
        "{\"added_tokens\":[{\"id\":3,\"content\":\"<|end|>\",\"special\":true},"
        "{\"id\":4,\"content\":\"<pad>\",\"special\":false},"
        "{\"id\":5,\"content\":\"my" METASPACE "word\",\"special\":false}],"
        "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false},"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"ab\":2},\"merges\":[]}}";
    tv_model *m = memory_or_fail(text, strlen(text), "tokenizer.json");
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_int_equal(g.n_tokens, 6);
    assert_true(str_is(&g.tokens[1], "[PAD1]"));
    assert_int_equal(g.types[1], TV_TOKEN_UNUSED);
    assert_int_equal(g.types[3], TV_TOKEN_CONTROL);
    assert_int_equal(g.types[4], TV_TOKEN_CONTROL);      /* looks special */
    assert_int_equal(g.types[5], TV_TOKEN_USER_DEFINED);
    assert_true(str_is(&g.tokens[5], "my word"));        /* pre-normalized for llama.cpp */
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
}

static void ggml_view_refuses_what_gguf_cannot_express(void **state)
{
    (void)state;
    struct {
        const char *json;
        int code;
        const char *says;
    } cases[] = {
        {"{\"pre_tokenizer\":null,\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0,"
         "\"<unk>\":1},\"unk_token\":\"<unk>\"}}", TV_ERR_UNSUPPORTED, "WordLevel"},
        {"{\"pre_tokenizer\":null,\"model\":{\"type\":\"BPE\",\"end_of_word_suffix\":\"</w>\","
         "\"vocab\":{\"a</w>\":0},\"merges\":[]}}", TV_ERR_UNSUPPORTED, "</w>"},
        /* A user-defined token that becomes " x", which the vocabulary has already. */
        {"{\"added_tokens\":[{\"id\":2,\"content\":\"" METASPACE "x\",\"special\":false}],"
         "\"pre_tokenizer\":null,\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\" x\":1},"
         "\"merges\":[]}}", TV_ERR_DATA, "tokens 1 and 2"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = memory_or_fail(cases[i].json, strlen(cases[i].json), "tokenizer.json");
        struct tv_ggml_vocab g;
        tv_error err = {0};
        assert_int_equal(tv_ggml_vocab_from_model(m, &g, &err), -1);
        assert_int_equal(err.code, cases[i].code);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, "tokenizer.json"))
            fail_msg("case %zu: '%s' does not name '%s' and the file", i, err.message,
                     cases[i].says);
        assert_null(g.tokens);
        tv_model_free(m);
    }
    /* No vocabulary at all. */
    const char *config = "{\"architectures\":[\"X\"],\"hidden_size\":8}";
    tv_model *empty = memory_or_fail(config, strlen(config), "config.json");
    struct tv_ggml_vocab g;
    tv_error err = {0};
    assert_int_equal(tv_ggml_vocab_from_model(empty, &g, &err), -1);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    char *json = (char *)1;
    size_t len = 1;
    assert_int_equal(tv_tokenizer_json_from_model(empty, &json, &len, &err), -1);
    assert_null(json);
    tv_model_free(empty);
}

/* ---- tokenizer.json out ---------------------------------------------------------------- */

static void tokenizer_json_from_a_tokenizer_json_is_the_original_byte_for_byte(void **state)
{
    (void)state;
    const char *path = real_fixture("tokenizers/llama2/tokenizer.json");
    size_t file_len;
    uint8_t *file = read_file_or_fail(path, &file_len);
    tv_model *m = fixture_open_or_fail("tokenizers/llama2/tokenizer.json");
    char *json;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), 0);
    assert_int_equal(len, file_len);
    assert_memory_equal(json, file, len);
    tv_free(json);
    tv_free(file);
    tv_model_free(m);
}

/* A vocab-only GGUF with three BPE tokens; hf_json (or NULL) in tokenizer.huggingface.json. */
static void small_gguf(struct gguf_build *b, const char *model, const char *pre,
                       const char *const *tokens, size_t n, const char *hf_json)
{
    static const char *const merges[] = {"a b"};
    gb_init(b, 3);
    gb_kv_string(b, "general.architecture", "llama");
    gb_kv_string(b, "tokenizer.ggml.model", model);
    if (pre)
        gb_kv_string(b, "tokenizer.ggml.pre", pre);
    gb_kv_strings(b, "tokenizer.ggml.tokens", tokens, n);
    gb_kv_strings(b, "tokenizer.ggml.merges", merges, 1);
    if (hf_json)
        gb_kv_string(b, "tokenizer.huggingface.json", hf_json);
}

static void tokenizer_json_from_gguf_returns_its_huggingface_json_unchanged(void **state)
{
    (void)state;
    static const char *const tokens[] = {"a", "b", "ab"};
    const char *original = "{\"version\":\"1.0\",  \"model\": {\"type\":\"BPE\"}}\n";
    struct gguf_build b;
    small_gguf(&b, "gpt2", "gpt-2", tokens, 3, original);
    tv_model *m = memory_or_fail((const char *)b.data, b.len, "small.gguf");
    char *json;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), 0);
    assert_int_equal(len, strlen(original));
    assert_memory_equal(json, original, len);
    tv_free(json);
    struct tv_ggml_vocab g;
    view_or_fail(m, &g);
    assert_int_equal(g.hf_json_len, strlen(original));
    tv_ggml_vocab_release(&g);
    tv_model_free(m);
    gb_release(&b);
}

static void tokenizer_json_refuses_what_it_cannot_carry(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "b", "ab"};
    static const char *const bad_utf8[] = {"a", "b", "a\xff"};
    struct {
        const char *model, *pre;
        const char *const *tokens;
        const char *says;
    } cases[] = {
        {"rwkv", NULL, good, "'rwkv'"},
        {"gpt2", "kimi-k2", good, "'kimi-k2'"},
        {"gpt2", "gpt-2", bad_utf8, "token 2"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct gguf_build b;
        small_gguf(&b, cases[i].model, cases[i].pre, cases[i].tokens, 3, NULL);
        tv_model *m = memory_or_fail((const char *)b.data, b.len, "small.gguf");
        char *json = NULL;
        size_t len = 0;
        tv_error err = {0};
        assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), -1);
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, "small.gguf"))
            fail_msg("case %zu: '%s' does not name '%s' and the file", i, err.message,
                     cases[i].says);
        assert_null(json);
        tv_model_free(m);
        gb_release(&b);
    }
}

/*
 * GGUF -> tokenizer.json -> GGUF view: the same tokens, types and merges id for id, and
 * the special ids tokenizer.json can carry. Known losses, checked as such: "llama"
 * scores (tokenizer.json BPE has none; they come back as merge ranks), phi-3's 53
 * "[PAD<id>]" tokens typed UNKNOWN (tokenizer.json has one unknown token), the eos of
 * GGUFs that do not add it (tokenizer.json names eos only in a post-processor), and a
 * missing tokenizer.ggml.pre (llama.cpp's "default" is written and read back).
 */
static void tokenizer_json_rebuilt_from_each_gguf_reads_back_to_the_same_arrays(void **state)
{
    (void)state;
    static const char *const files[] = {
        "gguf/vocab/ggml-vocab-gpt-2.gguf",     "gguf/vocab/ggml-vocab-llama-spm.gguf",
        "gguf/vocab/ggml-vocab-phi-3.gguf",     "gguf/vocab/ggml-vocab-bert-bge.gguf",
        "gguf/vocab/ggml-vocab-falcon.gguf",    "gguf/vocab/ggml-vocab-starcoder.gguf",
        "gguf/vocab/ggml-vocab-deepseek-llm.gguf", "gguf/vocab/ggml-vocab-gpt-neox.gguf",
        "gguf/weights/stories260K.gguf",
    };
    for (size_t f = 0; f < TV_ARRAY_SIZE(files); f++) {
        tv_model *gguf = fixture_open_or_fail(files[f]);
        struct tv_ggml_vocab a, b;
        view_or_fail(gguf, &a);
        char *json;
        size_t len;
        tv_error err = {0};
        if (tv_tokenizer_json_from_model(gguf, &json, &len, &err) < 0)
            fail_msg("%s: %s", files[f], err.message);
        tv_model *back = memory_or_fail(json, len, "tokenizer.json");
        view_or_fail(back, &b);
        assert_string_equal(a.model, b.model);
        /* Only gpt2 has pre-tokenizers in llama.cpp; the others read back as "default". */
        if (a.pre && !strcmp(a.model, "gpt2"))
            assert_string_equal(a.pre, b.pre);
        else
            assert_string_equal(b.pre, "default");
        bool phi3 = strstr(files[f], "phi-3") != NULL;
        assert_same_arrays(&a, &b, !phi3, files[f]);
        if (phi3) {
            size_t differ = 0;
            for (size_t i = 0; i < a.n_tokens; i++)
                if (a.types[i] != b.types[i]) {
                    differ++;
                    assert_int_equal(a.types[i], TV_TOKEN_UNKNOWN);
                    assert_int_equal(b.types[i], TV_TOKEN_NORMAL);
                    assert_memory_equal(a.tokens[i].ptr, "[PAD", 4);
                }
            assert_int_equal(differ, 53);
        }
        for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
            if (b.special[s] >= 0 && a.special[s] >= 0 && a.special[s] != b.special[s])
                fail_msg("%s: %s id %lld came back as %lld", files[f], tv_special_name(s),
                         (long long)a.special[s], (long long)b.special[s]);
        }
        /* Always carried: unk, and what the post-processor adds. */
        assert_int_equal(b.special[TV_SPECIAL_UNK], a.special[TV_SPECIAL_UNK]);
        if (a.add_bos == 1)
            assert_int_equal(b.special[TV_SPECIAL_BOS], a.special[TV_SPECIAL_BOS]);
        if (a.add_bos >= 0)
            assert_int_equal(b.add_bos, a.add_bos);
        if (!strcmp(a.model, "bert")) {
            assert_int_equal(b.special[TV_SPECIAL_CLS], a.special[TV_SPECIAL_CLS]);
            assert_int_equal(b.special[TV_SPECIAL_SEP], a.special[TV_SPECIAL_SEP]);
        }
        if (!strcmp(a.model, "llama")) {
            /* Scores come back as merge ranks: the same order for merged tokens. */
            assert_non_null(b.scores);
            long t = find_token(&a, METASPACE "t"), th = find_token(&a, METASPACE "th");
            if (t >= 0 && th >= 0)
                assert_true((a.scores[t] > a.scores[th]) == (b.scores[t] > b.scores[th]));
        }
        tv_free(json);
        tv_ggml_vocab_release(&a);
        tv_ggml_vocab_release(&b);
        tv_model_free(back);
        tv_model_free(gguf);
    }
}

/* tokenizer.json -> GGUF view -> tokenizer.json (rebuilt) -> GGUF view: the same. */
static void tokenizer_json_rebuilt_from_each_tokenizer_json_keeps_its_gguf_view(void **state)
{
    (void)state;
    static const char *const files[] = {
        "tokenizers/gpt2/tokenizer.json",
        "tokenizers/llama3/tokenizer.json",
        "tokenizers/llama2/tokenizer.json",
        "safetensors/model2vec-test-model-float32/tokenizer.json",
        "safetensors/model2vec-test-model-vocab-quantized/tokenizer.json",
        "safetensors/ollama-minicpm3-testdata/tokenizer.json",
        "tokenizers/bert-base-cased/vocab.txt",
        "llama2c/llama-tokenizer.model",
    };
    for (size_t f = 0; f < TV_ARRAY_SIZE(files); f++) {
        tv_model *m = fixture_open_or_fail(files[f]);
        struct tv_ggml_vocab a, b;
        view_or_fail(m, &a);
        char *json;
        size_t len;
        tv_error err = {0};
        if (tv_tokenizer_json_rebuild(m, &json, &len, &err) < 0)
            fail_msg("%s: %s", files[f], err.message);
        tv_model *back = memory_or_fail(json, len, "tokenizer.json");
        view_or_fail(back, &b);
        assert_string_equal(a.model, b.model);
        assert_string_equal(a.pre, b.pre);
        assert_same_arrays(&a, &b, true, files[f]);
        /* What the post-processor adds comes back; nothing is added that was not, except
           BERT's [CLS] $A [SEP], which a bare vocab.txt implies without saying. */
        if (a.add_bos >= 0)
            assert_int_equal(b.add_bos, a.add_bos);
        if (a.add_eos >= 0 || strcmp(a.model, "bert") != 0)
            assert_int_equal(b.add_eos, a.add_eos);
        assert_int_equal(b.special[TV_SPECIAL_UNK], a.special[TV_SPECIAL_UNK]);
        for (int s = 0; s < TV_SPECIAL_COUNT; s++)
            if (a.special[s] >= 0 && b.special[s] >= 0 && a.special[s] != b.special[s])
                fail_msg("%s: %s id %lld came back as %lld", files[f], tv_special_name(s),
                         (long long)a.special[s], (long long)b.special[s]);
        if (!strcmp(a.model, "t5"))
            for (size_t i = 0; i < a.n_tokens; i++)
                assert_true(a.scores[i] == b.scores[i]);
        tv_free(json);
        tv_ggml_vocab_release(&a);
        tv_ggml_vocab_release(&b);
        tv_model_free(back);
        tv_model_free(m);
    }
}

static void tokenizer_json_for_bert_undoes_the_phantom_space_and_reads_the_case(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        bool lowercase;
    } cases[] = {
        {"tokenizers/bert-base-uncased/vocab.txt", true},
        {"tokenizers/bert-base-cased/vocab.txt", false},
    };
    for (size_t c = 0; c < TV_ARRAY_SIZE(cases); c++) {
        tv_model *m = fixture_open_or_fail(cases[c].file);
        char *json;
        size_t len;
        tv_error err = {0};
        assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), 0);
        cJSON *doc = cJSON_ParseWithLength(json, len);
        assert_non_null(doc);
        const cJSON *norm = cJSON_GetObjectItem(doc, "normalizer");
        assert_string_equal(cJSON_GetObjectItem(norm, "type")->valuestring, "BertNormalizer");
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(norm, "lowercase")), cases[c].lowercase);
        /* model.vocab is vocab.txt again, id for id. */
        const cJSON *vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "model"), "vocab");
        assert_int_equal((size_t)cJSON_GetArraySize(vocab), tv_vocab_size(m));
        for (const cJSON *e = vocab->child; e; e = e->next) {
            const struct tv_token *t = tv_vocab_token(m, (uint32_t)e->valuedouble);
            assert_non_null(t);
            if (strcmp(t->text, e->string) != 0)
                fail_msg("%s: id %d is '%s' in vocab.txt but '%s' in tokenizer.json",
                         cases[c].file, (int)e->valuedouble, t->text, e->string);
        }
        const cJSON *single =
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "post_processor"), "single");
        assert_int_equal(cJSON_GetArraySize(single), 3); /* [CLS] $A [SEP] */
        cJSON_Delete(doc);
        tv_free(json);
        tv_model_free(m);
    }
}

static void tokenizer_json_for_llama_derives_merges_from_scores(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail("gguf/vocab/ggml-vocab-llama-spm.gguf");
    char *json;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), 0);
    cJSON *doc = cJSON_ParseWithLength(json, len);
    assert_non_null(doc);
    const cJSON *model = cJSON_GetObjectItem(doc, "model");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(model, "byte_fallback")));
    assert_string_equal(cJSON_GetObjectItem(model, "unk_token")->valuestring, "<unk>");
    const cJSON *merges = cJSON_GetObjectItem(model, "merges");
    /* Highest-scoring piece first: "\u2581t" (score -1) from "\u2581" + "t". */
    const cJSON *first = merges->child;
    assert_string_equal(first->child->valuestring, METASPACE);
    assert_string_equal(first->child->next->valuestring, "t");
    assert_true(cJSON_GetArraySize(merges) > 31000);
    /* The added specials are listed; the unknown token is the model's, not an added one. */
    const cJSON *added = cJSON_GetObjectItem(doc, "added_tokens");
    assert_int_equal(cJSON_GetArraySize(added), 2);
    assert_string_equal(cJSON_GetObjectItem(added->child, "content")->valuestring, "<s>");
    /* Key order as Hugging Face writes it. */
    static const char *const keys[] = {"version", "truncation", "padding", "added_tokens",
                                       "normalizer", "pre_tokenizer", "post_processor",
                                       "decoder", "model"};
    size_t k = 0;
    for (const cJSON *e = doc->child; e; e = e->next, k++)
        assert_string_equal(e->string, keys[k]);
    assert_int_equal(k, TV_ARRAY_SIZE(keys));
    cJSON_Delete(doc);
    tv_free(json);
    tv_model_free(m);
}

/* ---- failing allocator ---------------------------------------------------------------- */

/* Attempts for failalloc_sweep on the model m: what they build is freed at once. */
static bool ggml_view_and_rebuild(void *m, tv_error *err)
{
    struct tv_ggml_vocab g;
    char *json = NULL;
    size_t len;
    int rc = tv_ggml_vocab_from_model(m, &g, err);
    if (rc == 0) {
        tv_ggml_vocab_release(&g);
        rc = tv_tokenizer_json_rebuild(m, &json, &len, err);
    }
    if (rc == 0)
        tv_free(json);
    return rc == 0;
}

static bool tokenizer_json_from_model(void *m, tv_error *err)
{
    char *json = NULL;
    size_t len;
    if (tv_tokenizer_json_from_model(m, &json, &len, err) != 0)
        return false;
    tv_free(json);
    return true;
}

static void vocab_export_survives_every_allocation_failure(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"added_tokens\":[{\"id\":3,\"content\":\"<s>\",\"special\":true}],"
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\","
        "\"prepend\":\"" METASPACE "\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
        "\"content\":\"" METASPACE "\"}]},\"post_processor\":{\"type\":\"TemplateProcessing\","
        "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":"
        "\"A\",\"type_id\":0}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[3],"
        "\"tokens\":[\"<s>\"]}}},\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,"
        "\"unk_token\":\"<unk>\",\"vocab\":{\"<unk>\":0,\"a\":1,\"b\":2,\"<s>\":3,\"ab\":4,"
        "\"<0x41>\":5},\"merges\":[\"a b\"]}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,"
        "\"a\":3,\"##b\":4}},\"added_tokens\":[{\"id\":1,\"content\":\"[CLS]\",\"special\":true}]}",
        "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0],[\"" METASPACE
        "a\",-1.5],[\"b\",-2]]},\"pre_tokenizer\":{\"type\":\"Metaspace\"}}",
    };
    for (size_t t = 0; t < TV_ARRAY_SIZE(texts); t++) {
        tv_model *m = memory_or_fail(texts[t], strlen(texts[t]), "tokenizer.json");
        struct failalloc_sweep s = failalloc_sweep(20000, ggml_view_and_rebuild, m);
        if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
            fail_msg("text %zu: allocation %ld failed but the error was %d: %s", t, s.n,
                     s.err.code, s.err.message);
        assert_true(s.succeeded);
        assert_true(s.n >= 10);
        tv_model_free(m);
    }
}

/* ---- word lists ---------------------------------------------------------------------------- */

static char *json_or_fail(const tv_model *m)
{
    char *json = NULL;
    size_t len = 0;
    tv_error err = {0};
    if (tv_tokenizer_json_from_model(m, &json, &len, &err) < 0)
        fail_msg("%s: %s", tv_model_path(m), err.message);
    assert_int_equal(strlen(json), len);
    return json;
}

/*
 * Word vectors have a plain word list: tokenizer.json gets it as a WordLevel model (each word
 * its id), split on whitespace only (a word may hold punctuation: "u.s.", "don't"), without a
 * decoder (words are joined with spaces), the list's unknown word as unk_token.
 */
static void tokenizer_json_of_a_word_list_is_word_level_split_on_whitespace(void **state)
{
    (void)state;
    const char *vec = "4 2\n<unk> 0 0\nthe 1 2\nu.s. 3 4\ndon't 5 6\n";
    tv_model *m = memory_or_fail(vec, strlen(vec), "w.vec");
    char *json = json_or_fail(m);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    const cJSON *model = cJSON_GetObjectItem(doc, "model");
    assert_string_equal(cJSON_GetObjectItem(model, "type")->valuestring, "WordLevel");
    assert_string_equal(cJSON_GetObjectItem(model, "unk_token")->valuestring, "<unk>");
    const cJSON *vocab = cJSON_GetObjectItem(model, "vocab");
    assert_int_equal(cJSON_GetArraySize(vocab), 4);
    assert_int_equal(cJSON_GetObjectItem(vocab, "u.s.")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "pre_tokenizer"), "type")
                            ->valuestring, "WhitespaceSplit");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "normalizer")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "decoder")));
    const cJSON *added = cJSON_GetObjectItem(doc, "added_tokens");
    assert_int_equal(cJSON_GetArraySize(added), 1);
    assert_string_equal(cJSON_GetObjectItem(added->child, "content")->valuestring, "<unk>");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(added->child, "special")));
    cJSON_Delete(doc);

    /* read back, it is the same list and tokenizes words whole */
    tv_model *t = memory_or_fail(json, strlen(json), "tokenizer.json");
    assert_int_equal(tv_vocab_kind(t), TV_TOKENIZER_WORDLEVEL);
    assert_int_equal(tv_vocab_size(t), 4);
    for (uint32_t id = 0; id < 4; id++)
        assert_string_equal(tv_vocab_token(t, id)->text, tv_vocab_token(m, id)->text);
    tv_error err = {0};
    tv_tokenizer *tok = tv_tokenizer_new(t, &err);
    if (!tok)
        fail_msg("%s", err.message);
    struct tv_ids ids;
    tv_ids_init(&ids);
    const char *text = "the  u.s.\tdon't zebra";
    assert_int_equal(tv_encode(tok, text, strlen(text), 0, &ids, &err), 0);
    assert_int_equal(ids.n, 4);
    assert_int_equal(ids.ids[0], 1);
    assert_int_equal(ids.ids[1], 2);
    assert_int_equal(ids.ids[2], 3);
    assert_int_equal(ids.ids[3], 0); /* an unknown word */
    char *decoded = NULL;
    size_t decoded_len;
    assert_int_equal(tv_decode(tok, ids.ids, 3, 0, &decoded, &decoded_len, &err), 0);
    assert_string_equal(decoded, "the u.s. don't");
    tv_string_free(decoded);
    tv_ids_release(&ids);
    tv_tokenizer_free(tok);
    tv_model_free(t);
    tv_free(json);
    tv_model_free(m);

    /* no unknown word: WordLevel's default name, no added tokens */
    const char *glove = "the 1 2\n, 3 4\n";
    m = memory_or_fail(glove, strlen(glove), "g.txt");
    json = json_or_fail(m);
    doc = cJSON_Parse(json);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "model"), "unk_token")
                            ->valuestring, "<unk>");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "added_tokens")), 0);
    cJSON_Delete(doc);
    tv_free(json);
    tv_model_free(m);

    /* every real word-vector fixture with UTF-8 words and no repeats */
    static const char *const files[] = {"wordvec/gensim-test_glove.txt",
                                        "wordvec/torchtext-glove.6B.50d.txt",
                                        "wordvec/gensim-euclidean_vectors.bin"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(files); i++) {
        m = fixture_open_or_fail(files[i]);
        json = json_or_fail(m);
        t = memory_or_fail(json, strlen(json), "tokenizer.json");
        assert_int_equal(tv_vocab_size(t), tv_vocab_size(m));
        for (uint32_t id = 0; id < tv_vocab_size(m); id++)
            assert_string_equal(tv_vocab_token(t, id)->text, tv_vocab_token(m, id)->text);
        tv_model_free(t);
        tv_free(json);
        tv_model_free(m);
    }
}

static void tokenizer_json_of_a_word_list_refuses_repeated_and_non_utf8_words(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code;
        const char *says;
    } cases[] = {
        {"3 1\nx 1\ny 2\nx 3\n", TV_ERR_DATA, "words 0 and 2 are both 'x'"},
        {"2 1\nok 1\n\xff 1\n", TV_ERR_UNSUPPORTED, "is not valid UTF-8"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = memory_or_fail(cases[i].text, strlen(cases[i].text), "bad.vec");
        char *json = NULL;
        size_t len = 0;
        tv_error err = {0};
        assert_int_equal(tv_tokenizer_json_from_model(m, &json, &len, &err), -1);
        assert_null(json);
        assert_int_equal(err.code, cases[i].code);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, "bad.vec"))
            fail_msg("case %zu: '%s' does not say '%s' and the file", i, err.message,
                     cases[i].says);
        tv_model_free(m);
    }
}

static void word_level_export_survives_every_allocation_failure(void **state)
{
    (void)state;
    const char *vec = "3 2\n<unk> 0 0\nthe 1 2\nu.s. 3 4\n";
    tv_model *m = memory_or_fail(vec, strlen(vec), "w.vec");
    struct failalloc_sweep s = failalloc_sweep(5000, tokenizer_json_from_model, m);
    if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
        fail_msg("allocation %ld failed but the error was %d: %s", s.n, s.err.code,
                 s.err.message);
    assert_true(s.succeeded);
    assert_true(s.n >= 5);
    tv_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ggml_view_of_gpt2_tokenizer_json_matches_llama_cpp_gguf),
        cmocka_unit_test(ggml_view_of_bert_vocab_txt_matches_bge_gguf_in_phantom_form),
        cmocka_unit_test(ggml_view_of_llama3_is_gpt2_llama_bpe_with_control_specials),
        cmocka_unit_test(ggml_view_of_sentencepiece_bpe_json_is_llama_with_merge_rank_scores),
        cmocka_unit_test(ggml_view_of_wordpiece_json_is_bert_with_template_flags),
        cmocka_unit_test(ggml_view_of_unigram_json_is_t5_with_its_scores_and_names_what_it_drops),
        cmocka_unit_test(ggml_view_of_minicpm3_is_llama_with_added_control_tokens),
        cmocka_unit_test(ggml_view_of_sentencepiece_models_keeps_their_scores_and_types),
        cmocka_unit_test(ggml_view_of_gguf_keeps_its_arrays_model_and_pre),
        cmocka_unit_test(ggml_view_names_pre_tokenizers_by_their_structure),
        cmocka_unit_test(ggml_view_fills_holes_and_types_added_tokens_as_llama_cpp_does),
        cmocka_unit_test(ggml_view_refuses_what_gguf_cannot_express),
        cmocka_unit_test(tokenizer_json_from_a_tokenizer_json_is_the_original_byte_for_byte),
        cmocka_unit_test(tokenizer_json_from_gguf_returns_its_huggingface_json_unchanged),
        cmocka_unit_test(tokenizer_json_refuses_what_it_cannot_carry),
        cmocka_unit_test(tokenizer_json_rebuilt_from_each_gguf_reads_back_to_the_same_arrays),
        cmocka_unit_test(tokenizer_json_rebuilt_from_each_tokenizer_json_keeps_its_gguf_view),
        cmocka_unit_test(tokenizer_json_for_bert_undoes_the_phantom_space_and_reads_the_case),
        cmocka_unit_test(tokenizer_json_for_llama_derives_merges_from_scores),
        cmocka_unit_test(vocab_export_survives_every_allocation_failure),
        cmocka_unit_test(tokenizer_json_of_a_word_list_is_word_level_split_on_whitespace),
        cmocka_unit_test(tokenizer_json_of_a_word_list_refuses_repeated_and_non_utf8_words),
        cmocka_unit_test(word_level_export_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
