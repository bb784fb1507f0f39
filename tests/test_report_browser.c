/*
 * tokvec report's page as a user sees it: rendered in headless Chromium (Debian's
 * `chromium`) for stories260K.gguf and the GPT-2 folder. For each, the test writes the
 * page and its --json with the CLI, loads the page in the browser and checks that
 *   - the browser logged nothing from the page (no script error, no console message, no
 *     blocked request: the page's Content-Security-Policy reports any fetch);
 *   - the inline script ran (it makes the tensor table's headings focusable);
 *   - every chart has as many bars, and the map as many points, as the JSON has bins,
 *     parts, scripts and placed words;
 *   - clicking the table's headings sorts it (a copy of the page with a small script
 *     appended clicks them and writes what it saw into the page);
 * and keeps a screenshot of each page under the build folder
 * (<build>/report-browser/<name>.png, next to the page and the JSON).
 *
 * When chromium is missing the test installs it if it runs as root and apt-get works;
 * otherwise it skips with a message. It is a test of its own (ctest test_report_browser)
 * so that it can be skipped without hiding the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/testutil.h"

#define BROWSER_TIMEOUT 120 /* seconds for one browser run */

static char browser[4096];

/* ---- finding (or installing) the browser ---------------------------------------------------- */

static bool find_in_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, cap, "%.*s/%s", (int)len, path, name);
        if (len && access(out, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

static bool find_browser(void)
{
    static const char *const names[] = {"chromium", "chromium-browser"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++)
        if (find_in_path(names[i], browser, sizeof browser))
            return true;
    return false;
}

/* Installs Debian's chromium when running as root with apt-get; says what it does. */
static void try_install(void)
{
    char apt[4096];
    if (geteuid() != 0 || !find_in_path("apt-get", apt, sizeof apt))
        return;
    print_message("[ INSTALL  ] chromium is missing: apt-get install chromium (as root)\n");
    int rc = system("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                    "--no-install-recommends chromium >/dev/null 2>&1");
    if (rc != 0)
        rc = system("DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 && "
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                    "--no-install-recommends chromium >/dev/null 2>&1");
    if (rc != 0)
        print_message("[ INSTALL  ] apt-get could not install chromium\n");
}

static void need_browser(void)
{
    if (browser[0] || find_browser())
        return;
    try_install();
    if (find_browser())
        return;
    print_message("[  SKIP    ] chromium is not installed (and could not be: not root, or apt-get "
                  "failed); the report page is not checked in a browser. scripts/setup "
                  "installs it.\n");
    skip();
}

/* ---- running things ---------------------------------------------------------------------------- */

/* Runs argv with stdout and stderr into files (NULL: /dev/null), killing it after
   timeout seconds. Returns its exit code, or -1 when it died or timed out. */
static int run(char *const argv[], const char *out_path, const char *err_path, int timeout)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || in < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        setpgid(0, 0); /* the browser's helpers go with it when it is killed */
        execv(argv[0], argv);
        _exit(127);
    }
    time_t start = time(NULL);
    int status;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (time(NULL) - start > timeout) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("%s took longer than %d s", argv[0], timeout);
        }
        usleep(50 * 1000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *read_text(const char *path)
{
    size_t len;
    return (char *)read_file_or_fail(path, &len);
}

/*
 * Loads file:// page in the browser. mode is "--dump-dom" (the DOM after the scripts
 * ran goes to out_path, the browser's log to log_path) or "--screenshot=<png>".
 */
static void browse(const char *page, const char *mode, const char *out_path, const char *log_path)
{
    char *profile = make_temp_dir(); /* a fresh profile: nothing remembered between runs */
    char user_data[4200], url[4200];
    snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
    snprintf(url, sizeof url, "file://%s", page);
    char *argv[] = {browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", user_data,
                    "--enable-logging=stderr", "--v=0", "--window-size=1280,5200",
                    "--hide-scrollbars", (char *)mode, url, NULL};
    int rc = run(argv, out_path, log_path, BROWSER_TIMEOUT);
    remove_tree(profile);
    tv_free(profile);
    if (rc != 0) {
        char *log = log_path ? read_text(log_path) : NULL;
        fail_msg("chromium %s %s: exit %d\n%s", mode, page, rc, log ? log : "");
    }
}

/* ---- looking at the page ---------------------------------------------------------------------- */

static size_t count_of(const char *haystack, const char *needle, const char *end)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) && (!end || p < end); p += strlen(needle))
        n++;
    return n;
}

