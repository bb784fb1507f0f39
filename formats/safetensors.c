/*
 * safetensors: Hugging Face's tensor files, single and sharded.
 *
 * The byte layout of a .safetensors file (integers little-endian):
 *
 *   1. u64 N             length of the JSON header in bytes; N <= 100,000,000 by
 *                        default (the reference's MAX_HEADER_SIZE, --max-header-bytes
 *                        raises it) and N <= file size - 8
 *   2. N bytes           the header: a UTF-8 JSON object, possibly followed by
 *                        whitespace (writers pad it so that 8 + N is a multiple of 8)
 *        "__metadata__": {"key": "value", ...}        optional; strings only
 *        "<tensor>": {"dtype": "F32",                 a safetensors dtype string
 *                     "shape": [d0, d1, ...],         row-major, may be [] or hold 0
 *                     "data_offsets": [begin, end]}   bytes into the data buffer
 *   3. the data buffer   file size - 8 - N bytes; tensor data at [begin, end), C order
 *
 * The reference implementation's rules (safetensors tensor.rs, Metadata::validate and
 * read_metadata), each enforced below with an error naming the file and the tensors:
 *   a. every shape dimension and offset is an exact non-negative integer (< 2^53 here,
 *      because JSON numbers are doubles);
 *   b. end - begin == product(shape) x dtype size, overflow-checked; sub-byte dtypes
 *      (F4, F6_*) must fill whole bytes;
 *   c. sorted by begin, the first tensor starts at 0 and each starts where the
 *      previous one ended: no hole, no overlap;
 *   d. the last tensor ends exactly at the end of the file;
 *   e. a tensor name appears once.
 *
 * A sharded checkpoint is an index, model.safetensors.index.json:
 *
 *   {"metadata": {"total_size": <bytes of tensor data>, ...},
 *    "weight_map": {"<tensor>": "<shard file, relative to the index>", ...}}
 *
 * Every weight_map entry must be found in its shard exactly once and every tensor of
 * a shard must be listed under that shard. A total_size that disagrees with the
 * tensors only earns a finding: writers differ in what they count.
 *
 * Only headers are read; tensor data stays in the mapping, untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "convert.h"

#define NAME_SHOWN 200 /* bytes of a tensor name shown in messages */

/* ---- small helpers -------------------------------------------------------------- */

/* "a string", "an array", ... or "missing", to follow "is" in a message. */
static const char *json_type_name(const cJSON *item)
{
    if (!item)
        return "missing";
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsObject(item))
        return "an object";
    if (cJSON_IsArray(item))
        return "an array";
    if (cJSON_IsBool(item))
        return "a boolean";
    if (cJSON_IsNull(item))
        return "null";
    return "an invalid value";
}

/* Describes a value that should have been an exact non-negative integer. */
static void describe_number(const cJSON *item, char *buf, size_t size)
{
    if (cJSON_IsNumber(item))
        snprintf(buf, size, "%.17g", item->valuedouble);
    else
        snprintf(buf, size, "%s", json_type_name(item));
}

static bool is_json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Parses the header. Unlike a plain tv_json_parse, anything after the object other
 * than whitespace padding is refused, as the reference's serde_json does.
 */
static cJSON *parse_header(const uint8_t *header, size_t len, const char *file, tv_error *err)
{
    char what[512];
    snprintf(what, sizeof what, "%s: JSON header", file);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts((const char *)header, len, &end, 0);
    if (!doc) {
        /* tv_json_parse fails the same way and says whether it was the syntax or
           the allocator; only a failing allocator can make it succeed now. */
        doc = tv_json_parse(header, len, what, err);
        if (doc) {
            cJSON_Delete(doc);
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory parsing %zu bytes", what, len);
        }
        return NULL;
    }
    size_t at = end ? (size_t)(end - (const char *)header) : len;
    for (size_t i = at; i < len; i++) {
        if (!is_json_space(header[i])) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: unexpected byte 0x%02x at byte %zu of %zu after the object "
                         "(only whitespace may pad the header)",
                         what, header[i], i, len);
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}

