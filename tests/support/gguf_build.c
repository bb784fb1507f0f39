/* The in-memory GGUF builder for tests (see gguf_build.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_build.h"

static void *must_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "gguf_build: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

static void set_object(struct gguf_build *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->object, sizeof b->object, fmt, ap);
    va_end(ap);
}

/* Records that the next width bytes are a field of the given kind. */
static void mark(struct gguf_build *b, enum gb_field_kind kind, unsigned width, const char *what)
{
    if (b->n_fields == b->cap_fields) {
        b->cap_fields = b->cap_fields ? 2 * b->cap_fields : 32;
        b->fields = must_realloc(b->fields, b->cap_fields * sizeof *b->fields);
    }
    struct gb_field *f = &b->fields[b->n_fields++];
    f->kind = kind;
    f->offset = b->len;
    f->width = width;
    snprintf(f->what, sizeof f->what, "%s", what);
    snprintf(f->object, sizeof f->object, "%s", b->object);
}

static unsigned count_width(const struct gguf_build *b)
{
    return b->version == 1 ? 4 : 8;
}

void gb_bytes(struct gguf_build *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? 2 * b->cap : 256;
        b->data = must_realloc(b->data, b->cap);
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void gb_zeros(struct gguf_build *b, size_t n)
{
    static const uint8_t zeros[64];
    while (n) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        gb_bytes(b, zeros, k);
        n -= k;
    }
}

void gb_patch(struct gguf_build *b, size_t offset, unsigned width, uint64_t value)
{
    for (unsigned i = 0; i < width && offset + i < b->len; i++)
        b->data[offset + i] = (uint8_t)(value >> (8 * i));
}

static void put_le(struct gguf_build *b, uint64_t v, unsigned width)
{
    uint8_t buf[8];
    for (unsigned i = 0; i < width; i++)
        buf[i] = (uint8_t)(v >> (8 * i));
    gb_bytes(b, buf, width);
}

void gb_u8(struct gguf_build *b, uint8_t v) { put_le(b, v, 1); }
void gb_u16(struct gguf_build *b, uint16_t v) { put_le(b, v, 2); }
void gb_u32(struct gguf_build *b, uint32_t v) { put_le(b, v, 4); }
void gb_u64(struct gguf_build *b, uint64_t v) { put_le(b, v, 8); }

void gb_f32(struct gguf_build *b, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    gb_u32(b, bits);
}

void gb_f64(struct gguf_build *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    gb_u64(b, bits);
}

void gb_count(struct gguf_build *b, uint64_t v)
{
    put_le(b, v, count_width(b));
}

void gb_string_n(struct gguf_build *b, const char *s, size_t len)
{
    mark(b, GB_FIELD_LENGTH, count_width(b), "string length");
    gb_count(b, len);
    gb_bytes(b, s, len);
}

void gb_string(struct gguf_build *b, const char *s)
{
    gb_string_n(b, s, strlen(s));
}

void gb_init(struct gguf_build *b, uint32_t version)
{
    memset(b, 0, sizeof *b);
    b->version = version;
    set_object(b, "header");
    gb_bytes(b, "GGUF", 4);
    mark(b, GB_FIELD_VERSION, 4, "version");
    gb_u32(b, version);
    b->n_tensors_at = b->len;
    mark(b, GB_FIELD_COUNT, count_width(b), "tensor count");
    gb_count(b, 0);
    b->n_kv_at = b->len;
    mark(b, GB_FIELD_COUNT, count_width(b), "key/value count");
    gb_count(b, 0);
}

void gb_release(struct gguf_build *b)
{
    free(b->data);
    free(b->fields);
    memset(b, 0, sizeof *b);
}

void gb_kv(struct gguf_build *b, const char *key, uint32_t type)
{
    set_object(b, "key/value %llu", (unsigned long long)b->n_kv);
    gb_string(b, key);
    set_object(b, "'%s'", key);
    mark(b, GB_FIELD_TYPE, 4, "value type");
    gb_u32(b, type);
    b->n_kv++;
    gb_patch(b, b->n_kv_at, count_width(b), b->n_kv);
}

void gb_array(struct gguf_build *b, uint32_t elem_type, uint64_t n)
{
    mark(b, GB_FIELD_TYPE, 4, "array element type");
    gb_u32(b, elem_type);
    mark(b, GB_FIELD_COUNT, count_width(b), "array length");
    gb_count(b, n);
}

