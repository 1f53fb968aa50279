/*
 * remote_push_refs.c - the last step of mlfs push: each ref moves in the
 * bucket by compare-and-swap on its ETag (created with If-None-Match, a
 * branch moved only forward unless forced, a tag never), the tracking
 * ref of each branch pushed follows, and every forced move is audited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/audit.h"
#include "remote_impl.h"

/* What the ref updates of one push share. */
struct ref_push {
	struct mlfs_store *s;
	const struct mlfs_remote *r;
	struct mlfs_s3 *s3;
	bool force;
};

/* The remote's ref at @key: -ENOENT, or its commit and ETag (HEAD before
 * GET: should the object change in between, the ETag is the older one
 * and a swap against it fails, which is safe). */
static int read_ref(struct ref_push *p, const struct remote_pref *f,
		    const char *key, struct mlfs_id *commit, char *etag)
{
	struct mlfs_s3_buf b = { 0 };
	int r = mlfs_s3_head(p->s3, key, NULL, etag);

	if (r == 0)
		r = mlfs_s3_get(p->s3, key, 0, 0, &b);
	if (r == 0) {
		r = mlfs_remote_ref_parse(&p->s->cfg.key, f->repo.ns,
					  f->repo.name, f->kind, f->ref, b.p,
					  b.len, commit);
		if (r == -EBADMSG || r == -EIO) {
			mlfs_error_set("remote object %s/%s%s is damaged (%s)",
				       p->r->bucket, p->r->prefix, key,
				       r == -EIO ? "check value mismatch" :
				       "malformed");
			r = -EIO;
		}
	}
	free(b.p);
	return r;
}

static int audit_force(struct ref_push *p, const struct remote_pref *f,
		       const struct mlfs_id *old)
{
	char ref[MLFS_NAME_MAX + 16], msg[MLFS_REMOTE_URL_MAX + 96];
	struct mlfs_audit_event ev = {
		.op = "push-force", .ns = f->repo.ns, .name = f->repo.name,
		.ref = ref, .old_commit = old, .new_commit = &f->commit,
		.message = msg,
	};

	snprintf(ref, sizeof(ref), "%s:%s", f->kind == 'b' ? "branch" :
		 "alias", f->ref);
	snprintf(msg, sizeof(msg), "remote %s (%s)", p->r->name, p->r->url);
	return mlfs_audit_append(p->s, &ev);
}

/* Branch @f is at its commit in the remote now (pushed, or already
 * there): its tracking ref says so. */
static int track_pushed(struct ref_push *p, const struct remote_pref *f)
{
	int r = mlfs_meta_begin(p->s->meta);

	if (r < 0)
		return r;
	r = mlfs_meta_track_set(p->s->meta, p->r->name, f->repo.id, f->ref,
				&f->commit);
	if (r < 0) {
		mlfs_meta_rollback(p->s->meta);
		return r;
	}
	return mlfs_meta_commit(p->s->meta);
}

/* Move one ref of the remote; fills @res. */
static int push_ref(struct ref_push *p, const struct remote_pref *f,
		    struct mlfs_remote_ref_result *res)
{
	struct mlfs_buf body = MLFS_BUF_INIT;
	char key[3 * MLFS_NAME_MAX + 32], etag[MLFS_S3_ETAG_MAX];
	bool force = p->force;
	int r, tries = 0;

	memset(res, 0, sizeof(*res));
	snprintf(res->ns, sizeof(res->ns), "%s", f->repo.ns);
	snprintf(res->name, sizeof(res->name), "%s", f->repo.name);
	snprintf(res->ref, sizeof(res->ref), "%s", f->ref);
	res->kind = f->kind;
	res->new = f->commit;
	remote_ref_key(f->repo.ns, f->repo.name, f->kind, f->ref, key,
		       sizeof(key));
	r = mlfs_remote_ref_format(&p->s->cfg.key, f->repo.ns, f->repo.name,
				   f->kind, f->ref, &f->commit, &body);
	while (r == 0) {
		struct mlfs_id cur;
		bool ff = false;

		if (tries++ == 8) {
			mlfs_error_set("remote ref %s keeps moving", key);
			r = -EAGAIN;
			break;
		}
		r = read_ref(p, f, key, &cur, etag);
		if (r == -ENOENT) {
			mlfs_error_clear();
			res->has_old = false;
			r = mlfs_s3_put(p->s3, key, body.data, body.len,
					MLFS_S3_CREATE_ONLY, NULL, NULL);
			if (r == -EEXIST) { /* created meanwhile: look again */
				r = 0;
				continue;
			}
			res->status = MLFS_PUSH_CREATED;
			break;
		}
		if (r < 0)
			break;
		res->old = cur;
		res->has_old = true;
		if (!mlfs_id_cmp(&cur, &f->commit)) {
			res->status = MLFS_PUSH_UPTODATE;
			break;
		}
		if (f->kind == 'b') {
			r = remote_is_ancestor(p->s, &cur, &f->commit, NULL,
					       NULL);
			if (r < 0)
				break;
			ff = r == 1;
			r = 0;
		}
		if (!ff && (f->kind == 't' || !force)) {
			res->status = f->kind == 'b' ? MLFS_PUSH_REJECTED_NFF :
				      MLFS_PUSH_REJECTED_EXISTS;
			break;
		}
		r = mlfs_s3_put(p->s3, key, body.data, body.len,
				MLFS_S3_IF_MATCH, etag, NULL);
		if (r == -ESTALE) { /* moved meanwhile: decide again */
			mlfs_error_clear();
			r = 0;
			continue;
		}
		if (r == 0 && !ff)
			r = audit_force(p, f, &cur);
		res->status = ff ? MLFS_PUSH_UPDATED : MLFS_PUSH_FORCED;
		break;
	}
	if (r == 0 && f->kind == 'b' &&
	    (res->status == MLFS_PUSH_CREATED ||
	     res->status == MLFS_PUSH_UPDATED ||
	     res->status == MLFS_PUSH_FORCED ||
	     res->status == MLFS_PUSH_UPTODATE))
		r = track_pushed(p, f);
	mlfs_buf_release(&body);
	return r;
}

int remote_push_refs(struct mlfs_store *s, const struct mlfs_remote *rm,
		     struct mlfs_s3 *s3, const struct remote_pref *refs,
		     size_t nrefs, bool force, struct mlfs_remote_stats *st)
{
	struct ref_push rp = { .s = s, .r = rm, .s3 = s3, .force = force };
	struct ref_push *p = &rp;
	int r = 0;

	st->refs = calloc(nrefs ? nrefs : 1, sizeof(*st->refs));
	if (!st->refs)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < nrefs; i++) {
		struct mlfs_remote_ref_result *res = &st->refs[st->nrefs];

		r = push_ref(p, &refs[i], res);
		if (r == 0) {
			st->nrefs++;
			if (res->status == MLFS_PUSH_REJECTED_NFF ||
			    res->status == MLFS_PUSH_REJECTED_EXISTS)
				st->rejected++;
		}
	}
	return r;
}
