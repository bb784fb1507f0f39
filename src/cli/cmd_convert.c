/*
 * tokvec convert SRC... OUT: read one model (a file, a folder, or several files that
 * belong together) and write it as GGUF, safetensors, a Hugging Face folder or a
 * tokenizer.json. The work is tv_model_write's; this file parses the options, shows
 * progress on stderr when stderr is a terminal, turns SIGINT/SIGTERM/SIGHUP into a clean
 * stop (nothing left behind), and prints one line about the result.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_TO = CLI_OPT_COMMAND,
    OPT_DTYPE,
    OPT_ONLY_EMBEDDING,
    OPT_MAX_SHARD_SIZE,
    OPT_FORCE,
    OPT_ALLOW_LOSSY,
};

static const char usage[] =
    "usage: tokvec convert [options] SRC... OUT\n"
    "\n"
    "Reads a model and writes it in another format. SRC is a .gguf, .safetensors,\n"
    "tokenizer.json or other vocabulary file, word vectors, a .npy matrix, or a Hugging\n"
    "Face folder; several SRC paths are read as one model (weights + tokenizer.json,\n"
    "...). The output format follows OUT (.gguf, .safetensors, *tokenizer.json, .npy,\n"
    ".vec for word2vec text; .txt and .bin only from word vectors: the source's text\n"
    "flavour, word2vec binary; a folder: an existing folder, a trailing '/' or a name\n"
    "without an extension) or --to. OUT ending in .gz is written gzipped. The output\n"
    "appears only when complete; an existing OUT is refused unless --force.\n"
    "\n"
    "options:\n"
    "      --to FORMAT             gguf, safetensors, tokenizer.json, folder, word2vec\n"
    "                              (text), word2vec-binary, glove or npy\n"
    "      --dtype TYPE            keep (default), f32, f16, bf16, q8_0 or q4_0: the dtype\n"
    "                              of floating-point tensors of 2 or more dimensions\n"
    "                              (1-D and integer tensors keep theirs); quantized\n"
    "                              tensors that the output cannot hold become f32\n"
    "      --only-embedding        write the vocabulary and the token embedding only\n"
    "      --max-shard-size SIZE   folder output: split the weights into shards of at\n"
    "                              most SIZE (5GB, 500MB, 2GiB, or bytes) with an index\n"
    "      --force                 replace an existing OUT\n"
    "      --allow-lossy           write a GGUF even when llama.cpp's tokenizer has no\n"
    "                              place for part of the source's (a normalizer, a\n"
    "                              pre-tokenizer): a warning names it (default: refused)\n"
    CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 written, 1 the model could not be read or written (nothing is left\n"
    "behind; this includes an existing OUT without --force and what the output cannot\n"
    "hold), 2 usage error (also options that do not fit the output, such as --dtype\n"
    "q8_0 for safetensors)\n";

#define TO_FORMATS                                                                        \
    "gguf, safetensors, tokenizer.json, folder, word2vec, word2vec-binary, glove or npy"

static bool known_format(const char *name)
{
    static const char *const names[] = {"gguf", "safetensors", "tokenizer.json", "folder",
                                        "word2vec", "word2vec-binary", "glove", "npy"};
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* "5GB", "500MB", "2GiB", "1048576": decimal units as Hugging Face reads them, binary
   ones with "i". Returns 0, or -1 when malformed, zero or too large. */
static int parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t factor;
    } units[] = {
        {"", 1}, {"B", 1},
        {"KB", 1000ULL}, {"MB", 1000000ULL}, {"GB", 1000000000ULL}, {"TB", 1000000000000ULL},
        {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40},
    };
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits >= 20)
        return -1;
    char number[24];
    memcpy(number, s, digits);
    number[digits] = '\0';
    uint64_t value;
    if (cli_parse_u64(number, &value) < 0 || value == 0)
        return -1;
    for (size_t i = 0; i < TV_ARRAY_SIZE(units); i++)
        if (strcasecmp(s + digits, units[i].unit) == 0)
            return tv_mul_u64_fits(value, units[i].factor, out) ? 0 : -1;
    return -1;
}

static int parse_dtype(const char *s, int *out)
{
    static const char *const names[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};
    if (strcasecmp(s, "keep") == 0) {
        *out = -1;
        return 0;
    }
    for (size_t i = 0; i < TV_ARRAY_SIZE(names); i++) {
        enum tv_dtype dtype;
        if (strcasecmp(s, names[i]) == 0 && tv_dtype_from_name(names[i], &dtype) == 0) {
            *out = (int)dtype;
            return 0;
        }
    }
    return -1;
}

