/*
 * remote_read.c - reading a chunk whose pack is in a remote's bucket
 * (remote_packs): from the local cache (remote_cache.c), else by a
 * ranged GET of just its entry (header + stored bytes), checked like a
 * local entry and hashed against its id.
 *
 * A reader that misses the entries of one pack one after another is
 * sequential: it gets a stream, windows of the pack (cache blocks)
 * fetched by helper threads ahead of it, up to STREAM_DEPTH GETs in
 * flight, each by its own client, and written into the cache, where the
 * reader finds its entries (checked when read, like any cached entry).
 * How far ahead grows with how far the reader went, like the kernel's
 * read-ahead, and stays well inside the cache bound. S3 clients are
 * pooled per remote (a client is not thread-safe: one per concurrent
 * request).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_cache.h"
#include "remote_impl.h"
#include "remote_read.h"

#define POOL_MAX 16
/* One GET of a stream: a cache block. */
#define WINDOW RCACHE_BLOCK
#define STREAM_DEPTH 4 /* GETs in flight per stream */
#define STREAM_RING 7  /* windows held per stream (fetched, unread) */
#define NSTREAMS 8
/* Window buffers held by all streams at most (their bytes are in the
 * cache files too; held, a reader copies its entry from memory). */
#define HELD_MAX 14
/* A miss at most this far past the end of the last entry read in the
 * same pack continues that reader (a file's chunks are in pack order,
 * minus the ones deduplicated elsewhere). */
#define SEQ_GAP (1u << 20)
/* Misses in a row that make a reader sequential: a random reader's
 * kernel read-ahead may touch the next entry once. */
#define SEQ_STREAK 2
struct rclient {
	char *remote;
	struct mlfs_s3 *s3;
	bool busy;
};

struct rwin {
	uint64_t off, len;
	uint8_t *buf;   /* WINDOW + 1 bytes, the window's once fetched */
	int err;
	bool fetched;   /* the GET ended (err says how) */
	bool written;   /* and the bytes went to the cache: no thread */
};

/* One reader's place in one pack, and the windows fetched ahead of it.
 * All fields protected by remote_reader.lock. */
struct stream {
	uint64_t gen;        /* bumped when the slot is taken anew */
	uint64_t used;       /* reader_tick at the last use */
	uint64_t pack, psize;
	uint64_t last_end;   /* end of the last entry the reader wanted */
	uint64_t last_off;   /* and its start: windows a window before it
			      * are done (the mount's threads read a few
			      * entries at once, one may still copy from
			      * the window before another's) */
	unsigned streak;     /* misses in a row, each at last_end */
	uint64_t streak_off; /* where the first of them was */
	/* while active: */
	bool active, failed;
	const struct mlfs_remote *r; /* in remote_reader.remotes */
	char key[64];
	uint64_t start;      /* where the stream began (an entry) */
	uint64_t parsed;     /* the bytes before this were fetched */
	uint64_t issued;     /* windows requested up to here */
	uint64_t ahead_max;
	struct rwin w[STREAM_RING]; /* in pack order from w[head] */
	unsigned head, nwin;
	unsigned busy;       /* windows not written yet (a thread each) */
};

struct remote_reader {
	struct mlfs_store *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;             /* stream progress, thread exit,
					    a client put back */
	struct rclient pool[POOL_MAX];   /* protected by lock */
	size_t pool_max;                 /* slots used; set once */
	/* the remotes read from, as the store had them when first read:
	 * appended under lock, then never changed until freed */
	struct mlfs_remote remotes[8];
	size_t nremotes;                 /* protected by lock */
	struct stream st[NSTREAMS];      /* protected by lock */
	uint64_t tick, gen;              /* protected by lock */
	unsigned threads;                /* window threads; lock */
	/* WINDOW + 1 byte buffers the windows reuse (fresh 4 MiB ones
	 * cost page faults and zeroing each time) */
	uint8_t *bufs[HELD_MAX];         /* protected by lock */
	size_t nbufs;                    /* protected by lock */
	unsigned held;                   /* buffers in windows; lock */
	bool closing;                    /* protected by lock */
	struct rcache cache;             /* its own lock */
};

