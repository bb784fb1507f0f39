/* The Hugging Face cache: a fake cache built here in a temporary folder, laid out as
   huggingface_hub writes it (refs/<ref> holding a commit, snapshots/<commit>/ of
   symlinks into blobs/), resolves org/name and bare names, --revision by ref, by
   nested ref and by commit; missing models and revisions say where they were looked
   for; the cache folder follows the environment; local paths win; the CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources.h"
#include "testutil.h"

#define GPT2_FOLDER "safetensors/tiny-llm-cicd-gpt2-vocab50257"
#define MAIN_HASH "0123456789abcdef0123456789abcdef01234567"
#define V1_HASH "89abcdef0123456789abcdef0123456789abcdef"
#define BARE_HASH "fedcba9876543210fedcba9876543210fedcba98"

#define assert_contains(haystack, needle)                                                 \
    do {                                                                                  \
        const char *h_ = (haystack);                                                      \
        if (!h_ || !strstr(h_, (needle)))                                                 \
            fail_msg("expected \"%s\" in: %s", (needle), h_ ? h_ : "(null)");             \
    } while (0)

static const char *const env_names[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME",
                                        "XDG_CACHE_HOME", "HOME"};

struct fixture {
    char *dir;      /* the temporary folder */
    char *cache;    /* dir/hub: the fake cache */
    char *folder;   /* the real fixture folder */
    char *saved_env[TV_ARRAY_SIZE(env_names)];
};

static void mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *buf = read_file_or_fail(from, &len);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
    tv_free(buf);
}

/* Puts file name of the fixture folder into repo's blobs/ (under a made-up hash) and
   links it from snapshots/<commit>/, as huggingface_hub does. */
static void add_file(struct fixture *fx, const char *repo, const char *commit, const char *name)
{
    char from[8192], blob[8192], link[16384], target[4096], snap[8192];
    snprintf(from, sizeof from, "%s/%s", fx->folder, name);
    snprintf(blob, sizeof blob, "%s/%s/blobs/sha-%s", fx->cache, repo, name);
    snprintf(snap, sizeof snap, "%s/%s/snapshots/%s", fx->cache, repo, commit);
    snprintf(link, sizeof link, "%s/%s", snap, name);
    snprintf(target, sizeof target, "../../blobs/sha-%s", name);
    mkdirs(snap);
    char blobs[8192];
    snprintf(blobs, sizeof blobs, "%s/%s/blobs", fx->cache, repo);
    mkdirs(blobs);
    if (access(blob, F_OK) != 0)
        copy_file(from, blob);
    assert_int_equal(symlink(target, link), 0);
}

static void add_ref(struct fixture *fx, const char *repo, const char *ref, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/refs/%s", fx->cache, repo, ref);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdirs(path);
    *slash = '/';
    write_text(path, text);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    for (size_t i = 0; i < TV_ARRAY_SIZE(env_names); i++) {
        const char *v = getenv(env_names[i]);
        fx->saved_env[i] = v ? strdup(v) : NULL;
        if (i < 4)
            unsetenv(env_names[i]);
    }
    fx->folder = tv_strdup(real_fixture(GPT2_FOLDER));
    fx->dir = make_temp_dir();
    fx->cache = tv_path_join(fx->dir, "hub");
    /* org/tiny: main is the whole folder, v1 (and refs/pr/1) an older commit with only
       the tokenizer. */
    static const char *const files[] = {"config.json", "tokenizer.json", "vocab.json",
                                        "merges.txt", "tokenizer_config.json",
                                        "generation_config.json", "model.safetensors",
                                        "special_tokens_map.json"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(files); i++)
        add_file(fx, "models--org--tiny", MAIN_HASH, files[i]);
    add_file(fx, "models--org--tiny", V1_HASH, "tokenizer.json");
    add_ref(fx, "models--org--tiny", "main", MAIN_HASH);        /* no newline, as written */
    add_ref(fx, "models--org--tiny", "v1", V1_HASH "\n");
    add_ref(fx, "models--org--tiny", "refs/pr/1", V1_HASH);
    /* gpt2: a bare name */
    add_file(fx, "models--gpt2", BARE_HASH, "tokenizer.json");
    add_ref(fx, "models--gpt2", "main", BARE_HASH);
    /* org/broken: refs/main names a snapshot that is not there */
    add_ref(fx, "models--org--broken", "main", V1_HASH);
    char snaps[4096];
    snprintf(snaps, sizeof snaps, "%s/models--org--broken/snapshots", fx->cache);
    mkdirs(snaps);
    setenv("HF_HUB_CACHE", fx->cache, 1);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < TV_ARRAY_SIZE(env_names); i++) {
        if (fx->saved_env[i])
            setenv(env_names[i], fx->saved_env[i], 1);
        else
            unsetenv(env_names[i]);
        free(fx->saved_env[i]);
    }
    remove_tree(fx->dir);
    tv_free(fx->dir);
    tv_free(fx->cache);
    tv_free(fx->folder);
    free(fx);
    return 0;
}

