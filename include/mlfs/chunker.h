/*
 * chunker.h - content-defined chunking. The default splitter is
 * FastCDC-style (gear hash, normalized chunking). A splitter is a small
 * ops table so a format-aware one (say, cutting at safetensors tensor
 * boundaries) can sit beside it and be chosen per file.
 */
#ifndef MLFS_CHUNKER_H
#define MLFS_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/util.h"

#define MLFS_CHUNK_MIN_DEFAULT (16u * 1024)
#define MLFS_CHUNK_AVG_DEFAULT (64u * 1024)
#define MLFS_CHUNK_MAX_DEFAULT (256u * 1024)
/* Largest chunk any store may be configured for (bounds every buffer). */
#define MLFS_CHUNK_LIMIT (8u * 1024 * 1024)
#define MLFS_CHUNK_LIMIT_BYTES ((uint32_t)MLFS_CHUNK_LIMIT)

struct mlfs_chunk_params {
	uint32_t min;
	uint32_t avg; /* a power of two */
	uint32_t max;
};

/* Check min < avg < max <= MLFS_CHUNK_LIMIT, avg a power of two, min >= 64.
 * Returns 0 or -EINVAL. */
MLFS_MUST_CHECK int mlfs_chunk_params_check(const struct mlfs_chunk_params *p);

/*
 * A splitter finds the next cut in @buf (the bytes following the previous
 * cut). It returns the length of the next chunk, or 0 when it needs more
 * bytes; with @eof set it always returns @len when no earlier cut is found.
 * It never returns more than params->max. @state is splitter-private
 * per-file state (may be NULL for stateless splitters).
 */
struct mlfs_splitter {
	const char *name;
	size_t (*next)(const struct mlfs_chunk_params *p, void *state,
		       const uint8_t *buf, size_t len, bool eof);
};

/* The FastCDC splitter. */
extern const struct mlfs_splitter mlfs_splitter_fastcdc;

/* Convenience: FastCDC cut for one buffer. */
size_t mlfs_chunker_next(const struct mlfs_chunk_params *p,
			 const uint8_t *buf, size_t len, bool eof);

#endif
