/*
 * Block-wise conversion kernels between every dtype and float32.
 *
 * Plain types follow IEEE 754 and the format definitions (OCP FP8 E4M3/E5M2 and E8M0,
 * OCP MX E2M1 for F4, the FNUZ variants PyTorch exposes as float8_*fnuz). ggml block
 * types follow ggml's reference dequantize_row_* / quantize_row_*_ref (ggml-quants.c):
 * the same float operations in the same order, so results are bit-identical. Byte
 * layouts of the ggml blocks (offsets inside one block, little-endian):
 *
 *   Q4_0   18 B / 32:  d f16 @0, qs[16] @2 (element j low nibble, j+16 high nibble)
 *   Q4_1   20 B / 32:  d f16 @0, m f16 @2, qs[16] @4
 *   Q5_0   22 B / 32:  d f16 @0, qh u32 @2 (bit j = 5th bit of element j), qs[16] @6
 *   Q5_1   24 B / 32:  d f16 @0, m f16 @2, qh u32 @4, qs[16] @8
 *   Q8_0   34 B / 32:  d f16 @0, qs[32] i8 @2
 *   Q8_1   36 B / 32:  d f16 @0, s f16 @2 (d * sum of qs), qs[32] i8 @4
 *   Q2_K   84 B / 256: scales[16] @0 (low nibble scale, high nibble min), qs[64] @16,
 *                      d f16 @80, dmin f16 @82
 *   Q3_K  110 B / 256: hmask[32] @0, qs[64] @32, scales[12] @96 (16 x 6 bits), d f16 @108
 *   Q4_K  144 B / 256: d f16 @0, dmin f16 @2, scales[12] @4 (8 x 6-bit scale + min),
 *                      qs[128] @16
 *   Q5_K  176 B / 256: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
 *   Q6_K  210 B / 256: ql[128] @0, qh[64] @128, scales[16] i8 @192, d f16 @208
 *   Q8_K  292 B / 256: d f32 @0, qs[256] i8 @4, bsums[16] i16 @260
 *   IQ4_NL 18 B / 32:  d f16 @0, qs[16] @2 (indices into a 16-value codebook)
 *   IQ4_XS 136 B / 256: d f16 @0, scales_h u16 @2, scales_l[4] @4, qs[128] @8
 *   TQ1_0  54 B / 256: qs[48] @0 (5 trits a byte), qh[4] @48 (4 trits a byte), d f16 @52
 *   TQ2_0  66 B / 256: qs[64] @0 (4 x 2 bits a byte), d f16 @64
 *   MXFP4  17 B / 32:  e E8M0 @0, qs[16] @1 (E2M1 codes)
 *   NVFP4  36 B / 64:  d[4] UE4M3 @0 (one per 16 elements), qs[32] @4
 *   Q1_0   18 B / 128: d f16 @0, qs[16] @2 (bit j set: +d, clear: -d)
 *   Q2_0   18 B / 64:  d f16 @0, qs[16] @2 (2 bits each, LSB first: (q - 1) * d)
 *
 * Q8_1 has no dequantize_row_* in ggml (it only feeds dot products); its elements read
 * as qs * d like Q8_0's. NVFP4 follows ggml, which has no per-tensor second scale.
 *
 * Hot loops work on fixed-size groups with restrict pointers so that gcc -O2 (whose
 * cheap vectoriser refuses loops that need a remainder or alias checks) vectorises
 * them; binary16 uses F16C when the CPU has it. Nothing here allocates; the only state
 * is that CPU feature, detected once.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/*
 * Every multiply and add must round on its own, as ggml's C reference is written. With
 * binary16 scales the dequantisation products are exact anyway, but Q4_0's quantiser
 * rounds x * (1/d) before adding 8.5 and truncating: fused into one FMA (which compilers
 * do when the target has it) some values land on the next level. tests/test_dtype.c
 * has such a block.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ---- little-endian loads and stores at any alignment --------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE16(v) __builtin_bswap16(v)
#define LE32(v) __builtin_bswap32(v)
#define LE64(v) __builtin_bswap64(v)
#else
#define LE16(v) (v)
#define LE32(v) (v)
#define LE64(v) (v)
#endif

static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return LE16(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return LE32(v);
}

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return LE64(v);
}

static inline void st16(uint8_t *p, uint16_t v)
{
    v = LE16(v);
    memcpy(p, &v, 2);
}

static inline float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- scalar formats ------------------------------------------------------------ */

/*
 * binary16 -> binary32, exact; a NaN keeps sign and payload and is quieted, as the
 * F16C instruction and ggml's converter do. Normal halves only need their exponent
 * rebiased (+112), an integer add, which also leaves exponent 31 with the float
 * exponent 143, a subset of the all-ones exponent that infinities and NaNs get OR-ed
 * in. Subnormals are mantissa * 2^-24, taken as (0.5 + mantissa * 2^-24) - 0.5 so that
 * no float32 subnormal is an operand (a slow microcode path on x86). Masks instead of
 * branches let the loop vectorise.
 */
static inline float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t magnitude = h & 0x7fffu;
    uint32_t normal = (magnitude << 13) + ((127u - 15u) << 23);
    uint32_t subnormal = to_bits(from_bits(0x3f000000u | magnitude) - 0.5f); /* 0.5's ulp: 2^-24 */
    uint32_t is_subnormal = 0u - (uint32_t)(magnitude < 0x0400u);
    uint32_t is_special = 0u - ((magnitude + 0x0400u) >> 15); /* exponent 31 */
    uint32_t is_nan = is_special & (0u - (uint32_t)((magnitude & 0x03ffu) != 0));
    uint32_t bits = (is_subnormal & subnormal) | (~is_subnormal & normal);
    return from_bits(sign | bits | (is_special & 0x7f800000u) | (is_nan & 0x00400000u));
}

