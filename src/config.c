/*
 * config.json, tokenizer_config.json and generation_config.json: the JSON files
 * next to the weights. Top-level scalars (and arrays of strings, such as
 * "architectures") become metadata; the numbers that matter become claims for
 * verify: vocab_size, the hidden size under its aliases, tie_word_embeddings and the
 * special token ids. Multimodal configs keep the language model under "text_config";
 * its numbers count too.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const hidden_keys[] = {"hidden_size", "n_embd", "d_model", "dim",
                                          "hidden_dim", "embed_dim", "n_embed", "word_embed_proj_dim"};

static const struct {
    const char *key;
    enum tv_special special;
} special_keys[] = {
    {"bos_token_id", TV_SPECIAL_BOS}, {"eos_token_id", TV_SPECIAL_EOS},
    {"unk_token_id", TV_SPECIAL_UNK}, {"pad_token_id", TV_SPECIAL_PAD},
    {"sep_token_id", TV_SPECIAL_SEP}, {"cls_token_id", TV_SPECIAL_CLS},
    {"mask_token_id", TV_SPECIAL_MASK}, {"decoder_start_token_id", -1},
};

static int add_scalar_meta(tv_model *m, const cJSON *item, enum tv_origin origin,
                           const char *file, tv_error *err)
{
    struct tv_value v = {0};
    int64_t i;
    if (cJSON_IsBool(item)) {
        v.type = TV_VALUE_BOOL;
        v.as.u = cJSON_IsTrue(item);
    } else if (cJSON_IsNumber(item)) {
        if (tv_json_int(item, &i) == 0) {
            v.type = TV_VALUE_I64;
            v.as.i = i;
        } else {
            v.type = TV_VALUE_F64;
            v.as.f = item->valuedouble;
        }
    } else if (cJSON_IsString(item)) {
        size_t len = strlen(item->valuestring);
        const char *s = tv_model_strdup(m, item->valuestring, len);
        if (!s)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
        v.type = TV_VALUE_STRING;
        v.as.str = (struct tv_str){s, len};
    } else if (cJSON_IsObject(item) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "content"))) {
        /* tokenizer_config.json: "bos_token": {"content": "<s>", ...} */
        return add_scalar_meta(m, cJSON_GetObjectItemCaseSensitive(item, "content"), origin, file,
                               err) < 0 ? -1 : 0;
    } else if (cJSON_IsArray(item)) {
        int n = cJSON_GetArraySize(item);
        if (n <= 0)
            return 0;
        for (const cJSON *e = item->child; e; e = e->next)
            if (!cJSON_IsString(e))
                return 0; /* only arrays of strings are kept ("architectures") */
        struct tv_str *strs = tv_arena_alloc(&m->arena, (size_t)n * sizeof *strs);
        if (!strs)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
        int k = 0;
        for (const cJSON *e = item->child; e; e = e->next, k++) {
            size_t len = strlen(e->valuestring);
            strs[k].ptr = tv_model_strdup(m, e->valuestring, len);
            strs[k].len = len;
            if (!strs[k].ptr)
                return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
        }
        v.type = TV_VALUE_ARRAY;
        v.as.arr = (struct tv_array){TV_VALUE_STRING, (uint64_t)n, strs};
    } else {
        return 0; /* nested objects stay in the parsed document only */
    }
    return tv_model_add_meta(m, item->string, strlen(item->string), &v, origin, file, err);
}

