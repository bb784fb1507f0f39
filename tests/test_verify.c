/*
 * tokvec verify: every check passes on a hand-built model that agrees and fails (or
 * warns) on one that does not; the real fixtures pass or fail with the right check;
 * the JSON and JUnit renderings and the CLI's exit codes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testutil.h"
#include "tokvec/verify.h"

#define ROOT "/tmp/verify-model"

/* ---- building models --------------------------------------------------------------- */

/* Tensor data must outlive the model: each fixture keeps its buffers here. */
struct fx {
    tv_model *m;
    void *bufs[16];
    size_t n_bufs;
    tv_verify_report *r;
};

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    tv_error err = {0};
    f->m = tv_model_new_empty(ROOT, NULL, &err);
    assert_non_null(f->m);
    assert_int_equal(tv_model_add_file(f->m, "config.json", &err), 0);
    return f;
}

static void fx_free(struct fx *f)
{
    tv_verify_report_free(f->r);
    tv_model_free(f->m);
    for (size_t i = 0; i < f->n_bufs; i++)
        free(f->bufs[i]);
    free(f);
}

/* A vocabulary of n tokens "t0", "t1", ... */
static struct tv_vocab *fx_vocab(struct fx *f, const char *origin, size_t n)
{
    tv_error err = {0};
    struct tv_vocab *v = tv_model_new_vocab(f->m, origin, &err);
    assert_non_null(v);
    for (size_t id = 0; id < n; id++) {
        char text[32];
        snprintf(text, sizeof text, "t%zu", id);
        assert_int_equal(tv_vocab_set_token(f->m, v, (uint32_t)id, text, strlen(text), 0,
                                            TV_TOKEN_NORMAL, &err), 0);
    }
    return v;
}

static void fx_token(struct fx *f, struct tv_vocab *v, uint32_t id, const char *text, size_t len)
{
    tv_error err = {0};
    assert_int_equal(tv_vocab_set_token(f->m, v, id, text, len, 0, TV_TOKEN_NORMAL, &err), 0);
}

/* A [rows, cols] F32 tensor whose row i has norm ~1 (value pattern depends on i). */
static float *fx_tensor(struct fx *f, const char *name, uint64_t rows, uint64_t cols)
{
    float *data = calloc(rows * cols, sizeof *data);
    for (uint64_t i = 0; i < rows; i++)
        for (uint64_t k = 0; k < cols; k++)
            data[i * cols + k] = (float)(((i * 7 + k * 3) % 11) + 5) / (float)(10 * sqrt((double)cols));
    f->bufs[f->n_bufs++] = data;
    uint64_t shape[2] = {rows, cols};
    tv_error err = {0};
    assert_int_equal(tv_model_add_tensor(f->m, name, strlen(name), TV_DTYPE_F32, 2, shape,
                                         ROOT "/model.safetensors", 0, (const uint8_t *)data,
                                         &err), 0);
    return data;
}

static void fx_claim(struct fx *f, enum tv_claim_kind kind, int64_t value, int special,
                     const char *file, const char *key)
{
    tv_error err = {0};
    assert_int_equal(tv_model_add_claim(f->m, kind, value, special, file, key, &err), 0);
}

static void fx_pick(struct fx *f)
{
    tv_error err = {0};
    assert_int_equal(tv_model_pick_embedding(f->m, &err), 0);
}

/* The usual agreeing model: n tokens, an embedding of n x 16, config claims. */
static struct fx *fx_agreeing(size_t n)
{
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", n);
    fx_tensor(f, "model.embed_tokens.weight", n, 16);
    fx_claim(f, TV_CLAIM_VOCAB_SIZE, (int64_t)n, -1, ROOT "/config.json", "vocab_size");
    fx_claim(f, TV_CLAIM_HIDDEN_DIM, 16, -1, ROOT "/config.json", "hidden_size");
    fx_pick(f);
    return f;
}

static const struct tv_check *run_check(struct fx *f, const struct tv_verify_options *opt,
                                        const char *id)
{
    tv_error err = {0};
    tv_verify_report_free(f->r);
    f->r = tv_verify_run(f->m, opt, &err);
    if (!f->r)
        fail_msg("tv_verify_run: %s", err.message);
    const struct tv_check *c = tv_verify_find(f->r, id);
    if (!c)
        fail_msg("no check '%s' in the report", id);
    return c;
}

/* Asserts the status of a check and that its message contains every given fragment. */
static void want_check(struct fx *f, const char *id, enum tv_check_status status,
                         const char *fragment1, const char *fragment2)
{
    const struct tv_check *c = run_check(f, NULL, id);
    if (c->status != status)
        fail_msg("%s: status %s, expected %s: %s", id, tv_check_status_name(c->status),
                 tv_check_status_name(status), c->message);
    if (fragment1 && !strstr(c->message, fragment1))
        fail_msg("%s: message lacks '%s': %s", id, fragment1, c->message);
    if (fragment2 && !strstr(c->message, fragment2))
        fail_msg("%s: message lacks '%s': %s", id, fragment2, c->message);
}

static int64_t check_number(const struct tv_check *c, const char *key)
{
    for (size_t i = 0; i < c->n_values; i++)
        if (strcmp(c->values[i].key, key) == 0)
            return c->values[i].i;
    fail_msg("%s has no number '%s'", c->id, key);
    return -1;
}

/* ---- vocab_size and padding -------------------------------------------------------- */

static void vocab_size_passes_when_every_source_agrees(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(100);
    fx_tensor(f, "lm_head.weight", 100, 16);
    want_check(f, "vocab_size", TV_CHECK_PASS, "100 = tokenizer.json tokens",
                 "config.json vocab_size = model.embed_tokens.weight rows = lm_head.weight rows");
    fx_free(f);
}

static void vocab_size_fails_when_token_ids_have_no_embedding_row(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 104);
    fx_tensor(f, "model.embed_tokens.weight", 100, 16);
    fx_pick(f);
    want_check(f, "vocab_size", TV_CHECK_FAIL,
                 "tokenizer.json has 104 tokens (ids 0..103) but model.embed_tokens.weight has "
                 "100 rows", "ids 100..103 have no embedding");
    const struct tv_check *c = tv_verify_find(f->r, "vocab_size");
    assert_int_equal(check_number(c, "first_id_without_row"), 100);
    assert_int_equal(check_number(c, "ids_without_row"), 4);
    fx_free(f);
}

static void vocab_size_fails_when_config_disagrees_with_the_weights(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(100);
    fx_claim(f, TV_CLAIM_VOCAB_SIZE, 73448, -1, ROOT "/config.json", "text_config.vocab_size");
    want_check(f, "vocab_size", TV_CHECK_FAIL, "config.json text_config.vocab_size = 73448",
                 "model.embed_tokens.weight has 100 rows");
    fx_free(f);
}

static void vocab_size_fails_when_the_tokenizer_covers_too_few_ids(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    tv_error err = {0};
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 7);
    for (uint32_t id = 0; id < 7; id++)
        assert_int_equal(tv_vocab_add_added(f->m, v, id, v->tokens[id].text, v->tokens[id].len,
                                            TV_TOKEN_ADDED | TV_TOKEN_SPECIAL, &err), 0);
    fx_claim(f, TV_CLAIM_VOCAB_SIZE, 3000, -1, ROOT "/config.json", "vocab_size");
    fx_pick(f);
    want_check(f, "vocab_size", TV_CHECK_FAIL, "2993 of 3000 ids", "model vocabulary is empty");
    want_check(f, "padding", TV_CHECK_SKIP, "too large to be padding", NULL);
    fx_free(f);
}

