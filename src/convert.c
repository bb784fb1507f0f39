/*
 * Writing a model: the write plan, tensor streaming, and the outputs that are more
 * than one format writer: Hugging Face folders and tokenizer.json files.
 *
 *   tv_model_write(m, path, opt)
 *     1. the output format: opt->format, else the path (.gguf, .safetensors,
 *        *tokenizer.json, a folder: an existing folder, a trailing '/', or a name
 *        without an extension)
 *     2. a write plan (tv_write_plan_init): which tensors, their output names,
 *        dtypes and bytes; everything the target cannot hold is refused here,
 *        before the output exists
 *     3. the bytes: one file through tv_out (temporary file beside the target,
 *        fsync, rename), or a folder built in a temporary folder beside the target
 *        and renamed into place (config.json, tokenizer.json, model.safetensors or
 *        model-0000i-of-0000n.safetensors + model.safetensors.index.json)
 *
 * Streaming keeps memory bounded: a tensor whose dtype is kept is copied from the
 * source mapping in 4 MiB pieces; one that is converted goes through 1 MiB of f32
 * scratch. Source pages already written are dropped from the mapping, so the
 * resident set does not grow with the model either.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "vocab_export.h"

#define COPY_CHUNK (4u << 20)          /* bytes copied per write when the dtype is kept */
#define SCRATCH_FLOATS (256u * 1024u)  /* 1 MiB of f32 for conversions */
#define MAX_ELEMENT_BYTES 8            /* the widest element a conversion writes (F64) */

/* ---- text buffers and JSON strings ---------------------------------------------- */

void tv_text_release(struct tv_text *t)
{
    tv_free(t->ptr);
    memset(t, 0, sizeof *t);
}

static bool text_reserve(struct tv_text *t, size_t extra)
{
    if (t->failed)
        return false;
    if (t->len + extra + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            t->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = tv_realloc(t->ptr, cap);
    if (!p) {
        t->failed = true;
        return false;
    }
    t->ptr = p;
    t->cap = cap;
    return true;
}

void tv_text_append(struct tv_text *t, const char *s, size_t len)
{
    if (!text_reserve(t, len))
        return;
    memcpy(t->ptr + t->len, s, len);
    t->len += len;
    t->ptr[t->len] = '\0';
}

void tv_text_printf(struct tv_text *t, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tv_text_append(t, small, (size_t)n);
        return;
    }
    if (!text_reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->ptr + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* serde_json's escapes: \" \\ \b \f \n \r \t, other controls as \u00xx, the rest raw. */
int tv_text_json_string(struct tv_text *t, const char *s, size_t len)
{
    if (!tv_utf8_valid(s, len))
        return -1;
    tv_text_append(t, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(hex, sizeof hex, "\\u%04x", c);
                esc = hex;
            }
        }
        if (!esc)
            continue;
        tv_text_append(t, s + run, i - run);
        tv_text_append(t, esc, strlen(esc));
        run = i + 1;
    }
    tv_text_append(t, s + run, len - run);
    tv_text_append(t, "\"", 1);
    return t->failed ? -1 : 0;
}

/* ---- architectures ------------------------------------------------------------- */

/*
 * Hugging Face model classes and model_type values with the GGUF architecture name
 * llama.cpp's converter gives them, the conventional name of their token embedding in
 * a Hugging Face checkpoint, the config.json key of their hidden size, and the name of
 * the output head that llama.cpp calls "output" (NULL: the class has none).
 */
static const struct arch_info {
    const char *hf_class;
    const char *model_type;
    const char *gguf_arch;
    const char *embedding;
    const char *hidden_key;
    const char *head;
} arch_table[] = {
    {"LlamaForCausalLM", "llama", "llama", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"MistralForCausalLM", "mistral", "llama", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"GPT2LMHeadModel", "gpt2", "gpt2", "transformer.wte.weight", "n_embd", "lm_head"},
    {"BertModel", "bert", "bert", "embeddings.word_embeddings.weight", "hidden_size", NULL},
    {"BertForMaskedLM", "bert", "bert", "embeddings.word_embeddings.weight", "hidden_size", NULL},
    {"RobertaModel", "roberta", "bert", "embeddings.word_embeddings.weight", "hidden_size", NULL},
    {"NomicBertModel", "nomic_bert", "nomic-bert", "embeddings.word_embeddings.weight",
     "n_embd", NULL},
    {"Qwen2ForCausalLM", "qwen2", "qwen2", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"Qwen2MoeForCausalLM", "qwen2_moe", "qwen2moe", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"Qwen3ForCausalLM", "qwen3", "qwen3", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"GemmaForCausalLM", "gemma", "gemma", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"Gemma2ForCausalLM", "gemma2", "gemma2", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"Gemma3ForCausalLM", "gemma3_text", "gemma3", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"PhiForCausalLM", "phi", "phi2", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"Phi3ForCausalLM", "phi3", "phi3", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"GPTNeoXForCausalLM", "gpt_neox", "gptneox", "gpt_neox.embed_in.weight",
     "hidden_size", "embed_out"},
    {"FalconForCausalLM", "falcon", "falcon", "transformer.word_embeddings.weight",
     "hidden_size", "lm_head"},
    {"BloomForCausalLM", "bloom", "bloom", "transformer.word_embeddings.weight",
     "hidden_size", "lm_head"},
    {"GPTBigCodeForCausalLM", "gpt_bigcode", "starcoder", "transformer.wte.weight",
     "n_embd", "lm_head"},
    {"Starcoder2ForCausalLM", "starcoder2", "starcoder2", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"GPTJForCausalLM", "gptj", "gptj", "transformer.wte.weight", "n_embd", "lm_head"},
    {"MPTForCausalLM", "mpt", "mpt", "transformer.wte.weight", "d_model", "lm_head"},
    {"MiniCPMForCausalLM", "minicpm", "minicpm", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"MiniCPM3ForCausalLM", "minicpm3", "minicpm3", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"StableLmForCausalLM", "stablelm", "stablelm", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"OlmoForCausalLM", "olmo", "olmo", "model.embed_tokens.weight", "hidden_size", "lm_head"},
    {"DeepseekV2ForCausalLM", "deepseek_v2", "deepseek2", "model.embed_tokens.weight",
     "hidden_size", "lm_head"},
    {"T5ForConditionalGeneration", "t5", "t5", "shared.weight", "d_model", "lm_head"},
};

/* GGUF {arch}.* numbers, their GGUF type (llama.cpp's loader wants exactly these) and the
   config.json keys Hugging Face uses for them (GPT-2 style configs name them differently). */
static const struct {
    const char *suffix;
    enum tv_value_type type;
    const char *key;
    const char *gpt2_key;
} gguf_config_keys[] = {
    {"context_length", TV_VALUE_U32, "max_position_embeddings", "n_positions"},
    {"block_count", TV_VALUE_U32, "num_hidden_layers", "n_layer"},
    {"feed_forward_length", TV_VALUE_U32, "intermediate_size", "n_inner"},
    {"attention.head_count", TV_VALUE_U32, "num_attention_heads", "n_head"},
    {"attention.head_count_kv", TV_VALUE_U32, "num_key_value_heads", NULL},
    {"attention.layer_norm_rms_epsilon", TV_VALUE_F32, "rms_norm_eps", NULL},
    {"attention.layer_norm_epsilon", TV_VALUE_F32, "layer_norm_eps", "layer_norm_epsilon"},
    {"rope.freq_base", TV_VALUE_F32, "rope_theta", NULL},
};

/*
 * A llama model's tensors as llama.cpp names them and as Hugging Face does (gguf-py's
 * tensor_mapping for MODEL_ARCH.LLAMA): per block "blk.N.<gguf>" is
 * "model.layers.N.<hf>", each with ".weight" or ".bias". llama.cpp's converter permutes
 * the rows of q_proj (by num_attention_heads) and k_proj (by num_key_value_heads).
 */
enum perm_kind { PERM_NONE, PERM_Q, PERM_K };
static const struct {
    const char *gguf;
    const char *hf;
    enum perm_kind perm;
} llama_block_tensors[] = {
    {"attn_norm", "input_layernorm", PERM_NONE},
    {"attn_q", "self_attn.q_proj", PERM_Q},
    {"attn_k", "self_attn.k_proj", PERM_K},
    {"attn_v", "self_attn.v_proj", PERM_NONE},
    {"attn_output", "self_attn.o_proj", PERM_NONE},
    {"ffn_norm", "post_attention_layernorm", PERM_NONE},
    {"ffn_gate", "mlp.gate_proj", PERM_NONE},
    {"ffn_up", "mlp.up_proj", PERM_NONE},
    {"ffn_down", "mlp.down_proj", PERM_NONE},
};
static const struct {
    const char *gguf;
    const char *hf;
} llama_top_tensors[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

static const struct arch_info *arch_by_class(const char *cls)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(arch_table); i++)
        if (strcmp(arch_table[i].hf_class, cls) == 0)
            return &arch_table[i];
    return NULL;
}

static const struct arch_info *arch_by_model_type(const char *type)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(arch_table); i++)
        if (strcmp(arch_table[i].model_type, type) == 0)
            return &arch_table[i];
    return NULL;
}

