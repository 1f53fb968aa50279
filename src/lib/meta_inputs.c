/*
 * meta_inputs.c - the SQL of the inputs table: the versions a commit was
 * made from (lineage.h). No id covers a row, so each carries a keyed
 * check value over every field (objid.h), verified on every read.
 * Statements live in meta.c's cache; see meta_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "objid.h"

/* Counts are stored as SQLite integers (signed 64 bits). */
#define COUNT_MAX ((uint64_t)INT64_MAX)

static int how_of(const unsigned char *s)
{
	if (s && !strcmp((const char *)s, "mount"))
		return MLFS_INPUT_MOUNT;
	if (s && !strcmp((const char *)s, "manual"))
		return MLFS_INPUT_MANUAL;
	return 0;
}

int mlfs_meta_input_put(struct mlfs_meta *m, const struct mlfs_id *commit,
			const struct mlfs_input *in)
{
	const char *how = mlfs_input_how_name(in->how);
	sqlite3_stmt *st = NULL;
	struct mlfs_id mac;
	int r;

	if (!how_of((const unsigned char *)how) || in->files > COUNT_MAX ||
	    in->bytes > COUNT_MAX)
		return -EINVAL;
	mlfs_objid_input_mac(m->key, commit, &in->commit, in->files,
			     in->bytes, how, &mac);
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_INPUT_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, commit);
		meta_bind_id(st, 2, &in->commit);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)in->files);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)in->bytes);
		sqlite3_bind_text(st, 5, how, -1, SQLITE_STATIC);
		meta_bind_id(st, 6, &mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

/* One row into @e (the commit in @row, the input in @in) and whether its
 * check value holds: 0, 1 (damaged), -EBADMSG (ids not ids). */
static int read_row(struct mlfs_meta *m, sqlite3_stmt *st,
		    struct mlfs_id *row, struct mlfs_id *in,
		    struct mlfs_input *e)
{
	const unsigned char *how = sqlite3_column_text(st, 4);
	sqlite3_int64 files = sqlite3_column_int64(st, 2);
	sqlite3_int64 bytes = sqlite3_column_int64(st, 3);
	struct mlfs_id mac, got;
	int r = meta_col_id(st, 0, row);

	if (r == 0)
		r = meta_col_id(st, 1, in);
	if (r < 0)
		return r;
	e->files = files < 0 ? 0 : (uint64_t)files;
	e->bytes = bytes < 0 ? 0 : (uint64_t)bytes;
	e->how = how_of(how);
	if (files < 0 || bytes < 0 || !e->how ||
	    sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
	    meta_col_id(st, 5, &mac) < 0)
		return 1;
	mlfs_objid_input_mac(m->key, row, in, e->files, e->bytes,
			     (const char *)how, &got);
	return mlfs_id_cmp(&got, &mac) ? 1 : 0;
}

struct list_ctx {
	struct mlfs_meta *m;
	bool users;
};

/* A damaged row: the detail names its commit and its input. */
static int row_damaged(const struct mlfs_id *row, const struct mlfs_id *in)
{
	char rh[MLFS_ID_HEX_LEN + 1], ih[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(row, rh);
	mlfs_id_to_hex(in, ih);
	mlfs_error_set("inputs row of commit %s, input %s: its fields do not "
		       "match its check value (damaged database)", rh, ih);
	return -EIO;
}

static int read_listed(sqlite3_stmt *st, void *ctx, void *elem)
{
	struct list_ctx *lc = ctx;
	struct mlfs_input *e = elem;
	struct mlfs_id row, in;
	int r = read_row(lc->m, st, &row, &in, e);

	if (r < 0)
		return r;
	e->commit = lc->users ? row : in;
	return r ? row_damaged(&row, &in) : 0;
}

int mlfs_meta_inputs_list(struct mlfs_meta *m, const struct mlfs_id *id,
			  bool users, struct mlfs_input **out, size_t *n)
{
	struct list_ctx lc = { m, users };
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, users ? ST_INPUT_USERS : ST_INPUT_OF, &st);
	if (r == 0) {
		meta_bind_id(st, 1, id);
		r = meta_collect(st, sizeof(struct mlfs_input), read_listed,
				 &lc, &v, n);
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

int mlfs_meta_inputs_all(struct mlfs_meta *m, struct mlfs_input **rows,
			 struct mlfs_id **inputs, bool **damaged, size_t *n)
{
	struct mlfs_input *rv = NULL, *nr;
	struct mlfs_id *iv = NULL, *ni;
	bool *dv = NULL, *nd;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_INPUT_ALL, &st);
	while (r == 0 && (rc = mlfs_meta_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;

			nr = realloc(rv, nc * sizeof(*nr));
			if (nr)
				rv = nr;
			ni = nr ? realloc(iv, nc * sizeof(*ni)) : NULL;
			if (ni)
				iv = ni;
			nd = ni ? realloc(dv, nc * sizeof(*nd)) : NULL;
			if (!nd) {
				r = -ENOMEM;
				break;
			}
			dv = nd;
			cap = nc;
		}
		memset(&rv[cnt], 0, sizeof(rv[cnt]));
		r = read_row(m, st, &rv[cnt].commit, &iv[cnt], &rv[cnt]);
		if (r >= 0) {
			dv[cnt++] = r == 1;
			r = 0;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = mlfs_meta_errno(rc);
	if (st)
		meta_done(st);
	mlfs_meta_unlock(m);
	if (r < 0) {
		free(rv);
		free(iv);
		free(dv);
		return r;
	}
	*rows = rv;
	*inputs = iv;
	*damaged = dv;
	*n = cnt;
	return 0;
}
