/* GGUF (formats/gguf.c), with an embedded tokenizer.huggingface.json when the file has one. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_gguf, "model.gguf");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
