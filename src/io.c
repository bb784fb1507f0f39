/*
 * Byte sources and atomic outputs.
 *
 * Sources: a file is mapped read-only (tensor data is never copied); memory
 * buffers are copied or adopted. Each source is a refcounted tv_blob that the
 * model keeps alive as long as tensors point into it.
 *
 * Outputs: a temporary file beside the target, renamed over it only after every
 * byte was written and fsync'ed, so a failed or interrupted write leaves nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources.h"
#include "internal.h"

static tv_blob *blob_new(const char *name, tv_error *err)
{
    tv_blob *b = tv_calloc(1, sizeof *b);
    if (!b) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory opening %s", name);
        return NULL;
    }
    b->name = tv_strdup(name ? name : "<memory>");
    if (!b->name) {
        tv_free(b);
        tv_error_set(err, TV_ERR_NOMEM, "out of memory opening %s", name);
        return NULL;
    }
    b->refs = 1;
    return b;
}

tv_blob *tv_blob_map_file(const char *path, const char *display_name, tv_error *err)
{
    const char *name = display_name ? display_name : path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tv_error_set(err, errno == ENOENT ? TV_ERR_NOTFOUND : TV_ERR_IO, "%s: cannot open: %s",
                     name, strerror(errno));
        return NULL;
    }
    tv_blob *b = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot stat: %s", name, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        tv_error_set(err, TV_ERR_IO, "%s: not a regular file", name);
        goto out;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        tv_error_set(err, TV_ERR_LIMIT, "%s: %lld bytes do not fit in memory", name,
                     (long long)st.st_size);
        goto out;
    }
    b = blob_new(name, err);
    if (!b)
        goto out;
    b->kind = TV_BLOB_MMAP;
    b->len = (size_t)st.st_size;
    if (b->len == 0) {
        b->data = (const uint8_t *)"";
        goto out;
    }
    void *map = mmap(NULL, b->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot map %zu bytes: %s", name, b->len,
                     strerror(errno));
        tv_free(b->name);
        tv_free(b);
        b = NULL;
        goto out;
    }
    b->base = map;
    b->map_len = b->len;
    b->data = map;
out:
    close(fd);
    return b;
}

tv_blob *tv_blob_adopt(void *buf, size_t len, const char *name, tv_error *err)
{
    tv_blob *b = blob_new(name, err);
    if (!b) {
        tv_free(buf);
        return NULL;
    }
    b->kind = TV_BLOB_HEAP;
    b->base = buf;
    /* A blob's data is never NULL, even when empty (an empty archive member adopts no
       buffer): readers may do pointer arithmetic on it. */
    b->data = buf ? buf : (const uint8_t *)"";
    b->len = buf ? len : 0;
    return b;
}

tv_blob *tv_blob_copy(const void *buf, size_t len, const char *name, tv_error *err)
{
    void *copy = tv_malloc(len);
    if (!copy) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory copying %zu bytes",
                     name ? name : "<memory>", len);
        return NULL;
    }
    if (len)
        memcpy(copy, buf, len);
    return tv_blob_adopt(copy, len, name, err);
}

tv_blob *tv_blob_view(tv_blob *parent, const uint8_t *data, size_t len, const char *name,
                      tv_error *err)
{
    if (data < parent->data || (size_t)(data - parent->data) > parent->len ||
        len > parent->len - (size_t)(data - parent->data)) {
        tv_error_set(err, TV_ERR_USAGE, "%s: a view of %zu bytes lies outside %s", name, len,
                     parent->name);
        return NULL;
    }
    tv_blob *b = blob_new(name, err);
    if (!b)
        return NULL;
    b->kind = TV_BLOB_VIEW;
    b->base = tv_blob_ref(parent);
    b->data = data;
    b->len = len;
    return b;
}

tv_blob *tv_blob_ref(tv_blob *b)
{
    if (b)
        b->refs++;
    return b;
}

void tv_blob_unref(tv_blob *b)
{
    if (!b || --b->refs > 0)
        return;
    if (b->kind == TV_BLOB_MMAP && b->base)
        munmap(b->base, b->map_len);
    else if (b->kind == TV_BLOB_HEAP)
        tv_free(b->base);
    else if (b->kind == TV_BLOB_VIEW)
        tv_blob_unref(b->base);
    tv_free(b->name);
    tv_free(b);
}

