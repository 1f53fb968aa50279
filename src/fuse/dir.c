/*
 * dir.c - directory listings: opendir takes a snapshot of the root's
 * namespaces or a namespace's <name>[@<ref>] entries, or lists a version's
 * immutable tree in place; readdir and readdirplus walk it, the latter
 * with attributes or names only as the walker's lookups suggest. Relies on
 * ops.c for lookups (ops.h), inode.c for trees and dirahead.c for walks.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlfs/alias.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/worktree.h"
#include "ops.h"

/*
 * Readdirplus with attributes makes the kernel build an inode for every
 * entry: right for a walker that stats them (du, ls -l, os.walk with
 * stat) since it saves a lookup per file, but for one that only wants
 * names (find, ls) that costs about three times a local listing. So:
 * attributes while the walker looks files up, names only while it does
 * not. A lookup of a file in a directory listed with names only means it
 * does (attributes from the next listing on); while attributes are on,
 * every PROBE_EVERY-th listing gives names only, and if none of its files
 * is looked up before the next listing starts, names only it is.
 */
#define PROBE_EVERY 16u

void mlfs_dir_saw_lookup(struct mlfs_fs *fs, struct mlfs_node *dir)
{
	pthread_mutex_lock(&fs->itable.lock);
	if (dir->listed_bare) {
		fs->rdplus_attrs = true;
		if (dir->nodeid == fs->rdplus_probe)
			fs->rdplus_probe_hit = true;
	}
	pthread_mutex_unlock(&fs->itable.lock);
}

/* A new listing of @dir starts: give attributes with its entries? */
static bool rdplus_want_attrs(struct mlfs_fs *fs, struct mlfs_node *dir)
{
	bool attrs;

	pthread_mutex_lock(&fs->itable.lock);
	if (fs->rdplus_probe && !fs->rdplus_probe_hit)
		fs->rdplus_attrs = false; /* nobody looked at the probe's
					   * files */
	fs->rdplus_probe = 0;
	attrs = fs->rdplus_attrs;
	if (attrs && ++fs->rdplus_count >= PROBE_EVERY) {
		fs->rdplus_count = 0;
		fs->rdplus_probe = dir->nodeid;
		fs->rdplus_probe_hit = false;
		attrs = false;
	}
	if (!attrs)
		dir->listed_bare = true;
	pthread_mutex_unlock(&fs->itable.lock);
	return attrs;
}

struct dent {
	char *name;
	uint64_t ino;
	mode_t type; /* S_IFDIR ... */
};

struct dirh {
	struct mlfs_node *node;
	size_t n;
	struct dent *d;                /* root and namespace listings */
	const struct mlfs_tree *tree;  /* inside a version: the node's own
					* tree, alive while it is open */
	int attrs;                     /* readdirplus: -1 undecided, 0 names
					* only, 1 with attributes */
};

static void dirh_free(struct dirh *h)
{
	if (!h)
		return;
	for (size_t i = 0; h->d && i < h->n; i++)
		free(h->d[i].name);
	free(h->d);
	free(h);
}

static int dirh_add(struct dirh *h, size_t *cap, const char *name,
		    uint64_t ino, mode_t type)
{
	if (h->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct dent *d = realloc(h->d, nc * sizeof(*d));

		if (!d)
			return -ENOMEM;
		h->d = d;
		*cap = nc;
	}
	h->d[h->n].name = strdup(name);
	if (!h->d[h->n].name)
		return -ENOMEM;
	h->d[h->n].ino = ino;
	h->d[h->n].type = type;
	h->n++;
	return 0;
}

static int list_root(struct mlfs_fs *fs, struct dirh *h, size_t *cap)
{
	char **v = NULL;
	size_t n = 0;
	char **made = NULL;
	size_t nmade = 0;
	int r = mlfs_namespace_list(fs->store, &v, &n);

	/* and those made by mkdir that hold no repository yet */
	if (r >= 0 && fs->work)
		r = mlfs_work_ns_list(fs->work, &made, &nmade);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = dirh_add(h, cap, v[i], mlfs_itable_ino(FUSE_ROOT_ID, v[i],
							   NULL), S_IFDIR);
	for (size_t i = 0; r >= 0 && i < nmade; i++) {
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(v[k], made[i]);
		if (!dup)
			r = dirh_add(h, cap, made[i],
				     mlfs_itable_ino(FUSE_ROOT_ID, made[i],
						     NULL), S_IFDIR);
	}
	mlfs_strv_free(v, n);
	mlfs_strv_free(made, nmade);
	return r;
}

