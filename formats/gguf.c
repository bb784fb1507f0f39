/*
 * GGUF, the file format of ggml and llama.cpp. The byte layout read here, every
 * number little-endian (a byte-swapped big-endian file is recognised and refused):
 *
 *   1. magic "GGUF" (4 bytes)
 *   2. version (u32): 1, 2 or 3. Version 1 stores every count and length below as
 *      a u32 instead of a u64 ("count" below means u64, or u32 in version 1).
 *   3. number of tensors (count)
 *   4. number of key/value pairs (count)
 *   5. for each key/value pair:
 *      1. the key: a string = length (count) + that many bytes, no terminator
 *      2. the value type (u32): 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32,
 *         7 bool (one byte, 0 or 1), 8 string, 9 array, 10 u64, 11 i64, 12 f64
 *      3. the value: a scalar of its size, a string, or an array =
 *         element type (u32) + element count (count) + the elements (arrays of
 *         arrays nest, each element carrying its own type and count)
 *   6. for each tensor:
 *      1. the name (string)
 *      2. n_dims (u32, at most 4)
 *      3. ne[n_dims] (count each): dimensions, innermost first
 *      4. the ggml type id (u32)
 *      5. the data offset (u64), relative to the data section, a multiple of the
 *         alignment
 *   7. zero padding up to a multiple of the alignment: `general.alignment` (u32,
 *      a power of two; 32 when absent)
 *   8. the data section: each tensor's bytes at its offset, padded to the alignment
 *
 * The reader works on the bytes of a blob through the bounds-checked cursor and
 * reads headers only: tensors, strings and numeric arrays point into the blob
 * (which the model keeps alive); tensor data bytes are never touched. The
 * vocabulary comes from the tokenizer.ggml.* keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "convert.h"
#include "vocab_export.h"

/* ---- format constants (shared by the reader and, later, the writer) ------------- */

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION_MIN 1
#define GGUF_VERSION_MAX 3
#define GGUF_DEFAULT_ALIGNMENT 32

/* Smallest encodings, used to check counts against the bytes that remain: a
   key/value is at least an empty key, a type and a one-byte value; a tensor info at
   least an empty name, n_dims, a type and an offset. */
#define GGUF_COUNT_BYTES(version) ((version) == 1 ? 4u : 8u)
#define GGUF_MIN_KV_BYTES(version) (GGUF_COUNT_BYTES(version) + 4u + 1u)
#define GGUF_MIN_TENSOR_INFO_BYTES(version) (GGUF_COUNT_BYTES(version) + 4u + 4u + 8u)

#define GGUF_KEY_ALIGNMENT "general.alignment"
#define GGUF_KEY_ARCHITECTURE "general.architecture"
#define GGUF_KEY_TOKENIZER_MODEL "tokenizer.ggml.model"
#define GGUF_KEY_TOKENIZER_PRE "tokenizer.ggml.pre"
#define GGUF_KEY_TOKENS "tokenizer.ggml.tokens"
#define GGUF_KEY_SCORES "tokenizer.ggml.scores"
#define GGUF_KEY_TOKEN_TYPE "tokenizer.ggml.token_type"
#define GGUF_KEY_MERGES "tokenizer.ggml.merges"
#define GGUF_KEY_ADD_BOS "tokenizer.ggml.add_bos_token"
#define GGUF_KEY_ADD_EOS "tokenizer.ggml.add_eos_token"
#define GGUF_KEY_ADD_SPACE_PREFIX "tokenizer.ggml.add_space_prefix"
#define GGUF_KEY_HF_JSON "tokenizer.huggingface.json"

/* Special token ids. llama.cpp writes "seperator" (sic); the correct spelling is
   accepted too. */
static const struct {
    const char *key;
    enum tv_special special;
} gguf_special_keys[] = {
    {"tokenizer.ggml.bos_token_id", TV_SPECIAL_BOS},
    {"tokenizer.ggml.eos_token_id", TV_SPECIAL_EOS},
    {"tokenizer.ggml.unknown_token_id", TV_SPECIAL_UNK},
    {"tokenizer.ggml.padding_token_id", TV_SPECIAL_PAD},
    {"tokenizer.ggml.seperator_token_id", TV_SPECIAL_SEP},
    {"tokenizer.ggml.separator_token_id", TV_SPECIAL_SEP},
    {"tokenizer.ggml.cls_token_id", TV_SPECIAL_CLS},
    {"tokenizer.ggml.mask_token_id", TV_SPECIAL_MASK},
};

/* tokenizer.ggml.model values and what they mean in the common model. */
static const struct {
    const char *ggml_model;
    enum tv_tokenizer_kind kind;
    bool byte_level;     /* GPT-2 style bytes-to-unicode alphabet */
    bool byte_fallback;  /* SentencePiece <0xNN> tokens; scores are merge priorities */
} gguf_tokenizer_models[] = {
    {"gpt2", TV_TOKENIZER_BPE, true, false},
    {"llama", TV_TOKENIZER_BPE, false, true},
    {"bert", TV_TOKENIZER_WORDPIECE, false, false},
    {"t5", TV_TOKENIZER_UNIGRAM, false, false},
};

/* Gaps and overlaps between tensors, and over-long names, are reported one by one up to
   this many per check, then counted. */
#define GGUF_MAX_FINDINGS 16

/* ---- the reader ----------------------------------------------------------------- */

struct gguf_reader {
    struct tv_cursor cur;
    tv_model *m;
    tv_blob *blob;
    const char *file;
    tv_error *err;
    uint32_t version;
    uint64_t alignment;
    size_t meta_begin;        /* this file's key/values are m->meta[meta_begin..] */
    struct tv_strmap keys;    /* key bytes (in the blob) -> index into m->meta */
    char where[400];          /* "file: object", the prefix of every message */
};

/* A tensor info as read, before its range is checked against the file. */
struct gguf_tensor_info {
    const char *name;         /* in the blob */
    size_t name_len;
    uint32_t n_dims;
    uint64_t shape[TV_GGUF_MAX_DIMS]; /* row-major: ne[] reversed */
    enum tv_dtype dtype;
    uint64_t offset;          /* relative to the data section */
    uint64_t n_bytes;
};

