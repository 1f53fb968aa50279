/*
 * store_impl.h - the store object's insides, shared by the libmlfs
 * modules (repo.c, tree.c, content.c, import.c, ...). Not installed.
 */
#ifndef MLFS_STORE_IMPL_H
#define MLFS_STORE_IMPL_H

#include <pthread.h>
#include <stdbool.h>

#include "meta.h"
#include "mlfs/store.h"

struct cache_ent;

struct chunk_cache {
	pthread_mutex_t lock;
	struct cache_ent **buckets; /* protected by lock */
	size_t nbuckets;
	struct cache_ent *lru_head, *lru_tail; /* protected by lock */
	size_t bytes, max_bytes;               /* protected by lock */
};

struct mlfs_store {
	char *dir;
	char *packs_dir;
	struct mlfs_store_config cfg;
	struct mlfs_meta *meta;
	struct mlfs_pack_set *packs;
	struct chunk_cache cache;
	bool rdonly;
	/* Clients and cache of remote reads (remote_read.c): made at the
	 * first read of a chunk a remote holds, under that module's lock. */
	struct remote_reader *remote;
};

/* The store's writer lock, STORE/lock: imports hold it shared while
 * they write packs, gc exclusively while it removes unreferenced ones.
 * Returns 0 with *fd set, -EBUSY (not @wait and held), -errno. */
int store_lock(struct mlfs_store *s, bool exclusive, bool wait, int *fd);
/* Release a lock taken with store_lock; accepts -1. */
void store_unlock(int fd);

#endif
