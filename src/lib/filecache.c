/*
 * filecache.c - the files cache of `mlfs import` (filecache.h): one file
 * STORE/cache/files-<32 hex> per (repository, source path), read whole at
 * the start of an import and indexed by path in an open-addressing table,
 * and written whole after the import commits. It relies on the store key
 * for its check value and on the importer to check that a content it
 * names is still in the store (docs/design.md#the-files-cache).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "filecache.h"

#define DOMAIN_CHECK "mlfs-files-1"
#define DOMAIN_NAME "mlfs-files-name-1"

struct filecache {
	const struct mlfs_hash_key *key; /* borrowed */
	char *dir;                       /* STORE/cache */
	char *path;                      /* STORE/cache/files-<hex> */
	char *ident;                     /* "ns/name" NUL realpath(src) */
	size_t ident_len;
	/* The old cache: its body (check value cut off), its time and an
	 * index of entry offsets + 1 (0: free slot), nslots a power of 2. */
	uint8_t *old;
	size_t old_len;
	int64_t old_time;
	uint32_t *slots;
	size_t nslots;
	/* Where the entry after the last hit starts: the walk visits files
	 * in the order the last one wrote them, so the next lookup is
	 * usually that entry (no hash, no cache miss). 0: none. */
	size_t guess;
	/* The new cache: header and entries so far. */
	struct mlfs_buf next;
	uint64_t nnext;
};

static int64_t ts_ns(const struct timespec *t)
{
	int64_t ns;

	if (__builtin_mul_overflow((int64_t)t->tv_sec, (int64_t)1000000000,
				   &ns) ||
	    __builtin_add_overflow(ns, (int64_t)t->tv_nsec, &ns))
		return t->tv_sec < 0 ? INT64_MIN : INT64_MAX;
	return ns;
}

static void check_value(const struct mlfs_hash_key *k, const uint8_t *p,
			size_t len, struct mlfs_id *out)
{
	const struct mlfs_span parts[] = {
		{ DOMAIN_CHECK, sizeof(DOMAIN_CHECK) }, /* with its NUL */
		{ p, len },
	};

	mlfs_hash_parts(k, parts, MLFS_ARRAY_SIZE(parts), out);
}

static uint64_t path_hash(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

static void drop_old(struct filecache *fc)
{
	free(fc->old);
	free(fc->slots);
	fc->old = NULL;
	fc->slots = NULL;
	fc->old_len = 0;
	fc->nslots = 0;
	fc->old_time = 0;
	fc->guess = 0;
}

/* The header of a new cache; entries follow. */
static int start_next(struct filecache *fc, int64_t now_ns)
{
	uint8_t h[FILECACHE_HDR];
	int r;

	memcpy(h, FILECACHE_MAGIC, 8);
	mlfs_put_le32(h + 8, FILECACHE_VERSION);
	mlfs_put_le32(h + 12, 0);
	mlfs_put_le64(h + 16, (uint64_t)now_ns);
	mlfs_put_le64(h + 24, 0); /* the count, set by save */
	h[32] = (uint8_t)(fc->ident_len & 0xff);
	h[33] = (uint8_t)(fc->ident_len >> 8);
	r = mlfs_buf_append(&fc->next, h, sizeof(h));
	if (r == 0)
		r = mlfs_buf_append(&fc->next, fc->ident, fc->ident_len);
	return r;
}

int filecache_parse(struct filecache *fc, uint8_t *p, size_t len)
{
	size_t off, idlen, nslots = 16;
	uint64_t count, seen = 0;
	uint32_t *slots = NULL;

	drop_old(fc);
	if (len < FILECACHE_HDR || memcmp(p, FILECACHE_MAGIC, 8) ||
	    mlfs_get_le32(p + 8) != FILECACHE_VERSION ||
	    mlfs_get_le32(p + 12) != 0 || len > UINT32_MAX - 1)
		goto bad;
	count = mlfs_get_le64(p + 24);
	idlen = (size_t)p[32] | (size_t)p[33] << 8;
	if (idlen != fc->ident_len || len - FILECACHE_HDR < idlen ||
	    memcmp(p + FILECACHE_HDR, fc->ident, idlen))
		goto bad;
	off = FILECACHE_HDR + idlen;
	/* each entry takes at least FILECACHE_ENT bytes */
	if (count > (len - off) / FILECACHE_ENT)
		goto bad;
	while (nslots < 2 * count)
		nslots *= 2;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots) {
		free(p);
		return -ENOMEM;
	}
	while (off < len) {
		size_t plen, i;

		if (len - off < FILECACHE_ENT)
			goto bad;
		plen = (size_t)p[off + 60] | (size_t)p[off + 61] << 8;
		if (plen > FILECACHE_PATH_MAX ||
		    len - off - FILECACHE_ENT < plen || seen == count)
			goto bad;
		i = path_hash(p + off + FILECACHE_ENT, plen) & (nslots - 1);
		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = (uint32_t)off + 1;
		seen++;
		off += FILECACHE_ENT + plen;
	}
	if (seen != count)
		goto bad;
	fc->old = p;
	fc->old_len = len;
	fc->old_time = (int64_t)mlfs_get_le64(p + 16);
	fc->slots = slots;
	fc->nslots = nslots;
	return 0;
bad:
	free(slots);
	free(p);
	return -EBADMSG;
}

