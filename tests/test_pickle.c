/* The restricted pickle machine (src/pickle.c): pickles built here opcode by opcode,
   every opcode it reads, the globals it refuses (naming them, calling nothing),
   stack/mark/memo/object/memory bounds, lengths that can go wrong, truncation at every
   offset, cycles, several pickles in one buffer, failing allocations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pickle.h"
#include "failalloc.h"
#include "pk_build.h"
#include "testutil.h"

/* ---- running it ------------------------------------------------------------------------ */

static const struct tv_pickle_global test_globals[] = {
    {"collections", "OrderedDict", TV_PICKLE_DICT_CLASS},
    {"torch._utils", "_rebuild_tensor_v2", 0},
    {"torch", "FloatStorage", 0},
};

static tv_pickle *load(const struct pk *p, tv_error *err)
{
    struct tv_pickle_options opt = {.globals = test_globals,
                                    .n_globals = TV_ARRAY_SIZE(test_globals),
                                    .file = "t.pkl"};
    return tv_pickle_load(p->buf, p->len, &opt, NULL, err);
}

static tv_pickle *load_limited(const struct pk *p, struct tv_pickle_limits lim, tv_error *err)
{
    struct tv_pickle_options opt = {.globals = test_globals,
                                    .n_globals = TV_ARRAY_SIZE(test_globals),
                                    .file = "t.pkl", .limits = lim};
    return tv_pickle_load(p->buf, p->len, &opt, NULL, err);
}

/* Fails the test unless p is refused with code and a message holding want. */
static void expect_refused(const struct pk *p, int code, const char *want)
{
    tv_error err = {0};
    tv_pickle *t = load(p, &err);
    if (t) {
        tv_pickle_free(t);
        fail_msg("accepted a pickle that should fail with '%s'", want);
    }
    if (err.code != code || !strstr(err.message, want))
        fail_msg("expected code %d and '%s', got %d: %s", code, want, err.code, err.message);
    assert_non_null(strstr(err.message, "t.pkl"));
}

/* ---- what it reads ------------------------------------------------------------------- */

static void pickle_reads_a_protocol_2_state_dict_into_a_tree(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2);
    pk_op(&p, '}'), pk_op(&p, 'q'), pk_op(&p, 0);            /* EMPTY_DICT, BINPUT 0 */
    pk_op(&p, '(');
    pk_str(&p, "w");
    pk_global(&p, "torch._utils", "_rebuild_tensor_v2");
    pk_op(&p, '(');
    pk_op(&p, '(');
    pk_str(&p, "storage");
    pk_global(&p, "torch", "FloatStorage");
    pk_str(&p, "0"), pk_str(&p, "cpu"), pk_int1(&p, 6);
    pk_op(&p, 't');
    pk_op(&p, 'Q');                                           /* BINPERSID */
    pk_int1(&p, 0);
    pk_int1(&p, 2), pk_int1(&p, 3), pk_op(&p, 0x86);          /* (2, 3) */
    pk_int1(&p, 3), pk_int1(&p, 1), pk_op(&p, 0x86);          /* (3, 1) */
    pk_op(&p, 0x89);                                          /* False */
    pk_global(&p, "collections", "OrderedDict");
    pk_op(&p, ')'), pk_op(&p, 'R');
    pk_op(&p, 't'), pk_op(&p, 'R');
    pk_str(&p, "n"), pk_op(&p, 'J'), pk_u32(&p, 0xfffffffe); /* -2 */
    pk_op(&p, 'u');
    pk_op(&p, '.');
    tv_error err = {0};
    tv_pickle *t = load(&p, &err);
    if (!t)
        fail_msg("%s", err.message);
    assert_int_equal(tv_pickle_protocol(t), 2);
    const struct tv_pkl *root = tv_pickle_root(t);
    assert_int_equal(root->kind, TV_PKL_DICT);
    assert_int_equal(root->as.seq.n, 4);
    assert_true(tv_pkl_is_str(root->as.seq.items[0], "w"));
    const struct tv_pkl *call = root->as.seq.items[1];
    assert_true(tv_pkl_is_call_of(call, 1));
    size_t n;
    struct tv_pkl *const *args = tv_pkl_tuple(call->as.call.args, &n);
    assert_int_equal(n, 6);
    assert_int_equal(args[0]->kind, TV_PKL_PERSID);
    struct tv_pkl *const *pid = tv_pkl_tuple(args[0]->as.persid, &n);
    assert_int_equal(n, 5);
    assert_true(tv_pkl_is_str(pid[0], "storage"));
    assert_int_equal(pid[1]->kind, TV_PKL_GLOBAL);
    assert_int_equal(pid[1]->as.global.id, 2);
    assert_int_equal(pid[4]->as.i, 6);
    assert_int_equal(args[4]->kind, TV_PKL_BOOL);
    assert_false(args[4]->as.b);
    assert_int_equal(args[5]->kind, TV_PKL_DICT);              /* OrderedDict() */
    assert_non_null(args[5]->as.seq.cls);
    assert_int_equal(root->as.seq.items[3]->as.i, -2);
    tv_pickle_free(t);
    pk_free(&p);
}

