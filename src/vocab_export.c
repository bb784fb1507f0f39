/*
 * The vocabulary in other formats' terms (see vocab_export.h): GGUF's tokenizer.ggml.*
 * arrays and a Hugging Face tokenizer.json.
 *
 * 1. The GGUF view follows llama.cpp's convert_hf_to_gguf.py and gguf-py's SpecialVocab:
 *    - tokenizer.ggml.model: "gpt2" for byte-level BPE, "llama" for SentencePiece-style
 *      BPE (byte fallback, or the U+2581 metaspace) and for Unigram with byte fallback
 *      (llama.cpp's UGM tokenizer has no byte fallback, its SPM one has), "bert" for
 *      WordPiece, "t5" for Unigram. A GGUF source keeps its model, pre and arrays.
 *    - tokenizer.ggml.pre: recognised from the pre-tokenizer's structure and Split
 *      regexes (llama.cpp hashes the tokenization of a test text instead; without the
 *      tokenizer we compare the components with the pre-tokenizers of the table below).
 *      An unrecognised BPE pre-tokenizer leaves pre NULL and sets pre_unrecognised:
 *      writing "default" would hide what llama.cpp warns about when the key is absent.
 *      "llama", "t5" and "bert" get "default" (llama.cpp ignores pre for them).
 *    - token types as get_vocab_base()/LlamaHfVocab give them: an added token is
 *      CONTROL when special (or when it looks special), else USER_DEFINED with U+2581
 *      written as a space; ids without a token become "[PAD<id>]", UNUSED; BYTE for
 *      <0xXX> in byte-fallback vocabularies; the unknown token of a SentencePiece model
 *      stays UNKNOWN, BERT's and GPT-2's specials are CONTROL.
 *    - bert: llama.cpp's phantom space: "##x" is stored as "x", a word-initial "x" as
 *      "\u2581x"; CONTROL tokens, and bracketed names such as "[unused0]" (the rule
 *      llama.cpp's converter used when it made ggml-vocab-bert-bge.gguf), stay as is.
 *    - scores: a Unigram's or SentencePiece model's own; none for gpt2 and bert. A
 *      tokenizer.json BPE has no scores and llama.cpp's LlamaHfVocab writes -1000 for
 *      every token, which leaves its SPM tokenizer no merge order; we give a token the
 *      rank of the first merge that makes it instead (-(rank + 1)), lower scores to
 *      tokens no merge makes, 0 to control, unknown and byte tokens, -1000 to added ones.
 *    - add_bos/add_eos from a TemplateProcessing post-processor (a leading special token
 *      is BOS, a trailing one is EOS, as SpecialVocab reads it), RobertaProcessing, and
 *      tokenizer_config.json's add_bos_token/add_eos_token, which win.
 * 2. tokenizer.json: the original text when the source carried one; otherwise rebuilt
 *    from the GGUF view, so that Hugging Face tokenizers splits text the way llama.cpp
 *    splits it for that GGUF (llama.cpp's "default" pre-tokenizer included). A plain word
 *    list (word vectors) has no GGUF view; it becomes a WordLevel model (word_level_json).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vocab_export.h"

#define METASPACE "\xe2\x96\x81" /* U+2581, SentencePiece's space */
#define METASPACE_LEN 3
#define ADDED_TOKEN_SCORE -1000.0f /* llama.cpp's score for added and filler tokens */
/* Pieces longer than this get no derived merges: trying every split of every piece costs
   the square of its length, and SentencePiece's own pieces are 16 characters by default. */
#define MAX_MERGED_PIECE 512

/* ---- known pre-tokenizers ------------------------------------------------------------- */

enum step_kind { STEP_END = 0, STEP_SPLIT, STEP_BYTELEVEL, STEP_DIGITS, STEP_PUNCTUATION };

/* One component of a pre-tokenizer: Split(regex, Isolated), ByteLevel(use_regex = flag,
   no prefix space), Digits(individual_digits = flag), Punctuation(Contiguous). */
struct pre_step {
    enum step_kind kind;
    const char *regex;
    bool flag;
};

#define MAX_PRE_STEPS 8

struct pre_recipe {
    const char *name;          /* what we write to tokenizer.ggml.pre */
    const char *const *aliases;/* other llama.cpp names that split text the same way */
    int ignore_merges;         /* -1 any; 0/1: recognised only with this model.ignore_merges */
    bool sets_ignore_merges;   /* llama.cpp turns ignore_merges on for this pre */
    struct pre_step steps[MAX_PRE_STEPS];
};

/* The regexes as the models' tokenizer.json files spell them (llama.cpp rewrites some of
   them for its own regex engine; these are the originals its sources quote). */
#define RE_LLAMA3                                                                          \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "              \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                           \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                   \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35                                                                          \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "           \
    "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O                                                                           \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+" \
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| "             \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_TEKKEN                                                                          \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|" \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|" \
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_DEFAULT_PUNCT "[\\p{P}\\$\\+<=>\\^~\\|]+"
#define RE_THREE_DIGITS "[0-9][0-9][0-9]"
#define RE_NEWLINE "[\r\n]"
#define RE_DEEPSEEK_LATIN                                                                  \
    "\\s?[A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-\xc6\xba\xc6\xbc-\xc6\xbf"   \
    "\xc7\x84-\xca\x93\xca\x95-\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-\xcd\xbd"      \
    "\xcd\xbf\xce\x86\xce\x88-\xce\x8a\xce\x8c\xce\x8e-\xce\xa1\xce\xa3-\xcf\xb5\xcf\xb7-"      \
    "\xd2\x81\xd2\x8a-\xd4\xaf\xd4\xb1-\xd5\x96\xe1\x82\xa0-\xe1\x83\x85\xe1\x8e\xa0-"          \
    "\xe1\x8f\xb5\xe1\x8f\xb8-\xe1\x8f\xbd\xe1\xb2\x90-\xe1\xb2\xba\xe1\xb2\xbd-\xe1\xb2\xbf"   \
    "\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-\xe1\xb5\xb7\xe1\xb5\xb9-\xe1\xb6\x9a\xe1\xb8\x80-"  \
    "\xe1\xbc\x95\xe1\xbc\x98-\xe1\xbc\x9d\xe1\xbc\xa0-\xe1\xbd\x85\xe1\xbd\x88-\xe1\xbd\x8d"   \
    "\xe1\xbd\x90-\xe1\xbd\x97\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-\xe1\xbd\xbd"   \
    "\xe1\xbe\x80-\xe1\xbe\xb4\xe1\xbe\xb6-\xe1\xbe\xbc\xe1\xbe\xbe\xe1\xbf\x82-\xe1\xbf\x84"   \
    "\xe1\xbf\x86-\xe1\xbf\x8c\xe1\xbf\x90-\xe1\xbf\x93\xe1\xbf\x96-\xe1\xbf\x9b\xe1\xbf\xa0-"  \
    "\xe1\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4\xe1\xbf\xb6-\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87"   \
    "\xe2\x84\x8a-\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6"   \
    "\xe2\x84\xa8\xe2\x84\xaa-\xe2\x84\xad\xe2\x84\xaf-\xe2\x84\xb4\xe2\x84\xb9\xe2\x84\xbc-"  \
    "\xe2\x84\xbf\xe2\x85\x85-\xe2\x85\x89\xe2\x85\x8e\xe2\x86\x83\xe2\x86\x84\xe2\xb0\x80-"   \
    "\xe2\xb1\xbb\xe2\xb1\xbe-\xe2\xb3\xa4\xe2\xb3\xab-\xe2\xb3\xae\xe2\xb3\xb2\xe2\xb3\xb3"   \
    "\xea\x99\x80-\xea\x99\xad\xea\x9a\x80-\xea\x9a\x9b\xea\x9c\xa2-\xea\x9d\xaf\xea\x9d\xb1-"  \
    "\xea\x9e\x87\xea\x9e\x8b-\xea\x9e\x8e\xea\xad\xb0-\xea\xae\xbf\xef\xac\x80-\xef\xac\x86"   \
    "\xef\xac\x93-\xef\xac\x97\xef\xbc\xa1-\xef\xbc\xba\xef\xbd\x81-\xef\xbd\x9a\xf0\x90\x90"  \
    "\x80-\xf0\x90\x91\x8f\xf0\x90\x92\xb0-\xf0\x90\x93\x93\xf0\x90\x93\x98-\xf0\x90\x93\xbb"  \
    "\xf0\x90\xb2\x80-\xf0\x90\xb2\xb2\xf0\x90\xb3\x80-\xf0\x90\xb3\xb2\xf0\x91\xa2\xa0-"      \
    "\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83]+"
#define RE_DEEPSEEK_PUNCT                                                                  \
    "\\s?[!-/:-~\xef\xbc\x81-\xef\xbc\x8f\xef\xbc\x9a-\xef\xbd\x9e\xe2\x80\x98-\xe2\x80\x9f"    \
    "\xe3\x80\x80-\xe3\x80\x82]+"
#define RE_CJK "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+"

#define SPLIT(re) {STEP_SPLIT, re, false}
#define BYTELEVEL(use_regex) {STEP_BYTELEVEL, NULL, use_regex}
#define DIGITS(individual) {STEP_DIGITS, NULL, individual}
#define PUNCTUATION {STEP_PUNCTUATION, NULL, false}

static const char *const gpt2_aliases[] = {
    "mpt", "olmo", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
    "a.x-4.0", "mellum", "modern-bert", "jais", "trillion", "granite-docling", "exaone4",
    "roberta-bpe", "jina-v1-en", "jina-v2-code", NULL};
static const char *const llama3_aliases[] = {"llama3", "llama-v3", "falcon3", "falcon-h1",
                                             "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
                                             NULL};
static const char *const dbrx_aliases[] = {"smaug-bpe", "chatglm-bpe", "glm4", NULL};
static const char *const qwen2_aliases[] = {"deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2",
                                            "hunyuan", "solar-open", "megrez", "grok-2", NULL};