/* The first row for a GGUF architecture name (its Hugging Face class and type). */
static const struct arch_info *arch_by_gguf(const char *arch)
{
    if (!arch)
        return NULL;
    for (size_t i = 0; i < TV_ARRAY_SIZE(arch_table); i++)
        if (strcmp(arch_table[i].gguf_arch, arch) == 0)
            return &arch_table[i];
    return NULL;
}

static const struct arch_info *arch_by_embedding(const char *name)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(arch_table); i++)
        if (strcmp(arch_table[i].embedding, name) == 0)
            return &arch_table[i];
    return NULL;
}

int tv_gguf_file_type(enum tv_dtype dtype)
{
    /* llama.h enum llama_ftype; the K-quants name their _M variant. */
    switch (dtype) {
    case TV_DTYPE_F32: return 0;
    case TV_DTYPE_F16: return 1;
    case TV_DTYPE_Q4_0: return 2;
    case TV_DTYPE_Q4_1: return 3;
    case TV_DTYPE_Q8_0: return 7;
    case TV_DTYPE_Q5_0: return 8;
    case TV_DTYPE_Q5_1: return 9;
    case TV_DTYPE_Q2_K: return 10;
    case TV_DTYPE_Q3_K: return 12;
    case TV_DTYPE_Q4_K: return 15;
    case TV_DTYPE_Q5_K: return 17;
    case TV_DTYPE_Q6_K: return 18;
    case TV_DTYPE_IQ2_XXS: return 19;
    case TV_DTYPE_IQ2_XS: return 20;
    case TV_DTYPE_IQ3_XXS: return 23;
    case TV_DTYPE_IQ1_S: return 24;
    case TV_DTYPE_IQ4_NL: return 25;
    case TV_DTYPE_IQ3_S: return 26;
    case TV_DTYPE_IQ2_S: return 28;
    case TV_DTYPE_IQ4_XS: return 30;
    case TV_DTYPE_IQ1_M: return 31;
    case TV_DTYPE_BF16: return 32;
    case TV_DTYPE_TQ1_0: return 36;
    case TV_DTYPE_TQ2_0: return 37;
    case TV_DTYPE_MXFP4: return 38;
    default: return -1;
    }
}

/* ---- options ----------------------------------------------------------------------- */

void tv_write_options_init(struct tv_write_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->dtype = -1;
}

/* ---- the plan ------------------------------------------------------------------------ */

static const char *target_label(enum tv_write_target target)
{
    return target == TV_TARGET_GGUF ? "GGUF" : "safetensors";
}

static bool target_holds(enum tv_write_target target, enum tv_dtype dtype)
{
    const struct tv_dtype_info *info = tv_dtype_info(dtype);
    return target == TV_TARGET_GGUF ? info->ggml_type >= 0 : info->safetensors_name != NULL;
}

static const char *plan_strdup(struct tv_write_plan *p, const char *s, size_t len)
{
    return tv_arena_strndup(&p->arena, s, len);
}

static const char *meta_string(const tv_model *m, enum tv_origin origin, const char *key,
                               size_t *len)
{
    const struct tv_meta *meta = tv_model_meta_find_origin(m, origin, key);
    if (!meta || meta->value.type != TV_VALUE_STRING)
        return NULL;
    *len = (size_t)meta->value.as.str.len;
    return meta->value.as.str.ptr;
}

static const char *config_string(const tv_model *m, const char *key)
{
    const cJSON *item = m->config ? cJSON_GetObjectItemCaseSensitive(m->config, key) : NULL;
    return cJSON_IsString(item) && item->valuestring[0] ? item->valuestring : NULL;
}

/* The first claim of a kind, or -1. */
static int64_t first_claim(const tv_model *m, enum tv_claim_kind kind)
{
    for (size_t i = 0; i < m->n_claims; i++)
        if (m->claims[i].kind == kind && m->claims[i].value >= 0)
            return m->claims[i].value;
    return -1;
}

/*
 * Architecture, name, vocabulary size, hidden size and tying, from what the sources say.
 * *from_gguf: the architecture is a GGUF's (its tensors have llama.cpp's names);
 * *arch_known: it is a GGUF's or config.json's, not guessed from the embedding's name.
 */
static int describe_model(struct tv_write_plan *p, bool *from_gguf_out, bool *arch_known,
                          tv_error *err)
{
    const tv_model *m = p->m;
    const struct tv_tensor *emb = tv_model_embedding(m);
    size_t len;
    const char *s = meta_string(m, TV_ORIGIN_GGUF, "general.architecture", &len);
    bool from_gguf = s != NULL;
    *from_gguf_out = from_gguf;
    if (s) {
        p->arch = plan_strdup(p, s, len);
    } else if (m->config) {
        const cJSON *archs = cJSON_GetObjectItemCaseSensitive(m->config, "architectures");
        const cJSON *first = cJSON_IsArray(archs) ? archs->child : NULL;
        const struct arch_info *a = cJSON_IsString(first) ? arch_by_class(first->valuestring)
                                                          : NULL;
        const char *type = config_string(m, "model_type");
        if (!a && type)
            a = arch_by_model_type(type);
        if (a)
            p->arch = a->gguf_arch;
        else if (type)
            p->arch = type;
    }
    *arch_known = p->arch != NULL;
    if (!p->arch && emb) {
        const struct arch_info *a = arch_by_embedding(emb->name);
        p->arch = a ? a->gguf_arch : NULL;
    }
    if (s && !p->arch)
        goto oom;

    s = meta_string(m, TV_ORIGIN_GGUF, "general.name", &len);
    if (s) {
        p->model_name = plan_strdup(p, s, len);
        if (!p->model_name)
            goto oom;
    } else if ((s = config_string(m, "_name_or_path"))) {
        const char *slash = strrchr(s, '/');
        if (!slash || slash[1])
            p->model_name = slash ? slash + 1 : s;
    }

    /* the rows of the embedding written (a padded embedding has more rows than the
       tokenizer has tokens), else the tokenizer's size, else what a source claims */
    p->n_vocab = emb ? emb->shape[0] : tv_vocab_size(m);
    if (!p->n_vocab && first_claim(m, TV_CLAIM_VOCAB_SIZE) > 0)
        p->n_vocab = (uint64_t)first_claim(m, TV_CLAIM_VOCAB_SIZE);
    if (emb)
        p->hidden = emb->shape[1];
    else if (first_claim(m, TV_CLAIM_HIDDEN_DIM) > 0)
        p->hidden = (uint64_t)first_claim(m, TV_CLAIM_HIDDEN_DIM);

    p->tied = (int)first_claim(m, TV_CLAIM_TIED);
    /* llama.cpp ties a GGUF model's output to token_embd when output.weight is absent. */
    if (p->tied < 0 && from_gguf && emb && m->n_tensors > 1)
        p->tied = tv_model_tensor_find(m, "output.weight") == NULL;
    return 0;
oom:
    return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
}

/* A config.json number that is a whole number in 1..2^32-1, or 0. */
static uint64_t config_count(const tv_model *m, const char *key)
{
    const cJSON *item = m->config ? cJSON_GetObjectItemCaseSensitive(m->config, key) : NULL;
    uint64_t value;
    return item && tv_json_uint(item, &value) == 0 && value <= UINT32_MAX ? value : 0;
}

/* A GGUF source's integer key, or 0. */
static uint64_t gguf_count(const struct tv_write_plan *p, const char *suffix)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", p->arch, suffix);
    const struct tv_meta *meta = tv_model_meta_find_origin(p->m, TV_ORIGIN_GGUF, key);
    int64_t value;
    return meta && tv_value_int(&meta->value, &value) == 0 && value > 0 && value <= UINT32_MAX
               ? (uint64_t)value : 0;
}

/*
 * Which names the output gets. A GGUF source written as safetensors or a folder gets
 * Hugging Face names, a Hugging Face source (its architecture from config.json) written as
 * GGUF gets llama.cpp's; the embedding's name follows the target in any case. For a llama
 * model the head counts of the q/k permutation come from the side being read.
 */
static void plan_naming(struct tv_write_plan *p, bool from_gguf, bool arch_known)
{
    if (from_gguf && p->target == TV_TARGET_SAFETENSORS)
        p->naming = TV_NAMES_TO_HF;
    else if (!from_gguf && arch_known && p->target == TV_TARGET_GGUF)
        p->naming = TV_NAMES_TO_GGUF;
    if (!p->arch || strcmp(p->arch, "llama") != 0)
        return;
    if (p->naming == TV_NAMES_TO_HF) {
        p->n_head = gguf_count(p, "attention.head_count");
        p->n_head_kv = gguf_count(p, "attention.head_count_kv");
    } else if (p->naming == TV_NAMES_TO_GGUF) {
        p->n_head = config_count(p->m, "num_attention_heads");
        if (!p->n_head)
            p->n_head = config_count(p->m, "n_heads");
        p->n_head_kv = config_count(p->m, "num_key_value_heads");
        if (!p->n_head_kv)
            p->n_head_kv = config_count(p->m, "n_kv_heads");
    }
    if (!p->n_head_kv)
        p->n_head_kv = p->n_head;
}

/* "<prefix>N.<part>.weight" (or ".bias"): N and where part is. */
static bool split_block_name(const char *name, const char *prefix, unsigned long *block,
                             const char **part, size_t *part_len, const char **suffix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0)
        return false;
    const char *digits = name + n;
    size_t n_digits = strspn(digits, "0123456789");
    if (n_digits == 0 || n_digits > 9 || (digits[0] == '0' && n_digits > 1) ||
        digits[n_digits] != '.')
        return false;
    const char *rest = digits + n_digits + 1;
    const char *dot = strrchr(rest, '.');
    if (!dot || dot == rest || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0))
        return false;
    *block = strtoul(digits, NULL, 10);
    *part = rest;
    *part_len = (size_t)(dot - rest);
    *suffix = dot + 1;
    return true;
}

