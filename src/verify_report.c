/*
 * Rendering a verify report: one JSON document, or JUnit XML for CI systems. The
 * schemas are documented in the README ("Verify"). Both are built in memory (a report
 * is a few kilobytes) and returned as strings; the JUnit file is written atomically.
 */
#include <stdio.h>
#include <string.h>

#include "verify_impl.h"

void tv_verify_string_free(char *s)
{
    tv_free(s);
}

/* ---- a report for a model that could not be opened ---------------------------------- */

tv_verify_report *tv_verify_report_error(const char *path, const char *message,
                                         const struct tv_verify_options *opt, tv_error *err)
{
    tv_verify_report *r = tv_calloc(1, sizeof *r);
    if (!r)
        goto oom;
    tv_arena_init(&r->arena);
    if (opt)
        r->opt = *opt;
    else
        tv_verify_options_init(&r->opt);
    r->opt.only = r->opt.skip = NULL;
    r->model_path = tv_arena_strndup(&r->arena, path ? path : "?", strlen(path ? path : "?"));
    r->model_kind = "unreadable";
    if (!r->model_path)
        goto oom;
    vr_add(r, "open", TV_CHECK_FAIL, "%s", message ? message : "cannot open the model");
    if (r->failed_oom)
        goto oom;
    return r;
oom:
    tv_verify_report_free(r);
    tv_error_set(err, TV_ERR_NOMEM, "out of memory building a verify report");
    return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static char *json_copy_out(cJSON *doc, tv_error *err)
{
    char *printed = doc ? cJSON_Print(doc) : NULL;
    char *out = printed ? tv_strdup(printed) : NULL;
    if (printed)
        cJSON_free(printed);
    if (!out)
        tv_error_set(err, TV_ERR_NOMEM, "out of memory rendering the verify report as JSON");
    return out;
}

char *tv_verify_report_json(const tv_verify_report *r, tv_error *err)
{
    cJSON *doc = cJSON_CreateObject(), *files, *checks, *summary;
    char *out = NULL;
    bool ok = doc != NULL;
    ok = ok && cJSON_AddStringToObject(doc, "path", r->model_path ? r->model_path : "");
    ok = ok && cJSON_AddStringToObject(doc, "kind", r->model_kind ? r->model_kind : "");
    ok = ok && (files = cJSON_AddArrayToObject(doc, "files"));
    for (size_t i = 0; ok && i < r->n_files; i++) {
        cJSON *f = cJSON_CreateString(r->files[i]);
        ok = f && cJSON_AddItemToArray(files, f);
    }
    ok = ok && cJSON_AddBoolToObject(doc, "ok", tv_verify_ok(r));
    ok = ok && cJSON_AddBoolToObject(doc, "strict", r->opt.strict);
    ok = ok && (summary = cJSON_AddObjectToObject(doc, "summary"));
    ok = ok && cJSON_AddNumberToObject(summary, "total", (double)r->n_checks);
    ok = ok && cJSON_AddNumberToObject(summary, "passed",
                                       (double)tv_verify_count_status(r, TV_CHECK_PASS));
    ok = ok && cJSON_AddNumberToObject(summary, "warnings",
                                       (double)tv_verify_count_status(r, TV_CHECK_WARN));
    ok = ok && cJSON_AddNumberToObject(summary, "failed",
                                       (double)tv_verify_count_status(r, TV_CHECK_FAIL));
    ok = ok && cJSON_AddNumberToObject(summary, "skipped",
                                       (double)tv_verify_count_status(r, TV_CHECK_SKIP));
    ok = ok && (checks = cJSON_AddArrayToObject(doc, "checks"));
    for (size_t i = 0; ok && i < r->n_checks; i++) {
        const struct tv_check *c = &r->checks[i].pub;
        cJSON *item = cJSON_CreateObject(), *numbers = NULL;
        ok = item && cJSON_AddItemToArray(checks, item);
        ok = ok && cJSON_AddStringToObject(item, "id", c->id);
        ok = ok && cJSON_AddStringToObject(item, "status", tv_check_status_name(c->status));
        ok = ok && cJSON_AddStringToObject(item, "message", c->message);
        ok = ok && (numbers = cJSON_AddObjectToObject(item, "numbers"));
        for (size_t k = 0; ok && k < c->n_values; k++) {
            const struct tv_check_value *v = &c->values[k];
            switch (v->type) {
            case TV_CHECK_INT:
                ok = cJSON_AddNumberToObject(numbers, v->key, (double)v->i) != NULL;
                break;
            case TV_CHECK_FLOAT:
                ok = cJSON_AddNumberToObject(numbers, v->key, v->f) != NULL;
                break;
            case TV_CHECK_STRING:
                ok = cJSON_AddStringToObject(numbers, v->key, v->s ? v->s : "") != NULL;
                break;
            }
        }
    }
    if (ok)
        out = json_copy_out(doc, err);
    else
        tv_error_set(err, TV_ERR_NOMEM, "out of memory rendering the verify report as JSON");
    cJSON_Delete(doc);
    return out;
}

/* ---- JUnit XML ---------------------------------------------------------------------------- */

struct buf {
    char *data;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (tv_grow((void **)&b->data, &b->cap, b->len + n + 1, 1, NULL) < 0) {
        b->oom = true;
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) TV_PRINTF(2, 3);
static void putf(struct buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* XML text or attribute value: the five entities, newlines kept in text only, other
   control characters dropped (XML 1.0 cannot carry them). Messages are valid UTF-8. */
static void put_xml(struct buf *b, const char *s, bool attribute)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&': puts_(b, "&amp;"); break;
        case '<': puts_(b, "&lt;"); break;
        case '>': puts_(b, "&gt;"); break;
        case '"': puts_(b, "&quot;"); break;
        case '\'': puts_(b, "&apos;"); break;
        case '\n': puts_(b, attribute ? "&#10;" : "\n"); break;
        case '\t': puts_(b, attribute ? "&#9;" : "\t"); break;
        default:
            if (ch >= 0x20)
                put(b, s, 1);
        }
    }
}

