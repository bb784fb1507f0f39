/* NumPy .npy: files built here byte by byte (every dtype, versions 1 to 3, Fortran
   order, hostile headers from a table, truncation at every offset, failing
   allocations), files written by numpy itself when it is installed, and
   tv_model_read_vocab_lines pairing a matrix with a token list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failalloc.h"
#include "testutil.h"

/* Builds a .npy file: magic, version, header length, dict padded to 64 bytes with
   spaces and '\n' (pad 0: no padding, just '\n'), then data. Returns its length. */
static size_t build_npy(uint8_t *out, size_t cap, int major, const char *dict, int pad,
                        const void *data, size_t data_len)
{
    size_t prefix = major == 1 ? 10 : 12;
    size_t dict_len = strlen(dict);
    size_t header_len = dict_len + 1;
    if (pad)
        while ((prefix + header_len) % 64)
            header_len++;
    assert_true(prefix + header_len + data_len <= cap);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    if (major == 1) {
        out[8] = (uint8_t)header_len;
        out[9] = (uint8_t)(header_len >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            out[8 + i] = (uint8_t)(header_len >> (8 * i));
    }
    memcpy(out + prefix, dict, dict_len);
    memset(out + prefix + dict_len, ' ', header_len - dict_len - 1);
    out[prefix + header_len - 1] = '\n';
    if (data_len)
        memcpy(out + prefix + header_len, data, data_len);
    return prefix + header_len + data_len;
}

static tv_model *read_npy(const uint8_t *buf, size_t len, tv_error *err)
{
    return tv_model_read_memory(buf, len, "t.npy", NULL, err);
}

static void npy_reads_every_supported_dtype_in_versions_1_2_and_3(void **state)
{
    (void)state;
    const struct {
        const char *descr;
        enum tv_dtype dtype;
        unsigned size;
    } cases[] = {
        {"<f2", TV_DTYPE_F16, 2}, {"<f4", TV_DTYPE_F32, 4}, {"<f8", TV_DTYPE_F64, 8},
        {"<c8", TV_DTYPE_C64, 8},
        {"|i1", TV_DTYPE_I8, 1},  {"<i1", TV_DTYPE_I8, 1},  {">i1", TV_DTYPE_I8, 1},
        {"<i2", TV_DTYPE_I16, 2}, {"<i4", TV_DTYPE_I32, 4}, {"<i8", TV_DTYPE_I64, 8},
        {"|u1", TV_DTYPE_U8, 1},  {"<u2", TV_DTYPE_U16, 2}, {"<u4", TV_DTYPE_U32, 4},
        {"<u8", TV_DTYPE_U64, 8}, {"|b1", TV_DTYPE_BOOL, 1},
    };
    uint8_t data[6 * 8], buf[512];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    for (int major = 1; major <= 3; major++)
        for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
            char dict[128];
            snprintf(dict, sizeof dict,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }",
                     cases[i].descr);
            size_t len = build_npy(buf, sizeof buf, major, dict, 1, data, 6 * cases[i].size);
            assert_int_equal(len % 64, (6 * cases[i].size) % 64);
            tv_error err = {0};
            tv_model *m = read_npy(buf, len, &err);
            if (!m)
                fail_msg("%s v%d: %s", cases[i].descr, major, err.message);
            assert_string_equal(tv_model_kind(m), "NumPy .npy");
            const struct tv_tensor *t = tv_model_embedding(m);
            assert_non_null(t);
            assert_string_equal(t->name, "embeddings");
            assert_int_equal(t->dtype, cases[i].dtype);
            assert_int_equal(t->n_dims, 2);
            assert_int_equal(t->shape[0], 2);
            assert_int_equal(t->shape[1], 3);
            assert_int_equal(t->n_bytes, 6 * cases[i].size);
            assert_int_equal(t->offset, len - 6 * cases[i].size);
            assert_memory_equal(t->data, data, 6 * cases[i].size);
            assert_int_equal(m->n_findings, 0);
            tv_model_free(m);
        }
}

