/*
 * Embeddings (src/embed.c, src/embed_kernels.c) and the embed, similar, analogy and
 * distance commands.
 *
 * The reference for every search is written here: the rows are decoded from the
 * tensor's bytes by this file (F16 with its own bit twiddling), every row is scored
 * in double precision with plain loops, and the rows are sorted by (score, lower id).
 * The library must return the same ids in the same order, with scores within 1e-5,
 * on real weights (stories260K: 512 x 64 F32, a trained model whose unused byte
 * tokens sit within 1e-9 of each other in cosine; llama-2-tiny-random: 32000 x 8
 * F16) and on matrices built here (odd widths, identical rows, quantised dtypes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "failalloc.h"
#include "testutil.h"
#include "support/gguf_build.h"
#include "embed_kernels.h"
#include "tokvec/embed.h"

#define STORIES "gguf/weights/stories260K.gguf"
#define TINY_LLAMA "gguf/weights/llama-2-tiny-random.gguf"
#define GPT2_FOLDER "safetensors/tiny-llm-cicd-gpt2-vocab50257"
#define HAMLET "wordvec/word2vec-npm-hamlet-vectors.txt"
#define TOLERANCE 1e-5

/* ---- the reference ------------------------------------------------------------------ */

/* IEEE half precision to double, from the bit fields. */
static double f16_value(uint16_t h)
{
    int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = ldexp(mantissa, -24); /* zero and subnormals: mantissa * 2^-24 */
    else if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else
        v = ldexp(mantissa + 1024, exponent - 25);
    return sign ? -v : v;
}

/* The matrix as doubles, decoded here from the tensor's bytes (F32 or F16 only). */
struct ref {
    uint64_t rows;
    size_t dim;
    double *v;
};

static struct ref ref_from_tensor(const struct tv_tensor *t)
{
    struct ref r = {t->shape[0], (size_t)t->shape[1], NULL};
    r.v = malloc(r.rows * r.dim * sizeof *r.v);
    assert_non_null(r.v);
    for (uint64_t i = 0; i < r.rows * r.dim; i++) {
        if (t->dtype == TV_DTYPE_F32) {
            float f;
            memcpy(&f, t->data + 4 * i, 4);
            r.v[i] = f;
        } else if (t->dtype == TV_DTYPE_F16) {
            r.v[i] = f16_value((uint16_t)(t->data[2 * i] | t->data[2 * i + 1] << 8));
        } else {
            fail_msg("the reference decodes F32 and F16 only, not %s", tv_dtype_name(t->dtype));
        }
    }
    return r;
}

static const double *ref_row(const struct ref *r, uint32_t id)
{
    return r->v + (size_t)id * r->dim;
}

static double ref_score(const struct ref *r, uint32_t id, const double *q, enum tv_metric metric)
{
    const double *x = ref_row(r, id);
    double dot = 0, xx = 0, qq = 0, dd = 0;
    for (size_t j = 0; j < r->dim; j++) {
        dot += q[j] * x[j];
        xx += x[j] * x[j];
        qq += q[j] * q[j];
        dd += (q[j] - x[j]) * (q[j] - x[j]);
    }
    switch (metric) {
    case TV_METRIC_COSINE: return xx > 0 ? dot / (sqrt(xx) * sqrt(qq)) : 0;
    case TV_METRIC_DOT: return dot;
    default: return sqrt(dd);
    }
}

static enum tv_metric sort_metric;

static int cmp_ref(const void *pa, const void *pb)
{
    const struct tv_neighbor *a = pa, *b = pb;
    if (a->score != b->score) {
        bool a_first = sort_metric == TV_METRIC_L2 ? a->score < b->score : a->score > b->score;
        return a_first ? -1 : 1;
    }
    return a->id < b->id ? -1 : 1;
}

/* The reference top k (k results at most) into out; returns the count. */
static size_t ref_nearest(const struct ref *r, const double *q, enum tv_metric metric,
                          const uint32_t *exclude, size_t n_exclude, size_t k,
                          struct tv_neighbor *out)
{
    struct tv_neighbor *all = malloc(r->rows * sizeof *all);
    assert_non_null(all);
    size_t n = 0;
    for (uint32_t id = 0; id < r->rows; id++) {
        bool skip = false;
        for (size_t i = 0; i < n_exclude; i++)
            skip |= exclude[i] == id;
        if (!skip)
            all[n++] = (struct tv_neighbor){id, ref_score(r, id, q, metric)};
    }
    sort_metric = metric;
    qsort(all, n, sizeof *all, cmp_ref);
    n = n < k ? n : k;
    memcpy(out, all, n * sizeof *out);
    free(all);
    return n;
}

static void ref_mean(const struct ref *r, const uint32_t *ids, size_t n, double *q)
{
    for (size_t j = 0; j < r->dim; j++)
        q[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r->dim; j++)
            q[j] += ref_row(r, ids[i])[j];
    for (size_t j = 0; j < r->dim; j++)
        q[j] /= (double)n;
}

static void assert_same_neighbors(const struct tv_neighbor *want, size_t n_want,
                                  const struct tv_neighbor *got, size_t n_got, const char *what)
{
    if (n_got != n_want)
        fail_msg("%s: %zu results, the reference has %zu", what, n_got, n_want);
    for (size_t i = 0; i < n_want; i++) {
        if (got[i].id != want[i].id || fabs(got[i].score - want[i].score) > TOLERANCE)
            fail_msg("%s: rank %zu is id %u score %.12f; the reference has id %u score %.12f",
                     what, i + 1, got[i].id, got[i].score, want[i].id, want[i].score);
    }
}

static void assert_identical(const struct tv_neighbor *a, size_t na, const struct tv_neighbor *b,
                             size_t nb, const char *what)
{
    if (na != nb)
        fail_msg("%s: %zu results against %zu", what, na, nb);
    for (size_t i = 0; i < na; i++)
        if (a[i].id != b[i].id || a[i].score != b[i].score)
            fail_msg("%s: rank %zu is id %u score %.17g against id %u score %.17g", what, i + 1,
                     a[i].id, a[i].score, b[i].id, b[i].score);
}

static void assert_message(const tv_error *err, const char *needle);

/* ---- models ----------------------------------------------------------------------------- */

static tv_model *open_real(const char *relative)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture(relative), NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

