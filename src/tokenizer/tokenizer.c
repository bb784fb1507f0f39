/*
 * The public tokenizer API: building a tokenizer from a model, and the encode and
 * decode pipelines (see tok.h for the stages).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"

void tv_ids_init(struct tv_ids *ids)
{
    memset(ids, 0, sizeof *ids);
}

void tv_ids_release(struct tv_ids *ids)
{
    tv_free(ids->ids);
    tv_free(ids->offsets);
    tv_ids_init(ids);
}

void tv_string_free(char *s)
{
    tv_free(s);
}

void tv_tokenizer_free(tv_tokenizer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_norms; i++)
        tk_normalizer_release(&t->norms[i]);
    tv_free(t->norms);
    for (size_t i = 0; i < t->n_pretoks; i++)
        tk_pretok_release(&t->pretoks[i]);
    tv_free(t->pretoks);
    tk_model_release(&t->m);
    for (size_t i = 0; i < t->n_decoders; i++)
        tk_decoder_release(&t->decoders[i]);
    tv_free(t->decoders);
    for (size_t i = 0; i < t->n_procs; i++)
        tk_processor_release(&t->procs[i]);
    tv_free(t->procs);
    tk_added_release(&t->added);
    tk_sp_free(t->sp);
    tk_scratch_release(&t->enc.scratch);
    tk_regex_ctx_release(&t->enc.rx);
    tv_free(t->enc.matches.v);
    tv_free(t->enc.changes.v);
    tv_free(t->pieces.v);
    tv_free(t->tmp.v);
    tv_free(t->toks.v);
    tv_free(t);
}

/* The byte-level fast path: no normalizer; ByteLevel(regex), or Split(regex, Isolated)
   followed by ByteLevel without regex; no prefix space; a BPE model with a token for
   every byte and no prefix or suffix. */
static int detect_fast_path(tv_tokenizer *t, tv_error *err)
{
    t->fast_byte_level = false;
    if (t->n_norms || t->m.kind != TK_MODEL_BPE || t->m.prefix_len || t->m.suffix_len)
        return 0;
    const struct tk_pretok *p = t->pretoks;
    bool shape = false;
    if (t->n_pretoks == 1)
        shape = p[0].kind == TK_PRE_BYTE_LEVEL && p[0].use_regex && !p[0].add_prefix_space;
    else if (t->n_pretoks == 2)
        shape = p[0].kind == TK_PRE_SPLIT && p[0].behavior == TK_ISOLATED && !p[0].invert &&
                p[0].pattern.kind == TK_PAT_REGEX && p[1].kind == TK_PRE_BYTE_LEVEL &&
                !p[1].use_regex && !p[1].add_prefix_space;
    if (!shape)
        return 0;
    int rc = tk_bpe_enable_bytes(&t->m, err);
    if (rc < 0)
        return -1;
    t->fast_byte_level = rc == 1;
    return 0;
}

tv_tokenizer *tv_tokenizer_new(const tv_model *m, tv_error *err)
{
    const struct tv_vocab *cv = m ? tv_model_vocab(m) : NULL;
    if (!cv || (cv->n_tokens == 0 && !cv->json)) {
        tv_error_set(err, TV_ERR_NOTFOUND, "%s: the model has no vocabulary to tokenize with",
                     m ? tv_model_path(m) : "<null>");
        return NULL;
    }
    /* The vocabulary is only read; the cast lets constructors use the lookup helpers. */
    struct tv_vocab *v = (struct tv_vocab *)cv;
    tv_tokenizer *t = tv_calloc(1, sizeof *t);
    if (!t) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory creating a tokenizer");
        return NULL;
    }
    t->model = m;
    t->origin = v->origin ? v->origin : tv_model_path(m);
    t->add_bos_id = t->add_eos_id = -1;
    tk_scratch_init(&t->enc.scratch);
    t->enc.err = err;
    if (tk_regex_ctx_init(&t->enc.rx, err) < 0)
        goto fail;
    int rc;
    if (v->json && v->model_json)
        rc = tk_config_from_json(t, v, err);
    else if (v->ggml_model)
        rc = tk_config_from_gguf(t, v, err);
    else
        rc = tk_config_from_vocab(t, v, err);
    if (rc < 0 || detect_fast_path(t, err) < 0)
        goto fail;
    for (size_t i = 0; i < t->n_pretoks; i++)
        if (t->pretoks[i].kind == TK_PRE_BYTE_LEVEL)
            t->byte_level_display = true;
    for (size_t i = 0; i < t->n_decoders; i++)
        if (t->decoders[i].kind == TK_DEC_BYTE_LEVEL)
            t->byte_level_display = true;
    return t;
