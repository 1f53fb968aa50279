/*
 * ingest.h - the pipeline shared by `mlfs import` and `mlfs snapshot`:
 * files become chunks, contents and trees (cut and hashed on the calling
 * thread, new chunks compressed and appended to packs by a worker pool),
 * then one transaction makes them a commit. Rows wait in memory until
 * that transaction, which commits only after the packs are fsync'd, so a
 * crash at any point leaves at worst unreferenced pack bytes
 * (docs/design.md#the-ingest-object).
 */
#ifndef MLFS_INGEST_H
#define MLFS_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/import.h"
#include "mlfs/lineage.h"
#include "mlfs/tree.h"
#include "mlfs/util.h"

struct mlfs_store;
struct mlfs_kv_list;

/* One writer of new chunks, contents and trees into a store. Used by one
 * thread at a time (the one that called begin, or one it hands it to). */
struct mlfs_ingest;

struct mlfs_ingest_opts {
	int threads;  /* compression workers; 0 = number of online CPUs */
	/* Called from the ingesting thread now and then; may be NULL. */
	void (*progress)(void *ctx, const struct mlfs_import_progress *p);
	void *ctx;
};

/*
 * Take the store's writer lock shared (as imports do: gc waits, other
 * imports and snapshots go on), start the worker pool and a pack writer.
 * @o may be NULL (defaults). *out is freed with mlfs_ingest_end(), which
 * must be called once when this returns 0.
 * Returns 0, -EROFS (read-only store), -ENOMEM, -errno (lock, threads).
 */
MLFS_MUST_CHECK int mlfs_ingest_begin(struct mlfs_store *s,
				      const struct mlfs_ingest_opts *o,
				      struct mlfs_ingest **out);

/* Totals for the progress callback (from a first scan of the source):
 * optional, they only fill bytes_total and files_total. */
void mlfs_ingest_set_totals(struct mlfs_ingest *in, uint64_t bytes,
			    uint64_t files);

/*
 * Chunk, hash and dedup the open regular file @fd (borrowed) as it is
 * now, the whole file from offset 0: data is read with pread, holes are
 * found with SEEK_DATA/SEEK_HOLE and the file position is put back as it
 * was, so the caller keeps its own use of @fd (not concurrently with this
 * call). @path only names the file in error details. Gives the content
 * digest (the id a tree entry holds) and the size read; the contents row
 * is buffered for the next commit or flush. The dedup lookups share one
 * read transaction of the store's SQLite connection, held for the call:
 * other threads using the same store object wait until it returns.
 * Returns 0, -EIO and others from read (mlfs_error_detail() names @path),
 * -ENOMEM, -ENOSPC (packs). After an error the ingest can only be ended.
 */
MLFS_MUST_CHECK int mlfs_ingest_file(struct mlfs_ingest *in, int fd,
				     const char *path, struct mlfs_id *digest,
				     uint64_t *size);

/*
 * For the files cache of an import (docs/design.md#the-files-cache),
 * which names contents without reading the files: whether the store
 * holds content @digest of @size bytes (its contents row present, sound
 * by its check value, of that size), or tree @id (its row present and
 * hashing to @id), as a read of the file would find them. In the
 * caller's read snapshot, if any. Return 1 (held), 0 (not, or damaged:
 * read the files instead), -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_ingest_has_content(struct mlfs_ingest *in,
					    const struct mlfs_id *digest,
					    uint64_t size);
MLFS_MUST_CHECK int mlfs_ingest_has_tree(struct mlfs_ingest *in,
					 const struct mlfs_id *id);

/* Count a file of @size bytes that the files cache let the import keep
 * without reading it (in files and files_cached). */
void mlfs_ingest_count_cached(struct mlfs_ingest *in, uint64_t size);

/*
 * Encode @n entries (sorted by name bytewise, names unique) as a tree,
 * buffer its row and give its id. Entries may name contents and trees
 * that are already in the store (an unchanged file or subtree of the
 * head commit) without adding them again: nothing needs doing for those,
 * and this function does not check that they exist.
 * Returns 0, -EINVAL (unsorted, duplicate or bad name), -ENOMEM.
 */
