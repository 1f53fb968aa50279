/*
 * remote_fetch.c - mlfs fetch / pull: read the bucket's refs, download
 * the commits, trees and contents they reach that the store lacks, and
 * the index objects of packs it does not know (remote_fetch_packs.c);
 * verify every object with
 * the checks the local rows get (commit ids recomputed, tree blobs
 * rehashed, check values compared) and only then insert all of it in
 * one transaction, chunks located in remote packs (remote_packs rows).
 * Chunk data stays in the bucket. The remote's branch heads become its
 * tracking refs in that transaction ("@origin/main": whatever the local
 * branches do, every fetched commit keeps a name), and the version
 * metadata the remote changed after a push is taken or reported
 * diverged (remote_vmeta.c). Refs are applied
 * after that, one by one, each audited like the local command that
 * would make the change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlfs/alias.h"
#include "mlfs/audit.h"
#include "mlfs/content.h"
#include "mlfs/lineage.h"
#include "mlfs/tree.h"
#include "mlfs/worktree.h"
#include "remote_fetch.h"

void *fetch_vec_push(void *vp, size_t elem)
{
	struct { void *v; size_t n, cap; } *a = vp;

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		void *nv = realloc(a->v, nc * elem);

		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = nc;
	}
	memset((char *)a->v + a->n * elem, 0, elem);
	return (char *)a->v + a->n++ * elem;
}

int fetch_bad_object(struct fetch *f, const char *key, int r)
{
	return remote_bad_object(f->r, key, r);
}

static int get_obj(struct fetch *f, const char *key, struct mlfs_s3_buf *b)
{
	int r = mlfs_s3_get(f->s3, key, 0, 0, b);

	return r == -ENOENT && !strstr(mlfs_error_detail(), "NoSuchBucket") ?
	       fetch_bad_object(f, key, r) : r;
}

int fetch_first_visit(struct mlfs_idset *seen, const struct mlfs_id *id)
{
	int r = mlfs_idset_add(seen, id, 0, NULL);

	return r < 0 ? -ENOMEM : r;
}

/* The object @key (@kind @id) from what was fetched ahead, else GET. */
static int get_ahead(struct fetch *f, enum remote_ahead_kind kind,
		     const struct mlfs_id *id, const char *key,
		     struct mlfs_s3_buf *b)
{
	int r = remote_ahead_take(f->ahead, kind, id, b);

	if (r == -ENODATA)
		return get_obj(f, key, b);
	return r == -ENOENT && !strstr(mlfs_error_detail(), "NoSuchBucket") ?
	       fetch_bad_object(f, key, r) : r;
}

/* Queue @id for a GET ahead of the walk unless the walk has been there
 * or the store has it (then it is marked walked: nothing to do there). */
static int want_ahead(struct fetch *f, enum remote_ahead_kind kind,
		      const struct mlfs_id *id)
{
	struct mlfs_idset *seen = kind == REMOTE_AHEAD_TREE ? &f->seen_t :
				  kind == REMOTE_AHEAD_CONTENT ? &f->seen_c :
				  &f->seen_m;
	struct mlfs_buf local = MLFS_BUF_INIT;
	struct mlfs_commit c;
	uint64_t size;
	int r;

	if (!f->ahead || mlfs_idset_get(seen, id))
		return 0;
	if (kind == REMOTE_AHEAD_TREE) {
		r = mlfs_meta_tree_get(f->s->meta, id, &local);
	} else if (kind == REMOTE_AHEAD_CONTENT) {
		r = mlfs_meta_content_get(f->s->meta, id, &size, &local);
	} else {
		r = mlfs_meta_commit_get(f->s->meta, id, &c);
		if (r == 0)
			mlfs_meta_commit_release(&c);
	}
	mlfs_buf_release(&local);
	if (r == 0 && kind != REMOTE_AHEAD_COMMIT)
		return fetch_first_visit(seen, id) < 0 ? -ENOMEM : 0;
	mlfs_error_clear();
	return r == 0 ? 0 : remote_ahead_want(f->ahead, kind, id);
}
/* ---- refs ---- */

