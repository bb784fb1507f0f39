/* Archives and compressed files: archives built here with libarchive's writer (tar,
   tar.gz, tar.zst, tar.xz, zip stored and deflated, a top-level folder, the root, nested
   folders) from the real fixtures read exactly like the plain files; the member syntax;
   .gz files; stored members used in place; hostile archives (traversal, absolute
   names, links, devices, duplicates, bombs, truncation at many offsets, corrupted
   deflate data) each refused with an error naming the member; failing allocations;
   gzip output; the CLI. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "sources.h"
#include "failalloc.h"
#include "testutil.h"

#define GPT2_FOLDER "safetensors/tiny-llm-cicd-gpt2-vocab50257"

#define assert_contains(haystack, needle)                                                 \
    do {                                                                                  \
        const char *h_ = (haystack);                                                      \
        if (!h_ || !strstr(h_, (needle)))                                                 \
            fail_msg("expected \"%s\" in: %s", (needle), h_ ? h_ : "(null)");             \
    } while (0)

/* ---- building archives ---------------------------------------------------------------- */

enum kind { TAR, TAR_GZ, TAR_ZST, TAR_XZ, ZIP_STORED, ZIP_DEFLATED };

static const char *kind_name(enum kind k)
{
    static const char *const names[] = {"tar", "tar.gz", "tar.zst", "tar.xz", "zip-stored",
                                        "zip-deflated"};
    return names[k];
}

static const char *kind_suffix(enum kind k)
{
    static const char *const s[] = {".tar", ".tar.gz", ".tar.zst", ".tar.xz", ".zip", ".zip"};
    return s[k];
}

static bool kind_available(enum kind k)
{
    if (k == TAR_ZST)
        return archive_libzstd_version() != NULL;
    if (k == TAR_XZ)
        return archive_liblzma_version() != NULL;
    return true;
}

struct spec {
    const char *name;
    const uint8_t *data;
    size_t len;
    unsigned type;          /* 0: a regular file */
    const char *link;       /* symlink target, or hard link target when hardlink */
    bool hardlink;
    bool deflate;           /* zip: deflate this one even in a ZIP_STORED archive */
};

static void write_archive(const char *path, enum kind kind, const struct spec *specs, size_t n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    bool zip = kind == ZIP_STORED || kind == ZIP_DEFLATED;
    assert_int_equal(zip ? archive_write_set_format_zip(a)
                         : archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    if (kind == TAR_GZ)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    if (kind == TAR_ZST)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    if (kind == TAR_XZ) {
        assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
        archive_write_set_filter_option(a, "xz", "compression-level", "1");
    }
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const struct spec *s = &specs[i];
        if (zip)
            assert_int_equal(kind == ZIP_DEFLATED || s->deflate
                                 ? archive_write_zip_set_compression_deflate(a)
                                 : archive_write_zip_set_compression_store(a), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        unsigned type = s->type ? s->type : AE_IFREG;
        archive_entry_set_pathname(e, s->name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (s->hardlink)
            archive_entry_set_hardlink(e, s->link);
        else if (type == AE_IFLNK)
            archive_entry_set_symlink(e, s->link);
        if (type == AE_IFCHR)
            archive_entry_set_rdev(e, 0x0103);
        bool has_data = type == AE_IFREG && !s->hardlink;
        archive_entry_set_size(e, has_data ? (la_int64_t)s->len : 0);
        int r = archive_write_header(a, e);
        if (r < ARCHIVE_WARN)
            fail_msg("writing %s: %s", s->name, archive_error_string(a));
        if (has_data && s->len)
            assert_int_equal(archive_write_data(a, s->data, s->len), (la_ssize_t)s->len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* The files of a fixture folder, as specs named prefix + file name. */
struct folder {
    struct spec specs[32];
    uint8_t *bufs[32];
    char *names[32];
    size_t n;
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct spec *)a)->name, ((const struct spec *)b)->name);
}

static void folder_load(struct folder *f, const char *dir, const char *prefix)
{
    memset(f, 0, sizeof *f);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        assert_true(f->n < 32);
        char path[4096], name[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s%s", prefix, e->d_name);
        size_t len;
        f->bufs[f->n] = read_file_or_fail(path, &len);
        f->names[f->n] = tv_strdup(name);
        f->specs[f->n] = (struct spec){.name = f->names[f->n], .data = f->bufs[f->n], .len = len};
        f->n++;
    }
    closedir(d);
    /* Sort the specs with their buffers: pair by pointer after sorting. */
    qsort(f->specs, f->n, sizeof f->specs[0], cmp_name);
}

static void folder_release(struct folder *f)
{
    for (size_t i = 0; i < f->n; i++) {
        tv_free(f->bufs[i]);
        tv_free(f->names[i]);
    }
}

static const struct spec *folder_find(const struct folder *f, const char *suffix)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t n = strlen(f->specs[i].name), k = strlen(suffix);
        if (n >= k && strcmp(f->specs[i].name + n - k, suffix) == 0)
            return &f->specs[i];
    }
    fail_msg("no %s in the folder", suffix);
    return NULL;
}

/* Where the data of a zip member starts (after its local header), or 0. */
static size_t zip_data_offset(const uint8_t *buf, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + 30 + n < len; i++)
        if (memcmp(buf + i, "PK\3\4", 4) == 0 && (size_t)(buf[i + 26] | buf[i + 27] << 8) == n &&
            memcmp(buf + i + 30, name, n) == 0)
            return i + 30 + n + (size_t)(buf[i + 28] | buf[i + 29] << 8);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = tv_path_join(dir, name);
    assert_non_null(p);
    return p;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* gzip of buf in members of member_len bytes (0: one member). */