static void pickle_reads_the_opcodes_of_protocols_3_to_5(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 5);
    pk_op(&p, 0x95), pk_u64(&p, 5);                            /* FRAME of 5 bytes */
    pk_op(&p, ']'), pk_op(&p, 0x94);                           /* EMPTY_LIST, MEMOIZE 0 */
    pk_op(&p, '(');
    pk_sstr(&p, "collections"), pk_sstr(&p, "OrderedDict"), pk_op(&p, 0x93);
    pk_op(&p, ')'), pk_op(&p, 0x81);                           /* NEWOBJ: an empty dict */
    pk_op(&p, '}'), pk_op(&p, 'b');                            /* BUILD with {} */
    pk_op(&p, 0x8d), pk_u64(&p, 3), pk_bytes(&p, "abc", 3);    /* BINUNICODE8 */
    pk_op(&p, 'C'), pk_op(&p, 2), pk_bytes(&p, "\x00\xff", 2); /* SHORT_BINBYTES */
    pk_op(&p, 'B'), pk_u32(&p, 1), pk_op(&p, 'z');             /* BINBYTES */
    pk_op(&p, 0x8e), pk_u64(&p, 0);                            /* BINBYTES8 empty */
    pk_op(&p, 0x96), pk_u64(&p, 1), pk_op(&p, 7);              /* BYTEARRAY8 */
    pk_op(&p, 'U'), pk_op(&p, 2), pk_bytes(&p, "hi", 2);       /* SHORT_BINSTRING */
    pk_op(&p, 'T'), pk_u32(&p, 2), pk_bytes(&p, "yo", 2);      /* BINSTRING */
    pk_op(&p, 0x8a), pk_op(&p, 1), pk_op(&p, 0xff);            /* LONG1 -1 */
    pk_op(&p, 0x8a), pk_op(&p, 0);                             /* LONG1 0 */
    pk_op(&p, 0x8a), pk_op(&p, 8), pk_u64(&p, 0x8000000000000000ull); /* INT64_MIN */
    pk_op(&p, 0x8a), pk_op(&p, 10), pk_u64(&p, 1), pk_op(&p, 0), pk_op(&p, 1); /* big */
    pk_op(&p, 0x8b), pk_u32(&p, 2), pk_op(&p, 0x00), pk_op(&p, 0x80); /* LONG4 -32768 */
    pk_op(&p, 'M'), pk_op(&p, 0x34), pk_op(&p, 0x12);          /* BININT2 0x1234 */
    pk_op(&p, 'G'), pk_bytes(&p, "\x3f\xf8\0\0\0\0\0\0", 8);   /* BINFLOAT 1.5 */
    pk_op(&p, 0x8f), pk_op(&p, '('), pk_int1(&p, 1), pk_op(&p, 0x90); /* {1} */
    pk_op(&p, '('), pk_int1(&p, 2), pk_op(&p, 0x91);           /* frozenset({2}) */
    pk_op(&p, 'N'), pk_op(&p, 0x88), pk_op(&p, 0x86), pk_op(&p, 0x85); /* ((None, True),) */
    pk_int1(&p, 9), pk_op(&p, '2'), pk_op(&p, '0');            /* DUP, POP */
    pk_op(&p, '('), pk_int1(&p, 1), pk_op(&p, '1');            /* POP_MARK */
    pk_op(&p, 'h'), pk_op(&p, 0);                              /* BINGET 0: the list */
    pk_op(&p, '0');
    pk_op(&p, 'e');                                            /* APPENDS */
    pk_op(&p, '.');
    tv_error err = {0};
    tv_pickle *t = load(&p, &err);
    if (!t)
        fail_msg("%s", err.message);
    assert_int_equal(tv_pickle_protocol(t), 5);
    const struct tv_pkl *root = tv_pickle_root(t);
    assert_int_equal(root->kind, TV_PKL_LIST);
    assert_int_equal(root->as.seq.n, 19);
    struct tv_pkl *const *it = root->as.seq.items;
    assert_int_equal(it[0]->kind, TV_PKL_DICT);
    assert_non_null(it[0]->as.seq.state);
    assert_true(tv_pkl_is_str(it[1], "abc"));
    assert_int_equal(it[2]->kind, TV_PKL_BYTES);
    assert_int_equal(it[2]->as.bytes.len, 2);
    assert_int_equal(it[4]->as.bytes.len, 0);
    assert_true(tv_pkl_is_str(it[6], "hi"));
    assert_true(tv_pkl_is_str(it[7], "yo"));
    assert_int_equal(it[8]->as.i, -1);
    assert_int_equal(it[9]->as.i, 0);
    assert_true(it[10]->as.i == INT64_MIN);
    assert_int_equal(it[11]->kind, TV_PKL_BIGINT);
    assert_int_equal(it[11]->as.bytes.len, 10);
    assert_int_equal(it[12]->as.i, -32768);
    assert_int_equal(it[13]->as.i, 0x1234);
    assert_true(it[14]->as.f == 1.5);
    assert_int_equal(it[15]->kind, TV_PKL_SET);
    assert_int_equal(it[15]->as.seq.n, 1);
    assert_int_equal(it[16]->kind, TV_PKL_SET);
    assert_int_equal(it[17]->kind, TV_PKL_TUPLE);
    size_t n;
    struct tv_pkl *const *inner = tv_pkl_tuple(it[17], &n);
    assert_int_equal(n, 1);
    assert_int_equal(inner[0]->as.seq.n, 2);
    assert_int_equal(it[18]->as.i, 9);
    tv_pickle_free(t);
    pk_free(&p);
}

