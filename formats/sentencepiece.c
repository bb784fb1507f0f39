/*
 * SentencePiece `.model` files (tokenizer.model of Llama 1/2, T5, Mistral, ...): one
 * serialized protobuf message sentencepiece.ModelProto (sentencepiece_model.proto,
 * proto2), read with the wire-format decoder in src/protobuf.c.
 *
 *   ModelProto
 *     1  pieces            repeated SentencePiece, in id order (id = position)
 *          1  piece        string (must not be empty)
 *          2  score        float (32-bit)
 *          3  type         enum: NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6
 *                          (default NORMAL; the numbers are enum tv_token_type's)
 *     2  trainer_spec      TrainerSpec
 *          3  model_type   enum: UNIGRAM=1 (default) BPE=2 WORD=3 CHAR=4
 *          4  vocab_size   int32 (default 8000)
 *          20 max_sentencepiece_length int32; 21 split_by_unicode_script, 22
 *             split_by_whitespace, 23 split_by_number, 24 treat_whitespace_as_suffix,
 *             25 split_digits, 26 allow_whitespace_only_pieces, 35 byte_fallback: bool
 *          40 unk_id 41 bos_id 42 eos_id 43 pad_id   int32 (defaults 0, 1, 2, -1)
 *          44 unk_surface 45 unk_piece 46 bos_piece 47 eos_piece 48 pad_piece   string
 *             (defaults " \u2047 ", "<unk>", "<s>", "</s>", "<pad>")
 *     3  normalizer_spec   NormalizerSpec
 *          1  name         string ("nmt_nfkc", "identity", ...)
 *          2  precompiled_charsmap  bytes
 *          3  add_dummy_prefix 4 remove_extra_whitespaces 5 escape_whitespaces  bool
 *             (defaults true)
 *          6  normalization_rule_tsv  string
 *     4  self_test_data    (skipped)
 *     5  denormalizer_spec NormalizerSpec
 *   Every other field, of every message, is skipped by its wire type.
 *
 * Special tokens follow the SentencePiece library (checked against sentencepiece
 * 0.1.97): unk, bos, eos and pad are the pieces whose text is trainer_spec's
 * unk_piece/bos_piece/eos_piece/pad_piece, when that piece has type UNKNOWN (unk) or
 * CONTROL (the others); the *_id fields are not used at run time, so a disagreement
 * is only a finding. What the library refuses to load (an empty or repeated piece,
 * no UNKNOWN piece or two of them, a BYTE piece that is not <0xHH> or appears
 * without byte_fallback) is a failed structure finding: the vocabulary still reads
 * so that verify can list every problem.
 *
 * The trainer and normalizer facts a tokenizer needs are kept as metadata (origin
 * OTHER, keys "sentencepiece.*"); strings and the precompiled charsmap point into the
 * file's bytes.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "protobuf.h"

/* Findings of one kind beyond this many are summarised in one more finding. */
#define SPM_MAX_FINDINGS_PER_CHECK 8

enum { SPM_UNIGRAM = 1, SPM_BPE = 2, SPM_WORD = 3, SPM_CHAR = 4 };

struct normalizer {
    bool present;
    struct tv_str name;
    const uint8_t *charsmap;
    size_t charsmap_len;
    bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    struct tv_str rule_tsv;
};

struct trainer {
    int32_t model_type, vocab_size, max_piece_length;
    int32_t unk_id, bos_id, eos_id, pad_id;
    bool byte_fallback, treat_whitespace_as_suffix, allow_whitespace_only_pieces,
        split_digits, split_by_whitespace, split_by_number, split_by_unicode_script;
    struct tv_str unk_piece, bos_piece, eos_piece, pad_piece, unk_surface;
};

