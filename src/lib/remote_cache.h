/*
 * remote_cache.h - the local cache of remote packs' bytes (internal to
 * libmlfs): remote_cache.c.
 */
#ifndef MLFS_REMOTE_CACHE_H
#define MLFS_REMOTE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/pack.h"

struct mlfs_store;
struct mlfs_remote;

/* The cache keeps a pack's bytes in files of at most this many, each a
 * sparse copy of one aligned block of the pack (smaller for a small
 * bound, so that eviction has more than one block to choose from). */
#define RCACHE_BLOCK (4u << 20)

/* Writes of the cache whose buffer and offset are aligned to this go
 * around the page cache (O_DIRECT); callers align the windows they
 * fetch to it. */
#define RCACHE_ALIGN 4096u

struct rcache_dir {
	char *remote;
	uint64_t bytes, max; /* what the files hold (allocated), the bound */
	bool unwritable;     /* a write failed for lack of permission */
};

struct rcache {
	pthread_mutex_t lock;
	struct rcache_dir dirs[8]; /* protected by lock */
	size_t ndirs;              /* protected by lock */
};

void rcache_init(struct rcache *c);
void rcache_destroy(struct rcache *c);

/* The remote's cache bound in bytes. */
uint64_t rcache_bound(const struct mlfs_remote *r);

/* Check the entry @buf (@len bytes: header + stored bytes) against
 * @id/@loc, decode it into @out (loc->raw_len bytes) and hash it. 0,
 * -EBADMSG (shape, header or codec), -EIO (hash mismatch). */
int rcache_entry_decode(struct mlfs_store *s, const struct mlfs_id *id,
			const struct mlfs_chunk_loc *loc, const uint8_t *buf,
			size_t len, void *out);

/* Chunk @id at @loc from @remote's cache, checked and decoded into
 * @out: 0, or -ENOENT (not cached, or not good: a hole, a damaged or a
 * half-written copy all fail the check and are fetched again). */
int rcache_read(struct mlfs_store *s, const struct mlfs_remote *r,
		const struct mlfs_id *id, const struct mlfs_chunk_loc *loc,
		void *out);

/* Keep @len bytes of pack @pack from offset @off for @r, evicting the
 * least recently used blocks past the bound. 0 or -errno; a store this
 * process may not write marks the cache unwritable. */
int rcache_put(struct mlfs_store *s, struct rcache *c,
	       const struct mlfs_remote *r, uint64_t pack, uint64_t off,
	       const uint8_t *buf, size_t len);

/* False once a write to @r's cache failed for lack of permission: what
 * is read ahead could not be kept. */
bool rcache_writable(struct rcache *c, const struct mlfs_remote *r);

#endif
