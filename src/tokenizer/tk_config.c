/*
 * Builds a tokenizer from tokenizer.json (the parsed document the reader keeps in
 * struct tv_vocab): model, added_tokens, normalizer, pre_tokenizer, decoder and
 * post_processor, with the reference's defaults for absent fields. Anything unknown
 * is an error that names the type and where it is ("tokenizer.json:
 * normalizer.normalizers[2]: unknown type 'Foo'"), never a silent wrong answer.
 *
 * Also the constructor for plain vocabulary files (vocab.json + merges.txt: GPT-2
 * style byte-level BPE; vocab.txt: BERT WordPiece).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok.h"

#define PATH_MAX_LEN 256

struct ctx {
    tv_tokenizer *t;
    const char *file;
    tv_error *err;
    size_t n_ids;   /* ids the vocabulary has (model + added); 0: not known */
};

/* A post-processor id must name a token: the reference would emit any number, but an id
   outside the vocabulary has no row in the embedding and no text to decode. */
static int check_processor_id(struct ctx *c, const char *path, uint64_t id)
{
    if (c->n_ids && id >= c->n_ids)
        return tv_error_set(c->err, TV_ERR_DATA,
                            "%s: %s: special token id %llu is outside the vocabulary (%zu ids)",
                            c->file, path, (unsigned long long)id, c->n_ids);
    return 0;
}

static int bad(struct ctx *c, const char *path, const char *fmt, const char *what)
{
    return tv_error_set(c->err, TV_ERR_DATA, "%s: %s: %s%s", c->file, path, fmt, what ? what : "");
}

static int unsupported(struct ctx *c, const char *path, const char *type)
{
    return tv_error_set(c->err, TV_ERR_UNSUPPORTED, "%s: %s: unknown type '%.100s'", c->file, path,
                        type);
}

static int oom(struct ctx *c)
{
    return tv_error_set(c->err, TV_ERR_NOMEM, "%s: out of memory building the tokenizer", c->file);
}

/* ---- JSON fields --------------------------------------------------------------------- */

static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, key);
    return f && !cJSON_IsNull(f) ? f : NULL;
}

static int get_bool(struct ctx *c, const cJSON *obj, const char *key, bool def, bool *out,
                    const char *path)
{
    const cJSON *f = field(obj, key);
    if (!f) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(f)) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%.200s.%s", path, key);
        return bad(c, p, "expected true or false", NULL);
    }
    *out = cJSON_IsTrue(f);
    return 0;
}

/* A string field: 1 and *out when present, 0 when absent or null, -1 when not a string. */
static int get_str(struct ctx *c, const cJSON *obj, const char *key, const char **out,
                   const char *path)
{
    const cJSON *f = field(obj, key);
    *out = NULL;
    if (!f)
        return 0;
    if (!cJSON_IsString(f) || !f->valuestring) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%.200s.%s", path, key);
        return bad(c, p, "expected a string", NULL);
    }
    *out = f->valuestring;
    return 1;
}

static int get_uint(struct ctx *c, const cJSON *obj, const char *key, uint64_t def,
                    uint64_t *out, const char *path)
{
    const cJSON *f = field(obj, key);
    if (!f) {
        *out = def;
        return 0;
    }
    if (tv_json_uint(f, out) < 0) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%.200s.%s", path, key);
        return bad(c, p, "expected a non-negative integer", NULL);
    }
    return 0;
}

/* A field holding exactly one Unicode character (Rust's char). */
static int get_char(struct ctx *c, const cJSON *obj, const char *key, uint32_t def,
                    uint32_t *out, const char *path)
{
    const char *s;
    int rc = get_str(c, obj, key, &s, path);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *out = def;
        return 0;
    }
    size_t len = strlen(s), bad_len;
    if (!len || tk_utf8_valid_prefix(s, len, &bad_len) != len ||
        (size_t)tk_utf8_len((unsigned char)s[0]) != len) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "%.200s.%s", path, key);
        return bad(c, p, "expected a single character, got ", s);
    }
    tk_utf8_next(s, out);
    return 0;
}

static const char *type_of(const cJSON *obj)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static char *dup_bytes(const char *s, size_t len)
{
    char *d = tv_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* {"String": "..."} or {"Regex": "..."}: a literal or an Oniguruma regex. */
static int get_pattern(struct ctx *c, const cJSON *obj, const char *key, struct tk_pattern *pat,
                       const char *path)
{
    char p[PATH_MAX_LEN];
    snprintf(p, sizeof p, "%.200s.%s", path, key);
    const cJSON *f = field(obj, key);
    if (!cJSON_IsObject(f))
        return bad(c, p, "expected {\"String\": ...} or {\"Regex\": ...}", NULL);
    const cJSON *lit = cJSON_GetObjectItemCaseSensitive(f, "String");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(f, "Regex");
    char where[PATH_MAX_LEN + 64];
    snprintf(where, sizeof where, "%s: %s", c->file, p);
    if (cJSON_IsString(lit)) {
        size_t len = strlen(lit->valuestring);
        pat->kind = TK_PAT_LITERAL;
        pat->literal = dup_bytes(lit->valuestring, len);
        pat->literal_len = len;
        if (!pat->literal)
            return oom(c);
        if (len == 0) {
            pat->re = tk_regex_new_literal("", 0, where, c->err);
            if (!pat->re)
                return -1;
        }
        return 0;
    }
    if (cJSON_IsString(re)) {
        pat->kind = TK_PAT_REGEX;
        pat->re = tk_regex_new(re->valuestring, strlen(re->valuestring), where, c->err);
        return pat->re ? 0 : -1;
    }
    return bad(c, p, "expected {\"String\": ...} or {\"Regex\": ...}", NULL);
}

static int get_behavior(struct ctx *c, const cJSON *obj, const char *key, bool required,
                        enum tk_behavior def, enum tk_behavior *out, const char *path)
{
    static const struct { const char *name; enum tk_behavior b; } names[] = {
        {"Removed", TK_REMOVED}, {"Isolated", TK_ISOLATED},
        {"MergedWithPrevious", TK_MERGED_WITH_PREVIOUS}, {"MergedWithNext", TK_MERGED_WITH_NEXT},
        {"Contiguous", TK_CONTIGUOUS},
    };
    const char *s;
    int rc = get_str(c, obj, key, &s, path);
    char p[PATH_MAX_LEN];
    snprintf(p, sizeof p, "%.200s.%s", path, key);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        if (required)
            return bad(c, p, "missing", NULL);
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].b;
            return 0;
        }
    return tv_error_set(c->err, TV_ERR_UNSUPPORTED, "%s: %s: unknown behavior '%.100s'", c->file, p,
                        s);
}

