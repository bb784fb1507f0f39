/* SentencePiece .model files and the protobuf decoder under them: the real Llama 2,
   T5 and torchtext models, hand-built messages for every wire-format rule, truncation
   at every offset, failing allocations, and tokenizer.model inside a folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protobuf.h"
#include "failalloc.h"
#include "testutil.h"

/* ---- a protobuf writer for hand-built messages -------------------------------- */

struct pbuf {
    uint8_t data[4096];
    size_t len;
};

static void put_byte(struct pbuf *b, uint8_t c)
{
    assert_true(b->len < sizeof b->data);
    b->data[b->len++] = c;
}

static void put_varint(struct pbuf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        put_byte(b, c | (v ? 0x80 : 0));
    } while (v);
}

static void put_tag(struct pbuf *b, uint32_t field, unsigned wire)
{
    put_varint(b, (uint64_t)field << 3 | wire);
}

static void put_bytes(struct pbuf *b, uint32_t field, const void *p, size_t n)
{
    put_tag(b, field, 2);
    put_varint(b, n);
    assert_true(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_str(struct pbuf *b, uint32_t field, const char *s)
{
    put_bytes(b, field, s, strlen(s));
}

static void put_uint(struct pbuf *b, uint32_t field, uint64_t v)
{
    put_tag(b, field, 0);
    put_varint(b, v);
}

static void put_int32(struct pbuf *b, uint32_t field, int32_t v)
{
    put_uint(b, field, (uint64_t)(int64_t)v); /* negative int32: 10 bytes */
}

static void put_float(struct pbuf *b, uint32_t field, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    put_tag(b, field, 5);
    for (int i = 0; i < 4; i++)
        put_byte(b, (uint8_t)(bits >> (8 * i)));
}

static void put_msg(struct pbuf *b, uint32_t field, const struct pbuf *sub)
{
    put_bytes(b, field, sub->data, sub->len);
}

static void piece(struct pbuf *model, const char *text, float score, int type)
{
    struct pbuf p = {0};
    put_str(&p, 1, text);
    put_float(&p, 2, score);
    if (type)
        put_uint(&p, 3, (uint64_t)type);
    put_msg(model, 1, &p);
}

/* <unk> <s> </s> a b ab, BPE, with a trainer and a normalizer spec. */
static void minimal_model(struct pbuf *m)
{
    memset(m, 0, sizeof *m);
    piece(m, "<unk>", 0, 2);
    piece(m, "<s>", 0, 3);
    piece(m, "</s>", 0, 3);
    piece(m, "\xe2\x96\x81" "a", -1.5f, 0);
    piece(m, "b", -2.0f, 1);
    piece(m, "ab", -3.0f, 1);
    struct pbuf t = {0};
    put_int32(&t, 3, 2);     /* BPE */
    put_int32(&t, 4, 6);
    put_int32(&t, 43, -1);   /* pad_id: a 10-byte varint */
    put_uint(&t, 24, 1);     /* treat_whitespace_as_suffix */
    put_msg(m, 2, &t);
    struct pbuf n = {0};
    put_str(&n, 1, "nmt_nfkc");
    put_bytes(&n, 2, "\x01\x02\x03", 3);
    put_uint(&n, 3, 0);      /* add_dummy_prefix false */
    put_msg(m, 3, &n);
}

static tv_model *read_buf(const struct pbuf *b, tv_error *err)
{
    return tv_model_read_memory(b->data, b->len, "test.model", NULL, err);
}

static const struct tv_meta *meta(const tv_model *m, const char *key)
{
    const struct tv_meta *e = tv_model_meta_find_origin(m, TV_ORIGIN_OTHER, key);
    if (!e)
        fail_msg("no metadata key %s", key);
    return e;
}

static void assert_meta_str(const tv_model *m, const char *key, const char *want)
{
    const struct tv_meta *e = meta(m, key);
    assert_int_equal(e->value.type, TV_VALUE_STRING);
    assert_int_equal(e->value.as.str.len, strlen(want));
    assert_memory_equal(e->value.as.str.ptr, want, strlen(want));
}

static void assert_meta_int(const tv_model *m, const char *key, int64_t want)
{
    int64_t v;
    assert_int_equal(tv_value_int(&meta(m, key)->value, &v), 0);
    assert_int_equal(v, want);
}

static void assert_token(const tv_model *m, uint32_t id, const char *text, float score, int type)
{
    const struct tv_token *t = tv_vocab_token(m, id);
    assert_non_null(t);
    if (t->len != strlen(text) || memcmp(t->text, text, t->len) != 0)
        fail_msg("token %u is '%s', expected '%s'", id, t->text, text);
    if (t->score != score)
        fail_msg("token %u score %.9g, expected %.9g", id, t->score, score);
    assert_int_equal(t->type, type);
}

/* ---- the decoder ------------------------------------------------------------------ */

static void pb_varint_refuses_eleven_bytes_and_bits_past_64(void **state)
{
    (void)state;
    uint64_t v;
    const uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(tv_pb_varint(max, 10, &v), 10);
    assert_true(v == UINT64_MAX);
    const uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(tv_pb_varint(over, 10, &v), -1);
    const uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(tv_pb_varint(eleven, 11, &v), -1);
    assert_int_equal(tv_pb_varint(max, 9, &v), 0); /* ends inside */
    assert_int_equal(tv_pb_varint(max, 0, &v), 0);
    const uint8_t zero_padded[3] = {0x81, 0x80, 0x00}; /* non-minimal but valid */
    assert_int_equal(tv_pb_varint(zero_padded, 3, &v), 3);
    assert_int_equal(v, 1);
}

static void pb_next_skips_every_wire_type_and_refuses_groups(void **state)
{
    (void)state;
    struct pbuf b = {0};
    put_uint(&b, 7, 300);
    put_tag(&b, 8, 1);
    for (int i = 0; i < 8; i++)
        put_byte(&b, (uint8_t)i);
    put_str(&b, 9, "xyz");
    put_float(&b, 10, 1.0f);
    struct tv_pb pb;
    struct tv_pb_field f;
    tv_error err = {0};
    tv_pb_init(&pb, b.data, b.len, "t", "msg", &err);
    uint32_t numbers[4];
    int n = 0, rc;
    while ((rc = tv_pb_next(&pb, &f)) > 0)
        numbers[n++] = f.number;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 4);
    assert_int_equal(numbers[0], 7);
    assert_int_equal(numbers[3], 10);

    const uint8_t bad[][3] = {
        {0x0b, 0x00, 0x00}, /* field 1, start-group */
        {0x0c, 0x00, 0x00}, /* field 1, end-group */
        {0x0e, 0x00, 0x00}, /* wire type 6 */
        {0x0f, 0x00, 0x00}, /* wire type 7 */
        {0x00, 0x00, 0x00}, /* field number 0 */
        {0x0a, 0x05, 0x00}, /* length 5, 1 byte left */
        {0x0d, 0x00, 0x00}, /* 32-bit value, 2 bytes left */
    };
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        tv_pb_init(&pb, bad[i], 3, "t", "msg", &err);
        err.message[0] = '\0';
        assert_int_equal(tv_pb_next(&pb, &f), -1);
        assert_non_null(strstr(err.message, "msg"));
    }
    /* field number 2^29 is one past the largest */
    struct pbuf big = {0};
    put_varint(&big, (uint64_t)(1u << 29) << 3);
    put_byte(&big, 0);
    tv_pb_init(&pb, big.data, big.len, "t", "msg", &err);
    assert_int_equal(tv_pb_next(&pb, &f), -1);
    assert_non_null(strstr(err.message, "536870912"));
}

