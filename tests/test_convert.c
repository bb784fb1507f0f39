/* Writers and tokvec convert: round trips on every real fixture with a vocabulary or an
   embedding, dtype conversions against the kernels, the layouts of the reference
   writers, refusals that name what cannot be written, and failing writes (a full
   file-size limit, a missing folder) that leave nothing behind. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convert.h"
#include "gguf_build.h"
#include "st_build.h"
#include "testutil.h"
#include "vocab_export.h"

/* ---- helpers -------------------------------------------------------------------- */

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected \"%s\" in: %s", needle, haystack);
}

static tv_model *open_or_fail(const char *path)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, NULL, &err);
    if (!m)
        fail_msg("cannot open %s: %s", path, err.message);
    return m;
}

static tv_model *open_many_or_fail(const char *const *paths, size_t n)
{
    tv_error err = {0};
    tv_model *m = tv_model_open_many(paths, n, NULL, &err);
    if (!m)
        fail_msg("cannot open %s (+%zu): %s", paths[0], n - 1, err.message);
    return m;
}

static void write_or_fail(const tv_model *m, const char *path, const struct tv_write_options *opt)
{
    tv_error err = {0};
    if (tv_model_write(m, path, opt, &err) < 0)
        fail_msg("cannot write %s: %s", path, err.message);
}

static char *join(const char *dir, const char *name)
{
    char *p = tv_path_join(dir, name);
    assert_non_null(p);
    return p;
}

/* Number of entries in a folder (without . and ..); names the first one in *first. */
static int count_entries(const char *dir, char first[256])
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    if (first)
        first[0] = '\0';
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (first && !n)
            snprintf(first, 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void assert_file_text(const char *path, const char *text)
{
    size_t len;
    uint8_t *buf = read_file_or_fail(path, &len);
    if (len != strlen(text) || memcmp(buf, text, len) != 0)
        fail_msg("%s changed: now %zu bytes", path, len);
    tv_free(buf);
}

/* The tensor of out that tensor t of src became (the embedding may be renamed). */
static const struct tv_tensor *counterpart(const tv_model *src, const tv_model *out,
                                           const struct tv_tensor *t)
{
    if (t == tv_model_embedding(src)) {
        const struct tv_tensor *e = tv_model_embedding(out);
        if (!e)
            fail_msg("%s: the embedding '%s' was not found again", tv_model_path(out), t->name);
        return e;
    }
    const struct tv_tensor *o = tv_model_tensor_find(out, t->name);
    /* the output head is lm_head on the Hugging Face side, output in GGUF */
    static const char *const heads[][2] = {{"lm_head.weight", "output.weight"},
                                           {"lm_head.bias", "output.bias"}};
    for (size_t k = 0; !o && k < TV_ARRAY_SIZE(heads); k++)
        for (int side = 0; side < 2 && !o; side++)
            if (strcmp(t->name, heads[k][side]) == 0)
                o = tv_model_tensor_find(out, heads[k][!side]);
    if (!o)
        fail_msg("%s: tensor '%s' is missing", tv_model_path(out), t->name);
    return o;
}

static void assert_same_shape(const struct tv_tensor *a, const struct tv_tensor *b)
{
    assert_int_equal(a->n_dims, b->n_dims);
    for (uint32_t d = 0; d < a->n_dims; d++)
        if (a->shape[d] != b->shape[d])
            fail_msg("tensor '%s': dimension %u is %llu, was %llu", b->name, d,
                     (unsigned long long)b->shape[d], (unsigned long long)a->shape[d]);
}

/* Every tensor of src is in out with the same dtype, shape and bytes. */
static void assert_same_tensors(const tv_model *src, const tv_model *out)
{
    assert_int_equal(tv_model_tensor_count(out), tv_model_tensor_count(src));
    for (size_t i = 0; i < tv_model_tensor_count(src); i++) {
        const struct tv_tensor *t = tv_model_tensor(src, i);
        const struct tv_tensor *o = counterpart(src, out, t);
        if (o->dtype != t->dtype)
            fail_msg("tensor '%s': %s became %s", t->name, tv_dtype_name(t->dtype),
                     tv_dtype_name(o->dtype));
        assert_same_shape(t, o);
        assert_int_equal(o->n_bytes, t->n_bytes);
        if (t->n_bytes && memcmp(o->data, t->data, (size_t)t->n_bytes) != 0)
            fail_msg("tensor '%s': the bytes differ", t->name);
    }
}

enum { CMP_SCORES = 1, CMP_SPECIALS = 2, CMP_MERGES = 4, CMP_ALL = 7 };

/* Same tokens and types; scores, merges and special ids when asked. */
static void assert_vocab_equal(const tv_model *a, const tv_model *b, unsigned what)
{
    assert_int_equal(tv_vocab_size(b), tv_vocab_size(a));
    for (uint32_t id = 0; id < tv_vocab_size(a); id++) {
        const struct tv_token *x = tv_vocab_token(a, id), *y = tv_vocab_token(b, id);
        if ((x->text == NULL) != (y->text == NULL) || x->len != y->len ||
            (x->text && memcmp(x->text, y->text, x->len) != 0))
            fail_msg("token %u: '%.*s' became '%.*s'", id, (int)x->len, x->text ? x->text : "",
                     (int)y->len, y->text ? y->text : "");
        if ((what & CMP_SCORES) && x->score != y->score && !(isnan(x->score) && isnan(y->score)))
            fail_msg("token %u: score %g became %g", id, x->score, y->score);
        if (x->type != y->type)
            fail_msg("token %u ('%.*s'): type %s became %s", id, (int)x->len, x->text,
                     tv_token_type_name(x->type), tv_token_type_name(y->type));
    }
    if (!(what & CMP_MERGES))
        goto specials;
    assert_int_equal(tv_vocab_merge_count(b), tv_vocab_merge_count(a));
    for (size_t r = 0; r < tv_vocab_merge_count(a); r++) {
        const char *l1, *r1, *l2, *r2;
        size_t ll1, rl1, ll2, rl2;
        tv_vocab_merge(a, r, &l1, &ll1, &r1, &rl1);
        tv_vocab_merge(b, r, &l2, &ll2, &r2, &rl2);
        if (ll1 != ll2 || rl1 != rl2 || memcmp(l1, l2, ll1) || memcmp(r1, r2, rl1))
            fail_msg("merge %zu differs", r);
    }
specials:
    for (int s = 0; (what & CMP_SPECIALS) && s < TV_SPECIAL_COUNT; s++)
        if (tv_vocab_special(a, s) != tv_vocab_special(b, s))
            fail_msg("special %s: %lld became %lld", tv_special_name(s),
                     (long long)tv_vocab_special(a, s), (long long)tv_vocab_special(b, s));
}

static void assert_same_vocab(const tv_model *a, const tv_model *b)
{
    assert_vocab_equal(a, b, CMP_ALL);
}

/* b (read from a GGUF written from a) holds exactly the GGUF view of a's vocabulary:
   llama.cpp's token forms and types, which differ from a tokenizer.json's. */
static void assert_vocab_is_ggml_view(const tv_model *a, const tv_model *b)
{
    struct tv_ggml_vocab v;
    tv_error err = {0};
    if (tv_ggml_vocab_from_model(a, &v, &err) < 0)
        fail_msg("%s: %s", tv_model_path(a), err.message);
    assert_int_equal(tv_vocab_size(b), v.n_tokens);
    for (uint32_t id = 0; id < v.n_tokens; id++) {
        const struct tv_token *y = tv_vocab_token(b, id);
        if (y->len != v.tokens[id].len || memcmp(y->text, v.tokens[id].ptr, y->len) != 0)
            fail_msg("token %u differs from the GGUF view", id);
        if (y->type != (v.types ? v.types[id] : TV_TOKEN_NORMAL))
            fail_msg("token %u: type %s, the GGUF view says %d", id,
                     tv_token_type_name(y->type), v.types[id]);
        if (y->score != (v.scores ? v.scores[id] : 0.0f))
            fail_msg("token %u: score %g, the GGUF view says %g", id, y->score, v.scores[id]);
    }
    assert_int_equal(tv_vocab_merge_count(b), v.n_merges);
    for (size_t r = 0; r < v.n_merges; r++) {
        const char *l, *rr;
        size_t ll, rl;
        tv_vocab_merge(b, r, &l, &ll, &rr, &rl);
        if (ll + 1 + rl != v.merges[r].len || memcmp(l, v.merges[r].ptr, ll) ||
            memcmp(rr, v.merges[r].ptr + ll + 1, rl))
            fail_msg("merge %zu differs from the GGUF view", r);
    }
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        if (tv_vocab_special(b, s) != v.special[s])
            fail_msg("special %s: %lld, the GGUF view says %lld", tv_special_name(s),
                     (long long)tv_vocab_special(b, s), (long long)v.special[s]);
    tv_ggml_vocab_release(&v);
}

static void assert_write_refused(const tv_model *m, const char *dir, const char *name,
                                 const struct tv_write_options *opt, const char *needle);

/* ---- GGUF round trips ------------------------------------------------------------ */

static const char *const real_ggufs[] = {
    "gguf/weights/stories260K.gguf",       "gguf/weights/llama-2-tiny-random.gguf",
    "gguf/vocab/ggml-vocab-gpt-2.gguf",    "gguf/vocab/ggml-vocab-llama-spm.gguf",
    "gguf/vocab/ggml-vocab-phi-3.gguf",    "gguf/vocab/ggml-vocab-bert-bge.gguf",
    "gguf/vocab/ggml-vocab-falcon.gguf",   "gguf/vocab/ggml-vocab-starcoder.gguf",
    "gguf/vocab/ggml-vocab-deepseek-llm.gguf", "gguf/vocab/ggml-vocab-gpt-neox.gguf",
};

/* Every GGUF key/value of a that the writer does not rewrite is in b, unchanged. */
static void assert_gguf_metadata_carried(const tv_model *a, const tv_model *b)
{
    for (size_t i = 0; i < tv_model_meta_count(a); i++) {
        const struct tv_meta *x = tv_model_meta(a, i);
        if (x->origin != TV_ORIGIN_GGUF || strcmp(x->key, "general.alignment") == 0)
            continue;
        const struct tv_meta *y = tv_model_meta_find_origin(b, TV_ORIGIN_GGUF, x->key);
        if (!y)
            fail_msg("key '%s' was dropped", x->key);
        if (x->value.type != y->value.type)
            fail_msg("key '%s': type %s became %s", x->key, tv_value_type_name(x->value.type),
                     tv_value_type_name(y->value.type));
        if (x->value.type == TV_VALUE_STRING) {
            if (x->value.as.str.len != y->value.as.str.len ||
                memcmp(x->value.as.str.ptr, y->value.as.str.ptr, x->value.as.str.len))
                fail_msg("key '%s': the string changed", x->key);
        } else if (x->value.type == TV_VALUE_ARRAY) {
            assert_int_equal(x->value.as.arr.elem_type, y->value.as.arr.elem_type);
            if (x->value.as.arr.n != y->value.as.arr.n)
                fail_msg("key '%s': %llu elements became %llu", x->key,
                         (unsigned long long)x->value.as.arr.n,
                         (unsigned long long)y->value.as.arr.n);
            size_t size = tv_value_type_size(x->value.as.arr.elem_type);
            if (size && memcmp(x->value.as.arr.data, y->value.as.arr.data,
                               (size_t)x->value.as.arr.n * size))
                fail_msg("key '%s': the elements changed", x->key);
        } else if (memcmp(&x->value.as, &y->value.as, sizeof x->value.as) != 0) {
            fail_msg("key '%s': the value changed", x->key);
        }
    }
}

static void gguf_writer_round_trips_every_real_gguf(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "out.gguf");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_ggufs); i++) {
        tv_model *a = open_or_fail(real_fixture(real_ggufs[i]));
        write_or_fail(a, out, &opt);
        tv_model *b = open_or_fail(out);
        assert_same_vocab(a, b);
        assert_same_tensors(a, b);
        assert_gguf_metadata_carried(a, b);
        /* the written file is clean: no gaps, overlaps or other findings */
        if (b->n_findings)
            fail_msg("%s: finding %s: %s", real_ggufs[i], b->findings[0].check,
                     b->findings[0].message);
        tv_model_free(a);
        tv_model_free(b);
    }
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* The data section follows ggml's rules: offsets back to back after padding every
   tensor to 32 bytes (the last one too), dimensions innermost first. */
