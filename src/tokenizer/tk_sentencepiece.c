/*
 * SentencePiece model files (tokenizer.model, *.model): encoding and decoding id for id
 * as the SentencePiece library does (checked against sentencepiece 0.1.97), from the
 * pieces and the "sentencepiece.*" metadata that formats/sentencepiece.c reads.
 *
 * The library does not run Hugging Face's pipeline, so this file has its own:
 *
 *   1. Normalize the whole text (normalizer.cc): at each position the longest rule
 *      wins: a user-defined piece (copied as it is), else the longest key of
 *      precompiled_charsmap (its replacement, possibly empty), else one char (an
 *      invalid byte becomes U+FFFD and consumes one byte). With
 *      remove_extra_whitespaces, leading spaces, spaces after a space and trailing
 *      spaces go; add_dummy_prefix puts one space in front (at the end with
 *      treat_whitespace_as_suffix); escape_whitespaces writes spaces as U+2581. The
 *      normalizer's name is not used at run time: no charsmap is the identity.
 *   2. The model over the whole normalized text, no pre-tokenizer:
 *      - Unigram (unigram_model.cc EncodeOptimized): Viterbi in float over the normal,
 *        user-defined and unused pieces; unused pieces are skipped, a user-defined one
 *        scores length * max_score - 0.1 (max over normal pieces), and a char that no
 *        one-char piece covers is the unknown piece at min_score - 10 (kUnkPenalty).
 *        Ties keep the path found first.
 *      - BPE (bpe_model.cc): user-defined pieces and single chars are the symbols
 *        (user-defined ones frozen); the adjacent pair whose concatenation is a normal,
 *        user-defined or unused piece with the highest score merges (leftmost on a
 *        tie); an unused piece is split back along the merges that made it; what is no
 *        piece is the unknown piece.
 *      - CHAR: each user-defined piece or char; WORD: the text cut before each U+2581
 *        (after it with treat_whitespace_as_suffix).
 *   3. An unknown piece becomes its <0xXX> byte pieces with byte_fallback; otherwise
 *      a run of unknown pieces gives one unknown id.
 *
 * Control pieces (<s>, </s>) are never matched in the text: the library has no such
 * step, so "<s>" is "<", "s", ">". TV_ENCODE_ADD_SPECIAL puts the BOS piece in front,
 * or, for a model without one (T5), the EOS piece at the end.
 *
 * Decoding (sentencepiece_processor.cc Decode): control pieces are invisible, the
 * unknown piece is trainer_spec.unk_surface (" \u2047 "), runs of byte pieces are their
 * bytes read as UTF-8 (U+FFFD per invalid byte), U+2581 is a space, and while the text
 * is still empty a piece loses one leading U+2581 when add_dummy_prefix or
 * remove_extra_whitespaces is set; a denormalizer_spec with a charsmap is applied last.
 *
 * A model the library refuses to load (an empty, repeated or NUL-holding piece, not
 * exactly one UNKNOWN piece, byte pieces without byte_fallback or byte_fallback
 * without all 256 of them) is refused here too, with the library's reason.
 */
#include <stdio.h>
#include <string.h>

#include "tok.h"

#define SPACE_SYMBOL "\xE2\x96\x81"
#define REPLACEMENT_CHAR "\xEF\xBF\xBD"
#define UNK_PENALTY 10.0f
/* normalized text and positions are int32 in the library; so they are here */
#define MAX_NORMALIZED ((size_t)INT32_MAX - 16)

enum sp_kind { SP_UNIGRAM, SP_BPE, SP_WORD, SP_CHAR };

struct sp_norm {
    struct tk_precompiled *charsmap;   /* NULL: each char copied (identity) */
    bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    bool ws_suffix;                    /* treat_whitespace_as_suffix */
    const struct tk_trie *user;        /* user-defined pieces, or NULL */
};

/* A growable normalized text with, per byte, the original offset it came from. */
struct sp_text {
    char *s;
    size_t len, cap;
    uint32_t *n2o;                     /* len + 1 entries after normalize(), or unused */
    size_t cap_n2o;
};

struct sp_result {
    uint32_t start, end;               /* bytes of the normalized text */
    uint32_t id;
};

struct sp_best {
    float score;
    int32_t start;                     /* -1: no path ends here yet */
    uint32_t id;
};

struct sp_sym {
    uint32_t start, len;               /* len 0: merged away */
    int32_t prev, next;
    bool freeze;
};

struct sp_pair {
    int32_t left, right;
    float score;
    uint32_t size;
};

struct tk_sp {
    enum sp_kind kind;
    const char *file;
    struct sp_norm norm, denorm;
    bool has_denorm;
    struct tk_trie user;               /* user-defined pieces -> id */
    bool has_user;
    struct tk_trie trie;               /* Unigram: normal, user-defined, unused -> id */
    struct tk_strmap pieces;           /* normal, user-defined and unused pieces -> id */
    struct tk_strmap reserved;         /* control, unknown and byte pieces -> id */
    const struct tv_token *tokens;     /* the vocabulary's pieces (borrowed) */
    size_t n_tokens;
    uint32_t unk_id;
    uint32_t byte_id[256];
    bool byte_fallback, allow_ws_only;
    float min_score, max_score;
    const char *unk_surface;
    size_t unk_surface_len;
    bool has_unused;
    /* per call */
    struct sp_text text, out;
    struct sp_result *res;
    size_t n_res, cap_res;
    struct sp_best *best;
    size_t cap_best;
    struct sp_sym *syms;
    size_t cap_syms;
    struct sp_pair *heap;
    size_t n_heap, cap_heap;
    uint32_t *stack;
    size_t cap_stack;
    struct tk_strmap rev;              /* BPE: unused piece -> bytes of its left part */
    char *bytes;                       /* decode: pending byte pieces */
    size_t n_bytes, cap_bytes;
};

