/*
 * The tokenizer against the reference, on real files: every line of text/mixed.txt
 * through every tokenizer of expected/<name>.mixed.ids, llama.cpp's test vectors, and
 * decode(encode(text)) == text for the byte-level and byte-fallback tokenizers.
 * Also the API's errors and edge cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokvec/tokenizer.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static tv_model *open_fixture(const char *relative)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture(relative), NULL, &err);
    if (!m)
        fail_msg("%s: %s", relative, err.message);
    return m;
}

static tv_tokenizer *tokenizer_or_fail(const tv_model *m)
{
    tv_error err = {0};
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (!t)
        fail_msg("tv_tokenizer_new: %s", err.message);
    return t;
}

/* Splits buf (modified) at sep; returns the number of parts. */
static size_t split(char *buf, size_t len, const char *sep, char ***parts, size_t **lens)
{
    size_t seplen = strlen(sep), n = 0, cap = 16;
    *parts = malloc(cap * sizeof **parts);
    *lens = malloc(cap * sizeof **lens);
    char *p = buf, *end = buf + len;
    for (;;) {
        char *hit = memmem(p, (size_t)(end - p), sep, seplen);
        if (n == cap) {
            cap *= 2;
            *parts = realloc(*parts, cap * sizeof **parts);
            *lens = realloc(*lens, cap * sizeof **lens);
        }
        (*parts)[n] = p;
        (*lens)[n++] = (size_t)((hit ? hit : end) - p);
        if (!hit)
            break;
        *hit = '\0';
        p = hit + seplen;
    }
    return n;
}

/* Ids as text: "1 2 3" (or " 1 2 3" with a leading space, as llama.cpp writes them). */
static char *ids_text(const struct tv_ids *ids, bool leading_space)
{
    size_t cap = ids->n * 12 + 2;
    char *s = malloc(cap), *o = s;
    *o = '\0';
    for (size_t i = 0; i < ids->n; i++)
        o += sprintf(o, (i || leading_space) ? " %u" : "%u", ids->ids[i]);
    return s;
}

/* Encodes text and compares with ids the reference gave (Node @anush008/tokenizers
   0.6.0 = tokenizers 0.22.2). */
static void expect_ids(tv_tokenizer *t, const char *text, size_t len, unsigned flags,
                       const uint32_t *want, size_t n_want)
{
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error err = {0};
    if (tv_encode(t, text, len, flags, &ids, &err) < 0)
        fail_msg("encode: %s", err.message);
    bool same = ids.n == n_want;
    for (size_t i = 0; same && i < n_want; i++)
        same = ids.ids[i] == want[i];
    if (!same) {
        char *got = ids_text(&ids, false);
        fail_msg("'%.*s': got %s (%zu ids, expected %zu)", (int)len, text, got, ids.n, n_want);
    }
    tv_ids_release(&ids);
}

#define EXPECT(t, text, flags, ...)                                                          \
    do {                                                                                     \
        static const uint32_t want_[] = {__VA_ARGS__};                                       \
        expect_ids(t, text, sizeof(text) - 1, flags, want_, TV_ARRAY_SIZE(want_));           \
    } while (0)

/* Encodes each line of text/mixed.txt and compares with expected/<name>.mixed.ids. */
static void check_expected_ids(const char *tokenizer_path, const char *expected_name)
{
    tv_model *m = open_fixture(tokenizer_path);
    tv_tokenizer *t = tokenizer_or_fail(m);
    size_t text_len, exp_len;
    char path[256];
    snprintf(path, sizeof path, "expected/%s.mixed.ids", expected_name);
    char *text = (char *)read_file_or_fail(real_fixture("text/mixed.txt"), &text_len);
    char *exp = (char *)read_file_or_fail(real_fixture(path), &exp_len);
    char **lines, **want;
    size_t *line_lens, *want_lens;
    size_t n_lines = split(text, text_len, "\n", &lines, &line_lens);
    size_t n_want = split(exp, exp_len, "\n", &want, &want_lens);
    /* both files end with a newline: the last part is empty */
    assert_true(n_lines > 1 && line_lens[n_lines - 1] == 0);
    assert_int_equal(n_lines, n_want);
    struct tv_ids ids;
    tv_ids_init(&ids);
    size_t bad = 0;
    for (size_t i = 0; i + 1 < n_lines; i++) {
        tv_error err = {0};
        if (tv_encode(t, lines[i], line_lens[i], 0, &ids, &err) < 0)
            fail_msg("%s line %zu: %s", expected_name, i + 1, err.message);
        char *got = ids_text(&ids, false);
        if (strlen(got) != want_lens[i] || memcmp(got, want[i], want_lens[i]) != 0) {
            print_message("%s line %zu differs\n  text:     %.*s\n  expected: %.*s\n  got:      %s\n",
                          expected_name, i + 1, (int)line_lens[i], lines[i], (int)want_lens[i],
                          want[i], got);
            bad++;
        }
        free(got);
    }
    if (bad)
        fail_msg("%s: %zu of %zu lines differ from the reference", expected_name, bad,
                 n_lines - 1);
    tv_ids_release(&ids);
    free(lines);
    free(line_lens);
    free(want);
    free(want_lens);
    tv_free(text);
    tv_free(exp);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void gpt2_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("tokenizers/gpt2/tokenizer.json", "gpt2");
}

static void llama3_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("tokenizers/llama3/tokenizer.json", "llama3");
}

static void llama2_sentencepiece_bpe_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("tokenizers/llama2/tokenizer.json", "llama2");
}

