/*
 * remote_fetch.h - the state of one fetch, shared by its parts (internal
 * to libmlfs): remote_fetch.c reads the refs, walks and checks what they
 * reach, inserts it and applies the refs; remote_fetch_packs.c decides
 * which pack indexes to read and reads them.
 */
#ifndef MLFS_REMOTE_FETCH_H
#define MLFS_REMOTE_FETCH_H

#include "remote_impl.h"

struct fref {
	char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1];
	int kind;
	char ref[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
	uint64_t size; /* of its object, from the listing */
};

struct fcontent {
	struct mlfs_id digest;
	uint64_t size;
	uint8_t *chunks;
	size_t len;
};

struct ftree {
	struct mlfs_id id;
	uint8_t *blob;
	size_t len;
};

struct fpack {
	uint64_t id, size;
	struct mlfs_remote_idx_entry *e;
	size_t n;
};

#define VEC(T) struct { T *v; size_t n, cap; }

struct fetch {
	struct mlfs_store *s;
	const struct mlfs_remote *r;
	struct mlfs_s3 *s3;
	VEC(struct fref) refs;
	VEC(struct fpack) packs;
	VEC(struct fcontent) contents;
	VEC(struct ftree) trees;
	VEC(struct mlfs_remote_commit) commits;
	/* the commits fetched whose tree reached a content first: only
	 * their pack lists are read (the others' contents are in the
	 * store, or under one of these) */
	VEC(struct mlfs_id) listed;
	struct mlfs_idset seen_c, seen_t, seen_m;
	struct mlfs_idset seen_p; /* packs looked at, as remote_pack_as_id */
	struct mlfs_idset batch; /* fetched commit id -> index in commits */
	struct remote_vmeta_fetch vm;
	struct remote_ahead *ahead; /* during the walk, or NULL */
	/* ETag of vmeta/<id> of each fetched commit ("" none), by index */
	char (*vm_etags)[MLFS_S3_ETAG_MAX];
};

/* Grow vector @vp (elements of @elem bytes) to hold one more; returns a
 * pointer to the new zeroed slot or NULL. */
void *fetch_vec_push(void *vp, size_t elem);

/* Report a damaged or missing object by its key (remote_bad_object). */
int fetch_bad_object(struct fetch *f, const char *key, int r);

/* 1 when @id was not walked yet (and is now marked), 0, or -ENOMEM. */
int fetch_first_visit(struct mlfs_idset *seen, const struct mlfs_id *id);

/* The index objects of the packs that hold the chunks of the contents
 * fetched and that the store does not know, into f->packs (read the
 * cheaper of two ways; remote_fetch_packs.c). */
int fetch_read_packs(struct fetch *f);

#endif
