/*
 * Allocation failure across every reader and what runs after a read: for a small valid
 * input of each format, allocation number n is made to fail for n = 0, 1, 2, ... until
 * a run makes fewer than n allocations. Two ways: only allocation n fails (a caller
 * that ignores one failure and carries on is caught), and allocation n and every later
 * one fail (what running out of memory looks like). Each run reads the input, and when
 * the read succeeds, runs verify (with its JSON and JUnit renderings), builds the
 * tokenizer, encodes and decodes a text. Every call must return its error (a code and
 * a message; TV_ERR_NOMEM for a read once memory is gone for good), nothing may crash
 * (the sanitizer build checks the memory accesses) and nothing may leak: every
 * allocation made through tv_set_allocator's hooks is freed by the end of each run.
 *
 * The per-reader tests fail allocations from n on; this sweep adds the single
 * failures, the formats read through folders and archives, and everything after the
 * read.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf_build.h"
#include "st_build.h"
#include "testutil.h"
#include "tokvec/tokenizer.h"
#include "tokvec/verify.h"

/* ---- the failing allocator ----------------------------------------------------------- */

static long alloc_count;  /* allocations made in this run */
static long fail_at;      /* the allocation number that fails, -1: none */
static bool fail_after;   /* and every later one */
static long live;         /* allocations not yet freed */
static long injected;     /* failures injected in this run */

static bool should_fail(void)
{
    long n = alloc_count++;
    if (fail_at >= 0 && (n == fail_at || (fail_after && n > fail_at))) {
        injected++;
        return true;
    }
    return false;
}

static void *sweep_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        live++;
    return p;
}

static void *sweep_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        live++;
    return q;
}

static void sweep_free(void *p)
{
    if (p)
        live--;
    free(p);
}

/* ---- what one run does ----------------------------------------------------------------- */

struct input {
    const char *name;
    const uint8_t *data;   /* read from memory as name, or */
    size_t len;
    const char *path;      /* opened from disk (a folder, an archive) */
};

static void check_error(const tv_error *err, const char *what, const struct input *in,
                        bool memory_gone)
{
    if (err->code == TV_OK || !err->message[0])
        fail_msg("%s: %s failed (allocation %ld) without an error code and message", in->name,
                 what, fail_at);
    if (memory_gone && err->code != TV_ERR_NOMEM)
        fail_msg("%s: %s: allocations fail from %ld on, but the error is %s: %s", in->name,
                 what, fail_at, tv_status_name(err->code), err->message);
}

/* Everything after a read that allocates. Errors are fine; crashes and leaks are not. */
static void use_model(tv_model *m, const struct input *in)
{
    tv_error err = {0};
    tv_verify_report *r = tv_verify_run(m, NULL, &err);
    if (r) {
        char *json = tv_verify_report_json(r, &err);
        if (!json)
            check_error(&err, "tv_verify_report_json", in, false);
        char *junit = tv_verify_report_junit(r, &err);
        if (!junit)
            check_error(&err, "tv_verify_report_junit", in, false);
        tv_verify_string_free(json);
        tv_verify_string_free(junit);
        tv_verify_report_free(r);
    } else {
        check_error(&err, "tv_verify_run", in, false);
    }
    tv_tokenizer *tok = tv_tokenizer_new(m, &err);
    if (!tok)
        return; /* not every vocabulary has a tokenizer; an OOM here is an error too */
    static const char text[] = "hello the world, caf\xc3\xa9 <s> 42";
    struct tv_ids ids;
    tv_ids_init(&ids);
    if (tv_encode(tok, text, sizeof text - 1, TV_ENCODE_ADD_SPECIAL | TV_ENCODE_OFFSETS, &ids,
                  &err) == 0) {
        char *back = NULL;
        size_t len = 0;
        if (tv_decode(tok, ids.ids, ids.n, 0, &back, &len, &err) < 0)
            check_error(&err, "tv_decode", in, false);
        tv_string_free(back);
    } else {
        check_error(&err, "tv_encode", in, false);
    }
    tv_ids_release(&ids);
    tv_tokenizer_free(tok);
}

/* One run with allocation fail_at failing (and the later ones when fail_after). Returns
   whether the run reached that allocation. */