/* ---- progress ------------------------------------------------------------------------ */

struct progress {
    struct timespec start;
    bool show;    /* stderr is a terminal */
    bool shown;
};

/* Set by SIGINT, SIGTERM and SIGHUP: the write stops after the tensor in hand and
   removes what it wrote. A second signal ends the process at once. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int on_progress(void *ctx, size_t done, size_t total, uint64_t bytes,
                       uint64_t bytes_total)
{
    struct progress *pr = ctx;
    if (pr->show && !interrupted) {
        double secs = seconds_since(&pr->start);
        char a[32], b[32], rate[32];
        cli_human_bytes(bytes, a);
        cli_human_bytes(bytes_total, b);
        cli_human_bytes(secs > 0 ? (uint64_t)((double)bytes / secs) : 0, rate);
        fprintf(stderr, "\rtokvec: tensor %zu/%zu, %s of %s, %s/s   ", done, total, a, b, rate);
        if (done == total)
            fputc('\n', stderr);
        fflush(stderr);
        pr->shown = done != total;
    }
    return interrupted != 0;
}

/* What the output could not hold (with --allow-lossy). */
static void on_warning(void *ctx, const char *message)
{
    struct progress *pr = ctx;
    if (pr->shown) {
        fputc('\n', stderr);
        pr->shown = false;
    }
    cli_error("warning: %s", message);
}

/* ---- the command ----------------------------------------------------------------------- */

int cmd_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, OPT_TO},
        {"dtype", required_argument, NULL, OPT_DTYPE},
        {"only-embedding", no_argument, NULL, OPT_ONLY_EMBEDDING},
        {"max-shard-size", required_argument, NULL, OPT_MAX_SHARD_SIZE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"allow-lossy", no_argument, NULL, OPT_ALLOW_LOSSY},
        CLI_OPEN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    struct tv_write_options wopt;
    tv_write_options_init(&wopt);
    int c;
    while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        switch (c) {
        case OPT_TO:
            if (!known_format(optarg)) {
                cli_error("convert: --to '%s': expected " TO_FORMATS, optarg);
                return CLI_USAGE;
            }
            wopt.format = optarg;
            break;
        case OPT_DTYPE:
            if (parse_dtype(optarg, &wopt.dtype) < 0) {
                cli_error("convert: --dtype '%s': expected keep, f32, f16, bf16, q8_0 or q4_0",
                          optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_ONLY_EMBEDDING: wopt.only_embedding = 1; break;
        case OPT_MAX_SHARD_SIZE:
            if (parse_size(optarg, &wopt.max_shard_size) < 0) {
                cli_error("convert: --max-shard-size '%s': expected a size such as 5GB, 500MB, "
                          "2GiB or a number of bytes", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_FORCE: wopt.force = 1; break;
        case OPT_ALLOW_LOSSY: wopt.allow_lossy = 1; break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind < 2) {
        cli_error("convert: expected SRC... OUT (usage: tokvec convert [options] SRC... OUT)");
        return CLI_USAGE;
    }
    const char *out_path = argv[argc - 1];
    tv_error err = {0};
    struct stat st;
    /* the library refuses it too; checked first so that it costs no reading */
    if (!wopt.force && lstat(out_path, &st) == 0) {
        cli_error("%s: already exists (use --force to replace it)", out_path);
        return CLI_FAIL;
    }
    tv_model *m = tv_model_open_many((const char *const *)argv + optind,
                                     (size_t)(argc - 1 - optind), &open, &err);
    if (!m) {
        cli_error("%s", err.message[0] ? err.message : tv_status_name(err.code));
        return CLI_FAIL;
    }
    struct progress pr = {.show = isatty(STDERR_FILENO) != 0};
    clock_gettime(CLOCK_MONOTONIC, &pr.start);
    wopt.progress = on_progress;
    wopt.progress_ctx = &pr;
    wopt.warn = on_warning;
    wopt.warn_ctx = &pr;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    int rc = CLI_OK;
    if (tv_model_write(m, out_path, &wopt, &err) < 0) {
        if (pr.shown)
            fputc('\n', stderr);
        cli_error("%s", err.message[0] ? err.message : tv_status_name(err.code));
        /* options that do not fit the output (--dtype q8_0 for safetensors, a shard size
           for a file, a name that says no format) are usage errors */
        rc = err.code == TV_ERR_USAGE ? CLI_USAGE : CLI_FAIL;
    } else {
        printf("wrote %s (%.1f s)\n", out_path, seconds_since(&pr.start));
    }
    tv_model_free(m);
    return rc;
}
