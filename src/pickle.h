/*
 * A restricted, bounds-checked pickle reader: it runs the pickle virtual machine over
 * a byte buffer and builds a small tree of values. It never calls anything. Where
 * Python's unpickler would import a module and call a function, this one records a
 * node that says which global would have been called with which arguments; what such
 * a node means is up to the caller (formats/pytorch.c reads torch state dicts).
 *
 * What it reads (Python's Lib/pickletools.py documents every opcode):
 *   1. protocols 2 to 5 (PROTO 2..5; a stream without PROTO is read as well, as long
 *      as it only uses the opcodes below), FRAME (a length, checked and skipped);
 *   2. None, booleans, BININT/BININT1/BININT2, LONG1/LONG4 (up to 64 bits as an
 *      integer, longer ones as TV_PKL_BIGINT bytes), BINFLOAT;
 *   3. strings: BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, SHORT_BINSTRING,
 *      BINSTRING; bytes: BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8. No copy is
 *      made: a string node points into the buffer, which must outlive the tree;
 *   4. tuples (EMPTY_TUPLE, TUPLE, TUPLE1..3), lists (EMPTY_LIST, APPEND, APPENDS),
 *      dicts (EMPTY_DICT, SETITEM, SETITEMS), sets (EMPTY_SET, ADDITEMS, FROZENSET),
 *      MARK, POP, POP_MARK, DUP;
 *   5. the memo: BINPUT, LONG_BINPUT, MEMOIZE, BINGET, LONG_BINGET (a hash map, so a
 *      huge index costs nothing; getting an index never stored is an error);
 *   6. GLOBAL and STACK_GLOBAL, only for the (module, name) pairs the caller allows;
 *      anything else stops the read with an error that names it;
 *   7. REDUCE and NEWOBJ (NEWOBJ_EX with empty keyword arguments) of an allowed
 *      global: a TV_PKL_CALL node, or an empty dict for globals flagged
 *      TV_PICKLE_DICT_CLASS (collections.OrderedDict); BUILD stores its state on the
 *      call or dict it applies to; BINPERSID wraps its id in a TV_PKL_PERSID node;
 *   8. STOP with exactly one value on the stack and no open MARK.
 * Refused with an error naming the opcode and its offset: the text opcodes of
 * protocols 0 and 1 (INT, LONG, STRING, GET, PUT, DICT, LIST, INST, OBJ, PERSID, ...),
 * the extension registry (EXT1/2/4) and out-of-band buffers (NEXT_BUFFER,
 * READONLY_BUFFER).
 *
 * Bounds (struct tv_pickle_limits; 0 fields take the defaults TV_PICKLE_MAX_* of
 * src/limits.h): values on the stack, open MARKs, objects created, and bytes the tree
 * may hold (64 per byte of input plus 16 MiB, at most TV_PICKLE_MAX_MEMORY). Every
 * length is checked against the bytes that remain before it is used. The machine is a
 * loop (no recursion); the tree it returns may share nodes and may even contain
 * cycles (a list appended to itself), so a walker must bound its own work.
 */
#ifndef TOKVEC_PICKLE_H
#define TOKVEC_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum tv_pkl_kind {
    TV_PKL_NONE,
    TV_PKL_BOOL,
    TV_PKL_INT,      /* as.i */
    TV_PKL_BIGINT,   /* as.bytes: little-endian two's complement, more than 8 bytes */
    TV_PKL_FLOAT,    /* as.f */
    TV_PKL_STR,      /* as.bytes: the text as stored (UTF-8 for unicode opcodes) */
    TV_PKL_BYTES,    /* as.bytes */
    TV_PKL_TUPLE,    /* as.seq */
    TV_PKL_LIST,     /* as.seq */
    TV_PKL_DICT,     /* as.seq: items[2k] is a key, items[2k + 1] its value, in order */
    TV_PKL_SET,      /* as.seq */
    TV_PKL_GLOBAL,   /* as.global */
    TV_PKL_CALL,     /* as.call: REDUCE or NEWOBJ of a global, never performed */
    TV_PKL_PERSID,   /* as.persid: the persistent id a BINPERSID named */
    TV_PKL_KIND_COUNT
};