static void pb_lengths_that_can_go_wrong_are_checked_against_the_message(void **state)
{
    (void)state;
    const uint64_t lengths[] = {0, 1, 2, 3, 1ull << 31, 0xffffffffull, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < TV_ARRAY_SIZE(lengths); i++) {
        struct pbuf b = {0};
        put_tag(&b, 1, 2);
        put_varint(&b, lengths[i]);
        put_str(&b, 1, "x"); /* 3 bytes of payload follow */
        struct tv_pb pb;
        struct tv_pb_field f;
        tv_error err = {0};
        tv_pb_init(&pb, b.data, b.len, "t", "msg", &err);
        int rc = tv_pb_next(&pb, &f);
        if (lengths[i] <= 3) {
            assert_int_equal(rc, 1);
            assert_int_equal(f.len, lengths[i]);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err.message, "left in the message"));
        }
    }
}

static void pb_sub_reports_absolute_offsets(void **state)
{
    (void)state;
    struct pbuf inner = {0}, outer = {0};
    put_uint(&inner, 1, 5);
    put_tag(&inner, 2, 2);
    put_varint(&inner, 100); /* claims 100 bytes, none follow */
    put_str(&outer, 4, "pad");
    put_msg(&outer, 2, &inner);
    struct tv_pb pb, sub;
    struct tv_pb_field f;
    tv_error err = {0};
    tv_pb_init(&pb, outer.data, outer.len, "file.bin", "top", &err);
    assert_int_equal(tv_pb_next(&pb, &f), 1);
    assert_int_equal(tv_pb_next(&pb, &f), 1);
    assert_int_equal(tv_pb_sub(&pb, &f, &sub, "inner"), 0);
    assert_int_equal(sub.file_offset, 7);
    assert_int_equal(tv_pb_next(&sub, &f), 1);
    assert_int_equal(tv_pb_next(&sub, &f), -1);
    /* the bad field's tag is at 7 + 2 = 9 */
    assert_non_null(strstr(err.message, "file.bin: inner: field 2 at offset 9 claims 100"));
}

