/*
 * Normalizers: what HF's normalizers do to a piece, each through the same
 * NormalizedString operations (filter, map, transform, replace, prepend) so that
 * the alignment to the original text follows the reference.
 */
#include <string.h>

#include <utf8proc.h>

#include "tok.h"

void tk_normalizer_release(struct tk_normalizer *n)
{
    tk_pattern_release(&n->pattern);
    tv_free(n->content);
    tk_precompiled_free(n->precompiled);
    memset(n, 0, sizeof *n);
}

static int push_change(struct tk_enc *e, uint32_t cp, int32_t change)
{
    struct tk_changes *c = &e->changes;
    if (c->n == c->cap && tv_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v, e->err) < 0)
        return -1;
    c->v[c->n++] = (struct tk_change){cp, change};
    return 0;
}

/* HF's filter: keeps the chars for which keep() holds. */
static int piece_filter(struct tk_enc *e, struct tk_piece *p, bool (*drop)(uint32_t))
{
    bool any = false;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        if (drop(cp)) {
            any = true;
            break;
        }
    }
    if (!any)
        return 0;
    e->changes.n = 0;
    int32_t removed = 0;
    size_t removed_start = 0;
    bool have_last = false;
    uint32_t last = 0;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        if (!drop(cp)) {
            if (have_last) {
                if (push_change(e, last, -removed) < 0)
                    return -1;
            } else {
                removed_start = (size_t)removed;
            }
            last = cp;
            have_last = true;
            removed = 0;
        } else {
            removed++;
        }
    }
    if (have_last && push_change(e, last, -removed) < 0)
        return -1;
    return tk_piece_transform(e, p, removed_start);
}

/* HF's map: each char replaced by one char. */
static int piece_map(struct tk_enc *e, struct tk_piece *p, uint32_t (*fn)(uint32_t))
{
    bool any = false;
    e->changes.n = 0;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        uint32_t to = fn(cp);
        any |= to != cp;
        if (push_change(e, to, 0) < 0)
            return -1;
    }
    return any ? tk_piece_transform(e, p, 0) : 0;
}

static int lowercase(struct tk_enc *e, struct tk_piece *p)
{
    bool any = false;
    e->changes.n = 0;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp, low[2];
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        int n = tk_lowercase(cp, low);
        any |= n != 1 || low[0] != cp;
        for (int k = 0; k < n; k++)
            if (push_change(e, low[k], k > 0) < 0)
                return -1;
    }
    return any ? tk_piece_transform(e, p, 0) : 0;
}

/* HF's lrstrip: whitespace off the left and/or right end. */
static int strip(struct tk_enc *e, struct tk_piece *p, bool left, bool right)
{
    size_t count = 0, leading = 0, trailing = 0;
    bool in_lead = left;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        bool ws = tk_is_whitespace(cp);
        if (in_lead && ws)
            leading++;
        else
            in_lead = false;
        trailing = ws ? trailing + 1 : 0;
        count++;
    }
    if (!right)
        trailing = 0;
    if (!leading && !trailing)
        return 0;
    e->changes.n = 0;
    size_t ci = 0;
    for (size_t i = 0; i < p->len; ci++) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        if (ci < leading || ci >= count - trailing)
            continue;
        /* The reference compares this char index with the byte length; kept as is so
           that the alignments agree. */
        int32_t change = ci == (size_t)p->len - 1 ? -(int32_t)trailing : 0;
        if (push_change(e, cp, change) < 0)
            return -1;
    }
    return tk_piece_transform(e, p, leading);
}

/* ---- Unicode normalization forms ------------------------------------------------------- */

static bool all_ascii(const struct tk_piece *p)
{
    for (size_t i = 0; i < p->len; i++)
        if ((unsigned char)p->s[i] >= 0x80)
            return false;
    return true;
}

/*
 * NFC/NFD/NFKC/NFKD of the whole piece by utf8proc. Alignment: each output char takes
 * the alignment of the input char that produced the first code point of its own
 * decomposition (so a composed char aligns with the base letter, as in the reference,
 * and a char decomposed into several aligns every part with its source).
 */
