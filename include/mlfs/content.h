/*
 * content.h - a file's content: its whole-file digest, size and chunk
 * list (stored as one packed blob per content, see docs/format.md).
 * Loading a content resolves every chunk's location once, so reads at
 * any offset need no database query.
 */
#ifndef MLFS_CONTENT_H
#define MLFS_CONTENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlfs/hash.h"
#include "mlfs/pack.h"
#include "mlfs/util.h"

struct mlfs_store;
struct mlfs_chunk;

struct mlfs_content {
	struct mlfs_id digest;
	uint64_t size;
	size_t n;                   /* number of chunks */
	struct mlfs_id *ids;        /* n chunk ids */
	uint64_t *offs;             /* n + 1 prefix sums; offs[n] == size */
	struct mlfs_chunk_loc *locs;/* n locations, NULL unless LOCATE */
};

#define MLFS_CONTENT_LOCATE 0x1u

/* Load content @digest. With MLFS_CONTENT_LOCATE also look up every
 * chunk's location (-ENOENT if one is missing from the index).
 * Returns 0, -ENOENT, -EBADMSG, -ENOMEM. */
MLFS_MUST_CHECK int mlfs_content_load(struct mlfs_store *s,
				      const struct mlfs_id *digest,
				      unsigned flags,
				      struct mlfs_content **out);
void mlfs_content_free(struct mlfs_content *c);

/* Index of the chunk holding byte @off (off < size). */
size_t mlfs_content_chunk_index(const struct mlfs_content *c, uint64_t off);

/* Get chunk @idx of @c through the store's cache (see mlfs_store_get_chunk
 * for errors); release with mlfs_chunk_unref. */
MLFS_MUST_CHECK int mlfs_content_get_chunk(struct mlfs_store *s,
					   const struct mlfs_content *c,
					   size_t idx,
					   const struct mlfs_chunk **out);

/* Copy up to @len bytes at @off into @buf. Returns the count (short only
 * at end of file), or -EIO/-ENOENT when a chunk is bad or missing (the
 * caller gets no partial data then). */
MLFS_MUST_CHECK ssize_t mlfs_content_read(struct mlfs_store *s,
					  const struct mlfs_content *c,
					  void *buf, size_t len, uint64_t off);

/* Chunk-list blob codec, exposed for tests: 20 bytes per chunk
 * (16-byte id, le32 length). */
MLFS_MUST_CHECK int mlfs_chunklist_decode(const void *p, size_t len,
					  uint64_t size,
					  struct mlfs_content *c);

#endif
