/*
 * worktree.c - working trees (worktree.h): opening STORE/work, finding a
 * branch's tree, numbering its inodes, and materializing it. Until the
 * first edit a working tree is its base commit seen through a map of the
 * directories handed out (worktree_view.c); the first edit materializes
 * it (one row per entry, numbered as the view numbered them), and from
 * then on every edit (worktree_edit.c) is one transaction on those rows.
 * Open files and extended attributes: worktree_file.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "mlfs/store.h"
#include "store_impl.h"
#include "worktree_impl.h"

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

int wt_path_join(char **out, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return -ENOMEM;
	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	*out = p;
	return 0;
}

int64_t wt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wt_base_ctime(const struct mlfs_wt *wt, int64_t mtime_ns)
{
	return mtime_ns > wt->base_ctime_ns ? mtime_ns : wt->base_ctime_ns;
}

int64_t mlfs_wt_base_ctime(struct mlfs_wt *wt, int64_t mtime_ns)
{
	int64_t t;

	pthread_mutex_lock(&wt->w->lock);
	t = wt_base_ctime(wt, mtime_ns);
	pthread_mutex_unlock(&wt->w->lock);
	return t;
}

int64_t wt_ts_ns(const struct timespec *ts)
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

int wt_dirmap_put(struct wt_dirmap *m, uint64_t ino,
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

const struct mlfs_id *wt_dirmap_get(const struct wt_dirmap *m,
				    uint64_t ino)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = dirmap_slot(m, ino);
	return m->keys[i] ? &m->trees[i] : NULL;
}

/* ---- trees ---- */

