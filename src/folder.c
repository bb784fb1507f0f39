/*
 * Hugging Face model folders. The layout, in the order it is read:
 *
 *   1. config.json                    architecture, vocab_size, hidden size aliases
 *   2. tokenizer.json                 the primary vocabulary, when present
 *   3. vocab.json (+ merges.txt)      GPT-2 style vocabulary (secondary when 2 exists)
 *   4. vocab.txt                      BERT vocabulary (secondary when 2 or 3 exists)
 *   4b. tokenizer.model               SentencePiece (secondary when 2, 3 or 4 exists)
 *   5. tokenizer_config.json, generation_config.json   special tokens
 *   6. weights: model.safetensors.index.json with its shards, else model.safetensors,
 *      else every *.safetensors file, else a single *.gguf
 *
 * A folder with none of these is an error that lists what was looked for.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads dir/name with a format chosen by name (the folder layout says what it is).
   Returns 1 when read, 0 when the file does not exist, -1 on error. */
static int read_named(tv_model *m, const char *dir, const char *name, const char *format,
                      tv_error *err)
{
    int rc = -1;
    char *path = tv_path_join(dir, name);
    if (!path)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", dir);
    if (tv_path_kind(path) != 0) {
        rc = 0;
        goto out;
    }
    const struct tv_format *fmt = tv_format_by_name(format);
    if (!fmt || !fmt->read) {
        tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: this build of tokvec cannot read %s files", path,
                     format);
        goto out;
    }
    tv_blob *blob = tv_blob_map_file(path, path, err);
    if (!blob)
        goto out;
    if (tv_model_add_blob(m, blob, err) == 0 && tv_model_add_file(m, name, err) == 0 &&
        fmt->read(m, blob, err) == 0)
        rc = 1;
    tv_blob_unref(blob);
out:
    tv_free(path);
    return rc;
}

/* Lists the regular files in dir whose names end with suffix, sorted. */
static int list_suffix(const char *dir, const char *suffix, char ***names, size_t *count,
                       tv_error *err)
{
    *names = NULL;
    *count = 0;
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot list the folder", dir);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix))
            continue;
        char *full = tv_path_join(dir, e->d_name);
        int kind = full ? tv_path_kind(full) : -1;
        tv_free(full);
        if (kind != 0)
            continue;
        char *copy = tv_strdup(e->d_name);
        if (!copy || tv_grow((void **)names, &cap, *count + 1, sizeof **names, err) < 0) {
            tv_free(copy);
            rc = tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        (*names)[(*count)++] = copy;
    }
    closedir(d);
    if (*count > 1)
        qsort(*names, *count, sizeof **names, cmp_str);
    return rc;
}

static void free_list(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        tv_free(names[i]);
    tv_free(names);
}

static int read_weights(tv_model *m, const char *dir, tv_error *err)
{
    int rc = read_named(m, dir, "model.safetensors.index.json", "safetensors-index", err);
    if (rc != 0)
        return rc;
    rc = read_named(m, dir, "model.safetensors", "safetensors", err);
    if (rc != 0)
        return rc;
    char **names = NULL;
    size_t count = 0;
    if (list_suffix(dir, ".safetensors", &names, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count && rc >= 0; i++)
        rc = read_named(m, dir, names[i], "safetensors", err);
    free_list(names, count);
    if (rc < 0 || count)
        return rc < 0 ? -1 : 1;
    if (list_suffix(dir, ".gguf", &names, &count, err) < 0)
        return -1;
    if (count > 1) {
        rc = tv_error_set(err, TV_ERR_USAGE,
                          "%s: %zu GGUF files (%s, %s%s): name the one to open", dir, count,
                          names[0], names[1], count > 2 ? ", ..." : "");
    } else if (count == 1) {
        rc = read_named(m, dir, names[0], "gguf", err);
    }
    free_list(names, count);
    return rc;
}

int tv_model_read_folder(tv_model *m, const char *dir, tv_error *err)
{
    int found = 0, rc;
    m->kind = "Hugging Face folder";
    if ((rc = read_named(m, dir, "config.json", "config.json", err)) < 0)
        return -1;
    found += rc;
    if ((rc = read_named(m, dir, "tokenizer.json", "tokenizer.json", err)) < 0)
        return -1;
    found += rc;
    if ((rc = read_named(m, dir, "vocab.json", "vocab.json", err)) < 0)
        return -1;
    found += rc;
    if (rc == 1 && read_named(m, dir, "merges.txt", "merges.txt", err) < 0)
        return -1;
    if ((rc = read_named(m, dir, "vocab.txt", "vocab.txt", err)) < 0)
        return -1;
    found += rc;
    if ((rc = read_named(m, dir, "tokenizer.model", "sentencepiece", err)) < 0)
        return -1;
    found += rc;
    if (read_named(m, dir, "tokenizer_config.json", "tokenizer_config.json", err) < 0 ||
        read_named(m, dir, "generation_config.json", "generation_config.json", err) < 0)
        return -1;
    if ((rc = read_weights(m, dir, err)) < 0)
        return -1;
    found += rc;
    if (!found)
        return tv_error_set(err, TV_ERR_NOTFOUND,
                            "%s: no model files here (looked for config.json, tokenizer.json, "
                            "vocab.json, vocab.txt, tokenizer.model, model.safetensors[.index.json], "
                            "*.safetensors, *.gguf)", dir);
    return 0;
}
