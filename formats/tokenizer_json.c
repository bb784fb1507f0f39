/*
 * tokenizer.json: the serialisation of Hugging Face `tokenizers` (the Rust library
 * behind Python `transformers`). One JSON object:
 *
 *   1. "version": "1.0", "truncation", "padding"          not used here
 *   2. "added_tokens": [{"id": N, "content": "...", "single_word": b, "lstrip": b,
 *                        "rstrip": b, "normalized": b, "special": b}, ...]
 *      tokens added on top of the model vocabulary; an id beyond the model's ids
 *      extends the vocabulary
 *   3. "normalizer", "pre_tokenizer", "post_processor", "decoder": an object with a
 *      "type" (or null), kept as parsed for the tokenizer
 *   4. "model": {"type": T, ...} where T is
 *        "BPE"       vocab {token: id}, merges ["a b", ...] or [["a", "b"], ...] (rank =
 *                    position), dropout, unk_token, continuing_subword_prefix,
 *                    end_of_word_suffix, fuse_unk, byte_fallback, ignore_merges
 *        "WordPiece" vocab {token: id}, unk_token, continuing_subword_prefix,
 *                    max_input_chars_per_word
 *        "WordLevel" vocab {token: id}, unk_token
 *        "Unigram"   vocab [[piece, score], ...] (id = position), unk_id, byte_fallback
 *      Files written before "type" existed omit it; the model is then recognised by
 *      its fields, as the reference does.
 *
 * The whole document stays parsed in the vocabulary (v->json) and the original text
 * is kept for a lossless re-export. Token types, which tokenizer.json does not have,
 * are derived the way llama.cpp's convert_hf_to_gguf.py derives them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Findings of one kind listed one by one before a summary line (a hostile file could
   otherwise fill the arena with a million messages). */
#define MAX_LISTED_FINDINGS 5
/* Nesting of "Sequence" components searched for ByteLevel / special tokens. */
#define MAX_SEQUENCE_DEPTH TV_TOKENIZER_JSON_MAX_DEPTH

struct reader {
    tv_model *m;
    struct tv_vocab *v;
    const char *file;
    tv_error *err;
    struct tv_strmap model_index; /* model.vocab token -> lowest id */
    size_t model_n;               /* ids covered by model.vocab (highest + 1) */
    size_t model_count;           /* entries of model.vocab */
    size_t added_id_findings;
};

/* ---- helpers shared with formats/vocab_json.c -------------------------------------- */

const char *tv_json_type_name(const cJSON *item)
{
    if (!item)
        return "nothing";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsObject(item))
        return "an object";
    return "an invalid value";
}

