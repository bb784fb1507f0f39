/*
 * tokvec report: the numbers behind the one-page report (include/tokvec/report.h).
 *
 *   tensors     each tensor's part (embedding, output head, attention, MLP, norms, other)
 *               by its name, bytes per part, the tensors by size
 *   vocabulary  tokens by type, by length in bytes and in characters, by Unicode script
 *               (src/report_script.c), the longest tokens: all of the text a token stands
 *               for, not of its spelling in the tokenizer's alphabet (token_text below)
 *   embedding   verify's pass over the rows (tv_embedding_health_scan in
 *               src/verify_embedding.c: norms, NaN / zero rows, the low-norm rule), binned
 *   map         a word list looked up with the model's tokenizer, each word the mean of
 *               its tokens' rows (tv_embed_mean), projected on the first two principal
 *               components (src/report_pca.c)
 *   verify      tv_verify_run's report, kept as it is
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "internal.h"
#include "tokvec/embed.h"
#include "tokvec/report.h"
#include "tokvec/tokenizer.h"

struct tv_report_private {
    const tv_model *m;
    tv_tokenizer *tok;
    bool byte_level;
    char tokenizer_why[512];
};

static const char *const default_words[] = {
    "apple", "banana", "orange", "grape",           /* fruit */
    "king", "queen", "man", "woman", "boy", "girl", /* royalty and people */
    "cat", "dog", "horse", "cow",                   /* animals */
    "paris", "london", "berlin", "tokyo",           /* cities */
    "france", "england", "germany", "japan",        /* countries */
    "one", "two", "three", "four",                  /* numbers */
    "red", "blue", "green", "yellow",               /* colours */
    "monday", "tuesday",                            /* days */
};

const char *const *tv_report_default_words(size_t *n)
{
    *n = TV_ARRAY_SIZE(default_words);
    return default_words;
}

void tv_report_options_init(struct tv_report_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->longest = 20;
    opt->max_length = 32;
    opt->norm_bins = 40;
    opt->max_listed = 50;
    opt->run_verify = true;
}

/* ---- tensor parts ---------------------------------------------------------------------------
 *
 * By name, first match wins (names lowercased; "seg" means a whole dot-separated part):
 *   output head  ends in lm_head.weight or embed_out.weight, is output.weight (GGUF),
 *                or holds cls.predictions (BERT's masked-LM head)
 *   norms        norm (layernorm, rmsnorm, attn_norm, ffn_norm, input_layernorm, ...),
 *                ln_ (GPT-2's ln_1, ln_f)
 *   embedding    embed, embd (token_embd, position_embd), wte, wpe, seg shared (T5)
 *   attention    attn, attention, q_proj k_proj v_proj o_proj qkv query key value,
 *                seg wq wk wv wo
 *   MLP          mlp, ffn, feed_forward, intermediate, gate_proj up_proj down_proj c_fc,
 *                experts, moe (routers too), densereludense (T5), seg fc1 fc2 w1 w2 w3,
 *                output.dense (BERT, after attention)
 *   other        everything else (rope frequencies, pooler, classifier heads, ...)
 * The model's token-embedding tensor is always "embedding", whatever its name.
 */

static const char *const part_names[] = {
    [TV_PART_EMBEDDING] = "embedding", [TV_PART_OUTPUT] = "output head",
    [TV_PART_ATTENTION] = "attention", [TV_PART_MLP] = "MLP",
    [TV_PART_NORM] = "norms",          [TV_PART_OTHER] = "other",
};
_Static_assert(TV_ARRAY_SIZE(part_names) == TV_PART_COUNT, "a name for every part");

const char *tv_tensor_part_name(enum tv_tensor_part part)
{
    return (unsigned)part < TV_PART_COUNT ? part_names[part] : "?";
}

static bool any_substring(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strstr(name, *list))
            return true;
    return false;
}

