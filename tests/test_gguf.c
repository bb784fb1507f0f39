/* The GGUF reader: real files from llama.cpp and friends, files built in code with
   tests/support/gguf_build.c, and hostile variants of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gguf_build.h"
#include "failalloc.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------- */

#define NAME "t.gguf"

static tv_model *read_build(const struct gguf_build *b, tv_error *err)
{
    return tv_model_read_memory(b->data, b->len, NAME, NULL, err);
}

/* Reads b, which must fail with a message naming the file and containing every
   NULL-terminated fragment. */
static void expect_error(const struct gguf_build *b, const char *fragment, ...)
{
    tv_error err = {0};
    tv_model *m = read_build(b, &err);
    if (m) {
        tv_model_free(m);
        fail_msg("read succeeded; expected an error containing '%s'", fragment);
    }
    assert_int_not_equal(err.code, TV_OK);
    if (strncmp(err.message, NAME ": ", strlen(NAME ": ")) != 0)
        fail_msg("message does not start with the file name: %s", err.message);
    va_list ap;
    va_start(ap, fragment);
    for (const char *f = fragment; f; f = va_arg(ap, const char *))
        if (!strstr(err.message, f))
            fail_msg("message lacks '%s': %s", f, err.message);
    va_end(ap);
}

static tv_model *expect_ok(const struct gguf_build *b)
{
    tv_error err = {0};
    tv_model *m = read_build(b, &err);
    if (!m)
        fail_msg("read failed: %s", err.message);
    return m;
}

static const struct tv_meta *meta(const tv_model *m, const char *key)
{
    const struct tv_meta *kv = tv_model_meta_find(m, key);
    if (!kv)
        fail_msg("no key '%s'", key);
    return kv;
}

static const struct tv_claim *find_claim(const tv_model *m, enum tv_claim_kind kind,
                                         const char *key)
{
    for (size_t i = 0; i < m->n_claims; i++)
        if (m->claims[i].kind == kind && strcmp(m->claims[i].key, key) == 0)
            return &m->claims[i];
    return NULL;
}

static int64_t claim_value(const tv_model *m, enum tv_claim_kind kind, const char *key)
{
    const struct tv_claim *c = find_claim(m, kind, key);
    if (!c)
        fail_msg("no claim of kind %d for '%s'", kind, key);
    return c->value;
}

static void expect_token(const tv_model *m, uint32_t id, const char *text)
{
    const struct tv_token *t = tv_vocab_token(m, id);
    assert_non_null(t);
    assert_non_null(t->text);
    assert_int_equal(t->len, strlen(text));
    assert_memory_equal(t->text, text, t->len);
}

static void expect_merge(const tv_model *m, size_t rank, const char *left, const char *right)
{
    const char *l, *r;
    size_t ll, rl;
    assert_int_equal(tv_vocab_merge(m, rank, &l, &ll, &r, &rl), 0);
    assert_int_equal(ll, strlen(left));
    assert_memory_equal(l, left, ll);
    assert_int_equal(rl, strlen(right));
    assert_memory_equal(r, right, rl);
}

/* ---- the small valid file every hostile variant starts from ------------------------ */

static const char *const small_tokens[] = {"a", "b", "c", "ab", "abc", "<eos>"};
static const float small_scores[] = {-1.0f, -2.0f, -3.0f, -0.5f, -0.25f, 0.0f};
static const int32_t small_types[] = {1, 1, 1, 1, 1, 3};
static const char *const small_merges[] = {"a b", "ab c"};

/* The key/values of the small file, with one of them optionally left out. */
static void small_metadata(struct gguf_build *b, const char *skip)
{
#define WANT(key) (!skip || strcmp(skip, key) != 0)
    if (WANT("general.architecture"))
        gb_kv_string(b, "general.architecture", "llama");
    if (WANT("general.alignment"))
        gb_kv_u32(b, "general.alignment", 16);
    if (WANT("llama.embedding_length"))
        gb_kv_u32(b, "llama.embedding_length", 4);
    if (WANT("llama.vocab_size"))
        gb_kv_u64(b, "llama.vocab_size", 6);
    gb_kv_u8(b, "test.u8", 200);
    gb_kv_i8(b, "test.i8", -100);
    gb_kv_u16(b, "test.u16", 60000);
    gb_kv_i16(b, "test.i16", -30000);
    gb_kv_i32(b, "test.i32", -2000000000);
    gb_kv_f32(b, "test.f32", 1.5f);
    gb_kv_bool(b, "test.bool", 1);
    gb_kv_i64(b, "test.i64", -5000000000LL);
    gb_kv_f64(b, "test.f64", 0.125);
    /* [[1, 2], ["x"]]: an array of arrays whose elements differ in type */
    gb_kv_array(b, "test.nested", GB_ARRAY, 2);
    gb_array(b, GB_I16, 2);
    gb_u16(b, 1);
    gb_u16(b, 2);
    gb_array(b, GB_STRING, 1);
    gb_string(b, "x");
    if (WANT("tokenizer.ggml.model"))
        gb_kv_string(b, "tokenizer.ggml.model", "gpt2");
    if (WANT("tokenizer.ggml.pre"))
        gb_kv_string(b, "tokenizer.ggml.pre", "gpt-2");
    if (WANT("tokenizer.ggml.tokens"))
        gb_kv_strings(b, "tokenizer.ggml.tokens", small_tokens, 6);
    if (WANT("tokenizer.ggml.scores"))
        gb_kv_f32s(b, "tokenizer.ggml.scores", small_scores, 6);
    if (WANT("tokenizer.ggml.token_type"))
        gb_kv_i32s(b, "tokenizer.ggml.token_type", small_types, 6);
    if (WANT("tokenizer.ggml.merges"))
        gb_kv_strings(b, "tokenizer.ggml.merges", small_merges, 2);
    if (WANT("tokenizer.ggml.eos_token_id"))
        gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 5);
    if (WANT("tokenizer.ggml.add_bos_token"))
        gb_kv_bool(b, "tokenizer.ggml.add_bos_token", 0);
#undef WANT
}

/* Two tensors: token_embd.weight ne=[4,6] F32 (96 bytes at 0) and output_norm.weight
   ne=[4] F16 (8 bytes at 96); the file ends exactly where the data does. */
