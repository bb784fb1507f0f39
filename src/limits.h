/*
 * Safety caps, in one place, each with its reason. Model files come from strangers:
 * every count read from a file is checked against these and against the bytes that
 * remain before anything is allocated from it.
 */
#ifndef TOKVEC_LIMITS_H
#define TOKVEC_LIMITS_H

/* The safetensors reference implementation refuses larger headers (safetensors
   tensor.rs MAX_HEADER_SIZE). Adjustable with --max-header-bytes (a 1.29-million-tensor
   header of 126 MB exists in the wild). */
#define TV_SAFETENSORS_MAX_HEADER 100000000ULL

/* ggml's GGML_MAX_DIMS: GGUF tensors have at most 4 dimensions. */
#define TV_GGUF_MAX_DIMS 4
/* ggml's GGML_MAX_NAME (64) counts the NUL: ggml and llama.cpp refuse longer tensor
   names. The GGUF writer refuses them; the reader warns (structure.gguf_names). */
#define TV_GGUF_MAX_NAME_BYTES 63

/* Tensor names: GGUF's writer limit is 63 bytes, but we read names up to 64 KiB so
   that a long but honest safetensors name still loads. */
#define TV_MAX_NAME 65536

/* Token ids are 32-bit everywhere; 16M tokens is 60x the largest vocabulary in use
   and keeps a hostile id like 4e9 from allocating a 4-billion-entry table. */
#define TV_MAX_TOKENS (1u << 24)

/* Tensor count: 2^24 is 13x the largest real safetensors header seen (1.29 million);
   adjustable with --max-tensors. */
#define TV_MAX_TENSORS (1ULL << 24)

/* Nesting depth of GGUF arrays of arrays (recursion bound). */
#define TV_GGUF_MAX_ARRAY_DEPTH 8

/* JSON nesting depth for the structural scanner used by probes. (cJSON, which builds
   the trees, stops at its own CJSON_NESTING_LIMIT of 1000.) */
#define TV_JSON_MAX_DEPTH 512

/* tokenizer.json: nesting of "Sequence" normalizers, pre-tokenizers, processors and
   decoders that the reader searches and the tokenizer accepts (real files nest 1 or 2
   deep). */
#define TV_TOKENIZER_JSON_MAX_DEPTH 16

/* Token ids given by a file (tokenizer.json, vocab.json) may leave holes, but the id
   range may exceed the token count at most this many times plus the slack: ids 0 and
   4e9 must not allocate a 4-billion-entry table. */
#define TV_VOCAB_SPARSE_FACTOR 2
#define TV_VOCAB_SPARSE_SLACK 65536

/* NumPy .npy header: numpy itself refuses headers above 10,000 bytes unless told
   otherwise (np.load's max_header_size); 1 MiB leaves room for any real array. */
#define TV_NPY_MAX_HEADER (1u << 20)

/* word2vec / GloVe / fastText. A word of a binary file: the C tool caps words at 100
   bytes; a missing space in a damaged file must not make one word of the whole file. */
#define TV_WORD2VEC_MAX_WORD 65536
/* A decimal number in a text file: longer ones are not written by any tool. */
#define TV_WORD2VEC_MAX_NUMBER 63
/* Values per vector: 2^24 is 5000 times the widest embedding in use and keeps a hostile
   header from implying absurd shapes even when the file holds no rows. (Storage is
   sized from the bytes of the file, never from the header's row count.) */
#define TV_WORD2VEC_MAX_DIMS (1 << 24)
/* The first text line the probes look at is read no further than this. */
#define TV_WORD2VEC_PROBE_LINE 1048576

/* Archives and compressed files (src/archive.c, src/gzip.c). A member is held in
   memory once decompressed (a stored member of an uncompressed archive is used in
   place), so these caps bound memory as much as time. */

/* One archive member or one .gz file, decompressed: 32 GiB holds the largest
   single-file checkpoints people publish (7B parameters in float32 are 28 GB).
   Adjustable: tv_open_options.max_member_bytes, --max-member-bytes. */
#define TV_UNPACK_MAX_MEMBER (32ULL << 30)

/* Everything decompressed from one archive: the stream read while listing or
   seeking to a member, and the members held in memory. Adjustable:
   tv_open_options.max_unpacked_bytes, --max-unpacked-bytes. */
#define TV_UNPACK_MAX_TOTAL (64ULL << 30)

/* Decompressed bytes per byte of the file. Weights compress to 1.1-1.5:1 and
   tokenizer JSON to about 5:1, while deflate reaches 1032:1 on zeros and zstd far
   more: a bomb stops at 200 times its size. Applies only past TV_UNPACK_RATIO_FLOOR,
   so small files (a JSON file gzipped 50:1) are never refused by it. Adjustable:
   tv_open_options.max_expand_ratio, --max-expand-ratio. */
#define TV_UNPACK_MAX_RATIO 200ULL
#define TV_UNPACK_RATIO_FLOOR (64ULL << 20)

/* Members in one archive: the index holds each name. A PyTorch zip has one member per
   storage (thousands at most); a million is far past any model and bounds the index
   of a hostile archive of empty entries to about 100 MB. */
#define TV_ARCHIVE_MAX_MEMBERS 1000000

/* A member name: longer names (pax headers allow any length) are refused. Linux's
   PATH_MAX is 4096. */
#define TV_ARCHIVE_MAX_NAME 4096

/* PyTorch checkpoints: the restricted pickle machine (src/pickle.c) and the reader
   (formats/pytorch.c). A state dict takes about 15 pickle objects and a few stack
   slots per tensor, so 2^24 objects are a million tensors; memory is also capped at
   64 bytes per byte of pickle plus 16 MiB (no honest pickle comes near), at most
   TV_PICKLE_MAX_MEMORY. Real files open fewer than 10 MARKs at once. */
#define TV_PICKLE_MAX_STACK (1u << 20)
#define TV_PICKLE_MAX_MARKS 4096u
#define TV_PICKLE_MAX_OBJECTS (1u << 24)
#define TV_PICKLE_MAX_MEMORY (1ull << 30)
/* Dicts and lists nested inside the part of a checkpoint that is read (real state
   dicts: 1 to 3). */
#define TV_PYTORCH_MAX_DEPTH 64
/* Strided tensor views are copied into buffers of their own: at most the checkpoint's
   size plus this, so that a view with stride 0 over four bytes cannot ask for 4 GB. */
#define TV_PYTORCH_MAX_COPY_EXTRA (64ull << 20)

#endif
