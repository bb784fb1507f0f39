/*
 * Pieces of text with their alignment to the original bytes: the operations of HF's
 * NormalizedString (transform, replace, prepend, slice, split) with the same
 * alignment rules, so that offsets and the "is this the first piece" questions come
 * out as the reference computes them.
 */
#include <string.h>

#include "tok.h"

struct tk_span tk_piece_align(const struct tk_enc *e, const struct tk_piece *p, size_t i)
{
    if (p->align)
        return p->align[i];
    /* identity: the byte belongs to the original char around it */
    size_t at = p->orig_start + i, start = at, end = at + 1;
    const unsigned char *t = (const unsigned char *)e->text;
    while (start > 0 && (t[start] & 0xC0) == 0x80)
        start--;
    end = start + (size_t)tk_utf8_len(t[start]);
    if (end > e->text_len)
        end = e->text_len;
    return (struct tk_span){(uint32_t)start, (uint32_t)end};
}

struct tk_span tk_piece_range(const struct tk_enc *e, const struct tk_piece *p, size_t a, size_t b)
{
    struct tk_span first = tk_piece_align(e, p, a), last = tk_piece_align(e, p, b - 1);
    struct tk_span r = {first.start, last.end};
    if (r.end < r.start)
        r.end = r.start;
    return r;
}

struct tk_piece tk_piece_slice(const struct tk_enc *e, const struct tk_piece *p, size_t a, size_t b)
{
    struct tk_piece s = *p;
    s.s = p->s + a;
    s.len = (uint32_t)(b - a);
    s.id = -1;
    if (p->align) {
        s.align = p->align + a;
        if (b > a) {
            struct tk_span r = tk_piece_range(e, p, a, b);
            s.orig_start = r.start;
            s.orig_end = r.end;
        } else {
            s.orig_start = s.orig_end = p->orig_start + (uint32_t)a;
        }
    } else {
        s.orig_start = p->orig_start + (uint32_t)a;
        s.orig_end = p->orig_start + (uint32_t)b;
    }
    return s;
}

int tk_pieces_push(struct tk_pieces *ps, const struct tk_piece *p, tv_error *err)
{
    if (ps->n == ps->cap &&
        tv_grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof *ps->v, err) < 0)
        return -1;
    ps->v[ps->n++] = *p;
    return 0;
}

static int oom(struct tk_enc *e)
{
    return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory while tokenizing");
}

/*
 * HF's transform_range over the whole piece: each change consumes original chars
 * (0: one, n < 0: 1 + |n|, n > 0: none) and takes the alignment of the char it
 * replaces, or of the byte before it when inserted.
 */
int tk_piece_transform(struct tk_enc *e, struct tk_piece *p, size_t initial_offset)
{
    const struct tk_changes *ch = &e->changes;
    size_t out_len = 0;
    for (size_t i = 0; i < ch->n; i++)
        out_len += (size_t)tk_utf8_cp_len(ch->v[i].cp);
    if (out_len > UINT32_MAX)
        return tv_error_set(e->err, TV_ERR_LIMIT, "normalized text over 4 GiB");
    char *buf = tk_alloc(&e->scratch, out_len ? out_len : 1);
    struct tk_span *align = tk_alloc(&e->scratch, (out_len ? out_len : 1) * sizeof *align);
    if (!buf || !align)
        return oom(e);
    size_t pos = 0; /* byte cursor in p->s over the chars being replaced */
    for (size_t k = 0; k < initial_offset && pos < p->len; k++)
        pos += (size_t)tk_utf8_len((unsigned char)p->s[pos]);
    size_t o = 0;
    for (size_t i = 0; i < ch->n; i++) {
        int32_t change = ch->v[i].change;
        struct tk_span a;
        if (change > 0) {
            if (pos < 1)
                a = (struct tk_span){p->orig_start, p->orig_start};
            else
                a = tk_piece_align(e, p, (pos - 1 < p->len ? pos - 1 : p->len - 1));
        } else {
            a = p->len ? tk_piece_align(e, p, pos < p->len ? pos : p->len - 1)
                       : (struct tk_span){p->orig_start, p->orig_start};
            if (pos < p->len)
                pos += (size_t)tk_utf8_len((unsigned char)p->s[pos]);
            for (int32_t r = 0; r < -change && pos < p->len; r++)
                pos += (size_t)tk_utf8_len((unsigned char)p->s[pos]);
        }
        int n = tk_utf8_put(ch->v[i].cp, buf + o);
        for (int b = 0; b < n; b++)
            align[o + (size_t)b] = a;
        o += (size_t)n;
    }
    p->s = buf;
    p->len = (uint32_t)o;
    p->align = align;
    return 0;
}

