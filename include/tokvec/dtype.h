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

/* Whether to_f32 / from_f32 kernels exist for the dtype. */
int tv_dtype_can_to_f32(enum tv_dtype dtype);
int tv_dtype_can_from_f32(enum tv_dtype dtype);

/*
 * Converts n elements (a multiple of the block size) starting at src to float32.
 * Returns 0, or -1 with err naming the dtype when it has no kernel.
 */
int tv_dtype_to_f32(enum tv_dtype dtype, const void *src, uint64_t n, float *dst,
                    struct tv_error *err);
/*
 * Converts n float32 values (a multiple of the block size) into dtype at dst
 * (tv_dtype_bytes(dtype, n) bytes). Returns 0, or -1 with err naming the dtype.
 */
int tv_dtype_from_f32(enum tv_dtype dtype, const float *src, uint64_t n, void *dst,
                      struct tv_error *err);

#ifdef __cplusplus
}
#endif

#endif
