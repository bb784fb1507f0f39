/*
 * Tokenizers for GGUF vocabularies (no tokenizer.json): the pipeline llama.cpp builds
 * from tokenizer.ggml.model and tokenizer.ggml.pre, expressed with the same stages as
 * a tokenizer.json so that one engine runs both.
 *
 *   "gpt2"   byte-level BPE over tokenizer.ggml.merges; tokenizer.ggml.pre names the
 *            split regexes (llama.cpp's table, with the original tokenizer.json regex
 *            where llama.cpp rewrote it for its own regex engine), each applied as an
 *            isolating Split, then the byte-level alphabet
 *   "llama"  SentencePiece BPE over tokenizer.ggml.scores with byte fallback; a "▁"
 *            before every text (add_space_prefix) and spaces as "▁"
 *   "bert"   WordPiece on the "phantom space" vocabulary llama.cpp stores ("▁x" starts a
 *            word, "x" continues one) after BERT's normalizer and pre-tokenizer
 *
 * Tokens of type CONTROL or UNKNOWN are special tokens, USER_DEFINED ones added
 * tokens: both are matched in the text first, as llama.cpp's special-token partition
 * does.
 *
 * SentencePiece model files (tokenizer.model) have their own pipeline:
 * tk_sentencepiece.c.
 */
#include <stdio.h>
#include <string.h>

#include "tok.h"

/* llama.cpp's default list drops GPT-2's final "|\\s+" (its split keeps the gaps anyway) */
#define GPT2_NO_TRAIL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define LLAMA3_RE                                                                              \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                               \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"     \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define GPT4O_RE                                                                                 \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"     \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"     \
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
    "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define TEKKEN_RE                                                                                \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"    \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|"    \
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CJK_RE "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

/* tokenizer.ggml.pre -> the regexes that split the text, in order. */
struct pre_type {
    const char *names[9];
    const char *regexes[6];
    bool ignore_merges;   /* also: BOS added by default (llama.cpp's Llama 3 family) */
};

