/*
 * remote_ahead.c - fetch's GETs ahead of its walk. The walk (commits,
 * then each commit's tree, depth first) learns the keys it will need a
 * step before it needs them: a tree's subtrees and contents once the
 * tree is in, a commit's parent once the commit is. It queues those the
 * store lacks here, a few threads with one S3 client each GET them, and
 * the walk takes each object when it gets there, so the round trips of
 * a long history overlap instead of adding up. Nothing is trusted here:
 * the walk checks every object it takes, as it checks those it GETs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_impl.h"

enum ahead_state { QUEUED, BUSY, DONE, TAKEN };

struct ahead_ent {
	char key[80];
	enum ahead_state state;
	int err;
	char detail[256];
	struct mlfs_s3_buf body;
};

struct remote_ahead {
	const struct mlfs_remote *r;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* all below protected by lock */
	struct ahead_ent **v; /* by queue order; entries never move */
	size_t n, cap;
	size_t next;          /* the first entry a worker may take */
	struct mlfs_idset ids[REMOTE_AHEAD_KINDS]; /* id -> index in v */
	bool stopping;
	pthread_t th[8];
	int nth;
};

static const char *const kind_dir[REMOTE_AHEAD_KINDS] = {
	"commits/", "trees/", "contents/"
};

static void *worker(void *arg)
{
	struct remote_ahead *a = arg;
	struct mlfs_s3 *s3 = NULL;
	int cr = mlfs_remote_connect(a->r, &s3);

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct ahead_ent *e;

		while (!a->stopping && a->next < a->n &&
		       a->v[a->next]->state != QUEUED)
			a->next++;
		if (a->stopping)
			break;
		if (a->next == a->n) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		e = a->v[a->next++];
		e->state = BUSY;
		pthread_mutex_unlock(&a->lock);
		/* a client that could not connect answers every GET with
		 * the reason: the walk reports it when it takes the object */
		e->err = cr < 0 ? cr : mlfs_s3_get(s3, e->key, 0, 0, &e->body);
		if (e->err < 0)
			snprintf(e->detail, sizeof(e->detail), "%s",
				 mlfs_error_detail());
		pthread_mutex_lock(&a->lock);
		e->state = DONE;
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	mlfs_s3_close(s3);
	return NULL;
}

int remote_ahead_start(const struct mlfs_remote *r, int jobs,
		       struct remote_ahead **out)
{
	struct remote_ahead *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->r = r;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (jobs > (int)MLFS_ARRAY_SIZE(a->th))
		jobs = (int)MLFS_ARRAY_SIZE(a->th);
	for (; a->nth < jobs; a->nth++)
		if (pthread_create(&a->th[a->nth], NULL, worker, a))
			break;
	*out = a; /* with no thread, every take is a miss: the walk GETs */
	return 0;
}

void remote_ahead_stop(struct remote_ahead *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < a->nth; i++)
		pthread_join(a->th[i], NULL);
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i]->body.p);
		free(a->v[i]);
	}
	free(a->v);
	for (size_t k = 0; k < REMOTE_AHEAD_KINDS; k++)
		mlfs_idset_release(&a->ids[k]);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int remote_ahead_want(struct remote_ahead *a, enum remote_ahead_kind kind,
		      const struct mlfs_id *id)
{
	struct ahead_ent *e;
	int r = 0;

	if (!a || !a->nth)
		return 0;
	pthread_mutex_lock(&a->lock);
	if (mlfs_idset_get(&a->ids[kind], id))
		goto out; /* queued before */
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		void *nv = realloc(a->v, nc * sizeof(*a->v));

		if (!nv) {
			r = -ENOMEM;
			goto out;
		}
		a->v = nv;
		a->cap = nc;
	}
	e = calloc(1, sizeof(*e));
	if (!e || mlfs_idset_add(&a->ids[kind], id, a->n, NULL) < 0) {
		free(e);
		r = -ENOMEM;
		goto out;
	}
	remote_obj_key(kind_dir[kind], id, e->key, sizeof(e->key));
	e->state = QUEUED;
	a->v[a->n++] = e;
	pthread_cond_broadcast(&a->cond); /* (the walk may wait on it too) */
out:
	pthread_mutex_unlock(&a->lock);
	return r;
}

int remote_ahead_take(struct remote_ahead *a, enum remote_ahead_kind kind,
		      const struct mlfs_id *id, struct mlfs_s3_buf *b)
{
	struct ahead_ent *e;
	const uint64_t *at;
	int r;

	if (!a)
		return -ENODATA;
	pthread_mutex_lock(&a->lock);
	at = mlfs_idset_get(&a->ids[kind], id);
	e = at ? a->v[*at] : NULL;
	if (!e || e->state == TAKEN || e->state == QUEUED) {
		/* never queued, or not begun: the walk GETs it itself */
		if (e)
			e->state = TAKEN;
		pthread_mutex_unlock(&a->lock);
		return -ENODATA;
	}
	while (e->state == BUSY)
		pthread_cond_wait(&a->cond, &a->lock);
	e->state = TAKEN;
	r = e->err;
	if (r < 0) {
		free(e->body.p);
		mlfs_error_set("%s", e->detail);
	} else {
		*b = e->body;
	}
	memset(&e->body, 0, sizeof(e->body));
	pthread_mutex_unlock(&a->lock);
	return r;
}
