/*
 * fsck_vmeta.c - fsck of version metadata: every metadata row against
 * its check value (meta_vmeta.c), named with the version it belongs to,
 * and rows that belong to no commit at all (a row whose commit id was
 * changed). Problems are collected as fsck.c's are.
 */
#include <errno.h>
#include <stdlib.h>

#include "fsck_impl.h"

static long row_problem(struct fsck *f, const struct mlfs_meta_kv *kv,
			enum where at)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	if (at == AT_VERSION)
		return fsck_problem(f, "metadata", kv->key, at, "check value "
				    "mismatch (damaged database)");
	mlfs_id_to_hex(&kv->commit, hex);
	return fsck_problem(f, "metadata", kv->key, at, "of commit %s, which "
			    "no repository holds: check value mismatch "
			    "(damaged database)", hex);
}

int fsck_check_version_meta(struct fsck *f, const struct mlfs_id *commit)
{
	struct mlfs_meta_kv *rows = NULL;
	size_t n = 0;
	long k = 0;
	int r = mlfs_meta_vmeta_list(f->s->meta, commit, &rows, &n);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		k = fsck_problem(f, "metadata", NULL, AT_VERSION,
				 "cannot read the metadata: %s",
				 fsck_db_why(NULL, r));
	for (size_t i = 0; k >= 0 && i < n; i++)
		if (rows[i].damaged)
			k = row_problem(f, &rows[i], AT_VERSION);
	mlfs_meta_kv_free(rows, n);
	return k < 0 ? -ENOMEM : 0;
}

int fsck_check_orphan_meta(struct fsck *f)
{
	struct mlfs_meta_kv *rows = NULL;
	struct mlfs_commit c;
	size_t n = 0;
	long k = 0;
	int r = mlfs_meta_vmeta_list(f->s->meta, NULL, &rows, &n);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		k = fsck_problem(f, "metadata", NULL, AT_STORE,
				 "cannot read the metadata: %s",
				 fsck_db_why(NULL, r));
	for (size_t i = 0; k >= 0 && i < n; i++) {
		if (!rows[i].damaged)
			continue;
		/* Rows of a commit that exists were named with it. */
		r = mlfs_meta_commit_get(f->s->meta, &rows[i].commit, &c);
		if (r == 0) {
			mlfs_meta_commit_release(&c);
			continue;
		}
		if (r == -ENOENT)
			k = row_problem(f, &rows[i], AT_STORE);
	}
	mlfs_meta_kv_free(rows, n);
	return k < 0 ? -ENOMEM : 0;
}