static void npy_f32_rows_convert_and_other_ranks_are_named_array(void **state)
{
    (void)state;
    float values[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    uint8_t buf[512];
    size_t len = build_npy(buf, sizeof buf, 1,
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)}", 1,
                           values, sizeof values);
    tv_error err = {0};
    tv_model *m = read_npy(buf, len, &err);
    assert_non_null(m);
    float row[2];
    assert_int_equal(tv_tensor_rows_f32(tv_model_embedding(m), 2, 1, row, &err), 0);
    assert_true(row[0] == 5 && row[1] == 6.25f);
    tv_model_free(m);

    const struct {
        const char *dict;
        uint32_t n_dims;
        uint64_t elements;
    } ranks[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 1, 6},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", 1, 6},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", 3, 6},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, 1},
        {"{\"shape\": (6L,), \"fortran_order\": False, \"descr\": \"<f4\"}", 1, 6},
        {"{'descr':'<f4','fortran_order':False,'shape':(0,3)}", 2, 0},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(ranks); i++) {
        len = build_npy(buf, sizeof buf, 1, ranks[i].dict, 1, values, 4 * ranks[i].elements);
        m = read_npy(buf, len, &err);
        if (!m)
            fail_msg("%s: %s", ranks[i].dict, err.message);
        const struct tv_tensor *t = tv_model_tensor(m, 0);
        assert_string_equal(t->name, ranks[i].n_dims == 2 ? "embeddings" : "array");
        assert_int_equal(t->n_dims, ranks[i].n_dims);
        assert_int_equal(t->n_elements, ranks[i].elements);
        if (ranks[i].elements)
            assert_memory_equal(t->data, values, 4 * ranks[i].elements);
        tv_model_free(m);
    }
}

static void npy_fortran_order_is_copied_into_c_order(void **state)
{
    (void)state;
    /* C-order [2][3] = {{0,1,2},{3,4,5}} stored column-major: 0 3 1 4 2 5 */
    int32_t fortran2[6] = {0, 3, 1, 4, 2, 5};
    uint8_t buf[512];
    size_t len = build_npy(buf, sizeof buf, 1,
                           "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", 1,
                           fortran2, sizeof fortran2);
    tv_error err = {0};
    tv_model *m = read_npy(buf, len, &err);
    assert_non_null(m);
    const struct tv_tensor *t = tv_model_embedding(m);
    int32_t got[6];
    memcpy(got, t->data, sizeof got);
    for (int i = 0; i < 6; i++)
        assert_int_equal(got[i], i);
    const struct tv_meta *fortran = tv_model_meta_find(m, "npy.fortran_order");
    assert_non_null(fortran);
    assert_int_equal(fortran->value.type, TV_VALUE_BOOL);
    assert_int_equal(fortran->value.as.u, 1);
    tv_model_free(m);

    /* [2][3][4]: element (i,j,k) = 100i + 10j + k, Fortran offset i + 2j + 6k */
    int16_t fortran3[24], want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                fortran3[i + 2 * j + 6 * k] = (int16_t)(100 * i + 10 * j + k);
                want[(i * 3 + j) * 4 + k] = (int16_t)(100 * i + 10 * j + k);
            }
    len = build_npy(buf, sizeof buf, 2,
                    "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }", 1,
                    fortran3, sizeof fortran3);
    m = read_npy(buf, len, &err);
    assert_non_null(m);
    assert_memory_equal(tv_model_tensor(m, 0)->data, want, sizeof want);
    tv_model_free(m);
}

