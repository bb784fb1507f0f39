/*
 * Private layout of the tokenizer (src/tokenizer/). Only the files of this folder and
 * their tests include it.
 *
 * The pipeline follows Hugging Face `tokenizers` step for step, because the ids must be
 * identical:
 *
 *   text --(added tokens, not normalized)--> pieces
 *        --(normalizers, per piece)--> --(added tokens, normalized)--> pieces
 *        --(pre-tokenizers)--> pieces --(model)--> ids --(post-processor)--> ids
 *
 * A piece (struct tk_piece) is HF's NormalizedString inside a Split: bytes of the
 * normalized text plus, for every byte, the range of the original text it came from,
 * so that ids can be given byte offsets into the input. Pieces are views: splitting
 * one never copies; a normalizer writes a new buffer. Every buffer of one encode call
 * lives in a scratch arena that is reset by the next call.
 *
 * Every stage is plain data (struct tk_normalizer, tk_pretok, tk_decoder, ...) filled by
 * a constructor: tk_config.c builds them from tokenizer.json, tk_gguf.c from the
 * tokenizer.ggml.* keys of a GGUF file. The engine never looks at where they came from.
 */
#ifndef TOKVEC_TOKENIZER_TOK_H
#define TOKVEC_TOKENIZER_TOK_H

#ifndef TOKVEC_INTERNAL
#error "src/tokenizer/tok.h is private to libtokvec"
#endif

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"
#include "tokvec/tokenizer.h"

/* ---- UTF-8 and Unicode properties (tk_unicode.c) --------------------------------- */

/* Decodes the character at s (valid UTF-8 assumed, at least one byte); returns its
   length in bytes and sets *cp. */
static inline int tk_utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0) {
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
          ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return 4;
}

