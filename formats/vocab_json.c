/*
 * GPT-2 style vocabulary files, as written by OpenAI (encoder.json + vocab.bpe) and by
 * Hugging Face's slow tokenizers (vocab.json + merges.txt):
 *
 *   vocab.json / encoder.json
 *     1. one JSON object {"token": id, ...}; ids are integers from 0, usually dense
 *     2. tokens are spelled in GPT-2's byte-to-unicode alphabet ("Ġhow" is " how") for
 *        byte-level BPE (GPT-2, RoBERTa, CLIP), or in plain text with "</w>" closing a
 *        word (GPT-1, CLIP)
 *
 *   merges.txt / vocab.bpe
 *     1. an optional first line "#version: 0.2" (anything after "#version" is ignored)
 *     2. one merge per line, "left right": two parts separated by exactly one space; the
 *        line number (from 0, without the version line) is the merge's rank
 *     3. "\n" or "\r\n" line ends; blank lines only at the end
 *
 * In a folder merges.txt attaches its merges to the vocabulary vocab.json has just
 * read; a merges file read alone gives a vocabulary that has merges and no tokens, to
 * which a vocab.json read afterwards adds its tokens.
 */
#include <string.h>

#include "internal.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other
   68 bytes for U+0100.. in byte order. Writes the UTF-8 of byte b's symbol; returns its
   length. */
static size_t byte_symbol(unsigned b, char out[2])
{
    unsigned cp = b;
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
        unsigned n = 0;
        for (unsigned i = 0; i < b; i++)
            if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE)))
                n++;
        cp = 0x100 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* How many of the 256 byte symbols are tokens of v. */
static unsigned byte_symbols_present(struct tv_vocab *v)
{
    unsigned present = 0;
    for (unsigned b = 0; b < 256; b++) {
        char sym[2];
        uint32_t id;
        size_t n = byte_symbol(b, sym);
        if (tv_vocab_lookup(v, sym, n, &id) == 0)
            present++;
    }
    return present;
}

/* The vocabulary a merges file should join: the one a vocab.json just created. */
static struct tv_vocab *merges_target(tv_model *m, const char *name, tv_error *err)
{
    if (m->n_vocabs) {
        struct tv_vocab *last = &m->vocabs[m->n_vocabs - 1];
        if (!last->json && !last->ggml_model && last->kind == TV_TOKENIZER_BPE &&
            last->n_tokens && !last->n_merges && last->origin && ends_with(last->origin, ".json"))
            return last;
    }
    struct tv_vocab *v = tv_model_new_vocab(m, name, err);
    if (v)
        v->kind = TV_TOKENIZER_BPE;
    return v;
}

/* The vocabulary a vocab.json should fill: a merges-only one read just before, or new. */
static struct tv_vocab *vocab_target(tv_model *m, const char *name, tv_error *err)
{
    if (m->n_vocabs) {
        struct tv_vocab *last = &m->vocabs[m->n_vocabs - 1];
        if (!last->json && !last->ggml_model && last->kind == TV_TOKENIZER_BPE &&
            !last->n_tokens && last->n_merges) {
            const char *origin = tv_model_strdup(m, name, strlen(name));
            if (!origin) {
                tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", name);
                return NULL;
            }
            last->origin = origin;
            return last;
        }
    }
    return tv_model_new_vocab(m, name, err);
}

