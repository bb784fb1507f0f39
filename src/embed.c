/*
 * Embeddings (tokvec/embed.h): ids to vectors, norms, similarity, and the searches
 * over the token-embedding matrix: nearest rows to a vector, to the mean of some
 * rows, and the 3CosAdd analogy.
 *
 * A search is one pass over the matrix, split into contiguous row ranges, one per
 * thread. Each range is read in blocks of rows; a block is scored by a kernel
 * (embed_kernels.c) that reads the stored bytes directly for F32/F16/BF16/Q8_0, or
 * after tv_dtype_to_f32 has converted it into a small per-thread staging buffer for
 * every other dtype. The matrix is never expanded to float32 as a whole.
 *
 * Each thread keeps its best candidates in a bounded min-heap (the worst at the
 * root), ordered by (float32 score, then lower id), and writes every row's score to a
 * scratch array. The heaps are merged by the same order, so the candidates do not
 * depend on the thread count: each row's score is computed by the same operations
 * whichever thread reads it. The best k + CANDIDATE_SLACK candidates are rescored in
 * double precision from the rows as tv_tensor_rows_f32 decodes them, and the result
 * is certified with a bound on the float32 rounding error (see search()); when rows
 * lie closer together than that bound, every row that could belong is rescored too.
 * The output is therefore what double-precision arithmetic on the stored values
 * gives, sorted by (score, lower id), whatever the kernel or the thread count.
 *
 * Row norms: cosine and L2 scores and the error bound need each row's sum of squares.
 * The first search computes them in the same pass as the dots and keeps them (4 bytes
 * per row, under 1/dim of an F32 matrix); later searches reuse them and skip that work. A cached
 * sum is bit for bit what the kernel would compute again, so the cache never changes
 * a result. Normalised copies of the rows are never made: they would cost as much
 * memory as an F32 matrix and save nothing in a pass bound by memory bandwidth.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "embed_kernels.h"
#include "tokvec/embed.h"

/* Candidates rescored in double beyond the k asked for. */
#define CANDIDATE_SLACK 32
/* Floats staged per block: 256 KiB stays in a core's L2 cache between the
   conversion and the dot products. */
#define STAGE_BYTES (256 * 1024)
#define MAX_BLOCK_ROWS 4096
#define MAX_THREADS 256
/* Bytes of the matrix each extra thread must have to read: starting a thread costs
   tens of microseconds (milliseconds on a busy machine), reading 8 MiB about a
   millisecond, so small matrices are scanned by one thread whatever was asked. */
#define MIN_BYTES_PER_THREAD (8u << 20)

struct tv_embed {
    const tv_model *m;
    const struct tv_tensor *t;
    uint64_t rows;
    size_t dim;
    size_t row_bytes;
    const struct tv_embed_kernels *kern;
    size_t block_rows;
    uint64_t min_bytes_per_thread;
    float *sumsq;       /* rows entries: each row's sum of squares, once norms_ready */
    bool norms_ready;
    float *scores;      /* rows entries: the scan's scores (scratch of each search) */
};

/* ---- names and options ----------------------------------------------------------- */

static const char *const metric_names[] = {"cosine", "dot", "l2"};

const char *tv_metric_name(enum tv_metric metric)
{
    return (unsigned)metric < TV_ARRAY_SIZE(metric_names) ? metric_names[metric] : "?";
}

int tv_metric_from_name(const char *name, enum tv_metric *out)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(metric_names); i++)
        if (strcmp(name, metric_names[i]) == 0) {
            *out = (enum tv_metric)i;
            return 0;
        }
    return -1;
}

void tv_search_options_init(struct tv_search_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->metric = TV_METRIC_COSINE;
    opt->k = 10;
    opt->threads = 1;
}

/* ---- the searcher ------------------------------------------------------------------ */

static size_t default_block_rows(size_t dim)
{
    size_t n = STAGE_BYTES / (dim * sizeof(float));
    return n < 1 ? 1 : n > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : n;
}

