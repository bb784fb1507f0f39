/*
 * Pre-tokenizers: each cuts the pieces that carry no added token into smaller pieces
 * (and ByteLevel and Metaspace rewrite them), as HF's PreTokenizedString::split and
 * ::normalize do.
 */
#include <string.h>

#include "tok.h"

/* GPT-2's pre-tokenization regex, as the ByteLevel pre-tokenizer of the reference. */
const char tk_gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
   bytes map, in order, to U+0100 and up. */
uint32_t tk_byte_to_cp(unsigned char b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    if (b <= 0x20)
        return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0)
        return 0x100 + 33 + (uint32_t)(b - 0x7F);
    return 0x100 + 33 + 34; /* 0xAD */
}

int tk_cp_to_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp >= 0x100 && cp <= 0x120)
        return (int)(cp - 0x100);
    if (cp >= 0x121 && cp <= 0x142)
        return (int)(cp - 0x121 + 0x7F);
    if (cp == 0x143)
        return 0xAD;
    return -1;
}

void tk_pretok_release(struct tk_pretok *p)
{
    tk_pattern_release(&p->pattern);
    memset(p, 0, sizeof *p);
}

static bool is_bert_punct(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    return tk_is_punctuation(cp);
}

static int split_by(struct tk_enc *e, const struct tk_piece *p, const struct tk_pattern *pat,
                    enum tk_behavior behavior, bool invert, struct tk_pieces *out)
{
    if (tk_pattern_find(e, pat, p->s, p->len) < 0)
        return -1;
    return tk_piece_split(e, p, &e->matches, behavior, invert, out);
}

static int split_pred(struct tk_enc *e, const struct tk_piece *p, bool (*fn)(uint32_t),
                      enum tk_behavior behavior, struct tk_pieces *out)
{
    struct tk_pattern pat = {.kind = TK_PAT_PREDICATE, .fn = fn};
    return split_by(e, p, &pat, behavior, false, out);
}

/* Maps every byte of p to its byte-level char; each takes its original char's
   alignment (HF's transform with the extra bytes as insertions). */
static int byte_level_map(struct tk_enc *e, struct tk_piece *p)
{
    size_t out_len = 0;
    for (size_t i = 0; i < p->len; i++)
        out_len += tk_byte_to_cp((unsigned char)p->s[i]) < 0x80 ? 1 : 2;
    char *buf = tk_alloc(&e->scratch, out_len ? out_len : 1);
    struct tk_span *align = tk_alloc(&e->scratch, (out_len ? out_len : 1) * sizeof *align);
    if (!buf || !align)
        return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory while tokenizing");
    size_t o = 0;
    for (size_t i = 0; i < p->len;) {
        int n = tk_utf8_len((unsigned char)p->s[i]);
        if (i + (size_t)n > p->len)
            n = (int)(p->len - i);
        struct tk_span a = tk_piece_align(e, p, i);
        for (int b = 0; b < n; b++) {
            int w = tk_utf8_put(tk_byte_to_cp((unsigned char)p->s[i + (size_t)b]), buf + o);
            for (int k = 0; k < w; k++)
                align[o + (size_t)k] = a;
            o += (size_t)w;
        }
        i += (size_t)n;
    }
    p->s = buf;
    p->len = (uint32_t)o;
    p->align = align;
    return 0;
}

static int one(struct tk_enc *e, const struct tk_pretok *pt, const struct tk_piece *in,
               struct tk_pieces *out)
{
    static const struct tk_pattern space = {.kind = TK_PAT_LITERAL, .literal = " ",
                                            .literal_len = 1};
    struct tk_piece p = *in;
    switch (pt->kind) {
    case TK_PRE_BYTE_LEVEL: {
        size_t first = out->n;
        if (pt->add_prefix_space && (p.len == 0 || p.s[0] != ' ') &&
            tk_piece_prepend(e, &p, " ", 1) < 0)
            return -1;
        if (pt->use_regex) {
            if (split_by(e, &p, &pt->pattern, TK_ISOLATED, false, out) < 0)
                return -1;
        } else if (p.len && tk_pieces_push(out, &p, e->err) < 0) {
            return -1;
        }
        for (size_t i = first; i < out->n; i++)
            if (byte_level_map(e, &out->v[i]) < 0)
                return -1;
        return 0;
    }
    case TK_PRE_SPLIT:
        return split_by(e, &p, &pt->pattern, pt->behavior, pt->invert, out);
    case TK_PRE_METASPACE: {
        if (tk_pattern_find(e, &space, p.s, p.len) < 0 ||
            tk_piece_replace(e, &p, &e->matches, pt->replacement_utf8,
                             (size_t)pt->replacement_len) < 0)
            return -1;
        bool starts = p.len >= (uint32_t)pt->replacement_len &&
                      memcmp(p.s, pt->replacement_utf8, (size_t)pt->replacement_len) == 0;
        bool prepend = pt->prepend == TK_PREPEND_ALWAYS ||
                       (pt->prepend == TK_PREPEND_FIRST && p.orig_start == 0);
        if (prepend && !starts &&
            tk_piece_prepend(e, &p, pt->replacement_utf8, (size_t)pt->replacement_len) < 0)
            return -1;
        if (!pt->split)
            return p.len ? tk_pieces_push(out, &p, e->err) : 0;
        struct tk_pattern rep = {.kind = TK_PAT_LITERAL, .literal = (char *)pt->replacement_utf8,
                                 .literal_len = (size_t)pt->replacement_len};
        return split_by(e, &p, &rep, TK_MERGED_WITH_NEXT, false, out);
    }
    case TK_PRE_WHITESPACE:
        return split_by(e, &p, &pt->pattern, TK_REMOVED, true, out);
    case TK_PRE_WHITESPACE_SPLIT:
        return split_pred(e, &p, tk_is_whitespace, TK_REMOVED, out);
    case TK_PRE_BERT: {
        struct tk_pieces words = {0};
        int rc = split_pred(e, &p, tk_is_whitespace, TK_REMOVED, &words);
        for (size_t i = 0; rc == 0 && i < words.n; i++)
            rc = split_pred(e, &words.v[i], is_bert_punct, TK_ISOLATED, out);
        tv_free(words.v);
        return rc;
    }
    case TK_PRE_PUNCTUATION:
        return split_pred(e, &p, is_bert_punct, pt->behavior, out);
    case TK_PRE_DIGITS:
        return split_pred(e, &p, tk_is_numeric, pt->behavior, out);
    case TK_PRE_CHAR_DELIMITER: {
        struct tk_pattern d = {.kind = TK_PAT_LITERAL, .literal = (char *)pt->replacement_utf8,
                               .literal_len = (size_t)pt->replacement_len};
        return split_by(e, &p, &d, TK_REMOVED, false, out);
    }
    }
    return 0;
}

int tk_pretokenize(struct tk_enc *e, const struct tk_pretok *pt, struct tk_pieces *in,
                   struct tk_pieces *tmp)
{
    tmp->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->v[i].id >= 0) {
            if (tk_pieces_push(tmp, &in->v[i], e->err) < 0)
                return -1;
            continue;
        }
        if (one(e, pt, &in->v[i], tmp) < 0)
            return -1;
    }
    struct tk_pieces swap = *in;
    *in = *tmp;
    *tmp = swap;
    return 0;
}
