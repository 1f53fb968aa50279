/*
 * pack.c - append-only files of chunks. The store records a chunk's
 * (pack, offset) in SQLite only after mlfs_pack_writer_sync() returned,
 * so a crash can leave unreferenced bytes at a pack's tail but never an
 * index row pointing at missing data. Format: docs/format.md#packs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "mlfs/pack.h"

void mlfs_pack_name(uint64_t pack_id, char *buf, size_t size)
{
	snprintf(buf, size, "pack-%016" PRIx64 ".mlp", pack_id);
}

void mlfs_pack_entry_format(uint8_t *h, const struct mlfs_id *id,
			    enum mlfs_codec codec, uint32_t raw_len,
			    uint32_t stored_len)
{
	memset(h, 0, MLFS_PACK_ENTRY_HEADER_LEN);
	mlfs_put_le32(h, MLFS_PACK_ENTRY_MAGIC);
	h[4] = (uint8_t)codec;
	mlfs_put_le32(h + 8, raw_len);
	mlfs_put_le32(h + 12, stored_len);
	memcpy(h + 16, id->b, MLFS_ID_LEN);
	mlfs_put_le64(h + 32, XXH3_64bits(h, 32));
}

int mlfs_pack_entry_parse(const uint8_t *h, struct mlfs_id *id,
			  enum mlfs_codec *codec, uint32_t *raw_len,
			  uint32_t *stored_len)
{
	if (mlfs_get_le32(h) != MLFS_PACK_ENTRY_MAGIC ||
	    mlfs_get_le64(h + 32) != XXH3_64bits(h, 32) || h[5] || h[6] ||
	    h[7] || h[4] > MLFS_CODEC_MAX)
		return -EBADMSG;
	*codec = h[4];
	*raw_len = mlfs_get_le32(h + 8);
	*stored_len = mlfs_get_le32(h + 12);
	memcpy(id->b, h + 16, MLFS_ID_LEN);
	if (*raw_len > MLFS_CHUNK_LIMIT_BYTES ||
	    *stored_len > MLFS_CHUNK_LIMIT_BYTES + MLFS_CHUNK_LIMIT_BYTES / 8 ||
	    (*codec == MLFS_CODEC_RAW && *raw_len != *stored_len))
		return -EBADMSG;
	return 0;
}

int mlfs_pack_entry_locate(const uint8_t *h, uint64_t pack_id, uint64_t off,
			   uint64_t pack_size, struct mlfs_id *id,
			   struct mlfs_chunk_loc *loc)
{
	enum mlfs_codec codec;
	int r;

	if (off < MLFS_PACK_HEADER_LEN || off > pack_size ||
	    pack_size - off < MLFS_PACK_ENTRY_HEADER_LEN)
		return -EBADMSG;
	r = mlfs_pack_entry_parse(h, id, &codec, &loc->raw_len,
				  &loc->stored_len);
	if (r < 0)
		return r;
	if (pack_size - off - MLFS_PACK_ENTRY_HEADER_LEN < loc->stored_len)
		return -EBADMSG;
	loc->pack_id = pack_id;
	loc->offset = off;
	loc->codec = (uint8_t)codec;
	return 0;
}

int mlfs_pack_header_check(const uint8_t *h, uint64_t *pack_id)
{
	if (memcmp(h, MLFS_PACK_MAGIC, 8) ||
	    mlfs_get_le32(h + 8) != MLFS_PACK_VERSION)
		return -EBADMSG;
	*pack_id = mlfs_get_le64(h + 16);
	return 0;
}

/* ---- writer ---- */

#define WRITEBACK_WINDOW (8ull << 20)

struct written_pack {
	uint64_t id;
	int fd;
};

struct writer_slot {
	struct written_pack cur;    /* the pack this slot appends to */
	uint64_t size;              /* its size; 0 = no pack yet */
};

struct mlfs_pack_writer {
	pthread_mutex_t lock;
	char *dir;
	struct written_pack *packs; /* protected by lock: all, for sync */
	size_t npacks;              /* protected by lock */
	/* protected by lock */
	struct writer_slot slots[MLFS_PACK_WRITER_SLOTS];
	uint64_t total;             /* protected by lock */
	int error;                  /* protected by lock: first write error */
};

