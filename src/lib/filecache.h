/*
 * filecache.h - the files cache of `mlfs import`: per (store, repository,
 * source path), each file's (device, inode, size, mtime, ctime, mode) as
 * the last import saw it, and the content digest it had then, so that a
 * re-import reads only files whose stat data changed. A cache: losing it
 * costs time only, and a damaged one is never trusted (check value).
 * Format: docs/format.md#files-cache. Internal to libmlfs.
 */
#ifndef MLFS_FILECACHE_H
#define MLFS_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

#define FILECACHE_MAGIC "MLFSFCAC"
#define FILECACHE_VERSION 1
#define FILECACHE_HDR 34          /* bytes before the identity */
#define FILECACHE_ENT 62          /* bytes of an entry before its path */
#define FILECACHE_PATH_MAX 4095   /* longest relative path recorded */
#define FILECACHE_FILE_MAX (1ull << 32) /* larger files are ignored */
/* Racy-timestamp margin: an entry is trusted only when its mtime and
 * ctime are this much older than the start of the import that wrote it
 * (docs/design.md#the-files-cache). */
#define FILECACHE_RACY_NS 3000000000ll

/* Owned by one importing thread. */
struct filecache;

/*
 * Set up the cache of source @src (resolved with realpath) imported into
 * @ns/@name of the store at @store_dir with key @key (borrowed, outlives
 * the cache). When @load, the cache written by an earlier import is read
 * (a missing, unreadable, damaged or foreign one is treated as empty).
 * @now_ns is the time the import starts (CLOCK_REALTIME), recorded as the
 * new cache's time. Returns 0, -ENOMEM, -ENAMETOOLONG, or -errno from
 * realpath.
 */
MLFS_MUST_CHECK int filecache_open(const char *store_dir,
				   const struct mlfs_hash_key *key,
				   const char *ns, const char *name,
				   const char *src, bool load, int64_t now_ns,
				   struct filecache **out);

/* Whether the old cache was read and sound (for tests and messages). */
bool filecache_loaded(const struct filecache *fc);

/*
 * Look up @rel (the path below the source, "" for a single-file source)
 * with @st as lstat/fstat gives it now. True, with *digest, when the old
 * cache has @rel with the same device, inode, size, mtime, ctime and mode
 * (a regular file) and its times are older than that cache's time by
 * FILECACHE_RACY_NS; false otherwise.
 */
bool filecache_lookup(struct filecache *fc, const char *rel,
		      const struct stat *st, struct mlfs_id *digest);

/* Record @rel, its stat data @st and @digest in the new cache.
 * Returns 0, -ENAMETOOLONG (@rel not recorded: the import goes on),
 * -ENOMEM. */
MLFS_MUST_CHECK int filecache_add(struct filecache *fc, const char *rel,
				  const struct stat *st,
				  const struct mlfs_id *digest);

/* Write the new cache in place of the old (temporary file, rename; no
 * fsync: a torn file fails its check value and is ignored). Call only
 * after the commit that stores every recorded content. Accepts NULL.
 * Returns 0 or -errno. */
int filecache_save(struct filecache *fc);

/* Accepts NULL. */
void filecache_free(struct filecache *fc);

/*
 * Parse a cache file body (everything before its check value, which the
 * caller has verified) and index its entries into @fc, replacing the old
 * cache: the header must have the magic, version 1, a zero reserved
 * field and @fc's identity; every entry must lie inside @len with a path
 * of at most FILECACHE_PATH_MAX bytes, and the count must match. Takes
 * @p (malloc'd) on success and on failure. Pure apart from @fc: fuzzed
 * by tests/fuzz/fuzz_filecache.c.
 * Returns 0, -EBADMSG, -ENOMEM (then the old cache is empty).
 */
MLFS_MUST_CHECK int filecache_parse(struct filecache *fc, uint8_t *p,
				    size_t len);

#endif