tv_embed *tv_embed_new(const tv_model *m, tv_error *err)
{
    const struct tv_tensor *t = tv_model_embedding(m);
    if (!t) {
        tv_error_set(err, TV_ERR_NOTFOUND,
                     "%s: no token embedding (%zu tensors, none known or matching the "
                     "%zu-token vocabulary; name one with --embedding)",
                     tv_model_path(m), tv_model_tensor_count(m), tv_vocab_size(m));
        return NULL;
    }
    if (t->n_dims != 2 || t->shape[0] == 0 || t->shape[1] == 0) {
        tv_error_set(err, TV_ERR_DATA, "%s: embedding '%s' has %u dimensions and %llu elements; "
                     "a search needs a matrix of at least one row and one column", t->file,
                     t->name, t->n_dims, (unsigned long long)t->n_elements);
        return NULL;
    }
    if (!tv_dtype_can_to_f32(t->dtype)) {
        tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: embedding '%s' is %s, which tokvec cannot "
                     "convert to float32", t->file, t->name, tv_dtype_name(t->dtype));
        return NULL;
    }
    if (!t->data) {
        tv_error_set(err, TV_ERR_USAGE, "%s: embedding '%s': data not loaded", t->file, t->name);
        return NULL;
    }
    if (t->shape[0] > UINT32_MAX || t->shape[1] > SIZE_MAX / 4 / MAX_BLOCK_ROWS) {
        tv_error_set(err, TV_ERR_LIMIT, "%s: embedding '%s' is %llu x %llu; searches take at "
                     "most 2^32 - 1 rows of at most %zu values", t->file, t->name,
                     (unsigned long long)t->shape[0], (unsigned long long)t->shape[1],
                     (size_t)(SIZE_MAX / 4 / MAX_BLOCK_ROWS));
        return NULL;
    }
    uint64_t row_bytes, total;
    if (tv_dtype_bytes(t->dtype, t->shape[1], &row_bytes, err) < 0) {
        tv_error_prefix(err, "%s: embedding '%s': rows of %llu values", t->file, t->name,
                        (unsigned long long)t->shape[1]);
        return NULL;
    }
    if (!tv_mul_u64_fits(row_bytes, t->shape[0], &total) || total > t->n_bytes ||
        row_bytes > SIZE_MAX) {
        tv_error_set(err, TV_ERR_DATA, "%s: embedding '%s': %llu rows of %llu bytes run past its "
                     "%llu bytes", t->file, t->name, (unsigned long long)t->shape[0],
                     (unsigned long long)row_bytes, (unsigned long long)t->n_bytes);
        return NULL;
    }
    tv_embed *e = tv_calloc(1, sizeof *e);
    if (!e) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", t->file);
        return NULL;
    }
    e->m = m;
    e->t = t;
    e->rows = t->shape[0];
    e->dim = (size_t)t->shape[1];
    e->row_bytes = (size_t)row_bytes;
    e->kern = tv_embed_kernels_best();
    e->block_rows = default_block_rows(e->dim);
    e->min_bytes_per_thread = MIN_BYTES_PER_THREAD;
    return e;
}

void tv_embed_free(tv_embed *e)
{
    if (!e)
        return;
    tv_free(e->sumsq);
    tv_free(e->scores);
    tv_free(e);
}

const struct tv_tensor *tv_embed_tensor(const tv_embed *e) { return e->t; }
uint64_t tv_embed_rows(const tv_embed *e) { return e->rows; }
size_t tv_embed_dim(const tv_embed *e) { return e->dim; }
const char *tv_embed_kernel_name(const tv_embed *e) { return e->kern->name; }

void tv_embed_use_kernels(tv_embed *e, const struct tv_embed_kernels *k)
{
    if (k != e->kern)
        e->norms_ready = false; /* sums from other kernels may round differently */
    e->kern = k;
}

void tv_embed_set_block_rows(tv_embed *e, size_t n)
{
    e->block_rows = n ? (n > MAX_BLOCK_ROWS ? MAX_BLOCK_ROWS : n) : default_block_rows(e->dim);
}

void tv_embed_set_min_bytes_per_thread(tv_embed *e, uint64_t n)
{
    e->min_bytes_per_thread = n;
}

int tv_embed_norms_cached(const tv_embed *e) { return e->norms_ready; }

/* ---- rows ---------------------------------------------------------------------------- */

static int check_id(const tv_embed *e, uint32_t id, tv_error *err)
{
    if (id >= e->rows)
        return tv_error_set(err, TV_ERR_NOTFOUND, "token id %u has no row: embedding '%s' has "
                            "%llu rows", id, e->t->name, (unsigned long long)e->rows);
    return 0;
}

static int row_f32(const tv_embed *e, uint32_t id, float *dst, tv_error *err)
{
    if (check_id(e, id, err) < 0)
        return -1;
    return tv_tensor_rows_f32(e->t, id, 1, dst, err);
}

int tv_embed_lookup(const tv_embed *e, const uint32_t *ids, size_t n, float *dst, tv_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (row_f32(e, ids[i], dst + i * e->dim, err) < 0)
            return -1;
    return 0;
}

