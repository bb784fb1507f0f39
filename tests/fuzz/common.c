/* What every fuzz target shares: reading with one format, walking the model, bundles
   of several files and a directory source over them. See fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sources.h"
#include "tokvec/tokenizer.h"
#include "tokvec/verify.h"

/* Visits at most this many tokens, merges, tensors and keys of one model. */
#define WALK_MAX 4096
/* Rows wider than this are not converted (a row is converted into a stack-free
   buffer of this many floats). */
#define WALK_MAX_ROW (1u << 16)

/* Keeps the compiler from dropping reads whose only purpose is to be checked by
   AddressSanitizer. */
static volatile unsigned fuzz_sink;

static void touch(const void *p, size_t n)
{
    if (!p || !n)
        return;
    const unsigned char *b = p;
    fuzz_sink += b[0] + b[n - 1];
}

static void touch_str(const char *s)
{
    if (s)
        fuzz_sink += (unsigned)strlen(s);
}

void fuzz_options(struct tv_open_options *opt)
{
    memset(opt, 0, sizeof *opt);
    /* Text formats cost about 32 bytes of memory per line (a vocab.txt token is a
       24-byte struct plus its string), and AddressSanitizer keeps up to 256 MB of freed
       memory in quarantine: 2 MiB of decompressed lines (64 MB of tokens) stays under
       libFuzzer's -rss_limit_mb of 512. 64 MiB did not (a 16 KiB tar.gz holding 15
       million empty lines peaked at 566 MB), nor did 8 MiB (518 MB after 7 minutes). */
    opt->max_member_bytes = 2u << 20;
    opt->max_unpacked_bytes = 2u << 20;
}

void fuzz_check_error(const tv_error *err, const char *what)
{
    if (err->code == TV_OK || err->message[0] == '\0' ||
        !memchr(err->message, '\0', sizeof err->message)) {
        fprintf(stderr, "fuzz: %s failed without an error code and message (code %d)\n", what,
                err->code);
        abort();
    }
    if (getenv("TOKVEC_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s: %s\n", what, err->message);
}

tv_model *fuzz_read(tv_model *m, const uint8_t *data, size_t size, const struct tv_format *fmt,
                    const char *name)
{
    tv_error err = {0};
    struct tv_open_options opt;
    fuzz_options(&opt);
    if (fmt->probe)
        fuzz_sink += (unsigned)fmt->probe(data, size, name);
    tv_model *own = NULL;
    if (!m && !(m = own = tv_model_new_empty(name, &opt, &err)))
        goto fail;
    tv_blob *blob = tv_blob_copy(data, size, name, &err);
    if (!blob)
        goto fail;
    int rc = tv_model_read_blob(m, blob, name, fmt, &err);
    tv_blob_unref(blob);
    if (rc < 0 || tv_model_pick_embedding(m, &err) < 0)
        goto fail;
    return m;
fail:
    fuzz_check_error(&err, name);
    tv_model_free(own ? own : m);
    return NULL;
}

/* ---- the walk ------------------------------------------------------------------- */

static void walk_vocab(tv_model *m)
{
    size_t n_vocab = tv_vocab_size(m);
    touch_str(tv_vocab_origin(m));
    touch_str(tv_tokenizer_kind_name(tv_vocab_kind(m)));
    for (size_t id = 0; id < n_vocab && id < WALK_MAX; id++) {
        const struct tv_token *t = tv_vocab_token(m, (uint32_t)id);
        if (!t || !t->text)
            continue;
        touch(t->text, (size_t)t->len + 1);
        touch_str(tv_token_type_name(t->type));
        uint32_t found;
        if (tv_vocab_find(m, t->text, t->len, &found) < 0 || found > id) {
            fprintf(stderr, "fuzz: token %zu is not found by its own bytes\n", id);
            abort();
        }
    }
    if (n_vocab) {
        const struct tv_token *last = tv_vocab_token(m, (uint32_t)(n_vocab - 1));
        if (last && last->text)
            touch(last->text, (size_t)last->len + 1);
    }
    if (tv_vocab_token(m, (uint32_t)n_vocab) != NULL)
        abort();
    for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
        int64_t id = tv_vocab_special(m, (enum tv_special)s);
        touch_str(tv_special_name((enum tv_special)s));
        if (id >= 0 && (uint64_t)id < n_vocab)
            (void)tv_vocab_token(m, (uint32_t)id);
    }
    size_t n_merges = tv_vocab_merge_count(m);
    for (size_t i = 0; i < n_merges && i < WALK_MAX; i++) {
        const char *l, *r;
        size_t ll, rl;
        if (tv_vocab_merge(m, i, &l, &ll, &r, &rl) < 0)
            abort();
        touch(l, ll + 1);
        touch(r, rl + 1);
    }
    const struct tv_vocab *v = tv_model_vocab(m);
    for (size_t i = 0; v && i < v->n_added && i < WALK_MAX; i++)
        touch(v->added[i].content, (size_t)v->added[i].len + 1);
    for (size_t k = 1; k < m->n_vocabs; k++)
        fuzz_sink += (unsigned)m->vocabs[k].n_tokens;
}

