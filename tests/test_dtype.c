/*
 * The dtype table and the conversion kernels. Expected values come from
 * tests/data/dtype_vectors.py, which derives them from the format definitions with
 * exact arithmetic (see its header), not from the C code under test.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "support/testutil.h"
#include "data/dtype_vectors.h"

static float f32_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Compares float bits, or NaN-ness where the expected value is the 0x7fc00000 marker. */
static void assert_f32_bits(float got, uint32_t want, const char *what, size_t i)
{
    if (want == 0x7fc00000u) {
        if (!isnan(got))
            fail_msg("%s[%zu]: got %g (0x%08x), want NaN", what, i, got, bits_of(got));
        return;
    }
    if (bits_of(got) != want)
        fail_msg("%s[%zu]: got %.9g (0x%08x), want %.9g (0x%08x)", what, i, got, bits_of(got),
                 f32_of(want), want);
}

/* The same LCG as dtype_vectors.py. */
static uint32_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

/* ---- the table ----------------------------------------------------------------------- */

static void dtype_table_rows_sit_at_their_enum_value(void **state)
{
    (void)state;
    for (int i = 0; i < TV_DTYPE_COUNT; i++) {
        const struct tv_dtype_info *info = tv_dtype_info((enum tv_dtype)i);
        assert_int_equal(info->dtype, i);
        assert_non_null(info->name);
        assert_true(info->block_size > 0 && info->block_bytes > 0);
        /* every block size is a power of two, so any two share their larger one */
        assert_int_equal(info->block_size & (info->block_size - 1), 0);
        assert_true(info->block_size <= TV_DTYPE_MAX_BLOCK);
        enum tv_dtype back;
        assert_int_equal(tv_dtype_from_name(info->name, &back), 0);
        assert_int_equal(back, i);
    }
}

/* ggml.h's enum ggml_type and ggml.c's type_traits (blck_size, type_size). */
static const struct {
    uint32_t id;
    const char *name;
    uint32_t block_size, block_bytes;
} ggml_types[] = {
    {0, "F32", 1, 4}, {1, "F16", 1, 2}, {2, "Q4_0", 32, 18}, {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22}, {7, "Q5_1", 32, 24}, {8, "Q8_0", 32, 34}, {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84}, {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176}, {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},
    {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74}, {18, "IQ3_XXS", 256, 98},
    {19, "IQ1_S", 256, 50}, {20, "IQ4_NL", 32, 18}, {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82}, {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1}, {25, "I16", 1, 2},
    {26, "I32", 1, 4}, {27, "I64", 1, 8}, {28, "F64", 1, 8}, {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2}, {34, "TQ1_0", 256, 54}, {35, "TQ2_0", 256, 66},
    {39, "MXFP4", 32, 17}, {40, "NVFP4", 64, 36}, {41, "Q1_0", 128, 18}, {42, "Q2_0", 64, 18},
};

static void dtype_table_matches_ggml_type_traits_for_ids_0_to_42(void **state)
{
    (void)state;
    for (size_t i = 0; i < TV_ARRAY_SIZE(ggml_types); i++) {
        enum tv_dtype dt;
        tv_error err = {0};
        assert_int_equal(tv_dtype_from_ggml(ggml_types[i].id, &dt, &err), 0);
        const struct tv_dtype_info *info = tv_dtype_info(dt);
        assert_string_equal(info->name, ggml_types[i].name);
        assert_int_equal(info->ggml_type, (int)ggml_types[i].id);
        assert_int_equal(info->block_size, ggml_types[i].block_size);
        assert_int_equal(info->block_bytes, ggml_types[i].block_bytes);
    }
    /* the removed ids are refused by name, the next free id as unknown */
    static const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38};
    for (size_t i = 0; i < TV_ARRAY_SIZE(removed); i++) {
        enum tv_dtype dt;
        tv_error err = {0};
        assert_int_equal(tv_dtype_from_ggml(removed[i], &dt, &err), -1);
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, "removed"));
    }
    enum tv_dtype dt;
    tv_error err = {0};
    assert_int_equal(tv_dtype_from_ggml(43, &dt, &err), -1);
    assert_non_null(strstr(err.message, "43"));
}