static void npy_refuses_big_endian_and_dtypes_it_cannot_hold(void **state)
{
    (void)state;
    const struct {
        const char *descr;
        int code;
        const char *message;
    } cases[] = {
        {"'>f4'", TV_ERR_UNSUPPORTED, "descr '>f4' is big-endian"},
        {"'>i8'", TV_ERR_UNSUPPORTED, "big-endian"},
        {"'|f4'", TV_ERR_DATA, "a 4-byte type needs a byte order"},
        {"'<c16'", TV_ERR_UNSUPPORTED, "descr '<c16' is not a dtype tokvec reads"},
        {"'<U10'", TV_ERR_UNSUPPORTED, "descr '<U10'"},
        {"'|O'", TV_ERR_UNSUPPORTED, "descr '|O'"},
        {"'<V2'", TV_ERR_UNSUPPORTED, "descr '<V2'"},
        {"'<M8[ns]'", TV_ERR_UNSUPPORTED, "descr '<M8[ns]'"},
        {"'<f99999999999'", TV_ERR_UNSUPPORTED, "not a dtype tokvec reads"},
        {"[('a', '<f4')]", TV_ERR_UNSUPPORTED, "structured arrays"},
    };
    uint8_t buf[512], data[64] = {0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        char dict[160];
        snprintf(dict, sizeof dict, "{'descr': %s, 'fortran_order': False, 'shape': (2,), }",
                 cases[i].descr);
        size_t len = build_npy(buf, sizeof buf, 1, dict, 1, data, sizeof data);
        tv_error err = {0};
        assert_null(read_npy(buf, len, &err));
        assert_int_equal(err.code, cases[i].code);
        if (!strstr(err.message, cases[i].message) || !strstr(err.message, "t.npy"))
            fail_msg("%s: '%s' lacks '%s'", cases[i].descr, err.message, cases[i].message);
    }
}

static void npy_hostile_headers_each_give_an_error_naming_the_numbers(void **state)
{
    (void)state;
    const struct {
        const char *dict;
        const char *message;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         "shape (4294967296, 4294967296) of '<f4' overflows 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 1), }",
         "overflows 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2), }",
         "overflows 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }",
         "does not fit 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 300), }",
         "shape (1000000, 300) of '<f4' needs 1200000000 bytes of data at offset 128, the file "
         "has 24"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }",
         "needs 32 bytes of data at offset 128, the file has 24"},
        {"{'fortran_order': False, 'shape': (2, 3), }", "header lacks the key 'descr'"},
        {"{'descr': '<f4', 'shape': (2, 3), }", "header lacks the key 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, }", "header lacks the key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
         "key 'extra' at byte 58 is not one of descr, fortran_order, shape"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
         "key 'descr' appears twice"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}",
         "expected True or False for fortran_order at byte 34"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", "expected"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", "only spaces after"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", "non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
         "more than 8 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [6]}", "'(' starting the shape"},
        {"{'descr': '<\\f4', 'fortran_order': False, 'shape': (6,)}", "escapes are not read"},
        {"", "expected '{'"},
        {"{'descr': '<f\xc3\xa9', 'fortran_order': False, 'shape': (6,)}",
         "expected printable ASCII in the string at byte 13, found '?" "?'"},
        {"{'descr': '<f4' 'fortran_order': False}", "',' or '}'"},
    };
    uint8_t buf[1024], data[24] = {0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        size_t len = build_npy(buf, sizeof buf, 1, cases[i].dict, 1, data, sizeof data);
        tv_error err = {0};
        tv_model *m = read_npy(buf, len, &err);
        if (m)
            fail_msg("case %zu read: %s", i, cases[i].dict);
        if (!strstr(err.message, cases[i].message) || !strstr(err.message, "t.npy"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].message);
    }
}

static void npy_length_fields_that_can_go_wrong_are_checked(void **state)
{
    (void)state;
    /* the first shape dimension of (v, 3) f4 with 24 bytes of data */
    const uint64_t dims[] = {0, 1, 2, 3, 1ull << 31, 0xffffffffull, 1ull << 63, UINT64_MAX};
    uint8_t buf[1024], data[24] = {0};
    for (size_t i = 0; i < TV_ARRAY_SIZE(dims); i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%llu, 2)}",
                 (unsigned long long)dims[i]);
        size_t len = build_npy(buf, sizeof buf, 1, dict, 1, data, sizeof data);
        tv_error err = {0};
        tv_model *m = read_npy(buf, len, &err);
        if (dims[i] <= 3) {
            assert_non_null(m);
            assert_int_equal(count_findings(m, "structure.trailing_bytes"), dims[i] < 3);
            tv_model_free(m);
        } else {
            assert_null(m);
            assert_int_equal(err.code, TV_ERR_DATA);
        }
    }
    /* the header length field: 0, 1, just past the end, 2^31, 2^32 - 1 */
    size_t good = build_npy(buf, sizeof buf, 2, "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (6,)}", 1, data, sizeof data);
    const uint32_t header_lens[] = {0, 1, (uint32_t)(good - 12 + 1), 1u << 31, 0xffffffffu,
                                    (1u << 20) + 1};
    for (size_t i = 0; i < TV_ARRAY_SIZE(header_lens); i++) {
        uint8_t copy[1024];
        memcpy(copy, buf, good);
        for (int b = 0; b < 4; b++)
            copy[8 + b] = (uint8_t)(header_lens[i] >> (8 * b));
        tv_error err = {0};
        assert_null(read_npy(copy, good, &err));
        assert_non_null(strstr(err.message, "t.npy"));
        if (header_lens[i] > (1u << 20))
            assert_int_equal(err.code, TV_ERR_LIMIT);
        else if (header_lens[i] > good - 12)
            assert_non_null(strstr(err.message, "truncated reading the header"));
    }
    /* versions */
    const uint8_t versions[][2] = {{0, 0}, {4, 0}, {1, 1}, {2, 5}, {255, 255}};
    for (size_t i = 0; i < TV_ARRAY_SIZE(versions); i++) {
        uint8_t copy[1024];
        memcpy(copy, buf, good);
        copy[6] = versions[i][0];
        copy[7] = versions[i][1];
        tv_error err = {0};
        assert_null(read_npy(copy, good, &err));
        assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, ".npy version"));
    }
}