/* Creation of s->remote (first remote read of a store object). */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static void buf_put(struct remote_reader *rr, uint8_t *b);

/* Drop @st's windows (none has a thread: busy is 0). */
static void stream_clear(struct remote_reader *rr, struct stream *st)
{
	for (; st->nwin; st->nwin--) {
		struct rwin *w = &st->w[st->head];

		if (w->buf)
			rr->held--;
		buf_put(rr, w->buf);
		w->buf = NULL;
		st->head = (st->head + 1) % STREAM_RING;
	}
	st->r = NULL;
	st->active = false;
}

void remote_reader_free(struct remote_reader *rr)
{
	if (!rr)
		return;
	/* window threads hold the store and the cache: wait for them */
	pthread_mutex_lock(&rr->lock);
	rr->closing = true;
	while (rr->threads)
		pthread_cond_wait(&rr->cond, &rr->lock);
	pthread_mutex_unlock(&rr->lock);
	for (size_t i = 0; i < POOL_MAX; i++) {
		mlfs_s3_close(rr->pool[i].s3);
		free(rr->pool[i].remote);
	}
	for (size_t i = 0; i < rr->nremotes; i++)
		mlfs_remote_release(&rr->remotes[i]);
	for (size_t i = 0; i < NSTREAMS; i++)
		stream_clear(rr, &rr->st[i]);
	for (size_t i = 0; i < rr->nbufs; i++)
		free(rr->bufs[i]);
	rcache_destroy(&rr->cache);
	pthread_cond_destroy(&rr->cond);
	pthread_mutex_destroy(&rr->lock);
	free(rr);
}

/* POOL_MAX, or fewer with MLFS_TEST_REMOTE_CLIENTS=N (tests/remote.sh:
 * readers that must wait for a client, whatever the machine's speed). */
static size_t pool_size(void)
{
	const char *v = getenv("MLFS_TEST_REMOTE_CLIENTS");
	long n = v ? atol(v) : 0;

	return n >= 1 && n < POOL_MAX ? (size_t)n : POOL_MAX;
}

static struct remote_reader *reader(struct mlfs_store *s)
{
	struct remote_reader *rr;

	pthread_mutex_lock(&init_lock);
	if (!s->remote) {
		rr = calloc(1, sizeof(*rr));
		if (rr) {
			rr->s = s;
			pthread_mutex_init(&rr->lock, NULL);
			pthread_cond_init(&rr->cond, NULL);
			rcache_init(&rr->cache);
			rr->pool_max = pool_size();
			s->remote = rr;
		}
	}
	rr = s->remote;
	pthread_mutex_unlock(&init_lock);
	return rr;
}

/* A free client of the pool for @r: one of @r's, else an unused slot,
 * else another remote's (closed). NULL when all are busy. With rr->lock
 * held. */
static struct rclient *client_pick(struct remote_reader *rr,
				   const struct mlfs_remote *r)
{
	for (size_t i = 0; i < rr->pool_max; i++)
		if (!rr->pool[i].busy && rr->pool[i].s3 &&
		    !strcmp(rr->pool[i].remote, r->name))
			return &rr->pool[i];
	for (size_t i = 0; i < rr->pool_max; i++)
		if (!rr->pool[i].busy && !rr->pool[i].s3)
			return &rr->pool[i];
	for (size_t i = 0; i < rr->pool_max; i++)
		if (!rr->pool[i].busy) {
			mlfs_s3_close(rr->pool[i].s3);
			rr->pool[i].s3 = NULL;
			return &rr->pool[i];
		}
	return NULL;
}

/* A client of @r from the pool (made when none is free). When all are
 * busy (readers and read-ahead at once), wait for one: each is held for
 * one request, never while waiting for another, so one comes free. */
