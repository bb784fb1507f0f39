/*
 * The common model: vocabulary + tensors + metadata + claims, filled by the readers
 * in formats/ and read by everything else. This file owns its memory rules: strings
 * live in the model's arena, tensor data in the blobs the model holds references to.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- lifecycle ---------------------------------------------------------------- */

static void vocab_init(struct tv_vocab *v, const char *origin)
{
    memset(v, 0, sizeof *v);
    v->origin = origin;
    for (int i = 0; i < TV_SPECIAL_COUNT; i++)
        v->special[i] = -1;
    v->add_bos = v->add_eos = v->add_space_prefix = -1;
    tv_strmap_init(&v->index);
}

tv_model *tv_model_new_empty(const char *path, const struct tv_open_options *opt, tv_error *err)
{
    tv_model *m = tv_calloc(1, sizeof *m);
    if (!m) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path ? path : "<memory>");
        return NULL;
    }
    tv_arena_init(&m->arena);
    tv_strmap_init(&m->tensor_index);
    m->embedding = -1;
    m->kind = "unknown";
    if (opt)
        m->opt = *opt;
    if (!m->opt.max_header_bytes)
        m->opt.max_header_bytes = TV_SAFETENSORS_MAX_HEADER;
    if (!m->opt.max_tensors)
        m->opt.max_tensors = TV_MAX_TENSORS;
    if (m->opt.embedding) {
        m->opt.embedding = tv_arena_strndup(&m->arena, opt->embedding, strlen(opt->embedding));
        if (!m->opt.embedding)
            goto oom;
    }
    if (m->opt.revision &&
        !(m->opt.revision = tv_arena_strndup(&m->arena, opt->revision, strlen(opt->revision))))
        goto oom;
    if (m->opt.pytorch_key && !(m->opt.pytorch_key = tv_arena_strndup(
                                    &m->arena, opt->pytorch_key, strlen(opt->pytorch_key))))
        goto oom;
    m->path = tv_strdup(path ? path : "<memory>");
    if (!m->path)
        goto oom;
    return m;
oom:
    tv_model_free(m);
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path ? path : "<memory>");
    return NULL;
}

void tv_vocab_release(struct tv_vocab *v)
{
    tv_free(v->tokens);
    tv_free(v->merges);
    tv_free(v->added);
    tv_strmap_release(&v->index);
    cJSON_Delete(v->json);
    memset(v, 0, sizeof *v);
}

void tv_model_free(tv_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_vocabs; i++)
        tv_vocab_release(&m->vocabs[i]);
    tv_free(m->vocabs);
    for (size_t i = 0; i < m->n_blobs; i++)
        tv_blob_unref(m->blobs[i]);
    tv_free(m->blobs);
    tv_free(m->files);
    tv_free(m->tensors);
    tv_strmap_release(&m->tensor_index);
    tv_free(m->meta);
    tv_free(m->claims);
    tv_free(m->findings);
    cJSON_Delete(m->config);
    tv_arena_release(&m->arena);
    tv_free(m->path);
    tv_free(m);
}

const char *tv_model_strdup(tv_model *m, const char *s, size_t len)
{
    return tv_arena_strndup(&m->arena, s, len);
}

int tv_model_add_file(tv_model *m, const char *display_name, tv_error *err)
{
    const char *copy = tv_model_strdup(m, display_name, strlen(display_name));
    if (!copy || tv_grow((void **)&m->files, &m->cap_files, m->n_files + 1, sizeof *m->files,
                         err) < 0)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", display_name);
    m->files[m->n_files++] = copy;
    return 0;
}

int tv_model_add_blob(tv_model *m, tv_blob *blob, tv_error *err)
{
    if (tv_grow((void **)&m->blobs, &m->cap_blobs, m->n_blobs + 1, sizeof *m->blobs, err) < 0)
        return -1;
    m->blobs[m->n_blobs++] = tv_blob_ref(blob);
    return 0;
}

const char *tv_model_kind(const tv_model *m) { return m->kind; }
const char *tv_model_path(const tv_model *m) { return m->path; }
size_t tv_model_file_count(const tv_model *m) { return m->n_files; }

