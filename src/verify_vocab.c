/*
 * Vocabulary integrity checks of tokvec verify (the vocab.* ids). Each takes every
 * vocabulary the model holds (the primary one and the secondary ones, such as
 * vocab.json next to tokenizer.json) unless it says otherwise, and names the file a
 * problem is in.
 */
#include <stdio.h>
#include <string.h>

#include "tokvec/tokenizer.h"
#include "verify_impl.h"

#define EXAMPLES 3   /* problems shown by name in a message; the count covers all */

static const char *origin(const tv_verify_report *r, const struct tv_vocab *v)
{
    return vr_file(r, v->origin ? v->origin : "vocabulary");
}

static bool has_vocab(const tv_model *m)
{
    return m->n_vocabs && (m->vocabs[0].n_tokens || m->vocabs[0].json);
}

/* "tokenizer.json (50257 tokens), vocab.json (50257 tokens)" */
static void vocab_list(struct vtext *t, const tv_verify_report *r, const tv_model *m)
{
    for (size_t i = 0; i < m->n_vocabs; i++)
        vt_add(t, "%s%s (%zu tokens)", i ? ", " : "", origin(r, &m->vocabs[i]),
               m->vocabs[i].n_tokens);
}

/* ---- vocab.duplicates ------------------------------------------------------------- */

/* The same token string under two ids: encoding can only ever produce one of them. */
static int check_duplicates(tv_verify_report *r, tv_model *m)
{
    struct vtext t;
    vt_init(&t);
    size_t total = 0;
    for (size_t i = 0; i < m->n_vocabs; i++) {
        const struct tv_vocab *v = &m->vocabs[i];
        struct tv_strmap seen;
        tv_strmap_init(&seen);
        struct vtext ex;
        vt_init(&ex);
        size_t dups = 0;
        for (size_t id = 0; id < v->n_tokens; id++) {
            const struct tv_token *tok = &v->tokens[id];
            if (!tok->text)
                continue;
            uint64_t first;
            int put = tv_strmap_put(&seen, tok->text, tok->len, id, &first);
            if (put < 0) {
                tv_strmap_release(&seen);
                r->failed_oom = true;
                return -1;
            }
            if (put == 0 && dups++ < EXAMPLES) {
                vt_add(&ex, "%s", dups > 1 ? ", " : "");
                vt_token(&ex, tok->text, tok->len);
                vt_add(&ex, " at ids %llu and %zu", (unsigned long long)first, id);
            }
        }
        tv_strmap_release(&seen);
        if (dups)
            vt_add(&t, "%s%s: %zu token%s repeat%s an earlier token's string: %s%s",
                   total ? "; " : "", origin(r, v), dups, dups == 1 ? "" : "s",
                   dups == 1 ? "s" : "", ex.buf, dups > EXAMPLES ? ", ..." : "");
        total += dups;
    }
    struct vcheck *c;
    if (total) {
        c = vr_add(r, "vocab.duplicates", TV_CHECK_FAIL, "%s", t.buf);
    } else {
        struct vtext list;
        vt_init(&list);
        vocab_list(&list, r, m);
        c = vr_add(r, "vocab.duplicates", TV_CHECK_PASS, "no token string appears twice in %s",
                   list.buf);
    }
    vr_int(r, c, "duplicates", (int64_t)total);
    return 0;
}

/* ---- vocab.dense -------------------------------------------------------------------- */

/* Ids without a token: rows of the embedding that nothing can reach and decode. */
static int check_dense(tv_verify_report *r, tv_model *m)
{
    struct vtext t;
    vt_init(&t);
    size_t total = 0;
    int64_t first_hole = -1;
    for (size_t i = 0; i < m->n_vocabs; i++) {
        const struct tv_vocab *v = &m->vocabs[i];
        size_t holes = 0, ranges = 0;
        for (size_t id = 0; id < v->n_tokens; id++) {
            if (v->tokens[id].text)
                continue;
            size_t end = id;
            while (end + 1 < v->n_tokens && !v->tokens[end + 1].text)
                end++;
            if (!holes)
                vt_add(&t, "%s%s: ", total ? "; " : "", origin(r, v));
            if (first_hole < 0)
                first_hole = (int64_t)id;
            if (ranges++ < EXAMPLES) {
                if (end == id)
                    vt_add(&t, "%sid %zu", ranges > 1 ? ", " : "", id);
                else
                    vt_add(&t, "%sids %zu..%zu", ranges > 1 ? ", " : "", id, end);
            }
            holes += end - id + 1;
            id = end;
        }
        if (holes) {
            vt_add(&t, "%s: %zu of %zu ids have no token", ranges > EXAMPLES ? ", ..." : "",
                   holes, v->n_tokens);
            total += holes;
        }
    }
    struct vcheck *c;
    if (total) {
        c = vr_add(r, "vocab.dense", TV_CHECK_FAIL, "%s", t.buf);
        vr_int(r, c, "first_missing_id", first_hole);
    } else {
        struct vtext list;
        vt_init(&list);
        vocab_list(&list, r, m);
        c = vr_add(r, "vocab.dense", TV_CHECK_PASS, "every id from 0 to the last has a token in %s",
                   list.buf);
    }
    vr_int(r, c, "missing_ids", (int64_t)total);
    return 0;
}