/* name is "<base>.weight" or "<base>.bias": the suffix, else NULL. */
static const char *top_suffix(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0)
        return NULL;
    return strcmp(name + n, ".weight") == 0 ? "weight" : strcmp(name + n, ".bias") == 0 ? "bias"
                                                                                         : NULL;
}

/*
 * The output name of a plan tensor, and for a llama model's q and k projections the
 * permutation that comes with crossing between llama.cpp's names and Hugging Face's.
 * Names that have no counterpart stay as they are.
 */
static int name_tensor(struct tv_write_plan *p, struct tv_plan_tensor *pt, tv_error *err)
{
    const struct tv_tensor *t = pt->src;
    const struct arch_info *a = arch_by_gguf(p->arch);
    pt->name = t->name;
    if (pt->is_embedding) {
        if (p->target == TV_TARGET_GGUF)
            pt->name = TV_GGUF_EMBEDDING_NAME;
        else if (a)
            pt->name = a->embedding;
        return 0;
    }
    if (p->naming == TV_NAMES_KEEP)
        return 0;
    bool to_hf = p->naming == TV_NAMES_TO_HF;
    bool llama = strcmp(p->arch, "llama") == 0;
    char out[512];
    const char *suffix;
    enum perm_kind perm = PERM_NONE;
    out[0] = '\0';
    if (llama) {
        unsigned long block;
        const char *part;
        size_t part_len;
        for (size_t k = 0; k < TV_ARRAY_SIZE(llama_top_tensors) && !out[0]; k++)
            if ((suffix = top_suffix(t->name, to_hf ? llama_top_tensors[k].gguf
                                                    : llama_top_tensors[k].hf)))
                snprintf(out, sizeof out, "%s.%s",
                         to_hf ? llama_top_tensors[k].hf : llama_top_tensors[k].gguf, suffix);
        if (!out[0] && split_block_name(t->name, to_hf ? "blk." : "model.layers.", &block, &part,
                                        &part_len, &suffix)) {
            for (size_t k = 0; k < TV_ARRAY_SIZE(llama_block_tensors); k++) {
                const char *from = to_hf ? llama_block_tensors[k].gguf : llama_block_tensors[k].hf;
                if (strlen(from) != part_len || memcmp(from, part, part_len) != 0)
                    continue;
                snprintf(out, sizeof out, to_hf ? "model.layers.%lu.%s.%s" : "blk.%lu.%s.%s",
                         block, to_hf ? llama_block_tensors[k].hf : llama_block_tensors[k].gguf,
                         suffix);
                perm = llama_block_tensors[k].perm;
                break;
            }
        }
    } else if (a && a->head && (suffix = top_suffix(t->name, to_hf ? "output" : a->head))) {
        snprintf(out, sizeof out, "%s.%s", to_hf ? a->head : "output", suffix);
    }
    if (out[0] && !(pt->name = plan_strdup(p, out, strlen(out))))
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
    if (perm == PERM_NONE)
        return 0;
    uint64_t heads = perm == PERM_Q ? p->n_head : p->n_head_kv;
    if (!heads)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%s': llama.cpp permutes a llama model's q and k rows "
                            "by attention head, and the source does not say how many heads "
                            "there are (%s)", p->out_name, t->name,
                            to_hf ? "llama.attention.head_count"
                                  : "num_attention_heads in config.json");
    if (t->n_dims == 0 || t->shape[0] % (2 * heads) != 0)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%s': %llu rows do not split into %llu attention heads "
                            "of an even number of rows", p->out_name, t->name,
                            (unsigned long long)(t->n_dims ? t->shape[0] : 0),
                            (unsigned long long)heads);
    pt->head_rows = t->shape[0] / heads;
    pt->to_gguf = !to_hf;
    return 0;
}

/*
 * The architecture numbers of a Hugging Face source's config.json under llama.cpp's
 * {arch}.* keys, typed as llama.cpp's converter writes them (which its loader checks),
 * for a GGUF output; a llama model also gets rope.dimension_count (head_dim, else
 * hidden_size / num_attention_heads) as llama.cpp's LlamaModel writes it.
 */
static int plan_gguf_numbers(struct tv_write_plan *p, tv_error *err)
{
    const tv_model *m = p->m;
    if (p->naming != TV_NAMES_TO_GGUF || !m->config || !p->arch)
        return 0;
    const struct arch_info *a = arch_by_gguf(p->arch);
    bool gpt2_style = a && strcmp(a->hidden_key, "n_embd") == 0;
    size_t cap = TV_ARRAY_SIZE(gguf_config_keys) + 1;
    p->kv = tv_arena_alloc(&p->arena, cap * sizeof *p->kv);
    if (!p->kv)
        goto oom;
    for (size_t k = 0; k <= TV_ARRAY_SIZE(gguf_config_keys); k++) {
        const char *suffix;
        struct tv_value v;
        if (k < TV_ARRAY_SIZE(gguf_config_keys)) {
            const char *key = gpt2_style ? gguf_config_keys[k].gpt2_key : gguf_config_keys[k].key;
            const cJSON *item = key ? cJSON_GetObjectItemCaseSensitive(m->config, key) : NULL;
            uint64_t count;
            suffix = gguf_config_keys[k].suffix;
            v.type = gguf_config_keys[k].type;
            if (!cJSON_IsNumber(item))
                continue;
            if (v.type == TV_VALUE_F32)
                v.as.f = (double)(float)item->valuedouble;
            else if (tv_json_uint(item, &count) == 0 && count <= UINT32_MAX)
                v.as.u = count;
            else
                continue;
        } else {
            if (strcmp(p->arch, "llama") != 0)
                break;
            uint64_t dims = config_count(m, "head_dim");
            if (!dims && p->n_head && p->hidden % p->n_head == 0)
                dims = p->hidden / p->n_head;
            if (!dims)
                break;
            suffix = "rope.dimension_count";
            v = (struct tv_value){.type = TV_VALUE_U32, .as.u = dims};
        }
        char key[256];
        snprintf(key, sizeof key, "%s.%s", p->arch, suffix);
        if (!(p->kv[p->n_kv].key = plan_strdup(p, key, strlen(key))))
            goto oom;
        p->kv[p->n_kv++].value = v;
    }
    return 0;
oom:
    return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
}

/* The rules of the target for a tensor's name and shape. */
static int check_tensor(const struct tv_write_plan *p, const struct tv_plan_tensor *pt,
                        tv_error *err)
{
    const struct tv_tensor *t = pt->src;
    size_t len = strlen(pt->name);
    if (p->target == TV_TARGET_SAFETENSORS) {
        if (!tv_utf8_valid(pt->name, len))
            return tv_error_set(err, TV_ERR_UNSUPPORTED,
                                "%s: tensor '%.200s': the name is not valid UTF-8, which a "
                                "safetensors header (JSON) cannot hold", p->out_name, pt->name);
        return 0;
    }
    if (len > TV_GGUF_MAX_NAME_BYTES)
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tensor '%.200s': name of %zu bytes; GGUF (ggml) allows at most "
                            "%d", p->out_name, pt->name, len, TV_GGUF_MAX_NAME_BYTES);
    if (t->n_dims > TV_GGUF_MAX_DIMS)
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tensor '%s': %u dimensions; GGUF (ggml) allows at most %d",
                            p->out_name, pt->name, t->n_dims, TV_GGUF_MAX_DIMS);
    /* ggml's reader divides by ne[1..3] to check the element count. */
    for (uint32_t d = 0; d + 1 < t->n_dims; d++)
        if (t->shape[d] == 0)
            return tv_error_set(err, TV_ERR_UNSUPPORTED,
                                "%s: tensor '%s': dimension %u is 0; ggml's reader cannot load "
                                "an empty outer dimension", p->out_name, pt->name, d);
    return 0;
}

/* Output dtype of one tensor: keep, --dtype, or F32 where the target cannot hold it. */
static int choose_dtype(const struct tv_write_plan *p, struct tv_plan_tensor *pt,
                        tv_error *err)
{
    const struct tv_tensor *t = pt->src;
    const struct tv_dtype_info *info = tv_dtype_info(t->dtype);
    bool numeric_float = (info->flags & (TV_DTYPE_FLOAT | TV_DTYPE_QUANT)) != 0;
    if (p->opt->dtype >= 0 && numeric_float && t->n_dims >= 2)
        pt->dtype = (enum tv_dtype)p->opt->dtype;
    else if (target_holds(p->target, t->dtype))
        pt->dtype = t->dtype;
    else if (numeric_float)
        pt->dtype = TV_DTYPE_F32; /* quantized or 8-bit floats: decoded exactly */
    else
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tensor '%s' is %s, a dtype %s cannot hold%s", p->out_name,
                            t->name, info->name, target_label(p->target),
                            p->target == TV_TARGET_GGUF && (info->flags & TV_DTYPE_INT)
                                ? " (GGUF has I8, I16, I32 and I64 only)"
                                : "");
    if (pt->dtype == t->dtype)
        return 0;
    if (!tv_dtype_can_to_f32(t->dtype))
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tensor '%s' is %s, which %s cannot hold and tokvec cannot "
                            "decode", p->out_name, t->name, info->name, target_label(p->target));
    const struct tv_dtype_info *out = tv_dtype_info(pt->dtype);
    uint64_t row = t->n_dims ? t->shape[t->n_dims - 1] : 1;
    if (row % out->block_size)
        return tv_error_set(err, TV_ERR_UNSUPPORTED,
                            "%s: tensor '%s': rows of %llu elements are not a multiple of %s's "
                            "block size %u", p->out_name, t->name, (unsigned long long)row,
                            out->name, out->block_size);
    return 0;
}

