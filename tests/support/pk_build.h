/*
 * Builds pickle bytes for tests opcode by opcode (the opcodes as pickletools names them),
 * so that hostile streams are easy to write without Python.
 */
#ifndef TOKVEC_PK_BUILD_H
#define TOKVEC_PK_BUILD_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer (malloc'ed; release with pk_free). */
struct pk {
    uint8_t *buf;
    size_t len, cap;
};

/* Each appends to p; running out of memory fails the test. */
void pk_bytes(struct pk *p, const void *data, size_t n);
void pk_op(struct pk *p, uint8_t op);
void pk_u32(struct pk *p, uint32_t v); /* little-endian */
void pk_u64(struct pk *p, uint64_t v);
/* BINUNICODE */
void pk_str(struct pk *p, const char *s);
/* SHORT_BINUNICODE */
void pk_sstr(struct pk *p, const char *s);
/* GLOBAL: "c" module "\n" name "\n" */
void pk_global(struct pk *p, const char *module, const char *name);
/* BININT1 */
void pk_int1(struct pk *p, uint8_t v);
/* Any int64: BININT when it fits in 32 bits, else LONG1 of 8 bytes. */
void pk_int(struct pk *p, int64_t v);
/* Frees the bytes and empties p. */
void pk_free(struct pk *p);

#endif