/* Formats a shape as "[50257, 16]". */
static void format_shape(const uint64_t *shape, uint32_t n_dims, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < n_dims && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* ---- sharded checkpoints: what the index says about each tensor ------------------ */

struct wm_entry {
    const char *tensor;  /* name as listed (borrowed from the index document) */
    size_t shard;        /* index into the sorted shard list */
    bool found;
};

/* Passed to the single-file reader while it reads one shard of an index. */
struct shard_check {
    const char *index_file;
    const char *const *shards;      /* sorted shard names */
    size_t shard;                   /* the shard being read */
    const struct tv_strmap *weight_map; /* tensor name -> index into entries */
    struct wm_entry *entries;
};

/* Rule: every tensor of a shard is listed in weight_map, under that shard. */
static int check_listed(const struct shard_check *check, const char *name, size_t name_len,
                        tv_error *err)
{
    uint64_t i;
    const char *shard = check->shards[check->shard];
    if (!tv_strmap_get(check->weight_map, name, name_len, &i))
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s' is in shard '%s' but weight_map does not list it",
                            check->index_file, NAME_SHOWN, name, shard);
    struct wm_entry *e = &check->entries[i];
    if (e->shard != check->shard)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s' is in shard '%s' but weight_map lists it under '%s'",
                            check->index_file, NAME_SHOWN, name, shard,
                            check->shards[e->shard]);
    e->found = true;
    return 0;
}

/* ---- one tensor ------------------------------------------------------------------ */

/* A tensor's byte range in the data buffer, for the rules that span tensors. */
struct st_range {
    uint64_t begin, end;
    size_t tensor; /* index into m->tensors */
};

static int cmp_range(const void *a, const void *b)
{
    const struct st_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->tensor > y->tensor) - (x->tensor < y->tensor);
}

/* Reads one tensor entry of the header and appends it to the model (rules a, b, e). */
static int read_tensor(tv_model *m, const tv_blob *blob, const cJSON *item, uint64_t data_start,
                       uint64_t data_len, const struct shard_check *check,
                       struct st_range *range, tv_error *err)
{
    const char *file = blob->name;
    const char *name = item->string;
    size_t name_len = strlen(name);
    int shown = (int)(name_len > NAME_SHOWN ? NAME_SHOWN : name_len);
    char text[160];

    if (!cJSON_IsObject(item))
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s' is %s, not an object with dtype, shape and "
                            "data_offsets", file, shown, name, json_type_name(item));
    const cJSON *dtype_item = NULL, *shape_item = NULL, *offsets_item = NULL;
    for (const cJSON *field = item->child; field; field = field->next) {
        const cJSON **slot = strcmp(field->string, "dtype") == 0          ? &dtype_item
                             : strcmp(field->string, "shape") == 0        ? &shape_item
                             : strcmp(field->string, "data_offsets") == 0 ? &offsets_item
                                                                          : NULL;
        if (!slot)
            continue; /* the reference ignores unknown fields */
        if (*slot)
            return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.*s': \"%s\" appears twice",
                                file, shown, name, field->string);
        *slot = field;
    }

    if (!cJSON_IsString(dtype_item))
        return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.*s': \"dtype\" is %s, not a string",
                            file, shown, name, json_type_name(dtype_item));
    enum tv_dtype dtype;
    const char *dtype_name = dtype_item->valuestring;
    if (tv_dtype_from_safetensors(dtype_name, strlen(dtype_name), &dtype) < 0)
        return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.*s': unknown dtype '%.64s'", file,
                            shown, name, dtype_name);

    if (!cJSON_IsArray(shape_item))
        return tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.*s': \"shape\" is %s, not an array",
                            file, shown, name, json_type_name(shape_item));
    uint64_t shape[TV_MAX_DIMS];
    uint32_t n_dims = 0;
    for (const cJSON *dim = shape_item->child; dim; dim = dim->next) {
        if (n_dims == TV_MAX_DIMS)
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensor '%.*s': shape has more than %d dimensions", file,
                                shown, name, TV_MAX_DIMS);
        if (tv_json_uint(dim, &shape[n_dims]) < 0) {
            describe_number(dim, text, sizeof text);
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensor '%.*s': shape[%u] is %s, not an integer in "
                                "[0, 2^53)", file, shown, name, n_dims, text);
        }
        n_dims++;
    }

    if (!cJSON_IsArray(offsets_item))
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s': \"data_offsets\" is %s, not [begin, end]",
                            file, shown, name, json_type_name(offsets_item));
    uint64_t offsets[2];
    int n_offsets = 0;
    for (const cJSON *o = offsets_item->child; o; o = o->next) {
        if (n_offsets == 2)
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensor '%.*s': data_offsets has more than 2 entries", file,
                                shown, name);
        if (tv_json_uint(o, &offsets[n_offsets]) < 0) {
            describe_number(o, text, sizeof text);
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensor '%.*s': data_offsets[%d] is %s, not an integer in "
                                "[0, 2^53)", file, shown, name, n_offsets, text);
        }
        n_offsets++;
    }
    if (n_offsets != 2)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s': data_offsets has %d entries, not [begin, end]",
                            file, shown, name, n_offsets);
    uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s': data_offsets [%llu, %llu] end before they begin",
                            file, shown, name, (unsigned long long)begin,
                            (unsigned long long)end);

    uint64_t n_elements, n_bytes;
    if (tv_tensor_size(dtype, n_dims, shape, &n_elements, &n_bytes, err) < 0) {
        tv_error_prefix(err, "%s: tensor '%.*s'", file, shown, name);
        return -1;
    }
    if (end - begin != n_bytes) {
        format_shape(shape, n_dims, text, sizeof text);
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s': data_offsets [%llu, %llu] but %s %s needs %llu "
                            "bytes", file, shown, name, (unsigned long long)begin,
                            (unsigned long long)end, tv_dtype_name(dtype), text,
                            (unsigned long long)n_bytes);
    }
    if (end > data_len)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: tensor '%.*s': data_offsets [%llu, %llu] run past the end of "
                            "the data buffer (%llu bytes after the %llu-byte header)",
                            file, shown, name, (unsigned long long)begin,
                            (unsigned long long)end, (unsigned long long)data_len,
                            (unsigned long long)(data_start - 8));
    if (check && check_listed(check, name, name_len, err) < 0)
        return -1;
    if (tv_model_add_tensor(m, name, name_len, dtype, n_dims, shape, file, data_start + begin,
                            blob->data + data_start + begin, err) < 0)
        return -1;
    range->begin = begin;
    range->end = end;
    range->tensor = m->n_tensors - 1;
    return 0;
}

