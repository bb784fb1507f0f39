/*
 * PyTorch checkpoints (torch.save): pytorch_model.bin, *.pt, *.pth, read without
 * running pickle. The pickle is run by the restricted machine of src/pickle.c, which
 * never imports or calls anything; this file reads the tree it builds.
 *
 * The zip layout (torch.save since PyTorch 1.6):
 *   1. a zip archive, every member stored uncompressed, all under one folder <name>/
 *      (the file's stem in PyTorch 1.6 to 1.x, "archive" in 2.x);
 *   2. <name>/data.pkl: the pickled object (protocol 2 by default), in which each
 *      storage is a persistent id ('storage', storage class, key, location, numel);
 *   3. <name>/data/<key>: that storage's bytes, numel elements of the class's dtype,
 *      little-endian (storage offsets are 64-byte aligned in the file since 2.x);
 *   4. <name>/byteorder: "little" or "big" (absent before 1.12: little);
 *      <name>/version, <name>/.data/...: not needed.
 * The legacy layout (PyTorch < 1.6, or _use_new_zipfile_serialization=False), one
 * stream of five pickles and then raw bytes:
 *   1. the magic number 0x1950a86a20f9469cfc6c, 2. the protocol version 1001,
 *   3. sys_info {'protocol_version', 'little_endian', 'type_sizes'},
 *   4. the object, whose persistent ids are ('storage', class, key, location, numel,
 *      view_metadata) with view_metadata None or (view key, offset, size),
 *   5. the list of storage keys; then, for each key in that order, an 8-byte
 *      little-endian element count followed by the storage's bytes.
 *
 * A tensor is a call of torch._utils._rebuild_tensor_v2 (storage, storage_offset,
 * size, stride, requires_grad, backward_hooks[, metadata]); _rebuild_tensor (the
 * first four), _rebuild_tensor_v3 (the same plus a dtype, for dtypes without a storage
 * class), _rebuild_parameter(_with_state) (a tensor inside) and
 * torch._tensor._rebuild_from_type_v2 are read as well. Offsets and strides count
 * elements. A view whose strides are the row-major ones points into the storage (a
 * zero-copy view of the mapped file when the member is stored); any other view is
 * copied into a buffer of its own at read time (the writers, the embedding code and
 * verify read a tensor's bytes as rows, so a strided view is materialised once, here).
 * Views of the same bytes (same storage, offset, shape, strides and dtype: a tied
 * lm_head and embed_tokens) get the same data pointer and are listed in the metadata
 * key "pytorch.tied".
 *
 * Which tensors: the object may be a state dict, a tensor, or a checkpoint holding
 * state dicts ({"model": ..., "optimizer": ...}, {"state_dict": ...}).
 * tv_open_options.pytorch_key ("--key model", '/' between nested keys) names the
 * part to read; without it a dict that holds tensors directly is read, else the only
 * value that holds tensors, else the first of "state_dict", "model_state_dict",
 * "model", "module", "ema", "model_ema", "net", "network", "params", "weights",
 * "generator" that holds them; otherwise the error lists the choices. Tensors nested
 * in dicts or lists below it are named with '.' ("encoder.layer.0.weight").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"
#include "sources.h"
#include "internal.h"

/* Caps: TV_PYTORCH_MAX_DEPTH, TV_PYTORCH_MAX_COPY_EXTRA (src/limits.h). */
#define MAX_WALK_DEPTH TV_PYTORCH_MAX_DEPTH

/* ---- the globals a state dict uses ------------------------------------------------- */

enum gkind {
    K_DICT,          /* collections.OrderedDict */
    K_REBUILD_V1,    /* (storage, offset, size, stride) */
    K_REBUILD_V2,    /* ... requires_grad, backward_hooks[, metadata] */
    K_REBUILD_V3,    /* ... requires_grad, backward_hooks, dtype[, metadata] */
    K_PARAMETER,     /* (tensor, requires_grad, backward_hooks[, state]) */
    K_FROM_TYPE,     /* (func, new_type, args, state) */
    K_TENSOR_CLASS,  /* torch.Tensor, torch.nn.Parameter */
    K_STORAGE,       /* a typed storage class: its dtype */
    K_DTYPE,         /* a dtype object */
    K_OTHER          /* harmless values that may sit in checkpoint metadata */
};

#define NO_DTYPE (-1)

/* module, name, pickle flags, kind, dtype (NO_DTYPE: none tokvec has) */
#define PT_GLOBALS(X)                                                                  \
    X("collections", "OrderedDict", TV_PICKLE_DICT_CLASS, K_DICT, NO_DTYPE)            \
    X("torch._utils", "_rebuild_tensor", 0, K_REBUILD_V1, NO_DTYPE)                    \
    X("torch._utils", "_rebuild_tensor_v2", 0, K_REBUILD_V2, NO_DTYPE)                 \
    X("torch._utils", "_rebuild_tensor_v3", 0, K_REBUILD_V3, NO_DTYPE)                 \
    X("torch._utils", "_rebuild_parameter", 0, K_PARAMETER, NO_DTYPE)                  \
    X("torch._utils", "_rebuild_parameter_with_state", 0, K_PARAMETER, NO_DTYPE)       \
    X("torch._tensor", "_rebuild_from_type_v2", 0, K_FROM_TYPE, NO_DTYPE)              \
    X("torch", "Tensor", 0, K_TENSOR_CLASS, NO_DTYPE)                                  \
    X("torch.nn.parameter", "Parameter", 0, K_TENSOR_CLASS, NO_DTYPE)                  \
    X("torch", "FloatStorage", 0, K_STORAGE, TV_DTYPE_F32)                             \
    X("torch", "DoubleStorage", 0, K_STORAGE, TV_DTYPE_F64)                            \
    X("torch", "HalfStorage", 0, K_STORAGE, TV_DTYPE_F16)                              \
    X("torch", "BFloat16Storage", 0, K_STORAGE, TV_DTYPE_BF16)                         \
    X("torch", "LongStorage", 0, K_STORAGE, TV_DTYPE_I64)                              \
    X("torch", "IntStorage", 0, K_STORAGE, TV_DTYPE_I32)                               \
    X("torch", "ShortStorage", 0, K_STORAGE, TV_DTYPE_I16)                             \
    X("torch", "CharStorage", 0, K_STORAGE, TV_DTYPE_I8)                               \
    X("torch", "ByteStorage", 0, K_STORAGE, TV_DTYPE_U8)                               \
    X("torch", "BoolStorage", 0, K_STORAGE, TV_DTYPE_BOOL)                             \
    X("torch", "ComplexFloatStorage", 0, K_STORAGE, TV_DTYPE_C64)                      \
    X("torch", "ComplexDoubleStorage", 0, K_STORAGE, NO_DTYPE)                         \
    X("torch", "QInt8Storage", 0, K_STORAGE, NO_DTYPE)                                 \
    X("torch", "QUInt8Storage", 0, K_STORAGE, NO_DTYPE)                                \
    X("torch", "QInt32Storage", 0, K_STORAGE, NO_DTYPE)                                \
    X("torch", "UntypedStorage", 0, K_STORAGE, TV_DTYPE_U8)                            \
    X("torch.storage", "UntypedStorage", 0, K_STORAGE, TV_DTYPE_U8)                    \
    X("torch", "float32", 0, K_DTYPE, TV_DTYPE_F32)                                    \
    X("torch", "float", 0, K_DTYPE, TV_DTYPE_F32)                                      \
    X("torch", "float64", 0, K_DTYPE, TV_DTYPE_F64)                                    \
    X("torch", "double", 0, K_DTYPE, TV_DTYPE_F64)                                     \
    X("torch", "float16", 0, K_DTYPE, TV_DTYPE_F16)                                    \
    X("torch", "half", 0, K_DTYPE, TV_DTYPE_F16)                                       \
    X("torch", "bfloat16", 0, K_DTYPE, TV_DTYPE_BF16)                                  \
    X("torch", "int8", 0, K_DTYPE, TV_DTYPE_I8)                                        \
    X("torch", "int16", 0, K_DTYPE, TV_DTYPE_I16)                                      \
    X("torch", "short", 0, K_DTYPE, TV_DTYPE_I16)                                      \
    X("torch", "int32", 0, K_DTYPE, TV_DTYPE_I32)                                      \
    X("torch", "int", 0, K_DTYPE, TV_DTYPE_I32)                                        \
    X("torch", "int64", 0, K_DTYPE, TV_DTYPE_I64)                                      \
    X("torch", "long", 0, K_DTYPE, TV_DTYPE_I64)                                       \
    X("torch", "uint8", 0, K_DTYPE, TV_DTYPE_U8)                                       \
    X("torch", "uint16", 0, K_DTYPE, TV_DTYPE_U16)                                     \
    X("torch", "uint32", 0, K_DTYPE, TV_DTYPE_U32)                                     \
    X("torch", "uint64", 0, K_DTYPE, TV_DTYPE_U64)                                     \
    X("torch", "bool", 0, K_DTYPE, TV_DTYPE_BOOL)                                      \
    X("torch", "float8_e4m3fn", 0, K_DTYPE, TV_DTYPE_F8_E4M3)                          \
    X("torch", "float8_e5m2", 0, K_DTYPE, TV_DTYPE_F8_E5M2)                            \
    X("torch", "float8_e4m3fnuz", 0, K_DTYPE, TV_DTYPE_F8_E4M3FNUZ)                    \
    X("torch", "float8_e5m2fnuz", 0, K_DTYPE, TV_DTYPE_F8_E5M2FNUZ)                    \
    X("torch", "float8_e8m0fnu", 0, K_DTYPE, TV_DTYPE_F8_E8M0)                         \
    X("torch", "complex64", 0, K_DTYPE, TV_DTYPE_C64)                                  \
    X("torch", "cfloat", 0, K_DTYPE, TV_DTYPE_C64)                                     \
    X("torch", "complex128", 0, K_DTYPE, NO_DTYPE)                                     \
    X("torch", "complex32", 0, K_DTYPE, NO_DTYPE)                                      \
    X("torch", "Size", 0, K_OTHER, NO_DTYPE)                                           \
    X("torch", "device", 0, K_OTHER, NO_DTYPE)                                         \
    X("_codecs", "encode", 0, K_OTHER, NO_DTYPE)                                       \
    X("builtins", "set", 0, K_OTHER, NO_DTYPE)                                         \
    X("builtins", "frozenset", 0, K_OTHER, NO_DTYPE)                                   \
    X("builtins", "bytearray", 0, K_OTHER, NO_DTYPE)

