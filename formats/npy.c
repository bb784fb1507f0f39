/*
 * NumPy .npy files (numpy.lib.format, versions 1.0, 2.0 and 3.0): one array, used
 * for embedding matrices.
 *
 *   1. magic "\x93NUMPY" (6 bytes)
 *   2. version: major, minor (1 byte each): 1.0, 2.0 or 3.0
 *   3. header length: uint16 little-endian (1.0) or uint32 little-endian (2.0, 3.0)
 *   4. header: a Python dict literal, ASCII (latin-1 in 1.0/2.0, UTF-8 in 3.0), padded
 *      with spaces and ended by '\n' so that 1 + 2 + 3 + 4 is a multiple of 64 (16 in
 *      files from older numpy), for example
 *          {'descr': '<f4', 'fortran_order': False, 'shape': (50000, 300), }
 *      with exactly the keys descr, fortran_order and shape (numpy refuses others)
 *   5. data: product(shape) * itemsize bytes, C order, or Fortran order when
 *      fortran_order is True
 *
 * Dtypes read: <f2 <f4 <f8 <c8, <i1..<i8, <u1..<u8, |b1 (1-byte types may be '|', '<'
 * or '>'). Big-endian ('>' with more than one byte), object, string, datetime,
 * structured and void (ml_dtypes' bfloat16 is '<V2') arrays are refused with the
 * descr named.
 *
 * The model: one tensor, "embeddings" when the array is 2-D, else "array", whose data
 * points into the file. A Fortran-ordered array of 2 or more dimensions is copied into
 * C order (an owned buffer) so that rows stay rows. Bytes after the data and a data
 * offset that is not a multiple of 16 are findings, not errors (numpy loads both).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* The header cap is TV_NPY_MAX_HEADER (src/limits.h). */

/* ---- the header dict ------------------------------------------------------------- */

struct npy_header {
    bool has_descr, has_fortran, has_shape;
    char descr[64];
    bool fortran_order;
    uint32_t n_dims;
    uint64_t shape[TV_MAX_DIMS];
};

struct dict_parser {
    const uint8_t *p;
    size_t len, pos;
    const char *file;
    tv_error *err;
};

static void skip_ws(struct dict_parser *d)
{
    while (d->pos < d->len && (d->p[d->pos] == ' ' || d->p[d->pos] == '\t' ||
                               d->p[d->pos] == '\n' || d->p[d->pos] == '\r'))
        d->pos++;
}

static int syntax_error(struct dict_parser *d, const char *expected)
{
    char near[24];
    size_t n = 0;
    for (size_t i = d->pos; i < d->len && n < 16; i++)
        near[n++] = d->p[i] >= 0x20 && d->p[i] < 0x7f ? (char)d->p[i] : '?';
    near[n] = '\0';
    return tv_error_set(d->err, TV_ERR_DATA, "%s: header: expected %s at byte %zu, found %s%s%s",
                        d->file, expected, d->pos, n ? "'" : "the end", near, n ? "'" : "");
}

static bool take(struct dict_parser *d, char c)
{
    skip_ws(d);
    if (d->pos < d->len && d->p[d->pos] == c) {
        d->pos++;
        return true;
    }
    return false;
}

/* A quoted string without escapes (numpy never writes any in these fields). */
static int parse_string(struct dict_parser *d, const uint8_t **s, size_t *n)
{
    skip_ws(d);
    if (d->pos >= d->len || (d->p[d->pos] != '\'' && d->p[d->pos] != '"'))
        return syntax_error(d, "a quoted string");
    uint8_t quote = d->p[d->pos++];
    size_t start = d->pos;
    while (d->pos < d->len && d->p[d->pos] != quote) {
        if (d->p[d->pos] == '\\' || d->p[d->pos] == '\n')
            return syntax_error(d, "the end of the string (escapes are not read)");
        /* keys and dtypes are ASCII; anything else is no header numpy writes for an
           array tokvec reads (and would not be safe to quote in a message) */
        if (d->p[d->pos] < 0x20 || d->p[d->pos] >= 0x7f)
            return syntax_error(d, "printable ASCII in the string");
        d->pos++;
    }
    if (d->pos >= d->len)
        return syntax_error(d, "a closing quote");
    *s = d->p + start;
    *n = d->pos - start;
    d->pos++;
    return 0;
}

