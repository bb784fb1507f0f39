#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

const char *real_fixture(const char *relative)
{
    static char path[4096];
    const char *root = getenv("TOKVEC_REAL_FIXTURES");
    if (!root || !*root)
        root = TOKVEC_REAL_FIXTURES_DEFAULT;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0)
            fail_msg("real fixtures folder %s is missing (CI=true: this is a failure)", root);
        print_message("[  SKIP    ] real fixtures folder %s is missing; set TOKVEC_REAL_FIXTURES\n",
                      root);
        skip();
    }
    snprintf(path, sizeof path, "%s/%s", root, relative);
    if (stat(path, &st) != 0)
        fail_msg("real fixture %s is missing", path);
    return path;
}

uint8_t *read_file_or_fail(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = tv_malloc((size_t)size + 1);
    assert_non_null(buf);
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size)
        fail_msg("cannot read %s", path);
    fclose(f);
    buf[size] = 0;
    *len = (size_t)size;
    return buf;
}

char *make_temp_dir(void)
{
    char tmpl[] = "/tmp/tokvec-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return tv_strdup(dir);
}

tv_model *model_open_or_fail(const char *path, const struct tv_open_options *opt)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(path, opt, &err);
    if (!m)
        fail_msg("%s: %s", path, err.message);
    return m;
}

tv_model *fixture_open_or_fail(const char *relative)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture(relative), NULL, &err);
    if (!m)
        fail_msg("%s: %s", relative, err.message);
    return m;
}

size_t count_findings(const tv_model *m, const char *check)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_findings; i++)
        if (strcmp(m->findings[i].check, check) == 0)
            n++;
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    char *copy = tv_strndup(buf, len);
    free(buf);
    return copy;
}

/* run_cli and run_cli_rss: the arguments after arg come from ap. */
static int run_cli_va(char **out, char **errout, long *max_rss_kb, const char *arg, va_list ap)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = TOKVEC_CLI_PATH;
    for (const char *a = arg; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = a;
    argv[argc] = NULL;

    char out_path[] = "/tmp/tokvec-cli-out-XXXXXX", err_path[] = "/tmp/tokvec-cli-err-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    assert_true(out_fd >= 0 && err_fd >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    wait4(pid, &status, 0, &ru);
    if (max_rss_kb)
        *max_rss_kb = ru.ru_maxrss;
    lseek(out_fd, 0, SEEK_SET);
    lseek(err_fd, 0, SEEK_SET);
    char *o = slurp_fd(out_fd), *e = slurp_fd(err_fd);
    close(out_fd);
    close(err_fd);
    unlink(out_path);
    unlink(err_path);
    if (out)
        *out = o;
    else
        tv_free(o);
    if (errout)
        *errout = e;
    else
        tv_free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_cli(char **out, char **errout, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = run_cli_va(out, errout, NULL, arg, ap);
    va_end(ap);
    return rc;
}

int run_cli_rss(char **out, char **errout, long *max_rss_kb, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int rc = run_cli_va(out, errout, max_rss_kb, arg, ap);
    va_end(ap);
    return rc;
}