/* safetensors' Dtype enum with each dtype's bit size. */
static void dtype_table_knows_every_safetensors_dtype(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned bits;
    } st[] = {
        {"BOOL", 8}, {"F4", 4}, {"F6_E2M3", 6}, {"F6_E3M2", 6}, {"U8", 8}, {"I8", 8},
        {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
        {"F8_E5M2FNUZ", 8}, {"I16", 16}, {"U16", 16}, {"F16", 16}, {"BF16", 16}, {"I32", 32},
        {"U32", 32}, {"F32", 32}, {"C64", 64}, {"F64", 64}, {"I64", 64}, {"U64", 64},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(st); i++) {
        enum tv_dtype dt;
        assert_int_equal(tv_dtype_from_safetensors(st[i].name, strlen(st[i].name), &dt), 0);
        const struct tv_dtype_info *info = tv_dtype_info(dt);
        assert_int_equal(info->block_bytes * 8, st[i].bits * info->block_size);
    }
    enum tv_dtype dt;
    assert_int_equal(tv_dtype_from_safetensors("F8", 2, &dt), -1);
    assert_int_equal(tv_dtype_from_safetensors("q8_0", 4, &dt), -1);
}

static void dtype_bytes_refuses_partial_blocks_and_overflow(void **state)
{
    (void)state;
    uint64_t bytes;
    tv_error err = {0};
    assert_int_equal(tv_dtype_bytes(TV_DTYPE_Q2_0, 128, &bytes, &err), 0);
    assert_int_equal(bytes, 36);
    assert_int_equal(tv_dtype_bytes(TV_DTYPE_F4, 3, &bytes, &err), -1);
    assert_non_null(strstr(err.message, "F4"));
    assert_int_equal(tv_dtype_bytes(TV_DTYPE_F64, UINT64_MAX / 4, &bytes, &err), -1);
    float out[32];
    uint8_t in[34] = {0};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_Q8_0, in, 16, out, &err), -1);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_non_null(strstr(err.message, "Q8_0"));
}

/* ---- binary16 and bfloat16 -------------------------------------------------------------- */

/* dtype_convert.c: switches the CPU-specific (F16C) paths off for this thread. */
void tv_dtype_use_portable_kernels(int on);

static void check_all_halves(void)
{
    uint8_t *codes = tv_malloc(2 * 65536 + 1);
    float *out = tv_malloc(4 * 65536);
    assert_non_null(codes);
    assert_non_null(out);
    for (uint32_t h = 0; h < 65536; h++) {
        codes[1 + 2 * h] = (uint8_t)h; /* +1: an odd address, as in a mapped file */
        codes[2 + 2 * h] = (uint8_t)(h >> 8);
    }
    tv_error err = {0};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F16, codes + 1, 65536, out, &err), 0);
    for (size_t i = 0; i < TV_ARRAY_SIZE(f16_codes); i++)
        assert_f32_bits(out[f16_codes[i]], f16_codes_f32[i], "f16", f16_codes[i]);
    uint8_t le[4];
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t u = bits_of(out[h]);
        le[0] = (uint8_t)u, le[1] = (uint8_t)(u >> 8), le[2] = (uint8_t)(u >> 16);
        le[3] = (uint8_t)(u >> 24);
        crc = crc32(crc, le, 4);
    }
    assert_int_equal(crc, F16_ALL_TO_F32_CRC);
    tv_free(codes);
    tv_free(out);
}

static void f16_to_f32_decodes_every_code_as_ieee_binary16(void **state)
{
    (void)state;
    check_all_halves();
}

static void f16_to_f32_portable_loop_decodes_every_code_the_same(void **state)
{
    (void)state;
    tv_dtype_use_portable_kernels(1);
    check_all_halves();
    tv_dtype_use_portable_kernels(0);
}

static void round_trip(enum tv_dtype dtype, uint16_t exp_mask, uint16_t quiet_bit);

/* The inputs dtype_vectors.py rounds: every half's midpoints, both signs, then LCG bits. */
static float *rounding_inputs(void)
{
    float *in = tv_malloc(sizeof(float) * ROUNDING_INPUTS);
    assert_non_null(in);
    size_t k = 0;
    float h32[0x7c01];
    uint8_t h16[2 * 0x7c01];
    for (uint32_t h = 0; h <= 0x7c00; h++)
        h16[2 * h] = (uint8_t)h, h16[2 * h + 1] = (uint8_t)(h >> 8);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F16, h16, 0x7c01, h32, NULL), 0);
    h32[0x7c00] = 65536.0f; /* where the next half would be */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        uint32_t mid = bits_of((h32[h] + h32[h + 1]) / 2); /* exact in float32 */
        for (uint32_t u = mid - 1; u <= mid + 1; u++) {
            in[k++] = f32_of(u);
            in[k++] = f32_of(u | 0x80000000u);
        }
    }
    uint64_t s = 0x5EED;
    while (k < ROUNDING_INPUTS)
        in[k++] = f32_of(lcg_next(&s));
    return in;
}

