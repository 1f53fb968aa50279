/*
 * import.h - turn a file or directory tree into a new commit. Reading
 * and chunking run on the calling thread; new chunks are compressed and
 * appended to packs by a worker pool. Pack data is fsync'd before the
 * SQLite transaction that references it commits, so a crash leaves at
 * worst unreferenced pack bytes.
 */
#ifndef MLFS_IMPORT_H
#define MLFS_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_input;

struct mlfs_store;
struct mlfs_kv_list;

struct mlfs_import_progress {
	uint64_t bytes_done;
	uint64_t bytes_total;  /* from a first scan of the source */
	uint64_t files_done;
	uint64_t files_total;
	double seconds;
};

struct mlfs_import_opts {
	const char *branch;   /* NULL = the repository's default branch */
	const char *tag;      /* NULL = no tag */
	const char *message;  /* NULL = "import <src>" */
	const char *author;   /* NULL = $USER or uid */
	/* Metadata of the new version (mlfs/vmeta.h), written with the
	 * commit; NULL = none. Borrowed. */
	const struct mlfs_kv_list *meta;
	int threads;          /* 0 = number of online CPUs */
	/* Called from the importing thread now and then; may be NULL. */
	void (*progress)(void *ctx, const struct mlfs_import_progress *p);
	/* Called for each source entry that is not kept (special files,
	 * unreadable entries are errors, not warnings); may be NULL. */
	void (*warn)(void *ctx, const char *path, const char *what);
	void *ctx;
	/* Versions the import was made from (lineage.h), recorded with
	 * the commit; NULL: none. */
	const struct mlfs_input *inputs;
	size_t ninputs;
	/* Read every file, trusting no files cache entry (the cache is
	 * still written for the next import). */
	bool no_files_cache;
};

struct mlfs_import_stats {
	struct mlfs_id commit;
	bool created_repo;
	uint64_t files, dirs, symlinks, skipped;
	uint64_t changed;          /* of files: changed while they were read
				      (stored as read, with a warning) */
	uint64_t files_cached;     /* of files: not read, from the files
				      cache (docs/design.md#the-files-cache) */
	uint64_t bytes;            /* logical bytes read */
	uint64_t chunks;           /* chunks cut */
	uint64_t new_chunks;       /* chunks not already in the store */
	uint64_t new_raw_bytes;
	uint64_t new_stored_bytes; /* pack bytes written */
	double seconds;
};

/*
 * Import @src as a new commit of "<ns>/<name>" on the branch (created if
 * missing, from nothing if the repository is new). Returns 0; -EINVAL (bad
 * name); -ENOENT (src missing); -EEXIST (tag exists); -ENOSPC; -EROFS;
 * -errno. mlfs_error_detail() names the path for I/O errors.
 */
MLFS_MUST_CHECK int mlfs_import(struct mlfs_store *s, const char *src,
				const char *ns, const char *name,
				const struct mlfs_import_opts *o,
				struct mlfs_import_stats *st);

#endif
