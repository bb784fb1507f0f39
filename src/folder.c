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
 *      else every *.safetensors file, else pytorch_model.bin.index.json with its
 *      shards, else pytorch_model.bin (formats/pytorch.c), else a single *.gguf
 *
 * A folder with none of these is an error that lists what was looked for.
 *
 * The layout talks to a directory source (tv_dir) only, so the same code reads a
 * folder on disk, a snapshot of the Hugging Face cache (symlinks into blobs/ are
 * followed) and a folder inside an archive (src/archive.c). The source for a folder
 * on disk is at the end of this file.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources.h"
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

/* ---- directory sources: the common calls ----------------------------------------- */

bool tv_dir_has(tv_dir *d, const char *name)
{
    return d->ops->has(d, name);
}

int tv_dir_list(tv_dir *d, const char *suffix, char ***names, size_t *count, tv_error *err)
{
    *names = NULL;
    *count = 0;
    if (d->ops->list(d, suffix, names, count, err) < 0)
        return -1;
    if (*count > 1)
        qsort(*names, *count, sizeof **names, cmp_str);
    return 0;
}

void tv_dir_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        tv_free(names[i]);
    tv_free(names);
}

tv_blob *tv_dir_open(tv_dir *d, const char *name, tv_error *err)
{
    return d->ops->open(d, name, err);
}

const char *tv_dir_name(const tv_dir *d)
{
    return d->name;
}

void tv_dir_free(tv_dir *d)
{
    if (!d)
        return;
    d->ops->release(d);
    tv_free(d->name);
    tv_free(d);
}

/* ---- the layout ---------------------------------------------------------------------- */

/* The files and suffixes that make a folder a model folder (the error message of
   tv_model_read_dir lists the same). */
static const char *const layout_files[] = {
    "config.json", "tokenizer.json", "vocab.json", "vocab.txt", "tokenizer.model",
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
    "pytorch_model.bin.index.json",
};
static const char *const layout_suffixes[] = {".safetensors", ".gguf"};

int tv_dir_has_model_files(tv_dir *d, tv_error *err)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(layout_files); i++)
        if (tv_dir_has(d, layout_files[i]))
            return 1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(layout_suffixes); i++) {
        char **names = NULL;
        size_t count = 0;
        if (tv_dir_list(d, layout_suffixes[i], &names, &count, err) < 0)
            return -1;
        tv_dir_list_free(names, count);
        if (count)
            return 1;
    }
    return 0;
}

/* Opens dir/name and records it in m. Returns 1 with *blob (the caller unrefs it),
   0 when the folder has no such file, -1 on error. */
static int open_named(tv_model *m, tv_dir *dir, const char *name, tv_blob **blob,
                      tv_error *err)
{
    *blob = NULL;
    if (!tv_dir_has(dir, name))
        return 0;
    *blob = tv_dir_open(dir, name, err);
    if (!*blob)
        return -1;
    if (tv_model_add_blob(m, *blob, err) < 0 || tv_model_add_file(m, name, err) < 0)
        return -1;
    return 1;
}

/* Reads dir/name with a format chosen by name (the folder layout says what it is).
   Returns 1 when read, 0 when the file does not exist, -1 on error. */
static int read_named(tv_model *m, tv_dir *dir, const char *name, const char *format,
                      tv_error *err)
{
    if (!tv_dir_has(dir, name))
        return 0;
    const struct tv_format *fmt = tv_format_by_name(format);
    if (!fmt || !fmt->read)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s/%s: this build of tokvec cannot read "
                            "%s files", tv_dir_name(dir), name, format);
    tv_blob *blob;
    int rc = open_named(m, dir, name, &blob, err);
    if (rc == 1 && fmt->read(m, blob, err) < 0)
        rc = -1;
    tv_blob_unref(blob);
    return rc;
}

/* The index's shards are siblings in the same source, so they are opened through it. */
static int read_index(tv_model *m, tv_dir *dir, const char *name, tv_error *err)
{
    tv_blob *blob;
    int rc = open_named(m, dir, name, &blob, err);
    if (rc == 1 && tv_safetensors_read_index(m, blob, dir, err) < 0)
        rc = -1;
    tv_blob_unref(blob);
    return rc;
}