static tv_embed *embed_or_fail(const tv_model *m)
{
    tv_error err = {0};
    tv_embed *e = tv_embed_new(m, &err);
    if (!e)
        fail_msg("%s", err.message);
    /* the test matrices are small: split them over threads all the same */
    tv_embed_set_min_bytes_per_thread(e, 0);
    return e;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double rng_uniform(void) /* xorshift64*, in [-1, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / (double)(1ull << 52) - 1.0;
}

static int ggml_type_of(enum tv_dtype dtype)
{
    return tv_dtype_info(dtype)->ggml_type;
}

/* GGUF bytes holding one tensor "token_embd.weight" [rows, dim] of dtype with the given
   bytes. The caller frees b with gb_release. */
static void build_gguf(struct gguf_build *b, enum tv_dtype dtype, uint64_t rows, uint64_t dim,
                       const void *bytes, size_t n_bytes)
{
    gb_init(b, 3);
    gb_kv_string(b, "general.architecture", "llama");
    gb_tensor(b, "token_embd.weight", 2, (const uint64_t[]){dim, rows},
              (uint32_t)ggml_type_of(dtype), 0);
    gb_align(b, 32);
    gb_bytes(b, bytes, n_bytes);
}

/* A model whose embedding is values (rows x dim floats) stored as dtype. */
static tv_model *model_from_values(enum tv_dtype dtype, const float *values, uint64_t rows,
                                   uint64_t dim)
{
    tv_error err = {0};
    uint64_t n_bytes;
    assert_int_equal(tv_dtype_bytes(dtype, rows * dim, &n_bytes, &err), 0);
    uint8_t *bytes = malloc(n_bytes);
    assert_non_null(bytes);
    if (tv_dtype_from_f32(dtype, values, rows * dim, bytes, &err) < 0)
        fail_msg("%s", err.message);
    struct gguf_build b;
    build_gguf(&b, dtype, rows, dim, bytes, n_bytes);
    free(bytes);
    tv_model *m = tv_model_read_memory(b.data, b.len, "built.gguf", NULL, &err);
    gb_release(&b);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

/* The values of a model's embedding as the library decodes them (the "dequantised copy"). */
static float *decoded_values(const tv_model *m)
{
    const struct tv_tensor *t = tv_model_embedding(m);
    float *v = malloc(t->n_elements * sizeof *v);
    assert_non_null(v);
    tv_error err = {0};
    assert_int_equal(tv_tensor_rows_f32(t, 0, t->shape[0], v, &err), 0);
    return v;
}

static float *random_values(uint64_t rows, uint64_t dim)
{
    float *v = malloc(rows * dim * sizeof *v);
    assert_non_null(v);
    for (uint64_t i = 0; i < rows * dim; i++)
        v[i] = (float)rng_uniform();
    return v;
}

/* ---- searches against the reference ---------------------------------------------------- */

static const enum tv_metric metrics[] = {TV_METRIC_COSINE, TV_METRIC_DOT, TV_METRIC_L2};
static const size_t ks[] = {1, 10, 45};

/* For each query id and metric and k: the nearest rows to the row of id (id excluded)
   equal the reference's. */
static void check_token_queries(const tv_model *m, const uint32_t *queries, size_t n_queries)
{
    tv_embed *e = embed_or_fail(m);
    struct ref r = ref_from_tensor(tv_embed_tensor(e));
    struct tv_neighbor want[64], got[64];
    double *q = malloc(r.dim * sizeof *q);
    tv_error err = {0};
    for (size_t qi = 0; qi < n_queries; qi++)
        for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++)
            for (size_t ki = 0; ki < TV_ARRAY_SIZE(ks); ki++) {
                struct tv_search_options opt;
                tv_search_options_init(&opt);
                opt.metric = metrics[mi];
                opt.k = ks[ki];
                size_t n;
                ref_mean(&r, &queries[qi], 1, q);
                double qq = 0;
                for (size_t j = 0; j < r.dim; j++)
                    qq += q[j] * q[j];
                int rc = tv_embed_nearest_mean(e, &queries[qi], 1, &opt, got, &n, &err);
                if (qq == 0 && metrics[mi] == TV_METRIC_COSINE) {
                    /* a zero row (llama's <unk>) has no cosine with anything */
                    assert_int_equal(rc, -1);
                    assert_int_equal(err.code, TV_ERR_USAGE);
                    continue;
                }
                if (rc < 0)
                    fail_msg("%s", err.message);
                size_t n_want = ref_nearest(&r, q, metrics[mi], &queries[qi], 1, ks[ki], want);
                char what[128];
                snprintf(what, sizeof what, "id %u, %s, k %zu", queries[qi],
                         tv_metric_name(metrics[mi]), ks[ki]);
                assert_same_neighbors(want, n_want, got, n, what);
            }
    free(q);
    free(r.v);
    tv_embed_free(e);
}

static void nearest_matches_double_reference_on_stories260k_f32(void **state)
{
    (void)state;
    tv_model *m = open_real(STORIES);
    /* 0..2 specials, 100 and 120 byte tokens in the cluster of near-identical unused
       rows, the rest ordinary pieces */
    const uint32_t queries[] = {0, 1, 2, 100, 120, 131, 259, 300, 400, 511};
    check_token_queries(m, queries, TV_ARRAY_SIZE(queries));
    tv_model_free(m);
}

static void nearest_matches_double_reference_on_tiny_llama_f16(void **state)
{
    (void)state;
    tv_model *m = open_real(TINY_LLAMA);
    const uint32_t queries[] = {0, 1, 2, 13, 100, 6989, 17724, 31999};
    check_token_queries(m, queries, TV_ARRAY_SIZE(queries));
    tv_model_free(m);
}

static void nearest_to_mean_and_to_vector_match_reference(void **state)
{
    (void)state;
    const char *files[] = {STORIES, TINY_LLAMA};
    for (size_t f = 0; f < 2; f++) {
        tv_model *m = open_real(files[f]);
        tv_embed *e = embed_or_fail(m);
        struct ref r = ref_from_tensor(tv_embed_tensor(e));
        struct tv_neighbor want[20], got[20];
        double *q = malloc(r.dim * sizeof *q);
        float *vec = malloc(r.dim * sizeof *vec);
        tv_error err = {0};
        const uint32_t ids[] = {300, 301, 400};
        for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++) {
            struct tv_search_options opt;
            tv_search_options_init(&opt);
            opt.metric = metrics[mi];
            opt.k = 20;
            size_t n;
            /* the mean of three rows; the three are left out */
            assert_int_equal(tv_embed_nearest_mean(e, ids, 3, &opt, got, &n, &err), 0);
            ref_mean(&r, ids, 3, q);
            assert_same_neighbors(want, ref_nearest(&r, q, metrics[mi], ids, 3, 20, want), got, n,
                                  "mean of 300, 301, 400");
            /* a random vector: nothing is left out */
            for (size_t j = 0; j < r.dim; j++)
                q[j] = vec[j] = (float)rng_uniform();
            assert_int_equal(tv_embed_nearest(e, vec, &opt, got, &n, &err), 0);
            assert_same_neighbors(want, ref_nearest(&r, q, metrics[mi], NULL, 0, 20, want), got, n,
                                  "random vector");
        }
        free(q);
        free(vec);
        free(r.v);
        tv_embed_free(e);
        tv_model_free(m);
    }
}

static void analogy_matches_3cosadd_over_unit_vectors(void **state)
{
    (void)state;
    const char *files[] = {STORIES, TINY_LLAMA};
    const uint32_t triples[][3] = {{281, 358, 259}, {300, 301, 400}, {5, 100, 450}, {1, 2, 3}};
    for (size_t f = 0; f < 2; f++) {
        tv_model *m = open_real(files[f]);
        tv_embed *e = embed_or_fail(m);
        struct ref r = ref_from_tensor(tv_embed_tensor(e));
        double *q = malloc(r.dim * sizeof *q);
        for (size_t t = 0; t < TV_ARRAY_SIZE(triples); t++) {
            /* the reference: unit(b) - unit(a) + unit(c), as gensim's most_similar */
            const double weight[3] = {-1, 1, 1};
            for (size_t j = 0; j < r.dim; j++)
                q[j] = 0;
            for (int i = 0; i < 3; i++) {
                const double *x = ref_row(&r, triples[t][i]);
                double norm = 0;
                for (size_t j = 0; j < r.dim; j++)
                    norm += x[j] * x[j];
                norm = sqrt(norm);
                for (size_t j = 0; j < r.dim; j++)
                    q[j] += weight[i] * (x[j] / norm);
            }
            struct tv_neighbor want[10], got[10];
            size_t n_want = ref_nearest(&r, q, TV_METRIC_COSINE, triples[t], 3, 10, want), n;
            struct tv_search_options opt;
            tv_search_options_init(&opt);
            tv_error err = {0};
            if (tv_embed_analogy(e, triples[t][0], triples[t][1], triples[t][2], &opt, got, &n,
                                 &err) < 0)
                fail_msg("%s", err.message);
            assert_same_neighbors(want, n_want, got, n, "analogy");
        }
        free(q);
        free(r.v);
        tv_embed_free(e);
        tv_model_free(m);
    }
}

