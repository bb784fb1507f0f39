/*
 * SentencePiece .model files against the SentencePiece library: every line of
 * text/mixed.txt and tests/data/spm_extra.txt through the real models (Llama 2's BPE,
 * T5's and the torchtext example's Unigram with nmt_nfkc, tinypellm's Unigram), ids
 * and decode(ids) compared with tests/data/spm/<model>.{ids,decoded}, which
 * tests/data/spm_reference.py made with sentencepiece 0.1.97. When /usr/bin/python3 can
 * import sentencepiece, the same lines are also run through the library here and now,
 * and so are models of the kinds the fixtures lack (user-defined and control symbols,
 * byte fallback in Unigram, whitespace as suffix, unused pieces, no dummy prefix,
 * spaces kept or not escaped, other normalizers, CHAR and WORD), trained by the library
 * in a temporary folder; the small ones are also committed (tests/data/spm/trained/) so
 * that they are checked without the library. Offsets are compared too. Also:
 * --add-special, the CLI, a folder's vocab.txt beside a tokenizer.model, and the models
 * the library refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "tokvec/tokenizer.h"

#define PYTHON "/usr/bin/python3"
#define REFERENCE TOKVEC_SOURCE_DIR "/tests/data/spm_reference.py"
#define EXTRA_TEXT TOKVEC_SOURCE_DIR "/tests/data/spm_extra.txt"

/* ---- lines ---------------------------------------------------------------------------- */

struct lines {
    char *buf;
    char **line;
    size_t *len;
    size_t n;
};

/* Adds the lines of buf (taken over; "\n" ends each line, as spm_reference.py reads). */
static void lines_add_buffer(struct lines *l, char *buf, size_t size)
{
    char *p = buf, *end = buf + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        l->line = realloc(l->line, (l->n + 1) * sizeof *l->line);
        l->len = realloc(l->len, (l->n + 1) * sizeof *l->len);
        l->line[l->n] = p;
        l->len[l->n++] = (size_t)(stop - p);
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

struct texts {
    struct lines lines;
    char *bufs[4];
    size_t n_bufs;
};

static void texts_add_file(struct texts *t, const char *path)
{
    size_t size;
    char *buf = (char *)read_file_or_fail(path, &size);
    t->bufs[t->n_bufs++] = buf;
    lines_add_buffer(&t->lines, buf, size);
}

/* The input lines: text/mixed.txt, then tests/data/spm_extra.txt. */
static void texts_load(struct texts *t)
{
    memset(t, 0, sizeof *t);
    texts_add_file(t, real_fixture("text/mixed.txt"));
    texts_add_file(t, EXTRA_TEXT);
}

static void texts_free(struct texts *t)
{
    for (size_t i = 0; i < t->n_bufs; i++)
        tv_free(t->bufs[i]);
    free(t->lines.line);
    free(t->lines.len);
}

static void lines_load(struct lines *l, const char *path)
{
    memset(l, 0, sizeof *l);
    size_t size;
    l->buf = (char *)read_file_or_fail(path, &size);
    lines_add_buffer(l, l->buf, size);
}

static void lines_free(struct lines *l)
{
    tv_free(l->buf);
    free(l->line);
    free(l->len);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static tv_model *open_path(const char *path)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, NULL, &err);
    if (!m)
        fail_msg("%s: %s", path, err.message);
    return m;
}

static tv_tokenizer *tokenizer_or_fail(const tv_model *m)
{
    tv_error err = {0};
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (!t)
        fail_msg("tv_tokenizer_new: %s", err.message);
    return t;
}

static char *ids_text(const uint32_t *ids, size_t n)
{
    char *s = malloc(n * 12 + 2), *o = s;
    *o = '\0';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, i ? " %u" : "%u", ids[i]);
    return s;
}

