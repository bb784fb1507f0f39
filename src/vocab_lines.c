/*
 * A vocabulary from a plain list of tokens, one per line (what `--vocab FILE` pairs
 * with a bare matrix such as a .npy file): line i (from 0) is token id i.
 *
 *   1. lines end with '\n'; a '\r' before it is dropped; a final line without '\n' counts,
 *      a final '\n' does not start another token
 *   2. the whole line is the token, spaces included; an empty line is an empty token
 *      (it keeps the ids of the lines after it aligned with the matrix rows) and is
 *      reported, as is a token that repeats an earlier one
 */
#include <stdio.h>
#include <string.h>

#include "convert.h" /* tv_utf8_valid */
#include "internal.h"

/* Findings of one kind beyond this many are summarised in one more finding. */
#define LINES_MAX_FINDINGS 8

static void show_line(char *out, size_t cap, const uint8_t *p, size_t len)
{
    /* Valid UTF-8 is shown as is; otherwise bytes from 0x80 are escaped, so that the
       message stays valid UTF-8. A character is never cut. */
    bool utf8 = tv_utf8_valid((const char *)p, len);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        bool plain = p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\'' && (p[i] < 0x80 || utf8);
        size_t need = !plain ? 4 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 1;
        if (k + need + 4 >= cap) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        if (!plain) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", p[i]);
        } else {
            memcpy(out + k, p + i, need);
            k += need;
            i += need - 1;
        }
    }
    out[k] = '\0';
}

static int read_lines(tv_model *m, const tv_blob *blob, tv_error *err)
{
    struct tv_strmap seen;
    tv_strmap_init(&seen);
    int rc = -1;
    unsigned n_empty = 0, n_duplicate = 0;
    struct tv_vocab *v = tv_model_new_vocab(m, blob->name, err);
    if (!v)
        goto out;
    const uint8_t *buf = blob->data;
    size_t pos = 0;
    uint32_t id = 0;
    while (pos < blob->len) {
        const uint8_t *nl = memchr(buf + pos, '\n', blob->len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : blob->len - pos;
        const char *line = (const char *)buf + pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (id >= TV_MAX_TOKENS) {
            tv_error_set(err, TV_ERR_LIMIT, "%s: more than %u lines (the most a vocabulary "
                         "holds)", blob->name, TV_MAX_TOKENS);
            goto out;
        }
        if (n == 0 && ++n_empty <= LINES_MAX_FINDINGS &&
            tv_model_add_finding(m, "structure.empty_token", TV_SEVERITY_WARN, err,
                                 "%s: line %u is empty: token %u is the empty string",
                                 blob->name, id + 1, id) < 0)
            goto out;
        uint64_t first;
        int put = tv_strmap_put(&seen, line, n, id, &first);
        if (put < 0) {
            tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory indexing line %u", blob->name,
                         id + 1);
            goto out;
        }
        if (put == 0 && ++n_duplicate <= LINES_MAX_FINDINGS) {
            char shown[96];
            show_line(shown, sizeof shown, (const uint8_t *)line, n);
            if (tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_WARN, err,
                                     "%s: line %u '%s' repeats line %llu (ids %llu and %u)",
                                     blob->name, id + 1, shown, (unsigned long long)first + 1,
                                     (unsigned long long)first, id) < 0)
                goto out;
        }
        if (tv_vocab_set_token(m, v, id, line, n, 0.0f, TV_TOKEN_NORMAL, err) < 0) {
            tv_error_prefix(err, "%s: line %u", blob->name, id + 1);
            goto out;
        }
        id++;
    }
    if (n_empty > LINES_MAX_FINDINGS &&
        tv_model_add_finding(m, "structure.empty_token", TV_SEVERITY_WARN, err,
                             "%s: %u more empty lines not listed", blob->name,
                             n_empty - LINES_MAX_FINDINGS) < 0)
        goto out;
    if (n_duplicate > LINES_MAX_FINDINGS &&
        tv_model_add_finding(m, "vocab.duplicate_id", TV_SEVERITY_WARN, err,
                             "%s: %u more repeated lines not listed", blob->name,
                             n_duplicate - LINES_MAX_FINDINGS) < 0)
        goto out;
    rc = 0;
out:
    tv_strmap_release(&seen);
    return rc;
}

int tv_model_read_vocab_lines(tv_model *m, const char *path, tv_error *err)
{
    tv_blob *blob = tv_blob_map_file(path, path, err);
    if (!blob)
        return -1;
    const char *slash = strrchr(path, '/');
    int rc = -1;
    if (tv_model_add_file(m, slash && slash[1] ? slash + 1 : path, err) == 0 &&
        read_lines(m, blob, err) == 0)
        rc = tv_model_pick_embedding(m, err);
    tv_blob_unref(blob);
    return rc;
}