void tk_sp_free(struct tk_sp *sp)
{
    if (!sp)
        return;
    tk_precompiled_free(sp->norm.charsmap);
    tk_precompiled_free(sp->denorm.charsmap);
    tk_trie_release(&sp->user);
    tk_trie_release(&sp->trie);
    tk_strmap_release(&sp->pieces);
    tk_strmap_release(&sp->reserved);
    tk_strmap_release(&sp->rev);
    tv_free(sp->text.s);
    tv_free(sp->text.n2o);
    tv_free(sp->out.s);
    tv_free(sp->out.n2o);
    tv_free(sp->res);
    tv_free(sp->best);
    tv_free(sp->syms);
    tv_free(sp->heap);
    tv_free(sp->stack);
    tv_free(sp->bytes);
    tv_free(sp);
}

static int oom(tv_error *err)
{
    return tv_error_set(err, TV_ERR_NOMEM, "out of memory while tokenizing");
}

/* ---- UTF-8 as the library reads it ------------------------------------------------- */

/* string_util::OneCharLen: the length the lead byte announces (1 for a stray byte). */
static size_t one_char_len(const char *s, size_t room)
{
    unsigned char b = (unsigned char)s[0];
    size_t n = b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    return n < room ? n : room;
}

static bool is_trail(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

/* string_util::IsValidDecodeUTF8: whether s starts with a well-formed char (no overlong
   form, no surrogate, at most U+10FFFF); *mblen gets its length, 1 when it is not. */
static bool valid_char(const char *str, size_t len, size_t *mblen)
{
    const unsigned char *s = (const unsigned char *)str;
    *mblen = 1;
    if (s[0] < 0x80)
        return true;
    if (len >= 2 && (s[0] & 0xE0) == 0xC0) {
        uint32_t cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        if (is_trail(s[1]) && cp >= 0x80) {
            *mblen = 2;
            return true;
        }
    } else if (len >= 3 && (s[0] & 0xF0) == 0xE0) {
        uint32_t cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        if (is_trail(s[1]) && is_trail(s[2]) && cp >= 0x800 && (cp < 0xD800 || cp >= 0xE000)) {
            *mblen = 3;
            return true;
        }
    } else if (len >= 4 && (s[0] & 0xF8) == 0xF0) {
        uint32_t cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                      (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
        if (is_trail(s[1]) && is_trail(s[2]) && is_trail(s[3]) && cp >= 0x10000 &&
            cp <= 0x10FFFF) {
            *mblen = 4;
            return true;
        }
    }
    return false;
}

/* The longest key of trie that prefixes s[0..len): its length (0: none); *id its value. */
static size_t trie_longest(const struct tk_trie *trie, const char *s, size_t len, uint32_t *id)
{
    size_t best = 0;
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        node = tk_trie_step(trie, node, (unsigned char)s[i]);
        if (!node)
            break;
        if (trie->value[node] >= 0) {
            best = i + 1;
            if (id)
                *id = (uint32_t)trie->value[node];
        }
    }
    return best;
}

/* ---- 1. the normalizer --------------------------------------------------------------- */

static int text_put(struct sp_text *t, const char *s, size_t n, uint32_t orig, bool n2o,
                    tv_error *err)
{
    if (t->len + n + 1 > MAX_NORMALIZED)
        return tv_error_set(err, TV_ERR_LIMIT,
                            "the normalized text would pass %zu bytes: split the text",
                            MAX_NORMALIZED);
    if (tv_grow((void **)&t->s, &t->cap, t->len + n + 1, 1, err) < 0 ||
        (n2o && tv_grow((void **)&t->n2o, &t->cap_n2o, t->len + n + 1, sizeof *t->n2o, err) < 0))
        return -1;
    memcpy(t->s + t->len, s, n);
    if (n2o)
        for (size_t i = 0; i < n; i++)
            t->n2o[t->len + i] = orig;
    t->len += n;
    return 0;
}

/* NormalizePrefix: the normalized form of what starts in[0..len) and the bytes it
   consumes (at least 1). */
static size_t norm_prefix(const struct sp_norm *nm, const char *in, size_t len, const char **out,
                          size_t *out_len)
{
    size_t n;
    if (nm->user && (n = trie_longest(nm->user, in, len, NULL)) > 0) {
        *out = in;
        *out_len = n;
        return n;
    }
    if (nm->charsmap && (n = tk_precompiled_longest(nm->charsmap, in, len, out, out_len)) > 0)
        return n;
    if (valid_char(in, len, &n)) {
        *out = in;
        *out_len = n;
        return n;
    }
    *out = REPLACEMENT_CHAR;
    *out_len = 3;
    return 1;
}

/*
 * Normalizer::Normalize of in[0..len) into t (emptied first). With n2o, t->n2o[i] is
 * the input offset normalized byte i came from, and t->n2o[t->len] the end.
 */
static int normalize(const struct sp_norm *nm, const char *in, size_t len, struct sp_text *t,
                     bool n2o, tv_error *err)
{
    t->len = 0;
    uint32_t consumed = 0;
    const char *sp;
    size_t sp_len, n;
    const char *space = nm->escape_whitespaces ? SPACE_SYMBOL : " ";
    size_t space_len = nm->escape_whitespaces ? 3 : 1;
    bool prev_space = nm->remove_extra_whitespaces;
    if (nm->remove_extra_whitespaces) {
        while (len > 0) {
            n = norm_prefix(nm, in, len, &sp, &sp_len);
            if (sp_len != 1 || sp[0] != ' ')
                break;
            in += n;
            len -= n;
            consumed += (uint32_t)n;
        }
    }
    if (len == 0)
        goto out;
    if (!nm->ws_suffix && nm->add_dummy_prefix &&
        text_put(t, space, space_len, consumed, n2o, err) < 0)
        return -1;
    while (len > 0) {
        n = norm_prefix(nm, in, len, &sp, &sp_len);
        while (prev_space && sp_len > 0 && sp[0] == ' ') {
            sp++;
            sp_len--;
        }
        if (sp_len > 0) {
            size_t run = 0;   /* bytes copied in one go up to the next space */
            for (size_t i = 0; i <= sp_len; i++) {
                if (i < sp_len && !(nm->escape_whitespaces && sp[i] == ' '))
                    continue;
                if (text_put(t, sp + run, i - run, consumed, n2o, err) < 0)
                    return -1;
                if (i < sp_len && text_put(t, SPACE_SYMBOL, 3, consumed, n2o, err) < 0)
                    return -1;
                run = i + 1;
            }
            prev_space = sp[sp_len - 1] == ' ';
        }
        consumed += (uint32_t)n;
        in += n;
        len -= n;
        if (!nm->remove_extra_whitespaces)
            prev_space = false;
    }
    if (nm->remove_extra_whitespaces) {
        while (t->len >= space_len && memcmp(t->s + t->len - space_len, space, space_len) == 0) {
            t->len -= space_len;
            if (n2o)
                consumed = t->n2o[t->len];
        }
    }
    if (nm->ws_suffix && nm->add_dummy_prefix &&
        text_put(t, space, space_len, consumed, n2o, err) < 0)
        return -1;
out:
    if (tv_grow((void **)&t->s, &t->cap, t->len + 1, 1, err) < 0 ||
        (n2o && tv_grow((void **)&t->n2o, &t->cap_n2o, t->len + 1, sizeof *t->n2o, err) < 0))
        return -1;
    t->s[t->len] = '\0';
    if (n2o)
        t->n2o[t->len] = consumed;
    return 0;
}

/* ---- 2. the models ---------------------------------------------------------------------- */

static int push_result(struct tk_sp *sp, size_t start, size_t end, uint32_t id, tv_error *err)
{
    if (sp->n_res == sp->cap_res &&
        tv_grow((void **)&sp->res, &sp->cap_res, sp->n_res + 1, sizeof *sp->res, err) < 0)
        return -1;
    sp->res[sp->n_res++] = (struct sp_result){(uint32_t)start, (uint32_t)end, id};
    return 0;
}

/* PieceToId: control, unknown and byte pieces first, then the others, else unknown. */
static uint32_t piece_to_id(const struct tk_sp *sp, const char *s, size_t len)
{
    uint32_t id;
    if (tk_strmap_get(&sp->reserved, s, len, &id) || tk_strmap_get(&sp->pieces, s, len, &id))
        return id;
    return sp->unk_id;
}

static int unigram(struct tk_sp *sp, const char *s, size_t len, tv_error *err)
{
    if (tv_grow((void **)&sp->best, &sp->cap_best, len + 1, sizeof *sp->best, err) < 0)
        return -1;
    struct sp_best *best = sp->best;
    for (size_t i = 0; i <= len; i++)
        best[i] = (struct sp_best){0.0f, -1, 0};
    const float unk_score = sp->min_score - UNK_PENALTY;
    for (size_t start = 0; start < len;) {
        const float here = best[start].score;
        const size_t mblen = one_char_len(s + start, len - start);
        bool single = false;
        uint32_t node = 0;
        for (size_t k = start; k < len; k++) {
            node = tk_trie_step(&sp->trie, node, (unsigned char)s[k]);
            if (!node)
                break;
            int64_t value = sp->trie.value[node];
            if (value < 0)
                continue;
            uint32_t id = (uint32_t)value;
            uint8_t type = sp->tokens[id].type;
            if (type == TV_TOKEN_UNUSED)
                continue;
            size_t end = k + 1, length = end - start;
            struct sp_best *target = &best[end];
            /* The library's score is a double (its ?: mixes the user-defined bonus,
               a double, with the float score), and so is the sum; the best score kept
               per position is a float. Near-ties depend on exactly that. */
            double score = type == TV_TOKEN_USER_DEFINED
                               ? (double)((float)length * sp->max_score) - 0.1
                               : (double)sp->tokens[id].score;
            double candidate = score + (double)here;
            if (target->start < 0 || candidate > (double)target->score)
                *target = (struct sp_best){(float)candidate, (int32_t)start, id};
            if (length == mblen)
                single = true;
        }
        if (!single) {
            struct sp_best *target = &best[start + mblen];
            float candidate = unk_score + here;
            if (target->start < 0 || candidate > target->score)
                *target = (struct sp_best){candidate, (int32_t)start, sp->unk_id};
        }
        start += mblen;
    }
    /* back from the end, then reversed */
    size_t first = sp->n_res;
    for (size_t end = len; end > 0;) {
        size_t start = best[end].start < 0 ? 0 : (size_t)best[end].start;
        if (push_result(sp, start, end, best[end].id, err) < 0)
            return -1;
        end = start;
    }
    for (size_t a = first, b = sp->n_res; a + 1 < b; a++, b--) {
        struct sp_result tmp = sp->res[a];
        sp->res[a] = sp->res[b - 1];
        sp->res[b - 1] = tmp;
    }
    return 0;
}

/* BPE's agenda: the best pair on top (highest score, then leftmost). */
static bool pair_before(const struct sp_pair *a, const struct sp_pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int heap_push(struct tk_sp *sp, struct sp_pair p, tv_error *err)
{
    if (sp->n_heap == sp->cap_heap &&
        tv_grow((void **)&sp->heap, &sp->cap_heap, sp->n_heap + 1, sizeof *sp->heap, err) < 0)
        return -1;
    size_t i = sp->n_heap++;
    sp->heap[i] = p;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_before(&sp->heap[i], &sp->heap[parent]))
            break;
        struct sp_pair tmp = sp->heap[i];
        sp->heap[i] = sp->heap[parent];
        sp->heap[parent] = tmp;
        i = parent;
    }
    return 0;
}