static void check_rounding(enum tv_dtype dtype, uint32_t want_crc)
{
    float *in = rounding_inputs();
    uint8_t *out = tv_malloc(2 * ROUNDING_INPUTS + 1);
    assert_non_null(out);
    tv_error err = {0};
    assert_int_equal(tv_dtype_from_f32(dtype, in, ROUNDING_INPUTS, out + 1, &err), 0);
    assert_int_equal(crc32(crc32(0L, Z_NULL, 0), out + 1, 2 * ROUNDING_INPUTS), want_crc);
    for (size_t i = 0; i < TV_ARRAY_SIZE(round_cases); i++) {
        float x = f32_of(round_cases[i].f32);
        uint8_t b[2];
        assert_int_equal(tv_dtype_from_f32(dtype, &x, 1, b, &err), 0);
        uint16_t got = (uint16_t)(b[0] | b[1] << 8);
        uint16_t want = dtype == TV_DTYPE_F16 ? round_cases[i].f16 : round_cases[i].bf16;
        if (got != want)
            fail_msg("%s of 0x%08x (%.9g): got 0x%04x, want 0x%04x", tv_dtype_name(dtype),
                     round_cases[i].f32, x, got, want);
    }
    tv_free(in);
    tv_free(out);
}

static void f32_to_f16_rounds_to_nearest_even_keeping_inf_and_nan(void **state)
{
    (void)state;
    check_rounding(TV_DTYPE_F16, F32_TO_F16_CRC);
}

static void f32_to_f16_portable_loop_rounds_the_same(void **state)
{
    (void)state;
    tv_dtype_use_portable_kernels(1);
    check_rounding(TV_DTYPE_F16, F32_TO_F16_CRC);
    round_trip(TV_DTYPE_F16, 0x7c00, 0x0200);
    tv_dtype_use_portable_kernels(0);
}

static void f32_to_bf16_rounds_to_nearest_even_keeping_inf_and_nan(void **state)
{
    (void)state;
    check_rounding(TV_DTYPE_BF16, F32_TO_BF16_CRC);
}

/* Every code through float32 and back: itself, except a signalling NaN comes back quiet. */
static void round_trip(enum tv_dtype dtype, uint16_t exp_mask, uint16_t quiet_bit)
{
    uint8_t *codes = tv_malloc(2 * 65536), *back = tv_malloc(2 * 65536);
    float *f = tv_malloc(4 * 65536);
    assert_true(codes && back && f);
    for (uint32_t h = 0; h < 65536; h++)
        codes[2 * h] = (uint8_t)h, codes[2 * h + 1] = (uint8_t)(h >> 8);
    assert_int_equal(tv_dtype_convert(dtype, codes, TV_DTYPE_F32, f, 65536, NULL, 0, NULL), 0);
    assert_int_equal(tv_dtype_convert(TV_DTYPE_F32, f, dtype, back, 65536, NULL, 0, NULL), 0);
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t got = (uint16_t)(back[2 * h] | back[2 * h + 1] << 8);
        uint16_t want = (uint16_t)h;
        if ((h & exp_mask) == exp_mask && (h & ~(exp_mask | 0x8000u)))
            want = (uint16_t)(h | quiet_bit); /* NaN: quieted, payload kept */
        if (got != want)
            fail_msg("%s 0x%04x came back as 0x%04x", tv_dtype_name(dtype), h, got);
    }
    tv_free(codes);
    tv_free(back);
    tv_free(f);
}

static void f16_round_trip_through_f32_keeps_all_65536_codes(void **state)
{
    (void)state;
    round_trip(TV_DTYPE_F16, 0x7c00, 0x0200);
}

static void bf16_round_trip_through_f32_keeps_all_65536_codes(void **state)
{
    (void)state;
    round_trip(TV_DTYPE_BF16, 0x7f80, 0x0040);
}