static int unicode_form(struct tk_enc *e, struct tk_piece *p, bool compose, bool compat)
{
    if (all_ascii(p))
        return 0;
    utf8proc_option_t opt = UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
                            (compat ? UTF8PROC_COMPAT : 0);
    utf8proc_option_t dopt = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
    /* Decomposition of each input char, to know which input char each decomposed code
       point came from. */
    size_t cap = (size_t)p->len * 4 + 16;
    utf8proc_int32_t *buf = tk_alloc(&e->scratch, cap * sizeof *buf);
    uint32_t *src = tk_alloc(&e->scratch, cap * sizeof *src);
    if (!buf || !src)
        return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory normalizing text");
    size_t k = 0;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        size_t at = i;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        utf8proc_int32_t tmp[32];
        int boundclass = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, tmp, 32, dopt,
                                                     &boundclass);
        if (n < 1 || n > 32)
            n = 1, tmp[0] = (utf8proc_int32_t)cp;
        if (k + (size_t)n > cap) {
            size_t ncap = (k + (size_t)n) * 2;
            utf8proc_int32_t *nb = tk_alloc(&e->scratch, ncap * sizeof *nb);
            uint32_t *ns = tk_alloc(&e->scratch, ncap * sizeof *ns);
            if (!nb || !ns)
                return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory normalizing text");
            memcpy(nb, buf, k * sizeof *nb);
            memcpy(ns, src, k * sizeof *ns);
            buf = nb, src = ns, cap = ncap;
        }
        for (utf8proc_ssize_t j = 0; j < n; j++) {
            buf[k] = tmp[j];
            src[k++] = (uint32_t)at;
        }
    }
    /* The real normalization: decomposition with canonical ordering, then composition. */
    utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)p->s, p->len, buf,
                                            (utf8proc_ssize_t)cap, opt);
    if (n < 0 || (size_t)n > cap)
        return tv_error_set(e->err, TV_ERR_DATA, "Unicode normalization failed: %s",
                            n < 0 ? utf8proc_errmsg(n) : "buffer too small");
    if (compose) {
        n = utf8proc_normalize_utf32(buf, n, opt);
        if (n < 0)
            return tv_error_set(e->err, TV_ERR_DATA, "Unicode normalization failed: %s",
                                utf8proc_errmsg(n));
    }
    /* unchanged? */
    size_t out_len = 0;
    for (utf8proc_ssize_t j = 0; j < n; j++)
        out_len += (size_t)tk_utf8_cp_len((uint32_t)buf[j]);
    char *out = tk_alloc(&e->scratch, out_len ? out_len : 1);
    struct tk_span *align = tk_alloc(&e->scratch, (out_len ? out_len : 1) * sizeof *align);
    if (!out || !align)
        return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory normalizing text");
    size_t o = 0, cursor = 0;
    for (utf8proc_ssize_t j = 0; j < n; j++) {
        size_t from = k ? (cursor < k ? cursor : k - 1) : 0;
        struct tk_span a = k ? tk_piece_align(e, p, src[from])
                             : (struct tk_span){p->orig_start, p->orig_start};
        int bytes = tk_utf8_put((uint32_t)buf[j], out + o);
        for (int b = 0; b < bytes; b++)
            align[o + (size_t)b] = a;
        o += (size_t)bytes;
        utf8proc_int32_t tmp[32];
        int boundclass = 0;
        utf8proc_ssize_t d = utf8proc_decompose_char(buf[j], tmp, 32, dopt, &boundclass);
        cursor += d >= 1 && d <= 32 ? (size_t)d : 1;
    }
    if (o == p->len && memcmp(out, p->s, o) == 0)
        return 0;
    p->s = out;
    p->len = (uint32_t)o;
    p->align = align;
    return 0;
}

/* ---- BERT ---------------------------------------------------------------------------- */

static bool bert_drop(uint32_t cp)
{
    return cp == 0 || cp == 0xFFFD || tk_is_bert_control(cp);
}

static uint32_t bert_space(uint32_t cp)
{
    return cp == '\t' || cp == '\n' || cp == '\r' || tk_is_whitespace(cp) ? ' ' : cp;
}

