/*
 * The HTML page of tokvec report (see report_cli.h). One file, readable offline: CSS in
 * a <style>, charts as inline SVG, one inline <script> that sorts the tensor table; a
 * Content-Security-Policy meta tag forbids loading anything else.
 *
 * Every chart draws one <rect class="bar"> per bin or part (a bin with no tokens is a
 * bar of height 0) and the map one <circle class="point"> per placed word, so that the
 * counts in the page match the numbers of `--json` (tests/test_report_browser.c checks
 * them in a browser). Every bar carries a <title> with its exact number.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_summary.h"
#include "report_cli.h"

/* chart geometry, in SVG user units (the SVG scales to the page width) */
#define CHART_W 900     /* a full-width chart */
#define HALF_W 440      /* one of two charts side by side */
#define CHART_H 220
#define PAD_L 60
#define PAD_R 14
#define PAD_T 14
#define PAD_B 42
#define MAP_W 900
#define MAP_H 560
#define ROW_H 22        /* one bar of a horizontal bar chart */

static const char *const part_colors[TV_PART_COUNT] = {
    [TV_PART_EMBEDDING] = "#4e79a7", [TV_PART_OUTPUT] = "#f28e2b",
    [TV_PART_ATTENTION] = "#e15759", [TV_PART_MLP] = "#76b7b2",
    [TV_PART_NORM] = "#59a14f",      [TV_PART_OTHER] = "#bab0ac",
};

/* ---- text ---------------------------------------------------------------------------------- */

/* Appends text for HTML: & < > " ' as entities. text must be valid UTF-8 (it comes
   from cli_escape or tv_report_token_piece). */
static void esc_n(struct cli_buf *b, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *entity = NULL;
        switch (s[i]) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&#39;"; break;
        default: continue;
        }
        cli_buf_append(b, s + start, i - start);
        cli_buf_puts(b, entity);
        start = i + 1;
    }
    cli_buf_append(b, s + start, len - start);
}

static void esc(struct cli_buf *b, const char *s)
{
    esc_n(b, s, strlen(s));
}

/* Bytes from a model (names, paths) shown escaped as inspect shows them, then for HTML. */
static void esc_bytes(struct cli_buf *b, const char *bytes, size_t len)
{
    struct cli_buf t;
    cli_buf_init(&t);
    cli_escape(&t, bytes, len, 0);
    esc_n(b, t.ptr, t.len);
    if (t.oom)
        b->oom = true;
    cli_buf_release(&t);
}

/* "12,345" */
static const char *grouped(uint64_t n, char out[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

static const char *percent(uint64_t part, uint64_t whole, char out[32])
{
    double p = whole ? 100.0 * (double)part / (double)whole : 0;
    snprintf(out, 32, p > 0 && p < 0.1 ? "%.2f%%" : "%.1f%%", p);
    return out;
}

/* A token shown for people, HTML-escaped: the report's piece form, or a note. */
static void token_cell(struct cli_buf *b, const struct tv_report *r, uint64_t id)
{
    char piece[256];
    int n = id <= UINT32_MAX ? tv_report_token_piece(r, (uint32_t)id, piece, sizeof piece) : -1;
    if (n < 0) {
        cli_buf_puts(b, "<span class=\"none\">(no token)</span>");
        return;
    }
    cli_buf_puts(b, "<code class=\"tok\">");
    esc(b, piece);
    if ((size_t)n >= sizeof piece)
        cli_buf_puts(b, "&hellip;");
    cli_buf_puts(b, "</code>");
}

/* ---- charts -------------------------------------------------------------------------------- */

static double nice_max(uint64_t max)
{
    return max ? (double)max : 1.0;
}

/* The y axis of a histogram: 0, half and the top, with grid lines. */
static void y_axis(struct cli_buf *b, uint64_t max, int width, int plot_h)
{
    for (int k = 0; k <= 2; k++) {
        double y = PAD_T + plot_h - plot_h * k / 2.0;
        char num[32];
        cli_buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>",
                       PAD_L, y, width - PAD_R, y);
        cli_buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                       PAD_L - 6, y + 4, grouped((uint64_t)llround((double)max * k / 2.0), num));
    }
}

/*
 * A vertical-bar histogram with id: counts[n] bars; label(i) for the bar titles and the
 * ticks under every step-th bar; marked (may be NULL) bars are drawn as outliers.
 */
struct hist_labels {
    void (*label)(struct cli_buf *b, const void *ctx, size_t i); /* short, for ticks */
    void (*title)(struct cli_buf *b, const void *ctx, size_t i, uint64_t count,
                  uint64_t marked);
    const void *ctx;
};