void tv_quote(char *out, size_t cap, const char *s, size_t len)
{
    const size_t shown = 60;
    size_t o = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        size_t n;
        /* Cut after `shown` bytes, but never inside a UTF-8 sequence. */
        if (i >= shown && (c & 0xC0) != 0x80) {
            if (o + 4 <= cap)
                memcpy(out + o, "...", 3), o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
            n = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
        else
            tmp[0] = (char)c, n = 1;
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

bool tv_token_looks_special(const char *text, size_t len)
{
    /* llama.cpp (convert_hf_to_gguf.py, does_token_look_special) types these added
       tokens as control tokens even when a tokenizer.json forgot "special": true. */
    static const char *const names[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
    static const char fw_open[] = "<\xef\xbd\x9c", fw_close[] = "\xef\xbd\x9c>"; /* <｜ ｜> */
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++)
        if (len == strlen(names[i]) && memcmp(text, names[i], len) == 0)
            return true;
    if (len >= 4 && memcmp(text, "<|", 2) == 0 && memcmp(text + len - 2, "|>", 2) == 0)
        return true;
    if (len >= 8 && memcmp(text, fw_open, 4) == 0 && memcmp(text + len - 4, fw_close, 4) == 0)
        return true;
    return len >= 8 && memcmp(text, "<unused", 7) == 0 && text[len - 1] == '>';
}

/* A table of n_ids entries for n_entries tokens is refused when it is mostly holes:
   one token with id 16,000,000 must not allocate 16 million slots. */
static bool ids_too_sparse(uint64_t n_ids, uint64_t n_entries)
{
    return n_ids > TV_VOCAB_SPARSE_FACTOR * n_entries + TV_VOCAB_SPARSE_SLACK;
}

int tv_vocab_read_id_object(tv_model *m, struct tv_vocab *v, const cJSON *obj, const char *file,
                            const char *where, tv_error *err)
{
    char q[256], q2[256];
    if (!cJSON_IsObject(obj))
        return tv_error_set(err, TV_ERR_DATA, "%s: %s: expected an object of token -> id, got %s",
                            file, where, tv_json_type_name(obj));
    /* Pass 1: every id valid, and the id range not absurd, before anything is allocated. */
    uint64_t n_entries = 0, n_ids = v->n_tokens;
    for (const cJSON *e = obj->child; e; e = e->next) {
        uint64_t id;
        if (tv_json_uint(e, &id) < 0 || id >= TV_MAX_TOKENS) {
            tv_quote(q, sizeof q, e->string, strlen(e->string));
            if (cJSON_IsNumber(e))
                return tv_error_set(err, TV_ERR_DATA,
                                    "%s: %s['%s']: id %.17g is not an integer in 0..%u", file,
                                    where, q, e->valuedouble, TV_MAX_TOKENS - 1);
            return tv_error_set(err, TV_ERR_DATA, "%s: %s['%s']: the id must be a number, got %s",
                                file, where, q, tv_json_type_name(e));
        }
        n_entries++;
        if (id + 1 > n_ids)
            n_ids = id + 1;
    }
    if (ids_too_sparse(n_ids, n_entries + v->n_tokens))
        return tv_error_set(err, TV_ERR_LIMIT,
                            "%s: %s: ids reach %llu for only %llu tokens; refusing a table that "
                            "is mostly holes", file, where, (unsigned long long)(n_ids - 1),
                            (unsigned long long)n_entries);
    if (n_ids > v->cap_tokens &&
        tv_grow((void **)&v->tokens, &v->cap_tokens, (size_t)n_ids, sizeof *v->tokens, err) < 0)
        return -1;
    /* Pass 2: set them. Two tokens with one id: the reference keeps one silently; we keep
       the first and say so. */
    uint64_t duplicates = 0;
    const cJSON *first_dup = NULL;
    uint64_t first_dup_id = 0;
    for (const cJSON *e = obj->child; e; e = e->next) {
        uint64_t id;
        (void)tv_json_uint(e, &id);
        if (id < v->n_tokens && v->tokens[id].text) {
            if (!duplicates++)
                first_dup = e, first_dup_id = id;
            continue;
        }
        if (tv_vocab_set_token(m, v, (uint32_t)id, e->string, strlen(e->string), 0.0f,
                               TV_TOKEN_NORMAL, err) < 0)
            return -1;
    }
    if (duplicates) {
        const struct tv_token *kept = &v->tokens[first_dup_id];
        tv_quote(q, sizeof q, first_dup->string, strlen(first_dup->string));
        tv_quote(q2, sizeof q2, kept->text, kept->len);
        if (tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_FAIL, err,
                                 "%s: %s: %llu token(s) reuse an id already given to another "
                                 "token; the first is '%s' with id %llu, which is '%s' (kept)",
                                 file, where, (unsigned long long)duplicates, q,
                                 (unsigned long long)first_dup_id, q2) < 0)
            return -1;
    }
    return 0;
}

int tv_vocab_note_holes(tv_model *m, const struct tv_vocab *v, const char *file, tv_error *err)
{
    size_t holes = 0, first = 0;
    for (size_t id = 0; id < v->n_tokens; id++)
        if (!v->tokens[id].text && !holes++)
            first = id;
    if (!holes)
        return 0;
    return tv_model_add_finding(m, "vocab.dense", TV_SEVERITY_WARN, err,
                                "%s: token ids are not dense: %zu of ids 0..%zu have no token, "
                                "the first is %zu", file, holes, v->n_tokens - 1, first);
}

int tv_json_note_nul_escapes(tv_model *m, const uint8_t *text, size_t len, const char *file,
                             tv_error *err)
{
    /* cJSON ends a string at a decoded NUL, so a token "a\u0000b" would read as "a".
       Such escapes are rare enough that saying so beats a silently shorter token. */
    size_t count = 0, first = 0;
    for (size_t i = 0; i + 6 <= len; i++) {
        if (text[i] != '\\' || text[i + 1] != 'u' || memcmp(text + i + 2, "0000", 4) != 0)
            continue;
        size_t backslashes = 0;
        while (backslashes < i && text[i - 1 - backslashes] == '\\')
            backslashes++;
        if (backslashes % 2 == 0 && !count++)
            first = i;
    }
    if (!count)
        return 0;
    return tv_model_add_finding(m, "vocab.nul_byte", TV_SEVERITY_WARN, err,
                                "%s: %zu string(s) hold \\u0000 (the first at byte %zu); tokvec "
                                "cuts such a token before the NUL byte", file, count, first);
}

/* ---- small readers of typed fields ----------------------------------------------------- */

static int fail(const struct reader *r, int code, const char *fmt, ...) TV_PRINTF(3, 4);
static int fail(const struct reader *r, int code, const char *fmt, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return tv_error_set(r->err, code, "%s: %s", r->file, message);
}

static int nomem(const struct reader *r)
{
    return fail(r, TV_ERR_NOMEM, "out of memory");
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string field: missing or null leaves *out unchanged; a string is copied to the arena. */
static int opt_string(struct reader *r, const cJSON *obj, const char *where, const char *key,
                      const char **out)
{
    const cJSON *item = get(obj, key);
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item))
        return fail(r, TV_ERR_DATA, "%s.%s: expected a string or null, got %s", where, key,
                    tv_json_type_name(item));
    *out = tv_model_strdup(r->m, item->valuestring, strlen(item->valuestring));
    return *out ? 0 : nomem(r);
}

static int opt_bool(struct reader *r, const cJSON *obj, const char *where, const char *key,
                    bool *out)
{
    const cJSON *item = get(obj, key);
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsBool(item))
        return fail(r, TV_ERR_DATA, "%s.%s: expected true or false, got %s", where, key,
                    tv_json_type_name(item));
    *out = cJSON_IsTrue(item);
    return 0;
}

