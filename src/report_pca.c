/*
 * The two leading principal components of a few points (the word map of tokvec report).
 *
 * The points are centred (X, n x dim) and their covariance C = X^T X / (n - 1) is
 * decomposed by power iteration: the first axis is the fixed point of v <- C v / |C v|,
 * the second comes from the same iteration on the deflated matrix C - l1 v1 v1^T
 * (Hotelling's deflation), re-orthogonalised against v1 at every step so that rounding
 * cannot bring the first axis back. The points of a word map are few (tens) and wide
 * (thousands of values), so when n < dim the iteration runs on the n x n Gram matrix
 * X X^T / (n - 1) instead: it has the same non-zero eigenvalues, and its eigenvector u
 * gives the covariance's as X^T u / |X^T u|. Everything is double precision; the start
 * vectors are fixed, so the result is the same on every run.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "tokvec/report.h"

#define TOLERANCE 1e-13
#define WORK_PER_SEARCH 2e8  /* multiply-adds one power iteration may spend */

/* y = M x for the symmetric s x s matrix M. */
static void mat_apply(const double *M, size_t s, const double *x, double *y)
{
    for (size_t i = 0; i < s; i++) {
        const double *row = M + i * s;
        double sum = 0;
        for (size_t k = 0; k < s; k++)
            sum += row[k] * x[k];
        y[i] = sum;
    }
}