static struct sp_pair heap_pop(struct tk_sp *sp)
{
    struct sp_pair top = sp->heap[0];
    sp->heap[0] = sp->heap[--sp->n_heap];
    size_t i = 0, n = sp->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && pair_before(&sp->heap[l], &sp->heap[m]))
            m = l;
        if (r < n && pair_before(&sp->heap[r], &sp->heap[m]))
            m = r;
        if (m == i)
            break;
        struct sp_pair tmp = sp->heap[i];
        sp->heap[i] = sp->heap[m];
        sp->heap[m] = tmp;
        i = m;
    }
    return top;
}

/* MaybeAddNewSymbolPair: a candidate when the two symbols together are a piece. */
static int maybe_add_pair(struct tk_sp *sp, const char *s, int32_t left, int32_t right,
                          tv_error *err)
{
    if (left < 0 || right < 0 || sp->syms[left].freeze || sp->syms[right].freeze)
        return 0;
    uint32_t start = sp->syms[left].start, size = sp->syms[left].len + sp->syms[right].len;
    uint32_t id;
    if (!tk_strmap_get(&sp->pieces, s + start, size, &id))
        return 0;
    if (heap_push(sp, (struct sp_pair){left, right, sp->tokens[id].score, size}, err) < 0)
        return -1;
    /* how an unused piece was made, to split it back (the last candidate wins) */
    if (sp->tokens[id].type == TV_TOKEN_UNUSED &&
        tk_strmap_set(&sp->rev, s + start, size, sp->syms[left].len) < 0)
        return oom(err);
    return 0;
}