int tk_piece_replace(struct tk_enc *e, struct tk_piece *p, const struct tk_matches *m,
                     const char *content, size_t content_len)
{
    size_t n_matches = 0, matched_bytes = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].is_match) {
            n_matches++;
            matched_bytes += m->v[i].end - m->v[i].start;
        }
    if (!n_matches)
        return 0;
    size_t out_len = p->len - matched_bytes + n_matches * content_len;
    if (out_len > UINT32_MAX)
        return tv_error_set(e->err, TV_ERR_LIMIT, "normalized text over 4 GiB");
    char *buf = tk_alloc(&e->scratch, out_len ? out_len : 1);
    struct tk_span *align = tk_alloc(&e->scratch, (out_len ? out_len : 1) * sizeof *align);
    if (!buf || !align)
        return oom(e);
    size_t o = 0, last = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct tk_match *mt = &m->v[i];
        if (!mt->is_match)
            continue;
        for (size_t b = last; b < mt->start; b++) {
            buf[o] = p->s[b];
            align[o++] = tk_piece_align(e, p, b);
        }
        /* inserted chars take the alignment of the last replaced byte */
        struct tk_span a = mt->end >= 1 ? tk_piece_align(e, p, mt->end - 1)
                                        : (struct tk_span){p->orig_start, p->orig_start};
        memcpy(buf + o, content, content_len);
        for (size_t b = 0; b < content_len; b++)
            align[o + b] = a;
        o += content_len;
        last = mt->end;
    }
    for (size_t b = last; b < p->len; b++) {
        buf[o] = p->s[b];
        align[o++] = tk_piece_align(e, p, b);
    }
    p->s = buf;
    p->len = (uint32_t)o;
    p->align = align;
    return 0;
}

int tk_piece_prepend(struct tk_enc *e, struct tk_piece *p, const char *s, size_t len)
{
    if (p->len == 0)
        return 0;
    size_t out_len = p->len + len;
    if (out_len > UINT32_MAX)
        return tv_error_set(e->err, TV_ERR_LIMIT, "normalized text over 4 GiB");
    char *buf = tk_alloc(&e->scratch, out_len);
    struct tk_span *align = tk_alloc(&e->scratch, out_len * sizeof *align);
    if (!buf || !align)
        return oom(e);
    /* the prepended chars and the first char all take the first char's alignment */
    struct tk_span a = tk_piece_align(e, p, 0);
    memcpy(buf, s, len);
    memcpy(buf + len, p->s, p->len);
    for (size_t b = 0; b < len; b++)
        align[b] = a;
    for (size_t b = 0; b < p->len; b++)
        align[len + b] = tk_piece_align(e, p, b);
    p->s = buf;
    p->len = (uint32_t)out_len;
    p->align = align;
    return 0;
}

/* ---- splitting --------------------------------------------------------------------- */

static int emit(struct tk_enc *e, const struct tk_piece *p, size_t a, size_t b,
                struct tk_pieces *out)
{
    if (b <= a)
        return 0; /* HF drops empty splits */
    struct tk_piece s = tk_piece_slice(e, p, a, b);
    return tk_pieces_push(out, &s, e->err);
}

