/*
 * diff.c - tree-level diff of two versions. Walks both root trees in
 * step by sorted name; a subtree whose id is equal on both sides is not
 * loaded, a file whose digest is equal is not read. Changes are gathered
 * (they are few next to the tree) so removed and added files of equal
 * content can be paired as renames before the records are emitted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/store.h" /* content.h needs struct mlfs_chunk declared */
#include "mlfs/content.h"
#include "mlfs/diff.h"
#include "mlfs/idset.h"
#include "mlfs/tree.h"

struct rec {
	enum mlfs_diff_status status;
	unsigned what;
	char *path;
	char *old_path;      /* RENAMED only */
	bool has_a, has_b;
	bool paired;         /* a REMOVED record taken by a rename */
	struct mlfs_entry a, b;
	char *a_target, *b_target;
};

struct walk {
	struct mlfs_store *s;
	const struct mlfs_diff_opts *o;
	struct rec *v;
	size_t n, cap;
	struct mlfs_buf path;
	struct mlfs_diff_stats st;
};

enum { MATCH_NONE, MATCH_ANCESTOR, MATCH_INSIDE };

static int filter_match(const struct walk *w, const char *p, size_t pl)
{
	int best = MATCH_NONE;

	if (!w->o->npaths)
		return MATCH_INSIDE;
	for (size_t i = 0; i < w->o->npaths; i++) {
		const char *f = w->o->paths[i];
		size_t fl = strlen(f);

		/* "" or "." names the whole tree. */
		if (fl == 0 || (fl == 1 && f[0] == '.'))
			return MATCH_INSIDE;
		if (pl >= fl && !memcmp(p, f, fl) && (pl == fl || p[fl] == '/'))
			return MATCH_INSIDE;
		if (fl > pl && !memcmp(p, f, pl) && f[pl] == '/')
			best = MATCH_ANCESTOR;
	}
	return best;
}

static void rec_free(struct rec *r)
{
	free(r->path);
	free(r->old_path);
	free(r->a_target);
	free(r->b_target);
}

static int copy_entry(const struct mlfs_entry *e, const char *path,
		      struct mlfs_entry *out, char **target)
{
	const char *slash = strrchr(path, '/');

	*out = *e;
	out->name = slash ? slash + 1 : path;
	out->target = NULL;
	*target = NULL;
	if (e->target) {
		*target = strdup(e->target);
		if (!*target)
			return -ENOMEM;
		out->target = *target;
	}
	return 0;
}

static int add_rec(struct walk *w, enum mlfs_diff_status status,
		   unsigned what, const struct mlfs_entry *a,
		   const struct mlfs_entry *b)
{
	struct rec *r;
	int e;

	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct rec *nv = realloc(w->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->v = nv;
		w->cap = nc;
	}
	r = &w->v[w->n];
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->what = what;
	r->path = strndup((const char *)w->path.data, w->path.len);
	if (!r->path)
		return -ENOMEM;
	w->n++;
	if (a) {
		r->has_a = true;
		e = copy_entry(a, r->path, &r->a, &r->a_target);
		if (e < 0)
			return e;
	}
	if (b) {
		r->has_b = true;
		e = copy_entry(b, r->path, &r->b, &r->b_target);
		if (e < 0)
			return e;
	}
	return 0;
}

static int walk(struct walk *w, const struct mlfs_id *ta,
		const struct mlfs_id *tb, bool inside);

/* Everything at and below @e exists on one side only. */
static int one_side(struct walk *w, const struct mlfs_entry *e, bool is_a,
		    int match)
{
	struct mlfs_tree *t = NULL;
	int r;

	if (e->type != MLFS_ENTRY_DIR) {
		if (match != MATCH_INSIDE)
			return 0;
		return add_rec(w, is_a ? MLFS_DIFF_REMOVED : MLFS_DIFF_ADDED, 0,
			       is_a ? e : NULL, is_a ? NULL : e);
	}
	r = mlfs_tree_load(w->s, &e->id, &t);
	if (r < 0)
		return r;
	w->st.trees_loaded++;
	if (t->n == 0 && match == MATCH_INSIDE)
		r = add_rec(w, is_a ? MLFS_DIFF_REMOVED : MLFS_DIFF_ADDED, 0,
			    is_a ? e : NULL, is_a ? NULL : e);
	else
		r = walk(w, is_a ? &e->id : NULL, is_a ? NULL : &e->id,
			 match == MATCH_INSIDE);
	mlfs_tree_free(t);
	return r;
}

