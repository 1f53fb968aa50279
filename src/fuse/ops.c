/*
 * ops.c - the low-level FUSE callbacks and the mlfs_fuse_ops table. Each
 * callback ends in one fuse_reply_*; most hand the request on: names to
 * lookup.c, listings to dir.c, files of versions to read.c, working trees
 * (the writable branch heads) to wt.c, extended attributes of versions to
 * xattr.c. Writes anywhere but a working tree are refused with EROFS.
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
#include "mlfs/worktree.h"
#include "ops.h"

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
	mlfs_fs_stat(fs, n, &st);
	fuse_reply_attr(req, &st, mlfs_fs_attr_timeout(n));
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
		     mode_t mode, dev_t rdev)
{
	struct mlfs_node *p = node_of(req, parent);

	if (p && p->kind == MLFS_NODE_WT)
		mlfs_wt_op_mknod(req, p, name, mode, rdev);
	else
		refuse(req, p);
}

/* mkdir MNT/<ns>: a namespace, kept in the working trees' database
 * until a repository is made in it (namespaces exist through their
 * repositories in the store). */
static void mkdir_ns(fuse_req_t req, const char *name)
{
	struct mlfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	int r;

	if (mlfs_fs_ns_exists(fs, name) == 0) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	r = mlfs_work_ns_set(fs->work, name, true);
	if (r == 0)
		r = mlfs_fs_lookup(fs, node_of(req, FUSE_ROOT_ID), name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* rmdir MNT/<ns>: only of a namespace made by mkdir with no repository
 * in it yet. */
static void rmdir_ns(fuse_req_t req, const char *name)
{
	struct mlfs_fs *fs = fs_of(req);
	char **v = NULL;
	size_t n = 0;
	bool made = false;
	int r = mlfs_work_ns_list(fs->work, &v, &n);

	for (size_t i = 0; r == 0 && i < n; i++)
		made |= !strcmp(v[i], name);
	mlfs_strv_free(v, n);
	if (r == 0 && !made)
		r = mlfs_fs_ns_exists(fs, name) == 0 ? -EPERM : -ENOENT;
	if (r == 0) {
		struct mlfs_repo *repos = NULL;
		size_t nr = 0;

		r = mlfs_repo_list(fs->store, &repos, &nr);
		for (size_t i = 0; r == 0 && i < nr; i++)
			if (!strcmp(repos[i].ns, name))
				r = -ENOTEMPTY;
		free(repos);
	}
	if (r == 0)
		r = mlfs_work_ns_set(fs->work, name, false);
	fuse_reply_err(req, -r);
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
	/* "name@ref" names a version or a branch, never a new repository */
	if (mlfs_name_check(name, &why) < 0) {
		fuse_reply_err(req, EINVAL);
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
	else if (p && p->kind == MLFS_NODE_ROOT && fs_of(req)->work)
		rmdir_ns(req, name);
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
		mlfs_op_wt_setxattr(req, n, name, value, size, flags);
	else
		refuse(req, n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_op_wt_getxattr(req, n, name, size);
	else
		mlfs_op_getxattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_op_wt_listxattr(req, n, size);
	else
		mlfs_op_listxattr(req, ino, size);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct mlfs_node *n = node_of(req, ino);

	if (n && n->kind == MLFS_NODE_WT)
		mlfs_op_wt_removexattr(req, n, name);
	else
		refuse(req, n);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct mlfs_fs *fs = userdata;

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
	/* No OPEN/RELEASE round trip per file: the first open of a
	 * version's file answers ENOSYS, which the kernel takes for "every
	 * open succeeds" on this connection, for every file: so only where
	 * no file needs an open of its own, i.e. without working trees
	 * (their opens pick data files and passthrough). Reads then come
	 * with fh 0 and find the node's state (read.c). */
	fs->no_open = !fs->work && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	/* No OPENDIR/RELEASEDIR per directory: answered with ENOSYS, every
	 * directory is opened with no request and the kernel keeps its
	 * listing in its readdir cache (dir.c keeps it right) */
	fs->no_opendir = conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT;
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