static bool take_word(struct dict_parser *d, const char *word)
{
    size_t n = strlen(word);
    skip_ws(d);
    if (d->len - d->pos >= n && memcmp(d->p + d->pos, word, n) == 0) {
        d->pos += n;
        return true;
    }
    return false;
}

/* (a, b, ...) of non-negative integers, with an optional trailing comma and Python 2's
   'L' suffix. */
static int parse_shape(struct dict_parser *d, struct npy_header *h)
{
    if (!take(d, '('))
        return syntax_error(d, "'(' starting the shape");
    h->n_dims = 0;
    for (;;) {
        if (take(d, ')'))
            return 0;
        skip_ws(d);
        size_t start = d->pos;
        uint64_t v = 0;
        while (d->pos < d->len && d->p[d->pos] >= '0' && d->p[d->pos] <= '9') {
            unsigned digit = (unsigned)(d->p[d->pos] - '0');
            if (v > (UINT64_MAX - digit) / 10)
                return tv_error_set(d->err, TV_ERR_DATA,
                                    "%s: header: shape dimension %u at byte %zu does not fit "
                                    "64 bits", d->file, h->n_dims, start);
            v = v * 10 + digit;
            d->pos++;
        }
        if (d->pos == start)
            return syntax_error(d, "a non-negative integer in the shape");
        if (d->pos < d->len && d->p[d->pos] == 'L')
            d->pos++;
        if (h->n_dims >= TV_MAX_DIMS)
            return tv_error_set(d->err, TV_ERR_UNSUPPORTED,
                                "%s: header: shape has more than %d dimensions", d->file,
                                TV_MAX_DIMS);
        h->shape[h->n_dims++] = v;
        if (take(d, ')'))
            return 0;
        if (!take(d, ','))
            return syntax_error(d, "',' or ')' in the shape");
    }
}

static int parse_entry(struct dict_parser *d, struct npy_header *h)
{
    const uint8_t *key;
    size_t key_len;
    skip_ws(d);
    size_t key_pos = d->pos;
    if (parse_string(d, &key, &key_len) < 0)
        return -1;
    if (!take(d, ':'))
        return syntax_error(d, "':' after a key");
    bool *seen;
    if (key_len == 5 && memcmp(key, "descr", 5) == 0)
        seen = &h->has_descr;
    else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0)
        seen = &h->has_fortran;
    else if (key_len == 5 && memcmp(key, "shape", 5) == 0)
        seen = &h->has_shape;
    else
        return tv_error_set(d->err, TV_ERR_DATA,
                            "%s: header: key '%.*s' at byte %zu is not one of descr, "
                            "fortran_order, shape (numpy refuses it too)", d->file,
                            (int)(key_len > 40 ? 40 : key_len), (const char *)key, key_pos);
    if (*seen)
        return tv_error_set(d->err, TV_ERR_DATA, "%s: header: key '%.*s' appears twice",
                            d->file, (int)key_len, (const char *)key);
    *seen = true;
    if (seen == &h->has_descr) {
        skip_ws(d);
        if (d->pos < d->len && d->p[d->pos] == '[')
            return tv_error_set(d->err, TV_ERR_UNSUPPORTED,
                                "%s: structured arrays (a list as descr) are not read", d->file);
        const uint8_t *s;
        size_t n;
        if (parse_string(d, &s, &n) < 0)
            return -1;
        if (n >= sizeof h->descr)
            return tv_error_set(d->err, TV_ERR_UNSUPPORTED, "%s: descr of %zu bytes is not a "
                                "dtype tokvec reads", d->file, n);
        memcpy(h->descr, s, n);
        h->descr[n] = '\0';
        return 0;
    }
    if (seen == &h->has_fortran) {
        if (take_word(d, "True"))
            h->fortran_order = true;
        else if (take_word(d, "False"))
            h->fortran_order = false;
        else
            return syntax_error(d, "True or False for fortran_order");
        return 0;
    }
    return parse_shape(d, h);
}

