/*
 * vocab.txt: the vocabulary of BERT's WordPiece tokenizer (and of the many models
 * built on it).
 *
 *   1. UTF-8 text, one token per line; the token's id is its line number from 0
 *   2. lines end with "\n" (a "\r" before it is not part of the token); the last
 *      line may lack its "\n"
 *   3. an empty line is a token of length 0, as the reference loader reads it
 *   4. word pieces that continue a word start with "##"; the special tokens are
 *      spelled [PAD], [UNK], [CLS], [SEP], [MASK]
 */
#include <string.h>

#include "internal.h"

static const struct {
    const char *text;
    enum tv_special special;
    enum tv_token_type type;
} specials[] = {
    {"[UNK]", TV_SPECIAL_UNK, TV_TOKEN_UNKNOWN}, {"[CLS]", TV_SPECIAL_CLS, TV_TOKEN_CONTROL},
    {"[SEP]", TV_SPECIAL_SEP, TV_TOKEN_CONTROL}, {"[PAD]", TV_SPECIAL_PAD, TV_TOKEN_CONTROL},
    {"[MASK]", TV_SPECIAL_MASK, TV_TOKEN_CONTROL},
};

static int read_vocab_txt(tv_model *m, tv_blob *blob, tv_error *err)
{
    if (blob->len == 0)
        return tv_error_set(err, TV_ERR_DATA, "%s: empty file: a vocab.txt has one token per line",
                            blob->name);
    const char *p = (const char *)blob->data, *end = p + blob->len;
    /* Count the lines before allocating for them. */
    size_t n_lines = 0;
    for (const char *q = p; q < end; n_lines++) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        q = nl ? nl + 1 : end;
    }
    if (n_lines > TV_MAX_TOKENS)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: %zu lines, more than the %u tokens allowed",
                            blob->name, n_lines, TV_MAX_TOKENS);
    struct tv_vocab *v = tv_model_new_vocab(m, blob->name, err);
    if (!v || tv_grow((void **)&v->tokens, &v->cap_tokens, n_lines, sizeof *v->tokens, err) < 0)
        return -1;
    v->kind = TV_TOKENIZER_WORDPIECE;
    v->continuing_subword_prefix = "##";
    v->max_input_chars_per_word = 100; /* the reference's default */
    for (uint32_t id = 0; p < end; id++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (tv_vocab_set_token(m, v, id, p, n, 0.0f, TV_TOKEN_NORMAL, err) < 0)
            return -1;
        p = nl ? nl + 1 : end;
    }
    for (size_t i = 0; i < TV_ARRAY_SIZE(specials); i++) {
        uint32_t id;
        if (tv_vocab_lookup(v, specials[i].text, strlen(specials[i].text), &id) == 0) {
            v->special[specials[i].special] = id;
            v->tokens[id].type = (uint8_t)specials[i].type;
        }
    }
    if (v->special[TV_SPECIAL_UNK] >= 0)
        v->unk_token = "[UNK]";
    return tv_model_add_claim(m, TV_CLAIM_VOCAB_SIZE, (int64_t)v->n_tokens, -1, blob->name,
                              "vocab.txt", err);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* '{', or '[' opening a JSON array (BERT's first token "[PAD]" opens no array). */
static bool looks_like_json(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i < len && buf[i] == '{')
        return true;
    if (i >= len || buf[i] != '[')
        return false;
    for (i++; i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n');)
        i++;
    return i < len && strchr("[{\"-0123456789]tfn", buf[i]) != NULL && buf[i] != '\0';
}

static int probe_vocab_txt(const uint8_t *buf, size_t len, const char *name)
{
    size_t head = len < 4096 ? len : 4096;
    if (len == 0 || memchr(buf, '\0', head))
        return 0;
    if (looks_like_json(buf, head))
        return 0;
    const char *p = (const char *)buf, *end = p + len;
    for (int lines = 0; p < end && lines < 200; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 5 && memcmp(p, "[UNK]", 5) == 0)
            return 40;
        p = nl ? nl + 1 : end;
    }
    return name && ends_with(name, "vocab.txt") ? 30 : 0;
}

const struct tv_format tv_format_vocab_txt = {
    .name = "vocab.txt",
    .label = "vocab.txt",
    .probe = probe_vocab_txt,
    .read = read_vocab_txt,
};
