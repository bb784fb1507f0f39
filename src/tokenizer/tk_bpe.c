/*
 * BPE, as the reference's BPE model: each char of a piece starts as one symbol
 * (continuing_subword_prefix before every char but the first, end_of_word_suffix after
 * the last; a char outside the vocabulary becomes its <0xXX> byte tokens with
 * byte_fallback, else the unknown token, fused with a neighbouring unknown when
 * fuse_unk), then the pair with the lowest merge rank is merged, leftmost first, until
 * no pair has a rank. ignore_merges (Llama 3) takes a piece that is itself a token
 * whole.
 *
 * Merging is O(n log n) per piece: a binary heap of candidate pairs over a linked
 * list of symbols; stale heap entries are recognised and skipped. Results of pieces
 * up to 256 bytes are cached (a bounded table, cleared when full).
 */
#include <stdio.h>
#include <string.h>

#include "tok.h"

#define CACHE_SLOTS 32768u          /* power of two */
#define CACHE_MAX_KEY 256u
#define CACHE_POOL_BYTES (2u << 20)

struct sym {
    uint32_t id;
    int32_t prev, next;
    uint32_t len;   /* bytes of the piece this symbol covers; 0: merged away */
};

struct item {
    uint32_t rank, pos, new_id;
    uint32_t left, right;   /* the pair's ids when pushed */
};

struct cache_slot {
    uint64_t hash;
    uint32_t key_off, key_len;   /* key_len UINT32_MAX: empty */
    uint32_t tok_off, n_toks;
};

struct tk_bpe {
    struct tk_map64 merges;       /* (left << 32 | right) -> (rank << 32 | new id) */
    int64_t fallback_id[256];     /* id of "<0xXX>", -1 */
    int64_t byte_id[256];         /* id of each byte's byte-level char, -1 */
    bool all_bytes;               /* every byte has a byte-level token */
    struct tk_strmap raw_vocab;   /* byte-level tokens as raw bytes -> id */
    char *raw_pool;
    struct sym *syms;
    size_t cap_syms;
    struct item *heap;
    size_t cap_heap, n_heap;
    char *tmp;
    size_t cap_tmp;
    struct cache_slot *slots;
    size_t cache_count;
    char *key_pool;
    size_t key_used;
    uint32_t *tok_pool;           /* id, len pairs */
    size_t tok_used;
};

void tk_bpe_free(struct tk_bpe *b)
{
    if (!b)
        return;
    tk_map64_release(&b->merges);
    tk_strmap_release(&b->raw_vocab);
    tv_free(b->raw_pool);
    tv_free(b->syms);
    tv_free(b->heap);
    tv_free(b->tmp);
    tv_free(b->slots);
    tv_free(b->key_pool);
    tv_free(b->tok_pool);
    tv_free(b);
}

static bool lookup(const struct tk_model *m, const char *s, size_t len, uint32_t *id)
{
    return tk_strmap_get(&m->vocab, s, len, id);
}

static int cache_clear(struct tk_bpe *b)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        b->slots[i].key_len = UINT32_MAX;
    b->cache_count = 0;
    b->key_used = 0;
    b->tok_used = 0;
    return 0;
}