static void histogram(struct cli_buf *b, const char *id, int width, const char *aria,
                      const uint64_t *counts, const uint64_t *marked, size_t n,
                      const struct hist_labels *lab, const char *x_title,
                      void (*extra)(struct cli_buf *b, const void *ctx), const void *extra_ctx)
{
    int plot_w = width - PAD_L - PAD_R, plot_h = CHART_H - PAD_T - PAD_B;
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = counts[i] > max ? counts[i] : max;
    double bw = (double)plot_w / (double)(n ? n : 1);
    double gap = bw > 6 ? 1.5 : bw > 2 ? 0.5 : 0;
    cli_buf_printf(b, "<svg id=\"%s\" class=\"chart\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, width, CHART_H, width,
                   CHART_H);
    esc(b, aria);
    cli_buf_puts(b, "\">");
    y_axis(b, max, width, plot_h);
    size_t step = n > 16 ? (n + 15) / 16 : 1;
    for (size_t i = 0; i < n; i++) {
        double h = (double)counts[i] / nice_max(max) * plot_h;
        if (counts[i] && h < 1.5)
            h = 1.5; /* a single token stays visible */
        double x = PAD_L + (double)i * bw + gap / 2;
        cli_buf_printf(b, "<rect class=\"bar%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                       "height=\"%.2f\"><title>", marked && marked[i] ? " low" : "", x,
                       PAD_T + plot_h - h, bw - gap, h);
        lab->title(b, lab->ctx, i, counts[i], marked ? marked[i] : 0);
        cli_buf_puts(b, "</title></rect>");
        if (i % step == 0 || i == n - 1) {
            if (i == n - 1 && i % step && (n - 1) % step < step / 2)
                continue; /* too close to the previous tick */
            cli_buf_printf(b, "<text class=\"tick\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">",
                           x + (bw - gap) / 2, PAD_T + plot_h + 15);
            lab->label(b, lab->ctx, i);
            cli_buf_puts(b, "</text>");
        }
    }
    cli_buf_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", PAD_L,
                   PAD_T + plot_h, width - PAD_R, PAD_T + plot_h);
    cli_buf_printf(b, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
                   PAD_L + plot_w / 2, CHART_H - 6);
    esc(b, x_title);
    cli_buf_puts(b, "</text>");
    if (extra)
        extra(b, extra_ctx);
    cli_buf_puts(b, "</svg>\n");
}

struct length_ctx {
    const struct tv_length_histogram *h;
    const char *unit; /* "byte", "character" */
};

static bool open_last_bin(const struct tv_length_histogram *h)
{
    return h->longest + 1 > h->n_bins;
}

static void length_label(struct cli_buf *b, const void *ctx, size_t i)
{
    const struct length_ctx *c = ctx;
    cli_buf_printf(b, "%zu%s", i, i == c->h->n_bins - 1 && open_last_bin(c->h) ? "+" : "");
}

static void length_title(struct cli_buf *b, const void *ctx, size_t i, uint64_t count,
                         uint64_t marked)
{
    const struct length_ctx *c = ctx;
    char num[32];
    (void)marked;
    cli_buf_printf(b, "%zu%s %s%s: %s token%s", i,
                   i == c->h->n_bins - 1 && open_last_bin(c->h) ? " or more" : "", c->unit,
                   i == 1 && !(i == c->h->n_bins - 1 && open_last_bin(c->h)) ? "" : "s",
                   grouped(count, num), count == 1 ? "" : "s");
}

static void length_histogram(struct cli_buf *b, const char *id, const struct tv_length_histogram *h,
                             const char *unit, const char *x_title)
{
    struct length_ctx c = {h, unit};
    struct hist_labels lab = {length_label, length_title, &c};
    char aria[96];
    snprintf(aria, sizeof aria, "tokens by length in %ss", unit);
    histogram(b, id, HALF_W, aria, h->counts, NULL, h->n_bins, &lab, x_title, NULL, NULL);
}

static double norm_bin_lo(const struct tv_histogram *h, size_t i)
{
    return h->lo + (h->hi - h->lo) * (double)i / (double)h->n_bins;
}

static void norm_label(struct cli_buf *b, const void *ctx, size_t i)
{
    const struct tv_histogram *h = ctx;
    cli_buf_printf(b, "%.3g", norm_bin_lo(h, i));
}

static void norm_title(struct cli_buf *b, const void *ctx, size_t i, uint64_t count,
                       uint64_t marked)
{
    const struct tv_histogram *h = ctx;
    char num[32];
    cli_buf_printf(b, "norm %.4g to %.4g: %s row%s", norm_bin_lo(h, i), norm_bin_lo(h, i + 1),
                   grouped(count, num), count == 1 ? "" : "s");
    if (marked)
        cli_buf_printf(b, ", %s low-norm", grouped(marked, num));
}

/* A vertical line at value on the norm histogram's axis, with a caption. */
static void norm_marker(struct cli_buf *b, const struct tv_histogram *h, double value,
                        const char *cls, const char *caption, int row)
{
    if (!(value >= h->lo && value <= h->hi))
        return;
    int plot_w = CHART_W - PAD_L - PAD_R, plot_h = CHART_H - PAD_T - PAD_B;
    double x = PAD_L + (value - h->lo) / (h->hi - h->lo) * plot_w;
    cli_buf_printf(b, "<line class=\"%s\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>", cls, x,
                   PAD_T, x, PAD_T + plot_h);
    cli_buf_printf(b, "<text class=\"marker-label\" x=\"%.2f\" y=\"%d\" text-anchor=\"%s\">",
                   x + (x > PAD_L + plot_w * 0.7 ? -4 : 4), PAD_T + 10 + 12 * row,
                   x > PAD_L + plot_w * 0.7 ? "end" : "start");
    esc(b, caption);
    cli_buf_puts(b, "</text>");
}