/* Length of the UTF-8 character that starts with byte b (1 for a stray byte). */
static inline int tk_utf8_len(unsigned char b)
{
    return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

static inline int tk_utf8_cp_len(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
int tk_utf8_put(uint32_t cp, char *out);

/*
 * Length of the longest valid UTF-8 prefix of s (Rust's str rules: no surrogates, no
 * overlong forms, at most U+10FFFF). When it is shorter than len, *bad gets the
 * number of bytes of the invalid sequence there (the "maximal subpart" that one
 * U+FFFD replaces, as Rust's String::from_utf8_lossy does).
 */
size_t tk_utf8_valid_prefix(const char *s, size_t len, size_t *bad);

/* Rust's char::is_whitespace (the White_Space property). */
bool tk_is_whitespace(uint32_t cp);
/* General category P* (Rust unicode_categories is_punctuation). */
bool tk_is_punctuation(uint32_t cp);
/* General category N* (Rust char::is_numeric). */
bool tk_is_numeric(uint32_t cp);
/* BERT's is_control: Cc, Cf, Co, Cs except \t \n \r. */
bool tk_is_bert_control(uint32_t cp);
/* General category Mn. */
bool tk_is_mark_nonspacing(uint32_t cp);
/* General category M* (Mn, Mc, Me). */
bool tk_is_mark(uint32_t cp);
/* The CJK blocks BERT surrounds with spaces. */
bool tk_is_chinese_char(uint32_t cp);
/* Rust char::to_lowercase: writes 1 or 2 code points into out, returns the count. */
int tk_lowercase(uint32_t cp, uint32_t out[2]);

/* ---- per-call scratch memory --------------------------------------------------------- */

struct tk_chunk;
struct tk_scratch {
    struct tk_chunk *head;
};
void tk_scratch_init(struct tk_scratch *s);
/* Frees every chunk but the largest, which is kept for the next call. */
void tk_scratch_reset(struct tk_scratch *s);
void tk_scratch_release(struct tk_scratch *s);
/* 8-aligned memory valid until the next reset; NULL on out of memory. */
void *tk_alloc(struct tk_scratch *s, size_t n);

/* ---- hash maps ---------------------------------------------------------------------- */

/* uint64 -> uint64, open addressing (key UINT64_MAX is reserved); key and value share a
   slot so that a look-up touches one cache line. */
struct tk_map64_slot {
    uint64_t key, value;
};
struct tk_map64 {
    struct tk_map64_slot *slots;
    size_t cap, count;
};
void tk_map64_init(struct tk_map64 *m);
void tk_map64_release(struct tk_map64 *m);
/* Sets key -> value (replacing). Returns 0, or -1 on out of memory. */
int tk_map64_set(struct tk_map64 *m, uint64_t key, uint64_t value);
static inline uint64_t tk_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
/* Returns true and sets *value when key is present. */
static inline bool tk_map64_get(const struct tk_map64 *m, uint64_t key, uint64_t *value)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1;
    for (size_t i = tk_mix64(key) & mask;; i = (i + 1) & mask) {
        const struct tk_map64_slot *s = &m->slots[i];
        if (s->key == key) {
            *value = s->value;
            return true;
        }
        if (s->key == UINT64_MAX)
            return false;
    }
}

/* Borrowed byte strings -> uint32, replacing on insert (the last duplicate wins, as a
   JSON object read into a Rust HashMap). */
struct tk_strmap_slot;
struct tk_strmap {
    struct tk_strmap_slot *slots;
    size_t cap, count;
};
void tk_strmap_init(struct tk_strmap *m);
void tk_strmap_release(struct tk_strmap *m);
int tk_strmap_set(struct tk_strmap *m, const char *key, size_t len, uint32_t value);
/* Sets only when the key is absent (the first one wins). Returns 0 or -1 (OOM). */
int tk_strmap_add(struct tk_strmap *m, const char *key, size_t len, uint32_t value);
bool tk_strmap_get(const struct tk_strmap *m, const char *key, size_t len, uint32_t *value);
/* The same with the key's tk_hash() already computed. */
bool tk_strmap_get_hashed(const struct tk_strmap *m, const char *key, size_t len, uint64_t hash,
                          uint32_t *value);
uint64_t tk_hash(const void *p, size_t len);

/* A byte trie: (node, byte) -> child in one uint64 map; node 0 is the root. */
struct tk_trie {
    struct tk_map64 edges;
    uint32_t root[256];     /* children of the root, 0: none (the common first step) */
    int64_t *value;     /* per node: the value of the key ending here, or -1 */
    size_t n_nodes, cap_nodes;
};
void tk_trie_init(struct tk_trie *t);
void tk_trie_release(struct tk_trie *t);
/* Inserts key -> value unless the key is present (the first one wins). 0 or -1. */
int tk_trie_insert(struct tk_trie *t, const char *key, size_t len, int64_t value);
/* The child of node for byte b, or 0 when there is none. */
static inline uint32_t tk_trie_step(const struct tk_trie *t, uint32_t node, unsigned char b)
{
    if (node == 0)
        return t->root[b];
    uint64_t child;
    return tk_map64_get(&t->edges, ((uint64_t)node << 8) | b, &child) ? (uint32_t)child : 0;
}

/* ---- regular expressions (tk_regex.c) ------------------------------------------------ */

/*
 * A compiled pattern. Hugging Face tokenizers uses Oniguruma; its syntax is
 * translated to PCRE2 (\s, \w, \h mean what Oniguruma means by them) and compiled
 * with UTF, UCP and the JIT.
 */
struct tk_regex;
/* Compiles an Oniguruma-syntax pattern. NULL with err ("...: bad regex at offset N"). */
struct tk_regex *tk_regex_new(const char *pattern, size_t len, const char *where, tv_error *err);
/* Compiles a literal string (no metacharacters). */
struct tk_regex *tk_regex_new_literal(const char *text, size_t len, const char *where,
                                      tv_error *err);
void tk_regex_free(struct tk_regex *re);

/* A match or a gap between matches, in bytes of the searched piece. */
struct tk_match {
    uint32_t start, end;
    bool is_match;
};
struct tk_matches {
    struct tk_match *v;
    size_t n, cap;
};

/* Matching state owned by one tokenizer (PCRE2 match data and JIT stack). */
struct tk_regex_ctx {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
};
int tk_regex_ctx_init(struct tk_regex_ctx *c, tv_error *err);
void tk_regex_ctx_release(struct tk_regex_ctx *c);

/*
 * Finds the matches of re in s (valid UTF-8) the way Oniguruma's find_iter does (an
 * empty match right where the previous one ended is skipped) and appends to out the
 * list HF's Pattern::find_matches makes: matches and the gaps between them, covering
 * all of s. Returns 0, or -1 with err.
 */
int tk_regex_find(const struct tk_regex *re, struct tk_regex_ctx *c, const char *s, size_t len,
                  struct tk_matches *out, tv_error *err);
/* Whether re matches anywhere in s (used by tests and by the GGUF constructor). */
int tk_regex_search(const struct tk_regex *re, struct tk_regex_ctx *c, const char *s, size_t len,
                    size_t start, size_t *mstart, size_t *mend);

/* ---- pieces (tk_piece.c) ---------------------------------------------------------------- */

struct tk_span {
    uint32_t start, end;  /* bytes of the original text */
};

struct tk_piece {
    const char *s;               /* normalized bytes */
    uint32_t len;
    /* Per normalized byte, the original range it came from. NULL: the piece is the
       original text itself (s == text + orig_start), each byte aligned to its char. */
    const struct tk_span *align;
    uint32_t orig_start, orig_end;
    int32_t id;                  /* an added token's id, or -1 */
};

struct tk_pieces {
    struct tk_piece *v;
    size_t n, cap;
};

/* A pending change of HF's NormalizedString::transform: the char c replaces the next
   original char (change 0), is inserted (change 1), or replaces it and removes the
   -change chars after it (change < 0). */
struct tk_change {
    uint32_t cp;
    int32_t change;
};

struct tk_changes {
    struct tk_change *v;
    size_t n, cap;
};

/* State of one encode call. */
struct tk_enc {
    struct tk_scratch scratch;
    const char *text;            /* the (valid UTF-8) input */
    size_t text_len;
    struct tk_regex_ctx rx;
    struct tk_matches matches;
    struct tk_changes changes;
    tv_error *err;
};

/* The original range of normalized byte i of p. */
struct tk_span tk_piece_align(const struct tk_enc *e, const struct tk_piece *p, size_t i);
/* The original range of normalized bytes [a, b) of p (a < b). */
struct tk_span tk_piece_range(const struct tk_enc *e, const struct tk_piece *p, size_t a,
                              size_t b);
/* A view of bytes [a, b) of p (HF's slice). */
struct tk_piece tk_piece_slice(const struct tk_enc *e, const struct tk_piece *p, size_t a,
                               size_t b);
/* Applies e->changes to p (HF's transform with initial_offset removed chars). */
int tk_piece_transform(struct tk_enc *e, struct tk_piece *p, size_t initial_offset);
/* HF's NormalizedString::replace: every match of the list becomes content. */
int tk_piece_replace(struct tk_enc *e, struct tk_piece *p, const struct tk_matches *m,
                     const char *content, size_t content_len);
/* HF's prepend (nothing happens on an empty piece). */
int tk_piece_prepend(struct tk_enc *e, struct tk_piece *p, const char *s, size_t len);

enum tk_behavior {
    TK_REMOVED,
    TK_ISOLATED,
    TK_MERGED_WITH_PREVIOUS,
    TK_MERGED_WITH_NEXT,
    TK_CONTIGUOUS
};

/* Appends to out the non-empty pieces of p cut by the match list m with behavior. */
int tk_piece_split(struct tk_enc *e, const struct tk_piece *p, const struct tk_matches *m,
                   enum tk_behavior behavior, bool invert, struct tk_pieces *out);
int tk_pieces_push(struct tk_pieces *ps, const struct tk_piece *p, tv_error *err);

/* ---- patterns ------------------------------------------------------------------------ */

enum tk_pattern_kind {
    TK_PAT_LITERAL,   /* a string (HF: SplitPattern::String, char) */
    TK_PAT_REGEX,     /* an Oniguruma regex */
    TK_PAT_PREDICATE  /* each char for which fn() holds is a match of its own */
};

struct tk_pattern {
    enum tk_pattern_kind kind;
    char *literal;               /* owned */
    size_t literal_len;
    struct tk_regex *re;         /* owned (also for an empty literal) */
    bool (*fn)(uint32_t cp);
};

void tk_pattern_release(struct tk_pattern *p);
/* Fills e->matches with HF's find_matches of pattern over s. */
int tk_pattern_find(struct tk_enc *e, const struct tk_pattern *pat, const char *s, size_t len);

/* ---- normalizers (tk_normalizer.c, tk_precompiled.c) --------------------------------- */

enum tk_norm_kind {
    TK_NORM_NFC, TK_NORM_NFD, TK_NORM_NFKC, TK_NORM_NFKD,
    TK_NORM_LOWERCASE,
    TK_NORM_STRIP,
    TK_NORM_STRIP_ACCENTS,
    TK_NORM_REPLACE,
    TK_NORM_PREPEND,
    TK_NORM_BERT,
    TK_NORM_PRECOMPILED,
    TK_NORM_NMT,
    TK_NORM_BYTE_LEVEL
};

struct tk_precompiled;

struct tk_normalizer {
    enum tk_norm_kind kind;
    bool left, right;                    /* Strip */
    struct tk_pattern pattern;           /* Replace */
    char *content;                       /* Replace content, Prepend text (owned) */
    size_t content_len;
    bool clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
    struct tk_precompiled *precompiled;  /* Precompiled (owned) */
};

void tk_normalizer_release(struct tk_normalizer *n);
/* Applies the list of normalizers to p in order. */
int tk_normalize(struct tk_enc *e, const struct tk_normalizer *list, size_t n,
                 struct tk_piece *p);

/* SentencePiece's precompiled_charsmap (base64 already decoded). NULL with err. */
struct tk_precompiled *tk_precompiled_new(const uint8_t *blob, size_t len, const char *where,
                                          tv_error *err);
void tk_precompiled_free(struct tk_precompiled *pc);
/* The longest key that prefixes s[0..len) (SentencePiece's rule, not the reference's
   grapheme walk): its length, and its replacement in *out; 0 when none. */
size_t tk_precompiled_longest(const struct tk_precompiled *pc, const char *s, size_t len,
                              const char **out, size_t *out_len);
int tk_precompiled_apply(struct tk_enc *e, const struct tk_precompiled *pc, struct tk_piece *p);

/* ---- pre-tokenizers (tk_pretokenizer.c) ------------------------------------------------ */

enum tk_pretok_kind {
    TK_PRE_BYTE_LEVEL,
    TK_PRE_SPLIT,
    TK_PRE_METASPACE,
    TK_PRE_WHITESPACE,
    TK_PRE_WHITESPACE_SPLIT,
    TK_PRE_BERT,
    TK_PRE_PUNCTUATION,
    TK_PRE_DIGITS,
    TK_PRE_CHAR_DELIMITER
};

enum tk_prepend { TK_PREPEND_ALWAYS, TK_PREPEND_FIRST, TK_PREPEND_NEVER };

struct tk_pretok {
    enum tk_pretok_kind kind;
    bool add_prefix_space, use_regex;    /* ByteLevel */
    struct tk_pattern pattern;           /* Split; ByteLevel's GPT-2 regex */
    enum tk_behavior behavior;           /* Split, Punctuation, Digits */
    bool invert;                         /* Split */
    uint32_t replacement;                /* Metaspace; CharDelimiterSplit's delimiter */
    char replacement_utf8[4];
    int replacement_len;
    enum tk_prepend prepend;             /* Metaspace */
    bool split;                          /* Metaspace */
};

void tk_pretok_release(struct tk_pretok *p);
/* Runs one pre-tokenizer over the pieces in *in (pieces with an id pass untouched);
   the result replaces *in (tmp is working room). */
int tk_pretokenize(struct tk_enc *e, const struct tk_pretok *pt, struct tk_pieces *in,
                   struct tk_pieces *tmp);

/* The GPT-2 split regex of the ByteLevel pre-tokenizer. */
extern const char tk_gpt2_regex[];

/* Byte-level alphabet: byte -> code point of the char that shows it, and back
   (-1 for a code point that is not in the alphabet). */
uint32_t tk_byte_to_cp(unsigned char b);
int tk_cp_to_byte(uint32_t cp);

/* ---- models (tk_bpe.c, tk_wordpiece.c, tk_unigram.c) ------------------------------------ */

/* A token of a piece: id and byte range in the piece's normalized text. */
struct tk_tok {
    uint32_t id;
    uint32_t start, end;
};

struct tk_toks {
    struct tk_tok *v;
    size_t n, cap;
};

int tk_toks_push(struct tk_toks *t, uint32_t id, uint32_t start, uint32_t end, tv_error *err);

struct tk_bpe;
struct tk_wordpiece;
struct tk_unigram;
struct tk_spm;

enum tk_model_kind {
    TK_MODEL_BPE,
    TK_MODEL_WORDPIECE,
    TK_MODEL_WORDLEVEL,
    TK_MODEL_UNIGRAM,
    TK_MODEL_SPM        /* SentencePiece BPE over scores (GGUF "llama") */
};

/* What every model shares: the vocabulary the model itself knows (not the added
   tokens), and id -> text for decoding. */
struct tk_model {
    enum tk_model_kind kind;
    struct tk_strmap vocab;          /* token bytes -> id (borrowed keys) */
    const char **id_text;            /* id -> bytes, NULL for a hole */
    uint32_t *id_len;
    size_t n_ids;                    /* highest id + 1 */
    size_t cap_ids;                  /* allocated entries of id_text and id_len */
    size_t vocab_count;              /* entries in vocab (HF's get_vocab_size) */
    const char *unk;                 /* unk token text (BPE, WordPiece, WordLevel) */
    size_t unk_len;
    int64_t unk_id;                  /* -1: none */
    /* BPE */
    struct tk_bpe *bpe;
    /* WordPiece */
    char *prefix;                    /* continuing_subword_prefix (BPE and WordPiece) */
    size_t prefix_len;
    char *suffix;                    /* end_of_word_suffix (BPE) */
    size_t suffix_len;
    size_t max_input_chars;          /* WordPiece */
    char *first_prefix;              /* WordPiece: before a word's first piece (GGUF BERT's
                                        phantom space "▁"); NULL: none */
    size_t first_prefix_len;
    /* Unigram */
    struct tk_unigram *unigram;
    /* SentencePiece over scores */
    struct tk_spm *spm;
    float *scores;                   /* per id (owned), for SPM */
    bool byte_fallback, fuse_unk, ignore_merges;
};

/* Tokenizes one piece's text, appending to out. */
int tk_model_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                      struct tk_toks *out);
void tk_model_release(struct tk_model *m);

