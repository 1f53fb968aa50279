/*
 * meta_work_dir.c - the SQL of work.db's directory entries, extended
 * attributes and namespaces made by mkdir (meta_work.h); the connection
 * and the node rows are meta_work.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "meta_work_impl.h"
#include "mlfs/store.h"

/* ---- directory entries ---- */

static void bind_dirent(sqlite3_stmt *st, int64_t wt, uint64_t parent,
			const char *name)
{
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)parent);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
}

int mlfs_wdb_dirent_get(struct mlfs_wdb *db, int64_t wt, uint64_t parent,
			const char *name, uint64_t *ino)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_GET, &st), rc;

	if (r < 0)
		return r;
	bind_dirent(st, wt, parent, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ino = (uint64_t)sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT :
	    mlfs_meta_errno(rc);
	wdb_done(st);
	return r;
}

int mlfs_wdb_dirent_put(struct mlfs_wdb *db, int64_t wt, uint64_t parent,
			const char *name, uint64_t ino)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_PUT, &st);

	if (r < 0)
		return r;
	bind_dirent(st, wt, parent, name);
	sqlite3_bind_int64(st, 4, (int64_t)ino);
	return wdb_step_done(st);
}

int mlfs_wdb_dirent_delete(struct mlfs_wdb *db, int64_t wt, uint64_t parent,
			   const char *name)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_DELETE, &st);

	if (r < 0)
		return r;
	bind_dirent(st, wt, parent, name);
	return wdb_step_done(st);
}

int mlfs_wdb_dirent_any(struct mlfs_wdb *db, int64_t wt, uint64_t parent)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_ANY, &st), rc;

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)parent);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : mlfs_meta_errno(rc);
	wdb_done(st);
	return r;
}

void mlfs_wdirent_free(struct mlfs_wdirent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		mlfs_wnode_release(&v[i].node);
	}
	free(v);
}

static int read_dirent_elem(sqlite3_stmt *st, void *e)
{
	struct mlfs_wdirent *d = e;
	const unsigned char *name = sqlite3_column_text(st, 0);
	int r;

	if (!name) {
		mlfs_error_set("work database: an entry without a name");
		return -EBADMSG;
	}
	d->name = strdup((const char *)name);
	if (!d->name)
		return -ENOMEM;
	r = wdb_read_node(st, 1, &d->node);
	if (r < 0)
		free(d->name);
	return r;
}

static void release_dirent_elem(void *e)
{
	struct mlfs_wdirent *d = e;

	free(d->name);
	mlfs_wnode_release(&d->node);
}

int mlfs_wdb_dirent_list(struct mlfs_wdb *db, int64_t wt, uint64_t parent,
			 struct mlfs_wdirent **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_LIST, &st);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)parent);
	return wdb_collect(st, sizeof(**out), read_dirent_elem,
		       release_dirent_elem, (void **)out, n);
}

static int read_u64_elem(sqlite3_stmt *st, void *e)
{
	*(uint64_t *)e = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

int mlfs_wdb_dirent_parents(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
			    uint64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_DIRENT_PARENTS, &st);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	return wdb_collect(st, sizeof(**out), read_u64_elem, NULL, (void **)out, n);
}

/* ---- extended attributes ---- */

int mlfs_wdb_xattr_get(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
		       const char *name, void **value, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_XATTR_GET, &st), rc;

	*value = NULL;
	*len = 0;
	if (r < 0)
		return r;
	bind_dirent(st, wt, ino, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int k = sqlite3_column_bytes(st, 0);

		*value = malloc(k ? (size_t)k : 1);
		if (!*value)
			r = -ENOMEM;
		else {
			if (k)
				memcpy(*value, sqlite3_column_blob(st, 0),
				       (size_t)k);
			*len = (size_t)k;
		}
	} else {
		r = rc == SQLITE_DONE ? -ENODATA : mlfs_meta_errno(rc);
	}
	wdb_done(st);
	return r;
}

int mlfs_wdb_xattr_set(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
		       const char *name, const void *value, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_XATTR_SET, &st);

	if (r < 0)
		return r;
	bind_dirent(st, wt, ino, name);
	/* zeroblob: a NULL pointer would bind NULL, not an empty value */
	if (len)
		sqlite3_bind_blob(st, 4, value, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(st, 4, 0);
	return wdb_step_done(st);
}

int mlfs_wdb_xattr_delete(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
			  const char *name)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_XATTR_DELETE, &st);

	if (r < 0)
		return r;
	bind_dirent(st, wt, ino, name);
	r = wdb_step_done(st);
	if (r == 0 && sqlite3_changes(db->db) == 0)
		r = -ENODATA;
	return r;
}

int mlfs_wdb_xattr_list(struct mlfs_wdb *db, int64_t wt, uint64_t ino,
			char **names, size_t *len)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_XATTR_LIST, &st), rc;

	*names = NULL;
	*len = 0;
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, wt);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);

		if (name)
			r = mlfs_buf_append(&b, name,
					    strlen((const char *)name) + 1);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	wdb_done(st);
	if (r < 0) {
		mlfs_buf_release(&b);
		return r;
	}
	*names = (char *)b.data;
	*len = b.len;
	return 0;
}

int mlfs_wdb_xattr_clear(struct mlfs_wdb *db, int64_t wt, uint64_t ino)
{
	return wdb_run_wt_ino(db, W_XATTR_CLEAR, wt, ino);
}

/* ---- namespaces made by mkdir ---- */

int mlfs_wdb_ns_add(struct mlfs_wdb *db, const char *name, bool add)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, add ? W_NS_ADD : W_NS_DELETE, &st);

	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return wdb_step_done(st);
}

static int read_str_elem(sqlite3_stmt *st, void *e)
{
	const unsigned char *t = sqlite3_column_text(st, 0);

	*(char **)e = strdup(t ? (const char *)t : "");
	return *(char **)e ? 0 : -ENOMEM;
}

static void release_str_elem(void *e)
{
	free(*(char **)e);
}

int mlfs_wdb_ns_list(struct mlfs_wdb *db, char ***out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = wdb_stmt(db, W_NS_LIST, &st);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	return wdb_collect(st, sizeof(**out), read_str_elem, release_str_elem,
		       (void **)out, n);
}
