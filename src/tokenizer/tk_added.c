/*
 * Added tokens (tokenizer.json's added_tokens): ids assigned and text matched as the
 * reference's AddedVocabulary does.
 *
 * Ids: the tokens are added in file order; a token whose text is already an added
 * token or a model token gets that id, a new one gets the next id after the model's
 * vocabulary (the ids written in the file are not consulted, as in the reference).
 * Matching: leftmost-longest over two sets, the tokens with normalized=false on the
 * raw text, the others (their text normalized) on the normalized text; then
 * single_word, lstrip and rstrip adjust or drop a match.
 */
#include <string.h>

#include "tok.h"

void tk_added_release(struct tk_added_vocab *a)
{
    tv_free(a->v);
    tv_free(a->pool);
    tk_trie_release(&a->plain);
    tk_trie_release(&a->normalized);
    tk_strmap_release(&a->special_set);
    tk_map64_release(&a->by_id);
    tk_regex_free(a->word);
    memset(a, 0, sizeof *a);
}

static bool same_token(const struct tk_added *x, const struct tk_added *y)
{
    return x->len == y->len && memcmp(x->content, y->content, x->len) == 0 &&
           x->special == y->special && x->single_word == y->single_word &&
           x->lstrip == y->lstrip && x->rstrip == y->rstrip && x->normalized == y->normalized;
}

int tk_added_build(tv_tokenizer *t, const struct tk_added *list, size_t n, tv_error *err)
{
    struct tk_added_vocab *a = &t->added;
    const struct tk_added **patterns = NULL;  /* special tokens first, then the others */
    size_t n_patterns = 0;
    struct tk_strmap ids;                     /* content -> id (added_tokens_map) */
    int rc = -1;
    tk_strmap_init(&ids);
    tk_strmap_init(&a->special_set);
    tk_map64_init(&a->by_id);
    tk_trie_init(&a->plain);
    tk_trie_init(&a->normalized);
    size_t pool_len = 0;
    for (size_t i = 0; i < n; i++)
        pool_len += list[i].len;
    a->pool = tv_malloc(pool_len ? pool_len : 1);
    patterns = tv_malloc((2 * n + 1) * sizeof *patterns);
    if (!a->pool || !patterns)
        goto oom;
    /* copies of the contents, so that the vocab outlives the input list */
    size_t used = 0;
    const char **copy = tv_malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        memcpy(a->pool + used, list[i].content, list[i].len);
        copy[i] = a->pool + used;
        used += list[i].len;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t dummy;
        if (list[i].special && list[i].len &&
            !tk_strmap_get(&a->special_set, copy[i], list[i].len, &dummy)) {
            if (tk_strmap_set(&a->special_set, copy[i], list[i].len, (uint32_t)i) < 0)
                goto oom_copy;
            patterns[n_patterns++] = &list[i];
        }
    }
    int64_t max_id = -1;
    for (size_t i = 0; i < n; i++) {
        const struct tk_added *tok = &list[i];
        if (!tok->len)
            continue;
        /* the reference skips a token equal (text and flags) to one it holds; the one it
           holds for this text, if any, is the entry of the text's id */
        uint32_t id;
        uint64_t held;
        if (tk_strmap_get(&ids, copy[i], tok->len, &id) && tk_map64_get(&a->by_id, id, &held)) {
            struct tk_added probe = *tok;
            probe.content = copy[i];
            if (same_token(&a->v[held], &probe))
                continue;
        }
        if (!tk_strmap_get(&ids, copy[i], tok->len, &id) &&
            !tk_strmap_get(&t->m.vocab, copy[i], tok->len, &id)) {
            uint64_t size = t->m.vocab_count;
            if (max_id < 0)
                id = (uint32_t)size;
            else
                id = (uint64_t)max_id >= size || size == 0 ? (uint32_t)max_id + 1 : (uint32_t)size;
        }
        if (tk_strmap_set(&ids, copy[i], tok->len, id) < 0)
            goto oom_copy;
        if (id > max_id)
            max_id = id;
        struct tk_added entry = *tok;
        entry.content = copy[i];
        entry.id = id;
        uint64_t at;
        if (tk_map64_get(&a->by_id, id, &at)) {
            a->v[at] = entry;
        } else {
            if (tv_grow((void **)&a->v, &a->cap, a->n + 1, sizeof *a->v, err) < 0)
                goto fail_copy;
            if (tk_map64_set(&a->by_id, id, a->n) < 0)
                goto oom_copy;
            a->v[a->n++] = entry;
        }
        uint32_t dummy;
        if (!tk_strmap_get(&a->special_set, copy[i], tok->len, &dummy))
            patterns[n_patterns++] = &list[i];
    }
    /* the special flag that matters from here on is membership in the special set */
    bool single_word = false;
    for (size_t k = 0; k < a->n; k++) {
        uint32_t dummy;
        a->v[k].special = tk_strmap_get(&a->special_set, a->v[k].content, a->v[k].len, &dummy);
        single_word |= a->v[k].single_word;
    }
    /* single_word asks the regex crate's \w: Unicode's word property */
    if (single_word && !(a->word = tk_regex_new("\\w", 2, t->origin, err)))
        goto fail_copy;
    for (size_t k = 0; k < n_patterns; k++) {
        const struct tk_added *p = patterns[k];
        size_t li = (size_t)(p - list);
        uint32_t id;
        uint64_t at;
        if (!tk_strmap_get(&ids, copy[li], p->len, &id) || !tk_map64_get(&a->by_id, id, &at))
            continue;
        if (!p->normalized) {
            if (tk_trie_insert(&a->plain, copy[li], p->len, (int64_t)at) < 0)
                goto oom_copy;
            a->has_plain = true;
            continue;
        }
        const char *key;
        size_t key_len;
        if (tk_normalize_string(t, copy[li], p->len, &key, &key_len, err) < 0)
            goto fail_copy;
        if (tk_trie_insert(&a->normalized, key, key_len, (int64_t)at) < 0)
            goto oom_copy;
        a->has_normalized = true;
    }
    rc = 0;
    goto done;
