/*
 * Archives read with libarchive, never extracted to disk: .tar, .tar.gz, .tar.zst,
 * .tar.xz, .tar.bz2, .tar.lz4 and .zip (stored and deflated members), plus single
 * files compressed with zstd, xz, bzip2 or lz4 (libarchive's "raw" format). Single
 * .gz files go through zlib (src/gzip.c).
 *
 * How an archive is read:
 *   1. tv_archive_open indexes it: one pass over the member headers (the data of
 *      each member is skipped; for a compressed tar that means decompressed and
 *      dropped), recording each member's name, type and size. Nothing is kept.
 *   2. Members are read lazily, when the folder layout or the member syntax asks
 *      for one. A pass in progress is continued when the member lies ahead of it,
 *      and restarted otherwise: zip and plain tar seek for free, a compressed tar
 *      decompresses again up to the member.
 *   3. A stored member of an archive that is not compressed as a whole (a PyTorch
 *      zip, a plain tar) is a view into the archive's bytes when libarchive hands
 *      back a pointer into them: libarchive cannot write into our read-only mapping,
 *      so such a pointer is the member's bytes untouched. Anything else is copied
 *      into a heap buffer.
 *
 * Safety: names are matched after dropping "./" and empty components. A member
 * whose name is absolute or has a ".." component, a symbolic or hard link, a device
 * or special file, an encrypted member and a name stored twice are refused when they
 * would be used, with an error naming the member. Expansion is capped per member
 * and per archive (src/limits.h, struct tv_unpack_limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "sources.h"
#include "internal.h"

/* ---- caps -------------------------------------------------------------------------- */

void tv_unpack_limits_init(struct tv_unpack_limits *lim, const struct tv_open_options *opt)
{
    lim->max_member_bytes = opt && opt->max_member_bytes ? opt->max_member_bytes
                                                         : TV_UNPACK_MAX_MEMBER;
    lim->max_total_bytes = opt && opt->max_unpacked_bytes ? opt->max_unpacked_bytes
                                                          : TV_UNPACK_MAX_TOTAL;
    lim->max_ratio = opt && opt->max_expand_ratio ? opt->max_expand_ratio : TV_UNPACK_MAX_RATIO;
}

uint64_t tv_unpack_budget(const struct tv_unpack_limits *lim, uint64_t packed_bytes,
                          bool *by_ratio)
{
    uint64_t by_size;
    if (!tv_mul_u64_fits(lim->max_ratio, packed_bytes, &by_size))
        by_size = UINT64_MAX;
    if (by_size < TV_UNPACK_RATIO_FLOOR)
        by_size = TV_UNPACK_RATIO_FLOOR;
    *by_ratio = by_size < lim->max_total_bytes;
    return *by_ratio ? by_size : lim->max_total_bytes;
}

/* ---- recognising containers -------------------------------------------------------- */

bool tv_tar_header_valid(const uint8_t *block, size_t len)
{
    if (len < 512 || memcmp(block + 257, "ustar", 5) != 0)
        return false;
    /* The checksum (octal at 148..155) is the sum of the header's bytes with the
       checksum field itself counted as spaces. */
    uint64_t stored = 0;
    size_t i = 148;
    while (i < 156 && block[i] == ' ')
        i++;
    size_t digits = 0;
    for (; i < 156 && block[i] >= '0' && block[i] <= '7'; i++, digits++)
        stored = stored * 8 + (uint64_t)(block[i] - '0');
    if (digits == 0)
        return false;
    uint64_t sum = 0;
    for (i = 0; i < 512; i++)
        sum += i >= 148 && i < 156 ? ' ' : block[i];
    return sum == stored;
}

enum tv_container tv_container_sniff(const uint8_t *buf, size_t len)
{
    static const uint8_t zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    static const uint8_t lz4[] = {0x04, 0x22, 0x4d, 0x18};
    if (tv_gzip_magic(buf, len))
        return TV_CONTAINER_GZIP;
    if ((len >= 4 && memcmp(buf, zstd, 4) == 0) || (len >= 6 && memcmp(buf, xz, 6) == 0) ||
        (len >= 4 && memcmp(buf, lz4, 4) == 0) ||
        (len >= 10 && memcmp(buf, "BZh", 3) == 0 && buf[3] >= '1' && buf[3] <= '9' &&
         memcmp(buf + 4, "1AY&SY", 6) == 0))
        return TV_CONTAINER_COMPRESSED;
    if (len >= 4 && buf[0] == 'P' && buf[1] == 'K' &&
        ((buf[2] == 3 && buf[3] == 4) || (buf[2] == 5 && buf[3] == 6)))
        return TV_CONTAINER_ZIP;
    if (tv_tar_header_valid(buf, len))
        return TV_CONTAINER_TAR;
    return TV_CONTAINER_NONE;
}

/* ---- the index ------------------------------------------------------------------------ */

struct member {
    char *name;           /* as stored (cut at TV_ARCHIVE_MAX_NAME), for messages */
    char *key;            /* the name without "./", empty, ".." components or a leading
                             '/'; NULL when nothing is left */
    uint64_t size;
    bool size_known;
    bool is_dir;
    char *refusal;        /* why it cannot be used, or NULL */
    unsigned copies;      /* members with this key (set on the first one) */
};

struct sorted_key {
    const char *key;
    size_t member;
};

static int cmp_sorted(const void *a, const void *b)
{
    const struct sorted_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->member > y->member) - (x->member < y->member);
}