/* A permuted tensor is streamed row by row: each row must be whole blocks on both sides. */
static int check_permutation(const struct tv_write_plan *p, const struct tv_plan_tensor *pt,
                             tv_error *err)
{
    const struct tv_tensor *t = pt->src;
    if (!pt->head_rows)
        return 0;
    uint64_t row = t->n_elements / t->shape[0];
    uint32_t bs_src = tv_dtype_info(t->dtype)->block_size,
             bs_dst = tv_dtype_info(pt->dtype)->block_size;
    if (row % bs_src == 0 && row % bs_dst == 0)
        return 0;
    return tv_error_set(err, TV_ERR_UNSUPPORTED,
                        "%s: tensor '%s': rows of %llu elements are not whole %s blocks, so its "
                        "rows cannot be permuted", p->out_name, t->name, (unsigned long long)row,
                        tv_dtype_name(row % bs_src ? t->dtype : pt->dtype));
}

/*
 * A vocabulary that is a plain list of words (word vectors, a --vocab list, a WordLevel
 * tokenizer.json) has no GGUF form: tokenizer.ggml.model names llama.cpp's tokenizers,
 * which are BPE (gpt2, llama), WordPiece (bert) and Unigram (t5); none looks words up
 * whole, so llama.cpp could not load the file. Refused before anything is written.
 */
static int check_gguf_vocab(const struct tv_write_plan *p, tv_error *err)
{
    const struct tv_vocab *v = tv_model_vocab(p->m);
    if (!v || !v->n_tokens || v->ggml_model ||
        (v->kind != TV_TOKENIZER_NONE && v->kind != TV_TOKENIZER_WORDLEVEL))
        return 0;
    if (v->kind == TV_TOKENIZER_NONE && !v->json &&
        tv_model_meta_find(p->m, "sentencepiece.model_type"))
        return 0; /* the vocabulary export decides for SentencePiece files */
    return tv_error_set(err, TV_ERR_UNSUPPORTED,
                        "%s: the vocabulary of %s is a plain word list, which GGUF cannot hold "
                        "(llama.cpp has BPE, WordPiece and Unigram tokenizers, none that looks "
                        "up whole words); write .safetensors, .npy, word vectors, or a folder "
                        "(its tokenizer.json keeps the words as a WordLevel model)",
                        p->out_name, v->origin ? v->origin : p->m->path);
}

/*
 * The GGUF view of the vocabulary, and what of the source tokenizer it cannot hold: a
 * normalizer, pre-tokenizer or decoder that llama.cpp's tokenizer model has no place for
 * (vocab_export's "dropped"), or a BPE pre-tokenizer tokvec cannot name for
 * tokenizer.ggml.pre (llama.cpp then falls back to its default, as its own converter
 * refuses to do). llama.cpp would split some text differently from the source, so this
 * is refused unless opt->allow_lossy; then it is reported through opt->warn.
 */
static int plan_ggml_vocab(struct tv_write_plan *p, tv_error *err)
{
    if (!tv_vocab_size(p->m))
        return 0;
    p->ggml_vocab = tv_calloc(1, sizeof *p->ggml_vocab);
    if (!p->ggml_vocab)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
    if (tv_ggml_vocab_from_model(p->m, p->ggml_vocab, err) < 0) {
        tv_free(p->ggml_vocab);
        p->ggml_vocab = NULL;
        tv_error_prefix(err, "%s", p->out_name);
        return -1;
    }
    const struct tv_ggml_vocab *g = p->ggml_vocab;
    char lost[220];
    if (g->dropped)
        snprintf(lost, sizeof lost, "%.200s", g->dropped);
    else if (g->pre_unrecognised)
        snprintf(lost, sizeof lost, "its pre-tokenizer (no tokenizer.ggml.pre names it; "
                 "llama.cpp would use its default)");
    else
        return 0;
    const struct tv_vocab *v = tv_model_vocab(p->m);
    char message[1024];
    snprintf(message, sizeof message, "%.150s: llama.cpp's '%.20s' tokenizer has no place for %s "
             "of %.100s, so it would split some text differently%s", p->out_name, g->model, lost,
             v->origin ? v->origin : p->m->path,
             g->hf_json ? " (the original is kept in tokenizer.huggingface.json)" : "");
    if (!p->opt->allow_lossy)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s; --allow-lossy writes it anyway",
                            message);
    if (p->opt->warn)
        p->opt->warn(p->opt->warn_ctx, message);
    return 0;
}

int tv_write_plan_init(struct tv_write_plan *p, const tv_model *m,
                       const struct tv_write_options *opt, enum tv_write_target target,
                       const char *out_name, tv_error *err)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    p->opt = opt;
    p->target = target;
    p->out_name = out_name;
    p->tied = -1;
    tv_arena_init(&p->arena);
    struct tv_strmap names;
    tv_strmap_init(&names);
    int rc = -1;

    if (opt->dtype >= 0) {
        if (opt->dtype >= TV_DTYPE_COUNT || !tv_dtype_can_from_f32((enum tv_dtype)opt->dtype)) {
            tv_error_set(err, TV_ERR_USAGE, "%s: tokvec cannot convert tensors to %s (it writes "
                         "F32, F16, BF16, Q8_0 and Q4_0)", out_name,
                         tv_dtype_name((enum tv_dtype)opt->dtype));
            goto out;
        }
        if (!target_holds(target, (enum tv_dtype)opt->dtype)) {
            tv_error_set(err, TV_ERR_USAGE, "%s: %s cannot hold %s tensors (use f32, f16 or "
                         "bf16, or write GGUF)", out_name, target_label(target),
                         tv_dtype_name((enum tv_dtype)opt->dtype));
            goto out;
        }
    }
    bool from_gguf, arch_known;
    if (describe_model(p, &from_gguf, &arch_known, err) < 0)
        goto out;
    plan_naming(p, from_gguf, arch_known);
    if (target == TV_TARGET_GGUF && plan_gguf_numbers(p, err) < 0)
        goto out;
    if (target == TV_TARGET_GGUF && (check_gguf_vocab(p, err) < 0 || plan_ggml_vocab(p, err) < 0))
        goto out;

    const struct tv_tensor *emb = tv_model_embedding(m);
    if (opt->only_embedding && !emb) {
        tv_error_set(err, TV_ERR_NOTFOUND,
                     "%s: no token embedding found among %zu tensors (name it with "
                     "--embedding)", m->path, m->n_tensors);
        goto out;
    }
    size_t n = opt->only_embedding ? 1 : m->n_tensors;
    bool any_permuted = false;
    p->tensors = n ? tv_calloc(n, sizeof *p->tensors) : NULL;
    if (n && !p->tensors) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory planning %zu tensors", out_name, n);
        goto out;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        const struct tv_tensor *t = &m->tensors[i];
        if (opt->only_embedding && t != emb)
            continue;
        struct tv_plan_tensor *pt = &p->tensors[p->n_tensors];
        pt->src = t;
        pt->is_embedding = t == emb;
        uint64_t n_elements, existing;
        if (name_tensor(p, pt, err) < 0 || check_tensor(p, pt, err) < 0 ||
            choose_dtype(p, pt, err) < 0 || check_permutation(p, pt, err) < 0)
            goto out;
        any_permuted |= pt->head_rows != 0;
        if (tv_tensor_size(pt->dtype, t->n_dims, t->shape, &n_elements, &pt->n_bytes, err) < 0) {
            tv_error_prefix(err, "%s: tensor '%s'", out_name, t->name);
            goto out;
        }
        int put = tv_strmap_put(&names, pt->name, strlen(pt->name), p->n_tensors, &existing);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", out_name);
            goto out;
        }
        if (put == 0) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: tensors '%s' and '%s' would both be written as '%s'", out_name,
                         p->tensors[existing].src->name, t->name, pt->name);
            goto out;
        }
        if (!tv_add_u64_fits(p->total_bytes, pt->n_bytes, &p->total_bytes)) {
            tv_error_set(err, TV_ERR_LIMIT, "%s: the tensors add up to more than 2^64 bytes",
                         out_name);
            goto out;
        }
        p->quantized |= (tv_dtype_info(pt->dtype)->flags & TV_DTYPE_QUANT) != 0;
        p->dtype_changed |= pt->dtype != t->dtype;
        p->n_tensors++;
    }
    if (p->dtype_changed || any_permuted) {
        /* permuted rows are gathered in buf; conversions go through scratch into buf */
        p->scratch_n = SCRATCH_FLOATS;
        p->scratch = p->dtype_changed ? tv_malloc(p->scratch_n * sizeof *p->scratch) : NULL;
        p->buf_len = p->scratch_n * MAX_ELEMENT_BYTES;
        p->buf = tv_malloc(p->buf_len);
        if ((p->dtype_changed && !p->scratch) || !p->buf) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for conversion buffers",
                         out_name);
            goto out;
        }
    }
    rc = 0;
