/*
 * du.c - logical, stored and unique bytes per version. Each commit's
 * distinct chunks are gathered from its tree (identical subtrees and
 * contents visited once per commit); a store-wide count of referencing
 * commits per chunk then tells which bytes only one version holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/content.h"
#include "mlfs/du.h"
#include "mlfs/idset.h"
#include "mlfs/tree.h"
#include "store_impl.h"

struct walk {
	struct mlfs_store *s;
	struct mlfs_idset trees, contents, chunks; /* per commit */
	uint64_t files, logical;
};

static int walk_tree(struct walk *w, const struct mlfs_id *id)
{
	struct mlfs_tree *t;
	int r = mlfs_idset_add(&w->trees, id, 0, NULL);

	if (r <= 0)
		return r;
	r = mlfs_tree_load(w->s, id, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; r >= 0 && i < t->n; i++) {
		const struct mlfs_entry *e = &t->e[i];
		struct mlfs_content *c;

		if (e->type == MLFS_ENTRY_DIR) {
			r = walk_tree(w, &e->id);
			continue;
		}
		if (e->type != MLFS_ENTRY_FILE)
			continue;
		w->files++;
		w->logical += e->size;
		r = mlfs_idset_add(&w->contents, &e->id, 0, NULL);
		if (r <= 0)
			continue;
		r = mlfs_content_load(w->s, &e->id, 0, &c);
		if (r < 0)
			break;
		for (size_t j = 0; r >= 0 && j < c->n; j++)
			r = mlfs_idset_add(&w->chunks, &c->ids[j], 0, NULL);
		mlfs_content_free(c);
	}
	mlfs_tree_free(t);
	return r < 0 ? r : 0;
}

struct count_ctx {
	struct mlfs_store *s;
	struct mlfs_idset *global; /* chunk -> (refs << 32) | stored bytes */
	int err;
};

static int count_chunk(void *ctx, const struct mlfs_id *id,
		       uint64_t *value MLFS_UNUSED)
{
	struct count_ctx *cc = ctx;
	uint64_t *v = mlfs_idset_get(cc->global, id);
	struct mlfs_chunk_loc loc;
	int r;

	if (v) {
		*v += 1ull << 32;
		return 0;
	}
	r = mlfs_meta_chunk_get(cc->s->meta, id, &loc);
	if (r == -ENOENT)
		loc.stored_len = 0; /* fsck reports it; du counts nothing */
	else if (r < 0)
		return r;
	r = mlfs_idset_add(cc->global, id,
			   1ull << 32 | (uint64_t)(loc.stored_len +
						   MLFS_PACK_ENTRY_HEADER_LEN),
			   NULL);
	return r < 0 ? r : 0;
}

struct sum_ctx {
	const struct mlfs_idset *global;
	uint64_t stored, unique;
};

static int sum_chunk(void *ctx, const struct mlfs_id *id,
		     uint64_t *value MLFS_UNUSED)
{
	struct sum_ctx *sc = ctx;
	uint64_t v = *mlfs_idset_get(sc->global, id);

	sc->stored += v & 0xffffffffu;
	if (v >> 32 == 1)
		sc->unique += v & 0xffffffffu;
	return 0;
}

static int sum_all(void *ctx, const struct mlfs_id *id MLFS_UNUSED,
		   uint64_t *value)
{
	*(uint64_t *)ctx += *value & 0xffffffffu;
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct mlfs_du_row *x = a, *y = b;

	if (x->repo_id != y->repo_id)
		return x->repo_id < y->repo_id ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return memcmp(x->commit.b, y->commit.b, MLFS_ID_LEN);
}

int mlfs_du(struct mlfs_store *s, int64_t repo_id, const struct mlfs_id *only,
	    struct mlfs_du_row **rows, size_t *n, uint64_t *total_logical,
	    uint64_t *total_stored)
{
	struct mlfs_idset global = MLFS_IDSET_INIT, listed = MLFS_IDSET_INIT;
	struct mlfs_commit *cv = NULL;
	struct walk *walks = NULL;
	struct mlfs_du_row *out = NULL;
	size_t nc = 0, nout = 0;
	bool began;
	int r;

	*total_logical = *total_stored = 0;
	began = mlfs_meta_read_begin(s->meta);
	/* Uniqueness is store-wide, so every commit is walked. */
	r = mlfs_commit_list_all(s, 0, &cv, &nc);
	if (r < 0) {
		mlfs_meta_read_end(s->meta, began);
		return r;
	}
	walks = calloc(nc ? nc : 1, sizeof(*walks));
	out = calloc(nc ? nc : 1, sizeof(*out));
	if (!walks || !out) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		struct count_ctx cc = { s, &global, 0 };

		walks[i].s = s;
		if (cv[i].damaged) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&cv[i].id, hex);
			mlfs_error_set("commit %s: hash mismatch (damaged "
				       "database)", hex);
			r = -EIO;
			goto out;
		}
		r = walk_tree(&walks[i], &cv[i].tree);
		if (r < 0)
			goto out;
		r = mlfs_idset_each(&walks[i].chunks, count_chunk, &cc);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < nc; i++) {
		struct sum_ctx sc = { &global, 0, 0 };

		if (repo_id && cv[i].repo_id != repo_id)
			continue;
		if (only && memcmp(only->b, cv[i].id.b, MLFS_ID_LEN))
			continue;
		(void)mlfs_idset_each(&walks[i].chunks, sum_chunk, &sc);
		out[nout].commit = cv[i].id;
		out[nout].repo_id = cv[i].repo_id;
		out[nout].time = cv[i].time;
		out[nout].files = walks[i].files;
		out[nout].logical = walks[i].logical;
		out[nout].stored = sc.stored;
		out[nout].unique = sc.unique;
		*total_logical += walks[i].logical;
		nout++;
	}
	/* Stored total: each chunk of the listed commits counted once. */
	for (size_t i = 0; i < nc; i++) {
		struct count_ctx cc = { s, &listed, 0 };

		if (repo_id && cv[i].repo_id != repo_id)
			continue;
		if (only && memcmp(only->b, cv[i].id.b, MLFS_ID_LEN))
			continue;
		r = mlfs_idset_each(&walks[i].chunks, count_chunk, &cc);
		if (r < 0)
			goto out;
	}
	(void)mlfs_idset_each(&listed, sum_all, total_stored);
	qsort(out, nout, sizeof(*out), cmp_row);
	*rows = out;
	*n = nout;
	out = NULL;
	r = 0;
out:
	for (size_t i = 0; walks && i < nc; i++) {
		mlfs_idset_release(&walks[i].trees);
		mlfs_idset_release(&walks[i].contents);
		mlfs_idset_release(&walks[i].chunks);
	}
	free(walks);
	free(out);
	mlfs_idset_release(&global);
	mlfs_idset_release(&listed);
	mlfs_commit_list_free(cv, nc);
	mlfs_meta_read_end(s->meta, began);
	return r;
}