/* ---- hand-built models ------------------------------------------------------------ */

static void spm_reads_pieces_types_specials_and_specs(void **state)
{
    (void)state;
    struct pbuf b;
    minimal_model(&b);
    tv_error err = {0};
    tv_model *m = read_buf(&b, &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_string_equal(tv_model_kind(m), "SentencePiece");
    assert_int_equal(tv_vocab_size(m), 6);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_BPE);
    assert_token(m, 0, "<unk>", 0, TV_TOKEN_UNKNOWN);
    assert_token(m, 1, "<s>", 0, TV_TOKEN_CONTROL);
    assert_token(m, 3, "\xe2\x96\x81" "a", -1.5f, TV_TOKEN_NORMAL); /* type absent: NORMAL */
    assert_token(m, 5, "ab", -3.0f, TV_TOKEN_NORMAL);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), -1);
    const struct tv_vocab *v = tv_model_vocab(m);
    assert_false(v->byte_fallback);
    assert_int_equal(v->add_space_prefix, 0);
    assert_string_equal(v->unk_token, "<unk>");
    assert_meta_str(m, "sentencepiece.model_type", "bpe");
    assert_meta_int(m, "sentencepiece.pad_id", -1);
    assert_meta_int(m, "sentencepiece.bos_id", 1); /* default */
    assert_meta_int(m, "sentencepiece.treat_whitespace_as_suffix", 1);
    assert_meta_int(m, "sentencepiece.remove_extra_whitespaces", 1); /* default */
    assert_meta_str(m, "sentencepiece.normalizer_name", "nmt_nfkc");
    assert_meta_str(m, "sentencepiece.pad_piece", "<pad>");
    const struct tv_meta *cm = meta(m, "sentencepiece.precompiled_charsmap");
    assert_int_equal(cm->value.type, TV_VALUE_ARRAY);
    assert_int_equal(cm->value.as.arr.elem_type, TV_VALUE_U8);
    assert_int_equal(cm->value.as.arr.n, 3);
    assert_memory_equal(cm->value.as.arr.data, "\x01\x02\x03", 3);
    assert_null(tv_model_meta_find(m, "sentencepiece.denormalizer.normalizer_name"));
    assert_int_equal(m->n_findings, 0);
    int claims = 0;
    for (size_t i = 0; i < m->n_claims; i++)
        claims += m->claims[i].kind == TV_CLAIM_VOCAB_SIZE && m->claims[i].value == 6;
    assert_int_equal(claims, 1);
    tv_model_free(m);
}

