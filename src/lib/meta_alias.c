/*
 * meta_alias.c - the SQL of the aliases table. Each row carries a check
 * value over its repository's ns and name, the alias and the commit
 * (mlfs-alias-1, docs/format.md#check-values), compared on every read:
 * a row that fails is an error naming the alias, never a fallback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "objid.h"

static int alias_damaged(const struct mlfs_alias *a, const char *ns,
			 const char *rname)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&a->commit, hex);
	mlfs_error_set("alias '%s' of '%s/%s' (-> %s): check value mismatch "
		       "(damaged database)", a->name, ns ? ns : "?",
		       rname ? rname : "?", hex);
	return -EIO;
}

/* Columns: name, commit_id, mac, repository ns, name. Fills @a; -EIO
 * when the row fails its check value (the detail names it), -EBADMSG
 * when a column is malformed. */
static int read_alias(struct mlfs_meta *m, sqlite3_stmt *st,
		      struct mlfs_alias *a)
{
	const char *ns = (const char *)sqlite3_column_text(st, 3);
	const char *rname = (const char *)sqlite3_column_text(st, 4);
	struct mlfs_id mac, got;
	int r;

	memset(a, 0, sizeof(*a));
	r = meta_col_text(st, 0, a->name, sizeof(a->name));
	if (r == 0)
		r = meta_col_id(st, 1, &a->commit);
	if (r < 0)
		return r;
	if (meta_col_id(st, 2, &mac) < 0 || !ns || !rname)
		return alias_damaged(a, ns, rname);
	mlfs_objid_alias_mac(m->key, ns, rname, a->name, &a->commit, &got);
	if (mlfs_id_cmp(&got, &mac))
		return alias_damaged(a, ns, rname);
	return 0;
}

int mlfs_meta_alias_get(struct mlfs_meta *m, int64_t repo_id,
			const char *name, struct mlfs_id *commit)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_alias a;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_ALIAS_GET, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, repo_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		r = read_alias(m, st, &a);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	meta_done(st);
	if (r == 0)
		*commit = a.commit;
out:
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_alias_set(struct mlfs_meta *m, int64_t repo_id,
			const char *name, const struct mlfs_id *commit)
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
		r = meta_stmt(m, ST_ALIAS_SET, &st);
	if (r == 0) {
		mlfs_objid_alias_mac(m->key, repo.ns, repo.name, name, commit,
				     &mac);
		sqlite3_bind_int64(st, 1, repo_id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		meta_bind_id(st, 3, commit);
		meta_bind_id(st, 4, &mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_alias_delete(struct mlfs_meta *m, int64_t repo_id,
			   const char *name)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_ALIAS_DELETE, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		r = meta_step_done(st);
		if (r == 0 && sqlite3_changes(m->db) == 0)
			r = -ENOENT;
	}
	mlfs_meta_unlock(m);
	return r;
}

/* A row that fails its check is listed, flagged, so damage is seen. */
static int read_alias_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_alias *a = e;
	int r = read_alias(ctx, st, a);

	if (r == -EIO) {
		a->damaged = true;
		mlfs_error_clear();
		r = 0;
	}
	return r;
}

int mlfs_meta_alias_list(struct mlfs_meta *m, int64_t repo_id,
			 struct mlfs_alias **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_ALIAS_LIST, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		r = meta_collect(st, sizeof(struct mlfs_alias), read_alias_row,
				 m, &v, n);
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
