/*
 * ops.c - the low-level FUSE callbacks. Layout: / lists namespaces,
 * /<ns> lists <name> and <name>@<ref>, and any ref form the CLI accepts
 * resolves on lookup. Every node below a version is immutable (inode.c),
 * so entries, attributes and data get long kernel timeouts and
 * keep_cache; only names that can move (branches, tags, short ids)
 * expire quickly. Each callback ends in one fuse_reply_* at its `out:`
 * label. Here: lookups, attributes, the read-only refusals and the
 * mlfs_fuse_ops table; open files are in read.c, listings in dir.c,
 * extended attributes in xattr.c.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "ops.h"

/* st_blksize: big enough that cp and Python buffer 1 MiB per read(2) */
#define BLKSIZE (1024 * 1024)

void mlfs_fs_log(struct mlfs_fs *fs, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ mlfs: ", &tm);
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k
					      : sizeof(line) - n - 2;
	line[n++] = '\n';
	/* one write per line, O_APPEND: lines from threads never interleave */
	if (write(fs->log_fd, line, n) < 0)
		return; /* nowhere left to report it */
}

int mlfs_fs_damage(struct mlfs_fs *fs, const struct mlfs_node *n,
		   const char *name, const char *op, int r)
{
	char path[1024];

	if (r != -EIO && r != -EBADMSG)
		return r;
	mlfs_itable_path(&fs->itable, n, path, sizeof(path));
	mlfs_fs_log(fs, "%s '%s%s%s': %s%s%s", op, path,
		    name && *path ? "/" : "", name ? name : "",
		    strerror(EIO), *mlfs_error_detail() ? ": " : "",
		    mlfs_error_detail());
	return -EIO;
}

static void node_stat(const struct mlfs_fs *fs, const struct mlfs_node *n,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = BLKSIZE;
	st->st_mtim.tv_sec = n->mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = n->mtime_ns % 1000000000;
	if (st->st_mtim.tv_nsec < 0) {
		st->st_mtim.tv_sec--;
		st->st_mtim.tv_nsec += 1000000000;
	}
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
static double attr_timeout(const struct mlfs_node *n)
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
	node_stat(fs, n, &e->attr);
	e->attr_timeout = attr_timeout(n);
	e->entry_timeout = entry_timeout(n);
}

