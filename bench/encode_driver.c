/*
 * The C side of bench/encode (which builds and runs it; see there).
 *
 *   encode_driver TOKENIZER TEXT RUNS
 *
 * Opens TOKENIZER (any model path tokvec reads), builds a tokenizer, then encodes every
 * line of TEXT (without its line break) RUNS times, single-threaded, and prints one
 * JSON object: load time, the median encode time over the runs, MB/s, the number of
 * tokens and an FNV-1a hash of all ids (so the peers' ids can be compared). Times are
 * CPU seconds of the process (the work is single-threaded; a busy machine does not
 * slow the measure down as much as wall time would).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokvec/tokenizer.h"
#include "tokvec/tokvec.h"

/* CPU time of this process: the machine may be shared, and the work is one thread. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: encode_driver TOKENIZER TEXT RUNS\n");
        return 2;
    }
    int runs = atoi(argv[3]);
    if (runs < 1 || runs > 100)
        runs = 3;
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    tv_error err = {0};
    double t0 = now_s();
    tv_model *m = tv_model_open(argv[1], NULL, &err);
    tv_tokenizer *t = m ? tv_tokenizer_new(m, &err) : NULL;
    if (!t) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double load = now_s() - t0;
    struct tv_ids ids;
    tv_ids_init(&ids);
    double *times = calloc((size_t)runs, sizeof *times);
    uint64_t hash = 0, tokens = 0;
    for (int r = 0; r < runs; r++) {
        uint64_t h = 14695981039346656037ULL, n = 0;
        double start = now_s();
        for (long at = 0; at < size;) {
            char *nl = memchr(text + at, '\n', (size_t)(size - at));
            long end = nl ? nl - text : size;
            if (tv_encode(t, text + at, (size_t)(end - at), 0, &ids, &err) < 0) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            for (size_t i = 0; i < ids.n; i++) {
                h = (h ^ ids.ids[i]) * 1099511628211ULL;
            }
            n += ids.n;
            at = end + 1;
        }
        times[r] = now_s() - start;
        hash = h;
        tokens = n;
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    double med = times[runs / 2];
    printf("{\"load_s\": %.3f, \"encode_s\": %.4f, \"mb_per_s\": %.2f, \"tokens\": %llu, "
           "\"hash\": \"%016llx\", \"bytes\": %ld}\n",
           load, med, (double)size / 1e6 / med, (unsigned long long)tokens,
           (unsigned long long)hash, size);
    tv_ids_release(&ids);
    free(times);
    free(text);
    tv_tokenizer_free(t);
    tv_model_free(m);
    return 0;
}
