/* PyTorch checkpoints (formats/pytorch.c): the real fixtures (tinypellm, torchtext),
   checkpoints torch.save writes in this test's set-up when python3-torch is installed
   (every dtype, views with offsets and strides, tied weights, protocols 2/4/5, the
   legacy format, nested and sharded checkpoints), compared element by element with
   the bytes torch wrote out alongside, and converted to safetensors and GGUF; hostile
   zips and pickles built here (globals that would run code, views past their storage,
   claims of billions of elements, cycles, truncation at every offset, failing
   allocations) refused without a crash. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokvec/verify.h"
#include "failalloc.h"
#include "pk_build.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------ */

static const struct tv_tensor *tensor_or_fail(const tv_model *m, const char *name)
{
    const struct tv_tensor *t = tv_model_tensor_find(m, name);
    if (!t)
        fail_msg("%s: no tensor '%s'", tv_model_path(m), name);
    return t;
}

static const char *meta_text(const tv_model *m, const char *key, size_t i)
{
    static char buf[512];
    const struct tv_meta *meta = tv_model_meta_find(m, key);
    if (!meta)
        return NULL;
    const struct tv_str *s = &meta->value.as.str;
    if (meta->value.type == TV_VALUE_ARRAY) {
        if (i >= meta->value.as.arr.n)
            return NULL;
        s = &((const struct tv_str *)meta->value.as.arr.data)[i];
    }
    snprintf(buf, sizeof buf, "%.*s", (int)s->len, s->ptr);
    return buf;
}

/* The kind of the model blob whose bytes hold p (-1: none). */
static int blob_kind_of(const tv_model *m, const uint8_t *p)
{
    for (size_t i = 0; i < m->n_blobs; i++) {
        const tv_blob *b = m->blobs[i];
        if (p >= b->data && p < b->data + b->len)
            return (int)b->kind;
    }
    return -1;
}

/* ---- the real fixtures -------------------------------------------------------------- */

static void pytorch_reads_tinypellm_bin_with_lm_head_tied_to_embed_tokens(void **state)
{
    (void)state;
    const char *path = real_fixture("pytorch/tinypellm/pytorch_model.bin");
    tv_model *m = model_open_or_fail(path, NULL);
    assert_string_equal(tv_model_kind(m), "PyTorch checkpoint");
    assert_int_equal(tv_model_tensor_count(m), 24);
    const struct tv_tensor *emb = tv_model_embedding(m);
    assert_non_null(emb);
    assert_string_equal(emb->name, "model.embed_tokens.weight");
    assert_int_equal(emb->dtype, TV_DTYPE_F32);
    assert_int_equal(emb->n_dims, 2);
    assert_int_equal(emb->shape[0], 3000);
    assert_int_equal(emb->shape[1], 128);
    const struct tv_tensor *head = tensor_or_fail(m, "lm_head.weight");
    assert_ptr_equal(head->data, emb->data);            /* tied: one storage */
    assert_string_equal(meta_text(m, "pytorch.tied", 0),
                        "model.embed_tokens.weight = lm_head.weight");
    assert_null(meta_text(m, "pytorch.tied", 1));
    /* zero copy: the tensors are views of the mapped file, at their offset in it */
    size_t len;
    uint8_t *file = read_file_or_fail(path, &len);
    for (size_t i = 0; i < tv_model_tensor_count(m); i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        assert_true(t->offset > 0 && t->offset + t->n_bytes <= len);
        assert_memory_equal(file + t->offset, t->data, t->n_bytes);
        assert_int_not_equal(blob_kind_of(m, t->data), TV_BLOB_HEAP);
    }
    tv_free(file);
    /* converted by the CLI: every tensor arrives with the same bytes */
    char *dir = make_temp_dir(), out[4096];
    static const char *const outs[] = {"tiny.safetensors", "tiny.gguf"};
    for (size_t k = 0; k < TV_ARRAY_SIZE(outs); k++) {
        snprintf(out, sizeof out, "%s/%s", dir, outs[k]);
        char *o = NULL, *e = NULL;
        assert_int_equal(run_cli(&o, &e, "convert", path, out, NULL), 0);
        tv_free(o);
        tv_free(e);
        tv_model *back = model_open_or_fail(out, NULL);
        assert_int_equal(tv_model_tensor_count(back), 24);
        for (size_t i = 0; i < tv_model_tensor_count(m); i++) {
            const struct tv_tensor *a = tv_model_tensor(m, i);
            /* the GGUF writer names the token embedding as llama.cpp does */
            const struct tv_tensor *b = tensor_or_fail(
                back, k == 1 && a == emb ? "token_embd.weight" : a->name);
            assert_int_equal(b->n_bytes, a->n_bytes);
            assert_memory_equal(b->data, a->data, a->n_bytes);
        }
        tv_model_free(back);
    }
    remove_tree(dir);
    tv_free(dir);
    tv_model_free(m);
}

/* The fixture README says the .pt shares lm_head with the embedding too; the file says
   otherwise: lm_head.weight is storage 35, token_embedding.weight storage 0, and their
   bytes differ. */