/* Records the claims of one config object; prefix names nested objects in keys. */
static int add_claims(tv_model *m, const cJSON *obj, const char *prefix, const char *file,
                      tv_error *err)
{
    char key[96];
    int64_t value;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "vocab_size");
    if (item && tv_json_int(item, &value) == 0) {
        snprintf(key, sizeof key, "%svocab_size", prefix);
        if (tv_model_add_claim(m, TV_CLAIM_VOCAB_SIZE, value, -1, file, key, err) < 0)
            return -1;
    }
    for (size_t k = 0; k < TV_ARRAY_SIZE(hidden_keys); k++) {
        item = cJSON_GetObjectItemCaseSensitive(obj, hidden_keys[k]);
        if (item && tv_json_int(item, &value) == 0) {
            snprintf(key, sizeof key, "%s%s", prefix, hidden_keys[k]);
            if (tv_model_add_claim(m, TV_CLAIM_HIDDEN_DIM, value, -1, file, key, err) < 0)
                return -1;
            break; /* the first alias present is the one the architecture uses */
        }
    }
    item = cJSON_GetObjectItemCaseSensitive(obj, "tie_word_embeddings");
    if (cJSON_IsBool(item)) {
        snprintf(key, sizeof key, "%stie_word_embeddings", prefix);
        if (tv_model_add_claim(m, TV_CLAIM_TIED, cJSON_IsTrue(item), -1, file, key, err) < 0)
            return -1;
    }
    for (size_t k = 0; k < TV_ARRAY_SIZE(special_keys); k++) {
        item = cJSON_GetObjectItemCaseSensitive(obj, special_keys[k].key);
        snprintf(key, sizeof key, "%s%s", prefix, special_keys[k].key);
        if (item && tv_json_int(item, &value) == 0) {
            if (tv_model_add_claim(m, TV_CLAIM_SPECIAL_ID, value, (int)special_keys[k].special,
                                   file, key, err) < 0)
                return -1;
        } else if (cJSON_IsArray(item)) { /* "eos_token_id": [128001, 128009] */
            for (const cJSON *e = item->child; e; e = e->next)
                if (tv_json_int(e, &value) == 0 &&
                    tv_model_add_claim(m, TV_CLAIM_SPECIAL_ID, value,
                                       (int)special_keys[k].special, file, key, err) < 0)
                    return -1;
        }
    }
    return 0;
}

int tv_config_read(tv_model *m, tv_blob *blob, enum tv_origin origin, tv_error *err)
{
    cJSON *doc = tv_json_parse(blob->data, blob->len, blob->name, err);
    if (!doc)
        return -1;
    int rc = -1;
    if (!cJSON_IsObject(doc)) {
        tv_error_set(err, TV_ERR_DATA, "%s: expected a JSON object at the top level", blob->name);
        goto out;
    }
    for (const cJSON *item = doc->child; item; item = item->next)
        if (add_scalar_meta(m, item, origin, blob->name, err) < 0)
            goto out;
    if (add_claims(m, doc, "", blob->name, err) < 0)
        goto out;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(doc, "text_config");
    if (cJSON_IsObject(text) && add_claims(m, text, "text_config.", blob->name, err) < 0)
        goto out;
    if (origin == TV_ORIGIN_CONFIG && !m->config) {
        m->config = doc;
        m->config_file = tv_model_strdup(m, blob->name, strlen(blob->name));
        doc = NULL;
    }
    rc = 0;
out:
    cJSON_Delete(doc);
    return rc;
}

static bool is_config_key(const char *key, size_t len)
{
    static const char *const keys[] = {"architectures", "model_type", "_name_or_path",
                                       "transformers_version", "torch_dtype"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(keys); i++)
        if (strlen(keys[i]) == len && memcmp(keys[i], key, len) == 0)
            return true;
    return false;
}

static int config_key(const char *key, size_t len, char value_start, void *ctx)
{
    (void)value_start;
    (void)ctx;
    return is_config_key(key, len);
}

static int probe_config(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    if (len == 0 || (buf[0] != '{' && buf[0] != ' ' && buf[0] != '\n' && buf[0] != 0xEF))
        return 0;
    return tv_json_top_keys(buf, len, config_key, NULL) == 1 ? 60 : 0;
}

static int read_config(tv_model *m, tv_blob *blob, tv_error *err)
{
    return tv_config_read(m, blob, TV_ORIGIN_CONFIG, err);
}

static int read_tokenizer_config(tv_model *m, tv_blob *blob, tv_error *err)
{
    return tv_config_read(m, blob, TV_ORIGIN_TOKENIZER_CONFIG, err);
}

static int read_generation_config(tv_model *m, tv_blob *blob, tv_error *err)
{
    return tv_config_read(m, blob, TV_ORIGIN_GENERATION_CONFIG, err);
}

const struct tv_format tv_format_config_json = {
    .name = "config.json",
    .label = "config.json",
    .probe = probe_config,
    .read = read_config,
};

/* These two are only read inside folders, by name: no probe. */
const struct tv_format tv_format_tokenizer_config_json = {
    .name = "tokenizer_config.json",
    .label = "tokenizer_config.json",
    .read = read_tokenizer_config,
};

const struct tv_format tv_format_generation_config_json = {
    .name = "generation_config.json",
    .label = "generation_config.json",
    .read = read_generation_config,
};