struct tv_archive {
    tv_blob *file;
    struct member *members;
    size_t n_members, cap_members;
    struct tv_strmap index;     /* key -> first member with it */
    struct sorted_key *sorted;  /* the members with a key, by key: a folder's files are a
                                   range of it, so listing is not a scan of every member */
    size_t n_sorted;
    struct tv_unpack_limits lim;
    uint64_t budget;            /* tv_unpack_budget of the file */
    bool by_ratio;
    uint64_t held;              /* member bytes copied into memory so far */
    bool raw;                   /* a compressed single file: libarchive's raw format */
    bool compressed;            /* the whole archive goes through a decompressor */
    size_t pos;                 /* where the reader's client stands in file */
    struct archive *reader;     /* a pass in progress */
    size_t next;                /* the member the reader's next header is */
    unsigned refs;
};

static void reader_close(tv_archive *ar)
{
    if (ar->reader)
        archive_read_free(ar->reader);
    ar->reader = NULL;
    ar->next = 0;
}

/*
 * libarchive reads the mapping through these callbacks, a block at a time, rather
 * than through archive_read_open_memory (which hands over the whole file as one
 * block): the zip reader computes the CRC of every block it returns, so a stored
 * member returned as one block would be read through in full just to take a view
 * of it. With blocks of TV_ARCHIVE_BLOCK bytes it reads at most that much.
 */
#define TV_ARCHIVE_BLOCK (1u << 20)

static la_ssize_t client_read(struct archive *a, void *ctx, const void **buf)
{
    (void)a;
    tv_archive *ar = ctx;
    size_t left = ar->file->len - ar->pos, n = left < TV_ARCHIVE_BLOCK ? left : TV_ARCHIVE_BLOCK;
    *buf = ar->file->data + ar->pos;
    ar->pos += n;
    return (la_ssize_t)n;
}

static la_int64_t client_skip(struct archive *a, void *ctx, la_int64_t request)
{
    (void)a;
    tv_archive *ar = ctx;
    size_t left = ar->file->len - ar->pos;
    size_t n = request <= 0 ? 0 : (uint64_t)request < left ? (size_t)request : left;
    ar->pos += n;
    return (la_int64_t)n;
}

static la_int64_t client_seek(struct archive *a, void *ctx, la_int64_t offset, int whence)
{
    (void)a;
    tv_archive *ar = ctx;
    la_int64_t base = whence == SEEK_SET ? 0
                      : whence == SEEK_CUR ? (la_int64_t)ar->pos
                                           : (la_int64_t)ar->file->len;
    la_int64_t to = base + offset;
    if (offset > (la_int64_t)ar->file->len || offset < -(la_int64_t)ar->file->len || to < 0 ||
        to > (la_int64_t)ar->file->len)
        return ARCHIVE_FATAL;
    ar->pos = (size_t)to;
    return to;
}

static int reader_open(tv_archive *ar, tv_error *err)
{
    reader_close(ar);
    struct archive *a = archive_read_new();
    if (!a)
        return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory opening the archive",
                            ar->file->name);
    /* Only decompressors linked into libarchive: without one, libarchive would run an
       external program, which a library must not do behind its caller's back. */
    if (archive_zlib_version())
        archive_read_support_filter_gzip(a);
    if (archive_libzstd_version())
        archive_read_support_filter_zstd(a);
    if (archive_liblzma_version())
        archive_read_support_filter_xz(a);
    if (archive_bzlib_version())
        archive_read_support_filter_bzip2(a);
    if (archive_liblz4_version())
        archive_read_support_filter_lz4(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    if (ar->raw)
        archive_read_support_format_raw(a);
    ar->pos = 0;
    archive_read_set_read_callback(a, client_read);
    archive_read_set_skip_callback(a, client_skip);
    archive_read_set_seek_callback(a, client_seek);
    archive_read_set_callback_data(a, ar);
    if (archive_read_open1(a) != ARCHIVE_OK) {
        tv_error_set(err, TV_ERR_DATA, "%s: damaged archive: cannot read the first member's "
                     "header: %s", ar->file->name,
                     archive_error_string(a) ? archive_error_string(a) : "unknown format");
        archive_read_free(a);
        return -1;
    }
    ar->reader = a;
    ar->next = 0;
    return 0;
}

static const char *la_error(struct archive *a)
{
    const char *msg = archive_error_string(a);
    return msg ? msg : "libarchive gave no reason";
}

/* Fills key (the name as looked up) from name: drops "./" and empty components and a
   leading '/'; a ".." component removes the one before it, or nothing at the top (as
   an extractor that strips leading "../" would place the file), and is reported in
   *dotdot so that the member is refused when used. */
static void normalize(const char *name, char *key, bool *absolute, bool *dotdot)
{
    size_t len = strlen(name);
    *absolute = name[0] == '/';
    *dotdot = false;
    size_t out = 0;
    const char *p = name, *end = name + len;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = (size_t)((slash ? slash : end) - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *dotdot = true;
            while (out > 0 && key[out - 1] != '/')
                out--;
            if (out > 0)
                out--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (out)
                key[out++] = '/';
            memcpy(key + out, p, n);
            out += n;
        }
        p += n + (slash ? 1 : 0);
    }
    key[out] = '\0';
}

/* The same into a new string (NULL on OOM). */
static char *make_key(const char *name, bool *absolute, bool *dotdot)
{
    char *key = tv_malloc(strlen(name) + 1);
    if (key)
        normalize(name, key, absolute, dotdot);
    return key;
}

static char *dup_printf(const char *fmt, const char *arg)
{
    char buf[TV_ARCHIVE_MAX_NAME + 128];
    snprintf(buf, sizeof buf, fmt, arg);
    return tv_strdup(buf);
}

