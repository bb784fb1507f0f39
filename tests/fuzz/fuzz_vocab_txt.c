/* BERT's vocab.txt (formats/vocab_txt.c): one token per line. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_vocab_txt, "vocab.txt");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