#define AS_GLOBAL(module, name, flags, kind, dtype) {module, name, flags},
#define AS_KIND(module, name, flags, kind, dtype) kind,
#define AS_DTYPE(module, name, flags, kind, dtype) dtype,
static const struct tv_pickle_global globals[] = {PT_GLOBALS(AS_GLOBAL)};
static const uint8_t global_kind[] = {PT_GLOBALS(AS_KIND)};
static const int8_t global_dtype[] = {PT_GLOBALS(AS_DTYPE)};
_Static_assert(TV_ARRAY_SIZE(globals) == TV_ARRAY_SIZE(global_kind) &&
               TV_ARRAY_SIZE(globals) == TV_ARRAY_SIZE(global_dtype),
               "one kind and dtype per global");

static enum gkind kind_of(const struct tv_pkl *g)
{
    return (enum gkind)global_kind[g->as.global.id];
}

static bool is_global_kind(const struct tv_pkl *v, enum gkind kind)
{
    return v && v->kind == TV_PKL_GLOBAL && kind_of(v) == kind;
}

/* Whether v is a call that rebuilds a tensor. */
static bool is_tensor(const struct tv_pkl *v)
{
    if (!v || v->kind != TV_PKL_CALL)
        return false;
    switch (kind_of(v->as.call.callable)) {
    case K_REBUILD_V1: case K_REBUILD_V2: case K_REBUILD_V3: case K_PARAMETER: case K_FROM_TYPE:
        return true;
    default:
        return false;
    }
}

static bool is_container(const struct tv_pkl *v)
{
    return v->kind == TV_PKL_DICT || v->kind == TV_PKL_LIST || v->kind == TV_PKL_TUPLE;
}

/* ---- the reader's state -------------------------------------------------------------- */

struct storage {
    const char *key;          /* points into the pickle buffer */
    size_t key_len;
    enum tv_dtype dtype;      /* the storage class's */
    const char *class_name;   /* for messages */
    uint64_t numel;
    uint64_t n_bytes;         /* numel * element size */
    const uint8_t *data;      /* resolved: at least n_bytes */
    uint64_t file_offset;     /* of data in the checkpoint file; UINT64_MAX: not in it */
    long member;              /* zip member index, -1: none */
};

struct entry {
    char *name;               /* tv_malloc'ed, NUL-terminated */
    size_t name_len;
    const struct tv_pkl *node;   /* valid while the pickle is (interpret() only) */
    size_t pickle_offset;        /* of node, for messages after the pickle is freed */
    /* the view, once interpreted */
    size_t storage;
    uint64_t base_bytes;      /* legacy view_metadata: where the view storage begins */
    uint64_t limit_bytes;     /* and how many bytes it holds */
    enum tv_dtype dtype;
    uint64_t offset;          /* elements */
    uint32_t n_dims;
    uint64_t shape[TV_MAX_DIMS], stride[TV_MAX_DIMS];
    uint64_t n_elements;
    const uint8_t *data;
    uint64_t file_offset;
    size_t group;             /* first entry viewing the same bytes */
};

struct reader {
    tv_model *m;
    tv_blob *blob;
    const char *file;
    tv_error *err;
    bool legacy;
    const struct tv_pkl *root;
    struct entry *entries;
    size_t n_entries, cap_entries;
    struct storage *storages;
    size_t n_storages, cap_storages;
    struct tv_strmap storage_index;   /* key -> index into storages */
    size_t budget;                    /* nodes the walks may still visit */
    char *path;                       /* the name being built */
    size_t path_len, path_cap;
    uint64_t materialised, materialise_cap;
    char *key_path;                   /* the part read, for pytorch.key */
};

static int oom(struct reader *r)
{
    return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory", r->file);
}

static size_t element_size(enum tv_dtype dtype)
{
    const struct tv_dtype_info *info = tv_dtype_info(dtype);
    return info->block_bytes / info->block_size;
}

/* ---- naming: building dotted paths ------------------------------------------------- */

static int path_set(struct reader *r, size_t len, const char *part, size_t part_len)
{
    size_t need = len + (len ? 1 : 0) + part_len + 1;
    if (need > TV_MAX_NAME + 2)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: a tensor name longer than %d bytes "
                            "('%.100s...')", r->file, TV_MAX_NAME,
                            len && r->path ? r->path : "");
    if (tv_grow((void **)&r->path, &r->path_cap, need, 1, r->err) < 0)
        return -1;
    r->path_len = len;
    if (len)
        r->path[r->path_len++] = '.';
    memcpy(r->path + r->path_len, part, part_len);
    r->path_len += part_len;
    r->path[r->path_len] = '\0';
    return 0;
}

/* The name part a dict key or list index gives. */
static int key_text(struct reader *r, const struct tv_pkl *key, char *buf, size_t cap,
                    const char **text, size_t *len)
{
    switch (key->kind) {
    case TV_PKL_STR:
        if (memchr(key->as.bytes.ptr, '\0', key->as.bytes.len))
            return tv_error_set(r->err, TV_ERR_DATA, "%s: a key under '%s' holds a NUL byte",
                                r->file, r->path_len ? r->path : "(the top)");
        *text = (const char *)key->as.bytes.ptr;
        *len = key->as.bytes.len;
        return 0;
    case TV_PKL_INT:
        *len = (size_t)snprintf(buf, cap, "%lld", (long long)key->as.i);
        *text = buf;
        return 0;
    case TV_PKL_BOOL:
        *text = key->as.b ? "True" : "False";
        *len = strlen(*text);
        return 0;
    case TV_PKL_NONE:
        *text = "None";
        *len = 4;
        return 0;
    default:
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: a key under '%s' is a %s (pickle "
                            "offset %zu); tokvec names tensors by string and integer keys",
                            r->file, r->path_len ? r->path : "(the top)",
                            tv_pkl_kind_name(key->kind), key->offset);
    }
}

/* ---- walking the tree ------------------------------------------------------------ */

struct frame {
    const struct tv_pkl *node;
    size_t next;       /* the next child */
    size_t name_len;   /* of the path to node */
};

static size_t n_children(const struct tv_pkl *v)
{
    return v->kind == TV_PKL_DICT ? v->as.seq.n / 2 : v->as.seq.n;
}

