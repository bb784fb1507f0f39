/*
 * tokvec report: the numbers behind the charts. Unicode scripts of known strings; the
 * part of a tensor by its GGUF and Hugging Face names; PCA against a reference computed
 * here by a different method (Jacobi rotations on the covariance); token type, length
 * and script counts, the longest tokens, the norm histogram with its low-norm, NaN and
 * zero rows, and the word map on hand-built models; the real fixtures; failing
 * allocations; the CLI's files, JSON and exit codes. The page itself is checked in a
 * browser by tests/test_report_browser.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/failalloc.h"
#include "support/testutil.h"
#include "tokvec/embed.h"
#include "tokvec/report.h"
#include "tokvec/tokenizer.h"

#define ROOT "/tmp/report-model"
#define STORIES "gguf/weights/stories260K.gguf"
#define GPT2_FOLDER "safetensors/tiny-llm-cicd-gpt2-vocab50257"

/* ---- scripts ------------------------------------------------------------------------------ */

static void script_of_reads_letters_by_block(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        enum tv_script script;
    } cases[] = {
        {'a', TV_SCRIPT_LATIN},        {'Z', TV_SCRIPT_LATIN},
        {0xE9, TV_SCRIPT_LATIN},       /* é */
        {0x0142, TV_SCRIPT_LATIN},     /* ł, Latin Extended-A */
        {0x1EA1, TV_SCRIPT_LATIN},     /* ạ, Latin Extended Additional */
        {0xFF21, TV_SCRIPT_LATIN},     /* fullwidth A */
        {0x044F, TV_SCRIPT_CYRILLIC},  /* я */
        {0x03B1, TV_SCRIPT_GREEK},     /* α */
        {0x1F00, TV_SCRIPT_GREEK},     /* ἀ, Greek Extended */
        {0x0561, TV_SCRIPT_ARMENIAN},  {0x05D0, TV_SCRIPT_HEBREW},
        {0x0628, TV_SCRIPT_ARABIC},    {0xFEB3, TV_SCRIPT_ARABIC}, /* presentation form */
        {0x0915, TV_SCRIPT_DEVANAGARI}, {0x093F, TV_SCRIPT_DEVANAGARI}, /* vowel sign i */
        {0x0995, TV_SCRIPT_BENGALI},   {0x0B95, TV_SCRIPT_TAMIL},
        {0x0E01, TV_SCRIPT_THAI},      {0x10D0, TV_SCRIPT_GEORGIAN},
        {0xD55C, TV_SCRIPT_HANGUL},    /* 한 */
        {0x1100, TV_SCRIPT_HANGUL},    /* a Jamo */
        {0x3042, TV_SCRIPT_HIRAGANA},  /* あ */
        {0x30A2, TV_SCRIPT_KATAKANA},  /* ア */
        {0xFF71, TV_SCRIPT_KATAKANA},  /* halfwidth ア */
        {0x4E2D, TV_SCRIPT_HAN},       /* 中 */
        {0x3400, TV_SCRIPT_HAN},       /* Extension A */
        {0x20000, TV_SCRIPT_HAN},      /* Extension B */
        {0x3105, TV_SCRIPT_BOPOMOFO},
        {0x13A0, TV_SCRIPT_OTHER},     /* Cherokee: a letter of an unlisted script */
        {'1', TV_SCRIPT_COMMON},       {'!', TV_SCRIPT_COMMON},
        {' ', TV_SCRIPT_COMMON},       {0x0966, TV_SCRIPT_COMMON}, /* Devanagari digit zero */
        {0x060C, TV_SCRIPT_COMMON},    /* Arabic comma: punctuation */
        {0x0301, TV_SCRIPT_COMMON},    /* combining acute: no script of its own */
        {0x1F600, TV_SCRIPT_COMMON},   /* an emoji */
        {0x3002, TV_SCRIPT_COMMON},    /* ideographic full stop */
        {0x110000, TV_SCRIPT_COMMON},  /* not a code point */
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        enum tv_script got = tv_script_of(cases[i].cp);
        if (got != cases[i].script)
            fail_msg("U+%04X: got %s, expected %s", (unsigned)cases[i].cp, tv_script_name(got),
                     tv_script_name(cases[i].script));
    }
}

static void text_script_names_one_script_mixed_none_or_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum tv_script script;
    } cases[] = {
        {"hello", TV_SCRIPT_LATIN},
        {" caf\xc3\xa9!", TV_SCRIPT_LATIN},
        {"he\xcc\x81llo", TV_SCRIPT_LATIN},                     /* combining acute */
        {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", TV_SCRIPT_CYRILLIC}, /* привет */
        {"\xe6\x9d\xb1\xe4\xba\xac", TV_SCRIPT_HAN},             /* 東京 */
        {"\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xa7\xe3\x81\x99", TV_SCRIPT_MIXED}, /* 東京です */
        {"\xce\xa9mega", TV_SCRIPT_MIXED},                      /* Ωmega */
        {"\xe0\xa4\x95\xe0\xa4\xbf", TV_SCRIPT_DEVANAGARI},      /* कि */
        {"123 !?", TV_SCRIPT_COMMON},
        {"", TV_SCRIPT_COMMON},
        {"\xf0\x9f\x98\x80", TV_SCRIPT_COMMON},                  /* emoji */
        {"\xe4", TV_SCRIPT_BYTES},                               /* a cut character */
        {"abc\xff", TV_SCRIPT_BYTES},
        {"\xce\xa9m\xc3", TV_SCRIPT_BYTES},                      /* bad bytes after mixed */
        {"\xed\xa0\x80", TV_SCRIPT_BYTES},                       /* a surrogate */
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        enum tv_script got = tv_text_script(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].script)
            fail_msg("case %zu: got %s, expected %s", i, tv_script_name(got),
                     tv_script_name(cases[i].script));
    }
    assert_string_equal(tv_script_name(TV_SCRIPT_HAN), "Han");
    assert_string_equal(tv_script_name(TV_SCRIPT_COMMON), "no letters");
    assert_string_equal(tv_script_name(TV_SCRIPT_COUNT), "?");
}