int tk_bpe_init(struct tk_model *m, const struct tv_merge *merges, size_t n_merges,
                const char *where, tv_error *err)
{
    struct tk_bpe *b = tv_calloc(1, sizeof *b);
    char *buf = NULL;
    size_t cap_buf = 0;
    if (!b)
        goto oom;
    m->bpe = b;
    tk_map64_init(&b->merges);
    tk_strmap_init(&b->raw_vocab);
    for (size_t i = 0; i < n_merges; i++) {
        const struct tv_merge *mg = &merges[i];
        uint32_t a, c, merged;
        if (!lookup(m, mg->left, mg->left_len, &a) || !lookup(m, mg->right, mg->right_len, &c)) {
            const char *missing = lookup(m, mg->left, mg->left_len, &a) ? mg->right : mg->left;
            tv_error_set(err, TV_ERR_DATA,
                         "%s: model.merges[%zu] ('%.*s' '%.*s'): token '%.100s' is not in the "
                         "vocabulary", where, i, (int)(mg->left_len > 100 ? 100 : mg->left_len),
                         mg->left, (int)(mg->right_len > 100 ? 100 : mg->right_len), mg->right,
                         missing);
            goto fail;
        }
        if (mg->right_len < m->prefix_len) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: model.merges[%zu]: '%.*s' is shorter than the continuing subword "
                         "prefix", where, i, (int)mg->right_len, mg->right);
            goto fail;
        }
        size_t need = mg->left_len + mg->right_len - m->prefix_len;
        if (tv_grow((void **)&buf, &cap_buf, need + 1, 1, err) < 0)
            goto fail;
        memcpy(buf, mg->left, mg->left_len);
        memcpy(buf + mg->left_len, mg->right + m->prefix_len, mg->right_len - m->prefix_len);
        if (!lookup(m, buf, need, &merged)) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: model.merges[%zu] ('%.*s' '%.*s'): the merged token '%.*s' is not in "
                         "the vocabulary", where, i, (int)(mg->left_len > 100 ? 100 : mg->left_len),
                         mg->left, (int)(mg->right_len > 100 ? 100 : mg->right_len), mg->right,
                         (int)(need > 100 ? 100 : need), buf);
            goto fail;
        }
        /* a pair listed twice keeps its last rank, as the reference's HashMap does */
        if (tk_map64_set(&b->merges, (uint64_t)a << 32 | c, (uint64_t)i << 32 | merged) < 0)
            goto oom;
    }
    b->all_bytes = true;
    for (int i = 0; i < 256; i++) {
        char name[8];
        uint32_t id;
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->fallback_id[i] = lookup(m, name, 6, &id) ? (int64_t)id : -1;
        int n = tk_utf8_put(tk_byte_to_cp((unsigned char)i), name);
        b->byte_id[i] = lookup(m, name, (size_t)n, &id) ? (int64_t)id : -1;
        if (b->byte_id[i] < 0)
            b->all_bytes = false;
    }
    b->slots = tv_malloc(CACHE_SLOTS * sizeof *b->slots);
    b->key_pool = tv_malloc(CACHE_POOL_BYTES);
    b->tok_pool = tv_malloc(CACHE_POOL_BYTES);
    if (!b->slots || !b->key_pool || !b->tok_pool)
        goto oom;
    cache_clear(b);
    tv_free(buf);
    return 0;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building the BPE merge table", where);
fail:
    tv_free(buf);
    return -1;
}

/* Byte-level tokens as raw bytes, for ignore_merges on raw pieces (the fast path). */
static int build_raw_vocab(struct tk_model *m, tv_error *err)
{
    struct tk_bpe *b = m->bpe;
    size_t total = 0;
    for (size_t id = 0; id < m->n_ids; id++)
        total += m->id_text[id] ? m->id_len[id] : 0;
    b->raw_pool = tv_malloc(total ? total : 1);
    if (!b->raw_pool)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory building the byte-level vocabulary");
    size_t used = 0;
    for (size_t id = 0; id < m->n_ids; id++) {
        const char *s = m->id_text[id];
        if (!s)
            continue;
        uint32_t check;
        if (!lookup(m, s, m->id_len[id], &check) || check != id)
            continue; /* not the model's own token for this text */
        size_t start = used;
        bool ok = true;
        for (size_t i = 0; i < m->id_len[id] && ok;) {
            uint32_t cp;
            i += (size_t)tk_utf8_next(s + i, &cp);
            int byte = tk_cp_to_byte(cp);
            if (byte < 0)
                ok = false;
            else
                b->raw_pool[used++] = (char)byte;
        }
        if (!ok) {
            used = start;
            continue;
        }
        if (tk_strmap_set(&b->raw_vocab, b->raw_pool + start, used - start, (uint32_t)id) < 0)
            return tv_error_set(err, TV_ERR_NOMEM,
                                "out of memory building the byte-level vocabulary");
    }
    return 0;
}