/* Names the object being read in every later message ("x.gguf: tensor 'a.weight'"). */
static void set_where(struct gguf_reader *r, const char *fmt, ...) TV_PRINTF(2, 3);
static void set_where(struct gguf_reader *r, const char *fmt, ...)
{
    int n = snprintf(r->where, sizeof r->where, "%s: ", r->file);
    if (n < 0 || (size_t)n >= sizeof r->where)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->where + n, sizeof r->where - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Names a key for messages: at most 120 bytes of it. */
#define KEY_FMT "'%.*s'"
#define KEY_ARG(ptr, len) (int)((len) > 120 ? 120 : (len)), (ptr)

/* Adds " (detail)" to the end of err's message. */
static void append_error(tv_error *err, const char *fmt, ...) TV_PRINTF(2, 3);
static void append_error(tv_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    size_t used = strnlen(err->message, sizeof err->message);
    if (used + 1 >= sizeof err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    va_end(ap);
}

static int read_u32(struct gguf_reader *r, uint32_t *out, const char *what)
{
    return tv_cursor_u32(&r->cur, out, what);
}

/* A count or a length: u64, or u32 in version 1. */
static int read_count(struct gguf_reader *r, uint64_t *out, const char *what)
{
    if (r->version == 1) {
        uint32_t v;
        if (tv_cursor_u32(&r->cur, &v, what) < 0)
            return -1;
        *out = v;
        return 0;
    }
    return tv_cursor_u64(&r->cur, out, what);
}

/* A string: its length, then its bytes, which stay in the blob. */
static int read_string(struct gguf_reader *r, struct tv_str *out, const char *what)
{
    uint64_t len;
    if (read_count(r, &len, what) < 0)
        return -1;
    const uint8_t *p = tv_cursor_bytes(&r->cur, len, what);
    if (!p)
        return -1;
    out->ptr = (const char *)p;
    out->len = len;
    return 0;
}

static bool value_type_valid(uint32_t type)
{
    return type < TV_VALUE_TYPE_COUNT;
}

static int read_scalar(struct gguf_reader *r, enum tv_value_type type, struct tv_value *out)
{
    size_t size = tv_value_type_size(type);
    const uint8_t *p = tv_cursor_bytes(&r->cur, size, "the value");
    if (!p)
        return -1;
    out->type = type;
    switch (type) {
    case TV_VALUE_U8: out->as.u = p[0]; break;
    case TV_VALUE_I8: out->as.i = (int8_t)p[0]; break;
    case TV_VALUE_U16: out->as.u = tv_le16(p); break;
    case TV_VALUE_I16: out->as.i = (int16_t)tv_le16(p); break;
    case TV_VALUE_U32: out->as.u = tv_le32(p); break;
    case TV_VALUE_I32: out->as.i = (int32_t)tv_le32(p); break;
    case TV_VALUE_U64: out->as.u = tv_le64(p); break;
    case TV_VALUE_I64: out->as.i = (int64_t)tv_le64(p); break;
    case TV_VALUE_F32: {
        uint32_t bits = tv_le32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        out->as.f = f;
        break;
    }
    case TV_VALUE_F64: {
        uint64_t bits = tv_le64(p);
        memcpy(&out->as.f, &bits, sizeof out->as.f);
        break;
    }
    case TV_VALUE_BOOL:
        if (p[0] > 1)
            return tv_error_set(r->err, TV_ERR_DATA, "%s: bool value %u at offset %zu (must be 0 or 1)",
                                r->where, p[0], r->cur.pos - 1);
        out->as.u = p[0];
        break;
    default:
        return tv_error_set(r->err, TV_ERR_DATA, "%s: type %d is not a scalar", r->where, type);
    }
    return 0;
}

static int read_value(struct gguf_reader *r, enum tv_value_type type, int depth,
                      struct tv_value *out);

/*
 * Reads an array's element type, count and elements. Every count is checked against
 * the bytes that remain before anything is allocated: n fixed-size elements need
 * n * size bytes, n strings at least n lengths, n arrays at least n type + count.
 */
static int read_array(struct gguf_reader *r, int depth, struct tv_value *out)
{
    uint32_t elem_type;
    uint64_t n;
    if (depth > TV_GGUF_MAX_ARRAY_DEPTH)
        return tv_error_set(r->err, TV_ERR_LIMIT,
                            "%s: arrays nested more than %d deep at offset %zu", r->where,
                            TV_GGUF_MAX_ARRAY_DEPTH, r->cur.pos);
    if (read_u32(r, &elem_type, "the array element type") < 0)
        return -1;
    if (!value_type_valid(elem_type))
        return tv_error_set(r->err, TV_ERR_DATA,
                            "%s: array element type %u at offset %zu is not a GGUF type (0..%d)",
                            r->where, elem_type, r->cur.pos - 4, TV_VALUE_TYPE_COUNT - 1);
    if (read_count(r, &n, "the array length") < 0)
        return -1;

    uint64_t min_elem = tv_value_type_size(elem_type);
    if (elem_type == TV_VALUE_STRING)
        min_elem = GGUF_COUNT_BYTES(r->version);
    else if (elem_type == TV_VALUE_ARRAY)
        min_elem = 4 + GGUF_COUNT_BYTES(r->version);
    uint64_t min_bytes;
    if (!tv_mul_u64_fits(n, min_elem, &min_bytes) || min_bytes > tv_cursor_remaining(&r->cur))
        return tv_error_set(r->err, TV_ERR_DATA,
                            "%s: array of %llu %s elements at offset %zu needs at least %llu x %llu "
                            "bytes but only %zu remain",
                            r->where, (unsigned long long)n, tv_value_type_name(elem_type),
                            r->cur.pos, (unsigned long long)n, (unsigned long long)min_elem,
                            tv_cursor_remaining(&r->cur));

    out->type = TV_VALUE_ARRAY;
    out->as.arr.elem_type = elem_type;
    out->as.arr.n = n;
    out->as.arr.data = NULL;
    if (elem_type == TV_VALUE_STRING) {
        struct tv_str *strs = n ? tv_arena_alloc(&r->m->arena, (size_t)n * sizeof *strs) : NULL;
        if (n && !strs)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory for %llu strings",
                                r->where, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++)
            if (read_string(r, &strs[i], "an array string") < 0) {
                append_error(r->err, " (element %llu of %llu)", (unsigned long long)i,
                             (unsigned long long)n);
                return -1;
            }
        out->as.arr.data = strs;
    } else if (elem_type == TV_VALUE_ARRAY) {
        struct tv_value *items = n ? tv_arena_alloc(&r->m->arena, (size_t)n * sizeof *items) : NULL;
        if (n && !items)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory for %llu arrays",
                                r->where, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++)
            if (read_value(r, TV_VALUE_ARRAY, depth + 1, &items[i]) < 0) {
                append_error(r->err, " (element %llu of %llu)", (unsigned long long)i,
                             (unsigned long long)n);
                return -1;
            }
        out->as.arr.data = items;
    } else {
        const uint8_t *p = tv_cursor_bytes(&r->cur, min_bytes, "the array elements");
        if (!p)
            return -1;
        if (elem_type == TV_VALUE_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (p[i] > 1)
                    return tv_error_set(r->err, TV_ERR_DATA,
                                        "%s: bool element %llu is %u (must be 0 or 1)", r->where,
                                        (unsigned long long)i, p[i]);
        out->as.arr.data = p;
    }
    return 0;
}

static int read_value(struct gguf_reader *r, enum tv_value_type type, int depth,
                      struct tv_value *out)
{
    if (type == TV_VALUE_ARRAY)
        return read_array(r, depth, out);
    if (type == TV_VALUE_STRING) {
        out->type = TV_VALUE_STRING;
        return read_string(r, &out->as.str, "a string value");
    }
    return read_scalar(r, type, out);
}

static int read_header(struct gguf_reader *r, uint64_t *n_tensors, uint64_t *n_kv)
{
    set_where(r, "header");
    const uint8_t *magic = tv_cursor_bytes(&r->cur, 4, "the magic");
    if (!magic)
        return -1;
    if (memcmp(magic, GGUF_MAGIC, 4) != 0 && memcmp(magic, "FUGG", 4) != 0)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: magic %02x %02x %02x %02x is not \"GGUF\"",
                            r->where, magic[0], magic[1], magic[2], magic[3]);
    uint32_t version;
    if (read_u32(r, &version, "the version") < 0)
        return -1;
    /* A version this large with zero low bytes is a small version byte-swapped:
       the file was written big-endian (ggml's own heuristic). */
    if (version != 0 && (version & 0xFFFFu) == 0)
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED,
                            "%s: version field reads %u (0x%08x): this is a big-endian GGUF file "
                            "(version %u byte-swapped); tokvec reads little-endian GGUF only",
                            r->where, version, version, __builtin_bswap32(version));
    if (memcmp(magic, "FUGG", 4) == 0)
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED,
                            "%s: magic reads \"FUGG\": a big-endian GGUF file; tokvec reads "
                            "little-endian GGUF only", r->where);
    if (version < GGUF_VERSION_MIN || version > GGUF_VERSION_MAX)
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED,
                            "%s: unsupported GGUF version %u (tokvec reads versions %d to %d)",
                            r->where, version, GGUF_VERSION_MIN, GGUF_VERSION_MAX);
    r->version = version;
    if (read_count(r, n_tensors, "the tensor count") < 0 ||
        read_count(r, n_kv, "the key/value count") < 0)
        return -1;

    if (*n_tensors > r->m->opt.max_tensors)
        return tv_error_set(r->err, TV_ERR_LIMIT,
                            "%s: %llu tensors (more than %llu; raise the limit with --max-tensors)",
                            r->where, (unsigned long long)*n_tensors,
                            (unsigned long long)r->m->opt.max_tensors);
    uint64_t kv_bytes, info_bytes, total;
    if (!tv_mul_u64_fits(*n_kv, GGUF_MIN_KV_BYTES(version), &kv_bytes) ||
        !tv_mul_u64_fits(*n_tensors, GGUF_MIN_TENSOR_INFO_BYTES(version), &info_bytes) ||
        !tv_add_u64_fits(kv_bytes, info_bytes, &total) || total > tv_cursor_remaining(&r->cur))
        return tv_error_set(r->err, TV_ERR_DATA,
                            "%s: %llu key/values and %llu tensors cannot fit in the %zu bytes that "
                            "follow the header",
                            r->where, (unsigned long long)*n_kv, (unsigned long long)*n_tensors,
                            tv_cursor_remaining(&r->cur));
    return 0;
}

