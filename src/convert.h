/*
 * The write plan: what a writer puts in its output, decided once from the model and
 * the write options before a single byte is written (src/convert.c). The format
 * writers (formats/gguf.c, formats/safetensors.c) lay the plan out in their own
 * bytes and stream each tensor through tv_write_plan_tensor.
 *
 * A plan decides, for every tensor it keeps:
 *   - the output name (GGUF: the token embedding becomes token_embd.weight;
 *     safetensors: the embedding gets its architecture's conventional name). Between
 *     a GGUF and Hugging Face names (GGUF -> safetensors or folder, a Hugging Face source
 *     -> GGUF) the output head is renamed (output.weight <-> lm_head.weight), and a llama
 *     model gets every name of the other side, with the rows of its q and k projections
 *     permuted as llama.cpp's converter permutes them (or back);
 *   - the output dtype (keep, or --dtype for floating-point tensors of 2 or more
 *     dimensions; what the target cannot hold is decoded to F32 when that is exact
 *     and refused otherwise);
 *   - the output bytes.
 * Everything the target cannot represent is refused here, naming the tensor.
 */
#ifndef TOKVEC_CONVERT_H
#define TOKVEC_CONVERT_H

#include "internal.h"

struct tv_ggml_vocab; /* src/vocab_export.h */

enum tv_write_target { TV_TARGET_GGUF, TV_TARGET_SAFETENSORS };

struct tv_plan_tensor {
    const struct tv_tensor *src;
    const char *name;          /* output name, NUL-terminated (model or plan arena) */
    enum tv_dtype dtype;       /* output dtype */
    uint64_t n_bytes;          /* output bytes */
    bool is_embedding;
    /* llama.cpp's permutation of a llama model's q and k rows (for its rotary embedding):
       0, or the rows of one attention head, which are regrouped (row 2i + j of a GGUF
       head is row j * head_rows / 2 + i of the Hugging Face head). */
    uint64_t head_rows;
    bool to_gguf;              /* its direction: Hugging Face -> GGUF, or back */
};

/* Tensor names on the way: kept, or from one side's convention to the other's. */
enum tv_naming { TV_NAMES_KEEP, TV_NAMES_TO_HF, TV_NAMES_TO_GGUF };

/* A key/value the plan adds to a GGUF output (a Hugging Face source's architecture
   numbers under llama.cpp's keys); key in the plan's arena. */
struct tv_plan_kv {
    const char *key;
    struct tv_value value;
};

struct tv_write_plan {
    const tv_model *m;
    const struct tv_write_options *opt;
    enum tv_write_target target;
    const char *out_name;      /* the output path, for messages */

    struct tv_plan_tensor *tensors; /* in the model's order */
    size_t n_tensors;
    uint64_t total_bytes;      /* sum of the output bytes of every tensor */
    bool quantized;            /* some output tensor is block-quantized */
    bool dtype_changed;        /* some output tensor has another dtype than its source */

    /* What the model says about itself (NULL / 0 / -1 when unknown). */
    const char *arch;          /* GGUF architecture name: "llama", "gpt2", "bert", ... */
    const char *model_name;    /* general.name */
    uint64_t n_vocab;
    uint64_t hidden;
    int tied;                  /* tie_word_embeddings */

    /* GGUF: the vocabulary as tokenizer.ggml.* (NULL without a vocabulary), computed and
       checked for losses (dropped, pre_unrecognised) before anything is written. */
    struct tv_ggml_vocab *ggml_vocab;

    enum tv_naming naming;
    uint64_t n_head, n_head_kv; /* attention heads for the q/k permutation; 0: unknown */
    struct tv_plan_kv *kv;      /* GGUF: key/values to add (n_kv) */
    size_t n_kv;

    /* Streaming state: shared by every file of one output (a folder's shards). */
    size_t tensors_done;
    uint64_t bytes_done;
    float *scratch;            /* conversion scratch: scratch_n floats */
    size_t scratch_n;
    uint8_t *buf;              /* converted bytes waiting to be written */
    size_t buf_len;
    struct tv_arena arena;
};

/*
 * Computes the plan for writing m to out_name in target's format. Returns 0, or -1
 * with err naming the tensor (or key) the target cannot represent. The plan borrows
 * m and opt, which must outlive it; release it with tv_write_plan_release (also
 * after a failure).
 */
int tv_write_plan_init(struct tv_write_plan *p, const tv_model *m,
                       const struct tv_write_options *opt, enum tv_write_target target,
                       const char *out_name, tv_error *err);
void tv_write_plan_release(struct tv_write_plan *p);

/*
 * Streams tensor i of the plan into out: a byte copy when the dtype is kept, else
 * converted in chunks of at most scratch_n elements. Memory stays bounded: source
 * pages already written are dropped from a file mapping as it goes. Calls the
 * progress callback afterwards. Returns 0, or -1 with err naming the tensor.
 */
int tv_write_plan_tensor(struct tv_write_plan *p, size_t i, tv_out *out, tv_error *err);

/* The ggml tensor type of the architecture's GGUF name for it ("token_embd.weight"). */
#define TV_GGUF_EMBEDDING_NAME "token_embd.weight"

/* llama.cpp's general.file_type for a tensor dtype (LLAMA_FTYPE_*), -1 if none. */
int tv_gguf_file_type(enum tv_dtype dtype);

/* formats/gguf.c: writes the whole plan as one GGUF v3 file. */
int tv_gguf_write_plan(struct tv_write_plan *p, tv_out *out, tv_error *err);

/*
 * formats/safetensors.c: writes the n plan tensors whose indices are in idx as one
 * safetensors file (a whole output, or one shard of a folder), laid out the way the
 * reference writer lays them out.
 */
int tv_safetensors_write_part(struct tv_write_plan *p, const size_t *idx, size_t n,
                              tv_out *out, tv_error *err);

/* Appends s as a JSON string (quoted and escaped the way serde_json escapes) to a
   tv_malloc'ed buffer. Returns 0, or -1 when s is not valid UTF-8 or on OOM. */
struct tv_text {
    char *ptr;
    size_t len, cap;
    bool failed;
};
void tv_text_release(struct tv_text *t);
void tv_text_append(struct tv_text *t, const char *s, size_t len);
void tv_text_printf(struct tv_text *t, const char *fmt, ...) TV_PRINTF(2, 3);
int tv_text_json_string(struct tv_text *t, const char *s, size_t len);

#endif