static const char *const starcoder_aliases[] = {"refact", "command-r", "smollm", "codeshell",
                                                "exaone", "minerva-7b", "mellum2", NULL};
static const char *const gpt4o_aliases[] = {"llama4", "kanana2", "talkie", "minimax-m2", NULL};
static const char *const no_aliases[] = {NULL};

static const struct pre_recipe pre_recipes[] = {
    {"gpt-2", gpt2_aliases, -1, false, {BYTELEVEL(true)}},
    {"llama-bpe", llama3_aliases, 1, true, {SPLIT(RE_LLAMA3), BYTELEVEL(false)}},
    {"dbrx", dbrx_aliases, 0, false, {SPLIT(RE_LLAMA3), BYTELEVEL(false)}},
    {"qwen2", qwen2_aliases, -1, false, {SPLIT(RE_QWEN2), BYTELEVEL(false)}},
    {"qwen35", no_aliases, -1, false, {SPLIT(RE_QWEN35), BYTELEVEL(false)}},
    {"gpt-4o", gpt4o_aliases, -1, false, {SPLIT(RE_GPT4O), BYTELEVEL(false)}},
    {"tekken", no_aliases, -1, true, {SPLIT(RE_TEKKEN), BYTELEVEL(false)}},
    {"starcoder", starcoder_aliases, -1, false, {DIGITS(true), BYTELEVEL(true)}},
    {"falcon", no_aliases, -1, false,
     {PUNCTUATION, BYTELEVEL(true), DIGITS(false), SPLIT(RE_THREE_DIGITS)}},
    {"deepseek-llm", no_aliases, -1, false,
     {SPLIT(RE_NEWLINE), SPLIT(RE_DEEPSEEK_LATIN), SPLIT(RE_DEEPSEEK_PUNCT), SPLIT("\\s+$"),
      SPLIT(RE_CJK), DIGITS(false), BYTELEVEL(false)}},
    {"deepseek-coder", no_aliases, -1, false,
     {SPLIT(RE_NEWLINE), SPLIT("\\s?\\p{L}+"), SPLIT("\\s?\\p{P}+"), SPLIT(RE_CJK), DIGITS(true),
      BYTELEVEL(false)}},
    /* What llama.cpp does for "default" and for a GGUF without tokenizer.ggml.pre. */
    {"default", no_aliases, -1, false,
     {SPLIT(RE_DEFAULT_PUNCT), BYTELEVEL(true), DIGITS(false), SPLIT(RE_THREE_DIGITS)}},
};

