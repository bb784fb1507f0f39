/*
 * A small in-memory GGUF builder for tests. It writes the byte layout described at
 * the top of formats/gguf.c piece by piece (any version, so v1 files too) and keeps
 * the header's tensor and key/value counts up to date as pieces are added. Every
 * length, count, offset and type field it writes is recorded with its position and
 * the object an error about it should name, so that hostile variants of a valid
 * file can be made by patching one field (gb_patch).
 *
 * Nothing is checked: writing nonsense on purpose is the point. Memory comes from
 * plain malloc (not the library's allocator, which tests make fail) and running out
 * of it aborts the test.
 */
#ifndef TOKVEC_TEST_GGUF_BUILD_H
#define TOKVEC_TEST_GGUF_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* GGUF metadata value types (tv_value_type uses the same numbers). */
enum {
    GB_U8 = 0, GB_I8 = 1, GB_U16 = 2, GB_I16 = 3, GB_U32 = 4, GB_I32 = 5, GB_F32 = 6,
    GB_BOOL = 7, GB_STRING = 8, GB_ARRAY = 9, GB_U64 = 10, GB_I64 = 11, GB_F64 = 12
};

/* ggml tensor type ids used by tests. */
enum { GB_TYPE_F32 = 0, GB_TYPE_F16 = 1, GB_TYPE_Q4_0 = 2, GB_TYPE_Q8_0 = 8 };

enum gb_field_kind {
    GB_FIELD_VERSION,   /* u32 */
    GB_FIELD_COUNT,     /* header counts, array lengths, n_dims */
    GB_FIELD_LENGTH,    /* string lengths (keys, values, names, array strings) */
    GB_FIELD_TYPE,      /* value types, array element types, tensor types */
    GB_FIELD_DIM,       /* a tensor's ne[j] */
    GB_FIELD_OFFSET     /* a tensor's data offset */
};

struct gb_field {
    enum gb_field_kind kind;
    size_t offset;      /* byte position in the file */
    unsigned width;     /* 4 or 8 */
    char what[96];      /* "key length", "ne[1]", ... */
    char object[96];    /* what an error about the field names: "header", "'general.name'",
                           "key/value 3", "tensor info 0", "tensor 'token_embd.weight'" */
};

struct gguf_build {
    uint8_t *data;
    size_t len, cap;
    uint32_t version;
    uint64_t n_tensors, n_kv;     /* as written so far; the header follows them */
    size_t n_tensors_at, n_kv_at; /* where the header counts are */
    struct gb_field *fields;
    size_t n_fields, cap_fields;
    char object[96];              /* the object fields written now belong to */
};

/* Starts a file: magic, version and the two header counts (kept up to date). */
void gb_init(struct gguf_build *b, uint32_t version);
void gb_release(struct gguf_build *b);

/* Raw little-endian pieces. gb_count writes a u64, or a u32 in version 1. */
void gb_bytes(struct gguf_build *b, const void *p, size_t n);
void gb_zeros(struct gguf_build *b, size_t n);
void gb_u8(struct gguf_build *b, uint8_t v);
void gb_u16(struct gguf_build *b, uint16_t v);
void gb_u32(struct gguf_build *b, uint32_t v);
void gb_u64(struct gguf_build *b, uint64_t v);
void gb_f32(struct gguf_build *b, float v);
void gb_f64(struct gguf_build *b, double v);
void gb_count(struct gguf_build *b, uint64_t v);
/* A string: its length (a recorded LENGTH field) and its bytes. */
void gb_string(struct gguf_build *b, const char *s);
void gb_string_n(struct gguf_build *b, const char *s, size_t len);

/* Starts a key/value: the key and the value type; the caller writes the value. */
void gb_kv(struct gguf_build *b, const char *key, uint32_t type);
/* An array header (element type + count), for a key/value or a nested element. */
void gb_array(struct gguf_build *b, uint32_t elem_type, uint64_t n);
/* Starts a key/value holding an array; the caller writes the n elements. */
void gb_kv_array(struct gguf_build *b, const char *key, uint32_t elem_type, uint64_t n);

/* Whole key/values. */
void gb_kv_u8(struct gguf_build *b, const char *key, uint8_t v);
void gb_kv_i8(struct gguf_build *b, const char *key, int8_t v);
void gb_kv_u16(struct gguf_build *b, const char *key, uint16_t v);
void gb_kv_i16(struct gguf_build *b, const char *key, int16_t v);
void gb_kv_u32(struct gguf_build *b, const char *key, uint32_t v);
void gb_kv_i32(struct gguf_build *b, const char *key, int32_t v);
void gb_kv_f32(struct gguf_build *b, const char *key, float v);
void gb_kv_bool(struct gguf_build *b, const char *key, int v);
void gb_kv_u64(struct gguf_build *b, const char *key, uint64_t v);
void gb_kv_i64(struct gguf_build *b, const char *key, int64_t v);
void gb_kv_f64(struct gguf_build *b, const char *key, double v);
void gb_kv_string(struct gguf_build *b, const char *key, const char *v);
void gb_kv_strings(struct gguf_build *b, const char *key, const char *const *v, size_t n);
void gb_kv_f32s(struct gguf_build *b, const char *key, const float *v, size_t n);
void gb_kv_i32s(struct gguf_build *b, const char *key, const int32_t *v, size_t n);
void gb_kv_u32s(struct gguf_build *b, const char *key, const uint32_t *v, size_t n);

/* A tensor info: name, n_dims, ne[] (innermost first, as GGUF stores it), the ggml
   type id and the offset within the data section. */
void gb_tensor(struct gguf_build *b, const char *name, uint32_t n_dims, const uint64_t *ne,
               uint32_t ggml_type, uint64_t offset);

/* Zero padding up to a multiple of alignment (the start of the data section). */
void gb_align(struct gguf_build *b, size_t alignment);

/* Overwrites width (4 or 8) bytes at offset with value, little-endian. */
void gb_patch(struct gguf_build *b, size_t offset, unsigned width, uint64_t value);

#endif