/* The median and the low-norm threshold on the norm histogram. */
static void norm_markers(struct cli_buf *b, const void *ctx)
{
    const struct tv_report *r = ctx;
    char caption[96];
    if (!r->low_rule)
        return;
    snprintf(caption, sizeof caption, "median %.3g", r->median_norm);
    norm_marker(b, &r->norms, r->median_norm, "median", caption, 0);
    snprintf(caption, sizeof caption, "low below %.3g", r->low_below);
    norm_marker(b, &r->norms, r->low_below, "threshold", caption, 1);
}

/* A horizontal bar chart: one bar per entry, longest first as given. */
struct hbar {
    const char *label;
    uint64_t value;
    const char *color; /* NULL: the default bar colour */
};

static void hbars(struct cli_buf *b, const char *id, const char *aria, const struct hbar *bars,
                  size_t n, uint64_t whole, const char *unit)
{
    int label_w = 120, value_w = 150;
    int plot_w = CHART_W - label_w - value_w;
    int height = (int)n * ROW_H + 8;
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = bars[i].value > max ? bars[i].value : max;
    cli_buf_printf(b, "<svg id=\"%s\" class=\"chart\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", id, CHART_W, height, CHART_W,
                   height);
    esc(b, aria);
    cli_buf_puts(b, "\">");
    for (size_t i = 0; i < n; i++) {
        double y = 4 + (double)i * ROW_H;
        double w = (double)bars[i].value / nice_max(max) * plot_w;
        if (bars[i].value && w < 1.5)
            w = 1.5;
        char num[32], pct[32];
        cli_buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
                       label_w - 8, y + ROW_H * 0.65);
        esc(b, bars[i].label);
        cli_buf_printf(b, "</text><rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"%.2f\" "
                       "height=\"%d\"%s%s%s><title>", label_w, y + 3, w, ROW_H - 6,
                       bars[i].color ? " style=\"fill:" : "", bars[i].color ? bars[i].color : "",
                       bars[i].color ? "\"" : "");
        esc(b, bars[i].label);
        cli_buf_printf(b, ": %s %s (%s)</title></rect>", grouped(bars[i].value, num), unit,
                       percent(bars[i].value, whole, pct));
        cli_buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%s (%s)</text>",
                       label_w + w + 6, y + ROW_H * 0.65, grouped(bars[i].value, num),
                       percent(bars[i].value, whole, pct));
    }
    cli_buf_puts(b, "</svg>\n");
}

/* ---- sections ---------------------------------------------------------------------------- */

static void summary_line(void *ctx, const char *label, const char *text)
{
    struct cli_buf *b = ctx;
    cli_buf_puts(b, "<tr><th>");
    if (label)
        esc(b, label);
    cli_buf_puts(b, "</th><td>");
    esc(b, text);
    cli_buf_puts(b, "</td></tr>\n");
}

static void section_summary(struct cli_buf *b, const tv_model *m)
{
    cli_buf_puts(b, "<section id=\"summary\"><h2>Summary</h2>\n<table class=\"kv\">\n");
    inspect_summary_lines(m, summary_line, b);
    cli_buf_puts(b, "</table></section>\n");
}

static const char *status_class(enum tv_check_status s)
{
    switch (s) {
    case TV_CHECK_PASS: return "pass";
    case TV_CHECK_WARN: return "warn";
    case TV_CHECK_FAIL: return "fail";
    default: return "skip";
    }
}

static void section_verify(struct cli_buf *b, const struct tv_report *r)
{
    cli_buf_puts(b, "<section id=\"verify\"><h2>Verify</h2>\n");
    if (!r->verify) {
        cli_buf_puts(b, "<p class=\"note\">Not run (--no-verify).</p></section>\n");
        return;
    }
    const tv_verify_report *v = r->verify;
    size_t failed = tv_verify_count_status(v, TV_CHECK_FAIL);
    size_t warned = tv_verify_count_status(v, TV_CHECK_WARN);
    size_t passed = tv_verify_count_status(v, TV_CHECK_PASS);
    size_t skipped = tv_verify_count_status(v, TV_CHECK_SKIP);
    cli_buf_printf(b, "<p class=\"verdict\"><span class=\"badge fail\">%zu failed</span> "
                   "<span class=\"badge warn\">%zu warning%s</span> "
                   "<span class=\"badge pass\">%zu passed</span> "
                   "<span class=\"badge skip\">%zu skipped</span></p>\n",
                   failed, warned, warned == 1 ? "" : "s", passed, skipped);
    cli_buf_puts(b, "<table id=\"checks\" class=\"list\"><thead><tr><th>status</th><th>check</th>"
                    "<th>message</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < tv_verify_check_count(v); i++) {
        const struct tv_check *c = tv_verify_check(v, i);
        cli_buf_printf(b, "<tr class=\"%s\"><td><span class=\"badge %s\">%s</span></td><td><code>",
                       status_class(c->status), status_class(c->status),
                       tv_check_status_name(c->status));
        esc(b, c->id);
        cli_buf_puts(b, "</code></td><td>");
        esc(b, c->message);
        cli_buf_puts(b, "</td></tr>\n");
    }
    cli_buf_puts(b, "</tbody></table></section>\n");
}

