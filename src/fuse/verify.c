/*
 * verify.c - the whole-file digest check of sequential readers. Chunks
 * are verified against their ids as they are decoded; this checks that
 * they are the right chunks in the right order: every chunk a read uses
 * goes into the open file's digest in file order, and once the last one
 * is in (at the latest on the read that reaches EOF) the result is
 * compared with the file's digest (the tree entry's id); on a mismatch
 * that read and all later ones fail. The kernel's read-ahead requests
 * are served by several threads and arrive out of order, by 16 MiB and
 * more, so hashing in file order would meet most bytes after they left
 * the CPU cache (XXH3 from memory costs ~3x). Instead each chunk's share
 * of the digest (its part, hashsplit.h) is made as soon as a read or a
 * read-ahead worker has the chunk decoded, and parts are added in file
 * order, which is cheap. A chunk read without a part (too far ahead, or
 * out of memory) is marked (one bit) and taken again from the chunk
 * cache when its turn comes. A gap that no running read can fill when
 * the read at EOF comes (a reader that skipped, or started elsewhere)
 * gives the check up for this open file. Relies on the store's hash key
 * (hashsplit.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mount.h"

/* How long the read at EOF waits for a read of a gap that the kernel
 * may not have handed to any thread yet. Reads already running are
 * always waited for; this is only for one not yet issued. 200 ms cost a
 * cold 1 GiB dd 11 % in wall time; at 20 ms it is 5 %, and every one of
 * 18 cold and 16 warm reads of a damaged 512 MiB file still failed at
 * EOF. */
#define GAP_WAIT_MS 20
/* ... and only for a gap of up to this many bytes (read-ahead reaches
 * 16 MiB and more past the gap). */
#define GAP_WAIT_MAX (64u << 20)
/* Parts are made for chunks at most this far past the next one to add
 * (a cold read's requests come up to ~20 MiB out of order) ... */
#define PARTS_AHEAD (64u << 20)
/* ... while the parts waiting to be added hold less than this (a part is
 * ~1/16 of its chunk plus ~250 bytes, in a buffer of the next power of
 * two). */
#define PARTS_MEM_MAX (8u << 20)

/* Part buffers are kept for reuse, by size class (powers of two from
 * 1 KiB), up to this many bytes: a malloc and free of a few KiB for each
 * chunk, among the chunk buffers, showed in a cold read's profile
 * (glibc's coalescing). */
#define POOL_MIN_SHIFT 10
#define POOL_MAX (2u << 20)

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

static size_t class_cap(unsigned cls)
{
	return (size_t)1 << (POOL_MIN_SHIFT + cls);
}

/* The size class of a part of @need bytes; MLFS_DIGEST_POOL_CLASSES if
 * it is too large to keep. */
static unsigned class_of(size_t need)
{
	unsigned cls = 0;

	while (cls < MLFS_DIGEST_POOL_CLASSES && class_cap(cls) < need)
		cls++;
	return cls;
}

/* A kept buffer for a part of @need bytes, or NULL: make one with
 * buf_new() (outside the lock). */
static void *buf_take_locked(struct mlfs_digest *d, size_t need)
{
	unsigned cls = class_of(need);
	void *b;

	if (cls == MLFS_DIGEST_POOL_CLASSES || !d->pool[cls])
		return NULL;
	b = d->pool[cls];
	memcpy(&d->pool[cls], b, sizeof(b)); /* the next kept one */
	d->pool_bytes -= class_cap(cls);
	return b;
}

static void *buf_new(size_t need)
{
	unsigned cls = class_of(need);

	return malloc(cls < MLFS_DIGEST_POOL_CLASSES ? class_cap(cls) : need);
}

/* The memory part @p (made by make_part) takes: its buffer's. */
static size_t part_bytes(const struct mlfs_hashsplit_part *p)
{
	size_t need = mlfs_hashsplit_part_mem(p);
	unsigned cls = class_of(need);

	return cls < MLFS_DIGEST_POOL_CLASSES ? class_cap(cls) : need;
}

/* Done with part @p (made by make_part): keep its buffer or free it. */
static void part_done_locked(struct mlfs_digest *d,
			     struct mlfs_hashsplit_part *p)
{
	unsigned cls;

