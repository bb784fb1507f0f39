/*
 * Writes a synthetic safetensors model for bench/convert: an embedding
 * model.embed_tokens.weight [32000, 4096], then as many model.layers.N.weight
 * [4096, 4096] as it takes to reach the requested size, and a 1-D norm, all F32.
 * The values are real data (a xorshift generator, uniform in [-1, 1)), not zeros, so
 * the file has no sparse holes and every conversion does its full work.
 *
 *   cc -O2 -o gen bench/gen_safetensors.c && ./gen OUT.safetensors MEGABYTES
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 4096ULL
#define VOCAB 32000ULL

static uint64_t state = 0x9E3779B97F4A7C15ULL;

static float next_value(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (float)((int32_t)(state >> 32)) / 2147483648.0f;
}

static int write_values(FILE *f, uint64_t n)
{
    static float buf[1 << 16];
    while (n) {
        size_t k = n < (1 << 16) ? (size_t)n : (1 << 16);
        for (size_t i = 0; i < k; i++)
            buf[i] = next_value();
        if (fwrite(buf, sizeof *buf, k, f) != k)
            return -1;
        n -= k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.safetensors MEGABYTES\n", argv[0]);
        return 2;
    }
    uint64_t target = strtoull(argv[2], NULL, 10) * 1000000ULL;
    uint64_t emb = VOCAB * HIDDEN * 4, layer = HIDDEN * HIDDEN * 4, norm = HIDDEN * 4;
    uint64_t n_layers = target > emb ? (target - emb) / layer : 0;

    char *header = malloc(64 * 1024);
    size_t len = 0;
    uint64_t off = 0;
    len += (size_t)sprintf(header + len, "{\"__metadata__\":{\"format\":\"pt\"},"
                           "\"model.embed_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[%llu,%llu],"
                           "\"data_offsets\":[0,%llu]}", (unsigned long long)VOCAB,
                           (unsigned long long)HIDDEN, (unsigned long long)emb);
    off = emb;
    for (uint64_t i = 0; i < n_layers; i++, off += layer)
        len += (size_t)sprintf(header + len, ",\"model.layers.%llu.weight\":{\"dtype\":\"F32\","
                               "\"shape\":[%llu,%llu],\"data_offsets\":[%llu,%llu]}",
                               (unsigned long long)i, (unsigned long long)HIDDEN,
                               (unsigned long long)HIDDEN, (unsigned long long)off,
                               (unsigned long long)(off + layer));
    len += (size_t)sprintf(header + len, ",\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[%llu],"
                           "\"data_offsets\":[%llu,%llu]}}", (unsigned long long)HIDDEN,
                           (unsigned long long)off, (unsigned long long)(off + norm));
    while (len % 8)
        header[len++] = ' ';

    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    uint8_t n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (uint8_t)((uint64_t)len >> (8 * i));
    int failed = fwrite(n, 1, 8, f) != 8 || fwrite(header, 1, len, f) != len ||
                 write_values(f, VOCAB * HIDDEN) < 0;
    for (uint64_t i = 0; i < n_layers && !failed; i++)
        failed = write_values(f, HIDDEN * HIDDEN) < 0;
    failed = failed || write_values(f, HIDDEN) < 0;
    if (fclose(f) != 0 || failed) {
        perror(argv[1]);
        return 1;
    }
    free(header);
    return 0;
}