static void gguf_writer_lays_out_data_the_way_ggml_reads_it(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "m.gguf");
    /* no vocabulary: a safetensors file with odd sizes */
    const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3,5],\"data_offsets\":[0,60]},"
                         "\"b\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[60,74]},"
                         "\"c\":{\"dtype\":\"I8\",\"shape\":[2,1,3],\"data_offsets\":[74,80]}}";
    size_t len;
    uint8_t *file = st_build(header, 80, &len);
    st_write_file(dir, "in.safetensors", file, len);
    free(file);
    char *in = join(dir, "in.safetensors");
    tv_model *a = open_or_fail(in);
    write_or_fail(a, out, NULL);
    size_t n;
    uint8_t *bytes = read_file_or_fail(out, &n);
    tv_model *b = open_or_fail(out);
    assert_int_equal(tv_model_tensor_count(b), 3);
    const struct tv_tensor *t0 = tv_model_tensor(b, 0), *t1 = tv_model_tensor(b, 1),
                           *t2 = tv_model_tensor(b, 2);
    assert_string_equal(t0->name, "a");
    assert_int_equal(t0->offset % 32, 0);
    assert_int_equal(t1->offset, t0->offset + 64);  /* 60 padded to 64 */
    assert_int_equal(t2->offset, t1->offset + 32);  /* 14 padded to 32 */
    assert_int_equal(n, t2->offset + 32);           /* the last tensor padded too */
    /* ne[] innermost first: "a" is [3, 5] row-major, so ne = 5, 3 */
    assert_int_equal(t0->shape[0], 3);
    assert_int_equal(t0->shape[1], 5);
    assert_int_equal(b->n_findings, 0);
    assert_null(tv_model_meta_find(b, "general.alignment"));
    assert_same_tensors(a, b);
    /* version 3, 3 tensors */
    assert_memory_equal(bytes, "GGUF\3\0\0\0\3\0\0\0\0\0\0\0", 16);
    /* padding bytes are zero */
    for (uint64_t k = t0->offset + 60; k < t1->offset; k++)
        assert_int_equal(bytes[k], 0);
    tv_free(bytes);
    tv_model_free(a);
    tv_model_free(b);
    tv_free(in);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- safetensors round trips ---------------------------------------------------------- */

static const char *const real_safetensors[] = {
    "safetensors/hf-safetensors-samples/overall.safetensors",
    "safetensors/hf-safetensors-samples/B.safetensors",
    "safetensors/hf-safetensors-samples/H.safetensors",
    "safetensors/hf-safetensors-samples/I.safetensors",
    "safetensors/hf-safetensors-samples/b.safetensors",
    "safetensors/hf-safetensors-samples/d.safetensors",
    "safetensors/hf-safetensors-samples/e.safetensors",
    "safetensors/hf-safetensors-samples/f.safetensors",
    "safetensors/hf-safetensors-samples/h.safetensors",
    "safetensors/hf-safetensors-samples/i.safetensors",
    "safetensors/mnist-tinygrad/model.safetensors",
    "safetensors/coffeevampir3-mlp/model.safetensors",
    "safetensors/tiny-llm-cicd-gpt2-vocab50257/model.safetensors",
    "safetensors/model2vec-test-model-float16/model.safetensors",
    "safetensors/model2vec-test-model-int8/model.safetensors",
    "safetensors/model2vec-test-model-vocab-quantized/model.safetensors",
    "safetensors/ollama-minicpm3-testdata/model.safetensors",
};

static void safetensors_writer_round_trips_every_real_file_bit_for_bit(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "out.safetensors");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_safetensors); i++) {
        tv_model *a = open_or_fail(real_fixture(real_safetensors[i]));
        write_or_fail(a, out, &opt);
        tv_model *b = open_or_fail(out);
        assert_same_tensors(a, b);
        /* string metadata is carried, "format" is "pt" */
        for (size_t k = 0; k < tv_model_meta_count(a); k++) {
            const struct tv_meta *x = tv_model_meta(a, k);
            if (x->origin != TV_ORIGIN_SAFETENSORS || strcmp(x->key, "format") == 0)
                continue;
            const struct tv_meta *y = tv_model_meta_find(b, x->key);
            assert_non_null(y);
            assert_int_equal(y->value.as.str.len, x->value.as.str.len);
            assert_memory_equal(y->value.as.str.ptr, x->value.as.str.ptr, x->value.as.str.len);
        }
        const struct tv_meta *format = tv_model_meta_find(b, "format");
        assert_non_null(format);
        assert_int_equal(format->value.as.str.len, 2);
        assert_memory_equal(format->value.as.str.ptr, "pt", 2);
        assert_int_equal(b->n_findings, 0); /* data 8-aligned, offsets tile the buffer */
        tv_model_free(a);
        tv_model_free(b);
    }
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* The reference sorts by dtype alignment (largest first), then by name, and pads the
   compact JSON header with spaces to a multiple of 8. */
static void safetensors_writer_orders_and_pads_like_the_reference(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    const char *header =
        "{\"__metadata__\":{\"z\":\"last\",\"a\":\"q\\\"\\n\\u0001\"},"
        "\"u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
        "\"b_f32\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[3,11]},"
        "\"a_f32\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[11,15]},"
        "\"i64\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[15,23]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[2,0],\"data_offsets\":[23,23]}}";
    size_t len;
    uint8_t *file = st_build(header, 23, &len);
    st_write_file(dir, "in.safetensors", file, len);
    free(file);
    char *in = join(dir, "in.safetensors"), *out = join(dir, "out.safetensors");
    tv_model *a = open_or_fail(in);
    write_or_fail(a, out, NULL);
    size_t n;
    uint8_t *bytes = read_file_or_fail(out, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    assert_int_equal(hlen % 8, 0);
    const char *expected =
        "{\"__metadata__\":{\"format\":\"pt\",\"a\":\"q\\\"\\n\\u0001\",\"z\":\"last\"},"
        "\"i64\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
        "\"a_f32\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
        "\"b_f32\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[12,20]},"
        "\"h\":{\"dtype\":\"F16\",\"shape\":[2,0],\"data_offsets\":[20,20]},"
        "\"u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[20,23]}}";
    size_t elen = strlen(expected);
    assert_true(hlen >= elen && hlen - elen < 8);
    assert_memory_equal(bytes + 8, expected, elen);
    for (uint64_t k = elen; k < hlen; k++)
        assert_int_equal(bytes[8 + k], ' ');
    assert_int_equal(n, 8 + hlen + 23);
    tv_model *b = open_or_fail(out);
    assert_same_tensors(a, b);
    tv_free(bytes);
    tv_model_free(a);
    tv_model_free(b);
    tv_free(in);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- llama.cpp names and Hugging Face names ----------------------------------------------------- */

/* The Hugging Face name of a llama GGUF tensor, spelled out here on its own (the library's
   table is not consulted). */
static void llama_hf_name(const char *gguf, char *out, size_t cap)
{
    static const char *const top[][2] = {{"token_embd.weight", "model.embed_tokens.weight"},
                                         {"output_norm.weight", "model.norm.weight"},
                                         {"output.weight", "lm_head.weight"}};
    static const char *const block[][2] = {
        {"attn_norm", "input_layernorm"},   {"attn_q", "self_attn.q_proj"},
        {"attn_k", "self_attn.k_proj"},     {"attn_v", "self_attn.v_proj"},
        {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
        {"ffn_gate", "mlp.gate_proj"},      {"ffn_up", "mlp.up_proj"},
        {"ffn_down", "mlp.down_proj"},
    };
    for (size_t k = 0; k < TV_ARRAY_SIZE(top); k++)
        if (strcmp(gguf, top[k][0]) == 0) {
            snprintf(out, cap, "%s", top[k][1]);
            return;
        }
    unsigned n;
    char part[64];
    int used = 0;
    if (sscanf(gguf, "blk.%u.%63[a-z_].weight%n", &n, part, &used) == 2 && gguf[used] == '\0')
        for (size_t k = 0; k < TV_ARRAY_SIZE(block); k++)
            if (strcmp(part, block[k][0]) == 0) {
                snprintf(out, cap, "model.layers.%u.%s.weight", n, block[k][1]);
                return;
            }
    fail_msg("no Hugging Face name for '%s'", gguf);
}

/*
 * hf is gguf with its rows regrouped as llama.cpp's converter regroups them, undone:
 * convert_hf_to_gguf.py's LlamaModel.permute reshapes the rows to (heads, 2, half) and
 * swaps the last two axes, so GGUF row h*head + 2*i + j holds Hugging Face row
 * h*head + j*half + i.
 */
static void assert_unpermuted(const struct tv_tensor *gguf, const struct tv_tensor *hf,
                              uint64_t heads)
{
    assert_same_shape(gguf, hf);
    uint64_t rows = gguf->shape[0], head = rows / heads, half = head / 2;
    size_t row_bytes = (size_t)(hf->n_bytes / rows);
    assert_int_equal(row_bytes * rows, gguf->n_bytes);
    for (uint64_t h = 0; h < heads; h++)
        for (uint64_t i = 0; i < half; i++)
            for (uint64_t j = 0; j < 2; j++) {
                const uint8_t *g = gguf->data + (h * head + 2 * i + j) * row_bytes;
                const uint8_t *f = hf->data + (h * head + j * half + i) * row_bytes;
                if (memcmp(g, f, row_bytes) != 0)
                    fail_msg("%s: row %llu is not GGUF row %llu of %s", hf->name,
                             (unsigned long long)(h * head + j * half + i),
                             (unsigned long long)(h * head + 2 * i + j), gguf->name);
            }
}

static uint64_t meta_u32(const tv_model *m, const char *key)
{
    const struct tv_meta *meta = tv_model_meta_find(m, key);
    if (!meta)
        fail_msg("%s: no key '%s'", tv_model_path(m), key);
    if (meta->value.type != TV_VALUE_U32)
        fail_msg("%s: key '%s' is %s, llama.cpp reads u32", tv_model_path(m), key,
                 tv_value_type_name(meta->value.type));
    return meta->value.as.u;
}

/* ---- folders -------------------------------------------------------------------------- */

static void stories260k_to_folder_and_back_keeps_48_tensors_bit_for_bit(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *folder = join(dir, "exported"), *back = join(dir, "back.gguf");
    tv_model *a = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    write_or_fail(a, folder, NULL);
    char *config = join(folder, "config.json"), *tok = join(folder, "tokenizer.json"),
         *weights = join(folder, "model.safetensors");
    assert_int_equal(tv_path_kind(config), 0);
    assert_int_equal(tv_path_kind(tok), 0);
    assert_int_equal(tv_path_kind(weights), 0);
    assert_int_equal(count_entries(folder, NULL), 4); /* + tokenizer_config.json */
    assert_int_equal(count_entries(dir, NULL), 1); /* no temporary folder left */

    tv_model *f = open_or_fail(folder);
    assert_int_equal(tv_model_tensor_count(f), 48);
    assert_non_null(tv_model_tensor_find(f, "model.embed_tokens.weight"));
    /* Hugging Face names (transformers can load the folder), the same bytes except the q
       and k rows, which are in Hugging Face's order again (8 heads for q, 4 for k) */
    for (size_t i = 0; i < tv_model_tensor_count(a); i++) {
        const struct tv_tensor *t = tv_model_tensor(a, i);
        char name[256];
        llama_hf_name(t->name, name, sizeof name);
        const struct tv_tensor *o = tv_model_tensor_find(f, name);
        if (!o)
            fail_msg("%s: no tensor '%s' for '%s'", folder, name, t->name);
        assert_int_equal(o->dtype, t->dtype);
        if (strstr(t->name, ".attn_q.") || strstr(t->name, ".attn_k.")) {
            assert_unpermuted(t, o, strstr(t->name, ".attn_q.") ? 8 : 4);
            assert_true(memcmp(o->data, t->data, (size_t)t->n_bytes) != 0);
        } else {
            assert_same_shape(t, o);
            assert_memory_equal(o->data, t->data, (size_t)t->n_bytes);
        }
    }
    {
        /* rows of blk.0's q_proj by hand: head 0 is GGUF rows 0..7, half 4: HF row 1
           (j 0, i 1) is GGUF row 2, HF row 4 (j 1, i 0) is GGUF row 1; HF row 13 (head 1,
           j 1, i 1) is GGUF row 8 + 3 = 11. k_proj: 4 heads of 8 rows, the same pattern. */
        const struct tv_tensor *q = tv_model_tensor_find(a, "blk.0.attn_q.weight");
        const struct tv_tensor *hq = tv_model_tensor_find(f, "model.layers.0.self_attn.q_proj.weight");
        const struct tv_tensor *k = tv_model_tensor_find(a, "blk.0.attn_k.weight");
        const struct tv_tensor *hk = tv_model_tensor_find(f, "model.layers.0.self_attn.k_proj.weight");
        static const unsigned pairs[][2] = {{0, 0}, {1, 2}, {2, 4}, {3, 6}, {4, 1}, {5, 3},
                                            {7, 7}, {13, 11}, {31, 31}, {28, 25}};
        for (size_t n = 0; n < TV_ARRAY_SIZE(pairs); n++) {
            assert_memory_equal(hq->data + pairs[n][0] * 256, q->data + pairs[n][1] * 256, 256);
            assert_memory_equal(hk->data + pairs[n][0] * 256, k->data + pairs[n][1] * 256, 256);
        }
    }
    for (size_t i = 0; i < tv_model_tensor_count(f); i++)
        if (strncmp(tv_model_tensor(f, i)->name, "blk.", 4) == 0)
            fail_msg("%s: tensor '%s' kept its GGUF name", folder, tv_model_tensor(f, i)->name);
    /* A SentencePiece-style vocabulary becomes a BPE tokenizer.json: merges are derived
       from the scores and scores from the merge ranks on the way back, so only tokens,
       types and (through config.json) special ids are compared. */
    assert_vocab_equal(a, f, CMP_SPECIALS);
    /* config.json says what the model is */
    size_t len;
    uint8_t *text = read_file_or_fail(config, &len);
    cJSON *doc = cJSON_Parse((const char *)text);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(doc, "vocab_size")->valueint, 512);
    assert_int_equal(cJSON_GetObjectItem(doc, "hidden_size")->valueint, 64);
    assert_string_equal(cJSON_GetObjectItem(doc, "model_type")->valuestring, "llama");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "architectures"), 0)
                            ->valuestring, "LlamaForCausalLM");
    assert_true(cJSON_IsBool(cJSON_GetObjectItem(doc, "tie_word_embeddings")));
    cJSON_Delete(doc);
    tv_free(text);
    char *tok_config = join(folder, "tokenizer_config.json");
    text = read_file_or_fail(tok_config, &len);
    doc = cJSON_Parse((const char *)text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "bos_token")->valuestring, "<s>");
    assert_string_equal(cJSON_GetObjectItem(doc, "eos_token")->valuestring, "</s>");
    cJSON_Delete(doc);
    tv_free(text);
    tv_free(tok_config);

    write_or_fail(f, back, NULL);
    tv_model *b = open_or_fail(back);
    assert_int_equal(tv_model_tensor_count(b), 48);
    assert_same_tensors(a, b); /* llama.cpp's names again, q and k permuted back: bit for bit */
    assert_vocab_equal(a, b, CMP_SPECIALS);
    assert_vocab_is_ggml_view(f, b);
    /* the numbers llama.cpp's loader needs, typed as it reads them, from config.json */
    static const char *const numbers[] = {
        "llama.context_length", "llama.block_count", "llama.feed_forward_length",
        "llama.attention.head_count", "llama.attention.head_count_kv",
        "llama.rope.dimension_count", "llama.embedding_length"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(numbers); i++)
        assert_int_equal(meta_u32(b, numbers[i]), meta_u32(a, numbers[i]));
    const struct tv_meta *eps = tv_model_meta_find(b, "llama.attention.layer_norm_rms_epsilon");
    assert_non_null(eps);
    assert_int_equal(eps->value.type, TV_VALUE_F32);
    assert_true(eps->value.as.f ==
                tv_model_meta_find(a, "llama.attention.layer_norm_rms_epsilon")->value.as.f);
    tv_model_free(a);
    tv_model_free(f);
    tv_model_free(b);
    tv_free(config);
    tv_free(tok);
    tv_free(weights);
    tv_free(folder);
    tv_free(back);
    remove_tree(dir);
    tv_free(dir);
}

