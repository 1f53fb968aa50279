/*
 * fsck.h - check the database against the packs. Without read_data: every
 * chunk of every content is indexed and its pack holds an entry header
 * that matches. With read_data: every chunk decompresses and hashes to
 * its id, and every file's digest matches its bytes.
 */
#ifndef MLFS_FSCK_H
#define MLFS_FSCK_H

#include <stdbool.h>
#include <stdint.h>

#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_fsck_problem {
	const char *repo;    /* "ns/name", or NULL for store-level problems */
	const char *commit;  /* hex id, or NULL */
	const char *path;    /* file path in the version, or NULL */
	const char *what;    /* what is wrong, incl. chunk and pack */
};

struct mlfs_fsck_stats {
	uint64_t repos, commits, trees, contents, chunks, chunks_read;
	uint64_t problems;
	/* Not damage: pack files no version references (interrupted or
	 * running imports), which 'mlfs gc' reclaims. */
	uint64_t unreferenced_packs, unreferenced_bytes;
};

/* Runs the check; calls @report per problem. Returns 0 when the check ran
 * (problems are counted in @st), or -errno when it could not run. */
MLFS_MUST_CHECK int mlfs_fsck(struct mlfs_store *s, bool read_data,
			      void (*report)(void *ctx,
					     const struct mlfs_fsck_problem *p),
			      void *ctx, struct mlfs_fsck_stats *st);

#endif
