/*
 * remote_read.c - reading a chunk whose pack is in a remote's bucket
 * (remote_packs): a ranged GET of its entry (header + stored bytes),
 * checked like a local entry and hashed against its id, then kept in a
 * bounded local cache, STORE/remote-cache/<remote>/, one file per entry
 * ("<pack hex>-<offset hex>", written to a temporary name and renamed),
 * evicted least recently used first (mtime, set again on every hit)
 * once the remote's cache_size is passed. Only bucket data is cached, so
 * evicting loses nothing. S3 clients are pooled per remote (one per
 * concurrent reader: a client is not thread-safe).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/codec.h"
#include "remote_impl.h"
#include "remote_read.h"

#define POOL_MAX 16
/* One GET brings this much of the pack from the chunk read on: the
 * entries after it are usually the file's next chunks (an import writes
 * a file's chunks in order), so a sequential reader makes one request
 * per READAHEAD bytes instead of one per chunk. Each entry is verified
 * when it is read, not when it is cached. */
#define READAHEAD (4u << 20)
/* A miss inside the window the last one fetched, twice in a row, is a
 * sequential reader: it gets this many windows at once, in parallel (one
 * client each). Random readers, and the first windows of a sequential
 * one (the mount's read-ahead of a short read), fetch one window. */
#define SEQ_WINDOWS 4

struct rclient {
	char *remote;
	struct mlfs_s3 *s3;
	bool busy;
};

struct rcache_dir {
	char *remote;
	uint64_t bytes, max; /* what the files hold, the bound */
};

struct remote_reader {
	pthread_mutex_t lock;
	struct rclient pool[POOL_MAX];   /* protected by lock */
	struct rcache_dir dirs[8];       /* protected by lock */
	size_t ndirs;                    /* protected by lock */
	uint64_t tmp_seq;                /* protected by lock */
	/* the range the last miss fetched, for sequential readers */
	uint64_t win_pack, win_start, win_end; /* protected by lock */
	unsigned streak;                       /* protected by lock */
};

/* Creation of s->remote (first remote read of a store object). */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

void remote_reader_free(struct remote_reader *rr)
{
	if (!rr)
		return;
	for (size_t i = 0; i < POOL_MAX; i++) {
		mlfs_s3_close(rr->pool[i].s3);
		free(rr->pool[i].remote);
	}
	for (size_t i = 0; i < rr->ndirs; i++)
		free(rr->dirs[i].remote);
	pthread_mutex_destroy(&rr->lock);
	free(rr);
}

static struct remote_reader *reader(struct mlfs_store *s)
{
	struct remote_reader *rr;

	pthread_mutex_lock(&init_lock);
	if (!s->remote) {
		rr = calloc(1, sizeof(*rr));
		if (rr) {
			pthread_mutex_init(&rr->lock, NULL);
			s->remote = rr;
		}
	}
	rr = s->remote;
	pthread_mutex_unlock(&init_lock);
	return rr;
}

/* A client of @r from the pool (made when none is free). */
static int client_get(struct remote_reader *rr, const struct mlfs_remote *r,
		      struct rclient **out)
{
	struct rclient *c = NULL;
	int e = 0;

	pthread_mutex_lock(&rr->lock);
	for (size_t i = 0; i < POOL_MAX && !c; i++)
		if (!rr->pool[i].busy && rr->pool[i].s3 &&
		    !strcmp(rr->pool[i].remote, r->name))
			c = &rr->pool[i];
	for (size_t i = 0; i < POOL_MAX && !c; i++)
		if (!rr->pool[i].busy && !rr->pool[i].s3)
			c = &rr->pool[i];
	for (size_t i = 0; i < POOL_MAX && !c; i++)
		if (!rr->pool[i].busy) { /* another remote's: replace it */
			c = &rr->pool[i];
			mlfs_s3_close(c->s3);
			c->s3 = NULL;
		}
	if (c)
		c->busy = true;
	pthread_mutex_unlock(&rr->lock);
	if (!c)
		return -EAGAIN;
	if (!c->s3) {
		free(c->remote);
		c->remote = strdup(r->name);
		e = c->remote ? mlfs_remote_connect(r, &c->s3) : -ENOMEM;
	}
	if (e < 0) {
		pthread_mutex_lock(&rr->lock);
		c->busy = false;
		pthread_mutex_unlock(&rr->lock);
		return e;
	}
	*out = c;
	return 0;
}

static void client_put(struct remote_reader *rr, struct rclient *c, bool bad)
{
	pthread_mutex_lock(&rr->lock);
	if (bad) { /* a transport failure may leave the handle odd */
		mlfs_s3_close(c->s3);
		c->s3 = NULL;
	}
	c->busy = false;
	pthread_mutex_unlock(&rr->lock);
}