static const struct tv_pkl *child(const struct tv_pkl *v, size_t i, const struct tv_pkl **key)
{
    if (v->kind == TV_PKL_DICT) {
        *key = v->as.seq.items[2 * i];
        return v->as.seq.items[2 * i + 1];
    }
    *key = NULL;
    return v->as.seq.items[i];
}

static int spend(struct reader *r)
{
    if (r->budget == 0)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: the pickle's containers refer to each "
                            "other too often to walk (more visits than 8 per object)",
                            r->file);
    r->budget--;
    return 0;
}

static int add_entry(struct reader *r, const struct tv_pkl *node)
{
    if (tv_grow((void **)&r->entries, &r->cap_entries, r->n_entries + 1, sizeof *r->entries,
                r->err) < 0)
        return -1;
    struct entry *e = &r->entries[r->n_entries];
    memset(e, 0, sizeof *e);
    e->name = tv_strndup(r->path, r->path_len);
    if (!e->name)
        return oom(r);
    e->name_len = r->path_len;
    e->node = node;
    e->pickle_offset = node->offset;
    r->n_entries++;
    return 0;
}

/*
 * Walks the containers under root (named by r->path), depth first without recursion.
 * Collecting: every tensor becomes an entry. Probing (collect false): returns 1 at the
 * first tensor found, 0 when there is none. -1 with err.
 */
static int walk(struct reader *r, const struct tv_pkl *root, bool collect)
{
    struct frame stack[MAX_WALK_DEPTH];
    size_t depth = 0;
    size_t base_len = r->path_len;
    int rc = 0;
    if (spend(r) < 0)
        return -1;
    if (is_tensor(root))
        return collect ? add_entry(r, root) : 1;
    if (!is_container(root))
        return 0;
    stack[depth++] = (struct frame){root, 0, base_len};
    while (depth) {
        struct frame *f = &stack[depth - 1];
        if (f->next >= n_children(f->node)) {
            depth--;
            continue;
        }
        size_t i = f->next++;
        const struct tv_pkl *key, *value = child(f->node, i, &key);
        if (spend(r) < 0) {
            rc = -1;
            break;
        }
        if (!is_tensor(value) && !is_container(value))
            continue; /* numbers, strings, None: checkpoint metadata */
        if (!collect && is_tensor(value)) {
            rc = 1;
            break;
        }
        if (depth == MAX_WALK_DEPTH && !is_tensor(value)) {
            rc = tv_error_set(r->err, TV_ERR_LIMIT, "%s: '%.200s' holds containers nested "
                              "more than %d deep (or a container that holds itself)", r->file,
                              f->name_len && r->path ? r->path : "(the top)", MAX_WALK_DEPTH);
            break;
        }
        if (!collect) { /* probing: no names needed */
            stack[depth++] = (struct frame){value, 0, 0};
            continue;
        }
        char num[32];
        const char *text;
        size_t len;
        r->path_len = f->name_len; /* the parent's name, for messages */
        if (r->path)
            r->path[r->path_len] = '\0';
        if (!key) {
            len = (size_t)snprintf(num, sizeof num, "%zu", i);
            text = num;
        } else if (key_text(r, key, num, sizeof num, &text, &len) < 0) {
            rc = -1;
            break;
        }
        if (path_set(r, f->name_len, text, len) < 0) {
            rc = -1;
            break;
        }
        if (is_tensor(value)) {
            if (add_entry(r, value) < 0) {
                rc = -1;
                break;
            }
            continue;
        }
        stack[depth++] = (struct frame){value, 0, r->path_len};
    }
    r->path_len = base_len;
    if (r->path)
        r->path[base_len] = '\0';
    return rc;
}

/* ---- choosing the part to read ------------------------------------------------------ */

static const char *const preferred_keys[] = {
    "state_dict", "model_state_dict", "model", "module", "ema", "model_ema", "net",
    "network", "params", "weights", "generator",
};

static int append_key_path(struct reader *r, const char *text, size_t len)
{
    size_t old = r->key_path ? strlen(r->key_path) : 0;
    char *joined = tv_realloc(r->key_path, old + (old ? 1 : 0) + len + 1);
    if (!joined)
        return oom(r);
    r->key_path = joined;
    if (old)
        joined[old++] = '/';
    memcpy(joined + old, text, len);
    joined[old + len] = '\0';
    return 0;
}

/* The text of a string or integer key for a message or a --key match (other keys:
   false). */
static bool plain_key(const struct tv_pkl *v, size_t i, char *num, size_t cap,
                      const char **text, size_t *len)
{
    const struct tv_pkl *key;
    child(v, i, &key);
    if (!key || key->kind == TV_PKL_INT) {
        *len = (size_t)snprintf(num, cap, "%lld", key ? (long long)key->as.i : (long long)i);
        *text = num;
        return true;
    }
    if (key->kind != TV_PKL_STR)
        return false;
    *text = (const char *)key->as.bytes.ptr;
    *len = key->as.bytes.len;
    return true;
}

/* Lists up to five keys of a container for a message (only those marked, if only). */
static void list_keys(const struct tv_pkl *v, const bool *only, char *out, size_t cap)
{
    size_t o = 0, shown = 0, n = n_children(v);
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        char num[32], q[80];
        const char *text;
        size_t len;
        if ((only && !only[i]) || !plain_key(v, i, num, sizeof num, &text, &len))
            continue;
        if (shown == 5) {
            snprintf(out + o, cap - o, ", ...");
            break;
        }
        tv_quote(q, sizeof q, text, len);
        int w = snprintf(out + o, cap - o, "%s'%s'", shown ? ", " : "", q);
        o = w < 0 || (size_t)w >= cap - o ? cap - 1 : o + (size_t)w;
        shown++;
    }
}

/* Follows --key: '/' separates the keys of nested dicts (or list indices). */
static int follow_key(struct reader *r, const char *key_path, const struct tv_pkl **out)
{
    const struct tv_pkl *v = r->root;
    const char *p = key_path;
    while (true) {
        size_t len = strcspn(p, "/");
        if (!is_container(v))
            return tv_error_set(r->err, TV_ERR_NOTFOUND, "%s: --key '%s': '%.*s' is inside a "
                                "%s, not a dict", r->file, key_path, (int)len, p,
                                tv_pkl_kind_name(v->kind));
        const struct tv_pkl *found = NULL;
        for (size_t i = 0; i < n_children(v) && !found; i++) {
            char num[32];
            const char *text;
            size_t tlen;
            const struct tv_pkl *k, *value = child(v, i, &k);
            if (plain_key(v, i, num, sizeof num, &text, &tlen) && tlen == len &&
                memcmp(text, p, len) == 0)
                found = value;
        }
        if (!found) {
            char keys[300];
            list_keys(v, NULL, keys, sizeof keys);
            return tv_error_set(r->err, TV_ERR_NOTFOUND, "%s: --key '%s': no key '%.*s' (the "
                                "keys there: %s)", r->file, key_path, (int)len, p,
                                keys[0] ? keys : "none");
        }
        if (append_key_path(r, p, len) < 0)
            return -1;
        v = found;
        p += len;
        if (!*p)
            break;
        p++;
    }
    *out = v;
    return 0;
}

/* Without --key: see the comment at the top of the file. */
static int choose_part(struct reader *r, const struct tv_pkl **out)
{
    const struct tv_pkl *v = r->root;
    bool *holds = NULL;
    int rc = -1;
    for (int level = 0; level < 4 && is_container(v); level++) {
        size_t n = n_children(v);
        bool direct = false;
        for (size_t i = 0; i < n && !direct; i++) {
            const struct tv_pkl *key;
            direct = is_tensor(child(v, i, &key));
        }
        if (direct || n == 0)
            break;
        tv_free(holds);
        holds = tv_calloc(n, sizeof *holds);
        if (!holds) {
            oom(r);
            goto out;
        }
        size_t n_holding = 0, last = 0;
        for (size_t i = 0; i < n; i++) {
            const struct tv_pkl *key, *value = child(v, i, &key);
            if (!is_container(value))
                continue;
            int found = walk(r, value, false);
            if (found < 0)
                goto out;
            holds[i] = found == 1;
            if (found == 1) {
                n_holding++;
                last = i;
            }
        }
        if (n_holding == 0)
            break;
        size_t pick = last;
        if (n_holding > 1) {
            bool chosen = false;
            for (size_t k = 0; k < TV_ARRAY_SIZE(preferred_keys) && !chosen; k++)
                for (size_t i = 0; i < n && !chosen; i++) {
                    const struct tv_pkl *key;
                    child(v, i, &key);
                    if (holds[i] && key && tv_pkl_is_str(key, preferred_keys[k])) {
                        pick = i;
                        chosen = true;
                    }
                }
            if (!chosen) {
                char keys[300];
                list_keys(v, holds, keys, sizeof keys);
                tv_error_set(r->err, TV_ERR_USAGE, "%s: tensors sit under %zu keys (%s)%s%s: "
                             "choose one with --key", r->file, n_holding, keys,
                             r->key_path ? " of " : "", r->key_path ? r->key_path : "");
                goto out;
            }
        }
        const struct tv_pkl *key, *value = child(v, pick, &key);
        char num[32];
        const char *text = num;
        size_t len;
        if (!key)
            len = (size_t)snprintf(num, sizeof num, "%zu", pick);
        else if (key_text(r, key, num, sizeof num, &text, &len) < 0)
            goto out;
        if (append_key_path(r, text, len) < 0)
            goto out;
        v = value;
    }
    *out = v;
    rc = 0;
out:
    tv_free(holds);
    return rc;
}

