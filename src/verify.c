/*
 * tokvec verify: the report, check selection, and the checks that compare what
 * different sources say about one model (vocab_size, hidden_dim, padding,
 * tied_embeddings, structure.*, expect.*). Vocabulary integrity lives in
 * verify_vocab.c, embedding health in verify_embedding.c, rendering in
 * verify_report.c.
 *
 * Every check adds exactly one result (pass, warn, fail or skip) so that a report
 * always lists the same ids for the same kind of model; a check that does not apply
 * says why it skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

/* ---- ids and selection ---------------------------------------------------------- */

static const char *const known_ids[] = {
    "vocab_size", "hidden_dim", "padding", "tied_embeddings",
    "vocab.duplicates", "vocab.dense", "vocab.added_ids", "vocab.specials", "vocab.merges",
    "vocab.byte_fallback", "vocab.byte_level", "vocab.secondary",
    "embedding.nan", "embedding.zero_rows", "embedding.low_norm",
    "structure", "expect.vocab", "expect.hidden", "expect.dtype",
};
static const char *const known_groups[] = {"vocab", "embedding", "structure", "expect"};
/* Ids of reader findings that are reported under their own id (any structure.<x> is
   accepted too, since readers add new ones). */
static const char *const reader_ids[] = {"vocab.nul_byte", "vocab.added_id", "vocab.duplicate_id",
                                         "vocab.post_processor_id", "vocab.empty",
                                         "vocab.unk_token"};

/* Whether one --only/--skip entry (len bytes) matches id. */
static bool entry_matches(const char *entry, size_t len, const char *id)
{
    if (len >= 2 && entry[len - 2] == '.' && entry[len - 1] == '*')
        len -= 2; /* "vocab.*" is the group "vocab" */
    if (strlen(id) == len && memcmp(id, entry, len) == 0)
        return true;
    return strncmp(id, entry, len) == 0 && id[len] == '.';
}

static bool list_matches(const char *list, const char *id)
{
    if (!list)
        return false;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && entry_matches(p, len, id))
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

bool vr_selected(const tv_verify_report *r, const char *id)
{
    if (r->opt.only && *r->opt.only && !list_matches(r->opt.only, id))
        return false;
    return !list_matches(r->opt.skip, id);
}

static bool known_entry(const char *entry, size_t len)
{
    if (len >= 2 && entry[len - 2] == '.' && entry[len - 1] == '*')
        len -= 2;
    for (size_t i = 0; i < TV_ARRAY_SIZE(known_ids); i++)
        if (strlen(known_ids[i]) == len && memcmp(known_ids[i], entry, len) == 0)
            return true;
    for (size_t i = 0; i < TV_ARRAY_SIZE(known_groups); i++)
        if (strlen(known_groups[i]) == len && memcmp(known_groups[i], entry, len) == 0)
            return true;
    for (size_t i = 0; i < TV_ARRAY_SIZE(reader_ids); i++)
        if (strlen(reader_ids[i]) == len && memcmp(reader_ids[i], entry, len) == 0)
            return true;
    /* structure ids come from the readers: any structure.<name> is accepted */
    return len > 10 && memcmp(entry, "structure.", 10) == 0;
}

bool tv_verify_known_id(const char *id)
{
    return id && known_entry(id, strlen(id));
}

static int validate_list(const char *list, const char *what, tv_error *err)
{
    if (!list)
        return 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && !known_entry(p, len))
            return tv_error_set(err, TV_ERR_USAGE,
                                "%s: unknown check '%.*s' (known: vocab_size, hidden_dim, "
                                "padding, tied_embeddings, vocab.*, embedding.*, structure.*, "
                                "expect.*; see the README)",
                                what, (int)(len > 100 ? 100 : len), p);
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* ---- options ---------------------------------------------------------------------- */

void tv_verify_options_init(struct tv_verify_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->expect_vocab = -1;
    opt->expect_hidden = -1;
    opt->expect_dtype = -1;
}

static int parse_count(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int tv_verify_parse_expect(struct tv_verify_options *opt, const char *spec, tv_error *err)
{
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return tv_error_set(err, TV_ERR_USAGE,
                                "--expect: '%.*s' is not KEY=VALUE (keys: vocab, hidden, dtype)",
                                (int)(len > 100 ? 100 : len), p);
        size_t key_len = (size_t)(eq - p), value_len = len - key_len - 1;
        const char *value = eq + 1;
        char buf[32];
        if (key_len == 5 && memcmp(p, "vocab", 5) == 0) {
            if (parse_count(value, value_len, &opt->expect_vocab) < 0)
                goto bad_number;
        } else if (key_len == 6 && memcmp(p, "hidden", 6) == 0) {
            if (parse_count(value, value_len, &opt->expect_hidden) < 0)
                goto bad_number;
        } else if (key_len == 5 && memcmp(p, "dtype", 5) == 0) {
            enum tv_dtype dtype;
            if (value_len == 0 || value_len >= sizeof buf)
                goto bad_dtype;
            memcpy(buf, value, value_len);
            buf[value_len] = '\0';
            if (tv_dtype_from_name(buf, &dtype) < 0)
                goto bad_dtype;
            opt->expect_dtype = (int)dtype;
        } else {
            return tv_error_set(err, TV_ERR_USAGE,
                                "--expect: unknown key '%.*s' (keys: vocab, hidden, dtype)",
                                (int)(key_len > 100 ? 100 : key_len), p);
        }
        p += len;
        if (*p == ',')
            p++;
        continue;
    bad_number:
        return tv_error_set(err, TV_ERR_USAGE,
                            "--expect: '%.*s' is not a non-negative whole number",
                            (int)(len > 100 ? 100 : len), p);
    bad_dtype:
        return tv_error_set(err, TV_ERR_USAGE, "--expect: '%.*s' is not a dtype tokvec knows "
                            "(F32, F16, BF16, Q8_0, ...)", (int)(len > 100 ? 100 : len), p);
    }
    return 0;
}

/* ---- the report ------------------------------------------------------------------- */

const char *tv_check_status_name(enum tv_check_status status)
{
    static const char *const names[TV_CHECK_STATUS_COUNT] = {"pass", "warn", "fail", "skip"};
    return (unsigned)status < TV_CHECK_STATUS_COUNT ? names[status] : "?";
}

static const char *arena_str(tv_verify_report *r, const char *s)
{
    if (!s)
        return NULL;
    const char *copy = tv_arena_strndup(&r->arena, s, strlen(s));
    if (!copy)
        r->failed_oom = true;
    return copy;
}

static tv_verify_report *report_new(const tv_model *m, const struct tv_verify_options *opt)
{
    tv_verify_report *r = tv_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    tv_arena_init(&r->arena);
    if (opt)
        r->opt = *opt;
    else
        tv_verify_options_init(&r->opt);
    r->opt.only = arena_str(r, r->opt.only);
    r->opt.skip = arena_str(r, r->opt.skip);
    if (m) {
        r->model_path = arena_str(r, m->path);
        r->model_kind = arena_str(r, m->kind);
        if (m->n_files) {
            r->files = tv_arena_alloc(&r->arena, m->n_files * sizeof *r->files);
            if (!r->files)
                r->failed_oom = true;
            else
                for (size_t i = 0; i < m->n_files; i++)
                    r->files[r->n_files++] = arena_str(r, m->files[i]);
        }
    }
    if (r->failed_oom) {
        tv_verify_report_free(r);
        return NULL;
    }
    return r;
}

