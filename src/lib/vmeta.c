/*
 * vmeta.c - a version's key/value metadata in the store: reading a
 * commit's rows, each checked by meta_vmeta.c against its check value,
 * a damaged one named. Rows written with a new commit come from
 * ingest.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/vmeta.h"
#include "store_impl.h"

static int row_damaged(const struct mlfs_meta_kv *kv)
{
	char hex[MLFS_ID_HEX_LEN + 1];

	mlfs_id_to_hex(&kv->commit, hex);
	mlfs_error_set("metadata '%.128s' of commit %s: check value mismatch "
		       "(damaged database)", kv->key, hex);
	return -EIO;
}

/* The rows of @commit, every one verified. */
static int load_rows(struct mlfs_store *s, const struct mlfs_id *commit,
		     struct mlfs_meta_kv **rows, size_t *n)
{
	int r = mlfs_meta_vmeta_list(s->meta, commit, rows, n);

	for (size_t i = 0; r == 0 && i < *n; i++)
		if ((*rows)[i].damaged)
			r = row_damaged(&(*rows)[i]);
	if (r < 0) {
		mlfs_meta_kv_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return r;
}

int mlfs_vmeta_get(struct mlfs_store *s, const struct mlfs_id *commit,
		   struct mlfs_kv_list *out)
{
	struct mlfs_meta_kv *rows = NULL;
	struct mlfs_kv *nv;
	size_t n = 0;
	int r = load_rows(s, commit, &rows, &n);

	if (r < 0 || n == 0)
		goto out;
	nv = realloc(out->v, (out->n + n) * sizeof(*nv));
	if (!nv) {
		r = -ENOMEM;
		goto out;
	}
	out->v = nv;
	out->cap = out->n + n;
	/* The strings move to @out; the rows keep nothing to free. */
	for (size_t i = 0; i < n; i++) {
		out->v[out->n++] = (struct mlfs_kv){ rows[i].key,
						     rows[i].value };
		rows[i].key = rows[i].value = NULL;
	}
	mlfs_kv_list_sort(out);
out:
	mlfs_meta_kv_free(rows, n);
	return r;
}