static int bert_chinese(struct tk_enc *e, struct tk_piece *p)
{
    bool any = false;
    for (size_t i = 0; i < p->len && !any;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        any = tk_is_chinese_char(cp);
    }
    if (!any)
        return 0;
    e->changes.n = 0;
    for (size_t i = 0; i < p->len;) {
        uint32_t cp;
        i += (size_t)tk_utf8_next(p->s + i, &cp);
        if (tk_is_chinese_char(cp)) {
            if (push_change(e, ' ', 0) < 0 || push_change(e, cp, 1) < 0 ||
                push_change(e, ' ', 1) < 0)
                return -1;
        } else if (push_change(e, cp, 0) < 0) {
            return -1;
        }
    }
    return tk_piece_transform(e, p, 0);
}

/* ---- NMT ------------------------------------------------------------------------------ */

static bool nmt_drop(uint32_t cp)
{
    return (cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F ||
           cp == 0x8F || cp == 0x9F;
}

static uint32_t nmt_space(uint32_t cp)
{
    switch (cp) {
    case 0x09: case 0x0A: case 0x0C: case 0x0D: case 0x1680: case 0x2028: case 0x2029:
    case 0x2581: case 0xFEFF: case 0xFFFD:
        return ' ';
    default:
        return cp >= 0x200B && cp <= 0x200F ? ' ' : cp;
    }
}

/* ---- byte level ------------------------------------------------------------------------ */

static int byte_level(struct tk_enc *e, struct tk_piece *p)
{
    e->changes.n = 0;
    for (size_t i = 0; i < p->len;) {
        int n = tk_utf8_len((unsigned char)p->s[i]);
        for (int b = 0; b < n; b++)
            if (push_change(e, tk_byte_to_cp((unsigned char)p->s[i + (size_t)b]), b > 0) < 0)
                return -1;
        i += (size_t)n;
    }
    return tk_piece_transform(e, p, 0);
}

/* ---- the list --------------------------------------------------------------------------- */

static int apply(struct tk_enc *e, const struct tk_normalizer *n, struct tk_piece *p)
{
    switch (n->kind) {
    case TK_NORM_NFC: return unicode_form(e, p, true, false);
    case TK_NORM_NFD: return unicode_form(e, p, false, false);
    case TK_NORM_NFKC: return unicode_form(e, p, true, true);
    case TK_NORM_NFKD: return unicode_form(e, p, false, true);
    case TK_NORM_LOWERCASE: return lowercase(e, p);
    case TK_NORM_STRIP: return strip(e, p, n->left, n->right);
    case TK_NORM_STRIP_ACCENTS: return piece_filter(e, p, tk_is_mark);
    case TK_NORM_REPLACE:
        if (tk_pattern_find(e, &n->pattern, p->s, p->len) < 0)
            return -1;
        return tk_piece_replace(e, p, &e->matches, n->content, n->content_len);
    case TK_NORM_PREPEND:
        return tk_piece_prepend(e, p, n->content, n->content_len);
    case TK_NORM_BERT:
        if (n->clean_text && (piece_filter(e, p, bert_drop) < 0 || piece_map(e, p, bert_space) < 0))
            return -1;
        if (n->chinese && bert_chinese(e, p) < 0)
            return -1;
        if (n->strip_accents &&
            (unicode_form(e, p, false, false) < 0 || piece_filter(e, p, tk_is_mark_nonspacing) < 0))
            return -1;
        if (n->lowercase && lowercase(e, p) < 0)
            return -1;
        return 0;
    case TK_NORM_PRECOMPILED:
        return n->precompiled ? tk_precompiled_apply(e, n->precompiled, p) : 0;
    case TK_NORM_NMT:
        if (piece_filter(e, p, nmt_drop) < 0)
            return -1;
        return piece_map(e, p, nmt_space);
    case TK_NORM_BYTE_LEVEL:
        return byte_level(e, p);
    }
    return 0;
}

int tk_normalize(struct tk_enc *e, const struct tk_normalizer *list, size_t n, struct tk_piece *p)
{
    for (size_t i = 0; i < n; i++)
        if (apply(e, &list[i], p) < 0)
            return -1;
    return 0;
}
