/*
 * file.c - open files and sequential read-ahead. An open loads the file's
 * chunk list with every chunk's location once (the only SQLite work of a
 * read), shared by all opens of the node. For versions the first read
 * loads it (an open the page cache answers costs no SQL) and the node
 * keeps it until the file's digest matched, its last open is released,
 * or (with no FUSE open) the kernel forgets the node. A small worker
 * pool decodes the chunks a sequential reader is about to ask for into
 * the store's bounded chunk cache, so decompression and hashing overlap
 * the kernel's requests. A per-chunk state makes sure no chunk is decoded twice at once: a read
 * that needs a chunk a worker is decoding waits for it, and takes over
 * one that is only queued. Disk read-ahead of the packs is the kernel's
 * (see docs/mount.md for why not posix_fadvise).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* Queued prefetches; more are dropped (the reader decodes them itself). */
#define QUEUE_LEN 512u

/* Per-chunk decode state (mlfs_ofile.state). */
enum {
	CH_IDLE = 0, /* nobody is working on it (it may well be cached) */
	CH_QUEUED,   /* a prefetch job is queued for it */
	CH_BUSY,     /* a thread is decoding it: wait, do not redo it */
};

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
	if (f->dg_init)
		mlfs_digest_release(&f->dg);
	mlfs_content_free(f->c);
	free(f->state);
	pthread_cond_destroy(&f->ra_cond);
	pthread_mutex_destroy(&f->ra_lock);
	free(f);
}

void mlfs_ofile_hold(struct mlfs_itable *t, struct mlfs_ofile *f)
{
	pthread_mutex_lock(&t->lock);
	f->refs++;
	pthread_mutex_unlock(&t->lock);
}

