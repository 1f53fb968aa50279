/*
 * wt.c - the writable part of the mount: the head of each branch,
 * MNT/<ns>/<name> and MNT/<ns>/<name>@<branch>, is its working tree
 * (worktree.h). Nodes are found by (working tree, inode number), so hard
 * links and renames keep one node and one st_ino. Every change goes
 * through this kernel mount (one daemon per store), so the kernel's own
 * caches stay right and short timeouts are only a safety net. Files whose
 * bytes are still the stored content are read through the chunk path of
 * read.c (page cache kept); written files through their data file.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mlfs/names.h"
#include "mlfs/repo.h"
#include "mlfs/worktree.h"
#include "lineage.h"
#include "ops.h"
#include "passthrough.h"

#define BLKSIZE (1024 * 1024)
/* Entries and attributes of working trees: every change comes through
 * this mount, so the kernel's copy is right; kept short anyway. */
#define WT_TIMEOUT 1.0

/* One open of a working-tree file. */
struct wt_open {
	struct mlfs_wt_file *f;
	struct mlfs_ofile *of; /* chunk path, while the bytes are stored */
	bool write;
	uint64_t nodeid;
	struct mlfs_pt_open pt; /* how the kernel does its I/O */
	struct mlfs_lin_read *rd; /* lineage: stored bytes of the base */
	struct mlfs_lin_mark *mk; /* lineage: open for writing */
	bool fresh;               /* the job's first open of the file */
	bool pushable;            /* the stored bytes may be pushed into
				   * the page cache at the open (read.c) */
};

/* The requester's job changed @wt (lineage.h), when @r says it did. */
static int wrote(fuse_req_t req, struct mlfs_wt *wt, int r)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (r == 0)
		(void)mlfs_lin_wrote(fs_of(req)->lin, ctx->pid, ctx->uid, wt,
				     false);
	return r;
}

static void attr_to_stat(const struct mlfs_wt_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_nlink = a->nlink;
	st->st_blksize = BLKSIZE;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)(a->has_blocks ? a->blocks :
				   (a->size + 511) / 512);
	st->st_atim = mlfs_ns_to_timespec(a->atime_ns);
	st->st_mtim = mlfs_ns_to_timespec(a->mtime_ns);
	st->st_ctim = mlfs_ns_to_timespec(a->ctime_ns);
	switch ((int)a->type) {
	case MLFS_ENTRY_DIR:
		st->st_mode = S_IFDIR | (a->mode & 07777);
		st->st_size = 4096;
		st->st_blocks = 8;
		break;
	case MLFS_ENTRY_SYMLINK:
		st->st_mode = S_IFLNK | 0777;
		break;
	case MLFS_WT_SPECIAL:
		st->st_mode = a->mode;
		st->st_rdev = (dev_t)a->rdev;
		st->st_size = 0;
		st->st_blocks = 0;
		break;
	default:
		st->st_mode = S_IFREG | (a->mode & 07777);
		break;
	}
}

/* The node template of an inode of @wt. */
static void wt_template(struct mlfs_wt *wt, const char *name,
			const struct mlfs_wt_attr *a, const char *target,
			struct mlfs_node *tmpl)
{
	memset(tmpl, 0, sizeof(*tmpl));
	tmpl->name = (char *)name;
	tmpl->kind = MLFS_NODE_WT;
	tmpl->wt = wt;
	tmpl->ino = a->ino;
	tmpl->wt_gen = a->gen;
	tmpl->type = a->type;
	tmpl->mode = a->mode;
	tmpl->mtime_ns = a->mtime_ns;
	tmpl->size = a->size;
	if (a->in_store)
		tmpl->id = a->content;
	tmpl->target = (char *)target;
}

static int wt_link_target(struct mlfs_fs *fs, struct mlfs_node *p,
			  struct mlfs_wt *wt, const char *name,
			  const struct mlfs_wt_attr *a, const char *target,
			  struct fuse_entry_param *e)
{
	struct mlfs_node tmpl, *n;
	int r;