/* "<name>@<alias>" for each alias of @rp. A damaged one is not listed:
 * its target is what cannot be trusted (its lookup fails with EIO); nor
 * is one a tag or branch of @refs hides (a store written otherwise:
 * resolution takes the ref). */
static int list_aliases(struct mlfs_fs *fs, struct mlfs_node *dir,
			const struct mlfs_repo *rp,
			const struct mlfs_ref *refs, size_t nrefs,
			struct dirh *h, size_t *cap)
{
	char comp[2 * MLFS_NAME_MAX + 2];
	struct mlfs_alias *v = NULL;
	size_t n = 0;
	int r = mlfs_alias_list(fs->store, rp->id, &v, &n);

	for (size_t i = 0; r >= 0 && i < n; i++) {
		bool hidden = v[i].damaged;

		for (size_t k = 0; k < nrefs; k++)
			hidden |= !strcmp(refs[k].name, v[i].name);
		if (hidden)
			continue;
		snprintf(comp, sizeof(comp), "%s@%s", rp->name, v[i].name);
		r = dirh_add(h, cap, comp,
			     mlfs_itable_ino(dir->ino, comp, &v[i].commit),
			     S_IFDIR);
	}
	free(v);
	return r;
}

static int list_ns(struct mlfs_fs *fs, struct mlfs_node *dir,
		   struct dirh *h, size_t *cap)
{
	struct mlfs_repo *repos = NULL;
	struct mlfs_ref *refs = NULL;
	size_t nrepos = 0, nrefs = 0;
	char comp[2 * MLFS_NAME_MAX + 2];
	int r = mlfs_repo_list(fs->store, &repos, &nrepos);

	for (size_t i = 0; r >= 0 && i < nrepos; i++) {
		const struct mlfs_repo *rp = &repos[i];

		if (strcmp(rp->ns, dir->name))
			continue;
		free(refs);
		refs = NULL;
		r = mlfs_ref_list(fs->store, rp->id, 0, &refs, &nrefs);
		if (r >= 0 && !nrefs && fs->work)
			/* a new repository: its empty, writable main */
			r = dirh_add(h, cap, rp->name,
				     mlfs_itable_ino(dir->ino, rp->name, NULL),
				     S_IFDIR);
		for (size_t j = 0; r >= 0 && j < nrefs; j++) {
			const struct mlfs_ref *f = &refs[j];
			bool is_default = f->kind == MLFS_REF_BRANCH &&
					  !strcmp(f->name, rp->default_branch);

			if (is_default) {
				snprintf(comp, sizeof(comp), "%s", rp->name);
			} else {
				/* a branch hidden by a same-named tag
				 * (tags win in resolve) is not listed */
				bool hidden = false;

				for (size_t k = 0; f->kind == MLFS_REF_BRANCH &&
						   k < nrefs; k++)
					hidden |=
						refs[k].kind == MLFS_REF_TAG &&
						!strcmp(refs[k].name, f->name);
				if (hidden)
					continue;
				snprintf(comp, sizeof(comp), "%s@%s", rp->name,
					 f->name);
			}
			r = dirh_add(h, cap, comp,
				     mlfs_itable_ino(dir->ino, comp,
						     &f->commit), S_IFDIR);
		}
		if (r >= 0)
			r = list_aliases(fs, dir, rp, refs, nrefs, h,
					 cap);
	}
	free(refs);
	free(repos);
	return r;
}

static int list_wt(struct mlfs_fs *fs, struct mlfs_node *dir,
		   struct dirh *h, size_t *cap)
{
	struct mlfs_wt_dirent *v = NULL;
	size_t n = 0;
	int r = mlfs_fs_wt_listing(fs, dir, &v, &n);

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = dirh_add(h, cap, v[i].name, v[i].attr.ino,
			     v[i].attr.type == MLFS_ENTRY_DIR ? S_IFDIR :
			     v[i].attr.type == MLFS_ENTRY_SYMLINK ? S_IFLNK :
			     v[i].attr.type == MLFS_WT_SPECIAL ?
			     (mode_t)(v[i].attr.mode & S_IFMT) : S_IFREG);
	mlfs_wt_dirents_free(v, n);
	return r;
}

static int list_tree(struct mlfs_fs *fs, struct mlfs_node *dir,
		     struct dirh *h)
{
	const struct mlfs_tree *t;
	bool first;
	int r = mlfs_itable_tree(&fs->itable, fs->store, dir, &t);