static void wordpiece_model2vec_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("safetensors/model2vec-test-model-float32/tokenizer.json",
                   "model2vec-test-model-float32");
}

static void unigram_model2vec_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("safetensors/model2vec-test-model-vocab-quantized/tokenizer.json",
                   "model2vec-test-model-vocab-quantized");
}

static void gpt2_pair_merges_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("safetensors/tiny-llm-cicd-gpt2-vocab50257/tokenizer.json",
                   "tiny-llm-cicd-gpt2-vocab50257");
}

static void minicpm3_matches_reference_on_every_line(void **state)
{
    (void)state;
    check_expected_ids("safetensors/ollama-minicpm3-testdata/tokenizer.json",
                   "ollama-minicpm3-testdata");
}

static void model_folder_tokenizes_like_its_tokenizer_json(void **state)
{
    (void)state;
    /* the folder (config.json, tokenizer.json, safetensors) gives the same ids */
    check_expected_ids("safetensors/tiny-llm-cicd-gpt2-vocab50257", "tiny-llm-cicd-gpt2-vocab50257");
}

/* llama.cpp's vectors: cases separated by "\n__ggml_vocab_test__\n", one .out line each. */
static void check_vectors(const char *tokenizer_path, const char *vectors)
{
    tv_model *m = open_fixture(tokenizer_path);
    tv_tokenizer *t = tokenizer_or_fail(m);
    char inp_path[256], out_path[256];
    snprintf(inp_path, sizeof inp_path, "%s.inp", vectors);
    snprintf(out_path, sizeof out_path, "%s.out", vectors);
    size_t inp_len, out_len;
    char *inp = (char *)read_file_or_fail(real_fixture(inp_path), &inp_len);
    char *out = (char *)read_file_or_fail(real_fixture(out_path), &out_len);
    char **cases, **want;
    size_t *case_lens, *want_lens;
    size_t n_cases = split(inp, inp_len, "\n__ggml_vocab_test__\n", &cases, &case_lens);
    size_t n_want = split(out, out_len, "\n", &want, &want_lens);
    assert_int_equal(n_cases, n_want);
    struct tv_ids ids;
    tv_ids_init(&ids);
    size_t bad = 0;
    for (size_t i = 0; i + 1 < n_cases; i++) {
        tv_error err = {0};
        if (tv_encode(t, cases[i], case_lens[i], 0, &ids, &err) < 0)
            fail_msg("%s case %zu: %s", vectors, i + 1, err.message);
        char *got = ids_text(&ids, true);
        if (strlen(got) != want_lens[i] || memcmp(got, want[i], want_lens[i]) != 0) {
            print_message("%s case %zu differs\n  text:     '%.*s'\n  expected: %.*s\n  got:     %s\n",
                          vectors, i + 1, (int)case_lens[i], cases[i], (int)want_lens[i], want[i],
                          got);
            bad++;
        }
        free(got);
    }
    if (bad)
        fail_msg("%s: %zu of %zu cases differ", vectors, bad, n_cases - 1);
    tv_ids_release(&ids);
    free(cases);
    free(case_lens);
    free(want);
    free(want_lens);
    tv_free(inp);
    tv_free(out);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void llama3_matches_llama_cpp_llama_bpe_vectors(void **state)
{
    (void)state;
    check_vectors("tokenizers/llama3/tokenizer.json", "gguf/vocab/ggml-vocab-llama-bpe.gguf");
}

static void gguf_spm_adds_bos_as_the_file_says(void **state)
{
    (void)state;
    tv_model *m = open_fixture("gguf/vocab/ggml-vocab-llama-spm.gguf");
    tv_tokenizer *t = tokenizer_or_fail(m);
    /* tokenizer.ggml.add_bos_token = true, add_eos_token = false */
    EXPECT(t, "Hello world", TV_ENCODE_ADD_SPECIAL, 1, 15043, 3186);
    EXPECT(t, "Hello world", 0, 15043, 3186);
    /* control tokens are matched as special tokens unless told otherwise */
    EXPECT(t, "<s>Hi", 0, 1, 6324);
    char buf[64];
    assert_true(tv_token_piece(t, 15043, buf, sizeof buf) > 0);
    assert_string_equal(buf, "\xe2\x90\xa3Hello");
    tv_tokenizer_free(t);
    tv_model_free(m);
    /* byte-level BPE: DeepSeek's file asks for BOS, GPT-2's says nothing (none added) */
    m = open_fixture("gguf/vocab/ggml-vocab-deepseek-llm.gguf");
    t = tokenizer_or_fail(m);
    EXPECT(t, "Hi", TV_ENCODE_ADD_SPECIAL, 100000, 11007);
    tv_tokenizer_free(t);
    tv_model_free(m);
    m = open_fixture("gguf/vocab/ggml-vocab-gpt-2.gguf");
    t = tokenizer_or_fail(m);
    EXPECT(t, "Hi", TV_ENCODE_ADD_SPECIAL, 17250);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void gguf_bert_decodes_like_wordpiece(void **state)
{
    (void)state;
    tv_model *m = open_fixture("gguf/vocab/ggml-vocab-bert-bge.gguf");
    tv_tokenizer *t = tokenizer_or_fail(m);
    /* [CLS] hello , world ! fu ##hrer [SEP] in llama.cpp's phantom-space spelling */
    EXPECT(t, "Hello, World! F\xc3\xbchrer", TV_ENCODE_ADD_SPECIAL, 101, 7592, 1010, 2088, 999,
           11865, 17875, 102);
    static const uint32_t ids[] = {101, 7592, 1010, 2088, 999, 11865, 17875, 102};
    char *text;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_decode(t, ids, TV_ARRAY_SIZE(ids), 0, &text, &len, &err), 0);
    assert_string_equal(text, "[CLS] hello, world! fuhrer [SEP]");
    tv_string_free(text);
    assert_int_equal(tv_decode(t, ids, TV_ARRAY_SIZE(ids), TV_DECODE_SKIP_SPECIAL, &text, &len,
                               &err), 0);
    assert_string_equal(text, "hello, world! fuhrer");
    tv_string_free(text);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void plain_vocabulary_files_tokenize_as_their_tokenizers(void **state)
{
    (void)state;
    /* Llama 2's tokenizer.model gives what the same vocabulary gives as a GGUF, once
       the GGUF leaves special-token text alone: the SentencePiece library never
       matches "<s>" in a text (tests/test_spm_encode.c checks the .model against it) */
    tv_model *a = open_fixture("llama2c/llama-tokenizer.model");
    tv_model *b = open_fixture("gguf/vocab/ggml-vocab-llama-spm.gguf");
    tv_tokenizer *ta = tokenizer_or_fail(a), *tb = tokenizer_or_fail(b);
    size_t text_len;
    char *text = (char *)read_file_or_fail(real_fixture("text/mixed.txt"), &text_len);
    struct tv_ids ia, ib;
    tv_ids_init(&ia);
    tv_ids_init(&ib);
    tv_error err = {0};
    assert_int_equal(tv_encode(ta, text, text_len, 0, &ia, &err), 0);
    assert_int_equal(tv_encode(tb, text, text_len, TV_ENCODE_NO_PARSE_SPECIAL, &ib, &err), 0);
    assert_int_equal(ia.n, ib.n);
    assert_memory_equal(ia.ids, ib.ids, ia.n * sizeof *ia.ids);
    tv_ids_release(&ia);
    tv_ids_release(&ib);
    tv_free(text);
    tv_tokenizer_free(ta);
    tv_tokenizer_free(tb);
    tv_model_free(a);
    tv_model_free(b);
    /* vocab.txt: uncased and cased BERT (found from the vocabulary) */
    tv_model *m = open_fixture("tokenizers/bert-base-uncased/vocab.txt");
    tv_tokenizer *t = tokenizer_or_fail(m);
    EXPECT(t, "Hello, World! unaffable", 0, 7592, 1010, 2088, 999, 14477, 20961, 3468);
    tv_tokenizer_free(t);
    tv_model_free(m);
    m = open_fixture("tokenizers/bert-base-cased/vocab.txt");
    t = tokenizer_or_fail(m);
    EXPECT(t, "Hello, World!", 0, 8667, 117, 1291, 106);
    tv_tokenizer_free(t);
    tv_model_free(m);
    /* a SentencePiece Unigram model with nmt_nfkc (against the library in
       tests/test_spm_encode.c) */
    m = open_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model");
    t = tokenizer_or_fail(m);
    EXPECT(t, "Hello, World!", 0, 8774, 6, 1150, 55);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void gguf_vocabularies_match_llama_cpp_vectors(void **state)
{
    (void)state;
    static const char *const names[] = {"gpt-2", "llama-spm", "phi-3", "bert-bge", "falcon",
                                        "starcoder", "deepseek-llm"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++) {
        char gguf[128];
        snprintf(gguf, sizeof gguf, "gguf/vocab/ggml-vocab-%s.gguf", names[i]);
        check_vectors(gguf, gguf);
    }
}

/* ---- round trips ---------------------------------------------------------------------- */

static void check_round_trip(const char *tokenizer_path)
{
    tv_model *m = open_fixture(tokenizer_path);
    tv_tokenizer *t = tokenizer_or_fail(m);
    size_t text_len;
    char *text = (char *)read_file_or_fail(real_fixture("text/mixed.txt"), &text_len);
    char **lines;
    size_t *lens;
    size_t n = split(text, text_len, "\n", &lines, &lens);
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t i = 0; i + 1 < n; i++) {
        tv_error err = {0};
        /* special-token literals as plain text, so that the text comes back as it was */
        assert_int_equal(tv_encode(t, lines[i], lens[i], TV_ENCODE_NO_PARSE_SPECIAL, &ids, &err), 0);
        char *back;
        size_t back_len;
        if (tv_decode(t, ids.ids, ids.n, 0, &back, &back_len, &err) < 0)
            fail_msg("%s line %zu: %s", tokenizer_path, i + 1, err.message);
        if (back_len != lens[i] || memcmp(back, lines[i], lens[i]) != 0)
            fail_msg("%s line %zu: decode(encode(text)) is '%s', not '%.*s'", tokenizer_path, i + 1,
                     back, (int)lens[i], lines[i]);
        tv_string_free(back);
    }
    tv_ids_release(&ids);
    free(lines);
    free(lens);
    tv_free(text);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void byte_level_and_byte_fallback_tokenizers_round_trip_every_line(void **state)
{
    (void)state;
    check_round_trip("tokenizers/gpt2/tokenizer.json");
    check_round_trip("tokenizers/llama3/tokenizer.json");
    check_round_trip("tokenizers/llama2/tokenizer.json");
    check_round_trip("safetensors/tiny-llm-cicd-gpt2-vocab50257/tokenizer.json");
    check_round_trip("safetensors/ollama-minicpm3-testdata/tokenizer.json");
    check_round_trip("gguf/vocab/ggml-vocab-gpt-2.gguf");
    check_round_trip("gguf/vocab/ggml-vocab-llama-spm.gguf");
    check_round_trip("gguf/vocab/ggml-vocab-falcon.gguf");
    check_round_trip("gguf/vocab/ggml-vocab-starcoder.gguf");
    check_round_trip("gguf/vocab/ggml-vocab-deepseek-llm.gguf");
}

static void llama2_decode_of_special_tokens_matches_reference(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/llama2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    /* line 19 of mixed.txt: Prepend adds a ▁ to each piece between special tokens, so
       the reference's decode has two spaces after <s> and </s> */
    static const uint32_t ids[] = {523, 28766, 416, 1009, 772, 28766, 28767, 28705, 1, 259, 2,
                                   28705, 733, 3100, 28735, 28793, 733, 1151, 28753, 28793,
                                   28705, 0, 28705, 523, 9845, 28767};
    char *text;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_decode(t, ids, TV_ARRAY_SIZE(ids), 0, &text, &len, &err), 0);
    assert_string_equal(text, "<|endoftext|> <s>  </s>  [CLS] [SEP] <unk>  <pad>");
    tv_string_free(text);
    assert_int_equal(tv_decode(t, ids, TV_ARRAY_SIZE(ids), TV_DECODE_SKIP_SPECIAL, &text, &len,
                               &err), 0);
    assert_string_equal(text, "<|endoftext|>     [CLS] [SEP]   <pad>");
    tv_string_free(text);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

/* Texts that exercise the corners (uppercase contractions, the long s, whitespace kinds,
   long numbers, special-token literals glued to text, compatibility characters, emoji
   sequences, combining accents, code, right-to-left scripts) with the ids the reference
   (Node @anush008/tokenizers 0.6.0 = tokenizers 0.22.2) gives for them. */
static const char *const tricky_texts[] = {
    "I'M HERE, YOU'LL SEE'S 'Ve",
    "a'\xc5\xbf b'K",
    "   \x0d\x0a\x0d\x0a  x  \x09\x09 y\xc2\xa0\xc2\xa0z\xe3\x80\x80w",
    "12345678901234567890 3.14159e-10 1,000,000",
    "<|begin_of_text|>Hi<|eot_id|><|end_of_text|> <|begin_of_text|",
    "\xc4\xb0stanbul \xe1\xba\x9e\xc3\x9f \xef\xac\x81 \xe2\x84\xa6",
    "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7\xe2\x9d\xa4\xef\xb8\x8f",
    "caf\xc3\xa9 cafe\xcc\x81 na\xc3\xafve",
    "def f(x):\x0a\x09return x**2  # comment\x0a",
    "\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9 \xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa \xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6\xe0\xa5\x80",
};
static const char *const tricky_llama3[] = {
    "40 28703 19804 11 15334 6 4178 27195 13575 364 43712",
    "64 6 129 123 293 6 42",
    "262 881 220 865 36429 379 4194 111396 23249 86",
    "4513 10961 16474 11531 12901 17458 1954 220 18 13 9335 2946 68 12 605 220 16 11 931 11 931",
    "128000 13347 128009 128001 83739 7413 3659 4424 91",
    "120447 109158 252 8156 33595 71831 29753 99",
    "9468 239 101 102470 9468 239 102 102470 9468 239 100 11410 229 104 9468 229 115 121643 31643",
    "936 59958 42030 54939 95980 588",
    "755 282 2120 997 862 865 334 17 220 674 4068 198",
    "107659 124368 17732 95 76625 51326 43336 103 85410 100556 101102 44747",
};
static const char *const tricky_unigram[] = {
    "48 8 52 1184 13 1020 8 1224 1158 8 58 8 1312",
    "40 8 1 41 8 50",
    "63 64 65 62",
    "1262 21024 25978 1583 1622 20059 11523 21024 25978 1583 1622 20059 20 15 14473 27156 1066 14 1186 18 13 1201 13 1201",
    "29 67 3090 38 1000 38 2795 67 31 6634 29 67 44 3142 38 7911 67 31 29 67 1205 38 1000 38 2795 67 31 29 67 3090 38 1000 38 2795 67",
    "8962 99 18312 987 182",
    "1",
    "6670 6670 14745",
    "12368 45 9 63 10 27 1711 63 11 11 19 4 6617",
    "273 22675 28832 16151 28818 13500 18435 262 28791 28813 28798 28815 342 28879 28865 28863 28880",
};
static const char *const tricky_wordpiece[] = {
    "51 11 55 1188 16 1023 11 1228 1162 11 61 11 1316",
    "43 11 1 44 11 53",
    "66 67 68 65",
    "12144 18967 1581 1587 1626 20063 11527 21028 25982 1587 1626 20063 23 18 14477 27160 1069 17 1190 21 16 1205 16 1205",
    "32 70 3094 41 1003 41 2799 70 34 6638 32 70 47 3146 41 7915 70 34 32 70 1209 41 1003 41 2799 70 34 32 70 3094 41 1003 41 2799 70",
    "8966 102 18316 990 185",
    "1 1",
    "6674 6674 14749",
    "12372 48 12 66 13 30 1715 66 14 14 22 7 6621",
    "276 22679 28836 16155 28822 13504 18439 265 28795 28817 28802 28819 345 28883 28869 28867 28884",
};
static const char *const tricky_llama2[] = {
    "315 28742 28755 382 20923 28725 15479 28742 5292 5820 28749 28742 28735 464 28790 28706",
    "264 28742 30515 287 28742 28796",
    "2287 1302 13 28801 13 28705 1318 259 12 12 337 29000 29000 28764 29351 28727",
    "28705 28740 28750 28770 28781 28782 28784 28787 28783 28774 28734 28740 28750 28770 28781 28782 28784 28787 28783 28774 28734 28705 28770 28723 28740 28781 28740 28782 28774 28706 28733 28740 28734 28705 28740 28725 28734 28734 28734 28725 28734 28734 28734",
    "523 28766 1357 28730 1009 28730 772 28766 28767 23809 28789 28766 28706 322 28730 313 28766 3409 28766 416 28730 1009 28730 772 28766 28767 523 28766 1357 28730 1009 28730 772 28766",
    "28705 29336 13511 9258 28705 228 189 161 28880 28705 30160 28705 229 135 169",
    "28705 243 162 148 171 29274 243 162 148 172 29274 243 162 148 170 28705 243 162 138 174 243 162 138 186 29673 29096",
    "28345 7913 1512 28949 1879 28920 333",
    "801 285 28732 28744 1329 13 12 807 1318 348 28750 28705 422 4517 13",
    "19078 29040 28947 28983 28972 29141 28705 29295 29166 29075 29005 29064 28705 29972 29554 29540 29300 30046 29735",
};

static void check_tricky(const char *tokenizer_path, const char *const *want)
{
    tv_model *m = open_fixture(tokenizer_path);
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t i = 0; i < TV_ARRAY_SIZE(tricky_texts); i++) {
        tv_error err = {0};
        assert_int_equal(tv_encode(t, tricky_texts[i], strlen(tricky_texts[i]), 0, &ids, &err), 0);
        char *got = ids_text(&ids, false);
        if (strcmp(got, want[i]) != 0)
            fail_msg("%s: '%s'\n  got      %s\n  expected %s", tokenizer_path, tricky_texts[i],
                     got, want[i]);
        free(got);
    }
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void corner_cases_match_reference(void **state)
{
    (void)state;
    check_tricky("tokenizers/llama3/tokenizer.json", tricky_llama3);
    check_tricky("tokenizers/llama2/tokenizer.json", tricky_llama2);
    check_tricky("safetensors/model2vec-test-model-vocab-quantized/tokenizer.json", tricky_unigram);
    check_tricky("safetensors/model2vec-test-model-float32/tokenizer.json", tricky_wordpiece);
}


/* T5's SentencePiece model as a tokenizer.json (Precompiled charsmap, whitespace folding,
   Metaspace, Unigram), built here from the .model fixture the way the reference's
   converter lays it out; the ids are what the reference gives for that same JSON text. */
static const char *const t5_texts[][2] = {
    {"Hello World! \xef\xac\x81nance \xe2\x91\xa0\xe2\x91\xa1 \xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93 \xef\xbd\xb1\xef\xbd\xb2\xef\xbd\xb3",
     "8774 1150 55 4747 586 14213 14574 3 2"},
    {"caf\xc3\xa9 cafe\xcc\x81 na\xc3\xafve Z\xc3\xbcrich \xc3\x85ngstr\xc3\xb6m",
     "11949 11949 3 29 9 2 162 25749 3 2 1725 30476"},
    {"  lots   of    spaces \x09 tabs\x0anewline",
     "1995 13 4856 3808 7 126 747"},
    {"\xc2\xbd x\xc2\xb2 \xe2\x85\xab \xe2\x84\xa2 \xe2\x84\x83 \xe2\x80\xa6 \xe2\x80\x94 \xe2\x80\x9cquotes\xe2\x80\x9d \xc2\xabguillemets\xc2\xbb",
     "209 2 357 3 226 357 3 4 196 196 3 2305 3 1956 254 3 233 3 318 105 8270 15 7 153 673 122 25077 3493 7 3704"},
    {"ggggg ababab xyzzy 12345678",
     "3 4102 4102 122 703 9 12534 3 226 63 19974 586 3710 4834 3940"},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88 \xe4\xb8\xad\xe6\x96\x87 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
     "3 2 3 2 3 2"},
    {"\xe2\x80\x8bzero\xe2\x80\x8dwidth\xef\xbb\xbf" "bom \xc2\xa0nbsp",
     "5733 9400 3005 51 3 29 115 7 102"},
    {"Stra\xc3\x9f" "e \xc4\xb0stanbul \xce\xa3\xce\x91\xce\xa3 \xc7\x85",
     "5438 5202 15 3 2 5627 6724 3 2 309 2"},
};

static char *t5_tokenizer_json(const tv_model *m)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const struct tv_vocab *v = tv_model_vocab(m);
    const struct tv_meta *cm = tv_model_meta_find(m, "sentencepiece.precompiled_charsmap");
    assert_non_null(cm);
    const uint8_t *d = cm->value.as.arr.data;
    size_t n = cm->value.as.arr.n;
    char *enc = malloc(n * 4 / 3 + 8);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        enc[o++] = b64[w >> 18];
        enc[o++] = b64[(w >> 12) & 63];
        enc[o++] = i + 1 < n ? b64[(w >> 6) & 63] : '=';
        enc[o++] = i + 2 < n ? b64[w & 63] : '=';
    }
    enc[o] = 0;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "version", "1.0");
    cJSON_AddArrayToObject(doc, "added_tokens");
    cJSON *norm = cJSON_AddObjectToObject(doc, "normalizer");
    cJSON_AddStringToObject(norm, "type", "Sequence");
    cJSON *list = cJSON_AddArrayToObject(norm, "normalizers");
    cJSON *pc = cJSON_CreateObject();
    cJSON_AddStringToObject(pc, "type", "Precompiled");
    cJSON_AddStringToObject(pc, "precompiled_charsmap", enc);
    cJSON_AddItemToArray(list, pc);
    cJSON *rp = cJSON_CreateObject();
    cJSON_AddStringToObject(rp, "type", "Replace");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(rp, "pattern"), "Regex", " {2,}");
    cJSON_AddStringToObject(rp, "content", " ");
    cJSON_AddItemToArray(list, rp);
    cJSON *pre = cJSON_AddObjectToObject(doc, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Metaspace");
    cJSON_AddStringToObject(pre, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(pre, "prepend_scheme", "always");
    cJSON_AddBoolToObject(pre, "split", 1);
    cJSON_AddNullToObject(doc, "post_processor");
    cJSON *dec = cJSON_AddObjectToObject(doc, "decoder");
    cJSON_AddStringToObject(dec, "type", "Metaspace");
    cJSON_AddStringToObject(dec, "replacement", "\xe2\x96\x81");
    cJSON_AddStringToObject(dec, "prepend_scheme", "always");
    cJSON_AddBoolToObject(dec, "split", 1);
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    cJSON_AddStringToObject(model, "type", "Unigram");
    cJSON_AddNumberToObject(model, "unk_id", 2);
    cJSON *vocab = cJSON_AddArrayToObject(model, "vocab");
    for (size_t i = 0; i < v->n_tokens; i++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(v->tokens[i].text));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(v->tokens[i].score));
        cJSON_AddItemToArray(vocab, pair);
    }
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    free(enc);
    return text;
}

