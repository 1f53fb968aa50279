/*
 * alias.h - aliases: names that a team moves between the versions of one
 * repository ("production", "staging"), as MLflow's model aliases. An
 * alias resolves wherever a ref does (NS/NAME@ALIAS); it never shares a
 * name with a tag or branch of its repository. Every change is an audit
 * record (mlfs/audit.h) written in the change's own transaction; the
 * history and rollback are read back from those records.
 */
#ifndef MLFS_ALIAS_H
#define MLFS_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/audit.h"
#include "mlfs/hash.h"
#include "mlfs/repo.h"
#include "mlfs/util.h"

struct mlfs_store;

struct mlfs_alias {
	char name[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
	/* The row fails its check value: @commit must not be used
	 * (resolving the alias fails with -EIO). */
	bool damaged;
};

/* What a change did. */
struct mlfs_alias_change {
	bool had_old;          /* the alias existed before */
	struct mlfs_id old;    /* its target then (when had_old) */
	struct mlfs_id now;    /* its target now (zero after a delete) */
	/* False when the alias already named that commit: nothing was
	 * written, no audit record either. */
	bool changed;
};

/* The commit alias @name of @repo_id names. Returns 0, -ENOENT, -EIO
 * (the row fails its check value: the error detail names the alias),
 * -EBADMSG (a malformed column). */
MLFS_MUST_CHECK int mlfs_alias_get(struct mlfs_store *s, int64_t repo_id,
				   const char *name, struct mlfs_id *commit);

/* Every alias of @repo_id, sorted by name; damaged rows are listed with
 * ->damaged set. *out malloc'd (caller frees). Returns 0, -ENOMEM,
 * -EBADMSG, -EIO. */
MLFS_MUST_CHECK int mlfs_alias_list(struct mlfs_store *s, int64_t repo_id,
				    struct mlfs_alias **out, size_t *n);

/*
 * Create alias @name of @repo at @commit (a commit of @repo), or move it
 * there. Moving needs a @reason (NULL or "" is -EINVAL); creating takes
 * one too when given. Writes the row and the audit record
 * "alias-create"/"alias-move" (ref "alias:NAME") in one transaction.
 * Fills @out (may be NULL).
 * Returns 0; -EINVAL (bad name, or a move without reason: the error
 * detail says which); -EEXIST (a tag or branch of @repo has that name);
 * -ENOENT (@commit is not a commit of @repo); -EIO (a damaged row on the
 * way); -EROFS, -EBUSY, -ENOSPC.
 */
MLFS_MUST_CHECK int mlfs_alias_set(struct mlfs_store *s,
				   const struct mlfs_repo *repo,
				   const char *name,
				   const struct mlfs_id *commit,
				   const char *reason,
				   struct mlfs_alias_change *out);

/* Delete alias @name of @repo with audit record "alias-delete"; its
 * history stays in the audit log. @reason is required (-EINVAL).
 * Returns 0, -EINVAL, -ENOENT (no such alias), -EIO, -EROFS, -EBUSY,
 * -ENOSPC. Fills @out (may be NULL). */
MLFS_MUST_CHECK int mlfs_alias_delete(struct mlfs_store *s,
				      const struct mlfs_repo *repo,
				      const char *name, const char *reason,
				      struct mlfs_alias_change *out);

/*
 * Move alias @name of @repo back to the target it had before the
 * current one. The history is a stack of targets: creating starts it,
 * moving pushes, rollback pops (so rollbacks in a row walk further
 * back), deleting empties it. Audit record "rollback". @reason is
 * required (-EINVAL).
 * Returns 0; -ENOENT (no such alias); -ENODATA (nothing before the
 * current target); -EIO (the row, a record of the history or the target
 * is damaged, or the history does not lead to the row: the error detail
 * says which); -EINVAL, -EROFS, -EBUSY, -ENOSPC.
 */
MLFS_MUST_CHECK int mlfs_alias_rollback(struct mlfs_store *s,
					const struct mlfs_repo *repo,
					const char *name, const char *reason,
					struct mlfs_alias_change *out);

/* Every change of alias @name of @repo, oldest first: the audit records
 * of @repo with ref "alias:NAME", each verified, and together checked to
 * lead to the alias's row (or to no alias after a delete). *out
 * malloc'd; free with mlfs_audit_records_free. Returns 0 (also with
 * *n == 0: no such alias, ever), -ENOMEM, -EIO (a damaged record, or
 * records that do not lead to the row; the error detail says which). */
MLFS_MUST_CHECK int mlfs_alias_history(struct mlfs_store *s,
				       const struct mlfs_repo *repo,
				       const char *name,
				       struct mlfs_audit_record **out,
				       size_t *n);

#endif
