/*
 * A vocabulary from a plain list of tokens, one per line (what `--vocab FILE` pairs
 * with a bare matrix such as a .npy file): line i (from 0) is token id i.
 *
 *   1. lines end with '\n'; a '\r' before it is dropped; a final line without '\n' counts,
 *      a final '\n' does not start another token
 *   2. the whole line is the token, spaces included; an empty line is an empty token
 *      (it keeps the ids of the lines after it aligned with the matrix rows) and is
 *      reported, as is a token that repeats an earlier one
 *   3. a list that becomes the model's primary vocabulary names the rows of its matrix:
 *      as many lines as rows, or an error naming both numbers
 *
 * The file is read through the sources the rest of tokvec reads: a plain file, a gzipped
 * or otherwise compressed one (words.txt.gz, .zst, .xz, .bz2), or a member of an archive
 * named "archive.zip:path/words.txt", all within the open options' expansion caps.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sources.h"

/* Findings of one kind beyond this many are summarised in one more finding. */
#define LINES_MAX_FINDINGS 8

/* Reads the lines into a new vocabulary of m; *primary tells whether it is the primary. */
static int read_lines(tv_model *m, const tv_blob *blob, bool *primary, tv_error *err)
{
    struct tv_strmap seen;
    tv_strmap_init(&seen);
    int rc = -1;
    unsigned n_empty = 0, n_duplicate = 0;
    struct tv_vocab *v = tv_model_new_vocab(m, blob->name, err);
    if (!v)
        goto out;
    *primary = v == &m->vocabs[0];
    const uint8_t *buf = blob->data;
    size_t pos = 0;
    uint32_t id = 0;
    while (pos < blob->len) {
        const uint8_t *nl = memchr(buf + pos, '\n', blob->len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : blob->len - pos;
        const char *line = (const char *)buf + pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (id >= TV_MAX_TOKENS) {
            tv_error_set(err, TV_ERR_LIMIT, "%s: more than %u lines (the most a vocabulary "
                         "holds)", blob->name, TV_MAX_TOKENS);
            goto out;
        }
        if (n == 0 && ++n_empty <= LINES_MAX_FINDINGS &&
            tv_model_add_finding(m, "structure.empty_token", TV_SEVERITY_WARN, err,
                                 "%s: line %u is empty: token %u is the empty string",
                                 blob->name, id + 1, id) < 0)
            goto out;
        uint64_t first;
        int put = tv_strmap_put(&seen, line, n, id, &first);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory indexing line %u", blob->name,
                         id + 1);
            goto out;
        }
        if (put == 0 && ++n_duplicate <= LINES_MAX_FINDINGS) {
            char shown[96];
            tv_show_bytes(shown, sizeof shown, (const uint8_t *)line, n);
            if (tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_WARN, err,
                                     "%s: line %u '%s' repeats line %llu (ids %llu and %u)",
                                     blob->name, id + 1, shown, (unsigned long long)first + 1,
                                     (unsigned long long)first, id) < 0)
                goto out;
        }
        if (tv_vocab_set_token(m, v, id, line, n, 0.0f, TV_TOKEN_NORMAL, err) < 0) {
            tv_error_prefix(err, "%s: line %u", blob->name, id + 1);
            goto out;
        }
        id++;
    }
    if (n_empty > LINES_MAX_FINDINGS &&
        tv_model_add_finding(m, "structure.empty_token", TV_SEVERITY_WARN, err,
                             "%s: %u more empty lines not listed", blob->name,
                             n_empty - LINES_MAX_FINDINGS) < 0)
        goto out;
    if (n_duplicate > LINES_MAX_FINDINGS &&
        tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_WARN, err,
                             "%s: %u more repeated lines not listed", blob->name,
                             n_duplicate - LINES_MAX_FINDINGS) < 0)
        goto out;
    rc = 0;
out:
    tv_strmap_release(&seen);
    return rc;
}

/* "archive:member" where archive is an existing file: the member as a blob. Returns 1 with
   *out set, 0 when path has no such form, -1 with err. */
