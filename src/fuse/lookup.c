/*
 * lookup.c - what a name means in the mount: / holds namespaces, /<ns>
 * holds <name> and <name>@<ref> (any ref form the CLI accepts resolves
 * on lookup: a branch head is its working tree, wt.c, anything else a
 * version), and below a version its immutable tree. Every node below a
 * version is immutable (inode.c), so entries and attributes get long
 * kernel timeouts; only names that can move (branches, tags, short ids)
 * expire quickly. Used by the callbacks (ops.c) and listings (dir.c).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/worktree.h"
#include "ops.h"

/* st_blksize: big enough that cp and Python buffer 1 MiB per read(2) */
#define BLKSIZE (1024 * 1024)

void mlfs_fs_stat(const struct mlfs_fs *fs, const struct mlfs_node *n,
		  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = BLKSIZE;
	st->st_mtim = mlfs_ns_to_timespec(n->mtime_ns);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
	switch (n->type) {
	case MLFS_ENTRY_DIR:
		st->st_mode = S_IFDIR | (n->mode & 07777);
		st->st_nlink = 2;
		break;
	case MLFS_ENTRY_SYMLINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)n->size;
		break;
	case MLFS_ENTRY_FILE:
	default:
		st->st_mode = S_IFREG | (n->mode & 07777);
		st->st_nlink = 1;
		st->st_size = (off_t)n->size;
		st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
		break;
	}
}

/* Attribute timeout of @n: listings can change, versions cannot. */
double mlfs_fs_attr_timeout(const struct mlfs_node *n)
{
	return n->kind == MLFS_NODE_ROOT || n->kind == MLFS_NODE_NS ?
	       MLFS_TIMEOUT_LISTING : MLFS_TIMEOUT_IMMUTABLE;
}

/* Entry (name -> node) timeout of @n within its parent. */
static double entry_timeout(const struct mlfs_node *n)
{
	switch (n->kind) {
	case MLFS_NODE_NS:
		return MLFS_TIMEOUT_LISTING;
	case MLFS_NODE_VERSION:
		return n->movable ? MLFS_TIMEOUT_MOVABLE
				      : MLFS_TIMEOUT_IMMUTABLE;
	default:
		return MLFS_TIMEOUT_IMMUTABLE;
	}
}

static void fill_entry(const struct mlfs_fs *fs, const struct mlfs_node *n,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->nodeid;
	e->generation = 0; /* node ids are never reused */
	mlfs_fs_stat(fs, n, &e->attr);
	e->attr_timeout = mlfs_fs_attr_timeout(n);
	e->entry_timeout = entry_timeout(n);
}

/* A namespace made by mkdir that holds no repository yet? */
static bool new_ns_has(struct mlfs_fs *fs, const char *ns)
{
	char **v = NULL;
	size_t n = 0;
	bool found = false;

	if (!fs->work || mlfs_work_ns_list(fs->work, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = !strcmp(v[i], ns);
	mlfs_strv_free(v, n);
	return found;
}

static int ns_exists(struct mlfs_store *s, const char *ns)
{
	char **v = NULL;
	size_t n = 0;
	int r = mlfs_namespace_list(s, &v, &n);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], ns))
			r = 0;
	mlfs_strv_free(v, n);
	return r;
}

/*
 * Can what @spec names come to mean another commit? Branches move, tags
 * can be deleted and made again elsewhere, and a short id can become
 * ambiguous; only a full commit id, and a date in the past, always
 * resolve to the same commit ("~N" of either too). Stricter than
 * res->immutable, which trusts tags.
 */
static bool name_can_move(const struct mlfs_refspec *spec,
			  const struct mlfs_resolved *res)
{
	if (res->rev_kind == 'c')
		return strlen(spec->rev) != MLFS_ID_HEX_LEN;
	return !(spec->has_date && res->immutable);
}

/* Build the VERSION node for component @name ("<name>[@<rev>]") of
 * namespace @ns: parse it as the CLI would, resolve it, read the commit. */