static int list_ref(void *ctx, const char *key, uint64_t size,
		    const char *etag)
{
	struct fetch *f = ctx;
	struct fref *x;

	(void)etag;
	x = fetch_vec_push(&f->refs, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->size = size;
	if (mlfs_remote_ref_key_parse(key, x->ns, x->name, &x->kind,
				      x->ref) < 0) {
		f->refs.n--; /* not a ref of this layout: ignored */
		return 0;
	}
	return 0;
}

static int read_refs(struct fetch *f)
{
	int r = mlfs_s3_list(f->s3, "refs/", 0, list_ref, f);

	for (size_t i = 0; r == 0 && i < f->refs.n; i++) {
		struct fref *x = &f->refs.v[i];
		struct mlfs_s3_buf b = { 0 };
		char key[3 * MLFS_NAME_MAX + 32];

		remote_ref_key(x->ns, x->name, x->kind, x->ref, key,
			       sizeof(key));
		/* a ref object is 90 bytes: a listing that says more is
		 * damage, not something to read into memory first */
		if (x->size > 4096) {
			r = fetch_bad_object(f, key, -EBADMSG);
			break;
		}
		r = get_obj(f, key, &b);
		if (r == 0)
			r = fetch_bad_object(f, key, mlfs_remote_ref_parse(
				&f->s->cfg.key, x->ns, x->name, x->kind,
				x->ref, b.p, b.len, &x->commit));
		free(b.p);
	}
	return r;
}

/* ---- objects ---- */

static int fetch_content(struct fetch *f, const struct mlfs_id *d)
{
	struct mlfs_buf local = MLFS_BUF_INIT;
	struct mlfs_s3_buf b = { 0 };
	struct fcontent *c;
	char key[80];
	uint64_t size;
	int r = fetch_first_visit(&f->seen_c, d);

	if (r <= 0)
		return r;
	r = mlfs_meta_content_get(f->s->meta, d, &size, &local);
	mlfs_buf_release(&local);
	if (r == 0)
		return 0;
	mlfs_error_clear();
	remote_obj_key("contents/", d, key, sizeof(key));
	r = get_ahead(f, REMOTE_AHEAD_CONTENT, d, key, &b);
	if (r < 0)
		return r;
	c = fetch_vec_push(&f->contents, sizeof(*c));
	if (!c) {
		free(b.p);
		return -ENOMEM;
	}
	c->digest = *d;
	r = fetch_bad_object(f, key, mlfs_remote_content_parse(&f->s->cfg.key, d,
							 b.p, b.len, &c->size,
							 &c->chunks, &c->len));
	free(b.p);
	if (r < 0)
		f->contents.n--;
	return r;
}

static int fetch_tree(struct fetch *f, const struct mlfs_id *id)
{
	struct mlfs_buf local = MLFS_BUF_INIT;
	struct mlfs_s3_buf b = { 0 };
	struct mlfs_tree *t = NULL;
	struct mlfs_id got;
	struct ftree *x = NULL;
	char key[80];
	int r = fetch_first_visit(&f->seen_t, id);

	if (r <= 0)
		return r;
	r = mlfs_meta_tree_get(f->s->meta, id, &local);
	mlfs_buf_release(&local);
	if (r == 0)
		return 0;
	mlfs_error_clear();
	remote_obj_key("trees/", id, key, sizeof(key));
	r = get_ahead(f, REMOTE_AHEAD_TREE, id, key, &b);
	if (r < 0)
		return r;
	mlfs_hash(&f->s->cfg.key, b.p, b.len, &got);
	r = mlfs_id_cmp(&got, id) ? -EIO : mlfs_tree_decode(b.p, b.len, &t);
	r = fetch_bad_object(f, key, r);
	/* what it names is wanted next: ask for it all now */
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (t->e[i].type == MLFS_ENTRY_DIR)
			r = want_ahead(f, REMOTE_AHEAD_TREE, &t->e[i].id);
		else if (t->e[i].type == MLFS_ENTRY_FILE)
			r = want_ahead(f, REMOTE_AHEAD_CONTENT, &t->e[i].id);
	}
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (t->e[i].type == MLFS_ENTRY_DIR)
			r = fetch_tree(f, &t->e[i].id);
		else if (t->e[i].type == MLFS_ENTRY_FILE)
			r = fetch_content(f, &t->e[i].id);
	}
	mlfs_tree_free(t);
	if (r == 0) {
		x = fetch_vec_push(&f->trees, sizeof(*x));
		if (!x)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(b.p);
		return r;
	}
	x->id = *id;
	x->blob = b.p;
	x->len = b.len;
	return 0;
}