static void compare_gives_cosine_l2_dot_and_norms_of_the_rows(void **state)
{
    (void)state;
    tv_model *m = open_real(TINY_LLAMA);
    tv_embed *e = embed_or_fail(m);
    struct ref r = ref_from_tensor(tv_embed_tensor(e));
    const uint32_t pairs[][2] = {{0, 1}, {13, 6989}, {100, 100}, {31999, 2}};
    for (size_t p = 0; p < TV_ARRAY_SIZE(pairs); p++) {
        struct tv_similarity s;
        tv_error err = {0};
        assert_int_equal(tv_embed_compare(e, &pairs[p][0], 1, &pairs[p][1], 1, &s, &err), 0);
        const double *x = ref_row(&r, pairs[p][0]), *y = ref_row(&r, pairs[p][1]);
        double dot = 0, xx = 0, yy = 0, dd = 0;
        for (size_t j = 0; j < r.dim; j++) {
            dot += x[j] * y[j];
            xx += x[j] * x[j];
            yy += y[j] * y[j];
            dd += (x[j] - y[j]) * (x[j] - y[j]);
        }
        assert_true(fabs(s.dot - dot) < 1e-12);
        assert_true(fabs(s.norm_x - sqrt(xx)) < 1e-12 && fabs(s.norm_y - sqrt(yy)) < 1e-12);
        double cosine = xx > 0 && yy > 0 ? dot / sqrt(xx * yy) : 0;
        assert_true(fabs(s.cosine - cosine) < 1e-12);
        assert_true(fabs(s.l2 - sqrt(dd)) < 1e-12);
        double norm;
        assert_int_equal(tv_embed_norm(e, pairs[p][0], &norm, &err), 0);
        assert_true(fabs(norm - sqrt(xx)) < 1e-12);
    }
    free(r.v);
    tv_embed_free(e);
    tv_model_free(m);
}

static void lookup_and_mean_return_the_stored_values(void **state)
{
    (void)state;
    tv_model *m = open_real(TINY_LLAMA);
    tv_embed *e = embed_or_fail(m);
    struct ref r = ref_from_tensor(tv_embed_tensor(e));
    const uint32_t ids[] = {31999, 0, 13, 13};
    float rows[4 * 8], mean[8];
    tv_error err = {0};
    assert_int_equal(tv_embed_lookup(e, ids, 4, rows, &err), 0);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 8; j++)
            assert_true(rows[i * 8 + j] == ref_row(&r, ids[i])[j]);
    assert_int_equal(tv_embed_mean(e, ids, 4, mean, &err), 0);
    double q[8];
    ref_mean(&r, ids, 4, q);
    for (size_t j = 0; j < 8; j++)
        assert_true(mean[j] == (float)q[j]);
    free(r.v);
    tv_embed_free(e);
    tv_model_free(m);
}

/* ---- determinism -------------------------------------------------------------------- */

/* Every thread count, kernel set and block size gives bit-identical results. */
static void check_invariance(tv_embed *e, const uint32_t *query, size_t n_query)
{
    const struct tv_embed_kernels *kernels[] = {tv_embed_kernels_best(),
                                                &tv_embed_kernels_portable};
    const unsigned threads[] = {1, 2, 3, 7};
    const size_t blocks[] = {0, 1, 7, 1000};
    for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++) {
        struct tv_search_options opt;
        tv_search_options_init(&opt);
        opt.metric = metrics[mi];
        opt.k = 30;
        struct tv_neighbor first[30], got[30];
        size_t n_first = 0, n;
        tv_error err = {0};
        bool have_first = false;
        for (size_t ki = 0; ki < TV_ARRAY_SIZE(kernels); ki++)
            for (size_t ti = 0; ti < TV_ARRAY_SIZE(threads); ti++)
                for (size_t bi = 0; bi < TV_ARRAY_SIZE(blocks); bi++) {
                    tv_embed_use_kernels(e, kernels[ki]);
                    tv_embed_set_block_rows(e, blocks[bi]);
                    opt.threads = threads[ti];
                    if (tv_embed_nearest_mean(e, query, n_query, &opt, got, &n, &err) < 0)
                        fail_msg("%s", err.message);
                    char what[160];
                    snprintf(what, sizeof what, "%s, kernels %s, %u threads, block %zu rows",
                             tv_metric_name(metrics[mi]), kernels[ki]->name, threads[ti],
                             blocks[bi]);
                    if (!have_first) {
                        memcpy(first, got, n * sizeof *got);
                        n_first = n;
                        have_first = true;
                    } else {
                        assert_identical(first, n_first, got, n, what);
                    }
                }
    }
    tv_embed_set_block_rows(e, 0);
    tv_embed_use_kernels(e, tv_embed_kernels_best());
}

static void results_do_not_depend_on_threads_kernels_or_blocks(void **state)
{
    (void)state;
    const char *files[] = {STORIES, TINY_LLAMA};
    const uint32_t queries[][2] = {{100, 100}, {300, 301}};
    for (size_t f = 0; f < 2; f++) {
        tv_model *m = open_real(files[f]);
        tv_embed *e = embed_or_fail(m);
        check_invariance(e, queries[0], 1);
        check_invariance(e, queries[1], 2);
        tv_embed_free(e);
        tv_model_free(m);
    }
    /* built matrices: odd widths (kernel tails), every fused dtype and a staged one */
    const struct {
        enum tv_dtype dtype;
        uint64_t rows, dim;
    } built[] = {
        {TV_DTYPE_F32, 1001, 37}, {TV_DTYPE_F16, 999, 45}, {TV_DTYPE_BF16, 777, 70},
        {TV_DTYPE_Q8_0, 640, 96}, {TV_DTYPE_Q4_0, 500, 64},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(built); i++) {
        float *v = random_values(built[i].rows, built[i].dim);
        tv_model *m = model_from_values(built[i].dtype, v, built[i].rows, built[i].dim);
        tv_embed *e = embed_or_fail(m);
        const uint32_t query[] = {5, 17};
        check_invariance(e, query, 2);
        tv_embed_free(e);
        tv_model_free(m);
        free(v);
    }
}

static void norm_cache_is_filled_once_and_never_changes_results(void **state)
{
    (void)state;
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = 40;
    struct tv_neighbor a[40], b[40];
    size_t na, nb;
    tv_error err = {0};
    uint32_t id = 120;
    assert_false(tv_embed_norms_cached(e));
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, a, &na, &err), 0);
    assert_true(tv_embed_norms_cached(e));
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, b, &nb, &err), 0);
    assert_identical(a, na, b, nb, "cached norms");
    /* a fresh searcher (no cache) agrees with the cached one, for every metric */
    for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++) {
        opt.metric = metrics[mi];
        tv_embed *fresh = embed_or_fail(m);
        assert_int_equal(tv_embed_nearest_mean(fresh, &id, 1, &opt, a, &na, &err), 0);
        assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, b, &nb, &err), 0);
        assert_identical(a, na, b, nb, tv_metric_name(metrics[mi]));
        tv_embed_free(fresh);
    }
    tv_embed_free(e);
    tv_model_free(m);
}