/*
 * binary32 -> binary16, round to nearest even. |x| >= 65520 (halfway above the largest
 * half) becomes infinity; NaN becomes a quiet NaN keeping sign and the top 9 payload
 * bits. Results below 2^-14 are rounded by the FPU: adding 0.5 puts the half's
 * subnormal step 2^-24 at the float's last mantissa bit.
 */
static inline uint16_t f32_to_f16(float f)
{
    uint32_t x = to_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & 0x7fffffffu;
    uint32_t normal = (a + 0x0fffu + ((a >> 13) & 1u) - 0x38000000u) >> 13;
    uint32_t small = to_bits(from_bits(a) + 0.5f) - 0x3f000000u;
    uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);
    /* all-ones masks instead of branches, so that the loop vectorises */
    uint32_t is_nan = 0u - (uint32_t)(a > 0x7f800000u);
    uint32_t is_inf = ~is_nan & (0u - (uint32_t)(a >= 0x477ff000u));
    uint32_t is_normal = ~is_nan & ~is_inf & (0u - (uint32_t)(a >= 0x38800000u));
    uint32_t is_small = ~(is_nan | is_inf | is_normal);
    uint32_t h = (is_nan & nan) | (is_inf & 0x7c00u) | (is_normal & normal) | (is_small & small);
    return (uint16_t)(sign | h);
}

static inline float bf16_to_f32(uint16_t h)
{
    return from_bits((uint32_t)h << 16);
}

/* binary32 -> bfloat16, round to nearest even; NaN stays NaN with the quiet bit set. */
static inline uint16_t f32_to_bf16(float f)
{
    uint32_t x = to_bits(f);
    uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    uint32_t nan = (x >> 16) | 0x40u;
    return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

/*
 * An 8-bit float of 4 or 5 exponent bits without infinities: the magnitude's exponent
 * rebiased (integer add) when normal, mantissa * 2^(1-bias-mbits) when subnormal.
 */
static inline uint32_t fp8_magnitude_bits(uint32_t magnitude, unsigned mbits, unsigned bias)
{
    uint32_t normal = (magnitude << (23 - mbits)) + ((127u - bias) << 23);
    float step = from_bits((127u + 1u - bias - mbits) << 23); /* 2^(1-bias-mbits) */
    uint32_t subnormal = to_bits((float)(int32_t)magnitude * step);
    uint32_t is_normal = 0u - (uint32_t)((magnitude >> mbits) != 0);
    return (is_normal & normal) | (~is_normal & subnormal);
}

/* OCP FP8 E4M3 ("e4m3fn"): bias 7, no infinities, S.1111.111 is NaN, max 448. */
static inline float e4m3fn_to_f32(uint8_t b)
{
    uint32_t sign = (uint32_t)(b & 0x80u) << 24;
    uint32_t magnitude = b & 0x7fu;
    uint32_t is_nan = 0u - (uint32_t)(magnitude == 0x7fu);
    uint32_t bits = (is_nan & 0x7fc00000u) | (~is_nan & fp8_magnitude_bits(magnitude, 3, 7));
    return from_bits(sign | bits);
}

/* FP8 E4M3 FNUZ: bias 8, no infinities, no negative zero: 0x80 alone is NaN. */
static inline float e4m3fnuz_to_f32(uint8_t b)
{
    uint32_t sign = (uint32_t)(b & 0x80u) << 24;
    uint32_t is_nan = 0u - (uint32_t)(b == 0x80u);
    uint32_t bits = sign | fp8_magnitude_bits(b & 0x7fu, 3, 8);
    return from_bits((is_nan & 0x7fc00000u) | (~is_nan & bits));
}

/* FP8 E5M2 FNUZ: bias 16, no infinities, 0x80 alone is NaN. */
static inline float e5m2fnuz_to_f32(uint8_t b)
{
    uint32_t sign = (uint32_t)(b & 0x80u) << 24;
    uint32_t is_nan = 0u - (uint32_t)(b == 0x80u);
    uint32_t bits = sign | fp8_magnitude_bits(b & 0x7fu, 2, 16);
    return from_bits((is_nan & 0x7fc00000u) | (~is_nan & bits));
}

/* OCP E8M0 (an exponent alone): 2^(b-127); 0 is 2^-127, a float32 subnormal; 0xFF NaN. */
static inline float e8m0_to_f32(uint8_t b)
{
    uint32_t bits = b == 0 ? 0x00400000u : b == 0xffu ? 0x7fc00000u : (uint32_t)b << 23;
    return from_bits(bits);
}

/* OCP E2M1: sign, 2 exponent bits (bias 1), 1 mantissa bit; no infinities or NaN. */
static const float e2m1_values[16] = {
    0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f,
};

/* ---- plain element types ----------------------------------------------------------- */

/* Group size for fixed-trip inner loops the cheap vectoriser accepts. */
#define GROUP 16

static void f16_to_f32_portable(const uint8_t *restrict p, uint64_t n, float *restrict y)
{
    uint64_t i = 0;
    for (; i + GROUP <= n; i += GROUP)
        for (int j = 0; j < GROUP; j++)
            y[i + j] = f16_to_f32(ld16(p + 2 * (i + j)));
    for (; i < n; i++)
        y[i] = f16_to_f32(ld16(p + 2 * i));
}

/*
 * x86-64 CPUs since 2012 convert 8 halves per instruction (F16C); chosen at run time, so
 * the library still runs where it is missing. Same results as the portable loops:
 * vcvtph2ps is exact and quiets NaNs; vcvtps2ph with immediate 0 rounds to nearest even
 * whatever MXCSR says, overflows to infinity and quiets NaNs keeping the top payload.
 */
#if defined(__x86_64__) && defined(__GNUC__) && \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#define HAVE_F16C_PATH 1

__attribute__((target("avx,f16c")))
static void f16_to_f32_f16c(const uint8_t *restrict p, uint64_t n, float *restrict y)
{
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i_u *)(p + 2 * i))));
    for (; i < n; i++)
        y[i] = f16_to_f32(ld16(p + 2 * i));
}

