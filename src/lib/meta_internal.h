/*
 * meta_internal.h - what the SQL files of libmlfs (meta.c, meta_sql.c,
 * meta_objects.c, meta_refs.c, meta_audit.c, ...) share: the connection
 * object, the statement cache and row helpers.
 * Every helper is called with the connection's lock held.
 */
#ifndef MLFS_META_INTERNAL_H
#define MLFS_META_INTERNAL_H

#include <pthread.h>

#include "meta.h"

enum stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_BEGIN_READ,
	ST_CHUNK_GET, ST_CHUNK_PUT, ST_PACK_PUT, ST_PACK_EXISTS,
	ST_PACK_USED,
	ST_CONTENT_GET, ST_CONTENT_PUT, ST_CONTENT_LOCS_GET, ST_CONTENT_LOCS_SET,
	ST_CONTENT_NO_LOCS,
	ST_TREE_GET, ST_TREE_PUT,
	ST_REPO_GET, ST_REPO_GET_ID, ST_REPO_CREATE, ST_REPO_LIST,
	ST_COMMIT_GET, ST_COMMIT_PUT, ST_COMMIT_RANGE, ST_COMMIT_ALL,
	ST_COMMIT_ALL_REPOS,
	ST_REF_GET, ST_REF_SET, ST_REF_DELETE, ST_REF_LIST, ST_REF_LIST_KIND,
	ST_REFLOG_ADD, ST_REFLOG_SET_MAC, ST_REFLOG_AT, ST_REFLOG_LIST,
	ST_ALIAS_GET, ST_ALIAS_SET, ST_ALIAS_DELETE, ST_ALIAS_LIST,
	ST_AUDIT_ADD, ST_AUDIT_LAST, ST_AUDIT_ALL, ST_AUDIT_SET_MAC,
	ST_CHUNK_EACH,
	ST_VMETA_LIST, ST_VMETA_ALL, ST_VMETA_PUT, ST_VMETA_DELETE,
	ST_INPUT_PUT, ST_INPUT_OF, ST_INPUT_USERS, ST_INPUT_ALL,
	ST_REMOTE_GET, ST_REMOTE_ADD, ST_REMOTE_DELETE, ST_REMOTE_LIST,
	ST_RPACK_GET, ST_RPACK_PUT, ST_RPACK_COUNT,
	ST_TRACK_GET, ST_TRACK_SET, ST_TRACK_CLEAR, ST_TRACK_CLEAR_REPO,
	ST_TRACK_LIST,
	ST_VSYNC_GET, ST_VSYNC_SET, ST_VSYNC_CLEAR, ST_VSYNC_LIST,
	ST_MAX
};

/* The SQL text of each statement (meta_sql.c). */
extern const char *const meta_sql[ST_MAX];

/* The audit columns in the order meta_audit.c reads them. */
#define MLFS_META_AUDIT_COLS "id, time, uid, user, host, command, op, " \
	"repo, ref, old_commit, new_commit, message, detail, mac"

struct mlfs_meta {
	pthread_mutex_t lock; /* recursive; guards db and stmts */
	sqlite3 *db;
	sqlite3_stmt *stmts[ST_MAX];
	/* The store's key, borrowed (the store outlives its meta); every
	 * row is checked with it before use. Set once before any read. */
	const struct mlfs_hash_key *key;
};

/* Whether a chunk location's fields (from the index or a content row's
 * copy, both untrusted) are in range, before anything sizes a buffer by
 * them. */
bool meta_loc_in_range(int64_t off, int64_t stored, int64_t raw,
		       int64_t codec);

/* Report damage found in a row: sets the error detail to "<what> <id>:
 * <why> (damaged database)" and returns -EIO. */
int meta_damaged(const char *what, const struct mlfs_id *id,
		 const char *why);

/* The cached statement @id, prepared on first use; reset after use with
 * meta_done(). Returns 0 or -errno. */
int meta_stmt(struct mlfs_meta *m, enum stmt_id id, sqlite3_stmt **out);
void meta_done(sqlite3_stmt *st);
int meta_bind_id(sqlite3_stmt *st, int i, const struct mlfs_id *id);
/* Read column @i as an id (-EBADMSG unless a 16-byte blob). */
int meta_col_id(sqlite3_stmt *st, int i, struct mlfs_id *id);
/* Copy text column @i into @dst (-EBADMSG if it does not fit). */
int meta_col_text(sqlite3_stmt *st, int i, char *dst, size_t size);
/* Run a statement that returns no rows, then reset it. */
int meta_step_done(sqlite3_stmt *st);
/* Run the one-id query @sid (id bound as ?1) and hand its row to @read;
 * takes the lock itself. Returns @read's result, -ENOENT (no row), or
 * -errno. */
int meta_row_by_id(struct mlfs_meta *m, enum stmt_id sid,
		   const struct mlfs_id *id,
		   int (*read)(sqlite3_stmt *st, void *ctx), void *ctx);
/* Step @st to its end, one @elem-byte element per row filled by @read
 * (given @ctx),
 * into a malloc'd *out; on failure *out and *n hold what was read. */
int meta_collect(sqlite3_stmt *st, size_t elem,
		 int (*read)(sqlite3_stmt *st, void *ctx, void *e),
		 void *ctx, void **out, size_t *n);

#endif
