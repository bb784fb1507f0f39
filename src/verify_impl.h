/*
 * Private to verify (src/verify*.c): the report layout and the helpers every
 * group of checks uses to add results.
 *
 * Adding a check: pick a stable id, add it to known_ids in src/verify.c with its
 * one-line reason in the README ("Verify"), write the function in the file of its
 * group (verify.c: agreement; verify_vocab.c: vocabulary; verify_embedding.c: data),
 * call it from tv_verify_run(), and add a test that makes it pass and fail.
 */
#ifndef TOKVEC_VERIFY_IMPL_H
#define TOKVEC_VERIFY_IMPL_H

#include "internal.h"
#include "tokvec/verify.h"

struct vcheck {
    struct tv_check pub;               /* what the caller sees */
    struct tv_check_value *values;     /* tv_grow'n; pub.values points here */
    size_t cap_values;
};

struct tv_verify_report {
    struct tv_arena arena;             /* ids, messages, value keys and strings */
    struct vcheck *checks;
    size_t n_checks, cap_checks;
    struct tv_verify_options opt;      /* only/skip copied into the arena */
    const char *model_path;            /* arena copies of what the model says */
    const char *model_kind;
    const char **files;
    size_t n_files;
    bool failed_oom;                   /* a helper ran out of memory */
};

/* Whether --only/--skip select this id. */
bool vr_selected(const tv_verify_report *r, const char *id);

/*
 * Adds a check result with a printf-style message (truncated to one line of
 * ~1000 bytes). Returns the check, or NULL on OOM (r->failed_oom is then set, and the
 * value helpers accept NULL, so callers need not test every call).
 */
struct vcheck *vr_add(tv_verify_report *r, const char *id, enum tv_check_status status,
                      const char *fmt, ...) TV_PRINTF(4, 5);
void vr_int(tv_verify_report *r, struct vcheck *c, const char *key, int64_t value);
void vr_float(tv_verify_report *r, struct vcheck *c, const char *key, double value);
void vr_str(tv_verify_report *r, struct vcheck *c, const char *key, const char *value);

/*
 * A growing one-line text buffer for messages assembled piece by piece. Appends
 * past the cap are dropped and the text ends in "...". Never fails.
 */
struct vtext {
    char buf[1024];
    size_t len;
    bool truncated;
};
void vt_init(struct vtext *t);
void vt_add(struct vtext *t, const char *fmt, ...) TV_PRINTF(2, 3);
/* Appends the token's bytes quoted and escaped: 'Ġthe', '\x0a', at most 40 bytes shown. */
void vt_token(struct vtext *t, const char *bytes, size_t len);
/* Appends text, escaping control characters and bytes that are not valid UTF-8. */
void vt_text(struct vtext *t, const char *s);
/* The same for a token id of v: its text, or "(no token)" for a hole / out of range. */
void vt_token_id(struct vtext *t, const struct tv_vocab *v, uint64_t id);

/* The display name of a file: relative to the model's path when it lies inside. */
const char *vr_file(const tv_verify_report *r, const char *file);

/* A tensor that maps token ids to embedding rows (model2vec's "mapping"), or NULL. */
const struct tv_tensor *vr_row_map(const tv_model *m);

/* Groups of checks (each adds its results; returns -1 only on OOM). */
int verify_vocab_checks(tv_verify_report *r, tv_model *m);
int verify_embedding_checks(tv_verify_report *r, tv_model *m);

#endif
