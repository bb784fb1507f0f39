/*
 * Private to libtokvec: directory sources, archives (libarchive), gzip (zlib) and the
 * Hugging Face cache. (Not "archive.h": src/ is on the include path, and that name
 * would hide libarchive's <archive.h>.)
 *
 *   tv_dir       the files of one folder, on disk (src/folder.c) or inside an archive
 *                (src/archive.c); the folder layout only ever talks to a tv_dir.
 *   tv_archive   a .tar, .tar.gz, .tar.zst, .tar.xz, .tar.bz2 or .zip held in a blob
 *                (a mapping or a buffer), indexed once and read member by member,
 *                lazily, never extracted to disk.
 *   gzip         one gzipped file inflated into a heap blob, and the deflating side
 *                of tv_out (tv_out_open_gzip).
 *
 * Every expansion is bounded by struct tv_unpack_limits (src/limits.h defaults,
 * tv_open_options overrides), so a small hostile file cannot make us allocate much.
 */
#ifndef TOKVEC_SOURCES_H
#define TOKVEC_SOURCES_H

#ifndef TOKVEC_INTERNAL
#error "src/sources.h is private to libtokvec"
#endif

#include "internal.h"

/* ---- directory sources: the layout behind tv_dir (declared in internal.h) ------- */

struct tv_dir_ops {
    bool (*has)(tv_dir *d, const char *name);
    int (*list)(tv_dir *d, const char *suffix, char ***names, size_t *count, tv_error *err);
    tv_blob *(*open)(tv_dir *d, const char *name, tv_error *err);
    void (*release)(tv_dir *d); /* frees what the source owns; tv_dir_free frees d */
};

/* Each source allocates a larger struct that starts with this one. */
struct tv_dir {
    const struct tv_dir_ops *ops;
    char *name;                /* tv_malloc'ed, for messages */
};

/* ---- expansion caps ------------------------------------------------------------- */

struct tv_unpack_limits {
    uint64_t max_member_bytes; /* one member (or one .gz file) after decompression */
    uint64_t max_total_bytes;  /* everything decompressed from one archive */
    uint64_t max_ratio;        /* decompressed bytes per byte of the archive file */
};

/* Fills lim from opt (NULL or 0 fields: the defaults of src/limits.h). */
void tv_unpack_limits_init(struct tv_unpack_limits *lim, const struct tv_open_options *opt);

/*
 * The number of bytes a source of packed_bytes compressed bytes may expand to in
 * total: max_total_bytes, lowered to max_ratio * packed_bytes when that is larger
 * than TV_UNPACK_RATIO_FLOOR (small files may expand a lot: a JSON file compresses
 * 20:1 and that costs nothing). Sets *by_ratio when the ratio is the binding cap.
 */
uint64_t tv_unpack_budget(const struct tv_unpack_limits *lim, uint64_t packed_bytes,
                          bool *by_ratio);

/* ---- recognising containers by their first bytes -------------------------------- */

enum tv_container {
    TV_CONTAINER_NONE = 0,   /* not a container: a format reads it */
    TV_CONTAINER_GZIP,       /* a .tar.gz, or one gzipped file */
    TV_CONTAINER_COMPRESSED, /* zstd, xz, bzip2 or lz4: a compressed tar, or one file */
    TV_CONTAINER_ZIP,
    TV_CONTAINER_TAR
};

enum tv_container tv_container_sniff(const uint8_t *buf, size_t len);
/* Whether a 512-byte block is a POSIX/GNU tar header ("ustar" magic, valid checksum). */
bool tv_tar_header_valid(const uint8_t *block, size_t len);

/*
 * Reads a file that tv_container_sniff recognised into m. An archive is searched for
 * a model folder (at its root or in one top-level folder) read with the folder
 * layout, or else for its only file; a compressed single file is decompressed and
 * read by the format its content shows. relative is the name recorded in the model's
 * file list. Returns 0, or -1 with err.
 */
int tv_model_read_container(tv_model *m, tv_blob *file, enum tv_container kind,
                            const char *relative, tv_error *err);

/*
 * "archive.zip:path/inside" names a member (a file, or a folder with a trailing or
 * no slash) of an archive on disk. Returns 1 when path has that form and was read,
 * 0 when no prefix of path up to a ':' is an existing file, -1 with err.
 */