__attribute__((target("avx,f16c")))
static void f32_to_f16_f16c(const float *restrict x, uint64_t n, uint8_t *restrict p)
{
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i_u *)(p + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0));
    for (; i < n; i++)
        st16(p + 2 * i, f32_to_f16(x[i]));
}
#endif

/*
 * Set only through tv_dtype_use_portable_kernels (tests/test_dtype.c). Thread-local, so
 * it never changes what another thread computes.
 */
static _Thread_local int portable_only;

#ifdef HAVE_F16C_PATH
/* CPUID says F16C and AVX, and XGETBV that the OS saves the YMM registers. */
static int detect_f16c(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
    if ((ecx & (osxsave | avx | f16c)) != (osxsave | avx | f16c))
        return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    return (xcr0_lo & 6u) == 6u;
}
#endif

static int have_f16c(void)
{
#ifdef HAVE_F16C_PATH
    static _Atomic int known = -1; /* detected once; racing threads store the same value */
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has < 0) {
        has = detect_f16c();
        atomic_store_explicit(&known, has, memory_order_relaxed);
    }
    return has && !portable_only;
#else
    return 0;
#endif
}

static void f16_to_f32_n(const uint8_t *restrict p, uint64_t n, float *restrict y)
{
#ifdef HAVE_F16C_PATH
    if (have_f16c()) {
        f16_to_f32_f16c(p, n, y);
        return;
    }
#endif
    f16_to_f32_portable(p, n, y);
}

static void bf16_to_f32_n(const uint8_t *restrict p, uint64_t n, float *restrict y)
{
    uint64_t i = 0;
    for (; i + GROUP <= n; i += GROUP)
        for (int j = 0; j < GROUP; j++)
            y[i + j] = bf16_to_f32(ld16(p + 2 * (i + j)));
    for (; i < n; i++)
        y[i] = bf16_to_f32(ld16(p + 2 * i));
}

static void f64_to_f32_n(const uint8_t *restrict p, uint64_t n, float *restrict y)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t bits = ld64(p + 8 * i);
        double d;
        memcpy(&d, &bits, 8);
        y[i] = (float)d;
    }
}

static void f32_to_f16_n(const float *restrict x, uint64_t n, uint8_t *restrict p)
{
#ifdef HAVE_F16C_PATH
    if (have_f16c()) {
        f32_to_f16_f16c(x, n, p);
        return;
    }
#endif
    uint64_t i = 0;
    for (; i + GROUP <= n; i += GROUP)
        for (int j = 0; j < GROUP; j++)
            st16(p + 2 * (i + j), f32_to_f16(x[i + j]));
    for (; i < n; i++)
        st16(p + 2 * i, f32_to_f16(x[i]));
}

static void f32_to_bf16_n(const float *restrict x, uint64_t n, uint8_t *restrict p)
{
    uint64_t i = 0;
    for (; i + GROUP <= n; i += GROUP)
        for (int j = 0; j < GROUP; j++)
            st16(p + 2 * (i + j), f32_to_bf16(x[i + j]));
    for (; i < n; i++)
        st16(p + 2 * i, f32_to_bf16(x[i]));
}

/* One grouped loop per 8-bit float format. */
#define BYTE_TO_F32(name, decode)                                                   \
    static void name(const uint8_t *restrict p, uint64_t n, float *restrict y)      \
    {                                                                               \
        uint64_t i = 0;                                                             \
        for (; i + GROUP <= n; i += GROUP)                                          \
            for (int j = 0; j < GROUP; j++)                                         \
                y[i + j] = decode(p[i + j]);                                        \
        for (; i < n; i++)                                                          \
            y[i] = decode(p[i]);                                                    \
    }
#define E5M2_TO_F32(b) f16_to_f32((uint16_t)((b) << 8)) /* the top byte of a binary16 */
BYTE_TO_F32(e4m3fn_to_f32_n, e4m3fn_to_f32)
BYTE_TO_F32(e5m2_to_f32_n, E5M2_TO_F32)
BYTE_TO_F32(e4m3fnuz_to_f32_n, e4m3fnuz_to_f32)
BYTE_TO_F32(e5m2fnuz_to_f32_n, e5m2fnuz_to_f32)
BYTE_TO_F32(e8m0_to_f32_n, e8m0_to_f32)
#undef BYTE_TO_F32
#undef E5M2_TO_F32

/* One loop per integer type: converts with C's rules (round to nearest for wide types). */
#define INT_TO_F32(name, type, width, load)                                         \
    static void name(const uint8_t *restrict p, uint64_t n, float *restrict y)      \
    {                                                                               \
        for (uint64_t i = 0; i < n; i++) {                                          \
            type v;                                                                 \
            uint##width##_t u = load(p + (width / 8) * i);                          \
            memcpy(&v, &u, sizeof v);                                               \
            y[i] = (float)v;                                                        \
        }                                                                           \
    }
