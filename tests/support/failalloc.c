#include <stdlib.h>
#include <string.h>

#include "failalloc.h"

static long budget = -1; /* allocations still allowed, -1: no limit */
static long live;

static bool allowed(void)
{
    if (budget == 0)
        return false;
    if (budget > 0)
        budget--;
    return true;
}

static void *failing_malloc(size_t n)
{
    if (!allowed())
        return NULL;
    void *p = malloc(n);
    if (p)
        live++;
    return p;
}

static void *failing_realloc(void *p, size_t n)
{
    if (!allowed())
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        live++;
    return q;
}

static void counting_free(void *p)
{
    if (p)
        live--;
    free(p);
}

void failalloc_begin(long n)
{
    budget = n;
    live = 0;
    tv_set_allocator(failing_malloc, failing_realloc, counting_free);
}

void failalloc_set(long n)
{
    budget = n;
}

void failalloc_end(void)
{
    budget = -1;
    tv_set_allocator(NULL, NULL, NULL);
}

long failalloc_live(void)
{
    return live;
}

struct failalloc_sweep failalloc_sweep(long limit, bool (*attempt)(void *ctx, tv_error *err),
                                       void *ctx)
{
    struct failalloc_sweep s = {0};
    for (s.n = 0; s.n < limit; s.n++) {
        memset(&s.err, 0, sizeof s.err);
        failalloc_begin(s.n);
        s.succeeded = attempt(ctx, &s.err);
        failalloc_end();
        if (s.succeeded || s.err.code != TV_ERR_NOMEM)
            break;
    }
    return s;
}

bool failalloc_read_model(void *in, tv_error *err)
{
    const struct failalloc_input *input = in;
    tv_model *m = input->path ? tv_model_open(input->path, NULL, err)
                              : tv_model_read_memory(input->buf, input->len, input->name, NULL,
                                                     err);
    bool read = m != NULL;
    tv_model_free(m);
    return read;
}
