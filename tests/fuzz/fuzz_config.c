/* config.json, tokenizer_config.json and generation_config.json (src/config.c): the
   input is read as each of them, in turn, into one model. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_config_json, "config.json");
    if (m)
        m = fuzz_read(m, data, size, &tv_format_tokenizer_config_json, "tokenizer_config.json");
    if (m)
        m = fuzz_read(m, data, size, &tv_format_generation_config_json,
                      "generation_config.json");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
