/*
 * tokvec embed MODEL TEXT | --ids ID...: the embedding rows of a text's tokens (or of
 * token ids): per token its id, norm and first values (--full: all), or one mean
 * vector (--pool mean); --json for all values, --npy FILE for NumPy.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embed_cli.h"

enum {
    OPT_IDS = CLI_OPT_COMMAND,
    OPT_POOL,
    OPT_FULL,
    OPT_JSON,
    OPT_NPY,
    OPT_FORCE,
};

/* Values shown per vector without --full. */
#define SHOWN_VALUES 3

static const char usage[] =
    "usage: tokvec embed [options] MODEL TEXT\n"
    "       tokvec embed [options] MODEL --ids ID...\n"
    "\n"
    "The embedding row of each token of TEXT (or of each token id): id, norm and the\n"
    "first values. TEXT is looked up as one token (\"Apple\", \" king\", \"Ġking\"); for\n"
    "word-vector files, as one word.\n"
    "\n"
    "options:\n"
    "      --ids                   the arguments after MODEL are token ids\n"
    "      --pool mean             one vector: the mean of the rows\n"
    "      --full                  every value (default: the first 3)\n"
    "      --json                  one JSON document with every value (schema in README.md)\n"
    "      --npy FILE              also write the vectors to FILE as NumPy float32,\n"
    "                              shape [tokens, dims] ([1, dims] with --pool mean)\n"
    "      --force                 replace an existing --npy FILE\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 no such token, no embedding, or the file cannot be\n"
    "written, 2 usage error\n";

static void print_values(const float *v, size_t dim, bool full)
{
    size_t shown = full || dim <= SHOWN_VALUES ? dim : SHOWN_VALUES;
    fputc('[', stdout);
    for (size_t j = 0; j < shown; j++)
        printf("%s%.6g", j ? ", " : "", v[j]);
    if (shown < dim)
        printf(", ...]   (%zu dims; --full for all)\n", dim);
    else
        fputs("]\n", stdout);
}