/* The commits from @head back to one the store has. */
static int fetch_commits(struct fetch *f, const struct fref *ref)
{
	struct mlfs_id cur = ref->commit;

	for (;;) {
		struct mlfs_remote_commit *c;
		struct mlfs_commit local;
		struct mlfs_s3_buf b = { 0 };
		size_t ncontents;
		char key[80];
		int r = fetch_first_visit(&f->seen_m, &cur);

		if (r <= 0)
			return r;
		r = mlfs_meta_commit_get(f->s->meta, &cur, &local);
		if (r == 0) {
			mlfs_meta_commit_release(&local);
			return 0;
		}
		mlfs_error_clear();
		remote_obj_key("commits/", &cur, key, sizeof(key));
		r = get_ahead(f, REMOTE_AHEAD_COMMIT, &cur, key, &b);
		if (r < 0)
			return r;
		c = fetch_vec_push(&f->commits, sizeof(*c));
		if (!c) {
			free(b.p);
			return -ENOMEM;
		}
		r = fetch_bad_object(f, key, mlfs_remote_commit_parse(
			&f->s->cfg.key, &cur, b.p, b.len, c));
		free(b.p);
		if (r < 0) {
			f->commits.n--;
			return r;
		}
		/* a commit is of its ref's repository, as its parents are:
		 * anything else would move a ref across repositories */
		if (strcmp(c->ns, ref->ns) || strcmp(c->name, ref->name))
			return fetch_bad_object(f, key, -EIO);
		r = mlfs_idset_add(&f->batch, &cur, f->commits.n - 1, NULL);
		if (r < 0)
			return -ENOMEM;
		/* the parent is next, once this commit's tree is walked */
		if (c->has_parent &&
		    want_ahead(f, REMOTE_AHEAD_COMMIT, &c->parent) < 0)
			return -ENOMEM;
		ncontents = f->contents.n;
		r = fetch_tree(f, &c->tree);
		if (r < 0)
			return r;
		if (f->contents.n > ncontents) {
			struct mlfs_id *l = fetch_vec_push(&f->listed, sizeof(*l));

			if (!l)
				return -ENOMEM;
			*l = cur;
		}
		if (!c->has_parent)
			return 0;
		cur = c->parent;
	}
}

/* ---- version metadata changed after the first push ---- */

/* LIST vmeta/ once: the objects of commits fetched now replace their
 * commit objects' pairs and inputs; those of commits the store has are
 * read when their ETag is not the one seen (remote_vmeta.c decides). */
static int read_vmeta(struct fetch *f)
{
	int r = remote_vmeta_fetch_read(f->s, f->r, f->s3, &f->vm);

	if (r == 0) {
		f->vm_etags = calloc(f->commits.n ? f->commits.n : 1,
				     sizeof(*f->vm_etags));
		if (!f->vm_etags)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < f->commits.n; i++)
		r = remote_vmeta_fetch_new(f->s, f->r, f->s3, &f->vm,
					   &f->commits.v[i], f->vm_etags[i]);
	return r;
}

/* ---- insert ---- */

