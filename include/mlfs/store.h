/*
 * store.h - a store: a directory with mlfs.db (SQLite, WAL), packs/ and a
 * versioned config (format, chunking, hash key, zstd level). The store
 * object is thread-safe: SQLite access is serialised by an internal lock,
 * pack reads use pread, the chunk cache has its own lock.
 */
#ifndef MLFS_STORE_H
#define MLFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/chunker.h"
#include "mlfs/config.h"
#include "mlfs/hash.h"
#include "mlfs/pack.h"
#include "mlfs/util.h"

#define MLFS_ZSTD_LEVEL_DEFAULT 3

struct mlfs_store;

struct mlfs_store_init_opts {
	int zstd_level;                  /* 0 = default */
	struct mlfs_chunk_params chunk;  /* zeroes = defaults */
	/* Share with the members of group @group, read-only: directories
	 * 2750 (setgid: later files inherit the group), mlfs.db and its
	 * -wal/-shm and config 0640 (docs/design.md#sharing-a-store). */
	bool shared;
	gid_t group;
	/* The hash key, or NULL for a new random one. A clone takes its
	 * remote's (docs/format.md#bucket-layout): ids must agree. */
	const struct mlfs_hash_key *key;
};

/* Where the store is when no --store is given: $MLFS_STORE, else
 * /var/lib/mlfs for root, else $XDG_DATA_HOME/mlfs or
 * ~/.local/share/mlfs. Returns a malloc'd path (caller frees) or NULL. */
char *mlfs_store_default_dir(void);

/* Create a store in @dir (created with its parents, as mkdir -p, if
 * missing; else it must be empty: leftovers of an interrupted init are
 * cleared). Returns 0, -EEXIST (already a store), -ENOTEMPTY (holds
 * other files), -EINVAL (bad opts), -EPERM (@o->shared and the caller
 * may not give files to @o->group), -errno. */
MLFS_MUST_CHECK int mlfs_store_init(const char *dir,
				    const struct mlfs_store_init_opts *o);

#define MLFS_STORE_RDONLY 0x1u

/* Open the store in @dir. Returns 0, -ENOENT (no store there), -EBADMSG
 * (config or database damaged), -EPROTONOSUPPORT (made by a newer mlfs),
 * -ESTALE (older schema, RDONLY: needs mlfs upgrade), -EACCES/-EPERM
 * (mlfs_error_detail() says "cannot read store config '...'" (or
 * database, packs) when the caller may not read the store, else the
 * caller may not write it and RDONLY was not given), -EROFS (read-only
 * file system, RDONLY not given), -ENOLCK (RDONLY, the caller may not
 * create the database's -shm and its owner could be writing: see
 * docs/design.md#sharing-a-store), -ENOSPC (disk full, RDONLY not
 * given), -errno. */
MLFS_MUST_CHECK int mlfs_store_open(const char *dir, unsigned flags,
				    struct mlfs_store **out);
void mlfs_store_close(struct mlfs_store *s);

const struct mlfs_store_config *mlfs_store_config(const struct mlfs_store *s);
const char *mlfs_store_dir(const struct mlfs_store *s);
/* Total bytes of pack files, and of the database, for statfs and du. */
MLFS_MUST_CHECK int mlfs_store_usage(struct mlfs_store *s, uint64_t *packs,
				     uint64_t *db);

/* A decompressed, verified chunk, shared through the store's cache.
 * Read-only; release with mlfs_chunk_unref(). */
struct mlfs_chunk {
	struct mlfs_id id;
	uint32_t len;
	const uint8_t *data;
};

/* Bound the decompressed-chunk cache (default 64 MiB). */
void mlfs_store_set_cache_size(struct mlfs_store *s, size_t bytes);

/* Look up where chunk @id is stored. Returns 0 or -ENOENT. */
MLFS_MUST_CHECK int mlfs_store_locate_chunk(struct mlfs_store *s,
					    const struct mlfs_id *id,
					    struct mlfs_chunk_loc *loc);

/* Get chunk @id, decompressed and checked against its id. @loc may be
 * NULL (then it is looked up). Returns 0, -ENOENT (unknown chunk or pack
 * missing), -EIO (hash mismatch, or a damaged entry or zstd frame: to a
 * reader both are bad data), -ENOMEM. On failure mlfs_error_detail()
 * names the chunk and pack and says which. */
MLFS_MUST_CHECK int mlfs_store_get_chunk(struct mlfs_store *s,
					 const struct mlfs_id *id,
					 const struct mlfs_chunk_loc *loc,
					 const struct mlfs_chunk **out);
void mlfs_chunk_unref(struct mlfs_store *s, const struct mlfs_chunk *c);

#endif
