/*
 * import_pool.h - the ingest's compression worker pool (internal to
 * ingest.c, which import and snapshot share): a bounded queue of new
 * chunks, compressed and appended to packs by worker threads.
 */
#ifndef MLFS_IMPORT_POOL_H
#define MLFS_IMPORT_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlfs/codec.h"
#include "mlfs/hash.h"
#include "mlfs/pack.h"

#define IMPORT_POOL_MAX_WORKERS 16

struct pool_job {
	struct mlfs_id id;
	uint32_t len;
	uint8_t *data;
	struct pool_job *next;
};

/* Where a new chunk landed. */
struct pool_result {
	struct mlfs_id id;
	struct mlfs_chunk_loc loc;
};

struct import_pool {
	pthread_mutex_t lock;
	pthread_cond_t work, space;
	struct pool_job *head, *tail;  /* protected by lock */
	/* Finished jobs keep their max-chunk-sized buffers for reuse:
	 * fresh buffers for every chunk cost a page fault per 4 KiB. */
	struct pool_job *free_jobs;    /* protected by lock */
	size_t job_cap;
	size_t queued_bytes;      /* protected by lock: queued or in work */
	struct pool_result *results; /* protected by lock */
	size_t nresults, cap;     /* protected by lock */
	int error;                /* protected by lock */
	bool stop;                /* protected by lock */
	uint64_t stored_bytes;    /* protected by lock */
	unsigned next_slot;       /* protected by lock */
	/* Read by a worker after the lock hands it a job; replaced under
	 * the lock only while no job is queued (ingest.c, keep_packs). */
	struct mlfs_pack_writer *w;
	int level;
	pthread_t threads[IMPORT_POOL_MAX_WORKERS];
	int nthreads;
};

/* Start @n workers (@p zeroed, then w, level and job_cap set).
 * Returns 0 or -errno; stop with import_pool_stop either way. */
int import_pool_start(struct import_pool *p, int n);
/* Stop and join the workers; frees queued jobs and results. */
void import_pool_stop(struct import_pool *p);
/* Queue a copy of a new chunk; blocks while the queue is full. Returns
 * 0 or the first worker error. */
int import_pool_submit(struct import_pool *p, const struct mlfs_id *id,
		       const uint8_t *data, uint32_t len);
/* Wait until every queued chunk is written. Returns 0 or the first
 * worker error. */
int import_pool_drain(struct import_pool *p);
void import_pool_take_results(struct import_pool *p, struct pool_result **v,
			      size_t *n);

#endif