static bool same_text(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static char *offsets_text(const struct tv_ids *ids)
{
    char *s = malloc(ids->n * 24 + 2), *o = s;
    *o = '\0';
    for (size_t i = 0; i < ids->n; i++)
        o += sprintf(o, i ? " %zu:%zu" : "%zu:%zu", ids->offsets[i].start, ids->offsets[i].end);
    return s;
}

/* One kind of result of every line against the reference's lines. */
struct check {
    const char *what;
    struct lines want;
    size_t ok;
};

static void check_line(struct check *c, const char *name, size_t i, const struct lines *in,
                       const char *got, size_t got_len)
{
    if (same_text(got, got_len, c->want.line[i], c->want.len[i])) {
        c->ok++;
        return;
    }
    print_message("%s line %zu: %s differ\n  text:     %.*s\n  expected: %.*s\n"
                  "  got:      %.*s\n", name, i + 1, c->what, (int)in->len[i], in->line[i],
                  (int)c->want.len[i], c->want.line[i], (int)got_len, got);
}

/*
 * Encodes every input line with the model at path and compares the ids, the offsets
 * and decode(ids) with the lines of REF.ids, REF.offsets and REF.decoded. Prints
 * "name: ids N/N lines, ..." and fails when any line differs.
 */
static void compare_model(const char *name, const char *path, const struct lines *in,
                          const char *ref)
{
    tv_model *m = open_path(path);
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct check checks[3] = {{.what = "ids"}, {.what = "offsets"}, {.what = "decoded texts"}};
    static const char *const suffix[3] = {".ids", ".offsets", ".decoded"};
    for (int k = 0; k < 3; k++) {
        char file[1400];
        snprintf(file, sizeof file, "%s%s", ref, suffix[k]);
        lines_load(&checks[k].want, file);
        if (checks[k].want.n != in->n)
            fail_msg("%s: %zu lines for %zu input lines", file, checks[k].want.n, in->n);
    }
    struct tv_ids ids;
    tv_ids_init(&ids);
    for (size_t i = 0; i < in->n; i++) {
        tv_error err = {0};
        if (tv_encode(t, in->line[i], in->len[i], TV_ENCODE_OFFSETS, &ids, &err) < 0)
            fail_msg("%s line %zu: %s", name, i + 1, err.message);
        char *got = ids_text(ids.ids, ids.n);
        check_line(&checks[0], name, i, in, got, strlen(got));
        free(got);
        got = offsets_text(&ids);
        check_line(&checks[1], name, i, in, got, strlen(got));
        free(got);
        char *text;
        size_t text_len;
        if (tv_decode(t, ids.ids, ids.n, 0, &text, &text_len, &err) < 0)
            fail_msg("%s line %zu: decode: %s", name, i + 1, err.message);
        check_line(&checks[2], name, i, in, text, text_len);
        tv_string_free(text);
    }
    print_message("[          ] %-28s ids %zu/%zu lines, offsets %zu/%zu, decode %zu/%zu\n",
                  name, checks[0].ok, in->n, checks[1].ok, in->n, checks[2].ok, in->n);
    bool all = true;
    for (int k = 0; k < 3; k++) {
        all &= checks[k].ok == in->n;
        lines_free(&checks[k].want);
    }
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
    if (!all)
        fail_msg("%s: lines differ from the SentencePiece library", name);
}

/* The real models with their committed reference files (tests/data/spm/NAME.*). */
static const struct {
    const char *fixture, *name;
} real_models[] = {
    {"llama2c/llama-tokenizer.model", "llama-tokenizer"},
    {"tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model", "t5_tokenizer_base"},
    {"tokenizers/sentencepiece-torchtext/spm_example.model", "spm_example"},
    {"pytorch/tinypellm/tinypellm.model", "tinypellm"},
};

static void check_real_model(size_t which)
{
    struct texts in;
    texts_load(&in);
    char ref[512];
    snprintf(ref, sizeof ref, "%s/tests/data/spm/%s", TOKVEC_SOURCE_DIR, real_models[which].name);
    compare_model(real_models[which].name, real_fixture(real_models[which].fixture), &in.lines,
                  ref);
    texts_free(&in);
}

/* ---- the reference, live ------------------------------------------------------------------ */

static bool have_library(void)
{
    static int have = -1;
    if (have < 0)
        have = system(PYTHON " -c 'import sentencepiece' >/dev/null 2>&1") == 0;
    if (!have)
        print_message("[  SKIP    ] " PYTHON " cannot import sentencepiece (apt-get install "
                      "python3-sentencepiece): no live comparison with the library\n");
    return have;
}

static void run_or_fail(const char *command)
{
    int rc = system(command);
    if (rc != 0)
        fail_msg("'%s' failed (%d)", command, rc);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void llama2_bpe_model_matches_the_library(void **state)
{
    (void)state;
    check_real_model(0);
}

static void t5_unigram_nmt_nfkc_model_matches_the_library(void **state)
{
    (void)state;
    check_real_model(1);
}

static void torchtext_example_unigram_model_matches_the_library(void **state)
{
    (void)state;
    check_real_model(2);
}

static void tinypellm_unigram_model_matches_the_library(void **state)
{
    (void)state;
    check_real_model(3);
}

/* The library here and now gives the committed references, and tokvec matches it. */
static void live_library_gives_the_committed_references(void **state)
{
    (void)state;
    struct texts in;
    texts_load(&in);
    if (!have_library()) {
        texts_free(&in);
        skip();
    }
    char *dir = make_temp_dir();
    char *mixed = tv_strdup(real_fixture("text/mixed.txt"));
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_models); i++) {
        static const char *const modes[3] = {"", "--offsets", "--decode"};
        static const char *const suffix[3] = {".ids", ".offsets", ".decoded"};
        char command[4096], ref[1024];
        char *model = tv_strdup(real_fixture(real_models[i].fixture));
        snprintf(ref, sizeof ref, "%s/%s", dir, real_models[i].name);
        for (int k = 0; k < 3; k++) {
            snprintf(command, sizeof command, PYTHON " '%s' %s '%s' '%s' '%s' > '%s%s'",
                     REFERENCE, modes[k], model, mixed, EXTRA_TEXT, ref, suffix[k]);
            run_or_fail(command);
            snprintf(command, sizeof command, "cmp -s '%s%s' '%s/tests/data/spm/%s%s'", ref,
                     suffix[k], TOKVEC_SOURCE_DIR, real_models[i].name, suffix[k]);
            if (system(command) != 0)
                print_message("[          ] note: the library here gives another %s for %s "
                              "than tests/data/spm/ holds (another sentencepiece version?)\n",
                              suffix[k], real_models[i].name);
        }
        char name[96];
        snprintf(name, sizeof name, "%s (live)", real_models[i].name);
        compare_model(name, model, &in.lines, ref);
        tv_free(model);
    }
    tv_free(mixed);
    remove_tree(dir);
    tv_free(dir);
    texts_free(&in);
}