/* A namespace made by mkdir that holds no repository yet? */
static bool new_ns_has(struct mlfs_fs *fs, const char *ns)
{
	bool found = false;

	pthread_mutex_lock(&fs->itable.lock);
	for (size_t i = 0; i < fs->n_new_ns && !found; i++)
		found = !strcmp(fs->new_ns[i], ns);
	pthread_mutex_unlock(&fs->itable.lock);
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
	r = mlfs_refspec_parse(spec_s, false, &spec, &why);
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

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *p = mlfs_itable_get(&fs->itable, parent);
	struct fuse_entry_param e;
	int r;

	if (!p) {
		r = -ESTALE;
		goto out;
	}
	r = mlfs_fs_lookup(fs, p, name, &e);
	if (r < 0)
		r = mlfs_fs_damage(fs, p, name, "lookup", r);
	if (r == 1) {
		/* absent from an immutable tree: let the kernel remember */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = MLFS_TIMEOUT_IMMUTABLE;
		r = 0;
	}
	if (r == 0 && e.ino && !S_ISDIR(e.attr.st_mode))
		mlfs_dir_saw_lookup(fs, p);
out:
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mlfs_itable_forget(&fs_of(req)->itable, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct mlfs_fs *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		mlfs_itable_forget(&fs->itable, forgets[i].ino,
				   forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi MLFS_UNUSED)
{
	struct mlfs_fs *fs = fs_of(req);
	struct mlfs_node *n = mlfs_itable_get(&fs->itable, ino);
	struct stat st;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == MLFS_NODE_WT) {
		mlfs_wt_op_getattr(req, n);
		return;
	}
	node_stat(fs, n, &st);
	fuse_reply_attr(req, &st, attr_timeout(n));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mlfs_node *n = mlfs_itable_get(&fs_of(req)->itable, ino);

	if (!n)
		fuse_reply_err(req, ESTALE);
	else if (n->kind == MLFS_NODE_WT)
		mlfs_wt_op_readlink(req, n);
	else if (n->type != MLFS_ENTRY_SYMLINK || !n->target)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->target);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED)
{
	struct mlfs_fs *fs = fs_of(req);
	struct statvfs sv;
	uint64_t packs = 0, db = 0;
	int r = mlfs_store_usage(fs->store, &packs, &db);

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	if (fs->work && statvfs(mlfs_store_dir(fs->store), &sv) == 0) {
		/* working trees are written into the store's file system:
		 * its free space is theirs */
		sv.f_namemax = 255;
		sv.f_flag &= ~(unsigned long)ST_RDONLY;
		fuse_reply_statfs(req, &sv);
		return;
	}
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	/* the store's bytes on disk; nothing is free: versions are
	 * read-only, like squashfs */
	sv.f_blocks = (packs + db + 4095) / 4096;
	pthread_mutex_lock(&fs->itable.lock);
	sv.f_files = fs->itable.count;
	pthread_mutex_unlock(&fs->itable.lock);
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* ---- writes: into working trees; versions are read-only (EROFS) ---- */

static struct mlfs_node *node_of(fuse_req_t req, fuse_ino_t ino)
{
	return mlfs_itable_get(&fs_of(req)->itable, ino);
}

/* Not a working tree: EROFS, or ESTALE for a node the kernel lost. */
static void refuse(fuse_req_t req, const struct mlfs_node *n)
{
	fuse_reply_err(req, n ? EROFS : ESTALE);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi MLFS_UNUSED)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_setattr(req, n, attr, to_set);
	else
		refuse(req, n);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev MLFS_UNUSED)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_mknod(req, p, name, mode);
	else
		refuse(req, p);
}

/* mkdir MNT/<ns>: a namespace, held in memory until a repository is
 * made in it (namespaces exist through their repositories). */
