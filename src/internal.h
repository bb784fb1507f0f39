/*
 * Private layouts and cross-file helpers of libtokvec. Not part of the public API:
 * only the library's own sources, its tests and its fuzz targets include this.
 *
 * Adding a format (reader and/or writer):
 *   1. write formats/<name>.c that opens with the byte layout it reads and exports
 *      one `const struct tv_format tv_format_<name>` (designated initializers);
 *   2. declare it below and add it to the table in src/formats.c;
 *   3. add tests/test_<name>.c (the build picks up every file in formats/ and tests/test_NAME.c).
 * Adding a CLI command: see src/cli/cli.h.
 */
#ifndef TOKVEC_INTERNAL_H
#define TOKVEC_INTERNAL_H

#ifndef TOKVEC_INTERNAL
#error "src/internal.h is private to libtokvec; include <tokvec/tokvec.h> instead"
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tokvec/tokvec.h"
#include "limits.h"

#define TV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define TV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TV_PRINTF(f, a)
#endif

/* ---- errors (src/error.c) ------------------------------------------------- */

/* Fills err (if not NULL) with code and a formatted message; always returns -1. */
int tv_error_set(tv_error *err, int code, const char *fmt, ...) TV_PRINTF(3, 4);
/* Prepends "prefix: " to err's message (used to add the file name on the way up). */
void tv_error_prefix(tv_error *err, const char *fmt, ...) TV_PRINTF(2, 3);
/* Resets err to TV_OK with an empty message. */
void tv_error_clear(tv_error *err);

/* ---- allocation (src/alloc.c): every allocation goes through these -------- */

void *tv_malloc(size_t n);
void *tv_calloc(size_t count, size_t size);
void *tv_realloc(void *p, size_t n);
void tv_free(void *p);
char *tv_strdup(const char *s);
char *tv_strndup(const char *s, size_t n);
/*
 * Grows *array (of elem_size elements, *cap allocated) so that it holds at least
 * need elements. Returns 0, or -1 with err (TV_ERR_NOMEM) on failure or overflow.
 */
int tv_grow(void **array, size_t *cap, size_t need, size_t elem_size, tv_error *err);

