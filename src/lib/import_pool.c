/*
 * import_pool.c - the import's compression workers: new chunks are queued
 * (bounded, so memory does not grow with the source), compressed and
 * appended each to packs of its own worker slot; the importing thread
 * collects where each landed. Nothing here touches the database.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "import_pool.h"

#define QUEUE_MAX_BYTES (64u << 20)




static void *worker(void *arg)
{
	struct import_pool *p = arg;
	struct mlfs_buf enc = MLFS_BUF_INIT;
	void *cctx = NULL;
	unsigned slot;

	/* Each worker appends to packs of its own. */
	pthread_mutex_lock(&p->lock);
	slot = p->next_slot++ % MLFS_PACK_WRITER_SLOTS;
	pthread_mutex_unlock(&p->lock);

	for (;;) {
		struct mlfs_chunk_loc loc;
		enum mlfs_codec codec;
		struct pool_job *j;
		int r;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		r = mlfs_codec_encode(&cctx, p->level, j->data, j->len, &enc,
				      &codec);
		if (r == 0)
			r = mlfs_pack_writer_append(p->w, slot, &j->id, codec,
						    j->len, enc.data,
						    (uint32_t)enc.len, &loc);
		pthread_mutex_lock(&p->lock);
		if (r == 0 && p->nresults == p->cap) {
			size_t nc = p->cap ? p->cap * 2 : 1024;
			struct pool_result *nr = realloc(p->results,
						    nc * sizeof(*nr));

			if (nr) {
				p->results = nr;
				p->cap = nc;
			} else {
				r = -ENOMEM;
			}
		}
		if (r == 0) {
			p->results[p->nresults].id = j->id;
			p->results[p->nresults].loc = loc;
			p->nresults++;
			p->stored_bytes += MLFS_PACK_ENTRY_HEADER_LEN + enc.len;
		} else if (!p->error) {
			p->error = r;
		}
		p->queued_bytes -= j->len;
		j->next = p->free_jobs;
		p->free_jobs = j;
		pthread_cond_broadcast(&p->space);
		pthread_mutex_unlock(&p->lock);
	}
	mlfs_buf_release(&enc);
	mlfs_codec_cctx_free(cctx);
	return NULL;
}

int import_pool_start(struct import_pool *p, int n)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->space, NULL);
	for (int i = 0; i < n; i++) {
		int r = pthread_create(&p->threads[i], NULL, worker, p);

		if (r)
			return -r;
		p->nthreads++;
	}
	return 0;
}

void import_pool_stop(struct import_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	for (int list = 0; list < 2; list++) {
		struct pool_job **head = list ? &p->free_jobs : &p->head;

		while (*head) {
			struct pool_job *j = *head;

			*head = j->next;
			free(j->data);
			free(j);
		}
	}
	free(p->results);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->space);
	pthread_mutex_destroy(&p->lock);
}

/* Hand a copy of a new chunk to the workers; blocks while the queue is
 * full so memory stays bounded. */
int import_pool_submit(struct import_pool *p, const struct mlfs_id *id,
		       const uint8_t *data, uint32_t len)
{
	struct pool_job *j;
	int r;

	pthread_mutex_lock(&p->lock);
	j = p->free_jobs;
	if (j)
		p->free_jobs = j->next;
	pthread_mutex_unlock(&p->lock);
	if (!j) {
		j = malloc(sizeof(*j));
		if (!j)
			return -ENOMEM;
		j->data = malloc(p->job_cap);
		if (!j->data) {
			free(j);
			return -ENOMEM;
		}
	}
	memcpy(j->data, data, len);
	j->id = *id;
	j->len = len;
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	while (p->queued_bytes > QUEUE_MAX_BYTES && !p->error)
		pthread_cond_wait(&p->space, &p->lock);
	r = p->error;
	if (r == 0) {
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued_bytes += len;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	if (r < 0) {
		free(j->data);
		free(j);
	}
	return r;
}

/* Wait until every submitted chunk is written (or failed). */
int import_pool_drain(struct import_pool *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	while (p->queued_bytes && !p->error)
		pthread_cond_wait(&p->space, &p->lock);
	r = p->error;
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Hand over the chunks written so far (*v malloc'd, caller frees). */
void import_pool_take_results(struct import_pool *p, struct pool_result **v,
			      size_t *n)
{
	pthread_mutex_lock(&p->lock);
	*v = p->results;
	*n = p->nresults;
	p->results = NULL;
	p->nresults = p->cap = 0;
	pthread_mutex_unlock(&p->lock);
}