static int read_metadata(struct gguf_reader *r, uint64_t n_kv)
{
    for (uint64_t i = 0; i < n_kv; i++) {
        set_where(r, "key/value %llu of %llu", (unsigned long long)i, (unsigned long long)n_kv);
        struct tv_str key;
        if (read_string(r, &key, "the key") < 0)
            return -1;
        set_where(r, "key " KEY_FMT, KEY_ARG(key.ptr, key.len));
        /* Keys are looked up as C strings: "a\0b" would shadow or duplicate "a". */
        const char *nul = memchr(key.ptr, '\0', (size_t)key.len);
        if (nul)
            return tv_error_set(r->err, TV_ERR_DATA, "%s: holds a NUL byte at byte %zu of %llu",
                                r->where, (size_t)(nul - key.ptr), (unsigned long long)key.len);
        uint64_t existing;
        int put = tv_strmap_put(&r->keys, key.ptr, (size_t)key.len, r->m->n_meta, &existing);
        if (put < 0)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory", r->where);
        if (put == 0)
            return tv_error_set(r->err, TV_ERR_DATA,
                                "%s: appears twice (key/values %llu and %llu)", r->where,
                                (unsigned long long)(existing - r->meta_begin),
                                (unsigned long long)i);
        uint32_t type;
        if (read_u32(r, &type, "the value type") < 0)
            return -1;
        if (!value_type_valid(type))
            return tv_error_set(r->err, TV_ERR_DATA,
                                "%s: value type %u at offset %zu is not a GGUF type (0..%d)",
                                r->where, type, r->cur.pos - 4, TV_VALUE_TYPE_COUNT - 1);
        struct tv_value value = {0};
        if (read_value(r, type, 1, &value) < 0)
            return -1;
        if (tv_model_add_meta(r->m, key.ptr, (size_t)key.len, &value, TV_ORIGIN_GGUF, r->file,
                              r->err) < 0)
            return -1;
    }
    return 0;
}

/* This file's value for key, or NULL. */
static const struct tv_meta *find_kv(const struct gguf_reader *r, const char *key)
{
    uint64_t index;
    if (!tv_strmap_get(&r->keys, key, strlen(key), &index))
        return NULL;
    return &r->m->meta[index];
}

/* "array of u32", "string", ... for messages. */
static const char *describe_type(const struct tv_value *v, char *buf, size_t size)
{
    if (v->type == TV_VALUE_ARRAY)
        snprintf(buf, size, "array of %s", tv_value_type_name(v->as.arr.elem_type));
    else
        snprintf(buf, size, "%s", tv_value_type_name(v->type));
    return buf;
}

/* The array under key, which must hold elem_type elements; NULL when absent
   (*failed stays 0) or of another type (*failed = 1, err set). */
static const struct tv_array *find_array(struct gguf_reader *r, const char *key,
                                         enum tv_value_type elem_type, int *failed)
{
    const struct tv_meta *kv = find_kv(r, key);
    if (!kv)
        return NULL;
    if (kv->value.type != TV_VALUE_ARRAY || kv->value.as.arr.elem_type != elem_type) {
        char got[48];
        tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %s; expected array of %s", r->file,
                     key, describe_type(&kv->value, got, sizeof got),
                     tv_value_type_name(elem_type));
        *failed = 1;
        return NULL;
    }
    return &kv->value.as.arr;
}

/* The string under key: 1 found, 0 absent, -1 another type (err set). */
static int find_string(struct gguf_reader *r, const char *key, struct tv_str *out)
{
    const struct tv_meta *kv = find_kv(r, key);
    if (!kv)
        return 0;
    if (kv->value.type != TV_VALUE_STRING) {
        char got[48];
        return tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %s; expected string", r->file,
                            key, describe_type(&kv->value, got, sizeof got));
    }
    *out = kv->value.as.str;
    return 1;
}

/* The integer under key (any integer type; bool too when allow_bool): 1 found,
   0 absent, -1 another type (err set). */
static int find_int(struct gguf_reader *r, const char *key, bool allow_bool, int64_t *out)
{
    const struct tv_meta *kv = find_kv(r, key);
    if (!kv)
        return 0;
    switch (kv->value.type) {
    case TV_VALUE_U8: case TV_VALUE_I8: case TV_VALUE_U16: case TV_VALUE_I16:
    case TV_VALUE_U32: case TV_VALUE_I32: case TV_VALUE_I64:
        return tv_value_int(&kv->value, out) == 0 ? 1 : -1;
    case TV_VALUE_U64:
        if (kv->value.as.u > INT64_MAX)
            return tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %llu, too large", r->file,
                                key, (unsigned long long)kv->value.as.u);
        *out = (int64_t)kv->value.as.u;
        return 1;
    case TV_VALUE_BOOL:
        if (allow_bool) {
            *out = (int64_t)kv->value.as.u;
            return 1;
        }
        break;
    default:
        break;
    }
    char got[48];
    return tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %s; expected %s", r->file, key,
                        describe_type(&kv->value, got, sizeof got),
                        allow_bool ? "bool" : "an integer");
}

/* A special token id: 1 found, 0 absent or "none", -1 not an integer (err set).
   llama.cpp reads ids as u32 and casts them to int32, so 0xFFFFFFFF (and -1) mean
   "no such token" (LLAMA_TOKEN_NULL), as stories260K.gguf writes for padding. */
static int find_special_id(struct gguf_reader *r, const char *key, int64_t *id)
{
    int found = find_int(r, key, false, id);
    if (found == 1 && (*id == -1 || *id == (int64_t)UINT32_MAX))
        return 0;
    return found;
}

static int read_alignment(struct gguf_reader *r)
{
    r->alignment = GGUF_DEFAULT_ALIGNMENT;
    const struct tv_meta *kv = find_kv(r, GGUF_KEY_ALIGNMENT);
    if (!kv)
        return 0;
    if (kv->value.type != TV_VALUE_U32) {
        char got[48];
        return tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %s; expected u32", r->file,
                            GGUF_KEY_ALIGNMENT, describe_type(&kv->value, got, sizeof got));
    }
    uint64_t a = kv->value.as.u;
    if (a == 0 || (a & (a - 1)) != 0)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: key '%s' is %llu: not a power of two",
                            r->file, GGUF_KEY_ALIGNMENT, (unsigned long long)a);
    r->alignment = a;
    return 0;
}

