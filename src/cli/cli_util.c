/* Helpers shared by the tokvec commands (see cli_util.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "cli.h"

/* ---- errors ---------------------------------------------------------------------- */

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout); /* keep stdout and stderr in order when both go to a terminal */
    fputs("tokvec: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char spec[128];
    /* A leading ':' makes getopt tell a missing argument (':') from an unknown option
       ('?'); '+' is not used: options may follow the paths. */
    snprintf(spec, sizeof spec, ":%s", shortopts);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == '?') {
        if (optopt && optopt < 0x100)
            cli_error("%s: unknown option '-%c' (see tokvec help %s)", argv[0], optopt, argv[0]);
        else
            cli_error("%s: unknown option '%s' (see tokvec help %s)", argv[0], argv[optind - 1],
                      argv[0]);
        return '?';
    }
    if (c == ':') {
        if (optopt && optopt < 0x100)
            cli_error("%s: option '-%c' needs an argument", argv[0], optopt);
        else
            cli_error("%s: option '%s' needs an argument", argv[0], argv[optind - 1]);
        return '?';
    }
    return c;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t value = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (!tv_mul_u64_fits(value, 10, &value) || !tv_add_u64_fits(value, (uint64_t)(*p - '0'),
                                                                      &value))
            return -1;
    }
    *out = value;
    return 0;
}

/* ---- opening models ---------------------------------------------------------------- */

int cli_open_option(struct tv_open_options *opt, int c, const char *arg)
{
    uint64_t value;
    switch (c) {
    case CLI_OPT_EMBEDDING:
        if (!*arg) {
            cli_error("--embedding needs a tensor name");
            return -1;
        }
        opt->embedding = arg;
        return 1;
    case CLI_OPT_MAX_HEADER_BYTES:
        if (cli_parse_u64(arg, &value) < 0 || value == 0) {
            cli_error("--max-header-bytes '%s': expected a positive number of bytes", arg);
            return -1;
        }
        opt->max_header_bytes = value;
        return 1;
    case CLI_OPT_MAX_TENSORS:
        if (cli_parse_u64(arg, &value) < 0 || value == 0) {
            cli_error("--max-tensors '%s': expected a positive count", arg);
            return -1;
        }
        opt->max_tensors = value;
        return 1;
    case CLI_OPT_REVISION:
        if (!*arg) {
            cli_error("--revision needs a ref (main, a branch) or a commit hash");
            return -1;
        }
        opt->revision = arg;
        return 1;
    case CLI_OPT_VOCAB:
        if (!*arg) {
            cli_error("--vocab needs a file with one token per line");
            return -1;
        }
        opt->vocab_file = arg;
        return 1;
    case CLI_OPT_PYTORCH_KEY:
        if (!*arg) {
            cli_error("--key needs the key of a state dict in the checkpoint (\"model\")");
            return -1;
        }
        opt->pytorch_key = arg;
        return 1;
    case CLI_OPT_MAX_MEMBER_BYTES:
    case CLI_OPT_MAX_UNPACKED_BYTES:
    case CLI_OPT_MAX_EXPAND_RATIO:
        if (cli_parse_u64(arg, &value) < 0 || value == 0) {
            cli_error("--%s '%s': expected a positive %s",
                      c == CLI_OPT_MAX_MEMBER_BYTES     ? "max-member-bytes"
                      : c == CLI_OPT_MAX_UNPACKED_BYTES ? "max-unpacked-bytes"
                                                        : "max-expand-ratio",
                      arg, c == CLI_OPT_MAX_EXPAND_RATIO ? "ratio" : "number of bytes");
            return -1;
        }
        if (c == CLI_OPT_MAX_MEMBER_BYTES)
            opt->max_member_bytes = value;
        else if (c == CLI_OPT_MAX_UNPACKED_BYTES)
            opt->max_unpacked_bytes = value;
        else
            opt->max_expand_ratio = value;
        return 1;
    default:
        return 0;
    }
}

tv_model *cli_open_model(const char *path, const struct tv_open_options *opt, tv_error *err_out)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, opt, &err);
    if (!m) {
        if (!err.message[0])
            snprintf(err.message, sizeof err.message, "%s", tv_status_name(err.code));
        if (err_out)
            *err_out = err;
        const char *msg = err.message;
        /* The library names the file; add the path only when the message does not. */
        if (strstr(msg, path))
            cli_error("%s", msg);
        else
            cli_error("%s: %s", path, msg);
    }
    return m;
}

