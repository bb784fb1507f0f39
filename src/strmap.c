/* Open-addressing hash map from borrowed byte strings to integers. */
#include <string.h>

#include "internal.h"

struct tv_strmap_slot {
    const char *key;   /* NULL: empty */
    size_t len;
    uint64_t hash;
    uint64_t value;
};

uint64_t tv_hash_bytes(const void *p, size_t len)
{
    /* FNV-1a, then a final avalanche so that the low bits used for indexing mix well. */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void tv_strmap_init(struct tv_strmap *map)
{
    map->slots = NULL;
    map->cap = 0;
    map->count = 0;
}

void tv_strmap_release(struct tv_strmap *map)
{
    tv_free(map->slots);
    tv_strmap_init(map);
}

static struct tv_strmap_slot *find_slot(struct tv_strmap_slot *slots, size_t cap,
                                        const char *key, size_t len, uint64_t hash)
{
    size_t mask = cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct tv_strmap_slot *s = &slots[i];
        if (!s->key)
            return s;
        if (s->hash == hash && s->len == len && (len == 0 || memcmp(s->key, key, len) == 0))
            return s;
    }
}

static int rehash(struct tv_strmap *map, size_t new_cap)
{
    struct tv_strmap_slot *slots = tv_calloc(new_cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < map->cap; i++) {
        struct tv_strmap_slot *old = &map->slots[i];
        if (old->key)
            *find_slot(slots, new_cap, old->key, old->len, old->hash) = *old;
    }
    tv_free(map->slots);
    map->slots = slots;
    map->cap = new_cap;
    return 0;
}

int tv_strmap_put(struct tv_strmap *map, const char *key, size_t len, uint64_t value,
                  uint64_t *existing)
{
    if ((map->count + 1) * 4 > map->cap * 3) {
        size_t new_cap = map->cap ? map->cap * 2 : 64;
        if (new_cap < map->cap || rehash(map, new_cap) < 0)
            return -1;
    }
    uint64_t hash = tv_hash_bytes(key, len);
    struct tv_strmap_slot *s = find_slot(map->slots, map->cap, key, len, hash);
    if (s->key) {
        if (existing)
            *existing = s->value;
        return 0;
    }
    s->key = key ? key : "";
    s->len = len;
    s->hash = hash;
    s->value = value;
    map->count++;
    return 1;
}

int tv_strmap_get(const struct tv_strmap *map, const char *key, size_t len, uint64_t *value)
{
    if (!map->cap)
        return 0;
    struct tv_strmap_slot *s = find_slot(map->slots, map->cap, key, len, tv_hash_bytes(key, len));
    if (!s->key)
        return 0;
    if (value)
        *value = s->value;
    return 1;
}