#define LD8(p) (*(p))
INT_TO_F32(i8_to_f32_n, int8_t, 8, LD8)
INT_TO_F32(i16_to_f32_n, int16_t, 16, ld16)
INT_TO_F32(i32_to_f32_n, int32_t, 32, ld32)
INT_TO_F32(i64_to_f32_n, int64_t, 64, ld64)
INT_TO_F32(u8_to_f32_n, uint8_t, 8, LD8)
INT_TO_F32(u16_to_f32_n, uint16_t, 16, ld16)
INT_TO_F32(u32_to_f32_n, uint32_t, 32, ld32)
INT_TO_F32(u64_to_f32_n, uint64_t, 64, ld64)
#undef INT_TO_F32
#undef LD8

/* ---- ggml block types: shared pieces ------------------------------------------------ */

/* The 16 non-linear levels of IQ4_NL and IQ4_XS (ggml-common.h, kvalues_iq4nl). */
static const int8_t iq4nl_levels[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

/* E2M1 values doubled (ggml's kvalues_mxfp4); the scales below carry the 1/2. */
static const int8_t e2m1_doubled[16] = {
    0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
};

/* ggml's E8M0 scale for MXFP4, halved: 2^(e-128); for e < 2 a float32 subnormal. */
static inline float e8m0_half(uint8_t e)
{
    return from_bits(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
}

/*
 * ggml's UE4M3 scale for NVFP4, halved: 0 and 0x7F (the NaN code) give 0; the top bit
 * is ignored. Every value is exact, so building it from bits equals ggml's ldexpf form.
 */
static inline float ue4m3_half(uint8_t x)
{
    if (x == 0 || x == 0x7f)
        return 0.0f;
    uint32_t exponent = (x >> 3) & 0xfu;
    uint32_t mantissa = x & 0x7u;
    if (exponent == 0) /* mantissa * 2^-9 * 0.5 */
        return (float)mantissa * 0x1p-10f;
    /* (1 + mantissa/8) * 2^(exponent-7) * 0.5 */
    return from_bits((exponent - 8 + 127) << 23 | mantissa << 20);
}

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block. */
static inline void k4_scale_min(int j, const uint8_t *s, uint8_t *scale, uint8_t *min)
{
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (uint8_t)((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
        *min = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* ---- ggml block types: dequantisation --------------------------------------------- */

static void q4_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 18, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const uint8_t *qs = p + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0x0f) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

static void q4_1_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 20, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const float m = f16_to_f32(ld16(p + 2));
        const uint8_t *qs = p + 4;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(qs[j] & 0x0f) * d + m;
            y[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

static void q5_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 22, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const uint32_t qh = ld32(p + 2);
        const uint8_t *qs = p + 6;
        for (int j = 0; j < 16; j++) {
            const int high0 = (int)((qh >> j) & 1u) << 4;
            const int high1 = (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)(((qs[j] & 0x0f) | high0) - 16) * d;
            y[j + 16] = (float)(((qs[j] >> 4) | high1) - 16) * d;
        }
    }
}

static void q5_1_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 24, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const float m = f16_to_f32(ld16(p + 2));
        const uint32_t qh = ld32(p + 4);
        const uint8_t *qs = p + 8;
        for (int j = 0; j < 16; j++) {
            const int high0 = (int)((qh >> j) & 1u) << 4;
            const int high1 = (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)((qs[j] & 0x0f) | high0) * d + m;
            y[j + 16] = (float)((qs[j] >> 4) | high1) * d + m;
        }
    }
}

/* Q8_0 and Q8_1 share the element layout; Q8_1's extra f16 (d times the sum) is unused. */
static void q8_to_f32(const uint8_t *restrict p, uint64_t nb, size_t block_bytes,
                      size_t qs_offset, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += block_bytes, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const uint8_t *qs = p + qs_offset;
        for (int j = 0; j < 32; j++)
            y[j] = (float)(int8_t)qs[j] * d;
    }
}