/* Records the member whose header is e. */
static int add_member(tv_archive *ar, struct archive_entry *e, tv_error *err)
{
    if (ar->n_members >= TV_ARCHIVE_MAX_MEMBERS)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: more than %u members (TV_ARCHIVE_MAX_MEMBERS)",
                            ar->file->name, (unsigned)TV_ARCHIVE_MAX_MEMBERS);
    if (tv_grow((void **)&ar->members, &ar->cap_members, ar->n_members + 1,
                sizeof *ar->members, err) < 0)
        return -1;
    struct member *mb = &ar->members[ar->n_members];
    memset(mb, 0, sizeof *mb);
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = archive_entry_pathname_utf8(e);
    bool too_long = name && strlen(name) > TV_ARCHIVE_MAX_NAME;
    mb->name = name ? tv_strndup(name, too_long ? 200 : strlen(name)) : tv_strdup("?");
    if (!mb->name)
        goto oom;
    ar->n_members++; /* from here on the member is freed with the archive */
    unsigned type = archive_entry_filetype(e);
    mb->is_dir = type == AE_IFDIR;
    mb->size_known = archive_entry_size_is_set(e) && archive_entry_size(e) >= 0;
    mb->size = mb->size_known ? (uint64_t)archive_entry_size(e) : 0;
    bool absolute = false, dotdot = false;
    if (name && !too_long) {
        mb->key = make_key(name, &absolute, &dotdot);
        if (!mb->key)
            goto oom;
        if (!mb->key[0]) {
            tv_free(mb->key);
            mb->key = NULL;
        }
    }
    const char *link;
    if (!name)
        mb->refusal = tv_strdup("its name cannot be read");
    else if (too_long)
        mb->refusal = dup_printf("its name is longer than %s bytes", "4096");
    else if (dotdot)
        mb->refusal = tv_strdup("its name leaves the archive ('..')");
    else if (absolute)
        mb->refusal = tv_strdup("its name is absolute");
    else if ((link = archive_entry_hardlink(e)))
        mb->refusal = dup_printf("it is a hard link to '%.200s'", link);
    else if (type == AE_IFLNK)
        mb->refusal = dup_printf("it is a symbolic link to '%.200s'",
                                 archive_entry_symlink(e) ? archive_entry_symlink(e) : "?");
    else if (type != AE_IFREG && type != AE_IFDIR)
        mb->refusal = tv_strdup("it is a device or special file, not a regular file");
    else if (archive_entry_is_encrypted(e))
        mb->refusal = tv_strdup("it is encrypted");
    else
        return 0;
    if (!mb->refusal)
        goto oom;
    return 0;
oom:
    return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory indexing the archive",
                        ar->file->name);
}

/* The error for a stream that expanded past the archive's budget. */
static int over_budget(const tv_archive *ar, const char *member, tv_error *err)
{
    if (ar->by_ratio)
        return tv_error_set(err, TV_ERR_LIMIT,
                            "%s: member '%.200s': the archive expands past %llu bytes (the "
                            "expansion ratio cap: %llu times its own %zu bytes, at least %llu; "
                            "max_expand_ratio, --max-expand-ratio); a decompression bomb?",
                            ar->file->name, member, (unsigned long long)ar->budget,
                            (unsigned long long)ar->lim.max_ratio, ar->file->len,
                            (unsigned long long)TV_UNPACK_RATIO_FLOOR);
    return tv_error_set(err, TV_ERR_LIMIT,
                        "%s: member '%.200s': the archive expands past %llu bytes, the cap "
                        "on decompressed bytes (max_unpacked_bytes, --max-unpacked-bytes); "
                        "a decompression bomb?", ar->file->name, member,
                        (unsigned long long)ar->budget);
}

/* How far the decompressed stream has gone, for a compressed archive. */
static bool stream_over_budget(const tv_archive *ar)
{
    return ar->compressed && (uint64_t)archive_filter_bytes(ar->reader, 0) > ar->budget;
}

/* Skips the data of the member the reader stands at. A compressed stream is read
   block by block so that a bomb is stopped while it expands. */
static int skip_data(tv_archive *ar, const struct member *mb, tv_error *err)
{
    int r;
    if (!ar->compressed) {
        r = archive_read_data_skip(ar->reader);
    } else {
        const void *buf;
        size_t len;
        la_int64_t off;
        while ((r = archive_read_data_block(ar->reader, &buf, &len, &off)) == ARCHIVE_OK ||
               r == ARCHIVE_WARN)
            if (stream_over_budget(ar))
                return over_budget(ar, mb->name, err);
        if (r == ARCHIVE_EOF)
            r = ARCHIVE_OK;
    }
    if (r < ARCHIVE_WARN)
        return tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s': damaged or truncated: %s",
                            ar->file->name, mb->name, la_error(ar->reader));
    return 0;
}

/* Reads the next header into *e. Returns 1, 0 at the end, -1 with err. */
static int next_header(tv_archive *ar, struct archive_entry **e, tv_error *err)
{
    int r = archive_read_next_header(ar->reader, e);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r >= ARCHIVE_WARN) {
        ar->compressed = archive_filter_count(ar->reader) > 1;
        if (stream_over_budget(ar))
            return over_budget(ar, ar->next < ar->n_members ? ar->members[ar->next].name
                                                            : "(a header)", err);
        return 1;
    }
    if (ar->next == 0)
        return tv_error_set(err, TV_ERR_DATA, "%s: damaged archive: cannot read the first "
                            "member's header: %s", ar->file->name, la_error(ar->reader));
    return tv_error_set(err, TV_ERR_DATA, "%s: damaged archive: cannot read the header after "
                        "member '%.200s' (member %zu): %s", ar->file->name,
                        ar->members[ar->next - 1].name, ar->next, la_error(ar->reader));
}

/* Whether a zip ends with its end-of-central-directory record (22 bytes and a comment
   of up to 65535). libarchive reads a zip without one in streaming mode, which would
   accept a zip cut inside its central directory. */
static bool zip_has_end_record(const tv_blob *file)
{
    if (file->len < 22)
        return false;
    size_t lowest = file->len - 22 > 65535 ? file->len - 22 - 65535 : 0;
    for (size_t at = file->len - 22 + 1; at-- > lowest;)
        if (memcmp(file->data + at, "PK\5\6", 4) == 0)
            return true;
    return false;
}