static int read_tensor_info(struct gguf_reader *r, uint64_t index, uint64_t n_tensors,
                            struct gguf_tensor_info *t)
{
    set_where(r, "tensor info %llu of %llu", (unsigned long long)index,
              (unsigned long long)n_tensors);
    struct tv_str name;
    if (read_string(r, &name, "the tensor name") < 0)
        return -1;
    if (name.len > TV_MAX_NAME)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: name of %llu bytes (at most %d)", r->where,
                            (unsigned long long)name.len, TV_MAX_NAME);
    t->name = name.ptr;
    t->name_len = (size_t)name.len;
    set_where(r, "tensor '%.*s'", KEY_ARG(name.ptr, name.len));
    /* ggml names are C strings; a NUL would make two names print and look up alike. */
    const char *nul = memchr(name.ptr, '\0', (size_t)name.len);
    if (nul)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: the name holds a NUL byte at byte %zu of %llu",
                            r->where, (size_t)(nul - name.ptr), (unsigned long long)name.len);

    if (read_u32(r, &t->n_dims, "n_dims") < 0)
        return -1;
    if (t->n_dims > TV_GGUF_MAX_DIMS)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: %u dimensions (GGUF allows at most %d)",
                            r->where, t->n_dims, TV_GGUF_MAX_DIMS);
    uint64_t ne[TV_GGUF_MAX_DIMS] = {1, 1, 1, 1};
    uint64_t n_elements = 1;
    for (uint32_t j = 0; j < t->n_dims; j++) {
        if (read_count(r, &ne[j], "a dimension") < 0)
            return -1;
        /* ggml stores ne as int64_t and refuses negative values; 0 is allowed. */
        if (ne[j] > INT64_MAX)
            return tv_error_set(r->err, TV_ERR_DATA, "%s: ne[%u] is %llu (more than 2^63-1)",
                                r->where, j, (unsigned long long)ne[j]);
        if (!tv_mul_u64_fits(n_elements, ne[j], &n_elements) || n_elements > INT64_MAX)
            return tv_error_set(r->err, TV_ERR_DATA,
                                "%s: element count overflows at ne[%u] = %llu", r->where, j,
                                (unsigned long long)ne[j]);
    }
    for (uint32_t j = 0; j < t->n_dims; j++)
        t->shape[j] = ne[t->n_dims - 1 - j];

    uint32_t ggml_type;
    if (read_u32(r, &ggml_type, "the tensor type") < 0)
        return -1;
    if (tv_dtype_from_ggml(ggml_type, &t->dtype, r->err) < 0) {
        tv_error_prefix(r->err, "%s", r->where);
        return -1;
    }
    const struct tv_dtype_info *info = tv_dtype_info(t->dtype);
    if (ne[0] % info->block_size != 0)
        return tv_error_set(r->err, TV_ERR_DATA,
                            "%s: rows of %llu elements are not a multiple of %s's block size %u",
                            r->where, (unsigned long long)ne[0], info->name, info->block_size);
    uint64_t check_elements;
    if (tv_tensor_size(t->dtype, t->n_dims, t->shape, &check_elements, &t->n_bytes, r->err) < 0) {
        tv_error_prefix(r->err, "%s", r->where);
        return -1;
    }
    if (tv_cursor_u64(&r->cur, &t->offset, "the data offset") < 0)
        return -1;
    return 0;
}

static int cmp_by_offset(const void *pa, const void *pb)
{
    const struct gguf_tensor_info *a = *(const struct gguf_tensor_info *const *)pa;
    const struct gguf_tensor_info *b = *(const struct gguf_tensor_info *const *)pb;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a < b ? -1 : a > b;
}

static uint64_t align_up(uint64_t x, uint64_t alignment)
{
    return (x + alignment - 1) & ~(alignment - 1);
}

/*
 * Tensors are meant to follow each other in the data section, each padded to the
 * alignment (ggml's reader insists). Gaps and overlaps do not stop the data from
 * reading, so they become findings for verify rather than errors.
 */
static int check_offsets(struct gguf_reader *r, struct gguf_tensor_info *infos, size_t n)
{
    int rc = -1;
    struct gguf_tensor_info **sorted = n ? tv_malloc(n * sizeof *sorted) : NULL;
    if (n && !sorted)
        return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory sorting %zu tensors",
                            r->file, n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &infos[i];
    if (n > 1)
        qsort(sorted, n, sizeof *sorted, cmp_by_offset);
    uint64_t end = 0;                 /* end of the furthest tensor so far */
    const struct gguf_tensor_info *prev = NULL;
    size_t n_found = 0;
    for (size_t i = 0; i < n; i++) {
        const struct gguf_tensor_info *t = sorted[i];
        uint64_t expected = align_up(end, r->alignment);
        const char *problem = NULL;
        if (prev && t->offset < end)
            problem = "overlap";
        else if (t->offset > expected)
            problem = "gap";
        if (problem && ++n_found <= GGUF_MAX_FINDINGS) {
            int added;
            if (problem[0] == 'o')
                added = tv_model_add_finding(
                    r->m, "structure.gguf_offsets", TV_SEVERITY_WARN, r->err,
                    "%s: tensor '%.*s' (data offset %llu, %llu bytes) overlaps tensor '%.*s' "
                    "which ends at %llu", r->file, KEY_ARG(t->name, t->name_len),
                    (unsigned long long)t->offset, (unsigned long long)t->n_bytes,
                    KEY_ARG(prev->name, prev->name_len), (unsigned long long)end);
            else
                added = tv_model_add_finding(
                    r->m, "structure.gguf_offsets", TV_SEVERITY_WARN, r->err,
                    "%s: gap of %llu bytes before tensor '%.*s' (data offset %llu; expected %llu)",
                    r->file, (unsigned long long)(t->offset - expected),
                    KEY_ARG(t->name, t->name_len), (unsigned long long)t->offset,
                    (unsigned long long)expected);
            if (added < 0)
                goto out;
        }
        uint64_t t_end = t->offset + t->n_bytes; /* checked against the file already */
        if (t_end >= end) {
            end = t_end;
            prev = t;
        }
    }
    if (n_found > GGUF_MAX_FINDINGS &&
        tv_model_add_finding(r->m, "structure.gguf_offsets", TV_SEVERITY_WARN, r->err,
                             "%s: %zu more gaps or overlaps between tensors", r->file,
                             n_found - GGUF_MAX_FINDINGS) < 0)
        goto out;
    rc = 0;
out:
    tv_free(sorted);
    return rc;
}