void tv_verify_report_free(tv_verify_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_checks; i++)
        tv_free(r->checks[i].values);
    tv_free(r->checks);
    tv_arena_release(&r->arena);
    tv_free(r);
}

size_t tv_verify_check_count(const tv_verify_report *r)
{
    return r ? r->n_checks : 0;
}

const struct tv_check *tv_verify_check(const tv_verify_report *r, size_t i)
{
    return r && i < r->n_checks ? &r->checks[i].pub : NULL;
}

const struct tv_check *tv_verify_find(const tv_verify_report *r, const char *id)
{
    for (size_t i = 0; r && i < r->n_checks; i++)
        if (strcmp(r->checks[i].pub.id, id) == 0)
            return &r->checks[i].pub;
    return NULL;
}

size_t tv_verify_count_status(const tv_verify_report *r, enum tv_check_status status)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n_checks; i++)
        n += r->checks[i].pub.status == status;
    return n;
}

int tv_verify_ok(const tv_verify_report *r)
{
    if (tv_verify_count_status(r, TV_CHECK_FAIL))
        return 0;
    return !(r->opt.strict && tv_verify_count_status(r, TV_CHECK_WARN));
}

/* ---- one-line text ------------------------------------------------------------------ */

void vt_init(struct vtext *t)
{
    t->len = 0;
    t->buf[0] = '\0';
    t->truncated = false;
}

static void vt_vadd(struct vtext *t, const char *fmt, va_list ap)
{
    if (t->truncated)
        return;
    size_t room = sizeof t->buf - 4 - t->len; /* keep room for "..." */
    int n = vsnprintf(t->buf + t->len, room + 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > room) {
        t->len += room;
        /* do not cut a UTF-8 sequence in half */
        while (t->len > 0 && ((unsigned char)t->buf[t->len] & 0xC0) == 0x80)
            t->len--;
        memcpy(t->buf + t->len, "...", 4);
        t->len += 3;
        t->truncated = true;
    } else {
        t->len += (size_t)n;
    }
}

void vt_add(struct vtext *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_vadd(t, fmt, ap);
    va_end(ap);
}

/* Length of the valid, printable UTF-8 sequence at p (n bytes left), 0 if none. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t k;
    if (p[0] < 0x80) {
        return p[0] >= 0x20 && p[0] < 0x7f ? 1 : 0;
    } else if ((p[0] & 0xE0) == 0xC0) {
        k = 2, cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        k = 3, cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        k = 4, cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range, surrogate */
    if (cp < 0xA0 || cp == 0xFFFE || cp == 0xFFFF || cp == 0x2028 || cp == 0x2029)
        return 0; /* C1 controls and characters XML or a terminal line cannot carry */
    return k;
}

void vt_token(struct vtext *t, const char *bytes, size_t len)
{
    char out[200];
    size_t o = 0, i = 0;
    const unsigned char *p = (const unsigned char *)bytes;
    out[o++] = '\'';
    while (i < len && i < 40) {
        size_t k = utf8_printable(p + i, len - i);
        if (k == 1 && (p[i] == '\'' || p[i] == '\\')) {
            out[o++] = '\\';
            out[o++] = (char)p[i];
        } else if (k) {
            memcpy(out + o, p + i, k);
            o += k;
        } else {
            k = 1;
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", p[i]);
        }
        i += k;
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
    vt_add(t, "%s", out);
}

void vt_text(struct vtext *t, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t k = utf8_printable(p + i, len - i);
        if (k)
            vt_add(t, "%.*s", (int)k, s + i);
        else
            vt_add(t, "\\x%02x", p[i]), k = 1;
        i += k;
    }
}

void vt_token_id(struct vtext *t, const struct tv_vocab *v, uint64_t id)
{
    if (!v || id >= v->n_tokens || !v->tokens[id].text)
        vt_add(t, "(no token)");
    else
        vt_token(t, v->tokens[id].text, v->tokens[id].len);
}

const char *vr_file(const tv_verify_report *r, const char *file)
{
    if (!file)
        return "?";
    size_t n = r->model_path ? strlen(r->model_path) : 0;
    while (n > 1 && r->model_path[n - 1] == '/')
        n--;
    if (n && strncmp(file, r->model_path, n) == 0 && file[n] == '/' && file[n + 1])
        return file + n + 1; /* inside the folder that was opened */
    const char *slash = strrchr(file, '/');
    return slash && slash[1] ? slash + 1 : file;
}

/* ---- adding results ---------------------------------------------------------------- */

struct vcheck *vr_add(tv_verify_report *r, const char *id, enum tv_check_status status,
                      const char *fmt, ...)
{
    struct vtext text;
    vt_init(&text);
    va_list ap;
    va_start(ap, fmt);
    vt_vadd(&text, fmt, ap);
    va_end(ap);
    /* one line: a message never carries a newline (token bytes are escaped already) */
    for (size_t i = 0; i < text.len; i++)
        if (text.buf[i] == '\n' || text.buf[i] == '\r')
            text.buf[i] = ' ';
    if (tv_grow((void **)&r->checks, &r->cap_checks, r->n_checks + 1, sizeof *r->checks,
                NULL) < 0) {
        r->failed_oom = true;
        return NULL;
    }
    struct vcheck *c = &r->checks[r->n_checks];
    memset(c, 0, sizeof *c);
    c->pub.id = arena_str(r, id);
    c->pub.message = arena_str(r, text.buf);
    c->pub.status = status;
    if (!c->pub.id || !c->pub.message)
        return NULL;
    r->n_checks++;
    return c;
}

static struct tv_check_value *add_value(tv_verify_report *r, struct vcheck *c, const char *key)
{
    if (!c)
        return NULL;
    if (tv_grow((void **)&c->values, &c->cap_values, c->pub.n_values + 1, sizeof *c->values,
                NULL) < 0) {
        r->failed_oom = true;
        return NULL;
    }
    struct tv_check_value *v = &c->values[c->pub.n_values];
    memset(v, 0, sizeof *v);
    v->key = arena_str(r, key);
    if (!v->key)
        return NULL;
    c->pub.n_values++;
    c->pub.values = c->values;
    return v;
}

void vr_int(tv_verify_report *r, struct vcheck *c, const char *key, int64_t value)
{
    struct tv_check_value *v = add_value(r, c, key);
    if (v) {
        v->type = TV_CHECK_INT;
        v->i = value;
    }
}

void vr_float(tv_verify_report *r, struct vcheck *c, const char *key, double value)
{
    struct tv_check_value *v = add_value(r, c, key);
    if (v) {
        v->type = TV_CHECK_FLOAT;
        v->f = value;
    }
}