fail:
    tv_tokenizer_free(t);
    return NULL;
}

int tk_normalize_string(tv_tokenizer *t, const char *s, size_t len, const char **out,
                        size_t *out_len, tv_error *err)
{
    struct tk_enc *e = &t->enc;
    e->err = err;
    e->text = s;
    e->text_len = len;
    struct tk_piece p = {s, (uint32_t)len, NULL, 0, (uint32_t)len, -1};
    if (tk_normalize(e, t->norms, t->n_norms, &p) < 0)
        return -1;
    *out = p.s;
    *out_len = p.len;
    return 0;
}

size_t tv_tokenizer_vocab_size(const tv_tokenizer *t)
{
    size_t n = t->m.n_ids;
    for (size_t i = 0; i < t->added.n; i++)
        if ((size_t)t->added.v[i].id + 1 > n)
            n = (size_t)t->added.v[i].id + 1;
    return n;
}

static const struct tk_added *added_by_id(const tv_tokenizer *t, uint32_t id)
{
    uint64_t at;
    return tk_map64_get(&t->added.by_id, id, &at) ? &t->added.v[at] : NULL;
}

const char *tv_token_text(const tv_tokenizer *t, uint32_t id, size_t *len)
{
    const struct tk_added *a = added_by_id(t, id);
    if (a) {
        *len = a->len;
        return a->content;
    }
    if (id < t->m.n_ids && t->m.id_text[id]) {
        *len = t->m.id_len[id];
        return t->m.id_text[id];
    }
    *len = 0;
    return NULL;
}

int tv_token_is_special(const tv_tokenizer *t, uint32_t id)
{
    size_t len;
    const char *s = tv_token_text(t, id, &len);
    uint32_t dummy;
    return s && tk_strmap_get(&t->added.special_set, s, len, &dummy);
}

/* ---- encode ------------------------------------------------------------------------------ */

static int grow_out(struct tv_ids *out, size_t need, bool offsets, tv_error *err)
{
    if (tv_grow((void **)&out->ids, &out->cap, need, sizeof *out->ids, err) < 0)
        return -1;
    if (offsets &&
        tv_grow((void **)&out->offsets, &out->cap_offsets, need, sizeof *out->offsets, err) < 0)
        return -1;
    return 0;
}

static int emit(struct tv_ids *out, uint32_t id, size_t start, size_t end, bool offsets,
                tv_error *err)
{
    if (out->n >= out->cap || (offsets && out->n >= out->cap_offsets))
        if (grow_out(out, out->n + 1, offsets, err) < 0)
            return -1;
    out->ids[out->n] = id;
    if (offsets)
        out->offsets[out->n] = (struct tv_offset){start, end};
    out->n++;
    return 0;
}

/* Byte range of the original chars covering bytes [a, b) of the text. */
static void char_range(const struct tk_enc *e, size_t *a, size_t *b)
{
    const unsigned char *s = (const unsigned char *)e->text;
    while (*a > 0 && (s[*a] & 0xC0) == 0x80)
        (*a)--;
    while (*b < e->text_len && (s[*b] & 0xC0) == 0x80)
        (*b)++;
}

static int run_model(tv_tokenizer *t, const struct tk_piece *p, struct tv_ids *out, bool offsets)
{
    struct tk_enc *e = &t->enc;
    t->toks.n = 0;
    if (tk_model_tokenize(e, &t->m, p->s, p->len, &t->toks) < 0)
        return -1;
    for (size_t k = 0; k < t->toks.n; k++) {
        const struct tk_tok *tok = &t->toks.v[k];
        struct tk_span r = {p->orig_start, p->orig_start};
        if (offsets && tok->end > tok->start)
            r = tk_piece_range(e, p, tok->start, tok->end);
        if (emit(out, tok->id, r.start, r.end, offsets, e->err) < 0)
            return -1;
    }
    return 0;
}

