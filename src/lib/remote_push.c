/*
 * remote_push.c - mlfs push: upload what the bucket lacks, then move its
 * refs. Order is the invariant fetch relies on: packs and their indexes,
 * then contents, trees (children first), commits (parents first), the
 * version metadata changed since the last sync (remote_vmeta.c), refs
 * last, so an object in the bucket implies everything it names is there
 * (a push that dies leaves objects no ref reaches, never a ref to
 * something missing). Refs (remote_push_refs.c) and metadata objects
 * move by compare-and-swap on their ETag.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mlfs/alias.h"
#include "mlfs/content.h"
#include "mlfs/tree.h"
#include "remote_impl.h"

struct idvec {
	struct mlfs_id *v;
	size_t n, cap;
};

static int idvec_add(struct idvec *a, const struct mlfs_id *id)
{
	struct mlfs_id *nv = mlfs_grow(a->v, sizeof(*nv), a->n, &a->cap);

	if (!nv)
		return -ENOMEM;
	a->v = nv;
	a->v[a->n++] = *id;
	return 0;
}

/* The packs holding the chunks under one tree or content, sorted and
 * unique; @partial when one of them is not in the bucket (the same bytes
 * imported here and pushed by another store, in another pack): such a
 * commit gets no pack list, and fetches read every index instead. */
struct packset {
	uint64_t *v;
	size_t n;
	bool partial;
};

struct push {
	struct mlfs_store *s;
	const struct mlfs_remote *r;
	const struct mlfs_remote_push_opts *o;
	struct mlfs_s3 *s3;
	struct remote_have have;
	/* objects walked, one set per kind: a file's bytes can be a tree's
	 * encoding, and then both have one id */
	struct mlfs_idset seen_c, seen_t, seen_m;
	struct idvec contents, trees, commits;
	/* tree id -> level: 0 names no tree to upload, else one more than
	 * the highest it names (trees of a level go up together) */
	struct mlfs_idset tree_level;
	uint64_t max_level;
	struct mlfs_idset packs; /* local packs to upload */
	/* pack sets computed, by tree id and by content digest (-> index
	 * in psets): unchanged subtrees of the commits pushed are walked
	 * once */
	struct mlfs_idset ps_tree, ps_content;
	struct packset *psets;
	size_t npsets, cappsets;
	struct remote_pref *refs;
	size_t nrefs, caprefs;
};

static int add_ref(struct push *p, const struct mlfs_repo *repo, int kind,
		   const char *ref, const struct mlfs_id *commit)
{
	if (p->nrefs == p->caprefs) {
		size_t nc = p->caprefs ? p->caprefs * 2 : 16;
		void *nv = realloc(p->refs, nc * sizeof(*p->refs));

		if (!nv)
			return -ENOMEM;
		p->refs = nv;
		p->caprefs = nc;
	}
	p->refs[p->nrefs].repo = *repo;
	p->refs[p->nrefs].kind = kind;
	snprintf(p->refs[p->nrefs].ref, sizeof(p->refs[0].ref), "%s", ref);
	p->refs[p->nrefs].commit = *commit;
	p->nrefs++;
	return 0;
}

/* Every branch, tag and alias of @repo, or only @rev (tag, else branch,
 * else alias, as references resolve). */
static int repo_refs(struct push *p, const struct mlfs_repo *repo,
		     const char *rev)
{
	struct mlfs_ref *refs = NULL;
	struct mlfs_alias *al = NULL;
	size_t n = 0, na = 0, before = p->nrefs;
	int r;

	r = mlfs_ref_list(p->s, repo->id, 0, &refs, &n);
	if (r == 0)
		r = mlfs_alias_list(p->s, repo->id, &al, &na);
	for (int pass = 0; r == 0 && pass < 2; pass++)
		for (size_t i = 0; r == 0 && i < n; i++) {
			/* tags first, so a tag wins over a branch of the
			 * same name when @rev picks one */
			if ((pass == 0) != (refs[i].kind == MLFS_REF_TAG))
				continue;
			if (rev && (strcmp(refs[i].name, rev) ||
				    p->nrefs > before))
				continue;
			if (refs[i].damaged) {
				mlfs_error_set("%s '%s' of '%s/%s' is damaged",
					       refs[i].kind == 't' ? "tag" :
					       "branch", refs[i].name,
					       repo->ns, repo->name);
				r = -EIO;
				break;
			}
			r = add_ref(p, repo, refs[i].kind, refs[i].name,
				    &refs[i].commit);
		}
	for (size_t i = 0; r == 0 && i < na; i++) {
		if (rev && (strcmp(al[i].name, rev) || p->nrefs > before))
			continue;
		if (al[i].damaged) {
			mlfs_error_set("alias '%s' of '%s/%s' is damaged",
				       al[i].name, repo->ns, repo->name);
			r = -EIO;
			break;
		}
		r = add_ref(p, repo, 'a', al[i].name, &al[i].commit);
	}
	free(refs);
	free(al);
	if (r == 0 && rev && p->nrefs == before) {
		mlfs_error_set("'%s/%s' has no branch, tag or alias '%s'",
			       repo->ns, repo->name, rev);
		r = -ENOENT;
	}
	return r;
}