static void q2_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 84) {
        const uint8_t *scales = p;
        const uint8_t *q = p + 16;
        const float d = f16_to_f32(ld16(p + 80));
        const float dmin = f16_to_f32(ld16(p + 82));
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    const uint8_t sc = scales[is++];
                    const float dl = d * (float)(sc & 0x0f);
                    const float ml = dmin * (float)(sc >> 4);
                    const uint8_t *qq = q + 16 * part;
                    for (int l = 0; l < 16; l++)
                        *y++ = dl * (float)((qq[l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

static void q3_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 110) {
        const uint8_t *hmask = p;
        const uint8_t *q = p + 32;
        const uint8_t *s = p + 96;
        const float d_all = f16_to_f32(ld16(p + 108));
        int scales[16];
        for (int j = 0; j < 16; j++) {
            int low = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
            int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
            scales[j] = (low | high << 4) - 32;
        }
        int is = 0;
        uint8_t m = 1;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
                for (int part = 0; part < 2; part++) {
                    const float dl = d_all * (float)scales[is++];
                    const uint8_t *qq = q + 16 * part;
                    const uint8_t *hm = hmask + 16 * part;
                    for (int l = 0; l < 16; l++) {
                        int v = ((qq[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

static void q4_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 144) {
        const float d = f16_to_f32(ld16(p));
        const float dmin = f16_to_f32(ld16(p + 2));
        const uint8_t *scales = p + 4;
        const uint8_t *q = p + 16;
        for (int is = 0; is < 8; is += 2, q += 32, y += 64) {
            uint8_t sc, mn;
            k4_scale_min(is, scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            k4_scale_min(is + 1, scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) {
                y[l] = d1 * (float)(q[l] & 0x0f) - m1;
                y[l + 32] = d2 * (float)(q[l] >> 4) - m2;
            }
        }
    }
}

static void q5_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 176) {
        const float d = f16_to_f32(ld16(p));
        const float dmin = f16_to_f32(ld16(p + 2));
        const uint8_t *scales = p + 4;
        const uint8_t *qh = p + 16;
        const uint8_t *ql = p + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32, y += 64) {
            uint8_t sc, mn;
            k4_scale_min(is, scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            k4_scale_min(is + 1, scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) {
                y[l] = d1 * (float)((ql[l] & 0x0f) + ((qh[l] & u1) ? 16 : 0)) - m1;
                y[l + 32] = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            }
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

static void q6_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 210) {
        const uint8_t *ql = p;
        const uint8_t *qh = p + 128;
        const uint8_t *sc = p + 192;
        const float d = f16_to_f32(ld16(p + 208));
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, y += 128) {
            /* ggml computes d * scale * q left to right: the scaled d is one rounding */
            for (int is = 0; is < 2; is++) {
                const float d1 = d * (float)(int8_t)sc[is];
                const float d2 = d * (float)(int8_t)sc[is + 2];
                const float d3 = d * (float)(int8_t)sc[is + 4];
                const float d4 = d * (float)(int8_t)sc[is + 6];
                for (int l = 16 * is; l < 16 * is + 16; l++) {
                    const int q1 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
                    const int q2 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
                    const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                    const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                    y[l] = d1 * (float)q1;
                    y[l + 32] = d2 * (float)q2;
                    y[l + 64] = d3 * (float)q3;
                    y[l + 96] = d4 * (float)q4;
                }
            }
        }
    }
}

static void q8_k_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 292, y += 256) {
        const float d = from_bits(ld32(p));
        for (int j = 0; j < 256; j++)
            y[j] = d * (float)(int8_t)p[4 + j];
    }
}

static void iq4_nl_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 18, y += 32) {
        const float d = f16_to_f32(ld16(p));
        const uint8_t *qs = p + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)iq4nl_levels[qs[j] & 0x0f];
            y[j + 16] = d * (float)iq4nl_levels[qs[j] >> 4];
        }
    }
}

static void iq4_xs_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 136) {
        const float d = f16_to_f32(ld16(p));
        const uint16_t scales_h = ld16(p + 2);
        const uint8_t *scales_l = p + 4;
        const uint8_t *qs = p + 8;
        for (int ib = 0; ib < 8; ib++, qs += 16, y += 32) {
            const int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f) |
                           (((scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)iq4nl_levels[qs[j] & 0x0f];
                y[j + 16] = dl * (float)iq4nl_levels[qs[j] >> 4];
            }
        }
    }
}

/*
 * The trit of a TQ1_0 byte at position n: multiplying by 3^n (mod 256) brings it to
 * the top, and the top trit of a byte that stores ceil(value * 256 / 243) is
 * (byte * 3) >> 8.
 */
static inline int tq1_trit(uint8_t byte, int n)
{
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t q = (uint8_t)(byte * pow3[n]);
    return (q * 3) >> 8;
}

static void tq1_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 54) {
        const uint8_t *qs = p;
        const uint8_t *qh = p + 48;
        const float d = f16_to_f32(ld16(p + 52));
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 32; m++)
                *y++ = (float)(tq1_trit(qs[m], n) - 1) * d;
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 16; m++)
                *y++ = (float)(tq1_trit(qs[32 + m], n) - 1) * d;
        for (int n = 0; n < 4; n++)
            for (int j = 0; j < 4; j++)
                *y++ = (float)(tq1_trit(qh[j], n) - 1) * d;
    }
}

static void tq2_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 66) {
        const float d = f16_to_f32(ld16(p + 64));
        for (int j = 0; j < 64; j += 32)
            for (int shift = 0; shift < 8; shift += 2)
                for (int m = 0; m < 32; m++)
                    *y++ = (float)(((p[j + m] >> shift) & 3) - 1) * d;
    }
}

static void mxfp4_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 17, y += 32) {
        const float d = e8m0_half(p[0]);
        const uint8_t *qs = p + 1;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)e2m1_doubled[qs[j] & 0x0f] * d;
            y[j + 16] = (float)e2m1_doubled[qs[j] >> 4] * d;
        }
    }
}

static void nvfp4_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 36) {
        for (int s = 0; s < 4; s++, y += 16) {
            const float d = ue4m3_half(p[s]);
            const uint8_t *qs = p + 4 + 8 * s;
            for (int j = 0; j < 8; j++) {
                y[j] = (float)e2m1_doubled[qs[j] & 0x0f] * d;
                y[j + 8] = (float)e2m1_doubled[qs[j] >> 4] * d;
            }
        }
    }
}

static void q1_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 18, y += 128) {
        const float d = f16_to_f32(ld16(p));
        const float neg_d = -d;
        for (int j = 0; j < 128; j++)
            y[j] = ((p[2 + j / 8] >> (j % 8)) & 1) ? d : neg_d;
    }
}

static void q2_0_to_f32(const uint8_t *restrict p, uint64_t nb, float *restrict y)
{
    for (uint64_t b = 0; b < nb; b++, p += 18, y += 64) {
        const float d = f16_to_f32(ld16(p));
        for (int j = 0; j < 64; j++)
            y[j] = (float)(((p[2 + j / 4] >> (2 * (j % 4))) & 3) - 1) * d;
    }
}