static int get_prepend_scheme(struct ctx *c, const cJSON *obj, enum tk_prepend *out,
                              const char *path)
{
    const char *s;
    int rc = get_str(c, obj, "prepend_scheme", &s, path);
    if (rc < 0)
        return -1;
    *out = TK_PREPEND_ALWAYS;
    if (rc == 1) {
        if (strcmp(s, "always") == 0)
            *out = TK_PREPEND_ALWAYS;
        else if (strcmp(s, "first") == 0)
            *out = TK_PREPEND_FIRST;
        else if (strcmp(s, "never") == 0)
            *out = TK_PREPEND_NEVER;
        else {
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%.200s.prepend_scheme", path);
            return tv_error_set(c->err, TV_ERR_UNSUPPORTED, "%s: %s: unknown scheme '%.100s'",
                                c->file, p, s);
        }
    }
    /* the older spelling: add_prefix_space false means never */
    bool aps;
    if (get_bool(c, obj, "add_prefix_space", true, &aps, path) < 0)
        return -1;
    if (!aps)
        *out = TK_PREPEND_NEVER;
    return 0;
}

static int base64_decode(const char *s, uint8_t **out, size_t *out_len)
{
    size_t len = strlen(s);
    uint8_t *buf = tv_malloc(len / 4 * 3 + 3);
    if (!buf)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        int v;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+')
            v = 62;
        else if (ch == '/')
            v = 63;
        else if (ch == '=')
            break;
        else {
            tv_free(buf);
            return -2;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = o;
    return 0;
}

/* ---- normalizers ------------------------------------------------------------------------- */

static int push_norm(struct ctx *c, struct tk_normalizer *n)
{
    tv_tokenizer *t = c->t;
    size_t cap = t->n_norms;
    if (tv_grow((void **)&t->norms, &cap, t->n_norms + 1, sizeof *t->norms, c->err) < 0) {
        tk_normalizer_release(n);
        return -1;
    }
    t->norms[t->n_norms++] = *n;
    return 0;
}

/* What every component object (normalizer, pre-tokenizer, decoder, post-processor)
   shares: a depth bound, an object, a "type". Returns the type, or NULL with err set. */
static const char *component_type(struct ctx *c, const cJSON *obj, const char *path, int depth)
{
    if (depth > TV_TOKENIZER_JSON_MAX_DEPTH) {
        tv_error_set(c->err, TV_ERR_LIMIT, "%s: %s: Sequences nested %d deep (at most %d)",
                     c->file, path, depth, TV_TOKENIZER_JSON_MAX_DEPTH);
        return NULL;
    }
    if (!cJSON_IsObject(obj)) {
        bad(c, path, "expected an object", NULL);
        return NULL;
    }
    const char *type = type_of(obj);
    if (!type)
        bad(c, path, "missing \"type\"", NULL);
    return type;
}

/* A {"type": "Sequence", "<key>": [...]} component: parse each element in order. */
static int parse_sequence(struct ctx *c, const cJSON *obj, const char *path, const char *key,
                          int depth,
                          int (*parse)(struct ctx *, const cJSON *, const char *, int))
{
    const cJSON *list = field(obj, key);
    if (!cJSON_IsArray(list))
        return tv_error_set(c->err, TV_ERR_DATA, "%s: %s: Sequence without a \"%s\" list",
                            c->file, path, key);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%.200s.%s[%d]", path, key, i++);
        if (parse(c, item, sub, depth + 1) < 0)
            return -1;
    }
    return 0;
}

static int parse_normalizer(struct ctx *c, const cJSON *obj, const char *path, int depth)
{
    const char *type = component_type(c, obj, path, depth);
    if (!type)
        return -1;
    struct tk_normalizer n = {0};
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, obj, path, "normalizers", depth, parse_normalizer);
    if (strcmp(type, "NFC") == 0)
        n.kind = TK_NORM_NFC;
    else if (strcmp(type, "NFD") == 0)
        n.kind = TK_NORM_NFD;
    else if (strcmp(type, "NFKC") == 0)
        n.kind = TK_NORM_NFKC;
    else if (strcmp(type, "NFKD") == 0)
        n.kind = TK_NORM_NFKD;
    else if (strcmp(type, "Lowercase") == 0)
        n.kind = TK_NORM_LOWERCASE;
    else if (strcmp(type, "StripAccents") == 0)
        n.kind = TK_NORM_STRIP_ACCENTS;
    else if (strcmp(type, "Nmt") == 0)
        n.kind = TK_NORM_NMT;
    else if (strcmp(type, "ByteLevel") == 0)
        n.kind = TK_NORM_BYTE_LEVEL;
    else if (strcmp(type, "Strip") == 0) {
        n.kind = TK_NORM_STRIP;
        if (get_bool(c, obj, "strip_left", true, &n.left, path) < 0 ||
            get_bool(c, obj, "strip_right", true, &n.right, path) < 0)
            return -1;
    } else if (strcmp(type, "BertNormalizer") == 0) {
        n.kind = TK_NORM_BERT;
        if (get_bool(c, obj, "clean_text", true, &n.clean_text, path) < 0 ||
            get_bool(c, obj, "handle_chinese_chars", true, &n.chinese, path) < 0 ||
            get_bool(c, obj, "lowercase", true, &n.lowercase, path) < 0)
            return -1;
        /* strip_accents: null follows lowercase */
        if (get_bool(c, obj, "strip_accents", n.lowercase, &n.strip_accents, path) < 0)
            return -1;
    } else if (strcmp(type, "Replace") == 0) {
        n.kind = TK_NORM_REPLACE;
        const char *content;
        if (get_pattern(c, obj, "pattern", &n.pattern, path) < 0 ||
            get_str(c, obj, "content", &content, path) < 0) {
            tk_normalizer_release(&n);
            return -1;
        }
        if (!content) {
            tk_normalizer_release(&n);
            return bad(c, path, "Replace without \"content\"", NULL);
        }
        n.content_len = strlen(content);
        n.content = dup_bytes(content, n.content_len);
        if (!n.content) {
            tk_normalizer_release(&n);
            return oom(c);
        }
    } else if (strcmp(type, "Prepend") == 0) {
        n.kind = TK_NORM_PREPEND;
        const char *text;
        if (get_str(c, obj, "prepend", &text, path) < 0)
            return -1;
        if (!text)
            return bad(c, path, "Prepend without \"prepend\"", NULL);
        n.content_len = strlen(text);
        n.content = dup_bytes(text, n.content_len);
        if (!n.content)
            return oom(c);
    } else if (strcmp(type, "Precompiled") == 0) {
        n.kind = TK_NORM_PRECOMPILED;
        const char *b64;
        if (get_str(c, obj, "precompiled_charsmap", &b64, path) < 0)
            return -1;
        if (b64 && *b64) {
            uint8_t *blob;
            size_t len;
            int rc = base64_decode(b64, &blob, &len);
            if (rc == -1)
                return oom(c);
            if (rc < 0)
                return bad(c, path, "precompiled_charsmap is not base64", NULL);
            char where[PATH_MAX_LEN + 64];
            snprintf(where, sizeof where, "%s: %s", c->file, path);
            n.precompiled = tk_precompiled_new(blob, len, where, c->err);
            tv_free(blob);
            if (!n.precompiled)
                return -1;
        }
    } else {
        return unsupported(c, path, type);
    }
    return push_norm(c, &n);
}