static int pack_create(struct mlfs_pack_writer *w, struct written_pack *out)
{
	uint8_t hdr[MLFS_PACK_HEADER_LEN] = { 0 };
	char path[PATH_MAX], name[40];
	uint64_t id;
	int fd, r;

	for (int tries = 0; tries < 8; tries++) {
		r = mlfs_random_bytes(&id, sizeof(id));
		if (r < 0)
			return r;
		mlfs_pack_name(id, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", w->dir, name);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	memcpy(hdr, MLFS_PACK_MAGIC, 8);
	mlfs_put_le32(hdr + 8, MLFS_PACK_VERSION);
	mlfs_put_le64(hdr + 16, id);
	mlfs_put_le64(hdr + 24, (uint64_t)time(NULL));
	r = mlfs_pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (r < 0) {
		close(fd);
		unlink(path);
		return r;
	}
	out->id = id;
	out->fd = fd;
	return 0;
}

int mlfs_pack_writer_new(const char *dir, struct mlfs_pack_writer **out)
{
	struct mlfs_pack_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->dir = strdup(dir);
	if (!w->dir) {
		free(w);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	*out = w;
	return 0;
}

/* Reserve room for @len bytes in @slot's pack, starting a new pack when
 * it would pass the target size; called with the lock held. */
static int reserve(struct mlfs_pack_writer *w, struct writer_slot *sl,
		   uint64_t len, int *fd, uint64_t *pack_id, uint64_t *off)
{
	if (w->error)
		return w->error;
	if (!sl->size || sl->size + len > MLFS_PACK_TARGET_SIZE) {
		struct written_pack np, *v;
		int r;

		v = realloc(w->packs, (w->npacks + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->packs = v;
		r = pack_create(w, &np);
		if (r < 0)
			return r;
		w->packs[w->npacks++] = np;
		sl->cur = np;
		sl->size = MLFS_PACK_HEADER_LEN;
		w->total += MLFS_PACK_HEADER_LEN;
	}
	*fd = sl->cur.fd;
	*pack_id = sl->cur.id;
	*off = sl->size;
	sl->size += len;
	w->total += len;
	return 0;
}

int mlfs_pack_writer_append(struct mlfs_pack_writer *w, unsigned slot,
			    const struct mlfs_id *id, enum mlfs_codec codec,
			    uint32_t raw_len, const void *stored,
			    uint32_t stored_len, struct mlfs_chunk_loc *loc)
{
	uint8_t hdr[MLFS_PACK_ENTRY_HEADER_LEN];
	uint64_t len = MLFS_PACK_ENTRY_HEADER_LEN + (uint64_t)stored_len;
	struct iovec iov[2];
	uint64_t off = 0, pack_id = 0;
	size_t done = 0;
	int fd = -1, r;

	if (slot >= MLFS_PACK_WRITER_SLOTS)
		return -EINVAL;
	mlfs_pack_entry_format(hdr, id, codec, raw_len, stored_len);
	pthread_mutex_lock(&w->lock);
	r = reserve(w, &w->slots[slot], len, &fd, &pack_id, &off);
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		return r;
	/* The bytes go in outside the lock: each writer owns its range. */
	while (done < len) {
		ssize_t n;

		iov[0].iov_base = hdr + (done < sizeof(hdr) ? done :
					 sizeof(hdr));
		iov[0].iov_len = done < sizeof(hdr) ? sizeof(hdr) - done : 0;
		iov[1].iov_base = (uint8_t *)stored +
				  (done > sizeof(hdr) ? done - sizeof(hdr) : 0);
		iov[1].iov_len = stored_len -
				 (done > sizeof(hdr) ? done - sizeof(hdr) : 0);
		n = pwritev(fd, iov, 2, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			pthread_mutex_lock(&w->lock);
			/* A torn entry ends this pack's scannable part. */
			if (!w->error)
				w->error = r;
			pthread_mutex_unlock(&w->lock);
			return r;
		}
		done += (size_t)n;
	}
	/* Start writeback of each completed 8 MiB window now, so the fsync
	 * before commit finds little left to write and the disk works in
	 * parallel with compression. */
	if ((off + len) / WRITEBACK_WINDOW != off / WRITEBACK_WINDOW) {
		uint64_t end = (off + len) / WRITEBACK_WINDOW *
			       WRITEBACK_WINDOW;

		(void)sync_file_range(fd, (off_t)(end - WRITEBACK_WINDOW),
				      WRITEBACK_WINDOW,
				      SYNC_FILE_RANGE_WRITE); /* a hint */
	}
	loc->pack_id = pack_id;
	loc->offset = off;
	loc->stored_len = stored_len;
	loc->raw_len = raw_len;
	loc->codec = (uint8_t)codec;
	return 0;
}

int mlfs_pack_writer_sync(struct mlfs_pack_writer *w)
{
	int r = 0;

	pthread_mutex_lock(&w->lock);
	r = w->error;
	for (size_t i = 0; !r && i < w->npacks; i++)
		if (fsync(w->packs[i].fd) < 0)
			r = -errno;
	pthread_mutex_unlock(&w->lock);
	if (!r && w->npacks)
		r = mlfs_fsync_dir(w->dir);
	return r;
}

uint64_t mlfs_pack_writer_bytes(const struct mlfs_pack_writer *w)
{
	return w->total;
}

void mlfs_pack_writer_discard(struct mlfs_pack_writer *w)
{
	char path[PATH_MAX], name[40];

	if (!w)
		return;
	for (size_t i = 0; i < w->npacks; i++) {
		mlfs_pack_name(w->packs[i].id, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", w->dir, name);
		/* best effort: an orphan pack is harmless (gc removes it) */
		(void)unlink(path);
	}
	mlfs_pack_writer_free(w);
}

void mlfs_pack_writer_free(struct mlfs_pack_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->npacks; i++)
		close(w->packs[i].fd);
	pthread_mutex_destroy(&w->lock);
	free(w->packs);
	free(w->dir);
	free(w);
}

/* ---- reader ---- */

#define PACK_SET_MAX_FDS 512

struct open_pack {
	uint64_t id;
	int fd;
};

struct mlfs_pack_set {
	pthread_rwlock_t lock;
	char *dir;
	struct open_pack *open; /* protected by lock */
	size_t nopen;           /* protected by lock */
};

int mlfs_pack_set_new(const char *dir, struct mlfs_pack_set **out)
{
	struct mlfs_pack_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->dir = strdup(dir);
	s->open = calloc(PACK_SET_MAX_FDS, sizeof(*s->open));
	if (!s->dir || !s->open) {
		free(s->dir);
		free(s->open);
		free(s);
		return -ENOMEM;
	}
	pthread_rwlock_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void mlfs_pack_set_free(struct mlfs_pack_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nopen; i++)
		close(s->open[i].fd);
	pthread_rwlock_destroy(&s->lock);
	free(s->open);
	free(s->dir);
	free(s);
}

/* Find @id's fd; called with the lock held (read or write). */
static int find_fd(struct mlfs_pack_set *s, uint64_t id)
{
	for (size_t i = 0; i < s->nopen; i++)
		if (s->open[i].id == id)
			return s->open[i].fd;
	return -1;
}

/* Return with the read lock held and *fd valid, or an error unlocked. */
static int acquire_fd(struct mlfs_pack_set *s, uint64_t id, int *fd)
{
	char path[PATH_MAX], name[40];
	int nfd;

	pthread_rwlock_rdlock(&s->lock);
	*fd = find_fd(s, id);
	if (*fd >= 0)
		return 0;
	pthread_rwlock_unlock(&s->lock);

	mlfs_pack_name(id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	pthread_rwlock_wrlock(&s->lock);
	if (find_fd(s, id) >= 0) {
		close(nfd);
	} else {
		if (s->nopen == PACK_SET_MAX_FDS) {
			/* Evict the oldest; no reader holds it (we have the
			 * write lock). */
			close(s->open[0].fd);
			memmove(s->open, s->open + 1,
				(s->nopen - 1) * sizeof(*s->open));
			s->nopen--;
		}
		s->open[s->nopen].id = id;
		s->open[s->nopen].fd = nfd;
		s->nopen++;
	}
	pthread_rwlock_unlock(&s->lock);
	pthread_rwlock_rdlock(&s->lock);
	*fd = find_fd(s, id);
	if (*fd < 0) {
		pthread_rwlock_unlock(&s->lock);
		return -EAGAIN;
	}
	return 0;
}

/* Per-thread buffer for stored chunk bytes: readers (FUSE workers, the
 * read-ahead pool) fetch chunk after chunk, and a malloc per chunk
 * costs page faults. Freed by the key's destructor at thread exit. */
struct read_buf {
	uint8_t *p;
	size_t cap;
};

static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;

static void read_buf_destroy(void *v)
{
	struct read_buf *b = v;

	free(b->p);
	free(b);
}

static void read_buf_key_init(void)
{
	(void)pthread_key_create(&read_buf_key, read_buf_destroy);
}

static uint8_t *read_buf(size_t len)
{
	struct read_buf *b;

	pthread_once(&read_buf_once, read_buf_key_init);
	b = pthread_getspecific(read_buf_key);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		if (pthread_setspecific(read_buf_key, b)) {
			free(b);
			return NULL;
		}
	}
	if (b->cap < len) {
		uint8_t *np = realloc(b->p, len);

		if (!np)
			return NULL;
		b->p = np;
		b->cap = len;
	}
	return b->p;
}

/* Read the entry at @loc: header into @hdr, stored bytes into @data. */
static int read_entry(struct mlfs_pack_set *s, const struct mlfs_chunk_loc *loc,
		      uint8_t *hdr, uint8_t *data)
{
	struct iovec iov[2] = {
		{ hdr, MLFS_PACK_ENTRY_HEADER_LEN },
		{ data, loc->stored_len },
	};
	size_t want = MLFS_PACK_ENTRY_HEADER_LEN + loc->stored_len, done = 0;
	int fd, r;

	for (int tries = 0;; tries++) {
		r = acquire_fd(s, loc->pack_id, &fd);
		if (r != -EAGAIN || tries > 3)
			break;
	}
	if (r < 0)
		return r;
	while (done < want) {
		ssize_t n = preadv(fd, iov, 2, (off_t)(loc->offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Short: the pack ends before the index says. */
			r = n < 0 ? -errno : -EBADMSG;
			break;
		}
		done += (size_t)n;
		for (int i = 0; i < 2 && n > 0; i++) {
			size_t k = (size_t)n < iov[i].iov_len ? (size_t)n :
				   iov[i].iov_len;

			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			n -= (ssize_t)k;
		}
	}
	pthread_rwlock_unlock(&s->lock);
	return r;
}

int mlfs_pack_set_read(struct mlfs_pack_set *s, const struct mlfs_id *id,
		       const struct mlfs_chunk_loc *loc, void *out)
{
	uint8_t hdr[MLFS_PACK_ENTRY_HEADER_LEN], *data;
	uint32_t raw_len, stored_len;
	enum mlfs_codec codec;
	struct mlfs_id hid;
	int r;

	/* @loc comes from the database: as untrusted as the pack. An offset
	 * inside the pack header, or one that pread cannot reach (an off_t
	 * is signed), is a damaged row, not an I/O error. */
	if (loc->stored_len > MLFS_CHUNK_LIMIT_BYTES * 2 ||
	    loc->raw_len > MLFS_CHUNK_LIMIT_BYTES ||
	    loc->offset < MLFS_PACK_HEADER_LEN ||
	    loc->offset > (uint64_t)INT64_MAX - MLFS_PACK_ENTRY_HEADER_LEN -
			  loc->stored_len)
		return -EBADMSG;
	/* A raw chunk is read straight into @out: no copy. */
	if (loc->codec == MLFS_CODEC_RAW && loc->stored_len == loc->raw_len)
		data = out;
	else
		data = read_buf(loc->stored_len ? loc->stored_len : 1);
	if (!data)
		return -ENOMEM;
	r = read_entry(s, loc, hdr, data);
	if (r < 0)
		return r;
	r = mlfs_pack_entry_parse(hdr, &hid, &codec, &raw_len, &stored_len);
	if (r < 0)
		return r;
	if (memcmp(hid.b, id->b, MLFS_ID_LEN) || raw_len != loc->raw_len ||
	    stored_len != loc->stored_len || codec != loc->codec)
		return -EBADMSG;
	if (data == out)
		return 0;
	return mlfs_codec_decode(codec, data, stored_len, out, raw_len);
}

int mlfs_pack_set_size(struct mlfs_pack_set *s, uint64_t pack_id,
		       uint64_t *size)
{
	char path[PATH_MAX], name[40];
	struct stat st;

	mlfs_pack_name(pack_id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (stat(path, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

int mlfs_pack_scan(const char *path, mlfs_pack_scan_fn fn, void *ctx,
		   bool *tail_bad)
{
	uint8_t hdr[MLFS_PACK_HEADER_LEN], eh[MLFS_PACK_ENTRY_HEADER_LEN];
	uint64_t pack_id, off = MLFS_PACK_HEADER_LEN, size;
	struct stat st;
	int fd, r;

	*tail_bad = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	size = (uint64_t)st.st_size;
	r = mlfs_pread_full(fd, hdr, sizeof(hdr), 0);
	if (r == 0)
		r = mlfs_pack_header_check(hdr, &pack_id);
	if (r < 0) {
		r = -EBADMSG;
		goto out;
	}
	while (off < size) {
		struct mlfs_chunk_loc loc;
		struct mlfs_id id;

		if (size - off < sizeof(eh) ||
		    mlfs_pread_full(fd, eh, sizeof(eh), off) < 0 ||
		    mlfs_pack_entry_locate(eh, pack_id, off, size, &id,
					   &loc) < 0) {
			*tail_bad = true;
			break;
		}
		r = fn(ctx, &id, &loc);
		if (r < 0)
			goto out;
		off += sizeof(eh) + loc.stored_len;
	}
	r = 0;
out:
	close(fd);
	return r;
}
