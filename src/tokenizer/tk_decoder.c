/*
 * Decoders: each turns a list of token strings into a list of strings (the
 * reference's decode_chain); the tokenizer joins the last list.
 */
#include <string.h>

#include "tok.h"

void tk_decoder_release(struct tk_decoder *d)
{
    tv_free(d->text);
    tv_free(d->text2);
    tk_pattern_release(&d->pattern);
    memset(d, 0, sizeof *d);
}

void tk_processor_release(struct tk_processor *p)
{
    for (size_t i = 0; i < p->n_items; i++)
        tv_free(p->items[i].ids);
    tv_free(p->items);
    memset(p, 0, sizeof *p);
}

int tk_strs_push(struct tk_strs *l, const char *s, size_t len, tv_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap, cap2 = l->cap;
        if (tv_grow((void **)&l->s, &cap, l->n + 1, sizeof *l->s, err) < 0 ||
            tv_grow((void **)&l->len, &cap2, l->n + 1, sizeof *l->len, err) < 0)
            return -1;
        l->cap = cap < cap2 ? cap : cap2;
    }
    l->s[l->n] = s;
    l->len[l->n++] = len;
    return 0;
}

/* A growable string in scratch memory. */
struct sbuf {
    char *p;
    size_t len, cap;
};

static int sb_put(struct tk_enc *e, struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n)
            cap *= 2;
        char *p = tk_alloc(&e->scratch, cap);
        if (!p)
            return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory while decoding");
        if (b->len)
            memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int sb_cp(struct tk_enc *e, struct sbuf *b, uint32_t cp)
{
    char u[4];
    return sb_put(e, b, u, (size_t)tk_utf8_put(cp, u));
}

/* Rust's String::from_utf8_lossy: each invalid sequence becomes U+FFFD. */
static int lossy(struct tk_enc *e, const char *s, size_t len, struct sbuf *out)
{
    while (len) {
        size_t bad;
        size_t ok = tk_utf8_valid_prefix(s, len, &bad);
        if (sb_put(e, out, s, ok) < 0)
            return -1;
        if (ok == len)
            break;
        if (sb_put(e, out, "\xEF\xBF\xBD", 3) < 0)
            return -1;
        s += ok + bad;
        len -= ok + bad;
    }
    return 0;
}

static bool starts_with(const char *s, size_t len, const char *p, size_t plen)
{
    return len >= plen && memcmp(s, p, plen) == 0;
}

/* Replaces every occurrence of from (non-overlapping, left to right) by to. */
static int replace_all(struct tk_enc *e, const char *s, size_t len, const char *from,
                       size_t from_len, const char *to, size_t to_len, struct sbuf *out)
{
    size_t i = 0;
    while (i < len) {
        const char *hit = from_len ? memmem(s + i, len - i, from, from_len) : NULL;
        if (!hit)
            break;
        size_t at = (size_t)(hit - s);
        if (sb_put(e, out, s + i, at - i) < 0 || sb_put(e, out, to, to_len) < 0)
            return -1;
        i = at + from_len;
    }
    return sb_put(e, out, s + i, len - i);
}

/* WordPiece's cleanup of the spaces English tokenization leaves around punctuation. */
static int cleanup(struct tk_enc *e, const char *s, size_t len, struct sbuf *out)
{
    static const char *const rules[][2] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    const char *cur = s;
    size_t cur_len = len;
    for (size_t r = 0; r < TV_ARRAY_SIZE(rules); r++) {
        struct sbuf b = {0};
        if (replace_all(e, cur, cur_len, rules[r][0], strlen(rules[r][0]), rules[r][1],
                        strlen(rules[r][1]), &b) < 0)
            return -1;
        cur = b.p ? b.p : "";
        cur_len = b.len;
    }
    return sb_put(e, out, cur, cur_len);
}