static int client_get(struct remote_reader *rr, const struct mlfs_remote *r,
		      struct rclient **out)
{
	struct rclient *c;
	int e = 0;

	pthread_mutex_lock(&rr->lock);
	while (!(c = client_pick(rr, r)))
		pthread_cond_wait(&rr->cond, &rr->lock);
	c->busy = true;
	pthread_mutex_unlock(&rr->lock);
	if (!c->s3) {
		free(c->remote);
		c->remote = strdup(r->name);
		e = c->remote ? mlfs_remote_connect(r, &c->s3) : -ENOMEM;
	}
	if (e < 0) {
		pthread_mutex_lock(&rr->lock);
		c->busy = false;
		pthread_cond_broadcast(&rr->cond);
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
	pthread_cond_broadcast(&rr->cond); /* a client_get may wait */
	pthread_mutex_unlock(&rr->lock);
}

/* ---- streams; everything here with rr->lock held ---- */

/* Let go of @st's first window (written: no thread has it). */
static void stream_pop(struct remote_reader *rr, struct stream *st)
{
	struct rwin *w = &st->w[st->head];

	if (w->buf)
		rr->held--;
	buf_put(rr, w->buf);
	w->buf = NULL;
	st->head = (st->head + 1) % STREAM_RING;
	st->nwin--;
}

/* While HELD_MAX buffers are held, let go of the written windows of the
 * least recently used streams (their bytes are in the cache files). */
static void streams_trim(struct remote_reader *rr)
{
	while (rr->held >= HELD_MAX) {
		struct stream *v = NULL;

		for (size_t i = 0; i < NSTREAMS; i++) {
			struct stream *st = &rr->st[i];

			if (st->nwin && st->w[st->head].written &&
			    (!v || st->used < v->used))
				v = st;
		}
		if (!v)
			return;
		stream_pop(rr, v);
	}
}

/* Move the stream's frontier over the windows fetched, in order; let
 * go of the written windows the reader passed; end the stream when
 * nothing more will come. */
static void stream_advance(struct remote_reader *rr, struct stream *st)
{
	uint64_t front = st->parsed;

	for (unsigned i = 0; i < st->nwin; i++) {
		struct rwin *w = &st->w[(st->head + i) % STREAM_RING];

		if (!w->fetched)
			break;
		if (w->err || rr->closing) {
			st->failed = true;
			break;
		}
		front = w->off + w->len;
	}
	if (front > st->parsed)
		st->parsed = front;
	while (st->nwin && st->w[st->head].written &&
	       (st->w[st->head].off + st->w[st->head].len + WINDOW <=
			st->last_off ||
		st->failed || rr->closing))
		stream_pop(rr, st);
	if (st->active && !st->busy &&
	    (st->failed || (st->issued >= st->psize && !st->nwin)))
		stream_clear(rr, st); /* done: the slot keeps last_end */
	pthread_cond_broadcast(&rr->cond);
}

struct warg {
	struct remote_reader *rr;
	struct stream *st;
	unsigned slot;
};

/* called with rr->lock held */
static uint8_t *buf_get(struct remote_reader *rr)
{
	void *b;

	if (rr->nbufs)
		return rr->bufs[--rr->nbufs];
	/* aligned, so that the cache writes it around the page cache */
	return posix_memalign(&b, RCACHE_ALIGN, WINDOW + 1) ? NULL : b;
}

/* called with rr->lock held */
static void buf_put(struct remote_reader *rr, uint8_t *b)
{
	if (b && rr->nbufs < MLFS_ARRAY_SIZE(rr->bufs))
		rr->bufs[rr->nbufs++] = b;
	else
		free(b);
}

static void *window_main(void *arg)
{
	struct warg *a = arg;
	struct remote_reader *rr = a->rr;
	struct stream *st = a->st;
	struct rwin *w = &st->w[a->slot];
	struct rclient *c = NULL;
	uint64_t off, len;
	uint8_t *b;
	size_t got = 0;
	int e;

	free(a);
	pthread_mutex_lock(&rr->lock);
	off = w->off;
	len = w->len;
	b = w->buf;
	pthread_mutex_unlock(&rr->lock);
	/* st->r, st->key and w->buf stay while this window is busy */
	e = client_get(rr, st->r, &c);
	if (e == 0) {
		e = mlfs_s3_get_into(c->s3, st->key, off, len, b, WINDOW + 1,
				     &got);
		client_put(rr, c, e < 0 && e != -ENOENT);
	}
	if (e == 0 && got != len)
		e = -EIO; /* the pack is shorter than its index says */
	pthread_mutex_lock(&rr->lock);
	w->err = e;
	w->fetched = true;
	stream_advance(rr, st); /* (a waiting reader copies from b) */
	pthread_mutex_unlock(&rr->lock);
	if (e == 0)
		(void)rcache_put(rr->s, &rr->cache, st->r, st->pack, off, b,
				 got);
	pthread_mutex_lock(&rr->lock);
	w->written = true;
	st->busy--;
	stream_advance(rr, st);
	rr->threads--;
	pthread_cond_broadcast(&rr->cond);
	pthread_mutex_unlock(&rr->lock);
	return NULL;
}

/* Copy @len bytes at @off of the pack from @st's fetched windows into
 * @dst: true when they were all there. */
static bool stream_copy(struct stream *st, uint64_t off, size_t len,
			uint8_t *dst)
{
	for (unsigned i = 0; i < st->nwin && len; i++) {
		struct rwin *w = &st->w[(st->head + i) % STREAM_RING];
		size_t n;

		if (!w->fetched || w->err || !w->buf)
			return false;
		if (off < w->off)
			return false;
		if (off >= w->off + w->len)
			continue;
		n = (size_t)(w->off + w->len - off);
		if (n > len)
			n = len;
		memcpy(dst, w->buf + (off - w->off), n);
		dst += n;
		off += n;
		len -= n;
	}
	return len == 0;
}

/* Request windows until STREAM_DEPTH are in flight or the stream is far
 * enough ahead of its reader: half what the reader took since the
 * stream began (the reader is often the mount's and the kernel's
 * read-ahead already), at least one window, at most ahead_max. */
static void stream_pump(struct remote_reader *rr, struct stream *st)
{
	uint64_t took = st->last_end > st->start ? st->last_end - st->start : 0;
	uint64_t ahead = took / 2;

	if (!st->active || st->failed || rr->closing)
		return;
	if (ahead < WINDOW)
		ahead = WINDOW;
	if (ahead > st->ahead_max)
		ahead = st->ahead_max;
	streams_trim(rr);
	while (st->nwin < STREAM_RING && st->busy < STREAM_DEPTH &&
	       rr->held < HELD_MAX && st->issued < st->psize &&
	       st->issued < st->last_end + ahead) {
		unsigned slot = (st->head + st->nwin) % STREAM_RING;
		struct rwin *w = &st->w[slot];
		struct warg *a = malloc(sizeof(*a));
		uint8_t *b = a ? buf_get(rr) : NULL;
		pthread_attr_t at;
		pthread_t th;
		int e;

		if (!b) {
			free(a);
			break;
		}
		*a = (struct warg){ rr, st, slot };
		memset(w, 0, sizeof(*w));
		w->buf = b;
		w->off = st->issued;
		/* to the end of the cache block (the first window starts at
		 * the reader's entry), or of the pack */
		w->len = WINDOW - st->issued % WINDOW;
		if (w->len > st->psize - st->issued)
			w->len = st->psize - st->issued;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&th, &at, window_main, a);
		pthread_attr_destroy(&at);
		if (e) {
			buf_put(rr, b);
			w->buf = NULL;
			free(a);
			break;
		}
		st->nwin++;
		st->busy++;
		rr->held++;
		rr->threads++;
		st->issued += w->len;
	}
}