const char *tv_model_file(const tv_model *m, size_t i)
{
    return i < m->n_files ? m->files[i] : NULL;
}

/* ---- vocabulary ------------------------------------------------------------------ */

struct tv_vocab *tv_model_new_vocab(tv_model *m, const char *origin, tv_error *err)
{
    if (m->n_vocabs == 1 && m->vocabs[0].n_tokens == 0 && !m->vocabs[0].json)
        tv_vocab_release(&m->vocabs[0]), m->n_vocabs = 0;
    if (tv_grow((void **)&m->vocabs, &m->cap_vocabs, m->n_vocabs + 1, sizeof *m->vocabs, err) < 0)
        return NULL;
    const char *o = origin ? tv_model_strdup(m, origin, strlen(origin)) : NULL;
    if (origin && !o) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", origin);
        return NULL;
    }
    struct tv_vocab *v = &m->vocabs[m->n_vocabs++];
    vocab_init(v, o);
    return v;
}

const struct tv_vocab *tv_model_vocab(const tv_model *m)
{
    return m->n_vocabs ? &m->vocabs[0] : NULL;
}

int tv_vocab_set_token(tv_model *m, struct tv_vocab *v, uint32_t id, const char *text,
                       size_t len, float score, int type, tv_error *err)
{
    if (id >= TV_MAX_TOKENS)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: token id %u exceeds the limit of %u ids",
                            v->origin ? v->origin : "vocabulary", id, TV_MAX_TOKENS);
    if (len > UINT32_MAX)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: token %u is %zu bytes long",
                            v->origin ? v->origin : "vocabulary", id, len);
    if (id >= v->n_tokens) {
        if (tv_grow((void **)&v->tokens, &v->cap_tokens, (size_t)id + 1, sizeof *v->tokens,
                    err) < 0)
            return -1;
        memset(v->tokens + v->n_tokens, 0, ((size_t)id + 1 - v->n_tokens) * sizeof *v->tokens);
        v->n_tokens = (size_t)id + 1;
    }
    char *copy = tv_arena_strndup(&m->arena, text, len);
    if (!copy)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory storing token %u", id);
    struct tv_token *t = &v->tokens[id];
    t->text = copy;
    t->len = (uint32_t)len;
    t->score = score;
    t->type = (uint8_t)type;
    v->index_built = false;
    return 0;
}

int tv_vocab_add_merge(tv_model *m, struct tv_vocab *v, const char *left, size_t left_len,
                       const char *right, size_t right_len, tv_error *err)
{
    if (left_len > UINT32_MAX || right_len > UINT32_MAX)
        return tv_error_set(err, TV_ERR_LIMIT, "merge %zu is too long", v->n_merges);
    if (tv_grow((void **)&v->merges, &v->cap_merges, v->n_merges + 1, sizeof *v->merges, err) < 0)
        return -1;
    char *l = tv_arena_strndup(&m->arena, left, left_len);
    char *r = tv_arena_strndup(&m->arena, right, right_len);
    if (!l || !r)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory storing merge %zu", v->n_merges);
    v->merges[v->n_merges++] = (struct tv_merge){l, r, (uint32_t)left_len, (uint32_t)right_len};
    return 0;
}

int tv_vocab_add_added(tv_model *m, struct tv_vocab *v, uint32_t id, const char *content,
                       size_t len, unsigned flags, tv_error *err)
{
    if (len > UINT32_MAX)
        return tv_error_set(err, TV_ERR_LIMIT, "added token %u is too long", id);
    if (tv_grow((void **)&v->added, &v->cap_added, v->n_added + 1, sizeof *v->added, err) < 0)
        return -1;
    char *c = tv_arena_strndup(&m->arena, content, len);
    if (!c)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory storing added token %u", id);
    v->added[v->n_added++] = (struct tv_added_token){id, c, (uint32_t)len, (uint8_t)flags};
    return 0;
}

static int build_index(struct tv_vocab *v)
{
    tv_strmap_release(&v->index);
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (t->text && tv_strmap_put(&v->index, t->text, t->len, id, NULL) < 0)
            return -1;
    }
    v->index_built = true;
    return 0;
}