	wt_template(wt, name, a, target, &tmpl);
	r = mlfs_itable_link_wt(&fs->itable, p, &tmpl, &n);
	if (r < 0)
		return r;
	memset(e, 0, sizeof(*e));
	e->ino = n->nodeid;
	attr_to_stat(a, &e->attr);
	e->attr_timeout = WT_TIMEOUT;
	e->entry_timeout = WT_TIMEOUT;
	return 0;
}

static int wt_link(struct mlfs_fs *fs, struct mlfs_node *p, struct mlfs_wt *wt,
		   const char *name, const struct mlfs_wt_attr *a,
		   struct fuse_entry_param *e)
{
	return wt_link_target(fs, p, wt, name, a, NULL, e);
}

void mlfs_fs_wt_invalidate(struct mlfs_fs *fs, struct mlfs_wt *wt, bool wait)
{
	struct mlfs_itable *t = &fs->itable;
	struct mlfs_inval *j = mlfs_inval_new(fs->se);

	if (!j)
		return;
	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (struct mlfs_node *n = t->by_id[b]; n; n = n->id_next) {
			if (n->kind == MLFS_NODE_WT && n->wt == wt &&
			    mlfs_inval_add(j, n->nodeid, n->parent,
					   n->name) < 0)
				goto sent; /* the timeouts catch up */
		}
	}
sent:
	pthread_mutex_unlock(&t->lock);
	/* waited for, from the control thread: the kernel has forgotten it
	 * all when this returns */
	mlfs_inval_send(j, wait);
}

int mlfs_fs_wt_root(struct mlfs_fs *fs, struct mlfs_node *ns_node,
		    const char *ns, const char *comp,
		    struct fuse_entry_param *e)
{
	char name[MLFS_NAME_MAX + 1];
	const char *branch = NULL, *at = strchr(comp, '@'), *why;
	struct mlfs_wt_attr a;
	struct mlfs_wt *wt;
	struct mlfs_repo repo;
	struct mlfs_id head;
	int r;

	if (!fs->work)
		return 1;
	if (at) {
		if ((size_t)(at - comp) > MLFS_NAME_MAX)
			return 1;
		memcpy(name, comp, (size_t)(at - comp));
		name[at - comp] = '\0';
		branch = at + 1;
		/* a branch, by its plain name, and not hidden by a tag */
		if (mlfs_name_check(branch, &why) < 0)
			return 1;
	} else {
		if (strlen(comp) > MLFS_NAME_MAX)
			return 1;
		strcpy(name, comp);
	}
	if (mlfs_name_check(name, &why) < 0)
		return 1;
	r = mlfs_repo_get(fs->store, ns, name, &repo);
	if (r < 0)
		return r == -ENOENT ? 1 : r;
	if (branch) {
		if (mlfs_ref_get(fs->store, repo.id, MLFS_REF_TAG, branch,
				 &head) == 0)
			return 1;
		if (mlfs_ref_get(fs->store, repo.id, MLFS_REF_BRANCH, branch,
				 &head) < 0)
			return 1;
	}
	r = mlfs_wt_get(fs->work, ns, name, branch, &wt);
	if (r < 0)
		return r == -ENOENT ? 1 : r;
	r = mlfs_wt_refresh(wt);
	if (r == 1) {
		mlfs_fs_log(fs, "%s/%s: the branch moved; its working tree "
			    "(no edits) shows the new head", ns, comp);
		mlfs_fs_wt_invalidate(fs, wt, false);
	}
	r = mlfs_wt_root(wt, &a);
	if (r == 0)
		r = wt_link(fs, ns_node, wt, comp, &a, e);
	return r;
}

int mlfs_fs_wt_lookup(struct mlfs_fs *fs, struct mlfs_node *p,
		      const char *name, struct fuse_entry_param *e)
{
	struct mlfs_wt_attr a;
	char *target = NULL;
	int r = mlfs_wt_lookup(p->wt, p->ino, name, &a, &target);

	if (r == 0)
		r = wt_link_target(fs, p, p->wt, name, &a, target, e);
	free(target);
	return r;
}

/* Is @n the orphan of a discard (open files detached from its number,
 * which a restored entry now has under a new generation)? */
static bool orphan(struct mlfs_node *n)
{
	return n->type == MLFS_ENTRY_FILE &&
	       mlfs_wt_gen(n->wt, n->ino) != n->wt_gen;
}