/* Models the library trained on the test texts, committed with its results: user-
   defined pieces and byte fallback in Unigram, whitespace as suffix with byte fallback
   in BPE, unused pieces in BPE, spaces not escaped, WORD, custom normalization rules
   with a denormalizer ("A" -> "a" when encoding, "a" -> "A" when decoding). */
static void trained_models_match_the_library(void **state)
{
    (void)state;
    static const char *const names[] = {"unigram-identity-bytefb-ud", "bpe-suffix-bytefb",
                                        "bpe-unused", "unigram-noescape", "word-identity",
                                        "unigram-rules-denorm"};
    struct texts in;
    texts_load(&in);
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++) {
        char model[1100], ref[1024];
        snprintf(ref, sizeof ref, "%s/tests/data/spm/trained/%s", TOKVEC_SOURCE_DIR, names[i]);
        snprintf(model, sizeof model, "%s.model", ref);
        compare_model(names[i], model, &in.lines, ref);
    }
    texts_free(&in);
}

/* Models trained by the library on the test texts, one per option the real models do
   not use, each compared line for line. */
static void live_library_trained_models_match(void **state)
{
    (void)state;
    struct texts in;
    texts_load(&in);
    if (!have_library()) {
        texts_free(&in);
        skip();
    }
    char *dir = make_temp_dir();
    char command[4096], list[1024];
    snprintf(list, sizeof list, "%s/names", dir);
    char *mixed = tv_strdup(real_fixture("text/mixed.txt"));
    snprintf(command, sizeof command, PYTHON " '%s' --variants '%s' '%s' '%s' > '%s'", REFERENCE,
             dir, mixed, EXTRA_TEXT, list);
    tv_free(mixed);
    run_or_fail(command);
    struct lines names;
    lines_load(&names, list);
    assert_true(names.n >= 8);
    for (size_t i = 0; i < names.n; i++) {
        char name[128], model[1200], ref[1200];
        snprintf(name, sizeof name, "%.*s (live)", (int)names.len[i], names.line[i]);
        snprintf(model, sizeof model, "%s/%.*s.model", dir, (int)names.len[i], names.line[i]);
        snprintf(ref, sizeof ref, "%s/%.*s", dir, (int)names.len[i], names.line[i]);
        compare_model(name, model, &in.lines, ref);
    }
    lines_free(&names);
    remove_tree(dir);
    tv_free(dir);
    texts_free(&in);
}

