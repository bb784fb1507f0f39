/*
 * The tokvec command line: exit codes, `tokvec inspect` text and --json output on the
 * example folder (fixtures/example, from fixtures/make_fixtures.py), on real model
 * files, on a GGUF built here with awkward token bytes, and on garbage. The CLI's
 * display helpers are tested directly (cli_util.c is compiled into this test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "support/gguf_build.h"

/* The helpers under test: compiled in here, they are not part of the library. */
#include "cli/cli_util.c"

#define EXAMPLE TOKVEC_SOURCE_DIR "/fixtures/example"

/* Facts of the committed example (fixtures/make_fixtures.py: 256 byte symbols, 250
   merges each adding an id, then <|endoftext|>; 1-layer GPT-2 with n_embd 32). */
#define EXAMPLE_VOCAB 507
#define EXAMPLE_EOT 506
#define EXAMPLE_MERGES 250
#define EXAMPLE_TENSORS 16
#define EXAMPLE_PARAMETERS 31040

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle)) {
        /* cmocka cuts long messages: the output goes to stderr whole */
        fprintf(stderr, "---- output ----\n%s\n----------------\n", haystack ? haystack : "(null)");
        fail_msg("expected to find: %s", needle);
    }
}

static void assert_not_contains(const char *haystack, const char *needle)
{
    if (haystack && strstr(haystack, needle)) {
        fprintf(stderr, "---- output ----\n%s\n----------------\n", haystack);
        fail_msg("did not expect: %s", needle);
    }
}

/* Parses line `index` (0-based) of out as one JSON document. */
static cJSON *json_line(const char *out, int index)
{
    const char *p = out;
    for (int i = 0; i < index; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    cJSON *doc = cJSON_ParseWithLength(p, len);
    if (!doc)
        fail_msg("line %d is not JSON: %.*s", index, (int)(len > 300 ? 300 : len), p);
    return doc;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static const cJSON *get(const cJSON *obj, const char *path)
{
    /* "a.b.c" through objects */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = obj;
    for (char *part = strtok(buf, "."); part; part = strtok(NULL, ".")) {
        cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        if (!cur)
            fail_msg("JSON has no '%s' (looking for %s)", part, path);
    }
    return cur;
}

static double num(const cJSON *obj, const char *path)
{
    const cJSON *item = get(obj, path);
    if (!cJSON_IsNumber(item))
        fail_msg("%s is not a number", path);
    return item->valuedouble;
}

static const char *str(const cJSON *obj, const char *path)
{
    const cJSON *item = get(obj, path);
    if (!cJSON_IsString(item))
        fail_msg("%s is not a string", path);
    return item->valuestring;
}

/* ---- the command frame -------------------------------------------------------------- */

static void cli_help_and_version_exit_0(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "--help", NULL), 0);
    assert_contains(out, "usage: tokvec <command>");
    assert_contains(out, "inspect");
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "--version", NULL), 0);
    assert_contains(out, "tokvec " TOKVEC_VERSION_STRING);
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "help", "inspect", NULL), 0);
    assert_contains(out, "usage: tokvec inspect");
    assert_contains(out, "--tokens");
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "inspect", "--help", NULL), 0);
    assert_contains(out, "usage: tokvec inspect");
    tv_free(out);
}

static void cli_usage_errors_exit_2_with_tokvec_prefix(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(run_cli(NULL, &err, NULL), 2);
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "frobnicate", NULL), 2);
    assert_contains(err, "tokvec: no command 'frobnicate'");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "help", "frobnicate", NULL), 2);
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", "--bogus", EXAMPLE, NULL), 2);
    assert_contains(err, "tokvec: inspect: unknown option '--bogus'");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", "-q", EXAMPLE, NULL), 2);
    assert_contains(err, "unknown option '-q'");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", NULL), 2);
    assert_contains(err, "no PATH given");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", EXAMPLE, "--embedding", NULL), 2);
    assert_contains(err, "'--embedding' needs an argument");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", "--max-tensors=lots", EXAMPLE, NULL), 2);
    assert_contains(err, "--max-tensors 'lots'");
    tv_free(err);
}

/* ---- inspect: the example folder ------------------------------------------------------ */