int tv_vocab_lookup(struct tv_vocab *v, const char *bytes, size_t len, uint32_t *id)
{
    if (!v->index_built && build_index(v) < 0)
        return -1;
    uint64_t value;
    if (!tv_strmap_get(&v->index, bytes, len, &value))
        return -1;
    *id = (uint32_t)value;
    return 0;
}

size_t tv_vocab_size(const tv_model *m)
{
    return m->n_vocabs ? m->vocabs[0].n_tokens : 0;
}

const struct tv_token *tv_vocab_token(const tv_model *m, uint32_t id)
{
    if (!m->n_vocabs || id >= m->vocabs[0].n_tokens)
        return NULL;
    return &m->vocabs[0].tokens[id];
}

int tv_vocab_find(const tv_model *m, const char *bytes, size_t len, uint32_t *id)
{
    if (!m->n_vocabs)
        return -1;
    /* The index is a cache: building it lazily does not change what the model says. */
    return tv_vocab_lookup(&((tv_model *)m)->vocabs[0], bytes, len, id);
}

enum tv_tokenizer_kind tv_vocab_kind(const tv_model *m)
{
    return m->n_vocabs ? m->vocabs[0].kind : TV_TOKENIZER_NONE;
}

size_t tv_vocab_merge_count(const tv_model *m)
{
    return m->n_vocabs ? m->vocabs[0].n_merges : 0;
}

int tv_vocab_merge(const tv_model *m, size_t rank, const char **left, size_t *left_len,
                   const char **right, size_t *right_len)
{
    if (!m->n_vocabs || rank >= m->vocabs[0].n_merges)
        return -1;
    const struct tv_merge *mg = &m->vocabs[0].merges[rank];
    *left = mg->left;
    *left_len = mg->left_len;
    *right = mg->right;
    *right_len = mg->right_len;
    return 0;
}

int64_t tv_vocab_special(const tv_model *m, enum tv_special which)
{
    if (!m->n_vocabs || (unsigned)which >= TV_SPECIAL_COUNT)
        return -1;
    return m->vocabs[0].special[which];
}

const char *tv_vocab_origin(const tv_model *m)
{
    return m->n_vocabs ? m->vocabs[0].origin : NULL;
}

const char *tv_tokenizer_kind_name(enum tv_tokenizer_kind kind)
{
    switch (kind) {
    case TV_TOKENIZER_BPE: return "bpe";
    case TV_TOKENIZER_WORDPIECE: return "wordpiece";
    case TV_TOKENIZER_WORDLEVEL: return "wordlevel";
    case TV_TOKENIZER_UNIGRAM: return "unigram";
    case TV_TOKENIZER_NONE: break;
    }
    return "none";
}

const char *tv_special_name(enum tv_special which)
{
    static const char *const names[TV_SPECIAL_COUNT] = {"bos", "eos", "unk", "pad",
                                                        "sep", "cls", "mask"};
    return (unsigned)which < TV_SPECIAL_COUNT ? names[which] : "?";
}

const char *tv_token_type_name(int type)
{
    static const char *const names[] = {"undefined",    "normal", "unknown", "control",
                                        "user-defined", "unused", "byte"};
    return type >= 0 && (size_t)type < TV_ARRAY_SIZE(names) ? names[type] : "undefined";
}

/* ---- tensors ---------------------------------------------------------------------- */

int tv_tensor_size(enum tv_dtype dtype, uint32_t n_dims, const uint64_t *shape,
                   uint64_t *n_elements, uint64_t *n_bytes, tv_error *err)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        if (!tv_mul_u64_fits(n, shape[i], &n))
            return tv_error_set(err, TV_ERR_DATA, "shape overflows 64 bits at dimension %u", i);
    }
    const struct tv_dtype_info *info = tv_dtype_info(dtype);
    /* Quantized types pack blocks along the innermost dimension (ggml's rule). */
    if ((info->flags & TV_DTYPE_QUANT) && n_dims > 0 && shape[n_dims - 1] % info->block_size)
        return tv_error_set(err, TV_ERR_DATA,
                            "innermost dimension %llu is not a multiple of %s's block size %u",
                            (unsigned long long)shape[n_dims - 1], info->name, info->block_size);
    if (tv_dtype_bytes(dtype, n, n_bytes, err) < 0)
        return -1;
    *n_elements = n;
    return 0;
}