static void vocab_size_skips_with_only_one_source(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 10);
    want_check(f, "vocab_size", TV_CHECK_SKIP, "only tokenizer.json has 10 tokens", NULL);
    fx_free(f);
}

static void padding_warns_with_the_number_of_unreachable_rows(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 100);
    fx_tensor(f, "transformer.wte.weight", 104, 16);
    fx_claim(f, TV_CLAIM_VOCAB_SIZE, 104, -1, ROOT "/config.json", "vocab_size");
    fx_pick(f);
    want_check(f, "padding", TV_CHECK_WARN, "has 104 rows for 100 tokens",
                 "4 rows no token can reach");
    assert_int_equal(check_number(tv_verify_find(f->r, "padding"), "unreachable"), 4);
    want_check(f, "vocab_size", TV_CHECK_PASS, "every token has a row", NULL);
    fx_free(f);
}

static void padding_passes_when_rows_equal_tokens(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(100);
    want_check(f, "padding", TV_CHECK_PASS, "100 rows for 100 tokens", NULL);
    fx_free(f);
}

static void vocab_size_follows_a_token_to_row_mapping(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 40);
    fx_tensor(f, "embeddings", 8, 16);
    static int32_t mapping[40];
    for (int i = 0; i < 40; i++)
        mapping[i] = i % 8;
    uint64_t shape[1] = {40};
    tv_error err = {0};
    assert_int_equal(tv_model_add_tensor(f->m, "mapping", 7, TV_DTYPE_I32, 1, shape, "x", 0,
                                         (const uint8_t *)mapping, &err), 0);
    fx_pick(f);
    want_check(f, "vocab_size", TV_CHECK_PASS, "40 = tokenizer.json tokens = mapping entries", NULL);
    want_check(f, "padding", TV_CHECK_PASS, "maps the 40 tokens onto all of them", NULL);
    for (int i = 3; i < 40; i += 8)
        mapping[i] = 6; /* row 3 is no longer reached */
    want_check(f, "padding", TV_CHECK_WARN, "1 rows no token can reach", NULL);
    mapping[17] = 8; /* one past the last row */
    want_check(f, "vocab_size", TV_CHECK_FAIL,
               "mapping sends 1 token ids outside the 8 rows of embeddings (the first: id 17 -> "
               "row 8)", NULL);
    fx_free(f);
}

/* ---- hidden_dim ------------------------------------------------------------------------ */

static void hidden_dim_passes_when_config_and_tensors_agree(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(50);
    fx_tensor(f, "lm_head.weight", 50, 16);
    want_check(f, "hidden_dim", TV_CHECK_PASS,
                 "16 = config.json hidden_size = model.embed_tokens.weight columns = "
                 "lm_head.weight columns", NULL);
    fx_free(f);
}

static void hidden_dim_fails_when_config_disagrees_with_the_embedding(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 50);
    fx_tensor(f, "embeddings", 50, 2);
    fx_claim(f, TV_CLAIM_HIDDEN_DIM, 64, -1, ROOT "/config.json", "hidden_dim");
    fx_pick(f);
    want_check(f, "hidden_dim", TV_CHECK_FAIL,
                 "config.json hidden_dim = 64 but embeddings has 2 columns", NULL);
    fx_free(f);
}

static void hidden_dim_fails_when_the_head_is_narrower(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(50);
    fx_tensor(f, "output.weight", 50, 8);
    want_check(f, "hidden_dim", TV_CHECK_FAIL, "output.weight has 8 columns", NULL);
    fx_free(f);
}

static void hidden_dim_compares_embedding_size_when_the_config_factors_it(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 50);
    fx_tensor(f, "albert.embeddings.word_embeddings.weight", 50, 16);
    fx_claim(f, TV_CLAIM_HIDDEN_DIM, 768, -1, ROOT "/config.json", "hidden_size");
    f->m->config = cJSON_Parse("{\"hidden_size\": 768, \"embedding_size\": 16}");
    f->m->config_file = ROOT "/config.json";
    assert_non_null(f->m->config);
    fx_pick(f);
    want_check(f, "hidden_dim", TV_CHECK_PASS, "16 = config.json embedding_size", NULL);
    fx_free(f);
}

/* ---- tied_embeddings -------------------------------------------------------------------- */

static void tied_embeddings_fails_when_a_tied_head_holds_other_data(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    float *head = fx_tensor(f, "lm_head.weight", 20, 16);
    head[5 * 16 + 3] += 1.0f;
    fx_claim(f, TV_CLAIM_TIED, 1, -1, ROOT "/config.json", "tie_word_embeddings");
    want_check(f, "tied_embeddings", TV_CHECK_FAIL,
                 "config.json tie_word_embeddings = true but lm_head.weight differs from "
                 "model.embed_tokens.weight (first at row 5)", NULL);
    fx_free(f);
}

static void tied_embeddings_passes_when_a_tied_head_is_an_exact_copy(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    fx_tensor(f, "lm_head.weight", 20, 16);
    fx_claim(f, TV_CLAIM_TIED, 1, -1, ROOT "/config.json", "tie_word_embeddings");
    want_check(f, "tied_embeddings", TV_CHECK_PASS, "holds the same bytes as", NULL);
    fx_free(f);
}

static void tied_embeddings_passes_when_the_head_shares_storage(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    uint64_t shape[2] = {20, 16};
    tv_error err = {0};
    const struct tv_tensor *emb = tv_model_embedding(f->m);
    assert_int_equal(tv_model_add_tensor(f->m, "lm_head.weight", 14, TV_DTYPE_F32, 2, shape,
                                         "model.bin", 0, emb->data, &err), 0);
    fx_claim(f, TV_CLAIM_TIED, 1, -1, ROOT "/config.json", "tie_word_embeddings");
    want_check(f, "tied_embeddings", TV_CHECK_PASS, "shares storage with", NULL);
    fx_free(f);
}

static void tied_embeddings_fails_when_untied_causal_lm_has_no_head(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    fx_claim(f, TV_CLAIM_TIED, 0, -1, ROOT "/config.json", "tie_word_embeddings");
    want_check(f, "tied_embeddings", TV_CHECK_WARN, "= false but there is no output head", NULL);
    static struct tv_str arch[] = {{"LlamaForCausalLM", 16}};
    struct tv_value v = {.type = TV_VALUE_ARRAY};
    v.as.arr = (struct tv_array){TV_VALUE_STRING, 1, arch};
    tv_error err = {0};
    assert_int_equal(tv_model_add_meta(f->m, "architectures", 13, &v, TV_ORIGIN_CONFIG,
                                       ROOT "/config.json", &err), 0);
    want_check(f, "tied_embeddings", TV_CHECK_FAIL, "initialise it randomly", NULL);
    fx_free(f);
}

static void tied_embeddings_skips_without_claim_or_head(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    want_check(f, "tied_embeddings", TV_CHECK_SKIP, "no tie_word_embeddings claim", NULL);
    fx_free(f);
}

/* ---- vocabulary integrity ----------------------------------------------------------------- */