tv_archive *tv_archive_open(tv_blob *file, const struct tv_unpack_limits *lim, tv_error *err)
{
    tv_archive *ar = tv_calloc(1, sizeof *ar);
    if (!ar) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory opening the archive", file->name);
        return NULL;
    }
    ar->refs = 1;
    ar->file = tv_blob_ref(file);
    ar->lim = *lim;
    ar->budget = tv_unpack_budget(lim, file->len, &ar->by_ratio);
    tv_strmap_init(&ar->index);
    ar->raw = tv_container_sniff(file->data, file->len) == TV_CONTAINER_COMPRESSED;
    if (reader_open(ar, err) < 0)
        goto fail;
    struct archive_entry *e;
    int rc;
    while ((rc = next_header(ar, &e, err)) == 1) {
        if (add_member(ar, e, err) < 0)
            goto fail;
        ar->next++;
        struct member *mb = &ar->members[ar->n_members - 1];
        if (skip_data(ar, mb, err) < 0)
            goto fail;
        if (!mb->key)
            continue;
        uint64_t first;
        int put = tv_strmap_put(&ar->index, mb->key, strlen(mb->key), ar->n_members - 1,
                                &first);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory indexing the archive",
                         file->name);
            goto fail;
        }
        ar->members[put == 1 ? ar->n_members - 1 : first].copies++;
    }
    if (rc < 0)
        goto fail;
    if (tv_container_sniff(file->data, file->len) == TV_CONTAINER_ZIP &&
        !zip_has_end_record(file)) {
        if (ar->n_members)
            tv_error_set(err, TV_ERR_DATA, "%s: truncated zip: no central directory after "
                         "member '%.200s' (member %zu)", file->name,
                         ar->members[ar->n_members - 1].name, ar->n_members);
        else
            tv_error_set(err, TV_ERR_DATA, "%s: truncated zip: no central directory",
                         file->name);
        goto fail;
    }
    if (ar->n_members && !(ar->sorted = tv_malloc(ar->n_members * sizeof *ar->sorted))) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory indexing the archive", file->name);
        goto fail;
    }
    for (size_t i = 0; i < ar->n_members; i++)
        if (ar->members[i].key)
            ar->sorted[ar->n_sorted++] = (struct sorted_key){ar->members[i].key, i};
    if (ar->n_sorted > 1) /* an empty archive has no array at all */
        qsort(ar->sorted, ar->n_sorted, sizeof *ar->sorted, cmp_sorted);
    if (ar->raw && archive_format(ar->reader) != ARCHIVE_FORMAT_RAW)
        ar->raw = false; /* a compressed tar */
    reader_close(ar);
    return ar;
fail:
    tv_archive_free(ar);
    return NULL;
}

void tv_archive_free(tv_archive *ar)
{
    if (!ar || --ar->refs > 0)
        return;
    reader_close(ar);
    for (size_t i = 0; i < ar->n_members; i++) {
        tv_free(ar->members[i].name);
        tv_free(ar->members[i].key);
        tv_free(ar->members[i].refusal);
    }
    tv_free(ar->members);
    tv_free(ar->sorted);
    tv_strmap_release(&ar->index);
    tv_blob_unref(ar->file);
    tv_free(ar);
}

size_t tv_archive_member_count(const tv_archive *ar)
{
    return ar->n_members;
}

const char *tv_archive_member_name(const tv_archive *ar, size_t i)
{
    return i < ar->n_members ? ar->members[i].name : NULL;
}

const char *tv_archive_name(const tv_archive *ar)
{
    return ar->file->name;
}

/* ---- reading a member ------------------------------------------------------------------ */

/* Positions the reader at the data of member idx; *sparse tells whether it has holes. */
static int seek_member(tv_archive *ar, size_t idx, bool *sparse, tv_error *err)
{
    if (!ar->reader || ar->next > idx) {
        if (reader_open(ar, err) < 0)
            return -1;
    }
    struct archive_entry *e;
    while (ar->next <= idx) {
        int rc = next_header(ar, &e, err);
        if (rc == 0)
            rc = tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s' is no longer there on a "
                              "second reading", ar->file->name, ar->members[idx].name);
        if (rc < 0)
            goto fail;
        size_t at = ar->next++;
        if (at < idx && skip_data(ar, &ar->members[at], err) < 0)
            goto fail;
    }
    const char *name = archive_entry_pathname(e);
    if (!name)
        name = archive_entry_pathname_utf8(e);
    if (!name || strcmp(name, ar->members[idx].name) != 0) {
        tv_error_set(err, TV_ERR_DATA, "%s: member %zu reads as '%.200s' the second time, not "
                     "'%.200s'", ar->file->name, idx + 1, name ? name : "?",
                     ar->members[idx].name);
        goto fail;
    }
    *sparse = archive_entry_sparse_count(e) > 0;
    return 0;
fail:
    reader_close(ar);
    return -1;
}

static int member_cap_error(const tv_archive *ar, const struct member *mb, uint64_t bytes,
                            bool known, tv_error *err)
{
    return tv_error_set(err, TV_ERR_LIMIT,
                        "%s: member '%.200s' %s %llu bytes, past the cap of %llu bytes on one "
                        "decompressed member (max_member_bytes, --max-member-bytes)%s",
                        ar->file->name, mb->name, known ? "is" : "expands past",
                        (unsigned long long)bytes,
                        (unsigned long long)ar->lim.max_member_bytes,
                        known ? "" : "; a decompression bomb?");
}

/* Whether another n bytes may be held in memory for member mb. */
static int check_room(const tv_archive *ar, const struct member *mb, uint64_t size, bool known,
                      tv_error *err)
{
    if (size > ar->lim.max_member_bytes)
        return member_cap_error(ar, mb, known ? size : ar->lim.max_member_bytes, known, err);
    uint64_t total;
    if (!tv_add_u64_fits(ar->held, size, &total) || total > ar->budget)
        return over_budget(ar, mb->name, err);
    return 0;
}