/* ---- pre-tokenizers ---------------------------------------------------------------------- */

static int push_pretok(struct ctx *c, struct tk_pretok *p)
{
    tv_tokenizer *t = c->t;
    size_t cap = t->n_pretoks;
    if (tv_grow((void **)&t->pretoks, &cap, t->n_pretoks + 1, sizeof *t->pretoks, c->err) < 0) {
        tk_pretok_release(p);
        return -1;
    }
    t->pretoks[t->n_pretoks++] = *p;
    return 0;
}

static int set_replacement(struct tk_pretok *p, uint32_t cp)
{
    p->replacement = cp;
    p->replacement_len = tk_utf8_put(cp, p->replacement_utf8);
    return 0;
}

static int regex_pattern(struct ctx *c, struct tk_pattern *pat, const char *re, const char *path)
{
    char where[PATH_MAX_LEN + 64];
    snprintf(where, sizeof where, "%s: %s", c->file, path);
    pat->kind = TK_PAT_REGEX;
    pat->re = tk_regex_new(re, strlen(re), where, c->err);
    return pat->re ? 0 : -1;
}

static int parse_pretok(struct ctx *c, const cJSON *obj, const char *path, int depth)
{
    const char *type = component_type(c, obj, path, depth);
    if (!type)
        return -1;
    struct tk_pretok p = {0};
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, obj, path, "pretokenizers", depth, parse_pretok);
    if (strcmp(type, "ByteLevel") == 0) {
        p.kind = TK_PRE_BYTE_LEVEL;
        if (get_bool(c, obj, "add_prefix_space", true, &p.add_prefix_space, path) < 0 ||
            get_bool(c, obj, "use_regex", true, &p.use_regex, path) < 0)
            return -1;
        if (p.use_regex && regex_pattern(c, &p.pattern, tk_gpt2_regex, path) < 0)
            return -1;
    } else if (strcmp(type, "Split") == 0) {
        p.kind = TK_PRE_SPLIT;
        if (get_pattern(c, obj, "pattern", &p.pattern, path) < 0 ||
            get_behavior(c, obj, "behavior", true, TK_ISOLATED, &p.behavior, path) < 0 ||
            get_bool(c, obj, "invert", false, &p.invert, path) < 0) {
            tk_pretok_release(&p);
            return -1;
        }
    } else if (strcmp(type, "Metaspace") == 0) {
        p.kind = TK_PRE_METASPACE;
        uint32_t rep;
        if (get_char(c, obj, "replacement", 0x2581, &rep, path) < 0 ||
            get_prepend_scheme(c, obj, &p.prepend, path) < 0 ||
            get_bool(c, obj, "split", true, &p.split, path) < 0)
            return -1;
        set_replacement(&p, rep);
    } else if (strcmp(type, "Whitespace") == 0) {
        p.kind = TK_PRE_WHITESPACE;
        if (regex_pattern(c, &p.pattern, "\\w+|[^\\w\\s]+", path) < 0)
            return -1;
    } else if (strcmp(type, "WhitespaceSplit") == 0) {
        p.kind = TK_PRE_WHITESPACE_SPLIT;
    } else if (strcmp(type, "BertPreTokenizer") == 0) {
        p.kind = TK_PRE_BERT;
    } else if (strcmp(type, "Punctuation") == 0) {
        p.kind = TK_PRE_PUNCTUATION;
        if (get_behavior(c, obj, "behavior", false, TK_ISOLATED, &p.behavior, path) < 0)
            return -1;
    } else if (strcmp(type, "Digits") == 0) {
        p.kind = TK_PRE_DIGITS;
        bool individual;
        if (get_bool(c, obj, "individual_digits", false, &individual, path) < 0)
            return -1;
        p.behavior = individual ? TK_ISOLATED : TK_CONTIGUOUS;
    } else if (strcmp(type, "CharDelimiterSplit") == 0) {
        p.kind = TK_PRE_CHAR_DELIMITER;
        uint32_t d;
        if (get_char(c, obj, "delimiter", ' ', &d, path) < 0)
            return -1;
        set_replacement(&p, d);
    } else {
        return unsupported(c, path, type);
    }
    return push_pretok(c, &p);
}

/* ---- decoders ------------------------------------------------------------------------------ */

static int push_decoder(struct ctx *c, struct tk_decoder *d)
{
    tv_tokenizer *t = c->t;
    size_t cap = t->n_decoders;
    if (tv_grow((void **)&t->decoders, &cap, t->n_decoders + 1, sizeof *t->decoders, c->err) < 0) {
        tk_decoder_release(d);
        return -1;
    }
    t->decoders[t->n_decoders++] = *d;
    return 0;
}

static int set_text(struct ctx *c, char **dst, size_t *dst_len, const char *s)
{
    *dst_len = strlen(s);
    *dst = dup_bytes(s, *dst_len);
    return *dst ? 0 : oom(c);
}

