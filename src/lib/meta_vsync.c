/*
 * meta_vsync.c - the SQL of the version metadata synced with remotes
 * (schema 7, table `remote_vmeta`): per remote and commit, the digest
 * of the pairs and inputs a push or fetch last agreed on and the ETag of
 * the remote's vmeta object then. Each row carries a check value
 * (mlfs-vsync-1, docs/format.md#check-values), compared on every read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/remote.h"
#include "mlfs/s3.h"
#include "objid.h"

_Static_assert(sizeof(((struct mlfs_meta_vsync *)0)->remote) ==
	       MLFS_REMOTE_NAME_MAX + 1, "a remote's name fits");
_Static_assert(sizeof(((struct mlfs_meta_vsync *)0)->etag) ==
	       MLFS_S3_ETAG_MAX, "an ETag as the S3 client keeps it fits");

/* Columns: remote, commit_id, digest, etag, mac. -EBADMSG when a column
 * is not what mlfs writes; a check value that fails marks @v damaged. */
static int read_vsync(struct mlfs_meta *m, sqlite3_stmt *st,
		      struct mlfs_meta_vsync *v)
{
	struct mlfs_id mac, got;
	int r;

	memset(v, 0, sizeof(*v));
	r = meta_col_text(st, 0, v->remote, sizeof(v->remote));
	if (r == 0)
		r = meta_col_id(st, 1, &v->commit);
	if (r < 0)
		return r;
	if (meta_col_id(st, 2, &v->digest) < 0 ||
	    meta_col_text(st, 3, v->etag, sizeof(v->etag)) < 0 ||
	    meta_col_id(st, 4, &mac) < 0) {
		v->damaged = true;
		return 0;
	}
	mlfs_objid_vsync_mac(m->key, v->remote, &v->commit, &v->digest,
			     v->etag, &got);
	v->damaged = mlfs_id_cmp(&got, &mac) != 0;
	return 0;
}

int mlfs_meta_vsync_get(struct mlfs_meta *m, const char *remote,
			const struct mlfs_id *commit,
			struct mlfs_meta_vsync *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VSYNC_GET, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
	meta_bind_id(st, 2, commit);
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		r = read_vsync(m, st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	meta_done(st);
	if (r == 0 && out->damaged) {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(commit, hex);
		mlfs_error_set("metadata sync row of commit %s (remote '%s'): "
			       "check value mismatch (damaged database)", hex,
			       remote);
		r = -EIO;
	}
out:
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_vsync_set(struct mlfs_meta *m, const char *remote,
			const struct mlfs_id *commit,
			const struct mlfs_id *digest, const char *etag)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_id mac;
	int r;

	if (strlen(remote) >= sizeof(((struct mlfs_meta_vsync *)0)->remote) ||
	    strlen(etag) >= sizeof(((struct mlfs_meta_vsync *)0)->etag))
		return -EINVAL;
	mlfs_objid_vsync_mac(m->key, remote, commit, digest, etag, &mac);
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VSYNC_SET, &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		meta_bind_id(st, 2, commit);
		meta_bind_id(st, 3, digest);
		sqlite3_bind_text(st, 4, etag, -1, SQLITE_STATIC);
		meta_bind_id(st, 5, &mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_vsync_clear(struct mlfs_meta *m, const char *remote)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VSYNC_CLEAR, &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

static int read_vsync_row(sqlite3_stmt *st, void *ctx, void *e)
{
	return read_vsync(ctx, st, e);
}

int mlfs_meta_vsync_list(struct mlfs_meta *m, const char *remote,
			 struct mlfs_meta_vsync **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VSYNC_LIST, &st);
	if (r == 0) {
		if (remote)
			sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1);
		r = meta_collect(st, sizeof(struct mlfs_meta_vsync),
				 read_vsync_row, m, &v, n);
	}
	mlfs_meta_unlock(m);
	if (r < 0) {
		free(v);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}