static void small_tensors(struct gguf_build *b, size_t alignment)
{
    gb_tensor(b, "token_embd.weight", 2, (const uint64_t[]){4, 6}, GB_TYPE_F32, 0);
    gb_tensor(b, "output_norm.weight", 1, (const uint64_t[]){4}, GB_TYPE_F16, 96);
    gb_align(b, alignment);
    for (int i = 0; i < 24; i++)
        gb_f32(b, (float)i);
    for (int i = 0; i < 4; i++)
        gb_u16(b, 0x3C00); /* 1.0 in F16 */
}

static void build_small(struct gguf_build *b, uint32_t version)
{
    gb_init(b, version);
    small_metadata(b, NULL);
    small_tensors(b, 16);
}

/* Only the header and one key/value, then the tensors: for tensor-only cases. */
static void tensor_file_begin(struct gguf_build *b)
{
    gb_init(b, 3);
    gb_kv_string(b, "general.architecture", "llama");
}

static void check_small(const tv_model *m)
{
    assert_string_equal(tv_model_kind(m), "GGUF");
    /* metadata, every type */
    assert_int_equal(meta(m, "test.u8")->value.as.u, 200);
    assert_int_equal(meta(m, "test.i8")->value.as.i, -100);
    assert_int_equal(meta(m, "test.u16")->value.as.u, 60000);
    assert_int_equal(meta(m, "test.i16")->value.as.i, -30000);
    assert_int_equal(meta(m, "test.i32")->value.as.i, -2000000000);
    assert_true(meta(m, "test.f32")->value.as.f == 1.5);
    assert_int_equal(meta(m, "test.bool")->value.type, TV_VALUE_BOOL);
    assert_int_equal(meta(m, "test.bool")->value.as.u, 1);
    assert_int_equal(meta(m, "test.i64")->value.as.i, -5000000000LL);
    assert_true(meta(m, "test.f64")->value.as.f == 0.125);
    assert_int_equal(meta(m, "llama.vocab_size")->value.as.u, 6);
    assert_int_equal(meta(m, "general.alignment")->value.as.u, 16);
    assert_int_equal(meta(m, "test.u8")->origin, TV_ORIGIN_GGUF);
    assert_string_equal(meta(m, "test.u8")->file, NAME);
    const struct tv_value *nested = &meta(m, "test.nested")->value;
    assert_int_equal(nested->type, TV_VALUE_ARRAY);
    assert_int_equal(nested->as.arr.elem_type, TV_VALUE_ARRAY);
    assert_int_equal(nested->as.arr.n, 2);
    const struct tv_value *inner = nested->as.arr.data;
    assert_int_equal(inner[0].as.arr.elem_type, TV_VALUE_I16);
    int64_t x;
    assert_int_equal(tv_array_int(&inner[0].as.arr, 1, &x), 0);
    assert_int_equal(x, 2);
    assert_int_equal(inner[1].as.arr.elem_type, TV_VALUE_STRING);
    const struct tv_str *xs = inner[1].as.arr.data;
    assert_int_equal(xs[0].len, 1);
    assert_memory_equal(xs[0].ptr, "x", 1);

    /* vocabulary */
    assert_int_equal(tv_vocab_size(m), 6);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_BPE);
    const struct tv_vocab *v = tv_model_vocab(m);
    assert_true(v->byte_level);
    assert_false(v->byte_fallback);
    assert_string_equal(v->ggml_model, "gpt2");
    assert_string_equal(v->ggml_pre, "gpt-2");
    assert_string_equal(tv_vocab_origin(m), NAME);
    assert_int_equal(v->add_bos, 0);
    assert_int_equal(v->add_eos, -1);
    expect_token(m, 0, "a");
    expect_token(m, 5, "<eos>");
    assert_true(tv_vocab_token(m, 3)->score == -0.5f);
    assert_int_equal(tv_vocab_token(m, 5)->type, TV_TOKEN_CONTROL);
    assert_int_equal(tv_vocab_merge_count(m), 2);
    expect_merge(m, 0, "a", "b");
    expect_merge(m, 1, "ab", "c");
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 5);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), -1);

    /* claims */
    assert_int_equal(claim_value(m, TV_CLAIM_VOCAB_SIZE, "tokenizer.ggml.tokens"), 6);
    assert_int_equal(claim_value(m, TV_CLAIM_VOCAB_SIZE, "llama.vocab_size"), 6);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "llama.embedding_length"), 4);
    assert_int_equal(claim_value(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.eos_token_id"), 5);
    assert_int_equal(find_claim(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.eos_token_id")->special,
                     TV_SPECIAL_EOS);

    /* tensors: dims reversed to row-major, data pointing at the bytes */
    assert_int_equal(tv_model_tensor_count(m), 2);
    const struct tv_tensor *e = tv_model_tensor_find(m, "token_embd.weight");
    assert_non_null(e);
    assert_int_equal(e->dtype, TV_DTYPE_F32);
    assert_int_equal(e->n_dims, 2);
    assert_int_equal(e->shape[0], 6);
    assert_int_equal(e->shape[1], 4);
    assert_int_equal(e->n_bytes, 96);
    assert_int_equal(e->offset % 16, 0);
    float row[4];
    tv_error err = {0};
    assert_int_equal(tv_tensor_rows_f32(e, 2, 1, row, &err), 0);
    assert_true(row[0] == 8.0f && row[3] == 11.0f);
    const struct tv_tensor *norm = tv_model_tensor_find(m, "output_norm.weight");
    assert_int_equal(norm->dtype, TV_DTYPE_F16);
    assert_int_equal(norm->n_dims, 1);
    assert_int_equal(norm->shape[0], 4);
    assert_int_equal(norm->offset, e->offset + 96);
    assert_ptr_equal(tv_model_embedding(m), e);
    assert_int_equal(m->n_findings, 0);
}

/* ---- valid files ------------------------------------------------------------------ */

static void gguf_read_v3_file_gives_metadata_vocab_tensors_and_claims(void **state)
{
    (void)state;
    struct gguf_build b;
    build_small(&b, 3);
    tv_model *m = expect_ok(&b);
    check_small(m);
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_v2_and_v1_files_give_the_same_model(void **state)
{
    (void)state;
    for (uint32_t version = 1; version <= 2; version++) {
        struct gguf_build b;
        build_small(&b, version);
        tv_model *m = expect_ok(&b);
        check_small(m);
        tv_model_free(m);
        gb_release(&b);
    }
}

static void gguf_read_points_strings_and_arrays_into_the_blob(void **state)
{
    (void)state;
    struct gguf_build b;
    build_small(&b, 3);
    tv_model *m = expect_ok(&b);
    assert_int_equal(m->n_blobs, 1);
    const uint8_t *lo = m->blobs[0]->data, *hi = lo + m->blobs[0]->len;
    const struct tv_value *arch = &meta(m, "general.architecture")->value;
    assert_true((const uint8_t *)arch->as.str.ptr >= lo && (const uint8_t *)arch->as.str.ptr < hi);
    const struct tv_value *scores = &meta(m, "tokenizer.ggml.scores")->value;
    assert_true((const uint8_t *)scores->as.arr.data >= lo &&
                (const uint8_t *)scores->as.arr.data < hi);
    const struct tv_str *tokens = meta(m, "tokenizer.ggml.tokens")->value.as.arr.data;
    assert_true((const uint8_t *)tokens[4].ptr >= lo && (const uint8_t *)tokens[4].ptr < hi);
    const struct tv_tensor *e = tv_model_tensor_find(m, "token_embd.weight");
    assert_ptr_equal(e->data, lo + e->offset);
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_uses_default_alignment_32_without_the_key(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    small_metadata(&b, "general.alignment");
    small_tensors(&b, 32);
    tv_model *m = expect_ok(&b);
    const struct tv_tensor *e = tv_model_tensor_find(m, "token_embd.weight");
    assert_int_equal(e->offset % 32, 0);
    assert_int_equal(e->offset + 96 + 8, b.len);
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_without_tokens_builds_no_vocabulary(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    small_metadata(&b, "tokenizer.ggml.tokens");
    /* scores and types of no tokens are ignored; there is nothing to check them with */
    small_tensors(&b, 16);
    tv_model *m = expect_ok(&b);
    assert_null(tv_model_vocab(m));
    assert_int_equal(tv_vocab_size(m), 0);
    assert_null(find_claim(m, TV_CLAIM_VOCAB_SIZE, "tokenizer.ggml.tokens"));
    assert_int_equal(claim_value(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.eos_token_id"), 5);
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_maps_tokenizer_models_to_kinds(void **state)
{
    (void)state;
    static const struct {
        const char *model;
        enum tv_tokenizer_kind kind;
        bool byte_level, byte_fallback;
    } cases[] = {
        {"gpt2", TV_TOKENIZER_BPE, true, false},  {"llama", TV_TOKENIZER_BPE, false, true},
        {"bert", TV_TOKENIZER_WORDPIECE, false, false},
        {"t5", TV_TOKENIZER_UNIGRAM, false, false}, {"rwkv", TV_TOKENIZER_NONE, false, false},
        {"none", TV_TOKENIZER_NONE, false, false}, {"plamo2", TV_TOKENIZER_NONE, false, false},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct gguf_build b;
        gb_init(&b, 3);
        gb_kv_string(&b, "tokenizer.ggml.model", cases[i].model);
        gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
        tv_model *m = expect_ok(&b);
        const struct tv_vocab *v = tv_model_vocab(m);
        assert_string_equal(v->ggml_model, cases[i].model);
        assert_int_equal(v->kind, cases[i].kind);
        assert_int_equal(v->byte_level, cases[i].byte_level);
        assert_int_equal(v->byte_fallback, cases[i].byte_fallback);
        assert_null(v->ggml_pre);
        tv_model_free(m);
        gb_release(&b);
    }
}

static void gguf_read_takes_special_ids_of_any_integer_type_and_both_spellings(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
    gb_kv_i32(&b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u64(&b, "tokenizer.ggml.unknown_token_id", 2);
    gb_kv_u8(&b, "tokenizer.ggml.padding_token_id", 3);
    gb_kv_u32(&b, "tokenizer.ggml.separator_token_id", 4);
    gb_kv_u16(&b, "tokenizer.ggml.cls_token_id", 0);
    gb_kv_u32(&b, "tokenizer.ggml.mask_token_id", 0xFFFFFFFFu); /* llama.cpp: none */
    gb_kv_u32(&b, "tokenizer.ggml.eos_token_id", 99);          /* outside the vocabulary */
    gb_kv_bool(&b, "tokenizer.ggml.add_eos_token", 1);
    gb_kv_bool(&b, "tokenizer.ggml.add_space_prefix", 0);
    gb_kv_string(&b, "tokenizer.huggingface.json", "{\"model\": {}}");
    tv_model *m = expect_ok(&b);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), 3);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_SEP), 4);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_CLS), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_MASK), -1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), -1);
    assert_int_equal(claim_value(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.eos_token_id"), 99);
    assert_int_equal(claim_value(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.separator_token_id"), 4);
    assert_null(find_claim(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.mask_token_id"));
    const struct tv_vocab *v = tv_model_vocab(m);
    assert_int_equal(v->add_eos, 1);
    assert_int_equal(v->add_space_prefix, 0);
    assert_int_equal(v->add_bos, -1);
    const struct tv_value *json = &meta(m, "tokenizer.huggingface.json")->value;
    assert_int_equal(json->type, TV_VALUE_STRING);
    assert_int_equal(json->as.str.len, 13);
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_accepts_zero_sized_dims_and_nesting_at_the_depth_cap(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_kv_array(&b, "deep", GB_ARRAY, 1);
    for (int d = 2; d < TV_GGUF_MAX_ARRAY_DEPTH; d++)
        gb_array(&b, GB_ARRAY, 1);
    gb_array(&b, GB_U8, 1);
    gb_u8(&b, 7);
    /* ggml allows ne of 0: an empty tensor */
    gb_tensor(&b, "empty", 2, (const uint64_t[]){0, 5}, GB_TYPE_F32, 0);
    gb_tensor(&b, "scalar", 0, NULL, GB_TYPE_F32, 0);
    gb_align(&b, 32);
    gb_f32(&b, 1.0f);
    tv_model *m = expect_ok(&b);
    const struct tv_tensor *t = tv_model_tensor_find(m, "empty");
    assert_int_equal(t->n_elements, 0);
    assert_int_equal(t->shape[0], 5);
    assert_int_equal(t->shape[1], 0);
    assert_int_equal(tv_model_tensor_find(m, "scalar")->n_elements, 1);
    const struct tv_value *v = &meta(m, "deep")->value;
    for (int d = 1; d < TV_GGUF_MAX_ARRAY_DEPTH; d++) {
        assert_int_equal(v->as.arr.elem_type, TV_VALUE_ARRAY);
        v = v->as.arr.data;
    }
    int64_t x;
    assert_int_equal(tv_array_int(&v->as.arr, 0, &x), 0);
    assert_int_equal(x, 7);
    tv_model_free(m);
    gb_release(&b);
}

static bool has_check_finding(const tv_model *m, const char *check, const char *fragment)
{
    for (size_t i = 0; i < m->n_findings; i++)
        if (strcmp(m->findings[i].check, check) == 0 &&
            m->findings[i].severity == TV_SEVERITY_WARN && strstr(m->findings[i].message, fragment))
            return true;
    return false;
}

static bool has_finding(const tv_model *m, const char *fragment)
{
    return has_check_finding(m, "structure.gguf_offsets", fragment);
}

static void gguf_read_reports_gaps_and_overlaps_as_findings(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "a", 1, (const uint64_t[]){8}, GB_TYPE_F32, 0);   /* [0, 32) */
    gb_tensor(&b, "b", 1, (const uint64_t[]){16}, GB_TYPE_F32, 96); /* gap of 64 */
    gb_tensor(&b, "c", 1, (const uint64_t[]){8}, GB_TYPE_F32, 128); /* inside b */
    gb_align(&b, 32);
    gb_zeros(&b, 160);
    tv_model *m = expect_ok(&b);
    assert_int_equal(tv_model_tensor_count(m), 3);
    assert_true(has_finding(m, "gap of 64 bytes before tensor 'b'"));
    assert_true(has_finding(m, "tensor 'c' (data offset 128, 32 bytes) overlaps tensor 'b'"));
    assert_int_equal(m->n_findings, 2);
    tv_model_free(m);
    gb_release(&b);
}

/* ggml refuses tensor names of 64 bytes or more (GGML_MAX_NAME); tokvec reads them and warns. */
static void gguf_read_warns_on_names_ggml_refuses(void **state)
{
    (void)state;
    char name63[64], name64[65], name200[201];
    memset(name63, 'a', 63);
    name63[63] = '\0';
    memset(name64, 'b', 64);
    name64[64] = '\0';
    memset(name200, 'c', 200);
    name200[200] = '\0';
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, name63, 1, (const uint64_t[]){8}, GB_TYPE_F32, 0);
    gb_tensor(&b, name64, 1, (const uint64_t[]){8}, GB_TYPE_F32, 32);
    gb_tensor(&b, name200, 1, (const uint64_t[]){8}, GB_TYPE_F32, 64);
    gb_align(&b, 32);
    gb_zeros(&b, 96);
    tv_model *m = expect_ok(&b);
    assert_int_equal(tv_model_tensor_count(m), 3);
    assert_non_null(tv_model_tensor_find(m, name200));
    assert_true(has_check_finding(m, "structure.gguf_names", "tensor 1 'bbbb"));
    assert_true(has_check_finding(m, "structure.gguf_names", "a name of 64 bytes"));
    assert_true(has_check_finding(m, "structure.gguf_names", "a name of 200 bytes"));
    assert_false(has_check_finding(m, "structure.gguf_names", "aaaa"));
    assert_int_equal(m->n_findings, 2);
    tv_model_free(m);
    gb_release(&b);
}

/*
 * inspect reads headers only: the data section of this file lies in pages that
 * cannot be read at all, so touching a tensor byte would crash the test.
 */
static void gguf_read_never_touches_tensor_data(void **state)
{
    (void)state;
    struct gguf_build b;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    gb_init(&b, 3);
    small_metadata(&b, "general.alignment");
    gb_kv_u32(&b, "general.alignment", (uint32_t)page);
    gb_tensor(&b, "token_embd.weight", 2, (const uint64_t[]){4, 6}, GB_TYPE_F32, 0);
    gb_align(&b, page);
    assert_true(b.len <= page * 4);
    size_t header = b.len, map_len = header + 2 * page;
    uint8_t *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    memcpy(map, b.data, header);
    assert_int_equal(mprotect(map, header, PROT_READ), 0);
    assert_int_equal(mprotect(map + header, map_len - header, PROT_NONE), 0);

    tv_blob *blob = tv_calloc(1, sizeof *blob);
    blob->data = map;
    blob->len = map_len;
    blob->name = tv_strdup(NAME);
    blob->kind = TV_BLOB_MMAP;
    blob->base = map;
    blob->map_len = map_len;
    blob->refs = 1;
    tv_error err = {0};
    tv_model *m = tv_model_new_empty(NAME, NULL, &err);
    assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
    tv_blob_unref(blob);
    if (tv_format_gguf.read(m, blob, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(tv_model_pick_embedding(m, &err), 0);
    const struct tv_tensor *e = tv_model_embedding(m);
    assert_non_null(e);
    assert_int_equal(e->offset, header);
    assert_ptr_equal(e->data, map + header);
    tv_model_free(m); /* unmaps */
    gb_release(&b);
}

static void gguf_probe_claims_the_magic_only(void **state)
{
    (void)state;
    assert_int_equal(tv_format_gguf.probe((const uint8_t *)"GGUF\3\0\0\0", 8, "x"), 100);
    assert_int_equal(tv_format_gguf.probe((const uint8_t *)"GGU", 3, "x"), 0);
    assert_int_equal(tv_format_gguf.probe((const uint8_t *)"{\"a\":1}", 7, "x.gguf"), 0);
    assert_ptr_equal(tv_format_by_name("gguf"), &tv_format_gguf);
}

/* ---- hostile files, one rule each ------------------------------------------------- */

static void gguf_read_rejects_big_endian_and_unknown_versions(void **state)
{
    (void)state;
    struct gguf_build b;
    build_small(&b, 3);
    gb_patch(&b, 4, 4, 0x03000000u); /* version 3 written big-endian */
    expect_error(&b, "big-endian", "version", NULL);
    gb_patch(&b, 4, 4, 4);
    expect_error(&b, "unsupported GGUF version 4", NULL);
    gb_patch(&b, 4, 4, 0);
    expect_error(&b, "version 0", NULL);
    gb_patch(&b, 0, 4, 0x47475546u); /* "FUGG": the magic itself written big-endian */
    gb_patch(&b, 4, 4, 3);
    expect_error(&b, "big-endian", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_bad_alignment(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 3, 24, 0xFFFFFFFFu};
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        struct gguf_build b;
        gb_init(&b, 3);
        gb_kv_u32(&b, "general.alignment", bad[i]);
        char number[32];
        snprintf(number, sizeof number, "is %u: not a power of two", bad[i]);
        expect_error(&b, "general.alignment", number, NULL);
        gb_release(&b);
    }
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_u64(&b, "general.alignment", 32);
    expect_error(&b, "general.alignment", "u64; expected u32", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_ndims_over_max(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "five", 5, (const uint64_t[]){1, 1, 1, 1, 1}, GB_TYPE_F32, 0);
    gb_align(&b, 32);
    gb_zeros(&b, 32);
    expect_error(&b, "tensor 'five'", "5 dimensions", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_element_count_overflow(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "huge", 3, (const uint64_t[]){1ull << 32, 1ull << 30, 4}, GB_TYPE_F32, 0);
    expect_error(&b, "tensor 'huge'", "overflows at ne[2] = 4", NULL);
    gb_release(&b);
    tensor_file_begin(&b);
    gb_tensor(&b, "negative", 1, (const uint64_t[]){1ull << 63}, GB_TYPE_F32, 0);
    expect_error(&b, "tensor 'negative'", "ne[0] is 9223372036854775808", NULL);
    gb_release(&b);
    /* fits in 64 bits as elements but not as F32 bytes */
    tensor_file_begin(&b);
    gb_tensor(&b, "bytes", 2, (const uint64_t[]){1ull << 31, 1ull << 31}, GB_TYPE_F32, 0);
    expect_error(&b, "tensor 'bytes'", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_unknown_and_removed_tensor_types(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "w", 1, (const uint64_t[]){32}, 43, 0);
    expect_error(&b, "tensor 'w'", "unknown tensor type 43", NULL);
    gb_release(&b);
    tensor_file_begin(&b);
    gb_tensor(&b, "w", 1, (const uint64_t[]){32}, 31, 0);
    expect_error(&b, "tensor 'w'", "31 (Q4_0_4_4) was removed", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_rows_that_are_not_whole_blocks(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "q", 2, (const uint64_t[]){16, 2}, GB_TYPE_Q4_0, 0);
    gb_align(&b, 32);
    gb_zeros(&b, 64);
    expect_error(&b, "tensor 'q'", "16 elements", "Q4_0's block size 32", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_tensor_range_past_end_of_file(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "w", 2, (const uint64_t[]){4, 4}, GB_TYPE_F32, 32);
    gb_align(&b, 32);
    gb_zeros(&b, 64); /* data needs [32, 96) */
    char size[64];
    snprintf(size, sizeof size, "(%zu bytes;", b.len);
    expect_error(&b, "tensor 'w'", "offset 32 + 64 bytes runs past the end of the file", size,
                 NULL);
    gb_patch(&b, b.fields[b.n_fields - 1].offset, 8, UINT64_MAX - 31); /* offset + start wraps */
    expect_error(&b, "tensor 'w'", "runs past the end", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_misaligned_offsets(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    gb_tensor(&b, "w", 1, (const uint64_t[]){4}, GB_TYPE_F32, 4);
    gb_align(&b, 32);
    gb_zeros(&b, 64);
    expect_error(&b, "tensor 'w'", "data offset 4 is not a multiple of the alignment 32", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_duplicate_keys_and_tensor_names(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_u32(&b, "a.b", 1);
    gb_kv_string(&b, "c", "d");
    gb_kv_u32(&b, "a.b", 2);
    expect_error(&b, "key 'a.b'", "appears twice (key/values 0 and 2)", NULL);
    gb_release(&b);
    tensor_file_begin(&b);
    gb_tensor(&b, "w", 1, (const uint64_t[]){8}, GB_TYPE_F32, 0);
    gb_tensor(&b, "w", 1, (const uint64_t[]){8}, GB_TYPE_F32, 32);
    gb_align(&b, 32);
    gb_zeros(&b, 64);
    expect_error(&b, "tensor 'w' appears twice", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_too_deep_nesting(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_array(&b, "deep", GB_ARRAY, 1);
    for (int d = 2; d <= TV_GGUF_MAX_ARRAY_DEPTH; d++)
        gb_array(&b, GB_ARRAY, 1);
    gb_array(&b, GB_U8, 1);
    gb_u8(&b, 7);
    expect_error(&b, "key 'deep'", "nested more than 8 deep", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_bad_types_and_bools(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv(&b, "t", 13);
    gb_u32(&b, 0);
    expect_error(&b, "key 't'", "value type 13", NULL);
    gb_release(&b);
    gb_init(&b, 3);
    gb_kv_array(&b, "t", 13, 0);
    expect_error(&b, "key 't'", "array element type 13", NULL);
    gb_release(&b);
    gb_init(&b, 3);
    gb_kv_bool(&b, "flag", 2);
    expect_error(&b, "key 'flag'", "bool value 2", NULL);
    gb_release(&b);
    gb_init(&b, 3);
    gb_kv_array(&b, "flags", GB_BOOL, 3);
    gb_bytes(&b, "\1\0\5", 3);
    expect_error(&b, "key 'flags'", "bool element 2 is 5", NULL);
    gb_release(&b);
}

static void gguf_read_rejects_counts_larger_than_the_file(void **state)
{
    (void)state;
    static const uint64_t counts[] = {1ull << 31, 0xFFFFFFFFull, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < TV_ARRAY_SIZE(counts); i++) {
        struct gguf_build b;
        gb_init(&b, 3);
        gb_kv_array(&b, "tokenizer.ggml.tokens", GB_STRING, counts[i]);
        gb_string(&b, "a");
        expect_error(&b, "key 'tokenizer.ggml.tokens'", "array of", "string elements", NULL);
        gb_release(&b);
        gb_init(&b, 3);
        gb_kv_array(&b, "nested", GB_ARRAY, counts[i]);
        expect_error(&b, "key 'nested'", "array of", NULL);
        gb_release(&b);
        gb_init(&b, 3);
        gb_patch(&b, b.n_tensors_at, 8, counts[i]);
        expect_error(&b, "header", "tensors", NULL);
        gb_release(&b);
    }
}

static void gguf_read_honours_max_tensors(void **state)
{
    (void)state;
    struct gguf_build b;
    build_small(&b, 3);
    struct tv_open_options opt = {.max_tensors = 1};
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(b.data, b.len, NAME, &opt, &err);
    assert_null(m);
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "2 tensors (more than 1; raise the limit with --max-tensors)"));
    gb_release(&b);
}

/* Wrong element types in tokenizer arrays: llama.cpp once read tokens without
   checking them (an out-of-bounds read). */
static void gguf_read_rejects_wrong_types_in_tokenizer_keys(void **state)
{
    (void)state;
    static const uint32_t ids[] = {1, 2, 3, 4, 5, 6};
    static const float floats[] = {1, 2, 3, 4, 5, 6};
    static const struct {
        const char *key;
        const char *expect;
        int how; /* 0 u32 array, 1 string array, 2 f32 array, 3 string, 4 u32 */
    } cases[] = {
        {"tokenizer.ggml.tokens", "is array of u32; expected array of string", 0},
        {"tokenizer.ggml.tokens", "is string; expected array of string", 3},
        {"tokenizer.ggml.scores", "is array of string; expected array of f32", 1},
        {"tokenizer.ggml.scores", "is array of u32; expected array of f32", 0},
        {"tokenizer.ggml.token_type", "is array of f32; expected array of i32", 2},
        {"tokenizer.ggml.token_type", "is array of u32; expected array of i32", 0},
        {"tokenizer.ggml.merges", "is array of u32; expected array of string", 0},
        {"tokenizer.ggml.model", "is u32; expected string", 4},
        {"tokenizer.ggml.pre", "is array of string; expected string", 1},
        {"tokenizer.ggml.bos_token_id", "is string; expected an integer", 3},
        {"tokenizer.ggml.eos_token_id", "is f32; expected an integer", 5},
        {"tokenizer.ggml.add_bos_token", "is string; expected bool", 3},
        {"general.architecture", "is u32; expected string", 4},
        {"llama.embedding_length", "is string; expected an integer", 3},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct gguf_build b;
        gb_init(&b, 3);
        small_metadata(&b, cases[i].key);
        switch (cases[i].how) {
        case 0: gb_kv_u32s(&b, cases[i].key, ids, 6); break;
        case 1: gb_kv_strings(&b, cases[i].key, small_tokens, 6); break;
        case 2: gb_kv_f32s(&b, cases[i].key, floats, 6); break;
        case 3: gb_kv_string(&b, cases[i].key, "x"); break;
        case 4: gb_kv_u32(&b, cases[i].key, 1); break;
        case 5: gb_kv_f32(&b, cases[i].key, 1.0f); break;
        }
        small_tensors(&b, 16);
        char key[80];
        snprintf(key, sizeof key, "key '%s'", cases[i].key);
        expect_error(&b, key, cases[i].expect, NULL);
        gb_release(&b);
    }
}

static void gguf_read_rejects_inconsistent_tokenizer_arrays(void **state)
{
    (void)state;
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
    gb_kv_f32s(&b, "tokenizer.ggml.scores", small_scores, 5);
    expect_error(&b, "5 scores in 'tokenizer.ggml.scores' for 6 tokens", NULL);
    gb_release(&b);

    gb_init(&b, 3);
    gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
    gb_kv_i32s(&b, "tokenizer.ggml.token_type", small_types, 4);
    expect_error(&b, "4 token types in 'tokenizer.ggml.token_type' for 6 tokens", NULL);
    gb_release(&b);

    gb_init(&b, 3);
    gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
    gb_kv_i32s(&b, "tokenizer.ggml.token_type", (const int32_t[]){1, 1, 7, 1, 1, 1}, 6);
    expect_error(&b, "'tokenizer.ggml.token_type'", "token 2 has type 7", NULL);
    gb_release(&b);

    static const char *const bad_merges[] = {"ab", " a", "a ", "  "};
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad_merges); i++) {
        gb_init(&b, 3);
        gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
        gb_kv_strings(&b, "tokenizer.ggml.merges", (const char *const[]){"a b", bad_merges[i]}, 2);
        expect_error(&b, "'tokenizer.ggml.merges'", "merge 1", "not two parts", NULL);
        gb_release(&b);
    }
    /* the first space with bytes on both sides splits: " a b" is " a" + "b" */
    gb_init(&b, 3);
    gb_kv_strings(&b, "tokenizer.ggml.tokens", small_tokens, 6);
    gb_kv_strings(&b, "tokenizer.ggml.merges", (const char *const[]){" a b", "a  b"}, 2);
    tv_model *m = expect_ok(&b);
    expect_merge(m, 0, " a", "b");
    expect_merge(m, 1, "a", " b");
    tv_model_free(m);
    gb_release(&b);
}

static void gguf_read_rejects_overlong_tensor_names(void **state)
{
    (void)state;
    struct gguf_build b;
    tensor_file_begin(&b);
    char *name = malloc(TV_MAX_NAME + 2);
    memset(name, 'n', TV_MAX_NAME + 1);
    name[TV_MAX_NAME + 1] = '\0';
    gb_tensor(&b, name, 1, (const uint64_t[]){8}, GB_TYPE_F32, 0);
    gb_align(&b, 32);
    gb_zeros(&b, 32);
    expect_error(&b, "tensor info 0 of 1", "name of 65537 bytes", NULL);
    free(name);
    gb_release(&b);
}

/* ---- hostile files from a table: every field x every value that can go wrong ------ */

static const char *field_kind_name(enum gb_field_kind kind)
{
    static const char *const names[] = {"version", "count", "length", "type", "dim", "offset"};
    return names[kind];
}

static void patch_every_field(uint32_t version)
{
    struct gguf_build b;
    build_small(&b, version);
    size_t n_cases = 0, n_failed = 0;
    for (size_t f = 0; f < b.n_fields; f++) {
        const struct gb_field field = b.fields[f];
        uint64_t past_end = b.len - (field.offset + field.width) + 1;
        const uint64_t values[] = {0, 1, past_end, 1ull << 31, 0xFFFFFFFFull, 1ull << 63,
                                   UINT64_MAX};
        uint8_t saved[8];
        memcpy(saved, b.data + field.offset, field.width);
        for (size_t k = 0; k < TV_ARRAY_SIZE(values); k++) {
            uint64_t value = values[k];
            if (field.width == 4)
                value &= 0xFFFFFFFFull;
            gb_patch(&b, field.offset, field.width, value);
            tv_error err = {0};
            tv_model *m = read_build(&b, &err);
            n_cases++;
            bool must_fail = value >= (1ull << 31) || k == 2;
            if (m) {
                if (must_fail)
                    fail_msg("v%u %s %s of %s = %llu: read succeeded", version,
                             field_kind_name(field.kind), field.what, field.object,
                             (unsigned long long)value);
                tv_model_free(m);
            } else {
                n_failed++;
                if (strncmp(err.message, NAME ": ", strlen(NAME ": ")) != 0)
                    fail_msg("message does not name the file: %s", err.message);
                if (must_fail && !strstr(err.message, field.object))
                    fail_msg("v%u %s of %s = %llu: message does not name %s: %s", version,
                             field.what, field.object, (unsigned long long)value, field.object,
                             err.message);
            }
            memcpy(b.data + field.offset, saved, field.width);
        }
    }
    print_message("v%u: %zu fields, %zu patched files, %zu refused\n", version, b.n_fields,
                  n_cases, n_failed);
    assert_true(b.n_fields > 40);
    gb_release(&b);
}

static void gguf_read_survives_every_field_set_to_every_bad_value(void **state)
{
    (void)state;
    patch_every_field(3);
    patch_every_field(1);
}

static void gguf_read_rejects_truncation_at_every_byte(void **state)
{
    (void)state;
    for (uint32_t version = 1; version <= 3; version += 2) {
        struct gguf_build b;
        build_small(&b, version);
        for (size_t cut = 0; cut < b.len; cut++) {
            tv_error err = {0};
            tv_model *m = tv_model_read_memory(b.data, cut, NAME, NULL, &err);
            if (m)
                fail_msg("v%u cut at %zu of %zu: read succeeded", version, cut, b.len);
            if (!strstr(err.message, NAME))
                fail_msg("v%u cut at %zu: message does not name the file: %s", version, cut,
                         err.message);
        }
        gb_release(&b);
    }
}

/* ---- allocation failure ----------------------------------------------------------- */

static void gguf_read_fails_cleanly_when_allocation_fails(void **state)
{
    (void)state;
    struct gguf_build b;
    build_small(&b, 3);
    long n;
    for (n = 0; n < 10000; n++) {
        tv_error err = {0};
        failalloc_begin(n);
        tv_model *m = tv_model_read_memory(b.data, b.len, NAME, NULL, &err);
        failalloc_end();
        if (m) {
            check_small(m);
            tv_model_free(m);
            break;
        }
        if (err.code != TV_ERR_NOMEM)
            fail_msg("allocation %ld failed but the error is %s: %s", n,
                     tv_status_name(err.code), err.message);
    }
    print_message("read succeeds from %ld allocations on\n", n);
    assert_true(n > 5 && n < 10000);
    gb_release(&b);
}

/* ---- real files --------------------------------------------------------------------- */

static tv_model *open_real(const char *relative)
{
    const char *path = real_fixture(relative);
    tv_error err = {0};
    tv_model *m = tv_model_open(path, NULL, &err);
    if (!m)
        fail_msg("%s: %s", path, err.message);
    assert_string_equal(tv_model_kind(m), "GGUF");
    return m;
}

static const char *ggml_model(const tv_model *m)
{
    return tv_model_vocab(m)->ggml_model;
}

static void expect_pre(const tv_model *m, const char *pre)
{
    const char *got = tv_model_vocab(m)->ggml_pre;
    if (!pre)
        assert_null(got);
    else
        assert_string_equal(got, pre);
}

static void gguf_real_gpt2_vocab_has_50257_tokens_and_50000_merges(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/vocab/ggml-vocab-gpt-2.gguf");
    assert_int_equal(tv_vocab_size(m), 50257);
    assert_int_equal(tv_vocab_merge_count(m), 50000);
    assert_string_equal(ggml_model(m), "gpt2");
    expect_pre(m, "gpt-2");
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_BPE);
    assert_true(tv_model_vocab(m)->byte_level);
    expect_token(m, 50256, "<|endoftext|>");
    expect_token(m, 15496, "Hello");
    expect_merge(m, 0, "\xc4\xa0", "t"); /* "Ġ t" */
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 50256);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "gpt2.embedding_length"), 768);
    assert_int_equal(claim_value(m, TV_CLAIM_VOCAB_SIZE, "tokenizer.ggml.tokens"), 50257);
    assert_int_equal(tv_model_tensor_count(m), 0);
    assert_null(tv_model_embedding(m));
    tv_model_free(m);
}

static void gguf_real_llama_spm_vocab_has_32000_scored_typed_tokens(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/vocab/ggml-vocab-llama-spm.gguf");
    assert_int_equal(tv_vocab_size(m), 32000);
    assert_string_equal(ggml_model(m), "llama");
    assert_true(tv_model_vocab(m)->byte_fallback);
    expect_token(m, 0, "<unk>");
    expect_token(m, 1, "<s>");
    expect_token(m, 3, "<0x00>");
    assert_int_equal(tv_vocab_token(m, 0)->type, TV_TOKEN_UNKNOWN);
    assert_int_equal(tv_vocab_token(m, 1)->type, TV_TOKEN_CONTROL);
    assert_int_equal(tv_vocab_token(m, 3)->type, TV_TOKEN_BYTE);
    assert_int_equal(tv_vocab_token(m, 500)->type, TV_TOKEN_NORMAL);
    assert_true(tv_vocab_token(m, 500)->score < 0.0f);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 0);
    assert_int_equal(tv_model_vocab(m)->add_bos, 1);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "llama.embedding_length"), 4096);
    tv_model_free(m);
}

static void gguf_real_phi3_vocab_has_32064_tokens(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/vocab/ggml-vocab-phi-3.gguf");
    assert_int_equal(tv_vocab_size(m), 32064);
    assert_string_equal(ggml_model(m), "llama");
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "phi3.embedding_length"), 3072);
    tv_model_free(m);
}

static void gguf_real_bert_bge_vocab_is_wordpiece_with_phantom_spaces(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/vocab/ggml-vocab-bert-bge.gguf");
    assert_int_equal(tv_vocab_size(m), 30522);
    assert_string_equal(ggml_model(m), "bert");
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_WORDPIECE);
    assert_int_equal(tv_vocab_merge_count(m), 0);
    expect_token(m, 101, "[CLS]");
    expect_token(m, 102, "[SEP]");
    expect_token(m, 7592, "\xe2\x96\x81hello"); /* "▁hello": word-initial */
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_CLS), 101);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_SEP), 102); /* "seperator" */
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_MASK), 103);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 100);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "bert.embedding_length"), 384);
    tv_model_free(m);
}