/* The node's current attributes: from the working tree, or (an
 * unmaterialized tree's file) what the lookup saw; an orphan's are its
 * own bytes'. */
static int node_attr(struct mlfs_fs *fs, struct mlfs_node *n,
		     struct mlfs_wt_attr *a)
{
	int r;

	if (orphan(n))
		return mlfs_wt_orphan_getattr(n->wt, n->ino, n->wt_gen, a);
	r = mlfs_wt_getattr(n->wt, n->ino, a);

	if (r != -ENOENT)
		return r;
	if (mlfs_wt_materialized(n->wt))
		return -ENOENT; /* the inode is gone */
	memset(a, 0, sizeof(*a));
	a->ino = n->ino;
	pthread_mutex_lock(&fs->itable.lock);
	a->type = n->type;
	a->mode = n->mode;
	a->size = n->size;
	a->atime_ns = a->mtime_ns = n->mtime_ns;
	a->in_store = n->type == MLFS_ENTRY_FILE;
	a->content = n->id;
	pthread_mutex_unlock(&fs->itable.lock);
	a->ctime_ns = mlfs_wt_base_ctime(n->wt, a->mtime_ns);
	a->uid = fs->uid;
	a->gid = fs->gid;
	a->nlink = n->type == MLFS_ENTRY_DIR ? 2 : 1;
	return 0;
}

int mlfs_fs_wt_listing(struct mlfs_fs *fs MLFS_UNUSED, struct mlfs_node *n,
		       struct mlfs_wt_dirent **v, size_t *nv)
{
	return mlfs_wt_list(n->wt, n->ino, v, nv);
}

void mlfs_wt_op_getattr(fuse_req_t req, struct mlfs_node *n)
{
	struct mlfs_wt_attr a;
	struct stat st;
	int r = node_attr(fs_of(req), n, &a);

	if (r < 0) {
		fuse_reply_err(req, r == -ENOENT ? ESTALE : -r);
		return;
	}
	attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, WT_TIMEOUT);
}

void mlfs_wt_op_readlink(fuse_req_t req, struct mlfs_node *n)
{
	char *target = NULL;
	int r = mlfs_wt_readlink(n->wt, n->ino, &target);

	if (r == -ENOENT && n->target) {
		/* unmaterialized: what the lookup saw */
		fuse_reply_readlink(req, n->target);
		return;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
	free(target);
}

static void reply_entry_or_err(fuse_req_t req, int r,
			       const struct fuse_entry_param *e)
{
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, e);
}

static void make_node(fuse_req_t req, struct mlfs_node *p, const char *name,
		      enum mlfs_entry_type type, mode_t mode,
		      const char *target)
{
	struct mlfs_fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct mlfs_wt_attr a;
	int r = wrote(req, p->wt,
		      mlfs_wt_mknode(p->wt, p->ino, name, type, mode & 07777,
				     ctx->uid, ctx->gid, target, &a));

	if (r == 0)
		r = wt_link(fs, p, p->wt, name, &a, &e);
	reply_entry_or_err(req, r, &e);
}

void mlfs_wt_op_mknod(fuse_req_t req, struct mlfs_node *p, const char *name,
		      mode_t mode, dev_t rdev)
{
	struct mlfs_fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct mlfs_wt_attr a;
	int r;

	if (S_ISREG(mode)) {
		make_node(req, p, name, MLFS_ENTRY_FILE, mode, NULL);
		return;
	}
	/* FIFOs, sockets and devices live in the working tree only (the
	 * kernel serves their I/O); a snapshot leaves them out */
	r = wrote(req, p->wt, mlfs_wt_mkspecial(p->wt, p->ino, name, mode,
						 rdev, ctx->uid, ctx->gid,
						 &a));
	if (r == 0)
		r = wt_link(fs, p, p->wt, name, &a, &e);
	reply_entry_or_err(req, r, &e);
}

void mlfs_wt_op_mkdir(fuse_req_t req, struct mlfs_node *p, const char *name,
		      mode_t mode)
{
	make_node(req, p, name, MLFS_ENTRY_DIR, mode, NULL);
}