/* ---- ggml block types: quantisation -------------------------------------------------- */

/*
 * C's roundf (to nearest, halfway away from zero) for |x| < 2^31, inline and without
 * branches: x minus its truncation is exact, so comparing it with 0.5 decides.
 */
static inline int32_t round_half_away(float x)
{
    int32_t t = (int32_t)x;
    float frac = x - (float)t;
    int32_t up = (int32_t)(frac >= 0.5f);
    int32_t down = (int32_t)(frac <= -0.5f);
    return t + up - down;
}

/*
 * The largest |x| of a 32-value block, and whether the block holds a NaN or infinity.
 * Eight independent running maxima instead of one chain: max over finite non-negative
 * values gives the same result in any order, and the lanes let the loop vectorise.
 */
static inline float block_amax(const float *restrict x, int *nonfinite)
{
    float lane[8] = {0};
    int bad = 0;
    for (int k = 0; k < 32; k += 8)
        for (int l = 0; l < 8; l++) {
            const float a = fabsf(x[k + l]);
            lane[l] = lane[l] > a ? lane[l] : a;
        }
    for (int j = 0; j < 32; j++)
        bad |= !(fabsf(x[j]) <= FLT_MAX);
    float amax = lane[0];
    for (int k = 1; k < 8; k++)
        amax = amax > lane[k] ? amax : lane[k];
    *nonfinite = bad;
    return amax;
}

/* Index of the first NaN or infinity among n values (one is known to be there). */
static uint64_t first_nonfinite(const float *x, uint64_t n)
{
    uint64_t i = 0;
    while (i < n && fabsf(x[i]) <= FLT_MAX)
        i++;
    return i;
}

/*
 * quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d) half away from zero, with
 * the reciprocal taken once per block as ggml does (x * (1/d), not x / d). Returns the
 * index of the first NaN or infinity (whose block is left unwritten), or UINT64_MAX.
 */
static uint64_t f32_to_q8_0(const float *restrict x, uint64_t nb, uint8_t *restrict p)
{
    for (uint64_t b = 0; b < nb; b++, x += 32, p += 34) {
        int nonfinite;
        const float amax = block_amax(x, &nonfinite);
        if (nonfinite)
            return 32 * b + first_nonfinite(x, 32);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        st16(p, f32_to_f16(d));
        for (int j = 0; j < 32; j++)
            p[2 + j] = (uint8_t)(int8_t)round_half_away(x[j] * id); /* |x * id| <= 127 */
    }
    return UINT64_MAX;
}

/*
 * quantize_row_q4_0_ref: the value of largest magnitude (the first one on a tie) sets
 * d = max / -8, so that it maps to level 0 (-8) whatever its sign; the others go to
 * trunc(x / d + 8.5) capped at 15. Returns like f32_to_q8_0.
 */