int wt_tree_get(struct mlfs_work *w, const struct mlfs_id *id,
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

void wt_tree_put(struct mlfs_work *w, const struct mlfs_tree *t)
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
	r = -pthread_cond_init(&w->cond, NULL);
	if (r < 0) {
		pthread_mutex_destroy(&w->lock);
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

/* Collect when this many files or bytes wait. */
#define GARBAGE_FILES 32
#define GARBAGE_BYTES (256ull << 20)

int wt_garbage_add(struct mlfs_wt *wt, uint64_t ino)
{
	char path[PATH_MAX];
	struct stat st;

	if (wt->ngarbage == wt->capgarbage) {
		size_t nc = wt->capgarbage ? wt->capgarbage * 2 : 16;
		uint64_t *nv = realloc(wt->garbage, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		wt->garbage = nv;
		wt->capgarbage = nc;
	}
	wt->garbage[wt->ngarbage++] = ino;
	wt_data_path(wt, ino, path, sizeof(path));
	if (stat(path, &st) == 0)
		wt->garbage_bytes += (uint64_t)st.st_size;
	return 0;
}

int wt_collect_garbage(struct mlfs_wt *wt, bool force)
{
	int r;

	/* a snapshot reading without the lock may still open them; it
	 * collects when it ends */
	if (wt->snap)
		return 0;
	if (!wt->ngarbage || (!force && wt->ngarbage < GARBAGE_FILES &&
			      wt->garbage_bytes < GARBAGE_BYTES))
		return 0;
	r = mlfs_wdb_sync(wt->w->db);
	if (r < 0)
		return r;
	for (size_t i = 0; i < wt->ngarbage; i++) {
		struct mlfs_wnode n;
		char path[PATH_MAX];

		/* a rolled-back removal brought the row back: keep it */
		if (mlfs_wdb_node_get(wt->w->db, wt->row.id, wt->garbage[i],
				      &n) == 0) {
			bool needed = n.data;

			mlfs_wnode_release(&n);
			if (needed)
				continue;
		}
		wt_data_path(wt, wt->garbage[i], path, sizeof(path));
		(void)unlink(path);
	}
	wt->ngarbage = 0;
	wt->garbage_bytes = 0;
	return 0;
}

int mlfs_wt_collect_garbage(struct mlfs_wt *wt)
{
	int r;

	pthread_mutex_lock(&wt->w->lock);
	r = wt_collect_garbage(wt, true);
	pthread_mutex_unlock(&wt->w->lock);
	return r;
}

static void wt_free(struct mlfs_wt *wt)
{
	if (wt->w->edit && wt->w->db)
		(void)wt_collect_garbage(wt, true);
	free(wt->garbage);
	free(wt->gens);
	while (wt->files || wt->detached) {
		struct mlfs_wt_file **head = wt->files ? &wt->files
						       : &wt->detached;
		struct mlfs_wt_file *f = *head;

		*head = f->next;
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
	mlfs_store_close(w->ingest_store);
	if (w->lock_fd >= 0)
		close(w->lock_fd); /* releases the flock */
	pthread_cond_destroy(&w->cond);
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
	wt->base_ctime_ns = wt->base_time_ns +
			    (int64_t)(mlfs_get_le64(wt->row.base.b) %
				      1000000000u);
	mlfs_commit_release(&c);
	return 0;
}

/* Forget the view's map and start one for the base's root. */
static int reset_view(struct mlfs_wt *wt)
{
	wt_dirmap_release(&wt->dirs);
	if (!wt->row.has_base)
		return 0;
	return wt_dirmap_put(&wt->dirs, wt->root_ino, &wt->base_tree);
}

uint64_t wt_gen_get(const struct mlfs_wt *wt, uint64_t ino)
{
	for (size_t i = 0; i < wt->ngens; i++)
		if (wt->gens[i].ino == ino)
			return wt->gens[i].gen;
	return 0;
}

/* Move @ino to its next generation. Locked. */
static int gen_bump(struct mlfs_wt *wt, uint64_t ino)
{
	for (size_t i = 0; i < wt->ngens; i++)
		if (wt->gens[i].ino == ino) {
			wt->gens[i].gen++;
			return 0;
		}
	if (wt->ngens == wt->capgens) {
		size_t nc = wt->capgens ? wt->capgens * 2 : 8;
		struct wt_gen *nv = realloc(wt->gens, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		wt->gens = nv;
		wt->capgens = nc;
	}
	wt->gens[wt->ngens].ino = ino;
	wt->gens[wt->ngens].gen = 1;
	wt->ngens++;
	return 0;
}

void wt_orphan_capture(struct mlfs_wt *wt, uint64_t ino, bool all)
{
	for (struct mlfs_wt_file *f = wt->files; f; f = f->next) {
		struct mlfs_wnode n;

		if ((!all && f->ino != ino) || f->has_oattr)
			continue;
		memset(&f->oattr, 0, sizeof(f->oattr));
		if (wt->row.materialized &&
		    mlfs_wdb_node_get(wt->w->db, wt->row.id, f->ino, &n) == 0) {
			f->has_oattr = wt_node_attr(wt, &n, &f->oattr) == 0;
			mlfs_wnode_release(&n);
		}
		if (!f->has_oattr) {
			/* unmaterialized: a stored file, as its open saw it */
			f->oattr.ino = f->ino;
			f->oattr.type = MLFS_ENTRY_FILE;
			f->oattr.mode = 0644;
			f->oattr.uid = wt->w->uid;
			f->oattr.gid = wt->w->gid;
			f->oattr.size = f->size;
			f->oattr.in_store = true;
			f->oattr.content = f->content;
			f->has_oattr = true;
		}
		f->oattr.gen = wt_gen_get(wt, f->ino);
	}
}

/* Open files of @ino (any, with @all) stop being the inode's: their
 * handles keep the bytes they had until closed (orphans, on wt->detached),
 * and a new open gets the restored inode, under a new generation so that
 * the mount does not take the orphan's node for it. Locked. */
void wt_detach_files(struct mlfs_wt *wt, uint64_t ino, bool all)
{
	struct mlfs_wt_file **pp = &wt->files;

	wt_orphan_capture(wt, ino, all);
	while (*pp) {
		struct mlfs_wt_file *f = *pp;

		if (!all && f->ino != ino) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		f->gen = wt_gen_get(wt, f->ino);
		f->detached = true;
		f->oattr.nlink = 0;
		f->next = wt->detached;
		wt->detached = f;
		/* without a new generation (no memory) the mount shares the
		 * node of the orphan and the entry, as it did before */
		(void)gen_bump(wt, f->ino);
		/* its writes go to a detached data file, never to a row */
		__atomic_store_n(&f->marked, true, __ATOMIC_RELEASE);
	}
}

int wt_rebase_locked(struct mlfs_wt *wt, bool has_base,
		     const struct mlfs_id *base)
{
	struct mlfs_wdb_wt old = wt->row;
	int r;

	/* what open files show, while their rows are there */
	wt_orphan_capture(wt, 0, true);
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
		for (struct mlfs_wt_file *f = wt->files; f; f = f->next)
			f->has_oattr = false;
		return r;
	}
	/* an open file keeps the bytes it had; a new open of the same
	 * number gets what the new base holds */
	wt_detach_files(wt, 0, true);
	return reset_view(wt);
}

int wt_root_dirty_locked(struct mlfs_wt *wt)
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
		r = wt_root_dirty_locked(wt);
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
	r = wt_root_dirty_locked(wt);
	if (r != 0 || !wt->w->edit || wt->snap) {
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
	r = wt_root_dirty_locked(wt);
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

/* ---- a snapshot reading without the lock ---- */

void wt_touch(struct mlfs_wt *wt, uint64_t ino)
{
	struct wt_snap *sn = wt->snap;

	if (!sn || sn->touched_all)
		return;
	if (sn->ntouched == sn->captouched) {
		size_t nc = sn->captouched ? sn->captouched * 2 : 64;
		uint64_t *nv = realloc(sn->touched, nc * sizeof(*nv));

		if (!nv) {
			sn->touched_all = true;
			return;
		}
		sn->touched = nv;
		sn->captouched = nc;
	}
	sn->touched[sn->ntouched++] = ino;
}

void wt_wait_unfrozen(struct mlfs_wt *wt, uint64_t ino)
{
	while (wt_plan_frozen(wt, ino))
		pthread_cond_wait(&wt->w->cond, &wt->w->lock);
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
	int r = wt_tree_get(wt->w, tid, &t);

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
		n.atime_ns = n.mtime_ns = e->mtime_ns;
		n.ctime_ns = wt_base_ctime(wt, e->mtime_ns);
		n.target = (char *)e->target;
		/* where the base has it: status knows it after a move */
		n.has_origin = true;
		n.opar = parent;
		n.oname = (char *)e->name;
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
	wt_tree_put(wt->w, t);
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
	root.atime_ns = root.mtime_ns = wt->base_time_ns;
	root.ctime_ns = wt_base_ctime(wt, wt->base_time_ns);
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

int mlfs_work_ns_set(struct mlfs_work *w, const char *name, bool add)
{
	const char *why;
	int r;

	if (mlfs_name_check(name, &why) < 0) {
		mlfs_error_set("%s", why);
		return -EINVAL;
	}
	if (!w->edit)
		return -EROFS;
	pthread_mutex_lock(&w->lock);
	r = mlfs_wdb_ns_add(w->db, name, add);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int mlfs_work_ns_list(struct mlfs_work *w, char ***out, size_t *n)
{
	int r = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&w->lock);
	if (w->db)
		r = mlfs_wdb_ns_list(w->db, out, n);
	pthread_mutex_unlock(&w->lock);
	return r;
}
