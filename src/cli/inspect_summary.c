/*
 * The summary block of tokvec inspect (see inspect_summary.h): the facts about a model
 * that inspect prints under the header, shared with tokvec report.
 */
#include <stdio.h>
#include <string.h>

#include "inspect_summary.h"

#define MAX_SPECIALS_SHOWN 8

static const struct tv_str *meta_string(const tv_model *m, enum tv_origin origin,
                                        const char *key)
{
    const struct tv_meta *meta = tv_model_meta_find_origin(m, origin, key);
    if (meta && meta->value.type == TV_VALUE_STRING)
        return &meta->value.as.str;
    if (meta && meta->value.type == TV_VALUE_ARRAY &&
        meta->value.as.arr.elem_type == TV_VALUE_STRING && meta->value.as.arr.n > 0)
        return &((const struct tv_str *)meta->value.as.arr.data)[0];
    return NULL;
}

/* The architecture: config.json model_type, else GGUF general.architecture; and the
   class name config.json lists first (architectures[0]). Either may be NULL. */
void inspect_architecture(const tv_model *m, const struct tv_str **name,
                          const struct tv_str **class_name)
{
    *name = meta_string(m, TV_ORIGIN_CONFIG, "model_type");
    if (!*name)
        *name = meta_string(m, TV_ORIGIN_GGUF, "general.architecture");
    *class_name = meta_string(m, TV_ORIGIN_CONFIG, "architectures");
}

size_t inspect_vocab_holes(const struct tv_vocab *v)
{
    size_t holes = 0;
    for (size_t i = 0; i < v->n_tokens; i++)
        holes += v->tokens[i].text == NULL;
    return holes;
}

/* The special tokens: ids named for a role (bos, eos, ...) in role order, then added
   tokens marked special, each id once. Returns the count written (at most cap). */
size_t inspect_collect_specials(const struct tv_vocab *v, struct inspect_special *out,
                                size_t cap, size_t *total)
{
    size_t n = 0;
    *total = 0;
    for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
        int64_t id = v->special[s];
        if (id < 0)
            continue;
        size_t k = 0;
        while (k < n && out[k].id != id)
            k++;
        if (k < n) {
            out[k].roles |= 1u << s;
            continue;
        }
        (*total)++;
        if (n < cap)
            out[n++] = (struct inspect_special){id, 1u << s};
    }
    for (size_t i = 0; i < v->n_added; i++) {
        if (!(v->added[i].flags & TV_TOKEN_SPECIAL))
            continue;
        int64_t id = v->added[i].id;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = out[k].id == id;
        /* an id already counted among the first roles is not counted twice; past the
           cap, ids are counted without the check (a rough total for "+N more") */
        bool named = false;
        for (int s = 0; s < TV_SPECIAL_COUNT && !named; s++)
            named = v->special[s] == id;
        if (seen || named)
            continue;
        (*total)++;
        if (n < cap)
            out[n++] = (struct inspect_special){id, 0};
    }
    return n;
}

const struct tv_token *inspect_vocab_token(const struct tv_vocab *v, int64_t id)
{
    if (id < 0 || (uint64_t)id >= v->n_tokens || !v->tokens[id].text)
        return NULL;
    return &v->tokens[id];
}

/* The "type" of a tokenizer.json component, "Sequence[A, B]" for sequences. */
static void component_name(struct cli_buf *b, const cJSON *c, int depth)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
    if (!cJSON_IsString(type)) {
        cli_buf_puts(b, "?");
        return;
    }
    cli_buf_puts(b, cli_escaped(type->valuestring, strlen(type->valuestring), 0, 40));
    static const char *const lists[] = {"normalizers", "pretokenizers", "processors",
                                        "decoders"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(lists); i++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(c, lists[i]);
        if (!cJSON_IsArray(list))
            continue;
        cli_buf_puts(b, "[");
        int k = 0;
        for (const cJSON *e = list->child; e; e = e->next, k++) {
            if (k)
                cli_buf_puts(b, ", ");
            if (depth > 4) {
                cli_buf_puts(b, "...");
                break;
            }
            component_name(b, e, depth + 1);
        }
        cli_buf_puts(b, "]");
        break;
    }
}