static void pytorch_reads_tinypellm_pt_whose_lm_head_has_its_own_storage(void **state)
{
    (void)state;
    tv_model *m = model_open_or_fail(real_fixture("pytorch/tinypellm/tinypellm_model.pt"), NULL);
    assert_int_equal(tv_model_tensor_count(m), 36);
    const struct tv_tensor *emb = tv_model_embedding(m);
    assert_non_null(emb);
    assert_string_equal(emb->name, "token_embedding.weight");
    assert_int_equal(emb->shape[0], 3000);
    assert_int_equal(emb->shape[1], 128);
    const struct tv_tensor *head = tensor_or_fail(m, "lm_head.weight");
    assert_int_equal(head->shape[0], 3000);
    assert_ptr_not_equal(head->data, emb->data);
    assert_true(memcmp(head->data, emb->data, emb->n_bytes) != 0);
    assert_null(tv_model_meta_find(m, "pytorch.tied"));
    /* BUILD set _metadata on the OrderedDict: read past, not a tensor */
    assert_null(tv_model_tensor_find(m, "_metadata"));
    tv_model_free(m);
}

static void pytorch_reads_the_torchtext_checkpoints(void **state)
{
    (void)state;
    static const struct {
        const char *file, *name;
        uint32_t n_dims;
        uint64_t shape[3];
    } cases[] = {
        {"pytorch/torchtext-roberta.base.output.pt", "tensor", 3, {1, 7, 768}},
        {"pytorch/torchtext-t5.small.model.output.pt", "tensor", 3, {2, 1, 512}},
        {"pytorch/torchtext-test_state_dict.pt", "a", 2, {2, 2}},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = model_open_or_fail(real_fixture(cases[i].file), NULL);
        assert_int_equal(tv_model_tensor_count(m), 1);
        const struct tv_tensor *t = tensor_or_fail(m, cases[i].name);
        assert_int_equal(t->dtype, TV_DTYPE_F32);
        assert_int_equal(t->n_dims, cases[i].n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            assert_int_equal(t->shape[d], cases[i].shape[d]);
        if (i == 2) {
            float v[4];
            memcpy(v, t->data, sizeof v);
            for (int k = 0; k < 4; k++)
                assert_true(v[k] == 1.0f);
        }
        tv_model_free(m);
    }
}

static void pytorch_folder_reads_pytorch_model_bin_and_verify_sees_the_tie(void **state)
{
    (void)state;
    const char *dir = real_fixture("pytorch/tinypellm");
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    tv_model *m = model_open_or_fail(path, NULL);
    assert_string_equal(tv_model_kind(m), "Hugging Face folder");
    assert_int_equal(tv_model_tensor_count(m), 24);
    bool listed = false;
    for (size_t i = 0; i < tv_model_file_count(m); i++)
        listed |= strcmp(tv_model_file(m, i), "pytorch_model.bin") == 0;
    assert_true(listed);
    tv_error err = {0};
    tv_verify_report *r = tv_verify_run(m, NULL, &err);
    assert_non_null(r);
    const struct tv_check *c = tv_verify_find(r, "tied_embeddings");
    assert_non_null(c);
    assert_int_equal(c->status, TV_CHECK_PASS);
    assert_non_null(strstr(c->message, "lm_head.weight shares storage with "
                                       "model.embed_tokens.weight"));
    tv_verify_report_free(r);
    tv_model_free(m);
}

/* Every byte of a small real checkpoint replaced by a value that can go wrong, and
   every prefix of it: an error or a model, never a crash. */
static void pytorch_survives_damage_to_every_byte_of_a_real_checkpoint(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = read_file_or_fail(real_fixture("pytorch/torchtext-test_state_dict.pt"), &len);
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    uint8_t *copy = tv_malloc(len);
    for (size_t at = 0; at < len; at++)
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, file, len);
            copy[at] = values[v];
            tv_error err = {0};
            tv_model *m = tv_model_read_memory(copy, len, "damaged.pt", NULL, &err);
            if (!m)
                assert_true(err.message[0] != '\0');
            tv_model_free(m);
        }
    for (size_t cut = 0; cut < len; cut++) {
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(file, cut, "cut.pt", NULL, &err);
        if (m)
            fail_msg("a checkpoint cut at %zu of %zu bytes was read", cut, len);
        assert_true(err.message[0] != '\0');
    }
    tv_free(copy);
    tv_free(file);
}

/* ---- checkpoints written by torch ---------------------------------------------------- */

static char *torch_dir;          /* where the set-up wrote them; NULL: torch is missing */
static const char *torch_python;

static int torch_setup(void **state)
{
    (void)state;
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(pythons) && !torch_python; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import torch, numpy' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) == 0)
            torch_python = pythons[i];
    }
    if (!torch_python) {
        print_message("[  SKIP    ] python3-torch is not installed (`python3 -c \"import torch\"` "
                      "fails): the checkpoints torch writes are not tested (apt-get install "
                      "python3-torch)\n");
        return 0;
    }
    char tmpl[] = "/tmp/tokvec-pytorch-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s/tests/data/pytorch_fixtures.py '%s'", torch_python,
             TOKVEC_SOURCE_DIR, tmpl);
    if (system(cmd) != 0) {
        print_message("tests/data/pytorch_fixtures.py failed\n");
        return -1;
    }
    torch_dir = strdup(tmpl);
    return 0;
}

static int torch_teardown(void **state)
{
    (void)state;
    if (torch_dir) {
        remove_tree(torch_dir);
        free(torch_dir);
        torch_dir = NULL;
    }
    return 0;
}

static void need_torch(void)
{
    if (!torch_dir) {
        print_message("[  SKIP    ] python3-torch is not installed\n");
        skip();
    }
}

static const char *torch_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", torch_dir, name);
    return path;
}

struct manifest_entry {
    char name[64], dtype[16];
    uint32_t n_dims;
    uint64_t shape[8];
};