/* Check the entry @buf (header + stored bytes) against @id/@loc, decode
 * it into @out and hash it. 0, -EBADMSG, -EIO. */
static int entry_decode(struct mlfs_store *s, const struct mlfs_id *id,
			const struct mlfs_chunk_loc *loc, const uint8_t *buf,
			size_t len, void *out)
{
	uint32_t raw_len, stored_len;
	enum mlfs_codec codec;
	struct mlfs_id hid, got;
	int r;

	if (len != MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len)
		return -EBADMSG;
	r = mlfs_pack_entry_parse(buf, &hid, &codec, &raw_len, &stored_len);
	if (r < 0)
		return r;
	if (memcmp(hid.b, id->b, MLFS_ID_LEN) || raw_len != loc->raw_len ||
	    stored_len != loc->stored_len || codec != loc->codec)
		return -EBADMSG;
	r = mlfs_codec_decode(codec, buf + MLFS_PACK_ENTRY_HEADER_LEN,
			      stored_len, out, raw_len);
	if (r < 0)
		return -EBADMSG;
	mlfs_hash(&s->cfg.key, out, raw_len, &got);
	return memcmp(got.b, id->b, MLFS_ID_LEN) ? -EIO : 0;
}

static void cache_dir_path(struct mlfs_store *s, const char *remote,
			   char *buf, size_t size)
{
	snprintf(buf, size, "%s/remote-cache/%s", s->dir, remote);
}

static void entry_path(struct mlfs_store *s, const char *remote,
		       const struct mlfs_chunk_loc *loc, char *buf,
		       size_t size)
{
	snprintf(buf, size, "%s/remote-cache/%s/%016" PRIx64 "-%016" PRIx64,
		 s->dir, remote, loc->pack_id, loc->offset);
}

/* The entry from the cache: 0 (decoded into @out), -ENOENT (not there
 * or not good: a damaged file is removed and fetched again). */