/* The permutation with a dtype change on either side: F16 q/k rows decoded to F32 in Hugging
   Face order, and F16 again in GGUF order; a folder converted to BF16 on its way to GGUF gives
   the bytes that converting the original GGUF gives (stories260K's 172-wide rows rule out
   Q8_0 for the whole model). */
static void llama_permutation_goes_with_dtype_conversions(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *folder = join(dir, "f"), *back = join(dir, "back.gguf"), *q1 = join(dir, "q1.gguf"),
         *q2 = join(dir, "q2.gguf"), *sfolder = join(dir, "s");
    tv_model *a = open_or_fail(real_fixture("gguf/weights/llama-2-tiny-random.gguf"));
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.dtype = TV_DTYPE_F32;
    write_or_fail(a, folder, &opt);
    tv_model *f = open_or_fail(folder);
    const struct tv_tensor *q = tv_model_tensor_find(a, "blk.0.attn_q.weight");
    const struct tv_tensor *hq = tv_model_tensor_find(f, "model.layers.0.self_attn.q_proj.weight");
    assert_non_null(hq);
    assert_int_equal(hq->dtype, TV_DTYPE_F32);
    float expect[8 * 8];
    tv_error err = {0};
    assert_int_equal(tv_tensor_rows_f32(q, 0, 8, expect, &err), 0);
    /* 2 heads of 4 rows: HF rows 0 1 2 3 are GGUF rows 0 2 1 3 */
    static const unsigned from[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (unsigned r = 0; r < 8; r++)
        assert_memory_equal(hq->data + r * 32, expect + from[r] * 8, 32);
    opt.dtype = TV_DTYPE_F16;
    write_or_fail(f, back, &opt);
    tv_model *b = open_or_fail(back);
    assert_same_tensors(a, b);

    tv_model *s = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    write_or_fail(s, sfolder, NULL);
    tv_model *sf = open_or_fail(sfolder);
    opt.dtype = TV_DTYPE_BF16;
    write_or_fail(s, q1, &opt);
    write_or_fail(sf, q2, &opt);
    tv_model *m1 = open_or_fail(q1), *m2 = open_or_fail(q2);
    assert_same_tensors(m1, m2);
    assert_int_equal(tv_model_tensor_find(m2, "blk.3.attn_k.weight")->dtype, TV_DTYPE_BF16);
    tv_model_free(m1);
    tv_model_free(m2);
    tv_model_free(sf);
    tv_model_free(s);
    tv_model_free(b);
    tv_model_free(f);
    tv_model_free(a);
    tv_free(folder);
    tv_free(back);
    tv_free(q1);
    tv_free(q2);
    tv_free(sfolder);
    remove_tree(dir);
    tv_free(dir);
}

/* A small GGUF of F32 tensors (rows x cols each, values 0, 1, 2, ...) with some keys. */
static tv_model *small_weights_gguf(const char *arch, const char *const *names, size_t n,
                                    const uint64_t (*shapes)[2], const char *heads_key,
                                    uint32_t heads)
{
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_string(&b, "general.architecture", arch);
    if (heads_key)
        gb_kv_u32(&b, heads_key, heads);
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t ne[2] = {shapes[i][1], shapes[i][0]};
        gb_tensor(&b, names[i], 2, ne, GB_TYPE_F32, offset);
        offset += (shapes[i][0] * shapes[i][1] * 4 + 31) / 32 * 32;
    }
    gb_align(&b, 32);
    float value = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t count = shapes[i][0] * shapes[i][1];
        for (uint64_t k = 0; k < count; k++)
            gb_f32(&b, value++);
        gb_zeros(&b, (size_t)((count * 4 + 31) / 32 * 32 - count * 4));
    }
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(b.data, b.len, "small.gguf", NULL, &err);
    if (!m)
        fail_msg("small.gguf: %s", err.message);
    gb_release(&b);
    return m;
}

/* Rows of whole Q8_0 blocks: a llama GGUF -> folder -> GGUF quantized on the way gives the
   bytes quantizing the GGUF directly gives (the same rows, each back in its place). */
static void llama_permutation_streams_whole_q8_0_blocks(void **state)
{
    (void)state;
    static const char *const names[] = {"token_embd.weight", "blk.0.attn_q.weight",
                                        "blk.0.attn_k.weight"};
    static const uint64_t shapes[][2] = {{6, 64}, {64, 64}, {32, 64}};
    tv_model *a = small_weights_gguf("llama", names, 3, shapes, "llama.attention.head_count", 4);
    char *dir = make_temp_dir();
    char *folder = join(dir, "f"), *q1 = join(dir, "q1.gguf"), *q2 = join(dir, "q2.gguf");
    write_or_fail(a, folder, NULL);
    tv_model *f = open_or_fail(folder);
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.dtype = TV_DTYPE_Q8_0;
    write_or_fail(a, q1, &opt);
    write_or_fail(f, q2, &opt);
    tv_model *m1 = open_or_fail(q1), *m2 = open_or_fail(q2);
    assert_same_tensors(m1, m2);
    assert_int_equal(tv_model_tensor_find(m2, "blk.0.attn_q.weight")->dtype, TV_DTYPE_Q8_0);
    tv_model_free(m1);
    tv_model_free(m2);
    tv_model_free(f);
    tv_model_free(a);
    tv_free(folder);
    tv_free(q1);
    tv_free(q2);
    remove_tree(dir);
    tv_free(dir);
}

/* Other architectures keep their tensor names, except the embedding and the output head
   (llama.cpp's "output", lm_head in a Hugging Face checkpoint of GPT-2). */