static int bpe_resegment(struct tk_sp *sp, const char *s, uint32_t start, uint32_t len,
                         tv_error *err)
{
    size_t n = 0;
    if (tv_grow((void **)&sp->stack, &sp->cap_stack, 2, 2 * sizeof *sp->stack, err) < 0)
        return -1;
    sp->stack[n++] = start;
    sp->stack[n++] = len;
    while (n) {
        len = sp->stack[--n];
        start = sp->stack[--n];
        uint32_t id = piece_to_id(sp, s + start, len), left_len;
        if (sp->tokens[id].type != TV_TOKEN_UNUSED ||
            !tk_strmap_get(&sp->rev, s + start, len, &left_len) || left_len == 0 ||
            left_len >= len) {
            if (push_result(sp, start, start + len, id, err) < 0)
                return -1;
            continue;
        }
        /* the right part goes on the stack first, so that the left one comes out first */
        if (tv_grow((void **)&sp->stack, &sp->cap_stack, n / 2 + 2, 2 * sizeof *sp->stack,
                    err) < 0)
            return -1;
        sp->stack[n++] = start + left_len;
        sp->stack[n++] = len - left_len;
        sp->stack[n++] = start;
        sp->stack[n++] = left_len;
    }
    return 0;
}

static int bpe(struct tk_sp *sp, const char *s, size_t len, tv_error *err)
{
    if (tv_grow((void **)&sp->syms, &sp->cap_syms, len, sizeof *sp->syms, err) < 0)
        return -1;
    if (sp->has_unused) {
        tk_strmap_release(&sp->rev);
        tk_strmap_init(&sp->rev);
    }
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        uint32_t dummy;
        size_t m = sp->has_user ? trie_longest(&sp->user, s + at, len - at, &dummy) : 0;
        bool freeze = m > 0;
        if (!m)
            m = one_char_len(s + at, len - at);
        sp->syms[n] = (struct sp_sym){(uint32_t)at, (uint32_t)m, (int32_t)n - 1,
                                      at + m == len ? -1 : (int32_t)n + 1, freeze};
        n++;
        at += m;
    }
    sp->n_heap = 0;
    for (size_t i = 1; i < n; i++)
        if (maybe_add_pair(sp, s, (int32_t)i - 1, (int32_t)i, err) < 0)
            return -1;
    while (sp->n_heap) {
        struct sp_pair top = heap_pop(sp);
        struct sp_sym *l = &sp->syms[top.left], *r = &sp->syms[top.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.size)
            continue;
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0)
            sp->syms[r->next].prev = top.left;
        r->len = 0;
        if (maybe_add_pair(sp, s, l->prev, top.left, err) < 0 ||
            maybe_add_pair(sp, s, top.left, sp->syms[top.left].next, err) < 0)
            return -1;
    }
    for (int32_t i = n ? 0 : -1; i != -1; i = sp->syms[i].next)
        if (bpe_resegment(sp, s, sp->syms[i].start, sp->syms[i].len, err) < 0)
            return -1;
    return 0;
}