/* ---- ties, exclusion, dtypes ---------------------------------------------------------------- */

static void identical_rows_tie_and_rank_by_lower_id(void **state)
{
    (void)state;
    float *v = random_values(100, 16);
    for (size_t i = 1; i < 100; i++)
        memcpy(v + i * 16, v, 16 * sizeof *v);
    tv_model *m = model_from_values(TV_DTYPE_F32, v, 100, 16);
    tv_embed *e = embed_or_fail(m);
    for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++) {
        struct tv_search_options opt;
        tv_search_options_init(&opt);
        opt.metric = metrics[mi];
        opt.k = 5;
        opt.threads = 3;
        struct tv_neighbor got[5];
        size_t n;
        tv_error err = {0};
        uint32_t query = 2;
        assert_int_equal(tv_embed_nearest_mean(e, &query, 1, &opt, got, &n, &err), 0);
        const uint32_t want[] = {0, 1, 3, 4, 5};
        assert_int_equal(n, 5);
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(got[i].id, want[i]);
            assert_true(got[i].score == got[0].score);
        }
    }
    tv_embed_free(e);
    tv_model_free(m);
    free(v);
}

/* Rows holding NaN or infinity have no cosine: they are skipped, and the other rows
   rank as they would without them (every row is rescored: the error bound is infinite). */
static void rows_with_nan_or_infinity_are_skipped_by_cosine(void **state)
{
    (void)state;
    float *v = random_values(300, 24);
    v[7 * 24 + 3] = NAN;
    v[8 * 24 + 0] = INFINITY;
    v[9 * 24 + 23] = -INFINITY;
    tv_model *m = model_from_values(TV_DTYPE_F32, v, 300, 24);
    float *clean = malloc(300 * 24 * sizeof *clean);
    memcpy(clean, v, 300 * 24 * sizeof *clean);
    for (int r = 7; r <= 9; r++)
        for (int j = 0; j < 24; j++)
            clean[r * 24 + j] = 0; /* zero rows score 0: ranked last, and k stops before them */
    tv_model *ref_model = model_from_values(TV_DTYPE_F32, clean, 300, 24);
    tv_embed *e = embed_or_fail(m), *ec = embed_or_fail(ref_model);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = 50;
    opt.threads = 2;
    struct tv_neighbor a[50], b[50];
    size_t na, nb;
    tv_error err = {0};
    uint32_t id = 3;
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, a, &na, &err), 0);
    assert_int_equal(tv_embed_nearest_mean(ec, &id, 1, &opt, b, &nb, &err), 0);
    assert_identical(a, na, b, nb, "NaN and infinity rows");
    for (size_t i = 0; i < na; i++)
        assert_true(a[i].id < 7 || a[i].id > 9);
    /* every row asked for: the three are missing, nothing else */
    opt.k = 400;
    struct tv_neighbor all[400];
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, all, &na, &err), 0);
    assert_int_equal(na, 300 - 1 - 3);
    /* a query or an analogy input holding NaN is refused, not treated as zero */
    id = 7;
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, all, &na, &err), -1);
    assert_message(&err, "not a finite");
    opt.k = 5;
    assert_int_equal(tv_embed_analogy(e, 1, 2, 7, &opt, all, &na, &err), -1);
    assert_message(&err, "not a finite");
    tv_embed_free(e);
    tv_embed_free(ec);
    tv_model_free(m);
    tv_model_free(ref_model);
    free(clean);
    free(v);
}

static bool contains_id(const struct tv_neighbor *nb, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (nb[i].id == id)
            return true;
    return false;
}

static void exclusion_rules_hold(void **state)
{
    (void)state;
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    struct tv_neighbor got[600];
    size_t n;
    tv_error err = {0};
    /* the query token is left out of its own neighbours; a vector query keeps it */
    uint32_t id = 300;
    opt.k = 5;
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, got, &n, &err), 0);
    assert_false(contains_id(got, n, 300));
    float row[64];
    assert_int_equal(tv_embed_lookup(e, &id, 1, row, &err), 0);
    assert_int_equal(tv_embed_nearest(e, row, &opt, got, &n, &err), 0);
    assert_int_equal(got[0].id, 300);
    assert_true(fabs(got[0].score - 1.0) < 1e-12);
    /* opt->exclude removes ids, ids past the rows are harmless, repeats too */
    uint32_t first = got[1].id;
    const uint32_t exclude[] = {first, 300, 300, 99999};
    opt.exclude = exclude;
    opt.n_exclude = 4;
    assert_int_equal(tv_embed_nearest(e, row, &opt, got, &n, &err), 0);
    assert_false(contains_id(got, n, first) || contains_id(got, n, 300));
    /* k beyond the rows: every row that is left */
    opt.k = 600;
    assert_int_equal(tv_embed_nearest(e, row, &opt, got, &n, &err), 0);
    assert_int_equal(n, 512 - 2);
    /* analogy leaves a, b and c out even when they are the nearest (b - a + c with
       a == c is b itself) */
    opt.exclude = NULL;
    opt.n_exclude = 0;
    opt.k = 5;
    assert_int_equal(tv_embed_analogy(e, 281, 358, 281, &opt, got, &n, &err), 0);
    assert_false(contains_id(got, n, 281) || contains_id(got, n, 358));
    tv_embed_free(e);
    tv_model_free(m);
}

/* A quantised matrix ranks exactly as the float32 copy of its decoded values. */
static void quantised_matrix_ranks_as_its_dequantised_copy(void **state)
{
    (void)state;
    const struct {
        enum tv_dtype dtype;
        uint64_t rows, dim;
    } cases[] = {
        {TV_DTYPE_Q8_0, 3000, 128}, /* fused Q8_0 kernel */
        {TV_DTYPE_Q4_0, 2000, 64},  /* staged through tv_dtype_to_f32 */
        {TV_DTYPE_BF16, 2500, 40},  /* fused BF16 kernel */
        {TV_DTYPE_F16, 2500, 33},   /* fused F16 kernel, odd width */
    };
    for (size_t c = 0; c < TV_ARRAY_SIZE(cases); c++) {
        if (!tv_dtype_can_from_f32(cases[c].dtype)) {
            print_message("[  SKIP    ] no from-f32 kernel for %s yet\n",
                          tv_dtype_name(cases[c].dtype));
            continue;
        }
        uint64_t rows = cases[c].rows, dim = cases[c].dim;
        float *v = random_values(rows, dim);
        tv_model *quant = model_from_values(cases[c].dtype, v, rows, dim);
        float *decoded = decoded_values(quant);
        tv_model *copy = model_from_values(TV_DTYPE_F32, decoded, rows, dim);
        tv_embed *eq = embed_or_fail(quant), *ec = embed_or_fail(copy);
        struct ref r = ref_from_tensor(tv_embed_tensor(ec));
        double *q = malloc(dim * sizeof *q);
        const uint32_t queries[][2] = {{0, 1}, {77, 78}, {(uint32_t)rows - 1, 5}};
        for (size_t qi = 0; qi < TV_ARRAY_SIZE(queries); qi++)
            for (size_t mi = 0; mi < TV_ARRAY_SIZE(metrics); mi++) {
                struct tv_search_options opt;
                tv_search_options_init(&opt);
                opt.metric = metrics[mi];
                opt.k = 25;
                opt.threads = 2;
                struct tv_neighbor a[25], b[25], want[25];
                size_t na, nb;
                tv_error err = {0};
                for (size_t len = 1; len <= 2; len++) {
                    assert_int_equal(
                        tv_embed_nearest_mean(eq, queries[qi], len, &opt, a, &na, &err), 0);
                    assert_int_equal(
                        tv_embed_nearest_mean(ec, queries[qi], len, &opt, b, &nb, &err), 0);
                    char what[96];
                    snprintf(what, sizeof what, "%s against its F32 copy, %s",
                             tv_dtype_name(cases[c].dtype), tv_metric_name(metrics[mi]));
                    assert_identical(a, na, b, nb, what);
                    ref_mean(&r, queries[qi], len, q);
                    assert_same_neighbors(
                        want, ref_nearest(&r, q, metrics[mi], queries[qi], len, 25, want), a, na,
                        what);
                }
            }
        free(q);
        free(r.v);
        tv_embed_free(eq);
        tv_embed_free(ec);
        tv_model_free(quant);
        tv_model_free(copy);
        free(decoded);
        free(v);
    }
}