static void other_architectures_rename_the_embedding_and_the_output_head_only(void **state)
{
    (void)state;
    static const char *const names[] = {"token_embd.weight", "output.weight", "blk.0.attn_qkv.weight",
                                        "blk.0.attn_q.weight"};
    static const uint64_t shapes[][2] = {{6, 4}, {6, 4}, {12, 4}, {4, 4}};
    tv_model *a = small_weights_gguf("gpt2", names, 4, shapes, NULL, 0);
    char *dir = make_temp_dir();
    char *folder = join(dir, "f"), *back = join(dir, "back.gguf");
    write_or_fail(a, folder, NULL);
    tv_model *f = open_or_fail(folder);
    static const char *const hf[] = {"transformer.wte.weight", "lm_head.weight",
                                     "blk.0.attn_qkv.weight", "blk.0.attn_q.weight"};
    for (size_t i = 0; i < 4; i++) {
        const struct tv_tensor *o = tv_model_tensor_find(f, hf[i]);
        if (!o)
            fail_msg("no '%s' in the folder", hf[i]);
        assert_memory_equal(o->data, tv_model_tensor(a, i)->data, (size_t)o->n_bytes);
    }
    write_or_fail(f, back, NULL);
    tv_model *b = open_or_fail(back);
    for (size_t i = 0; i < 4; i++) {
        const struct tv_tensor *o = tv_model_tensor_find(b, names[i]);
        if (!o)
            fail_msg("no '%s' back in GGUF", names[i]);
        assert_memory_equal(o->data, tv_model_tensor(a, i)->data, (size_t)o->n_bytes);
    }
    tv_model_free(b);
    tv_model_free(f);
    tv_model_free(a);
    tv_free(folder);
    tv_free(back);
    remove_tree(dir);
    tv_free(dir);
}

/* The permutation needs the head counts and rows that split into them; without either the
   output is refused by name rather than written in the wrong order. */
static void llama_permutation_without_head_counts_is_refused(void **state)
{
    (void)state;
    static const char *const names[] = {"token_embd.weight", "blk.0.attn_q.weight"};
    static const uint64_t shapes[][2] = {{6, 4}, {4, 4}};
    char *dir = make_temp_dir();
    tv_model *none = small_weights_gguf("llama", names, 2, shapes, NULL, 0);
    assert_write_refused(none, dir, "f", NULL, "the source does not say how many heads there "
                         "are (llama.attention.head_count)");
    tv_model *three = small_weights_gguf("llama", names, 2, shapes, "llama.attention.head_count", 3);
    assert_write_refused(three, dir, "f", NULL, "tensor 'blk.0.attn_q.weight': 4 rows do not "
                         "split into 3 attention heads");
    tv_model *two = small_weights_gguf("llama", names, 2, shapes, "llama.attention.head_count", 2);
    char *folder = join(dir, "f"), *config = join(dir, "f/config.json");
    write_or_fail(two, folder, NULL);
    /* a Hugging Face llama folder whose config.json does not say num_attention_heads */
    write_text(config, "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 4}");
    tv_model *f = open_or_fail(folder);
    assert_write_refused(f, dir, "x.gguf", NULL, "(num_attention_heads in config.json)");
    tv_model_free(f);
    tv_model_free(two);
    tv_model_free(three);
    tv_model_free(none);
    tv_free(folder);
    tv_free(config);
    remove_tree(dir);
    tv_free(dir);
}

static const char *const real_folders[] = {
    "safetensors/tiny-llm-cicd-gpt2-vocab50257",
    "safetensors/tiny-llm-cicd-gpt2-vocab100",
    "safetensors/model2vec-test-model-float32",
    "safetensors/model2vec-test-model-float16",
    "safetensors/model2vec-test-model-int8",
    "safetensors/model2vec-test-model-vocab-quantized",
    "safetensors/ollama-minicpm3-testdata",
};

static void folder_writer_round_trips_every_real_folder(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "out"), *gguf = join(dir, "out.gguf");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    opt.allow_lossy = 1; /* two of them have tokenizer parts GGUF cannot hold (tested below) */
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_folders); i++) {
        tv_model *a = open_or_fail(real_fixture(real_folders[i]));
        write_or_fail(a, out, &opt);
        tv_model *b = open_or_fail(out);
        assert_same_vocab(a, b);
        assert_same_tensors(a, b);
        /* and through GGUF, where an output head is llama.cpp's "output" */
        write_or_fail(a, gguf, &opt);
        tv_model *c = open_or_fail(gguf);
        assert_vocab_is_ggml_view(a, c);
        assert_same_tensors(a, c);
        if (tv_model_tensor_find(a, "lm_head.weight"))
            assert_non_null(tv_model_tensor_find(c, "output.weight"));
        tv_model_free(a);
        tv_model_free(b);
        tv_model_free(c);
        assert_int_equal(count_entries(dir, NULL), 2);
    }
    tv_free(out);
    tv_free(gguf);
    remove_tree(dir);
    tv_free(dir);
}

static void folder_writer_shards_like_hugging_face(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "sharded");
    /* no vocabulary needed: the tensors of stories260K without its tokenizer */
    tv_model *a = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    tv_model *st = NULL;
    {
        char *file = join(dir, "w.safetensors");
        write_or_fail(a, file, NULL);
        st = open_or_fail(file);
        tv_free(file);
    }
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.max_shard_size = 300000; /* 1.17 MB of tensors: 4 or 5 shards */
    write_or_fail(st, out, &opt);
    char *index = join(out, "model.safetensors.index.json");
    size_t len;
    uint8_t *text = read_file_or_fail(index, &len);
    cJSON *doc = cJSON_Parse((const char *)text);
    assert_non_null(doc);
    const cJSON *total = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "metadata"), "total_size");
    assert_int_equal((uint64_t)total->valuedouble, 1171200);
    const cJSON *wm = cJSON_GetObjectItem(doc, "weight_map");
    assert_int_equal(cJSON_GetArraySize(wm), 48);
    const char *prev = "";
    int max_shard = 0;
    for (const cJSON *e = wm->child; e; e = e->next) {
        assert_true(strcmp(prev, e->string) < 0); /* sorted by name */
        prev = e->string;
        int k, n;
        assert_int_equal(sscanf(e->valuestring, "model-%05d-of-%05d.safetensors", &k, &n), 2);
        max_shard = n;
    }
    assert_true(max_shard >= 4);
    for (int k = 1; k <= max_shard; k++) {
        char name[64];
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k, max_shard);
        char *shard = join(out, name);
        struct stat sb;
        assert_int_equal(stat(shard, &sb), 0);
        assert_true((uint64_t)sb.st_size < 300000 + 8192); /* tensors + header */
        tv_free(shard);
    }
    assert_int_equal(count_entries(out, NULL), max_shard + 2); /* + index + config.json */
    tv_model *b = open_or_fail(out);
    assert_same_tensors(st, b);
    assert_int_equal(b->n_findings, 0);
    cJSON_Delete(doc);
    tv_free(text);
    tv_free(index);
    tv_model_free(a);
    tv_model_free(st);
    tv_model_free(b);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* Vocabulary-only fixtures: GGUF holds their GGUF view, tokenizer.json and folders give
   the same tokens and types back (a tokenizer.json source byte for byte). */
static const char *const real_vocab_files[] = {
    "tokenizers/gpt2/tokenizer.json",
    "tokenizers/llama3/tokenizer.json",
    "tokenizers/llama2/tokenizer.json",
    "pytorch/tinypellm/tokenizer.json",
    "tokenizers/bert-base-uncased/vocab.txt",
    "tokenizers/bert-base-cased/vocab.txt",
    "tokenizers/sentencepiece-torchtext/spm_example.model",
    "tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model",
    "llama2c/llama-tokenizer.model",
};

static void vocabulary_files_round_trip_through_gguf_tokenizer_json_and_folders(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *gguf = join(dir, "v.gguf"), *tok = join(dir, "tokenizer.json"), *folder = join(dir, "f");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_vocab_files); i++) {
        const char *src = real_fixture(real_vocab_files[i]);
        bool is_json = strstr(src, "tokenizer.json") != NULL;
        tv_model *a = open_or_fail(src);
        write_or_fail(a, gguf, &opt);
        tv_model *g = open_or_fail(gguf);
        assert_vocab_is_ggml_view(a, g);
        write_or_fail(a, tok, &opt);
        tv_model *t = open_or_fail(tok);
        assert_vocab_equal(a, t, is_json ? CMP_ALL : 0);
        if (is_json) { /* written back unchanged */
            size_t n1, n2;
            uint8_t *x = read_file_or_fail(src, &n1), *y = read_file_or_fail(tok, &n2);
            assert_int_equal(n1, n2);
            assert_memory_equal(x, y, n1);
            tv_free(x);
            tv_free(y);
        }
        write_or_fail(a, folder, &opt);
        tv_model *f = open_or_fail(folder);
        assert_vocab_equal(a, f, is_json ? CMP_ALL : CMP_SPECIALS);
        assert_int_equal(tv_model_tensor_count(f), 0);
        tv_model_free(a);
        tv_model_free(g);
        tv_model_free(t);
        tv_model_free(f);
    }
    tv_free(gguf);
    tv_free(tok);
    tv_free(folder);
    remove_tree(dir);
    tv_free(dir);
}

/* Word vectors: the matrix goes to safetensors bit for bit; a folder holds the words as a
   WordLevel tokenizer.json and reads back (and out again as word vectors) to the same words
   and vectors; a plain word list has no GGUF tokenizer model, which is refused by name
   rather than dropped. */
static void word_vectors_write_their_matrix_and_refuse_a_gguf_tokenizer(void **state)
{
    (void)state;
    static const char *const files[] = {
        "wordvec/gensim-toy-model.vec", "wordvec/torchtext-glove.6B.50d.txt",
        "wordvec/gensim-euclidean_vectors.bin", "wordvec/word2vec-npm-hamlet-vectors.txt",
    };
    char *dir = make_temp_dir();
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    char *st = join(dir, "w.safetensors"), *folder = join(dir, "f"), *vec = join(dir, "w.vec");
    for (size_t i = 0; i < TV_ARRAY_SIZE(files); i++) {
        tv_model *a = open_or_fail(real_fixture(files[i]));
        assert_non_null(tv_model_embedding(a));
        write_or_fail(a, st, &opt);
        tv_model *b = open_or_fail(st);
        assert_same_tensors(a, b);
        assert_write_refused(a, dir, "w.gguf", &opt,
                             "is a plain word list, which GGUF cannot hold");
        assert_write_refused(a, dir, "w.gguf", &opt, "write .safetensors, .npy, word vectors");

        write_or_fail(a, folder, &opt);
        char *config = join(folder, "config.json");
        size_t len;
        uint8_t *text = read_file_or_fail(config, &len);
        cJSON *doc = cJSON_Parse((const char *)text);
        assert_non_null(doc);
        const struct tv_tensor *emb = tv_model_embedding(a);
        assert_int_equal(cJSON_GetObjectItem(doc, "vocab_size")->valuedouble, emb->shape[0]);
        assert_int_equal(cJSON_GetObjectItem(doc, "hidden_size")->valuedouble, emb->shape[1]);
        cJSON_Delete(doc);
        tv_free(text);
        tv_free(config);
        tv_model *f = open_or_fail(folder);
        assert_int_equal(tv_vocab_kind(f), TV_TOKENIZER_WORDLEVEL);
        assert_vocab_equal(a, f, CMP_ALL);
        assert_same_tensors(a, f);
        assert_string_equal(tv_model_embedding(f)->name, "embeddings");
        write_or_fail(f, vec, &opt);
        tv_model *w = open_or_fail(vec);
        assert_vocab_equal(a, w, CMP_ALL);
        assert_same_tensors(a, w);
        tv_model_free(w);
        tv_model_free(f);
        tv_model_free(a);
        tv_model_free(b);
    }
    assert_int_equal(count_entries(dir, NULL), 3);
    tv_free(st);
    tv_free(folder);
    tv_free(vec);
    remove_tree(dir);
    tv_free(dir);
}

