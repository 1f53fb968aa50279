/*
 * remote_cache.c - bytes of remote packs kept on local disk,
 * STORE/remote-cache/<remote>/, in one sparse file per aligned block of
 * a pack ("<pack hex>.<log2 block size hex>.<block index hex>": the
 * block's bytes at their offsets, holes where nothing was fetched;
 * 4 MiB blocks, or 1/8 of a bound under 32 MiB), evicted least recently used first
 * (mtime, set again on every hit) once the remote's cache_size is passed.
 * Nothing here is trusted: an entry read back is checked against its id
 * like a local one, so a hole, a torn write or a damaged file is only a
 * miss. Only bucket data is kept, so evicting loses nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlfs/codec.h"
#include "remote_cache.h"
#include "remote_impl.h"

/* "<16 hex>.<2 hex>.<8 hex>" */
#define BLOCK_NAME_LEN 28
#define BLOCK_SHIFT_MIN 16
#define BLOCK_SHIFT_MAX 22 /* RCACHE_BLOCK */

void rcache_init(struct rcache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void rcache_destroy(struct rcache *c)
{
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].remote);
	pthread_mutex_destroy(&c->lock);
}

uint64_t rcache_bound(const struct mlfs_remote *r)
{
	return r->cache_size ? r->cache_size : MLFS_REMOTE_CACHE_DEFAULT;
}

int rcache_entry_decode(struct mlfs_store *s, const struct mlfs_id *id,
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

static void dir_path(struct mlfs_store *s, const char *remote, char *buf,
		     size_t size)
{
	snprintf(buf, size, "%s/remote-cache/%s", s->dir, remote);
}

/* log2 of @r's block size: an eighth of the bound, within limits. */
static unsigned block_shift(const struct mlfs_remote *r)
{
	uint64_t eighth = rcache_bound(r) / 8;
	unsigned k = BLOCK_SHIFT_MAX;

	while (k > BLOCK_SHIFT_MIN && (1ull << k) > eighth)
		k--;
	return k;
}

static void block_name(char *buf, size_t size, uint64_t pack, unsigned shift,
		       uint32_t block)
{
	snprintf(buf, size, "%016" PRIx64 ".%02x.%08" PRIx32, pack,
		 shift & 0xffu, block);
}

/* Write @n bytes at @at of the block file @path. What is aligned goes
 * around the page cache (O_DIRECT): a window is written once and read
 * back, if ever, after the reader has its bytes from memory, so caching
 * it again only costs fresh pages, and on a VM whose balloon reports
 * free pages to the host every fresh page faults to the host (writing
 * 1 GiB buffered: 4.5 s of system time here; direct: 0.2 s). A file
 * system without O_DIRECT, or a tail that is not aligned, is written
 * buffered. */
static int block_write(const char *path, const uint8_t *buf, size_t n,
		       uint64_t at)
{
	size_t direct = 0;
	int fd = -1, e = 0;

	if (((uintptr_t)buf % RCACHE_ALIGN) == 0 && at % RCACHE_ALIGN == 0)
		direct = n - n % RCACHE_ALIGN;
	if (direct) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_DIRECT,
			  0600);
		if (fd < 0 && errno != EINVAL)
			return -errno;
		if (fd >= 0)
			e = mlfs_pwrite_full(fd, buf, direct, at);
		if (fd >= 0 && e == -EINVAL) { /* refused at write time */
			close(fd);
			fd = -1;
			e = 0;
		}
		if (fd < 0)
			direct = 0;
	}
	if (e == 0 && direct < n) {
		if (fd >= 0) { /* the tail: buffered through the same file */
			int fl = fcntl(fd, F_GETFL);

			if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0)
				e = -errno;
		} else {
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0)
				return -errno;
		}
		if (e == 0)
			e = mlfs_pwrite_full(fd, buf + direct, n - direct,
					     at + direct);
	}
	if (fd >= 0 && close(fd) < 0 && !e)
		e = -errno;
	return e;
}

/* Read (@write false) or write @len bytes at @off of @pack's cached
 * blocks, a block file at a time. Writing creates them; reading a
 * missing one, or past its end, is -ENOENT. *@last: the last block's
 * name. */