/* ---- tensor parts --------------------------------------------------------------------------- */

static void tensor_parts_follow_gguf_and_hugging_face_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum tv_tensor_part part;
    } cases[] = {
        {"token_embd.weight", TV_PART_EMBEDDING},
        {"position_embd.weight", TV_PART_EMBEDDING},
        {"output.weight", TV_PART_OUTPUT},
        {"output_norm.weight", TV_PART_NORM},
        {"blk.0.attn_q.weight", TV_PART_ATTENTION},
        {"blk.3.attn_output.weight", TV_PART_ATTENTION},
        {"blk.0.attn_norm.weight", TV_PART_NORM},
        {"blk.0.ffn_norm.weight", TV_PART_NORM},
        {"blk.0.ffn_gate.weight", TV_PART_MLP},
        {"blk.0.ffn_down_exps.weight", TV_PART_MLP},
        {"rope_freqs.weight", TV_PART_OTHER},
        {"model.embed_tokens.weight", TV_PART_EMBEDDING},
        {"model.layers.0.self_attn.q_proj.weight", TV_PART_ATTENTION},
        {"model.layers.0.self_attn.o_proj.weight", TV_PART_ATTENTION},
        {"model.layers.0.mlp.down_proj.weight", TV_PART_MLP},
        {"model.layers.0.input_layernorm.weight", TV_PART_NORM},
        {"model.layers.0.post_attention_layernorm.weight", TV_PART_NORM},
        {"model.layers.1.block_sparse_moe.gate.weight", TV_PART_MLP},
        {"model.layers.1.block_sparse_moe.experts.0.w1.weight", TV_PART_MLP},
        {"model.norm.weight", TV_PART_NORM},
        {"lm_head.weight", TV_PART_OUTPUT},
        {"transformer.wte.weight", TV_PART_EMBEDDING},
        {"transformer.wpe.weight", TV_PART_EMBEDDING},
        {"transformer.h.0.ln_1.weight", TV_PART_NORM},
        {"transformer.h.0.attn.c_attn.weight", TV_PART_ATTENTION},
        {"transformer.h.0.attn.c_proj.bias", TV_PART_ATTENTION},
        {"transformer.h.0.mlp.c_fc.weight", TV_PART_MLP},
        {"transformer.h.0.mlp.c_proj.weight", TV_PART_MLP},
        {"transformer.ln_f.weight", TV_PART_NORM},
        {"bert.embeddings.word_embeddings.weight", TV_PART_EMBEDDING},
        {"bert.embeddings.LayerNorm.weight", TV_PART_NORM},
        {"bert.encoder.layer.0.attention.self.query.weight", TV_PART_ATTENTION},
        {"bert.encoder.layer.0.attention.output.dense.weight", TV_PART_ATTENTION},
        {"bert.encoder.layer.0.intermediate.dense.weight", TV_PART_MLP},
        {"bert.encoder.layer.0.output.dense.weight", TV_PART_MLP},
        {"bert.encoder.layer.0.output.LayerNorm.weight", TV_PART_NORM},
        {"bert.pooler.dense.weight", TV_PART_OTHER},
        {"cls.predictions.decoder.weight", TV_PART_OUTPUT},
        {"layers.0.attention.wq.weight", TV_PART_ATTENTION},
        {"layers.0.feed_forward.w1.weight", TV_PART_MLP},
        {"gpt_neox.embed_in.weight", TV_PART_EMBEDDING},
        {"embed_out.weight", TV_PART_OUTPUT},
        {"shared.weight", TV_PART_EMBEDDING},
        {"encoder.block.0.layer.0.SelfAttention.q.weight", TV_PART_ATTENTION},
        {"encoder.block.0.layer.1.DenseReluDense.wi.weight", TV_PART_MLP},
        {"classifier.weight", TV_PART_OTHER},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        enum tv_tensor_part got = tv_tensor_part_of(cases[i].name);
        if (got != cases[i].part)
            fail_msg("%s: got %s, expected %s", cases[i].name, tv_tensor_part_name(got),
                     tv_tensor_part_name(cases[i].part));
    }
}

/* ---- PCA against Jacobi ------------------------------------------------------------------------ */

/* The eigenvalues (descending) and eigenvectors (columns of V) of the symmetric s x s
   matrix A, by cyclic Jacobi rotations: a method unrelated to power iteration. */
static void jacobi_eigen(double *A, size_t s, double *values, double *V)
{
    for (size_t i = 0; i < s; i++)
        for (size_t j = 0; j < s; j++)
            V[i * s + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (size_t p = 0; p < s; p++)
            for (size_t q = p + 1; q < s; q++)
                off += A[p * s + q] * A[p * s + q];
        if (off < 1e-30)
            break;
        for (size_t p = 0; p < s; p++)
            for (size_t q = p + 1; q < s; q++) {
                if (fabs(A[p * s + q]) < 1e-300)
                    continue;
                double theta = (A[q * s + q] - A[p * s + p]) / (2 * A[p * s + q]);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (size_t k = 0; k < s; k++) { /* A = A J */
                    double akp = A[k * s + p], akq = A[k * s + q];
                    A[k * s + p] = c * akp - sn * akq;
                    A[k * s + q] = sn * akp + c * akq;
                }
                for (size_t k = 0; k < s; k++) { /* A = J^T A */
                    double apk = A[p * s + k], aqk = A[q * s + k];
                    A[p * s + k] = c * apk - sn * aqk;
                    A[q * s + k] = sn * apk + c * aqk;
                }
                for (size_t k = 0; k < s; k++) { /* V = V J */
                    double vkp = V[k * s + p], vkq = V[k * s + q];
                    V[k * s + p] = c * vkp - sn * vkq;
                    V[k * s + q] = sn * vkp + c * vkq;
                }
            }
    }
    /* sort by eigenvalue, descending (selection sort on the columns) */
    for (size_t i = 0; i < s; i++)
        values[i] = A[i * s + i];
    for (size_t i = 0; i < s; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < s; j++)
            if (values[j] > values[best])
                best = j;
        double tv = values[i];
        values[i] = values[best];
        values[best] = tv;
        for (size_t k = 0; k < s; k++) {
            double tmp = V[k * s + i];
            V[k * s + i] = V[k * s + best];
            V[k * s + best] = tmp;
        }
    }
}