/* The tokenizer description in one line, empty when there is none. */
static void tokenizer_line(struct cli_buf *b, const struct tv_vocab *v)
{
    const struct {
        const char *label;
        const cJSON *c;
    } parts[] = {{"normalizer", v->normalizer},
                 {"pre-tokenizer", v->pre_tokenizer},
                 {"post-processor", v->post_processor},
                 {"decoder", v->decoder}};
    for (size_t i = 0; i < TV_ARRAY_SIZE(parts); i++) {
        if (!cJSON_IsObject(parts[i].c))
            continue;
        cli_buf_printf(b, "%s%s ", b->len ? ", " : "", parts[i].label);
        component_name(b, parts[i].c, 0);
    }
    if (v->ggml_model)
        cli_buf_printf(b, "%sggml model %s", b->len ? ", " : "",
                       cli_escaped(v->ggml_model, strlen(v->ggml_model), 0, 40));
    if (v->ggml_pre)
        cli_buf_printf(b, ", pre %s", cli_escaped(v->ggml_pre, strlen(v->ggml_pre), 0, 40));
    if (v->add_bos >= 0)
        cli_buf_printf(b, "%sadd_bos %s", b->len ? ", " : "", v->add_bos ? "true" : "false");
    if (v->add_eos >= 0)
        cli_buf_printf(b, "%sadd_eos %s", b->len ? ", " : "", v->add_eos ? "true" : "false");
}

/* A source file's name as shown: relative to the inspected folder ("config.json"), or
   the base name when it is the inspected file itself. */
const char *inspect_display_file(const char *path, const char *file)
{
    if (!file)
        return "?";
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (strncmp(file, path, n) == 0 && file[n] == '/' && file[n + 1])
        return file + n + 1;
    if (strcmp(file, path) == 0) {
        const char *base = strrchr(file, '/');
        return base && base[1] ? base + 1 : file;
    }
    return file;
}

