/*
 * The dtype table (one row per enum value, locked to it) and block-wise conversion
 * between every dtype and float32. Kernels work on whole blocks so that no tensor
 * ever needs to be materialised whole.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define F TV_DTYPE_FLOAT
#define I TV_DTYPE_INT
#define Q TV_DTYPE_QUANT
#define S TV_DTYPE_SUBBYTE

/*
 * dtype, name, safetensors name, ggml id, elements per block, bytes per block, flags.
 * Checked against ggml's ggml.h (enum ggml_type), ggml-common.h (block_* structs) and
 * ggml.c (type_traits: blck_size, type_size), and safetensors' Dtype enum (bitsize:
 * F4 is 4 bits, so 2 elements a byte; F6 is 6 bits, so 4 elements in 3 bytes).
 * Designated initializers pin every row to its enum value.
 */
static const struct tv_dtype_info dtypes[] = {
    [TV_DTYPE_F32] = {TV_DTYPE_F32, "F32", "F32", 0, 1, 4, F},
    [TV_DTYPE_F16] = {TV_DTYPE_F16, "F16", "F16", 1, 1, 2, F},
    [TV_DTYPE_BF16] = {TV_DTYPE_BF16, "BF16", "BF16", 30, 1, 2, F},
    [TV_DTYPE_F64] = {TV_DTYPE_F64, "F64", "F64", 28, 1, 8, F},
    [TV_DTYPE_I8] = {TV_DTYPE_I8, "I8", "I8", 24, 1, 1, I},
    [TV_DTYPE_I16] = {TV_DTYPE_I16, "I16", "I16", 25, 1, 2, I},
    [TV_DTYPE_I32] = {TV_DTYPE_I32, "I32", "I32", 26, 1, 4, I},
    [TV_DTYPE_I64] = {TV_DTYPE_I64, "I64", "I64", 27, 1, 8, I},
    [TV_DTYPE_U8] = {TV_DTYPE_U8, "U8", "U8", -1, 1, 1, I},
    [TV_DTYPE_U16] = {TV_DTYPE_U16, "U16", "U16", -1, 1, 2, I},
    [TV_DTYPE_U32] = {TV_DTYPE_U32, "U32", "U32", -1, 1, 4, I},
    [TV_DTYPE_U64] = {TV_DTYPE_U64, "U64", "U64", -1, 1, 8, I},
    [TV_DTYPE_BOOL] = {TV_DTYPE_BOOL, "BOOL", "BOOL", -1, 1, 1, I},
    [TV_DTYPE_F8_E4M3] = {TV_DTYPE_F8_E4M3, "F8_E4M3", "F8_E4M3", -1, 1, 1, F},
    [TV_DTYPE_F8_E5M2] = {TV_DTYPE_F8_E5M2, "F8_E5M2", "F8_E5M2", -1, 1, 1, F},
    [TV_DTYPE_F8_E8M0] = {TV_DTYPE_F8_E8M0, "F8_E8M0", "F8_E8M0", -1, 1, 1, F},
    [TV_DTYPE_F4] = {TV_DTYPE_F4, "F4", "F4", -1, 2, 1, F | S},
    [TV_DTYPE_F6_E2M3] = {TV_DTYPE_F6_E2M3, "F6_E2M3", "F6_E2M3", -1, 4, 3, F | S},
    [TV_DTYPE_F6_E3M2] = {TV_DTYPE_F6_E3M2, "F6_E3M2", "F6_E3M2", -1, 4, 3, F | S},
    [TV_DTYPE_C64] = {TV_DTYPE_C64, "C64", "C64", -1, 1, 8, F},
    [TV_DTYPE_F8_E4M3FNUZ] = {TV_DTYPE_F8_E4M3FNUZ, "F8_E4M3FNUZ", "F8_E4M3FNUZ", -1, 1, 1, F},
    [TV_DTYPE_F8_E5M2FNUZ] = {TV_DTYPE_F8_E5M2FNUZ, "F8_E5M2FNUZ", "F8_E5M2FNUZ", -1, 1, 1, F},
    [TV_DTYPE_Q4_0] = {TV_DTYPE_Q4_0, "Q4_0", NULL, 2, 32, 18, Q},
    [TV_DTYPE_Q4_1] = {TV_DTYPE_Q4_1, "Q4_1", NULL, 3, 32, 20, Q},
    [TV_DTYPE_Q5_0] = {TV_DTYPE_Q5_0, "Q5_0", NULL, 6, 32, 22, Q},
    [TV_DTYPE_Q5_1] = {TV_DTYPE_Q5_1, "Q5_1", NULL, 7, 32, 24, Q},
    [TV_DTYPE_Q8_0] = {TV_DTYPE_Q8_0, "Q8_0", NULL, 8, 32, 34, Q},
    [TV_DTYPE_Q8_1] = {TV_DTYPE_Q8_1, "Q8_1", NULL, 9, 32, 36, Q},
    [TV_DTYPE_Q2_K] = {TV_DTYPE_Q2_K, "Q2_K", NULL, 10, 256, 84, Q},
    [TV_DTYPE_Q3_K] = {TV_DTYPE_Q3_K, "Q3_K", NULL, 11, 256, 110, Q},
    [TV_DTYPE_Q4_K] = {TV_DTYPE_Q4_K, "Q4_K", NULL, 12, 256, 144, Q},
    [TV_DTYPE_Q5_K] = {TV_DTYPE_Q5_K, "Q5_K", NULL, 13, 256, 176, Q},
    [TV_DTYPE_Q6_K] = {TV_DTYPE_Q6_K, "Q6_K", NULL, 14, 256, 210, Q},
    [TV_DTYPE_Q8_K] = {TV_DTYPE_Q8_K, "Q8_K", NULL, 15, 256, 292, Q},
    [TV_DTYPE_IQ2_XXS] = {TV_DTYPE_IQ2_XXS, "IQ2_XXS", NULL, 16, 256, 66, Q},
    [TV_DTYPE_IQ2_XS] = {TV_DTYPE_IQ2_XS, "IQ2_XS", NULL, 17, 256, 74, Q},
    [TV_DTYPE_IQ3_XXS] = {TV_DTYPE_IQ3_XXS, "IQ3_XXS", NULL, 18, 256, 98, Q},
    [TV_DTYPE_IQ1_S] = {TV_DTYPE_IQ1_S, "IQ1_S", NULL, 19, 256, 50, Q},
    [TV_DTYPE_IQ4_NL] = {TV_DTYPE_IQ4_NL, "IQ4_NL", NULL, 20, 32, 18, Q},
    [TV_DTYPE_IQ3_S] = {TV_DTYPE_IQ3_S, "IQ3_S", NULL, 21, 256, 110, Q},
    [TV_DTYPE_IQ2_S] = {TV_DTYPE_IQ2_S, "IQ2_S", NULL, 22, 256, 82, Q},
    [TV_DTYPE_IQ4_XS] = {TV_DTYPE_IQ4_XS, "IQ4_XS", NULL, 23, 256, 136, Q},
    [TV_DTYPE_IQ1_M] = {TV_DTYPE_IQ1_M, "IQ1_M", NULL, 29, 256, 56, Q},
    [TV_DTYPE_TQ1_0] = {TV_DTYPE_TQ1_0, "TQ1_0", NULL, 34, 256, 54, Q},
    [TV_DTYPE_TQ2_0] = {TV_DTYPE_TQ2_0, "TQ2_0", NULL, 35, 256, 66, Q},
    [TV_DTYPE_MXFP4] = {TV_DTYPE_MXFP4, "MXFP4", NULL, 39, 32, 17, Q},
    [TV_DTYPE_NVFP4] = {TV_DTYPE_NVFP4, "NVFP4", NULL, 40, 64, 36, Q},
    [TV_DTYPE_Q1_0] = {TV_DTYPE_Q1_0, "Q1_0", NULL, 41, 128, 18, Q},
    [TV_DTYPE_Q2_0] = {TV_DTYPE_Q2_0, "Q2_0", NULL, 42, 64, 18, Q},
};
_Static_assert(TV_ARRAY_SIZE(dtypes) == TV_DTYPE_COUNT, "dtype table out of step with the enum");