static void gguf_to_tokenizer_json_to_gguf_keeps_the_vocabulary_arrays(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *tok = join(dir, "tokenizer.json"), *back = join(dir, "back.gguf");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_ggufs); i++) {
        tv_model *a = open_or_fail(real_fixture(real_ggufs[i]));
        write_or_fail(a, tok, &opt);
        tv_model *t = open_or_fail(tok);
        write_or_fail(t, back, &opt);
        tv_model *b = open_or_fail(back);
        struct tv_ggml_vocab va, vb;
        tv_error err = {0};
        assert_int_equal(tv_ggml_vocab_from_model(a, &va, &err), 0);
        assert_int_equal(tv_ggml_vocab_from_model(b, &vb, &err), 0);
        assert_string_equal(va.model, vb.model);
        assert_int_equal(va.n_tokens, vb.n_tokens);
        for (size_t k = 0; k < va.n_tokens; k++) {
            if (va.tokens[k].len != vb.tokens[k].len ||
                memcmp(va.tokens[k].ptr, vb.tokens[k].ptr, va.tokens[k].len))
                fail_msg("%s: token %zu differs", real_ggufs[i], k);
            /* a tokenizer.json has one unknown token (its model's unk_token): others
               typed unknown come back normal (phi-3 has 53) */
            bool extra_unknown = va.types && va.types[k] == TV_TOKEN_UNKNOWN &&
                                 (int64_t)k != va.special[TV_SPECIAL_UNK];
            if (va.types && vb.types && va.types[k] != vb.types[k] && !extra_unknown)
                fail_msg("%s: token %zu: type %d became %d", real_ggufs[i], k, va.types[k],
                         vb.types[k]);
            /* scores survive a tokenizer.json only in a Unigram model; a BPE one has
               none (the export derives them from the merge ranks) */
            if (strcmp(va.model, "t5") == 0 && va.scores && vb.scores &&
                va.scores[k] != vb.scores[k])
                fail_msg("%s: token %zu: score %g became %g", real_ggufs[i], k, va.scores[k],
                         vb.scores[k]);
        }
        assert_int_equal(va.n_merges, vb.n_merges);
        for (size_t k = 0; k < va.n_merges; k++)
            if (va.merges[k].len != vb.merges[k].len ||
                memcmp(va.merges[k].ptr, vb.merges[k].ptr, va.merges[k].len))
                fail_msg("%s: merge %zu differs", real_ggufs[i], k);
        /* special ids: a lone tokenizer.json names few (eos lives in
           tokenizer_config.json); the folder test checks them through config.json */
        tv_ggml_vocab_release(&va);
        tv_ggml_vocab_release(&vb);
        tv_model_free(a);
        tv_model_free(t);
        tv_model_free(b);
    }
    tv_free(tok);
    tv_free(back);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- dtypes ------------------------------------------------------------------------------- */

/* Output tensor o holds exactly what the kernels make of t, and decodes close to t. */
static void assert_converted(const struct tv_tensor *t, const struct tv_tensor *o,
                             enum tv_dtype want)
{
    tv_error err = {0};
    assert_int_equal(o->dtype, want);
    assert_same_shape(t, o);
    uint8_t *expect = tv_malloc((size_t)o->n_bytes + 1);
    float *x = tv_malloc((size_t)t->n_elements * sizeof *x + 4);
    float *y = tv_malloc((size_t)t->n_elements * sizeof *y + 4);
    assert_true(expect && x && y);
    assert_int_equal(tv_dtype_convert(t->dtype, t->data, want, expect, t->n_elements, NULL, 0,
                                      &err), 0);
    if (memcmp(expect, o->data, (size_t)o->n_bytes) != 0)
        fail_msg("tensor '%s': bytes differ from the %s kernel's", t->name, tv_dtype_name(want));
    assert_int_equal(tv_dtype_to_f32(t->dtype, t->data, t->n_elements, x, &err), 0);
    assert_int_equal(tv_dtype_to_f32(o->dtype, o->data, o->n_elements, y, &err), 0);
    uint32_t block = tv_dtype_info(want)->block_size;
    for (uint64_t b0 = 0; b0 < t->n_elements; b0 += block) {
        float amax = 0;
        for (uint32_t k = 0; k < block; k++)
            amax = fmaxf(amax, fabsf(x[b0 + k]));
        for (uint32_t k = 0; k < block; k++) {
            float v = x[b0 + k], tol;
            switch (want) {
            case TV_DTYPE_F16: tol = fabsf(v) * 0x1p-11f + 0x1p-25f; break;
            case TV_DTYPE_BF16: tol = fabsf(v) * 0x1p-8f + 0x1p-133f; break;
            case TV_DTYPE_Q8_0: tol = amax / 127.0f; break;
            case TV_DTYPE_Q4_0: tol = amax / 7.0f; break;
            default: tol = 0; break;
            }
            if (!(fabsf(y[b0 + k] - v) <= tol))
                fail_msg("tensor '%s' element %llu: %g became %g (%s, tolerance %g)", t->name,
                         (unsigned long long)(b0 + k), v, y[b0 + k], tv_dtype_name(want), tol);
        }
    }
    tv_free(expect);
    tv_free(x);
    tv_free(y);
}

/* A safetensors file of F32 matrices (rows of 64), a 1-D F32 and an I32 tensor, with
   values from a small generator: [-1, 1) with a few larger ones. */
static char *make_mixed_model(const char *dir)
{
    const char *header =
        "{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[6,64],\"data_offsets\":[0,1536]},"
        "\"b.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,64],\"data_offsets\":[1536,3072]},"
        "\"norm.weight\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[3072,3328]},"
        "\"ids\":{\"dtype\":\"I32\",\"shape\":[2,32],\"data_offsets\":[3328,3584]}}";
    size_t len;
    uint8_t *file = st_build(header, 3584, &len);
    uint8_t *data = file + (len - 3584);
    uint32_t state = 12345;
    for (size_t i = 0; i < 3328 / 4; i++) {
        state = state * 1664525u + 1013904223u;
        float f = (float)(int32_t)state / 2147483648.0f;
        if (i % 97 == 0)
            f *= 40.0f;
        memcpy(data + 4 * i, &f, 4);
    }
    st_write_file(dir, "mixed.safetensors", file, len);
    free(file);
    return join(dir, "mixed.safetensors");
}

static void gguf_dtype_option_converts_matrices_and_keeps_1d_tensors(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *in = make_mixed_model(dir), *out = join(dir, "out.gguf");
    tv_model *a = open_or_fail(in);
    static const enum tv_dtype targets[] = {TV_DTYPE_F32, TV_DTYPE_F16, TV_DTYPE_BF16,
                                            TV_DTYPE_Q8_0, TV_DTYPE_Q4_0};
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(targets); i++) {
        opt.dtype = (int)targets[i];
        write_or_fail(a, out, &opt);
        tv_model *b = open_or_fail(out);
        assert_int_equal(tv_model_tensor_count(b), 4);
        for (size_t k = 0; k < tv_model_tensor_count(a); k++) {
            const struct tv_tensor *t = tv_model_tensor(a, k);
            const struct tv_tensor *o = counterpart(a, b, t);
            if (t->n_dims < 2 || t->dtype == TV_DTYPE_I32) {
                assert_int_equal(o->dtype, t->dtype);
                assert_memory_equal(o->data, t->data, t->n_bytes);
            } else {
                assert_converted(t, o, targets[i]);
            }
        }
        const struct tv_meta *ft = tv_model_meta_find(b, "general.file_type");
        assert_non_null(ft);
        assert_int_equal(ft->value.as.u, (uint64_t)tv_gguf_file_type(targets[i]));
        const struct tv_meta *qv = tv_model_meta_find(b, "general.quantization_version");
        if (tv_dtype_info(targets[i])->flags & TV_DTYPE_QUANT)
            assert_true(qv && qv->value.as.u == 2);
        else
            assert_null(qv);
        tv_model_free(b);
    }
    /* real data: stories260K's embedding in every dtype; its ffn_down rows (172) are
       not whole Q8_0 blocks, which is refused by name */
    tv_model *s = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    opt.only_embedding = 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(targets); i++) {
        opt.dtype = (int)targets[i];
        write_or_fail(s, out, &opt);
        tv_model *b = open_or_fail(out);
        assert_int_equal(tv_model_tensor_count(b), 1);
        assert_converted(tv_model_embedding(s), tv_model_embedding(b), targets[i]);
        assert_same_vocab(s, b);
        tv_model_free(b);
    }
    opt.only_embedding = 0;
    opt.dtype = TV_DTYPE_Q8_0;
    tv_error err = {0};
    assert_int_equal(tv_model_write(s, out, &opt, &err), -1);
    assert_contains(err.message, "tensor 'blk.0.ffn_down.weight': rows of 172 elements are not "
                                 "a multiple of Q8_0's block size 32");
    tv_model_free(s);
    tv_model_free(a);
    tv_free(in);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

static void quantized_gguf_to_safetensors_decodes_to_f32_unless_told(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *in = make_mixed_model(dir), *q = join(dir, "q.gguf"), *st = join(dir, "q.safetensors");
    tv_model *a = open_or_fail(in);
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.dtype = TV_DTYPE_Q4_0;
    write_or_fail(a, q, &opt);
    tv_model *qm = open_or_fail(q);
    write_or_fail(qm, st, NULL); /* keep: Q4_0 cannot go to safetensors, so F32 */
    tv_model *b = open_or_fail(st);
    for (size_t k = 0; k < tv_model_tensor_count(qm); k++) {
        const struct tv_tensor *t = tv_model_tensor(qm, k);
        const struct tv_tensor *o = counterpart(qm, b, t);
        if (t->dtype == TV_DTYPE_Q4_0)
            assert_converted(t, o, TV_DTYPE_F32);
        else
            assert_int_equal(o->dtype, t->dtype);
    }
    tv_model_free(b);
    opt.dtype = TV_DTYPE_BF16;
    opt.force = 1;
    write_or_fail(qm, st, &opt);
    b = open_or_fail(st);
    for (size_t k = 0; k < tv_model_tensor_count(qm); k++) {
        const struct tv_tensor *t = tv_model_tensor(qm, k);
        const struct tv_tensor *o = counterpart(qm, b, t);
        if (t->dtype == TV_DTYPE_Q4_0)
            assert_converted(t, o, TV_DTYPE_BF16);
    }
    tv_model_free(b);
    tv_model_free(qm);
    tv_model_free(a);
    tv_free(q);
    tv_free(st);
    tv_free(in);
    remove_tree(dir);
    tv_free(dir);
}

static void only_embedding_writes_the_embedding_under_its_conventional_name(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "emb.safetensors");
    tv_model *a = open_or_fail(real_fixture("gguf/weights/llama-2-tiny-random.gguf"));
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.only_embedding = 1;
    opt.dtype = TV_DTYPE_F32;
    write_or_fail(a, out, &opt);
    tv_model *b = open_or_fail(out);
    assert_int_equal(tv_model_tensor_count(b), 1);
    const struct tv_tensor *o = tv_model_tensor_find(b, "model.embed_tokens.weight");
    assert_non_null(o);
    assert_converted(tv_model_embedding(a), o, TV_DTYPE_F32);
    assert_int_equal(o->shape[0], 32000);
    assert_int_equal(o->shape[1], 8);
    tv_model_free(a);
    tv_model_free(b);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- refusals ----------------------------------------------------------------------------- */

/* Writes m to dir/name (format from the name) expecting failure with a message holding
   needle; then dir holds exactly what it held before. */
static void assert_write_refused(const tv_model *m, const char *dir, const char *name,
                                 const struct tv_write_options *opt, const char *needle)
{
    char *out = join(dir, name);
    int before = count_entries(dir, NULL);
    tv_error err = {0};
    if (tv_model_write(m, out, opt, &err) == 0)
        fail_msg("writing %s succeeded; expected an error with \"%s\"", name, needle);
    assert_contains(err.message, needle);
    assert_int_equal(count_entries(dir, NULL), before);
    tv_free(out);
}

