/*
 * dir.c - directory listings, read by READDIR with no OPENDIR before it
 * (the kernel's no-opendir: every directory is opened with no request and
 * the kernel keeps its listing in its readdir cache). A version's tree
 * never changes: it is listed in place, by index. The root's namespaces,
 * a namespace's <name>[@<ref>] entries and a working tree's directories
 * change: a listing of one is built when a reader starts at offset 0 and
 * read on by cookie (listing.c), so a listing built again in between
 * neither skips nor repeats an entry both hold. Readdirplus gives
 * attributes or names only as the walker's lookups suggest. Relies on
 * ops.c for lookups (ops.h), inode.c for trees, dirahead.c for walks and
 * notify.c for the kernel's cache.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlfs/alias.h"
#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/worktree.h"
#include "listing.h"
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

/* A new listing of @dir starts: give attributes with its entries
 * (@dir->listing_attrs)? */
static void rdplus_choose(struct mlfs_fs *fs, struct mlfs_node *dir)
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
	dir->listing_attrs = attrs;
	pthread_mutex_unlock(&fs->itable.lock);
}

/* Offsets: 1 after ".", 2 after "..", then a version's entry i is
 * followed by i + 3 and a changing listing's entry by its cookie
 * (listing.h). */
#define OFF_ENTRIES LISTING_OFF_ENTRIES

static int list_root(struct mlfs_fs *fs, struct mlfs_listing *l)
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
		r = mlfs_listing_add(l, v[i],
				     mlfs_itable_ino(FUSE_ROOT_ID, v[i], NULL),
				     S_IFDIR);
	for (size_t i = 0; r >= 0 && i < nmade; i++) {
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(v[k], made[i]);
		if (!dup)
			r = mlfs_listing_add(
				l, made[i],
				mlfs_itable_ino(FUSE_ROOT_ID, made[i], NULL),
				S_IFDIR);
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
			struct mlfs_listing *l)
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
		r = mlfs_listing_add(l, comp,
				     mlfs_itable_ino(dir->ino, comp,
						     &v[i].commit), S_IFDIR);
	}
	free(v);
	return r;
}

static int list_ns(struct mlfs_fs *fs, struct mlfs_node *dir,
		   struct mlfs_listing *l)
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
			r = mlfs_listing_add(l, rp->name,
					     mlfs_itable_ino(dir->ino, rp->name,
							     NULL), S_IFDIR);
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
			r = mlfs_listing_add(l, comp,
					     mlfs_itable_ino(dir->ino, comp,
							     &f->commit),
					     S_IFDIR);
		}
		if (r >= 0)
			r = list_aliases(fs, dir, rp, refs, nrefs, l);
	}
	free(refs);
	free(repos);
	return r;
}

static mode_t wt_type(const struct mlfs_wt_attr *a)
{
	if (a->type == MLFS_ENTRY_DIR)
		return S_IFDIR;
	if (a->type == MLFS_ENTRY_SYMLINK)
		return S_IFLNK;
	if (a->type == MLFS_WT_SPECIAL)
		return (mode_t)(a->mode & S_IFMT);
	return S_IFREG;
}

static int list_wt(struct mlfs_fs *fs, struct mlfs_node *dir,
		   struct mlfs_listing *l)
{
	struct mlfs_wt_dirent *v = NULL;
	size_t n = 0;
	int r = mlfs_fs_wt_listing(fs, dir, &v, &n);

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = mlfs_listing_add(l, v[i].name, v[i].attr.ino,
				     wt_type(&v[i].attr));
	mlfs_wt_dirents_free(v, n);
	return r;
}

/*
 * The listing of @dir (root, namespace or working tree) for a READDIR at
 * @off, with a reference for the caller: a new one at offset 0 (or when
 * none is kept), which @dir keeps for the readers that go on.
 */
static int listing_get(struct mlfs_fs *fs, struct mlfs_node *dir, off_t off,
		       struct mlfs_listing **out)
{
	struct mlfs_listing *l = NULL, *old;
	int r;

	if (off > 0) {
		pthread_mutex_lock(&fs->itable.lock);
		l = dir->listing;
		if (l)
			atomic_fetch_add(&l->refs, 1);
		pthread_mutex_unlock(&fs->itable.lock);
		if (l) {
			*out = l;
			return 0;
		}
	}
	l = mlfs_listing_new();
	if (!l)
		return -ENOMEM;
	if (dir->kind == MLFS_NODE_ROOT)
		r = list_root(fs, l);
	else if (dir->kind == MLFS_NODE_NS)
		r = list_ns(fs, dir, l);
	else
		r = list_wt(fs, dir, l);
	if (r < 0) {
		mlfs_listing_put(l);
		return r;
	}
	mlfs_listing_seal(l);
	atomic_fetch_add(&l->refs, 1); /* the caller's and @dir's */
	pthread_mutex_lock(&fs->itable.lock);
	old = dir->listing;
	dir->listing = l;
	pthread_mutex_unlock(&fs->itable.lock);
	mlfs_listing_put(old);
	*out = l;
	return 0;
}