	if (!p)
		return;
	cls = class_of(mlfs_hashsplit_part_mem(p));
	if (cls < MLFS_DIGEST_POOL_CLASSES &&
	    d->state == MLFS_DIGEST_TRACKING &&
	    d->pool_bytes + class_cap(cls) <= POOL_MAX) {
		memcpy(p, &d->pool[cls], sizeof(d->pool[cls]));
		d->pool[cls] = p;
		d->pool_bytes += class_cap(cls);
		return;
	}
	free(p);
}

/* Drop the parts, the kept buffers and the seen map. Called with
 * d->lock held, or when no read can run any more. */
static void drop_locked(struct mlfs_digest *d)
{
	if (d->parts)
		for (size_t i = 0; i < d->nparts; i++)
			free(d->parts[i]);
	free(d->parts);
	d->parts = NULL;
	d->parts_mem = 0;
	for (unsigned cls = 0; cls < MLFS_DIGEST_POOL_CLASSES; cls++)
		while (d->pool[cls]) {
			void *b = d->pool[cls];

			memcpy(&d->pool[cls], b, sizeof(b));
			free(b);
		}
	d->pool_bytes = 0;
	free(d->seen);
	d->seen = NULL;
}

void mlfs_digest_release(struct mlfs_digest *d)
{
	drop_locked(d);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}

static void give_up_locked(struct mlfs_digest *d)
{
	if (d->state != MLFS_DIGEST_TRACKING)
		return;
	drop_locked(d);
	d->state = MLFS_DIGEST_OFF;
}

static bool is_seen(const struct mlfs_digest *d, size_t idx)
{
	return d->seen && (d->seen[idx / 8] >> (idx % 8) & 1);
}

/* Is a part of chunk @idx still wanted, and may it be kept? */
static bool want_part_locked(const struct mlfs_digest *d,
			     const struct mlfs_content *c, size_t idx)
{
	if (d->state != MLFS_DIGEST_TRACKING || idx < d->next ||
	    (d->parts && d->parts[idx]))
		return false;
	return idx == d->next ||
	       (c->offs[idx] - c->offs[d->next] <= PARTS_AHEAD &&
		d->parts_mem < PARTS_MEM_MAX);
}

/* Add @p, the part of the next chunk; after the last one, decide. */
static void add_next_locked(struct mlfs_digest *d, struct mlfs_store *s,
			    const struct mlfs_content *c,
			    const struct mlfs_hashsplit_part *p)
{
	struct mlfs_id got;

	if (!d->next)
		mlfs_hashsplit_init(&d->h, &mlfs_store_config(s)->key,
				    c->size);
	if (mlfs_hashsplit_add(&d->h, p) < 0) {
		give_up_locked(d); /* cannot happen: parts come in order */
		return;
	}
	if (++d->next < c->n)
		return;
	if (mlfs_hashsplit_final(&d->h, &got) < 0) {
		give_up_locked(d);
		return;
	}
	d->state = mlfs_id_cmp(&got, &c->digest) ? MLFS_DIGEST_BAD :
						    MLFS_DIGEST_GOOD;
	drop_locked(d);
}

static size_t part_size(const struct mlfs_content *c, size_t idx,
			const struct mlfs_chunk *ch)
{
	return mlfs_hashsplit_part_size(c->size, c->offs[idx], ch->len);
}

/* The part of chunk @idx (@ch) in @buf (from buf_take_locked() or
 * buf_new(): malloc'ed, so mlfs_hashsplit_part_free() also frees it), or
 * NULL (@buf is freed). */
static struct mlfs_hashsplit_part *make_part(struct mlfs_store *s,
					     const struct mlfs_content *c,
					     size_t idx,
					     const struct mlfs_chunk *ch,
					     void *buf)
{
	struct mlfs_hashsplit_part *p;

	if (!buf || mlfs_hashsplit_part_make(&mlfs_store_config(s)->key,
					     c->size, c->offs[idx], ch->data,
					     ch->len, buf, &p) < 0) {
		free(buf);
		return NULL; /* the chunk is taken again from the cache */
	}
	return p;
}

/* Make the part of chunk @idx (@ch) and add it, the next one. */
static int add_chunk_locked(struct mlfs_digest *d, struct mlfs_store *s,
			    const struct mlfs_content *c, size_t idx,
			    const struct mlfs_chunk *ch)
{
	size_t need = part_size(c, idx, ch);
	void *buf = buf_take_locked(d, need);
	struct mlfs_hashsplit_part *p = make_part(s, c, idx, ch,
						  buf ? buf : buf_new(need));

	if (!p)
		return -ENOMEM;
	add_next_locked(d, s, c, p);
	part_done_locked(d, p);
	return 0;
}

