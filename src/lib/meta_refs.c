/*
 * meta_refs.c - the SQL of repositories, commits, refs and the branch
 * history (reflog) that "@{date}" reads. Statements live in meta.c's
 * cache; see meta_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "mlfs/store.h"
#include "objid.h"

static int read_repo(sqlite3_stmt *st, struct mlfs_repo *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	r = meta_col_text(st, 1, out->ns, sizeof(out->ns));
	if (r == 0)
		r = meta_col_text(st, 2, out->name, sizeof(out->name));
	if (r == 0)
		r = meta_col_text(st, 3, out->default_branch,
			     sizeof(out->default_branch));
	out->created = sqlite3_column_int64(st, 4);
	/* No check value covers the row, and nothing sets another default
	 * branch yet: any other value would silently serve another branch
	 * as "ns/name". */
	if (r == 0 && strcmp(out->default_branch, "main")) {
		mlfs_error_set("repository '%s/%s': default branch '%s' is "
			       "not one mlfs sets (damaged database)",
			       out->ns, out->name, out->default_branch);
		r = -EIO;
	}
	return r;
}

static int repo_query(struct mlfs_meta *m, enum stmt_id sid, const char *ns,
		      const char *name, int64_t id, struct mlfs_repo *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, sid, &st);
	if (r < 0)
		goto out;
	if (ns) {
		sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 1, id);
	}
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		r = read_repo(st, out);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	meta_done(st);
out:
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_repo_get(struct mlfs_meta *m, const char *ns, const char *name,
		       struct mlfs_repo *out)
{
	return repo_query(m, ST_REPO_GET, ns, name, 0, out);
}

int mlfs_meta_repo_get_id(struct mlfs_meta *m, int64_t id,
			  struct mlfs_repo *out)
{
	return repo_query(m, ST_REPO_GET_ID, NULL, NULL, id, out);
}

int mlfs_meta_repo_create(struct mlfs_meta *m, const char *ns,
			  const char *name, struct mlfs_repo *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_REPO_CREATE, &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		r = meta_step_done(st);
	}
	if (r == 0)
		r = mlfs_meta_repo_get(m, ns, name, out);
	mlfs_meta_unlock(m);
	return r;
}


/* A damaged row is listed, flagged, so fsck can name it. */
static int read_repo_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_repo *repo = e;
	int r = read_repo(st, repo);

	(void)ctx;
	if (r == -EIO) {
		repo->damaged = true;
		mlfs_error_clear();
		r = 0;
	}
	return r;
}

int mlfs_meta_repo_list(struct mlfs_meta *m, struct mlfs_repo **out,
			size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_REPO_LIST, &st);
	if (r == 0)
		r = meta_collect(st, sizeof(struct mlfs_repo), read_repo_row,
				 NULL, &v, n);
	mlfs_meta_unlock(m);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return 0;
}

/* Does commit row @c (columns from @col, the repository's ns and name
 * after the message) recompute to its id? */
static int verify_commit(struct mlfs_meta *m, sqlite3_stmt *st, int col,
			 const struct mlfs_commit *c)
{
	const unsigned char *ns = sqlite3_column_text(st, col + 6);
	const unsigned char *name = sqlite3_column_text(st, col + 7);
	struct mlfs_id got;

	if (!ns || !name)
		return meta_damaged("commit", &c->id,
				    "its repository is missing");
	mlfs_objid_commit(m->key, (const char *)ns, (const char *)name, c,
			  &got);
	if (mlfs_id_cmp(&got, &c->id))
		return meta_damaged("commit", &c->id, "hash mismatch");
	return 0;
}

/* Columns: [id,] repo_id, parent, tree, author, time, message. */
static int read_commit(sqlite3_stmt *st, int col, struct mlfs_commit *c)
{
	const unsigned char *a, *msg;
	int r;

	c->repo_id = sqlite3_column_int64(st, col);
	c->has_parent = sqlite3_column_type(st, col + 1) != SQLITE_NULL;
	memset(&c->parent, 0, sizeof(c->parent));
	if (c->has_parent) {
		r = meta_col_id(st, col + 1, &c->parent);
		if (r < 0)
			return r;
	}
	r = meta_col_id(st, col + 2, &c->tree);
	if (r < 0)
		return r;
	a = sqlite3_column_text(st, col + 3);
	c->time = sqlite3_column_int64(st, col + 4);
	msg = sqlite3_column_text(st, col + 5);
	c->author = strdup(a ? (const char *)a : "");
	c->message = strdup(msg ? (const char *)msg : "");
	if (!c->author || !c->message) {
		free(c->author);
		free(c->message);
		c->author = c->message = NULL;
		return -ENOMEM;
	}
	return 0;
}

