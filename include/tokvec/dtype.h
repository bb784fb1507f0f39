/*
 * tokvec dtypes: one enum for every safetensors dtype and every GGUF (ggml) tensor
 * type, each with its block size and bytes per block, and block-wise conversion
 * to and from float32.
 */
#ifndef TOKVEC_DTYPE_H
#define TOKVEC_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tv_error;

enum tv_dtype {
    /* plain element types (safetensors and GGUF) */
    TV_DTYPE_F32, TV_DTYPE_F16, TV_DTYPE_BF16, TV_DTYPE_F64,
    TV_DTYPE_I8, TV_DTYPE_I16, TV_DTYPE_I32, TV_DTYPE_I64,
    TV_DTYPE_U8, TV_DTYPE_U16, TV_DTYPE_U32, TV_DTYPE_U64,
    TV_DTYPE_BOOL,
    TV_DTYPE_F8_E4M3, TV_DTYPE_F8_E5M2, TV_DTYPE_F8_E8M0,
    TV_DTYPE_F4, TV_DTYPE_F6_E2M3, TV_DTYPE_F6_E3M2,
    TV_DTYPE_C64,
    TV_DTYPE_F8_E4M3FNUZ, TV_DTYPE_F8_E5M2FNUZ,
    /* ggml block-quantized types */
    TV_DTYPE_Q4_0, TV_DTYPE_Q4_1, TV_DTYPE_Q5_0, TV_DTYPE_Q5_1, TV_DTYPE_Q8_0, TV_DTYPE_Q8_1,
    TV_DTYPE_Q2_K, TV_DTYPE_Q3_K, TV_DTYPE_Q4_K, TV_DTYPE_Q5_K, TV_DTYPE_Q6_K, TV_DTYPE_Q8_K,
    TV_DTYPE_IQ2_XXS, TV_DTYPE_IQ2_XS, TV_DTYPE_IQ3_XXS, TV_DTYPE_IQ1_S, TV_DTYPE_IQ4_NL,
    TV_DTYPE_IQ3_S, TV_DTYPE_IQ2_S, TV_DTYPE_IQ4_XS, TV_DTYPE_IQ1_M,
    TV_DTYPE_TQ1_0, TV_DTYPE_TQ2_0, TV_DTYPE_MXFP4, TV_DTYPE_NVFP4, TV_DTYPE_Q1_0,
    TV_DTYPE_Q2_0,
    TV_DTYPE_COUNT
};

enum {
    TV_DTYPE_FLOAT = 1u << 0,     /* a plain floating-point element type */
    TV_DTYPE_INT = 1u << 1,       /* a plain integer (or bool) element type */
    TV_DTYPE_QUANT = 1u << 2,     /* a ggml block-quantized type */
    TV_DTYPE_SUBBYTE = 1u << 3    /* several elements share a byte (F4, F6) */
};

struct tv_dtype_info {
    enum tv_dtype dtype;
    const char *name;             /* "F32", "BF16", "Q4_K", ... as ggml and safetensors spell it */
    const char *safetensors_name; /* the safetensors dtype string, NULL if it has none */
    int ggml_type;                /* the GGUF tensor type id, -1 if it has none */
    uint32_t block_size;          /* elements per block */
    uint32_t block_bytes;         /* bytes per block */
    unsigned flags;               /* TV_DTYPE_* */
};

/* The table entry for a dtype (never NULL for a valid enum value). */
const struct tv_dtype_info *tv_dtype_info(enum tv_dtype dtype);
/* The dtype's name, "?" for an out-of-range value. */
const char *tv_dtype_name(enum tv_dtype dtype);
/* Looks a dtype up by name (case-insensitive: "f16", "Q8_0"). Returns 0 or -1. */
int tv_dtype_from_name(const char *name, enum tv_dtype *out);
/* Looks a dtype up by its safetensors string ("F16", "F8_E4M3"). Returns 0 or -1. */
int tv_dtype_from_safetensors(const char *name, size_t len, enum tv_dtype *out);

/*
 * Maps a GGUF tensor type id to a dtype. Returns 0; or -1 with err filled, naming
 * the id, when the id is unknown or was removed from ggml (31..33, 36..38, 4, 5).
 */