/* Reads the data of member idx (the reader stands at it) into a blob called name.
   sparse: the member has holes (a GNU or pax sparse file), so it is never a view. */
static tv_blob *read_data(tv_archive *ar, size_t idx, bool sparse, const char *name,
                          tv_error *err)
{
    struct member *mb = &ar->members[idx];
    uint8_t *buf = NULL;
    uint64_t cap = 0, end = 0;
    const void *block;
    size_t len;
    la_int64_t off;
    int r;
    if (mb->size_known && mb->size > SIZE_MAX - 1) {
        member_cap_error(ar, mb, mb->size, true, err);
        goto fail;
    }
    if (mb->size_known) {
        if (check_room(ar, mb, mb->size, true, err) < 0)
            goto fail;
    }
    bool first = true;
    while ((r = archive_read_data_block(ar->reader, &block, &len, &off)) == ARCHIVE_OK) {
        if (off < 0) {
            tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s': a block at a negative offset",
                         ar->file->name, mb->name);
            goto fail;
        }
        const uint8_t *p = block;
        const uint8_t *lo = ar->file->data, *hi = lo + ar->file->len;
        if (first && off == 0 && mb->size_known && mb->size > 0 && !sparse &&
            !ar->compressed && p >= lo && p < hi && mb->size <= (uint64_t)(hi - p)) {
            /* libarchive cannot write into the read-only mapping, so a block inside it
               is the member's bytes untouched; a stored member's bytes are contiguous.
               The whole member in place: a view, no copy and no CRC check (a plain file
               has none either). The reader skips the rest when it moves on. */
            ar->next = idx + 1;
            return tv_blob_view(ar->file, p, (size_t)mb->size, name, err);
        }
        first = false;
        uint64_t upto;
        if (!tv_add_u64_fits((uint64_t)off, len, &upto) || upto > SIZE_MAX - 1) {
            member_cap_error(ar, mb, UINT64_MAX, false, err);
            goto fail;
        }
        if (mb->size_known && upto > mb->size) {
            tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s' holds more than the %llu bytes "
                         "its header says", ar->file->name, mb->name,
                         (unsigned long long)mb->size);
            goto fail;
        }
        if (upto > cap) {
            uint64_t want = mb->size_known ? mb->size : (cap * 2 > upto ? cap * 2 : upto);
            if (!mb->size_known && want < 65536)
                want = 65536;
            if (!mb->size_known && check_room(ar, mb, upto, false, err) < 0)
                goto fail;
            if (!mb->size_known && want > ar->lim.max_member_bytes)
                want = ar->lim.max_member_bytes;
            if (want < upto)
                want = upto;
            uint8_t *bigger = tv_realloc(buf, (size_t)want);
            if (!bigger) {
                tv_error_set(err, TV_ERR_NOMEM, "%s: member '%.200s': out of memory for %llu "
                             "bytes", ar->file->name, mb->name, (unsigned long long)want);
                goto fail;
            }
            buf = bigger;
            cap = want;
        }
        if ((uint64_t)off > end)
            memset(buf + end, 0, (size_t)((uint64_t)off - end)); /* a hole of a sparse file */
        if (len)
            memcpy(buf + off, p, len);
        if (upto > end)
            end = upto;
        if (stream_over_budget(ar)) {
            over_budget(ar, mb->name, err);
            goto fail;
        }
    }
    if (r != ARCHIVE_EOF) {
        tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s': damaged or truncated after %llu "
                     "bytes: %s", ar->file->name, mb->name, (unsigned long long)end,
                     la_error(ar->reader));
        goto fail;
    }
    uint64_t size = mb->size_known ? mb->size : end;
    if (size > cap) { /* a member that ends in a hole, or an empty one */
        uint8_t *bigger = tv_realloc(buf, (size_t)size + 1);
        if (!bigger) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: member '%.200s': out of memory",
                         ar->file->name, mb->name);
            goto fail;
        }
        buf = bigger;
    }
    if (size > end)
        memset(buf + end, 0, (size_t)(size - end));
    ar->held += size;
    ar->next = idx + 1;
    return tv_blob_adopt(buf, (size_t)size, name, err);
fail:
    tv_free(buf);
    reader_close(ar);
    return NULL;
}

/* The member called name: its index, or -1 with err. */
static long find_member(const tv_archive *ar, const char *name, bool want_file, tv_error *err)
{
    bool absolute, dotdot;
    char *key = make_key(name, &absolute, &dotdot);
    long idx = -1;
    if (!key) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", ar->file->name);
        return -1;
    }
    uint64_t at;
    if (absolute || dotdot) {
        tv_error_set(err, TV_ERR_USAGE, "%s: '%.200s' is not a name inside the archive (%s)",
                     ar->file->name, name, dotdot ? "'..'" : "absolute");
    } else if (!key[0] || !tv_strmap_get(&ar->index, key, strlen(key), &at)) {
        tv_error_set(err, TV_ERR_NOTFOUND, "%s: no member '%.200s' in the archive",
                     ar->file->name, name);
    } else {
        const struct member *mb = &ar->members[at];
        /* Any copy refused (config.json next to /config.json) refuses the name. */
        const struct member *refused = mb->refusal ? mb : NULL;
        for (size_t i = at + 1; i < ar->n_members && mb->copies > 1 && !refused; i++)
            if (ar->members[i].key && strcmp(ar->members[i].key, key) == 0 &&
                ar->members[i].refusal)
                refused = &ar->members[i];
        if (refused)
            tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s' is refused: %s",
                         ar->file->name, refused->name, refused->refusal);
        else if (mb->copies > 1)
            tv_error_set(err, TV_ERR_DATA, "%s: member '%.200s' is stored %u times; refusing "
                         "to guess which copy is meant", ar->file->name, mb->name, mb->copies);
        else if (want_file && mb->is_dir)
            tv_error_set(err, TV_ERR_USAGE, "%s: member '%.200s' is a folder", ar->file->name,
                         mb->name);
        else
            idx = (long)at;
    }
    tv_free(key);
    return idx;
}