void mlfs_wt_op_symlink(fuse_req_t req, const char *link,
			struct mlfs_node *p, const char *name)
{
	if (strlen(link) >= PATH_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	make_node(req, p, name, MLFS_ENTRY_SYMLINK, 0777, link);
}

void mlfs_wt_op_remove(fuse_req_t req, struct mlfs_node *p, const char *name,
		       bool dir)
{
	fuse_reply_err(req, -wrote(req, p->wt,
				   mlfs_wt_remove(p->wt, p->ino, name, dir)));
}

void mlfs_wt_op_rename(fuse_req_t req, struct mlfs_node *p, const char *name,
		       struct mlfs_node *np, const char *newname,
		       unsigned flags)
{
	if (np->kind != MLFS_NODE_WT || np->wt != p->wt) {
		fuse_reply_err(req, np->kind == MLFS_NODE_WT ? EXDEV : EROFS);
		return;
	}
	fuse_reply_err(req, -wrote(req, p->wt,
				   mlfs_wt_rename(p->wt, p->ino, name,
						  np->ino, newname, flags)));
}

void mlfs_wt_op_link(fuse_req_t req, struct mlfs_node *n,
		     struct mlfs_node *np, const char *newname)
{
	struct fuse_entry_param e;
	struct mlfs_wt_attr a;
	int r;

	if (np->kind != MLFS_NODE_WT || np->wt != n->wt) {
		fuse_reply_err(req, np->kind == MLFS_NODE_WT ? EXDEV : EROFS);
		return;
	}
	if (orphan(n)) {
		fuse_reply_err(req, ENOENT); /* as linkat of an unlinked file */
		return;
	}
	r = wrote(req, n->wt, mlfs_wt_link(n->wt, n->ino, np->ino, newname,
					  &a));
	if (r == 0)
		r = wt_link(fs_of(req), np, np->wt, newname, &a, &e);
	reply_entry_or_err(req, r, &e);
}

void mlfs_wt_op_setattr(fuse_req_t req, struct mlfs_node *n,
			struct stat *attr, int to_set)
{
	struct mlfs_wt_setattr sa = { 0 };
	struct mlfs_wt_attr a;
	struct stat st;
	int r;

	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.set |= MLFS_WT_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.set |= MLFS_WT_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.set |= MLFS_WT_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		sa.set |= MLFS_WT_SET_SIZE;
		sa.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		sa.set |= MLFS_WT_SET_ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.set |= MLFS_WT_SET_ATIME;
		sa.atime_ns = (int64_t)attr->st_atim.tv_sec * 1000000000 +
			      attr->st_atim.tv_nsec;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		sa.set |= MLFS_WT_SET_MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.set |= MLFS_WT_SET_MTIME;
		sa.mtime_ns = (int64_t)attr->st_mtim.tv_sec * 1000000000 +
			      attr->st_mtim.tv_nsec;
	}
	if (orphan(n)) {
		/* its own bytes, never the entry that took its number */
		r = mlfs_wt_orphan_setattr(n->wt, n->ino, n->wt_gen, &sa, &a);
		r = r == -ENOENT ? -ESTALE : r;
	} else {
		r = mlfs_wt_setattr(n->wt, n->ino, &sa, &a);
	}
	/* a change of what a snapshot keeps (not an atime) */
	if (sa.set & ~(unsigned)(MLFS_WT_SET_ATIME | MLFS_WT_SET_ATIME_NOW))
		r = wrote(req, n->wt, r);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, WT_TIMEOUT);
}

/* ---- files ---- */