int tv_dtype_from_ggml(uint32_t ggml_type, enum tv_dtype *out, struct tv_error *err);

/*
 * Bytes needed for n_elements of dtype. Returns 0 and sets *bytes; -1 with err when
 * n_elements is not a multiple of the block size or the product overflows.
 */
int tv_dtype_bytes(enum tv_dtype dtype, uint64_t n_elements, uint64_t *bytes,
                   struct tv_error *err);

/* The largest block size of any dtype (elements): enough scratch for tv_dtype_convert. */
#define TV_DTYPE_MAX_BLOCK 256

/*
 * Whether to_f32 / from_f32 kernels exist for the dtype (1) or not (0).
 * to_f32: every plain float and integer type except C64 and the F6 types (safetensors
 * does not define how 6-bit elements are packed), and the ggml types Q4_0 Q4_1 Q5_0
 * Q5_1 Q8_0 Q8_1 Q2_K..Q8_K IQ4_NL IQ4_XS TQ1_0 TQ2_0 MXFP4 NVFP4 Q1_0 Q2_0; the IQ1/IQ2/
 * IQ3 grid types have none. from_f32: F32, F64, F16, BF16, Q8_0, Q4_0.
 */
int tv_dtype_can_to_f32(enum tv_dtype dtype);
int tv_dtype_can_from_f32(enum tv_dtype dtype);

/*
 * Converts n elements (a multiple of the block size) starting at src to float32.
 * src is little-endian and may be unaligned; dst must be a float array. Floats keep
 * their value exactly where float32 can hold it (F16, BF16, F8, F4, I8..I16, U8..U16),
 * else round to nearest even (F64, I32, I64, U32, U64); NaN stays NaN (sign and payload
 * kept, quiet bit set), BOOL gives 0 or 1. Quantized blocks decode exactly as ggml's reference dequantize_row_* does, with
 * the same float operations in the same order, so results are bit-identical.
 * Allocates nothing and is safe to call from several threads. Returns 0, or -1 with
 * err (TV_ERR_UNSUPPORTED naming the dtype when it has no kernel, TV_ERR_DATA when n
 * is not a whole number of blocks).
 */
int tv_dtype_to_f32(enum tv_dtype dtype, const void *src, uint64_t n, float *dst,
                    struct tv_error *err);
/*
 * Converts n float32 values (a multiple of the block size) into dtype at dst
 * (tv_dtype_bytes(dtype, n) bytes, any alignment, little-endian). F16 and BF16 round
 * to nearest even, keep infinities, overflow to infinity and keep NaN as a quiet NaN
 * (sign and leading payload bits kept). Q8_0 and Q4_0 write the bytes that ggml's
 * quantize_row_q8_0_ref / quantize_row_q4_0_ref write for the same input; a NaN or
 * infinity in their input is refused (TV_ERR_DATA naming the element), since ggml's
 * result for it is undefined. Integer targets are refused (TV_ERR_UNSUPPORTED): a
 * float has no single right integer, and integer tensors are copied, not converted.
 * Allocates nothing. Returns 0, or -1 with err.
 */
int tv_dtype_from_f32(enum tv_dtype dtype, const float *src, uint64_t n, void *dst,
                      struct tv_error *err);

/*
 * Converts n elements of dtype from at src into dtype to at dst, streaming through
 * float32 in chunks of scratch (scratch_n floats, at least TV_DTYPE_MAX_BLOCK; NULL
 * uses a 1024-float buffer on the stack). The same dtype on both sides is a plain byte
 * copy, so integer and unsupported types pass through unchanged. n must be a whole
 * number of blocks of both dtypes; src and dst may be unaligned and must not overlap.
 * Allocates nothing. Returns 0, or -1 with err naming the dtypes (and, for a value the
 * target cannot hold, the element).
 */
int tv_dtype_convert(enum tv_dtype from, const void *src, enum tv_dtype to, void *dst,
                     uint64_t n, float *scratch, size_t scratch_n, struct tv_error *err);

#ifdef __cplusplus
}
#endif

#endif