static void inspect_example_shows_every_summary_line(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "inspect", EXAMPLE, NULL), 0);
    assert_contains(out, "fixtures/example/  (Hugging Face folder: config.json, tokenizer.json");
    assert_contains(out, "model.safetensors)");
    assert_contains(out, "architecture   gpt2 (GPT2LMHeadModel)");
    assert_contains(out, "vocabulary     507 tokens from tokenizer.json (BPE, byte-level), "
                         "250 merges, 1 added, specials: <|endoftext|>=506 (bos, eos");
    assert_contains(out, "tokenizer      pre-tokenizer ByteLevel");
    assert_contains(out, "embedding      transformer.wte.weight  507 x 32  F32  (64.9 kB)");
    assert_contains(out, "tensors        16, 31.0 K parameters, 124.2 kB (16 F32)");
    assert_contains(out, "claims         config.json: vocab_size=507 n_embd=32 "
                         "tie_word_embeddings=true");
    assert_contains(out, "other vocab    vocab.json: 507 tokens (BPE, byte-level), 250 merges");
    assert_string_equal(err, "");
    tv_free(out);
    tv_free(err);
}

static void inspect_json_has_the_documented_fields(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", EXAMPLE, NULL), 0);
    assert_int_equal(count_lines(out), 1);
    cJSON *doc = json_line(out, 0);
    assert_string_equal(str(doc, "path"), EXAMPLE);
    assert_true(cJSON_IsTrue(get(doc, "ok")));
    assert_string_equal(str(doc, "kind"), "Hugging Face folder");
    const cJSON *files = get(doc, "files");
    assert_true(cJSON_IsArray(files));
    bool has_weights = false;
    for (const cJSON *f = files->child; f; f = f->next)
        has_weights |= strcmp(f->valuestring, "model.safetensors") == 0;
    assert_true(has_weights);
    assert_string_equal(str(doc, "architecture"), "gpt2");
    assert_string_equal(cJSON_GetArrayItem(get(doc, "architectures"), 0)->valuestring,
                        "GPT2LMHeadModel");

    assert_string_equal(str(doc, "vocabulary.origin"), "tokenizer.json");
    assert_int_equal(num(doc, "vocabulary.size"), EXAMPLE_VOCAB);
    assert_int_equal(num(doc, "vocabulary.tokens"), EXAMPLE_VOCAB);
    assert_string_equal(str(doc, "vocabulary.kind"), "bpe");
    assert_true(cJSON_IsTrue(get(doc, "vocabulary.byte_level")));
    assert_true(cJSON_IsFalse(get(doc, "vocabulary.byte_fallback")));
    assert_int_equal(num(doc, "vocabulary.merges"), EXAMPLE_MERGES);
    const cJSON *added = get(doc, "vocabulary.added_tokens");
    assert_int_equal(cJSON_GetArraySize(added), 1);
    assert_int_equal(num(added->child, "id"), EXAMPLE_EOT);
    assert_string_equal(str(added->child, "text"), "<|endoftext|>");
    assert_string_equal(cJSON_GetArrayItem(get(added->child, "flags"), 1)->valuestring,
                        "special");
    const cJSON *specials = get(doc, "vocabulary.specials");
    assert_int_equal(num(specials->child, "id"), EXAMPLE_EOT);
    assert_string_equal(str(specials->child, "text"), "<|endoftext|>");
    assert_string_equal(cJSON_GetArrayItem(get(specials->child, "roles"), 0)->valuestring, "bos");
    assert_string_equal(str(doc, "vocabulary.tokenizer.pre_tokenizer.type"), "ByteLevel");

    const cJSON *secondary = get(doc, "secondary_vocabularies");
    assert_int_equal(cJSON_GetArraySize(secondary), 1);
    assert_string_equal(str(secondary->child, "origin"), "vocab.json");
    assert_int_equal(num(secondary->child, "size"), EXAMPLE_VOCAB);

    assert_string_equal(str(doc, "embedding.name"), "transformer.wte.weight");
    assert_int_equal(num(doc, "embedding.rows"), EXAMPLE_VOCAB);
    assert_int_equal(num(doc, "embedding.cols"), 32);
    assert_string_equal(str(doc, "embedding.dtype"), "F32");
    assert_int_equal(num(doc, "embedding.bytes"), EXAMPLE_VOCAB * 32 * 4);
    assert_string_equal(str(doc, "embedding.file"), "model.safetensors");

    assert_int_equal(num(doc, "tensors.count"), EXAMPLE_TENSORS);
    assert_int_equal(num(doc, "tensors.parameters"), EXAMPLE_PARAMETERS);
    assert_int_equal(num(doc, "tensors.bytes"), EXAMPLE_PARAMETERS * 4);
    assert_int_equal(num(doc, "tensors.dtypes.F32"), EXAMPLE_TENSORS);
    assert_null(cJSON_GetObjectItemCaseSensitive(get(doc, "tensors"), "list"));

    bool vocab_claim = false, hidden_claim = false;
    for (const cJSON *c = get(doc, "claims")->child; c; c = c->next) {
        if (strcmp(str(c, "file"), "config.json") != 0)
            continue;
        if (strcmp(str(c, "kind"), "vocab_size") == 0) {
            assert_string_equal(str(c, "key"), "vocab_size");
            assert_int_equal(num(c, "value"), EXAMPLE_VOCAB);
            vocab_claim = true;
        }
        if (strcmp(str(c, "kind"), "hidden_dim") == 0) {
            assert_string_equal(str(c, "key"), "n_embd");
            assert_int_equal(num(c, "value"), 32);
            hidden_claim = true;
        }
    }
    assert_true(vocab_claim && hidden_claim);
    assert_true(cJSON_IsArray(get(doc, "findings")));
    /* sections that only options ask for are absent */
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "metadata"));
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "tokens"));
    cJSON_Delete(doc);
    tv_free(out);
}