struct commit_row {
	struct mlfs_meta *m;
	struct mlfs_commit *c;
};

static int read_commit_by_id(sqlite3_stmt *st, void *ctx)
{
	struct commit_row *cr = ctx;
	int r = read_commit(st, 0, cr->c);

	if (r == 0)
		r = verify_commit(cr->m, st, 0, cr->c);
	return r;
}

/* The strings read_commit allocates are freed here, next to it: the
 * public mlfs_commit_release() (repo.c) is a layer above and calls
 * down, never the other way. */
void mlfs_meta_commit_release(struct mlfs_commit *c)
{
	free(c->author);
	free(c->message);
	c->author = c->message = NULL;
}

void mlfs_meta_commit_list_free(struct mlfs_commit *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		mlfs_meta_commit_release(&v[i]);
	free(v);
}

int mlfs_meta_commit_get(struct mlfs_meta *m, const struct mlfs_id *id,
			 struct mlfs_commit *out)
{
	struct commit_row cr = { m, out };
	int r;

	memset(out, 0, sizeof(*out));
	out->id = *id;
	r = meta_row_by_id(m, ST_COMMIT_GET, id, read_commit_by_id, &cr);
	if (r < 0)
		mlfs_meta_commit_release(out);
	return r;
}

int mlfs_meta_commit_put(struct mlfs_meta *m, const struct mlfs_commit *c)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_COMMIT_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, &c->id);
		sqlite3_bind_int64(st, 2, c->repo_id);
		if (c->has_parent)
			meta_bind_id(st, 3, &c->parent);
		else
			sqlite3_bind_null(st, 3);
		meta_bind_id(st, 4, &c->tree);
		sqlite3_bind_text(st, 5, c->author, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, c->time);
		sqlite3_bind_text(st, 7, c->message, -1, SQLITE_STATIC);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

static int read_id_row(sqlite3_stmt *st, void *ctx, void *e)
{
	(void)ctx;
	return meta_col_id(st, 0, e);
}

int mlfs_meta_commit_range(struct mlfs_meta *m, int64_t repo_id,
			   const struct mlfs_id *lo, const struct mlfs_id *hi,
			   size_t max, struct mlfs_id **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_COMMIT_RANGE, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		meta_bind_id(st, 2, lo);
		meta_bind_id(st, 3, hi);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
		r = meta_collect(st, sizeof(struct mlfs_id), read_id_row,
				 NULL, &v, n);
	}
	mlfs_meta_unlock(m);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return 0;
}

/* A list row that fails verification is kept, flagged: the caller
 * names it (fsck) or skips it; only allocation failure stops the list. */
static int read_commit_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_commit *c = e;
	int r = meta_col_id(st, 0, &c->id);

	if (r < 0)
		return r; /* no id to name it by: the table is damaged */
	r = read_commit(st, 1, c);
	if (r == -ENOMEM)
		return r;
	if (r == 0)
		r = verify_commit(ctx, st, 1, c);
	if (r < 0) {
		c->damaged = true;
		mlfs_error_clear();
	}
	return 0;
}

int mlfs_meta_commit_all(struct mlfs_meta *m, int64_t repo_id,
			 struct mlfs_commit **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, repo_id ? ST_COMMIT_ALL : ST_COMMIT_ALL_REPOS, &st);
	if (r == 0) {
		if (repo_id)
			sqlite3_bind_int64(st, 1, repo_id);
		r = meta_collect(st, sizeof(struct mlfs_commit),
				 read_commit_row, m, &v, n);
	}
	mlfs_meta_unlock(m);
	if (r < 0) {
		mlfs_meta_commit_list_free(v, *n);
		return r;
	}
	*out = v;
	return 0;
}

static const char *kind_str(int kind)
{
	return kind == MLFS_REF_TAG ? "t" : "b";
}

/* A pseudo-id naming a ref in damage reports: its check value slot is
 * what failed, so name the commit it claims instead. */
static int ref_damaged(const struct mlfs_ref *ref)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&ref->commit, hex);
	mlfs_error_set("%s '%s' (-> %s): check value mismatch (damaged "
		       "database)", ref->kind == MLFS_REF_TAG ? "tag" :
		       "branch", ref->name, hex);
	return -EIO;
}

/* Columns: kind, name, commit_id, mac, repository ns, name. Fills @ref
 * and checks the row against its check value: -EIO when it fails (the
 * error detail names it), -EBADMSG when a column is malformed. */
static int read_ref(struct mlfs_meta *m, sqlite3_stmt *st,
		    struct mlfs_ref *ref)
{
	const unsigned char *k = sqlite3_column_text(st, 0);
	const unsigned char *ns = sqlite3_column_text(st, 4);
	const unsigned char *rname = sqlite3_column_text(st, 5);
	struct mlfs_id mac, got;
	int r;

