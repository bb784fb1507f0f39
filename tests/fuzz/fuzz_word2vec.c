/* Word vectors (formats/word2vec.c): the input is read three times, as word2vec text
   (and fastText .vec), as word2vec binary and as GloVe text, each into its own model. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const struct tv_format *fmt;
        const char *name;
    } readers[] = {
        {&tv_format_word2vec, "vectors.txt"},
        {&tv_format_word2vec_binary, "vectors.bin"},
        {&tv_format_glove, "glove.txt"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(readers); i++) {
        tv_model *m = fuzz_read(NULL, data, size, readers[i].fmt, readers[i].name);
        if (m)
            fuzz_walk(m);
        tv_model_free(m);
    }
    return 0;
}
