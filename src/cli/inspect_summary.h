/*
 * The summary block of tokvec inspect, as lines of label and text, and the facts it is
 * made of (src/cli/inspect_summary.c). tokvec inspect prints the lines; tokvec report
 * shows the same lines in its page.
 */
#ifndef TOKVEC_INSPECT_SUMMARY_H
#define TOKVEC_INSPECT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Receives one line of the summary: label is "architecture", "vocabulary", "tokenizer",
   "embedding", "tensors", "claims", "other vocab", "warning" or "problem", or NULL for a
   line that continues the previous label (claims of a further file). */
typedef void inspect_line_fn(void *ctx, const char *label, const char *text);

/* Calls line for each line of inspect's summary of m, in the order inspect prints
   them. Token bytes and names in text are escaped for display (cli_escape). */
void inspect_summary_lines(const tv_model *m, inspect_line_fn *line, void *ctx);

/* The architecture: config.json model_type, else GGUF general.architecture; and the
   class name config.json lists first (architectures[0]). Either may be NULL. */
void inspect_architecture(const tv_model *m, const struct tv_str **name,
                          const struct tv_str **class_name);

/* Ids of v that no token uses. */
size_t inspect_vocab_holes(const struct tv_vocab *v);

struct inspect_special {
    int64_t id;
    unsigned roles; /* bit per enum tv_special */
};

/* The special tokens: ids named for a role (bos, eos, ...) in role order, then added
   tokens marked special, each id once. Returns the count written (at most cap); *total
   gets how many there are. */
size_t inspect_collect_specials(const struct tv_vocab *v, struct inspect_special *out,
                                size_t cap, size_t *total);

/* Token id of v, or NULL for an id out of range or a hole. */
const struct tv_token *inspect_vocab_token(const struct tv_vocab *v, int64_t id);

/* A source file's name as shown: relative to the inspected folder ("config.json"), or
   the base name when it is the inspected file itself. */
const char *inspect_display_file(const char *path, const char *file);

#endif
