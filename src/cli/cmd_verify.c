/*
 * tokvec verify PATH...: a CI gate that proves vocabulary, configuration and
 * embedding agree. Several paths are one model (a GGUF plus a tokenizer.json, a
 * folder, ...). The checks live in the library (src/verify*.c, tokvec/verify.h);
 * this file parses options, prints one line per check and a summary, and writes
 * --json to stdout and --junit to a file.
 *
 * Exit codes: 0 every check passed (warnings allowed unless --strict), 1 a check
 * failed or the model could not be opened, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tokvec/verify.h"

enum {
    OPT_JSON = CLI_OPT_COMMAND,
    OPT_JUNIT,
    OPT_EXPECT,
    OPT_ONLY,
    OPT_SKIP,
    OPT_STRICT,
};

static const char usage[] =
    "usage: tokvec verify [options] PATH...\n"
    "\n"
    "Checks that a model's vocabulary, configuration and embedding agree, that the\n"
    "vocabulary is sound and the embedding data healthy, and lists every structural\n"
    "problem the readers noticed. Several PATHs are one model (a folder, a file, a\n"
    "GGUF plus a tokenizer.json). One line per check, then a summary.\n"
    "\n"
    "options:\n"
    "      --json                  every check with id, status, message and numbers\n"
    "                              as one JSON document on stdout\n"
    "      --junit FILE            also write JUnit XML to FILE (replaced atomically)\n"
    "      --expect LIST           assert values: vocab=N,hidden=N,dtype=T\n"
    "      --only IDS              run only these checks (comma-separated ids or groups:\n"
    "                              vocab, embedding, structure, expect)\n"
    "      --skip IDS              leave these checks out\n"
    "      --strict                warnings fail too\n"
    "  -q, --quiet                 print only failures, warnings and the summary\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "check ids: vocab_size hidden_dim padding tied_embeddings vocab.duplicates\n"
    "  vocab.dense vocab.added_ids vocab.specials vocab.merges vocab.byte_fallback\n"
    "  vocab.byte_level vocab.secondary embedding.nan embedding.zero_rows\n"
    "  embedding.low_norm structure.* expect.vocab expect.hidden expect.dtype\n"
    "  (README.md, section Verify, gives the reason for each)\n"
    "\n"
    "exit codes: 0 every check passed, 1 a check failed (with --strict: or warned) or\n"
    "the model could not be opened, 2 usage error\n";

/* Appends a comma-separated list to *list (repeated --only/--skip accumulate) after
   checking every entry. Returns 0, or -1 (reported) on an unknown id. */