static int char_model(struct tk_sp *sp, const char *s, size_t len, tv_error *err)
{
    for (size_t at = 0; at < len;) {
        size_t m = sp->has_user ? trie_longest(&sp->user, s + at, len - at, NULL) : 0;
        if (!m)
            m = one_char_len(s + at, len - at);
        if (push_result(sp, at, at + m, piece_to_id(sp, s + at, m), err) < 0)
            return -1;
        at += m;
    }
    return 0;
}

/* SplitIntoWords: a word starts at each U+2581 (with treat_whitespace_as_suffix, after
   one); with allow_whitespace_only_pieces a run of them stays together. */
static int word_model(struct tk_sp *sp, const char *s, size_t len, tv_error *err)
{
    size_t word = 0;
    bool in_ws = false;
    for (size_t at = 0; at < len;) {
        size_t m = one_char_len(s + at, len - at);
        bool ws = m == 3 && memcmp(s + at, SPACE_SYMBOL, 3) == 0;
        bool cut;   /* a new word starts at `at` */
        if (sp->norm.ws_suffix) {
            cut = false;
            if (ws) {
                in_ws = true;
            } else if (in_ws) {
                cut = sp->allow_ws_only;
                in_ws = false;
            }
            /* without allow_whitespace_only_pieces, a word ends after each space */
            if (!sp->allow_ws_only && at >= 3 && at - word >= 3 &&
                memcmp(s + at - 3, SPACE_SYMBOL, 3) == 0)
                cut = true;
        } else {
            cut = at == 0 || (ws && (!in_ws || !sp->allow_ws_only));
            if (cut)
                in_ws = true;
            if (in_ws && !ws)
                in_ws = false;
        }
        if (cut && at > word) {
            if (push_result(sp, word, at, piece_to_id(sp, s + word, at - word), err) < 0)
                return -1;
            word = at;
        }
        at += m;
    }
    if (len > word && push_result(sp, word, len, piece_to_id(sp, s + word, len - word), err) < 0)
        return -1;
    return 0;
}

/* ---- 3. ids, and the whole encode ------------------------------------------------------ */

static int emit(struct tv_ids *out, uint32_t id, size_t start, size_t end, bool offsets,
                tv_error *err)
{
    if (tv_grow((void **)&out->ids, &out->cap, out->n + 1, sizeof *out->ids, err) < 0 ||
        (offsets && tv_grow((void **)&out->offsets, &out->cap_offsets, out->n + 1,
                            sizeof *out->offsets, err) < 0))
        return -1;
    out->ids[out->n] = id;
    if (offsets)
        out->offsets[out->n] = (struct tv_offset){start, end};
    out->n++;
    return 0;
}

int tk_sp_encode(tv_tokenizer *t, const char *input, size_t len, bool offsets,
                 struct tv_ids *out, tv_error *err)
{
    struct tk_sp *sp = t->sp;
    struct sp_text *text = &sp->text;
    if (normalize(&sp->norm, input, len, text, true, err) < 0)
        return -1;
    sp->n_res = 0;
    if (text->len == 0)
        return 0;
    int rc;
    switch (sp->kind) {
    case SP_UNIGRAM: rc = unigram(sp, text->s, text->len, err); break;
    case SP_BPE: rc = bpe(sp, text->s, text->len, err); break;
    case SP_CHAR: rc = char_model(sp, text->s, text->len, err); break;
    default: rc = word_model(sp, text->s, text->len, err); break;
    }
    if (rc < 0)
        return -1;
    /* PopulateSentencePieceText: byte fallback, or runs of unknowns as one */
    bool prev_unk = false;
    for (size_t i = 0; i < sp->n_res; i++) {
        const struct sp_result *r = &sp->res[i];
        size_t a = text->n2o[r->start], b = text->n2o[r->end];
        bool unk = r->id == sp->unk_id;
        if (unk && sp->byte_fallback) {
            for (uint32_t k = r->start; k < r->end; k++)
                if (emit(out, sp->byte_id[(unsigned char)text->s[k]], a, b, offsets, err) < 0)
                    return -1;
        } else if (unk && prev_unk) {
            if (offsets)
                out->offsets[out->n - 1].end = b;
        } else if (emit(out, r->id, a, b, offsets, err) < 0) {
            return -1;
        }
        prev_unk = unk;
    }
    return 0;
}

/* ---- decoding ----------------------------------------------------------------------------- */

/* The pending byte pieces as text: whole UTF-8 chars as they are, U+FFFD per bad byte. */
static int flush_bytes(struct tk_sp *sp, struct sp_text *o, tv_error *err)
{
    for (size_t i = 0; i < sp->n_bytes;) {
        size_t n;
        bool ok = valid_char(sp->bytes + i, sp->n_bytes - i, &n);
        if (text_put(o, ok ? sp->bytes + i : REPLACEMENT_CHAR, ok ? n : 3, 0, false, err) < 0)
            return -1;
        i += n;
    }
    sp->n_bytes = 0;
    return 0;
}