/* A reader reached the end of @l, @dir's listing: @dir lets it go (the
 * next reader starts a new one), and the kernel forgets its copy of a
 * namespace or the root, which change with no request through the mount
 * (the CLI's tags, branches and imports): every listing asks again, as
 * with an OPENDIR. Sent before the reply that ends the listing, so no
 * reader after this one finds the copy: the kernel holds no lock of the
 * directory's cache while it waits for a READDIR, and dropping its pages
 * (a cache without them is read again) waits for nothing here. A working
 * tree's changes come through the mount, or the control thread
 * invalidates them (mlfs_fs_wt_invalidate). */
static void listing_done(struct mlfs_fs *fs, struct mlfs_node *dir,
			 struct mlfs_listing *l)
{
	bool mine;

	pthread_mutex_lock(&fs->itable.lock);
	mine = dir->listing == l;
	if (mine)
		dir->listing = NULL;
	pthread_mutex_unlock(&fs->itable.lock);
	if (mine)
		mlfs_listing_put(l);
	if (dir->kind != MLFS_NODE_WT && atomic_load(&fs->no_opendir))
		mlfs_inval_inode_now(fs->se, dir->nodeid);
}

/* A version's tree, and at offset 0 a new walk of it: queue its
 * subdirectories' trees (once per node) and choose readdirplus
 * attributes. */
static int tree_get(struct mlfs_fs *fs, struct mlfs_node *dir, off_t off,
		    bool plus, const struct mlfs_tree **out, bool *attrs)
{
	const struct mlfs_tree *t;
	bool first;
	int r = mlfs_itable_tree(&fs->itable, fs->store, dir, &t);

	if (r < 0)
		return r;
	if (off == 0) {
		pthread_mutex_lock(&fs->itable.lock);
		first = !dir->dirahead;
		dir->dirahead = true;
		pthread_mutex_unlock(&fs->itable.lock);
		/* a walk lists the subdirectories next: fetch their trees
		 * now, in parallel */
		if (first)
			mlfs_dirahead_children(fs->dirahead, t);
		if (plus)
			rdplus_choose(fs, dir);
	}
	pthread_mutex_lock(&fs->itable.lock);
	*attrs = dir->listing_attrs;
	pthread_mutex_unlock(&fs->itable.lock);
	/* the tree is immutable and freed only with the node, which the
	 * kernel keeps while the directory is open: list it in place */
	*out = t;
	return 0;
}

void mlfs_op_opendir(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);

	if (atomic_load(&fs->no_opendir)) {
		/* from now on every directory is opened with no request */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->type != MLFS_ENTRY_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	/* what no-opendir gives every directory: a version's listing never
	 * changes; the others are listed again at each opendir */
	fi->fh = 0;
	fi->cache_readdir = n->kind != MLFS_NODE_ROOT &&
			    n->kind != MLFS_NODE_NS &&
			    n->kind != MLFS_NODE_WT;
	fi->keep_cache = fi->cache_readdir;
	fuse_reply_open(req, fi);
}

struct rdbuf {
	fuse_req_t req;
	bool plus;
	char *buf;
	size_t size, used;
};

/* Add @name with @e and offset @next to @b; false when it is full. A
 * readdirplus entry counts a lookup of e->ino, undone when it does not
 * fit. */
static bool rdbuf_add(struct mlfs_fs *fs, struct rdbuf *b, const char *name,
		      const struct fuse_entry_param *e, uint64_t next)
{
	size_t k;

	if (b->plus)
		k = fuse_add_direntry_plus(b->req, b->buf + b->used,
					   b->size - b->used, name, e,
					   (off_t)next);
	else
		k = fuse_add_direntry(b->req, b->buf + b->used,
				      b->size - b->used, name, &e->attr,
				      (off_t)next);
	if (k > b->size - b->used) {
		if (b->plus && e->ino)
			mlfs_itable_forget(&fs->itable, e->ino, 1);
		return false;
	}
	b->used += k;
	return true;
}

