/* A bump allocator for strings that live as long as the model. */
#include <string.h>

#include "internal.h"

struct tv_arena_chunk {
    struct tv_arena_chunk *next;
    size_t used, size;
    _Alignas(8) unsigned char data[];
};

#define ARENA_CHUNK 65536

void tv_arena_init(struct tv_arena *a)
{
    a->head = NULL;
}

void tv_arena_release(struct tv_arena *a)
{
    struct tv_arena_chunk *c = a->head;
    while (c) {
        struct tv_arena_chunk *next = c->next;
        tv_free(c);
        c = next;
    }
    a->head = NULL;
}

void *tv_arena_alloc(struct tv_arena *a, size_t n)
{
    size_t rounded = (n + 7) & ~(size_t)7;
    if (rounded < n)
        return NULL;
    struct tv_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded) {
        size_t size = rounded > ARENA_CHUNK / 4 ? rounded : ARENA_CHUNK;
        if (size > SIZE_MAX - sizeof *c)
            return NULL;
        c = tv_malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        /* A big one-off allocation goes behind the current chunk so that the
           current chunk's free space is not wasted. */
        if (a->head && rounded == size) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += rounded;
    return p;
}

char *tv_arena_strndup(struct tv_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = tv_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
