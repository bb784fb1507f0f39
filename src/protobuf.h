/*
 * A small bounds-checked protobuf wire-format decoder (no schema, no allocation),
 * for the formats that embed protobuf messages (SentencePiece's ModelProto, ...).
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/):
 *   1. a message is a sequence of fields, each a tag varint (field number << 3 | wire
 *      type) followed by the value;
 *   2. wire type 0 VARINT: a varint of at most 10 bytes (64 bits);
 *      1 I64: 8 bytes little-endian; 5 I32: 4 bytes little-endian;
 *      2 LEN: a varint length, then that many bytes (a string, bytes, a sub-message
 *      or a packed array);
 *      3 SGROUP and 4 EGROUP (deprecated groups) and 6, 7 are refused;
 *   3. field number 0 and numbers above 2^29 - 1 are invalid.
 *
 * Every length is checked against the bytes that remain in the enclosing message
 * before it is used; errors name the file, the message being read, the field and
 * the absolute byte offset.
 */
#ifndef TOKVEC_PROTOBUF_H
#define TOKVEC_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum tv_pb_wire {
    TV_PB_VARINT = 0,
    TV_PB_I64 = 1,
    TV_PB_LEN = 2,
    TV_PB_I32 = 5
};

/* A reader over one message: a byte range inside a file. */
struct tv_pb {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t file_offset;  /* absolute offset of data[0] in the file, for messages */
    const char *file;
    const char *what;    /* the message, for messages: "piece 17", "trainer_spec" */
    tv_error *err;
};

/* One decoded field. For LEN fields data/len view the payload inside the message. */
struct tv_pb_field {
    uint32_t number;
    enum tv_pb_wire wire;
    uint64_t value;        /* VARINT value, or the raw I64/I32 bits */
    const uint8_t *data;   /* LEN payload */
    size_t len;
    size_t offset;         /* absolute file offset of the field's tag */
};

/* Starts reading a top-level message of len bytes. what names it in errors. */
void tv_pb_init(struct tv_pb *pb, const uint8_t *data, size_t len, const char *file,
                const char *what, tv_error *err);

/*
 * Decodes the next field. Returns 1 with *f filled, 0 at the end of the message,
 * -1 with err set (truncated varint or payload, a varint longer than 10 bytes or
 * above 2^64 - 1, a group or an invalid wire type, field number 0 or > 2^29 - 1).
 */
int tv_pb_next(struct tv_pb *pb, struct tv_pb_field *f);

/* Starts reading the payload of a LEN field as a sub-message; -1 (err) when f is
   not LEN. what names the sub-message in errors. */
int tv_pb_sub(const struct tv_pb *parent, const struct tv_pb_field *f, struct tv_pb *child,
              const char *what);

/*
 * Typed views of a field, each checking the wire type first (a mismatch is an error
 * naming the message, the field name and both wire types). int32/enum values are
 * varints that protobuf truncates to 32 bits (negative values use 10 bytes).
 */
int tv_pb_int32(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                int32_t *out);
int tv_pb_uint64(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                 uint64_t *out);
int tv_pb_bool(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
               bool *out);
int tv_pb_float(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                float *out);
int tv_pb_bytes(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                const uint8_t **data, size_t *len);

/*
 * Reads a varint from p (at most avail bytes). Returns the number of bytes used
 * (1..10), 0 when the bytes end inside it, -1 when it is longer than 10 bytes or
 * overflows 64 bits.
 */
int tv_pb_varint(const uint8_t *p, size_t avail, uint64_t *out);

#endif