static void gguf_real_byte_level_bpe_vocabs_have_their_merges(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t n_tokens, n_merges;
        const char *pre;
        const char *hidden_key;
        int64_t hidden;
    } cases[] = {
        {"gguf/vocab/ggml-vocab-falcon.gguf", 65024, 64784, "falcon", "falcon.embedding_length",
         4544},
        {"gguf/vocab/ggml-vocab-starcoder.gguf", 49152, 48872, "starcoder", NULL, 0},
        {"gguf/vocab/ggml-vocab-deepseek-llm.gguf", 102400, 99757, "deepseek-llm", NULL, 0},
        {"gguf/vocab/ggml-vocab-gpt-neox.gguf", 50432, 0, NULL, "gptneox.embedding_length", 6144},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = open_real(cases[i].file);
        assert_int_equal(tv_vocab_size(m), cases[i].n_tokens);
        if (cases[i].n_merges)
            assert_int_equal(tv_vocab_merge_count(m), cases[i].n_merges);
        else
            assert_true(tv_vocab_merge_count(m) > 50000);
        assert_string_equal(ggml_model(m), "gpt2");
        assert_true(tv_model_vocab(m)->byte_level);
        expect_pre(m, cases[i].pre);
        if (cases[i].hidden_key)
            assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, cases[i].hidden_key),
                             cases[i].hidden);
        tv_model_free(m);
    }
}