static void writers_refuse_what_the_target_cannot_hold_and_leave_nothing(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    struct tv_write_options opt;
    tv_write_options_init(&opt);

    /* U8 has no GGUF type */
    tv_model *u8 = open_or_fail(real_fixture("safetensors/hf-safetensors-samples/B.safetensors"));
    assert_write_refused(u8, dir, "u8.gguf", NULL, "is U8, a dtype GGUF cannot hold");

    /* names over 63 bytes */
    char header[512];
    char name[80];
    memset(name, 'n', 64);
    name[64] = '\0';
    snprintf(header, sizeof header,
             "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", name);
    size_t len;
    uint8_t *file = st_build(header, 8, &len);
    tv_error err = {0};
    tv_model *longname = tv_model_read_memory(file, len, "long.safetensors", NULL, &err);
    free(file);
    assert_non_null(longname);
    assert_write_refused(longname, dir, "long.gguf", NULL, "name of 64 bytes; GGUF (ggml) allows at most 63");

    /* a block size that does not divide the rows */
    tv_model *m2v = open_or_fail(real_fixture("safetensors/model2vec-test-model-float32/model.safetensors"));
    opt.dtype = TV_DTYPE_Q8_0;
    assert_write_refused(m2v, dir, "q.gguf", &opt,
                         "tensor 'embeddings': rows of 2 elements are not a multiple of Q8_0's block size 32");
    /* safetensors holds no Q8_0 */
    assert_write_refused(m2v, dir, "q.safetensors", &opt, "safetensors cannot hold Q8_0");

    /* a non-string safetensors metadata value */
    tv_model *meta = tv_model_read_memory("{}      ", 8, "m.safetensors", NULL, &err);
    /* the reader never makes one; build it by hand */
    file = st_build("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, &len);
    tv_model_free(meta);
    meta = tv_model_read_memory(file, len, "m.safetensors", NULL, &err);
    free(file);
    assert_non_null(meta);
    struct tv_value v = {.type = TV_VALUE_U32, .as.u = 7};
    assert_int_equal(tv_model_add_meta(meta, "answer", 6, &v, TV_ORIGIN_SAFETENSORS, "m.safetensors", &err), 0);
    tv_write_options_init(&opt);
    assert_write_refused(meta, dir, "meta.safetensors", &opt,
                         "metadata 'answer' (from m.safetensors) is u32; safetensors metadata holds strings only");

    /* an array of arrays from a GGUF source (ggml cannot read one) */
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_array(&b, "nested", GB_ARRAY, 1);
    gb_array(&b, GB_U8, 2);
    gb_u8(&b, 1);
    gb_u8(&b, 2);
    gb_align(&b, 32);
    tv_model *nested = tv_model_read_memory(b.data, b.len, "nested.gguf", NULL, &err);
    gb_release(&b);
    assert_non_null(nested);
    assert_write_refused(nested, dir, "nested.gguf", NULL,
                         "key 'nested' (from nested.gguf) is an array of arrays");

    /* a format the name does not tell */
    assert_write_refused(u8, dir, "out.bin", NULL, "cannot tell the output format");
    assert_int_equal(count_entries(dir, NULL), 0);
    tv_model_free(u8);
    tv_model_free(longname);
    tv_model_free(m2v);
    tv_model_free(meta);
    tv_model_free(nested);
    remove_tree(dir);
    tv_free(dir);
}

static void existing_output_is_refused_without_force_and_replaced_with_it(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *file = join(dir, "out.safetensors"), *folder = join(dir, "folder");
    tv_model *a = open_or_fail(real_fixture("safetensors/mnist-tinygrad/model.safetensors"));
    write_text(file, "precious");
    assert_int_equal(mkdir(folder, 0755), 0);
    char *inside = join(folder, "keep.txt");
    write_text(inside, "mine");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    assert_write_refused(a, dir, "out.safetensors", &opt, "already exists (use --force");
    assert_write_refused(a, dir, "folder", &opt, "already exists (use --force");
    assert_file_text(file, "precious");
    assert_file_text(inside, "mine");
    /* a folder that holds a folder is never swept away */
    char *sub = join(folder, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    opt.force = 1;
    assert_write_refused(a, dir, "folder", &opt, "will not replace a folder that holds the folder 'sub'");
    assert_int_equal(rmdir(sub), 0);
    write_or_fail(a, file, &opt);
    write_or_fail(a, folder, &opt);
    tv_model *b = open_or_fail(file), *c = open_or_fail(folder);
    assert_same_tensors(a, b);
    assert_same_tensors(a, c);
    assert_int_equal(tv_path_kind(inside), -1);
    assert_int_equal(count_entries(dir, NULL), 2);
    tv_model_free(a);
    tv_model_free(b);
    tv_model_free(c);
    tv_free(sub);
    tv_free(inside);
    tv_free(file);
    tv_free(folder);
    remove_tree(dir);
    tv_free(dir);
}

static void write_into_a_missing_or_unwritable_folder_fails_cleanly(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tv_model *a = open_or_fail(real_fixture("safetensors/mnist-tinygrad/model.safetensors"));
    char *notdir = join(dir, "plain");
    write_text(notdir, "x");
    char *bad_file = join(notdir, "out.safetensors"), *bad_folder = join(notdir, "out");
    tv_error err = {0};
    assert_int_equal(tv_model_write(a, bad_file, NULL, &err), -1);
    assert_int_equal(err.code, TV_ERR_IO);
    assert_contains(err.message, "Not a directory");
    assert_int_equal(tv_model_write(a, bad_folder, NULL, &err), -1);
    assert_int_equal(err.code, TV_ERR_IO);
    assert_contains(err.message, "cannot create a temporary folder");
    assert_contains(err.message, "Not a directory");
    if (geteuid() != 0) { /* root writes anywhere */
        char *ro = join(dir, "ro"), *target = join(ro, "out");
        assert_int_equal(mkdir(ro, 0555), 0);
        assert_int_equal(tv_model_write(a, target, NULL, &err), -1);
        assert_int_equal(count_entries(ro, NULL), 0);
        chmod(ro, 0755);
        tv_free(ro);
        tv_free(target);
    }
    assert_int_equal(count_entries(dir, NULL), 1);
    tv_model_free(a);
    tv_free(notdir);
    tv_free(bad_file);
    tv_free(bad_folder);
    remove_tree(dir);
    tv_free(dir);
}

/* Runs tv_model_write in a child whose files may not grow past limit bytes (SIGXFSZ
   ignored, so write() fails with EFBIG). Returns the child's exit code: 0 written,
   3 failed with an I/O error naming the target, 4 failed otherwise. */
static int write_with_file_size_limit(const tv_model *m, const char *out, rlim_t limit,
                                      const struct tv_write_options *opt)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(5);
        tv_error err = {0};
        int rc = tv_model_write(m, out, opt, &err);
        if (rc == 0)
            _exit(0);
        _exit(err.code == TV_ERR_IO && strstr(err.message, "File too large") ? 3 : 4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void a_full_file_size_limit_leaves_nothing_and_keeps_the_old_output(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *in = join(dir, "w.safetensors");
    tv_model *g = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    write_or_fail(g, in, NULL);
    tv_model *a = open_or_fail(in);
    char *gguf = join(dir, "out.gguf"), *st = join(dir, "out.safetensors"),
         *folder = join(dir, "folder");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.force = 1;
    /* fresh outputs: nothing appears */
    assert_int_equal(write_with_file_size_limit(a, gguf, 200000, &opt), 3);
    assert_int_equal(write_with_file_size_limit(a, st, 200000, &opt), 3);
    assert_int_equal(write_with_file_size_limit(a, folder, 200000, &opt), 3);
    opt.dtype = TV_DTYPE_F16; /* the converting path fails the same way */
    assert_int_equal(write_with_file_size_limit(a, gguf, 200000, &opt), 3);
    assert_int_equal(count_entries(dir, NULL), 1);
    /* existing outputs stay as they were */
    write_text(gguf, "old gguf");
    write_text(st, "old safetensors");
    assert_int_equal(mkdir(folder, 0755), 0);
    char *old = join(folder, "config.json");
    write_text(old, "{}");
    opt.dtype = -1;
    assert_int_equal(write_with_file_size_limit(a, gguf, 200000, &opt), 3);
    assert_int_equal(write_with_file_size_limit(a, st, 200000, &opt), 3);
    assert_int_equal(write_with_file_size_limit(a, folder, 200000, &opt), 3);
    assert_file_text(gguf, "old gguf");
    assert_file_text(st, "old safetensors");
    assert_file_text(old, "{}");
    assert_int_equal(count_entries(folder, NULL), 1);
    assert_int_equal(count_entries(dir, NULL), 4);
    /* and with room enough the same call succeeds */
    assert_int_equal(write_with_file_size_limit(a, folder, 4000000, &opt), 0);
    tv_model *b = open_or_fail(folder);
    assert_same_tensors(a, b);
    tv_model_free(b);
    tv_model_free(a);
    tv_model_free(g);
    tv_free(old);
    tv_free(in);
    tv_free(gguf);
    tv_free(st);
    tv_free(folder);
    remove_tree(dir);
    tv_free(dir);
}

static int stop_after_three(void *ctx, size_t done, size_t total, uint64_t bytes,
                            uint64_t bytes_total)
{
    (void)total, (void)bytes, (void)bytes_total;
    *(size_t *)ctx = done;
    return done >= 3;
}

/* The progress callback can stop a write (the CLI does on SIGINT): nothing is left and
   an existing output is untouched. */
static void an_interrupted_write_leaves_nothing_and_keeps_the_old_output(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tv_model *a = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    static const char *const names[] = {"out.gguf", "out.safetensors", "folder"};
    size_t calls = 0;
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.progress = stop_after_three;
    opt.progress_ctx = &calls;
    for (int existing = 0; existing < 2; existing++) {
        for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++) {
            char *out = join(dir, names[i]);
            if (existing)
                write_text(out, "old");
            opt.force = existing;
            tv_error err = {0};
            assert_int_equal(tv_model_write(a, out, &opt, &err), -1);
            assert_contains(err.message, "interrupted after 3 of 48 tensors");
            assert_int_equal(calls, 3);
            if (existing)
                assert_file_text(out, "old");
            else
                assert_int_equal(tv_path_kind(out), -1);
            tv_free(out);
        }
        assert_int_equal(count_entries(dir, NULL), existing ? 3 : 0);
    }
    tv_model_free(a);
    remove_tree(dir);
    tv_free(dir);
}

/* A safetensors file of one F32 matrix [rows, 1024] of finite values, written in pieces. */
static void write_big_model(const char *path, uint64_t rows)
{
    char header[256];
    int n = snprintf(header, sizeof header,
                     "{\"big.weight\":{\"dtype\":\"F32\",\"shape\":[%llu,1024],"
                     "\"data_offsets\":[0,%llu]}}", (unsigned long long)rows,
                     (unsigned long long)(rows * 4096));
    while (n % 8)
        header[n++] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t len = (uint64_t)n;
    for (int i = 0; i < 8; i++)
        fputc((int)(len >> (8 * i)) & 0xff, f);
    fwrite(header, 1, (size_t)n, f);
    float row[1024];
    for (uint64_t r = 0; r < rows; r++) {
        for (int i = 0; i < 1024; i++)
            row[i] = (float)((r * 1024 + (uint64_t)i) % 2001) / 1000.0f - 1.0f;
        assert_int_equal(fwrite(row, sizeof row, 1, f), 1);
    }
    assert_int_equal(fclose(f), 0);
}

/* Peak resident set (kB) of a child that opens src and writes it to out. */
static long peak_rss_of_conversion(const char *src, const char *out, int dtype)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct tv_write_options opt;
        tv_write_options_init(&opt);
        opt.dtype = dtype;
        opt.force = 1;
        tv_error err = {0};
        tv_model *m = tv_model_open(src, NULL, &err);
        long rss = -1;
        if (m && tv_model_write(m, out, &opt, &err) == 0) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            rss = ru.ru_maxrss;
        }
        tv_model_free(m);
        if (write(fds[1], &rss, sizeof rss) != sizeof rss)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long rss = -1;
    assert_int_equal(read(fds[0], &rss, sizeof rss), sizeof rss);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(rss > 0);
    return rss;
}