static void duplicates_fail_with_both_ids(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    want_check(f, "vocab.duplicates", TV_CHECK_PASS, "no token string appears twice", NULL);
    fx_token(f, &f->m->vocabs[0], 12, "t3", 2);
    want_check(f, "vocab.duplicates", TV_CHECK_FAIL, "'t3' at ids 3 and 12", NULL);
    fx_free(f);
}

static void dense_fails_on_ids_without_a_token(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 5);
    want_check(f, "vocab.dense", TV_CHECK_PASS, "every id", NULL);
    fx_token(f, v, 9, "nine", 4);
    want_check(f, "vocab.dense", TV_CHECK_FAIL, "ids 5..8", "4 of 10 ids have no token");
    fx_free(f);
}

static void added_ids_fail_when_the_declared_id_disagrees(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    struct tv_vocab *v = &f->m->vocabs[0];
    tv_error err = {0};
    assert_int_equal(tv_vocab_add_added(f->m, v, 19, "t19", 3, TV_TOKEN_ADDED, &err), 0);
    want_check(f, "vocab.added_ids", TV_CHECK_PASS, "1 added token has the id the vocabulary",
               "checked against the vocabulary");
    /* declared id 18 holds "t18", and "t4" is already token 4 */
    assert_int_equal(tv_vocab_add_added(f->m, v, 18, "t4", 2, TV_TOKEN_ADDED, &err), 0);
    want_check(f, "vocab.added_ids", TV_CHECK_FAIL, "added token 't4' declares id 18",
                 "the vocabulary gives it id 4");
    fx_free(f);
}

/* A tokenizer.json whose added token "a" (id 2) is also model token 0. */
static const char conflict_json[] =
    "{\"version\": \"1.0\", \"added_tokens\": [%s], \"normalizer\": null, "
    "\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"post_processor\": null, \"decoder\": null, "
    "\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, \"b\": 1, \"[UNK]\": 2}, "
    "\"unk_token\": \"[UNK]\"}}";

static tv_model *tokenizer_json_model(const char *added)
{
    char text[1024];
    snprintf(text, sizeof text, conflict_json, added);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(text, strlen(text), "tokenizer.json", NULL, &err);
    if (!m)
        fail_msg("tokenizer.json: %s", err.message);
    return m;
}

static void added_ids_are_checked_with_the_tokenizer(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_model *m = tokenizer_json_model(
        "{\"id\": 3, \"content\": \"<x>\", \"single_word\": false, \"lstrip\": false, "
        "\"rstrip\": false, \"normalized\": false, \"special\": true}");
    tv_verify_report *r = tv_verify_run(m, NULL, &err);
    const struct tv_check *c = tv_verify_find(r, "vocab.added_ids");
    if (c->status != TV_CHECK_PASS || !strstr(c->message, "(encoded with the tokenizer)"))
        fail_msg("vocab.added_ids: %s", c->message);
    tv_verify_report_free(r);
    tv_model_free(m);

    /* "a" is model token 0: the tokenizer gives 0, not the declared 3 */
    m = tokenizer_json_model(
        "{\"id\": 3, \"content\": \"a\", \"single_word\": false, \"lstrip\": false, "
        "\"rstrip\": false, \"normalized\": false, \"special\": false}");
    r = tv_verify_run(m, NULL, &err);
    c = tv_verify_find(r, "vocab.added_ids");
    if (c->status != TV_CHECK_FAIL || !strstr(c->message, "added token 'a' declares id 3"))
        fail_msg("vocab.added_ids: %s: %s", tv_check_status_name(c->status), c->message);
    tv_verify_report_free(r);
    tv_model_free(m);
}

static void specials_fail_when_an_id_is_outside_the_vocabulary(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(100);
    fx_claim(f, TV_CLAIM_SPECIAL_ID, 0, TV_SPECIAL_BOS, ROOT "/config.json", "bos_token_id");
    fx_claim(f, TV_CLAIM_SPECIAL_ID, -1, TV_SPECIAL_PAD, ROOT "/config.json", "pad_token_id");
    want_check(f, "vocab.specials", TV_CHECK_PASS, "bos 0 't0'", "(from config.json)");
    fx_claim(f, TV_CLAIM_SPECIAL_ID, 50256, TV_SPECIAL_EOS, ROOT "/generation_config.json",
             "eos_token_id");
    want_check(f, "vocab.specials", TV_CHECK_FAIL,
                 "generation_config.json eos_token_id = 50256 is outside the 100 tokens of "
                 "tokenizer.json (ids 0..99)", NULL);
    fx_free(f);
}

static void specials_fail_when_a_special_string_is_not_a_token(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    struct tv_value v = {.type = TV_VALUE_STRING, .as.str = {"<s>", 3}};
    tv_error err = {0};
    assert_int_equal(tv_model_add_meta(f->m, "bos_token", 9, &v, TV_ORIGIN_TOKENIZER_CONFIG,
                                       ROOT "/tokenizer_config.json", &err), 0);
    want_check(f, "vocab.specials", TV_CHECK_FAIL, "tokenizer_config.json bos_token '<s>'",
                 "is not a token of tokenizer.json");
    fx_token(f, &f->m->vocabs[0], 10, "<s>", 3);
    want_check(f, "vocab.specials", TV_CHECK_PASS, "bos 10 '<s>'", NULL);
    fx_free(f);
}

static void specials_warn_when_config_and_tokenizer_config_disagree(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    struct tv_value v = {.type = TV_VALUE_STRING, .as.str = {"t0", 2}};
    tv_error err = {0};
    assert_int_equal(tv_model_add_meta(f->m, "bos_token", 9, &v, TV_ORIGIN_TOKENIZER_CONFIG,
                                       ROOT "/tokenizer_config.json", &err), 0);
    fx_claim(f, TV_CLAIM_SPECIAL_ID, 2, TV_SPECIAL_BOS, ROOT "/config.json", "bos_token_id");
    want_check(f, "vocab.specials", TV_CHECK_WARN, "config.json bos_token_id = 2 is 't2' but "
               "tokenizer_config.json bos_token is 't0' (id 0)", NULL);
    /* one of several claimed ids matching is enough (eos_token_id: [128001, 128009]) */
    fx_claim(f, TV_CLAIM_SPECIAL_ID, 0, TV_SPECIAL_BOS, ROOT "/generation_config.json",
             "bos_token_id");
    want_check(f, "vocab.specials", TV_CHECK_PASS, "bos 2 't2', bos 0 't0'", NULL);
    fx_free(f);
}

static void specials_fail_on_an_id_without_a_token(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 3);
    fx_token(f, v, 5, "five", 4);
    fx_claim(f, TV_CLAIM_SPECIAL_ID, 4, TV_SPECIAL_UNK, ROOT "/config.json", "unk_token_id");
    want_check(f, "vocab.specials", TV_CHECK_FAIL, "config.json unk_token_id = 4",
                 "names an id without a token in tokenizer.json");
    fx_free(f);
}

