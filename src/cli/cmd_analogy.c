/*
 * tokvec analogy MODEL A B C: "A is to B as C is to ?", the rows nearest by cosine to
 * unit(B) - unit(A) + unit(C) (3CosAdd), leaving A, B and C out, as word2vec's
 * word-analogy and gensim's most_similar(positive=[B, C], negative=[A]) do: each input
 * vector is normalised to unit length before they are combined. The maths is the
 * library's (tv_embed_analogy, src/embed.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embed_cli.h"

enum {
    OPT_IDS = CLI_OPT_COMMAND,
    OPT_THREADS,
    OPT_JSON,
};

static const char usage[] =
    "usage: tokvec analogy [options] MODEL A B C\n"
    "\n"
    "\"A is to B as C is to ?\": the K rows nearest by cosine to B - A + C (3CosAdd),\n"
    "A, B and C left out. As in word2vec and gensim, each of A, B and C is normalised\n"
    "to unit length first. Example: tokvec analogy vectors.txt man king woman.\n"
    "\n"
    "options:\n"
    "  -k K                        how many results (default 10)\n"
    "      --ids                   A, B and C are token ids\n"
    "      --threads N             scan with N threads (default 1); the results do not\n"
    "                              depend on N\n"
    "      --json                  one JSON document (schema in README.md)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 no such token or no embedding, 2 usage error\n";

int cmd_analogy(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ids", no_argument, NULL, OPT_IDS},
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
        case OPT_IDS: ids = true; break;
        case OPT_THREADS:
            if (embed_parse_threads(argv[0], optarg, &so.threads) < 0)
                return CLI_USAGE;
            break;
        case OPT_JSON: json = true; break;
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 4) {
        cli_error("%s: expected MODEL A B C (see tokvec help %s)", argv[0], argv[0]);
        return CLI_USAGE;
    }

    static const char *const roles[3] = {"a", "b", "c"};
    int rc;
    struct embed_ctx ctx;
    struct embed_query q[3] = {{0}};
    struct tv_neighbor *nb = NULL;
    cJSON *doc = NULL;
    tv_error err = {0};
    if ((rc = embed_open(&ctx, argv[optind], &open)) != CLI_OK)
        return rc;
    rc = embed_query_each(&ctx, argv[0], argv + optind + 1, 3, ids, QUERY_ONE_TOKEN, q);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    nb = tv_malloc(so.k * sizeof *nb);
    if (!nb) {
        cli_error("%s: out of memory for %zu results", argv[0], so.k);
        goto out;
    }
    size_t n = 0;
    if (tv_embed_analogy(ctx.e, q[0].ids[0], q[1].ids[0], q[2].ids[0], &so, nb, &n, &err) < 0) {
        cli_error("%s: %s: %s", argv[0], ctx.path, err.message);
        goto out;
    }

    if (json) {
        doc = cJSON_CreateObject();
        bool ok = doc && embed_json_add_model(doc, &ctx) == 0 &&
                  cJSON_AddStringToObject(doc, "method", "3CosAdd") &&
                  cJSON_AddNumberToObject(doc, "k", (double)so.k) &&
                  embed_json_add_queries(doc, &ctx, q, roles, 3) == 0 &&
                  embed_json_add_neighbors(doc, ctx.m, nb, n) == 0;
        if (!ok || cli_json_print(doc, false) < 0) {
            cli_error("%s: out of memory building JSON", argv[0]);
            goto out;
        }
    } else {
        struct cli_buf b;
        cli_buf_init(&b);
        for (int i = 0; i < 3; i++) {
            cli_buf_puts(&b, i == 0 ? "" : i == 1 ? " is to " : " as ");
            embed_ids_display(&b, ctx.m, q[i].ids, 1);
        }
        const struct tv_tensor *t = tv_embed_tensor(ctx.e);
        printf("%s is to ?\nnearest by cosine to B - A + C (unit vectors, 3CosAdd) among %llu "
               "rows of '%s' (%s, %zu dims):\n", b.ptr, (unsigned long long)tv_embed_rows(ctx.e),
               t->name, tv_dtype_name(t->dtype), tv_embed_dim(ctx.e));
        cli_buf_release(&b);
        embed_print_neighbors(ctx.m, nb, n);
    }
    rc = CLI_OK;
out:
    cJSON_Delete(doc);
    tv_free(nb);
    for (int i = 0; i < 3; i++)
        embed_query_release(&q[i]);
    embed_close(&ctx);
    return rc;
}