/* The mean of the rows of ids into acc (dim doubles). row: dim floats of scratch. */
static int mean_rows(const tv_embed *e, const uint32_t *ids, size_t n, double *acc, float *row,
                     tv_error *err)
{
    if (n == 0)
        return tv_error_set(err, TV_ERR_USAGE, "no token ids to average");
    for (size_t j = 0; j < e->dim; j++)
        acc[j] = 0;
    for (size_t i = 0; i < n; i++) {
        if (row_f32(e, ids[i], row, err) < 0)
            return -1;
        for (size_t j = 0; j < e->dim; j++)
            acc[j] += row[j];
    }
    for (size_t j = 0; j < e->dim; j++)
        acc[j] /= (double)n;
    return 0;
}

int tv_embed_mean(const tv_embed *e, const uint32_t *ids, size_t n, float *dst, tv_error *err)
{
    int rc = -1;
    double *acc = tv_malloc(e->dim * sizeof *acc);
    float *row = tv_malloc(e->dim * sizeof *row);
    if (!acc || !row) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for a %zu-value vector", e->dim);
        goto out;
    }
    if (mean_rows(e, ids, n, acc, row, err) < 0)
        goto out;
    for (size_t j = 0; j < e->dim; j++)
        dst[j] = (float)acc[j];
    rc = 0;
out:
    tv_free(acc);
    tv_free(row);
    return rc;
}

int tv_embed_norm(const tv_embed *e, uint32_t id, double *norm, tv_error *err)
{
    float *row = tv_malloc(e->dim * sizeof *row);
    if (!row)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory for a %zu-value vector", e->dim);
    int rc = row_f32(e, id, row, err);
    if (rc == 0)
        *norm = tv_vec_norm(row, e->dim);
    tv_free(row);
    return rc;
}

/* ---- vectors ---------------------------------------------------------------------------- */

double tv_vec_dot(const float *x, const float *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * y[i];
    return s;
}

double tv_vec_norm(const float *x, size_t n)
{
    return sqrt(tv_vec_dot(x, x, n));
}

double tv_vec_cosine(const float *x, const float *y, size_t n)
{
    double nx = tv_vec_norm(x, n), ny = tv_vec_norm(y, n);
    return nx == 0 || ny == 0 ? 0 : tv_vec_dot(x, y, n) / (nx * ny);
}

double tv_vec_l2(const float *x, const float *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        s += d * d;
    }
    return sqrt(s);
}

static double dot_dd(const double *x, const double *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

int tv_embed_compare(const tv_embed *e, const uint32_t *x, size_t nx, const uint32_t *y,
                     size_t ny, struct tv_similarity *out, tv_error *err)
{
    int rc = -1;
    double *vx = tv_malloc(e->dim * sizeof *vx), *vy = tv_malloc(e->dim * sizeof *vy);
    float *row = tv_malloc(e->dim * sizeof *row);
    if (!vx || !vy || !row) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for %zu-value vectors", e->dim);
        goto out;
    }
    if (mean_rows(e, x, nx, vx, row, err) < 0 || mean_rows(e, y, ny, vy, row, err) < 0)
        goto out;
    out->dot = dot_dd(vx, vy, e->dim);
    out->norm_x = sqrt(dot_dd(vx, vx, e->dim));
    out->norm_y = sqrt(dot_dd(vy, vy, e->dim));
    out->cosine = out->norm_x == 0 || out->norm_y == 0 ? 0 : out->dot / (out->norm_x * out->norm_y);
    double s = 0;
    for (size_t j = 0; j < e->dim; j++) {
        double d = vx[j] - vy[j];
        s += d * d;
    }
    out->l2 = sqrt(s);
    rc = 0;
out:
    tv_free(vx);
    tv_free(vy);
    tv_free(row);
    return rc;
}

/* ---- the scan ------------------------------------------------------------------------- */

/*
 * The scan ranks rows by a float32 score g, higher is nearer, that orders rows as the
 * metric does: cosine q.r / |r| (|q| is the same for every row), dot q.r, L2
 * 2 q.r - |r|^2 (|q - r|^2 = |q|^2 - g).
 */
struct cand {
    float score;
    uint32_t id;
};

/* a ranks before b: higher score, then lower id. */
static inline bool cand_better(float as, uint32_t aid, const struct cand *b)
{
    return as > b->score || (as == b->score && aid < b->id);
}

static int cmp_cand(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;
    return cand_better(a->score, a->id, b) ? -1 : cand_better(b->score, b->id, a) ? 1 : 0;
}