static int pick_refs(struct push *p)
{
	const struct mlfs_remote_push_opts *o = p->o;
	struct mlfs_repo *repos = NULL;
	size_t n = 0;
	int r = 0;

	if (o && o->nspecs) {
		for (size_t i = 0; r == 0 && i < o->nspecs; i++) {
			struct mlfs_refspec spec;
			struct mlfs_repo repo;
			const char *why;

			r = mlfs_refspec_parse(o->specs[i], 0, &spec, &why);
			if (r == -EINVAL) {
				const char *at = strchr(o->specs[i], '@');

				/* "@origin/main" names what a remote had */
				if (at && strchr(at, '/'))
					why = "push takes NS/NAME[@REF] of this "
					      "store, without a path or a "
					      "remote's branch (@REMOTE/BRANCH)";
				mlfs_error_set("invalid reference '%s': %s",
					       o->specs[i], why);
				return r;
			}
			if (r == 0 && (spec.has_date || spec.back)) {
				mlfs_error_set("push takes NS/NAME[@REF], not "
					       "'%s'", o->specs[i]);
				r = -EINVAL;
			}
			if (r == 0) {
				r = mlfs_repo_get(p->s, spec.ns, spec.name,
						  &repo);
				if (r == -ENOENT)
					mlfs_error_set("no repository '%s/%s'",
						       spec.ns, spec.name);
			}
			if (r == 0)
				r = repo_refs(p, &repo,
					      spec.rev[0] ? spec.rev : NULL);
			mlfs_refspec_release(&spec);
		}
		return r;
	}
	r = mlfs_repo_list(p->s, &repos, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!repos[i].damaged)
			r = repo_refs(p, &repos[i], NULL);
	free(repos);
	return r;
}

/* 1 when @id was not walked yet (and is now marked), 0 when it was. */
static int first_visit(struct mlfs_idset *seen, const struct mlfs_id *id)
{
	int r = mlfs_idset_add(seen, id, 0, NULL);

	return r < 0 ? -ENOMEM : r;
}

static int want_content(struct push *p, const struct mlfs_id *digest)
{
	struct mlfs_content *c = NULL;
	int r;

	if (mlfs_idset_get(&p->have.contents, digest))
		return 0;
	r = first_visit(&p->seen_c, digest);
	if (r <= 0)
		return r;
	r = mlfs_content_load(p->s, digest, MLFS_CONTENT_LOCATE, &c);
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		uint64_t pid = c->locs[i].pack_id;
		struct mlfs_id key;
		char name[40], path[4096];
		struct stat st;

		remote_pack_as_id(pid, &key);
		if (mlfs_idset_get(&p->have.packs, &key) ||
		    mlfs_idset_get(&p->packs, &key))
			continue;
		mlfs_pack_name(pid, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", p->s->packs_dir, name);
		if (stat(path, &st) < 0) {
			char hex[MLFS_ID_HEX_LEN + 1];

			mlfs_id_to_hex(&c->ids[i], hex);
			mlfs_error_set("chunk %s is in pack %s, which is not "
				       "in this store nor on remote '%s'", hex,
				       name, p->r->name);
			r = -ENOENT;
			break;
		}
		r = mlfs_idset_add(&p->packs, &key, pid, NULL) < 0 ? -ENOMEM :
		    0;
	}
	mlfs_content_free(c);
	return r == 0 ? idvec_add(&p->contents, digest) : r;
}