/* BPE: builds the merge table and cache once. merges are (left, right) byte strings. */
int tk_bpe_init(struct tk_model *m, const struct tv_merge *merges, size_t n_merges,
                const char *where, tv_error *err);
void tk_bpe_free(struct tk_bpe *b);
int tk_bpe_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                    struct tk_toks *out);
/* Byte-level fast path: tokenizes raw bytes (each byte one initial symbol, looked up
   through the byte-level alphabet); offsets are bytes of s. */
int tk_bpe_tokenize_bytes(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out);
/* Prepares the byte-level fast path; 1 when usable (every byte has its token), 0 when
   not, -1 on error. */
int tk_bpe_enable_bytes(struct tk_model *m, tv_error *err);
int tk_wordpiece_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out);
int tk_wordlevel_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out);
/* SentencePiece BPE over m->scores (llama.cpp's SPM tokenizer). */
int tk_spm_init(struct tk_model *m, tv_error *err);
void tk_spm_free(struct tk_spm *s);
int tk_spm_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                    struct tk_toks *out);
/* Unigram: scores are doubles, index = id. */
int tk_unigram_init(struct tk_model *m, const double *scores, size_t n, tv_error *err);
void tk_unigram_free(struct tk_unigram *u);
int tk_unigram_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                        struct tk_toks *out);