static void section_tensors(struct cli_buf *b, const tv_model *m, const struct tv_report *r)
{
    char num[32], pct[32], human[32], shape[256];
    cli_buf_puts(b, "<section id=\"tensors\"><h2>Tensors</h2>\n");
    if (!r->n_tensors) {
        cli_buf_puts(b, "<p class=\"note\">The model has no tensors.</p></section>\n");
        return;
    }
    cli_buf_printf(b, "<p>%s tensors, %s, by part (from the tensor names; the patterns are "
                   "in the README, section Report):</p>\n", grouped(r->n_tensors, num),
                   cli_human_bytes(r->total_bytes, human));
    /* where the bytes go: one stacked bar */
    int plot_w = CHART_W - 2;
    cli_buf_printf(b, "<svg id=\"bytes-bar\" class=\"chart\" width=\"%d\" height=\"40\" "
                   "viewBox=\"0 0 %d 40\" role=\"img\" aria-label=\"bytes by part\">", CHART_W,
                   CHART_W);
    double x = 1;
    for (int p = 0; p < TV_PART_COUNT; p++) {
        if (!r->part_bytes[p])
            continue;
        double w = r->total_bytes ? (double)r->part_bytes[p] / (double)r->total_bytes * plot_w : 0;
        cli_buf_printf(b, "<rect class=\"bar\" x=\"%.2f\" y=\"4\" width=\"%.2f\" height=\"32\" "
                       "style=\"fill:%s\"><title>%s: %s in %s tensor%s (%s)</title></rect>", x,
                       w, part_colors[p], tv_tensor_part_name((enum tv_tensor_part)p),
                       cli_human_bytes(r->part_bytes[p], human), grouped(r->part_tensors[p], num),
                       r->part_tensors[p] == 1 ? "" : "s",
                       percent(r->part_bytes[p], r->total_bytes, pct));
        x += w;
    }
    cli_buf_puts(b, "</svg>\n<ul class=\"legend\">");
    for (int p = 0; p < TV_PART_COUNT; p++) {
        if (!r->part_bytes[p])
            continue;
        cli_buf_printf(b, "<li><span class=\"swatch\" style=\"background:%s\"></span>%s: %s "
                       "(%s, %s tensor%s)</li>", part_colors[p],
                       tv_tensor_part_name((enum tv_tensor_part)p),
                       cli_human_bytes(r->part_bytes[p], human),
                       percent(r->part_bytes[p], r->total_bytes, pct),
                       grouped(r->part_tensors[p], num), r->part_tensors[p] == 1 ? "" : "s");
    }
    cli_buf_puts(b, "</ul>\n");

    size_t shown = r->n_tensors < REPORT_HTML_MAX_TENSORS ? r->n_tensors : REPORT_HTML_MAX_TENSORS;
    if (shown < r->n_tensors)
        cli_buf_printf(b, "<p class=\"note\">The %zu largest of %zu tensors (--json lists every "
                       "one).</p>\n", shown, r->n_tensors);
    cli_buf_puts(b, "<p class=\"hint\">Largest first; click a column heading to sort by it.</p>\n"
                    "<table id=\"tensor-table\" class=\"list sortable\"><thead><tr>"
                    "<th data-type=\"num\">#</th><th data-type=\"text\">name</th>"
                    "<th data-type=\"text\">part</th><th data-type=\"text\">dtype</th>"
                    "<th data-type=\"num\">shape</th>"
                    "<th data-type=\"num\" aria-sort=\"descending\">bytes</th>"
                    "<th data-type=\"num\">share</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < shown; k++) {
        size_t i = r->by_size[k];
        const struct tv_tensor *t = tv_model_tensor(m, i);
        cli_buf_printf(b, "<tr><td data-v=\"%zu\">%zu</td><td><code>", i, i);
        esc_bytes(b, t->name, strlen(t->name));
        cli_buf_printf(b, "</code></td><td><span class=\"swatch\" style=\"background:%s\"></span>"
                       "%s</td><td>%s</td><td data-v=\"%llu\">%s</td>"
                       "<td data-v=\"%llu\">%s</td><td data-v=\"%llu\">%s</td></tr>\n",
                       part_colors[r->part[i]], tv_tensor_part_name((enum tv_tensor_part)r->part[i]),
                       tv_dtype_name(t->dtype), (unsigned long long)t->n_elements,
                       cli_shape(t, shape), (unsigned long long)t->n_bytes,
                       cli_human_bytes(t->n_bytes, human), (unsigned long long)t->n_bytes,
                       percent(t->n_bytes, r->total_bytes, pct));
    }
    cli_buf_puts(b, "</tbody></table></section>\n");
}

static int cmp_hbar(const void *a, const void *b)
{
    const struct hbar *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->label, y->label);
}