static int parse_decoder(struct ctx *c, const cJSON *obj, const char *path, int depth)
{
    const char *type = component_type(c, obj, path, depth);
    if (!type)
        return -1;
    struct tk_decoder d = {0};
    const char *s;
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, obj, path, "decoders", depth, parse_decoder);
    if (strcmp(type, "ByteLevel") == 0) {
        d.kind = TK_DEC_BYTE_LEVEL;
    } else if (strcmp(type, "Metaspace") == 0) {
        d.kind = TK_DEC_METASPACE;
        if (get_char(c, obj, "replacement", 0x2581, &d.replacement, path) < 0 ||
            get_prepend_scheme(c, obj, &d.prepend, path) < 0)
            return -1;
    } else if (strcmp(type, "WordPiece") == 0) {
        d.kind = TK_DEC_WORDPIECE;
        if (get_str(c, obj, "prefix", &s, path) < 0 ||
            set_text(c, &d.text, &d.text_len, s ? s : "##") < 0 ||
            get_bool(c, obj, "cleanup", true, &d.cleanup, path) < 0) {
            tk_decoder_release(&d);
            return -1;
        }
    } else if (strcmp(type, "ByteFallback") == 0) {
        d.kind = TK_DEC_BYTE_FALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        d.kind = TK_DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        d.kind = TK_DEC_STRIP;
        uint64_t start, stop;
        if (get_char(c, obj, "content", ' ', &d.strip_char, path) < 0 ||
            get_uint(c, obj, "start", 0, &start, path) < 0 ||
            get_uint(c, obj, "stop", 0, &stop, path) < 0)
            return -1;
        d.strip_start = (size_t)start;
        d.strip_stop = (size_t)stop;
    } else if (strcmp(type, "Replace") == 0) {
        d.kind = TK_DEC_REPLACE;
        if (get_pattern(c, obj, "pattern", &d.pattern, path) < 0 ||
            get_str(c, obj, "content", &s, path) < 0 ||
            set_text(c, &d.text, &d.text_len, s ? s : "") < 0) {
            tk_decoder_release(&d);
            return -1;
        }
    } else if (strcmp(type, "BPEDecoder") == 0) {
        d.kind = TK_DEC_BPE;
        if (get_str(c, obj, "suffix", &s, path) < 0 ||
            set_text(c, &d.text, &d.text_len, s ? s : "</w>") < 0)
            return -1;
    } else if (strcmp(type, "CTC") == 0) {
        d.kind = TK_DEC_CTC;
        const char *delim;
        if (get_str(c, obj, "pad_token", &s, path) < 0 ||
            get_str(c, obj, "word_delimiter_token", &delim, path) < 0 ||
            get_bool(c, obj, "cleanup", true, &d.cleanup, path) < 0 ||
            set_text(c, &d.text, &d.text_len, s ? s : "<pad>") < 0 ||
            set_text(c, &d.text2, &d.text2_len, delim ? delim : "|") < 0) {
            tk_decoder_release(&d);
            return -1;
        }
    } else {
        return unsupported(c, path, type);
    }
    return push_decoder(c, &d);
}

/* ---- post-processors ----------------------------------------------------------------------- */

static int push_proc(struct ctx *c, struct tk_processor *p)
{
    tv_tokenizer *t = c->t;
    size_t cap = t->n_procs;
    if (tv_grow((void **)&t->procs, &cap, t->n_procs + 1, sizeof *t->procs, c->err) < 0) {
        tk_processor_release(p);
        return -1;
    }
    t->procs[t->n_procs++] = *p;
    return 0;
}

/* ["[SEP]", 102] */
static int get_pair_id(struct ctx *c, const cJSON *obj, const char *key, uint32_t *id,
                       const char *path)
{
    const cJSON *f = field(obj, key);
    uint64_t v;
    char p[PATH_MAX_LEN];
    snprintf(p, sizeof p, "%.200s.%s", path, key);
    if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 2 ||
        tv_json_uint(cJSON_GetArrayItem(f, 1), &v) < 0 || v > UINT32_MAX)
        return bad(c, p, "expected [\"token\", id]", NULL);
    if (check_processor_id(c, p, v) < 0)
        return -1;
    *id = (uint32_t)v;
    return 0;
}

static int parse_template(struct ctx *c, const cJSON *obj, struct tk_processor *p,
                          const char *path)
{
    const cJSON *single = field(obj, "single");
    const cJSON *specials = field(obj, "special_tokens");
    char sp[PATH_MAX_LEN];
    snprintf(sp, sizeof sp, "%.200s.single", path);
    if (!cJSON_IsArray(single))
        return bad(c, sp, "expected a list of template pieces", NULL);
    int n = cJSON_GetArraySize(single);
    p->items = tv_calloc((size_t)(n ? n : 1), sizeof *p->items);
    if (!p->items)
        return oom(c);
    const cJSON *item;
    int i = 0;
    cJSON_ArrayForEach(item, single) {
        char ip[PATH_MAX_LEN];
        snprintf(ip, sizeof ip, "%.200s[%d]", sp, i++);
        struct tk_template_item *it = &p->items[p->n_items++];
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(item, "Sequence");
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(item, "SpecialToken");
        if (cJSON_IsObject(seq)) {
            it->is_sequence = true;
            continue;
        }
        const cJSON *name = tok ? cJSON_GetObjectItemCaseSensitive(tok, "id") : NULL;
        if (!cJSON_IsString(name))
            return bad(c, ip, "expected {\"Sequence\": ...} or {\"SpecialToken\": {\"id\": ...}}",
                       NULL);
        const cJSON *spec = specials ? cJSON_GetObjectItemCaseSensitive(specials,
                                                                          name->valuestring)
                                     : NULL;
        const cJSON *ids = spec ? cJSON_GetObjectItemCaseSensitive(spec, "ids") : NULL;
        if (!cJSON_IsArray(ids))
            return tv_error_set(c->err, TV_ERR_DATA,
                                "%s: %s: special token '%.100s' is not in special_tokens", c->file,
                                ip, name->valuestring);
        int n_ids = cJSON_GetArraySize(ids);
        it->ids = tv_malloc((size_t)(n_ids ? n_ids : 1) * sizeof *it->ids);
        if (!it->ids)
            return oom(c);
        const cJSON *idv;
        cJSON_ArrayForEach(idv, ids) {
            uint64_t v;
            if (tv_json_uint(idv, &v) < 0 || v > UINT32_MAX)
                return bad(c, ip, "special token ids must be non-negative integers", NULL);
            if (check_processor_id(c, ip, v) < 0)
                return -1;
            it->ids[it->n_ids++] = (uint32_t)v;
        }
    }
    return 0;
}

