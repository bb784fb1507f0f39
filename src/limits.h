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

/* JSON nesting depth for the structural scanner used by probes. */
#define TV_JSON_MAX_DEPTH 512

#endif