/* An unsigned integer field no larger than max; missing or null: *present = false. */
static int opt_uint(struct reader *r, const cJSON *obj, const char *where, const char *key,
                    uint64_t max, uint64_t *out, bool *present)
{
    const cJSON *item = get(obj, key);
    *present = false;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (tv_json_uint(item, out) < 0 || *out > max) {
        if (cJSON_IsNumber(item))
            return fail(r, TV_ERR_DATA, "%s.%s: %.17g is not an integer in 0..%llu", where, key,
                        item->valuedouble, (unsigned long long)max);
        return fail(r, TV_ERR_DATA, "%s.%s: expected an integer, got %s", where, key,
                    tv_json_type_name(item));
    }
    *present = true;
    return 0;
}

/* normalizer, pre_tokenizer, post_processor, decoder: an object or null. */
static int component(struct reader *r, const cJSON *doc, const char *key, const cJSON **out)
{
    const cJSON *item = get(doc, key);
    *out = NULL;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsObject(item))
        return fail(r, TV_ERR_DATA, "%s: expected an object or null, got %s", key,
                    tv_json_type_name(item));
    *out = item;
    return 0;
}

static bool is_type(const cJSON *node, const char *type)
{
    const cJSON *t = get(node, "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, type) == 0;
}

/* Whether node is a component of this type, or a Sequence (list under list_key) holding one. */
static bool contains_type(const cJSON *node, const char *type, const char *list_key, int depth)
{
    if (!cJSON_IsObject(node) || depth > MAX_SEQUENCE_DEPTH)
        return false;
    if (is_type(node, type))
        return true;
    if (!is_type(node, "Sequence"))
        return false;
    const cJSON *list = get(node, list_key);
    if (!cJSON_IsArray(list))
        return false;
    for (const cJSON *e = list->child; e; e = e->next)
        if (contains_type(e, type, list_key, depth + 1))
            return true;
    return false;
}

/* ---- the model --------------------------------------------------------------------------- */

static int model_kind(struct reader *r, const cJSON *model, enum tv_tokenizer_kind *kind)
{
    const cJSON *type = get(model, "type");
    if (type) {
        static const struct {
            const char *name;
            enum tv_tokenizer_kind kind;
        } kinds[] = {{"BPE", TV_TOKENIZER_BPE},
                     {"WordPiece", TV_TOKENIZER_WORDPIECE},
                     {"WordLevel", TV_TOKENIZER_WORDLEVEL},
                     {"Unigram", TV_TOKENIZER_UNIGRAM}};
        char q[256];
        if (!cJSON_IsString(type))
            return fail(r, TV_ERR_DATA, "model.type: expected a string, got %s",
                        tv_json_type_name(type));
        for (size_t i = 0; i < TV_ARRAY_SIZE(kinds); i++)
            if (strcmp(type->valuestring, kinds[i].name) == 0) {
                *kind = kinds[i].kind;
                return 0;
            }
        tv_quote(q, sizeof q, type->valuestring, strlen(type->valuestring));
        return fail(r, TV_ERR_UNSUPPORTED,
                    "model.type: unknown model type '%s' (known: BPE, WordPiece, WordLevel, "
                    "Unigram)", q);
    }
    /* Files from before "type": recognise the model by its fields (Unigram's vocab is a
       list; only BPE has merges; WordPiece is tried before WordLevel, its subset). */
    if (cJSON_IsArray(get(model, "vocab")))
        *kind = TV_TOKENIZER_UNIGRAM;
    else if (get(model, "merges"))
        *kind = TV_TOKENIZER_BPE;
    else if (get(model, "continuing_subword_prefix") || get(model, "max_input_chars_per_word"))
        *kind = TV_TOKENIZER_WORDPIECE;
    else
        *kind = TV_TOKENIZER_WORDLEVEL;
    return 0;
}

static int model_fields(struct reader *r, const cJSON *model)
{
    struct tv_vocab *v = r->v;
    uint64_t n;
    bool present;
    switch (v->kind) {
    case TV_TOKENIZER_BPE: {
        const cJSON *dropout = get(model, "dropout");
        if (dropout && !cJSON_IsNull(dropout) &&
            !(cJSON_IsNumber(dropout) && dropout->valuedouble >= 0 && dropout->valuedouble <= 1))
            return fail(r, TV_ERR_DATA, "model.dropout: expected null or a number in [0, 1], "
                        "got %s", tv_json_type_name(dropout));
        if (opt_string(r, model, "model", "unk_token", &v->unk_token) < 0 ||
            opt_string(r, model, "model", "continuing_subword_prefix",
                       &v->continuing_subword_prefix) < 0 ||
            opt_string(r, model, "model", "end_of_word_suffix", &v->end_of_word_suffix) < 0 ||
            opt_bool(r, model, "model", "fuse_unk", &v->fuse_unk) < 0 ||
            opt_bool(r, model, "model", "byte_fallback", &v->byte_fallback) < 0 ||
            opt_bool(r, model, "model", "ignore_merges", &v->ignore_merges) < 0)
            return -1;
        return 0;
    }
    case TV_TOKENIZER_WORDPIECE:
        /* The reference's defaults when a field is absent. */
        v->unk_token = "[UNK]";
        v->continuing_subword_prefix = "##";
        v->max_input_chars_per_word = 100;
        if (opt_string(r, model, "model", "unk_token", &v->unk_token) < 0 ||
            opt_string(r, model, "model", "continuing_subword_prefix",
                       &v->continuing_subword_prefix) < 0 ||
            opt_uint(r, model, "model", "max_input_chars_per_word", INT32_MAX, &n, &present) < 0)
            return -1;
        if (present)
            v->max_input_chars_per_word = (int)n;
        return 0;
    case TV_TOKENIZER_WORDLEVEL:
        v->unk_token = "<unk>";
        return opt_string(r, model, "model", "unk_token", &v->unk_token);
    case TV_TOKENIZER_UNIGRAM:
        return opt_bool(r, model, "model", "byte_fallback", &v->byte_fallback);
    case TV_TOKENIZER_NONE:
        break;
    }
    return 0;
}

static int unigram_vocab(struct reader *r, const cJSON *vocab)
{
    struct tv_vocab *v = r->v;
    if (!cJSON_IsArray(vocab))
        return fail(r, TV_ERR_DATA, "model.vocab: a Unigram vocabulary is a list of [piece, "
                    "score], got %s", tv_json_type_name(vocab));
    size_t count = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, count++) {
        const cJSON *piece = cJSON_IsArray(e) ? e->child : NULL;
        const cJSON *score = piece ? piece->next : NULL;
        if (!cJSON_IsString(piece) || !cJSON_IsNumber(score) || score->next)
            return fail(r, TV_ERR_DATA, "model.vocab[%zu]: expected [piece, score] (a string "
                        "and a number), got %s", count, tv_json_type_name(e));
        if (count >= TV_MAX_TOKENS)
            return fail(r, TV_ERR_LIMIT, "model.vocab: more than %u pieces", TV_MAX_TOKENS);
    }
    if (count && tv_grow((void **)&v->tokens, &v->cap_tokens, count, sizeof *v->tokens,
                         r->err) < 0)
        return -1;
    uint32_t id = 0;
    for (const cJSON *e = vocab->child; e; e = e->next, id++) {
        const cJSON *piece = e->child, *score = piece->next;
        if (tv_vocab_set_token(r->m, v, id, piece->valuestring, strlen(piece->valuestring),
                               (float)score->valuedouble, TV_TOKEN_NORMAL, r->err) < 0)
            return -1;
    }
    uint64_t unk_id;
    bool present;
    if (opt_uint(r, r->v->model_json, "model", "unk_id", UINT32_MAX, &unk_id, &present) < 0)
        return -1;
    if (present) {
        if (unk_id >= count)
            return fail(r, TV_ERR_DATA, "model.unk_id: %llu is outside the vocabulary of %zu "
                        "pieces", (unsigned long long)unk_id, count);
        v->special[TV_SPECIAL_UNK] = (int64_t)unk_id;
        v->unk_token = v->tokens[unk_id].text;
    }
    return 0;
}