static int both_sides(struct walk *w, const struct mlfs_entry *a,
		      const struct mlfs_entry *b, int match)
{
	bool inside = match == MATCH_INSIDE;
	unsigned what = 0;
	int r;

	if (a->type == MLFS_ENTRY_DIR && b->type == MLFS_ENTRY_DIR) {
		if (inside && a->mode != b->mode) {
			r = add_rec(w, MLFS_DIFF_MODIFIED, MLFS_DIFF_F_MODE,
				    a, b);
			if (r < 0)
				return r;
		}
		/* The Merkle property: equal ids, equal subtrees. */
		if (!mlfs_id_cmp(&a->id, &b->id))
			return inside && a->mode == b->mode &&
			       a->mtime_ns != b->mtime_ns ?
			       add_rec(w, MLFS_DIFF_MODIFIED,
				       MLFS_DIFF_F_MTIME, a, b) : 0;
		return walk(w, &a->id, &b->id, inside);
	}
	if (a->type == MLFS_ENTRY_DIR || b->type == MLFS_ENTRY_DIR) {
		r = one_side(w, a, true, match);
		if (r == 0)
			r = one_side(w, b, false, match);
		return r;
	}
	if (!inside)
		return 0;
	if (a->type != b->type)
		return add_rec(w, MLFS_DIFF_TYPE, 0, a, b);
	if (a->type == MLFS_ENTRY_SYMLINK) {
		if (a->target && b->target && strcmp(a->target, b->target))
			what |= MLFS_DIFF_F_TARGET;
	} else {
		if (mlfs_id_cmp(&a->id, &b->id))
			what |= MLFS_DIFF_F_CONTENT;
		if (a->mode != b->mode)
			what |= MLFS_DIFF_F_MODE;
	}
	if (!what && a->mtime_ns != b->mtime_ns)
		what = MLFS_DIFF_F_MTIME;
	if (!what)
		return 0;
	return add_rec(w, MLFS_DIFF_MODIFIED, what, a, b);
}

static int walk(struct walk *w, const struct mlfs_id *ta,
		const struct mlfs_id *tb, bool inside)
{
	struct mlfs_tree *a = NULL, *b = NULL;
	size_t base = w->path.len, i = 0, j = 0, na, nb;
	int r = 0;

	if (ta) {
		r = mlfs_tree_load(w->s, ta, &a);
		if (r < 0)
			goto out;
		w->st.trees_loaded++;
	}
	if (tb) {
		r = mlfs_tree_load(w->s, tb, &b);
		if (r < 0)
			goto out;
		w->st.trees_loaded++;
	}
	na = a ? a->n : 0;
	nb = b ? b->n : 0;
	while ((i < na || j < nb) && r == 0) {
		const struct mlfs_entry *ea = i < na ? &a->e[i] : NULL;
		const struct mlfs_entry *eb = j < nb ? &b->e[j] : NULL;
		int c = !ea ? 1 : !eb ? -1 : strcmp(ea->name, eb->name);
		const char *name = c <= 0 ? ea->name : eb->name;
		int match;

		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
		w->path.len = base;
		if (base)
			r = mlfs_buf_append(&w->path, "/", 1);
		if (r == 0)
			r = mlfs_buf_append(&w->path, name, strlen(name));
		if (r < 0)
			break;
		match = inside ? MATCH_INSIDE :
			filter_match(w, (const char *)w->path.data,
				     w->path.len);
		if (match == MATCH_NONE)
			continue;
		if (c == 0)
			r = both_sides(w, ea, eb, match);
		else
			r = one_side(w, c < 0 ? ea : eb, c < 0, match);
	}
	w->path.len = base;
out:
	mlfs_tree_free(a);
	mlfs_tree_free(b);
	return r;
}

/* Pair each added file with an unpaired removed file of equal digest. */
static int find_renames(struct walk *w)
{
	struct mlfs_idset set = MLFS_IDSET_INIT;
	size_t *next = NULL;
	int r = 0;

	next = malloc((w->n + 1) * sizeof(*next));
	if (!next)
		return -ENOMEM;
	/* Chains of removed records by digest: value = index + 1 of the
	 * first, next[] links the rest in path order. */
	for (size_t i = w->n; i-- > 0;) {
		struct rec *x = &w->v[i];
		uint64_t *head;

		if (x->status != MLFS_DIFF_REMOVED ||
		    x->a.type != MLFS_ENTRY_FILE || x->a.size == 0)
			continue;
		r = mlfs_idset_add(&set, &x->a.id, i + 1, &head);
		if (r < 0)
			goto out;
		if (r == 0) {
			next[i] = (size_t)*head;
			*head = i + 1;
		} else {
			next[i] = 0;
		}
	}
	r = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct rec *x = &w->v[i];
		uint64_t *v;
		size_t k;

		if (x->status != MLFS_DIFF_ADDED ||
		    x->b.type != MLFS_ENTRY_FILE || x->b.size == 0)
			continue;
		v = mlfs_idset_get(&set, &x->b.id);
		if (!v || !*v)
			continue;
		k = (size_t)*v - 1;
		*v = next[k];
		w->v[k].paired = true;
		x->status = MLFS_DIFF_RENAMED;
		x->old_path = w->v[k].path;
		w->v[k].path = NULL;
		x->has_a = true;
		x->a = w->v[k].a;
		x->a_target = NULL;
		{
			const char *slash = strrchr(x->old_path, '/');

			x->a.name = slash ? slash + 1 : x->old_path;
		}
		if (x->a.mode != x->b.mode)
			x->what |= MLFS_DIFF_F_MODE;
	}
