/*
 * GPT-2 style vocabularies (formats/vocab_json.c): vocab.json/encoder.json and
 * merges.txt/vocab.bpe. The input is a bundle (fuzz.h) read file by file into one
 * model, each file with the reader its name implies (*.json: vocab.json, anything
 * else: merges.txt), so merges attach to the vocabulary as in a folder; an input
 * that is not a bundle is read as a vocab.json and, separately, as a merges.txt.
 */
#include <string.h>

#include "fuzz.h"

static const struct tv_format *format_for(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".json") == 0 ? &tv_format_vocab_json
                                                         : &tv_format_merges_txt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_file files[4];
    size_t n = fuzz_split(data, size, "vocab.json", files, 4);
    if (size < 4 || memcmp(data, "==> ", 4) != 0) {
        tv_model *m = fuzz_read(NULL, data, size, &tv_format_merges_txt, "merges.txt");
        if (m)
            fuzz_walk(m);
        tv_model_free(m);
    }
    tv_model *m = NULL;
    for (size_t i = 0; i < n; i++) {
        tv_model *next = fuzz_read(m, files[i].data, files[i].len, format_for(files[i].name),
                                   files[i].name);
        if (!next)
            return 0; /* fuzz_read freed m */
        m = next;
    }
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
