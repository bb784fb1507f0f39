/*
 * SentencePiece's precompiled_charsmap (the Precompiled normalizer of T5, ALBERT,
 * XLM-R, mBART tokenizers), read as the reference reads it:
 *
 *   1. u32 LE trie_size: bytes of the trie that follows
 *   2. trie_size / 4 u32 LE units of a darts-clone double-array trie over UTF-8 keys;
 *      a key's value is a byte offset into the string blob
 *   3. the string blob: replacement strings, each ended by a NUL byte
 *
 * Each unit packs: bit 8 "has leaf", bits 0-7 + bit 31 the label, bits 10-30 the
 * offset to the children (shifted by 8 when bit 9 is set); a leaf unit's low 31 bits
 * are the value.
 *
 * Normalization walks extended grapheme clusters: a cluster under 6 bytes is looked up
 * whole; otherwise (or when it is not a key) each of its chars is looked up alone. A
 * lookup takes the first (shortest) key that is a prefix of what is looked up.
 */
#include <string.h>

#include <utf8proc.h>

#include "tok.h"

struct tk_precompiled {
    uint32_t *units;
    size_t n_units;
    char *strings;
    size_t strings_len;
};

void tk_precompiled_free(struct tk_precompiled *pc)
{
    if (!pc)
        return;
    tv_free(pc->units);
    tv_free(pc->strings);
    tv_free(pc);
}

struct tk_precompiled *tk_precompiled_new(const uint8_t *blob, size_t len, const char *where,
                                          tv_error *err)
{
    struct tk_precompiled *pc = NULL;
    if (len < 4) {
        tv_error_set(err, TV_ERR_DATA, "%s: precompiled_charsmap of %zu bytes has no trie size",
                     where, len);
        return NULL;
    }
    uint32_t trie_size = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                         (uint32_t)blob[3] << 24;
    size_t n_units = trie_size / 4;
    if (n_units > (len - 4) / 4) {
        tv_error_set(err, TV_ERR_DATA,
                     "%s: precompiled_charsmap trie of %u bytes runs past its %zu bytes", where,
                     trie_size, len);
        return NULL;
    }
    size_t rest = len - 4 - n_units * 4;
    const char *strings = (const char *)blob + 4 + n_units * 4;
    size_t bad;
    if (tk_utf8_valid_prefix(strings, rest, &bad) != rest) {
        tv_error_set(err, TV_ERR_DATA,
                     "%s: precompiled_charsmap replacement strings are not valid UTF-8", where);
        return NULL;
    }
    pc = tv_calloc(1, sizeof *pc);
    if (!pc)
        goto oom;
    pc->units = tv_malloc((n_units ? n_units : 1) * sizeof *pc->units);
    pc->strings = tv_malloc(rest ? rest : 1);
    if (!pc->units || !pc->strings)
        goto oom;
    for (size_t i = 0; i < n_units; i++) {
        const uint8_t *u = blob + 4 + 4 * i;
        pc->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                       (uint32_t)u[3] << 24;
    }
    pc->n_units = n_units;
    memcpy(pc->strings, strings, rest);
    pc->strings_len = rest;
    return pc;
oom:
    tk_precompiled_free(pc);
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory reading precompiled_charsmap", where);
    return NULL;
}

static bool unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

/* The replacement for the shortest key that prefixes s[0..len), or false. */
static bool lookup(const struct tk_precompiled *pc, const char *s, size_t len, const char **out,
                   size_t *out_len)
{
    if (!pc->n_units)
        return false;
    size_t node = 0;
    uint32_t unit = pc->units[0];
    node ^= unit_offset(unit);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            return false;
        node ^= c;
        if (node >= pc->n_units)
            return false;
        unit = pc->units[node];
        if (unit_label(unit) != c)
            return false;
        node ^= unit_offset(unit);
        if (node >= pc->n_units)
            return false;
        if (unit_has_leaf(unit)) {
            size_t at = unit_value(pc->units[node]);
            if (at > pc->strings_len)
                return false;
            const char *end = memchr(pc->strings + at, 0, pc->strings_len - at);
            *out = pc->strings + at;
            *out_len = end ? (size_t)(end - *out) : pc->strings_len - at;
            return true;
        }
    }
    return false;
}