static bool run_once(const struct input *in)
{
    alloc_count = live = injected = 0;
    tv_set_allocator(sweep_malloc, sweep_realloc, sweep_free);
    tv_error err = {0};
    tv_model *m = in->path ? tv_model_open(in->path, NULL, &err)
                           : tv_model_read_memory(in->data, in->len, in->name, NULL, &err);
    if (m)
        use_model(m, in);
    else
        check_error(&err, "the read", in, fail_after);
    tv_model_free(m);
    tv_set_allocator(NULL, NULL, NULL);
    if (!m && !injected)
        fail_msg("%s: the read failed without any failed allocation: %s", in->name, err.message);
    if (live != 0)
        fail_msg("%s: allocation %ld failed%s: %ld allocations leaked", in->name, fail_at,
                 fail_after ? " (and every later one)" : "", live);
    return injected > 0;
}

static void sweep(const struct input *in)
{
    /* A first run with the plain allocator, so that what the library creates once per
       process (the tokenizer's PCRE2 general context) does not count as a leak. */
    tv_error err = {0};
    tv_model *m = in->path ? tv_model_open(in->path, NULL, &err)
                           : tv_model_read_memory(in->data, in->len, in->name, NULL, &err);
    if (!m)
        fail_msg("%s: %s", in->name, err.message);
    use_model(m, in);
    tv_model_free(m);

    fail_at = -1;
    assert_false(run_once(in)); /* the input reads without failures */
    long total = alloc_count;
    for (int mode = 0; mode < 2; mode++) {
        fail_after = mode == 1;
        for (fail_at = 0; run_once(in); fail_at++)
            ;
    }
    fail_at = -1;
    print_message("  %-28s %5ld allocations, each failed alone and from there on\n", in->name,
                  total);
}

static void sweep_memory(const char *name, const void *data, size_t len)
{
    struct input in = {.name = name, .data = data, .len = len};
    sweep(&in);
}

/* ---- inputs ---------------------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

static const char *const words[] = {"<unk>", "<s>", "</s>", "h", "e", "l", "o", "he",
                                    "ll", "hell", "hello", "\xe2\x96\x81", "\xe2\x96\x81hello"};
#define N_WORDS (sizeof words / sizeof words[0])

static void build_gguf(struct gguf_build *b, const char *model)
{
    gb_init(b, 3);
    gb_kv_string(b, "general.architecture", "llama");
    gb_kv_u32(b, "llama.embedding_length", 4);
    gb_kv_string(b, "tokenizer.ggml.model", model);
    gb_kv_strings(b, "tokenizer.ggml.tokens", words, N_WORDS);
    float scores[N_WORDS];
    int32_t types[N_WORDS];
    for (size_t i = 0; i < N_WORDS; i++) {
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;
    }
    gb_kv_f32s(b, "tokenizer.ggml.scores", scores, N_WORDS);
    gb_kv_i32s(b, "tokenizer.ggml.token_type", types, N_WORDS);
    static const char *const merges[] = {"h e", "l l", "he ll", "hell o"};
    gb_kv_strings(b, "tokenizer.ggml.merges", merges, 4);
    gb_kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    gb_kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    const uint64_t ne[2] = {4, N_WORDS};
    gb_tensor(b, "token_embd.weight", 2, ne, GB_TYPE_F32, 0);
    gb_align(b, 32);
    for (size_t i = 0; i < 4 * N_WORDS; i++)
        gb_f32(b, (float)i / 8);
}

static void every_gguf_tokenizer_model_survives_failed_allocations(void **state)
{
    (void)state;
    static const char *const models[] = {"llama", "gpt2", "bert", "t5"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(models); i++) {
        struct gguf_build b;
        build_gguf(&b, models[i]);
        char name[64];
        snprintf(name, sizeof name, "%s.gguf", models[i]);
        sweep_memory(name, b.data, b.len);
        gb_release(&b);
    }
}

static void safetensors_survives_failed_allocations(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = st_build("{\"__metadata__\":{\"format\":\"pt\"},"
                             "\"wte.weight\":{\"dtype\":\"F16\",\"shape\":[4,2],"
                             "\"data_offsets\":[0,16]},"
                             "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[16,20]}}",
                             20, &len);
    sweep_memory("model.safetensors", file, len);
    free(file);
}

static const char tokenizer_bytelevel[] =
    "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":6,\"content\":\"<|endoftext|>\","
    "\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,"
    "\"special\":true}],\"normalizer\":{\"type\":\"NFC\"},"
    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
    "\"use_regex\":true},\"post_processor\":{\"type\":\"ByteLevel\",\"trim_offsets\":false},"
    "\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"dropout\":null,"
    "\"unk_token\":null,\"byte_fallback\":false,\"vocab\":{\"h\":0,\"e\":1,\"l\":2,\"o\":3,"
    "\"he\":4,\"ll\":5},\"merges\":[\"h e\",\"l l\"]}}";

static const char tokenizer_wordpiece[] =
    "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"[UNK]\",\"single_word\":false,"
    "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},{\"id\":1,"
    "\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
    "\"normalized\":false,\"special\":true},{\"id\":2,\"content\":\"[SEP]\",\"single_word\":false,"
    "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
    "\"strip_accents\":null,\"lowercase\":true},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":"
    "\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":"
    "{\"id\":\"[SEP]\",\"type_id\":0}}],\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
    "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[1],\"tokens\":[\"[CLS]\"]},"
    "\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[2],\"tokens\":[\"[SEP]\"]}}},"
    "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
    "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
    "\"max_input_chars_per_word\":100,\"vocab\":{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,\"hello\":3,"
    "\"the\":4,\"##s\":5,\"world\":6,\",\":7}}}";

static const char tokenizer_unigram[] =
    "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":{\"type\":\"Sequence\","
    "\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
    "\"content\":\"\\u2581\"},{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"}]},"
    "\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{L}+|\\\\p{N}+\"},"
    "\"behavior\":\"Isolated\",\"invert\":false},\"post_processor\":null,"
    "\"decoder\":{\"type\":\"Metaspace\",\"replacement\":\"\\u2581\",\"prepend_scheme\":\"always\","
    "\"split\":true},\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"byte_fallback\":false,"
    "\"vocab\":[[\"<unk>\",0.0],[\"\\u2581\",-2.0],[\"\\u2581hello\",-3.0],[\"h\",-4.0],"
    "[\"e\",-4.5],[\"llo\",-5.0],[\"l\",-5.5],[\"o\",-6.0]]}}";

static void tokenizer_json_models_survive_failed_allocations(void **state)
{
    (void)state;
    sweep_memory("bytelevel-bpe.json", tokenizer_bytelevel, sizeof tokenizer_bytelevel - 1);
    sweep_memory("wordpiece.json", tokenizer_wordpiece, sizeof tokenizer_wordpiece - 1);
    sweep_memory("unigram.json", tokenizer_unigram, sizeof tokenizer_unigram - 1);
}

/* A SentencePiece ModelProto: pieces (field 1: piece 1, score 2, type 3), trainer_spec
   (field 2: model_type 3, vocab_size 4) and normalizer_spec (field 3: name 1). */