static uint8_t *gzip_bytes(const uint8_t *buf, size_t len, size_t member_len, size_t *out_len)
{
    size_t cap = len + len / 100 + 4096, used = 0;
    uint8_t *out = tv_malloc(cap);
    assert_non_null(out);
    size_t step = member_len ? member_len : len;
    size_t at = 0;
    do {
        size_t part = len - at < step ? len - at : step;
        z_stream zs = {0};
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                      Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *)buf + at;
        zs.avail_in = (uInt)part;
        zs.next_out = out + used;
        zs.avail_out = (uInt)(cap - used);
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        used = cap - zs.avail_out;
        deflateEnd(&zs);
        at += part;
    } while (at < len);
    *out_len = used;
    return out;
}

/* Writes a .gz of n zero bytes with zlib's gzip file API. */
static void write_zero_gz(const char *path, size_t n)
{
    gzFile gz = gzopen(path, "wb6");
    assert_non_null(gz);
    static uint8_t zeros[1 << 20];
    while (n) {
        size_t part = n < sizeof zeros ? n : sizeof zeros;
        assert_int_equal(gzwrite(gz, zeros, (unsigned)part), (int)part);
        n -= part;
    }
    assert_int_equal(gzclose(gz), Z_OK);
}

/* ---- comparing models -------------------------------------------------------------------- */

static void assert_same_model(const tv_model *a, const tv_model *b)
{
    assert_int_equal(tv_vocab_size(a), tv_vocab_size(b));
    for (uint32_t id = 0; id < tv_vocab_size(a); id++) {
        const struct tv_token *x = tv_vocab_token(a, id), *y = tv_vocab_token(b, id);
        assert_int_equal(x->len, y->len);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->flags, y->flags);
        assert_true(x->score == y->score);
        if (x->text || y->text)
            assert_memory_equal(x->text, y->text, x->len);
    }
    assert_int_equal(tv_vocab_kind(a), tv_vocab_kind(b));
    assert_int_equal(tv_vocab_merge_count(a), tv_vocab_merge_count(b));
    for (size_t r = 0; r < tv_vocab_merge_count(a); r++) {
        const char *l1, *r1, *l2, *r2;
        size_t ll1, rl1, ll2, rl2;
        assert_int_equal(tv_vocab_merge(a, r, &l1, &ll1, &r1, &rl1), 0);
        assert_int_equal(tv_vocab_merge(b, r, &l2, &ll2, &r2, &rl2), 0);
        assert_int_equal(ll1, ll2);
        assert_int_equal(rl1, rl2);
        assert_memory_equal(l1, l2, ll1);
        assert_memory_equal(r1, r2, rl1);
    }
    for (int s = 0; s < TV_SPECIAL_COUNT; s++)
        assert_int_equal(tv_vocab_special(a, s), tv_vocab_special(b, s));
    assert_int_equal(tv_model_tensor_count(a), tv_model_tensor_count(b));
    for (size_t i = 0; i < tv_model_tensor_count(a); i++) {
        const struct tv_tensor *x = tv_model_tensor(a, i), *y = tv_model_tensor(b, i);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->dtype, y->dtype);
        assert_int_equal(x->n_dims, y->n_dims);
        for (uint32_t d = 0; d < x->n_dims; d++)
            assert_int_equal(x->shape[d], y->shape[d]);
        assert_int_equal(x->n_bytes, y->n_bytes);
        assert_non_null(x->data);
        assert_non_null(y->data);
        assert_memory_equal(x->data, y->data, x->n_bytes);
    }
    const struct tv_tensor *ea = tv_model_embedding(a), *eb = tv_model_embedding(b);
    assert_true((ea == NULL) == (eb == NULL));
    if (ea)
        assert_string_equal(ea->name, eb->name);
    assert_int_equal(tv_model_meta_count(a), tv_model_meta_count(b));
    assert_int_equal(tv_model_file_count(a), tv_model_file_count(b));
    for (size_t i = 0; i < tv_model_file_count(a); i++)
        assert_string_equal(tv_model_file(a, i), tv_model_file(b, i));
}

/* Opens path expecting failure; returns the error. */
static tv_error open_fails(const char *path, const struct tv_open_options *opt)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, opt, &err);
    if (m) {
        tv_model_free(m);
        fail_msg("%s: opened, but should have been refused", path);
    }
    assert_true(err.code != TV_OK);
    assert_true(err.message[0] != '\0');
    return err;
}

/* ---- whole archives ------------------------------------------------------------------------ */