/* How many needles lie inside the element with this id (up to its closing tag). */
static size_t count_in(const char *dom, const char *id, const char *close, const char *needle)
{
    char key[80];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *start = strstr(dom, key);
    if (!start)
        fail_msg("the page has no element with %s", key);
    const char *end = strstr(start, close);
    assert_non_null(end);
    return count_of(start, needle, end);
}

/* Lines of the browser's log that come from the page ("CONSOLE" lines: console calls,
   uncaught errors, requests the CSP blocked). */
static void assert_page_logged_nothing(const char *log_path, const char *page)
{
    char *log = read_text(log_path);
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, ":CONSOLE"))
            fail_msg("%s: the browser logged from the page:\n%s", page, line);
    tv_free(log);
}

static cJSON *json_item(cJSON *o, const char *path)
{
    char key[64];
    const char *p = path;
    while (o && *p) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)len, p);
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        p += len + (p[len] == '.');
    }
    if (!o)
        fail_msg("the report's JSON has no %s", path);
    return o;
}

/* A script appended to a copy of the page: sorts the tensor table by clicking its
   headings and writes what it saw into the page. */
static const char sort_check[] =
    "<script>(function(){\n"
    "var t=document.getElementById('tensor-table');\n"
    "var th=t.tHead.rows[0].cells;\n"
    "function col(i,num){return Array.prototype.map.call(t.tBodies[0].rows,function(r){"
    "var c=r.cells[i];var v=c.getAttribute('data-v');v=v===null?c.textContent:v;"
    "return num?Number(v):v.toLowerCase();});}\n"
    "function sorted(a,dir){for(var i=1;i<a.length;i++)if(dir*(a[i]<a[i-1]?-1:a[i]>a[i-1]?1:0)<0)"
    "return false;return true;}\n"
    "var out=[];\n"
    "out.push('initial-bytes-desc:'+sorted(col(5,true),-1));\n"
    "th[1].click();out.push('name-asc:'+sorted(col(1,false),1)+':'+th[1].getAttribute('aria-sort'));\n"
    "th[1].click();out.push('name-desc:'+sorted(col(1,false),-1));\n"
    "th[5].click();out.push('bytes-desc:'+sorted(col(5,true),-1));\n"
    "th[5].click();out.push('bytes-asc:'+sorted(col(5,true),1));\n"
    "out.push('rows:'+t.tBodies[0].rows.length);\n"
    "document.body.setAttribute('data-sort-check',out.join(' '));\n"
    "})();</script>\n";