static void pickle_reads_several_pickles_one_after_another(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2), pk_int1(&p, 1), pk_op(&p, '.');
    pk_op(&p, 0x80), pk_op(&p, 2), pk_str(&p, "two"), pk_op(&p, '.');
    struct tv_pickle_options opt = {.file = "t.pkl"};
    tv_error err = {0};
    size_t used = 0;
    tv_pickle *a = tv_pickle_load(p.buf, p.len, &opt, &used, &err);
    assert_non_null(a);
    assert_int_equal(used, 5);
    tv_pickle *b = tv_pickle_load(p.buf + used, p.len - used, &opt, &used, &err);
    assert_non_null(b);
    assert_int_equal(used, p.len - 5);
    assert_true(tv_pkl_is_str(tv_pickle_root(b), "two"));
    tv_pickle_free(a);
    tv_pickle_free(b);
    pk_free(&p);
}

static void pickle_memo_holds_sparse_indices_and_cycles(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2);
    pk_op(&p, ']');
    pk_op(&p, 'r'), pk_u32(&p, 0xffffffffu);                   /* LONG_BINPUT 2^32 - 1 */
    pk_op(&p, 'j'), pk_u32(&p, 0xffffffffu);                   /* LONG_BINGET it back */
    pk_op(&p, 'a');                                            /* the list holds itself */
    pk_op(&p, '.');
    tv_error err = {0};
    tv_pickle *t = load(&p, &err);
    if (!t)
        fail_msg("%s", err.message);
    const struct tv_pkl *root = tv_pickle_root(t);
    assert_int_equal(root->as.seq.n, 1);
    assert_ptr_equal(root->as.seq.items[0], root);
    assert_true(tv_pickle_object_count(t) < 4);
    tv_pickle_free(t);
    pk_free(&p);
}

/* ---- what it refuses ----------------------------------------------------------------- */

static const char *marker_path(void)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/tokvec-pickle-pwned-%d", (int)getpid());
    return path;
}

static void pickle_refuses_os_system_and_calls_nothing(void **state)
{
    (void)state;
    unlink(marker_path());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "touch %s", marker_path());
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2);
    pk_global(&p, "os", "system");
    pk_str(&p, cmd), pk_op(&p, 0x85), pk_op(&p, 'R'), pk_op(&p, '.');
    expect_refused(&p, TV_ERR_UNSUPPORTED, "global 'os.system' is not allowed");
    assert_int_not_equal(access(marker_path(), F_OK), 0);
    pk_free(&p);
}

