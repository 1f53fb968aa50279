/*
 * worktree_edit.c - the edits of a working tree (each materializes it
 * first, then is one transaction on its rows): create, remove, rename,
 * link, setattr, and the copy of a stored file into a data file when it
 * is first written. A change marks the directories above it dirty up to
 * the root: a snapshot reads only dirty directories and files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"
#include "mlfs/export.h"

/* ---- edits ---- */

/* Mark directory @ino and its ancestors dirty (stops at one already
 * dirty: its ancestors are). Inside a transaction. */
int wt_dirty_dirs(struct mlfs_wt *wt, uint64_t ino)
{
	int r = 0;

	wt_touch(wt, ino);
	while (ino && r == 0) {
		struct mlfs_wnode n;

		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r < 0)
			break;
		if (n.dirty) {
			mlfs_wnode_release(&n);
			break;
		}
		n.dirty = true;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
		ino = n.parent;
		mlfs_wnode_release(&n);
	}
	return r;
}

/* Mark node @n dirty (written back by the caller) and every directory
 * that holds it. */
int wt_dirty_node(struct mlfs_wt *wt, struct mlfs_wnode *n)
{
	uint64_t *parents = NULL;
	size_t np = 0;
	int r = 0;

	n->dirty = true;
	wt_touch(wt, n->ino);
	if (n->type == MLFS_ENTRY_DIR)
		return n->parent ? wt_dirty_dirs(wt, n->parent) : 0;
	r = mlfs_wdb_dirent_parents(wt->w->db, wt->row.id, n->ino, &parents,
				    &np);
	for (size_t i = 0; r == 0 && i < np; i++)
		r = wt_dirty_dirs(wt, parents[i]);
	free(parents);
	return r;
}

/* A directory's listing changed: new mtime and ctime, dirty. */
static int touch_dir(struct mlfs_wt *wt, uint64_t ino, int64_t now,
		     int nlink_delta)
{
	struct mlfs_wnode n;
	int r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);

	if (r < 0)
		return r;
	n.mtime_ns = n.ctime_ns = now;
	n.nlink = (uint32_t)((int64_t)n.nlink + nlink_delta);
	r = wt_dirty_node(wt, &n);
	if (r == 0) {
		n.dirty = true;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	}
	mlfs_wnode_release(&n);
	return r;
}

/* Begin an edit: materialized, in a transaction; first, while a
 * snapshot has yet to read file @frozen (0: none), wait for it. */
static int edit_begin_at(struct mlfs_wt *wt, uint64_t frozen)
{
	int r;

	pthread_mutex_lock(&wt->w->lock);
	if (frozen)
		wt_wait_unfrozen(wt, frozen);
	r = wt_materialize_locked(wt);
	if (r == 0)
		r = mlfs_wdb_begin(wt->w->db);
	if (r < 0)
		pthread_mutex_unlock(&wt->w->lock);
	return r;
}

static int edit_begin(struct mlfs_wt *wt)
{
	return edit_begin_at(wt, 0);
}

static int edit_end(struct mlfs_wt *wt, int r)
{
	if (r == 0)
		r = mlfs_wdb_commit(wt->w->db);
	else
		mlfs_wdb_rollback(wt->w->db);
	/* what a rolled-back edit queued stays: its rows are there again,
	 * and collection checks that no row needs a file */
	if (r == 0)
		r = wt_collect_garbage(wt, false);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

/* 0 when @parent has no entry @name, -EEXIST when it has, -errno. */
static int name_free(struct mlfs_wt *wt, uint64_t parent, const char *name)
{
	uint64_t other;
	int r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent, name,
				    &other);

	return r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
}

static int get_dir(struct mlfs_wt *wt, uint64_t ino, struct mlfs_wnode *n)
{
	int r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, n);

	if (r == 0 && n->type != MLFS_ENTRY_DIR) {
		mlfs_wnode_release(n);
		r = -ENOTDIR;
	}
	return r;
}

