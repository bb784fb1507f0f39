/*
 * A failing allocator for the allocation-failure tests: the library is pointed at it with
 * tv_set_allocator, lets a given number of allocations succeed and fails every later one,
 * so that each test can walk the point of failure through a whole operation.
 */
#ifndef TOKVEC_FAILALLOC_H
#define TOKVEC_FAILALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

/*
 * Installs the failing allocator: the next n allocations (tv_malloc or tv_realloc) succeed
 * and every later one fails; n = -1 lets them all succeed. Also starts the count of live
 * allocations (failalloc_live) from 0.
 */
void failalloc_begin(long n);

/* Changes the number of allocations still allowed (-1: all) without reinstalling. */
void failalloc_set(long n);

/* Puts the plain allocator back (tv_set_allocator(NULL, NULL, NULL)); the budget is -1. */
void failalloc_end(void);

/* Allocations made and not yet freed through the failing allocator since failalloc_begin. */
long failalloc_live(void);

/*
 * Where failalloc_sweep stopped: at allocation budget n, either because the attempt
 * succeeded or because it failed (err) with an error other than TV_ERR_NOMEM; when every
 * budget below the limit ran out of memory, n is the limit and succeeded is false.
 */
struct failalloc_sweep {
    long n;
    bool succeeded;
    tv_error err;
};

/*
 * Runs attempt(ctx, err) with failalloc_begin(n) for n = 0, 1, ... limit - 1 until it
 * returns true or fails with an error other than TV_ERR_NOMEM. attempt must release what
 * it made, also when it succeeds. The plain allocator is back in place on return.
 */
struct failalloc_sweep failalloc_sweep(long limit, bool (*attempt)(void *ctx, tv_error *err),
                                       void *ctx);

/* What failalloc_read_model reads: the file at path, or else buf/len under name. */
struct failalloc_input {
    const char *path;
    const void *buf;
    size_t len;
    const char *name;
};

/*
 * An attempt for failalloc_sweep: tv_model_open(path) when in->path is set, else
 * tv_model_read_memory(buf, len, name); frees the model and returns whether it was read.
 */
bool failalloc_read_model(void *in, tv_error *err);

#endif
