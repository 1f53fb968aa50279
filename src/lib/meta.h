/*
 * meta.h - the SQLite layer of libmlfs (internal: only src/lib uses it,
 * only meta*.c runs SQL). One connection per store object; its calls are
 * serialised by a recursive lock, which a write transaction holds from
 * begin to commit so the importing thread's statements run in it.
 */
#ifndef MLFS_META_H
#define MLFS_META_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "mlfs/alias.h"
#include "mlfs/hash.h"
#include "mlfs/lineage.h"
#include "mlfs/pack.h"
#include "mlfs/repo.h"
#include "mlfs/util.h"
#include "objid.h"

struct mlfs_meta;

/* Latest schema version (PRAGMA user_version). */
#define MLFS_SCHEMA_VERSION 7

MLFS_MUST_CHECK int mlfs_meta_open(const char *path, bool rdonly,
				   bool create, struct mlfs_meta **out);
void mlfs_meta_close(struct mlfs_meta *m);
/* A 64 MiB page cache for this connection, for a writer about to look
 * up many rows in random key order (an import). Returns 0 or -errno. */
MLFS_MUST_CHECK int mlfs_meta_cache_for_bulk(struct mlfs_meta *m);
/* The key every row is verified with (borrowed: must outlive @m). Call
 * before any other function but open. */
void mlfs_meta_set_key(struct mlfs_meta *m, const struct mlfs_hash_key *k);
/* Apply pending migrations (meta_schema.c); needs the key (migration 2
 * computes check values). Returns 0, -EPROTONOSUPPORT (newer database),
 * -errno. *from gets the version found (may be NULL). */
MLFS_MUST_CHECK int mlfs_meta_migrate(struct mlfs_meta *m, int *from);
/* For read-only opens: 0 when the schema is current, -ESTALE when it is
 * older (a writing open or `mlfs upgrade` migrates it), -EPROTONOSUPPORT
 * when newer. *version gets the version found (may be NULL). */
MLFS_MUST_CHECK int mlfs_meta_check_version(struct mlfs_meta *m,
					    int *version);
/* Map an SQLite result code to -errno. */
int mlfs_meta_errno(int rc);
/* sqlite3_step, except that a read-only reader who meets the WAL index
 * half written (SQLITE_READONLY_RECOVERY, _CANTINIT: a writer was just
 * changing it; this reader may not repair it) tries again, as a lock is
 * waited for. Those come only from a statement's first step, which
 * takes the read snapshot, so no row is repeated. */
int mlfs_meta_step(sqlite3_stmt *st);

MLFS_MUST_CHECK int mlfs_meta_begin(struct mlfs_meta *m);
MLFS_MUST_CHECK int mlfs_meta_commit(struct mlfs_meta *m);
void mlfs_meta_rollback(struct mlfs_meta *m);
/* Is a transaction open on the connection (with the lock held: one this
 * thread began)? */
bool mlfs_meta_in_write(struct mlfs_meta *m);
void mlfs_meta_lock(struct mlfs_meta *m);
void mlfs_meta_unlock(struct mlfs_meta *m);
/* Run constant SQL (migrations, pragmas). */
MLFS_MUST_CHECK int mlfs_meta_exec(struct mlfs_meta *m, const char *sql);
sqlite3 *mlfs_meta_db(struct mlfs_meta *m);

/* True when opening the SQLite database @path could fault: SQLite maps
 * its -shm, which on a file system with blocks smaller than a page is
 * partly holes, and a store into a hole on a full disk is SIGBUS. Such a
 * disk counts as full (-ENOSPC) before anything is mapped. */
bool mlfs_meta_shm_may_fault(const char *path);
MLFS_MUST_CHECK int mlfs_meta_chunk_get(struct mlfs_meta *m,
					const struct mlfs_id *id,
					struct mlfs_chunk_loc *loc);
/* Run the calling thread's next queries in one read transaction (one
 * snapshot, no file locking per statement), holding the connection's
 * lock until mlfs_meta_read_end(). Inside a write transaction it joins
 * that one. Returns whether a transaction was begun, for _end. */