/* ---- vocab.added_ids ------------------------------------------------------------------ */

/*
 * Added tokens whose declared id is not the id the tokenizer gives their content. For
 * the primary vocabulary the content is encoded with tv_encode (added and special
 * tokens matched, nothing added around it: the reference's add_special_tokens=False)
 * and must come out as exactly the declared id; where no tokenizer can be built (and
 * for secondary vocabularies) the vocabulary answers instead: the id must hold the
 * content, and no earlier id may hold it too. Either way the declared id's slot must
 * hold the content. The message says which method was used.
 */
static int check_added_ids(tv_verify_report *r, tv_model *m)
{
    struct vtext t;
    vt_init(&t);
    size_t total = 0, checked = 0, by_tokenizer = 0;
    tv_tokenizer *tok = NULL;
    struct tv_ids ids;
    tv_ids_init(&ids);
    tv_error tok_err = {0};
    int rc = -1;
    if (m->vocabs[0].n_added) {
        tok = tv_tokenizer_new(m, &tok_err);
        if (!tok && tok_err.code == TV_ERR_NOMEM)
            goto oom;
    }
    for (size_t i = 0; i < m->n_vocabs; i++) {
        struct tv_vocab *v = &m->vocabs[i];
        for (size_t a = 0; a < v->n_added; a++) {
            const struct tv_added_token *at = &v->added[a];
            checked++;
            const struct tv_token *slot = at->id < v->n_tokens ? &v->tokens[at->id] : NULL;
            bool slot_ok = slot && slot->text && slot->len == at->len &&
                           memcmp(slot->text, at->content, at->len) == 0;
            bool encoded = false, ok;
            uint32_t found = 0;
            int lookup = -1;
            if (i == 0 && tok) {
                tv_error enc_err = {0};
                if (tv_encode(tok, at->content, at->len, 0, &ids, &enc_err) == 0)
                    encoded = true;
                else if (enc_err.code == TV_ERR_NOMEM)
                    goto oom;
            }
            if (encoded) {
                by_tokenizer++;
                ok = slot_ok && ids.n == 1 && ids.ids[0] == at->id;
            } else {
                lookup = tv_vocab_lookup(v, at->content, at->len, &found);
                if (lookup < 0 && !v->index_built)
                    goto oom;
                ok = slot_ok && lookup == 0 && found == at->id;
            }
            if (ok || total++ >= EXAMPLES)
                continue;
            vt_add(&t, "%s%s: added token ", t.len ? "; " : "", origin(r, v));
            vt_token(&t, at->content, at->len);
            vt_add(&t, " declares id %u", at->id);
            if (!slot) {
                vt_add(&t, " beyond the %zu ids", v->n_tokens);
            } else if (!slot_ok) {
                vt_add(&t, " but id %u is ", at->id);
                vt_token_id(&t, v, at->id);
            }
            const char *join = slot_ok ? " but" : ", and";
            if (encoded && !(ids.n == 1 && ids.ids[0] == at->id)) {
                vt_add(&t, "%s the tokenizer encodes it as [", join);
                for (size_t k = 0; k < ids.n && k < 8; k++)
                    vt_add(&t, "%s%u", k ? ", " : "", ids.ids[k]);
                vt_add(&t, "%s]", ids.n > 8 ? ", ..." : "");
            } else if (!encoded && lookup == 0 && found != at->id) {
                vt_add(&t, "%s the vocabulary gives it id %u", join, found);
            }
        }
    }
    struct vtext method;
    vt_init(&method);
    if (by_tokenizer == checked)
        vt_add(&method, "encoded with the tokenizer");
    else if (by_tokenizer)
        vt_add(&method, "%zu encoded with the tokenizer, %zu checked against the vocabulary",
               by_tokenizer, checked - by_tokenizer);
    else if (m->vocabs[0].n_added && !tok)
        vt_add(&method, "checked against the vocabulary: no tokenizer (%s)", tok_err.message);
    else
        vt_add(&method, "checked against the vocabulary");
    struct vcheck *c;
    if (!checked)
        c = vr_add(r, "vocab.added_ids", TV_CHECK_SKIP, "no added tokens");
    else if (total)
        c = vr_add(r, "vocab.added_ids", TV_CHECK_FAIL, "%zu of %zu added tokens: %s%s (%s)",
                   total, checked, t.buf, total > EXAMPLES ? "; ..." : "", method.buf);
    else
        c = vr_add(r, "vocab.added_ids", TV_CHECK_PASS, "%zu added token%s the id%s the "
                   "%s gives %s (%s)", checked, checked == 1 ? " has" : "s have",
                   checked == 1 ? "" : "s", by_tokenizer ? "tokenizer" : "vocabulary",
                   checked == 1 ? "it" : "them", method.buf);
    vr_int(r, c, "added_tokens", (int64_t)checked);
    vr_int(r, c, "mismatches", (int64_t)total);
    vr_int(r, c, "encoded", (int64_t)by_tokenizer);
    vr_str(r, c, "method", by_tokenizer == checked && checked ? "tokenizer"
                           : by_tokenizer ? "tokenizer+vocabulary" : "vocabulary");
    rc = 0;
    goto out;
oom:
    r->failed_oom = true;
out:
    tv_ids_release(&ids);
    tv_tokenizer_free(tok);
    return rc;
}