void vr_str(tv_verify_report *r, struct vcheck *c, const char *key, const char *value)
{
    struct tv_check_value *v = add_value(r, c, key);
    if (v) {
        struct vtext t; /* the same escaping as messages: values are valid UTF-8 */
        vt_init(&t);
        vt_text(&t, value);
        v->type = TV_CHECK_STRING;
        v->s = arena_str(r, t.buf);
    }
}

/* ---- sources of a size --------------------------------------------------------------- */

/* One statement of a number: "config.json vocab_size = 73448",
   "model.embed_tokens.weight has 100 rows". */
struct source {
    int64_t value;
    const char *file;   /* display name */
    const char *what;   /* key, or tensor name */
    enum { SRC_VOCAB, SRC_CLAIM, SRC_ROWS, SRC_COLUMNS, SRC_ENTRIES } kind;
    bool model_side;    /* vocab_size: states the model's (embedding's) size */
};

struct sources {
    struct source *items;
    size_t n, cap;
};

static int sources_add(tv_verify_report *r, struct sources *s, struct source item)
{
    if (tv_grow((void **)&s->items, &s->cap, s->n + 1, sizeof *s->items, NULL) < 0) {
        r->failed_oom = true;
        return -1;
    }
    s->items[s->n++] = item;
    return 0;
}

static void describe(struct vtext *t, const struct source *s)
{
    switch (s->kind) {
    case SRC_VOCAB:
        vt_add(t, "%s has %lld tokens", s->file, (long long)s->value);
        break;
    case SRC_CLAIM:
        vt_add(t, "%s %s = %lld", s->file, s->what, (long long)s->value);
        break;
    case SRC_ROWS:
        vt_add(t, "%s has %lld rows", s->what, (long long)s->value);
        break;
    case SRC_COLUMNS:
        vt_add(t, "%s has %lld columns", s->what, (long long)s->value);
        break;
    case SRC_ENTRIES:
        vt_add(t, "%s has %lld entries", s->what, (long long)s->value);
        break;
    }
}

/* The short form used in "768 = config.json hidden_size = wte.weight columns". */
static void describe_short(struct vtext *t, const struct source *s)
{
    switch (s->kind) {
    case SRC_VOCAB: vt_add(t, "%s tokens", s->file); break;
    case SRC_CLAIM: vt_add(t, "%s %s", s->file, s->what); break;
    case SRC_ROWS: vt_add(t, "%s rows", s->what); break;
    case SRC_COLUMNS: vt_add(t, "%s columns", s->what); break;
    case SRC_ENTRIES: vt_add(t, "%s entries", s->what); break;
    }
}

static void source_values(tv_verify_report *r, struct vcheck *c, const struct sources *s)
{
    char key[300];
    for (size_t i = 0; i < s->n; i++) {
        const struct source *src = &s->items[i];
        switch (src->kind) {
        case SRC_VOCAB: snprintf(key, sizeof key, "%s:tokens", src->file); break;
        case SRC_CLAIM: snprintf(key, sizeof key, "%s:%s", src->file, src->what); break;
        case SRC_ROWS: snprintf(key, sizeof key, "%s:rows", src->what); break;
        case SRC_COLUMNS: snprintf(key, sizeof key, "%s:columns", src->what); break;
        case SRC_ENTRIES: snprintf(key, sizeof key, "%s:entries", src->what); break;
        }
        vr_int(r, c, key, src->value);
    }
}

/* Output heads by the names the common architectures use. */
static const char *const head_names[] = {
    "lm_head.weight", "output.weight", "embed_out.weight", "model.lm_head.weight",
    "language_model.lm_head.weight", "lm_head",
};

static const struct tv_tensor *find_head(const tv_model *m)
{
    const struct tv_tensor *emb = tv_model_embedding(m);
    for (size_t i = 0; i < TV_ARRAY_SIZE(head_names); i++) {
        const struct tv_tensor *t = tv_model_tensor_find(m, head_names[i]);
        if (t && t != emb && t->n_dims == 2)
            return t;
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- vocab_size and padding ------------------------------------------------------------ */

/* Claims whose key ends like these state the model's size (config.json vocab_size,
   GGUF {arch}.vocab_size); every other vocab-size claim states a tokenizer's. */
static bool model_side_key(const char *key)
{
    return ends_with(key, "vocab_size") || ends_with(key, "n_vocab");
}

/* Whether every token of v is one of its added tokens (an empty model vocabulary). */
static bool only_added_tokens(const struct tv_vocab *v)
{
    if (!v->n_added || v->n_added < v->n_tokens)
        return false;
    size_t covered = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        bool found = false;
        for (size_t a = 0; a < v->n_added && !found; a++)
            found = v->added[a].id == id;
        covered += found;
        if (!found)
            return false;
    }
    return covered == v->n_tokens;
}

static int collect_vocab_sizes(tv_verify_report *r, const tv_model *m, struct sources *s)
{
    for (size_t i = 0; i < m->n_vocabs; i++) {
        const struct tv_vocab *v = &m->vocabs[i];
        if (!v->n_tokens && !v->json)
            continue;
        if (sources_add(r, s, (struct source){(int64_t)v->n_tokens,
                                              vr_file(r, v->origin ? v->origin : "vocabulary"),
                                              "tokens", SRC_VOCAB, false}) < 0)
            return -1;
    }
    for (size_t i = 0; i < m->n_claims; i++) {
        const struct tv_claim *c = &m->claims[i];
        if (c->kind != TV_CLAIM_VOCAB_SIZE)
            continue;
        const char *file = vr_file(r, c->file);
        bool model_side = model_side_key(c->key);
        bool duplicate = false;
        /* a reader's claim that repeats its own vocabulary's count adds nothing */
        for (size_t k = 0; k < s->n && !duplicate; k++)
            duplicate = s->items[k].value == c->value && strcmp(s->items[k].file, file) == 0 &&
                        (s->items[k].kind == SRC_VOCAB ? !model_side
                                                       : strcmp(s->items[k].what, c->key) == 0);
        if (!duplicate &&
            sources_add(r, s, (struct source){c->value, file, c->key, SRC_CLAIM, model_side}) < 0)
            return -1;
    }
    const struct tv_tensor *emb = tv_model_embedding(m), *head = find_head(m);
    const struct tv_tensor *map = vr_row_map(m);
    if (map && sources_add(r, s, (struct source){(int64_t)map->shape[0], vr_file(r, map->file),
                                                 map->name, SRC_ENTRIES, true}) < 0)
        return -1;
    if (!map && emb && sources_add(r, s, (struct source){(int64_t)emb->shape[0],
                                                         vr_file(r, emb->file), emb->name,
                                                         SRC_ROWS, true}) < 0)
        return -1;
    if (head && sources_add(r, s, (struct source){(int64_t)head->shape[0],
                                                  vr_file(r, head->file), head->name, SRC_ROWS,
                                                  true}) < 0)
        return -1;
    return 0;
}

/* model2vec's vocabulary quantisation: a 1-D integer tensor "mapping" sends token id i
   to row mapping[i] of the embedding, so the ids are its entries, not the rows. */
const struct tv_tensor *vr_row_map(const tv_model *m)
{
    const struct tv_tensor *t = tv_model_tensor_find(m, "mapping");
    if (!t || t->n_dims != 1 || !t->data || !tv_model_embedding(m))
        return NULL;
    switch (t->dtype) {
    case TV_DTYPE_I8: case TV_DTYPE_I16: case TV_DTYPE_I32: case TV_DTYPE_I64:
    case TV_DTYPE_U8: case TV_DTYPE_U16: case TV_DTYPE_U32: case TV_DTYPE_U64:
        return t;
    default:
        return NULL;
    }
}

/* Entry i of a row map, or -1 when it is negative or does not fit. */
static int64_t row_map_get(const struct tv_tensor *t, uint64_t i)
{
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case TV_DTYPE_I8: return (int8_t)p[i];
    case TV_DTYPE_U8: return p[i];
    case TV_DTYPE_I16: return (int16_t)tv_le16(p + 2 * i);
    case TV_DTYPE_U16: return tv_le16(p + 2 * i);
    case TV_DTYPE_I32: return (int32_t)tv_le32(p + 4 * i);
    case TV_DTYPE_U32: return tv_le32(p + 4 * i);
    case TV_DTYPE_I64: return (int64_t)tv_le64(p + 8 * i);
    case TV_DTYPE_U64: return tv_le64(p + 8 * i) > INT64_MAX ? -1 : (int64_t)tv_le64(p + 8 * i);
    default: return -1;
    }
}