static const struct pre_recipe *recipe_by_name(const char *name)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(pre_recipes); i++) {
        if (strcmp(pre_recipes[i].name, name) == 0)
            return &pre_recipes[i];
        for (const char *const *a = pre_recipes[i].aliases; *a; a++)
            if (strcmp(*a, name) == 0)
                return &pre_recipes[i];
    }
    return NULL;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool is_type(const cJSON *node, const char *type)
{
    const cJSON *t = get(node, "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, type) == 0;
}

static bool json_true(const cJSON *obj, const char *key, bool fallback)
{
    const cJSON *item = get(obj, key);
    return cJSON_IsBool(item) ? cJSON_IsTrue(item) : fallback;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* Whether s is well-formed UTF-8 without NUL bytes (what a JSON string can carry). */
static bool json_safe_utf8(const char *s, size_t len)
{
    return tv_utf8_valid_prefix((const uint8_t *)s, len) == len && (!len || !memchr(s, 0, len));
}

/* Byte length of the UTF-8 sequence starting with c (1 for a stray byte). */
static size_t utf8_len(unsigned char c)
{
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/* s with every `from` replaced by `to`, in the arena (NUL-terminated). */
static char *replace_all(struct tv_arena *a, const char *s, size_t len, const char *from,
                         const char *to, size_t *out_len)
{
    size_t from_len = strlen(from), to_len = strlen(to), count = 0;
    for (size_t i = 0; i + from_len <= len;)
        if (memcmp(s + i, from, from_len) == 0)
            count++, i += from_len;
        else
            i++;
    size_t n = len - count * from_len + count * to_len;
    char *out = tv_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (i + from_len <= len && memcmp(s + i, from, from_len) == 0) {
            memcpy(out + o, to, to_len);
            o += to_len, i += from_len;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* prefix + s in the arena (NUL-terminated). */
static char *concat(struct tv_arena *a, const char *prefix, const char *s, size_t len,
                    size_t *out_len)
{
    size_t p = strlen(prefix);
    char *out = tv_arena_alloc(a, p + len + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, p);
    memcpy(out + p, s, len);
    out[p + len] = '\0';
    *out_len = p + len;
    return out;
}

static const char *vocab_name(const tv_model *m, const struct tv_vocab *v)
{
    return v && v->origin ? v->origin : tv_model_path(m);
}

/* ---- base64 (tokenizer.json's Precompiled normalizer holds its table so) ------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *in, size_t len)
{
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    char *out = tv_malloc((len + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = b64_alphabet[(v >> 18) & 63];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Decodes standard base64 into the arena; NULL when s is not base64 or on OOM. */
static uint8_t *base64_decode(struct tv_arena *a, const char *s, size_t *out_len)
{
    size_t len = strlen(s);
    if (len % 4)
        return NULL;
    uint8_t *out = tv_arena_alloc(a, len / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + k];
            const char *pos = c ? strchr(b64_alphabet, c) : NULL;
            if (c == '=' && i + 4 == len && k >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (!pos || pad)
                return NULL;
            v = (v << 6) | (uint32_t)(pos - b64_alphabet);
        }
        out[o++] = (uint8_t)(v >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(v >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)v;
    }
    *out_len = o;
    return out;
}

/* ---- recognising a tokenizer.json pre-tokenizer ---------------------------------------- */

/* Flattens a pre-tokenizer (Sequences included) into steps; false when a component is
   not one of the kinds the recipes use. */
static bool flatten_pre(const cJSON *node, struct pre_step *steps, size_t *n, int depth)
{
    if (!cJSON_IsObject(node) || depth > 8)
        return false;
    if (is_type(node, "Sequence")) {
        const cJSON *list = get(node, "pretokenizers");
        if (!cJSON_IsArray(list))
            return false;
        for (const cJSON *e = list->child; e; e = e->next)
            if (!flatten_pre(e, steps, n, depth + 1))
                return false;
        return true;
    }
    if (*n >= MAX_PRE_STEPS)
        return false;
    struct pre_step *s = &steps[(*n)++];
    if (is_type(node, "ByteLevel")) {
        *s = (struct pre_step)BYTELEVEL(json_true(node, "use_regex", true));
        return !json_true(node, "add_prefix_space", false);
    }
    if (is_type(node, "Digits")) {
        *s = (struct pre_step)DIGITS(json_true(node, "individual_digits", false));
        return true;
    }
    if (is_type(node, "Punctuation")) {
        const cJSON *b = get(node, "behavior");
        *s = (struct pre_step)PUNCTUATION;
        return cJSON_IsString(b) && strcmp(b->valuestring, "Contiguous") == 0;
    }
    if (is_type(node, "Split")) {
        const cJSON *pattern = get(node, "pattern"), *b = get(node, "behavior");
        const cJSON *re = cJSON_IsObject(pattern) ? get(pattern, "Regex") : NULL;
        *s = (struct pre_step)SPLIT(cJSON_IsString(re) ? re->valuestring : NULL);
        return s->regex && cJSON_IsString(b) && strcmp(b->valuestring, "Isolated") == 0 &&
               !json_true(node, "invert", false);
    }
    return false;
}

static bool same_steps(const struct pre_step *a, size_t n, const struct pre_step *recipe)
{
    size_t k = 0;
    while (k < MAX_PRE_STEPS && recipe[k].kind != STEP_END)
        k++;
    if (k != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (a[i].kind != recipe[i].kind || a[i].flag != recipe[i].flag)
            return false;
        if (a[i].kind == STEP_SPLIT && strcmp(a[i].regex, recipe[i].regex) != 0)
            return false;
    }
    return true;
}

/* The tokenizer.ggml.pre of a tokenizer.json BPE model, or NULL. */
static const char *recognise_pre(const struct tv_vocab *v)
{
    struct pre_step steps[MAX_PRE_STEPS];
    size_t n = 0;
    if (!v->pre_tokenizer || !flatten_pre(v->pre_tokenizer, steps, &n, 0) || n == 0)
        return NULL;
    for (size_t i = 0; i < TV_ARRAY_SIZE(pre_recipes); i++) {
        const struct pre_recipe *r = &pre_recipes[i];
        if (same_steps(steps, n, r->steps) &&
            (r->ignore_merges < 0 || r->ignore_merges == (int)v->ignore_merges))
            return r->name;
    }
    return NULL;
}

/* ---- the GGUF view ------------------------------------------------------------------------- */

enum ggml_kind { GGML_GPT2, GGML_LLAMA, GGML_BERT, GGML_T5 };

struct view {
    const tv_model *m;
    const struct tv_vocab *v;
    struct tv_ggml_vocab *g;
    enum ggml_kind kind;
    const char *file;
    tv_error *err;
};

static int view_nomem(const struct view *w)
{
    return tv_error_set(w->err, TV_ERR_NOMEM, "%s: out of memory building the GGUF vocabulary",
                        w->file);
}

/* Whether a component (or a Sequence under list_key holding one) matches fn. */
static bool contains(const cJSON *node, const char *list_key,
                     bool (*fn)(const cJSON *node), int depth)
{
    if (!cJSON_IsObject(node) || depth > 8)
        return false;
    if (fn(node))
        return true;
    const cJSON *list = is_type(node, "Sequence") ? get(node, list_key) : NULL;
    if (cJSON_IsArray(list))
        for (const cJSON *e = list->child; e; e = e->next)
            if (contains(e, list_key, fn, depth + 1))
                return true;
    return false;
}

static bool is_metaspace_replace(const cJSON *n)
{
    const cJSON *content = get(n, "content");
    return is_type(n, "Replace") && cJSON_IsString(content) &&
           strcmp(content->valuestring, METASPACE) == 0;
}

static bool is_metaspace_prepend(const cJSON *n)
{
    const cJSON *p = get(n, "prepend");
    return is_type(n, "Prepend") && cJSON_IsString(p) && strcmp(p->valuestring, METASPACE) == 0;
}

static bool is_metaspace_pre(const cJSON *n)
{
    return is_type(n, "Metaspace");
}

/* Metaspace that puts U+2581 before the first word. */
static bool is_prefixing_metaspace(const cJSON *n)
{
    if (!is_type(n, "Metaspace"))
        return false;
    const cJSON *scheme = get(n, "prepend_scheme");
    if (cJSON_IsString(scheme))
        return strcmp(scheme->valuestring, "never") != 0;
    return json_true(n, "add_prefix_space", true);
}

static bool is_precompiled(const cJSON *n)
{
    return is_type(n, "Precompiled");
}

static bool spm_source(const tv_model *m, const struct tv_vocab *v)
{
    return !v->json && !v->ggml_model && tv_model_meta_find(m, "sentencepiece.model_type");
}

/* SentencePiece-style: U+2581 for spaces (normalizer or Metaspace), or a .model file. */
static bool metaspace_style(const tv_model *m, const struct tv_vocab *v)
{
    if (v->json)
        return contains(v->normalizer, "normalizers", is_metaspace_replace, 0) ||
               contains(v->normalizer, "normalizers", is_metaspace_prepend, 0) ||
               contains(v->pre_tokenizer, "pretokenizers", is_metaspace_pre, 0);
    return spm_source(m, v);
}

static int choose_model(struct view *w)
{
    const struct tv_vocab *v = w->v;
    char q[256];
    switch (v->kind) {
    case TV_TOKENIZER_BPE:
        if ((v->end_of_word_suffix && *v->end_of_word_suffix) ||
            (v->continuing_subword_prefix && *v->continuing_subword_prefix)) {
            const char *what = v->end_of_word_suffix && *v->end_of_word_suffix
                                   ? v->end_of_word_suffix : v->continuing_subword_prefix;
            tv_quote(q, sizeof q, what, strlen(what));
            return tv_error_set(w->err, TV_ERR_UNSUPPORTED,
                                "%s: a BPE vocabulary with the word affix '%s' has no GGUF "
                                "tokenizer model (llama.cpp's gpt2 and llama have none)",
                                w->file, q);
        }
        w->kind = v->byte_fallback || metaspace_style(w->m, v) ? GGML_LLAMA : GGML_GPT2;
        return 0;
    case TV_TOKENIZER_WORDPIECE:
        w->kind = GGML_BERT;
        return 0;
    case TV_TOKENIZER_UNIGRAM:
        w->kind = v->byte_fallback ? GGML_LLAMA : GGML_T5;
        return 0;
    case TV_TOKENIZER_WORDLEVEL:
    case TV_TOKENIZER_NONE:
        break;
    }
    return tv_error_set(w->err, TV_ERR_UNSUPPORTED,
                        "%s: a %s vocabulary has no GGUF tokenizer model (GGUF knows BPE as "
                        "gpt2/llama, WordPiece as bert, Unigram as t5)", w->file,
                        v->kind == TV_TOKENIZER_WORDLEVEL ? "WordLevel" : "typeless");
}

/* llama.cpp's phantom space for BERT vocabularies. */
static int phantom(struct view *w, const char **text, size_t *len, int type)
{
    const char *s = *text;
    size_t n = *len;
    if (type == TV_TOKEN_CONTROL || (n >= 2 && s[0] == '[' && s[n - 1] == ']'))
        return 0;
    char *out;
    if (has_prefix(s, n, "##")) {
        out = tv_arena_strndup(&w->g->arena, s + 2, n - 2);
        *len = n - 2;
    } else {
        out = concat(&w->g->arena, METASPACE, s, n, len);
    }
    if (!out)
        return view_nomem(w);
    *text = out;
    return 0;
}

/* The type llama.cpp's converter gives token id of the source vocabulary. */
static int derive_type(const struct view *w, const struct tv_token *t)
{
    if (t->flags & TV_TOKEN_ADDED)
        return (t->flags & TV_TOKEN_SPECIAL) || tv_token_looks_special(t->text, t->len)
                   ? TV_TOKEN_CONTROL : TV_TOKEN_USER_DEFINED;
    int type = t->type ? t->type : TV_TOKEN_NORMAL;
    if (w->kind == GGML_GPT2 || w->kind == GGML_BERT) {
        /* Hugging Face registers the unknown token as a special token: CONTROL. */
        if (type == TV_TOKEN_UNKNOWN)
            return TV_TOKEN_CONTROL;
        if (type == TV_TOKEN_BYTE)
            return TV_TOKEN_NORMAL;
    }
    return type;
}

static int fill_tokens(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        const char *text;
        size_t len;
        int type;
        if (!t->text) {
            char pad[32];
            int n = snprintf(pad, sizeof pad, "[PAD%zu]", id);
            text = tv_arena_strndup(&g->arena, pad, (size_t)n);
            if (!text)
                return view_nomem(w);
            len = (size_t)n;
            type = TV_TOKEN_UNUSED;
        } else {
            text = t->text;
            len = t->len;
            type = derive_type(w, t);
            /* llama.cpp matches user-defined tokens against raw text: spaces, not U+2581. */
            if (type == TV_TOKEN_USER_DEFINED && w->kind != GGML_T5 &&
                memmem(text, len, METASPACE, METASPACE_LEN)) {
                text = replace_all(&g->arena, text, len, METASPACE, " ", &len);
                if (!text)
                    return view_nomem(w);
            }
            if (w->kind == GGML_BERT && phantom(w, &text, &len, type) < 0)
                return -1;
        }
        g->tokens[id] = (struct tv_str){text, len};
        g->types[id] = type;
    }
    return 0;
}

/* Scores of a BPE vocabulary without its own: the rank of the first merge making each
   token (see the top of the file). */
static int derive_scores(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    int rc = -1;
    size_t cap = 0;
    char *buf = NULL;
    struct tv_strmap index;
    tv_strmap_init(&index);
    int64_t *first_rank = tv_malloc(v->n_tokens * sizeof *first_rank);
    if (!first_rank) {
        view_nomem(w);
        goto out;
    }
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        first_rank[id] = -1;
        if (t->text && tv_strmap_put(&index, t->text, t->len, id, NULL) < 0) {
            view_nomem(w);
            goto out;
        }
    }
    for (size_t r = 0; r < v->n_merges; r++) {
        const struct tv_merge *mg = &v->merges[r];
        size_t n = (size_t)mg->left_len + mg->right_len;
        if (n > cap) {
            char *grown = tv_realloc(buf, n);
            if (!grown) {
                view_nomem(w);
                goto out;
            }
            buf = grown, cap = n;
        }
        memcpy(buf, mg->left, mg->left_len);
        memcpy(buf + mg->left_len, mg->right, mg->right_len);
        uint64_t id;
        if (tv_strmap_get(&index, buf, n, &id) && first_rank[id] < 0)
            first_rank[id] = (int64_t)r;
    }
    for (size_t id = 0; id < v->n_tokens; id++) {
        switch (g->types[id]) {
        case TV_TOKEN_CONTROL: case TV_TOKEN_UNKNOWN: case TV_TOKEN_BYTE:
            g->scores[id] = 0.0f;
            break;
        case TV_TOKEN_USER_DEFINED: case TV_TOKEN_UNUSED:
            g->scores[id] = ADDED_TOKEN_SCORE;
            break;
        default:
            g->scores[id] = first_rank[id] >= 0 ? -(float)(first_rank[id] + 1)
                                                : -(float)(v->n_merges + 1 + id);
        }
    }
    rc = 0;
out:
    tv_free(first_rank);
    tv_free(buf);
    tv_strmap_release(&index);
    return rc;
}

static int fill_scores(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    if (w->kind == GGML_GPT2 || w->kind == GGML_BERT)
        return 0;
    g->scores = tv_malloc(v->n_tokens * sizeof *g->scores);
    if (!g->scores)
        return view_nomem(w);
    bool own = v->kind == TV_TOKENIZER_UNIGRAM;
    if (!own && !v->json)
        for (size_t id = 0; id < v->n_tokens && !own; id++)
            own = v->tokens[id].text && v->tokens[id].score != 0.0f;
    if (!own)
        return derive_scores(w);
    for (size_t id = 0; id < v->n_tokens; id++)
        g->scores[id] = v->tokens[id].text ? v->tokens[id].score : ADDED_TOKEN_SCORE;
    return 0;
}

/* "left right"; a space inside a part is written as U+0120 (gguf-py does so). */
static int fill_merges(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    if (!v->n_merges || (w->kind != GGML_GPT2 && !v->ggml_model))
        return 0;
    g->merges = tv_malloc(v->n_merges * sizeof *g->merges);
    if (!g->merges)
        return view_nomem(w);
    for (size_t r = 0; r < v->n_merges; r++) {
        const struct tv_merge *mg = &v->merges[r];
        size_t left_spaces = 0, right_spaces = 0;
        if (!v->ggml_model) {
            for (size_t i = 0; i < mg->left_len; i++)
                left_spaces += mg->left[i] == ' ';
            for (size_t i = 0; i < mg->right_len; i++)
                right_spaces += mg->right[i] == ' ';
        }
        /* each space becomes the two bytes of U+0120 */
        size_t n = (size_t)mg->left_len + mg->right_len + 1 + left_spaces + right_spaces;
        char *s = tv_arena_alloc(&g->arena, n + 1), *o = s;
        if (!s)
            return view_nomem(w);
        for (int side = 0; side < 2; side++) {
            const char *p = side ? mg->right : mg->left;
            size_t len = side ? mg->right_len : mg->left_len;
            for (size_t i = 0; i < len; i++) {
                if (p[i] == ' ' && !v->ggml_model)
                    *o++ = '\xc4', *o++ = '\xa0';
                else
                    *o++ = p[i];
            }
            if (!side)
                *o++ = ' ';
        }
        *o = '\0';
        g->merges[r] = (struct tv_str){s, (uint64_t)(o - s)};
    }
    g->n_merges = v->n_merges;
    return 0;
}

static int64_t valid_id(int64_t id, size_t n_tokens)
{
    return id >= 0 && (uint64_t)id < n_tokens ? id : -1;
}

/* The id of TemplateProcessing special token `name` (special_tokens[name].ids[0]). */
static int64_t template_id(const cJSON *pp, const char *name)
{
    const cJSON *entry = get(get(pp, "special_tokens"), name);
    const cJSON *ids = cJSON_IsObject(entry) ? get(entry, "ids") : NULL;
    int64_t id;
    if (!cJSON_IsArray(ids) || !ids->child || tv_json_int(ids->child, &id) < 0)
        return -1;
    return id;
}

static const char *template_special(const cJSON *element)
{
    const cJSON *special = get(element, "SpecialToken");
    const cJSON *id = cJSON_IsObject(special) ? get(special, "id") : NULL;
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* gguf-py SpecialVocab's reading of a post-processor: add_bos/add_eos and the ids they add. */
static void template_flags(struct tv_ggml_vocab *g, const cJSON *pp, int depth)
{
    if (!cJSON_IsObject(pp) || depth > 8)
        return;
    if (is_type(pp, "Sequence")) {
        const cJSON *list = get(pp, "processors");
        if (cJSON_IsArray(list))
            for (const cJSON *e = list->child; e; e = e->next)
                template_flags(g, e, depth + 1);
        return;
    }
    if (is_type(pp, "RobertaProcessing")) {
        g->add_bos = g->add_eos = 1;
        return;
    }
    if (!is_type(pp, "TemplateProcessing"))
        return;
    const cJSON *single = get(pp, "single");
    if (!cJSON_IsArray(single) || cJSON_GetArraySize(single) < 2)
        return;
    const cJSON *last = single->child;
    while (last->next)
        last = last->next;
    const char *first_name = template_special(single->child);
    const char *last_name = template_special(last);
    if (first_name) {
        int64_t id = valid_id(template_id(pp, first_name), g->n_tokens);
        int64_t *bos = &g->special[TV_SPECIAL_BOS], cls = g->special[TV_SPECIAL_CLS];
        if (*bos < 0)
            *bos = cls >= 0 ? cls : id;
        g->add_bos = id >= 0 && (id == *bos || id == cls);
    }
    if (last_name) {
        int64_t id = valid_id(template_id(pp, last_name), g->n_tokens);
        if (id >= 0) {
            g->special[TV_SPECIAL_EOS] = id;
            g->add_eos = 1;
        }
    }
}

static int config_bool(const tv_model *m, const char *key)
{
    const struct tv_meta *meta = tv_model_meta_find_origin(m, TV_ORIGIN_TOKENIZER_CONFIG, key);
    int64_t value;
    if (!meta || meta->value.type != TV_VALUE_BOOL || tv_value_int(&meta->value, &value) < 0)
        return -1;
    return value != 0;
}

static int fill_flags(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        g->special[s] = valid_id(v->special[s], v->n_tokens);
    g->add_bos = v->add_bos;
    g->add_eos = v->add_eos;
    template_flags(g, v->post_processor, 0);
    int config_bos = config_bool(w->m, "add_bos_token");
    int config_eos = config_bool(w->m, "add_eos_token");
    if (config_bos >= 0)
        g->add_bos = config_bos;
    if (config_eos >= 0)
        g->add_eos = config_eos;

    if (w->kind == GGML_LLAMA || w->kind == GGML_T5) {
        if (v->json)
            g->add_space_prefix =
                contains(v->normalizer, "normalizers", is_metaspace_prepend, 0) ||
                contains(v->pre_tokenizer, "pretokenizers", is_prefixing_metaspace, 0);
        else
            g->add_space_prefix = v->add_space_prefix;
    }
    if (spm_source(w->m, v)) {
        const struct tv_meta *ws = tv_model_meta_find(w->m, "sentencepiece.remove_extra_whitespaces");
        const struct tv_meta *cm = tv_model_meta_find(w->m, "sentencepiece.precompiled_charsmap");
        int64_t value;
        if (ws && tv_value_int(&ws->value, &value) == 0)
            g->remove_extra_whitespaces = value != 0;
        if (w->kind == GGML_T5 && cm && cm->value.type == TV_VALUE_ARRAY &&
            (cm->value.as.arr.elem_type == TV_VALUE_U8 || cm->value.as.arr.elem_type == TV_VALUE_I8) &&
            cm->value.as.arr.n) {
            g->precompiled_charsmap = cm->value.as.arr.data;
            g->precompiled_charsmap_len = (size_t)cm->value.as.arr.n;
        }
    }
    /* A tokenizer.json Precompiled normalizer holds the same table in base64. */
    if (w->kind == GGML_T5 && v->json && !g->precompiled_charsmap) {
        const cJSON *n = v->normalizer;
        const cJSON *pc = NULL;
        if (is_precompiled(n))
            pc = n;
        else if (is_type(n, "Sequence") && cJSON_IsArray(get(n, "normalizers")))
            for (const cJSON *e = get(n, "normalizers")->child; e && !pc; e = e->next)
                if (is_precompiled(e))
                    pc = e;
        const cJSON *b64 = pc ? get(pc, "precompiled_charsmap") : NULL;
        if (cJSON_IsString(b64) && *b64->valuestring) {
            size_t len;
            uint8_t *table = base64_decode(&g->arena, b64->valuestring, &len);
            if (table && len) {
                g->precompiled_charsmap = table;
                g->precompiled_charsmap_len = len;
            }
        }
    }
    return 0;
}

/* The GGUF arrays of a GGUF source, as they were. */
static int view_of_gguf(struct view *w)
{
    const struct tv_vocab *v = w->v;
    struct tv_ggml_vocab *g = w->g;
    g->model = v->ggml_model;
    g->pre = v->ggml_pre;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        g->tokens[id] = (struct tv_str){t->text ? t->text : "", t->text ? t->len : 0};
        g->types[id] = t->type;
    }
    if (tv_model_meta_find_origin(w->m, TV_ORIGIN_GGUF, "tokenizer.ggml.scores")) {
        g->scores = tv_malloc(v->n_tokens * sizeof *g->scores);
        if (!g->scores)
            return view_nomem(w);
        for (size_t id = 0; id < v->n_tokens; id++)
            g->scores[id] = v->tokens[id].score;
    }
    if (fill_merges(w) < 0)
        return -1;
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        g->special[s] = valid_id(v->special[s], v->n_tokens);
    g->add_bos = v->add_bos;
    g->add_eos = v->add_eos;
    g->add_space_prefix = v->add_space_prefix;
    const struct tv_meta *ws =
        tv_model_meta_find_origin(w->m, TV_ORIGIN_GGUF, "tokenizer.ggml.remove_extra_whitespaces");
    int64_t value;
    if (ws && tv_value_int(&ws->value, &value) == 0)
        g->remove_extra_whitespaces = value != 0;
    const struct tv_meta *cm =
        tv_model_meta_find_origin(w->m, TV_ORIGIN_GGUF, "tokenizer.ggml.precompiled_charsmap");
    if (cm && cm->value.type == TV_VALUE_ARRAY &&
        (cm->value.as.arr.elem_type == TV_VALUE_U8 || cm->value.as.arr.elem_type == TV_VALUE_I8)) {
        g->precompiled_charsmap = cm->value.as.arr.data;
        g->precompiled_charsmap_len = (size_t)cm->value.as.arr.n;
    }
    return 0;
}

/* The first component type of node (Sequences flattened) that is not in allowed. */
static const char *first_foreign(const cJSON *node, const char *list_key,
                                 const char *const *allowed, int depth)
{
    if (!cJSON_IsObject(node) || depth > 8)
        return NULL;
    const cJSON *type = get(node, "type");
    if (!cJSON_IsString(type))
        return "untyped";
    if (strcmp(type->valuestring, "Sequence") == 0) {
        const cJSON *list = get(node, list_key);
        for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next) {
            const char *found = first_foreign(e, list_key, allowed, depth + 1);
            if (found)
                return found;
        }
        return NULL;
    }
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, type->valuestring) == 0)
            return NULL;
    return type->valuestring;
}

