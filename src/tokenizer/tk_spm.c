/*
 * SentencePiece BPE over scores, as llama.cpp runs it for GGUF vocabularies of type
 * "llama" (which carry scores and no merges): every char starts as a symbol; the
 * adjacent pair whose concatenation is a token with the highest score is merged
 * (leftmost on a tie), again and again; a final symbol that is not a token is split
 * back along the merges that built it, and a char that is no token becomes its
 * <0xXX> byte tokens.
 */
#include <stdio.h>
#include <string.h>

#include "tok.h"

struct spm_sym {
    uint32_t start, len;   /* bytes of the piece; len 0: merged away */
    int32_t prev, next;
};

struct spm_bigram {
    int32_t left, right;
    float score;
    uint32_t size;
};

/* text -> (left, right) of the last merge that produced it (llama.cpp's rev_merge) */
struct rev_slot {
    uint32_t start, len;   /* len UINT32_MAX: empty */
    int32_t left, right;
};

struct tk_spm {
    struct spm_sym *syms;
    size_t cap_syms;
    struct spm_bigram *heap;
    size_t n_heap, cap_heap;
    struct rev_slot *rev;
    size_t cap_rev, n_rev;
    int32_t *stack;
    size_t cap_stack;
    int64_t byte_id[256];
};

void tk_spm_free(struct tk_spm *s)
{
    if (!s)
        return;
    tv_free(s->syms);
    tv_free(s->heap);
    tv_free(s->rev);
    tv_free(s->stack);
    tv_free(s);
}

int tk_spm_init(struct tk_model *m, tv_error *err)
{
    struct tk_spm *s = tv_calloc(1, sizeof *s);
    if (!s)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory building the SentencePiece tables");
    m->spm = s;
    for (int i = 0; i < 256; i++) {
        char name[8];
        uint32_t id;
        snprintf(name, sizeof name, "<0x%02X>", i);
        if (tk_strmap_get(&m->vocab, name, 6, &id))
            s->byte_id[i] = id;
        else if (name[0] = (char)i, tk_strmap_get(&m->vocab, name, 1, &id))
            s->byte_id[i] = id; /* llama.cpp falls back to the byte as a one-byte token */
        else
            s->byte_id[i] = m->unk_id;
    }
    return 0;
}

static bool better(const struct spm_bigram *a, const struct spm_bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct tk_spm *s, struct spm_bigram b)
{
    size_t i = s->n_heap++;
    s->heap[i] = b;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(&s->heap[i], &s->heap[p]))
            break;
        struct spm_bigram t = s->heap[i];
        s->heap[i] = s->heap[p];
        s->heap[p] = t;
        i = p;
    }
}

static struct spm_bigram heap_pop(struct tk_spm *s)
{
    struct spm_bigram top = s->heap[0];
    s->heap[0] = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && better(&s->heap[l], &s->heap[best]))
            best = l;
        if (r < n && better(&s->heap[r], &s->heap[best]))
            best = r;
        if (best == i)
            break;
        struct spm_bigram t = s->heap[i];
        s->heap[i] = s->heap[best];
        s->heap[best] = t;
        i = best;
    }
    return top;
}

static struct rev_slot *rev_find(struct tk_spm *s, const char *text, uint32_t start, uint32_t len)
{
    size_t mask = s->cap_rev - 1;
    for (size_t i = tk_hash(text + start, len) & mask;; i = (i + 1) & mask) {
        struct rev_slot *r = &s->rev[i];
        if (r->len == UINT32_MAX ||
            (r->len == len && memcmp(text + r->start, text + start, len) == 0))
            return r;
    }
}

