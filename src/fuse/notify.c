/*
 * notify.c - telling the kernel to forget names and inodes it caches
 * (fuse_lowlevel_notify_inval_entry/_inode): batches, sent by a caller
 * that holds nothing a request could wait for or from a thread of their
 * own (an entry's notification from inside a request on its directory
 * would wait for the lock that request holds), and one inode at once.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/util.h"
#include "ops.h"

struct mlfs_inval {
	struct fuse_session *se;
	size_t n, cap;
	struct inval_item {
		uint64_t id;     /* node to forget */
		uint64_t parent; /* its entry's directory, with... */
		char *name;      /* ...its name; NULL: the inode only */
	} *v;
};

struct mlfs_inval *mlfs_inval_new(struct fuse_session *se)
{
	struct mlfs_inval *j;

	if (!se)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j)
		j->se = se;
	return j;
}

int mlfs_inval_add(struct mlfs_inval *j, uint64_t id, uint64_t parent,
		   const char *name)
{
	struct inval_item *v = mlfs_grow(j->v, sizeof(*j->v), j->n, &j->cap);
	bool oom = false;

	if (!v)
		return -ENOMEM;
	j->v = v;
	v[j->n].id = id;
	v[j->n].parent = parent;
	v[j->n].name = mlfs_strdup_opt(name, &oom);
	if (oom)
		return -ENOMEM;
	j->n++;
	return 0;
}

static void *inval_thread(void *arg)
{
	struct mlfs_inval *j = arg;

	for (size_t i = 0; i < j->n; i++) {
		struct inval_item *it = &j->v[i];

		if (it->name)
			(void)fuse_lowlevel_notify_inval_entry(
				j->se, it->parent, it->name, strlen(it->name));
		(void)fuse_lowlevel_notify_inval_inode(j->se, it->id, 0, 0);
		free(it->name);
	}
	free(j->v);
	free(j);
	return NULL;
}

void mlfs_inval_send(struct mlfs_inval *j, bool wait)
{
	pthread_attr_t attr;
	pthread_t th;

	if (!j)
		return;
	if (wait) {
		inval_thread(j);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, inval_thread, j) != 0) {
		/* nothing sent: the timeouts catch up */
		for (size_t i = 0; i < j->n; i++)
			free(j->v[i].name);
		j->n = 0;
		inval_thread(j);
	}
	pthread_attr_destroy(&attr);
}

void mlfs_inval_inode_now(struct fuse_session *se, uint64_t id)
{
	if (se)
		(void)fuse_lowlevel_notify_inval_inode(se, id, 0, 0);
}
