/*
 * tokvec report: the numbers behind a one-page picture of a model's vocabulary and
 * token embedding: where the tensor bytes go, how the vocabulary is made up (token
 * types, lengths, Unicode scripts, the longest tokens), how the embedding rows' norms
 * spread (with verify's low-norm outliers and NaN / zero rows), a 2-D PCA map of a word
 * list, and the results of verify.
 *
 * The library computes and returns data only; `tokvec report` renders it as one
 * self-contained HTML page or as JSON (see the README section "Report").
 */
#ifndef TOKVEC_REPORT_H
#define TOKVEC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokvec/tokvec.h"
#include "tokvec/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Unicode scripts ------------------------------------------------------------------ */

enum tv_script {
    TV_SCRIPT_LATIN, TV_SCRIPT_CYRILLIC, TV_SCRIPT_GREEK, TV_SCRIPT_ARMENIAN,
    TV_SCRIPT_HEBREW, TV_SCRIPT_ARABIC, TV_SCRIPT_SYRIAC, TV_SCRIPT_THAANA,
    TV_SCRIPT_DEVANAGARI, TV_SCRIPT_BENGALI, TV_SCRIPT_GURMUKHI, TV_SCRIPT_GUJARATI,
    TV_SCRIPT_ORIYA, TV_SCRIPT_TAMIL, TV_SCRIPT_TELUGU, TV_SCRIPT_KANNADA,
    TV_SCRIPT_MALAYALAM, TV_SCRIPT_SINHALA, TV_SCRIPT_THAI, TV_SCRIPT_LAO,
    TV_SCRIPT_TIBETAN, TV_SCRIPT_MYANMAR, TV_SCRIPT_GEORGIAN, TV_SCRIPT_HANGUL,
    TV_SCRIPT_ETHIOPIC, TV_SCRIPT_KHMER, TV_SCRIPT_MONGOLIAN, TV_SCRIPT_HIRAGANA,
    TV_SCRIPT_KATAKANA, TV_SCRIPT_BOPOMOFO, TV_SCRIPT_HAN,
    TV_SCRIPT_OTHER,   /* a letter of a script not listed above */
    /* what a text can be besides one script */
    TV_SCRIPT_COMMON,  /* no letters: digits, punctuation, spaces, symbols, emoji */
    TV_SCRIPT_MIXED,   /* letters of two or more scripts */
    TV_SCRIPT_BYTES,   /* not whole UTF-8 characters (a byte token, part of a character) */
    TV_SCRIPT_SPECIAL, /* a special, control or unknown token (<s>, <|endoftext|>) */
    TV_SCRIPT_COUNT
};

/* "Latin", "Han", ..., "other", "no letters", "mixed", "bytes", "special". */
const char *tv_script_name(enum tv_script script);

/*
 * The script of a code point: one of the listed scripts for a letter or mark (Unicode
 * general category L* or M*) in one of that script's blocks, TV_SCRIPT_OTHER for a
 * letter or mark elsewhere, TV_SCRIPT_COMMON for everything else (digits, punctuation,
 * symbols, the generic combining-mark blocks). Blocks, not the Scripts property: see
 * src/report_script.c.
 */
enum tv_script tv_script_of(uint32_t cp);

/*
 * The script of a text: TV_SCRIPT_BYTES when it is not valid UTF-8, else the one script
 * of its letters, TV_SCRIPT_MIXED for several, TV_SCRIPT_COMMON for none.
 */
enum tv_script tv_text_script(const char *text, size_t len);

/* ---- tensor parts --------------------------------------------------------------------- */

/* Where the bytes of a model go. */
enum tv_tensor_part {
    TV_PART_EMBEDDING, /* token (and position / type) embeddings */
    TV_PART_OUTPUT,    /* the output head (lm_head, output.weight) */
    TV_PART_ATTENTION,
    TV_PART_MLP,       /* feed-forward layers, experts included */
    TV_PART_NORM,      /* layer norms and RMS norms */
    TV_PART_OTHER,
    TV_PART_COUNT
};

/* "embedding", "output head", "attention", "MLP", "norms", "other". */
const char *tv_tensor_part_name(enum tv_tensor_part part);
/* The part a tensor belongs to by its name, GGUF or Hugging Face style (the patterns
   are listed in src/report.c and the README). */
enum tv_tensor_part tv_tensor_part_of(const char *name);

/* ---- PCA -------------------------------------------------------------------------------- */

/*
 * The first two principal components of n points of dim values each (row after row):
 * the points are centred and the two leading eigenvectors of their covariance (divided
 * by n - 1) found by power iteration, the second after deflating the first, in double
 * precision. Writes each point's coordinates on the two axes to xy (2 * n doubles: x0,
 * y0, x1, ...), the axes to axes when not NULL (2 * dim doubles), their variances (the
 * eigenvalues) to variance[2] and the total variance (the covariance's trace) to
 * *total. An axis is signed so that its component of largest magnitude is positive.
 * Needs n >= 2. Returns 0, or -1 with err (n < 2 or dim = 0, out of memory).
 */
int tv_pca2(const double *points, size_t n, size_t dim, double *xy, double *axes,
            double variance[2], double *total, tv_error *err);

/* ---- the report -------------------------------------------------------------------------- */

struct tv_report_options {
    const char *const *words; /* the words of the map; NULL: tv_report_default_words() */
    size_t n_words;
    size_t longest;           /* how many of the longest tokens to list (default 20) */
    size_t max_length;        /* length histograms: one bin per length up to max_length,
                                 which also holds longer tokens (default 32) */
    size_t norm_bins;         /* bins of the norm histogram (default 40) */
    size_t max_listed;        /* rows listed per kind: low, non-finite, zero (default 50) */
    bool run_verify;          /* run verify and keep its report (default true) */
    const struct tv_verify_options *verify; /* for verify; NULL: its defaults */
};