int tk_bpe_enable_bytes(struct tk_model *m, tv_error *err)
{
    if (!m->bpe->all_bytes)
        return 0;
    if (m->ignore_merges && build_raw_vocab(m, err) < 0)
        return -1;
    return 1;
}

/* ---- the merge loop --------------------------------------------------------------------- */

static bool item_less(const struct item *a, const struct item *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(struct tk_bpe *b, struct item it)
{
    size_t i = b->n_heap++;
    b->heap[i] = it;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_less(&b->heap[i], &b->heap[parent]))
            break;
        struct item t = b->heap[i];
        b->heap[i] = b->heap[parent];
        b->heap[parent] = t;
        i = parent;
    }
}

static struct item heap_pop(struct tk_bpe *b)
{
    struct item top = b->heap[0];
    b->heap[0] = b->heap[--b->n_heap];
    size_t i = 0, n = b->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < n && item_less(&b->heap[l], &b->heap[best]))
            best = l;
        if (r < n && item_less(&b->heap[r], &b->heap[best]))
            best = r;
        if (best == i)
            break;
        struct item t = b->heap[i];
        b->heap[i] = b->heap[best];
        b->heap[best] = t;
        i = best;
    }
    return top;
}

static bool pair_rank(const struct tk_bpe *b, uint32_t left, uint32_t right, uint32_t *rank,
                      uint32_t *new_id)
{
    uint64_t v;
    if (!tk_map64_get(&b->merges, (uint64_t)left << 32 | right, &v))
        return false;
    *rank = (uint32_t)(v >> 32);
    *new_id = (uint32_t)v;
    return true;
}

static void merge_all(struct tk_bpe *b, size_t n)
{
    struct sym *s = b->syms;
    b->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t rank, new_id;
        if (pair_rank(b, s[i].id, s[i + 1].id, &rank, &new_id))
            heap_push(b, (struct item){rank, (uint32_t)i, new_id, s[i].id, s[i + 1].id});
    }
    while (b->n_heap) {
        struct item top = heap_pop(b);
        struct sym *cur = &s[top.pos];
        if (cur->len == 0 || cur->next < 0)
            continue;
        struct sym *right = &s[cur->next];
        uint32_t rank, new_id;
        /* stale: the pair changed since this entry was pushed (the reference accepts any
           pair that merges into the same token, so an unchanged pair needs no look-up) */
        if ((cur->id != top.left || right->id != top.right) &&
            (!pair_rank(b, cur->id, right->id, &rank, &new_id) || new_id != top.new_id))
            continue;
        cur->id = top.new_id;
        cur->len += right->len;
        int32_t after = right->next;
        right->len = 0;
        cur->next = after;
        if (after >= 0)
            s[after].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && pair_rank(b, s[cur->prev].id, cur->id, &rank, &new_id))
            heap_push(b, (struct item){rank, (uint32_t)cur->prev, new_id, s[cur->prev].id, cur->id});
        if (after >= 0 && pair_rank(b, cur->id, s[after].id, &rank, &new_id))
            heap_push(b, (struct item){rank, top.pos, new_id, cur->id, s[after].id});
    }
}

static int reserve(struct tk_enc *e, struct tk_bpe *b, size_t n)
{
    /* a char yields at most 4 fallback byte symbols (plus prefix and suffix bytes) */
    if (tv_grow((void **)&b->syms, &b->cap_syms, n, sizeof *b->syms, e->err) < 0 ||
        tv_grow((void **)&b->heap, &b->cap_heap, n * 2 + 8, sizeof *b->heap, e->err) < 0)
        return -1;
    return 0;
}

static void add_sym(struct tk_bpe *b, size_t *n, uint32_t id, uint32_t len)
{
    struct sym *s = &b->syms[*n];
    s->id = id;
    s->len = len;
    s->prev = (int32_t)*n - 1;
    s->next = (int32_t)*n + 1;
    (*n)++;
}