/* Checks each tensor's range against the file and adds the tensors to the model. */
static int place_tensors(struct gguf_reader *r, struct gguf_tensor_info *infos, size_t n)
{
    uint64_t data_start = align_up(r->cur.pos, r->alignment);
    uint64_t file_len = r->blob->len;
    for (size_t i = 0; i < n; i++) {
        const struct gguf_tensor_info *t = &infos[i];
        set_where(r, "tensor '%.*s'", KEY_ARG(t->name, t->name_len));
        if (t->offset % r->alignment != 0)
            return tv_error_set(r->err, TV_ERR_DATA,
                                "%s: data offset %llu is not a multiple of the alignment %llu",
                                r->where, (unsigned long long)t->offset,
                                (unsigned long long)r->alignment);
        uint64_t start, end;
        if (!tv_add_u64_fits(data_start, t->offset, &start) ||
            !tv_add_u64_fits(start, t->n_bytes, &end) || end > file_len)
            return tv_error_set(r->err, TV_ERR_DATA,
                                "%s: offset %llu + %llu bytes runs past the end of the file "
                                "(%llu bytes; the data section starts at %llu)",
                                r->where, (unsigned long long)t->offset,
                                (unsigned long long)t->n_bytes, (unsigned long long)file_len,
                                (unsigned long long)data_start);
    }
    if (check_offsets(r, infos, n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct gguf_tensor_info *t = &infos[i];
        uint64_t start = data_start + t->offset;
        if (tv_model_add_tensor(r->m, t->name, t->name_len, t->dtype, t->n_dims, t->shape,
                                r->file, start, r->blob->data + start, r->err) < 0)
            return -1;
    }
    return 0;
}

static int read_tensors(struct gguf_reader *r, uint64_t n_tensors)
{
    int rc = -1;
    struct gguf_tensor_info *infos = NULL;
    size_t n = 0, cap = 0, n_long = 0;
    /* Grown as infos are read, so a lying count allocates nothing. */
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (tv_grow((void **)&infos, &cap, n + 1, sizeof *infos, r->err) < 0) {
            tv_error_prefix(r->err, "%s", r->file);
            goto out;
        }
        if (read_tensor_info(r, i, n_tensors, &infos[n]) < 0)
            goto out;
        if (infos[n].name_len > TV_GGUF_MAX_NAME_BYTES && ++n_long <= GGUF_MAX_FINDINGS &&
            tv_model_add_finding(r->m, "structure.gguf_names", TV_SEVERITY_WARN, r->err,
                                 "%s: tensor %llu '%.*s' has a name of %zu bytes; ggml and "
                                 "llama.cpp allow at most %d",
                                 r->file, (unsigned long long)i,
                                 KEY_ARG(infos[n].name, infos[n].name_len), infos[n].name_len,
                                 TV_GGUF_MAX_NAME_BYTES) < 0)
            goto out;
        n++;
    }
    if (n_long > GGUF_MAX_FINDINGS &&
        tv_model_add_finding(r->m, "structure.gguf_names", TV_SEVERITY_WARN, r->err,
                             "%s: %zu more tensor names longer than %d bytes", r->file,
                             n_long - GGUF_MAX_FINDINGS, TV_GGUF_MAX_NAME_BYTES) < 0)
        goto out;
    rc = place_tensors(r, infos, n);
out:
    tv_free(infos);
    return rc;
}

/* Splits a GGUF merge "left right" at the first space that has bytes on both sides. */
static bool split_merge(const struct tv_str *s, size_t *space)
{
    for (size_t i = 1; i + 1 < s->len; i++)
        if (s->ptr[i] == ' ') {
            *space = i;
            return true;
        }
    return false;
}

static int read_vocab(struct gguf_reader *r)
{
    int failed = 0;
    const struct tv_array *tokens = find_array(r, GGUF_KEY_TOKENS, TV_VALUE_STRING, &failed);
    if (!tokens)
        return failed ? -1 : 0;
    const struct tv_array *scores = find_array(r, GGUF_KEY_SCORES, TV_VALUE_F32, &failed);
    if (failed)
        return -1;
    const struct tv_array *types = find_array(r, GGUF_KEY_TOKEN_TYPE, TV_VALUE_I32, &failed);
    if (failed)
        return -1;
    const struct tv_array *merges = find_array(r, GGUF_KEY_MERGES, TV_VALUE_STRING, &failed);
    if (failed)
        return -1;
    if (tokens->n > TV_MAX_TOKENS)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: key '%s' holds %llu tokens (at most %u)",
                            r->file, GGUF_KEY_TOKENS, (unsigned long long)tokens->n,
                            TV_MAX_TOKENS);
    if (scores && scores->n != tokens->n)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: %llu scores in '%s' for %llu tokens in '%s'",
                            r->file, (unsigned long long)scores->n, GGUF_KEY_SCORES,
                            (unsigned long long)tokens->n, GGUF_KEY_TOKENS);
    if (types && types->n != tokens->n)
        return tv_error_set(r->err, TV_ERR_DATA,
                            "%s: %llu token types in '%s' for %llu tokens in '%s'", r->file,
                            (unsigned long long)types->n, GGUF_KEY_TOKEN_TYPE,
                            (unsigned long long)tokens->n, GGUF_KEY_TOKENS);
    struct tv_str model = {0}, pre = {0};
    int has_model = find_string(r, GGUF_KEY_TOKENIZER_MODEL, &model);
    int has_pre = find_string(r, GGUF_KEY_TOKENIZER_PRE, &pre);
    if (has_model < 0 || has_pre < 0)
        return -1;
    int64_t add_bos = -1, add_eos = -1, add_space_prefix = -1;
    if (find_int(r, GGUF_KEY_ADD_BOS, true, &add_bos) < 0 ||
        find_int(r, GGUF_KEY_ADD_EOS, true, &add_eos) < 0 ||
        find_int(r, GGUF_KEY_ADD_SPACE_PREFIX, true, &add_space_prefix) < 0)
        return -1;

    struct tv_vocab *v = tv_model_new_vocab(r->m, r->file, r->err);
    if (!v)
        return -1;
    const struct tv_str *texts = tokens->data;
    for (uint64_t id = 0; id < tokens->n; id++) {
        float score = 0.0f;
        int type = TV_TOKEN_NORMAL;
        if (scores) {
            uint32_t bits = tv_le32((const uint8_t *)scores->data + 4 * id);
            memcpy(&score, &bits, sizeof score);
        }
        if (types) {
            int32_t t = (int32_t)tv_le32((const uint8_t *)types->data + 4 * id);
            if (t < TV_TOKEN_UNDEFINED || t > TV_TOKEN_BYTE)
                return tv_error_set(r->err, TV_ERR_DATA,
                                    "%s: key '%s': token %llu has type %d (valid: 0..6)", r->file,
                                    GGUF_KEY_TOKEN_TYPE, (unsigned long long)id, t);
            type = t;
        }
        if (tv_vocab_set_token(r->m, v, (uint32_t)id, texts[id].ptr, (size_t)texts[id].len,
                               score, type, r->err) < 0) {
            tv_error_prefix(r->err, "%s: key '%s'", r->file, GGUF_KEY_TOKENS);
            return -1;
        }
    }
    if (merges) {
        const struct tv_str *parts = merges->data;
        for (uint64_t i = 0; i < merges->n; i++) {
            size_t space;
            if (!split_merge(&parts[i], &space))
                return tv_error_set(r->err, TV_ERR_DATA,
                                    "%s: key '%s': merge %llu ('%.*s') is not two parts "
                                    "separated by a space", r->file, GGUF_KEY_MERGES,
                                    (unsigned long long)i, KEY_ARG(parts[i].ptr, parts[i].len));
            if (tv_vocab_add_merge(r->m, v, parts[i].ptr, space, parts[i].ptr + space + 1,
                                   (size_t)parts[i].len - space - 1, r->err) < 0) {
                tv_error_prefix(r->err, "%s: key '%s'", r->file, GGUF_KEY_MERGES);
                return -1;
            }
        }
    }
    if (has_model) {
        v->ggml_model = tv_model_strdup(r->m, model.ptr, (size_t)model.len);
        if (!v->ggml_model)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory", r->file);
        for (size_t k = 0; k < TV_ARRAY_SIZE(gguf_tokenizer_models); k++) {
            const char *name = gguf_tokenizer_models[k].ggml_model;
            if (strlen(name) == model.len && memcmp(name, model.ptr, model.len) == 0) {
                v->kind = gguf_tokenizer_models[k].kind;
                v->byte_level = gguf_tokenizer_models[k].byte_level;
                v->byte_fallback = gguf_tokenizer_models[k].byte_fallback;
            }
        }
    }
    if (has_pre) {
        v->ggml_pre = tv_model_strdup(r->m, pre.ptr, (size_t)pre.len);
        if (!v->ggml_pre)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory", r->file);
    }
    v->add_bos = add_bos < 0 ? -1 : add_bos != 0;
    v->add_eos = add_eos < 0 ? -1 : add_eos != 0;
    v->add_space_prefix = add_space_prefix < 0 ? -1 : add_space_prefix != 0;
    /* Ids outside the vocabulary stay claims only, for verify to report. */
    for (size_t k = 0; k < TV_ARRAY_SIZE(gguf_special_keys); k++) {
        int64_t id;
        int found = find_special_id(r, gguf_special_keys[k].key, &id);
        if (found < 0)
            return -1;
        if (found && id >= 0 && (uint64_t)id < v->n_tokens &&
            v->special[gguf_special_keys[k].special] < 0)
            v->special[gguf_special_keys[k].special] = id;
    }
    return 0;
}