static int open_member(const tv_model *m, const char *path, tv_blob **out, tv_error *err)
{
    char *archive_path = NULL;
    const char *colon = NULL;
    for (const char *c = strchr(path, ':'); c && !colon; c = strchr(c + 1, ':')) {
        if (c == path)
            continue;
        archive_path = tv_strndup(path, (size_t)(c - path));
        if (!archive_path)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        if (tv_path_kind(archive_path) == 0)
            colon = c;
        else {
            tv_free(archive_path);
            archive_path = NULL;
        }
    }
    if (!colon)
        return 0;
    int rc = -1;
    tv_archive *ar = NULL;
    tv_blob *file = tv_blob_map_file(archive_path, archive_path, err);
    if (!file)
        goto out;
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &m->opt);
    if (tv_container_sniff(file->data, file->len) == TV_CONTAINER_NONE) {
        tv_error_set(err, TV_ERR_USAGE, "%s: not an archive (tar or zip), so '%s' cannot name a "
                     "member of it", archive_path, path);
        goto out;
    }
    if ((ar = tv_archive_open(file, &lim, err)) && (*out = tv_archive_read(ar, colon + 1, err)))
        rc = 1;
out:
    tv_archive_free(ar);
    tv_blob_unref(file);
    tv_free(archive_path);
    return rc;
}

/* The bytes of the token list at path: a plain file, a compressed single file decompressed,
   or an archive member. NULL with err. */
static tv_blob *open_lines(const tv_model *m, const char *path, tv_error *err)
{
    tv_blob *blob = NULL;
    if (tv_path_kind(path) != 0) {
        int rc = open_member(m, path, &blob, err);
        if (rc != 0)
            return rc > 0 ? blob : NULL;
    }
    tv_blob *file = tv_blob_map_file(path, path, err);
    if (!file)
        return NULL;
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &m->opt);
    uint8_t head[512];
    tv_archive *ar = NULL;
    switch (tv_container_sniff(file->data, file->len)) {
    case TV_CONTAINER_NONE:
        return file;
    case TV_CONTAINER_GZIP:
    case TV_CONTAINER_TAR:
    case TV_CONTAINER_ZIP:
        if (tv_container_sniff(file->data, file->len) == TV_CONTAINER_GZIP &&
            !(tv_gzip_peek(file->data, file->len, head, sizeof head) == sizeof head &&
              tv_tar_header_valid(head, sizeof head))) { /* one gzipped file, not a .tar.gz */
            blob = tv_gzip_inflate(file, path, &lim, err);
            break;
        }
        tv_error_set(err, TV_ERR_USAGE, "%s: an archive, not a token list; name the list inside "
                     "it as %s:FOLDER/FILE", path, path);
        break;
    case TV_CONTAINER_COMPRESSED:
        /* zstd, xz, bzip2, lz4: libarchive reads the stream as one member */
        if ((ar = tv_archive_open(file, &lim, err))) {
            if (tv_archive_member_count(ar) == 1)
                blob = tv_archive_read(ar, tv_archive_member_name(ar, 0), err);
            else
                tv_error_set(err, TV_ERR_USAGE, "%s: a compressed archive of %zu files, not a "
                             "token list; name the list inside it as %s:FOLDER/FILE", path,
                             tv_archive_member_count(ar), path);
            tv_archive_free(ar);
        }
        break;
    }
    tv_blob_unref(file);
    return blob;
}

/* Rule 3: the matrix a primary token list names, and its row count. */
static int check_rows(const tv_model *m, const char *file, size_t n_lines, tv_error *err)
{
    const struct tv_tensor *matrix = tv_model_embedding(m);
    for (size_t i = 0; !matrix && i < m->n_tensors; i++) {
        if (m->tensors[i].n_dims != 2)
            continue;
        if (matrix)
            return 0; /* several matrices and none is the embedding: nothing to pair */
        matrix = &m->tensors[i];
    }
    if (!matrix || matrix->shape[0] == n_lines)
        return 0;
    return tv_error_set(err, TV_ERR_DATA, "%s: %zu lines, but tensor '%s' (%s) has %llu rows: a "
                        "token list names one row per line", file, n_lines, matrix->name,
                        matrix->file ? matrix->file : m->path,
                        (unsigned long long)matrix->shape[0]);
}

int tv_model_read_vocab_lines(tv_model *m, const char *path, tv_error *err)
{
    tv_blob *blob = open_lines(m, path, err);
    if (!blob)
        return -1;
    const char *slash = strrchr(path, '/');
    int rc = -1;
    bool primary = false;
    if (tv_model_add_file(m, slash && slash[1] ? slash + 1 : path, err) == 0 &&
        read_lines(m, blob, &primary, err) == 0 && tv_model_pick_embedding(m, err) == 0 &&
        (!primary || check_rows(m, blob->name, m->vocabs[0].n_tokens, err) == 0))
        rc = 0;
    tv_blob_unref(blob);
    return rc;
}