/* ---- errors ---------------------------------------------------------------------------- */

static void assert_message(const tv_error *err, const char *needle)
{
    if (!strstr(err->message, needle))
        fail_msg("expected \"%s\" in: %s", needle, err->message);
}

static void errors_name_the_numbers(void **state)
{
    (void)state;
    tv_error err = {0};
    /* a vocabulary without tensors has no embedding */
    tv_model *vocab_only = open_real("gguf/vocab/ggml-vocab-gpt-2.gguf");
    assert_null(tv_embed_new(vocab_only, &err));
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_message(&err, "no token embedding");
    assert_message(&err, "50257-token vocabulary");
    tv_model_free(vocab_only);

    /* a dtype without a to-f32 kernel (IQ2_XXS: 256 values in 66 bytes) */
    uint8_t zeros[2 * 66] = {0};
    struct gguf_build b;
    build_gguf(&b, TV_DTYPE_IQ2_XXS, 2, 256, zeros, sizeof zeros);
    tv_model *iq = tv_model_read_memory(b.data, b.len, "iq.gguf", NULL, &err);
    gb_release(&b);
    assert_non_null(iq);
    assert_null(tv_embed_new(iq, &err));
    assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
    assert_message(&err, "IQ2_XXS");
    tv_model_free(iq);

    tv_model *m = open_real(TINY_LLAMA);
    tv_embed *e = embed_or_fail(m);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    struct tv_neighbor got[10];
    size_t n = 99;
    uint32_t bad = 32000;
    assert_int_equal(tv_embed_nearest_mean(e, &bad, 1, &opt, got, &n, &err), -1);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_message(&err, "token id 32000 has no row");
    assert_message(&err, "32000 rows");
    assert_int_equal(n, 0);
    float row[8];
    assert_int_equal(tv_embed_lookup(e, &bad, 1, row, &err), -1);
    assert_int_equal(tv_embed_analogy(e, 1, 2, bad, &opt, got, &n, &err), -1);
    assert_message(&err, "32000");
    assert_int_equal(tv_embed_mean(e, &bad, 0, row, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);

    float zero[8] = {0};
    assert_int_equal(tv_embed_nearest(e, zero, &opt, got, &n, &err), -1);
    assert_message(&err, "zero");
    opt.metric = TV_METRIC_DOT; /* a zero query is fine for dot and L2 */
    assert_int_equal(tv_embed_nearest(e, zero, &opt, got, &n, &err), 0);
    assert_int_equal(tv_embed_analogy(e, 1, 2, 3, &opt, got, &n, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    opt.metric = TV_METRIC_COSINE;
    float nan_query[8] = {1, 2, NAN, 4, 5, 6, 7, 8};
    assert_int_equal(tv_embed_nearest(e, nan_query, &opt, got, &n, &err), -1);
    assert_message(&err, "value 2");
    opt.k = 0;
    assert_int_equal(tv_embed_nearest_mean(e, &bad, 0, &opt, got, &n, &err), -1);
    opt.k = 10;
    /* a == b leaves unit(c): not an error */
    assert_int_equal(tv_embed_analogy(e, 1, 1, 2, &opt, got, &n, &err), 0);
    tv_embed_free(e);
    tv_model_free(m);

    /* b - a + c is the zero vector when a == b and c is a zero row */
    float values[3 * 32] = {0};
    for (int j = 0; j < 32; j++)
        values[j] = values[32 + j] = (float)(j + 1);
    m = model_from_values(TV_DTYPE_F32, values, 3, 32);
    e = embed_or_fail(m);
    assert_int_equal(tv_embed_analogy(e, 0, 0, 2, &opt, got, &n, &err), -1);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_message(&err, "zero vector");
    /* a zero row scores 0 by cosine (as gensim's unit vectors give) */
    uint32_t first = 0;
    assert_int_equal(tv_embed_nearest_mean(e, &first, 1, &opt, got, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(got[0].id, 1);
    assert_int_equal(got[1].id, 2);
    assert_true(got[1].score == 0);
    tv_embed_free(e);
    tv_model_free(m);
}

/* ---- out of memory -------------------------------------------------------------------------- */

static void failed_allocations_are_reported_and_leak_nothing(void **state)
{
    (void)state;
    tv_model *m = open_real(STORIES);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.threads = 2;
    struct tv_neighbor got[10];
    size_t n;
    uint32_t ids[] = {300, 301};
    bool done = false;
    for (long budget = 0; !done && budget < 200; budget++) {
        tv_error err = {0};
        failalloc_begin(budget);
        tv_embed *e = tv_embed_new(m, &err);
        if (e)
            tv_embed_set_min_bytes_per_thread(e, 0);
        int rc = e ? tv_embed_nearest_mean(e, ids, 2, &opt, got, &n, &err) : -1;
        if (rc == 0 && e)
            rc = tv_embed_analogy(e, 300, 301, 400, &opt, got, &n, &err);
        failalloc_end();
        if (rc < 0)
            assert_int_equal(err.code, TV_ERR_NOMEM);
        else
            done = true;
        tv_embed_free(e);
    }
    assert_true(done);
    tv_model_free(m);
}

/* ---- the commands ------------------------------------------------------------------------- */

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle)) {
        fprintf(stderr, "---- output ----\n%s\n----------------\n", haystack ? haystack : "(null)");
        fail_msg("expected to find: %s", needle);
    }
}

static cJSON *parse_json_or_fail(const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    if (!doc)
        fail_msg("not JSON: %s", text);
    return doc;
}

static void cli_similar_prints_the_library_results(void **state)
{
    (void)state;
    const char *path = real_fixture(STORIES);
    char *out = NULL, *err = NULL;
    /* " ha" is spelled "▁ha" in this SentencePiece vocabulary */
    assert_int_equal(run_cli(&out, &err, "similar", path, " ha", "-k", "5", "--json", NULL), 0);
    cJSON *doc = parse_json_or_fail(out);
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = 5;
    struct tv_neighbor want[5];
    size_t n;
    tv_error terr = {0};
    uint32_t id = 300;
    assert_int_equal(tv_embed_nearest_mean(e, &id, 1, &opt, want, &n, &terr), 0);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    assert_int_equal(cJSON_GetArraySize(results), 5);
    for (int i = 0; i < 5; i++) {
        const cJSON *r = cJSON_GetArrayItem(results, i);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "rank")->valuedouble, i + 1);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valuedouble, want[i].id);
        assert_true(
            fabs(cJSON_GetObjectItemCaseSensitive(r, "score")->valuedouble - want[i].score) < 1e-8);
        const struct tv_token *t = tv_vocab_token(m, want[i].id);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "token")->valuestring, t->text);
    }
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(doc, "query");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(query, "kind")->valuestring, "token");
    assert_int_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(query, "ids"), 0)->valuedouble, 300);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "metric")->valuestring, "cosine");
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);

    /* the text table: the query, then rank, id, token, score */
    assert_int_equal(run_cli(&out, &err, "similar", path, "▁ha", "-k", "3", "--threads", "2", NULL),
                     0);
    assert_contains(out, "nearest to \"▁ha\" (300 \"▁ha\")");
    assert_contains(out, "rank");
    char line[128];
    snprintf(line, sizeof line, "1  %u  \"%s\"", want[0].id, tv_vocab_token(m, want[0].id)->text);
    assert_contains(out, line);
    snprintf(line, sizeof line, "%.6f", want[0].score);
    assert_contains(out, line);
    tv_free(out);
    tv_free(err);

    /* several ids: their mean, all of them left out */
    assert_int_equal(run_cli(&out, &err, "similar", path, "--ids", "300", "301", "--metric", "l2",
                             "--json", NULL), 0);
    doc = parse_json_or_fail(out);
    opt.metric = TV_METRIC_L2;
    opt.k = 10;
    const uint32_t ids[] = {300, 301};
    struct tv_neighbor want10[10];
    assert_int_equal(tv_embed_nearest_mean(e, ids, 2, &opt, want10, &n, &terr), 0);
    results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    assert_int_equal(cJSON_GetArraySize(results), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(results, i), "id")->valuedouble,
            want10[i].id);
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);
    tv_embed_free(e);
    tv_model_free(m);
}

