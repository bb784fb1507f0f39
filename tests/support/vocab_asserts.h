/*
 * Assertions on what a vocabulary reader stored, shared by the tokenizer.json and the
 * vocab.json/merges.txt/vocab.txt tests. Static inline: only those tests include it.
 */
#ifndef TOKVEC_VOCAB_ASSERTS_H
#define TOKVEC_VOCAB_ASSERTS_H

#include <string.h>

#include "testutil.h"

static inline const struct tv_vocab *vocab0(const tv_model *m)
{
    assert_true(m->n_vocabs >= 1);
    return &m->vocabs[0];
}

static inline void assert_token(const struct tv_vocab *v, uint32_t id, const char *text)
{
    assert_true(id < v->n_tokens);
    const struct tv_token *t = &v->tokens[id];
    assert_non_null(t->text);
    if (t->len != strlen(text) || memcmp(t->text, text, t->len) != 0)
        fail_msg("token %u is '%.*s', expected '%s'", id, (int)t->len, t->text, text);
}

static inline void assert_merge(const struct tv_vocab *v, size_t rank, const char *left,
                         const char *right)
{
    assert_true(rank < v->n_merges);
    const struct tv_merge *mg = &v->merges[rank];
    assert_int_equal(mg->left_len, strlen(left));
    assert_memory_equal(mg->left, left, mg->left_len);
    assert_int_equal(mg->right_len, strlen(right));
    assert_memory_equal(mg->right, right, mg->right_len);
}

static inline const struct tv_finding *finding(const tv_model *m, const char *check)
{
    for (size_t i = 0; i < m->n_findings; i++)
        if (strcmp(m->findings[i].check, check) == 0)
            return &m->findings[i];
    return NULL;
}

static inline int64_t claim(const tv_model *m, enum tv_claim_kind kind, const char *key)
{
    for (size_t i = 0; i < m->n_claims; i++)
        if (m->claims[i].kind == kind && strcmp(m->claims[i].key, key) == 0)
            return m->claims[i].value;
    return -1;
}

static inline void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("'%s' does not contain '%s'", haystack, needle);
}

#endif
