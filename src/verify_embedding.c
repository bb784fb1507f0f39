/*
 * Embedding health checks of tokvec verify (embedding.nan, embedding.zero_rows,
 * embedding.low_norm). The token-embedding tensor is read once, a block of rows at a
 * time through tv_tensor_rows_f32 (any dtype with a float32 kernel), so memory stays
 * at one block plus one float per row.
 *
 * The low-norm rule (documented in the README): among the rows of reachable tokens that
 * are finite and not all zero, let M be the median L2 norm and MAD the median absolute
 * deviation from it. A row is low when its norm is below M / 10, or when its robust
 * z-score (norm - M) / (1.4826 * MAD) is below -6 and its norm is below M / 2. The
 * first rule catches rows that training never moved from (near) zero; the second
 * catches rows far outside a tight distribution without flagging the natural spread
 * of random or narrow embeddings. Embeddings narrower than 8 columns are skipped: their
 * norms spread too much to compare.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

#define EXAMPLES 3
#define BLOCK_FLOATS (1u << 18)      /* floats converted at a time (1 MiB) */
#define MAX_COLUMNS (1u << 26)       /* a wider row is not a token embedding */
#define LOW_NORM_MIN_COLUMNS 8
#define LOW_NORM_MIN_ROWS 16

enum { ROW_FINITE_BIT = 1, ROW_NAN = 2, ROW_INF = 4, ROW_ZERO = 8 };

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float median_of(float *values, size_t n)
{
    qsort(values, n, sizeof *values, cmp_float);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* "id 5 'foo'" or "padding row 50300" */
static void row_name(struct vtext *t, const struct tv_vocab *v, uint64_t row)
{
    if (v && row < v->n_tokens) {
        vt_add(t, "id %llu ", (unsigned long long)row);
        vt_token_id(t, v, row);
    } else {
        vt_add(t, "%s %llu", v ? "padding row" : "row", (unsigned long long)row);
    }
}

static void skip_selected(tv_verify_report *r, const char *fmt, const char *a, const char *b)
{
    static const char *const ids[] = {"embedding.nan", "embedding.zero_rows",
                                      "embedding.low_norm"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(ids); i++)
        if (vr_selected(r, ids[i]))
            vr_add(r, ids[i], TV_CHECK_SKIP, fmt, a, b);
}

int verify_embedding_checks(tv_verify_report *r, tv_model *m)
{
    bool want_nan = vr_selected(r, "embedding.nan");
    bool want_zero = vr_selected(r, "embedding.zero_rows");
    bool want_low = vr_selected(r, "embedding.low_norm");
    if (!want_nan && !want_zero && !want_low)
        return 0;
    const struct tv_tensor *emb = tv_model_embedding(m);
    if (!emb) {
        skip_selected(r, "%s%s", "no token-embedding tensor", m->n_tensors
                      ? " (name it with --embedding NAME)" : " (no weights were read)");
        return r->failed_oom ? -1 : 0;
    }
    if (!emb->data) {
        skip_selected(r, "%s: %s", emb->name, "the data is not loaded");
        return r->failed_oom ? -1 : 0;
    }
    if (!tv_dtype_can_to_f32(emb->dtype)) {
        skip_selected(r, "%s: %s has no conversion to F32 in this build", emb->name,
                      tv_dtype_name(emb->dtype));
        return r->failed_oom ? -1 : 0;
    }
    uint64_t rows = emb->shape[0], cols = emb->shape[1];
    if (!rows || !cols || cols > MAX_COLUMNS || rows > SIZE_MAX / sizeof(float)) {
        skip_selected(r, "%s: %s", emb->name, !rows || !cols ? "the tensor is empty"
                      : "the shape is too large to be a token embedding");
        return r->failed_oom ? -1 : 0;
    }
    const struct tv_vocab *v = tv_model_vocab(m);
    if ((v && !v->n_tokens) || vr_row_map(m))
        v = NULL; /* rows are not token ids: name and judge them as rows */
    int64_t pad = v ? v->special[TV_SPECIAL_PAD] : -1;

    int rc = -1;
    uint64_t block_rows = BLOCK_FLOATS / cols ? BLOCK_FLOATS / cols : 1;
    if (block_rows > rows)
        block_rows = rows;
    float *block = tv_malloc(block_rows * cols * sizeof *block);
    float *norms = tv_malloc(rows * sizeof *norms);
    uint8_t *flags = tv_calloc(rows, 1);
    float *sorted = NULL;
    if (!block || !norms || !flags)
        goto oom;

    /* one pass over the data */
    for (uint64_t start = 0; start < rows; start += block_rows) {
        uint64_t n = rows - start < block_rows ? rows - start : block_rows;
        tv_error conv;
        if (tv_tensor_rows_f32(emb, start, n, block, &conv) < 0) {
            skip_selected(r, "%s: cannot read the rows: %s", emb->name, conv.message);
            rc = 0;
            goto out;
        }
        for (uint64_t i = 0; i < n; i++) {
            const float *row = block + i * cols;
            double sum = 0;
            uint8_t f = ROW_ZERO;
            for (uint64_t k = 0; k < cols; k++) {
                float x = row[k];
                if (isnan(x))
                    f |= ROW_NAN;
                else if (isinf(x))
                    f |= ROW_INF;
                if (x != 0.0f)
                    f &= (uint8_t)~ROW_ZERO;
                sum += (double)x * x;
            }
            if (f & (ROW_NAN | ROW_INF))
                f &= (uint8_t)~ROW_ZERO;
            else
                f |= ROW_FINITE_BIT;
            flags[start + i] = f;
            norms[start + i] = (float)sqrt(sum);
        }
    }

    /* embedding.nan: a NaN or infinity anywhere poisons every computation with that row */
    if (want_nan) {
        struct vtext t;
        vt_init(&t);
        uint64_t bad = 0, nan_rows = 0;
        for (uint64_t row = 0; row < rows; row++) {
            if (flags[row] & ROW_FINITE_BIT)
                continue;
            nan_rows += (flags[row] & ROW_NAN) != 0;
            if (bad++ < EXAMPLES) {
                vt_add(&t, "%s", bad > 1 ? ", " : "");
                row_name(&t, v, row);
                vt_add(&t, " (%s)", flags[row] & ROW_NAN ? "NaN" : "infinity");
            }
        }
        struct vcheck *c;
        if (bad)
            c = vr_add(r, "embedding.nan", TV_CHECK_FAIL,
                       "%s: %llu of %llu rows hold NaN or infinity: %s%s", emb->name,
                       (unsigned long long)bad, (unsigned long long)rows, t.buf,
                       bad > EXAMPLES ? ", ..." : "");
        else
            c = vr_add(r, "embedding.nan", TV_CHECK_PASS,
                       "%s: no NaN or infinity in %llu x %llu %s values", emb->name,
                       (unsigned long long)rows, (unsigned long long)cols,
                       tv_dtype_name(emb->dtype));
        vr_int(r, c, "rows_nonfinite", (int64_t)bad);
        vr_int(r, c, "rows_nan", (int64_t)nan_rows);
        vr_int(r, c, "rows", (int64_t)rows);
    }

    /* embedding.zero_rows: a token whose row is all zeros carries no information.
       The pad token (nn.Embedding's padding_idx stays zero) and padding rows are fine. */
    if (want_zero) {
        struct vtext t;
        vt_init(&t);
        uint64_t bad = 0, expected = 0;
        for (uint64_t row = 0; row < rows; row++) {
            if (!(flags[row] & ROW_ZERO))
                continue;
            bool reachable = !v || (row < v->n_tokens && v->tokens[row].text);
            if (!reachable || (int64_t)row == pad) {
                expected++;
                continue;
            }
            if (bad++ < EXAMPLES) {
                vt_add(&t, "%s", bad > 1 ? ", " : "");
                row_name(&t, v, row);
            }
        }
        struct vcheck *c;
        if (bad)
            c = vr_add(r, "embedding.zero_rows", TV_CHECK_WARN,
                       "%s: %llu token row%s all zeros: %s%s", emb->name,
                       (unsigned long long)bad, bad == 1 ? " is" : "s are", t.buf,
                       bad > EXAMPLES ? ", ..." : "");
        else
            c = vr_add(r, "embedding.zero_rows", TV_CHECK_PASS,
                       "%s: no token row is all zeros%s", emb->name,
                       expected ? " (only the pad token or padding rows are)" : "");
        vr_int(r, c, "zero_rows", (int64_t)bad);
        vr_int(r, c, "zero_rows_expected", (int64_t)expected);
    }

    /* embedding.low_norm: see the rule at the top of this file */
    if (want_low) {
        struct vcheck *c;
        size_t n = 0;
        sorted = tv_malloc(rows * sizeof *sorted);
        if (!sorted)
            goto oom;
        for (uint64_t row = 0; row < rows; row++) {
            bool reachable = !v || (row < v->n_tokens && v->tokens[row].text);
            if (reachable && (flags[row] & ROW_FINITE_BIT) && !(flags[row] & ROW_ZERO))
                sorted[n++] = norms[row];
        }
        if (cols < LOW_NORM_MIN_COLUMNS || n < LOW_NORM_MIN_ROWS) {
            c = vr_add(r, "embedding.low_norm", TV_CHECK_SKIP,
                       "%s: %s (the rule needs at least %u columns and %u rows)", emb->name,
                       cols < LOW_NORM_MIN_COLUMNS ? "rows too narrow to compare norms"
                                                   : "too few rows to compare norms",
                       LOW_NORM_MIN_COLUMNS, LOW_NORM_MIN_ROWS);
            vr_int(r, c, "columns", (int64_t)cols);
            vr_int(r, c, "rows_compared", (int64_t)n);
        } else {
            float median = median_of(sorted, n);
            for (size_t i = 0; i < n; i++)
                sorted[i] = fabsf(sorted[i] - median);
            float mad = median_of(sorted, n);
            double scale = 1.4826 * mad;
            double floor_abs = median / 10.0;
            struct vtext t;
            vt_init(&t);
            uint64_t low = 0;
            for (uint64_t row = 0; row < rows; row++) {
                bool reachable = !v || (row < v->n_tokens && v->tokens[row].text);
                if (!reachable || !(flags[row] & ROW_FINITE_BIT) || (flags[row] & ROW_ZERO))
                    continue;
                double norm = norms[row];
                bool is_low = norm < floor_abs ||
                              (scale > 0 && (norm - median) / scale < -6.0 && norm < median / 2.0);
                if (!is_low)
                    continue;
                if (low++ < EXAMPLES) {
                    vt_add(&t, "%s", low > 1 ? ", " : "");
                    row_name(&t, v, row);
                    vt_add(&t, " (%.3g)", norm);
                }
            }
            if (low)
                c = vr_add(r, "embedding.low_norm", TV_CHECK_WARN,
                           "%s: %llu token row%s a norm far below the median %.3g "
                           "(under-trained candidates): %s%s", emb->name,
                           (unsigned long long)low, low == 1 ? " has" : "s have", (double)median, t.buf,
                           low > EXAMPLES ? ", ..." : "");
            else
                c = vr_add(r, "embedding.low_norm", TV_CHECK_PASS,
                           "%s: no token row has a norm far below the median %.3g (MAD %.3g, "
                           "%zu rows compared)", emb->name, (double)median, (double)mad, n);
            vr_int(r, c, "low_norm_rows", (int64_t)low);
            vr_float(r, c, "median_norm", median);
            vr_float(r, c, "mad", mad);
            vr_int(r, c, "rows_compared", (int64_t)n);
        }
    }
    rc = 0;
    goto out;
oom:
    r->failed_oom = true;
out:
    tv_free(block);
    tv_free(norms);
    tv_free(flags);
    tv_free(sorted);
    return r->failed_oom ? -1 : rc;
}