/* Rules c and d: sorted by offset, the tensors tile the data buffer exactly. */
static int check_tiling(const tv_model *m, const char *file, struct st_range *ranges,
                        size_t n_ranges, uint64_t data_len, tv_error *err)
{
    qsort(ranges, n_ranges, sizeof *ranges, cmp_range);
    uint64_t expected = 0;
    for (size_t i = 0; i < n_ranges; i++) {
        const struct st_range *r = &ranges[i];
        const char *name = m->tensors[r->tensor].name;
        if (r->begin == expected) {
            expected = r->end;
            continue;
        }
        if (i == 0)
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: the first tensor by offset, '%.*s', starts at %llu, not 0 "
                                "(data_offsets [%llu, %llu])", file, NAME_SHOWN, name,
                                (unsigned long long)r->begin, (unsigned long long)r->begin,
                                (unsigned long long)r->end);
        const struct st_range *p = &ranges[i - 1];
        const char *prev = m->tensors[p->tensor].name;
        if (r->begin < expected)
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: tensors '%.*s' [%llu, %llu] and '%.*s' [%llu, %llu] overlap",
                                file, NAME_SHOWN, prev, (unsigned long long)p->begin,
                                (unsigned long long)p->end, NAME_SHOWN, name,
                                (unsigned long long)r->begin, (unsigned long long)r->end);
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: %llu unused bytes between tensors '%.*s' [%llu, %llu] and "
                            "'%.*s' [%llu, %llu]", file,
                            (unsigned long long)(r->begin - expected), NAME_SHOWN, prev,
                            (unsigned long long)p->begin, (unsigned long long)p->end,
                            NAME_SHOWN, name, (unsigned long long)r->begin,
                            (unsigned long long)r->end);
    }
    if (expected == data_len)
        return 0;
    if (n_ranges == 0)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: no tensors, but %llu bytes of data follow the header", file,
                            (unsigned long long)data_len);
    const struct st_range *last = &ranges[n_ranges - 1];
    return tv_error_set(err, TV_ERR_DATA,
                        "%s: the last tensor by offset, '%.*s' [%llu, %llu], ends %llu bytes "
                        "before the end of the data buffer (%llu bytes)", file, NAME_SHOWN,
                        m->tensors[last->tensor].name, (unsigned long long)last->begin,
                        (unsigned long long)last->end,
                        (unsigned long long)(data_len - expected), (unsigned long long)data_len);
}