static size_t read_manifest(struct manifest_entry *out, size_t cap)
{
    size_t len, n = 0;
    char *text = (char *)read_file_or_fail(torch_path("manifest.tsv"), &len);
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        struct manifest_entry *e = &out[n++];
        memset(e, 0, sizeof *e);
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        assert_non_null(tab2);
        snprintf(e->name, sizeof e->name, "%.*s", (int)(tab1 - line), line);
        snprintf(e->dtype, sizeof e->dtype, "%.*s", (int)(tab2 - tab1 - 1), tab1 + 1);
        for (char *p = tab2 + 1; *p; p++) {
            e->shape[e->n_dims++] = strtoull(p, &p, 10);
            if (!*p)
                break;
        }
    }
    tv_free(text);
    return n;
}

/* Every tensor of the manifest in m: dtype, shape and bytes equal to what torch wrote. */
static void check_against_raw(const tv_model *m, bool views_kept)
{
    struct manifest_entry entries[64];
    size_t n = read_manifest(entries, 64);
    assert_int_equal(n, 22);
    for (size_t i = 0; i < n; i++) {
        const struct manifest_entry *e = &entries[i];
        const struct tv_tensor *t = tv_model_tensor_find(m, e->name);
        if (!t)
            continue; /* floats.pt holds a subset */
        assert_string_equal(tv_dtype_name(t->dtype), e->dtype);
        assert_int_equal(t->n_dims, e->n_dims);
        for (uint32_t d = 0; d < e->n_dims; d++)
            assert_int_equal(t->shape[d], e->shape[d]);
        char raw_name[sizeof e->name + 16];
        int w = snprintf(raw_name, sizeof raw_name, "raw/%s.bin", e->name);
        assert_true(w > 0 && (size_t)w < sizeof raw_name);
        size_t raw_len;
        uint8_t *raw = read_file_or_fail(torch_path(raw_name), &raw_len);
        assert_int_equal(raw_len, t->n_bytes);
        if (raw_len && memcmp(raw, t->data, raw_len) != 0)
            fail_msg("%s: tensor '%s' differs from what torch wrote", tv_model_path(m), e->name);
        tv_free(raw);
        if (!views_kept || !t->n_bytes)
            continue;
        /* contiguous views point into the file; strided ones were copied */
        bool strided = strcmp(e->name, "transposed") == 0 || strcmp(e->name, "every_other") == 0 ||
                       strcmp(e->name, "column") == 0 || strcmp(e->name, "expanded") == 0 ||
                       strcmp(e->name, "half_t") == 0;
        if (strided)
            assert_int_equal(blob_kind_of(m, t->data), TV_BLOB_HEAP);
        else
            assert_int_not_equal(blob_kind_of(m, t->data), TV_BLOB_HEAP);
    }
}

static void pytorch_reads_what_torch_saves_element_by_element(void **state)
{
    (void)state;
    need_torch();
    static const char *const files[] = {"default.pt", "p4.pt", "p5.pt", "legacy.pt"};
    for (size_t f = 0; f < TV_ARRAY_SIZE(files); f++) {
        tv_model *m = model_open_or_fail(torch_path(files[f]), NULL);
        assert_int_equal(tv_model_tensor_count(m), 22);
        check_against_raw(m, true);
        const struct tv_tensor *a = tensor_or_fail(m, "embed.weight");
        const struct tv_tensor *b = tensor_or_fail(m, "lm_head.weight");
        assert_ptr_equal(a->data, b->data);
        assert_ptr_not_equal(tensor_or_fail(m, "qkv_q")->data, tensor_or_fail(m, "qkv_k")->data);
        assert_string_equal(meta_text(m, "pytorch.tied", 0), "embed.weight = lm_head.weight");
        assert_null(meta_text(m, "pytorch.tied", 1));
        /* the order of the state dict is kept */
        assert_string_equal(tv_model_tensor(m, 0)->name, "f32");
        assert_string_equal(tv_model_tensor(m, 21)->name, "qkv_k");
        tv_model_free(m);
    }
}

static void pytorch_nested_checkpoint_reads_the_model_and_key_picks_another(void **state)
{
    (void)state;
    need_torch();
    tv_model *m = model_open_or_fail(torch_path("nested.pt"), NULL);
    assert_int_equal(tv_model_tensor_count(m), 4);
    assert_string_equal(meta_text(m, "pytorch.key", 0), "model");
    size_t raw_len;
    uint8_t *raw = read_file_or_fail(torch_path("nested.raw"), &raw_len);
    const struct tv_tensor *w = tensor_or_fail(m, "0.weight");
    assert_int_equal(w->n_bytes, raw_len);
    assert_memory_equal(w->data, raw, raw_len);
    tv_free(raw);
    tensor_or_fail(m, "1.bias");
    tv_model_free(m);

    struct tv_open_options opt = {.pytorch_key = "optimizer/state/0"};
    m = model_open_or_fail(torch_path("nested.pt"), &opt);
    tensor_or_fail(m, "exp_avg");
    tensor_or_fail(m, "exp_avg_sq");
    assert_string_equal(meta_text(m, "pytorch.key", 0), "optimizer/state/0");
    tv_model_free(m);

    tv_error err = {0};
    opt.pytorch_key = "nope";
    assert_null(tv_model_open(torch_path("nested.pt"), &opt, &err));
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "no key 'nope' (the keys there: 'model', 'optimizer', "
                                        "'epoch')"));
    opt.pytorch_key = "epoch";
    assert_null(tv_model_open(torch_path("nested.pt"), &opt, &err));
    assert_non_null(strstr(err.message, "no tensors in the checkpoint under epoch"));

    /* two candidates and neither has a known name: the user chooses */
    assert_null(tv_model_open(torch_path("ambiguous.pt"), NULL, &err));
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_non_null(strstr(err.message, "tensors sit under 2 keys ('a', 'b')"));
    assert_non_null(strstr(err.message, "--key"));
    opt.pytorch_key = "b";
    m = model_open_or_fail(torch_path("ambiguous.pt"), &opt);
    assert_int_equal(tv_model_tensor_count(m), 1);
    tensor_or_fail(m, "w");
    tv_model_free(m);

    /* the CLI's --key */
    char *out = NULL, *errout = NULL;
    assert_int_equal(run_cli(&out, &errout, "inspect", "--tensors", "--key", "optimizer/state/0",
                             torch_path("nested.pt"), NULL), 0);
    assert_non_null(strstr(out, "exp_avg_sq"));
    tv_free(out);
    tv_free(errout);
    assert_int_equal(run_cli(&out, &errout, "inspect", torch_path("ambiguous.pt"), NULL), 1);
    assert_non_null(strstr(errout, "choose one with --key"));
    tv_free(out);
    tv_free(errout);
}