/* How a row map uses the embedding: entries that point outside it, and rows no entry
   reaches. Returns 0, or -1 on OOM. */
struct map_use {
    uint64_t bad, first_bad_id, unused_rows;
    int64_t first_bad_row;
};

static int row_map_use(const struct tv_tensor *map, uint64_t rows, struct map_use *u)
{
    memset(u, 0, sizeof *u);
    uint8_t *seen = tv_calloc(rows / 8 + 1, 1);
    if (!seen)
        return -1;
    for (uint64_t i = 0; i < map->shape[0]; i++) {
        int64_t row = row_map_get(map, i);
        if (row < 0 || (uint64_t)row >= rows) {
            if (!u->bad++) {
                u->first_bad_id = i;
                u->first_bad_row = row;
            }
            continue;
        }
        seen[row / 8] |= (uint8_t)(1u << (row % 8));
    }
    for (uint64_t row = 0; row < rows; row++)
        u->unused_rows += !(seen[row / 8] & (1u << (row % 8)));
    tv_free(seen);
    return 0;
}

/* The model side's size for comparisons: the embedding rows, else the head rows, else the
   smallest claim (ids beyond the smallest are the ones some loader would reject). */
static const struct source *model_reference(const struct sources *s)
{
    const struct source *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct source *x = &s->items[i];
        if (!x->model_side)
            continue;
        bool rows = x->kind == SRC_ROWS || x->kind == SRC_ENTRIES;
        bool best_rows = best && (best->kind == SRC_ROWS || best->kind == SRC_ENTRIES);
        if (!best || (rows && !best_rows) || (!rows && !best_rows && x->value < best->value))
            best = x;
    }
    return best;
}

static void reference_phrase(struct vtext *t, const struct source *ref)
{
    if (ref->kind == SRC_ROWS || ref->kind == SRC_ENTRIES)
        describe(t, ref);
    else
        vt_add(t, "%s %s is %lld", ref->file, ref->what, (long long)ref->value);
}

/*
 * vocab_size: every source that states a vocabulary size agrees. Fails when the model
 * side (config vocab_size, GGUF {arch}.vocab_size, embedding rows, output-head rows)
 * disagrees with itself, when a tokenizer has ids the model has no row for, or when the
 * tokenizer covers less than 90% of the model's rows (it does not belong to the
 * weights). Fewer tokens than rows within that bound is padding (the padding check).
 */