static int cache_read(struct mlfs_store *s, const char *remote,
		      const struct mlfs_id *id,
		      const struct mlfs_chunk_loc *loc, void *out)
{
	size_t len = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len;
	char path[PATH_MAX];
	uint8_t *buf;
	ssize_t got;
	int fd, r;

	entry_path(s, remote, loc, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	buf = malloc(len + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = mlfs_read_full(fd, buf, len + 1);
	r = got == (ssize_t)len ? entry_decode(s, id, loc, buf, len, out) :
	    -EBADMSG;
	if (r == 0)
		(void)futimens(fd, NULL); /* recently used; best effort */
	close(fd);
	free(buf);
	if (r == -EBADMSG || r == -EIO) {
		(void)unlink(path); /* damaged copy: fetch it again */
		r = -ENOENT;
	}
	return r;
}

struct victim {
	struct timespec mtime;
	uint64_t size;
	char name[40];
};

static int cmp_victim(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return 0;
}

/* Sum the cache files of @dir into *bytes; with @evict_to, remove the
 * least recently used until at most that many bytes remain, never
 * @keep (the entry just written). */
static int cache_scan(const char *dir, uint64_t *bytes, bool evict,
		      uint64_t evict_to, const char *keep)
{
	struct victim *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	uint64_t total = 0;
	DIR *d = opendir(dir);

	*bytes = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (strlen(de->d_name) != 33 || de->d_name[16] != '-' ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		total += (uint64_t)st.st_size;
		if (!evict)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			void *nv = realloc(v, nc * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		v[n].mtime = st.st_mtim;
		v[n].size = (uint64_t)st.st_size;
		/* 33 bytes and its NUL, checked above (snprintf here made
		 * gcc -O1 warn of a truncation it cannot rule out) */
		memcpy(v[n].name, de->d_name, 34);
		n++;
	}
	if (evict && n) {
		qsort(v, n, sizeof(*v), cmp_victim);
		for (size_t i = 0; i < n && total > evict_to; i++) {
			if (keep && !strcmp(v[i].name, keep))
				continue;
			if (unlinkat(dirfd(d), v[i].name, 0) == 0)
				total -= v[i].size;
		}
	}
	closedir(d);
	free(v);
	*bytes = total;
	return 0;
}

static struct rcache_dir *cache_dir(struct mlfs_store *s,
				    struct remote_reader *rr,
				    const struct mlfs_remote *r)
{
	char dir[PATH_MAX];
	struct rcache_dir *cd;

	for (size_t i = 0; i < rr->ndirs; i++)
		if (!strcmp(rr->dirs[i].remote, r->name))
			return &rr->dirs[i];
	if (rr->ndirs == MLFS_ARRAY_SIZE(rr->dirs))
		return NULL;
	cd = &rr->dirs[rr->ndirs];
	cd->remote = strdup(r->name);
	if (!cd->remote)
		return NULL;
	cd->max = r->cache_size ? r->cache_size : MLFS_REMOTE_CACHE_DEFAULT;
	cache_dir_path(s, r->name, dir, sizeof(dir));
	if (cache_scan(dir, &cd->bytes, false, 0, NULL) < 0)
		cd->bytes = 0;
	rr->ndirs++;
	return cd;
}

/* Keep the entry @buf in the cache (best effort: a read-only or full
 * disk only costs the next read a GET). */
static void cache_write(struct mlfs_store *s, struct remote_reader *rr,
			const struct mlfs_remote *r,
			const struct mlfs_chunk_loc *loc, const uint8_t *buf,
			size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 32], *base;
	struct rcache_dir *cd;
	uint64_t seq;
	int fd;

	/* also for read-only opens (cat, export, the mount): the cache is
	 * not the store's data; who may not write here just reads again */
	cache_dir_path(s, r->name, dir, sizeof(dir));
	entry_path(s, r->name, loc, path, sizeof(path));
	pthread_mutex_lock(&rr->lock);
	seq = rr->tmp_seq++;
	pthread_mutex_unlock(&rr->lock);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%" PRIu64, path, (int)getpid(),
		 seq);
	{
		char top[PATH_MAX];

		snprintf(top, sizeof(top), "%s/remote-cache", s->dir);
		(void)mkdir(top, 0700);
		(void)mkdir(dir, 0700);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (mlfs_pwrite_full(fd, buf, len, 0) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		(void)unlink(tmp);
		return;
	}
	base = strrchr(path, '/') + 1;
	pthread_mutex_lock(&rr->lock);
	cd = cache_dir(s, rr, r);
	if (cd) {
		cd->bytes += len;
		if (cd->bytes > cd->max)
			(void)cache_scan(dir, &cd->bytes, true,
					 cd->max - cd->max / 8, base);
	}
	pthread_mutex_unlock(&rr->lock);
}

/* Cache the whole entries that follow the first (@first bytes) in @b,
 * fetched from @off of the pack. */
static void cache_ahead(struct mlfs_store *s, struct remote_reader *rr,
			const struct mlfs_remote *r,
			const struct mlfs_chunk_loc *loc, const uint8_t *b,
			size_t len, size_t first)
{
	size_t off = first;

	while (len - off >= MLFS_PACK_ENTRY_HEADER_LEN) {
		struct mlfs_chunk_loc l = *loc;
		enum mlfs_codec codec;
		uint32_t raw_len, stored_len;
		struct mlfs_id hid;
		size_t n;

		if (mlfs_pack_entry_parse(b + off, &hid, &codec, &raw_len,
					  &stored_len) < 0)
			return;
		n = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)stored_len;
		if (n > len - off)
			return; /* cut by the range: the next read fetches it */
		l.offset = loc->offset + off;
		cache_write(s, rr, r, &l, b + off, n);
		off += n;
	}
}

/* One window fetched by a helper thread of a sequential read. */
struct window {
	struct remote_reader *rr;
	const struct mlfs_remote *r;
	const char *key;
	uint64_t off, len;
	struct mlfs_s3_buf b;
	int err;
	pthread_t th;
	bool started;
};

static void *window_main(void *arg)
{
	struct window *w = arg;
	struct rclient *c = NULL;

	w->err = client_get(w->rr, w->r, &c);
	if (w->err == 0) {
		w->err = mlfs_s3_get(c->s3, w->key, w->off, w->len, &w->b);
		client_put(w->rr, c, w->err < 0 && w->err != -ENOENT);
	}
	return NULL;
}

/* How many windows to fetch for a miss at @loc: SEQ_WINDOWS when it
 * falls in the range the last miss fetched, else 1; records the range
 * this one will fetch. */
static unsigned plan_windows(struct remote_reader *rr,
			     const struct mlfs_chunk_loc *loc, uint64_t psize)
{
	unsigned n;
	uint64_t end;

	pthread_mutex_lock(&rr->lock);
	if (rr->win_pack == loc->pack_id && loc->offset >= rr->win_start &&
	    loc->offset <= rr->win_end)
		rr->streak++;
	else
		rr->streak = 0;
	n = rr->streak >= 2 ? SEQ_WINDOWS : 1;
	end = loc->offset + (uint64_t)n * READAHEAD;
	rr->win_pack = loc->pack_id;
	rr->win_start = loc->offset;
	rr->win_end = psize && end > psize ? psize : end;
	pthread_mutex_unlock(&rr->lock);
	return n;
}

/* Start helpers for windows 1.. of a sequential miss; returns how many
 * windows follow the caller's. */
static unsigned start_windows(struct window *w, unsigned n,
			      struct remote_reader *rr,
			      const struct mlfs_remote *r, const char *key,
			      uint64_t from, uint64_t psize)
{
	unsigned k = 0;

	for (unsigned i = 1; i < n; i++) {
		uint64_t off = from + (uint64_t)i * READAHEAD;
		struct window *x = &w[k];

		if (psize && off >= psize)
			break;
		memset(x, 0, sizeof(*x));
		x->rr = rr;
		x->r = r;
		x->key = key;
		x->off = off;
		x->len = psize && psize - off < READAHEAD ? psize - off :
			 READAHEAD;
		if (pthread_create(&x->th, NULL, window_main, x))
			break;
		x->started = true;
		k++;
	}
	return k;
}

/* Join the helpers and append what they got, in order and while there
 * is no gap, to @b (entries are then walked across the windows). */
static void join_windows(struct window *w, unsigned k, struct mlfs_s3_buf *b,
			 bool keep)
{
	bool gap = !keep;

	for (unsigned i = 0; i < k; i++) {
		pthread_join(w[i].th, NULL);
		if (!gap && w[i].err == 0 && w[i].b.len) {
			uint8_t *nb = realloc(b->p, b->len + w[i].b.len);

			if (nb) {
				memcpy(nb + b->len, w[i].b.p, w[i].b.len);
				b->p = nb;
				b->len += w[i].b.len;
			} else {
				gap = true;
			}
		} else {
			gap = true;
		}
		free(w[i].b.p);
	}
}

int remote_read_chunk(struct mlfs_store *s, const struct mlfs_id *id,
		      const struct mlfs_chunk_loc *loc, void *out)
{
	size_t len = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len;
	struct mlfs_s3_buf b = { 0 };
	struct remote_reader *rr;
	struct mlfs_remote r;
	struct rclient *c = NULL;
	struct window w[SEQ_WINDOWS];
	char *name = NULL, key[64], hex[MLFS_ID_HEX_LEN + 1];
	uint64_t psize = 0;
	unsigned nw = 0;
	int e;

	e = mlfs_meta_rpack_get(s->meta, loc->pack_id, &name, &psize);
	if (e < 0)
		return e; /* -ENOENT: a local pack that is missing */
	mlfs_id_to_hex(id, hex);
	mlfs_remote_pack_key(loc->pack_id, false, key, sizeof(key));
	e = cache_read(s, name, id, loc, out);
	if (e != -ENOENT)
		goto out_name;
	e = mlfs_remote_get(s, name, &r);
	if (e < 0) {
		mlfs_error_set("chunk %s is in pack %s of remote '%s', which "
			       "this store no longer has", hex, key, name);
		e = -EIO;
		goto out_name;
	}
	rr = reader(s);
	e = rr ? client_get(rr, &r, &c) : -ENOMEM;
	if (e == 0) {
		uint64_t want = len < READAHEAD ? READAHEAD : len;

		/* not past the pack's end (a range past it would still be
		 * answered, but the index says where the end is) */
		if (psize > loc->offset && want > psize - loc->offset)
			want = psize - loc->offset;
		if (want < len)
			want = len;
		if (want == READAHEAD)
			nw = start_windows(w, plan_windows(rr, loc, psize), rr,
					   &r, key, loc->offset, psize);
		e = mlfs_s3_get(c->s3, key, loc->offset, want, &b);
		client_put(rr, c, e < 0 && e != -ENOENT);
		/* a short first window has no entry boundary to go on from */
		join_windows(w, nw, &b, e == 0 && b.len == want);
	}
	if (e == 0) {
		size_t got = b.len;

		e = entry_decode(s, id, loc, b.p, got < len ? got : len, out);
		if (e < 0)
			mlfs_error_set("chunk %s from remote '%s' (%s/%s%s at "
				       "%" PRIu64 "): %s", hex, name, r.bucket,
				       r.prefix, key, loc->offset,
				       e == -EIO ? "hash mismatch" :
				       "corrupt entry");
		else {
			cache_write(s, rr, &r, loc, b.p, len);
			cache_ahead(s, rr, &r, loc, b.p, got, len);
		}
	} else {
		char why[600];

		snprintf(why, sizeof(why), "%s", mlfs_error_detail());
		mlfs_error_set("chunk %s from remote '%s': %s", hex, name,
			       why[0] ? why : strerror(-e));
	}
	if (e < 0 && e != -ENOMEM)
		e = -EIO; /* to a reader, data it cannot get is an I/O error */
	free(b.p);
	mlfs_remote_release(&r);
out_name:
	free(name);
	return e;
}