static void pytorch_reads_a_bare_tensor_and_parameters(void **state)
{
    (void)state;
    need_torch();
    tv_model *m = model_open_or_fail(torch_path("tensor.pt"), NULL);
    assert_int_equal(tv_model_tensor_count(m), 1);
    const struct tv_tensor *t = tensor_or_fail(m, "tensor");
    assert_int_equal(t->shape[0], 6);
    assert_int_equal(t->shape[1], 8);
    tv_model_free(m);
    m = model_open_or_fail(torch_path("params.pt"), NULL);
    assert_int_equal(tv_model_tensor_count(m), 4);
    tensor_or_fail(m, "0.weight");
    tv_model_free(m);
}

static void pytorch_sharded_index_reads_every_shard_and_checks_the_map(void **state)
{
    (void)state;
    need_torch();
    tv_model *m = model_open_or_fail(torch_path("sharded"), NULL);
    assert_string_equal(tv_model_kind(m), "Hugging Face folder");
    assert_int_equal(tv_model_tensor_count(m), 13);
    check_against_raw(m, false);
    assert_ptr_equal(tensor_or_fail(m, "embed.weight")->data,
                     tensor_or_fail(m, "lm_head.weight")->data);
    tv_model_free(m);
    m = model_open_or_fail(torch_path("sharded/pytorch_model.bin.index.json"), NULL);
    assert_string_equal(tv_model_kind(m), "PyTorch checkpoint (sharded)");
    assert_int_equal(tv_model_tensor_count(m), 13);
    tv_model_free(m);

    /* an index that lies about where a tensor is, or lists one no shard holds */
    size_t len;
    char *index = (char *)read_file_or_fail(torch_path("sharded/pytorch_model.bin.index.json"),
                                            &len);
    static const struct {
        const char *from, *to, *want;
    } lies[] = {
        {"\"f32\": \"pytorch_model-00001", "\"f32\": \"pytorch_model-00002",
         "holds tensor 'f32', which the weight_map lists under another shard"},
        {"\"f32\": ", "\"f33\": \"pytorch_model-00001-of-00002.bin\", \"f32\": ",
         "tensor 'f33' is listed under shard"},
        {"\"f32\": \"pytorch_model-00001-of-00002.bin\", ", "",
         "holds tensor 'f32', which the weight_map does not list"},
        {"\"f32\": \"pytorch_model-00001-of-00002.bin\"", "\"f32\": \"../x.bin\"",
         "is not the name of a shard"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(lies); i++) {
        char *at = strstr(index, lies[i].from);
        assert_non_null(at);
        FILE *f = fopen(torch_path("sharded/pytorch_model.bin.index.json"), "wb");
        fprintf(f, "%.*s%s%s", (int)(at - index), index, lies[i].to, at + strlen(lies[i].from));
        fclose(f);
        tv_error err = {0};
        assert_null(tv_model_open(torch_path("sharded"), NULL, &err));
        if (!strstr(err.message, lies[i].want))
            fail_msg("lie %zu: expected '%s', got: %s", i, lies[i].want, err.message);
    }
    FILE *f = fopen(torch_path("sharded/pytorch_model.bin.index.json"), "wb");
    fwrite(index, 1, len, f);
    fclose(f);
    tv_free(index);
}

static void pytorch_converts_to_safetensors_and_gguf_element_by_element(void **state)
{
    (void)state;
    need_torch();
    static const struct {
        const char *src, *out;
    } cases[] = {
        {"default.pt", "out.safetensors"},
        {"legacy.pt", "legacy.safetensors"},
        {"floats.pt", "out.gguf"},
        {"floats.pt", "f16.gguf"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        tv_model *m = model_open_or_fail(torch_path(cases[i].src), NULL);
        struct tv_write_options wopt;
        tv_write_options_init(&wopt);
        tv_error err = {0};
        char out[4096];
        snprintf(out, sizeof out, "%s", torch_path(cases[i].out));
        if (strcmp(cases[i].out, "f16.gguf") == 0) {
            /* through the converter: every float tensor to F16, strided ones included */
            wopt.dtype = TV_DTYPE_F16;
        }
        if (tv_model_write(m, out, &wopt, &err) < 0)
            fail_msg("%s -> %s: %s", cases[i].src, cases[i].out, err.message);
        tv_model *back = model_open_or_fail(out, NULL);
        if (wopt.dtype < 0) {
            check_against_raw(back, false);
            assert_int_equal(tv_model_tensor_count(back), tv_model_tensor_count(m));
        } else {
            for (size_t k = 0; k < tv_model_tensor_count(m); k++) {
                const struct tv_tensor *a = tv_model_tensor(m, k);
                const struct tv_tensor *b = tensor_or_fail(back, a->name);
                assert_int_equal(a->n_elements, b->n_elements);
                if (a->n_dims < 2) { /* --dtype applies to matrices; vectors are kept */
                    assert_int_equal(b->dtype, a->dtype);
                    assert_memory_equal(a->data, b->data, a->n_bytes);
                    continue;
                }
                assert_int_equal(b->dtype, TV_DTYPE_F16);
                float *fa = tv_malloc(a->n_elements * sizeof *fa);
                float *fb = tv_malloc(a->n_elements * sizeof *fb);
                uint16_t *half = tv_malloc(a->n_elements * sizeof *half);
                assert_int_equal(tv_dtype_to_f32(a->dtype, a->data, a->n_elements, fa, &err), 0);
                assert_int_equal(tv_dtype_from_f32(TV_DTYPE_F16, fa, a->n_elements, half, &err), 0);
                assert_int_equal(tv_dtype_to_f32(TV_DTYPE_F16, half, a->n_elements, fa, &err), 0);
                assert_int_equal(tv_dtype_to_f32(b->dtype, b->data, b->n_elements, fb, &err), 0);
                assert_memory_equal(fa, fb, a->n_elements * sizeof *fa);
                tv_free(fa);
                tv_free(fb);
                tv_free(half);
            }
        }
        tv_model_free(back);
        tv_model_free(m);
    }
    /* the CLI */
    char *out = NULL, *errout = NULL, src[4096];
    snprintf(src, sizeof src, "%s", torch_path("p5.pt"));
    assert_int_equal(run_cli(&out, &errout, "convert", src, torch_path("cli.safetensors"),
                             NULL), 0);
    tv_free(out);
    tv_free(errout);
    tv_model *back = model_open_or_fail(torch_path("cli.safetensors"), NULL);
    check_against_raw(back, false);
    tv_model_free(back);
}

/* ---- hostile checkpoints built here ----------------------------------------------------- */

struct tspec {
    const char *name, *cls, *key;
    int64_t numel, offset;
    int n_dims;
    int64_t shape[10], stride[10];
};

/* key -> _rebuild_tensor_v2(('storage', torch.<cls>, key, 'cpu', numel[, None]), ...) */
static void pk_tensor(struct pk *p, const struct tspec *t, bool legacy)
{
    pk_str(p, t->name);
    pk_global(p, "torch._utils", "_rebuild_tensor_v2");
    pk_op(p, '(');
    pk_op(p, '(');
    pk_str(p, "storage");
    pk_global(p, "torch", t->cls);
    pk_str(p, t->key);
    pk_str(p, "cpu");
    pk_int(p, t->numel);
    if (legacy)
        pk_op(p, 'N');
    pk_op(p, 't');
    pk_op(p, 'Q');
    pk_int(p, t->offset);
    pk_op(p, '(');
    for (int d = 0; d < t->n_dims; d++)
        pk_int(p, t->shape[d]);
    pk_op(p, 't');
    pk_op(p, '(');
    for (int d = 0; d < t->n_dims; d++)
        pk_int(p, t->stride[d]);
    pk_op(p, 't');
    pk_op(p, 0x89);
    pk_global(p, "collections", "OrderedDict");
    pk_op(p, ')');
    pk_op(p, 'R');
    pk_op(p, 't');
    pk_op(p, 'R');
}

/* A state dict pickle of these tensors. */
static void pk_state_dict(struct pk *p, const struct tspec *t, size_t n, bool legacy)
{
    pk_op(p, 0x80), pk_op(p, 2), pk_op(p, '}'), pk_op(p, '(');
    for (size_t i = 0; i < n; i++)
        pk_tensor(p, &t[i], legacy);
    pk_op(p, 'u'), pk_op(p, '.');
}

struct member {
    const char *name;
    const void *data;
    size_t len;
};

/* A stored (uncompressed) zip of the members, in memory. */
static uint8_t *build_zip(const struct member *members, size_t n, size_t *len)
{
    size_t cap = 1 << 16;
    for (size_t i = 0; i < n; i++)
        cap += members[i].len + 256;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_zip_set_compression_store(a), ARCHIVE_OK);
    size_t used = 0;
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, members[i].name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)members[i].len);
        assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
        if (members[i].len)
            assert_int_equal(archive_write_data(a, members[i].data, members[i].len),
                             (la_ssize_t)members[i].len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *len = used;
    return buf;
}