static void npy_trailing_bytes_and_unaligned_data_are_findings(void **state)
{
    (void)state;
    uint8_t buf[512], data[28] = {0};
    size_t len = build_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (6,)}", 0, data, sizeof data);
    tv_error err = {0};
    tv_model *m = read_npy(buf, len, &err);
    assert_non_null(m);
    assert_int_equal(count_findings(m, "structure.trailing_bytes"), 1);
    assert_int_equal(count_findings(m, "structure.alignment"), 1);
    assert_int_equal(m->n_findings, 2);
    tv_model_free(m);
}

static void npy_read_survives_truncation_at_every_offset(void **state)
{
    (void)state;
    uint8_t buf[512];
    int32_t data[6] = {1, 2, 3, 4, 5, 6};
    size_t len = build_npy(buf, sizeof buf, 2, "{'descr': '<i4', 'fortran_order': True, "
                           "'shape': (2, 3), }", 1, data, sizeof data);
    for (size_t cut = 0; cut < len; cut++) {
        tv_error err = {0};
        tv_blob *blob = tv_blob_copy(buf, cut, "cut.npy", &err);
        tv_model *m = tv_model_new_empty("cut.npy", NULL, &err);
        assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
        assert_int_equal(tv_format_npy.read(m, blob, &err), -1);
        assert_true(err.code == TV_ERR_DATA);
        assert_non_null(strstr(err.message, "cut.npy"));
        tv_blob_unref(blob);
        tv_model_free(m);
        m = tv_model_read_memory(buf, cut, "cut.npy", NULL, &err);
        assert_null(m);
    }
}

static void npy_read_survives_every_allocation_failure(void **state)
{
    (void)state;
    uint8_t buf[512];
    int32_t data[6] = {1, 2, 3, 4, 5, 6};
    size_t len = build_npy(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': True, "
                           "'shape': (2, 3), }", 0, data, sizeof data);
    struct failalloc_input in = {.buf = buf, .len = len, .name = "t.npy"};
    struct failalloc_sweep s = failalloc_sweep(500, failalloc_read_model, &in);
    if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
        fail_msg("allocation %ld: %s", s.n, s.err.message);
    assert_true(s.succeeded);
}