MLFS_MUST_CHECK int mlfs_ingest_tree(struct mlfs_ingest *in,
				     const struct mlfs_entry *e, size_t n,
				     struct mlfs_id *id);

struct mlfs_commit_req {
	const char *ns, *name;
	const char *branch;       /* NULL = the repository's default branch */
	/* NULL = none. -EEXIST when the tag exists (checked in the
	 * transaction; the caller may check earlier to fail fast). */
	const char *tag;
	const char *message;      /* required */
	const char *author;       /* NULL = $USER, else the uid's name */
	/* The op of the audit record of the branch's move ("import",
	 * "snapshot"; required); a tag set gets its own "tag-create". */
	const char *audit_op;
	struct mlfs_id tree;      /* the root tree (buffered or stored) */
	/* Metadata of the new version (mlfs/vmeta.h), NULL = none: its rows
	 * are written in the commit's transaction, so a version never
	 * exists without them. They add no audit record of their own (the
	 * commit's record stands for the version as made). Each pair is
	 * checked before anything is written (-EINVAL). Borrowed. */
	const struct mlfs_kv_list *meta;
	bool create_repo;         /* create ns/name when missing */
	/* When true, the branch head must be *expect (with expect NULL: the
	 * branch must not exist) inside the transaction, else -ESTALE with
	 * mlfs_error_detail() naming both, and nothing is committed. */
	bool check_parent;
	const struct mlfs_id *expect;
	/* Called inside the transaction after every row is inserted and the
	 * commit id is known, just before COMMIT; a negative return rolls
	 * everything back and is returned. May be NULL. */
	int (*before_commit)(void *ctx, const struct mlfs_id *commit);
	void *ctx;
	/* The versions the commit was made from (lineage.h), written in
	 * its transaction; entries naming the same commit are merged. Each
	 * must name a commit of the store, else -ENOENT naming it. */
	const struct mlfs_input *inputs;
	size_t ninputs;
};

struct mlfs_commit_result {
	struct mlfs_id commit;
	bool created_repo;
	bool has_parent;
	struct mlfs_id parent;
};

/*
 * The barrier and the commit: wait for the workers, fsync the packs, then
 * one transaction inserts the buffered chunk, content and tree rows,
 * creates the repository if asked, adds the commit (its parent is the
 * branch head read in the transaction; a new branch starts from the
 * default branch's head; an unborn repository's first commit has none),
 * moves the branch, sets the tag and appends the audit records. @res may be
 * NULL. On success the buffered rows are in the store and the ingest may
 * go on (more files, another commit). A refused commit (-ESTALE, -EEXIST,
 * -ENOENT, a before_commit error) commits nothing and keeps the rows
 * buffered, so the caller may retry with another request.
 * Returns 0; -EINVAL (bad name, no message, no audit_op, a bad metadata
 * pair: mlfs_error_detail() says which); -ENOENT (no
 * repository and !create_repo); -EEXIST (tag); -ESTALE (check_parent);
 * -ENOSPC; -EBUSY (database locked too long); -EIO; before_commit's
 * error; -errno from the workers or the pack sync.
 */
MLFS_MUST_CHECK int mlfs_ingest_commit(struct mlfs_ingest *in,
				       const struct mlfs_commit_req *req,
				       struct mlfs_commit_result *res);

/* The barrier, then the buffered rows in a transaction of their own, with
 * no commit: the contents and trees are stored, and their packs kept (gc
 * removes only packs that no committed row records), though no version
 * references them yet. The ingest may go on.
 * Returns 0 or -errno as mlfs_ingest_commit. */
MLFS_MUST_CHECK int mlfs_ingest_flush(struct mlfs_ingest *in);

/* Counts so far into @st: files, bytes, chunks, new_chunks, new_raw_bytes,
 * new_stored_bytes, seconds (since begin); the walk's fields (dirs,
 * symlinks, skipped) and commit are zero, created_repo false. */
void mlfs_ingest_stats(const struct mlfs_ingest *in,
		       struct mlfs_import_stats *st);

/* Stop the workers, unlink the packs written since the last successful
 * commit or flush (nothing references them), free the rows and release
 * the lock. Accepts NULL. */
void mlfs_ingest_end(struct mlfs_ingest *in);

#endif
