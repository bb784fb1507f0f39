/*
 * Small containers of the tokenizer: the per-call scratch arena, an integer hash
 * map, a string hash map with "last insert wins", and a byte trie built on the
 * integer map.
 */
#include <string.h>

#include "tok.h"

/* ---- scratch arena ------------------------------------------------------------------ */

struct tk_chunk {
    struct tk_chunk *next;
    size_t cap, used;
    _Alignas(8) unsigned char data[];
};

void tk_scratch_init(struct tk_scratch *s)
{
    s->head = NULL;
}

void tk_scratch_release(struct tk_scratch *s)
{
    struct tk_chunk *c = s->head;
    while (c) {
        struct tk_chunk *next = c->next;
        tv_free(c);
        c = next;
    }
    s->head = NULL;
}

void tk_scratch_reset(struct tk_scratch *s)
{
    struct tk_chunk *keep = NULL;
    for (struct tk_chunk *c = s->head; c; c = c->next)
        if (!keep || c->cap > keep->cap)
            keep = c;
    struct tk_chunk *c = s->head;
    while (c) {
        struct tk_chunk *next = c->next;
        if (c != keep)
            tv_free(c);
        c = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    s->head = keep;
}

void *tk_alloc(struct tk_scratch *s, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    struct tk_chunk *c = s->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = 1u << 16;
        if (c && c->cap * 2 > cap)
            cap = c->cap * 2;
        while (cap < n) {
            if (cap > SIZE_MAX / 2)
                return NULL;
            cap *= 2;
        }
        struct tk_chunk *fresh = tv_malloc(sizeof *fresh + cap);
        if (!fresh)
            return NULL;
        fresh->cap = cap;
        fresh->used = 0;
        fresh->next = c;
        s->head = c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* ---- uint64 -> uint64 map -------------------------------------------------------------- */

void tk_map64_init(struct tk_map64 *m)
{
    memset(m, 0, sizeof *m);
}

void tk_map64_release(struct tk_map64 *m)
{
    tv_free(m->slots);
    tk_map64_init(m);
}

static int map64_grow(struct tk_map64 *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct tk_map64_slot *slots = cap < m->cap ? NULL : tv_malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0xFF, cap * sizeof *slots);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == UINT64_MAX)
            continue;
        size_t j = tk_mix64(m->slots[i].key) & (cap - 1);
        while (slots[j].key != UINT64_MAX)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    tv_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int tk_map64_set(struct tk_map64 *m, uint64_t key, uint64_t value)
{
    if ((m->count + 1) * 2 > m->cap && map64_grow(m) < 0)
        return -1;
    size_t mask = m->cap - 1;
    size_t i = tk_mix64(key) & mask;
    while (m->slots[i].key != UINT64_MAX && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (m->slots[i].key == UINT64_MAX) {
        m->slots[i].key = key;
        m->count++;
    }
    m->slots[i].value = value;
    return 0;
}

/* ---- string map -------------------------------------------------------------------- */

struct tk_strmap_slot {
    const char *key;  /* NULL: empty */
    uint32_t len;
    uint32_t value;
    uint64_t hash;
};

uint64_t tk_hash(const void *p, size_t len)
{
    /* 8 bytes at a time, then a final mix: the keys are short (tokens). */
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (len * 0xC2B2AE3D27D4EB4FULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ tk_mix64(w)) * 0x9E3779B97F4A7C15ULL;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ tk_mix64(w ^ len)) * 0x9E3779B97F4A7C15ULL;
    return tk_mix64(h);
}

void tk_strmap_init(struct tk_strmap *m)
{
    memset(m, 0, sizeof *m);
}

void tk_strmap_release(struct tk_strmap *m)
{
    tv_free(m->slots);
    tk_strmap_init(m);
}

static struct tk_strmap_slot *strmap_slot(struct tk_strmap_slot *slots, size_t cap,
                                          const char *key, size_t len, uint64_t hash)
{
    size_t mask = cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct tk_strmap_slot *s = &slots[i];
        if (!s->key || (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

static int strmap_put(struct tk_strmap *m, const char *key, size_t len, uint32_t value,
                      bool replace)
{
    if (len > UINT32_MAX)
        return -1;
    if ((m->count + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct tk_strmap_slot *slots = cap < m->cap ? NULL : tv_calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key)
                *strmap_slot(slots, cap, m->slots[i].key, m->slots[i].len, m->slots[i].hash) =
                    m->slots[i];
        tv_free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    uint64_t hash = tk_hash(key, len);
    struct tk_strmap_slot *s = strmap_slot(m->slots, m->cap, key, len, hash);
    if (s->key) {
        if (replace)
            s->value = value;
        return 0;
    }
    s->key = key ? key : "";
    s->len = (uint32_t)len;
    s->hash = hash;
    s->value = value;
    m->count++;
    return 0;
}

int tk_strmap_set(struct tk_strmap *m, const char *key, size_t len, uint32_t value)
{
    return strmap_put(m, key, len, value, true);
}

int tk_strmap_add(struct tk_strmap *m, const char *key, size_t len, uint32_t value)
{
    return strmap_put(m, key, len, value, false);
}

bool tk_strmap_get(const struct tk_strmap *m, const char *key, size_t len, uint32_t *value)
{
    return m->cap && tk_strmap_get_hashed(m, key, len, tk_hash(key, len), value);
}

bool tk_strmap_get_hashed(const struct tk_strmap *m, const char *key, size_t len, uint64_t hash,
                          uint32_t *value)
{
    if (!m->cap)
        return false;
    const struct tk_strmap_slot *s = strmap_slot(m->slots, m->cap, key, len, hash);
    if (!s->key)
        return false;
    *value = s->value;
    return true;
}

/* ---- trie ------------------------------------------------------------------------------ */

void tk_trie_init(struct tk_trie *t)
{
    memset(t, 0, sizeof *t);
}

void tk_trie_release(struct tk_trie *t)
{
    tk_map64_release(&t->edges);
    tv_free(t->value);
    tk_trie_init(t);
}

static int trie_new_node(struct tk_trie *t, uint32_t *node)
{
    if (t->n_nodes >= UINT32_MAX)
        return -1;
    if (tv_grow((void **)&t->value, &t->cap_nodes, t->n_nodes + 1, sizeof *t->value, NULL) < 0)
        return -1;
    t->value[t->n_nodes] = -1;
    *node = (uint32_t)t->n_nodes++;
    return 0;
}

int tk_trie_insert(struct tk_trie *t, const char *key, size_t len, int64_t value)
{
    uint32_t node = 0;
    if (t->n_nodes == 0 && trie_new_node(t, &node) < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        uint32_t child = tk_trie_step(t, node, (unsigned char)key[i]);
        if (!child) {
            if (trie_new_node(t, &child) < 0)
                return -1;
            if (node == 0)
                t->root[(unsigned char)key[i]] = child;
            else if (tk_map64_set(&t->edges, ((uint64_t)node << 8) | (unsigned char)key[i],
                                  child) < 0)
                return -1;
        }
        node = child;
    }
    if (t->value[node] < 0)
        t->value[node] = value;
    return 0;
}