/* ---- added tokens (tk_added.c) ------------------------------------------------------------ */

/* An added token as tokenizer.json lists it (the input of tk_added_build). */
struct tk_added {
    const char *content;   /* borrowed by the input list, owned (copied) inside the vocab */
    uint32_t len;
    uint32_t id;           /* assigned as the reference does (see tk_added_build) */
    bool special, single_word, lstrip, rstrip, normalized;
};

struct tk_added_vocab {
    struct tk_added *v;    /* one entry per id (the reference's added_tokens_map_r) */
    size_t n, cap;
    char *pool;            /* the contents */
    struct tk_trie plain, normalized;  /* values: index into v */
    bool has_plain, has_normalized;
    struct tk_strmap special_set;      /* contents of the special tokens */
    struct tk_map64 by_id;             /* id -> index into v */
    struct tk_regex *word;             /* \w for single_word tokens, or NULL */
};

void tk_added_release(struct tk_added_vocab *a);
/* Splits p on the added tokens of trie (HF's find_matches + split_with_indices). */
int tk_added_split(struct tk_enc *e, const struct tk_added_vocab *a, bool normalized,
                   bool parse_special, const struct tk_piece *p, struct tk_pieces *out);

/* ---- decoders and post-processors (tk_decoder.c) ---------------------------------------- */