void mlfs_ofile_put(struct mlfs_itable *t, struct mlfs_ofile *f)
{
	bool last;

	pthread_mutex_lock(&t->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

static struct mlfs_ofile *ofile_new(void)
{
	struct mlfs_ofile *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (pthread_mutex_init(&f->ra_lock, NULL)) {
		free(f);
		return NULL;
	}
	if (pthread_cond_init(&f->ra_cond, NULL)) {
		pthread_mutex_destroy(&f->ra_lock);
		free(f);
		return NULL;
	}
	if (mlfs_digest_init(&f->dg) < 0) {
		ofile_free(f);
		return NULL;
	}
	f->dg_init = true;
	return f;
}

/* A working tree's node can come to hold other bytes (its branch moved
 * under it): an open state of the old ones stays with the opens that
 * have it, and is not shared with new ones. Called with the itable
 * lock held. A version's node never changes its content. */
static void detach_stale_locked(struct mlfs_node *n)
{
	if (n->file && mlfs_id_cmp(&n->file->c->digest, &n->id)) {
		n->file->node = NULL;
		n->file = NULL;
	}
}

/* A new open state of content @id of @size bytes (a node's, as read
 * under the lock), its chunk list loaded, not yet the node's. Returns 0
 * or the mlfs_content_load() error, -EBADMSG (the tree and the content
 * disagree on the size), -ENOMEM. */
static int ofile_load(struct mlfs_store *s, const struct mlfs_id *id,
		      uint64_t size, struct mlfs_ofile **out)
{
	struct mlfs_ofile *f = ofile_new();
	int r;

	if (!f)
		return -ENOMEM;
	r = mlfs_content_load(s, id, MLFS_CONTENT_LOCATE, &f->c);
	if (r < 0)
		goto out;
	if (f->c->size != size) {
		r = -EBADMSG; /* tree and content disagree: never serve it */
		goto out;
	}
	f->state = calloc(f->c->n ? f->c->n : 1, 1);
	if (!f->state) {
		r = -ENOMEM;
		goto out;
	}
	*out = f;
	f = NULL;
	r = 0;
out:
	ofile_free(f);
	return r;
}

int mlfs_ofile_open(struct mlfs_itable *t, struct mlfs_store *s,
		    struct mlfs_node *n, struct mlfs_ofile **out)
{
	struct mlfs_ofile *f = NULL;
	struct mlfs_id id;
	uint64_t size;
	int r;

	pthread_mutex_lock(&t->lock);
	detach_stale_locked(n);
	if (n->file) {
		n->file->opens++;
		n->file->refs++;
		*out = n->file;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	/* a working tree's open may change them meanwhile (wt.c) */
	id = n->id;
	size = n->size;
	pthread_mutex_unlock(&t->lock);

	r = ofile_load(s, &id, size, &f);
	if (r < 0)
		return r;
	pthread_mutex_lock(&t->lock);
	detach_stale_locked(n);
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
	ofile_free(f);
	return 0;
}

int mlfs_ofile_get(struct mlfs_itable *t, struct mlfs_store *s,
		   struct mlfs_node *n, struct mlfs_ofile **out)
{
	struct mlfs_ofile *f = NULL;
	struct mlfs_id id;
	uint64_t size;
	int r;

	pthread_mutex_lock(&t->lock);
	if (n->file) {
		n->file->refs++;
		*out = n->file;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	id = n->id;
	size = n->size;
	pthread_mutex_unlock(&t->lock);

	r = ofile_load(s, &id, size, &f);
	if (r < 0)
		return r;
	pthread_mutex_lock(&t->lock);
	if (n->file) {
		/* another read won the race; use its copy */
		n->file->refs++;
		*out = n->file;
	} else {
		/* one reference is the node's, one the caller's */
		f->node = n;
		f->pinned = true;
		f->refs = 2;
		n->file = f;
		*out = f;
		f = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	ofile_free(f);
	return 0;
}

/* Node @n lets its pinned open state go, if it has one (the caller
 * holds the itable lock); returns whether that was the last reference,
 * for the caller to free it after unlocking. */
static bool unpin_locked(struct mlfs_node *n, struct mlfs_ofile **out)
{
	struct mlfs_ofile *f = n->file;

	*out = NULL;
	if (!f || !f->pinned)
		return false;
	f->pinned = false;
	f->node = NULL;
	n->file = NULL;
	*out = f;
	return --f->refs == 0;
}

void mlfs_ofile_done(struct mlfs_itable *t, struct mlfs_node *n,
		     struct mlfs_ofile *f)
{
	struct mlfs_ofile *pinned;
	bool good;

	pthread_mutex_lock(&f->dg.lock);
	good = f->dg.state == MLFS_DIGEST_GOOD;
	pthread_mutex_unlock(&f->dg.lock);
	pthread_mutex_lock(&t->lock);
	/* verified: what the kernel caches is right, and a read that
	 * misses the page cache later starts a check of its own */
	if (good && n->file == f)
		(void)unpin_locked(n, &pinned); /* ours keeps it alive */
	pthread_mutex_unlock(&t->lock);
	mlfs_ofile_put(t, f);
}

void mlfs_ofile_node_open(struct mlfs_itable *t, struct mlfs_node *n)
{
	pthread_mutex_lock(&t->lock);
	n->vopens++;
	pthread_mutex_unlock(&t->lock);
}

void mlfs_ofile_node_close(struct mlfs_itable *t, struct mlfs_node *n)
{
	struct mlfs_ofile *f = NULL;
	bool last = false;

	if (!n)
		return;
	pthread_mutex_lock(&t->lock);
	/* the last open gone: a file read in part (or not verified) does
	 * not keep its chunk list while the kernel keeps the inode */
	if (n->vopens && --n->vopens == 0)
		last = unpin_locked(n, &f);
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

void mlfs_ofile_unpin(struct mlfs_itable *t, struct mlfs_node *n)
{
	struct mlfs_ofile *f;
	bool last;

	pthread_mutex_lock(&t->lock);
	last = unpin_locked(n, &f);
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

void mlfs_ofile_close(struct mlfs_itable *t, struct mlfs_ofile *f)
{
	bool last;

	pthread_mutex_lock(&t->lock);
	if (--f->opens == 0 && f->node && !f->pinned) {
		/* detach now: queued prefetches may outlive the node */
		f->node->file = NULL;
		f->node = NULL;
	}
	last = --f->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (last)
		ofile_free(f);
}

/* Chunk @idx is no longer being decoded by the caller. */
static void chunk_done(struct mlfs_ofile *f, size_t idx)
{
	pthread_mutex_lock(&f->ra_lock);
	f->state[idx] = CH_IDLE;
	if (f->waiters)
		pthread_cond_broadcast(&f->ra_cond);
	pthread_mutex_unlock(&f->ra_lock);
}

int mlfs_ofile_get_chunk(struct mlfs_store *s, struct mlfs_ofile *f,
			 size_t idx, const struct mlfs_chunk **out,
			 struct mlfs_hashsplit_part **part)
{
	int r;

	*part = NULL;
	if (idx >= f->c->n)
		return -EINVAL;
	pthread_mutex_lock(&f->ra_lock);
	while (f->state[idx] == CH_BUSY) {
		f->waiters++;
		pthread_cond_wait(&f->ra_cond, &f->ra_lock);
		f->waiters--;
	}
	/* idle or only queued: decode it here (the queued job will find it
	 * taken), while others needing it wait for us */
	f->state[idx] = CH_BUSY;
	pthread_mutex_unlock(&f->ra_lock);
	r = mlfs_content_get_chunk(s, f->c, idx, out);
	/* a chunk just decoded is cheapest to hash now: its share of the
	 * digest goes to the caller, for after its reply (a chunk two reads
	 * share may get two; the digest keeps one) */
	if (r == 0)
		*part = mlfs_digest_make(&f->dg, s, f->c, idx, *out);
	chunk_done(f, idx);
	return r;
}

static void *worker(void *arg)
{
	struct mlfs_prefetch *p = arg;

	for (;;) {
		struct job j;
		const struct mlfs_chunk *ch;
		bool mine;

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

		pthread_mutex_lock(&j.f->ra_lock);
		mine = j.f->state[j.idx] == CH_QUEUED;
		if (mine)
			j.f->state[j.idx] = CH_BUSY;
		pthread_mutex_unlock(&j.f->ra_lock);
		/* errors are left for the read itself to meet and report */
		if (mine) {
			if (mlfs_content_get_chunk(p->store, j.f->c, j.idx,
						   &ch) == 0) {
				/* just decoded: cheapest to hash now */
				mlfs_digest_chunk(&j.f->dg, p->store, j.f->c,
						  j.idx, ch);
				mlfs_chunk_unref(p->store, ch);
			}
			chunk_done(j.f, j.idx);
		}
		mlfs_ofile_put(p->itable, j.f);
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
		mlfs_ofile_put(p->itable, p->q[p->head].f);
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
	size_t first, last, i, nq;
	struct job jobs[64];
	bool seq;

	if (!p || !window || !c->n)
		return;
	pthread_mutex_lock(&f->ra_lock);
	/* sequential: this read starts where the last one ended, or overlaps
	 * it (the kernel's readahead requests are served by several threads
	 * and arrive out of order), after a read that did the same; a reader
	 * starting at 0 is taken to be sequential at once (cat, cp,
	 * np.load). One random read that happens to land near the last one
	 * does not start read-ahead. */
	seq = off <= f->ra_end && off + window >= f->ra_end &&
	      (f->ra_seq || off == 0);
	if (off > f->ra_end || off + window < f->ra_end)
		f->ra_next = 0; /* a jump: start over from here */
	f->ra_seq = seq || (off == f->ra_end && f->ra_end);
	if (end > f->ra_end || !seq)
		f->ra_end = end;
	if (!seq || end >= c->size) {
		pthread_mutex_unlock(&f->ra_lock);
		return;
	}
	first = mlfs_content_chunk_index(c, end);
	last = mlfs_content_chunk_index(c, end + window < c->size ?
					   end + window : c->size - 1);
	if (first < f->ra_next)
		first = f->ra_next;
	nq = 0;
	for (i = first; i <= last && nq < MLFS_ARRAY_SIZE(jobs); i++) {
		if (f->state[i] != CH_IDLE)
			continue;
		f->state[i] = CH_QUEUED;
		jobs[nq++] = (struct job){ .f = f, .idx = i };
	}
	if (i > f->ra_next)
		f->ra_next = i;
	pthread_mutex_unlock(&f->ra_lock);
	if (!nq)
		return;

	pthread_mutex_lock(&p->itable->lock);
	f->refs += (unsigned)nq;
	pthread_mutex_unlock(&p->itable->lock);
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < nq && p->len < QUEUE_LEN && !p->stop; i++) {
		p->q[(p->head + p->len) % QUEUE_LEN] = jobs[i];
		p->len++;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (i < nq) {
		/* queue full: leave those to the reader */
		pthread_mutex_lock(&f->ra_lock);
		for (size_t k = i; k < nq; k++)
			if (f->state[jobs[k].idx] == CH_QUEUED)
				f->state[jobs[k].idx] = CH_IDLE;
		pthread_mutex_unlock(&f->ra_lock);
		pthread_mutex_lock(&p->itable->lock);
		f->refs -= (unsigned)(nq - i);
		pthread_mutex_unlock(&p->itable->lock);
	}
}