/* Read and check the old cache; any failure leaves it empty. */
static void load(struct filecache *fc)
{
	struct mlfs_id want, got;
	struct stat st;
	uint8_t *p = NULL;
	ssize_t n;
	int fd = open(fc->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < FILECACHE_HDR + MLFS_ID_LEN ||
	    (uint64_t)st.st_size > FILECACHE_FILE_MAX)
		goto out;
	p = malloc((size_t)st.st_size);
	if (!p)
		goto out;
	n = mlfs_read_full(fd, p, (size_t)st.st_size);
	if (n != st.st_size)
		goto out;
	n -= MLFS_ID_LEN;
	memcpy(want.b, p + n, MLFS_ID_LEN);
	check_value(fc->key, p, (size_t)n, &got);
	if (mlfs_id_cmp(&want, &got))
		goto out;
	/* takes p; a bad body leaves the old cache empty, which is all a
	 * failure here means */
	if (filecache_parse(fc, p, (size_t)n) < 0)
		fc->old_time = 0;
	p = NULL;
out:
	free(p);
	close(fd);
}

int filecache_open(const char *store_dir, const struct mlfs_hash_key *key,
		   const char *ns, const char *name, const char *src,
		   bool load_old, int64_t now_ns, struct filecache **out)
{
	struct mlfs_span named[2];
	struct filecache *fc;
	struct mlfs_id id;
	char hex[MLFS_ID_HEX_LEN + 1];
	char *real = NULL;
	size_t a, b, c;
	int r = -ENOMEM;

	*out = NULL;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return -ENOMEM;
	fc->key = key;
	real = realpath(src, NULL);
	if (!real) {
		r = -errno;
		goto out;
	}
	a = strlen(ns);
	b = strlen(name);
	c = strlen(real);
	if (a + b + c + 2 > 0xffff) {
		r = -ENAMETOOLONG;
		goto out;
	}
	fc->ident_len = a + 1 + b + 1 + c;
	fc->ident = malloc(fc->ident_len + 1);
	if (!fc->ident)
		goto out;
	snprintf(fc->ident, fc->ident_len + 1, "%s/%s%c%s", ns, name, '\0',
		 real);
	/* the file's name: the identity hashed with the key, so that
	 * names reveal no source path */
	named[0] = (struct mlfs_span){ DOMAIN_NAME, sizeof(DOMAIN_NAME) };
	named[1] = (struct mlfs_span){ fc->ident, fc->ident_len };
	mlfs_hash_parts(key, named, 2, &id);
	mlfs_id_to_hex(&id, hex);
	if (asprintf(&fc->dir, "%s/cache", store_dir) < 0) {
		fc->dir = NULL;
		goto out;
	}
	if (asprintf(&fc->path, "%s/files-%s", fc->dir, hex) < 0) {
		fc->path = NULL;
		goto out;
	}
	r = start_next(fc, now_ns);
	if (r == 0 && load_old)
		load(fc);
	/* the new cache will be about as large: room for it now saves the
	 * copies of growing (8 MB for 100,000 files) */
	if (r == 0 && fc->old)
		r = mlfs_buf_reserve(&fc->next, fc->old_len + MLFS_ID_LEN);
out:
	free(real);
	if (r < 0) {
		filecache_free(fc);
		return r;
	}
	*out = fc;
	return 0;
}

bool filecache_loaded(const struct filecache *fc)
{
	return fc && fc->old;
}

/* The entry at offset @off of the old cache if its path is @rel. */
static const uint8_t *entry_if(const struct filecache *fc, size_t off,
			       const char *rel, size_t plen)
{
	const uint8_t *e = fc->old + off;

	if ((size_t)e[60] + ((size_t)e[61] << 8) != plen ||
	    memcmp(e + FILECACHE_ENT, rel, plen))
		return NULL;
	return e;
}