static int want_tree(struct push *p, const struct mlfs_id *id)
{
	struct mlfs_tree *t = NULL;
	uint64_t level = 0;
	int r;

	if (mlfs_idset_get(&p->have.trees, id))
		return 0;
	r = first_visit(&p->seen_t, id);
	if (r <= 0)
		return r;
	r = mlfs_tree_load(p->s, id, &t);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		if (t->e[i].type == MLFS_ENTRY_DIR) {
			const uint64_t *sub;

			r = want_tree(p, &t->e[i].id);
			sub = mlfs_idset_get(&p->tree_level, &t->e[i].id);
			if (sub && *sub + 1 > level)
				level = *sub + 1;
		} else if (t->e[i].type == MLFS_ENTRY_FILE) {
			r = want_content(p, &t->e[i].id);
		}
	}
	mlfs_tree_free(t);
	if (r == 0 && level > p->max_level)
		p->max_level = level;
	if (r == 0)
		r = mlfs_idset_add(&p->tree_level, id, level, NULL) < 0 ?
		    -ENOMEM : 0;
	/* post-order: a tree after everything it names */
	return r == 0 ? idvec_add(&p->trees, id) : r;
}

/* The commits from @head back to the first one the bucket has, then
 * oldest first onto p->commits, each after its tree. */
static int want_commits(struct push *p, const struct mlfs_id *head)
{
	struct idvec chain = { 0 };
	struct mlfs_id cur = *head;
	int r = 0;

	for (;;) {
		struct mlfs_commit c;

		if (mlfs_idset_get(&p->have.commits, &cur))
			break;
		r = first_visit(&p->seen_m, &cur);
		if (r <= 0)
			break;
		r = mlfs_commit_get(p->s, &cur, &c);
		if (r < 0)
			break;
		r = idvec_add(&chain, &cur);
		if (r == 0)
			r = want_tree(p, &c.tree);
		if (r < 0 || !c.has_parent) {
			mlfs_commit_release(&c);
			break;
		}
		cur = c.parent;
		mlfs_commit_release(&c);
	}
	for (size_t i = chain.n; r >= 0 && i-- > 0;)
		r = idvec_add(&p->commits, &chain.v[i]);
	free(chain.v);
	return r < 0 ? r : 0;
}

static int put_obj(struct push *p, const char *dir, const struct mlfs_id *id,
		   const struct mlfs_buf *b)
{
	char key[80];
	int r;

	remote_obj_key(dir, id, key, sizeof(key));
	r = mlfs_s3_put(p->s3, key, b->data, b->len, MLFS_S3_CREATE_ONLY,
			NULL, NULL);
	/* the key is the object's id: whoever wrote it wrote these bytes
	 * (or, for a commit, the same commit) */
	return r == -EEXIST ? 0 : r;
}

/* ---- pack lists ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int packset_add(struct packset *ps, size_t *cap, uint64_t id)
{
	if (ps->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *nv = realloc(ps->v, nc * sizeof(*ps->v));

		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		*cap = nc;
	}
	ps->v[ps->n++] = id;
	return 0;
}

static void packset_sort(struct packset *ps)
{
	size_t j = 0;

	if (!ps->n)
		return;
	qsort(ps->v, ps->n, sizeof(*ps->v), cmp_u64);
	for (size_t i = 1; i < ps->n; i++)
		if (ps->v[i] != ps->v[j])
			ps->v[++j] = ps->v[i];
	ps->n = j + 1;
}

/* Keep @ps (taken over) as the pack set of @id in @ix; *out borrows it. */
static int packset_keep(struct push *p, struct mlfs_idset *ix,
			const struct mlfs_id *id, struct packset *ps,
			const struct packset **out)
{
	if (p->npsets == p->cappsets) {
		size_t nc = p->cappsets ? p->cappsets * 2 : 64;
		void *nv = realloc(p->psets, nc * sizeof(*p->psets));

		if (!nv) {
			free(ps->v);
			return -ENOMEM;
		}
		p->psets = nv;
		p->cappsets = nc;
	}
	if (mlfs_idset_add(ix, id, p->npsets, NULL) < 0) {
		free(ps->v);
		return -ENOMEM;
	}
	p->psets[p->npsets] = *ps;
	*out = &p->psets[p->npsets++];
	return 0;
}

static bool pack_in_bucket(struct push *p, uint64_t pid)
{
	struct mlfs_id key;

	remote_pack_as_id(pid, &key);
	return mlfs_idset_get(&p->have.packs, &key) ||
	       mlfs_idset_get(&p->packs, &key);
}