/* Converts the first elements and the first and last rows of a tensor to float32,
   and the floats back into a few dtypes. */
static void walk_tensor_data(const struct tv_tensor *t)
{
    if (!t->data || !t->n_bytes)
        return;
    touch(t->data, t->n_bytes);
    if (!tv_dtype_can_to_f32(t->dtype))
        return;
    tv_error err = {0};
    const struct tv_dtype_info *info = tv_dtype_info(t->dtype);
    static float floats[1024];
    static uint8_t out[1024 * 8];
    uint64_t n = 4 * (uint64_t)info->block_size;
    if (n > 1024)
        n = info->block_size;
    if (n > t->n_elements)
        n = t->n_elements - t->n_elements % info->block_size;
    if (n && tv_dtype_to_f32(t->dtype, t->data, n, floats, &err) == 0) {
        (void)tv_dtype_from_f32(TV_DTYPE_F16, floats, n, out, &err);
        (void)tv_dtype_from_f32(TV_DTYPE_BF16, floats, n, out, &err);
        if (n % 32 == 0)
            (void)tv_dtype_from_f32(TV_DTYPE_Q8_0, floats, n, out, &err);
        (void)tv_dtype_convert(t->dtype, t->data, TV_DTYPE_F16, out, n, NULL, 0, &err);
    } else if (n) {
        fuzz_check_error(&err, "tv_dtype_to_f32");
    }
    if (t->n_dims != 2 || t->shape[0] == 0 || t->shape[1] == 0 || t->shape[1] > WALK_MAX_ROW)
        return;
    uint64_t rows = t->shape[0] < 2 ? t->shape[0] : 2;
    float *dst = malloc((size_t)(rows * t->shape[1]) * sizeof *dst);
    if (!dst)
        return;
    if (tv_tensor_rows_f32(t, 0, rows, dst, &err) < 0)
        fuzz_check_error(&err, "tv_tensor_rows_f32");
    if (tv_tensor_rows_f32(t, t->shape[0] - 1, 1, dst, &err) < 0)
        fuzz_check_error(&err, "tv_tensor_rows_f32");
    if (tv_tensor_rows_f32(t, t->shape[0], 1, dst, &err) == 0) {
        fprintf(stderr, "fuzz: tv_tensor_rows_f32 converted a row past the end\n");
        abort();
    }
    free(dst);
}