static const struct pre_type pre_types[] = {
    {{"default"},
     {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_NO_TRAIL, "\\p{N}+", "[0-9][0-9][0-9]"}, false},
    {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
     {LLAMA3_RE}, true},
    {{"dbrx", "smaug-bpe", "chatglm-bpe"}, {LLAMA3_RE}, false},
    {{"deepseek-llm"},
     {"[\r\n]",
      "\\s?["
      "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
      "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-"
      "\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-"
      "\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}"
      "\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
      "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"
      "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
      "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-"
      "\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
      "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}"
      "\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"
      "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-"
      "\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
      "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"
      "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}"
      "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
      "\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-"
      "\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
      "\\x{1E900}-\\x{1E943}"
      "]+",
      "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
      "\\s+$", CJK_RE, "\\p{N}+"},
     false},
    {{"deepseek-coder"},
     {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_RE, "\\p{N}"}, false},
    {{"deepseek-v3", "hunyuan-dense"},
     {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
      "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
     false},
    {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", tk_gpt2_regex, "[0-9][0-9][0-9]"}, false},
    {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
     {"\\p{N}", tk_gpt2_regex}, false},
    {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
      "jina-v2-de", "mpt"},
     {tk_gpt2_regex}, false},
    {{"olmo", "jais", "trillion", "granite-docling", "a.x-4.0", "mellum"}, {tk_gpt2_regex}, false},
    {{"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez", "grok-2"}, {QWEN2_RE}, false},
    {{"poro-chat", "bloom", "gpt3-finnish"}, {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+"}, false},
    {{"viking"}, {" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{0964}\\x{06D4}\\x{060C})]+", "\\p{N}"}, false},
    {{"tekken"}, {TEKKEN_RE}, true},
    {{"gpt-4o", "llama4", "minimax-m2"}, {GPT4O_RE}, false},
    {{"seed-coder"},
     {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\r\n]+|"
      "\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
     false},
    {{"bailingmoe", "bailingmoe2", "llada-moe"},
     {"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|"
      "\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"},
     false},
};

static const struct pre_type *find_pre(const char *name)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(pre_types); i++)
        for (size_t k = 0; k < TV_ARRAY_SIZE(pre_types[i].names) && pre_types[i].names[k]; k++)
            if (strcmp(pre_types[i].names[k], name) == 0)
                return &pre_types[i];
    return NULL;
}

static int push_pretok(tv_tokenizer *t, struct tk_pretok *p, tv_error *err)
{
    size_t cap = t->n_pretoks;
    if (tv_grow((void **)&t->pretoks, &cap, t->n_pretoks + 1, sizeof *t->pretoks, err) < 0) {
        tk_pretok_release(p);
        return -1;
    }
    t->pretoks[t->n_pretoks++] = *p;
    return 0;
}

static int push_norm(tv_tokenizer *t, struct tk_normalizer *n, tv_error *err)
{
    size_t cap = t->n_norms;
    if (tv_grow((void **)&t->norms, &cap, t->n_norms + 1, sizeof *t->norms, err) < 0) {
        tk_normalizer_release(n);
        return -1;
    }
    t->norms[t->n_norms++] = *n;
    return 0;
}

static int push_decoder(tv_tokenizer *t, struct tk_decoder *d, tv_error *err)
{
    size_t cap = t->n_decoders;
    if (tv_grow((void **)&t->decoders, &cap, t->n_decoders + 1, sizeof *t->decoders, err) < 0) {
        tk_decoder_release(d);
        return -1;
    }
    t->decoders[t->n_decoders++] = *d;
    t->has_decoder = true;
    return 0;
}

static char *dup(const char *s, size_t *len)
{
    *len = strlen(s);
    char *d = tv_malloc(*len + 1);
    if (d)
        memcpy(d, s, *len + 1);
    return d;
}

static int oom(tv_tokenizer *t, tv_error *err)
{
    return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building the tokenizer", t->origin);
}

static int literal(struct tk_pattern *p, const char *s)
{
    p->kind = TK_PAT_LITERAL;
    p->literal = dup(s, &p->literal_len);
    return p->literal ? 0 : -1;
}

/* Replace(from -> to) as a normalizer or a decoder. */
static int replace_norm(tv_tokenizer *t, const char *from, const char *to, tv_error *err)
{
    struct tk_normalizer n = {.kind = TK_NORM_REPLACE};
    if (literal(&n.pattern, from) < 0 || !(n.content = dup(to, &n.content_len))) {
        tk_normalizer_release(&n);
        return oom(t, err);
    }
    return push_norm(t, &n, err);
}

static int bpe(tv_tokenizer *t, struct tv_vocab *v, const char *pre_name, tv_error *err)
{
    struct tk_model *m = &t->m;
    const struct pre_type *pre = find_pre(pre_name);
    if (!pre)
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tokenizer.ggml.pre '%.100s': unknown pre-tokenizer type", t->origin,
                            pre_name);
    m->kind = TK_MODEL_BPE;
    m->ignore_merges = pre->ignore_merges;
    /* tokenizer.ggml.add_bos_token/add_eos_token; without them llama.cpp adds a BOS for
       the Llama 3 family only */
    bool bos = v->add_bos == 1 || (v->add_bos == -1 && pre->ignore_merges);
    if (bos && v->special[TV_SPECIAL_BOS] >= 0)
        t->add_bos_id = v->special[TV_SPECIAL_BOS];
    if (v->add_eos == 1 && v->special[TV_SPECIAL_EOS] >= 0)
        t->add_eos_id = v->special[TV_SPECIAL_EOS];
    if (tk_bpe_init(m, v->merges, v->n_merges, t->origin, err) < 0)
        return -1;
    char where[256];
    snprintf(where, sizeof where, "%s: tokenizer.ggml.pre '%s'", t->origin, pre_name);
    for (size_t i = 0; i < TV_ARRAY_SIZE(pre->regexes) && pre->regexes[i]; i++) {
        struct tk_pretok p = {.kind = TK_PRE_SPLIT, .behavior = TK_ISOLATED};
        p.pattern.kind = TK_PAT_REGEX;
        p.pattern.re = tk_regex_new(pre->regexes[i], strlen(pre->regexes[i]), where, err);
        if (!p.pattern.re || push_pretok(t, &p, err) < 0)
            return -1;
    }
    struct tk_pretok bl = {.kind = TK_PRE_BYTE_LEVEL};
    struct tk_decoder d = {.kind = TK_DEC_BYTE_LEVEL};
    t->added_raw_text = true;
    if (push_pretok(t, &bl, err) < 0 || push_decoder(t, &d, err) < 0)
        return -1;
    return 0;
}

static int spm(tv_tokenizer *t, struct tv_vocab *v, bool prefix, tv_error *err)
{
    struct tk_model *m = &t->m;
    m->kind = TK_MODEL_SPM;
    m->byte_fallback = true;
    m->scores = tv_malloc((m->n_ids ? m->n_ids : 1) * sizeof *m->scores);
    if (!m->scores)
        return oom(t, err);
    for (size_t i = 0; i < m->n_ids; i++)
        m->scores[i] = i < v->n_tokens ? v->tokens[i].score : 0.0f;
    if (tk_spm_init(m, err) < 0)
        return -1;
    if (prefix) {
        struct tk_normalizer n = {.kind = TK_NORM_PREPEND};
        if (!(n.content = dup("\xE2\x96\x81", &n.content_len)))
            return oom(t, err);
        if (push_norm(t, &n, err) < 0)
            return -1;
    }
    if (replace_norm(t, " ", "\xE2\x96\x81", err) < 0)
        return -1;
    struct tk_decoder rep = {.kind = TK_DEC_REPLACE}, bf = {.kind = TK_DEC_BYTE_FALLBACK},
                      fuse = {.kind = TK_DEC_FUSE},
                      strip = {.kind = TK_DEC_STRIP, .strip_char = ' ', .strip_start = 1};
    if (literal(&rep.pattern, "\xE2\x96\x81") < 0 || !(rep.text = dup(" ", &rep.text_len))) {
        tk_decoder_release(&rep);
        return oom(t, err);
    }
    if (push_decoder(t, &rep, err) < 0 || push_decoder(t, &bf, err) < 0 ||
        push_decoder(t, &fuse, err) < 0 || (prefix && push_decoder(t, &strip, err) < 0))
        return -1;
    if (v->add_bos != 0 && v->special[TV_SPECIAL_BOS] >= 0)
        t->add_bos_id = v->special[TV_SPECIAL_BOS];
    if (v->add_eos == 1 && v->special[TV_SPECIAL_EOS] >= 0)
        t->add_eos_id = v->special[TV_SPECIAL_EOS];
    return 0;
}