static int push_sb(struct tk_enc *e, struct tk_strs *out, struct sbuf *b)
{
    return tk_strs_push(out, b->p ? b->p : "", b->len, e->err);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "<0xAB>" -> 0xAB (Rust's u8::from_str_radix on the two chars, '+' sign allowed). */
static int byte_token(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    if (s[3] == '+')
        return hex_digit(s[4]);
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static int flush_bytes(struct tk_enc *e, struct sbuf *bytes, struct tk_strs *out)
{
    if (!bytes->len)
        return 0;
    size_t bad;
    if (tk_utf8_valid_prefix(bytes->p, bytes->len, &bad) == bytes->len) {
        if (push_sb(e, out, bytes) < 0)
            return -1;
    } else {
        for (size_t i = 0; i < bytes->len; i++)
            if (tk_strs_push(out, "\xEF\xBF\xBD", 3, e->err) < 0)
                return -1;
    }
    *bytes = (struct sbuf){0};
    return 0;
}

int tk_decode_step(struct tk_enc *e, const struct tk_decoder *d, const struct tk_strs *in,
                   struct tk_strs *out)
{
    out->n = 0;
    switch (d->kind) {
    case TK_DEC_BYTE_LEVEL: {
        struct sbuf raw = {0}, text = {0};
        for (size_t i = 0; i < in->n; i++) {
            const char *s = in->s[i];
            size_t len = in->len[i], start = raw.len;
            bool all = true;
            for (size_t k = 0; k < len && all;) {
                uint32_t cp;
                k += (size_t)tk_utf8_next(s + k, &cp);
                int byte = tk_cp_to_byte(cp);
                if (byte < 0)
                    all = false;
                else if (sb_put(e, &raw, &(char){(char)byte}, 1) < 0)
                    return -1;
            }
            if (!all) {
                /* a token with a char outside the alphabet is kept as it is */
                raw.len = start;
                if (sb_put(e, &raw, s, len) < 0)
                    return -1;
            }
        }
        if (lossy(e, raw.p ? raw.p : "", raw.len, &text) < 0)
            return -1;
        return push_sb(e, out, &text);
    }
    case TK_DEC_METASPACE:
        for (size_t i = 0; i < in->n; i++) {
            struct sbuf b = {0};
            for (size_t k = 0; k < in->len[i];) {
                uint32_t cp;
                k += (size_t)tk_utf8_next(in->s[i] + k, &cp);
                if (cp == d->replacement) {
                    if (i == 0 && d->prepend != TK_PREPEND_NEVER)
                        continue;
                    cp = ' ';
                }
                if (sb_cp(e, &b, cp) < 0)
                    return -1;
            }
            if (push_sb(e, out, &b) < 0)
                return -1;
        }
        return 0;
    case TK_DEC_WORDPIECE:
        for (size_t i = 0; i < in->n; i++) {
            struct sbuf b = {0};
            const char *s = in->s[i];
            size_t len = in->len[i];
            if (i != 0) {
                if (starts_with(s, len, d->text, d->text_len)) {
                    s += d->text_len;
                    len -= d->text_len;
                } else if (sb_put(e, &b, " ", 1) < 0) {
                    return -1;
                }
            }
            if (sb_put(e, &b, s, len) < 0)
                return -1;
            if (d->cleanup) {
                struct sbuf c = {0};
                if (cleanup(e, b.p ? b.p : "", b.len, &c) < 0)
                    return -1;
                b = c;
            }
            if (push_sb(e, out, &b) < 0)
                return -1;
        }
        return 0;
    case TK_DEC_BYTE_FALLBACK: {
        struct sbuf bytes = {0};
        for (size_t i = 0; i < in->n; i++) {
            int byte = byte_token(in->s[i], in->len[i]);
            if (byte >= 0) {
                if (sb_put(e, &bytes, &(char){(char)byte}, 1) < 0)
                    return -1;
                continue;
            }
            if (flush_bytes(e, &bytes, out) < 0 ||
                tk_strs_push(out, in->s[i], in->len[i], e->err) < 0)
                return -1;
        }
        return flush_bytes(e, &bytes, out);
    }
    case TK_DEC_FUSE: {
        struct sbuf b = {0};
        for (size_t i = 0; i < in->n; i++)
            if (sb_put(e, &b, in->s[i], in->len[i]) < 0)
                return -1;
        return push_sb(e, out, &b);
    }
    case TK_DEC_STRIP:
        for (size_t i = 0; i < in->n; i++) {
            const char *s = in->s[i];
            size_t len = in->len[i];
            /* up to strip_start chars off the front, strip_stop off the back */
            size_t a = 0, z = len;
            for (size_t k = 0; k < d->strip_start && a < len; k++) {
                uint32_t cp;
                int n = tk_utf8_next(s + a, &cp);
                if (cp != d->strip_char)
                    break;
                a += (size_t)n;
            }
            for (size_t k = 0; k < d->strip_stop && z > a; k++) {
                size_t j = z - 1;
                while (j > a && ((unsigned char)s[j] & 0xC0) == 0x80)
                    j--;
                uint32_t cp;
                tk_utf8_next(s + j, &cp);
                if (cp != d->strip_char)
                    break;
                z = j;
            }
            if (tk_strs_push(out, s + a, z - a, e->err) < 0)
                return -1;
        }
        return 0;
    case TK_DEC_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            struct sbuf b = {0};
            if (tk_pattern_find(e, &d->pattern, in->s[i], in->len[i]) < 0)
                return -1;
            for (size_t k = 0; k < e->matches.n; k++) {
                const struct tk_match *m = &e->matches.v[k];
                if (m->is_match ? sb_put(e, &b, d->text, d->text_len)
                                : sb_put(e, &b, in->s[i] + m->start, m->end - m->start))
                    return -1;
            }
            if (push_sb(e, out, &b) < 0)
                return -1;
        }
        return 0;
    case TK_DEC_BPE:
        for (size_t i = 0; i < in->n; i++) {
            struct sbuf b = {0};
            const char *to = i + 1 == in->n ? "" : " ";
            if (replace_all(e, in->s[i], in->len[i], d->text, d->text_len, to, strlen(to), &b) < 0 ||
                push_sb(e, out, &b) < 0)
                return -1;
        }
        return 0;
    case TK_DEC_CTC:
        for (size_t i = 0; i < in->n; i++) {
            if (i > 0 && in->len[i] == in->len[i - 1] &&
                memcmp(in->s[i], in->s[i - 1], in->len[i]) == 0)
                continue; /* consecutive duplicates collapse */
            struct sbuf b = {0}, c = {0};
            if (replace_all(e, in->s[i], in->len[i], d->text, d->text_len, "", 0, &b) < 0)
                return -1;
            if (d->cleanup) {
                struct sbuf w = {0};
                if (cleanup(e, b.p ? b.p : "", b.len, &w) < 0 ||
                    replace_all(e, w.p ? w.p : "", w.len, d->text2, d->text2_len, " ", 1, &c) < 0)
                    return -1;
                b = c;
            }
            if (b.len && push_sb(e, out, &b) < 0)
                return -1;
        }
        return 0;
    }
    return 0;
}