enum tk_decoder_kind {
    TK_DEC_BYTE_LEVEL,
    TK_DEC_METASPACE,
    TK_DEC_WORDPIECE,
    TK_DEC_BYTE_FALLBACK,
    TK_DEC_FUSE,
    TK_DEC_STRIP,
    TK_DEC_REPLACE,
    TK_DEC_BPE,
    TK_DEC_CTC
};

struct tk_decoder {
    enum tk_decoder_kind kind;
    uint32_t replacement;           /* Metaspace */
    enum tk_prepend prepend;        /* Metaspace */
    char *text;                     /* WordPiece prefix, BPE suffix, Replace content,
                                       CTC pad token (owned) */
    size_t text_len;
    char *text2;                    /* CTC word delimiter (owned) */
    size_t text2_len;
    bool cleanup;                   /* WordPiece, CTC */
    uint32_t strip_char;            /* Strip */
    size_t strip_start, strip_stop;
    struct tk_pattern pattern;      /* Replace */
};

void tk_decoder_release(struct tk_decoder *d);

/* A list of byte strings being decoded (scratch memory). */
struct tk_strs {
    const char **s;
    size_t *len;
    size_t n, cap;
};

int tk_strs_push(struct tk_strs *l, const char *s, size_t len, tv_error *err);
/* Runs one decoder's decode_chain on in, writing the result to out (emptied first). */
int tk_decode_step(struct tk_enc *e, const struct tk_decoder *d, const struct tk_strs *in,
                   struct tk_strs *out);