static void walk_tensors(tv_model *m)
{
    size_t n = tv_model_tensor_count(m);
    for (size_t i = 0; i < n && i < WALK_MAX; i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        touch_str(t->name);
        touch_str(t->file);
        touch_str(tv_dtype_name(t->dtype));
        if (t->n_dims > TV_MAX_DIMS)
            abort();
        if (tv_model_tensor_find(m, t->name) != t)
            abort();
        if (i < 64)
            walk_tensor_data(t);
    }
    if (tv_model_tensor(m, n) != NULL)
        abort();
    const struct tv_tensor *e = tv_model_embedding(m);
    if (e) {
        touch_str(e->name);
        walk_tensor_data(e);
    }
    fuzz_sink += (unsigned)tv_model_parameter_count(m);
}

static void walk_value(const struct tv_value *v)
{
    int64_t i;
    double f;
    touch_str(tv_value_type_name(v->type));
    (void)tv_value_int(v, &i);
    (void)tv_value_float(v, &f);
    if (v->type == TV_VALUE_STRING) {
        touch(v->as.str.ptr, v->as.str.len);
    } else if (v->type == TV_VALUE_ARRAY) {
        const struct tv_array *a = &v->as.arr;
        if (a->n == 0)
            return;
        if (a->elem_type == TV_VALUE_STRING) {
            const struct tv_str *s = a->data;
            touch(s[0].ptr, s[0].len);
            touch(s[a->n - 1].ptr, s[a->n - 1].len);
        } else if (a->elem_type == TV_VALUE_ARRAY) {
            const struct tv_value *vals = a->data;
            walk_value(&vals[0]);
            walk_value(&vals[a->n - 1]);
        } else {
            (void)tv_array_int(a, 0, &i);
            (void)tv_array_int(a, a->n - 1, &i);
            (void)tv_array_float(a, a->n - 1, &f);
            if (tv_array_int(a, a->n, &i) == 0)
                abort();
        }
    }
}

static void walk_meta(tv_model *m)
{
    size_t n = tv_model_meta_count(m);
    for (size_t i = 0; i < n && i < WALK_MAX; i++) {
        const struct tv_meta *kv = tv_model_meta(m, i);
        touch_str(kv->key);
        touch_str(kv->file);
        walk_value(&kv->value);
        if (i < 64 && !tv_model_meta_find(m, kv->key))
            abort();
    }
    (void)tv_model_meta_find_origin(m, TV_ORIGIN_TOKENIZER_CONFIG, "bos_token");
    for (size_t i = 0; i < m->n_findings; i++) {
        touch_str(m->findings[i].check);
        touch_str(m->findings[i].message);
    }
}

static void walk_verify(tv_model *m)
{
    tv_error err = {0};
    tv_verify_report *r = tv_verify_run(m, NULL, &err);
    if (!r) {
        fuzz_check_error(&err, "tv_verify_run");
        return;
    }
    for (size_t i = 0; i < tv_verify_check_count(r); i++) {
        const struct tv_check *c = tv_verify_check(r, i);
        touch_str(c->id);
        touch_str(c->message);
        for (size_t k = 0; k < c->n_values; k++)
            if (c->values[k].type == TV_CHECK_STRING)
                touch_str(c->values[k].s);
    }
    fuzz_sink += (unsigned)tv_verify_ok(r);
    char *json = tv_verify_report_json(r, &err);
    char *junit = tv_verify_report_junit(r, &err);
    touch_str(json);
    touch_str(junit);
    tv_verify_string_free(json);
    tv_verify_string_free(junit);
    tv_verify_report_free(r);
}

static const char fuzz_text[] =
    "Hello, world! The quick brown fox... 2024 3.14  tabs\tand\nnewlines "
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 <|endoftext|> <s></s>[CLS] "
    "\xff\xfe broken \xe2\x82";

