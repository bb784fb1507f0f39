/*
 * Row-scoring kernels for the embedding search (see embed_kernels.h): a dot product
 * of the query with each row, and optionally each row's sum of squares.
 *
 * Two sets: portable C, with the reassociation spelled out as sixteen partial sums
 * in GCC's generic vectors (no -ffast-math anywhere), and AVX2 + FMA + F16C
 * intrinsics chosen at run time with __builtin_cpu_supports and CPUID. The AVX2 set
 * reads F32, F16, BF16 and Q8_0 rows straight from the mapping (dequantisation fused
 * with the dot product), so those dtypes never pass through a staging buffer. The
 * search is bound by memory bandwidth; the kernels only have to keep up with it.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "embed_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define TV_HAVE_AVX2_KERNELS 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* ---- portable ------------------------------------------------------------------ */

static inline float load_native_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

#if defined(__GNUC__)
/*
 * Sixteen partial sums in four vectors of GCC's generic vector extension: SSE on x86,
 * NEON on Arm, scalar code elsewhere, whatever the optimisation level. (A plain loop
 * over an array of partial sums vectorises at -O2 but gcc 12 -O3 unrolls it into
 * scalar code first.)
 */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const uint8_t *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void
row_dot_portable(const uint8_t *restrict p, const float *restrict q, size_t dim,
                 float *restrict dot, float *restrict sumsq, const bool with_sumsq)
{
    v4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        v4f x0 = load4(p + 4 * i), x1 = load4(p + 4 * i + 16);
        v4f x2 = load4(p + 4 * i + 32), x3 = load4(p + 4 * i + 48);
        a0 += x0 * load4((const uint8_t *)(q + i));
        a1 += x1 * load4((const uint8_t *)(q + i + 4));
        a2 += x2 * load4((const uint8_t *)(q + i + 8));
        a3 += x3 * load4((const uint8_t *)(q + i + 12));
        if (with_sumsq) {
            s0 += x0 * x0;
            s1 += x1 * x1;
            s2 += x2 * x2;
            s3 += x3 * x3;
        }
    }
    v4f a = (a0 + a1) + (a2 + a3), s = (s0 + s1) + (s2 + s3);
    float d = (a[0] + a[1]) + (a[2] + a[3]), ss = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < dim; i++) {
        float x = load_native_f32(p + 4 * i);
        d += x * q[i];
        ss += x * x;
    }
    *dot = d;
    if (with_sumsq)
        *sumsq = ss;
}
#else
/* Eight partial sums, one per lane, for compilers without vector extensions. */
static inline void row_dot_portable(const uint8_t *restrict p, const float *restrict q,
                                    size_t dim, float *restrict dot, float *restrict sumsq,
                                    const bool with_sumsq)
{
    float acc[8] = {0}, sq[8] = {0};
    size_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        for (size_t j = 0; j < 8; j++) {
            float x = load_native_f32(p + 4 * (i + j));
            acc[j] += x * q[i + j];
            if (with_sumsq)
                sq[j] += x * x;
        }
    }
    float d = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    float ss = ((sq[0] + sq[1]) + (sq[2] + sq[3])) + ((sq[4] + sq[5]) + (sq[6] + sq[7]));
    for (; i < dim; i++) {
        float x = load_native_f32(p + 4 * i);
        d += x * q[i];
        ss += x * x;
    }
    *dot = d;
    if (with_sumsq)
        *sumsq = ss;
}
#endif

