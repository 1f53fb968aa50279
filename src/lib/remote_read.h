/*
 * remote_read.h - chunks of packs a remote holds, for the store's read
 * path (internal to libmlfs): remote_read.c.
 */
#ifndef MLFS_REMOTE_READ_H
#define MLFS_REMOTE_READ_H

#include "mlfs/hash.h"
#include "mlfs/pack.h"

struct mlfs_store;
struct remote_reader;

/* Read chunk @id at @loc, a pack that is not in STORE/packs: from the
 * remote's cache, else by a ranged GET of its entry from the bucket,
 * decoded into @out (raw_len bytes) and checked against @id. Returns 0,
 * -ENOENT (no remote holds the pack: it is simply missing), -EIO (the
 * bucket's bytes are bad or cannot be had: the detail names the chunk,
 * the remote and the key), -ENOMEM. Thread-safe. */
int remote_read_chunk(struct mlfs_store *s, const struct mlfs_id *id,
		      const struct mlfs_chunk_loc *loc, void *out);
/* Free the clients and cache state of a store; accepts NULL. */
void remote_reader_free(struct remote_reader *rr);

#endif