/* ---- vocab.specials -------------------------------------------------------------------- */

#define MAX_PAIRS 16

/* What the special-id check collects: distinct (name, id) pairs that are fine, the
   files that named them, and the entries that are not. */
struct specials {
    struct { const char *name; int64_t id; } pairs[MAX_PAIRS];
    size_t n_pairs, n_good;
    const char *files[8];
    size_t n_files;
    struct vtext outside, holes, strings, conflicts;
    size_t n_outside, n_holes, n_strings, n_conflicts;
};

static void note_good(struct specials *sp, const char *name, int64_t id, const char *file)
{
    sp->n_good++;
    bool seen = false;
    for (size_t i = 0; i < sp->n_pairs && !seen; i++)
        seen = sp->pairs[i].id == id && strcmp(sp->pairs[i].name, name) == 0;
    if (!seen && sp->n_pairs < MAX_PAIRS) {
        sp->pairs[sp->n_pairs].name = name;
        sp->pairs[sp->n_pairs++].id = id;
    }
    seen = false;
    for (size_t i = 0; i < sp->n_files && !seen; i++)
        seen = strcmp(sp->files[i], file) == 0;
    if (!seen && sp->n_files < TV_ARRAY_SIZE(sp->files))
        sp->files[sp->n_files++] = file;
}

/* Adds "config.json bos_token_id = 50256" to a list, once. */
static void note_bad(struct vtext *list, size_t *n, const char *file, const char *key,
                     int64_t id)
{
    char entry[300];
    snprintf(entry, sizeof entry, "%s %s = %lld", file, key, (long long)id);
    if (strstr(list->buf, entry))
        return;
    if ((*n)++ < EXAMPLES)
        vt_add(list, "%s%s", *n > 1 ? ", " : "", entry);
}

/* The short name of a special for the summary: "bos" for bos_token_id. */
static const char *special_label(int special, const char *key)
{
    return special >= 0 && special < TV_SPECIAL_COUNT ? tv_special_name(special) : key;
}

/*
 * Special ids (bos/eos/unk/pad/... from config.json, generation_config.json,
 * tokenizer_config.json, GGUF, the tokenizer) must name tokens that exist; special
 * token strings in tokenizer_config.json must be tokens.
 */