static double dot(const double *a, const double *b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

/* Makes v orthogonal to the unit vector u. */
static void remove_component(double *v, const double *u, size_t n)
{
    double c = dot(v, u, n);
    for (size_t i = 0; i < n; i++)
        v[i] -= c * u[i];
}

/* Scales v to unit length; returns its former length. */
static double normalise(double *v, size_t n)
{
    double len = sqrt(dot(v, v, n));
    if (len > 0)
        for (size_t i = 0; i < n; i++)
            v[i] /= len;
    return len;
}

/* A start vector with weight in every direction (no eigenvector is likely orthogonal
   to it), the same on every run. */
static void start_vector(double *v, size_t n, unsigned which)
{
    uint64_t state = 0x9E3779B97F4A7C15ull ^ which;
    for (size_t k = 0; k < n; k++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v[k] = 0.5 + (double)(state >> 11) / 9007199254740992.0; /* in [0.5, 1.5) */
    }
}

/*
 * Power iteration for the leading eigenvector of M (deflated by the unit eigenvector
 * prev of eigenvalue prev_value when prev is not NULL: M - prev_value prev prev^T).
 * Writes it to v (unit length; zero when what is left of the matrix is no more than
 * rounding, at most negligible) and returns its eigenvalue (the Rayleigh quotient).
 */
static double power_iteration(const double *M, size_t s, const double *prev, double prev_value,
                              double negligible, double *v, double *next, unsigned which)
{
    start_vector(v, s, which);
    if (prev)
        remove_component(v, prev, s);
    if (normalise(v, s) == 0)
        return 0;
    double budget = WORK_PER_SEARCH / ((double)s * (double)s);
    long max_iterations = budget > 20000 ? 20000 : budget < 500 ? 500 : (long)budget;
    for (long it = 0; it < max_iterations; it++) {
        mat_apply(M, s, v, next);
        if (prev) {
            /* Hotelling's deflation, then orthogonal to prev again against rounding */
            double c = dot(prev, v, s);
            for (size_t k = 0; k < s; k++)
                next[k] -= prev_value * c * prev[k];
            remove_component(next, prev, s);
        }
        if (normalise(next, s) <= negligible) {
            memset(v, 0, s * sizeof *v);
            return 0;
        }
        double change = 0;
        for (size_t k = 0; k < s; k++) {
            double d = next[k] - v[k];
            change += d * d;
        }
        memcpy(v, next, s * sizeof *v);
        if (change < TOLERANCE * TOLERANCE)
            break;
    }
    mat_apply(M, s, v, next);
    return dot(v, next, s);
}

/* Signs the axis so that its component of largest magnitude is positive. */
static void orient(double *v, size_t dim)
{
    size_t best = 0;
    for (size_t k = 1; k < dim; k++)
        if (fabs(v[k]) > fabs(v[best]))
            best = k;
    if (v[best] < 0)
        for (size_t k = 0; k < dim; k++)
            v[k] = -v[k];
}

/*
 * The axis in point space for an eigenvector u of the Gram matrix: X^T u, at unit
 * length (zero when u is zero).
 */
static void gram_axis(const double *X, size_t n, size_t dim, const double *u, double *axis)
{
    memset(axis, 0, dim * sizeof *axis);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            axis[k] += u[i] * X[i * dim + k];
    normalise(axis, dim);
}

int tv_pca2(const double *points, size_t n, size_t dim, double *xy, double *axes,
            double variance[2], double *total, tv_error *err)
{
    if (n < 2 || dim == 0)
        return tv_error_set(err, TV_ERR_USAGE, "PCA needs at least 2 points of at least 1 "
                            "value (got %zu points of %zu)", n, dim);
    /* the smaller of the covariance (dim x dim) and the Gram matrix (n x n) */
    bool gram = n < dim;
    size_t s = gram ? n : dim;
    uint64_t cells, square;
    if (!tv_mul_u64_fits(n, dim, &cells) || cells > SIZE_MAX / sizeof(double) ||
        !tv_mul_u64_fits(s, s, &square) || square > SIZE_MAX / sizeof(double))
        return tv_error_set(err, TV_ERR_NOMEM, "PCA of %zu points of %zu values: too large",
                            n, dim);
    int rc = -1;
    double *X = tv_malloc((size_t)cells * sizeof *X);
    double *M = tv_malloc((size_t)square * sizeof *M);
    double *mean = tv_calloc(dim, sizeof *mean);
    double *u1 = tv_malloc(s * sizeof *u1), *u2 = tv_malloc(s * sizeof *u2);
    double *next = tv_malloc(s * sizeof *next);
    double *v1 = tv_malloc(dim * sizeof *v1), *v2 = tv_malloc(dim * sizeof *v2);
    if (!X || !M || !mean || !u1 || !u2 || !next || !v1 || !v2) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for the PCA of %zu points of %zu "
                     "values", n, dim);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            mean[k] += points[i * dim + k];
    for (size_t k = 0; k < dim; k++)
        mean[k] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < dim; k++)
            X[i * dim + k] = points[i * dim + k] - mean[k];

    /* M = X X^T / (n - 1) or X^T X / (n - 1): both have the covariance's eigenvalues */
    double trace = 0;
    for (size_t a = 0; a < s; a++)
        for (size_t b = a; b < s; b++) {
            double sum = 0;
            if (gram)
                sum = dot(X + a * dim, X + b * dim, dim);
            else
                for (size_t i = 0; i < n; i++)
                    sum += X[i * dim + a] * X[i * dim + b];
            M[a * s + b] = M[b * s + a] = sum / (double)(n - 1);
        }
    for (size_t a = 0; a < s; a++)
        trace += M[a * s + a];

    /* what is left below this is rounding (points on a line, identical points) */
    double negligible = 1e-12 * trace;
    double l1 = power_iteration(M, s, NULL, 0, negligible, u1, next, 1);
    double l2 = s > 1 ? power_iteration(M, s, u1, l1, negligible, u2, next, 2) : 0;
    if (s == 1)
        u2[0] = 0;
    if (gram) {
        gram_axis(X, n, dim, u1, v1);
        gram_axis(X, n, dim, u2, v2);
        remove_component(v2, v1, dim); /* exact in theory; against rounding */
        normalise(v2, dim);
    } else {
        memcpy(v1, u1, dim * sizeof *v1);
        memcpy(v2, u2, dim * sizeof *v2);
    }
    orient(v1, dim);
    orient(v2, dim);
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = dot(X + i * dim, v1, dim);
        xy[2 * i + 1] = dot(X + i * dim, v2, dim);
    }
    if (axes) {
        memcpy(axes, v1, dim * sizeof *axes);
        memcpy(axes + dim, v2, dim * sizeof *axes);
    }
    variance[0] = l1 > 0 ? l1 : 0;
    variance[1] = l2 > 0 ? l2 : 0;
    *total = trace;
    rc = 0;
out:
    tv_free(X);
    tv_free(M);
    tv_free(mean);
    tv_free(u1);
    tv_free(u2);
    tv_free(next);
    tv_free(v1);
    tv_free(v2);
    return rc;
}
