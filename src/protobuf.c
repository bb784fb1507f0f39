/*
 * The protobuf wire-format decoder declared in protobuf.h: varints with a 10-byte
 * cap, length-delimited payloads checked against the bytes that remain in the
 * enclosing message, unknown fields skipped by wire type, groups refused.
 */
#include <string.h>

#include "protobuf.h"

/* Field numbers are 29 bits (protobuf.dev: "the largest field number is 536,870,911"). */
#define PB_MAX_FIELD ((1u << 29) - 1)

static const char *wire_name(unsigned wire)
{
    static const char *const names[8] = {"varint", "64-bit", "length-delimited",
                                         "start-group", "end-group", "32-bit", "6 (invalid)",
                                         "7 (invalid)"};
    return names[wire & 7];
}

int tv_pb_varint(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t value = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i >= avail)
            return 0;
        uint8_t b = p[i];
        /* The tenth byte holds bit 63 only; anything more does not fit 64 bits. */
        if (i == 9 && (b & 0xfe))
            return -1;
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = value;
            return (int)i + 1;
        }
    }
    return -1;
}

void tv_pb_init(struct tv_pb *pb, const uint8_t *data, size_t len, const char *file,
                const char *what, tv_error *err)
{
    pb->data = data;
    pb->len = len;
    pb->pos = 0;
    pb->file_offset = 0;
    pb->file = file;
    pb->what = what;
    pb->err = err;
}

static int read_varint(struct tv_pb *pb, uint64_t *out, const char *what, size_t tag_offset)
{
    int used = tv_pb_varint(pb->data + pb->pos, pb->len - pb->pos, out);
    if (used == 0)
        return tv_error_set(pb->err, TV_ERR_DATA,
                            "%s: %s: truncated %s at offset %zu (%zu bytes left in the message)",
                            pb->file, pb->what, what, pb->file_offset + tag_offset,
                            pb->len - pb->pos);
    if (used < 0)
        return tv_error_set(pb->err, TV_ERR_DATA,
                            "%s: %s: %s at offset %zu is longer than 10 bytes or overflows 64 bits",
                            pb->file, pb->what, what, pb->file_offset + pb->pos);
    pb->pos += (size_t)used;
    return 0;
}

int tv_pb_next(struct tv_pb *pb, struct tv_pb_field *f)
{
    if (pb->pos >= pb->len)
        return 0;
    size_t tag_pos = pb->pos;
    uint64_t tag;
    if (read_varint(pb, &tag, "field tag", tag_pos) < 0)
        return -1;
    unsigned wire = (unsigned)(tag & 7);
    uint64_t number = tag >> 3;
    memset(f, 0, sizeof *f);
    f->offset = pb->file_offset + tag_pos;
    if (number == 0 || number > PB_MAX_FIELD)
        return tv_error_set(pb->err, TV_ERR_DATA,
                            "%s: %s: invalid field number %llu at offset %zu", pb->file, pb->what,
                            (unsigned long long)number, f->offset);
    f->number = (uint32_t)number;
    f->wire = (enum tv_pb_wire)wire;
    switch (wire) {
    case TV_PB_VARINT:
        return read_varint(pb, &f->value, "varint", tag_pos) < 0 ? -1 : 1;
    case TV_PB_I64:
    case TV_PB_I32: {
        size_t n = wire == TV_PB_I64 ? 8 : 4;
        if (pb->len - pb->pos < n)
            return tv_error_set(pb->err, TV_ERR_DATA,
                                "%s: %s: field %u at offset %zu: truncated %s value (%zu bytes "
                                "left, needs %zu)", pb->file, pb->what, f->number, f->offset,
                                wire_name(wire), pb->len - pb->pos, n);
        f->value = n == 8 ? tv_le64(pb->data + pb->pos) : tv_le32(pb->data + pb->pos);
        pb->pos += n;
        return 1;
    }
    case TV_PB_LEN: {
        uint64_t len;
        if (read_varint(pb, &len, "length", tag_pos) < 0)
            return -1;
        if (len > pb->len - pb->pos)
            return tv_error_set(pb->err, TV_ERR_DATA,
                                "%s: %s: field %u at offset %zu claims %llu bytes, %zu left in "
                                "the message", pb->file, pb->what, f->number, f->offset,
                                (unsigned long long)len, pb->len - pb->pos);
        f->data = pb->data + pb->pos;
        f->len = (size_t)len;
        pb->pos += (size_t)len;
        return 1;
    }
    default:
        return tv_error_set(pb->err, TV_ERR_DATA,
                            "%s: %s: field %u at offset %zu has wire type %s, which is not "
                            "supported", pb->file, pb->what, f->number, f->offset,
                            wire_name(wire));
    }
}

int tv_pb_sub(const struct tv_pb *parent, const struct tv_pb_field *f, struct tv_pb *child,
              const char *what)
{
    if (f->wire != TV_PB_LEN)
        return tv_error_set(parent->err, TV_ERR_DATA,
                            "%s: %s: field %u (%s) at offset %zu has wire type %s, expected "
                            "length-delimited", parent->file, parent->what, f->number, what,
                            f->offset, wire_name(f->wire));
    child->data = f->data;
    child->len = f->len;
    child->pos = 0;
    child->file_offset = parent->file_offset + (size_t)(f->data - parent->data);
    child->file = parent->file;
    child->what = what;
    child->err = parent->err;
    return 0;
}

static int want_wire(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                     enum tv_pb_wire wire)
{
    if (f->wire == wire)
        return 0;
    return tv_error_set(pb->err, TV_ERR_DATA,
                        "%s: %s: field %u (%s) at offset %zu has wire type %s, expected %s",
                        pb->file, pb->what, f->number, name, f->offset, wire_name(f->wire),
                        wire_name(wire));
}

int tv_pb_int32(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                int32_t *out)
{
    if (want_wire(pb, f, name, TV_PB_VARINT) < 0)
        return -1;
    *out = (int32_t)(uint32_t)f->value;
    return 0;
}

int tv_pb_uint64(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                 uint64_t *out)
{
    if (want_wire(pb, f, name, TV_PB_VARINT) < 0)
        return -1;
    *out = f->value;
    return 0;
}

int tv_pb_bool(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
               bool *out)
{
    if (want_wire(pb, f, name, TV_PB_VARINT) < 0)
        return -1;
    *out = f->value != 0;
    return 0;
}

int tv_pb_float(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                float *out)
{
    if (want_wire(pb, f, name, TV_PB_I32) < 0)
        return -1;
    uint32_t bits = (uint32_t)f->value;
    memcpy(out, &bits, sizeof bits);
    return 0;
}

int tv_pb_bytes(const struct tv_pb *pb, const struct tv_pb_field *f, const char *name,
                const uint8_t **data, size_t *len)
{
    if (want_wire(pb, f, name, TV_PB_LEN) < 0)
        return -1;
    *data = f->data;
    *len = f->len;
    return 0;
}
