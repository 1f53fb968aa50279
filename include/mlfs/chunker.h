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
 * per-file state (may be NULL for stateless splitters); a stateful
 * splitter takes a cut it returns as made: the next call starts after it.
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

/*
 * The safetensors splitter (chunker_safetensors.c, docs/design.md#chunking):
 * a cut at the end of the header and at both ends of every tensor of at
 * least params->min bytes (smaller ones stay with their neighbours in one
 * region), FastCDC inside each region, restarted at its start, so a
 * tensor's chunks do not depend on where it sits in the file. Its state
 * is a struct mlfs_st_split: 8 bytes per region, at most 2 per tensor.
 */
extern const struct mlfs_splitter mlfs_splitter_safetensors;
struct mlfs_st_split;

/* Headers over this are cut by FastCDC (the parse takes about 5 bytes of
 * memory per header byte while it runs). */
#define MLFS_ST_SPLIT_HEADER_MAX (16u << 20)

/* Splitter state for a file of @size bytes whose first @len bytes are
 * @head (borrowed; bytes past the header are not looked at), cut with
 * params @p (the same the splitter is then called with). Returns 1 with
 * *@out set (free with mlfs_st_split_free), or 0 with *@out NULL when
 * @head is not the header of a safetensors file of that size (too short,
 * malformed, over MLFS_ST_SPLIT_HEADER_MAX) or there is no memory: then
 * the file is cut by FastCDC. Never an error: any file imports. */
MLFS_MUST_CHECK int mlfs_st_split_new(const uint8_t *head, size_t len,
				      uint64_t size,
				      const struct mlfs_chunk_params *p,
				      struct mlfs_st_split **out);
/* The same for the open file @fd (borrowed; read with pread, so its
 * position is unchanged) of @size bytes: reads only its header, and only
 * when its first 9 bytes look like one (nothing for a file of at most
 * p->min bytes, one chunk anyway). Returns 1 or 0 as above. */
MLFS_MUST_CHECK int mlfs_st_split_open(int fd, uint64_t size,
				       const struct mlfs_chunk_params *p,
				       struct mlfs_st_split **out);
/* Accepts NULL. */
void mlfs_st_split_free(struct mlfs_st_split *s);

#endif