/* Whether one of the dot-separated parts of name is one of list. */
static bool any_segment(const char *name, const char *const *list)
{
    for (const char *seg = name; seg;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        for (const char *const *p = list; *p; p++)
            if (strlen(*p) == len && memcmp(seg, *p, len) == 0)
                return true;
        seg = dot ? dot + 1 : NULL;
    }
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum tv_tensor_part tv_tensor_part_of(const char *name)
{
    static const char *const norm[] = {"norm", "ln_", NULL};
    static const char *const embed[] = {"embed", "embd", "wte", "wpe", NULL};
    static const char *const embed_seg[] = {"shared", NULL};
    static const char *const attn[] = {"attn", "attention", "q_proj", "k_proj", "v_proj",
                                       "o_proj", "qkv", "query", "key", "value", NULL};
    static const char *const attn_seg[] = {"wq", "wk", "wv", "wo", NULL};
    static const char *const mlp[] = {"mlp", "ffn", "feed_forward", "intermediate",
                                      "gate_proj", "up_proj", "down_proj", "c_fc", "experts",
                                      "moe", "densereludense", "output.dense", NULL};
    static const char *const mlp_seg[] = {"fc1", "fc2", "w1", "w2", "w3", NULL};
    char lower[256];
    size_t n = strlen(name);
    if (n >= sizeof lower)
        n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[n] = '\0';

    if (ends_with(lower, "lm_head.weight") || ends_with(lower, "embed_out.weight") ||
        strcmp(lower, "lm_head") == 0 || strcmp(lower, "output.weight") == 0 ||
        strstr(lower, "cls.predictions"))
        return TV_PART_OUTPUT;
    if (any_substring(lower, norm))
        return TV_PART_NORM;
    if (any_substring(lower, embed) || any_segment(lower, embed_seg))
        return TV_PART_EMBEDDING;
    if (any_substring(lower, attn) || any_segment(lower, attn_seg))
        return TV_PART_ATTENTION;
    if (any_substring(lower, mlp) || any_segment(lower, mlp_seg))
        return TV_PART_MLP;
    return TV_PART_OTHER;
}

static const tv_model *sort_model; /* qsort has no context argument */

static int cmp_by_size(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t x = tv_model_tensor(sort_model, i)->n_bytes;
    uint64_t y = tv_model_tensor(sort_model, j)->n_bytes;
    if (x != y)
        return x > y ? -1 : 1;
    return (i > j) - (i < j);
}

static int tensor_section(struct tv_report *r, const tv_model *m, tv_error *err)
{
    size_t n = tv_model_tensor_count(m);
    r->n_tensors = n;
    if (!n)
        return 0;
    r->by_size = tv_malloc(n * sizeof *r->by_size);
    r->part = tv_malloc(n);
    if (!r->by_size || !r->part)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory listing %zu tensors", n);
    const struct tv_tensor *emb = tv_model_embedding(m);
    for (size_t i = 0; i < n; i++) {
        const struct tv_tensor *t = tv_model_tensor(m, i);
        enum tv_tensor_part p = t == emb ? TV_PART_EMBEDDING : tv_tensor_part_of(t->name);
        r->part[i] = (uint8_t)p;
        r->part_bytes[p] += t->n_bytes;
        r->part_tensors[p]++;
        r->total_bytes += t->n_bytes;
        r->by_size[i] = i;
    }
    sort_model = m;
    qsort(r->by_size, n, sizeof *r->by_size, cmp_by_size);
    sort_model = NULL;
    return 0;
}

/* ---- the text a token stands for ----------------------------------------------------------- */

/* GPT-2's bytes_to_unicode alphabet read backwards: the byte a code point stands for,
   or -1. Printable Latin-1 bytes stand for themselves; the other 68 bytes, in order,
   for U+0100 onwards. */
static int byte_level_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp >= 0x100 + 68)
        return -1;
    uint32_t k = cp - 0x100;
    if (k < 0x21)
        return (int)k;                /* 0x00 .. 0x20 */
    k -= 0x21;
    if (k < 0xA1 - 0x7F)
        return (int)(0x7F + k);       /* 0x7F .. 0xA0 */
    return 0xAD;
}