static const uint8_t *find(struct filecache *fc, const char *rel,
			   size_t plen)
{
	const uint8_t *e = NULL;
	size_t i;

	if (fc->guess && fc->guess < fc->old_len)
		e = entry_if(fc, fc->guess, rel, plen);
	i = path_hash(rel, plen) & (fc->nslots - 1);
	for (; !e && fc->slots[i]; i = (i + 1) & (fc->nslots - 1))
		e = entry_if(fc, fc->slots[i] - 1, rel, plen);
	if (e)
		fc->guess = (size_t)(e - fc->old) + FILECACHE_ENT + plen;
	return e;
}

bool filecache_lookup(struct filecache *fc, const char *rel,
		      const struct stat *st, struct mlfs_id *digest)
{
	size_t plen = strlen(rel);
	const uint8_t *e;
	int64_t limit;

	if (!fc || !fc->nslots || !S_ISREG(st->st_mode))
		return false;
	/* git's racy rule, against the time the old cache's import began:
	 * a file changed after that has times at or past it, so one whose
	 * times are clearly older cannot have changed unseen since. */
	if (__builtin_sub_overflow(fc->old_time, FILECACHE_RACY_NS, &limit) ||
	    ts_ns(&st->st_mtim) >= limit || ts_ns(&st->st_ctim) >= limit)
		return false;
	e = find(fc, rel, plen);
	if (!e || mlfs_get_le64(e) != (uint64_t)st->st_dev ||
	    mlfs_get_le64(e + 8) != (uint64_t)st->st_ino ||
	    mlfs_get_le64(e + 16) != (uint64_t)st->st_size ||
	    mlfs_get_le64(e + 24) != (uint64_t)ts_ns(&st->st_mtim) ||
	    mlfs_get_le64(e + 32) != (uint64_t)ts_ns(&st->st_ctim) ||
	    mlfs_get_le32(e + 40) != (uint32_t)st->st_mode)
		return false;
	memcpy(digest->b, e + 44, MLFS_ID_LEN);
	return true;
}

int filecache_add(struct filecache *fc, const char *rel,
		  const struct stat *st, const struct mlfs_id *digest)
{
	uint8_t e[FILECACHE_ENT];
	size_t plen = strlen(rel);
	int r;

	if (plen > FILECACHE_PATH_MAX)
		return -ENAMETOOLONG;
	if (fc->next.len + sizeof(e) + plen + MLFS_ID_LEN > FILECACHE_FILE_MAX)
		return -ENAMETOOLONG; /* full: the rest is read next time */
	mlfs_put_le64(e, (uint64_t)st->st_dev);
	mlfs_put_le64(e + 8, (uint64_t)st->st_ino);
	mlfs_put_le64(e + 16, (uint64_t)st->st_size);
	mlfs_put_le64(e + 24, (uint64_t)ts_ns(&st->st_mtim));
	mlfs_put_le64(e + 32, (uint64_t)ts_ns(&st->st_ctim));
	mlfs_put_le32(e + 40, (uint32_t)st->st_mode);
	memcpy(e + 44, digest->b, MLFS_ID_LEN);
	e[60] = (uint8_t)(plen & 0xff);
	e[61] = (uint8_t)(plen >> 8);
	r = mlfs_buf_append(&fc->next, e, sizeof(e));
	if (r == 0)
		r = mlfs_buf_append(&fc->next, rel, plen);
	if (r == 0)
		fc->nnext++;
	return r;
}

int filecache_save(struct filecache *fc)
{
	struct mlfs_id cv;
	char *tmp = NULL;
	int fd, r;

	if (!fc)
		return 0;
	mlfs_put_le64(fc->next.data + 24, fc->nnext);
	check_value(fc->key, fc->next.data, fc->next.len, &cv);
	if (mkdir(fc->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&tmp, "%s.tmp.%d", fc->path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = mlfs_pwrite_full(fd, fc->next.data, fc->next.len, 0);
	if (r == 0)
		r = mlfs_pwrite_full(fd, cv.b, MLFS_ID_LEN,
				     (off_t)fc->next.len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, fc->path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp); /* nothing else refers to it */
	free(tmp);
	return r;
}

void filecache_free(struct filecache *fc)
{
	if (!fc)
		return;
	drop_old(fc);
	mlfs_buf_release(&fc->next);
	free(fc->ident);
	free(fc->dir);
	free(fc->path);
	free(fc);
}