void gb_kv_array(struct gguf_build *b, const char *key, uint32_t elem_type, uint64_t n)
{
    gb_kv(b, key, GB_ARRAY);
    gb_array(b, elem_type, n);
}

void gb_kv_u8(struct gguf_build *b, const char *key, uint8_t v) { gb_kv(b, key, GB_U8); gb_u8(b, v); }
void gb_kv_i8(struct gguf_build *b, const char *key, int8_t v) { gb_kv(b, key, GB_I8); gb_u8(b, (uint8_t)v); }
void gb_kv_u16(struct gguf_build *b, const char *key, uint16_t v) { gb_kv(b, key, GB_U16); gb_u16(b, v); }
void gb_kv_i16(struct gguf_build *b, const char *key, int16_t v) { gb_kv(b, key, GB_I16); gb_u16(b, (uint16_t)v); }
void gb_kv_u32(struct gguf_build *b, const char *key, uint32_t v) { gb_kv(b, key, GB_U32); gb_u32(b, v); }
void gb_kv_i32(struct gguf_build *b, const char *key, int32_t v) { gb_kv(b, key, GB_I32); gb_u32(b, (uint32_t)v); }
void gb_kv_f32(struct gguf_build *b, const char *key, float v) { gb_kv(b, key, GB_F32); gb_f32(b, v); }
void gb_kv_bool(struct gguf_build *b, const char *key, int v) { gb_kv(b, key, GB_BOOL); gb_u8(b, (uint8_t)v); }
void gb_kv_u64(struct gguf_build *b, const char *key, uint64_t v) { gb_kv(b, key, GB_U64); gb_u64(b, v); }
void gb_kv_i64(struct gguf_build *b, const char *key, int64_t v) { gb_kv(b, key, GB_I64); gb_u64(b, (uint64_t)v); }
void gb_kv_f64(struct gguf_build *b, const char *key, double v) { gb_kv(b, key, GB_F64); gb_f64(b, v); }

void gb_kv_string(struct gguf_build *b, const char *key, const char *v)
{
    gb_kv(b, key, GB_STRING);
    gb_string(b, v);
}

void gb_kv_strings(struct gguf_build *b, const char *key, const char *const *v, size_t n)
{
    gb_kv_array(b, key, GB_STRING, n);
    for (size_t i = 0; i < n; i++)
        gb_string(b, v[i]);
}

void gb_kv_f32s(struct gguf_build *b, const char *key, const float *v, size_t n)
{
    gb_kv_array(b, key, GB_F32, n);
    for (size_t i = 0; i < n; i++)
        gb_f32(b, v[i]);
}

void gb_kv_i32s(struct gguf_build *b, const char *key, const int32_t *v, size_t n)
{
    gb_kv_array(b, key, GB_I32, n);
    for (size_t i = 0; i < n; i++)
        gb_u32(b, (uint32_t)v[i]);
}

void gb_kv_u32s(struct gguf_build *b, const char *key, const uint32_t *v, size_t n)
{
    gb_kv_array(b, key, GB_U32, n);
    for (size_t i = 0; i < n; i++)
        gb_u32(b, v[i]);
}

void gb_tensor(struct gguf_build *b, const char *name, uint32_t n_dims, const uint64_t *ne,
               uint32_t ggml_type, uint64_t offset)
{
    set_object(b, "tensor info %llu", (unsigned long long)b->n_tensors);
    gb_string(b, name);
    set_object(b, "tensor '%s'", name);
    mark(b, GB_FIELD_COUNT, 4, "n_dims");
    gb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++) {
        char what[16];
        snprintf(what, sizeof what, "ne[%u]", j);
        mark(b, GB_FIELD_DIM, count_width(b), what);
        gb_count(b, ne[j]);
    }
    mark(b, GB_FIELD_TYPE, 4, "tensor type");
    gb_u32(b, ggml_type);
    mark(b, GB_FIELD_OFFSET, 8, "data offset");
    gb_u64(b, offset);
    b->n_tensors++;
    gb_patch(b, b->n_tensors_at, count_width(b), b->n_tensors);
}

void gb_align(struct gguf_build *b, size_t alignment)
{
    size_t pad = (alignment - b->len % alignment) % alignment;
    gb_zeros(b, pad);
}
