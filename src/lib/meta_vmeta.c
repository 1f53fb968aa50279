/*
 * meta_vmeta.c - the SQL of version metadata: the metadata table's rows,
 * each sealed with a keyed check value over commit, key and value
 * (objid.h, docs/format.md#version-metadata) and checked when read.
 * Statements live in meta.c's cache; see meta_internal.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_internal.h"
#include "objid.h"

void mlfs_meta_kv_free(struct mlfs_meta_kv *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* Columns: commit_id, key, value, mac. A row whose columns cannot be
 * read as what mlfs writes is damaged, as one whose check value fails:
 * the caller names it, this only marks it. */
static int read_kv(sqlite3_stmt *st, void *ctx, void *e)
{
	struct mlfs_meta *m = ctx;
	struct mlfs_meta_kv *kv = e;
	const unsigned char *k = sqlite3_column_text(st, 1);
	const unsigned char *v = sqlite3_column_text(st, 2);
	struct mlfs_id mac, got;
	bool bad_id = meta_col_id(st, 0, &kv->commit) < 0;

	kv->key = strdup(k ? (const char *)k : "");
	kv->value = strdup(v ? (const char *)v : "");
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return -ENOMEM;
	}
	if (!k || !v || sqlite3_column_type(st, 1) != SQLITE_TEXT ||
	    sqlite3_column_type(st, 2) != SQLITE_TEXT ||
	    bad_id || meta_col_id(st, 3, &mac) < 0) {
		kv->damaged = true;
		return 0;
	}
	mlfs_objid_meta_mac(m->key, &kv->commit, kv->key, kv->value, &got);
	kv->damaged = mlfs_id_cmp(&got, &mac) != 0;
	return 0;
}

int mlfs_meta_vmeta_list(struct mlfs_meta *m, const struct mlfs_id *commit,
			 struct mlfs_meta_kv **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	void *v = NULL;
	int r;

	*out = NULL;
	*n = 0;
	mlfs_meta_lock(m);
	r = meta_stmt(m, commit ? ST_VMETA_LIST : ST_VMETA_ALL, &st);
	if (r == 0) {
		if (commit)
			meta_bind_id(st, 1, commit);
		r = meta_collect(st, sizeof(struct mlfs_meta_kv), read_kv, m,
				 &v, n);
	}
	mlfs_meta_unlock(m);
	if (r < 0) {
		mlfs_meta_kv_free(v, *n);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}

int mlfs_meta_vmeta_put(struct mlfs_meta *m, const struct mlfs_id *commit,
			const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	struct mlfs_id mac;
	int r;

	mlfs_objid_meta_mac(m->key, commit, key, value, &mac);
	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VMETA_PUT, &st);
	if (r == 0) {
		meta_bind_id(st, 1, commit);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
		meta_bind_id(st, 4, &mac);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}

int mlfs_meta_vmeta_delete(struct mlfs_meta *m, const struct mlfs_id *commit,
			   const char *key)
{
	sqlite3_stmt *st = NULL;
	int r;

	mlfs_meta_lock(m);
	r = meta_stmt(m, ST_VMETA_DELETE, &st);
	if (r == 0) {
		meta_bind_id(st, 1, commit);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		r = meta_step_done(st);
	}
	mlfs_meta_unlock(m);
	return r;
}
