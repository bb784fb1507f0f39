/*
 * Unigram, as the reference's optimized Viterbi (from SentencePiece): for each char
 * start, every token that prefixes the rest (a trie walk) extends the best path;
 * a char no single-char token covers gets the unknown id with score
 * min_score - 10. Adjacent unknowns are fused. A resulting piece that is not a token
 * becomes its <0xXX> byte tokens (byte_fallback) or the unknown id.
 */
#include <stdio.h>
#include <string.h>

#include "tok.h"

#define UNK_PENALTY 10.0

struct node {
    double score;
    int64_t start;             /* -1: no path ends here yet */
    uint32_t id;
};

struct tk_unigram {
    struct tk_trie trie;       /* token bytes -> id (the last id of a duplicate) */
    double *scores;
    size_t n_scores;
    double min_score;
    int64_t fallback_id[256];
    struct node *nodes;        /* best path ending at each byte */
    size_t cap;
    uint32_t *cuts;            /* result boundaries, reversed */
    size_t cap_cuts;
};

void tk_unigram_free(struct tk_unigram *u)
{
    if (!u)
        return;
    tk_trie_release(&u->trie);
    tv_free(u->scores);
    tv_free(u->nodes);
    tv_free(u->cuts);
    tv_free(u);
}

int tk_unigram_init(struct tk_model *m, const double *scores, size_t n, tv_error *err)
{
    struct tk_unigram *u = tv_calloc(1, sizeof *u);
    if (!u)
        goto oom;
    m->unigram = u;
    tk_trie_init(&u->trie);
    u->scores = tv_malloc((n ? n : 1) * sizeof *u->scores);
    if (!u->scores)
        goto oom;
    memcpy(u->scores, scores, n * sizeof *scores);
    u->n_scores = n;
    u->min_score = 1e300;
    for (size_t i = 0; i < n; i++)
        if (scores[i] < u->min_score)
            u->min_score = scores[i];
    /* reverse order with "first insert wins" = the last duplicate wins */
    if (tk_trie_insert(&u->trie, "", 0, -1) < 0)
        goto oom;
    for (size_t id = m->n_ids; id-- > 0;) {
        if (!m->id_text[id] || m->id_len[id] == 0)
            continue;
        if (tk_trie_insert(&u->trie, m->id_text[id], m->id_len[id], (int64_t)id) < 0)
            goto oom;
    }
    for (int i = 0; i < 256; i++) {
        char name[8];
        uint32_t id;
        snprintf(name, sizeof name, "<0x%02X>", i);
        u->fallback_id[i] = tk_strmap_get(&m->vocab, name, 6, &id) ? (int64_t)id : -1;
    }
    return 0;
oom:
    return tv_error_set(err, TV_ERR_NOMEM, "out of memory building the Unigram lattice tables");
}

static int missing_unk(struct tk_enc *e)
{
    return tv_error_set(e->err, TV_ERR_DATA,
                        "Unigram: a char is not in the vocabulary and the model has no unk_id");
}

int tk_unigram_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                        struct tk_toks *out)
{
    struct tk_unigram *u = m->unigram;
    if (len == 0)
        return 0;
    if (tv_grow((void **)&u->nodes, &u->cap, len + 1, sizeof *u->nodes, e->err) < 0)
        return -1;
    struct node *nd = u->nodes;
    for (size_t i = 0; i <= len; i++)
        nd[i] = (struct node){0, -1, 0};
    double unk_score = u->min_score - UNK_PENALTY;
    for (size_t at = 0; at < len;) {
        double here = nd[at].score;
        bool single = false;
        size_t mblen = (size_t)tk_utf8_len((unsigned char)s[at]);
        if (at + mblen > len)
            mblen = len - at;
        uint32_t node = 0;
        for (size_t k = at; k < len; k++) {
            node = tk_trie_step(&u->trie, node, (unsigned char)s[k]);
            if (!node)
                break;
            int64_t id = u->trie.value[node];
            if (id < 0)
                continue;
            size_t end = k + 1;
            double cand = u->scores[id] + here;
            if (nd[end].start < 0 || cand > nd[end].score)
                nd[end] = (struct node){cand, (int64_t)at, (uint32_t)id};
            if (end - at == mblen)
                single = true;
        }
        if (!single) {
            size_t end = at + mblen;
            double cand = unk_score + here;
            if (nd[end].start < 0 || cand > nd[end].score) {
                if (m->unk_id < 0)
                    return missing_unk(e);
                nd[end] = (struct node){cand, (int64_t)at, (uint32_t)m->unk_id};
            }
        }
        at += mblen;
    }
    /* back from the end; runs of unknowns fuse into one piece */
    size_t n_cuts = 0;
    if (tv_grow((void **)&u->cuts, &u->cap_cuts, len + 2, sizeof *u->cuts, e->err) < 0)
        return -1;
    u->cuts[n_cuts++] = (uint32_t)len;
    bool in_unk = false;
    for (size_t end = len; end > 0;) {
        size_t start = (size_t)nd[end].start;
        bool is_unk = m->unk_id >= 0 && nd[end].id == (uint32_t)m->unk_id;
        if (!(is_unk && in_unk) && end != len)
            u->cuts[n_cuts++] = (uint32_t)end;
        in_unk = is_unk;
        end = start;
    }
    u->cuts[n_cuts++] = 0;
    for (size_t k = n_cuts - 1; k > 0; k--) {
        uint32_t a = u->cuts[k], b = u->cuts[k - 1];
        uint32_t id;
        if (tk_strmap_get(&m->vocab, s + a, b - a, &id)) {
            if (tk_toks_push(out, id, a, b, e->err) < 0)
                return -1;
            continue;
        }
        if (m->byte_fallback) {
            bool all = true;
            for (uint32_t i = a; i < b && all; i++)
                all = u->fallback_id[(unsigned char)s[i]] >= 0;
            if (all) {
                for (uint32_t i = a; i < b; i++)
                    if (tk_toks_push(out, (uint32_t)u->fallback_id[(unsigned char)s[i]], a, b,
                                     e->err) < 0)
                        return -1;
                continue;
            }
        }
        if (m->unk_id < 0)
            return missing_unk(e);
        if (tk_toks_push(out, (uint32_t)m->unk_id, a, b, e->err) < 0)
            return -1;
    }
    return 0;
}
