/* The core: allocation, arena, string map, JSON helpers, atomic output, the model
   and its embedding choice, format detection and folder errors. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "failalloc.h"
#include "testutil.h"

static void strmap_keeps_first_value_and_finds_every_key(void **state)
{
    (void)state;
    struct tv_strmap map;
    tv_strmap_init(&map);
    char keys[5000][16];
    for (int i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(tv_strmap_put(&map, keys[i], strlen(keys[i]), (uint64_t)i, NULL), 1);
    }
    uint64_t existing = 0;
    assert_int_equal(tv_strmap_put(&map, "k42", 3, 7, &existing), 0);
    assert_int_equal(existing, 42);
    for (int i = 0; i < 5000; i++) {
        uint64_t v;
        assert_int_equal(tv_strmap_get(&map, keys[i], strlen(keys[i]), &v), 1);
        assert_int_equal(v, (uint64_t)i);
    }
    assert_int_equal(tv_strmap_get(&map, "nope", 4, NULL), 0);
    /* the empty key is a key like any other */
    assert_int_equal(tv_strmap_put(&map, "", 0, 99, NULL), 1);
    uint64_t v;
    assert_int_equal(tv_strmap_get(&map, "", 0, &v), 1);
    assert_int_equal(v, 99);
    tv_strmap_release(&map);
}

static void arena_returns_aligned_copies_including_large_ones(void **state)
{
    (void)state;
    struct tv_arena a;
    tv_arena_init(&a);
    char *small = tv_arena_strndup(&a, "abc", 3);
    assert_string_equal(small, "abc");
    size_t big_len = 200000;
    char *big_src = malloc(big_len);
    memset(big_src, 'x', big_len);
    char *big = tv_arena_strndup(&a, big_src, big_len);
    assert_int_equal(strlen(big), big_len);
    char *after = tv_arena_strndup(&a, "def", 3);
    assert_string_equal(after, "def");
    assert_string_equal(small, "abc");
    assert_int_equal((uintptr_t)after % 8, 0);
    free(big_src);
    tv_arena_release(&a);
}

static void json_uint_rejects_fractions_negatives_and_values_from_2_53(void **state)
{
    (void)state;
    const char *cases[] = {"1.5", "-1", "9007199254740993", "9007199254740992", "1e300",
                           "\"7\"", "true", "4503599627370495.5"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        cJSON *j = cJSON_Parse(cases[i]);
        uint64_t v;
        assert_int_equal(tv_json_uint(j, &v), -1);
        cJSON_Delete(j);
    }
    cJSON *j = cJSON_Parse("9007199254740991");
    uint64_t v;
    assert_int_equal(tv_json_uint(j, &v), 0);
    assert_true(v == 9007199254740991ULL);
    cJSON_Delete(j);
}

static void json_parse_refuses_data_after_the_document(void **state)
{
    (void)state;
    const char *cases[] = {"{}{}", "{} x", "{\"a\": 1}\0", "[1] 2"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_error err;
        size_t len = strlen(cases[i]) + (i == 2);
        assert_null(tv_json_parse((const uint8_t *)cases[i], len, "x.json", &err));
        assert_non_null(strstr(err.message, "x.json"));
    }
    tv_error err;
    cJSON *ok = tv_json_parse((const uint8_t *)"{\"a\": 1}  \n", 11, "x.json", &err);
    assert_non_null(ok);
    cJSON_Delete(ok);
}

static void json_top_keys_sees_only_the_top_level(void **state)
{
    (void)state;
    const char *doc = "{\"a\": {\"model\": 1}, \"b\": [\"model\", {\"x\": \"}\"}], \"model\": {}}";
    assert_true(tv_json_has_top_key((const uint8_t *)doc, strlen(doc), "model"));
    assert_true(tv_json_has_top_key((const uint8_t *)doc, strlen(doc), "b"));
    const char *nested = "{\"a\": {\"model\": 1}}";
    assert_false(tv_json_has_top_key((const uint8_t *)nested, strlen(nested), "model"));
    assert_false(tv_json_has_top_key((const uint8_t *)"[1]", 3, "model"));
    /* truncated documents never read past their end */
    for (size_t n = 0; n < strlen(doc); n++)
        (void)tv_json_has_top_key((const uint8_t *)doc, n, "zzz");
}