static int add_ids(struct cli_buf *list, const char *arg, const char *option)
{
    const char *p = arg;
    while (*p) {
        size_t len = strcspn(p, ",");
        char id[128];
        if (len) {
            snprintf(id, sizeof id, "%.*s", (int)(len < sizeof id ? len : sizeof id - 1), p);
            if (len >= sizeof id || !tv_verify_known_id(id)) {
                cli_error("verify: %s: unknown check '%.*s' (see tokvec verify --help)", option,
                          (int)(len > 100 ? 100 : len), p);
                return -1;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (list->len)
        cli_buf_puts(list, ",");
    cli_buf_puts(list, arg);
    return 0;
}

static const char *status_label(enum tv_check_status status)
{
    switch (status) {
    case TV_CHECK_PASS: return "ok";
    case TV_CHECK_WARN: return "warn";
    case TV_CHECK_FAIL: return "FAIL";
    default: return "skip";
    }
}

static void print_text(const tv_verify_report *r, bool quiet)
{
    int width = 0;
    for (size_t i = 0; i < tv_verify_check_count(r); i++) {
        int len = (int)strlen(tv_verify_check(r, i)->id);
        width = len > width ? len : width;
    }
    for (size_t i = 0; i < tv_verify_check_count(r); i++) {
        const struct tv_check *c = tv_verify_check(r, i);
        if (quiet && (c->status == TV_CHECK_PASS || c->status == TV_CHECK_SKIP))
            continue;
        printf("%-4s  %-*s  %s\n", status_label(c->status), width, c->id, c->message);
    }
    size_t failed = tv_verify_count_status(r, TV_CHECK_FAIL);
    size_t warned = tv_verify_count_status(r, TV_CHECK_WARN);
    size_t passed = tv_verify_count_status(r, TV_CHECK_PASS);
    size_t skipped = tv_verify_count_status(r, TV_CHECK_SKIP);
    printf("%zu failed, %zu warning%s, %zu passed", failed, warned, warned == 1 ? "" : "s",
           passed);
    if (skipped)
        printf(", %zu skipped", skipped);
    putchar('\n');
}

/* Prints the JSON and writes the JUnit file of r. Returns CLI_OK or CLI_FAIL. */
static int emit(const tv_verify_report *r, bool json, const char *junit)
{
    int rc = CLI_OK;
    tv_error err = {0};
    if (json) {
        char *doc = tv_verify_report_json(r, &err);
        if (!doc) {
            cli_error("verify: %s", err.message);
            return CLI_FAIL;
        }
        puts(doc);
        tv_verify_string_free(doc);
    }
    if (junit && tv_verify_write_junit(r, junit, &err) < 0) {
        cli_error("verify: %s", err.message);
        rc = CLI_FAIL;
    }
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"junit", required_argument, NULL, OPT_JUNIT},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"only", required_argument, NULL, OPT_ONLY},
        {"skip", required_argument, NULL, OPT_SKIP},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"quiet", no_argument, NULL, 'q'},
        CLI_OPEN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    struct tv_verify_options vopt;
    tv_verify_options_init(&vopt);
    struct cli_buf only, skip;
    cli_buf_init(&only);
    cli_buf_init(&skip);
    bool json = false, quiet = false;
    const char *junit = NULL;
    tv_model *m = NULL;
    tv_verify_report *r = NULL;
    tv_error err = {0};
    int rc = CLI_USAGE, c;
    while ((c = cli_getopt(argc, argv, "hq", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            goto out;
        if (shared > 0)
            continue;
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_JUNIT: junit = optarg; break;
        case OPT_STRICT: vopt.strict = true; break;
        case 'q': quiet = true; break;
        case OPT_EXPECT:
            if (tv_verify_parse_expect(&vopt, optarg, &err) < 0) {
                cli_error("verify: %s", err.message);
                goto out;
            }
            break;
        case OPT_ONLY:
            if (add_ids(&only, optarg, "--only") < 0)
                goto out;
            break;
        case OPT_SKIP:
            if (add_ids(&skip, optarg, "--skip") < 0)
                goto out;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = CLI_OK;
            goto out;
        default:
            goto out;
        }
    }
    if (optind >= argc) {
        cli_error("verify: no PATH given (usage: tokvec verify [options] PATH...)");
        goto out;
    }
    if (junit && !*junit) {
        cli_error("verify: --junit needs a file name");
        goto out;
    }
    if (only.oom || skip.oom) {
        cli_error("verify: out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    vopt.only = only.len ? only.ptr : NULL;
    vopt.skip = skip.len ? skip.ptr : NULL;

    m = tv_model_open_many((const char *const *)argv + optind, (size_t)(argc - optind), &open,
                           &err);
    if (!m) {
        if (!err.message[0])
            snprintf(err.message, sizeof err.message, "%s", tv_status_name(err.code));
        cli_error("verify: %s", err.message);
        rc = CLI_FAIL; /* the model cannot be verified: that fails the gate */
        if (json || junit) {
            tv_error err2 = {0};
            r = tv_verify_report_error(argv[optind], err.message, &vopt, &err2);
            if (r)
                emit(r, json, junit);
        }
        goto out;
    }
    r = tv_verify_run(m, &vopt, &err);
    if (!r) {
        cli_error("verify: %s", err.message);
        rc = err.code == TV_ERR_USAGE ? CLI_USAGE : CLI_FAIL;
        goto out;
    }
    if (!json)
        print_text(r, quiet);
    rc = emit(r, json, junit);
    if (rc == CLI_OK && !tv_verify_ok(r))
        rc = CLI_FAIL;
out:
    tv_verify_report_free(r);
    tv_model_free(m);
    cli_buf_release(&only);
    cli_buf_release(&skip);
    return rc;
}