static int run_fast(tv_tokenizer *t, const struct tk_piece *p, struct tv_ids *out, bool offsets)
{
    struct tk_enc *e = &t->enc;
    const struct tk_pattern *pat = &t->pretoks[0].pattern;
    if (tk_pattern_find(e, pat, p->s, p->len) < 0)
        return -1;
    /* the match list is reused by nothing below: walk it in place */
    for (size_t i = 0; i < e->matches.n; i++) {
        struct tk_match mt = e->matches.v[i];
        if (mt.end <= mt.start)
            continue;
        t->toks.n = 0;
        if (tk_bpe_tokenize_bytes(e, &t->m, p->s + mt.start, mt.end - mt.start, &t->toks) < 0)
            return -1;
        size_t base = p->orig_start + mt.start;
        for (size_t k = 0; k < t->toks.n; k++) {
            size_t a = base + t->toks.v[k].start, b = base + t->toks.v[k].end;
            if (offsets)
                char_range(e, &a, &b);
            if (emit(out, t->toks.v[k].id, a, b, offsets, e->err) < 0)
                return -1;
        }
    }
    return 0;
}

/* HF's ByteLevel process_offsets: offsets lose the spaces at the ends of a token. */
static void trim_offsets(const tv_tokenizer *t, struct tv_ids *out, size_t from, size_t to,
                         bool add_prefix_space)
{
    for (size_t i = from; i < to; i++) {
        size_t len;
        const char *s = tv_token_text(t, out->ids[i], &len);
        if (!s)
            continue;
        size_t lead = 0, trail = 0, chars = 0;
        bool in_lead = true;
        for (size_t k = 0; k < len;) {
            uint32_t cp;
            k += (size_t)tk_utf8_next(s + k, &cp);
            bool sp = cp == 0x120 || tk_is_whitespace(cp);
            if (in_lead && sp)
                lead++;
            else
                in_lead = false;
            trail = sp ? trail + 1 : 0;
            chars++;
        }
        struct tv_offset *o = &out->offsets[i];
        if (lead) {
            bool first = i == from || o->start == 0;
            if (first && add_prefix_space && lead == 1)
                lead = 0;
            o->start = o->start + lead < o->end ? o->start + lead : o->end;
        }
        if (trail && o->end >= trail)
            o->end = o->end - trail > o->start ? o->end - trail : o->start;
    }
}

static int insert_specials(struct tv_ids *out, const uint32_t *before, size_t n_before,
                           const uint32_t *after, size_t n_after, bool offsets, tv_error *err)
{
    size_t n = out->n, total = n + n_before + n_after;
    if (grow_out(out, total, offsets, err) < 0)
        return -1;
    memmove(out->ids + n_before, out->ids, n * sizeof *out->ids);
    memcpy(out->ids, before, n_before * sizeof *before);
    memcpy(out->ids + n_before + n, after, n_after * sizeof *after);
    if (offsets) {
        memmove(out->offsets + n_before, out->offsets, n * sizeof *out->offsets);
        for (size_t i = 0; i < n_before; i++)
            out->offsets[i] = (struct tv_offset){0, 0};
        for (size_t i = 0; i < n_after; i++)
            out->offsets[n_before + n + i] = (struct tv_offset){0, 0};
    }
    out->n = total;
    return 0;
}