int tv_model_add_tensor(tv_model *m, const char *name, size_t name_len, enum tv_dtype dtype,
                        uint32_t n_dims, const uint64_t *shape, const char *file,
                        uint64_t offset, const uint8_t *data, tv_error *err)
{
    if (n_dims > TV_MAX_DIMS)
        return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.*s': %u dimensions (at most %d)",
                            file, (int)(name_len > 200 ? 200 : name_len), name, n_dims,
                            TV_MAX_DIMS);
    if (name_len > TV_MAX_NAME)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: tensor name of %zu bytes (at most %d)", file,
                            name_len, TV_MAX_NAME);
    if (m->n_tensors >= m->opt.max_tensors)
        return tv_error_set(err, TV_ERR_LIMIT,
                            "%s: more than %llu tensors (raise the limit with --max-tensors)",
                            file, (unsigned long long)m->opt.max_tensors);
    struct tv_tensor t = {0};
    t.dtype = dtype;
    t.n_dims = n_dims;
    for (uint32_t i = 0; i < n_dims; i++)
        t.shape[i] = shape[i];
    if (tv_tensor_size(dtype, n_dims, shape, &t.n_elements, &t.n_bytes, err) < 0) {
        tv_error_prefix(err, "%s: tensor '%.*s'", file, (int)(name_len > 200 ? 200 : name_len),
                        name);
        return -1;
    }
    t.name = tv_arena_strndup(&m->arena, name, name_len);
    t.file = tv_arena_strndup(&m->arena, file, strlen(file));
    if (!t.name || !t.file)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
    t.offset = offset;
    t.data = data;
    uint64_t first;
    int put = tv_strmap_put(&m->tensor_index, t.name, name_len, m->n_tensors, &first);
    if (put < 0)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
    if (put == 0) {
        if (strcmp(m->tensors[first].file, t.file) == 0)
            return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%s' appears twice", file, t.name);
        return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%s' appears twice: also in %s", file,
                            t.name, m->tensors[first].file);
    }
    if (tv_grow((void **)&m->tensors, &m->cap_tensors, m->n_tensors + 1, sizeof *m->tensors,
                err) < 0)
        return -1;
    m->tensors[m->n_tensors++] = t;
    return 0;
}

size_t tv_model_tensor_count(const tv_model *m) { return m->n_tensors; }

const struct tv_tensor *tv_model_tensor(const tv_model *m, size_t i)
{
    return i < m->n_tensors ? &m->tensors[i] : NULL;
}

const struct tv_tensor *tv_model_tensor_find(const tv_model *m, const char *name)
{
    uint64_t i;
    if (!tv_strmap_get(&m->tensor_index, name, strlen(name), &i))
        return NULL;
    return &m->tensors[i];
}

const struct tv_tensor *tv_model_embedding(const tv_model *m)
{
    return m->embedding >= 0 ? &m->tensors[m->embedding] : NULL;
}

uint64_t tv_model_parameter_count(const tv_model *m)
{
    uint64_t total = 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        total += m->tensors[i].n_elements;
    return total;
}

/* Known token-embedding names, most specific first. Each is tried as is, with
   ".weight", and after the prefixes below. */
static const char *const embedding_names[] = {
    "token_embd", "tok_embeddings", "embed_tokens", "wte", "word_embeddings",
    "embeddings.word_embeddings", "embed_in", "shared", "tok_embedding",
    "token_embedding", "embedding.word_embeddings", "word_emb", "emb", "embeddings",
};
static const char *const embedding_prefixes[] = {
    "", "model.", "transformer.", "gpt_neox.", "bert.", "roberta.", "model.model.",
    "language_model.model.", "model.language_model.", "encoder.", "decoder.", "backbone.",
    "model.decoder.", "model.encoder.", "language_model.", "text_model.", "0.",
};