static void gguf_real_stories260k_embedding_is_512_by_64_f32(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/weights/stories260K.gguf");
    assert_int_equal(tv_model_tensor_count(m), 48);
    assert_int_equal(tv_vocab_size(m), 512);
    const struct tv_tensor *e = tv_model_embedding(m);
    assert_non_null(e);
    assert_string_equal(e->name, "token_embd.weight");
    assert_int_equal(e->dtype, TV_DTYPE_F32);
    assert_int_equal(e->n_dims, 2);
    assert_int_equal(e->shape[0], 512);
    assert_int_equal(e->shape[1], 64);
    assert_int_equal(e->n_bytes, 512 * 64 * 4);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "llama.embedding_length"), 64);
    /* stories260K writes 0xFFFFFFFF for "no padding token" */
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), -1);
    assert_null(find_claim(m, TV_CLAIM_SPECIAL_ID, "tokenizer.ggml.padding_token_id"));
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void gguf_real_llama2_tiny_embedding_is_32000_by_8_f16(void **state)
{
    (void)state;
    tv_model *m = open_real("gguf/weights/llama-2-tiny-random.gguf");
    assert_int_equal(tv_vocab_size(m), 32000);
    const struct tv_tensor *e = tv_model_embedding(m);
    assert_non_null(e);
    assert_string_equal(e->name, "token_embd.weight");
    assert_int_equal(e->dtype, TV_DTYPE_F16);
    assert_int_equal(e->shape[0], 32000);
    assert_int_equal(e->shape[1], 8);
    assert_int_equal(claim_value(m, TV_CLAIM_HIDDEN_DIM, "llama.embedding_length"), 8);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gguf_read_v3_file_gives_metadata_vocab_tensors_and_claims),
        cmocka_unit_test(gguf_read_v2_and_v1_files_give_the_same_model),
        cmocka_unit_test(gguf_read_points_strings_and_arrays_into_the_blob),
        cmocka_unit_test(gguf_read_uses_default_alignment_32_without_the_key),
        cmocka_unit_test(gguf_read_without_tokens_builds_no_vocabulary),
        cmocka_unit_test(gguf_read_maps_tokenizer_models_to_kinds),
        cmocka_unit_test(gguf_read_takes_special_ids_of_any_integer_type_and_both_spellings),
        cmocka_unit_test(gguf_read_accepts_zero_sized_dims_and_nesting_at_the_depth_cap),
        cmocka_unit_test(gguf_read_reports_gaps_and_overlaps_as_findings),
        cmocka_unit_test(gguf_read_warns_on_names_ggml_refuses),
        cmocka_unit_test(gguf_read_never_touches_tensor_data),
        cmocka_unit_test(gguf_probe_claims_the_magic_only),
        cmocka_unit_test(gguf_read_rejects_big_endian_and_unknown_versions),
        cmocka_unit_test(gguf_read_rejects_bad_alignment),
        cmocka_unit_test(gguf_read_rejects_ndims_over_max),
        cmocka_unit_test(gguf_read_rejects_element_count_overflow),
        cmocka_unit_test(gguf_read_rejects_unknown_and_removed_tensor_types),
        cmocka_unit_test(gguf_read_rejects_rows_that_are_not_whole_blocks),
        cmocka_unit_test(gguf_read_rejects_tensor_range_past_end_of_file),
        cmocka_unit_test(gguf_read_rejects_misaligned_offsets),
        cmocka_unit_test(gguf_read_rejects_duplicate_keys_and_tensor_names),
        cmocka_unit_test(gguf_read_rejects_too_deep_nesting),
        cmocka_unit_test(gguf_read_rejects_bad_types_and_bools),
        cmocka_unit_test(gguf_read_rejects_counts_larger_than_the_file),
        cmocka_unit_test(gguf_read_honours_max_tensors),
        cmocka_unit_test(gguf_read_rejects_wrong_types_in_tokenizer_keys),
        cmocka_unit_test(gguf_read_rejects_inconsistent_tokenizer_arrays),
        cmocka_unit_test(gguf_read_rejects_overlong_tensor_names),
        cmocka_unit_test(gguf_read_survives_every_field_set_to_every_bad_value),
        cmocka_unit_test(gguf_read_rejects_truncation_at_every_byte),
        cmocka_unit_test(gguf_read_fails_cleanly_when_allocation_fails),
        cmocka_unit_test(gguf_real_gpt2_vocab_has_50257_tokens_and_50000_merges),
        cmocka_unit_test(gguf_real_llama_spm_vocab_has_32000_scored_typed_tokens),
        cmocka_unit_test(gguf_real_phi3_vocab_has_32064_tokens),
        cmocka_unit_test(gguf_real_bert_bge_vocab_is_wordpiece_with_phantom_spaces),
        cmocka_unit_test(gguf_real_byte_level_bpe_vocabs_have_their_merges),
        cmocka_unit_test(gguf_real_stories260k_embedding_is_512_by_64_f32),
        cmocka_unit_test(gguf_real_llama2_tiny_embedding_is_32000_by_8_f16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
