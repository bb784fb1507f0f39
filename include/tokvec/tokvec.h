/*
 * tokvec: vocabularies and token embeddings from the model files people download.
 *
 * The public C API. Everything goes through one common model (struct tv_model):
 * readers fill it from safetensors, GGUF, tokenizer.json, model folders and more;
 * writers, verify, the tokenizer and the embedding maths read from it.
 *
 * Conventions:
 *   - Functions that can fail return 0 on success and -1 on failure (or NULL), and
 *     fill the caller's tv_error (which may be NULL) with a code and a message that
 *     names the file, the object and the numbers.
 *   - The library never prints and never exits.
 *   - Pointers described as "borrowed" belong to the model and stay valid until
 *     tv_model_free(); the caller never frees them.
 *   - _new/_free for heap objects, _init/_release for caller-owned structs;
 *     every _free accepts NULL.
 */
#ifndef TOKVEC_TOKVEC_H
#define TOKVEC_TOKVEC_H

#include <stddef.h>
#include <stdint.h>

#include "tokvec/dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TOKVEC_VERSION_STRING "0.1.0"

/* ---- errors ------------------------------------------------------------ */

enum tv_status {
    TV_OK = 0,
    TV_ERR_DATA = 1,        /* the input is malformed or inconsistent */
    TV_ERR_IO = 2,          /* open/read/write/mmap failed */
    TV_ERR_NOMEM = 3,       /* an allocation failed */
    TV_ERR_UNSUPPORTED = 4, /* valid input we cannot handle (a dtype, a version) */
    TV_ERR_NOTFOUND = 5,    /* a named thing (file, tensor, token) does not exist */
    TV_ERR_USAGE = 6,       /* the caller asked for something impossible */
    TV_ERR_LIMIT = 7        /* a safety cap was exceeded (see limits in the README) */
};

typedef struct tv_error {
    int code;            /* enum tv_status */
    char message[512];
} tv_error;

/* Returns a static English name for a status code ("bad data", "I/O error", ...). */
const char *tv_status_name(int code);

/*
 * Replaces the allocator used by the library (and by cJSON inside it). Meant for
 * tests that make allocation fail; pass NULLs to restore malloc/realloc/free.
 * Not thread-safe: call it before any other tokvec function.
 */
void tv_set_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                      void (*free_fn)(void *));

/* ---- the model ------------------------------------------------------------ */

typedef struct tv_model tv_model; /* opaque */

struct tv_open_options {
    const char *embedding;       /* name of the token-embedding tensor; NULL: detect */
    uint64_t max_header_bytes;   /* safetensors header cap; 0: the default (100,000,000) */
    uint64_t max_tensors;        /* tensor count cap; 0: the default (see limits.h) */
    const char *revision;        /* Hugging Face cache: a ref under refs/ or a commit hash
                                    under snapshots/; NULL: "main". When set, the path is
                                    looked up in the cache only */
    uint64_t max_member_bytes;   /* archives and .gz: one decompressed member; 0: 32 GiB */
    uint64_t max_unpacked_bytes; /* everything decompressed from one archive; 0: 64 GiB */
    uint64_t max_expand_ratio;   /* decompressed bytes per compressed byte (past 64 MiB);
                                    0: 200 */
    const char *pytorch_key;     /* PyTorch checkpoints: the key of the state dict to read
                                    ("model", '/' between nested keys); NULL: found */
    const char *vocab_file;      /* a token list, one token per line (line i is id i), read
                                    after the sources (--vocab: words for a bare .npy matrix):
                                    the primary vocabulary, which must have one line per row
                                    of the matrix, or a secondary one when the sources have a
                                    vocabulary; NULL: none. Used by tv_model_open(_many) */
};

/*
 * Opens a file or a folder (Hugging Face layout) and returns a new model, or NULL
 * with err filled. The format is detected from the content, not the name. Tensor
 * data stays in read-only mappings of the files until someone asks for it. opt may
 * be NULL. The caller frees the model with tv_model_free().
 */
tv_model *tv_model_open(const char *path, const struct tv_open_options *opt, tv_error *err);

