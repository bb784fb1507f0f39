/*
 * tokvec embeddings: ids to vectors, norms, cosine / dot / L2, nearest rows and
 * analogies over a model's token-embedding matrix.
 *
 * A tv_embed is bound to one model's embedding tensor ([rows, dim], any dtype with a
 * to-f32 kernel: F32, F16, BF16, Q8_0, the K-quants, ...). The matrix is never
 * expanded to float32: a search streams it in blocks of rows, with fused kernels
 * (AVX2/F16C when the CPU has them, portable C otherwise) for F32, F16, BF16 and Q8_0
 * and a small float32 staging buffer for the other dtypes.
 *
 * Precision: the scan scores rows in float32 and keeps the best k + 32 candidates;
 * those are rescored in double precision from the stored values (as tv_tensor_rows_f32
 * decodes them), and a bound on the float32 rounding error proves that no other row
 * can belong, or else every row within that bound is rescored as well. The reported
 * order and scores are those of double-precision arithmetic on the stored values,
 * whatever the kernel or the thread count. Ties are broken by the lower id.
 *
 * A tv_embed borrows its model (free it before the model) and is used by one thread
 * at a time; a search may run several threads of its own (tv_search_options.threads).
 */
#ifndef TOKVEC_EMBED_H
#define TOKVEC_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "tokvec/tokvec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tv_embed tv_embed; /* opaque */

enum tv_metric {
    TV_METRIC_COSINE = 0, /* q.r / (|q| |r|), higher is nearer; a zero row scores 0 */
    TV_METRIC_DOT,        /* q.r, higher is nearer */
    TV_METRIC_L2          /* |q - r|, lower is nearer */
};

/* "cosine", "dot", "l2". */
const char *tv_metric_name(enum tv_metric metric);
/* Looks a metric up by name. Returns 0, or -1 when the name is not one. */
int tv_metric_from_name(const char *name, enum tv_metric *out);

/* One result of a search: a row id and its score under the search's metric. */
struct tv_neighbor {
    uint32_t id;
    double score;
};

struct tv_search_options {
    enum tv_metric metric;    /* default cosine */
    size_t k;                 /* how many results (default 10); at least 1 */
    const uint32_t *exclude;  /* ids never returned (besides those a call excludes itself) */
    size_t n_exclude;
    unsigned threads;         /* threads that split the rows (at most one per 8 MiB of the
                                 matrix); 0 or 1: the calling thread only */
};

/* Fills opt with the defaults: cosine, k = 10, nothing excluded, one thread. */
void tv_search_options_init(struct tv_search_options *opt);

/* Cosine, dot product and L2 distance of two vectors, and their norms. */
struct tv_similarity {
    double cosine;  /* 0 when either vector is zero */
    double dot;
    double l2;
    double norm_x, norm_y;
};

/*
 * Binds a searcher to the model's token-embedding tensor (tv_model_embedding). Returns
 * NULL with err when the model has none (TV_ERR_NOTFOUND, naming the model and its
 * tensor count), when its dtype has no to-f32 kernel (TV_ERR_UNSUPPORTED), when its
 * data is not loaded, or when it has more than 2^32 - 1 rows. The searcher borrows m;
 * free it with tv_embed_free() before m.
 */
tv_embed *tv_embed_new(const tv_model *m, tv_error *err);
/* Frees the searcher and its caches. NULL is fine. */
void tv_embed_free(tv_embed *e);

/* The embedding tensor (borrowed from the model). */
const struct tv_tensor *tv_embed_tensor(const tv_embed *e);
/* Its number of rows (ids 0 .. rows - 1) and of values per row. */
uint64_t tv_embed_rows(const tv_embed *e);
size_t tv_embed_dim(const tv_embed *e);
/* The kernel set searches use: "avx2" or "portable". */
const char *tv_embed_kernel_name(const tv_embed *e);

/*
 * Writes the rows of the n ids, converted to float32, to dst (n * dim floats, row
 * after row). Returns 0, or -1 with err when an id has no row (naming the id and the
 * row count).
 */
int tv_embed_lookup(const tv_embed *e, const uint32_t *ids, size_t n, float *dst,
                    tv_error *err);
/*
 * Writes the mean of the rows of the n ids (n >= 1; an id may repeat) to dst (dim
 * floats), summed in double precision. Returns 0, or -1 with err (no ids, an id
 * without a row).
 */
int tv_embed_mean(const tv_embed *e, const uint32_t *ids, size_t n, float *dst, tv_error *err);
/* Sets *norm to the Euclidean norm of row id (in double). Returns 0, or -1 with err. */
int tv_embed_norm(const tv_embed *e, uint32_t id, double *norm, tv_error *err);

/*
 * Compares the mean of the rows of x (nx ids) with the mean of the rows of y (ny ids):
 * cosine, dot, L2 distance and both norms, in double precision. One id on each side
 * compares two tokens. Returns 0, or -1 with err.
 */
int tv_embed_compare(const tv_embed *e, const uint32_t *x, size_t nx, const uint32_t *y,
                     size_t ny, struct tv_similarity *out, tv_error *err);

/*
 * Finds the opt->k rows nearest to query (dim floats) under opt->metric, skipping the
 * ids in opt->exclude and rows whose score is not a number. out must hold opt->k
 * entries; they are written best first and *n_out gets their count (fewer than k
 * when fewer rows remain). The matrix is read once, block by block. Row norms are
 * cached in e by the first search (4 bytes per row) and reused by later ones; the
 * cache never changes a result. Returns 0, or -1 with err: a query that is
 * not finite, a zero query with cosine (TV_ERR_USAGE), k = 0, out of memory.
 */
int tv_embed_nearest(tv_embed *e, const float *query, const struct tv_search_options *opt,
                     struct tv_neighbor *out, size_t *n_out, tv_error *err);
/*
 * The same with the mean of the rows of the n ids as the query (the vector of a text
 * of several tokens); those ids are excluded from the results as well.
 */
int tv_embed_nearest_mean(tv_embed *e, const uint32_t *ids, size_t n,
                          const struct tv_search_options *opt, struct tv_neighbor *out,
                          size_t *n_out, tv_error *err);
/*
 * Analogy "a is to b as c is to ?" by 3CosAdd: the rows nearest by cosine to
 * unit(b) - unit(a) + unit(c), excluding a, b and c. As gensim's most_similar(
 * positive=[b, c], negative=[a]) and word2vec's word-analogy do, each input vector is
 * normalised to unit length before they are combined (a zero vector stays zero), so
 * no input outweighs the others by its length. opt->metric must be cosine. Returns 0,
 * or -1 with err (an id without a row, a combination that is the zero vector).
 */
int tv_embed_analogy(tv_embed *e, uint32_t a, uint32_t b, uint32_t c,
                     const struct tv_search_options *opt, struct tv_neighbor *out,
                     size_t *n_out, tv_error *err);

/* ---- vectors (float32 in, double-precision sums) ------------------------------- */

double tv_vec_dot(const float *x, const float *y, size_t n);
double tv_vec_norm(const float *x, size_t n);
/* 0 when either vector is zero. */
double tv_vec_cosine(const float *x, const float *y, size_t n);
double tv_vec_l2(const float *x, const float *y, size_t n);

#ifdef __cplusplus
}
#endif

#endif