int tk_sp_decode(tv_tokenizer *t, const uint32_t *ids, size_t n, unsigned flags, char **text,
                 size_t *len, tv_error *err)
{
    struct tk_sp *sp = t->sp;
    struct sp_text *o = &sp->out;
    o->len = 0;
    sp->n_bytes = 0;
    bool strip_first = sp->norm.add_dummy_prefix || sp->norm.remove_extra_whitespaces;
    /* the library's is_bos_ws / bos_ws_seen: a piece may lose its leading U+2581 until
       the text is not empty or one piece has lost it (with remove_extra_whitespaces,
       until the text is not empty) */
    bool bos_ws = true, bos_ws_seen = false;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= sp->n_tokens || !sp->tokens[ids[i]].text)
            return tv_error_set(err, TV_ERR_DATA, "%s: id %u is not in the vocabulary (%zu ids)",
                                t->origin, ids[i], sp->n_tokens);
        const struct tv_token *tok = &sp->tokens[ids[i]];
        if (tok->type == TV_TOKEN_BYTE) {
            if (tv_grow((void **)&sp->bytes, &sp->cap_bytes, sp->n_bytes + 1, 1, err) < 0)
                return -1;
            /* checked at construction: "<0xHH>" */
            unsigned hi = (unsigned)(tok->text[3] <= '9' ? tok->text[3] - '0' : tok->text[3] - 'A' + 10);
            unsigned lo = (unsigned)(tok->text[4] <= '9' ? tok->text[4] - '0' : tok->text[4] - 'A' + 10);
            sp->bytes[sp->n_bytes++] = (char)(hi << 4 | lo);
            continue;
        }
        if (flush_bytes(sp, o, err) < 0)
            return -1;
        if (bos_ws_seen || o->len > 0)
            bos_ws = false;
        bos_ws_seen = false;
        if (tok->type == TV_TOKEN_CONTROL)
            continue;
        if (tok->type == TV_TOKEN_UNKNOWN) {
            if (!(flags & TV_DECODE_SKIP_SPECIAL) &&
                text_put(o, sp->unk_surface, sp->unk_surface_len, 0, false, err) < 0)
                return -1;
            continue;
        }
        const char *w = tok->text;
        size_t wl = tok->len;
        if (bos_ws && strip_first && wl >= 3 && memcmp(w, SPACE_SYMBOL, 3) == 0) {
            w += 3;
            wl -= 3;
            bos_ws_seen = !sp->norm.remove_extra_whitespaces;
        }
        size_t run = 0;
        for (size_t k = 0; k <= wl; k++) {
            bool mark = k + 3 <= wl && memcmp(w + k, SPACE_SYMBOL, 3) == 0;
            if (k < wl && !mark)
                continue;
            if (text_put(o, w + run, k - run, 0, false, err) < 0 ||
                (mark && text_put(o, " ", 1, 0, false, err) < 0))
                return -1;
            run = k + 3;
            k += 2;
        }
    }
    if (flush_bytes(sp, o, err) < 0)
        return -1;
    const char *res = o->s ? o->s : "";
    size_t res_len = o->len;
    if (sp->has_denorm) {
        if (normalize(&sp->denorm, res, res_len, &sp->text, false, err) < 0)
            return -1;
        res = sp->text.s;
        res_len = sp->text.len;
    }
    char *copy = tv_malloc(res_len + 1);
    if (!copy)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory decoding");
    memcpy(copy, res, res_len);
    copy[res_len] = '\0';
    *text = copy;
    *len = res_len;
    return 0;
}

/* ---- construction ----------------------------------------------------------------------- */

struct build {
    tv_tokenizer *t;
    struct tv_vocab *v;
    const char *file;
    tv_error *err;
};

/* The key's metadata from this vocabulary's file (a model may hold several). */
static const struct tv_meta *meta(const struct build *b, const char *key)
{
    const struct tv_meta *first = NULL;
    for (size_t i = 0; i < tv_model_meta_count(b->t->model); i++) {
        const struct tv_meta *m = tv_model_meta(b->t->model, i);
        if (strcmp(m->key, key) != 0)
            continue;
        if (m->file && b->v->origin && strcmp(m->file, b->v->origin) == 0)
            return m;
        if (!first)
            first = m;
    }
    return first;
}

static bool meta_bool(const struct build *b, const char *key, bool def)
{
    const struct tv_meta *m = meta(b, key);
    return m && m->value.type == TV_VALUE_BOOL ? m->value.as.u != 0 : def;
}

static struct tv_str meta_str(const struct build *b, const char *key, const char *def)
{
    const struct tv_meta *m = meta(b, key);
    if (m && m->value.type == TV_VALUE_STRING)
        return m->value.as.str;
    return (struct tv_str){def, strlen(def)};
}

