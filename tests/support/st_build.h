/*
 * Builds safetensors bytes for tests: hostile headers are easiest to write as JSON
 * text, so these helpers only add the length field and the data buffer.
 */
#ifndef TOKVEC_ST_BUILD_H
#define TOKVEC_ST_BUILD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Returns a malloc'ed file (free with free()): the 8-byte little-endian length of
 * header, the header text as given, then data_len data bytes (byte i is i & 0xff).
 * *len gets the total size.
 */
uint8_t *st_build(const char *header, size_t data_len, size_t *len);

/* Like st_build, but the length field holds header_len_field whatever the text is. */
uint8_t *st_build_len(uint64_t header_len_field, const char *header, size_t data_len,
                      size_t *len);

/* Writes buf to dir/name; fails the test on error. */
void st_write_file(const char *dir, const char *name, const void *buf, size_t len);

/* st_build + st_write_file. */
void st_write(const char *dir, const char *name, const char *header, size_t data_len);

#endif
