#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pk_build.h"

void pk_bytes(struct pk *p, const void *data, size_t n)
{
    if (p->len + n > p->cap) {
        p->cap = (p->len + n) * 2 + 64;
        p->buf = realloc(p->buf, p->cap);
        assert_non_null(p->buf);
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}

void pk_op(struct pk *p, uint8_t op)
{
    pk_bytes(p, &op, 1);
}

void pk_u32(struct pk *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    pk_bytes(p, b, 4);
}

void pk_u64(struct pk *p, uint64_t v)
{
    pk_u32(p, (uint32_t)v);
    pk_u32(p, (uint32_t)(v >> 32));
}

void pk_str(struct pk *p, const char *s)
{
    pk_op(p, 'X');
    pk_u32(p, (uint32_t)strlen(s));
    pk_bytes(p, s, strlen(s));
}

void pk_sstr(struct pk *p, const char *s)
{
    pk_op(p, 0x8c);
    pk_op(p, (uint8_t)strlen(s));
    pk_bytes(p, s, strlen(s));
}

void pk_global(struct pk *p, const char *module, const char *name)
{
    pk_op(p, 'c');
    pk_bytes(p, module, strlen(module));
    pk_op(p, '\n');
    pk_bytes(p, name, strlen(name));
    pk_op(p, '\n');
}

void pk_int1(struct pk *p, uint8_t v)
{
    pk_op(p, 'K');
    pk_op(p, v);
}

void pk_int(struct pk *p, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        pk_op(p, 'J');
        pk_u32(p, (uint32_t)v);
        return;
    }
    pk_op(p, 0x8a);
    pk_op(p, 8);
    for (int i = 0; i < 8; i++)
        pk_op(p, (uint8_t)((uint64_t)v >> (8 * i)));
}

void pk_free(struct pk *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}