bool mlfs_meta_read_begin(struct mlfs_meta *m);
void mlfs_meta_read_end(struct mlfs_meta *m, bool began);
/* Look up @n chunks in one read transaction. On -ENOENT (or another
 * error) *bad is the index of the chunk that failed. */
MLFS_MUST_CHECK int mlfs_meta_chunk_get_many(struct mlfs_meta *m,
					     const struct mlfs_id *ids,
					     size_t n,
					     struct mlfs_chunk_loc *locs,
					     size_t *bad);
MLFS_MUST_CHECK int mlfs_meta_chunk_put(struct mlfs_meta *m,
					const struct mlfs_id *id,
					const struct mlfs_chunk_loc *loc);
MLFS_MUST_CHECK int mlfs_meta_pack_put(struct mlfs_meta *m, uint64_t pack_id);
/* Returns 1 when pack @pack_id has its row (a committed transaction
 * recorded it), 0 when it has none, or -errno. */
MLFS_MUST_CHECK int mlfs_meta_pack_exists(struct mlfs_meta *m,
					  uint64_t pack_id);
/* Returns 1 when an index entry or a content row's locations name pack
 * @pack_id, 0 when nothing does, or -errno. Scans both tables: for gc and
 * fsck, not for reads. */
MLFS_MUST_CHECK int mlfs_meta_pack_used(struct mlfs_meta *m,
					uint64_t pack_id);

/*
 * Every get below verifies the row before returning it: a tree blob
 * hashes to its id, a commit row recomputes its id (with its repository's
 * ns/name), a contents row and a ref or reflog row match their check
 * value (objid.h). Damage is -EIO with mlfs_error_detail() naming the
 * object; a field out of range is -EBADMSG.
 */
MLFS_MUST_CHECK int mlfs_meta_content_get(struct mlfs_meta *m,
					  const struct mlfs_id *digest,
					  uint64_t *size,
					  struct mlfs_buf *chunks);
MLFS_MUST_CHECK int mlfs_meta_content_put(struct mlfs_meta *m,
					  const struct mlfs_id *digest,
					  uint64_t size, const void *chunks,
					  size_t len);
/*
 * Chunk locations of a content row (docs/format.md#schema): a copy of
 * each chunk's index entry, in chunk-list order, so that opening a file
 * is one row read instead of one index lookup per chunk. They are a
 * cache: every chunk read is still verified against its id. _record
 * looks the chunks of @chunks (a packed chunk list) up in the index and
 * stores their locations (a chunk missing from the index leaves the row
 * without, and reads then use the index); _get fills @locs (n entries,
 * raw_len from @c's chunk list): 0, -ENOENT when the row has none,
 * -EIO when they are damaged (mlfs_error_detail() names the row);
 * _fill records them for every row that has none (schema migration 4).
 */
MLFS_MUST_CHECK int mlfs_meta_content_locs_record(struct mlfs_meta *m,
						  const struct mlfs_id *digest,
						  const void *chunks,
						  size_t len);
struct mlfs_content;
MLFS_MUST_CHECK int mlfs_meta_content_locs_get(struct mlfs_meta *m,
					       const struct mlfs_content *c,
					       struct mlfs_chunk_loc *locs);
MLFS_MUST_CHECK int mlfs_meta_content_locs_fill(struct mlfs_meta *m);
/* Decode a locs blob for @c into @locs (c->n entries): 0, -EBADMSG when
 * its length is not 21 bytes per chunk, -ERANGE when a field is out of
 * range. Untrusted input (tests/fuzz/fuzz_locs.c). */
MLFS_MUST_CHECK int mlfs_content_locs_decode(const void *blob, size_t len,
					     const struct mlfs_content *c,
					     struct mlfs_chunk_loc *locs);
MLFS_MUST_CHECK int mlfs_meta_tree_get(struct mlfs_meta *m,
				       const struct mlfs_id *id,
				       struct mlfs_buf *data);
MLFS_MUST_CHECK int mlfs_meta_tree_put(struct mlfs_meta *m,
				       const struct mlfs_id *id,
				       const void *data, size_t len);

MLFS_MUST_CHECK int mlfs_meta_repo_get(struct mlfs_meta *m, const char *ns,
				       const char *name,
				       struct mlfs_repo *out);