static const float storage0[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* archive/data.pkl from pkl, archive/data/0 = storage0 (64 bytes), archive/version. */
static uint8_t *checkpoint_zip(const struct pk *pkl, const char *byteorder, size_t *len)
{
    struct member members[4] = {
        {"archive/data.pkl", pkl->buf, pkl->len},
        {"archive/data/0", storage0, sizeof storage0},
        {"archive/version", "3\n", 2},
        {"archive/byteorder", byteorder, byteorder ? strlen(byteorder) : 0},
    };
    return build_zip(members, byteorder ? 4 : 3, len);
}

static void pytorch_reads_a_checkpoint_built_here(void **state)
{
    (void)state;
    const struct tspec t[] = {
        {"w", "FloatStorage", "0", 16, 2, 2, {3, 4}, {4, 1}},
        {"wt", "FloatStorage", "0", 16, 0, 2, {4, 3}, {1, 4}},
        {"w2", "FloatStorage", "0", 16, 2, 2, {3, 4}, {4, 1}},
    };
    struct pk p = {0};
    pk_state_dict(&p, t, 3, false);
    size_t len;
    uint8_t *zip = checkpoint_zip(&p, "little", &len);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(zip, len, "built.pt", NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_tensor *w = tensor_or_fail(m, "w");
    assert_memory_equal(w->data, storage0 + 2, 12 * sizeof(float));
    const struct tv_tensor *wt = tensor_or_fail(m, "wt");
    float want[12];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++)
            want[r * 3 + c] = storage0[c * 4 + r];
    assert_memory_equal(wt->data, want, sizeof want);
    assert_ptr_equal(tensor_or_fail(m, "w2")->data, w->data);
    assert_string_equal(meta_text(m, "pytorch.tied", 0), "w = w2");
    tv_model_free(m);
    free(zip);
    free(p.buf);
}

/* The hostile cases: each a state dict (or a pickle of its own) in a zip. */
static void pytorch_refuses_hostile_checkpoints_naming_the_problem(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        struct tspec t;
        int code;
        const char *want;
    } cases[] = {
        {"missing storage", {"w", "FloatStorage", "1", 16, 0, 1, {4}, {1}}, TV_ERR_DATA,
         "storage '1' (archive/data/1) is not in the zip"},
        {"storage smaller than declared", {"w", "FloatStorage", "0", 100, 0, 1, {4}, {1}},
         TV_ERR_DATA, "storage '0' holds 64 bytes but is declared as 100 torch.FloatStorage"},
        {"view past the end", {"w", "FloatStorage", "0", 16, 11, 2, {3, 2}, {2, 1}},
         TV_ERR_DATA, "runs past storage '0' of 64 bytes"},
        {"empty view offset past the end", {"w", "FloatStorage", "0", 16, 17, 1, {0}, {1}},
         TV_ERR_DATA, "offset 17 lies past its storage"},
        {"a billion rows of one element", {"w", "FloatStorage", "0", 16, 0, 2,
         {1 << 30, 1 << 30}, {0, 0}}, TV_ERR_LIMIT, "copying its strided view"},
        {"2^64 elements", {"w", "FloatStorage", "0", 16, 0, 2, {1LL << 40, 1LL << 40}, {0, 0}},
         TV_ERR_DATA, "element count overflows"},
        {"strides past 2^64", {"w", "FloatStorage", "0", 16, 0, 1, {4}, {INT64_MAX}},
         TV_ERR_DATA, "strides reach past"},
        {"huge storage claim", {"w", "FloatStorage", "0", INT64_MAX, 0, 1, {4}, {1}},
         TV_ERR_DATA, "does not fit in memory"},
        {"nine dimensions", {"w", "FloatStorage", "0", 16, 0, 9, {1, 1, 1, 1, 1, 1, 1, 1, 1},
         {1, 1, 1, 1, 1, 1, 1, 1, 1}}, TV_ERR_UNSUPPORTED, "has 9 dimensions"},
        {"negative size", {"w", "FloatStorage", "0", 16, 0, 1, {-4}, {1}}, TV_ERR_DATA,
         "a size is negative"},
        {"negative offset", {"w", "FloatStorage", "0", 16, -1, 1, {4}, {1}}, TV_ERR_DATA,
         "the storage offset is negative"},
        {"key leaving the folder", {"w", "FloatStorage", "../0", 16, 0, 1, {4}, {1}},
         TV_ERR_DATA, "is not a plain name"},
        {"not a storage class", {"w", "Tensor", "0", 16, 0, 1, {4}, {1}}, TV_ERR_DATA,
         "not a torch storage class"},
        {"complex128", {"w", "ComplexDoubleStorage", "0", 4, 0, 1, {4}, {1}},
         TV_ERR_UNSUPPORTED, "holds a dtype tokvec does not have"},
        {"a storage class that runs code", {"w", "load", "0", 16, 0, 1, {4}, {1}},
         TV_ERR_UNSUPPORTED, "global 'torch.load' is not allowed"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        struct pk p = {0};
        pk_state_dict(&p, &cases[i].t, 1, false);
        size_t len;
        uint8_t *zip = checkpoint_zip(&p, "little", &len);
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(zip, len, "evil.pt", NULL, &err);
        if (m)
            fail_msg("%s: read", cases[i].what);
        if (err.code != cases[i].code || !strstr(err.message, cases[i].want) ||
            !strstr(err.message, "evil.pt"))
            fail_msg("%s: expected %d '%s', got %d: %s", cases[i].what, cases[i].code,
                     cases[i].want, err.code, err.message);
        free(zip);
        free(p.buf);
    }
}

static void pytorch_refuses_pickles_that_would_run_code_or_never_end(void **state)
{
    (void)state;
    struct pk p[8] = {{0}};
    const char *want[8];
    int n = 0;
    /* GLOBAL os system + REDUCE */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2), pk_global(&p[n], "os", "system");
    pk_str(&p[n], "touch /tmp/tokvec-pwned"), pk_op(&p[n], 0x85), pk_op(&p[n], 'R');
    pk_op(&p[n], '.');
    want[n++] = "global 'os.system' is not allowed";
    /* builtins.eval */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2), pk_global(&p[n], "builtins", "eval");
    pk_str(&p[n], "__import__('os').system('id')"), pk_op(&p[n], 0x85), pk_op(&p[n], 'R');
    pk_op(&p[n], '.');
    want[n++] = "global 'builtins.eval' is not allowed";
    /* posix.system through STACK_GLOBAL, inside a state dict */
    pk_op(&p[n], 0x80), pk_op(&p[n], 4), pk_op(&p[n], '}'), pk_str(&p[n], "w");
    pk_op(&p[n], 0x8c), pk_op(&p[n], 5), pk_bytes(&p[n], "posix", 5);
    pk_op(&p[n], 0x8c), pk_op(&p[n], 6), pk_bytes(&p[n], "system", 6);
    pk_op(&p[n], 0x93), pk_str(&p[n], "id"), pk_op(&p[n], 0x85), pk_op(&p[n], 'R');
    pk_op(&p[n], 's'), pk_op(&p[n], '.');
    want[n++] = "global 'posix.system' is not allowed";
    /* deep MARK nesting */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2);
    for (int i = 0; i < 50000; i++)
        pk_op(&p[n], '(');
    pk_op(&p[n], '.');
    want[n++] = "more than 4096 MARKs";
    /* a huge LONG_BINGET index */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2), pk_op(&p[n], 'j'), pk_u32(&p[n], 0xfffffff0u);
    pk_op(&p[n], '.');
    want[n++] = "memo index 4294967280 was never stored";
    /* a dict that holds itself */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2), pk_op(&p[n], '}'), pk_op(&p[n], 'q'), pk_op(&p[n], 0);
    pk_str(&p[n], "self"), pk_op(&p[n], 'h'), pk_op(&p[n], 0), pk_op(&p[n], 's');
    pk_op(&p[n], '.');
    want[n++] = "containers nested more than 64 deep";
    /* no tensors at all */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2), pk_op(&p[n], '}'), pk_str(&p[n], "epoch");
    pk_op(&p[n], 'K'), pk_op(&p[n], 3), pk_op(&p[n], 's'), pk_op(&p[n], '.');
    want[n++] = "no tensors in the checkpoint";
    /* shared lists 40 levels deep, each [tensor, last, last]: 2^40 paths through 120
       objects */
    pk_op(&p[n], 0x80), pk_op(&p[n], 2);
    pk_global(&p[n], "torch._utils", "_rebuild_tensor_v2"), pk_op(&p[n], ')');
    pk_op(&p[n], 'R'), pk_op(&p[n], 'q'), pk_op(&p[n], 1), pk_op(&p[n], '0');
    pk_op(&p[n], ']'), pk_op(&p[n], 'h'), pk_op(&p[n], 1), pk_op(&p[n], 'a');
    pk_op(&p[n], 'q'), pk_op(&p[n], 0);
    for (int i = 0; i < 40; i++) {
        pk_op(&p[n], '0'), pk_op(&p[n], ']'), pk_op(&p[n], '('), pk_op(&p[n], 'h');
        pk_op(&p[n], 1), pk_op(&p[n], 'h'), pk_op(&p[n], 0), pk_op(&p[n], 'h'), pk_op(&p[n], 0);
        pk_op(&p[n], 'e'), pk_op(&p[n], 'q'), pk_op(&p[n], 0);
    }
    pk_op(&p[n], '.');
    want[n++] = "too often to walk";
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *zip = checkpoint_zip(&p[i], NULL, &len);
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(zip, len, "evil.pt", NULL, &err);
        if (m)
            fail_msg("case %d: read", i);
        if (!strstr(err.message, want[i]))
            fail_msg("case %d: expected '%s', got: %s", i, want[i], err.message);
        free(zip);
        free(p[i].buf);
    }
    assert_int_not_equal(access("/tmp/tokvec-pwned", F_OK), 0);
}

