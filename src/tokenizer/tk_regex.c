/*
 * Regular expressions with Oniguruma's meaning, run by PCRE2.
 *
 * Hugging Face tokenizers compiles the patterns of tokenizer.json with Oniguruma
 * (Ruby syntax, UTF-8). PCRE2 agrees on nearly everything; where the two differ the
 * pattern is rewritten before compiling:
 *   - \s is White_Space (\t-\r, U+0085, Z*); PCRE2's also takes U+180E.
 *   - \w is Unicode's word property (Alphabetic, M, Nd, Pc, Join_Control); PCRE2
 *     10.42's is L, N and "_".
 *   - \h is a hex digit (PCRE2: horizontal space).
 *   - \uHHHH is a code point; {,n} means {0,n}.
 *   - (?m) is "dot matches newline" (PCRE2's s); ^ and $ always match at line ends.
 * and the matches are iterated as Oniguruma's find_iter does.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tok.h"

struct tk_regex {
    pcre2_code *code;
};

static void *px_malloc(PCRE2_SIZE n, void *data)
{
    (void)data;
    return tv_malloc(n);
}

static void px_free(void *p, void *data)
{
    (void)data;
    tv_free(p);
}

static pcre2_general_context *shared_gc;

static void create_gc(void)
{
    shared_gc = pcre2_general_context_create(px_malloc, px_free, NULL);
}

/* One context for the process (tokenizers may be built on several threads): it only
   routes PCRE2's allocations to the library's allocator hooks, read at call time. */
static pcre2_general_context *general_context(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, create_gc);
    return shared_gc;
}

struct growbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void gb_put(struct growbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (tv_grow((void **)&b->p, &b->cap, b->len + n + 1, 1, NULL) < 0) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void gb_puts(struct growbuf *b, const char *s)
{
    gb_put(b, s, strlen(s));
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Rewrites an Oniguruma pattern for PCRE2 (see the top of the file). */
static int translate(const char *pat, size_t len, struct growbuf *out, const char **why)
{
    static const char ws_set[] = "\\t-\\r\\x{85}\\p{Z}";
    static const char word_set[] =
        "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
    int in_class = 0;          /* nesting of [...] */
    bool class_start = false;  /* just after '[' or '[^' (a ']' here is literal) */
    for (size_t i = 0; i < len; i++) {
        char c = pat[i];
        if (c == '\\' && i + 1 < len) {
            char x = pat[++i];
            class_start = false;
            switch (x) {
            case 's':
                if (in_class)
                    gb_puts(out, ws_set);
                else
                    gb_puts(out, "[\\t-\\r\\x{85}\\p{Z}]");
                continue;
            case 'S':
                gb_puts(out, in_class ? "\\S" : "[^\\t-\\r\\x{85}\\p{Z}]");
                continue;
            case 'w':
                if (in_class)
                    gb_puts(out, word_set);
                else
                    gb_puts(out, "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]");
                continue;
            case 'W':
                gb_puts(out, in_class ? "\\W"
                                      : "[^\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]");
                continue;
            case 'h':
                gb_puts(out, in_class ? "0-9a-fA-F" : "[0-9a-fA-F]");
                continue;
            case 'H':
                if (in_class) {
                    *why = "\\H inside a character class";
                    return -1;
                }
                gb_puts(out, "[^0-9a-fA-F]");
                continue;
            case 'u':
                if (i + 4 < len && is_hex(pat[i + 1]) && is_hex(pat[i + 2]) && is_hex(pat[i + 3]) &&
                    is_hex(pat[i + 4])) {
                    gb_puts(out, "\\x{");
                    gb_put(out, pat + i + 1, 4);
                    gb_puts(out, "}");
                    i += 4;
                    continue;
                }
                break;
            default:
                break;
            }
            char esc[2] = {'\\', x};
            gb_put(out, esc, 2);
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < len && pat[i + 1] == ':') {
                /* POSIX bracket [:alpha:]: copy through the closing ":]" */
                const char *end = memmem(pat + i + 2, len - i - 2, ":]", 2);
                if (end) {
                    size_t n = (size_t)(end - (pat + i)) + 2;
                    gb_put(out, pat + i, n);
                    i += n - 1;
                    class_start = false;
                    continue;
                }
            }
            if (c == '[') {
                *why = "a nested character class";
                return -1;
            }
            if (c == '&' && i + 1 < len && pat[i + 1] == '&') {
                *why = "a character class intersection (&&)";
                return -1;
            }
            if (c == ']' && !class_start) {
                in_class = 0;
                gb_put(out, "]", 1);
                continue;
            }
            if (c == '^' && class_start && pat[i - 1] == '[') {
                gb_put(out, "^", 1);
                continue; /* still at the start: a ']' next is literal */
            }
            class_start = false;
            gb_put(out, &c, 1);
            continue;
        }
        if (c == '[') {
            in_class = 1;
            class_start = true;
            gb_put(out, "[", 1);
            continue;
        }
        if (c == '(' && i + 2 < len && pat[i + 1] == '?') {
            /* inline options: (?imx-imx) or (?imx-imx:...) with Ruby's m = dotall */
            size_t j = i + 2;
            while (j < len && (pat[j] == 'i' || pat[j] == 'm' || pat[j] == 'x' || pat[j] == '-'))
                j++;
            if (j > i + 2 && j < len && (pat[j] == ')' || pat[j] == ':')) {
                gb_puts(out, "(?");
                for (size_t k = i + 2; k < j; k++)
                    gb_put(out, pat[k] == 'm' ? "s" : &pat[k], 1);
                i = j - 1;
                continue;
            }
        }
        if (c == '{' && i + 2 < len && pat[i + 1] == ',' && pat[i + 2] >= '0' && pat[i + 2] <= '9') {
            gb_puts(out, "{0");
            continue;
        }
        gb_put(out, &c, 1);
    }
    if (out->oom) {
        *why = "out of memory";
        return -1;
    }
    if (!out->p)
        gb_put(out, "", 0);
    return 0;
}

static struct tk_regex *compile(const char *pat, size_t len, uint32_t extra, const char *shown,
                                size_t shown_len, const char *where, tv_error *err)
{
    struct tk_regex *re = NULL;
    pcre2_compile_context *cc = pcre2_compile_context_create(general_context());
    if (!cc) {
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory compiling a regex", where);
        return NULL;
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *pc = pcre2_compile((PCRE2_SPTR)pat, len,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | extra, &code,
                                   &offset, cc);
    pcre2_compile_context_free(cc);
    if (!pc) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: regex '%.*s' does not compile: %s", where,
                     (int)(shown_len > 200 ? 200 : shown_len), shown, (const char *)msg);
        return NULL;
    }
    /* Without the JIT (not built in, or no executable memory) PCRE2 interprets. */
    pcre2_jit_compile(pc, PCRE2_JIT_COMPLETE);
    re = tv_malloc(sizeof *re);
    if (!re) {
        pcre2_code_free(pc);
        tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory compiling a regex", where);
        return NULL;
    }
    re->code = pc;
    return re;
}

