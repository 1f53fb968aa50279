/*
 * dirahead.c - directory read-ahead. A walk (find, du, ls -R) lists the
 * subdirectories of a directory right after listing it, and each listing
 * loads a tree from SQLite: with a cold page cache, a few random disk
 * reads one after the other. When a directory is first listed, a few
 * threads load its subdirectories' trees, each with its own read-only
 * store handle (its own SQLite connection), so the disk serves them in
 * parallel, and add them, decoded and verified, to the daemon's tree
 * cache, where the daemon's own lookups find them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* Queued tree ids; when full, the oldest are dropped (a walk has moved
 * on from them). */
#define DIRAHEAD_QUEUE 4096u

struct mlfs_dirahead {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mlfs_id q[DIRAHEAD_QUEUE]; /* a deque; protected by lock */
	size_t head, len;                 /* protected by lock */
	bool stop;                        /* protected by lock */
	struct mlfs_tcache *trees;        /* borrowed */
	unsigned nthreads;
	pthread_t threads[4];
	struct mlfs_store *stores[4];     /* one per thread, owned */
};

struct worker_arg {
	struct mlfs_dirahead *d;
	unsigned i;
};

static void *worker(void *arg)
{
	struct mlfs_dirahead *d = ((struct worker_arg *)arg)->d;
	struct mlfs_store *s = d->stores[((struct worker_arg *)arg)->i];

	free(arg);
	for (;;) {
		struct mlfs_tree *t = NULL;
		struct mlfs_id id;

		pthread_mutex_lock(&d->lock);
		while (!d->len && !d->stop)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		/* newest first: a depth-first walk wants the children of
		 * the directory it just entered before that one's siblings */
		id = d->q[d->head];
		d->head = (d->head + 1) % DIRAHEAD_QUEUE;
		d->len--;
		pthread_mutex_unlock(&d->lock);
		/* into the tree cache, verified once for the daemon; errors
		 * are the listing's */
		if (mlfs_tcache_has(d->trees, &id))
			continue;
		if (mlfs_tree_load(s, &id, &t) == 0)
			mlfs_tcache_add(d->trees, t);
	}
}

int mlfs_dirahead_new(const char *store_dir, unsigned nthreads,
		      struct mlfs_tcache *trees, struct mlfs_dirahead **out)
{
	struct mlfs_dirahead *d;
	int r = 0;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->trees = trees;
	if (nthreads > MLFS_ARRAY_SIZE(d->threads))
		nthreads = MLFS_ARRAY_SIZE(d->threads);
	for (; d->nthreads < nthreads; d->nthreads++) {
		unsigned i = d->nthreads;
		struct worker_arg *a;

		r = mlfs_store_open(store_dir, MLFS_STORE_RDONLY,
				    &d->stores[i]);
		if (r < 0)
			goto out;
		mlfs_store_set_cache_size(d->stores[i], 0);
		a = malloc(sizeof(*a));
		if (!a) {
			r = -ENOMEM;
			goto out_store;
		}
		a->d = d;
		a->i = i;
		r = -pthread_create(&d->threads[i], NULL, worker, a);
		if (r < 0) {
			free(a);
			goto out_store;
		}
	}
	*out = d;
	return 0;
out_store:
	mlfs_store_close(d->stores[d->nthreads]);
	d->stores[d->nthreads] = NULL;
out:
	mlfs_dirahead_free(d);
	return r;
}

void mlfs_dirahead_free(struct mlfs_dirahead *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < d->nthreads; i++) {
		pthread_join(d->threads[i], NULL);
		mlfs_store_close(d->stores[i]);
	}
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void mlfs_dirahead_children(struct mlfs_dirahead *d,
			    const struct mlfs_tree *t)
{
	size_t ndirs = 0;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	/* pushed in reverse at the front, so the first child comes first */
	for (size_t i = t->n; i-- > 0 && !d->stop;) {
		if (t->e[i].type != MLFS_ENTRY_DIR)
			continue;
		if (d->len == DIRAHEAD_QUEUE)
			d->len--; /* drop the oldest, at the back */
		d->head = (d->head + DIRAHEAD_QUEUE - 1) % DIRAHEAD_QUEUE;
		d->q[d->head] = t->e[i].id;
		d->len++;
		ndirs++;
	}
	if (ndirs)
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}
