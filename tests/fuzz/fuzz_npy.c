/* NumPy .npy (formats/npy.c): magic, version, the Python dict header, the array. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_npy, "embeddings.npy");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