static void merges_fail_on_missing_parts_and_results(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    tv_error err = {0};
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 0);
    const char *tokens[] = {"a", "b", "ab", "c", "abc"};
    for (uint32_t i = 0; i < 5; i++)
        fx_token(f, v, i, tokens[i], strlen(tokens[i]));
    v->kind = TV_TOKENIZER_BPE;
    assert_int_equal(tv_vocab_add_merge(f->m, v, "a", 1, "b", 1, &err), 0);
    assert_int_equal(tv_vocab_add_merge(f->m, v, "ab", 2, "c", 1, &err), 0);
    want_check(f, "vocab.merges", TV_CHECK_PASS, "every merge (2 of tokenizer.json)", NULL);
    assert_int_equal(tv_vocab_add_merge(f->m, v, "c", 1, "a", 1, &err), 0);  /* "ca" missing */
    assert_int_equal(tv_vocab_add_merge(f->m, v, "x", 1, "b", 1, &err), 0);  /* "x" missing */
    const struct tv_check *c = run_check(f, NULL, "vocab.merges");
    assert_int_equal(c->status, TV_CHECK_FAIL);
    assert_non_null(strstr(c->message, "2 of 4 merges are broken"));
    assert_non_null(strstr(c->message, "merge 2 ('c' + 'a') makes 'ca', which is not a token"));
    assert_non_null(strstr(c->message, "merge 3 ('x' + 'b') uses a left part not in the vocabulary"));
    assert_int_equal(check_number(c, "missing_parts"), 1);
    fx_free(f);
}

static void merges_drop_the_continuing_subword_prefix(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    tv_error err = {0};
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 0);
    const char *tokens[] = {"a", "##b", "ab"};
    for (uint32_t i = 0; i < 3; i++)
        fx_token(f, v, i, tokens[i], strlen(tokens[i]));
    v->continuing_subword_prefix = "##";
    assert_int_equal(tv_vocab_add_merge(f->m, v, "a", 1, "##b", 3, &err), 0);
    want_check(f, "vocab.merges", TV_CHECK_PASS, "every merge (1 of tokenizer.json)", NULL);
    fx_free(f);
}

static void byte_fallback_fails_when_byte_tokens_are_missing(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 3);
    v->byte_fallback = true;
    for (unsigned b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        fx_token(f, v, 3 + b, name, 6);
    }
    want_check(f, "vocab.byte_fallback", TV_CHECK_PASS, "all 256 byte tokens", NULL);
    fx_token(f, v, 3 + 0x0A, "newline", 7);
    fx_token(f, v, 3 + 0x80, "x80", 3);
    fx_token(f, v, 3 + 0x81, "x81", 3);
    want_check(f, "vocab.byte_fallback", TV_CHECK_FAIL, "lacks 3 of the 256", "0x0A, 0x80..0x81");
    fx_free(f);
}

static void byte_fallback_skips_without_byte_tokens(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    want_check(f, "vocab.byte_fallback", TV_CHECK_SKIP, "does not use byte fallback", NULL);
    fx_free(f);
}

/* GPT-2's bytes_to_unicode, written independently of the library's. */
static size_t gpt2_symbol(unsigned b, char out[4])
{
    static unsigned map[256];
    static bool built;
    if (!built) {
        unsigned next = 256;
        for (unsigned x = 0; x < 256; x++) {
            bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
            map[x] = printable ? x : next++;
        }
        built = true;
    }
    unsigned cp = map[b];
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void byte_level_fails_warns_and_passes(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 0);
    v->byte_level = true;
    for (unsigned b = 0; b < 256; b++) {
        char sym[4];
        fx_token(f, v, b, sym, gpt2_symbol(b, sym));
    }
    want_check(f, "vocab.byte_level", TV_CHECK_PASS, "all 256 byte-level symbols", NULL);
    /* bytes that never occur in UTF-8 may be missing: a warning */
    fx_token(f, v, 0xF5, "never-f5", 8);
    fx_token(f, v, 0xC0, "never-c0", 8);
    want_check(f, "vocab.byte_level", TV_CHECK_WARN, "lacks 2 of the 256",
                 "never occur in UTF-8");
    fx_token(f, v, ' ', "space", 5); /* 0x20 is 'Ġ' in the byte-level alphabet */
    want_check(f, "vocab.byte_level", TV_CHECK_FAIL, "lacks 3 of the 256", "0x20");
    fx_free(f);
}

static void secondary_vocabulary_fails_on_the_first_differences(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    tv_error err = {0};
    struct tv_vocab *p = &f->m->vocabs[0];
    assert_int_equal(tv_vocab_add_added(f->m, p, 19, "t19", 3, TV_TOKEN_ADDED, &err), 0);
    struct tv_vocab *s = fx_vocab(f, ROOT "/vocab.json", 19);
    (void)s;
    want_check(f, "vocab.secondary", TV_CHECK_PASS,
                 "vocab.json agrees with tokenizer.json on all 19 ids",
                 "tokenizer.json adds 1 added tokens");
    fx_token(f, &f->m->vocabs[1], 7, "seven", 5);
    fx_token(f, &f->m->vocabs[1], 21, "extra", 5);
    want_check(f, "vocab.secondary", TV_CHECK_FAIL, "id 7 is 't7' vs 'seven'",
                 "2 ids only in vocab.json");
    fx_free(f);
}

static void secondary_vocabulary_skips_with_one_vocabulary(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(20);
    want_check(f, "vocab.secondary", TV_CHECK_SKIP, "only one vocabulary", NULL);
    fx_free(f);
}

static void messages_escape_token_bytes(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    fx_token(f, &f->m->vocabs[0], 3, "a\n\xff'", 4);
    fx_token(f, &f->m->vocabs[0], 4, "a\n\xff'", 4);
    const struct tv_check *c = run_check(f, NULL, "vocab.duplicates");
    assert_int_equal(c->status, TV_CHECK_FAIL);
    assert_non_null(strstr(c->message, "'a\\x0a\\xff\\''"));
    assert_null(strchr(c->message, '\n'));
    fx_free(f);
}

/* ---- embedding health -------------------------------------------------------------------------- */

static void embedding_nan_fails_and_names_the_token(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(40);
    want_check(f, "embedding.nan", TV_CHECK_PASS, "no NaN or infinity in 40 x 16 F32", NULL);
    float *data = (float *)tv_model_embedding(f->m)->data;
    data[7 * 16 + 2] = NAN;
    data[9 * 16] = INFINITY;
    want_check(f, "embedding.nan", TV_CHECK_FAIL, "2 of 40 rows hold NaN or infinity",
                 "id 7 't7' (NaN), id 9 't9' (infinity)");
    fx_free(f);
}

static void embedding_zero_rows_warn_except_pad_and_padding(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct tv_vocab *v = fx_vocab(f, ROOT "/tokenizer.json", 40);
    float *data = fx_tensor(f, "wte", 42, 16);
    fx_pick(f);
    memset(data + 0 * 16, 0, 16 * sizeof *data);   /* the pad token */
    memset(data + 41 * 16, 0, 16 * sizeof *data);  /* a padding row */
    v->special[TV_SPECIAL_PAD] = 0;
    want_check(f, "embedding.zero_rows", TV_CHECK_PASS, "only the pad token or padding rows",
                 NULL);
    memset(data + 12 * 16, 0, 16 * sizeof *data);
    want_check(f, "embedding.zero_rows", TV_CHECK_WARN, "1 token row is all zeros", "id 12 't12'");
    fx_free(f);
}