/* "__metadata__": an object of string -> string, kept as TV_ORIGIN_SAFETENSORS values. */
static int read_metadata(tv_model *m, const char *file, const cJSON *meta, tv_error *err)
{
    if (cJSON_IsNull(meta))
        return 0; /* the reference reads null as no metadata */
    if (!cJSON_IsObject(meta))
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: \"__metadata__\" is %s, not an object of strings", file,
                            json_type_name(meta));
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: \"__metadata__\" key '%.*s' is %s; metadata values are "
                                "strings", file, NAME_SHOWN, kv->string, json_type_name(kv));
        size_t len = strlen(kv->valuestring);
        const char *copy = tv_model_strdup(m, kv->valuestring, len);
        if (!copy)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
        struct tv_value v = {.type = TV_VALUE_STRING, .as.str = {copy, len}};
        if (tv_model_add_meta(m, kv->string, strlen(kv->string), &v, TV_ORIGIN_SAFETENSORS,
                              file, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- one file ---------------------------------------------------------------------- */

/* Reads one safetensors blob into m; check is non-NULL while reading a shard. */
static int read_file(tv_model *m, tv_blob *blob, const struct shard_check *check,
                     tv_error *err)
{
    int rc = -1;
    cJSON *doc = NULL;
    struct st_range *ranges = NULL;
    const char *file = blob->name;

    if (blob->len < 8)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: %zu bytes, too short for the 8-byte header length", file,
                            blob->len);
    uint64_t header_len = tv_le64(blob->data);
    uint64_t room = blob->len - 8;
    if (header_len > room)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: header length %llu runs past the end of the file (%zu bytes, "
                            "room for %llu)", file, (unsigned long long)header_len, blob->len,
                            (unsigned long long)room);
    if (header_len > m->opt.max_header_bytes)
        return tv_error_set(err, TV_ERR_LIMIT,
                            "%s: header of %llu bytes exceeds the limit of %llu bytes (raise it "
                            "with --max-header-bytes)", file, (unsigned long long)header_len,
                            (unsigned long long)m->opt.max_header_bytes);
    if (header_len < 2)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: header length %llu is too short for a JSON object", file,
                            (unsigned long long)header_len);
    const uint8_t *header = blob->data + 8;
    size_t bad = tv_utf8_valid_prefix(header, (size_t)header_len);
    if (bad < header_len)
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: JSON header is not valid UTF-8 at byte %zu (file offset %zu)",
                            file, bad, bad + 8);
    doc = parse_header(header, (size_t)header_len, file, err);
    if (!doc)
        goto out;
    if (!cJSON_IsObject(doc)) {
        tv_error_set(err, TV_ERR_DATA, "%s: the JSON header is %s, not an object", file,
                     json_type_name(doc));
        goto out;
    }

    uint64_t data_start = 8 + header_len;
    uint64_t data_len = room - header_len;
    size_t n_items = 0;
    for (const cJSON *item = doc->child; item; item = item->next)
        n_items++;
    ranges = tv_calloc(n_items, sizeof *ranges);
    if (!ranges) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for %zu header entries", file,
                     n_items);
        goto out;
    }
    size_t n_ranges = 0;
    bool seen_metadata = false;
    for (const cJSON *item = doc->child; item; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (seen_metadata) {
                tv_error_set(err, TV_ERR_DATA, "%s: \"__metadata__\" appears twice", file);
                goto out;
            }
            seen_metadata = true;
            if (read_metadata(m, file, item, err) < 0)
                goto out;
            continue;
        }
        if (read_tensor(m, blob, item, data_start, data_len, check, &ranges[n_ranges], err) < 0)
            goto out;
        n_ranges++;
    }
    if (check_tiling(m, file, ranges, n_ranges, data_len, err) < 0)
        goto out;
    /* The reference writer pads the header so that data starts 8-aligned; readers
       accept anything, but unaligned data cannot be viewed in place as F64/I64. */
    if (data_start % 8 &&
        tv_model_add_finding(m, "structure.safetensors_alignment", TV_SEVERITY_WARN, err,
                             "%s: tensor data starts at byte %llu, not a multiple of 8 (header "
                             "of %llu bytes is not padded)", file,
                             (unsigned long long)data_start,
                             (unsigned long long)header_len) < 0)
        goto out;
    rc = 0;
out:
    tv_free(ranges);
    cJSON_Delete(doc);
    return rc;
}

