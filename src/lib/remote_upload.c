/*
 * remote_upload.c - push's pack upload: each local pack whole as one
 * create-only PUT, then its index object (docs/format.md#bucket-layout),
 * by a few threads with one S3 client each (a client is not
 * thread-safe). A pack is mapped, not read: 64 MiB per thread in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote_impl.h"

struct ipack {
	uint64_t id;
	struct mlfs_remote_idx_entry *e;
	size_t n, cap;
};

struct upload {
	struct mlfs_store *s;
	const struct mlfs_remote *r;
	struct ipack *packs;
	size_t npacks;
	struct mlfs_idset which; /* pack id -> index in packs */
	int jobs;
	mlfs_remote_progress_fn progress;
	void *ctx;
	pthread_mutex_t lock;
	size_t next;         /* protected by lock */
	uint64_t done, total;/* protected by lock */
	int err;             /* protected by lock: first failure */
	bool paused;         /* protected by lock: the test pause was taken */
	char detail[512];    /* protected by lock: its message */
};

static int collect(void *ctx, const struct mlfs_id *id,
		   const struct mlfs_chunk_loc *loc)
{
	struct upload *u = ctx;
	struct mlfs_id pid;
	uint64_t *ix;
	struct ipack *p;

	remote_pack_as_id(loc->pack_id, &pid);
	ix = mlfs_idset_get(&u->which, &pid);
	if (!ix)
		return 0;
	p = &u->packs[*ix];
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 256;
		void *ne = realloc(p->e, nc * sizeof(*p->e));

		if (!ne)
			return -ENOMEM;
		p->e = ne;
		p->cap = nc;
	}
	p->e[p->n].id = *id;
	p->e[p->n].loc = *loc;
	p->n++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return mlfs_id_cmp(&((const struct mlfs_remote_idx_entry *)a)->id,
			   &((const struct mlfs_remote_idx_entry *)b)->id);
}

/* PUT @key create-only; an existing object of the same size (a pack of
 * a push that died before its index) or the same bytes (an index) is
 * ours from before: pack ids are random 64-bit names. */
static int put_once(struct mlfs_s3 *s3, const char *key, const void *p,
		    size_t len, bool compare)
{
	struct mlfs_s3_buf b = { 0 };
	uint64_t size = 0;
	int r = mlfs_s3_put(s3, key, p, len, MLFS_S3_CREATE_ONLY, NULL, NULL);

	if (r != -EEXIST)
		return r;
	if (!compare) {
		r = mlfs_s3_head(s3, key, &size, NULL);
		if (r == 0 && size != len) {
			mlfs_error_set("remote object %s exists with %llu "
				       "bytes, not %zu", key,
				       (unsigned long long)size, len);
			r = -EEXIST;
		}
		return r;
	}
	r = mlfs_s3_get(s3, key, 0, 0, &b);
	if (r == 0 && (b.len != len || memcmp(b.p, p, len))) {
		mlfs_error_set("remote object %s exists with other bytes", key);
		r = -EEXIST;
	}
	free(b.p);
	return r;
}