static int bpe_merges(struct reader *r, const cJSON *merges)
{
    char q[256];
    if (!merges)
        return fail(r, TV_ERR_DATA, "model.merges: missing (a BPE model lists its merges, "
                    "even as [])");
    if (!cJSON_IsArray(merges))
        return fail(r, TV_ERR_DATA, "model.merges: expected an array, got %s",
                    tv_json_type_name(merges));
    enum { UNKNOWN_FORM, STRINGS, PAIRS } form = UNKNOWN_FORM;
    size_t index = 0;
    for (const cJSON *e = merges->child; e; e = e->next, index++) {
        if (cJSON_IsString(e)) {
            if (form == PAIRS)
                return fail(r, TV_ERR_DATA, "model.merges[%zu]: a string among pairs (one list "
                            "uses one form)", index);
            form = STRINGS;
            const char *s = e->valuestring;
            /* The reference drops "#version" lines here as it does in merges.txt. */
            if (strncmp(s, "#version", 8) == 0)
                continue;
            /* Exactly two parts around a single space, split as the reference splits. */
            const char *space = strchr(s, ' ');
            if (!space || strchr(space + 1, ' ')) {
                tv_quote(q, sizeof q, s, strlen(s));
                return fail(r, TV_ERR_DATA, "model.merges[%zu]: '%s' is not two parts "
                            "separated by one space", index, q);
            }
            if (tv_vocab_add_merge(r->m, r->v, s, (size_t)(space - s), space + 1,
                                   strlen(space + 1), r->err) < 0)
                return -1;
        } else if (cJSON_IsArray(e)) {
            if (form == STRINGS)
                return fail(r, TV_ERR_DATA, "model.merges[%zu]: a pair among strings (one list "
                            "uses one form)", index);
            form = PAIRS;
            const cJSON *a = e->child, *b = a ? a->next : NULL;
            if (!cJSON_IsString(a) || !cJSON_IsString(b) || b->next)
                return fail(r, TV_ERR_DATA, "model.merges[%zu]: expected a pair of strings "
                            "[\"a\", \"b\"]", index);
            if (tv_vocab_add_merge(r->m, r->v, a->valuestring, strlen(a->valuestring),
                                   b->valuestring, strlen(b->valuestring), r->err) < 0)
                return -1;
        } else {
            return fail(r, TV_ERR_DATA, "model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], "
                        "got %s", index, tv_json_type_name(e));
        }
    }
    return 0;
}