static void section_vocabulary(struct cli_buf *b, const struct tv_report *r)
{
    char num[32], pct[32];
    cli_buf_puts(b, "<section id=\"vocabulary\"><h2>Vocabulary</h2>\n");
    if (!r->vocab_tokens) {
        cli_buf_puts(b, "<p class=\"note\">The model has no vocabulary.</p></section>\n");
        return;
    }
    cli_buf_printf(b, "<p>%s tokens", grouped(r->vocab_tokens, num));
    if (r->vocab_ids != r->vocab_tokens)
        cli_buf_printf(b, " in %s ids", grouped(r->vocab_ids, num));
    cli_buf_puts(b, ". Lengths and scripts are those of the text a token stands for: "
                    "GPT-2's byte-level alphabet decoded to bytes, SentencePiece's "
                    "<code>&#x2581;</code> read as a space, byte tokens as their byte, "
                    "WordPiece's <code>##</code> dropped. Characters are Unicode code points.</p>\n");

    cli_buf_puts(b, "<h3>Token types</h3>\n<table id=\"types\" class=\"list narrow\"><thead><tr>"
                    "<th>type</th><th>tokens</th><th>share</th></tr></thead><tbody>\n");
    static const int order[] = {TV_TOKEN_NORMAL, TV_TOKEN_CONTROL, TV_TOKEN_BYTE,
                                TV_TOKEN_USER_DEFINED, TV_TOKEN_UNUSED, TV_TOKEN_UNKNOWN,
                                TV_TOKEN_UNDEFINED};
    for (size_t k = 0; k < TV_ARRAY_SIZE(order); k++) {
        int t = order[k];
        if (!r->by_type[t] && t != TV_TOKEN_NORMAL && t != TV_TOKEN_CONTROL &&
            t != TV_TOKEN_BYTE && t != TV_TOKEN_USER_DEFINED && t != TV_TOKEN_UNUSED)
            continue;
        cli_buf_printf(b, "<tr><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
                       tv_token_type_name(t), grouped(r->by_type[t], num),
                       percent(r->by_type[t], r->vocab_tokens, pct));
    }
    cli_buf_puts(b, "</tbody></table>\n");

    cli_buf_puts(b, "<h3>Token lengths</h3>\n<div class=\"pair\"><figure>");
    length_histogram(b, "len-bytes", &r->length_bytes, "byte", "length in bytes");
    cli_buf_printf(b, "<figcaption>In bytes (longest: %llu).</figcaption></figure><figure>",
                   (unsigned long long)r->length_bytes.longest);
    length_histogram(b, "len-chars", &r->length_chars, "character", "length in characters");
    cli_buf_printf(b, "<figcaption>In characters (longest: %llu).</figcaption></figure></div>\n",
                   (unsigned long long)r->length_chars.longest);

    struct hbar bars[TV_SCRIPT_COUNT];
    size_t n = 0;
    for (int s = 0; s < TV_SCRIPT_COUNT; s++)
        if (r->by_script[s])
            bars[n++] = (struct hbar){tv_script_name((enum tv_script)s), r->by_script[s], NULL};
    qsort(bars, n, sizeof *bars, cmp_hbar);
    cli_buf_puts(b, "<h3>Scripts</h3>\n<p class=\"hint\">The script of a token's letters, by "
                    "Unicode block; <em>no letters</em>: digits, punctuation, spaces, symbols; "
                    "<em>bytes</em>: not whole UTF-8 characters.</p>\n");
    hbars(b, "scripts", "tokens by script", bars, n, r->vocab_tokens, "tokens");

    cli_buf_printf(b, "<h3>Longest tokens</h3>\n<table id=\"longest\" class=\"list\"><thead><tr>"
                   "<th>id</th><th>token</th><th>characters</th><th>bytes</th></tr></thead>"
                   "<tbody>\n");
    for (size_t i = 0; i < r->n_longest; i++) {
        const struct tv_report_token *t = &r->longest[i];
        cli_buf_printf(b, "<tr><td class=\"num\">%u</td><td>", t->id);
        token_cell(b, r, t->id);
        cli_buf_printf(b, "</td><td class=\"num\">%u</td><td class=\"num\">%u</td></tr>\n",
                       t->chars, t->bytes);
    }
    cli_buf_puts(b, "</tbody></table></section>\n");
}

/* A table of embedding rows (low-norm, non-finite, zero). */
static void row_table(struct cli_buf *b, const struct tv_report *r, const char *id,
                      const struct tv_report_row *rows, size_t n, uint64_t total, bool norms)
{
    char num[32];
    if (total > n)
        cli_buf_printf(b, "<p class=\"note\">The first %zu of %s.</p>\n", n, grouped(total, num));
    cli_buf_printf(b, "<table id=\"%s\" class=\"list\"><thead><tr><th>row</th><th>token</th>%s"
                   "</tr></thead><tbody>\n", id, norms ? "<th>norm</th>" : "");
    for (size_t i = 0; i < n; i++) {
        cli_buf_printf(b, "<tr><td class=\"num\">%llu</td><td>", (unsigned long long)rows[i].row);
        if (r->rows_are_tokens && rows[i].token)
            token_cell(b, r, rows[i].row);
        else
            cli_buf_puts(b, r->rows_are_tokens ? "<span class=\"none\">(padding row)</span>"
                                               : "<span class=\"none\">(rows are not token ids)</span>");
        if (norms)
            cli_buf_printf(b, "</td><td class=\"num\">%.4g", rows[i].norm);
        cli_buf_puts(b, "</td></tr>\n");
    }
    cli_buf_puts(b, "</tbody></table>\n");
}