static void t5_precompiled_charsmap_and_unigram_match_reference(void **state)
{
    (void)state;
    tv_model *spm = open_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model");
    char *json = t5_tokenizer_json(spm);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(json, strlen(json), "t5-tokenizer.json", NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t i = 0; i < TV_ARRAY_SIZE(t5_texts); i++) {
        assert_int_equal(tv_encode(t, t5_texts[i][0], strlen(t5_texts[i][0]), 0, &ids, &err), 0);
        char *got = ids_text(&ids, false);
        if (strcmp(got, t5_texts[i][1]) != 0)
            fail_msg("T5 '%s'\n  got      %s\n  expected %s", t5_texts[i][0], got, t5_texts[i][1]);
        free(got);
    }
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
    cJSON_free(json);
    tv_model_free(spm);
}

/* ---- invalid UTF-8 ---------------------------------------------------------------------- */

static void invalid_utf8_is_read_as_replacement_chars(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/gpt2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    /* "a\xff" and "a\xe4\xb8" (a cut 3-byte char) read as "a\uFFFD": the reference's
       ids for "a\uFFFD" are 64 4210 */
    EXPECT(t, "a\xff", 0, 64, 4210);
    EXPECT(t, "a\xe4\xb8", 0, 64, 4210);
    EXPECT(t, "a\xef\xbf\xbd", 0, 64, 4210);
    EXPECT(t, "a\xe4\xb8\xef\xbf\xbd", 0, 64, 6353);
    /* offsets cover the invalid bytes */
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error err = {0};
    assert_int_equal(tv_encode(t, "a\xe4\xb8 b", 5, TV_ENCODE_OFFSETS, &ids, &err), 0);
    assert_int_equal(ids.n, 3);
    assert_int_equal(ids.offsets[0].start, 0);
    assert_int_equal(ids.offsets[0].end, 1);
    assert_int_equal(ids.offsets[1].start, 1);
    assert_int_equal(ids.offsets[1].end, 3);
    assert_int_equal(ids.offsets[2].start, 3);
    assert_int_equal(ids.offsets[2].end, 5);
    /* decoding a lone byte token gives U+FFFD, as the reference's from_utf8_lossy */
    static const uint32_t half[] = {160}; /* the byte 0xE4 alone */
    char *text;
    size_t len;
    assert_int_equal(tv_decode(t, half, 1, 0, &text, &len, &err), 0);
    assert_string_equal(text, "\xef\xbf\xbd");
    tv_string_free(text);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

/* Random bytes (invalid UTF-8, NULs, control chars, long runs) through every kind of
   tokenizer: an answer every time, ids inside the vocabulary, offsets inside the text
   and in order of start, and a decode that succeeds. Run under ASan by .ci/run. */
static void random_bytes_never_break_a_tokenizer(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "tokenizers/gpt2/tokenizer.json", "tokenizers/llama3/tokenizer.json",
        "tokenizers/llama2/tokenizer.json",
        "safetensors/model2vec-test-model-float32/tokenizer.json",
        "safetensors/model2vec-test-model-vocab-quantized/tokenizer.json",
        "gguf/vocab/ggml-vocab-llama-spm.gguf", "gguf/vocab/ggml-vocab-bert-bge.gguf",
        "gguf/vocab/ggml-vocab-deepseek-llm.gguf"};
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    char text[600];
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t p = 0; p < TV_ARRAY_SIZE(paths); p++) {
        tv_model *m = open_fixture(paths[p]);
        tv_tokenizer *t = tokenizer_or_fail(m);
        size_t vocab = tv_tokenizer_vocab_size(t);
        for (int round = 0; round < 200; round++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t len = rng % sizeof text;
            for (size_t i = 0; i < len; i++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                /* mostly ASCII and spaces, some high bytes, some runs */
                static const char picks[] = "  \t\n<|>s/\xe2\x96\x81";
                unsigned r = (unsigned)(rng >> 24);
                unsigned c = r % 4 == 0   ? (r >> 8) & 0xFF
                             : r % 4 == 1 ? ' ' + (r >> 8) % 95
                             : r % 4 == 2 ? (unsigned char)picks[(r >> 8) % 12]
                                          : 'a';
                text[i] = (char)c;
            }
            tv_error err = {0};
            unsigned flags = TV_ENCODE_OFFSETS | (round % 2 ? TV_ENCODE_ADD_SPECIAL : 0) |
                             (round % 3 ? 0 : TV_ENCODE_NO_PARSE_SPECIAL);
            if (tv_encode(t, text, len, flags, &ids, &err) < 0)
                fail_msg("%s: random text of %zu bytes: %s", paths[p], len, err.message);
            for (size_t i = 0; i < ids.n; i++) {
                assert_true(ids.ids[i] < vocab);
                assert_true(ids.offsets[i].start <= ids.offsets[i].end);
                assert_true(ids.offsets[i].end <= len);
            }
            char *back;
            size_t back_len;
            if (tv_decode(t, ids.ids, ids.n, round % 2 ? TV_DECODE_SKIP_SPECIAL : 0, &back,
                          &back_len, &err) < 0)
                fail_msg("%s: decode: %s", paths[p], err.message);
            tv_string_free(back);
        }
        tv_tokenizer_free(t);
        tv_model_free(m);
    }
    tv_ids_release(&ids);
}

