/*
 * The local Hugging Face hub cache, read without any network access.
 *
 * The layout huggingface_hub writes (its "cache system" documentation):
 *
 *   <cache>/models--<org>--<name>/          one folder per model repo ("gpt2" has no org:
 *                                           models--gpt2)
 *       refs/<ref>                          a text file holding the commit hash the ref
 *                                           (main, a branch, refs/pr/1) pointed at
 *       snapshots/<commit>/<file>           the files of that commit, as symlinks into
 *                                           ../../blobs/
 *       blobs/<sha>                         the bytes
 *
 * <cache> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (its old name), else
 * $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub:
 * the first that is set, as huggingface_hub chooses it. A snapshot is read with the
 * folder layout (src/folder.c), which follows the symlinks.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources.h"
#include "internal.h"

bool tv_hub_name_valid(const char *name)
{
    size_t slashes = 0, run = 0;
    if (!name[0] || name[0] == '.' || name[0] == '-')
        return false;
    for (const char *p = name; *p; p++) {
        if (*p == '/') {
            if (run == 0 || ++slashes > 1 || p[1] == '.' || p[1] == '-')
                return false;
            run = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return false;
        if (++run > 96)
            return false;
        if (*p == '.' && p[1] == '.')
            return false;
    }
    return run > 0;
}

/* A ref or commit given with --revision: no empty, "." or ".." component, no leading
   '/', printable characters only, so that it stays inside refs/ and snapshots/. */
static bool revision_valid(const char *rev)
{
    if (!rev[0] || rev[0] == '/' || strlen(rev) > 256)
        return false;
    for (const char *p = rev; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!isgraph((unsigned char)p[i]) || p[i] == '\\')
                return false;
        p += n + (slash ? 1 : 0);
    }
    return true;
}

/* The cache folder and the variable it came from, into a new string. */
static char *cache_root(const char **from)
{
    static const char *const direct[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(direct); i++) {
        const char *v = getenv(direct[i]);
        if (v && *v) {
            *from = direct[i];
            return tv_strdup(v);
        }
    }
    const char *v = getenv("HF_HOME");
    if (v && *v) {
        *from = "HF_HOME";
        return tv_path_join(v, "hub");
    }
    v = getenv("XDG_CACHE_HOME");
    if (v && *v) {
        *from = "XDG_CACHE_HOME";
        return tv_path_join(v, "huggingface/hub");
    }
    v = getenv("HOME");
    *from = "HOME";
    return tv_path_join(v && *v ? v : "/", ".cache/huggingface/hub");
}

/* Reads a refs/ file: a commit hash on one line. Returns a new string or NULL. */
static char *read_ref(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[160];
    char *hash = NULL;
    if (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, " \t\r\n");
        line[n] = '\0';
        bool ok = n > 0;
        for (size_t i = 0; i < n; i++)
            ok &= isxdigit((unsigned char)line[i]) != 0;
        if (ok)
            hash = tv_strdup(line);
    }
    fclose(f);
    return hash;
}

/* Lists up to a few entries of dir ("main, v1.0") for a message. */
static void list_dir(const char *dir, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(out, cap, "none");
        return;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) && used < cap) {
        if (e->d_name[0] == '.')
            continue;
        if (n++ == 6) {
            used += (size_t)snprintf(out + used, cap - used, ", ...");
            break;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s%.64s", n > 1 ? ", " : "",
                                 e->d_name);
    }
    closedir(d);
    if (!n)
        snprintf(out, cap, "none");
}

char *tv_hub_resolve(const char *name, const char *revision, tv_error *err)
{
    char *root = NULL, *repo = NULL, *ref_path = NULL, *snapshots = NULL, *hash = NULL;
    char *snapshot = NULL, *folder = NULL;
    const char *from = NULL;
    const char *rev = revision ? revision : "main";
    if (!tv_hub_name_valid(name)) {
        tv_error_set(err, TV_ERR_NOTFOUND, "%s: no such file or folder, and not a Hugging Face "
                     "model name (org/name) to look up in the cache", name);
        return NULL;
    }
    if (!revision_valid(rev)) {
        tv_error_set(err, TV_ERR_USAGE, "--revision '%.200s': not a ref or commit name", rev);
        return NULL;
    }
    /* models--org--name: the repo id with '/' spelled "--". */
    size_t n = strlen(name);
    folder = tv_malloc(strlen("models--") + 2 * n + 1);
    if (!folder)
        goto oom;
    char *w = folder + sprintf(folder, "models--");
    for (const char *p = name; *p; p++) {
        if (*p == '/') {
            *w++ = '-';
            *w++ = '-';
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    if (!(root = cache_root(&from)) || !(repo = tv_path_join(root, folder)))
        goto oom;
    if (tv_path_kind(repo) != 1) {
        tv_error_set(err, TV_ERR_NOTFOUND, "%s: no such file or folder here, and not in the "
                     "Hugging Face cache: looked for %s (the cache from $%s%s); tokvec never "
                     "downloads", name, repo, from,
                     strcmp(from, "HOME") == 0 ? "; set HF_HUB_CACHE or HF_HOME to use another"
                                               : "");
        goto out;
    }
    size_t ref_len = strlen(repo) + strlen("/refs/") + strlen(rev) + 1;
    if (!(ref_path = tv_malloc(ref_len)))
        goto oom;
    snprintf(ref_path, ref_len, "%s/refs/%s", repo, rev);
    if (!(snapshots = tv_path_join(repo, "snapshots")))
        goto oom;
    hash = tv_path_kind(ref_path) == 0 ? read_ref(ref_path) : NULL;
    if (hash) {
        if (!(snapshot = tv_path_join(snapshots, hash)))
            goto oom;
        if (tv_path_kind(snapshot) != 1) {
            tv_error_set(err, TV_ERR_NOTFOUND, "%s: %s names commit %s, but %s is not in the "
                         "cache (an interrupted download?)", name, ref_path, hash, snapshot);
            tv_free(snapshot);
            snapshot = NULL;
        }
        goto out;
    }
    /* Not a ref: a commit hash (a snapshot folder). */
    if (!(snapshot = tv_path_join(snapshots, rev)))
        goto oom;
    if (tv_path_kind(snapshot) == 1)
        goto out;
    char refs[256], snaps[512];
    char *refs_path = tv_path_join(repo, "refs");
    if (!refs_path)
        goto oom;
    list_dir(refs_path, refs, sizeof refs);
    list_dir(snapshots, snaps, sizeof snaps);
    tv_error_set(err, TV_ERR_NOTFOUND, "%s: revision '%.100s' is not in the Hugging Face cache: "
                 "looked for %s (a ref) and %s (a commit); refs there: %s; snapshots: %s%s",
                 name, rev, ref_path, snapshot, refs, snaps,
                 revision ? "" : " (choose one with --revision)");
    tv_free(refs_path);
    tv_free(snapshot);
    snapshot = NULL;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory looking in the Hugging Face cache", name);
out:
    tv_free(root);
    tv_free(repo);
    tv_free(ref_path);
    tv_free(snapshots);
    tv_free(hash);
    tv_free(folder);
    return snapshot;
}

int tv_model_read_hub(tv_model *m, const char *name, tv_error *err)
{
    char *snapshot = tv_hub_resolve(name, m->opt.revision, err);
    if (!snapshot)
        return -1;
    int rc = tv_model_read_folder(m, snapshot, err);
    if (rc == 0)
        m->kind = "Hugging Face cache";
    tv_free(snapshot);
    return rc;
}