static int check_specials(tv_verify_report *r, tv_model *m)
{
    struct tv_vocab *v = m->n_vocabs ? &m->vocabs[0] : NULL;
    const struct tv_tensor *emb = tv_model_embedding(m);
    bool vocab = has_vocab(m);
    uint64_t limit;
    struct vtext space;
    vt_init(&space);
    if (vocab) {
        limit = v->n_tokens;
        vt_add(&space, "the %zu tokens of %s", v->n_tokens, origin(r, v));
        if (v->n_tokens)
            vt_add(&space, " (ids 0..%zu)", v->n_tokens - 1);
    } else if (emb) {
        limit = emb->shape[0];
        vt_add(&space, "the %llu rows of %s", (unsigned long long)limit, emb->name);
    } else {
        vr_add(r, "vocab.specials", TV_CHECK_SKIP, "no vocabulary and no embedding to check "
               "special ids against");
        return 0;
    }
    struct specials sp;
    memset(&sp, 0, sizeof sp);
    vt_init(&sp.outside);
    vt_init(&sp.holes);
    vt_init(&sp.strings);
    vt_init(&sp.conflicts);
    size_t n_unset = 0;
    for (size_t i = 0; i < m->n_claims; i++) {
        const struct tv_claim *c = &m->claims[i];
        if (c->kind != TV_CLAIM_SPECIAL_ID)
            continue;
        if (c->value < 0) {
            n_unset++; /* pad_token_id: -1 means "none" */
            continue;
        }
        const char *file = vr_file(r, c->file);
        if ((uint64_t)c->value >= limit)
            note_bad(&sp.outside, &sp.n_outside, file, c->key, c->value);
        else if (vocab && !v->tokens[c->value].text)
            note_bad(&sp.holes, &sp.n_holes, file, c->key, c->value);
        else
            note_good(&sp, special_label(c->special, c->key), c->value, file);
    }
    for (size_t i = 0; i < m->n_vocabs; i++) {
        const struct tv_vocab *x = &m->vocabs[i];
        for (int s = 0; s < TV_SPECIAL_COUNT; s++) {
            int64_t id = x->special[s];
            if (id < 0)
                continue;
            if ((uint64_t)id >= x->n_tokens)
                note_bad(&sp.outside, &sp.n_outside, origin(r, x), tv_special_name(s), id);
            else if (!x->tokens[id].text)
                note_bad(&sp.holes, &sp.n_holes, origin(r, x), tv_special_name(s), id);
            else
                note_good(&sp, tv_special_name(s), id, origin(r, x));
        }
    }
    /* tokenizer_config.json: "bos_token": "<s>" */
    for (int s = 0; s < TV_SPECIAL_COUNT && vocab; s++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", tv_special_name(s));
        const struct tv_meta *meta = tv_model_meta_find_origin(m, TV_ORIGIN_TOKENIZER_CONFIG, key);
        if (!meta || meta->value.type != TV_VALUE_STRING)
            continue;
        uint32_t id;
        int found = tv_vocab_lookup(v, meta->value.as.str.ptr, meta->value.as.str.len, &id);
        if (found < 0 && !v->index_built) {
            r->failed_oom = true;
            return -1;
        }
        if (found == 0) {
            note_good(&sp, tv_special_name(s), id, vr_file(r, meta->file));
            /* the ids claimed for the same role should include this token's id
               (eos_token_id may list several; one of them must be it) */
            const struct tv_claim *other = NULL;
            bool agrees = false;
            for (size_t i = 0; i < m->n_claims && !agrees; i++) {
                const struct tv_claim *cl = &m->claims[i];
                if (cl->kind != TV_CLAIM_SPECIAL_ID || cl->special != s || cl->value < 0 ||
                    (uint64_t)cl->value >= v->n_tokens)
                    continue;
                agrees = (uint64_t)cl->value == id;
                if (!other)
                    other = cl;
            }
            if (other && !agrees && sp.n_conflicts++ < EXAMPLES) {
                vt_add(&sp.conflicts, "%s%s %s = %lld is ", sp.n_conflicts > 1 ? "; " : "",
                       vr_file(r, other->file), other->key, (long long)other->value);
                vt_token_id(&sp.conflicts, v, (uint64_t)other->value);
                vt_add(&sp.conflicts, " but %s %s is ", vr_file(r, meta->file), key);
                vt_token(&sp.conflicts, meta->value.as.str.ptr, meta->value.as.str.len);
                vt_add(&sp.conflicts, " (id %u)", id);
            }
            continue;
        }
        if (sp.n_strings++ < EXAMPLES) {
            vt_add(&sp.strings, "%s%s %s ", sp.n_strings > 1 ? ", " : "", vr_file(r, meta->file),
                   key);
            vt_token(&sp.strings, meta->value.as.str.ptr, meta->value.as.str.len);
        }
    }
    size_t n_bad = sp.n_outside + sp.n_holes + sp.n_strings;
    struct vcheck *c;
    if (n_bad) {
        struct vtext t;
        vt_init(&t);
        if (sp.n_outside)
            vt_add(&t, "%s%s %s outside %s", sp.outside.buf,
                   sp.n_outside > EXAMPLES ? ", ..." : "", sp.n_outside == 1 ? "is" : "are",
                   space.buf);
        if (sp.n_holes)
            vt_add(&t, "%s%s%s %s without a token in %s", t.len ? "; " : "", sp.holes.buf,
                   sp.n_holes > EXAMPLES ? ", ..." : "",
                   sp.n_holes == 1 ? "names an id" : "name ids", origin(r, v));
        if (sp.n_strings)
            vt_add(&t, "%s%s%s %s not a token of %s", t.len ? "; " : "", sp.strings.buf,
                   sp.n_strings > EXAMPLES ? ", ..." : "", sp.n_strings == 1 ? "is" : "are",
                   origin(r, v));
        c = vr_add(r, "vocab.specials", TV_CHECK_FAIL, "%s", t.buf);
    } else if (!sp.n_good) {
        c = vr_add(r, "vocab.specials", TV_CHECK_SKIP, "no special ids are named%s",
                   n_unset ? " (only unset ones, -1)" : "");
    } else if (sp.n_conflicts) {
        c = vr_add(r, "vocab.specials", TV_CHECK_WARN, "the sources disagree on %zu special "
                   "token%s: %s%s", sp.n_conflicts, sp.n_conflicts == 1 ? "" : "s",
                   sp.conflicts.buf, sp.n_conflicts > EXAMPLES ? "; ..." : "");
    } else {
        struct vtext t;
        vt_init(&t);
        for (size_t i = 0; i < sp.n_pairs; i++) {
            vt_add(&t, "%s%s %lld", i ? ", " : "", sp.pairs[i].name, (long long)sp.pairs[i].id);
            if (vocab) {
                vt_add(&t, " ");
                vt_token_id(&t, v, (uint64_t)sp.pairs[i].id);
            }
        }
        vt_add(&t, " (from ");
        for (size_t i = 0; i < sp.n_files; i++)
            vt_add(&t, "%s%s", i ? ", " : "", sp.files[i]);
        vt_add(&t, ")");
        c = vr_add(r, "vocab.specials", TV_CHECK_PASS, "%zu special id%s of %s: %s",
                   sp.n_pairs, sp.n_pairs == 1 ? " names a token" : "s name tokens",
                   space.buf, t.buf);
    }
    vr_int(r, c, "outside", (int64_t)sp.n_outside);
    vr_int(r, c, "without_token", (int64_t)sp.n_holes);
    vr_int(r, c, "disagreements", (int64_t)sp.n_conflicts);
    vr_int(r, c, "strings_not_tokens", (int64_t)sp.n_strings);
    vr_int(r, c, "named", (int64_t)sp.n_good);
    vr_int(r, c, "limit", (int64_t)limit);
    return 0;
}