static tv_error open_fails(const char *path, const struct tv_open_options *opt)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, opt, &err);
    if (m) {
        tv_model_free(m);
        fail_msg("%s: opened, but should not have", path);
    }
    return err;
}

static void hub_org_name_reads_the_main_snapshot_like_the_plain_folder(void **state)
{
    struct fixture *fx = *state;
    char link[4096];
    snprintf(link, sizeof link, "%s/models--org--tiny/snapshots/" MAIN_HASH "/model.safetensors",
             fx->cache);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* the test is about following symlinks */

    tv_model *plain = model_open_or_fail(fx->folder, NULL);
    tv_model *m = model_open_or_fail("org/tiny", NULL);
    assert_string_equal(tv_model_kind(m), "Hugging Face cache");
    assert_string_equal(tv_model_path(m), "org/tiny");
    assert_int_equal(tv_vocab_size(m), tv_vocab_size(plain));
    for (uint32_t id = 0; id < tv_vocab_size(m); id++) {
        const struct tv_token *x = tv_vocab_token(m, id), *y = tv_vocab_token(plain, id);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->text, y->text, x->len);
    }
    assert_int_equal(tv_vocab_merge_count(m), tv_vocab_merge_count(plain));
    assert_int_equal(tv_model_tensor_count(m), tv_model_tensor_count(plain));
    for (size_t i = 0; i < tv_model_tensor_count(m); i++) {
        const struct tv_tensor *x = tv_model_tensor(m, i), *y = tv_model_tensor(plain, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->n_bytes, y->n_bytes);
        assert_memory_equal(x->data, y->data, x->n_bytes);
    }
    assert_int_equal(tv_model_file_count(m), tv_model_file_count(plain));
    assert_contains(tv_model_embedding(m)->file, "snapshots/" MAIN_HASH "/model.safetensors");
    tv_model_free(m);
    tv_model_free(plain);
}

static void hub_bare_name_is_models_dash_dash_name(void **state)
{
    (void)state;
    tv_model *m = model_open_or_fail("gpt2", NULL);
    assert_int_equal(tv_vocab_size(m), 50257);
    assert_int_equal(tv_model_file_count(m), 1);
    assert_string_equal(tv_model_file(m, 0), "tokenizer.json");
    tv_model_free(m);
}

static void hub_revision_by_ref_nested_ref_and_commit(void **state)
{
    (void)state;
    static const char *const revisions[] = {"v1", "refs/pr/1", V1_HASH};
    for (size_t i = 0; i < TV_ARRAY_SIZE(revisions); i++) {
        struct tv_open_options opt = {.revision = revisions[i]};
        tv_model *m = model_open_or_fail("org/tiny", &opt);
        assert_int_equal(tv_model_file_count(m), 1); /* the old commit: a tokenizer only */
        assert_int_equal(tv_model_tensor_count(m), 0);
        assert_int_equal(tv_vocab_size(m), 50257);
        tv_model_free(m);
    }
    struct tv_open_options main_opt = {.revision = "main"};
    tv_model *m = model_open_or_fail("org/tiny", &main_opt);
    assert_int_equal(tv_model_tensor_count(m), 16);
    tv_model_free(m);
    m = model_open_or_fail("org/tiny", &(struct tv_open_options){.revision = MAIN_HASH});
    assert_int_equal(tv_model_tensor_count(m), 16);
    tv_model_free(m);
}