static int read_vocab_json(tv_model *m, tv_blob *blob, tv_error *err)
{
    int rc = -1;
    cJSON *doc = tv_json_parse(blob->data, blob->len, blob->name, err);
    if (!doc)
        return -1;
    if (!cJSON_IsObject(doc)) {
        tv_error_set(err, TV_ERR_DATA, "%s: expected a JSON object of token -> id, got %s",
                     blob->name, tv_json_type_name(doc));
        goto out;
    }
    struct tv_vocab *v = vocab_target(m, blob->name, err);
    if (!v || tv_vocab_read_id_object(m, v, doc, blob->name, "vocab", err) < 0)
        goto out;
    v->kind = TV_TOKENIZER_BPE;

    /* Token types the way llama.cpp gives them to a GPT-2 vocabulary without
       tokenizer.json: what looks special is a control token. */
    size_t with_suffix = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        struct tv_token *t = &v->tokens[id];
        if (!t->text)
            continue;
        if (t->len == 5 && memcmp(t->text, "<unk>", 5) == 0) {
            t->type = TV_TOKEN_UNKNOWN;
            if (v->special[TV_SPECIAL_UNK] < 0)
                v->special[TV_SPECIAL_UNK] = (int64_t)id;
        } else if (tv_token_looks_special(t->text, t->len)) {
            t->type = TV_TOKEN_CONTROL;
        }
        if (t->len > 4 && memcmp(t->text + t->len - 4, "</w>", 4) == 0)
            with_suffix++;
    }
    if (v->special[TV_SPECIAL_UNK] >= 0)
        v->unk_token = v->tokens[v->special[TV_SPECIAL_UNK]].text;
    /* GPT-1 and CLIP close words with "</w>" (a tenth of the tokens or more). */
    if (with_suffix && with_suffix >= v->n_tokens / 10)
        v->end_of_word_suffix = "</w>";
    /* Byte-level: the 256 byte symbols are tokens, or at least the space and newline
       symbols Ġ and Ċ that only GPT-2's alphabet uses. */
    uint32_t id;
    v->byte_level = byte_symbols_present(v) == 256 ||
                    (tv_vocab_lookup(v, "\xc4\xa0", 2, &id) == 0 &&
                     tv_vocab_lookup(v, "\xc4\x8a", 2, &id) == 0);

    if (tv_vocab_note_holes(m, v, blob->name, err) < 0 ||
        tv_json_note_nul_escapes(m, blob->data, blob->len, blob->name, err) < 0 ||
        tv_model_add_claim(m, TV_CLAIM_VOCAB_SIZE, (int64_t)v->n_tokens, -1, blob->name,
                           "vocab.json", err) < 0)
        goto out;
    rc = 0;
out:
    cJSON_Delete(doc);
    return rc;
}

static int read_merges_txt(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct tv_vocab *v = merges_target(m, blob->name, err);
    if (!v)
        return -1;
    const char *p = (const char *)blob->data, *end = p + blob->len;
    size_t line_no = 0, blank_line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        line_no++;
        if (n >= 8 && memcmp(p, "#version", 8) == 0) {
            /* the reference skips these lines wherever they are */
        } else if (n == 0) {
            if (!blank_line)
                blank_line = line_no;
        } else {
            char q[256];
            if (blank_line)
                return tv_error_set(err, TV_ERR_DATA,
                                    "%s: line %zu is blank but merges follow on line %zu",
                                    blob->name, blank_line, line_no);
            const char *space = memchr(p, ' ', n);
            if (!space || memchr(space + 1, ' ', (size_t)(p + n - space - 1))) {
                tv_quote(q, sizeof q, p, n);
                return tv_error_set(err, TV_ERR_DATA,
                                    "%s: line %zu: '%s' is not two parts separated by one space",
                                    blob->name, line_no, q);
            }
            if (tv_vocab_add_merge(m, v, p, (size_t)(space - p), space + 1,
                                   (size_t)(p + n - space - 1), err) < 0)
                return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

/* ---- probes ------------------------------------------------------------------------------ */

struct vocab_probe {
    unsigned numeric;
};

static int vocab_key(const char *key, size_t len, char value_start, void *ctx)
{
    struct vocab_probe *s = ctx;
    /* generation_config.json is also a small object of integers; its keys say so. */
    if (len >= 3 && memcmp(key + len - 3, "_id", 3) == 0)
        return 2;
    if (!((value_start >= '0' && value_start <= '9') || value_start == '-'))
        return 2;
    return ++s->numeric >= 8;
}

static int probe_vocab_json(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    struct vocab_probe s = {0};
    int rc = tv_json_top_keys(buf, len, vocab_key, &s);
    return rc == 1 || (rc == 0 && s.numeric > 0) ? 40 : 0;
}

static int probe_merges_txt(const uint8_t *buf, size_t len, const char *name)
{
    if (len >= 8 && memcmp(buf, "#version", 8) == 0)
        return 70;
    if (!name || !(ends_with(name, "merges.txt") || ends_with(name, ".bpe")) || len == 0)
        return 0;
    /* Without the version line: the first lines must be "left right". */
    const char *p = (const char *)buf, *end = p + len;
    for (int lines = 0; p < end && lines < 20; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n && p[n - 1] == '\r')
            n--;
        const char *space = memchr(p, ' ', n);
        if (!nl && lines > 0 && n == 0)
            break;
        if (!space || space == p || memchr(space + 1, ' ', (size_t)(p + n - space - 1)) ||
            memchr(p, '\0', n))
            return 0;
        p = nl ? nl + 1 : end;
    }
    return 30;
}

const struct tv_format tv_format_vocab_json = {
    .name = "vocab.json",
    .label = "vocab.json",
    .probe = probe_vocab_json,
    .read = read_vocab_json,
};

const struct tv_format tv_format_merges_txt = {
    .name = "merges.txt",
    .label = "merges.txt",
    .probe = probe_merges_txt,
    .read = read_merges_txt,
};