static void put_values(struct buf *b, const struct tv_check *c)
{
    for (size_t k = 0; k < c->n_values; k++) {
        const struct tv_check_value *v = &c->values[k];
        puts_(b, "\n");
        put_xml(b, v->key, false);
        switch (v->type) {
        case TV_CHECK_INT: putf(b, "=%lld", (long long)v->i); break;
        case TV_CHECK_FLOAT: putf(b, "=%.6g", v->f); break;
        case TV_CHECK_STRING:
            puts_(b, "=");
            put_xml(b, v->s ? v->s : "", false);
            break;
        }
    }
}

char *tv_verify_report_junit(const tv_verify_report *r, tv_error *err)
{
    struct buf b = {0};
    size_t failures = tv_verify_count_status(r, TV_CHECK_FAIL);
    size_t skipped = tv_verify_count_status(r, TV_CHECK_SKIP);
    if (r->opt.strict)
        failures += tv_verify_count_status(r, TV_CHECK_WARN);
    puts_(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    putf(&b, "<testsuites name=\"tokvec verify\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
         "skipped=\"%zu\">\n", r->n_checks, failures, skipped);
    puts_(&b, "  <testsuite name=\"");
    put_xml(&b, r->model_path ? r->model_path : "", true);
    putf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n", r->n_checks,
         failures, skipped);
    puts_(&b, "    <properties>\n      <property name=\"kind\" value=\"");
    put_xml(&b, r->model_kind ? r->model_kind : "", true);
    puts_(&b, "\"/>\n");
    putf(&b, "      <property name=\"strict\" value=\"%s\"/>\n", r->opt.strict ? "true" : "false");
    for (size_t i = 0; i < r->n_files; i++) {
        puts_(&b, "      <property name=\"file\" value=\"");
        put_xml(&b, r->files[i], true);
        puts_(&b, "\"/>\n");
    }
    puts_(&b, "    </properties>\n");
    for (size_t i = 0; i < r->n_checks; i++) {
        const struct tv_check *c = &r->checks[i].pub;
        puts_(&b, "    <testcase classname=\"tokvec.verify\" name=\"");
        put_xml(&b, c->id, true);
        puts_(&b, "\">\n");
        bool failed = c->status == TV_CHECK_FAIL || (c->status == TV_CHECK_WARN && r->opt.strict);
        if (failed) {
            puts_(&b, "      <failure message=\"");
            put_xml(&b, c->message, true);
            putf(&b, "\" type=\"%s\">", c->status == TV_CHECK_FAIL ? "fail" : "warning");
            put_xml(&b, c->message, false);
            put_values(&b, c);
            puts_(&b, "</failure>\n");
        } else if (c->status == TV_CHECK_SKIP) {
            puts_(&b, "      <skipped message=\"");
            put_xml(&b, c->message, true);
            puts_(&b, "\"/>\n");
        } else {
            puts_(&b, "      <system-out>");
            if (c->status == TV_CHECK_WARN)
                puts_(&b, "warning: ");
            put_xml(&b, c->message, false);
            put_values(&b, c);
            puts_(&b, "</system-out>\n");
        }
        puts_(&b, "    </testcase>\n");
    }
    puts_(&b, "  </testsuite>\n</testsuites>\n");
    if (b.oom) {
        tv_free(b.data);
        tv_error_set(err, TV_ERR_NOMEM, "out of memory rendering the verify report as JUnit");
        return NULL;
    }
    return b.data;
}

int tv_verify_write_junit(const tv_verify_report *r, const char *path, tv_error *err)
{
    char *xml = tv_verify_report_junit(r, err);
    if (!xml)
        return -1;
    int rc = -1;
    tv_out *out = tv_out_open(path, true, err);
    if (out && tv_out_write(out, xml, strlen(xml), err) == 0) {
        rc = tv_out_commit(out, err);
        out = NULL;
    }
    tv_out_abort(out);
    tv_free(xml);
    return rc;
}