static int unk_id(struct tk_enc *e, const struct tk_model *m, uint32_t *id)
{
    if (m->unk_id >= 0) {
        *id = (uint32_t)m->unk_id;
        return 0;
    }
    return tv_error_set(e->err, TV_ERR_DATA,
                        "the unknown token '%.*s' is not in the vocabulary", (int)m->unk_len,
                        m->unk);
}

/* Initial symbols of a piece of normalized text; returns the symbol count or -1. */
static long initial_symbols(struct tk_enc *e, struct tk_model *m, const char *w, size_t len)
{
    struct tk_bpe *b = m->bpe;
    size_t extra = m->prefix_len + m->suffix_len;
    if (reserve(e, b, (len + 1) * (4 + extra) + 1) < 0)
        return -1;
    size_t n = 0;
    bool have_unk = false;
    uint32_t unk_len = 0;
    for (size_t i = 0; i < len;) {
        size_t cl = (size_t)tk_utf8_len((unsigned char)w[i]);
        if (i + cl > len)
            cl = len - i;
        bool first = i == 0, last = i + cl == len;
        const char *key = w + i;
        size_t klen = cl;
        if ((!first && m->prefix_len) || (last && m->suffix_len)) {
            size_t need = cl + extra;
            if (tv_grow((void **)&b->tmp, &b->cap_tmp, need, 1, e->err) < 0)
                return -1;
            klen = 0;
            if (!first && m->prefix_len) {
                memcpy(b->tmp, m->prefix, m->prefix_len);
                klen = m->prefix_len;
            }
            memcpy(b->tmp + klen, w + i, cl);
            klen += cl;
            if (last && m->suffix_len) {
                memcpy(b->tmp + klen, m->suffix, m->suffix_len);
                klen += m->suffix_len;
            }
            key = b->tmp;
        }
        uint32_t id;
        if (lookup(m, key, klen, &id)) {
            if (have_unk) {
                uint32_t u = 0;
                if (unk_id(e, m, &u) < 0)
                    return -1;
                add_sym(b, &n, u, unk_len);
                have_unk = false;
            }
            add_sym(b, &n, id, (uint32_t)cl);
            i += cl;
            continue;
        }
        if (m->byte_fallback) {
            bool all = true;
            for (size_t k = 0; k < klen && all; k++)
                all = b->fallback_id[(unsigned char)key[k]] >= 0;
            if (all) {
                /* the reference adds the bytes without flushing a pending unknown */
                for (size_t k = 0; k < klen; k++)
                    add_sym(b, &n, (uint32_t)b->fallback_id[(unsigned char)key[k]], 1);
                i += cl;
                continue;
            }
        }
        if (m->unk) {
            uint32_t u = 0;
            if (unk_id(e, m, &u) < 0)
                return -1;
            if (have_unk && m->fuse_unk) {
                unk_len += (uint32_t)cl;
            } else {
                if (have_unk)
                    add_sym(b, &n, u, unk_len);
                have_unk = true;
                unk_len = (uint32_t)cl;
            }
        }
        /* without an unknown token the char is dropped, as in the reference */
        i += cl;
    }
    if (have_unk) {
        uint32_t u = 0;
        if (unk_id(e, m, &u) < 0)
            return -1;
        add_sym(b, &n, u, unk_len);
    }
    if (n)
        b->syms[n - 1].next = -1;
    return (long)n;
}

/* ---- cache ------------------------------------------------------------------------------ */

static struct cache_slot *cache_find(struct tk_bpe *b, const char *key, size_t len, uint64_t h)
{
    size_t mask = CACHE_SLOTS - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct cache_slot *s = &b->slots[i];
        if (s->key_len == UINT32_MAX)
            return s;
        if (s->hash == h && s->key_len == len && memcmp(b->key_pool + s->key_off, key, len) == 0)
            return s;
    }
}