static int read_model(struct reader *r, const cJSON *model)
{
    struct tv_vocab *v = r->v;
    if (model_kind(r, model, &v->kind) < 0 || model_fields(r, model) < 0)
        return -1;
    const cJSON *vocab = get(model, "vocab");
    if (!vocab)
        return fail(r, TV_ERR_DATA, "model.vocab: missing");
    if (v->kind == TV_TOKENIZER_UNIGRAM) {
        if (unigram_vocab(r, vocab) < 0)
            return -1;
        r->model_count = v->n_tokens;
    } else {
        if (tv_vocab_read_id_object(r->m, v, vocab, r->file, "model.vocab", r->err) < 0)
            return -1;
        r->model_count = (size_t)cJSON_GetArraySize(vocab);
    }
    r->model_n = v->n_tokens;
    if (v->kind == TV_TOKENIZER_BPE && bpe_merges(r, get(model, "merges")) < 0)
        return -1;
    /* SentencePiece-style byte tokens <0x00>..<0xFF> (llama.cpp types them BYTE). */
    if (v->byte_fallback) {
        for (size_t id = 0; id < r->model_n; id++) {
            struct tv_token *t = &v->tokens[id];
            if (t->text && t->len == 6 && memcmp(t->text, "<0x", 3) == 0 && t->text[5] == '>' &&
                isxdigit((unsigned char)t->text[3]) && isxdigit((unsigned char)t->text[4]))
                t->type = TV_TOKEN_BYTE;
        }
    }
    /* The model's own tokens, for looking up added tokens and the unknown token. */
    for (size_t id = 0; id < r->model_n; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (t->text && tv_strmap_put(&r->model_index, t->text, t->len, id, NULL) < 0)
            return nomem(r);
    }
    return 0;
}

/* ---- added tokens ------------------------------------------------------------------------ */

struct added {
    uint32_t id;
    const char *content;
    size_t len;
    unsigned flags;
};

/* Validates added_tokens[index] into *out (no allocation). */
static int added_entry(struct reader *r, const cJSON *e, size_t index, struct added *out)
{
    char where[48];
    snprintf(where, sizeof where, "added_tokens[%zu]", index);
    if (!cJSON_IsObject(e))
        return fail(r, TV_ERR_DATA, "%s: expected an object, got %s", where,
                    tv_json_type_name(e));
    const cJSON *id = get(e, "id"), *content = get(e, "content");
    uint64_t value;
    if (!id)
        return fail(r, TV_ERR_DATA, "%s: no \"id\"", where);
    if (tv_json_uint(id, &value) < 0 || value >= TV_MAX_TOKENS) {
        if (cJSON_IsNumber(id))
            return fail(r, TV_ERR_DATA, "%s.id: %.17g is not an integer in 0..%u", where,
                        id->valuedouble, TV_MAX_TOKENS - 1);
        return fail(r, TV_ERR_DATA, "%s.id: expected an integer, got %s", where,
                    tv_json_type_name(id));
    }
    if (!cJSON_IsString(content))
        return fail(r, TV_ERR_DATA, "%s.content: expected a string, got %s", where,
                    tv_json_type_name(content));
    bool special = false, single_word = false, lstrip = false, rstrip = false, normalized;
    if (opt_bool(r, e, where, "special", &special) < 0)
        return -1;
    normalized = !special; /* the reference's default for a token built without the field */
    if (opt_bool(r, e, where, "single_word", &single_word) < 0 ||
        opt_bool(r, e, where, "lstrip", &lstrip) < 0 ||
        opt_bool(r, e, where, "rstrip", &rstrip) < 0 ||
        opt_bool(r, e, where, "normalized", &normalized) < 0)
        return -1;
    out->id = (uint32_t)value;
    out->content = content->valuestring;
    out->len = strlen(content->valuestring);
    out->flags = TV_TOKEN_ADDED | (special ? TV_TOKEN_SPECIAL : 0) |
                 (single_word ? TV_TOKEN_SINGLE_WORD : 0) | (lstrip ? TV_TOKEN_LSTRIP : 0) |
                 (rstrip ? TV_TOKEN_RSTRIP : 0) | (normalized ? TV_TOKEN_NORMALIZED : 0);
    return 0;
}

enum added_conflict {
    CONFLICT_MODEL_TOKEN, /* the declared id holds another model token */
    CONFLICT_MODEL_ID,    /* the model has this content under another id */
    CONFLICT_ADDED        /* an earlier added token declared the same id */
};

static int added_conflict(struct reader *r, const struct added *a, enum added_conflict kind,
                          const struct tv_token *other, uint64_t other_id)
{
    char q[256], q2[256] = "";
    if (++r->added_id_findings > MAX_LISTED_FINDINGS)
        return 0; /* summarised at the end */
    tv_quote(q, sizeof q, a->content, a->len);
    if (other)
        tv_quote(q2, sizeof q2, other->text, other->len);
    switch (kind) {
    case CONFLICT_MODEL_TOKEN:
        return tv_model_add_finding(r->m, "vocab.added_id", TV_SEVERITY_FAIL, r->err,
                                    "%s: added token '%s' declares id %u, which the model "
                                    "vocabulary gives to '%s'", r->file, q, a->id, q2);
    case CONFLICT_MODEL_ID:
        return tv_model_add_finding(r->m, "vocab.added_id", TV_SEVERITY_FAIL, r->err,
                                    "%s: added token '%s' declares id %u, but the model "
                                    "vocabulary has it as id %llu, which Hugging Face "
                                    "tokenizers uses instead", r->file, q, a->id,
                                    (unsigned long long)other_id);
    case CONFLICT_ADDED:
        break;
    }
    return tv_model_add_finding(r->m, "vocab.duplicate_id", TV_SEVERITY_FAIL, r->err,
                                "%s: added token '%s' declares id %u, already given to added "
                                "token '%s' (kept)", r->file, q, a->id, q2);
}