static void rows_dot_portable(const uint8_t *rows, size_t row_bytes, size_t n_rows,
                              const float *q, size_t dim, float *dots, float *sumsq)
{
    if (sumsq) {
        for (size_t r = 0; r < n_rows; r++)
            row_dot_portable(rows + r * row_bytes, q, dim, &dots[r], &sumsq[r], true);
    } else {
        for (size_t r = 0; r < n_rows; r++)
            row_dot_portable(rows + r * row_bytes, q, dim, &dots[r], NULL, false);
    }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PORTABLE_F32 rows_dot_portable
#else
#define PORTABLE_F32 NULL /* big-endian hosts convert through the staging buffer */
#endif

const struct tv_embed_kernels tv_embed_kernels_portable = {
    .name = "portable",
    .staged = rows_dot_portable,
    .f32 = PORTABLE_F32,
};

/* ---- AVX2 + FMA + F16C ---------------------------------------------------------- */

#ifdef TV_HAVE_AVX2_KERNELS

#define TV_AVX2 __attribute__((target("avx2,fma,f16c")))

TV_AVX2 static inline float hsum8(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

TV_AVX2 static inline uint16_t load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Eight values of each dtype as a vector of floats. */
TV_AVX2 static inline __m256 load8_f32(const uint8_t *p)
{
    return _mm256_loadu_ps((const float *)(const void *)p);
}
TV_AVX2 static inline __m256 load8_f16(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}
TV_AVX2 static inline __m256 load8_bf16(const uint8_t *p)
{
    __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
}
TV_AVX2 static inline float load1_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}
TV_AVX2 static inline float load1_f16(const uint8_t *p)
{
    return _cvtsh_ss(load_u16(p));
}
TV_AVX2 static inline float load1_bf16(const uint8_t *p)
{
    uint32_t bits = (uint32_t)load_u16(p) << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/*
 * One row of a plain float dtype: four vector accumulators over 32 values, then
 * eight at a time, then a scalar tail. ELEM is the element size in bytes.
 */
#define DEFINE_ROW_DOT(NAME, ELEM, LOAD8, LOAD1)                                             \
    TV_AVX2 static inline void NAME(const uint8_t *p, const float *q, size_t dim, float *dot, \
                                    float *sumsq)                                            \
    {                                                                                        \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                          \
        __m256 s0 = a0, s1 = a0, s2 = a0, s3 = a0;                                           \
        size_t i = 0;                                                                        \
        for (; i + 32 <= dim; i += 32) {                                                     \
            __m256 x0 = LOAD8(p + (ELEM) * i), x1 = LOAD8(p + (ELEM) * (i + 8));             \
            __m256 x2 = LOAD8(p + (ELEM) * (i + 16)), x3 = LOAD8(p + (ELEM) * (i + 24));     \
            a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(q + i), a0);                            \
            a1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(q + i + 8), a1);                        \
            a2 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(q + i + 16), a2);                       \
            a3 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(q + i + 24), a3);                       \
            if (sumsq) {                                                                     \
                s0 = _mm256_fmadd_ps(x0, x0, s0);                                            \
                s1 = _mm256_fmadd_ps(x1, x1, s1);                                            \
                s2 = _mm256_fmadd_ps(x2, x2, s2);                                            \
                s3 = _mm256_fmadd_ps(x3, x3, s3);                                            \
            }                                                                                \
        }                                                                                    \
        for (; i + 8 <= dim; i += 8) {                                                       \
            __m256 x0 = LOAD8(p + (ELEM) * i);                                               \
            a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(q + i), a0);                            \
            if (sumsq)                                                                       \
                s0 = _mm256_fmadd_ps(x0, x0, s0);                                            \
        }                                                                                    \
        float d = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));        \
        float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));        \
        for (; i < dim; i++) {                                                               \
            float x = LOAD1(p + (ELEM) * i);                                                 \
            d = fmaf(x, q[i], d);                                                            \
            s = fmaf(x, x, s);                                                               \
        }                                                                                    \
        *dot = d;                                                                            \
        if (sumsq)                                                                           \
            *sumsq = s;                                                                      \
    }

DEFINE_ROW_DOT(row_dot_f32_avx2, 4, load8_f32, load1_f32)
DEFINE_ROW_DOT(row_dot_f16_avx2, 2, load8_f16, load1_f16)
DEFINE_ROW_DOT(row_dot_bf16_avx2, 2, load8_bf16, load1_bf16)