/* ---- API ------------------------------------------------------------------------------- */

static void decode_names_an_id_outside_the_vocabulary(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/gpt2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    static const uint32_t ids[] = {15496, 99999};
    char *text;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_decode(t, ids, 2, 0, &text, &len, &err), -1);
    assert_null(text);
    assert_non_null(strstr(err.message, "99999"));
    assert_non_null(strstr(err.message, "50257"));
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void gpt2_hello_is_the_classic_example_with_offsets(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/gpt2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error err = {0};
    const char *text = "Hello, how are you?";
    assert_int_equal(tv_encode(t, text, strlen(text), TV_ENCODE_OFFSETS, &ids, &err), 0);
    static const uint32_t want[] = {15496, 11, 703, 389, 345, 30};
    static const size_t starts[] = {0, 5, 6, 10, 14, 18}, ends[] = {5, 6, 10, 14, 18, 19};
    assert_int_equal(ids.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ids.ids[i], want[i]);
        assert_int_equal(ids.offsets[i].start, starts[i]);
        assert_int_equal(ids.offsets[i].end, ends[i]);
    }
    /* empty text: no ids */
    assert_int_equal(tv_encode(t, "", 0, 0, &ids, &err), 0);
    assert_int_equal(ids.n, 0);
    char buf[64];
    assert_true(tv_token_piece(t, 1842, buf, sizeof buf) > 0);
    assert_string_equal(buf, "\xe2\x90\xa3love"); /* ␣love */
    size_t len;
    assert_string_equal(tv_token_text(t, 1842, &len), "\xc4\xa0love");
    assert_int_equal(tv_token_piece(t, 1000000, buf, sizeof buf), -1);
    assert_true(tv_token_is_special(t, 50256));
    assert_false(tv_token_is_special(t, 15496));
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void add_special_follows_the_post_processor(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/llama2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    /* TemplateProcessing "<s> $A": the reference with add_special_tokens=True */
    EXPECT(t, "Hello", TV_ENCODE_ADD_SPECIAL, 1, 22557);
    EXPECT(t, "Hello", 0, 22557);
    tv_tokenizer_free(t);
    tv_model_free(m);
    m = open_fixture("safetensors/model2vec-test-model-float32/tokenizer.json");
    t = tokenizer_or_fail(m);
    EXPECT(t, "Hello world", TV_ENCODE_ADD_SPECIAL, 101, 6598, 1094, 102);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void no_parse_special_tokenizes_special_literals_as_text(void **state)
{
    (void)state;
    tv_model *m = open_fixture("tokenizers/gpt2/tokenizer.json");
    tv_tokenizer *t = tokenizer_or_fail(m);
    EXPECT(t, "<|endoftext|>", 0, 50256);
    EXPECT(t, "<|endoftext|>", TV_ENCODE_NO_PARSE_SPECIAL, 27, 91, 437, 1659, 5239, 91, 29);
    EXPECT(t, "a\xc3\xa4\xef\xbf\xbd", 0, 64, 11033, 4210);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void a_model_without_vocabulary_is_refused(void **state)
{
    (void)state;
    tv_model *m = open_fixture("safetensors/mnist-tinygrad");
    tv_error err = {0};
    assert_null(tv_tokenizer_new(m, &err));
    assert_non_null(strstr(err.message, "no vocabulary"));
    tv_model_free(m);
}

/* A normalizer of NFC wrapped in `levels` Sequences, in a small WordLevel tokenizer. */
static tv_model *nested_sequence_model(int levels)
{
    char json[4096], norm[2048] = "{\"type\":\"NFC\"}", tmp[2048];
    for (int i = 0; i < levels; i++) {
        int n = snprintf(tmp, sizeof tmp, "{\"type\":\"Sequence\",\"normalizers\":[%s]}", norm);
        assert_true(n > 0 && (size_t)n < sizeof norm);
        memcpy(norm, tmp, (size_t)n + 1);
    }
    int n = snprintf(json, sizeof json,
             "{\"normalizer\":%s,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
             "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"a\":1},"
             "\"unk_token\":\"[UNK]\"}}",
             norm);
    assert_true(n > 0 && (size_t)n < sizeof json);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(json, strlen(json), "nested.json", NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* The tokenizer accepts Sequences as deep as the reader searches them, and no deeper. */
static void sequences_nested_past_the_cap_are_refused(void **state)
{
    (void)state;
    tv_model *m = nested_sequence_model(TV_TOKENIZER_JSON_MAX_DEPTH);
    tv_tokenizer *t = tokenizer_or_fail(m);
    EXPECT(t, "a", 0, 1);
    tv_tokenizer_free(t);
    tv_model_free(m);

    m = nested_sequence_model(TV_TOKENIZER_JSON_MAX_DEPTH + 1);
    tv_error err = {0};
    assert_null(tv_tokenizer_new(m, &err));
    assert_int_equal(err.code, TV_ERR_LIMIT);
    char want[128];
    snprintf(want, sizeof want, "nested.json: normalizer.normalizers[0]");
    assert_non_null(strstr(err.message, want));
    snprintf(want, sizeof want, "nested %d deep (at most %d)", TV_TOKENIZER_JSON_MAX_DEPTH + 1,
             TV_TOKENIZER_JSON_MAX_DEPTH);
    if (!strstr(err.message, want))
        fail_msg("message: %s", err.message);
    tv_model_free(m);
}

/* ---- the CLI --------------------------------------------------------------------------- */

static void cli_encode_and_decode_print_what_the_issue_shows(void **state)
{
    (void)state;
    char model[4096], text_path[4096], want_path[4096];
    snprintf(model, sizeof model, "%s", real_fixture("tokenizers/gpt2"));
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "encode", model, "Hello, how are you?", NULL), 0);
    assert_string_equal(out, "15496 11 703 389 345 30\n");
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "encode", model, "--tokens", "I love AI", NULL), 0);
    assert_string_equal(out, "I(40) \xe2\x90\xa3love(1842) \xe2\x90\xa3" "AI(9552)\n");
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "decode", model, "15496", "11", "703", "389", "345",
                             "30", NULL), 0);
    assert_string_equal(out, "Hello, how are you?\n");
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "encode", model, "--json", "Hi", NULL), 0);
    assert_string_equal(out, "{\"count\":1,\"ids\":[17250],\"pieces\":[\"Hi\"],"
                             "\"offsets\":[[0,2]]}\n");
    tv_free(out);
    tv_free(err);
    /* --lines over a file, on three threads, is expected/gpt2.mixed.ids */
    snprintf(text_path, sizeof text_path, "%s", real_fixture("text/mixed.txt"));
    snprintf(want_path, sizeof want_path, "%s", real_fixture("expected/gpt2.mixed.ids"));
    size_t want_len;
    char *want = (char *)read_file_or_fail(want_path, &want_len);
    assert_int_equal(run_cli(&out, &err, "encode", model, "-f", text_path, "--lines", "--threads",
                             "3", NULL), 0);
    assert_string_equal(out, want);
    tv_free(out);
    tv_free(err);
    tv_free(want);
    assert_int_equal(run_cli(&out, &err, "encode", model, "--count", "Hello, how are you?", NULL),
                     0);
    assert_string_equal(out, "6\n");
    tv_free(out);
    tv_free(err);
}

