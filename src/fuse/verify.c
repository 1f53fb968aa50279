/*
 * verify.c - the whole-file digest check of sequential readers. Chunks
 * are verified against their ids as they are decoded; this checks that
 * they are the right chunks in the right order: every read hands the
 * whole chunks it used to the open file's hasher, in file order, and the
 * read that reaches EOF compares the result with the file's digest (the
 * tree entry's id). The kernel's read-ahead requests are served by
 * several threads and arrive out of order, so chunks past the next one
 * to hash are kept (their cache references, up to PENDING_MAX bytes)
 * until the gap fills; more than that, or a gap nobody is filling, and
 * the check is given up for this open file (a random reader). Relies on
 * mlfs_hasher (hash.h) keyed with the store's key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* Bytes of out-of-order chunks kept waiting for a gap to fill. */
#define PENDING_MAX (16u << 20)

int mlfs_digest_init(struct mlfs_digest *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	r = -pthread_mutex_init(&d->lock, NULL);
	if (r < 0)
		return r;
	r = -pthread_cond_init(&d->cond, NULL);
	if (r < 0)
		pthread_mutex_destroy(&d->lock);
	d->state = MLFS_DIGEST_TRACKING;
	return r;
}

/* Drop what is pending and the hasher. Called with d->lock held, or
 * when no read can run any more. */
static void drop_locked(struct mlfs_digest *d, struct mlfs_store *s)
{
	for (size_t i = 0; i < d->np; i++)
		mlfs_chunk_unref(s, d->pch[i]);
	free(d->pidx);
	free(d->pch);
	d->pidx = NULL;
	d->pch = NULL;
	d->np = d->pcap = 0;
	d->pbytes = 0;
	if (d->started)
		mlfs_hasher_release(&d->h);
	d->started = false;
}

void mlfs_digest_release(struct mlfs_digest *d, struct mlfs_store *s)
{
	drop_locked(d, s);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}

static void give_up_locked(struct mlfs_digest *d, struct mlfs_store *s)
{
	if (d->state != MLFS_DIGEST_TRACKING)
		return;
	drop_locked(d, s);
	d->state = MLFS_DIGEST_OFF;
}

/* Hash chunk @ch, the next one in file order; on the last one, decide. */
static void hash_next_locked(struct mlfs_digest *d,
			     const struct mlfs_content *c,
			     const struct mlfs_chunk *ch)
{
	struct mlfs_id got;

	mlfs_hasher_update(&d->h, ch->data, ch->len);
	if (++d->next < c->n)
		return;
	mlfs_hasher_final(&d->h, &got);
	d->state = mlfs_id_cmp(&got, &c->digest) ? MLFS_DIGEST_BAD :
						    MLFS_DIGEST_GOOD;
}

/* Keep chunk @idx for later; returns false when the bound is hit or
 * memory runs out (the caller gives up), true when kept or already
 * there (then *taken says whether the reference was taken). */
static bool keep_locked(struct mlfs_digest *d, size_t idx,
			const struct mlfs_chunk *ch, bool *taken)
{
	size_t pos = d->np;

	*taken = false;
	/* runs mostly arrive in file order: search from the back */
	while (pos > 0 && d->pidx[pos - 1] > idx)
		pos--;
	if (pos > 0 && d->pidx[pos - 1] == idx)
		return true;
	if (d->pbytes + ch->len > PENDING_MAX)
		return false;
	if (d->np == d->pcap) {
		size_t nc = d->pcap ? d->pcap * 2 : 64;
		size_t *pi = realloc(d->pidx, nc * sizeof(*pi));
		const struct mlfs_chunk **pc;

		if (!pi)
			return false;
		d->pidx = pi;
		pc = realloc(d->pch, nc * sizeof(*pc));
		if (!pc)
			return false;
		d->pch = pc;
		d->pcap = nc;
	}
	memmove(d->pidx + pos + 1, d->pidx + pos,
		(d->np - pos) * sizeof(*d->pidx));
	memmove(d->pch + pos + 1, d->pch + pos,
		(d->np - pos) * sizeof(*d->pch));
	d->pidx[pos] = idx;
	d->pch[pos] = ch;
	d->np++;
	d->pbytes += ch->len;
	*taken = true;
	return true;
}

/* Hash the pending chunks that now come next. */
static void drain_locked(struct mlfs_digest *d, struct mlfs_store *s,
			 const struct mlfs_content *c)
{
	size_t k = 0;

	while (k < d->np && d->pidx[k] < d->next)
		k++; /* hashed meanwhile by another read: drop */
	while (k < d->np && d->pidx[k] == d->next &&
	       d->state == MLFS_DIGEST_TRACKING) {
		hash_next_locked(d, c, d->pch[k]);
		k++;
	}
	if (!k)
		return;
	for (size_t i = 0; i < k; i++) {
		d->pbytes -= d->pch[i]->len;
		mlfs_chunk_unref(s, d->pch[i]);
	}
	memmove(d->pidx, d->pidx + k, (d->np - k) * sizeof(*d->pidx));
	memmove(d->pch, d->pch + k, (d->np - k) * sizeof(*d->pch));
	d->np -= k;
}

int mlfs_digest_begin(struct mlfs_digest *d)
{
	int st;

	pthread_mutex_lock(&d->lock);
	d->inflight++;
	st = d->state;
	pthread_mutex_unlock(&d->lock);
	return st;
}

void mlfs_digest_feed(struct mlfs_digest *d, struct mlfs_store *s,
		      const struct mlfs_content *c, size_t first,
		      const struct mlfs_chunk **ch, size_t n)
{
	pthread_mutex_lock(&d->lock);
	for (size_t k = 0; k < n && d->state == MLFS_DIGEST_TRACKING; k++) {
		size_t idx = first + k;
		bool taken;

		if (idx < d->next)
			continue; /* a re-read: hashed already */
		if (idx > d->next) {
			if (!keep_locked(d, idx, ch[k], &taken)) {
				give_up_locked(d, s);
				break;
			}
			if (taken)
				ch[k] = NULL; /* the reference is ours now */
			continue;
		}
		if (!d->started) {
			if (mlfs_hasher_init(&d->h, &mlfs_store_config(s)->key)
			    < 0) {
				give_up_locked(d, s);
				break;
			}
			d->started = true;
		}
		hash_next_locked(d, c, ch[k]);
		drain_locked(d, s, c);
	}
	if (d->state != MLFS_DIGEST_TRACKING)
		drop_locked(d, s);
	pthread_mutex_unlock(&d->lock);
}

int mlfs_digest_end(struct mlfs_digest *d, struct mlfs_store *s, bool eof)
{
	int st;

	pthread_mutex_lock(&d->lock);
	d->inflight--;
	/* the read that reaches EOF waits for the reads still running
	 * (they may fill a gap); once none is, a gap stays a gap */
	while (eof && d->state == MLFS_DIGEST_TRACKING && d->inflight > 0)
		pthread_cond_wait(&d->cond, &d->lock);
	if (eof)
		give_up_locked(d, s);
	st = d->state;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return st;
}