static int repo_for(struct fetch *f, const char *ns, const char *name,
		    struct mlfs_repo *repo)
{
	struct mlfs_audit_event ev = { .op = "repo-create", .ns = ns,
				       .name = name };
	char msg[MLFS_REMOTE_NAME_MAX + 32];
	int r = mlfs_meta_repo_get(f->s->meta, ns, name, repo);

	if (r != -ENOENT)
		return r;
	r = mlfs_meta_repo_create(f->s->meta, ns, name, repo);
	snprintf(msg, sizeof(msg), "fetched from remote %s", f->r->name);
	ev.message = msg;
	return r ? r : mlfs_audit_append(f->s, &ev);
}

static int insert_commit(struct fetch *f, const struct mlfs_remote_commit *c)
{
	struct mlfs_commit lc = { 0 };
	struct mlfs_repo repo;
	int r = repo_for(f, c->ns, c->name, &repo);

	if (r < 0)
		return r;
	lc.id = c->id;
	lc.parent = c->parent;
	lc.has_parent = c->has_parent;
	lc.tree = c->tree;
	lc.repo_id = repo.id;
	lc.time = c->time;
	lc.author = c->author;
	lc.message = c->message;
	r = mlfs_meta_commit_put(f->s->meta, &lc);
	for (size_t i = 0; r == 0 && i < c->nkv; i++)
		r = mlfs_meta_vmeta_put(f->s->meta, &c->id, c->kv[i].key,
					c->kv[i].value);
	return r;
}

/* An input names a commit, maybe of a repository this fetch did not
 * bring: the row goes in only when that commit is in the store. */
static int insert_inputs(struct fetch *f, const struct mlfs_remote_commit *c)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < c->nin; i++) {
		struct mlfs_input in = { .commit = c->in[i].commit,
					 .files = c->in[i].files,
					 .bytes = c->in[i].bytes,
					 .how = c->in[i].how };
		struct mlfs_commit lc;

		r = mlfs_meta_commit_get(f->s->meta, &in.commit, &lc);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			return r;
		mlfs_meta_commit_release(&lc);
		r = mlfs_meta_input_put(f->s->meta, &c->id, &in);
		if (r == -EEXIST)
			r = 0;
	}
	return r;
}

/* The tracking refs of the remote become the branches it has now: the
 * fetch listed every ref of the bucket, so a branch deleted there is
 * dropped here, and one moved backwards (a forced push) follows it. */
static int track_all(struct fetch *f)
{
	int r = mlfs_meta_track_clear(f->s->meta, f->r->name, 0);

	for (size_t i = 0; r == 0 && i < f->refs.n; i++) {
		const struct fref *x = &f->refs.v[i];
		struct mlfs_repo repo;

		if (x->kind != 'b')
			continue;
		r = repo_for(f, x->ns, x->name, &repo);
		if (r == 0)
			r = mlfs_meta_track_set(f->s->meta, f->r->name,
						repo.id, x->ref, &x->commit);
	}
	return r;
}

/*
 * Every chunk of fetched content @c is located, in the store already or
 * in an index this fetch read (inserted just before). One that no index
 * names means the bucket lacks a pack's index (deleted, or never put):
 * inserting the content would leave it unreadable for good, as later
 * fetches do not walk commits the store has. -EIO naming the chunk.
 */
static int check_located(struct fetch *f, const struct fcontent *c)
{
	struct mlfs_content dec = { 0 };
	struct mlfs_chunk_loc *locs = NULL;
	size_t bad = 0;
	int r = mlfs_chunklist_decode(c->chunks, c->len, c->size, &dec);

	if (r == 0 && dec.n) {
		locs = malloc(dec.n * sizeof(*locs));
		r = locs ? mlfs_meta_chunk_get_many(f->s->meta, dec.ids,
						    dec.n, locs, &bad) :
			   -ENOMEM;
	}
	if (r == -ENOENT) {
		char chunk[33], content[33];

		mlfs_id_to_hex(&dec.ids[bad], chunk);
		mlfs_id_to_hex(&c->digest, content);
		mlfs_error_set("chunk %s of content %s is in no pack index of "
			       "remote '%s' (%s is incomplete: a packs/*.idx "
			       "object is missing)", chunk, content,
			       f->r->name, f->r->url);
		r = -EIO;
	}
	free(locs);
	free(dec.ids);
	free(dec.offs);
	return r;
}