/* The stream whose windows hold @off of @pack. */
static struct stream *stream_covering(struct remote_reader *rr, uint64_t pack,
				      uint64_t off)
{
	for (size_t i = 0; i < NSTREAMS; i++) {
		struct stream *st = &rr->st[i];

		if (st->active && st->pack == pack && off >= st->start &&
		    off < st->issued)
			return st;
	}
	return NULL;
}

/* The slot of the reader that would go on at @off of @pack. */
static struct stream *stream_following(struct remote_reader *rr,
				       uint64_t pack, uint64_t off)
{
	for (size_t i = 0; i < NSTREAMS; i++) {
		struct stream *st = &rr->st[i];

		if (st->gen && st->pack == pack && off >= st->last_end &&
		    off - st->last_end <= SEQ_GAP)
			return st;
	}
	return NULL;
}

/* A slot for a new reader: a free one, else the least recently used one
 * with nothing in flight; NULL when all are busy. */
static struct stream *stream_new(struct remote_reader *rr, uint64_t pack,
				 uint64_t psize)
{
	struct stream *v = NULL;

	for (size_t i = 0; i < NSTREAMS; i++) {
		struct stream *st = &rr->st[i];

		if (st->busy)
			continue; /* its threads refer to it */
		if (!v || !st->gen || (v->gen && st->used < v->used))
			v = st;
	}
	if (!v)
		return NULL;
	if (v->active) /* a reader that went elsewhere: wake its waiters */
		pthread_cond_broadcast(&rr->cond);
	stream_clear(rr, v);
	memset(v, 0, sizeof(*v));
	v->gen = ++rr->gen;
	v->pack = pack;
	v->psize = psize;
	return v;
}