static int read_weights(tv_model *m, tv_dir *dir, tv_error *err)
{
    int rc = read_index(m, dir, "model.safetensors.index.json", err);
    if (rc != 0)
        return rc;
    rc = read_named(m, dir, "model.safetensors", "safetensors", err);
    if (rc != 0)
        return rc;
    char **names = NULL;
    size_t count = 0;
    if (tv_dir_list(dir, ".safetensors", &names, &count, err) < 0)
        return -1;
    for (size_t i = 0; i < count && rc >= 0; i++)
        rc = read_named(m, dir, names[i], "safetensors", err);
    tv_dir_list_free(names, count);
    if (rc < 0 || count)
        return rc < 0 ? -1 : 1;
    tv_blob *blob;
    rc = open_named(m, dir, "pytorch_model.bin.index.json", &blob, err);
    if (rc == 1 && tv_pytorch_read_index(m, blob, dir, err) < 0)
        rc = -1;
    tv_blob_unref(blob);
    if (rc == 0)
        rc = read_named(m, dir, "pytorch_model.bin", "pytorch", err);
    if (rc != 0)
        return rc;
    if (tv_dir_list(dir, ".gguf", &names, &count, err) < 0)
        return -1;
    if (count > 1) {
        rc = tv_error_set(err, TV_ERR_USAGE,
                          "%s: %zu GGUF files (%s, %s%s): name the one to open",
                          tv_dir_name(dir), count, names[0], names[1], count > 2 ? ", ..." : "");
    } else if (count == 1) {
        rc = read_named(m, dir, names[0], "gguf", err);
    }
    tv_dir_list_free(names, count);
    return rc;
}

int tv_model_read_dir(tv_model *m, tv_dir *dir, tv_error *err)
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
                            "*.safetensors, pytorch_model.bin[.index.json], *.gguf)",
                            tv_dir_name(dir));
    return 0;
}

int tv_model_read_folder(tv_model *m, const char *path, tv_error *err)
{
    tv_dir *dir = tv_dir_new_path(path, err);
    if (!dir)
        return -1;
    int rc = tv_model_read_dir(m, dir, err);
    tv_dir_free(dir);
    return rc;
}

/* ---- the source for a folder on disk ----------------------------------------------- */

struct path_dir {
    struct tv_dir base;
    char *path;
};

/* Without allocating, so that running out of memory cannot pass for a missing file. */
static bool path_has(tv_dir *d, const char *name)
{
    char full[PATH_MAX];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", ((struct path_dir *)d)->path, name) >=
        sizeof full)
        return true; /* too long a path: opening it says so */
    return tv_path_kind(full) == 0; /* stat follows symlinks */
}

static int path_list(tv_dir *d, const char *suffix, char ***names, size_t *count,
                     tv_error *err)
{
    const char *dir = ((struct path_dir *)d)->path;
    size_t cap = 0;
    DIR *dh = opendir(dir);
    if (!dh)
        return tv_error_set(err, TV_ERR_IO, "%s: cannot list the folder", dir);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dh))) {
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
    closedir(dh);
    return rc;
}

static tv_blob *path_open(tv_dir *d, const char *name, tv_error *err)
{
    char *full = tv_path_join(((struct path_dir *)d)->path, name);
    if (!full) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", d->name);
        return NULL;
    }
    tv_blob *blob = tv_blob_map_file(full, full, err);
    tv_free(full);
    return blob;
}

static void path_release(tv_dir *d)
{
    tv_free(((struct path_dir *)d)->path);
}

static const struct tv_dir_ops path_ops = {
    .has = path_has,
    .list = path_list,
    .open = path_open,
    .release = path_release,
};

tv_dir *tv_dir_new_path(const char *path, tv_error *err)
{
    struct path_dir *d = tv_calloc(1, sizeof *d);
    if (!d || !(d->path = tv_strdup(path)) || !(d->base.name = tv_strdup(path))) {
        if (d)
            tv_free(d->path);
        tv_free(d);
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    d->base.ops = &path_ops;
    return &d->base;
}

tv_dir *tv_dir_new_parent(const char *path, tv_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? tv_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : tv_strdup(".");
    if (!dir) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    tv_dir *d = tv_dir_new_path(dir, err);
    tv_free(dir);
    return d;
}
