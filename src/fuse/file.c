/*
 * file.c - open files and sequential read-ahead. An open loads the file's
 * chunk list with every chunk's location once (the only SQLite work of a
 * read), shared by all opens of the node. A small worker pool decodes the
 * chunks a sequential reader is about to ask for into the store's bounded
 * chunk cache, so decompression and hashing overlap the kernel's requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* Queued prefetches; more are dropped (the reader decodes them itself). */
#define QUEUE_LEN 256u

struct job {
	struct mlfs_ofile *f;
	size_t idx;
};

struct mlfs_prefetch {
	struct mlfs_store *store;  /* borrowed */
	struct mlfs_itable *itable;/* borrowed: its lock guards ofile refs */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job q[QUEUE_LEN];   /* protected by lock */
	size_t head, len;          /* protected by lock */
	bool stop;                 /* protected by lock */
	unsigned nthreads;
	pthread_t threads[8];
};

static void ofile_free(struct mlfs_ofile *f)
{
	if (!f)
		return;
	mlfs_content_free(f->c);
	pthread_mutex_destroy(&f->ra_lock);
	free(f);
}

static void ofile_put(struct mlfs_itable *t, struct mlfs_ofile *f)
{
	bool last;

	pthread_mutex_lock(&t->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

int mlfs_ofile_open(struct mlfs_itable *t, struct mlfs_store *s,
		    struct mlfs_node *n, struct mlfs_ofile **out)
{
	struct mlfs_ofile *f = NULL;
	int r;

	pthread_mutex_lock(&t->lock);
	if (n->file) {
		n->file->opens++;
		n->file->refs++;
		*out = n->file;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	pthread_mutex_unlock(&t->lock);

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	r = -pthread_mutex_init(&f->ra_lock, NULL);
	if (r < 0) {
		free(f);
		return r;
	}
	r = mlfs_content_load(s, &n->id, MLFS_CONTENT_LOCATE, &f->c);
	if (r < 0)
		goto out;
	if (f->c->size != n->size) {
		r = -EBADMSG; /* tree and content disagree: never serve it */
		goto out;
	}

	pthread_mutex_lock(&t->lock);
	if (n->file) {
		/* another open won the race; use its copy */
		n->file->opens++;
		n->file->refs++;
		*out = n->file;
	} else {
		f->node = n;
		f->opens = 1;
		f->refs = 1;
		n->file = f;
		*out = f;
		f = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	r = 0;
out:
	ofile_free(f);
	return r;
}

void mlfs_ofile_close(struct mlfs_itable *t, struct mlfs_ofile *f)
{
	bool last;

	pthread_mutex_lock(&t->lock);
	if (--f->opens == 0 && f->node) {
		/* detach now: queued prefetches may outlive the node */
		f->node->file = NULL;
		f->node = NULL;
	}
	last = --f->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

static void *worker(void *arg)
{
	struct mlfs_prefetch *p = arg;

	for (;;) {
		struct job j;
		const struct mlfs_chunk *ch;

		pthread_mutex_lock(&p->lock);
		while (!p->len && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = p->q[p->head];
		p->head = (p->head + 1) % QUEUE_LEN;
		p->len--;
		pthread_mutex_unlock(&p->lock);

		/* errors are left for the read itself to meet and report */
		if (mlfs_content_get_chunk(p->store, j.f->c, j.idx, &ch) == 0)
			mlfs_chunk_unref(p->store, ch);
		ofile_put(p->itable, j.f);
	}
}

int mlfs_prefetch_new(struct mlfs_store *s, struct mlfs_itable *t,
		      unsigned nthreads, struct mlfs_prefetch **out)
{
	struct mlfs_prefetch *p;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->store = s;
	p->itable = t;
	if (nthreads > MLFS_ARRAY_SIZE(p->threads))
		nthreads = MLFS_ARRAY_SIZE(p->threads);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (; p->nthreads < nthreads; p->nthreads++) {
		r = -pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (r < 0)
			goto out;
	}
	*out = p;
	p = NULL;
	r = 0;
out:
	mlfs_prefetch_free(p);
	return r;
}

void mlfs_prefetch_free(struct mlfs_prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (; p->len; p->len--) {
		ofile_put(p->itable, p->q[p->head].f);
		p->head = (p->head + 1) % QUEUE_LEN;
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void mlfs_ofile_readahead(struct mlfs_prefetch *p, struct mlfs_ofile *f,
			  uint64_t off, uint64_t end, size_t window)
{
	const struct mlfs_content *c = f->c;
	size_t first, last;
	uint64_t limit;

	if (!p || !window || end >= c->size)
		return;
	pthread_mutex_lock(&f->ra_lock);
	/* sequential: this read starts where the last one ended, or overlaps
	 * it (the kernel's readahead windows can arrive out of order) */
	if (off > f->ra_end || off + window < f->ra_end) {
		f->ra_end = end;
		pthread_mutex_unlock(&f->ra_lock);
		return;
	}
	if (end > f->ra_end)
		f->ra_end = end;
	first = mlfs_content_chunk_index(c, end);
	limit = end + window < c->size ? end + window : c->size - 1;
	last = mlfs_content_chunk_index(c, limit);
	if (first < f->ra_next)
		first = f->ra_next;
	if (first > last) {
		pthread_mutex_unlock(&f->ra_lock);
		return;
	}
	f->ra_next = last + 1;
	pthread_mutex_unlock(&f->ra_lock);

	pthread_mutex_lock(&p->lock);
	for (size_t i = first; i <= last && p->len < QUEUE_LEN && !p->stop;
	     i++) {
		pthread_mutex_lock(&p->itable->lock);
		f->refs++;
		pthread_mutex_unlock(&p->itable->lock);
		p->q[(p->head + p->len) % QUEUE_LEN] =
			(struct job){ .f = f, .idx = i };
		p->len++;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