oom_copy:
    tv_error_set(err, TV_ERR_NOMEM, "out of memory building the added tokens");
fail_copy:
done:
    tv_free(copy);
    tv_free(patterns);
    tk_strmap_release(&ids);
    return rc;
oom:
    tv_free(patterns);
    tk_strmap_release(&ids);
    return tv_error_set(err, TV_ERR_NOMEM, "out of memory building the added tokens");
}

/* ---- matching --------------------------------------------------------------------------- */

/* Whether the one char at s is a word char. */
static bool is_word(struct tk_enc *e, const struct tk_added_vocab *a, const char *s, size_t n)
{
    size_t ms, me;
    return tk_regex_search(a->word, &e->rx, s, n, 0, &ms, &me) == 1;
}

static bool ends_with_word(struct tk_enc *e, const struct tk_added_vocab *a, const char *s,
                           size_t len)
{
    if (!len)
        return false;
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return is_word(e, a, s + i, len - i);
}

static bool starts_with_word(struct tk_enc *e, const struct tk_added_vocab *a, const char *s,
                             size_t len)
{
    if (!len)
        return false;
    size_t n = (size_t)tk_utf8_len((unsigned char)s[0]);
    return is_word(e, a, s, n < len ? n : len);
}

/* Start of the whitespace run that ends s (len when none). */
static size_t space_run_at_end(const char *s, size_t len)
{
    size_t i = len;
    while (i > 0) {
        size_t j = i - 1;
        while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
            j--;
        uint32_t cp;
        tk_utf8_next(s + j, &cp);
        if (!tk_is_whitespace(cp))
            break;
        i = j;
    }
    return i;
}

/* Length of the whitespace run that starts s. */
static size_t space_run_at_start(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = tk_utf8_next(s + i, &cp);
        if (!tk_is_whitespace(cp))
            break;
        i += (size_t)n;
    }
    return i;
}

static int push_slice(struct tk_enc *e, const struct tk_piece *p, size_t a, size_t b, int32_t id,
                      struct tk_pieces *out)
{
    if (b <= a)
        return 0;
    struct tk_piece s = tk_piece_slice(e, p, a, b);
    s.id = id;
    return tk_pieces_push(out, &s, e->err);
}

int tk_added_split(struct tk_enc *e, const struct tk_added_vocab *a, bool normalized,
                   bool parse_special, const struct tk_piece *p, struct tk_pieces *out)
{
    const struct tk_trie *trie = normalized ? &a->normalized : &a->plain;
    if (!(normalized ? a->has_normalized : a->has_plain))
        return push_slice(e, p, 0, p->len, -1, out);
    const char *s = p->s;
    size_t len = p->len, start_offset = 0;
    for (size_t i = 0; i < len;) {
        /* most positions start no token: one table look-up each */
        while (i < len && !trie->root[(unsigned char)s[i]])
            i++;
        if (i >= len)
            break;
        /* the longest token starting at i */
        uint32_t node = 0;
        size_t best_end = 0;
        int64_t best = -1;
        for (size_t k = i; k < len; k++) {
            node = tk_trie_step(trie, node, (unsigned char)s[k]);
            if (!node)
                break;
            if (trie->value[node] >= 0) {
                best = trie->value[node];
                best_end = k + 1;
            }
        }
        if (best < 0) {
            i++;
            continue;
        }
        size_t start = i, stop = best_end;
        i = best_end; /* the next search starts after this match, used or not */
        const struct tk_added *tok = &a->v[best];
        if (!parse_special && tok->special)
            continue;
        if (tok->single_word) {
            bool start_space = start == 0 || !ends_with_word(e, a, s, start);
            bool stop_space = stop == len || !starts_with_word(e, a, s + stop, len - stop);
            if (!start_space || !stop_space)
                continue;
        }
        if (tok->lstrip) {
            size_t ns = space_run_at_end(s, start);
            start = ns > start_offset ? ns : start_offset;
        }
        if (tok->rstrip)
            stop += space_run_at_start(s + stop, len - stop);
        if (start_offset < start && push_slice(e, p, start_offset, start, -1, out) < 0)
            return -1;
        if (push_slice(e, p, start, stop, (int32_t)tok->id, out) < 0)
            return -1;
        start_offset = stop;
    }
    if (start_offset != len && push_slice(e, p, start_offset, len, -1, out) < 0)
        return -1;
    return 0;
}