static void spm_skips_unknown_fields_in_every_message(void **state)
{
    (void)state;
    struct pbuf b = {0}, p = {0}, t = {0};
    put_tag(&p, 200, 1); /* extension, 64-bit */
    for (int i = 0; i < 8; i++)
        put_byte(&p, 0xff);
    put_str(&p, 1, "<unk>");
    put_uint(&p, 3, 2);
    put_str(&p, 201, "ext");
    put_msg(&b, 1, &p);
    put_uint(&b, 99, 12345);
    put_float(&t, 10, 0.5f);      /* character_coverage: not kept */
    put_str(&t, 1, "input.txt");  /* repeated input: not kept */
    put_uint(&t, 35, 1);          /* byte_fallback */
    put_msg(&b, 2, &t);
    struct pbuf self_test = {0};
    put_str(&self_test, 1, "x");
    put_msg(&b, 4, &self_test);
    struct pbuf denorm = {0};
    put_str(&denorm, 1, "denorm");
    put_msg(&b, 5, &denorm);
    tv_error err = {0};
    tv_model *m = read_buf(&b, &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_int_equal(tv_vocab_size(m), 1);
    assert_true(tv_model_vocab(m)->byte_fallback);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_UNIGRAM); /* default model_type */
    assert_meta_str(m, "sentencepiece.denormalizer.normalizer_name", "denorm");
    assert_meta_int(m, "sentencepiece.add_dummy_prefix", 1);
    tv_model_free(m);
}

static void spm_records_what_sentencepiece_would_refuse_as_findings(void **state)
{
    (void)state;
    struct pbuf b = {0};
    piece(&b, "<s>", 0, 3);
    piece(&b, "</s>", 0, 3);
    piece(&b, "x", 0, 1);
    piece(&b, "x", 0, 1);          /* repeated */
    piece(&b, "", 0, 1);           /* empty */
    piece(&b, "<0x41>", 0, 6);     /* byte piece without byte_fallback */
    piece(&b, "<0x4>", 0, 6);      /* malformed byte piece */
    piece(&b, "y", 0, 9);          /* type out of range */
    struct pbuf t = {0};
    put_int32(&t, 41, 5);          /* bos_id 5, but <s> is 0 */
    put_int32(&t, 42, 1);          /* eos_id 1: agrees */
    put_int32(&t, 4, 100);
    put_msg(&b, 2, &t);
    tv_error err = {0};
    tv_model *m = read_buf(&b, &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_int_equal(tv_vocab_size(m), 8);
    assert_int_equal(count_findings(m, "vocab.duplicate_id"), 1);
    assert_int_equal(count_findings(m, "structure.empty_token"), 1);
    assert_int_equal(count_findings(m, "structure.byte_token"), 2);
    assert_int_equal(count_findings(m, "structure.token_type"), 1);
    assert_int_equal(count_findings(m, "structure.vocab_size"), 1);
    /* no UNKNOWN piece (FAIL), bos_id 5 vs 0 and unk_id 0 vs absent (WARN) */
    assert_int_equal(count_findings(m, "structure.special_id"), 3);
    assert_int_equal(tv_vocab_token(m, 7)->type, TV_TOKEN_NORMAL);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), -1);
    uint32_t id;
    assert_int_equal(tv_vocab_find(m, "x", 1, &id), 0);
    assert_int_equal(id, 2);
    int found = 0;
    for (size_t i = 0; i < m->n_findings; i++)
        found += strstr(m->findings[i].message, "piece 3 'x' repeats piece 2") != NULL;
    assert_int_equal(found, 1);
    tv_model_free(m);
}

static void spm_messages_escape_bytes_that_are_not_utf8(void **state)
{
    (void)state;
    struct pbuf b = {0};
    piece(&b, "<unk>", 0, 2);
    piece(&b, "\xff\xfe" "a", 0, 1);
    piece(&b, "\xff\xfe" "a", 0, 1);
    piece(&b, "\xe2\x96\x81\xe2\x96\x81", 0, 1);
    piece(&b, "\xe2\x96\x81\xe2\x96\x81", 0, 1);
    tv_error err = {0};
    tv_model *m = read_buf(&b, &err);
    assert_non_null(m);
    assert_int_equal(count_findings(m, "vocab.duplicate_id"), 2);
    assert_non_null(strstr(m->findings[0].message, "piece 2 '\\xff\\xfea' repeats piece 1"));
    assert_non_null(strstr(m->findings[1].message,
                           "piece 4 '\xe2\x96\x81\xe2\x96\x81' repeats piece 3"));
    tv_model_free(m);
}

static void spm_caps_repeated_findings_with_a_summary(void **state)
{
    (void)state;
    struct pbuf b = {0};
    piece(&b, "<unk>", 0, 2);
    for (int i = 0; i < 20; i++)
        piece(&b, "dup", 0, 1);
    tv_error err = {0};
    tv_model *m = read_buf(&b, &err);
    assert_non_null(m);
    assert_int_equal(count_findings(m, "vocab.duplicate_id"), 9);
    int summary = 0;
    for (size_t i = 0; i < m->n_findings; i++)
        summary += strstr(m->findings[i].message, "11 more repeated pieces") != NULL;
    assert_int_equal(summary, 1);
    tv_model_free(m);
}

