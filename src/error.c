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
