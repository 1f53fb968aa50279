/*
 * lineage.c - the inputs of commits as a graph (lineage.h): the rows come
 * verified from meta_inputs.c, every commit reached is loaded (so
 * verified) and named by its repository and the refs at it now. A commit
 * can only name inputs that existed before it, so the graph has no
 * cycles; the walk still refuses to revisit a commit on its own path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mlfs/alias.h"
#include "mlfs/lineage.h"
#include "mlfs/repo.h"
#include "store_impl.h"

const char *mlfs_input_how_name(int how)
{
	switch (how) {
	case MLFS_INPUT_MOUNT:
		return "mount";
	case MLFS_INPUT_MANUAL:
		return "manual";
	default:
		return "?";
	}
}

int mlfs_inputs_get(struct mlfs_store *s, const struct mlfs_id *commit,
		    struct mlfs_input **out, size_t *n)
{
	return mlfs_meta_inputs_list(s->meta, commit, false, out, n);
}

int mlfs_inputs_users(struct mlfs_store *s, const struct mlfs_id *input,
		      struct mlfs_input **out, size_t *n)
{
	return mlfs_meta_inputs_list(s->meta, input, true, out, n);
}

int mlfs_inputs_all(struct mlfs_store *s, struct mlfs_input **rows,
		    struct mlfs_id **inputs, bool **damaged, size_t *n)
{
	return mlfs_meta_inputs_all(s->meta, rows, inputs, damaged, n);
}

static int input_cmp(const void *a, const void *b)
{
	return mlfs_id_cmp(&((const struct mlfs_input *)a)->commit,
			   &((const struct mlfs_input *)b)->commit);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

size_t mlfs_inputs_merge(struct mlfs_input *v, size_t n)
{
	size_t k = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), input_cmp);
	for (size_t i = 1; i < n; i++) {
		struct mlfs_input *w = &v[k];

		if (mlfs_id_cmp(&w->commit, &v[i].commit)) {
			v[++k] = v[i];
			continue;
		}
		w->files = sat_add(w->files, v[i].files);
		w->bytes = sat_add(w->bytes, v[i].bytes);
		if (v[i].how == MLFS_INPUT_MOUNT)
			w->how = MLFS_INPUT_MOUNT;
	}
	return k + 1;
}

static void node_release(struct mlfs_lineage_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_release(&n->kids[i]);
	free(n->kids);
	mlfs_strv_free(n->branches, n->nbranches);
	mlfs_strv_free(n->tags, n->ntags);
	mlfs_strv_free(n->aliases, n->naliases);
}

void mlfs_lineage_free(struct mlfs_lineage_node *n)
{
	if (!n)
		return;
	node_release(n);
	free(n);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Repository and refs of @n->commit. */
static int describe(struct mlfs_store *s, struct mlfs_lineage_node *n)
{
	struct mlfs_commit c = { 0 };
	struct mlfs_repo repo;
	struct mlfs_ref *refs = NULL;
	struct mlfs_alias *al = NULL;
	size_t nrefs = 0, nal = 0;
	int r = mlfs_commit_get(s, &n->commit, &c);

	if (r == -ENOENT) {
		char hex[MLFS_ID_HEX_LEN + 1];

		mlfs_id_to_hex(&n->commit, hex);
		mlfs_error_set("an input names commit %s, which the store "
			       "does not hold", hex);
	}
	if (r < 0)
		return r;
	r = mlfs_meta_repo_get_id(s->meta, c.repo_id, &repo);
	if (r == 0)
		r = mlfs_ref_list(s, repo.id, 0, &refs, &nrefs);
	if (r == 0)
		r = mlfs_alias_list(s, repo.id, &al, &nal);
	if (r < 0)
		goto out;
	memcpy(n->ns, repo.ns, sizeof(n->ns));
	memcpy(n->name, repo.name, sizeof(n->name));
	for (size_t i = 0; r == 0 && i < nrefs; i++) {
		if (refs[i].damaged || mlfs_id_cmp(&refs[i].commit, &n->commit))
			continue;
		if (refs[i].kind == MLFS_REF_TAG)
			r = strv_push(&n->tags, &n->ntags, refs[i].name);
		else
			r = strv_push(&n->branches, &n->nbranches,
				      refs[i].name);
	}
	for (size_t i = 0; r == 0 && i < nal; i++)
		if (!al[i].damaged && !mlfs_id_cmp(&al[i].commit, &n->commit))
			r = strv_push(&n->aliases, &n->naliases, al[i].name);
out:
	free(al);
	free(refs);
	mlfs_commit_release(&c);
	return r;
}

/* The commits on the path from the root to the node being expanded. */
struct path {
	const struct mlfs_id **v;
	size_t n, cap;
};

static bool on_path(const struct path *p, const struct mlfs_id *id)
{
	for (size_t i = 0; i < p->n; i++)
		if (!mlfs_id_cmp(p->v[i], id))
			return true;
	return false;
}

static int expand(struct mlfs_store *s, struct mlfs_lineage_node *n,
		  bool downstream, unsigned depth, unsigned level,
		  struct path *p)
{
	struct mlfs_input *v = NULL;
	size_t nv = 0;
	int r = describe(s, n);

	if (r == 0)
		r = mlfs_meta_inputs_list(s->meta, &n->commit, downstream,
					  &v, &nv);
	if (r < 0 || !nv)
		goto out;
	if (depth && level >= depth) {
		n->truncated = true;
		goto out;
	}
	n->kids = calloc(nv, sizeof(*n->kids));
	if (!n->kids) {
		r = -ENOMEM;
		goto out;
	}
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 16;
		const struct mlfs_id **np = realloc(p->v, nc * sizeof(*np));

		if (!np) {
			r = -ENOMEM;
			goto out;
		}
		p->v = np;
		p->cap = nc;
	}
	p->v[p->n++] = &n->commit;
	for (size_t i = 0; r == 0 && i < nv; i++) {
		struct mlfs_lineage_node *k = &n->kids[n->nkids++];

		k->commit = v[i].commit;
		k->edge = v[i];
		if (on_path(p, &k->commit)) {
			k->cycle = true;
			r = describe(s, k);
			continue;
		}
		r = expand(s, k, downstream, depth, level + 1, p);
	}
	p->n--;
out:
	free(v);
	return r;
}

int mlfs_lineage_walk(struct mlfs_store *s, const struct mlfs_id *commit,
		      bool downstream, unsigned depth,
		      struct mlfs_lineage_node **out)
{
	struct mlfs_lineage_node *root = calloc(1, sizeof(*root));
	struct path p = { 0 };
	int r;

	*out = NULL;
	if (!root)
		return -ENOMEM;
	root->commit = *commit;
	r = expand(s, root, downstream, depth, 0, &p);
	free(p.v);
	if (r < 0) {
		mlfs_lineage_free(root);
		return r;
	}
	*out = root;
	return 0;
}