static long find_named_embedding(const tv_model *m)
{
    char buf[256];
    for (size_t n = 0; n < TV_ARRAY_SIZE(embedding_names); n++)
        for (size_t p = 0; p < TV_ARRAY_SIZE(embedding_prefixes); p++)
            for (int suffix = 0; suffix < 2; suffix++) {
                snprintf(buf, sizeof buf, "%s%s%s", embedding_prefixes[p], embedding_names[n],
                         suffix ? ".weight" : "");
                uint64_t i;
                if (tv_strmap_get(&m->tensor_index, buf, strlen(buf), &i) &&
                    m->tensors[i].n_dims == 2)
                    return (long)i;
            }
    return -1;
}

int tv_model_pick_embedding(tv_model *m, tv_error *err)
{
    m->embedding = -1;
    if (m->opt.embedding) {
        uint64_t i;
        if (!tv_strmap_get(&m->tensor_index, m->opt.embedding, strlen(m->opt.embedding), &i))
            return tv_error_set(err, TV_ERR_NOTFOUND, "%s: no tensor named '%s' (of %zu tensors)",
                                m->path, m->opt.embedding, m->n_tensors);
        if (m->tensors[i].n_dims != 2)
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensor '%s' has %u dimensions; an embedding has 2", m->path,
                                m->opt.embedding, m->tensors[i].n_dims);
        m->embedding = (long)i;
        return 0;
    }
    m->embedding = find_named_embedding(m);
    if (m->embedding >= 0)
        return 0;
    size_t n_vocab = tv_vocab_size(m);
    if (!n_vocab)
        return 0;
    long found = -1;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (m->tensors[i].n_dims == 2 && m->tensors[i].shape[0] == n_vocab) {
            if (found >= 0)
                return 0; /* ambiguous: name it with --embedding */
            found = (long)i;
        }
    }
    m->embedding = found;
    return 0;
}

/* ---- metadata and claims ---------------------------------------------------------- */

int tv_model_add_meta(tv_model *m, const char *key, size_t key_len, const struct tv_value *v,
                      enum tv_origin origin, const char *file, tv_error *err)
{
    if (tv_grow((void **)&m->meta, &m->cap_meta, m->n_meta + 1, sizeof *m->meta, err) < 0)
        return -1;
    const char *k = tv_arena_strndup(&m->arena, key, key_len);
    const char *f = tv_arena_strndup(&m->arena, file, strlen(file));
    if (!k || !f)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
    m->meta[m->n_meta++] = (struct tv_meta){.key = k, .value = *v, .origin = origin, .file = f};
    return 0;
}

int tv_model_add_claim(tv_model *m, enum tv_claim_kind kind, int64_t value, int special,
                       const char *file, const char *key, tv_error *err)
{
    if (tv_grow((void **)&m->claims, &m->cap_claims, m->n_claims + 1, sizeof *m->claims, err) < 0)
        return -1;
    const char *f = tv_arena_strndup(&m->arena, file, strlen(file));
    const char *k = tv_arena_strndup(&m->arena, key, strlen(key));
    if (!f || !k)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
    m->claims[m->n_claims++] =
        (struct tv_claim){.kind = kind, .value = value, .special = special, .file = f, .key = k};
    return 0;
}

int tv_model_add_finding(tv_model *m, const char *check, enum tv_severity severity,
                         tv_error *err, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (tv_grow((void **)&m->findings, &m->cap_findings, m->n_findings + 1,
                sizeof *m->findings, err) < 0)
        return -1;
    const char *c = tv_arena_strndup(&m->arena, check, strlen(check));
    const char *msg = tv_arena_strndup(&m->arena, message, strlen(message));
    if (!c || !msg)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory recording a finding");
    m->findings[m->n_findings++] = (struct tv_finding){c, severity, msg};
    return 0;
}

size_t tv_model_meta_count(const tv_model *m) { return m->n_meta; }

const struct tv_meta *tv_model_meta(const tv_model *m, size_t i)
{
    return i < m->n_meta ? &m->meta[i] : NULL;
}

const struct tv_meta *tv_model_meta_find(const tv_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0)
            return &m->meta[i];
    return NULL;
}

