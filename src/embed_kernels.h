/*
 * Private to src/embed.c, src/embed_kernels.c and the embedding tests: the row-scoring
 * kernels a search streams the embedding matrix through, and test hooks.
 */
#ifndef TOKVEC_EMBED_KERNELS_H
#define TOKVEC_EMBED_KERNELS_H

#ifndef TOKVEC_INTERNAL
#error "src/embed_kernels.h is private to libtokvec"
#endif

#include <stddef.h>
#include <stdint.h>

#include "tokvec/embed.h"

/*
 * Scores n_rows consecutive rows (row i starts at rows + i * row_bytes, any alignment)
 * against the query q (dim floats): dots[i] = q . row_i and, when sumsq is not NULL,
 * sumsq[i] = row_i . row_i, both summed in float32. The dot of a row is computed by
 * the same operations in the same order whether or not sumsq is asked for, so a norm
 * cached by one call and a dot from a later call combine exactly as if computed
 * together. Allocates nothing; safe to call from several threads.
 */
typedef void (*tv_rows_dot_fn)(const uint8_t *rows, size_t row_bytes, size_t n_rows,
                               const float *q, size_t dim, float *dots, float *sumsq);

struct tv_embed_kernels {
    const char *name;      /* "avx2", "portable" */
    tv_rows_dot_fn staged; /* rows of native floats (the staging buffer) */
    /* Fused kernels that read the stored bytes directly; NULL: the search converts
       a block with tv_dtype_to_f32 into its staging buffer and uses staged. */
    tv_rows_dot_fn f32;    /* little-endian float32 */
    tv_rows_dot_fn f16;
    tv_rows_dot_fn bf16;
    tv_rows_dot_fn q8_0;   /* dim a multiple of 32 (Q8_0's block size) */
};

/* The portable C kernels (always available). */
extern const struct tv_embed_kernels tv_embed_kernels_portable;
/* The best kernels this CPU runs: AVX2 + FMA + F16C when present, else portable. */
const struct tv_embed_kernels *tv_embed_kernels_best(void);

/* ---- test hooks (src/embed.c) ---------------------------------------------------- */

/* Makes e's searches use kernels k (the tests compare every set with every other). */
void tv_embed_use_kernels(tv_embed *e, const struct tv_embed_kernels *k);
/* Sets the rows per scan block (0: the default), so that tests cross block borders. */
void tv_embed_set_block_rows(tv_embed *e, size_t n);
/* Sets the matrix bytes each extra thread needs (0: any size is split), so that tests
   split small matrices over threads. */
void tv_embed_set_min_bytes_per_thread(tv_embed *e, uint64_t n);
/* Whether e holds cached row norms (after a cosine or L2 search). */
int tv_embed_norms_cached(const tv_embed *e);

#endif