static int probe_safetensors(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    if (len < 10)
        return 0;
    /* Even a header length past the end of the file is claimed, so that the reader
       reports the precise error instead of "not a format tokvec reads". */
    return tv_le64(buf) >= 2 && buf[8] == '{' ? 90 : 0;
}

static int read_safetensors(tv_model *m, tv_blob *blob, tv_error *err)
{
    return read_file(m, blob, NULL, err);
}

static int safetensors_write(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                             tv_error *err); /* the writer, at the end of the file */

const struct tv_format tv_format_safetensors = {
    .name = "safetensors",
    .label = "safetensors",
    .probe = probe_safetensors,
    .read = read_safetensors,
    .write = safetensors_write,
};

/* ---- sharded checkpoints ------------------------------------------------------------ */

/* Shard names stay inside the index's folder: relative, no ".." component. */
static int check_shard_name(const char *index_file, const char *tensor, const char *shard,
                            tv_error *err)
{
    if (!*shard)
        return tv_error_set(err, TV_ERR_DATA, "%s: weight_map['%.*s'] is an empty file name",
                            index_file, NAME_SHOWN, tensor);
    if (shard[0] == '/')
        return tv_error_set(err, TV_ERR_DATA,
                            "%s: weight_map['%.*s'] names the absolute path '%.200s'; shards "
                            "must be next to the index", index_file, NAME_SHOWN, tensor, shard);
    for (const char *p = shard; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return tv_error_set(err, TV_ERR_DATA,
                                "%s: weight_map['%.*s'] = '%.200s' leaves the index's folder "
                                "('..')", index_file, NAME_SHOWN, tensor, shard);
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads weight_map into entries (sorted distinct shard names in *shards). */
static int read_weight_map(const char *file, const cJSON *wm, struct tv_strmap *weight_map,
                           struct wm_entry **entries, const char ***shards, size_t *n_shards,
                           tv_error *err)
{
    int rc = -1;
    struct tv_strmap seen, shard_ids;
    tv_strmap_init(&seen);
    tv_strmap_init(&shard_ids);
    size_t n_entries = 0, cap_shards = 0;
    for (const cJSON *e = wm->child; e; e = e->next)
        n_entries++;
    *entries = tv_calloc(n_entries, sizeof **entries);
    if (!*entries) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory for %zu weight_map entries", file,
                     n_entries);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *e = wm->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: weight_map['%.*s'] is %s, not a shard file name", file,
                         NAME_SHOWN, e->string, json_type_name(e));
            goto out;
        }
        if (check_shard_name(file, e->string, e->valuestring, err) < 0)
            goto out;
        int put = tv_strmap_put(weight_map, e->string, strlen(e->string), i, NULL);
        if (put == 0) {
            tv_error_set(err, TV_ERR_DATA, "%s: weight_map lists tensor '%.*s' twice", file,
                         NAME_SHOWN, e->string);
            goto out;
        }
        int fresh = put < 0 ? -1 : tv_strmap_put(&seen, e->valuestring,
                                                 strlen(e->valuestring), 0, NULL);
        if (fresh < 0 || (fresh == 1 && tv_grow((void **)shards, &cap_shards, *n_shards + 1,
                                                 sizeof **shards, err) < 0)) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory reading weight_map", file);
            goto out;
        }
        if (fresh == 1)
            (*shards)[(*n_shards)++] = e->valuestring;
        (*entries)[i].tensor = e->string;
    }
    /* Shards are read in name order (model-00001-of-00003 first), whatever order the
       weight_map lists its tensors in. */
    if (*n_shards > 1)
        qsort((void *)*shards, *n_shards, sizeof **shards, cmp_str);
    for (size_t k = 0; k < *n_shards; k++)
        if (tv_strmap_put(&shard_ids, (*shards)[k], strlen((*shards)[k]), k, NULL) < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory reading weight_map", file);
            goto out;
        }
    i = 0;
    for (const cJSON *e = wm->child; e; e = e->next, i++) {
        uint64_t k = 0;
        tv_strmap_get(&shard_ids, e->valuestring, strlen(e->valuestring), &k);
        (*entries)[i].shard = (size_t)k;
    }
    rc = 0;
out:
    tv_strmap_release(&seen);
    tv_strmap_release(&shard_ids);
    return rc;
}

