/*
 * remote_prefetch.c - mlfs fetch --data: read every chunk of the versions
 * named that a remote holds, so that they are in the local cache and the
 * versions read without the bucket (as long as the cache keeps them:
 * versions that together need more than the remote's cache bound are
 * refused up front, or the last would evict the first).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/content.h"
#include "mlfs/tree.h"
#include "remote_impl.h"

struct prefetch {
	struct mlfs_store *s;
	struct mlfs_idset seen_t, seen_c, chunks;
	struct mlfs_content **v;  /* the contents to read */
	size_t n, cap;
	uint64_t stored;          /* bytes of remote chunks, each once */
	char *remote;             /* the first remote met */
	struct mlfs_remote_prefetch_stats *st;
};

static int add_content(struct prefetch *p, const struct mlfs_id *d)
{
	struct mlfs_content *c = NULL;
	int r = mlfs_idset_add(&p->seen_c, d, 0, NULL);

	if (r <= 0)
		return r < 0 ? -ENOMEM : 0;
	r = mlfs_content_load(p->s, d, MLFS_CONTENT_LOCATE, &c);
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		char *rem = NULL;
		int k = mlfs_meta_rpack_get(p->s->meta, c->locs[i].pack_id,
					    &rem, NULL);

		if (k == -ENOENT)
			continue; /* local */
		if (k < 0) {
			r = k;
			break;
		}
		if (!p->remote)
			p->remote = rem;
		else
			free(rem);
		k = mlfs_idset_add(&p->chunks, &c->ids[i], 0, NULL);
		if (k < 0)
			r = -ENOMEM;
		else if (k == 1)
			p->stored += MLFS_PACK_ENTRY_HEADER_LEN +
				     c->locs[i].stored_len;
	}
	if (r == 0 && p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		void *nv = realloc(p->v, nc * sizeof(*p->v));

		if (!nv)
			r = -ENOMEM;
		else {
			p->v = nv;
			p->cap = nc;
		}
	}
	if (r < 0) {
		mlfs_content_free(c);
		return r;
	}
	p->v[p->n++] = c;
	return 0;
}

static int walk(struct prefetch *p, const struct mlfs_id *tree)
{
	struct mlfs_tree *t = NULL;
	int r = mlfs_idset_add(&p->seen_t, tree, 0, NULL);

	if (r <= 0)
		return r < 0 ? -ENOMEM : 0;
	r = mlfs_tree_load(p->s, tree, &t);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (t->e[i].type == MLFS_ENTRY_DIR)
			r = walk(p, &t->e[i].id);
		else if (t->e[i].type == MLFS_ENTRY_FILE)
			r = add_content(p, &t->e[i].id);
	}
	mlfs_tree_free(t);
	return r;
}

int mlfs_remote_prefetch(struct mlfs_store *s, const struct mlfs_id *commits,
			 size_t ncommits,
			 struct mlfs_remote_prefetch_stats *st)
{
	struct prefetch p = { .s = s, .st = st };
	struct mlfs_remote r = { 0 };
	int e = 0;

	memset(st, 0, sizeof(*st));
	/* all of them walked first: a chunk they share counts once */
	for (size_t i = 0; e == 0 && i < ncommits; i++) {
		struct mlfs_commit c;

		e = mlfs_commit_get(s, &commits[i], &c);
		if (e == 0) {
			e = walk(&p, &c.tree);
			mlfs_commit_release(&c);
		}
	}
	if (e == 0 && p.remote) {
		e = mlfs_remote_get(s, p.remote, &r);
		if (e == 0 && p.stored > (r.cache_size ? r.cache_size :
					  MLFS_REMOTE_CACHE_DEFAULT)) {
			mlfs_error_set("the chunks in remote '%s' take %llu "
				       "bytes, more than its cache holds "
				       "(mlfs remote add --cache-size)",
				       p.remote,
				       (unsigned long long)p.stored);
			e = -EFBIG;
		}
	}
	/* every chunk through the store's read path: fetched, verified,
	 * cached (a local one is only verified) */
	for (size_t i = 0; e == 0 && i < p.n; i++)
		for (size_t j = 0; e == 0 && j < p.v[i]->n; j++) {
			const struct mlfs_chunk *ch;

			e = mlfs_content_get_chunk(s, p.v[i], j, &ch);
			if (e == 0)
				mlfs_chunk_unref(s, ch);
		}
	if (e == 0) {
		st->chunks = p.chunks.count;
		st->bytes = p.stored;
		st->files = p.n;
	}
	for (size_t i = 0; i < p.n; i++)
		mlfs_content_free(p.v[i]);
	free(p.v);
	free(p.remote);
	mlfs_remote_release(&r);
	mlfs_idset_release(&p.seen_t);
	mlfs_idset_release(&p.seen_c);
	mlfs_idset_release(&p.chunks);
	return e;
}
