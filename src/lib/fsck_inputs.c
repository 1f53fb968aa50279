/*
 * fsck_inputs.c - the inputs rows (lineage.h): each must match its check
 * value and name commits the store holds. A damaged row is a problem of
 * kind "input" naming the commit it belongs to and its input.
 */
#include <errno.h>
#include <stdlib.h>

#include "fsck_impl.h"
#include "mlfs/lineage.h"
#include "mlfs/repo.h"

/* Is @id a commit of the store (loaded, so verified)? */
static bool have_commit(struct fsck *f, const struct mlfs_id *id)
{
	struct mlfs_commit c;

	if (mlfs_meta_commit_get(f->s->meta, id, &c) < 0)
		return false;
	mlfs_meta_commit_release(&c);
	return true;
}

int fsck_check_inputs(struct fsck *f)
{
	struct mlfs_input *rows = NULL;
	struct mlfs_id *inputs = NULL;
	bool *damaged = NULL;
	size_t n = 0;
	long k = 0;
	int r = mlfs_inputs_all(f->s, &rows, &inputs, &damaged, &n);

	if (r < 0) {
		if (r == -ENOMEM)
			return r;
		k = fsck_problem(f, "database", NULL, AT_STORE,
				 "cannot read the inputs table: %s",
				 fsck_db_why(NULL, r));
		return k < 0 ? (int)k : 0;
	}
	for (size_t i = 0; k >= 0 && i < n; i++) {
		char ch[MLFS_ID_HEX_LEN + 1], ih[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&rows[i].commit, ch);
		mlfs_id_to_hex(&inputs[i], ih);
		if (damaged[i])
			k = fsck_problem(f, "input", ch, AT_STORE,
					 "inputs row for input %s: its fields "
					 "do not match its check value "
					 "(damaged database)", ih);
		else if (!have_commit(f, &rows[i].commit) ||
			 !have_commit(f, &inputs[i]))
			k = fsck_problem(f, "input", ch, AT_STORE,
					 "inputs row for input %s names a "
					 "commit that is missing or damaged",
					 ih);
	}
	free(rows);
	free(inputs);
	free(damaged);
	mlfs_error_clear();
	return k < 0 ? (int)k : 0;
}