static tv_blob *read_member_at(tv_archive *ar, size_t idx, const char *name, tv_error *err)
{
    bool sparse;
    if (seek_member(ar, idx, &sparse, err) < 0)
        return NULL;
    return read_data(ar, idx, sparse, name, err);
}

tv_blob *tv_archive_read(tv_archive *ar, const char *name, tv_error *err)
{
    long idx = find_member(ar, name, true, err);
    if (idx < 0)
        return NULL;
    const char *key = ar->members[idx].key;
    size_t n = strlen(ar->file->name) + 1 + strlen(key) + 1;
    char *display = tv_malloc(n);
    if (!display) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", ar->file->name);
        return NULL;
    }
    snprintf(display, n, "%s:%s", ar->file->name, key);
    tv_blob *blob = read_member_at(ar, (size_t)idx, display, err);
    tv_free(display);
    return blob;
}

/* ---- a folder inside an archive ------------------------------------------------------- */

struct archive_dir {
    struct tv_dir base;
    tv_archive *ar;
    char *prefix;   /* "" or "folder/", in key form */
};

/* prefix + name in a new string, or NULL. */
static char *join_key(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = tv_malloc(a + b + 1);
    if (s) {
        memcpy(s, prefix, a);
        memcpy(s + a, name, b + 1);
    }
    return s;
}

/* Without allocating, so that running out of memory cannot pass for a missing file. */
static bool ad_has(tv_dir *d, const char *name)
{
    struct archive_dir *ad = (struct archive_dir *)d;
    char joined[2 * TV_ARCHIVE_MAX_NAME + 2], key[sizeof joined];
    if (strlen(ad->prefix) + strlen(name) >= sizeof joined)
        return true; /* no member is that long: opening it says so */
    size_t plen = strlen(ad->prefix);
    memcpy(joined, ad->prefix, plen);
    memcpy(joined + plen, name, strlen(name) + 1);
    bool absolute, dotdot;
    normalize(joined, key, &absolute, &dotdot);
    uint64_t at;
    /* A name that is refused (a link, "..") still counts: opening it says why. */
    return key[0] && tv_strmap_get(&ad->ar->index, key, strlen(key), &at) &&
           !ad->ar->members[at].is_dir;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int ad_list(tv_dir *d, const char *suffix, char ***names, size_t *count, tv_error *err)
{
    struct archive_dir *ad = (struct archive_dir *)d;
    const tv_archive *ar = ad->ar;
    size_t plen = strlen(ad->prefix), cap = 0;
    size_t lo = 0, hi = ar->n_sorted;
    while (lo < hi) { /* the first key >= the prefix */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ar->sorted[mid].key, ad->prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t s = lo; s < ar->n_sorted && strncmp(ar->sorted[s].key, ad->prefix, plen) == 0;
         s++) {
        size_t i = ar->sorted[s].member;
        const struct member *mb = &ar->members[i];
        if (mb->is_dir)
            continue;
        const char *rest = mb->key + plen;
        uint64_t first;
        if (!rest[0] || strchr(rest, '/') || !ends_with(rest, suffix) ||
            !tv_strmap_get(&ar->index, mb->key, strlen(mb->key), &first) || first != i)
            continue;
        char *copy = tv_strdup(rest);
        if (!copy || tv_grow((void **)names, &cap, *count + 1, sizeof **names, err) < 0) {
            tv_free(copy);
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory listing the archive",
                                d->name);
        }
        (*names)[(*count)++] = copy;
    }
    return 0;
}

static tv_blob *ad_open(tv_dir *d, const char *name, tv_error *err)
{
    struct archive_dir *ad = (struct archive_dir *)d;
    char *joined = join_key(ad->prefix, name);
    if (!joined) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", d->name);
        return NULL;
    }
    tv_blob *blob = tv_archive_read(ad->ar, joined, err);
    tv_free(joined);
    return blob;
}

static void ad_release(tv_dir *d)
{
    struct archive_dir *ad = (struct archive_dir *)d;
    tv_free(ad->prefix);
    tv_archive_free(ad->ar);
}

static const struct tv_dir_ops archive_dir_ops = {
    .has = ad_has,
    .list = ad_list,
    .open = ad_open,
    .release = ad_release,
};

tv_dir *tv_archive_dir(tv_archive *ar, const char *folder, tv_error *err)
{
    bool absolute, dotdot;
    struct archive_dir *ad = tv_calloc(1, sizeof *ad);
    char *key = make_key(folder, &absolute, &dotdot);
    if (!ad || !key)
        goto oom;
    if (absolute || dotdot) {
        tv_error_set(err, TV_ERR_USAGE, "%s: '%.200s' is not a folder inside the archive (%s)",
                     ar->file->name, folder, dotdot ? "'..'" : "absolute");
        goto fail;
    }
    size_t klen = strlen(key), nlen = strlen(ar->file->name);
    ad->prefix = tv_malloc(klen + 2);
    ad->base.name = tv_malloc(nlen + 1 + klen + 1);
    if (!ad->prefix || !ad->base.name)
        goto oom;
    snprintf(ad->prefix, klen + 2, "%s%s", key, klen ? "/" : "");
    snprintf(ad->base.name, nlen + 1 + klen + 1, klen ? "%s:%s" : "%s", ar->file->name, key);
    ad->base.ops = &archive_dir_ops;
    ad->ar = ar;
    ar->refs++;
    tv_free(key);
    return &ad->base;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", ar->file->name);
fail:
    if (ad) {
        tv_free(ad->prefix);
        tv_free(ad->base.name);
    }
    tv_free(ad);
    tv_free(key);
    return NULL;
}

