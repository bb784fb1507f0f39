/*
 * The restricted pickle machine (see pickle.h for what it reads and refuses).
 *
 * The machine keeps Python's C unpickler's layout: one stack of values and a stack of
 * MARK positions ("fences"); an opcode never pops below the innermost fence. Nodes
 * come from chunks owned by the tv_pickle; container item arrays are grown one by
 * one; every byte of both counts against limits.max_memory, and every node against
 * limits.max_objects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pickle.h"

#define CHUNK_NODES 1024

struct chunk {
    struct chunk *next;
    size_t used;
    struct tv_pkl nodes[CHUNK_NODES];
};

struct memo_slot {
    uint64_t key;
    struct tv_pkl *value; /* NULL: an empty slot */
};

struct tv_pickle {
    struct chunk *chunks;
    size_t n_objects;
    uint64_t memory;
    struct tv_pkl *root;
    int protocol;
    /* Immutable values shared by every opcode that makes one. */
    struct tv_pkl none, yes, no, empty_tuple;
    struct memo_slot *memo;
    size_t memo_cap, memo_count;
};

struct vm {
    const uint8_t *buf;
    size_t len, pos;
    size_t op_pos;          /* offset of the opcode being run */
    uint8_t op;
    tv_pickle *p;
    const struct tv_pickle_options *opt;
    struct tv_pickle_limits lim;
    struct tv_pkl **stack;
    size_t n_stack, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    tv_error *err;
};

/* ---- opcodes and messages ------------------------------------------------------------ */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_FLOAT = 'F', OP_INT = 'I', OP_BININT = 'J', OP_BININT1 = 'K', OP_LONG = 'L',
    OP_BININT2 = 'M', OP_NONE = 'N', OP_PERSID = 'P', OP_BINPERSID = 'Q', OP_REDUCE = 'R',
    OP_STRING = 'S', OP_BINSTRING = 'T', OP_SHORT_BINSTRING = 'U', OP_UNICODE = 'V',
    OP_BINUNICODE = 'X', OP_APPEND = 'a', OP_BUILD = 'b', OP_GLOBAL = 'c', OP_DICT = 'd',
    OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_GET = 'g', OP_BINGET = 'h', OP_INST = 'i',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_EMPTY_LIST = ']', OP_OBJ = 'o', OP_PUT = 'p',
    OP_BINPUT = 'q', OP_LONG_BINPUT = 'r', OP_SETITEM = 's', OP_TUPLE = 't',
    OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u', OP_BINFLOAT = 'G',
    OP_PROTO = 0x80, OP_NEWOBJ = 0x81, OP_EXT1 = 0x82, OP_EXT2 = 0x83, OP_EXT4 = 0x84,
    OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87, OP_NEWTRUE = 0x88,
    OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C',
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,
    OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90, OP_FROZENSET = 0x91, OP_NEWOBJ_EX = 0x92,
    OP_STACK_GLOBAL = 0x93, OP_MEMOIZE = 0x94, OP_FRAME = 0x95,
    OP_BYTEARRAY8 = 0x96, OP_NEXT_BUFFER = 0x97, OP_READONLY_BUFFER = 0x98
};