static int content_packs(struct push *p, const struct mlfs_id *digest,
			 const struct packset **out)
{
	uint64_t *ix = mlfs_idset_get(&p->ps_content, digest);
	struct packset ps = { 0 };
	struct mlfs_content *c = NULL;
	size_t cap = 0;
	int r;

	if (ix) {
		*out = &p->psets[*ix];
		return 0;
	}
	r = mlfs_content_load(p->s, digest, MLFS_CONTENT_LOCATE, &c);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* a content the bucket has (else the walk for the upload
		 * loaded it) whose chunks are not all located here: the
		 * list cannot be complete */
		mlfs_error_clear();
		ps.partial = true;
	}
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		if (!pack_in_bucket(p, c->locs[i].pack_id))
			ps.partial = true;
		r = packset_add(&ps, &cap, c->locs[i].pack_id);
	}
	mlfs_content_free(c);
	if (r == -ENOMEM) {
		free(ps.v);
		return r;
	}
	packset_sort(&ps);
	return packset_keep(p, &p->ps_content, digest, &ps, out);
}

static int tree_packs(struct push *p, const struct mlfs_id *id,
		      const struct packset **out)
{
	uint64_t *ix = mlfs_idset_get(&p->ps_tree, id);
	struct packset ps = { 0 };
	struct mlfs_tree *t = NULL;
	size_t cap = 0;
	int r;

	if (ix) {
		*out = &p->psets[*ix];
		return 0;
	}
	r = mlfs_tree_load(p->s, id, &t);
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		const struct packset *sub = NULL;

		if (t->e[i].type == MLFS_ENTRY_DIR)
			r = tree_packs(p, &t->e[i].id, &sub);
		else if (t->e[i].type == MLFS_ENTRY_FILE)
			r = content_packs(p, &t->e[i].id, &sub);
		/* (sub points into psets, which the calls above may move:
		 * it is read before the next one) */
		if (r == 0 && sub) {
			ps.partial |= sub->partial;
			for (size_t j = 0; r == 0 && j < sub->n; j++)
				r = packset_add(&ps, &cap, sub->v[j]);
		}
	}
	mlfs_tree_free(t);
	if (r < 0) {
		free(ps.v);
		return r;
	}
	packset_sort(&ps);
	return packset_keep(p, &p->ps_tree, id, &ps, out);
}

/* PUT packlists/<commit>: after the packs it names (uploaded before, or
 * there already), before the commit object. */
/* ---- metadata objects, in batches whose objects may land in any
 * order (remote_objpool.c) ---- */

#define PUT_BATCH 256

struct batch {
	struct remote_put v[PUT_BATCH];
	size_t n;
};

static int batch_flush(struct push *p, struct batch *b)
{
	int r = remote_put_all(p->r, p->s3, b->v, b->n, p->o ? p->o->jobs : 0);

	b->n = 0;
	return r;
}

/* The next object of @b, its body emptied (@b sent first when full). */
static int batch_slot(struct push *p, struct batch *b, const char *dir,
		      const struct mlfs_id *id, struct remote_put **out)
{
	int r = b->n == PUT_BATCH ? batch_flush(p, b) : 0;

	if (r < 0)
		return r;
	*out = &b->v[b->n];
	(*out)->body.len = 0;
	remote_obj_key(dir, id, (*out)->key, sizeof((*out)->key));
	return 0;
}

/* The pack list of @commit into @b; none when some of its chunks are in
 * packs this push cannot name (fetch then reads every unknown index). */
static int add_packlist(struct push *p, struct batch *b,
			const struct mlfs_id *commit)
{
	const struct packset *ps = NULL;
	struct remote_put *o;
	struct mlfs_commit c;
	int r = mlfs_commit_get(p->s, commit, &c);

	if (r < 0)
		return r;
	r = tree_packs(p, &c.tree, &ps);
	mlfs_commit_release(&c);
	if (r < 0 || ps->partial)
		return r;
	/* an object there already is a list another push made of this
	 * commit: it names packs of the bucket that hold its chunks too */
	r = batch_slot(p, b, "packlists/", commit, &o);
	if (r == 0)
		r = mlfs_remote_packlist_format(&p->s->cfg.key, commit, ps->v,
						ps->n, &o->body);
	b->n += r == 0;
	return r;
}