/* Begin fetching @st's pack ahead of a sequential reader at @loc, from
 * where its streak of misses began if that is near (the mount's threads
 * may still want the entries between). */
static int stream_start(struct stream *st, const struct mlfs_remote *r,
			const char *key, const struct mlfs_chunk_loc *loc)
{
	uint64_t bound = rcache_bound(r), from = loc->offset;

	st->ahead_max = (uint64_t)STREAM_DEPTH * WINDOW;
	if (st->ahead_max > bound / 4)
		st->ahead_max = bound / 4; /* never evict what is ahead */
	if (st->ahead_max < WINDOW)
		return -ENOSPC;
	st->r = r;
	snprintf(st->key, sizeof(st->key), "%s", key);
	/* from the aligned offset before the entry, so that every window
	 * but the pack's tail can be cached around the page cache */
	if (st->streak_off <= from && from - st->streak_off <= WINDOW)
		from = st->streak_off;
	st->start = st->parsed = st->issued = from - from % RCACHE_ALIGN;
	st->head = st->nwin = st->busy = 0;
	st->failed = false;
	st->active = true;
	return 0;
}

/* Note that the reader wants the entry at @loc (@len bytes), a hit or a
 * miss; returns the stream that will bring it, or NULL. */
static struct stream *stream_note(struct remote_reader *rr,
				  const struct mlfs_remote *r, const char *key,
				  const struct mlfs_chunk_loc *loc, size_t len,
				  uint64_t psize, bool miss)
{
	uint64_t end = loc->offset + len;
	struct stream *st = stream_covering(rr, loc->pack_id, loc->offset);

	if (!st)
		st = stream_following(rr, loc->pack_id, loc->offset);
	if (!st && miss)
		st = stream_new(rr, loc->pack_id, psize);
	if (!st)
		return NULL;
	st->used = ++rr->tick;
	if (st->active) {
		if (end > st->last_end) {
			st->last_end = end;
			st->last_off = loc->offset;
		}
		stream_pump(rr, st);
		return st;
	}
	if (miss && st->last_end && loc->offset >= st->last_end) {
		st->streak++;
	} else if (miss) {
		/* a pack's first entry: often a reader going on from the
		 * pack before (packs are written in order) */
		st->streak = loc->offset == MLFS_PACK_HEADER_LEN;
		st->streak_off = loc->offset;
	}
	st->last_end = end;
	st->last_off = loc->offset;
	if (!miss || st->streak < SEQ_STREAK || !psize ||
	    !rcache_writable(&rr->cache, r))
		return NULL;
	if (stream_start(st, r, key, loc) < 0)
		return NULL;
	stream_pump(rr, st);
	return st;
}