struct spm_read {
    tv_model *m;
    struct tv_vocab *v;
    const char *file;
    tv_error *err;
    struct tv_strmap pieces;      /* piece bytes (borrowed from the file) -> first id */
    uint32_t n_pieces;
    uint32_t n_byte_pieces;
    unsigned n_findings[4];       /* per capped check: empty, duplicate, type, byte */
    struct trainer trainer;
    struct normalizer norm, denorm;
};

static struct tv_str lit(const char *s)
{
    return (struct tv_str){s, strlen(s)};
}

static void trainer_defaults(struct trainer *t)
{
    memset(t, 0, sizeof *t);
    t->model_type = SPM_UNIGRAM;
    t->vocab_size = 8000;
    t->max_piece_length = 16;
    t->unk_id = 0;
    t->bos_id = 1;
    t->eos_id = 2;
    t->pad_id = -1;
    t->split_by_whitespace = t->split_by_number = t->split_by_unicode_script = true;
    t->unk_piece = lit("<unk>");
    t->bos_piece = lit("<s>");
    t->eos_piece = lit("</s>");
    t->pad_piece = lit("<pad>");
    t->unk_surface = lit(" \xE2\x81\x87 ");
}

static void normalizer_defaults(struct normalizer *n)
{
    memset(n, 0, sizeof *n);
    n->name = lit("");
    n->rule_tsv = lit("");
    n->add_dummy_prefix = n->remove_extra_whitespaces = n->escape_whitespaces = true;
}

/* A finding of a check that can repeat once per piece: the first few are recorded,
   the rest counted and summarised at the end. */
static int capped_finding(struct spm_read *r, int slot, const char *check,
                          enum tv_severity severity, const char *message)
{
    if (++r->n_findings[slot] > SPM_MAX_FINDINGS_PER_CHECK)
        return 0;
    return tv_model_add_finding(r->m, check, severity, r->err, "%s: %s", r->file, message);
}

static int summarise_findings(struct spm_read *r, int slot, const char *check,
                              enum tv_severity severity, const char *what)
{
    if (r->n_findings[slot] <= SPM_MAX_FINDINGS_PER_CHECK)
        return 0;
    return tv_model_add_finding(r->m, check, severity, r->err, "%s: %u more %s not listed",
                                r->file, r->n_findings[slot] - SPM_MAX_FINDINGS_PER_CHECK,
                                what);
}

/* Whether a BYTE piece is spelled "<0xHH>" with two upper-case hex digits, as the
   library writes and requires. */