/* ---- interpreting a tensor --------------------------------------------------------- */

static int tensor_fail(struct reader *r, const struct entry *e, const struct tv_pkl *at,
                       const char *fmt, ...) TV_PRINTF(4, 5);
static int tensor_fail(struct reader *r, const struct entry *e, const struct tv_pkl *at,
                       const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char name[160];
    tv_quote(name, sizeof name, e->name, e->name_len);
    return tv_error_set(r->err, TV_ERR_DATA, "%s: tensor '%s' (pickle offset %zu): %s",
                        r->file, name, at ? at->offset : e->pickle_offset, msg);
}

static int get_uint(struct reader *r, const struct entry *e, const struct tv_pkl *v,
                    const char *what, uint64_t *out)
{
    if (!v || v->kind != TV_PKL_INT || v->as.i < 0)
        return tensor_fail(r, e, v, "%s is %s, not a count", what,
                           !v ? "missing" : v->kind == TV_PKL_INT ? "negative"
                                                                  : tv_pkl_kind_name(v->kind));
    *out = (uint64_t)v->as.i;
    return 0;
}

static int global_name(const struct tv_pkl *g, char *out, size_t cap)
{
    return snprintf(out, cap, "%.*s.%.*s", (int)g->as.global.module_len, g->as.global.module,
                    (int)g->as.global.name_len, g->as.global.name);
}

/* The storage a persistent id names: registered once per key. */
static int read_persid(struct reader *r, struct entry *e, const struct tv_pkl *arg)
{
    if (!arg || arg->kind != TV_PKL_PERSID)
        return tensor_fail(r, e, arg, "the storage is %s, not a persistent id",
                           arg ? tv_pkl_kind_name(arg->kind) : "missing");
    size_t n;
    struct tv_pkl *const *id = tv_pkl_tuple(arg->as.persid, &n);
    if (!id || (n != 5 && n != 6) || !tv_pkl_is_str(id[0], "storage"))
        return tensor_fail(r, e, arg, "the persistent id is not ('storage', class, key, "
                           "location, numel)");
    if (n == 6 && !r->legacy)
        return tensor_fail(r, e, arg, "a legacy storage view in a zip checkpoint");
    if (!is_global_kind(id[1], K_STORAGE))
        return tensor_fail(r, e, id[1], "the storage class is %s, not a torch storage class",
                           tv_pkl_kind_name(id[1]->kind));
    char cls[128];
    global_name(id[1], cls, sizeof cls);
    if (global_dtype[id[1]->as.global.id] == NO_DTYPE)
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: tensor '%.200s': storage class %s "
                            "holds a dtype tokvec does not have", r->file, e->name, cls);
    enum tv_dtype dtype = (enum tv_dtype)global_dtype[id[1]->as.global.id];
    if (id[2]->kind != TV_PKL_STR || id[2]->as.bytes.len == 0 || id[2]->as.bytes.len > 256)
        return tensor_fail(r, e, id[2], "the storage key is not a short string");
    uint64_t numel = 0, n_bytes = 0; /* set by get_uint; gcc -O2 cannot see it */
    if (get_uint(r, e, id[4], "the storage's element count", &numel) < 0)
        return -1;
    if (!tv_mul_u64_fits(numel, element_size(dtype), &n_bytes) || n_bytes > SIZE_MAX)
        return tensor_fail(r, e, id[4], "a storage of %llu %s elements does not fit in memory",
                           (unsigned long long)numel, tv_dtype_name(dtype));
    const char *key = (const char *)id[2]->as.bytes.ptr;
    size_t key_len = id[2]->as.bytes.len;
    if (memchr(key, '/', key_len) || memchr(key, '\0', key_len) ||
        (key_len <= 2 && memcmp(key, "..", key_len) == 0))
        return tensor_fail(r, e, id[2], "the storage key '%.*s' is not a plain name",
                           (int)key_len, key);
    uint64_t at;
    if (tv_strmap_get(&r->storage_index, key, key_len, &at)) {
        const struct storage *s = &r->storages[at];
        if (s->dtype != dtype || s->numel != numel)
            return tensor_fail(r, e, arg, "storage '%.*s' is %s x %llu here but %s x %llu "
                               "elsewhere", (int)key_len, key, cls, (unsigned long long)numel,
                               s->class_name, (unsigned long long)s->numel);
    } else {
        if (tv_grow((void **)&r->storages, &r->cap_storages, r->n_storages + 1,
                    sizeof *r->storages, r->err) < 0)
            return -1;
        const char *name = tv_model_strdup(r->m, cls, strlen(cls));
        if (!name || tv_strmap_put(&r->storage_index, key, key_len, r->n_storages, NULL) < 0)
            return oom(r);
        r->storages[r->n_storages] = (struct storage){
            .key = key, .key_len = key_len, .dtype = dtype, .class_name = name,
            .numel = numel, .n_bytes = n_bytes, .file_offset = UINT64_MAX, .member = -1};
        at = r->n_storages++;
    }
    e->storage = (size_t)at;
    e->base_bytes = 0;
    e->limit_bytes = n_bytes;
    if (n == 6 && id[5]->kind != TV_PKL_NONE) {
        /* (view key, offset, size): a view storage inside the root storage */
        size_t vn;
        struct tv_pkl *const *view = tv_pkl_tuple(id[5], &vn);
        uint64_t off, size, end;
        if (!view || vn != 3)
            return tensor_fail(r, e, id[5], "the storage view is not (key, offset, size)");
        if (get_uint(r, e, view[1], "the storage view's offset", &off) < 0 ||
            get_uint(r, e, view[2], "the storage view's size", &size) < 0)
            return -1;
        if (!tv_add_u64_fits(off, size, &end) || end > numel)
            return tensor_fail(r, e, id[5], "a storage view of %llu elements at %llu runs past "
                               "its storage of %llu", (unsigned long long)size,
                               (unsigned long long)off, (unsigned long long)numel);
        e->base_bytes = off * element_size(dtype);
        e->limit_bytes = size * element_size(dtype);
    }
    return 0;
}