	if (r < 0)
		return r;
	/* a walk lists the subdirectories next: fetch their trees now, in
	 * parallel, once per directory node */
	pthread_mutex_lock(&fs->itable.lock);
	first = !dir->dirahead;
	dir->dirahead = true;
	pthread_mutex_unlock(&fs->itable.lock);
	if (first)
		mlfs_dirahead_children(fs->dirahead, t);
	/* the tree is immutable and freed only with the node, which the
	 * kernel keeps while the directory is open: list it in place */
	h->tree = t;
	h->n = t->n;
	return 0;
}

void mlfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	struct dirh *h = NULL;
	size_t cap = 0;
	int r;

	if (!n) {
		r = -ESTALE;
		goto out;
	}
	if (n->type != MLFS_ENTRY_DIR) {
		r = -ENOTDIR;
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		r = -ENOMEM;
		goto out;
	}
	h->node = n;
	h->attrs = -1;
	if (n->kind == MLFS_NODE_ROOT)
		r = list_root(fs, h, &cap);
	else if (n->kind == MLFS_NODE_NS)
		r = list_ns(fs, n, h, &cap);
	else if (n->kind == MLFS_NODE_WT)
		r = list_wt(fs, n, h, &cap);
	else
		r = list_tree(fs, n, h);
	if (r < 0) {
		r = mlfs_fs_damage(fs, n, NULL, "list", r);
		goto out;
	}
	fi->fh = (uintptr_t)h;
	/* a version's listing never changes; namespaces do */
	fi->cache_readdir = n->kind != MLFS_NODE_ROOT &&
			    n->kind != MLFS_NODE_NS &&
			    n->kind != MLFS_NODE_WT;
	fi->keep_cache = fi->cache_readdir;
	h = NULL;
out:
	dirh_free(h);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
		       size_t size, off_t off, struct fuse_file_info *fi,
		       bool plus)
{
	struct mlfs_fs *fs = fs_of(req);
	struct dirh *h = (struct dirh *)(uintptr_t)fi->fh;
	char *buf = NULL;
	size_t used = 0;
	int r = 0;

	buf = malloc(size);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (plus && h->tree && h->attrs < 0)
		h->attrs = rdplus_want_attrs(fs, h->node);
	/* offsets: 1 after ".", 2 after "..", i + 3 after entry i */
	for (size_t i = off < 0 ? 0 : (size_t)off; i < h->n + 2; i++) {
		struct fuse_entry_param e;
		const char *name;
		size_t k;

		memset(&e, 0, sizeof(e));
		if (i < 2) {
			name = i ? ".." : ".";
			e.attr.st_ino = i ? (h->node->parent_ino ?
					     h->node->parent_ino : FUSE_ROOT_ID)
					  : h->node->ino;
			e.attr.st_mode = S_IFDIR;
		} else if (h->tree) {
			const struct mlfs_entry *ent = &h->tree->e[i - 2];

			name = ent->name;
			e.attr.st_mode = ent->type == MLFS_ENTRY_DIR ? S_IFDIR :
					 ent->type == MLFS_ENTRY_SYMLINK ?
					 S_IFLNK : S_IFREG;
			if (plus && h->attrs) {
				r = mlfs_fs_lookup_entry(fs, h->node, ent, &e);
				if (r < 0)
					goto out;
			} else {
				/* names only: e.ino 0 tells the kernel to
				 * build no inode (and count no lookup) */
				e.attr.st_ino = mlfs_itable_ino(h->node->ino,
								name, NULL);
			}
		} else {
			const struct dent *d = &h->d[i - 2];

			name = d->name;
			e.attr.st_ino = d->ino;
			e.attr.st_mode = d->type;
			if (plus) {
				r = mlfs_fs_lookup(fs, h->node, name, &e);
				if (r == 1 || r == -ENOENT) {
					/* vanished since opendir: skip */
					r = 0;
					continue;
				}
				if (r < 0) {
					r = mlfs_fs_damage(fs, h->node, name,
							   "lookup", r);
					goto out;
				}
			}
		}
		if (plus)
			k = fuse_add_direntry_plus(req, buf + used,
						   size - used, name, &e,
						   (off_t)i + 1);
		else
			k = fuse_add_direntry(req, buf + used, size - used,
					      name, &e.attr, (off_t)i + 1);
		if (k > size - used) {
			/* did not fit: undo the lookup it counted */
			if (plus && e.ino)
				mlfs_itable_forget(&fs->itable, e.ino, 1);
			break;
		}
		used += k;
	}
out:
	/* a failure after some entries still returns those entries */
	if (r < 0 && !used)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void mlfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void mlfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void mlfs_op_releasedir(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
			struct fuse_file_info *fi)
{
	dirh_free((struct dirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}