static bool token_is_special(const struct tv_token *t)
{
    return t->type == TV_TOKEN_CONTROL || t->type == TV_TOKEN_UNKNOWN ||
           (t->flags & TV_TOKEN_SPECIAL);
}

/* The byte of a SentencePiece byte token "<0xAB>", or -1. */
static int byte_token(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>' || !isxdigit((unsigned char)s[3]) ||
        !isxdigit((unsigned char)s[4]))
        return -1;
    return (int)strtol((char[]){s[3], s[4], 0}, NULL, 16);
}

/*
 * Writes to out (at least t->len bytes) the text token t stands for, and returns its
 * length: byte-level spelling decoded to bytes, "▁" as a space, a byte token as its
 * byte, WordPiece's continuing prefix dropped. Special tokens, and tokens that do not
 * fit the alphabet (an added token in plain text), are kept as they are spelled.
 */
static size_t token_text(const struct tv_vocab *v, bool byte_level, const struct tv_token *t,
                         char *out)
{
    const char *s = t->text;
    size_t len = t->len;
    if (token_is_special(t)) {
        memcpy(out, s, len);
        return len;
    }
    int b = byte_token(s, len);
    if (b >= 0 && (t->type == TV_TOKEN_BYTE || v->byte_fallback)) {
        out[0] = (char)b;
        return 1;
    }
    if (byte_level) {
        size_t n = 0, i = 0;
        while (i < len) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                                  (utf8proc_ssize_t)(len - i), &cp);
            int byte = k > 0 ? byte_level_byte((uint32_t)cp) : -1;
            if (byte < 0)
                break;
            out[n++] = (char)byte;
            i += (size_t)k;
        }
        if (i == len)
            return n;
        memcpy(out, s, len); /* not in the alphabet: as spelled */
        return len;
    }
    size_t start = 0;
    if (v->kind == TV_TOKENIZER_WORDPIECE) {
        const char *prefix = v->continuing_subword_prefix ? v->continuing_subword_prefix : "##";
        size_t plen = strlen(prefix);
        if (plen && len > plen && memcmp(s, prefix, plen) == 0)
            start = plen;
    }
    size_t n = 0;
    for (size_t i = start; i < len;) {
        if (i + 3 <= len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = s[i++];
        }
    }
    return n;
}

/* Unicode code points in s; each byte that is not part of a valid character counts 1. */
static size_t count_chars(const char *s, size_t len)
{
    size_t chars = 0, i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        i += k > 0 ? (size_t)k : 1;
        chars++;
    }
    return chars;
}

static bool vocab_byte_level(const struct tv_vocab *v)
{
    return v->byte_level || (v->ggml_model && strcmp(v->ggml_model, "gpt2") == 0);
}

/* Whether token a comes before b in the longest list (more characters, more bytes,
   lower id). */
static bool longer(const struct tv_report_token *a, const struct tv_report_token *b)
{
    if (a->chars != b->chars)
        return a->chars > b->chars;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes;
    return a->id < b->id;
}

static void bin_length(struct tv_length_histogram *h, uint64_t len)
{
    h->counts[len < h->n_bins - 1 ? len : h->n_bins - 1]++;
}