static void spm_refuses_unknown_model_type_wrong_wire_types_and_no_pieces(void **state)
{
    (void)state;
    tv_error err = {0};
    struct pbuf b = {0};
    piece(&b, "<unk>", 0, 2);
    struct pbuf t = {0};
    put_int32(&t, 3, 7);
    put_msg(&b, 2, &t);
    assert_null(read_buf(&b, &err));
    assert_int_equal(err.code, TV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "model_type 7"));

    /* score as a varint instead of a 32-bit float */
    struct pbuf c = {0}, p = {0};
    put_str(&p, 1, "<unk>");
    put_uint(&p, 2, 5);
    put_msg(&c, 1, &p);
    assert_null(read_buf(&c, &err));
    if (!strstr(err.message, "piece 0: field 2 (score)"))
        fail_msg("message: %s", err.message);

    /* trainer_spec as a varint */
    struct pbuf d = {0};
    piece(&d, "<unk>", 0, 2);
    put_uint(&d, 2, 1);
    assert_null(read_buf(&d, &err));
    assert_non_null(strstr(err.message, "trainer_spec"));

    /* only a trainer spec: read by name, since the probe wants a piece first */
    struct pbuf e = {0};
    put_msg(&e, 2, &t);
    tv_blob *blob = tv_blob_copy(e.data, e.len, "empty.model", &err);
    tv_model *m = tv_model_new_empty("empty.model", NULL, &err);
    assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
    assert_int_equal(tv_format_sentencepiece.read(m, blob, &err), -1);
    assert_non_null(strstr(err.message, "empty.model: ModelProto holds no pieces"));
    tv_blob_unref(blob);
    tv_model_free(m);
}

static void spm_probe_wants_a_decodable_first_piece(void **state)
{
    (void)state;
    struct pbuf b;
    minimal_model(&b);
    assert_int_equal(tv_format_sentencepiece.probe(b.data, b.len, "x/tokenizer.model"), 80);
    assert_int_equal(tv_format_sentencepiece.probe(b.data, b.len, "spm.bin"), 60);
    const char *json = "\n{\"model\": {\"type\": \"BPE\"}}";
    assert_int_equal(tv_format_sentencepiece.probe((const uint8_t *)json, strlen(json), "a.model"),
                     0);
    const uint8_t short_piece[] = {0x0a, 0x05, 0x0a, 0x09, 'a'};
    assert_int_equal(tv_format_sentencepiece.probe(short_piece, sizeof short_piece, NULL), 0);
    const uint8_t no_text[] = {0x0a, 0x02, 0x18, 0x01};
    assert_int_equal(tv_format_sentencepiece.probe(no_text, sizeof no_text, NULL), 0);
}

static void spm_read_survives_truncation_at_every_offset(void **state)
{
    (void)state;
    struct pbuf b;
    minimal_model(&b);
    for (size_t cut = 0; cut < b.len; cut++) {
        tv_error err = {0};
        tv_model *m = tv_model_read_memory(b.data, cut, "cut.model", NULL, &err);
        if (m) {
            /* a cut at a field boundary is a shorter valid message */
            assert_true(tv_vocab_size(m) <= 6);
            tv_model_free(m);
        } else {
            assert_true(err.code == TV_ERR_DATA || err.code == TV_ERR_UNSUPPORTED);
            assert_true(err.message[0] != '\0');
        }
    }
    /* and the same through the reader directly, so the probe cannot hide a cut */
    for (size_t cut = 1; cut < b.len; cut++) {
        tv_error err = {0};
        tv_blob *blob = tv_blob_copy(b.data, cut, "cut.model", &err);
        tv_model *m = tv_model_new_empty("cut.model", NULL, &err);
        assert_int_equal(tv_model_add_blob(m, blob, &err), 0);
        int rc = tv_format_sentencepiece.read(m, blob, &err);
        if (rc < 0)
            assert_non_null(strstr(err.message, "cut.model"));
        tv_blob_unref(blob);
        tv_model_free(m);
    }
}

