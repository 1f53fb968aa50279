/*
 * import_read.c - read a file in large buffers and find its chunk cuts,
 * optionally on a thread that runs ahead of the consumer. Buffers are
 * filled round-robin; the tail of a buffer that is not yet a whole chunk
 * is carried to the start of the next one, so every batch holds complete
 * chunks and the cuts are exactly those of one pass over the file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
	struct rbuf buf[NBUF];
	unsigned nbuf;
	unsigned fill_next;    /* reader side: next buffer to fill */
	size_t carry;          /* reader side: bytes to carry into the next */
	bool done;             /* reader side: the last batch is produced */
	unsigned take_next;    /* consumer side: next buffer to hand out */
	int held;              /* consumer side: buffer handed out, or -1 */
	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;             /* protected by lock */
};

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
	got = mlfs_read_full(fr->fd, b->data + b->len, BUF_SIZE - b->len);
	if (got < 0) {
		b->err = (int)got;
		b->last = fr->done = true;
		return;
	}
	b->len += (size_t)got;
	b->last = b->len < BUF_SIZE;
	while (pos < b->len) {
		size_t cut = fr->sp->next(fr->cp, NULL, b->data + pos,
					  b->len - pos, b->last);

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
		     const struct mlfs_splitter *sp, bool threaded,
		     struct file_reader **out)
{
	struct file_reader *fr = calloc(1, sizeof(*fr));
	/* A cut comes at least every cp->min bytes, but the last. */
	size_t max_cuts = BUF_SIZE / cp->min + 2;

	if (!fr)
		return -ENOMEM;
	fr->fd = fd;
	fr->cp = cp;
	fr->sp = sp;
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