/* ---- vocab.merges ------------------------------------------------------------------------ */

/*
 * BPE merges: both parts and the merged result must be tokens (Hugging Face's BPE
 * refuses such a file: "merge token out of vocabulary"). With a
 * continuing_subword_prefix, the right part's prefix is dropped when merging.
 */
static int check_merges(tv_verify_report *r, tv_model *m)
{
    struct vtext t, per;
    vt_init(&t);
    vt_init(&per);
    size_t total = 0, merges = 0, missing_parts = 0, missing_results = 0;
    char *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    for (size_t i = 0; i < m->n_vocabs; i++) {
        struct tv_vocab *v = &m->vocabs[i];
        size_t bad_here = 0;
        const char *prefix = v->continuing_subword_prefix;
        size_t prefix_len = prefix ? strlen(prefix) : 0;
        for (size_t k = 0; k < v->n_merges; k++) {
            const struct tv_merge *mg = &v->merges[k];
            uint32_t id;
            merges++;
            bool left_ok = tv_vocab_lookup(v, mg->left, mg->left_len, &id) == 0;
            bool right_ok = tv_vocab_lookup(v, mg->right, mg->right_len, &id) == 0;
            if (!v->index_built)
                goto oom;
            const char *right = mg->right;
            size_t right_len = mg->right_len;
            if (prefix_len && right_len >= prefix_len && memcmp(right, prefix, prefix_len) == 0)
                right += prefix_len, right_len -= prefix_len;
            size_t need = (size_t)mg->left_len + right_len;
            if (need > cap) {
                if (tv_grow((void **)&buf, &cap, need + 1, 1, NULL) < 0)
                    goto oom;
            }
            if (mg->left_len)
                memcpy(buf, mg->left, mg->left_len);
            if (right_len)
                memcpy(buf + mg->left_len, right, right_len);
            bool result_ok = tv_vocab_lookup(v, buf ? buf : "", need, &id) == 0;
            if (left_ok && right_ok && result_ok)
                continue;
            missing_parts += !left_ok || !right_ok;
            missing_results += !result_ok;
            if (bad_here++ == 0)
                vt_add(&t, "%s%s: ", total ? "; " : "", origin(r, v));
            if (bad_here <= EXAMPLES) {
                vt_add(&t, "%smerge %zu (", bad_here > 1 ? ", " : "", k);
                vt_token(&t, mg->left, mg->left_len);
                vt_add(&t, " + ");
                vt_token(&t, mg->right, mg->right_len);
                vt_add(&t, ") ");
                if (!left_ok || !right_ok)
                    vt_add(&t, "uses %s not in the vocabulary",
                           !left_ok && !right_ok ? "parts" : !left_ok ? "a left part"
                                                                      : "a right part");
                else
                    vt_add(&t, "makes ");
                if (left_ok && right_ok) {
                    vt_token(&t, buf, need);
                    vt_add(&t, ", which is not a token");
                }
            }
        }
        total += bad_here;
        if (v->n_merges)
            vt_add(&per, "%s%zu of %s", per.len ? ", " : "", v->n_merges, origin(r, v));
    }
    struct vcheck *c;
    if (!merges)
        c = vr_add(r, "vocab.merges", TV_CHECK_SKIP, "no BPE merges");
    else if (total)
        c = vr_add(r, "vocab.merges", TV_CHECK_FAIL, "%zu of %zu merges are broken (%zu use "
                   "parts not in the vocabulary, %zu make a missing token): %s", total, merges,
                   missing_parts, missing_results, t.buf);
    else
        c = vr_add(r, "vocab.merges", TV_CHECK_PASS, "every merge (%s) joins two tokens into "
                   "a token", per.buf);
    vr_int(r, c, "merges", (int64_t)merges);
    vr_int(r, c, "missing_parts", (int64_t)missing_parts);
    vr_int(r, c, "missing_results", (int64_t)missing_results);
    rc = 0;
    goto out;
oom:
    r->failed_oom = true;
out:
    tv_free(buf);
    return rc;
}