static bool str_is(struct tv_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* A normalizer spec from "<prefix>precompiled_charsmap", "<prefix>add_dummy_prefix", ... */
static int norm_spec(const struct build *b, const char *prefix, struct sp_norm *nm)
{
    char key[96];
    snprintf(key, sizeof key, "%sadd_dummy_prefix", prefix);
    nm->add_dummy_prefix = meta_bool(b, key, true);
    snprintf(key, sizeof key, "%sremove_extra_whitespaces", prefix);
    nm->remove_extra_whitespaces = meta_bool(b, key, true);
    snprintf(key, sizeof key, "%sescape_whitespaces", prefix);
    nm->escape_whitespaces = meta_bool(b, key, true);
    snprintf(key, sizeof key, "%sprecompiled_charsmap", prefix);
    const struct tv_meta *m = meta(b, key);
    if (m && m->value.type == TV_VALUE_ARRAY && m->value.as.arr.n > 0 &&
        (m->value.as.arr.elem_type == TV_VALUE_U8 || m->value.as.arr.elem_type == TV_VALUE_I8)) {
        char where[512];
        snprintf(where, sizeof where, "%s: %snormalizer_spec", b->file,
                 *prefix && strstr(prefix, "denormalizer") ? "de" : "");
        nm->charsmap = tk_precompiled_new(m->value.as.arr.data, (size_t)m->value.as.arr.n, where,
                                          b->err);
        if (!nm->charsmap)
            return -1;
    }
    return 0;
}

/* The load-time checks of the library (model_interface.cc InitializePieces). */
static int check_pieces(const struct build *b, bool byte_fallback, int64_t *unk)
{
    const struct tv_vocab *v = b->v;
    bool byte_found[256] = {false};
    struct tk_strmap seen;
    tk_strmap_init(&seen);
    int rc = -1;
    *unk = -1;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *tok = &v->tokens[id];
        if (!tok->text || tok->len == 0) {
            tv_error_set(b->err, TV_ERR_DATA,
                         "%s: piece %zu is empty; SentencePiece refuses the model", b->file, id);
            goto out;
        }
        if (memchr(tok->text, 0, tok->len)) {
            tv_error_set(b->err, TV_ERR_DATA,
                         "%s: piece %zu holds a NUL byte; SentencePiece refuses the model",
                         b->file, id);
            goto out;
        }
        uint32_t other;
        if (tk_strmap_get(&seen, tok->text, tok->len, &other)) {
            tv_error_set(b->err, TV_ERR_DATA,
                         "%s: piece %zu repeats piece %u ('%.*s is already defined'); "
                         "SentencePiece refuses the model", b->file, id, other,
                         tok->len > 64 ? 64 : (int)tok->len, tok->text);
            goto out;
        }
        if (tk_strmap_set(&seen, tok->text, tok->len, (uint32_t)id) < 0) {
            oom(b->err);
            goto out;
        }
        if (tok->type == TV_TOKEN_UNKNOWN) {
            if (*unk >= 0) {
                tv_error_set(b->err, TV_ERR_DATA,
                             "%s: pieces %lld and %zu both have type UNKNOWN ('unk is already "
                             "defined'); SentencePiece refuses the model", b->file,
                             (long long)*unk, id);
                goto out;
            }
            *unk = (int64_t)id;
        }
        if (tok->type == TV_TOKEN_BYTE) {
            const char *p = tok->text;
            bool hex = tok->len == 6 && memcmp(p, "<0x", 3) == 0 && p[5] == '>';
            for (int k = 3; k < 5 && hex; k++)
                hex = (p[k] >= '0' && p[k] <= '9') || (p[k] >= 'A' && p[k] <= 'F');
            if (!byte_fallback || !hex) {
                tv_error_set(b->err, TV_ERR_DATA,
                             "%s: byte piece %zu '%.*s' %s; SentencePiece refuses the model",
                             b->file, id, tok->len > 64 ? 64 : (int)tok->len, p,
                             !hex ? "is not of the form <0xHH>"
                                  : "although trainer_spec.byte_fallback is false");
                goto out;
            }
            unsigned hi = (unsigned)(p[3] <= '9' ? p[3] - '0' : p[3] - 'A' + 10);
            unsigned lo = (unsigned)(p[4] <= '9' ? p[4] - '0' : p[4] - 'A' + 10);
            byte_found[hi << 4 | lo] = true;
        }
    }
    if (*unk < 0) {
        tv_error_set(b->err, TV_ERR_DATA,
                     "%s: no piece has type UNKNOWN ('unk is not defined'); SentencePiece "
                     "refuses the model", b->file);
        goto out;
    }
    if (byte_fallback) {
        int missing = 0, first = -1;
        for (int k = 0; k < 256; k++)
            if (!byte_found[k] && missing++ == 0)
                first = k;
        if (missing) {
            tv_error_set(b->err, TV_ERR_DATA,
                         "%s: byte_fallback is set but %d of the 256 byte pieces are missing "
                         "(the first: <0x%02X>); SentencePiece refuses the model", b->file,
                         missing, first);
            goto out;
        }
    }
    rc = 0;
out:
    tk_strmap_release(&seen);
    return rc;
}