static int check_vocab_size(tv_verify_report *r, const tv_model *m, int64_t *n_model,
                            int64_t *n_tokens, bool *gap_failed)
{
    struct sources s = {0};
    int rc = -1;
    *n_model = -1;
    *n_tokens = -1;
    *gap_failed = false;
    if (collect_vocab_sizes(r, m, &s) < 0)
        goto out;
    const struct tv_vocab *primary = tv_model_vocab(m);
    if (primary && (primary->n_tokens || primary->json))
        *n_tokens = (int64_t)primary->n_tokens;
    const struct source *ref = model_reference(&s);
    if (ref)
        *n_model = ref->value;
    if (!vr_selected(r, "vocab_size")) {
        rc = 0;
        goto out;
    }
    if (s.n < 2) {
        struct vtext t;
        vt_init(&t);
        if (s.n == 1)
            describe(&t, &s.items[0]);
        struct vcheck *c = vr_add(r, "vocab_size", TV_CHECK_SKIP,
                                  "%s%s: nothing to compare with", s.n ? "only " : "",
                                  s.n ? t.buf : "no source states a vocabulary size");
        source_values(r, c, &s);
        rc = 0;
        goto out;
    }
    struct vtext fail;
    vt_init(&fail);
    int64_t first_missing = -1, last_missing = -1;
    /* 1. the model side agrees with itself */
    for (size_t i = 0; ref && i < s.n; i++) {
        const struct source *x = &s.items[i];
        if (x->model_side && x != ref && x->value != ref->value) {
            vt_add(&fail, "%s", fail.len ? "; " : "");
            describe(&fail, x);
            vt_add(&fail, " but ");
            reference_phrase(&fail, ref);
        }
    }
    /* 2. every token id has a row */
    for (size_t i = 0; ref && i < s.n; i++) {
        const struct source *x = &s.items[i];
        if (x->model_side || x->value <= ref->value)
            continue;
        vt_add(&fail, "%s%s has %lld tokens (ids 0..%lld) but ", fail.len ? "; " : "", x->file,
               (long long)x->value, (long long)x->value - 1);
        reference_phrase(&fail, ref);
        if (ref->value == x->value - 1)
            vt_add(&fail, ": id %lld has no embedding", (long long)ref->value);
        else
            vt_add(&fail, ": ids %lld..%lld have no embedding", (long long)ref->value,
                   (long long)x->value - 1);
        if (first_missing < 0 || x->value - 1 > last_missing)
            first_missing = ref->value, last_missing = x->value - 1;
    }
    /* 3. the tokenizer covers the model (padding is at most 10% of the rows) */
    if (ref && *n_tokens >= 0 && *n_tokens < ref->value &&
        ref->value - *n_tokens > ref->value / 10) { /* claims reach 2^63: no * 10 */
        int64_t gap = ref->value - *n_tokens;
        vt_add(&fail, "%s%s has %lld tokens but ", fail.len ? "; " : "",
               vr_file(r, primary->origin ? primary->origin : "vocabulary"),
               (long long)*n_tokens);
        reference_phrase(&fail, ref);
        vt_add(&fail, ": %lld of %lld ids (%.1f%%) have no token", (long long)gap,
               (long long)ref->value, 100.0 * (double)gap / (double)ref->value);
        if (only_added_tokens(primary))
            vt_add(&fail, " (the model vocabulary is empty: all %zu tokens are added tokens)",
                   primary->n_tokens);
        else
            vt_add(&fail, " (padding is at most 10%%: this tokenizer does not match the model)");
        *gap_failed = true;
    }
    /* 4. a row map points inside the embedding */
    const struct tv_tensor *map = vr_row_map(m);
    struct map_use use = {0};
    if (map) {
        const struct tv_tensor *emb = tv_model_embedding(m);
        if (row_map_use(map, emb->shape[0], &use) < 0) {
            r->failed_oom = true;
            goto out;
        }
        if (use.bad)
            vt_add(&fail, "%s%s sends %llu token ids outside the %llu rows of %s (the first: "
                   "id %llu -> row %lld)", fail.len ? "; " : "", map->name,
                   (unsigned long long)use.bad, (unsigned long long)emb->shape[0], emb->name,
                   (unsigned long long)use.first_bad_id, (long long)use.first_bad_row);
    }
    struct vcheck *c;
    if (fail.len) {
        c = vr_add(r, "vocab_size", TV_CHECK_FAIL, "%s", fail.buf);
        if (first_missing >= 0) {
            vr_int(r, c, "first_id_without_row", first_missing);
            vr_int(r, c, "last_id_without_row", last_missing);
            vr_int(r, c, "ids_without_row", last_missing - first_missing + 1);
        }
    } else {
        /* "50257 = tokenizer.json tokens = config.json vocab_size = wte.weight rows" */
        struct vtext t;
        vt_init(&t);
        int64_t first = s.items[0].value;
        bool all_equal = true;
        for (size_t i = 0; i < s.n; i++)
            all_equal &= s.items[i].value == first;
        if (all_equal) {
            vt_add(&t, "%lld", (long long)first);
            for (size_t i = 0; i < s.n; i++) {
                vt_add(&t, " = ");
                describe_short(&t, &s.items[i]);
            }
        } else {
            /* tokenizers smaller than the model: agree up to padding */
            for (size_t i = 0, k = 0; i < s.n; i++) {
                if (s.items[i].model_side)
                    continue;
                vt_add(&t, "%s", k++ ? ", " : "");
                describe(&t, &s.items[i]);
            }
            vt_add(&t, "; model: %lld", ref ? (long long)ref->value : 0LL);
            for (size_t i = 0; i < s.n; i++) {
                if (!s.items[i].model_side)
                    continue;
                vt_add(&t, " = ");
                describe_short(&t, &s.items[i]);
            }
            vt_add(&t, " (every token has a row)");
        }
        c = vr_add(r, "vocab_size", TV_CHECK_PASS, "%s", t.buf);
    }
    source_values(r, c, &s);
    if (map)
        vr_int(r, c, "map_entries_outside", (int64_t)use.bad);
    rc = 0;
out:
    tv_free(s.items);
    return r->failed_oom ? -1 : rc;
}

/*
 * padding: rows no token id reaches. Deliberate padding (50257 -> 50304) is a warning
 * that states how many; a larger gap already failed vocab_size.
 */
static void check_padding(tv_verify_report *r, const tv_model *m, int64_t n_model,
                          int64_t n_tokens, bool gap_failed)
{
    if (!vr_selected(r, "padding"))
        return;
    const struct tv_tensor *emb = tv_model_embedding(m);
    const char *unit = emb ? "rows" : "ids";
    struct vtext who;
    vt_init(&who);
    if (emb) {
        vt_add(&who, "embedding %s has %lld rows", emb->name, (long long)emb->shape[0]);
        n_model = (int64_t)emb->shape[0];
    } else {
        vt_add(&who, "the model states %lld ids", (long long)n_model);
    }
    struct vcheck *c;
    const struct tv_tensor *map = vr_row_map(m);
    struct map_use use;
    if (map && n_tokens >= 0) {
        if (row_map_use(map, emb->shape[0], &use) < 0) {
            r->failed_oom = true;
            return;
        }
        if (use.unused_rows)
            c = vr_add(r, "padding", TV_CHECK_WARN, "%s; %s maps the %lld tokens onto them: "
                       "%llu rows no token can reach", who.buf, map->name, (long long)n_tokens,
                       (unsigned long long)use.unused_rows);
        else
            c = vr_add(r, "padding", TV_CHECK_PASS, "%s; %s maps the %lld tokens onto all of "
                       "them", who.buf, map->name, (long long)n_tokens);
        vr_int(r, c, "unreachable", (int64_t)use.unused_rows);
        vr_int(r, c, "tokens", n_tokens);
        vr_int(r, c, "embedding_rows", n_model);
        return;
    }
    if (n_tokens < 0 || n_model < 0) {
        c = vr_add(r, "padding", TV_CHECK_SKIP, "%s", n_tokens < 0 ? "no vocabulary"
                   : "no embedding and no model vocab_size to compare the vocabulary with");
        return;
    }
    if (n_tokens > n_model) {
        c = vr_add(r, "padding", TV_CHECK_SKIP, "%s for %lld tokens: fewer %s than tokens (see "
                   "vocab_size)", who.buf, (long long)n_tokens, unit);
    } else if (n_tokens == n_model) {
        c = vr_add(r, "padding", TV_CHECK_PASS, "%s for %lld tokens: none beyond the last token",
                   who.buf, (long long)n_tokens);
    } else if (gap_failed) {
        c = vr_add(r, "padding", TV_CHECK_SKIP,
                   "%s for %lld tokens: a gap of %lld %s is too large to be padding (see "
                   "vocab_size)", who.buf, (long long)n_tokens, (long long)(n_model - n_tokens),
                   unit);
    } else {
        c = vr_add(r, "padding", TV_CHECK_WARN, "%s for %lld tokens: %lld %s no token can reach",
                   who.buf, (long long)n_tokens, (long long)(n_model - n_tokens), unit);
        vr_int(r, c, "unreachable", n_model - n_tokens);
    }
    vr_int(r, c, "tokens", n_tokens);
    vr_int(r, c, emb ? "embedding_rows" : "model_vocab_size", n_model);
}

/* ---- hidden_dim ---------------------------------------------------------------------------- */

/*
 * hidden_dim: the width every source states agrees (config.json hidden_size and its
 * aliases, GGUF {arch}.embedding_length, embedding columns, output-head columns). When
 * config.json has embedding_size (ALBERT) or word_embed_proj_dim (OPT), the embedding is
 * that wide rather than hidden_size, and that key is compared instead.
 */
