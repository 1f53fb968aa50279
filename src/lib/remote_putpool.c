/*
 * remote_putpool.c - push's metadata objects (contents, trees, pack
 * lists), each a small create-only PUT, by a few threads with one S3
 * client each: one after another on one connection they cost a round
 * trip each (1,600 objects of 200 commits took 5 s). The caller hands
 * over only objects that may land in any order; what must come after
 * what (a tree after the trees it names, a commit after its parent) it
 * puts in separate batches.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "remote_impl.h"

struct putpool {
	const struct mlfs_remote *r;
	struct remote_put *v;
	size_t n;
	pthread_mutex_t lock;
	size_t next;        /* protected by lock */
	int err;            /* protected by lock: the first failure */
	char detail[512];   /* protected by lock: its message */
};

/* An object under its content-derived key: one there already holds
 * these bytes (another push wrote the same object). */
static int put_one(struct mlfs_s3 *s3, const struct remote_put *o)
{
	int r = mlfs_s3_put(s3, o->key, o->body.data, o->body.len,
			    MLFS_S3_CREATE_ONLY, NULL, NULL);

	return r == -EEXIST ? 0 : r;
}

static void fail(struct putpool *pp, int r)
{
	pthread_mutex_lock(&pp->lock);
	if (!pp->err) {
		pp->err = r;
		snprintf(pp->detail, sizeof(pp->detail), "%s",
			 mlfs_error_detail());
	}
	pthread_mutex_unlock(&pp->lock);
}

static void *worker(void *arg)
{
	struct putpool *pp = arg;
	struct mlfs_s3 *s3 = NULL;
	int r = mlfs_remote_connect(pp->r, &s3);

	if (r < 0)
		fail(pp, r);
	for (;;) {
		size_t i;

		pthread_mutex_lock(&pp->lock);
		i = pp->err ? pp->n : pp->next++;
		pthread_mutex_unlock(&pp->lock);
		if (i >= pp->n)
			break;
		r = put_one(s3, &pp->v[i]);
		if (r < 0)
			fail(pp, r);
	}
	mlfs_s3_close(s3);
	return NULL;
}

int remote_put_all(const struct mlfs_remote *r, struct mlfs_s3 *s3,
		   struct remote_put *v, size_t n, int jobs)
{
	struct putpool pp = { .r = r, .v = v, .n = n };
	pthread_t th[16];
	int nth = 0, e = 0;

	jobs = jobs <= 0 ? 4 : jobs > 16 ? 16 : jobs;
	if ((size_t)jobs > n / 8)
		jobs = (int)(n / 8); /* a thread's client costs a connection */
	if (jobs <= 1) {
		for (size_t i = 0; e == 0 && i < n; i++)
			e = put_one(s3, &v[i]);
		return e;
	}
	pthread_mutex_init(&pp.lock, NULL);
	for (int i = 0; i < jobs; i++) {
		if (pthread_create(&th[i], NULL, worker, &pp))
			break;
		nth++;
	}
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (nth == 0) { /* no threads to be had: this one does it */
		for (size_t i = 0; e == 0 && i < n; i++)
			e = put_one(s3, &v[i]);
	} else if (pp.err) {
		e = pp.err;
		mlfs_error_set("%s", pp.detail);
	}
	pthread_mutex_destroy(&pp.lock);
	return e;
}