const struct tv_meta *tv_model_meta_find_origin(const tv_model *m, enum tv_origin origin,
                                                const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (m->meta[i].origin == origin && strcmp(m->meta[i].key, key) == 0)
            return &m->meta[i];
    return NULL;
}

/* ---- values ------------------------------------------------------------------------ */

const char *tv_value_type_name(enum tv_value_type type)
{
    static const char *const names[TV_VALUE_TYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64",
        "i64", "f64"};
    return (unsigned)type < TV_VALUE_TYPE_COUNT ? names[type] : "?";
}

size_t tv_value_type_size(enum tv_value_type type)
{
    static const size_t sizes[TV_VALUE_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)type < TV_VALUE_TYPE_COUNT ? sizes[type] : 0;
}

int tv_value_int(const struct tv_value *v, int64_t *out)
{
    switch (v->type) {
    case TV_VALUE_U8: case TV_VALUE_U16: case TV_VALUE_U32: case TV_VALUE_BOOL:
        *out = (int64_t)v->as.u;
        return 0;
    case TV_VALUE_U64:
        if (v->as.u > INT64_MAX)
            return -1;
        *out = (int64_t)v->as.u;
        return 0;
    case TV_VALUE_I8: case TV_VALUE_I16: case TV_VALUE_I32: case TV_VALUE_I64:
        *out = v->as.i;
        return 0;
    case TV_VALUE_F32: case TV_VALUE_F64:
        if (!(v->as.f >= -9007199254740992.0 && v->as.f <= 9007199254740992.0) ||
            (double)(int64_t)v->as.f != v->as.f)
            return -1;
        *out = (int64_t)v->as.f;
        return 0;
    default:
        return -1;
    }
}

int tv_value_float(const struct tv_value *v, double *out)
{
    switch (v->type) {
    case TV_VALUE_U8: case TV_VALUE_U16: case TV_VALUE_U32: case TV_VALUE_U64:
        *out = (double)v->as.u;
        return 0;
    case TV_VALUE_I8: case TV_VALUE_I16: case TV_VALUE_I32: case TV_VALUE_I64:
        *out = (double)v->as.i;
        return 0;
    case TV_VALUE_F32: case TV_VALUE_F64:
        *out = v->as.f;
        return 0;
    default:
        return -1;
    }
}

static int array_scalar(const struct tv_array *a, uint64_t i, struct tv_value *out)
{
    size_t size = tv_value_type_size(a->elem_type);
    if (i >= a->n || size == 0)
        return -1;
    const uint8_t *p = (const uint8_t *)a->data + i * size;
    out->type = a->elem_type;
    switch (a->elem_type) {
    case TV_VALUE_U8: case TV_VALUE_BOOL: out->as.u = p[0]; break;
    case TV_VALUE_I8: out->as.i = (int8_t)p[0]; break;
    case TV_VALUE_U16: out->as.u = tv_le16(p); break;
    case TV_VALUE_I16: out->as.i = (int16_t)tv_le16(p); break;
    case TV_VALUE_U32: out->as.u = tv_le32(p); break;
    case TV_VALUE_I32: out->as.i = (int32_t)tv_le32(p); break;
    case TV_VALUE_U64: out->as.u = tv_le64(p); break;
    case TV_VALUE_I64: out->as.i = (int64_t)tv_le64(p); break;
    case TV_VALUE_F32: {
        uint32_t bits = tv_le32(p);
        float f;
        memcpy(&f, &bits, 4);
        out->as.f = f;
        break;
    }
    case TV_VALUE_F64: {
        uint64_t bits = tv_le64(p);
        memcpy(&out->as.f, &bits, 8);
        break;
    }
    default:
        return -1;
    }
    return 0;
}

int tv_array_int(const struct tv_array *a, uint64_t i, int64_t *out)
{
    struct tv_value v;
    return array_scalar(a, i, &v) < 0 ? -1 : tv_value_int(&v, out);
}

int tv_array_float(const struct tv_array *a, uint64_t i, double *out)
{
    struct tv_value v;
    return array_scalar(a, i, &v) < 0 ? -1 : tv_value_float(&v, out);
}
