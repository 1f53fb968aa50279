/*
 * meta_remote.c - the SQL of remotes (schema 5): the `remotes` table
 * (where a remote is; credentials never go in the store) and
 * `remote_packs` (packs whose chunks the index locates but whose file is
 * in a remote's bucket, not in STORE/packs). Rows hold only what the
 * user typed or a verified pack index gave; remote.c checks them again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/remote.h"

static char *col_dup(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return mlfs_strdup_opt(t ? (const char *)t : NULL, oom);
}

/* Columns: name, url, endpoint, region, virtual_host, cache_size. Only the stored
 * strings: bucket and prefix are parsed from url by the caller. */
static int read_remote(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_remote *r = e;
	bool oom = false;

	(void)ctx;
	r->name = col_dup(st, 0, &oom);
	r->url = col_dup(st, 1, &oom);
	r->endpoint = col_dup(st, 2, &oom);
	r->region = col_dup(st, 3, &oom);
	r->virtual_host = sqlite3_column_int(st, 4) != 0;
	r->cache_size = (uint64_t)sqlite3_column_int64(st, 5);
	if (oom || !r->name || !r->url) {
		mlfs_remote_release(r);
		return oom ? -ENOMEM : -EBADMSG;
	}
	return 0;
}

int mlfs_meta_remote_add(struct mlfs_meta *m, const struct mlfs_remote *r)
{
	sqlite3_stmt *st = NULL;
	int e, rc;

	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_REMOTE_ADD, &st);
	if (e == 0) {
		sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->url, -1, SQLITE_STATIC);
		if (r->endpoint)
			sqlite3_bind_text(st, 3, r->endpoint, -1,
					  SQLITE_STATIC);
		if (r->region)
			sqlite3_bind_text(st, 4, r->region, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, r->virtual_host);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)r->cache_size);
		rc = mlfs_meta_step(st);
		e = rc == SQLITE_DONE ? 0 :
		    (rc & 0xff) == SQLITE_CONSTRAINT ? -EEXIST :
		    mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return e;
}

int mlfs_meta_remote_get(struct mlfs_meta *m, const char *name,
			 struct mlfs_remote *out)
{
	sqlite3_stmt *st = NULL;
	int e, rc;

	memset(out, 0, sizeof(*out));
	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_REMOTE_GET, &st);
	if (e == 0) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = mlfs_meta_step(st);
		e = rc == SQLITE_ROW ? read_remote(st, NULL, out) :
		    rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return e;
}

int mlfs_meta_remote_delete(struct mlfs_meta *m, const char *name)
{
	sqlite3_stmt *st = NULL;
	int e;

	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_REMOTE_DELETE, &st);
	if (e == 0) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		e = meta_step_done(st);
		if (e == 0 && sqlite3_changes(m->db) == 0)
			e = -ENOENT;
	}
	mlfs_meta_unlock(m);
	return e;
}

int mlfs_meta_remote_list(struct mlfs_meta *m, struct mlfs_remote **out,
			  size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int e;

	*out = NULL;
	*n = 0;
	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_REMOTE_LIST, &st);
	if (e == 0)
		e = meta_collect(st, sizeof(**out), read_remote, NULL, &v, n);
	mlfs_meta_unlock(m);
	*out = v;
	if (e < 0) {
		mlfs_remote_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return e;
}

int mlfs_meta_rpack_get(struct mlfs_meta *m, uint64_t pack_id,
			char **remote, uint64_t *size)
{
	sqlite3_stmt *st = NULL;
	int e, rc;

	*remote = NULL;
	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_RPACK_GET, &st);
	if (e == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pack_id);
		rc = mlfs_meta_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			sqlite3_int64 sz = sqlite3_column_int64(st, 1);

			*remote = t ? strdup((const char *)t) : NULL;
			e = !t || sz < 0 ? -EBADMSG : *remote ? 0 : -ENOMEM;
			if (size)
				*size = (uint64_t)sz;
		} else {
			e = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
		}
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	if (e < 0) {
		free(*remote);
		*remote = NULL;
	}
	return e;
}

int mlfs_meta_rpack_put(struct mlfs_meta *m, uint64_t pack_id,
			const char *remote, uint64_t size)
{
	sqlite3_stmt *st = NULL;
	int e;

	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_RPACK_PUT, &st);
	if (e == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)pack_id);
		sqlite3_bind_text(st, 2, remote, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
		e = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return e;
}

int mlfs_meta_rpack_count(struct mlfs_meta *m, const char *remote,
			  uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	int e, rc;

	mlfs_meta_lock(m);
	e = meta_stmt(m, ST_RPACK_COUNT, &st);
	if (e == 0) {
		sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		rc = mlfs_meta_step(st);
		if (rc == SQLITE_ROW)
			*n = (uint64_t)sqlite3_column_int64(st, 0);
		else
			e = mlfs_meta_errno(rc);
		meta_done(st);
	}
	mlfs_meta_unlock(m);
	return e;
}