/* Fills opt with the defaults above. */
void tv_report_options_init(struct tv_report_options *opt);
/* The default word list (fruit, royalty, people, animals, cities, countries, numbers,
   colours, days); *n gets its length. Static strings. */
const char *const *tv_report_default_words(size_t *n);

/* A token in a list: its id, and its length in bytes and characters (as below). */
struct tv_report_token {
    uint32_t id;
    uint32_t bytes, chars;
};

/* An embedding row in a list. */
struct tv_report_row {
    uint64_t row;
    double norm;
    bool token;               /* a token of the vocabulary owns the row (not padding) */
};

/* Tokens by length: counts[i] tokens of length i, for i = 0 .. min(longest, max_length);
   when longest > max_length the last bin also holds every longer token. */
struct tv_length_histogram {
    size_t n_bins;
    uint64_t *counts;
    uint64_t longest;         /* the longest length seen */
};

/* Equal-width bins over [lo, hi]: bin i covers [lo + i w, lo + (i + 1) w), w =
   (hi - lo) / n_bins, the last bin includes hi. */
struct tv_histogram {
    size_t n_bins;
    uint64_t *counts;
    uint64_t *marked;         /* per bin: how many of its rows are low-norm outliers */
    double lo, hi;
};

/* How a word of the map was found. */
enum tv_word_how {
    TV_WORD_TOKEN,            /* one token */
    TV_WORD_TOKENS,           /* several tokens: the point is the mean of their rows */
    TV_WORD_MISSING           /* not placed (why says why) */
};

struct tv_report_word {
    const char *word;         /* as given */
    enum tv_word_how how;
    uint32_t *ids;            /* the tokens (n_ids) */
    size_t n_ids;
    const char *why;          /* TV_WORD_MISSING: why, else NULL */
    double x, y;              /* coordinates on the map (placed words when the map exists) */
};

/*
 * The report. Lengths and scripts are those of the text a token stands for: GPT-2's
 * byte-level alphabet decoded back to bytes, SentencePiece's "▁" read as a space, byte
 * tokens (<0x41>) as their byte, WordPiece's "##" prefix dropped; characters are
 * Unicode code points (a byte that is not part of a whole UTF-8 character counts as
 * one). Special, control and unknown tokens are counted as they are spelled.
 */
struct tv_report {
    tv_verify_report *verify;          /* NULL when not run */

    /* tensors */
    size_t n_tensors;
    size_t *by_size;                   /* tensor indexes, largest first (ties: model order) */
    uint8_t *part;                     /* enum tv_tensor_part of each tensor (model order) */
    uint64_t part_bytes[TV_PART_COUNT];
    uint64_t part_tensors[TV_PART_COUNT];
    uint64_t total_bytes;

    /* vocabulary (all zero when the model has none) */
    size_t vocab_ids;                  /* highest id + 1 */
    size_t vocab_tokens;               /* ids that have a token */
    uint64_t by_type[TV_TOKEN_BYTE + 1]; /* indexed by enum tv_token_type */
    struct tv_length_histogram length_bytes, length_chars;
    uint64_t by_script[TV_SCRIPT_COUNT];
    struct tv_report_token *longest;   /* by characters, then bytes; specials left out */
    size_t n_longest;

    /* embedding */
    const struct tv_tensor *embedding; /* NULL when the model has none */
    bool rows_judged;                  /* the rows were read (else embedding_why says why) */
    char embedding_why[640];
    bool rows_are_tokens;              /* row i is token i (not a model2vec row map) */
    uint64_t rows, cols;
    struct tv_histogram norms;         /* the norms of the finite rows */
    bool low_rule;                     /* verify's low-norm rule applied */
    double median_norm, mad, low_below;
    uint64_t rows_low, rows_nonfinite, rows_nan, rows_zero;
    struct tv_report_row *low;         /* lowest norm first */
    size_t n_low;
    struct tv_report_row *nonfinite, *zero; /* in row order */
    size_t n_nonfinite, n_zero;

    /* the map */
    struct tv_report_word *words;      /* in the order given */
    size_t n_words;
    size_t n_placed;                   /* words on the map */
    bool has_map;                      /* at least 2 words were placed (else map_why) */
    char map_why[640];
    double explained[2];               /* share of the points' variance along x and y */
    const char *tokenizer_why;         /* why words were looked up without a tokenizer,
                                          NULL when a tokenizer was used */

    struct tv_report_private *priv;
};

/*
 * Computes the report for m. Reads the embedding once, block by block (and verify,
 * when run, reads it once more). opt may be NULL. A problem in the model is never an
 * error here: it shows in the report. Returns a new report, or NULL with err (out of
 * memory, an unknown check id in opt->verify). m must outlive the report; free the
 * report with tv_report_free() first.
 */
struct tv_report *tv_report_new(tv_model *m, const struct tv_report_options *opt,
                                tv_error *err);
void tv_report_free(struct tv_report *r);

/*
 * A printable form of token id for people, into buf (cap bytes, NUL-terminated, cut
 * when too long): the model's tokenizer's (tv_token_piece: spaces as "␣", bytes that
 * are not whole characters as \xNN) when one could be built, else the same rules
 * applied to the vocabulary. Returns the length of the full form, or -1 when id has
 * no token.
 */
int tv_report_token_piece(const struct tv_report *r, uint32_t id, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