static int parse_processor(struct ctx *c, const cJSON *obj, const char *path, int depth)
{
    const char *type = component_type(c, obj, path, depth);
    if (!type)
        return -1;
    struct tk_processor p = {0};
    if (strcmp(type, "Sequence") == 0)
        return parse_sequence(c, obj, path, "processors", depth, parse_processor);
    if (strcmp(type, "TemplateProcessing") == 0) {
        p.kind = TK_PROC_TEMPLATE;
        if (parse_template(c, obj, &p, path) < 0) {
            tk_processor_release(&p);
            return -1;
        }
    } else if (strcmp(type, "BertProcessing") == 0) {
        p.kind = TK_PROC_BERT;
        if (get_pair_id(c, obj, "sep", &p.sep, path) < 0 ||
            get_pair_id(c, obj, "cls", &p.cls, path) < 0)
            return -1;
    } else if (strcmp(type, "RobertaProcessing") == 0) {
        p.kind = TK_PROC_ROBERTA;
        if (get_pair_id(c, obj, "sep", &p.sep, path) < 0 ||
            get_pair_id(c, obj, "cls", &p.cls, path) < 0 ||
            get_bool(c, obj, "trim_offsets", true, &p.trim_offsets, path) < 0 ||
            get_bool(c, obj, "add_prefix_space", true, &p.add_prefix_space, path) < 0)
            return -1;
    } else if (strcmp(type, "ByteLevel") == 0) {
        p.kind = TK_PROC_BYTE_LEVEL;
        if (get_bool(c, obj, "trim_offsets", true, &p.trim_offsets, path) < 0 ||
            get_bool(c, obj, "add_prefix_space", true, &p.add_prefix_space, path) < 0)
            return -1;
    } else {
        return unsupported(c, path, type);
    }
    return push_proc(c, &p);
}


/* ---- Unigram scores as the reference reads them -------------------------------------------- */

/*
 * The reference reads tokenizer.json with serde_json without its float_roundtrip
 * feature: a number's digits become an integer (digits past 19 ignored), converted to a
 * double and then multiplied or divided once by a power of ten. For 17-digit scores
 * this is often one unit in the last place away from the correctly rounded value that
 * cJSON gives, and Unigram's Viterbi breaks near-ties by those last bits. So the scores
 * are parsed again from the original text, the same way.
 */
static double serde_f64(const char *p, const char *end, const double *pow10)
{
    bool positive = true;
    if (p < end && *p == '-') {
        positive = false;
        p++;
    }
    uint64_t sig = 0;
    int32_t exp = 0;
    bool overflow = false;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (overflow || sig > (UINT64_MAX - digit) / 10) {
            overflow = true; /* further integer digits: the reference switches to a float */
            exp++;
            continue;
        }
        sig = sig * 10 + digit;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            uint64_t digit = (uint64_t)(*p - '0');
            if (overflow || sig > (UINT64_MAX - digit) / 10) {
                overflow = true; /* digits past the 64-bit significand are ignored */
                continue;
            }
            sig = sig * 10 + digit;
            exp--;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool neg = false;
        if (p < end && (*p == '+' || *p == '-'))
            neg = *p++ == '-';
        int64_t e = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        exp = (int32_t)(neg ? exp - e : exp + e);
    }
    double f = (double)sig;
    for (;;) {
        int32_t a = exp < 0 ? -exp : exp;
        if (a <= 308) {
            f = exp >= 0 ? f * pow10[a] : f / pow10[a];
            break;
        }
        if (f == 0.0 || exp >= 0)
            break; /* the reference: 0, or an out-of-range error (cJSON read it anyway) */
        f /= 1e308;
        exp += 308;
    }
    return positive ? f : -f;
}

/* A tiny scanner over the original text, enough to walk to model.vocab. */
struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Skips a string; *raw gets its bytes between the quotes (escapes left as they are). */
static bool skip_string(struct scan *s, const char **raw, size_t *raw_len)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    const char *start = ++s->p;
    while (s->p < s->end && *s->p != '"')
        s->p += *s->p == '\\' ? 2 : 1;
    if (s->p >= s->end)
        return false;
    if (raw) {
        *raw = start;
        *raw_len = (size_t)(s->p - start);
    }
    s->p++;
    return true;
}

static bool skip_value(struct scan *s, int depth)
{
    skip_ws(s);
    if (s->p >= s->end || depth > 64)
        return false;
    char c = *s->p;
    if (c == '"')
        return skip_string(s, NULL, NULL);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(s);
                if (!skip_string(s, NULL, NULL))
                    return false;
                skip_ws(s);
                if (s->p >= s->end || *s->p++ != ':')
                    return false;
            }
            if (!skip_value(s, depth + 1))
                return false;
            skip_ws(s);
            if (s->p >= s->end)
                return false;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p++ != close)
                return false;
            return true;
        }
    }
    while (s->p < s->end && !strchr(",]} \t\n\r", *s->p))
        s->p++;
    return true;
}

/* Moves to the value of key in the object at s->p. */
static bool find_key(struct scan *s, const char *key)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p++ != '{')
        return false;
    size_t key_len = strlen(key);
    for (;;) {
        skip_ws(s);
        const char *raw;
        size_t raw_len;
        if (!skip_string(s, &raw, &raw_len))
            return false;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        if (raw_len == key_len && memcmp(raw, key, key_len) == 0)
            return true;
        if (!skip_value(s, 0))
            return false;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ',')
            return false;
    }
}

/* Fills scores[0..n) from model.vocab's numbers in the original text; false when the
   text cannot be walked (the cJSON values are kept then). */
static bool serde_scores(const char *text, size_t len, size_t n, double *scores)
{
    if (!text)
        return false;
    double *pow10 = tv_malloc(309 * sizeof *pow10);
    if (!pow10)
        return false;
    for (int i = 0; i <= 308; i++) {
        char lit[8];
        snprintf(lit, sizeof lit, "1e%d", i);
        pow10[i] = strtod(lit, NULL); /* correctly rounded, as Rust's literals */
    }
    struct scan s = {text, text + len};
    bool ok = find_key(&s, "model") && find_key(&s, "vocab");
    skip_ws(&s);
    ok = ok && s.p < s.end && *s.p++ == '[';
    size_t i = 0;
    while (ok && i < n) {
        skip_ws(&s);
        ok = s.p < s.end && *s.p++ == '[' && (skip_ws(&s), skip_string(&s, NULL, NULL));
        skip_ws(&s);
        ok = ok && s.p < s.end && *s.p++ == ',';
        skip_ws(&s);
        const char *num = s.p;
        while (ok && s.p < s.end && !strchr(",] \t\n\r", *s.p))
            s.p++;
        if (ok)
            scores[i++] = serde_f64(num, s.p, pow10);
        skip_ws(&s);
        ok = ok && s.p < s.end && *s.p++ == ']';
        skip_ws(&s);
        if (ok && i < n)
            ok = s.p < s.end && *s.p++ == ',';
    }
    tv_free(pow10);
    return ok && i == n;
}