static void spm_read_survives_every_allocation_failure(void **state)
{
    (void)state;
    struct pbuf b;
    minimal_model(&b);
    struct failalloc_input in = {.buf = b.data, .len = b.len, .name = "test.model"};
    struct failalloc_sweep s = failalloc_sweep(2000, failalloc_read_model, &in);
    if (!s.succeeded)
        assert_int_equal(s.err.code, TV_ERR_NOMEM);
    assert_true(s.succeeded);
}

/* ---- real models -------------------------------------------------------------------- */

static tv_model *open_real(const char *relative)
{
    tv_error err = {0};
    tv_model *m = tv_model_open(real_fixture(relative), NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

static void spm_reads_llama2_tokenizer_model(void **state)
{
    (void)state;
    tv_model *m = open_real("llama2c/llama-tokenizer.model");
    assert_string_equal(tv_model_kind(m), "SentencePiece");
    assert_int_equal(tv_vocab_size(m), 32000);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_BPE);
    assert_true(tv_model_vocab(m)->byte_fallback);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), -1);
    assert_token(m, 0, "<unk>", 0, TV_TOKEN_UNKNOWN);
    assert_token(m, 1, "<s>", 0, TV_TOKEN_CONTROL);
    assert_token(m, 2, "</s>", 0, TV_TOKEN_CONTROL);
    for (unsigned byte = 0; byte < 256; byte++) {
        char text[8];
        snprintf(text, sizeof text, "<0x%02X>", byte);
        assert_token(m, 3 + byte, text, 0, TV_TOKEN_BYTE);
    }
    assert_token(m, 259, "\xe2\x96\x81\xe2\x96\x81", -1e9f, TV_TOKEN_NORMAL);
    assert_token(m, 260, "\xe2\x96\x81t", -1.0f, TV_TOKEN_NORMAL);
    assert_token(m, 1000, "ied", -741.0f, TV_TOKEN_NORMAL);
    assert_token(m, 31999, "\xe7\xbb\x99", -31740.0f, TV_TOKEN_NORMAL);
    size_t types[7] = {0};
    for (uint32_t id = 0; id < 32000; id++)
        types[tv_vocab_token(m, id)->type]++;
    assert_int_equal(types[TV_TOKEN_NORMAL], 31741);
    assert_int_equal(types[TV_TOKEN_BYTE], 256);
    assert_int_equal(types[TV_TOKEN_CONTROL], 2);
    assert_int_equal(types[TV_TOKEN_UNKNOWN], 1);
    assert_meta_str(m, "sentencepiece.model_type", "bpe");
    assert_meta_int(m, "sentencepiece.vocab_size", 32000);
    assert_meta_int(m, "sentencepiece.split_digits", 1);
    assert_meta_int(m, "sentencepiece.allow_whitespace_only_pieces", 1);
    assert_meta_str(m, "sentencepiece.normalizer_name", "identity");
    assert_meta_int(m, "sentencepiece.add_dummy_prefix", 1);
    assert_meta_int(m, "sentencepiece.remove_extra_whitespaces", 0);
    assert_int_equal(meta(m, "sentencepiece.precompiled_charsmap")->value.as.arr.n, 0);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void spm_reads_torchtext_unigram_example(void **state)
{
    (void)state;
    tv_model *m = open_real("tokenizers/sentencepiece-torchtext/spm_example.model");
    assert_int_equal(tv_vocab_size(m), 20000);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_UNIGRAM);
    assert_false(tv_model_vocab(m)->byte_fallback);
    assert_token(m, 0, "<unk>", 0, TV_TOKEN_UNKNOWN);
    assert_token(m, 3, ".", -3.1338605880737305f, TV_TOKEN_NORMAL);
    assert_token(m, 4, "\xe2\x96\x81the", -3.3831427097320557f, TV_TOKEN_NORMAL);
    assert_token(m, 100, "nThe", -6.624321937561035f, TV_TOKEN_NORMAL);
    assert_token(m, 19999, "\xe2\x96\x81" "commotion", -13.775751113891602f, TV_TOKEN_NORMAL);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 2);
    assert_meta_str(m, "sentencepiece.model_type", "unigram");
    assert_meta_str(m, "sentencepiece.normalizer_name", "nmt_nfkc");
    assert_int_equal(meta(m, "sentencepiece.precompiled_charsmap")->value.as.arr.n, 237539);
    /* no trainer ids in the file: the defaults 0/1/2/-1 apply and agree */
    assert_meta_int(m, "sentencepiece.pad_id", -1);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void spm_reads_t5_with_pad_zero_eos_one_unk_two_and_no_bos(void **state)
{
    (void)state;
    tv_model *m = open_real("tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model");
    assert_int_equal(tv_vocab_size(m), 32000);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_UNIGRAM);
    assert_token(m, 0, "<pad>", 0, TV_TOKEN_CONTROL);
    assert_token(m, 1, "</s>", 0, TV_TOKEN_CONTROL);
    assert_token(m, 2, "<unk>", 0, TV_TOKEN_UNKNOWN);
    assert_token(m, 3, "\xe2\x96\x81", -2.0122928619384766f, TV_TOKEN_NORMAL);
    assert_token(m, 31999, "\xe2\x96\x81Interna\xc8\x9bional", -13.590115547180176f,
                 TV_TOKEN_NORMAL);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), -1);
    assert_meta_int(m, "sentencepiece.bos_id", -1);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