static int check_hidden_dim(tv_verify_report *r, const tv_model *m)
{
    if (!vr_selected(r, "hidden_dim"))
        return 0;
    struct sources s = {0};
    const char *factored = NULL;
    int64_t factored_value = 0;
    static const char *const factored_keys[] = {"embedding_size", "word_embed_proj_dim"};
    for (size_t k = 0; m->config && k < TV_ARRAY_SIZE(factored_keys); k++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(m->config, factored_keys[k]);
        if (item && tv_json_int(item, &factored_value) == 0) {
            factored = factored_keys[k];
            break;
        }
    }
    if (factored && sources_add(r, &s, (struct source){factored_value,
                                                       vr_file(r, m->config_file), factored,
                                                       SRC_CLAIM, true}) < 0)
        goto out;
    for (size_t i = 0; i < m->n_claims; i++) {
        const struct tv_claim *c = &m->claims[i];
        if (c->kind != TV_CLAIM_HIDDEN_DIM)
            continue;
        if (factored && m->config_file && strcmp(c->file, m->config_file) == 0)
            continue; /* hidden_size is the transformer's width, not the embedding's */
        if (sources_add(r, &s, (struct source){c->value, vr_file(r, c->file), c->key,
                                               SRC_CLAIM, true}) < 0)
            goto out;
    }
    const struct tv_tensor *emb = tv_model_embedding(m), *head = find_head(m);
    if (emb && sources_add(r, &s, (struct source){(int64_t)emb->shape[1], vr_file(r, emb->file),
                                                  emb->name, SRC_COLUMNS, true}) < 0)
        goto out;
    if (head && sources_add(r, &s, (struct source){(int64_t)head->shape[1],
                                                   vr_file(r, head->file), head->name,
                                                   SRC_COLUMNS, true}) < 0)
        goto out;
    struct vtext t;
    vt_init(&t);
    struct vcheck *c;
    if (s.n < 2) {
        if (s.n == 1)
            describe(&t, &s.items[0]);
        c = vr_add(r, "hidden_dim", TV_CHECK_SKIP, "%s%s: nothing to compare with",
                   s.n ? "only " : "", s.n ? t.buf : "no source states a hidden size");
    } else {
        const struct source *ref = &s.items[0];
        /* prefer the embedding as the reference: the data is what a loader gets */
        for (size_t i = 0; i < s.n; i++)
            if (s.items[i].kind == SRC_COLUMNS) {
                ref = &s.items[i];
                break;
            }
        for (size_t i = 0; i < s.n; i++) {
            if (s.items[i].value == ref->value)
                continue;
            vt_add(&t, "%s", t.len ? "; " : "");
            describe(&t, &s.items[i]);
            vt_add(&t, " but ");
            describe(&t, ref);
        }
        if (t.len) {
            c = vr_add(r, "hidden_dim", TV_CHECK_FAIL, "%s", t.buf);
        } else {
            vt_add(&t, "%lld", (long long)ref->value);
            for (size_t i = 0; i < s.n; i++) {
                vt_add(&t, " = ");
                describe_short(&t, &s.items[i]);
            }
            c = vr_add(r, "hidden_dim", TV_CHECK_PASS, "%s", t.buf);
        }
    }
    source_values(r, c, &s);
out:
    tv_free(s.items);
    return r->failed_oom ? -1 : 0;
}

/* ---- tied_embeddings ------------------------------------------------------------------------ */

enum same { SAME_STORAGE, SAME_BYTES, SAME_VALUES, DIFFERENT, NOT_COMPARABLE };

/* Compares two [rows, cols] tensors: storage, then bytes (row by row, so that the first
   differing row is known), then, for different dtypes, values through float32. */
static enum same compare_tensors(const struct tv_tensor *a, const struct tv_tensor *b,
                                 uint64_t *first_row)
{
    *first_row = 0;
    if (a->shape[0] != b->shape[0] || a->shape[1] != b->shape[1])
        return DIFFERENT;
    if (!a->data || !b->data)
        return NOT_COMPARABLE;
    if (a->data == b->data && a->dtype == b->dtype)
        return SAME_STORAGE;
    uint64_t rows = a->shape[0], cols = a->shape[1];
    if (a->dtype == b->dtype) {
        uint64_t row_bytes;
        if (tv_dtype_bytes(a->dtype, cols, &row_bytes, NULL) < 0)
            return NOT_COMPARABLE;
        for (uint64_t i = 0; i < rows; i++)
            if (memcmp(a->data + i * row_bytes, b->data + i * row_bytes, row_bytes) != 0) {
                *first_row = i;
                return DIFFERENT;
            }
        return SAME_BYTES;
    }
    if (!tv_dtype_can_to_f32(a->dtype) || !tv_dtype_can_to_f32(b->dtype) || cols > (1u << 26))
        return NOT_COMPARABLE;
    enum same result = SAME_VALUES;
    float *ra = tv_malloc(cols * sizeof *ra), *rb = tv_malloc(cols * sizeof *rb);
    if (!ra || !rb) {
        result = NOT_COMPARABLE;
        goto out;
    }
    for (uint64_t i = 0; i < rows; i++) {
        if (tv_tensor_rows_f32(a, i, 1, ra, NULL) < 0 || tv_tensor_rows_f32(b, i, 1, rb, NULL) < 0) {
            result = NOT_COMPARABLE;
            break;
        }
        if (memcmp(ra, rb, cols * sizeof *ra) != 0) {
            *first_row = i;
            result = DIFFERENT;
            break;
        }
    }
out:
    tv_free(ra);
    tv_free(rb);
    return result;
}

/* Whether config.json's architectures name a model with an output head. */
static bool has_lm_architecture(const tv_model *m)
{
    const struct tv_meta *arch = tv_model_meta_find_origin(m, TV_ORIGIN_CONFIG, "architectures");
    if (!arch || arch->value.type != TV_VALUE_ARRAY ||
        arch->value.as.arr.elem_type != TV_VALUE_STRING)
        return false;
    const struct tv_str *names = arch->value.as.arr.data;
    static const char *const heads[] = {"ForCausalLM", "LMHeadModel", "ForConditionalGeneration",
                                        "ForMaskedLM"};
    for (uint64_t i = 0; i < arch->value.as.arr.n; i++)
        for (size_t k = 0; k < TV_ARRAY_SIZE(heads); k++) {
            size_t hl = strlen(heads[k]);
            if (names[i].len >= hl &&
                memcmp(names[i].ptr + names[i].len - hl, heads[k], hl) == 0)
                return true;
        }
    return false;
}

/*
 * tied_embeddings: tie_word_embeddings = true with a separate head whose data differs
 * (a loader that ties them silently discards the head) fails; = false with no head at
 * all fails for language-model architectures (the loader initialises a random head) and
 * warns otherwise.
 */
