/*
 * du.h - what versions cost: logical bytes, stored (compressed, deduped)
 * bytes, and bytes unique to a version (referenced by no other commit in
 * the store: what deleting it would free).
 */
#ifndef MLFS_DU_H
#define MLFS_DU_H

#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_du_row {
	struct mlfs_id commit;
	int64_t repo_id;
	int64_t time;      /* commit time */
	uint64_t files;
	uint64_t logical;  /* sum of file sizes */
	uint64_t stored;   /* pack bytes of the distinct chunks it uses */
	uint64_t unique;   /* pack bytes of chunks no other commit uses */
};

/* One row per commit of @repo_id (0 = every repository), oldest first,
 * or only for @only when non-NULL. *rows malloc'd. Also returns totals:
 * logical bytes of all listed commits and stored bytes of all chunks they
 * reference (each counted once). */
MLFS_MUST_CHECK int mlfs_du(struct mlfs_store *s, int64_t repo_id,
			    const struct mlfs_id *only,
			    struct mlfs_du_row **rows, size_t *n,
			    uint64_t *total_logical, uint64_t *total_stored);

#endif