static size_t spm_model(uint8_t *out, size_t cap)
{
    size_t n = 0;
#define PUT(b) (assert_true(n < cap), out[n++] = (uint8_t)(b))
    for (size_t i = 0; i < N_WORDS; i++) {
        size_t len = strlen(words[i]);
        PUT(0x0a);
        PUT(2 + len + 5 + 2);
        PUT(0x0a);
        PUT(len);
        for (size_t k = 0; k < len; k++)
            PUT(words[i][k]);
        float score = -(float)i;
        uint8_t fb[4];
        memcpy(fb, &score, 4);
        PUT(0x15);
        for (int k = 0; k < 4; k++)
            PUT(fb[k]);
        PUT(0x18);
        PUT(i == 0 ? 2 : i < 3 ? 3 : 1);
    }
    static const uint8_t trainer[] = {0x12, 0x04, 0x18, 0x01, 0x20, N_WORDS};
    static const uint8_t normalizer[] = {0x1a, 0x0a, 0x0a, 0x08, 'i', 'd', 'e', 'n',
                                         't', 'i', 't', 'y'};
    for (size_t k = 0; k < sizeof trainer; k++)
        PUT(trainer[k]);
    for (size_t k = 0; k < sizeof normalizer; k++)
        PUT(normalizer[k]);
#undef PUT
    return n;
}