static int check_tied(tv_verify_report *r, const tv_model *m)
{
    if (!vr_selected(r, "tied_embeddings"))
        return 0;
    const struct tv_claim *claim = NULL;
    for (size_t i = 0; i < m->n_claims && !claim; i++)
        if (m->claims[i].kind == TV_CLAIM_TIED)
            claim = &m->claims[i];
    const struct tv_tensor *emb = tv_model_embedding(m), *head = find_head(m);
    struct vtext said;
    vt_init(&said);
    if (claim)
        vt_add(&said, "%s %s = %s", vr_file(r, claim->file), claim->key,
               claim->value ? "true" : "false");
    struct vcheck *c;
    if (!emb) {
        c = vr_add(r, "tied_embeddings", TV_CHECK_SKIP, "no token-embedding tensor%s%s",
                   claim ? " to compare with what " : "", claim ? said.buf : "");
        goto values;
    }
    if (!head) {
        if (!claim)
            c = vr_add(r, "tied_embeddings", TV_CHECK_SKIP,
                       "no tie_word_embeddings claim and no output head: %s serves as output "
                       "or the model has no head", emb->name);
        else if (claim->value)
            c = vr_add(r, "tied_embeddings", TV_CHECK_PASS,
                       "%s and there is no separate output head: %s serves as output", said.buf,
                       emb->name);
        else
            c = vr_add(r, "tied_embeddings", has_lm_architecture(m) ? TV_CHECK_FAIL
                                                                     : TV_CHECK_WARN,
                       "%s but there is no output head (looked for lm_head.weight, "
                       "output.weight, embed_out.weight): a loader will initialise it randomly",
                       said.buf);
        goto values;
    }
    uint64_t row = 0;
    enum same same = compare_tensors(emb, head, &row);
    static const char *const how[] = {"shares storage with", "holds the same bytes as",
                                      "holds the same values as", "differs from",
                                      "cannot be compared with"};
    if (claim && claim->value && same == DIFFERENT) {
        if (emb->shape[0] != head->shape[0] || emb->shape[1] != head->shape[1])
            c = vr_add(r, "tied_embeddings", TV_CHECK_FAIL,
                       "%s but %s [%llu x %llu] differs in shape from %s [%llu x %llu]: a "
                       "loader that ties them discards %s", said.buf, head->name,
                       (unsigned long long)head->shape[0], (unsigned long long)head->shape[1],
                       emb->name, (unsigned long long)emb->shape[0],
                       (unsigned long long)emb->shape[1], head->name);
        else
            c = vr_add(r, "tied_embeddings", TV_CHECK_FAIL,
                       "%s but %s differs from %s (first at row %llu): a loader that ties them "
                       "discards %s", said.buf, head->name, emb->name,
                       (unsigned long long)row, head->name);
        vr_int(r, c, "first_different_row", (int64_t)row);
    } else if (claim && claim->value && same == NOT_COMPARABLE) {
        c = vr_add(r, "tied_embeddings", TV_CHECK_SKIP,
                   "%s; %s cannot be compared with %s (data not loaded or %s/%s has no "
                   "conversion)", said.buf, head->name, emb->name, tv_dtype_name(head->dtype),
                   tv_dtype_name(emb->dtype));
    } else {
        c = vr_add(r, "tied_embeddings", TV_CHECK_PASS, "%s%s%s %s %s", said.buf,
                   claim ? "; " : "no tie_word_embeddings claim; ", head->name, how[same],
                   emb->name);
    }
values:
    if (claim)
        vr_int(r, c, "tie_word_embeddings", claim->value);
    if (head)
        vr_str(r, c, "head", head->name);
    if (emb)
        vr_str(r, c, "embedding", emb->name);
    return r->failed_oom ? -1 : 0;
}

/* ---- structure and reader findings ------------------------------------------------------ */

/* Reader findings about things a verify check already covers are folded into it. */
static const struct {
    const char *finding;
    const char *check;
} finding_targets[] = {
    {"vocab.added_id", "vocab.added_ids"},
    {"vocab.duplicate_id", "vocab.duplicates"},
    {"vocab.dense", "vocab.dense"},
    {"vocab.post_processor_id", "vocab.specials"},
    {"vocab.empty", "vocab_size"},
    {"vocab.unk_token", "vocab.specials"},
};

/* The structure checks the readers make, and which source they apply to: each is
   reported as passed when its reader ran and found nothing. */
enum source_kind { SOURCE_GGUF, SOURCE_SAFETENSORS, SOURCE_SAFETENSORS_INDEX, SOURCE_SENTENCEPIECE };
static const struct {
    const char *id;
    enum source_kind source;
} structure_checks[] = {
    {"structure.gguf_offsets", SOURCE_GGUF},
    {"structure.gguf_names", SOURCE_GGUF},
    {"structure.safetensors_alignment", SOURCE_SAFETENSORS},
    {"structure.safetensors_total_size", SOURCE_SAFETENSORS_INDEX},
    {"structure.special_id", SOURCE_SENTENCEPIECE},
    {"structure.vocab_size", SOURCE_SENTENCEPIECE},
    {"structure.byte_token", SOURCE_SENTENCEPIECE},
    {"structure.token_type", SOURCE_SENTENCEPIECE},
    {"structure.empty_token", SOURCE_SENTENCEPIECE},
};

static const char *source_file(const tv_model *m, enum source_kind kind)
{
    if (kind == SOURCE_GGUF)
        for (size_t i = 0; i < m->n_meta; i++)
            if (m->meta[i].origin == TV_ORIGIN_GGUF)
                return m->meta[i].file;
    static const char *const suffix[] = {".gguf", ".safetensors", ".safetensors.index.json",
                                         ".model"};
    for (size_t i = 0; i < m->n_files; i++)
        if (ends_with(m->files[i], suffix[kind]))
            return m->files[i];
    return NULL;
}

static struct vcheck *find_check(tv_verify_report *r, const char *id)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].pub.id, id) == 0)
            return &r->checks[i];
    return NULL;
}

/* All findings with this id as one line: "first message (and N more)", escaped. */
static void finding_text(const tv_verify_report *r, struct vtext *t, const tv_model *m,
                         const char *id, size_t *count, bool *fails)
{
    *count = 0;
    *fails = false;
    const char *first = NULL;
    for (size_t i = 0; i < m->n_findings; i++) {
        if (strcmp(m->findings[i].check, id) != 0)
            continue;
        if (!first)
            first = m->findings[i].message;
        ++*count;
        *fails |= m->findings[i].severity == TV_SEVERITY_FAIL;
    }
    if (first) {
        /* readers start with the file's full name: show it as the other messages do */
        const char *colon = strstr(first, ": ");
        if (colon && memchr(first, '/', (size_t)(colon - first)) && colon - first < 4096) {
            char path[4096];
            memcpy(path, first, (size_t)(colon - first));
            path[colon - first] = '\0';
            vt_text(t, vr_file(r, path));
            first = colon;
        }
        vt_text(t, first);
    }
    if (*count > 1)
        vt_add(t, " (and %zu more)", *count - 1);
}

/*
 * structure.* and the other reader findings: every finding becomes a check, one per
 * finding id (its first message, plus how many more; the worst severity decides), or
 * raises the check it belongs to (vocab.added_id -> vocab.added_ids). A structure check
 * whose reader ran without a finding passes; with no structure check at all, one
 * "structure" check passes for the files that were read.
 */
