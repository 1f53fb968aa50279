/*
 * meta_work_impl.h - what the two SQL files of work.db share: the
 * connection, its statements (prepared once, by id) and row helpers.
 * Internal to meta_work.c and meta_work_dir.c.
 */
#ifndef MLFS_META_WORK_IMPL_H
#define MLFS_META_WORK_IMPL_H

#include <sqlite3.h>

#include "meta_work.h"

enum wst {
	W_BEGIN, W_COMMIT, W_ROLLBACK,
	W_WT_GET, W_WT_CREATE, W_WT_UPDATE, W_WT_DELETE, W_WT_LIST,
	W_NODE_GET, W_NODE_PUT, W_NODE_DELETE,
	W_SEL_SNAP, W_SEL_ORPHANS, W_SEL_DATA, W_SEL_ALL,
	W_CLEAR_NODES, W_CLEAR_DIRENTS, W_CLEAR_XATTRS,
	W_DIRENT_GET, W_DIRENT_PUT, W_DIRENT_DELETE, W_DIRENT_ANY,
	W_DIRENT_LIST, W_DIRENT_PARENTS,
	W_XATTR_GET, W_XATTR_SET, W_XATTR_DELETE, W_XATTR_LIST,
	W_XATTR_CLEAR,
	W_NS_ADD, W_NS_DELETE, W_NS_LIST,
	W_MAX
};

struct mlfs_wdb {
	sqlite3 *db;
	sqlite3_stmt *st[W_MAX];
	char *wal_path; /* the log fsync'd by mlfs_wdb_sync */
	bool v1;        /* schema 1, read-only: nodes read without origin */
};

/* Statement @id, prepared on first use; reset it with wdb_done(). */
int wdb_stmt(struct mlfs_wdb *db, enum wst id, sqlite3_stmt **out);
void wdb_done(sqlite3_stmt *st);
/* Run @st to its end (no rows wanted), then reset it. */
int wdb_step_done(sqlite3_stmt *st);
/* Step @st to its end, one @elem-byte element per row read by @read
 * into a malloc'd array; on failure the elements read go to @release
 * (may be NULL) and nothing is returned. */
int wdb_collect(sqlite3_stmt *st, size_t elem,
		int (*read)(sqlite3_stmt *st, void *e),
		void (*release)(void *e), void **out, size_t *n);
/* Run statement @id with (?1 = @wt, ?2 = @ino). */
int wdb_run_wt_ino(struct mlfs_wdb *db, enum wst id, int64_t wt,
		   uint64_t ino);
/* A node from the columns of NODE_COLS starting at @c. */
int wdb_read_node(sqlite3_stmt *st, int c, struct mlfs_wnode *n);

#endif