/* ---- text buffer -------------------------------------------------------------------- */

void cli_buf_init(struct cli_buf *b)
{
    static char empty[1];
    b->ptr = empty;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

void cli_buf_release(struct cli_buf *b)
{
    if (b->cap)
        tv_free(b->ptr);
    cli_buf_init(b);
}

void cli_buf_reset(struct cli_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->ptr[0] = '\0';
}

static bool buf_reserve(struct cli_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = b->cap ? tv_realloc(b->ptr, cap) : tv_malloc(cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    if (!b->cap)
        p[0] = '\0';
    b->ptr = p;
    b->cap = cap;
    return true;
}

void cli_buf_append(struct cli_buf *b, const char *s, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    memcpy(b->ptr + b->len, s, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void cli_buf_puts(struct cli_buf *b, const char *s)
{
    cli_buf_append(b, s, strlen(s));
}

void cli_buf_printf(struct cli_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        cli_buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- display ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4) and its code point, or 0 when the
   bytes there are not valid UTF-8 (overlong, surrogate, truncated, stray byte). */
static size_t utf8_next(const uint8_t *p, size_t len, int32_t *cp)
{
    utf8proc_int32_t code;
    utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)(len > 4 ? 4 : len), &code);
    if (n <= 0)
        return 0;
    *cp = code;
    return (size_t)n;
}

static bool shown_as_is(int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC: /* C0 and C1 controls */
    case UTF8PROC_CATEGORY_ZL: /* U+2028 line separator */
    case UTF8PROC_CATEGORY_ZP: /* U+2029 paragraph separator */
        return false;
    default:
        return true;
    }
}

/* Appends the display form of bytes, one unit (a character or an escape) at a time,
   stopping before the output would pass max_out bytes. Returns the input bytes used. */
static size_t escape_units(struct cli_buf *b, const char *bytes, size_t len, unsigned flags,
                           size_t max_out)
{
    const uint8_t *p = (const uint8_t *)bytes;
    size_t i = 0, out = 0;
    while (i < len) {
        uint8_t c = p[i];
        char unit[32];
        size_t unit_len, used;
        if (c == '\\' || (c == '"' && (flags & CLI_ESCAPE_QUOTE))) {
            unit[0] = '\\';
            unit[1] = (char)c;
            unit_len = 2;
            used = 1;
        } else if (c >= 0x20 && c < 0x7f) {
            unit[0] = (char)c;
            unit_len = used = 1;
        } else {
            int32_t cp;
            size_t n = c >= 0x80 ? utf8_next(p + i, len - i, &cp) : 0;
            if (n && shown_as_is(cp)) {
                memcpy(unit, p + i, n);
                unit_len = used = n;
            } else {
                /* a control character or an invalid sequence: each byte as \xNN */
                used = n ? n : 1;
                unit_len = 0;
                for (size_t j = 0; j < used; j++)
                    unit_len += (size_t)snprintf(unit + unit_len, sizeof unit - unit_len,
                                                 "\\x%02X", p[i + j]);
            }
        }
        if (out + unit_len > max_out)
            break;
        cli_buf_append(b, unit, unit_len);
        out += unit_len;
        i += used;
    }
    return i;
}

void cli_escape(struct cli_buf *b, const char *bytes, size_t len, unsigned flags)
{
    escape_units(b, bytes, len, flags, SIZE_MAX);
}

const char *cli_escaped(const char *bytes, size_t len, unsigned flags, size_t max_chars)
{
    static struct cli_buf buf;
    static bool ready;
    if (!ready) {
        cli_buf_init(&buf);
        ready = true;
    }
    cli_buf_reset(&buf);
    size_t used = escape_units(&buf, bytes, len, flags, max_chars ? max_chars : SIZE_MAX);
    if (used < len)
        cli_buf_puts(&buf, "...");
    return buf.oom ? "(out of memory)" : buf.ptr;
}

bool cli_utf8_exact(const char *bytes, size_t len)
{
    const uint8_t *p = (const uint8_t *)bytes;
    size_t i = 0;
    while (i < len) {
        if (p[i] == 0)
            return false;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        size_t n = utf8_next(p + i, len - i, &cp);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

static const char *human(uint64_t value, const char *const *units, size_t n_units,
                         const char *sep, char out[32])
{
    if (value < 1000) {
        snprintf(out, 32, "%llu%s%s", (unsigned long long)value, units[0][0] ? sep : "",
                 units[0]);
        return out;
    }
    double v = (double)value;
    size_t u = 0;
    while (v >= 999.95 && u + 1 < n_units) {
        v /= 1000.0;
        u++;
    }
    snprintf(out, 32, "%.1f%s%s", v, sep, units[u]);
    return out;
}

const char *cli_human_bytes(uint64_t bytes, char out[32])
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    return human(bytes, units, TV_ARRAY_SIZE(units), " ", out);
}

const char *cli_human_count(uint64_t count, char out[32])
{
    static const char *const units[] = {"", "K", "M", "B", "T", "P", "E"};
    return human(count, units, TV_ARRAY_SIZE(units), " ", out);
}

const char *cli_shape(const struct tv_tensor *t, char out[256])
{
    if (t->n_dims == 0) {
        snprintf(out, 256, "scalar");
        return out;
    }
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < t->n_dims && i < TV_MAX_DIMS && used < 255; i++)
        used += (size_t)snprintf(out + used, 256 - used, "%s%llu", i ? " x " : "",
                                 (unsigned long long)t->shape[i]);
    return out;
}

const char *cli_tokenizer_label(enum tv_tokenizer_kind kind)
{
    switch (kind) {
    case TV_TOKENIZER_BPE: return "BPE";
    case TV_TOKENIZER_WORDPIECE: return "WordPiece";
    case TV_TOKENIZER_WORDLEVEL: return "WordLevel";
    case TV_TOKENIZER_UNIGRAM: return "Unigram";
    case TV_TOKENIZER_NONE: break;
    }
    return "unknown kind";
}

const char *cli_token_flags(unsigned flags, char out[64])
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {TV_TOKEN_ADDED, "added"},   {TV_TOKEN_SPECIAL, "special"},
        {TV_TOKEN_LSTRIP, "lstrip"}, {TV_TOKEN_RSTRIP, "rstrip"},
        {TV_TOKEN_SINGLE_WORD, "single_word"}, {TV_TOKEN_NORMALIZED, "normalized"},
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++)
        if (flags & names[i].bit)
            used += (size_t)snprintf(out + used, 64 - used, "%s%s", used ? "," : "",
                                     names[i].name);
    if (!used)
        snprintf(out, 64, "-");
    return out;
}