static int parse_header(const uint8_t *p, size_t len, const char *file, struct npy_header *h,
                        tv_error *err)
{
    struct dict_parser d = {.p = p, .len = len, .file = file, .err = err};
    memset(h, 0, sizeof *h);
    if (!take(&d, '{'))
        return syntax_error(&d, "'{'");
    for (;;) {
        if (take(&d, '}'))
            break;
        if (parse_entry(&d, h) < 0)
            return -1;
        if (take(&d, '}'))
            break;
        if (!take(&d, ','))
            return syntax_error(&d, "',' or '}'");
    }
    skip_ws(&d);
    if (d.pos != d.len)
        return syntax_error(&d, "only spaces after the dict");
    const char *missing = !h->has_descr ? "descr" : !h->has_fortran ? "fortran_order"
                        : !h->has_shape ? "shape" : NULL;
    if (missing)
        return tv_error_set(err, TV_ERR_DATA, "%s: header lacks the key '%s'", file, missing);
    return 0;
}

/* ---- dtypes ------------------------------------------------------------------------- */

static const struct {
    char kind;
    unsigned size;
    enum tv_dtype dtype;
} npy_dtypes[] = {
    {'f', 2, TV_DTYPE_F16}, {'f', 4, TV_DTYPE_F32}, {'f', 8, TV_DTYPE_F64},
    {'c', 8, TV_DTYPE_C64},
    {'i', 1, TV_DTYPE_I8},  {'i', 2, TV_DTYPE_I16}, {'i', 4, TV_DTYPE_I32}, {'i', 8, TV_DTYPE_I64},
    {'u', 1, TV_DTYPE_U8},  {'u', 2, TV_DTYPE_U16}, {'u', 4, TV_DTYPE_U32}, {'u', 8, TV_DTYPE_U64},
    {'b', 1, TV_DTYPE_BOOL},
};

