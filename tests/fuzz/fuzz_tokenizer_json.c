/* tokenizer.json (formats/tokenizer_json.c), then the tokenizer built from it. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_tokenizer_json, "tokenizer.json");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