static void pytorch_refuses_big_endian_two_pickles_and_mixed_storage_types(void **state)
{
    (void)state;
    const struct tspec ok = {"w", "FloatStorage", "0", 16, 0, 1, {4}, {1}};
    struct pk p = {0};
    pk_state_dict(&p, &ok, 1, false);
    size_t len;
    uint8_t *zip = checkpoint_zip(&p, "big", &len);
    tv_error err = {0};
    assert_null(tv_model_read_memory(zip, len, "evil.pt", NULL, &err));
    assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "a big-endian checkpoint"));
    free(zip);
    zip = checkpoint_zip(&p, "middle", &len);
    assert_null(tv_model_read_memory(zip, len, "evil.pt", NULL, &err));
    assert_non_null(strstr(err.message, "not \"little\" or \"big\""));
    free(zip);

    struct member two[3] = {{"archive/data.pkl", p.buf, p.len}, {"b/data.pkl", p.buf, p.len},
                            {"archive/data/0", storage0, sizeof storage0}};
    zip = build_zip(two, 3, &len);
    assert_null(tv_model_read_memory(zip, len, "evil.pt", NULL, &err));
    assert_non_null(strstr(err.message, "two pickles"));
    free(zip);
    free(p.buf);

    const struct tspec mixed[2] = {{"a", "FloatStorage", "0", 16, 0, 1, {4}, {1}},
                                   {"b", "HalfStorage", "0", 32, 0, 1, {4}, {1}}};
    memset(&p, 0, sizeof p);
    pk_state_dict(&p, mixed, 2, false);
    zip = checkpoint_zip(&p, NULL, &len);
    assert_null(tv_model_read_memory(zip, len, "evil.pt", NULL, &err));
    assert_non_null(strstr(err.message, "storage '0' is torch.HalfStorage x 32 here but "
                                        "torch.FloatStorage x 16 elsewhere"));
    free(zip);
    free(p.buf);
}