struct scan_shared {
    const tv_embed *e;
    const float *q;           /* the query in float32 */
    enum tv_metric metric;
    size_t cap;               /* candidates each part keeps */
    const uint32_t *exclude;  /* sorted, unique */
    size_t n_exclude;
    tv_rows_dot_fn fused;     /* reads the stored rows; NULL: stage and use staged */
    tv_rows_dot_fn staged;
    const float *cached;      /* every row's sum of squares, or NULL */
    float *sumsq_out;         /* where to keep the sums computed now, or NULL */
    float *scores;            /* every row's score g (NaN: the row is skipped) */
};

struct scan_part {
    const struct scan_shared *sh;
    uint64_t begin, end;
    struct cand *heap;        /* min-heap: heap[0] is the worst kept */
    size_t n;
    uint64_t n_scored;        /* rows whose score is a number */
    float max_sumsq;          /* the largest sum of squares of a row */
    float *dots, *sumsq;      /* block_rows each (sumsq only when not kept in e) */
    float *stage;             /* block_rows * dim, only when staging */
    tv_error err;
    int rc;
};

static bool in_sorted(const uint32_t *ids, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id)
            return true;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void sift_down(struct cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cand_better(h[worst].score, h[worst].id, &h[l]))
            worst = l;
        if (r < n && cand_better(h[worst].score, h[worst].id, &h[r]))
            worst = r;
        if (worst == i)
            return;
        struct cand tmp = h[i];
        h[i] = h[worst];
        h[worst] = tmp;
        i = worst;
    }
}

static inline void consider(struct scan_part *pt, float score, uint32_t id)
{
    struct cand *h = pt->heap;
    size_t cap = pt->sh->cap;
    if (pt->n == cap && !cand_better(score, id, &h[0]))
        return;
    if (pt->sh->n_exclude && in_sorted(pt->sh->exclude, pt->sh->n_exclude, id))
        return;
    if (pt->n < cap) {
        size_t i = pt->n++;
        h[i] = (struct cand){score, id};
        while (i > 0) { /* sift up: a parent must be worse than its children */
            size_t parent = (i - 1) / 2;
            if (!cand_better(h[parent].score, h[parent].id, &h[i]))
                break;
            struct cand tmp = h[i];
            h[i] = h[parent];
            h[parent] = tmp;
            i = parent;
        }
    } else {
        h[0] = (struct cand){score, id};
        sift_down(h, cap, 0);
    }
}

static void *scan_part_run(void *arg)
{
    struct scan_part *pt = arg;
    const struct scan_shared *sh = pt->sh;
    const tv_embed *e = sh->e;
    const struct tv_tensor *t = e->t;
    for (uint64_t r0 = pt->begin; r0 < pt->end;) {
        size_t nb = pt->end - r0 < e->block_rows ? (size_t)(pt->end - r0) : e->block_rows;
        const uint8_t *src = t->data + r0 * e->row_bytes;
        float *sumsq = NULL;
        const float *ss;
        if (sh->cached) {
            ss = sh->cached + r0;
        } else {
            sumsq = sh->sumsq_out ? sh->sumsq_out + r0 : pt->sumsq;
            ss = sumsq;
        }
        if (sh->fused) {
            sh->fused(src, e->row_bytes, nb, sh->q, e->dim, pt->dots, sumsq);
        } else {
            if (tv_dtype_to_f32(t->dtype, src, (uint64_t)nb * e->dim, pt->stage, &pt->err) < 0) {
                tv_error_prefix(&pt->err, "%s: embedding '%s': rows %llu..%llu", t->file,
                                t->name, (unsigned long long)r0,
                                (unsigned long long)(r0 + nb - 1));
                pt->rc = -1;
                return NULL;
            }
            sh->staged((const uint8_t *)pt->stage, e->dim * sizeof(float), nb, sh->q, e->dim,
                       pt->dots, sumsq);
        }
        float *scores = sh->scores + r0;
        for (size_t i = 0; i < nb; i++) {
            float score;
            switch (sh->metric) {
            case TV_METRIC_COSINE: /* a zero row scores 0; a NaN in the row stays NaN */
                score = ss[i] == 0 ? 0.0f : pt->dots[i] / sqrtf(ss[i]);
                break;
            case TV_METRIC_L2:
                score = 2 * pt->dots[i] - ss[i];
                break;
            default:
                score = pt->dots[i];
                break;
            }
            scores[i] = score;
            if (ss[i] > pt->max_sumsq)
                pt->max_sumsq = ss[i];
            if (score == score) { /* not NaN */
                pt->n_scored++;
                consider(pt, score, (uint32_t)(r0 + i));
            }
        }
        r0 += nb;
    }
    return NULL;
}