#undef F
#undef I
#undef Q
#undef S

/* GGUF type ids that ggml used once and removed: files using them are refused by name. */
static const struct {
    uint32_t id;
    const char *name;
} removed_ggml[] = {
    {4, "Q4_2"}, {5, "Q4_3"}, {31, "Q4_0_4_4"}, {32, "Q4_0_4_8"}, {33, "Q4_0_8_8"},
    {36, "IQ4_NL_4_4"}, {37, "IQ4_NL_4_8"}, {38, "IQ4_NL_8_8"},
};

const struct tv_dtype_info *tv_dtype_info(enum tv_dtype dtype)
{
    if ((unsigned)dtype >= TV_DTYPE_COUNT)
        return &dtypes[0];
    return &dtypes[dtype];
}

const char *tv_dtype_name(enum tv_dtype dtype)
{
    return (unsigned)dtype < TV_DTYPE_COUNT ? dtypes[dtype].name : "?";
}

int tv_dtype_from_name(const char *name, enum tv_dtype *out)
{
    for (size_t i = 0; i < TV_DTYPE_COUNT; i++)
        if (strcasecmp(dtypes[i].name, name) == 0) {
            *out = dtypes[i].dtype;
            return 0;
        }
    return -1;
}

int tv_dtype_from_safetensors(const char *name, size_t len, enum tv_dtype *out)
{
    for (size_t i = 0; i < TV_DTYPE_COUNT; i++) {
        const char *st = dtypes[i].safetensors_name;
        if (st && strlen(st) == len && memcmp(st, name, len) == 0) {
            *out = dtypes[i].dtype;
            return 0;
        }
    }
    return -1;
}