enum tk_proc_kind { TK_PROC_TEMPLATE, TK_PROC_BERT, TK_PROC_ROBERTA, TK_PROC_BYTE_LEVEL };

struct tk_template_item {
    bool is_sequence;               /* $A (or $B) */
    uint32_t *ids;                  /* a special token's ids (owned) */
    size_t n_ids;
};

struct tk_processor {
    enum tk_proc_kind kind;
    struct tk_template_item *items; /* Template "single" (owned) */
    size_t n_items;
    uint32_t cls, sep;              /* Bert, Roberta */
    bool trim_offsets, add_prefix_space; /* Roberta, ByteLevel */
};

void tk_processor_release(struct tk_processor *p);

/* ---- the tokenizer ---------------------------------------------------------------------- */

struct tv_tokenizer {
    const tv_model *model;
    const char *origin;             /* display name of the vocabulary's file */
    struct tk_normalizer *norms;
    size_t n_norms;
    struct tk_pretok *pretoks;
    size_t n_pretoks;
    struct tk_model m;
    struct tk_decoder *decoders;
    size_t n_decoders;
    bool has_decoder;
    struct tk_processor *procs;
    size_t n_procs;
    struct tk_added_vocab added;
    /* GGUF: BOS/EOS added for TV_ENCODE_ADD_SPECIAL without a post-processor. */
    int64_t add_bos_id, add_eos_id;
    /* Byte-level fast path: no normalizer, ByteLevel (or Split + ByteLevel) pre-tokenizer
       with a BPE model. */
    bool fast_byte_level;
    bool byte_level_display;        /* pieces are in the byte-level alphabet */
    /* GGUF byte-level BPE: added tokens hold raw text, which llama.cpp outputs as it is;
       decode spells them in the byte-level alphabet so the ByteLevel decoder gives it back */
    bool added_raw_text;
    /* GGUF BERT: the vocabulary's "▁x" / "x" are spelled "x" / "##x" for the WordPiece
       decoder (added tokens as they are) */
    bool phantom_wordpiece;
    /* A SentencePiece .model file: the library's own pipeline (tk_sentencepiece.c)
       encodes and decodes instead of the stages above; NULL otherwise. */
    struct tk_sp *sp;
    struct tk_enc enc;
    struct tk_pieces pieces, tmp;
    struct tk_toks toks;
};