/* Whether key names a folder: a folder entry, or the start of other members' names. */
static bool is_folder(const tv_archive *ar, const char *key)
{
    size_t n = strlen(key);
    if (n == 0)
        return true;
    for (size_t i = 0; i < ar->n_members; i++) {
        const char *k = ar->members[i].key;
        if (!k)
            continue;
        if (strcmp(k, key) == 0 && ar->members[i].is_dir)
            return true;
        if (strncmp(k, key, n) == 0 && k[n] == '/')
            return true;
    }
    return false;
}

/* ---- reading a model out of a container ---------------------------------------------- */

/* Reads one file that came out of a container. hint is the name to probe with (the
   name without ".gz"); siblings, when not NULL, is the folder it sits in (a
   safetensors index reads its shards from there). */
static int read_inner(tv_model *m, tv_blob *blob, const char *relative, const char *hint,
                      tv_dir *siblings, tv_error *err)
{
    int score = 0;
    const struct tv_format *fmt = tv_format_detect_named(blob, hint, &score, NULL);
    if (!fmt && tv_container_sniff(blob->data, blob->len) != TV_CONTAINER_NONE)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: an archive or compressed file inside "
                            "another is not opened (unpack the outer one first)", blob->name);
    if (!fmt)
        fmt = tv_format_detect_named(blob, hint, &score, err);
    if (!fmt)
        return -1;
    if (fmt == &tv_format_safetensors_index && siblings) {
        if (tv_model_add_blob(m, blob, err) < 0 || tv_model_add_file(m, relative, err) < 0)
            return -1;
        if (strcmp(m->kind, "unknown") == 0)
            m->kind = fmt->label;
        return tv_safetensors_read_index(m, blob, siblings, err);
    }
    return tv_model_read_blob(m, blob, relative, fmt, err);
}

/* The name of a file with its compression suffix dropped ("a.txt.gz" -> "a.txt"). */
static char *strip_suffix(const char *name)
{
    static const char *const suffixes[] = {".gz", ".gzip", ".zst", ".zstd", ".xz", ".bz2",
                                           ".lz4"};
    size_t n = strlen(name);
    for (size_t i = 0; i < TV_ARRAY_SIZE(suffixes); i++)
        if (ends_with(name, suffixes[i]) && n > strlen(suffixes[i]))
            return tv_strndup(name, n - strlen(suffixes[i]));
    return tv_strdup(name);
}

static int read_compressed_file(tv_model *m, tv_blob *inner, const char *relative,
                                tv_error *err)
{
    char *hint = strip_suffix(inner->name);
    int rc = hint ? read_inner(m, inner, relative, hint, NULL, err)
                  : tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", inner->name);
    tv_free(hint);
    return rc;
}

/* Lists up to a few names into out for a message. */
static void list_names(char *out, size_t cap, const char *const *names, size_t count,
                       const char *suffix)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count && i < 8 && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%.100s%s", i ? ", " : "", names[i],
                                 suffix);
    if (count > 8 && used < cap)
        snprintf(out + used, cap - used, ", ... (%zu in all)", count);
}

/* The top-level folders of the archive that hold model files. */
static int model_folders(tv_model *m, tv_archive *ar, char ***found, size_t *n_found,
                         tv_error *err)
{
    (void)m;
    struct tv_strmap seen;
    tv_strmap_init(&seen);
    size_t cap = 0;
    int rc = -1;
    *found = NULL;
    *n_found = 0;
    for (size_t i = 0; i < ar->n_members; i++) {
        const char *key = ar->members[i].key;
        const char *slash = key ? strchr(key, '/') : NULL;
        size_t n = slash ? (size_t)(slash - key) : key && ar->members[i].is_dir ? strlen(key) : 0;
        if (!n)
            continue;
        int fresh = tv_strmap_put(&seen, key, n, i, NULL);
        if (fresh < 0)
            goto oom;
        if (!fresh)
            continue;
        char *folder = tv_strndup(key, n);
        if (!folder)
            goto oom;
        tv_dir *d = tv_archive_dir(ar, folder, err);
        int has = d ? tv_dir_has_model_files(d, err) : -1;
        tv_dir_free(d);
        if (has < 0 || (has == 1 && tv_grow((void **)found, &cap, *n_found + 1, sizeof **found,
                                            err) < 0)) {
            tv_free(folder);
            goto out;
        }
        if (has == 1)
            (*found)[(*n_found)++] = folder;
        else
            tv_free(folder);
    }
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", ar->file->name);
out:
    tv_strmap_release(&seen);
    if (rc < 0) {
        tv_dir_list_free(*found, *n_found);
        *found = NULL;
        *n_found = 0;
    }
    return rc;
}

/* The model in a whole archive: a model folder at the root, else in the one top-level
   folder that has model files, else the archive's only file. */