/* ---- vocab.byte_fallback and vocab.byte_level ------------------------------------------ */

static bool is_byte_token(const struct tv_token *tok)
{
    static const char hex[] = "0123456789ABCDEFabcdef";
    return tok->text && tok->len == 6 && memcmp(tok->text, "<0x", 3) == 0 &&
           tok->text[5] == '>' && strchr(hex, tok->text[3]) && strchr(hex, tok->text[4]);
}

/* Bytes that never occur in UTF-8 text: a vocabulary may leave them out harmlessly. */
static bool never_in_utf8(unsigned b)
{
    return b == 0xC0 || b == 0xC1 || b >= 0xF5;
}

/* Lists missing byte values as "0x80, 0x81..0x9f" into t (at most a few ranges). */
static void list_bytes(struct vtext *t, const bool *missing)
{
    int shown = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (!missing[b])
            continue;
        unsigned end = b;
        while (end + 1 < 256 && missing[end + 1])
            end++;
        if (shown++ == 6) {
            vt_add(t, ", ...");
            return;
        }
        if (end == b)
            vt_add(t, "%s0x%02X", shown > 1 ? ", " : "", b);
        else
            vt_add(t, "%s0x%02X..0x%02X", shown > 1 ? ", " : "", b, end);
        b = end;
    }
}

/*
 * Byte fallback (SentencePiece-style BPE and Unigram, GGUF "llama"): a byte without a
 * <0xXX> token cannot be encoded at all.
 */
