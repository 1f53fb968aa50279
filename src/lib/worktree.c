/*
 * worktree.c - working trees and their edits (worktree.h). Until the first
 * edit a working tree is its base commit seen through a map of the
 * directories handed out; the first edit materializes it (one row per
 * entry, numbered as the view numbered them), and from then on every
 * edit is one transaction on those rows. A directory is "dirty" when its
 * tree must be computed again, which a change below it makes true up to
 * the root: a snapshot reads only dirty directories and files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "mlfs/export.h"
#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

#define NAME_LEN_MAX 255

/* ---- numbering ---- */

static uint64_t fix_ino(uint64_t h)
{
	/* 0 is "no inode" to readdir users, 1 the mount's root */
	return h < 2 ? h + 2 : h;
}

uint64_t wt_child_ino(uint64_t parent, const char *name)
{
	return fix_ino(XXH3_64bits_withSeed(name, strlen(name), parent));
}

uint64_t wt_root_ino(int64_t repo_id, const char *branch)
{
	char buf[MLFS_NAME_MAX + 32];
	int n = snprintf(buf, sizeof(buf), "wt-root:%lld:%s",
			 (long long)repo_id, branch);

	return fix_ino(XXH3_64bits(buf, (size_t)n));
}

/* A number no entry of the base can have: from the tree's counter. */
uint64_t wt_new_ino(struct mlfs_wt *wt)
{
	int64_t k = wt->row.next_ino++;
	char buf[48];
	int n = snprintf(buf, sizeof(buf), "wt-new:%lld:%lld",
			 (long long)wt->row.id, (long long)k);

	return fix_ino(XXH3_64bits(buf, (size_t)n));
}

void wt_data_path(const struct mlfs_wt *wt, uint64_t ino, char *buf,
		  size_t size)
{
	snprintf(buf, size, "%s/%lld/%016llx", wt->w->dir,
		 (long long)wt->row.id, (unsigned long long)ino);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* ---- the map of an unmaterialized tree's directories ---- */

void wt_dirmap_release(struct wt_dirmap *m)
{
	free(m->keys);
	free(m->trees);
	memset(m, 0, sizeof(*m));
}

static size_t dirmap_slot(const struct wt_dirmap *m, uint64_t ino)
{
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != ino)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int dirmap_put(struct wt_dirmap *m, uint64_t ino,
		      const struct mlfs_id *tree)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct wt_dirmap g = { .cap = m->cap ? m->cap * 2 : 64 };

		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.trees = calloc(g.cap, sizeof(*g.trees));
		if (!g.keys || !g.trees) {
			wt_dirmap_release(&g);
			return -ENOMEM;
		}
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->keys[k])
				continue;
			i = dirmap_slot(&g, m->keys[k]);
			g.keys[i] = m->keys[k];
			g.trees[i] = m->trees[k];
			g.n++;
		}
		wt_dirmap_release(m);
		*m = g;
	}
	i = dirmap_slot(m, ino);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = ino;
	m->trees[i] = *tree;
	return 0;
}

static const struct mlfs_id *dirmap_get(const struct wt_dirmap *m,
					uint64_t ino)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = dirmap_slot(m, ino);
	return m->keys[i] ? &m->trees[i] : NULL;
}

/* ---- trees ---- */

static int tree_get(struct mlfs_work *w, const struct mlfs_id *id,
		    const struct mlfs_tree **out)
{
	struct mlfs_tree *t;
	int r;

	if (w->trees.get)
		return w->trees.get(w->trees.ctx, id, out);
	r = mlfs_tree_load(w->s, id, &t);
	*out = r == 0 ? t : NULL;
	return r;
}

static void tree_put(struct mlfs_work *w, const struct mlfs_tree *t)
{
	if (!t)
		return;
	if (w->trees.put)
		w->trees.put(w->trees.ctx, t);
	else
		mlfs_tree_free((struct mlfs_tree *)t);
}

void mlfs_work_set_trees(struct mlfs_work *w,
			 const struct mlfs_tree_source *src)
{
	pthread_mutex_lock(&w->lock);
	w->trees = *src;
	pthread_mutex_unlock(&w->lock);
}

