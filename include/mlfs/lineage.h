/*
 * lineage.h - the versions a commit was made from (its inputs) and the
 * graph they form: upstream (what a model was trained on, and what that
 * was derived from) and downstream (everything made from a dataset).
 * Inputs are written with their commit, in its transaction
 * (mlfs_commit_req.inputs, ingest.h); each row carries a keyed check
 * value (docs/format.md#check-values). How the mount records them:
 * docs/lineage.md.
 */
#ifndef MLFS_LINEAGE_H
#define MLFS_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/names.h"
#include "mlfs/util.h"

struct mlfs_store;

/* How an input was learnt: the mount saw the job read it, or the user
 * named it (--input). Stored as 'mount' / 'manual'. */
enum mlfs_input_how {
	MLFS_INPUT_MOUNT = 1,
	MLFS_INPUT_MANUAL,
};

/* One input of a commit. */
struct mlfs_input {
	struct mlfs_id commit; /* the other end: the input read, or (in a
				* downstream list) the commit made from it */
	uint64_t files;        /* distinct files of the input opened */
	uint64_t bytes;        /* bytes of it the mount served */
	int how;               /* enum mlfs_input_how */
};

/* "mount" or "manual" ("?" for anything else). */
const char *mlfs_input_how_name(int how);

/*
 * The inputs of @commit (sorted by input id), each row verified against
 * its check value: *out malloc'd (free()), NULL with *n 0 when none.
 * Returns 0, -EIO (a damaged row: the detail names the commit and the
 * input), -EBADMSG (a field out of range), -ENOMEM, -errno.
 */
MLFS_MUST_CHECK int mlfs_inputs_get(struct mlfs_store *s,
				    const struct mlfs_id *commit,
				    struct mlfs_input **out, size_t *n);
/* The commits that have @input as an input (in each element, .commit is
 * that commit; files, bytes, how are its row's). Verified as above. */
MLFS_MUST_CHECK int mlfs_inputs_users(struct mlfs_store *s,
				      const struct mlfs_id *input,
				      struct mlfs_input **out, size_t *n);

/* Merge @v (@n entries) in place into one entry per commit, sorted by
 * commit id: counts of the same commit add up, and a commit seen by the
 * mount stays 'mount'. Returns the new count. */
size_t mlfs_inputs_merge(struct mlfs_input *v, size_t n);

/* One version in a lineage tree. */
struct mlfs_lineage_node {
	struct mlfs_id commit;
	char ns[MLFS_NAME_MAX + 1];
	char name[MLFS_NAME_MAX + 1];
	/* Branches, tags and aliases that point at the commit now: "main",
	 * "v1", "prod" (malloc'd strings). */
	char **branches, **tags, **aliases;
	size_t nbranches, ntags, naliases;
	/* The edge from the parent node (zero/unset at the root). */
	struct mlfs_input edge;
	/* Already shown higher up this path (a cycle: impossible by
	 * construction, guarded anyway) or cut by the depth limit with
	 * more below: no children then. */
	bool cycle, truncated;
	struct mlfs_lineage_node *kids;
	size_t nkids;
};

/*
 * The lineage of @commit: its inputs, their inputs, ... (@downstream:
 * the commits made from it, and from those, ...), at most @depth levels
 * below the root (0: no limit). Every commit on the way is loaded and
 * verified, every inputs row checked. *out is freed with
 * mlfs_lineage_free(). Returns 0, -EIO (damage: the detail names it),
 * -ENOENT (an input names a commit the store lacks), -ENOMEM, -errno.
 */
MLFS_MUST_CHECK int mlfs_lineage_walk(struct mlfs_store *s,
				      const struct mlfs_id *commit,
				      bool downstream, unsigned depth,
				      struct mlfs_lineage_node **out);
/* Free a tree from mlfs_lineage_walk(); accepts NULL. */
void mlfs_lineage_free(struct mlfs_lineage_node *n);

/* For fsck: every inputs row, with .commit the row's commit and @inputs
 * (parallel, same length) its input; rows that fail their check value
 * have @damaged set (parallel bool array). All malloc'd. */
MLFS_MUST_CHECK int mlfs_inputs_all(struct mlfs_store *s,
				    struct mlfs_input **rows,
				    struct mlfs_id **inputs, bool **damaged,
				    size_t *n);

#endif