MLFS_MUST_CHECK int mlfs_meta_repo_get_id(struct mlfs_meta *m, int64_t id,
					  struct mlfs_repo *out);
MLFS_MUST_CHECK int mlfs_meta_repo_create(struct mlfs_meta *m,
					  const char *ns, const char *name,
					  struct mlfs_repo *out);
MLFS_MUST_CHECK int mlfs_meta_repo_list(struct mlfs_meta *m,
					struct mlfs_repo **out, size_t *n);

MLFS_MUST_CHECK int mlfs_meta_commit_get(struct mlfs_meta *m,
					 const struct mlfs_id *id,
					 struct mlfs_commit *out);
/* Free a commit's strings, or a list of commits (NULL accepted): what
 * the gets and lists allocate. mlfs_commit_release() is the public name. */
void mlfs_meta_commit_release(struct mlfs_commit *c);
void mlfs_meta_commit_list_free(struct mlfs_commit *v, size_t n);
MLFS_MUST_CHECK int mlfs_meta_commit_put(struct mlfs_meta *m,
					 const struct mlfs_commit *c);
/* Commits of @repo_id whose id lies in [lo, hi]; at most @max. */
MLFS_MUST_CHECK int mlfs_meta_commit_range(struct mlfs_meta *m,
					   int64_t repo_id,
					   const struct mlfs_id *lo,
					   const struct mlfs_id *hi,
					   size_t max, struct mlfs_id **out,
					   size_t *n);
/* Every commit of @repo_id (0: all). A row that fails verification is
 * returned with ->damaged set (its fields other than id are not to be
 * used) rather than failing the whole list, so fsck can name it. */
MLFS_MUST_CHECK int mlfs_meta_commit_all(struct mlfs_meta *m,
					 int64_t repo_id,
					 struct mlfs_commit **out, size_t *n);

MLFS_MUST_CHECK int mlfs_meta_ref_get(struct mlfs_meta *m, int64_t repo_id,
				      int kind, const char *name,
				      struct mlfs_id *commit);
/* Insert or replace; also appends the branch history for branches. */
MLFS_MUST_CHECK int mlfs_meta_ref_set(struct mlfs_meta *m, int64_t repo_id,
				      int kind, const char *name,
				      const struct mlfs_id *commit,
				      int64_t now);
MLFS_MUST_CHECK int mlfs_meta_ref_delete(struct mlfs_meta *m,
					 int64_t repo_id, int kind,
					 const char *name, int64_t now);
/* Refs whose row fails its check come back with ->damaged set. */
MLFS_MUST_CHECK int mlfs_meta_ref_list(struct mlfs_meta *m, int64_t repo_id,
				       int kind, struct mlfs_ref **out,
				       size_t *n);
/* The branch head as of @when from its history: -ENOENT when the branch
 * did not exist then. */
MLFS_MUST_CHECK int mlfs_meta_reflog_at(struct mlfs_meta *m,
					int64_t repo_id, const char *branch,
					int64_t when, struct mlfs_id *commit);

/* Every history entry of @repo_id's branches, oldest first; entries
 * that fail their check value come back with ->damaged set. */
MLFS_MUST_CHECK int mlfs_meta_reflog_list(struct mlfs_meta *m,
					  int64_t repo_id,
					  struct mlfs_reflog_entry **out,
					  size_t *n);

/* Aliases (meta_alias.c). Rows are checked like refs: a get of a row
 * that fails its check value is -EIO naming the alias; a list flags it
 * (->damaged). */
MLFS_MUST_CHECK int mlfs_meta_alias_get(struct mlfs_meta *m, int64_t repo_id,
					const char *name,
					struct mlfs_id *commit);
/* Insert or replace, with its check value. -EINVAL: no such repo. */
MLFS_MUST_CHECK int mlfs_meta_alias_set(struct mlfs_meta *m, int64_t repo_id,
					const char *name,
					const struct mlfs_id *commit);
/* -ENOENT when there is no such alias. */
MLFS_MUST_CHECK int mlfs_meta_alias_delete(struct mlfs_meta *m,
					   int64_t repo_id, const char *name);
MLFS_MUST_CHECK int mlfs_meta_alias_list(struct mlfs_meta *m,
					 int64_t repo_id,
					 struct mlfs_alias **out, size_t *n);