static int post_process(tv_tokenizer *t, struct tv_ids *out, bool add_special, bool offsets,
                        tv_error *err)
{
    for (size_t i = 0; i < t->n_procs; i++) {
        const struct tk_processor *p = &t->procs[i];
        switch (p->kind) {
        case TK_PROC_BYTE_LEVEL:
            if (offsets && p->trim_offsets)
                trim_offsets(t, out, 0, out->n, p->add_prefix_space);
            break;
        case TK_PROC_ROBERTA:
            if (offsets && p->trim_offsets)
                trim_offsets(t, out, 0, out->n, p->add_prefix_space);
            /* fall through */
        case TK_PROC_BERT:
            if (add_special && insert_specials(out, &p->cls, 1, &p->sep, 1, offsets, err) < 0)
                return -1;
            break;
        case TK_PROC_TEMPLATE: {
            if (!add_special)
                break;
            /* the specials before the first $A and after it */
            size_t n_before = 0, n_after = 0;
            bool seen = false;
            for (size_t k = 0; k < p->n_items; k++) {
                if (p->items[k].is_sequence)
                    seen = true;
                else if (seen)
                    n_after += p->items[k].n_ids;
                else
                    n_before += p->items[k].n_ids;
            }
            uint32_t *before = tk_alloc(&t->enc.scratch, (n_before + 1) * sizeof *before);
            uint32_t *after = tk_alloc(&t->enc.scratch, (n_after + 1) * sizeof *after);
            if (!before || !after)
                return tv_error_set(err, TV_ERR_NOMEM, "out of memory adding special tokens");
            size_t nb = 0, na = 0;
            seen = false;
            for (size_t k = 0; k < p->n_items; k++) {
                const struct tk_template_item *it = &p->items[k];
                if (it->is_sequence) {
                    seen = true;
                    continue;
                }
                for (size_t j = 0; j < it->n_ids; j++) {
                    if (seen)
                        after[na++] = it->ids[j];
                    else
                        before[nb++] = it->ids[j];
                }
            }
            if (insert_specials(out, before, nb, after, na, offsets, err) < 0)
                return -1;
            break;
        }
        }
    }
    if (add_special && !t->n_procs && (t->add_bos_id >= 0 || t->add_eos_id >= 0)) {
        uint32_t bos = (uint32_t)t->add_bos_id, eos = (uint32_t)t->add_eos_id;
        if (insert_specials(out, &bos, t->add_bos_id >= 0, &eos, t->add_eos_id >= 0, offsets,
                            err) < 0)
            return -1;
    }
    return 0;
}

/* Replaces invalid UTF-8 by U+FFFD (one per maximal invalid sequence); map[i] is the
   input offset of byte i of the result. */
static int make_valid(struct tk_enc *e, const char *text, size_t len, const char **out,
                      size_t *out_len, uint32_t **map)
{
    size_t cap = len * 3 + 1;
    char *buf = tk_alloc(&e->scratch, cap);
    uint32_t *m = tk_alloc(&e->scratch, (cap + 1) * sizeof *m);
    if (!buf || !m)
        return tv_error_set(e->err, TV_ERR_NOMEM, "out of memory reading the text");
    size_t o = 0, i = 0;
    while (i < len) {
        size_t bad;
        size_t ok = tk_utf8_valid_prefix(text + i, len - i, &bad);
        for (size_t k = 0; k < ok; k++) {
            buf[o] = text[i + k];
            m[o++] = (uint32_t)(i + k);
        }
        i += ok;
        if (i >= len)
            break;
        memcpy(buf + o, "\xEF\xBF\xBD", 3);
        for (int k = 0; k < 3; k++)
            m[o++] = (uint32_t)i;
        i += bad;
    }
    m[o] = (uint32_t)len;
    *out = buf;
    *out_len = o;
    *map = m;
    return 0;
}

