/*
 * A vocabulary seen the way another format stores it. Readers fill struct tv_vocab
 * from whatever the source said; writers need the same vocabulary in their own terms:
 * GGUF's tokenizer.ggml.* arrays, or a Hugging Face tokenizer.json. These two views
 * are computed here (src/vocab_export.c) so that no writer talks to another format.
 */
#ifndef TOKVEC_VOCAB_EXPORT_H
#define TOKVEC_VOCAB_EXPORT_H

#include "internal.h"

/* The tokenizer.ggml.* view of a vocabulary. Every pointer is owned by the struct
   (or borrowed from the model, which must outlive it); release with
   tv_ggml_vocab_release. */
struct tv_ggml_vocab {
    const char *model;            /* "gpt2", "llama", "bert", "t5", ... */
    const char *pre;              /* "gpt-2", "llama-bpe", "qwen2", ... or NULL */
    size_t n_tokens;
    struct tv_str *tokens;        /* as GGUF stores them (bert: phantom-space form) */
    float *scores;                /* n_tokens, or NULL when the source has none */
    int32_t *types;               /* n_tokens, enum tv_token_type values */
    size_t n_merges;
    struct tv_str *merges;        /* "left right" */
    int64_t special[TV_SPECIAL_COUNT]; /* -1: none */
    int add_bos, add_eos, add_space_prefix; /* -1: unknown (not written) */
    const char *hf_json;          /* the original tokenizer.json text, or NULL */
    size_t hf_json_len;
    struct tv_arena arena;        /* backing store for the strings above */
    /* Added after the first version (append only): */
    bool pre_unrecognised;        /* a BPE pre-tokenizer tokvec could not name; pre is NULL
                                     and llama.cpp will fall back to its "default" */
    const uint8_t *precompiled_charsmap; /* t5: SentencePiece's normalisation table, or NULL */
    size_t precompiled_charsmap_len;
    int remove_extra_whitespaces; /* t5/llama: -1 unknown (not written) */
    const char *dropped;          /* tokenizer.json components the GGUF model cannot express
                                     ("normalizer 'BertNormalizer'"), for a warning; or NULL */
};

/*
 * Computes the GGUF view of the model's primary vocabulary (token types derived the
 * way llama.cpp's converter does, tokenizer.ggml.pre recognised from the pre-tokenizer
 * when known). Returns 0, or -1 with err (e.g. a tokenizer kind GGUF cannot express).
 */
int tv_ggml_vocab_from_model(const tv_model *m, struct tv_ggml_vocab *out, tv_error *err);
void tv_ggml_vocab_release(struct tv_ggml_vocab *v);

/*
 * Produces a tokenizer.json text for the model's primary vocabulary, loadable by Hugging
 * Face tokenizers: the original text unchanged when the source carried one (a
 * tokenizer.json, or GGUF's tokenizer.huggingface.json); otherwise rebuilt from the
 * GGUF vocabulary (model, normalizer, pre-tokenizer, post-processor, decoder for the
 * four GGUF tokenizer models, undoing bert's phantom-space rewrite); a plain word list
 * (word vectors, a token list) as a WordLevel model with a WhitespaceSplit pre-tokenizer.
 * *json is tv_malloc'ed and owned by the caller.
 */
int tv_tokenizer_json_from_model(const tv_model *m, char **json, size_t *len, tv_error *err);

/*
 * The same tokenizer.json rebuilt from the GGUF view even when the source carried the
 * original text (so that tests can check the rebuild on every vocabulary). Returns 0, or
 * -1 with err (a tokenizer.ggml.model or .pre that has no tokenizer.json form, a token
 * that is not valid UTF-8). *json is tv_malloc'ed and owned by the caller.
 */
int tv_tokenizer_json_rebuild(const tv_model *m, char **json, size_t *len, tv_error *err);

#endif