/* ---- 8-bit, 4-bit, integer and F64 elements ----------------------------------------------- */

static void check_all_bytes(enum tv_dtype dtype, const uint32_t *want)
{
    uint8_t codes[257];
    float out[256];
    for (int c = 0; c < 256; c++)
        codes[1 + c] = (uint8_t)c;
    tv_error err = {0};
    assert_int_equal(tv_dtype_to_f32(dtype, codes + 1, 256, out, &err), 0);
    for (int c = 0; c < 256; c++)
        assert_f32_bits(out[c], want[c], tv_dtype_name(dtype), (size_t)c);
}

static void f8_formats_decode_every_code(void **state)
{
    (void)state;
    check_all_bytes(TV_DTYPE_F8_E4M3, f8_e4m3_f32);
    check_all_bytes(TV_DTYPE_F8_E5M2, f8_e5m2_f32);
    check_all_bytes(TV_DTYPE_F8_E8M0, f8_e8m0_f32);
    check_all_bytes(TV_DTYPE_F8_E4M3FNUZ, f8_e4m3fnuz_f32);
    check_all_bytes(TV_DTYPE_F8_E5M2FNUZ, f8_e5m2fnuz_f32);
    /* spot checks stated in the formats' own words */
    uint8_t b[] = {0x7e, 0xfe, 0x7b, 0x7c, 0x7f};
    float out[5];
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F8_E4M3, b, 2, out, NULL), 0);
    assert_true(out[0] == 448.0f && out[1] == -448.0f);  /* e4m3fn max, no infinity */
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F8_E5M2, b + 2, 3, out, NULL), 0);
    assert_true(out[0] == 57344.0f && isinf(out[1]) && isnan(out[2]));
}

static void f4_decodes_two_e2m1_values_a_byte_low_nibble_first(void **state)
{
    (void)state;
    uint8_t codes[9];
    float out[16];
    for (int k = 0; k < 8; k++)
        codes[1 + k] = (uint8_t)(2 * k | (2 * k + 1) << 4); /* element 2k low, 2k+1 high */
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F4, codes + 1, 16, out, NULL), 0);
    for (int c = 0; c < 16; c++)
        assert_f32_bits(out[c], f4_e2m1_f32[c], "F4", (size_t)c);
    uint8_t one = 0x2f; /* low nibble 0xf = -6, high nibble 0x2 = 1 */
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F4, &one, 2, out, NULL), 0);
    assert_true(out[0] == -6.0f && out[1] == 1.0f);
}

static void integers_and_bool_convert_to_the_nearest_float(void **state)
{
    (void)state;
    tv_error err = {0};
    float out[4];
    uint8_t i8[] = {0x80, 0x7f, 0xff, 0x00};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_I8, i8, 4, out, &err), 0);
    assert_true(out[0] == -128.0f && out[1] == 127.0f && out[2] == -1.0f && out[3] == 0.0f);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_U8, i8, 4, out, &err), 0);
    assert_true(out[0] == 128.0f && out[1] == 127.0f && out[2] == 255.0f);
    uint8_t i16[] = {0x00, 0x80, 0xff, 0x7f};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_I16, i16, 2, out, &err), 0);
    assert_true(out[0] == -32768.0f && out[1] == 32767.0f);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_U16, i16, 2, out, &err), 0);
    assert_true(out[0] == 32768.0f && out[1] == 32767.0f);
    /* 2^24 + 1 is a tie between 2^24 and 2^24 + 2: nearest even is 2^24 */
    uint8_t i32[] = {0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x80, 0x03, 0x00, 0x00, 0x01};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_I32, i32, 3, out, &err), 0);
    assert_true(out[0] == 16777216.0f && out[1] == -2147483648.0f && out[2] == 16777220.0f);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_U32, i32, 3, out, &err), 0);
    assert_true(out[1] == 2147483648.0f);
    uint8_t i64[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_I64, i64, 2, out, &err), 0);
    assert_true(out[0] == -1.0f && out[1] == -9223372036854775808.0f);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_U64, i64, 2, out, &err), 0);
    assert_true(out[0] == 18446744073709551616.0f && out[1] == 9223372036854775808.0f);
    uint8_t flags[] = {0, 1, 2, 0xff};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_BOOL, flags, 4, out, &err), 0);
    assert_true(out[0] == 0.0f && out[1] == 1.0f && out[2] == 1.0f && out[3] == 1.0f);
}