out:
    tv_strmap_release(&names);
    return rc;
}

void tv_write_plan_release(struct tv_write_plan *p)
{
    if (p->ggml_vocab) {
        tv_ggml_vocab_release(p->ggml_vocab);
        tv_free(p->ggml_vocab);
    }
    tv_free(p->tensors);
    tv_free(p->scratch);
    tv_free(p->buf);
    tv_arena_release(&p->arena);
    memset(p, 0, sizeof *p);
}

/* ---- streaming ---------------------------------------------------------------------- */

/* The file mapping that holds [data, data + len), or NULL (a heap blob). */
static const tv_blob *mapping_of(const tv_model *m, const uint8_t *data, uint64_t len)
{
    for (size_t i = 0; i < m->n_blobs; i++) {
        const tv_blob *b = m->blobs[i];
        if (b->kind == TV_BLOB_MMAP && b->base && data >= b->data &&
            (uint64_t)(data - b->data) <= b->len && len <= b->len - (size_t)(data - b->data))
            return b;
    }
    return NULL;
}

/*
 * Drops the mapping's pages that lie wholly before end: they were written already.
 * The mapping is read-only and never written, so the kernel reads the same bytes
 * back from the file if anything touches them again.
 */
static void drop_pages(const tv_blob *map, const uint8_t *begin, const uint8_t *end)
{
    if (!map)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)begin & ~(page - 1), hi = (uintptr_t)end & ~(page - 1);
    if (lo < (uintptr_t)map->base)
        lo = (uintptr_t)map->base;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/*
 * The source row of output row r of a head-permuted tensor. llama.cpp's converter
 * (LlamaModel.permute) views each head's rows as [2][half] and writes them as [half][2]:
 * GGUF row 2i + j of a head is Hugging Face row j * half + i.
 */
static uint64_t permuted_row(uint64_t r, uint64_t head_rows, bool to_gguf)
{
    uint64_t head = r / head_rows, k = r % head_rows, half = head_rows / 2;
    /* to GGUF: output row k = 2i + j comes from HF row j * half + i;
       to HF: output row k = j * half + i comes from GGUF row 2i + j */
    uint64_t from = to_gguf ? (k % 2) * half + k / 2 : (k % half) * 2 + k / half;
    return head * head_rows + from;
}

/* Writes the staged bytes of buf. */
static int flush_staged(struct tv_write_plan *p, size_t *staged, tv_out *out, tv_error *err)
{
    int rc = *staged ? tv_out_write(out, p->buf, *staged, err) : 0;
    *staged = 0;
    return rc;
}

/* Streams a head-permuted tensor: its rows in output order, gathered (and converted) in
   buf, which is written whenever it fills. */
static int write_permuted(struct tv_write_plan *p, const struct tv_plan_tensor *pt, tv_out *out,
                          tv_error *err)
{
    const struct tv_tensor *t = pt->src;
    uint64_t rows = t->shape[0];
    uint64_t row_elements = t->n_elements / rows, src_row_bytes = t->n_bytes / rows,
             dst_row_bytes = pt->n_bytes / rows;
    const uint64_t bs_src = tv_dtype_info(t->dtype)->block_size;
    const uint64_t bs_dst = tv_dtype_info(pt->dtype)->block_size;
    const uint64_t unit = bs_src / gcd_u64(bs_src, bs_dst) * bs_dst;
    const uint64_t chunk = p->scratch_n - p->scratch_n % unit;
    size_t staged = 0;
    for (uint64_t r = 0; r < rows; r++) {
        const uint8_t *src = t->data + permuted_row(r, pt->head_rows, pt->to_gguf) * src_row_bytes;
        if (pt->dtype == t->dtype && dst_row_bytes > p->buf_len) {
            if (flush_staged(p, &staged, out, err) < 0 ||
                tv_out_write(out, src, (size_t)dst_row_bytes, err) < 0)
                goto fail;
        } else if (pt->dtype == t->dtype) {
            if (staged + dst_row_bytes > p->buf_len && flush_staged(p, &staged, out, err) < 0)
                goto fail;
            memcpy(p->buf + staged, src, (size_t)dst_row_bytes);
            staged += (size_t)dst_row_bytes;
        } else {
            for (uint64_t done = 0; done < row_elements;) {
                uint64_t count = row_elements - done < chunk ? row_elements - done : chunk;
                uint64_t src_off, dst_len;
                tv_dtype_bytes(t->dtype, done, &src_off, NULL);
                tv_dtype_bytes(pt->dtype, count, &dst_len, NULL);
                if (staged + dst_len > p->buf_len && flush_staged(p, &staged, out, err) < 0)
                    goto fail;
                if (tv_dtype_convert(t->dtype, src + src_off, pt->dtype, p->buf + staged, count,
                                     p->scratch, p->scratch_n, err) < 0) {
                    tv_error_prefix(err, "%s: tensor '%s' (%s to %s, row %llu)", p->out_name,
                                    t->name, tv_dtype_name(t->dtype), tv_dtype_name(pt->dtype),
                                    (unsigned long long)r);
                    return -1;
                }
                staged += (size_t)dst_len;
                done += count;
            }
        }
    }
    if (flush_staged(p, &staged, out, err) < 0)
        goto fail;
    return 0;
fail:
    tv_error_prefix(err, "tensor '%s'", t->name);
    return -1;
}

int tv_write_plan_tensor(struct tv_write_plan *p, size_t i, tv_out *out, tv_error *err)
{
    const struct tv_plan_tensor *pt = &p->tensors[i];
    const struct tv_tensor *t = pt->src;
    if (!t->data && t->n_bytes)
        return tv_error_set(err, TV_ERR_USAGE, "%s: tensor '%s': its data is not loaded",
                            p->out_name, t->name);
    const tv_blob *map = mapping_of(p->m, t->data, t->n_bytes);
    if (map && t->n_bytes > COPY_CHUNK)
        madvise((void *)((uintptr_t)t->data & ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1)),
                (size_t)t->n_bytes, MADV_SEQUENTIAL);
    if (pt->head_rows) {
        if (write_permuted(p, pt, out, err) < 0)
            return -1;
        drop_pages(map, t->data, t->data + t->n_bytes);
    } else if (pt->dtype == t->dtype) {
        for (uint64_t done = 0; done < t->n_bytes;) {
            size_t len = t->n_bytes - done < COPY_CHUNK ? (size_t)(t->n_bytes - done)
                                                        : COPY_CHUNK;
            if (tv_out_write(out, t->data + done, len, err) < 0) {
                tv_error_prefix(err, "tensor '%s'", t->name);
                return -1;
            }
            done += len;
            drop_pages(map, t->data, t->data + done);
        }
    } else {
        const uint64_t bs_src = tv_dtype_info(t->dtype)->block_size;
        const uint64_t bs_dst = tv_dtype_info(pt->dtype)->block_size;
        const uint64_t unit = bs_src / gcd_u64(bs_src, bs_dst) * bs_dst;
        const uint64_t chunk = p->scratch_n - p->scratch_n % unit;
        for (uint64_t done = 0; done < t->n_elements;) {
            uint64_t count = t->n_elements - done < chunk ? t->n_elements - done : chunk;
            uint64_t src_off, dst_len;
            tv_dtype_bytes(t->dtype, done, &src_off, NULL);
            tv_dtype_bytes(pt->dtype, count, &dst_len, NULL);
            if (tv_dtype_convert(t->dtype, t->data + src_off, pt->dtype, p->buf, count,
                                 p->scratch, p->scratch_n, err) < 0) {
                tv_error_prefix(err, "%s: tensor '%s' (%s to %s, elements %llu to %llu)",
                                p->out_name, t->name, tv_dtype_name(t->dtype),
                                tv_dtype_name(pt->dtype), (unsigned long long)done,
                                (unsigned long long)(done + count - 1));
                return -1;
            }
            if (tv_out_write(out, p->buf, (size_t)dst_len, err) < 0) {
                tv_error_prefix(err, "tensor '%s'", t->name);
                return -1;
            }
            done += count;
            tv_dtype_bytes(t->dtype, done, &src_off, NULL);
            drop_pages(map, t->data, t->data + src_off);
        }
    }
    p->tensors_done++;
    p->bytes_done += pt->n_bytes;
    if (p->opt->progress &&
        p->opt->progress(p->opt->progress_ctx, p->tensors_done, p->n_tensors, p->bytes_done,
                         p->total_bytes) != 0)
        return tv_error_set(err, TV_ERR_IO, "%s: interrupted after %zu of %zu tensors; nothing "
                            "was written", p->out_name, p->tensors_done, p->n_tensors);
    return 0;
}

/* ---- config.json --------------------------------------------------------------------- */

/* Sets obj[key] to a number, replacing what is there. Returns 0 or -1 (OOM). */
static int json_set_number(cJSON *obj, const char *key, double value)
{
    cJSON *item = cJSON_CreateNumber(value);
    if (!item)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0 : -1;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}