/* "50257 tokens (BPE, byte-level), 50000 merges, 1 added, specials: <|endoftext|>=50256" */
static void vocab_summary(struct cli_buf *b, const tv_model *m, const struct tv_vocab *v,
                          bool with_origin, bool with_specials)
{
    size_t holes = inspect_vocab_holes(v);
    cli_buf_printf(b, "%zu tokens", v->n_tokens - holes);
    if (holes)
        cli_buf_printf(b, " in %zu ids", v->n_tokens);
    if (with_origin && v->origin)
        {
        const char *origin = inspect_display_file(tv_model_path(m), v->origin);
        cli_buf_printf(b, " from %s", cli_escaped(origin, strlen(origin), 0, 0));
    }
    cli_buf_printf(b, " (%s", cli_tokenizer_label(v->kind));
    if (v->byte_level)
        cli_buf_puts(b, ", byte-level");
    if (v->byte_fallback)
        cli_buf_puts(b, ", byte-fallback");
    cli_buf_puts(b, ")");
    if (v->kind == TV_TOKENIZER_BPE || v->n_merges)
        cli_buf_printf(b, ", %zu merges", v->n_merges);
    if (v->n_added)
        cli_buf_printf(b, ", %zu added", v->n_added);
    if (!with_specials)
        return;
    struct inspect_special specials[MAX_SPECIALS_SHOWN];
    size_t total;
    size_t n = inspect_collect_specials(v, specials, MAX_SPECIALS_SHOWN, &total);
    for (size_t i = 0; i < n; i++) {
        const struct tv_token *t = inspect_vocab_token(v, specials[i].id);
        cli_buf_puts(b, i ? ", " : ", specials: ");
        if (t)
            cli_buf_puts(b, cli_escaped(t->text, t->len, 0, 40));
        else
            cli_buf_puts(b, "(no such token)");
        cli_buf_printf(b, "=%lld", (long long)specials[i].id);
        if (specials[i].roles) {
            cli_buf_puts(b, " (");
            int k = 0;
            for (int s = 0; s < TV_SPECIAL_COUNT; s++)
                if (specials[i].roles & (1u << s))
                    cli_buf_printf(b, "%s%s", k++ ? ", " : "", tv_special_name(s));
            cli_buf_puts(b, ")");
        }
    }
    if (total > n)
        cli_buf_printf(b, ", +%zu more", total - n);
    (void)m;
}
void inspect_summary_lines(const tv_model *m, inspect_line_fn *line, void *ctx)
{
    struct cli_buf b;
    cli_buf_init(&b);
    char h1[32], h2[32], shape[256];

    const struct tv_str *arch, *arch_class;
    inspect_architecture(m, &arch, &arch_class);
    if (arch)
        cli_buf_puts(&b, cli_escaped(arch->ptr, (size_t)arch->len, 0, 80));
    if (arch_class)
        cli_buf_printf(&b, arch ? " (%s)" : "%s",
                       cli_escaped(arch_class->ptr, (size_t)arch_class->len, 0, 80));
    line(ctx, "architecture", b.len ? b.ptr : "unknown");

    const struct tv_vocab *v = tv_model_vocab(m);
    cli_buf_reset(&b);
    if (v && (v->n_tokens || v->json || v->n_added)) {
        vocab_summary(&b, m, v, tv_model_file_count(m) > 1, true);
        line(ctx, "vocabulary", b.ptr);
        cli_buf_reset(&b);
        tokenizer_line(&b, v);
        if (b.len)
            line(ctx, "tokenizer", b.ptr);
    } else {
        line(ctx, "vocabulary", "none");
    }

    const struct tv_tensor *e = tv_model_embedding(m);
    size_t n_tensors = tv_model_tensor_count(m);
    cli_buf_reset(&b);
    if (e)
        cli_buf_printf(&b, "%s  %s  %s  (%s)", cli_escaped(e->name, strlen(e->name), 0, 0),
                       cli_shape(e, shape), tv_dtype_name(e->dtype),
                       cli_human_bytes(e->n_bytes, h1));
    else if (n_tensors)
        cli_buf_printf(&b, "none found among %zu tensors (name it with --embedding)", n_tensors);
    else
        cli_buf_puts(&b, "none (no tensors)");
    line(ctx, "embedding", b.ptr);

    if (n_tensors) {
        uint64_t bytes = 0;
        size_t per_dtype[TV_DTYPE_COUNT] = {0};
        for (size_t i = 0; i < n_tensors; i++) {
            const struct tv_tensor *t = tv_model_tensor(m, i);
            bytes += t->n_bytes;
            if ((unsigned)t->dtype < TV_DTYPE_COUNT)
                per_dtype[t->dtype]++;
        }
        cli_buf_reset(&b);
        for (int d = 0; d < TV_DTYPE_COUNT; d++)
            if (per_dtype[d])
                cli_buf_printf(&b, "%s%zu %s", b.len ? ", " : "", per_dtype[d],
                               tv_dtype_name((enum tv_dtype)d));
        struct cli_buf text;
        cli_buf_init(&text);
        cli_buf_printf(&text, "%zu, %s parameters, %s (%s)", n_tensors,
                       cli_human_count(tv_model_parameter_count(m), h1),
                       cli_human_bytes(bytes, h2), b.ptr);
        line(ctx, "tensors", text.ptr);
        cli_buf_release(&text);
    } else {
        line(ctx, "tensors", "none");
    }

    /* claims, one line per source file, in the order the sources were read */
    bool first_line = true;
    for (size_t i = 0; i < m->n_claims; i++) {
        const char *file = m->claims[i].file;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->claims[j].file, file) == 0;
        if (seen)
            continue;
        cli_buf_reset(&b);
        const char *shown = inspect_display_file(tv_model_path(m), file);
        if (tv_model_file_count(m) > 1)
            cli_buf_printf(&b, "%s:", cli_escaped(shown, strlen(shown), 0, 0));
        for (size_t j = i; j < m->n_claims; j++) {
            const struct tv_claim *c = &m->claims[j];
            if (strcmp(c->file, file) != 0)
                continue;
            cli_buf_printf(&b, "%s%s=", b.len ? " " : "", cli_escaped(c->key, strlen(c->key), 0, 80));
            if (c->kind == TV_CLAIM_TIED)
                cli_buf_puts(&b, c->value ? "true" : "false");
            else
                cli_buf_printf(&b, "%lld", (long long)c->value);
        }
        line(ctx, first_line ? "claims" : NULL, b.ptr);
        first_line = false;
    }

    for (size_t i = 1; i < m->n_vocabs; i++) {
        cli_buf_reset(&b);
        const struct tv_vocab *sv = &m->vocabs[i];
        const char *origin = inspect_display_file(tv_model_path(m), sv->origin);
        cli_buf_printf(&b, "%s: ", cli_escaped(origin, strlen(origin), 0, 0));
        vocab_summary(&b, m, sv, false, false);
        line(ctx, "other vocab", b.ptr);
    }

    for (size_t i = 0; i < m->n_findings; i++) {
        const struct tv_finding *f = &m->findings[i];
        cli_buf_reset(&b);
        cli_buf_printf(&b, "%s (%s)", f->message, f->check);
        line(ctx, f->severity == TV_SEVERITY_FAIL ? "problem" : "warning", b.ptr);
    }
    cli_buf_release(&b);
}