static void archive_folder_reads_like_the_plain_folder(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny-gpt2/");
    tv_model *plain = model_open_or_fail(fixture, NULL);
    for (enum kind k = TAR; k <= ZIP_DEFLATED; k++) {
        if (!kind_available(k)) {
            print_message("[  SKIP    ] %s: libarchive has no %s\n", kind_name(k), kind_name(k));
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "model%s", kind_suffix(k));
        char *path = path_in(dir, name);
        write_archive(path, k, f.specs, f.n);
        tv_model *m = model_open_or_fail(path, NULL);
        assert_same_model(plain, m);
        assert_string_equal(tv_model_kind(m), "Hugging Face folder");
        /* Tensors say where they came from: archive:member. */
        char expect[4200];
        snprintf(expect, sizeof expect, "%s:tiny-gpt2/model.safetensors", path);
        assert_string_equal(tv_model_embedding(m)->file, expect);
        tv_model_free(m);
        tv_free(path);
    }
    tv_model_free(plain);
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

/* At the root, and with "./" names as `tar -C dir .` writes them. */
static void archive_root_folder_reads_like_the_plain_folder(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    tv_model *plain = model_open_or_fail(fixture, NULL);
    const char *prefixes[] = {"", "./"};
    for (size_t p = 0; p < 2; p++) {
        struct folder f;
        folder_load(&f, fixture, prefixes[p]);
        char *path = path_in(dir, p ? "dot.tar.gz" : "root.zip");
        write_archive(path, p ? TAR_GZ : ZIP_DEFLATED, f.specs, f.n);
        tv_model *m = model_open_or_fail(path, NULL);
        assert_same_model(plain, m);
        tv_model_free(m);
        tv_free(path);
        folder_release(&f);
    }
    tv_model_free(plain);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

static void archive_with_two_model_folders_names_both(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t len;
    uint8_t *gguf = read_file_or_fail(real_fixture("gguf/weights/stories260K.gguf"), &len);
    const struct spec specs[] = {
        {.name = "first/model.gguf", .data = gguf, .len = len},
        {.name = "second/model.gguf", .data = gguf, .len = len},
        {.name = "README.md", .data = (const uint8_t *)"hi\n", .len = 3},
    };
    char *path = path_in(dir, "two.tar");
    write_archive(path, TAR, specs, 3);
    tv_error err = open_fails(path, NULL);
    assert_int_equal(err.code, TV_ERR_USAGE);
    assert_contains(err.message, "2 folders hold a model");
    assert_contains(err.message, "first/");
    assert_contains(err.message, "second/");
    /* Naming one reads it, and it equals the plain GGUF. */
    char member[4200];
    snprintf(member, sizeof member, "%s:second/", path);
    tv_model *m = model_open_or_fail(member, NULL);
    tv_model *plain = model_open_or_fail(real_fixture("gguf/weights/stories260K.gguf"), NULL);
    assert_int_equal(tv_model_tensor_count(m), tv_model_tensor_count(plain));
    assert_int_equal(tv_vocab_size(m), 512);
    tv_model_free(plain);
    tv_model_free(m);
    tv_free(path);
    tv_free(gguf);
    remove_tree(dir);
    tv_free(dir);
}

/* A folder deeper than the top level is named with the member syntax. */
static void archive_nested_folder_is_read_through_the_member_syntax(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "models/gpt2/tiny/");
    char *path = path_in(dir, "nested.zip");
    write_archive(path, ZIP_STORED, f.specs, f.n);
    tv_error err = open_fails(path, NULL);
    assert_int_equal(err.code, TV_ERR_NOTFOUND);
    assert_contains(err.message, "no model folder in the archive");
    assert_contains(err.message, "ARCHIVE:MEMBER");
    tv_model *plain = model_open_or_fail(fixture, NULL);
    const char *forms[] = {"models/gpt2/tiny", "models/gpt2/tiny/", "./models//gpt2/tiny/"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(forms); i++) {
        char member[4200];
        snprintf(member, sizeof member, "%s:%s", path, forms[i]);
        tv_model *m = model_open_or_fail(member, NULL);
        assert_same_model(plain, m);
        assert_string_equal(tv_model_path(m), member);
        tv_model_free(m);
    }
    tv_model_free(plain);
    folder_release(&f);
    tv_free(path);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

/* ---- the member syntax ----------------------------------------------------------------------- */

static void member_syntax_reads_one_file_like_the_plain_file(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny/");
    static const enum kind kinds[] = {TAR, TAR_GZ, ZIP_STORED, ZIP_DEFLATED};
    static const char *const files[] = {"model.safetensors", "tokenizer.json", "vocab.json"};
    for (size_t k = 0; k < TV_ARRAY_SIZE(kinds); k++) {
        char name[64];
        snprintf(name, sizeof name, "m%zu%s", k, kind_suffix(kinds[k]));
        char *path = path_in(dir, name);
        write_archive(path, kinds[k], f.specs, f.n);
        for (size_t i = 0; i < TV_ARRAY_SIZE(files); i++) {
            char member[4200];
            snprintf(member, sizeof member, "%s:tiny/%s", path, files[i]);
            char *plain_path = path_in(fixture, files[i]);
            tv_model *plain = model_open_or_fail(plain_path, NULL);
            tv_model *m = model_open_or_fail(member, NULL);
            assert_same_model(plain, m);
            assert_string_equal(tv_model_kind(m), tv_model_kind(plain));
            tv_model_free(m);
            tv_model_free(plain);
            tv_free(plain_path);
        }
        char member[4200];
        snprintf(member, sizeof member, "%s:tiny/missing.json", path);
        tv_error err = open_fails(member, NULL);
        assert_int_equal(err.code, TV_ERR_NOTFOUND);
        assert_contains(err.message, "no member 'tiny/missing.json'");
        snprintf(member, sizeof member, "%s:../tiny/config.json", path);
        err = open_fails(member, NULL);
        assert_contains(err.message, "not a name inside the archive");
        tv_free(path);
    }
    /* A file that is not an archive cannot have members. */
    char member[4200];
    snprintf(member, sizeof member, "%s/config.json:x", fixture);
    tv_error err = open_fails(member, NULL);
    assert_contains(err.message, "not an archive");
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

/* An empty member is a blob of no bytes: every probe looks at it (pointer arithmetic on its
   data included; the fuzzer found a NULL there) and the message says it holds nothing. */
static void empty_member_is_refused_by_every_probe(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    static const enum kind kinds[] = {TAR, ZIP_STORED};
    const struct spec specs[] = {{.name = "empty.json", .data = NULL, .len = 0}};
    for (size_t k = 0; k < TV_ARRAY_SIZE(kinds); k++) {
        char name[64];
        snprintf(name, sizeof name, "e%zu%s", k, kind_suffix(kinds[k]));
        char *path = path_in(dir, name);
        write_archive(path, kinds[k], specs, 1);
        char member[4200];
        snprintf(member, sizeof member, "%s:empty.json", path);
        tv_error err = open_fails(member, NULL);
        assert_contains(err.message, "empty.json");
        assert_contains(err.message, "0 bytes");
        tv_free(path);
    }
    remove_tree(dir);
    tv_free(dir);
}

/* A sharded checkpoint inside an archive: the index reads its shards from the archive,
   whether the folder or the index itself is named. */
static void archive_sharded_folder_reads_its_shards_from_the_archive(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    char *sharded = path_in(dir, "sharded");
    tv_model *plain = model_open_or_fail(fixture, NULL);
    struct tv_write_options wo;
    tv_write_options_init(&wo);
    wo.format = "folder";
    wo.max_shard_size = 1500000;
    tv_error err = {0};
    if (tv_model_write(plain, sharded, &wo, &err) < 0)
        fail_msg("%s", err.message);
    tv_model *plain_sharded = model_open_or_fail(sharded, NULL);
    assert_true(tv_model_file_count(plain_sharded) > 3);
    struct folder f;
    folder_load(&f, sharded, "s/");
    char *path = path_in(dir, "sharded.tar.gz");
    write_archive(path, TAR_GZ, f.specs, f.n);
    tv_model *m = model_open_or_fail(path, NULL);
    assert_same_model(plain_sharded, m);
    tv_model_free(m);
    char member[4200];
    snprintf(member, sizeof member, "%s:s/model.safetensors.index.json", path);
    m = model_open_or_fail(member, NULL);
    char *index = path_in(sharded, "model.safetensors.index.json");
    tv_model *plain_index = model_open_or_fail(index, NULL);
    assert_same_model(plain_index, m);
    tv_model_free(plain_index);
    tv_model_free(m);
    tv_free(index);
    tv_model_free(plain_sharded);
    tv_model_free(plain);
    folder_release(&f);
    tv_free(path);
    tv_free(sharded);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

/* ---- how members are held ------------------------------------------------------------------------ */

static void stored_members_are_views_and_compressed_ones_copies(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny/");
    const struct spec *st = folder_find(&f, "model.safetensors");
    static const struct {
        enum kind kind;
        enum tv_blob_kind expect;
    } cases[] = {
        {TAR, TV_BLOB_VIEW}, {ZIP_STORED, TV_BLOB_VIEW},
        {TAR_GZ, TV_BLOB_HEAP}, {ZIP_DEFLATED, TV_BLOB_HEAP},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        char name[64];
        snprintf(name, sizeof name, "v%zu%s", i, kind_suffix(cases[i].kind));
        char *path = path_in(dir, name);
        write_archive(path, cases[i].kind, f.specs, f.n);
        tv_error err = {0};
        tv_blob *file = tv_blob_map_file(path, path, &err);
        assert_non_null(file);
        struct tv_unpack_limits lim;
        tv_unpack_limits_init(&lim, NULL);
        tv_archive *ar = tv_archive_open(file, &lim, &err);
        if (!ar)
            fail_msg("%s", err.message);
        assert_int_equal(tv_archive_member_count(ar), f.n);
        /* Out of order on purpose: a pass is restarted for the earlier member. */
        tv_blob *b = tv_archive_read(ar, "tiny/model.safetensors", &err);
        tv_blob *cfg = tv_archive_read(ar, "tiny/config.json", &err);
        assert_non_null(b);
        assert_non_null(cfg);
        assert_int_equal(b->kind, cases[i].expect);
        if (cases[i].expect == TV_BLOB_VIEW)
            assert_true(b->data >= file->data && b->data + b->len <= file->data + file->len);
        assert_int_equal(b->len, st->len);
        assert_memory_equal(b->data, st->data, st->len);
        const struct spec *cs = folder_find(&f, "config.json");
        assert_int_equal(cfg->len, cs->len);
        assert_memory_equal(cfg->data, cs->data, cs->len);
        char expect[4200];
        snprintf(expect, sizeof expect, "%s:tiny/model.safetensors", path);
        assert_string_equal(b->name, expect);
        tv_archive_free(ar);
        tv_blob_unref(file);
        /* The view keeps the mapping alive after the archive and file are gone. */
        assert_memory_equal(b->data + b->len - 16, st->data + st->len - 16, 16);
        tv_blob_unref(b);
        tv_blob_unref(cfg);
        tv_free(path);
    }
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

/* Members the layout does not ask for are never read: a damaged one does not matter. */
static void unused_damaged_member_is_never_read(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t len;
    uint8_t *gguf = read_file_or_fail(real_fixture("gguf/weights/stories260K.gguf"), &len);
    uint8_t junk[200000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + (i >> 5));
    const struct spec specs[] = {
        {.name = "m/notes.txt", .data = junk, .len = sizeof junk},
        {.name = "m/stories260K.gguf", .data = gguf, .len = len},
    };
    char *path = path_in(dir, "lazy.zip");
    write_archive(path, ZIP_DEFLATED, specs, 2);
    size_t zlen;
    uint8_t *zip = read_file_or_fail(path, &zlen);
    /* Corrupt notes.txt's deflate data. */
    size_t at = zip_data_offset(zip, zlen, "m/notes.txt");
    assert_true(at > 0);
    for (size_t i = 0; i < 64; i++)
        zip[at + 200 + i] ^= 0x5a;
    write_bytes(path, zip, zlen);
    tv_model *m = model_open_or_fail(path, NULL);
    assert_int_equal(tv_vocab_size(m), 512);
    tv_model_free(m);
    char member[4200];
    snprintf(member, sizeof member, "%s:m/notes.txt", path);
    tv_error err = open_fails(member, NULL);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_contains(err.message, "member 'm/notes.txt'");
    tv_free(zip);
    tv_free(gguf);
    tv_free(path);
    remove_tree(dir);
    tv_free(dir);
}

/* tv_model_read_memory takes what tv_model_open takes: an archive in a buffer too. */
static void memory_buffers_may_hold_archives_and_gz(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t len, gz_len, tar_len;
    uint8_t *gguf = read_file_or_fail(real_fixture("gguf/weights/stories260K.gguf"), &len);
    const struct spec specs[] = {{.name = "m/stories260K.gguf", .data = gguf, .len = len}};
    char *path = path_in(dir, "m.tar.gz");
    write_archive(path, TAR_GZ, specs, 1);
    uint8_t *tar = read_file_or_fail(path, &tar_len);
    uint8_t *gz = gzip_bytes(gguf, len, 0, &gz_len);
    tv_model *plain = tv_model_read_memory(gguf, len, "plain.gguf", NULL, NULL);
    assert_non_null(plain);
    tv_error err = {0};
    tv_model *a = tv_model_read_memory(tar, tar_len, "buffer.tar.gz", NULL, &err);
    tv_model *b = tv_model_read_memory(gz, gz_len, "buffer.gguf.gz", NULL, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(tv_model_tensor_count(a), tv_model_tensor_count(plain));
    assert_int_equal(tv_model_tensor_count(b), tv_model_tensor_count(plain));
    const struct tv_tensor *e = tv_model_embedding(plain);
    assert_memory_equal(tv_model_embedding(a)->data, e->data, e->n_bytes);
    assert_memory_equal(tv_model_embedding(b)->data, e->data, e->n_bytes);
    assert_string_equal(tv_model_embedding(a)->file, "buffer.tar.gz:m/stories260K.gguf");
    tv_model_free(a);
    tv_model_free(b);
    tv_model_free(plain);
    tv_free(gz);
    tv_free(tar);
    tv_free(gguf);
    tv_free(path);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- .gz files ------------------------------------------------------------------------------------ */

static void gz_files_read_like_the_plain_files(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    static const char *const fixtures[] = {"gguf/weights/stories260K.gguf",
                                           "tokenizers/gpt2/tokenizer.json",
                                           "wordvec/gensim-lee_fasttext.vec",
                                           "tokenizers/bert-base-uncased/vocab.txt"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(fixtures); i++) {
        char *plain_path = tv_strdup(real_fixture(fixtures[i]));
        size_t len;
        uint8_t *buf = read_file_or_fail(plain_path, &len);
        tv_model *plain = model_open_or_fail(plain_path, NULL);
        const char *base = strrchr(fixtures[i], '/') + 1;
        /* One member; three members; one member and tape padding. */
        for (int form = 0; form < 3; form++) {
            size_t gz_len;
            uint8_t *gz = gzip_bytes(buf, len, form == 1 ? len / 3 + 1 : 0, &gz_len);
            if (form == 2) {
                gz = tv_realloc(gz, gz_len + 512);
                memset(gz + gz_len, 0, 512);
                gz_len += 512;
            }
            char name[256];
            snprintf(name, sizeof name, "%d-%s.gz", form, base);
            char *path = path_in(dir, name);
            write_bytes(path, gz, gz_len);
            tv_model *m = model_open_or_fail(path, NULL);
            assert_string_equal(tv_model_kind(m), tv_model_kind(plain));
            assert_string_equal(tv_model_file(m, 0), name);
            assert_int_equal(tv_model_file_count(m), 1);
            /* Same model apart from the file name. */
            assert_int_equal(tv_vocab_size(m), tv_vocab_size(plain));
            for (uint32_t id = 0; id < tv_vocab_size(m); id++) {
                const struct tv_token *x = tv_vocab_token(m, id), *y = tv_vocab_token(plain, id);
                assert_int_equal(x->len, y->len);
                if (x->text)
                    assert_memory_equal(x->text, y->text, x->len);
            }
            assert_int_equal(tv_vocab_merge_count(m), tv_vocab_merge_count(plain));
            assert_int_equal(tv_model_tensor_count(m), tv_model_tensor_count(plain));
            for (size_t t = 0; t < tv_model_tensor_count(m); t++) {
                const struct tv_tensor *x = tv_model_tensor(m, t), *y = tv_model_tensor(plain, t);
                assert_string_equal(x->name, y->name);
                assert_int_equal(x->n_bytes, y->n_bytes);
                assert_memory_equal(x->data, y->data, x->n_bytes);
            }
            tv_model_free(m);
            tv_free(path);
            tv_free(gz);
        }
        tv_model_free(plain);
        tv_free(buf);
        tv_free(plain_path);
    }
    remove_tree(dir);
    tv_free(dir);
}

static void gz_damage_is_an_error_naming_the_file(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t len, gz_len;
    uint8_t *buf = read_file_or_fail(real_fixture("tokenizers/gpt2/tokenizer.json"), &len);
    uint8_t *gz = gzip_bytes(buf, len, 0, &gz_len);
    char *path = path_in(dir, "tokenizer.json.gz");
    /* Truncated at many offsets. */
    size_t cuts[] = {10, 11, 20, 100, 4096, gz_len / 2, gz_len - 9, gz_len - 4, gz_len - 1};
    for (size_t i = 0; i < TV_ARRAY_SIZE(cuts); i++) {
        write_bytes(path, gz, cuts[i]);
        tv_error err = open_fails(path, NULL);
        assert_contains(err.message, "tokenizer.json.gz");
    }
    /* Corrupted deflate data: a bad stream or a failed CRC, never a crash. */
    uint8_t *bad = tv_malloc(gz_len);
    memcpy(bad, gz, gz_len);
    for (size_t i = 0; i < 32; i++)
        bad[gz_len / 2 + i] ^= 0xa5;
    write_bytes(path, bad, gz_len);
    tv_error err = open_fails(path, NULL);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_contains(err.message, "tokenizer.json.gz: damaged gzip data");
    /* Something after the last member that is not another member. */
    memcpy(bad, gz, gz_len);
    bad = tv_realloc(bad, gz_len + 4);
    memcpy(bad + gz_len, "junk", 4);
    write_bytes(path, bad, gz_len + 4);
    err = open_fails(path, NULL);
    assert_contains(err.message, "are not another gzip member");
    tv_free(bad);
    tv_free(gz);
    tv_free(buf);
    tv_free(path);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- hostile archives ------------------------------------------------------------------------------ */

static void hostile_members_are_refused_by_name(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t tok_len, cfg_len;
    uint8_t *tok = read_file_or_fail(real_fixture("tokenizers/gpt2/tokenizer.json"), &tok_len);
    uint8_t *cfg = read_file_or_fail(real_fixture(GPT2_FOLDER "/config.json"), &cfg_len);
    const struct spec good_tok = {.name = "m/tokenizer.json", .data = tok, .len = tok_len};
    static const struct {
        const char *what;
        struct spec hostile;
        const char *member;   /* expected in the message */
        const char *reason;
    } cases[] = {
        {"parent", {.name = "m/../../m/config.json"}, "m/../../m/config.json", "leaves the archive"},
        {"parent2", {.name = "../m/config.json"}, "../m/config.json", "leaves the archive"},
        {"absolute", {.name = "/m/config.json"}, "/m/config.json", "absolute"},
        {"symlink", {.name = "m/config.json", .type = AE_IFLNK, .link = "/etc/passwd"},
         "m/config.json", "symbolic link to '/etc/passwd'"},
        {"hardlink", {.name = "m/config.json", .hardlink = true, .link = "m/tokenizer.json"},
         "m/config.json", "hard link"},
        {"device", {.name = "m/config.json", .type = AE_IFCHR}, "m/config.json", "device"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        for (int zip = 0; zip < 2; zip++) {
            if (zip && (cases[i].hostile.type == AE_IFCHR || cases[i].hostile.hardlink))
                continue; /* zip has no device or hard-link entries */
            struct spec specs[2] = {good_tok, cases[i].hostile};
            if (!specs[1].type && !specs[1].hardlink) {
                specs[1].data = cfg;
                specs[1].len = cfg_len;
            }
            char name[64];
            snprintf(name, sizeof name, "%s%s", cases[i].what, zip ? ".zip" : ".tar");
            char *path = path_in(dir, name);
            write_archive(path, zip ? ZIP_DEFLATED : TAR, specs, 2);
            tv_error err = open_fails(path, NULL);
            char member[256];
            snprintf(member, sizeof member, "member '%s' is refused", cases[i].member);
            assert_contains(err.message, member);
            assert_contains(err.message, cases[i].reason);
            tv_free(path);
        }
    }
    /* The same name twice: which one is meant is a guess we do not make. */
    const struct spec twice[] = {good_tok,
                                 {.name = "m/config.json", .data = cfg, .len = cfg_len},
                                 {.name = "m/./config.json", .data = cfg, .len = cfg_len}};
    char *path = path_in(dir, "twice.tar");
    write_archive(path, TAR, twice, 3);
    tv_error err = open_fails(path, NULL);
    assert_contains(err.message, "member 'm/config.json' is stored 2 times");
    tv_free(path);
    tv_free(tok);
    tv_free(cfg);
    remove_tree(dir);
    tv_free(dir);
}

static void bombs_stop_at_the_caps(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    const size_t big = 16u << 20;
    uint8_t *zeros = tv_calloc(1, big);
    assert_non_null(zeros);
    struct tv_open_options small = {.max_member_bytes = 1u << 20};

    /* A .gz whose content is 16 MiB of zeros, with a 1 MiB cap on one file. */
    char *gz = path_in(dir, "bomb.safetensors.gz");
    write_zero_gz(gz, big);
    tv_error err = open_fails(gz, &small);
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_contains(err.message, "bomb.safetensors.gz: expands past 1048576 bytes");
    assert_contains(err.message, "max_member_bytes");

    /* 80 MiB of zeros in 80 kB: the ratio cap (200:1, from 64 MiB on) with defaults. */
    char *ratio = path_in(dir, "ratio.gz");
    write_zero_gz(ratio, 80u << 20);
    err = open_fails(ratio, NULL);
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_contains(err.message, "ratio.gz: expands past 67108864 bytes");
    assert_contains(err.message, "--max-expand-ratio");

    /* A zip member that says it is 16 MiB: refused before anything is allocated. */
    const struct spec zip_specs[] = {{.name = "m/model.safetensors", .data = zeros, .len = big}};
    char *zip = path_in(dir, "bomb.zip");
    write_archive(zip, ZIP_DEFLATED, zip_specs, 1);
    err = open_fails(zip, &small);
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_contains(err.message, "member 'm/model.safetensors' is 16777216 bytes");
    assert_contains(err.message, "cap of 1048576 bytes");

    /* A tar.gz that expands past the total cap while it is listed, before the model. */
    size_t len;
    uint8_t *gguf = read_file_or_fail(real_fixture("gguf/weights/stories260K.gguf"), &len);
    const struct spec tar_specs[] = {{.name = "m/padding.bin", .data = zeros, .len = big},
                                     {.name = "m/stories260K.gguf", .data = gguf, .len = len}};
    char *tgz = path_in(dir, "bomb.tar.gz");
    write_archive(tgz, TAR_GZ, tar_specs, 2);
    struct tv_open_options total = {.max_unpacked_bytes = 4u << 20};
    err = open_fails(tgz, &total);
    assert_int_equal(err.code, TV_ERR_LIMIT);
    assert_contains(err.message, "member 'm/padding.bin'");
    assert_contains(err.message, "max_unpacked_bytes");
    /* With the defaults the same archive is fine. */
    tv_model *m = model_open_or_fail(tgz, NULL);
    assert_int_equal(tv_vocab_size(m), 512);
    tv_model_free(m);

    tv_free(gguf);
    tv_free(tgz);
    tv_free(zip);
    tv_free(ratio);
    tv_free(gz);
    tv_free(zeros);
    remove_tree(dir);
    tv_free(dir);
}

static void truncated_archives_are_errors_naming_a_member(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny/");
    static const enum kind kinds[] = {TAR, TAR_GZ, ZIP_STORED, ZIP_DEFLATED};
    for (size_t k = 0; k < TV_ARRAY_SIZE(kinds); k++) {
        char name[64];
        snprintf(name, sizeof name, "whole%s", kind_suffix(kinds[k]));
        char *whole = path_in(dir, name);
        write_archive(whole, kinds[k], f.specs, f.n);
        size_t len;
        uint8_t *buf = read_file_or_fail(whole, &len);
        char *cut_path = path_in(dir, kinds[k] == TAR ? "cut.tar" : kinds[k] == TAR_GZ
                                                                     ? "cut.tar.gz" : "cut.zip");
        /* A plain tar ends with zero blocks that only pad: cut before them. */
        size_t end = kinds[k] == TAR ? len - 10240 : len;
        size_t cuts[] = {600, 5000, 100000, end / 4, end / 3, end / 2, end * 3 / 4, end - 1000,
                         end - 100};
        for (size_t i = 0; i < TV_ARRAY_SIZE(cuts); i++) {
            write_bytes(cut_path, buf, cuts[i]);
            tv_error err = {0};
            tv_model *m = tv_model_open(cut_path, NULL, &err);
            if (m)
                fail_msg("%s cut at %zu of %zu: opened", kind_name(kinds[k]), cuts[i], len);
            if (!strstr(err.message, "member") || !strstr(err.message, cut_path))
                fail_msg("%s cut at %zu: %s", kind_name(kinds[k]), cuts[i], err.message);
        }
        tv_free(cut_path);
        tv_free(buf);
        tv_free(whole);
    }
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

static void corrupted_deflate_data_is_an_error_naming_the_member(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny/");
    char *path = path_in(dir, "bad.zip");
    write_archive(path, ZIP_DEFLATED, f.specs, f.n);
    size_t len;
    uint8_t *buf = read_file_or_fail(path, &len);
    /* Damage tokenizer.json's deflate data 1000 bytes in. */
    size_t at = zip_data_offset(buf, len, "tiny/tokenizer.json");
    assert_true(at > 0);
    for (size_t i = 0; i < 64; i++)
        buf[at + 1000 + i] ^= 0x3c;
    write_bytes(path, buf, len);
    tv_error err = open_fails(path, NULL);
    assert_int_equal(err.code, TV_ERR_DATA);
    assert_contains(err.message, "member 'tiny/tokenizer.json'");
    tv_free(buf);
    tv_free(path);
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

static void archives_survive_every_allocation_failure(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    size_t len, gz_len, vec_len;
    /* Small models keep the loop short: every allocation of a whole open fails once. */
    uint8_t *gguf = read_file_or_fail(real_fixture("gguf/weights/stories260K.gguf"), &len);
    uint8_t *vec = read_file_or_fail(real_fixture("wordvec/gensim-toy-model.vec"), &vec_len);
    const struct spec specs[] = {{.name = "m/stories260K.gguf", .data = gguf, .len = len}};
    const struct spec vec_specs[] = {{.name = "toy.vec", .data = vec, .len = vec_len}};
    char *paths[3] = {path_in(dir, "a.tar.gz"), path_in(dir, "a.zip"), path_in(dir, "a.vec.gz")};
    write_archive(paths[0], TAR_GZ, vec_specs, 1);
    write_archive(paths[1], ZIP_STORED, specs, 1);
    uint8_t *gz = gzip_bytes(vec, vec_len, 0, &gz_len);
    write_bytes(paths[2], gz, gz_len);
    for (size_t p = 0; p < 3; p++) {
        struct failalloc_input in = {.path = paths[p]};
        struct failalloc_sweep s = failalloc_sweep(20000, failalloc_read_model, &in);
        if (!s.succeeded && s.err.code != TV_ERR_NOMEM)
            fail_msg("%s, allocation %ld: %s", paths[p], s.n, s.err.message);
        assert_true(s.succeeded);
        assert_true(s.n >= 20); /* the open allocates: the loop did fail it */
    }
    for (size_t p = 0; p < 3; p++)
        tv_free(paths[p]);
    tv_free(gz);
    tv_free(vec);
    tv_free(gguf);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- recognising containers ------------------------------------------------------------------------ */

static void containers_are_recognised_by_their_bytes(void **state)
{
    (void)state;
    uint8_t tar[512] = {0};
    memcpy(tar, "x/config.json", 13);
    memcpy(tar + 257, "ustar\0" "00", 8);
    memset(tar + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += tar[i];
    snprintf((char *)tar + 148, 8, "%06o", sum);
    assert_int_equal(tv_container_sniff(tar, 512), TV_CONTAINER_TAR);
    tar[0] ^= 1; /* the checksum no longer matches */
    assert_int_equal(tv_container_sniff(tar, 512), TV_CONTAINER_NONE);
    static const struct {
        const char *bytes;
        size_t len;
        enum tv_container expect;
    } cases[] = {
        {"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10, TV_CONTAINER_GZIP},
        /* a safetensors file whose header length starts 1f 8b 08: '{' at byte 8 */
        {"\x1f\x8b\x08\x00\x00\x00\x00\x00{\"", 10, TV_CONTAINER_NONE},
        {"\x28\xb5\x2f\xfd\x00\x00", 6, TV_CONTAINER_COMPRESSED},
        {"\xfd" "7zXZ\x00\x00", 7, TV_CONTAINER_COMPRESSED},
        {"BZh91AY&SY", 10, TV_CONTAINER_COMPRESSED},
        {"BZh9 hello", 10, TV_CONTAINER_NONE},
        {"PK\x03\x04\x14\x00", 6, TV_CONTAINER_ZIP},
        {"PK\x05\x06\x00\x00", 6, TV_CONTAINER_ZIP},
        {"GGUF\x03\x00\x00\x00", 8, TV_CONTAINER_NONE},
        {"", 0, TV_CONTAINER_NONE},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++)
        assert_int_equal(tv_container_sniff((const uint8_t *)cases[i].bytes, cases[i].len),
                         cases[i].expect);
}

/* ---- gzip output -------------------------------------------------------------------------------- */

static void gzip_output_reads_back_and_counts_uncompressed_bytes(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    char *path = path_in(dir, "out.txt.gz");
    size_t len;
    uint8_t *text = read_file_or_fail(real_fixture("wordvec/gensim-lee_fasttext.vec"), &len);
    tv_error err = {0};
    tv_out *out = tv_out_open_gzip(path, false, &err);
    assert_non_null(out);
    size_t third = len / 3;
    assert_int_equal(tv_out_write(out, text, third, &err), 0);
    assert_int_equal(tv_out_write(out, text + third, 0, &err), 0);
    assert_int_equal(tv_out_write(out, text + third, len - third, &err), 0);
    assert_int_equal(tv_out_tell(out), len);
    assert_int_equal(tv_out_commit(out, &err), 0);
    tv_blob *file = tv_blob_map_file(path, "out.txt.gz", &err);
    assert_non_null(file);
    assert_true(tv_gzip_magic(file->data, file->len));
    assert_true(file->len < len);
    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, NULL);
    tv_blob *back = tv_gzip_inflate(file, "out.txt.gz", &lim, &err);
    assert_non_null(back);
    assert_int_equal(back->len, len);
    assert_memory_equal(back->data, text, len);
    tv_blob_unref(back);
    tv_blob_unref(file);
    /* And the model reads it like the plain file. */
    tv_model *m = model_open_or_fail(path, NULL);
    tv_model *plain = model_open_or_fail(real_fixture("wordvec/gensim-lee_fasttext.vec"), NULL);
    assert_int_equal(tv_vocab_size(m), tv_vocab_size(plain));
    tv_model_free(plain);
    tv_model_free(m);
    /* An aborted gzip output leaves nothing. */
    char *other = path_in(dir, "aborted.gz");
    out = tv_out_open_gzip(other, false, &err);
    assert_non_null(out);
    assert_int_equal(tv_out_write(out, text, len, &err), 0);
    tv_out_abort(out);
    assert_int_equal(tv_path_kind(other), -1);
    tv_free(other);
    tv_free(text);
    tv_free(path);
    remove_tree(dir);
    tv_free(dir);
}

/* ---- the CLI ------------------------------------------------------------------------------------- */

static void cli_inspects_archives_members_and_gz(void **state)
{
    (void)state;
    char *fixture = tv_strdup(real_fixture(GPT2_FOLDER));
    char *dir = make_temp_dir();
    struct folder f;
    folder_load(&f, fixture, "tiny/");
    char *path = path_in(dir, "model.tar.gz");
    write_archive(path, TAR_GZ, f.specs, f.n);
    char *out = NULL, *errout = NULL;
    int rc = run_cli(&out, &errout, "inspect", path, NULL);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, errout);
    assert_contains(out, "Hugging Face folder");
    assert_contains(out, "50257 tokens");
    assert_contains(out, "transformer.wte.weight  50257 x 16");
    tv_free(out);
    tv_free(errout);

    char member[4200];
    snprintf(member, sizeof member, "%s:tiny/model.safetensors", path);
    rc = run_cli(&out, &errout, "inspect", "--json", member, NULL);
    assert_int_equal(rc, 0);
    assert_contains(out, "\"transformer.wte.weight\"");
    tv_free(out);
    tv_free(errout);

    char *bomb = path_in(dir, "bomb.gz");
    write_zero_gz(bomb, 4u << 20);
    rc = run_cli(&out, &errout, "inspect", "--max-member-bytes", "1000000", bomb, NULL);
    assert_int_equal(rc, 1);
    assert_contains(errout, "bomb.gz: expands past 1000000 bytes");
    tv_free(out);
    tv_free(errout);
    rc = run_cli(&out, &errout, "inspect", "--max-member-bytes", "lots", bomb, NULL);
    assert_int_equal(rc, 2);
    tv_free(out);
    tv_free(errout);

    tv_free(bomb);
    tv_free(path);
    folder_release(&f);
    remove_tree(dir);
    tv_free(dir);
    tv_free(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(archive_folder_reads_like_the_plain_folder),
        cmocka_unit_test(archive_root_folder_reads_like_the_plain_folder),
        cmocka_unit_test(archive_with_two_model_folders_names_both),
        cmocka_unit_test(archive_nested_folder_is_read_through_the_member_syntax),
        cmocka_unit_test(member_syntax_reads_one_file_like_the_plain_file),
        cmocka_unit_test(empty_member_is_refused_by_every_probe),
        cmocka_unit_test(archive_sharded_folder_reads_its_shards_from_the_archive),
        cmocka_unit_test(stored_members_are_views_and_compressed_ones_copies),
        cmocka_unit_test(unused_damaged_member_is_never_read),
        cmocka_unit_test(memory_buffers_may_hold_archives_and_gz),
        cmocka_unit_test(gz_files_read_like_the_plain_files),
        cmocka_unit_test(gz_damage_is_an_error_naming_the_file),
        cmocka_unit_test(hostile_members_are_refused_by_name),
        cmocka_unit_test(bombs_stop_at_the_caps),
        cmocka_unit_test(truncated_archives_are_errors_naming_a_member),
        cmocka_unit_test(corrupted_deflate_data_is_an_error_naming_the_member),
        cmocka_unit_test(archives_survive_every_allocation_failure),
        cmocka_unit_test(containers_are_recognised_by_their_bytes),
        cmocka_unit_test(gzip_output_reads_back_and_counts_uncompressed_bytes),
        cmocka_unit_test(cli_inspects_archives_members_and_gz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