static void inspect_tensors_lists_every_tensor_with_offsets(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--tensors", EXAMPLE, NULL), 0);
    assert_contains(out, "tensors (16)");
    assert_contains(out, "name");
    assert_contains(out, "offset");
    assert_contains(out, "transformer.wpe.weight              F32    64 x 32");
    assert_contains(out, "transformer.h.0.mlp.c_fc.weight     F32    32 x 128  16384");
    assert_contains(out, "transformer.wte.weight              F32    507 x 32  64896");
    tv_free(out);

    assert_int_equal(run_cli(&out, NULL, "inspect", "--tensors", "--json", EXAMPLE, NULL), 0);
    cJSON *doc = json_line(out, 0);
    const cJSON *list = get(doc, "tensors.list");
    assert_int_equal(cJSON_GetArraySize(list), EXAMPLE_TENSORS);
    /* the example's data is contiguous in name order (offsets count from the file's start) */
    uint64_t end = (uint64_t)num(list->child, "offset");
    assert_true(end > 8);
    for (const cJSON *t = list->child; t; t = t->next) {
        assert_int_equal((uint64_t)num(t, "offset") - end, 0);
        end = (uint64_t)num(t, "offset") + (uint64_t)num(t, "bytes");
        assert_string_equal(str(t, "file"), "model.safetensors");
        assert_int_equal(num(t, "elements") * 4, num(t, "bytes"));
    }
    const cJSON *last = cJSON_GetArrayItem(list, EXAMPLE_TENSORS - 1);
    assert_string_equal(str(last, "name"), "transformer.wte.weight");
    assert_int_equal(cJSON_GetArrayItem(get(last, "shape"), 0)->valueint, EXAMPLE_VOCAB);
    cJSON_Delete(doc);
    tv_free(out);
}

static void inspect_metadata_shows_types_and_values(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--metadata", EXAMPLE, NULL), 0);
    assert_contains(out, "    config.json\n");
    assert_contains(out, "      model_type           string  \"gpt2\"\n");
    assert_contains(out, "      architectures        array   [1 string: \"GPT2LMHeadModel\"]\n");
    assert_contains(out, "      n_embd               i64     32\n");
    assert_contains(out, "      tie_word_embeddings  bool    true\n");
    assert_contains(out, "      layer_norm_epsilon   f64     1e-05\n");
    assert_contains(out, "    tokenizer_config.json\n");
    assert_contains(out, "      bos_token         string  \"<|endoftext|>\"\n");
    tv_free(out);

    assert_int_equal(run_cli(&out, NULL, "inspect", "--metadata", "--json", EXAMPLE, NULL), 0);
    cJSON *doc = json_line(out, 0);
    bool found = false;
    for (const cJSON *kv = get(doc, "metadata")->child; kv; kv = kv->next) {
        if (strcmp(str(kv, "key"), "vocab_size") == 0) {
            assert_string_equal(str(kv, "type"), "i64");
            assert_int_equal(num(kv, "value"), EXAMPLE_VOCAB);
            assert_string_equal(str(kv, "origin"), "config");
            assert_string_equal(str(kv, "file"), "config.json");
            found = true;
        }
    }
    assert_true(found);
    cJSON_Delete(doc);
    tv_free(out);
}