static void cli_analogy_and_distance_print_the_library_results(void **state)
{
    (void)state;
    const char *path = real_fixture(STORIES);
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    tv_error terr = {0};
    char *out = NULL, *err = NULL;
    /* " him" is no token of this 512-token vocabulary: an error whether or not its
       tokenizer can split it (analogy takes one token each) */
    assert_int_equal(
        run_cli(&out, &err, "analogy", path, " he", " she", " him", "-k", "4", "--json", NULL), 1);
    assert_contains(err, "\" him\" is ");
    tv_free(out);
    tv_free(err);
    assert_int_equal(
        run_cli(&out, &err, "analogy", path, "▁he", "▁she", "▁was", "-k", "4", "--json", NULL), 0);
    cJSON *doc = parse_json_or_fail(out);
    uint32_t he, she, was;
    assert_int_equal(tv_vocab_find(m, "▁he", strlen("▁he"), &he), 0);
    assert_int_equal(tv_vocab_find(m, "▁she", strlen("▁she"), &she), 0);
    assert_int_equal(tv_vocab_find(m, "▁was", strlen("▁was"), &was), 0);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = 4;
    struct tv_neighbor want[4];
    size_t n;
    assert_int_equal(tv_embed_analogy(e, he, she, was, &opt, want, &n, &terr), 0);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    assert_int_equal(cJSON_GetArraySize(results), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(results, i), "id")->valuedouble,
            want[i].id);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "method")->valuestring, "3CosAdd");
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);

    assert_int_equal(run_cli(&out, &err, "analogy", path, "▁he", "▁she", "▁was", "-k", "4", NULL),
                     0);
    assert_contains(out, "\"▁he\" is to");
    assert_contains(out, "3CosAdd");
    tv_free(out);
    tv_free(err);

    assert_int_equal(run_cli(&out, &err, "distance", path, " he", " she", "--json", NULL), 0);
    doc = parse_json_or_fail(out);
    struct tv_similarity s;
    assert_int_equal(tv_embed_compare(e, &he, 1, &she, 1, &s, &terr), 0);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(doc, "cosine")->valuedouble - s.cosine) <
                1e-8);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(doc, "l2")->valuedouble - s.l2) < 1e-8);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(doc, "dot")->valuedouble - s.dot) < 1e-7);
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "distance", path, "--ids", "281", "358", NULL), 0);
    char line[64];
    snprintf(line, sizeof line, "cosine  %.6f", s.cosine);
    assert_contains(out, line);
    snprintf(line, sizeof line, "l2      %.6f", s.l2);
    assert_contains(out, line);
    tv_free(out);
    tv_free(err);
    tv_embed_free(e);
    tv_model_free(m);
}

/* Reads an .npy written by tokvec embed: checks the 1.0 header rules and returns the
   data (rows x cols floats). */
static float *parse_npy(const char *path, uint64_t rows, uint64_t cols)
{
    size_t len;
    uint8_t *buf = read_file_or_fail(path, &len);
    assert_true(len >= 10);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
    size_t header_len = buf[8] | buf[9] << 8;
    assert_int_equal((10 + header_len) % 64, 0); /* data aligned to 64 bytes */
    assert_int_equal(buf[10 + header_len - 1], '\n');
    char want[128];
    snprintf(want, sizeof want, "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu, %llu), }",
             (unsigned long long)rows, (unsigned long long)cols);
    assert_memory_equal(buf + 10, want, strlen(want));
    for (size_t i = 10 + strlen(want); i < 10 + header_len - 1; i++)
        assert_int_equal(buf[i], ' ');
    assert_int_equal(len, 10 + header_len + rows * cols * 4);
    float *data = malloc(rows * cols * sizeof *data);
    for (uint64_t i = 0; i < rows * cols; i++) {
        const uint8_t *p = buf + 10 + header_len + 4 * i;
        uint32_t bits =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&data[i], &bits, 4);
    }
    tv_free(buf);
    return data;
}

/* A Python that has NumPy: the one on PATH, else Debian's (python3-numpy installs
   for /usr/bin/python3, which a pyenv or venv python3 on PATH does not see). */
static const char *python_with_numpy(void)
{
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(pythons); i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) == 0)
            return pythons[i];
    }
    return NULL;
}

static void cli_embed_writes_npy_that_parses_back(void **state)
{
    (void)state;
    const char *path = real_fixture(TINY_LLAMA);
    char *dir = make_temp_dir();
    char npy[512], mean_npy[512];
    snprintf(npy, sizeof npy, "%s/rows.npy", dir);
    snprintf(mean_npy, sizeof mean_npy, "%s/mean.npy", dir);
    char *out = NULL, *err = NULL;
    assert_int_equal(
        run_cli(&out, &err, "embed", path, "--ids", "13", "6989", "31999", "--npy", npy, NULL), 0);
    assert_contains(out, "--ids -> 3 tokens: 13 ");
    assert_contains(out, "(8 dims; --full for all)");
    assert_contains(out, "wrote ");
    tv_free(out);
    tv_free(err);
    tv_model *m = open_real(TINY_LLAMA);
    tv_embed *e = embed_or_fail(m);
    const uint32_t ids[] = {13, 6989, 31999};
    float want[24], mean[8];
    tv_error terr = {0};
    assert_int_equal(tv_embed_lookup(e, ids, 3, want, &terr), 0);
    float *got = parse_npy(npy, 3, 8);
    assert_memory_equal(got, want, sizeof want);
    free(got);
    /* an existing file is kept unless --force */
    assert_int_equal(run_cli(&out, &err, "embed", path, "--ids", "13", "--npy", npy, NULL), 1);
    assert_contains(err, "rows.npy");
    tv_free(out);
    tv_free(err);
    got = parse_npy(npy, 3, 8);
    free(got);
    assert_int_equal(run_cli(&out, &err, "embed", path, "--ids", "13", "6989", "31999", "--pool",
                             "mean", "--npy", mean_npy, "--json", NULL),
                     0);
    cJSON *doc = parse_json_or_fail(out);
    assert_int_equal(tv_embed_mean(e, ids, 3, mean, &terr), 0);
    const cJSON *values =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "mean"), "values");
    assert_int_equal(cJSON_GetArraySize(values), 8);
    for (int j = 0; j < 8; j++)
        assert_true((float)cJSON_GetArrayItem(values, j)->valuedouble == mean[j]);
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);
    got = parse_npy(mean_npy, 1, 8);
    assert_memory_equal(got, mean, sizeof mean);
    free(got);

    /* the text output: one line per token with its norm and first values */
    assert_int_equal(run_cli(&out, &err, "embed", path, "--ids", "13", "--full", NULL), 0);
    char line[64];
    double norm;
    assert_int_equal(tv_embed_norm(e, 13, &norm, &terr), 0);
    snprintf(line, sizeof line, "13  norm %.6g  [", norm);
    assert_contains(out, line);
    tv_free(out);
    tv_free(err);
    tv_embed_free(e);
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