/* Files written by numpy itself (np.save), when python3-numpy is installed. */
static void npy_reads_what_numpy_writes(void **state)
{
    (void)state;
    const char *python = "/usr/bin/python3";
    if (access(python, X_OK) != 0 || system("/usr/bin/python3 -c 'import numpy' 2>/dev/null")) {
        print_message("[  SKIP    ] python3-numpy is not installed (apt-get install python3-numpy)\n");
        skip();
    }
    char *dir = make_temp_dir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import numpy as np, sys\n"
             "d = sys.argv[1]\n"
             "a = np.arange(24, dtype=np.float64).reshape(4, 6) / 8 - 1\n"
             "for t in [\"f2\", \"f4\", \"f8\", \"i1\", \"i2\", \"i4\", \"i8\", \"u1\", \"u2\", \"u4\", \"u8\", \"b1\"]:\n"
             "  np.save(d + \"/\" + t + \".npy\", (a * 4).astype(t))\n"
             "np.save(d + \"/fortran.npy\", np.asfortranarray(a.astype(\"f4\")))\n"
             "np.save(d + \"/big.npy\", a.astype(\">f4\"))\n"
             "np.lib.format.write_array(open(d + \"/v2.npy\", \"wb\"), a.astype(\"f4\"), version=(2, 0))\n"
             "open(d + \"/raw.bin\", \"wb\").write(a.astype(\"<f4\").tobytes())' '%s'",
             python, dir);
    assert_int_equal(system(cmd), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/raw.bin", dir);
    size_t raw_len;
    uint8_t *raw = read_file_or_fail(path, &raw_len);
    assert_int_equal(raw_len, 96);
    const char *names[] = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                           "b1", "fortran", "v2"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, names[i]);
        tv_error err = {0};
        tv_model *m = tv_model_open(path, NULL, &err);
        if (!m)
            fail_msg("%s: %s", names[i], err.message);
        const struct tv_tensor *t = tv_model_embedding(m);
        assert_non_null(t);
        assert_int_equal(t->shape[0], 4);
        assert_int_equal(t->shape[1], 6);
        assert_int_equal(m->n_findings, 0);
        if (strcmp(names[i], "fortran") == 0 || strcmp(names[i], "v2") == 0) {
            assert_memory_equal(t->data, raw, 96);
        } else if (tv_dtype_can_to_f32(t->dtype) && strcmp(names[i], "b1") != 0) {
            float row[6];
            assert_int_equal(tv_tensor_rows_f32(t, 3, 1, row, &err), 0);
            float want = (float)((18 / 8.0 - 1) * 4); /* a[3][0] * 4 = 5 */
            if (names[i][0] == 'u' || names[i][0] == 'i' || names[i][0] == 'f')
                assert_true(row[0] == want);
        }
        tv_model_free(m);
    }
    snprintf(path, sizeof path, "%s/big.npy", dir);
    tv_error err = {0};
    assert_null(tv_model_open(path, NULL, &err));
    assert_non_null(strstr(err.message, "big-endian"));
    tv_free(raw);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- --vocab FILE -------------------------------------------------------------------- */

static char *write_temp(const char *dir, const char *name, const char *text)
{
    char *path = tv_path_join(dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void vocab_lines_pair_a_matrix_with_its_words(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *vocab = write_temp(dir, "words.txt", "a\nb c\r\n\nb c\nlast");
    float values[10] = {0};
    uint8_t buf[512];
    size_t len = build_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (5, 2), }", 1, values, sizeof values);
    tv_error err = {0};
    tv_model *m = read_npy(buf, len, &err);
    assert_non_null(m);
    assert_int_equal(tv_vocab_size(m), 0);
    assert_int_equal(tv_model_read_vocab_lines(m, vocab, &err), 0);
    assert_int_equal(tv_vocab_size(m), 5);
    assert_string_equal(tv_vocab_token(m, 1)->text, "b c");
    assert_int_equal(tv_vocab_token(m, 2)->len, 0);
    assert_string_equal(tv_vocab_token(m, 4)->text, "last");
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "b c", 3, &id), 0);
    assert_int_equal(id, 1);
    assert_int_equal(count_findings(m, "structure.empty_token"), 1);
    assert_int_equal(count_findings(m, "vocab.duplicate_id"), 1);
    assert_non_null(strstr(m->findings[1].message, "line 4 'b c' repeats line 2 (ids 1 and 3)"));
    assert_string_equal(tv_model_embedding(m)->name, "embeddings");
    assert_string_equal(tv_model_file(m, tv_model_file_count(m) - 1), "words.txt");
    tv_model_free(m);

    /* a model that has a vocabulary already gets a secondary one */
    const char *text = "2 2\nx 1 2\ny 3 4\n";
    m = tv_model_read_memory(text, strlen(text), "v.vec", NULL, &err);
    assert_non_null(m);
    char *two = write_temp(dir, "two.txt", "x\ny\n");
    assert_int_equal(tv_model_read_vocab_lines(m, two, &err), 0);
    assert_int_equal(m->n_vocabs, 2);
    assert_int_equal(m->vocabs[1].n_tokens, 2);
    assert_int_equal(tv_model_read_vocab_lines(m, "/nonexistent/words.txt", &err), -1);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    tv_model_free(m);
    tv_free(two);
    tv_free(vocab);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- the writer ---------------------------------------------------------------------- */

