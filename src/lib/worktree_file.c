/*
 * worktree_file.c - open files of working trees (one shared state per
 * inode: a data file, or the stored content read through the chunk path)
 * and their extended attributes, kept in the working tree only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

/* ---- extended attributes ---- */

static int copy_out(const void *p, size_t len, void *buf, size_t size,
		    size_t *outlen)
{
	*outlen = len;
	if (!size)
		return 0;
	if (len > size)
		return -ERANGE;
	if (len) /* an empty value or list may come as NULL */
		memcpy(buf, p, len);
	return 0;
}

/* Extended attributes need a row: the tree is materialized. */
static int xattr_begin(struct mlfs_wt *wt, uint64_t ino, bool edit)
{
	struct mlfs_wnode n;
	int r;

	pthread_mutex_lock(&wt->w->lock);
	if (!wt->row.materialized && !edit)
		return 1; /* nothing set anywhere yet */
	r = wt_materialize_locked(wt);
	if (r == 0)
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
	if (r == 0)
		mlfs_wnode_release(&n);
	if (r < 0)
		pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_getxattr(struct mlfs_wt *wt, uint64_t ino, const char *name,
		     void *buf, size_t size, size_t *len)
{
	void *v = NULL;
	size_t vlen = 0;
	int r = xattr_begin(wt, ino, false);

	if (r < 0)
		return r;
	if (r == 1)
		r = -ENODATA;
	else
		r = mlfs_wdb_xattr_get(wt->w->db, wt->row.id, ino, name, &v,
				       &vlen);
	if (r == 0)
		r = copy_out(v, vlen, buf, size, len);
	free(v);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_setxattr(struct mlfs_wt *wt, uint64_t ino, const char *name,
		     const void *value, size_t len, int flags)
{
	void *v = NULL;
	size_t vlen;
	int r;

	/* only the user namespace: others mean something to the kernel
	 * (security.*, system.posix_acl_*) that the mount does not do */
	if (strncmp(name, "user.", 5))
		return -ENOTSUP;
	if (strlen(name) > 255)
		return -ERANGE;
	if (len > 65536)
		return -E2BIG;
	r = xattr_begin(wt, ino, true);
	if (r < 0)
		return r;
	r = mlfs_wdb_xattr_get(wt->w->db, wt->row.id, ino, name, &v, &vlen);
	free(v);
	if (r == 0 && (flags & XATTR_CREATE))
		r = -EEXIST;
	else if (r == -ENODATA && !(flags & XATTR_REPLACE))
		r = 0;
	if (r == 0)
		r = mlfs_wdb_xattr_set(wt->w->db, wt->row.id, ino, name,
				       value, len);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_listxattr(struct mlfs_wt *wt, uint64_t ino, char *buf,
		      size_t size, size_t *len)
{
	char *names = NULL;
	size_t nlen = 0;
	int r = xattr_begin(wt, ino, false);

	if (r < 0)
		return r;
	if (r == 1)
		r = 0;
	else
		r = mlfs_wdb_xattr_list(wt->w->db, wt->row.id, ino, &names,
					&nlen);
	if (r == 0)
		r = copy_out(names, nlen, buf, size, len);
	free(names);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_removexattr(struct mlfs_wt *wt, uint64_t ino, const char *name)
{
	int r = xattr_begin(wt, ino, true);

	if (r < 0)
		return r;
	r = mlfs_wdb_xattr_delete(wt->w->db, wt->row.id, ino, name);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

/* ---- open files ---- */

int mlfs_wt_open(struct mlfs_wt *wt, uint64_t ino, bool write, bool trunc,
		 struct mlfs_wt_file **out)
{
	struct mlfs_wt_file *f;
	struct mlfs_wnode n = { 0 };
	bool fresh = false;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&wt->w->lock);
	if (write) {
		/* a snapshot reads the bytes it planned before they change */
		wt_wait_unfrozen(wt, ino);
		wt_touch(wt, ino);
		r = wt_materialize_locked(wt);
	}
	if (r < 0)
		goto out;
	f = wt_file_find(wt, ino);
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f) {
			r = -ENOMEM;
			goto out;
		}
		f->wt = wt;
		f->ino = ino;
		f->fd = -1;
		fresh = true;
	}
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r == 0 && n.type == MLFS_ENTRY_DIR)
			r = -EISDIR;
		else if (r == 0 && n.type != MLFS_ENTRY_FILE)
			r = -ELOOP;
		if (r < 0)
			goto out;
		if (!n.data) {
			f->content = n.content;
			f->size = n.size;
		}
		if (n.data && f->fd < 0) {
			char path[PATH_MAX];

			wt_data_path(wt, ino, path, sizeof(path));
			f->fd = open(path, O_RDWR | O_CLOEXEC);
			if (f->fd < 0) {
				r = errno == ENOENT ? -EIO : -errno;
				mlfs_error_set("working tree data of inode "
					       "%llx: %s",
					       (unsigned long long)ino,
					       strerror(errno));
				goto out;
			}
		}
		if (write && (!n.data || trunc)) {
			r = mlfs_wdb_begin(wt->w->db);
			if (r == 0 && !n.data) {
				int fd = -1;

				r = wt_copy_up(wt, &n, trunc, &fd);
				if (r == 0)
					f->fd = fd;
			} else if (r == 0) {
				if (ftruncate(f->fd, 0) < 0)
					r = -errno;
				if (r == 0)
					r = wt_dirty_node(wt, &n);
				if (r == 0)
					r = mlfs_wdb_node_put(wt->w->db,
							      wt->row.id, &n);
			}
			if (r == 0)
				r = mlfs_wdb_commit(wt->w->db);
			else
				mlfs_wdb_rollback(wt->w->db);
			if (r < 0)
				goto out;
			f->marked = trunc;
		}
	} else if (fresh) {
		/* unmaterialized: the caller fills content and size from
		 * its lookup */
	}
	f->opens++;
	if (write)
		f->writers++;
	if (fresh) {
		f->next = wt->files;
		wt->files = f;
	}
	*out = f;
	fresh = false;
out:
	if (fresh) {
		if (f && f->fd >= 0)
			close(f->fd);
		free(f);
	}
	mlfs_wnode_release(&n);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_will_write(struct mlfs_wt_file *f)
{
	struct mlfs_wt *wt = f->wt;
	struct mlfs_wnode n;
	int r = 0;

	__atomic_add_fetch(&f->writes, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&f->marked, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&wt->w->lock);
	if (!f->marked) {
		r = mlfs_wdb_begin(wt->w->db);
		if (r == 0)
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, f->ino,
					      &n);
		if (r == 0) {
			if (!n.dirty) {
				r = wt_dirty_node(wt, &n);
				if (r == 0)
					r = mlfs_wdb_node_put(wt->w->db,
							      wt->row.id, &n);
			}
			mlfs_wnode_release(&n);
		}
		if (r == 0)
			r = mlfs_wdb_commit(wt->w->db);
		else
			mlfs_wdb_rollback(wt->w->db);
		if (r == 0)
			__atomic_store_n(&f->marked, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_fsync(struct mlfs_wt_file *f, bool datasync)
{
	int r = 0;

	if (f->fd >= 0 && (datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		r = -errno;
	if (r == 0)
		r = mlfs_wt_sync(f->wt);
	return r;
}

int mlfs_wt_sync(struct mlfs_wt *wt)
{
	int r = 0;

	pthread_mutex_lock(&wt->w->lock);
	if (wt->w->db)
		r = mlfs_wdb_sync(wt->w->db);
	if (r == 0 && wt->w->edit)
		r = wt_collect_garbage(wt, true);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

void mlfs_wt_close(struct mlfs_wt_file *f, bool write)
{
	struct mlfs_wt *wt = f->wt;
	struct mlfs_wt_file **pp;
	struct mlfs_wnode n;

	pthread_mutex_lock(&wt->w->lock);
	if (write && f->writers)
		f->writers--;
	/* what it wrote while a snapshot read is not all in that snapshot */
	if (write && !f->detached)
		wt_touch(wt, f->ino);
	if (--f->opens) {
		pthread_mutex_unlock(&wt->w->lock);
		return;
	}
	for (pp = f->detached ? &wt->detached : &wt->files; *pp && *pp != f;
	     pp = &(*pp)->next)
		;
	if (*pp)
		*pp = f->next;
	if (f->fd >= 0)
		close(f->fd);
	if (f->detached) {
		/* an orphan: its number may be another inode's by now */
		pthread_mutex_unlock(&wt->w->lock);
		free(f);
		return;
	}
	/* the last close of an unlinked file frees it */
	if (wt->row.materialized &&
	    mlfs_wdb_node_get(wt->w->db, wt->row.id, f->ino, &n) == 0) {
		/* on failure the next open of the store drops it */
		if (!n.nlink && mlfs_wdb_begin(wt->w->db) == 0) {
			if (wt_drop_inode(wt, &n) < 0 ||
			    mlfs_wdb_commit(wt->w->db) < 0)
				mlfs_wdb_rollback(wt->w->db);
			else
				(void)wt_collect_garbage(wt, false);
		}
		mlfs_wnode_release(&n);
	}
	pthread_mutex_unlock(&wt->w->lock);
	free(f);
}

/* ---- orphans ---- */

uint64_t mlfs_wt_gen(struct mlfs_wt *wt, uint64_t ino)
{
	uint64_t g;

	pthread_mutex_lock(&wt->w->lock);
	g = wt_gen_get(wt, ino);
	pthread_mutex_unlock(&wt->w->lock);
	return g;
}

static struct mlfs_wt_file *orphan_find(struct mlfs_wt *wt, uint64_t ino,
					uint64_t gen)
{
	struct mlfs_wt_file *f = wt->detached;

	while (f && (f->ino != ino || f->gen != gen))
		f = f->next;
	return f;
}

/* What orphan @f shows now: its own bytes' size and times. Locked. */
static int orphan_attr(struct mlfs_wt_file *f, struct mlfs_wt_attr *out)
{
	struct stat st;

	*out = f->oattr;
	out->nlink = 0;
	if (f->fd < 0)
		return 0;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	out->size = (uint64_t)st.st_size;
	out->mtime_ns = wt_ts_ns(&st.st_mtim);
	out->atime_ns = wt_ts_ns(&st.st_atim);
	out->ctime_ns = wt_ts_ns(&st.st_ctim);
	return 0;
}

int mlfs_wt_orphan_getattr(struct mlfs_wt *wt, uint64_t ino, uint64_t gen,
			   struct mlfs_wt_attr *out)
{
	struct mlfs_wt_file *f;
	int r;

	pthread_mutex_lock(&wt->w->lock);
	f = orphan_find(wt, ino, gen);
	r = f ? orphan_attr(f, out) : -ENOENT;
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_orphan_setattr(struct mlfs_wt *wt, uint64_t ino, uint64_t gen,
			   const struct mlfs_wt_setattr *sa,
			   struct mlfs_wt_attr *out)
{
	unsigned bytes = MLFS_WT_SET_SIZE | MLFS_WT_SET_ATIME |
			 MLFS_WT_SET_MTIME | MLFS_WT_SET_ATIME_NOW |
			 MLFS_WT_SET_MTIME_NOW;
	struct mlfs_wt_file *f;
	int r = 0;

	pthread_mutex_lock(&wt->w->lock);
	f = orphan_find(wt, ino, gen);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	if ((sa->set & bytes) && f->fd < 0) {
		r = -EROFS;
		goto out;
	}
	if ((sa->set & MLFS_WT_SET_SIZE) &&
	    (sa->size > (uint64_t)INT64_MAX ||
	     ftruncate(f->fd, (off_t)sa->size) < 0)) {
		r = sa->size > (uint64_t)INT64_MAX ? -EFBIG : -errno;
		goto out;
	}
	if (sa->set & (bytes & ~(unsigned)MLFS_WT_SET_SIZE)) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

		if (sa->set & MLFS_WT_SET_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (sa->set & MLFS_WT_SET_ATIME)
			ts[0] = mlfs_ns_to_timespec(sa->atime_ns);
		if (sa->set & MLFS_WT_SET_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (sa->set & MLFS_WT_SET_MTIME)
			ts[1] = mlfs_ns_to_timespec(sa->mtime_ns);
		if (futimens(f->fd, ts) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (sa->set & MLFS_WT_SET_MODE)
		f->oattr.mode = sa->mode & 07777;
	if (sa->set & MLFS_WT_SET_UID)
		f->oattr.uid = sa->uid;
	if (sa->set & MLFS_WT_SET_GID)
		f->oattr.gid = sa->gid;
	r = orphan_attr(f, out);
out:
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}