static int blocks_io(struct mlfs_store *s, const struct mlfs_remote *r,
		     uint64_t pack, uint64_t off, uint8_t *buf, size_t len,
		     bool write, char last[BLOCK_NAME_LEN + 1])
{
	unsigned shift = block_shift(r);
	uint64_t bsize = 1ull << shift;

	while (len) {
		uint64_t block = off >> shift, at = off & (bsize - 1);
		size_t n = bsize - at < len ? (size_t)(bsize - at) : len;
		char path[PATH_MAX];
		int fd, e;

		if (block > UINT32_MAX)
			return write ? -EFBIG : -ENOENT; /* no such pack */
		block_name(last, BLOCK_NAME_LEN + 1, pack, shift,
			   (uint32_t)block);
		snprintf(path, sizeof(path), "%s/remote-cache/%s/%s", s->dir,
			 r->name, last);
		if (write) {
			e = block_write(path, buf, n, at);
			if (e < 0)
				return e;
		} else {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return -ENOENT;
			e = mlfs_pread_full(fd, buf, n, at);
			if (e == 0)
				(void)futimens(fd, NULL); /* recently used */
			close(fd);
			if (e < 0)
				return -ENOENT;
		}
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int rcache_read(struct mlfs_store *s, const struct mlfs_remote *r,
		const struct mlfs_id *id, const struct mlfs_chunk_loc *loc,
		void *out)
{
	size_t len = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len;
	char last[BLOCK_NAME_LEN + 1];
	uint8_t *buf = malloc(len);
	int e;

	if (!buf)
		return -ENOMEM;
	e = blocks_io(s, r, loc->pack_id, loc->offset, buf, len, false, last);
	if (e == 0)
		e = rcache_entry_decode(s, id, loc, buf, len, out);
	free(buf);
	/* (not there, a hole, damaged: the caller fetches it, which
	 * writes the good bytes over whatever was there) */
	return e == -ENOMEM ? e : e < 0 ? -ENOENT : 0;
}

struct victim {
	struct timespec mtime;
	uint64_t bytes;
	char name[BLOCK_NAME_LEN + 1];
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

/* A cache file's name: a block, or (false) anything else, such as a
 * per-entry file of the cache before blocks, which is only removed. */
static bool is_block_name(const char *n)
{
	if (strlen(n) != BLOCK_NAME_LEN || n[16] != '.' || n[19] != '.')
		return false;
	for (size_t i = 0; i < BLOCK_NAME_LEN; i++)
		if (i != 16 && i != 19 && !((n[i] >= '0' && n[i] <= '9') ||
					    (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return true;
}

/* Sum the disk space of the files of @dir into *bytes; with @evict,
 * remove the least recently used until at most @evict_to bytes remain,
 * never @keep (the block just written). */
static int scan(const char *dir, uint64_t *bytes, bool evict,
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
		bool blk = is_block_name(de->d_name);

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!blk) { /* an older cache's file: unused, so removed */
			(void)unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		total += (uint64_t)st.st_blocks * 512;
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
		v[n].bytes = (uint64_t)st.st_blocks * 512;
		memcpy(v[n].name, de->d_name, BLOCK_NAME_LEN + 1);
		n++;
	}
	if (evict && n) {
		qsort(v, n, sizeof(*v), cmp_victim);
		for (size_t i = 0; i < n && total > evict_to; i++) {
			if (keep && !strcmp(v[i].name, keep))
				continue;
			if (unlinkat(dirfd(d), v[i].name, 0) == 0)
				total -= v[i].bytes;
		}
	}
	closedir(d);
	free(v);
	*bytes = total;
	return 0;
}

/* The state of @r's directory; called with c->lock held. */
static struct rcache_dir *dir_state(struct mlfs_store *s, struct rcache *c,
				    const struct mlfs_remote *r)
{
	char dir[PATH_MAX];
	struct rcache_dir *cd;

	for (size_t i = 0; i < c->ndirs; i++)
		if (!strcmp(c->dirs[i].remote, r->name))
			return &c->dirs[i];
	if (c->ndirs == MLFS_ARRAY_SIZE(c->dirs))
		return NULL;
	cd = &c->dirs[c->ndirs];
	memset(cd, 0, sizeof(*cd));
	cd->remote = strdup(r->name);
	if (!cd->remote)
		return NULL;
	cd->max = rcache_bound(r);
	dir_path(s, r->name, dir, sizeof(dir));
	if (scan(dir, &cd->bytes, false, 0, NULL) < 0)
		cd->bytes = 0;
	c->ndirs++;
	return cd;
}

bool rcache_writable(struct rcache *c, const struct mlfs_remote *r)
{
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->ndirs; i++)
		if (!strcmp(c->dirs[i].remote, r->name))
			ok = !c->dirs[i].unwritable;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

int rcache_put(struct mlfs_store *s, struct rcache *c,
	       const struct mlfs_remote *r, uint64_t pack, uint64_t off,
	       const uint8_t *buf, size_t len)
{
	char dir[PATH_MAX], keep[BLOCK_NAME_LEN + 1] = "";
	struct rcache_dir *cd;
	int e;

	/* also for read-only opens (cat, export, the mount): the cache is
	 * not the store's data; who may not write here just reads again */
	dir_path(s, r->name, dir, sizeof(dir));
	{
		char top[PATH_MAX];

		snprintf(top, sizeof(top), "%s/remote-cache", s->dir);
		(void)mkdir(top, 0700);
		(void)mkdir(dir, 0700);
	}
	e = blocks_io(s, r, pack, off, (uint8_t *)buf, len, true, keep);
	pthread_mutex_lock(&c->lock);
	cd = dir_state(s, c, r);
	if (cd && (e == -EACCES || e == -EROFS || e == -EPERM))
		cd->unwritable = true;
	if (cd && e == 0) {
		cd->bytes += len;
		if (cd->bytes > cd->max)
			(void)scan(dir, &cd->bytes, true,
				   cd->max - cd->max / 8, keep);
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}