int tk_piece_split(struct tk_enc *e, const struct tk_piece *p, const struct tk_matches *m,
                   enum tk_behavior behavior, bool invert, struct tk_pieces *out)
{
    size_t n = m->n;
    const struct tk_match *v = m->v;
    switch (behavior) {
    case TK_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (v[i].is_match == invert && emit(e, p, v[i].start, v[i].end, out) < 0)
                return -1;
        return 0;
    case TK_ISOLATED:
        for (size_t i = 0; i < n; i++)
            if (emit(e, p, v[i].start, v[i].end, out) < 0)
                return -1;
        return 0;
    case TK_MERGED_WITH_PREVIOUS: {
        /* a match joins the piece before it (unless that was a match too) */
        bool prev_match = false, have = false;
        size_t cs = 0, ce = 0;
        for (size_t i = 0; i < n; i++) {
            bool is_match = v[i].is_match != invert;
            if (is_match && !prev_match && have) {
                ce = v[i].end;
            } else {
                if (have && emit(e, p, cs, ce, out) < 0)
                    return -1;
                cs = v[i].start;
                ce = v[i].end;
                have = true;
            }
            prev_match = is_match;
        }
        return have ? emit(e, p, cs, ce, out) : 0;
    }
    case TK_MERGED_WITH_NEXT: {
        /* walked backwards: a match joins the piece after it (unless a match) */
        size_t cap = n ? n : 1;
        struct tk_match *acc = tk_alloc(&e->scratch, cap * sizeof *acc);
        if (!acc)
            return oom(e);
        size_t k = 0;
        bool prev_match = false;
        for (size_t i = n; i-- > 0;) {
            bool is_match = v[i].is_match != invert;
            if (is_match && !prev_match && k > 0)
                acc[k - 1].start = v[i].start;
            else
                acc[k++] = v[i];
            prev_match = is_match;
        }
        for (size_t i = k; i-- > 0;)
            if (emit(e, p, acc[i].start, acc[i].end, out) < 0)
                return -1;
        return 0;
    }
    case TK_CONTIGUOUS: {
        bool prev_match = false, have = false;
        size_t cs = 0, ce = 0;
        for (size_t i = 0; i < n; i++) {
            bool is_match = v[i].is_match != invert;
            if (is_match == prev_match && have) {
                ce = v[i].end;
            } else {
                if (have && emit(e, p, cs, ce, out) < 0)
                    return -1;
                cs = v[i].start;
                ce = v[i].end;
                have = true;
            }
            prev_match = is_match;
        }
        return have ? emit(e, p, cs, ce, out) : 0;
    }
    }
    return 0;
}

/* ---- patterns ------------------------------------------------------------------------- */

void tk_pattern_release(struct tk_pattern *p)
{
    tv_free(p->literal);
    tk_regex_free(p->re);
    memset(p, 0, sizeof *p);
}

static int push(struct tk_enc *e, size_t a, size_t b, bool is_match)
{
    struct tk_matches *m = &e->matches;
    if (m->n == m->cap && tv_grow((void **)&m->v, &m->cap, m->n + 1, sizeof *m->v, e->err) < 0)
        return -1;
    m->v[m->n++] = (struct tk_match){(uint32_t)a, (uint32_t)b, is_match};
    return 0;
}

int tk_pattern_find(struct tk_enc *e, const struct tk_pattern *pat, const char *s, size_t len)
{
    e->matches.n = 0;
    if (pat->re || pat->kind == TK_PAT_REGEX)
        return tk_regex_find(pat->re, &e->rx, s, len, &e->matches, e->err);
    if (len == 0)
        return push(e, 0, 0, false);
    if (pat->kind == TK_PAT_LITERAL) {
        size_t prev = 0, at = 0;
        const char *lit = pat->literal;
        size_t ll = pat->literal_len;
        while (at + ll <= len) {
            const char *hit = memmem(s + at, len - at, lit, ll);
            if (!hit)
                break;
            size_t ms = (size_t)(hit - s);
            if (prev != ms && push(e, prev, ms, false) < 0)
                return -1;
            if (push(e, ms, ms + ll, true) < 0)
                return -1;
            prev = at = ms + ll;
        }
        if (prev != len && push(e, prev, len, false) < 0)
            return -1;
        return 0;
    }
    /* predicate: each matching char on its own */
    size_t last = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = tk_utf8_next(s + i, &cp);
        if (pat->fn(cp)) {
            if (last < i && push(e, last, i, false) < 0)
                return -1;
            if (push(e, i, i + (size_t)n, true) < 0)
                return -1;
            last = i + (size_t)n;
        }
        i += (size_t)n;
    }
    if (last < len && push(e, last, len, false) < 0)
        return -1;
    return 0;
}
