/*
 * A bounds-checked little-endian reader over a byte range. Every byte a binary
 * reader takes from a file goes through one of these; a read past the end fails
 * with "truncated" naming the file, the object and the offsets, and leaves the
 * cursor where it was.
 */
#ifndef TOKVEC_CURSOR_H
#define TOKVEC_CURSOR_H

#include <stdint.h>
#include <string.h>

struct tv_cursor {
    const uint8_t *base;   /* start of the file */
    size_t len;            /* bytes in the file */
    size_t pos;            /* next byte to read */
    const char *file;      /* for messages */
    tv_error *err;
};

static inline void tv_cursor_init(struct tv_cursor *c, const uint8_t *base, size_t len,
                                  const char *file, tv_error *err)
{
    c->base = base;
    c->len = len;
    c->pos = 0;
    c->file = file;
    c->err = err;
}

static inline size_t tv_cursor_remaining(const struct tv_cursor *c)
{
    return c->len - c->pos;
}

/* Fails with a message naming what was being read (what) when n bytes are not left. */
static inline int tv_cursor_need(struct tv_cursor *c, uint64_t n, const char *what)
{
    if (n > tv_cursor_remaining(c))
        return tv_error_set(c->err, TV_ERR_DATA,
                            "%s: truncated reading %s at offset %zu: needs %llu bytes, %zu left",
                            c->file, what, c->pos, (unsigned long long)n,
                            tv_cursor_remaining(c));
    return 0;
}

/* Returns a pointer to the next n bytes and advances, or NULL (err set). */
static inline const uint8_t *tv_cursor_bytes(struct tv_cursor *c, uint64_t n, const char *what)
{
    if (tv_cursor_need(c, n, what) < 0)
        return NULL;
    const uint8_t *p = c->base + c->pos;
    c->pos += (size_t)n;
    return p;
}

static inline int tv_cursor_u8(struct tv_cursor *c, uint8_t *out, const char *what)
{
    const uint8_t *p = tv_cursor_bytes(c, 1, what);
    if (!p)
        return -1;
    *out = p[0];
    return 0;
}

static inline uint16_t tv_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t tv_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tv_le64(const uint8_t *p)
{
    return (uint64_t)tv_le32(p) | (uint64_t)tv_le32(p + 4) << 32;
}

static inline int tv_cursor_u16(struct tv_cursor *c, uint16_t *out, const char *what)
{
    const uint8_t *p = tv_cursor_bytes(c, 2, what);
    if (!p)
        return -1;
    *out = tv_le16(p);
    return 0;
}

static inline int tv_cursor_u32(struct tv_cursor *c, uint32_t *out, const char *what)
{
    const uint8_t *p = tv_cursor_bytes(c, 4, what);
    if (!p)
        return -1;
    *out = tv_le32(p);
    return 0;
}

static inline int tv_cursor_u64(struct tv_cursor *c, uint64_t *out, const char *what)
{
    const uint8_t *p = tv_cursor_bytes(c, 8, what);
    if (!p)
        return -1;
    *out = tv_le64(p);
    return 0;
}

#endif