/*
 * The audit log (meta_audit.c; the chain itself is audit.c's). Inside
 * the caller's write transaction: the last record's id and check value
 * (-ENOENT when there is none; *mac is zero when the stored one is not
 * an id), then the insert of the next one with its check value.
 */
MLFS_MUST_CHECK int mlfs_meta_audit_last(struct mlfs_meta *m, int64_t *id,
					 struct mlfs_id *mac);
MLFS_MUST_CHECK int mlfs_meta_audit_add(struct mlfs_meta *m,
					const struct mlfs_objid_audit *a,
					const struct mlfs_id *mac);
/* One stored audit row: its fields as held (strings borrowed for the
 * call), its check value (NULL when the column is not a 16-byte blob)
 * and @malformed when a column has a type no writer gives it. */
typedef int (*mlfs_meta_audit_fn)(void *ctx,
				  const struct mlfs_objid_audit *a,
				  const struct mlfs_id *mac, bool malformed);
/* Every row in id order, in one read transaction, holding the lock:
 * @fn must not call meta. @fn returns < 0 to stop (returned). */
MLFS_MUST_CHECK int mlfs_meta_audit_each(struct mlfs_meta *m,
					 mlfs_meta_audit_fn fn, void *ctx);
/* Migration 3: chain every row, in id order, as it is (meta_schema.c;
 * inside the migration's transaction). */
MLFS_MUST_CHECK int mlfs_meta_audit_seal(struct mlfs_meta *m);

/* A version metadata row as read back (meta_vmeta.c). */
struct mlfs_meta_kv {
	struct mlfs_id commit;
	char *key, *value;     /* owned; "" when damaged beyond reading */
	bool damaged;          /* fails its check value: do not use */
};
void mlfs_meta_kv_free(struct mlfs_meta_kv *v, size_t n);
/* The rows of @commit (NULL: of every commit, by commit), by key;
 * damaged rows come back with ->damaged set. Returns 0, -ENOMEM, -EIO. */
MLFS_MUST_CHECK int mlfs_meta_vmeta_list(struct mlfs_meta *m,
					 const struct mlfs_id *commit,
					 struct mlfs_meta_kv **out,
					 size_t *n);
/* Insert or replace one row, sealed with its check value. */
MLFS_MUST_CHECK int mlfs_meta_vmeta_put(struct mlfs_meta *m,
					const struct mlfs_id *commit,
					const char *key, const char *value);
/* Remove one row (no error when absent). */
MLFS_MUST_CHECK int mlfs_meta_vmeta_delete(struct mlfs_meta *m,
					   const struct mlfs_id *commit,
					   const char *key);
/* Insert the inputs row (@commit, @in->commit) with its check value;
 * inside the commit's transaction. Returns 0, -EEXIST (the row is
 * there), -errno. (meta_inputs.c) */
MLFS_MUST_CHECK int mlfs_meta_input_put(struct mlfs_meta *m,
					const struct mlfs_id *commit,
					const struct mlfs_input *in);
/* The inputs of @id (@users: the commits that have @id as an input, in
 * .commit), each row verified: a damaged one is -EIO naming it. */
MLFS_MUST_CHECK int mlfs_meta_inputs_list(struct mlfs_meta *m,
					  const struct mlfs_id *id,
					  bool users,
					  struct mlfs_input **out, size_t *n);
/* Every inputs row, damaged ones flagged (mlfs_inputs_all). */
MLFS_MUST_CHECK int mlfs_meta_inputs_all(struct mlfs_meta *m,
					 struct mlfs_input **rows,
					 struct mlfs_id **inputs,
					 bool **damaged, size_t *n);

/* Remotes and the packs they hold (meta_remote.c, schema 5). _add:
 * -EEXIST when the name is taken; _get/_delete: -ENOENT; rpack_get:
 * -ENOENT when no remote holds the pack (*remote malloc'd); _put keeps
 * an existing row. */
struct mlfs_remote;
MLFS_MUST_CHECK int mlfs_meta_remote_add(struct mlfs_meta *m,
					 const struct mlfs_remote *r);
MLFS_MUST_CHECK int mlfs_meta_remote_get(struct mlfs_meta *m,
					 const char *name,
					 struct mlfs_remote *out);