static void mkdir_ns(fuse_req_t req, const char *name)
{
	struct mlfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	const char *why;
	char **nv, *copy;
	int r;

	if (mlfs_name_check(name, &why) < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (ns_exists(fs->store, name) == 0 || new_ns_has(fs, name)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	copy = strdup(name);
	pthread_mutex_lock(&fs->itable.lock);
	nv = copy ? realloc(fs->new_ns, (fs->n_new_ns + 1) * sizeof(*nv))
		  : NULL;
	if (nv) {
		fs->new_ns = nv;
		nv[fs->n_new_ns++] = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&fs->itable.lock);
	free(copy);
	if (!nv) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = mlfs_fs_lookup(fs, node_of(req, FUSE_ROOT_ID), name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* mkdir MNT/<ns>/<name>: a new repository, its main branch writable. */
static void mkdir_repo(fuse_req_t req, struct mlfs_node *ns, const char *name)
{
	struct mlfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct mlfs_repo repo;
	const char *why;
	int r;

	if (!fs->work) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (strchr(name, '@') || mlfs_name_check(name, &why) < 0) {
		fuse_reply_err(req, strchr(name, '@') ? EEXIST : EINVAL);
		return;
	}
	r = mlfs_repo_create(fs->wstore, ns->name, name, &repo);
	if (r == 0)
		r = mlfs_fs_lookup(fs, ns, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_mkdir(req, p, name, mode);
	else if (p && p->kind == MLFS_NODE_ROOT && fs_of(req)->work)
		mkdir_ns(req, name);
	else if (p && p->kind == MLFS_NODE_NS)
		mkdir_repo(req, p, name);
	else
		refuse(req, p);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_remove(req, p, name, false);
	else
		refuse(req, p);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_remove(req, p, name, true);
	else if (p && (p->kind == MLFS_NODE_NS || p->kind == MLFS_NODE_ROOT))
		/* deleting repositories and their versions: not here */
		fuse_reply_err(req, EPERM);
	else
		refuse(req, p);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_symlink(req, link, p, name);
	else
		refuse(req, p);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct mlfs_node *p = node_of(req, parent);
	struct mlfs_node *np = node_of(req, newparent);

	if (p && np && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_rename(req, p, name, np, newname, flags);
	else if (p && np && np->kind == MLFS_NODE_WT)
		fuse_reply_err(req, EXDEV);
	else
		refuse(req, p && np ? p : NULL);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct mlfs_node *n = node_of(req, ino);
	struct mlfs_node *np = node_of(req, newparent);

	if (n && np && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_link(req, n, np, newname);
	else if (n && np && np->kind == MLFS_NODE_WT)
		fuse_reply_err(req, EXDEV);
	else
		refuse(req, n && np ? n : NULL);
}

/* File handles of working-tree opens carry a tag in bit 0 (allocations
 * are aligned), so a read of a version costs no node lookup. */
#define WT_FH 1u

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_open(req, n, fi);
	else
		mlfs_op_open(req, ino, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_create(req, p, name, mode, fi);
	else
		refuse(req, p);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	if (fi->fh & WT_FH) {
		struct fuse_file_info f2 = *fi;

		f2.fh &= ~(uint64_t)WT_FH;
		mlfs_wt_op_read(req, ino, size, off, &f2);
	} else {
		mlfs_op_read(req, ino, size, off, fi);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
		     const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fuse_file_info f2 = *fi;

	if (!(fi->fh & WT_FH)) {
		fuse_reply_err(req, EBADF); /* versions open read-only */
		return;
	}
	f2.fh &= ~(uint64_t)WT_FH;
	mlfs_wt_op_write(req, buf, size, off, &f2);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (fi->fh & WT_FH) {
		struct fuse_file_info f2 = *fi;

		f2.fh &= ~(uint64_t)WT_FH;
		mlfs_wt_op_release(req, &f2);
	} else {
		mlfs_op_release(req, ino, fi);
	}
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
		     int datasync, struct fuse_file_info *fi)
{
	struct fuse_file_info f2 = *fi;

	if (!(fi->fh & WT_FH)) {
		fuse_reply_err(req, 0); /* nothing of a version to flush */
		return;
	}
	f2.fh &= ~(uint64_t)WT_FH;
	mlfs_wt_op_fsync(req, datasync, &f2);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino,
			int datasync MLFS_UNUSED,
			struct fuse_file_info *fi MLFS_UNUSED)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_fsyncdir(req, n);
	else
		fuse_reply_err(req, n ? 0 : ESTALE);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino MLFS_UNUSED,
			 int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	struct fuse_file_info f2 = *fi;

	if (!(fi->fh & WT_FH)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	f2.fh &= ~(uint64_t)WT_FH;
	mlfs_wt_op_fallocate(req, mode, offset, length, &f2);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_setxattr(req, n, name, value, size, flags);
	else
		refuse(req, n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_getxattr(req, n, name, size);
	else
		mlfs_op_getxattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_listxattr(req, n, size);
	else
		mlfs_op_listxattr(req, ino, size);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_wt_op_removexattr(req, n, name);
	else
		refuse(req, n);
}

static void op_init(void *userdata MLFS_UNUSED, struct fuse_conn_info *conn)
{
	/* reads of up to 1 MiB (libfuse asks for max_pages = 256), and as
	 * much kernel read-ahead as the kernel grants; daemon.c raises the
	 * bdi's read_ahead_kb after mounting */
	conn->max_readahead = 16u * 1024 * 1024;
	/* writes into working trees of up to 1 MiB per request (what
	 * max_pages allows) instead of 128 KiB */
	conn->max_write = 1u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* node contents never change: nothing to invalidate on mtime */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	/* we reply from memory with writev; splice would only add a copy */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
				  FUSE_CAP_SPLICE_READ);
}

const struct fuse_lowlevel_ops mlfs_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.fsync = op_fsync,
	.fsyncdir = op_fsyncdir,
	.opendir = mlfs_op_opendir,
	.readdir = mlfs_op_readdir,
	.readdirplus = mlfs_op_readdirplus,
	.releasedir = mlfs_op_releasedir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.create = op_create,
	.fallocate = op_fallocate,
};