static int insert_all(struct fetch *f, struct mlfs_remote_stats *st)
{
	int r = mlfs_meta_begin(f->s->meta);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < f->packs.n; i++) {
		struct fpack *p = &f->packs.v[i];

		r = mlfs_meta_pack_put(f->s->meta, p->id);
		if (r == 0)
			r = mlfs_meta_rpack_put(f->s->meta, p->id, f->r->name,
						p->size);
		for (size_t j = 0; r == 0 && j < p->n; j++)
			r = mlfs_meta_chunk_put(f->s->meta, &p->e[j].id,
						&p->e[j].loc);
		st->pack_bytes += p->size;
	}
	for (size_t i = 0; r == 0 && i < f->contents.n; i++) {
		struct fcontent *c = &f->contents.v[i];

		r = check_located(f, c);
		if (r == 0)
			r = mlfs_meta_content_put(f->s->meta, &c->digest,
						  c->size, c->chunks, c->len);
		if (r == 0)
			r = mlfs_meta_content_locs_record(f->s->meta,
							  &c->digest,
							  c->chunks, c->len);
	}
	for (size_t i = 0; r == 0 && i < f->trees.n; i++)
		r = mlfs_meta_tree_put(f->s->meta, &f->trees.v[i].id,
				       f->trees.v[i].blob, f->trees.v[i].len);
	for (size_t i = 0; r == 0 && i < f->commits.n; i++)
		r = insert_commit(f, &f->commits.v[i]);
	for (size_t i = 0; r == 0 && i < f->commits.n; i++)
		r = insert_inputs(f, &f->commits.v[i]);
	for (size_t i = 0; r == 0 && i < f->commits.n; i++)
		r = remote_vmeta_fetch_row(f->s, f->r, &f->commits.v[i].id,
					   f->vm_etags[i]);
	if (r == 0)
		r = remote_vmeta_fetch_apply(f->s, f->r, &f->vm, st);
	if (r == 0)
		r = track_all(f);
	if (r < 0) {
		mlfs_meta_rollback(f->s->meta);
		return r;
	}
	st->packs = f->packs.n;
	st->contents = f->contents.n;
	st->trees = f->trees.n;
	st->commits = f->commits.n;
	return mlfs_meta_commit(f->s->meta);
}

/* ---- refs ---- */

static int audit_ref(struct fetch *f, const struct fref *x, const char *op,
		     const struct mlfs_id *old)
{
	char ref[MLFS_NAME_MAX + 16], msg[MLFS_REMOTE_URL_MAX + 96];
	struct mlfs_audit_event ev = {
		.op = op, .ns = x->ns, .name = x->name, .ref = ref,
		.old_commit = old, .new_commit = &x->commit, .message = msg,
	};

	snprintf(ref, sizeof(ref), "%s:%s", x->kind == 'b' ? "branch" : "tag",
		 x->ref);
	snprintf(msg, sizeof(msg), "from remote %s (%s)", f->r->name,
		 f->r->url);
	return mlfs_audit_append(f->s, &ev);
}

/* Move branch @x from @old to its remote commit if it still is at @old
 * and its working tree has no edits; 1 (nothing moved) when it has.
 * Both are checked inside the move's transaction, as mlfs import does:
 * an edit made before it began is seen, so a head is never moved from
 * under edits that were made on it. */