static void section_embedding(struct cli_buf *b, const struct tv_report *r)
{
    char num[32], num2[32];
    cli_buf_puts(b, "<section id=\"embedding\"><h2>Embedding</h2>\n");
    if (!r->rows_judged) {
        cli_buf_puts(b, "<p class=\"note\">");
        esc(b, r->embedding_why[0] ? r->embedding_why : "no token embedding");
        cli_buf_puts(b, ".</p></section>\n");
        return;
    }
    const struct tv_tensor *e = r->embedding;
    cli_buf_puts(b, "<p><code>");
    esc_bytes(b, e->name, strlen(e->name));
    cli_buf_printf(b, "</code>: %s rows of %s values (%s)", grouped(r->rows, num),
                   grouped(r->cols, num2), tv_dtype_name(e->dtype));
    if (r->low_rule)
        cli_buf_printf(b, "; median row norm %.4g, MAD %.3g", r->median_norm, r->mad);
    cli_buf_puts(b, ".</p>\n<h3>Row norms</h3>\n<figure>");
    struct hist_labels lab = {norm_label, norm_title, &r->norms};
    histogram(b, "norms", CHART_W, "embedding rows by L2 norm", r->norms.counts, r->norms.marked,
              r->norms.n_bins, &lab, "L2 norm of the row", norm_markers, r);
    cli_buf_printf(b, "<figcaption>%s bins from %.4g to %.4g over the rows without NaN or "
                   "infinity; red bins hold low-norm rows.</figcaption></figure>\n",
                   grouped(r->norms.n_bins, num), r->norms.lo, r->norms.hi);

    cli_buf_puts(b, "<h3>Low-norm rows</h3>\n");
    if (!r->low_rule)
        cli_buf_puts(b, "<p class=\"note\">Not judged: the rule needs at least 8 columns and "
                        "16 rows to compare (verify's embedding.low_norm).</p>\n");
    else if (!r->rows_low)
        cli_buf_printf(b, "<p>None: no row's norm is below %.4g (verify's embedding.low_norm: "
                       "below a tenth of the median, or 6 robust standard deviations under it "
                       "and below half of it).</p>\n", r->low_below);
    else {
        cli_buf_printf(b, "<p>%s row%s with a norm below %.4g (verify's embedding.low_norm: "
                       "under-trained candidates), lowest first:</p>\n",
                       grouped(r->rows_low, num), r->rows_low == 1 ? "" : "s", r->low_below);
        row_table(b, r, "low-rows", r->low, r->n_low, r->rows_low, true);
    }
    cli_buf_puts(b, "<h3>NaN, infinite and zero rows</h3>\n");
    if (!r->rows_nonfinite && !r->rows_zero)
        cli_buf_puts(b, "<p>None.</p>\n");
    if (r->rows_nonfinite) {
        cli_buf_printf(b, "<p>%s row%s NaN or infinity (%s with NaN):</p>\n",
                       grouped(r->rows_nonfinite, num),
                       r->rows_nonfinite == 1 ? " holds" : "s hold",
                       grouped(r->rows_nan, num2));
        row_table(b, r, "nonfinite-rows", r->nonfinite, r->n_nonfinite, r->rows_nonfinite,
                  false);
    }
    if (r->rows_zero) {
        cli_buf_printf(b, "<p>%s row%s all zeros (the pad token's row and padding rows may "
                       "well be):</p>\n", grouped(r->rows_zero, num),
                       r->rows_zero == 1 ? " is" : "s are");
        row_table(b, r, "zero-rows", r->zero, r->n_zero, r->rows_zero, false);
    }
    cli_buf_puts(b, "</section>\n");
}