/* Reads one shard named by the index, checking it against weight_map. */
static int read_shard(tv_model *m, tv_dir *dir, const struct shard_check *check,
                      tv_error *err)
{
    const char *shard = check->shards[check->shard];
    int rc = -1;
    tv_blob *blob = tv_dir_open(dir, shard, err);
    if (!blob) {
        tv_error_prefix(err, "%s: shard '%.200s'", check->index_file, shard);
        goto out;
    }
    if (tv_model_add_blob(m, blob, err) < 0 || tv_model_add_file(m, shard, err) < 0 ||
        read_file(m, blob, check, err) < 0)
        goto out;
    rc = 0;
out:
    tv_blob_unref(blob);
    return rc;
}

int tv_safetensors_read_index(tv_model *m, tv_blob *index_blob, tv_dir *dir,
                              tv_error *err)
{
    int rc = -1;
    const char *file = index_blob->name;
    struct tv_strmap weight_map;
    tv_strmap_init(&weight_map);
    struct wm_entry *entries = NULL;
    const char **shards = NULL;
    size_t n_shards = 0;
    size_t first_tensor = m->n_tensors;
    cJSON *doc = tv_json_parse(index_blob->data, index_blob->len, file, err);
    if (!doc)
        goto out;
    if (!cJSON_IsObject(doc)) {
        tv_error_set(err, TV_ERR_DATA, "%s: the index is %s, not a JSON object", file,
                     json_type_name(doc));
        goto out;
    }
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(doc, "weight_map");
    if (!cJSON_IsObject(wm)) {
        tv_error_set(err, TV_ERR_DATA, "%s: \"weight_map\" is %s, not an object", file,
                     json_type_name(wm));
        goto out;
    }
    if (read_weight_map(file, wm, &weight_map, &entries, &shards, &n_shards, err) < 0)
        goto out;

    struct shard_check check = {.index_file = file, .shards = shards,
                                .weight_map = &weight_map, .entries = entries};
    for (check.shard = 0; check.shard < n_shards; check.shard++)
        if (read_shard(m, dir, &check, err) < 0)
            goto out;
    size_t i = 0;
    for (const cJSON *e = wm->child; e; e = e->next, i++)
        if (!entries[i].found) {
            tv_error_set(err, TV_ERR_DATA,
                         "%s: tensor '%.*s' is listed under shard '%.200s' but that shard "
                         "does not contain it", file, NAME_SHOWN, entries[i].tensor,
                         shards[entries[i].shard]);
            goto out;
        }

    /* total_size: writers count slightly different things, so a mismatch is reported
       as a finding rather than refused. */
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const cJSON *total = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta,
                                                                                  "total_size")
                                              : NULL;
    if (total) {
        uint64_t claimed, sum = 0;
        for (size_t t = first_tensor; t < m->n_tensors; t++)
            sum += m->tensors[t].n_bytes; /* each range lies inside a mapped file */
        char text[64];
        if (tv_json_uint(total, &claimed) < 0) {
            describe_number(total, text, sizeof text);
            if (tv_model_add_finding(m, "structure.safetensors_total_size", TV_SEVERITY_WARN,
                                     err, "%s: metadata.total_size is %s, not a byte count",
                                     file, text) < 0)
                goto out;
        } else if (claimed != sum &&
                   tv_model_add_finding(m, "structure.safetensors_total_size",
                                        TV_SEVERITY_WARN, err,
                                        "%s: metadata.total_size says %llu bytes but the %zu "
                                        "tensors of its %zu shards hold %llu", file,
                                        (unsigned long long)claimed,
                                        m->n_tensors - first_tensor, n_shards,
                                        (unsigned long long)sum) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(doc);
    tv_free(entries);
    tv_free((void *)shards);
    tv_strmap_release(&weight_map);
    return rc;
}

static int probe_index(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    return tv_json_has_top_key(buf, len, "weight_map") ? 80 : 0;
}

/* The index given directly: its shards are next to it. */
static int read_index(tv_model *m, tv_blob *blob, tv_error *err)
{
    tv_dir *source = tv_dir_new_parent(blob->name, err);
    if (!source)
        return -1;
    int rc = tv_safetensors_read_index(m, blob, source, err);
    tv_dir_free(source);
    return rc;
}

const struct tv_format tv_format_safetensors_index = {
    .name = "safetensors-index",
    .label = "safetensors (sharded)",
    .probe = probe_index,
    .read = read_index,
};

/* ---- the writer --------------------------------------------------------------------
 *
 * Lays a file out the way the reference writer does (safetensors tensor.rs, prepare
 * and Metadata's Serialize):
 *   - tensors sorted by dtype alignment, largest first, in the order of the
 *     reference's Dtype enum (below), then by name; data offsets back to back from 0;
 *   - the header is compact JSON: "__metadata__" first, then every tensor in data
 *     order as {"dtype":..,"shape":[..],"data_offsets":[begin,end]}, strings escaped
 *     as serde_json escapes them; padded with spaces to a multiple of 8 bytes, so
 *     that the data starts 8-aligned;
 *   - __metadata__ holds "format": "pt" (what transformers writes) and then the
 *     source's own safetensors metadata, sorted by key. Those are strings by
 *     definition; anything else is refused, never dropped.
 */

/* The reference's Dtype enum order ("increasing alignment order"). */
static int dtype_rank(enum tv_dtype dtype)
{
    static const enum tv_dtype order[] = {
        TV_DTYPE_BOOL, TV_DTYPE_F4, TV_DTYPE_F6_E2M3, TV_DTYPE_F6_E3M2, TV_DTYPE_U8,
        TV_DTYPE_I8, TV_DTYPE_F8_E5M2, TV_DTYPE_F8_E4M3, TV_DTYPE_F8_E8M0,
        TV_DTYPE_F8_E4M3FNUZ, TV_DTYPE_F8_E5M2FNUZ, TV_DTYPE_I16, TV_DTYPE_U16, TV_DTYPE_F16,
        TV_DTYPE_BF16, TV_DTYPE_I32, TV_DTYPE_U32, TV_DTYPE_F32, TV_DTYPE_C64, TV_DTYPE_F64,
        TV_DTYPE_I64, TV_DTYPE_U64};
    for (size_t i = 0; i < TV_ARRAY_SIZE(order); i++)
        if (order[i] == dtype)
            return (int)i;
    return -1;
}

static int cmp_write_order(const void *a, const void *b, void *ctx)
{
    const struct tv_write_plan *p = ctx;
    const struct tv_plan_tensor *x = &p->tensors[*(const size_t *)a];
    const struct tv_plan_tensor *y = &p->tensors[*(const size_t *)b];
    int rx = dtype_rank(x->dtype), ry = dtype_rank(y->dtype);
    if (rx != ry)
        return rx > ry ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_meta_key(const void *a, const void *b)
{
    return strcmp((*(const struct tv_meta *const *)a)->key, (*(const struct tv_meta *const *)b)->key);
}

/* __metadata__: "format": "pt", then the source's safetensors metadata by key. */
static int write_metadata_json(const struct tv_write_plan *p, struct tv_text *t, tv_error *err)
{
    const tv_model *m = p->m;
    const struct tv_meta **keep = NULL;
    size_t n_keep = 0;
    int rc = -1;
    struct tv_strmap seen;
    tv_strmap_init(&seen);
    if (m->n_meta && !(keep = tv_malloc(m->n_meta * sizeof *keep)))
        goto oom;
    for (size_t i = 0; i < m->n_meta; i++) {
        const struct tv_meta *meta = &m->meta[i];
        if (meta->origin != TV_ORIGIN_SAFETENSORS || strcmp(meta->key, "format") == 0)
            continue;
        if (meta->value.type != TV_VALUE_STRING) {
            tv_error_set(err, TV_ERR_UNSUPPORTED,
                         "%s: metadata '%.200s' (from %s) is %s; safetensors metadata holds "
                         "strings only", p->out_name, meta->key, meta->file,
                         tv_value_type_name(meta->value.type));
            goto out;
        }
        uint64_t first;
        int put = tv_strmap_put(&seen, meta->key, strlen(meta->key), n_keep, &first);
        if (put < 0)
            goto oom;
        if (put == 0) {
            /* the same key in several shards: one value, or a conflict to report */
            const struct tv_str *a = &keep[first]->value.as.str, *b = &meta->value.as.str;
            if (a->len != b->len || memcmp(a->ptr, b->ptr, (size_t)a->len) != 0) {
                tv_error_set(err, TV_ERR_DATA,
                             "%s: metadata '%.200s' differs between %s and %s; a safetensors "
                             "file holds one value", p->out_name, meta->key, keep[first]->file,
                             meta->file);
                goto out;
            }
            continue;
        }
        keep[n_keep++] = meta;
    }
    if (n_keep > 1)
        qsort(keep, n_keep, sizeof *keep, cmp_meta_key);
    static const char head[] = "\"__metadata__\":{\"format\":\"pt\"";
    tv_text_append(t, head, sizeof head - 1);
    for (size_t i = 0; i < n_keep; i++) {
        tv_text_append(t, ",", 1);
        if (tv_text_json_string(t, keep[i]->key, strlen(keep[i]->key)) < 0 && !t->failed) {
            tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: metadata key '%.200s' is not valid UTF-8",
                         p->out_name, keep[i]->key);
            goto out;
        }
        tv_text_append(t, ":", 1);
        if (tv_text_json_string(t, keep[i]->value.as.str.ptr, (size_t)keep[i]->value.as.str.len) < 0 &&
            !t->failed) {
            tv_error_set(err, TV_ERR_UNSUPPORTED,
                         "%s: metadata '%.200s': the value is not valid UTF-8", p->out_name,
                         keep[i]->key);
            goto out;
        }
    }
    tv_text_append(t, "}", 1);
    if (t->failed)
        goto oom;
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building the header", p->out_name);
out:
    tv_strmap_release(&seen);
    tv_free(keep);
    return rc;
}

int tv_safetensors_write_part(struct tv_write_plan *p, const size_t *idx, size_t n,
                              tv_out *out, tv_error *err)
{
    int rc = -1;
    struct tv_text header = {0};
    size_t *order = n ? tv_malloc(n * sizeof *order) : NULL;
    if (n && !order)
        goto oom;
    if (n)
        memcpy(order, idx, n * sizeof *order);
    if (n > 1)
        qsort_r(order, n, sizeof *order, cmp_write_order, p);

    tv_text_append(&header, "{", 1);
    if (write_metadata_json(p, &header, err) < 0)
        goto out;
    uint64_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        const struct tv_plan_tensor *pt = &p->tensors[order[k]];
        const struct tv_tensor *t = pt->src;
        tv_text_append(&header, ",", 1);
        tv_text_json_string(&header, pt->name, strlen(pt->name)); /* checked by the plan */
        tv_text_printf(&header, ":{\"dtype\":\"%s\",\"shape\":[",
                       tv_dtype_info(pt->dtype)->safetensors_name);
        for (uint32_t d = 0; d < t->n_dims; d++)
            tv_text_printf(&header, "%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
        tv_text_printf(&header, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                       (unsigned long long)(offset + pt->n_bytes));
        offset += pt->n_bytes;
    }
    tv_text_append(&header, "}", 1);
    while (!header.failed && header.len % 8)
        tv_text_append(&header, " ", 1);
    if (header.failed)
        goto oom;
    if (header.len > TV_SAFETENSORS_MAX_HEADER) {
        tv_error_set(err, TV_ERR_LIMIT,
                     "%s: a header of %zu bytes for %zu tensors is more than readers accept "
                     "(%llu bytes; the reference's limit): write a folder with "
                     "--max-shard-size", p->out_name, header.len, n,
                     (unsigned long long)TV_SAFETENSORS_MAX_HEADER);
        goto out;
    }
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++)
        len_bytes[i] = (uint8_t)((uint64_t)header.len >> (8 * i));
    if (tv_out_write(out, len_bytes, 8, err) < 0 ||
        tv_out_write(out, header.ptr, header.len, err) < 0)
        goto out;
    for (size_t k = 0; k < n; k++)
        if (tv_write_plan_tensor(p, order[k], out, err) < 0)
            goto out;
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory building the header", p->out_name);
out:
    tv_text_release(&header);
    tv_free(order);
    return rc;
}

static int safetensors_write(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                             tv_error *err)
{
    struct tv_write_plan plan;
    int rc = -1;
    size_t *idx = NULL;
    if (tv_write_plan_init(&plan, m, opt, TV_TARGET_SAFETENSORS, tv_out_path(out), err) < 0)
        goto out;
    if (plan.n_tensors && !(idx = tv_malloc(plan.n_tensors * sizeof *idx))) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", plan.out_name);
        goto out;
    }
    for (size_t i = 0; i < plan.n_tensors; i++)
        idx[i] = i;
    rc = tv_safetensors_write_part(&plan, idx, plan.n_tensors, out, err);
out:
    tv_free(idx);
    tv_write_plan_release(&plan);
    return rc;
}