static tv_model *write_and_read(const tv_model *m, const struct tv_format *fmt,
                                const struct tv_write_options *opt, const char *path)
{
    tv_error err = {0};
    tv_out *out = tv_out_open(path, true, &err);
    assert_non_null(out);
    if (fmt->write(m, out, opt, &err) < 0) {
        tv_out_abort(out);
        fail_msg("%s: %s", fmt->name, err.message);
    }
    assert_int_equal(tv_out_commit(out, &err), 0);
    tv_model *back = tv_model_open(path, NULL, &err);
    if (!back)
        fail_msg("reading back %s: %s", path, err.message);
    return back;
}

static void npy_writer_round_trips_every_dtype_rank_and_fortran_input(void **state)
{
    (void)state;
    const char *dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2, 3), }",
        "{'descr': '<i2', 'fortran_order': False, 'shape': (6,), }",
        "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }",
        "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5), }",
        "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<u4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<u8', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }",
    };
    uint8_t data[48], buf[512];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i % 2 ? i : 1);
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/out.npy", dir);
    for (size_t i = 0; i < TV_ARRAY_SIZE(dicts); i++) {
        size_t len = build_npy(buf, sizeof buf, 1, dicts[i], 1, data, sizeof data);
        tv_error err = {0};
        /* the data may be longer than the shape: cut what the header does not cover */
        tv_model *probe = read_npy(buf, len, &err);
        if (!probe)
            fail_msg("%s: %s", dicts[i], err.message);
        uint64_t n_bytes = tv_model_tensor(probe, 0)->n_bytes;
        tv_model_free(probe);
        len = build_npy(buf, sizeof buf, 1, dicts[i], 1, data, (size_t)n_bytes);
        tv_model *m = read_npy(buf, len, &err);
        tv_model *back = write_and_read(m, &tv_format_npy, NULL, path);
        const struct tv_tensor *a = tv_model_tensor(m, 0), *b = tv_model_tensor(back, 0);
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->dtype, b->dtype);
        assert_int_equal(a->n_dims, b->n_dims);
        for (uint32_t k = 0; k < a->n_dims; k++)
            assert_int_equal(a->shape[k], b->shape[k]);
        assert_int_equal(a->n_bytes, b->n_bytes);
        if (a->n_bytes)
            assert_memory_equal(a->data, b->data, a->n_bytes);
        assert_int_equal(back->n_findings, 0);
        /* the written file is the file numpy would write: 64-byte header, no padding
           beyond it */
        size_t written;
        uint8_t *bytes = read_file_or_fail(path, &written);
        assert_int_equal(written, 64 * ((10 + strlen(dicts[i]) + 1 + 63) / 64) + a->n_bytes);
        if (!strstr(dicts[i], "True"))
            assert_memory_equal(bytes, buf, len);
        tv_free(bytes);
        tv_model_free(back);
        tv_model_free(m);
    }
    remove_tree(dir);
    tv_free(dir);
}