	ref->kind = k && k[0] == 't' ? MLFS_REF_TAG : MLFS_REF_BRANCH;
	r = meta_col_text(st, 1, ref->name, sizeof(ref->name));
	if (r == 0)
		r = meta_col_id(st, 2, &ref->commit);
	if (r < 0)
		return r;
	if (meta_col_id(st, 3, &mac) < 0 || !ns || !rname)
		return ref_damaged(ref);
	mlfs_objid_ref_mac(m->key, (const char *)ns, (const char *)rname,
			   ref->kind, ref->name, &ref->commit, &got);
	if (mlfs_id_cmp(&got, &mac))
		return ref_damaged(ref);
	return 0;
}

/* A branch without its row whose history's newest entry names a commit
 * lost the row to damage: it was never deleted (that appends an entry
 * with no commit). -EIO naming it then, else @r. Called in the read
 * transaction of the lookup, so a branch made meanwhile is no damage. */
static int branch_row_lost(struct mlfs_meta *m, int64_t repo_id,
			   const char *name, int r)
{
	char hex[MLFS_ID_HEX_LEN + 1];
	struct mlfs_id last;
	int h = mlfs_meta_reflog_at(m, repo_id, name, INT64_MAX, &last);

	if (h == -ENOENT)
		return r;
	if (h < 0)
		return h;
	mlfs_id_to_hex(&last, hex);
	mlfs_error_set("branch '%s' has no row, though its history says it "
		       "is at %s (damaged database)", name, hex);
	return -EIO;
}

int mlfs_meta_ref_get(struct mlfs_meta *m, int64_t repo_id, int kind,
		      const char *name, struct mlfs_id *commit)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_ref ref;
	bool txn;
	int r, rc;

	txn = mlfs_meta_read_begin(m);
	r = meta_stmt(m, ST_REF_GET, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, repo_id);
	sqlite3_bind_text(st, 2, kind_str(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW)
		r = read_ref(m, st, &ref);
	else
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	meta_done(st);
	if (r == -ENOENT && kind == MLFS_REF_BRANCH)
		r = branch_row_lost(m, repo_id, name, r);
	if (r == 0)
		*commit = ref.commit;
out:
	mlfs_meta_read_end(m, txn);
	return r;
}

/* The repository's ns and name, which every check value covers. */
static int repo_names(struct mlfs_meta *m, int64_t repo_id,
		      struct mlfs_repo *repo)
{
	int r = mlfs_meta_repo_get_id(m, repo_id, repo);

	return r == -ENOENT ? -EINVAL : r;
}

/* Append a branch-history row and seal it: its check value covers the
 * row id, which SQLite assigns at the insert. */
static int reflog_add(struct mlfs_meta *m, const struct mlfs_repo *repo,
		      const char *name, const struct mlfs_id *commit,
		      int64_t now)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_id mac;
	int64_t row;
	int r = meta_stmt(m, ST_REFLOG_ADD, &st);

	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, repo->id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (commit)
		meta_bind_id(st, 3, commit);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, now);
	r = meta_step_done(st);
	if (r < 0)
		return r;
	row = sqlite3_last_insert_rowid(m->db);
	mlfs_objid_reflog_mac(m->key, row, repo->ns, repo->name, name, commit,
			      now, &mac);
	r = meta_stmt(m, ST_REFLOG_SET_MAC, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, row);
	meta_bind_id(st, 2, &mac);
	return meta_step_done(st);
}