/* Fills e's view from its node. */
static int interpret(struct reader *r, struct entry *e)
{
    const struct tv_pkl *v = e->node;
    const struct tv_pkl *callable = v->as.call.callable;
    size_t n;
    struct tv_pkl *const *args = tv_pkl_tuple(v->as.call.args, &n);
    for (int unwrap = 0; unwrap < 4; unwrap++) {
        enum gkind kind = kind_of(callable);
        if (kind == K_PARAMETER) {
            if (n < 1 || !is_tensor(args[0]))
                return tensor_fail(r, e, v, "a parameter without a tensor inside");
            v = args[0];
            callable = v->as.call.callable;
            args = tv_pkl_tuple(v->as.call.args, &n);
            continue;
        }
        if (kind == K_FROM_TYPE) {
            if (n < 3 || args[0]->kind != TV_PKL_GLOBAL || !is_global_kind(args[1], K_TENSOR_CLASS) ||
                args[2]->kind != TV_PKL_TUPLE)
                return tensor_fail(r, e, v, "_rebuild_from_type_v2 of something other than a "
                                   "tensor or parameter");
            callable = args[0];
            args = tv_pkl_tuple(args[2], &n);
            continue;
        }
        break;
    }
    enum gkind kind = kind_of(callable);
    size_t need = kind == K_REBUILD_V1 ? 4 : kind == K_REBUILD_V2 ? 6 : 7;
    if (kind != K_REBUILD_V1 && kind != K_REBUILD_V2 && kind != K_REBUILD_V3) {
        char g[128];
        global_name(callable, g, sizeof g);
        return tensor_fail(r, e, v, "%s does not rebuild a tensor", g);
    }
    if (n < need)
        return tensor_fail(r, e, v, "%zu arguments to rebuild a tensor (%zu needed)", n, need);
    if (read_persid(r, e, args[0]) < 0)
        return -1;
    const struct storage *s = &r->storages[e->storage];
    e->dtype = s->dtype;
    if (kind == K_REBUILD_V3) {
        if (!is_global_kind(args[6], K_DTYPE))
            return tensor_fail(r, e, args[6], "the dtype is %s, not a torch dtype",
                               tv_pkl_kind_name(args[6]->kind));
        if (global_dtype[args[6]->as.global.id] == NO_DTYPE) {
            char g[128];
            global_name(args[6], g, sizeof g);
            return tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: tensor '%.200s': dtype %s has "
                                "no tokvec equivalent", r->file, e->name, g);
        }
        e->dtype = (enum tv_dtype)global_dtype[args[6]->as.global.id];
    }
    if (get_uint(r, e, args[1], "the storage offset", &e->offset) < 0)
        return -1;
    size_t n_size, n_stride;
    struct tv_pkl *const *size = tv_pkl_tuple(args[2], &n_size);
    struct tv_pkl *const *stride = tv_pkl_tuple(args[3], &n_stride);
    if (args[2]->kind != TV_PKL_TUPLE || args[3]->kind != TV_PKL_TUPLE)
        return tensor_fail(r, e, v, "the size and stride are a %s and a %s, not tuples",
                           tv_pkl_kind_name(args[2]->kind), tv_pkl_kind_name(args[3]->kind));
    if (n_size != n_stride)
        return tensor_fail(r, e, v, "%zu sizes but %zu strides", n_size, n_stride);
    if (n_size > TV_MAX_DIMS)
        return tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: tensor '%.200s' has %zu dimensions "
                            "(tokvec holds at most %d)", r->file, e->name, n_size, TV_MAX_DIMS);
    e->n_dims = (uint32_t)n_size;
    e->n_elements = 1;
    for (size_t i = 0; i < n_size; i++) {
        if (get_uint(r, e, size[i], "a size", &e->shape[i]) < 0 ||
            get_uint(r, e, stride[i], "a stride", &e->stride[i]) < 0)
            return -1;
        if (!tv_mul_u64_fits(e->n_elements, e->shape[i], &e->n_elements))
            return tensor_fail(r, e, v, "the element count overflows 64 bits");
    }
    return 0;
}

/* Whether the view lies inside its storage: its last element (the largest offset any
   index reaches) ends within the storage's bytes. */
static int check_bounds(struct reader *r, const struct entry *e)
{
    size_t es = element_size(e->dtype);
    uint64_t reach = e->offset, end;
    if (e->n_elements == 0) {
        if (!tv_mul_u64_fits(e->offset, es, &end) || end > e->limit_bytes)
            return tensor_fail(r, e, NULL, "offset %llu lies past its storage of %llu bytes",
                               (unsigned long long)e->offset,
                               (unsigned long long)e->limit_bytes);
        return 0;
    }
    for (uint32_t i = 0; i < e->n_dims; i++) {
        uint64_t step;
        if (!tv_mul_u64_fits(e->shape[i] - 1, e->stride[i], &step) ||
            !tv_add_u64_fits(reach, step, &reach))
            return tensor_fail(r, e, NULL, "its strides reach past 2^64 elements");
    }
    if (!tv_add_u64_fits(reach, 1, &end) || !tv_mul_u64_fits(end, es, &end) ||
        end > e->limit_bytes) {
        const struct storage *s = &r->storages[e->storage];
        return tensor_fail(r, e, NULL, "its view (offset %llu, last element %llu, %s) runs past "
                           "storage '%.*s' of %llu bytes", (unsigned long long)e->offset,
                           (unsigned long long)reach, tv_dtype_name(e->dtype), (int)s->key_len,
                           s->key, (unsigned long long)e->limit_bytes);
    }
    return 0;
}

static bool contiguous(const struct entry *e)
{
    uint64_t expected = 1;
    for (uint32_t i = e->n_dims; i-- > 0;) {
        if (e->shape[i] > 1 && e->stride[i] != expected)
            return false;
        expected *= e->shape[i]; /* bounded by n_elements, which did not overflow */
    }
    return true;
}

/* Copies a strided view into a buffer of its own (kept by the model). */
static int materialise(struct reader *r, struct entry *e, const uint8_t *base)
{
    size_t es = element_size(e->dtype);
    uint64_t n_bytes;
    if (!tv_mul_u64_fits(e->n_elements, es, &n_bytes) || n_bytes > SIZE_MAX ||
        n_bytes > r->materialise_cap - r->materialised)
        return tv_error_set(r->err, TV_ERR_LIMIT, "%s: tensor '%.200s': copying its strided "
                            "view (%llu elements) would take the bytes copied from this file "
                            "past %llu (the file's size plus %llu MiB)", r->file, e->name,
                            (unsigned long long)e->n_elements,
                            (unsigned long long)r->materialise_cap,
                            TV_PYTORCH_MAX_COPY_EXTRA >> 20);
    uint8_t *buf = tv_malloc((size_t)n_bytes);
    if (!buf)
        return oom(r);
    r->materialised += n_bytes;
    uint32_t nd = e->n_dims;
    uint64_t inner = e->shape[nd - 1], inner_stride = e->stride[nd - 1];
    uint64_t rows = e->n_elements / inner, idx[TV_MAX_DIMS] = {0};
    uint8_t *out = buf;
    for (uint64_t row = 0; row < rows; row++) {
        uint64_t at = e->offset;
        for (uint32_t d = 0; d + 1 < nd; d++)
            at += idx[d] * e->stride[d];
        if (inner_stride == 1) {
            memcpy(out, base + at * es, (size_t)(inner * es));
            out += inner * es;
        } else {
            for (uint64_t k = 0; k < inner; k++, out += es)
                memcpy(out, base + (at + k * inner_stride) * es, es);
        }
        for (uint32_t d = nd - 1; d-- > 0;) { /* the odometer over the outer dimensions */
            if (++idx[d] < e->shape[d])
                break;
            idx[d] = 0;
        }
    }
    char name[300];
    snprintf(name, sizeof name, "%s:%s", r->file, e->name);
    tv_blob *owned = tv_blob_adopt(buf, (size_t)n_bytes, name, r->err);
    if (!owned || tv_model_add_blob(r->m, owned, r->err) < 0) {
        tv_blob_unref(owned);
        return -1;
    }
    tv_blob_unref(owned);
    e->data = buf;
    e->file_offset = 0;
    return 0;
}

/* ---- finishing: bounds, data pointers, ties, the model ------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_view(const void *pa, const void *pb, void *ctx)
{
    const struct entry *entries = ctx;
    const struct entry *a = &entries[*(const size_t *)pa], *b = &entries[*(const size_t *)pb];
    int c;
    if ((c = cmp_u64(a->storage, b->storage)) || (c = cmp_u64(a->base_bytes, b->base_bytes)) ||
        (c = cmp_u64(a->dtype, b->dtype)) || (c = cmp_u64(a->offset, b->offset)) ||
        (c = cmp_u64(a->n_dims, b->n_dims)))
        return c;
    for (uint32_t i = 0; i < a->n_dims; i++)
        if ((c = cmp_u64(a->shape[i], b->shape[i])) || (c = cmp_u64(a->stride[i], b->stride[i])))
            return c;
    return cmp_u64(*(const size_t *)pa, *(const size_t *)pb); /* entry order within a group */
}

static bool same_view(const struct entry *a, const struct entry *b)
{
    if (a->storage != b->storage || a->base_bytes != b->base_bytes || a->dtype != b->dtype ||
        a->offset != b->offset || a->n_dims != b->n_dims)
        return false;
    for (uint32_t i = 0; i < a->n_dims; i++)
        if (a->shape[i] != b->shape[i] || a->stride[i] != b->stride[i])
            return false;
    return true;
}