static int create_data_file(struct mlfs_wt *wt, uint64_t ino, int *fd_out)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s/%lld", wt->w->dir,
		 (long long)wt->row.id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	wt_data_path(wt, ino, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

/* Create entry @name in @parent of @type (a file, directory, symlink to
 * @target, or special file of @mode with device @rdev). */
static int make_node(struct mlfs_wt *wt, uint64_t parent, const char *name,
		     int type, uint32_t mode, uint64_t rdev, uint32_t uid,
		     uint32_t gid, const char *target, struct mlfs_wt_attr *out)
{
	struct mlfs_wnode p, n = { 0 };
	int64_t now = wt_now_ns();
	int r = wt_check_name(name);

	if (r < 0)
		return r;
	r = edit_begin(wt);
	if (r < 0)
		return r;
	r = get_dir(wt, parent, &p);
	if (r < 0)
		return edit_end(wt, r);
	mlfs_wnode_release(&p);
	/* a setgid directory gives its group to what is made in it, and
	 * its setgid bit to new directories, as on a local file system */
	if (p.mode & S_ISGID) {
		gid = p.gid;
		if (type == MLFS_ENTRY_DIR)
			mode |= S_ISGID;
	}
	r = name_free(wt, parent, name);
	n.ino = wt_new_ino(wt);
	n.type = type;
	n.mode = mode & (type == MLFS_WT_SPECIAL ? (S_IFMT | 07777) : 07777);
	if (type == MLFS_WT_SPECIAL)
		n.size = rdev; /* a special file's size column: its device */
	n.uid = uid;
	n.gid = gid;
	n.nlink = type == MLFS_ENTRY_DIR ? 2 : 1;
	n.atime_ns = n.mtime_ns = n.ctime_ns = now;
	n.dirty = true;
	n.parent = type == MLFS_ENTRY_DIR ? parent : 0;
	if (type == MLFS_ENTRY_SYMLINK) {
		n.target = (char *)target;
		n.size = strlen(target);
	}
	if (r == 0 && type == MLFS_ENTRY_FILE) {
		n.data = true;
		r = create_data_file(wt, n.ino, NULL);
	}
	if (r == 0)
		r = mlfs_wdb_wt_update(wt->w->db, &wt->row);
	if (r == 0)
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	if (r == 0)
		r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id, parent, name,
					n.ino);
	if (r == 0)
		r = touch_dir(wt, parent, now, type == MLFS_ENTRY_DIR);
	if (r == 0 && out)
		r = wt_node_attr(wt, &n, out);
	if (r < 0 && type == MLFS_ENTRY_FILE && r != -EEXIST) {
		char path[PATH_MAX];

		wt_data_path(wt, n.ino, path, sizeof(path));
		(void)unlink(path);
	}
	return edit_end(wt, r);
}

int mlfs_wt_mknode(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   enum mlfs_entry_type type, uint32_t mode, uint32_t uid,
		   uint32_t gid, const char *target, struct mlfs_wt_attr *out)
{
	return make_node(wt, parent, name, type, mode, 0, uid, gid, target,
			 out);
}

int mlfs_wt_mkspecial(struct mlfs_wt *wt, uint64_t parent, const char *name,
		      uint32_t mode, uint64_t rdev, uint32_t uid, uint32_t gid,
		      struct mlfs_wt_attr *out)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		return make_node(wt, parent, name, MLFS_WT_SPECIAL, mode, rdev,
				 uid, gid, NULL, out);
	default:
		return -EINVAL;
	}
}

/* Drop inode @n (its last name is gone): now, or at its last close. */
int wt_drop_inode(struct mlfs_wt *wt, struct mlfs_wnode *n)
{
	int r;

	if (n->nlink > 0 || wt_file_find(wt, n->ino))
		return mlfs_wdb_node_put(wt->w->db, wt->row.id, n);
	r = mlfs_wdb_node_delete(wt->w->db, wt->row.id, n->ino);
	if (r == 0)
		r = mlfs_wdb_xattr_clear(wt->w->db, wt->row.id, n->ino);
	if (r == 0 && n->data)
		r = wt_garbage_add(wt, n->ino);
	return r;
}

/* Remove the entry @name (node @n) of @parent; the caller checked it. */
static int remove_entry(struct mlfs_wt *wt, uint64_t parent,
			const char *name, struct mlfs_wnode *n, int64_t now)
{
	int r = mlfs_wdb_dirent_delete(wt->w->db, wt->row.id, parent, name);

	if (r < 0)
		return r;
	if (n->type == MLFS_ENTRY_DIR) {
		r = mlfs_wdb_node_delete(wt->w->db, wt->row.id, n->ino);
		if (r == 0)
			r = mlfs_wdb_xattr_clear(wt->w->db, wt->row.id,
						 n->ino);
		if (r == 0)
			r = touch_dir(wt, parent, now, -1);
		return r;
	}
	n->nlink = n->nlink ? n->nlink - 1 : 0;
	n->ctime_ns = now;
	if (n->nlink)
		r = wt_dirty_node(wt, n); /* its other names' dirs */
	if (r == 0)
		r = wt_drop_inode(wt, n);
	if (r == 0)
		r = touch_dir(wt, parent, now, 0);
	return r;
}