static int read_archive_model(tv_model *m, tv_archive *ar, tv_error *err)
{
    int rc = -1;
    char **folders = NULL;
    size_t n_folders = 0;
    tv_dir *dir = tv_archive_dir(ar, "", err);
    int has = dir ? tv_dir_has_model_files(dir, err) : -1;
    if (has < 0)
        goto out;
    if (has == 0) {
        tv_dir_free(dir);
        dir = NULL;
        if (model_folders(m, ar, &folders, &n_folders, err) < 0)
            goto out;
        if (n_folders > 1) {
            char list[1024];
            list_names(list, sizeof list, (const char *const *)folders, n_folders, "/");
            tv_error_set(err, TV_ERR_USAGE, "%s: %zu folders hold a model (%s): name one as "
                         "%s:%s/", ar->file->name, n_folders, list, ar->file->name, folders[0]);
            goto out;
        }
        if (n_folders == 1 && !(dir = tv_archive_dir(ar, folders[0], err)))
            goto out;
    }
    if (dir) {
        rc = tv_model_read_dir(m, dir, err);
        goto out;
    }
    /* No model folder: the archive's only file (a zipped GloVe text, an .npz of one
       array), or an error that lists what is there. */
    const char *files[9] = {NULL};
    size_t n_files = 0;
    for (size_t i = 0; i < ar->n_members; i++)
        if (ar->members[i].key && !ar->members[i].is_dir) {
            if (n_files < TV_ARRAY_SIZE(files))
                files[n_files] = ar->members[i].name;
            n_files++;
        }
    if (n_files == 1) {
        for (size_t i = 0; i < ar->n_members; i++)
            if (ar->members[i].key && !ar->members[i].is_dir) {
                tv_blob *blob = tv_archive_read(ar, ar->members[i].key, err);
                rc = blob ? read_inner(m, blob, ar->members[i].key, blob->name, NULL, err) : -1;
                tv_blob_unref(blob);
                break;
            }
        goto out;
    }
    char list[300];
    list_names(list, sizeof list, files, n_files < 4 ? n_files : 4, "");
    tv_error_set(err, TV_ERR_NOTFOUND,
                 "%s: no model folder in the archive (config.json, tokenizer.json, vocab.json, "
                 "vocab.txt, tokenizer.model, *.safetensors or *.gguf at its root or in a "
                 "top-level folder), and %zu files (%s%s): name one as ARCHIVE:MEMBER",
                 ar->file->name, n_files, n_files ? list : "none", n_files > 4 ? ", ..." : "");
out:
    tv_dir_free(dir);
    tv_dir_list_free(folders, n_folders);
    return rc;
}

/* Whether a gzip file holds a tar (its first 512 bytes are a tar header). */
static bool gzip_holds_tar(const tv_blob *file)
{
    uint8_t head[512];
    return tv_gzip_peek(file->data, file->len, head, sizeof head) == sizeof head &&
           tv_tar_header_valid(head, sizeof head);
}

int tv_model_read_container(tv_model *m, tv_blob *file, enum tv_container kind,
                            const char *relative, tv_error *err)
{
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &m->opt);
    if (kind == TV_CONTAINER_GZIP && !gzip_holds_tar(file)) {
        tv_blob *inner = tv_gzip_inflate(file, file->name, &lim, err);
        int rc = inner ? read_compressed_file(m, inner, relative, err) : -1;
        tv_blob_unref(inner);
        return rc;
    }
    tv_archive *ar = tv_archive_open(file, &lim, err);
    if (!ar)
        return -1;
    int rc;
    if (ar->raw) {
        tv_blob *inner = ar->n_members == 1 ? read_member_at(ar, 0, file->name, err) : NULL;
        if (ar->n_members != 1)
            tv_error_set(err, TV_ERR_DATA, "%s: a compressed stream with %zu parts",
                         file->name, ar->n_members);
        rc = inner ? read_compressed_file(m, inner, relative, err) : -1;
        tv_blob_unref(inner);
    } else {
        rc = read_archive_model(m, ar, err);
    }
    tv_archive_free(ar);
    return rc;
}

int tv_model_read_member_path(tv_model *m, const char *path, tv_error *err)
{
    const char *colon = NULL;
    char *archive_path = NULL;
    for (const char *c = strchr(path, ':'); c; c = strchr(c + 1, ':')) {
        if (c == path)
            continue;
        archive_path = tv_strndup(path, (size_t)(c - path));
        if (!archive_path)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        if (tv_path_kind(archive_path) == 0) {
            colon = c;
            break;
        }
        tv_free(archive_path);
        archive_path = NULL;
    }
    if (!colon)
        return 0;
    const char *inner = colon + 1;
    int rc = -1;
    tv_archive *ar = NULL;
    tv_dir *dir = NULL;
    tv_blob *blob = NULL;
    tv_blob *file = tv_blob_map_file(archive_path, archive_path, err);
    if (!file)
        goto out;
    enum tv_container kind = tv_container_sniff(file->data, file->len);
    if (kind == TV_CONTAINER_NONE || (kind == TV_CONTAINER_GZIP && !gzip_holds_tar(file))) {
        tv_error_set(err, TV_ERR_USAGE, "%s: not an archive (tar or zip), so '%s' cannot name "
                     "a member of it", archive_path, path);
        goto out;
    }
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &m->opt);
    if (!(ar = tv_archive_open(file, &lim, err)))
        goto out;
    if (ar->raw) {
        tv_error_set(err, TV_ERR_USAGE, "%s: a compressed file, not an archive, so '%s' cannot "
                     "name a member of it", archive_path, path);
        goto out;
    }
    bool absolute, dotdot;
    char *key = make_key(inner, &absolute, &dotdot);
    if (!key) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    bool folder = !absolute && !dotdot && (ends_with(inner, "/") || is_folder(ar, key));
    if (folder) {
        if ((dir = tv_archive_dir(ar, key, err)))
            rc = tv_model_read_dir(m, dir, err);
        tv_free(key);
        goto out;
    }
    /* One file; its folder is where a safetensors index finds its shards. */
    const char *slash = strrchr(key, '/');
    char *parent = tv_strndup(key, slash ? (size_t)(slash - key) : 0);
    if (parent && !absolute && !dotdot)
        dir = tv_archive_dir(ar, parent, err);
    tv_free(parent);
    if ((blob = tv_archive_read(ar, inner, err)))
        rc = read_inner(m, blob, slash ? slash + 1 : key, blob->name, dir, err);
    tv_free(key);
out:
    tv_blob_unref(blob);
    tv_dir_free(dir);
    tv_archive_free(ar);
    tv_blob_unref(file);
    tv_free(archive_path);
    return rc < 0 ? -1 : 1;
}