/* ---- JSON ----------------------------------------------------------------------------- */

int cli_json_add_bytes(cJSON *obj, const char *key, const char *bytes, size_t len)
{
    if (cli_utf8_exact(bytes, len)) {
        /* cJSON copies up to the NUL: exact because the bytes hold none */
        char *copy = tv_strndup(bytes, len);
        cJSON *item = copy ? cJSON_AddStringToObject(obj, key, copy) : NULL;
        tv_free(copy);
        return item ? 0 : -1;
    }
    struct cli_buf text, hex;
    cli_buf_init(&text);
    cli_buf_init(&hex);
    const uint8_t *p = (const uint8_t *)bytes;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = p[i] >= 0x80 ? utf8_next(p + i, len - i, &cp) : (p[i] ? 1 : 0);
        if (n) {
            cli_buf_append(&text, bytes + i, n);
            i += n;
        } else {
            cli_buf_append(&text, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i++;
        }
    }
    for (size_t i = 0; i < len; i++)
        cli_buf_printf(&hex, "%02x", p[i]);
    char hex_key[128];
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    int rc = -1;
    if (!text.oom && !hex.oom && cJSON_AddStringToObject(obj, key, text.ptr) &&
        cJSON_AddStringToObject(obj, hex_key, hex.ptr))
        rc = 0;
    cli_buf_release(&text);
    cli_buf_release(&hex);
    return rc;
}

cJSON *cli_json_add_u64(cJSON *obj, const char *key, uint64_t value)
{
    if (value <= (1ULL << 53))
        return cJSON_AddNumberToObject(obj, key, (double)value);
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)value);
    return cJSON_AddStringToObject(obj, key, text);
}

int cli_json_print(const cJSON *doc, bool pretty)
{
    char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    if (!text) {
        cli_error("out of memory printing JSON");
        return -1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    cJSON_free(text);
    return 0;
}