static int fast_forward(struct fetch *f, const struct mlfs_repo *repo,
			const struct fref *x, const struct mlfs_id *old)
{
	struct mlfs_id now;
	int r = mlfs_meta_begin(f->s->meta);

	if (r < 0)
		return r;
	r = mlfs_meta_ref_get(f->s->meta, repo->id, 'b', x->ref, &now);
	if (r == 0 && mlfs_id_cmp(&now, old)) {
		mlfs_error_set("branch '%s' of '%s/%s' moved during the pull",
			       x->ref, x->ns, x->name);
		r = -EAGAIN;
	}
	if (r == 0)
		r = mlfs_work_branch_dirty(f->s, x->ns, x->name, x->ref);
	if (r > 0) {
		mlfs_meta_rollback(f->s->meta);
		return 1;
	}
	if (r == 0)
		r = mlfs_meta_ref_set(f->s->meta, repo->id, 'b', x->ref,
				      &x->commit, (int64_t)time(NULL));
	if (r == 0)
		r = audit_ref(f, x, "pull", old);
	if (r < 0) {
		mlfs_meta_rollback(f->s->meta);
		return r;
	}
	return mlfs_meta_commit(f->s->meta);
}

static int apply_alias(struct fetch *f, const struct mlfs_repo *repo,
		       const struct fref *x, bool pull,
		       struct mlfs_remote_ref_result *res)
{
	char why[MLFS_REMOTE_URL_MAX + 96];
	struct mlfs_id cur;
	int r = mlfs_alias_get(f->s, repo->id, x->ref, &cur);

	snprintf(why, sizeof(why), "from remote %s (%s)", f->r->name,
		 f->r->url);
	if (r == 0) {
		res->old = cur;
		res->has_old = true;
		if (!mlfs_id_cmp(&cur, &x->commit)) {
			res->status = MLFS_FETCH_SAME;
			return 0;
		}
		if (!pull) {
			res->status = MLFS_FETCH_DIFFERS;
			return 0;
		}
	} else if (r != -ENOENT) {
		return r;
	}
	r = mlfs_alias_set(f->s, repo, x->ref, &x->commit, why, NULL);
	if (r == -EEXIST) { /* a tag or branch has the name here */
		mlfs_error_clear();
		res->status = MLFS_FETCH_DIFFERS;
		return 0;
	}
	res->status = res->has_old ? MLFS_FETCH_FF : MLFS_FETCH_NEW;
	return r;
}

static int parent_in_batch(void *ctx, const struct mlfs_id *id,
			   struct mlfs_id *parent, bool *has_parent)
{
	struct fetch *f = ctx;
	uint64_t *ix = mlfs_idset_get(&f->batch, id);

	if (!ix)
		return -ENOENT;
	*parent = f->commits.v[*ix].parent;
	*has_parent = f->commits.v[*ix].has_parent;
	return 0;
}

static int apply_ref(struct fetch *f, const struct fref *x, bool pull,
		     struct mlfs_remote_ref_result *res)
{
	struct mlfs_repo repo;
	struct mlfs_id cur;
	int r;

	memset(res, 0, sizeof(*res));
	snprintf(res->ns, sizeof(res->ns), "%s", x->ns);
	snprintf(res->name, sizeof(res->name), "%s", x->name);
	snprintf(res->ref, sizeof(res->ref), "%s", x->ref);
	res->kind = x->kind;
	res->new = x->commit;
	r = mlfs_repo_get(f->s, x->ns, x->name, &repo);
	if (r < 0)
		return r;
	if (x->kind == 'a')
		return apply_alias(f, &repo, x, pull, res);
	r = mlfs_ref_get(f->s, repo.id, x->kind, x->ref, &cur);
	if (r == -ENOENT) {
		mlfs_error_clear();
		r = mlfs_ref_create(f->s, repo.id, x->kind, x->ref,
				    &x->commit);
		if (r == -EEXIST) { /* an alias has the name here */
			mlfs_error_clear();
			res->status = MLFS_FETCH_DIFFERS;
			return 0;
		}
		res->status = MLFS_FETCH_NEW;
		return r;
	}
	if (r < 0)
		return r;
	res->old = cur;
	res->has_old = true;
	if (!mlfs_id_cmp(&cur, &x->commit)) {
		res->status = MLFS_FETCH_SAME;
		return 0;
	}
	if (x->kind == 't') {
		res->status = MLFS_FETCH_DIFFERS;
		return 0;
	}
	r = remote_is_ancestor(f->s, &cur, &x->commit, parent_in_batch, f);
	if (r < 0)
		return r;
	if (r == 0) {
		r = remote_is_ancestor(f->s, &x->commit, &cur, NULL, NULL);
		if (r < 0)
			return r;
		res->status = r ? MLFS_FETCH_AHEAD : MLFS_FETCH_DIVERGED;
		return 0;
	}
	if (!pull) {
		res->status = MLFS_FETCH_BEHIND;
		return 0;
	}
	r = fast_forward(f, &repo, x, &cur);
	if (r < 0)
		return r;
	res->status = r > 0 ? MLFS_FETCH_EDITED : MLFS_FETCH_FF;
	return 0;
}