/* "pytorch.tied": one string per group of tensors that view the same bytes. */
static int record_ties(struct reader *r, const size_t *order)
{
    struct tv_str *groups = NULL;
    size_t n_groups = 0, cap_groups = 0;
    int rc = -1;
    for (size_t k = 0; k < r->n_entries;) {
        size_t end = k + 1;
        while (end < r->n_entries && r->entries[order[end]].group == r->entries[order[k]].group)
            end++;
        if (end - k > 1 && r->entries[order[k]].n_elements > 0) {
            size_t len = 0;
            for (size_t j = k; j < end; j++)
                len += r->entries[order[j]].name_len + 3;
            char *text = tv_malloc(len + 1);
            if (!text) {
                oom(r);
                goto out;
            }
            size_t o = 0;
            for (size_t j = k; j < end; j++) {
                const struct entry *e = &r->entries[order[j]];
                if (j > k) {
                    memcpy(text + o, " = ", 3);
                    o += 3;
                }
                memcpy(text + o, e->name, e->name_len);
                o += e->name_len;
            }
            const char *copy = tv_model_strdup(r->m, text, o);
            tv_free(text);
            if (!copy ||
                tv_grow((void **)&groups, &cap_groups, n_groups + 1, sizeof *groups, r->err) < 0) {
                oom(r);
                goto out;
            }
            groups[n_groups++] = (struct tv_str){copy, o};
        }
        k = end;
    }
    if (n_groups) {
        struct tv_str *kept = tv_arena_alloc(&r->m->arena, n_groups * sizeof *kept);
        if (!kept) {
            oom(r);
            goto out;
        }
        memcpy(kept, groups, n_groups * sizeof *kept);
        struct tv_value value = {.type = TV_VALUE_ARRAY};
        value.as.arr = (struct tv_array){.elem_type = TV_VALUE_STRING, .n = n_groups,
                                         .data = kept};
        if (tv_model_add_meta(r->m, "pytorch.tied", 12, &value, TV_ORIGIN_OTHER, r->file,
                              r->err) < 0)
            goto out;
    }
    rc = 0;
out:
    tv_free(groups);
    return rc;
}

static int add_tensors(struct reader *r)
{
    int rc = -1;
    size_t *order = r->n_entries ? tv_malloc(r->n_entries * sizeof *order) : NULL;
    if (r->n_entries && !order)
        return oom(r);
    for (size_t i = 0; i < r->n_entries; i++)
        order[i] = i;
    if (r->n_entries > 1)
        qsort_r(order, r->n_entries, sizeof *order, cmp_view, r->entries);
    for (size_t k = 0; k < r->n_entries; k++) {
        struct entry *e = &r->entries[order[k]];
        if (k > 0 && same_view(e, &r->entries[order[k - 1]])) {
            const struct entry *first = &r->entries[r->entries[order[k - 1]].group];
            e->group = (size_t)(first - r->entries);
            e->data = first->data;
            e->file_offset = first->file_offset;
            continue;
        }
        e->group = order[k];
        if (check_bounds(r, e) < 0)
            goto out;
        const struct storage *s = &r->storages[e->storage];
        const uint8_t *base = s->data + e->base_bytes;
        size_t es = element_size(e->dtype);
        if (contiguous(e) || e->n_elements == 0) {
            e->data = base + e->offset * es;
            e->file_offset = s->file_offset == UINT64_MAX
                                 ? 0 : s->file_offset + e->base_bytes + e->offset * es;
        } else if (materialise(r, e, base) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        const struct entry *e = &r->entries[i];
        if (tv_model_add_tensor(r->m, e->name, e->name_len, e->dtype, e->n_dims, e->shape,
                                r->file, e->file_offset, e->data, r->err) < 0)
            goto out;
    }
    rc = record_ties(r, order);
out:
    tv_free(order);
    return rc;
}

/* ---- the zip layout ---------------------------------------------------------------- */

struct zip {
    tv_archive *ar;
    char *prefix;          /* "archive/" or "" */
    long data_pkl, byteorder;
};

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t k = strlen(suffix);
    return len >= k && memcmp(s + len - k, suffix, k) == 0;
}

/* Finds <prefix>/data.pkl (one folder deep, or at the root). */
static int zip_layout(struct reader *r, struct zip *z)
{
    size_t n = tv_archive_member_count(z->ar);
    z->data_pkl = z->byteorder = -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = tv_archive_member_name(z->ar, i);
        size_t len = strlen(name);
        if (!has_suffix(name, len, "data.pkl"))
            continue;
        size_t plen = len - 8;
        const char *slash = memchr(name, '/', plen);
        if (plen && (name[plen - 1] != '/' || slash != name + plen - 1))
            continue; /* not <folder>/data.pkl */
        if (z->data_pkl >= 0)
            return tv_error_set(r->err, TV_ERR_DATA, "%s: two pickles: '%.200s' and '%.200s'",
                                r->file, tv_archive_member_name(z->ar, (size_t)z->data_pkl),
                                name);
        z->data_pkl = (long)i;
        z->prefix = tv_strndup(name, plen);
        if (!z->prefix)
            return oom(r);
    }
    if (z->data_pkl < 0)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: a zip without data.pkl: not a PyTorch "
                            "checkpoint", r->file);
    for (size_t i = 0; i < n; i++) {
        const char *name = tv_archive_member_name(z->ar, i);
        size_t plen = strlen(z->prefix);
        if (strncmp(name, z->prefix, plen) == 0 && strcmp(name + plen, "byteorder") == 0)
            z->byteorder = (long)i;
    }
    return 0;
}

static int check_byteorder(struct reader *r, struct zip *z)
{
    if (z->byteorder < 0)
        return 0; /* written before PyTorch 1.12: little-endian */
    tv_blob *b = tv_archive_read(z->ar, tv_archive_member_name(z->ar, (size_t)z->byteorder),
                                 r->err);
    if (!b)
        return -1;
    int rc = 0;
    size_t len = b->len;
    while (len && (b->data[len - 1] == '\n' || b->data[len - 1] == '\r'))
        len--;
    if (len == 3 && memcmp(b->data, "big", 3) == 0)
        rc = tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: a big-endian checkpoint (byteorder "
                          "says \"big\"); tokvec reads little-endian ones only", r->file);
    else if (len != 6 || memcmp(b->data, "little", 6) != 0)
        rc = tv_error_set(r->err, TV_ERR_DATA, "%s: byteorder holds %zu bytes, not \"little\" "
                          "or \"big\"", r->file, b->len);
    tv_blob_unref(b);
    return rc;
}

static int cmp_member(const void *pa, const void *pb, void *ctx)
{
    const struct storage *s = ctx;
    return cmp_u64((uint64_t)s[*(const size_t *)pa].member, (uint64_t)s[*(const size_t *)pb].member);
}

/* Reads each storage's member, in archive order (the archive reads forward). */
static int zip_storages(struct reader *r, struct zip *z)
{
    int rc = -1;
    size_t plen = strlen(z->prefix), n = tv_archive_member_count(z->ar);
    size_t *order = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *name = tv_archive_member_name(z->ar, i);
        if (strncmp(name, z->prefix, plen) != 0 || strncmp(name + plen, "data/", 5) != 0)
            continue;
        const char *key = name + plen + 5;
        uint64_t at;
        if (tv_strmap_get(&r->storage_index, key, strlen(key), &at) && r->storages[at].member < 0)
            r->storages[at].member = (long)i;
    }
    if (r->n_storages && !(order = tv_malloc(r->n_storages * sizeof *order))) {
        oom(r);
        goto out;
    }
    for (size_t i = 0; i < r->n_storages; i++) {
        const struct storage *s = &r->storages[i];
        if (s->member < 0) {
            tv_error_set(r->err, TV_ERR_DATA, "%s: storage '%.*s' (%sdata/%.*s) is not in the "
                         "zip", r->file, (int)s->key_len, s->key, z->prefix, (int)s->key_len,
                         s->key);
            goto out;
        }
        order[i] = i;
    }
    if (r->n_storages > 1)
        qsort_r(order, r->n_storages, sizeof *order, cmp_member, r->storages);
    for (size_t k = 0; k < r->n_storages; k++) {
        struct storage *s = &r->storages[order[k]];
        const char *name = tv_archive_member_name(z->ar, (size_t)s->member);
        tv_blob *b = tv_archive_read(z->ar, name, r->err);
        if (!b)
            goto out;
        if (tv_model_add_blob(r->m, b, r->err) < 0) {
            tv_blob_unref(b);
            goto out;
        }
        tv_blob_unref(b); /* the model holds it */
        if (b->len < s->n_bytes) {
            tv_error_set(r->err, TV_ERR_DATA, "%s: storage '%.*s' holds %zu bytes but is "
                         "declared as %llu %s elements (%llu bytes)", r->file, (int)s->key_len,
                         s->key, b->len, (unsigned long long)s->numel, s->class_name,
                         (unsigned long long)s->n_bytes);
            goto out;
        }
        s->data = b->data ? b->data : (const uint8_t *)""; /* an empty member */
        if (b->data >= r->blob->data && b->data <= r->blob->data + r->blob->len)
            s->file_offset = (uint64_t)(b->data - r->blob->data);
    }
    rc = 0;