static void out_commit_replaces_only_when_complete_and_abort_leaves_nothing(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = tv_path_join(dir, "out.bin");
    tv_error err;
    tv_out *out = tv_out_open(path, false, &err);
    assert_non_null(out);
    assert_int_equal(tv_out_write(out, "hello", 5, &err), 0);
    assert_int_equal(tv_path_kind(path), -1); /* nothing visible before commit */
    assert_int_equal(tv_out_commit(out, &err), 0);
    assert_int_equal(tv_path_kind(path), 0);

    /* an existing output is refused without force */
    assert_null(tv_out_open(path, false, &err));
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_non_null(strstr(err.message, "already exists"));

    /* an aborted replacement leaves the old file and no temporary behind */
    out = tv_out_open(path, true, &err);
    assert_non_null(out);
    assert_int_equal(tv_out_write(out, "XXXXXXXX", 8, &err), 0);
    tv_out_abort(out);
    size_t len;
    uint8_t *content = read_file_or_fail(path, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(content, "hello", 5);
    tv_free(content);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    remove_tree(dir);
    tv_free(path);
    tv_free(dir);
}

static void model_refuses_duplicate_tensors_and_overflowing_shapes(void **state)
{
    (void)state;
    tv_error err;
    tv_model *m = tv_model_new_empty("t", NULL, &err);
    assert_non_null(m);
    uint64_t shape[2] = {4, 8};
    assert_int_equal(tv_model_add_tensor(m, "a", 1, TV_DTYPE_F32, 2, shape, "f", 0, NULL, &err), 0);
    assert_int_equal(tv_model_add_tensor(m, "a", 1, TV_DTYPE_F32, 2, shape, "f", 0, NULL, &err), -1);
    assert_non_null(strstr(err.message, "'a' appears twice"));
    uint64_t huge[2] = {1ULL << 40, 1ULL << 40};
    assert_int_equal(tv_model_add_tensor(m, "b", 1, TV_DTYPE_F32, 2, huge, "f", 0, NULL, &err), -1);
    assert_non_null(strstr(err.message, "'b'"));
    uint64_t q[2] = {2, 33}; /* not a whole number of Q8_0 blocks along the row */
    assert_int_equal(tv_model_add_tensor(m, "q", 1, TV_DTYPE_Q8_0, 2, q, "f", 0, NULL, &err), -1);
    assert_non_null(strstr(err.message, "block size 32"));
    const struct tv_tensor *t = tv_model_tensor_find(m, "a");
    assert_non_null(t);
    assert_int_equal(t->n_bytes, 4 * 8 * 4);
    tv_model_free(m);
}

static void model_picks_embedding_by_name_then_by_vocab_rows(void **state)
{
    (void)state;
    tv_error err;
    tv_model *m = tv_model_new_empty("t", NULL, &err);
    struct tv_vocab *v = tv_model_new_vocab(m, "vocab", &err);
    for (uint32_t id = 0; id < 10; id++) {
        char tok[8];
        snprintf(tok, sizeof tok, "t%u", id);
        assert_int_equal(tv_vocab_set_token(m, v, id, tok, strlen(tok), 0, TV_TOKEN_NORMAL, &err), 0);
    }
    uint64_t emb[2] = {10, 4}, other[2] = {3, 4};
    tv_model_add_tensor(m, "layer.weight", 12, TV_DTYPE_F32, 2, other, "f", 0, NULL, &err);
    tv_model_add_tensor(m, "mystery", 7, TV_DTYPE_F32, 2, emb, "f", 0, NULL, &err);
    assert_int_equal(tv_model_pick_embedding(m, &err), 0);
    assert_string_equal(tv_model_embedding(m)->name, "mystery");
    tv_model_add_tensor(m, "model.embed_tokens.weight", 25, TV_DTYPE_F32, 2, emb, "f", 0, NULL, &err);
    assert_int_equal(tv_model_pick_embedding(m, &err), 0);
    assert_string_equal(tv_model_embedding(m)->name, "model.embed_tokens.weight");
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "t7", 2, &id), 0);
    assert_int_equal(id, 7);
    assert_int_equal(tv_vocab_find(m, "t77", 3, &id), -1);
    tv_model_free(m);

    struct tv_open_options opt = {.embedding = "nope"};
    m = tv_model_new_empty("t", &opt, &err);
    tv_model_add_tensor(m, "x", 1, TV_DTYPE_F32, 2, emb, "f", 0, NULL, &err);
    assert_int_equal(tv_model_pick_embedding(m, &err), -1);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "'nope'"));
    tv_model_free(m);
}