static bool is_byte_piece(const uint8_t *p, size_t len)
{
    if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
        return false;
    for (int i = 3; i < 5; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F')))
            return false;
    return true;
}

static int read_piece(struct spm_read *r, const struct tv_pb *model, const struct tv_pb_field *f)
{
    char what[48];
    snprintf(what, sizeof what, "piece %u", r->n_pieces);
    struct tv_pb pb;
    if (tv_pb_sub(model, f, &pb, what) < 0)
        return -1;
    const uint8_t *text = (const uint8_t *)"";
    size_t len = 0;
    float score = 0.0f;
    int32_t type = TV_TOKEN_NORMAL;
    struct tv_pb_field pf;
    int rc;
    while ((rc = tv_pb_next(&pb, &pf)) > 0) {
        if (pf.number == 1 && tv_pb_bytes(&pb, &pf, "piece", &text, &len) < 0)
            return -1;
        if (pf.number == 2 && tv_pb_float(&pb, &pf, "score", &score) < 0)
            return -1;
        if (pf.number == 3 && tv_pb_int32(&pb, &pf, "type", &type) < 0)
            return -1;
    }
    if (rc < 0)
        return -1;

    uint32_t id = r->n_pieces;
    char shown[96], message[256];
    tv_show_bytes(shown, sizeof shown, text, len);
    if (type < TV_TOKEN_NORMAL || type > TV_TOKEN_BYTE) {
        /* proto2 keeps an unknown enum value out of the field: the library sees NORMAL. */
        snprintf(message, sizeof message, "piece %u '%s' has type %d, not one of 1..6; read as "
                 "normal, as SentencePiece does", id, shown, (int)type);
        if (capped_finding(r, 2, "structure.token_type", TV_SEVERITY_WARN, message) < 0)
            return -1;
        type = TV_TOKEN_NORMAL;
    }
    if (len == 0) {
        snprintf(message, sizeof message, "piece %u is empty (SentencePiece refuses the model: "
                 "\"piece must not be empty\")", id);
        if (capped_finding(r, 0, "structure.empty_token", TV_SEVERITY_FAIL, message) < 0)
            return -1;
    } else {
        uint64_t first;
        int put = tv_strmap_put(&r->pieces, (const char *)text, len, id, &first);
        if (put < 0)
            return tv_error_set(r->err, TV_ERR_NOMEM, "%s: out of memory indexing piece %u",
                                r->file, id);
        if (put == 0) {
            snprintf(message, sizeof message, "piece %u '%s' repeats piece %llu (SentencePiece "
                     "refuses the model: \"already defined\")", id, shown,
                     (unsigned long long)first);
            if (capped_finding(r, 1, "vocab.duplicate_id", TV_SEVERITY_FAIL, message) < 0)
                return -1;
        }
    }
    if (type == TV_TOKEN_BYTE) {
        r->n_byte_pieces++;
        if (!is_byte_piece(text, len)) {
            snprintf(message, sizeof message, "byte piece %u '%s' is not of the form <0xHH> "
                     "(SentencePiece refuses the model)", id, shown);
            if (capped_finding(r, 3, "structure.byte_token", TV_SEVERITY_FAIL, message) < 0)
                return -1;
        }
    }
    if (tv_vocab_set_token(r->m, r->v, id, (const char *)text, len, score, type, r->err) < 0) {
        tv_error_prefix(r->err, "%s", r->file);
        return -1;
    }
    r->n_pieces++;
    return 0;
}

static int read_string(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                       struct tv_str *out)
{
    const uint8_t *data;
    size_t len;
    if (tv_pb_bytes(pb, f, name, &data, &len) < 0)
        return -1;
    out->ptr = (const char *)data;
    out->len = len;
    return 0;
}

static int read_trainer(struct spm_read *r, const struct tv_pb *model,
                        const struct tv_pb_field *f)
{
    struct tv_pb pb;
    if (tv_pb_sub(model, f, &pb, "trainer_spec") < 0)
        return -1;
    struct trainer *t = &r->trainer;
    struct tv_pb_field tf;
    int rc;
    while ((rc = tv_pb_next(&pb, &tf)) > 0) {
        int ok = 0;
        switch (tf.number) {
        case 3: ok = tv_pb_int32(&pb, &tf, "model_type", &t->model_type); break;
        case 4: ok = tv_pb_int32(&pb, &tf, "vocab_size", &t->vocab_size); break;
        case 20: ok = tv_pb_int32(&pb, &tf, "max_sentencepiece_length", &t->max_piece_length); break;
        case 21: ok = tv_pb_bool(&pb, &tf, "split_by_unicode_script", &t->split_by_unicode_script); break;
        case 22: ok = tv_pb_bool(&pb, &tf, "split_by_whitespace", &t->split_by_whitespace); break;
        case 23: ok = tv_pb_bool(&pb, &tf, "split_by_number", &t->split_by_number); break;
        case 24: ok = tv_pb_bool(&pb, &tf, "treat_whitespace_as_suffix", &t->treat_whitespace_as_suffix); break;
        case 25: ok = tv_pb_bool(&pb, &tf, "split_digits", &t->split_digits); break;
        case 26: ok = tv_pb_bool(&pb, &tf, "allow_whitespace_only_pieces", &t->allow_whitespace_only_pieces); break;
        case 35: ok = tv_pb_bool(&pb, &tf, "byte_fallback", &t->byte_fallback); break;
        case 40: ok = tv_pb_int32(&pb, &tf, "unk_id", &t->unk_id); break;
        case 41: ok = tv_pb_int32(&pb, &tf, "bos_id", &t->bos_id); break;
        case 42: ok = tv_pb_int32(&pb, &tf, "eos_id", &t->eos_id); break;
        case 43: ok = tv_pb_int32(&pb, &tf, "pad_id", &t->pad_id); break;
        case 44: ok = read_string(&pb, &tf, "unk_surface", &t->unk_surface); break;
        case 45: ok = read_string(&pb, &tf, "unk_piece", &t->unk_piece); break;
        case 46: ok = read_string(&pb, &tf, "bos_piece", &t->bos_piece); break;
        case 47: ok = read_string(&pb, &tf, "eos_piece", &t->eos_piece); break;
        case 48: ok = read_string(&pb, &tf, "pad_piece", &t->pad_piece); break;
        default: break;
        }
        if (ok < 0)
            return -1;
    }
    return rc;
}

static int read_normalizer(const struct tv_pb *model, const struct tv_pb_field *f,
                           const char *what, struct normalizer *n)
{
    struct tv_pb pb;
    if (tv_pb_sub(model, f, &pb, what) < 0)
        return -1;
    n->present = true;
    struct tv_pb_field nf;
    int rc;
    while ((rc = tv_pb_next(&pb, &nf)) > 0) {
        int ok = 0;
        switch (nf.number) {
        case 1: ok = read_string(&pb, &nf, "name", &n->name); break;
        case 2: ok = tv_pb_bytes(&pb, &nf, "precompiled_charsmap", &n->charsmap, &n->charsmap_len); break;
        case 3: ok = tv_pb_bool(&pb, &nf, "add_dummy_prefix", &n->add_dummy_prefix); break;
        case 4: ok = tv_pb_bool(&pb, &nf, "remove_extra_whitespaces", &n->remove_extra_whitespaces); break;
        case 5: ok = tv_pb_bool(&pb, &nf, "escape_whitespaces", &n->escape_whitespaces); break;
        case 6: ok = read_string(&pb, &nf, "normalization_rule_tsv", &n->rule_tsv); break;
        default: break;
        }
        if (ok < 0)
            return -1;
    }
    return rc;
}

/* ---- metadata ------------------------------------------------------------------ */

static int meta_value(struct spm_read *r, const char *key, const struct tv_value *v)
{
    return tv_model_add_meta(r->m, key, strlen(key), v, TV_ORIGIN_OTHER, r->file, r->err);
}

static int meta_bool(struct spm_read *r, const char *key, bool b)
{
    struct tv_value v = {.type = TV_VALUE_BOOL, .as.u = b};
    return meta_value(r, key, &v);
}

static int meta_i32(struct spm_read *r, const char *key, int32_t i)
{
    struct tv_value v = {.type = TV_VALUE_I32, .as.i = i};
    return meta_value(r, key, &v);
}

static int meta_str(struct spm_read *r, const char *key, struct tv_str s)
{
    struct tv_value v = {.type = TV_VALUE_STRING, .as.str = s};
    return meta_value(r, key, &v);
}

static const char *model_type_name(int32_t type)
{
    switch (type) {
    case SPM_UNIGRAM: return "unigram";
    case SPM_BPE: return "bpe";
    case SPM_WORD: return "word";
    case SPM_CHAR: return "char";
    default: return NULL;
    }
}

static int normalizer_meta(struct spm_read *r, const char *prefix, const struct normalizer *n)
{
    char key[96];
    struct tv_value charsmap = {.type = TV_VALUE_ARRAY};
    charsmap.as.arr = (struct tv_array){TV_VALUE_U8, n->charsmap_len,
                                        n->charsmap ? (const void *)n->charsmap : ""};
#define KEY(name) (snprintf(key, sizeof key, "%s%s", prefix, name), key)
    if (meta_str(r, KEY("normalizer_name"), n->name) < 0 ||
        meta_value(r, KEY("precompiled_charsmap"), &charsmap) < 0 ||
        meta_bool(r, KEY("add_dummy_prefix"), n->add_dummy_prefix) < 0 ||
        meta_bool(r, KEY("remove_extra_whitespaces"), n->remove_extra_whitespaces) < 0 ||
        meta_bool(r, KEY("escape_whitespaces"), n->escape_whitespaces) < 0 ||
        (n->rule_tsv.len && meta_str(r, KEY("normalization_rule_tsv"), n->rule_tsv) < 0))
        return -1;
#undef KEY
    return 0;
}

static int add_metadata(struct spm_read *r)
{
    const struct trainer *t = &r->trainer;
    const char *type = model_type_name(t->model_type);
    if (meta_str(r, "sentencepiece.model_type", lit(type)) < 0 ||
        meta_i32(r, "sentencepiece.vocab_size", t->vocab_size) < 0 ||
        meta_bool(r, "sentencepiece.byte_fallback", t->byte_fallback) < 0 ||
        meta_bool(r, "sentencepiece.treat_whitespace_as_suffix", t->treat_whitespace_as_suffix) < 0 ||
        meta_bool(r, "sentencepiece.allow_whitespace_only_pieces", t->allow_whitespace_only_pieces) < 0 ||
        meta_bool(r, "sentencepiece.split_digits", t->split_digits) < 0 ||
        meta_bool(r, "sentencepiece.split_by_whitespace", t->split_by_whitespace) < 0 ||
        meta_bool(r, "sentencepiece.split_by_number", t->split_by_number) < 0 ||
        meta_bool(r, "sentencepiece.split_by_unicode_script", t->split_by_unicode_script) < 0 ||
        meta_i32(r, "sentencepiece.max_sentencepiece_length", t->max_piece_length) < 0 ||
        meta_i32(r, "sentencepiece.unk_id", t->unk_id) < 0 ||
        meta_i32(r, "sentencepiece.bos_id", t->bos_id) < 0 ||
        meta_i32(r, "sentencepiece.eos_id", t->eos_id) < 0 ||
        meta_i32(r, "sentencepiece.pad_id", t->pad_id) < 0 ||
        meta_str(r, "sentencepiece.unk_piece", t->unk_piece) < 0 ||
        meta_str(r, "sentencepiece.bos_piece", t->bos_piece) < 0 ||
        meta_str(r, "sentencepiece.eos_piece", t->eos_piece) < 0 ||
        meta_str(r, "sentencepiece.pad_piece", t->pad_piece) < 0 ||
        meta_str(r, "sentencepiece.unk_surface", t->unk_surface) < 0)
        return -1;
    if (normalizer_meta(r, "sentencepiece.", &r->norm) < 0)
        return -1;
    if (r->denorm.present && normalizer_meta(r, "sentencepiece.denormalizer.", &r->denorm) < 0)
        return -1;
    return 0;
}

/* ---- special tokens --------------------------------------------------------------- */

/* The id of the piece spelled s when it has the wanted type, else -1. */
static int64_t special_by_piece(struct spm_read *r, struct tv_str s, int wanted_type)
{
    uint64_t id;
    if (!tv_strmap_get(&r->pieces, s.ptr, s.len, &id) || r->v->tokens[id].type != wanted_type)
        return -1;
    return (int64_t)id;
}

static int set_specials(struct spm_read *r)
{
    const struct trainer *t = &r->trainer;
    struct tv_vocab *v = r->v;
    uint32_t n_unknown = 0, first_unknown = 0;
    for (uint32_t id = 0; id < r->n_pieces; id++)
        if (v->tokens[id].type == TV_TOKEN_UNKNOWN && n_unknown++ == 0)
            first_unknown = id;
    int found;
    if (n_unknown == 0)
        found = tv_model_add_finding(r->m, "structure.special_id", TV_SEVERITY_FAIL, r->err,
                                     "%s: no piece has type UNKNOWN; SentencePiece refuses the "
                                     "model: \"unk is not defined\"", r->file);
    else if (n_unknown > 1)
        found = tv_model_add_finding(r->m, "structure.special_id", TV_SEVERITY_FAIL, r->err,
                                     "%s: %u pieces have type UNKNOWN (the first is %u); "
                                     "SentencePiece refuses the model: \"unk is already "
                                     "defined\"", r->file, n_unknown, first_unknown);
    else
        found = 0;
    if (found < 0)
        return -1;

    const struct {
        enum tv_special which;
        struct tv_str piece;
        int32_t trainer_id;
        int type;
        const char *name;
    } specials[] = {
        {TV_SPECIAL_UNK, t->unk_piece, t->unk_id, TV_TOKEN_UNKNOWN, "unk"},
        {TV_SPECIAL_BOS, t->bos_piece, t->bos_id, TV_TOKEN_CONTROL, "bos"},
        {TV_SPECIAL_EOS, t->eos_piece, t->eos_id, TV_TOKEN_CONTROL, "eos"},
        {TV_SPECIAL_PAD, t->pad_piece, t->pad_id, TV_TOKEN_CONTROL, "pad"},
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(specials); i++) {
        int64_t id = special_by_piece(r, specials[i].piece, specials[i].type);
        v->special[specials[i].which] = id;
        if (id == specials[i].trainer_id || (id < 0 && specials[i].trainer_id < 0))
            continue;
        char where[32] = "absent", shown[96];
        if (id >= 0)
            snprintf(where, sizeof where, "id %lld", (long long)id);
        tv_show_bytes(shown, sizeof shown, (const uint8_t *)specials[i].piece.ptr,
                      specials[i].piece.len);
        if (tv_model_add_finding(r->m, "structure.special_id", TV_SEVERITY_WARN, r->err,
                                 "%s: trainer_spec.%s_id is %d but the %s piece '%s' is %s",
                                 r->file, specials[i].name, (int)specials[i].trainer_id,
                                 specials[i].type == TV_TOKEN_UNKNOWN ? "UNKNOWN" : "CONTROL",
                                 shown, where) < 0)
            return -1;
    }
    if (v->special[TV_SPECIAL_UNK] >= 0) {
        const struct tv_token *unk = &v->tokens[v->special[TV_SPECIAL_UNK]];
        v->unk_token = unk->text;
    }
    return 0;
}

/* ---- the reader ------------------------------------------------------------------- */

static int read_sentencepiece(tv_model *m, tv_blob *blob, tv_error *err)
{
    struct spm_read r = {.m = m, .file = blob->name, .err = err};
    tv_strmap_init(&r.pieces);
    trainer_defaults(&r.trainer);
    normalizer_defaults(&r.norm);
    normalizer_defaults(&r.denorm);
    int rc = -1;

    r.v = tv_model_new_vocab(m, blob->name, err);
    if (!r.v)
        goto out;
    struct tv_pb pb;
    tv_pb_init(&pb, blob->data, blob->len, blob->name, "ModelProto", err);
    struct tv_pb_field f;
    int next;
    while ((next = tv_pb_next(&pb, &f)) > 0) {
        int ok = 0;
        switch (f.number) {
        case 1: ok = read_piece(&r, &pb, &f); break;
        case 2: ok = read_trainer(&r, &pb, &f); break;
        case 3: ok = read_normalizer(&pb, &f, "normalizer_spec", &r.norm); break;
        case 5: ok = read_normalizer(&pb, &f, "denormalizer_spec", &r.denorm); break;
        default: break;
        }
        if (ok < 0)
            goto out;
    }
    if (next < 0)
        goto out;
    if (r.n_pieces == 0) {
        tv_error_set(err, TV_ERR_DATA, "%s: ModelProto holds no pieces (field 1)", blob->name);
        goto out;
    }
    if (!model_type_name(r.trainer.model_type)) {
        tv_error_set(err, TV_ERR_UNSUPPORTED,
                     "%s: trainer_spec.model_type %d is not one of UNIGRAM=1, BPE=2, WORD=3, "
                     "CHAR=4", blob->name, (int)r.trainer.model_type);
        goto out;
    }
    if (summarise_findings(&r, 0, "structure.empty_token", TV_SEVERITY_FAIL, "empty pieces") < 0 ||
        summarise_findings(&r, 1, "vocab.duplicate_id", TV_SEVERITY_FAIL,
                           "repeated pieces") < 0 ||
        summarise_findings(&r, 2, "structure.token_type", TV_SEVERITY_WARN,
                           "pieces with an unknown type") < 0 ||
        summarise_findings(&r, 3, "structure.byte_token", TV_SEVERITY_FAIL,
                           "malformed byte pieces") < 0)
        goto out;
    if (r.n_byte_pieces && !r.trainer.byte_fallback &&
        tv_model_add_finding(m, "structure.byte_token", TV_SEVERITY_FAIL, err,
                             "%s: %u BYTE pieces although trainer_spec.byte_fallback is false "
                             "(SentencePiece refuses the model)", blob->name,
                             r.n_byte_pieces) < 0)
        goto out;
    if ((uint64_t)(int64_t)r.trainer.vocab_size != r.n_pieces &&
        tv_model_add_finding(m, "structure.vocab_size", TV_SEVERITY_WARN, err,
                             "%s: trainer_spec.vocab_size is %d but the model holds %u pieces",
                             blob->name, (int)r.trainer.vocab_size, r.n_pieces) < 0)
        goto out;

    switch (r.trainer.model_type) {
    case SPM_UNIGRAM: r.v->kind = TV_TOKENIZER_UNIGRAM; break;
    case SPM_BPE: r.v->kind = TV_TOKENIZER_BPE; break;
    case SPM_WORD: r.v->kind = TV_TOKENIZER_WORDLEVEL; break;
    default: r.v->kind = TV_TOKENIZER_NONE; break; /* CHAR: see sentencepiece.model_type */
    }
    r.v->byte_fallback = r.trainer.byte_fallback;
    r.v->add_space_prefix = r.norm.add_dummy_prefix;
    if (set_specials(&r) < 0 || add_metadata(&r) < 0 ||
        tv_model_add_claim(m, TV_CLAIM_VOCAB_SIZE, r.n_pieces, -1, blob->name, "pieces", err) < 0)
        goto out;
    rc = 0;
out:
    tv_strmap_release(&r.pieces);
    return rc;
}

/* A ModelProto starts with its first piece: tag 0x0a (field 1, length-delimited) and a
   SentencePiece message that decodes and holds a piece string. */
static int probe_sentencepiece(const uint8_t *buf, size_t len, const char *name)
{
    if (len < 2 || buf[0] != 0x0a)
        return 0;
    struct tv_pb pb, piece;
    struct tv_pb_field f, pf;
    tv_pb_init(&pb, buf, len, "", "ModelProto", NULL);
    if (tv_pb_next(&pb, &f) != 1 || tv_pb_sub(&pb, &f, &piece, "piece 0") < 0)
        return 0;
    bool has_piece = false;
    int rc;
    while ((rc = tv_pb_next(&piece, &pf)) > 0) {
        /* Only the piece text decides; a score or type of the wrong wire type is left
           for the reader to report precisely. */
        has_piece |= pf.number == 1 && pf.wire == TV_PB_LEN && pf.len > 0;
    }
    if (rc < 0 || !has_piece)
        return 0;
    size_t n = name ? strlen(name) : 0;
    return n >= 6 && strcmp(name + n - 6, ".model") == 0 ? 80 : 60;
}

const struct tv_format tv_format_sentencepiece = {
    .name = "sentencepiece",
    .label = "SentencePiece",
    .probe = probe_sentencepiece,
    .read = read_sentencepiece,
};