static int open_node(fuse_req_t req, struct mlfs_node *n, int flags,
		     struct wt_open **out)
{
	struct mlfs_fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	bool write = (flags & O_ACCMODE) != O_RDONLY;
	struct wt_open *h = calloc(1, sizeof(*h));
	int r;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->write = write;
	r = mlfs_wt_open(n->wt, n->ino, write, write && (flags & O_TRUNC),
			 &h->f);
	if (r < 0) {
		free(h);
		return r;
	}
	if (__atomic_load_n(&h->f->fd, __ATOMIC_ACQUIRE) < 0) {
		/* the stored bytes, through the chunk path */
		pthread_mutex_lock(&fs->itable.lock);
		if (mlfs_id_is_zero(&h->f->content)) {
			h->f->content = n->id;
			h->f->size = n->size;
		}
		n->id = h->f->content;
		n->size = h->f->size;
		pthread_mutex_unlock(&fs->itable.lock);
		r = mlfs_ofile_open(&fs->itable, fs->store, n, &h->of);
		if (r < 0) {
			mlfs_wt_close(h->f, write);
			free(h);
			return r == -ENOENT || r == -EBADMSG ? -EIO : r;
		}
		if (fs->lin) {
			/* stored bytes are the base's (an input unless the
			 * job writes this very tree: see mlfs_lin_inputs) */
			char ns[MLFS_NAME_MAX + 1], name[MLFS_NAME_MAX + 1],
				branch[MLFS_NAME_MAX + 1];
			struct mlfs_id base;
			bool has_base;

			mlfs_wt_describe(n->wt, ns, name, branch, &has_base,
					 &base);
			if (has_base)
				h->rd = mlfs_lin_open(fs->lin, ctx->pid,
						      ctx->uid, &base, n->ino,
						      &h->fresh);
		}
	}
	h->nodeid = n->nodeid;
	r = mlfs_pt_acquire(fs->pt, n->nodeid,
			    __atomic_load_n(&h->f->fd, __ATOMIC_ACQUIRE), &h->pt);
	/* the kernel writes a passthrough file itself: it is changed from
	 * the open on, not from a first write we would see */
	if (r == 0 && write && h->pt.backing_id > 0) {
		r = mlfs_wt_will_write(h->f);
		if (r < 0)
			mlfs_pt_release(fs->pt, n->nodeid, &h->pt);
	}
	/* a job's first open of stored bytes is counted (read.c): its
	 * pages are dropped, or replaced with a push (mlfs_wt_op_open) */
	h->pushable = r == 0 && h->pt.keep_cache && h->pt.backing_id <= 0;
	if (r == 0 && h->fresh)
		h->pt.keep_cache = false;
	if (r < 0) {
		mlfs_lin_close(fs->lin, h->rd);
		if (h->of)
			mlfs_ofile_close(&fs->itable, h->of);
		mlfs_wt_close(h->f, write);
		free(h);
		return r;
	}
	if (write)
		h->mk = mlfs_lin_wrote(fs->lin, ctx->pid, ctx->uid, n->wt,
				       true);
	*out = h;
	return 0;
}

void mlfs_wt_op_open(fuse_req_t req, struct mlfs_node *n,
		     struct fuse_file_info *fi)
{
	struct wt_open *h;
	int r;