int tv_model_read_member_path(tv_model *m, const char *path, tv_error *err);

/* ---- archives --------------------------------------------------------------------- */

typedef struct tv_archive tv_archive;

/*
 * Indexes the archive held in file (a reference is kept): one pass over the member
 * headers, no member data kept. Refuses a damaged archive (err names the member
 * where reading stopped), more than TV_ARCHIVE_MAX_MEMBERS members, or an archive
 * that expands past the caps while being listed. Free with tv_archive_free.
 */
tv_archive *tv_archive_open(tv_blob *file, const struct tv_unpack_limits *lim, tv_error *err);
void tv_archive_free(tv_archive *ar); /* NULL is fine; dirs keep their own reference */

size_t tv_archive_member_count(const tv_archive *ar);
/* Member i's name as stored in the archive (borrowed), or NULL past the end. */
const char *tv_archive_member_name(const tv_archive *ar, size_t i);
/* The archive's name for messages (borrowed). */
const char *tv_archive_name(const tv_archive *ar);

/*
 * Reads the member called name ("dir/file", compared after dropping "./" and empty
 * components) into a new blob named "archive:member". A stored member of an archive
 * that is not compressed as a whole is a view into the archive's bytes (no copy);
 * anything else is decompressed into a heap buffer, within the caps. Refused with an
 * error naming the member: links, devices, names that leave the archive (".." or
 * absolute), a name stored twice, encrypted members, damaged data. NULL with err.
 */
tv_blob *tv_archive_read(tv_archive *ar, const char *name, tv_error *err);

/* A directory source over the folder called folder inside the archive ("" for the
   root). The source keeps the archive alive. NULL with err. */
tv_dir *tv_archive_dir(tv_archive *ar, const char *folder, tv_error *err);

/* ---- gzip (src/gzip.c) ------------------------------------------------------------ */

bool tv_gzip_magic(const uint8_t *buf, size_t len);

/*
 * Inflates a whole gzip file (every member of a multi-member file) into a new heap
 * blob called name. Trailing zero bytes (tape padding) are allowed, anything else
 * after the last member is refused. The output is bounded by lim (a bomb stops with
 * an error naming the file and the cap). NULL with err.
 */
tv_blob *tv_gzip_inflate(const tv_blob *gz, const char *name,
                         const struct tv_unpack_limits *lim, tv_error *err);

/* Inflates at most cap bytes from the start of a gzip stream into out (to look at
   what it holds). Returns how many bytes it produced (0 on any error). */
size_t tv_gzip_peek(const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

/*
 * The deflating half of tv_out_open_gzip: bytes written go through deflate in gzip
 * framing and out through sink. finish writes the trailer. Each returns 0 or -1
 * with err.
 */
typedef int (*tv_sink_fn)(void *ctx, const void *buf, size_t len, tv_error *err);
struct tv_deflater;
struct tv_deflater *tv_deflater_new(int level, tv_sink_fn sink, void *sink_ctx,
                                    const char *name, tv_error *err);
int tv_deflater_write(struct tv_deflater *z, const void *buf, size_t len, tv_error *err);
int tv_deflater_finish(struct tv_deflater *z, tv_error *err);
void tv_deflater_free(struct tv_deflater *z); /* NULL is fine */

/* ---- the Hugging Face cache (src/hub.c) ------------------------------------------ */

/* Whether name could be a Hugging Face repo id: "name" or "org/name" of letters,
   digits, '-', '_' and '.', not starting with '.' or '-'. */
bool tv_hub_name_valid(const char *name);

/*
 * Finds the snapshot folder of a model in the local Hugging Face cache
 * ($HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub: the first that is set) for revision (a ref under refs/,
 * or a commit under snapshots/; NULL: "main"). Returns a new tv_malloc'ed path, or
 * NULL with err (TV_ERR_NOTFOUND) naming every path it looked at. Never touches the
 * network.
 */
char *tv_hub_resolve(const char *name, const char *revision, tv_error *err);

/* Reads the model name from the cache into m (the folder layout over the snapshot). */
int tv_model_read_hub(tv_model *m, const char *name, tv_error *err);

#endif