static int vocab_section(struct tv_report *r, const tv_model *m,
                         const struct tv_report_options *opt, tv_error *err)
{
    const struct tv_vocab *v = tv_model_vocab(m);
    if (!v || !v->n_tokens)
        return 0;
    bool byte_level = vocab_byte_level(v);
    size_t max_len = 0;
    for (size_t id = 0; id < v->n_tokens; id++)
        if (v->tokens[id].text && v->tokens[id].len > max_len)
            max_len = v->tokens[id].len;

    int rc = -1;
    char *text = tv_malloc(max_len + 1);
    uint32_t *bytes_of = tv_malloc(v->n_tokens * sizeof *bytes_of);
    uint32_t *chars_of = tv_malloc(v->n_tokens * sizeof *chars_of);
    r->longest = tv_calloc(opt->longest ? opt->longest : 1, sizeof *r->longest);
    if (!text || !bytes_of || !chars_of || !r->longest) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory measuring %zu tokens", v->n_tokens);
        goto out;
    }
    r->vocab_ids = v->n_tokens;
    uint64_t longest_bytes = 0, longest_chars = 0;
    for (size_t id = 0; id < v->n_tokens; id++) {
        const struct tv_token *t = &v->tokens[id];
        if (!t->text)
            continue;
        r->vocab_tokens++;
        r->by_type[t->type <= TV_TOKEN_BYTE ? t->type : TV_TOKEN_UNDEFINED]++;
        size_t n = token_text(v, byte_level, t, text);
        size_t chars = count_chars(text, n);
        bytes_of[id] = (uint32_t)n;
        chars_of[id] = (uint32_t)chars;
        longest_bytes = n > longest_bytes ? n : longest_bytes;
        longest_chars = chars > longest_chars ? chars : longest_chars;
        enum tv_script script = token_is_special(t) ? TV_SCRIPT_SPECIAL : tv_text_script(text, n);
        r->by_script[script]++;
        if (script == TV_SCRIPT_SPECIAL || !opt->longest)
            continue;
        struct tv_report_token cand = {(uint32_t)id, (uint32_t)n, (uint32_t)chars};
        if (r->n_longest == opt->longest && !longer(&cand, &r->longest[r->n_longest - 1]))
            continue;
        size_t k = r->n_longest < opt->longest ? r->n_longest++ : r->n_longest - 1;
        while (k > 0 && longer(&cand, &r->longest[k - 1])) {
            r->longest[k] = r->longest[k - 1];
            k--;
        }
        r->longest[k] = cand;
    }

    /* bins 0 .. min(longest, max_length): the last one also holds longer tokens */
    struct tv_length_histogram *hists[2] = {&r->length_bytes, &r->length_chars};
    uint64_t longest[2] = {longest_bytes, longest_chars};
    for (int k = 0; k < 2; k++) {
        hists[k]->longest = longest[k];
        uint64_t last = longest[k] < opt->max_length ? longest[k] : opt->max_length;
        hists[k]->n_bins = (size_t)last + 1;
        hists[k]->counts = tv_calloc(hists[k]->n_bins, sizeof *hists[k]->counts);
        if (!hists[k]->counts) {
            tv_error_set(err, TV_ERR_NOMEM, "out of memory for a length histogram");
            goto out;
        }
    }
    for (size_t id = 0; id < v->n_tokens; id++) {
        if (!v->tokens[id].text)
            continue;
        bin_length(&r->length_bytes, bytes_of[id]);
        bin_length(&r->length_chars, chars_of[id]);
    }
    rc = 0;
out:
    tv_free(text);
    tv_free(bytes_of);
    tv_free(chars_of);
    return rc;
}

/* ---- embedding ---------------------------------------------------------------------------- */