/* 400 lines of random text (spm_reference.py --random-text) through the real models
   and the committed trained ones, against the library. */
static void live_library_agrees_on_random_text(void **state)
{
    (void)state;
    if (!have_library())
        skip();
    static const char *const trained[] = {"unigram-identity-bytefb-ud", "bpe-suffix-bytefb",
                                          "bpe-unused", "unigram-noescape", "word-identity",
                                        "unigram-rules-denorm"};
    char *dir = make_temp_dir();
    char command[4096], random_path[1024];
    snprintf(random_path, sizeof random_path, "%s/random.txt", dir);
    snprintf(command, sizeof command, PYTHON " '%s' --random-text 400 7 > '%s'", REFERENCE,
             random_path);
    run_or_fail(command);
    struct lines in;
    lines_load(&in, random_path);
    assert_int_equal(in.n, 400);
    for (size_t i = 0; i < TV_ARRAY_SIZE(real_models) + TV_ARRAY_SIZE(trained); i++) {
        char model[1024], ref[1200], name[128];
        if (i < TV_ARRAY_SIZE(real_models)) {
            snprintf(model, sizeof model, "%s", real_fixture(real_models[i].fixture));
            snprintf(name, sizeof name, "%s (random)", real_models[i].name);
        } else {
            const char *n = trained[i - TV_ARRAY_SIZE(real_models)];
            snprintf(model, sizeof model, "%s/tests/data/spm/trained/%s.model", TOKVEC_SOURCE_DIR,
                     n);
            snprintf(name, sizeof name, "%s (random)", n);
        }
        snprintf(ref, sizeof ref, "%s/%zu", dir, i);
        static const char *const modes[3] = {"", "--offsets", "--decode"};
        static const char *const suffix[3] = {".ids", ".offsets", ".decoded"};
        for (int k = 0; k < 3; k++) {
            snprintf(command, sizeof command, PYTHON " '%s' %s '%s' '%s' > '%s%s'", REFERENCE,
                     modes[k], model, random_path, ref, suffix[k]);
            run_or_fail(command);
        }
        compare_model(name, model, &in, ref);
    }
    lines_free(&in);
    remove_tree(dir);
    tv_free(dir);
}

static void encode_or_fail(tv_tokenizer *t, const char *text, unsigned flags, struct tv_ids *ids)
{
    tv_error err = {0};
    if (tv_encode(t, text, strlen(text), flags, ids, &err) < 0)
        fail_msg("encode '%s': %s", text, err.message);
}