/*
 * Opens several paths that belong to one model (a GGUF plus a tokenizer.json, a
 * safetensors file plus a config.json, ...) into one model. The first source that
 * carries a vocabulary provides the primary vocabulary; the others are kept as
 * secondary vocabularies so that verify can compare them.
 */
tv_model *tv_model_open_many(const char *const *paths, size_t n_paths,
                             const struct tv_open_options *opt, tv_error *err);

/*
 * Reads a model from memory: any format, or an archive or compressed file as
 * tv_model_open reads one from disk. The buffer is copied, so the caller may free it
 * afterwards. name is used in error messages ("<memory>" when NULL).
 */
tv_model *tv_model_read_memory(const void *buf, size_t len, const char *name,
                               const struct tv_open_options *opt, tv_error *err);

/* Frees the model and every borrowed pointer obtained from it. NULL is fine. */
void tv_model_free(tv_model *m);

/* What was opened: "GGUF", "safetensors", "Hugging Face folder", ... (borrowed). */
const char *tv_model_kind(const tv_model *m);
/* The path given to tv_model_open (borrowed). */
const char *tv_model_path(const tv_model *m);
/* The files that were read, as display names relative to the path (borrowed). */
size_t tv_model_file_count(const tv_model *m);
const char *tv_model_file(const tv_model *m, size_t i);

/* ---- vocabulary ------------------------------------------------------------ */

/* Token types, numbered as GGUF's tokenizer.ggml.token_type values. */
enum tv_token_type {
    TV_TOKEN_UNDEFINED = 0,
    TV_TOKEN_NORMAL = 1,
    TV_TOKEN_UNKNOWN = 2,
    TV_TOKEN_CONTROL = 3,
    TV_TOKEN_USER_DEFINED = 4,
    TV_TOKEN_UNUSED = 5,
    TV_TOKEN_BYTE = 6
};

/* Token flags (added tokens of tokenizer.json and their options). */
enum {
    TV_TOKEN_ADDED = 1u << 0,       /* listed in added_tokens */
    TV_TOKEN_SPECIAL = 1u << 1,     /* added token with "special": true */
    TV_TOKEN_LSTRIP = 1u << 2,
    TV_TOKEN_RSTRIP = 1u << 3,
    TV_TOKEN_SINGLE_WORD = 1u << 4,
    TV_TOKEN_NORMALIZED = 1u << 5
};

struct tv_token {
    const char *text;   /* the token's bytes in the tokenizer's own alphabet, NUL-terminated;
                           NULL for an id no token uses (a hole in the ids) */
    uint32_t len;       /* bytes, without the terminator */
    float score;        /* Unigram/SentencePiece score; 0 when the source has none */
    uint8_t type;       /* enum tv_token_type */
    uint8_t flags;      /* TV_TOKEN_* */
};

enum tv_tokenizer_kind {
    TV_TOKENIZER_NONE = 0,
    TV_TOKENIZER_BPE,
    TV_TOKENIZER_WORDPIECE,
    TV_TOKENIZER_WORDLEVEL,
    TV_TOKENIZER_UNIGRAM
};

enum tv_special {
    TV_SPECIAL_BOS, TV_SPECIAL_EOS, TV_SPECIAL_UNK, TV_SPECIAL_PAD,
    TV_SPECIAL_SEP, TV_SPECIAL_CLS, TV_SPECIAL_MASK,
    TV_SPECIAL_COUNT
};

/* Returns "bpe", "wordpiece", "wordlevel", "unigram" or "none". */
const char *tv_tokenizer_kind_name(enum tv_tokenizer_kind kind);
/* Returns "bos", "eos", ... */
const char *tv_special_name(enum tv_special which);
/* Returns "normal", "unknown", "control", "user-defined", "unused", "byte", "undefined". */
const char *tv_token_type_name(int type);

/* Number of token ids (highest id + 1); 0 when the model has no vocabulary. */
size_t tv_vocab_size(const tv_model *m);
/* The token with this id (borrowed), or NULL when id >= tv_vocab_size(). */
const struct tv_token *tv_vocab_token(const tv_model *m, uint32_t id);
/*
 * Finds the id of the token whose bytes are exactly (bytes, len). Returns 0 and
 * sets *id, or -1 when there is none. When several ids share the bytes, the
 * lowest id is returned.
 */