static void embedding_low_norm_warns_on_rows_far_below_the_median(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(200);
    want_check(f, "embedding.low_norm", TV_CHECK_PASS, "no token row has a norm far below", NULL);
    float *data = (float *)tv_model_embedding(f->m)->data;
    for (int k = 0; k < 16; k++) {
        data[33 * 16 + k] *= 0.01f;   /* 1/100 of its norm: below median/10 */
        data[150 * 16 + k] *= 0.05f;
    }
    const struct tv_check *c = run_check(f, NULL, "embedding.low_norm");
    assert_int_equal(c->status, TV_CHECK_WARN);
    assert_non_null(strstr(c->message, "2 token rows have a norm far below the median"));
    assert_non_null(strstr(c->message, "id 33 't33'"));
    assert_int_equal(check_number(c, "low_norm_rows"), 2);
    fx_free(f);
}

static void embedding_low_norm_skips_narrow_rows(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 50);
    fx_tensor(f, "embeddings", 50, 2);
    fx_pick(f);
    want_check(f, "embedding.low_norm", TV_CHECK_SKIP, "too narrow", NULL);
    fx_free(f);
}

static void embedding_checks_read_f16_data(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 4);
    static uint16_t data[4 * 8];
    for (size_t i = 0; i < 4 * 8; i++)
        data[i] = 0x3C00; /* 1.0 */
    data[2 * 8 + 5] = 0x7E00; /* NaN */
    uint64_t shape[2] = {4, 8};
    tv_error err = {0};
    assert_int_equal(tv_model_add_tensor(f->m, "wte", 3, TV_DTYPE_F16, 2, shape, "x", 0,
                                         (const uint8_t *)data, &err), 0);
    fx_pick(f);
    want_check(f, "embedding.nan", TV_CHECK_FAIL, "id 2 't2' (NaN)", NULL);
    fx_free(f);
}

static void embedding_checks_skip_a_dtype_without_kernel(void **state)
{
    (void)state;
    enum tv_dtype none = TV_DTYPE_COUNT;
    for (int d = 0; d < TV_DTYPE_COUNT && none == TV_DTYPE_COUNT; d++)
        if (!tv_dtype_can_to_f32((enum tv_dtype)d) && tv_dtype_info((enum tv_dtype)d)->block_size == 1)
            none = (enum tv_dtype)d;
    if (none == TV_DTYPE_COUNT) {
        print_message("[  SKIP    ] every element dtype has an F32 kernel now\n");
        skip();
    }
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 4);
    static uint8_t data[4 * 8 * 16];
    uint64_t shape[2] = {4, 8};
    tv_error err = {0};
    assert_int_equal(tv_model_add_tensor(f->m, "wte", 3, none, 2, shape, "x", 0, data, &err), 0);
    fx_pick(f);
    want_check(f, "embedding.nan", TV_CHECK_SKIP, "has no conversion to F32", NULL);
    fx_free(f);
}

static void embedding_checks_skip_without_an_embedding(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 4);
    want_check(f, "embedding.zero_rows", TV_CHECK_SKIP, "no token-embedding tensor", NULL);
    fx_free(f);
}

/* ---- structure and reader findings ------------------------------------------------------------ */

static void structure_reports_every_reader_finding(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    want_check(f, "structure", TV_CHECK_PASS, "no structural problem in 1 file", NULL);
    tv_error err = {0};
    assert_int_equal(tv_model_add_finding(f->m, "structure.gguf_offsets", TV_SEVERITY_WARN, &err,
                                          "%s: gap of 32 bytes before tensor 'a'",
                                          ROOT "/m.gguf"), 0);
    assert_int_equal(tv_model_add_finding(f->m, "structure.gguf_offsets", TV_SEVERITY_FAIL, &err,
                                          "m.gguf: tensor 'b' overlaps tensor 'a'"), 0);
    assert_int_equal(tv_model_add_finding(f->m, "structure.safetensors_alignment",
                                          TV_SEVERITY_WARN, &err, "not aligned"), 0);
    want_check(f, "structure.gguf_offsets", TV_CHECK_FAIL,
                 "m.gguf: gap of 32 bytes before tensor 'a' (and 1 more)", NULL);
    assert_null(strstr(tv_verify_find(f->r, "structure.gguf_offsets")->message, ROOT));
    want_check(f, "structure.safetensors_alignment", TV_CHECK_WARN, "not aligned", NULL);
    assert_null(tv_verify_find(f->r, "structure"));
    fx_free(f);
}

static void structure_passes_the_checks_of_the_readers_that_ran(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    tv_error err = {0};
    assert_int_equal(tv_model_add_file(f->m, "model.safetensors", &err), 0);
    want_check(f, "structure.safetensors_alignment", TV_CHECK_PASS, "model.safetensors", NULL);
    assert_null(tv_verify_find(f->r, "structure.gguf_offsets"));
    fx_free(f);
}

static void reader_findings_raise_the_check_they_belong_to(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    tv_error err = {0};
    assert_int_equal(tv_model_add_finding(f->m, "vocab.added_id", TV_SEVERITY_FAIL, &err,
                                          "tokenizer.json: added token 'x' declares id 3"), 0);
    want_check(f, "vocab.added_ids", TV_CHECK_FAIL, "added token 'x' declares id 3", NULL);
    assert_null(tv_verify_find(f->r, "vocab.added_id"));
    fx_free(f);
}

/* ---- options -------------------------------------------------------------------------------- */

static void expect_options_assert_vocab_hidden_and_dtype(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    tv_error err = {0};
    assert_int_equal(tv_verify_parse_expect(&opt, "vocab=10,hidden=16,dtype=f32", &err), 0);
    assert_int_equal(run_check(f, &opt, "expect.vocab")->status, TV_CHECK_PASS);
    assert_int_equal(tv_verify_find(f->r, "expect.hidden")->status, TV_CHECK_PASS);
    assert_int_equal(tv_verify_find(f->r, "expect.dtype")->status, TV_CHECK_PASS);
    assert_int_equal(tv_verify_parse_expect(&opt, "vocab=11,hidden=8,dtype=BF16", &err), 0);
    const struct tv_check *c = run_check(f, &opt, "expect.vocab");
    assert_int_equal(c->status, TV_CHECK_FAIL);
    assert_non_null(strstr(c->message, "expected 11 tokens: tokenizer.json has 10"));
    assert_int_equal(tv_verify_find(f->r, "expect.hidden")->status, TV_CHECK_FAIL);
    c = tv_verify_find(f->r, "expect.dtype");
    assert_int_equal(c->status, TV_CHECK_FAIL);
    assert_non_null(strstr(c->message, "expected BF16: model.embed_tokens.weight is F32"));
    assert_int_equal(tv_verify_ok(f->r), 0);
    fx_free(f);
}

static void expect_parse_rejects_bad_entries(void **state)
{
    (void)state;
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    tv_error err = {0};
    const char *bad[] = {"vocab", "vocab=", "vocab=-1", "vocab=1x", "size=3", "dtype=F99",
                         "hidden=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.code = 0;
        assert_int_equal(tv_verify_parse_expect(&opt, bad[i], &err), -1);
        assert_int_equal(err.code, TV_ERR_USAGE);
    }
    assert_int_equal(opt.expect_vocab, -1);
}