/* What this file says about the model, for verify to compare with other sources. */
static int add_claims(struct gguf_reader *r)
{
    const struct tv_meta *tokens = find_kv(r, GGUF_KEY_TOKENS);
    if (tokens && tokens->value.type == TV_VALUE_ARRAY &&
        tv_model_add_claim(r->m, TV_CLAIM_VOCAB_SIZE, (int64_t)tokens->value.as.arr.n, -1,
                           r->file, GGUF_KEY_TOKENS, r->err) < 0)
        return -1;
    struct tv_str arch;
    int has_arch = find_string(r, GGUF_KEY_ARCHITECTURE, &arch);
    if (has_arch < 0)
        return -1;
    if (has_arch && arch.len < 200) {
        static const struct {
            const char *suffix;
            enum tv_claim_kind kind;
        } arch_claims[] = {
            {"vocab_size", TV_CLAIM_VOCAB_SIZE},
            {"embedding_length", TV_CLAIM_HIDDEN_DIM},
        };
        for (size_t k = 0; k < TV_ARRAY_SIZE(arch_claims); k++) {
            char key[256];
            snprintf(key, sizeof key, "%.*s.%s", (int)arch.len, arch.ptr, arch_claims[k].suffix);
            int64_t value;
            int found = find_int(r, key, false, &value);
            if (found < 0)
                return -1;
            if (found && tv_model_add_claim(r->m, arch_claims[k].kind, value, -1, r->file, key,
                                            r->err) < 0)
                return -1;
        }
    }
    for (size_t k = 0; k < TV_ARRAY_SIZE(gguf_special_keys); k++) {
        int64_t id;
        int found = find_special_id(r, gguf_special_keys[k].key, &id);
        if (found < 0)
            return -1;
        if (found && tv_model_add_claim(r->m, TV_CLAIM_SPECIAL_ID, id,
                                        (int)gguf_special_keys[k].special, r->file,
                                        gguf_special_keys[k].key, r->err) < 0)
            return -1;
    }
    return 0;
}

static int gguf_probe(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    if (len >= 4 && (memcmp(buf, GGUF_MAGIC, 4) == 0 || memcmp(buf, "FUGG", 4) == 0))
        return 100;
    return 0;
}

static int gguf_read(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct gguf_reader r = {.m = m, .blob = blob, .file = blob->name, .err = err,
                            .meta_begin = m->n_meta};
    tv_strmap_init(&r.keys);
    tv_cursor_init(&r.cur, blob->data, blob->len, r.where, err);
    int rc = -1;
    uint64_t n_tensors, n_kv;
    if (read_header(&r, &n_tensors, &n_kv) < 0 || read_metadata(&r, n_kv) < 0 ||
        read_alignment(&r) < 0 || read_tensors(&r, n_tensors) < 0 || read_vocab(&r) < 0 ||
        add_claims(&r) < 0)
        goto out;
    rc = 0;
out:
    tv_strmap_release(&r.keys);
    return rc;
}

/* ---- the writer --------------------------------------------------------------------
 *
 * Writes GGUF v3, little-endian, to the rules ggml's reader (gguf.cpp,
 * gguf_init_from_file_impl) enforces, which are stricter than the spec:
 *   - every key once, every tensor name once and at most 63 bytes (GGML_MAX_NAME 64);
 *   - no array of arrays (ggml refuses the type inside an array);
 *   - at most 4 dimensions, written innermost first; no zero outer dimension (ggml
 *     divides by ne[1..3]);
 *   - the data section starts at the header padded to the alignment, and tensor i
 *     starts exactly where tensor i-1 ends padded to the alignment (the last tensor
 *     is padded too); the alignment is the default 32, so general.alignment is not
 *     written (llama.cpp's writers leave it out too).
 * The metadata: general.architecture, general.name, {arch}.embedding_length,
 * {arch}.vocab_size, general.file_type, general.quantization_version (when quantized),
 * the plan's added keys (a Hugging Face source's {arch}.* numbers, src/convert.c),
 * the vocabulary's tokenizer.ggml.* keys and tokenizer.huggingface.json
 * (src/vocab_export.c), then the GGUF key/values of a GGUF source that were not
 * written already.
 */

#define GGUF_WRITE_VERSION 3
#define GGUF_WRITE_BUFFER (64u * 1024u)

struct gguf_writer {
    tv_out *out;
    uint8_t *buf;
    size_t len;
    uint64_t written;      /* bytes handed to the writer so far */
    tv_error *err;
};

static int gw_flush(struct gguf_writer *w)
{
    if (w->len && tv_out_write(w->out, w->buf, w->len, w->err) < 0)
        return -1;
    w->len = 0;
    return 0;
}