static int build_tables(const struct build *b, struct tk_sp *sp)
{
    const struct tv_vocab *v = b->v;
    sp->min_score = 3.40282347e+38f;   /* FLT_MAX and FLT_MIN, as the library starts */
    sp->max_score = 1.17549435e-38f;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *tok = &v->tokens[id];
        bool normal = tok->type == TV_TOKEN_NORMAL || tok->type == TV_TOKEN_USER_DEFINED ||
                      tok->type == TV_TOKEN_UNUSED;
        struct tk_strmap *map = normal ? &sp->pieces : &sp->reserved;
        if (tk_strmap_set(map, tok->text, tok->len, (uint32_t)id) < 0)
            return oom(b->err);
        if (normal && sp->kind == SP_UNIGRAM &&
            tk_trie_insert(&sp->trie, tok->text, tok->len, (int64_t)id) < 0)
            return oom(b->err);
        if (tok->type == TV_TOKEN_USER_DEFINED) {
            if (tk_trie_insert(&sp->user, tok->text, tok->len, (int64_t)id) < 0)
                return oom(b->err);
            sp->has_user = true;
        }
        if (tok->type == TV_TOKEN_UNUSED)
            sp->has_unused = true;
        if (tok->type == TV_TOKEN_BYTE) {
            const char *p = tok->text;
            unsigned hi = (unsigned)(p[3] <= '9' ? p[3] - '0' : p[3] - 'A' + 10);
            unsigned lo = (unsigned)(p[4] <= '9' ? p[4] - '0' : p[4] - 'A' + 10);
            sp->byte_id[hi << 4 | lo] = (uint32_t)id;
        }
        if (tok->type == TV_TOKEN_NORMAL) {
            if (tok->score < sp->min_score)
                sp->min_score = tok->score;
            if (tok->score > sp->max_score)
                sp->max_score = tok->score;
        }
    }
    if (sp->has_user)
        sp->norm.user = &sp->user;
    return 0;
}

/* Control and unknown pieces are the special tokens (tv_token_is_special, decode's
   TV_DECODE_SKIP_SPECIAL); they are never looked for in the text. */
static int special_pieces(const struct build *b)
{
    const struct tv_vocab *v = b->v;
    size_t n = 0;
    for (size_t id = 0; id < v->n_tokens; id++)
        n += v->tokens[id].type == TV_TOKEN_CONTROL || v->tokens[id].type == TV_TOKEN_UNKNOWN;
    struct tk_added *items = tv_calloc(n ? n : 1, sizeof *items);
    if (!items)
        return oom(b->err);
    size_t k = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *tok = &v->tokens[id];
        if (tok->type == TV_TOKEN_CONTROL || tok->type == TV_TOKEN_UNKNOWN)
            items[k++] = (struct tk_added){tok->text, tok->len, (uint32_t)id, true, false, false,
                                           false, false};
    }
    int rc = tk_added_build(b->t, items, k, b->err);
    tv_free(items);
    return rc;
}

int tk_config_from_spm_file(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct build b = {t, v, t->origin, err};
    struct tv_str type = meta_str(&b, "sentencepiece.model_type", "unigram");
    enum sp_kind kind;
    if (str_is(type, "unigram"))
        kind = SP_UNIGRAM;
    else if (str_is(type, "bpe"))
        kind = SP_BPE;
    else if (str_is(type, "word"))
        kind = SP_WORD;
    else if (str_is(type, "char"))
        kind = SP_CHAR;
    else
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: SentencePiece model type '%.*s' is not one of unigram, bpe, "
                            "word, char", b.file, type.len > 32 ? 32 : (int)type.len, type.ptr);
    bool byte_fallback = meta_bool(&b, "sentencepiece.byte_fallback", false);
    int64_t unk;
    if (check_pieces(&b, byte_fallback, &unk) < 0)
        return -1;
    struct tk_sp *sp = tv_calloc(1, sizeof *sp);
    if (!sp)
        return oom(err);
    t->sp = sp;
    sp->kind = kind;
    sp->file = b.file;
    sp->tokens = v->tokens;
    sp->n_tokens = v->n_tokens;
    sp->unk_id = (uint32_t)unk;
    sp->byte_fallback = byte_fallback;
    sp->allow_ws_only = meta_bool(&b, "sentencepiece.allow_whitespace_only_pieces", false);
    for (int k = 0; k < 256; k++)
        sp->byte_id[k] = sp->unk_id;
    tk_trie_init(&sp->user);
    tk_trie_init(&sp->trie);
    tk_strmap_init(&sp->pieces);
    tk_strmap_init(&sp->reserved);
    tk_strmap_init(&sp->rev);
    struct tv_str surface = meta_str(&b, "sentencepiece.unk_surface", " \xE2\x81\x87 ");
    sp->unk_surface = surface.ptr;
    sp->unk_surface_len = surface.len;
    if (norm_spec(&b, "sentencepiece.", &sp->norm) < 0)
        return -1;
    sp->norm.ws_suffix = meta_bool(&b, "sentencepiece.treat_whitespace_as_suffix", false);
    if (meta(&b, "sentencepiece.denormalizer.precompiled_charsmap")) {
        if (norm_spec(&b, "sentencepiece.denormalizer.", &sp->denorm) < 0)
            return -1;
        sp->has_denorm = sp->denorm.charsmap != NULL;
    }
    if (build_tables(&b, sp) < 0)
        return -1;

    /* the engine's view: id <-> text for tv_token_text and display, the specials */
    struct tk_model *m = &t->m;
    if (tk_model_from_arrays(t, v, err) < 0)
        return -1;
    m->kind = kind == SP_BPE ? TK_MODEL_SPM : TK_MODEL_UNIGRAM;
    m->unk_id = unk;
    m->byte_fallback = byte_fallback;
    if (special_pieces(&b) < 0)
        return -1;
    if (v->special[TV_SPECIAL_BOS] >= 0)
        t->add_bos_id = v->special[TV_SPECIAL_BOS];
    else if (v->special[TV_SPECIAL_EOS] >= 0)
        t->add_eos_id = v->special[TV_SPECIAL_EOS];
    return 0;
}