/* Adds the GGUF source's architecture numbers that config.json does not have. */
static int add_gguf_numbers(const struct tv_write_plan *p, const struct arch_info *a, cJSON *doc)
{
    if (!p->arch)
        return 0;
    bool gpt2_style = a && strcmp(a->hidden_key, "n_embd") == 0;
    for (size_t k = 0; k < TV_ARRAY_SIZE(gguf_config_keys); k++) {
        const char *key = gpt2_style ? gguf_config_keys[k].gpt2_key : gguf_config_keys[k].key;
        char gguf_key[256];
        snprintf(gguf_key, sizeof gguf_key, "%s.%s", p->arch, gguf_config_keys[k].suffix);
        const struct tv_meta *meta = tv_model_meta_find_origin(p->m, TV_ORIGIN_GGUF, gguf_key);
        double value;
        if (!key || !meta || tv_value_float(&meta->value, &value) < 0 ||
            cJSON_GetObjectItemCaseSensitive(doc, key))
            continue;
        if (meta->value.type == TV_VALUE_F32) { /* the shortest decimal of the float */
            char text[32];
            for (int digits = 6; digits <= 9; digits++) {
                snprintf(text, sizeof text, "%.*g", digits, value);
                if (strtof(text, NULL) == (float)value)
                    break;
            }
            value = strtod(text, NULL);
        }
        if (json_set_number(doc, key, value) < 0)
            return -1;
    }
    return 0;
}

static const char *const hidden_aliases[] = {"hidden_size", "n_embd", "d_model", "dim",
                                             "hidden_dim", "embed_dim", "n_embed"};

/*
 * config.json for a folder: the source's config.json when there is one, with the
 * numbers updated to what is written; otherwise one made from the architecture and,
 * for a GGUF source, its {arch}.* numbers under their Hugging Face names.
 */
static char *build_config(const struct tv_write_plan *p, tv_error *err)
{
    const tv_model *m = p->m;
    const struct arch_info *a = arch_by_gguf(p->arch);
    cJSON *doc = m->config ? cJSON_Duplicate(m->config, 1) : cJSON_CreateObject();
    char *text = NULL;
    if (!doc)
        goto oom;
    if (!cJSON_GetObjectItemCaseSensitive(doc, "architectures") && a) {
        cJSON *archs = cJSON_AddArrayToObject(doc, "architectures");
        cJSON *name = cJSON_CreateString(a->hf_class);
        if (!archs || !name || !cJSON_AddItemToArray(archs, name)) {
            cJSON_Delete(name);
            goto oom;
        }
    }
    if (!cJSON_GetObjectItemCaseSensitive(doc, "model_type") && (a || p->arch) &&
        !cJSON_AddStringToObject(doc, "model_type", a ? a->model_type : p->arch))
        goto oom;
    if (p->n_vocab && json_set_number(doc, "vocab_size", (double)p->n_vocab) < 0)
        goto oom;
    if (p->hidden) {
        if (json_set_number(doc, "hidden_size", (double)p->hidden) < 0)
            goto oom;
        for (size_t k = 1; k < TV_ARRAY_SIZE(hidden_aliases); k++) {
            bool arch_key = a && strcmp(a->hidden_key, hidden_aliases[k]) == 0;
            if ((arch_key || cJSON_GetObjectItemCaseSensitive(doc, hidden_aliases[k])) &&
                json_set_number(doc, hidden_aliases[k], (double)p->hidden) < 0)
                goto oom;
        }
    }
    if (add_gguf_numbers(p, a, doc) < 0)
        goto oom;
    if (p->tied >= 0 && !cJSON_GetObjectItemCaseSensitive(doc, "tie_word_embeddings") &&
        !cJSON_AddBoolToObject(doc, "tie_word_embeddings", p->tied))
        goto oom;
    /* Special ids the vocabulary names and the config does not, so that they survive
       a round trip through a folder whatever the tokenizer.json can say. */
    for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token_id", tv_special_name(s));
        int64_t id = tv_vocab_special(m, s);
        if (id >= 0 && !cJSON_GetObjectItemCaseSensitive(doc, key) &&
            json_set_number(doc, key, (double)id) < 0)
            goto oom;
    }
    text = cJSON_Print(doc);
    if (!text)
        goto oom;
    cJSON_Delete(doc);
    return text;
oom:
    cJSON_Delete(doc);
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building config.json", p->out_name);
    return NULL;
}

/* A metadata value as JSON: scalars, strings and arrays of strings (what config.c keeps). */
static cJSON *meta_to_json(const struct tv_value *v)
{
    int64_t i;
    double f;
    switch (v->type) {
    case TV_VALUE_BOOL:
        return cJSON_CreateBool(v->as.u != 0);
    case TV_VALUE_STRING: {
        char *text = tv_strndup(v->as.str.ptr, (size_t)v->as.str.len);
        cJSON *item = text ? cJSON_CreateString(text) : NULL;
        tv_free(text);
        return item;
    }
    case TV_VALUE_ARRAY: {
        if (v->as.arr.elem_type != TV_VALUE_STRING)
            return NULL;
        cJSON *arr = cJSON_CreateArray();
        const struct tv_str *strs = v->as.arr.data;
        for (uint64_t k = 0; arr && k < v->as.arr.n; k++) {
            struct tv_value e = {.type = TV_VALUE_STRING, .as.str = strs[k]};
            cJSON *item = meta_to_json(&e);
            if (!item || !cJSON_AddItemToArray(arr, item)) {
                cJSON_Delete(item);
                cJSON_Delete(arr);
                return NULL;
            }
        }
        return arr;
    }
    default:
        if (tv_value_int(v, &i) == 0)
            return cJSON_CreateNumber((double)i);
        if (tv_value_float(v, &f) == 0)
            return cJSON_CreateNumber(f);
        return NULL;
    }
}