static int wpm(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct tk_model *m = &t->m;
    m->kind = TK_MODEL_WORDPIECE;
    m->max_input_chars = 100;
    if (!(m->first_prefix = dup("\xE2\x96\x81", &m->first_prefix_len)) ||
        !(m->prefix = dup("", &m->prefix_len)))
        return oom(t, err);
    struct tk_normalizer n = {.kind = TK_NORM_BERT, .clean_text = true, .chinese = true,
                              .strip_accents = true, .lowercase = true};
    struct tk_pretok p = {.kind = TK_PRE_BERT};
    struct tk_decoder d = {.kind = TK_DEC_WORDPIECE, .cleanup = true};
    t->phantom_wordpiece = true;
    if (!(d.text = dup("##", &d.text_len)))
        return oom(t, err);
    /* push_decoder owns d from its call on; before it, d is still ours to release. */
    if (push_norm(t, &n, err) < 0 || push_pretok(t, &p, err) < 0) {
        tk_decoder_release(&d);
        return -1;
    }
    if (push_decoder(t, &d, err) < 0)
        return -1;
    int64_t cls = v->special[TV_SPECIAL_CLS], sep = v->special[TV_SPECIAL_SEP];
    if (cls >= 0 && sep >= 0) {
        struct tk_processor pr = {.kind = TK_PROC_BERT, .cls = (uint32_t)cls, .sep = (uint32_t)sep};
        size_t cap = t->n_procs;
        if (tv_grow((void **)&t->procs, &cap, t->n_procs + 1, sizeof *t->procs, err) < 0)
            return -1;
        t->procs[t->n_procs++] = pr;
    }
    return 0;
}

/* Control and user-defined tokens are matched before anything else. */
static int special_tokens(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct tk_model *m = &t->m;
    if (m->unk_id >= 0 && (size_t)m->unk_id < m->n_ids && m->id_text[m->unk_id]) {
        m->unk = m->id_text[m->unk_id];
        m->unk_len = m->id_len[m->unk_id];
    }
    size_t n = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        int type = v->tokens[id].type;
        if (v->tokens[id].text && v->tokens[id].len &&
            (type == TV_TOKEN_CONTROL || type == TV_TOKEN_USER_DEFINED || type == TV_TOKEN_UNKNOWN))
            n++;
    }
    struct tk_added *items = tv_calloc(n ? n : 1, sizeof *items);
    if (!items)
        return oom(t, err);
    size_t k = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *tok = &v->tokens[id];
        if (!tok->text || !tok->len ||
            (tok->type != TV_TOKEN_CONTROL && tok->type != TV_TOKEN_USER_DEFINED &&
             tok->type != TV_TOKEN_UNKNOWN))
            continue;
        items[k++] = (struct tk_added){tok->text, tok->len, (uint32_t)id,
                                       tok->type != TV_TOKEN_USER_DEFINED, false, false, false,
                                       false};
    }
    int rc = tk_added_build(t, items, k, err);
    tv_free(items);
    return rc;
}

int tk_config_from_gguf(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    struct tk_model *m = &t->m;
    if (tk_model_from_arrays(t, v, err) < 0)
        return -1;
    m->unk_id = v->special[TV_SPECIAL_UNK];
    const char *model = v->ggml_model;
    int rc;
    if (strcmp(model, "gpt2") == 0)
        rc = bpe(t, v, v->ggml_pre ? v->ggml_pre : "default", err);
    else if (strcmp(model, "llama") == 0)
        rc = spm(t, v, v->add_space_prefix != 0 /* llama.cpp's default: on */, err);
    else if (strcmp(model, "bert") == 0)
        rc = wpm(t, v, err);
    else
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tokenizer.ggml.model '%.100s': tokvec tokenizes GGUF vocabularies "
                            "of type gpt2, llama and bert", t->origin, model);
    if (rc < 0)
        return -1;
    return special_tokens(t, v, err);
}
