/*
 * import_read.c - read a file in large buffers and find its chunk cuts,
 * optionally on a thread that runs ahead of the consumer. Buffers are
 * filled round-robin; the tail of a buffer that is not yet a whole chunk
 * is carried to the start of the next one, so every batch holds complete
 * chunks and the cuts are exactly those of one pass over the file. Holes
 * (SEEK_DATA/SEEK_HOLE) are filled with zeros instead of read, and a
 * chunk inside a run of zeros is cut without scanning it, so a sparse
 * file imports at memory speed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_read.h"

#define NBUF 3
#define BUF_SIZE (8u << 20)

struct rbuf {
	uint8_t *data;
	size_t len;
	size_t *ends;
	size_t n;
	bool last;
	int err;
	bool filled; /* protected by lock: holds a batch not yet released */
};

struct file_reader {
	int fd;
	const struct mlfs_chunk_params *cp;
	const struct mlfs_splitter *sp;
	void *sp_state;        /* borrowed: @sp's per-file state */
	struct rbuf buf[NBUF];
	unsigned nbuf;
	unsigned fill_next;    /* reader side: next buffer to fill */
	size_t carry;          /* reader side: bytes to carry into the next */
	bool done;             /* reader side: the last batch is produced */
	uint64_t off;          /* reader side: file offset of the next read */
	uint64_t data_end;     /* reader side: [off, data_end) is not a hole */
	bool no_seek_data;     /* reader side: SEEK_DATA is not supported */
	size_t zero_cut;       /* reader side: cut in zeros, 0 = not known */
	unsigned take_next;    /* consumer side: next buffer to hand out */
	int held;              /* consumer side: buffer handed out, or -1 */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;             /* protected by lock */
};

/* Read up to @len bytes at fr->off into @dst: data with pread, holes
 * as zeros without reading them. Returns the count (short only at end of
 * file) or -errno. */
static ssize_t read_at(struct file_reader *fr, uint8_t *dst, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t want = len - done;
		ssize_t n;

		if (!fr->no_seek_data && fr->off >= fr->data_end) {
			off_t d = lseek(fr->fd, (off_t)fr->off, SEEK_DATA);
			uint64_t hole_end;
			struct stat st;

			if (d < 0 && errno == ENXIO) {
				/* A hole up to the end, or the end. */
				if (fstat(fr->fd, &st) < 0)
					return -errno;
				if ((uint64_t)st.st_size <= fr->off)
					break;
				hole_end = (uint64_t)st.st_size;
			} else if (d < 0) {
				fr->no_seek_data = true;
				continue;
			} else {
				hole_end = (uint64_t)d;
			}
			if (hole_end > fr->off) {
				if (want > hole_end - fr->off)
					want = (size_t)(hole_end - fr->off);
				memset(dst + done, 0, want);
				done += want;
				fr->off += want;
				continue;
			}
			d = lseek(fr->fd, (off_t)fr->off, SEEK_HOLE);
			if (d < 0) {
				fr->no_seek_data = true;
				continue;
			}
			fr->data_end = (uint64_t)d;
		}
		if (!fr->no_seek_data && want > fr->data_end - fr->off)
			want = (size_t)(fr->data_end - fr->off);
		n = pread(fr->fd, dst + done, want, (off_t)fr->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (fr->no_seek_data || fr->off >= fr->data_end)
				break;
			/* Shorter than when it was looked at: look again. */
			fr->data_end = fr->off;
			continue;
		}
		done += (size_t)n;
		fr->off += (uint64_t)n;
	}
	return (ssize_t)done;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* The next cut in @buf (@len bytes, @last: the file ends there). FastCDC
 * never looks at a chunk's first min bytes and stops at its cut, so where
 * bytes [min, max) of the next chunk are all zero the cut is the one it
 * found the first time: no scan of zeros at a byte a step. */
static size_t next_cut(struct file_reader *fr, const uint8_t *buf,
		       size_t len, bool last)
{
	const struct mlfs_chunk_params *cp = fr->cp;
	bool zeros = fr->sp == &mlfs_splitter_fastcdc && len >= cp->max &&
		     buf[cp->min] == 0 &&
		     is_zero(buf + cp->min, cp->max - cp->min);
	size_t cut;

	if (zeros && fr->zero_cut)
		return fr->zero_cut;
	cut = fr->sp->next(cp, fr->sp_state, buf, len, last);
	if (zeros)
		fr->zero_cut = cut;
	return cut;
}

/* Fill @b with the carried tail of @prev (which may be @b itself), then
 * file bytes, and cut it into chunks. */