static void section_map(struct cli_buf *b, const struct tv_report *r)
{
    cli_buf_puts(b, "<section id=\"map\"><h2>Word map</h2>\n");
    cli_buf_puts(b, "<p>Each word is the mean of its tokens' embedding rows, projected on the "
                    "first two principal components of these points (PCA computed by tokvec).");
    if (r->tokenizer_why) {
        cli_buf_puts(b, " Words were looked up as single tokens (no tokenizer: ");
        esc(b, r->tokenizer_why);
        cli_buf_puts(b, ").");
    }
    cli_buf_puts(b, "</p>\n");
    if (!r->has_map) {
        cli_buf_puts(b, "<p class=\"note\">No map: ");
        esc(b, r->map_why);
        cli_buf_puts(b, ".</p>\n");
    } else {
        double min_x = 0, max_x = 0, min_y = 0, max_y = 0;
        bool first = true;
        for (size_t i = 0; i < r->n_words; i++) {
            const struct tv_report_word *w = &r->words[i];
            if (w->how == TV_WORD_MISSING)
                continue;
            if (first || w->x < min_x) min_x = w->x;
            if (first || w->x > max_x) max_x = w->x;
            if (first || w->y < min_y) min_y = w->y;
            if (first || w->y > max_y) max_y = w->y;
            first = false;
        }
        /* 5% of room around the points, so that none sits on the frame */
        double span_x = max_x > min_x ? max_x - min_x : 1, span_y = max_y > min_y ? max_y - min_y : 1;
        min_x -= 0.05 * span_x;
        min_y -= 0.05 * span_y;
        span_x *= 1.1;
        span_y *= 1.1;
        int left = 30, right = 110, top = 20, bottom = 40;
        int plot_w = MAP_W - left - right, plot_h = MAP_H - top - bottom;
        cli_buf_printf(b, "<svg id=\"map-plot\" class=\"chart\" width=\"%d\" height=\"%d\" "
                       "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"word map\">", MAP_W,
                       MAP_H, MAP_W, MAP_H);
        cli_buf_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
                       left, top, plot_w, plot_h);
        if (min_x < 0 && max_x > 0) {
            double x0 = left + (0 - min_x) / span_x * plot_w;
            cli_buf_printf(b, "<line class=\"grid\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>",
                           x0, top, x0, top + plot_h);
        }
        if (min_y < 0 && max_y > 0) {
            double y0 = top + plot_h - (0 - min_y) / span_y * plot_h;
            cli_buf_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>",
                           left, y0, left + plot_w, y0);
        }
        for (size_t i = 0; i < r->n_words; i++) {
            const struct tv_report_word *w = &r->words[i];
            if (w->how == TV_WORD_MISSING)
                continue;
            double x = left + (w->x - min_x) / span_x * plot_w;
            double y = top + plot_h - (w->y - min_y) / span_y * plot_h;
            cli_buf_printf(b, "<circle class=\"point%s\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\"><title>",
                           w->how == TV_WORD_TOKENS ? " mean" : "", x, y);
            esc(b, w->word);
            cli_buf_printf(b, " (%.4g, %.4g)</title></circle><text class=\"label\" x=\"%.2f\" "
                           "y=\"%.2f\">", w->x, w->y, x + 6, y + 4);
            esc(b, w->word);
            cli_buf_puts(b, "</text>");
        }
        cli_buf_printf(b, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                       "PC1 (%.1f%% of the variance)</text>", left + plot_w / 2, MAP_H - 12,
                       100 * r->explained[0]);
        cli_buf_printf(b, "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                       "transform=\"rotate(-90 %d %d)\">PC2 (%.1f%%)</text>", 14, top + plot_h / 2,
                       14, top + plot_h / 2, 100 * r->explained[1]);
        cli_buf_puts(b, "</svg>\n<p class=\"hint\">Hollow points are words of several tokens "
                        "(the mean of their rows).</p>\n");
    }
    cli_buf_puts(b, "<table id=\"words\" class=\"list\"><thead><tr><th>word</th><th>tokens</th>"
                    "<th>placed</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < r->n_words; i++) {
        const struct tv_report_word *w = &r->words[i];
        cli_buf_puts(b, "<tr><td>");
        esc(b, w->word);
        cli_buf_puts(b, "</td><td>");
        for (size_t k = 0; k < w->n_ids; k++) {
            if (k)
                cli_buf_puts(b, " ");
            token_cell(b, r, w->ids[k]);
        }
        cli_buf_puts(b, "</td><td>");
        if (w->how == TV_WORD_MISSING) {
            cli_buf_puts(b, "<span class=\"none\">no: ");
            esc(b, w->why ? w->why : "?");
            cli_buf_puts(b, "</span>");
        } else if (w->how == TV_WORD_TOKENS) {
            cli_buf_printf(b, "mean of %zu tokens", w->n_ids);
        } else {
            cli_buf_puts(b, "one token");
        }
        if (w->how != TV_WORD_MISSING && !r->has_map)
            cli_buf_puts(b, " (no map)");
        cli_buf_puts(b, "</td></tr>\n");
    }
    cli_buf_puts(b, "</tbody></table></section>\n");
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#1d2330;background:#fff;margin:0 auto;max-width:940px;padding:0 20px 40px}"
    "header{border-bottom:2px solid #4e79a7;margin-bottom:8px}"
    "h1{font-size:22px;margin:18px 0 2px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #dde2ea;padding-bottom:3px}h3{font-size:15px;margin:18px 0 6px}"
    ".path{color:#4a5366;margin:0 0 10px;word-break:break-all}"
    "nav a{margin-right:14px;color:#4e79a7;text-decoration:none}"
    "table{border-collapse:collapse;margin:6px 0 10px}"
    "th,td{text-align:left;padding:3px 8px;vertical-align:top;border-bottom:1px solid #edf0f4}"
    "table.kv th{color:#4a5366;font-weight:600;white-space:nowrap}"
    "table.list thead th{background:#f3f5f8;border-bottom:1px solid #d5dbe4}"
    "table.sortable thead th{cursor:pointer;user-select:none}"
    "table.sortable thead th[aria-sort=descending]::after{content:' \\25BC';font-size:10px}"
    "table.sortable thead th[aria-sort=ascending]::after{content:' \\25B2';font-size:10px}"
    "td.num,table.sortable td[data-v]{text-align:right;font-variant-numeric:tabular-nums}"
    "code{font:12.5px ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}"
    "code.tok{background:#f3f5f8;border:1px solid #e3e7ee;border-radius:3px;padding:0 3px;"
    "white-space:pre-wrap;word-break:break-all}"
    ".note{color:#6b7385}.hint{color:#6b7385;font-size:12.5px;margin:2px 0}.none{color:#8a93a5}"
    ".badge{display:inline-block;border-radius:9px;padding:0 8px;font-size:12px;font-weight:600}"
    ".badge.pass{background:#e3f2e1;color:#2d6a27}.badge.warn{background:#fff1d6;color:#8a5a00}"
    ".badge.fail{background:#fde2e1;color:#a1201c}.badge.skip{background:#eceff3;color:#5c6476}"
    "tr.fail td{background:#fff6f6}tr.warn td{background:#fffbf1}"
    "svg.chart{max-width:100%;height:auto;display:block}"
    "svg .bar{fill:#4e79a7}svg .bar.low{fill:#d62728}svg .bar:hover{opacity:.8}"
    "svg .grid{stroke:#e6e9ef;stroke-width:1}svg .axis{stroke:#8a93a5;stroke-width:1}"
    "svg .tick{font-size:11px;fill:#4a5366}svg .axis-title{font-size:12px;fill:#4a5366}"
    "svg .median{stroke:#6b7385;stroke-dasharray:4 3}"
    "svg .threshold{stroke:#d62728;stroke-dasharray:4 3}"
    "svg .marker-label{font-size:11px;fill:#4a5366}"
    "svg .frame{fill:#fbfcfd;stroke:#dde2ea}"
    "svg .point{fill:#4e79a7;stroke:#fff;stroke-width:1}"
    "svg .point.mean{fill:#fff;stroke:#4e79a7;stroke-width:2}"
    "svg .label{font-size:12px;fill:#1d2330}"
    "figure{margin:8px 0 14px}figcaption{color:#6b7385;font-size:12.5px}"
    ".pair{display:flex;flex-wrap:wrap;gap:0 20px}"
    "ul.legend{list-style:none;padding:0;margin:6px 0 12px;display:flex;flex-wrap:wrap;gap:4px 18px}"
    ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}"
    "footer{margin-top:30px;color:#8a93a5;font-size:12px}";

