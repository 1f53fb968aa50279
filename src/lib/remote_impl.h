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

/* An object for remote_get_all: its key; after, its bytes (the
 * caller's to free) or err (-ENOENT: missing, detail its message). */
struct remote_get {
	char key[80];
	struct mlfs_s3_buf body;
	int err;
	char detail[256];
};

/* GET each of @g (@n) whole, as remote_put_all puts. A missing object
 * is only its err; returns 0 or the first other failure (the detail
 * names the key), after which bodies may be filled or not: the caller
 * frees them either way. */
int remote_get_all(const struct mlfs_remote *r, struct mlfs_s3 *s3,
		   struct remote_get *g, size_t n, int jobs);

/* GETs ahead of fetch's walk (remote_ahead.c): the walk queues the
 * objects it will want (remote_ahead_want: commits, trees, contents the
 * store lacks), @jobs threads GET them, and remote_ahead_take hands one
 * over: the GET's result (0 with *b the bytes, the caller's; or -errno
 * with its message), waiting if it is in flight, or -ENODATA when it was
 * never queued or not begun (the walk then GETs it itself). */
enum remote_ahead_kind {
	REMOTE_AHEAD_COMMIT,
	REMOTE_AHEAD_TREE,
	REMOTE_AHEAD_CONTENT,
	REMOTE_AHEAD_KINDS
};
struct remote_ahead;
int remote_ahead_start(const struct mlfs_remote *r, int jobs,
		       struct remote_ahead **out);
int remote_ahead_want(struct remote_ahead *a, enum remote_ahead_kind kind,
		      const struct mlfs_id *id);
int remote_ahead_take(struct remote_ahead *a, enum remote_ahead_kind kind,
		      const struct mlfs_id *id, struct mlfs_s3_buf *b);
void remote_ahead_stop(struct remote_ahead *a);

/* Is @anc @id or one of its first-parent ancestors? Walks the local
 * commits (and those of @extra, a lookup of commits not inserted yet,
 * may be NULL). Returns 1, 0 or -errno. */
typedef int (*remote_parent_fn)(void *ctx, const struct mlfs_id *id,
				struct mlfs_id *parent, bool *has_parent);
int remote_is_ancestor(struct mlfs_store *s, const struct mlfs_id *anc,
		       const struct mlfs_id *id, remote_parent_fn extra,
		       void *ctx);

/* A missing (-ENOENT) or damaged (-EBADMSG, -EIO, -EPROTONOSUPPORT)
 * object @key of @r: -EIO with the detail naming it; other codes as
 * they are. */
int remote_bad_object(const struct mlfs_remote *r, const char *key, int e);

/* The key of ref @kind/@ref of @ns/@name ("refs/ns/name/branches/b"). */
void remote_ref_key(const char *ns, const char *name, int kind,
		    const char *ref, char *buf, size_t size);

/* ---- push: the refs (remote_push_refs.c) ---- */

/* A ref to push: @kind 'b' (branch), 't' (tag) or 'a' (alias). */
struct remote_pref {
	struct mlfs_repo repo;
	int kind;
	char ref[MLFS_NAME_MAX + 1];
	struct mlfs_id commit;
};

/* Move the @nrefs refs @refs of the remote @rm (@s3 connected to it),
 * each by compare-and-swap: the results in @st->refs (allocated), the
 * rejected ones counted. With @force a branch moves back too (audited).
 * Returns 0 or -errno (a failed request: the results so far kept). */
int remote_push_refs(struct mlfs_store *s, const struct mlfs_remote *rm,
		     struct mlfs_s3 *s3, const struct remote_pref *refs,
		     size_t nrefs, bool force, struct mlfs_remote_stats *st);

/* ---- version metadata (remote_vmeta.c) ---- */

/* What a LIST of "vmeta/" found: commit -> ETag. */
struct remote_vmeta_entry {
	struct mlfs_id commit;
	char etag[MLFS_S3_ETAG_MAX];
};
struct remote_vmeta_list {
	struct mlfs_idset ids; /* commit -> index in v */
	struct remote_vmeta_entry *v;
	size_t n, cap;
};
int remote_vmeta_list(struct mlfs_s3 *s3, struct remote_vmeta_list *l);
void remote_vmeta_list_release(struct remote_vmeta_list *l);
/* The listed ETag of vmeta/<@commit>, or NULL. */
const char *remote_vmeta_etag(const struct remote_vmeta_list *l,
			      const struct mlfs_id *commit);
/* The local pairs and inputs of @commit (sorted) and their digest; a
 * damaged metadata row is -EIO naming it. @out owns its strings. */
int remote_vmeta_local(struct mlfs_store *s, const struct mlfs_id *commit,
		       struct mlfs_remote_vmeta *out, struct mlfs_id *digest);
/* GET and verify vmeta/<@c>, its ETag into @etag: -ENOENT when there is
 * none, -EIO naming the key when damaged. */
int remote_vmeta_read(struct mlfs_store *s, const struct mlfs_remote *rm,
		      struct mlfs_s3 *s3, const struct mlfs_id *c,
		      struct mlfs_remote_vmeta *out, char *etag);

/* Push: the metadata of @heads (@nheads commits pushed, all in the
 * bucket now with their ancestors; @uploaded the @nuploaded commits this
 * push wrote) and their ancestors whose local pairs or inputs changed
 * since the last sync goes to vmeta/ by compare-and-swap; one changed on
 * the remote too is rejected (in @st), or with @force overwritten and
 * audited (push-force, ref "meta"). */
int remote_vmeta_push(struct mlfs_store *s, const struct mlfs_remote *rm,
		      struct mlfs_s3 *s3, const struct mlfs_id *heads,
		      size_t nheads, const struct mlfs_id *uploaded,
		      size_t nuploaded, bool force,
		      struct mlfs_remote_stats *st);

/* Fetch: read (before the insert transaction), then apply (in it). */
struct remote_vmeta_item {
	struct mlfs_remote_vmeta obj;  /* the remote's, verified */
	char etag[MLFS_S3_ETAG_MAX];
	struct mlfs_id synced;         /* S */
};
struct remote_vmeta_fetch {
	struct remote_vmeta_list list;
	struct remote_vmeta_item *v;   /* commits the store has */
	size_t n;
};
void remote_vmeta_fetch_release(struct remote_vmeta_fetch *vf);
/* LIST vmeta/ and read each object of a commit the store has whose
 * ETag is not the one last seen. -EIO names a damaged object. */
int remote_vmeta_fetch_read(struct mlfs_store *s, const struct mlfs_remote *rm,
			    struct mlfs_s3 *s3, struct remote_vmeta_fetch *vf);
/* A commit fetched now: when the bucket has vmeta/<id>, its pairs and
 * inputs replace the commit object's in @c; @etag gets its ETag ("" when
 * none). */
int remote_vmeta_fetch_new(struct mlfs_store *s, const struct mlfs_remote *rm,
			   struct mlfs_s3 *s3, struct remote_vmeta_fetch *vf,
			   struct mlfs_remote_commit *c, char *etag);
/* In the fetch's transaction: R vs S vs L for each item read (applied,
 * or reported diverged in @st). */
int remote_vmeta_fetch_apply(struct mlfs_store *s,
			     const struct mlfs_remote *rm,
			     struct remote_vmeta_fetch *vf,
			     struct mlfs_remote_stats *st);
/* In the fetch's transaction: S = L, ETag @etag, for new commit @c. */
int remote_vmeta_fetch_row(struct mlfs_store *s, const struct mlfs_remote *rm,
			   const struct mlfs_id *c, const char *etag);

#endif