/* Checks tv_pca2 on n points of dim values against the Jacobi reference: eigenvalues,
   total variance, and each point's coordinates (an axis may come out negated). */
static void check_pca_against_jacobi(const double *points, size_t n, size_t dim)
{
    double mean[8] = {0}, cov[64] = {0}, values[8], V[64];
    assert_true(dim <= 8);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            mean[k] += points[i * dim + k] / (double)n;
    for (size_t a = 0; a < dim; a++)
        for (size_t b = 0; b < dim; b++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += (points[i * dim + a] - mean[a]) * (points[i * dim + b] - mean[b]);
            cov[a * dim + b] = sum / (double)(n - 1);
        }
    double trace = 0;
    for (size_t a = 0; a < dim; a++)
        trace += cov[a * dim + a];
    jacobi_eigen(cov, dim, values, V);

    double xy[2 * 16], axes[2 * 8], variance[2], total;
    tv_error err = {0};
    assert_true(n <= 16);
    assert_int_equal(tv_pca2(points, n, dim, xy, axes, variance, &total, &err), 0);
    assert_true(fabs(total - trace) <= 1e-12 * trace);
    for (int c = 0; c < 2; c++) {
        if (fabs(variance[c] - values[c]) > 1e-9 * values[0])
            fail_msg("eigenvalue %d: %.17g, Jacobi %.17g", c, variance[c], values[c]);
        /* the sign of an axis is a convention: compare with both */
        double same = 0, flipped = 0;
        for (size_t i = 0; i < n; i++) {
            double ref = 0;
            for (size_t k = 0; k < dim; k++)
                ref += (points[i * dim + k] - mean[k]) * V[k * dim + c];
            same = fmax(same, fabs(xy[2 * i + c] - ref));
            flipped = fmax(flipped, fabs(xy[2 * i + c] + ref));
        }
        if (fmin(same, flipped) > 1e-7)
            fail_msg("axis %d: coordinates differ from Jacobi's by %g", c, fmin(same, flipped));
        /* the axis is unit length, and signed so its largest component is positive */
        double len = 0, big = 0;
        for (size_t k = 0; k < dim; k++) {
            len += axes[c * dim + k] * axes[c * dim + k];
            if (fabs(axes[c * dim + k]) > fabs(big))
                big = axes[c * dim + k];
        }
        assert_true(fabs(len - 1) < 1e-9);
        assert_true(big > 0);
    }
}

static void pca_matches_a_jacobi_decomposition_of_the_covariance(void **state)
{
    (void)state;
    /* 7 points in 4-D with a clear order of variances (more points than dimensions:
       tv_pca2 iterates on the 4 x 4 covariance) */
    static const double p4[7 * 4] = {
        2.0, 0.1, -0.3, 1.0,   -1.5, 0.4, 0.2, 0.9,   3.1, -0.8, 0.0, 1.1,
        -2.7, 1.2, 0.5, 0.8,   0.4, -1.9, -0.1, 1.2,  1.1, 2.2, 0.3, 0.95,
        -0.9, -1.0, -0.4, 1.05,
    };
    check_pca_against_jacobi(p4, 7, 4);
    /* 4 points in 6-D (fewer points than dimensions: the Gram matrix) */
    static const double p6[4 * 6] = {
        1.0, 2.0, 0.5, -1.0, 0.0, 3.0,
        -2.0, 0.5, 1.5, 0.0, 1.0, -1.0,
        0.5, -1.5, -2.0, 2.0, 0.5, 0.0,
        3.0, 1.0, 0.0, 1.0, -2.5, 1.0,
    };
    check_pca_against_jacobi(p6, 4, 6);
    /* a 3 x 3 case with a known answer: points on the x axis spread most */
    static const double p3[5 * 3] = {
        -4, 0, 0,  -2, 1, 0,  0, 0, 0.1,  2, -1, 0,  4, 0, -0.1,
    };
    check_pca_against_jacobi(p3, 5, 3);
}