int mlfs_wt_remove(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   bool dir)
{
	struct mlfs_wnode p, n;
	uint64_t ino;
	int r;

	if (!strcmp(name, "."))
		return -EINVAL;
	if (!strcmp(name, ".."))
		return -ENOTEMPTY;
	r = edit_begin(wt);
	if (r < 0)
		return r;
	r = get_dir(wt, parent, &p);
	if (r < 0)
		return edit_end(wt, r);
	mlfs_wnode_release(&p);
	r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent, name, &ino);
	if (r == 0)
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
	if (r < 0)
		return edit_end(wt, r);
	if (dir && n.type != MLFS_ENTRY_DIR)
		r = -ENOTDIR;
	else if (!dir && n.type == MLFS_ENTRY_DIR)
		r = -EISDIR;
	else if (dir) {
		r = mlfs_wdb_dirent_any(wt->w->db, wt->row.id, n.ino);
		r = r > 0 ? -ENOTEMPTY : r;
	}
	if (r == 0)
		r = remove_entry(wt, parent, name, &n, wt_now_ns());
	mlfs_wnode_release(&n);
	return edit_end(wt, r);
}

/* Whether directory @ino is @anc or lies below it. */
static int is_within(struct mlfs_wt *wt, uint64_t ino, uint64_t anc)
{
	int r = 0;

	for (int depth = 0; ino && depth < 100000; depth++) {
		struct mlfs_wnode n;

		if (ino == anc)
			return 1;
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r < 0)
			return r;
		ino = n.parent;
		mlfs_wnode_release(&n);
	}
	return 0;
}

/* Move node @n from (@p, @name) to (@np, @nn): the entry rows are the
 * caller's; this keeps directory parents and link counts right. */
static int moved(struct mlfs_wt *wt, struct mlfs_wnode *n, uint64_t p,
		 uint64_t np, int64_t now)
{
	bool is_dir = n->type == MLFS_ENTRY_DIR;
	int r;

	n->ctime_ns = now;
	if (is_dir)
		n->parent = np;
	n->dirty = true;
	wt_touch(wt, n->ino);
	r = mlfs_wdb_node_put(wt->w->db, wt->row.id, n);
	if (r == 0)
		r = touch_dir(wt, p, now, is_dir && p != np ? -1 : 0);
	if (r == 0)
		r = touch_dir(wt, np, now, is_dir && p != np ? 1 : 0);
	return r;
}