static void vocabulary_files_survive_failed_allocations(void **state)
{
    (void)state;
    static const char vocab_txt[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nthe\n##s\nworld\n";
    sweep_memory("vocab.txt", vocab_txt, sizeof vocab_txt - 1);
    uint8_t spm[1024];
    size_t spm_len = spm_model(spm, sizeof spm);
    sweep_memory("tokenizer.model", spm, spm_len);

    char *dir = make_temp_dir();
    write_text(dir, "vocab.json", "{\"h\":0,\"e\":1,\"l\":2,\"o\":3,\"he\":4,\"ll\":5,\"<unk>\":6}");
    write_text(dir, "merges.txt", "#version: 0.2\nh e\nl l\n");
    struct input in = {.name = "vocab.json + merges.txt", .path = dir};
    sweep(&in);
    remove_tree(dir);
    tv_free(dir);
}

static void word_vectors_and_npy_survive_failed_allocations(void **state)
{
    (void)state;
    static const char text[] = "3 2\nthe 0.5 -1\ncat 1e-3 2\ncaf\xc3\xa9 3 4\n";
    sweep_memory("vectors.txt", text, sizeof text - 1);
    static const char glove[] = "the 0.5 -1\ncat 1e-3 2\n";
    sweep_memory("glove.txt", glove, sizeof glove - 1);
    uint8_t bin[64];
    size_t n = 0;
    memcpy(bin, "2 2\n", 4), n = 4;
    const float v[2][2] = {{0.5f, -1}, {1, 2}};
    const char *w[2] = {"the", "cat"};
    for (int r = 0; r < 2; r++) {
        memcpy(bin + n, w[r], 3), n += 3;
        bin[n++] = ' ';
        memcpy(bin + n, v[r], 8), n += 8;
        bin[n++] = '\n';
    }
    sweep_memory("vectors.bin", bin, n);

    uint8_t npy[128 + 24];
    static const char header[] = "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }";
    memset(npy, ' ', 128);
    memcpy(npy, "\x93NUMPY\x01\x00", 8);
    npy[8] = 128 - 10;
    npy[9] = 0;
    memcpy(npy + 10, header, sizeof header - 1);
    npy[127] = '\n';
    for (int i = 0; i < 6; i++) {
        float f = (float)i;
        memcpy(npy + 128 + 4 * i, &f, 4);
    }
    sweep_memory("embeddings.npy", npy, sizeof npy);
}

static void folders_survive_failed_allocations(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    write_text(dir, "config.json",
               "{\"architectures\":[\"BertModel\"],\"vocab_size\":8,\"hidden_size\":2,"
               "\"pad_token_id\":0,\"text_config\":{\"vocab_size\":8}}");
    write_text(dir, "tokenizer_config.json",
               "{\"unk_token\":\"[UNK]\",\"cls_token\":\"[CLS]\",\"model_max_length\":512}");
    write_text(dir, "generation_config.json", "{\"bos_token_id\":1,\"eos_token_id\":[2,3]}");
    write_text(dir, "tokenizer.json", tokenizer_wordpiece);
    write_text(dir, "vocab.txt", "[UNK]\n[CLS]\n[SEP]\nhello\nthe\n##s\nworld\n,\n");
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":40},\"weight_map\":{"
               "\"embeddings.word_embeddings.weight\":\"model-00001-of-00002.safetensors\","
               "\"pooler.weight\":\"model-00002-of-00002.safetensors\"}}");
    st_write(dir, "model-00001-of-00002.safetensors",
             "{\"embeddings.word_embeddings.weight\":{\"dtype\":\"F16\",\"shape\":[8,2],"
             "\"data_offsets\":[0,32]}}", 32);
    st_write(dir, "model-00002-of-00002.safetensors",
             "{\"pooler.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    struct input in = {.name = "folder with index", .path = dir};
    sweep(&in);
    remove_tree(dir);
    tv_free(dir);
}

/* A .tar.gz of a small folder, written with libarchive (which allocates with malloc,
   outside the failing hooks). */
static void archives_survive_failed_allocations(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/model.tar.gz", dir);
    struct archive *a = archive_write_new();
    assert_non_null(a);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    static const char vocab[] = "[UNK]\nhello\nthe\n##s\n";
    size_t st_len;
    uint8_t *st = st_build("{\"embeddings\":{\"dtype\":\"F32\",\"shape\":[4,2],"
                           "\"data_offsets\":[0,32]}}", 32, &st_len);
    const struct {
        const char *name;
        const void *data;
        size_t len;
    } members[] = {{"model/vocab.txt", vocab, sizeof vocab - 1},
                   {"model/model.safetensors", st, st_len}};
    for (size_t i = 0; i < TV_ARRAY_SIZE(members); i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, members[i].name);
        archive_entry_set_size(e, (la_int64_t)members[i].len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, members[i].data, members[i].len),
                         (la_ssize_t)members[i].len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    free(st);
    struct input in = {.name = "model.tar.gz", .path = path};
    sweep(&in);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_gguf_tokenizer_model_survives_failed_allocations),
        cmocka_unit_test(safetensors_survives_failed_allocations),
        cmocka_unit_test(tokenizer_json_models_survive_failed_allocations),
        cmocka_unit_test(vocabulary_files_survive_failed_allocations),
        cmocka_unit_test(word_vectors_and_npy_survive_failed_allocations),
        cmocka_unit_test(folders_survive_failed_allocations),
        cmocka_unit_test(archives_survive_failed_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
