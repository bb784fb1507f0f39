/* Any file, the way tv_model_read_memory() sees it: every format's probe, the winner's
   reader, the embedding choice. Inputs of every other target belong here too. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tv_open_options opt;
    fuzz_options(&opt);
    tv_error err = {0};
    tv_model *m = tv_model_read_memory(data, size, "input", &opt, &err);
    if (!m) {
        fuzz_check_error(&err, "input");
        return 0;
    }
    fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