/* A legacy (pre-1.6) checkpoint: five pickles, then each storage's count and bytes. */
static void build_legacy(struct pk *p, const struct tspec *t, size_t n, uint64_t header_numel)
{
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                    0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
    pk_bytes(p, magic, sizeof magic);
    pk_op(p, 0x80), pk_op(p, 2), pk_op(p, 'M'), pk_op(p, 0xe9), pk_op(p, 0x03), pk_op(p, '.');
    pk_op(p, 0x80), pk_op(p, 2), pk_op(p, '}'), pk_str(p, "little_endian"), pk_op(p, 0x88);
    pk_op(p, 's'), pk_op(p, '.');
    pk_state_dict(p, t, n, true);
    pk_op(p, 0x80), pk_op(p, 2), pk_op(p, ']'), pk_str(p, "0"), pk_op(p, 'a'), pk_op(p, '.');
    uint8_t count[8];
    for (int i = 0; i < 8; i++)
        count[i] = (uint8_t)(header_numel >> (8 * i));
    pk_bytes(p, count, 8);
    pk_bytes(p, storage0, sizeof storage0);
}

static void pytorch_reads_and_checks_the_legacy_format(void **state)
{
    (void)state;
    const struct tspec t[2] = {{"w", "FloatStorage", "0", 16, 4, 2, {2, 3}, {3, 1}},
                               {"wt", "FloatStorage", "0", 16, 4, 2, {3, 2}, {1, 3}}};
    struct pk p = {0};
    build_legacy(&p, t, 2, 16);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(p.buf, p.len, "old.pt", NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    const struct tv_tensor *w = tensor_or_fail(m, "w");
    assert_memory_equal(w->data, storage0 + 4, 6 * sizeof(float));
    assert_int_equal(w->offset, p.len - sizeof storage0 + 16);
    const struct tv_tensor *wt = tensor_or_fail(m, "wt");
    const float want[6] = {4, 7, 5, 8, 6, 9};
    assert_memory_equal(wt->data, want, sizeof want);
    tv_model_free(m);
    for (size_t cut = 0; cut < p.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, p.buf, cut);
        m = tv_model_read_memory(copy, cut, "old.pt", NULL, &err);
        if (m)
            fail_msg("a legacy checkpoint cut at %zu of %zu bytes was read", cut, p.len);
        free(copy);
    }
    free(p.buf);

    memset(&p, 0, sizeof p);
    build_legacy(&p, t, 1, 15);
    assert_null(tv_model_read_memory(p.buf, p.len, "old.pt", NULL, &err));
    assert_non_null(strstr(err.message, "says 15 elements, its persistent id 16"));
    free(p.buf);
}