/* Notes what of a tokenizer.json the chosen GGUF model has no place for. */
static int note_dropped(struct view *w)
{
    static const char *const gpt2_norm[] = {NULL};
    static const char *const gpt2_pre[] = {"ByteLevel", "Split", "Digits", "Punctuation", NULL};
    static const char *const gpt2_dec[] = {"ByteLevel", NULL};
    static const char *const llama_norm[] = {"Prepend", "Replace", NULL};
    static const char *const llama_pre[] = {"Metaspace", NULL};
    static const char *const llama_dec[] = {"Replace", "ByteFallback", "Fuse", "Strip",
                                            "Metaspace", NULL};
    static const char *const bert_norm[] = {"BertNormalizer", NULL};
    static const char *const bert_pre[] = {"BertPreTokenizer", NULL};
    static const char *const bert_dec[] = {"WordPiece", NULL};
    static const char *const t5_norm[] = {"Precompiled", "Replace", "Strip", NULL};
    static const char *const t5_pre[] = {"Metaspace", "WhitespaceSplit", NULL};
    static const char *const t5_dec[] = {"Metaspace", NULL};
    static const char *const *const allowed[][3] = {
        [GGML_GPT2] = {gpt2_norm, gpt2_pre, gpt2_dec},
        [GGML_LLAMA] = {llama_norm, llama_pre, llama_dec},
        [GGML_BERT] = {bert_norm, bert_pre, bert_dec},
        [GGML_T5] = {t5_norm, t5_pre, t5_dec},
    };
    const struct tv_vocab *v = w->v;
    if (!v->json)
        return 0;
    const char *norm = first_foreign(v->normalizer, "normalizers", allowed[w->kind][0], 0);
    const char *pre = first_foreign(v->pre_tokenizer, "pretokenizers", allowed[w->kind][1], 0);
    const char *dec = first_foreign(v->decoder, "decoders", allowed[w->kind][2], 0);
    if (w->kind == GGML_GPT2 && !pre && w->g->pre_unrecognised && v->pre_tokenizer)
        pre = is_type(v->pre_tokenizer, "Sequence") ? "Sequence" : "unrecognised";
    if (!norm && !pre && !dec)
        return 0;
    char note[512];
    int n = 0;
    const char *parts[3][2] = {{"normalizer", norm}, {"pre_tokenizer", pre}, {"decoder", dec}};
    for (int i = 0; i < 3; i++)
        if (parts[i][1])
            n += snprintf(note + n, sizeof note - (size_t)n, "%s%s '%.100s'", n ? "; " : "",
                          parts[i][0], parts[i][1]);
    w->g->dropped = tv_arena_strndup(&w->g->arena, note, strlen(note));
    return w->g->dropped ? 0 : view_nomem(w);
}

