/*
 * meta_track.c - the SQL of remote-tracking refs (schema 6, table
 * `tracking`): the branch heads a fetch or push last saw in a remote.
 * Each row carries a check value over the remote, its repository's ns
 * and name, the branch and the commit (mlfs-track-1,
 * docs/format.md#check-values), compared on every read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/remote.h"
#include "objid.h"

static int track_damaged(const struct mlfs_track *t)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&t->commit, hex);
	mlfs_error_set("tracking ref '%s/%s' of '%s/%s' (-> %s): check value "
		       "mismatch (damaged database)", t->remote, t->branch,
		       t->ns[0] ? t->ns : "?", t->name[0] ? t->name : "?",
		       hex);
	return -EIO;
}

/* Columns: remote, branch, commit_id, mac, repository ns, name. Fills
 * @t; -EIO when the row fails its check value (the detail names it),
 * -EBADMSG when a column is malformed. */
static int read_track(struct mlfs_meta *m, sqlite3_stmt *st,
		      struct mlfs_track *t)
{
	bool no_repo = sqlite3_column_type(st, 4) == SQLITE_NULL ||
		       sqlite3_column_type(st, 5) == SQLITE_NULL;
	struct mlfs_id mac, got;
	int r;

	memset(t, 0, sizeof(*t));
	r = meta_col_text(st, 0, t->remote, sizeof(t->remote));
	if (r == 0)
		r = meta_col_text(st, 1, t->branch, sizeof(t->branch));
	if (r == 0)
		r = meta_col_id(st, 2, &t->commit);
	if (r == 0 && !no_repo)
		r = meta_col_text(st, 4, t->ns, sizeof(t->ns));
	if (r == 0 && !no_repo)
		r = meta_col_text(st, 5, t->name, sizeof(t->name));
	if (r < 0)
		return r;
	if (meta_col_id(st, 3, &mac) < 0 || no_repo)
		return track_damaged(t);
	mlfs_objid_track_mac(m->key, t->remote, t->ns, t->name, t->branch,
			     &t->commit, &got);
	if (mlfs_id_cmp(&got, &mac))
		return track_damaged(t);
	return 0;
}

int mlfs_meta_track_get(struct mlfs_meta *m, const char *remote,
			int64_t repo_id, const char *branch,
			struct mlfs_id *commit)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_track t;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_TRACK_GET, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, repo_id);
	sqlite3_bind_text(st, 3, branch, -1, SQLITE_STATIC);
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		r = read_track(m, st, &t);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	meta_done(st);
	if (r == 0)
		*commit = t.commit;
out:
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_track_set(struct mlfs_meta *m, const char *remote,
			int64_t repo_id, const char *branch,
			const struct mlfs_id *commit)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_repo repo;
	struct mlfs_id mac;
	int r;

	mlfs_meta_lock(m);
	r = mlfs_meta_repo_get_id(m, repo_id, &repo);
	if (r == -ENOENT)
		r = -EINVAL;
	if (r == 0)
		r = meta_stmt(m, ST_TRACK_SET, &st);
	if (r == 0) {
		mlfs_objid_track_mac(m->key, remote, repo.ns, repo.name,
				     branch, commit, &mac);
		sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, repo_id);
		sqlite3_bind_text(st, 3, branch, -1, SQLITE_STATIC);
		meta_bind_id(st, 4, commit);
		meta_bind_id(st, 5, &mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_track_clear(struct mlfs_meta *m, const char *remote,
			  int64_t repo_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, repo_id ? ST_TRACK_CLEAR_REPO : ST_TRACK_CLEAR,
		      &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		if (repo_id)
			sqlite3_bind_int64(st, 2, repo_id);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

/* A row that fails its check is listed, flagged, so damage is seen. */
static int read_track_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_track *t = e;
	int r = read_track(ctx, st, t);

	if (r == -EIO) {
		t->damaged = true;
		mlfs_error_clear();
		r = 0;
	}
	return r;
}

int mlfs_meta_track_list(struct mlfs_meta *m, const char *remote,
			 int64_t repo_id, struct mlfs_track **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_TRACK_LIST, &st);
	if (r == 0) {
		if (remote)
			sqlite3_bind_text(st, 1, remote, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1);
		sqlite3_bind_int64(st, 2, repo_id);
		r = meta_collect(st, sizeof(struct mlfs_track),
				 read_track_row, m, &v, n);
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