out:
    tv_free(order);
    return rc;
}

static const struct tv_pickle_options *pickle_options(const char *what,
                                                      struct tv_pickle_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->globals = globals;
    opt->n_globals = TV_ARRAY_SIZE(globals);
    opt->file = what;
    return opt;
}

/* Chooses the part, collects its tensors, interprets them. */
static int collect(struct reader *r)
{
    const struct tv_pkl *part = NULL;
    const char *key = r->m->opt.pytorch_key;
    if ((key && *key ? follow_key(r, key, &part) : choose_part(r, &part)) < 0)
        return -1;
    const char *root_name = "tensor";
    if (r->key_path) {
        const char *slash = strrchr(r->key_path, '/');
        root_name = slash ? slash + 1 : r->key_path;
    }
    if (is_tensor(part) && path_set(r, 0, root_name, strlen(root_name)) < 0)
        return -1;
    if (walk(r, part, true) < 0)
        return -1;
    if (r->n_entries == 0)
        return tv_error_set(r->err, TV_ERR_DATA, "%s: no tensors in the checkpoint%s%s (the "
                            "pickle holds a %s)", r->file, r->key_path ? " under " : "",
                            r->key_path ? r->key_path : "", tv_pkl_kind_name(part->kind));
    for (size_t i = 0; i < r->n_entries; i++)
        if (interpret(r, &r->entries[i]) < 0)
            return -1;
    if (r->key_path) {
        struct tv_value value = {.type = TV_VALUE_STRING};
        const char *copy = tv_model_strdup(r->m, r->key_path, strlen(r->key_path));
        if (!copy)
            return oom(r);
        value.as.str = (struct tv_str){copy, strlen(copy)};
        if (tv_model_add_meta(r->m, "pytorch.key", 11, &value, TV_ORIGIN_OTHER, r->file,
                              r->err) < 0)
            return -1;
    }
    return 0;
}

static int read_zip(struct reader *r)
{
    struct zip z = {0};
    tv_blob *pkl_blob = NULL;
    tv_pickle *pkl = NULL;
    int rc = -1;
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &r->m->opt);
    z.ar = tv_archive_open(r->blob, &lim, r->err);
    if (!z.ar || zip_layout(r, &z) < 0 || check_byteorder(r, &z) < 0)
        goto out;
    pkl_blob = tv_archive_read(z.ar, tv_archive_member_name(z.ar, (size_t)z.data_pkl), r->err);
    if (!pkl_blob)
        goto out;
    struct tv_pickle_options opt; /* offsets in messages: within data.pkl */
    pkl = tv_pickle_load(pkl_blob->data, pkl_blob->len, pickle_options(pkl_blob->name, &opt),
                         NULL, r->err);
    if (!pkl)
        goto out;
    r->root = tv_pickle_root(pkl);
    r->budget = 8 * tv_pickle_object_count(pkl) + 4096;
    if (collect(r) < 0)
        goto out;
    tv_pickle_free(pkl); /* the views hold what they need; keys point into data.pkl */
    pkl = NULL;
    r->root = NULL;
    if (zip_storages(r, &z) < 0 || add_tensors(r) < 0)
        goto out;
    rc = 0;
out:
    tv_pickle_free(pkl);
    tv_blob_unref(pkl_blob);
    tv_archive_free(z.ar);
    tv_free(z.prefix);
    return rc;
}

/* ---- the legacy layout ------------------------------------------------------------- */

static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19};

/* Registers every storage a persistent id names anywhere in the object (the raw
   section holds them all, also those outside the part that is read). */
struct pid_scan {
    struct reader *r;
    struct entry scratch;
};

static int scan_persid(const struct tv_pkl *v, void *ctx)
{
    struct pid_scan *scan = ctx;
    if (v->kind != TV_PKL_PERSID)
        return 0;
    scan->scratch.node = v;
    scan->scratch.pickle_offset = v->offset;
    return read_persid(scan->r, &scan->scratch, v) < 0 ? -1 : 0;
}

static int read_legacy(struct reader *r)
{
    const uint8_t *buf = r->blob->data;
    size_t len = r->blob->len, pos = 0, used;
    tv_pickle *parts[5] = {NULL};
    static const char *const what[5] = {"the magic number", "the protocol version",
                                        "sys_info", "the object", "the storage keys"};
    char label[5][320];
    int rc = -1;
    for (int i = 0; i < 5; i++) {
        snprintf(label[i], sizeof label[i], "%s (%s, a pickle at offset %zu)", r->file,
                 what[i], pos);
        struct tv_pickle_options opt;
        parts[i] = tv_pickle_load(buf + pos, len - pos, pickle_options(label[i], &opt), &used,
                                  r->err);
        if (!parts[i])
            goto out;
        pos += used;
    }
    const struct tv_pkl *magic = tv_pickle_root(parts[0]);
    const struct tv_pkl *version = tv_pickle_root(parts[1]);
    const struct tv_pkl *sys_info = tv_pickle_root(parts[2]);
    const struct tv_pkl *keys = tv_pickle_root(parts[4]);
    if (magic->kind != TV_PKL_BIGINT || magic->as.bytes.len != 10 ||
        memcmp(magic->as.bytes.ptr, legacy_magic, 10) != 0) {
        tv_error_set(r->err, TV_ERR_DATA, "%s: not a PyTorch checkpoint (no magic number)",
                     r->file);
        goto out;
    }
    if (version->kind != TV_PKL_INT || version->as.i != 1001) {
        tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: legacy protocol version %lld (tokvec reads "
                     "1001)", r->file, version->kind == TV_PKL_INT ? (long long)version->as.i : -1);
        goto out;
    }
    if (sys_info->kind == TV_PKL_DICT)
        for (size_t i = 0; i + 1 < sys_info->as.seq.n; i += 2)
            if (tv_pkl_is_str(sys_info->as.seq.items[i], "little_endian") &&
                sys_info->as.seq.items[i + 1]->kind == TV_PKL_BOOL &&
                !sys_info->as.seq.items[i + 1]->as.b) {
                tv_error_set(r->err, TV_ERR_UNSUPPORTED, "%s: a big-endian checkpoint "
                             "(sys_info little_endian = False); tokvec reads little-endian "
                             "ones only", r->file);
                goto out;
            }
    if (keys->kind != TV_PKL_LIST) {
        tv_error_set(r->err, TV_ERR_DATA, "%s: the storage keys are a %s, not a list", r->file,
                     tv_pkl_kind_name(keys->kind));
        goto out;
    }
    r->root = tv_pickle_root(parts[3]);
    r->budget = 8 * tv_pickle_object_count(parts[3]) + 4096;
    struct pid_scan scan = {.r = r};
    scan.scratch.name = "(a storage)";
    scan.scratch.name_len = strlen(scan.scratch.name);
    if (tv_pickle_each(parts[3], scan_persid, &scan) != 0 || collect(r) < 0)
        goto out;
    tv_pickle_free(parts[3]); /* the views hold what they need */
    parts[3] = NULL;
    r->root = NULL;
    /* the raw section: per key, an 8-byte element count and the bytes */
    for (size_t i = 0; i < keys->as.seq.n; i++) {
        const struct tv_pkl *k = keys->as.seq.items[i];
        uint64_t at;
        if (k->kind != TV_PKL_STR ||
            !tv_strmap_get(&r->storage_index, (const char *)k->as.bytes.ptr, k->as.bytes.len,
                           &at)) {
            tv_error_set(r->err, TV_ERR_DATA, "%s: storage key %zu (%s) names no storage of "
                         "the object", r->file, i, tv_pkl_kind_name(k->kind));
            goto out;
        }
        struct storage *s = &r->storages[at];
        if (s->data) {
            tv_error_set(r->err, TV_ERR_DATA, "%s: storage '%.*s' is listed twice", r->file,
                         (int)s->key_len, s->key);
            goto out;
        }
        if (len - pos < 8 || tv_le64(buf + pos) != s->numel || len - pos - 8 < s->n_bytes) {
            if (len - pos < 8 || tv_le64(buf + pos) == s->numel)
                tv_error_set(r->err, TV_ERR_DATA, "%s: truncated: storage '%.*s' (%llu bytes) "
                             "at offset %zu runs past the end (%zu bytes)", r->file,
                             (int)s->key_len, s->key, (unsigned long long)s->n_bytes, pos, len);
            else
                tv_error_set(r->err, TV_ERR_DATA, "%s: storage '%.*s' at offset %zu says %llu "
                             "elements, its persistent id %llu", r->file, (int)s->key_len,
                             s->key, pos, (unsigned long long)tv_le64(buf + pos),
                             (unsigned long long)s->numel);
            goto out;
        }
        pos += 8;
        s->data = buf + pos;
        s->file_offset = pos;
        pos += (size_t)s->n_bytes;
    }
    for (size_t i = 0; i < r->n_storages; i++)
        if (!r->storages[i].data) {
            tv_error_set(r->err, TV_ERR_DATA, "%s: storage '%.*s' is not in the list of stored "
                         "keys", r->file, (int)r->storages[i].key_len, r->storages[i].key);
            goto out;
        }
    if (add_tensors(r) < 0)
        goto out;
    rc = 0;
out:
    for (int i = 0; i < 5; i++)
        tv_pickle_free(parts[i]);
    return rc;
}