static void fill(struct file_reader *fr, struct rbuf *b,
		 const struct rbuf *prev)
{
	size_t pos = 0;
	ssize_t got;

	/* @prev is not refilled before @b is (round-robin), so its tail is
	 * intact; memmove also serves the single-buffer case. */
	if (fr->carry)
		memmove(b->data, prev->data + prev->len - fr->carry,
			fr->carry);
	b->len = fr->carry;
	b->n = 0;
	b->err = 0;
	got = read_at(fr, b->data + b->len, BUF_SIZE - b->len);
	if (got < 0) {
		b->err = (int)got;
		b->last = fr->done = true;
		return;
	}
	b->len += (size_t)got;
	b->last = b->len < BUF_SIZE;
	while (pos < b->len) {
		size_t cut = next_cut(fr, b->data + pos, b->len - pos,
				      b->last);

		if (!cut)
			break;
		pos += cut;
		b->ends[b->n++] = pos;
	}
	fr->carry = b->len - pos;
	fr->done = b->last;
}

static void *reader_main(void *arg)
{
	struct file_reader *fr = arg;

	while (!fr->done) {
		unsigned i = fr->fill_next;

		pthread_mutex_lock(&fr->lock);
		while (fr->buf[i].filled && !fr->stop)
			pthread_cond_wait(&fr->cv, &fr->lock);
		if (fr->stop) {
			pthread_mutex_unlock(&fr->lock);
			break;
		}
		pthread_mutex_unlock(&fr->lock);
		fill(fr, &fr->buf[i], &fr->buf[(i + NBUF - 1) % NBUF]);
		pthread_mutex_lock(&fr->lock);
		fr->buf[i].filled = true;
		pthread_cond_broadcast(&fr->cv);
		pthread_mutex_unlock(&fr->lock);
		fr->fill_next = (i + 1) % NBUF;
	}
	return NULL;
}

int file_reader_open(int fd, const struct mlfs_chunk_params *cp,
		     const struct mlfs_splitter *sp, void *sp_state,
		     bool threaded, bool holes, struct file_reader **out)
{
	struct file_reader *fr = calloc(1, sizeof(*fr));
	/* A cut comes at least every cp->min bytes, but the last. */
	size_t max_cuts = BUF_SIZE / cp->min + 2;

	if (!fr)
		return -ENOMEM;
	fr->fd = fd;
	fr->no_seek_data = !holes;
	fr->cp = cp;
	fr->sp = sp;
	fr->sp_state = sp_state;
	fr->held = -1;
	fr->nbuf = threaded ? NBUF : 1;
	pthread_mutex_init(&fr->lock, NULL);
	pthread_cond_init(&fr->cv, NULL);
	for (unsigned i = 0; i < fr->nbuf; i++) {
		fr->buf[i].data = malloc(BUF_SIZE);
		fr->buf[i].ends = malloc(max_cuts * sizeof(size_t));
		if (!fr->buf[i].data || !fr->buf[i].ends) {
			file_reader_close(fr);
			return -ENOMEM;
		}
	}
	if (threaded) {
		if (pthread_create(&fr->thread, NULL, reader_main, fr)) {
			file_reader_close(fr);
			return -EAGAIN;
		}
		fr->threaded = true;
	}
	*out = fr;
	return 0;
}

int file_reader_next(struct file_reader *fr, struct read_batch *out)
{
	struct rbuf *b;

	if (!fr->threaded) {
		b = &fr->buf[0];
		fill(fr, b, b);
	} else {
		unsigned i = fr->take_next;

		pthread_mutex_lock(&fr->lock);
		if (fr->held >= 0) {
			/* The consumer is done with the last batch. */
			fr->buf[fr->held].filled = false;
			pthread_cond_broadcast(&fr->cv);
		}
		while (!fr->buf[i].filled)
			pthread_cond_wait(&fr->cv, &fr->lock);
		pthread_mutex_unlock(&fr->lock);
		fr->held = (int)i;
		fr->take_next = (i + 1) % NBUF;
		b = &fr->buf[i];
	}
	if (b->err)
		return b->err;
	out->data = b->data;
	out->ends = b->ends;
	out->n = b->n;
	out->last = b->last;
	return 0;
}

void file_reader_close(struct file_reader *fr)
{
	if (!fr)
		return;
	if (fr->threaded) {
		pthread_mutex_lock(&fr->lock);
		fr->stop = true;
		pthread_cond_broadcast(&fr->cv);
		pthread_mutex_unlock(&fr->lock);
		pthread_join(fr->thread, NULL);
	}
	for (unsigned i = 0; i < fr->nbuf; i++) {
		free(fr->buf[i].data);
		free(fr->buf[i].ends);
	}
	pthread_cond_destroy(&fr->cv);
	pthread_mutex_destroy(&fr->lock);
	free(fr);
}