static void hub_missing_model_says_where_it_looked(void **state)
{
    struct fixture *fx = *state;
    char expect[4200];
    tv_error err = open_fails("org/absent", NULL);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    snprintf(expect, sizeof expect, "%s/models--org--absent", fx->cache);
    assert_contains(err.message, expect);
    assert_contains(err.message, "$HF_HUB_CACHE");
    assert_contains(err.message, "never downloads");

    err = open_fails("org/tiny", &(struct tv_open_options){.revision = "v9"});
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    snprintf(expect, sizeof expect, "%s/models--org--tiny/refs/v9 (a ref)", fx->cache);
    assert_contains(err.message, expect);
    snprintf(expect, sizeof expect, "%s/models--org--tiny/snapshots/v9 (a commit)", fx->cache);
    assert_contains(err.message, expect);
    assert_contains(err.message, "v1");   /* the refs that are there */
    assert_contains(err.message, MAIN_HASH);

    err = open_fails("org/broken", NULL);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    snprintf(expect, sizeof expect, "%s/models--org--broken/snapshots/" V1_HASH " is not in the "
             "cache", fx->cache);
    assert_contains(err.message, expect);

    err = open_fails("org/tiny", &(struct tv_open_options){.revision = "../../../etc"});
    assert_int_equal(err.code, TV_ERR_USAGE);
    err = open_fails("org/tiny", &(struct tv_open_options){.revision = "a//b"});
    assert_int_equal(err.code, TV_ERR_USAGE);
}

static void hub_cache_folder_follows_the_environment(void **state)
{
    struct fixture *fx = *state;
    /* Each variable in turn, pointing (through a symlink) at the same cache. */
    char home[4096], xdg[4096], hf_home[4096], legacy[4096], link[4200];
    snprintf(hf_home, sizeof hf_home, "%s/hf-home", fx->dir);
    mkdirs(hf_home);
    snprintf(link, sizeof link, "%s/hub", hf_home);
    assert_int_equal(symlink(fx->cache, link), 0);
    snprintf(xdg, sizeof xdg, "%s/xdg", fx->dir);
    snprintf(link, sizeof link, "%s/huggingface", xdg);
    mkdirs(link);
    snprintf(link, sizeof link, "%s/huggingface/hub", xdg);
    assert_int_equal(symlink(fx->cache, link), 0);
    snprintf(home, sizeof home, "%s/home", fx->dir);
    snprintf(link, sizeof link, "%s/.cache/huggingface", home);
    mkdirs(link);
    snprintf(link, sizeof link, "%s/.cache/huggingface/hub", home);
    assert_int_equal(symlink(fx->cache, link), 0);
    snprintf(legacy, sizeof legacy, "%s", fx->cache);

    unsetenv("HF_HUB_CACHE");
    setenv("HOME", home, 1);
    tv_model *m = model_open_or_fail("gpt2", NULL);
    tv_model_free(m);
    setenv("HOME", "/nonexistent-home", 1);
    tv_error err = open_fails("gpt2", NULL);
    assert_contains(err.message, "/nonexistent-home/.cache/huggingface/hub/models--gpt2");
    setenv("XDG_CACHE_HOME", xdg, 1);
    m = model_open_or_fail("gpt2", NULL);
    tv_model_free(m);
    setenv("HF_HOME", hf_home, 1);
    setenv("XDG_CACHE_HOME", "/nonexistent-xdg", 1);
    m = model_open_or_fail("gpt2", NULL);
    tv_model_free(m);
    setenv("HF_HOME", "/nonexistent-hf-home", 1);
    err = open_fails("gpt2", NULL);
    assert_contains(err.message, "/nonexistent-hf-home/hub/models--gpt2");
    assert_contains(err.message, "$HF_HOME");
    setenv("HUGGINGFACE_HUB_CACHE", legacy, 1);
    m = model_open_or_fail("gpt2", NULL);
    tv_model_free(m);
    /* HF_HUB_CACHE comes first; an empty one counts as unset. */
    setenv("HF_HUB_CACHE", "/nonexistent-hub-cache", 1);
    err = open_fails("gpt2", NULL);
    assert_contains(err.message, "/nonexistent-hub-cache/models--gpt2");
    setenv("HF_HUB_CACHE", "", 1);
    m = model_open_or_fail("gpt2", NULL);
    tv_model_free(m);
}

