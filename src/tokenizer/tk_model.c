/*
 * The models that need no tables of their own (WordPiece, WordLevel) and the
 * dispatch to BPE and Unigram.
 */
#include <string.h>

#include "tok.h"

int tk_toks_push(struct tk_toks *t, uint32_t id, uint32_t start, uint32_t end, tv_error *err)
{
    if (t->n == t->cap && tv_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v, err) < 0)
        return -1;
    t->v[t->n++] = (struct tk_tok){id, start, end};
    return 0;
}

void tk_model_release(struct tk_model *m)
{
    tk_strmap_release(&m->vocab);
    tv_free(m->id_text);
    tv_free(m->id_len);
    tk_bpe_free(m->bpe);
    tk_unigram_free(m->unigram);
    tk_spm_free(m->spm);
    tv_free(m->scores);
    tv_free(m->first_prefix);
    tv_free(m->prefix);
    tv_free(m->suffix);
    memset(m, 0, sizeof *m);
}

static int missing_unk(struct tk_enc *e, const struct tk_model *m, const char *model)
{
    if (!m->unk)
        return tv_error_set(e->err, TV_ERR_DATA, "%s: no unknown token is configured", model);
    return tv_error_set(e->err, TV_ERR_DATA, "%s: the unknown token '%.*s' is not in the vocabulary",
                        model, (int)m->unk_len, m->unk);
}

/*
 * WordPiece: the longest prefix of the rest of the word that is a token ("##" before
 * all but the first), again and again; a word with a part that matches nothing, or
 * longer than max_input_chars_per_word chars, is the unknown token whole.
 */
int tk_wordpiece_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    size_t first = out->n;
    if (chars <= m->max_input_chars) {
        size_t room = (m->prefix_len > m->first_prefix_len ? m->prefix_len : m->first_prefix_len);
        char *buf = tk_alloc(&e->scratch, room + len + 1);
        if (!buf)
            return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory while tokenizing");
        size_t start = 0;
        bool bad = false;
        while (start < len) {
            size_t end = len;
            bool found = false;
            uint32_t id = 0;
            while (start < end) {
                const char *key = s + start;
                size_t klen = end - start;
                /* "##" before a continuation; GGUF BERT: "▁" before a word start */
                const char *pre = start > 0 ? m->prefix : m->first_prefix;
                size_t pre_len = start > 0 ? m->prefix_len : m->first_prefix_len;
                if (pre_len) {
                    memcpy(buf, pre, pre_len);
                    memcpy(buf + pre_len, s + start, end - start);
                    key = buf;
                    klen += pre_len;
                }
                if (tk_strmap_get(&m->vocab, key, klen, &id)) {
                    found = true;
                    break;
                }
                /* drop the last char */
                end--;
                while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80)
                    end--;
            }
            if (!found) {
                bad = true;
                break;
            }
            if (tk_toks_push(out, id, (uint32_t)start, (uint32_t)end, e->err) < 0)
                return -1;
            start = end;
        }
        if (!bad)
            return 0;
        out->n = first;
    }
    if (m->unk_id < 0)
        return missing_unk(e, m, "WordPiece");
    return tk_toks_push(out, (uint32_t)m->unk_id, 0, (uint32_t)len, e->err);
}

int tk_wordlevel_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out)
{
    uint32_t id;
    if (tk_strmap_get(&m->vocab, s, len, &id))
        return tk_toks_push(out, id, 0, (uint32_t)len, e->err);
    if (m->unk_id < 0)
        return missing_unk(e, m, "WordLevel");
    return tk_toks_push(out, (uint32_t)m->unk_id, 0, (uint32_t)len, e->err);
}

int tk_model_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                      struct tk_toks *out)
{
    switch (m->kind) {
    case TK_MODEL_BPE: return tk_bpe_tokenize(e, m, s, len, out);
    case TK_MODEL_WORDPIECE: return tk_wordpiece_tokenize(e, m, s, len, out);
    case TK_MODEL_WORDLEVEL: return tk_wordlevel_tokenize(e, m, s, len, out);
    case TK_MODEL_UNIGRAM: return tk_unigram_tokenize(e, m, s, len, out);
    case TK_MODEL_SPM: return tk_spm_tokenize(e, m, s, len, out);
    }
    return 0;
}