static void inspect_tokens_ranges_are_inclusive_and_clamped(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    /* default: the first 20 */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--tokens", EXAMPLE, NULL), 0);
    assert_contains(out, "tokens 0-19 of 507");
    assert_contains(out, "     0  normal      0  -      \"!\"");
    assert_contains(out, "     1  normal      0  -      \"\\\"\"");
    assert_contains(out, "    19  normal      0  -      \"4\"");
    assert_not_contains(out, "    20  normal");
    tv_free(out);
    /* A-B with a space, inclusive */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--tokens", "504-506", EXAMPLE, NULL), 0);
    assert_contains(out, "tokens 504-506 of 507");
    assert_contains(out, "    506  control      0  added,special  \"<|endoftext|>\"\n");
    assert_not_contains(out, "503  ");
    tv_free(out);
    /* GPT-2 byte symbols shown as they are: id 220 is the space byte "Ġ" */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--tokens=220", EXAMPLE, NULL), 0);
    assert_contains(out, "tokens 220-220 of 507");
    assert_contains(out, "\"Ġ\"");
    tv_free(out);
    /* clamped to the end */
    assert_int_equal(run_cli(&out, NULL, "inspect", EXAMPLE, "--tokens=500-99999", NULL), 0);
    assert_contains(out, "tokens 500-506 of 507");
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "inspect", EXAMPLE, "--tokens", "505-", NULL), 0);
    assert_contains(out, "tokens 505-506 of 507");
    tv_free(out);
    /* bad ranges are usage errors */
    assert_int_equal(run_cli(NULL, &err, "inspect", "--tokens=9-3", EXAMPLE, NULL), 2);
    assert_contains(err, "tokvec: inspect: --tokens '9-3'");
    tv_free(err);
    assert_int_equal(run_cli(NULL, &err, "inspect", "--tokens=x", EXAMPLE, NULL), 2);
    tv_free(err);
    assert_int_equal(run_cli(&out, &err, "inspect", "--tokens=600-700", EXAMPLE, NULL), 2);
    assert_contains(err, "the vocabulary has ids 0 to 506");
    assert_contains(out, "vocabulary     507 tokens"); /* the summary is still shown */
    tv_free(out);
    tv_free(err);
    /* JSON */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", "--tokens=0-4", EXAMPLE, NULL), 0);
    cJSON *doc = json_line(out, 0);
    assert_int_equal(num(doc, "tokens.first"), 0);
    assert_int_equal(num(doc, "tokens.last"), 4);
    const cJSON *items = get(doc, "tokens.items");
    assert_int_equal(cJSON_GetArraySize(items), 5);
    assert_string_equal(str(items->child, "text"), "!");
    assert_string_equal(str(items->child, "type"), "normal");
    assert_int_equal(num(cJSON_GetArrayItem(items, 4), "id"), 4);
    cJSON_Delete(doc);
    tv_free(out);
}

/* ---- bad input and several paths ---------------------------------------------------- */