static void npy_writer_decodes_bf16_and_converts_on_request(void **state)
{
    (void)state;
    tv_error err = {0};
    /* a model with a BF16 embedding: 1.0, -2.0, 0.5, 3.0 */
    static const uint8_t bf16[8] = {0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f, 0x40, 0x40};
    tv_model *m = tv_model_new_empty("bf16", NULL, &err);
    uint64_t shape[2] = {2, 2};
    assert_int_equal(tv_model_add_tensor(m, "embeddings", 10, TV_DTYPE_BF16, 2, shape, "bf16",
                                         0, bf16, &err), 0);
    assert_int_equal(tv_model_pick_embedding(m, &err), 0);
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/bf16.npy", dir);
    tv_model *back = write_and_read(m, &tv_format_npy, NULL, path);
    const struct tv_tensor *t = tv_model_embedding(back);
    assert_int_equal(t->dtype, TV_DTYPE_F32);
    float f[4];
    memcpy(f, t->data, sizeof f);
    assert_true(f[0] == 1.0f && f[1] == -2.0f && f[2] == 0.5f && f[3] == 3.0f);
    tv_model_free(back);

    struct tv_write_options opt;
    tv_write_options_init(&opt);
    opt.dtype = TV_DTYPE_F16;
    back = write_and_read(m, &tv_format_npy, &opt, path);
    t = tv_model_embedding(back);
    assert_int_equal(t->dtype, TV_DTYPE_F16);
    float row[2];
    assert_int_equal(tv_tensor_rows_f32(t, 1, 1, row, &err), 0);
    assert_true(row[0] == 0.5f && row[1] == 3.0f);
    tv_model_free(back);

    opt.dtype = TV_DTYPE_Q8_0;
    tv_out *out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_npy.write(m, out, &opt, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "F32, F16 or F64 floats, not Q8_0"));
    tv_model_free(m);

    /* two tensors and no embedding: which one is ambiguous */
    m = tv_model_new_empty("two", NULL, &err);
    assert_int_equal(tv_model_add_tensor(m, "a", 1, TV_DTYPE_U8, 1, shape, "two", 0, bf16,
                                         &err), 0);
    assert_int_equal(tv_model_add_tensor(m, "b", 1, TV_DTYPE_U8, 1, shape, "two", 0, bf16,
                                         &err), 0);
    out = tv_out_open(path, true, &err);
    assert_int_equal(tv_format_npy.write(m, out, NULL, &err), -1);
    tv_out_abort(out);
    assert_non_null(strstr(err.message, "this model has 2 tensors and no token embedding"));
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

static void npy_plus_vocab_lines_convert_to_word2vec_and_back(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *vocab = write_temp(dir, "words.txt", "alpha\nbeta\ngamma\n");
    float values[6] = {0.25f, -1, 3.5f, 1e-7f, 123456.789f, -0.0f};
    uint8_t buf[512];
    size_t len = build_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (3, 2), }", 1, values, sizeof values);
    tv_error err = {0};
    tv_model *m = read_npy(buf, len, &err);
    assert_int_equal(tv_model_read_vocab_lines(m, vocab, &err), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/vectors.txt", dir);
    tv_model *vec = write_and_read(m, &tv_format_word2vec, NULL, path);
    assert_string_equal(tv_vocab_token(vec, 2)->text, "gamma");
    assert_memory_equal(tv_model_embedding(vec)->data, values, sizeof values);
    snprintf(path, sizeof path, "%s/back.npy", dir);
    tv_model *npy = write_and_read(vec, &tv_format_npy, NULL, path);
    size_t written;
    uint8_t *bytes = read_file_or_fail(path, &written);
    assert_int_equal(written, len);
    assert_memory_equal(bytes, buf, len);
    tv_free(bytes);
    tv_model_free(npy);
    tv_model_free(vec);
    tv_model_free(m);
    tv_free(vocab);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(npy_reads_every_supported_dtype_in_versions_1_2_and_3),
        cmocka_unit_test(npy_f32_rows_convert_and_other_ranks_are_named_array),
        cmocka_unit_test(npy_fortran_order_is_copied_into_c_order),
        cmocka_unit_test(npy_refuses_big_endian_and_dtypes_it_cannot_hold),
        cmocka_unit_test(npy_hostile_headers_each_give_an_error_naming_the_numbers),
        cmocka_unit_test(npy_length_fields_that_can_go_wrong_are_checked),
        cmocka_unit_test(npy_trailing_bytes_and_unaligned_data_are_findings),
        cmocka_unit_test(npy_read_survives_truncation_at_every_offset),
        cmocka_unit_test(npy_read_survives_every_allocation_failure),
        cmocka_unit_test(npy_reads_what_numpy_writes),
        cmocka_unit_test(vocab_lines_pair_a_matrix_with_its_words),
        cmocka_unit_test(npy_writer_round_trips_every_dtype_rank_and_fortran_input),
        cmocka_unit_test(npy_writer_decodes_bf16_and_converts_on_request),
        cmocka_unit_test(npy_plus_vocab_lines_convert_to_word2vec_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