/* ---- the format ------------------------------------------------------------------ */

static bool legacy_magic_at(const uint8_t *buf, size_t len)
{
    return len >= 14 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5 && buf[2] == 0x8a &&
           buf[3] == 10 && memcmp(buf + 4, legacy_magic, 10) == 0;
}

static int probe(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    if (legacy_magic_at(buf, len))
        return 100;
    /* torch.save writes <folder>/data.pkl as the zip's first member */
    if (len < 30 || memcmp(buf, "PK\3\4", 4) != 0)
        return 0;
    size_t name_len = tv_le16(buf + 26);
    if (name_len < 8 || name_len > len - 30)
        return 0;
    const char *first = (const char *)buf + 30;
    if (!has_suffix(first, name_len, "data.pkl"))
        return 0;
    size_t plen = name_len - 8;
    if (plen && (first[plen - 1] != '/' || memchr(first, '/', plen) != first + plen - 1))
        return 0;
    return 100;
}

static int read_checkpoint(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct reader r = {.m = m, .blob = blob, .file = blob->name, .err = err};
    tv_strmap_init(&r.storage_index);
    r.materialise_cap = blob->len + TV_PYTORCH_MAX_COPY_EXTRA;
    int rc;
    if (legacy_magic_at(blob->data, blob->len)) {
        r.legacy = true;
        rc = read_legacy(&r);
    } else if (blob->len >= 4 && memcmp(blob->data, "PK\3\4", 4) == 0) {
        rc = read_zip(&r);
    } else {
        rc = tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: not a PyTorch checkpoint tokvec reads "
                          "(neither the zip layout of torch.save nor the legacy one)",
                          blob->name);
    }
    for (size_t i = 0; i < r.n_entries; i++)
        tv_free(r.entries[i].name);
    tv_free(r.entries);
    tv_free(r.storages);
    tv_strmap_release(&r.storage_index);
    tv_free(r.path);
    tv_free(r.key_path);
    return rc;
}

const struct tv_format tv_format_pytorch = {
    .name = "pytorch",
    .label = "PyTorch checkpoint",
    .probe = probe,
    .read = read_checkpoint,
};

/* ---- sharded checkpoints: pytorch_model.bin.index.json -------------------------------- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int tv_pytorch_read_index(tv_model *m, tv_blob *index_blob, tv_dir *dir, tv_error *err)
{
    const char *file = index_blob->name;
    int rc = -1;
    struct tv_strmap listed, shard_ids;     /* tensor -> shard number, shard -> number */
    tv_strmap_init(&listed);
    tv_strmap_init(&shard_ids);
    const char **shards = NULL;
    size_t n_shards = 0, cap_shards = 0;
    cJSON *doc = tv_json_parse(index_blob->data, index_blob->len, file, err);
    if (!doc)
        goto out;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(doc, "weight_map");
    if (!cJSON_IsObject(wm)) {
        tv_error_set(err, TV_ERR_DATA, "%s: \"weight_map\" is %s, not an object", file,
                     tv_json_type_name(wm));
        goto out;
    }
    for (const cJSON *e = wm->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, '/')) {
            tv_error_set(err, TV_ERR_DATA, "%s: weight_map['%.200s'] is not the name of a shard "
                         "next to the index", file, e->string);
            goto out;
        }
        int fresh = tv_strmap_put(&shard_ids, e->valuestring, strlen(e->valuestring), 0, NULL);
        if (fresh < 0 || (fresh == 1 && tv_grow((void **)&shards, &cap_shards, n_shards + 1,
                                                 sizeof *shards, err) < 0)) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
            goto out;
        }
        if (fresh == 1)
            shards[n_shards++] = e->valuestring;
    }
    /* shards in name order (pytorch_model-00001-of-00003.bin first) */
    if (n_shards > 1)
        qsort((void *)shards, n_shards, sizeof *shards, cmp_cstr);
    tv_strmap_release(&shard_ids);
    tv_strmap_init(&shard_ids);
    for (size_t k = 0; k < n_shards; k++)
        if (tv_strmap_put(&shard_ids, shards[k], strlen(shards[k]), k, NULL) < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
            goto out;
        }
    for (const cJSON *e = wm->child; e; e = e->next) {
        uint64_t k = 0;
        tv_strmap_get(&shard_ids, e->valuestring, strlen(e->valuestring), &k);
        int put = tv_strmap_put(&listed, e->string, strlen(e->string), k, NULL);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", file);
            goto out;
        }
        if (put == 0) {
            tv_error_set(err, TV_ERR_DATA, "%s: weight_map lists tensor '%.200s' twice", file,
                         e->string);
            goto out;
        }
    }
    for (size_t k = 0; k < n_shards; k++) {
        size_t first = m->n_tensors;
        tv_blob *shard = tv_dir_open(dir, shards[k], err);
        if (!shard) {
            tv_error_prefix(err, "%s: shard '%.200s'", file, shards[k]);
            goto out;
        }
        int read = tv_model_add_blob(m, shard, err) < 0 || tv_model_add_file(m, shards[k], err) < 0
                       ? -1 : read_checkpoint(m, shard, err);
        tv_blob_unref(shard);
        if (read < 0)
            goto out;
        for (size_t t = first; t < m->n_tensors; t++) {
            const char *name = m->tensors[t].name;
            uint64_t at;
            if (!tv_strmap_get(&listed, name, strlen(name), &at) || at != k) {
                tv_error_set(err, TV_ERR_DATA, "%s: shard '%.200s' holds tensor '%.200s', which "
                             "the weight_map %s", file, shards[k], name,
                             tv_strmap_get(&listed, name, strlen(name), &at)
                                 ? "lists under another shard" : "does not list");
                goto out;
            }
        }
    }
    for (const cJSON *e = wm->child; e; e = e->next)
        if (!tv_model_tensor_find(m, e->string)) {
            tv_error_set(err, TV_ERR_DATA, "%s: tensor '%.200s' is listed under shard '%.200s' "
                         "but that shard does not hold it", file, e->string, e->valuestring);
            goto out;
        }
    rc = 0;
out:
    cJSON_Delete(doc);
    tv_free((void *)shards);
    tv_strmap_release(&listed);
    tv_strmap_release(&shard_ids);
    return rc;
}

static int probe_index(const uint8_t *buf, size_t len, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    /* above the safetensors index (80), which has the same keys */
    return name && has_suffix(name, n, ".bin.index.json") &&
                   tv_json_has_top_key(buf, len, "weight_map")
               ? 85 : 0;
}

static int read_index(tv_model *m, tv_blob *blob, tv_error *err)
{
    tv_dir *source = tv_dir_new_parent(blob->name, err);
    if (!source)
        return -1;
    int rc = tv_pytorch_read_index(m, blob, source, err);
    tv_dir_free(source);
    return rc;
}

const struct tv_format tv_format_pytorch_index = {
    .name = "pytorch-index",
    .label = "PyTorch checkpoint (sharded)",
    .probe = probe_index,
    .read = read_index,
};
