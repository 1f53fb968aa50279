/*
 * audit.h - the store's audit log: one record for every change of a ref
 * or of version metadata (import, snapshot, tag, branch, alias,
 * rollback, meta, deletions). Records are chained: each carries a keyed
 * hash over its fields and the hash of the record before it, so an edit,
 * insertion or removal of a row is found by mlfs_audit_verify (and by
 * fsck). docs/format.md#audit-log says what is hashed.
 */
#ifndef MLFS_AUDIT_H
#define MLFS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/util.h"

struct mlfs_store;

/* What a caller says about one change; time, uid, user name, host and
 * the command line are filled in by mlfs_audit_append. */
struct mlfs_audit_event {
	const char *op;      /* "import", "snapshot", "tag-create", ... */
	const char *ns;      /* the repository, or NULL for the store */
	const char *name;
	/* The name that changed, as "<kind>:<name>": "branch:main",
	 * "tag:v1", "alias:production", "meta:<key>", or NULL. */
	const char *ref;
	const struct mlfs_id *old_commit; /* NULL = none (created) */
	const struct mlfs_id *new_commit; /* NULL = none (deleted) */
	const char *message; /* the reason or commit message, or NULL */
};

/* The command line recorded in every record this process appends (the
 * CLI sets it once from argv; the mount daemon sets its own). Copied. */
void mlfs_audit_set_command(int argc, char *const argv[]);

/*
 * Append one record. Inside a transaction the caller holds on the
 * store's database (mlfs_ingest_commit's before_commit, or any writing
 * function of the library) the record commits or rolls back with it;
 * otherwise it is its own transaction.
 * Returns 0, -EROFS (read-only store), -EBUSY, -ENOSPC, -EIO.
 */
MLFS_MUST_CHECK int mlfs_audit_append(struct mlfs_store *s,
				      const struct mlfs_audit_event *ev);

#endif