static int gw_bytes(struct gguf_writer *w, const void *p, size_t n)
{
    w->written += n;
    if (w->len + n > GGUF_WRITE_BUFFER) {
        if (gw_flush(w) < 0)
            return -1;
        if (n > GGUF_WRITE_BUFFER)
            return tv_out_write(w->out, p, n, w->err);
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

static int gw_u32(struct gguf_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return gw_bytes(w, b, 4);
}

static int gw_u64(struct gguf_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return gw_bytes(w, b, 8);
}

static int gw_string(struct gguf_writer *w, const char *s, uint64_t len)
{
    return gw_u64(w, len) < 0 ? -1 : gw_bytes(w, s, (size_t)len);
}

static int gw_zeros(struct gguf_writer *w, size_t n)
{
    static const uint8_t zeros[GGUF_DEFAULT_ALIGNMENT];
    return gw_bytes(w, zeros, n);
}

/* One key/value to write; strings and arrays point into the model, the vocabulary
   view or the plan's arena, all of which outlive the write. */
struct gguf_out_kv {
    const char *key;
    struct tv_value value;
};

struct gguf_kv_list {
    struct gguf_out_kv *items;
    size_t n, cap;
    struct tv_strmap keys;
    struct tv_write_plan *p;
    tv_error *err;
};

/* Adds key unless it is there already (the first value wins). -1 on OOM. */
static int kv_put(struct gguf_kv_list *l, const char *key, const struct tv_value *v)
{
    int put = tv_strmap_put(&l->keys, key, strlen(key), l->n, NULL);
    if (put < 0)
        return tv_error_set(l->err, TV_ERR_NOMEM, "%s: out of memory", l->p->out_name);
    if (put == 0)
        return 0;
    if (tv_grow((void **)&l->items, &l->cap, l->n + 1, sizeof *l->items, l->err) < 0)
        return -1;
    l->items[l->n++] = (struct gguf_out_kv){key, *v};
    return 0;
}

static int kv_u32(struct gguf_kv_list *l, const char *key, uint32_t v)
{
    struct tv_value value = {.type = TV_VALUE_U32, .as.u = v};
    return kv_put(l, key, &value);
}

static int kv_bool(struct gguf_kv_list *l, const char *key, bool v)
{
    struct tv_value value = {.type = TV_VALUE_BOOL, .as.u = v};
    return kv_put(l, key, &value);
}

static int kv_string(struct gguf_kv_list *l, const char *key, const char *s, size_t len)
{
    struct tv_value value = {.type = TV_VALUE_STRING, .as.str = {s, len}};
    return kv_put(l, key, &value);
}

static int kv_array(struct gguf_kv_list *l, const char *key, enum tv_value_type elem_type,
                    uint64_t n, const void *data)
{
    struct tv_value value = {.type = TV_VALUE_ARRAY, .as.arr = {elem_type, n, data}};
    return kv_put(l, key, &value);
}

/* "{arch}.suffix" in the plan's arena. */
static const char *arch_key(struct gguf_kv_list *l, const char *suffix)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", l->p->arch, suffix);
    const char *copy = tv_arena_strndup(&l->p->arena, key, strlen(key));
    if (!copy)
        tv_error_set(l->err, TV_ERR_NOMEM, "%s: out of memory", l->p->out_name);
    return copy;
}

/* n 32-bit values as little-endian bytes in the plan's arena. */
static const void *le32_array(struct gguf_kv_list *l, const void *values, size_t n)
{
    uint8_t *bytes = tv_arena_alloc(&l->p->arena, n ? n * 4 : 1);
    if (!bytes) {
        tv_error_set(l->err, TV_ERR_NOMEM, "%s: out of memory", l->p->out_name);
        return NULL;
    }
    const uint32_t *v = values;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = v[i];
        bytes[4 * i] = (uint8_t)x;
        bytes[4 * i + 1] = (uint8_t)(x >> 8);
        bytes[4 * i + 2] = (uint8_t)(x >> 16);
        bytes[4 * i + 3] = (uint8_t)(x >> 24);
    }
    return bytes;
}

/* Keys the writer computes itself: a source's value for them is not carried over. */
static bool key_rewritten(const char *key)
{
    static const char *const general[] = {
        GGUF_KEY_ALIGNMENT, GGUF_KEY_ARCHITECTURE, "general.name", "general.file_type"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(general); i++)
        if (strcmp(key, general[i]) == 0)
            return true;
    return false;
}

/* general.file_type: the source's when nothing changed, else from the dtypes written. */
static int64_t plan_file_type(const struct tv_write_plan *p)
{
    const struct tv_meta *src = tv_model_meta_find_origin(p->m, TV_ORIGIN_GGUF,
                                                          "general.file_type");
    int64_t value;
    if (!p->dtype_changed && src && tv_value_int(&src->value, &value) == 0)
        return value;
    if (p->opt->dtype >= 0)
        return tv_gguf_file_type((enum tv_dtype)p->opt->dtype);
    /* the dtype that holds most elements of the matrices */
    uint64_t elements[TV_DTYPE_COUNT] = {0};
    for (size_t i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].src->n_dims >= 2)
            elements[p->tensors[i].dtype] += p->tensors[i].src->n_elements;
    int best = -1;
    for (int d = 0; d < TV_DTYPE_COUNT; d++)
        if (elements[d] && (best < 0 || elements[d] > elements[best]))
            best = d;
    return best < 0 ? -1 : tv_gguf_file_type((enum tv_dtype)best);
}

/*
 * The GGUF source's key/values that are not rewritten (keys written already win).
 * tokenizer.* keys come along only from the file the vocabulary came from: another
 * file's would describe another vocabulary. ggml cannot read arrays of arrays, so one
 * is an error rather than a silent drop.
 */
static int add_carried(struct gguf_kv_list *l)
{
    const tv_model *m = l->p->m;
    const char *vocab_origin = tv_vocab_origin(m);
    for (size_t i = 0; i < m->n_meta; i++) {
        const struct tv_meta *meta = &m->meta[i];
        if (meta->origin != TV_ORIGIN_GGUF || key_rewritten(meta->key))
            continue;
        if (strncmp(meta->key, "tokenizer.", 10) == 0 && vocab_origin &&
            strcmp(meta->file, vocab_origin) != 0)
            continue;
        if (meta->value.type == TV_VALUE_ARRAY && meta->value.as.arr.elem_type == TV_VALUE_ARRAY)
            return tv_error_set(l->err, TV_ERR_UNSUPPORTED,
                                "%s: key '%.200s' (from %s) is an array of arrays, which ggml's "
                                "GGUF reader refuses", l->p->out_name, meta->key, meta->file);
        if (kv_put(l, meta->key, &meta->value) < 0)
            return -1;
    }
    return 0;
}

static int add_vocab(struct gguf_kv_list *l, const struct tv_ggml_vocab *v)
{
    if (kv_string(l, GGUF_KEY_TOKENIZER_MODEL, v->model, strlen(v->model)) < 0 ||
        (v->pre && kv_string(l, GGUF_KEY_TOKENIZER_PRE, v->pre, strlen(v->pre)) < 0) ||
        kv_array(l, GGUF_KEY_TOKENS, TV_VALUE_STRING, v->n_tokens, v->tokens) < 0)
        return -1;
    if (v->scores) {
        const void *bytes = le32_array(l, v->scores, v->n_tokens);
        if (!bytes || kv_array(l, GGUF_KEY_SCORES, TV_VALUE_F32, v->n_tokens, bytes) < 0)
            return -1;
    }
    if (v->types) {
        const void *bytes = le32_array(l, v->types, v->n_tokens);
        if (!bytes || kv_array(l, GGUF_KEY_TOKEN_TYPE, TV_VALUE_I32, v->n_tokens, bytes) < 0)
            return -1;
    }
    if (v->n_merges && kv_array(l, GGUF_KEY_MERGES, TV_VALUE_STRING, v->n_merges, v->merges) < 0)
        return -1;
    /* llama.cpp's key names (first match per special in gguf_special_keys) */
    for (size_t k = 0; k < TV_ARRAY_SIZE(gguf_special_keys); k++) {
        int64_t id = v->special[gguf_special_keys[k].special];
        if (id >= 0 && id <= UINT32_MAX &&
            kv_u32(l, gguf_special_keys[k].key, (uint32_t)id) < 0)
            return -1;
        if (gguf_special_keys[k].special == TV_SPECIAL_SEP)
            k++; /* skip the correctly spelled alias */
    }
    if ((v->add_bos >= 0 && kv_bool(l, GGUF_KEY_ADD_BOS, v->add_bos != 0) < 0) ||
        (v->add_eos >= 0 && kv_bool(l, GGUF_KEY_ADD_EOS, v->add_eos != 0) < 0) ||
        (v->add_space_prefix >= 0 &&
         kv_bool(l, GGUF_KEY_ADD_SPACE_PREFIX, v->add_space_prefix != 0) < 0))
        return -1;
    if (v->hf_json && kv_string(l, GGUF_KEY_HF_JSON, v->hf_json, v->hf_json_len) < 0)
        return -1;
    return 0;
}

