/*
 * The C side of bench/similar (which builds and runs it; see there).
 *
 *   similar_driver gen DTYPE PATH ROWS DIM       write a GGUF v3 file holding one tensor
 *                                               token_embd.weight [ROWS, DIM] of DTYPE
 *                                               (F16, BF16, Q8_0, F32), values uniform
 *                                               in [-1, 1) from a fixed seed
 *   similar_driver query PATH K THREADS RUNS KERNEL
 *                                               open PATH, run one warm-up search, then
 *                                               RUNS cosine searches for the k nearest
 *                                               rows to rows 1000, 2000, ...; KERNEL is
 *                                               "best" or "portable"
 *   similar_driver memcpy MIB THREADS RUNS      copy a MIB buffer (split over THREADS)
 *
 * Every mode prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokvec/embed.h"
#include "tokvec/tokvec.h"
#include "embed_kernels.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void put_u32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put_u64(FILE *f, uint64_t v) { fwrite(&v, 8, 1, f); }
static void put_str(FILE *f, const char *s)
{
    put_u64(f, strlen(s));
    fputs(s, f);
}

static int gen(const char *dtype_name, const char *path, uint64_t rows, uint64_t dim)
{
    enum tv_dtype dtype;
    tv_error err = {0};
    if (tv_dtype_from_name(dtype_name, &dtype) < 0 || !tv_dtype_can_from_f32(dtype)) {
        fprintf(stderr, "gen: cannot write %s\n", dtype_name);
        return 1;
    }
    uint64_t row_bytes;
    if (tv_dtype_bytes(dtype, dim, &row_bytes, &err) < 0) {
        fprintf(stderr, "gen: %s\n", err.message);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    /* header, one key/value, one tensor info, padding to 32 (little-endian host) */
    fwrite("GGUF", 1, 4, f);
    put_u32(f, 3);
    put_u64(f, 1); /* tensors */
    put_u64(f, 1); /* key/values */
    put_str(f, "general.architecture");
    put_u32(f, 8); /* string */
    put_str(f, "llama");
    put_str(f, "token_embd.weight");
    put_u32(f, 2);
    put_u64(f, dim); /* ne[0]: innermost */
    put_u64(f, rows);
    put_u32(f, (uint32_t)tv_dtype_info(dtype)->ggml_type);
    put_u64(f, 0);
    long pos = ftell(f);
    for (long i = pos; i % 32; i++)
        fputc(0, f);
    const uint64_t chunk_rows = 256;
    float *values = malloc(chunk_rows * dim * sizeof *values);
    uint8_t *bytes = malloc(chunk_rows * row_bytes);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (uint64_t r = 0; r < rows; r += chunk_rows) {
        uint64_t n = rows - r < chunk_rows ? rows - r : chunk_rows;
        for (uint64_t i = 0; i < n * dim; i++) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            values[i] =
                (float)((double)((state * 0x2545F4914F6CDD1Dull) >> 11) / (double)(1ull << 52) -
                        1.0);
        }
        if (tv_dtype_from_f32(dtype, values, n * dim, bytes, &err) < 0) {
            fprintf(stderr, "gen: %s\n", err.message);
            return 1;
        }
        fwrite(bytes, 1, n * row_bytes, f);
    }
    free(values);
    free(bytes);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf(
        "{\"path\": \"%s\", \"dtype\": \"%s\", \"rows\": %llu, \"dim\": %llu, \"bytes\": %llu}\n",
        path, dtype_name, (unsigned long long)rows, (unsigned long long)dim,
        (unsigned long long)(rows * row_bytes));
    return 0;
}