static int cmp_u32(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return a < b ? -1 : a > b;
}

/*
 * An upper bound on |g_float32 - g_exact| for any row, where g_exact is the score the
 * rescoring computes from the same row in double. In every kernel a product passes
 * through at most m = dim / 8 + 32 roundings on its way into the dot (the portable
 * kernels keep 8 or 16 partial sums, the AVX2 ones 32, each with a tail of at most 15
 * and a final tree; Q8_0 adds 5 per block), so |dot error| <= gamma_m sum |q_i r_i|
 * <= gamma_m |q| |r| (Higham's bound for any summation order, with Cauchy-Schwarz);
 * the query's rounding to float32, Q8_0's fused scale, the square
 * root and the division add a few units of u = 2^-24 each. The bound used is twice
 * that first-order estimate. It assumes no underflow: rows whose squared values fall
 * below float32's range (|x| < 1e-19) may be misranked. R is the largest row norm.
 */
static double score_error_bound(enum tv_metric metric, size_t dim, double q_norm,
                                double max_sumsq)
{
    const double u = 0x1p-24;
    double m = (double)dim / 8 + 32;
    if (!(m * u < 0.5) || !isfinite(max_sumsq))
        return INFINITY;
    double gamma = m * u / (1 - m * u);
    double rel = 2 * (2 * gamma + 16 * u);
    double r = sqrt(max_sumsq) * (1 + rel);
    switch (metric) {
    case TV_METRIC_COSINE: return rel * q_norm * (1 + rel);
    case TV_METRIC_DOT: return rel * q_norm * r;
    default: return rel * (2 * q_norm * r + r * r);
    }
}

/* ---- rescoring ------------------------------------------------------------------------ */

struct exact {
    uint32_t id;
    double score;  /* as reported: cosine, dot, or L2 distance */
    double g;      /* the scan's score, computed in double */
};

static struct exact exact_score(enum tv_metric metric, uint32_t id, const double *q,
                                double q_norm, const float *row, size_t dim)
{
    double dot = 0, sumsq = 0, dist = 0;
    for (size_t j = 0; j < dim; j++) {
        dot += q[j] * row[j];
        sumsq += (double)row[j] * row[j];
    }
    struct exact x = {.id = id};
    switch (metric) {
    case TV_METRIC_L2:
        for (size_t j = 0; j < dim; j++) {
            double d = q[j] - row[j];
            dist += d * d;
        }
        x.score = sqrt(dist);
        x.g = 2 * dot - sumsq;
        break;
    case TV_METRIC_COSINE:
        x.score = sumsq == 0 ? 0 : dot / (sqrt(sumsq) * q_norm);
        x.g = sumsq == 0 ? 0 : dot / sqrt(sumsq);
        break;
    default:
        x.score = x.g = dot;
        break;
    }
    return x;
}