static void hub_names_are_repo_ids(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool valid;
    } cases[] = {
        {"gpt2", true}, {"org/name", true}, {"Qwen/Qwen2.5-0.5B-Instruct", true},
        {"bert-base-uncased", true}, {"a_b.c-d/e_f.g-h", true},
        {"", false}, {"a/b/c", false}, {"../x", false}, {"/abs", false}, {".hidden", false},
        {"org/", false}, {"/name", false}, {"org//x", false}, {"with space", false},
        {"a..b", false}, {"org/.x", false}, {"-x", false}, {"model.tar:inner", false},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        if (tv_hub_name_valid(cases[i].name) != cases[i].valid)
            fail_msg("'%s' should be %s", cases[i].name, cases[i].valid ? "valid" : "invalid");
    /* A missing path that cannot be a repo id is not looked up in the cache. */
    tv_error err = open_fails("./no/such/thing", NULL);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_string_equal(err.message, "./no/such/thing: no such file or folder");
}

static void hub_local_path_wins_unless_a_revision_is_given(void **state)
{
    struct fixture *fx = *state;
    char cwd[4096], local[4200], from[4400], to[4400];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(local, sizeof local, "%s/org/tiny", fx->dir);
    mkdirs(local);
    snprintf(from, sizeof from, "%s/config.json", fx->folder);
    snprintf(to, sizeof to, "%s/config.json", local);
    copy_file(from, to);
    assert_int_equal(chdir(fx->dir), 0);
    tv_model *m = tv_model_open("org/tiny", NULL, NULL);
    tv_model *cached = tv_model_open("org/tiny", &(struct tv_open_options){.revision = "main"},
                                     NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_non_null(m);
    assert_non_null(cached);
    assert_string_equal(tv_model_kind(m), "Hugging Face folder");
    assert_int_equal(tv_model_file_count(m), 1);
    assert_string_equal(tv_model_kind(cached), "Hugging Face cache");
    assert_int_equal(tv_model_tensor_count(cached), 16);
    tv_model_free(cached);
    tv_model_free(m);
}

static void cli_inspects_cache_names_and_revisions(void **state)
{
    struct fixture *fx = *state;
    char *out = NULL, *errout = NULL;
    int rc = run_cli(&out, &errout, "inspect", "org/tiny", NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, errout);
    assert_contains(out, "org/tiny  (Hugging Face cache");
    assert_contains(out, "50257 tokens");
    assert_contains(out, "transformer.wte.weight");
    tv_free(out);
    tv_free(errout);
    rc = run_cli(&out, &errout, "inspect", "--revision", "v1", "--json", "org/tiny", NULL);
    assert_int_equal(rc, 0);
    assert_contains(out, "\"Hugging Face cache\"");
    tv_free(out);
    tv_free(errout);
    rc = run_cli(&out, &errout, "inspect", "org/absent", NULL);
    assert_int_equal(rc, 1);
    char expect[4200];
    snprintf(expect, sizeof expect, "%s/models--org--absent", fx->cache);
    assert_contains(errout, expect);
    tv_free(out);
    tv_free(errout);
    rc = run_cli(&out, &errout, "inspect", "--revision", "", "gpt2", NULL);
    assert_int_equal(rc, 2);
    tv_free(out);
    tv_free(errout);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hub_org_name_reads_the_main_snapshot_like_the_plain_folder,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(hub_bare_name_is_models_dash_dash_name, setup, teardown),
        cmocka_unit_test_setup_teardown(hub_revision_by_ref_nested_ref_and_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(hub_missing_model_says_where_it_looked, setup, teardown),
        cmocka_unit_test_setup_teardown(hub_cache_folder_follows_the_environment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(hub_names_are_repo_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(hub_local_path_wins_unless_a_revision_is_given, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cli_inspects_cache_names_and_revisions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
