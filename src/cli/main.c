/*
 * tokvec <command> [options] ARGS: dispatches to the command table below.
 * Adding a command: see cli.h (one file, one declaration, one line here).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* The command table, in the order `tokvec --help` lists them. */
static const struct command commands[] = {
    {"inspect", cmd_inspect, "show what is in model files and folders"},
    {"verify", cmd_verify, "check that vocabulary, config and embedding agree (a CI gate)"},
    {"embed", cmd_embed, "the embedding vectors of a text's tokens or of token ids"},
    {"similar", cmd_similar, "the nearest tokens to a token, ids or a vector (cosine, dot, L2)"},
    {"analogy", cmd_analogy, "A is to B as C is to ?: nearest to B - A + C (3CosAdd)"},
    {"distance", cmd_distance, "cosine similarity and L2 distance of two tokens"},
    {"convert", cmd_convert, "write a model as GGUF, safetensors, a folder or tokenizer.json"},
    {"report", cmd_report, "a one-page HTML report of a model's vocabulary and embedding"},
    {"encode", cmd_encode, "text to token ids, id for id as Hugging Face tokenizers"},
    {"decode", cmd_decode, "token ids back to text"},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_usage(FILE *f)
{
    fputs("usage: tokvec <command> [options] ARGS\n"
          "       tokvec help <command>\n"
          "       tokvec --version\n"
          "\n"
          "Vocabularies and token embeddings from the model files people download\n"
          "(GGUF, safetensors, tokenizer.json, Hugging Face folders).\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < TV_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("\nexit codes: 0 success, 1 bad data or a failed check, 2 usage error\n", f);
}

static int run(const struct command *cmd, int argc, char **argv)
{
    optind = 0; /* glibc: a full getopt reset, so each command starts from argv[1] */
    int rc = cmd->fn(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("error writing the output");
        return rc ? rc : CLI_FAIL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("tokvec %s\n", TOKVEC_VERSION_STRING);
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc == 2) {
            print_usage(stdout);
            return CLI_OK;
        }
        const struct command *cmd = find_command(argv[2]);
        if (!cmd) {
            cli_error("no command '%s' (see tokvec --help)", argv[2]);
            return CLI_USAGE;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return run(cmd, 2, help_argv);
    }
    const struct command *cmd = find_command(name);
    if (!cmd) {
        cli_error("no command '%s' (see tokvec --help)", name);
        return CLI_USAGE;
    }
    return run(cmd, argc - 1, argv + 1);
}