/*
 * Q8_0: blocks of a little-endian F16 scale d and 32 int8 values x; a value is d * x.
 * Per block the 32 products x * q are summed in float, then scaled by d into one of
 * two accumulators (even and odd blocks, to halve the dependency chain).
 */
TV_AVX2 static inline __m256 load8_i8(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

TV_AVX2 static inline void row_dot_q8_0_avx2(const uint8_t *p, const float *q, size_t dim,
                                             float *dot, float *sumsq)
{
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 sq[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t n_blocks = dim / 32;
    for (size_t b = 0; b < n_blocks; b++) {
        const uint8_t *blk = p + 34 * b;
        const float *qb = q + 32 * b;
        float d = _cvtsh_ss(load_u16(blk));
        __m256 x0 = load8_i8(blk + 2), x1 = load8_i8(blk + 10);
        __m256 x2 = load8_i8(blk + 18), x3 = load8_i8(blk + 26);
        __m256 s = _mm256_mul_ps(x0, _mm256_loadu_ps(qb));
        s = _mm256_fmadd_ps(x1, _mm256_loadu_ps(qb + 8), s);
        s = _mm256_fmadd_ps(x2, _mm256_loadu_ps(qb + 16), s);
        s = _mm256_fmadd_ps(x3, _mm256_loadu_ps(qb + 24), s);
        acc[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(d), s, acc[b & 1]);
        if (sumsq) {
            __m256 t = _mm256_mul_ps(x0, x0);
            t = _mm256_fmadd_ps(x1, x1, t);
            t = _mm256_fmadd_ps(x2, x2, t);
            t = _mm256_fmadd_ps(x3, x3, t);
            sq[b & 1] = _mm256_fmadd_ps(_mm256_set1_ps(d * d), t, sq[b & 1]);
        }
    }
    *dot = hsum8(_mm256_add_ps(acc[0], acc[1]));
    if (sumsq)
        *sumsq = hsum8(_mm256_add_ps(sq[0], sq[1]));
}

/* The row loops: the kernel is inlined twice, with and without sums of squares. */
#define DEFINE_ROWS(NAME, ROW)                                                               \
    TV_AVX2 static void NAME(const uint8_t *rows, size_t row_bytes, size_t n_rows,           \
                             const float *q, size_t dim, float *dots, float *sumsq)          \
    {                                                                                        \
        if (sumsq) {                                                                         \
            for (size_t r = 0; r < n_rows; r++)                                              \
                ROW(rows + r * row_bytes, q, dim, &dots[r], &sumsq[r]);                      \
        } else {                                                                             \
            for (size_t r = 0; r < n_rows; r++)                                              \
                ROW(rows + r * row_bytes, q, dim, &dots[r], NULL);                           \
        }                                                                                    \
    }

DEFINE_ROWS(rows_dot_f32_avx2, row_dot_f32_avx2)
DEFINE_ROWS(rows_dot_f16_avx2, row_dot_f16_avx2)
DEFINE_ROWS(rows_dot_bf16_avx2, row_dot_bf16_avx2)
DEFINE_ROWS(rows_dot_q8_0_avx2, row_dot_q8_0_avx2)

static const struct tv_embed_kernels kernels_avx2 = {
    .name = "avx2",
    .staged = rows_dot_f32_avx2,
    .f32 = rows_dot_f32_avx2,
    .f16 = rows_dot_f16_avx2,
    .bf16 = rows_dot_bf16_avx2,
    .q8_0 = rows_dot_q8_0_avx2,
};

#endif /* TV_HAVE_AVX2_KERNELS */

#ifdef TV_HAVE_AVX2_KERNELS
/* F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
   The AVX2 test below covers the operating system's support for YMM registers. */
static bool cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

const struct tv_embed_kernels *tv_embed_kernels_best(void)
{
#ifdef TV_HAVE_AVX2_KERNELS
    /* __builtin_cpu_supports reads what __builtin_cpu_init found (constructors run
       it before main; calling it again is harmless and covers early callers). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
        return &kernels_avx2;
#endif
    return &tv_embed_kernels_portable;
}