/* Wait until @st has cached the entry ending at @end, or stopped. */
static void stream_wait(struct remote_reader *rr, struct stream *st,
			uint64_t end)
{
	uint64_t gen = st->gen;

	while (st->gen == gen && st->active && !st->failed &&
	       st->parsed < end && st->busy && !rr->closing)
		pthread_cond_wait(&rr->cond, &rr->lock);
}

/* ---- the read ---- */

/* GET the entry at @loc alone, check it, decode it into @out and cache
 * it. */
static int fetch_entry(struct mlfs_store *s, struct remote_reader *rr,
		       const struct mlfs_remote *r, const char *key,
		       const struct mlfs_id *id,
		       const struct mlfs_chunk_loc *loc, void *out)
{
	size_t len = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len;
	struct mlfs_s3_buf b = { 0 };
	struct rclient *c = NULL;
	char hex[MLFS_ID_HEX_LEN + 1];
	int e;

	mlfs_id_to_hex(id, hex);
	mlfs_error_clear(); /* an earlier failure's words are not this one's */
	e = client_get(rr, r, &c);
	if (e == 0) {
		e = mlfs_s3_get(c->s3, key, loc->offset, len, &b);
		client_put(rr, c, e < 0 && e != -ENOENT);
	}
	if (e == 0) {
		e = rcache_entry_decode(s, id, loc, b.p, b.len, out);
		if (e < 0)
			mlfs_error_set("chunk %s from remote '%s' (%s/%s%s at "
				       "%" PRIu64 "): %s", hex, r->name,
				       r->bucket, r->prefix, key, loc->offset,
				       e == -EIO ? "hash mismatch" :
				       "corrupt entry");
		else
			(void)rcache_put(s, &rr->cache, r, loc->pack_id,
					 loc->offset, b.p, len);
	} else {
		char why[600];

		snprintf(why, sizeof(why), "%s", mlfs_error_detail());
		mlfs_error_set("chunk %s from remote '%s': %s", hex, r->name,
			       why[0] ? why : strerror(-e));
	}
	free(b.p);
	return e;
}

/* The remote @name as this store object first read it (kept: a read
 * of every chunk must not cost a query). -ENOENT when the store has no
 * such remote any more. */
static int remote_lookup(struct mlfs_store *s, struct remote_reader *rr,
			 const char *name, const struct mlfs_remote **out)
{
	struct mlfs_remote r;
	bool found;
	size_t i;
	int e;

	pthread_mutex_lock(&rr->lock);
	for (i = 0; i < rr->nremotes; i++)
		if (!strcmp(rr->remotes[i].name, name))
			break;
	found = i < rr->nremotes; /* (nremotes only under the lock) */
	pthread_mutex_unlock(&rr->lock);
	if (found) {
		*out = &rr->remotes[i];
		return 0;
	}
	e = mlfs_remote_get(s, name, &r);
	if (e < 0)
		return e;
	pthread_mutex_lock(&rr->lock);
	for (i = 0; i < rr->nremotes; i++) /* another thread was first */
		if (!strcmp(rr->remotes[i].name, name))
			break;
	if (i == rr->nremotes && i < MLFS_ARRAY_SIZE(rr->remotes)) {
		rr->remotes[i] = r;
		rr->nremotes++;
		memset(&r, 0, sizeof(r));
	}
	pthread_mutex_unlock(&rr->lock);
	mlfs_remote_release(&r);
	if (i == MLFS_ARRAY_SIZE(rr->remotes))
		return -ENOSPC;
	*out = &rr->remotes[i];
	return 0;
}