static int parse_descr(const char *descr, const char *file, enum tv_dtype *dtype,
                       unsigned *itemsize, tv_error *err)
{
    size_t n = strlen(descr);
    char order = n ? descr[0] : 0;
    if (n >= 3 && (order == '<' || order == '>' || order == '|' || order == '=')) {
        char kind = descr[1];
        unsigned size = 0;
        bool digits = true;
        for (size_t i = 2; i < n && digits; i++) {
            digits = descr[i] >= '0' && descr[i] <= '9' && size < 1000;
            size = size * 10 + (unsigned)(descr[i] - '0');
        }
        for (size_t i = 0; digits && i < TV_ARRAY_SIZE(npy_dtypes); i++) {
            if (npy_dtypes[i].kind != kind || npy_dtypes[i].size != size)
                continue;
            bool little = order == '<' || size == 1 ||
                          (order == '=' && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
            if (order == '>' && !little)
                return tv_error_set(err, TV_ERR_UNSUPPORTED,
                                    "%s: descr '%s' is big-endian; tokvec reads little-endian "
                                    "arrays (numpy: a.astype(a.dtype.newbyteorder('<')))",
                                    file, descr);
            if (!little)
                return tv_error_set(err, TV_ERR_DATA, "%s: descr '%s': a %u-byte type needs a "
                                    "byte order", file, descr, size);
            *dtype = npy_dtypes[i].dtype;
            *itemsize = size;
            return 0;
        }
    }
    return tv_error_set(err, TV_ERR_UNSUPPORTED,
                        "%s: descr '%s' is not a dtype tokvec reads (f2 f4 f8 c8 i1-i8 u1-u8 b1)",
                        file, descr);
}

/* ---- Fortran order ------------------------------------------------------------------ */

/*
 * Copies an array stored in Fortran order (first index fastest) into C order (last
 * index fastest). n_elements * itemsize bytes were checked against the file.
 */
static uint8_t *fortran_to_c(const uint8_t *src, const uint64_t *shape, uint32_t n_dims,
                             uint64_t n_elements, unsigned itemsize)
{
    uint8_t *dst = tv_malloc((size_t)(n_elements * itemsize));
    if (!dst)
        return NULL;
    uint64_t stride[TV_MAX_DIMS], index[TV_MAX_DIMS] = {0};
    for (uint32_t k = 0; k < n_dims; k++)
        stride[k] = k ? stride[k - 1] * shape[k - 1] : 1;
    uint64_t offset = 0; /* Fortran element offset of index[] */
    for (uint64_t i = 0; i < n_elements; i++) {
        memcpy(dst + i * itemsize, src + offset * itemsize, itemsize);
        /* advance the C-order odometer: the last index turns fastest */
        for (uint32_t k = n_dims; k-- > 0;) {
            if (++index[k] < shape[k]) {
                offset += stride[k];
                break;
            }
            offset -= (shape[k] - 1) * stride[k];
            index[k] = 0;
        }
    }
    return dst;
}

/* ---- the reader ------------------------------------------------------------------------ */

static int read_npy(tv_model *m, tv_blob *blob, tv_error *err)
{
    const char *file = blob->name;
    struct tv_cursor c;
    tv_cursor_init(&c, blob->data, blob->len, file, err);
    const uint8_t *magic = tv_cursor_bytes(&c, 6, "the magic");
    if (!magic)
        return -1;
    if (memcmp(magic, npy_magic, 6) != 0)
        return tv_error_set(err, TV_ERR_DATA, "%s: not a .npy file (no \\x93NUMPY magic)", file);
    uint8_t major, minor;
    if (tv_cursor_u8(&c, &major, "the major version") < 0 ||
        tv_cursor_u8(&c, &minor, "the minor version") < 0)
        return -1;
    if (major < 1 || major > 3 || minor != 0)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: .npy version %u.%u (tokvec reads "
                            "1.0, 2.0 and 3.0)", file, major, minor);
    uint32_t header_len;
    if (major == 1) {
        uint16_t len16;
        if (tv_cursor_u16(&c, &len16, "the header length") < 0)
            return -1;
        header_len = len16;
    } else if (tv_cursor_u32(&c, &header_len, "the header length") < 0) {
        return -1;
    }
    if (header_len > TV_NPY_MAX_HEADER)
        return tv_error_set(err, TV_ERR_LIMIT, "%s: header of %u bytes (at most %u)", file,
                            header_len, TV_NPY_MAX_HEADER);
    const uint8_t *header = tv_cursor_bytes(&c, header_len, "the header");
    if (!header)
        return -1;
    struct npy_header h;
    if (parse_header(header, header_len, file, &h, err) < 0)
        return -1;
    enum tv_dtype dtype = TV_DTYPE_F32;
    unsigned itemsize = 0;
    if (parse_descr(h.descr, file, &dtype, &itemsize, err) < 0)
        return -1;

    char shape_text[TV_MAX_DIMS * 21 + 4] = "(";
    size_t st = 1;
    uint64_t n_elements = 1, n_bytes;
    bool overflow = false;
    for (uint32_t k = 0; k < h.n_dims; k++) {
        st += (size_t)snprintf(shape_text + st, sizeof shape_text - st, "%s%llu", k ? ", " : "",
                               (unsigned long long)h.shape[k]);
        overflow |= !tv_mul_u64_fits(n_elements, h.shape[k], &n_elements);
    }
    snprintf(shape_text + st, sizeof shape_text - st, ")");
    if (overflow || !tv_mul_u64_fits(n_elements, itemsize, &n_bytes))
        return tv_error_set(err, TV_ERR_DATA, "%s: shape %s of '%s' overflows 64 bits", file,
                            shape_text, h.descr);
    size_t data_offset = c.pos;
    if (n_bytes > tv_cursor_remaining(&c))
        return tv_error_set(err, TV_ERR_DATA, "%s: shape %s of '%s' needs %llu bytes of data "
                            "at offset %zu, the file has %zu", file, shape_text, h.descr,
                            (unsigned long long)n_bytes, data_offset, tv_cursor_remaining(&c));

    if (data_offset % 16 &&
        tv_model_add_finding(m, "structure.alignment", TV_SEVERITY_WARN, err,
                             "%s: the data starts at offset %zu, not a multiple of 16 (numpy "
                             "pads headers to 64)", file, data_offset) < 0)
        return -1;
    if (n_bytes < tv_cursor_remaining(&c) &&
        tv_model_add_finding(m, "structure.trailing_bytes", TV_SEVERITY_WARN, err,
                             "%s: %llu bytes after the %llu bytes of data (numpy ignores them)",
                             file, (unsigned long long)(tv_cursor_remaining(&c) - n_bytes),
                             (unsigned long long)n_bytes) < 0)
        return -1;

    const uint8_t *data = blob->data + data_offset;
    if (h.fortran_order && h.n_dims >= 2 && n_elements > 0) {
        uint8_t *copy = fortran_to_c(data, h.shape, h.n_dims, n_elements, itemsize);
        if (!copy)
            return tv_error_set(err, TV_ERR_NOMEM, "%s: out of memory reordering %llu bytes "
                                "from Fortran order", file, (unsigned long long)n_bytes);
        tv_blob *owned = tv_blob_adopt(copy, (size_t)n_bytes, file, err);
        if (!owned)
            return -1;
        int rc = tv_model_add_blob(m, owned, err);
        tv_blob_unref(owned);
        if (rc < 0)
            return -1;
        data = owned->data;
    }
    const char *name = h.n_dims == 2 ? "embeddings" : "array";
    if (tv_model_add_tensor(m, name, strlen(name), dtype, h.n_dims, h.shape, file, data_offset,
                            data, err) < 0)
        return -1;
    struct tv_value fortran = {.type = TV_VALUE_BOOL, .as.u = h.fortran_order};
    struct tv_value version = {.type = TV_VALUE_U8, .as.u = major};
    if (tv_model_add_meta(m, "npy.fortran_order", 17, &fortran, TV_ORIGIN_OTHER, file, err) < 0 ||
        tv_model_add_meta(m, "npy.version", 11, &version, TV_ORIGIN_OTHER, file, err) < 0)
        return -1;
    return 0;
}

/* ---- the writer ------------------------------------------------------------------------ */

/*
 * Writes one array: the token embedding, or the model's only tensor when it has no
 * embedding (a 1-D or 3-D array read from a .npy). The header is version 1.0 (at
 * most 8 dimensions always fit its 65,535 bytes), padded to 64 bytes; data in C
 * order, little-endian. Dtypes numpy has are kept; others with a float32 decoder (BF16, F8,
 * ggml blocks) are decoded to F32; opt->dtype converts floating-point data to F32,
 * F16 or F64. The vocabulary is not part of a .npy file (pair it back with --vocab).
 */

#define NPY_CHUNK_ELEMENTS 65536

static const char *npy_descr(enum tv_dtype dtype)
{
    for (size_t i = 0; i < TV_ARRAY_SIZE(npy_dtypes); i++) {
        if (npy_dtypes[i].dtype != dtype)
            continue;
        switch (dtype) {
        case TV_DTYPE_F16: return "<f2";
        case TV_DTYPE_F32: return "<f4";
        case TV_DTYPE_F64: return "<f8";
        case TV_DTYPE_C64: return "<c8";
        case TV_DTYPE_I8: return "|i1";
        case TV_DTYPE_I16: return "<i2";
        case TV_DTYPE_I32: return "<i4";
        case TV_DTYPE_I64: return "<i8";
        case TV_DTYPE_U8: return "|u1";
        case TV_DTYPE_U16: return "<u2";
        case TV_DTYPE_U32: return "<u4";
        case TV_DTYPE_U64: return "<u8";
        case TV_DTYPE_BOOL: return "|b1";
        default: return NULL;
        }
    }
    return NULL;
}

/* Streams t converted to out_dtype (via float32), a chunk of whole blocks at a time. */
static int write_converted(const struct tv_tensor *t, enum tv_dtype out_dtype, tv_out *out,
                           tv_error *err)
{
    const struct tv_dtype_info *src = tv_dtype_info(t->dtype);
    uint64_t chunk = src->block_size * (NPY_CHUNK_ELEMENTS / src->block_size
                                            ? NPY_CHUNK_ELEMENTS / src->block_size : 1);
    float *values = tv_malloc((size_t)chunk * sizeof *values);
    uint8_t *bytes = tv_malloc((size_t)chunk * 8);
    int rc = -1;
    if (!values || !bytes) {
        tv_error_set(err, TV_ERR_NOMEM, "tensor '%s': out of memory converting to %s", t->name,
                     tv_dtype_name(out_dtype));
        goto out;
    }
    for (uint64_t done = 0; done < t->n_elements; done += chunk) {
        uint64_t n = t->n_elements - done < chunk ? t->n_elements - done : chunk;
        uint64_t src_offset, out_bytes;
        if (tv_dtype_bytes(t->dtype, done, &src_offset, err) < 0 ||
            tv_dtype_to_f32(t->dtype, t->data + src_offset, n, values, err) < 0 ||
            tv_dtype_bytes(out_dtype, n, &out_bytes, err) < 0)
            goto out;
        const void *payload = values;
        if (out_dtype != TV_DTYPE_F32) {
            if (tv_dtype_from_f32(out_dtype, values, n, bytes, err) < 0)
                goto out;
            payload = bytes;
        }
        if (tv_out_write(out, payload, (size_t)out_bytes, err) < 0)
            goto out;
    }
    rc = 0;
out:
    tv_free(values);
    tv_free(bytes);
    return rc;
}

static int write_npy(const tv_model *m, tv_out *out, const struct tv_write_options *opt,
                     tv_error *err)
{
    const struct tv_tensor *t = tv_model_embedding(m);
    if (!t && m->n_tensors == 1)
        t = &m->tensors[0];
    if (!t)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: a .npy file holds one array; this "
                            "model has %zu tensors and no token embedding (name one with "
                            "--embedding)", m->path, m->n_tensors);
    if (!t->data)
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: tensor '%s' is not loaded", m->path,
                            t->name);
    enum tv_dtype out_dtype = t->dtype;
    const struct tv_dtype_info *info = tv_dtype_info(t->dtype);
    bool floating = (info->flags & (TV_DTYPE_FLOAT | TV_DTYPE_QUANT)) && t->dtype != TV_DTYPE_C64;
    if (opt && opt->dtype >= 0 && floating) {
        out_dtype = (enum tv_dtype)opt->dtype;
        if (out_dtype != TV_DTYPE_F32 && out_dtype != TV_DTYPE_F16 && out_dtype != TV_DTYPE_F64)
            return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: a .npy file holds F32, F16 or "
                                "F64 floats, not %s", m->path, tv_dtype_name(out_dtype));
    } else if (!npy_descr(t->dtype)) {
        out_dtype = TV_DTYPE_F32;
    }
    if (out_dtype != t->dtype && !tv_dtype_can_to_f32(t->dtype))
        return tv_error_set(err, TV_ERR_UNSUPPORTED, "%s: tensor '%s' is %s, which numpy has "
                            "no dtype for and tokvec cannot decode", m->path, t->name,
                            tv_dtype_name(t->dtype));

    char shape[TV_MAX_DIMS * 22 + 4];
    size_t n = 0;
    for (uint32_t k = 0; k < t->n_dims; k++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%llu", k ? ", " : "",
                              (unsigned long long)t->shape[k]);
    if (t->n_dims == 1)
        snprintf(shape + n, sizeof shape - n, ",");
    else if (t->n_dims == 0)
        shape[0] = '\0';
    char header[512];
    int dict_len = snprintf(header, sizeof header,
                            "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                            npy_descr(out_dtype), shape);
    size_t header_len = (size_t)dict_len + 1;
    while ((10 + header_len) % 64)
        header_len++;
    memset(header + dict_len, ' ', header_len - (size_t)dict_len);
    header[header_len - 1] = '\n';
    uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)header_len,
                          (uint8_t)(header_len >> 8)};
    if (tv_out_write(out, prefix, sizeof prefix, err) < 0 ||
        tv_out_write(out, header, header_len, err) < 0)
        return -1;
    if (out_dtype == t->dtype) {
        for (uint64_t done = 0; done < t->n_bytes;) {
            uint64_t step = t->n_bytes - done < (1u << 20) ? t->n_bytes - done : (1u << 20);
            if (tv_out_write(out, t->data + done, (size_t)step, err) < 0)
                return -1;
            done += step;
        }
        return 0;
    }
    return write_converted(t, out_dtype, out, err);
}

static int probe_npy(const uint8_t *buf, size_t len, const char *name)
{
    (void)name;
    return len >= 6 && memcmp(buf, npy_magic, 6) == 0 ? 100 : 0;
}

const struct tv_format tv_format_npy = {
    .name = "npy",
    .label = "NumPy .npy",
    .probe = probe_npy,
    .read = read_npy,
    .write = write_npy,
};