/* llama.cpp refuses a vocabulary in which one text has two ids. */
static int check_unique(struct view *w)
{
    struct tv_ggml_vocab *g = w->g;
    struct tv_strmap seen;
    int rc = 0;
    tv_strmap_init(&seen);
    for (size_t id = 0; id < g->n_tokens && rc == 0; id++) {
        uint64_t first;
        int put = tv_strmap_put(&seen, g->tokens[id].ptr, (size_t)g->tokens[id].len, id, &first);
        if (put < 0) {
            rc = view_nomem(w);
        } else if (put == 0) {
            char q[256];
            tv_quote(q, sizeof q, g->tokens[id].ptr, (size_t)g->tokens[id].len);
            rc = tv_error_set(w->err, TV_ERR_DATA,
                              "%s: tokens %llu and %zu are both '%s' in GGUF form; llama.cpp "
                              "refuses a vocabulary with a repeated token", w->file,
                              (unsigned long long)first, id, q);
        }
    }
    tv_strmap_release(&seen);
    return rc;
}

static const char *hf_json_text(const tv_model *m, const struct tv_vocab *v, size_t *len)
{
    if (v->json_text) {
        *len = v->json_text_len;
        return v->json_text;
    }
    const struct tv_meta *meta =
        tv_model_meta_find_origin(m, TV_ORIGIN_GGUF, "tokenizer.huggingface.json");
    if (meta && meta->value.type == TV_VALUE_STRING) {
        *len = (size_t)meta->value.as.str.len;
        return meta->value.as.str.ptr;
    }
    return NULL;
}

int tv_ggml_vocab_from_model(const tv_model *m, struct tv_ggml_vocab *out, tv_error *err)
{
    memset(out, 0, sizeof *out);
    tv_arena_init(&out->arena);
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        out->special[s] = -1;
    out->add_bos = out->add_eos = out->add_space_prefix = out->remove_extra_whitespaces = -1;
    const struct tv_vocab *v = tv_model_vocab(m);
    struct view w = {.m = m, .v = v, .g = out, .file = vocab_name(m, v), .err = err};
    if (!v || v->n_tokens == 0)
        return tv_error_set(err, TV_ERR_NOTFOUND, "%s: the model has no vocabulary",
                            tv_model_path(m));
    out->hf_json = hf_json_text(m, v, &out->hf_json_len);
    out->n_tokens = v->n_tokens;
    out->tokens = tv_calloc(v->n_tokens, sizeof *out->tokens);
    out->types = tv_calloc(v->n_tokens, sizeof *out->types);
    if (!out->tokens || !out->types)
        goto nomem;
    if (v->ggml_model) {
        if (view_of_gguf(&w) < 0)
            goto fail;
        return 0;
    }
    if (choose_model(&w) < 0 || fill_tokens(&w) < 0 || fill_scores(&w) < 0 ||
        fill_merges(&w) < 0 || fill_flags(&w) < 0 || check_unique(&w) < 0)
        goto fail;
    switch (w.kind) {
    case GGML_GPT2:
        out->model = "gpt2";
        out->pre = v->json ? recognise_pre(v) : v->byte_level ? "gpt-2" : NULL;
        out->pre_unrecognised = out->pre == NULL;
        break;
    case GGML_LLAMA: out->model = "llama"; out->pre = "default"; break;
    case GGML_BERT: out->model = "bert"; out->pre = "default"; break;
    case GGML_T5: out->model = "t5"; out->pre = "default"; break;
    }
    if (note_dropped(&w) < 0)
        goto fail;
    return 0;
nomem:
    view_nomem(&w);
fail:
    tv_ggml_vocab_release(out);
    return -1;
}

void tv_ggml_vocab_release(struct tv_ggml_vocab *v)
{
    if (!v)
        return;
    tv_free(v->tokens);
    tv_free(v->scores);
    tv_free(v->types);
    tv_free(v->merges);
    tv_arena_release(&v->arena);
    memset(v, 0, sizeof *v);
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        v->special[s] = -1;
    v->add_bos = v->add_eos = v->add_space_prefix = v->remove_extra_whitespaces = -1;
}

/* ---- building tokenizer.json ------------------------------------------------------------- */

struct builder {
    const tv_model *m;
    const struct tv_ggml_vocab *g;
    const char *file;
    tv_error *err;
    bool oom;
    bool failed;          /* err holds a message of its own */
    bool gguf;            /* the view is a GGUF's own: llama.cpp's defaults apply */
    /* The tokens as tokenizer.json spells them (bert: the phantom space undone). */
    const char **text;
    size_t *len;
    struct tv_arena arena;
};

/* Adds item to parent (an object when key is given, else an array). Any failure marks
   the builder out of memory and frees item; callers check b->oom once at the end. */
static cJSON *add(struct builder *b, cJSON *parent, const char *key, cJSON *item)
{
    if (!item) {
        b->oom = true;
        return NULL;
    }
    if (!parent || !(key ? cJSON_AddItemToObject(parent, key, item)
                         : cJSON_AddItemToArray(parent, item))) {
        cJSON_Delete(item);
        b->oom = true;
        return NULL;
    }
    return item;
}

