/* JSON helpers on top of cJSON, and a tree-less scanner for probes. */
#include <math.h>
#include <string.h>

#include "internal.h"

#define TV_JSON_EXACT_MAX 9007199254740992.0 /* 2^53 */

size_t tv_utf8_valid_prefix(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return i;
        }
        if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

cJSON *tv_json_parse(const uint8_t *buf, size_t len, const char *file, tv_error *err)
{
    /* JSON text is UTF-8 (RFC 8259), as every reader of these files requires (Python's
       json, serde_json); cJSON does not check, and what it passes on must be text. */
    size_t bad = tv_utf8_valid_prefix(buf, len);
    if (bad < len) {
        tv_error_set(err, TV_ERR_DATA, "%s: not valid UTF-8 at byte %zu of %zu (byte 0x%02x)",
                     file, bad, len, buf[bad]);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, 0);
    if (!doc) {
        size_t at = end ? (size_t)(end - (const char *)buf) : 0;
        /* cJSON cannot tell a syntax error from a failed allocation; try a tiny parse
           to see whether the allocator still works. */
        cJSON *probe = cJSON_Parse("0");
        if (!probe) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory parsing %zu bytes of JSON", file,
                         len);
            return NULL;
        }
        cJSON_Delete(probe);
        tv_error_set(err, TV_ERR_DATA, "%s: invalid JSON near byte %zu of %zu", file, at, len);
        return NULL;
    }
    /* Only white space may follow the document: "{}{}" or "{} junk" is not JSON. */
    size_t at = (size_t)(end - (const char *)buf);
    for (size_t i = at; i < len; i++) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
            tv_error_set(err, TV_ERR_DATA, "%s: unexpected data after the JSON document at byte %zu of %zu",
                         file, i, len);
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}

int tv_json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double d = item->valuedouble;
    /* cJSON rounds 2^53 + 1 to 2^53, so 2^53 itself is refused: anything that
       reaches it may have been rounded. */
    if (!(d >= 0) || d >= TV_JSON_EXACT_MAX || floor(d) != d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

int tv_json_int(const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber(item))
        return -1;
    double d = item->valuedouble;
    if (!(d > -TV_JSON_EXACT_MAX) || d >= TV_JSON_EXACT_MAX || floor(d) != d)
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* ---- structural scanner ------------------------------------------------------ */

struct scan {
    const uint8_t *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Skips a string starting at '"'; returns 0 or -1. */
static int skip_string(struct scan *s)
{
    s->p++;
    while (s->p < s->end) {
        if (*s->p == '\\') {
            s->p += 2;
            continue;
        }
        if (*s->p == '"') {
            s->p++;
            return 0;
        }
        s->p++;
    }
    return -1;
}

/* Skips one value (iteratively, bounded depth); returns 0 or -1. */
static int skip_value(struct scan *s)
{
    int depth = 0;
    do {
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        uint8_t c = *s->p;
        if (c == '"') {
            if (skip_string(s) < 0)
                return -1;
        } else if (c == '{' || c == '[') {
            if (++depth > TV_JSON_MAX_DEPTH)
                return -1;
            s->p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return -1;
            depth--;
            s->p++;
        } else if (c == ',' || c == ':') {
            if (depth == 0)
                return -1;
            s->p++;
        } else {
            while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' &&
                   *s->p != ' ' && *s->p != '\n' && *s->p != '\r' && *s->p != '\t' &&
                   *s->p != ':')
                s->p++;
        }
    } while (depth > 0);
    return 0;
}

int tv_json_top_keys(const uint8_t *buf, size_t len,
                     int (*fn)(const char *key, size_t key_len, char value_start, void *ctx),
                     void *ctx)
{
    struct scan s = {buf, buf + len};
    /* A UTF-8 byte order mark is tolerated. */
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        s.p += 3;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    s.p++;
    for (;;) {
        skip_ws(&s);
        if (s.p >= s.end)
            return -1;
        if (*s.p == '}')
            return 0;
        if (*s.p != '"')
            return -1;
        const uint8_t *key = s.p + 1;
        if (skip_string(&s) < 0)
            return -1;
        size_t key_len = (size_t)(s.p - 1 - key);
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':')
            return -1;
        s.p++;
        skip_ws(&s);
        if (s.p >= s.end)
            return -1;
        int rc = fn((const char *)key, key_len, (char)*s.p, ctx);
        if (rc)
            return rc;
        if (skip_value(&s) < 0)
            return -1;
        skip_ws(&s);
        if (s.p < s.end && *s.p == ',')
            s.p++;
    }
}

struct has_key {
    const char *key;
    size_t len;
};

static int match_key(const char *key, size_t key_len, char value_start, void *ctx)
{
    (void)value_start;
    const struct has_key *h = ctx;
    return key_len == h->len && memcmp(key, h->key, key_len) == 0;
}

bool tv_json_has_top_key(const uint8_t *buf, size_t len, const char *key)
{
    struct has_key h = {key, strlen(key)};
    return tv_json_top_keys(buf, len, match_key, &h) == 1;
}