static int cmp_row_norm(const void *a, const void *b)
{
    const struct tv_report_row *x = a, *y = b;
    if (x->norm != y->norm)
        return x->norm < y->norm ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int embedding_section(struct tv_report *r, const tv_model *m,
                             const struct tv_report_options *opt, tv_error *err)
{
    r->embedding = tv_model_embedding(m);
    struct tv_embedding_health h;
    int scanned = tv_embedding_health_scan(m, &h, err);
    if (scanned < 0)
        return -1;
    if (scanned > 0) {
        snprintf(r->embedding_why, sizeof r->embedding_why, "%s", h.why);
        return 0;
    }
    int rc = -1;
    size_t cap = opt->max_listed;
    r->rows_judged = true;
    r->rows_are_tokens = h.vocab != NULL;
    r->rows = h.rows;
    r->cols = h.cols;
    r->low_rule = h.low_rule;
    r->median_norm = h.median;
    r->mad = h.mad;
    r->low_below = h.low_below;
    r->rows_low = h.rows_low;

    struct tv_histogram *hist = &r->norms;
    hist->n_bins = opt->norm_bins ? opt->norm_bins : 1;
    hist->counts = tv_calloc(hist->n_bins, sizeof *hist->counts);
    hist->marked = tv_calloc(hist->n_bins, sizeof *hist->marked);
    r->low = tv_malloc((h.rows_low ? h.rows_low : 1) * sizeof *r->low);
    r->nonfinite = tv_malloc((cap ? cap : 1) * sizeof *r->nonfinite);
    r->zero = tv_malloc((cap ? cap : 1) * sizeof *r->zero);
    if (!hist->counts || !hist->marked || !r->low || !r->nonfinite || !r->zero) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for the norms of %llu rows",
                     (unsigned long long)h.rows);
        goto out;
    }
    bool any = false;
    for (uint64_t row = 0; row < h.rows; row++) {
        uint8_t f = h.flags[row];
        struct tv_report_row item = {row, h.norms[row], (f & TV_ROW_TOKEN) != 0};
        if (!(f & TV_ROW_FINITE)) {
            r->rows_nonfinite++;
            r->rows_nan += (f & TV_ROW_NAN) != 0;
            item.norm = NAN;
            if (r->n_nonfinite < cap)
                r->nonfinite[r->n_nonfinite++] = item;
            continue;
        }
        if (f & TV_ROW_ZERO) {
            r->rows_zero++;
            if (r->n_zero < cap)
                r->zero[r->n_zero++] = item;
        }
        if (f & TV_ROW_LOW)
            r->low[r->n_low++] = item;
        double norm = h.norms[row];
        if (!any || norm < hist->lo)
            hist->lo = norm;
        if (!any || norm > hist->hi)
            hist->hi = norm;
        any = true;
    }
    qsort(r->low, r->n_low, sizeof *r->low, cmp_row_norm);
    if (r->n_low > cap)
        r->n_low = cap;
    if (any) {
        if (hist->hi <= hist->lo)
            hist->hi = hist->lo + (hist->lo > 0 ? hist->lo * 1e-6 : 1.0);
        double width = (hist->hi - hist->lo) / (double)hist->n_bins;
        for (uint64_t row = 0; row < h.rows; row++) {
            uint8_t f = h.flags[row];
            if (!(f & TV_ROW_FINITE))
                continue;
            double pos = ((double)h.norms[row] - hist->lo) / width;
            size_t bin = pos <= 0 ? 0 : pos >= (double)hist->n_bins ? hist->n_bins - 1
                                                                   : (size_t)pos;
            hist->counts[bin]++;
            hist->marked[bin] += (f & TV_ROW_LOW) != 0;
        }
    }
    rc = 0;
out:
    tv_embedding_health_release(&h);
    return rc;
}

/* ---- the word map ---------------------------------------------------------------------------- */

/* The word's tokens without a tokenizer: "Ġword" (byte-level) or "▁word" (SentencePiece
   spelling) as one token, else the word itself. Returns 1 and sets *id, or 0. */
static int find_word_token(const tv_model *m, bool byte_level, const char *word, uint32_t *id)
{
    size_t len = strlen(word);
    char *spelled = tv_malloc(len + 4);
    int found = 0;
    if (spelled) {
        memcpy(spelled, byte_level ? "\xC4\xA0" : "\xE2\x96\x81", byte_level ? 2 : 3);
        size_t plen = byte_level ? 2 : 3;
        memcpy(spelled + plen, word, len);
        found = tv_vocab_find(m, spelled, plen + len, id) == 0;
        tv_free(spelled);
    }
    return found || tv_vocab_find(m, word, len, id) == 0;
}

static void word_missing(struct tv_report_word *w, const char *why)
{
    w->how = TV_WORD_MISSING;
    w->why = tv_strdup(why);
}