static int add_content(struct push *p, struct batch *b,
		       const struct mlfs_id *d)
{
	struct mlfs_buf chunks = MLFS_BUF_INIT;
	struct remote_put *o;
	uint64_t size;
	int r = batch_slot(p, b, "contents/", d, &o);

	if (r == 0)
		r = mlfs_meta_content_get(p->s->meta, d, &size, &chunks);
	if (r == 0)
		r = mlfs_remote_content_format(&p->s->cfg.key, d, size,
					       chunks.data, chunks.len,
					       &o->body);
	mlfs_buf_release(&chunks);
	b->n += r == 0;
	return r;
}

static int add_tree(struct push *p, struct batch *b, const struct mlfs_id *id)
{
	struct remote_put *o;
	int r = batch_slot(p, b, "trees/", id, &o);

	if (r == 0)
		r = mlfs_meta_tree_get(p->s->meta, id, &o->body);
	b->n += r == 0;
	return r;
}

static int upload_commit(struct push *p, const struct mlfs_id *id,
			 struct mlfs_buf *out)
{
	struct mlfs_remote_commit rc = { 0 };
	struct mlfs_meta_kv *kv = NULL;
	struct mlfs_input *in = NULL;
	struct mlfs_commit c;
	struct mlfs_repo repo;
	size_t nkv = 0, nin = 0;
	int r;

	r = mlfs_commit_get(p->s, id, &c);
	if (r < 0)
		return r;
	out->len = 0;
	r = mlfs_meta_repo_get_id(p->s->meta, c.repo_id, &repo);
	if (r == 0)
		r = mlfs_meta_vmeta_list(p->s->meta, id, &kv, &nkv);
	if (r == 0)
		r = mlfs_inputs_get(p->s, id, &in, &nin);
	for (size_t i = 0; r == 0 && i < nkv; i++)
		if (kv[i].damaged) {
			mlfs_error_set("metadata '%s' of a commit is damaged",
				       kv[i].key);
			r = -EIO;
		}
	if (r == 0) {
		rc.kv = calloc(nkv ? nkv : 1, sizeof(*rc.kv));
		rc.in = calloc(nin ? nin : 1, sizeof(*rc.in));
		if (!rc.kv || !rc.in)
			r = -ENOMEM;
	}
	if (r == 0) {
		snprintf(rc.ns, sizeof(rc.ns), "%s", repo.ns);
		snprintf(rc.name, sizeof(rc.name), "%s", repo.name);
		rc.id = *id;
		rc.parent = c.parent;
		rc.has_parent = c.has_parent;
		rc.tree = c.tree;
		rc.time = c.time;
		rc.author = c.author;
		rc.message = c.message;
		for (size_t i = 0; i < nkv; i++) {
			rc.kv[i].key = kv[i].key;
			rc.kv[i].value = kv[i].value;
		}
		rc.nkv = nkv;
		for (size_t i = 0; i < nin; i++) {
			rc.in[i].commit = in[i].commit;
			rc.in[i].files = in[i].files;
			rc.in[i].bytes = in[i].bytes;
			rc.in[i].how = in[i].how;
		}
		rc.nin = nin;
		r = mlfs_remote_commit_format(&p->s->cfg.key, &rc, out);
	}
	/* rc borrowed every string */
	free(rc.kv);
	free(rc.in);
	mlfs_meta_kv_free(kv, nkv);
	free(in);
	mlfs_commit_release(&c);
	return r ? r : put_obj(p, "commits/", id, out);
}

static int collect_pack(void *ctx, const struct mlfs_id *id, uint64_t *v)
{
	struct idvec *ids = ctx;

	(void)id;
	return idvec_add(ids, &(struct mlfs_id){ .b = { 0 } }) < 0 ? -ENOMEM :
	       (mlfs_put_le64(ids->v[ids->n - 1].b, *v), 0);
}