static int query(const char *path, size_t k, unsigned threads, int runs, const char *kernel)
{
    tv_error err = {0};
    double t0 = now_ms();
    tv_model *m = tv_model_open(path, NULL, &err);
    tv_embed *e = m ? tv_embed_new(m, &err) : NULL;
    if (!e) {
        fprintf(stderr, "query: %s\n", err.message);
        return 1;
    }
    double open_ms = now_ms() - t0;
    if (strcmp(kernel, "portable") == 0)
        tv_embed_use_kernels(e, &tv_embed_kernels_portable);
    struct tv_search_options opt;
    tv_search_options_init(&opt);
    opt.k = k;
    opt.threads = threads;
    struct tv_neighbor *nb = malloc(k * sizeof *nb);
    size_t n;
    uint32_t id = 7;
    t0 = now_ms();
    /* a warm-up search: page faults, the norm cache */
    if (tv_embed_nearest_mean(e, &id, 1, &opt, nb, &n, &err) < 0) {
        fprintf(stderr, "query: %s\n", err.message);
        return 1;
    }
    double first_ms = now_ms() - t0;
    double *ms = malloc((size_t)runs * sizeof *ms);
    uint32_t top = 0;
    for (int i = 0; i < runs; i++) {
        id = (uint32_t)((1000u * (unsigned)(i + 1)) % tv_embed_rows(e));
        t0 = now_ms();
        if (tv_embed_nearest_mean(e, &id, 1, &opt, nb, &n, &err) < 0) {
            fprintf(stderr, "query: %s\n", err.message);
            return 1;
        }
        ms[i] = now_ms() - t0;
        if (i == 0)
            top = nb[0].id;
    }
    const struct tv_tensor *t = tv_embed_tensor(e);
    double med = median(ms, runs);
    printf("{\"kernel\": \"%s\", \"threads\": %u, \"bytes\": %llu, \"open_ms\": %.2f, "
           "\"first_ms\": %.2f, \"median_ms\": %.2f, \"min_ms\": %.2f, \"gb_per_s\": %.2f, "
           "\"top_of_row_1000\": %u}\n",
           tv_embed_kernel_name(e), threads, (unsigned long long)t->n_bytes, open_ms, first_ms, med,
           ms[0], (double)t->n_bytes / (med * 1e6), top);
    free(ms);
    free(nb);
    tv_embed_free(e);
    tv_model_free(m);
    return 0;
}

struct copy_part {
    char *dst;
    const char *src;
    size_t len;
};

static void *copy_run(void *arg)
{
    struct copy_part *p = arg;
    memcpy(p->dst, p->src, p->len);
    return NULL;
}

static int copy_bench(size_t mib, unsigned threads, int runs)
{
    size_t len = mib << 20;
    char *src = malloc(len), *dst = malloc(len);
    if (!src || !dst) {
        fprintf(stderr, "memcpy: out of memory\n");
        return 1;
    }
    memset(src, 1, len);
    memset(dst, 2, len); /* fault every page in before timing */
    double *ms = malloc((size_t)runs * sizeof *ms);
    struct copy_part parts[64];
    pthread_t tids[64];
    threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        for (unsigned p = 0; p < threads; p++) {
            parts[p] = (struct copy_part){dst + len * p / threads, src + len * p / threads,
                                          len * (p + 1) / threads - len * p / threads};
            if (p)
                pthread_create(&tids[p], NULL, copy_run, &parts[p]);
        }
        copy_run(&parts[0]);
        for (unsigned p = 1; p < threads; p++)
            pthread_join(tids[p], NULL);
        ms[i] = now_ms() - t0;
    }
    double med = median(ms, runs);
    printf("{\"threads\": %u, \"bytes\": %zu, \"median_ms\": %.2f, \"gb_per_s\": %.2f}\n", threads,
           len, med, (double)len / (med * 1e6));
    free(ms);
    free(src);
    free(dst);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2], argv[3], strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10));
    if (argc == 7 && strcmp(argv[1], "query") == 0)
        return query(argv[2], strtoull(argv[3], NULL, 10), (unsigned)atoi(argv[4]), atoi(argv[5]),
                     argv[6]);
    if (argc == 5 && strcmp(argv[1], "memcpy") == 0)
        return copy_bench(strtoull(argv[2], NULL, 10), (unsigned)atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: see the comment at the top of bench/similar_driver.c\n");
    return 2;
}