static void pca_of_degenerate_points_is_zero_not_noise(void **state)
{
    (void)state;
    double xy[6], variance[2], total;
    tv_error err = {0};
    /* three identical points */
    static const double same[3 * 2] = {1, 2, 1, 2, 1, 2};
    assert_int_equal(tv_pca2(same, 3, 2, xy, NULL, variance, &total, &err), 0);
    for (int i = 0; i < 6; i++)
        assert_true(xy[i] == 0);
    assert_true(variance[0] == 0 && variance[1] == 0 && total == 0);
    /* points on a line in 3-D: all variance on the first axis */
    static const double line[3 * 3] = {0, 0, 0, 1, 2, 2, 2, 4, 4};
    assert_int_equal(tv_pca2(line, 3, 3, xy, NULL, variance, &total, &err), 0);
    assert_true(fabs(variance[0] - total) < 1e-12);
    assert_true(variance[1] < 1e-12 * total);
    assert_true(fabs(xy[0] + 3) < 1e-12 && fabs(xy[2]) < 1e-12 && fabs(xy[4] - 3) < 1e-12);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(xy[2 * i + 1]) < 1e-9);
    /* fewer than two points is a usage error */
    assert_int_equal(tv_pca2(line, 1, 3, xy, NULL, variance, &total, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
}

/* ---- hand-built models ------------------------------------------------------------------------- */

struct fx {
    tv_model *m;
    struct tv_vocab *v;
    float *data;
};

static struct fx fx_new(void)
{
    struct fx f = {0};
    tv_error err = {0};
    f.m = tv_model_new_empty(ROOT, NULL, &err);
    assert_non_null(f.m);
    return f;
}

static void fx_free(struct fx *f)
{
    tv_model_free(f->m);
    free(f->data);
}

static void fx_token(struct fx *f, uint32_t id, const char *text, int type)
{
    tv_error err = {0};
    if (!f->v) {
        f->v = tv_model_new_vocab(f->m, ROOT "/vocab", &err);
        assert_non_null(f->v);
    }
    assert_int_equal(tv_vocab_set_token(f->m, f->v, id, text, strlen(text), 0, type, &err), 0);
}

/* A [rows, cols] F32 embedding, all zero; the caller fills f->data. */
static void fx_embedding(struct fx *f, uint64_t rows, uint64_t cols)
{
    f->data = calloc(rows * cols, sizeof *f->data);
    uint64_t shape[2] = {rows, cols};
    tv_error err = {0};
    assert_int_equal(tv_model_add_tensor(f->m, "token_embd.weight", 17, TV_DTYPE_F32, 2, shape,
                                         ROOT "/model.gguf", 0, (const uint8_t *)f->data, &err), 0);
    assert_int_equal(tv_model_pick_embedding(f->m, &err), 0);
}

static struct tv_report *report_or_fail(tv_model *m, const struct tv_report_options *opt)
{
    tv_error err = {0};
    struct tv_report *r = tv_report_new(m, opt, &err);
    if (!r)
        fail_msg("tv_report_new: %s", err.message);
    return r;
}

static void vocabulary_counts_decode_the_byte_level_alphabet(void **state)
{
    (void)state;
    struct fx f = fx_new();
    fx_token(&f, 0, "!", TV_TOKEN_NORMAL);
    fx_token(&f, 1, "\xc4\xa0" "the", TV_TOKEN_NORMAL);                       /* " the" */
    fx_token(&f, 2, "\xc4\xa0\xc3\x90\xc2\xbf\xc3\x91\xc4\xa2\xc3\x90\xc2\xb8",
             TV_TOKEN_NORMAL);                                                   /* " при" */
    fx_token(&f, 3, "\xc3\xa2\xc4\xa2", TV_TOKEN_NORMAL);                     /* E2 80 */
    fx_token(&f, 4, "<|endoftext|>", TV_TOKEN_CONTROL);
    fx_token(&f, 5, "\xc4\xa0\xc3\xa6\xc4\xbf\xc2\xb1\xc3\xa4\xc2\xba\xc2\xac",
             TV_TOKEN_NORMAL);                                                   /* " 東京" */
    fx_token(&f, 6, "\xc4\xa0" "caf\xc3\x83\xc2\xa9", TV_TOKEN_NORMAL);       /* " café" */
    fx_token(&f, 7, "\xc4\xa0\xc3\x8e\xc2\xb1\xc3\x8e\xc2\xb2", TV_TOKEN_NORMAL); /* " αβ" */
    fx_token(&f, 8, "\xc4\xa0" "123", TV_TOKEN_NORMAL);                       /* " 123" */
    fx_token(&f, 10, "<pad>", TV_TOKEN_USER_DEFINED);                         /* id 9: a hole */
    f.v->byte_level = true;
    f.v->kind = TV_TOKENIZER_BPE;

    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.longest = 3;
    opt.max_length = 6;
    opt.run_verify = false;
    struct tv_report *r = report_or_fail(f.m, &opt);

    assert_int_equal(r->vocab_ids, 11);
    assert_int_equal(r->vocab_tokens, 10);
    assert_int_equal(r->by_type[TV_TOKEN_NORMAL], 8);
    assert_int_equal(r->by_type[TV_TOKEN_CONTROL], 1);
    assert_int_equal(r->by_type[TV_TOKEN_USER_DEFINED], 1);
    /* bytes of the text: 1, 4, 7, 2, 13, 7, 6, 5, 4, 5 -> bins 0..6, the last "6+" */
    static const uint64_t bytes[] = {0, 1, 1, 0, 2, 2, 4};
    assert_int_equal(r->length_bytes.n_bins, 7);
    assert_int_equal(r->length_bytes.longest, 13);
    assert_memory_equal(r->length_bytes.counts, bytes, sizeof bytes);
    /* characters: 1, 4, 4, 2 (two cut bytes), 13, 3, 5, 3, 4, 5 */
    static const uint64_t chars[] = {0, 1, 1, 2, 3, 2, 1};
    assert_int_equal(r->length_chars.n_bins, 7);
    assert_int_equal(r->length_chars.longest, 13);
    assert_memory_equal(r->length_chars.counts, chars, sizeof chars);
    /* scripts: "!" and " 123" no letters; " the", " café" and "<pad>" Latin */
    assert_int_equal(r->by_script[TV_SCRIPT_COMMON], 2);
    assert_int_equal(r->by_script[TV_SCRIPT_LATIN], 3);
    assert_int_equal(r->by_script[TV_SCRIPT_CYRILLIC], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_HAN], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_GREEK], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_BYTES], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_SPECIAL], 1);
    /* longest by characters, then bytes, then id; the control token left out */
    assert_int_equal(r->n_longest, 3);
    assert_int_equal(r->longest[0].id, 6); /* " café": 5 characters, 6 bytes */
    assert_int_equal(r->longest[1].id, 10); /* "<pad>": 5 characters, 5 bytes */
    assert_int_equal(r->longest[2].id, 2); /* " при": 4 characters, 7 bytes */
    assert_int_equal(r->longest[2].chars, 4);
    assert_int_equal(r->longest[2].bytes, 7);
    /* no tokenizer: pieces come from the same decoding */
    char piece[64];
    assert_true(tv_report_token_piece(r, 2, piece, sizeof piece) > 0);
    assert_string_equal(piece, "\xe2\x90\xa3\xd0\xbf\xd1\x80\xd0\xb8"); /* ␣при */
    assert_true(tv_report_token_piece(r, 3, piece, sizeof piece) > 0);
    assert_string_equal(piece, "\\xe2\\x80");
    assert_int_equal(tv_report_token_piece(r, 9, piece, sizeof piece), -1);
    tv_report_free(r);
    fx_free(&f);
}

