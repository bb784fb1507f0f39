/*
 * gzip through zlib: one gzipped file inflated into a heap blob (glove.6B.50d.txt.gz,
 * vectors.bin.gz, model.safetensors.gz, tokenizer.json.gz), and the deflating side
 * of tv_out for writers that produce `out.txt.gz`.
 *
 * The gzip format (RFC 1952), as far as it matters here:
 *   1. a file is one or more members back to back (`cat a.gz b.gz` is valid);
 *   2. a member is a 10-byte header (1f 8b 08 flags mtime xfl os), optional extra
 *      field, name, comment and header CRC as the flags say, a raw deflate stream,
 *      then CRC-32 and ISIZE (the member's size mod 2^32), both little-endian;
 *   3. tape archivers pad files with zero bytes after the last member.
 * zlib (inflateInit2 with 16 + MAX_WBITS) parses 2 and checks the CRC and ISIZE; this
 * file adds 1 and 3, and bounds the output: ISIZE is a hint, never a promise.
 */
#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "sources.h"
#include "internal.h"

/* zlib allocates through the library's allocator, so that the failing-allocator
   tests reach it too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    uint64_t bytes;
    if (!tv_mul_u64_fits(items, size, &bytes) || bytes > SIZE_MAX)
        return Z_NULL;
    return tv_malloc((size_t)bytes);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    tv_free(p);
}

/* The magic, deflate as the method, no reserved flag bit, and XFL 0, 2 or 4 (what
   every gzip writer puts there): a safetensors file whose header length happens to
   start 1f 8b 08 has '{' at byte 8. */
bool tv_gzip_magic(const uint8_t *buf, size_t len)
{
    return len >= 10 && buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 8 &&
           (buf[3] & 0xe0) == 0 && (buf[8] == 0 || buf[8] == 2 || buf[8] == 4);
}

/* zlib counts in uInt: large inputs are fed a gigabyte at a time. */
#define Z_CHUNK (1u << 30)

static void feed(z_stream *zs, const uint8_t *end)
{
    if (zs->avail_in == 0 && zs->next_in < end) {
        size_t left = (size_t)(end - zs->next_in);
        zs->avail_in = left > Z_CHUNK ? Z_CHUNK : (uInt)left;
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

tv_blob *tv_gzip_inflate(const tv_blob *gz, const char *name,
                         const struct tv_unpack_limits *lim, tv_error *err)
{
    z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
    uint8_t *out = NULL;
    tv_blob *blob = NULL;
    bool by_ratio = false;
    uint64_t budget = tv_unpack_budget(lim, gz->len, &by_ratio);
    bool member_cap = lim->max_member_bytes < budget;
    if (member_cap)
        budget = lim->max_member_bytes;
    if (budget > SIZE_MAX - 1)
        budget = SIZE_MAX - 1;
    const uint8_t *in = gz->data, *in_end = gz->data + gz->len;
    unsigned members = 0;

    int zrc = inflateInit2(&zs, 16 + MAX_WBITS);
    if (zrc != Z_OK) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory starting zlib", name);
        return NULL;
    }
    /* First guess at the size: the last member's ISIZE when deflate could really
       expand the file that much (at most 1032:1), else twice the file. */
    uint64_t cap = gz->len >= 4 ? (uint64_t)in_end[-4] | (uint64_t)in_end[-3] << 8 |
                                      (uint64_t)in_end[-2] << 16 | (uint64_t)in_end[-1] << 24
                                : 0;
    if (cap == 0 || cap / 1032 > gz->len)
        cap = (uint64_t)gz->len * 2;
    if (cap < 65536)
        cap = 65536;
    if (cap > budget + 1)
        cap = budget + 1;
    out = tv_malloc((size_t)cap);
    if (!out) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for %llu decompressed bytes", name,
                     (unsigned long long)cap);
        goto out;
    }
    zs.next_in = (Bytef *)in;
    zs.next_out = out;
    uint64_t used = 0;
    for (;;) {
        feed(&zs, in_end);
        if (zs.avail_out == 0) {
            used = (uint64_t)(zs.next_out - out);
            if (used > budget) {
                if (by_ratio && !member_cap)
                    tv_error_set(err, TV_ERR_LIMIT,
                                 "%s: expands past %llu bytes (the expansion ratio cap: %llu "
                                 "times its own %zu bytes, at least %llu; max_expand_ratio, "
                                 "--max-expand-ratio); a decompression bomb?", name,
                                 (unsigned long long)budget,
                                 (unsigned long long)lim->max_ratio, gz->len,
                                 (unsigned long long)TV_UNPACK_RATIO_FLOOR);
                else
                    tv_error_set(err, TV_ERR_LIMIT,
                                 "%s: expands past %llu bytes, the cap on %s (%s); a "
                                 "decompression bomb?", name, (unsigned long long)budget,
                                 member_cap ? "one decompressed file" : "decompressed bytes",
                                 member_cap ? "max_member_bytes, --max-member-bytes"
                                            : "max_unpacked_bytes, --max-unpacked-bytes");
                goto out;
            }
            uint64_t grown = cap * 2 > budget + 1 ? budget + 1 : cap * 2;
            uint8_t *bigger = tv_realloc(out, (size_t)grown);
            if (!bigger) {
                tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for %llu decompressed "
                             "bytes", name, (unsigned long long)grown);
                goto out;
            }
            out = bigger;
            cap = grown;
            zs.next_out = out + used;
        }
        uint64_t room = cap - (uint64_t)(zs.next_out - out);
        zs.avail_out = room > Z_CHUNK ? Z_CHUNK : (uInt)room;
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) {
            members++;
            const uint8_t *rest = zs.next_in;
            size_t left = (size_t)(in_end - rest);
            if (left == 0 || all_zero(rest, left))
                break;
            if (!tv_gzip_magic(rest, left)) {
                tv_error_set(err, TV_ERR_DATA, "%s: %zu bytes after gzip member %u (at byte "
                             "%zu) are not another gzip member", name, left, members,
                             (size_t)(rest - in));
                goto out;
            }
            inflateReset(&zs);
            continue;
        }
        if (zrc == Z_OK)
            continue;
        if (zrc == Z_BUF_ERROR && (zs.avail_out == 0 || zs.next_in < in_end))
            continue; /* the output was full, or the next input chunk is due */
        used = (uint64_t)(zs.next_out - out);
        if (zrc == Z_BUF_ERROR)
            tv_error_set(err, TV_ERR_DATA, "%s: truncated: gzip member %u ends early, after "
                         "%zu compressed and %llu decompressed bytes", name, members + 1,
                         gz->len, (unsigned long long)used);
        else if (zrc == Z_MEM_ERROR)
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory in zlib", name);
        else
            tv_error_set(err, TV_ERR_DATA, "%s: damaged gzip data in member %u near "
                         "compressed byte %zu (%llu bytes decompressed): %s", name,
                         members + 1, (size_t)(zs.next_in - in), (unsigned long long)used,
                         zs.msg ? zs.msg : "inflate failed");
        goto out;
    }
    used = (uint64_t)(zs.next_out - out);
    if (used > budget) {
        tv_error_set(err, TV_ERR_LIMIT, "%s: expands to %llu bytes, past the cap of %llu",
                     name, (unsigned long long)used, (unsigned long long)budget);
        goto out;
    }
    blob = tv_blob_adopt(out, (size_t)used, name, err);
    out = NULL; /* adopted, or freed by tv_blob_adopt */