static int cmp_exact_desc(const void *pa, const void *pb)
{
    const struct exact *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_exact_asc(const void *pa, const void *pb)
{
    const struct exact *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Rescores the n ids in double, drops NaN scores and sorts best first into out
   (n entries); *n_out gets the count kept. */
static int rescore(const tv_embed *e, enum tv_metric metric, const double *q, double q_norm,
                   const uint32_t *ids, size_t n, float *row, struct exact *out, size_t *n_out,
                   tv_error *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (tv_tensor_rows_f32(e->t, ids[i], 1, row, err) < 0)
            return -1;
        struct exact x = exact_score(metric, ids[i], q, q_norm, row, e->dim);
        if (x.score == x.score && x.g == x.g)
            out[kept++] = x;
    }
    qsort(out, kept, sizeof *out, metric == TV_METRIC_L2 ? cmp_exact_asc : cmp_exact_desc);
    *n_out = kept;
    return 0;
}

/* ---- search ----------------------------------------------------------------------------- */

static tv_rows_dot_fn fused_kernel(const struct tv_embed_kernels *k, enum tv_dtype dtype)
{
    switch (dtype) {
    case TV_DTYPE_F32: return k->f32;
    case TV_DTYPE_F16: return k->f16;
    case TV_DTYPE_BF16: return k->bf16;
    case TV_DTYPE_Q8_0: return k->q8_0;
    default: return NULL;
    }
}

/*
 * The search behind every public one: query q (dim doubles), excluding opt->exclude and
 * the n_extra ids of extra.
 *
 * 1. Scan: every row's float32 score g into e->scores, the best cap = k + 32 per part.
 * 2. Merge the parts' candidates by (g, lower id); rescore them in double.
 * 3. Certify: a row left out has g <= T, the worst kept g, so its exact g is at most
 *    T + eps (score_error_bound). When the k-th best exact g, G_k, is above that,
 *    no row left out can be among the best k, and the answer is exact.
 * 4. Otherwise (rows within float32 rounding of each other, as the near-identical
 *    unused rows of small models are): rescore every row whose g is at least
 *    G_k - eps, read from e->scores without a second pass over the matrix. Rows
 *    below that threshold have an exact g below G_k.
 */
static int search(tv_embed *e, const double *q, const struct tv_search_options *opt,
                  const uint32_t *extra, size_t n_extra, struct tv_neighbor *out, size_t *n_out,
                  tv_error *err)
{
    int rc = -1;
    float *qf = NULL, *row = NULL;
    uint32_t *ex = NULL, *ids = NULL;
    struct scan_part *parts = NULL;
    struct cand *all = NULL;
    struct exact *scored = NULL;
    pthread_t *tids = NULL;
    bool *started = NULL;
    size_t n_parts = 0;
    *n_out = 0;

    if (opt->k == 0)
        return tv_error_set(err, TV_ERR_USAGE, "k must be at least 1");
    if ((unsigned)opt->metric >= TV_ARRAY_SIZE(metric_names))
        return tv_error_set(err, TV_ERR_USAGE, "unknown metric %d", (int)opt->metric);
    if (opt->n_exclude && !opt->exclude)
        return tv_error_set(err, TV_ERR_USAGE, "%zu ids to exclude but no array", opt->n_exclude);
    if (opt->n_exclude > SIZE_MAX / sizeof(uint32_t) - n_extra)
        return tv_error_set(err, TV_ERR_USAGE, "%zu ids to exclude: too many", opt->n_exclude);

    qf = tv_malloc(e->dim * sizeof *qf);
    row = tv_malloc(e->dim * sizeof *row);
    if (!qf || !row)
        goto nomem;
    double q_sumsq = 0;
    for (size_t j = 0; j < e->dim; j++) {
        qf[j] = (float)q[j];
        if (!isfinite(qf[j])) {
            tv_error_set(err, TV_ERR_USAGE, "the query vector's value %zu (%g) is not a finite "
                         "float32", j, q[j]);
            goto out;
        }
        q_sumsq += q[j] * q[j];
    }
    double q_norm = sqrt(q_sumsq);
    if (opt->metric == TV_METRIC_COSINE && !(q_norm > 0)) {
        tv_error_set(err, TV_ERR_USAGE, "the query vector is zero (%zu values): cosine "
                     "similarity with it is undefined", e->dim);
        goto out;
    }

    /* The ids to leave out, sorted and unique for the binary search. */
    size_t n_ex = 0;
    if (opt->n_exclude + n_extra) {
        ex = tv_malloc((opt->n_exclude + n_extra) * sizeof *ex);
        if (!ex)
            goto nomem;
        if (opt->n_exclude)
            memcpy(ex, opt->exclude, opt->n_exclude * sizeof *ex);
        if (n_extra)
            memcpy(ex + opt->n_exclude, extra, n_extra * sizeof *ex);
        qsort(ex, opt->n_exclude + n_extra, sizeof *ex, cmp_u32);
        for (size_t i = 0; i < opt->n_exclude + n_extra; i++)
            if (n_ex == 0 || ex[n_ex - 1] != ex[i])
                ex[n_ex++] = ex[i];
    }

    if (!e->scores && !(e->scores = tv_malloc((size_t)e->rows * sizeof *e->scores)))
        goto nomem;
    /* The candidates kept: k + CANDIDATE_SLACK, at most every row. */
    uint64_t cap = opt->k < e->rows ? opt->k : e->rows;
    cap = cap + CANDIDATE_SLACK < e->rows ? cap + CANDIDATE_SLACK : e->rows;
    struct scan_shared sh = {
        .e = e,
        .q = qf,
        .metric = opt->metric,
        .cap = (size_t)cap,
        .exclude = ex,
        .n_exclude = n_ex,
        .fused = fused_kernel(e->kern, e->t->dtype),
        .staged = e->kern->staged,
        .scores = e->scores,
    };
    if (e->norms_ready) {
        sh.cached = e->sumsq;
    } else {
        /* Keeping the sums costs 4 bytes a row; without room, each part computes its
           own and nothing is cached. */
        if (!e->sumsq)
            e->sumsq = tv_malloc((size_t)e->rows * sizeof *e->sumsq);
        sh.sumsq_out = e->sumsq;
    }

    uint64_t threads = opt->threads ? opt->threads : 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    uint64_t matrix_bytes = e->rows * e->row_bytes;
    if (e->min_bytes_per_thread && threads > matrix_bytes / e->min_bytes_per_thread)
        threads = matrix_bytes / e->min_bytes_per_thread ? matrix_bytes / e->min_bytes_per_thread
                                                         : 1;
    if (threads > e->rows)
        threads = e->rows;
    n_parts = (size_t)threads;
    parts = tv_calloc(n_parts, sizeof *parts);
    tids = tv_calloc(n_parts, sizeof *tids);
    started = tv_calloc(n_parts, sizeof *started);
    if (!parts || !tids || !started)
        goto nomem;
    for (size_t p = 0; p < n_parts; p++) {
        struct scan_part *pt = &parts[p];
        pt->sh = &sh;
        pt->begin = e->rows * p / n_parts;
        pt->end = e->rows * (p + 1) / n_parts;
        pt->heap = tv_malloc(sh.cap * sizeof *pt->heap);
        pt->dots = tv_malloc(e->block_rows * sizeof *pt->dots);
        if (!pt->heap || !pt->dots)
            goto nomem;
        if (!sh.cached && !sh.sumsq_out &&
            !(pt->sumsq = tv_malloc(e->block_rows * sizeof *pt->sumsq)))
            goto nomem;
        if (!sh.fused && !(pt->stage = tv_malloc(e->block_rows * e->dim * sizeof *pt->stage)))
            goto nomem;
    }

    /* Part 0 runs here; a part whose thread cannot start runs here too. */
    for (size_t p = 1; p < n_parts; p++)
        started[p] = pthread_create(&tids[p], NULL, scan_part_run, &parts[p]) == 0;
    scan_part_run(&parts[0]);
    for (size_t p = 1; p < n_parts; p++) {
        if (started[p])
            pthread_join(tids[p], NULL);
        else
            scan_part_run(&parts[p]);
    }
    for (size_t p = 0; p < n_parts; p++)
        if (parts[p].rc < 0) {
            if (err)
                *err = parts[p].err;
            goto out;
        }
    if (sh.sumsq_out)
        e->norms_ready = true;

    /* Merge the parts' candidates by the scan's order and keep the best cap. */
    size_t n_all = 0;
    uint64_t n_eligible = 0;
    float max_sumsq = 0;
    all = tv_malloc(n_parts * sh.cap * sizeof *all);
    if (!all)
        goto nomem;
    for (size_t p = 0; p < n_parts; p++) {
        memcpy(all + n_all, parts[p].heap, parts[p].n * sizeof *all);
        n_all += parts[p].n;
        n_eligible += parts[p].n_scored;
        if (parts[p].max_sumsq > max_sumsq || parts[p].max_sumsq != parts[p].max_sumsq)
            max_sumsq = parts[p].max_sumsq;
    }
    for (size_t i = 0; i < n_ex; i++)
        if (ex[i] < e->rows && e->scores[ex[i]] == e->scores[ex[i]])
            n_eligible--;
    qsort(all, n_all, sizeof *all, cmp_cand);
    if (n_all > sh.cap)
        n_all = sh.cap;

    /* Rescore the candidates in double precision. */
    ids = tv_malloc((n_all ? n_all : 1) * sizeof *ids);
    scored = tv_malloc((n_all ? n_all : 1) * sizeof *scored);
    if (!ids || !scored)
        goto nomem;
    for (size_t i = 0; i < n_all; i++)
        ids[i] = all[i].id;
    size_t n_scored;
    if (rescore(e, opt->metric, q, q_norm, ids, n_all, row, scored, &n_scored, err) < 0)
        goto out;

    if (n_eligible > n_all) {
        /* Some rows were left out: certify, or widen to every row that could belong. */
        double eps = score_error_bound(opt->metric, e->dim, q_norm, max_sumsq);
        double worst_kept = all[n_all - 1].score;
        double g_k = INFINITY;
        for (size_t i = 0; i < n_scored && i < opt->k; i++)
            g_k = scored[i].g < g_k ? scored[i].g : g_k;
        if (n_scored < opt->k || !(g_k > worst_kept + eps)) {
            double threshold = n_scored < opt->k ? -INFINITY : g_k - eps;
            size_t n_wide = 0;
            for (uint64_t r = 0; r < e->rows; r++)
                n_wide += e->scores[r] >= threshold;
            tv_free(ids);
            tv_free(scored);
            ids = tv_malloc((n_wide ? n_wide : 1) * sizeof *ids);
            scored = tv_malloc((n_wide ? n_wide : 1) * sizeof *scored);
            if (!ids || !scored)
                goto nomem;
            n_wide = 0;
            for (uint64_t r = 0; r < e->rows; r++)
                if (e->scores[r] >= threshold && !(n_ex && in_sorted(ex, n_ex, (uint32_t)r)))
                    ids[n_wide++] = (uint32_t)r;
            if (rescore(e, opt->metric, q, q_norm, ids, n_wide, row, scored, &n_scored, err) < 0)
                goto out;
        }
    }
    *n_out = n_scored < opt->k ? n_scored : opt->k;
    for (size_t i = 0; i < *n_out; i++)
        out[i] = (struct tv_neighbor){scored[i].id, scored[i].score};
    rc = 0;
    goto out;
nomem:
    tv_error_set(err, TV_ERR_NOMEM, "out of memory for a search over %llu rows of %zu values",
                 (unsigned long long)e->rows, e->dim);
out:
    if (parts)
        for (size_t p = 0; p < n_parts; p++) {
            tv_free(parts[p].heap);
            tv_free(parts[p].dots);
            tv_free(parts[p].sumsq);
            tv_free(parts[p].stage);
        }
    tv_free(parts);
    tv_free(tids);
    tv_free(started);
    tv_free(all);
    tv_free(ids);
    tv_free(scored);
    tv_free(ex);
    tv_free(qf);
    tv_free(row);
    return rc;
}

int tv_embed_nearest(tv_embed *e, const float *query, const struct tv_search_options *opt,
                     struct tv_neighbor *out, size_t *n_out, tv_error *err)
{
    double *q = tv_malloc(e->dim * sizeof *q);
    if (!q)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory for a %zu-value vector", e->dim);
    for (size_t j = 0; j < e->dim; j++)
        q[j] = query[j];
    int rc = search(e, q, opt, NULL, 0, out, n_out, err);
    tv_free(q);
    return rc;
}

int tv_embed_nearest_mean(tv_embed *e, const uint32_t *ids, size_t n,
                          const struct tv_search_options *opt, struct tv_neighbor *out,
                          size_t *n_out, tv_error *err)
{
    int rc = -1;
    *n_out = 0;
    double *q = tv_malloc(e->dim * sizeof *q);
    float *row = tv_malloc(e->dim * sizeof *row);
    if (!q || !row)
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for a %zu-value vector", e->dim);
    else if (mean_rows(e, ids, n, q, row, err) == 0)
        rc = search(e, q, opt, ids, n, out, n_out, err);
    tv_free(q);
    tv_free(row);
    return rc;
}

int tv_embed_analogy(tv_embed *e, uint32_t a, uint32_t b, uint32_t c,
                     const struct tv_search_options *opt, struct tv_neighbor *out,
                     size_t *n_out, tv_error *err)
{
    *n_out = 0;
    if (opt->metric != TV_METRIC_COSINE)
        return tv_error_set(err, TV_ERR_USAGE, "an analogy ranks by cosine similarity, not %s",
                            tv_metric_name(opt->metric));
    int rc = -1;
    const uint32_t ids[3] = {a, b, c};
    const double weight[3] = {-1, 1, 1}; /* b - a + c */
    double *q = tv_calloc(e->dim, sizeof *q);
    float *row = tv_malloc(e->dim * sizeof *row);
    if (!q || !row) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for a %zu-value vector", e->dim);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        if (row_f32(e, ids[i], row, err) < 0)
            goto out;
        double norm = tv_vec_norm(row, e->dim);
        if (norm != 0) /* gensim's unitvec leaves a zero vector as it is; NaN stays NaN */
            for (size_t j = 0; j < e->dim; j++)
                q[j] += weight[i] * (row[j] / norm);
    }
    double sumsq = 0;
    for (size_t j = 0; j < e->dim; j++)
        sumsq += q[j] * q[j];
    if (sumsq == 0) { /* (a NaN in a row is refused by the search as not finite) */
        tv_error_set(err, TV_ERR_DATA, "ids %u, %u, %u: unit(b) - unit(a) + unit(c) is the zero "
                     "vector, so nothing is nearer than anything else", a, b, c);
        goto out;
    }
    rc = search(e, q, opt, ids, 3, out, n_out, err);
out:
    tv_free(q);
    tv_free(row);
    return rc;
}