static int check_byte_fallback(tv_verify_report *r, tv_model *m)
{
    struct tv_vocab *v = &m->vocabs[0];
    size_t present = 0;
    for (size_t id = 0; id < v->n_tokens; id++)
        present += is_byte_token(&v->tokens[id]);
    if (!v->byte_fallback && !present) {
        vr_add(r, "vocab.byte_fallback", TV_CHECK_SKIP, "%s does not use byte fallback",
               origin(r, v));
        return 0;
    }
    bool missing[256];
    size_t n_missing = 0;
    for (unsigned b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        uint32_t id;
        int found = tv_vocab_lookup(v, name, 6, &id);
        if (found < 0 && !v->index_built) {
            r->failed_oom = true;
            return -1;
        }
        missing[b] = found < 0;
        n_missing += missing[b];
    }
    struct vcheck *c;
    if (n_missing) {
        struct vtext t;
        vt_init(&t);
        list_bytes(&t, missing);
        c = vr_add(r, "vocab.byte_fallback", TV_CHECK_FAIL,
                   "%s uses byte fallback%s but lacks %zu of the 256 <0xXX> tokens: %s "
                   "(such bytes cannot be encoded)", origin(r, v),
                   v->byte_fallback ? "" : " (it has <0xXX> tokens)", n_missing, t.buf);
    } else {
        c = vr_add(r, "vocab.byte_fallback", TV_CHECK_PASS,
                   "%s has all 256 byte tokens <0x00>..<0xFF>", origin(r, v));
    }
    vr_int(r, c, "missing", (int64_t)n_missing);
    return 0;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other
   68 are shifted to U+0100 and up in byte order. Writes the UTF-8 of byte b's symbol. */
static size_t byte_symbol(unsigned b, char out[4])
{
    unsigned cp;
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
        cp = b;
    } else {
        unsigned n = 0;
        for (unsigned x = 0; x < b; x++)
            n += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE));
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Byte-level BPE (GPT-2, Llama 3, GGUF "gpt2"): every byte must be a token, or some
   text cannot be encoded. Only bytes that never occur in UTF-8 may be left out (warn). */
static int check_byte_level(tv_verify_report *r, tv_model *m)
{
    struct tv_vocab *v = &m->vocabs[0];
    bool byte_level = v->byte_level || (v->ggml_model && strcmp(v->ggml_model, "gpt2") == 0);
    if (!byte_level) {
        vr_add(r, "vocab.byte_level", TV_CHECK_SKIP, "%s is not a byte-level BPE vocabulary",
               origin(r, v));
        return 0;
    }
    bool missing[256];
    size_t n_missing = 0, n_serious = 0;
    for (unsigned b = 0; b < 256; b++) {
        char sym[4];
        size_t len = byte_symbol(b, sym);
        uint32_t id;
        int found = tv_vocab_lookup(v, sym, len, &id);
        if (found < 0 && !v->index_built) {
            r->failed_oom = true;
            return -1;
        }
        missing[b] = found < 0;
        n_missing += missing[b];
        n_serious += missing[b] && !never_in_utf8(b);
    }
    struct vcheck *c;
    if (n_missing) {
        struct vtext t;
        vt_init(&t);
        list_bytes(&t, missing);
        c = vr_add(r, "vocab.byte_level", n_serious ? TV_CHECK_FAIL : TV_CHECK_WARN,
                   "%s is byte-level BPE but lacks %zu of the 256 byte symbols: bytes %s%s",
                   origin(r, v), n_missing, t.buf,
                   n_serious ? " (text with such bytes cannot be encoded)"
                             : " (bytes that never occur in UTF-8 text)");
    } else {
        c = vr_add(r, "vocab.byte_level", TV_CHECK_PASS,
                   "%s has all 256 byte-level symbols", origin(r, v));
    }
    vr_int(r, c, "missing", (int64_t)n_missing);
    vr_int(r, c, "missing_in_utf8", (int64_t)n_serious);
    return 0;
}

/* ---- vocab.secondary ------------------------------------------------------------------------- */

static bool is_added_id(const struct tv_vocab *v, size_t id)
{
    for (size_t a = 0; a < v->n_added; a++)
        if (v->added[a].id == id)
            return true;
    return false;
}

static bool is_phantom_space(const struct tv_vocab *v)
{
    return v->ggml_model && strcmp(v->ggml_model, "bert") == 0;
}

/*
 * Whether two tokens are the same string. llama.cpp stores BERT WordPiece vocabularies
 * in "phantom space" form ("##ing" as "ing", word-initial "the" as "▁the", "[CLS]" as
 * is); when exactly one side is such a GGUF, its token is compared in WordPiece form.
 */
static bool same_token(const struct tv_token *a, bool a_phantom, const struct tv_token *b,
                       bool b_phantom)
{
    if (!a->text || !b->text)
        return !a->text && !b->text;
    if (a_phantom == b_phantom)
        return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
    if (b_phantom) {
        const struct tv_token *t = a;
        a = b, b = t; /* a is the phantom-space one */
    }
    static const char space[] = "\xe2\x96\x81"; /* U+2581 */
    if (a->len >= 2 && a->text[0] == '[' && a->text[a->len - 1] == ']')
        return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
    if (a->len >= 3 && memcmp(a->text, space, 3) == 0)
        return a->len - 3 == b->len && memcmp(a->text + 3, b->text, b->len) == 0;
    return b->len == a->len + 2 && memcmp(b->text, "##", 2) == 0 &&
           memcmp(b->text + 2, a->text, a->len) == 0;
}