static void f64_narrows_to_nearest_float_and_f32_widens_exactly(void **state)
{
    (void)state;
    const double in[] = {1.0 + 0x1p-24, 1.0 + 0x1.8p-24, 1e300, -1e-300, 0.1};
    uint8_t raw[1 + sizeof in];
    memcpy(raw + 1, in, sizeof in);
    float out[5];
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F64, raw + 1, 5, out, NULL), 0);
    assert_true(out[0] == 1.0f);                 /* tie: even */
    assert_true(out[1] == 1.0f + 0x1p-23f);      /* above the tie */
    assert_true(isinf(out[2]) && out[2] > 0);
    assert_true(out[3] == 0.0f && signbit(out[3]));
    assert_true(out[4] == 0.1f);
    uint8_t wide[8 * 5 + 1];
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_F64, out, 5, wide + 1, NULL), 0);
    double d;
    memcpy(&d, wide + 1 + 32, 8);
    assert_true(d == (double)0.1f);
}

/* ---- ggml blocks ------------------------------------------------------------------------ */

static void check_blocks(const char *name, const uint8_t *bytes, size_t n_bytes,
                         const uint32_t *want, size_t n)
{
    enum tv_dtype dt;
    assert_int_equal(tv_dtype_from_name(name, &dt), 0);
    assert_true(tv_dtype_can_to_f32(dt));
    uint64_t need;
    assert_int_equal(tv_dtype_bytes(dt, n, &need, NULL), 0);
    assert_int_equal(need, n_bytes);
    uint8_t *src = tv_malloc(n_bytes + 1);
    float *out = tv_malloc(n * sizeof(float));
    assert_true(src && out);
    memcpy(src + 1, bytes, n_bytes); /* unaligned on purpose */
    tv_error err = {0};
    if (tv_dtype_to_f32(dt, src + 1, n, out, &err) < 0)
        fail_msg("%s: %s", name, err.message);
    for (size_t i = 0; i < n; i++)
        assert_f32_bits(out[i], want[i], name, i);
    tv_free(src);
    tv_free(out);
}

static void ggml_blocks_decode_bit_for_bit_like_the_reference(void **state)
{
    (void)state;
#define X(name, bytes, floats) \
    check_blocks(#name, bytes, sizeof bytes, floats, TV_ARRAY_SIZE(floats));
    BLOCK_CASES(X)
#undef X
}

static void q8_0_block_reads_signed_bytes_times_the_half_scale(void **state)
{
    (void)state;
    /* d = 0.5 (0x3800); q = -128, 127, 1, -1 */
    uint8_t block[34] = {0x00, 0x38, 0x80, 0x7f, 0x01, 0xff};
    float out[32];
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_Q8_0, block, 32, out, NULL), 0);
    assert_true(out[0] == -64.0f && out[1] == 63.5f && out[2] == 0.5f && out[3] == -0.5f);
    assert_true(out[4] == 0.0f && out[31] == 0.0f);
}

/* ---- quantisation ----------------------------------------------------------------------- */

static void quantize_matches_ggml_reference_bytes(enum tv_dtype dtype)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(quant_cases); i++) {
        float x[32];
        for (int j = 0; j < 32; j++)
            x[j] = f32_of(quant_cases[i].x[j]);
        uint8_t out[35];
        tv_error err = {0};
        const uint8_t *want = dtype == TV_DTYPE_Q8_0 ? quant_cases[i].q8_0 : quant_cases[i].q4_0;
        size_t len = dtype == TV_DTYPE_Q8_0 ? 34 : 18;
        if (tv_dtype_from_f32(dtype, x, 32, out + 1, &err) < 0)
            fail_msg("%s '%s': %s", tv_dtype_name(dtype), quant_cases[i].what, err.message);
        for (size_t k = 0; k < len; k++)
            if (out[1 + k] != want[k])
                fail_msg("%s '%s': byte %zu is 0x%02x, want 0x%02x", tv_dtype_name(dtype),
                         quant_cases[i].what, k, out[1 + k], want[k]);
    }
}

static void quantize_q8_0_writes_the_bytes_of_ggml_reference(void **state)
{
    (void)state;
    quantize_matches_ggml_reference_bytes(TV_DTYPE_Q8_0);
}

