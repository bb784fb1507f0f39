/*
 * Archives and compressed files (src/archive.c, src/gzip.c): .tar, .tar.gz/.zst/.xz/
 * .bz2, .zip and single .gz files. The input is read the way tokvec reads such a file
 * from disk (a model folder inside, or its only file), with expansion capped at
 * 2 MiB (fuzz_options); then every member of the index is read on its own.
 */
#include "fuzz.h"
#include "sources.h"

#define MAX_MEMBERS_READ 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum tv_container kind = tv_container_sniff(data, size);
    if (kind == TV_CONTAINER_NONE)
        return 0;
    struct tv_open_options opt;
    fuzz_options(&opt);
    tv_error err = {0};
    tv_model *m = tv_model_new_empty("model.tar", &opt, &err);
    tv_blob *blob = m ? tv_blob_copy(data, size, "model.tar", &err) : NULL;
    if (!blob)
        abort();
    if (tv_model_read_container(m, blob, kind, "model.tar", &err) < 0 ||
        tv_model_pick_embedding(m, &err) < 0)
        fuzz_check_error(&err, "model.tar");
    else
        fuzz_walk(m);
    tv_model_free(m);

    struct tv_unpack_limits lim;
    tv_unpack_limits_init(&lim, &opt);
    tv_archive *ar = tv_archive_open(blob, &lim, &err);
    if (!ar) {
        fuzz_check_error(&err, "tv_archive_open");
    } else {
        size_t n = tv_archive_member_count(ar);
        for (size_t i = 0; i < n && i < MAX_MEMBERS_READ; i++) {
            const char *name = tv_archive_member_name(ar, i);
            tv_blob *member = tv_archive_read(ar, name, &err);
            if (!member)
                fuzz_check_error(&err, "tv_archive_read");
            tv_blob_unref(member);
        }
        tv_archive_free(ar);
    }
    tv_blob_unref(blob);
    return 0;
}