static void control_pieces_are_plain_text_and_add_special_adds_them(void **state)
{
    (void)state;
    tv_model *m = open_path(real_fixture("llama2c/llama-tokenizer.model"));
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    /* the library: "<s>" is "<", "s", ">", with or without --no-parse-special */
    static const uint32_t plain[] = {15043, 529, 29879, 29958, 3186};
    encode_or_fail(t, "Hello <s> world", 0, &ids);
    assert_int_equal(ids.n, TV_ARRAY_SIZE(plain));
    assert_memory_equal(ids.ids, plain, sizeof plain);
    encode_or_fail(t, "Hello <s> world", TV_ENCODE_NO_PARSE_SPECIAL, &ids);
    assert_memory_equal(ids.ids, plain, sizeof plain);
    /* BOS in front */
    encode_or_fail(t, "Hello", TV_ENCODE_ADD_SPECIAL, &ids);
    assert_int_equal(ids.n, 2);
    assert_int_equal(ids.ids[0], 1);
    assert_int_equal(ids.ids[1], 15043);
    assert_true(tv_token_is_special(t, 1));
    assert_true(tv_token_is_special(t, 0));
    assert_false(tv_token_is_special(t, 15043));
    /* control pieces decode to nothing, as in the library; the unknown piece to " ⁇ " */
    static const uint32_t with_specials[] = {1, 15043, 0, 2};
    char *text;
    size_t len;
    tv_error err = {0};
    assert_int_equal(tv_decode(t, with_specials, 4, 0, &text, &len, &err), 0);
    assert_string_equal(text, "Hello \xE2\x81\x87 ");
    tv_string_free(text);
    assert_int_equal(tv_decode(t, with_specials, 4, TV_DECODE_SKIP_SPECIAL, &text, &len, &err), 0);
    assert_string_equal(text, "Hello");
    tv_string_free(text);
    static const uint32_t outside[] = {15043, 32000};
    assert_int_equal(tv_decode(t, outside, 2, 0, &text, &len, &err), -1);
    assert_non_null(strstr(err.message, "32000"));
    tv_tokenizer_free(t);
    tv_model_free(m);

    /* T5 has no BOS: its EOS goes at the end */
    m = open_path(real_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model"));
    t = tokenizer_or_fail(m);
    encode_or_fail(t, "Hello", TV_ENCODE_ADD_SPECIAL, &ids);
    assert_int_equal(ids.n, 2);
    assert_int_equal(ids.ids[0], 8774);
    assert_int_equal(ids.ids[1], 1);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

/* Offsets are bytes of the input, as the library's begin/end: a piece made of
   normalized chars covers the original chars they came from. */
static void offsets_point_into_the_original_text(void **state)
{
    (void)state;
    tv_model *m =
        open_path(real_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model"));
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    /* "  ｈｅｌｌｏ  world" -> "▁hello▁world": fullwidth letters are 3 bytes each */
    const char *text = "  \xEF\xBD\x88\xEF\xBD\x85\xEF\xBD\x8C\xEF\xBD\x8C\xEF\xBD\x8F  world ";
    encode_or_fail(t, text, TV_ENCODE_OFFSETS, &ids);
    assert_int_equal(ids.n, 2);
    assert_int_equal(ids.ids[0], 21820); /* ▁hello */
    assert_int_equal(ids.ids[1], 296);   /* ▁world */
    /* the library's begin/end: a piece runs to where the next one's first char came
       from, so ▁world starts at the space after "hello" and ends before the last one */
    assert_int_equal(ids.offsets[0].start, 2);
    assert_int_equal(ids.offsets[0].end, 17);
    assert_int_equal(ids.offsets[1].start, 17);
    assert_int_equal(ids.offsets[1].end, 24);
    /* every offset of every line lies in the line and they do not go backwards */
    struct texts in;
    texts_load(&in);
    for (size_t i = 0; i < in.lines.n; i++) {
        tv_error err = {0};
        assert_int_equal(tv_encode(t, in.lines.line[i], in.lines.len[i], TV_ENCODE_OFFSETS, &ids,
                                   &err), 0);
        size_t last = 0;
        for (size_t k = 0; k < ids.n; k++) {
            assert_true(ids.offsets[k].start <= ids.offsets[k].end);
            assert_true(ids.offsets[k].end <= in.lines.len[i]);
            assert_true(ids.offsets[k].start >= last);
            last = ids.offsets[k].start;
        }
    }
    texts_free(&in);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

/* Bytes that are not UTF-8 are U+FFFD one byte at a time, as the library reads them
   (sp.encode(b"a\xe4\xb8") is [263, 26308], "▁a" and "\uFFFD\uFFFD"). */
static void invalid_utf8_is_one_replacement_char_per_byte(void **state)
{
    (void)state;
    tv_model *m = open_path(real_fixture("llama2c/llama-tokenizer.model"));
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error err = {0};
    const char text[] = "a\xE4\xB8"; /* a truncated 3-byte char: two bad bytes */
    assert_int_equal(tv_encode(t, text, 3, TV_ENCODE_OFFSETS, &ids, &err), 0);
    assert_int_equal(ids.n, 2);
    assert_int_equal(ids.ids[0], 263);
    assert_int_equal(ids.ids[1], 26308);
    assert_int_equal(ids.offsets[1].start, 1);
    assert_int_equal(ids.offsets[1].end, 3);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

static void cli_encodes_and_decodes_a_model_file(void **state)
{
    (void)state;
    const char *model = real_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model");
    char *out = NULL, *errout = NULL;
    assert_int_equal(run_cli(&out, &errout, "encode", model, "Hello <s> world  \xEF\xBD\x88\xEF\xBD\x85\xEF\xBD\x8C\xEF\xBD\x8C\xEF\xBD\x8F \xE2\x91\xA0", NULL), 0);
    assert_string_equal(out, "8774 3 2 7 3155 296 21820 209\n");
    tv_free(out);
    tv_free(errout);
    assert_int_equal(run_cli(&out, &errout, "encode", "--tokens", model, "Hello world", NULL), 0);
    assert_non_null(strstr(out, "\xE2\x90\xA3Hello(8774)"));
    tv_free(out);
    tv_free(errout);
    assert_int_equal(run_cli(&out, &errout, "decode", model, "8774", "296", "1", NULL), 0);
    assert_string_equal(out, "Hello world\n");
    tv_free(out);
    tv_free(errout);
    model = real_fixture("llama2c/llama-tokenizer.model");
    assert_int_equal(run_cli(&out, &errout, "encode", "--add-special", model, "Hello world", NULL),
                     0);
    assert_string_equal(out, "1 15043 3186\n");
    tv_free(out);
    tv_free(errout);
}

/* A folder with vocab.txt and a tokenizer.model: vocab.txt is the primary vocabulary
   and is tokenized as BERT's, not with the .model's pipeline. */
static void folder_vocab_txt_is_not_tokenized_as_its_tokenizer_model(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char link[1200];
    snprintf(link, sizeof link, "%s/vocab.txt", dir);
    assert_int_equal(symlink(real_fixture("tokenizers/bert-base-uncased/vocab.txt"), link), 0);
    snprintf(link, sizeof link, "%s/tokenizer.model", dir);
    assert_int_equal(
        symlink(real_fixture("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model"), link),
        0);
    tv_model *m = open_path(dir);
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    encode_or_fail(t, "Hello, World!", 0, &ids);
    static const uint32_t bert[] = {7592, 1010, 2088, 999};
    assert_int_equal(ids.n, TV_ARRAY_SIZE(bert));
    assert_memory_equal(ids.ids, bert, sizeof bert);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- models the library refuses, built here --------------------------------------------- */

struct pb {
    uint8_t buf[4096];
    size_t len;
};

static void pb_varint(struct pb *b, uint64_t v)
{
    do {
        b->buf[b->len++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *data, size_t len)
{
    pb_varint(b, field << 3 | 2);
    pb_varint(b, len);
    memcpy(b->buf + b->len, data, len);
    b->len += len;
}

static void pb_piece(struct pb *model, const char *text, float score, int type)
{
    struct pb p = {.len = 0};
    pb_bytes(&p, 1, text, strlen(text));
    p.buf[p.len++] = 2 << 3 | 5;
    memcpy(p.buf + p.len, &score, 4);
    p.len += 4;
    pb_varint(&p, 3 << 3);
    pb_varint(&p, (uint64_t)type);
    pb_bytes(model, 1, p.buf, p.len);
}

/* A ModelProto: the pieces "a b ab" (and more), a trainer spec, an identity normalizer. */
static tv_model *tiny_model(const char *const *pieces, const int *types, size_t n, int model_type,
                            bool byte_fallback)
{
    struct pb model = {.len = 0}, trainer = {.len = 0}, norm = {.len = 0};
    for (size_t i = 0; i < n; i++)
        pb_piece(&model, pieces[i], -(float)i, types[i]);
    pb_varint(&trainer, 3 << 3);
    pb_varint(&trainer, (uint64_t)model_type);
    pb_varint(&trainer, 35 << 3);
    pb_varint(&trainer, byte_fallback);
    pb_bytes(&model, 2, trainer.buf, trainer.len);
    pb_bytes(&norm, 1, "identity", 8);
    pb_bytes(&model, 3, norm.buf, norm.len);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(model.buf, model.len, "tiny.model", NULL, &err);
    if (!m)
        fail_msg("tiny.model: %s", err.message);
    return m;
}

static void refuse(tv_model *m, const char *why)
{
    tv_error err = {0};
    tv_tokenizer *t = tv_tokenizer_new(m, &err);
    if (t)
        fail_msg("a model SentencePiece refuses (%s) gave a tokenizer", why);
    if (!strstr(err.message, why) || !strstr(err.message, "tiny.model"))
        fail_msg("expected '%s' in the error: %s", why, err.message);
    tv_model_free(m);
}

static void models_the_library_refuses_are_refused(void **state)
{
    (void)state;
    enum { N = 1, U = 2, C = 3, D = 4, B = 6 };
    {
        const char *p[] = {"<s>", "a", "b"};
        const int ty[] = {C, N, N};
        refuse(tiny_model(p, ty, 3, 1, false), "unk is not defined");
    }
    {
        const char *p[] = {"<unk>", "<unk2>", "a"};
        const int ty[] = {U, U, N};
        refuse(tiny_model(p, ty, 3, 1, false), "unk is already defined");
    }
    {
        const char *p[] = {"<unk>", "a", "a"};
        const int ty[] = {U, N, D};
        refuse(tiny_model(p, ty, 3, 2, false), "already defined");
    }
    {
        const char *p[] = {"<unk>", "<0x41>", "a"};
        const int ty[] = {U, B, N};
        refuse(tiny_model(p, ty, 3, 2, false), "byte_fallback is false");
    }
    {
        const char *p[] = {"<unk>", "<0x41>", "a"};
        const int ty[] = {U, B, N};
        refuse(tiny_model(p, ty, 3, 2, true), "255 of the 256 byte pieces are missing");
    }
    {
        const char *p[] = {"<unk>", "<0x4g>", "a"};
        const int ty[] = {U, B, N};
        refuse(tiny_model(p, ty, 3, 2, true), "not of the form <0xHH>");
    }
    /* a well-formed tiny BPE model works: "ab" merges, "c" is unknown */
    const char *p[] = {"<unk>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "ab"};
    const int ty[] = {U, N, N, N, N, N};
    tv_model *m = tiny_model(p, ty, 6, 2, false);
    tv_tokenizer *t = tokenizer_or_fail(m);
    struct tv_ids ids;
    tv_ids_init(&ids);
    encode_or_fail(t, "ab abc", 0, &ids);
    static const uint32_t want[] = {5, 5, 0};
    assert_int_equal(ids.n, 3);
    assert_memory_equal(ids.ids, want, sizeof want);
    tv_ids_release(&ids);
    tv_tokenizer_free(t);
    tv_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_bpe_model_matches_the_library),
        cmocka_unit_test(t5_unigram_nmt_nfkc_model_matches_the_library),
        cmocka_unit_test(torchtext_example_unigram_model_matches_the_library),
        cmocka_unit_test(tinypellm_unigram_model_matches_the_library),
        cmocka_unit_test(trained_models_match_the_library),
        cmocka_unit_test(live_library_gives_the_committed_references),
        cmocka_unit_test(live_library_trained_models_match),
        cmocka_unit_test(live_library_agrees_on_random_text),
        cmocka_unit_test(control_pieces_are_plain_text_and_add_special_adds_them),
        cmocka_unit_test(offsets_point_into_the_original_text),
        cmocka_unit_test(invalid_utf8_is_one_replacement_char_per_byte),
        cmocka_unit_test(cli_encodes_and_decodes_a_model_file),
        cmocka_unit_test(folder_vocab_txt_is_not_tokenized_as_its_tokenizer_model),
        cmocka_unit_test(models_the_library_refuses_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