int tv_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (S_ISDIR(st.st_mode))
        return 1;
    if (S_ISREG(st.st_mode))
        return 0;
    return -1;
}

char *tv_path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    char *p = tv_malloc(dl + 1 + nl + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

/* ---- atomic output ------------------------------------------------------------ */

struct tv_out {
    int fd;
    char *path;
    char *tmp;
    uint64_t written;        /* bytes given to tv_out_write (before any compression) */
    uint64_t file_bytes;     /* bytes in the file */
    struct tv_deflater *gz;  /* tv_out_open_gzip: writes go through deflate */
};

tv_out *tv_out_open(const char *path, bool force, tv_error *err)
{
    tv_out *out = NULL;
    char *dir_copy = NULL;
    if (!force && access(path, F_OK) == 0) {
        tv_error_set(err, TV_ERR_USAGE, "%s: already exists (use --force to replace it)", path);
        goto fail;
    }
    out = tv_calloc(1, sizeof *out);
    if (!out)
        goto oom;
    out->fd = -1;
    out->path = tv_strdup(path);
    dir_copy = tv_strdup(path);
    if (!out->path || !dir_copy)
        goto oom;
    const char *dir = dirname(dir_copy);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t tmp_len = strlen(dir) + strlen(base) + 32;
    out->tmp = tv_malloc(tmp_len);
    if (!out->tmp)
        goto oom;
    snprintf(out->tmp, tmp_len, "%s/.%s.tmp-XXXXXX", dir, base);
    out->fd = mkostemp(out->tmp, O_CLOEXEC);
    if (out->fd < 0) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot create a temporary file in %s: %s", path, dir,
                     strerror(errno));
        tv_free(out->tmp);
        out->tmp = NULL;
        goto fail;
    }
    /* mkostemp creates 0600; give the output the usual permissions. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(out->fd, 0666 & ~mask);
    tv_free(dir_copy);
    return out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory opening the output", path);
fail:
    tv_free(dir_copy);
    tv_out_abort(out);
    return NULL;
}

static int write_file(void *ctx, const void *buf, size_t len, tv_error *err)
{
    tv_out *out = ctx;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(out->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return tv_error_set(err, TV_ERR_IO, "%s: write failed after %llu bytes: %s",
                                out->path, (unsigned long long)out->file_bytes,
                                strerror(errno));
        }
        p += n;
        len -= (size_t)n;
        out->file_bytes += (uint64_t)n;
    }
    return 0;
}

tv_out *tv_out_open_gzip(const char *path, bool force, tv_error *err)
{
    tv_out *out = tv_out_open(path, force, err);
    if (out && !(out->gz = tv_deflater_new(6, write_file, out, path, err))) {
        tv_out_abort(out);
        out = NULL;
    }
    return out;
}

int tv_out_write(tv_out *out, const void *buf, size_t len, tv_error *err)
{
    int rc = out->gz ? tv_deflater_write(out->gz, buf, len, err) : write_file(out, buf, len, err);
    if (rc == 0)
        out->written += len;
    return rc;
}

uint64_t tv_out_tell(const tv_out *out)
{
    return out->written;
}

const char *tv_out_path(const tv_out *out)
{
    return out->path;
}

int tv_out_commit(tv_out *out, tv_error *err)
{
    int rc = -1;
    if (out->gz && tv_deflater_finish(out->gz, err) < 0)
        goto out;
    if (fsync(out->fd) < 0) {
        tv_error_set(err, TV_ERR_IO, "%s: fsync failed: %s", out->path, strerror(errno));
        goto out;
    }
    if (close(out->fd) < 0) {
        out->fd = -1;
        tv_error_set(err, TV_ERR_IO, "%s: close failed: %s", out->path, strerror(errno));
        goto out;
    }
    out->fd = -1;
    if (rename(out->tmp, out->path) < 0) {
        tv_error_set(err, TV_ERR_IO, "%s: cannot rename the temporary file into place: %s",
                     out->path, strerror(errno));
        goto out;
    }
    tv_free(out->tmp);
    out->tmp = NULL; /* renamed: nothing left to remove */
    rc = 0;
out:
    tv_out_abort(out);
    return rc;
}

void tv_out_abort(tv_out *out)
{
    if (!out)
        return;
    tv_deflater_free(out->gz);
    if (out->fd >= 0)
        close(out->fd);
    if (out->tmp)
        unlink(out->tmp);
    tv_free(out->tmp);
    tv_free(out->path);
    tv_free(out);
}
