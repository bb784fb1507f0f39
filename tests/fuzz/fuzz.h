/*
 * Fuzz targets: one per reader, each a LLVMFuzzerTestOneInput() in
 * tests/fuzz/fuzz_<target>.c. The same sources build two ways (see CMakeLists.txt):
 *
 *   fuzz_<target>          clang -fsanitize=fuzzer,address,undefined (TOKVEC_FUZZ=ON);
 *                          run by scripts/fuzz
 *   fuzz_replay_<target>   a plain main() (replay.c) that feeds every file of
 *                          tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/
 *                          to the target once: a ctest case in every build, so every
 *                          input ever found stays a regression test without clang
 *
 * tests/fuzz/crashers/<target>/ keeps inputs that still crash, for bugs found and
 * reported but not fixed yet (each named after the bug); they are not replayed. When a
 * bug is fixed, its input moves to regressions/.
 *
 * A target reads its input with the reader it is named after and, when the read
 * succeeds, walks the model (fuzz_walk): every accessor inspect uses, every verify
 * check, the tokenizer (construction, encoding and decoding a fixed text) and dtype
 * conversions of the first rows of each tensor. A failed read must leave an error code
 * and a message; anything else it does wrong is a crash that the sanitizers report.
 * TOKVEC_FUZZ_VERBOSE=1 in the environment prints each read's result or error.
 *
 * Adding a target: write tests/fuzz/fuzz_<name>.c (the build picks it up), a seed or
 * two in tests/fuzz/make_seeds.py, a dictionary tests/fuzz/<name>.dict when the
 * format has keywords, and its -max_len in scripts/fuzz.
 */
#ifndef TOKVEC_FUZZ_H
#define TOKVEC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The open options every target uses: the library's defaults, except that archives
   and .gz files may expand to 2 MiB at most (libFuzzer's -rss_limit_mb is 512). */
void fuzz_options(struct tv_open_options *opt);

/*
 * Reads data as one file called name with the format fmt (its probe runs too) into
 * m when m is not NULL, else into a new model. Returns the model, or NULL when the
 * read failed (the model is freed then; an error without a code or a message aborts).
 */
tv_model *fuzz_read(tv_model *m, const uint8_t *data, size_t size, const struct tv_format *fmt,
                    const char *name);

/* Checks a failed call's error: a status code and a non-empty message, else abort(). */
void fuzz_check_error(const tv_error *err, const char *what);

/*
 * Walks everything a model offers (see above), then frees nothing: the caller still
 * owns m. Bounded: at most a few thousand tokens, tensors and keys are visited.
 */
void fuzz_walk(tv_model *m);

/*
 * A bundle holds several files in one input, for readers that need more than one
 * (vocab.json + merges.txt, a model folder):
 *
 *   ==> config.json <==
 *   {...}
 *   ==> tokenizer.json <==
 *   {...}
 *
 * Each file starts after a line "==> NAME <==" and ends before the newline that
 * precedes the next such line (or at the end). An input that does not start with
 * "==> " is one file called default_name. Returns the number of files (at most max).
 */
struct fuzz_file {
    char name[128];
    const uint8_t *data;
    size_t len;
};
size_t fuzz_split(const uint8_t *data, size_t size, const char *default_name,
                  struct fuzz_file *files, size_t max);

/* A directory source (tv_dir) over the files of a bundle, called "bundle". The files
   must outlive it. NULL on OOM. */
tv_dir *fuzz_dir_new(const struct fuzz_file *files, size_t n);

#endif