static void check_model(const char *name, const char *model)
{
    need_browser();
    char dir[4096], page[4200], json_path[4200], dom_path[4200], log_path[4200], png[4200];
    char sort_page[4200], shot[4300];
    snprintf(dir, sizeof dir, "%s/report-browser", TOKVEC_BINARY_DIR);
    mkdir(dir, 0755);
    snprintf(page, sizeof page, "%s/%s.html", dir, name);
    snprintf(json_path, sizeof json_path, "%s/%s.json", dir, name);
    snprintf(dom_path, sizeof dom_path, "%s/%s.dom.html", dir, name);
    snprintf(log_path, sizeof log_path, "%s/%s.log", dir, name);
    snprintf(png, sizeof png, "%s/%s.png", dir, name);
    snprintf(sort_page, sizeof sort_page, "%s/%s.sort.html", dir, name);

    char *out = NULL, *errout = NULL;
    int rc = run_cli(&out, &errout, "report", model, "-o", page, NULL);
    if (rc != 0)
        fail_msg("tokvec report %s: exit %d: %s", model, rc, errout);
    free(out);
    free(errout);
    rc = run_cli(&out, &errout, "report", "--json", model, "-o", json_path, NULL);
    if (rc != 0)
        fail_msg("tokvec report --json %s: exit %d: %s", model, rc, errout);
    free(out);
    free(errout);
    char *json_text = read_text(json_path);
    cJSON *doc = cJSON_Parse(json_text);
    assert_non_null(doc);

    /* the page as loaded: nothing logged, the script ran, the charts drawn */
    browse(page, "--dump-dom", dom_path, log_path);
    assert_page_logged_nothing(log_path, page);
    char *dom = read_text(dom_path);
    const char *table = strstr(dom, "id=\"tensor-table\"");
    assert_non_null(table);
    assert_true(count_of(table, "tabindex=\"0\"", strstr(table, "</thead>")) == 7);

    size_t parts = 0;
    cJSON *part;
    cJSON_ArrayForEach(part, json_item(doc, "tensors.parts"))
        parts += cJSON_GetObjectItem(part, "bytes")->valuedouble > 0;
    assert_int_equal(count_in(dom, "bytes-bar", "</svg>", "<rect class=\"bar"), parts);
    assert_int_equal(count_in(dom, "len-bytes", "</svg>", "<rect class=\"bar"),
                     cJSON_GetArraySize(json_item(doc, "vocabulary.length_bytes.counts")));
    assert_int_equal(count_in(dom, "len-chars", "</svg>", "<rect class=\"bar"),
                     cJSON_GetArraySize(json_item(doc, "vocabulary.length_chars.counts")));
    assert_int_equal(count_in(dom, "scripts", "</svg>", "<rect class=\"bar"),
                     cJSON_GetArraySize(json_item(doc, "vocabulary.scripts")));
    assert_int_equal(count_in(dom, "norms", "</svg>", "<rect class=\"bar"),
                     cJSON_GetArraySize(json_item(doc, "embedding.norms.counts")));
    assert_true(cJSON_IsTrue(json_item(doc, "map.drawn")));
    int placed = json_item(doc, "map.placed")->valueint;
    assert_true(placed >= 2);
    assert_int_equal(count_in(dom, "map-plot", "</svg>", "<circle class=\"point"), placed);
    assert_int_equal(count_in(dom, "map-plot", "</svg>", "<text class=\"label\""), placed);
    /* one row per check, per tensor and per word */
    assert_int_equal(count_in(dom, "checks", "</table>", "<tr class="),
                     cJSON_GetArraySize(json_item(doc, "verify.checks")));
    assert_int_equal(count_in(dom, "tensor-table", "</table>", "<tr>") - 1,
                     json_item(doc, "tensors.count")->valueint);
    assert_int_equal(count_in(dom, "words", "</table>", "<tr>") - 1,
                     cJSON_GetArraySize(json_item(doc, "map.words")));

    /* the sortable table, clicked */
    char *html = read_text(page);
    char *end = strstr(html, "</body>");
    assert_non_null(end);
    FILE *f = fopen(sort_page, "w");
    assert_non_null(f);
    fwrite(html, 1, (size_t)(end - html), f);
    fputs(sort_check, f);
    fputs(end, f);
    fclose(f);
    browse(sort_page, "--dump-dom", dom_path, log_path);
    assert_page_logged_nothing(log_path, sort_page);
    char *sorted = read_text(dom_path);
    char want[256];
    snprintf(want, sizeof want, "data-sort-check=\"initial-bytes-desc:true name-asc:true:ascending "
             "name-desc:true bytes-desc:true bytes-asc:true rows:%d\"",
             json_item(doc, "tensors.count")->valueint);
    if (!strstr(sorted, want)) {
        const char *got = strstr(sorted, "data-sort-check");
        fail_msg("sorting the tensor table: expected %s, got %.200s", want, got ? got : "nothing");
    }

    /* a screenshot to look at, kept as an artifact of the test */
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    unlink(png);
    browse(page, shot, NULL, log_path);
    size_t png_len;
    uint8_t *png_data = read_file_or_fail(png, &png_len);
    assert_true(png_len > 10000);
    assert_memory_equal(png_data, "\x89PNG\r\n\x1a\n", 8);
    print_message("[  INFO    ] %s: screenshot %s\n", name, png);

    tv_free(png_data);
    tv_free(sorted);
    tv_free(html);
    tv_free(dom);
    cJSON_Delete(doc);
    tv_free(json_text);
}

static void stories260k_page_renders_with_every_chart(void **state)
{
    (void)state;
    check_model("stories260K", real_fixture("gguf/weights/stories260K.gguf"));
}

static void gpt2_folder_page_renders_with_every_chart(void **state)
{
    (void)state;
    check_model("tiny-llm-cicd-gpt2-vocab50257",
                real_fixture("safetensors/tiny-llm-cicd-gpt2-vocab50257"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stories260k_page_renders_with_every_chart),
        cmocka_unit_test(gpt2_folder_page_renders_with_every_chart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