int tv_vocab_find(const tv_model *m, const char *bytes, size_t len, uint32_t *id);
enum tv_tokenizer_kind tv_vocab_kind(const tv_model *m);
/* Number of BPE merges, and merge i (rank i) as its two parts (borrowed). */
size_t tv_vocab_merge_count(const tv_model *m);
int tv_vocab_merge(const tv_model *m, size_t rank, const char **left, size_t *left_len,
                   const char **right, size_t *right_len);
/* The special id, or -1 when the model names none. */
int64_t tv_vocab_special(const tv_model *m, enum tv_special which);
/* The file the vocabulary came from (borrowed), or NULL. */
const char *tv_vocab_origin(const tv_model *m);

/* ---- tensors ------------------------------------------------------------------ */

#define TV_MAX_DIMS 8

struct tv_tensor {
    const char *name;
    enum tv_dtype dtype;
    uint32_t n_dims;
    uint64_t shape[TV_MAX_DIMS]; /* row-major (PyTorch) order: outermost first */
    uint64_t n_elements;
    uint64_t n_bytes;
    uint64_t offset;             /* byte offset of the data within its file */
    const char *file;            /* display name of the file holding the data */
    const uint8_t *data;         /* the bytes, in a read-only mapping; NULL if not loaded */
};

size_t tv_model_tensor_count(const tv_model *m);
/* Tensor i (borrowed), or NULL when i is out of range. */
const struct tv_tensor *tv_model_tensor(const tv_model *m, size_t i);
/* The tensor with this name (borrowed), or NULL. */
const struct tv_tensor *tv_model_tensor_find(const tv_model *m, const char *name);
/* The token-embedding tensor (borrowed), or NULL when the model has none. */
const struct tv_tensor *tv_model_embedding(const tv_model *m);
/* Sum of n_elements over all tensors. */
uint64_t tv_model_parameter_count(const tv_model *m);

/*
 * Converts n rows starting at row of a 2-D tensor to float32 into dst (n * shape[1]
 * floats). Works block by block on any dtype that has a to-f32 kernel. Returns -1
 * when the rows are out of range, the data is not loaded, or the dtype has no kernel.
 */
int tv_tensor_rows_f32(const struct tv_tensor *t, uint64_t row, uint64_t n, float *dst,
                       tv_error *err);

/* ---- metadata ------------------------------------------------------------------ */

/* Value types, numbered as GGUF's metadata value types. */
enum tv_value_type {
    TV_VALUE_U8 = 0, TV_VALUE_I8 = 1, TV_VALUE_U16 = 2, TV_VALUE_I16 = 3,
    TV_VALUE_U32 = 4, TV_VALUE_I32 = 5, TV_VALUE_F32 = 6, TV_VALUE_BOOL = 7,
    TV_VALUE_STRING = 8, TV_VALUE_ARRAY = 9, TV_VALUE_U64 = 10, TV_VALUE_I64 = 11,
    TV_VALUE_F64 = 12,
    TV_VALUE_TYPE_COUNT
};

/* Where a key/value came from. */
enum tv_origin {
    TV_ORIGIN_GGUF,            /* GGUF metadata */
    TV_ORIGIN_SAFETENSORS,     /* safetensors __metadata__ */
    TV_ORIGIN_CONFIG,          /* config.json (top-level scalars and arrays of scalars) */
    TV_ORIGIN_TOKENIZER_CONFIG,/* tokenizer_config.json */
    TV_ORIGIN_GENERATION_CONFIG,
    TV_ORIGIN_OTHER
};

struct tv_str {
    const char *ptr; /* not NUL-terminated in general */
    uint64_t len;
};

struct tv_value;

struct tv_array {
    enum tv_value_type elem_type;
    uint64_t n;
    /* numeric and bool elements: packed little-endian as in the file (may be unaligned,
       read them with tv_array_int/tv_array_float); STRING: struct tv_str[n];
       ARRAY: struct tv_value[n] */
    const void *data;
};