static void spm_reads_tinypellm_with_pad_unk_bos_eos_first(void **state)
{
    (void)state;
    tv_model *m = open_real("pytorch/tinypellm/tinypellm.model");
    assert_int_equal(tv_vocab_size(m), 3000);
    assert_int_equal(tv_vocab_kind(m), TV_TOKENIZER_UNIGRAM);
    assert_token(m, 0, "<pad>", 0, TV_TOKEN_CONTROL);
    assert_token(m, 1, "<unk>", 0, TV_TOKEN_UNKNOWN);
    assert_token(m, 4, ",", -3.2453176975250244f, TV_TOKEN_NORMAL);
    assert_token(m, 10, "\xe2\x96\x81ke", -4.376395225524902f, TV_TOKEN_NORMAL);
    assert_token(m, 2999, "\xf0\x9f\x9a\xad", -15.126568794250488f, TV_TOKEN_NORMAL);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_PAD), 0);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_UNK), 1);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_BOS), 2);
    assert_int_equal(tv_vocab_special(m, TV_SPECIAL_EOS), 3);
    assert_int_equal(meta(m, "sentencepiece.precompiled_charsmap")->value.as.arr.n, 237561);
    assert_int_equal(m->n_findings, 0);
    tv_model_free(m);
}

/* Every piece, score and type against Debian's python3-sentencepiece, when installed. */
static void spm_agrees_with_the_sentencepiece_library_on_every_piece(void **state)
{
    (void)state;
    const char *python = "/usr/bin/python3";
    char probe_cmd[256];
    snprintf(probe_cmd, sizeof probe_cmd, "%s -c 'import sentencepiece' 2>/dev/null", python);
    if (access(python, X_OK) != 0 || system(probe_cmd) != 0) {
        print_message("[  SKIP    ] python3-sentencepiece is not installed "
                      "(apt-get install python3-sentencepiece)\n");
        skip();
    }
    const char *models[] = {"llama2c/llama-tokenizer.model",
                            "tokenizers/sentencepiece-torchtext/spm_example.model",
                            "tokenizers/sentencepiece-torchtext/t5_tokenizer_base.model",
                            "pytorch/tinypellm/tinypellm.model"};
    for (size_t k = 0; k < TV_ARRAY_SIZE(models); k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", real_fixture(models[k]));
        tv_model *m = open_real(models[k]);
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "%s -c 'import sentencepiece as s, struct, sys\n"
                 "p = s.SentencePieceProcessor(model_file=sys.argv[1])\n"
                 "print(p.get_piece_size(), p.unk_id(), p.bos_id(), p.eos_id(), p.pad_id())\n"
                 "for i in range(p.get_piece_size()):\n"
                 "  t = 6 if p.is_byte(i) else 2 if p.is_unknown(i) else 3 if p.is_control(i) "
                 "else 5 if p.is_unused(i) else 0\n"
                 "  print(p.id_to_piece(i).encode().hex(), struct.pack(\"<f\", p.get_score(i)).hex(), t)' '%s'",
                 python, path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        long size, unk, bos, eos, pad;
        assert_int_equal(fscanf(f, "%ld %ld %ld %ld %ld", &size, &unk, &bos, &eos, &pad), 5);
        assert_int_equal(size, tv_vocab_size(m));
        assert_int_equal(unk, tv_vocab_special(m, TV_SPECIAL_UNK));
        assert_int_equal(bos, tv_vocab_special(m, TV_SPECIAL_BOS));
        assert_int_equal(eos, tv_vocab_special(m, TV_SPECIAL_EOS));
        assert_int_equal(pad, tv_vocab_special(m, TV_SPECIAL_PAD));
        char hex[1024], score_hex[16];
        int type;
        for (uint32_t id = 0; id < (uint32_t)size; id++) {
            assert_int_equal(fscanf(f, "%1023s %15s %d", hex, score_hex, &type), 3);
            const struct tv_token *t = tv_vocab_token(m, id);
            char mine[1024] = "";
            for (uint32_t i = 0; i < t->len && 2 * i + 2 < sizeof mine; i++)
                snprintf(mine + 2 * i, 3, "%02x", (uint8_t)t->text[i]);
            if (strcmp(mine, hex) != 0)
                fail_msg("%s: piece %u is %s here, %s in sentencepiece", models[k], id, mine, hex);
            uint32_t bits = 0;
            for (int i = 0; i < 4; i++) {
                unsigned byte;
                sscanf(score_hex + 2 * i, "%2x", &byte);
                bits |= (uint32_t)byte << (8 * i);
            }
            float score;
            memcpy(&score, &bits, 4);
            if (score != t->score)
                fail_msg("%s: piece %u score %.9g here, %.9g in sentencepiece", models[k], id,
                         t->score, score);
            if (type != 0)
                assert_int_equal(type, t->type);
            else
                assert_true(t->type == TV_TOKEN_NORMAL || t->type == TV_TOKEN_USER_DEFINED);
        }
        assert_int_equal(pclose(f), 0);
        tv_model_free(m);
    }
}