static void inspect_garbage_and_missing_files_exit_1(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/garbage.bin", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a model file at all, just words\n", f);
    fclose(f);
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "inspect", path, NULL), 1);
    assert_string_equal(out, "");
    assert_contains(err, "tokvec: ");
    assert_contains(err, "garbage.bin");
    tv_free(out);
    tv_free(err);

    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-model", dir);
    assert_int_equal(run_cli(NULL, &err, "inspect", missing, NULL), 1);
    assert_contains(err, "no-such-model");
    tv_free(err);

    /* an empty folder has no model files */
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    assert_int_equal(mkdir(empty, 0700), 0);
    assert_int_equal(run_cli(NULL, &err, "inspect", empty, NULL), 1);
    assert_contains(err, "no model files");
    tv_free(err);

    /* several paths: each is shown, the failed one is reported, the exit code is 1 */
    assert_int_equal(run_cli(&out, &err, "inspect", EXAMPLE, path, EXAMPLE, NULL), 1);
    const char *first = strstr(out, "transformer.wte.weight");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "transformer.wte.weight"));
    assert_contains(err, "garbage.bin");
    tv_free(out);
    tv_free(err);

    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", EXAMPLE, path, NULL), 1);
    assert_int_equal(count_lines(out), 2);
    cJSON *good = json_line(out, 0), *bad = json_line(out, 1);
    assert_true(cJSON_IsTrue(get(good, "ok")));
    assert_true(cJSON_IsFalse(get(bad, "ok")));
    assert_string_equal(str(bad, "path"), path);
    assert_contains(str(bad, "error.message"), "garbage.bin");
    assert_non_null(str(bad, "error.status"));
    cJSON_Delete(good);
    cJSON_Delete(bad);
    tv_free(out);

    remove_tree(dir);
    tv_free(dir);
}

static void inspect_embedding_option_names_the_tensor(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--embedding", "transformer.wpe.weight",
                             EXAMPLE, NULL), 0);
    assert_contains(out, "embedding      transformer.wpe.weight  64 x 32  F32");
    tv_free(out);
    assert_int_equal(run_cli(NULL, &err, "inspect", "--embedding=nope", EXAMPLE, NULL), 1);
    assert_contains(err, "tokvec: ");
    assert_contains(err, "nope");
    tv_free(err);
}

/* ---- a GGUF with awkward bytes -------------------------------------------------------- */

static const char long_text[] =
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %} and then some more text to pass 100";

/* Tokens: a control byte, invalid UTF-8, a quote and a backslash, UTF-8 text, a NUL. */
static void write_awkward_gguf(const char *path)
{
    struct gguf_build b;
    gb_init(&b, 3);
    gb_kv_string(&b, "general.architecture", "llama");
    gb_kv_string(&b, "general.name", "awk\"ward\x01");
    gb_kv_string(&b, "tokenizer.chat_template", long_text);
    gb_kv_u64(&b, "test.big", UINT64_MAX);
    static const char *const words[] = {"w0", "w1", "w2", "w3", "w4", "w5",
                                        "w6", "w7", "w8", "w9", "w10", "w11"};
    gb_kv_strings(&b, "test.words", words, 12);
    gb_kv_array(&b, "test.nested", GB_ARRAY, 2);
    gb_array(&b, GB_I16, 2);
    gb_u16(&b, 1);
    gb_u16(&b, 0xFFFF);
    gb_array(&b, GB_STRING, 1);
    gb_string(&b, "x");
    gb_kv_string(&b, "tokenizer.ggml.model", "llama");
    gb_kv_array(&b, "tokenizer.ggml.tokens", GB_STRING, 6);
    gb_string(&b, "<unk>");
    gb_string_n(&b, "a\x01" "b", 3);
    gb_string_n(&b, "\xff\xfe", 2);
    gb_string(&b, "q\"\\");
    gb_string(&b, "\xe2\x96\x81" "caf\xc3\xa9");
    gb_string_n(&b, "n\0l", 3);
    static const float scores[] = {0.0f, -1.5f, -2.0f, -3.0f, -4.25f, -5.0f};
    gb_kv_f32s(&b, "tokenizer.ggml.scores", scores, 6);
    static const int32_t types[] = {2, 1, 6, 1, 1, 4};
    gb_kv_i32s(&b, "tokenizer.ggml.token_type", types, 6);
    gb_kv_u32(&b, "tokenizer.ggml.unknown_token_id", 0);
    gb_tensor(&b, "token_embd.weight", 2, (const uint64_t[]){4, 6}, GB_TYPE_F32, 0);
    gb_align(&b, 32);
    for (int i = 0; i < 24; i++)
        gb_f32(&b, (float)i);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
    fclose(f);
    gb_release(&b);
}

