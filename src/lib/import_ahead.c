/*
 * import_ahead.c - the stat-ahead of `mlfs import` (import_ahead.h).
 *
 * The thread walks depth first in the import's order: a directory's
 * listing, then its subdirectories in name order, each opened relative
 * to its parent without following symlinks, as the import opens them.
 * Listings queue up to a bound of entries; the import takes them in the
 * same order and checks each against the directory it has open (device
 * and inode), so a tree that changed in between costs the stat-ahead,
 * never a wrong listing. Nothing here touches the store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_ahead.h"
#include "mlfs/util.h"

/* Entries queued before the thread waits for the import: ~10 MiB. */
#define AHEAD_MAX_QUEUED 65536

struct import_ahead {
	pthread_t thread;
	int root_fd; /* the thread's */
	pthread_mutex_t lock;
	pthread_cond_t ready, space;
	struct ahead_dir *head, *tail; /* protected by lock */
	size_t queued;                 /* entries in the queue; lock */
	bool done;                     /* the walk ended; lock */
	bool stop;                     /* lock */
};

void import_ahead_dir_free(struct ahead_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct ahead_entry *)a)->name,
		      ((const struct ahead_entry *)b)->name);
}

/* The sorted, stat'ed entries of the directory @d (fstat'ed as @dst),
 * or NULL when it cannot be read (the import finds out for itself). */
static struct ahead_dir *list_dir(DIR *d, const struct stat *dst)
{
	struct ahead_dir *ad = calloc(1, sizeof(*ad));
	size_t cap = 0;
	struct dirent *de;

	if (!ad)
		return NULL;
	ad->dev = dst->st_dev;
	ad->ino = dst->st_ino;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct ahead_entry *nv = mlfs_grow(ad->v, sizeof(*nv), ad->n,
						   &cap);

		if (!nv)
			goto fail;
		ad->v = nv;
		ad->v[ad->n].name = strdup(de->d_name);
		if (!ad->v[ad->n].name)
			goto fail;
		ad->n++;
	}
	if (errno)
		goto fail;
	if (ad->n)
		qsort(ad->v, ad->n, sizeof(*ad->v), cmp_entry);
	for (size_t i = 0; i < ad->n; i++) {
		struct ahead_entry *e = &ad->v[i];

		e->err = fstatat(dirfd(d), e->name, &e->st,
				 AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
	}
	return ad;
fail:
	import_ahead_dir_free(ad);
	return NULL;
}

/* Queue @ad, waiting while the queue is full. False when stopped (then
 * @ad is freed). */
static bool publish(struct import_ahead *a, struct ahead_dir *ad)
{
	bool ok;

	pthread_mutex_lock(&a->lock);
	while (!a->stop && a->queued && a->queued + ad->n > AHEAD_MAX_QUEUED)
		pthread_cond_wait(&a->space, &a->lock);
	ok = !a->stop;
	if (ok) {
		if (a->tail)
			a->tail->next = ad;
		else
			a->head = ad;
		a->tail = ad;
		a->queued += ad->n;
		pthread_cond_signal(&a->ready);
	}
	pthread_mutex_unlock(&a->lock);
	if (!ok)
		import_ahead_dir_free(ad);
	return ok;
}

/* Walk the directory open at @fd (taken). False: stop walking (stopped,
 * or a listing failed: what follows would be out of order). */
static bool walk(struct import_ahead *a, int fd)
{
	struct ahead_dir *ad;
	struct stat dst;
	char **subdirs;
	size_t nsub = 0;
	bool ok = true;
	DIR *d;

	if (fstat(fd, &dst) < 0) {
		close(fd);
		return false;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	ad = list_dir(d, &dst);
	if (!ad) {
		closedir(d);
		return false;
	}
	/* the subdirectories, from our copy of the listing: the queued one
	 * is the import's once it is published */
	subdirs = calloc(ad->n ? ad->n : 1, sizeof(*subdirs));
	if (!subdirs) {
		import_ahead_dir_free(ad);
		closedir(d);
		return false;
	}
	for (size_t i = 0; i < ad->n; i++)
		if (!ad->v[i].err && S_ISDIR(ad->v[i].st.st_mode) &&
		    !(subdirs[nsub++] = strdup(ad->v[i].name)))
			ok = false;
	if (ok)
		ok = publish(a, ad);
	else
		import_ahead_dir_free(ad);
	for (size_t i = 0; ok && i < nsub; i++) {
		int sfd = openat(dirfd(d), subdirs[i],
				 IMPORT_WALK_OPEN | O_DIRECTORY);

		/* one the import cannot open either: it reports it; one it
		 * can (a race): the next listing does not match, and the
		 * import goes on by itself */
		ok = sfd >= 0 && walk(a, sfd);
	}
	for (size_t i = 0; i < nsub; i++)
		free(subdirs[i]);
	free(subdirs);
	closedir(d);
	return ok;
}

static void *ahead_main(void *arg)
{
	struct import_ahead *a = arg;

	(void)walk(a, a->root_fd);
	pthread_mutex_lock(&a->lock);
	a->done = true;
	pthread_cond_signal(&a->ready);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int import_ahead_start(int root_fd, struct import_ahead **out)
{
	struct import_ahead *a = calloc(1, sizeof(*a));
	int r;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->root_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (a->root_fd < 0) {
		r = -errno;
		free(a);
		return r;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->ready, NULL);
	pthread_cond_init(&a->space, NULL);
	r = -pthread_create(&a->thread, NULL, ahead_main, a);
	if (r < 0) {
		close(a->root_fd);
		pthread_cond_destroy(&a->space);
		pthread_cond_destroy(&a->ready);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return r;
	}
	*out = a;
	return 0;
}

struct ahead_dir *import_ahead_take(struct import_ahead *a,
				    const struct stat *dst)
{
	struct ahead_dir *ad = NULL;

	if (!a)
		return NULL;
	pthread_mutex_lock(&a->lock);
	while (!a->stop && !a->head && !a->done)
		pthread_cond_wait(&a->ready, &a->lock);
	if (!a->stop && a->head) {
		ad = a->head;
		if (ad->dev == dst->st_dev && ad->ino == dst->st_ino) {
			a->head = ad->next;
			if (!a->head)
				a->tail = NULL;
			a->queued -= ad->n;
			ad->next = NULL;
		} else {
			ad = NULL;
			a->stop = true; /* out of step for good */
		}
		pthread_cond_signal(&a->space);
	}
	pthread_mutex_unlock(&a->lock);
	return ad;
}

void import_ahead_stop(struct import_ahead *a)
{
	struct ahead_dir *ad, *next;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->space);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (ad = a->head; ad; ad = next) {
		next = ad->next;
		import_ahead_dir_free(ad);
	}
	pthread_cond_destroy(&a->space);
	pthread_cond_destroy(&a->ready);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
