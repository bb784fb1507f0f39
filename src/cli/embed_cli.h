/*
 * What tokvec embed, similar, analogy and distance share (src/cli/embed_cli.c):
 * opening a model with its embedding, turning a query into token ids, showing tokens
 * and results, option values, and reading and writing .npy files.
 */
#ifndef TOKVEC_EMBED_CLI_H
#define TOKVEC_EMBED_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "tokvec/embed.h"
#include "tokvec/tokenizer.h"

/* A model opened for the embedding commands. */
struct embed_ctx {
    const char *path;
    tv_model *m;
    tv_embed *e;
    tv_tokenizer *tok;      /* built on first need */
    bool tok_tried;
    tv_error tok_err;       /* why it could not be built */
};

/* Opens path and binds its embedding. Returns CLI_OK, or CLI_FAIL (reported). */
int embed_open(struct embed_ctx *c, const char *path, const struct tv_open_options *opt);
void embed_close(struct embed_ctx *c);

enum embed_query_kind {
    QUERY_TOKEN, /* the text is one token */
    QUERY_TEXT,  /* a text of several tokens: the mean of their rows */
    QUERY_IDS    /* ids given on the command line */
};

struct embed_query {
    enum embed_query_kind kind;
    const char *text;  /* as given (QUERY_TOKEN, QUERY_TEXT) */
    size_t len;
    uint32_t *ids;     /* tv_malloc'ed */
    size_t n;
};

/* How embed_query_text reads a text. */
enum {
    /* Tokenise the text as `tokvec encode` does (embed); without it a text that is one
       token, exactly or in the vocabulary's spelling, is that token (the queries of
       similar, analogy and distance), and only other texts are tokenised. */
    QUERY_TOKENIZE_FIRST = 1u << 0,
    /* The text must be one token (analogy). */
    QUERY_ONE_TOKEN = 1u << 1
};

/*
 * Resolves a text to ids. For word-vector files (no tokenizer) the text is one word,
 * looked up as is. Otherwise, unless QUERY_TOKENIZE_FIRST: the token whose bytes are
 * exactly the text, else the token the text spells in the vocabulary's alphabet (a
 * leading space as GPT-2's "Ġ" or SentencePiece's "▁"), else the text's tokens from the
 * model's tokenizer (tv_encode, no special tokens added): one token is QUERY_TOKEN,
 * several QUERY_TEXT (their mean). With QUERY_TOKENIZE_FIRST the tokenizer comes first;
 * when the model's tokenizer cannot be built, the one-token lookups are still tried. Returns CLI_OK, or CLI_FAIL (reported: an empty
 * text, a text without tokens, a word or token that does not exist, a tokenizer that
 * cannot be built) naming what was given and the vocabulary size.
 */
int embed_query_text(struct embed_ctx *c, const char *cmd, const char *text, unsigned flags,
                     struct embed_query *q);
/* Parses ids (decimal, each below the embedding's row count). Returns CLI_OK, CLI_USAGE
   for a malformed id, CLI_FAIL for an id without a row (reported). */
int embed_query_ids(struct embed_ctx *c, const char *cmd, char **args, int n,
                    struct embed_query *q);
void embed_query_release(struct embed_query *q);
/* Resolves each of args[0..n-1] to its own query q[i]: one token id when ids
   (embed_query_ids), else a text read with flags (embed_query_text). Returns CLI_OK, or
   the first failure's code (reported); the caller releases all n queries either way. */
int embed_query_each(struct embed_ctx *c, const char *cmd, char **args, size_t n, bool ids,
                     unsigned flags, struct embed_query *q);

/* "<token>" with the token's bytes escaped as inspect shows them, or "(no token)"
   for an id the vocabulary does not name. Appended to b. */
void embed_token_display(struct cli_buf *b, const tv_model *m, uint32_t id);
/* `15496 "Hello", 995 "Ġworld"` for the ids. */
void embed_ids_display(struct cli_buf *b, const tv_model *m, const uint32_t *ids, size_t n);
/* A description of the query for a results header: `"king" (id 1234)`, `the mean of
   the 2 tokens of "new york": 3 "new", 4 "Ġyork"`. */
void embed_query_display(struct cli_buf *b, const struct embed_ctx *c,
                         const struct embed_query *q);

/* Adds "token": the token's text (with "token_hex" when not exact UTF-8), or null. */
int embed_json_add_token(cJSON *obj, const tv_model *m, uint32_t id);
/* The query as a JSON object {"kind", "text", "ids": [...]}. NULL on OOM. */
cJSON *embed_json_query(const struct embed_ctx *c, const struct embed_query *q);
/* Adds each query q[i] as such an object under keys[i]. Returns 0 or -1 (OOM). */
int embed_json_add_queries(cJSON *obj, const struct embed_ctx *c, const struct embed_query *q,
                           const char *const *keys, size_t n);
/* v rounded to 9 significant digits: enough to read back the same float32, and what
   JSON output shows (cJSON prints a double with up to 17). */
double embed_round9(double v);
/* Adds "model", "embedding", "dtype", "rows" and "dims". Returns 0 or -1 (OOM). */
int embed_json_add_model(cJSON *obj, const struct embed_ctx *c);

/* Prints a results table: rank, id, token, score. */
void embed_print_neighbors(const tv_model *m, const struct tv_neighbor *nb, size_t n);
/* The results as a JSON array of {"rank", "id", "token", "score"}. NULL on OOM. */
cJSON *embed_json_neighbors(const tv_model *m, const struct tv_neighbor *nb, size_t n);
/* Adds them to obj as "results". Returns 0 or -1 (OOM). */
int embed_json_add_neighbors(cJSON *obj, const tv_model *m, const struct tv_neighbor *nb,
                             size_t n);

/* Option values. Each returns 0, or -1 after reporting "tokvec: <cmd>: ...". */
int embed_parse_k(const char *cmd, const char *arg, size_t *k);
int embed_parse_threads(const char *cmd, const char *arg, unsigned *threads);
int embed_parse_metric(const char *cmd, const char *arg, enum tv_metric *metric);

/*
 * Writes rows x cols float32 values as a NumPy .npy file (format 1.0, little-endian
 * '<f4', C order, header padded with spaces to a multiple of 64 bytes and ended by a
 * newline, as the format's specification asks). Written atomically with tv_out: an
 * existing path is refused unless force. Returns 0, or -1 with err.
 */
int npy_write_f32(const char *path, const float *data, uint64_t rows, uint64_t cols,
                  bool force, tv_error *err);
/*
 * Reads a .npy file holding one vector: shape (d,) or (1, d), dtype '<f4' (or '<f8',
 * rounded to float32), format 1.0 to 3.0. On success *data is a new tv_malloc'ed array
 * of *n floats. Returns 0, or -1 with err naming the file and what is wrong.
 */
int npy_read_vector(const char *path, float **data, uint64_t *n, tv_error *err);

#endif