static void inspect_escapes_token_bytes_and_abbreviates_metadata(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/awkward.gguf", dir);
    write_awkward_gguf(path);

    char *out = NULL, *err = NULL;
    assert_int_equal(run_cli(&out, &err, "inspect", "--tokens", "--metadata", path, NULL), 0);
    assert_contains(out, "awkward.gguf  (GGUF)");
    assert_contains(out, "embedding      token_embd.weight  6 x 4  F32  (96 B)");
    assert_contains(out, "tokens 0-5 of 6");
    assert_contains(out, "  \"a\\x01b\"\n");
    assert_contains(out, "  \"\\xFF\\xFE\"\n");
    assert_contains(out, "  \"q\\\"\\\\\"\n");
    assert_contains(out, "  \"▁café\"\n");
    assert_contains(out, "  \"n\\x00l\"\n");
    assert_contains(out, "     2  byte             -2  -      \"\\xFF\\xFE\"\n");
    assert_contains(out, "     5  user-defined     -5  -      \"n\\x00l\"\n");
    assert_contains(out, "-4.25");
    assert_contains(out, "general.name");
    assert_contains(out, "\"awk\\\"ward\\x01\"");
    assert_contains(out, "test.big                         u64     18446744073709551615");
    assert_contains(out, "[2 arrays: [2 i16s: 1, -1], [1 string: \"x\"]]");
    assert_contains(out, "[6 strings: \"<unk>\", \"a\\x01b\", \"\\xFF\\xFE\", \"q\\\"\\\\\", "
                         "\"▁café\", \"n\\x00l\"]");
    assert_contains(out, "[12 strings: \"w0\", \"w1\", \"w2\", ... ]");
    assert_contains(out, "...\" (176 bytes)");
    assert_not_contains(out, "assistant:{% endif %}");
    tv_free(out);
    tv_free(err);

    /* --full: nothing abbreviated */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--metadata", "--full", path, NULL), 0);
    assert_contains(out, "assistant:{% endif %} and then some more text to pass 100\"");
    assert_contains(out, "[12 strings: \"w0\", \"w1\", \"w2\", \"w3\", \"w4\", \"w5\", \"w6\", "
                         "\"w7\", \"w8\", \"w9\", \"w10\", \"w11\"]");
    tv_free(out);

    /* JSON: exact text when it can be, else U+FFFD plus the bytes in hex */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", "--tokens", "--metadata", path,
                             NULL), 0);
    cJSON *doc = json_line(out, 0);
    const cJSON *items = get(doc, "tokens.items");
    assert_string_equal(str(cJSON_GetArrayItem(items, 1), "text"), "a\x01" "b");
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "text_hex"));
    assert_string_equal(str(cJSON_GetArrayItem(items, 2), "text"), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(str(cJSON_GetArrayItem(items, 2), "text_hex"), "fffe");
    assert_string_equal(str(cJSON_GetArrayItem(items, 4), "text"), "\xe2\x96\x81" "caf\xc3\xa9");
    assert_string_equal(str(cJSON_GetArrayItem(items, 5), "text_hex"), "6e006c");
    assert_string_equal(str(cJSON_GetArrayItem(items, 2), "type"), "byte");
    assert_true(num(cJSON_GetArrayItem(items, 4), "score") == -4.25);
    bool big = false;
    for (const cJSON *kv = get(doc, "metadata")->child; kv; kv = kv->next)
        if (strcmp(str(kv, "key"), "test.big") == 0) {
            /* past 2^53 a number would be rounded: it is a decimal string */
            assert_string_equal(str(kv, "value"), "18446744073709551615");
            big = true;
        }
    assert_true(big);
    cJSON_Delete(doc);
    tv_free(out);

    remove_tree(dir);
    tv_free(dir);
}

/* ---- real files ------------------------------------------------------------------------- */

