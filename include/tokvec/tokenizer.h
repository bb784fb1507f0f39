/*
 * tokvec tokenizer: text -> ids and ids -> text, id for id what Hugging Face
 * `tokenizers` produces for the same tokenizer.json (and what llama.cpp produces for a
 * GGUF vocabulary, and the SentencePiece library for a SentencePiece .model file).
 *
 * A tokenizer borrows its model: free the tokenizer before the model. A tokenizer is
 * used by one thread at a time (it keeps scratch memory and caches between calls);
 * several tokenizers may be built from, and share, one model.
 */
#ifndef TOKVEC_TOKENIZER_H
#define TOKVEC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "tokvec/tokvec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tv_tokenizer tv_tokenizer; /* opaque */

/* Flags of tv_encode(). */
enum {
    /* Add what the post-processor adds (BOS/EOS, [CLS]/[SEP]); for GGUF vocabularies,
       BOS/EOS as tokenizer.ggml.add_bos_token/add_eos_token say; for a SentencePiece
       .model, its BOS piece (EOS at the end when it has none). Off by default, as
       the reference's add_special_tokens=False. */
    TV_ENCODE_ADD_SPECIAL = 1u << 0,
    /* Special tokens written in the text ("<|endoftext|>") are plain text: they are
       not matched as one token but tokenized like any other text. (A SentencePiece
       .model never matches its control pieces in the text, as that library.) */
    TV_ENCODE_NO_PARSE_SPECIAL = 1u << 1,
    /* Fill tv_ids.offsets with the byte range of the input each id came from. */
    TV_ENCODE_OFFSETS = 1u << 2
};

/* Flags of tv_decode(). */
enum {
    TV_DECODE_SKIP_SPECIAL = 1u << 0  /* leave out special tokens (BOS, EOS, [CLS], ...) */
};

struct tv_offset {
    size_t start, end;  /* bytes of the input text; start == end for an added BOS/EOS */
};

/* The result of an encode call; caller-owned, reused across calls. */
struct tv_ids {
    uint32_t *ids;
    struct tv_offset *offsets;  /* n entries when TV_ENCODE_OFFSETS was given (else not
                                   filled: stale or NULL) */
    size_t n;
    size_t cap, cap_offsets;
};

/* Prepares an empty tv_ids. */
void tv_ids_init(struct tv_ids *ids);
/* Frees the arrays of ids (not ids itself) and leaves it empty. */
void tv_ids_release(struct tv_ids *ids);

/*
 * Builds a tokenizer for the model's (primary) vocabulary: from its tokenizer.json
 * description when the source had one, else from the GGUF tokenizer.ggml.* keys, else
 * from the plain vocabulary files (vocab.json + merges.txt, vocab.txt). Returns NULL
 * with err when the model has no vocabulary or uses something not supported, naming
 * the type and where it is ("tokenizer.json: normalizer.normalizers[2]: unknown type
 * 'Foo'"). The tokenizer borrows m; free it with tv_tokenizer_free() before m.
 */
tv_tokenizer *tv_tokenizer_new(const tv_model *m, tv_error *err);

/* Frees the tokenizer. NULL is fine. */
void tv_tokenizer_free(tv_tokenizer *t);

/*
 * Encodes len bytes of text into out (its previous contents are replaced). Bytes
 * that are not valid UTF-8 are read as U+FFFD (one per invalid sequence, as Rust's
 * String::from_utf8_lossy does; for a SentencePiece .model, one per invalid byte, as
 * that library reads them); their offsets cover the invalid bytes. Returns 0, or
 * -1 with err (out of memory, a text over 1 GiB, a vocabulary missing its unknown
 * token when one is needed). flags: TV_ENCODE_*.
 */
int tv_encode(tv_tokenizer *t, const char *text, size_t len, unsigned flags, struct tv_ids *out,
              tv_error *err);

/*
 * Decodes n ids into text through the tokenizer's decoder (bytes that do not form
 * UTF-8 become U+FFFD, as the reference does). On success *text is a new
 * NUL-terminated string the caller frees with tv_string_free(), *len its length. An
 * id without a token is an error naming the id and the vocabulary size.
 * flags: TV_DECODE_*.
 */
int tv_decode(tv_tokenizer *t, const uint32_t *ids, size_t n, unsigned flags, char **text,
              size_t *len, tv_error *err);

/* Frees a string returned by tv_decode(). NULL is fine. */
void tv_string_free(char *s);

/* Number of ids the tokenizer can produce or decode (model vocabulary and added tokens). */
size_t tv_tokenizer_vocab_size(const tv_tokenizer *t);

/*
 * The token's text as stored in the vocabulary ("Ġlove", "▁love", "##ing", "<s>"),
 * borrowed from the model; *len gets its length. NULL when id has no token.
 */
const char *tv_token_text(const tv_tokenizer *t, uint32_t id, size_t *len);

/*
 * Writes a printable form of token id into buf (at most cap bytes, NUL-terminated,
 * cut when too long): the text the token stands for, with byte-level and
 * SentencePiece spellings undone, each space shown as "␣", and control characters and
 * bytes that are not whole UTF-8 characters as \xNN ("␣love", "\xe4", "<s>"). Returns
 * the length of the full form (like snprintf), or -1 when id has no token.
 */
int tv_token_piece(const tv_tokenizer *t, uint32_t id, char *buf, size_t cap);

/* Whether id is a special token (an added token marked special, or a control token). */
int tv_token_is_special(const tv_tokenizer *t, uint32_t id);

#ifdef __cplusplus
}
#endif

#endif