/*
 * Secondary vocabularies (vocab.json beside tokenizer.json, tokenizer.json beside a
 * GGUF) must say the same as the primary one, id by id. The primary may have more ids
 * when the extra ones are its added tokens (vocab.json does not list those).
 */
static int check_secondary(tv_verify_report *r, tv_model *m)
{
    if (m->n_vocabs < 2) {
        vr_add(r, "vocab.secondary", TV_CHECK_SKIP, "only one vocabulary (%s)",
               m->n_vocabs ? origin(r, &m->vocabs[0]) : "none");
        return 0;
    }
    const struct tv_vocab *p = &m->vocabs[0];
    struct vtext bad, good;
    vt_init(&bad);
    vt_init(&good);
    size_t total = 0;
    for (size_t i = 1; i < m->n_vocabs; i++) {
        const struct tv_vocab *s = &m->vocabs[i];
        size_t common = p->n_tokens < s->n_tokens ? p->n_tokens : s->n_tokens;
        size_t differ = 0, extra_not_added = 0;
        struct vtext ex;
        vt_init(&ex);
        for (size_t id = 0; id < common; id++) {
            if (same_token(&p->tokens[id], is_phantom_space(p), &s->tokens[id],
                           is_phantom_space(s)))
                continue;
            if (differ++ < EXAMPLES) {
                vt_add(&ex, "%sid %zu is ", differ > 1 ? ", " : "", id);
                vt_token_id(&ex, p, id);
                vt_add(&ex, " vs ");
                vt_token_id(&ex, s, id);
            }
        }
        for (size_t id = common; id < p->n_tokens; id++)
            extra_not_added += !is_added_id(p, id);
        bool count_bad = s->n_tokens > p->n_tokens || extra_not_added;
        if (!differ && !count_bad) {
            vt_add(&good, "%s%s agrees with %s on all %zu ids", good.len ? "; " : "",
                   origin(r, s), origin(r, p), common);
            if (p->n_tokens > common)
                vt_add(&good, " (%s adds %zu added tokens)", origin(r, p), p->n_tokens - common);
            continue;
        }
        total++;
        vt_add(&bad, "%s%s (%zu tokens) vs %s (%zu tokens): ", bad.len ? "; " : "", origin(r, s),
               s->n_tokens, origin(r, p), p->n_tokens);
        if (differ)
            vt_add(&bad, "%zu of %zu shared ids differ (%s%s)", differ, common, ex.buf,
                   differ > EXAMPLES ? ", ..." : "");
        if (count_bad)
            vt_add(&bad, "%s%zu ids only in %s", differ ? "; " : "",
                   s->n_tokens > p->n_tokens ? s->n_tokens - common : extra_not_added,
                   s->n_tokens > p->n_tokens ? origin(r, s) : origin(r, p));
    }
    struct vcheck *c = total ? vr_add(r, "vocab.secondary", TV_CHECK_FAIL, "%s", bad.buf)
                             : vr_add(r, "vocab.secondary", TV_CHECK_PASS, "%s", good.buf);
    vr_int(r, c, "vocabularies", (int64_t)m->n_vocabs);
    vr_int(r, c, "disagreeing", (int64_t)total);
    return 0;
}

/* ---- all of them ------------------------------------------------------------------------------- */

/* In report order; specials can also be checked against the embedding rows alone. */
static const struct {
    const char *id;
    int (*run)(tv_verify_report *r, tv_model *m);
    bool needs_vocab;
} vocab_checks[] = {
    {"vocab.duplicates", check_duplicates, true},
    {"vocab.dense", check_dense, true},
    {"vocab.added_ids", check_added_ids, true},
    {"vocab.specials", check_specials, false},
    {"vocab.merges", check_merges, true},
    {"vocab.byte_fallback", check_byte_fallback, true},
    {"vocab.byte_level", check_byte_level, true},
    {"vocab.secondary", check_secondary, true},
};

int verify_vocab_checks(tv_verify_report *r, tv_model *m)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(vocab_checks); i++) {
        if (!vr_selected(r, vocab_checks[i].id))
            continue;
        if (vocab_checks[i].needs_vocab && !has_vocab(m))
            vr_add(r, vocab_checks[i].id, TV_CHECK_SKIP, "no vocabulary");
        else if (vocab_checks[i].run(r, m) < 0)
            return -1;
    }
    return r->failed_oom ? -1 : 0;
}
