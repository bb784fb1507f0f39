/* Error contexts owned by the caller: a status code plus a message. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int tv_error_set(tv_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

void tv_error_prefix(tv_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Truncation is fine: the start of a message says the most. */
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = sizeof err->message - n - 3;
    size_t old_len = strnlen(old, sizeof old);
    if (old_len > rest)
        old_len = rest;
    memcpy(err->message + n + 2, old, old_len);
    err->message[n + 2 + old_len] = '\0';
}

void tv_error_clear(tv_error *err)
{
    if (!err)
        return;
    err->code = TV_OK;
    err->message[0] = '\0';
}

const char *tv_status_name(int code)
{
    switch (code) {
    case TV_OK: return "ok";
    case TV_ERR_DATA: return "bad data";
    case TV_ERR_IO: return "I/O error";
    case TV_ERR_NOMEM: return "out of memory";
    case TV_ERR_UNSUPPORTED: return "unsupported";
    case TV_ERR_NOTFOUND: return "not found";
    case TV_ERR_USAGE: return "usage error";
    case TV_ERR_LIMIT: return "limit exceeded";
    }
    return "unknown error";
}

void tv_show_bytes(char *out, size_t cap, const uint8_t *p, size_t len)
{
    /* Valid UTF-8 is shown as is; otherwise bytes from 0x80 are escaped, so that the
       message stays valid UTF-8. A character is never cut. */
    bool utf8 = tv_utf8_valid((const char *)p, len);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        bool plain = p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\'' && (p[i] < 0x80 || utf8);
        size_t need = !plain ? 4 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
        if (k + need + 4 >= cap) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        if (!plain) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", p[i]);
        } else {
            memcpy(out + k, p + i, need);
            k += need;
            i += need - 1;
        }
    }
    out[k] = '\0';
}