static void only_and_skip_select_checks_and_groups(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    opt.only = "vocab,hidden_dim";
    run_check(f, &opt, "hidden_dim");
    for (size_t i = 0; i < tv_verify_check_count(f->r); i++) {
        const char *id = tv_verify_check(f->r, i)->id;
        assert_true(strcmp(id, "hidden_dim") == 0 || strncmp(id, "vocab.", 6) == 0);
    }
    assert_null(tv_verify_find(f->r, "vocab_size")); /* "vocab" is the group vocab.* */
    opt.only = NULL;
    opt.skip = "embedding.*,vocab.merges";
    run_check(f, &opt, "vocab_size");
    assert_null(tv_verify_find(f->r, "embedding.nan"));
    assert_null(tv_verify_find(f->r, "vocab.merges"));
    assert_non_null(tv_verify_find(f->r, "vocab.dense"));
    fx_free(f);
}

static void unknown_check_ids_are_usage_errors(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    opt.only = "vocab_size,vocab.nonsense";
    tv_error err = {0};
    assert_null(tv_verify_run(f->m, &opt, &err));
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_non_null(strstr(err.message, "vocab.nonsense"));
    assert_true(tv_verify_known_id("structure.anything"));
    assert_true(tv_verify_known_id("embedding.*"));
    assert_false(tv_verify_known_id("vocab_sizes"));
    fx_free(f);
}

static void strict_makes_warnings_fail(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 100);
    fx_tensor(f, "wte", 104, 16);
    fx_pick(f);
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    run_check(f, &opt, "padding");
    assert_int_equal(tv_verify_ok(f->r), 1);
    opt.strict = true;
    run_check(f, &opt, "padding");
    assert_int_equal(tv_verify_ok(f->r), 0);
    fx_free(f);
}

/* ---- JSON and JUnit --------------------------------------------------------------------------- */

static void json_lists_every_check_with_numbers(void **state)
{
    (void)state;
    struct fx *f = fx_agreeing(10);
    fx_claim(f, TV_CLAIM_VOCAB_SIZE, 12, -1, ROOT "/config.json", "text_config.vocab_size");
    run_check(f, NULL, "vocab_size");
    tv_error err = {0};
    char *text = tv_verify_report_json(f->r, &err);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "path")->valuestring, ROOT);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "ok")));
    const cJSON *checks = cJSON_GetObjectItem(doc, "checks");
    assert_int_equal(cJSON_GetArraySize(checks), (int)tv_verify_check_count(f->r));
    const cJSON *first = cJSON_GetArrayItem(checks, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring, "vocab_size");
    assert_string_equal(cJSON_GetObjectItem(first, "status")->valuestring, "fail");
    assert_non_null(cJSON_GetObjectItem(first, "message"));
    const cJSON *numbers = cJSON_GetObjectItem(first, "numbers");
    assert_int_equal(cJSON_GetObjectItem(numbers, "config.json:text_config.vocab_size")->valueint,
                     12);
    const cJSON *summary = cJSON_GetObjectItem(doc, "summary");
    assert_int_equal(cJSON_GetObjectItem(summary, "failed")->valueint,
                     (int)tv_verify_count_status(f->r, TV_CHECK_FAIL));
    cJSON_Delete(doc);
    tv_verify_string_free(text);
    fx_free(f);
}

static int count_occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Reads attribute name="..." of the first element starting at tag. */
static long xml_attr_long(const char *tag, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *end = strchr(tag, '>');
    const char *p = strstr(tag, key);
    assert_non_null(p);
    assert_true(p < end);
    return strtol(p + strlen(key), NULL, 10);
}

