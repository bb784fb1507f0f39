/*
 * The restricted pickle machine (src/pickle.c) on its own: up to eight pickles read one
 * after another from the input (the legacy PyTorch layout is five), each tree walked
 * node by node. The allow-list holds a dict class, a callable and a storage class, as
 * formats/pytorch.c's does.
 */
#include <string.h>

#include "fuzz.h"
#include "pickle.h"

static const struct tv_pickle_global globals[] = {
    {"collections", "OrderedDict", TV_PICKLE_DICT_CLASS},
    {"torch._utils", "_rebuild_tensor_v2", 0},
    {"torch", "FloatStorage", 0},
    {"builtins", "set", 0},
};

static volatile size_t sink;

static int visit(const struct tv_pkl *v, void *ctx)
{
    (void)ctx;
    sink += strlen(tv_pkl_kind_name(v->kind));
    switch (v->kind) {
    case TV_PKL_STR: case TV_PKL_BYTES: case TV_PKL_BIGINT:
        if (v->as.bytes.len)
            sink += v->as.bytes.ptr[0] + v->as.bytes.ptr[v->as.bytes.len - 1];
        break;
    case TV_PKL_TUPLE: case TV_PKL_LIST: case TV_PKL_DICT: case TV_PKL_SET:
        for (size_t i = 0; i < v->as.seq.n; i++)
            sink += v->as.seq.items[i]->kind;
        break;
    case TV_PKL_GLOBAL:
        if (v->as.global.id >= TV_ARRAY_SIZE(globals))
            abort();
        sink += v->as.global.module_len + v->as.global.name_len;
        break;
    case TV_PKL_CALL: {
        size_t n;
        (void)tv_pkl_tuple(v->as.call.args, &n);
        sink += n + tv_pkl_is_call_of(v, 1) + tv_pkl_is_str(v->as.call.callable, "x");
        break;
    }
    default:
        break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tv_pickle_options opt = {.globals = globals, .n_globals = TV_ARRAY_SIZE(globals),
                                     .file = "data.pkl"};
    size_t pos = 0;
    for (int i = 0; i < 8 && pos < size; i++) {
        tv_error err = {0};
        size_t consumed = 0;
        tv_pickle *p = tv_pickle_load(data + pos, size - pos, &opt, &consumed, &err);
        if (!p) {
            fuzz_check_error(&err, "tv_pickle_load");
            break;
        }
        if (consumed == 0 || consumed > size - pos)
            abort();
        sink += (size_t)tv_pickle_protocol(p) + tv_pickle_object_count(p);
        if (tv_pickle_root(p))
            (void)visit(tv_pickle_root(p), NULL);
        (void)tv_pickle_each(p, visit, NULL);
        tv_pickle_free(p);
        pos += consumed;
    }
    return 0;
}