static int apply_refs(struct fetch *f, bool pull,
		      struct mlfs_remote_stats *st)
{
	int r = 0;

	st->refs = calloc(f->refs.n ? f->refs.n : 1, sizeof(*st->refs));
	if (!st->refs)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < f->refs.n; i++) {
		struct mlfs_remote_ref_result *res = &st->refs[st->nrefs];

		r = apply_ref(f, &f->refs.v[i], pull, res);
		if (r == 0) {
			st->nrefs++;
			if (res->status == MLFS_FETCH_DIVERGED ||
			    res->status == MLFS_FETCH_DIFFERS ||
			    res->status == MLFS_FETCH_EDITED)
				st->rejected++;
		}
	}
	return r;
}

static void fetch_release(struct fetch *f)
{
	for (size_t i = 0; i < f->packs.n; i++)
		free(f->packs.v[i].e);
	for (size_t i = 0; i < f->contents.n; i++)
		free(f->contents.v[i].chunks);
	for (size_t i = 0; i < f->trees.n; i++)
		free(f->trees.v[i].blob);
	for (size_t i = 0; i < f->commits.n; i++)
		mlfs_remote_commit_release(&f->commits.v[i]);
	free(f->refs.v);
	free(f->packs.v);
	free(f->contents.v);
	free(f->trees.v);
	free(f->commits.v);
	free(f->listed.v);
	free(f->vm_etags);
	remote_vmeta_fetch_release(&f->vm);
	mlfs_idset_release(&f->seen_c);
	mlfs_idset_release(&f->seen_t);
	mlfs_idset_release(&f->seen_m);
	mlfs_idset_release(&f->seen_p);
	mlfs_idset_release(&f->batch);
	mlfs_s3_close(f->s3);
}

int mlfs_remote_fetch(struct mlfs_store *s, const struct mlfs_remote *r,
		      bool pull, struct mlfs_remote_stats *st)
{
	struct fetch f = { .s = s, .r = r };
	double t0 = mlfs_now();
	int e;

	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	if (s->rdonly)
		return -EROFS;
	e = mlfs_remote_connect(r, &f.s3);
	if (e == 0)
		e = remote_handshake(s, r, f.s3, false);
	if (e == 0)
		e = read_refs(&f);
	/* without helpers (no memory, no threads) the walk GETs each
	 * object itself */
	if (e == 0 && remote_ahead_start(r, 4, &f.ahead) < 0)
		f.ahead = NULL;
	for (size_t i = 0; e == 0 && i < f.refs.n; i++)
		e = want_ahead(&f, REMOTE_AHEAD_COMMIT, &f.refs.v[i].commit);
	for (size_t i = 0; e == 0 && i < f.refs.n; i++)
		e = fetch_commits(&f, &f.refs.v[i]);
	remote_ahead_stop(f.ahead);
	f.ahead = NULL;
	if (e == 0)
		e = read_vmeta(&f);
	if (e == 0)
		e = fetch_read_packs(&f);
	if (e == 0)
		e = insert_all(&f, st);
	if (e == 0)
		e = apply_refs(&f, pull, st);
	st->seconds = mlfs_now() - t0;
	fetch_release(&f);
	return e;
}