static void pickle_refuses_every_global_not_on_its_list_by_name(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"builtins", "eval"}, {"builtins", "exec"}, {"__builtin__", "eval"},
        {"builtins", "__import__"}, {"posix", "system"}, {"nt", "system"},
        {"subprocess", "Popen"}, {"builtins", "getattr"}, {"torch", "load"},
        {"collections", "OrderedDictX"}, {"collection", "OrderedDict"},
        {"torch._utils", "_rebuild_tensor_v2 "}, {"numpy.core.multiarray", "_reconstruct"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        char want[200];
        snprintf(want, sizeof want, "global '%s.%s' is not allowed", bad[i][0], bad[i][1]);
        for (int stack = 0; stack < 2; stack++) {
            struct pk p = {0};
            pk_op(&p, 0x80), pk_op(&p, 4);
            if (stack) {
                pk_sstr(&p, bad[i][0]), pk_sstr(&p, bad[i][1]), pk_op(&p, 0x93);
            } else {
                pk_global(&p, bad[i][0], bad[i][1]);
            }
            pk_str(&p, "1+1"), pk_op(&p, 0x85), pk_op(&p, 'R'), pk_op(&p, '.');
            expect_refused(&p, TV_ERR_UNSUPPORTED, want);
            pk_free(&p);
        }
    }
    /* a global whose name is not printable is named with escapes */
    struct pk p = {0};
    pk_global(&p, "os", "sys\x01tem'");
    pk_op(&p, '.');
    expect_refused(&p, TV_ERR_UNSUPPORTED, "global 'os.sys\\x01tem\\x27'");
    pk_free(&p);
}

