/* A single safetensors file (formats/safetensors.c): the 8-byte length, the JSON header, the data. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_safetensors, "model.safetensors");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