/* Structural checks of a JUnit document, and xmllint --noout when available. */
static void check_junit(const char *xml, size_t n_checks, long failures, long skipped)
{
    assert_non_null(strstr(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    const char *suites = strstr(xml, "<testsuites");
    const char *suite = strstr(xml, "<testsuite ");
    assert_non_null(suites);
    assert_non_null(suite);
    assert_int_equal(xml_attr_long(suites, "tests"), (long)n_checks);
    assert_int_equal(xml_attr_long(suite, "tests"), (long)n_checks);
    assert_int_equal(xml_attr_long(suite, "failures"), failures);
    assert_int_equal(xml_attr_long(suite, "skipped"), skipped);
    assert_int_equal(count_occurrences(xml, "<testcase "), (int)n_checks);
    assert_int_equal(count_occurrences(xml, "<testcase classname=\"tokvec.verify\" name=\""),
                     (int)n_checks);
    assert_int_equal(count_occurrences(xml, "<failure "), (int)failures);
    assert_int_equal(count_occurrences(xml, "</failure>"), (int)failures);
    assert_int_equal(count_occurrences(xml, "<skipped "), (int)skipped);
    assert_int_equal(count_occurrences(xml, "</testcase>"), (int)n_checks);
    for (const char *p = xml; (p = strstr(p, "<testcase ")); p++) {
        const char *name = strstr(p, " name=\"");
        assert_non_null(name);
        assert_true(name[7] != '"'); /* every test case has a non-empty name */
    }
    if (system("command -v xmllint >/dev/null 2>&1") != 0) {
        print_message("[  SKIP    ] xmllint not installed: JUnit well-formedness not validated "
                      "(apt-get install libxml2-utils)\n");
        return;
    }
    char path[] = "/tmp/tokvec-junit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

static void junit_maps_checks_to_test_cases(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    fx_vocab(f, ROOT "/tokenizer.json", 100);
    fx_tensor(f, "wte", 104, 16);
    fx_token(f, &f->m->vocabs[0], 5, "<&\"'>\x01\xff", 7);
    fx_token(f, &f->m->vocabs[0], 6, "<&\"'>\x01\xff", 7);
    fx_pick(f);
    run_check(f, NULL, "padding");
    size_t n = tv_verify_check_count(f->r);
    long failures = (long)tv_verify_count_status(f->r, TV_CHECK_FAIL);
    long skipped = (long)tv_verify_count_status(f->r, TV_CHECK_SKIP);
    long warnings = (long)tv_verify_count_status(f->r, TV_CHECK_WARN);
    assert_true(failures >= 1 && warnings >= 1 && skipped >= 1);
    tv_error err = {0};
    char *xml = tv_verify_report_junit(f->r, &err);
    assert_non_null(xml);
    check_junit(xml, n, failures, skipped);
    assert_non_null(strstr(xml, "<system-out>warning: "));
    tv_verify_string_free(xml);

    /* --strict: warnings become failures of type "warning" */
    struct tv_verify_options opt;
    tv_verify_options_init(&opt);
    opt.strict = true;
    run_check(f, &opt, "padding");
    xml = tv_verify_report_junit(f->r, &err);
    assert_non_null(xml);
    check_junit(xml, n, failures + warnings, skipped);
    assert_non_null(strstr(xml, "type=\"warning\""));

    /* written atomically to a file, replacing an old one */
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/report.xml", dir);
    FILE *old = fopen(path, "w");
    fputs("old", old);
    fclose(old);
    assert_int_equal(tv_verify_write_junit(f->r, path, &err), 0);
    size_t len;
    uint8_t *written = read_file_or_fail(path, &len);
    assert_string_equal((char *)written, xml);
    tv_free(written);
    snprintf(path, sizeof path, "%s/missing-dir/report.xml", dir);
    assert_int_equal(tv_verify_write_junit(f->r, path, &err), -1);
    remove_tree(dir);
    tv_free(dir);
    tv_verify_string_free(xml);
    fx_free(f);
}

static void error_report_describes_an_unopenable_model(void **state)
{
    (void)state;
    tv_error err = {0};
    tv_verify_report *r = tv_verify_report_error("/nope", "/nope: no such file or folder", NULL,
                                                 &err);
    assert_non_null(r);
    assert_int_equal(tv_verify_check_count(r), 1);
    assert_int_equal(tv_verify_check(r, 0)->status, TV_CHECK_FAIL);
    assert_int_equal(tv_verify_ok(r), 0);
    char *xml = tv_verify_report_junit(r, &err);
    check_junit(xml, 1, 1, 0);
    tv_verify_string_free(xml);
    tv_verify_report_free(r);
}

/* ---- real fixtures ---------------------------------------------------------------------------- */

static tv_verify_report *verify_paths(const char *const *relative, size_t n)
{
    const char *paths[4];
    char copies[4][4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(copies[i], sizeof copies[i], "%s", real_fixture(relative[i]));
        paths[i] = copies[i];
    }
    tv_error err = {0};
    tv_model *m = tv_model_open_many(paths, n, NULL, &err);
    if (!m)
        fail_msg("cannot open %s: %s", paths[0], err.message);
    tv_verify_report *r = tv_verify_run(m, NULL, &err);
    assert_non_null(r);
    tv_model_free(m);
    return r;
}

static void print_failures(const tv_verify_report *r)
{
    for (size_t i = 0; i < tv_verify_check_count(r); i++) {
        const struct tv_check *c = tv_verify_check(r, i);
        if (c->status == TV_CHECK_FAIL || c->status == TV_CHECK_WARN)
            print_message("  %s %s: %s\n", tv_check_status_name(c->status), c->id, c->message);
    }
}

static void expect_real_pass(const char *relative)
{
    tv_verify_report *r = verify_paths(&relative, 1);
    if (!tv_verify_ok(r)) {
        print_failures(r);
        fail_msg("%s should pass verify", relative);
    }
    assert_int_equal(tv_verify_find(r, "vocab_size")->status, TV_CHECK_PASS);
    assert_int_equal(tv_verify_find(r, "hidden_dim")->status, TV_CHECK_PASS);
    assert_int_equal(tv_verify_find(r, "embedding.nan")->status, TV_CHECK_PASS);
    tv_verify_report_free(r);
}

static void real_agreeing_models_pass(void **state)
{
    (void)state;
    expect_real_pass("safetensors/tiny-llm-cicd-gpt2-vocab50257");
    expect_real_pass("gguf/weights/stories260K.gguf");
    expect_real_pass("gguf/weights/llama-2-tiny-random.gguf");
    /* token ids reach the 128 rows through the "mapping" tensor */
    expect_real_pass("safetensors/model2vec-test-model-vocab-quantized");
}

static void expect_real_fail(const char *const *relative, size_t n, const char *id,
                             const char *fragment)
{
    tv_verify_report *r = verify_paths(relative, n);
    const struct tv_check *c = tv_verify_find(r, id);
    assert_non_null(c);
    if (c->status != TV_CHECK_FAIL || !strstr(c->message, fragment)) {
        print_failures(r);
        fail_msg("%s: expected %s to fail with '%s', got %s: %s", relative[0], id, fragment,
                 tv_check_status_name(c->status), c->message);
    }
    assert_int_equal(tv_verify_ok(r), 0);
    tv_verify_report_free(r);
}

static void real_model2vec_fails_hidden_dim(void **state)
{
    (void)state;
    const char *p[] = {"safetensors/model2vec-test-model-float32"};
    expect_real_fail(p, 1, "hidden_dim", "config.json hidden_dim = 64 but embeddings has 2 columns");
}

static void real_vocab100_fails_on_special_ids(void **state)
{
    (void)state;
    const char *p[] = {"safetensors/tiny-llm-cicd-gpt2-vocab100"};
    expect_real_fail(p, 1, "vocab.specials",
                     "config.json bos_token_id = 50256, config.json eos_token_id = 50256");
    expect_real_fail(p, 1, "vocab.specials", "outside the 100 tokens of tokenizer.json");
}

static void real_minicpm3_fails_config_vs_weights(void **state)
{
    (void)state;
    const char *p[] = {"safetensors/ollama-minicpm3-testdata"};
    expect_real_fail(p, 1, "vocab_size",
                     "config.json vocab_size = 73448 but model.embed_tokens.weight has 100 rows");
    expect_real_fail(p, 1, "hidden_dim",
                     "config.json hidden_size = 2560 but model.embed_tokens.weight has 100 columns");
}

static void real_tinypellm_fails_on_an_empty_vocabulary(void **state)
{
    (void)state;
    const char *p[] = {"pytorch/tinypellm/tokenizer.json", "pytorch/tinypellm/config.json"};
    expect_real_fail(p, 2, "vocab_size", "tokenizer.json has 7 tokens but config.json "
                     "vocab_size is 3000");
    expect_real_fail(p, 2, "vocab_size", "the model vocabulary is empty");
}

static void real_gguf_with_a_foreign_tokenizer_fails(void **state)
{
    (void)state;
    const char *p[] = {"gguf/weights/stories260K.gguf", "tokenizers/llama2/tokenizer.json"};
    expect_real_fail(p, 2, "vocab.secondary", "tokenizer.json (32000 tokens) vs stories260K.gguf");
    expect_real_fail(p, 2, "vocab_size", "ids 512..31999 have no embedding");
}

static void real_phantom_space_gguf_agrees_with_its_vocab_txt(void **state)
{
    (void)state;
    const char *p[] = {"gguf/vocab/ggml-vocab-bert-bge.gguf", "tokenizers/bert-base-uncased/vocab.txt"};
    tv_verify_report *r = verify_paths(p, 2);
    const struct tv_check *c = tv_verify_find(r, "vocab.secondary");
    if (c->status != TV_CHECK_PASS)
        fail_msg("vocab.secondary: %s", c->message);
    tv_verify_report_free(r);
    const char *q[] = {"gguf/vocab/ggml-vocab-bert-bge.gguf", "tokenizers/bert-base-cased/vocab.txt"};
    expect_real_fail(q, 2, "vocab.secondary", "1526 ids only in ggml-vocab-bert-bge.gguf");
}

/* ---- the CLI ---------------------------------------------------------------------------------- */

static void cli_exit_codes_follow_the_checks(void **state)
{
    (void)state;
    char good[4096], bad[4096];
    snprintf(good, sizeof good, "%s", real_fixture("safetensors/tiny-llm-cicd-gpt2-vocab50257"));
    snprintf(bad, sizeof bad, "%s", real_fixture("safetensors/tiny-llm-cicd-gpt2-vocab100"));
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, NULL, "verify", good, NULL), 0);
    assert_non_null(strstr(out, "ok    vocab_size"));
    assert_non_null(strstr(out, "0 failed, 0 warnings, "));
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "verify", bad, NULL), 1);
    assert_non_null(strstr(out, "FAIL  vocab.specials"));
    assert_non_null(strstr(out, "1 failed, "));
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "verify", "--only", "vocab_size", bad, NULL), 0);
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "verify", "--expect", "vocab=100,hidden=16,dtype=F32",
                             "--only", "expect", bad, NULL), 0);
    assert_non_null(strstr(out, "ok    expect.dtype"));
    tv_free(out);
    assert_int_equal(run_cli(NULL, &err, "verify", "--only", "bogus", good, NULL), 2);
    assert_non_null(strstr(err, "bogus"));
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "verify", "--expect", "vocab=x", good, NULL), 2);
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "verify", NULL), 2);
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "verify", "/nonexistent/model", NULL), 1);
    assert_non_null(strstr(err, "/nonexistent/model"));
    tv_free(err);
}