static void pickle_refuses_calls_of_anything_but_an_allowed_global(void **state)
{
    (void)state;
    static const struct {
        const char *ops;  /* after PROTO 2; ops are literal bytes */
        size_t len;
        const char *want;
    } cases[] = {
        {"])R.", 4, "calls a list"},
        {"cos\nsystem\nN\x85R.", 15, "global 'os.system' is not allowed"},
        {"ccollections\nOrderedDict\n]R.", 28, "the arguments are a list"},
        {"ccollections\nOrderedDict\nK\x01\x85R.", 30, "with 1 arguments"},
        {"]e.", 3, "no MARK to close"},
        {"]Nb.", 4, "sets the state of a list"},
        {"}Nb.", 4, "sets the state of a dict"},
        {")Na.", 4, "adds to a tuple"},
        {"NNs.", 4, "stack underflow"},
        {"]NNs.", 5, "sets items of a list"},
        {"}(Nu.", 5, "odd number"},
        {"N(a.", 4, "nothing above the last MARK"},
        {"a.", 2, "the stack is empty"},
        {"NN.", 3, "2 values on the stack"},
        {"N(.", 3, "1 MARKs still open"},
        {".", 1, "0 values on the stack"},
        {"h\x05.", 3, "memo index 5 was never stored (the memo holds 0 values)"},
        {"Q.", 2, "stack underflow"},
        {"K\x01K\x02\x93.", 6, "not strings"},
        {"ccollections\nOrderedDict\n)}K\x01K\x02s\x92.", 34, "keyword arguments"},
        {"q\x00.", 3, "stack underflow"},
        {"\x87.", 2, "needs 3 values, 0 there"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct pk p = {0};
        pk_op(&p, 0x80), pk_op(&p, 2);
        pk_bytes(&p, cases[i].ops, cases[i].len);
        tv_error err = {0};
        tv_pickle *t = load(&p, &err);
        if (t)
            fail_msg("case %zu accepted", i);
        if (!strstr(err.message, cases[i].want))
            fail_msg("case %zu: expected '%s', got: %s", i, cases[i].want, err.message);
        pk_free(&p);
    }
}

static void pickle_refuses_text_opcodes_extensions_and_buffers(void **state)
{
    (void)state;
    static const struct {
        const char *ops;
        size_t len;
        const char *want;
    } cases[] = {
        {"I1\n.", 4, "(INT): a text opcode"},
        {"S'a'\n.", 6, "(STRING): a text opcode"},
        {"g0\n.", 4, "(GET): a text opcode"},
        {"(ios\nsystem\n.", 13, "(INST): a text opcode"},
        {"(o.", 3, "(OBJ): a text opcode"},
        {"P0\n.", 4, "(PERSID): a text opcode"},
        {"\x82\x01.", 3, "(EXT1): the extension registry"},
        {"\x97.", 2, "(NEXT_BUFFER): out-of-band"},
        {"\x98.", 2, "(READONLY_BUFFER): out-of-band"},
        {"\xff.", 2, "(opcode 0xff): not a pickle opcode"},
        {"\x80\x01.", 3, "protocol 1"},
        {"\x80\x06.", 3, "protocol 6"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct pk p = {0};
        pk_bytes(&p, cases[i].ops, cases[i].len);
        tv_error err = {0};
        tv_pickle *t = load(&p, &err);
        if (t)
            fail_msg("case %zu accepted", i);
        if (!strstr(err.message, cases[i].want))
            fail_msg("case %zu: expected '%s', got: %s", i, cases[i].want, err.message);
        assert_non_null(strstr(err.message, "pickle offset"));
        pk_free(&p);
    }
}

static void pickle_length_fields_that_can_go_wrong_are_checked(void **state)
{
    (void)state;
    static const uint64_t values[] = {1, 2, 1ull << 31, (1ull << 32) - 1, 1ull << 63,
                                      UINT64_MAX};
    static const uint8_t ops8[] = {0x8d, 0x8e, 0x96, 0x95};    /* 8-byte lengths */
    static const uint8_t ops4[] = {'X', 'B', 'T', 0x8b};       /* 4-byte lengths */
    for (size_t v = 0; v < TV_ARRAY_SIZE(values); v++) {
        for (size_t o = 0; o < sizeof ops8; o++) {
            struct pk p = {0};
            pk_op(&p, 0x80), pk_op(&p, 4), pk_op(&p, ops8[o]), pk_u64(&p, values[v]);
            pk_op(&p, '.');
            tv_error err = {0};
            tv_pickle *t = load(&p, &err);
            if (t)
                fail_msg("op 0x%02x length %llu accepted", ops8[o], (unsigned long long)values[v]);
            assert_int_equal(err.code, TV_ERR_DATA);
            /* a frame of 1 byte holds the STOP, which then finds no value */
            assert_non_null(strstr(err.message, ops8[o] == 0x95 && values[v] == 1
                                                    ? "0 values on the stack" : "truncated"));
            pk_free(&p);
        }
        for (size_t o = 0; o < sizeof ops4 && values[v] <= UINT32_MAX; o++) {
            struct pk p = {0};
            pk_op(&p, 0x80), pk_op(&p, 2), pk_op(&p, ops4[o]), pk_u32(&p, (uint32_t)values[v]);
            pk_op(&p, '.');
            tv_error err = {0};
            tv_pickle *t = load(&p, &err);
            if (t)
                fail_msg("op 0x%02x length %u accepted", ops4[o], (uint32_t)values[v]);
            bool negative = (ops4[o] == 'T' || ops4[o] == 0x8b) && ((uint32_t)values[v] >> 31);
            assert_non_null(strstr(err.message, negative ? "negative length" : "truncated"));
            pk_free(&p);
        }
    }
}

/* ---- bounds ---------------------------------------------------------------------------- */

static void pickle_deep_mark_nesting_stops_at_the_mark_cap(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2);
    for (int i = 0; i < 100000; i++)
        pk_op(&p, '(');
    pk_op(&p, '.');
    expect_refused(&p, TV_ERR_LIMIT, "more than 4096 MARKs open at once");
    pk_free(&p);
}

static void pickle_stack_object_and_memory_caps_hold(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2);
    for (int i = 0; i < 5000; i++)
        pk_op(&p, ']');                                         /* 5000 new lists */
    pk_op(&p, '.');
    tv_error err = {0};
    assert_null(load_limited(&p, (struct tv_pickle_limits){.max_stack = 1000}, &err));
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "more than 1000 values on the stack"));
    assert_null(load_limited(&p, (struct tv_pickle_limits){.max_objects = 100}, &err));
    assert_non_null(strstr(err.message, "more than 100 objects"));
    assert_null(load_limited(&p, (struct tv_pickle_limits){.max_memory = 4096}, &err));
    assert_non_null(strstr(err.message, "more than 4096 bytes of memory"));
    pk_free(&p);
    /* a billion-laughs pickle: each level a list holding the last one twice; the tree
       stays small because values are shared, never copied */
    pk_op(&p, 0x80), pk_op(&p, 2);
    pk_op(&p, ']'), pk_op(&p, 'q'), pk_op(&p, 0);
    for (int i = 0; i < 64; i++) {
        pk_op(&p, '0');                                         /* drop the last level */
        pk_op(&p, ']'), pk_op(&p, '('), pk_op(&p, 'h'), pk_op(&p, 0), pk_op(&p, 'h');
        pk_op(&p, 0), pk_op(&p, 'e');                           /* [last, last] */
        pk_op(&p, 'q'), pk_op(&p, 0);
    }
    pk_op(&p, '.');
    tv_pickle *t = load(&p, &err);
    if (!t)
        fail_msg("%s", err.message);
    assert_true(tv_pickle_object_count(t) < 1000);
    tv_pickle_free(t);
    pk_free(&p);
}