/* ---- model -------------------------------------------------------------------------------- */

static int set_id_text(struct ctx *c, struct tk_model *m, uint64_t id, const char *s, size_t len)
{
    if (id >= TV_MAX_TOKENS)
        return tv_error_set(c->err, TV_ERR_LIMIT, "%s: model.vocab: id %llu exceeds the limit of %u",
                            c->file, (unsigned long long)id, TV_MAX_TOKENS);
    if (id >= m->n_ids) {
        if (id >= m->cap_ids) {
            size_t cap = m->cap_ids, cap2 = m->cap_ids;
            if (tv_grow((void **)&m->id_text, &cap, (size_t)id + 1, sizeof *m->id_text,
                        c->err) < 0 ||
                tv_grow((void **)&m->id_len, &cap2, (size_t)id + 1, sizeof *m->id_len, c->err) < 0)
                return -1;
            m->cap_ids = cap < cap2 ? cap : cap2;
        }
        for (size_t i = m->n_ids; i <= id; i++) {
            m->id_text[i] = NULL;
            m->id_len[i] = 0;
        }
        m->n_ids = (size_t)id + 1;
    }
    m->id_text[id] = s;
    m->id_len[id] = (uint32_t)len;
    return 0;
}

/* Lengths of ids must be exact: reserve the arrays to the vocabulary size first. */
static int reserve_ids(struct ctx *c, struct tk_model *m, size_t n)
{
    if (!n)
        return 0;
    m->id_text = tv_calloc(n, sizeof *m->id_text);
    m->id_len = tv_calloc(n, sizeof *m->id_len);
    if (!m->id_text || !m->id_len)
        return oom(c);
    m->n_ids = 0;
    m->cap_ids = n;
    return 0;
}

static int set_affix(struct ctx *c, char **dst, size_t *len, const char *s)
{
    if (!s || !*s)
        return 0;
    return set_text(c, dst, len, s);
}

/* Merges as "a b" strings or ["a", "b"] pairs. */
static int read_merges(struct ctx *c, const cJSON *list, struct tv_merge **out, size_t *n_out)
{
    int n = cJSON_GetArraySize(list);
    struct tv_merge *merges = tv_malloc((size_t)(n ? n : 1) * sizeof *merges);
    if (!merges)
        return oom(c);
    size_t k = 0;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "model.merges[%d]", i++);
        if (cJSON_IsString(item)) {
            const char *s = item->valuestring;
            if (strncmp(s, "#version", 8) == 0)
                continue;
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                tv_free(merges);
                return bad(c, p, "expected two tokens separated by one space, got ", s);
            }
            merges[k++] = (struct tv_merge){s, sp + 1, (uint32_t)(sp - s), (uint32_t)strlen(sp + 1)};
        } else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(item, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(item, 1))) {
            const char *a = cJSON_GetArrayItem(item, 0)->valuestring;
            const char *b = cJSON_GetArrayItem(item, 1)->valuestring;
            merges[k++] = (struct tv_merge){a, b, (uint32_t)strlen(a), (uint32_t)strlen(b)};
        } else {
            tv_free(merges);
            return bad(c, p, "expected \"a b\" or [\"a\", \"b\"]", NULL);
        }
    }
    *out = merges;
    *n_out = k;
    return 0;
}