/* With rr->lock held: wait for @st to fetch the entry at @loc (@len
 * bytes) and copy it into @buf. */
static bool stream_take(struct remote_reader *rr, struct stream *st,
			const struct mlfs_chunk_loc *loc, size_t len,
			uint8_t *buf)
{
	stream_wait(rr, st, loc->offset + len);
	return st->active && stream_copy(st, loc->offset, len, buf);
}

int remote_read_chunk(struct mlfs_store *s, const struct mlfs_id *id,
		      const struct mlfs_chunk_loc *loc, void *out)
{
	size_t len = MLFS_PACK_ENTRY_HEADER_LEN + (size_t)loc->stored_len;
	struct remote_reader *rr = reader(s);
	const struct mlfs_remote *r = NULL;
	struct stream *st;
	char *name = NULL, key[64], hex[MLFS_ID_HEX_LEN + 1];
	uint64_t psize = 0;
	uint8_t *buf = NULL;
	bool got = false;
	int e;

	e = mlfs_meta_rpack_get(s->meta, loc->pack_id, &name, &psize);
	if (e < 0)
		return e; /* -ENOENT: a local pack that is missing */
	if (!rr) {
		free(name);
		return -ENOMEM;
	}
	mlfs_remote_pack_key(loc->pack_id, false, key, sizeof(key));
	e = remote_lookup(s, rr, name, &r);
	if (e < 0) {
		mlfs_id_to_hex(id, hex);
		mlfs_error_set("chunk %s is in pack %s of remote '%s', which "
			       "this store no longer has", hex, key, name);
		free(name);
		return -EIO;
	}
	free(name);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	/* a stream's reader: from the window in memory */
	pthread_mutex_lock(&rr->lock);
	st = stream_covering(rr, loc->pack_id, loc->offset);
	if (st) {
		st = stream_note(rr, r, key, loc, len, psize, false);
		got = st && stream_take(rr, st, loc, len, buf);
	}
	pthread_mutex_unlock(&rr->lock);
	if (got && (e = rcache_entry_decode(s, id, loc, buf, len, out)) == 0)
		goto out;
	e = st ? -ENOENT : rcache_read(s, r, id, loc, out);
	if (e != -ENOENT) {
		if (e == 0) { /* a hit moves its reader's slot on */
			pthread_mutex_lock(&rr->lock);
			(void)stream_note(rr, r, key, loc, len, psize, false);
			pthread_mutex_unlock(&rr->lock);
		}
		goto out;
	}
	got = false;
	pthread_mutex_lock(&rr->lock);
	if (!st)
		st = stream_note(rr, r, key, loc, len, psize, true);
	if (st)
		got = stream_take(rr, st, loc, len, buf);
	pthread_mutex_unlock(&rr->lock);
	if (got && (e = rcache_entry_decode(s, id, loc, buf, len, out)) == 0)
		goto out;
	e = st ? rcache_read(s, r, id, loc, out) : -ENOENT;
	/* not cached, or the stream could not bring it: this entry alone
	 * (which also names what went wrong) */
	if (e == -ENOENT)
		e = fetch_entry(s, rr, r, key, id, loc, out);
	/* Damage (a chunk that fails its check, a pack shorter than its
	 * index says, an object the bucket lacks) is -EIO; a remote that
	 * does not answer, refuses or fails is -EREMOTEIO: no command calls
	 * the store damaged for a network or credentials failure. */
	if (e == -ENOENT || e == -EBADMSG)
		e = -EIO;
	else if (e < 0 && e != -ENOMEM && e != -EIO)
		e = -EREMOTEIO;
out:
	free(buf);
	return e;
}