static void pickle_survives_truncation_at_every_offset(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 4);
    pk_op(&p, 0x95), pk_u64(&p, 60);
    pk_op(&p, '}'), pk_op(&p, 0x94), pk_op(&p, '(');
    pk_sstr(&p, "a"), pk_global(&p, "torch._utils", "_rebuild_tensor_v2");
    pk_op(&p, 0x94), pk_op(&p, ')'), pk_op(&p, 'R');
    pk_str(&p, "b"), pk_op(&p, 'G'), pk_bytes(&p, "\x3f\xf8\0\0\0\0\0\0", 8);
    pk_str(&p, "c"), pk_op(&p, 0x8a), pk_op(&p, 2), pk_op(&p, 1), pk_op(&p, 2);
    pk_str(&p, "d"), pk_op(&p, 'h'), pk_op(&p, 1);
    pk_op(&p, 'u'), pk_op(&p, '.');
    tv_error err = {0};
    tv_pickle *whole = load(&p, &err);
    if (!whole)
        fail_msg("%s", err.message);
    tv_pickle_free(whole);
    size_t full = p.len;
    for (size_t cut = 0; cut < full; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);  /* exactly cut bytes: ASan sees overreads */
        memcpy(copy, p.buf, cut);
        struct tv_pickle_options opt = {.globals = test_globals,
                                        .n_globals = TV_ARRAY_SIZE(test_globals),
                                        .file = "t.pkl"};
        tv_pickle *t = tv_pickle_load(copy, cut, &opt, NULL, &err);
        if (t)
            fail_msg("a pickle cut at %zu of %zu bytes was accepted", cut, full);
        assert_int_equal(err.code, TV_ERR_DATA);
        assert_non_null(strstr(err.message, "truncated"));
        free(copy);
    }
    pk_free(&p);
}

/* An attempt for failalloc_sweep: loads the pickle and frees the tree. */
static bool load_and_free(void *pickle, tv_error *err)
{
    tv_pickle *t = load(pickle, err);
    bool loaded = t != NULL;
    tv_pickle_free(t);
    return loaded;
}

static void pickle_survives_every_allocation_failure(void **state)
{
    (void)state;
    struct pk p = {0};
    pk_op(&p, 0x80), pk_op(&p, 2), pk_op(&p, '}'), pk_op(&p, '(');
    for (int i = 0; i < 300; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        pk_str(&p, key), pk_op(&p, ']'), pk_op(&p, 'r'), pk_u32(&p, (uint32_t)i * 7919u);
        pk_int1(&p, 1), pk_op(&p, 'a');
    }
    pk_op(&p, 'u'), pk_op(&p, '.');
    struct failalloc_sweep s = failalloc_sweep(2000, load_and_free, &p);
    if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
        fail_msg("allocation %ld: %s", s.n, s.err.message);
    assert_true(s.succeeded);
    pk_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pickle_reads_a_protocol_2_state_dict_into_a_tree),
        cmocka_unit_test(pickle_reads_the_opcodes_of_protocols_3_to_5),
        cmocka_unit_test(pickle_reads_several_pickles_one_after_another),
        cmocka_unit_test(pickle_memo_holds_sparse_indices_and_cycles),
        cmocka_unit_test(pickle_refuses_os_system_and_calls_nothing),
        cmocka_unit_test(pickle_refuses_every_global_not_on_its_list_by_name),
        cmocka_unit_test(pickle_refuses_calls_of_anything_but_an_allowed_global),
        cmocka_unit_test(pickle_refuses_text_opcodes_extensions_and_buffers),
        cmocka_unit_test(pickle_length_fields_that_can_go_wrong_are_checked),
        cmocka_unit_test(pickle_deep_mark_nesting_stops_at_the_mark_cap),
        cmocka_unit_test(pickle_stack_object_and_memory_caps_hold),
        cmocka_unit_test(pickle_survives_truncation_at_every_offset),
        cmocka_unit_test(pickle_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