static int upload_one(struct upload *u, struct mlfs_s3 *s3, struct ipack *p)
{
	char name[40], path[4096], key[64];
	struct mlfs_buf idx = MLFS_BUF_INIT;
	void *map = MAP_FAILED;
	uint64_t pid;
	struct stat st;
	int fd, r;

	mlfs_pack_name(p->id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", u->s->packs_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		mlfs_error_set("cannot read pack %s", name);
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = -EBADMSG;
	if ((uint64_t)st.st_size < MLFS_PACK_HEADER_LEN)
		goto out;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	r = mlfs_pack_header_check(map, &pid);
	if (r == 0 && pid != p->id)
		r = -EBADMSG;
	if (r < 0) {
		mlfs_error_set("pack %s: header damaged", name);
		goto out;
	}
	qsort(p->e, p->n, sizeof(*p->e), cmp_entry);
	r = mlfs_remote_idx_format(&u->s->cfg.key, p->id, (uint64_t)st.st_size,
				   p->e, p->n, &idx);
	mlfs_remote_pack_key(p->id, false, key, sizeof(key));
	if (r == 0)
		r = put_once(s3, key, map, (size_t)st.st_size, false);
	/* the index last: its presence says the pack is whole */
	mlfs_remote_pack_key(p->id, true, key, sizeof(key));
	if (r == 0)
		r = put_once(s3, key, idx.data, idx.len, true);
	if (r == 0) {
		pthread_mutex_lock(&u->lock);
		u->done += (uint64_t)st.st_size;
		if (u->progress)
			u->progress(u->ctx, u->done, u->total);
		pthread_mutex_unlock(&u->lock);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	mlfs_buf_release(&idx);
	return r;
}

/* MLFS_TEST_PUSH_PAUSE=FIFO (tests/remote.sh only): once the first pack
 * and its index are in the bucket, the thread that put them waits on the
 * FIFO (mlfs_test_pause) before it does anything else, so a test can
 * stop the gateway in the middle of a push at a known point instead of
 * racing the upload. Ignored unless the path is a FIFO. */
static void first_pack_pause(struct upload *u)
{
	bool first;

	pthread_mutex_lock(&u->lock);
	first = !u->paused;
	u->paused = true;
	pthread_mutex_unlock(&u->lock);
	if (first)
		mlfs_test_pause(getenv("MLFS_TEST_PUSH_PAUSE"));
}

static void *worker(void *arg)
{
	struct upload *u = arg;
	struct mlfs_s3 *s3 = NULL;
	int r = mlfs_remote_connect(u->r, &s3);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&u->lock);
		if (r < 0 && !u->err) {
			u->err = r;
			snprintf(u->detail, sizeof(u->detail), "%s",
				 mlfs_error_detail());
		}
		i = u->err ? u->npacks : u->next++;
		pthread_mutex_unlock(&u->lock);
		if (i >= u->npacks)
			break;
		r = upload_one(u, s3, &u->packs[i]);
		if (r == 0)
			first_pack_pause(u);
	}
	mlfs_s3_close(s3);
	return NULL;
}

int remote_upload_packs(struct mlfs_store *s, const struct mlfs_remote *r,
			const uint64_t *ids, size_t n, int jobs,
			mlfs_remote_progress_fn progress, void *ctx,
			uint64_t *bytes)
{
	struct upload u = { .s = s, .r = r, .npacks = n, .progress = progress,
			    .ctx = ctx };
	pthread_t th[16];
	int nth = 0, e = 0;

	*bytes = 0;
	if (!n)
		return 0;
	u.jobs = jobs <= 0 ? 4 : jobs > 16 ? 16 : jobs;
	u.packs = calloc(n, sizeof(*u.packs));
	if (!u.packs)
		return -ENOMEM;
	pthread_mutex_init(&u.lock, NULL);
	for (size_t i = 0; e == 0 && i < n; i++) {
		struct mlfs_id pid;
		char name[40], path[4096];
		struct stat st;

		u.packs[i].id = ids[i];
		remote_pack_as_id(ids[i], &pid);
		e = mlfs_idset_add(&u.which, &pid, i, NULL) < 0 ? -ENOMEM : 0;
		mlfs_pack_name(ids[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", s->packs_dir, name);
		if (e == 0 && stat(path, &st) == 0)
			u.total += (uint64_t)st.st_size;
	}
	/* every index entry of these packs, from one scan of the index */
	if (e == 0)
		e = mlfs_meta_each_chunk(s->meta, collect, &u);
	for (int i = 0; e == 0 && i < u.jobs && (size_t)i < n; i++) {
		if (pthread_create(&th[i], NULL, worker, &u))
			break;
		nth++;
	}
	if (e == 0 && nth == 0)
		e = -EAGAIN;
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (e == 0 && u.err) {
		e = u.err;
		mlfs_error_set("%s", u.detail);
	}
	*bytes = u.done;
	for (size_t i = 0; i < n; i++)
		free(u.packs[i].e);
	free(u.packs);
	mlfs_idset_release(&u.which);
	pthread_mutex_destroy(&u.lock);
	return e;
}