static cJSON *json_values(const float *v, size_t dim)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t j = 0; arr && j < dim; j++) {
        cJSON *num = cJSON_CreateNumber(embed_round9(v[j]));
        if (!num || !cJSON_AddItemToArray(arr, num)) {
            cJSON_Delete(num);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* {"norm": n, "values": [...]} added to obj. */
static bool json_vector(cJSON *obj, const float *v, size_t dim)
{
    cJSON *values = json_values(v, dim);
    if (!values || !cJSON_AddNumberToObject(obj, "norm", embed_round9(tv_vec_norm(v, dim))) ||
        !cJSON_AddItemToObject(obj, "values", values)) {
        cJSON_Delete(values);
        return false;
    }
    return true;
}

int cmd_embed(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ids", no_argument, NULL, OPT_IDS},
        {"pool", required_argument, NULL, OPT_POOL},
        {"full", no_argument, NULL, OPT_FULL},
        {"json", no_argument, NULL, OPT_JSON},
        {"npy", required_argument, NULL, OPT_NPY},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        CLI_OPEN_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    bool ids = false, pool = false, full = false, json = false, force = false;
    const char *npy = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        case OPT_IDS: ids = true; break;
        case OPT_POOL:
            if (strcmp(optarg, "mean") != 0) {
                cli_error("%s: --pool '%s': the only pooling is mean", argv[0], optarg);
                return CLI_USAGE;
            }
            pool = true;
            break;
        case OPT_FULL: full = true; break;
        case OPT_JSON: json = true; break;
        case OPT_NPY:
            if (!*optarg) {
                cli_error("%s: --npy needs a file name", argv[0]);
                return CLI_USAGE;
            }
            npy = optarg;
            break;
        case OPT_FORCE: force = true; break;
        default:
            return CLI_USAGE;
        }
    }
    int n_args = argc - optind;
    if ((!ids && n_args != 2) || (ids && n_args < 2)) {
        cli_error("%s: expected MODEL TEXT or MODEL --ids ID... (see tokvec help %s)", argv[0],
                  argv[0]);
        return CLI_USAGE;
    }

    int rc;
    struct embed_ctx ctx;
    struct embed_query q = {0};
    float *vecs = NULL;
    cJSON *doc = NULL;
    tv_error err = {0};
    if ((rc = embed_open(&ctx, argv[optind], &open)) != CLI_OK)
        return rc;
    rc = ids ? embed_query_ids(&ctx, argv[0], argv + optind + 1, n_args - 1, &q)
             : embed_query_text(&ctx, argv[0], argv[optind + 1], QUERY_TOKENIZE_FIRST, &q);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_FAIL;

    size_t dim = tv_embed_dim(ctx.e);
    size_t n_vecs = pool ? 1 : q.n;
    vecs = tv_malloc(n_vecs * dim * sizeof *vecs);
    if (!vecs) {
        cli_error("%s: out of memory for %zu vectors of %zu values", argv[0], n_vecs, dim);
        goto out;
    }
    int lrc = pool ? tv_embed_mean(ctx.e, q.ids, q.n, vecs, &err)
                   : tv_embed_lookup(ctx.e, q.ids, q.n, vecs, &err);
    if (lrc < 0) {
        cli_error("%s: %s: %s", argv[0], ctx.path, err.message);
        goto out;
    }
    if (npy && npy_write_f32(npy, vecs, n_vecs, dim, force, &err) < 0) {
        cli_error("%s: %s", argv[0], err.message);
        goto out;
    }

    if (json) {
        doc = cJSON_CreateObject();
        bool ok = doc && embed_json_add_model(doc, &ctx) == 0;
        cJSON *query = ok ? embed_json_query(&ctx, &q) : NULL;
        if (!query || !cJSON_AddItemToObject(doc, "query", query)) {
            cJSON_Delete(query);
            ok = false;
        }
        if (ok && pool) {
            cJSON *mean = cJSON_AddObjectToObject(doc, "mean");
            ok = mean && json_vector(mean, vecs, dim);
        } else if (ok) {
            cJSON *list = cJSON_AddArrayToObject(doc, "vectors");
            ok = list != NULL;
            for (size_t i = 0; ok && i < q.n; i++) {
                cJSON *o = cJSON_CreateObject();
                ok = o && cJSON_AddItemToArray(list, o);
                ok = ok && cJSON_AddNumberToObject(o, "id", q.ids[i]) &&
                     embed_json_add_token(o, ctx.m, q.ids[i]) == 0 &&
                     json_vector(o, vecs + i * dim, dim);
            }
        }
        if (ok)
            ok = npy ? cli_json_add_bytes(doc, "npy", npy, strlen(npy)) == 0
                     : cJSON_AddNullToObject(doc, "npy") != NULL;
        if (!ok || cli_json_print(doc, false) < 0) {
            cli_error("%s: out of memory building JSON", argv[0]);
            goto out;
        }
    } else {
        struct cli_buf b;
        cli_buf_init(&b);
        if (q.kind == QUERY_IDS)
            cli_buf_puts(&b, "--ids");
        else
            cli_buf_printf(&b, "\"%s\"", cli_escaped(q.text, q.len, CLI_ESCAPE_QUOTE, 0));
        cli_buf_printf(&b, " -> %zu token%s: ", q.n, q.n == 1 ? "" : "s");
        embed_ids_display(&b, ctx.m, q.ids, q.n);
        puts(b.ptr);
        cli_buf_release(&b);
        char num[32];
        int id_w = 4;
        for (size_t i = 0; i < q.n; i++) {
            int w = snprintf(num, sizeof num, "%u", q.ids[i]);
            id_w = w > id_w ? w : id_w;
        }
        if (pool) {
            printf("  mean of %zu  norm %.6g  ", q.n, tv_vec_norm(vecs, dim));
            print_values(vecs, dim, full);
        }
        for (size_t i = 0; !pool && i < q.n; i++) {
            printf("  %*u  norm %.6g  ", id_w, q.ids[i], tv_vec_norm(vecs + i * dim, dim));
            print_values(vecs + i * dim, dim, full);
        }
        if (npy)
            printf("wrote %s: %zu x %zu float32\n", cli_escaped(npy, strlen(npy), 0, 0), n_vecs,
                   dim);
    }
    rc = CLI_OK;
out:
    cJSON_Delete(doc);
    tv_free(vecs);
    embed_query_release(&q);
    embed_close(&ctx);
    return rc;
}