/* Streaming: converting a model 16 times larger takes (almost) no more memory. */
static void conversion_memory_does_not_grow_with_the_model(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *small = join(dir, "small.safetensors"), *big = join(dir, "big.safetensors"),
         *out = join(dir, "out.gguf");
    write_big_model(small, 1024);       /* 4 MiB */
    write_big_model(big, 16 * 1024);    /* 64 MiB */
    static const int dtypes[] = {-1, TV_DTYPE_F16, TV_DTYPE_Q8_0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(dtypes); i++) {
        long a = peak_rss_of_conversion(small, out, dtypes[i]);
        long b = peak_rss_of_conversion(big, out, dtypes[i]);
        print_message("[          ] dtype %d: peak RSS %ld kB for 4 MiB, %ld kB for 64 MiB\n",
                      dtypes[i], a, b);
        if (b > a + 12 * 1024) /* 60 MiB more data; the chunks are 4 MiB */
            fail_msg("dtype %d: peak RSS grew from %ld kB to %ld kB with the model", dtypes[i],
                     a, b);
    }
    tv_free(small);
    tv_free(big);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- output names, --to and .gz ------------------------------------------------------------- */

/* The word-vector flavour a file was read as ("GloVe text", ...), or "" when none. */
static const char *wordvec_kind(const tv_model *m)
{
    const struct tv_meta *meta = tv_model_meta_find(m, "wordvec.format");
    static char kind[64];
    kind[0] = '\0';
    if (meta && meta->value.type == TV_VALUE_STRING)
        snprintf(kind, sizeof kind, "%.*s", (int)meta->value.as.str.len, meta->value.as.str.ptr);
    return kind;
}

static bool file_is_gzip(const char *path)
{
    size_t len;
    uint8_t *bytes = read_file_or_fail(path, &len);
    bool gz = len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    tv_free(bytes);
    return gz;
}

/* OUT.gz is the format OUT names, gzipped; our readers give the same model back. */
static void gz_outputs_are_gzipped_and_read_back_as_the_same_model(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *kind; /* the word-vector flavour read back, or "" */
    } outs[] = {
        {"w.vec.gz", "word2vec text"}, {"w.txt.gz", "GloVe text"},
        {"w.bin.gz", "word2vec binary"}, {"w.npy.gz", ""}, {"w.safetensors.gz", ""},
        {"w.gguf.gz", NULL}, /* NULL: refused (a word list has no GGUF tokenizer) */
    };
    char *dir = make_temp_dir();
    tv_model *a = open_or_fail(real_fixture("wordvec/gensim-test_glove.txt"));
    for (size_t i = 0; i < TV_ARRAY_SIZE(outs); i++) {
        if (!outs[i].kind)
            continue;
        char *out = join(dir, outs[i].name);
        write_or_fail(a, out, NULL);
        if (!file_is_gzip(out))
            fail_msg("%s is not gzip", outs[i].name);
        tv_model *b = open_or_fail(out);
        assert_same_tensors(a, b);
        assert_string_equal(wordvec_kind(b), outs[i].kind);
        if (*outs[i].kind) /* the words travel with the vectors */
            assert_vocab_equal(a, b, CMP_ALL);
        tv_model_free(b);
        tv_free(out);
    }
    /* a model with every part: GGUF and a folder's tokenizer.json, gzipped */
    tv_model *s = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    char *gguf = join(dir, "s.gguf.gz"), *tok = join(dir, "tokenizer.json.gz");
    write_or_fail(s, gguf, NULL);
    write_or_fail(s, tok, NULL);
    assert_true(file_is_gzip(gguf));
    assert_true(file_is_gzip(tok));
    tv_model *g = open_or_fail(gguf), *t = open_or_fail(tok);
    assert_same_tensors(s, g);
    assert_same_vocab(s, g);
    assert_int_equal(tv_vocab_size(t), 512);
    /* a folder cannot be gzipped */
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.format = "folder";
    tv_error err = {0};
    char *folder = join(dir, "f.gz");
    assert_int_equal(tv_model_write(s, folder, &opt, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_contains(err.message, "a folder cannot be gzipped");
    assert_int_equal(tv_path_kind(folder), -1);
    tv_model_free(g);
    tv_model_free(t);
    tv_model_free(s);
    tv_model_free(a);
    tv_free(folder);
    tv_free(gguf);
    tv_free(tok);
    remove_tree(dir);
    tv_free(dir);
}

/* .vec is word2vec text; .txt keeps a word-vector source's own flavour and .bin is word2vec
   binary, both only for word vectors; other sources must say --to. */
static void output_names_choose_the_word_vector_formats(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tv_model *glove = open_or_fail(real_fixture("wordvec/gensim-test_glove.txt"));
    tv_model *w2v = open_or_fail(real_fixture("wordvec/gensim-euclidean_vectors.bin"));
    tv_model *gguf = open_or_fail(real_fixture("gguf/weights/stories260K.gguf"));
    static const struct {
        int source;         /* 0 glove, 1 word2vec binary */
        const char *name;
        const char *kind;
    } cases[] = {
        {0, "a.txt", "GloVe text"},    {0, "a.vec", "word2vec text"},
        {0, "a.bin", "word2vec binary"}, {1, "b.txt", "word2vec text"},
        {1, "b.vec", "word2vec text"}, {1, "b.bin", "word2vec binary"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        const tv_model *src = cases[i].source ? w2v : glove;
        char *out = join(dir, cases[i].name);
        write_or_fail(src, out, NULL);
        tv_model *b = open_or_fail(out);
        if (strcmp(wordvec_kind(b), cases[i].kind) != 0)
            fail_msg("%s was written as '%s', expected %s", cases[i].name, wordvec_kind(b),
                     cases[i].kind);
        assert_same_tensors(src, b);
        assert_vocab_equal(src, b, CMP_ALL);
        tv_model_free(b);
        tv_free(out);
    }
    /* an embedding from elsewhere: .txt and .bin say nothing, --to does */
    tv_error err = {0};
    char *txt = join(dir, "s.txt"), *bin = join(dir, "s.bin"), *npy = join(dir, "s.npy");
    assert_int_equal(tv_model_write(gguf, txt, NULL, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_contains(err.message, "use --to glove or --to word2vec");
    assert_int_equal(tv_model_write(gguf, bin, NULL, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_contains(err.message, "use --to word2vec-binary");
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.format = "glove";
    write_or_fail(gguf, txt, &opt);
    tv_model *t = open_or_fail(txt);
    assert_string_equal(wordvec_kind(t), "GloVe text");
    /* words and vectors: types and scores are not kept */
    assert_int_equal(tv_vocab_size(t), tv_vocab_size(gguf));
    for (uint32_t id = 0; id < tv_vocab_size(t); id++)
        assert_string_equal(tv_vocab_token(t, id)->text, tv_vocab_token(gguf, id)->text);
    assert_memory_equal(tv_model_embedding(t)->data, tv_model_embedding(gguf)->data,
                        (size_t)tv_model_embedding(gguf)->n_bytes);
    write_or_fail(gguf, npy, NULL);
    tv_model *n = open_or_fail(npy);
    assert_int_equal(tv_model_tensor_count(n), 1);
    assert_memory_equal(tv_model_embedding(n)->data, tv_model_embedding(gguf)->data,
                        (size_t)tv_model_embedding(gguf)->n_bytes);
    opt.format = "pytorch";
    assert_int_equal(tv_model_write(gguf, bin, &opt, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_contains(err.message, "unknown output format 'pytorch'");
    assert_int_equal(count_entries(dir, NULL), 8); /* 6 cases, s.txt, s.npy */
    tv_model_free(n);
    tv_model_free(t);
    tv_model_free(gguf);
    tv_model_free(w2v);
    tv_model_free(glove);
    tv_free(txt);
    tv_free(bin);
    tv_free(npy);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- --vocab: words for a bare matrix ---------------------------------------------------------- */

/* Writes the words of m, one per line, to path. */
static void write_words(const tv_model *m, const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (uint32_t id = 0; id < n; id++)
        fprintf(f, "%s\n", tv_vocab_token(m, id)->text);
    fclose(f);
}

static void vocab_option_pairs_a_matrix_with_its_words_in_every_command(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tv_model *glove = open_or_fail(real_fixture("wordvec/gensim-test_glove.txt"));
    char *npy = join(dir, "emb.npy"), *words = join(dir, "words.txt"),
         *five = join(dir, "five.txt"), *vec = join(dir, "out.vec"),
         *gz = join(dir, "words.txt.gz"), *tar = join(dir, "w.tar");
    write_or_fail(glove, npy, NULL);
    write_words(glove, words, tv_vocab_size(glove));
    write_words(glove, five, 5);
    {
        /* the same list gzipped and inside a tar */
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s' && tar -C '%s' -cf '%s' words.txt",
                 words, gz, dir, tar);
        assert_int_equal(system(cmd), 0);
    }
    char *o = NULL, *e = NULL;
    assert_int_equal(run_cli(&o, &e, "inspect", npy, "--vocab", words, NULL), 0);
    assert_contains(o, "76 tokens from ");
    assert_contains(o, "/words.txt (unknown kind)");
    assert_contains(o, "embeddings  76 x 50");
    tv_free(o), tv_free(e);
    /* a word of the list is found, and its nearest neighbours are words */
    assert_int_equal(run_cli(&o, &e, "similar", npy, "--vocab", words, "he", NULL), 0);
    assert_contains(o, "nearest to \"he\" (18 \"he\")");
    assert_contains(o, "\"she\"");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", npy, "--vocab", words, vec, NULL), 0);
    tv_free(o), tv_free(e);
    tv_model *back = open_or_fail(vec);
    assert_vocab_equal(glove, back, CMP_ALL);
    assert_same_tensors(glove, back);
    tv_model_free(back);
    /* a list that does not match the rows names both numbers */
    assert_int_equal(run_cli(&o, &e, "inspect", npy, "--vocab", five, NULL), 1);
    assert_contains(e, "5 lines, but tensor 'embeddings'");
    assert_contains(e, "has 76 rows");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "similar", npy, "--vocab", NULL), 2);
    tv_free(o), tv_free(e);
    /* through the sources: .gz and archive:member (the library option) */
    char member[4200];
    snprintf(member, sizeof member, "%s:words.txt", tar);
    const char *lists[] = {gz, member};
    for (size_t i = 0; i < TV_ARRAY_SIZE(lists); i++) {
        struct tv_open_options opt = {.vocab_file = lists[i]};
        tv_error err = {0};
        tv_model *m = tv_model_open(npy, &opt, &err);
        if (!m)
            fail_msg("%s: %s", lists[i], err.message);
        assert_vocab_equal(glove, m, CMP_ALL);
        assert_string_equal(tv_model_embedding(m)->name, "embeddings");
        tv_model_free(m);
    }
    struct tv_open_options opt = {.vocab_file = tar};
    tv_error err = {0};
    assert_null(tv_model_open(npy, &opt, &err));
    assert_contains(err.message, "an archive, not a token list");
    opt.vocab_file = "/nonexistent/words.txt";
    assert_null(tv_model_open(npy, &opt, &err));
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    /* a model with words of its own gets the list as a second vocabulary */
    opt.vocab_file = five;
    tv_model *two = tv_model_open(real_fixture("wordvec/gensim-test_glove.txt"), &opt, &err);
    assert_non_null(two);
    assert_int_equal(two->n_vocabs, 2);
    assert_int_equal(tv_vocab_size(two), 76);
    tv_model_free(two);
    tv_model_free(glove);
    tv_free(npy);
    tv_free(words);
    tv_free(five);
    tv_free(vec);
    tv_free(gz);
    tv_free(tar);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- what GGUF cannot hold of a tokenizer ------------------------------------------------------- */

struct warnings {
    int count;
    char last[512];
};

static void collect_warning(void *ctx, const char *message)
{
    struct warnings *w = ctx;
    w->count++;
    snprintf(w->last, sizeof w->last, "%s", message);
}

/* llama.cpp's tokenizer models have no place for some tokenizer.json parts: a GGUF that
   left them out would split text differently, so it is refused by name unless the caller
   allows the loss, which is then reported. */
static void gguf_writer_refuses_tokenizer_parts_llama_cpp_cannot_hold_unless_allowed(void **state)
{
    (void)state;
    static const struct {
        const char *folder;
        const char *lost[2];
    } cases[] = {
        {"safetensors/model2vec-test-model-vocab-quantized",
         {"'t5' tokenizer has no place for normalizer 'BertNormalizer'", "decoder 'WordPiece'"}},
        {"safetensors/tiny-llm-cicd-gpt2-vocab100",
         {"'gpt2' tokenizer has no place for pre_tokenizer 'Sequence'", NULL}},
    };
    char *dir = make_temp_dir();
    char *out = join(dir, "t.gguf");
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *a = open_or_fail(real_fixture(cases[i].folder));
        struct warnings w = {0};
        struct tv_write_options opt;
        tv_write_options_init(&opt);
        opt.warn = collect_warning;
        opt.warn_ctx = &w;
        for (int k = 0; k < 2 && cases[i].lost[k]; k++)
            assert_write_refused(a, dir, "t.gguf", &opt, cases[i].lost[k]);
        assert_write_refused(a, dir, "t.gguf", &opt, "; --allow-lossy writes it anyway");
        assert_int_equal(w.count, 0);
        opt.allow_lossy = 1;
        write_or_fail(a, out, &opt);
        assert_int_equal(w.count, 1);
        for (int k = 0; k < 2 && cases[i].lost[k]; k++)
            assert_contains(w.last, cases[i].lost[k]);
        assert_contains(w.last, "the original is kept in tokenizer.huggingface.json");
        tv_model *b = open_or_fail(out);
        assert_vocab_is_ggml_view(a, b);
        assert_non_null(tv_model_meta_find(b, "tokenizer.huggingface.json"));
        tv_model_free(b);
        tv_model_free(a);
        unlink(out);
    }
    /* a tokenizer GGUF holds whole: no warning */
    tv_model *gpt2 = open_or_fail(real_fixture("tokenizers/gpt2/tokenizer.json"));
    struct warnings w = {0};
    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.warn = collect_warning;
    opt.warn_ctx = &w;
    write_or_fail(gpt2, out, &opt);
    assert_int_equal(w.count, 0);
    tv_model_free(gpt2);
    /* the command */
    char *o = NULL, *e = NULL;
    char src[4096];
    snprintf(src, sizeof src, "%s", real_fixture("safetensors/model2vec-test-model-vocab-quantized"));
    char *lossy = join(dir, "lossy.gguf");
    assert_int_equal(run_cli(&o, &e, "convert", src, lossy, NULL), 1);
    assert_contains(e, "normalizer 'BertNormalizer'");
    assert_contains(e, "--allow-lossy writes it anyway");
    assert_int_equal(tv_path_kind(lossy), -1);
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--allow-lossy", src, lossy, NULL), 0);
    assert_contains(e, "tokvec: warning: ");
    assert_contains(e, "normalizer 'BertNormalizer'");
    assert_contains(o, "wrote ");
    tv_free(o), tv_free(e);
    tv_free(lossy);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- the command ------------------------------------------------------------------------------- */

static void convert_command_exit_codes_and_messages(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "o.safetensors"), *folder = join(dir, "f");
    char src[4096]; /* real_fixture's buffer is reused by the next call */
    snprintf(src, sizeof src, "%s", real_fixture("safetensors/mnist-tinygrad/model.safetensors"));
    char *o = NULL, *e = NULL;
    assert_int_equal(run_cli(&o, &e, "convert", src, NULL), 2);
    assert_contains(e, "expected SRC... OUT");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--dtype", "q5_1", src, out, NULL), 2);
    assert_contains(e, "--dtype 'q5_1'");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--max-shard-size", "5XB", src, folder, NULL), 2);
    assert_contains(e, "--max-shard-size '5XB'");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--to", "onnx", src, out, NULL), 2);
    assert_contains(e, "word2vec-binary, glove or npy");
    tv_free(o), tv_free(e);
    {
        /* --to names the word-vector writers; any name then does */
        char *dat = join(dir, "vectors.dat");
        assert_int_equal(run_cli(&o, &e, "convert", "--to", "word2vec-binary",
                                 real_fixture("wordvec/gensim-test_glove.txt"), dat, NULL), 0);
        tv_free(o), tv_free(e);
        tv_model *w = open_or_fail(dat);
        assert_string_equal(tv_model_kind(w), "word2vec binary");
        tv_model_free(w);
        unlink(dat);
        tv_free(dat);
    }
    assert_int_equal(run_cli(&o, &e, "convert", src, out, NULL), 0);
    assert_contains(o, "wrote ");
    assert_string_equal(e, ""); /* no progress: stderr is not a terminal */
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", src, out, NULL), 1);
    assert_contains(e, "already exists (use --force to replace it)");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--force", "--dtype", "bf16", src, out, NULL), 0);
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--max-shard-size", "200kB", src, folder, NULL), 0);
    tv_free(o), tv_free(e);
    char *index = join(folder, "model.safetensors.index.json");
    assert_int_equal(tv_path_kind(index), 0); /* 406 kB of weights in 200 kB shards */
    tv_free(index);
    char *other = join(dir, "other.gguf"), *other_st = join(dir, "other.safetensors"),
         *other_bin = join(dir, "other.bin"), *folder2 = join(dir, "f2");
    assert_int_equal(run_cli(&o, &e, "convert", "--only-embedding", src, other, NULL), 1);
    assert_contains(e, "no token embedding found");
    tv_free(o), tv_free(e);
    assert_int_equal(tv_path_kind(other), -1);
    /* options that do not fit the output are usage errors */
    assert_int_equal(run_cli(&o, &e, "convert", "--dtype", "q8_0", src, other_st, NULL), 2);
    assert_contains(e, "safetensors cannot hold Q8_0");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--max-shard-size", "1GiB", src, other_st, NULL), 2);
    assert_contains(e, "a shard size applies to folder outputs only");
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", "--max-shard-size", "0", src, folder2, NULL), 2);
    tv_free(o), tv_free(e);
    assert_int_equal(run_cli(&o, &e, "convert", src, other_bin, NULL), 2);
    assert_contains(e, "cannot tell the output format");
    tv_free(o), tv_free(e);
    /* 2GiB and 5GB are bigger than the model: one file, no index */
    assert_int_equal(run_cli(&o, &e, "convert", "--max-shard-size", "2GiB", src, folder2, NULL), 0);
    tv_free(o), tv_free(e);
    char *single = join(folder2, "model.safetensors");
    assert_int_equal(tv_path_kind(single), 0);
    tv_free(single);
    assert_int_equal(count_entries(dir, NULL), 3); /* o.safetensors, f, f2 */
    tv_model *m = open_or_fail(out);
    assert_int_equal(tv_model_tensor(m, 0)->dtype, TV_DTYPE_BF16);
    tv_model_free(m);
    tv_free(other);
    tv_free(other_st);
    tv_free(other_bin);
    tv_free(folder2);
    tv_free(out);
    tv_free(folder);
    remove_tree(dir);
    tv_free(dir);
}

/* Several sources are one model: safetensors weights + a tokenizer.json. */
static void convert_reads_several_sources_into_one_model(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *out = join(dir, "two.gguf");
    const char *paths[2];
    char weights[4096];
    snprintf(weights, sizeof weights, "%s",
             real_fixture("safetensors/tiny-llm-cicd-gpt2-vocab50257/model.safetensors"));
    paths[0] = weights;
    paths[1] = real_fixture("tokenizers/gpt2/tokenizer.json");
    tv_model *a = open_many_or_fail(paths, 2);
    write_or_fail(a, out, NULL);
    tv_model *b = open_or_fail(out);
    assert_same_vocab(a, b);
    assert_same_tensors(a, b);
    assert_non_null(tv_model_tensor_find(b, "token_embd.weight"));
    tv_model_free(a);
    tv_model_free(b);
    tv_free(out);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gguf_writer_round_trips_every_real_gguf),
        cmocka_unit_test(gguf_writer_lays_out_data_the_way_ggml_reads_it),
        cmocka_unit_test(safetensors_writer_round_trips_every_real_file_bit_for_bit),
        cmocka_unit_test(safetensors_writer_orders_and_pads_like_the_reference),
        cmocka_unit_test(stories260k_to_folder_and_back_keeps_48_tensors_bit_for_bit),
        cmocka_unit_test(llama_permutation_goes_with_dtype_conversions),
        cmocka_unit_test(llama_permutation_streams_whole_q8_0_blocks),
        cmocka_unit_test(other_architectures_rename_the_embedding_and_the_output_head_only),
        cmocka_unit_test(llama_permutation_without_head_counts_is_refused),
        cmocka_unit_test(folder_writer_round_trips_every_real_folder),
        cmocka_unit_test(folder_writer_shards_like_hugging_face),
        cmocka_unit_test(gguf_to_tokenizer_json_to_gguf_keeps_the_vocabulary_arrays),
        cmocka_unit_test(vocabulary_files_round_trip_through_gguf_tokenizer_json_and_folders),
        cmocka_unit_test(word_vectors_write_their_matrix_and_refuse_a_gguf_tokenizer),
        cmocka_unit_test(gguf_dtype_option_converts_matrices_and_keeps_1d_tensors),
        cmocka_unit_test(quantized_gguf_to_safetensors_decodes_to_f32_unless_told),
        cmocka_unit_test(only_embedding_writes_the_embedding_under_its_conventional_name),
        cmocka_unit_test(writers_refuse_what_the_target_cannot_hold_and_leave_nothing),
        cmocka_unit_test(existing_output_is_refused_without_force_and_replaced_with_it),
        cmocka_unit_test(write_into_a_missing_or_unwritable_folder_fails_cleanly),
        cmocka_unit_test(a_full_file_size_limit_leaves_nothing_and_keeps_the_old_output),
        cmocka_unit_test(an_interrupted_write_leaves_nothing_and_keeps_the_old_output),
        cmocka_unit_test(conversion_memory_does_not_grow_with_the_model),
        cmocka_unit_test(gz_outputs_are_gzipped_and_read_back_as_the_same_model),
        cmocka_unit_test(output_names_choose_the_word_vector_formats),
        cmocka_unit_test(vocab_option_pairs_a_matrix_with_its_words_in_every_command),
        cmocka_unit_test(gguf_writer_refuses_tokenizer_parts_llama_cpp_cannot_hold_unless_allowed),
        cmocka_unit_test(convert_command_exit_codes_and_messages),
        cmocka_unit_test(convert_reads_several_sources_into_one_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