static void walk_tokenizer(tv_model *m)
{
    tv_error err = {0};
    tv_tokenizer *tok = tv_tokenizer_new(m, &err);
    if (!tok) {
        if (tv_vocab_size(m))
            fuzz_check_error(&err, "tv_tokenizer_new");
        return;
    }
    struct tv_ids ids;
    tv_ids_init(&ids);
    static const unsigned flags[] = {0, TV_ENCODE_ADD_SPECIAL | TV_ENCODE_OFFSETS,
                                     TV_ENCODE_NO_PARSE_SPECIAL};
    size_t n_tok = tv_tokenizer_vocab_size(tok);
    for (size_t f = 0; f < TV_ARRAY_SIZE(flags); f++) {
        if (tv_encode(tok, fuzz_text, sizeof fuzz_text - 1, flags[f], &ids, &err) < 0) {
            fuzz_check_error(&err, "tv_encode");
            continue;
        }
        for (size_t i = 0; i < ids.n; i++) {
            if (ids.ids[i] >= n_tok) {
                fprintf(stderr, "fuzz: tv_encode produced id %u of %zu\n", ids.ids[i], n_tok);
                abort();
            }
            if ((flags[f] & TV_ENCODE_OFFSETS) && (ids.offsets[i].start > ids.offsets[i].end ||
                                ids.offsets[i].end > sizeof fuzz_text - 1)) {
                fprintf(stderr, "fuzz: tv_encode offset [%zu, %zu) outside the text\n",
                        ids.offsets[i].start, ids.offsets[i].end);
                abort();
            }
        }
        char *text = NULL;
        size_t len = 0;
        if (tv_decode(tok, ids.ids, ids.n, f ? TV_DECODE_SKIP_SPECIAL : 0, &text, &len, &err) == 0)
            touch(text, len + 1);
        else
            fuzz_check_error(&err, "tv_decode");
        tv_string_free(text);
    }
    (void)tv_encode(tok, "", 0, 0, &ids, &err);
    char piece[64];
    for (size_t id = 0; id < n_tok && id < 256; id++) {
        size_t len = 0;
        const char *text = tv_token_text(tok, (uint32_t)id, &len);
        if (text)
            touch(text, len);
        (void)tv_token_piece(tok, (uint32_t)id, piece, sizeof piece);
        fuzz_sink += (unsigned)tv_token_is_special(tok, (uint32_t)id);
    }
    if (n_tok) {
        uint32_t some[4] = {0, (uint32_t)(n_tok - 1), (uint32_t)(n_tok / 2), 0};
        char *text = NULL;
        size_t len = 0;
        if (tv_decode(tok, some, 4, 0, &text, &len, &err) == 0)
            touch(text, len + 1);
        tv_string_free(text);
    }
    uint32_t beyond = (uint32_t)n_tok;
    char *text = NULL;
    size_t len = 0;
    if (tv_decode(tok, &beyond, 1, 0, &text, &len, &err) == 0) {
        fprintf(stderr, "fuzz: tv_decode accepted id %u of %zu\n", beyond, n_tok);
        abort();
    }
    tv_string_free(text);
    tv_ids_release(&ids);
    tv_tokenizer_free(tok);
}