static void vocabulary_counts_sentencepiece_bytes_and_wordpiece_prefixes(void **state)
{
    (void)state;
    struct fx f = fx_new();
    fx_token(&f, 0, "<unk>", TV_TOKEN_UNKNOWN);
    fx_token(&f, 1, "<s>", TV_TOKEN_CONTROL);
    fx_token(&f, 2, "<0x41>", TV_TOKEN_BYTE);                     /* "A" */
    fx_token(&f, 3, "<0xE4>", TV_TOKEN_BYTE);                     /* a cut character */
    fx_token(&f, 4, "\xe2\x96\x81hello", TV_TOKEN_NORMAL);        /* " hello" */
    fx_token(&f, 5, "\xe2\x96\x81\xe6\x9d\xb1\xe4\xba\xac", TV_TOKEN_NORMAL); /* " 東京" */
    fx_token(&f, 6, "\xe2\x96\x81", TV_TOKEN_NORMAL);             /* " " */
    fx_token(&f, 7, "ing", TV_TOKEN_UNUSED);
    f.v->byte_fallback = true;
    f.v->kind = TV_TOKENIZER_BPE;
    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.run_verify = false;
    struct tv_report *r = report_or_fail(f.m, &opt);
    /* bytes: 5, 3, 1, 1, 6, 7, 1, 3 */
    static const uint64_t bytes[] = {0, 3, 0, 2, 0, 1, 1, 1};
    assert_int_equal(r->length_bytes.n_bins, 8);
    assert_memory_equal(r->length_bytes.counts, bytes, sizeof bytes);
    /* characters: 5, 3, 1, 1, 6, 3, 1, 3 */
    static const uint64_t chars[] = {0, 3, 0, 3, 0, 1, 1};
    assert_int_equal(r->length_chars.n_bins, 7);
    assert_memory_equal(r->length_chars.counts, chars, sizeof chars);
    assert_int_equal(r->by_type[TV_TOKEN_BYTE], 2);
    assert_int_equal(r->by_type[TV_TOKEN_UNUSED], 1);
    assert_int_equal(r->by_type[TV_TOKEN_UNKNOWN], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_SPECIAL], 2);  /* <unk>, <s> */
    assert_int_equal(r->by_script[TV_SCRIPT_LATIN], 3);    /* A, hello, ing */
    assert_int_equal(r->by_script[TV_SCRIPT_BYTES], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_HAN], 1);
    assert_int_equal(r->by_script[TV_SCRIPT_COMMON], 1);
    tv_report_free(r);
    fx_free(&f);

    /* WordPiece: the continuing prefix is not part of the text */
    f = fx_new();
    fx_token(&f, 0, "[CLS]", TV_TOKEN_CONTROL);
    fx_token(&f, 1, "##ing", TV_TOKEN_NORMAL);
    fx_token(&f, 2, "play", TV_TOKEN_NORMAL);
    fx_token(&f, 3, "##", TV_TOKEN_NORMAL); /* only the prefix: kept as it is */
    f.v->kind = TV_TOKENIZER_WORDPIECE;
    r = report_or_fail(f.m, &opt);
    static const uint64_t wp[] = {0, 0, 1, 1, 1, 1};
    assert_int_equal(r->length_chars.n_bins, 6);
    assert_memory_equal(r->length_chars.counts, wp, sizeof wp);
    tv_report_free(r);
    fx_free(&f);
}

/* Row i of the embedding gets norm n (all of it in one column). */
static void set_row_norm(struct fx *f, uint64_t cols, uint64_t row, float norm)
{
    memset(f->data + row * cols, 0, cols * sizeof *f->data);
    f->data[row * cols + row % cols] = norm;
}

static void norm_histogram_bins_rows_and_marks_verify_low_norm_rows(void **state)
{
    (void)state;
    enum { ROWS = 21, COLS = 16 };
    struct fx f = fx_new();
    for (uint32_t id = 0; id < ROWS; id++) {
        char text[16];
        snprintf(text, sizeof text, "t%u", id);
        fx_token(&f, id, text, TV_TOKEN_NORMAL);
    }
    fx_embedding(&f, ROWS, COLS);
    for (uint64_t row = 0; row < 17; row++)
        set_row_norm(&f, COLS, row, 1.0f + 0.01f * (float)row); /* 1.00 .. 1.16 */
    set_row_norm(&f, COLS, 17, 0.05f);                          /* low */
    set_row_norm(&f, COLS, 18, 0.0f);                           /* zero */
    set_row_norm(&f, COLS, 19, 1.05f);
    f.data[19 * COLS + 3] = NAN;                                /* NaN */
    set_row_norm(&f, COLS, 20, -1.1f);                          /* norm 1.1 */

    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.norm_bins = 4;
    opt.words = (const char *const[]){"t1", "t2", "t5", "nothing"};
    opt.n_words = 4;
    struct tv_report *r = report_or_fail(f.m, &opt);
    assert_true(r->rows_judged);
    assert_true(r->rows_are_tokens);
    assert_int_equal(r->rows, ROWS);
    assert_int_equal(r->cols, COLS);
    /* finite rows: norms 0 .. 1.16 in 4 bins of 0.29 */
    assert_true(r->norms.lo == 0);
    assert_float_equal(r->norms.hi, 1.16, 1e-6);
    static const uint64_t counts[] = {2, 0, 0, 18}, marked[] = {1, 0, 0, 0};
    assert_memory_equal(r->norms.counts, counts, sizeof counts);
    assert_memory_equal(r->norms.marked, marked, sizeof marked);
    /* the same rows verify finds */
    assert_true(r->low_rule);
    assert_int_equal(r->rows_low, 1);
    assert_int_equal(r->n_low, 1);
    assert_int_equal(r->low[0].row, 17);
    assert_float_equal(r->low[0].norm, 0.05, 1e-7);
    assert_true(r->low_below > 0.05 && r->low_below < 1.0);
    const struct tv_check *c = tv_verify_find(r->verify, "embedding.low_norm");
    assert_non_null(c);
    assert_int_equal(c->status, TV_CHECK_WARN);
    assert_non_null(strstr(c->message, "id 17 't17'"));
    assert_float_equal(r->median_norm, 1.08, 1e-6);
    assert_int_equal(r->rows_nonfinite, 1);
    assert_int_equal(r->rows_nan, 1);
    assert_int_equal(r->n_nonfinite, 1);
    assert_int_equal(r->nonfinite[0].row, 19);
    assert_int_equal(r->rows_zero, 1);
    assert_int_equal(r->zero[0].row, 18);
    assert_true(r->zero[0].token);
    assert_int_equal(tv_verify_find(r->verify, "embedding.nan")->status, TV_CHECK_FAIL);

    /* the map: t1, t2, t5 found as themselves (no tokenizer), "nothing" is missing */
    assert_non_null(r->tokenizer_why);
    assert_int_equal(r->n_words, 4);
    assert_int_equal(r->n_placed, 3);
    assert_true(r->has_map);
    assert_int_equal(r->words[0].how, TV_WORD_TOKEN);
    assert_int_equal(r->words[0].ids[0], 1);
    assert_int_equal(r->words[3].how, TV_WORD_MISSING);
    assert_non_null(strstr(r->words[3].why, "not a token"));
    /* rows 1, 2, 5 lie on three axes: PCA of them, computed here */
    double points[3 * COLS], xy[6], variance[2], total;
    uint32_t ids[3] = {1, 2, 5};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < COLS; k++)
            points[i * COLS + k] = f.data[ids[i] * COLS + k];
    tv_error err = {0};
    assert_int_equal(tv_pca2(points, 3, COLS, xy, NULL, variance, &total, &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_float_equal(r->words[i].x, xy[2 * i], 1e-12);
        assert_float_equal(r->words[i].y, xy[2 * i + 1], 1e-12);
    }
    assert_float_equal(r->explained[0], variance[0] / total, 1e-12);
    tv_report_free(r);
    fx_free(&f);
}

