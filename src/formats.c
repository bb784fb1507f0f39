/*
 * The only table of formats, format detection by content, and opening paths:
 * a file (any format), a Hugging Face folder, or several paths into one model.
 */
#include <stdio.h>
#include <string.h>

#include "sources.h"
#include "internal.h"

const struct tv_format *const tv_formats[] = {
    &tv_format_gguf,
    &tv_format_safetensors,
    &tv_format_safetensors_index,
    &tv_format_config_json,
    &tv_format_tokenizer_config_json,
    &tv_format_generation_config_json,
    &tv_format_tokenizer_json,
    &tv_format_vocab_json,
    &tv_format_merges_txt,
    &tv_format_vocab_txt,
    &tv_format_sentencepiece,
    &tv_format_word2vec,
    &tv_format_word2vec_binary,
    &tv_format_glove,
    &tv_format_npy,
    &tv_format_pytorch,
    &tv_format_pytorch_index,
};
const size_t tv_format_count = TV_ARRAY_SIZE(tv_formats);

const struct tv_format *tv_format_by_name(const char *name)
{
    for (size_t i = 0; i < tv_format_count; i++)
        if (strcmp(tv_formats[i]->name, name) == 0)
            return tv_formats[i];
    return NULL;
}

const struct tv_format *tv_format_detect(const tv_blob *blob, tv_error *err)
{
    int score;
    return tv_format_detect_named(blob, blob->name, &score, err);
}

const struct tv_format *tv_format_detect_named(const tv_blob *blob, const char *name,
                                               int *score_out, tv_error *err)
{
    const struct tv_format *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < tv_format_count; i++) {
        if (!tv_formats[i]->probe || !tv_formats[i]->read)
            continue;
        int score = tv_formats[i]->probe(blob->data, blob->len, name);
        if (score > best_score) {
            best_score = score;
            best = tv_formats[i];
        }
    }
    if (!best) {
        char hex[3 * 8 + 1] = "";
        size_t n = blob->len < 8 ? blob->len : 8;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", blob->data[i]);
        if (n)
            hex[3 * n - 1] = '\0';
        tv_error_set(err, TV_ERR_UNSUPPORTED,
                     "%s: not a format tokvec reads (%zu bytes, starting with %s)", blob->name,
                     blob->len, n ? hex : "nothing");
    }
    *score_out = best_score;
    return best;
}

int tv_model_read_blob(tv_model *m, tv_blob *blob, const char *relative,
                       const struct tv_format *fmt, tv_error *err)
{
    if (tv_model_add_blob(m, blob, err) < 0 || tv_model_add_file(m, relative, err) < 0)
        return -1;
    if (strcmp(m->kind, "unknown") == 0)
        m->kind = fmt->label;
    return fmt->read(m, blob, err);
}

/* A whole file: a format, or a container (src/archive.c). A zip that a format
   recognises outright (score >= 90) goes to that format, so that a reader of zip-based
   files (PyTorch checkpoints) gets them before the archive layer does. */
static int read_blob(tv_model *m, tv_blob *blob, const char *relative, tv_error *err)
{
    enum tv_container kind = tv_container_sniff(blob->data, blob->len);
    int score = 0;
    const struct tv_format *fmt = kind == TV_CONTAINER_ZIP
                                      ? tv_format_detect_named(blob, blob->name, &score, NULL)
                                      : NULL;
    if (fmt && score >= 90)
        return tv_model_read_blob(m, blob, relative, fmt, err);
    if (kind != TV_CONTAINER_NONE)
        return tv_model_read_container(m, blob, kind, relative, err);
    fmt = tv_format_detect(blob, err);
    return fmt ? tv_model_read_blob(m, blob, relative, fmt, err) : -1;
}

int tv_model_read_file(tv_model *m, const char *path, const char *display_name, tv_error *err)
{
    tv_blob *blob = tv_blob_map_file(path, display_name ? display_name : path, err);
    if (!blob)
        return -1;
    const char *slash = strrchr(path, '/');
    int rc = read_blob(m, blob, slash && slash[1] ? slash + 1 : path, err);
    tv_blob_unref(blob);
    return rc;
}