static int build_kv_list(struct gguf_kv_list *l, const struct tv_ggml_vocab *vocab)
{
    struct tv_write_plan *p = l->p;
    const char *key;
    if (p->arch && kv_string(l, GGUF_KEY_ARCHITECTURE, p->arch, strlen(p->arch)) < 0)
        return -1;
    if (p->model_name && kv_string(l, "general.name", p->model_name, strlen(p->model_name)) < 0)
        return -1;
    if (p->arch && p->hidden && p->hidden <= UINT32_MAX &&
        (!(key = arch_key(l, "embedding_length")) || kv_u32(l, key, (uint32_t)p->hidden) < 0))
        return -1;
    if (p->arch && p->n_vocab && p->n_vocab <= UINT32_MAX &&
        (!(key = arch_key(l, "vocab_size")) || kv_u32(l, key, (uint32_t)p->n_vocab) < 0))
        return -1;
    int64_t file_type = plan_file_type(p);
    if (file_type >= 0 && kv_u32(l, "general.file_type", (uint32_t)file_type) < 0)
        return -1;
    /* ggml's current quantization format version (GGML_QNT_VERSION) */
    if (p->quantized && kv_u32(l, "general.quantization_version", 2) < 0)
        return -1;
    /* a Hugging Face source's architecture numbers under llama.cpp's keys */
    for (size_t i = 0; i < p->n_kv; i++)
        if (kv_put(l, p->kv[i].key, &p->kv[i].value) < 0)
            return -1;
    if (vocab && add_vocab(l, vocab) < 0)
        return -1;
    return add_carried(l);
}

static int write_value(struct gguf_writer *w, const char *key, const struct tv_value *v)
{
    switch (v->type) {
    case TV_VALUE_U8: case TV_VALUE_I8: case TV_VALUE_BOOL: {
        uint8_t b = v->type == TV_VALUE_I8 ? (uint8_t)v->as.i : (uint8_t)v->as.u;
        return gw_bytes(w, &b, 1);
    }
    case TV_VALUE_U16: case TV_VALUE_I16: {
        uint16_t x = v->type == TV_VALUE_I16 ? (uint16_t)v->as.i : (uint16_t)v->as.u;
        uint8_t b[2] = {(uint8_t)x, (uint8_t)(x >> 8)};
        return gw_bytes(w, b, 2);
    }
    case TV_VALUE_U32: return gw_u32(w, (uint32_t)v->as.u);
    case TV_VALUE_I32: return gw_u32(w, (uint32_t)v->as.i);
    case TV_VALUE_U64: return gw_u64(w, v->as.u);
    case TV_VALUE_I64: return gw_u64(w, (uint64_t)v->as.i);
    case TV_VALUE_F32: {
        float f = (float)v->as.f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        return gw_u32(w, bits);
    }
    case TV_VALUE_F64: {
        uint64_t bits;
        memcpy(&bits, &v->as.f, 8);
        return gw_u64(w, bits);
    }
    case TV_VALUE_STRING:
        return gw_string(w, v->as.str.ptr, v->as.str.len);
    case TV_VALUE_ARRAY: {
        const struct tv_array *a = &v->as.arr;
        if (gw_u32(w, a->elem_type) < 0 || gw_u64(w, a->n) < 0)
            return -1;
        if (a->elem_type == TV_VALUE_STRING) {
            const struct tv_str *s = a->data;
            for (uint64_t i = 0; i < a->n; i++)
                if (gw_string(w, s[i].ptr, s[i].len) < 0)
                    return -1;
            return 0;
        }
        size_t size = tv_value_type_size(a->elem_type);
        if (!size) /* arrays of arrays were refused when the list was built */
            return tv_error_set(w->err, TV_ERR_UNSUPPORTED, "key '%.200s': arrays of %s",
                                key, tv_value_type_name(a->elem_type));
        return gw_bytes(w, a->data, (size_t)a->n * size);
    }
    default:
        return tv_error_set(w->err, TV_ERR_UNSUPPORTED, "key '%.200s': value type %d", key,
                            (int)v->type);
    }
}

int tv_gguf_write_plan(struct tv_write_plan *p, tv_out *out, tv_error *err)
{
    int rc = -1;
    struct gguf_kv_list list = {.p = p, .err = err};
    tv_strmap_init(&list.keys);
    struct gguf_writer w = {.out = out, .err = err};
    w.buf = tv_malloc(GGUF_WRITE_BUFFER);
    if (!w.buf) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
        goto out;
    }
    /* the plan made the vocabulary's GGUF view (and refused what it cannot hold) */
    if (build_kv_list(&list, p->ggml_vocab) < 0)
        goto out;

    /* header, key/values, tensor infos */
    if (gw_bytes(&w, GGUF_MAGIC, 4) < 0 || gw_u32(&w, GGUF_WRITE_VERSION) < 0 ||
        gw_u64(&w, p->n_tensors) < 0 || gw_u64(&w, list.n) < 0)
        goto out;
    for (size_t i = 0; i < list.n; i++) {
        const struct gguf_out_kv *kv = &list.items[i];
        if (gw_string(&w, kv->key, strlen(kv->key)) < 0 || gw_u32(&w, kv->value.type) < 0 ||
            write_value(&w, kv->key, &kv->value) < 0)
            goto out;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < p->n_tensors; i++) {
        const struct tv_plan_tensor *pt = &p->tensors[i];
        const struct tv_tensor *t = pt->src;
        if (gw_string(&w, pt->name, strlen(pt->name)) < 0 || gw_u32(&w, t->n_dims) < 0)
            goto out;
        for (uint32_t d = t->n_dims; d > 0; d--)
            if (gw_u64(&w, t->shape[d - 1]) < 0)
                goto out;
        if (gw_u32(&w, (uint32_t)tv_dtype_info(pt->dtype)->ggml_type) < 0 ||
            gw_u64(&w, offset) < 0)
            goto out;
        offset += align_up(pt->n_bytes, GGUF_DEFAULT_ALIGNMENT);
    }
    if (gw_zeros(&w, (size_t)(align_up(w.written, GGUF_DEFAULT_ALIGNMENT) - w.written)) < 0 ||
        gw_flush(&w) < 0)
        goto out;

    /* tensor data, in tensor-info order, each padded to the alignment */
    const uint64_t data_start = w.written;
    offset = 0;
    for (size_t i = 0; i < p->n_tensors; i++) {
        if (tv_out_tell(out) != data_start + offset) {
            tv_error_set(err, TV_ERR_IO, "%s: tensor '%s' would start at byte %llu, not %llu",
                         p->out_name, p->tensors[i].name, (unsigned long long)tv_out_tell(out),
                         (unsigned long long)(data_start + offset));
            goto out;
        }
        if (tv_write_plan_tensor(p, i, out, err) < 0)
            goto out;
        uint64_t n_bytes = p->tensors[i].n_bytes;
        w.written = data_start + offset + n_bytes;
        if (gw_zeros(&w, (size_t)(align_up(n_bytes, GGUF_DEFAULT_ALIGNMENT) - n_bytes)) < 0 ||
            gw_flush(&w) < 0)
            goto out;
        offset += align_up(n_bytes, GGUF_DEFAULT_ALIGNMENT);
    }
    rc = 0;
out:
    tv_free(w.buf);
    tv_free(list.items);
    tv_strmap_release(&list.keys);
    return rc;
}

static int gguf_write(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                      tv_error *err)
{
    struct tv_write_plan plan;
    int rc = -1;
    if (tv_write_plan_init(&plan, m, opt, TV_TARGET_GGUF, tv_out_path(out), err) == 0)
        rc = tv_gguf_write_plan(&plan, out, err);
    tv_write_plan_release(&plan);
    return rc;
}

const struct tv_format tv_format_gguf = {
    .name = "gguf",
    .label = "GGUF",
    .probe = gguf_probe,
    .read = gguf_read,
    .write = gguf_write,
};