/* ---- opening ---- */

static int take_lock(struct mlfs_work *w)
{
	char path[PATH_MAX + 8], pid[32];
	ssize_t k;
	int fd, r;

	snprintf(path, sizeof(path), "%s/lock", w->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		k = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[k > 0 ? k : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (r == -EBUSY)
			mlfs_error_set("the working trees of this store are "
				       "in use by process %s (a mount?)",
				       *pid ? pid : "(unknown)");
		close(fd);
		return r;
	}
	k = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)k, 0) != k) {
		r = -errno;
		close(fd);
		return r;
	}
	w->lock_fd = fd;
	return 0;
}

int mlfs_work_open(struct mlfs_store *s, unsigned flags,
		   struct mlfs_work **out)
{
	struct mlfs_work *w = calloc(1, sizeof(*w));
	char path[PATH_MAX + 16];
	struct stat st;
	int r;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->s = s;
	w->lock_fd = -1;
	w->edit = flags & MLFS_WORK_EDIT;
	w->uid = (uint32_t)geteuid();
	w->gid = (uint32_t)getegid();
	r = -pthread_mutex_init(&w->lock, NULL);
	if (r < 0) {
		free(w);
		return r;
	}
	if (strlen(mlfs_store_dir(s)) + 6 > sizeof(w->dir)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	snprintf(w->dir, sizeof(w->dir), "%s/work", mlfs_store_dir(s));
	if (w->edit && s->rdonly) {
		r = -EROFS;
		goto out;
	}
	if (w->edit) {
		if (mkdir(w->dir, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			mlfs_error_set("cannot create '%s'", w->dir);
			goto out;
		}
		r = take_lock(w);
		if (r < 0)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/work.db", w->dir);
	if (!w->edit && stat(path, &st) < 0) {
		r = 0; /* no working tree was ever edited */
		goto out;
	}
	r = mlfs_wdb_open(path, !w->edit, &w->db);
out:
	if (r < 0)
		mlfs_work_close(w);
	else
		*out = w;
	return r;
}

static void wt_free(struct mlfs_wt *wt)
{
	while (wt->files) {
		struct mlfs_wt_file *f = wt->files;

		wt->files = f->next;
		if (f->fd >= 0)
			close(f->fd);
		free(f);
	}
	wt_dirmap_release(&wt->dirs);
	free(wt);
}

void mlfs_work_close(struct mlfs_work *w)
{
	if (!w)
		return;
	while (w->wts) {
		struct mlfs_wt *wt = w->wts;

		w->wts = wt->next;
		wt_free(wt);
	}
	mlfs_wdb_close(w->db);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int wt_branch_head(struct mlfs_wt *wt, bool *has, struct mlfs_id *head)
{
	int r = mlfs_ref_get(wt->w->s, wt->repo.id, MLFS_REF_BRANCH,
			     wt->branch, head);

	*has = r == 0;
	return r == -ENOENT ? 0 : r;
}

static int load_base_tree(struct mlfs_wt *wt)
{
	struct mlfs_commit c;
	int r;

	if (!wt->row.has_base)
		return 0;
	r = mlfs_commit_get(wt->w->s, &wt->row.base, &c);
	if (r < 0)
		return r;
	wt->base_tree = c.tree;
	wt->base_time_ns = c.time * 1000000000;
	mlfs_commit_release(&c);
	return 0;
}

/* Forget the view's map and start one for the base's root. */
static int reset_view(struct mlfs_wt *wt)
{
	wt_dirmap_release(&wt->dirs);
	if (!wt->row.has_base)
		return 0;
	return dirmap_put(&wt->dirs, wt->root_ino, &wt->base_tree);
}

int wt_rebase_locked(struct mlfs_wt *wt, bool has_base,
		     const struct mlfs_id *base)
{
	struct mlfs_wdb_wt old = wt->row;
	int r;

	wt->row.has_base = has_base;
	if (has_base)
		wt->row.base = *base;
	r = load_base_tree(wt);
	if (r == 0 && wt->in_db) {
		wt->row.materialized = false;
		r = mlfs_wdb_begin(wt->w->db);
		if (r == 0)
			r = mlfs_wdb_wt_clear(wt->w->db, wt->row.id);
		if (r == 0)
			r = mlfs_wdb_wt_update(wt->w->db, &wt->row);
		if (r == 0)
			r = mlfs_wdb_commit(wt->w->db);
		else
			mlfs_wdb_rollback(wt->w->db);
	}
	if (r < 0) {
		wt->row = old;
		(void)load_base_tree(wt);
		return r;
	}
	return reset_view(wt);
}

static int root_dirty_locked(struct mlfs_wt *wt)
{
	struct mlfs_wnode n;
	int r;

	if (!wt->in_db || !wt->row.materialized)
		return 0;
	r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino, &n);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	r = n.dirty;
	mlfs_wnode_release(&n);
	return r;
}

int mlfs_wt_get(struct mlfs_work *w, const char *ns, const char *name,
		const char *branch, struct mlfs_wt **out)
{
	struct mlfs_wt *wt;
	struct mlfs_repo repo;
	struct mlfs_id head;
	bool has_head;
	int r;

	*out = NULL;
	r = mlfs_repo_get(w->s, ns, name, &repo);
	if (r < 0)
		return r;
	if (!branch)
		branch = repo.default_branch;
	pthread_mutex_lock(&w->lock);
	for (wt = w->wts; wt; wt = wt->next)
		if (wt->repo.id == repo.id && !strcmp(wt->branch, branch))
			break;
	if (wt) {
		*out = wt;
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	wt = calloc(1, sizeof(*wt));
	if (!wt) {
		r = -ENOMEM;
		goto out;
	}
	wt->w = w;
	wt->repo = repo;
	snprintf(wt->branch, sizeof(wt->branch), "%s", branch);
	wt->root_ino = wt_root_ino(repo.id, branch);
	r = wt_branch_head(wt, &has_head, &head);
	if (r == 0 && !has_head && strcmp(branch, repo.default_branch)) {
		mlfs_error_set("no branch '%s' in '%s/%s'", branch, ns, name);
		r = -ENOENT;
	}
	if (r == 0 && !has_head) {
		/* a default branch without commits is a new repository's
		 * only when the repository has none at all */
		struct mlfs_commit *v = NULL;
		size_t n = 0;

		r = mlfs_commit_list_all(w->s, repo.id, &v, &n);
		mlfs_commit_list_free(v, n);
		if (r == 0 && n) {
			mlfs_error_set("no branch '%s' in '%s/%s'", branch,
				       ns, name);
			r = -ENOENT;
		}
	}
	if (r < 0)
		goto out;
	r = w->db ? mlfs_wdb_wt_get(w->db, repo.id, branch, &wt->row)
		  : -ENOENT;
	if (r == 0) {
		wt->in_db = true;
	} else if (r == -ENOENT) {
		memset(&wt->row, 0, sizeof(wt->row));
		wt->row.repo_id = repo.id;
		snprintf(wt->row.branch, sizeof(wt->row.branch), "%s", branch);
		wt->row.has_base = has_head;
		wt->row.base = head;
		wt->row.next_ino = 1;
		r = 0;
	}
	if (r == 0 && wt->in_db && w->edit)
		r = wt_recover_locked(wt);
	if (r == 0)
		r = load_base_tree(wt);
	if (r == 0)
		r = reset_view(wt);
	/* a clean tree follows its branch */
	if (r == 0 && w->edit && (has_head != wt->row.has_base ||
	    (has_head && mlfs_id_cmp(&head, &wt->row.base)))) {
		r = root_dirty_locked(wt);
		if (r == 0)
			r = wt_rebase_locked(wt, has_head, &head);
		else if (r > 0)
			r = 0;
	}
	if (r < 0)
		goto out;
	wt->next = w->wts;
	w->wts = wt;
	*out = wt;
	wt = NULL;
out:
	pthread_mutex_unlock(&w->lock);
	if (wt)
		wt_free(wt);
	return r;
}

int mlfs_wt_refresh(struct mlfs_wt *wt)
{
	struct mlfs_id head;
	bool has_head;
	int r;

	pthread_mutex_lock(&wt->w->lock);
	r = wt_branch_head(wt, &has_head, &head);
	if (r < 0 || (has_head == wt->row.has_base &&
		      (!has_head || !mlfs_id_cmp(&head, &wt->row.base))))
		goto out;
	r = root_dirty_locked(wt);
	if (r != 0 || !wt->w->edit) {
		r = r < 0 ? r : 0;
		goto out;
	}
	r = wt_rebase_locked(wt, has_head, &head);
	if (r == 0)
		r = 1;
out:
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

bool mlfs_wt_dirty(struct mlfs_wt *wt)
{
	int r;

	pthread_mutex_lock(&wt->w->lock);
	r = root_dirty_locked(wt);
	pthread_mutex_unlock(&wt->w->lock);
	return r != 0;
}

bool mlfs_wt_materialized(struct mlfs_wt *wt)
{
	bool m;

	pthread_mutex_lock(&wt->w->lock);
	m = wt->row.materialized;
	pthread_mutex_unlock(&wt->w->lock);
	return m;
}

void mlfs_wt_describe(struct mlfs_wt *wt, char *ns, char *name,
		      char *branch, bool *has_base, struct mlfs_id *base)
{
	pthread_mutex_lock(&wt->w->lock);
	if (ns)
		strcpy(ns, wt->repo.ns);
	if (name)
		strcpy(name, wt->repo.name);
	if (branch)
		strcpy(branch, wt->branch);
	if (has_base)
		*has_base = wt->row.has_base;
	if (base)
		*base = wt->row.base;
	pthread_mutex_unlock(&wt->w->lock);
}

/* ---- attributes ---- */

struct mlfs_wt_file *wt_file_find(struct mlfs_wt *wt, uint64_t ino)
{
	struct mlfs_wt_file *f = wt->files;

	while (f && f->ino != ino)
		f = f->next;
	return f;
}

int wt_node_attr(struct mlfs_wt *wt, const struct mlfs_wnode *n,
		 struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = n->ino;
	out->type = (enum mlfs_entry_type)n->type;
	out->mode = n->mode;
	out->uid = n->uid;
	out->gid = n->gid;
	out->nlink = n->nlink;
	out->size = n->size;
	out->atime_ns = n->atime_ns;
	out->mtime_ns = n->mtime_ns;
	out->ctime_ns = n->ctime_ns;
	if (n->type == MLFS_ENTRY_FILE && !n->data) {
		out->in_store = true;
		out->content = n->content;
	}
	if (n->type == MLFS_ENTRY_FILE && n->data) {
		struct mlfs_wt_file *f = wt_file_find(wt, n->ino);
		char path[PATH_MAX];
		struct stat st;
		int r;

		if (f && f->fd >= 0) {
			r = fstat(f->fd, &st);
		} else {
			wt_data_path(wt, n->ino, path, sizeof(path));
			r = stat(path, &st);
		}
		if (r < 0) {
			r = -errno;
			mlfs_error_set("working tree data of inode %llx: %s",
				       (unsigned long long)n->ino,
				       strerror(-r));
			return r == -ENOENT ? -EIO : r;
		}
		out->size = (uint64_t)st.st_size;
		out->mtime_ns = ts_ns(&st.st_mtim);
		out->atime_ns = ts_ns(&st.st_atim);
		if (ts_ns(&st.st_ctim) > out->ctime_ns)
			out->ctime_ns = ts_ns(&st.st_ctim);
	}
	return 0;
}

/* The attributes of entry @e of an unmaterialized view. */
static void entry_attr(struct mlfs_wt *wt, uint64_t ino,
		       const struct mlfs_entry *e, struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->type = e->type;
	out->mode = e->mode;
	out->uid = wt->w->uid;
	out->gid = wt->w->gid;
	out->nlink = e->type == MLFS_ENTRY_DIR ? 2 : 1;
	out->size = e->size;
	out->atime_ns = out->mtime_ns = out->ctime_ns = e->mtime_ns;
	if (e->type == MLFS_ENTRY_FILE) {
		out->in_store = true;
		out->content = e->id;
	}
}

static void root_view_attr(struct mlfs_wt *wt, struct mlfs_wt_attr *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = wt->root_ino;
	out->type = MLFS_ENTRY_DIR;
	out->mode = 0755;
	out->uid = wt->w->uid;
	out->gid = wt->w->gid;
	out->nlink = 2;
	out->atime_ns = out->mtime_ns = out->ctime_ns = wt->base_time_ns;
}

int mlfs_wt_root(struct mlfs_wt *wt, struct mlfs_wt_attr *out)
{
	struct mlfs_wnode n;
	int r = 0;

	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->root_ino,
				      &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			mlfs_wnode_release(&n);
		}
	} else {
		root_view_attr(wt, out);
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

static int check_name(const char *name)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return len > NAME_LEN_MAX ? -ENAMETOOLONG : 0;
}

static int lookup_locked(struct mlfs_wt *wt, uint64_t parent,
			 const char *name, struct mlfs_wt_attr *out,
			 char **target)
{
	struct mlfs_wnode n;
	uint64_t ino;
	int r = check_name(name);

	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, parent, &n);
		if (r < 0)
			return r;
		r = n.type == MLFS_ENTRY_DIR ? 0 : -ENOTDIR;
		mlfs_wnode_release(&n);
		if (r == 0)
			r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent,
						name, &ino);
		if (r == 0)
			r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			if (r == 0 && target && n.target) {
				*target = n.target;
				n.target = NULL;
			}
			mlfs_wnode_release(&n);
		}
		return r;
	} else {
		const struct mlfs_id *tid = dirmap_get(&wt->dirs, parent);
		const struct mlfs_entry *e;
		const struct mlfs_tree *t;

		if (!tid)
			return parent == wt->root_ino ? -ENOENT : -ESTALE;
		r = tree_get(wt->w, tid, &t);
		if (r < 0)
			return r;
		e = mlfs_tree_find(t, name);
		if (!e) {
			r = -ENOENT;
		} else {
			ino = wt_child_ino(parent, name);
			entry_attr(wt, ino, e, out);
			if (e->type == MLFS_ENTRY_DIR)
				r = dirmap_put(&wt->dirs, ino, &e->id);
			if (r == 0 && target && e->target) {
				*target = strdup(e->target);
				if (!*target)
					r = -ENOMEM;
			}
		}
		tree_put(wt->w, t);
		return r;
	}
}