static void quantize_q4_0_writes_the_bytes_of_ggml_reference(void **state)
{
    (void)state;
    quantize_matches_ggml_reference_bytes(TV_DTYPE_Q4_0);
}

static void quantize_refuses_nan_and_infinity_naming_the_element(void **state)
{
    (void)state;
    float x[64] = {0};
    uint8_t out[68];
    tv_error err = {0};
    x[37] = NAN;
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q8_0, x, 64, out, &err), -1);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_non_null(strstr(err.message, "element 37 is NaN"));
    assert_non_null(strstr(err.message, "Q8_0"));
    x[37] = 0.0f;
    x[5] = -INFINITY;
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q4_0, x, 64, out, &err), -1);
    assert_non_null(strstr(err.message, "element 5 is infinite"));
}

static void quantize_then_dequantize_stays_within_half_a_step(void **state)
{
    (void)state;
    float x[256], y[256];
    uint8_t q[8 * 34];
    uint64_t s = 42;
    for (int i = 0; i < 256; i++)
        x[i] = (float)((int32_t)lcg_next(&s)) * 0x1p-31f;
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q8_0, x, 256, q, NULL), 0);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_Q8_0, q, 256, y, NULL), 0);
    for (int b = 0; b < 8; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
        for (int j = 0; j < 32; j++) /* half a step of amax/127, plus the f16 scale's error */
            assert_true(fabsf(y[32 * b + j] - x[32 * b + j]) <= amax / 127 * 0.6f);
    }
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q4_0, x, 256, q, NULL), 0);
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_Q4_0, q, 256, y, NULL), 0);
    for (int b = 0; b < 8; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
        for (int j = 0; j < 32; j++) /* one step of amax/8: Q4_0 truncates, the top level clips */
            assert_true(fabsf(y[32 * b + j] - x[32 * b + j]) <= amax / 8 * 1.01f);
    }
}

/* ---- refusals ---------------------------------------------------------------------------- */

