/*
 * objid.h - how the ids and check values of metadata rows are derived
 * from their fields and the store key (docs/format.md#ids). The writers
 * (import, refs) and the readers that verify rows (meta*.c) share these,
 * so a row is checked with exactly the bytes it was written with.
 * Internal to libmlfs.
 */
#ifndef MLFS_OBJID_H
#define MLFS_OBJID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/hash.h"
#include "mlfs/repo.h"

/* Id of commit @c of repository @ns/@name: the keyed hash of the commit
 * record (docs/format.md#commits). Reads @c's parent, tree, time, author
 * and message; ignores @c->id and @c->repo_id. */
void mlfs_objid_commit(const struct mlfs_hash_key *k, const char *ns,
		       const char *name, const struct mlfs_commit *c,
		       struct mlfs_id *out);

/* Check value of a contents row: covers the digest, the size and every
 * byte of the chunk list, so any changed, reordered, added or dropped
 * chunk entry changes it. */
void mlfs_objid_content_mac(const struct mlfs_hash_key *k,
			    const struct mlfs_id *digest, uint64_t size,
			    const void *chunks, size_t len,
			    struct mlfs_id *out);

/* Check value of a refs row: repository, kind ('b'/'t'), name, commit. */
void mlfs_objid_ref_mac(const struct mlfs_hash_key *k, const char *ns,
			const char *name, int kind, const char *ref,
			const struct mlfs_id *commit, struct mlfs_id *out);

/* Check value of an aliases row: repository, alias name, commit. */
void mlfs_objid_alias_mac(const struct mlfs_hash_key *k, const char *ns,
			  const char *name, const char *alias,
			  const struct mlfs_id *commit, struct mlfs_id *out);

/* Check value of a remote-tracking row (schema 6): the remote, the
 * repository, the remote's branch and the commit it was seen at. */
void mlfs_objid_track_mac(const struct mlfs_hash_key *k, const char *remote,
			  const char *ns, const char *name,
			  const char *branch, const struct mlfs_id *commit,
			  struct mlfs_id *out);

/* Check value of a vmeta sync row (schema 7): the remote, the commit,
 * the digest of its metadata and the ETag last seen. */
void mlfs_objid_vsync_mac(const struct mlfs_hash_key *k, const char *remote,
			  const struct mlfs_id *commit,
			  const struct mlfs_id *digest, const char *etag,
			  struct mlfs_id *out);

/* Check value of a reflog row: its row id, repository, branch, commit
 * (NULL for a deletion) and time. */
void mlfs_objid_reflog_mac(const struct mlfs_hash_key *k, int64_t row,
			   const char *ns, const char *name,
			   const char *branch, const struct mlfs_id *commit,
			   int64_t time, struct mlfs_id *out);

/* Check value of a version metadata row: commit, key and value. */
void mlfs_objid_meta_mac(const struct mlfs_hash_key *k,
			 const struct mlfs_id *commit, const char *key,
			 const char *value, struct mlfs_id *out);
/* Check value of an inputs row: the commit, its input, the counts and
 * how it was learnt ("mount" / "manual"). */
void mlfs_objid_input_mac(const struct mlfs_hash_key *k,
			  const struct mlfs_id *commit,
			  const struct mlfs_id *input, uint64_t files,
			  uint64_t bytes, const char *how,
			  struct mlfs_id *out);

/* The fields of one audit record as the database holds them: a NULL
 * string or id is a NULL column (absent), which hashes unlike "". */
struct mlfs_objid_audit {
	int64_t id, time;
	bool has_uid;
	int64_t uid;
	const char *user, *host, *command, *op, *repo, *ref;
	const struct mlfs_id *old_commit, *new_commit;
	const char *message, *detail;
};

/* Check value of audit record @a chained to @prev, the check value of
 * the record before it (NULL for the first record: sixteen zero bytes).
 * Every field is length-prefixed (docs/format.md#audit-log). */
void mlfs_objid_audit_mac(const struct mlfs_hash_key *k,
			  const struct mlfs_objid_audit *a,
			  const struct mlfs_id *prev, struct mlfs_id *out);

#endif
