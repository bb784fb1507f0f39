/*
 * The library's allocator. Every allocation goes through tv_malloc/tv_realloc so
 * that tests can make any of them fail (tv_set_allocator) and prove that the
 * readers return an error instead of crashing. cJSON is pointed at the same hooks.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *(*hook_malloc)(size_t) = malloc;
static void *(*hook_realloc)(void *, size_t) = realloc;
static void (*hook_free)(void *) = free;

void tv_set_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                      void (*free_fn)(void *))
{
    hook_malloc = malloc_fn ? malloc_fn : malloc;
    hook_realloc = realloc_fn ? realloc_fn : realloc;
    hook_free = free_fn ? free_fn : free;
    cJSON_Hooks hooks = {.malloc_fn = hook_malloc, .free_fn = hook_free};
    cJSON_InitHooks(&hooks);
}

void *tv_malloc(size_t n)
{
    return hook_malloc(n ? n : 1);
}

void *tv_calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total))
        return NULL;
    void *p = tv_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *tv_realloc(void *p, size_t n)
{
    return hook_realloc(p, n ? n : 1);
}

void tv_free(void *p)
{
    if (p)
        hook_free(p);
}

char *tv_strndup(const char *s, size_t n)
{
    char *copy = tv_malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *tv_strdup(const char *s)
{
    return tv_strndup(s, strlen(s));
}

int tv_grow(void **array, size_t *cap, size_t need, size_t elem_size, tv_error *err)
{
    if (need <= *cap)
        return 0;
    size_t new_cap = *cap ? *cap : 8;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2)
            return tv_error_set(err, TV_ERR_NOMEM, "array of %zu elements is too large", need);
        new_cap *= 2;
    }
    size_t bytes;
    if (__builtin_mul_overflow(new_cap, elem_size, &bytes))
        return tv_error_set(err, TV_ERR_NOMEM, "array of %zu x %zu bytes overflows", new_cap,
                            elem_size);
    void *p = tv_realloc(*array, bytes);
    if (!p)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory growing an array to %zu bytes",
                            bytes);
    *array = p;
    *cap = new_cap;
    return 0;
}
