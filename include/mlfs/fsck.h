/*
 * fsck.h - check a store and name every damaged object. Without
 * read_data: every chunk index entry points at a matching entry header in
 * an existing pack; every ref, commit, tree and chunk list loads and
 * passes the library's verification (tree hash, commit id, contents and
 * ref check values); every chunk of every list is indexed with the
 * list's length; every audit record chains to the one before it. With
 * read_data also: every chunk decompresses and hashes
 * to its id, and every file's bytes hash to its digest.
 */
#ifndef MLFS_FSCK_H
#define MLFS_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/util.h"

struct mlfs_store;

/* One damaged object, named where it was first found. Strings are
 * borrowed for the duration of the report callback. */
struct mlfs_fsck_problem {
	/* "database" (SQLite could not read something), "pack", "chunk",
	 * "tag", "branch", "commit", "tree", "content" (a file's chunk
	 * list and the bytes it names), "worktree", "audit" (a record of
	 * the audit log, object "record N") or "input" (a row of a
	 * commit's inputs: object is that commit). */
	const char *kind;
	const char *object;  /* hex id, pack file or ref name, or NULL */
	const char *repo;    /* "ns/name", or NULL for store-wide objects */
	const char *version; /* how the first version using it is named:
			      * "v1", "main~2", or a commit id prefix */
	const char *commit;  /* that version's full commit id, or NULL */
	const char *path;    /* path in that version ("" the root), or NULL */
	const char *what;    /* what is wrong */
	/* How many more versions use the damaged object (each version is
	 * counted once, however many paths in it use the object). */
	uint64_t more_versions;
};

struct mlfs_fsck_stats {
	uint64_t repos, commits, trees, contents, chunks, chunks_read;
	uint64_t problems;
	/* Not damage: pack files no version references (interrupted or
	 * running imports), which 'mlfs gc' reclaims. */
	uint64_t unreferenced_packs, unreferenced_bytes;
	/* Working trees checked, and snapshots of them a killed process
	 * left to finish (not damage: the next edit of the store does). */
	uint64_t worktrees, worktree_nodes, pending_snapshots;
	/* Records of the audit log checked (each against the chain). */
	uint64_t audit_records;
};

/*
 * Check the store and call @report once per damaged object, in the order
 * they were found, after the whole check has run. A damaged object never
 * stops the check: what cannot be read is reported and the rest is still
 * checked. Each tree and content is verified once, however many versions
 * share it. Returns 0 when the check ran (problems are counted in @st),
 * or -ENOMEM (then nothing is reported).
 */
MLFS_MUST_CHECK int mlfs_fsck(struct mlfs_store *s, bool read_data,
			      void (*report)(void *ctx,
					     const struct mlfs_fsck_problem *p),
			      void *ctx, struct mlfs_fsck_stats *st);

/*
 * Why the store at @dir does not open, as far as the header of its
 * database file tells: for a store whose open failed as damaged. Writes
 * a sentence into @why ("mlfs.db is truncated: ..."). Returns 1 when the
 * header shows damage, 0 when it looks sound, -errno when mlfs.db cannot
 * be read (-ENOENT: there is none).
 */
MLFS_MUST_CHECK int mlfs_fsck_explain_db(const char *dir, char *why,
					 size_t size);

#endif