int tv_dtype_from_ggml(uint32_t ggml_type, enum tv_dtype *out, tv_error *err)
{
    for (size_t i = 0; i < TV_DTYPE_COUNT; i++)
        if (dtypes[i].ggml_type >= 0 && (uint32_t)dtypes[i].ggml_type == ggml_type) {
            *out = dtypes[i].dtype;
            return 0;
        }
    for (size_t i = 0; i < TV_ARRAY_SIZE(removed_ggml); i++)
        if (removed_ggml[i].id == ggml_type)
            return tv_error_set(err, TV_ERR_UNSUPPORTED,
                                "tensor type %u (%s) was removed from ggml and is not supported",
                                ggml_type, removed_ggml[i].name);
    return tv_error_set(err, TV_ERR_DATA, "unknown tensor type %u (known: 0..%d)", ggml_type,
                        dtypes[TV_DTYPE_COUNT - 1].ggml_type);
}

int tv_dtype_bytes(enum tv_dtype dtype, uint64_t n_elements, uint64_t *bytes, tv_error *err)
{
    const struct tv_dtype_info *info = tv_dtype_info(dtype);
    if (n_elements % info->block_size)
        return tv_error_set(err, TV_ERR_DATA, "%llu elements are not a whole number of %s blocks "
                            "(%u elements each)", (unsigned long long)n_elements, info->name,
                            info->block_size);
    if (!tv_mul_u64_fits(n_elements / info->block_size, info->block_bytes, bytes))
        return tv_error_set(err, TV_ERR_DATA, "%llu elements of %s overflow a 64-bit byte count",
                            (unsigned long long)n_elements, info->name);
    return 0;
}

int tv_tensor_rows_f32(const struct tv_tensor *t, uint64_t row, uint64_t n, float *dst,
                       tv_error *err)
{
    if (t->n_dims != 2)
        return tv_error_set(err, TV_ERR_USAGE, "tensor '%s' has %u dimensions, not 2", t->name,
                            t->n_dims);
    uint64_t end;
    if (!tv_add_u64_fits(row, n, &end) || end > t->shape[0])
        return tv_error_set(err, TV_ERR_USAGE, "tensor '%s': rows %llu..%llu out of range (%llu rows)",
                            t->name, (unsigned long long)row, (unsigned long long)(row + n),
                            (unsigned long long)t->shape[0]);
    if (!t->data)
        return tv_error_set(err, TV_ERR_USAGE, "tensor '%s': data not loaded", t->name);
    uint64_t row_bytes, end_bytes;
    if (tv_dtype_bytes(t->dtype, t->shape[1], &row_bytes, err) < 0) {
        tv_error_prefix(err, "tensor '%s': rows of %llu elements", t->name,
                        (unsigned long long)t->shape[1]);
        return -1;
    }
    if (!tv_mul_u64_fits(end, row_bytes, &end_bytes) || end_bytes > t->n_bytes)
        return tv_error_set(err, TV_ERR_USAGE, "tensor '%s': rows %llu..%llu of %llu bytes each "
                            "run past its %llu bytes", t->name, (unsigned long long)row,
                            (unsigned long long)end, (unsigned long long)row_bytes,
                            (unsigned long long)t->n_bytes);
    if (tv_dtype_to_f32(t->dtype, t->data + row * row_bytes, n * t->shape[1], dst, err) < 0) {
        tv_error_prefix(err, "tensor '%s'", t->name);
        return -1;
    }
    return 0;
}
