#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_build.h"
#include "testutil.h"

uint8_t *st_build_len(uint64_t header_len_field, const char *header, size_t data_len,
                      size_t *len)
{
    size_t header_len = strlen(header);
    size_t total = 8 + header_len + data_len;
    uint8_t *buf = malloc(total ? total : 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(header_len_field >> (8 * i));
    memcpy(buf + 8, header, header_len);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + header_len + i] = (uint8_t)i;
    *len = total;
    return buf;
}

uint8_t *st_build(const char *header, size_t data_len, size_t *len)
{
    return st_build_len(strlen(header), header, data_len, len);
}

void st_write_file(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    if (len && fwrite(buf, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    if (fclose(f) != 0)
        fail_msg("cannot close %s", path);
}

void st_write(const char *dir, const char *name, const char *header, size_t data_len)
{
    size_t len;
    uint8_t *buf = st_build(header, data_len, &len);
    st_write_file(dir, name, buf, len);
    free(buf);
}
