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

/* The command line set above ("" before), for a client to send to the
 * daemon that acts for it. */
const char *mlfs_audit_command(void);

/* For a daemon acting on a client's request: records this thread
 * appends until the next call name @command (the client's command line,
 * borrowed until then; at most 4096 bytes are kept) and @uid (the
 * client's, as the kernel reports it) instead of the process's own.
 * NULL returns to the process's. */
void mlfs_audit_set_client(const char *command, int64_t uid);

/*
 * Append one record. Inside a transaction the caller holds on the
 * store's database (mlfs_ingest_commit's before_commit, or any writing
 * function of the library) the record commits or rolls back with it;
 * otherwise it is its own transaction. @ev->op is required; @ev->ns and
 * @ev->name go together. The user is the real uid's account name.
 * Returns 0, -EINVAL (no op; ns without name), -EROFS (read-only store),
 * -EBUSY, -ENOSPC, -EIO.
 */
MLFS_MUST_CHECK int mlfs_audit_append(struct mlfs_store *s,
				      const struct mlfs_audit_event *ev);

/* One record as read back. */
struct mlfs_audit_record {
	int64_t id;              /* order of the records */
	int64_t time;            /* seconds since the epoch */
	int64_t uid;             /* -1 when not recorded (schema 1/2) */
	char *user, *host;       /* owned; never NULL ("" when unknown) */
	char *command;           /* the command line; never NULL */
	char *op;                /* never NULL */
	char *repo;              /* "ns/name", or NULL */
	char *ref;               /* or NULL */
	struct mlfs_id old_commit, new_commit;
	bool has_old, has_new;
	char *message;           /* or NULL */
	/* Records of schema 1/2 stores: their free-form line ("ns/name@main
	 * <commit> ..."), with op their command; NULL for newer records. */
	char *detail;
	/* The record's check value as stored (has_mac false when it is
	 * not a 16-byte value): the last one anchors the chain's head for
	 * whoever keeps it elsewhere. */
	struct mlfs_id mac;
	bool has_mac;
	/* The record's hash does not match its fields and the hash before
	 * it: no field but id may be trusted. */
	bool damaged;
};

/* Which records mlfs_audit_list returns; zeroed = all. */
struct mlfs_audit_filter {
	const char *ns, *name;   /* both or neither */
	const char *ref;         /* exact "<kind>:<name>", or NULL */
	int64_t since;           /* records at or after this time */
};

/* Records matching @f, oldest first, each checked against the record
 * before it (->damaged). *out malloc'd; free with
 * mlfs_audit_records_free. Returns 0, -ENOMEM, -EIO. */
MLFS_MUST_CHECK int mlfs_audit_list(struct mlfs_store *s,
				    const struct mlfs_audit_filter *f,
				    struct mlfs_audit_record **out, size_t *n);
void mlfs_audit_records_free(struct mlfs_audit_record *r, size_t n);

/* Check the whole chain. *count (if not NULL) gets the number of
 * records. Returns 0 when intact (*first_bad then 0); -EBADMSG when a
 * record is altered or one before it removed: *first_bad (if not NULL)
 * is the id of the first record that fails and mlfs_error_detail()
 * names it (id, time, op) and says what; -ENOMEM, -EIO. Dropping the
 * newest records is not found (docs/design.md#audit-log). */
MLFS_MUST_CHECK int mlfs_audit_verify(struct mlfs_store *s, uint64_t *count,
				      int64_t *first_bad);

#endif