static const char *op_name(uint8_t op)
{
    switch (op) {
    case OP_MARK: return "MARK";
    case OP_STOP: return "STOP";
    case OP_POP: return "POP";
    case OP_POP_MARK: return "POP_MARK";
    case OP_DUP: return "DUP";
    case OP_FLOAT: return "FLOAT";
    case OP_INT: return "INT";
    case OP_BININT: return "BININT";
    case OP_BININT1: return "BININT1";
    case OP_LONG: return "LONG";
    case OP_BININT2: return "BININT2";
    case OP_NONE: return "NONE";
    case OP_PERSID: return "PERSID";
    case OP_BINPERSID: return "BINPERSID";
    case OP_REDUCE: return "REDUCE";
    case OP_STRING: return "STRING";
    case OP_BINSTRING: return "BINSTRING";
    case OP_SHORT_BINSTRING: return "SHORT_BINSTRING";
    case OP_UNICODE: return "UNICODE";
    case OP_BINUNICODE: return "BINUNICODE";
    case OP_APPEND: return "APPEND";
    case OP_BUILD: return "BUILD";
    case OP_GLOBAL: return "GLOBAL";
    case OP_DICT: return "DICT";
    case OP_EMPTY_DICT: return "EMPTY_DICT";
    case OP_APPENDS: return "APPENDS";
    case OP_GET: return "GET";
    case OP_BINGET: return "BINGET";
    case OP_INST: return "INST";
    case OP_LONG_BINGET: return "LONG_BINGET";
    case OP_LIST: return "LIST";
    case OP_EMPTY_LIST: return "EMPTY_LIST";
    case OP_OBJ: return "OBJ";
    case OP_PUT: return "PUT";
    case OP_BINPUT: return "BINPUT";
    case OP_LONG_BINPUT: return "LONG_BINPUT";
    case OP_SETITEM: return "SETITEM";
    case OP_TUPLE: return "TUPLE";
    case OP_EMPTY_TUPLE: return "EMPTY_TUPLE";
    case OP_SETITEMS: return "SETITEMS";
    case OP_BINFLOAT: return "BINFLOAT";
    case OP_PROTO: return "PROTO";
    case OP_NEWOBJ: return "NEWOBJ";
    case OP_EXT1: return "EXT1";
    case OP_EXT2: return "EXT2";
    case OP_EXT4: return "EXT4";
    case OP_TUPLE1: return "TUPLE1";
    case OP_TUPLE2: return "TUPLE2";
    case OP_TUPLE3: return "TUPLE3";
    case OP_NEWTRUE: return "NEWTRUE";
    case OP_NEWFALSE: return "NEWFALSE";
    case OP_LONG1: return "LONG1";
    case OP_LONG4: return "LONG4";
    case OP_BINBYTES: return "BINBYTES";
    case OP_SHORT_BINBYTES: return "SHORT_BINBYTES";
    case OP_SHORT_BINUNICODE: return "SHORT_BINUNICODE";
    case OP_BINUNICODE8: return "BINUNICODE8";
    case OP_BINBYTES8: return "BINBYTES8";
    case OP_EMPTY_SET: return "EMPTY_SET";
    case OP_ADDITEMS: return "ADDITEMS";
    case OP_FROZENSET: return "FROZENSET";
    case OP_NEWOBJ_EX: return "NEWOBJ_EX";
    case OP_STACK_GLOBAL: return "STACK_GLOBAL";
    case OP_MEMOIZE: return "MEMOIZE";
    case OP_FRAME: return "FRAME";
    case OP_BYTEARRAY8: return "BYTEARRAY8";
    case OP_NEXT_BUFFER: return "NEXT_BUFFER";
    case OP_READONLY_BUFFER: return "READONLY_BUFFER";
    }
    return NULL;
}

const char *tv_pkl_kind_name(enum tv_pkl_kind kind)
{
    static const char *const names[] = {"None",  "bool", "int",  "int", "float",
                                        "str",   "bytes", "tuple", "list", "dict",
                                        "set",   "global", "call", "persistent id"};
    _Static_assert(TV_ARRAY_SIZE(names) == TV_PKL_KIND_COUNT, "one name per kind");
    return (unsigned)kind < TV_PKL_KIND_COUNT ? names[kind] : "?";
}

/* An error at the current opcode: "file: pickle offset N (OPCODE): message". */
static int vm_fail(struct vm *vm, int code, const char *fmt, ...) TV_PRINTF(3, 4);
static int vm_fail(struct vm *vm, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *name = op_name(vm->op);
    char opbuf[32];
    if (!name) {
        snprintf(opbuf, sizeof opbuf, "opcode 0x%02x", vm->op);
        name = opbuf;
    }
    return tv_error_set(vm->err, code, "%s: pickle offset %llu (%s): %s",
                        vm->opt->file ? vm->opt->file : "pickle",
                        (unsigned long long)(vm->opt->base_offset + vm->op_pos), name, msg);
}

static int vm_oom(struct vm *vm)
{
    return vm_fail(vm, TV_ERR_NOMEM, "out of memory");
}

/* ---- memory ------------------------------------------------------------------------- */

/* Counts delta more bytes against the cap. */
static int charge(struct vm *vm, uint64_t delta)
{
    uint64_t total;
    if (!tv_add_u64_fits(vm->p->memory, delta, &total) || total > vm->lim.max_memory)
        return vm_fail(vm, TV_ERR_LIMIT, "the values would take more than %llu bytes of "
                       "memory (the cap for a pickle of %zu bytes)",
                       (unsigned long long)vm->lim.max_memory, vm->len);
    vm->p->memory = total;
    return 0;
}

/* tv_grow with the bytes counted. */
static int grow(struct vm *vm, void **array, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return 0;
    size_t new_cap = *cap ? *cap : 4;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2 / elem_size)
            return vm_fail(vm, TV_ERR_LIMIT, "an array of %zu values is too large", need);
        new_cap *= 2;
    }
    if (charge(vm, (uint64_t)(new_cap - *cap) * elem_size) < 0)
        return -1;
    void *bigger = tv_realloc(*array, new_cap * elem_size);
    if (!bigger)
        return vm_oom(vm);
    *array = bigger;
    *cap = new_cap;
    return 0;
}