int tv_encode(tv_tokenizer *t, const char *text, size_t len, unsigned flags, struct tv_ids *out,
              tv_error *err)
{
    struct tk_enc *e = &t->enc;
    bool offsets = flags & TV_ENCODE_OFFSETS;
    e->err = err;
    out->n = 0;
    tk_scratch_reset(&e->scratch);
    if (len > UINT32_MAX / 4)
        return tv_error_set(err, TV_ERR_LIMIT,
                            "text of %zu bytes: at most 1 GiB per call (split it into lines)",
                            len);
    if (offsets && grow_out(out, 1, true, err) < 0)
        return -1;
    if (t->sp) {
        /* SentencePiece reads invalid bytes itself (one U+FFFD per byte) */
        if (tk_sp_encode(t, text, len, offsets, out, err) < 0)
            return -1;
        return post_process(t, out, flags & TV_ENCODE_ADD_SPECIAL, offsets, err);
    }
    uint32_t *map = NULL;
    size_t bad;
    if (tk_utf8_valid_prefix(text, len, &bad) != len) {
        if (make_valid(e, text, len, &text, &len, &map) < 0)
            return -1;
    }
    e->text = text;
    e->text_len = len;
    struct tk_pieces *ps = &t->pieces, *tmp = &t->tmp;
    ps->n = tmp->n = 0;
    bool parse_special = !(flags & TV_ENCODE_NO_PARSE_SPECIAL);
    if (len) {
        struct tk_piece whole = {text, (uint32_t)len, NULL, 0, (uint32_t)len, -1};
        if (tk_added_split(e, &t->added, false, parse_special, &whole, tmp) < 0)
            return -1;
        for (size_t i = 0; i < tmp->n; i++) {
            struct tk_piece p = tmp->v[i];
            if (p.id >= 0) {
                if (tk_pieces_push(ps, &p, err) < 0)
                    return -1;
                continue;
            }
            if (tk_normalize(e, t->norms, t->n_norms, &p) < 0 ||
                tk_added_split(e, &t->added, true, parse_special, &p, ps) < 0)
                return -1;
        }
    }
    if (!t->fast_byte_level)
        for (size_t i = 0; i < t->n_pretoks; i++)
            if (tk_pretokenize(e, &t->pretoks[i], ps, tmp) < 0)
                return -1;
    for (size_t i = 0; i < ps->n; i++) {
        const struct tk_piece *p = &ps->v[i];
        if (p->id >= 0) {
            struct tk_span r = {p->orig_start, p->orig_end};
            if (offsets && p->len)
                r = tk_piece_range(e, p, 0, p->len);
            if (emit(out, (uint32_t)p->id, r.start, r.end, offsets, err) < 0)
                return -1;
            continue;
        }
        if ((t->fast_byte_level ? run_fast(t, p, out, offsets) : run_model(t, p, out, offsets)) < 0)
            return -1;
    }
    if (map && offsets)
        for (size_t i = 0; i < out->n; i++) {
            out->offsets[i].start = map[out->offsets[i].start];
            size_t end = out->offsets[i].end;
            /* an end inside a replacement char covers the whole invalid sequence */
            while (end < len && end > 0 && map[end] == map[end - 1])
                end++;
            out->offsets[i].end = map[end];
        }
    return post_process(t, out, flags & TV_ENCODE_ADD_SPECIAL, offsets, err);
}

/* ---- decode ------------------------------------------------------------------------------ */

int tv_decode(tv_tokenizer *t, const uint32_t *ids, size_t n, unsigned flags, char **text,
              size_t *len, tv_error *err)
{
    struct tk_enc *e = &t->enc;
    e->err = err;
    tk_scratch_reset(&e->scratch);
    *text = NULL;
    *len = 0;
    if (t->sp)
        return tk_sp_decode(t, ids, n, flags, text, len, err);
    struct tk_strs a = {0}, b = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *s = tv_token_text(t, ids[i], &l);
        if (!s) {
            tv_error_set(err, TV_ERR_DATA, "%s: id %u is not in the vocabulary (%zu ids)",
                         t->origin, ids[i], tv_tokenizer_vocab_size(t));
            goto out;
        }
        uint32_t dummy;
        if ((flags & TV_DECODE_SKIP_SPECIAL) && tk_strmap_get(&t->added.special_set, s, l, &dummy))
            continue;
        if (t->added_raw_text && added_by_id(t, ids[i])) {
            char *mapped = tk_alloc(&e->scratch, 2 * l + 1);
            if (!mapped) {
                tv_error_set(err, TV_ERR_NOMEM, "out of memory decoding");
                goto out;
            }
            size_t o = 0;
            for (size_t k = 0; k < l; k++)
                o += (size_t)tk_utf8_put(tk_byte_to_cp((unsigned char)s[k]), mapped + o);
            s = mapped;
            l = o;
        }
        if (t->phantom_wordpiece && !added_by_id(t, ids[i])) {
            char *spelled = tk_alloc(&e->scratch, l + 3);
            if (!spelled) {
                tv_error_set(err, TV_ERR_NOMEM, "out of memory decoding");
                goto out;
            }
            if (l >= 3 && memcmp(s, "\xE2\x96\x81", 3) == 0) {
                memcpy(spelled, s + 3, l - 3); /* "▁x" starts a word: "x" */
                l -= 3;
            } else {
                memcpy(spelled, "##", 2); /* "x" continues one: "##x" */
                memcpy(spelled + 2, s, l);
                l += 2;
            }
            s = spelled;
        }
        if (tk_strs_push(&a, s, l, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < t->n_decoders; i++) {
        if (tk_decode_step(e, &t->decoders[i], &a, &b) < 0)
            goto out;
        struct tk_strs swap = a;
        a = b;
        b = swap;
    }
    size_t total = 0;
    for (size_t i = 0; i < a.n; i++)
        total += a.len[i] + 1;
    char *joined = tk_alloc(&e->scratch, total + 1);
    if (!joined) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory decoding");
        goto out;
    }
    size_t o = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (i && !t->has_decoder)
            joined[o++] = ' ';
        memcpy(joined + o, a.s[i], a.len[i]);
        o += a.len[i];
    }
    /* Rust strings are UTF-8: anything else became U+FFFD on the way */
    size_t cap = o * 3 + 1;
    char *res = tv_malloc(cap);
    if (!res) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory decoding");
        goto out;
    }
    size_t r = 0, i = 0;
    while (i < o) {
        size_t bad;
        size_t ok = tk_utf8_valid_prefix(joined + i, o - i, &bad);
        memcpy(res + r, joined + i, ok);
        r += ok;
        i += ok;
        if (i < o) {
            memcpy(res + r, "\xEF\xBF\xBD", 3);
            r += 3;
            i += bad;
        }
    }
    res[r] = '\0';
    *text = res;
    *len = r;
    rc = 0;
