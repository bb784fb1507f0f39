/*
 * tokvec similar MODEL QUERY: the k rows of the token embedding nearest to a token, to
 * the mean of some tokens, or to a vector read from a .npy file, by cosine similarity,
 * dot product or L2 distance. The query's own tokens are left out of the results. The
 * search itself is the library's (tv_embed_nearest*, src/embed.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embed_cli.h"

enum {
    OPT_METRIC = CLI_OPT_COMMAND,
    OPT_IDS,
    OPT_VECTOR,
    OPT_THREADS,
    OPT_JSON,
};

static const char usage[] =
    "usage: tokvec similar [options] MODEL QUERY\n"
    "       tokvec similar [options] MODEL --ids ID...\n"
    "       tokvec similar [options] MODEL --vector FILE.npy\n"
    "\n"
    "The K rows of the token embedding nearest to QUERY: a token (\"king\", \" king\",\n"
    "\"Ġking\"), token ids (several: their mean), or a vector. The query's own tokens\n"
    "are left out. Prints rank, token id, token and score.\n"
    "\n"
    "options:\n"
    "  -k K                        how many results (default 10)\n"
    "      --metric M              cosine (default), dot or l2 (a distance: lower is\n"
    "                              nearer)\n"
    "      --ids                   the arguments after MODEL are token ids\n"
    "      --vector FILE           the query is the vector in FILE: a NumPy .npy of\n"
    "                              float32 (or float64), shape (d,) or (1, d)\n"
    "      --threads N             scan with N threads (default 1); the results do not\n"
    "                              depend on N\n"
    "      --json                  one JSON document (schema in README.md)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 no such token, no embedding, or a bad vector file,\n"
    "2 usage error\n";

int cmd_similar(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"metric", required_argument, NULL, OPT_METRIC},
        {"ids", no_argument, NULL, OPT_IDS},
        {"vector", required_argument, NULL, OPT_VECTOR},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        CLI_OPEN_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    struct tv_search_options so;
    tv_search_options_init(&so);
    bool ids = false, json = false;
    const char *vector_path = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, "hk:", longopts)) != -1) {
        int shared = cli_open_option(&open, c, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        case 'k':
            if (embed_parse_k(argv[0], optarg, &so.k) < 0)
                return CLI_USAGE;
            break;
        case OPT_METRIC:
            if (embed_parse_metric(argv[0], optarg, &so.metric) < 0)
                return CLI_USAGE;
            break;
        case OPT_IDS: ids = true; break;
        case OPT_VECTOR: vector_path = optarg; break;
        case OPT_THREADS:
            if (embed_parse_threads(argv[0], optarg, &so.threads) < 0)
                return CLI_USAGE;
            break;
        case OPT_JSON: json = true; break;
        default:
            return CLI_USAGE;
        }
    }
    int n_args = argc - optind;
    if (n_args < 1 || (vector_path && (ids || n_args != 1)) ||
        (!vector_path && !ids && n_args != 2) || (ids && n_args < 2)) {
        cli_error("%s: expected MODEL QUERY, MODEL --ids ID..., or MODEL --vector FILE "
                  "(see tokvec help %s)", argv[0], argv[0]);
        return CLI_USAGE;
    }

    int rc = CLI_FAIL;
    struct embed_ctx ctx;
    struct embed_query q = {0};
    struct tv_neighbor *nb = NULL;
    float *vec = NULL;
    uint64_t vec_n = 0;
    cJSON *doc = NULL;
    tv_error err = {0};
    if ((rc = embed_open(&ctx, argv[optind], &open)) != CLI_OK)
        return rc;
    rc = CLI_FAIL;
    if (vector_path) {
        if (npy_read_vector(vector_path, &vec, &vec_n, &err) < 0) {
            cli_error("%s: %s", argv[0], err.message);
            goto out;
        }
        if (vec_n != tv_embed_dim(ctx.e)) {
            cli_error("%s: %s holds %llu values; embedding '%s' has %zu per row", argv[0],
                      vector_path, (unsigned long long)vec_n, tv_embed_tensor(ctx.e)->name,
                      tv_embed_dim(ctx.e));
            goto out;
        }
    } else {
        int qrc = ids ? embed_query_ids(&ctx, argv[0], argv + optind + 1, n_args - 1, &q)
                      : embed_query_text(&ctx, argv[0], argv[optind + 1], 0, &q);
        if (qrc != CLI_OK) {
            rc = qrc;
            goto out;
        }
    }
    nb = tv_malloc(so.k * sizeof *nb);
    if (!nb) {
        cli_error("%s: out of memory for %zu results", argv[0], so.k);
        goto out;
    }
    size_t n = 0;
    int src = vector_path ? tv_embed_nearest(ctx.e, vec, &so, nb, &n, &err)
                          : tv_embed_nearest_mean(ctx.e, q.ids, q.n, &so, nb, &n, &err);
    if (src < 0) {
        cli_error("%s: %s: %s", argv[0], ctx.path, err.message);
        goto out;
    }

    const struct tv_tensor *t = tv_embed_tensor(ctx.e);
    if (json) {
        doc = cJSON_CreateObject();
        bool ok = doc && embed_json_add_model(doc, &ctx) == 0;
        ok = ok && cJSON_AddStringToObject(doc, "metric", tv_metric_name(so.metric));
        ok = ok && cJSON_AddNumberToObject(doc, "k", (double)so.k);
        cJSON *query = NULL;
        if (ok && vector_path) {
            query = cJSON_CreateObject();
            ok = query && cJSON_AddStringToObject(query, "kind", "vector") &&
                 cli_json_add_bytes(query, "file", vector_path, strlen(vector_path)) == 0 &&
                 cJSON_AddNumberToObject(query, "values", (double)vec_n);
        } else if (ok) {
            query = embed_json_query(&ctx, &q);
            ok = query != NULL;
        }
        if (query && !cJSON_AddItemToObject(doc, "query", query)) {
            cJSON_Delete(query);
            ok = false;
        }
        ok = ok && embed_json_add_neighbors(doc, ctx.m, nb, n) == 0;
        if (!ok || cli_json_print(doc, false) < 0) {
            cli_error("%s: out of memory building JSON", argv[0]);
            goto out;
        }
    } else {
        struct cli_buf b;
        cli_buf_init(&b);
        if (vector_path)
            cli_buf_printf(&b, "the vector in %s",
                           cli_escaped(vector_path, strlen(vector_path), 0, 0));
        else
            embed_query_display(&b, &ctx, &q);
        printf("nearest to %s\nby %s among %llu rows of '%s' (%s, %zu dims)%s:\n", b.ptr,
               tv_metric_name(so.metric), (unsigned long long)tv_embed_rows(ctx.e), t->name,
               tv_dtype_name(t->dtype), tv_embed_dim(ctx.e),
               so.metric == TV_METRIC_L2 ? ", lower is nearer" : "");
        cli_buf_release(&b);
        embed_print_neighbors(ctx.m, nb, n);
    }
    rc = CLI_OK;
out:
    cJSON_Delete(doc);
    tv_free(nb);
    tv_free(vec);
    embed_query_release(&q);
    embed_close(&ctx);
    return rc;
}