static int version_template(struct mlfs_store *s, const char *ns,
			    const char *name, struct mlfs_node *tmpl)
{
	char spec_s[2 * MLFS_NAME_MAX + 300];
	struct mlfs_refspec spec;
	struct mlfs_resolved res;
	struct mlfs_commit c;
	const char *why;
	int r;

	memset(&spec, 0, sizeof(spec));
	memset(&c, 0, sizeof(c));
	if (strchr(name, '/') ||
	    (size_t)snprintf(spec_s, sizeof(spec_s), "%s/%s", ns, name) >=
		    sizeof(spec_s))
		return -ENOENT;
	r = mlfs_refspec_parse(spec_s, 0, &spec, &why);
	if (r < 0)
		return -ENOENT; /* not a name at all: nothing by that name */
	r = mlfs_resolve(s, &spec, &res, NULL, NULL);
	if (r < 0) {
		r = r == -ENOTUNIQ || r == -EINVAL ? -ENOENT : r;
		goto out;
	}
	r = mlfs_commit_get(s, &res.commit, &c);
	if (r < 0)
		goto out;
	tmpl->name = (char *)name;
	tmpl->kind = MLFS_NODE_VERSION;
	tmpl->movable = name_can_move(&spec, &res);
	tmpl->commit = res.commit;
	tmpl->type = MLFS_ENTRY_DIR;
	tmpl->mode = 0755;
	tmpl->mtime_ns = c.time * 1000000000;
	tmpl->id = c.tree;
out:
	mlfs_commit_release(&c);
	mlfs_refspec_release(&spec);
	return r;
}

static void entry_template(const struct mlfs_node *parent,
			   const struct mlfs_entry *e, struct mlfs_node *tmpl)
{
	tmpl->name = (char *)e->name;
	tmpl->kind = MLFS_NODE_ENTRY;
	tmpl->commit = parent->commit;
	tmpl->type = e->type;
	tmpl->mode = e->mode;
	tmpl->mtime_ns = e->mtime_ns;
	tmpl->size = e->size;
	tmpl->id = e->id;
	tmpl->target = (char *)e->target;
}

int mlfs_fs_lookup(struct mlfs_fs *fs, struct mlfs_node *p, const char *name,
		   struct fuse_entry_param *e)
{
	struct mlfs_node tmpl, *n;
	const struct mlfs_tree *tree;
	const struct mlfs_entry *ent;
	int r;

	memset(&tmpl, 0, sizeof(tmpl));
	switch (p->kind) {
	case MLFS_NODE_ROOT:
		r = ns_exists(fs->store, name);
		if (r == -ENOENT && new_ns_has(fs, name))
			r = 0;
		if (r < 0)
			return r;
		tmpl.name = (char *)name;
		tmpl.kind = MLFS_NODE_NS;
		tmpl.type = MLFS_ENTRY_DIR;
		tmpl.mode = 0755;
		break;
	case MLFS_NODE_NS:
		r = mlfs_fs_wt_root(fs, p, p->name, name, e);
		if (r <= 0)
			return r;
		r = version_template(fs->store, p->name, name, &tmpl);
		if (r < 0)
			return r;
		break;
	case MLFS_NODE_WT:
		return mlfs_fs_wt_lookup(fs, p, name, e);
	default:
		if (p->type != MLFS_ENTRY_DIR)
			return -ENOTDIR;
		r = mlfs_itable_tree(&fs->itable, fs->store, p, &tree);
		if (r < 0)
			return r;
		ent = mlfs_tree_find(tree, name);
		if (!ent)
			return 1;
		entry_template(p, ent, &tmpl);
		break;
	}
	r = mlfs_itable_link(&fs->itable, p, &tmpl, &n);
	if (r < 0)
		return r;
	fill_entry(fs, n, e);
	return 0;
}

int mlfs_fs_lookup_entry(struct mlfs_fs *fs, struct mlfs_node *p,
			 const struct mlfs_entry *ent,
			 struct fuse_entry_param *e)
{
	struct mlfs_node tmpl, *n;
	int r;

	memset(&tmpl, 0, sizeof(tmpl));
	entry_template(p, ent, &tmpl);
	r = mlfs_itable_link(&fs->itable, p, &tmpl, &n);
	if (r < 0)
		return r;
	fill_entry(fs, n, e);
	return 0;
}

int mlfs_fs_ns_exists(struct mlfs_fs *fs, const char *ns)
{
	int r = ns_exists(fs->store, ns);

	return r == -ENOENT && new_ns_has(fs, ns) ? 0 : r;
}