out:
	free(next);
	mlfs_idset_release(&set);
	return r;
}

int mlfs_diff_chunk_stats(const struct mlfs_content *a,
			  const struct mlfs_content *b,
			  struct mlfs_diff_chunks *out)
{
	struct mlfs_idset set = MLFS_IDSET_INIT;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->a_chunks = a->n;
	out->b_chunks = b->n;
	for (size_t i = 0; i < a->n && r >= 0; i++)
		r = mlfs_idset_add(&set, &a->ids[i], 0, NULL);
	if (r < 0)
		goto out;
	r = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (!mlfs_idset_get(&set, &b->ids[i]))
			continue;
		out->shared_chunks++;
		out->shared_bytes += b->offs[i + 1] - b->offs[i];
	}
	out->new_bytes = b->size - out->shared_bytes;
out:
	mlfs_idset_release(&set);
	return r;
}

static int chunk_stats(struct mlfs_store *s, const struct mlfs_id *a,
		       const struct mlfs_id *b, struct mlfs_diff_chunks *out)
{
	struct mlfs_content *ca = NULL, *cb = NULL;
	int r;

	/* Chunk lists only: no LOCATE, nothing decompressed. */
	r = mlfs_content_load(s, a, 0, &ca);
	if (r == 0)
		r = mlfs_content_load(s, b, 0, &cb);
	if (r == 0)
		r = mlfs_diff_chunk_stats(ca, cb, out);
	mlfs_content_free(ca);
	mlfs_content_free(cb);
	return r;
}

static int emit(struct walk *w, struct rec *x)
{
	struct mlfs_diff_rec d;
	int r;

	memset(&d, 0, sizeof(d));
	d.status = x->status;
	d.path = x->path;
	d.old_path = x->old_path ? x->old_path : x->path;
	d.a = x->has_a ? &x->a : NULL;
	d.b = x->has_b ? &x->b : NULL;
	d.what = x->what;
	if (x->status == MLFS_DIFF_MODIFIED &&
	    (x->what & MLFS_DIFF_F_CONTENT) &&
	    (w->o->flags & MLFS_DIFF_CHUNK_STATS)) {
		r = chunk_stats(w->s, &x->a.id, &x->b.id, &d.chunks);
		if (r < 0)
			return r;
		d.has_chunks = true;
	}
	switch (x->status) {
	case MLFS_DIFF_ADDED:
		w->st.added++;
		w->st.bytes_b += x->b.size;
		w->st.new_bytes += x->b.type == MLFS_ENTRY_FILE ? x->b.size : 0;
		break;
	case MLFS_DIFF_REMOVED:
		w->st.removed++;
		w->st.bytes_a += x->a.size;
		break;
	case MLFS_DIFF_RENAMED:
		w->st.renamed++;
		break;
	case MLFS_DIFF_TYPE:
		w->st.type_changed++;
		w->st.bytes_a += x->a.size;
		w->st.bytes_b += x->b.size;
		break;
	case MLFS_DIFF_MODIFIED:
		w->st.modified++;
		if (x->what & MLFS_DIFF_F_CONTENT) {
			w->st.bytes_a += x->a.size;
			w->st.bytes_b += x->b.size;
			w->st.new_bytes += d.has_chunks ? d.chunks.new_bytes :
					   x->b.size;
		}
		break;
	}
	return w->o->fn ? w->o->fn(w->o->ctx, &d) : 0;
}

int mlfs_diff_trees(struct mlfs_store *s, const struct mlfs_id *a,
		    const struct mlfs_id *b, const struct mlfs_diff_opts *o,
		    struct mlfs_diff_stats *st)
{
	struct walk w;
	int r = 0;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.o = o;
	if (mlfs_id_cmp(a, b))
		r = walk(&w, a, b, false);
	if (r == 0 && !(o->flags & MLFS_DIFF_NO_RENAMES))
		r = find_renames(&w);
	for (size_t i = 0; i < w.n && r == 0; i++)
		if (!w.v[i].paired)
			r = emit(&w, &w.v[i]);
	if (st)
		*st = w.st;
	for (size_t i = 0; i < w.n; i++)
		rec_free(&w.v[i]);
	free(w.v);
	mlfs_buf_release(&w.path);
	return r;
}
