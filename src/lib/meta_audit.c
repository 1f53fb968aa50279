/*
 * meta_audit.c - the SQL of the audit log. Rows are read as they are held
 * (a NULL column stays absent, a column of the wrong type is reported),
 * because the chain's check values cover exactly the stored values;
 * audit.c computes and checks the chain (docs/format.md#audit-log).
 * Statements live in meta.c's cache; see meta_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"

int mlfs_meta_audit_last(struct mlfs_meta *m, int64_t *id,
			 struct mlfs_id *mac)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_AUDIT_LAST, &st);
	if (r < 0)
		goto out;
	rc = mlfs_meta_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		/* A damaged predecessor is fsck's to name; the chain goes on
		 * from the zero id, as verify then expects. */
		if (meta_col_id(st, 1, mac) < 0)
			memset(mac, 0, sizeof(*mac));
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : mlfs_meta_errno(rc);
	}
	meta_done(st);
out:
	mlfs_meta_unlock(m);
	return r;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_opt_id(sqlite3_stmt *st, int i, const struct mlfs_id *id)
{
	if (id)
		meta_bind_id(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

int mlfs_meta_audit_add(struct mlfs_meta *m, const struct mlfs_objid_audit *a,
			const struct mlfs_id *mac)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* The legacy detail is only ever read: new records have none. */
	if (a->detail)
		return -EINVAL;
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_AUDIT_ADD, &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, a->id);
		sqlite3_bind_int64(st, 2, a->time);
		if (a->has_uid)
			sqlite3_bind_int64(st, 3, a->uid);
		else
			sqlite3_bind_null(st, 3);
		bind_opt_text(st, 4, a->user);
		bind_opt_text(st, 5, a->host);
		bind_opt_text(st, 6, a->command);
		bind_opt_text(st, 7, a->op);
		bind_opt_text(st, 8, a->repo);
		bind_opt_text(st, 9, a->ref);
		bind_opt_id(st, 10, a->old_commit);
		bind_opt_id(st, 11, a->new_commit);
		bind_opt_text(st, 12, a->message);
		meta_bind_id(st, 13, mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

/* Text column @i: NULL stays NULL; anything but text without a NUL
 * inside is malformed. */
static const char *col_opt_text(sqlite3_stmt *st, int i, bool *bad)
{
	const char *t;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_TEXT:
		t = (const char *)sqlite3_column_text(st, i);
		if (t && strlen(t) == (size_t)sqlite3_column_bytes(st, i))
			return t;
		break;
	default:
		break;
	}
	*bad = true;
	return NULL;
}

static const struct mlfs_id *col_opt_id(sqlite3_stmt *st, int i,
					struct mlfs_id *buf, bool *bad)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if (meta_col_id(st, i, buf) == 0)
		return buf;
	*bad = true;
	return NULL;
}

struct audit_row {
	struct mlfs_objid_audit a;
	struct mlfs_id old_commit, new_commit, mac;
	const struct mlfs_id *macp;
	bool bad;
};

static void read_row(sqlite3_stmt *st, struct audit_row *row)
{
	struct mlfs_objid_audit *a = &row->a;

	memset(row, 0, sizeof(*row));
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 1) != SQLITE_INTEGER)
		row->bad = true;
	a->id = sqlite3_column_int64(st, 0);
	a->time = sqlite3_column_int64(st, 1);
	switch (sqlite3_column_type(st, 2)) {
	case SQLITE_NULL:
		break;
	case SQLITE_INTEGER:
		a->has_uid = true;
		a->uid = sqlite3_column_int64(st, 2);
		break;
	default:
		row->bad = true;
	}
	a->user = col_opt_text(st, 3, &row->bad);
	a->host = col_opt_text(st, 4, &row->bad);
	a->command = col_opt_text(st, 5, &row->bad);
	a->op = col_opt_text(st, 6, &row->bad);
	a->repo = col_opt_text(st, 7, &row->bad);
	a->ref = col_opt_text(st, 8, &row->bad);
	a->old_commit = col_opt_id(st, 9, &row->old_commit, &row->bad);
	a->new_commit = col_opt_id(st, 10, &row->new_commit, &row->bad);
	a->message = col_opt_text(st, 11, &row->bad);
	a->detail = col_opt_text(st, 12, &row->bad);
	row->macp = meta_col_id(st, 13, &row->mac) == 0 ? &row->mac : NULL;
}

int mlfs_meta_audit_each(struct mlfs_meta *m, mlfs_meta_audit_fn fn,
			 void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct audit_row row;
	bool began = mlfs_meta_read_begin(m);
	int r, rc;

	r = meta_stmt(m, ST_AUDIT_ALL, &st);
	if (r < 0)
		goto out;
	while ((rc = mlfs_meta_step(st)) == SQLITE_ROW) {
		read_row(st, &row);
		r = fn(ctx, &row.a, row.macp, row.bad);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	meta_done(st);
out:
	mlfs_meta_read_end(m, began);
	return r;
}

/* ---- migration 3 ---- */

struct seal {
	const struct mlfs_hash_key *key;
	struct mlfs_id prev;
	struct { int64_t id; struct mlfs_id mac; } *v;
	size_t n, cap;
};

static int seal_row(void *ctx, const struct mlfs_objid_audit *a,
		    const struct mlfs_id *mac, bool malformed)
{
	struct seal *s = ctx;

	(void)mac;
	/* Sealed as held even when @malformed: verify still names such a
	 * row, as it does one that is damaged later. */
	(void)malformed;
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 64;
		void *nv = realloc(s->v, nc * sizeof(*s->v));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n].id = a->id;
	mlfs_objid_audit_mac(s->key, a, &s->prev, &s->v[s->n].mac);
	s->prev = s->v[s->n].mac;
	s->n++;
	return 0;
}

int mlfs_meta_audit_seal(struct mlfs_meta *m)
{
	struct seal s = { .key = m->key };
	sqlite3_stmt *st = NULL;
	int r;

	/* Rows are hashed in one pass, then updated: an UPDATE of the
	 * table being read would leave the read's order to SQLite. */
	mlfs_meta_lock(m);
	r = mlfs_meta_audit_each(m, seal_row, &s);
	if (r == 0)
		r = meta_stmt(m, ST_AUDIT_SET_MAC, &st);
	for (size_t i = 0; r == 0 && i < s.n; i++) {
		sqlite3_bind_int64(st, 1, s.v[i].id);
		meta_bind_id(st, 2, &s.v[i].mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	free(s.v);
	return r;
}
