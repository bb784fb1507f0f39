/* PyTorch checkpoints (formats/pytorch.c over src/pickle.c): a torch.save zip, or the
   legacy stream of five pickles and raw storages. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_pytorch, "pytorch_model.bin");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