/* "." and ".." from @off on; false when @b is full. */
static bool add_dots(struct mlfs_fs *fs, struct rdbuf *b,
		     const struct mlfs_node *dir, off_t off)
{
	for (off_t i = off; i < OFF_ENTRIES; i++) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.attr.st_ino = i ? (dir->parent_ino ? dir->parent_ino :
					FUSE_ROOT_ID) : dir->ino;
		e.attr.st_mode = S_IFDIR;
		if (!rdbuf_add(fs, b, i ? ".." : ".", &e, (uint64_t)i + 1))
			return false;
	}
	return true;
}

static int add_tree(struct mlfs_fs *fs, struct rdbuf *b,
		    struct mlfs_node *dir, const struct mlfs_tree *t,
		    off_t off, bool attrs)
{
	size_t first = off > OFF_ENTRIES ? (size_t)off - OFF_ENTRIES : 0;

	for (size_t i = first; i < t->n; i++) {
		const struct mlfs_entry *ent = &t->e[i];
		struct fuse_entry_param e;
		int r;

		memset(&e, 0, sizeof(e));
		e.attr.st_mode = ent->type == MLFS_ENTRY_DIR ? S_IFDIR :
				 ent->type == MLFS_ENTRY_SYMLINK ? S_IFLNK :
				 S_IFREG;
		if (b->plus && attrs) {
			r = mlfs_fs_lookup_entry(fs, dir, ent, &e);
			if (r < 0)
				return r;
		} else {
			/* names only: e.ino 0 tells the kernel to build no
			 * inode (and count no lookup) */
			e.attr.st_ino = mlfs_itable_ino(dir->ino, ent->name,
							NULL);
		}
		if (!rdbuf_add(fs, b, ent->name, &e, i + OFF_ENTRIES + 1))
			break;
	}
	return 0;
}

/* Entries of @l after @off. */
static int add_listing(struct mlfs_fs *fs, struct rdbuf *b,
		       struct mlfs_node *dir, const struct mlfs_listing *l,
		       off_t off)
{
	size_t i = off > OFF_ENTRIES ? mlfs_listing_seek(l, (uint64_t)off) : 0;

	for (; i < l->n; i++) {
		const struct mlfs_dent *d = &l->d[i];
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->ino;
		e.attr.st_mode = d->type;
		if (b->plus) {
			int r = mlfs_fs_lookup(fs, dir, d->name, &e);

			if (r == 1 || r == -ENOENT)
				continue; /* gone since the listing */
			if (r < 0)
				return mlfs_fs_damage(fs, dir, d->name,
						      "lookup", r);
		}
		if (!rdbuf_add(fs, b, d->name, &e, d->cookie))
			break;
	}
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, bool plus)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	struct rdbuf b = { .req = req, .plus = plus, .size = size };
	struct mlfs_listing *l = NULL;
	const struct mlfs_tree *t = NULL;
	bool attrs = false;
	int r;

	if (!n) {
		r = -ESTALE;
		goto out;
	}
	if (n->type != MLFS_ENTRY_DIR) {
		r = -ENOTDIR;
		goto out;
	}
	if (off < 0) {
		r = -EINVAL;
		goto out;
	}
	/* what is listed first: a failure is the reply to the first READDIR,
	 * not "." and ".." alone */
	if (n->kind == MLFS_NODE_ROOT || n->kind == MLFS_NODE_NS ||
	    n->kind == MLFS_NODE_WT)
		r = listing_get(fs, n, off, &l);
	else
		r = tree_get(fs, n, off, plus, &t, &attrs);
	if (r < 0) {
		r = mlfs_fs_damage(fs, n, NULL, "list", r);
		goto out;
	}
	b.buf = malloc(size);
	if (!b.buf) {
		r = -ENOMEM;
		goto out;
	}
	if (!add_dots(fs, &b, n, off))
		goto out;
	if (t)
		r = add_tree(fs, &b, n, t, off, attrs);
	else
		r = add_listing(fs, &b, n, l, off);
out:
	/* an empty reply is the end, to the kernel */
	if (l && r >= 0 && !b.used)
		listing_done(fs, n, l);
	mlfs_listing_put(l);
	/* a failure after some entries still returns those entries */
	if (r < 0 && !b.used)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

void mlfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		     off_t off, struct fuse_file_info *fi MLFS_UNUSED)
{
	do_readdir(req, ino, size, off, false);
}

void mlfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off, struct fuse_file_info *fi MLFS_UNUSED)
{
	do_readdir(req, ino, size, off, true);
}

void mlfs_op_releasedir(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
			struct fuse_file_info *fi MLFS_UNUSED)
{
	fuse_reply_err(req, 0);
}
