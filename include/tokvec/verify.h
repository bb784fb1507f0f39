/*
 * tokvec verify: checks that a model's vocabulary, configuration and embedding agree,
 * that the vocabulary is internally sound, that the embedding data is healthy, and
 * reports every structural problem the readers noticed. Meant as a CI gate: each check
 * has a stable id, a status and a one-line message that names the files, the objects
 * and the numbers; the numbers are also available as key/values.
 *
 * The library never prints: tv_verify_run() returns a report, and the report can be
 * rendered as JSON or JUnit XML (see the README section "Verify" for both schemas).
 */
#ifndef TOKVEC_VERIFY_H
#define TOKVEC_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokvec/tokvec.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tv_check_status {
    TV_CHECK_PASS = 0,
    TV_CHECK_WARN = 1,
    TV_CHECK_FAIL = 2,
    TV_CHECK_SKIP = 3,   /* the check does not apply or cannot run (the message says why) */
    TV_CHECK_STATUS_COUNT
};

enum tv_check_value_type { TV_CHECK_INT, TV_CHECK_FLOAT, TV_CHECK_STRING };

/* One number (or name) a check used, e.g. {"embedding_rows", INT, 50304}. */
struct tv_check_value {
    const char *key;
    enum tv_check_value_type type;
    int64_t i;           /* TV_CHECK_INT */
    double f;            /* TV_CHECK_FLOAT */
    const char *s;       /* TV_CHECK_STRING (valid UTF-8, no control characters) */
};

struct tv_check {
    const char *id;      /* stable: "vocab_size", "vocab.merges", "structure.gguf_offsets" */
    enum tv_check_status status;
    const char *message; /* one line, valid UTF-8: token bytes are escaped */
    const struct tv_check_value *values;
    size_t n_values;
};

struct tv_verify_options {
    /* Comma-separated check ids to run / to leave out. An entry matches an id exactly,
       or a group: "vocab" (or "vocab.*") matches every "vocab.<x>" id; likewise
       "embedding", "structure", "expect". NULL or "" means no filter. */
    const char *only;
    const char *skip;
    /* Asserted values (--expect); negative / -1 when not asserted. */
    int64_t expect_vocab;    /* token count of the primary vocabulary */
    int64_t expect_hidden;   /* embedding width */
    int expect_dtype;        /* enum tv_dtype of the embedding, -1: not asserted */
    /* When set, warnings count as failures in tv_verify_ok() and in the JUnit output. */
    bool strict;
};

/* Fills opt with "run everything, assert nothing, not strict". */
void tv_verify_options_init(struct tv_verify_options *opt);

/*
 * Parses an --expect list such as "vocab=50257,hidden=768,dtype=F16" into opt.
 * Returns 0, or -1 with err (TV_ERR_USAGE) naming the bad entry.
 */
int tv_verify_parse_expect(struct tv_verify_options *opt, const char *spec, tv_error *err);

typedef struct tv_verify_report tv_verify_report; /* opaque */

/*
 * Runs every selected check on m and returns a new report, or NULL with err: on
 * TV_ERR_USAGE when opt names an unknown check id, on TV_ERR_NOMEM. A problem in the
 * model is never an error here: it is a failed check. Reads the embedding data once,
 * block by block. opt may be NULL. m is not changed in any way a caller can see
 * (lookup indexes may be built). The caller frees the report with tv_verify_report_free().
 */
tv_verify_report *tv_verify_run(tv_model *m, const struct tv_verify_options *opt,
                                tv_error *err);
void tv_verify_report_free(tv_verify_report *r);

/*
 * A report for a model that could not be opened at all: one failed check "open" whose
 * message is the given error, so that --json and --junit still describe the run.
 * Returns NULL with err on OOM. Free it with tv_verify_report_free().
 */
tv_verify_report *tv_verify_report_error(const char *path, const char *message,
                                         const struct tv_verify_options *opt, tv_error *err);

size_t tv_verify_check_count(const tv_verify_report *r);
/* Check i (borrowed from the report), or NULL when out of range. */
const struct tv_check *tv_verify_check(const tv_verify_report *r, size_t i);
/* The first check with this id (borrowed), or NULL. */
const struct tv_check *tv_verify_find(const tv_verify_report *r, const char *id);
/* How many checks have this status. */
size_t tv_verify_count_status(const tv_verify_report *r, enum tv_check_status status);
/* 1 when no check failed (and, with strict, none warned); else 0. */
int tv_verify_ok(const tv_verify_report *r);

/* "pass", "warn", "fail", "skip". */
const char *tv_check_status_name(enum tv_check_status status);
/* Whether id is a check id (or group) that --only/--skip accept. */
bool tv_verify_known_id(const char *id);

/*
 * Renders the report as one JSON document / as JUnit XML. Returns a NUL-terminated
 * string the caller frees with tv_verify_string_free(), or NULL with err on OOM.
 */
char *tv_verify_report_json(const tv_verify_report *r, tv_error *err);
char *tv_verify_report_junit(const tv_verify_report *r, tv_error *err);
void tv_verify_string_free(char *s);

/*
 * Writes the JUnit XML to path atomically (a temporary file renamed into place; an
 * existing file is replaced, since a report is regenerated on every run).
 * Returns 0, or -1 with err.
 */
int tv_verify_write_junit(const tv_verify_report *r, const char *path, tv_error *err);

#ifdef __cplusplus
}
#endif

#endif