static void inspect_real_gguf_stories260k(void **state)
{
    (void)state;
    const char *path = real_fixture("gguf/weights/stories260K.gguf");
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", path, NULL), 0);
    assert_contains(out, "stories260K.gguf  (GGUF)");
    assert_contains(out, "architecture   llama");
    assert_contains(out, "vocabulary     512 tokens");
    assert_contains(out, "<s>=1 (bos)");
    assert_contains(out, "embedding      token_embd.weight  512 x 64  F32");
    assert_contains(out, "tensors        48, ");
    assert_contains(out, "llama.embedding_length=64");
    tv_free(out);

    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", "--tensors", path, NULL), 0);
    cJSON *doc = json_line(out, 0);
    assert_string_equal(str(doc, "kind"), "GGUF");
    assert_string_equal(str(doc, "architecture"), "llama");
    assert_int_equal(num(doc, "vocabulary.size"), 512);
    assert_string_equal(str(doc, "vocabulary.ggml_model"), "llama");
    assert_string_equal(str(doc, "embedding.name"), "token_embd.weight");
    assert_int_equal(num(doc, "embedding.rows"), 512);
    assert_int_equal(num(doc, "embedding.cols"), 64);
    assert_int_equal(num(doc, "tensors.count"), 48);
    assert_int_equal(cJSON_GetArraySize(get(doc, "tensors.list")), 48);
    cJSON_Delete(doc);
    tv_free(out);
}

static void inspect_real_gguf_vocab_abbreviates_token_arrays(void **state)
{
    (void)state;
    const char *path = real_fixture("gguf/vocab/ggml-vocab-gpt-2.gguf");
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--metadata", path, NULL), 0);
    assert_contains(out, "vocabulary     50257 tokens (BPE, byte-level), 50000 merges");
    assert_contains(out, "[50257 strings: \"!\", \"\\\"\", \"#\", ... ]");
    assert_contains(out, "[50000 strings: \"Ġ t\", \"Ġ a\", \"h e\", ... ]");
    assert_contains(out, "embedding      none (no tensors)");
    tv_free(out);
}

static void inspect_real_tokenizer_json_gpt2(void **state)
{
    (void)state;
    const char *path = real_fixture("tokenizers/gpt2/tokenizer.json");
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", "--tokens=50254-50256", path, NULL), 0);
    assert_contains(out, "vocabulary     50257 tokens (BPE, byte-level), 50000 merges, 1 added, "
                         "specials: <|endoftext|>=50256");
    assert_contains(out, "50256  control");
    assert_contains(out, "\"<|endoftext|>\"");
    tv_free(out);
    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", path, NULL), 0);
    cJSON *doc = json_line(out, 0);
    assert_int_equal(num(doc, "vocabulary.size"), 50257);
    assert_int_equal(num(doc, "vocabulary.merges"), 50000);
    assert_true(cJSON_IsNull(get(doc, "embedding")));
    assert_int_equal(num(doc, "tensors.count"), 0);
    cJSON_Delete(doc);
    tv_free(out);
}

static void inspect_real_hf_folder_gpt2_vocab50257(void **state)
{
    (void)state;
    /* real_fixture returns a static buffer: keep a copy before asking for another */
    char path[4096];
    snprintf(path, sizeof path, "%s", real_fixture("safetensors/tiny-llm-cicd-gpt2-vocab50257"));
    char *out = NULL;
    assert_int_equal(run_cli(&out, NULL, "inspect", path, NULL), 0);
    assert_contains(out, "(Hugging Face folder: config.json, tokenizer.json");
    assert_contains(out, "architecture   gpt2 (GPT2LMHeadModel)");
    assert_contains(out, "vocabulary     50257 tokens from tokenizer.json (BPE, byte-level), "
                         "50000 merges");
    assert_contains(out, "embedding      transformer.wte.weight  50257 x 16  F32  (3.2 MB)");
    assert_contains(out, "config.json: vocab_size=50257 n_embd=16");
    tv_free(out);

    /* several real paths in one run, one JSON document each */
    assert_int_equal(run_cli(&out, NULL, "inspect", "--json", path,
                             real_fixture("gguf/weights/stories260K.gguf"), EXAMPLE, NULL), 0);
    assert_int_equal(count_lines(out), 3);
    cJSON *a = json_line(out, 0), *b = json_line(out, 1), *c = json_line(out, 2);
    assert_int_equal(num(a, "embedding.rows"), 50257);
    assert_int_equal(num(a, "embedding.cols"), 16);
    assert_int_equal(num(b, "embedding.rows"), 512);
    assert_int_equal(num(c, "embedding.rows"), EXAMPLE_VOCAB);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    tv_free(out);
}

/* ---- the display helpers ----------------------------------------------------------------- */