static int read_added(struct reader *r, const cJSON *list)
{
    struct tv_vocab *v = r->v;
    if (!list || cJSON_IsNull(list))
        return 0;
    if (!cJSON_IsArray(list))
        return fail(r, TV_ERR_DATA, "added_tokens: expected an array, got %s",
                    tv_json_type_name(list));
    /* Pass 1: validate everything and bound the id range before allocating. */
    size_t count = 0;
    uint64_t n_ids = v->n_tokens;
    struct added a;
    for (const cJSON *e = list->child; e; e = e->next, count++) {
        if (added_entry(r, e, count, &a) < 0)
            return -1;
        if ((uint64_t)a.id + 1 > n_ids)
            n_ids = (uint64_t)a.id + 1;
    }
    if (ids_too_sparse(n_ids, (uint64_t)r->model_count + count))
        return fail(r, TV_ERR_LIMIT, "added_tokens: ids reach %llu for only %zu tokens; "
                    "refusing a table that is mostly holes", (unsigned long long)(n_ids - 1),
                    r->model_count + count);
    /* Pass 2. */
    size_t index = 0;
    for (const cJSON *e = list->child; e; e = e->next, index++) {
        (void)added_entry(r, e, index, &a);
        if (tv_vocab_add_added(r->m, v, a.id, a.content, a.len, a.flags, r->err) < 0)
            return -1;
        bool control = (a.flags & TV_TOKEN_SPECIAL) || tv_token_looks_special(a.content, a.len);
        struct tv_token *t = a.id < v->n_tokens ? &v->tokens[a.id] : NULL;
        if (t && t->text) {
            bool same = t->len == a.len && memcmp(t->text, a.content, a.len) == 0;
            if (!same) {
                if (added_conflict(r, &a,
                                   a.id < r->model_n ? CONFLICT_MODEL_TOKEN : CONFLICT_ADDED, t,
                                   0) < 0)
                    return -1;
                continue;
            }
        } else {
            uint64_t model_id;
            if (tv_strmap_get(&r->model_index, a.content, a.len, &model_id) &&
                added_conflict(r, &a, CONFLICT_MODEL_ID, NULL, model_id) < 0)
                return -1;
            if (tv_vocab_set_token(r->m, v, a.id, a.content, a.len, 0.0f, TV_TOKEN_NORMAL,
                                   r->err) < 0)
                return -1;
            t = &v->tokens[a.id];
        }
        t->flags |= (uint8_t)a.flags;
        t->type = control ? TV_TOKEN_CONTROL : TV_TOKEN_USER_DEFINED;
    }
    if (r->added_id_findings > MAX_LISTED_FINDINGS &&
        tv_model_add_finding(r->m, "vocab.added_id", TV_SEVERITY_FAIL, r->err,
                             "%s: %zu more added tokens whose declared id disagrees with the "
                             "vocabulary", r->file,
                             r->added_id_findings - MAX_LISTED_FINDINGS) < 0)
        return -1;
    return 0;
}

/* ---- special ids from the post-processor ------------------------------------------------ */

static bool name_has(const char *s, const char *word)
{
    return strcasestr(s, word) != NULL;
}

/* The id Hugging Face tokenizers gives this text: the model's id when the model has it
   (an added token that is a model token keeps the model's id), else the added token's. */
static bool lookup_text(const struct reader *r, const char *text, size_t len, uint64_t *id)
{
    if (tv_strmap_get(&r->model_index, text, len, id) == 1)
        return true;
    for (size_t i = 0; i < r->v->n_added; i++)
        if (r->v->added[i].len == len && memcmp(r->v->added[i].content, text, len) == 0) {
            *id = r->v->added[i].id;
            return true;
        }
    return false;
}

/*
 * Sets a special id the post-processor adds (the first source that names it wins) and
 * records a finding when the vocabulary gives the token's text another id: the
 * post-processor's id is what the reference adds, so it is the one kept.
 */
static int set_special(struct reader *r, enum tv_special which, uint64_t id, const char *text,
                       const char *where)
{
    struct tv_vocab *v = r->v;
    uint64_t vocab_id;
    char q[256];
    if (v->special[which] < 0)
        v->special[which] = (int64_t)id;
    if (!text || !lookup_text(r, text, strlen(text), &vocab_id) || vocab_id == id)
        return 0;
    tv_quote(q, sizeof q, text, strlen(text));
    return tv_model_add_finding(r->m, "vocab.post_processor_id", TV_SEVERITY_FAIL, r->err,
                                "%s: %s adds '%s' as id %llu, but the vocabulary has '%s' at "
                                "id %llu", r->file, where, q, (unsigned long long)id, q,
                                (unsigned long long)vocab_id);
}