static void report_without_vocabulary_or_embedding_says_why(void **state)
{
    (void)state;
    struct fx f = fx_new();
    struct tv_report *r = report_or_fail(f.m, NULL);
    assert_int_equal(r->vocab_tokens, 0);
    assert_int_equal(r->n_tensors, 0);
    assert_false(r->rows_judged);
    assert_non_null(strstr(r->embedding_why, "no token-embedding tensor"));
    assert_false(r->has_map);
    assert_true(r->map_why[0] != '\0');
    size_t n_default;
    tv_report_default_words(&n_default);
    assert_int_equal(r->n_words, n_default);
    for (size_t i = 0; i < r->n_words; i++)
        assert_int_equal(r->words[i].how, TV_WORD_MISSING);
    tv_report_free(r);
    fx_free(&f);
}

static void tensors_are_listed_by_size_and_summed_by_part(void **state)
{
    (void)state;
    struct fx f = fx_new();
    static float data[64];
    static const struct {
        const char *name;
        uint64_t rows, cols;
    } tensors[] = {
        {"blk.0.attn_norm.weight", 1, 4}, {"blk.0.attn_q.weight", 2, 4},
        {"blk.0.ffn_up.weight", 4, 4}, {"token_embd.weight", 8, 4},
        {"output.weight", 8, 4}, {"blk.0.attn_k.weight", 2, 4}, {"rope_freqs", 1, 2},
    };
    tv_error err = {0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(tensors); i++) {
        uint64_t shape[2] = {tensors[i].rows, tensors[i].cols};
        assert_int_equal(tv_model_add_tensor(f.m, tensors[i].name, strlen(tensors[i].name),
                                             TV_DTYPE_F32, 2, shape, ROOT "/model.gguf", 0,
                                             (const uint8_t *)data, &err), 0);
    }
    assert_int_equal(tv_model_pick_embedding(f.m, &err), 0);
    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.run_verify = false;
    struct tv_report *r = report_or_fail(f.m, &opt);
    static const size_t order[] = {3, 4, 2, 1, 5, 0, 6}; /* ties keep the model's order */
    assert_memory_equal(r->by_size, order, sizeof order);
    assert_int_equal(r->part_bytes[TV_PART_EMBEDDING], 128);
    assert_int_equal(r->part_bytes[TV_PART_OUTPUT], 128);
    assert_int_equal(r->part_bytes[TV_PART_ATTENTION], 64);
    assert_int_equal(r->part_tensors[TV_PART_ATTENTION], 2);
    assert_int_equal(r->part_bytes[TV_PART_MLP], 64);
    assert_int_equal(r->part_bytes[TV_PART_NORM], 16);
    assert_int_equal(r->part_bytes[TV_PART_OTHER], 8);
    assert_int_equal(r->total_bytes, 408);
    assert_int_equal(r->part[3], TV_PART_EMBEDDING);
    tv_report_free(r);
    fx_free(&f);
}

/* ---- real fixtures ---------------------------------------------------------------------------- */

static void real_stories260k_report_has_every_part(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail(STORIES);
    struct tv_report *r = report_or_fail(m, NULL);
    assert_int_equal(r->vocab_tokens, 512);
    assert_int_equal(r->by_type[TV_TOKEN_BYTE], 256);
    assert_int_equal(r->by_type[TV_TOKEN_CONTROL], 2);
    assert_int_equal(r->by_type[TV_TOKEN_UNKNOWN], 1);
    assert_int_equal(r->by_type[TV_TOKEN_NORMAL], 253);
    /* <0x80>..<0xFF> are not whole characters; the bins add up to the vocabulary */
    assert_int_equal(r->by_script[TV_SCRIPT_BYTES], 128);
    uint64_t sum = 0;
    for (size_t i = 0; i < r->length_chars.n_bins; i++)
        sum += r->length_chars.counts[i];
    assert_int_equal(sum, 512);
    sum = 0;
    for (int s = 0; s < TV_SCRIPT_COUNT; s++)
        sum += r->by_script[s];
    assert_int_equal(sum, 512);
    assert_true(r->rows_judged);
    assert_int_equal(r->rows, 512);
    sum = 0;
    for (size_t i = 0; i < r->norms.n_bins; i++)
        sum += r->norms.counts[i];
    assert_int_equal(sum, 512);
    assert_int_equal(r->part_tensors[TV_PART_EMBEDDING], 1);
    assert_int_equal(r->part_tensors[TV_PART_OUTPUT], 1);
    assert_int_equal(r->part_tensors[TV_PART_NORM], 11);
    assert_int_equal(r->n_tensors, 48);
    /* every default word placed with the tokenizer; words of several tokens are means */
    assert_null(r->tokenizer_why);
    assert_true(r->has_map);
    assert_int_equal(r->n_placed, r->n_words);
    assert_int_equal(tv_verify_count_status(r->verify, TV_CHECK_FAIL), 0);

    /* a word's point is the mean of its tokens' rows: check "apple" through tv_embed */
    tv_embed *e = tv_embed_new(m, NULL);
    assert_non_null(e);
    tv_tokenizer *tok = tv_tokenizer_new(m, NULL);
    assert_non_null(tok);
    struct tv_ids ids;
    tv_ids_init(&ids);
    assert_int_equal(tv_encode(tok, "apple", 5, 0, &ids, NULL), 0);
    assert_int_equal(r->words[0].n_ids, ids.n);
    assert_memory_equal(r->words[0].ids, ids.ids, ids.n * sizeof *ids.ids);
    assert_int_equal(r->words[0].how, ids.n > 1 ? TV_WORD_TOKENS : TV_WORD_TOKEN);
    tv_ids_release(&ids);
    tv_tokenizer_free(tok);
    tv_embed_free(e);
    tv_report_free(r);
    tv_model_free(m);
}