static void pytorch_read_survives_truncation_and_every_allocation_failure(void **state)
{
    (void)state;
    const struct tspec t[3] = {{"w", "FloatStorage", "0", 16, 2, 2, {3, 4}, {4, 1}},
                               {"wt", "FloatStorage", "0", 16, 0, 2, {4, 3}, {1, 4}},
                               {"w2", "FloatStorage", "0", 16, 2, 2, {3, 4}, {4, 1}}};
    struct pk p = {0};
    pk_state_dict(&p, t, 3, false);
    size_t len;
    uint8_t *zip = checkpoint_zip(&p, "little", &len);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, zip, cut);
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(copy, cut, "cut.pt", NULL, &err);
        if (m)
            fail_msg("a zip cut at %zu of %zu bytes was read", cut, len);
        assert_true(err.message[0] != '\0');
        free(copy);
    }
    struct failalloc_input in = {.buf = zip, .len = len, .name = "alloc.pt"};
    struct failalloc_sweep s = failalloc_sweep(3000, failalloc_read_model, &in);
    if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
        fail_msg("allocation %ld: %s", s.n, s.err.message);
    assert_true(s.succeeded);
    free(zip);
    free(p.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pytorch_reads_tinypellm_bin_with_lm_head_tied_to_embed_tokens),
        cmocka_unit_test(pytorch_reads_tinypellm_pt_whose_lm_head_has_its_own_storage),
        cmocka_unit_test(pytorch_reads_the_torchtext_checkpoints),
        cmocka_unit_test(pytorch_folder_reads_pytorch_model_bin_and_verify_sees_the_tie),
        cmocka_unit_test(pytorch_survives_damage_to_every_byte_of_a_real_checkpoint),
        cmocka_unit_test(pytorch_reads_what_torch_saves_element_by_element),
        cmocka_unit_test(pytorch_nested_checkpoint_reads_the_model_and_key_picks_another),
        cmocka_unit_test(pytorch_reads_a_bare_tensor_and_parameters),
        cmocka_unit_test(pytorch_sharded_index_reads_every_shard_and_checks_the_map),
        cmocka_unit_test(pytorch_converts_to_safetensors_and_gguf_element_by_element),
        cmocka_unit_test(pytorch_reads_a_checkpoint_built_here),
        cmocka_unit_test(pytorch_refuses_hostile_checkpoints_naming_the_problem),
        cmocka_unit_test(pytorch_refuses_pickles_that_would_run_code_or_never_end),
        cmocka_unit_test(pytorch_refuses_big_endian_two_pickles_and_mixed_storage_types),
        cmocka_unit_test(pytorch_reads_and_checks_the_legacy_format),
        cmocka_unit_test(pytorch_read_survives_truncation_and_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, torch_setup, torch_teardown);
}
