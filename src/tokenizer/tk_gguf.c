/*
 * Tokenizers for GGUF vocabularies (no tokenizer.json): the pipeline llama.cpp builds
 * from tokenizer.ggml.model and tokenizer.ggml.pre.
 */
#include "tok.h"

int tk_config_from_gguf(tv_tokenizer *t, struct tv_vocab *v, tv_error *err)
{
    return tv_error_set(err, TV_ERR_UNSUPPORTED,
                        "%s: tokenizer.ggml.model '%s': GGUF tokenizers are not supported yet",
                        t->origin, v->ggml_model);
}