static int upload_objects(struct push *p, struct mlfs_remote_stats *st)
{
	struct mlfs_buf b = MLFS_BUF_INIT;
	struct batch *bt = NULL;
	struct idvec packs = { 0 };
	uint64_t *ids = NULL;
	int r;

	r = mlfs_idset_each(&p->packs, collect_pack, &packs);
	if (r == 0 && packs.n) {
		ids = malloc(packs.n * sizeof(*ids));
		if (!ids)
			r = -ENOMEM;
		for (size_t i = 0; r == 0 && i < packs.n; i++)
			ids[i] = mlfs_get_le64(packs.v[i].b);
	}
	if (r == 0)
		r = remote_upload_packs(p->s, p->r, ids, packs.n,
					p->o ? p->o->jobs : 0,
					p->o ? p->o->progress : NULL,
					p->o ? p->o->ctx : NULL,
					&st->pack_bytes);
	if (r == 0)
		st->packs = packs.n;
	bt = r == 0 ? calloc(1, sizeof(*bt)) : NULL;
	if (r == 0 && !bt)
		r = -ENOMEM;
	/* contents, then trees a level at a time (a tree after the trees
	 * it names), then pack lists: each batch in parallel */
	for (size_t i = 0; r == 0 && i < p->contents.n; i++)
		r = add_content(p, bt, &p->contents.v[i]);
	if (r == 0)
		r = batch_flush(p, bt);
	if (r == 0)
		st->contents = p->contents.n;
	for (uint64_t l = 0; r == 0 && p->trees.n && l <= p->max_level; l++) {
		for (size_t i = 0; r == 0 && i < p->trees.n; i++) {
			const uint64_t *tl =
				mlfs_idset_get(&p->tree_level, &p->trees.v[i]);

			if (tl && *tl == l)
				r = add_tree(p, bt, &p->trees.v[i]);
		}
		if (r == 0)
			r = batch_flush(p, bt);
	}
	if (r == 0)
		st->trees = p->trees.n;
	for (size_t i = 0; r == 0 && i < p->commits.n; i++)
		r = add_packlist(p, bt, &p->commits.v[i]);
	if (r == 0)
		r = batch_flush(p, bt);
	/* commits one by one, parents first: a commit in the bucket says
	 * its parents are there (want_commits stops at it) */
	for (size_t i = 0; r == 0 && i < p->commits.n; i++, st->commits++)
		r = upload_commit(p, &p->commits.v[i], &b);
	for (size_t i = 0; bt && i < PUT_BATCH; i++)
		mlfs_buf_release(&bt->v[i].body);
	free(bt);
	mlfs_buf_release(&b);
	free(packs.v);
	free(ids);
	return r;
}

/* The metadata of every commit the refs pushed reach (remote_vmeta.c). */
static int push_vmeta(struct push *p, struct mlfs_remote_stats *st)
{
	struct mlfs_id *heads = malloc((p->nrefs + 1) * sizeof(*heads));
	int r;

	if (!heads)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrefs; i++)
		heads[i] = p->refs[i].commit;
	r = remote_vmeta_push(p->s, p->r, p->s3, heads, p->nrefs,
			      p->commits.v, p->commits.n,
			      p->o && p->o->force, st);
	free(heads);
	return r;
}

int mlfs_remote_push(struct mlfs_store *s, const struct mlfs_remote *r,
		     const struct mlfs_remote_push_opts *o,
		     struct mlfs_remote_stats *st)
{
	struct push p = { .s = s, .r = r, .o = o };
	double t0 = mlfs_now();
	int e;

	memset(st, 0, sizeof(*st));
	mlfs_error_clear();
	e = pick_refs(&p);
	if (e == 0)
		e = mlfs_remote_connect(r, &p.s3);
	if (e == 0)
		e = remote_handshake(s, r, p.s3, true);
	if (e == 0)
		e = remote_have_list(p.s3, &p.have);
	for (size_t i = 0; e == 0 && i < p.nrefs; i++)
		e = want_commits(&p, &p.refs[i].commit);
	if (e == 0)
		e = upload_objects(&p, st);
	if (e == 0)
		e = push_vmeta(&p, st);
	if (e == 0)
		e = remote_push_refs(s, r, p.s3, p.refs, p.nrefs,
				     o && o->force, st);
	st->seconds = mlfs_now() - t0;
	mlfs_s3_close(p.s3);
	remote_have_release(&p.have);
	mlfs_idset_release(&p.seen_c);
	mlfs_idset_release(&p.seen_t);
	mlfs_idset_release(&p.tree_level);
	mlfs_idset_release(&p.seen_m);
	mlfs_idset_release(&p.packs);
	mlfs_idset_release(&p.ps_tree);
	mlfs_idset_release(&p.ps_content);
	for (size_t i = 0; i < p.npsets; i++)
		free(p.psets[i].v);
	free(p.psets);
	free(p.contents.v);
	free(p.trees.v);
	free(p.commits.v);
	free(p.refs);
	return e;
}