/* The single id and token of TemplateProcessing's special_tokens[name]; false if not one. */
static bool template_token(const cJSON *special_tokens, const char *name, uint64_t *id,
                           const char **text)
{
    const cJSON *entry = get(special_tokens, name);
    const cJSON *ids = cJSON_IsObject(entry) ? get(entry, "ids") : NULL;
    const cJSON *tokens = cJSON_IsObject(entry) ? get(entry, "tokens") : NULL;
    if (!cJSON_IsArray(ids) || !ids->child || ids->child->next ||
        tv_json_uint(ids->child, id) < 0 || *id >= TV_MAX_TOKENS)
        return false;
    *text = cJSON_IsArray(tokens) && cJSON_IsString(tokens->child) ? tokens->child->valuestring
                                                                   : NULL;
    return true;
}

/* Leading special of the single-sequence template: cls when it is named so, else bos;
   trailing: sep or eos. Only a side with exactly one special token of one id counts. */
static int template_specials(struct reader *r, const cJSON *pp)
{
    const cJSON *single = get(pp, "single"), *special_tokens = get(pp, "special_tokens");
    if (!cJSON_IsArray(single) || !cJSON_IsObject(special_tokens))
        return 0;
    const char *lead = NULL, *trail = NULL;
    int n_lead = 0, n_trail = 0;
    bool seen_sequence = false;
    for (const cJSON *e = single->child; e; e = e->next) {
        const cJSON *special = get(e, "SpecialToken");
        if (get(e, "Sequence")) {
            seen_sequence = true;
            n_trail = 0, trail = NULL;
            continue;
        }
        const cJSON *id = cJSON_IsObject(special) ? get(special, "id") : NULL;
        if (!cJSON_IsString(id))
            return 0; /* not a template we understand: name nothing */
        if (!seen_sequence)
            lead = id->valuestring, n_lead++;
        else
            trail = id->valuestring, n_trail++;
    }
    if (!seen_sequence)
        return 0;
    uint64_t id;
    const char *text;
    char where[320];
    if (n_lead == 1 && template_token(special_tokens, lead, &id, &text)) {
        snprintf(where, sizeof where, "post_processor (TemplateProcessing '%.200s')", lead);
        if (set_special(r, name_has(lead, "cls") ? TV_SPECIAL_CLS : TV_SPECIAL_BOS, id, text,
                        where) < 0)
            return -1;
    }
    if (n_trail == 1 && template_token(special_tokens, trail, &id, &text)) {
        snprintf(where, sizeof where, "post_processor (TemplateProcessing '%.200s')", trail);
        if (set_special(r, name_has(trail, "sep") ? TV_SPECIAL_SEP : TV_SPECIAL_EOS, id, text,
                        where) < 0)
            return -1;
    }
    return 0;
}

/* ["[SEP]", 102] of BertProcessing and RobertaProcessing; false if not that. */
static bool processing_pair(const cJSON *pair, uint64_t *id, const char **text)
{
    if (!cJSON_IsArray(pair) || !cJSON_IsString(pair->child) || !pair->child->next ||
        tv_json_uint(pair->child->next, id) < 0 || *id >= TV_MAX_TOKENS)
        return false;
    *text = pair->child->valuestring;
    return true;
}

static int post_processor_specials(struct reader *r, const cJSON *pp, int depth)
{
    if (!cJSON_IsObject(pp) || depth > MAX_SEQUENCE_DEPTH)
        return 0;
    if (is_type(pp, "TemplateProcessing"))
        return template_specials(r, pp);
    if (is_type(pp, "BertProcessing") || is_type(pp, "RobertaProcessing")) {
        /* RoBERTa's <s> and </s> are its bos and eos as well as cls and sep. */
        bool roberta = is_type(pp, "RobertaProcessing");
        const char *where = roberta ? "post_processor (RobertaProcessing)"
                                    : "post_processor (BertProcessing)";
        uint64_t id;
        const char *text;
        if (processing_pair(get(pp, "cls"), &id, &text) &&
            (set_special(r, TV_SPECIAL_CLS, id, text, where) < 0 ||
             (roberta && set_special(r, TV_SPECIAL_BOS, id, NULL, where) < 0)))
            return -1;
        if (processing_pair(get(pp, "sep"), &id, &text) &&
            (set_special(r, TV_SPECIAL_SEP, id, text, where) < 0 ||
             (roberta && set_special(r, TV_SPECIAL_EOS, id, NULL, where) < 0)))
            return -1;
        return 0;
    }
    if (is_type(pp, "Sequence")) {
        const cJSON *list = get(pp, "processors");
        if (cJSON_IsArray(list))
            for (const cJSON *e = list->child; e; e = e->next)
                if (post_processor_specials(r, e, depth + 1) < 0)
                    return -1;
    }
    return 0;
}

/* ---- the document ------------------------------------------------------------------------ */