struct tv_pkl {
    enum tv_pkl_kind kind;
    size_t offset;   /* of the opcode that made it, in the buffer (for messages) */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes;
        struct {
            struct tv_pkl **items;
            size_t n, cap;
            struct tv_pkl *cls;    /* DICT made by a dict-class global, else NULL */
            struct tv_pkl *state;  /* what BUILD gave a dict, else NULL */
        } seq;
        struct {
            const char *module, *name;  /* point into the buffer, not NUL-terminated */
            size_t module_len, name_len;
            size_t id;                  /* index in the caller's allow-list */
        } global;
        struct {
            struct tv_pkl *callable;    /* a TV_PKL_GLOBAL */
            struct tv_pkl *args;        /* a TV_PKL_TUPLE */
            struct tv_pkl *state;       /* what BUILD gave it, else NULL */
            bool newobj;                /* NEWOBJ (cls.__new__) rather than REDUCE */
        } call;
        struct tv_pkl *persid;
    } as;
};

/* An allowed global. */
enum { TV_PICKLE_DICT_CLASS = 1u << 0 }; /* REDUCE/NEWOBJ with no arguments: an empty dict */
struct tv_pickle_global {
    const char *module;
    const char *name;
    unsigned flags;
};

struct tv_pickle_limits {
    size_t max_stack, max_marks, max_objects;
    uint64_t max_memory;
};

struct tv_pickle_options {
    const struct tv_pickle_global *globals; /* the allow-list */
    size_t n_globals;
    const char *file;         /* names the pickle in messages ("x.bin:archive/data.pkl") */
    uint64_t base_offset;     /* added to offsets in messages (the buffer's place in a file) */
    struct tv_pickle_limits limits;
};

typedef struct tv_pickle tv_pickle;

/*
 * Runs one pickle (up to and including its STOP) from the start of buf. Returns the
 * tree, or NULL with err: a truncated stream, an unknown or refused opcode, a global
 * that is not allowed (naming it), a stack underflow, a type error (APPEND to a
 * tuple, REDUCE of something that is not a global), a memo index never stored, or a
 * cap exceeded (TV_ERR_LIMIT). *consumed (when not NULL) gets the bytes read, so that
 * a file of several pickles is read one after another. The tree points into buf:
 * keep buf alive while using it; free the tree with tv_pickle_free.
 */
tv_pickle *tv_pickle_load(const uint8_t *buf, size_t len, const struct tv_pickle_options *opt,
                          size_t *consumed, tv_error *err);
void tv_pickle_free(tv_pickle *p); /* NULL is fine */

/* The value STOP returned (borrowed from p). */
const struct tv_pkl *tv_pickle_root(const tv_pickle *p);
/* The number of nodes p holds (for walkers that budget their work). */
size_t tv_pickle_object_count(const tv_pickle *p);
/* The protocol PROTO announced, or 0 when the stream has none. */
int tv_pickle_protocol(const tv_pickle *p);

/*
 * Calls fn for every node p holds, once each, in no particular order (the singletons
 * None, True, False and the empty tuple are not visited). Stops when fn returns
 * non-zero and returns that value; returns 0 when every node was visited.
 */
int tv_pickle_each(const tv_pickle *p, int (*fn)(const struct tv_pkl *v, void *ctx), void *ctx);

/* "None", "bool", "int", "str", "tuple", "dict", "call", ... */
const char *tv_pkl_kind_name(enum tv_pkl_kind kind);

/* Whether v is the string s (exactly, as bytes). */
bool tv_pkl_is_str(const struct tv_pkl *v, const char *s);
/* Whether v is a call (REDUCE/NEWOBJ) of the allowed global with this id. */
bool tv_pkl_is_call_of(const struct tv_pkl *v, size_t global_id);
/* The items of a tuple (NULL and 0 when v is not one). */
struct tv_pkl *const *tv_pkl_tuple(const struct tv_pkl *v, size_t *n);

#endif