static void cli_embed_npy_loads_in_numpy(void **state)
{
    (void)state;
    const char *path = real_fixture(STORIES);
    const char *python = python_with_numpy();
    if (!python) {
        print_message("[  SKIP    ] no python3 with NumPy (python3, /usr/bin/python3): the .npy "
                      "is not loaded with numpy.load (apt-get install python3-numpy)\n");
        skip();
    }
    char *dir = make_temp_dir();
    char npy[512], raw[512], cmd[2048];
    snprintf(npy, sizeof npy, "%s/rows.npy", dir);
    snprintf(raw, sizeof raw, "%s/rows.f32", dir);
    assert_int_equal(
        run_cli(NULL, NULL, "embed", path, "--ids", "0", "300", "511", "--npy", npy, NULL), 0);
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    const uint32_t ids[] = {0, 300, 511};
    float want[3 * 64];
    tv_error terr = {0};
    assert_int_equal(tv_embed_lookup(e, ids, 3, want, &terr), 0);
    FILE *f = fopen(raw, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(want, sizeof want, 1, f), 1);
    fclose(f);
    snprintf(
        cmd, sizeof cmd,
        "%s -c \"import numpy as np, sys; a = np.load(sys.argv[1]); "
        "b = np.fromfile(sys.argv[2], dtype='<f4').reshape(3, 64); "
        "sys.exit(0 if a.dtype == np.float32 and a.shape == (3, 64) and (a == b).all() else 1)\" "
        "'%s' '%s'",
        python, npy, raw);
    assert_int_equal(system(cmd), 0);
    tv_embed_free(e);
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

/* An .npy written here, byte by byte, with header text and data chosen by the case. */
static void write_npy(const char *path, const char *version, const char *dict, const void *data,
                      size_t data_len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t len = strlen(dict) + 1;
    fwrite("\x93NUMPY", 1, 6, f);
    fwrite(version, 1, 2, f);
    uint8_t hl[4] = {(uint8_t)len, (uint8_t)(len >> 8), 0, 0};
    fwrite(hl, 1, version[0] == 1 ? 2 : 4, f);
    fputs(dict, f);
    fputc('\n', f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
}

static void cli_similar_reads_vector_files_and_refuses_bad_ones(void **state)
{
    (void)state;
    const char *path = real_fixture(STORIES);
    char *dir = make_temp_dir();
    char npy[512];
    snprintf(npy, sizeof npy, "%s/q.npy", dir);
    tv_model *m = open_real(STORIES);
    tv_embed *e = embed_or_fail(m);
    float row[64];
    double row64[64];
    uint32_t id = 400;
    tv_error terr = {0};
    assert_int_equal(tv_embed_lookup(e, &id, 1, row, &terr), 0);
    for (int j = 0; j < 64; j++)
        row64[j] = row[j];
    const char *good[][2] = {
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }"},
        {"\x02\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 64), }"},
        {"\x01\x00", "{\"shape\": (64, ), \"descr\": \"<f4\", \"fortran_order\": True}"},
        {"\x03\x00", "{'descr': '<f8', 'fortran_order': False, 'shape': (64,), }"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(good); i++) {
        bool f64 = strstr(good[i][1], "<f8") != NULL;
        write_npy(npy, good[i][0], good[i][1], f64 ? (const void *)row64 : (const void *)row,
                  f64 ? sizeof row64 : sizeof row);
        char *out = NULL, *err = NULL;
        assert_int_equal(run_cli(&out, &err, "similar", path, "--vector", npy, "-k", "2", NULL), 0);
        /* the row itself is nearest: a vector query leaves nothing out */
        assert_contains(out, "1  400  \"▁do\"");
        assert_contains(out, "1.000000");
        assert_contains(out, "the vector in");
        tv_free(out);
        tv_free(err);
    }
    const struct {
        const char *version, *dict;
        size_t data_len;
        const char *message;
    } bad[] = {
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12,
         "holds 3 values; embedding 'token_embd.weight' has 64 per row"},
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }", 100,
         "needs 256 bytes of data; the file has 100"},
        {"\x01\x00", "{'descr': '<i4', 'fortran_order': False, 'shape': (64,), }", 256,
         "must be float32"},
        {"\x01\x00", "{'descr': '>f4', 'fortran_order': False, 'shape': (64,), }", 256,
         "must be float32"},
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 32), }", 256,
         "a query is one vector"},
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (-64,), }", 256,
         "unreadable .npy shape"},
        {"\x01\x00", "{'descr': '<f4', 'fortran_order': False}", 256, "without a shape"},
        {"\x07\x00", "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }", 256,
         "format version 7.0"},
    };
    uint8_t data[256] = {0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        write_npy(npy, bad[i].version, bad[i].dict, data, bad[i].data_len);
        char *out = NULL, *err = NULL;
        assert_int_equal(run_cli(&out, &err, "similar", path, "--vector", npy, NULL), 1);
        assert_contains(err, bad[i].message);
        tv_free(out);
        tv_free(err);
    }
    /* not an .npy at all, and a header length past the end */
    FILE *f = fopen(npy, "wb");
    fputs("not numpy at all", f);
    fclose(f);
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "similar", path, "--vector", npy, NULL), 1);
    assert_contains(err, "not a NumPy .npy file");
    tv_free(out);
    tv_free(err);
    f = fopen(npy, "wb");
    fwrite("\x93NUMPY\x01\x00\xff\xff{'descr'", 1, 18, f);
    fclose(f);
    assert_int_equal(run_cli(&out, &err, "similar", path, "--vector", npy, NULL), 1);
    assert_contains(err, "runs past the end of the file");
    tv_free(out);
    tv_free(err);
    tv_embed_free(e);
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