static int parse_model(struct ctx *c, struct tv_vocab *v)
{
    tv_tokenizer *t = c->t;
    struct tk_model *m = &t->m;
    const cJSON *mj = v->model_json;
    const char *type = type_of(mj);
    if (!type) {
        /* files from before "type" was written: the reader told the kind */
        switch (v->kind) {
        case TV_TOKENIZER_BPE: type = "BPE"; break;
        case TV_TOKENIZER_WORDPIECE: type = "WordPiece"; break;
        case TV_TOKENIZER_WORDLEVEL: type = "WordLevel"; break;
        case TV_TOKENIZER_UNIGRAM: type = "Unigram"; break;
        default: return bad(c, "model", "missing \"type\"", NULL);
        }
    }
    m->unk_id = -1;
    const cJSON *vocab = field(mj, "vocab");
    if (strcmp(type, "Unigram") == 0) {
        m->kind = TK_MODEL_UNIGRAM;
        if (!cJSON_IsArray(vocab))
            return bad(c, "model.vocab", "expected a list of [piece, score]", NULL);
        size_t n = (size_t)cJSON_GetArraySize(vocab);
        if (n > TV_MAX_TOKENS)
            return tv_error_set(c->err, TV_ERR_LIMIT, "%s: model.vocab: %zu pieces (at most %u)",
                                c->file, n, TV_MAX_TOKENS);
        double *scores = tv_malloc((n ? n : 1) * sizeof *scores);
        if (!scores || reserve_ids(c, m, n) < 0) {
            tv_free(scores);
            return oom(c);
        }
        size_t id = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, vocab) {
            const cJSON *piece = cJSON_GetArrayItem(item, 0), *score = cJSON_GetArrayItem(item, 1);
            if (!cJSON_IsArray(item) || !cJSON_IsString(piece) || !cJSON_IsNumber(score)) {
                char p[PATH_MAX_LEN];
                snprintf(p, sizeof p, "model.vocab[%zu]", id);
                tv_free(scores);
                return bad(c, p, "expected [piece, score]", NULL);
            }
            size_t len = strlen(piece->valuestring);
            scores[id] = score->valuedouble;
            if (set_id_text(c, m, id, piece->valuestring, len) < 0 ||
                tk_strmap_set(&m->vocab, piece->valuestring, len, (uint32_t)id) < 0) {
                tv_free(scores);
                return oom(c);
            }
            id++;
        }
        m->vocab_count = n;
        /* the reference's reading of the scores (see serde_f64); the correctly rounded
           ones stay when the original text is not at hand */
        double *exact = tv_malloc((n ? n : 1) * sizeof *exact);
        if (exact && serde_scores(v->json_text, v->json_text_len, n, exact))
            memcpy(scores, exact, n * sizeof *scores);
        tv_free(exact);
        uint64_t unk;
        bool fallback;
        if (get_bool(c, mj, "byte_fallback", false, &fallback, "model") < 0) {
            tv_free(scores);
            return -1;
        }
        m->byte_fallback = fallback;
        m->fuse_unk = true;
        if (field(mj, "unk_id")) {
            if (get_uint(c, mj, "unk_id", 0, &unk, "model") < 0) {
                tv_free(scores);
                return -1;
            }
            if (unk >= n) {
                tv_free(scores);
                return tv_error_set(c->err, TV_ERR_DATA,
                                    "%s: model.unk_id %llu is outside the %zu pieces", c->file,
                                    (unsigned long long)unk, n);
            }
            m->unk_id = (int64_t)unk;
        }
        int rc = tk_unigram_init(m, scores, n, c->err);
        tv_free(scores);
        return rc;
    }
    if (strcmp(type, "BPE") == 0)
        m->kind = TK_MODEL_BPE;
    else if (strcmp(type, "WordPiece") == 0)
        m->kind = TK_MODEL_WORDPIECE;
    else if (strcmp(type, "WordLevel") == 0)
        m->kind = TK_MODEL_WORDLEVEL;
    else
        return unsupported(c, "model", type);
    if (!cJSON_IsObject(vocab))
        return bad(c, "model.vocab", "expected an object of token: id", NULL);
    if (reserve_ids(c, m, (size_t)cJSON_GetArraySize(vocab)) < 0)
        return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, vocab) {
        uint64_t id;
        if (tv_json_uint(item, &id) < 0) {
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "model.vocab['%.100s']", item->string ? item->string : "");
            return bad(c, p, "expected a non-negative integer id", NULL);
        }
        size_t len = strlen(item->string);
        if (set_id_text(c, m, id, item->string, len) < 0 ||
            tk_strmap_set(&m->vocab, item->string, len, (uint32_t)id) < 0)
            return oom(c);
    }
    m->vocab_count = m->vocab.count;
    const char *unk = NULL, *prefix = NULL, *suffix = NULL;
    const char *default_unk = m->kind == TK_MODEL_WORDPIECE ? "[UNK]"
                              : m->kind == TK_MODEL_WORDLEVEL ? "<unk>" : NULL;
    if (get_str(c, mj, "unk_token", &unk, "model") < 0)
        return -1;
    if (!unk)
        unk = default_unk;
    if (unk) {
        m->unk = unk;
        m->unk_len = strlen(unk);
        uint32_t id;
        if (tk_strmap_get(&m->vocab, unk, m->unk_len, &id))
            m->unk_id = id;
    }
    if (m->kind == TK_MODEL_WORDLEVEL)
        return 0;
    if (get_str(c, mj, "continuing_subword_prefix", &prefix, "model") < 0)
        return -1;
    if (m->kind == TK_MODEL_WORDPIECE) {
        uint64_t max_chars;
        if (set_text(c, &m->prefix, &m->prefix_len, prefix ? prefix : "##") < 0 ||
            get_uint(c, mj, "max_input_chars_per_word", 100, &max_chars, "model") < 0)
            return -1;
        m->max_input_chars = (size_t)max_chars;
        return 0;
    }
    bool b;
    if (get_str(c, mj, "end_of_word_suffix", &suffix, "model") < 0 ||
        set_affix(c, &m->prefix, &m->prefix_len, prefix) < 0 ||
        set_affix(c, &m->suffix, &m->suffix_len, suffix) < 0)
        return -1;
    if (get_bool(c, mj, "byte_fallback", false, &b, "model") < 0)
        return -1;
    m->byte_fallback = b;
    if (get_bool(c, mj, "fuse_unk", false, &b, "model") < 0)
        return -1;
    m->fuse_unk = b;
    if (get_bool(c, mj, "ignore_merges", false, &b, "model") < 0)
        return -1;
    m->ignore_merges = b;
    const cJSON *mlist = field(mj, "merges");
    struct tv_merge *merges = NULL;
    size_t n_merges = 0;
    if (mlist) {
        if (!cJSON_IsArray(mlist))
            return bad(c, "model.merges", "expected a list", NULL);
        if (read_merges(c, mlist, &merges, &n_merges) < 0)
            return -1;
    }
    int rc = tk_bpe_init(m, merges, n_merges, c->file, c->err);
    tv_free(merges);
    return rc;
}

/* ---- added tokens ---------------------------------------------------------------------------- */

static int parse_added(struct ctx *c, const cJSON *list)
{
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    struct tk_added *items = tv_calloc((size_t)(n ? n : 1), sizeof *items);
    if (!items)
        return oom(c);
    size_t k = 0;
    int i = 0, rc = -1;
    const cJSON *item;
    if (list && !cJSON_IsArray(list)) {
        bad(c, "added_tokens", "expected a list", NULL);
        goto out;
    }
    cJSON_ArrayForEach(item, list) {
        char p[PATH_MAX_LEN];
        snprintf(p, sizeof p, "added_tokens[%d]", i++);
        const char *content;
        if (get_str(c, item, "content", &content, p) < 0)
            goto out;
        if (!content) {
            bad(c, p, "missing \"content\"", NULL);
            goto out;
        }
        struct tk_added *a = &items[k++];
        a->content = content;
        a->len = (uint32_t)strlen(content);
        if (get_bool(c, item, "special", false, &a->special, p) < 0 ||
            get_bool(c, item, "single_word", false, &a->single_word, p) < 0 ||
            get_bool(c, item, "lstrip", false, &a->lstrip, p) < 0 ||
            get_bool(c, item, "rstrip", false, &a->rstrip, p) < 0 ||
            get_bool(c, item, "normalized", !a->special, &a->normalized, p) < 0)
            goto out;
    }
    rc = tk_added_build(c->t, items, k, c->err);
out:
    tv_free(items);
    return rc;
}