void fuzz_walk(tv_model *m)
{
    if (getenv("TOKVEC_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: read %s: %zu tokens, %zu tensors, %zu keys\n", tv_model_kind(m),
                tv_vocab_size(m), tv_model_tensor_count(m), tv_model_meta_count(m));
    touch_str(tv_model_kind(m));
    touch_str(tv_model_path(m));
    for (size_t i = 0; i < tv_model_file_count(m); i++)
        touch_str(tv_model_file(m, i));
    walk_vocab(m);
    walk_tensors(m);
    walk_meta(m);
    walk_verify(m);
    walk_tokenizer(m);
}

/* ---- bundles and their directory source --------------------------------------------- */

static const uint8_t *find(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; n >= k && i <= n - k; i++)
        if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

size_t fuzz_split(const uint8_t *data, size_t size, const char *default_name,
                  struct fuzz_file *files, size_t max)
{
    size_t n = 0, pos = 0;
    if (max == 0)
        return 0;
    if (size < 4 || memcmp(data, "==> ", 4) != 0) {
        snprintf(files[0].name, sizeof files[0].name, "%s", default_name);
        files[0].data = data;
        files[0].len = size;
        return 1;
    }
    while (pos < size && n < max) {
        /* data + pos is at "==> NAME <==\n" */
        const uint8_t *start = data + pos + 4;
        size_t left = size - pos - 4;
        const uint8_t *eol = memchr(start, '\n', left);
        size_t line = eol ? (size_t)(eol - start) : left;
        if (line < 4 || memcmp(start + line - 4, " <==", 4) != 0)
            break;
        size_t name_len = line - 4;
        if (name_len >= sizeof files[n].name || memchr(start, '\0', name_len))
            break;
        memcpy(files[n].name, start, name_len);
        files[n].name[name_len] = '\0';
        const uint8_t *body = eol ? eol + 1 : data + size;
        size_t body_left = (size_t)(data + size - body);
        const uint8_t *next = find(body, body_left, "\n==> ");
        files[n].data = body;
        files[n].len = next ? (size_t)(next - body) : body_left;
        n++;
        if (!next)
            break;
        pos = (size_t)(next + 1 - data);
    }
    return n;
}

struct fuzz_dir {
    struct tv_dir base;
    const struct fuzz_file *files;
    size_t n;
};

static const struct fuzz_file *dir_find(tv_dir *d, const char *name)
{
    struct fuzz_dir *fd = (struct fuzz_dir *)d;
    for (size_t i = 0; i < fd->n; i++)
        if (strcmp(fd->files[i].name, name) == 0)
            return &fd->files[i];
    return NULL;
}

static bool dir_has(tv_dir *d, const char *name)
{
    return dir_find(d, name) != NULL;
}

static int dir_list(tv_dir *d, const char *suffix, char ***names, size_t *count, tv_error *err)
{
    struct fuzz_dir *fd = (struct fuzz_dir *)d;
    char **list = tv_calloc(fd->n ? fd->n : 1, sizeof *list);
    if (!list)
        return tv_error_set(err, TV_ERR_NOMEM, "bundle: out of memory");
    size_t k = strlen(suffix), n = 0;
    for (size_t i = 0; i < fd->n; i++) {
        const char *name = fd->files[i].name;
        size_t len = strlen(name);
        if (len < k || strcmp(name + len - k, suffix) != 0 || strchr(name, '/'))
            continue;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen |= strcmp(list[j], name) == 0;
        if (seen)
            continue;
        if (!(list[n] = tv_strdup(name))) {
            tv_dir_list_free(list, n);
            return tv_error_set(err, TV_ERR_NOMEM, "bundle: out of memory");
        }
        n++;
    }
    *names = list;
    *count = n;
    return 0;
}

static tv_blob *dir_open(tv_dir *d, const char *name, tv_error *err)
{
    const struct fuzz_file *f = dir_find(d, name);
    if (!f) {
        tv_error_set(err, TV_ERR_NOTFOUND, "bundle/%s: no such file", name);
        return NULL;
    }
    char display[160];
    snprintf(display, sizeof display, "bundle/%s", name);
    return tv_blob_copy(f->data, f->len, display, err);
}

static void dir_release(tv_dir *d)
{
    (void)d;
}

static const struct tv_dir_ops fuzz_dir_ops = {
    .has = dir_has, .list = dir_list, .open = dir_open, .release = dir_release};

tv_dir *fuzz_dir_new(const struct fuzz_file *files, size_t n)
{
    struct fuzz_dir *fd = tv_calloc(1, sizeof *fd);
    if (!fd)
        return NULL;
    fd->base.ops = &fuzz_dir_ops;
    fd->base.name = tv_strdup("bundle");
    fd->files = files;
    fd->n = n;
    if (!fd->base.name) {
        tv_free(fd);
        return NULL;
    }
    return &fd->base;
}