/* Add the parts waiting for the chunks now next; chunks read without a
 * part are taken again from the chunk cache (they were just read, so
 * normally still there; else they are decoded again). */
static void drain_locked(struct mlfs_digest *d, struct mlfs_store *s,
			 const struct mlfs_content *c)
{
	while (d->state == MLFS_DIGEST_TRACKING && d->next < c->n) {
		struct mlfs_hashsplit_part *p = d->parts ? d->parts[d->next] :
							   NULL;
		const struct mlfs_chunk *ch;
		size_t idx = d->next;
		int r;

		if (p) {
			d->parts[idx] = NULL;
			d->parts_mem -= part_bytes(p);
			add_next_locked(d, s, c, p);
			part_done_locked(d, p);
			continue;
		}
		if (!is_seen(d, idx))
			return;
		d->seen[idx / 8] &= (uint8_t)~(1u << (idx % 8));
		r = mlfs_content_get_chunk(s, c, idx, &ch);
		if (r == 0) {
			r = add_chunk_locked(d, s, c, idx, ch);
			mlfs_chunk_unref(s, ch);
		}
		if (r < 0)
			give_up_locked(d); /* a read of it reports it */
	}
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

/* Chunk @idx (@ch) was read or decoded, and @p is its part or NULL
 * (not wanted, or it could not be made; this takes it): keep the part
 * for later, or add it if its chunk comes next. A chunk a read used
 * (@read) that has no part is added now if it comes next, else marked,
 * to be taken again from the cache when it does. */
static void take_locked(struct mlfs_digest *d, struct mlfs_store *s,
			const struct mlfs_content *c, size_t idx,
			const struct mlfs_chunk *ch,
			struct mlfs_hashsplit_part *p, bool read)
{
	if (p && !want_part_locked(d, c, idx)) {
		part_done_locked(d, p); /* made twice, or a verdict came */
		p = NULL;
	} else if (p && idx == d->next) {
		add_next_locked(d, s, c, p);
		part_done_locked(d, p);
		drain_locked(d, s, c);
		return;
	} else if (p) {
		if (!d->parts) {
			d->parts = calloc(c->n, sizeof(*d->parts));
			d->nparts = d->parts ? c->n : 0;
		}
		if (d->parts) {
			d->parts[idx] = p;
			d->parts_mem += part_bytes(p);
			return;
		}
		part_done_locked(d, p);
	}
	if (!read || d->state != MLFS_DIGEST_TRACKING || idx < d->next ||
	    (d->parts && d->parts[idx]))
		return; /* added already, or waiting to be */
	if (idx == d->next) {
		if (add_chunk_locked(d, s, c, idx, ch) < 0)
			give_up_locked(d);
		drain_locked(d, s, c);
		return;
	}
	if (!d->seen)
		d->seen = calloc(c->n / 8 + 1, 1);
	if (!d->seen) {
		give_up_locked(d);
		return;
	}
	d->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
}

void mlfs_digest_chunk(struct mlfs_digest *d, struct mlfs_store *s,
		       const struct mlfs_content *c, size_t idx,
		       const struct mlfs_chunk *ch)
{
	size_t need = part_size(c, idx, ch);
	struct mlfs_hashsplit_part *p;
	void *buf = NULL;
	bool want;

	pthread_mutex_lock(&d->lock);
	want = want_part_locked(d, c, idx);
	if (want)
		buf = buf_take_locked(d, need);
	pthread_mutex_unlock(&d->lock);
	if (!want)
		return;
	/* hash the bytes now, while they are in the CPU cache, and outside
	 * the lock */
	p = make_part(s, c, idx, ch, buf ? buf : buf_new(need));
	pthread_mutex_lock(&d->lock);
	take_locked(d, s, c, idx, ch, p, false);
	pthread_mutex_unlock(&d->lock);
}

struct mlfs_hashsplit_part *mlfs_digest_make(struct mlfs_digest *d,
					     struct mlfs_store *s,
					     const struct mlfs_content *c,
					     size_t idx,
					     const struct mlfs_chunk *ch)
{
	void *buf = NULL;
	bool want = true;

	/* never wait for the lock before a reply: when it is busy, make
	 * the part anyway (it is normally wanted) */
	if (pthread_mutex_trylock(&d->lock) == 0) {
		want = want_part_locked(d, c, idx);
		if (want)
			buf = buf_take_locked(d, part_size(c, idx, ch));
		pthread_mutex_unlock(&d->lock);
	}
	if (!want)
		return NULL;
	return make_part(s, c, idx, ch, buf ? buf : buf_new(part_size(c, idx,
								      ch)));
}

/* The chunks [@first, @first + @n) (@ch, their parts @given, if not
 * NULL, taken over) a read used, with d->lock held: make the parts still
 * wanted (normally none: they were made as the chunks were decoded;
 * outside the lock, a batch at a time) and take them. */
static void take_read_locked(struct mlfs_digest *d, struct mlfs_store *s,
			     const struct mlfs_content *c, size_t first,
			     const struct mlfs_chunk *const *ch,
			     struct mlfs_hashsplit_part *const *given,
			     size_t n)
{
	struct mlfs_hashsplit_part *p[32];
	void *buf[MLFS_ARRAY_SIZE(p)];
	bool want[MLFS_ARRAY_SIZE(p)];

	for (size_t k = 0; k < n; k += MLFS_ARRAY_SIZE(p)) {
		size_t m = n - k < MLFS_ARRAY_SIZE(p) ? n - k :
							MLFS_ARRAY_SIZE(p);
		bool any = false;

		for (size_t i = 0; i < m; i++) {
			size_t idx = first + k + i;

			p[i] = given ? given[k + i] : NULL;
			want[i] = !p[i] && want_part_locked(d, c, idx);
			any = any || want[i];
			buf[i] = want[i] ? buf_take_locked(d,
				part_size(c, idx, ch[k + i])) : NULL;
		}
		if (any) {
			pthread_mutex_unlock(&d->lock);
			for (size_t i = 0; i < m; i++) {
				size_t idx = first + k + i;

				if (!want[i])
					continue;
				if (!buf[i])
					buf[i] = buf_new(part_size(c, idx,
								   ch[k + i]));
				p[i] = make_part(s, c, idx, ch[k + i], buf[i]);
			}
			pthread_mutex_lock(&d->lock);
		}
		for (size_t i = 0; i < m; i++)
			take_locked(d, s, c, first + k + i, ch[k + i], p[i],
				    true);
	}
	/* parts may be waiting for those this read made before its reply */
	drain_locked(d, s, c);
}

/* Wait on d->cond (until @until, if not NULL); false on a time-out. */
static bool wait_locked(struct mlfs_digest *d, const struct timespec *until)
{
	int r = 0;

	d->waiters++;
	if (until)
		r = pthread_cond_timedwait(&d->cond, &d->lock, until);
	else
		pthread_cond_wait(&d->cond, &d->lock);
	d->waiters--;
	return r != ETIMEDOUT;
}

int mlfs_digest_end(struct mlfs_digest *d, struct mlfs_store *s,
		    const struct mlfs_content *c, size_t first,
		    const struct mlfs_chunk *const *ch,
		    struct mlfs_hashsplit_part *const *parts, size_t n,
		    bool eof)
{
	bool waited = false;
	int st;

	pthread_mutex_lock(&d->lock);
	take_read_locked(d, s, c, first, ch, parts, n);
	d->inflight--;
	d->progress++;
	if (d->waiters)
		pthread_cond_broadcast(&d->cond);
	/*
	 * The read that reaches EOF waits for the reads still running (they
	 * may fill a gap). A sequential reader's request for the gap can
	 * also still be queued in the kernel, not yet taken by any thread:
	 * give it GAP_WAIT_MS, again after each read that ends meanwhile.
	 * Only for a gap the size of read-ahead: a reader that began
	 * elsewhere (nothing hashed yet: one that reads a footer first) or
	 * jumped (a header, then the end) is not waited for.
	 */
	while (eof && d->state == MLFS_DIGEST_TRACKING) {
		unsigned long seen_progress = d->progress;
		struct timespec until;

		if (d->inflight > 0) {
			wait_locked(d, NULL);
			continue;
		}
		if (!d->next || waited || d->next > first ||
		    c->offs[first] - c->offs[d->next] > GAP_WAIT_MAX)
			break;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += GAP_WAIT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (d->progress == seen_progress && !waited)
			waited = !wait_locked(d, &until);
		if (d->progress != seen_progress)
			waited = false;
	}
	if (eof)
		give_up_locked(d);
	st = d->state;
	pthread_mutex_unlock(&d->lock);
	return st;
}