/* Sorts a table.sortable by the clicked column: data-v when a cell has it, else its text;
   numbers largest first and text A to Z, a second click reverses. Ties keep the previous
   order (Array.prototype.sort is stable). */
static const char script[] =
    "(function(){\n"
    "'use strict';\n"
    "function key(cell,numeric){var v=cell.getAttribute('data-v');if(v===null)v=cell.textContent;"
    "return numeric?Number(v):v.toLowerCase();}\n"
    "var tables=document.querySelectorAll('table.sortable');\n"
    "Array.prototype.forEach.call(tables,function(table){\n"
    " var heads=table.tHead.rows[0].cells;\n"
    " Array.prototype.forEach.call(heads,function(th,col){\n"
    "  th.tabIndex=0;\n"
    "  function sort(){\n"
    "   var numeric=th.getAttribute('data-type')==='num';\n"
    "   var now=th.getAttribute('aria-sort');\n"
    "   var dir=now?(now==='ascending'?-1:1):(numeric?-1:1);\n"
    "   var body=table.tBodies[0];\n"
    "   var rows=Array.prototype.slice.call(body.rows);\n"
    "   rows.sort(function(a,b){var x=key(a.cells[col],numeric),y=key(b.cells[col],numeric);"
    "return x<y?-dir:x>y?dir:0;});\n"
    "   rows.forEach(function(r){body.appendChild(r);});\n"
    "   Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});\n"
    "   th.setAttribute('aria-sort',dir>0?'ascending':'descending');\n"
    "  }\n"
    "  th.addEventListener('click',sort);\n"
    "  th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sort();}});\n"
    " });\n"
    "});\n"
    "})();\n";

void report_html(struct cli_buf *out, const tv_model *m, const char *path,
                 const struct tv_report *r)
{
    struct cli_buf *b = out;
    cli_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"tokvec " TOKVEC_VERSION_STRING "\">\n"
                    "<link rel=\"icon\" href=\"data:,\">\n<title>tokvec report: ");
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    esc_bytes(b, base, strlen(base));
    cli_buf_puts(b, "</title>\n<style>");
    cli_buf_puts(b, style);
    cli_buf_puts(b, "</style></head>\n<body>\n<header><h1>tokvec report</h1><p class=\"path\">");
    esc_bytes(b, path, strlen(path));
    cli_buf_puts(b, " &middot; ");
    esc(b, tv_model_kind(m));
    cli_buf_puts(b, "</p><nav><a href=\"#summary\">summary</a><a href=\"#verify\">verify</a>"
                    "<a href=\"#tensors\">tensors</a><a href=\"#vocabulary\">vocabulary</a>"
                    "<a href=\"#embedding\">embedding</a><a href=\"#map\">word map</a></nav>"
                    "</header>\n");
    section_summary(b, m);
    section_verify(b, r);
    section_tensors(b, m, r);
    section_vocabulary(b, r);
    section_embedding(b, r);
    section_map(b, r);
    cli_buf_puts(b, "<footer>Written by tokvec " TOKVEC_VERSION_STRING
                    ". Nothing on this page is loaded from elsewhere.</footer>\n<script>");
    cli_buf_puts(b, script);
    cli_buf_puts(b, "</script>\n</body></html>\n");
}