/* Overflow-checked arithmetic, named after their claim. */
static inline bool tv_mul_u64_fits(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool tv_add_u64_fits(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* ---- string arena (src/arena.c): model-lifetime strings ------------------- */

struct tv_arena_chunk;
struct tv_arena {
    struct tv_arena_chunk *head;
};
void tv_arena_init(struct tv_arena *a);
void tv_arena_release(struct tv_arena *a);
void *tv_arena_alloc(struct tv_arena *a, size_t n); /* 8-aligned, NULL on failure */
char *tv_arena_strndup(struct tv_arena *a, const char *s, size_t n); /* NUL-terminated */

/* ---- string -> index hash map (src/strmap.c) ------------------------------- */

/* Keys are borrowed (pointer + length); the map never copies them. */
struct tv_strmap {
    struct tv_strmap_slot *slots;
    size_t cap;   /* power of two or 0 */
    size_t count;
};
void tv_strmap_init(struct tv_strmap *map);
void tv_strmap_release(struct tv_strmap *map);
/*
 * Inserts key -> value unless the key is present. Returns 1 when inserted, 0 when
 * the key already existed (*existing, if not NULL, gets its value), -1 on OOM.
 */
int tv_strmap_put(struct tv_strmap *map, const char *key, size_t len, uint64_t value,
                  uint64_t *existing);
/* Returns 1 and sets *value when found, 0 when not. */
int tv_strmap_get(const struct tv_strmap *map, const char *key, size_t len, uint64_t *value);
uint64_t tv_hash_bytes(const void *p, size_t len);

/* ---- byte sources (src/io.c) ------------------------------------------------ */

enum tv_blob_kind { TV_BLOB_MMAP, TV_BLOB_HEAP, TV_BLOB_VIEW };

/* A read-only byte range with a name for errors; tensors point into it. */
typedef struct tv_blob {
    const uint8_t *data;
    size_t len;
    char *name;          /* display name: a path, or archive:member */
    enum tv_blob_kind kind;
    void *base;          /* what to munmap/free; for a view, the parent blob */
    size_t map_len;
    unsigned refs;
} tv_blob;

/* Maps a regular file read-only (an empty file gives len 0). NULL with err. */
tv_blob *tv_blob_map_file(const char *path, const char *display_name, tv_error *err);
/* Copies len bytes into a new heap blob. */
tv_blob *tv_blob_copy(const void *buf, size_t len, const char *name, tv_error *err);
/* Takes ownership of a tv_malloc'ed buffer. On failure the buffer is freed. */
tv_blob *tv_blob_adopt(void *buf, size_t len, const char *name, tv_error *err);
/* A blob of len bytes at data inside parent (an archive member stored in place),
   which it keeps alive. NULL with err when the range is not inside parent. */
tv_blob *tv_blob_view(tv_blob *parent, const uint8_t *data, size_t len, const char *name,
                      tv_error *err);
tv_blob *tv_blob_ref(tv_blob *b);
void tv_blob_unref(tv_blob *b);

/* Whether path is a directory (1), a regular file (0), or neither/missing (-1). */
int tv_path_kind(const char *path);
/* path + "/" + name in a new tv_malloc'ed string. */
char *tv_path_join(const char *dir, const char *name);

/*
 * Atomic output: bytes go to a temporary file beside path; commit flushes, fsyncs
 * and renames it over path; abort (or a failed commit) removes it. An existing
 * path is refused unless force is set. Every call returns 0 or -1 with err.
 */
typedef struct tv_out tv_out;
tv_out *tv_out_open(const char *path, bool force, tv_error *err);
/* The same, but every byte written goes through gzip (deflate level 6, src/gzip.c);
   tv_out_tell counts the bytes given, not the compressed ones. For `out.txt.gz`. */
tv_out *tv_out_open_gzip(const char *path, bool force, tv_error *err);
int tv_out_write(tv_out *out, const void *buf, size_t len, tv_error *err);
uint64_t tv_out_tell(const tv_out *out);
/* The target path given to tv_out_open (for messages). */
const char *tv_out_path(const tv_out *out);
int tv_out_commit(tv_out *out, tv_error *err); /* frees out */
void tv_out_abort(tv_out *out);                /* frees out; NULL is fine */

/* ---- directory sources (src/folder.c, src/archive.c) ------------------------
 *
 * The files of one folder wherever it lives: on disk, or inside an archive. The
 * folder layout (src/folder.c) and a safetensors index's shards are read through
 * it, so they work the same in both. Names are relative to the folder.
 */
typedef struct tv_dir tv_dir;
/* A folder on disk (symlinks are followed, as the Hugging Face cache needs). */
tv_dir *tv_dir_new_path(const char *path, tv_error *err);
/* The folder on disk that holds the file at path (up to its last '/', else "."), where
   an index file given directly finds its shards. */
tv_dir *tv_dir_new_parent(const char *path, tv_error *err);
/* Whether the folder has a file called name. In an archive also true for a member
   that will be refused when opened (a link, a name that leaves the archive), so that
   the refusal is reported instead of the file being skipped. */
bool tv_dir_has(tv_dir *d, const char *name);
/* The files directly in the folder whose names end with suffix, sorted. Returns 0,
   or -1 with err; free the list with tv_dir_list_free. */
int tv_dir_list(tv_dir *d, const char *suffix, char ***names, size_t *count, tv_error *err);
void tv_dir_list_free(char **names, size_t count);
/* Opens a file of the folder as a new blob named for messages (its path, or
   archive:member). NULL with err. */
tv_blob *tv_dir_open(tv_dir *d, const char *name, tv_error *err);
/* The folder's name for messages (a path, or archive:folder). */
const char *tv_dir_name(const tv_dir *d);
void tv_dir_free(tv_dir *d); /* NULL is fine */

/* ---- bounds-checked little-endian cursor (src/cursor.h) --------------------- */
#include "cursor.h"

/* ---- JSON helpers (src/json.c) --------------------------------------------- */

/* The offset of the first byte that is not part of well-formed UTF-8 (no overlong
   forms, surrogates or code points past U+10FFFF), or len. */
size_t tv_utf8_valid_prefix(const uint8_t *s, size_t len);
/* Whether all len bytes are well-formed UTF-8. */
static inline bool tv_utf8_valid(const char *s, size_t len)
{
    return tv_utf8_valid_prefix((const uint8_t *)s, len) == len;
}
/* Parses len bytes of JSON; NULL with err naming file and the byte offset. */
cJSON *tv_json_parse(const uint8_t *buf, size_t len, const char *file, tv_error *err);
/*
 * Reads a JSON number that must be a non-negative integer below 2^53 (every integer
 * a double holds exactly; 2^53 itself is refused because cJSON rounds 2^53 + 1 to
 * it). Returns 0 or -1.
 */
int tv_json_uint(const cJSON *item, uint64_t *out);
/* Reads a JSON number that must be an integer in (-2^53, 2^53). Returns 0 or -1. */
int tv_json_int(const cJSON *item, int64_t *out);
/*
 * Calls fn for each top-level key of the JSON object in buf without building a tree
 * (used by probes). Stops when fn returns non-zero and returns that value; returns
 * 0 when all keys were visited, -1 when buf is not a JSON object.
 */
int tv_json_top_keys(const uint8_t *buf, size_t len,
                     int (*fn)(const char *key, size_t key_len, char value_start, void *ctx),
                     void *ctx);
/* Whether buf is a JSON object with this top-level key. */
bool tv_json_has_top_key(const uint8_t *buf, size_t len, const char *key);

/* ---- the model ----------------------------------------------------------------- */

/* A claim some source makes about the model, for verify to compare. */
enum tv_claim_kind {
    TV_CLAIM_VOCAB_SIZE,   /* number of token ids this source implies */
    TV_CLAIM_HIDDEN_DIM,
    TV_CLAIM_SPECIAL_ID,   /* value = id; key names which (bos_token_id, tokenizer.ggml.eos_token_id) */
    TV_CLAIM_TIED,         /* tie_word_embeddings: value 0/1 */
    TV_CLAIM_KIND_COUNT
};

struct tv_claim {
    enum tv_claim_kind kind;
    int64_t value;
    int special;           /* enum tv_special for TV_CLAIM_SPECIAL_ID, else -1 */
    const char *file;      /* display name of the source file */
    const char *key;       /* the field that says it: "vocab_size", "tokenizer.ggml.tokens" */
};

/*
 * A problem a reader noticed that did not stop it from reading (a header not padded
 * to 8 bytes, a tensor whose data is not aligned, a token id listed twice): verify
 * reports findings as failed or warned structure checks, so that one run lists every
 * problem of a file. check is a stable verify check id ("structure.alignment").
 */
enum tv_severity { TV_SEVERITY_WARN = 1, TV_SEVERITY_FAIL = 2 };
struct tv_finding {
    const char *check;
    enum tv_severity severity;
    const char *message;   /* names the file, the object and the numbers */
};

/* An entry of tokenizer.json's added_tokens (or a GGUF/SentencePiece equivalent). */
struct tv_added_token {
    uint32_t id;
    const char *content;
    uint32_t len;
    uint8_t flags;         /* TV_TOKEN_* */
};

struct tv_merge {
    const char *left;
    const char *right;
    uint32_t left_len;
    uint32_t right_len;
};

struct tv_vocab {
    const char *origin;              /* display name of the file */
    struct tv_token *tokens;         /* n_tokens entries; holes have text == NULL */
    size_t n_tokens, cap_tokens;
    struct tv_merge *merges;
    size_t n_merges, cap_merges;
    struct tv_added_token *added;
    size_t n_added, cap_added;
    struct tv_strmap index;          /* token bytes -> lowest id */
    bool index_built;
    int64_t special[TV_SPECIAL_COUNT]; /* -1: none */
    enum tv_tokenizer_kind kind;

    /* The tokenizer description. From tokenizer.json: the parsed document (owned)
       and borrowed pointers into it; from GGUF: ggml_model/ggml_pre. */
    cJSON *json;                     /* whole tokenizer.json document, or NULL */
    const cJSON *model_json, *normalizer, *pre_tokenizer, *post_processor, *decoder;
    const char *json_text;           /* the original text (arena), for lossless re-export */
    size_t json_text_len;
    const char *ggml_model;          /* tokenizer.ggml.model, or NULL */
    const char *ggml_pre;            /* tokenizer.ggml.pre, or NULL */
    const char *unk_token;           /* model.unk_token, or NULL */
    const char *continuing_subword_prefix, *end_of_word_suffix;
    int max_input_chars_per_word;    /* WordPiece; 0 if unset */
    bool byte_fallback, fuse_unk, ignore_merges, byte_level;
    int add_bos, add_eos, add_space_prefix; /* -1 unknown, 0, 1 */
};

struct tv_model {
    char *path;
    const char *kind;                /* static string */
    struct tv_arena arena;
    tv_blob **blobs;
    size_t n_blobs, cap_blobs;
    const char **files;              /* arena strings */
    size_t n_files, cap_files;

    struct tv_vocab *vocabs;         /* [0] is the primary vocabulary */
    size_t n_vocabs, cap_vocabs;

    struct tv_tensor *tensors;
    size_t n_tensors, cap_tensors;
    struct tv_strmap tensor_index;   /* name -> index */
    long embedding;                  /* index into tensors, -1: none */

    struct tv_meta *meta;
    size_t n_meta, cap_meta;

    struct tv_claim *claims;
    size_t n_claims, cap_claims;

    struct tv_finding *findings;
    size_t n_findings, cap_findings;

    cJSON *config;                   /* config.json as parsed (owned), or NULL */
    const char *config_file;

    struct tv_open_options opt;
};

tv_model *tv_model_new_empty(const char *path, const struct tv_open_options *opt, tv_error *err);
/* Keeps a reference to blob for the model's lifetime and records its file name. */
int tv_model_add_blob(tv_model *m, tv_blob *blob, tv_error *err);
/* Records a file name to show (e.g. config.json that produced no blob). */
int tv_model_add_file(tv_model *m, const char *display_name, tv_error *err);
/* Copies a string into the model's arena. */
const char *tv_model_strdup(tv_model *m, const char *s, size_t len);

/*
 * Returns the vocabulary a reader should fill: the primary one while it is still
 * empty, else a new secondary one. origin is the file name. NULL on OOM.
 */
struct tv_vocab *tv_model_new_vocab(tv_model *m, const char *origin, tv_error *err);
/* The primary vocabulary, or NULL. */
const struct tv_vocab *tv_model_vocab(const tv_model *m);
/*
 * Sets token id in v (growing the id range, leaving holes as text == NULL). The
 * bytes are copied into the model's arena. Returns 0 or -1 (err) on OOM or when
 * id exceeds TV_MAX_TOKENS.
 */
int tv_vocab_set_token(tv_model *m, struct tv_vocab *v, uint32_t id, const char *text,
                       size_t len, float score, int type, tv_error *err);
int tv_vocab_add_merge(tv_model *m, struct tv_vocab *v, const char *left, size_t left_len,
                       const char *right, size_t right_len, tv_error *err);
int tv_vocab_add_added(tv_model *m, struct tv_vocab *v, uint32_t id, const char *content,
                       size_t len, unsigned flags, tv_error *err);
/* Finds a token in any vocabulary (lowest id wins); builds the index on first use. */
int tv_vocab_lookup(struct tv_vocab *v, const char *bytes, size_t len, uint32_t *id);
void tv_vocab_release(struct tv_vocab *v);

/*
 * Appends a tensor; the name is copied. Duplicate names are refused (err names the
 * file and the tensor). Shape is row-major; n_elements and n_bytes are computed and
 * checked for overflow and block alignment. data may be NULL (not loaded).
 */
int tv_model_add_tensor(tv_model *m, const char *name, size_t name_len, enum tv_dtype dtype,
                        uint32_t n_dims, const uint64_t *shape, const char *file,
                        uint64_t offset, const uint8_t *data, tv_error *err);
/* Computes n_elements and n_bytes for a shape; -1 with err on overflow/misalignment. */
int tv_tensor_size(enum tv_dtype dtype, uint32_t n_dims, const uint64_t *shape,
                   uint64_t *n_elements, uint64_t *n_bytes, tv_error *err);

/* Appends a key/value; the key is copied, string/array payloads must outlive the model
   (point into a blob or the arena). */
int tv_model_add_meta(tv_model *m, const char *key, size_t key_len, const struct tv_value *v,
                      enum tv_origin origin, const char *file, tv_error *err);

int tv_model_add_claim(tv_model *m, enum tv_claim_kind kind, int64_t value, int special,
                       const char *file, const char *key, tv_error *err);

/* Records a finding (message formatted like printf, copied into the arena). */
int tv_model_add_finding(tv_model *m, const char *check, enum tv_severity severity,
                         tv_error *err, const char *fmt, ...) TV_PRINTF(5, 6);

/*
 * Chooses the token-embedding tensor: the name given in the options, else known
 * names (with and without ".weight" and common prefixes), else the unique 2-D tensor
 * whose row count equals the vocabulary size. Returns -1 with err only when a name
 * was given and does not exist.
 */
int tv_model_pick_embedding(tv_model *m, tv_error *err);

/* ---- formats (src/formats.c) ------------------------------------------------------ */

struct tv_write_options;

struct tv_format {
    const char *name;        /* "gguf", "safetensors", "tokenizer.json", ... */
    const char *label;       /* what inspect shows: "GGUF", "safetensors" */
    /*
     * Returns a confidence 0 (not this format) .. 100 (magic matched) for the first
     * bytes of a source. name is the display name, a hint for text formats only.
     */
    int (*probe)(const uint8_t *buf, size_t len, const char *name);
    /*
     * Reads blob into m (the model keeps a reference to the blob when tensors point
     * into it). Returns 0, or -1 with err; on failure m may hold partial state and
     * the caller frees it.
     */
    int (*read)(tv_model *m, tv_blob *blob, tv_error *err);
    /* Writes m to out (streaming). NULL when the format has no writer. */
    int (*write)(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                 tv_error *err);
};

extern const struct tv_format tv_format_gguf;
extern const struct tv_format tv_format_safetensors;
extern const struct tv_format tv_format_safetensors_index;
extern const struct tv_format tv_format_tokenizer_json;
extern const struct tv_format tv_format_config_json;
extern const struct tv_format tv_format_tokenizer_config_json;
extern const struct tv_format tv_format_generation_config_json;
extern const struct tv_format tv_format_vocab_json;
extern const struct tv_format tv_format_merges_txt;
extern const struct tv_format tv_format_vocab_txt;
extern const struct tv_format tv_format_sentencepiece;
extern const struct tv_format tv_format_word2vec;
extern const struct tv_format tv_format_word2vec_binary;
extern const struct tv_format tv_format_glove;
extern const struct tv_format tv_format_npy;
extern const struct tv_format tv_format_pytorch, tv_format_pytorch_index;

/* The table of formats, in probe order. */
extern const struct tv_format *const tv_formats[];
extern const size_t tv_format_count;

/* The format that claims blob with the highest confidence, or NULL (err filled). */
const struct tv_format *tv_format_detect(const tv_blob *blob, tv_error *err);
/* The same, probing with name in place of blob->name (a hint for text formats: the name
   of a .gz file without ".gz"); *score gets the winner's confidence. err may be NULL. */
const struct tv_format *tv_format_detect_named(const tv_blob *blob, const char *name,
                                               int *score, tv_error *err);
/* Records blob in m (relative: its name in the file list) and reads it with fmt. */
int tv_model_read_blob(tv_model *m, tv_blob *blob, const char *relative,
                       const struct tv_format *fmt, tv_error *err);
const struct tv_format *tv_format_by_name(const char *name);

/* Reads one file (any format) into m, detecting the format. */
int tv_model_read_file(tv_model *m, const char *path, const char *display_name, tv_error *err);
/* Reads a Hugging Face folder into m (src/folder.c): on disk, or any directory source. */
int tv_model_read_folder(tv_model *m, const char *dir, tv_error *err);
int tv_model_read_dir(tv_model *m, tv_dir *dir, tv_error *err);
/* Whether d holds any file the folder layout reads (config.json, *.safetensors, ...):
   1 yes, 0 no, -1 with err when d cannot be listed. */
int tv_dir_has_model_files(tv_dir *d, tv_error *err);

/* Shared by the safetensors index reader and the folder loader: reads the shards
   listed in an index file next to it. */
int tv_safetensors_read_index(tv_model *m, tv_blob *index_blob, tv_dir *dir,
                              tv_error *err);

/* Reads the shards a pytorch_model.bin.index.json lists (formats/pytorch.c). */
int tv_pytorch_read_index(tv_model *m, tv_blob *index_blob, tv_dir *dir, tv_error *err);

/*
 * Reads a token list (one token per line, id = line number from 0; src/vocab_lines.c)
 * into m: its primary vocabulary, or a secondary one when m already has one; then
 * chooses the embedding again. This is `--vocab FILE`, pairing a bare matrix (.npy)
 * with its words. Returns 0, or -1 with err (m may then hold a partial vocabulary).
 */
int tv_model_read_vocab_lines(tv_model *m, const char *path, tv_error *err);

/* Reads a hidden size from config.json-style keys and records claims (src/config.c). */
int tv_config_read(tv_model *m, tv_blob *blob, enum tv_origin origin, tv_error *err);

/* ---- tokenizer.json and GPT-2 style vocabularies (formats/tokenizer_json.c) --------- */

/*
 * Reads a tokenizer.json text that is not a whole file (GGUF's
 * tokenizer.huggingface.json) into v, which should be empty. The text is copied into
 * the model's arena for v->json_text; origin names it in messages. Returns 0, or -1
 * with err (v may then hold part of the vocabulary; the caller frees the model).
 */
int tv_tokenizer_json_read_text(tv_model *m, struct tv_vocab *v, const uint8_t *text,
                                size_t len, const char *origin, tv_error *err);
/*
 * Adds the tokens of a JSON object token -> id (model.vocab, vocab.json) to v as
 * NORMAL tokens. Every id must be an integer in 0..TV_MAX_TOKENS-1 and the id range
 * no more than twice the token count (+65536); otherwise -1 with err naming file,
 * where ("model.vocab") and the token. A reused id keeps the first token and records
 * a "vocab.duplicate_id" finding.
 */
int tv_vocab_read_id_object(tv_model *m, struct tv_vocab *v, const cJSON *obj, const char *file,
                            const char *where, tv_error *err);
/* Records a "vocab.dense" warning naming the first missing id when v has holes. */
int tv_vocab_note_holes(tv_model *m, const struct tv_vocab *v, const char *file, tv_error *err);
/* Records a "vocab.nul_byte" warning when JSON text escapes a NUL (cJSON cuts strings there). */
int tv_json_note_nul_escapes(tv_model *m, const uint8_t *text, size_t len, const char *file,
                             tv_error *err);
/* llama.cpp's test for added tokens that should be control tokens ("<|...|>", "<pad>"). */
bool tv_token_looks_special(const char *text, size_t len);
/* "a number", "a string", ... for messages ("nothing" for NULL). */
const char *tv_json_type_name(const cJSON *item);
/* Copies bytes into out for a message: control bytes, ' and \ escaped, long ones cut. */
void tv_quote(char *out, size_t cap, const char *s, size_t len);
/* Copies bytes into out for a message: valid UTF-8 as is, else bytes from 0x80 escaped;
   control bytes and ' always escaped; cut with "..." (never inside a character) to fit
   cap, which must be at least 8. */
void tv_show_bytes(char *out, size_t cap, const uint8_t *p, size_t len);

/* ---- embedding health (src/verify_embedding.c) ------------------------------------------- */

/* What one pass over the token embedding says about each row (bits of flags[row]). */
enum {
    TV_ROW_FINITE = 1,  /* no NaN or infinity */
    TV_ROW_NAN = 2,
    TV_ROW_INF = 4,
    TV_ROW_ZERO = 8,    /* finite and all zeros */
    TV_ROW_TOKEN = 16,  /* a token of the vocabulary owns the row (every row when the rows
                           are not token ids) */
    TV_ROW_LOW = 32     /* a low-norm row by verify's rule (src/verify_embedding.c) */
};

struct tv_embedding_health {
    const struct tv_tensor *tensor;  /* the token embedding, or NULL */
    const struct tv_vocab *vocab;    /* whose ids the rows are; NULL when they are not ids */
    uint64_t rows, cols;
    float *norms;                    /* L2 norm of each row */
    uint8_t *flags;                  /* TV_ROW_* of each row */
    bool low_rule;                   /* enough rows and columns to apply the low-norm rule */
    double median, mad;              /* of the norms of the compared rows (when low_rule) */
    double low_below;                /* rows under this norm are low (when low_rule) */
    uint64_t rows_compared, rows_low;
    char why[640];                   /* why the rows cannot be judged (scan returned 1) */
};

/*
 * Reads the token embedding once, block by block, and fills h: each row's norm and
 * flags, and verify's low-norm rule applied (embedding.low_norm). Returns 0; 1 when the
 * rows cannot be judged (no embedding, data not loaded, no F32 kernel, a read error),
 * with h->why saying so; -1 with err when out of memory. Release h with
 * tv_embedding_health_release() after 0 (after 1 or -1 it holds nothing to free).
 */
int tv_embedding_health_scan(const tv_model *m, struct tv_embedding_health *h, tv_error *err);
void tv_embedding_health_release(struct tv_embedding_health *h);

#endif