/* Finds the tokens of word w. Returns 0 (w filled, perhaps as missing), -1 on OOM. */
static int resolve_word(struct tv_report *r, const tv_model *m, struct tv_report_word *w,
                        struct tv_ids *ids, tv_error *err)
{
    struct tv_report_private *p = r->priv;
    size_t len = strlen(w->word);
    int64_t unk = tv_vocab_special(m, TV_SPECIAL_UNK);
    if (p->tok) {
        /* a byte-level BPE spells a word inside a text with its space ("Ġking"); the
           SentencePiece and WordPiece pipelines add or need none */
        char *text = tv_malloc(len + 2);
        if (!text)
            return tv_error_set(err, TV_ERR_NOMEM, "out of memory");
        size_t n = 0;
        if (p->byte_level)
            text[n++] = ' ';
        memcpy(text + n, w->word, len);
        n += len;
        tv_error enc = {0};
        int rc = tv_encode(p->tok, text, n, 0, ids, &enc);
        tv_free(text);
        if (rc < 0) {
            if (enc.code == TV_ERR_NOMEM)
                return tv_error_set(err, TV_ERR_NOMEM, "%s", enc.message);
            word_missing(w, enc.message);
            return w->why ? 0 : tv_error_set(err, TV_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < ids->n; i++)
            if ((int64_t)ids->ids[i] == unk) {
                word_missing(w, "the tokenizer gives the unknown token");
                return w->why ? 0 : tv_error_set(err, TV_ERR_NOMEM, "out of memory");
            }
        if (!ids->n) {
            word_missing(w, "the tokenizer gives no tokens");
            return w->why ? 0 : tv_error_set(err, TV_ERR_NOMEM, "out of memory");
        }
    } else {
        uint32_t id;
        if (!find_word_token(m, p->byte_level, w->word, &id)) {
            word_missing(w, tv_vocab_size(m) ? "not a token of the vocabulary"
                                             : "the model has no vocabulary");
            return w->why ? 0 : tv_error_set(err, TV_ERR_NOMEM, "out of memory");
        }
        ids->ids[0] = id;
        ids->n = 1;
    }
    w->ids = tv_malloc(ids->n * sizeof *w->ids);
    if (!w->ids)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory");
    memcpy(w->ids, ids->ids, ids->n * sizeof *w->ids);
    w->n_ids = ids->n;
    w->how = ids->n == 1 ? TV_WORD_TOKEN : TV_WORD_TOKENS;
    return 0;
}

static int map_section(struct tv_report *r, const tv_model *m,
                       const struct tv_report_options *opt, tv_error *err)
{
    struct tv_report_private *p = r->priv;
    const char *const *words = opt->words;
    size_t n_words = opt->n_words;
    if (!words)
        words = tv_report_default_words(&n_words);
    int rc = -1;
    tv_embed *e = NULL;
    float *row = NULL;
    double *points = NULL, *xy = NULL;
    size_t *placed = NULL;
    struct tv_ids ids;
    tv_ids_init(&ids);

    r->words = tv_calloc(n_words ? n_words : 1, sizeof *r->words);
    if (!r->words)
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory for %zu words", n_words);
    for (size_t i = 0; i < n_words; i++) {
        r->words[i].word = tv_strdup(words[i]);
        if (!r->words[i].word)
            return tv_error_set(err, TV_ERR_NOMEM, "out of memory for %zu words", n_words);
        r->n_words = i + 1;
    }

    const struct tv_vocab *v = tv_model_vocab(m);
    p->byte_level = v && vocab_byte_level(v);
    if (v && v->n_tokens) {
        tv_error tok_err = {0};
        p->tok = tv_tokenizer_new(m, &tok_err);
        if (!p->tok) {
            if (tok_err.code == TV_ERR_NOMEM)
                return tv_error_set(err, TV_ERR_NOMEM, "%s", tok_err.message);
            snprintf(p->tokenizer_why, sizeof p->tokenizer_why, "%s", tok_err.message);
            r->tokenizer_why = p->tokenizer_why;
        }
    } else {
        snprintf(p->tokenizer_why, sizeof p->tokenizer_why, "the model has no vocabulary");
        r->tokenizer_why = p->tokenizer_why;
    }

    tv_error emb_err = {0};
    e = tv_embed_new(m, &emb_err);
    if (!e) {
        if (emb_err.code == TV_ERR_NOMEM) {
            tv_error_set(err, TV_ERR_NOMEM, "%s", emb_err.message);
            goto out;
        }
        snprintf(r->map_why, sizeof r->map_why, "%s", emb_err.message);
    }
    size_t dim = e ? tv_embed_dim(e) : 0;
    uint64_t cells = 0;
    if (e && (!tv_mul_u64_fits(n_words, dim, &cells) || cells > SIZE_MAX / sizeof(double))) {
        tv_error_set(err, TV_ERR_NOMEM, "%zu words of %zu values are too many", n_words, dim);
        goto out;
    }
    /* room for the longest word's tokens: never more tokens than bytes, plus a space */
    size_t longest_word = 0;
    for (size_t i = 0; i < n_words; i++)
        longest_word = strlen(words[i]) > longest_word ? strlen(words[i]) : longest_word;
    ids.ids = tv_malloc((longest_word + 2) * sizeof *ids.ids);
    ids.cap = longest_word + 2;
    row = tv_malloc((dim ? dim : 1) * sizeof *row);
    points = tv_malloc((e ? (size_t)cells : 1) * sizeof *points + sizeof *points);
    placed = tv_malloc((n_words ? n_words : 1) * sizeof *placed);
    if (!ids.ids || !row || !points || !placed) {
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for the word map");
        goto out;
    }

    for (size_t i = 0; i < n_words; i++) {
        struct tv_report_word *w = &r->words[i];
        ids.n = 0;
        if (resolve_word(r, m, w, &ids, err) < 0)
            goto out;
        if (w->how == TV_WORD_MISSING)
            continue;
        if (!e) {
            word_missing(w, "no embedding to place it");
            if (!w->why)
                goto oom;
            continue;
        }
        tv_error row_err = {0};
        if (tv_embed_mean(e, w->ids, w->n_ids, row, &row_err) < 0) {
            if (row_err.code == TV_ERR_NOMEM) {
                tv_error_set(err, TV_ERR_NOMEM, "%s", row_err.message);
                goto out;
            }
            word_missing(w, row_err.message);
            if (!w->why)
                goto oom;
            continue;
        }
        bool finite = true;
        for (size_t k = 0; k < dim && finite; k++)
            finite = isfinite(row[k]);
        if (!finite) {
            word_missing(w, "its row holds NaN or infinity");
            if (!w->why)
                goto oom;
            continue;
        }
        for (size_t k = 0; k < dim; k++)
            points[r->n_placed * dim + k] = row[k];
        placed[r->n_placed++] = i;
    }

    if (e && r->n_placed < 2) {
        snprintf(r->map_why, sizeof r->map_why, "%zu of the %zu words found a row: a map "
                 "needs at least 2", r->n_placed, n_words);
    } else if (e) {
        xy = tv_malloc(2 * r->n_placed * sizeof *xy);
        double variance[2], total;
        if (!xy)
            goto oom;
        if (tv_pca2(points, r->n_placed, dim, xy, NULL, variance, &total, err) < 0)
            goto out;
        for (size_t k = 0; k < r->n_placed; k++) {
            r->words[placed[k]].x = xy[2 * k];
            r->words[placed[k]].y = xy[2 * k + 1];
        }
        r->has_map = true;
        r->explained[0] = total > 0 ? variance[0] / total : 0;
        r->explained[1] = total > 0 ? variance[1] / total : 0;
    }
    rc = 0;
    goto out;
oom:
    tv_error_set(err, TV_ERR_NOMEM, "out of memory for the word map");
out:
    tv_ids_release(&ids);
    tv_embed_free(e);
    tv_free(row);
    tv_free(points);
    tv_free(xy);
    tv_free(placed);
    return rc;
}

/* ---- the report ----------------------------------------------------------------------------- */

struct tv_report *tv_report_new(tv_model *m, const struct tv_report_options *opt,
                                tv_error *err)
{
    struct tv_report_options defaults;
    if (!opt) {
        tv_report_options_init(&defaults);
        opt = &defaults;
    }
    struct tv_report *r = tv_calloc(1, sizeof *r);
    if (!r || !(r->priv = tv_calloc(1, sizeof *r->priv))) {
        tv_free(r);
        tv_error_set(err, TV_ERR_NOMEM, "out of memory for a report");
        return NULL;
    }
    r->priv->m = m;
    if (opt->run_verify && !(r->verify = tv_verify_run(m, opt->verify, err)))
        goto fail;
    if (tensor_section(r, m, err) < 0 || vocab_section(r, m, opt, err) < 0 ||
        embedding_section(r, m, opt, err) < 0 || map_section(r, m, opt, err) < 0)
        goto fail;
    return r;
fail:
    tv_report_free(r);
    return NULL;
}

void tv_report_free(struct tv_report *r)
{
    if (!r)
        return;
    tv_verify_report_free(r->verify);
    tv_free(r->by_size);
    tv_free(r->part);
    tv_free(r->length_bytes.counts);
    tv_free(r->length_chars.counts);
    tv_free(r->longest);
    tv_free(r->norms.counts);
    tv_free(r->norms.marked);
    tv_free(r->low);
    tv_free(r->nonfinite);
    tv_free(r->zero);
    for (size_t i = 0; i < r->n_words; i++) {
        tv_free((char *)r->words[i].word);
        tv_free(r->words[i].ids);
        tv_free((char *)r->words[i].why);
    }
    tv_free(r->words);
    if (r->priv)
        tv_tokenizer_free(r->priv->tok);
    tv_free(r->priv);
    tv_free(r);
}

/* ---- showing a token ---------------------------------------------------------------------- */

struct piece_buf {
    char *buf;
    size_t cap, len;
};

static void piece_put(struct piece_buf *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, d->len++)
        if (d->len + 1 < d->cap)
            d->buf[d->len] = s[i];
}