	if (n->type == MLFS_ENTRY_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (orphan(n)) {
		/* (/proc/PID/fd/N of a discarded file): its number is the
		 * restored entry's now */
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (mlfs_node_digest_bad(&fs_of(req)->itable, n)) {
		fuse_reply_err(req, EIO); /* logged by the read that found it */
		return;
	}
	r = open_node(req, n, fi->flags, &h);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h | 1u; /* tagged: ops.c */
	/* cached: stored bytes read through the chunk path keep the page
	 * cache; a data file's pages are what the kernel wrote itself
	 * (unless passthrough wrote beneath them: passthrough.h), but
	 * for a job's first open of stored bytes: its reads are counted */
	if (h->of && !h->write && h->pushable &&
	    mlfs_push_open(req, n->nodeid, n, h->of, h->rd, h->fresh))
		h->pt.keep_cache = true; /* ... and counted by the push */
	mlfs_pt_reply_open(req, fi, &h->pt);
}

void mlfs_wt_op_create(fuse_req_t req, struct mlfs_node *p, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct mlfs_fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct mlfs_node *n;
	struct mlfs_wt_attr a;
	struct wt_open *h = NULL;
	int r = wrote(req, p->wt,
		      mlfs_wt_mknode(p->wt, p->ino, name, MLFS_ENTRY_FILE,
				     mode & 07777, ctx->uid, ctx->gid, NULL,
				     &a));

	if (r == 0)
		r = wt_link(fs, p, p->wt, name, &a, &e);
	if (r == 0) {
		n = mlfs_itable_get(&fs->itable, e.ino);
		r = n ? open_node(req, n, fi->flags & ~O_TRUNC, &h) : -ESTALE;
		if (r < 0)
			mlfs_itable_forget(&fs->itable, e.ino, 1);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h | 1u;
	mlfs_pt_reply_create(req, &e, fi, &h->pt);
}

void mlfs_wt_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct wt_open *h = (struct wt_open *)(uintptr_t)fi->fh;
	int fd = __atomic_load_n(&h->f->fd, __ATOMIC_ACQUIRE);

	if (fd >= 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
	} else if (h->of) {
		mlfs_read_ofile(req, ino, size, off, h->of, h->rd);
	} else {
		fuse_reply_err(req, EIO);
	}
}

void mlfs_wt_op_write(fuse_req_t req, const char *buf, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	struct wt_open *h = (struct wt_open *)(uintptr_t)fi->fh;
	ssize_t k;
	int r;

	if (!h->write) {
		fuse_reply_err(req, EBADF);
		return;
	}
	r = mlfs_wt_will_write(h->f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	mlfs_lin_write(fs_of(req)->lin, h->mk);
	k = pwrite(h->f->fd, buf, size, off);
	if (k < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)k);
}

void mlfs_wt_op_fallocate(fuse_req_t req, int mode, off_t offset,
			  off_t length, struct fuse_file_info *fi)
{
	struct wt_open *h = (struct wt_open *)(uintptr_t)fi->fh;
	int r;

	if (!h->write) {
		fuse_reply_err(req, EBADF);
		return;
	}
	r = mlfs_wt_will_write(h->f);
	if (r == 0)
		mlfs_lin_write(fs_of(req)->lin, h->mk);
	if (r == 0 && fallocate(h->f->fd, mode, offset, length) < 0)
		r = -errno;
	fuse_reply_err(req, -r);
}

void mlfs_wt_op_fsync(fuse_req_t req, int datasync,
		      struct fuse_file_info *fi)
{
	struct wt_open *h = (struct wt_open *)(uintptr_t)fi->fh;

	fuse_reply_err(req, -mlfs_wt_fsync(h->f, datasync != 0));
}

void mlfs_wt_op_fsyncdir(fuse_req_t req, struct mlfs_node *n)
{
	fuse_reply_err(req, -mlfs_wt_sync(n->wt));
}

void mlfs_wt_op_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct wt_open *h = (struct wt_open *)(uintptr_t)fi->fh;

	mlfs_pt_release(fs_of(req)->pt, h->nodeid, &h->pt);
	mlfs_lin_close(fs_of(req)->lin, h->rd);
	mlfs_lin_unmark(fs_of(req)->lin, h->mk);
	if (h->of)
		mlfs_ofile_close(&fs_of(req)->itable, h->of);
	mlfs_wt_close(h->f, h->write);
	free(h);
	fuse_reply_err(req, 0);
}

/* ---- extended attributes ---- */

void mlfs_wt_op_setxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, const char *value, size_t size,
			 int flags)
{
	if (orphan(n)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	fuse_reply_err(req, -wrote(req, n->wt,
				   mlfs_wt_setxattr(n->wt, n->ino, name,
						    value, size, flags)));
}

void mlfs_wt_op_getxattr(fuse_req_t req, struct mlfs_node *n,
			 const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	size_t len = 0;
	int r = size && !buf ? -ENOMEM : orphan(n) ? -ENODATA :
		mlfs_wt_getxattr(n->wt, n->ino, name, buf, size, &len);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (!size)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

void mlfs_wt_op_listxattr(fuse_req_t req, struct mlfs_node *n, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	size_t len = 0;
	/* an orphan lists none */
	int r = size && !buf ? -ENOMEM : orphan(n) ? 0 :
		mlfs_wt_listxattr(n->wt, n->ino, buf, size, &len);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (!size)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

void mlfs_wt_op_removexattr(fuse_req_t req, struct mlfs_node *n,
			    const char *name)
{
	if (orphan(n)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	fuse_reply_err(req, -wrote(req, n->wt,
				   mlfs_wt_removexattr(n->wt, n->ino, name)));
}