int mlfs_wt_lookup(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   struct mlfs_wt_attr *out, char **target)
{
	int r;

	if (target)
		*target = NULL;
	pthread_mutex_lock(&wt->w->lock);
	r = lookup_locked(wt, parent, name, out, target);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_getattr(struct mlfs_wt *wt, uint64_t ino,
		    struct mlfs_wt_attr *out)
{
	struct mlfs_wnode n;
	int r;

	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n);
		if (r == 0) {
			r = wt_node_attr(wt, &n, out);
			mlfs_wnode_release(&n);
		}
	} else if (ino == wt->root_ino) {
		root_view_attr(wt, out);
		r = 0;
	} else {
		r = -ENOENT; /* the caller has what the lookup gave */
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

int mlfs_wt_readlink(struct mlfs_wt *wt, uint64_t ino, char **target)
{
	struct mlfs_wnode n;
	int r;

	*target = NULL;
	pthread_mutex_lock(&wt->w->lock);
	r = wt->row.materialized ?
	    mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &n) : -ENOENT;
	if (r == 0) {
		if (n.type != MLFS_ENTRY_SYMLINK)
			r = -EINVAL;
		else {
			*target = n.target;
			n.target = NULL;
		}
		mlfs_wnode_release(&n);
	}
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

void mlfs_wt_dirents_free(struct mlfs_wt_dirent *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int mlfs_wt_list(struct mlfs_wt *wt, uint64_t ino,
		 struct mlfs_wt_dirent **out, size_t *n)
{
	struct mlfs_wt_dirent *v = NULL;
	size_t cnt = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&wt->w->lock);
	if (wt->row.materialized) {
		struct mlfs_wdirent *d = NULL;
		struct mlfs_wnode self;
		size_t nd = 0;

		r = mlfs_wdb_node_get(wt->w->db, wt->row.id, ino, &self);
		if (r == 0) {
			r = self.type == MLFS_ENTRY_DIR ? 0 : -ENOTDIR;
			mlfs_wnode_release(&self);
		}
		if (r == 0)
			r = mlfs_wdb_dirent_list(wt->w->db, wt->row.id, ino,
						 &d, &nd);
		if (r == 0 && nd) {
			v = calloc(nd, sizeof(*v));
			if (!v)
				r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && i < nd; i++) {
			r = wt_node_attr(wt, &d[i].node, &v[i].attr);
			if (r == 0) {
				v[i].name = d[i].name;
				d[i].name = NULL;
				cnt++;
			}
		}
		mlfs_wdirent_free(d, nd);
	} else {
		const struct mlfs_id *tid = dirmap_get(&wt->dirs, ino);
		const struct mlfs_tree *t = NULL;

		if (!tid)
			r = ino == wt->root_ino ? 0 : -ESTALE;
		else
			r = tree_get(wt->w, tid, &t);
		if (r == 0 && t && t->n) {
			v = calloc(t->n, sizeof(*v));
			if (!v)
				r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && t && i < t->n; i++) {
			const struct mlfs_entry *e = &t->e[i];
			uint64_t c = wt_child_ino(ino, e->name);

			v[i].name = strdup(e->name);
			if (!v[i].name) {
				r = -ENOMEM;
				break;
			}
			cnt++;
			entry_attr(wt, c, e, &v[i].attr);
			if (e->type == MLFS_ENTRY_DIR)
				r = dirmap_put(&wt->dirs, c, &e->id);
		}
		tree_put(wt->w, t);
	}
	pthread_mutex_unlock(&wt->w->lock);
	if (r < 0) {
		mlfs_wt_dirents_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- materialization ---- */

static int ensure_row_locked(struct mlfs_wt *wt)
{
	int r;

	if (wt->in_db)
		return 0;
	if (!wt->w->edit)
		return -EROFS;
	r = mlfs_wdb_wt_create(wt->w->db, &wt->row);
	if (r == 0)
		wt->in_db = true;
	return r;
}

/* Rows for the entries of tree @tid, numbered below @parent. Returns
 * the number of subdirectories in *ndirs (for the parent's link count). */
int wt_materialize_dir(struct mlfs_wt *wt, const struct mlfs_id *tid,
		       uint64_t parent, uint32_t *ndirs)
{
	const struct mlfs_tree *t;
	int r = tree_get(wt->w, tid, &t);

	*ndirs = 0;
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < t->n; i++) {
		const struct mlfs_entry *e = &t->e[i];
		struct mlfs_wnode n = { 0 };
		uint32_t sub = 0;

		n.ino = wt_child_ino(parent, e->name);
		n.type = e->type;
		n.mode = e->mode;
		n.uid = wt->w->uid;
		n.gid = wt->w->gid;
		n.nlink = 1;
		n.size = e->size;
		n.atime_ns = n.mtime_ns = n.ctime_ns = e->mtime_ns;
		n.target = (char *)e->target;
		if (e->type == MLFS_ENTRY_DIR) {
			n.parent = parent;
			r = wt_materialize_dir(wt, &e->id, n.ino, &sub);
			n.nlink = 2 + sub;
			(*ndirs)++;
		}
		n.has_content = e->type != MLFS_ENTRY_SYMLINK;
		n.content = e->id;
		if (r == 0)
			r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
		if (r == 0)
			r = mlfs_wdb_dirent_put(wt->w->db, wt->row.id, parent,
						e->name, n.ino);
	}
	tree_put(wt->w, t);
	return r;
}

int wt_materialize_locked(struct mlfs_wt *wt)
{
	struct mlfs_wnode root = { 0 };
	uint32_t sub = 0;
	int r;

	if (wt->row.materialized)
		return 0;
	if (!wt->w->edit)
		return -EROFS;
	r = ensure_row_locked(wt);
	if (r < 0)
		return r;
	r = mlfs_wdb_begin(wt->w->db);
	if (r < 0)
		return r;
	root.ino = wt->root_ino;
	root.type = MLFS_ENTRY_DIR;
	root.mode = 0755;
	root.uid = wt->w->uid;
	root.gid = wt->w->gid;
	root.has_content = wt->row.has_base;
	root.content = wt->base_tree;
	root.atime_ns = root.mtime_ns = root.ctime_ns = wt->base_time_ns;
	if (wt->row.has_base)
		r = wt_materialize_dir(wt, &wt->base_tree, root.ino, &sub);
	root.nlink = 2 + sub;
	if (r == 0)
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &root);
	wt->row.materialized = true;
	if (r == 0)
		r = mlfs_wdb_wt_update(wt->w->db, &wt->row);
	if (r == 0)
		r = mlfs_wdb_commit(wt->w->db);
	else
		mlfs_wdb_rollback(wt->w->db);
	if (r < 0) {
		wt->row.materialized = false;
		return r;
	}
	wt_dirmap_release(&wt->dirs);
	return 0;
}

/* ---- edits ---- */

/* Mark directory @ino and its ancestors dirty (stops at one already
 * dirty: its ancestors are). Inside a transaction. */
int wt_dirty_dirs(struct mlfs_wt *wt, uint64_t ino)
{
	int r = 0;

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
static int dirty_node(struct mlfs_wt *wt, struct mlfs_wnode *n)
{
	uint64_t *parents = NULL;
	size_t np = 0;
	int r = 0;

	n->dirty = true;
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
	r = dirty_node(wt, &n);
	if (r == 0) {
		n.dirty = true;
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	}
	mlfs_wnode_release(&n);
	return r;
}

/* Begin an edit: materialized, in a transaction. */
static int edit_begin(struct mlfs_wt *wt)
{
	int r;

	pthread_mutex_lock(&wt->w->lock);
	r = wt_materialize_locked(wt);
	if (r == 0)
		r = mlfs_wdb_begin(wt->w->db);
	if (r < 0)
		pthread_mutex_unlock(&wt->w->lock);
	return r;
}

static int edit_end(struct mlfs_wt *wt, int r)
{
	if (r == 0)
		r = mlfs_wdb_commit(wt->w->db);
	else
		mlfs_wdb_rollback(wt->w->db);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
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

int mlfs_wt_mknode(struct mlfs_wt *wt, uint64_t parent, const char *name,
		   enum mlfs_entry_type type, uint32_t mode, uint32_t uid,
		   uint32_t gid, const char *target, struct mlfs_wt_attr *out)
{
	struct mlfs_wnode p, n = { 0 };
	int64_t now = now_ns();
	uint64_t other;
	int r = check_name(name);

	if (r < 0)
		return r;
	r = edit_begin(wt);
	if (r < 0)
		return r;
	r = get_dir(wt, parent, &p);
	if (r < 0)
		return edit_end(wt, r);
	mlfs_wnode_release(&p);
	r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, parent, name, &other);
	if (r == 0)
		r = -EEXIST;
	else if (r == -ENOENT)
		r = 0;
	n.ino = wt_new_ino(wt);
	n.type = type;
	n.mode = mode & 07777;
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

/* Drop inode @n (its last name is gone): now, or at its last close. */
int wt_drop_inode(struct mlfs_wt *wt, struct mlfs_wnode *n)
{
	char path[PATH_MAX];
	int r;

	if (n->nlink > 0 || wt_file_find(wt, n->ino))
		return mlfs_wdb_node_put(wt->w->db, wt->row.id, n);
	r = mlfs_wdb_node_delete(wt->w->db, wt->row.id, n->ino);
	if (r == 0)
		r = mlfs_wdb_xattr_clear(wt->w->db, wt->row.id, n->ino);
	if (r == 0 && n->data) {
		/* before the commit: a crash after it leaves only a stray
		 * file, which the next open removes */
		wt_data_path(wt, n->ino, path, sizeof(path));
		(void)unlink(path);
	}
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
		r = dirty_node(wt, n); /* its other names' dirs */
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
		r = remove_entry(wt, parent, name, &n, now_ns());
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
	int64_t now = now_ns();
	bool have_dst = false;
	int r = check_name(newname);

	if (r == 0)
		r = check_name(name);
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
	int64_t now = now_ns();
	uint64_t other;
	int r = check_name(newname);

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
	if (r == 0) {
		r = mlfs_wdb_dirent_get(wt->w->db, wt->row.id, newparent,
					newname, &other);
		r = r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
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
static int copy_up(struct mlfs_wt *wt, struct mlfs_wnode *n, bool empty,
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
	times[0].tv_sec = n->atime_ns / 1000000000;
	times[0].tv_nsec = n->atime_ns % 1000000000;
	times[1].tv_sec = n->mtime_ns / 1000000000;
	times[1].tv_nsec = n->mtime_ns % 1000000000;
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
		n->mtime_ns = n->ctime_ns = now_ns();
		r = dirty_node(wt, n);
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
	else if (sa->set & MLFS_WT_SET_ATIME) {
		ts[0].tv_sec = sa->atime_ns / 1000000000;
		ts[0].tv_nsec = sa->atime_ns % 1000000000;
	}
	if (sa->set & MLFS_WT_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (sa->set & MLFS_WT_SET_MTIME) {
		ts[1].tv_sec = sa->mtime_ns / 1000000000;
		ts[1].tv_nsec = sa->mtime_ns % 1000000000;
	}
}

int mlfs_wt_setattr(struct mlfs_wt *wt, uint64_t ino,
		    const struct mlfs_wt_setattr *sa, struct mlfs_wt_attr *out)
{
	struct mlfs_wt_file *f;
	struct mlfs_wnode n;
	int64_t now = now_ns();
	unsigned times = MLFS_WT_SET_ATIME | MLFS_WT_SET_MTIME |
			 MLFS_WT_SET_ATIME_NOW | MLFS_WT_SET_MTIME_NOW;
	int r = edit_begin(wt);

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

			r = copy_up(wt, &n, sa->size == 0, f ? &fd : NULL);
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
			r = dirty_node(wt, &n);
	}
	if (r == 0 && (sa->set & MLFS_WT_SET_MODE)) {
		n.mode = sa->mode & 07777;
		r = dirty_node(wt, &n);
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
			r = dirty_node(wt, &n);
	}
	n.ctime_ns = now;
	if (r == 0)
		r = mlfs_wdb_node_put(wt->w->db, wt->row.id, &n);
	if (r == 0 && out)
		r = wt_node_attr(wt, &n, out);
	mlfs_wnode_release(&n);
	return edit_end(wt, r);
}

/* ---- extended attributes ---- */

static int copy_out(const void *p, size_t len, void *buf, size_t size,
		    size_t *outlen)
{
	*outlen = len;
	if (!size)
		return 0;
	if (len > size)
		return -ERANGE;
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
	if (write)
		r = wt_materialize_locked(wt);
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

				r = copy_up(wt, &n, trunc, &fd);
				if (r == 0)
					f->fd = fd;
			} else if (r == 0) {
				if (ftruncate(f->fd, 0) < 0)
					r = -errno;
				if (r == 0)
					r = dirty_node(wt, &n);
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
				r = dirty_node(wt, &n);
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
	if (--f->opens) {
		pthread_mutex_unlock(&wt->w->lock);
		return;
	}
	for (pp = &wt->files; *pp && *pp != f; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = f->next;
	if (f->fd >= 0)
		close(f->fd);
	/* the last close of an unlinked file frees it */
	if (wt->row.materialized &&
	    mlfs_wdb_node_get(wt->w->db, wt->row.id, f->ino, &n) == 0) {
		/* on failure the next open of the store drops it */
		if (!n.nlink && mlfs_wdb_begin(wt->w->db) == 0) {
			if (wt_drop_inode(wt, &n) < 0 ||
			    mlfs_wdb_commit(wt->w->db) < 0)
				mlfs_wdb_rollback(wt->w->db);
		}
		mlfs_wnode_release(&n);
	}
	pthread_mutex_unlock(&wt->w->lock);
	free(f);
}