static void cli_escape_shows_utf8_and_escapes_the_rest(void **state)
{
    (void)state;
    assert_string_equal(cli_escaped("abc", 3, 0, 0), "abc");
    assert_string_equal(cli_escaped("Ġthe", strlen("Ġthe"), 0, 0), "Ġthe");
    assert_string_equal(cli_escaped("a\nb\t", 4, 0, 0), "a\\x0Ab\\x09");
    assert_string_equal(cli_escaped("\x7f", 1, 0, 0), "\\x7F");
    assert_string_equal(cli_escaped("a\\b", 3, 0, 0), "a\\\\b");
    assert_string_equal(cli_escaped("\"", 1, 0, 0), "\"");
    assert_string_equal(cli_escaped("\"", 1, CLI_ESCAPE_QUOTE, 0), "\\\"");
    assert_string_equal(cli_escaped("\xc3\x28", 2, 0, 0), "\\xC3(");   /* truncated sequence */
    assert_string_equal(cli_escaped("\xc0\xaf", 2, 0, 0), "\\xC0\\xAF"); /* overlong */
    assert_string_equal(cli_escaped("\xed\xa0\x80", 3, 0, 0), "\\xED\\xA0\\x80"); /* surrogate */
    assert_string_equal(cli_escaped("\xc2\x85", 2, 0, 0), "\\xC2\\x85"); /* C1 control NEL */
    assert_string_equal(cli_escaped("\xe2\x80\xa8", 3, 0, 0), "\\xE2\\x80\\xA8"); /* U+2028 */
    assert_string_equal(cli_escaped("a\0b", 3, 0, 0), "a\\x00b");
    /* cutting never splits a character or an escape */
    assert_string_equal(cli_escaped("abcdef", 6, 0, 4), "abcd...");
    assert_string_equal(cli_escaped("ab\x01", 3, 0, 4), "ab...");
    assert_string_equal(cli_escaped("aéb", strlen("aéb"), 0, 2), "a...");
    assert_string_equal(cli_escaped("abcd", 4, 0, 4), "abcd");
}

static void cli_human_numbers_use_decimal_units(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(cli_human_bytes(0, buf), "0 B");
    assert_string_equal(cli_human_bytes(999, buf), "999 B");
    assert_string_equal(cli_human_bytes(1000, buf), "1.0 kB");
    assert_string_equal(cli_human_bytes(154389504, buf), "154.4 MB");
    assert_string_equal(cli_human_bytes(999960000, buf), "1.0 GB");
    assert_string_equal(cli_human_bytes(UINT64_MAX, buf), "18.4 EB");
    assert_string_equal(cli_human_count(512, buf), "512");
    assert_string_equal(cli_human_count(124439808, buf), "124.4 M");
    assert_string_equal(cli_human_count(6738415616ULL, buf), "6.7 B");
    uint64_t v;
    assert_int_equal(cli_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cli_parse_u64("18446744073709551616", &v), -1);
    assert_int_equal(cli_parse_u64("", &v), -1);
    assert_int_equal(cli_parse_u64("-1", &v), -1);
    assert_int_equal(cli_parse_u64("12a", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_help_and_version_exit_0),
        cmocka_unit_test(cli_usage_errors_exit_2_with_tokvec_prefix),
        cmocka_unit_test(inspect_example_shows_every_summary_line),
        cmocka_unit_test(inspect_json_has_the_documented_fields),
        cmocka_unit_test(inspect_tensors_lists_every_tensor_with_offsets),
        cmocka_unit_test(inspect_metadata_shows_types_and_values),
        cmocka_unit_test(inspect_tokens_ranges_are_inclusive_and_clamped),
        cmocka_unit_test(inspect_garbage_and_missing_files_exit_1),
        cmocka_unit_test(inspect_embedding_option_names_the_tensor),
        cmocka_unit_test(inspect_escapes_token_bytes_and_abbreviates_metadata),
        cmocka_unit_test(inspect_real_gguf_stories260k),
        cmocka_unit_test(inspect_real_gguf_vocab_abbreviates_token_arrays),
        cmocka_unit_test(inspect_real_tokenizer_json_gpt2),
        cmocka_unit_test(inspect_real_hf_folder_gpt2_vocab50257),
        cmocka_unit_test(cli_escape_shows_utf8_and_escapes_the_rest),
        cmocka_unit_test(cli_human_numbers_use_decimal_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