/* After every source was read: choose the embedding and fill special ids the
   vocabulary does not name from what the configuration files say. */
static int model_finish(tv_model *m, tv_error *err)
{
    struct tv_vocab *v = m->n_vocabs ? &m->vocabs[0] : NULL;
    if (v) {
        for (size_t i = 0; i < m->n_claims; i++) {
            const struct tv_claim *c = &m->claims[i];
            if (c->kind == TV_CLAIM_SPECIAL_ID && c->special >= 0 && c->value >= 0 &&
                (uint64_t)c->value < v->n_tokens && v->special[c->special] < 0)
                v->special[c->special] = c->value;
        }
        /* tokenizer_config.json names specials by their text: "bos_token": "<s>". */
        for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
            char key[32];
            snprintf(key, sizeof key, "%s_token", tv_special_name(s));
            const struct tv_meta *meta =
                tv_model_meta_find_origin(m, TV_ORIGIN_TOKENIZER_CONFIG, key);
            uint32_t id;
            if (v->special[s] < 0 && meta && meta->value.type == TV_VALUE_STRING &&
                tv_vocab_lookup(v, meta->value.as.str.ptr, meta->value.as.str.len, &id) == 0)
                v->special[s] = id;
        }
    }
    return tv_model_pick_embedding(m, err);
}

/* A path is a folder, a file, "archive:member", or else a model name looked up in the
   Hugging Face cache (src/hub.c); --revision sends it to the cache directly. */
static int read_path(tv_model *m, const char *path, tv_error *err)
{
    if (m->opt.revision)
        return tv_model_read_hub(m, path, err);
    switch (tv_path_kind(path)) {
    case 1:
        return tv_model_read_folder(m, path, err);
    case 0:
        return tv_model_read_file(m, path, NULL, err);
    default:
        break;
    }
    int rc = tv_model_read_member_path(m, path, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (tv_hub_name_valid(path))
        return tv_model_read_hub(m, path, err);
    return tv_error_set(err, TV_ERR_NOTFOUND, "%s: no such file or folder", path);
}

tv_model *tv_model_open(const char *path, const struct tv_open_options *opt, tv_error *err)
{
    return tv_model_open_many(&path, 1, opt, err);
}

tv_model *tv_model_open_many(const char *const *paths, size_t n_paths,
                             const struct tv_open_options *opt, tv_error *err)
{
    if (n_paths == 0) {
        tv_error_set(err, TV_ERR_USAGE, "no path given");
        return NULL;
    }
    tv_model *m = tv_model_new_empty(paths[0], opt, err);
    if (!m)
        return NULL;
    m->opt.vocab_file = NULL; /* read once, below; not kept */
    for (size_t i = 0; i < n_paths; i++)
        if (read_path(m, paths[i], err) < 0)
            goto fail;
    if (opt && opt->vocab_file && tv_model_read_vocab_lines(m, opt->vocab_file, err) < 0)
        goto fail;
    if (n_paths > 1)
        m->kind = "several files";
    if (model_finish(m, err) < 0)
        goto fail;
    return m;
fail:
    tv_model_free(m);
    return NULL;
}

tv_model *tv_model_read_memory(const void *buf, size_t len, const char *name,
                               const struct tv_open_options *opt, tv_error *err)
{
    const char *display = name ? name : "<memory>";
    tv_model *m = tv_model_new_empty(display, opt, err);
    if (!m)
        return NULL;
    tv_blob *blob = tv_blob_copy(buf, len, display, err);
    if (!blob || read_blob(m, blob, display, err) < 0 || model_finish(m, err) < 0) {
        tv_blob_unref(blob);
        tv_model_free(m);
        return NULL;
    }
    tv_blob_unref(blob);
    return m;
}