static void cache_store(struct tk_bpe *b, struct cache_slot *slot, const char *key, size_t len,
                        uint64_t h, size_t n_syms)
{
    size_t n_toks = 0;
    for (size_t i = 0; i < n_syms; i++)
        n_toks += b->syms[i].len != 0;
    if (b->cache_count * 2 >= CACHE_SLOTS || b->key_used + len > CACHE_POOL_BYTES ||
        (b->tok_used + 2 * n_toks) * sizeof(uint32_t) > CACHE_POOL_BYTES) {
        cache_clear(b);
        slot = cache_find(b, key, len, h);
    }
    slot->hash = h;
    slot->key_off = (uint32_t)b->key_used;
    slot->key_len = (uint32_t)len;
    slot->tok_off = (uint32_t)b->tok_used;
    slot->n_toks = (uint32_t)n_toks;
    memcpy(b->key_pool + b->key_used, key, len);
    b->key_used += len;
    for (size_t i = 0; i < n_syms; i++) {
        if (!b->syms[i].len)
            continue;
        b->tok_pool[b->tok_used++] = b->syms[i].id;
        b->tok_pool[b->tok_used++] = b->syms[i].len;
    }
    b->cache_count++;
}

static int emit_cached(struct tk_enc *e, const struct tk_bpe *b, const struct cache_slot *slot,
                       size_t len, struct tk_toks *out)
{
    uint32_t pos = 0;
    for (size_t k = 0; k < slot->n_toks; k++) {
        uint32_t id = b->tok_pool[slot->tok_off + 2 * k];
        uint32_t l = b->tok_pool[slot->tok_off + 2 * k + 1];
        uint32_t end = pos + l > len ? (uint32_t)len : pos + l;
        if (tk_toks_push(out, id, pos < end ? pos : end, end, e->err) < 0)
            return -1;
        pos += l;
    }
    return 0;
}

static int emit_syms(struct tk_enc *e, const struct tk_bpe *b, size_t n, size_t len,
                     struct tk_toks *out)
{
    uint32_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sym *s = &b->syms[i];
        if (!s->len)
            continue;
        uint32_t end = pos + s->len > len ? (uint32_t)len : pos + s->len;
        if (tk_toks_push(out, s->id, pos < end ? pos : end, end, e->err) < 0)
            return -1;
        pos += s->len;
    }
    return 0;
}

int tk_bpe_tokenize(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                    struct tk_toks *out)
{
    struct tk_bpe *b = m->bpe;
    if (len == 0)
        return 0;
    uint32_t id;
    if (m->ignore_merges && lookup(m, s, len, &id))
        return tk_toks_push(out, id, 0, (uint32_t)len, e->err);
    uint64_t h = 0;
    struct cache_slot *slot = NULL;
    if (len <= CACHE_MAX_KEY) {
        h = tk_hash(s, len);
        slot = cache_find(b, s, len, h);
        if (slot->key_len != UINT32_MAX)
            return emit_cached(e, b, slot, len, out);
    }
    long n = initial_symbols(e, m, s, len);
    if (n < 0)
        return -1;
    merge_all(b, (size_t)n);
    if (slot)
        cache_store(b, slot, s, len, h, (size_t)n);
    return emit_syms(e, b, (size_t)n, len, out);
}

int tk_bpe_tokenize_bytes(struct tk_enc *e, struct tk_model *m, const char *s, size_t len,
                          struct tk_toks *out)
{
    struct tk_bpe *b = m->bpe;
    if (len == 0)
        return 0;
    /* one hash for the cache and the whole-word look-up */
    uint64_t h = tk_hash(s, len);
    struct cache_slot *slot = NULL;
    if (len <= CACHE_MAX_KEY) {
        slot = cache_find(b, s, len, h);
        if (slot->key_len != UINT32_MAX)
            return emit_cached(e, b, slot, len, out);
    }
    uint32_t id;
    if (m->ignore_merges && tk_strmap_get_hashed(&b->raw_vocab, s, len, h, &id))
        return tk_toks_push(out, id, 0, (uint32_t)len, e->err);
    if (reserve(e, b, len + 1) < 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        add_sym(b, &n, (uint32_t)b->byte_id[(unsigned char)s[i]], 1);
    b->syms[n - 1].next = -1;
    merge_all(b, n);
    if (slot)
        cache_store(b, slot, s, len, h, n);
    return emit_syms(e, b, n, len, out);
}