static void cli_strict_fails_on_warnings(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s", real_fixture("gguf/weights/llama-2-tiny-random.gguf"));
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "verify", path, NULL), 0);
    bool warned = strstr(out, "warn  ") != NULL;
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "verify", "--strict", path, NULL), warned ? 1 : 0);
    tv_free(out);
}

static void cli_writes_json_and_junit(void **state)
{
    (void)state;
    char model[4096];
    snprintf(model, sizeof model, "%s", real_fixture("safetensors/model2vec-test-model-float32"));
    char *dir = make_temp_dir();
    char junit[512];
    snprintf(junit, sizeof junit, "%s/verify.xml", dir);
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "verify", "--json", "--junit", junit, model, NULL), 1);
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(doc);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "ok")));
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "checks"));
    const cJSON *summary = cJSON_GetObjectItem(doc, "summary");
    long failed = (long)cJSON_GetObjectItem(summary, "failed")->valueint;
    long skipped = (long)cJSON_GetObjectItem(summary, "skipped")->valueint;
    cJSON_Delete(doc);
    tv_free(out);
    size_t len;
    uint8_t *xml = read_file_or_fail(junit, &len);
    check_junit((char *)xml, (size_t)n, failed, skipped);
    assert_non_null(strstr((char *)xml, "name=\"hidden_dim\">\n      <failure"));
    tv_free(xml);

    /* a model that cannot be opened still produces both, with one failed "open" case */
    char *err = NULL;
    assert_int_equal(run_cli(&out, &err, "verify", "--json", "--junit", junit,
                             "/nonexistent/model", NULL), 1);
    doc = cJSON_Parse(out);
    assert_non_null(doc);
    cJSON_Delete(doc);
    xml = read_file_or_fail(junit, &len);
    check_junit((char *)xml, 1, 1, 0);
    assert_non_null(strstr((char *)xml, "name=\"open\""));
    tv_free(xml);
    tv_free(out);
    tv_free(err);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vocab_size_passes_when_every_source_agrees),
        cmocka_unit_test(vocab_size_fails_when_token_ids_have_no_embedding_row),
        cmocka_unit_test(vocab_size_fails_when_config_disagrees_with_the_weights),
        cmocka_unit_test(vocab_size_fails_when_the_tokenizer_covers_too_few_ids),
        cmocka_unit_test(vocab_size_skips_with_only_one_source),
        cmocka_unit_test(vocab_size_follows_a_token_to_row_mapping),
        cmocka_unit_test(padding_warns_with_the_number_of_unreachable_rows),
        cmocka_unit_test(padding_passes_when_rows_equal_tokens),
        cmocka_unit_test(hidden_dim_passes_when_config_and_tensors_agree),
        cmocka_unit_test(hidden_dim_fails_when_config_disagrees_with_the_embedding),
        cmocka_unit_test(hidden_dim_fails_when_the_head_is_narrower),
        cmocka_unit_test(hidden_dim_compares_embedding_size_when_the_config_factors_it),
        cmocka_unit_test(tied_embeddings_fails_when_a_tied_head_holds_other_data),
        cmocka_unit_test(tied_embeddings_passes_when_a_tied_head_is_an_exact_copy),
        cmocka_unit_test(tied_embeddings_passes_when_the_head_shares_storage),
        cmocka_unit_test(tied_embeddings_fails_when_untied_causal_lm_has_no_head),
        cmocka_unit_test(tied_embeddings_skips_without_claim_or_head),
        cmocka_unit_test(duplicates_fail_with_both_ids),
        cmocka_unit_test(dense_fails_on_ids_without_a_token),
        cmocka_unit_test(added_ids_fail_when_the_declared_id_disagrees),
        cmocka_unit_test(added_ids_are_checked_with_the_tokenizer),
        cmocka_unit_test(specials_fail_when_an_id_is_outside_the_vocabulary),
        cmocka_unit_test(specials_fail_when_a_special_string_is_not_a_token),
        cmocka_unit_test(specials_warn_when_config_and_tokenizer_config_disagree),
        cmocka_unit_test(specials_fail_on_an_id_without_a_token),
        cmocka_unit_test(merges_fail_on_missing_parts_and_results),
        cmocka_unit_test(merges_drop_the_continuing_subword_prefix),
        cmocka_unit_test(byte_fallback_fails_when_byte_tokens_are_missing),
        cmocka_unit_test(byte_fallback_skips_without_byte_tokens),
        cmocka_unit_test(byte_level_fails_warns_and_passes),
        cmocka_unit_test(secondary_vocabulary_fails_on_the_first_differences),
        cmocka_unit_test(secondary_vocabulary_skips_with_one_vocabulary),
        cmocka_unit_test(messages_escape_token_bytes),
        cmocka_unit_test(embedding_nan_fails_and_names_the_token),
        cmocka_unit_test(embedding_zero_rows_warn_except_pad_and_padding),
        cmocka_unit_test(embedding_low_norm_warns_on_rows_far_below_the_median),
        cmocka_unit_test(embedding_low_norm_skips_narrow_rows),
        cmocka_unit_test(embedding_checks_read_f16_data),
        cmocka_unit_test(embedding_checks_skip_a_dtype_without_kernel),
        cmocka_unit_test(embedding_checks_skip_without_an_embedding),
        cmocka_unit_test(structure_reports_every_reader_finding),
        cmocka_unit_test(structure_passes_the_checks_of_the_readers_that_ran),
        cmocka_unit_test(reader_findings_raise_the_check_they_belong_to),
        cmocka_unit_test(expect_options_assert_vocab_hidden_and_dtype),
        cmocka_unit_test(expect_parse_rejects_bad_entries),
        cmocka_unit_test(only_and_skip_select_checks_and_groups),
        cmocka_unit_test(unknown_check_ids_are_usage_errors),
        cmocka_unit_test(strict_makes_warnings_fail),
        cmocka_unit_test(json_lists_every_check_with_numbers),
        cmocka_unit_test(junit_maps_checks_to_test_cases),
        cmocka_unit_test(error_report_describes_an_unopenable_model),
        cmocka_unit_test(real_agreeing_models_pass),
        cmocka_unit_test(real_model2vec_fails_hidden_dim),
        cmocka_unit_test(real_vocab100_fails_on_special_ids),
        cmocka_unit_test(real_minicpm3_fails_config_vs_weights),
        cmocka_unit_test(real_tinypellm_fails_on_an_empty_vocabulary),
        cmocka_unit_test(real_gguf_with_a_foreign_tokenizer_fails),
        cmocka_unit_test(real_phantom_space_gguf_agrees_with_its_vocab_txt),
        cmocka_unit_test(cli_exit_codes_follow_the_checks),
        cmocka_unit_test(cli_strict_fails_on_warnings),
        cmocka_unit_test(cli_writes_json_and_junit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