int mlfs_wt_rename(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   uint64_t newparent, const char *newname, unsigned flags)
{
	struct mlfs_wnode p, src, dst = { 0 };
	uint64_t sino, dino = 0;
	int64_t now = wt_now_ns();
	bool have_dst = false;
	int r = wt_check_name(newname);

	if (r == 0)
		r = wt_check_name(name);
	if (r < 0)
		return r;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	r = edit_begin(wt);
	if (r < 0)
		return r;
	r = get_dir(wt, parent, &p);
	if (r == 0) {
		mlfs_wnode_release(&p);
		r = get_dir(wt, newparent, &p);
	}
	if (r == 0) {
		mlfs_wnode_release(&p);
		r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent, name,
					&sino);
	}
	if (r == 0)
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, sino, &src);
	if (r < 0)
		return edit_end(wt, r);
	r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, newparent, newname,
				&dino);
	if (r == 0) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, dino, &dst);
		have_dst = r == 0;
	} else if (r == -ENOENT) {
		r = 0;
	}
	if (r < 0)
		goto out;
	if ((flags & RENAME_EXCHANGE) && !have_dst) {
		r = -ENOENT;
		goto out;
	}
	if ((flags & RENAME_NOREPLACE) && have_dst) {
		r = -EEXIST;
		goto out;
	}
	if (have_dst && dino == sino)
		goto out; /* two names of one file: nothing to do */
	if (src.type == MLFS_ENTRY_DIR) {
		r = is_within(wt, newparent, sino);
		if (r > 0)
			r = -EINVAL;
		if (r < 0)
			goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		if (dst.type == MLFS_ENTRY_DIR) {
			r = is_within(wt, parent, dino);
			if (r > 0)
				r = -EINVAL;
			if (r < 0)
				goto out;
		}
		r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id, parent, name,
					dino);
		if (r == 0)
			r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id,
						newparent, newname, sino);
		if (r == 0)
			r = moved(wt, &src, parent, newparent, now);
		if (r == 0)
			r = moved(wt, &dst, newparent, parent, now);
		goto out;
	}
	if (have_dst) {
		if (dst.type == MLFS_ENTRY_DIR && src.type != MLFS_ENTRY_DIR)
			r = -EISDIR;
		else if (dst.type != MLFS_ENTRY_DIR &&
			 src.type == MLFS_ENTRY_DIR)
			r = -ENOTDIR;
		else if (dst.type == MLFS_ENTRY_DIR) {
			r = mlfs_wdb_dirent_any(wt->w->db, wt->row.id, dino);
			r = r > 0 ? -ENOTEMPTY : r;
		}
		if (r == 0)
			r = remove_entry(wt, newparent, newname, &dst, now);
		if (r < 0)
			goto out;
	}
	r = mlfs_wdb_dirent_delete(wt->w->db, wt->row.id, parent, name);
	if (r == 0)
		r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id, newparent,
					newname, sino);
	if (r == 0)
		r = moved(wt, &src, parent, newparent, now);
out:
	mlfs_wnode_release(&src);
	mlfs_wnode_release(&dst);
	return edit_end(wt, r);
}

int mlfs_wt_link(struct mlfs_wt *wt, uint64_t ino, uint64_t newparent,
		 const char *newname, struct mlfs_wt_attr *out)
{
	struct mlfs_wnode p, n;
	int64_t now = wt_now_ns();
	int r = wt_check_name(newname);

	if (r < 0)
		return r;
	r = edit_begin(wt);
	if (r < 0)
		return r;
	r = get_dir(wt, newparent, &p);
	if (r < 0)
		return edit_end(wt, r);
	mlfs_wnode_release(&p);
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
	if (r < 0)
		return edit_end(wt, r);
	if (n.type == MLFS_ENTRY_DIR)
		r = -EPERM;
	else if (!n.nlink)
		r = -ENOENT; /* linkat of an unlinked open file */
	if (r == 0)
		r = name_free(wt, newparent, newname);
	if (r == 0)
		r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id, newparent,
					newname, ino);
	if (r == 0) {
		n.nlink++;
		n.ctime_ns = now;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	}
	if (r == 0)
		r = touch_dir(wt, newparent, now, 0);
	if (r == 0 && out)
		r = wt_node_attr(wt, &n, out);
	mlfs_wnode_release(&n);
	return edit_end(wt, r);
}

/*
 * Give file @n a data file holding its bytes (locked, in a transaction):
 * a copy of its stored content, or empty (@empty). The copy is on disk
 * before the row says so: a power cut must not leave a row that points
 * to a half-written copy of bytes that were never changed.
 */
int wt_copy_up(struct mlfs_wt *wt, struct mlfs_wnode *n, bool empty,
	       int *fd_out)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], dir[PATH_MAX];
	struct timespec times[2];
	int fd = -1, r;

	if (n->data)
		return 0;
	snprintf(dir, sizeof(dir), "%s/%lld", wt->w->dir,
		 (long long)wt->row.id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	wt_data_path(wt, n->ino, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = 0;
	if (!empty && n->size) {
		struct mlfs_entry e = { .name = "", .type = MLFS_ENTRY_FILE,
					.size = n->size, .id = n->content };
		enum mlfs_export_fault fault;

		r = mlfs_export_content_fd(wt->w->s, &e, fd,
					   MLFS_EXPORT_SPARSE, &fault);
		if (r == 0 && ftruncate(fd, (off_t)n->size) < 0)
			r = -errno;
	}
	times[0] = mlfs_ns_to_timespec(n->atime_ns);
	times[1] = mlfs_ns_to_timespec(n->mtime_ns);
	if (r == 0 && !empty && futimens(fd, times) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			if (fsync(dfd) < 0)
				r = -errno;
			close(dfd);
		}
	}
	if (r < 0) {
		close(fd);
		(void)unlink(tmp);
		return r;
	}
	n->data = true;
	if (empty) {
		n->size = 0;
		n->has_content = false;
		n->mtime_ns = n->ctime_ns = wt_now_ns();
		r = wt_dirty_node(wt, n);
	}
	if (r == 0)
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, n);
	if (r == 0 && fd_out)
		*fd_out = fd;
	else
		close(fd);
	return r;
}