/* SentencePiece's own lookup (normalizer.cc NormalizePrefix): every key that prefixes
   s[0..len) is a candidate and the longest wins. Returns its length in bytes and sets
   *out to its replacement (which may be empty), or returns 0 when no key matches or
   the value points outside the strings. */
size_t tk_precompiled_longest(const struct tk_precompiled *pc, const char *s, size_t len,
                              const char **out, size_t *out_len)
{
    size_t best = 0;
    if (!pc->n_units)
        return 0;
    size_t node = unit_offset(pc->units[0]);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            break;
        node ^= c;
        if (node >= pc->n_units)
            break;
        uint32_t unit = pc->units[node];
        if (unit_label(unit) != c)
            break;
        node ^= unit_offset(unit);
        if (node >= pc->n_units)
            break;
        if (unit_has_leaf(unit)) {
            size_t at = unit_value(pc->units[node]);
            if (at >= pc->strings_len)
                continue;
            const char *end = memchr(pc->strings + at, 0, pc->strings_len - at);
            *out = pc->strings + at;
            *out_len = end ? (size_t)(end - *out) : pc->strings_len - at;
            best = i + 1;
        }
    }
    return best;
}

static size_t count_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int push_change(struct tk_enc *e, uint32_t cp, int32_t change)
{
    struct tk_changes *c = &e->changes;
    if (c->n == c->cap && tv_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v, e->err) < 0)
        return -1;
    c->v[c->n++] = (struct tk_change){cp, change};
    return 0;
}

/* The reference's replace(): the new chars, with the change in char count put on the
   last ones. */
static int replace(struct tk_enc *e, const char *old, size_t old_len, const char *repl,
                   size_t repl_len)
{
    int64_t diff = (int64_t)count_chars(repl, repl_len) - (int64_t)count_chars(old, old_len);
    for (size_t i = 0; i < repl_len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(repl + i, &cp);
        if (push_change(e, cp, 0) < 0)
            return -1;
    }
    struct tk_changes *c = &e->changes;
    if (diff > 0) {
        for (size_t k = 0; k < (size_t)diff && k < c->n; k++)
            c->v[c->n - 1 - k].change = 1;
    } else if (diff < 0 && c->n) {
        c->v[c->n - 1].change += (int32_t)diff;
    }
    return 0;
}

int tk_precompiled_apply(struct tk_enc *e, const struct tk_precompiled *pc, struct tk_piece *p)
{
    e->changes.n = 0;
    bool modified = false;
    const char *s = p->s;
    size_t len = p->len;
    size_t gs = 0;
    while (gs < len) {
        /* the extended grapheme cluster starting at gs */
        uint32_t prev;
        size_t ge = gs + (size_t)tk_utf8_next(s + gs, &prev);
        utf8proc_int32_t state = 0;
        while (ge < len) {
            uint32_t cp;
            int n = tk_utf8_next(s + ge, &cp);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)cp,
                                                 &state))
                break;
            prev = cp;
            ge += (size_t)n;
        }
        const char *norm;
        size_t norm_len;
        if (ge - gs < 6 && lookup(pc, s + gs, ge - gs, &norm, &norm_len)) {
            modified = true;
            if (replace(e, s + gs, ge - gs, norm, norm_len) < 0)
                return -1;
        } else {
            for (size_t i = gs; i < ge;) {
                uint32_t cp;
                int n = tk_utf8_next(s + i, &cp);
                if (lookup(pc, s + i, (size_t)n, &norm, &norm_len)) {
                    modified = true;
                    if (replace(e, s + i, (size_t)n, norm, norm_len) < 0)
                        return -1;
                } else if (push_change(e, cp, 0) < 0) {
                    return -1;
                }
                i += (size_t)n;
            }
        }
        gs = ge;
    }
    return modified ? tk_piece_transform(e, p, 0) : 0;
}