/* Constructors (tk_config.c, tk_gguf.c, tk_sentencepiece.c): fill t from the vocabulary.
   0 or -1 with err. */
int tk_config_from_json(tv_tokenizer *t, struct tv_vocab *v, tv_error *err);
int tk_config_from_gguf(tv_tokenizer *t, struct tv_vocab *v, tv_error *err);
int tk_config_from_vocab(tv_tokenizer *t, struct tv_vocab *v, tv_error *err);
int tk_config_from_spm_file(tv_tokenizer *t, struct tv_vocab *v, tv_error *err);
/* SentencePiece .model files (tk_sentencepiece.c): the library's normalizer and models
   over the raw text, appending to out (offsets when asked); its decoder. */
struct tk_sp;
void tk_sp_free(struct tk_sp *sp);
int tk_sp_encode(tv_tokenizer *t, const char *text, size_t len, bool offsets, struct tv_ids *out,
                 tv_error *err);
int tk_sp_decode(tv_tokenizer *t, const uint32_t *ids, size_t n, unsigned flags, char **text,
                 size_t *len, tv_error *err);
/* Fills t->m's vocabulary (token -> id, id -> token) from the vocabulary arrays. */
int tk_model_from_arrays(tv_tokenizer *t, struct tv_vocab *v, tv_error *err);
/* Finishes the added vocabulary (ids as the reference assigns them, tries). */
int tk_added_build(tv_tokenizer *t, const struct tk_added *list, size_t n, tv_error *err);

/* Runs the normalizers of t over a standalone string (for normalized added tokens).
   *out is scratch memory of e. */
int tk_normalize_string(tv_tokenizer *t, const char *s, size_t len, const char **out,
                        size_t *out_len, tv_error *err);

#endif