MLFS_MUST_CHECK int mlfs_meta_remote_delete(struct mlfs_meta *m,
					    const char *name);
MLFS_MUST_CHECK int mlfs_meta_remote_list(struct mlfs_meta *m,
					  struct mlfs_remote **out,
					  size_t *n);
MLFS_MUST_CHECK int mlfs_meta_rpack_get(struct mlfs_meta *m,
					uint64_t pack_id, char **remote,
					uint64_t *size);
MLFS_MUST_CHECK int mlfs_meta_rpack_put(struct mlfs_meta *m,
					uint64_t pack_id, const char *remote,
					uint64_t size);
MLFS_MUST_CHECK int mlfs_meta_rpack_count(struct mlfs_meta *m,
					  const char *remote, uint64_t *n);

/*
 * Remote-tracking refs (meta_track.c, schema 6): (remote, repository,
 * branch) -> the commit a fetch or push last saw that branch at. Each
 * row carries a check value (mlfs-track-1) over all of it, compared on
 * every read: _get of a row that fails is -EIO naming it; _list flags
 * it (->damaged). _get: -ENOENT when there is no row. _set: insert or
 * replace (-EINVAL: no such repository). _clear: every row of @remote
 * (@repo_id 0) or of @remote and one repository. _list: @remote NULL
 * and @repo_id 0 for all rows; *out malloc'd.
 */
struct mlfs_track;
MLFS_MUST_CHECK int mlfs_meta_track_get(struct mlfs_meta *m,
					const char *remote, int64_t repo_id,
					const char *branch,
					struct mlfs_id *commit);
MLFS_MUST_CHECK int mlfs_meta_track_set(struct mlfs_meta *m,
					const char *remote, int64_t repo_id,
					const char *branch,
					const struct mlfs_id *commit);
MLFS_MUST_CHECK int mlfs_meta_track_clear(struct mlfs_meta *m,
					  const char *remote,
					  int64_t repo_id);
MLFS_MUST_CHECK int mlfs_meta_track_list(struct mlfs_meta *m,
					 const char *remote, int64_t repo_id,
					 struct mlfs_track **out, size_t *n);

/*
 * Version metadata synced with remotes (meta_vsync.c, schema 7): for
 * (remote, commit), the digest of the commit's pairs and inputs as this
 * store last pushed or fetched them (mlfs_remote_vmeta_digest) and the
 * ETag of the remote's vmeta/<commit> object then ("" when the remote
 * had none: the commit object's were the remote's). Each row carries a
 * check value (mlfs-vsync-1) over all of it: _get of a row that fails
 * is -EIO naming it; _list flags it (->damaged). _get: -ENOENT when
 * there is no row. _set: insert or replace. _clear: every row of
 * @remote. _list: @remote NULL for all; *out malloc'd (free()).
 */
struct mlfs_meta_vsync {
	char remote[65];         /* MLFS_REMOTE_NAME_MAX + 1 */
	struct mlfs_id commit, digest;
	char etag[80];           /* MLFS_S3_ETAG_MAX */
	bool damaged;
};
MLFS_MUST_CHECK int mlfs_meta_vsync_get(struct mlfs_meta *m,
					const char *remote,
					const struct mlfs_id *commit,
					struct mlfs_meta_vsync *out);
MLFS_MUST_CHECK int mlfs_meta_vsync_set(struct mlfs_meta *m,
					const char *remote,
					const struct mlfs_id *commit,
					const struct mlfs_id *digest,
					const char *etag);
MLFS_MUST_CHECK int mlfs_meta_vsync_clear(struct mlfs_meta *m,
					  const char *remote);
MLFS_MUST_CHECK int mlfs_meta_vsync_list(struct mlfs_meta *m,
					 const char *remote,
					 struct mlfs_meta_vsync **out,
					 size_t *n);

/* Iterate all contents / all chunks. @fn returns < 0 to stop. */
MLFS_MUST_CHECK int mlfs_meta_each_chunk(struct mlfs_meta *m,
	int (*fn)(void *ctx, const struct mlfs_id *id,
		  const struct mlfs_chunk_loc *loc),
	void *ctx);

#endif