static struct tv_pkl *new_node(struct vm *vm, enum tv_pkl_kind kind)
{
    tv_pickle *p = vm->p;
    if (p->n_objects >= vm->lim.max_objects) {
        vm_fail(vm, TV_ERR_LIMIT, "more than %zu objects", vm->lim.max_objects);
        return NULL;
    }
    if (!p->chunks || p->chunks->used == CHUNK_NODES) {
        if (charge(vm, sizeof(struct chunk)) < 0)
            return NULL;
        struct chunk *c = tv_malloc(sizeof *c);
        if (!c) {
            vm_oom(vm);
            return NULL;
        }
        c->next = p->chunks;
        c->used = 0;
        p->chunks = c;
    }
    struct tv_pkl *v = &p->chunks->nodes[p->chunks->used++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->offset = vm->op_pos;
    p->n_objects++;
    return v;
}

static bool is_seq(enum tv_pkl_kind kind)
{
    return kind == TV_PKL_TUPLE || kind == TV_PKL_LIST || kind == TV_PKL_DICT ||
           kind == TV_PKL_SET;
}

void tv_pickle_free(tv_pickle *p)
{
    if (!p)
        return;
    for (struct chunk *c = p->chunks, *next; c; c = next) {
        next = c->next;
        for (size_t i = 0; i < c->used; i++)
            if (is_seq(c->nodes[i].kind))
                tv_free(c->nodes[i].as.seq.items);
        tv_free(c);
    }
    tv_free(p->memo);
    tv_free(p);
}

/* ---- the memo: a hash map, so that a huge index costs nothing ------------------------ */

static size_t memo_hash(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static int memo_put(struct vm *vm, uint64_t key, struct tv_pkl *value)
{
    tv_pickle *p = vm->p;
    if ((p->memo_count + 1) * 2 > p->memo_cap) {
        size_t new_cap = p->memo_cap ? p->memo_cap * 2 : 64;
        if (new_cap > SIZE_MAX / sizeof *p->memo)
            return vm_fail(vm, TV_ERR_LIMIT, "the memo is too large");
        if (charge(vm, (uint64_t)(new_cap - p->memo_cap) * sizeof *p->memo) < 0)
            return -1;
        struct memo_slot *slots = tv_calloc(new_cap, sizeof *slots);
        if (!slots)
            return vm_oom(vm);
        for (size_t i = 0; i < p->memo_cap; i++) {
            if (!p->memo[i].value)
                continue;
            size_t h = memo_hash(p->memo[i].key, new_cap);
            while (slots[h].value)
                h = (h + 1) & (new_cap - 1);
            slots[h] = p->memo[i];
        }
        tv_free(p->memo);
        p->memo = slots;
        p->memo_cap = new_cap;
    }
    size_t h = memo_hash(key, p->memo_cap);
    while (p->memo[h].value && p->memo[h].key != key)
        h = (h + 1) & (p->memo_cap - 1);
    if (!p->memo[h].value)
        p->memo_count++;
    p->memo[h].key = key;
    p->memo[h].value = value;
    return 0;
}

static struct tv_pkl *memo_get(const tv_pickle *p, uint64_t key)
{
    if (!p->memo_cap)
        return NULL;
    size_t h = memo_hash(key, p->memo_cap);
    while (p->memo[h].value) {
        if (p->memo[h].key == key)
            return p->memo[h].value;
        h = (h + 1) & (p->memo_cap - 1);
    }
    return NULL;
}

/* ---- reading the stream ------------------------------------------------------------- */

static const uint8_t *take(struct vm *vm, uint64_t n, const char *what)
{
    if (n > vm->len - vm->pos) {
        vm_fail(vm, TV_ERR_DATA, "truncated: %s needs %llu bytes, %zu left", what,
                (unsigned long long)n, vm->len - vm->pos);
        return NULL;
    }
    const uint8_t *at = vm->buf + vm->pos;
    vm->pos += (size_t)n;
    return at;
}

/* A length prefix of width 1, 4 (signed when is_signed) or 8 bytes. */
static int take_length(struct vm *vm, int width, bool is_signed, uint64_t *out)
{
    const uint8_t *b = take(vm, (uint64_t)width, "the length");
    if (!b)
        return -1;
    if (width == 1) {
        *out = b[0];
    } else if (width == 4) {
        uint32_t v = tv_le32(b);
        if (is_signed && (v & 0x80000000u))
            return vm_fail(vm, TV_ERR_DATA, "negative length %d", (int)(int32_t)v);
        *out = v;
    } else {
        *out = tv_le64(b);
    }
    return 0;
}

/* ---- the stack --------------------------------------------------------------------- */

static size_t fence(const struct vm *vm)
{
    return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
}

static int push(struct vm *vm, struct tv_pkl *v)
{
    if (!v)
        return -1;
    if (vm->n_stack >= vm->lim.max_stack)
        return vm_fail(vm, TV_ERR_LIMIT, "more than %zu values on the stack", vm->lim.max_stack);
    if (grow(vm, (void **)&vm->stack, &vm->cap_stack, vm->n_stack + 1, sizeof *vm->stack) < 0)
        return -1;
    vm->stack[vm->n_stack++] = v;
    return 0;
}

static struct tv_pkl *pop(struct vm *vm)
{
    if (vm->n_stack <= fence(vm)) {
        vm_fail(vm, TV_ERR_DATA, "stack underflow (%s)",
                vm->n_marks ? "nothing above the last MARK" : "the stack is empty");
        return NULL;
    }
    return vm->stack[--vm->n_stack];
}

static struct tv_pkl *top(struct vm *vm)
{
    if (vm->n_stack <= fence(vm)) {
        vm_fail(vm, TV_ERR_DATA, "stack underflow (%s)",
                vm->n_marks ? "nothing above the last MARK" : "the stack is empty");
        return NULL;
    }
    return vm->stack[vm->n_stack - 1];
}

/* The values above the innermost MARK, which is closed: *items points into the stack
   (valid until the next push) and *n counts them. */
static int pop_mark(struct vm *vm, struct tv_pkl ***items, size_t *n)
{
    if (!vm->n_marks)
        return vm_fail(vm, TV_ERR_DATA, "no MARK to close");
    size_t at = vm->marks[--vm->n_marks];
    *items = vm->stack ? vm->stack + at : NULL; /* nothing pushed yet: no stack */
    *n = vm->n_stack - at;
    vm->n_stack = at;
    return 0;
}

/* Appends n values to a sequence node. */
static int seq_extend(struct vm *vm, struct tv_pkl *seq, struct tv_pkl *const *items, size_t n)
{
    if (!n)
        return 0;
    size_t need;
    if (__builtin_add_overflow(seq->as.seq.n, n, &need))
        return vm_fail(vm, TV_ERR_LIMIT, "a container of too many values");
    if (grow(vm, (void **)&seq->as.seq.items, &seq->as.seq.cap, need,
             sizeof *seq->as.seq.items) < 0)
        return -1;
    memcpy(seq->as.seq.items + seq->as.seq.n, items, n * sizeof *items);
    seq->as.seq.n = need;
    return 0;
}

static struct tv_pkl *make_tuple(struct vm *vm, struct tv_pkl *const *items, size_t n)
{
    if (n == 0)
        return &vm->p->empty_tuple;
    struct tv_pkl *t = new_node(vm, TV_PKL_TUPLE);
    if (!t || seq_extend(vm, t, items, n) < 0)
        return NULL;
    return t;
}

/* ---- globals --------------------------------------------------------------------------- */

/* Copies bytes for a message: printable ASCII kept, anything else as \xNN, cut at 120. */
static void shown(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 120) {
            o += (size_t)snprintf(out + o, cap - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static struct tv_pkl *make_global(struct vm *vm, const char *module, size_t module_len,
                                  const char *name, size_t name_len)
{
    for (size_t i = 0; i < vm->opt->n_globals; i++) {
        const struct tv_pickle_global *g = &vm->opt->globals[i];
        if (strlen(g->module) == module_len && memcmp(g->module, module, module_len) == 0 &&
            strlen(g->name) == name_len && memcmp(g->name, name, name_len) == 0) {
            struct tv_pkl *v = new_node(vm, TV_PKL_GLOBAL);
            if (!v)
                return NULL;
            v->as.global.module = module;
            v->as.global.module_len = module_len;
            v->as.global.name = name;
            v->as.global.name_len = name_len;
            v->as.global.id = i;
            return v;
        }
    }
    char m[512], n[512];
    shown(m, sizeof m, module, module_len);
    shown(n, sizeof n, name, name_len);
    vm_fail(vm, TV_ERR_UNSUPPORTED, "global '%s.%s' is not allowed: tokvec never imports or "
            "calls anything a pickle names, and reads only the globals of tensor state dicts",
            m, n);
    return NULL;
}

/* GLOBAL's two text lines. */
static int take_line(struct vm *vm, const char **line, size_t *len, const char *what)
{
    const uint8_t *start = vm->buf + vm->pos;
    const uint8_t *nl = memchr(start, '\n', vm->len - vm->pos);
    if (!nl)
        return vm_fail(vm, TV_ERR_DATA, "truncated: no end of line after the %s", what);
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    vm->pos += *len + 1;
    return 0;
}

/* ---- the opcodes that build values ---------------------------------------------------- */

static int op_reduce(struct vm *vm, bool newobj, bool with_kwargs)
{
    struct tv_pkl *kwargs = NULL;
    if (with_kwargs && !(kwargs = pop(vm)))
        return -1;
    struct tv_pkl *args = pop(vm);
    if (!args)
        return -1;
    struct tv_pkl *callable = pop(vm);
    if (!callable)
        return -1;
    if (callable->kind != TV_PKL_GLOBAL)
        return vm_fail(vm, TV_ERR_DATA, "calls a %s, not an allowed global",
                       tv_pkl_kind_name(callable->kind));
    if (args->kind != TV_PKL_TUPLE)
        return vm_fail(vm, TV_ERR_DATA, "the arguments are a %s, not a tuple",
                       tv_pkl_kind_name(args->kind));
    if (kwargs && (kwargs->kind != TV_PKL_DICT || kwargs->as.seq.n))
        return vm_fail(vm, TV_ERR_UNSUPPORTED, "keyword arguments are not supported");
    const struct tv_pickle_global *g = &vm->opt->globals[callable->as.global.id];
    struct tv_pkl *v;
    if (g->flags & TV_PICKLE_DICT_CLASS) {
        if (args->as.seq.n)
            return vm_fail(vm, TV_ERR_UNSUPPORTED, "%s.%s with %zu arguments (a dict class "
                           "is read only when made empty and filled by SETITEMS)", g->module,
                           g->name, args->as.seq.n);
        v = new_node(vm, TV_PKL_DICT);
        if (v)
            v->as.seq.cls = callable;
    } else {
        v = new_node(vm, TV_PKL_CALL);
        if (v) {
            v->as.call.callable = callable;
            v->as.call.args = args;
            v->as.call.newobj = newobj;
        }
    }
    return push(vm, v);
}

static int op_build(struct vm *vm)
{
    struct tv_pkl *state = pop(vm);
    if (!state)
        return -1;
    struct tv_pkl *obj = top(vm);
    if (!obj)
        return -1;
    if (obj->kind == TV_PKL_CALL)
        obj->as.call.state = state;
    else if (obj->kind == TV_PKL_DICT && obj->as.seq.cls)
        obj->as.seq.state = state;
    else
        return vm_fail(vm, TV_ERR_DATA, "sets the state of a %s", tv_pkl_kind_name(obj->kind));
    return 0;
}

static int op_setitems(struct vm *vm, bool many)
{
    struct tv_pkl *pair[2];
    struct tv_pkl **items = pair;
    size_t n = 2;
    if (many) {
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
        if (n % 2)
            return vm_fail(vm, TV_ERR_DATA, "an odd number of values (%zu) for key/value "
                           "pairs", n);
    } else {
        if (!(pair[1] = pop(vm)) || !(pair[0] = pop(vm)))
            return -1;
    }
    struct tv_pkl *dict = top(vm);
    if (!dict)
        return -1;
    if (dict->kind != TV_PKL_DICT)
        return vm_fail(vm, TV_ERR_DATA, "sets items of a %s, not a dict",
                       tv_pkl_kind_name(dict->kind));
    return seq_extend(vm, dict, items, n);
}

static int op_appends(struct vm *vm, uint8_t op)
{
    struct tv_pkl *one;
    struct tv_pkl **items = &one;
    size_t n = 1;
    if (op == OP_APPEND) {
        if (!(one = pop(vm)))
            return -1;
    } else if (pop_mark(vm, &items, &n) < 0) {
        return -1;
    }
    enum tv_pkl_kind want = op == OP_ADDITEMS ? TV_PKL_SET : TV_PKL_LIST;
    struct tv_pkl *seq = top(vm);
    if (!seq)
        return -1;
    if (seq->kind != want)
        return vm_fail(vm, TV_ERR_DATA, "adds to a %s, not a %s", tv_pkl_kind_name(seq->kind),
                       tv_pkl_kind_name(want));
    return seq_extend(vm, seq, items, n);
}

static int op_tuple(struct vm *vm, size_t n_fixed)
{
    struct tv_pkl **items = NULL;
    size_t n = n_fixed;
    if (n_fixed == (size_t)-1) {
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
    } else {
        if (vm->n_stack - fence(vm) < n)
            return vm_fail(vm, TV_ERR_DATA, "stack underflow: needs %zu values, %zu there", n,
                           vm->n_stack - fence(vm));
        vm->n_stack -= n;
        items = vm->stack ? vm->stack + vm->n_stack : NULL;
    }
    return push(vm, make_tuple(vm, items, n));
}

static int op_int(struct vm *vm, const uint8_t *b, uint64_t n)
{
    struct tv_pkl *v;
    if (n > 8) {
        v = new_node(vm, TV_PKL_BIGINT);
        if (v) {
            v->as.bytes.ptr = b;
            v->as.bytes.len = (size_t)n;
        }
        return push(vm, v);
    }
    uint64_t u = 0;
    for (uint64_t i = 0; i < n; i++)
        u |= (uint64_t)b[i] << (8 * i);
    if (n && n < 8 && (b[n - 1] & 0x80))
        u |= ~(uint64_t)0 << (8 * n); /* sign extension */
    v = new_node(vm, TV_PKL_INT);
    if (v)
        v->as.i = (int64_t)u;
    return push(vm, v);
}

static int op_bytes(struct vm *vm, enum tv_pkl_kind kind, int width, bool is_signed)
{
    uint64_t n;
    if (take_length(vm, width, is_signed, &n) < 0)
        return -1;
    const uint8_t *b = take(vm, n, kind == TV_PKL_STR ? "the string" : "the bytes");
    if (!b)
        return -1;
    struct tv_pkl *v = new_node(vm, kind);
    if (v) {
        v->as.bytes.ptr = b;
        v->as.bytes.len = (size_t)n;
    }
    return push(vm, v);
}

static int op_memo(struct vm *vm, uint8_t op)
{
    if (op == OP_BINGET || op == OP_LONG_BINGET) {
        const uint8_t *b = take(vm, op == OP_BINGET ? 1 : 4, "the memo index");
        if (!b)
            return -1;
        uint64_t key = op == OP_BINGET ? b[0] : tv_le32(b);
        struct tv_pkl *v = memo_get(vm->p, key);
        if (!v)
            return vm_fail(vm, TV_ERR_DATA, "memo index %llu was never stored (the memo holds "
                           "%zu values)", (unsigned long long)key, vm->p->memo_count);
        return push(vm, v);
    }
    uint64_t key;
    if (op == OP_MEMOIZE) {
        key = vm->p->memo_count;
    } else {
        const uint8_t *b = take(vm, op == OP_BINPUT ? 1 : 4, "the memo index");
        if (!b)
            return -1;
        key = op == OP_BINPUT ? b[0] : tv_le32(b);
    }
    struct tv_pkl *v = top(vm);
    return v ? memo_put(vm, key, v) : -1;
}

static int op_global(struct vm *vm, bool from_stack)
{
    const char *module, *name;
    size_t module_len, name_len;
    if (from_stack) {
        struct tv_pkl *n = pop(vm), *m = n ? pop(vm) : NULL;
        if (!m)
            return -1;
        if (m->kind != TV_PKL_STR || n->kind != TV_PKL_STR)
            return vm_fail(vm, TV_ERR_DATA, "the module and name are a %s and a %s, not "
                           "strings", tv_pkl_kind_name(m->kind), tv_pkl_kind_name(n->kind));
        module = (const char *)m->as.bytes.ptr;
        module_len = m->as.bytes.len;
        name = (const char *)n->as.bytes.ptr;
        name_len = n->as.bytes.len;
    } else if (take_line(vm, &module, &module_len, "module name") < 0 ||
               take_line(vm, &name, &name_len, "global name") < 0) {
        return -1;
    }
    return push(vm, make_global(vm, module, module_len, name, name_len));
}

/* ---- the loop ------------------------------------------------------------------------ */

static int step(struct vm *vm, bool *stop)
{
    vm->op_pos = vm->pos;
    const uint8_t *b = take(vm, 1, "the next opcode");
    if (!b) {
        vm->op = 0;
        return tv_error_set(vm->err, TV_ERR_DATA, "%s: truncated pickle: no STOP before the "
                            "end (%zu bytes)", vm->opt->file ? vm->opt->file : "pickle",
                            vm->len);
    }
    uint8_t op = vm->op = b[0];
    tv_pickle *p = vm->p;
    switch (op) {
    case OP_PROTO: {
        if (!(b = take(vm, 1, "the protocol")))
            return -1;
        if (b[0] < 2 || b[0] > 5)
            return vm_fail(vm, TV_ERR_UNSUPPORTED, "protocol %u (tokvec reads 2 to 5)", b[0]);
        p->protocol = b[0];
        return 0;
    }
    case OP_FRAME: {
        uint64_t n;
        if (take_length(vm, 8, false, &n) < 0)
            return -1;
        if (n > vm->len - vm->pos)
            return vm_fail(vm, TV_ERR_DATA, "truncated: a frame of %llu bytes, %zu left",
                           (unsigned long long)n, vm->len - vm->pos);
        return 0;
    }
    case OP_STOP: {
        if (vm->n_marks)
            return vm_fail(vm, TV_ERR_DATA, "%zu MARKs still open", vm->n_marks);
        if (vm->n_stack != 1)
            return vm_fail(vm, TV_ERR_DATA, "%zu values on the stack (one expected)",
                           vm->n_stack);
        p->root = vm->stack[0];
        *stop = true;
        return 0;
    }
    case OP_MARK:
        if (vm->n_marks >= vm->lim.max_marks)
            return vm_fail(vm, TV_ERR_LIMIT, "more than %zu MARKs open at once",
                           vm->lim.max_marks);
        if (grow(vm, (void **)&vm->marks, &vm->cap_marks, vm->n_marks + 1,
                 sizeof *vm->marks) < 0)
            return -1;
        vm->marks[vm->n_marks++] = vm->n_stack;
        return 0;
    case OP_POP:
    case OP_POP_MARK: {
        /* POP above the last MARK drops a value; with nothing there it drops the MARK,
           as Python's unpickler does. */
        if (op == OP_POP && vm->n_stack > fence(vm)) {
            vm->n_stack--;
            return 0;
        }
        struct tv_pkl **items;
        size_t n;
        return pop_mark(vm, &items, &n);
    }
    case OP_DUP: {
        struct tv_pkl *v = top(vm);
        return v ? push(vm, v) : -1;
    }
    case OP_NONE: return push(vm, &p->none);
    case OP_NEWTRUE: return push(vm, &p->yes);
    case OP_NEWFALSE: return push(vm, &p->no);
    case OP_BININT:
        if (!(b = take(vm, 4, "the integer")))
            return -1;
        return op_int(vm, b, 4);
    case OP_BININT1:
        if (!(b = take(vm, 1, "the integer")))
            return -1;
        {
            struct tv_pkl *v = new_node(vm, TV_PKL_INT);
            if (v)
                v->as.i = b[0];
            return push(vm, v);
        }
    case OP_BININT2:
        if (!(b = take(vm, 2, "the integer")))
            return -1;
        {
            struct tv_pkl *v = new_node(vm, TV_PKL_INT);
            if (v)
                v->as.i = tv_le16(b);
            return push(vm, v);
        }
    case OP_LONG1:
    case OP_LONG4: {
        uint64_t n;
        if (take_length(vm, op == OP_LONG1 ? 1 : 4, true, &n) < 0 ||
            !(b = take(vm, n, "the integer")))
            return -1;
        return op_int(vm, b, n);
    }
    case OP_BINFLOAT: {
        if (!(b = take(vm, 8, "the float")))
            return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | b[i]; /* big-endian */
        struct tv_pkl *v = new_node(vm, TV_PKL_FLOAT);
        if (v)
            memcpy(&v->as.f, &bits, sizeof bits);
        return push(vm, v);
    }
    case OP_BINUNICODE: return op_bytes(vm, TV_PKL_STR, 4, false);
    case OP_SHORT_BINUNICODE: return op_bytes(vm, TV_PKL_STR, 1, false);
    case OP_BINUNICODE8: return op_bytes(vm, TV_PKL_STR, 8, false);
    case OP_SHORT_BINSTRING: return op_bytes(vm, TV_PKL_STR, 1, false);
    case OP_BINSTRING: return op_bytes(vm, TV_PKL_STR, 4, true);
    case OP_BINBYTES: return op_bytes(vm, TV_PKL_BYTES, 4, false);
    case OP_SHORT_BINBYTES: return op_bytes(vm, TV_PKL_BYTES, 1, false);
    case OP_BINBYTES8: return op_bytes(vm, TV_PKL_BYTES, 8, false);
    case OP_BYTEARRAY8: return op_bytes(vm, TV_PKL_BYTES, 8, false);
    case OP_EMPTY_TUPLE: return push(vm, &p->empty_tuple);
    case OP_TUPLE: return op_tuple(vm, (size_t)-1);
    case OP_TUPLE1: return op_tuple(vm, 1);
    case OP_TUPLE2: return op_tuple(vm, 2);
    case OP_TUPLE3: return op_tuple(vm, 3);
    case OP_EMPTY_LIST: return push(vm, new_node(vm, TV_PKL_LIST));
    case OP_EMPTY_DICT: return push(vm, new_node(vm, TV_PKL_DICT));
    case OP_EMPTY_SET: return push(vm, new_node(vm, TV_PKL_SET));
    case OP_APPEND:
    case OP_APPENDS:
    case OP_ADDITEMS: return op_appends(vm, op);
    case OP_FROZENSET: {
        struct tv_pkl **items = NULL;
        size_t n = 0;
        if (pop_mark(vm, &items, &n) < 0)
            return -1;
        struct tv_pkl *set = new_node(vm, TV_PKL_SET);
        if (!set || seq_extend(vm, set, items, n) < 0)
            return -1;
        return push(vm, set);
    }
    case OP_SETITEM: return op_setitems(vm, false);
    case OP_SETITEMS: return op_setitems(vm, true);
    case OP_BINPUT:
    case OP_LONG_BINPUT:
    case OP_MEMOIZE:
    case OP_BINGET:
    case OP_LONG_BINGET: return op_memo(vm, op);
    case OP_GLOBAL: return op_global(vm, false);
    case OP_STACK_GLOBAL: return op_global(vm, true);
    case OP_REDUCE: return op_reduce(vm, false, false);
    case OP_NEWOBJ: return op_reduce(vm, true, false);
    case OP_NEWOBJ_EX: return op_reduce(vm, true, true);
    case OP_BUILD: return op_build(vm);
    case OP_BINPERSID: {
        struct tv_pkl *id = pop(vm);
        if (!id)
            return -1;
        struct tv_pkl *v = new_node(vm, TV_PKL_PERSID);
        if (v)
            v->as.persid = id;
        return push(vm, v);
    }
    case OP_INT: case OP_LONG: case OP_FLOAT: case OP_STRING: case OP_UNICODE:
    case OP_GET: case OP_PUT: case OP_DICT: case OP_LIST: case OP_INST: case OP_OBJ:
    case OP_PERSID:
        return vm_fail(vm, TV_ERR_UNSUPPORTED, "a text opcode of pickle protocols 0 and 1 "
                       "(tokvec reads protocols 2 to 5)");
    case OP_EXT1: case OP_EXT2: case OP_EXT4:
        return vm_fail(vm, TV_ERR_UNSUPPORTED, "the extension registry is not supported");
    case OP_NEXT_BUFFER: case OP_READONLY_BUFFER:
        return vm_fail(vm, TV_ERR_UNSUPPORTED, "out-of-band buffers are not supported");
    default:
        return vm_fail(vm, TV_ERR_DATA, "not a pickle opcode");
    }
}

tv_pickle *tv_pickle_load(const uint8_t *buf, size_t len, const struct tv_pickle_options *opt,
                          size_t *consumed, tv_error *err)
{
    struct vm vm = {.buf = buf, .len = len, .opt = opt, .err = err};
    vm.lim = opt->limits;
    if (!vm.lim.max_stack)
        vm.lim.max_stack = TV_PICKLE_MAX_STACK;
    if (!vm.lim.max_marks)
        vm.lim.max_marks = TV_PICKLE_MAX_MARKS;
    if (!vm.lim.max_objects)
        vm.lim.max_objects = TV_PICKLE_MAX_OBJECTS;
    if (!vm.lim.max_memory) {
        /* Every opcode is at least a byte and makes at most one node and one pointer:
           64 bytes per byte of input holds any honest pickle. */
        uint64_t scaled;
        vm.lim.max_memory = TV_PICKLE_MAX_MEMORY;
        if (tv_mul_u64_fits(len, 64, &scaled) && scaled + (16u << 20) < vm.lim.max_memory)
            vm.lim.max_memory = scaled + (16u << 20);
    }
    tv_pickle *p = tv_calloc(1, sizeof *p);
    if (!p) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory", opt->file ? opt->file : "pickle");
        return NULL;
    }
    p->none.kind = TV_PKL_NONE;
    p->yes.kind = TV_PKL_BOOL;
    p->yes.as.b = true;
    p->no.kind = TV_PKL_BOOL;
    p->empty_tuple.kind = TV_PKL_TUPLE;
    vm.p = p;
    bool stop = false;
    while (!stop)
        if (step(&vm, &stop) < 0)
            break;
    tv_free(vm.stack);
    tv_free(vm.marks);
    if (!stop) {
        tv_pickle_free(p);
        return NULL;
    }
    if (consumed)
        *consumed = vm.pos;
    return p;
}

const struct tv_pkl *tv_pickle_root(const tv_pickle *p)
{
    return p->root;
}

size_t tv_pickle_object_count(const tv_pickle *p)
{
    return p->n_objects;
}

int tv_pickle_protocol(const tv_pickle *p)
{
    return p->protocol;
}

int tv_pickle_each(const tv_pickle *p, int (*fn)(const struct tv_pkl *v, void *ctx), void *ctx)
{
    for (const struct chunk *c = p->chunks; c; c = c->next)
        for (size_t i = 0; i < c->used; i++) {
            int rc = fn(&c->nodes[i], ctx);
            if (rc)
                return rc;
        }
    return 0;
}

bool tv_pkl_is_str(const struct tv_pkl *v, const char *s)
{
    size_t n = strlen(s);
    return v && v->kind == TV_PKL_STR && v->as.bytes.len == n &&
           memcmp(v->as.bytes.ptr, s, n) == 0;
}

bool tv_pkl_is_call_of(const struct tv_pkl *v, size_t global_id)
{
    return v && v->kind == TV_PKL_CALL && v->as.call.callable->as.global.id == global_id;
}

struct tv_pkl *const *tv_pkl_tuple(const struct tv_pkl *v, size_t *n)
{
    if (!v || v->kind != TV_PKL_TUPLE) {
        *n = 0;
        return NULL;
    }
    *n = v->as.seq.n;
    return v->as.seq.items;
}