/* Adds key = item unless doc has key already (then item is freed). -1 on OOM. */
static int json_add_new(cJSON *doc, const char *key, cJSON *item)
{
    if (!item)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(doc, key)) {
        cJSON_Delete(item);
        return 0;
    }
    if (!cJSON_AddItemToObject(doc, key, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

/*
 * tokenizer_config.json for a folder: the source's tokenizer_config.json values (the
 * scalars tokvec keeps of it), a GGUF source's chat template, the special tokens by
 * their text and add_bos_token/add_eos_token. NULL with err on OOM; *empty when there
 * is nothing to say.
 */
static char *build_tokenizer_config(const struct tv_write_plan *p, bool *empty, tv_error *err)
{
    const tv_model *m = p->m;
    const struct tv_vocab *v = tv_model_vocab(m);
    cJSON *doc = cJSON_CreateObject();
    char *text = NULL;
    if (!doc)
        goto oom;
    for (size_t i = 0; i < m->n_meta; i++) {
        const struct tv_meta *meta = &m->meta[i];
        cJSON *item;
        if (meta->origin != TV_ORIGIN_TOKENIZER_CONFIG ||
            cJSON_GetObjectItemCaseSensitive(doc, meta->key))
            continue;
        if (!(item = meta_to_json(&meta->value)))
            continue; /* nothing else is kept by the reader */
        if (json_add_new(doc, meta->key, item) < 0)
            goto oom;
    }
    size_t len;
    const char *chat = meta_string(m, TV_ORIGIN_GGUF, "tokenizer.chat_template", &len);
    if (chat) {
        char *copy = tv_strndup(chat, len);
        int rc = copy ? json_add_new(doc, "chat_template", cJSON_CreateString(copy)) : -1;
        tv_free(copy);
        if (rc < 0)
            goto oom;
    }
    for (int s = 0; v && s < TV_SPECIAL_COUNT; s++) {
        int64_t id = v->special[s];
        const struct tv_token *t = id >= 0 ? tv_vocab_token(m, (uint32_t)id) : NULL;
        if (!t || !t->text || !tv_utf8_valid(t->text, t->len) || memchr(t->text, 0, t->len))
            continue;
        char key[32];
        snprintf(key, sizeof key, "%s_token", tv_special_name(s));
        if (json_add_new(doc, key, cJSON_CreateString(t->text)) < 0)
            goto oom;
    }
    if (v && v->add_bos >= 0 && json_add_new(doc, "add_bos_token", cJSON_CreateBool(v->add_bos)) < 0)
        goto oom;
    if (v && v->add_eos >= 0 && json_add_new(doc, "add_eos_token", cJSON_CreateBool(v->add_eos)) < 0)
        goto oom;
    *empty = doc->child == NULL;
    text = cJSON_Print(doc);
    if (!text)
        goto oom;
    cJSON_Delete(doc);
    return text;
oom:
    cJSON_Delete(doc);
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building tokenizer_config.json",
                 p->out_name);
    return NULL;
}

/* ---- whole files ------------------------------------------------------------------------ */

static int write_bytes_file(const char *path, const void *bytes, size_t len, bool force,
                            bool gzip, tv_error *err)
{
    tv_out *out = gzip ? tv_out_open_gzip(path, force, err) : tv_out_open(path, force, err);
    if (!out)
        return -1;
    if (tv_out_write(out, bytes, len, err) < 0) {
        tv_out_abort(out);
        return -1;
    }
    return tv_out_commit(out, err);
}

static int write_tokenizer_json(const tv_model *m, const char *path, bool force, bool gzip,
                                tv_error *err)
{
    if (!tv_vocab_size(m))
        return tv_error_set(err, TV_ERR_NOTFOUND, "%s: no vocabulary to write to %s", m->path,
                            path);
    char *json = NULL;
    size_t len = 0;
    if (tv_tokenizer_json_from_model(m, &json, &len, err) < 0) {
        tv_error_prefix(err, "%s", path);
        return -1;
    }
    int rc = write_bytes_file(path, json, len, force, gzip, err);
    tv_free(json);
    return rc;
}

static int write_format_file(const tv_model *m, const char *path, const struct tv_format *fmt,
                             const struct tv_write_options *opt, bool gzip, tv_error *err)
{
    tv_out *out = gzip ? tv_out_open_gzip(path, opt->force != 0, err)
                       : tv_out_open(path, opt->force != 0, err);
    if (!out)
        return -1;
    if (fmt->write(m, out, opt, err) < 0) {
        tv_out_abort(out);
        return -1;
    }
    return tv_out_commit(out, err);
}

/* ---- folders -------------------------------------------------------------------------------- */

/* Removes a flat folder that tokvec made (its files, then itself). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *path = tv_path_join(dir, e->d_name);
            if (path)
                unlink(path);
            tv_free(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int fsync_dir(const char *dir, tv_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot open the folder to flush it: %s", dir,
                            strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc < 0 && saved != EINVAL)
        return tv_error_set(err, TV_ERR_IO, "%s: fsync failed: %s", dir, strerror(saved));
    return 0;
}

/*
 * An existing folder is replaced only when it is flat (model folders are): that keeps
 * --force from sweeping away a tree that was never a model folder.
 */
static int check_replaceable(const char *path, tv_error *err)
{
    DIR *d = opendir(path);
    if (!d)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot list the folder to replace: %s", path,
                            strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *sub = tv_path_join(path, e->d_name);
        struct stat st;
        if (sub && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rc = tv_error_set(err, TV_ERR_UNSUPPORTED,
                              "%s: will not replace a folder that holds the folder '%s' (a "
                              "model folder is flat); remove it yourself", path, e->d_name);
        tv_free(sub);
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

/*
 * Assigns the plan's tensors to shards the way Hugging Face does (huggingface_hub's
 * split_state_dict_into_shards): in order, the current shard is closed when the next
 * tensor would take it over max; a tensor larger than max goes alone into a shard of
 * its own at once. Shards are numbered in the order they are closed. shard_of[i] gets
 * tensor i's shard; max 0 means one shard.
 */
static int plan_shards(const struct tv_write_plan *p, uint64_t max, size_t *shard_of,
                       size_t *n_shards, tv_error *err)
{
    size_t *number = tv_malloc((p->n_tensors + 1) * sizeof *number); /* group -> shard */
    if (!number)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
    size_t n_groups = 0, n_closed = 0, open = SIZE_MAX;
    uint64_t open_bytes = 0;
    for (size_t i = 0; i < p->n_tensors; i++) {
        uint64_t bytes = p->tensors[i].n_bytes;
        if (max && bytes > max) {
            shard_of[i] = n_groups;
            number[n_groups++] = n_closed++;
            continue;
        }
        if (open == SIZE_MAX || (max && open_bytes + bytes > max)) {
            if (open != SIZE_MAX)
                number[open] = n_closed++;
            open = n_groups++;
            open_bytes = 0;
        }
        shard_of[i] = open;
        open_bytes += bytes;
    }
    if (open != SIZE_MAX)
        number[open] = n_closed++;
    for (size_t i = 0; i < p->n_tensors; i++)
        shard_of[i] = number[shard_of[i]];
    *n_shards = n_closed;
    tv_free(number);
    return 0;
}

static int cmp_plan_name(const void *a, const void *b, void *ctx)
{
    const struct tv_write_plan *p = ctx;
    return strcmp(p->tensors[*(const size_t *)a].name, p->tensors[*(const size_t *)b].name);
}

/* model.safetensors.index.json as transformers writes it (indent 2, sorted keys). */
static int build_index(const struct tv_write_plan *p, const size_t *shard_of, size_t n_shards,
                       struct tv_text *t, tv_error *err)
{
    size_t *order = tv_malloc(p->n_tensors * sizeof *order);
    int rc = -1;
    if (!order)
        goto oom;
    for (size_t i = 0; i < p->n_tensors; i++)
        order[i] = i;
    qsort_r(order, p->n_tensors, sizeof *order, cmp_plan_name, (void *)p);
    tv_text_printf(t, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {",
                   (unsigned long long)p->total_bytes);
    for (size_t i = 0; i < p->n_tensors; i++) {
        const struct tv_plan_tensor *pt = &p->tensors[order[i]];
        tv_text_append(t, i ? ",\n    " : "\n    ", 5 + (i ? 1 : 0));
        tv_text_json_string(t, pt->name, strlen(pt->name));
        tv_text_printf(t, ": \"model-%05zu-of-%05zu.safetensors\"", shard_of[order[i]] + 1,
                       n_shards);
    }
    tv_text_append(t, "\n  }\n}\n", 7);
    if (t->failed)
        goto oom;
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building the shard index", p->out_name);
out:
    tv_free(order);
    return rc;
}

static int write_safetensors_file(struct tv_write_plan *p, const char *path, const size_t *idx,
                                  size_t n, tv_error *err)
{
    tv_out *out = tv_out_open(path, false, err);
    if (!out)
        return -1;
    if (tv_safetensors_write_part(p, idx, n, out, err) < 0) {
        tv_out_abort(out);
        return -1;
    }
    return tv_out_commit(out, err);
}

/* Writes the folder's files into dir (a fresh temporary folder). */
static int fill_folder(struct tv_write_plan *p, const char *dir, tv_error *err)
{
    const tv_model *m = p->m;
    int rc = -1;
    char *path = NULL, *config = NULL;
    size_t *idx = NULL, *shard_of = NULL, *first = NULL;
    size_t n_shards = 0;
    struct tv_text index = {0};

    config = build_config(p, err);
    if (!config)
        goto out;
    if (!(path = tv_path_join(dir, "config.json")))
        goto oom;
    if (write_bytes_file(path, config, strlen(config), false, false, err) < 0)
        goto out;
    tv_free(path);
    path = NULL;

    if (tv_vocab_size(m)) {
        if (!(path = tv_path_join(dir, "tokenizer.json")))
            goto oom;
        if (write_tokenizer_json(m, path, false, false, err) < 0)
            goto out;
        tv_free(path);
        path = NULL;
        bool empty = true;
        char *tok_config = build_tokenizer_config(p, &empty, err);
        if (!tok_config)
            goto out;
        if (!empty && (path = tv_path_join(dir, "tokenizer_config.json")) &&
            write_bytes_file(path, tok_config, strlen(tok_config), false, false, err) < 0) {
            cJSON_free(tok_config);
            goto out;
        }
        cJSON_free(tok_config);
        if (!empty && !path)
            goto oom;
        tv_free(path);
        path = NULL;
    }

    if (p->n_tensors) {
        shard_of = tv_malloc(p->n_tensors * sizeof *shard_of);
        idx = tv_malloc(p->n_tensors * sizeof *idx);
        first = tv_malloc((p->n_tensors + 1) * sizeof *first);
        if (!shard_of || !idx || !first)
            goto oom;
        if (plan_shards(p, p->opt->max_shard_size, shard_of, &n_shards, err) < 0)
            goto out;
        /* the tensors of each shard together, in plan order */
        memset(first, 0, (n_shards + 1) * sizeof *first);
        for (size_t i = 0; i < p->n_tensors; i++)
            first[shard_of[i] + 1]++;
        for (size_t s = 0; s < n_shards; s++)
            first[s + 1] += first[s];
        for (size_t i = 0; i < p->n_tensors; i++)
            idx[first[shard_of[i]]++] = i;
        for (size_t s = n_shards; s > 0; s--) /* filling moved each start to the next one's */
            first[s] = first[s - 1];
        first[0] = 0;
        if (n_shards == 1) {
            if (!(path = tv_path_join(dir, "model.safetensors")))
                goto oom;
            if (write_safetensors_file(p, path, idx, p->n_tensors, err) < 0)
                goto out;
        } else {
            for (size_t s = 0; s < n_shards; s++) {
                char name[64];
                snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, n_shards);
                tv_free(path);
                if (!(path = tv_path_join(dir, name)))
                    goto oom;
                if (write_safetensors_file(p, path, idx + first[s], first[s + 1] - first[s],
                                           err) < 0)
                    goto out;
            }
            tv_free(path);
            if (!(path = tv_path_join(dir, "model.safetensors.index.json")))
                goto oom;
            if (build_index(p, shard_of, n_shards, &index, err) < 0 ||
                write_bytes_file(path, index.ptr, index.len, false, false, err) < 0)
                goto out;
        }
    }
    rc = fsync_dir(dir, err);
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", p->out_name);
out:
    tv_text_release(&index);
    tv_free(shard_of);
    tv_free(first);
    tv_free(idx);
    tv_free(path);
    cJSON_free(config);
    return rc;
}

/*
 * Puts the finished temporary folder in place of path. With an existing path (and
 * --force) the two are swapped atomically where the file system can, else the old
 * one is moved aside first; the old one is removed afterwards.
 */
static int commit_folder(const char *tmp, const char *path, const char *parent, bool exists,
                         tv_error *err)
{
    if (!exists) {
        if (rename(tmp, path) < 0)
            return tv_error_set(err, TV_ERR_IO, "%s: cannot rename the temporary folder into "
                                "place: %s", path, strerror(errno));
        return fsync_dir(parent, err);
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        /* tmp now names the old output */
        struct stat st;
        if (lstat(tmp, &st) == 0 && S_ISDIR(st.st_mode))
            remove_flat_dir(tmp);
        else
            unlink(tmp);
        return fsync_dir(parent, err);
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot swap in the new folder: %s", path,
                            strerror(errno));
    /* no RENAME_EXCHANGE here: move the old one aside, then the new one in */
    size_t len = strlen(tmp) + 8;
    char *old = tv_malloc(len);
    if (!old)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
    snprintf(old, len, "%s.old", tmp);
    int rc = 0;
    if (rename(path, old) < 0) {
        rc = tv_error_set(err, TV_ERR_IO, "%s: cannot move the existing output aside: %s", path,
                          strerror(errno));
    } else if (rename(tmp, path) < 0) {
        rc = tv_error_set(err, TV_ERR_IO, "%s: cannot rename the temporary folder into place: "
                          "%s", path, strerror(errno));
        rename(old, path); /* put the old one back */
    } else {
        struct stat st;
        if (lstat(old, &st) == 0 && S_ISDIR(st.st_mode))
            remove_flat_dir(old);
        else
            unlink(old);
        rc = fsync_dir(parent, err);
    }
    tv_free(old);
    return rc;
}

/* Messages about files in the temporary folder name them where they were going. */
static void message_rename(tv_error *err, const char *from, const char *to)
{
    if (!err)
        return;
    char out[sizeof err->message];
    size_t used = 0, from_len = strlen(from), to_len = strlen(to);
    for (const char *p = err->message; *p && used + 1 < sizeof out;) {
        if (strncmp(p, from, from_len) == 0 && used + to_len + 1 < sizeof out) {
            memcpy(out + used, to, to_len);
            used += to_len;
            p += from_len;
        } else {
            out[used++] = *p++;
        }
    }
    out[used] = '\0';
    memcpy(err->message, out, used + 1);
}

static int write_folder(const tv_model *m, const char *path, const struct tv_write_options *opt,
                        tv_error *err)
{
    int rc = -1;
    char *copy = NULL, *tmp = NULL;
    bool made_tmp = false;
    struct tv_write_plan plan;
    memset(&plan, 0, sizeof plan);

    struct stat st;
    bool exists = lstat(path, &st) == 0;
    if (exists && !opt->force)
        return tv_error_set(err, TV_ERR_USAGE, "%s: already exists (use --force to replace it)",
                            path);
    if (exists && S_ISDIR(st.st_mode) && check_replaceable(path, err) < 0)
        return -1;

    /* the path without trailing slashes, its parent and its name */
    copy = tv_strdup(path);
    if (!copy)
        goto oom;
    size_t len = strlen(copy);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    const char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    char parent[4096];
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == copy)
        snprintf(parent, sizeof parent, "/");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - copy), copy);
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        rc = tv_error_set(err, TV_ERR_USAGE, "%s: name a new folder to write (not '%s')", path,
                          base);
        goto out;
    }
    size_t tmp_len = strlen(parent) + strlen(base) + 32;
    tmp = tv_malloc(tmp_len);
    if (!tmp)
        goto oom;
    snprintf(tmp, tmp_len, "%s/.%s.tmp-XXXXXX", parent, base);
    if (!mkdtemp(tmp)) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot create a temporary folder in %s: %s", path,
                     parent, strerror(errno));
        goto out;
    }
    made_tmp = true;
    /* mkdtemp makes 0700; give the folder the usual permissions */
    mode_t mask = umask(0);
    umask(mask);
    chmod(tmp, 0777 & ~mask);
    if (tv_write_plan_init(&plan, m, opt, TV_TARGET_SAFETENSORS, path, err) < 0)
        goto out;
    if (fill_folder(&plan, tmp, err) < 0) {
        message_rename(err, tmp, copy);
        goto out;
    }
    if (commit_folder(tmp, copy, parent, exists, err) < 0)
        goto out;
    made_tmp = false;
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
out:
    if (made_tmp)
        remove_flat_dir(tmp);
    tv_write_plan_release(&plan);
    tv_free(tmp);
    tv_free(copy);
    return rc;
}