/* ---- folders ------------------------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void folder_reads_tokenizer_model_when_nothing_else_has_a_vocabulary(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    struct pbuf b;
    minimal_model(&b);
    write_file(dir, "tokenizer.model", b.data, b.len);
    const char *cfg = "{\"vocab_size\": 6, \"hidden_size\": 4}";
    write_file(dir, "config.json", cfg, strlen(cfg));
    tv_error err = {0};
    tv_model *m = tv_model_open(dir, NULL, &err);
    if (!m)
        fail_msg("%s", err.message);
    assert_int_equal(tv_vocab_size(m), 6);
    assert_non_null(strstr(tv_vocab_origin(m), "tokenizer.model"));
    tv_model_free(m);
    remove_tree(dir);
    tv_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pb_varint_refuses_eleven_bytes_and_bits_past_64),
        cmocka_unit_test(pb_next_skips_every_wire_type_and_refuses_groups),
        cmocka_unit_test(pb_lengths_that_can_go_wrong_are_checked_against_the_message),
        cmocka_unit_test(pb_sub_reports_absolute_offsets),
        cmocka_unit_test(spm_reads_pieces_types_specials_and_specs),
        cmocka_unit_test(spm_skips_unknown_fields_in_every_message),
        cmocka_unit_test(spm_records_what_sentencepiece_would_refuse_as_findings),
        cmocka_unit_test(spm_messages_escape_bytes_that_are_not_utf8),
        cmocka_unit_test(spm_caps_repeated_findings_with_a_summary),
        cmocka_unit_test(spm_refuses_unknown_model_type_wrong_wire_types_and_no_pieces),
        cmocka_unit_test(spm_probe_wants_a_decodable_first_piece),
        cmocka_unit_test(spm_read_survives_truncation_at_every_offset),
        cmocka_unit_test(spm_read_survives_every_allocation_failure),
        cmocka_unit_test(spm_reads_llama2_tokenizer_model),
        cmocka_unit_test(spm_reads_torchtext_unigram_example),
        cmocka_unit_test(spm_reads_t5_with_pad_zero_eos_one_unk_two_and_no_bos),
        cmocka_unit_test(spm_reads_tinypellm_with_pad_unk_bos_eos_first),
        cmocka_unit_test(spm_agrees_with_the_sentencepiece_library_on_every_piece),
        cmocka_unit_test(folder_reads_tokenizer_model_when_nothing_else_has_a_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
