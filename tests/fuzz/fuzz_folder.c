/*
 * A Hugging Face model folder (src/folder.c) held in a bundle (fuzz.h): config.json,
 * tokenizer.json, vocab.json + merges.txt, vocab.txt, tokenizer.model,
 * tokenizer_config.json, model.safetensors or model.safetensors.index.json with its
 * shards (formats/safetensors.c's index reader), *.gguf. This is where the readers
 * meet: claims from several files, secondary vocabularies, shards.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_file files[16];
    size_t n = fuzz_split(data, size, "model.safetensors", files, 16);
    struct tv_open_options opt;
    fuzz_options(&opt);
    tv_error err = {0};
    tv_model *m = tv_model_new_empty("bundle", &opt, &err);
    tv_dir *dir = fuzz_dir_new(files, n);
    if (!m || !dir)
        abort();
    if (tv_model_read_dir(m, dir, &err) < 0 || tv_model_pick_embedding(m, &err) < 0)
        fuzz_check_error(&err, "bundle");
    else
        fuzz_walk(m);
    tv_dir_free(dir);
    tv_model_free(m);
    return 0;
}