out:
    inflateEnd(&zs);
    tv_free(out);
    return blob;
}

size_t tv_gzip_peek(const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
    z_stream zs = {.zalloc = z_alloc, .zfree = z_free};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return 0;
    zs.next_in = (Bytef *)buf;
    zs.avail_in = len > Z_CHUNK ? Z_CHUNK : (uInt)len;
    zs.next_out = out;
    zs.avail_out = cap > Z_CHUNK ? Z_CHUNK : (uInt)cap;
    int zrc;
    do
        zrc = inflate(&zs, Z_SYNC_FLUSH);
    while (zrc == Z_OK && zs.avail_out > 0 && zs.avail_in > 0);
    size_t produced = zrc == Z_OK || zrc == Z_STREAM_END || zrc == Z_BUF_ERROR
                          ? (size_t)(zs.next_out - out)
                          : 0;
    inflateEnd(&zs);
    return produced;
}

/* ---- deflating output -------------------------------------------------------------- */

struct tv_deflater {
    z_stream zs;
    tv_sink_fn sink;
    void *sink_ctx;
    const char *name;   /* borrowed: the output's path */
    bool started;
    uint8_t buf[1u << 16];
};

struct tv_deflater *tv_deflater_new(int level, tv_sink_fn sink, void *sink_ctx,
                                    const char *name, tv_error *err)
{
    struct tv_deflater *z = tv_calloc(1, sizeof *z);
    if (!z) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory starting gzip output", name);
        return NULL;
    }
    z->zs.zalloc = z_alloc;
    z->zs.zfree = z_free;
    if (deflateInit2(&z->zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        tv_free(z);
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory starting gzip output", name);
        return NULL;
    }
    z->started = true;
    z->sink = sink;
    z->sink_ctx = sink_ctx;
    z->name = name;
    return z;
}

/* Runs deflate with flush over the pending input, handing every full buffer to the sink.
   Returns 0 when the input is consumed (and, for Z_FINISH, the trailer written). */
static int pump(struct tv_deflater *z, int flush, tv_error *err)
{
    for (;;) {
        z->zs.next_out = z->buf;
        z->zs.avail_out = sizeof z->buf;
        int zrc = deflate(&z->zs, flush);
        if (zrc == Z_STREAM_ERROR)
            return tv_error_set(err, TV_ERR_IO, "%s: gzip output failed", z->name);
        size_t n = sizeof z->buf - z->zs.avail_out;
        if (n && z->sink(z->sink_ctx, z->buf, n, err) < 0)
            return -1;
        if (flush == Z_FINISH ? zrc == Z_STREAM_END : z->zs.avail_out != 0)
            return 0;
    }
}

int tv_deflater_write(struct tv_deflater *z, const void *buf, size_t len, tv_error *err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        uInt n = len > Z_CHUNK ? Z_CHUNK : (uInt)len;
        z->zs.next_in = (Bytef *)p;
        z->zs.avail_in = n;
        if (pump(z, Z_NO_FLUSH, err) < 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

int tv_deflater_finish(struct tv_deflater *z, tv_error *err)
{
    z->zs.next_in = NULL;
    z->zs.avail_in = 0;
    return pump(z, Z_FINISH, err);
}

void tv_deflater_free(struct tv_deflater *z)
{
    if (!z)
        return;
    if (z->started)
        deflateEnd(&z->zs);
    tv_free(z);
}