struct tk_regex *tk_regex_new(const char *pattern, size_t len, const char *where, tv_error *err)
{
    struct growbuf b = {0};
    const char *why = NULL;
    if (tk_utf8_valid_prefix(pattern, len, &(size_t){0}) != len) {
        tv_error_set(err, TV_ERR_DATA, "%s: regex is not valid UTF-8", where);
        return NULL;
    }
    if (translate(pattern, len, &b, &why) < 0) {
        tv_free(b.p);
        tv_error_set(err, b.oom ? TV_ERR_NOMEM : TV_ERR_UNSUPPORTED,
                     "%s: regex '%.*s' uses %s, which tokvec does not support", where,
                     (int)(len > 200 ? 200 : len), pattern, why);
        return NULL;
    }
    struct tk_regex *re = compile(b.p, b.len, PCRE2_MULTILINE, pattern, len, where, err);
    tv_free(b.p);
    return re;
}

struct tk_regex *tk_regex_new_literal(const char *text, size_t len, const char *where,
                                      tv_error *err)
{
    return compile(text, len, PCRE2_LITERAL, text, len, where, err);
}

void tk_regex_free(struct tk_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    tv_free(re);
}

int tk_regex_ctx_init(struct tk_regex_ctx *c, tv_error *err)
{
    memset(c, 0, sizeof *c);
    c->md = pcre2_match_data_create(1, general_context());
    c->mctx = pcre2_match_context_create(general_context());
    /* The default 32 KiB JIT stack is too small for \s+ runs of a few MB. */
    c->stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, general_context());
    if (!c->md || !c->mctx) {
        tk_regex_ctx_release(c);
        return tv_error_set(err, TV_ERR_NOMEM, "out of memory for regex matching");
    }
    if (c->stack)
        pcre2_jit_stack_assign(c->mctx, NULL, c->stack);
    return 0;
}

void tk_regex_ctx_release(struct tk_regex_ctx *c)
{
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mctx);
    pcre2_jit_stack_free(c->stack);
    memset(c, 0, sizeof *c);
}

int tk_regex_search(const struct tk_regex *re, struct tk_regex_ctx *c, const char *s, size_t len,
                    size_t start, size_t *mstart, size_t *mend)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
    if (rc < 0)
        return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    *mstart = ov[0];
    *mend = ov[1];
    return 1;
}

static int push_match(struct tk_matches *out, size_t start, size_t end, bool is_match,
                      tv_error *err)
{
    if (tv_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v, err) < 0)
        return -1;
    out->v[out->n++] = (struct tk_match){(uint32_t)start, (uint32_t)end, is_match};
    return 0;
}

int tk_regex_find(const struct tk_regex *re, struct tk_regex_ctx *c, const char *s, size_t len,
                  struct tk_matches *out, tv_error *err)
{
    if (len == 0)
        return push_match(out, 0, 0, false, err);
    size_t last_end = 0, prev = 0;
    bool have_last = false;
    size_t last_match_end = 0;
    while (last_end <= len) {
        size_t ms, me;
        int rc = tk_regex_search(re, c, s, len, last_end, &ms, &me);
        if (rc < 0)
            return tv_error_set(err, TV_ERR_LIMIT,
                                "regex matching failed on a piece of %zu bytes (PCRE2 error)",
                                len);
        if (rc == 0)
            break;
        if (ms == me && have_last && last_match_end == me) {
            /* Oniguruma's rule: no empty match right where the last one ended. */
            last_end += last_end < len ? (size_t)tk_utf8_len((unsigned char)s[last_end]) : 1;
            continue;
        }
        last_end = me;
        last_match_end = me;
        have_last = true;
        if (prev != ms && push_match(out, prev, ms, false, err) < 0)
            return -1;
        if (push_match(out, ms, me, true, err) < 0)
            return -1;
        prev = me;
    }
    if (prev != len && push_match(out, prev, len, false, err) < 0)
        return -1;
    return 0;
}