int tk_config_from_json(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct ctx c = {t, t->origin, err, v->n_tokens};
    if (!cJSON_IsObject(v->model_json))
        return bad(&c, "model", "expected an object", NULL);
    if (parse_model(&c, v) < 0)
        return -1;
    if (v->normalizer && !cJSON_IsNull(v->normalizer) &&
        parse_normalizer(&c, v->normalizer, "normalizer", 0) < 0)
        return -1;
    if (v->pre_tokenizer && !cJSON_IsNull(v->pre_tokenizer) &&
        parse_pretok(&c, v->pre_tokenizer, "pre_tokenizer", 0) < 0)
        return -1;
    if (v->decoder && !cJSON_IsNull(v->decoder)) {
        t->has_decoder = true;
        if (parse_decoder(&c, v->decoder, "decoder", 0) < 0)
            return -1;
    }
    if (v->post_processor && !cJSON_IsNull(v->post_processor) &&
        parse_processor(&c, v->post_processor, "post_processor", 0) < 0)
        return -1;
    const cJSON *added = v->json ? cJSON_GetObjectItemCaseSensitive(v->json, "added_tokens") : NULL;
    if (added && cJSON_IsNull(added))
        added = NULL;
    return parse_added(&c, added);
}

/* ---- plain vocabularies ------------------------------------------------------------------------- */

/* The model from the vocabulary arrays (GGUF, vocab.json, vocab.txt). */
int tk_model_from_arrays(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct ctx c = {t, t->origin, err};
    struct tk_model *m = &t->m;
    m->unk_id = -1;
    if (reserve_ids(&c, m, v->n_tokens) < 0)
        return -1;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *tok = &v->tokens[id];
        if (!tok->text)
            continue;
        if (set_id_text(&c, m, id, tok->text, tok->len) < 0 ||
            tk_strmap_set(&m->vocab, tok->text, tok->len, (uint32_t)id) < 0)
            return oom(&c);
    }
    m->vocab_count = m->vocab.count;
    return 0;
}

int tk_config_from_vocab(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct ctx c = {t, t->origin, err};
    struct tk_model *m = &t->m;
    /* a SentencePiece .model, when this vocabulary is the one read from it (a folder
       may hold a tokenizer.model next to the vocab.txt it tokenizes with) */
    const struct tv_meta *spm = tv_model_meta_find(t->model, "sentencepiece.model_type");
    if (spm && spm->file && v->origin && strcmp(spm->file, v->origin) == 0)
        return tk_config_from_spm_file(t, v, err);
    if (tk_model_from_arrays(t, v, err) < 0)
        return -1;
    if (v->kind == TV_TOKENIZER_BPE && v->n_merges == 0 && v->n_tokens > 256)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: a BPE vocabulary of %zu tokens without merges (is merges.txt "
                            "missing?): it would tokenize into single characters", c.file,
                            v->n_tokens);
    if (v->kind == TV_TOKENIZER_BPE) {
        /* vocab.json + merges.txt: GPT-2's byte-level BPE */
        m->kind = TK_MODEL_BPE;
        if (tk_bpe_init(m, v->merges, v->n_merges, c.file, err) < 0)
            return -1;
        struct tk_pretok p = {.kind = TK_PRE_BYTE_LEVEL, .use_regex = true};
        if (regex_pattern(&c, &p.pattern, tk_gpt2_regex, "pre_tokenizer") < 0 ||
            push_pretok(&c, &p) < 0)
            return -1;
        struct tk_decoder d = {.kind = TK_DEC_BYTE_LEVEL};
        t->has_decoder = true;
        if (push_decoder(&c, &d) < 0)
            return -1;
    } else if (v->kind == TV_TOKENIZER_WORDPIECE) {
        /* vocab.txt: BERT (lowercased unless tokenizer_config.json says otherwise) */
        m->kind = TK_MODEL_WORDPIECE;
        m->max_input_chars = 100;
        if (set_text(&c, &m->prefix, &m->prefix_len, "##") < 0)
            return -1;
        m->unk = "[UNK]";
        m->unk_len = 5;
        uint32_t id;
        if (tk_strmap_get(&m->vocab, "[UNK]", 5, &id))
            m->unk_id = id;
        /* tokenizer_config.json's do_lower_case; without it, a vocabulary with
           capitalised words (bert-base-cased) is cased, one without is uncased */
        bool lower = true;
        for (size_t k = 0; k < m->n_ids && lower; k++) {
            const char *w = m->id_text[k];
            if (w && m->id_len[k] > 1 && w[0] >= 'A' && w[0] <= 'Z' && w[1] >= 'a' && w[1] <= 'z')
                lower = false;
        }
        const struct tv_meta *meta =
            tv_model_meta_find_origin(t->model, TV_ORIGIN_TOKENIZER_CONFIG, "do_lower_case");
        if (meta && meta->value.type == TV_VALUE_BOOL)
            lower = meta->value.as.u != 0;
        struct tk_normalizer n = {.kind = TK_NORM_BERT, .clean_text = true, .chinese = true,
                                  .strip_accents = lower, .lowercase = lower};
        struct tk_pretok p = {.kind = TK_PRE_BERT};
        struct tk_decoder d = {.kind = TK_DEC_WORDPIECE, .cleanup = true};
        t->has_decoder = true;
        if (push_norm(&c, &n) < 0 || push_pretok(&c, &p) < 0 ||
            set_text(&c, &d.text, &d.text_len, "##") < 0 || push_decoder(&c, &d) < 0)
            return -1;
        int64_t cls = v->special[TV_SPECIAL_CLS], sep = v->special[TV_SPECIAL_SEP];
        uint32_t cls_id, sep_id;
        if (cls < 0 && tk_strmap_get(&m->vocab, "[CLS]", 5, &cls_id))
            cls = cls_id;
        if (sep < 0 && tk_strmap_get(&m->vocab, "[SEP]", 5, &sep_id))
            sep = sep_id;
        if (cls >= 0 && sep >= 0) {
            struct tk_processor pr = {.kind = TK_PROC_BERT, .cls = (uint32_t)cls,
                                      .sep = (uint32_t)sep};
            if (push_proc(&c, &pr) < 0)
                return -1;
        }
    } else {
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: a %s vocabulary without tokenizer.json: tokvec does not know how "
                            "to tokenize with it", c.file, tv_tokenizer_kind_name(v->kind));
    }
    /* the specials the vocabulary names are matched in text, as added special tokens */
    struct tk_added items[TV_SPECIAL_COUNT];
    size_t n_items = 0;
    for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
        int64_t id = v->special[s];
        if (id < 0 || (size_t)id >= m->n_ids || !m->id_text[id])
            continue;
        items[n_items++] = (struct tk_added){m->id_text[id], m->id_len[id], (uint32_t)id, true,
                                             false, false, false, false};
    }
    return tk_added_build(t, items, n_items, err);
}