out:
    tv_free(a.s);
    tv_free(a.len);
    tv_free(b.s);
    tv_free(b.len);
    return rc;
}

/* ---- display ------------------------------------------------------------------------------ */

struct dbuf {
    char *buf;
    size_t cap, len;
};

static void dput(struct dbuf *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d->len + 1 < d->cap)
            d->buf[d->len] = s[i];
        d->len++;
    }
}

static void show(struct dbuf *d, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t bad;
        size_t ok = tk_utf8_valid_prefix(s + i, len - i, &bad);
        for (size_t k = i; k < i + ok;) {
            unsigned char c = (unsigned char)s[k];
            char hex[8];
            if (c == ' ') {
                dput(d, "\xE2\x90\xA3", 3); /* ␣ */
            } else if (c == '\n') {
                dput(d, "\\n", 2);
            } else if (c == '\t') {
                dput(d, "\\t", 2);
            } else if (c == '\r') {
                dput(d, "\\r", 2);
            } else if (c == '\\') {
                dput(d, "\\\\", 2);
            } else if (c < 0x20 || c == 0x7F) {
                snprintf(hex, sizeof hex, "\\x%02x", c);
                dput(d, hex, 4);
            } else {
                int n = tk_utf8_len(c);
                dput(d, s + k, (size_t)n);
                k += (size_t)n;
                continue;
            }
            k++;
        }
        i += ok;
        for (size_t k = 0; k < bad && i < len; k++, i++) {
            char hex[8];
            snprintf(hex, sizeof hex, "\\x%02x", (unsigned char)s[i]);
            dput(d, hex, 4);
        }
    }
}

int tv_token_piece(const tv_tokenizer *t, uint32_t id, char *buf, size_t cap)
{
    size_t len;
    const char *s = tv_token_text(t, id, &len);
    if (!s)
        return -1;
    struct dbuf d = {buf, cap, 0};
    const struct tk_added *a = added_by_id(t, id);
    char bytes[512];
    if (a) {
        show(&d, s, len); /* added tokens are written as plain text */
    } else if (t->m.byte_fallback && len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' &&
               isxdigit((unsigned char)s[3]) && isxdigit((unsigned char)s[4])) {
        char one = (char)strtoul((char[]){s[3], s[4], 0}, NULL, 16);
        show(&d, &one, 1);
    } else if (t->byte_level_display && len <= sizeof bytes) {
        size_t n = 0;
        bool all = true;
        for (size_t k = 0; k < len && all;) {
            uint32_t cp;
            k += (size_t)tk_utf8_next(s + k, &cp);
            int b = tk_cp_to_byte(cp);
            if (b < 0)
                all = false;
            else
                bytes[n++] = (char)b;
        }
        show(&d, all ? bytes : s, all ? n : len);
    } else {
        /* SentencePiece's word mark is a space */
        size_t start = 0;
        for (size_t k = 0; k + 3 <= len; k++) {
            if (memcmp(s + k, "\xE2\x96\x81", 3) == 0) {
                show(&d, s + start, k - start);
                dput(&d, "\xE2\x90\xA3", 3);
                start = k + 3;
                k += 2;
            }
        }
        show(&d, s + start, len - start);
    }
    if (cap)
        buf[d.len < cap ? d.len : cap - 1] = '\0';
    return (int)d.len;
}