/* ---- the entry point ------------------------------------------------------------------------ */

/* Whether the first n bytes of s end with suffix (ASCII case ignored). */
static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Output formats by their --to names: the writers in formats/ and the two outputs
   this file makes itself (tokenizer.json, folder). */
static const char *const out_formats[] = {"gguf", "safetensors", "tokenizer.json", "folder",
                                          "word2vec", "word2vec-binary", "glove", "npy"};
#define OUT_FORMAT_LIST "gguf, safetensors, tokenizer.json, folder, word2vec, word2vec-binary, " \
                        "glove or npy"

/* The word-vector flavour the model was read from ("GloVe text", ...), or NULL. */
static const char *wordvec_source(const tv_model *m)
{
    size_t len;
    const char *s = meta_string(m, TV_ORIGIN_OTHER, "wordvec.format", &len);
    return s && len ? s : NULL;
}

/*
 * The output format from --to or the path, and whether the output is gzipped (a name
 * ending in ".gz": the format is then read from the name without it). Names: .gguf,
 * .safetensors, *tokenizer.json, .npy, .vec (word2vec text with its header, as fastText
 * writes .vec), .txt and .bin only for word-vector sources (a .txt stays GloVe or word2vec
 * text as the source was; .bin is word2vec binary), a folder (an existing folder, a
 * trailing '/', a name without an extension). NULL with err (TV_ERR_USAGE) otherwise.
 */
static const char *choose_format(const tv_model *m, const char *path, const char *format,
                                 bool *gzip, tv_error *err)
{
    size_t len = strlen(path);
    bool is_dir = (len && path[len - 1] == '/') || tv_path_kind(path) == 1;
    *gzip = !is_dir && len > 3 && ends_with(path, len, ".gz");
    if (format) {
        for (size_t i = 0; i < TV_ARRAY_SIZE(out_formats); i++)
            if (strcmp(format, out_formats[i]) == 0) {
                if (*gzip && strcmp(format, "folder") == 0)
                    break;
                return out_formats[i];
            }
        if (*gzip && strcmp(format, "folder") == 0)
            tv_error_set(err, TV_ERR_USAGE, "%s: a folder cannot be gzipped (name it without "
                         ".gz)", path);
        else
            tv_error_set(err, TV_ERR_USAGE, "unknown output format '%s' (" OUT_FORMAT_LIST ")",
                         format);
        return NULL;
    }
    if (is_dir)
        return "folder";
    /* the name without ".gz" decides */
    size_t n = *gzip ? len - 3 : len;
    const char *base = path + n;
    while (base > path && base[-1] != '/')
        base--;
    const char *wordvec = wordvec_source(m);
    if (ends_with(path, n, ".gguf"))
        return "gguf";
    if (ends_with(path, n, ".safetensors"))
        return "safetensors";
    if (ends_with(path, n, "tokenizer.json"))
        return "tokenizer.json";
    if (ends_with(path, n, ".npy"))
        return "npy";
    if (ends_with(path, n, ".vec"))
        return "word2vec";
    if (ends_with(path, n, ".txt") && wordvec)
        return strcmp(wordvec, "GloVe text") == 0 ? "glove" : "word2vec";
    if (ends_with(path, n, ".txt")) {
        tv_error_set(err, TV_ERR_USAGE, "%s: cannot tell the output format from the name: a "
                     ".txt can be GloVe (no header) or word2vec text (a header line); use --to "
                     "glove or --to word2vec", path);
        return NULL;
    }
    if (ends_with(path, n, ".bin") && wordvec)
        return "word2vec-binary";
    if (ends_with(path, n, ".bin")) {
        tv_error_set(err, TV_ERR_USAGE, "%s: cannot tell the output format from the name: .bin "
                     "names PyTorch checkpoints as well as word2vec binary files; use --to "
                     "word2vec-binary to write word vectors", path);
        return NULL;
    }
    if (!*gzip && !memchr(base, '.', (size_t)(path + n - base)))
        return "folder";
    tv_error_set(err, TV_ERR_USAGE, "%s: cannot tell the output format from the name (use --to "
                 OUT_FORMAT_LIST ")", path);
    return NULL;
}

int tv_model_write(const tv_model *m, const char *path, const struct tv_write_options *opt,
                   tv_error *err)
{
    struct tv_write_options defaults;
    if (!opt) {
        tv_write_options_init(&defaults);
        opt = &defaults;
    }
    bool gzip = false;
    const char *format = choose_format(m, path, opt->format, &gzip, err);
    if (!format)
        return -1;
    if (opt->max_shard_size && strcmp(format, "folder") != 0)
        return tv_error_set(err, TV_ERR_USAGE, "%s: a shard size applies to folder outputs "
                            "only (this is %s)", path, format);
    if (strcmp(format, "tokenizer.json") == 0) {
        if (opt->dtype >= 0 || opt->only_embedding)
            return tv_error_set(err, TV_ERR_USAGE, "%s: a tokenizer.json holds no tensors "
                                "(--dtype and --only-embedding do not apply)", path);
        return write_tokenizer_json(m, path, opt->force != 0, gzip, err);
    }
    if (strcmp(format, "folder") == 0)
        return write_folder(m, path, opt, err);
    const struct tv_format *fmt = tv_format_by_name(format);
    if (!fmt || !fmt->write)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: this build of tokvec cannot write %s",
                            path, format);
    return write_format_file(m, path, fmt, opt, gzip, err);
}