static void set_times(struct timespec *ts, const struct mlfs_wt_setattr *sa)
{
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	if (sa->set & MLFS_WT_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (sa->set & MLFS_WT_SET_ATIME)
		ts[0] = mlfs_ns_to_timespec(sa->atime_ns);
	if (sa->set & MLFS_WT_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (sa->set & MLFS_WT_SET_MTIME)
		ts[1] = mlfs_ns_to_timespec(sa->mtime_ns);
}

int mlfs_wt_setattr(struct mlfs_wt *wt, uint64_t ino,
		    const struct mlfs_wt_setattr *sa, struct mlfs_wt_attr *out)
{
	struct mlfs_wt_file *f;
	struct mlfs_wnode n;
	int64_t now = wt_now_ns();
	unsigned times = MLFS_WT_SET_ATIME | MLFS_WT_SET_MTIME |
			 MLFS_WT_SET_ATIME_NOW | MLFS_WT_SET_MTIME_NOW;
	/* a truncation waits for a snapshot to read the bytes it planned */
	int r = edit_begin_at(wt, sa->set & MLFS_WT_SET_SIZE ? ino : 0);

	if (r < 0)
		return r;
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
	if (r < 0)
		return edit_end(wt, r);
	f = wt_file_find(wt, ino);
	if (sa->set & MLFS_WT_SET_SIZE) {
		if (n.type == MLFS_ENTRY_DIR)
			r = -EISDIR;
		else if (n.type != MLFS_ENTRY_FILE)
			r = -EINVAL;
		else if (sa->size > (uint64_t)INT64_MAX)
			r = -EFBIG;
		if (r == 0 && !n.data) {
			int fd = -1;

			r = wt_copy_up(wt, &n, sa->size == 0, f ? &fd : NULL);
			if (r == 0 && f)
				f->fd = fd;
		}
		if (r == 0) {
			char path[PATH_MAX];

			wt_data_path(wt, ino, path, sizeof(path));
			if ((f && f->fd >= 0 ?
			     ftruncate(f->fd, (off_t)sa->size) :
			     truncate(path, (off_t)sa->size)) < 0)
				r = -errno;
		}
		if (r == 0)
			r = wt_dirty_node(wt, &n);
	}
	if (r == 0 && (sa->set & MLFS_WT_SET_MODE)) {
		n.mode = (n.mode & ~07777u) | (sa->mode & 07777);
		r = wt_dirty_node(wt, &n);
	}
	if (sa->set & MLFS_WT_SET_UID)
		n.uid = sa->uid;
	if (sa->set & MLFS_WT_SET_GID)
		n.gid = sa->gid;
	if (r == 0 && (sa->set & times)) {
		struct timespec ts[2];

		set_times(ts, sa);
		if (n.type == MLFS_ENTRY_FILE && n.data) {
			char path[PATH_MAX];

			wt_data_path(wt, ino, path, sizeof(path));
			if ((f && f->fd >= 0 ? futimens(f->fd, ts) :
			     utimensat(AT_FDCWD, path, ts, 0)) < 0)
				r = -errno;
		}
		if (ts[0].tv_nsec == UTIME_NOW)
			n.atime_ns = now;
		else if (ts[0].tv_nsec != UTIME_OMIT)
			n.atime_ns = sa->atime_ns;
		if (ts[1].tv_nsec == UTIME_NOW)
			n.mtime_ns = now;
		else if (ts[1].tv_nsec != UTIME_OMIT)
			n.mtime_ns = sa->mtime_ns;
		if (r == 0 && (sa->set & (MLFS_WT_SET_MTIME |
					  MLFS_WT_SET_MTIME_NOW)))
			r = wt_dirty_node(wt, &n);
	}
	n.ctime_ns = now;
	if (r == 0)
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	if (r == 0 && out)
		r = wt_node_attr(wt, &n, out);
	mlfs_wnode_release(&n);
	return edit_end(wt, r);
}
