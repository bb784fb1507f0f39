/*
 * Embedding health checks of tokvec verify (embedding.nan, embedding.zero_rows,
 * embedding.low_norm), and the one pass over the data they judge
 * (tv_embedding_health_scan, which tokvec report reuses for its norm histogram). The
 * token-embedding tensor is read once, a block of rows at a time through
 * tv_tensor_rows_f32 (any dtype with a float32 kernel), so memory stays at one block
 * plus five bytes per row.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

#define EXAMPLES 3
#define BLOCK_FLOATS (1u << 18)      /* floats converted at a time (1 MiB) */
#define MAX_COLUMNS (1u << 26)       /* a wider row is not a token embedding */
#define LOW_NORM_MIN_COLUMNS 8
#define LOW_NORM_MIN_ROWS 16

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

/* ---- the pass over the data ------------------------------------------------------------ */

static int cannot_judge(struct tv_embedding_health *h, const char *fmt, const char *a,
                        const char *b)
{
    snprintf(h->why, sizeof h->why, fmt, a, b);
    return 1;
}

/* The low-norm rule (see the top of this file) over the compared rows. */
static int apply_low_norm_rule(struct tv_embedding_health *h, tv_error *err)
{
    size_t n = 0;
    float *sorted = tv_malloc(h->rows * sizeof *sorted);
    if (!sorted)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory sorting %llu row norms",
                            (unsigned long long)h->rows);
    for (uint64_t row = 0; row < h->rows; row++) {
        uint8_t f = h->flags[row];
        if ((f & TV_ROW_TOKEN) && (f & TV_ROW_FINITE) && !(f & TV_ROW_ZERO))
            sorted[n++] = h->norms[row];
    }
    h->rows_compared = n;
    if (h->cols < LOW_NORM_MIN_COLUMNS || n < LOW_NORM_MIN_ROWS) {
        tv_free(sorted);
        return 0;
    }
    float median = median_of(sorted, n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = fabsf(sorted[i] - median);
    float mad = median_of(sorted, n);
    tv_free(sorted);
    double scale = 1.4826 * mad;
    double floor_abs = median / 10.0;
    h->low_rule = true;
    h->median = median;
    h->mad = mad;
    h->low_below = floor_abs;
    if (scale > 0 && fmin(median - 6.0 * scale, median / 2.0) > floor_abs)
        h->low_below = fmin(median - 6.0 * scale, median / 2.0);
    for (uint64_t row = 0; row < h->rows; row++) {
        uint8_t f = h->flags[row];
        if (!(f & TV_ROW_TOKEN) || !(f & TV_ROW_FINITE) || (f & TV_ROW_ZERO))
            continue;
        double norm = h->norms[row];
        bool is_low = norm < floor_abs ||
                      (scale > 0 && (norm - median) / scale < -6.0 && norm < median / 2.0);
        if (is_low) {
            h->flags[row] |= TV_ROW_LOW;
            h->rows_low++;
        }
    }
    return 0;
}

int tv_embedding_health_scan(const tv_model *m, struct tv_embedding_health *h, tv_error *err)
{
    memset(h, 0, sizeof *h);
    const struct tv_tensor *emb = tv_model_embedding(m);
    h->tensor = emb;
    if (!emb)
        return cannot_judge(h, "%s%s", "no token-embedding tensor", m->n_tensors
                            ? " (name it with --embedding NAME)" : " (no weights were read)");
    if (!emb->data)
        return cannot_judge(h, "%s: %s", emb->name, "the data is not loaded");
    if (!tv_dtype_can_to_f32(emb->dtype)) {
        snprintf(h->why, sizeof h->why, "%s: %s has no conversion to F32 in this build",
                 emb->name, tv_dtype_name(emb->dtype));
        return 1;
    }
    uint64_t rows = emb->shape[0], cols = emb->shape[1];
    if (!rows || !cols || cols > MAX_COLUMNS || rows > SIZE_MAX / sizeof(float))
        return cannot_judge(h, "%s: %s", emb->name, !rows || !cols ? "the tensor is empty"
                            : "the shape is too large to be a token embedding");
    const struct tv_vocab *v = tv_model_vocab(m);
    if ((v && !v->n_tokens) || vr_row_map(m))
        v = NULL; /* rows are not token ids: name and judge them as rows */
    h->vocab = v;
    h->rows = rows;
    h->cols = cols;

    uint64_t block_rows = BLOCK_FLOATS / cols ? BLOCK_FLOATS / cols : 1;
    if (block_rows > rows)
        block_rows = rows;
    float *block = tv_malloc(block_rows * cols * sizeof *block);
    h->norms = tv_malloc(rows * sizeof *h->norms);
    h->flags = tv_calloc(rows, 1);
    int rc = -1;
    if (!block || !h->norms || !h->flags) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for the norms of %llu rows",
                     emb->name, (unsigned long long)rows);
        goto out;
    }
    for (uint64_t start = 0; start < rows; start += block_rows) {
        uint64_t n = rows - start < block_rows ? rows - start : block_rows;
        tv_error conv;
        if (tv_tensor_rows_f32(emb, start, n, block, &conv) < 0) {
            tv_embedding_health_release(h);
            h->tensor = emb;
            rc = cannot_judge(h, "%s: cannot read the rows: %s", emb->name, conv.message);
            goto out;
        }
        for (uint64_t i = 0; i < n; i++) {
            const float *row = block + i * cols;
            /* The sum of squares says it all: it is not finite exactly when a value is
               NaN or infinite (a float squared never overflows a double), and zero exactly
               when every value is (the smallest float squared is still a double above
               zero). Four partial sums keep the loop from waiting on each addition. */
            double part[4] = {0, 0, 0, 0};
            uint64_t k = 0;
            for (; k + 4 <= cols; k += 4)
                for (int j = 0; j < 4; j++)
                    part[j] += (double)row[k + j] * row[k + j];
            for (; k < cols; k++)
                part[0] += (double)row[k] * row[k];
            double sum = (part[0] + part[1]) + (part[2] + part[3]);
            uint8_t f = 0;
            if (!isfinite(sum)) {
                for (k = 0; k < cols; k++)
                    f |= isnan(row[k]) ? TV_ROW_NAN : isinf(row[k]) ? TV_ROW_INF : 0;
            } else {
                f = TV_ROW_FINITE | (sum == 0 ? TV_ROW_ZERO : 0);
            }
            uint64_t row_id = start + i;
            if (!v || (row_id < v->n_tokens && v->tokens[row_id].text))
                f |= TV_ROW_TOKEN;
            h->flags[row_id] = f;
            h->norms[row_id] = (float)sqrt(sum);
        }
    }
    rc = apply_low_norm_rule(h, err);
