/*
 * tokvec distance MODEL X Y: cosine similarity, L2 distance and dot product of two
 * tokens' embedding rows (a text or several ids: the mean of their rows), in double
 * precision (tv_embed_compare, src/embed.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "embed_cli.h"

enum {
    OPT_IDS = CLI_OPT_COMMAND,
    OPT_JSON,
};

static const char usage[] =
    "usage: tokvec distance [options] MODEL X Y\n"
    "\n"
    "Cosine similarity, L2 distance and dot product of the embedding rows of X and Y\n"
    "(tokens such as \"cat\", \" cat\", \"Ġcat\"), with both norms.\n"
    "\n"
    "options:\n"
    "      --ids                   X and Y are token ids\n"
    "      --json                  one JSON document (schema in README.md)\n" CLI_OPEN_USAGE
    "  -h, --help                  this text\n"
    "\n"
    "exit codes: 0 success, 1 no such token or no embedding, 2 usage error\n";

int cmd_distance(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ids", no_argument, NULL, OPT_IDS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        CLI_OPEN_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct tv_open_options open = {0};
    bool ids = false, json = false;
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
        case OPT_JSON: json = true; break;
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 3) {
        cli_error("%s: expected MODEL X Y (see tokvec help %s)", argv[0], argv[0]);
        return CLI_USAGE;
    }

    int rc;
    struct embed_ctx ctx;
    struct embed_query q[2] = {{0}};
    cJSON *doc = NULL;
    tv_error err = {0};
    if ((rc = embed_open(&ctx, argv[optind], &open)) != CLI_OK)
        return rc;
    rc = embed_query_each(&ctx, argv[0], argv + optind + 1, 2, ids, 0, q);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    struct tv_similarity sim;
    if (tv_embed_compare(ctx.e, q[0].ids, q[0].n, q[1].ids, q[1].n, &sim, &err) < 0) {
        cli_error("%s: %s: %s", argv[0], ctx.path, err.message);
        goto out;
    }

    if (json) {
        doc = cJSON_CreateObject();
        static const char *const keys[2] = {"x", "y"};
        bool ok = doc && embed_json_add_model(doc, &ctx) == 0 &&
                  embed_json_add_queries(doc, &ctx, q, keys, 2) == 0;
        ok = ok && cJSON_AddNumberToObject(doc, "cosine", embed_round9(sim.cosine)) &&
             cJSON_AddNumberToObject(doc, "l2", embed_round9(sim.l2)) &&
             cJSON_AddNumberToObject(doc, "dot", embed_round9(sim.dot)) &&
             cJSON_AddNumberToObject(doc, "norm_x", embed_round9(sim.norm_x)) &&
             cJSON_AddNumberToObject(doc, "norm_y", embed_round9(sim.norm_y));
        if (!ok || cli_json_print(doc, false) < 0) {
            cli_error("%s: out of memory building JSON", argv[0]);
            goto out;
        }
    } else {
        struct cli_buf b;
        cli_buf_init(&b);
        embed_query_display(&b, &ctx, &q[0]);
        cli_buf_puts(&b, "\n  and ");
        embed_query_display(&b, &ctx, &q[1]);
        const struct tv_tensor *t = tv_embed_tensor(ctx.e);
        printf("%s\n  in '%s' (%s, %zu dims):\n", b.ptr, t->name, tv_dtype_name(t->dtype),
               tv_embed_dim(ctx.e));
        cli_buf_release(&b);
        printf("  cosine  %.6f\n  l2      %.6f\n  dot     %.6g\n  norms   %.6g, %.6g\n",
               sim.cosine, sim.l2, sim.dot, sim.norm_x, sim.norm_y);
    }
    rc = CLI_OK;
out:
    cJSON_Delete(doc);
    for (int i = 0; i < 2; i++)
        embed_query_release(&q[i]);
    embed_close(&ctx);
    return rc;
}
