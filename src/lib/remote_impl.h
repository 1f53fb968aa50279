/*
 * remote_impl.h - what push and fetch share (internal to libmlfs): the
 * set of object keys a bucket holds, the remote-config handshake and
 * the parallel pack upload.
 */
#ifndef MLFS_REMOTE_IMPL_H
#define MLFS_REMOTE_IMPL_H

#include "mlfs/idset.h"
#include "mlfs/remote.h"
#include "mlfs/s3.h"
#include "store_impl.h"

/* What a listing of the bucket found: ids of commits, trees and
 * contents, and the packs whose index object is there (a pack id in
 * the first 8 bytes of an id). */
struct remote_have {
	struct mlfs_idset commits, trees, contents, packs;
};
void remote_have_release(struct remote_have *h);
/* List "commits/", "trees/", "contents/" and "packs/" of @s3 into @h. */
int remote_have_list(struct mlfs_s3 *s3, struct remote_have *h);
void remote_pack_as_id(uint64_t pack_id, struct mlfs_id *id);

/* GET the remote's config; when it is missing and @create, PUT this
 * store's (create-only: a concurrent first push wins, and is then
 * checked like any). The remote must have the store's hash key and
 * chunking: else -EXDEV with the detail saying so. */
int remote_handshake(struct mlfs_store *s, const struct mlfs_remote *r,
		     struct mlfs_s3 *s3, bool create);

/* "<kind dir>/<hex>" keys: "commits/", "trees/", "contents/". */
void remote_obj_key(const char *dir, const struct mlfs_id *id, char *buf,
		    size_t size);

/* Upload the local packs @ids (@n) with their index objects, @jobs at a
 * time, each thread with its own client. Returns 0 or the first error
 * (the detail names the key). */
int remote_upload_packs(struct mlfs_store *s, const struct mlfs_remote *r,
			const uint64_t *ids, size_t n, int jobs,
			mlfs_remote_progress_fn progress, void *ctx,
			uint64_t *bytes);

/* An object for remote_put_all: its key and bytes. */
struct remote_put {
	char key[80];
	struct mlfs_buf body;
};

/* PUT each of @v (@n) create-only, in any order, by up to @jobs threads
 * with a client each (few objects: one after another on @s3). An object
 * there already is fine: keys are content-derived. Returns 0 or the
 * first failure (the detail names the key). */
int remote_put_all(const struct mlfs_remote *r, struct mlfs_s3 *s3,
		   struct remote_put *v, size_t n, int jobs);

/* Is @anc @id or one of its first-parent ancestors? Walks the local
 * commits (and those of @extra, a lookup of commits not inserted yet,
 * may be NULL). Returns 1, 0 or -errno. */
typedef int (*remote_parent_fn)(void *ctx, const struct mlfs_id *id,
				struct mlfs_id *parent, bool *has_parent);
int remote_is_ancestor(struct mlfs_store *s, const struct mlfs_id *anc,
		       const struct mlfs_id *id, remote_parent_fn extra,
		       void *ctx);

/* The key of ref @kind/@ref of @ns/@name ("refs/ns/name/branches/b"). */
void remote_ref_key(const char *ns, const char *name, int kind,
		    const char *ref, char *buf, size_t size);

#endif