static void cli_decode_reports_bad_ids(void **state)
{
    (void)state;
    char model[4096];
    snprintf(model, sizeof model, "%s", real_fixture("tokenizers/gpt2/tokenizer.json"));
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "decode", model, "1", "99999999", NULL), 1);
    assert_non_null(strstr(err, "id 99999999"));
    assert_non_null(strstr(err, "50257 ids"));
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "decode", model, "1", "two", NULL), 2);
    assert_non_null(strstr(err, "'two' is not a token id"));
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "encode", NULL), 2);
    tv_free(out);
    tv_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gpt2_matches_reference_on_every_line),
        cmocka_unit_test(llama3_matches_reference_on_every_line),
        cmocka_unit_test(llama2_sentencepiece_bpe_matches_reference_on_every_line),
        cmocka_unit_test(wordpiece_model2vec_matches_reference_on_every_line),
        cmocka_unit_test(unigram_model2vec_matches_reference_on_every_line),
        cmocka_unit_test(gpt2_pair_merges_matches_reference_on_every_line),
        cmocka_unit_test(minicpm3_matches_reference_on_every_line),
        cmocka_unit_test(model_folder_tokenizes_like_its_tokenizer_json),
        cmocka_unit_test(llama3_matches_llama_cpp_llama_bpe_vectors),
        cmocka_unit_test(gguf_vocabularies_match_llama_cpp_vectors),
        cmocka_unit_test(gguf_spm_adds_bos_as_the_file_says),
        cmocka_unit_test(plain_vocabulary_files_tokenize_as_their_tokenizers),
        cmocka_unit_test(gguf_bert_decodes_like_wordpiece),
        cmocka_unit_test(byte_level_and_byte_fallback_tokenizers_round_trip_every_line),
        cmocka_unit_test(llama2_decode_of_special_tokens_matches_reference),
        cmocka_unit_test(corner_cases_match_reference),
        cmocka_unit_test(t5_precompiled_charsmap_and_unigram_match_reference),
        cmocka_unit_test(invalid_utf8_is_read_as_replacement_chars),
        cmocka_unit_test(random_bytes_never_break_a_tokenizer),
        cmocka_unit_test(decode_names_an_id_outside_the_vocabulary),
        cmocka_unit_test(gpt2_hello_is_the_classic_example_with_offsets),
        cmocka_unit_test(add_special_follows_the_post_processor),
        cmocka_unit_test(no_parse_special_tokenizes_special_literals_as_text),
        cmocka_unit_test(a_model_without_vocabulary_is_refused),
        cmocka_unit_test(sequences_nested_past_the_cap_are_refused),
        cmocka_unit_test(cli_encode_and_decode_print_what_the_issue_shows),
        cmocka_unit_test(cli_decode_reports_bad_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
