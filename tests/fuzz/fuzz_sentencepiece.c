/* SentencePiece's ModelProto (formats/sentencepiece.c over src/protobuf.c). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tv_model *m = fuzz_read(NULL, data, size, &tv_format_sentencepiece, "tokenizer.model");
    if (m)
        fuzz_walk(m);
    tv_model_free(m);
    return 0;
}