static void real_gpt2_words_are_single_space_prefixed_tokens(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail(GPT2_FOLDER);
    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.words = (const char *const[]){"apple", "king", "queen", "Paris", "tokvecization"};
    opt.n_words = 5;
    struct tv_report *r = report_or_fail(m, &opt);
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "\xc4\xa0" "apple", 7, &id), 0);
    assert_int_equal(r->words[0].how, TV_WORD_TOKEN);
    assert_int_equal(r->words[0].ids[0], id);
    assert_int_equal(tv_vocab_find(m, "\xc4\xa0" "Paris", 7, &id), 0);
    assert_int_equal(r->words[3].ids[0], id);
    assert_int_equal(r->words[4].how, TV_WORD_TOKENS);
    assert_true(r->words[4].n_ids > 1);
    assert_int_equal(r->n_placed, 5);
    assert_true(r->has_map);
    /* GPT-2 is byte-level: the longest token is read as bytes, and scripts show it */
    assert_int_equal(r->vocab_tokens, 50257);
    assert_true(r->by_script[TV_SCRIPT_LATIN] > 40000);
    assert_true(r->by_script[TV_SCRIPT_HAN] > 0);
    assert_true(r->by_script[TV_SCRIPT_BYTES] > 0);
    assert_int_equal(r->by_script[TV_SCRIPT_SPECIAL], 1);
    char piece[64];
    assert_true(tv_report_token_piece(r, id, piece, sizeof piece) > 0);
    assert_string_equal(piece, "\xe2\x90\xa3Paris");
    tv_report_free(r);
    tv_model_free(m);
}

/* ---- failing allocations ------------------------------------------------------------------------ */

static void failed_allocations_are_reported_and_leak_nothing(void **state)
{
    (void)state;
    tv_model *m = fixture_open_or_fail(STORIES);
    struct tv_report_options opt;
    tv_report_options_init(&opt);
    opt.words = (const char *const[]){"king", "queen", "zzz"};
    opt.n_words = 3;
    bool done = false;
    for (long budget = 0; !done && budget < 20000; budget += budget < 400 ? 1 : 7) {
        tv_error err = {0};
        failalloc_begin(budget);
        struct tv_report *r = tv_report_new(m, &opt, &err);
        failalloc_end();
        if (!r)
            assert_int_equal(err.code, TV_ERR_NOMEM);
        else
            done = r->has_map;
        tv_report_free(r);
    }
    assert_true(done);
    tv_model_free(m);
}

/* ---- the command ---------------------------------------------------------------------------------- */

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle)) {
        fprintf(stderr, "---- output ----\n%.2000s\n----------------\n",
                haystack ? haystack : "(null)");
        fail_msg("expected to find: %s", needle);
    }
}

static size_t count_of(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The text between the tag that has id="<id>" and the next "</svg>". */
static char *svg_by_id(const char *html, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *start = strstr(html, key);
    if (!start)
        fail_msg("no element with %s", key);
    const char *end = strstr(start, "</svg>");
    assert_non_null(end);
    return strndup(start, (size_t)(end - start));
}

static void cli_writes_a_self_contained_page(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *out = NULL, *errout = NULL;
    int rc = run_cli(&out, &errout, "report", real_fixture(STORIES), "-o", path, NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, errout);
    size_t len;
    char *html = (char *)read_file_or_fail(path, &len);
    assert_contains(html, "<!DOCTYPE html>");
    assert_contains(html, "Content-Security-Policy");
    /* nothing to fetch: no URL anywhere, links only to anchors and data: */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, " src="));
    for (const char *p = html; (p = strstr(p, "href=\"")); p += 6)
        assert_true(p[6] == '#' || strncmp(p + 6, "data:", 5) == 0);
    /* the summary lines of inspect, verify's checks, every chart */
    assert_contains(html, "<th>architecture</th><td>llama</td>");
    assert_contains(html, "token_embd.weight  512 x 64  F32");
    assert_contains(html, "embedding.low_norm");
    assert_contains(html, "id=\"tensor-table\"");
    /* one bar per bin and part, one point per word: as the library counts them */
    tv_model *m = fixture_open_or_fail(STORIES);
    struct tv_report *r = report_or_fail(m, NULL);
    char *svg = svg_by_id(html, "len-bytes");
    assert_int_equal(count_of(svg, "<rect class=\"bar"), r->length_bytes.n_bins);
    free(svg);
    svg = svg_by_id(html, "norms");
    assert_int_equal(count_of(svg, "<rect class=\"bar"), r->norms.n_bins);
    free(svg);
    svg = svg_by_id(html, "map-plot");
    assert_int_equal(count_of(svg, "<circle class=\"point"), r->n_placed);
    free(svg);
    svg = svg_by_id(html, "bytes-bar");
    size_t parts = 0;
    for (int p = 0; p < TV_PART_COUNT; p++)
        parts += r->part_bytes[p] != 0;
    assert_int_equal(count_of(svg, "<rect class=\"bar"), parts);
    free(svg);
    /* the table comes sorted by size: token_embd.weight (131072 bytes) first */
    const char *table = strstr(html, "id=\"tensor-table\"");
    assert_true(strstr(table, "token_embd.weight") < strstr(table, "blk.0.ffn_gate.weight"));
    tv_report_free(r);
    tv_model_free(m);

    /* an existing report is replaced, and no temporary file is left behind */
    free(out);
    free(errout);
    rc = run_cli(&out, &errout, "report", real_fixture(STORIES), "-o", path, "--words",
                 " king , queen,,man ", NULL);
    assert_int_equal(rc, 0);
    tv_free(html);
    html = (char *)read_file_or_fail(path, &len);
    svg = svg_by_id(html, "map-plot");
    assert_int_equal(count_of(svg, "<circle class=\"point"), 3);
    free(svg);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    tv_free(html);
    free(out);
    free(errout);
    remove_tree(dir);
    tv_free(dir);
}