static int read_document(struct reader *r, const cJSON *doc)
{
    struct tv_vocab *v = r->v;
    if (!cJSON_IsObject(doc))
        return fail(r, TV_ERR_DATA, "expected a JSON object at the top level, got %s",
                    tv_json_type_name(doc));
    const cJSON *model = get(doc, "model");
    if (!model)
        return fail(r, TV_ERR_DATA, "no \"model\" (not a tokenizer.json?)");
    if (!cJSON_IsObject(model))
        return fail(r, TV_ERR_DATA, "model: expected an object, got %s",
                    tv_json_type_name(model));
    v->model_json = model;
    if (component(r, doc, "normalizer", &v->normalizer) < 0 ||
        component(r, doc, "pre_tokenizer", &v->pre_tokenizer) < 0 ||
        component(r, doc, "post_processor", &v->post_processor) < 0 ||
        component(r, doc, "decoder", &v->decoder) < 0)
        return -1;
    if (read_model(r, model) < 0 || read_added(r, get(doc, "added_tokens")) < 0)
        return -1;

    /* The unknown token: BPE/WordPiece/WordLevel name it (it may be an added token);
       Unigram gave its id already. It outranks CONTROL, as in llama.cpp's GGUFs. */
    if (v->kind != TV_TOKENIZER_UNIGRAM && v->unk_token) {
        uint64_t id;
        size_t len = strlen(v->unk_token);
        if (tv_strmap_get(&r->model_index, v->unk_token, len, &id)) {
            v->special[TV_SPECIAL_UNK] = (int64_t)id;
        } else {
            for (size_t i = 0; i < v->n_added; i++)
                if (v->added[i].len == len && memcmp(v->added[i].content, v->unk_token, len) == 0)
                    v->special[TV_SPECIAL_UNK] = v->added[i].id;
        }
    }
    int64_t unk = v->special[TV_SPECIAL_UNK];
    if (unk >= 0 && (uint64_t)unk < v->n_tokens && v->tokens[unk].text)
        v->tokens[unk].type = TV_TOKEN_UNKNOWN;
    if (unk < 0 && v->unk_token && r->model_count > 0) {
        /* The reference fails to encode any text that needs it. */
        char q[256];
        tv_quote(q, sizeof q, v->unk_token, strlen(v->unk_token));
        if (tv_model_add_finding(r->m, "vocab.unk_token", TV_SEVERITY_WARN, r->err,
                                 "%s: the unknown token '%s' (model.unk_token, or the default "
                                 "when absent) is not in the vocabulary", r->file, q) < 0)
            return -1;
    }

    if (post_processor_specials(r, v->post_processor, 0) < 0)
        return -1;
    v->byte_level = contains_type(v->pre_tokenizer, "ByteLevel", "pretokenizers", 0) ||
                    contains_type(v->decoder, "ByteLevel", "decoders", 0);

    if (r->model_count == 0 &&
        tv_model_add_finding(r->m, "vocab.empty", TV_SEVERITY_WARN, r->err,
                             "%s: model.vocab is empty; all %zu ids come from added_tokens",
                             r->file, v->n_tokens) < 0)
        return -1;
    if (tv_vocab_note_holes(r->m, v, r->file, r->err) < 0)
        return -1;
    return tv_model_add_claim(r->m, TV_CLAIM_VOCAB_SIZE, (int64_t)v->n_tokens, -1, r->file,
                              "model.vocab + added_tokens", r->err);
}

/* Parses text into v. keep_text is what v->json_text will point at (the blob, or a copy
   in the arena); when NULL the text is copied after a successful parse. */
static int read_text(tv_model *m, struct tv_vocab *v, const uint8_t *text, size_t len,
                     const char *origin, bool copy_text, tv_error *err)
{
    struct reader r = {.m = m, .v = v, .file = origin ? origin : "tokenizer.json", .err = err};
    tv_strmap_init(&r.model_index);
    int rc = -1;
    cJSON *doc = tv_json_parse(text, len, r.file, err);
    if (!doc)
        goto out;
    /* Owned by the vocabulary from here on, so that every exit frees it. */
    cJSON_Delete(v->json);
    v->json = doc;
    if (read_document(&r, doc) < 0 || tv_json_note_nul_escapes(m, text, len, r.file, err) < 0)
        goto out;
    if (copy_text) {
        v->json_text = tv_model_strdup(m, (const char *)text, len);
        if (!v->json_text) {
            nomem(&r);
            goto out;
        }
    } else {
        v->json_text = (const char *)text;
    }
    v->json_text_len = len;
    rc = 0;
out:
    tv_strmap_release(&r.model_index);
    return rc;
}

int tv_tokenizer_json_read_text(tv_model *m, struct tv_vocab *v, const uint8_t *text,
                                size_t len, const char *origin, tv_error *err)
{
    return read_text(m, v, text, len, origin, true, err);
}

static int read_tokenizer_json(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct tv_vocab *v = tv_model_new_vocab(m, blob->name, err);
    if (!v)
        return -1;
    /* The model holds a reference to the blob: the original text stays valid. */
    return read_text(m, v, blob->data, blob->len, blob->name, false, err);
}

/* ---- probe ------------------------------------------------------------------------------- */

struct probe_state {
    bool model, companion;
};

static int probe_key(const char *key, size_t len, char value_start, void *ctx)
{
    static const char *const companions[] = {"added_tokens", "normalizer", "pre_tokenizer",
                                             "version", "decoder"};
    struct probe_state *s = ctx;
    if (len == 5 && memcmp(key, "model", 5) == 0 && value_start == '{')
        s->model = true;
    for (size_t i = 0; i < TV_ARRAY_SIZE(companions); i++)
        if (len == strlen(companions[i]) && memcmp(key, companions[i], len) == 0)
            s->companion = true;
    return s->model && s->companion;
}

static int probe_tokenizer_json(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    struct probe_state s = {false, false};
    return tv_json_top_keys(buf, len, probe_key, &s) == 1 ? 90 : 0;
}

const struct tv_format tv_format_tokenizer_json = {
    .name = "tokenizer.json",
    .label = "tokenizer.json",
    .probe = probe_tokenizer_json,
    .read = read_tokenizer_json,
};