static cJSON *add_str(struct builder *b, cJSON *parent, const char *key, const char *s)
{
    return add(b, parent, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static cJSON *add_num(struct builder *b, cJSON *parent, const char *key, double x)
{
    return add(b, parent, key, cJSON_CreateNumber(x));
}

static cJSON *add_bool(struct builder *b, cJSON *parent, const char *key, bool x)
{
    return add(b, parent, key, cJSON_CreateBool(x));
}

static cJSON *add_typed(struct builder *b, cJSON *parent, const char *key, const char *type)
{
    cJSON *o = add(b, parent, key, cJSON_CreateObject());
    add_str(b, o, "type", type);
    return o;
}

static void add_replace(struct builder *b, cJSON *list, const char *from, const char *to)
{
    cJSON *r = add_typed(b, list, NULL, "Replace");
    cJSON *pattern = add(b, r, "pattern", cJSON_CreateObject());
    add_str(b, pattern, "String", from);
    add_str(b, r, "content", to);
}

static void add_pre_step(struct builder *b, cJSON *parent, const char *key,
                         const struct pre_step *s)
{
    cJSON *o;
    switch (s->kind) {
    case STEP_SPLIT:
        o = add_typed(b, parent, key, "Split");
        add_str(b, add(b, o, "pattern", cJSON_CreateObject()), "Regex", s->regex);
        add_str(b, o, "behavior", "Isolated");
        add_bool(b, o, "invert", false);
        break;
    case STEP_BYTELEVEL:
        o = add_typed(b, parent, key, "ByteLevel");
        add_bool(b, o, "add_prefix_space", false);
        add_bool(b, o, "trim_offsets", true);
        add_bool(b, o, "use_regex", s->flag);
        break;
    case STEP_DIGITS:
        o = add_typed(b, parent, key, "Digits");
        add_bool(b, o, "individual_digits", s->flag);
        break;
    case STEP_PUNCTUATION:
        o = add_typed(b, parent, key, "Punctuation");
        add_str(b, o, "behavior", "Contiguous");
        break;
    case STEP_END:
        break;
    }
}

static void add_pre_tokenizer(struct builder *b, cJSON *doc, const struct pre_recipe *r)
{
    size_t n = 0;
    while (n < MAX_PRE_STEPS && r->steps[n].kind != STEP_END)
        n++;
    if (n == 1) {
        add_pre_step(b, doc, "pre_tokenizer", &r->steps[0]);
        return;
    }
    cJSON *seq = add_typed(b, doc, "pre_tokenizer", "Sequence");
    cJSON *list = add(b, seq, "pretokenizers", cJSON_CreateArray());
    for (size_t i = 0; i < n; i++)
        add_pre_step(b, list, NULL, &r->steps[i]);
}

static void add_bytelevel(struct builder *b, cJSON *parent, const char *key, bool trim_offsets)
{
    cJSON *o = add_typed(b, parent, key, "ByteLevel");
    add_bool(b, o, "add_prefix_space", true);
    add_bool(b, o, "trim_offsets", trim_offsets);
    add_bool(b, o, "use_regex", true);
}

static void template_piece(struct builder *b, cJSON *list, const char *kind, const char *id,
                           int type_id)
{
    cJSON *o = add(b, list, NULL, cJSON_CreateObject());
    cJSON *inner = add(b, o, kind, cJSON_CreateObject());
    add_str(b, inner, "id", id);
    add_num(b, inner, "type_id", type_id);
}

static void template_token(struct builder *b, cJSON *specials, int64_t id)
{
    const char *text = b->text[id];
    if (get(specials, text))
        return;
    cJSON *o = add(b, specials, text, cJSON_CreateObject());
    add_str(b, o, "id", text);
    add_num(b, add(b, o, "ids", cJSON_CreateArray()), NULL, (double)id);
    add_str(b, add(b, o, "tokens", cJSON_CreateArray()), NULL, text);
}

/* TemplateProcessing adding first/last (ids, or -1) around each sequence; the pair
   repeats first before B only when repeat_first (Llama does, BERT does not). */
static cJSON *template_processing(struct builder *b, cJSON *parent, const char *key,
                                  int64_t first, int64_t last, bool repeat_first)
{
    cJSON *tp = add_typed(b, parent, key, "TemplateProcessing");
    cJSON *single = add(b, tp, "single", cJSON_CreateArray());
    cJSON *pair = add(b, tp, "pair", cJSON_CreateArray());
    const char *f = first >= 0 ? b->text[first] : NULL, *l = last >= 0 ? b->text[last] : NULL;
    if (f)
        template_piece(b, single, "SpecialToken", f, 0);
    template_piece(b, single, "Sequence", "A", 0);
    if (l)
        template_piece(b, single, "SpecialToken", l, 0);
    if (f)
        template_piece(b, pair, "SpecialToken", f, 0);
    template_piece(b, pair, "Sequence", "A", 0);
    if (l)
        template_piece(b, pair, "SpecialToken", l, 0);
    if (f && repeat_first)
        template_piece(b, pair, "SpecialToken", f, 1);
    template_piece(b, pair, "Sequence", "B", 1);
    if (l)
        template_piece(b, pair, "SpecialToken", l, 1);
    cJSON *specials = add(b, tp, "special_tokens", cJSON_CreateObject());
    if (f)
        template_token(b, specials, first);
    if (l)
        template_token(b, specials, last);
    return tp;
}

static void added_tokens(struct builder *b, cJSON *doc)
{
    const struct tv_ggml_vocab *g = b->g;
    cJSON *list = add(b, doc, "added_tokens", cJSON_CreateArray());
    for (size_t id = 0; id < g->n_tokens && !b->oom; id++) {
        int type = g->types[id];
        if (type != TV_TOKEN_CONTROL && type != TV_TOKEN_USER_DEFINED)
            continue;
        cJSON *o = add(b, list, NULL, cJSON_CreateObject());
        add_num(b, o, "id", (double)id);
        add_str(b, o, "content", b->text[id]);
        add_bool(b, o, "single_word", false);
        add_bool(b, o, "lstrip", false);
        add_bool(b, o, "rstrip", false);
        /* llama.cpp matches both kinds against the raw text. */
        add_bool(b, o, "normalized", false);
        add_bool(b, o, "special", type == TV_TOKEN_CONTROL);
    }
}

/* model.vocab as {token: id}; llama.cpp's "[PAD<id>]" fillers are left out (holes). */
static void vocab_object(struct builder *b, cJSON *model)
{
    const struct tv_ggml_vocab *g = b->g;
    cJSON *vocab = add(b, model, "vocab", cJSON_CreateObject());
    for (size_t id = 0; id < g->n_tokens && !b->oom; id++) {
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%zu]", id);
        if (g->types[id] == TV_TOKEN_UNUSED && strcmp(b->text[id], pad) == 0)
            continue;
        add_num(b, vocab, b->text[id], (double)id);
    }
}

/* The special id, else llama.cpp's default for the tokenizer model (which it assumes only
   for a GGUF: for other sources an id nobody named stays unnamed). */
static int64_t special_or(const struct builder *b, enum tv_special s, int64_t fallback)
{
    const struct tv_ggml_vocab *g = b->g;
    if (g->special[s] >= 0)
        return g->special[s];
    return b->gguf && fallback >= 0 && (uint64_t)fallback < g->n_tokens ? fallback : -1;
}

static void build_gpt2(struct builder *b, cJSON *doc, const struct pre_recipe *recipe)
{
    const struct tv_ggml_vocab *g = b->g;
    add(b, doc, "normalizer", cJSON_CreateNull());
    add_pre_tokenizer(b, doc, recipe);
    int add_bos = g->add_bos >= 0 ? g->add_bos : strcmp(recipe->name, "llama-bpe") == 0 ||
                                                   strcmp(recipe->name, "tekken") == 0;
    int64_t bos = add_bos > 0 ? g->special[TV_SPECIAL_BOS] : -1;
    int64_t eos = g->add_eos > 0 ? g->special[TV_SPECIAL_EOS] : -1;
    if (bos >= 0 || eos >= 0) {
        cJSON *seq = add_typed(b, doc, "post_processor", "Sequence");
        cJSON *list = add(b, seq, "processors", cJSON_CreateArray());
        add_bytelevel(b, list, NULL, false);
        template_processing(b, list, NULL, bos, eos, true);
    } else {
        add_bytelevel(b, doc, "post_processor", false);
    }
    add_bytelevel(b, doc, "decoder", true);
    cJSON *model = add_typed(b, doc, "model", "BPE");
    add(b, model, "dropout", cJSON_CreateNull());
    int64_t unk = g->special[TV_SPECIAL_UNK];
    add_str(b, model, "unk_token", unk >= 0 ? b->text[unk] : NULL);
    add(b, model, "continuing_subword_prefix", cJSON_CreateNull());
    add(b, model, "end_of_word_suffix", cJSON_CreateNull());
    add_bool(b, model, "fuse_unk", false);
    add_bool(b, model, "byte_fallback", false);
    add_bool(b, model, "ignore_merges", recipe->sets_ignore_merges);
    vocab_object(b, model);
    cJSON *merges = add(b, model, "merges", cJSON_CreateArray());
    for (size_t r = 0; r < g->n_merges && !b->oom; r++) {
        const char *s = g->merges[r].ptr;
        size_t len = (size_t)g->merges[r].len;
        /* llama.cpp splits at the first space after the first byte. */
        const char *space = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!space) {
            tv_error_set(b->err, TV_ERR_DATA, "%s: merge %zu is not two parts separated by a "
                         "space", b->file, r);
            b->failed = true;
            return;
        }
        cJSON *pair = add(b, merges, NULL, cJSON_CreateArray());
        char *left = tv_strndup(s, (size_t)(space - s));
        char *right = tv_strndup(space + 1, len - (size_t)(space - s) - 1);
        if (left && right) {
            add_str(b, pair, NULL, left);
            add_str(b, pair, NULL, right);
        } else {
            b->oom = true;
        }
        tv_free(left);
        tv_free(right);
    }
}

struct spm_merge {
    float score;
    uint32_t piece, left, right;
};

static int spm_merge_order(const void *pa, const void *pb)
{
    const struct spm_merge *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->piece != b->piece)
        return a->piece < b->piece ? -1 : 1;
    if (a->left != b->left)
        return a->left < b->left ? -1 : 1;
    return a->right < b->right ? -1 : a->right > b->right;
}

/*
 * The merges of a SentencePiece BPE vocabulary, the way Hugging Face's converter derives
 * them from the pieces: every split of a normal piece into two normal pieces, ordered by
 * the piece's score (higher first), then by piece id, then by the ids of the two parts.
 */
static int spm_merges(struct builder *b, cJSON *model)
{
    const struct tv_ggml_vocab *g = b->g;
    struct tv_strmap index;
    struct spm_merge *list = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    tv_strmap_init(&index);
    for (size_t id = 0; id < g->n_tokens; id++)
        if (g->types[id] == TV_TOKEN_NORMAL &&
            tv_strmap_put(&index, b->text[id], b->len[id], id, NULL) < 0)
            goto nomem;
    for (size_t id = 0; id < g->n_tokens; id++) {
        if (g->types[id] != TV_TOKEN_NORMAL || b->len[id] > MAX_MERGED_PIECE)
            continue;
        const char *s = b->text[id];
        size_t len = b->len[id];
        for (size_t cut = utf8_len((unsigned char)s[0]); cut < len;
             cut += utf8_len((unsigned char)s[cut])) {
            uint64_t left, right;
            if (!tv_strmap_get(&index, s, cut, &left) ||
                !tv_strmap_get(&index, s + cut, len - cut, &right))
                continue;
            if (tv_grow((void **)&list, &cap, n + 1, sizeof *list, b->err) < 0)
                goto nomem;
            list[n++] = (struct spm_merge){g->scores ? g->scores[id] : -(float)id, (uint32_t)id,
                                           (uint32_t)left, (uint32_t)right};
        }
    }
    if (n)
        qsort(list, n, sizeof *list, spm_merge_order);
    cJSON *merges = add(b, model, "merges", cJSON_CreateArray());
    for (size_t i = 0; i < n && !b->oom; i++) {
        cJSON *pair = add(b, merges, NULL, cJSON_CreateArray());
        add_str(b, pair, NULL, b->text[list[i].left]);
        add_str(b, pair, NULL, b->text[list[i].right]);
    }
    rc = 0;
    goto out;
nomem:
    b->oom = true;
out:
    tv_free(list);
    tv_strmap_release(&index);
    return rc;
}