struct tv_value {
    enum tv_value_type type;
    union {
        uint64_t u;   /* U8, U16, U32, U64, BOOL */
        int64_t i;    /* I8, I16, I32, I64 */
        double f;     /* F32, F64 */
        struct tv_str str;
        struct tv_array arr;
    } as;
};

struct tv_meta {
    const char *key;        /* NUL-terminated */
    struct tv_value value;
    enum tv_origin origin;
    const char *file;       /* display name of the file it came from */
};

/* Returns "u8", "i8", ..., "string", "array" */
const char *tv_value_type_name(enum tv_value_type type);
/* Size in bytes of one element of a fixed-size type, 0 for STRING and ARRAY. */
size_t tv_value_type_size(enum tv_value_type type);

size_t tv_model_meta_count(const tv_model *m);
const struct tv_meta *tv_model_meta(const tv_model *m, size_t i);
/* The first key/value with this key from any origin (borrowed), or NULL. */
const struct tv_meta *tv_model_meta_find(const tv_model *m, const char *key);
/* The same, limited to one origin. */
const struct tv_meta *tv_model_meta_find_origin(const tv_model *m, enum tv_origin origin,
                                                const char *key);

/*
 * Reads a scalar value as an integer (any integer type, BOOL, or a float that is
 * exactly integral). Returns 0 and sets *out, or -1 when it is not one.
 */
int tv_value_int(const struct tv_value *v, int64_t *out);
/* Reads any numeric scalar as a double. Returns 0, or -1 when it is not numeric. */
int tv_value_float(const struct tv_value *v, double *out);
/* Element i of a numeric or bool array as an integer / a double. Returns 0 or -1. */
int tv_array_int(const struct tv_array *a, uint64_t i, int64_t *out);
int tv_array_float(const struct tv_array *a, uint64_t i, double *out);


/* ---- writing ------------------------------------------------------------------ */

struct tv_write_options {
    const char *format;        /* "gguf", "safetensors", "tokenizer.json", "folder", ...;
                                  NULL: chosen from the output path */
    int dtype;                 /* -1: keep each tensor's dtype; else an enum tv_dtype that
                                  floating-point tensors are converted to */
    int only_embedding;        /* write the vocabulary and the token embedding only */
    uint64_t max_shard_size;   /* folder output: bytes per safetensors shard; 0: one file */
    int force;                 /* replace an existing output */
    /* Called after each tensor (may be NULL); the library itself never prints. A
       non-zero return stops the write: it fails ("interrupted") and leaves nothing. */
    int (*progress)(void *ctx, size_t tensors_done, size_t n_tensors, uint64_t bytes_done,
                    uint64_t bytes_total);
    void *progress_ctx;
    /* A tokenizer the target holds only in part (GGUF: a normalizer, pre-tokenizer or
       decoder that llama.cpp's tokenizer model has no place for, so llama.cpp would split
       some text differently) is refused, naming the parts, unless allow_lossy is set;
       then each loss is passed to warn (may be NULL) and the rest is written. */
    int allow_lossy;
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
};

/* Fills opt with the defaults: format from the path, keep dtypes, one file, no force. */
void tv_write_options_init(struct tv_write_options *opt);

/*
 * Writes the model to path in the format opt->format (or the one the path implies:
 * .gguf, .safetensors, tokenizer.json, .npy, .vec, a folder; see the README for .txt and
 * .bin; a path ending in .gz is written gzipped). Tensors are streamed block by block
 * from the source mapping. The output appears only when complete: it is written to
 * a temporary file (or folder) beside path and renamed; on failure nothing is left
 * and an existing path is untouched. An existing path is refused unless opt->force.
 * Anything the target cannot represent is an error, never silently dropped (with
 * opt->allow_lossy, tokenizer parts the target cannot hold are reported through
 * opt->warn instead).
 */
int tv_model_write(const tv_model *m, const char *path, const struct tv_write_options *opt,
                   tv_error *err);

#ifdef __cplusplus
}
#endif

#endif