static uint64_t f32_to_q4_0(const float *restrict x, uint64_t nb, uint8_t *restrict p)
{
    for (uint64_t b = 0; b < nb; b++, x += 32, p += 18) {
        int nonfinite;
        const float amax = block_amax(x, &nonfinite);
        if (nonfinite)
            return 32 * b + first_nonfinite(x, 32);
        /* ggml keeps the first value that reaches the largest magnitude */
        int first = 0;
        while (fabsf(x[first]) != amax)
            first++;
        const float max = amax != 0.0f ? x[first] : 0.0f;
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        st16(p, f32_to_f16(d));
        for (int j = 0; j < 16; j++) {
            const int8_t lo = (int8_t)(x[j] * id + 8.5f);
            const int8_t hi = (int8_t)(x[j + 16] * id + 8.5f);
            const uint8_t q0 = (uint8_t)(lo < 15 ? lo : 15);
            const uint8_t q1 = (uint8_t)(hi < 15 ? hi : 15);
            p[2 + j] = (uint8_t)(q0 | q1 << 4);
        }
    }
    return UINT64_MAX;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int tv_dtype_can_to_f32(enum tv_dtype dtype)
{
    switch (dtype) {
    case TV_DTYPE_F32: case TV_DTYPE_F16: case TV_DTYPE_BF16: case TV_DTYPE_F64:
    case TV_DTYPE_I8: case TV_DTYPE_I16: case TV_DTYPE_I32: case TV_DTYPE_I64:
    case TV_DTYPE_U8: case TV_DTYPE_U16: case TV_DTYPE_U32: case TV_DTYPE_U64:
    case TV_DTYPE_BOOL:
    case TV_DTYPE_F8_E4M3: case TV_DTYPE_F8_E5M2: case TV_DTYPE_F8_E8M0:
    case TV_DTYPE_F8_E4M3FNUZ: case TV_DTYPE_F8_E5M2FNUZ: case TV_DTYPE_F4:
    case TV_DTYPE_Q4_0: case TV_DTYPE_Q4_1: case TV_DTYPE_Q5_0: case TV_DTYPE_Q5_1:
    case TV_DTYPE_Q8_0: case TV_DTYPE_Q8_1:
    case TV_DTYPE_Q2_K: case TV_DTYPE_Q3_K: case TV_DTYPE_Q4_K: case TV_DTYPE_Q5_K:
    case TV_DTYPE_Q6_K: case TV_DTYPE_Q8_K:
    case TV_DTYPE_IQ4_NL: case TV_DTYPE_IQ4_XS: case TV_DTYPE_TQ1_0: case TV_DTYPE_TQ2_0:
    case TV_DTYPE_MXFP4: case TV_DTYPE_NVFP4: case TV_DTYPE_Q1_0: case TV_DTYPE_Q2_0:
        return 1;
    default:
        return 0;
    }
}

int tv_dtype_can_from_f32(enum tv_dtype dtype)
{
    switch (dtype) {
    case TV_DTYPE_F32: case TV_DTYPE_F64: case TV_DTYPE_F16: case TV_DTYPE_BF16:
    case TV_DTYPE_Q8_0: case TV_DTYPE_Q4_0:
        return 1;
    default:
        return 0;
    }
}

/* Why a dtype has no to_f32 kernel, for the error message. */
static const char *no_kernel_reason(enum tv_dtype dtype)
{
    switch (dtype) {
    case TV_DTYPE_F6_E2M3: case TV_DTYPE_F6_E3M2:
        return "safetensors does not define how 6-bit elements are packed into bytes";
    case TV_DTYPE_C64:
        return "complex values have no float32 equivalent";
    case TV_DTYPE_IQ2_XXS: case TV_DTYPE_IQ2_XS: case TV_DTYPE_IQ2_S:
    case TV_DTYPE_IQ3_XXS: case TV_DTYPE_IQ3_S: case TV_DTYPE_IQ1_S: case TV_DTYPE_IQ1_M:
        return "tokvec has no decoder for ggml's grid-codebook types "
               "(IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S)";
    default:
        return "no kernel";
    }
}

/* Checks dtype and that n is whole blocks that fit in memory; sets *n_blocks. */
static int check_count(enum tv_dtype dtype, uint64_t n, uint64_t *n_blocks, tv_error *err)
{
    if ((unsigned)dtype >= TV_DTYPE_COUNT)
        return tv_error_set(err, TV_ERR_USAGE, "dtype %d is not a tokvec dtype", (int)dtype);
    const struct tv_dtype_info *info = tv_dtype_info(dtype);
    if (n % info->block_size)
        return tv_error_set(err, TV_ERR_DATA, "%llu elements are not a whole number of %s "
                            "blocks (%u elements each)", (unsigned long long)n, info->name,
                            info->block_size);
    if (n > SIZE_MAX / sizeof(double))
        return tv_error_set(err, TV_ERR_USAGE, "%llu elements of %s do not fit in memory",
                            (unsigned long long)n, info->name);
    *n_blocks = n / info->block_size;
    return 0;
}

int tv_dtype_to_f32(enum tv_dtype dtype, const void *src, uint64_t n, float *dst, tv_error *err)
{
    const uint8_t *p = src;
    uint64_t nb;
    if (check_count(dtype, n, &nb, err) < 0)
        return -1;
    switch (dtype) {
    case TV_DTYPE_F32: memcpy(dst, p, (size_t)n * 4); break;
    case TV_DTYPE_F16: f16_to_f32_n(p, n, dst); break;
    case TV_DTYPE_BF16: bf16_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F64: f64_to_f32_n(p, n, dst); break;
    case TV_DTYPE_I8: i8_to_f32_n(p, n, dst); break;
    case TV_DTYPE_I16: i16_to_f32_n(p, n, dst); break;
    case TV_DTYPE_I32: i32_to_f32_n(p, n, dst); break;
    case TV_DTYPE_I64: i64_to_f32_n(p, n, dst); break;
    case TV_DTYPE_U8: u8_to_f32_n(p, n, dst); break;
    case TV_DTYPE_U16: u16_to_f32_n(p, n, dst); break;
    case TV_DTYPE_U32: u32_to_f32_n(p, n, dst); break;
    case TV_DTYPE_U64: u64_to_f32_n(p, n, dst); break;
    case TV_DTYPE_BOOL:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = p[i] ? 1.0f : 0.0f;
        break;
    case TV_DTYPE_F8_E4M3: e4m3fn_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F8_E5M2: e5m2_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F8_E8M0: e8m0_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F8_E4M3FNUZ: e4m3fnuz_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F8_E5M2FNUZ: e5m2fnuz_to_f32_n(p, n, dst); break;
    case TV_DTYPE_F4: /* PyTorch float4_e2m1fn_x2: element 2k in bits 0-3, 2k+1 in 4-7 */
        for (uint64_t i = 0; i < nb; i++) {
            dst[2 * i] = e2m1_values[p[i] & 0x0f];
            dst[2 * i + 1] = e2m1_values[p[i] >> 4];
        }
        break;
    case TV_DTYPE_Q4_0: q4_0_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q4_1: q4_1_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q5_0: q5_0_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q5_1: q5_1_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q8_0: q8_to_f32(p, nb, 34, 2, dst); break;
    case TV_DTYPE_Q8_1: q8_to_f32(p, nb, 36, 4, dst); break;
    case TV_DTYPE_Q2_K: q2_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q3_K: q3_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q4_K: q4_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q5_K: q5_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q6_K: q6_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q8_K: q8_k_to_f32(p, nb, dst); break;
    case TV_DTYPE_IQ4_NL: iq4_nl_to_f32(p, nb, dst); break;
    case TV_DTYPE_IQ4_XS: iq4_xs_to_f32(p, nb, dst); break;
    case TV_DTYPE_TQ1_0: tq1_0_to_f32(p, nb, dst); break;
    case TV_DTYPE_TQ2_0: tq2_0_to_f32(p, nb, dst); break;
    case TV_DTYPE_MXFP4: mxfp4_to_f32(p, nb, dst); break;
    case TV_DTYPE_NVFP4: nvfp4_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q1_0: q1_0_to_f32(p, nb, dst); break;
    case TV_DTYPE_Q2_0: q2_0_to_f32(p, nb, dst); break;
    default:
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "no conversion from %s to F32: %s",
                            tv_dtype_name(dtype), no_kernel_reason(dtype));
    }
    return 0;
}