static void build_llama(struct builder *b, cJSON *doc)
{
    const struct tv_ggml_vocab *g = b->g;
    bool prefix = g->add_space_prefix != 0; /* llama.cpp's default for SPM is on */
    cJSON *norm = add_typed(b, doc, "normalizer", "Sequence");
    cJSON *list = add(b, norm, "normalizers", cJSON_CreateArray());
    if (prefix)
        add_str(b, add_typed(b, list, NULL, "Prepend"), "prepend", METASPACE);
    add_replace(b, list, " ", METASPACE);
    add(b, doc, "pre_tokenizer", cJSON_CreateNull());
    int64_t bos = g->add_bos != 0 ? special_or(b, TV_SPECIAL_BOS, 1) : -1;
    int64_t eos = g->add_eos > 0 ? special_or(b, TV_SPECIAL_EOS, 2) : -1;
    if (bos >= 0 || eos >= 0)
        template_processing(b, doc, "post_processor", bos, eos, true);
    else
        add(b, doc, "post_processor", cJSON_CreateNull());
    cJSON *dec = add_typed(b, doc, "decoder", "Sequence");
    cJSON *steps = add(b, dec, "decoders", cJSON_CreateArray());
    add_replace(b, steps, METASPACE, " ");
    add_typed(b, steps, NULL, "ByteFallback");
    add_typed(b, steps, NULL, "Fuse");
    if (prefix) {
        cJSON *strip = add_typed(b, steps, NULL, "Strip");
        add_str(b, strip, "content", " ");
        add_num(b, strip, "start", 1);
        add_num(b, strip, "stop", 0);
    }
    cJSON *model = add_typed(b, doc, "model", "BPE");
    add(b, model, "dropout", cJSON_CreateNull());
    int64_t unk = special_or(b, TV_SPECIAL_UNK, 0);
    add_str(b, model, "unk_token", unk >= 0 ? b->text[unk] : NULL);
    add(b, model, "continuing_subword_prefix", cJSON_CreateNull());
    add(b, model, "end_of_word_suffix", cJSON_CreateNull());
    add_bool(b, model, "fuse_unk", true);
    add_bool(b, model, "byte_fallback", true);
    add_bool(b, model, "ignore_merges", false);
    vocab_object(b, model);
    spm_merges(b, model);
}

static void build_bert(struct builder *b, cJSON *doc)
{
    const struct tv_ggml_vocab *g = b->g;
    /* A cased vocabulary has upper-case letters in its ordinary tokens. */
    bool lowercase = true;
    for (size_t id = 0; id < g->n_tokens && lowercase; id++)
        if (g->types[id] == TV_TOKEN_NORMAL)
            for (size_t i = 0; i < b->len[id]; i++)
                if (b->text[id][i] >= 'A' && b->text[id][i] <= 'Z' &&
                    !(b->text[id][0] == '[' && b->text[id][b->len[id] - 1] == ']')) {
                    lowercase = false;
                    break;
                }
    cJSON *norm = add_typed(b, doc, "normalizer", "BertNormalizer");
    add_bool(b, norm, "clean_text", true);
    add_bool(b, norm, "handle_chinese_chars", true);
    add(b, norm, "strip_accents", cJSON_CreateNull());
    add_bool(b, norm, "lowercase", lowercase);
    add_typed(b, doc, "pre_tokenizer", "BertPreTokenizer");
    int64_t cls = g->add_bos != 0 ? special_or(b, TV_SPECIAL_CLS,
                                               special_or(b, TV_SPECIAL_BOS, 101)) : -1;
    int64_t sep = special_or(b, TV_SPECIAL_SEP, special_or(b, TV_SPECIAL_EOS, 102));
    if (cls >= 0 || sep >= 0)
        template_processing(b, doc, "post_processor", cls, sep, false);
    else
        add(b, doc, "post_processor", cJSON_CreateNull());
    cJSON *dec = add_typed(b, doc, "decoder", "WordPiece");
    add_str(b, dec, "prefix", "##");
    add_bool(b, dec, "cleanup", true);
    cJSON *model = add_typed(b, doc, "model", "WordPiece");
    int64_t unk = special_or(b, TV_SPECIAL_UNK, 100);
    add_str(b, model, "unk_token", unk >= 0 ? b->text[unk] : "[UNK]");
    add_str(b, model, "continuing_subword_prefix", "##");
    add_num(b, model, "max_input_chars_per_word", 100);
    vocab_object(b, model);
}

static void add_metaspace(struct builder *b, cJSON *doc, const char *key, bool prefix)
{
    cJSON *o = add_typed(b, doc, key, "Metaspace");
    add_str(b, o, "replacement", METASPACE);
    add_str(b, o, "prepend_scheme", prefix ? "always" : "never");
    add_bool(b, o, "split", false);
}

static void build_t5(struct builder *b, cJSON *doc)
{
    const struct tv_ggml_vocab *g = b->g;
    bool prefix = g->add_space_prefix > 0; /* llama.cpp's UGM default is off */
    cJSON *norm = add_typed(b, doc, "normalizer", "Sequence");
    cJSON *list = add(b, norm, "normalizers", cJSON_CreateArray());
    if (g->precompiled_charsmap && g->precompiled_charsmap_len) {
        char *b64 = base64_encode(g->precompiled_charsmap, g->precompiled_charsmap_len);
        cJSON *pc = add_typed(b, list, NULL, "Precompiled");
        add_str(b, pc, "precompiled_charsmap", b64);
        if (!b64)
            b->oom = true;
        tv_free(b64);
    }
    if (g->remove_extra_whitespaces > 0) {
        cJSON *strip = add_typed(b, list, NULL, "Strip");
        add_bool(b, strip, "strip_left", true);
        add_bool(b, strip, "strip_right", true);
        cJSON *r = add_typed(b, list, NULL, "Replace");
        add_str(b, add(b, r, "pattern", cJSON_CreateObject()), "Regex", " {2,}");
        add_str(b, r, "content", " ");
    }
    add_metaspace(b, doc, "pre_tokenizer", prefix);
    int64_t bos = g->add_bos > 0 ? g->special[TV_SPECIAL_BOS] : -1;
    /* llama.cpp's UGM adds EOS unless told not to; for other sources only when asked. */
    int64_t eos = g->add_eos > 0 || (b->gguf && g->add_eos < 0) ? special_or(b, TV_SPECIAL_EOS, 1)
                                                                 : -1;
    if (bos >= 0 || eos >= 0)
        template_processing(b, doc, "post_processor", bos, eos, true);
    else
        add(b, doc, "post_processor", cJSON_CreateNull());
    add_metaspace(b, doc, "decoder", prefix);
    cJSON *model = add_typed(b, doc, "model", "Unigram");
    int64_t unk = special_or(b, TV_SPECIAL_UNK, 2);
    add(b, model, "unk_id", unk >= 0 ? cJSON_CreateNumber((double)unk) : cJSON_CreateNull());
    cJSON *vocab = add(b, model, "vocab", cJSON_CreateArray());
    for (size_t id = 0; id < g->n_tokens && !b->oom; id++) {
        cJSON *entry = add(b, vocab, NULL, cJSON_CreateArray());
        add_str(b, entry, NULL, b->text[id]);
        add_num(b, entry, NULL, g->scores ? (double)g->scores[id] : 0.0);
    }
    add_bool(b, model, "byte_fallback", false);
}

/* The inverse of llama.cpp's phantom space (see phantom()). */
static int undo_phantom(struct builder *b, size_t id)
{
    const struct tv_ggml_vocab *g = b->g;
    const char *s = g->tokens[id].ptr;
    size_t n = (size_t)g->tokens[id].len;
    char *out;
    if (g->types[id] == TV_TOKEN_CONTROL || (n >= 2 && s[0] == '[' && s[n - 1] == ']'))
        return 0;
    if (has_prefix(s, n, METASPACE)) {
        b->text[id] += METASPACE_LEN;
        b->len[id] -= METASPACE_LEN;
        return 0;
    }
    out = concat(&b->arena, "##", s, n, &b->len[id]);
    if (!out)
        return -1;
    b->text[id] = out;
    return 0;
}

/* The token texts as tokenizer.json spells them, each NUL-terminated valid UTF-8. */
static int prepare_texts(struct builder *b, bool bert)
{
    const struct tv_ggml_vocab *g = b->g;
    b->text = tv_calloc(g->n_tokens, sizeof *b->text);
    b->len = tv_calloc(g->n_tokens, sizeof *b->len);
    if (!b->text || !b->len)
        return tv_error_set(b->err, TV_ERR_NOMEM, "%s: out of memory", b->file);
    for (size_t id = 0; id < g->n_tokens; id++) {
        const char *s = g->tokens[id].ptr;
        size_t n = (size_t)g->tokens[id].len;
        if (!json_safe_utf8(s, n)) {
            char q[256];
            tv_quote(q, sizeof q, s, n);
            return tv_error_set(b->err, TV_ERR_UNSUPPORTED,
                                "%s: token %zu ('%s') is not valid UTF-8 or holds a NUL byte; "
                                "tokenizer.json cannot carry it", b->file, id, q);
        }
        /* GGUF strings are not NUL-terminated in general. */
        char *copy = tv_arena_strndup(&b->arena, s, n);
        if (!copy)
            return tv_error_set(b->err, TV_ERR_NOMEM, "%s: out of memory", b->file);
        b->text[id] = copy;
        b->len[id] = n;
        if (bert && undo_phantom(b, id) < 0)
            return tv_error_set(b->err, TV_ERR_NOMEM, "%s: out of memory", b->file);
    }
    return 0;
}

/* The finished document as compact text in *json (tv_free'd by the caller) and *len,
   unless building it ran out of memory (oom). Returns 0, or -1 with err. */
static int print_document(const cJSON *doc, bool oom, const char *file, char **json,
                          size_t *len, tv_error *err)
{
    char *text = oom ? NULL : cJSON_PrintUnformatted(doc);
    if (!text)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory writing tokenizer.json", file);
    *json = text;
    *len = strlen(text);
    return 0;
}