static int check_structure(tv_verify_report *r, const tv_model *m)
{
    size_t structure_results = 0;
    for (size_t i = 0; i < m->n_findings; i++) {
        const char *id = m->findings[i].check;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(m->findings[k].check, id) == 0;
        if (seen)
            continue;
        const char *target = id;
        for (size_t k = 0; k < TV_ARRAY_SIZE(finding_targets); k++)
            if (strcmp(finding_targets[k].finding, id) == 0)
                target = finding_targets[k].check;
        if (strncmp(id, "structure", 9) == 0)
            structure_results++;
        if (!vr_selected(r, target))
            continue;
        struct vtext t;
        vt_init(&t);
        size_t count;
        bool fails;
        finding_text(r, &t, m, id, &count, &fails);
        enum tv_check_status status = fails ? TV_CHECK_FAIL : TV_CHECK_WARN;
        struct vcheck *c = target != id ? find_check(r, target) : NULL;
        if (c) {
            struct vtext joined;
            vt_init(&joined);
            bool keep = c->pub.status == TV_CHECK_WARN || c->pub.status == TV_CHECK_FAIL;
            vt_add(&joined, "%s%s%s", keep ? c->pub.message : "", keep ? "; reader: " : "",
                   t.buf);
            const char *msg = tv_arena_strndup(&r->arena, joined.buf, joined.len);
            if (!msg)
                return -1;
            c->pub.message = msg;
            if (!keep || status == TV_CHECK_FAIL)
                c->pub.status = status;
        } else {
            c = vr_add(r, id, status, "%s", t.buf);
        }
        vr_int(r, c, "reader_findings", (int64_t)count);
    }
    for (size_t k = 0; k < TV_ARRAY_SIZE(structure_checks); k++) {
        const char *id = structure_checks[k].id;
        const char *file = source_file(m, structure_checks[k].source);
        bool found = false;
        for (size_t i = 0; i < m->n_findings && !found; i++)
            found = strcmp(m->findings[i].check, id) == 0;
        if (found || !file)
            continue;
        structure_results++;
        if (vr_selected(r, id))
            vr_add(r, id, TV_CHECK_PASS, "%s: no problem found", vr_file(r, file));
    }
    if (!structure_results && vr_selected(r, "structure")) {
        struct vtext t;
        vt_init(&t);
        for (size_t i = 0; i < m->n_files; i++)
            vt_add(&t, "%s%s", i ? ", " : "", m->files[i]);
        struct vcheck *c = vr_add(r, "structure", TV_CHECK_PASS,
                                  "the readers found no structural problem in %zu file%s%s%s",
                                  m->n_files, m->n_files == 1 ? "" : "s", m->n_files ? ": " : "",
                                  t.buf);
        vr_int(r, c, "files", (int64_t)m->n_files);
    }
    return r->failed_oom ? -1 : 0;
}

/* ---- expect ----------------------------------------------------------------------------------- */

static void check_expect(tv_verify_report *r, const tv_model *m)
{
    const struct tv_tensor *emb = tv_model_embedding(m);
    const struct tv_vocab *v = tv_model_vocab(m);
    const struct tv_verify_options *o = &r->opt;
    struct vcheck *c;
    if (o->expect_vocab >= 0 && vr_selected(r, "expect.vocab")) {
        if (v && v->n_tokens) {
            c = vr_add(r, "expect.vocab", (int64_t)v->n_tokens == o->expect_vocab
                       ? TV_CHECK_PASS : TV_CHECK_FAIL, "expected %lld tokens: %s has %zu",
                       (long long)o->expect_vocab, vr_file(r, v->origin ? v->origin : "vocabulary"),
                       v->n_tokens);
            vr_int(r, c, "actual", (int64_t)v->n_tokens);
        } else if (emb) {
            c = vr_add(r, "expect.vocab", (int64_t)emb->shape[0] == o->expect_vocab
                       ? TV_CHECK_PASS : TV_CHECK_FAIL,
                       "expected %lld tokens: no vocabulary, %s has %llu rows",
                       (long long)o->expect_vocab, emb->name, (unsigned long long)emb->shape[0]);
            vr_int(r, c, "actual", (int64_t)emb->shape[0]);
        } else {
            c = vr_add(r, "expect.vocab", TV_CHECK_FAIL,
                       "expected %lld tokens: the model has no vocabulary and no embedding",
                       (long long)o->expect_vocab);
        }
        vr_int(r, c, "expected", o->expect_vocab);
    }
    if (o->expect_hidden >= 0 && vr_selected(r, "expect.hidden")) {
        if (emb) {
            c = vr_add(r, "expect.hidden", (int64_t)emb->shape[1] == o->expect_hidden
                       ? TV_CHECK_PASS : TV_CHECK_FAIL, "expected width %lld: %s has %llu columns",
                       (long long)o->expect_hidden, emb->name, (unsigned long long)emb->shape[1]);
            vr_int(r, c, "actual", (int64_t)emb->shape[1]);
        } else {
            c = vr_add(r, "expect.hidden", TV_CHECK_FAIL,
                       "expected width %lld: the model has no token-embedding tensor",
                       (long long)o->expect_hidden);
        }
        vr_int(r, c, "expected", o->expect_hidden);
    }
    if (o->expect_dtype >= 0 && vr_selected(r, "expect.dtype")) {
        const char *want = tv_dtype_name((enum tv_dtype)o->expect_dtype);
        if (emb) {
            c = vr_add(r, "expect.dtype", (int)emb->dtype == o->expect_dtype ? TV_CHECK_PASS
                                                                             : TV_CHECK_FAIL,
                       "expected %s: %s is %s", want, emb->name, tv_dtype_name(emb->dtype));
            vr_str(r, c, "actual", tv_dtype_name(emb->dtype));
        } else {
            c = vr_add(r, "expect.dtype", TV_CHECK_FAIL,
                       "expected %s: the model has no token-embedding tensor", want);
        }
        vr_str(r, c, "expected", want);
    }
}

/* ---- running ------------------------------------------------------------------------------- */

tv_verify_report *tv_verify_run(tv_model *m, const struct tv_verify_options *opt, tv_error *err)
{
    if (opt && (validate_list(opt->only, "--only", err) < 0 ||
                validate_list(opt->skip, "--skip", err) < 0))
        return NULL;
    tv_verify_report *r = report_new(m, opt);
    if (!r) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory starting verify", m->path);
        return NULL;
    }
    int64_t n_model, n_tokens;
    bool gap_failed;
    if (check_vocab_size(r, m, &n_model, &n_tokens, &gap_failed) < 0 ||
        check_hidden_dim(r, m) < 0)
        goto oom;
    check_padding(r, m, n_model, n_tokens, gap_failed);
    if (check_tied(r, m) < 0 || verify_vocab_checks(r, m) < 0 ||
        verify_embedding_checks(r, m) < 0 || check_structure(r, m) < 0)
        goto oom;
    check_expect(r, m);
    if (r->failed_oom)
        goto oom;
    return r;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory while verifying", m->path);
    tv_verify_report_free(r);
    return NULL;
}