static int no_from_f32(enum tv_dtype dtype, tv_error *err)
{
    return tv_error_set(err, TV_ERR_UNSUPPORTED, "no conversion from F32 to %s: tokvec writes "
                        "F32, F64, F16, BF16, Q8_0 and Q4_0%s", tv_dtype_name(dtype),
                        (tv_dtype_info(dtype)->flags & TV_DTYPE_INT)
                            ? " (integer tensors are copied as they are, not converted)"
                            : "");
}

/*
 * Switches the CPU-specific paths (F16C) off (on != 0) or back on for the calling thread,
 * so that the tests check the portable loops on machines that would never run them.
 * Not in the public header: tests/test_dtype.c declares it.
 */
void tv_dtype_use_portable_kernels(int on);
void tv_dtype_use_portable_kernels(int on)
{
    portable_only = on != 0;
}

/* from_f32 with the index of src[0] in the whole tensor, for error messages. */
static int from_f32_at(enum tv_dtype dtype, const float *src, uint64_t n, void *dst,
                       uint64_t base, tv_error *err)
{
    uint8_t *p = dst;
    uint64_t nb, at;
    if (check_count(dtype, n, &nb, err) < 0)
        return -1;
    switch (dtype) {
    case TV_DTYPE_F32:
        memcpy(p, src, (size_t)n * 4);
        return 0;
    case TV_DTYPE_F64:
        for (uint64_t i = 0; i < n; i++) {
            double d = src[i];
            memcpy(p + 8 * i, &d, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            uint64_t u = ld64(p + 8 * i);
            memcpy(p + 8 * i, &u, 8);
#endif
        }
        return 0;
    case TV_DTYPE_F16:
        f32_to_f16_n(src, n, p);
        return 0;
    case TV_DTYPE_BF16:
        f32_to_bf16_n(src, n, p);
        return 0;
    case TV_DTYPE_Q8_0:
    case TV_DTYPE_Q4_0:
        at = dtype == TV_DTYPE_Q8_0 ? f32_to_q8_0(src, nb, p) : f32_to_q4_0(src, nb, p);
        if (at != UINT64_MAX)
            return tv_error_set(err, TV_ERR_DATA, "element %llu is %s: %s cannot hold it "
                                "(ggml's quantizer has no defined result for it)",
                                (unsigned long long)(base + at),
                                isnan(src[at]) ? "NaN" : "infinite", tv_dtype_name(dtype));
        return 0;
    default:
        return no_from_f32(dtype, err);
    }
}

int tv_dtype_from_f32(enum tv_dtype dtype, const float *src, uint64_t n, void *dst,
                      tv_error *err)
{
    return from_f32_at(dtype, src, n, dst, 0, err);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

#define CONVERT_STACK_FLOATS 1024

int tv_dtype_convert(enum tv_dtype from, const void *src, enum tv_dtype to, void *dst,
                     uint64_t n, float *scratch, size_t scratch_n, tv_error *err)
{
    float stack[CONVERT_STACK_FLOATS];
    uint64_t nb, src_bytes, dst_bytes;
    if (check_count(from, n, &nb, err) < 0 || check_count(to, n, &nb, err) < 0)
        return -1;
    if (tv_dtype_bytes(from, n, &src_bytes, err) < 0 || tv_dtype_bytes(to, n, &dst_bytes, err) < 0)
        return -1;
    if (from == to) {
        memcpy(dst, src, (size_t)src_bytes);
        return 0;
    }
    if (!tv_dtype_can_to_f32(from))
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "cannot convert %s to %s: %s has no "
                            "float32 decoder (%s)", tv_dtype_name(from), tv_dtype_name(to),
                            tv_dtype_name(from), no_kernel_reason(from));
    if (!tv_dtype_can_from_f32(to))
        return no_from_f32(to, err);
    /* float32 on one side and suitably aligned: no staging needed */
    if (from == TV_DTYPE_F32 && (uintptr_t)src % _Alignof(float) == 0)
        return from_f32_at(to, src, n, dst, 0, err);
    if (to == TV_DTYPE_F32 && (uintptr_t)dst % _Alignof(float) == 0)
        return tv_dtype_to_f32(from, src, n, dst, err);

    if (!scratch) {
        scratch = stack;
        scratch_n = CONVERT_STACK_FLOATS;
    }
    /* a chunk must be whole blocks on both sides */
    const uint64_t bs_from = tv_dtype_info(from)->block_size;
    const uint64_t bs_to = tv_dtype_info(to)->block_size;
    const uint64_t unit = bs_from / gcd_u64(bs_from, bs_to) * bs_to;
    if (scratch_n < unit)
        return tv_error_set(err, TV_ERR_USAGE, "converting %s to %s needs scratch for %llu "
                            "floats, got %zu", tv_dtype_name(from), tv_dtype_name(to),
                            (unsigned long long)unit, scratch_n);
    const uint64_t chunk = scratch_n - scratch_n % unit;
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (uint64_t done = 0; done < n;) {
        const uint64_t m = n - done < chunk ? n - done : chunk;
        uint64_t s_len, d_len;
        if (tv_dtype_to_f32(from, s, m, scratch, err) < 0 ||
            from_f32_at(to, scratch, m, d, done, err) < 0)
            return -1;
        tv_dtype_bytes(from, m, &s_len, NULL);
        tv_dtype_bytes(to, m, &d_len, NULL);
        s += s_len;
        d += d_len;
        done += m;
    }
    return 0;
}