static void types_without_a_kernel_are_refused_by_name(void **state)
{
    (void)state;
    static const struct {
        enum tv_dtype dtype;
        const char *name, *reason;
    } none[] = {
        {TV_DTYPE_IQ2_XXS, "IQ2_XXS", "grid"}, {TV_DTYPE_IQ2_XS, "IQ2_XS", "grid"},
        {TV_DTYPE_IQ2_S, "IQ2_S", "grid"}, {TV_DTYPE_IQ3_XXS, "IQ3_XXS", "grid"},
        {TV_DTYPE_IQ3_S, "IQ3_S", "grid"}, {TV_DTYPE_IQ1_S, "IQ1_S", "grid"},
        {TV_DTYPE_IQ1_M, "IQ1_M", "grid"}, {TV_DTYPE_F6_E2M3, "F6_E2M3", "6-bit"},
        {TV_DTYPE_F6_E3M2, "F6_E3M2", "6-bit"}, {TV_DTYPE_C64, "C64", "complex"},
    };
    uint8_t in[512] = {0};
    float out[256];
    for (size_t i = 0; i < TV_ARRAY_SIZE(none); i++) {
        tv_error err = {0};
        uint32_t n = tv_dtype_info(none[i].dtype)->block_size;
        assert_false(tv_dtype_can_to_f32(none[i].dtype));
        assert_false(tv_dtype_can_from_f32(none[i].dtype));
        assert_int_equal(tv_dtype_to_f32(none[i].dtype, in, n, out, &err), -1);
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, none[i].name));
        assert_non_null(strstr(err.message, none[i].reason));
    }
    /* a float has no single right integer: integer targets are refused */
    static const enum tv_dtype ints[] = {TV_DTYPE_I8, TV_DTYPE_U8, TV_DTYPE_I32, TV_DTYPE_U64,
                                         TV_DTYPE_BOOL};
    float x[1] = {1.0f};
    for (size_t i = 0; i < TV_ARRAY_SIZE(ints); i++) {
        tv_error err = {0};
        assert_true(tv_dtype_can_to_f32(ints[i]));
        assert_false(tv_dtype_can_from_f32(ints[i]));
        assert_int_equal(tv_dtype_from_f32(ints[i], x, 1, in, &err), -1);
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, tv_dtype_name(ints[i])));
        assert_non_null(strstr(err.message, "integer"));
    }
    tv_error err = {0};
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q4_K, x, 0, in, &err), -1);
    assert_non_null(strstr(err.message, "Q4_K"));
    assert_int_equal(tv_dtype_to_f32((enum tv_dtype)TV_DTYPE_COUNT, in, 1, out, &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
}

/* ---- tv_dtype_convert --------------------------------------------------------------------- */

static void convert_streams_through_scratch_and_equals_the_two_steps(void **state)
{
    (void)state;
    enum { N = 1024 };
    /* a Q4_K source of 4 blocks: random bytes with tame scales */
    uint8_t q4k[4 * 144 + 1];
    uint64_t s = 7;
    for (size_t i = 0; i < sizeof q4k; i++)
        q4k[i] = (uint8_t)lcg_next(&s);
    for (int b = 0; b < 4; b++) {
        q4k[1 + 144 * b + 1] = 0x1c; /* d and dmin small, finite */
        q4k[1 + 144 * b + 3] = 0x1c;
    }
    float direct[N], via[N];
    uint8_t f16[2 * N + 1], q8[34 * N / 32 + 1], want_q8[34 * N / 32];
    tv_error err = {0};
    assert_int_equal(tv_dtype_to_f32(TV_DTYPE_Q4_K, q4k + 1, N, direct, &err), 0);
    /* Q4_K -> Q8_0 with scratch for exactly one 256-element block per step */
    float scratch[300];
    assert_int_equal(tv_dtype_convert(TV_DTYPE_Q4_K, q4k + 1, TV_DTYPE_Q8_0, q8 + 1, N, scratch,
                                      300, &err), 0);
    assert_int_equal(tv_dtype_from_f32(TV_DTYPE_Q8_0, direct, N, want_q8, &err), 0);
    assert_memory_equal(q8 + 1, want_q8, sizeof want_q8);
    /* Q4_K -> F16 (odd destination) on the stack buffer, then F16 -> F32 */
    assert_int_equal(tv_dtype_convert(TV_DTYPE_Q4_K, q4k + 1, TV_DTYPE_F16, f16 + 1, N, NULL, 0,
                                      &err), 0);
    assert_int_equal(tv_dtype_convert(TV_DTYPE_F16, f16 + 1, TV_DTYPE_F32, via, N, NULL, 0, &err),
                     0);
    for (int i = 0; i < N; i++) {
        uint8_t h[2];
        assert_int_equal(tv_dtype_from_f32(TV_DTYPE_F16, &direct[i], 1, h, NULL), 0);
        assert_memory_equal(f16 + 1 + 2 * i, h, 2);
    }
    /* same dtype: a byte copy, even where there is no kernel */
    uint8_t iq[66 * 2], iq_out[66 * 2];
    memset(iq, 0xa5, sizeof iq);
    assert_int_equal(tv_dtype_convert(TV_DTYPE_IQ2_XXS, iq, TV_DTYPE_IQ2_XXS, iq_out, 512, NULL, 0,
                                      &err), 0);
    assert_memory_equal(iq, iq_out, sizeof iq);
}

static void convert_refuses_small_scratch_and_unsupported_pairs(void **state)
{
    (void)state;
    uint8_t in[1024] = {0}, out[2048];
    float scratch[64];
    tv_error err = {0};
    assert_int_equal(tv_dtype_convert(TV_DTYPE_Q6_K, in, TV_DTYPE_F16, out, 256, scratch, 64,
                                      &err), -1);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_non_null(strstr(err.message, "256"));
    assert_int_equal(tv_dtype_convert(TV_DTYPE_IQ1_S, in, TV_DTYPE_F16, out, 256, NULL, 0, &err),
                     -1);
    assert_non_null(strstr(err.message, "IQ1_S"));
    assert_int_equal(tv_dtype_convert(TV_DTYPE_F16, in, TV_DTYPE_I32, out, 256, NULL, 0, &err), -1);
    assert_non_null(strstr(err.message, "I32"));
    assert_int_equal(tv_dtype_convert(TV_DTYPE_F16, in, TV_DTYPE_Q8_0, out, 48, NULL, 0, &err), -1);
    assert_non_null(strstr(err.message, "Q8_0"));
}

static void convert_names_the_absolute_element_that_cannot_be_quantized(void **state)
{
    (void)state;
    enum { N = 4096 };
    static uint8_t f16[2 * N];
    static uint8_t q8[34 * N / 32];
    memset(f16, 0, sizeof f16);
    f16[2 * 3000 + 1] = 0x7c; /* element 3000 = +inf */
    float scratch[256];
    tv_error err = {0};
    assert_int_equal(tv_dtype_convert(TV_DTYPE_F16, f16, TV_DTYPE_Q8_0, q8, N, scratch, 256, &err),
                     -1);
    assert_non_null(strstr(err.message, "element 3000 is infinite"));
}

/* ---- real data ---------------------------------------------------------------------------- */

static void tiny_llama_f16_embedding_rows_decode_like_a_hand_decode(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = read_file_or_fail(real_fixture("gguf/weights/llama-2-tiny-random.gguf"), &len);
    assert_true(len >= TINY_EMBD_OFFSET + 32000 * 16);
    struct tv_tensor t = {.name = "token_embd.weight", .dtype = TV_DTYPE_F16, .n_dims = 2,
                          .shape = {32000, 8}, .n_elements = 256000, .n_bytes = 512000,
                          .data = file + TINY_EMBD_OFFSET};
    float rows[8];
    tv_error err = {0};
    for (int r = 0; r < TINY_EMBD_ROWS; r++) {
        assert_int_equal(tv_tensor_rows_f32(&t, tiny_embd_rows[r], 1, rows, &err), 0);
        for (int j = 0; j < 8; j++)
            assert_f32_bits(rows[j], tiny_embd_f32[r][j], "token_embd row", tiny_embd_rows[r]);
    }
    /* the whole matrix at once agrees with row by row */
    float *all = tv_malloc(256000 * sizeof(float));
    assert_non_null(all);
    assert_int_equal(tv_tensor_rows_f32(&t, 0, 32000, all, &err), 0);
    assert_memory_equal(all + 8 * 31999, rows, sizeof rows);
    assert_int_equal(tv_tensor_rows_f32(&t, 31999, 2, all, &err), -1);
    assert_non_null(strstr(err.message, "token_embd.weight"));
    tv_free(all);
    tv_free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtype_table_rows_sit_at_their_enum_value),
        cmocka_unit_test(dtype_table_matches_ggml_type_traits_for_ids_0_to_42),
        cmocka_unit_test(dtype_table_knows_every_safetensors_dtype),
        cmocka_unit_test(dtype_bytes_refuses_partial_blocks_and_overflow),
        cmocka_unit_test(f16_to_f32_decodes_every_code_as_ieee_binary16),
        cmocka_unit_test(f16_to_f32_portable_loop_decodes_every_code_the_same),
        cmocka_unit_test(f32_to_f16_rounds_to_nearest_even_keeping_inf_and_nan),
        cmocka_unit_test(f32_to_f16_portable_loop_rounds_the_same),
        cmocka_unit_test(f32_to_bf16_rounds_to_nearest_even_keeping_inf_and_nan),
        cmocka_unit_test(f16_round_trip_through_f32_keeps_all_65536_codes),
        cmocka_unit_test(bf16_round_trip_through_f32_keeps_all_65536_codes),
        cmocka_unit_test(f8_formats_decode_every_code),
        cmocka_unit_test(f4_decodes_two_e2m1_values_a_byte_low_nibble_first),
        cmocka_unit_test(integers_and_bool_convert_to_the_nearest_float),
        cmocka_unit_test(f64_narrows_to_nearest_float_and_f32_widens_exactly),
        cmocka_unit_test(ggml_blocks_decode_bit_for_bit_like_the_reference),
        cmocka_unit_test(q8_0_block_reads_signed_bytes_times_the_half_scale),
        cmocka_unit_test(quantize_q8_0_writes_the_bytes_of_ggml_reference),
        cmocka_unit_test(quantize_q4_0_writes_the_bytes_of_ggml_reference),
        cmocka_unit_test(quantize_refuses_nan_and_infinity_naming_the_element),
        cmocka_unit_test(quantize_then_dequantize_stays_within_half_a_step),
        cmocka_unit_test(types_without_a_kernel_are_refused_by_name),
        cmocka_unit_test(convert_streams_through_scratch_and_equals_the_two_steps),
        cmocka_unit_test(convert_refuses_small_scratch_and_unsupported_pairs),
        cmocka_unit_test(convert_names_the_absolute_element_that_cannot_be_quantized),
        cmocka_unit_test(tiny_llama_f16_embedding_rows_decode_like_a_hand_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