static void open_names_missing_paths_unknown_formats_and_empty_folders(void **state)
{
    (void)state;
    tv_error err;
    assert_null(tv_model_open("/nonexistent/model.gguf", NULL, &err));
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "/nonexistent/model.gguf"));

    assert_null(tv_model_read_memory("\x01\x02\x03garbage", 10, "junk.bin", NULL, &err));
    assert_non_null(strstr(err.message, "junk.bin"));
    assert_non_null(strstr(err.message, "01 02 03"));

    char *dir = make_temp_dir();
    assert_null(tv_model_open(dir, NULL, &err));
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "no model files"));
    remove_tree(dir);
    tv_free(dir);
}

static void config_json_records_claims_and_metadata(void **state)
{
    (void)state;
    const char *cfg = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
                      " \"vocab_size\": 32000, \"hidden_size\": 4096, \"tie_word_embeddings\": false,"
                      " \"eos_token_id\": [1, 2], \"rope_scaling\": {\"type\": \"x\"}}";
    tv_error err;
    tv_model *m = tv_model_read_memory(cfg, strlen(cfg), "config.json", NULL, &err);
    assert_non_null(m);
    int vocab = 0, hidden = 0, tied = 0, eos = 0;
    for (size_t i = 0; i < m->n_claims; i++) {
        const struct tv_claim *c = &m->claims[i];
        if (c->kind == TV_CLAIM_VOCAB_SIZE && c->value == 32000) vocab++;
        if (c->kind == TV_CLAIM_HIDDEN_DIM && c->value == 4096 && !strcmp(c->key, "hidden_size")) hidden++;
        if (c->kind == TV_CLAIM_TIED && c->value == 0) tied++;
        if (c->kind == TV_CLAIM_SPECIAL_ID && c->special == TV_SPECIAL_EOS) eos++;
    }
    assert_int_equal(vocab, 1);
    assert_int_equal(hidden, 1);
    assert_int_equal(tied, 1);
    assert_int_equal(eos, 2);
    const struct tv_meta *arch = tv_model_meta_find(m, "architectures");
    assert_non_null(arch);
    assert_int_equal(arch->value.type, TV_VALUE_ARRAY);
    const struct tv_str *s = arch->value.as.arr.data;
    assert_int_equal(s[0].len, strlen("LlamaForCausalLM"));
    assert_null(tv_model_meta_find(m, "rope_scaling"));
    tv_model_free(m);
}

static void config_read_survives_every_allocation_failure(void **state)
{
    (void)state;
    const char *cfg = "{\"architectures\": [\"GPT2LMHeadModel\"], \"vocab_size\": 50257, \"n_embd\": 768}";
    struct failalloc_input in = {.buf = cfg, .len = strlen(cfg), .name = "config.json"};
    struct failalloc_sweep s = failalloc_sweep(200, failalloc_read_model, &in);
    if (!s.succeeded)
        assert_true(s.err.code == TV_ERR_NOMEM);
    assert_true(s.succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strmap_keeps_first_value_and_finds_every_key),
        cmocka_unit_test(arena_returns_aligned_copies_including_large_ones),
        cmocka_unit_test(json_uint_rejects_fractions_negatives_and_values_from_2_53),
        cmocka_unit_test(json_parse_refuses_data_after_the_document),
        cmocka_unit_test(json_top_keys_sees_only_the_top_level),
        cmocka_unit_test(out_commit_replaces_only_when_complete_and_abort_leaves_nothing),
        cmocka_unit_test(model_refuses_duplicate_tensors_and_overflowing_shapes),
        cmocka_unit_test(model_picks_embedding_by_name_then_by_vocab_rows),
        cmocka_unit_test(open_names_missing_paths_unknown_formats_and_empty_folders),
        cmocka_unit_test(config_json_records_claims_and_metadata),
        cmocka_unit_test(config_read_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