/* As tv_token_piece shows text: a space as "␣", \n \t \r \\ escaped, other control
   characters and bytes that are not whole UTF-8 characters as \xNN. */
static void piece_show(struct piece_buf *d, const char *s, size_t len)
{
    char hex[8];
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        unsigned char c = (unsigned char)s[i];
        if (k <= 0 || ((c < 0x20 || c == 0x7F) && c != '\n' && c != '\t' && c != '\r')) {
            snprintf(hex, sizeof hex, "\\x%02x", c);
            piece_put(d, hex, 4);
            i++;
            continue;
        }
        if (c == ' ')
            piece_put(d, "\xE2\x90\xA3", 3);
        else if (c == '\n')
            piece_put(d, "\\n", 2);
        else if (c == '\t')
            piece_put(d, "\\t", 2);
        else if (c == '\r')
            piece_put(d, "\\r", 2);
        else if (c == '\\')
            piece_put(d, "\\\\", 2);
        else
            piece_put(d, s + i, (size_t)k);
        i += (size_t)k;
    }
}

int tv_report_token_piece(const struct tv_report *r, uint32_t id, char *buf, size_t cap)
{
    if (r->priv->tok)
        return tv_token_piece(r->priv->tok, id, buf, cap);
    const tv_model *m = r->priv->m;
    const struct tv_vocab *v = tv_model_vocab(m);
    const struct tv_token *t = tv_vocab_token(m, id);
    if (!v || !t || !t->text)
        return -1;
    struct piece_buf d = {buf, cap, 0};
    char *text = tv_malloc((size_t)t->len + 1);
    if (text) {
        size_t n = token_text(v, vocab_byte_level(v), t, text);
        piece_show(&d, text, n);
        tv_free(text);
    } else {
        piece_show(&d, t->text, t->len);
    }
    if (cap)
        buf[d.len < cap ? d.len : cap - 1] = '\0';
    return (int)d.len;
}