out:
    tv_free(block);
    if (rc < 0)
        tv_embedding_health_release(h);
    return rc;
}

void tv_embedding_health_release(struct tv_embedding_health *h)
{
    tv_free(h->norms);
    tv_free(h->flags);
    h->norms = NULL;
    h->flags = NULL;
    h->rows = h->rows_low = h->rows_compared = 0;
    h->low_rule = false;
}

/* ---- the checks ----------------------------------------------------------------------- */

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

static void skip_selected(tv_verify_report *r, const char *why)
{
    static const char *const ids[] = {"embedding.nan", "embedding.zero_rows",
                                      "embedding.low_norm"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(ids); i++)
        if (vr_selected(r, ids[i]))
            vr_add(r, ids[i], TV_CHECK_SKIP, "%s", why);
}

int verify_embedding_checks(tv_verify_report *r, tv_model *m)
{
    bool want_nan = vr_selected(r, "embedding.nan");
    bool want_zero = vr_selected(r, "embedding.zero_rows");
    bool want_low = vr_selected(r, "embedding.low_norm");
    if (!want_nan && !want_zero && !want_low)
        return 0;
    struct tv_embedding_health h;
    tv_error err = {0};
    int scanned = tv_embedding_health_scan(m, &h, &err);
    if (scanned < 0) {
        r->failed_oom = true;
        return -1;
    }
    if (scanned > 0) {
        skip_selected(r, h.why);
        return r->failed_oom ? -1 : 0;
    }
    const struct tv_tensor *emb = h.tensor;
    const struct tv_vocab *v = h.vocab;
    uint64_t rows = h.rows, cols = h.cols;
    const uint8_t *flags = h.flags;
    int64_t pad = v ? v->special[TV_SPECIAL_PAD] : -1;

    /* embedding.nan: a NaN or infinity anywhere poisons every computation with that row */
    if (want_nan) {
        struct vtext t;
        vt_init(&t);
        uint64_t bad = 0, nan_rows = 0;
        for (uint64_t row = 0; row < rows; row++) {
            if (flags[row] & TV_ROW_FINITE)
                continue;
            nan_rows += (flags[row] & TV_ROW_NAN) != 0;
            if (bad++ < EXAMPLES) {
                vt_add(&t, "%s", bad > 1 ? ", " : "");
                row_name(&t, v, row);
                vt_add(&t, " (%s)", flags[row] & TV_ROW_NAN ? "NaN" : "infinity");
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
            if (!(flags[row] & TV_ROW_ZERO))
                continue;
            if (!(flags[row] & TV_ROW_TOKEN) || (int64_t)row == pad) {
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
        if (!h.low_rule) {
            c = vr_add(r, "embedding.low_norm", TV_CHECK_SKIP,
                       "%s: %s (the rule needs at least %u columns and %u rows)", emb->name,
                       cols < LOW_NORM_MIN_COLUMNS ? "rows too narrow to compare norms"
                                                   : "too few rows to compare norms",
                       LOW_NORM_MIN_COLUMNS, LOW_NORM_MIN_ROWS);
            vr_int(r, c, "columns", (int64_t)cols);
            vr_int(r, c, "rows_compared", (int64_t)h.rows_compared);
        } else {
            struct vtext t;
            vt_init(&t);
            uint64_t low = 0;
            for (uint64_t row = 0; row < rows && low <= EXAMPLES; row++) {
                if (!(flags[row] & TV_ROW_LOW))
                    continue;
                if (low++ < EXAMPLES) {
                    vt_add(&t, "%s", low > 1 ? ", " : "");
                    row_name(&t, v, row);
                    vt_add(&t, " (%.3g)", (double)h.norms[row]);
                }
            }
            low = h.rows_low;
            if (low)
                c = vr_add(r, "embedding.low_norm", TV_CHECK_WARN,
                           "%s: %llu token row%s a norm far below the median %.3g "
                           "(under-trained candidates): %s%s", emb->name,
                           (unsigned long long)low, low == 1 ? " has" : "s have", h.median, t.buf,
                           low > EXAMPLES ? ", ..." : "");
            else
                c = vr_add(r, "embedding.low_norm", TV_CHECK_PASS,
                           "%s: no token row has a norm far below the median %.3g (MAD %.3g, "
                           "%llu rows compared)", emb->name, h.median, h.mad,
                           (unsigned long long)h.rows_compared);
            vr_int(r, c, "low_norm_rows", (int64_t)low);
            vr_float(r, c, "median_norm", h.median);
            vr_float(r, c, "mad", h.mad);
            vr_int(r, c, "rows_compared", (int64_t)h.rows_compared);
        }
    }
    tv_embedding_health_release(&h);
    return r->failed_oom ? -1 : 0;
}