static int rebuild(const tv_model *m, const struct tv_ggml_vocab *g, const char *file,
                   char **json, size_t *len, tv_error *err)
{
    const struct tv_vocab *v = tv_model_vocab(m);
    struct builder b = {.m = m, .g = g, .file = file, .err = err, .gguf = v && v->ggml_model};
    cJSON *doc = NULL;
    const struct pre_recipe *recipe = NULL;
    int rc = -1;
    char q[256];
    tv_arena_init(&b.arena);
    enum ggml_kind kind;
    if (strcmp(g->model, "gpt2") == 0) {
        kind = GGML_GPT2;
        /* llama.cpp uses its default pre-tokenizer when the key is absent. */
        recipe = recipe_by_name(g->pre ? g->pre : "default");
        if (!recipe) {
            tv_quote(q, sizeof q, g->pre, strlen(g->pre));
            tv_error_set(err, TV_ERR_UNSUPPORTED,
                         "%s: tokenizer.ggml.pre '%s' is not a pre-tokenizer tokvec can write "
                         "as tokenizer.json", file, q);
            goto out;
        }
    } else if (strcmp(g->model, "llama") == 0) {
        kind = GGML_LLAMA;
    } else if (strcmp(g->model, "bert") == 0) {
        kind = GGML_BERT;
    } else if (strcmp(g->model, "t5") == 0) {
        kind = GGML_T5;
    } else {
        tv_quote(q, sizeof q, g->model, strlen(g->model));
        tv_error_set(err, TV_ERR_UNSUPPORTED,
                     "%s: tokenizer.ggml.model '%s' has no tokenizer.json form (tokvec writes "
                     "gpt2, llama, bert and t5)", file, q);
        goto out;
    }
    if (kind == GGML_GPT2 && g->n_merges == 0) {
        tv_error_set(err, TV_ERR_DATA, "%s: a gpt2 vocabulary without merges", file);
        goto out;
    }
    if (prepare_texts(&b, kind == GGML_BERT) < 0)
        goto out;
    /* Two tokens with one text would collapse into one key of model.vocab. */
    {
        struct tv_strmap seen;
        tv_strmap_init(&seen);
        for (size_t id = 0; id < g->n_tokens && rc < 0; id++) {
            uint64_t first;
            int put = tv_strmap_put(&seen, b.text[id], b.len[id], id, &first);
            if (put < 0) {
                tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
                rc = -2;
            } else if (put == 0) {
                tv_quote(q, sizeof q, b.text[id], b.len[id]);
                tv_error_set(err, TV_ERR_DATA, "%s: tokens %llu and %zu are both '%s'", file,
                             (unsigned long long)first, id, q);
                rc = -2;
            }
        }
        tv_strmap_release(&seen);
        if (rc == -2) {
            rc = -1;
            goto out;
        }
    }
    doc = cJSON_CreateObject();
    if (!doc) {
        b.oom = true;
        goto done;
    }
    add_str(&b, doc, "version", "1.0");
    add(&b, doc, "truncation", cJSON_CreateNull());
    add(&b, doc, "padding", cJSON_CreateNull());
    added_tokens(&b, doc);
    switch (kind) {
    case GGML_GPT2: build_gpt2(&b, doc, recipe); break;
    case GGML_LLAMA: build_llama(&b, doc); break;
    case GGML_BERT: build_bert(&b, doc); break;
    case GGML_T5: build_t5(&b, doc); break;
    }
done:
    if (b.failed)
        goto out;
    rc = print_document(doc, b.oom, file, json, len, err);
out:
    cJSON_Delete(doc);
    tv_free(b.text);
    tv_free(b.len);
    tv_arena_release(&b.arena);
    return rc;
}

/* ---- word lists: tokenizer.json with a WordLevel model ----------------------------------- */

/* A vocabulary that is a plain list of words (word vectors, a --vocab token list): no
   tokenizer kind and no tokenizer description to carry. */
static bool word_list(const tv_model *m, const struct tv_vocab *v)
{
    return !v->json && !v->ggml_model && !spm_source(m, v) &&
           (v->kind == TV_TOKENIZER_NONE || v->kind == TV_TOKENIZER_WORDLEVEL);
}

/* The word list's unknown token: the one it names, else one typed unknown, else a word
   spelled the way tokenizers spell it. -1 when there is none. */
static int64_t word_list_unk(const struct tv_vocab *v, const struct tv_strmap *words)
{
    static const char *const names[] = {"<unk>", "[UNK]", "<UNK>", "UNK"};
    if (v->special[TV_SPECIAL_UNK] >= 0 && (uint64_t)v->special[TV_SPECIAL_UNK] < v->n_tokens &&
        v->tokens[v->special[TV_SPECIAL_UNK]].text)
        return v->special[TV_SPECIAL_UNK];
    for (size_t id = 0; id < v->n_tokens; id++)
        if (v->tokens[id].text && v->tokens[id].type == TV_TOKEN_UNKNOWN)
            return (int64_t)id;
    for (size_t k = 0; k < TV_ARRAY_SIZE(names); k++) {
        uint64_t id;
        if (tv_strmap_get(words, names[k], strlen(names[k]), &id))
            return (int64_t)id;
    }
    return -1;
}

/*
 * A word list as Hugging Face tokenizers' WordLevel model: model.vocab maps each word to
 * its id, the pre-tokenizer is WhitespaceSplit (word2vec, fastText and GloVe take their
 * words as whatever whitespace separates, punctuation included), no normalizer, and no
 * decoder (tokenizers then joins words with spaces). unk_token is the list's unknown word,
 * else "<unk>" (WordLevel's default), which then is not in the vocabulary. Refused: a word
 * that is not valid UTF-8, and a word listed twice (model.vocab is a JSON object).
 */
static int word_level_json(const tv_model *m, const struct tv_vocab *v, char **json,
                           size_t *len, tv_error *err)
{
    const char *file = vocab_name(m, v);
    struct builder b = {.m = m, .file = file, .err = err};
    struct tv_strmap words;
    cJSON *doc = NULL;
    int rc = -1;
    char q[256];
    tv_strmap_init(&words);
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        uint64_t first;
        if (!t->text)
            continue;
        if (!json_safe_utf8(t->text, t->len)) {
            tv_quote(q, sizeof q, t->text, t->len);
            tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: word %zu ('%s') is not valid UTF-8 or "
                         "holds a NUL byte; tokenizer.json cannot carry it", file, id, q);
            goto out;
        }
        int put = tv_strmap_put(&words, t->text, t->len, id, &first);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
            goto out;
        }
        if (put == 0) {
            tv_quote(q, sizeof q, t->text, t->len);
            tv_error_set(err, TV_ERR_DATA, "%s: words %llu and %zu are both '%s'; a WordLevel "
                         "tokenizer.json maps each word to one id", file,
                         (unsigned long long)first, id, q);
            goto out;
        }
    }
    int64_t unk = word_list_unk(v, &words);
    doc = cJSON_CreateObject();
    if (!doc) {
        b.oom = true;
        goto done;
    }
    add_str(&b, doc, "version", "1.0");
    add(&b, doc, "truncation", cJSON_CreateNull());
    add(&b, doc, "padding", cJSON_CreateNull());
    cJSON *added = add(&b, doc, "added_tokens", cJSON_CreateArray());
    for (size_t id = 0; id < v->n_tokens && !b.oom; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (!t->text || ((int64_t)id != unk && t->type != TV_TOKEN_CONTROL))
            continue;
        cJSON *o = add(&b, added, NULL, cJSON_CreateObject());
        add_num(&b, o, "id", (double)id);
        add_str(&b, o, "content", t->text);
        add_bool(&b, o, "single_word", false);
        add_bool(&b, o, "lstrip", false);
        add_bool(&b, o, "rstrip", false);
        add_bool(&b, o, "normalized", false);
        add_bool(&b, o, "special", true);
    }
    add(&b, doc, "normalizer", cJSON_CreateNull());
    add_typed(&b, doc, "pre_tokenizer", "WhitespaceSplit");
    add(&b, doc, "post_processor", cJSON_CreateNull());
    add(&b, doc, "decoder", cJSON_CreateNull());
    cJSON *model = add_typed(&b, doc, "model", "WordLevel");
    cJSON *vocab = add(&b, model, "vocab", cJSON_CreateObject());
    for (size_t id = 0; id < v->n_tokens && !b.oom; id++)
        if (v->tokens[id].text)
            add_num(&b, vocab, v->tokens[id].text, (double)id);
    add_str(&b, model, "unk_token", unk >= 0 ? v->tokens[unk].text : "<unk>");
done:
    rc = print_document(doc, b.oom, file, json, len, err);
out:
    cJSON_Delete(doc);
    tv_strmap_release(&words);
    return rc;
}

int tv_tokenizer_json_from_model(const tv_model *m, char **json, size_t *len, tv_error *err)
{
    *json = NULL;
    *len = 0;
    const struct tv_vocab *v = tv_model_vocab(m);
    if (!v || v->n_tokens == 0)
        return tv_error_set(err, TV_ERR_NOTFOUND, "%s: the model has no vocabulary",
                            tv_model_path(m));
    size_t n;
    const char *text = hf_json_text(m, v, &n);
    if (text) {
        *json = tv_malloc(n + 1);
        if (!*json)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory copying tokenizer.json",
                                vocab_name(m, v));
        memcpy(*json, text, n);
        (*json)[n] = '\0';
        *len = n;
        return 0;
    }
    if (word_list(m, v))
        return word_level_json(m, v, json, len, err);
    return tv_tokenizer_json_rebuild(m, json, len, err);
}

int tv_tokenizer_json_rebuild(const tv_model *m, char **json, size_t *len, tv_error *err)
{
    struct tv_ggml_vocab g;
    *json = NULL;
    *len = 0;
    if (tv_ggml_vocab_from_model(m, &g, err) < 0)
        return -1;
    int rc = rebuild(m, &g, vocab_name(m, tv_model_vocab(m)), json, len, err);
    tv_ggml_vocab_release(&g);
    return rc;
}