static void cli_errors_exit_1_and_usage_errors_exit_2(void **state)
{
    (void)state;
    /* real_fixture returns a static buffer: keep copies */
    char *stories = tv_strdup(real_fixture(STORIES));
    char *vocab_only = tv_strdup(real_fixture("gguf/vocab/ggml-vocab-gpt-2.gguf"));
    char *words = tv_strdup(real_fixture(HAMLET));
    char *gpt2 = tv_strdup(real_fixture(GPT2_FOLDER));
    const struct {
        const char *args[8];
        int rc;
        const char *message;
    } cases[] = {
        {{"similar", words, "king", "-k", "3"}, 0, "nearest to \"king\" (159 \"king\")"},
        {{"similar", words, "king queen"}, 1, "\"king queen\" is not a word of"}, /* not split */
        {{"similar", words, "nosuchword"}, 1, "\"nosuchword\" is not a word of"},
        {{"similar", words, "nosuchword"}, 1, "(2631 words)"},
        {{"analogy", gpt2, "new york", " king", " queen"}, 1, "\"new york\" is 3 tokens (3605 "},
        {{"similar", gpt2, " "}, 0, "nearest to \" \" (220 \"Ġ\")"},
        {{"similar", stories, ""}, 1, "the text is empty"},
        {{"embed", stories, ""}, 1, "the text is empty"},
        {{"similar", vocab_only, "hello"}, 1, "no token embedding"},
        {{"embed", vocab_only, "--ids", "1"}, 1, "no token embedding"},
        {{"similar", stories, "--ids", "512"}, 1, "token id 512 has no row: embedding "
                                                  "'token_embd.weight' has 512 rows"},
        {{"distance", stories, "--ids", "1", "99999"}, 1, "token id 99999 has no row"},
        {{"analogy", stories, "a", "b"}, 2, "expected MODEL A B C"},
        {{"similar", stories, "▁ha", "-k", "0"}, 2, "-k '0'"},
        {{"similar", stories, "▁ha", "--metric", "manhattan"}, 2, "--metric 'manhattan'"},
        {{"similar", stories, "▁ha", "--threads", "0"}, 2, "--threads '0'"},
        {{"similar", stories, "--ids", "x1"}, 2, "'x1' is not a token id"},
        {{"embed", stories, "--ids", "1", "--pool", "max"}, 2, "--pool 'max'"},
        {{"distance", stories, "▁ha"}, 2, "expected MODEL X Y"},
        {{"similar", "/nonexistent/model.gguf", "x"}, 1, "/nonexistent/model.gguf"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        const char *const *a = cases[i].args;
        char *out = NULL, *err = NULL;
        int rc = run_cli(&out, &err, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], NULL);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s %s): exit %d, expected %d; stderr: %s", i, a[0],
                     a[2] ? a[2] : "", rc, cases[i].rc, err);
        if (cases[i].rc) {
            assert_contains(err, "tokvec: ");
            assert_contains(err, cases[i].message);
        } else {
            assert_contains(out, cases[i].message);
        }
        tv_free(out);
        tv_free(err);
    }
    const char *commands[] = {"embed", "similar", "analogy", "distance"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(commands); i++) {
        char *out = NULL;
        assert_int_equal(run_cli(&out, NULL, "help", commands[i], NULL), 0);
        assert_contains(out, "usage: tokvec ");
        tv_free(out);
    }
    tv_free(stories);
    tv_free(vocab_only);
    tv_free(words);
    tv_free(gpt2);
}

/* Texts go through the model's tokenizer (tokenizer.json here): embed as `encode`
   does, similar and distance with the mean of several tokens. */
static void cli_text_queries_use_the_tokenizer(void **state)
{
    (void)state;
    char *folder = tv_strdup(real_fixture(GPT2_FOLDER));
    tv_model *m = open_real(GPT2_FOLDER);
    tv_embed *e = embed_or_fail(m);
    tv_error terr = {0};
    char *out = NULL, *err = NULL;
    /* the first line of expected/gpt2.mixed.ids, from Hugging Face tokenizers */
    const uint32_t hello[] = {15496, 11, 703, 389, 345, 30};
    assert_int_equal(run_cli(&out, &err, "embed", folder, "Hello, how are you?", "--json", NULL), 0);
    cJSON *doc = parse_json_or_fail(out);
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(doc, "query");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(query, "kind")->valuestring, "text");
    const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(doc, "vectors");
    assert_int_equal(cJSON_GetArraySize(vectors), 6);
    float row[16];
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetArrayItem(vectors, i);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "id")->valuedouble, hello[i]);
        assert_int_equal(tv_embed_lookup(e, &hello[i], 1, row, &terr), 0);
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(v, "values");
        for (int j = 0; j < 16; j++)
            assert_true((float)cJSON_GetArrayItem(values, j)->valuedouble == row[j]);
    }
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);

    /* a text of two tokens: their mean, both left out, said so in the output */
    assert_int_equal(run_cli(&out, &err, "similar", folder, "Hello world", "-k", "4", NULL), 0);
    assert_contains(out, "nearest to the mean of the 2 tokens of \"Hello world\": 15496 "
                         "\"Hello\", 995 \"Ġworld\"");
    tv_free(out);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "similar", folder, "Hello world", "-k", "4", "--json",
                             NULL), 0);
    doc = parse_json_or_fail(out);
    const uint32_t ids[] = {15496, 995};
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = 4;
    struct tv_neighbor want[4];
    size_t n;
    assert_int_equal(tv_embed_nearest_mean(e, ids, 2, &opt, want, &n, &terr), 0);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    assert_int_equal(cJSON_GetArraySize(results), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(results, i), "id")->valuedouble,
            want[i].id);
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);

    /* " king" is one token, "Ġking", as the tokenizer also says */
    assert_int_equal(run_cli(&out, &err, "distance", folder, " king", "Hello world", "--json",
                             NULL), 0);
    doc = parse_json_or_fail(out);
    uint32_t king;
    assert_int_equal(tv_vocab_find(m, "Ġking", strlen("Ġking"), &king), 0);
    struct tv_similarity sim;
    assert_int_equal(tv_embed_compare(e, &king, 1, ids, 2, &sim, &terr), 0);
    assert_int_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(doc, "x"), "ids"), 0)->valuedouble,
        king);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(doc, "cosine")->valuedouble - sim.cosine) <
                1e-8);
    cJSON_Delete(doc);
    tv_free(out);
    tv_free(err);
    tv_embed_free(e);
    tv_model_free(m);
    tv_free(folder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nearest_matches_double_reference_on_stories260k_f32),
        cmocka_unit_test(nearest_matches_double_reference_on_tiny_llama_f16),
        cmocka_unit_test(nearest_to_mean_and_to_vector_match_reference),
        cmocka_unit_test(analogy_matches_3cosadd_over_unit_vectors),
        cmocka_unit_test(compare_gives_cosine_l2_dot_and_norms_of_the_rows),
        cmocka_unit_test(lookup_and_mean_return_the_stored_values),
        cmocka_unit_test(results_do_not_depend_on_threads_kernels_or_blocks),
        cmocka_unit_test(norm_cache_is_filled_once_and_never_changes_results),
        cmocka_unit_test(identical_rows_tie_and_rank_by_lower_id),
        cmocka_unit_test(exclusion_rules_hold),
        cmocka_unit_test(rows_with_nan_or_infinity_are_skipped_by_cosine),
        cmocka_unit_test(quantised_matrix_ranks_as_its_dequantised_copy),
        cmocka_unit_test(errors_name_the_numbers),
        cmocka_unit_test(failed_allocations_are_reported_and_leak_nothing),
        cmocka_unit_test(cli_similar_prints_the_library_results),
        cmocka_unit_test(cli_analogy_and_distance_print_the_library_results),
        cmocka_unit_test(cli_embed_writes_npy_that_parses_back),
        cmocka_unit_test(cli_embed_npy_loads_in_numpy),
        cmocka_unit_test(cli_similar_reads_vector_files_and_refuses_bad_ones),
        cmocka_unit_test(cli_errors_exit_1_and_usage_errors_exit_2),
        cmocka_unit_test(cli_text_queries_use_the_tokenizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