int mlfs_meta_ref_set(struct mlfs_meta *m, int64_t repo_id, int kind,
		      const char *name, const struct mlfs_id *commit,
		      int64_t now)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_repo repo;
	struct mlfs_id mac;
	int r;

	mlfs_meta_lock(m);
	r = repo_names(m, repo_id, &repo);
	if (r == 0)
		r = meta_stmt(m, ST_REF_SET, &st);
	if (r == 0) {
		mlfs_objid_ref_mac(m->key, repo.ns, repo.name,
				   kind == MLFS_REF_TAG ? 't' : 'b', name,
				   commit, &mac);
		sqlite3_bind_int64(st, 1, repo_id);
		sqlite3_bind_text(st, 2, kind_str(kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		meta_bind_id(st, 4, commit);
		meta_bind_id(st, 5, &mac);
		r = meta_step_done(st);
	}
	if (r == 0 && kind == MLFS_REF_BRANCH)
		r = reflog_add(m, &repo, name, commit, now);
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_ref_delete(struct mlfs_meta *m, int64_t repo_id, int kind,
			 const char *name, int64_t now)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_repo repo;
	int r;

	mlfs_meta_lock(m);
	r = repo_names(m, repo_id, &repo);
	if (r == 0)
		r = meta_stmt(m, ST_REF_DELETE, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		sqlite3_bind_text(st, 2, kind_str(kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		r = meta_step_done(st);
		if (r == 0 && sqlite3_changes(m->db) == 0)
			r = -ENOENT;
	}
	if (r == 0 && kind == MLFS_REF_BRANCH)
		r = reflog_add(m, &repo, name, NULL, now);
	mlfs_meta_unlock(m);
	return r;
}

/* A row that fails its check is listed, flagged, so damage is seen. */
static int read_ref_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_ref *ref = e;
	int r = read_ref(ctx, st, ref);

	if (r == -EIO) {
		ref->damaged = true;
		mlfs_error_clear();
		r = 0;
	}
	return r;
}

int mlfs_meta_ref_list(struct mlfs_meta *m, int64_t repo_id, int kind,
		       struct mlfs_ref **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, kind ? ST_REF_LIST_KIND : ST_REF_LIST, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		if (kind)
			sqlite3_bind_text(st, 2, kind_str(kind), -1,
					  SQLITE_STATIC);
		r = meta_collect(st, sizeof(struct mlfs_ref), read_ref_row, m,
				 &v, n);
	}
	mlfs_meta_unlock(m);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return 0;
}

/* Columns: id, commit_id, time, mac, repository ns, name. A NULL
 * commit records a deletion: -ENOENT, no branch then. */
static int read_reflog(struct mlfs_meta *m, sqlite3_stmt *st,
		       const char *branch, struct mlfs_id *commit)
{
	const unsigned char *ns = sqlite3_column_text(st, 4);
	const unsigned char *rname = sqlite3_column_text(st, 5);
	bool deleted = sqlite3_column_type(st, 1) == SQLITE_NULL;
	struct mlfs_id mac, got, c = { { 0 } };
	int64_t row = sqlite3_column_int64(st, 0);

	if (!deleted && meta_col_id(st, 1, &c) < 0)
		return -EBADMSG;
	if (meta_col_id(st, 3, &mac) < 0 || !ns || !rname)
		goto damaged;
	mlfs_objid_reflog_mac(m->key, row, (const char *)ns,
			      (const char *)rname, branch,
			      deleted ? NULL : &c,
			      sqlite3_column_int64(st, 2), &got);
	if (mlfs_id_cmp(&got, &mac))
		goto damaged;
	if (deleted)
		return -ENOENT;
	*commit = c;
	return 0;
damaged:
	mlfs_error_set("history of branch '%s', entry %lld: check value "
		       "mismatch (damaged database)", branch, (long long)row);
	return -EIO;
}

/* Columns as read_reflog's, then the branch name. */
static int read_reflog_row(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_reflog_entry *le = e;
	int r;

	le->row = sqlite3_column_int64(st, 0);
	le->time = sqlite3_column_int64(st, 2);
	r = meta_col_text(st, 6, le->branch, sizeof(le->branch));
	if (r < 0)
		return r;
	r = read_reflog(ctx, st, le->branch, &le->commit);
	le->deleted = r == -ENOENT;
	if (r == -EIO) {
		le->damaged = true;
		mlfs_error_clear();
	} else if (r < 0 && r != -ENOENT) {
		return r;
	}
	return 0;
}

int mlfs_meta_reflog_list(struct mlfs_meta *m, int64_t repo_id,
			  struct mlfs_reflog_entry **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_REFLOG_LIST, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, repo_id);
		r = meta_collect(st, sizeof(struct mlfs_reflog_entry),
				 read_reflog_row, m, &v, n);
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

int mlfs_meta_reflog_at(struct mlfs_meta *m, int64_t repo_id,
			const char *branch, int64_t when,
			struct mlfs_id *commit)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_REFLOG_AT, &st);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, repo_id);
	sqlite3_bind_text(st, 2, branch, -1, SQLITE_STATIC);
	/* Newest change first, as git walks a reflog: the answer is the
	 * first entry made at or before @when. Every newer entry is
	 * verified on the way, because only its (checked) time says it is
	 * not the answer: a time moved forward by damage would otherwise
	 * make an older head the answer. */
	r = -ENOENT;
	while ((rc = mlfs_meta_step(st)) == SQLITE_ROW) {
		struct mlfs_id c;

		r = read_reflog(m, st, branch, &c);
		if (r == -EIO || r == -EBADMSG)
			break;
		if (sqlite3_column_int64(st, 2) <= when) {
			if (r == 0)
				*commit = c;
			break;
		}
		r = -ENOENT;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	meta_done(st);
out:
	mlfs_meta_unlock(m);
	return r;
}