static void cli_json_holds_the_numbers_of_the_page(void **state)
{
    (void)state;
    char *out = NULL, *errout = NULL;
    int rc = run_cli(&out, &errout, "report", "--json", real_fixture(GPT2_FOLDER), NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, errout);
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(doc);
    cJSON *vocab = cJSON_GetObjectItem(doc, "vocabulary");
    assert_int_equal(cJSON_GetObjectItem(vocab, "tokens")->valueint, 50257);
    cJSON *scripts = cJSON_GetObjectItem(vocab, "scripts");
    assert_int_equal(cJSON_GetObjectItem(scripts, "special")->valueint, 1);
    cJSON *lb = cJSON_GetObjectItem(vocab, "length_bytes");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lb, "last_bin_open")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(lb, "counts")), 33);
    cJSON *emb = cJSON_GetObjectItem(doc, "embedding");
    assert_string_equal(cJSON_GetObjectItem(emb, "name")->valuestring, "transformer.wte.weight");
    cJSON *norms = cJSON_GetObjectItem(emb, "norms");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(norms, "counts")), 40);
    cJSON *map = cJSON_GetObjectItem(doc, "map");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(map, "drawn")));
    cJSON *word = cJSON_GetArrayItem(cJSON_GetObjectItem(map, "words"), 0);
    assert_string_equal(cJSON_GetObjectItem(word, "word")->valuestring, "apple");
    assert_string_equal(cJSON_GetObjectItem(word, "how")->valuestring, "token");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(word, "x")));
    cJSON *verify = cJSON_GetObjectItem(doc, "verify");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(verify, "checks")));
    cJSON *summary = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "summary"), 0);
    assert_string_equal(cJSON_GetObjectItem(summary, "label")->valuestring, "architecture");
    cJSON *tensors = cJSON_GetObjectItem(doc, "tensors");
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(tensors, "by_size"), 0);
    assert_string_equal(cJSON_GetObjectItem(first, "part")->valuestring, "embedding");
    cJSON_Delete(doc);
    free(out);
    free(errout);
}

static void cli_exit_codes_and_messages(void **state)
{
    (void)state;
    char *out = NULL, *errout = NULL;
    /* no output named */
    assert_int_equal(run_cli(&out, &errout, "report", real_fixture(STORIES), NULL), 2);
    assert_contains(errout, "-o FILE");
    free(out);
    free(errout);
    assert_int_equal(run_cli(&out, &errout, "report", "-o", "/tmp/x.html", NULL), 2);
    free(out);
    free(errout);
    assert_int_equal(run_cli(&out, &errout, "report", "--bins", "0", "-o", "-",
                             real_fixture(STORIES), NULL), 2);
    assert_contains(errout, "--bins");
    free(out);
    free(errout);
    assert_int_equal(run_cli(&out, &errout, "report", "--words", " , ", "-o", "-",
                             real_fixture(STORIES), NULL), 2);
    assert_contains(errout, "no words");
    free(out);
    free(errout);
    /* a model that cannot be read, an output that cannot be written */
    assert_int_equal(run_cli(&out, &errout, "report", "/nonexistent/model.gguf", "-o", "-",
                             NULL), 1);
    free(out);
    free(errout);
    assert_int_equal(run_cli(&out, &errout, "report", real_fixture(STORIES), "-o",
                             "/nonexistent-dir/report.html", NULL), 1);
    assert_contains(errout, "/nonexistent-dir/report.html");
    free(out);
    free(errout);
    /* -o - writes the page to stdout */
    assert_int_equal(run_cli(&out, &errout, "report", real_fixture(STORIES), "-o", "-",
                             "--no-verify", NULL), 0);
    assert_contains(out, "</html>");
    assert_contains(out, "Not run (--no-verify)");
    free(out);
    free(errout);
    assert_int_equal(run_cli(&out, &errout, "report", "--help", NULL), 0);
    assert_contains(out, "usage: tokvec report");
    free(out);
    free(errout);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(script_of_reads_letters_by_block),
        cmocka_unit_test(text_script_names_one_script_mixed_none_or_bytes),
        cmocka_unit_test(tensor_parts_follow_gguf_and_hugging_face_names),
        cmocka_unit_test(pca_matches_a_jacobi_decomposition_of_the_covariance),
        cmocka_unit_test(pca_of_degenerate_points_is_zero_not_noise),
        cmocka_unit_test(vocabulary_counts_decode_the_byte_level_alphabet),
        cmocka_unit_test(vocabulary_counts_sentencepiece_bytes_and_wordpiece_prefixes),
        cmocka_unit_test(norm_histogram_bins_rows_and_marks_verify_low_norm_rows),
        cmocka_unit_test(report_without_vocabulary_or_embedding_says_why),
        cmocka_unit_test(tensors_are_listed_by_size_and_summed_by_part),
        cmocka_unit_test(real_stories260k_report_has_every_part),
        cmocka_unit_test(real_gpt2_words_are_single_space_prefixed_tokens),
        cmocka_unit_test(failed_allocations_are_reported_and_leak_nothing),
        cmocka_unit_test(cli_writes_a_self_contained_page),
        cmocka_unit_test(cli_json_holds_the_numbers_of_the_page),
        cmocka_unit_test(cli_exit_codes_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