static void try_add(struct tk_spm *s, const struct tk_model *m, const char *text, int32_t left,
                    int32_t right)
{
    if (left < 0 || right < 0)
        return;
    uint32_t start = s->syms[left].start, len = s->syms[left].len + s->syms[right].len;
    uint32_t id;
    if (!tk_strmap_get(&m->vocab, text + start, len, &id) || id >= m->n_ids)
        return;
    heap_push(s, (struct spm_bigram){left, right, m->scores ? m->scores[id] : 0.0f, len});
    struct rev_slot *r = rev_find(s, text, start, len);
    if (r->len == UINT32_MAX) {
        r->start = start;
        r->len = len;
        s->n_rev++;
    }
    r->left = left;
    r->right = right;
}

static int resegment(struct tk_enc *e, struct tk_spm *s, const struct tk_model *m,
                     const char *text, int32_t root, struct tk_toks *out)
{
    size_t n = 0;
    s->stack[n++] = root;
    while (n) {
        const struct spm_sym *sym = &s->syms[s->stack[--n]];
        uint32_t id;
        if (tk_strmap_get(&m->vocab, text + sym->start, sym->len, &id)) {
            if (tk_toks_push(out, id, sym->start, sym->start + sym->len, e->err) < 0)
                return -1;
            continue;
        }
        struct rev_slot *r = rev_find(s, text, sym->start, sym->len);
        if (r->len == UINT32_MAX) {
            for (uint32_t k = 0; k < sym->len; k++) {
                int64_t b = s->byte_id[(unsigned char)text[sym->start + k]];
                if (b < 0)
                    return tv_error_set(e->err, TV_ERR_DATA,
                                        "a byte has no <0xXX> token and there is no unknown token");
                if (tk_toks_push(out, (uint32_t)b, sym->start + k, sym->start + k + 1, e->err) < 0)
                    return -1;
            }
            continue;
        }
        /* right first on the stack, so that the left part comes out first */
        s->stack[n++] = r->right;
        s->stack[n++] = r->left;
    }
    return 0;
}

int tk_spm_tokenize(struct tk_enc *e, struct tk_model *m, const char *text, size_t len,
                    struct tk_toks *out)
{
    struct tk_spm *s = m->spm;
    if (!len)
        return 0;
    size_t cap_rev = 64;
    while (cap_rev < len * 4)
        cap_rev *= 2;
    if (tv_grow((void **)&s->syms, &s->cap_syms, len, sizeof *s->syms, e->err) < 0 ||
        tv_grow((void **)&s->heap, &s->cap_heap, 3 * len + 8, sizeof *s->heap, e->err) < 0 ||
        tv_grow((void **)&s->stack, &s->cap_stack, 2 * len + 8, sizeof *s->stack, e->err) < 0)
        return -1;
    if (cap_rev > s->cap_rev) {
        struct rev_slot *r = tv_malloc(cap_rev * sizeof *r);
        if (!r)
            return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory while tokenizing");
        tv_free(s->rev);
        s->rev = r;
        s->cap_rev = cap_rev;
    }
    for (size_t i = 0; i < s->cap_rev; i++)
        s->rev[i].len = UINT32_MAX;
    s->n_rev = 0;
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        size_t cl = (size_t)tk_utf8_len((unsigned char)text[at]);
        if (at + cl > len)
            cl = len - at;
        s->syms[n] = (struct spm_sym){(uint32_t)at, (uint32_t)cl, (int32_t)n - 1,
                                      at + cl == len ? -1 : (int32_t)n + 1};
        n++;
        at += cl;
    }
    s->n_heap = 0;
    for (size_t i = 1; i < n; i++)
        try_add(s, m, text, (int32_t)i - 1, (int32_t)i);
    while (s->n_heap) {
        struct spm_bigram b = heap_pop(s);
        struct spm_sym *l = &s->syms[b.left], *r = &s->syms[b.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != b.size)
            continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s->syms[r->next].prev = b.left;
        /* n - 1 first pairs and two per merge: the heap holds 3n */
        try_add(s, m, text, l->prev, b.left);
        try_add(s, m, text, b.left, l->next);
    }
    for (int32_t i = 0; i != -1; i = s->syms[i].next)
        if (resegment(e, s, m, text, i, out) < 0)
            return -1;
    return 0;
}
